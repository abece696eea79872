/* The MTA-STS policy file (RFC 8461 3.2): parse, build, format, match. */
#include "internal.h"
#include "namescan.h"

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
    const char *lined;      /* raw with a NUL over each line's end */
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
    size_t mx_count, ext_count, line_count, mx_lines;
    uint64_t warnings;
    size_t woff;
    int reason;
    size_t off;
    /* sinks (counts may exceed caps; then the scan is repeated) */
    struct str_span *mx;
    size_t mx_cap;
    struct ext_span *ext;
    size_t ext_cap;
    struct line_span *line;
    size_t line_cap;
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
    size_t i = p, k, need;
    unsigned char c, c1;

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
        if (c >= 0xC2 && c <= 0xDF)
            need = 1;
        else if (c >= 0xE0 && c <= 0xEF)
            need = 2;
        else if (c >= 0xF0 && c <= 0xF4)
            need = 3;
        else
            goto bad;
        if (e - i <= need)
            goto bad;
        c1 = (unsigned char)b[i + 1];
        if ((c == 0xE0 && c1 < 0xA0) || (c == 0xED && c1 > 0x9F) ||
            (c == 0xF0 && c1 < 0x90) || (c == 0xF4 && c1 > 0x8F))
            goto bad;
        for (k = 1; k <= need; k++)
            if (((unsigned char)b[i + k] & 0xC0) != 0x80)
                goto bad;
        i += need + 1;
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
    size_t kl = ke - ks, i, lim, off;
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
        /* Only the stored patterns can be compared; past the sink's
         * capacity the count is an upper bound and the caller scans again
         * with room for every pattern. */
        lim = s->mx_count < s->mx_cap ? s->mx_count : s->mx_cap;
        for (i = 0; i < lim; i++)
            if (mt_ascii_caseeq(s->mx[i].p, s->mx[i].n, b + vs, ve - vs))
                break;
        if (i < lim) {
            add_warning(s, MTASTS_W_DUPLICATE_MX, ks);
            return MTASTS_OK;
        }
        if (s->mx_count < s->mx_cap) {
            s->mx[s->mx_count].p = b + vs;
            s->mx[s->mx_count].n = ve - vs;
        }
        s->mx_count++;
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
        lim = s->ext_count < s->ext_cap ? s->ext_count : s->ext_cap;
        for (i = 0; i < lim; i++)
            if (s->ext[i].name.n == kl &&
                memcmp(s->ext[i].name.p, b + ks, kl) == 0)
                break;
        if (i < lim) {
            dup = 1;
        } else {
            rc = ext_value_check(b, vs, ve, &reason, &off);
            if (rc != MTASTS_OK)
                return fail(s, rc, reason, off);
            if (s->ext_count < s->ext_cap) {
                struct ext_span *x = &s->ext[s->ext_count];
                x->name.p = b + ks;
                x->name.n = kl;
                x->value.p = b + vs;
                x->value.n = ve - vs;
            }
            s->ext_count++;
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

/* After "key:" at q: the usual single space, then any more WSP. */
static MT_ALWAYS_INLINE size_t
value_start(const char *b, size_t n, size_t q)
{
    if (q < n && b[q] == ' ')
        q++;
    while (q < n && MT_IS(b[q], MT_C_WSP))
        q++;
    return q;
}

/* The end of a fast-path line at *qp: LF at once, or trailing WSP and LF,
 * CRLF or the end of the body. Returns where the next line starts, or 0
 * for anything else; *qp is moved past the WSP. */
static MT_ALWAYS_INLINE size_t
line_end(const char *b, size_t n, size_t *qp)
{
    size_t q = *qp;

    if (q < n && b[q] == '\n')
        return q + 1; /* the usual end, no trailing WSP */
    while (q < n && MT_IS(b[q], MT_C_WSP))
        q++;
    *qp = q;
    if (q == n)
        return n;
    if (b[q] == '\n')
        return q + 1;
    if (b[q] == '\r' && q + 1 < n && b[q + 1] == '\n')
        return q + 2;
    return 0;
}

/* The line b[p..q) is taken; next is where the next one starts. */
static MT_ALWAYS_INLINE size_t
line_take(struct pol_scan *s, size_t p, size_t q, size_t next)
{
    if (s->line_count < s->line_cap) {
        s->line[s->line_count].off = p;
        s->line[s->line_count].n = q - p;
    }
    s->line_count++;
    return next;
}

/*
 * Fast path for the common, canonical line: a first occurrence of mx, mode,
 * max_age or version, a valid value, optional trailing WSP, then LF, CRLF or
 * the end. It returns the offset of the next line, or 0 when the line is
 * anything else; the general path below then handles it (and produces the
 * diagnostics), so the fast path never decides a failure or a warning.
 */
static size_t
line_fast(const char *b, size_t n, size_t p, struct pol_scan *s)
{
    size_t q, vs, ve, ls, i, next, rest = n - p;
    struct mt_nmask m;
    uint64_t v = 0;
    int mode;

    if (rest >= 3 && b[p] == 'm' && b[p + 1] == 'x' && b[p + 2] == ':') {
        q = vs = value_start(b, n, p + 3);
        if (s->mx_count >= s->mx_cap || s->mx_lines >= s->mx_limit)
            return 0;
        if (n - q >= 2 && b[q] == '*' && b[q + 1] == '.')
            q += 2;
        /* the name: the class bytes from q, shorter than 64 octets here */
        ls = mt_nmask_span((const unsigned char *)b + q, n - q, &m);
        if (ls == 0 || ls == MT_NMASK_MAX - 1 || !mt_nmask_name_ok(&m, ls))
            return 0; /* 63 octets or more: the general path */
        q += ls;
        for (i = 0; i < s->mx_count; i++)
            if (s->mx[i].n == q - vs &&
                mt_ascii_caseeq(s->mx[i].p, s->mx[i].n, b + vs, q - vs))
                return 0;
        ve = q;
        next = line_end(b, n, &q);
        if (next == 0)
            return 0;
        s->mx[s->mx_count].p = b + vs;
        s->mx[s->mx_count].n = ve - vs;
        s->mx_count++;
        s->mx_lines++;
        return line_take(s, p, q, next);
    }
    if (rest >= 5 && memcmp(b + p, "mode:", 5) == 0) {
        q = vs = value_start(b, n, p + 5);
        if (s->have_mode)
            return 0;
        if (n - q >= 7 && memcmp(b + q, "enforce", 7) == 0) {
            mode = MTASTS_MODE_ENFORCE;
            q += 7;
        } else if (n - q >= 7 && memcmp(b + q, "testing", 7) == 0) {
            mode = MTASTS_MODE_TESTING;
            q += 7;
        } else if (n - q >= 4 && memcmp(b + q, "none", 4) == 0) {
            mode = MTASTS_MODE_NONE;
            q += 4;
        } else {
            return 0;
        }
        next = line_end(b, n, &q);
        if (next == 0)
            return 0;
        s->mode = mode;
        s->have_mode = 1;
        return line_take(s, p, q, next);
    }
    if (rest >= 8 && memcmp(b + p, "max_age:", 8) == 0) {
        q = vs = value_start(b, n, p + 8);
        if (s->have_max_age)
            return 0;
        for (i = n - q < 10 ? n : q + 10;
             q < i && (unsigned char)(b[q] - '0') < 10; q++)
            v = v * 10 + (uint64_t)(b[q] - '0');
        if (q == vs || v > MTASTS_MAX_AGE_MAX)
            return 0;
        next = line_end(b, n, &q);
        if (next == 0)
            return 0;
        s->max_age = (uint32_t)v;
        s->have_max_age = 1;
        return line_take(s, p, q, next);
    }
    if (rest >= 8 && memcmp(b + p, "version:", 8) == 0) {
        q = vs = value_start(b, n, p + 8);
        if (s->have_version || n - q < 5 || memcmp(b + q, "STSv1", 5) != 0)
            return 0;
        q += 5;
        next = line_end(b, n, &q);
        if (next == 0)
            return 0;
        s->have_version = 1;
        return line_take(s, p, q, next);
    }
    return 0;
}

/* Scan a whole body. Returns 0 or a status with s->reason / s->off. */
static int
scan_policy(const char *b, size_t n, struct pol_scan *s)
{
    size_t p = 0, eol, next, ks, ke, vs, ve;
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
        next = line_fast(b, n, p, s);
        if (next != 0) {
            p = next;
            continue;
        }
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
        /* blank or WSP-only line (E-10) */
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
        if (s->line_count < s->line_cap) {
            s->line[s->line_count].off = p;
            s->line[s->line_count].n = eol - p;
        }
        s->line_count++;
        /* key */
        ks = p;
        if (!MT_IS(b[p], MT_ALNUM)) {
            int r = (unsigned char)b[p] >= 0x80 ? MTASTS_R_NON_ASCII
                    : b[p] == '\r'              ? MTASTS_R_BARE_CR
                    : MT_IS(b[p], MT_C_VCHAR)   ? MTASTS_R_EXT_NAME
                                                : MTASTS_R_CTL;
            return fail(s, MTASTS_ESYNTAX, r, p);
        }
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
        /* A CR inside the line is a bare CR, never a terminator (E-1).
         * Only this general path can see one: the fast path declines
         * such lines. */
        lf = memchr(b + vs, '\r', ve - vs);
        if (lf != NULL)
            return fail(s, MTASTS_ESYNTAX, MTASTS_R_BARE_CR, (size_t)(lf - b));
        rc = field(b, ks, ke, vs, ve, s);
        if (rc != MTASTS_OK)
            return rc;
        p = next;
    }
    if (!s->have_version)
        return fail(s, MTASTS_ESYNTAX, MTASTS_R_MISSING_VERSION, n);
    if (!s->have_mode)
        return fail(s, MTASTS_ESYNTAX, MTASTS_R_MISSING_MODE, n);
    if (!s->have_max_age)
        return fail(s, MTASTS_ESYNTAX, MTASTS_R_MISSING_MAX_AGE, n);
    if (s->mode != MTASTS_MODE_NONE && s->mx_count == 0)
        return fail(s, MTASTS_ESYNTAX, MTASTS_R_MISSING_MX, n);
    return MTASTS_OK;
}

/* Point sp into the cooked copy and end it with a NUL there. */
static void
cook(struct str_span *sp, const char *from, char *cooked)
{
    char *q = cooked + (sp->p - from);

    q[sp->n] = '\0';
    sp->p = q;
}

static void
scan_init(struct pol_scan *s, struct str_span *mx, size_t mx_cap,
          struct ext_span *ext, size_t ext_cap, struct line_span *line,
          size_t line_cap, size_t mx_limit)
{
    memset(s, 0, sizeof(*s));
    s->mx = mx;
    s->mx_cap = mx_cap;
    s->ext = ext;
    s->ext_cap = ext_cap;
    s->line = line;
    s->line_cap = line_cap;
    s->mx_limit = mx_limit;
}

/*
 * Make the policy object from a complete scan (every count within its
 * sink's capacity). One allocation holds the object, its arrays, the exact
 * body (raw), a second copy of it (cooked) in which every returned
 * string is ended by a NUL written over the byte that follows it (':', WSP,
 * CR, LF or the final NUL), and a third (lined) in which every non-blank
 * line is ended the same way, so getters return NUL-terminated strings
 * without a copy per string.
 */
static mtasts_policy *
policy_make(mtasts_ctx *ctx, const char *b, size_t n, const struct pol_scan *s)
{
    mtasts_policy *pol;
    size_t size, i;
    char *raw, *cooked, *lined;

    size = sizeof(*pol) + s->ext_count * sizeof(struct ext_span) +
           s->mx_count * sizeof(struct str_span) +
           s->line_count * sizeof(struct line_span) + 3 * (n + 1);
    pol = mt_alloc(ctx, size);
    if (pol == NULL)
        return NULL;
    pol->ctx = ctx;
    pol->alloc_size = size;
    pol->warnings = s->warnings;
    pol->mode = s->mode;
    pol->max_age = s->max_age;
    pol->mx_count = s->mx_count;
    pol->ext_count = s->ext_count;
    pol->line_count = s->line_count;
    pol->ext = (struct ext_span *)(void *)(pol + 1);
    pol->mx = (struct str_span *)(void *)(pol->ext + s->ext_count);
    pol->line = (struct line_span *)(void *)(pol->mx + s->mx_count);
    raw = (char *)(pol->line + s->line_count);
    cooked = raw + n + 1;
    memcpy(raw, b, n);
    raw[n] = '\0';
    memcpy(cooked, raw, n + 1);
    pol->raw.p = raw;
    pol->raw.n = n;
    pol->version.p = "STSv1";
    pol->version.n = 5;
    memcpy(pol->line, s->line, s->line_count * sizeof(struct line_span));
    /* each line is followed by its CR, LF or the final NUL: end it there
     * so mtasts_policy_line() strings are NUL-terminated too */
    lined = cooked + n + 1;
    memcpy(lined, raw, n + 1);
    for (i = 0; i < s->line_count; i++)
        lined[s->line[i].off + s->line[i].n] = '\0';
    pol->lined = lined;
    for (i = 0; i < s->mx_count; i++) {
        pol->mx[i] = s->mx[i];
        cook(&pol->mx[i], b, cooked);
    }
    for (i = 0; i < s->ext_count; i++) {
        pol->ext[i] = s->ext[i];
        cook(&pol->ext[i].name, b, cooked);
        cook(&pol->ext[i].value, b, cooked);
    }
    return pol;
}

static int
policy_parse(mtasts_ctx *ctx, const char *b, size_t n, unsigned flags,
             mtasts_policy **ret_policy, struct mtasts_diag *reterr)
{
    struct str_span lmx[LOCAL_MX];
    struct line_span lline[LOCAL_LINE];
    struct ext_span lext[LOCAL_EXT];
    struct pol_scan s, s2;
    struct str_span *hmx = NULL;
    struct line_span *hline = NULL;
    struct ext_span *hext = NULL;
    size_t mxsz = 0, extsz = 0, linesz = 0;
    const struct pol_scan *res = &s;
    mtasts_policy *pol;
    int rc;

    if (n > ctx->limits[MTASTS_LIMIT_POLICY_SIZE]) {
        mt_diag_fail(reterr, MTASTS_ETOOBIG, MTASTS_R_TOO_BIG,
                     ctx->limits[MTASTS_LIMIT_POLICY_SIZE], NULL, 0);
        return MTASTS_ETOOBIG;
    }
    scan_init(&s, lmx, LOCAL_MX, lext, LOCAL_EXT, lline, LOCAL_LINE,
              ctx->limits[MTASTS_LIMIT_POLICY_MX]);
    rc = scan_policy(b, n, &s);
    if (rc == MTASTS_OK && (s.mx_count > LOCAL_MX || s.ext_count > LOCAL_EXT ||
                            s.line_count > LOCAL_LINE)) {
        /* Rare: a sink overflowed, so duplicates past it were not seen.
         * The first scan's counts are upper bounds; scan again into heap
         * sinks of that size to get exact results. */
        mxsz = (s.mx_count + 1) * sizeof(struct str_span);
        extsz = (s.ext_count + 1) * sizeof(struct ext_span);
        linesz = (s.line_count + 1) * sizeof(struct line_span);
        hmx = mt_alloc(ctx, mxsz);
        hext = mt_alloc(ctx, extsz);
        hline = mt_alloc(ctx, linesz);
        if (hmx == NULL || hext == NULL || hline == NULL) {
            rc = mt_nomem(reterr);
            goto out;
        }
        scan_init(&s2, hmx, s.mx_count + 1, hext, s.ext_count + 1, hline,
                  s.line_count + 1, s.mx_limit);
        rc = scan_policy(b, n, &s2);
        res = &s2;
    }
    if (rc != MTASTS_OK) {
        mt_diag_fail(reterr, rc, res->reason, res->off, b, n);
        if (reterr != NULL)
            reterr->warnings = res->warnings;
        goto out;
    }
    if ((flags & MTASTS_PARSE_F_STRICT) && res->warnings != 0) {
        rc = MTASTS_ESTRICT;
        mt_diag_fail(reterr, rc, MTASTS_R_STRICT, res->woff, b, n);
        if (reterr != NULL)
            reterr->warnings = res->warnings;
        goto out;
    }
    pol = policy_make(ctx, b, n, res);
    if (pol == NULL) {
        rc = mt_nomem(reterr);
        goto out;
    }
    mt_diag_ok(reterr, res->warnings, res->woff);
    *ret_policy = pol;
out:
    if (mxsz != 0) { /* the rare second scan */
        mt_free(ctx, hmx, mxsz);
        mt_free(ctx, hext, extsz);
        mt_free(ctx, hline, linesz);
    }
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
        if (mt_mx_match_trusted(policy->mx[i].p, policy->mx[i].n, host,
                                host_len))
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
