/*
 * Fuzz the cache entry encoding (doc/cache-entry.md): mtasts_entry_decode,
 * the getters, encode -> decode -> encode stability, and the same bytes
 * given as the cached entry of a lookup.
 *
 * The decoder is strict, so a decoded entry must encode back to exactly
 * the input; the getters are checked against an independent reading of
 * the "key=value" lines.
 */
#include "fuzz_common.h"

#define NOW 1700000000

static int
fmt_entry(const void *obj, char *dst, size_t dst_len, size_t *ret_needed)
{
    return mtasts_entry_encode(obj, (uint8_t *)dst, dst_len, ret_needed);
}

/* Independent reading of a decoded entry: the value of "key=" on the
 * line where it must be, and the body. */
struct fields {
    const char *v[10];
    size_t vl[10];
    const char *body;
    size_t body_len;
};

static const char *const keys[10] = {
    NULL,        "domain",        "id",         "fetched",
    "expires",   "backoff-until", "backoff-id", "backoff-result",
    "last-used", "policy",
};

static void
split_fields(const char *b, size_t n, struct fields *f)
{
    size_t p = 0, e, k, kl;

    /* the encoder writes version 3: the header, then the check line */
    FZ_CHECK(n >= 38 && memcmp(b, "MTASTS-ENTRY/3\ncheck=", 21) == 0 &&
             b[37] == '\n');
    for (k = 0; k < 37; k++)
        FZ_CHECK(k < 21 || (b[k] >= '0' && b[k] <= '9') ||
                 (b[k] >= 'a' && b[k] <= 'f'));
    for (k = 0; k < 10; k++) {
        for (e = p; e < n && b[e] != '\n'; e++)
            ;
        FZ_CHECK(e < n); /* a decoded entry has all ten lines */
        if (k == 0) {
            FZ_CHECK(e - p == 14 && memcmp(b, "MTASTS-ENTRY/3", 14) == 0);
            e += 23; /* and the check line */
        } else {
            kl = strlen(keys[k]);
            FZ_CHECK(e - p > kl && memcmp(b + p, keys[k], kl) == 0 &&
                     b[p + kl] == '=');
            f->v[k] = b + p + kl + 1;
            f->vl[k] = e - p - kl - 1;
        }
        p = e + 1;
    }
    f->body = b + p;
    f->body_len = n - p;
}

static int64_t
num(const char *v, size_t n)
{
    int64_t x = 0;
    size_t i;

    FZ_CHECK(n >= 1 && n <= 19 && (n == 1 || v[0] != '0'));
    for (i = 0; i < n; i++) {
        FZ_CHECK(v[i] >= '0' && v[i] <= '9');
        x = x * 10 + (v[i] - '0');
    }
    FZ_CHECK(x <= ((int64_t)1 << 62));
    return x;
}

static void
check_id(const char *s, size_t l, const char *v, size_t vl)
{
    size_t i;

    fz_check_cstr(s, l);
    FZ_CHECK(l <= MTASTS_ID_MAX_LEN);
    for (i = 0; i < l; i++)
        FZ_CHECK((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'z') ||
                 (s[i] >= 'A' && s[i] <= 'Z'));
    FZ_CHECK(l == vl && memcmp(s, v, l) == 0);
}

/* Getters against the text, and encode -> decode -> encode. */
static void
check_entry(mtasts_ctx *ctx, struct fz_alloc *fa, const mtasts_entry *e,
            const uint8_t *data, size_t size)
{
    char norm[MTASTS_DOMAIN_MAX_LEN + 1];
    struct fields f;
    const mtasts_policy *p;
    mtasts_entry *e2 = NULL;
    const char *s, *raw;
    char *enc, *enc2;
    size_t l, nl, n, n2;
    int64_t fetched, expires, bu;
    int rc;

    memset(&f, 0, sizeof(f));
    /* the decoder is strict: the encoding of a decoded entry is its input
     * (for a version-1 or 2 input: the same fields and body after the
     * version-3 header and check line) */
    enc = fz_format(fmt_entry, e, &n);
    if (size >= 15 && memcmp(data, "MTASTS-ENTRY/1\n", 15) == 0)
        FZ_CHECK(n == size + 23 && memcmp(enc + 38, data + 15, size - 15) == 0);
    else if (size >= 30 && memcmp(data, "MTASTS-ENTRY/2\n", 15) == 0)
        FZ_CHECK(n == size + 8 && memcmp(enc + 38, data + 30, size - 30) == 0);
    else
        FZ_CHECK(n == size && memcmp(enc, data, n) == 0);
    rc = mtasts_entry_decode(ctx, (const uint8_t *)enc, n, &e2, NULL);
    FZ_CHECK_OOM_RC(rc, MTASTS_OK, fa);
    if (rc == MTASTS_OK) {
        enc2 = fz_format(fmt_entry, e2, &n2);
        FZ_CHECK(n2 == n && memcmp(enc, enc2, n) == 0);
        free(enc2);
        mtasts_entry_free(e2);
    }

    split_fields(enc, n, &f);
    s = mtasts_entry_domain(e, &l);
    fz_check_cstr(s, l);
    FZ_CHECK(l == f.vl[1] && memcmp(s, f.v[1], l) == 0);
    FZ_CHECK(mtasts_hostname_check(s, l, 0, NULL) == MTASTS_OK);
    FZ_CHECK(mtasts_domain_normalize(s, l, norm, sizeof(norm), &nl) ==
             MTASTS_OK);
    FZ_CHECK(nl == l && memcmp(norm, s, l) == 0); /* already normalised */
    s = mtasts_entry_id(e, &l);
    check_id(s, l, f.v[2], f.vl[2]);
    s = mtasts_entry_backoff_id(e, &l);
    check_id(s, l, f.v[6], f.vl[6]);
    fetched = num(f.v[3], f.vl[3]);
    expires = num(f.v[4], f.vl[4]);
    bu = num(f.v[5], f.vl[5]);
    FZ_CHECK(mtasts_entry_time(e, MTASTS_ENTRY_TIME_FETCHED_AT) == fetched);
    FZ_CHECK(mtasts_entry_time(e, MTASTS_ENTRY_TIME_EXPIRES_AT) == expires);
    FZ_CHECK(mtasts_entry_time(e, MTASTS_ENTRY_TIME_BACKOFF_UNTIL) == bu);
    FZ_CHECK(mtasts_entry_time(e, MTASTS_ENTRY_TIME_LAST_USED) ==
             num(f.v[8], f.vl[8]));
    FZ_CHECK(mtasts_entry_time(e, 0) == 0 && mtasts_entry_time(e, 5) == 0);
    FZ_CHECK(num(f.v[7], f.vl[7]) <= MTASTS_RESULT_STS_WEBPKI_INVALID);
    if (bu == 0)
        FZ_CHECK(f.vl[6] == 0 && num(f.v[7], f.vl[7]) == 0);
    FZ_CHECK((int64_t)f.body_len == num(f.v[9], f.vl[9]));
    p = mtasts_entry_policy(e);
    if (f.body_len == 0) {
        FZ_CHECK(p == NULL);
        FZ_CHECK(fetched == 0 && expires == 0);
    } else {
        FZ_CHECK(p != NULL);
        FZ_CHECK(expires >= fetched);
        raw = mtasts_policy_raw(p, &l);
        FZ_CHECK(l == f.body_len && memcmp(raw, f.body, l) == 0);
        FZ_CHECK(mtasts_policy_mode(p) >= MTASTS_MODE_ENFORCE &&
                 mtasts_policy_mode(p) <= MTASTS_MODE_NONE);
    }
    free(enc);
}

/* The "domain=" value of the second line, if there is one. */
static int
domain_field(const uint8_t *d, size_t n, const char **ret, size_t *ret_len)
{
    const uint8_t *nl = memchr(d, '\n', n), *v, *end;

    if (nl == NULL || (size_t)(d + n - (nl + 1)) < 7 ||
        memcmp(nl + 1, "domain=", 7) != 0)
        return 0;
    v = nl + 8;
    end = memchr(v, '\n', (size_t)(d + n - v));
    if (end == NULL || end == v || end - v > MTASTS_DOMAIN_MAX_LEN)
        return 0;
    *ret = (const char *)v;
    *ret_len = (size_t)(end - v);
    return 1;
}

/* The bytes as the cached entry of a lookup for domain at now; finish it
 * with NXDOMAIN and check it used the entry as the decoder said. */
static void
check_lookup(mtasts_ctx *ctx, const char *domain, size_t dlen,
             const uint8_t *data, size_t size, int64_t now, int want_error,
             const mtasts_entry *dec)
{
    mtasts_lookup *lk = NULL;
    const mtasts_policy *p, *cp;
    const char *a, *b;
    size_t al, bl;
    int rc, valid;

    rc = mtasts_lookup_new(ctx, domain, dlen, data, size, now, 0, &lk);
    if (rc != MTASTS_OK) {
        /* only the domain can be refused */
        FZ_CHECK(lk == NULL);
        FZ_CHECK(mtasts_hostname_check(domain, dlen, MTASTS_HOST_F_TRAILING_DOT,
                                       NULL) != MTASTS_OK ||
                 dlen + 9 > MTASTS_DOMAIN_MAX_LEN);
        return;
    }
    FZ_CHECK(mtasts_lookup_entry_error(lk) == want_error);
    FZ_CHECK(mtasts_lookup_next(lk) == MTASTS_ACT_TXT);
    FZ_CHECK(mtasts_lookup_put_txt(lk, MTASTS_DNS_NXDOMAIN, NULL, NULL, NULL,
                                   0) == MTASTS_OK);
    FZ_CHECK(mtasts_lookup_next(lk) == MTASTS_ACT_DONE);
    cp = want_error == 0 && dec != NULL ? mtasts_entry_policy(dec) : NULL;
    valid = cp != NULL &&
            now < mtasts_entry_time(dec, MTASTS_ENTRY_TIME_EXPIRES_AT);
    p = mtasts_lookup_policy(lk);
    if (valid && mtasts_policy_mode(cp) != MTASTS_MODE_NONE) {
        /* T4: the record is gone, the cached policy applies */
        FZ_CHECK(mtasts_lookup_outcome(lk) == MTASTS_OUTCOME_APPLY);
        FZ_CHECK(mtasts_lookup_from_cache(lk) == 1 && p != NULL);
        a = mtasts_policy_raw(p, &al);
        b = mtasts_policy_raw(cp, &bl);
        FZ_CHECK(al == bl && memcmp(a, b, al) == 0);
    } else if (valid) {
        /* T7: a none policy is deleted once the record is gone */
        FZ_CHECK(mtasts_lookup_outcome(lk) == MTASTS_OUTCOME_NO_POLICY);
        FZ_CHECK(mtasts_lookup_entry_action(lk) == MTASTS_ENTRY_ACTION_DELETE);
    } else {
        FZ_CHECK(mtasts_lookup_outcome(lk) == MTASTS_OUTCOME_NO_POLICY);
        FZ_CHECK(p == NULL && !mtasts_lookup_from_cache(lk));
        FZ_CHECK(mtasts_lookup_entry_action(lk) ==
                 MTASTS_ENTRY_ACTION_UNCHANGED);
    }
    FZ_CHECK(mtasts_lookup_result_type(lk) == MTASTS_RESULT_NONE);
    mtasts_lookup_free(lk);
}

static void
oom_pass(const uint8_t *data, size_t size, int normal_rc, int mode,
         size_t fail_at)
{
    struct fz_alloc fa;
    struct mtasts_diag d = MTASTS_DIAG_INIT;
    mtasts_entry *e = NULL;
    mtasts_lookup *lk = NULL;
    mtasts_ctx *ctx;
    int rc;

    fz_alloc_init(&fa, mode, fail_at);
    ctx = fz_ctx_new(&fa);
    if (ctx == NULL) {
        fz_alloc_fini(&fa);
        return;
    }
    rc = mtasts_entry_decode(ctx, data, size, &e, &d);
    FZ_CHECK_OOM_RC(rc, normal_rc, &fa);
    FZ_CHECK(d.code == rc);
    FZ_CHECK((e != NULL) == (rc == MTASTS_OK));
    if (e != NULL)
        check_entry(ctx, &fa, e, data, size);
    mtasts_entry_free(e);
    FZ_CHECK(fa.nblk == 1);
    rc = mtasts_lookup_new(ctx, "example.com", 11, data, size, NOW, 0, &lk);
    FZ_CHECK(rc == MTASTS_OK || (rc == MTASTS_ENOMEM && fa.failed));
    FZ_CHECK((lk != NULL) == (rc == MTASTS_OK));
    mtasts_lookup_free(lk);
    fz_ctx_free(&fa, ctx);
    fz_alloc_fini(&fa);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fz_alloc fa;
    struct mtasts_diag d = MTASTS_DIAG_INIT;
    mtasts_entry *e = (mtasts_entry *)(uintptr_t)1;
    mtasts_ctx *ctx;
    const char *dom;
    size_t dlen, fail_at = 0;
    int64_t t;
    int rc, mode;

    fz_alloc_init(&fa, FZ_FAIL_NONE, 0);
    ctx = fz_ctx_new(&fa);
    FZ_CHECK(ctx != NULL);

    rc = mtasts_entry_decode(ctx, data, size, &e, &d);
    FZ_CHECK(d.code == rc);
    if (rc == MTASTS_OK) {
        FZ_CHECK(e != NULL);
        FZ_CHECK(d.warnings == 0);
        check_entry(ctx, &fa, e, data, size);
    } else {
        FZ_CHECK(e == NULL);
        FZ_CHECK(rc == MTASTS_ESYNTAX || rc == MTASTS_ETOOBIG ||
                 rc == MTASTS_EVERSION || rc == MTASTS_ECORRUPT);
        FZ_CHECK(d.reason == MTASTS_R_VERSION || d.reason == MTASTS_R_FIELD ||
                 d.reason == MTASTS_R_TOO_BIG || d.reason == MTASTS_R_CHECKSUM);
        FZ_CHECK((rc == MTASTS_ETOOBIG) == (d.reason == MTASTS_R_TOO_BIG));
        FZ_CHECK((rc == MTASTS_ECORRUPT) == (d.reason == MTASTS_R_CHECKSUM));
        if (rc == MTASTS_EVERSION)
            FZ_CHECK(d.reason == MTASTS_R_VERSION);
        FZ_CHECK(d.offset <= size);
    }

    /* As a lookup's cached entry: for its own domain the lookup sees the
     * decoder's status; for another domain EINVAL (or the decoder's status
     * when it fails before the domain line). */
    if (rc == MTASTS_OK) {
        dom = mtasts_entry_domain(e, &dlen);
        t = mtasts_entry_time(e, MTASTS_ENTRY_TIME_EXPIRES_AT) - 1;
        check_lookup(ctx, dom, dlen, data, size, NOW, 0, e);
        if (t >= 0 && t <= ((int64_t)1 << 61))
            check_lookup(ctx, dom, dlen, data, size, t, 0, e);
        if (dlen != 13 || memcmp(dom, "fixed.example", 13) != 0)
            check_lookup(ctx, "fixed.example", 13, data, size, NOW,
                         MTASTS_EINVAL, NULL);
    } else if (domain_field(data, size, &dom, &dlen) &&
               mtasts_hostname_check(dom, dlen, 0, NULL) == MTASTS_OK) {
        size_t i;
        int lower = 1;
        /* the header is checked before the domain line; so is the check
         * line of versions 2 and 3, which must come where this input has
         * its domain line: a failure there is the decoder's for any
         * domain */
        int header =
            d.reason == MTASTS_R_VERSION ||
            (rc == MTASTS_ETOOBIG && d.offset == 0) ||
            (size >= 15 && (memcmp(data, "MTASTS-ENTRY/2\n", 15) == 0 ||
                            memcmp(data, "MTASTS-ENTRY/3\n", 15) == 0));
        for (i = 0; i < dlen; i++)
            if (dom[i] >= 'A' && dom[i] <= 'Z')
                lower = 0;
        /* the domain as written: the lookup normalises it, so only a
         * lower-case name reaches the decoder's own verdict */
        check_lookup(ctx, dom, dlen, data, size, NOW,
                     lower || header ? rc : MTASTS_EINVAL, NULL);
    } else {
        mtasts_lookup *lk = NULL;
        FZ_CHECK(mtasts_lookup_new(ctx, "fixed.example", 13, data, size, NOW, 0,
                                   &lk) == MTASTS_OK);
        FZ_CHECK(mtasts_lookup_entry_error(lk) == rc ||
                 mtasts_lookup_entry_error(lk) == MTASTS_EINVAL);
        mtasts_lookup_free(lk);
    }
    mtasts_entry_free(e);
    FZ_CHECK(fa.nblk == 1);
    fz_ctx_free(&fa, ctx);
    fz_alloc_fini(&fa);

    mode = fz_plan(data, size, &fail_at);
    if (mode != FZ_FAIL_NONE)
        oom_pass(data, size, rc, mode, fail_at);
    return 0;
}
