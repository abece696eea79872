/*
 * The reader of libtlsrpt's datagrams, "dpv" (datagram protocol version)
 * 1: one JSON object per datagram,
 *
 *   {"dpv": "1", "d": DOMAIN, "pr": RECORD, "policies": [POLICY, ...]}
 *   POLICY  = {"policy-type": 1|2|9, "policy-domain": D,
 *              "policy-string": [S, ...], "mx-host": [S, ...],
 *              "failure-details": [FAILURE, ...], "t": N, "f": 0|1}
 *   FAILURE = {"c": CODE, "s": IP, "n": HOST, "h": HELO, "r": IP,
 *              "a": TEXT, "f": TEXT}
 *
 * Strict RFC 8259 syntax (whitespace anywhere between tokens, escapes,
 * surrogate pairs; no raw control character in a string, no duplicate
 * member), except that bytes >= 0x80 in strings are taken as they are:
 * libtlsrpt writes them raw with no UTF-8 check (an EHLO reply may hold
 * any byte), and collect.c deals with them. Numbers of the known members
 * are integers. Unknown members are skipped (any JSON value, nested at
 * most TD_DEPTH_MAX deep), so that a later libtlsrpt may add some.
 * Required: dpv ("1"), d, policies (one or more); in a policy,
 * policy-type and f; in a failure, c. pr and t are optional.
 *
 * No recursion: the object levels are fixed, and unknown values are
 * skipped with an explicit stack. Strings without escapes point into the
 * datagram; the others are decoded into an arena of the datagram's size
 * (a decoded string is never longer than its JSON form), so the datagram
 * itself is never changed and can be dumped as it came.
 */
#include <string.h>

#include "td.h"

struct td_parser {
    struct td_mem m;
    char *arena;
    size_t arena_cap, arena_len;
    struct td_policy *pol;
    size_t npol, polcap;
    struct td_text *txt;
    size_t ntxt, txtcap;
    struct td_failure *fail;
    size_t nfail, failcap;
    /* while reading, a policy's lists are index ranges into txt and
     * fail; td_parse() turns them into pointers at the end */
    size_t *idx; /* per policy: strings, mx, failures start */
    size_t idxcap;
    struct td_result res;
};

int
td_parser_new(const struct mtasts_alloc *alloc, struct td_parser **ret)
{
    struct td_parser *p;
    struct td_mem m;
    int rc;

    if (ret == NULL)
        return MTASTS_EINVAL;
    *ret = NULL;
    if ((rc = td_mem_init(&m, alloc)) != MTASTS_OK)
        return rc;
    p = td_mem_alloc(&m, sizeof(*p));
    if (p == NULL)
        return MTASTS_ENOMEM;
    memset(p, 0, sizeof(*p));
    p->m = m;
    *ret = p;
    return MTASTS_OK;
}

void
td_parser_free(struct td_parser *p)
{
    struct td_mem m;

    if (p == NULL)
        return;
    m = p->m;
    td_mem_free(&m, p->arena, p->arena_cap);
    td_mem_free(&m, p->pol, p->polcap * sizeof(*p->pol));
    td_mem_free(&m, p->txt, p->txtcap * sizeof(*p->txt));
    td_mem_free(&m, p->fail, p->failcap * sizeof(*p->fail));
    td_mem_free(&m, p->idx, p->idxcap * sizeof(*p->idx));
    td_mem_free(&m, p, sizeof(*p));
}

/* ------------------------------------------------------------------ */
/* The cursor                                                          */
/* ------------------------------------------------------------------ */

struct rd {
    const unsigned char *b;
    size_t n, i;
    struct td_parser *p;
    struct td_err *err;
};

static int
fail(struct rd *r, int status, size_t off, const char *expected)
{
    r->err->status = status;
    r->err->off = off;
    r->err->expected = expected;
    return -1;
}

static void
ws(struct rd *r)
{
    while (r->i < r->n && (r->b[r->i] == ' ' || r->b[r->i] == '\t' ||
                           r->b[r->i] == '\n' || r->b[r->i] == '\r'))
        r->i++;
}

/* After whitespace, the byte c; else fail with expected. */
static int
take(struct rd *r, unsigned char c, const char *expected)
{
    ws(r);
    if (r->i >= r->n || r->b[r->i] != c)
        return fail(r, MTASTS_ESYNTAX, r->i, expected);
    r->i++;
    return 0;
}

/* 1 and skip c when it comes next (after whitespace), else 0. */
static int
peek(struct rd *r, unsigned char c)
{
    ws(r);
    if (r->i < r->n && r->b[r->i] == c) {
        r->i++;
        return 1;
    }
    return 0;
}

static int
hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Four hex digits at b[i..i+4). */
static long
hex4(struct rd *r, size_t i)
{
    long v = 0;
    size_t k;
    int h;

    if (r->n - i < 4)
        return -1;
    for (k = 0; k < 4; k++) {
        if ((h = hexval(r->b[i + k])) < 0)
            return -1;
        v = v * 16 + h;
    }
    return v;
}

/* UTF-8 of code point cp (at most U+10FFFF) into d; its length. */
static size_t
put_utf8(unsigned char *d, unsigned long cp)
{
    if (cp < 0x80) {
        d[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        d[0] = (unsigned char)(0xC0 | (cp >> 6));
        d[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        d[0] = (unsigned char)(0xE0 | (cp >> 12));
        d[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        d[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    d[0] = (unsigned char)(0xF0 | (cp >> 18));
    d[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
    d[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    d[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

/*
 * A string (after whitespace), expected names what the caller wants. With
 * out == NULL it is only checked (a skipped value). Its decoded bytes:
 * in the datagram when it has no escape, else in the arena.
 */
static int
string(struct rd *r, struct td_text *out, const char *expected)
{
    size_t start, seg;
    unsigned char *d = NULL;
    unsigned char c;
    long v, lo;
    unsigned long cp;

    ws(r);
    if (r->i >= r->n || r->b[r->i] != '"')
        return fail(r, MTASTS_ESYNTAX, r->i, expected);
    start = r->i++;
    seg = r->i;
    for (;;) {
        if (r->i >= r->n)
            return fail(r, MTASTS_ESYNTAX, r->i,
                        "'\"' to end the string (the datagram ends inside "
                        "it)");
        c = r->b[r->i];
        if (c == '"')
            break;
        if (c < 0x20)
            return fail(r, MTASTS_ESYNTAX, r->i,
                        "no control character in a string (JSON escapes "
                        "them)");
        if (c != '\\') {
            if (d != NULL)
                *d++ = c;
            r->i++;
            continue;
        }
        /* an escape: from here on the string is decoded */
        if (d == NULL && out != NULL) {
            d = (unsigned char *)r->p->arena + r->p->arena_len;
            memcpy(d, r->b + seg, r->i - seg);
            d += r->i - seg;
        }
        if (r->n - r->i < 2)
            return fail(r, MTASTS_ESYNTAX, r->i,
                        "an escape (the datagram ends inside it)");
        c = r->b[r->i + 1];
        switch (c) {
        case '"':
        case '\\':
        case '/':
            break;
        case 'b':
            c = '\b';
            break;
        case 'f':
            c = '\f';
            break;
        case 'n':
            c = '\n';
            break;
        case 'r':
            c = '\r';
            break;
        case 't':
            c = '\t';
            break;
        case 'u':
            if ((v = hex4(r, r->i + 2)) < 0)
                return fail(r, MTASTS_ESYNTAX, r->i,
                            "four hex digits after \\u");
            if (v >= 0xDC00 && v <= 0xDFFF)
                return fail(r, MTASTS_ESYNTAX, r->i,
                            "no low surrogate without a high one before it");
            cp = (unsigned long)v;
            if (v >= 0xD800 && v <= 0xDBFF) {
                if (r->n - r->i < 12 || r->b[r->i + 6] != '\\' ||
                    r->b[r->i + 7] != 'u' ||
                    (lo = hex4(r, r->i + 8)) < 0xDC00 || lo > 0xDFFF)
                    return fail(r, MTASTS_ESYNTAX, r->i + 6,
                                "a low surrogate (\\uDC00-\\uDFFF) after a "
                                "high one");
                cp = 0x10000 + (((unsigned long)v - 0xD800) << 10) +
                     ((unsigned long)lo - 0xDC00);
                r->i += 6;
            }
            r->i += 6;
            if (d != NULL)
                d += put_utf8(d, cp);
            continue;
        default:
            return fail(r, MTASTS_ESYNTAX, r->i,
                        "an escape: \\\" \\\\ \\/ \\b \\f \\n \\r \\t or "
                        "\\uXXXX");
        }
        if (d != NULL)
            *d++ = c;
        r->i += 2;
    }
    if (out != NULL) {
        out->off = start;
        if (d == NULL) {
            out->p = (const char *)r->b + seg;
            out->n = r->i - seg;
        } else {
            unsigned char *a = (unsigned char *)r->p->arena + r->p->arena_len;
            out->p = (const char *)a;
            out->n = (size_t)(d - a);
            r->p->arena_len += out->n;
        }
    }
    r->i++;
    return 0;
}

/* An integer -?(0|[1-9][0-9]*) that fits int64_t. */
static int
integer(struct rd *r, int64_t *out, const char *expected)
{
    size_t start;
    uint64_t v = 0, lim;
    int neg = 0;
    unsigned d;

    ws(r);
    start = r->i;
    if (r->i < r->n && r->b[r->i] == '-') {
        neg = 1;
        r->i++;
    }
    if (r->i >= r->n || r->b[r->i] < '0' || r->b[r->i] > '9')
        return fail(r, MTASTS_ESYNTAX, start, expected);
    if (r->b[r->i] == '0' && r->n - r->i > 1 && r->b[r->i + 1] >= '0' &&
        r->b[r->i + 1] <= '9')
        return fail(r, MTASTS_ESYNTAX, start,
                    "an integer without a leading zero");
    lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    while (r->i < r->n && r->b[r->i] >= '0' && r->b[r->i] <= '9') {
        d = (unsigned)(r->b[r->i] - '0');
        if (v > (lim - d) / 10)
            return fail(r, MTASTS_ETOOBIG, start, "an integer within 64 bits");
        v = v * 10 + d;
        r->i++;
    }
    if (r->i < r->n &&
        (r->b[r->i] == '.' || r->b[r->i] == 'e' || r->b[r->i] == 'E'))
        return fail(r, MTASTS_ESYNTAX, start,
                    "an integer (no fraction or exponent)");
    if (neg)
        *out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
    else
        *out = (int64_t)v;
    return 0;
}

/* A JSON number of any form (a skipped value). */
static int
number(struct rd *r)
{
    size_t start = r->i;

    if (r->i < r->n && r->b[r->i] == '-')
        r->i++;
    if (r->i >= r->n || r->b[r->i] < '0' || r->b[r->i] > '9')
        return fail(r, MTASTS_ESYNTAX, start, "a JSON value");
    if (r->b[r->i] == '0')
        r->i++;
    else
        while (r->i < r->n && r->b[r->i] >= '0' && r->b[r->i] <= '9')
            r->i++;
    if (r->i < r->n && r->b[r->i] == '.') {
        r->i++;
        if (r->i >= r->n || r->b[r->i] < '0' || r->b[r->i] > '9')
            return fail(r, MTASTS_ESYNTAX, r->i, "a digit after '.'");
        while (r->i < r->n && r->b[r->i] >= '0' && r->b[r->i] <= '9')
            r->i++;
    }
    if (r->i < r->n && (r->b[r->i] == 'e' || r->b[r->i] == 'E')) {
        r->i++;
        if (r->i < r->n && (r->b[r->i] == '+' || r->b[r->i] == '-'))
            r->i++;
        if (r->i >= r->n || r->b[r->i] < '0' || r->b[r->i] > '9')
            return fail(r, MTASTS_ESYNTAX, r->i, "a digit in the exponent");
        while (r->i < r->n && r->b[r->i] >= '0' && r->b[r->i] <= '9')
            r->i++;
    }
    return 0;
}

static int
literal(struct rd *r, const char *word)
{
    size_t n = strlen(word);

    if (r->n - r->i < n || memcmp(r->b + r->i, word, n) != 0)
        return fail(r, MTASTS_ESYNTAX, r->i, "a JSON value");
    r->i += n;
    return 0;
}

/* Skip one value of any kind (an unknown member's), depth levels deep
 * already. */
static int
skip_value(struct rd *r, size_t depth)
{
    unsigned char stack[TD_DEPTH_MAX];
    size_t top = 0;
    unsigned char c;

value:
    ws(r);
    if (r->i >= r->n)
        return fail(r, MTASTS_ESYNTAX, r->i, "a JSON value");
    c = r->b[r->i];
    if (c == '{' || c == '[') {
        if (depth + top >= TD_DEPTH_MAX)
            return fail(r, MTASTS_ETOOBIG, r->i,
                        "JSON nested at most 32 levels deep");
        stack[top++] = c;
        r->i++;
        if (peek(r, c == '{' ? '}' : ']')) {
            top--;
            goto after;
        }
        if (c == '[')
            goto value;
        goto key;
    }
    if (c == '"') {
        if (string(r, NULL, "a JSON value") != 0)
            return -1;
    } else if (c == '-' || (c >= '0' && c <= '9')) {
        if (number(r) != 0)
            return -1;
    } else if (literal(r, c == 't' ? "true" : c == 'f' ? "false" : "null") != 0)
        return -1;
after:
    if (top == 0)
        return 0;
    if (peek(r, ',')) {
        if (stack[top - 1] == '[')
            goto value;
        goto key;
    }
    if (peek(r, stack[top - 1] == '{' ? '}' : ']')) {
        top--;
        goto after;
    }
    return fail(r, MTASTS_ESYNTAX, r->i,
                stack[top - 1] == '{' ? "',' or '}' in an object"
                                      : "',' or ']' in an array");
key:
    if (string(r, NULL, "'\"' to start a member name") != 0 ||
        take(r, ':', "':' after a member name") != 0)
        return -1;
    goto value;
}

/* ------------------------------------------------------------------ */
/* Objects and arrays                                                  */
/* ------------------------------------------------------------------ */

/* The next member of an object whose '{' was read: 1 with its name in
 * *key, 0 at the closing '}', -1 on error. *first: no member read yet. */
static int
member(struct rd *r, int *first, struct td_text *key)
{
    if (peek(r, '}'))
        return 0;
    if (!*first && take(r, ',', "',' or '}' after a member") != 0)
        return -1;
    *first = 0;
    if (string(r, key, "'\"' to start a member name") != 0 ||
        take(r, ':', "':' after a member name") != 0)
        return -1;
    return 1;
}

/* The next element of an array whose '[' was read: 1 when one follows,
 * 0 at the closing ']', -1 on error. */
static int
element(struct rd *r, int *first)
{
    if (peek(r, ']'))
        return 0;
    if (!*first && take(r, ',', "',' or ']' after an element") != 0)
        return -1;
    *first = 0;
    return 1;
}

static int
is(const struct td_text *k, const char *name)
{
    size_t n = strlen(name);

    return k->n == n && memcmp(k->p, name, n) == 0;
}

/* Mark member bit once; a second time is an error at off. */
static int
once(struct rd *r, unsigned *seen, unsigned bit, size_t off)
{
    if (*seen & bit)
        return fail(r, MTASTS_ESYNTAX, off, "each member at most once");
    *seen |= bit;
    return 0;
}

/* An array of strings, appended to p->txt. */
static int
strings(struct rd *r, const char *expected)
{
    struct td_parser *p = r->p;
    int first = 1, k;

    if (take(r, '[', expected) != 0)
        return -1;
    while ((k = element(r, &first)) == 1) {
        if (td_mem_grow(&p->m, &p->txt, &p->txtcap, p->ntxt + 1,
                        sizeof(*p->txt)) != 0)
            return fail(r, MTASTS_ENOMEM, r->i, "memory");
        if (string(r, &p->txt[p->ntxt], "a string as an element") != 0)
            return -1;
        p->ntxt++;
    }
    return k;
}

enum {
    F_C = 1u << 0,
    F_S = 1u << 1,
    F_N = 1u << 2,
    F_H = 1u << 3,
    F_R = 1u << 4,
    F_A = 1u << 5,
    F_F = 1u << 6
};

static int
failure(struct rd *r)
{
    struct td_parser *p = r->p;
    struct td_failure *f;
    struct td_text key, *t;
    unsigned seen = 0, bit;
    size_t obj;
    int first = 1, k;

    ws(r);
    obj = r->i;
    if (take(r, '{', "'{' to start a failure-details element") != 0)
        return -1;
    if (td_mem_grow(&p->m, &p->fail, &p->failcap, p->nfail + 1,
                    sizeof(*p->fail)) != 0)
        return fail(r, MTASTS_ENOMEM, r->i, "memory");
    f = &p->fail[p->nfail];
    memset(f, 0, sizeof(*f));
    while ((k = member(r, &first, &key)) == 1) {
        t = NULL;
        bit = 0;
        if (key.n == 1) {
            switch (key.p[0]) {
            case 'c':
                bit = F_C;
                break;
            case 's':
                bit = F_S;
                t = &f->sending_ip;
                break;
            case 'n':
                bit = F_N;
                t = &f->mx_host;
                break;
            case 'h':
                bit = F_H;
                t = &f->helo;
                break;
            case 'r':
                bit = F_R;
                t = &f->receiving_ip;
                break;
            case 'a':
                bit = F_A;
                t = &f->additional;
                break;
            case 'f':
                bit = F_F;
                t = &f->reason;
                break;
            default:
                break;
            }
        }
        if (bit == 0) {
            if (skip_value(r, 5) != 0)
                return -1;
            continue;
        }
        if (once(r, &seen, bit, key.off) != 0)
            return -1;
        if (bit == F_C) {
            if (integer(r, &f->code, "an integer failure code as c") != 0)
                return -1;
        } else if (string(r, t,
                          "a string (s, n, h, r, a and f are "
                          "strings)") != 0)
            return -1;
    }
    if (k < 0)
        return -1;
    if (!(seen & F_C))
        return fail(r, MTASTS_ESYNTAX, obj,
                    "a failure code (member c) in each failure-details "
                    "element");
    p->nfail++;
    return 0;
}

enum {
    P_TYPE = 1u << 0,
    P_DOMAIN = 1u << 1,
    P_STRINGS = 1u << 2,
    P_MX = 1u << 3,
    P_DETAILS = 1u << 4,
    P_T = 1u << 5,
    P_F = 1u << 6
};

/* One policies element; its lists are index ranges for now (p->idx). */
static int
policy(struct rd *r)
{
    struct td_parser *p = r->p;
    struct td_policy *pol;
    struct td_text key;
    unsigned seen = 0;
    size_t obj, s0, m0, f0, *ix;
    int64_t v;
    int first = 1, k;

    ws(r);
    obj = r->i;
    if (take(r, '{', "'{' to start a policies element") != 0)
        return -1;
    if (td_mem_grow(&p->m, &p->pol, &p->polcap, p->npol + 1, sizeof(*p->pol)) !=
            0 ||
        td_mem_grow(&p->m, &p->idx, &p->idxcap, 3 * (p->npol + 1),
                    sizeof(*p->idx)) != 0)
        return fail(r, MTASTS_ENOMEM, r->i, "memory");
    pol = &p->pol[p->npol];
    memset(pol, 0, sizeof(*pol));
    pol->off = obj;
    pol->t = -1;
    s0 = m0 = f0 = 0;
    while ((k = member(r, &first, &key)) == 1) {
        if (is(&key, "policy-type")) {
            if (once(r, &seen, P_TYPE, key.off) != 0 ||
                integer(r, &v, "an integer as policy-type") != 0)
                return -1;
            if (v != TD_POLICY_TLSA && v != TD_POLICY_STS &&
                v != TD_POLICY_NONE)
                return fail(r, MTASTS_ESYNTAX, key.off,
                            "policy-type 1 (tlsa), 2 (sts) or 9 "
                            "(no-policy-found)");
            pol->type = (int)v;
        } else if (is(&key, "policy-domain")) {
            if (once(r, &seen, P_DOMAIN, key.off) != 0 ||
                string(r, &pol->domain, "a string as policy-domain") != 0)
                return -1;
        } else if (is(&key, "policy-string")) {
            if (once(r, &seen, P_STRINGS, key.off) != 0)
                return -1;
            s0 = p->ntxt;
            if (strings(r, "an array of strings as policy-string") != 0)
                return -1;
            pol->nstrings = p->ntxt - s0;
        } else if (is(&key, "mx-host")) {
            if (once(r, &seen, P_MX, key.off) != 0)
                return -1;
            m0 = p->ntxt;
            if (strings(r, "an array of strings as mx-host") != 0)
                return -1;
            pol->nmx = p->ntxt - m0;
        } else if (is(&key, "failure-details")) {
            int ff = 1;
            if (once(r, &seen, P_DETAILS, key.off) != 0 ||
                take(r, '[', "an array as failure-details") != 0)
                return -1;
            f0 = p->nfail;
            while ((k = element(r, &ff)) == 1)
                if (failure(r) != 0)
                    return -1;
            if (k < 0)
                return -1;
            pol->nfailures = p->nfail - f0;
        } else if (is(&key, "t")) {
            if (once(r, &seen, P_T, key.off) != 0 ||
                integer(r, &v, "an integer as t (the failure count)") != 0)
                return -1;
            if (v < 0)
                return fail(r, MTASTS_ESYNTAX, key.off,
                            "a count of 0 or more as t");
            pol->t = v;
        } else if (is(&key, "f")) {
            if (once(r, &seen, P_F, key.off) != 0 ||
                integer(r, &v, "0 or 1 as f (the final result)") != 0)
                return -1;
            if (v != 0 && v != 1)
                return fail(r, MTASTS_ESYNTAX, key.off,
                            "0 (success) or 1 (failure) as f");
            pol->failed = (int)v;
        } else if (skip_value(r, 3) != 0)
            return -1;
    }
    if (k < 0)
        return -1;
    if (!(seen & P_TYPE))
        return fail(r, MTASTS_ESYNTAX, obj,
                    "a policy-type member in each policy");
    if (!(seen & P_F))
        return fail(r, MTASTS_ESYNTAX, obj,
                    "a final result (member f) in each policy");
    ix = p->idx + 3 * p->npol;
    ix[0] = s0;
    ix[1] = m0;
    ix[2] = f0;
    p->npol++;
    return 0;
}

enum {
    D_DPV = 1u << 0,
    D_D = 1u << 1,
    D_PR = 1u << 2,
    D_POLICIES = 1u << 3
};

static int
datagram(struct rd *r)
{
    struct td_parser *p = r->p;
    struct td_text key, v;
    unsigned seen = 0;
    size_t arr;
    int first = 1, k;

    if (take(r, '{', "'{' to start the datagram (a JSON object)") != 0)
        return -1;
    while ((k = member(r, &first, &key)) == 1) {
        if (is(&key, "dpv")) {
            if (once(r, &seen, D_DPV, key.off) != 0 ||
                string(r, &v, "the string \"1\" as dpv") != 0)
                return -1;
            if (v.n != 1 || v.p[0] != '1')
                return fail(r, MTASTS_ESYNTAX, v.off,
                            "\"1\" as dpv (datagram protocol version 1)");
        } else if (is(&key, "d")) {
            if (once(r, &seen, D_D, key.off) != 0 ||
                string(r, &p->res.domain, "a string (a domain) as d") != 0)
                return -1;
        } else if (is(&key, "pr")) {
            if (once(r, &seen, D_PR, key.off) != 0 ||
                string(r, &p->res.record, "a string as pr") != 0)
                return -1;
        } else if (is(&key, "policies")) {
            int ff = 1;
            if (once(r, &seen, D_POLICIES, key.off) != 0)
                return -1;
            ws(r);
            arr = r->i;
            if (take(r, '[', "an array as policies") != 0)
                return -1;
            while ((k = element(r, &ff)) == 1)
                if (policy(r) != 0)
                    return -1;
            if (k < 0)
                return -1;
            if (p->npol == 0)
                return fail(r, MTASTS_ESYNTAX, arr,
                            "at least one element in policies");
        } else if (skip_value(r, 1) != 0)
            return -1;
    }
    if (k < 0)
        return -1;
    if (!(seen & D_DPV))
        return fail(r, MTASTS_ESYNTAX, r->i - 1,
                    "a dpv member (datagram protocol version)");
    if (!(seen & D_D))
        return fail(r, MTASTS_ESYNTAX, r->i - 1, "a d member (the domain)");
    if (!(seen & D_POLICIES))
        return fail(r, MTASTS_ESYNTAX, r->i - 1, "a policies member");
    ws(r);
    if (r->i != r->n)
        return fail(r, MTASTS_ESYNTAX, r->i,
                    "the end of the datagram after its object");
    return 0;
}

int
td_parse(struct td_parser *p, const char *buf, size_t len,
         const struct td_result **ret, struct td_err *err)
{
    struct rd r;
    size_t i, *ix;

    *ret = NULL;
    err->status = MTASTS_OK;
    err->off = 0;
    err->expected = NULL;
    if (len > TD_DGRAM_MAX) {
        err->status = MTASTS_ETOOBIG;
        err->off = TD_DGRAM_MAX;
        err->expected = "a datagram of at most 16 MiB";
        return err->status;
    }
    if (len > 0 && p->arena_cap < len) {
        /* the arena is sized once per datagram: string pointers into it
         * stay valid while it is read */
        td_mem_free(&p->m, p->arena, p->arena_cap);
        p->arena_cap = 0;
        p->arena = td_mem_alloc(&p->m, len);
        if (p->arena == NULL) {
            err->status = MTASTS_ENOMEM;
            err->expected = "memory";
            return err->status;
        }
        p->arena_cap = len;
    }
    p->arena_len = 0;
    p->npol = p->ntxt = p->nfail = 0;
    memset(&p->res, 0, sizeof(p->res));
    r.b = (const unsigned char *)buf;
    r.n = len;
    r.i = 0;
    r.p = p;
    r.err = err;
    if (datagram(&r) != 0)
        return err->status;
    for (i = 0; i < p->npol; i++) {
        ix = p->idx + 3 * i;
        p->pol[i].strings = p->pol[i].nstrings ? p->txt + ix[0] : NULL;
        p->pol[i].mx = p->pol[i].nmx ? p->txt + ix[1] : NULL;
        p->pol[i].failures = p->pol[i].nfailures ? p->fail + ix[2] : NULL;
    }
    p->res.policies = p->pol;
    p->res.npolicies = p->npol;
    *ret = &p->res;
    return MTASTS_OK;
}
