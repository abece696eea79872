/*
 * mtasts report build: an SMTP TLS report (RFC 8460) of one UTC day and
 * one policy domain, made from session results with the public library
 * API only (mtasts_tlsrpt_agg_*, mtasts_tlsrpt_mail_build(),
 * mtasts_tlsrpt_https_body_build()).
 *
 * Input: JSON lines, one session (or a run of equal sessions) per line;
 * blank lines are skipped. Each line is one object:
 *
 *   "time"     integer, Unix seconds of the session (required)
 *   "policy"   object (required):
 *                "type"    "sts", "tlsa" or "none"
 *                "domain"  the policy domain
 *                "text"    sts: the policy file as fetched
 *                "records" tlsa: 1..64 objects {"usage", "selector",
 *                          "mtype": 0..255, "data": even-length hex}
 *   "outcome"  "success", "failure" or "transient" (required)
 *   "failures" array of up to 64 objects (optional): "result_type" (a
 *              registered name, or any other text, kept as is), and the
 *              optional strings "sending_ip", "receiving_mx",
 *              "receiving_ip", "helo", "reason_code", "additional"
 *   "report"   true: the session delivered a TLS report, not counted
 *   "count"    1..1000000: the line stands for that many equal sessions
 *
 * Unknown members are errors, so that a typo does not go unnoticed. The
 * reader is strict RFC 8259 JSON: UTF-8, no duplicate member names, no
 * lone surrogates, no NUL in strings, integers only (no fraction or
 * exponent) within int64, depth at most 16, lines of at most 1 MiB.
 *
 * Diagnostics quote strings from input (member names, file names,
 * domains) through text_put() (text.c), escaped.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mtasts.h"
#include "text.h"
#include "tool.h"

#define RB_LINE_MAX  1048576
#define RB_DEPTH_MAX 16
#define RB_COUNT_MAX 1000000
#define RB_LIST_MAX  64

/* ------------------------------------------------------------------ */
/* A small JSON reader (one line at a time)                            */
/* ------------------------------------------------------------------ */

enum {
    JV_NULL,
    JV_BOOL,
    JV_INT,
    JV_STR,
    JV_ARR,
    JV_OBJ
};

struct jv {
    int type;
    size_t pos;     /* byte offset of the value in its line */
    int64_t num;    /* JV_INT; JV_BOOL: 0 or 1 */
    char *str;      /* JV_STR: NUL-terminated, no NUL inside */
    size_t len;     /* of str */
    char *key;      /* member name when in an object */
    struct jv *kid; /* JV_ARR items, JV_OBJ members */
    size_t n, cap;
};

struct jp {
    const char *s;
    size_t len, i;
    const char *err; /* what was expected, or NULL */
    size_t errpos;
    int oom;
};

static void
jv_clear(struct jv *v)
{
    size_t k;

    for (k = 0; k < v->n; k++)
        jv_clear(&v->kid[k]);
    free(v->kid);
    free(v->str);
    free(v->key);
    memset(v, 0, sizeof(*v));
}

static int
jp_fail(struct jp *p, size_t pos, const char *what)
{
    if (p->err == NULL) {
        p->err = what;
        p->errpos = pos;
    }
    return -1;
}

static void
jp_ws(struct jp *p)
{
    while (p->i < p->len && (p->s[p->i] == ' ' || p->s[p->i] == '\t' ||
                             p->s[p->i] == '\r' || p->s[p->i] == '\n'))
        p->i++;
}

static int
hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Four hex digits at s[i]; -1 when they are not. */
static long
hex4(const char *s, size_t len, size_t i)
{
    long v = 0;
    size_t k;
    int h;

    if (len - i < 4)
        return -1;
    for (k = 0; k < 4; k++) {
        h = hexval(s[i + k]);
        if (h < 0)
            return -1;
        v = v * 16 + h;
    }
    return v;
}

static size_t
put_utf8(char *d, unsigned long cp)
{
    if (cp < 0x80) {
        d[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        d[0] = (char)(0xC0 | (cp >> 6));
        d[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        d[0] = (char)(0xE0 | (cp >> 12));
        d[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        d[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    d[0] = (char)(0xF0 | (cp >> 18));
    d[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    d[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    d[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* A string at p->i (its opening quote); the decoded text, never longer
 * than its source, goes to a new NUL-terminated *ret. */
static int
jp_string(struct jp *p, char **ret, size_t *ret_len)
{
    const unsigned char *u = (const unsigned char *)p->s;
    size_t end = p->i + 1, n = 0, k;
    unsigned long cp;
    long lo;
    char *d;

    if (p->i >= p->len || p->s[p->i] != '"')
        return jp_fail(p, p->i, "expected a string");
    while (end < p->len && p->s[end] != '"')
        end += p->s[end] == '\\' ? 2 : 1;
    if (end >= p->len)
        return jp_fail(p, p->len, "expected '\"' (unterminated string)");
    d = malloc(end - p->i);
    if (d == NULL) {
        p->oom = 1;
        return jp_fail(p, p->i, "memory");
    }
    for (p->i++; p->i < end;) {
        if (u[p->i] < 0x20) {
            free(d);
            return jp_fail(p, p->i,
                           "expected an escape for a control "
                           "character");
        }
        if (u[p->i] != '\\') {
            k = text_utf8_len(u, end, p->i);
            if (k == 0) {
                free(d);
                return jp_fail(p, p->i, "expected UTF-8");
            }
            memcpy(d + n, p->s + p->i, k);
            n += k;
            p->i += k;
            continue;
        }
        switch (p->s[p->i + 1]) {
        case '"':
        case '\\':
        case '/':
            d[n++] = p->s[p->i + 1];
            break;
        case 'b':
            d[n++] = '\b';
            break;
        case 'f':
            d[n++] = '\f';
            break;
        case 'n':
            d[n++] = '\n';
            break;
        case 'r':
            d[n++] = '\r';
            break;
        case 't':
            d[n++] = '\t';
            break;
        case 'u':
            lo = hex4(p->s, end, p->i + 2);
            if (lo < 0) {
                free(d);
                return jp_fail(p, p->i, "expected four hex digits after \\u");
            }
            cp = (unsigned long)lo;
            if (cp >= 0xDC00 && cp <= 0xDFFF) {
                free(d);
                return jp_fail(p, p->i, "expected a high surrogate first");
            }
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                lo = end - p->i >= 12 && p->s[p->i + 6] == '\\' &&
                             p->s[p->i + 7] == 'u'
                         ? hex4(p->s, end, p->i + 8)
                         : -1;
                if (lo < 0xDC00 || lo > 0xDFFF) {
                    free(d);
                    return jp_fail(p, p->i,
                                   "expected a low surrogate after "
                                   "a high one");
                }
                cp = 0x10000 + ((cp - 0xD800) << 10) +
                     ((unsigned long)lo - 0xDC00);
                p->i += 6;
            }
            if (cp == 0) {
                free(d);
                return jp_fail(p, p->i, "expected no NUL (\\u0000)");
            }
            n += put_utf8(d + n, cp);
            p->i += 4;
            break;
        default:
            free(d);
            return jp_fail(p, p->i, "expected a valid escape");
        }
        p->i += 2;
    }
    p->i = end + 1;
    d[n] = '\0';
    *ret = d;
    *ret_len = n;
    return 0;
}

static int
jp_number(struct jp *p, struct jv *v)
{
    int neg = 0;
    uint64_t m = 0, lim;
    size_t start = p->i;

    if (p->s[p->i] == '-') {
        neg = 1;
        p->i++;
    }
    lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    if (p->i >= p->len || p->s[p->i] < '0' || p->s[p->i] > '9')
        return jp_fail(p, p->i, "expected a digit");
    if (p->s[p->i] == '0' && p->i + 1 < p->len && p->s[p->i + 1] >= '0' &&
        p->s[p->i + 1] <= '9')
        return jp_fail(p, p->i, "expected no leading zero");
    while (p->i < p->len && p->s[p->i] >= '0' && p->s[p->i] <= '9') {
        unsigned dg = (unsigned)(p->s[p->i] - '0');
        if (m > (lim - dg) / 10)
            return jp_fail(p, start, "expected an integer within 64 bits");
        m = m * 10 + dg;
        p->i++;
    }
    if (p->i < p->len &&
        (p->s[p->i] == '.' || p->s[p->i] == 'e' || p->s[p->i] == 'E'))
        return jp_fail(p, p->i,
                       "expected an integer (no fraction or "
                       "exponent)");
    v->type = JV_INT;
    v->num = neg ? (m == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)m)
                 : (int64_t)m;
    return 0;
}

static int
jp_word(struct jp *p, const char *w, size_t wl)
{
    if (p->len - p->i < wl || memcmp(p->s + p->i, w, wl) != 0)
        return jp_fail(p, p->i, "expected a JSON value");
    p->i += wl;
    return 0;
}

static struct jv *
jv_push(struct jp *p, struct jv *v)
{
    struct jv *k;

    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 4;
        k = realloc(v->kid, cap * sizeof(*k));
        if (k == NULL) {
            p->oom = 1;
            jp_fail(p, p->i, "memory");
            return NULL;
        }
        v->kid = k;
        v->cap = cap;
    }
    k = &v->kid[v->n++];
    memset(k, 0, sizeof(*k));
    return k;
}

static int jp_value(struct jp *p, struct jv *v, int depth);

static int
jp_container(struct jp *p, struct jv *v, int depth)
{
    char close = p->s[p->i] == '{' ? '}' : ']';
    struct jv *k;
    char *key;
    size_t kl, j, kpos;

    v->type = close == '}' ? JV_OBJ : JV_ARR;
    if (depth >= RB_DEPTH_MAX)
        return jp_fail(p, p->i, "expected nesting of at most 16 levels");
    p->i++;
    jp_ws(p);
    if (p->i < p->len && p->s[p->i] == close) {
        p->i++;
        return 0;
    }
    for (;;) {
        jp_ws(p);
        key = NULL;
        if (close == '}') {
            kpos = p->i;
            if (p->i >= p->len || p->s[p->i] != '"')
                return jp_fail(p, p->i, "expected a member name");
            if (jp_string(p, &key, &kl) < 0)
                return -1;
            for (j = 0; j < v->n; j++) {
                if (strcmp(v->kid[j].key, key) == 0) {
                    free(key);
                    return jp_fail(p, kpos,
                                   "expected no duplicate member "
                                   "name");
                }
            }
            jp_ws(p);
            if (p->i >= p->len || p->s[p->i] != ':') {
                free(key);
                return jp_fail(p, p->i, "expected ':'");
            }
            p->i++;
            jp_ws(p);
        }
        k = jv_push(p, v);
        if (k == NULL) {
            free(key);
            return -1;
        }
        k->key = key;
        if (jp_value(p, k, depth + 1) < 0)
            return -1;
        jp_ws(p);
        if (p->i < p->len && p->s[p->i] == ',') {
            p->i++;
            continue;
        }
        if (p->i < p->len && p->s[p->i] == close) {
            p->i++;
            return 0;
        }
        return jp_fail(p, p->i,
                       close == '}' ? "expected ',' or '}'"
                                    : "expected ',' "
                                      "or ']'");
    }
}

static int
jp_value(struct jp *p, struct jv *v, int depth)
{
    v->pos = p->i;
    if (p->i >= p->len)
        return jp_fail(p, p->i, "expected a JSON value");
    switch (p->s[p->i]) {
    case '{':
    case '[':
        return jp_container(p, v, depth);
    case '"':
        v->type = JV_STR;
        return jp_string(p, &v->str, &v->len);
    case 't':
        v->type = JV_BOOL;
        v->num = 1;
        return jp_word(p, "true", 4);
    case 'f':
        v->type = JV_BOOL;
        return jp_word(p, "false", 5);
    case 'n':
        v->type = JV_NULL;
        return jp_word(p, "null", 4);
    default:
        if (p->s[p->i] == '-' || (p->s[p->i] >= '0' && p->s[p->i] <= '9'))
            return jp_number(p, v);
        return jp_fail(p, p->i, "expected a JSON value");
    }
}

/* ------------------------------------------------------------------ */
/* Sessions                                                            */
/* ------------------------------------------------------------------ */

struct rb {
    mtasts_ctx *ctx;
    mtasts_tlsrpt_agg *agg;
    const char *path;
    int64_t day;
    size_t line;
    size_t other_days, counted;
};

/* "mtasts: report build: FILE: " (the start of a diagnostic) */
static void
rb_where(const char *path)
{
    fputs("mtasts: report build: ", stderr);
    text_puts(stderr, path);
    fputs(": ", stderr);
}

/* "mtasts: report build: FILE: line N, byte M: WHAT[ "DETAIL"]" */
static int
rb_err(const struct rb *rb, size_t pos, const char *what, const char *detail)
{
    rb_where(rb->path);
    fprintf(stderr, "line %zu, byte %zu: %s", rb->line, pos + 1, what);
    if (detail != NULL) {
        fputs(" \"", stderr);
        text_puts(stderr, detail);
        fputc('"', stderr);
    }
    fputc('\n', stderr);
    return EXIT_INVALID;
}

static int
rb_oom(void)
{
    fputs("mtasts: out of memory\n", stderr);
    return EXIT_USAGE;
}

static const struct jv *
member(const struct jv *o, const char *name)
{
    size_t k;

    for (k = 0; k < o->n; k++)
        if (strcmp(o->kid[k].key, name) == 0)
            return &o->kid[k];
    return NULL;
}

/* Every member of o is one of names (NULL-terminated list). */
static int
known_members(const struct rb *rb, const struct jv *o, const char *const *names)
{
    size_t k, j;

    for (k = 0; k < o->n; k++) {
        for (j = 0; names[j] != NULL; j++)
            if (strcmp(o->kid[k].key, names[j]) == 0)
                break;
        if (names[j] == NULL)
            return rb_err(rb, o->kid[k].pos, "unexpected member",
                          o->kid[k].key);
    }
    return 0;
}

/* Member name of type type, required or not; *ret NULL when absent. */
static int
get(const struct rb *rb, const struct jv *o, const char *name, int type,
    int required, const struct jv **ret)
{
    static const char *const expect[] = {
        "expected null as",       "expected true or false as",
        "expected an integer as", "expected a string as",
        "expected an array as",   "expected an object as"};
    const struct jv *v = member(o, name);

    *ret = NULL;
    if (v == NULL) {
        if (required)
            return rb_err(rb, o->pos, "expected the member", name);
        return 0;
    }
    if (v->type != type)
        return rb_err(rb, v->pos, expect[type], name);
    *ret = v;
    return 0;
}

static int
get_byte(const struct rb *rb, const struct jv *o, const char *name,
         uint8_t *ret)
{
    const struct jv *v;

    if (get(rb, o, name, JV_INT, 1, &v) != 0)
        return EXIT_INVALID;
    if (v->num < 0 || v->num > 255)
        return rb_err(rb, v->pos, "expected 0..255 as", name);
    *ret = (uint8_t)v->num;
    return 0;
}

/* The TLSA records of a "tlsa" policy. */
static int
tlsa_key(const struct rb *rb, const struct jv *pol, const char *dom, size_t dl,
         mtasts_tlsrpt_policy **ret)
{
    static const char *const names[] = {"usage", "selector", "mtype", "data",
                                        NULL};
    uint8_t usage[RB_LIST_MAX], sel[RB_LIST_MAX], mt[RB_LIST_MAX];
    uint8_t *data[RB_LIST_MAX];
    const uint8_t *cdata[RB_LIST_MAX];
    size_t lens[RB_LIST_MAX], k, j, n = 0;
    const struct jv *recs, *r, *h;
    int rc = 0, hi, lo;

    if (get(rb, pol, "records", JV_ARR, 1, &recs) != 0)
        return EXIT_INVALID;
    if (recs->n == 0 || recs->n > RB_LIST_MAX)
        return rb_err(rb, recs->pos, "expected 1..64 TLSA records", NULL);
    for (k = 0; k < recs->n && rc == 0; k++) {
        r = &recs->kid[k];
        if (r->type != JV_OBJ) {
            rc = rb_err(rb, r->pos, "expected an object (a TLSA record)", NULL);
            break;
        }
        if (known_members(rb, r, names) != 0 ||
            get_byte(rb, r, "usage", &usage[k]) != 0 ||
            get_byte(rb, r, "selector", &sel[k]) != 0 ||
            get_byte(rb, r, "mtype", &mt[k]) != 0 ||
            get(rb, r, "data", JV_STR, 1, &h) != 0) {
            rc = EXIT_INVALID;
            break;
        }
        if (h->len == 0 || h->len % 2 != 0) {
            rc = rb_err(rb, h->pos, "expected an even number of hex digits",
                        NULL);
            break;
        }
        data[k] = malloc(h->len / 2);
        if (data[k] == NULL) {
            rc = rb_oom();
            break;
        }
        n++;
        lens[k] = h->len / 2;
        cdata[k] = data[k];
        for (j = 0; j < lens[k]; j++) {
            hi = hexval(h->str[2 * j]);
            lo = hexval(h->str[2 * j + 1]);
            if (hi < 0 || lo < 0) {
                rc = rb_err(rb, h->pos, "expected hex digits as", "data");
                break;
            }
            data[k][j] = (uint8_t)(hi * 16 + lo);
        }
    }
    if (rc == 0) {
        rc = mtasts_tlsrpt_policy_build_tlsa(rb->ctx, dom, dl, usage, sel, mt,
                                             cdata, lens, n, ret);
        if (rc == MTASTS_ENOMEM)
            rc = rb_oom();
        else if (rc != MTASTS_OK)
            rc = rb_err(rb, pol->pos, "expected a usable TLSA policy:",
                        mtasts_status_name(rc));
    }
    for (k = 0; k < n; k++)
        free(data[k]);
    return rc;
}

/* The applied policy of a session: its policy key. */
static int
policy_key(const struct rb *rb, const struct jv *pol,
           mtasts_tlsrpt_policy **ret)
{
    static const char *const names[] = {"type", "domain", "text", "records",
                                        NULL};
    struct mtasts_diag d = MTASTS_DIAG_INIT;
    const struct jv *type, *dom, *text;
    mtasts_policy *p = NULL;
    int rc;

    *ret = NULL;
    if (known_members(rb, pol, names) != 0 ||
        get(rb, pol, "type", JV_STR, 1, &type) != 0 ||
        get(rb, pol, "domain", JV_STR, 1, &dom) != 0)
        return EXIT_INVALID;
    if (strcmp(type->str, "sts") == 0) {
        if (member(pol, "records") != NULL)
            return rb_err(rb, pol->pos, "expected no records in an sts policy",
                          NULL);
        if (get(rb, pol, "text", JV_STR, 1, &text) != 0)
            return EXIT_INVALID;
        rc = mtasts_policy_parse(rb->ctx, text->str, text->len, 0, &p, &d);
        if (rc == MTASTS_ENOMEM)
            return rb_oom();
        if (rc != MTASTS_OK) {
            rb_where(rb->path);
            fprintf(stderr,
                    "line %zu, byte %zu: expected a valid MTA-STS policy as "
                    "\"text\": %s (%s) at line %zu of the policy\n",
                    rb->line, text->pos + 1, mtasts_status_name(rc),
                    mtasts_reason_name(d.reason), d.line);
            return EXIT_INVALID;
        }
        rc =
            mtasts_tlsrpt_policy_build_sts(rb->ctx, dom->str, dom->len, p, ret);
        mtasts_policy_free(p);
    } else if (member(pol, "text") != NULL) {
        return rb_err(rb, pol->pos, "expected no text but in an sts policy",
                      NULL);
    } else if (strcmp(type->str, "tlsa") == 0) {
        return tlsa_key(rb, pol, dom->str, dom->len, ret);
    } else if (strcmp(type->str, "none") == 0) {
        if (member(pol, "records") != NULL)
            return rb_err(rb, pol->pos, "expected no records in a none policy",
                          NULL);
        rc = mtasts_tlsrpt_policy_build_none(rb->ctx, dom->str, dom->len, ret);
    } else {
        return rb_err(rb, type->pos,
                      "expected \"sts\", \"tlsa\" or \"none\" "
                      "as",
                      "type");
    }
    if (rc == MTASTS_ENOMEM)
        return rb_oom();
    if (rc != MTASTS_OK)
        return rb_err(rb, dom->pos, "expected a usable policy domain:",
                      mtasts_status_name(rc));
    return 0;
}

/* An optional string member of a failure: NULL when absent or null. */
static int
opt_str(const struct rb *rb, const struct jv *o, const char *name,
        const char **ret, size_t *ret_len)
{
    const struct jv *v = member(o, name);

    *ret = NULL;
    *ret_len = 0;
    if (v == NULL || v->type == JV_NULL)
        return 0;
    if (v->type != JV_STR)
        return rb_err(rb, v->pos, "expected a string or null as", name);
    *ret = v->str;
    *ret_len = v->len;
    return 0;
}

static int
result_type_of(const char *name)
{
    int i;
    const char *n;

    for (i = 1; (n = mtasts_result_type_name(i)) != NULL; i++)
        if (strcmp(n, name) == 0)
            return i;
    return MTASTS_RESULT_NONE;
}

static int
failures_of(const struct rb *rb, const struct jv *arr,
            struct mtasts_tlsrpt_failure *f)
{
    static const char *const names[] = {
        "result_type", "sending_ip",  "receiving_mx", "receiving_ip",
        "helo",        "reason_code", "additional",   NULL};
    const struct jv *o, *t;
    size_t k;

    if (arr->n > RB_LIST_MAX)
        return rb_err(rb, arr->pos, "expected at most 64 failures", NULL);
    for (k = 0; k < arr->n; k++) {
        o = &arr->kid[k];
        if (o->type != JV_OBJ)
            return rb_err(rb, o->pos, "expected an object (a failure)", NULL);
        memset(&f[k], 0, sizeof(f[k]));
        f[k].version = MTASTS_FAILURE_VERSION;
        if (known_members(rb, o, names) != 0 ||
            get(rb, o, "result_type", JV_STR, 1, &t) != 0 ||
            opt_str(rb, o, "sending_ip", &f[k].sending_ip,
                    &f[k].sending_ip_len) != 0 ||
            opt_str(rb, o, "receiving_mx", &f[k].receiving_mx,
                    &f[k].receiving_mx_len) != 0 ||
            opt_str(rb, o, "receiving_ip", &f[k].receiving_ip,
                    &f[k].receiving_ip_len) != 0 ||
            opt_str(rb, o, "helo", &f[k].receiving_helo,
                    &f[k].receiving_helo_len) != 0 ||
            opt_str(rb, o, "reason_code", &f[k].reason_code,
                    &f[k].reason_code_len) != 0 ||
            opt_str(rb, o, "additional", &f[k].additional,
                    &f[k].additional_len) != 0)
            return EXIT_INVALID;
        f[k].result_type = result_type_of(t->str);
        if (f[k].result_type == MTASTS_RESULT_NONE) {
            if (t->len == 0)
                return rb_err(rb, t->pos, "expected a non-empty result_type",
                              NULL);
            f[k].result_text = t->str;
            f[k].result_text_len = t->len;
        }
    }
    return 0;
}

/* Check one session line and count it when it is of the day. */
static int
session(struct rb *rb, const struct jv *s)
{
    static const char *const names[] = {
        "time", "policy", "outcome", "failures", "report", "count", NULL};
    struct mtasts_tlsrpt_failure f[RB_LIST_MAX];
    mtasts_tlsrpt_policy *key = NULL;
    const struct jv *t, *pol, *out, *fl, *rep, *cnt;
    size_t nf = 0;
    int64_t count = 1;
    int outcome, rc;
    unsigned flags = 0;

    if (s->type != JV_OBJ)
        return rb_err(rb, s->pos, "expected an object (a session)", NULL);
    if (known_members(rb, s, names) != 0 ||
        get(rb, s, "time", JV_INT, 1, &t) != 0 ||
        get(rb, s, "policy", JV_OBJ, 1, &pol) != 0 ||
        get(rb, s, "outcome", JV_STR, 1, &out) != 0 ||
        get(rb, s, "failures", JV_ARR, 0, &fl) != 0 ||
        get(rb, s, "report", JV_BOOL, 0, &rep) != 0 ||
        get(rb, s, "count", JV_INT, 0, &cnt) != 0)
        return EXIT_INVALID;
    if (strcmp(out->str, "success") == 0)
        outcome = MTASTS_SESSION_SUCCESS;
    else if (strcmp(out->str, "failure") == 0)
        outcome = MTASTS_SESSION_FAILURE;
    else if (strcmp(out->str, "transient") == 0)
        outcome = MTASTS_SESSION_TRANSIENT;
    else
        return rb_err(rb, out->pos,
                      "expected \"success\", \"failure\" or \"transient\" as",
                      "outcome");
    if (cnt != NULL) {
        if (cnt->num < 1 || cnt->num > RB_COUNT_MAX)
            return rb_err(rb, cnt->pos, "expected 1..1000000 as", "count");
        count = cnt->num;
    }
    if (rep != NULL && rep->num)
        flags |= MTASTS_SESSION_F_TLSRPT_REPORT;
    if (fl != NULL) {
        if (failures_of(rb, fl, f) != 0)
            return EXIT_INVALID;
        nf = fl->n;
    }
    rc = policy_key(rb, pol, &key);
    if (rc != 0)
        return rc;
    if (t->num < rb->day || t->num - rb->day >= 86400) {
        rb->other_days++;
        mtasts_tlsrpt_policy_free(key);
        return 0;
    }
    /* the whole run in one step (one add per session made 100 lines of
     * count 1000000 take seconds) */
    rc = mtasts_tlsrpt_agg_add_n(rb->agg, key, t->num, outcome, nf ? f : NULL,
                                 nf, flags, (uint64_t)count);
    mtasts_tlsrpt_policy_free(key);
    if (rc == MTASTS_ENOMEM)
        return rb_oom();
    if (rc == MTASTS_ESYNTAX)
        return rb_err(rb, fl != NULL ? fl->pos : s->pos,
                      "expected well-formed failures (IP addresses, host "
                      "names):",
                      mtasts_status_name(rc));
    if (rc != MTASTS_OK)
        return rb_err(rb, s->pos,
                      "session not counted:", mtasts_status_name(rc));
    rb->counted++;
    return 0;
}

/* Read every line of f; 0, or the exit status after printing why. */
static int
read_sessions(struct rb *rb, FILE *f)
{
    struct jp p;
    struct jv v;
    char *buf;
    size_t n;
    int c, rc = 0;

    buf = malloc(RB_LINE_MAX + 1);
    if (buf == NULL)
        return rb_oom();
    while (rc == 0) {
        n = 0;
        while ((c = getc(f)) != EOF && c != '\n') {
            if (n == RB_LINE_MAX)
                break;
            buf[n++] = (char)c;
        }
        if (c == EOF && ferror(f)) {
            rb_where(rb->path);
            fputs("read error\n", stderr);
            rc = EXIT_USAGE;
            break;
        }
        if (c == EOF && n == 0)
            break;
        rb->line++;
        if (n == RB_LINE_MAX && c != '\n' && c != EOF) {
            rc =
                rb_err(rb, n, "expected a line of at most 1048576 bytes", NULL);
            break;
        }
        memset(&p, 0, sizeof(p));
        p.s = buf;
        p.len = n;
        jp_ws(&p);
        if (p.i == n)
            continue; /* blank line */
        memset(&v, 0, sizeof(v));
        if (jp_value(&p, &v, 0) == 0) {
            jp_ws(&p);
            if (p.i != n)
                jp_fail(&p, p.i, "expected the end of the line");
        }
        if (p.oom)
            rc = rb_oom();
        else if (p.err != NULL)
            rc = rb_err(rb, p.errpos, p.err, NULL);
        else
            rc = session(rb, &v);
        jv_clear(&v);
    }
    free(buf);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Options and output                                                  */
/* ------------------------------------------------------------------ */

static int
build_usage(const char *why, const char *arg)
{
    if (why != NULL) {
        fprintf(stderr, "mtasts: report build: %s", why);
        if (arg != NULL) {
            fputc(' ', stderr);
            text_puts(stderr, arg);
        }
        fputc('\n', stderr);
    }
    fputs("usage: mtasts report build --org ORG --contact ADDR "
          "--day YYYY-MM-DD\n"
          "           [--report-id ID | --random N] [--domain D]\n"
          "           [--json [--pretty] | --mail --from A --to B "
          "--date DATE --message-id ID [--gzip]\n"
          "            | --https [--gzip] -o FILE] SESSIONS|-\n",
          stderr);
    return EXIT_USAGE;
}

/* Unix seconds of 00:00:00Z of "YYYY-MM-DD"; -1 when malformed. */
static int64_t
parse_day(const char *s)
{
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int64_t y, m, d, era, yoe, doy, doe;
    int k;

    if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        return -1;
    for (k = 0; k < 10; k++)
        if (k != 4 && k != 7 && (s[k] < '0' || s[k] > '9'))
            return -1;
    y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 +
        (s[3] - '0');
    m = (s[5] - '0') * 10 + (s[6] - '0');
    d = (s[8] - '0') * 10 + (s[9] - '0');
    if (y < 1970 || m < 1 || m > 12 || d < 1)
        return -1;
    if (d >
        mdays[m - 1] + (m == 2 && y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)))
        return -1;
    /* days from civil (proleptic Gregorian) */
    y -= m <= 2;
    era = y / 400;
    yoe = y - era * 400;
    doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return (era * 146097 + doe - 719468) * 86400;
}

/* A decimal or 0x-hexadecimal 64-bit number; -1 when malformed. */
static int
parse_u64(const char *s, uint64_t *ret)
{
    uint64_t v = 0;
    unsigned base = 10;
    int h;

    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s += 2;
    }
    if (*s == '\0')
        return -1;
    for (; *s != '\0'; s++) {
        h = hexval(*s);
        if (h < 0 || (unsigned)h >= base ||
            v > (UINT64_MAX - (unsigned)h) / base)
            return -1;
        v = v * base + (unsigned)h;
    }
    *ret = v;
    return 0;
}

static int
ascii_caseeq(const char *a, size_t al, const char *b, size_t bl)
{
    size_t k;
    char x, y;

    if (al != bl)
        return 0;
    for (k = 0; k < al; k++) {
        x = a[k] >= 'A' && a[k] <= 'Z' ? (char)(a[k] + 32) : a[k];
        y = b[k] >= 'A' && b[k] <= 'Z' ? (char)(b[k] + 32) : b[k];
        if (x != y)
            return 0;
    }
    return 1;
}

static void
list_domains(const mtasts_tlsrpt_agg *agg)
{
    const char *d;
    size_t k, dl;
    int64_t day;

    for (k = 0; k < mtasts_tlsrpt_agg_count(agg); k++)
        if (mtasts_tlsrpt_agg_key(agg, k, &d, &dl, &day) == MTASTS_OK) {
            fputs(k ? ", " : " ", stderr);
            text_put(stderr, d, dl);
        }
    fputc('\n', stderr);
}

static int
write_out(const char *path, const uint8_t *data, size_t n, int nl)
{
    FILE *f = path != NULL ? fopen(path, "wb") : stdout;
    int bad;

    if (f == NULL) {
        const char *why = strerror(errno);
        rb_where(path);
        fprintf(stderr, "%s\n", why);
        return EXIT_USAGE;
    }
    bad = fwrite(data, 1, n, f) != n || (nl && fputc('\n', f) == EOF);
    bad |= f != stdout ? fclose(f) != 0 : fflush(f) != 0;
    if (bad) {
        rb_where(path != NULL ? path : "standard output");
        fputs("write error\n", stderr);
        return EXIT_USAGE;
    }
    return 0;
}

struct bopts {
    const char *org, *contact, *day, *report_id, *random, *domain;
    const char *from, *to, *date, *message_id, *out, *sessions;
    int json, pretty, mail, https, gzip;
    uint64_t rnd; /* of --random, else 0 */
};

static int
build_opts(int argc, char **argv, struct bopts *o)
{
    static const struct {
        const char *name;
        size_t off;
    } valued[] = {
        {"--org", offsetof(struct bopts, org)},
        {"--contact", offsetof(struct bopts, contact)},
        {"--day", offsetof(struct bopts, day)},
        {"--report-id", offsetof(struct bopts, report_id)},
        {"--random", offsetof(struct bopts, random)},
        {"--domain", offsetof(struct bopts, domain)},
        {"--from", offsetof(struct bopts, from)},
        {"--to", offsetof(struct bopts, to)},
        {"--date", offsetof(struct bopts, date)},
        {"--message-id", offsetof(struct bopts, message_id)},
        {"-o", offsetof(struct bopts, out)},
    };
    size_t k, nv = sizeof(valued) / sizeof(valued[0]);
    const char **slot;
    int i;

    memset(o, 0, sizeof(*o));
    for (i = 0; i < argc; i++) {
        for (k = 0; k < nv; k++)
            if (strcmp(argv[i], valued[k].name) == 0)
                break;
        if (k < nv) {
            slot = (const char **)(void *)((char *)o + valued[k].off);
            if (i + 1 >= argc)
                return build_usage("missing value of", argv[i]);
            if (*slot != NULL)
                return build_usage("repeated option", argv[i]);
            *slot = argv[++i];
        } else if (strcmp(argv[i], "--json") == 0) {
            o->json = 1;
        } else if (strcmp(argv[i], "--pretty") == 0) {
            o->pretty = 1;
        } else if (strcmp(argv[i], "--mail") == 0) {
            o->mail = 1;
        } else if (strcmp(argv[i], "--https") == 0) {
            o->https = 1;
        } else if (strcmp(argv[i], "--gzip") == 0) {
            o->gzip = 1;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            return build_usage("unknown option", argv[i]);
        } else if (o->sessions != NULL) {
            return build_usage("more than one SESSIONS file", NULL);
        } else {
            o->sessions = argv[i];
        }
    }
    if (o->org == NULL || o->contact == NULL || o->day == NULL ||
        o->sessions == NULL)
        return build_usage("--org, --contact, --day and SESSIONS are required",
                           NULL);
    if (o->report_id != NULL && o->random != NULL)
        return build_usage("--report-id and --random exclude each other", NULL);
    if (o->random != NULL && parse_u64(o->random, &o->rnd) != 0)
        return build_usage("--random takes a decimal or 0x-hexadecimal "
                           "64-bit number, not",
                           o->random);
    if (o->json + o->mail + o->https > 1)
        return build_usage("--json, --mail and --https exclude each other",
                           NULL);
    if (o->pretty && (o->mail || o->https))
        return build_usage("--pretty goes with --json only", NULL);
    if (o->gzip && !o->mail && !o->https)
        return build_usage("--gzip goes with --mail or --https", NULL);
    if (o->mail && (o->from == NULL || o->to == NULL || o->date == NULL ||
                    o->message_id == NULL))
        return build_usage("--mail needs --from, --to, --date and --message-id",
                           NULL);
    if (!o->mail && (o->from != NULL || o->to != NULL || o->date != NULL ||
                     o->message_id != NULL))
        return build_usage("--from, --to, --date and --message-id go with "
                           "--mail",
                           NULL);
    if (o->https && o->out == NULL)
        return build_usage("--https needs -o FILE", NULL);
    return 0;
}

/* The report for the day: pick the domain, make the id, ask the library. */
static int
make_report(const struct rb *rb, const struct bopts *o,
            mtasts_tlsrpt_report **ret)
{
    const char *dom = NULL, *kd;
    char idbuf[512];
    const char *id = o->report_id;
    size_t dl = 0, kl, k, n = mtasts_tlsrpt_agg_count(rb->agg), need;
    uint64_t rnd;
    int64_t kday;
    int rc;

    if (o->domain != NULL) {
        dom = o->domain;
        dl = strlen(dom);
        for (k = 0; k < n; k++) {
            if (mtasts_tlsrpt_agg_key(rb->agg, k, &kd, &kl, &kday) ==
                    MTASTS_OK &&
                ascii_caseeq(kd, kl, dom, dl)) {
                dom = kd;
                dl = kl;
            }
        }
    } else if (n == 1) {
        (void)mtasts_tlsrpt_agg_key(rb->agg, 0, &dom, &dl, &kday);
    } else if (n == 0) {
        rb_where(rb->path);
        fprintf(stderr, "no counted session on %s\n", o->day);
        return EXIT_INVALID;
    } else {
        rb_where(rb->path);
        fprintf(stderr,
                "sessions of %zu policy domains on %s; choose one with "
                "--domain:",
                n, o->day);
        list_domains(rb->agg);
        return EXIT_USAGE;
    }
    if (id == NULL) {
        rnd = o->rnd;
        rc = mtasts_tlsrpt_report_id_generate(rb->day, dom, dl, rnd, idbuf,
                                              sizeof(idbuf), &need);
        if (rc != MTASTS_OK) {
            fputs("mtasts: report build: no report-id for ", stderr);
            text_put(stderr, dom, dl);
            fprintf(stderr, ": %s\n", mtasts_status_name(rc));
            return EXIT_USAGE;
        }
        id = idbuf;
    }
    rc = mtasts_tlsrpt_report_build(rb->agg, dom, dl, rb->day, o->org,
                                    strlen(o->org), o->contact,
                                    strlen(o->contact), id, strlen(id), ret);
    if (rc == MTASTS_ENOMEM)
        return rb_oom();
    if (rc == MTASTS_NONE) {
        rb_where(rb->path);
        fputs("no counted session for ", stderr);
        text_put(stderr, dom, dl);
        fprintf(stderr, " on %s; domains present:", o->day);
        list_domains(rb->agg);
        return EXIT_INVALID;
    }
    if (rc != MTASTS_OK) {
        fprintf(stderr,
                "mtasts: report build: the report cannot be made (%s): check "
                "--org, --contact (an addr-spec) and --report-id "
                "(dot-atom-text)\n",
                mtasts_status_name(rc));
        return EXIT_USAGE;
    }
    return 0;
}

static int
emit(const mtasts_tlsrpt_report *r, const struct bopts *o)
{
    mtasts_buf *b = NULL;
    const char *ctype = NULL, *submitter;
    struct mtasts_tlsrpt_mail_fields mf;
    const uint8_t *data;
    unsigned fl = o->gzip ? MTASTS_DELIVER_F_GZIP : 0;
    size_t n;
    int rc;

    if (o->mail) {
        submitter = strrchr(o->contact, '@');
        submitter = submitter != NULL ? submitter + 1 : o->contact;
        memset(&mf, 0, sizeof(mf));
        mf.version = MTASTS_MAIL_FIELDS_VERSION;
        mf.from = o->from;
        mf.from_len = strlen(o->from);
        mf.to = o->to;
        mf.to_len = strlen(o->to);
        mf.submitter = submitter;
        mf.submitter_len = strlen(submitter);
        mf.date = o->date;
        mf.date_len = strlen(o->date);
        mf.message_id = o->message_id;
        mf.message_id_len = strlen(o->message_id);
        rc = mtasts_tlsrpt_mail_build(r, &mf, fl, &b);
    } else if (o->https) {
        rc = mtasts_tlsrpt_https_body_build(r, fl, &b, &ctype, NULL);
    } else {
        rc = mtasts_tlsrpt_report_format(
            r, o->pretty ? MTASTS_JSON_F_PRETTY : 0, &b);
    }
    if (rc == MTASTS_ENOMEM)
        return rb_oom();
    if (rc != MTASTS_OK) {
        fprintf(stderr, "mtasts: report build: the %s cannot be made (%s)%s\n",
                o->mail ? "message" : "output", mtasts_status_name(rc),
                o->mail ? ": check --from, --to, --date and --message-id" : "");
        return EXIT_USAGE;
    }
    data = mtasts_buf_data(b, &n);
    rc = write_out(o->out, data, n, !o->mail && !o->https);
    if (rc == 0 && ctype != NULL)
        printf("%s\n", ctype);
    mtasts_buf_free(b);
    return rc;
}

int
cmd_report_build(mtasts_ctx *ctx, int argc, char **argv)
{
    mtasts_tlsrpt_report *r = NULL;
    struct bopts o;
    struct rb rb;
    FILE *f;
    int rc;

    rc = build_opts(argc, argv, &o);
    if (rc != 0)
        return rc;
    memset(&rb, 0, sizeof(rb));
    rb.ctx = ctx;
    rb.path = o.sessions;
    rb.day = parse_day(o.day);
    if (rb.day < 0)
        return build_usage("--day takes a date YYYY-MM-DD, not", o.day);
    if (mtasts_tlsrpt_agg_new(ctx, &rb.agg) != MTASTS_OK)
        return rb_oom();
    f = strcmp(o.sessions, "-") == 0 ? stdin : fopen(o.sessions, "rb");
    if (f == NULL) {
        const char *why = strerror(errno);
        rb_where(o.sessions);
        fprintf(stderr, "%s\n", why);
        mtasts_tlsrpt_agg_free(rb.agg);
        return EXIT_USAGE;
    }
    rc = read_sessions(&rb, f);
    if (f != stdin)
        fclose(f);
    if (rc == 0 && rb.other_days > 0)
        fprintf(stderr,
                "mtasts: report build: note: %zu session line(s) not of %s "
                "ignored\n",
                rb.other_days, o.day);
    if (rc == 0)
        rc = make_report(&rb, &o, &r);
    if (rc == 0)
        rc = emit(r, &o);
    mtasts_tlsrpt_report_free(r);
    mtasts_tlsrpt_agg_free(rb.agg);
    return rc;
}
