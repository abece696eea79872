/*
 * Fuzz the _smtp._tls TXT record: mtasts_tlsrpt_record_parse (default and
 * strict), format round trip, build from the parsed URIs, and
 * mtasts_tlsrpt_record_select over the input cut into an RRset.
 *
 * RRset encoding for select: byte 0x1E ends a resource record, byte 0x1F
 * ends a character-string inside one; both are removed from the strings.
 */
#include "fuzz_common.h"
#include "fuzz_rrset.h"

/* Warnings a TLSRPT record can carry, and those that survive formatting
 * (they are about what the URIs say, not how the record is written). */
#define RPT_WARNINGS                             \
    (MTASTS_WARN_BIT(MTASTS_W_TRAILING_WSP) |    \
     MTASTS_WARN_BIT(MTASTS_W_DUPLICATE_FIELD) | \
     MTASTS_WARN_BIT(MTASTS_W_NO_USABLE_RUA) |   \
     MTASTS_WARN_BIT(MTASTS_W_RUA_SCHEME) |      \
     MTASTS_WARN_BIT(MTASTS_W_RUA_MAILTO))
#define KEPT_WARNINGS                          \
    (MTASTS_WARN_BIT(MTASTS_W_NO_USABLE_RUA) | \
     MTASTS_WARN_BIT(MTASTS_W_RUA_SCHEME) |    \
     MTASTS_WARN_BIT(MTASTS_W_RUA_MAILTO))

static int
fmt_rec(const void *obj, char *dst, size_t dst_len, size_t *ret_needed)
{
    return mtasts_tlsrpt_record_format(obj, dst, dst_len, ret_needed);
}

static int
is_alnum(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
           (c >= 'A' && c <= 'Z');
}

/* Every getter agrees with the grammar of RFC 8460 3. */
static void
check_rec(const mtasts_tlsrpt_record *rec)
{
    const char *u, *t, *name, *value;
    size_t n, i, j, ul, tl, name_len, value_len, usable = 0;
    uint64_t w;
    int kind;

    FZ_CHECK(rec != NULL);
    n = mtasts_tlsrpt_record_rua_count(rec);
    FZ_CHECK(n >= 1);
    for (i = 0; i < n; i++) {
        u = mtasts_tlsrpt_record_rua(rec, i, &ul);
        fz_check_cstr(u, ul);
        FZ_CHECK(ul >= 2 && is_alnum((unsigned char)u[0]));
        FZ_CHECK(memchr(u, ':', ul) != NULL);
        for (j = 0; j < ul; j++) {
            unsigned char c = (unsigned char)u[j];
            FZ_CHECK(c > 0x20 && c < 0x7f && c != ',' && c != ';');
        }
        kind = mtasts_tlsrpt_record_rua_kind(rec, i);
        t = mtasts_tlsrpt_record_rua_target(rec, i, &tl);
        if (kind == MTASTS_RUA_OTHER) {
            FZ_CHECK(t == NULL && tl == 0);
            continue;
        }
        usable++;
        fz_check_cstr(t, tl);
        if (kind == MTASTS_RUA_HTTPS) {
            FZ_CHECK(tl == ul && memcmp(t, u, ul) == 0);
            FZ_CHECK(fz_caseeq(u, 8, "https://", 8));
        } else {
            FZ_CHECK(kind == MTASTS_RUA_MAILTO);
            FZ_CHECK(fz_caseeq(u, 7, "mailto:", 7));
            FZ_CHECK(tl >= 3 && memchr(t, '@', tl) != NULL);
            FZ_CHECK(tl <= ul - 7);
        }
    }
    FZ_CHECK(mtasts_tlsrpt_record_rua(rec, n, &ul) == NULL && ul == 0);
    FZ_CHECK(mtasts_tlsrpt_record_rua_target(rec, n, NULL) == NULL);
    FZ_CHECK(mtasts_tlsrpt_record_rua_kind(rec, n) == MTASTS_RUA_OTHER);
    n = mtasts_tlsrpt_record_ext_count(rec);
    for (i = 0; i < n; i++) {
        FZ_CHECK(mtasts_tlsrpt_record_ext(rec, i, &name, &name_len, &value,
                                          &value_len) == MTASTS_OK);
        fz_check_cstr(name, name_len);
        fz_check_cstr(value, value_len);
        FZ_CHECK(name_len >= 1 && name_len <= MTASTS_EXT_NAME_MAX);
        FZ_CHECK(is_alnum((unsigned char)name[0]));
        FZ_CHECK(!(name_len == 3 && memcmp(name, "rua", 3) == 0));
        FZ_CHECK(!(name_len == 1 && name[0] == 'v'));
        FZ_CHECK(value_len >= 1);
        for (j = 0; j < value_len; j++) {
            unsigned char c = (unsigned char)value[j];
            FZ_CHECK(c > 0x20 && c < 0x7f && c != ';' && c != '=');
        }
    }
    FZ_CHECK(mtasts_tlsrpt_record_ext(rec, n, NULL, NULL, NULL, NULL) ==
             MTASTS_EINVAL);
    w = mtasts_tlsrpt_record_warnings(rec);
    FZ_CHECK((w & ~(uint64_t)RPT_WARNINGS) == 0);
    FZ_CHECK(((w & MTASTS_WARN_BIT(MTASTS_W_NO_USABLE_RUA)) != 0) ==
             (usable == 0));
    if (usable < mtasts_tlsrpt_record_rua_count(rec))
        FZ_CHECK((w & (MTASTS_WARN_BIT(MTASTS_W_RUA_SCHEME) |
                       MTASTS_WARN_BIT(MTASTS_W_RUA_MAILTO))) != 0);
}

static int
same_rec(const mtasts_tlsrpt_record *a, const mtasts_tlsrpt_record *b)
{
    const char *sa, *sb, *na, *nb, *va, *vb;
    size_t la, lb, nla, nlb, vla, vlb, i;

    if (mtasts_tlsrpt_record_rua_count(a) != mtasts_tlsrpt_record_rua_count(b))
        return 0;
    for (i = 0; i < mtasts_tlsrpt_record_rua_count(a); i++) {
        sa = mtasts_tlsrpt_record_rua(a, i, &la);
        sb = mtasts_tlsrpt_record_rua(b, i, &lb);
        if (la != lb || memcmp(sa, sb, la) != 0 ||
            mtasts_tlsrpt_record_rua_kind(a, i) !=
                mtasts_tlsrpt_record_rua_kind(b, i))
            return 0;
        sa = mtasts_tlsrpt_record_rua_target(a, i, &la);
        sb = mtasts_tlsrpt_record_rua_target(b, i, &lb);
        if ((sa == NULL) != (sb == NULL) ||
            (sa != NULL && (la != lb || memcmp(sa, sb, la) != 0)))
            return 0;
    }
    if (mtasts_tlsrpt_record_ext_count(a) != mtasts_tlsrpt_record_ext_count(b))
        return 0;
    for (i = 0; i < mtasts_tlsrpt_record_ext_count(a); i++) {
        FZ_CHECK(mtasts_tlsrpt_record_ext(a, i, &na, &nla, &va, &vla) == 0);
        FZ_CHECK(mtasts_tlsrpt_record_ext(b, i, &nb, &nlb, &vb, &vlb) == 0);
        if (nla != nlb || memcmp(na, nb, nla) != 0 || vla != vlb ||
            memcmp(va, vb, vla) != 0)
            return 0;
    }
    return 1;
}

/* Parse and check the result and the diagnostic against each other. */
static int
parse_checked(mtasts_ctx *ctx, const char *buf, size_t len, unsigned flags,
              mtasts_tlsrpt_record **ret_rec, struct mtasts_diag *d)
{
    struct mtasts_diag tmp = MTASTS_DIAG_INIT;
    int rc;

    *d = tmp;
    *ret_rec = (mtasts_tlsrpt_record *)(uintptr_t)1; /* must be overwritten */
    rc = mtasts_tlsrpt_record_parse(ctx, buf, len, flags, ret_rec, d);
    FZ_CHECK(d->code == rc);
    if (rc == MTASTS_OK) {
        check_rec(*ret_rec);
        FZ_CHECK(d->warnings == mtasts_tlsrpt_record_warnings(*ret_rec));
        FZ_CHECK(d->warnings == 0 || d->warning_offset <= len);
        if (flags & MTASTS_PARSE_F_STRICT)
            FZ_CHECK(d->warnings == 0);
        return rc;
    }
    FZ_CHECK(*ret_rec == NULL);
    FZ_CHECK(rc == MTASTS_ESYNTAX || rc == MTASTS_ETOOBIG ||
             rc == MTASTS_ENOMEM ||
             (rc == MTASTS_ESTRICT && (flags & MTASTS_PARSE_F_STRICT)));
    if (rc != MTASTS_ENOMEM) {
        FZ_CHECK(d->reason > MTASTS_R_NONE && d->reason <= MTASTS_R_DATE_TIME);
        FZ_CHECK(strcmp(mtasts_reason_name(d->reason), "unknown") != 0);
        FZ_CHECK(d->line == 1);
        FZ_CHECK(d->offset <= len || rc == MTASTS_ETOOBIG);
        if (d->reason == MTASTS_R_NON_ASCII)
            FZ_CHECK(d->offset < len && (unsigned char)buf[d->offset] >= 0x80);
        if (d->reason == MTASTS_R_CTL)
            FZ_CHECK(d->offset < len &&
                     ((unsigned char)buf[d->offset] < 0x20 ||
                      (unsigned char)buf[d->offset] == 0x7f));
        if (rc == MTASTS_ESTRICT)
            FZ_CHECK(d->reason == MTASTS_R_STRICT && d->warnings != 0);
    }
    return rc;
}

/* Whether a '!' sits inside an IP-literal ("[v1.a!b]"), where build
 * cannot percent-encode it. */
static int
bang_in_ip_literal(const char *u, size_t n)
{
    size_t i;
    int in = 0;

    for (i = 0; i < n; i++) {
        if (u[i] == '[')
            in = 1;
        else if (u[i] == ']')
            in = 0;
        else if (u[i] == '!' && in)
            return 1;
    }
    return 0;
}

/* format; the URIs build into a record whose URIs are the same with '!'
 * percent-encoded (rec_check_reparse() then parses the text again).
 * Returns the canonical text (libc memory). */
static char *
round_trip(mtasts_ctx *ctx, const mtasts_tlsrpt_record *rec, size_t *ret_len)
{
    mtasts_tlsrpt_record *built = NULL;
    const char **uris;
    size_t *lens, n, i, j, k, len, bl;
    char *text;
    const char *b;
    int rc;

    text = fz_format(fmt_rec, rec, &len);
    FZ_CHECK(len >= 18 && memcmp(text, "v=TLSRPTv1; rua=", 16) == 0);
    FZ_CHECK(text[len - 1] != ';' && text[len - 1] != ' ');
    n = mtasts_tlsrpt_record_rua_count(rec);
    uris = calloc(n, sizeof(*uris));
    lens = calloc(n, sizeof(*lens));
    if (uris == NULL || lens == NULL)
        abort();
    for (i = 0; i < n; i++)
        uris[i] = mtasts_tlsrpt_record_rua(rec, i, &lens[i]);
    rc = mtasts_tlsrpt_record_build(ctx, uris, lens, n, &built, NULL);
    if (rc == MTASTS_ESYNTAX) {
        for (i = 0; i < n; i++)
            if (bang_in_ip_literal(uris[i], lens[i]))
                break;
        FZ_CHECK(i < n);
    } else {
        FZ_CHECK(rc == MTASTS_OK || rc == MTASTS_ETOOBIG);
    }
    if (rc == MTASTS_OK) {
        FZ_CHECK(mtasts_tlsrpt_record_rua_count(built) == n);
        FZ_CHECK(mtasts_tlsrpt_record_ext_count(built) == 0);
        for (i = 0; i < n; i++) {
            b = mtasts_tlsrpt_record_rua(built, i, &bl);
            for (j = 0, k = 0; j < lens[i]; j++) {
                if (uris[i][j] == '!') {
                    FZ_CHECK(k + 3 <= bl && memcmp(b + k, "%21", 3) == 0);
                    k += 3;
                } else {
                    FZ_CHECK(k < bl && b[k] == uris[i][j]);
                    k++;
                }
            }
            FZ_CHECK(k == bl);
        }
        mtasts_tlsrpt_record_free(built);
    }
    free(uris);
    free(lens);
    *ret_len = len;
    return text;
}

/* mtasts_tlsrpt_record as a struct rec_kind for the shared checks in
 * fuzz_rrset.h. */
static int
k_parse(mtasts_ctx *ctx, const char *buf, size_t len, unsigned flags,
        void **ret, struct mtasts_diag *d)
{
    mtasts_tlsrpt_record *rec = NULL;
    int rc = parse_checked(ctx, buf, len, flags, &rec, d);

    *ret = rec;
    return rc;
}

static int
k_select(mtasts_ctx *ctx, const char *const *strs, const size_t *lens,
         const size_t *nstr, size_t nrr, unsigned flags, int *outcome,
         void **ret, struct mtasts_diag *d)
{
    mtasts_tlsrpt_record *rec = NULL;
    int rc = mtasts_tlsrpt_record_select(ctx, strs, lens, nstr, nrr, flags,
                                         outcome, &rec, d);

    *ret = rec;
    return rc;
}

static void
k_free(void *rec)
{
    mtasts_tlsrpt_record_free(rec);
}

static uint64_t
k_warnings(const void *rec)
{
    return mtasts_tlsrpt_record_warnings(rec);
}

static int
k_same(const void *a, const void *b)
{
    return same_rec(a, b);
}

static const struct rec_kind kind = {"v=TLSRPTv1", k_parse, k_select, k_free,
                                     k_warnings,   k_same,  fmt_rec};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *buf = (const char *)data;
    struct fz_alloc fa;
    struct mtasts_diag dd, ds;
    struct rec_summary sum;
    struct rrset rs;
    mtasts_tlsrpt_record *def = NULL, *str = NULL;
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
        FZ_CHECK(mtasts_tlsrpt_record_warnings(def) == 0);
        FZ_CHECK(same_rec(def, str));
    }
    if (sum.rc == MTASTS_OK)
        FZ_CHECK(rc_str == (mtasts_tlsrpt_record_warnings(def) == 0
                                ? MTASTS_OK
                                : MTASTS_ESTRICT));
    else
        FZ_CHECK(rc_str == sum.rc && ds.reason == dd.reason &&
                 ds.offset == dd.offset);
    if (rc_str == MTASTS_ESTRICT)
        FZ_CHECK(ds.warnings == dd.warnings && ds.offset == dd.warning_offset);
    if (sum.rc == MTASTS_OK) {
        sum.text = round_trip(ctx, def, &sum.text_len);
        rec_check_reparse(&kind, ctx, def, sum.text, sum.text_len, 0,
                          mtasts_tlsrpt_record_warnings(def) & KEPT_WARNINGS);
        rec_check_limit_edge(&kind, ctx, buf, size, sum.text_len);
    }
    mtasts_tlsrpt_record_free(def);
    mtasts_tlsrpt_record_free(str);

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
