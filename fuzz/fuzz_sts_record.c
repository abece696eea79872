/*
 * Fuzz the _mta-sts TXT record: mtasts_sts_record_parse (default and
 * strict), format round trip, build from the parsed model, and
 * mtasts_sts_record_select over the input cut into an RRset.
 *
 * RRset encoding for select: byte 0x1E ends a resource record, byte 0x1F
 * ends a character-string inside one; both are removed from the strings.
 */
#include "fuzz_common.h"
#include "fuzz_rrset.h"

static int
fmt_rec(const void *obj, char *dst, size_t dst_len, size_t *ret_needed)
{
    return mtasts_sts_record_format(obj, dst, dst_len, ret_needed);
}

static int
is_alnum(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
           (c >= 'A' && c <= 'Z');
}

/* Every getter agrees with the grammar of RFC 8461 3.1. */
static void
check_rec(const mtasts_sts_record *rec)
{
    const char *id, *name, *value;
    size_t id_len = 0, n, i, j, name_len, value_len;

    FZ_CHECK(rec != NULL);
    id = mtasts_sts_record_id(rec, &id_len);
    fz_check_cstr(id, id_len);
    FZ_CHECK(id_len >= 1 && id_len <= MTASTS_ID_MAX_LEN);
    for (i = 0; i < id_len; i++)
        FZ_CHECK(is_alnum((unsigned char)id[i]));
    n = mtasts_sts_record_ext_count(rec);
    for (i = 0; i < n; i++) {
        FZ_CHECK(mtasts_sts_record_ext(rec, i, &name, &name_len, &value,
                                       &value_len) == MTASTS_OK);
        fz_check_cstr(name, name_len);
        fz_check_cstr(value, value_len);
        FZ_CHECK(name_len >= 1 && name_len <= MTASTS_EXT_NAME_MAX);
        FZ_CHECK(is_alnum((unsigned char)name[0]));
        FZ_CHECK(!(name_len == 2 && memcmp(name, "id", 2) == 0));
        FZ_CHECK(!(name_len == 1 && name[0] == 'v'));
        FZ_CHECK(value_len >= 1);
        for (j = 0; j < value_len; j++) {
            unsigned char c = (unsigned char)value[j];
            FZ_CHECK(c > 0x20 && c < 0x7f && c != ';' && c != '=');
        }
    }
    FZ_CHECK(mtasts_sts_record_ext(rec, n, NULL, NULL, NULL, NULL) ==
             MTASTS_EINVAL);
    FZ_CHECK((mtasts_sts_record_warnings(rec) >> MTASTS_W_COUNT) == 0);
}

static int
same_rec(const mtasts_sts_record *a, const mtasts_sts_record *b)
{
    const char *ia, *ib, *na, *nb, *va, *vb;
    size_t la, lb, nla, nlb, vla, vlb, i;

    ia = mtasts_sts_record_id(a, &la);
    ib = mtasts_sts_record_id(b, &lb);
    if (la != lb || memcmp(ia, ib, la) != 0)
        return 0;
    if (mtasts_sts_record_ext_count(a) != mtasts_sts_record_ext_count(b))
        return 0;
    for (i = 0; i < mtasts_sts_record_ext_count(a); i++) {
        FZ_CHECK(mtasts_sts_record_ext(a, i, &na, &nla, &va, &vla) == 0);
        FZ_CHECK(mtasts_sts_record_ext(b, i, &nb, &nlb, &vb, &vlb) == 0);
        if (nla != nlb || memcmp(na, nb, nla) != 0 || vla != vlb ||
            memcmp(va, vb, vla) != 0)
            return 0;
    }
    return 1;
}

/* Parse and check the result and the diagnostic against each other. */
static int
parse_checked(mtasts_ctx *ctx, const char *buf, size_t len, unsigned flags,
              mtasts_sts_record **ret_rec, struct mtasts_diag *d)
{
    struct mtasts_diag tmp = MTASTS_DIAG_INIT;
    int rc;

    *d = tmp;
    *ret_rec = (mtasts_sts_record *)(uintptr_t)1; /* must be overwritten */
    rc = mtasts_sts_record_parse(ctx, buf, len, flags, ret_rec, d);
    FZ_CHECK(d->code == rc || rc == MTASTS_ENOMEM);
    if (rc == MTASTS_OK) {
        check_rec(*ret_rec);
        FZ_CHECK(d->warnings == mtasts_sts_record_warnings(*ret_rec));
        FZ_CHECK(d->warnings == 0 || d->warning_offset <= len);
        if (flags & MTASTS_PARSE_F_STRICT)
            FZ_CHECK(d->warnings == 0);
        return rc;
    }
    FZ_CHECK(*ret_rec == NULL);
    FZ_CHECK(rc == MTASTS_ESYNTAX || rc == MTASTS_ENONASCII ||
             rc == MTASTS_ETOOBIG || rc == MTASTS_ENOMEM ||
             (rc == MTASTS_ESTRICT && (flags & MTASTS_PARSE_F_STRICT)));
    if (rc != MTASTS_ENOMEM) {
        FZ_CHECK(d->reason > MTASTS_R_NONE && d->reason <= MTASTS_R_BAD_MODEL);
        FZ_CHECK(strcmp(mtasts_reason_name(d->reason), "unknown") != 0);
        FZ_CHECK(d->line == 1);
        FZ_CHECK(d->offset <= len || rc == MTASTS_ETOOBIG);
        /* a byte that makes a record fail must exist */
        if (d->reason == MTASTS_R_NON_ASCII)
            FZ_CHECK(d->offset < len && (unsigned char)buf[d->offset] >= 0x80);
        if (d->reason == MTASTS_R_CTL)
            FZ_CHECK(d->offset < len &&
                     ((unsigned char)buf[d->offset] < 0x20 ||
                      (unsigned char)buf[d->offset] == 0x7f));
    }
    return rc;
}

/* format; the fields build into the same record with the same text
 * (rec_check_reparse() then parses the text again). Returns the
 * canonical text. */
static char *
round_trip(mtasts_ctx *ctx, const mtasts_sts_record *rec, size_t *ret_len)
{
    mtasts_sts_record *built = NULL;
    const char **names, **values;
    size_t *name_lens, *value_lens, n, i, len, len2, id_len;
    const char *id;
    char *text, *text2;
    int rc;

    text = fz_format(fmt_rec, rec, &len);
    FZ_CHECK(len >= 13 && memcmp(text, "v=STSv1; id=", 12) == 0);
    FZ_CHECK(text[len - 1] == ';');
    n = mtasts_sts_record_ext_count(rec);
    names = calloc(n + 1, sizeof(*names));
    values = calloc(n + 1, sizeof(*values));
    name_lens = calloc(n + 1, sizeof(*name_lens));
    value_lens = calloc(n + 1, sizeof(*value_lens));
    if (names == NULL || values == NULL || name_lens == NULL ||
        value_lens == NULL)
        abort();
    for (i = 0; i < n; i++)
        FZ_CHECK(mtasts_sts_record_ext(rec, i, &names[i], &name_lens[i],
                                       &values[i], &value_lens[i]) == 0);
    id = mtasts_sts_record_id(rec, &id_len);
    rc = mtasts_sts_record_build(ctx, id, id_len, names, name_lens, values,
                                 value_lens, n, &built, NULL);
    FZ_CHECK(rc == MTASTS_OK);
    FZ_CHECK(same_rec(rec, built));
    text2 = fz_format(fmt_rec, built, &len2);
    FZ_CHECK(len2 == len && memcmp(text, text2, len) == 0);
    free(text2);
    mtasts_sts_record_free(built);
    free(names);
    free(values);
    free(name_lens);
    free(value_lens);
    *ret_len = len;
    return text;
}

/* mtasts_sts_record as a struct rec_kind for the shared checks in fuzz_rrset.h.
 */
static int
k_parse(mtasts_ctx *ctx, const char *buf, size_t len, unsigned flags,
        void **ret, struct mtasts_diag *d)
{
    mtasts_sts_record *rec = NULL;
    int rc = parse_checked(ctx, buf, len, flags, &rec, d);

    *ret = rec;
    return rc;
}

static int
k_select(mtasts_ctx *ctx, const char *const *strs, const size_t *lens,
         const size_t *nstr, size_t nrr, unsigned flags, int *outcome,
         void **ret, struct mtasts_diag *d)
{
    mtasts_sts_record *rec = NULL;
    int rc = mtasts_sts_record_select(ctx, strs, lens, nstr, nrr, flags,
                                      outcome, &rec, d);

    *ret = rec;
    return rc;
}

static void
k_free(void *rec)
{
    mtasts_sts_record_free(rec);
}

static uint64_t
k_warnings(const void *rec)
{
    return mtasts_sts_record_warnings(rec);
}

static int
k_same(const void *a, const void *b)
{
    return same_rec(a, b);
}

static const struct rec_kind kind = {"v=STSv1",  k_parse, k_select, k_free,
                                     k_warnings, k_same,  fmt_rec};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *buf = (const char *)data;
    struct fz_alloc fa;
    struct mtasts_diag dd, ds;
    struct rec_summary sum;
    struct rrset rs;
    mtasts_sts_record *def = NULL, *str = NULL;
    mtasts_ctx *ctx;
    size_t fail_at = 0;
    int rc_str, mode;

    memset(&sum, 0, sizeof(sum));
    fz_alloc_init(&fa, FZ_FAIL_NONE, 0);
    ctx = fz_ctx_new(&fa);
    FZ_CHECK(ctx != NULL);

    sum.rc = parse_checked(ctx, buf, size, 0, &def, &dd);
    rc_str = parse_checked(ctx, buf, size, MTASTS_PARSE_F_STRICT, &str, &ds);
    FZ_CHECK(sum.rc != MTASTS_ENOMEM && rc_str != MTASTS_ENOMEM);
    if (rc_str == MTASTS_OK) {
        FZ_CHECK(sum.rc == MTASTS_OK);
        FZ_CHECK(mtasts_sts_record_warnings(def) == 0);
        FZ_CHECK(same_rec(def, str));
    }
    if (sum.rc == MTASTS_OK)
        FZ_CHECK(rc_str == (mtasts_sts_record_warnings(def) == 0
                                ? MTASTS_OK
                                : MTASTS_ESTRICT));
    else
        FZ_CHECK(rc_str == sum.rc || rc_str == MTASTS_ESTRICT);
    if (rc_str == MTASTS_ESTRICT && sum.rc == MTASTS_OK)
        FZ_CHECK(ds.warnings == dd.warnings);
    if (sum.rc == MTASTS_OK) {
        sum.text = round_trip(ctx, def, &sum.text_len);
        rec_check_reparse(&kind, ctx, def, sum.text, sum.text_len,
                          MTASTS_PARSE_F_STRICT, 0);
        rec_check_limit_edge(&kind, ctx, buf, size, sum.text_len);
    }
    mtasts_sts_record_free(def);
    mtasts_sts_record_free(str);

    rrset_split(buf, size, &rs);
    rrset_check_select(&kind, ctx, &rs, 0, &sum);
    rrset_check_select(&kind, ctx, &rs, MTASTS_PARSE_F_STRICT, NULL);
    FZ_CHECK(fa.nblk == 1);
    fz_ctx_free(&fa, ctx);
    fz_alloc_fini(&fa);

    mode = fz_plan(data, size, &fail_at);
    if (mode != FZ_FAIL_NONE)
        rec_oom_pass(&kind, buf, size, &rs, &sum, mode, fail_at);

    rrset_free(&rs);
    free(sum.text);
    free(sum.sel_text);
    return 0;
}
