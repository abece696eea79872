/* The _smtp._tls TXT record (RFC 8460 3): parse, select, build, format. */
#include "internal.h"

/* One rua URI. While scanning, target of a mailto URI points at its
 * encoded path in the input (target_len is the decoded length); in a
 * record it is the decoded address. */
struct rua {
    const char *uri;
    size_t uri_len;
    const char *target; /* NULL when unusable */
    size_t target_len;
    int kind;
};

struct mtasts_tlsrpt_record {
    mtasts_ctx *ctx;
    size_t alloc_size;
    uint64_t warnings;
    size_t rua_count;
    struct rua *rua;
    size_t ext_count;
    struct kv_span *ext;
};

struct rpt_scan {
    /* out */
    int have_rua;
    size_t usable;
    size_t str_bytes; /* every string of the record with its NUL */
    uint64_t warnings;
    size_t woff;
    int reason;
    size_t off;
    /* what was found: struct rua, struct kv_span */
    struct mt_vec rua, ext;
};

/* What uri_check() learnt about a URI. */
struct uri_view {
    size_t scheme_len;
    size_t path_off; /* the path of hier-part */
    size_t path_len;
    int has_authority;
    size_t host_len;
};

#define RPT_VERSION     "v=TLSRPTv1"
#define RPT_VERSION_LEN 10
#define RUA_PREFIX      RPT_VERSION "; rua="
#define RUA_PREFIX_LEN  (RPT_VERSION_LEN + 6)
#define LOCAL_RUA       8
#define LOCAL_EXT       8
/* Longest usable mailto address: a 64-octet local-part, "@" and a domain
 * (RFC 5321 4.5.3.1.1, 4.5.3.1.2). */
#define MAILTO_MAX (64 + 1 + MTASTS_DOMAIN_MAX_LEN)

/* Classes of RFC 3986 characters for skip_uric(). pct-encoded triplets
 * are always accepted. */
#define U_UNRES 0x01u /* ALPHA DIGIT - . _ ~ */
#define U_SUB   0x02u /* ! $ & ' ( ) * + , ; = */
#define U_COLON 0x04u
#define U_AT    0x08u
#define U_SLASH 0x10u
#define U_QMARK 0x20u
#define U_PCHAR (U_UNRES | U_SUB | U_COLON | U_AT)

/* The class of every byte (0: none), one lookup per byte. */
static const unsigned char uri_cls[256] = {
    ['!'] = U_SUB,   ['$'] = U_SUB,   ['&'] = U_SUB,   ['\''] = U_SUB,
    ['('] = U_SUB,   [')'] = U_SUB,   ['*'] = U_SUB,   ['+'] = U_SUB,
    [','] = U_SUB,   ['-'] = U_UNRES, ['.'] = U_UNRES, ['/'] = U_SLASH,
    ['0'] = U_UNRES, ['1'] = U_UNRES, ['2'] = U_UNRES, ['3'] = U_UNRES,
    ['4'] = U_UNRES, ['5'] = U_UNRES, ['6'] = U_UNRES, ['7'] = U_UNRES,
    ['8'] = U_UNRES, ['9'] = U_UNRES, [':'] = U_COLON, [';'] = U_SUB,
    ['='] = U_SUB,   ['?'] = U_QMARK, ['@'] = U_AT,    ['A'] = U_UNRES,
    ['B'] = U_UNRES, ['C'] = U_UNRES, ['D'] = U_UNRES, ['E'] = U_UNRES,
    ['F'] = U_UNRES, ['G'] = U_UNRES, ['H'] = U_UNRES, ['I'] = U_UNRES,
    ['J'] = U_UNRES, ['K'] = U_UNRES, ['L'] = U_UNRES, ['M'] = U_UNRES,
    ['N'] = U_UNRES, ['O'] = U_UNRES, ['P'] = U_UNRES, ['Q'] = U_UNRES,
    ['R'] = U_UNRES, ['S'] = U_UNRES, ['T'] = U_UNRES, ['U'] = U_UNRES,
    ['V'] = U_UNRES, ['W'] = U_UNRES, ['X'] = U_UNRES, ['Y'] = U_UNRES,
    ['Z'] = U_UNRES, ['_'] = U_UNRES, ['a'] = U_UNRES, ['b'] = U_UNRES,
    ['c'] = U_UNRES, ['d'] = U_UNRES, ['e'] = U_UNRES, ['f'] = U_UNRES,
    ['g'] = U_UNRES, ['h'] = U_UNRES, ['i'] = U_UNRES, ['j'] = U_UNRES,
    ['k'] = U_UNRES, ['l'] = U_UNRES, ['m'] = U_UNRES, ['n'] = U_UNRES,
    ['o'] = U_UNRES, ['p'] = U_UNRES, ['q'] = U_UNRES, ['r'] = U_UNRES,
    ['s'] = U_UNRES, ['t'] = U_UNRES, ['u'] = U_UNRES, ['v'] = U_UNRES,
    ['w'] = U_UNRES, ['x'] = U_UNRES, ['y'] = U_UNRES, ['z'] = U_UNRES,
    ['~'] = U_UNRES,
};

static unsigned
uri_class(unsigned char c)
{
    return uri_cls[c];
}

/* Bytes that may appear in a URI of a rua list: every URI character but
 * ',' and ';', which separate URIs and fields. */
static int
uri_byte(unsigned char c)
{
    if (c == ',' || c == ';')
        return 0;
    return uri_class(c) != 0 || c == '%' || c == '#' || c == '[' || c == ']';
}

/* Skip bytes of the classes cls and pct-encoded triplets in s[p..lim).
 * Returns where it stopped; *bad is set when that is a '%' not followed
 * by two hex digits. */
static size_t
skip_uric(const char *s, size_t lim, size_t p, unsigned cls, int *bad)
{
    while (p < lim) {
        unsigned char c = (unsigned char)s[p];
        if (c == '%') {
            if (lim - p < 3 || mt_hex_val((unsigned char)s[p + 1]) < 0 ||
                mt_hex_val((unsigned char)s[p + 2]) < 0) {
                *bad = 1;
                return p;
            }
            p += 3;
        } else if ((uri_class(c) & cls) != 0) {
            p++;
        } else {
            break;
        }
    }
    return p;
}

/* Whether s[0..n) is an RFC 3986 URI: scheme ":" hier-part [ "?" query ]
 * [ "#" fragment ]. On failure *ret_off is the offset of the first byte
 * that does not fit (n when the URI ends too early). */
static int
uri_check(const char *s, size_t n, struct uri_view *v, size_t *ret_off)
{
    size_t p, ae, h, at, q;
    int bad = 0;

    memset(v, 0, sizeof(*v));
    if (n == 0 || !MT_IS(s[0], MT_C_ALPHA)) {
        *ret_off = 0;
        return 0;
    }
    for (p = 1; p < n; p++)
        if (!MT_IS(s[p], MT_ALNUM) && s[p] != '+' && s[p] != '-' && s[p] != '.')
            break;
    if (p == n || s[p] != ':') {
        *ret_off = p;
        return 0;
    }
    v->scheme_len = p++;
    if (n - p >= 2 && s[p] == '/' && s[p + 1] == '/') {
        /* "//" authority path-abempty */
        p += 2;
        for (ae = p; ae < n; ae++)
            if (s[ae] == '/' || s[ae] == '?' || s[ae] == '#')
                break;
        h = p;
        for (at = p; at < ae; at++)
            if (s[at] == '@')
                break;
        if (at < ae) {
            /* userinfo: unreserved / pct-encoded / sub-delims / ":" */
            q = skip_uric(s, at, p, U_UNRES | U_SUB | U_COLON, &bad);
            if (q != at) {
                *ret_off = q;
                return 0;
            }
            h = at + 1;
        }
        if (h < ae && s[h] == '[') {
            /* IP-literal, checked loosely: the characters of IPv6address
             * and IPvFuture, not empty */
            for (q = h + 1; q < ae; q++)
                if ((uri_class((unsigned char)s[q]) &
                     (U_UNRES | U_SUB | U_COLON)) == 0)
                    break;
            if (q == ae || s[q] != ']' || q == h + 1) {
                *ret_off = q;
                return 0;
            }
            q++;
        } else {
            q = skip_uric(s, ae, h, U_UNRES | U_SUB, &bad);
            if (bad) {
                *ret_off = q;
                return 0;
            }
        }
        v->has_authority = 1;
        v->host_len = q - h;
        if (q < ae && s[q] == ':')
            for (q++; q < ae && MT_IS(s[q], MT_C_DIGIT); q++)
                ;
        if (q != ae) {
            *ret_off = q;
            return 0;
        }
        p = ae;
    }
    /* path-abempty after an authority; otherwise path-absolute,
     * path-rootless or path-empty ("//" was taken above) */
    v->path_off = p;
    p = skip_uric(s, n, p, U_PCHAR | U_SLASH, &bad);
    v->path_len = p - v->path_off;
    if (!bad && p < n && s[p] == '?')
        p = skip_uric(s, n, p + 1, U_PCHAR | U_SLASH | U_QMARK, &bad);
    if (!bad && p < n && s[p] == '#')
        p = skip_uric(s, n, p + 1, U_PCHAR | U_SLASH | U_QMARK, &bad);
    if (p != n) {
        *ret_off = p;
        return 0;
    }
    return 1;
}

/* Decode the pct-encoded triplets of s[0..n) (already checked) into dst,
 * which has room for n bytes. Returns the decoded length. */
static size_t
pct_decode(const char *s, size_t n, char *dst)
{
    size_t i, k = 0;

    for (i = 0; i < n; i++) {
        if (s[i] == '%') {
            dst[k++] = (char)(mt_hex_val((unsigned char)s[i + 1]) * 16 +
                              mt_hex_val((unsigned char)s[i + 2]));
            i += 2;
        } else {
            dst[k++] = s[i];
        }
    }
    return k;
}

/* Whether a[0..n) is an addr-spec (RFC 5322 3.4.1, non-obsolete forms)
 * whose local-part has at most 64 octets and whose domain is an RFC 5321
 * Domain. */
static int
addr_spec_ok(const char *a, size_t n)
{
    size_t i = 0;

    if (n > 0 && a[0] == '"') {
        /* quoted-string: qtext, quoted-pair, WSP */
        for (i = 1;; i++) {
            unsigned char c;
            if (i >= n)
                return 0;
            c = (unsigned char)a[i];
            if (c == '"')
                break;
            if (c == '\\') {
                if (i + 1 >= n ||
                    !(MT_IS(a[i + 1], MT_C_VCHAR) || MT_IS(a[i + 1], MT_C_WSP)))
                    return 0;
                i++;
            } else if (!MT_IS(c, MT_C_VCHAR) && !MT_IS(c, MT_C_WSP)) {
                return 0;
            }
        }
        i++;
    } else {
        /* dot-atom-text */
        for (;;) {
            size_t s = i;
            while (i < n && mt_is_atext((unsigned char)a[i]))
                i++;
            if (i == s)
                return 0;
            if (i == n || a[i] != '.')
                break;
            i++;
        }
    }
    if (i > 64 || i == n || a[i] != '@')
        return 0;
    i++;
    return mt_name_valid(a + i, n - i);
}

/* Kind of a checked URI, with the decoded length of a mailto address in
 * *ret_tlen and, for an unusable one, the warning in *ret_w. */
static int
uri_kind(const char *s, const struct uri_view *v, size_t *ret_tlen, int *ret_w)
{
    char addr[MAILTO_MAX];
    size_t i, pct = 0, dl;

    *ret_tlen = 0;
    if (mt_ascii_caseeq(s, v->scheme_len, "https", 5)) {
        if (v->has_authority && v->host_len > 0)
            return MTASTS_RUA_HTTPS;
        *ret_w = MTASTS_W_RUA_SCHEME;
        return MTASTS_RUA_OTHER;
    }
    if (!mt_ascii_caseeq(s, v->scheme_len, "mailto", 6)) {
        *ret_w = MTASTS_W_RUA_SCHEME;
        return MTASTS_RUA_OTHER;
    }
    *ret_w = MTASTS_W_RUA_MAILTO;
    for (i = 0; i < v->path_len; i++)
        if (s[v->path_off + i] == '%')
            pct++;
    dl = v->path_len - 2 * pct;
    if (dl == 0 || dl > MAILTO_MAX)
        return MTASTS_RUA_OTHER;
    (void)pct_decode(s + v->path_off, v->path_len, addr);
    if (!addr_spec_ok(addr, dl))
        return MTASTS_RUA_OTHER;
    *ret_tlen = dl;
    return MTASTS_RUA_MAILTO;
}

/* The reason to report for an unexpected byte c, when fallback describes
 * what was expected there. */
static int
char_reason(unsigned char c, int fallback)
{
    if (c >= 0x80)
        return MTASTS_R_NON_ASCII;
    if ((c < 0x20 && c != '\t') || c == 0x7F)
        return MTASTS_R_CTL;
    return fallback;
}

static void
add_warning(struct rpt_scan *r, int w, size_t off)
{
    if (r->warnings == 0)
        r->woff = off;
    r->warnings |= MTASTS_WARN_BIT(w);
}

static int
scan_fail(struct rpt_scan *r, int reason, size_t off)
{
    r->reason = reason;
    r->off = off;
    return MTASTS_ESYNTAX;
}

/* Scan the URI list of a rua field from *pp: tlsrpt-uri *(*WSP ","
 * *WSP tlsrpt-uri). On success *pp is just after the last URI. Only the
 * first rua field (store 1) is recorded. */
int
mt_uri_ok(const char *s, size_t n)
{
    struct uri_view v;
    size_t off;

    return uri_check(s, n, &v, &off);
}

static int
scan_rua(const char *b, size_t n, size_t *pp, struct rpt_scan *r, int store)
{
    struct uri_view v;
    size_t p = *pp, q, ws, eo, tlen;
    struct rua *e;
    int kind, w;

    for (;;) {
        q = p;
        /* A URI ends at ',' or ';' (which it must encode) or WSP. */
        while (p < n && uri_byte((unsigned char)b[p]))
            p++;
        if (p < n && b[p] != ',' && b[p] != ';' && !MT_IS(b[p], MT_C_WSP))
            return scan_fail(r, char_reason((unsigned char)b[p], MTASTS_R_URI),
                             p);
        if (!uri_check(b + q, p - q, &v, &eo))
            return scan_fail(r, MTASTS_R_URI, q + eo);
        if (store) {
            w = 0;
            kind = uri_kind(b + q, &v, &tlen, &w);
            e = mt_vec_push(&r->rua);
            if (e == NULL)
                return MTASTS_ENOMEM;
            e->uri = b + q;
            e->uri_len = p - q;
            e->kind = kind;
            e->target = kind == MTASTS_RUA_MAILTO  ? b + q + v.path_off
                        : kind == MTASTS_RUA_HTTPS ? b + q
                                                   : NULL;
            e->target_len = kind == MTASTS_RUA_HTTPS ? p - q : tlen;
            r->str_bytes += p - q + 1;
            if (kind == MTASTS_RUA_MAILTO)
                r->str_bytes += tlen + 1;
            if (kind != MTASTS_RUA_OTHER)
                r->usable++;
            else
                add_warning(r, w, q);
        }
        ws = p;
        while (p < n && MT_IS(b[p], MT_C_WSP))
            p++;
        if (p == n || b[p] != ',') {
            *pp = ws;
            return MTASTS_OK;
        }
        p++;
        while (p < n && MT_IS(b[p], MT_C_WSP))
            p++;
    }
}

/* Skip a tlsrpt-ext-value from p; returns where it ended, or fails. */
static int
scan_ext_value(const char *b, size_t n, size_t *pp, struct rpt_scan *r)
{
    size_t p = *pp, q = p;

    while (p < n && MT_IS(b[p], MT_C_TXTV))
        p++;
    if (p < n && b[p] != ';' && !MT_IS(b[p], MT_C_WSP))
        return scan_fail(
            r, char_reason((unsigned char)b[p], MTASTS_R_EXT_VALUE), p);
    if (p == q)
        return scan_fail(r, MTASTS_R_EXT_VALUE, p);
    *pp = p;
    return MTASTS_OK;
}

/* Scan one record. Returns 0, MTASTS_ENOMEM or MTASTS_ESYNTAX (r->reason,
 * r->off). */
static int
scan_record(const char *b, size_t n, struct rpt_scan *r)
{
    size_t p, q, ws, fields = 0, name_len, rua_off = 0;
    struct kv_span *e;
    const char *name;
    int rc;

    if (n == 0)
        return scan_fail(r, MTASTS_R_EMPTY, 0);
    if (n < RPT_VERSION_LEN || memcmp(b, RPT_VERSION, RPT_VERSION_LEN) != 0) {
        for (p = 0; p < n && p < RPT_VERSION_LEN; p++)
            if (b[p] != RPT_VERSION[p])
                break;
        return scan_fail(
            r,
            char_reason((unsigned char)b[p < n ? p : n - 1], MTASTS_R_VERSION),
            p);
    }
    p = RPT_VERSION_LEN;
    if (p < n && b[p] != ';' && !MT_IS(b[p], MT_C_WSP))
        return scan_fail(r, char_reason((unsigned char)b[p], MTASTS_R_VERSION),
                         p);
    for (;;) {
        ws = p;
        while (p < n && MT_IS(b[p], MT_C_WSP))
            p++;
        if (p == n) {
            if (fields == 0)
                return scan_fail(r, MTASTS_R_FIELD, p);
            if (p > ws)
                add_warning(r, MTASTS_W_TRAILING_WSP, ws);
            break;
        }
        if (b[p] != ';')
            return scan_fail(
                r, char_reason((unsigned char)b[p], MTASTS_R_DELIM), p);
        p++;
        while (p < n && MT_IS(b[p], MT_C_WSP))
            p++;
        if (p == n) {
            if (fields == 0)
                return scan_fail(r, MTASTS_R_FIELD, p);
            break;
        }
        /* field name */
        q = p;
        if (!MT_IS(b[p], MT_ALNUM))
            return scan_fail(
                r, char_reason((unsigned char)b[p], MTASTS_R_FIELD), p);
        while (p < n && MT_IS(b[p], MT_C_EXTN))
            p++;
        name = b + q;
        name_len = p - q;
        if (name_len > MTASTS_EXT_NAME_MAX)
            return scan_fail(r, MTASTS_R_EXT_NAME, q + MTASTS_EXT_NAME_MAX);
        if (p == n || b[p] != '=')
            return scan_fail(
                r,
                p == n ? MTASTS_R_FIELD
                       : char_reason((unsigned char)b[p], MTASTS_R_EXT_NAME),
                p);
        p++;
        q = p;
        fields++;
        if (name_len == 3 && memcmp(name, "rua", 3) == 0) {
            if (!r->have_rua) {
                /* E-7: the first rua must be a URI list */
                rc = scan_rua(b, n, &p, r, 1);
                if (rc != MTASTS_OK)
                    return rc;
                r->have_rua = 1;
                rua_off = q;
                continue;
            }
            /* A later rua is ignored, but must be a valid field: a URI
             * list or an extension value. */
            if (scan_rua(b, n, &p, r, 0) != MTASTS_OK) {
                int reason = r->reason;
                size_t off = r->off;
                p = q;
                if (scan_ext_value(b, n, &p, r) != MTASTS_OK)
                    return scan_fail(r, reason, off);
            }
            add_warning(r, MTASTS_W_DUPLICATE_FIELD, (size_t)(name - b));
            continue;
        }
        if (scan_ext_value(b, n, &p, r) != MTASTS_OK)
            return MTASTS_ESYNTAX;
        if (name_len == 1 && name[0] == 'v') {
            add_warning(r, MTASTS_W_DUPLICATE_FIELD, (size_t)(name - b));
        } else {
            e = mt_vec_push(&r->ext);
            if (e == NULL)
                return MTASTS_ENOMEM;
            e->name = name;
            e->name_len = name_len;
            e->value = b + q;
            e->value_len = p - q;
            r->str_bytes += name_len + (p - q) + 2;
        }
    }
    if (!r->have_rua)
        return scan_fail(r, MTASTS_R_NO_RUA, n);
    if (r->usable == 0)
        add_warning(r, MTASTS_W_NO_USABLE_RUA, rua_off);
    return MTASTS_OK;
}

static char *
copy_str(char *dst, const char *src, size_t n)
{
    memcpy(dst, src, n);
    dst[n] = '\0';
    return dst + n + 1;
}

/* The canonical text of rec (mtasts_tlsrpt_record_format()). */
static void
put_record(struct mt_out *o, const mtasts_tlsrpt_record *rec)
{
    size_t i;

    mt_out_put(o, RUA_PREFIX, RUA_PREFIX_LEN);
    for (i = 0; i < rec->rua_count; i++) {
        if (i > 0)
            mt_out_put(o, ",", 1);
        mt_out_put(o, rec->rua[i].uri, rec->rua[i].uri_len);
    }
    for (i = 0; i < rec->ext_count; i++) {
        mt_out_put(o, "; ", 2);
        mt_out_put(o, rec->ext[i].name, rec->ext[i].name_len);
        mt_out_put(o, "=", 1);
        mt_out_put(o, rec->ext[i].value, rec->ext[i].value_len);
    }
}

/* The record object from a complete scan r. */
static int
record_make(mtasts_ctx *ctx, const struct rpt_scan *r, unsigned flags,
            mtasts_tlsrpt_record **ret_rec, struct mtasts_diag *reterr)
{
    struct mt_out o;
    mtasts_tlsrpt_record *rec;
    size_t size, i;
    char *s;

    if ((flags & MTASTS_PARSE_F_STRICT) && r->warnings != 0) {
        mt_diag_fail(reterr, MTASTS_ESTRICT, MTASTS_R_STRICT, r->woff, NULL, 0);
        if (reterr != NULL)
            reterr->warnings = r->warnings;
        return MTASTS_ESTRICT;
    }
    /* One allocation: header, URIs, extension spans, then the strings.
     * Every count is below n, so only an absurd limit could overflow. */
    if (!mt_size_muladd(r->rua.n, sizeof(struct rua), sizeof(*rec), &size) ||
        !mt_size_muladd(r->ext.n, sizeof(struct kv_span), size, &size) ||
        !mt_size_muladd(1, r->str_bytes, size, &size))
        return mt_nomem(reterr);
    rec = mt_alloc(ctx, size);
    if (rec == NULL)
        return mt_nomem(reterr);
    rec->ctx = ctx;
    rec->alloc_size = size;
    rec->warnings = r->warnings;
    rec->rua_count = r->rua.n;
    rec->rua = (struct rua *)(void *)(rec + 1);
    rec->ext_count = r->ext.n;
    rec->ext = (struct kv_span *)(void *)(rec->rua + rec->rua_count);
    if (rec->rua_count > 0)
        memcpy(rec->rua, r->rua.v, rec->rua_count * sizeof(struct rua));
    if (rec->ext_count > 0)
        memcpy(rec->ext, r->ext.v, rec->ext_count * sizeof(struct kv_span));
    s = (char *)(rec->ext + rec->ext_count);
    for (i = 0; i < rec->rua_count; i++) {
        struct rua *e = &rec->rua[i];
        const char *u = e->uri, *path = e->target;
        e->uri = s;
        s = copy_str(s, u, e->uri_len);
        if (e->kind == MTASTS_RUA_HTTPS) {
            e->target = e->uri;
        } else if (e->kind == MTASTS_RUA_MAILTO) {
            /* the path ends at '?', '#' or the end of the URI */
            size_t plen = 0;
            while (path + plen < u + e->uri_len && path[plen] != '?' &&
                   path[plen] != '#')
                plen++;
            e->target = s;
            s += pct_decode(path, plen, s);
            *s++ = '\0';
        }
    }
    s = mt_kv_copy(rec->ext, rec->ext_count, s);
    /* The canonical text must fit the limit too, or the record would not
     * parse again: it can be longer than the input ("; " between fields). */
    mt_out_init(&o, NULL, 0);
    put_record(&o, rec);
    if (mt_txt_size_check(ctx, o.len, reterr) != MTASTS_OK) {
        mt_free(ctx, rec, rec->alloc_size);
        return MTASTS_ETOOBIG;
    }
    mt_diag_ok(reterr, r->warnings, r->woff);
    *ret_rec = rec;
    return MTASTS_OK;
}

/* Parse b[0..n) into a new record. The caller checked arguments. */
static int
record_parse(mtasts_ctx *ctx, const char *b, size_t n, unsigned flags,
             mtasts_tlsrpt_record **ret_rec, struct mtasts_diag *reterr)
{
    struct rua local_rua[LOCAL_RUA];
    struct kv_span local_ext[LOCAL_EXT];
    struct rpt_scan r;
    int rc;

    rc = mt_txt_size_check(ctx, n, reterr);
    if (rc != MTASTS_OK)
        return rc;
    memset(&r, 0, sizeof(r));
    mt_vec_init(&r.rua, ctx, local_rua, LOCAL_RUA, sizeof(local_rua[0]));
    mt_vec_init(&r.ext, ctx, local_ext, LOCAL_EXT, sizeof(local_ext[0]));
    rc = scan_record(b, n, &r);
    if (rc == MTASTS_ENOMEM)
        mt_nomem(reterr);
    else if (rc != MTASTS_OK)
        mt_diag_fail(reterr, rc, r.reason, r.off, NULL, 0);
    else
        rc = record_make(ctx, &r, flags, ret_rec, reterr);
    mt_vec_fini(&r.rua);
    mt_vec_fini(&r.ext);
    return rc;
}

int
mtasts_tlsrpt_record_parse(mtasts_ctx *ctx, const char *buf, size_t len,
                           unsigned flags, mtasts_tlsrpt_record **ret_rec,
                           struct mtasts_diag *reterr)
{
    int rc;

    if (ret_rec != NULL)
        *ret_rec = NULL;
    if (ctx == NULL || ret_rec == NULL || (buf == NULL && len > 0) ||
        (flags & ~(unsigned)MTASTS_PARSE_F_STRICT) != 0)
        return MTASTS_EINVAL;
    rc = mt_diag_check(reterr);
    if (rc != MTASTS_OK)
        return rc;
    return record_parse(ctx, buf, len, flags, ret_rec, reterr);
}

int
mtasts_tlsrpt_txt_name(const char *domain, size_t len, char *dst,
                       size_t dst_len, size_t *ret_needed)
{
    return mt_domain_wrap("_smtp._tls.", 11, domain, len, "", dst, dst_len,
                          ret_needed);
}

static int
rpt_sel_parse(mtasts_ctx *ctx, const char *b, size_t n, unsigned flags,
              void *arg, struct mtasts_diag *reterr)
{
    return record_parse(ctx, b, n, flags, arg, reterr);
}

int
mtasts_tlsrpt_record_select(mtasts_ctx *ctx, const char *const *strs,
                            const size_t *str_lens, const size_t *rr_nstr,
                            size_t rr_count, unsigned flags, int *ret_outcome,
                            mtasts_tlsrpt_record **ret_rec,
                            struct mtasts_diag *reterr)
{
    int rc;

    if (ret_rec != NULL)
        *ret_rec = NULL;
    if (ctx == NULL || ret_outcome == NULL || ret_rec == NULL ||
        (flags & ~(unsigned)MTASTS_PARSE_F_STRICT) != 0)
        return MTASTS_EINVAL;
    rc = mt_diag_check(reterr);
    if (rc != MTASTS_OK)
        return rc;
    return mt_txt_select(ctx, RPT_VERSION, RPT_VERSION_LEN, strs, str_lens,
                         rr_nstr, rr_count, flags, ret_outcome, rpt_sel_parse,
                         ret_rec, reterr);
}

/* Write a URI with ',', '!' and ';' percent-encoded (RPT-TXT-6). */
static void
put_encoded(struct mt_out *o, const char *u, size_t n)
{
    size_t i, run = 0;

    if (n == 0)
        return;
    for (i = 0; i < n; i++) {
        const char *enc = u[i] == ','   ? "%2C"
                          : u[i] == '!' ? "%21"
                          : u[i] == ';' ? "%3B"
                                        : NULL;
        if (enc == NULL)
            continue;
        mt_out_put(o, u + run, i - run);
        mt_out_put(o, enc, 3);
        run = i + 1;
    }
    mt_out_put(o, u + run, n - run);
}

int
mtasts_tlsrpt_record_build(mtasts_ctx *ctx, const char *const *uris,
                           const size_t *uri_lens, size_t count,
                           mtasts_tlsrpt_record **ret_rec,
                           struct mtasts_diag *reterr)
{
    struct uri_view v;
    struct mt_out o;
    size_t i, need, start, eo, limit;
    char *text;
    int rc;

    if (ret_rec != NULL)
        *ret_rec = NULL;
    if (ctx == NULL || ret_rec == NULL ||
        (count > 0 && (uris == NULL || uri_lens == NULL)))
        return MTASTS_EINVAL;
    for (i = 0; i < count; i++)
        if (uris[i] == NULL && uri_lens[i] > 0)
            return MTASTS_EINVAL;
    rc = mt_diag_check(reterr);
    if (rc != MTASTS_OK)
        return rc;
    if (count == 0) {
        mt_diag_fail(reterr, MTASTS_ESYNTAX, MTASTS_R_EMPTY, 0, NULL, 0);
        return MTASTS_ESYNTAX;
    }
    /* The text, measured without overflow: refuse more than the limit
     * before allocating. */
    limit = ctx->limits[MTASTS_LIMIT_TXT_SIZE];
    need = RUA_PREFIX_LEN + count - 1;
    for (i = 0; i < count && need <= limit; i++) {
        if (uri_lens[i] > limit) {
            need = limit + 1;
            break;
        }
        mt_out_init(&o, NULL, 0);
        put_encoded(&o, uris[i], uri_lens[i]);
        if (o.len > limit - need) {
            need = limit + 1;
            break;
        }
        need += o.len;
    }
    if (need > limit) {
        mt_diag_fail(reterr, MTASTS_ETOOBIG, MTASTS_R_TOO_BIG, limit, NULL, 0);
        return MTASTS_ETOOBIG;
    }
    text = mt_alloc(ctx, need + 1);
    if (text == NULL)
        return mt_nomem(reterr);
    mt_out_init(&o, text, need + 1);
    mt_out_put(&o, RUA_PREFIX, RUA_PREFIX_LEN);
    for (i = 0; i < count; i++) {
        if (i > 0)
            mt_out_put(&o, ",", 1);
        start = o.len;
        put_encoded(&o, uris[i], uri_lens[i]);
        if (!uri_check(text + start, o.len - start, &v, &eo)) {
            mt_free(ctx, text, need + 1);
            mt_diag_fail(reterr, MTASTS_ESYNTAX, MTASTS_R_URI, i, NULL, 0);
            return MTASTS_ESYNTAX;
        }
    }
    rc = record_parse(ctx, text, o.len, 0, ret_rec, reterr);
    mt_free(ctx, text, need + 1);
    return rc;
}

void
mtasts_tlsrpt_record_free(mtasts_tlsrpt_record *rec)
{
    if (rec != NULL)
        mt_free(rec->ctx, rec, rec->alloc_size);
}

size_t
mtasts_tlsrpt_record_rua_count(const mtasts_tlsrpt_record *rec)
{
    return rec != NULL ? rec->rua_count : 0;
}

const char *
mtasts_tlsrpt_record_rua(const mtasts_tlsrpt_record *rec, size_t i,
                         size_t *ret_len)
{
    if (rec == NULL || i >= rec->rua_count) {
        if (ret_len != NULL)
            *ret_len = 0;
        return NULL;
    }
    if (ret_len != NULL)
        *ret_len = rec->rua[i].uri_len;
    return rec->rua[i].uri;
}

int
mtasts_tlsrpt_record_rua_kind(const mtasts_tlsrpt_record *rec, size_t i)
{
    if (rec == NULL || i >= rec->rua_count)
        return MTASTS_RUA_OTHER;
    return rec->rua[i].kind;
}

const char *
mtasts_tlsrpt_record_rua_target(const mtasts_tlsrpt_record *rec, size_t i,
                                size_t *ret_len)
{
    if (rec == NULL || i >= rec->rua_count || rec->rua[i].target == NULL) {
        if (ret_len != NULL)
            *ret_len = 0;
        return NULL;
    }
    if (ret_len != NULL)
        *ret_len = rec->rua[i].target_len;
    return rec->rua[i].target;
}

size_t
mtasts_tlsrpt_record_ext_count(const mtasts_tlsrpt_record *rec)
{
    return rec != NULL ? rec->ext_count : 0;
}

int
mtasts_tlsrpt_record_ext(const mtasts_tlsrpt_record *rec, size_t i,
                         const char **ret_name, size_t *ret_name_len,
                         const char **ret_value, size_t *ret_value_len)
{
    if (rec == NULL)
        return MTASTS_EINVAL;
    return mt_kv_get(rec->ext, rec->ext_count, i, ret_name, ret_name_len,
                     ret_value, ret_value_len);
}

uint64_t
mtasts_tlsrpt_record_warnings(const mtasts_tlsrpt_record *rec)
{
    return rec != NULL ? rec->warnings : 0;
}

int
mtasts_tlsrpt_record_format(const mtasts_tlsrpt_record *rec, char *dst,
                            size_t dst_len, size_t *ret_needed)
{
    struct mt_out o;

    if (rec == NULL || (dst == NULL && dst_len > 0))
        return MTASTS_EINVAL;
    mt_out_init(&o, dst, dst_len);
    put_record(&o, rec);
    return mt_out_finish(&o, ret_needed);
}
