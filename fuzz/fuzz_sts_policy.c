/*
 * Fuzz the MTA-STS policy file: mtasts_policy_parse (default and strict),
 * the getters, format -> parse -> format stability, build from the parsed
 * model, and mtasts_policy_mx_allowed on the policy's own patterns.
 */
#include "fuzz_common.h"
#include "../tests/common/model_args.h"

static int
fmt_pol(const void *obj, char *dst, size_t dst_len, size_t *ret_needed)
{
    return mtasts_policy_format(obj, dst, dst_len, ret_needed);
}

static int
is_known_key(const char *k, size_t n)
{
    return (n == 2 && memcmp(k, "mx", 2) == 0) ||
           (n == 4 && memcmp(k, "mode", 4) == 0) ||
           (n == 7 && memcmp(k, "version", 7) == 0) ||
           (n == 7 && memcmp(k, "max_age", 7) == 0);
}

/* mx pattern check, plus: the policy allows its own patterns. */
static void
check_mx(const mtasts_policy *pol, const char *mx, size_t len)
{
    char host[MTASTS_DOMAIN_MAX_LEN + 2];

    FZ_CHECK(mtasts_hostname_check(mx, len, MTASTS_HOST_F_WILDCARD, NULL) == 0);
    if (len > 2 && mx[0] == '*' && mx[1] == '.') {
        /* "*.suffix" allows "a.suffix" */
        FZ_CHECK(len - 1 <= MTASTS_DOMAIN_MAX_LEN);
        host[0] = 'a';
        memcpy(host + 1, mx + 1, len - 1);
        FZ_CHECK(mtasts_policy_mx_allowed(pol, host, len) == 1);
        /* ... but never the bare suffix */
        if (mtasts_policy_mx_allowed(pol, mx + 2, len - 2)) {
            /* only if another pattern covers it */
            size_t i, n = mtasts_policy_mx_count(pol), l;
            int found = 0;
            for (i = 0; i < n; i++) {
                const char *o = mtasts_policy_mx(pol, i, &l);
                if (o != mx && mtasts_mx_match(o, l, mx + 2, len - 2))
                    found = 1;
            }
            FZ_CHECK(found);
        }
    } else {
        FZ_CHECK(mtasts_policy_mx_allowed(pol, mx, len) == 1);
        memcpy(host, mx, len);
        host[len] = '.';
        FZ_CHECK(mtasts_policy_mx_allowed(pol, host, len + 1) == 1);
    }
}

/* Getters agree with each other, the grammar and the raw input. */
static void
check_policy(const mtasts_policy *pol, const char *buf, size_t len,
             size_t mx_limit)
{
    const char *s, *s2, *name, *value, *raw;
    size_t n, i, j, l, l2, name_len, value_len, raw_len, pos = 0;
    int mode;

    FZ_CHECK(pol != NULL);
    s = mtasts_policy_version(pol, &l);
    fz_check_cstr(s, l);
    FZ_CHECK(l == 5 && memcmp(s, "STSv1", 5) == 0);
    mode = mtasts_policy_mode(pol);
    FZ_CHECK(mtasts_mode_name(mode) != NULL);
    FZ_CHECK(mtasts_policy_max_age(pol) <= MTASTS_MAX_AGE_MAX);
    n = mtasts_policy_mx_count(pol);
    FZ_CHECK(n <= mx_limit);
    FZ_CHECK(n > 0 || mode == MTASTS_MODE_NONE);
    for (i = 0; i < n; i++) {
        s = mtasts_policy_mx(pol, i, &l);
        fz_check_cstr(s, l);
        check_mx(pol, s, l);
        for (j = 0; j < i; j++) {
            s2 = mtasts_policy_mx(pol, j, &l2);
            FZ_CHECK(!fz_caseeq(s, l, s2, l2)); /* duplicates removed */
        }
    }
    FZ_CHECK(mtasts_policy_mx(pol, n, &l) == NULL);
    n = mtasts_policy_ext_count(pol);
    for (i = 0; i < n; i++) {
        FZ_CHECK(mtasts_policy_ext(pol, i, &name, &name_len, &value,
                                   &value_len) == MTASTS_OK);
        fz_check_cstr(name, name_len);
        fz_check_cstr(value, value_len);
        FZ_CHECK(name_len >= 1 && name_len <= MTASTS_EXT_NAME_MAX);
        FZ_CHECK(!is_known_key(name, name_len));
        FZ_CHECK(value_len >= 1);
        FZ_CHECK(value[0] != ' ' && value[0] != '\t');
        FZ_CHECK(value[value_len - 1] != ' ' && value[value_len - 1] != '\t');
        FZ_CHECK(memchr(value, '\n', value_len) == NULL);
        FZ_CHECK(memchr(value, '\r', value_len) == NULL);
        for (j = 0; j < i; j++) {
            FZ_CHECK(mtasts_policy_ext(pol, j, &s2, &l2, NULL, NULL) == 0);
            FZ_CHECK(!(l2 == name_len && memcmp(s2, name, l2) == 0));
        }
    }
    FZ_CHECK(mtasts_policy_ext(pol, n, NULL, NULL, NULL, NULL) ==
             MTASTS_EINVAL);
    raw = mtasts_policy_raw(pol, &raw_len);
    FZ_CHECK(raw != NULL && raw_len == len && raw[len] == '\0');
    FZ_CHECK(len == 0 || memcmp(raw, buf, len) == 0);
    n = mtasts_policy_line_count(pol);
    FZ_CHECK(n >= 3); /* version, mode, max_age at least */
    for (i = 0; i < n; i++) {
        s = mtasts_policy_line(pol, i, &l);
        FZ_CHECK(s != NULL && l > 0);
        FZ_CHECK(s[l] == '\0'); /* strings out are NUL-terminated */
        /* the line is the raw text at increasing offsets, up to a line end */
        while (pos + l <= raw_len &&
               (memcmp(raw + pos, s, l) != 0 ||
                (pos + l < raw_len && raw[pos + l] != '\r' &&
                 raw[pos + l] != '\n')))
            pos++;
        FZ_CHECK(pos + l <= raw_len);
        pos += l;
        FZ_CHECK(memchr(s, '\n', l) == NULL);
        FZ_CHECK(s[0] != ' ' && s[0] != '\t');
        if (i > 0) {
            s2 = mtasts_policy_line(pol, i - 1, &l2);
            FZ_CHECK(s2 + l2 < s);
        }
    }
    FZ_CHECK(mtasts_policy_line(pol, n, &l) == NULL);
    FZ_CHECK((mtasts_policy_warnings(pol) >> MTASTS_W_COUNT) == 0);
}

/* The parsed model: mode, max_age, mx list and extension list agree. */
static int
same_model(const mtasts_policy *a, const mtasts_policy *b)
{
    const char *sa, *sb, *va, *vb;
    size_t la, lb, vla, vlb, i;

    if (mtasts_policy_mode(a) != mtasts_policy_mode(b) ||
        mtasts_policy_max_age(a) != mtasts_policy_max_age(b) ||
        mtasts_policy_mx_count(a) != mtasts_policy_mx_count(b) ||
        mtasts_policy_ext_count(a) != mtasts_policy_ext_count(b))
        return 0;
    for (i = 0; i < mtasts_policy_mx_count(a); i++) {
        sa = mtasts_policy_mx(a, i, &la);
        sb = mtasts_policy_mx(b, i, &lb);
        if (la != lb || memcmp(sa, sb, la) != 0)
            return 0;
    }
    for (i = 0; i < mtasts_policy_ext_count(a); i++) {
        FZ_CHECK(mtasts_policy_ext(a, i, &sa, &la, &va, &vla) == 0);
        FZ_CHECK(mtasts_policy_ext(b, i, &sb, &lb, &vb, &vlb) == 0);
        if (la != lb || memcmp(sa, sb, la) != 0 || vla != vlb ||
            memcmp(va, vb, vla) != 0)
            return 0;
    }
    return 1;
}

static int
parse_checked(mtasts_ctx *ctx, const char *buf, size_t len, unsigned flags,
              mtasts_policy **ret_pol, struct mtasts_diag *d)
{
    struct mtasts_diag tmp = MTASTS_DIAG_INIT;
    size_t i, line = 1;
    int rc;

    *d = tmp;
    *ret_pol = (mtasts_policy *)(uintptr_t)1; /* must be overwritten */
    rc = mtasts_policy_parse(ctx, buf, len, flags, ret_pol, d);
    FZ_CHECK(d->code == rc || rc == MTASTS_ENOMEM);
    if (rc == MTASTS_OK) {
        check_policy(*ret_pol, buf, len,
                     mtasts_ctx_get_limit(ctx, MTASTS_LIMIT_POLICY_MX));
        FZ_CHECK(d->warnings == mtasts_policy_warnings(*ret_pol));
        FZ_CHECK(d->warnings == 0 || d->warning_offset <= len);
        if (flags & MTASTS_PARSE_F_STRICT)
            FZ_CHECK(d->warnings == 0);
        return rc;
    }
    FZ_CHECK(*ret_pol == NULL);
    FZ_CHECK(rc == MTASTS_ESYNTAX || rc == MTASTS_ENONASCII ||
             rc == MTASTS_ETOOBIG || rc == MTASTS_ENOMEM ||
             (rc == MTASTS_ESTRICT && (flags & MTASTS_PARSE_F_STRICT)));
    if (rc != MTASTS_ENOMEM) {
        FZ_CHECK(d->reason > MTASTS_R_NONE && d->reason <= MTASTS_R_BAD_MODEL);
        FZ_CHECK(strcmp(mtasts_reason_name(d->reason), "unknown") != 0);
        if (d->reason != MTASTS_R_TOO_BIG) {
            FZ_CHECK(d->offset <= len);
            for (i = 0; i < d->offset; i++)
                if (buf[i] == '\n')
                    line++;
            FZ_CHECK(d->line == line);
        }
        if (d->reason == MTASTS_R_BARE_CR)
            FZ_CHECK(d->offset < len && buf[d->offset] == '\r');
        if (d->reason == MTASTS_R_NON_ASCII)
            FZ_CHECK(d->offset < len && (unsigned char)buf[d->offset] >= 0x80);
    }
    return rc;
}

/* Build a policy from pol's model (libc arrays for the pointers). */
static int
build_from(mtasts_ctx *ctx, const mtasts_policy *pol, mtasts_policy **ret)
{
    size_t nmx = mtasts_policy_mx_count(pol);
    size_t next = mtasts_policy_ext_count(pol), i;
    const char **mx = calloc(nmx + 1, sizeof(*mx));
    size_t *mx_lens = calloc(nmx + 1, sizeof(*mx_lens));
    const char **en = calloc(next + 1, sizeof(*en));
    const char **ev = calloc(next + 1, sizeof(*ev));
    size_t *enl = calloc(next + 1, sizeof(*enl));
    size_t *evl = calloc(next + 1, sizeof(*evl));
    int rc;

    if (mx == NULL || mx_lens == NULL || en == NULL || ev == NULL ||
        enl == NULL || evl == NULL)
        abort();
    for (i = 0; i < nmx; i++)
        mx[i] = mtasts_policy_mx(pol, i, &mx_lens[i]);
    for (i = 0; i < next; i++)
        FZ_CHECK(mtasts_policy_ext(pol, i, &en[i], &enl[i], &ev[i], &evl[i]) ==
                 0);
    rc = pbuild(ctx, mtasts_policy_mode(pol), mtasts_policy_max_age(pol), mx,
                mx_lens, nmx, en, enl, ev, evl, next, ret, NULL);
    free(mx);
    free(mx_lens);
    free(en);
    free(ev);
    free(enl);
    free(evl);
    return rc;
}

/* format -> parse (no warnings, same model) -> format is byte-identical;
 * strict parse of the canonical form and build from the model agree.
 * Returns the canonical text. */
static char *
round_trip(mtasts_ctx *ctx, const mtasts_policy *pol, size_t *ret_len)
{
    struct mtasts_diag d;
    mtasts_policy *again = NULL, *strict = NULL, *built = NULL;
    size_t len, len2;
    const char *raw;
    char *text, *text2;
    int rc;

    text = fz_format(fmt_pol, pol, &len);
    FZ_CHECK(len > 2 && text[len - 2] == '\r' && text[len - 1] == '\n');
    rc = parse_checked(ctx, text, len, 0, &again, &d);
    /* As for records: a body near MTASTS_LIMIT_POLICY_SIZE may format to
     * more than the limit (": " and CRLF are added), and then cannot be
     * parsed or built again. */
    if (len > mtasts_ctx_get_limit(ctx, MTASTS_LIMIT_POLICY_SIZE)) {
        FZ_CHECK(rc == MTASTS_ETOOBIG);
        FZ_CHECK(build_from(ctx, pol, &built) == MTASTS_ETOOBIG);
        *ret_len = len;
        return text;
    }
    FZ_CHECK(rc == MTASTS_OK);
    FZ_CHECK(d.warnings == 0);
    FZ_CHECK(same_model(pol, again));
    text2 = fz_format(fmt_pol, again, &len2);
    FZ_CHECK(len2 == len && memcmp(text, text2, len) == 0);
    free(text2);

    rc = parse_checked(ctx, text, len, MTASTS_PARSE_F_STRICT, &strict, &d);
    FZ_CHECK(rc == MTASTS_OK);
    FZ_CHECK(same_model(again, strict));

    rc = build_from(ctx, pol, &built);
    FZ_CHECK(rc == MTASTS_OK);
    FZ_CHECK(same_model(pol, built));
    FZ_CHECK(mtasts_policy_warnings(built) == 0);
    text2 = fz_format(fmt_pol, built, &len2);
    FZ_CHECK(len2 == len && memcmp(text, text2, len) == 0);
    free(text2);
    /* a built policy's raw text is its canonical form */
    raw = mtasts_policy_raw(built, &len2);
    FZ_CHECK(len2 == len && memcmp(text, raw, len) == 0);

    mtasts_policy_free(again);
    mtasts_policy_free(strict);
    mtasts_policy_free(built);
    *ret_len = len;
    return text;
}

static void
oom_pass(const char *buf, size_t len, int normal_rc, const char *text,
         size_t text_len, int mode, size_t fail_at)
{
    struct fz_alloc fa;
    struct mtasts_diag d = MTASTS_DIAG_INIT;
    mtasts_policy *pol = NULL, *ref = NULL;
    mtasts_ctx *ctx;
    size_t tlen;
    char *t;
    int rc;

    fz_alloc_init(&fa, mode, fail_at);
    ctx = fz_ctx_new(&fa);
    if (ctx == NULL) {
        fz_alloc_fini(&fa);
        return;
    }
    rc = mtasts_policy_parse(ctx, buf, len, 0, &pol, &d);
    FZ_CHECK_OOM_RC(rc, normal_rc, &fa);
    if (rc == MTASTS_OK) {
        t = fz_format(fmt_pol, pol, &tlen);
        FZ_CHECK(tlen == text_len && memcmp(t, text, tlen) == 0);
        free(t);
    } else {
        FZ_CHECK(pol == NULL);
    }
    FZ_CHECK(fa.nblk == (pol != NULL ? 2u : 1u));

    /* build under the same failing allocator, from a model we parsed */
    if (normal_rc == MTASTS_OK) {
        mtasts_ctx *rctx = NULL;
        mtasts_policy *b = NULL;
        FZ_CHECK(mtasts_ctx_new(NULL, &rctx) == MTASTS_OK);
        FZ_CHECK(mtasts_policy_parse(rctx, buf, len, 0, &ref, NULL) == 0);
        rc = build_from(ctx, ref, &b);
        FZ_CHECK_OOM_RC(
            rc,
            text_len > mtasts_ctx_get_limit(ctx, MTASTS_LIMIT_POLICY_SIZE)
                ? MTASTS_ETOOBIG
                : MTASTS_OK,
            &fa);
        if (rc == MTASTS_OK) {
            t = fz_format(fmt_pol, b, &tlen);
            FZ_CHECK(tlen == text_len && memcmp(t, text, tlen) == 0);
            free(t);
        } else {
            FZ_CHECK(b == NULL);
        }
        mtasts_policy_free(b);
        mtasts_policy_free(ref);
        mtasts_ctx_free(rctx);
    }
    mtasts_policy_free(pol);
    FZ_CHECK(fa.nblk == 1);
    fz_ctx_free(&fa, ctx);
    fz_alloc_fini(&fa);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *buf = (const char *)data;
    struct fz_alloc fa;
    struct mtasts_diag dd, ds;
    mtasts_policy *def = NULL, *str = NULL;
    mtasts_ctx *ctx;
    size_t fail_at = 0, text_len = 0;
    char *text = NULL;
    int rc_def, rc_str, mode;

    fz_alloc_init(&fa, FZ_FAIL_NONE, 0);
    ctx = fz_ctx_new(&fa);
    FZ_CHECK(ctx != NULL);

    rc_def = parse_checked(ctx, buf, size, 0, &def, &dd);
    rc_str = parse_checked(ctx, buf, size, MTASTS_PARSE_F_STRICT, &str, &ds);
    FZ_CHECK(rc_def != MTASTS_ENOMEM && rc_str != MTASTS_ENOMEM);
    if (rc_str == MTASTS_OK) {
        FZ_CHECK(rc_def == MTASTS_OK);
        FZ_CHECK(mtasts_policy_warnings(def) == 0);
        FZ_CHECK(same_model(def, str));
    }
    if (rc_def == MTASTS_OK)
        FZ_CHECK(rc_str == (mtasts_policy_warnings(def) == 0 ? MTASTS_OK
                                                             : MTASTS_ESTRICT));
    else
        FZ_CHECK(rc_str == rc_def || rc_str == MTASTS_ESTRICT);
    if (rc_def == MTASTS_OK)
        text = round_trip(ctx, def, &text_len);
    mtasts_policy_free(def);
    mtasts_policy_free(str);
    FZ_CHECK(fa.nblk == 1);
    fz_ctx_free(&fa, ctx);
    fz_alloc_fini(&fa);

    mode = fz_plan(data, size, &fail_at);
    if (mode != FZ_FAIL_NONE)
        oom_pass(buf, size, rc_def, text, text_len, mode, fail_at);
    free(text);
    return 0;
}
