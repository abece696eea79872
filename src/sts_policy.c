/* The MTA-STS policy file (RFC 8461 3.2): parse, build, format, match. */
#include "internal.h"

struct str_span {
    const char *p;
    size_t n;
};

struct ext_span {
    struct str_span name;
    struct str_span value;
};

/* A line as its offset in the body, so that the scan's array is the
 * object's as it is. */
struct line_span {
    size_t off, n;
};

struct mtasts_policy {
    mtasts_ctx *ctx;
    size_t alloc_size;
    uint64_t warnings;
    int mode;
    uint32_t max_age;
    struct str_span version;
    struct str_span raw;
    size_t mx_count, ext_count, line_count;
    struct str_span *mx;
    struct ext_span *ext;
    struct line_span *line; /* offsets into raw and lined */
    const char *lined;      /* raw with a NUL over each line's end; the
                               mx and ext strings point here or just
                               after it (policy_make) */
};

#define LOCAL_MX   16
#define LOCAL_EXT  8
#define LOCAL_LINE 24

struct pol_scan {
    /* results */
    int mode;
    uint32_t max_age;
    struct str_span version;
    int have_version, have_mode, have_max_age;
    size_t mx_lines;
    uint64_t warnings;
    size_t woff;
    int reason;
    size_t off;
    /* what was found: struct str_span, struct ext_span, struct line_span */
    struct mt_vec mx, ext, line;
    size_t mx_limit;
};

static void
add_warning(struct pol_scan *s, int w, size_t off)
{
    if (s->warnings == 0)
        s->woff = off;
    s->warnings |= MTASTS_WARN_BIT(w);
}

/* Validate an extension value b[p..e) (sts-policy-ext-value: VCHAR or
 * UTF-8, inner SP, no CTL; the caller stripped outer WSP). */
static int
ext_value_check(const char *b, size_t p, size_t e, int *reason, size_t *off)
{
    size_t i = p, n;
    unsigned char c;

    if (p == e) {
        *reason = MTASTS_R_EXT_VALUE;
        *off = p;
        return MTASTS_ESYNTAX;
    }
    while (i < e) {
        c = (unsigned char)b[i];
        if (c < 0x80) {
            if (c == ' ' || MT_IS(c, MT_C_VCHAR)) {
                i++;
                continue;
            }
            *reason = c == '\t' ? MTASTS_R_EXT_VALUE : MTASTS_R_CTL;
            *off = i;
            return MTASTS_ESYNTAX;
        }
        /* RFC 3629 section 4 sequences. */
        n = mt_utf8_seq((const unsigned char *)b + i, e - i);
        if (n == 0)
            goto bad;
        i += n;
    }
    return MTASTS_OK;
bad:
    *reason = MTASTS_R_UTF8;
    *off = i;
    return MTASTS_ESYNTAX;
}

static int
span_is(const char *b, size_t p, size_t e, const char *lit, size_t n)
{
    return e - p == n && memcmp(b + p, lit, n) == 0;
}

static int
parse_mode(const char *b, size_t p, size_t e)
{
    if (span_is(b, p, e, "enforce", 7))
        return MTASTS_MODE_ENFORCE;
    if (span_is(b, p, e, "testing", 7))
        return MTASTS_MODE_TESTING;
    if (span_is(b, p, e, "none", 4))
        return MTASTS_MODE_NONE;
    return 0;
}

static int
fail(struct pol_scan *s, int code, int reason, size_t off)
{
    s->reason = reason;
    s->off = off;
    return code;
}

/* Handle one field line: key b[ks..ke), value b[vs..ve) (outer WSP
 * stripped). */
static int
field(const char *b, size_t ks, size_t ke, size_t vs, size_t ve,
      struct pol_scan *s)
{
    size_t kl = ke - ks, i, off;
    struct str_span *mx;
    struct ext_span *x;
    int rc, reason, dup;

    if (kl == 2 && memcmp(b + ks, "mx", 2) == 0) {
        /* E-21 limits mx lines, duplicates included, so the limit does not
         * depend on how duplicates are detected. */
        if (++s->mx_lines > s->mx_limit)
            return fail(s, MTASTS_ETOOBIG, MTASTS_R_TOO_MANY_MX, ks);
        rc = mt_hostname_check(b + vs, ve - vs, MTASTS_HOST_F_WILDCARD, &reason,
                               &off);
        if (rc != MTASTS_OK) {
            if (reason == MTASTS_R_HOSTNAME || reason == MTASTS_R_EMPTY)
                reason = MTASTS_R_MX;
            return fail(s, rc == MTASTS_ENONASCII ? rc : MTASTS_ESYNTAX, reason,
                        vs + off);
        }
        mx = s->mx.v;
        for (i = 0; i < s->mx.n; i++)
            if (mt_ascii_caseeq(mx[i].p, mx[i].n, b + vs, ve - vs)) {
                add_warning(s, MTASTS_W_DUPLICATE_MX, ks);
                return MTASTS_OK;
            }
        mx = mt_vec_push(&s->mx);
        if (mx == NULL)
            return fail(s, MTASTS_ENOMEM, MTASTS_R_NONE, 0);
        mx->p = b + vs;
        mx->n = ve - vs;
        return MTASTS_OK;
    }
    dup = 0;
    if (kl == 7 && memcmp(b + ks, "version", 7) == 0) {
        if (s->have_version) {
            dup = 1;
        } else {
            if (!span_is(b, vs, ve, "STSv1", 5))
                return fail(s, MTASTS_ESYNTAX, MTASTS_R_POLICY_VERSION, vs);
            s->have_version = 1;
            s->version.p = b + vs;
            s->version.n = 5;
        }
    } else if (kl == 4 && memcmp(b + ks, "mode", 4) == 0) {
        if (s->have_mode) {
            dup = 1;
        } else {
            s->mode = parse_mode(b, vs, ve);
            if (s->mode == 0)
                return fail(s, MTASTS_ESYNTAX, MTASTS_R_MODE, vs);
            s->have_mode = 1;
        }
    } else if (kl == 7 && memcmp(b + ks, "max_age", 7) == 0) {
        if (s->have_max_age) {
            dup = 1;
        } else {
            uint64_t v = 0;
            if (ve == vs || ve - vs > 10)
                return fail(s, MTASTS_ESYNTAX, MTASTS_R_MAX_AGE,
                            ve == vs ? vs : vs + 10);
            for (i = vs; i < ve; i++) {
                if (!MT_IS(b[i], MT_C_DIGIT))
                    return fail(s, MTASTS_ESYNTAX, MTASTS_R_MAX_AGE, i);
                v = v * 10 + (uint64_t)(b[i] - '0');
            }
            if (v > MTASTS_MAX_AGE_MAX) {
                add_warning(s, MTASTS_W_MAX_AGE_CLAMPED, vs);
                v = MTASTS_MAX_AGE_MAX;
            }
            s->max_age = (uint32_t)v;
            s->have_max_age = 1;
        }
    } else {
        x = s->ext.v;
        for (i = 0; i < s->ext.n; i++)
            if (x[i].name.n == kl && memcmp(x[i].name.p, b + ks, kl) == 0)
                break;
        if (i < s->ext.n) {
            dup = 1;
        } else {
            rc = ext_value_check(b, vs, ve, &reason, &off);
            if (rc != MTASTS_OK)
                return fail(s, rc, reason, off);
            x = mt_vec_push(&s->ext);
            if (x == NULL)
                return fail(s, MTASTS_ENOMEM, MTASTS_R_NONE, 0);
            x->name.p = b + ks;
            x->name.n = kl;
            x->value.p = b + vs;
            x->value.n = ve - vs;
        }
    }
    if (dup) {
        /* E-7: a later duplicate only needs to be a valid extension. */
        rc = ext_value_check(b, vs, ve, &reason, &off);
        if (rc != MTASTS_OK)
            return fail(s, rc, reason, off);
        add_warning(s, MTASTS_W_DUPLICATE_FIELD, ks);
    }
    return MTASTS_OK;
}

/* Scan a whole body. Returns 0 or a status with s->reason / s->off. */
static int
scan_policy(const char *b, size_t n, struct pol_scan *s)
{
    size_t p = 0, eol, next, ks, ke, vs, ve;
    struct line_span *line;
    const char *lf;
    int rc;

    if (n == 0)
        return fail(s, MTASTS_ESYNTAX, MTASTS_R_EMPTY, 0);
    if (n >= 3 && (unsigned char)b[0] == 0xEF && (unsigned char)b[1] == 0xBB &&
        (unsigned char)b[2] == 0xBF) {
        add_warning(s, MTASTS_W_BOM, 0);
        p = 3;
    }
    while (p < n) {
        lf = memchr(b + p, '\n', n - p);
        if (lf != NULL) {
            eol = (size_t)(lf - b);
            next = eol + 1;
        } else {
            eol = n;
            next = n;
        }
        if (lf != NULL && eol > p && b[eol - 1] == '\r')
            eol--;
        /* A key starts with ALPHA / DIGIT; anything else is a blank or
         * WSP-only line (E-10), leading WSP or a bad key. */
        if (!MT_IS(b[p], MT_ALNUM)) {
            int r;

            ve = p;
            while (ve < eol && MT_IS(b[ve], MT_C_WSP))
                ve++;
            if (ve == eol) {
                add_warning(s, MTASTS_W_BLANK_LINE, p);
                p = next;
                continue;
            }
            if (ve != p)
                return fail(s, MTASTS_ESYNTAX, MTASTS_R_LEADING_WSP, p);
            r = (unsigned char)b[p] >= 0x80 ? MTASTS_R_NON_ASCII
                : b[p] == '\r'              ? MTASTS_R_BARE_CR
                : MT_IS(b[p], MT_C_VCHAR)   ? MTASTS_R_EXT_NAME
                                            : MTASTS_R_CTL;
            return fail(s, MTASTS_ESYNTAX, r, p);
        }
        line = mt_vec_push(&s->line);
        if (line == NULL)
            return fail(s, MTASTS_ENOMEM, MTASTS_R_NONE, 0);
        line->off = p;
        line->n = eol - p;
        /* key */
        ks = p;
        p++;
        while (p < eol && MT_IS(b[p], MT_C_EXTN))
            p++;
        ke = p;
        if (ke - ks > MTASTS_EXT_NAME_MAX)
            return fail(s, MTASTS_ESYNTAX, MTASTS_R_EXT_NAME,
                        ks + MTASTS_EXT_NAME_MAX);
        if (p == eol || b[p] != ':') {
            int r = p < eol && b[p] == '\r' ? MTASTS_R_BARE_CR : MTASTS_R_COLON;
            return fail(s, MTASTS_ESYNTAX, r, p);
        }
        p++;
        while (p < eol && MT_IS(b[p], MT_C_WSP))
            p++;
        vs = p;
        ve = eol;
        while (ve > vs && MT_IS(b[ve - 1], MT_C_WSP))
            ve--;
        rc = field(b, ks, ke, vs, ve, s);
        if (rc != MTASTS_OK) {
            /* A CR inside the line is a bare CR, never a terminator (E-1),
             * and it is the error reported for the line whatever else is
             * wrong in it. A good value never holds a CR (no field's
             * grammar allows one), so this is only looked for here. */
            lf = rc == MTASTS_ENOMEM ? NULL : memchr(b + vs, '\r', ve - vs);
            if (lf != NULL)
                return fail(s, MTASTS_ESYNTAX, MTASTS_R_BARE_CR,
                            (size_t)(lf - b));
            return rc;
        }
        p = next;
    }
    if (!s->have_version)
        return fail(s, MTASTS_ESYNTAX, MTASTS_R_MISSING_VERSION, n);
    if (!s->have_mode)
        return fail(s, MTASTS_ESYNTAX, MTASTS_R_MISSING_MODE, n);
    if (!s->have_max_age)
        return fail(s, MTASTS_ESYNTAX, MTASTS_R_MISSING_MAX_AGE, n);
    if (s->mode != MTASTS_MODE_NONE && s->mx.n == 0)
        return fail(s, MTASTS_ESYNTAX, MTASTS_R_MISSING_MX, n);
    return MTASTS_OK;
}

/*
 * Point sp into the text copy, NUL-terminated. A value that runs to the
 * end of its line (the byte after it in the body is its CR or LF, or the
 * body ends there) already ends with the NUL written over that line end;
 * anything else (an extension name, which ':' follows, or a value before
 * trailing WSP) is copied once, with its NUL, to *spare.
 */
static void
place(struct str_span *sp, const char *b, size_t n, char *text, char **spare)
{
    size_t off = (size_t)(sp->p - b), end = off + sp->n;

    if (end == n || b[end] == '\r' || b[end] == '\n') {
        sp->p = text + off;
        return;
    }
    memcpy(*spare, sp->p, sp->n);
    (*spare)[sp->n] = '\0';
    sp->p = *spare;
    *spare += sp->n + 1;
}

/* The bytes place() copies to the spare area for a string b[off..off+n). */
static size_t
spare_size(const char *b, size_t n, const struct str_span *sp)
{
    size_t end = (size_t)(sp->p - b) + sp->n;

    return end == n || b[end] == '\r' || b[end] == '\n' ? 0 : sp->n + 1;
}

/*
 * Make the policy object from a complete scan. One allocation holds the
 * object, its arrays, the exact body (raw), a second copy of it (text) in
 * which every non-blank line is ended by a NUL written over its CR, LF or
 * the final NUL, and a spare area for the few strings that do not end a
 * line, so getters return NUL-terminated strings without a copy per
 * string: lines and most values point into text, the rest into spare.
 */
static mtasts_policy *
policy_make(mtasts_ctx *ctx, const char *b, size_t n, const struct pol_scan *s)
{
    const struct str_span *mx = s->mx.v;
    const struct ext_span *ext = s->ext.v;
    const struct line_span *line = s->line.v;
    mtasts_policy *pol;
    size_t size, spare_n = 0, i;
    char *raw, *text, *spare;

    for (i = 0; i < s->mx.n; i++)
        spare_n += spare_size(b, n, &mx[i]);
    for (i = 0; i < s->ext.n; i++)
        spare_n +=
            spare_size(b, n, &ext[i].name) + spare_size(b, n, &ext[i].value);
    size = sizeof(*pol) + s->ext.n * sizeof(struct ext_span) +
           s->mx.n * sizeof(struct str_span) +
           s->line.n * sizeof(struct line_span) + 2 * (n + 1) + spare_n;
    pol = mt_alloc(ctx, size);
    if (pol == NULL)
        return NULL;
    pol->ctx = ctx;
    pol->alloc_size = size;
    pol->warnings = s->warnings;
    pol->mode = s->mode;
    pol->max_age = s->max_age;
    pol->mx_count = s->mx.n;
    pol->ext_count = s->ext.n;
    pol->line_count = s->line.n;
    pol->ext = (struct ext_span *)(void *)(pol + 1);
    pol->mx = (struct str_span *)(void *)(pol->ext + pol->ext_count);
    pol->line = (struct line_span *)(void *)(pol->mx + pol->mx_count);
    raw = (char *)(pol->line + pol->line_count);
    text = raw + n + 1;
    spare = text + n + 1;
    memcpy(raw, b, n);
    raw[n] = '\0';
    memcpy(text, raw, n + 1);
    pol->raw.p = raw;
    pol->raw.n = n;
    pol->version.p = "STSv1";
    pol->version.n = 5;
    /* each line is followed by its CR, LF or the final NUL: end it there
     * so mtasts_policy_line() strings are NUL-terminated too */
    for (i = 0; i < pol->line_count; i++) {
        pol->line[i] = line[i];
        text[line[i].off + line[i].n] = '\0';
    }
    pol->lined = text;
    for (i = 0; i < pol->mx_count; i++) {
        pol->mx[i] = mx[i];
        place(&pol->mx[i], b, n, text, &spare);
    }
    for (i = 0; i < pol->ext_count; i++) {
        pol->ext[i] = ext[i];
        place(&pol->ext[i].name, b, n, text, &spare);
        place(&pol->ext[i].value, b, n, text, &spare);
    }
    return pol;
}

static int
policy_parse(mtasts_ctx *ctx, const char *b, size_t n, unsigned flags,
             mtasts_policy **ret_policy, struct mtasts_diag *reterr)
{
    struct str_span lmx[LOCAL_MX];
    struct ext_span lext[LOCAL_EXT];
    struct line_span lline[LOCAL_LINE];
    struct pol_scan s;
    mtasts_policy *pol;
    int rc;

    if (n > ctx->limits[MTASTS_LIMIT_POLICY_SIZE]) {
        mt_diag_fail(reterr, MTASTS_ETOOBIG, MTASTS_R_TOO_BIG,
                     ctx->limits[MTASTS_LIMIT_POLICY_SIZE], NULL, 0);
        return MTASTS_ETOOBIG;
    }
    /* each field set (no memset of the whole scan: it cost about a tenth
     * of a parse) */
    s.mode = 0;
    s.max_age = 0;
    s.version.p = NULL;
    s.version.n = 0;
    s.have_version = s.have_mode = s.have_max_age = 0;
    s.mx_lines = 0;
    s.warnings = 0;
    s.woff = 0;
    s.reason = MTASTS_R_NONE;
    s.off = 0;
    s.mx_limit = ctx->limits[MTASTS_LIMIT_POLICY_MX];
    mt_vec_init(&s.mx, ctx, lmx, LOCAL_MX, sizeof(lmx[0]));
    mt_vec_init(&s.ext, ctx, lext, LOCAL_EXT, sizeof(lext[0]));
    mt_vec_init(&s.line, ctx, lline, LOCAL_LINE, sizeof(lline[0]));
    rc = scan_policy(b, n, &s);
    if (rc == MTASTS_ENOMEM) {
        mt_nomem(reterr);
    } else if (rc != MTASTS_OK) {
        mt_diag_fail(reterr, rc, s.reason, s.off, b, n);
        if (reterr != NULL)
            reterr->warnings = s.warnings;
    } else if ((flags & MTASTS_PARSE_F_STRICT) && s.warnings != 0) {
        rc = MTASTS_ESTRICT;
        mt_diag_fail(reterr, rc, MTASTS_R_STRICT, s.woff, b, n);
        if (reterr != NULL)
            reterr->warnings = s.warnings;
    } else {
        pol = policy_make(ctx, b, n, &s);
        if (pol == NULL) {
            rc = mt_nomem(reterr);
        } else {
            mt_diag_ok(reterr, s.warnings, s.woff);
            *ret_policy = pol;
        }
    }
    mt_vec_fini(&s.mx);
    mt_vec_fini(&s.ext);
    mt_vec_fini(&s.line);
    return rc;
}

int
mtasts_policy_parse(mtasts_ctx *ctx, const char *buf, size_t len,
                    unsigned flags, mtasts_policy **ret_policy,
                    struct mtasts_diag *reterr)
{
    int rc;

    if (ret_policy != NULL)
        *ret_policy = NULL;
    if (ctx == NULL || ret_policy == NULL || (buf == NULL && len > 0) ||
        (flags & ~(unsigned)MTASTS_PARSE_F_STRICT) != 0)
        return MTASTS_EINVAL;
    rc = mt_diag_check(reterr);
    if (rc != MTASTS_OK)
        return rc;
    return policy_parse(ctx, buf, len, flags, ret_policy, reterr);
}

/* Canonical serialization from either a policy or a model. */
static void
format_policy(struct mt_out *o, int mode, uint32_t max_age,
              const struct str_span *mxs, const char *const *mx,
              const size_t *mx_lens, size_t mx_count,
              const struct ext_span *exts, const char *const *en,
              const size_t *enl, const char *const *ev, const size_t *evl,
              size_t ext_count)
{
    size_t i;

    mt_out_str(o, "version: STSv1\r\nmode: ");
    mt_out_str(o, mtasts_mode_name(mode));
    mt_out_put(o, "\r\n", 2);
    for (i = 0; i < mx_count; i++) {
        mt_out_put(o, "mx: ", 4);
        if (mxs != NULL)
            mt_out_put(o, mxs[i].p, mxs[i].n);
        else
            mt_out_put(o, mx[i], mx_lens[i]);
        mt_out_put(o, "\r\n", 2);
    }
    mt_out_put(o, "max_age: ", 9);
    mt_out_u64(o, max_age);
    mt_out_put(o, "\r\n", 2);
    for (i = 0; i < ext_count; i++) {
        if (exts != NULL) {
            mt_out_put(o, exts[i].name.p, exts[i].name.n);
            mt_out_put(o, ": ", 2);
            mt_out_put(o, exts[i].value.p, exts[i].value.n);
        } else {
            mt_out_put(o, en[i], enl[i]);
            mt_out_put(o, ": ", 2);
            mt_out_put(o, ev[i], evl[i]);
        }
        mt_out_put(o, "\r\n", 2);
    }
}

const char *
mtasts_mode_name(int mode)
{
    switch (mode) {
    case MTASTS_MODE_ENFORCE:
        return "enforce";
    case MTASTS_MODE_TESTING:
        return "testing";
    case MTASTS_MODE_NONE:
        return "none";
    default:
        return NULL;
    }
}

static int
is_known_key(const char *k, size_t n)
{
    return (n == 2 && memcmp(k, "mx", 2) == 0) ||
           (n == 4 && memcmp(k, "mode", 4) == 0) ||
           (n == 7 && memcmp(k, "version", 7) == 0) ||
           (n == 7 && memcmp(k, "max_age", 7) == 0);
}

static int
policy_build(mtasts_ctx *ctx, int mode, uint32_t max_age, const char *const *mx,
             const size_t *mx_lens, size_t mx_count,
             const char *const *ext_names, const size_t *ext_name_lens,
             const char *const *ext_values, const size_t *ext_value_lens,
             size_t ext_count, mtasts_policy **ret_policy,
             struct mtasts_diag *reterr)
{
    struct mt_out o;
    size_t i, j, need, off;
    char *text;
    int rc, reason;

    if (ret_policy != NULL)
        *ret_policy = NULL;
    if (ctx == NULL || ret_policy == NULL ||
        (mx_count > 0 && (mx == NULL || mx_lens == NULL)) ||
        (ext_count > 0 && (ext_names == NULL || ext_name_lens == NULL ||
                           ext_values == NULL || ext_value_lens == NULL)))
        return MTASTS_EINVAL;
    rc = mt_diag_check(reterr);
    if (rc != MTASTS_OK)
        return rc;
    if (mtasts_mode_name(mode) == NULL) {
        mt_diag_fail(reterr, MTASTS_ESYNTAX, MTASTS_R_MODE, 0, NULL, 0);
        return MTASTS_ESYNTAX;
    }
    if (max_age > MTASTS_MAX_AGE_MAX) {
        mt_diag_fail(reterr, MTASTS_ESYNTAX, MTASTS_R_MAX_AGE, 0, NULL, 0);
        return MTASTS_ESYNTAX;
    }
    if (mode != MTASTS_MODE_NONE && mx_count == 0) {
        mt_diag_fail(reterr, MTASTS_ESYNTAX, MTASTS_R_MISSING_MX, 0, NULL, 0);
        return MTASTS_ESYNTAX;
    }
    for (i = 0; i < mx_count; i++) {
        if (mx[i] == NULL)
            return MTASTS_EINVAL;
        rc = mt_hostname_check(mx[i], mx_lens[i], MTASTS_HOST_F_WILDCARD,
                               &reason, &off);
        if (rc != MTASTS_OK) {
            mt_diag_fail(reterr, rc, MTASTS_R_MX, i, NULL, 0);
            return rc;
        }
        /* Duplicates would be dropped with a warning by the parser. */
        for (j = 0; j < i; j++)
            if (mt_ascii_caseeq(mx[j], mx_lens[j], mx[i], mx_lens[i])) {
                mt_diag_fail(reterr, MTASTS_ESYNTAX, MTASTS_R_MX, i, NULL, 0);
                return MTASTS_ESYNTAX;
            }
    }
    for (i = 0; i < ext_count; i++) {
        const char *nm = ext_names[i], *v = ext_values[i];
        size_t nl = ext_name_lens[i], vl = ext_value_lens[i];
        if (nm == NULL || v == NULL)
            return MTASTS_EINVAL;
        if (!mt_sts_ext_name_ok(nm, nl) || is_known_key(nm, nl)) {
            mt_diag_fail(reterr, MTASTS_ESYNTAX, MTASTS_R_EXT_NAME, i, NULL, 0);
            return MTASTS_ESYNTAX;
        }
        for (j = 0; j < i; j++)
            if (ext_name_lens[j] == nl && memcmp(ext_names[j], nm, nl) == 0) {
                mt_diag_fail(reterr, MTASTS_ESYNTAX, MTASTS_R_EXT_NAME, i, NULL,
                             0);
                return MTASTS_ESYNTAX;
            }
        if (vl == 0 || MT_IS(v[0], MT_C_WSP) || MT_IS(v[vl - 1], MT_C_WSP) ||
            ext_value_check(v, 0, vl, &reason, &off) != MTASTS_OK) {
            mt_diag_fail(reterr, MTASTS_ESYNTAX, MTASTS_R_EXT_VALUE, i, NULL,
                         0);
            return MTASTS_ESYNTAX;
        }
    }
    mt_out_init(&o, NULL, 0);
    format_policy(&o, mode, max_age, NULL, mx, mx_lens, mx_count, NULL,
                  ext_names, ext_name_lens, ext_values, ext_value_lens,
                  ext_count);
    need = o.len;
    text = mt_alloc(ctx, need + 1);
    if (text == NULL)
        return mt_nomem(reterr);
    mt_out_init(&o, text, need + 1);
    format_policy(&o, mode, max_age, NULL, mx, mx_lens, mx_count, NULL,
                  ext_names, ext_name_lens, ext_values, ext_value_lens,
                  ext_count);
    rc = policy_parse(ctx, text, need, MTASTS_PARSE_F_STRICT, ret_policy,
                      reterr);
    mt_free(ctx, text, need + 1);
    return rc;
}

int
mtasts_policy_build(mtasts_ctx *ctx, const struct mtasts_policy_model *model,
                    mtasts_policy **ret_policy, struct mtasts_diag *reterr)
{
    if (ret_policy != NULL)
        *ret_policy = NULL;
    if (model == NULL)
        return MTASTS_EINVAL;
    if (model->version != MTASTS_POLICY_MODEL_VERSION)
        return MTASTS_EVERSION;
    return policy_build(ctx, model->mode, model->max_age, model->mx,
                        model->mx_lens, model->mx_count, model->ext_names,
                        model->ext_name_lens, model->ext_values,
                        model->ext_value_lens, model->ext_count, ret_policy,
                        reterr);
}

void
mtasts_policy_free(mtasts_policy *policy)
{
    if (policy != NULL)
        mt_free(policy->ctx, policy, policy->alloc_size);
}

static const char *
span_out(const struct str_span *sp, size_t *ret_len)
{
    if (ret_len != NULL)
        *ret_len = sp != NULL ? sp->n : 0;
    return sp != NULL ? sp->p : NULL;
}

const char *
mtasts_policy_version(const mtasts_policy *policy, size_t *ret_len)
{
    return span_out(policy != NULL ? &policy->version : NULL, ret_len);
}

int
mtasts_policy_mode(const mtasts_policy *policy)
{
    return policy != NULL ? policy->mode : 0;
}

uint32_t
mtasts_policy_max_age(const mtasts_policy *policy)
{
    return policy != NULL ? policy->max_age : 0;
}

size_t
mtasts_policy_mx_count(const mtasts_policy *policy)
{
    return policy != NULL ? policy->mx_count : 0;
}

const char *
mtasts_policy_mx(const mtasts_policy *policy, size_t i, size_t *ret_len)
{
    return span_out(policy != NULL && i < policy->mx_count ? &policy->mx[i]
                                                           : NULL,
                    ret_len);
}

size_t
mtasts_policy_ext_count(const mtasts_policy *policy)
{
    return policy != NULL ? policy->ext_count : 0;
}

int
mtasts_policy_ext(const mtasts_policy *policy, size_t i, const char **ret_name,
                  size_t *ret_name_len, const char **ret_value,
                  size_t *ret_value_len)
{
    const char *p;

    if (policy == NULL || i >= policy->ext_count)
        return MTASTS_EINVAL;
    p = span_out(&policy->ext[i].name, ret_name_len);
    if (ret_name != NULL)
        *ret_name = p;
    p = span_out(&policy->ext[i].value, ret_value_len);
    if (ret_value != NULL)
        *ret_value = p;
    return MTASTS_OK;
}

const char *
mtasts_policy_raw(const mtasts_policy *policy, size_t *ret_len)
{
    return span_out(policy != NULL ? &policy->raw : NULL, ret_len);
}

size_t
mtasts_policy_line_count(const mtasts_policy *policy)
{
    return policy != NULL ? policy->line_count : 0;
}

const char *
mtasts_policy_line(const mtasts_policy *policy, size_t i, size_t *ret_len)
{
    if (policy == NULL || i >= policy->line_count) {
        if (ret_len != NULL)
            *ret_len = 0;
        return NULL;
    }
    if (ret_len != NULL)
        *ret_len = policy->line[i].n;
    return policy->lined + policy->line[i].off;
}

uint64_t
mtasts_policy_warnings(const mtasts_policy *policy)
{
    return policy != NULL ? policy->warnings : 0;
}

int
mtasts_policy_mx_allowed(const mtasts_policy *policy, const char *host,
                         size_t host_len)
{
    return mt_policy_mx_allowed(policy, host, host_len);
}

int
mt_policy_mx_allowed(const mtasts_policy *policy, const char *host,
                     size_t host_len)
{
    size_t i;

    if (policy == NULL)
        return 0;
    for (i = 0; i < policy->mx_count; i++)
        if (mtasts_mx_match(policy->mx[i].p, policy->mx[i].n, host, host_len))
            return 1;
    return 0;
}

int
mtasts_policy_format(const mtasts_policy *policy, char *dst, size_t dst_len,
                     size_t *ret_needed)
{
    struct mt_out o;

    if (policy == NULL || (dst == NULL && dst_len > 0))
        return MTASTS_EINVAL;
    mt_out_init(&o, dst, dst_len);
    format_policy(&o, policy->mode, policy->max_age, policy->mx, NULL, NULL,
                  policy->mx_count, policy->ext, NULL, NULL, NULL, NULL,
                  policy->ext_count);
    return mt_out_finish(&o, ret_needed);
}
