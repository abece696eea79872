/* Core plumbing: context, allocator, limits, status/warning/reason names,
 * version, diagnostic struct versioning. */
#include <stdio.h>

#include "harness.h"
#include "tlsrpt_agg_int.h"
#include "model_args.h"

static void *
null_alloc(void *user, size_t size)
{
    (void)user;
    (void)size;
    return NULL;
}

static void
null_free(void *user, void *p, size_t size)
{
    (void)user;
    (void)p;
    (void)size;
}

static void
ctx_new_default_allocator(void **state)
{
    mtasts_ctx *ctx = (mtasts_ctx *)(uintptr_t)1;

    (void)state;
    assert_int_equal(mtasts_ctx_new(NULL, &ctx), MTASTS_OK);
    assert_non_null(ctx);
    assert_int_equal(mtasts_ctx_get_limit(ctx, MTASTS_LIMIT_POLICY_SIZE),
                     MTASTS_POLICY_MAX_SIZE);
    mtasts_ctx_free(ctx);
    mtasts_ctx_free(NULL);
}

/* An allocator that always hands out the same block: every context it
 * makes is at the same address. */
static union {
    uint64_t align;
    unsigned char bytes[4096];
} one_block;

static void *
same_alloc(void *user, size_t size)
{
    (void)user;
    return size <= sizeof(one_block.bytes) ? one_block.bytes : NULL;
}

static void
same_free(void *user, void *p, size_t size)
{
    (void)user;
    (void)p;
    (void)size;
}

static uint64_t
seed_at_same_address(void)
{
    struct mtasts_alloc a = {MTASTS_ALLOC_VERSION, same_alloc, NULL, same_free,
                             NULL};
    mtasts_ctx *ctx = NULL;
    uint64_t seed;

    assert_int_equal(mtasts_ctx_new(&a, &ctx), MTASTS_OK);
    assert_ptr_equal(ctx, (void *)one_block.bytes);
    seed = ctx->seed;
    mtasts_ctx_free(ctx);
    return seed;
}

/* Issue 9 (predictable hash seed): a seed made from addresses alone is
 * the same for a context at the same address, as every run of a process
 * with ASLR off. With the kernel's random source it differs. */
static void
ctx_seed_random(void **state)
{
    mtasts_ctx *c1 = NULL, *c2 = NULL;
    uint64_t s1, s2, r = 0;
    int i, same = 0;

    (void)state;
    if (mt_os_random(&r, sizeof(r)) != 0) {
        print_message("no kernel random source in this build: the seed "
                      "comes from addresses only (documented)\n");
        skip();
    }
    /* two 64-bit random draws are equal with probability 2^-64 per try:
     * ask for 4 distinct pairs out of 4 */
    for (i = 0; i < 4; i++) {
        s1 = seed_at_same_address();
        s2 = seed_at_same_address();
        same += s1 == s2;
    }
    assert_int_equal(same, 0);
    /* two live contexts */
    assert_int_equal(mtasts_ctx_new(NULL, &c1), MTASTS_OK);
    assert_int_equal(mtasts_ctx_new(NULL, &c2), MTASTS_OK);
    assert_true(c1->seed != c2->seed);
    mtasts_ctx_free(c1);
    mtasts_ctx_free(c2);
}

/* A caller's seed is honoured by the context and copied by the objects
 * made afterwards; objects made before keep theirs. */
static void
ctx_seed_caller(void **state)
{
    mtasts_ctx *ctx = NULL;
    mtasts_tlsrpt_agg *before = NULL, *after = NULL;
    uint64_t old;

    (void)state;
    assert_int_equal(mtasts_ctx_set_seed(NULL, 1), MTASTS_EINVAL);
    assert_int_equal(mtasts_ctx_new(NULL, &ctx), MTASTS_OK);
    old = ctx->seed;
    assert_int_equal(mtasts_tlsrpt_agg_new(ctx, &before), MTASTS_OK);
    assert_true(before->seed == old);
    assert_int_equal(mtasts_ctx_set_seed(ctx, UINT64_C(0x0123456789abcdef)),
                     MTASTS_OK);
    assert_true(ctx->seed == UINT64_C(0x0123456789abcdef));
    assert_int_equal(mtasts_tlsrpt_agg_new(ctx, &after), MTASTS_OK);
    assert_true(after->seed == UINT64_C(0x0123456789abcdef));
    assert_true(before->seed == old);
    assert_int_equal(mtasts_ctx_set_seed(ctx, 0), MTASTS_OK);
    assert_true(ctx->seed == 0);
    /* the seeded hash depends on the seed and on every byte */
    assert_true(mt_hash(1, "example.com", 11) != mt_hash(2, "example.com", 11));
    assert_true(mt_hash(1, "example.com", 11) != mt_hash(1, "example.con", 11));
    assert_true(mt_hash(1, "example.com", 11) == mt_hash(1, "example.com", 11));
    mtasts_tlsrpt_agg_free(before);
    mtasts_tlsrpt_agg_free(after);
    mtasts_ctx_free(ctx);
}

static void
ctx_new_null_ret(void **state)
{
    (void)state;
    assert_int_equal(mtasts_ctx_new(NULL, NULL), MTASTS_EINVAL);
    assert_int_equal(mtasts_ctx_new(harness_alloc(), NULL), MTASTS_EINVAL);
}

static void
ctx_new_custom_allocator(void **state)
{
    mtasts_ctx *ctx = NULL;

    (void)state;
    harness_reset();
    assert_int_equal(mtasts_ctx_new(harness_alloc(), &ctx), MTASTS_OK);
    assert_non_null(ctx);
    /* The context itself lives in the caller's allocator. */
    assert_int_equal(harness_leaks(), 1);
    mtasts_ctx_free(ctx);
    harness_assert_clean();
}

static void
ctx_new_allocator_copied(void **state)
{
    struct mtasts_alloc a = *harness_alloc();
    mtasts_ctx *ctx = NULL;
    mtasts_sts_record *rec = NULL;

    (void)state;
    harness_reset();
    assert_int_equal(mtasts_ctx_new(&a, &ctx), MTASTS_OK);
    /* The struct may live on the stack: clobber it after ctx_new. */
    memset(&a, 0, sizeof(a));
    assert_int_equal(
        mtasts_sts_record_parse(ctx, S("v=STSv1; id=a"), 0, &rec, NULL),
        MTASTS_OK);
    assert_int_equal(harness_leaks(), 2);
    mtasts_sts_record_free(rec);
    mtasts_ctx_free(ctx);
    harness_assert_clean();
}

static void
ctx_new_bad_allocator(void **state)
{
    struct mtasts_alloc a;
    mtasts_ctx *ctx;

    (void)state;
    harness_reset();

    a = *harness_alloc();
    a.version = 2;
    ctx = (mtasts_ctx *)(uintptr_t)1;
    assert_int_equal(mtasts_ctx_new(&a, &ctx), MTASTS_EVERSION);
    assert_null(ctx);

    a = *harness_alloc();
    a.version = 0;
    ctx = (mtasts_ctx *)(uintptr_t)1;
    assert_int_equal(mtasts_ctx_new(&a, &ctx), MTASTS_EINVAL);
    assert_null(ctx);

    a = *harness_alloc();
    a.alloc = NULL;
    ctx = (mtasts_ctx *)(uintptr_t)1;
    assert_int_equal(mtasts_ctx_new(&a, &ctx), MTASTS_EINVAL);
    assert_null(ctx);

    a = *harness_alloc();
    a.free = NULL;
    ctx = (mtasts_ctx *)(uintptr_t)1;
    assert_int_equal(mtasts_ctx_new(&a, &ctx), MTASTS_EINVAL);
    assert_null(ctx);

    /* realloc is optional. */
    a = *harness_alloc();
    a.realloc = NULL;
    ctx = NULL;
    assert_int_equal(mtasts_ctx_new(&a, &ctx), MTASTS_OK);
    assert_non_null(ctx);
    mtasts_ctx_free(ctx);

    /* An allocator that always fails. */
    a.version = MTASTS_ALLOC_VERSION;
    a.alloc = null_alloc;
    a.realloc = NULL;
    a.free = null_free;
    a.user = NULL;
    ctx = (mtasts_ctx *)(uintptr_t)1;
    assert_int_equal(mtasts_ctx_new(&a, &ctx), MTASTS_ENOMEM);
    assert_null(ctx);
    harness_assert_clean();
}

/* E-21 */
static void
limits_defaults_and_twins(void **state)
{
    mtasts_ctx *ctx = *state;

    assert_int_equal(mtasts_policy_max_size(), 65536);
    assert_int_equal(mtasts_policy_max_mx(), 1000);
    assert_int_equal(mtasts_txt_max_size(), 4096);
    assert_int_equal(mtasts_id_max_len(), 32);
    assert_int_equal(mtasts_domain_max_len(), 253);
    assert_int_equal(mtasts_max_age_max(), 31557600);
    assert_int_equal(MTASTS_POLICY_MAX_SIZE, 65536);
    assert_int_equal(MTASTS_POLICY_MAX_MX, 1000);
    assert_int_equal(MTASTS_TXT_MAX_SIZE, 4096);
    assert_int_equal(MTASTS_LABEL_MAX_LEN, 63);
    assert_int_equal(MTASTS_EXT_NAME_MAX, 32);

    assert_int_equal(mtasts_ctx_get_limit(ctx, MTASTS_LIMIT_POLICY_SIZE),
                     MTASTS_POLICY_MAX_SIZE);
    assert_int_equal(mtasts_ctx_get_limit(ctx, MTASTS_LIMIT_POLICY_MX),
                     MTASTS_POLICY_MAX_MX);
    assert_int_equal(mtasts_ctx_get_limit(ctx, MTASTS_LIMIT_TXT_SIZE),
                     MTASTS_TXT_MAX_SIZE);
}

/* E-21 */
static void
limits_set_get(void **state)
{
    mtasts_ctx *ctx = *state;

    assert_int_equal(mtasts_ctx_set_limit(ctx, MTASTS_LIMIT_POLICY_SIZE, 10),
                     MTASTS_OK);
    assert_int_equal(mtasts_ctx_get_limit(ctx, MTASTS_LIMIT_POLICY_SIZE), 10);
    assert_int_equal(mtasts_ctx_set_limit(ctx, MTASTS_LIMIT_POLICY_MX, 1),
                     MTASTS_OK);
    assert_int_equal(mtasts_ctx_get_limit(ctx, MTASTS_LIMIT_POLICY_MX), 1);
    assert_int_equal(mtasts_ctx_set_limit(ctx, MTASTS_LIMIT_TXT_SIZE, 99999),
                     MTASTS_OK);
    assert_int_equal(mtasts_ctx_get_limit(ctx, MTASTS_LIMIT_TXT_SIZE), 99999);
    /* Other limits are untouched by a set. */
    assert_int_equal(mtasts_ctx_get_limit(ctx, MTASTS_LIMIT_POLICY_SIZE), 10);

    /* value 0, unknown limits, NULL ctx */
    assert_int_equal(mtasts_ctx_set_limit(ctx, MTASTS_LIMIT_TXT_SIZE, 0),
                     MTASTS_EINVAL);
    assert_int_equal(mtasts_ctx_get_limit(ctx, MTASTS_LIMIT_TXT_SIZE), 99999);
    assert_int_equal(mtasts_ctx_set_limit(ctx, 0, 5), MTASTS_EINVAL);
    assert_int_equal(mtasts_ctx_set_limit(ctx, 9, 5), MTASTS_EINVAL);
    assert_int_equal(mtasts_ctx_set_limit(ctx, MTASTS_OPT_FETCH_BACKOFF, 5),
                     MTASTS_EINVAL);
    assert_int_equal(mtasts_ctx_set_limit(ctx, -1, 5), MTASTS_EINVAL);
    assert_int_equal(mtasts_ctx_set_limit(NULL, MTASTS_LIMIT_TXT_SIZE, 5),
                     MTASTS_EINVAL);
    assert_int_equal(mtasts_ctx_get_limit(ctx, 0), 0);
    assert_int_equal(mtasts_ctx_get_limit(ctx, 9), 0);
    assert_int_equal(mtasts_ctx_get_limit(ctx, MTASTS_LIMIT_JSON_DEPTH), 32);
    assert_int_equal(mtasts_ctx_get_limit(ctx, MTASTS_LIMIT_GUNZIP_SIZE),
                     MTASTS_GUNZIP_MAX_DEFAULT);
    assert_int_equal(mtasts_ctx_get_limit(ctx, -7), 0);
    assert_int_equal(mtasts_ctx_get_limit(NULL, MTASTS_LIMIT_TXT_SIZE), 0);
}

struct code_row {
    int code;
    const char *name;
};

static const struct code_row codes[] = {
    {MTASTS_REFUSED, "MTASTS_REFUSED"},
    {MTASTS_NONE, "MTASTS_NONE"},
    {MTASTS_OK, "MTASTS_OK"},
    {MTASTS_EINVAL, "MTASTS_EINVAL"},
    {MTASTS_ENOMEM, "MTASTS_ENOMEM"},
    {MTASTS_ESYNTAX, "MTASTS_ESYNTAX"},
    {MTASTS_ETOOBIG, "MTASTS_ETOOBIG"},
    {MTASTS_EVERSION, "MTASTS_EVERSION"},
    {MTASTS_ESTATE, "MTASTS_ESTATE"},
    {MTASTS_EAGAIN, "MTASTS_EAGAIN"},
    {MTASTS_ECALLBACK, "MTASTS_ECALLBACK"},
    {MTASTS_ENONASCII, "MTASTS_ENONASCII"},
    {MTASTS_ESTRICT, "MTASTS_ESTRICT"},
    {MTASTS_ERANGE, "MTASTS_ERANGE"},
    {MTASTS_ECORRUPT, "MTASTS_ECORRUPT"},
};

#define NCODES (sizeof(codes) / sizeof(codes[0]))

static void
status_values_are_fixed(void **state)
{
    (void)state;
    /* The values never change (ABI). */
    assert_int_equal(MTASTS_REFUSED, 2);
    assert_int_equal(MTASTS_NONE, 1);
    assert_int_equal(MTASTS_OK, 0);
    assert_int_equal(MTASTS_EINVAL, -1);
    assert_int_equal(MTASTS_ENOMEM, -2);
    assert_int_equal(MTASTS_ESYNTAX, -3);
    assert_int_equal(MTASTS_ETOOBIG, -4);
    assert_int_equal(MTASTS_EVERSION, -5);
    assert_int_equal(MTASTS_ESTATE, -6);
    assert_int_equal(MTASTS_EAGAIN, -7);
    assert_int_equal(MTASTS_ECALLBACK, -8);
    assert_int_equal(MTASTS_ENONASCII, -9);
    assert_int_equal(MTASTS_ESTRICT, -10);
    assert_int_equal(MTASTS_ERANGE, -11);
    assert_int_equal(MTASTS_ECORRUPT, -12);
}

static void
strerror_and_status_name(void **state)
{
    size_t i, j;
    static const int unknown[] = {3, -13, -100, 12345, -2147483647 - 1};

    (void)state;
    for (i = 0; i < NCODES; i++) {
        const char *m = mtasts_strerror(codes[i].code);
        assert_non_null(m);
        assert_true(m[0] != '\0');
        assert_string_not_equal(m, "unknown error");
        assert_string_equal(mtasts_status_name(codes[i].code), codes[i].name);
        for (j = 0; j < i; j++)
            assert_string_not_equal(m, mtasts_strerror(codes[j].code));
    }
    for (i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
        assert_string_equal(mtasts_strerror(unknown[i]), "unknown error");
        assert_string_equal(mtasts_status_name(unknown[i]), "MTASTS_UNKNOWN");
    }
}

/* mtasts_is_fatal(): errors that end an object or need a program change
 * are fatal; outcomes and errors a retry or other input cures are not */
static void
is_fatal_classes(void **state)
{
    static const int fatal[] = {
        MTASTS_ENOMEM,    MTASTS_EINVAL, MTASTS_EVERSION, MTASTS_ESTATE,
        MTASTS_ECALLBACK, -13,           -2147483647 - 1};
    static const int not_fatal[] = {MTASTS_OK,
                                    MTASTS_NONE,
                                    MTASTS_REFUSED,
                                    MTASTS_EAGAIN,
                                    MTASTS_ERANGE,
                                    MTASTS_ESYNTAX,
                                    MTASTS_ETOOBIG,
                                    MTASTS_ENONASCII,
                                    MTASTS_ESTRICT,
                                    MTASTS_ECORRUPT,
                                    3};
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++)
        assert_int_equal(mtasts_is_fatal(fatal[i]), 1);
    for (i = 0; i < sizeof(not_fatal) / sizeof(not_fatal[0]); i++)
        assert_int_equal(mtasts_is_fatal(not_fatal[i]), 0);
    /* every status code is classified, as one or the other */
    for (i = 0; i < NCODES; i++) {
        int f = mtasts_is_fatal(codes[i].code);
        assert_true(f == 0 || f == 1);
        assert_true(codes[i].code >= 0 ? f == 0 : 1);
    }
}

static void
warning_names(void **state)
{
    static const char *const names[] = {
        "trailing_wsp",
        "duplicate_field",
        "max_age_clamped",
        "blank_line",
        "bom",
        "duplicate_mx",
        "no_usable_rua",
        "rua_scheme",
        "rua_mailto",
        "date_no_offset",
        "contact_null",
        "mx_host_absent",
        "mx_host_string",
        "policy_string_string",
        "info_uri_alias",
        "policy_domain_absent",
        "bad_ip",
        "null_member",
        "tlsa_packed",
        "bad_uri",
        "counter_saturated",
        "no_reason_code",
        "date_range_reversed",
        "bad_name",
    };
    int w;

    (void)state;
    assert_int_equal(MTASTS_W_COUNT, 24);
    assert_int_equal(MTASTS_W_DATE_RANGE_REVERSED, 22);
    assert_int_equal(MTASTS_W_BAD_NAME, 23);
    assert_int_equal(MTASTS_W_BAD_URI, 19);
    assert_int_equal(MTASTS_W_TLSA_PACKED, 18);
    assert_int_equal(MTASTS_W_TRAILING_WSP, 0);
    assert_int_equal(MTASTS_W_DUPLICATE_FIELD, 1);
    assert_int_equal(MTASTS_W_MAX_AGE_CLAMPED, 2);
    assert_int_equal(MTASTS_W_BLANK_LINE, 3);
    assert_int_equal(MTASTS_W_BOM, 4);
    assert_int_equal(MTASTS_W_DUPLICATE_MX, 5);
    for (w = 0; w < MTASTS_W_COUNT; w++)
        assert_string_equal(mtasts_warning_name(w), names[w]);
    assert_null(mtasts_warning_name(-1));
    assert_null(mtasts_warning_name(MTASTS_W_COUNT));
    assert_null(mtasts_warning_name(63));
    assert_true(MTASTS_WARN_BIT(MTASTS_W_DUPLICATE_MX) == UINT64_C(32));
    assert_true(MTASTS_WARN_BIT(63) == UINT64_C(0x8000000000000000));
}

static void
reason_names_and_messages(void **state)
{
    /* Index = reason value; names are the macro names in lower case. */
    static const char *const names[] = {
        "none",
        "empty",
        "version",
        "delim",
        "field",
        "ext_name",
        "ext_value",
        "id",
        "no_id",
        "non_ascii",
        "ctl",
        "utf8",
        "bare_cr",
        "leading_wsp",
        "colon",
        "policy_version",
        "mode",
        "max_age",
        "mx",
        "missing_version",
        "missing_mode",
        "missing_max_age",
        "missing_mx",
        "too_big",
        "too_many_mx",
        "hostname",
        "label_len",
        "name_len",
        "strict",
        "multiple",
        "not_found",
        "bad_model",
        "truncated",
        "checksum",
        "deflate",
        "trailing",
        "uri",
        "no_rua",
        "json",
        "duplicate",
        "missing_member",
        "member_type",
        "member_value",
        "date_time",
        "dkim",
        "mime",
        "encoding",
    };
    int r, q;
    static const int unknown[] = {-1, 47, 1000};
    size_t i;

    (void)state;
    assert_int_equal(MTASTS_R_BAD_MODEL, 31);
    assert_int_equal(sizeof(names) / sizeof(names[0]), 47);
    assert_int_equal(MTASTS_R_DATE_TIME, 43);
    assert_int_equal(MTASTS_R_COLON, 14);
    assert_string_equal(mtasts_reason_name(MTASTS_R_COLON), "colon");
    assert_string_equal(mtasts_reason_message(MTASTS_R_COLON),
                        "expected ':' after the field name");
    for (r = 0; r <= MTASTS_R_ENCODING; r++) {
        const char *m = mtasts_reason_message(r);
        assert_string_equal(mtasts_reason_name(r), names[r]);
        assert_non_null(m);
        assert_true(m[0] != '\0');
        for (q = 0; q < r; q++)
            assert_string_not_equal(m, mtasts_reason_message(q));
    }
    for (i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
        assert_string_equal(mtasts_reason_name(unknown[i]), "unknown");
        assert_non_null(mtasts_reason_message(unknown[i]));
    }
}

static void
mode_names(void **state)
{
    (void)state;
    assert_string_equal(mtasts_mode_name(MTASTS_MODE_ENFORCE), "enforce");
    assert_string_equal(mtasts_mode_name(MTASTS_MODE_TESTING), "testing");
    assert_string_equal(mtasts_mode_name(MTASTS_MODE_NONE), "none");
    assert_null(mtasts_mode_name(0));
    assert_null(mtasts_mode_name(4));
    assert_null(mtasts_mode_name(-1));
}

static void
version_functions_match_macros(void **state)
{
    uint32_t num = 0;
    const char *v;
    char buf[32];

    (void)state;
    v = mtasts_version(&num);
    assert_string_equal(v, MTASTS_VERSION_STRING);
    assert_int_equal(num, MTASTS_VERSION_NUM);
    assert_string_equal(mtasts_version(NULL), MTASTS_VERSION_STRING);
    assert_int_equal(MTASTS_VERSION_NUM,
                     ((uint32_t)MTASTS_VERSION_MAJOR << 16) |
                         ((uint32_t)MTASTS_VERSION_MINOR << 8) |
                         (uint32_t)MTASTS_VERSION_PATCH);
    snprintf(buf, sizeof(buf), "%d.%d.%d", MTASTS_VERSION_MAJOR,
             MTASTS_VERSION_MINOR, MTASTS_VERSION_PATCH);
    assert_string_equal(buf, MTASTS_VERSION_STRING);
    assert_int_equal(mtasts_version_at_least(MTASTS_VERSION_NUM), 1);
    assert_int_equal(mtasts_version_at_least(0), 1);
    assert_int_equal(mtasts_version_at_least(MTASTS_VERSION_NUM + 1), 0);
    assert_int_equal(mtasts_version_at_least(0x7fffff), 0);
}

static void
diag_init_macro(void **state)
{
    struct mtasts_diag d = MTASTS_DIAG_INIT;

    (void)state;
    assert_int_equal(d.version, MTASTS_DIAG_VERSION);
    assert_int_equal(MTASTS_DIAG_VERSION, 1);
    assert_int_equal(d.code, 0);
    assert_int_equal(d.reason, 0);
    assert_true(d.warnings == 0);
}

/* Every function that takes a diagnostic checks its version first. */
static void
diag_version_checked(void **state)
{
    mtasts_ctx *ctx = *state;
    struct mtasts_diag d0 = MTASTS_DIAG_INIT, d99 = MTASTS_DIAG_INIT;
    mtasts_sts_record *rec = (mtasts_sts_record *)(uintptr_t)1;
    mtasts_policy *pol = (mtasts_policy *)(uintptr_t)1;
    const char *strs[] = {"v=STSv1; id=a"};
    size_t lens[] = {13}, nstr[] = {1};
    const char *mx[] = {"mx.example.com"};
    size_t mxl[] = {14};
    int outcome = -1;

    d0.version = 0;
    d99.version = 99;

    assert_int_equal(
        mtasts_sts_record_parse(ctx, S("v=STSv1; id=a"), 0, &rec, &d0),
        MTASTS_EINVAL);
    assert_null(rec);
    rec = (mtasts_sts_record *)(uintptr_t)1;
    assert_int_equal(
        mtasts_sts_record_parse(ctx, S("v=STSv1; id=a"), 0, &rec, &d99),
        MTASTS_EVERSION);
    assert_null(rec);

    rec = (mtasts_sts_record *)(uintptr_t)1;
    assert_int_equal(mtasts_sts_record_select(ctx, strs, lens, nstr, 1, 0,
                                              &outcome, &rec, &d0),
                     MTASTS_EINVAL);
    assert_null(rec);
    assert_int_equal(mtasts_sts_record_select(ctx, strs, lens, nstr, 1, 0,
                                              &outcome, &rec, &d99),
                     MTASTS_EVERSION);
    assert_null(rec);

    rec = (mtasts_sts_record *)(uintptr_t)1;
    assert_int_equal(mtasts_sts_record_build(ctx, S("a"), NULL, NULL, NULL,
                                             NULL, 0, &rec, &d0),
                     MTASTS_EINVAL);
    assert_null(rec);
    assert_int_equal(mtasts_sts_record_build(ctx, S("a"), NULL, NULL, NULL,
                                             NULL, 0, &rec, &d99),
                     MTASTS_EVERSION);
    assert_null(rec);

    assert_int_equal(mtasts_policy_parse(ctx,
                                         S("version: STSv1\nmode: none\n"
                                           "max_age: 1\n"),
                                         0, &pol, &d0),
                     MTASTS_EINVAL);
    assert_null(pol);
    pol = (mtasts_policy *)(uintptr_t)1;
    assert_int_equal(mtasts_policy_parse(ctx,
                                         S("version: STSv1\nmode: none\n"
                                           "max_age: 1\n"),
                                         0, &pol, &d99),
                     MTASTS_EVERSION);
    assert_null(pol);

    pol = (mtasts_policy *)(uintptr_t)1;
    assert_int_equal(pbuild(ctx, MTASTS_MODE_ENFORCE, 1, mx, mxl, 1, NULL, NULL,
                            NULL, NULL, 0, &pol, &d0),
                     MTASTS_EINVAL);
    assert_null(pol);
    assert_int_equal(pbuild(ctx, MTASTS_MODE_ENFORCE, 1, mx, mxl, 1, NULL, NULL,
                            NULL, NULL, 0, &pol, &d99),
                     MTASTS_EVERSION);
    assert_null(pol);

    assert_int_equal(mtasts_hostname_check(S("a.example"), 0, &d0),
                     MTASTS_EINVAL);
    assert_int_equal(mtasts_hostname_check(S("a.example"), 0, &d99),
                     MTASTS_EVERSION);
}

/* Hash-flooding defence: contexts made one after the other get different
 * hash seeds, and the aggregation hash of one input differs under them. */
static void
ctx_hash_seeds_differ(void **state)
{
    mtasts_ctx *a = NULL, *b = NULL;
    static const unsigned char in[] = "mx1.example.com";

    (void)state;
    assert_int_equal(mtasts_ctx_new(NULL, &a), MTASTS_OK);
    assert_int_equal(mtasts_ctx_new(NULL, &b), MTASTS_OK);
    assert_true(a->seed != b->seed);
    assert_true(mt_agg_hash(a->seed, in, sizeof(in) - 1) !=
                mt_agg_hash(b->seed, in, sizeof(in) - 1));
    mtasts_ctx_free(a);
    mtasts_ctx_free(b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ctx_new_default_allocator),
        cmocka_unit_test(ctx_new_null_ret),
        cmocka_unit_test(ctx_new_custom_allocator),
        cmocka_unit_test(ctx_new_allocator_copied),
        cmocka_unit_test(ctx_new_bad_allocator),
        cmocka_unit_test(ctx_hash_seeds_differ),
        cmocka_unit_test_setup_teardown(limits_defaults_and_twins,
                                        harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(limits_set_get, harness_setup,
                                        harness_teardown),
        cmocka_unit_test(status_values_are_fixed),
        cmocka_unit_test(strerror_and_status_name),
        cmocka_unit_test(is_fatal_classes),
        cmocka_unit_test(warning_names),
        cmocka_unit_test(ctx_seed_random),
        cmocka_unit_test(ctx_seed_caller),
        cmocka_unit_test(reason_names_and_messages),
        cmocka_unit_test(mode_names),
        cmocka_unit_test(version_functions_match_macros),
        cmocka_unit_test(diag_init_macro),
        cmocka_unit_test_setup_teardown(diag_version_checked, harness_setup,
                                        harness_teardown),
    };

    return cmocka_run_group_tests_name("core", tests, NULL, NULL);
}
