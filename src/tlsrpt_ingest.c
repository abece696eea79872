/*
 * TLSRPT mail ingest: reading a TLS report e-mail (RFC 8460 section 5.3,
 * receiving side) for mtasts_tlsrpt_mail_ingest(). A bounded,
 * non-recursive MIME walk to the report part, its transfer decoding
 * (base64, quoted-printable, 7bit/8bit/binary), the report parse, and the
 * cross-check of the attachment name and the Subject against the JSON
 * (RPT-DELIV-16). The sending side is tlsrpt_mail.c.
 *
 * Lines end in LF with an optional CR before it (messages stored with LF
 * line ends are common). Nothing here allocates but the decoded part; the
 * walk keeps its pending parts in a fixed array.
 */
#include "tlsrpt_int.h"

#define MIME_MAX_DEPTH 8    /* nesting of multiparts */
#define MIME_MAX_PARTS 256  /* entities looked at in one message */
#define MIME_STACK     64   /* pending entities */
#define HDR_MAX        2048 /* bytes of one unfolded header field kept */
#define BOUNDARY_MAX   70   /* RFC 2046 */
#define NAME_MAX_LEN   600  /* a report file name: two domains and more */

struct entity {
    size_t start, end; /* header block start, body end */
    unsigned depth;
};

/* What the walk needs from the header block of an entity. */
struct ehdr {
    char type[80]; /* "type/subtype", lower case */
    char boundary[BOUNDARY_MAX + 1];
    char fname[NAME_MAX_LEN + 1]; /* Content-Disposition filename */
    char name[NAME_MAX_LEN + 1];  /* Content-Type name */
    /* RFC 2231 forms (filename*, filename*0, filename*1*, ...; name*...),
     * used when the plain parameter is absent. next: the section expected
     * next, -1 once a value is complete. */
    struct ext_param {
        char v[NAME_MAX_LEN + 1];
        size_t len;
        long next;
    } xfname, xname;
    char cte[32];              /* transfer encoding, lower case */
    char subject[HDR_MAX + 1]; /* top level only */
    size_t body;               /* offset of the body */
    int has_header;            /* at least one header field */
};

/* End of the line starting at p (offset of the LF, or end), and the start
 * of the next line through *next. The content excludes CR LF. */
static size_t
line_end(const uint8_t *m, size_t p, size_t end, size_t *next)
{
    const uint8_t *lf = memchr(m + p, '\n', end - p);
    size_t e;

    if (lf == NULL) {
        *next = end;
        return end;
    }
    e = (size_t)(lf - m);
    *next = e + 1;
    if (e > p && m[e - 1] == '\r')
        e--;
    return e;
}

static void
lower_copy(char *dst, size_t cap, const char *s, size_t n)
{
    size_t i;

    if (n >= cap)
        n = cap - 1;
    for (i = 0; i < n; i++)
        dst[i] = (char)MT_LOWER(s[i]);
    dst[n] = '\0';
}

/* RFC 2045 token characters. */
static int
is_token(unsigned char c)
{
    return MT_IS(c, MT_C_VCHAR) && strchr("()<>@,;:\\\"/[]?=", c) == NULL;
}

static size_t
skip_wsp(const char *v, size_t i, size_t n)
{
    while (i < n && (MT_IS(v[i], MT_C_WSP) || v[i] == '\r' || v[i] == '\n'))
        i++;
    return i;
}

/* Whether attribute a[0..n) is base in an RFC 2231 form: base "*"
 * (*sec -1, extended), base "*" digits (section), base "*" digits "*"
 * (extended section). */
static int
ext_attr(const char *a, size_t n, const char *base, long *sec, int *ext)
{
    size_t bl = strlen(base), i;
    long v = 0;

    if (n <= bl || !mt_ascii_caseeq(a, bl, base, bl) || a[bl] != '*')
        return 0;
    i = bl + 1;
    *ext = 1;
    *sec = -1;
    if (i == n)
        return 1;
    for (; i < n && MT_IS(a[i], MT_C_DIGIT) && v < 1000; i++)
        v = v * 10 + (a[i] - '0');
    if (i == bl + 1 || (i < n && (a[i] != '*' || i + 1 != n)))
        return 0;
    *sec = v;
    *ext = i < n;
    return 1;
}

/* Append one RFC 2231 section (percent-decoded when extended; the
 * charset'language' prefix of an extended first value dropped). Sections
 * out of order are ignored. */
static void
ext_add(struct ext_param *x, long sec, int ext, const char *val, size_t vl)
{
    size_t i = 0, q;
    int hi, lo;

    if (sec >= 0 ? sec != x->next : x->next != 0)
        return;
    if (ext && sec <= 0) {
        for (q = 0; q < 2; q++) {
            while (i < vl && val[i] != '\'')
                i++;
            if (i == vl)
                return;
            i++;
        }
    }
    for (; i < vl && x->len < NAME_MAX_LEN; i++) {
        if (ext && val[i] == '%' && i + 2 < vl &&
            (hi = mt_hex_val((unsigned char)val[i + 1])) >= 0 &&
            (lo = mt_hex_val((unsigned char)val[i + 2])) >= 0) {
            x->v[x->len++] = (char)(hi * 16 + lo);
            i += 2;
        } else {
            x->v[x->len++] = val[i];
        }
    }
    x->v[x->len] = '\0';
    x->next = sec >= 0 ? sec + 1 : -1;
}

/* Parse "; attr=value" parameters of v[i..n), storing the ones wanted.
 * Tolerant: a malformed parameter ends the scan. */
static void
params(const char *v, size_t i, size_t n, struct ehdr *h, int disposition)
{
    for (;;) {
        size_t a0, a1, vs = 0, vl = 0;
        char val[NAME_MAX_LEN + 1];
        long sec;
        int ext;

        i = skip_wsp(v, i, n);
        if (i >= n || v[i] != ';')
            return;
        i = skip_wsp(v, i + 1, n);
        a0 = i;
        while (i < n && is_token((unsigned char)v[i]))
            i++;
        a1 = i;
        i = skip_wsp(v, i, n);
        if (a0 == a1 || i >= n || v[i] != '=')
            return;
        i = skip_wsp(v, i + 1, n);
        if (i < n && v[i] == '"') {
            i++;
            while (i < n && v[i] != '"') {
                if (v[i] == '\\' && i + 1 < n)
                    i++;
                if (vl < NAME_MAX_LEN)
                    val[vl++] = v[i];
                i++;
            }
            if (i < n)
                i++;
        } else {
            vs = i;
            while (i < n && is_token((unsigned char)v[i]))
                i++;
            vl = i - vs < NAME_MAX_LEN ? i - vs : NAME_MAX_LEN;
            memcpy(val, v + vs, vl);
        }
        val[vl] = '\0';
        if (!disposition && mt_ascii_caseeq(v + a0, a1 - a0, "boundary", 8)) {
            if (vl >= 1 && vl <= BOUNDARY_MAX)
                memcpy(h->boundary, val, vl + 1);
        } else if (!disposition &&
                   mt_ascii_caseeq(v + a0, a1 - a0, "name", 4)) {
            memcpy(h->name, val, vl + 1);
        } else if (disposition &&
                   mt_ascii_caseeq(v + a0, a1 - a0, "filename", 8)) {
            memcpy(h->fname, val, vl + 1);
        } else if (disposition &&
                   ext_attr(v + a0, a1 - a0, "filename", &sec, &ext)) {
            ext_add(&h->xfname, sec, ext, val, vl);
        } else if (!disposition &&
                   ext_attr(v + a0, a1 - a0, "name", &sec, &ext)) {
            ext_add(&h->xname, sec, ext, val, vl);
        }
    }
}

/* One unfolded header field name: value. */
static void
header_field(const char *f, size_t n, struct ehdr *h, int top)
{
    size_t c = 0, i, t0;

    while (c < n && f[c] != ':')
        c++;
    i = skip_wsp(f, c + 1, n);
    if (mt_ascii_caseeq(f, c, "Content-Type", 12)) {
        t0 = i;
        while (i < n && (is_token((unsigned char)f[i]) || f[i] == '/'))
            i++;
        lower_copy(h->type, sizeof(h->type), f + t0, i - t0);
        params(f, i, n, h, 0);
    } else if (mt_ascii_caseeq(f, c, "Content-Disposition", 19)) {
        while (i < n && is_token((unsigned char)f[i]))
            i++;
        params(f, i, n, h, 1);
    } else if (mt_ascii_caseeq(f, c, "Content-Transfer-Encoding", 25)) {
        t0 = i;
        while (i < n && is_token((unsigned char)f[i]))
            i++;
        lower_copy(h->cte, sizeof(h->cte), f + t0, i - t0);
    } else if (top && mt_ascii_caseeq(f, c, "Subject", 7)) {
        memcpy(h->subject, f + i, n - i);
        h->subject[n - i] = '\0';
    }
}

/* Read the header block of the entity at [p, end). Header fields are
 * unfolded (CR LF before WSP removed) into a bounded buffer. Returns 0,
 * or -1 with *ret_off when a line is neither a field nor a continuation. */
static int
read_headers(const uint8_t *m, size_t p, size_t end, struct ehdr *h, int top,
             size_t *ret_off)
{
    char buf[HDR_MAX + 1];
    size_t blen = 0, next, e;
    int open = 0;

    memset(h, 0, sizeof(*h));
    while (p < end) {
        e = line_end(m, p, end, &next);
        if (e == p) { /* empty line: the body follows */
            p = next;
            break;
        }
        if (MT_IS(m[p], MT_C_WSP)) {
            if (!open) {
                *ret_off = p;
                return -1;
            }
        } else {
            size_t k = p;

            if (open)
                header_field(buf, blen, h, top);
            while (k < e && m[k] != ':' && MT_IS(m[k], MT_C_VCHAR))
                k++;
            if (k == p || k == e || m[k] != ':') {
                /* a body without a header block (the entity starts with
                 * its blank line missing) is not MIME we can read */
                *ret_off = p;
                return -1;
            }
            blen = 0;
            open = 1;
            h->has_header = 1;
        }
        if (e - p > HDR_MAX - blen)
            e = p + (HDR_MAX - blen);
        memcpy(buf + blen, m + p, e - p);
        blen += e - p;
        p = next;
    }
    if (open)
        header_field(buf, blen, h, top);
    /* RFC 2231 values stand in for absent plain ones */
    if (h->fname[0] == '\0')
        memcpy(h->fname, h->xfname.v, h->xfname.len + 1);
    if (h->name[0] == '\0')
        memcpy(h->name, h->xname.v, h->xname.len + 1);
    h->body = p;
    return 0;
}

/* Whether the line [p, e) is the delimiter "--boundary" (then *close says
 * whether it is the closing one). Trailing whitespace is allowed. */
static int
is_delimiter(const uint8_t *m, size_t p, size_t e, const char *b, size_t bl,
             int *close)
{
    size_t i;

    if (e - p < bl + 2 || m[p] != '-' || m[p + 1] != '-' ||
        memcmp(m + p + 2, b, bl) != 0)
        return 0;
    i = p + 2 + bl;
    *close = 0;
    if (e - i >= 2 && m[i] == '-' && m[i + 1] == '-') {
        *close = 1;
        i += 2;
    }
    while (i < e && MT_IS(m[i], MT_C_WSP))
        i++;
    return i == e;
}

/* The parts of the multipart body [p, end), in order, into out (at most
 * cap). The line break before a delimiter belongs to it. Returns the count
 * or -1 when there are more than cap. */
static int
split_parts(const uint8_t *m, size_t p, size_t end, const char *b,
            struct entity *out, size_t cap, unsigned depth)
{
    size_t bl = strlen(b), n = 0, next, e, part = 0, prev_break = p;
    int in_part = 0, close = 0;

    while (p < end) {
        e = line_end(m, p, end, &next);
        if (is_delimiter(m, p, e, b, bl, &close)) {
            if (in_part) {
                if (n == cap)
                    return -1;
                out[n].start = part;
                out[n].end = prev_break < part ? part : prev_break;
                out[n].depth = depth;
                n++;
            }
            if (close)
                return (int)n;
            in_part = 1;
            part = next;
        }
        /* where this line's own break starts: the end of its content */
        prev_break = e;
        p = next;
    }
    if (in_part && part < end) { /* no closing delimiter: tolerated */
        if (n == cap)
            return -1;
        out[n].start = part;
        out[n].end = end;
        out[n].depth = depth;
        n++;
    }
    return (int)n;
}

static int
ends_with_ci(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);

    return n >= k && mt_ascii_caseeq(s + n - k, k, suffix, k);
}

/* Whether a leaf is the report: by media type, else by file name. */
static int
is_report_part(const struct ehdr *h)
{
    const char *nm = h->fname[0] != '\0' ? h->fname : h->name;

    if (strcmp(h->type, "application/tlsrpt+gzip") == 0 ||
        strcmp(h->type, "application/tlsrpt+json") == 0)
        return 1;
    if (strncmp(h->type, "multipart/", 10) == 0 ||
        strncmp(h->type, "text/", 5) == 0)
        return 0;
    return ends_with_ci(nm, ".json") || ends_with_ci(nm, ".json.gz");
}

static int
b64_value(uint8_t c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* base64 of [p, end) into out: whitespace is skipped, any other byte
 * outside the alphabet is an error (offset in *ret_off), as is data after
 * the padding. Returns the decoded length or -1. */
static long
b64_decode(const uint8_t *m, size_t p, size_t end, uint8_t *out,
           size_t *ret_off)
{
    uint32_t acc = 0;
    size_t n = 0, q = 0, pad = 0;

    for (; p < end; p++) {
        uint8_t c = m[p];
        int v;

        if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
            continue;
        if (c == '=') {
            if (q + pad < 2 || q + pad >= 4) {
                *ret_off = p;
                return -1;
            }
            if (pad == 0) { /* flush the partial quantum */
                out[n++] = (uint8_t)(acc >> (q == 2 ? 4 : 10));
                if (q == 3)
                    out[n++] = (uint8_t)(acc >> 2);
            }
            pad++;
            if (q + pad == 4) {
                q = 0;
                pad = 0;
                acc = 0;
            }
            continue;
        }
        v = b64_value(c);
        if (v < 0 || pad > 0) {
            *ret_off = p;
            return -1;
        }
        acc = acc << 6 | (uint32_t)v;
        q++;
        if (q == 4) {
            out[n++] = (uint8_t)(acc >> 16);
            out[n++] = (uint8_t)(acc >> 8);
            out[n++] = (uint8_t)acc;
            q = 0;
            acc = 0;
        }
    }
    /* a final quantum of 2 or 3 characters without (all) its padding is
     * tolerated; a single character is not */
    if (q == 1) {
        *ret_off = end;
        return -1;
    }
    if (q >= 2 && pad == 0) {
        out[n++] = (uint8_t)(acc >> (q == 2 ? 4 : 10));
        if (q == 3)
            out[n++] = (uint8_t)(acc >> 2);
    }
    return (long)n;
}

/* quoted-printable of [p, end) into out; tolerant: a malformed "=" is
 * kept as it is. Returns the decoded length. */
static size_t
qp_decode(const uint8_t *m, size_t p, size_t end, uint8_t *out)
{
    size_t n = 0;

    while (p < end) {
        if (m[p] == '=') {
            size_t k = p + 1;
            int hi, lo;

            while (k < end && MT_IS(m[k], MT_C_WSP))
                k++;
            if (k < end && (m[k] == '\n' || m[k] == '\r')) { /* soft break */
                if (m[k] == '\r' && k + 1 < end && m[k + 1] == '\n')
                    k++;
                p = k + 1;
                continue;
            }
            if (p + 2 < end && (hi = mt_hex_val(m[p + 1])) >= 0 &&
                (lo = mt_hex_val(m[p + 2])) >= 0) {
                out[n++] = (uint8_t)(hi << 4 | lo);
                p += 3;
                continue;
            }
        }
        out[n++] = m[p++];
    }
    return n;
}

/* Compare the name of the attachment and the Subject with the report
 * (RPT-DELIV-16): 1 when either disagrees. */
static int
mismatch(const mtasts_tlsrpt_report *r, const struct ehdr *top,
         const char *fname)
{
    const char *pd = NULL, *s;
    size_t pdl = 0, i,
           np = mtasts_tlsrpt_report_count(r, MTASTS_RC_POLICIES, 0);
    int64_t b = 0, e = 0;
    struct mtasts_tlsrpt_filename fn;
    int bad = 0;

    memset(&fn, 0, sizeof(fn));
    fn.version = MTASTS_FILENAME_VERSION;
    if (mtasts_tlsrpt_filename_parse(fname, strlen(fname), &fn) == MTASTS_OK) {
        pd = fn.policy_domain;
        pdl = fn.policy_domain_len;
        b = fn.begin;
        e = fn.end;
        if (b != r->start || e != r->end)
            bad = 1;
    } else {
        pd = NULL;
    }
    s = strstr(top->subject, "Domain:");
    for (i = 0; i < np && !bad; i++) {
        size_t dl = 0;
        const char *d =
            mtasts_tlsrpt_report_text(r, MTASTS_RF_POLICY_DOMAIN, i, 0, &dl);

        if (d == NULL)
            continue;
        if (pd != NULL && !mt_ascii_caseeq(pd, pdl, d, dl))
            bad = 1;
        if (s != NULL) {
            size_t k = skip_wsp(s, 7, strlen(s)), k0 = k;

            while (s[k] != '\0' && !MT_IS(s[k], MT_C_WSP))
                k++;
            if (!mt_ascii_caseeq(s + k0, k - k0, d, dl))
                bad = 1;
        }
    }
    return bad;
}

static int
fail(struct mtasts_diag *d, int code, int reason, size_t off,
     const uint8_t *msg, size_t len)
{
    mt_diag_fail(d, code, reason, off, (const char *)msg, len);
    return code;
}

int
mtasts_tlsrpt_mail_ingest(mtasts_ctx *ctx, const uint8_t *msg, size_t len,
                          int dkim, unsigned flags,
                          mtasts_tlsrpt_report **ret_report, int *ret_mismatch,
                          struct mtasts_diag *reterr)
{
    struct entity stack[MIME_STACK], kids[MIME_STACK];
    size_t sp = 0, seen = 0, off = 0, dcap, dlen;
    struct ehdr *h = NULL, *top = NULL;
    struct entity cur;
    uint8_t *dec = NULL;
    int rc, found = 0;

    if (ret_report != NULL)
        *ret_report = NULL;
    if (ret_mismatch != NULL)
        *ret_mismatch = 0;
    rc = mt_diag_check(reterr);
    if (rc != MTASTS_OK)
        return rc;
    if (ctx == NULL || (msg == NULL && len > 0) || ret_report == NULL)
        return fail(reterr, MTASTS_EINVAL, MTASTS_R_NONE, 0, NULL, 0);
    if (dkim != MTASTS_DKIM_PASS) /* RPT-DELIV-17 */
        return fail(reterr, MTASTS_REFUSED, MTASTS_R_DKIM, 0, NULL, 0);
    if (len == 0)
        return fail(reterr, MTASTS_ESYNTAX, MTASTS_R_EMPTY, 0, NULL, 0);
    /* two header records: the current entity and the top level (for the
     * Subject), kept off the stack as they are large */
    h = mt_alloc(ctx, 2 * sizeof(*h));
    if (h == NULL)
        return mt_nomem(reterr);
    top = h + 1;

    stack[sp].start = 0;
    stack[sp].end = len;
    stack[sp].depth = 0;
    sp++;
    while (sp > 0 && !found) {
        int n, k;

        cur = stack[--sp];
        if (++seen > MIME_MAX_PARTS) {
            rc = fail(reterr, MTASTS_ETOOBIG, MTASTS_R_TOO_BIG, cur.start, msg,
                      len);
            goto out;
        }
        if (cur.depth == 0 && len > 5 && memcmp(msg, "From ", 5) == 0)
            (void)line_end(msg, 0, len, &cur.start); /* mbox separator */
        if (read_headers(msg, cur.start, cur.end, h, cur.depth == 0, &off) !=
            0) {
            if (cur.depth > 0)
                continue; /* an unreadable part: look elsewhere */
            rc = fail(reterr, MTASTS_ESYNTAX, MTASTS_R_MIME, off, msg, len);
            goto out;
        }
        if (cur.depth == 0 && !h->has_header) {
            rc = fail(reterr, MTASTS_ESYNTAX, MTASTS_R_MIME, cur.start, msg,
                      len);
            goto out;
        }
        if (cur.depth == 0)
            memcpy(top, h, sizeof(*h));
        if (strncmp(h->type, "multipart/", 10) == 0) {
            if (h->boundary[0] == '\0')
                continue; /* unreadable: look elsewhere */
            if (cur.depth + 1 > MIME_MAX_DEPTH) {
                rc = fail(reterr, MTASTS_ETOOBIG, MTASTS_R_TOO_BIG, cur.start,
                          msg, len);
                goto out;
            }
            n = split_parts(msg, h->body, cur.end, h->boundary, kids,
                            MIME_STACK, cur.depth + 1);
            if (n < 0 || (size_t)n > MIME_STACK - sp) {
                rc = fail(reterr, MTASTS_ETOOBIG, MTASTS_R_TOO_BIG, h->body,
                          msg, len);
                goto out;
            }
            for (k = n - 1; k >= 0; k--) /* document order */
                stack[sp++] = kids[k];
            continue;
        }
        if (is_report_part(h))
            found = 1;
    }
    if (!found) {
        rc = fail(reterr, MTASTS_ESYNTAX, MTASTS_R_NOT_FOUND, 0, msg, len);
        goto out;
    }

    /* decode the part: never longer than its encoded form */
    dcap = cur.end - h->body;
    dec = mt_alloc(ctx, dcap + 1);
    if (dec == NULL) {
        rc = mt_nomem(reterr);
        goto out;
    }
    if (strcmp(h->cte, "base64") == 0) {
        long r = b64_decode(msg, h->body, cur.end, dec, &off);

        if (r < 0) {
            rc = fail(reterr, MTASTS_ESYNTAX, MTASTS_R_ENCODING, off, msg, len);
            goto out;
        }
        dlen = (size_t)r;
    } else if (strcmp(h->cte, "quoted-printable") == 0) {
        dlen = qp_decode(msg, h->body, cur.end, dec);
    } else if (h->cte[0] == '\0' || strcmp(h->cte, "7bit") == 0 ||
               strcmp(h->cte, "8bit") == 0 || strcmp(h->cte, "binary") == 0) {
        dlen = dcap;
        memcpy(dec, msg + h->body, dlen);
    } else {
        rc = fail(reterr, MTASTS_ESYNTAX, MTASTS_R_ENCODING, h->body, msg, len);
        goto out;
    }
    /* gunzip (capped by MTASTS_LIMIT_GUNZIP_SIZE) and parse; a failure's
     * diagnostic is about the decoded report, as the parser gives it */
    rc = mtasts_tlsrpt_report_parse(ctx, dec, dlen, flags, ret_report, reterr);
    if (rc == MTASTS_OK && ret_mismatch != NULL)
        *ret_mismatch = mismatch(*ret_report, top,
                                 h->fname[0] != '\0' ? h->fname : h->name);
out:
    mt_free(ctx, dec, dec != NULL ? dcap + 1 : 0);
    mt_free(ctx, h, 2 * sizeof(*h));
    return rc;
}
