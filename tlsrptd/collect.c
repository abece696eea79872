/*
 * The seam every result goes through: a struct td_result (the fields of
 * one libtlsrpt datagram) into the library's aggregate of its UTC day.
 *
 * Each policies element is one TLS session result (as tlsrpt-collectd
 * counts them): f = 1 a failure, else a success; each failure-details
 * element adds one to its entry. Report keys follow the project's
 * decisions (doc/requirements.md):
 *
 *  - The report domain is d, the next-hop domain whose _smtp._tls record
 *    the MTA looked up (E-14, RPT-AGG-2), normalised (lower case, one
 *    trailing dot removed). The library keys reports by the policy's
 *    domain, so d is also the policy-domain written: a tlsa policy's
 *    own policy-domain (the TLSA base domain) is not kept, and a
 *    no-policy-found policy always has one (sys4 tlsrpt-reporter #51).
 *  - sts: policy-string is the policy's lines; they are parsed as a
 *    policy (mtasts_policy_parse()) and the key made from it, so
 *    policy-string and mx-host are the policy's (RPT-AGG-11), and a
 *    policy in mode none counts as no-policy-found (RPT-AGG-13).
 *  - tlsa: each policy-string is "usage selector mtype hex"; the key is
 *    made from the records (upper-case hex, RPT-AGG-12).
 *  - A policy whose policy-string is absent or cannot be read that way
 *    (an MTA that had no policy to apply: a fetch error, dane-required
 *    without TLSA records) is counted under no-policy-found, with its
 *    failure details, as RPT-AGG-8 decides for discovery failures
 *    without a usable policy (note->fallbacks).
 *
 * Failure details: libtlsrpt's codes map to the RFC 8460 result types
 * (td_result_of_code()). An unknown code is counted as
 * validation-failure ("a general failure for a reason not matching a
 * category above", RFC 8460 4.3.2.3) with failure-reason-code
 * "libtlsrpt-unknown-failure-code-<code>" (then ": " and the datagram's
 * own reason, if any): each unknown code is its own entry. An empty
 * string is taken as absent. A text that is not UTF-8, or holds NUL, has
 * each such byte written as the four characters \xHH (an EHLO reply is
 * whatever bytes the server sent), so the session is still counted. A
 * member the library refuses as it is (an IP that is not an IP address,
 * an MX name that is not a host name, additional-information that is
 * not a URI) is left out of its entry (note->dropped); the session is
 * still counted.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "td.h"

#define CACHE_SLOTS 4096u

/* A policy key made from a policy's type, domain and policy-string. */
struct centry {
    uint64_t hash;
    unsigned char *key;
    size_t klen;
    mtasts_tlsrpt_policy *pol;
    const char *fallback; /* why it counts as no-policy-found, or NULL */
};

struct td_collector {
    struct td_mem m;
    mtasts_ctx *ctx;
    int64_t max_bytes;
    uint64_t seed;
    struct td_delta days[TD_DAYS_MAX];
    size_t ndays;
    struct centry *cache; /* CACHE_SLOTS, direct-mapped */
    unsigned char *kbuf;  /* a cache key being made */
    size_t kcap;
    char *body; /* sts: the policy text; tlsa: the records' bytes */
    size_t bcap;
    char *scratch; /* failure texts written with \xHH */
    size_t scap;
    struct mtasts_tlsrpt_failure *fails;
    size_t fcap;
    uint8_t *tl; /* tlsa: usage, selector, mtype (3 per record) */
    size_t tlcap;
    const uint8_t **tdata;
    size_t tdcap;
    size_t *tlen;
    size_t tncap;
};

int
td_result_of_code(int64_t code)
{
    switch (code) {
    case 201:
        return MTASTS_RESULT_STARTTLS_NOT_SUPPORTED;
    case 202:
        return MTASTS_RESULT_CERTIFICATE_HOST_MISMATCH;
    case 203:
        return MTASTS_RESULT_CERTIFICATE_NOT_TRUSTED;
    case 204:
        return MTASTS_RESULT_CERTIFICATE_EXPIRED;
    case 205:
        return MTASTS_RESULT_VALIDATION_FAILURE;
    case 301:
        return MTASTS_RESULT_STS_POLICY_FETCH_ERROR;
    case 302:
        return MTASTS_RESULT_STS_POLICY_INVALID;
    case 303:
        return MTASTS_RESULT_STS_WEBPKI_INVALID;
    case 304:
        return MTASTS_RESULT_TLSA_INVALID;
    case 305:
        return MTASTS_RESULT_DNSSEC_INVALID;
    case 306:
        return MTASTS_RESULT_DANE_REQUIRED;
    default:
        return MTASTS_RESULT_NONE;
    }
}

int
td_collector_new(mtasts_ctx *ctx, const struct mtasts_alloc *alloc,
                 int64_t max_bytes, struct td_collector **ret)
{
    struct td_collector *c;
    struct td_mem m;
    int rc;

    if (ret == NULL)
        return MTASTS_EINVAL;
    *ret = NULL;
    if (ctx == NULL || max_bytes <= 0)
        return MTASTS_EINVAL;
    if ((rc = td_mem_init(&m, alloc)) != MTASTS_OK)
        return rc;
    c = td_mem_alloc(&m, sizeof(*c));
    if (c == NULL)
        return MTASTS_ENOMEM;
    memset(c, 0, sizeof(*c));
    c->m = m;
    c->ctx = ctx;
    c->max_bytes = max_bytes;
    c->cache = td_mem_alloc(&m, CACHE_SLOTS * sizeof(*c->cache));
    if (c->cache == NULL) {
        td_mem_free(&m, c, sizeof(*c));
        return MTASTS_ENOMEM;
    }
    memset(c->cache, 0, CACHE_SLOTS * sizeof(*c->cache));
    /* the cache only saves work: a seed an attacker could guess makes
     * keys collide and be made again, nothing worse */
    c->seed =
        (uint64_t)(uintptr_t)c ^ (uint64_t)time(NULL) * 0x9E3779B97F4A7C15u;
    *ret = c;
    return MTASTS_OK;
}

void
td_collector_free(struct td_collector *c)
{
    struct td_mem m;
    size_t i;

    if (c == NULL)
        return;
    m = c->m;
    for (i = 0; i < c->ndays; i++)
        mtasts_tlsrpt_agg_free(c->days[i].agg);
    for (i = 0; i < CACHE_SLOTS; i++) {
        td_mem_free(&m, c->cache[i].key, c->cache[i].klen);
        mtasts_tlsrpt_policy_free(c->cache[i].pol);
    }
    td_mem_free(&m, c->cache, CACHE_SLOTS * sizeof(*c->cache));
    td_mem_free(&m, c->kbuf, c->kcap);
    td_mem_free(&m, c->body, c->bcap);
    td_mem_free(&m, c->scratch, c->scap);
    td_mem_free(&m, c->fails, c->fcap * sizeof(*c->fails));
    td_mem_free(&m, c->tl, c->tlcap);
    td_mem_free(&m, c->tdata, c->tdcap * sizeof(*c->tdata));
    td_mem_free(&m, c->tlen, c->tncap * sizeof(*c->tlen));
    td_mem_free(&m, c, sizeof(*c));
}

void
td_collector_take(struct td_collector *c, struct td_delta *out, size_t *ret_n)
{
    memcpy(out, c->days, c->ndays * sizeof(*out));
    *ret_n = c->ndays;
    c->ndays = 0;
}

/* The delta of day, made when missing. */
static int
day_delta(struct td_collector *c, int64_t day, struct td_delta **ret)
{
    mtasts_tlsrpt_agg *agg;
    size_t i;
    int rc;

    for (i = 0; i < c->ndays; i++)
        if (c->days[i].day == day) {
            *ret = &c->days[i];
            return MTASTS_OK;
        }
    if (c->ndays == TD_DAYS_MAX)
        return MTASTS_ESTATE;
    if ((rc = mtasts_tlsrpt_agg_new(c->ctx, &agg)) != MTASTS_OK)
        return rc;
    if ((rc = mtasts_tlsrpt_agg_set(agg, MTASTS_AGG_MAX_BYTES, c->max_bytes)) !=
        MTASTS_OK) {
        mtasts_tlsrpt_agg_free(agg);
        return rc;
    }
    c->days[c->ndays].day = day;
    c->days[c->ndays].agg = agg;
    c->days[c->ndays].sessions = 0;
    *ret = &c->days[c->ndays++];
    return MTASTS_OK;
}

/* ------------------------------------------------------------------ */
/* Texts                                                               */
/* ------------------------------------------------------------------ */

/* Length of the well-formed UTF-8 sequence at p (avail bytes), not NUL;
 * 0 when there is none. */
static size_t
utf8_seq(const unsigned char *p, size_t avail)
{
    unsigned char c = p[0], lo = 0x80, hi = 0xBF;
    size_t n, i;

    if (c >= 0x01 && c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        n = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F; /* no surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;
    } else
        return 0;
    if (avail < n || p[1] < lo || p[1] > hi)
        return 0;
    for (i = 2; i < n; i++)
        if ((p[i] & 0xC0) != 0x80)
            return 0;
    return n;
}

/* 1 when s[0..n) is UTF-8 without NUL. */
static int
text_ok(const unsigned char *s, size_t n)
{
    size_t i = 0, k;

    while (i < n) {
        if (s[i] >= 0x01 && s[i] < 0x80) {
            i++;
            continue;
        }
        if ((k = utf8_seq(s + i, n - i)) == 0)
            return 0;
        i += k;
    }
    return 1;
}

/* s[0..n) into d with every byte that is not part of UTF-8 (or is NUL)
 * written as \xHH; d has room for 4 * n. Returns the length. */
static size_t
text_escape(const unsigned char *s, size_t n, char *d)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t i = 0, o = 0, k;

    while (i < n) {
        k = utf8_seq(s + i, n - i);
        if (k == 0) {
            d[o++] = '\\';
            d[o++] = 'x';
            d[o++] = hex[s[i] >> 4];
            d[o++] = hex[s[i] & 15];
            i++;
            continue;
        }
        memcpy(d + o, s + i, k);
        o += k;
        i += k;
    }
    return o;
}

/* The text t as a failure member (*p, *n): absent when empty, escaped
 * into the scratch at *off when needed. */
static void
set_text(struct td_collector *c, const struct td_text *t, const char **p,
         size_t *n, size_t *off, struct td_note *note)
{
    *p = NULL;
    *n = 0;
    if (t->p == NULL || t->n == 0)
        return;
    if (text_ok((const unsigned char *)t->p, t->n)) {
        *p = t->p;
        *n = t->n;
        return;
    }
    *p = c->scratch + *off;
    *n = text_escape((const unsigned char *)t->p, t->n, c->scratch + *off);
    *off += *n;
    note->escaped++;
}

/* ------------------------------------------------------------------ */
/* Policy keys                                                         */
/* ------------------------------------------------------------------ */

static uint64_t
mix(uint64_t h)
{
    h ^= h >> 31;
    h *= UINT64_C(0xBF58476D1CE4E5B9);
    h ^= h >> 29;
    return h;
}

static uint64_t
hash_bytes(uint64_t seed, const unsigned char *p, size_t n)
{
    uint64_t h = seed ^ ((uint64_t)n * UINT64_C(0x9E3779B97F4A7C15)), v;

    while (n >= 8) {
        memcpy(&v, p, 8);
        h = mix(h ^ v) * UINT64_C(0x94D049BB133111EB);
        p += 8;
        n -= 8;
    }
    v = 0;
    memcpy(&v, p, n);
    return mix(h ^ v ^ ((uint64_t)n << 56));
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

/* A decimal 0-255 then one space, at s[*i..n). */
static int
tlsa_num(const char *s, size_t n, size_t *i, uint8_t *ret)
{
    unsigned v = 0;
    size_t start = *i;

    while (*i < n && s[*i] >= '0' && s[*i] <= '9' && *i - start < 3) {
        v = v * 10 + (unsigned)(s[*i] - '0');
        (*i)++;
    }
    if (*i == start || v > 255 || *i >= n || s[*i] != ' ')
        return -1;
    (*i)++;
    *ret = (uint8_t)v;
    return 0;
}

/* One TLSA record "usage selector mtype hex": its numbers into *u, *s and
 * *m, its data into d (room for n / 2 bytes), its length into *dlen. */
static int
tlsa_rr(const char *str, size_t n, uint8_t *u, uint8_t *s, uint8_t *m,
        uint8_t *d, size_t *dlen)
{
    size_t i = 0, k;
    int hi, lo;

    if (tlsa_num(str, n, &i, u) != 0 || tlsa_num(str, n, &i, s) != 0 ||
        tlsa_num(str, n, &i, m) != 0 || i == n || (n - i) % 2 != 0)
        return -1;
    for (k = 0; i < n; i += 2, k++) {
        hi = hexval((unsigned char)str[i]);
        lo = hexval((unsigned char)str[i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        d[k] = (uint8_t)(hi * 16 + lo);
    }
    *dlen = k;
    return 0;
}

static int
key_tlsa(struct td_collector *c, const struct td_policy *pol, const char *dom,
         size_t dl, mtasts_tlsrpt_policy **ret)
{
    size_t i, n = pol->nstrings, need = 0, off = 0;
    uint8_t *u, *s, *m;

    for (i = 0; i < n; i++)
        need += pol->strings[i].n / 2 + 1;
    if (td_mem_grow(&c->m, &c->body, &c->bcap, need, 1) != 0 ||
        td_mem_grow(&c->m, &c->tl, &c->tlcap, 3 * n, 1) != 0 ||
        td_mem_grow(&c->m, &c->tdata, &c->tdcap, n, sizeof(*c->tdata)) != 0 ||
        td_mem_grow(&c->m, &c->tlen, &c->tncap, n, sizeof(*c->tlen)) != 0)
        return MTASTS_ENOMEM;
    u = c->tl;
    s = u + n;
    m = s + n;
    for (i = 0; i < n; i++) {
        if (tlsa_rr(pol->strings[i].p, pol->strings[i].n, &u[i], &s[i], &m[i],
                    (uint8_t *)c->body + off, &c->tlen[i]) != 0)
            return MTASTS_ESYNTAX;
        c->tdata[i] = (const uint8_t *)c->body + off;
        off += c->tlen[i];
    }
    return mtasts_tlsrpt_policy_build_tlsa(c->ctx, dom, dl, u, s, m, c->tdata,
                                           c->tlen, n, ret);
}

static int
key_sts(struct td_collector *c, const struct td_policy *pol, const char *dom,
        size_t dl, mtasts_tlsrpt_policy **ret)
{
    struct mtasts_diag d = MTASTS_DIAG_INIT;
    mtasts_policy *p;
    size_t i, need = 0, off = 0;
    int rc;

    for (i = 0; i < pol->nstrings; i++)
        need += pol->strings[i].n + 1;
    if (td_mem_grow(&c->m, &c->body, &c->bcap, need, 1) != 0)
        return MTASTS_ENOMEM;
    for (i = 0; i < pol->nstrings; i++) {
        memcpy(c->body + off, pol->strings[i].p, pol->strings[i].n);
        off += pol->strings[i].n;
        c->body[off++] = '\n';
    }
    rc = mtasts_policy_parse(c->ctx, c->body, off, 0, &p, &d);
    if (rc != MTASTS_OK)
        return rc;
    rc = mtasts_tlsrpt_policy_build_sts(c->ctx, dom, dl, p, ret);
    mtasts_policy_free(p);
    return rc;
}

/* The cache key of a policy: type, domain, then each policy-string as
 * (4-byte length, bytes); its length. */
static int
cache_key(struct td_collector *c, const struct td_policy *pol, const char *dom,
          size_t dl, size_t *ret_len)
{
    size_t need = 2 + dl, i, off, n;

    if (pol->type != TD_POLICY_NONE)
        for (i = 0; i < pol->nstrings; i++) {
            if (pol->strings[i].n > UINT32_MAX ||
                need > SIZE_MAX - 4 - pol->strings[i].n)
                return MTASTS_ETOOBIG;
            need += 4 + pol->strings[i].n;
        }
    if (td_mem_grow(&c->m, &c->kbuf, &c->kcap, need, 1) != 0)
        return MTASTS_ENOMEM;
    c->kbuf[0] = (unsigned char)pol->type;
    c->kbuf[1] = (unsigned char)dl;
    memcpy(c->kbuf + 2, dom, dl);
    off = 2 + dl;
    if (pol->type != TD_POLICY_NONE)
        for (i = 0; i < pol->nstrings; i++) {
            n = pol->strings[i].n;
            c->kbuf[off] = (unsigned char)(n >> 24);
            c->kbuf[off + 1] = (unsigned char)(n >> 16);
            c->kbuf[off + 2] = (unsigned char)(n >> 8);
            c->kbuf[off + 3] = (unsigned char)n;
            memcpy(c->kbuf + off + 4, pol->strings[i].p, n);
            off += 4 + n;
        }
    *ret_len = off;
    return MTASTS_OK;
}

/* The report key of policy pol of domain dom (normalised), from the
 * cache or made. *ret_fallback: why it counts as no-policy-found. */
static int
policy_key(struct td_collector *c, const struct td_policy *pol, const char *dom,
           size_t dl, const mtasts_tlsrpt_policy **ret,
           const char **ret_fallback)
{
    mtasts_tlsrpt_policy *key = NULL;
    const char *why = NULL;
    struct centry *e;
    unsigned char *kcopy;
    uint64_t h;
    size_t klen;
    int rc;

    if ((rc = cache_key(c, pol, dom, dl, &klen)) != MTASTS_OK)
        return rc;
    h = hash_bytes(c->seed, c->kbuf, klen);
    e = &c->cache[h & (CACHE_SLOTS - 1)];
    if (e->pol != NULL && e->hash == h && e->klen == klen &&
        memcmp(e->key, c->kbuf, klen) == 0) {
        *ret = e->pol;
        *ret_fallback = e->fallback;
        return MTASTS_OK;
    }
    switch (pol->type) {
    case TD_POLICY_STS:
        if (pol->nstrings == 0)
            why = "an sts policy without policy-string counts as "
                  "no-policy-found";
        else if ((rc = key_sts(c, pol, dom, dl, &key)) == MTASTS_ENOMEM)
            return rc;
        else if (rc != MTASTS_OK)
            why = "an sts policy-string that is not an MTA-STS policy "
                  "counts as no-policy-found";
        break;
    case TD_POLICY_TLSA:
        if (pol->nstrings == 0)
            why = "a tlsa policy without policy-string counts as "
                  "no-policy-found";
        else if ((rc = key_tlsa(c, pol, dom, dl, &key)) == MTASTS_ENOMEM)
            return rc;
        else if (rc != MTASTS_OK)
            why = "a tlsa policy-string that is not \"usage selector mtype "
                  "hex\" counts as no-policy-found";
        break;
    default:
        break;
    }
    if (key == NULL && (rc = mtasts_tlsrpt_policy_build_none(
                            c->ctx, dom, dl, &key)) != MTASTS_OK)
        return rc;
    kcopy = td_mem_alloc(&c->m, klen);
    if (kcopy == NULL) {
        mtasts_tlsrpt_policy_free(key);
        return MTASTS_ENOMEM;
    }
    memcpy(kcopy, c->kbuf, klen);
    td_mem_free(&c->m, e->key, e->klen);
    mtasts_tlsrpt_policy_free(e->pol);
    e->hash = h;
    e->key = kcopy;
    e->klen = klen;
    e->pol = key;
    e->fallback = why;
    *ret = key;
    *ret_fallback = why;
    return MTASTS_OK;
}

/* ------------------------------------------------------------------ */
/* Failures                                                            */
/* ------------------------------------------------------------------ */

#define UNKNOWN_PREFIX "libtlsrpt-unknown-failure-code-"

/* The six text members of a failure by index. */
static void
member_ptrs(struct mtasts_tlsrpt_failure *f, int k, const char ***p, size_t **n)
{
    switch (k) {
    case 0:
        *p = &f->sending_ip;
        *n = &f->sending_ip_len;
        break;
    case 1:
        *p = &f->receiving_mx;
        *n = &f->receiving_mx_len;
        break;
    case 2:
        *p = &f->receiving_helo;
        *n = &f->receiving_helo_len;
        break;
    case 3:
        *p = &f->receiving_ip;
        *n = &f->receiving_ip_len;
        break;
    case 4:
        *p = &f->additional;
        *n = &f->additional_len;
        break;
    default:
        *p = &f->reason_code;
        *n = &f->reason_code_len;
        break;
    }
}

static const char *const member_names[6] = {
    "sending-mta-ip (s)",         "receiving-mx-hostname (n)",
    "receiving-mx-helo (h)",      "receiving-ip (r)",
    "additional-information (a)", "failure-reason-code (f)"};

/* The library's failures of policy pol, in c->fails. */
static int
failures(struct td_collector *c, const struct td_policy *pol,
         struct td_note *note)
{
    const struct td_failure *t;
    struct mtasts_tlsrpt_failure *f;
    size_t need = 0, off = 0, i, n;
    char num[24];
    int rt, len;

    for (i = 0; i < pol->nfailures; i++) {
        t = &pol->failures[i];
        n = t->sending_ip.n + t->mx_host.n + t->helo.n + t->receiving_ip.n +
            t->additional.n + 2 * t->reason.n;
        if (n > (SIZE_MAX - need) / 4 - 64)
            return MTASTS_ETOOBIG;
        need += 4 * n + 64;
    }
    if (td_mem_grow(&c->m, &c->fails, &c->fcap, pol->nfailures,
                    sizeof(*c->fails)) != 0 ||
        td_mem_grow(&c->m, &c->scratch, &c->scap, need, 1) != 0)
        return MTASTS_ENOMEM;
    for (i = 0; i < pol->nfailures; i++) {
        t = &pol->failures[i];
        f = &c->fails[i];
        memset(f, 0, sizeof(*f));
        f->version = MTASTS_FAILURE_VERSION;
        set_text(c, &t->sending_ip, &f->sending_ip, &f->sending_ip_len, &off,
                 note);
        set_text(c, &t->mx_host, &f->receiving_mx, &f->receiving_mx_len, &off,
                 note);
        set_text(c, &t->helo, &f->receiving_helo, &f->receiving_helo_len, &off,
                 note);
        set_text(c, &t->receiving_ip, &f->receiving_ip, &f->receiving_ip_len,
                 &off, note);
        set_text(c, &t->additional, &f->additional, &f->additional_len, &off,
                 note);
        set_text(c, &t->reason, &f->reason_code, &f->reason_code_len, &off,
                 note);
        rt = td_result_of_code(t->code);
        if (rt == MTASTS_RESULT_NONE) {
            /* "libtlsrpt-unknown-failure-code-N[: reason]" */
            char *d = c->scratch + off;
            len = snprintf(num, sizeof(num), "%lld", (long long)t->code);
            memcpy(d, UNKNOWN_PREFIX, sizeof(UNKNOWN_PREFIX) - 1);
            n = sizeof(UNKNOWN_PREFIX) - 1;
            memcpy(d + n, num, (size_t)len);
            n += (size_t)len;
            if (f->reason_code != NULL) {
                d[n++] = ':';
                d[n++] = ' ';
                memmove(d + n, f->reason_code, f->reason_code_len);
                n += f->reason_code_len;
            }
            f->reason_code = d;
            f->reason_code_len = n;
            off += n;
            rt = MTASTS_RESULT_VALIDATION_FAILURE;
            note->unknown_codes++;
            note->code = t->code;
        }
        f->result_type = rt;
    }
    return MTASTS_OK;
}

/* The library refused the failures: leave out each member it refuses on
 * its own (tried one at a time in a scratch aggregate). */
static int
repair(struct td_collector *c, const mtasts_tlsrpt_policy *key, int64_t when,
       size_t nf, struct td_note *note)
{
    struct mtasts_tlsrpt_failure one, *f;
    mtasts_tlsrpt_agg *trial;
    const char **p, **q;
    size_t *n, *qn, i;
    int k, rc;

    if ((rc = mtasts_tlsrpt_agg_new(c->ctx, &trial)) != MTASTS_OK)
        return rc;
    for (i = 0; i < nf; i++) {
        f = &c->fails[i];
        for (k = 0; k < 6; k++) {
            member_ptrs(f, k, &p, &n);
            if (*p == NULL)
                continue;
            memset(&one, 0, sizeof(one));
            one.version = MTASTS_FAILURE_VERSION;
            one.result_type = f->result_type;
            member_ptrs(&one, k, &q, &qn);
            *q = *p;
            *qn = *n;
            rc = mtasts_tlsrpt_agg_add(trial, key, when, MTASTS_SESSION_FAILURE,
                                       &one, 1, 0);
            if (rc == MTASTS_ESYNTAX || rc == MTASTS_ETOOBIG) {
                *p = NULL;
                *n = 0;
                note->dropped++;
                note->change = member_names[k];
            } else if (rc != MTASTS_OK) {
                mtasts_tlsrpt_agg_free(trial);
                return rc;
            }
        }
    }
    mtasts_tlsrpt_agg_free(trial);
    return MTASTS_OK;
}

int
td_collect(struct td_collector *c, const struct td_result *r, int64_t when,
           struct td_note *note)
{
    char dom[MTASTS_DOMAIN_MAX_LEN + 1];
    const mtasts_tlsrpt_policy *key;
    const struct td_policy *pol;
    const char *why;
    struct td_delta *delta;
    size_t dl, i;
    int rc, outcome;

    memset(note, 0, sizeof(*note));
    if (c == NULL || r == NULL || when < 0 ||
        (r->npolicies > 0 && r->policies == NULL)) {
        note->what = "a result (API misuse)";
        return MTASTS_EINVAL;
    }
    if (r->domain.p == NULL ||
        mtasts_domain_normalize(r->domain.p, r->domain.n, dom, sizeof(dom),
                                &dl) != MTASTS_OK) {
        note->what = "a domain name (A-labels) as d";
        return MTASTS_ESYNTAX;
    }
    if ((rc = day_delta(c, when - when % TD_DAY, &delta)) != MTASTS_OK) {
        note->what = rc == MTASTS_ESTATE ? "fewer days at once" : "memory";
        return rc;
    }
    for (i = 0; i < r->npolicies; i++) {
        pol = &r->policies[i];
        note->policy = i;
        if ((pol->type != TD_POLICY_TLSA && pol->type != TD_POLICY_STS &&
             pol->type != TD_POLICY_NONE) ||
            (pol->nstrings > 0 && pol->strings == NULL) ||
            (pol->nfailures > 0 && pol->failures == NULL)) {
            note->what = "a result (API misuse)";
            return MTASTS_EINVAL;
        }
        rc = policy_key(c, pol, dom, dl, &key, &why);
        if (rc == MTASTS_OK)
            rc = failures(c, pol, note);
        if (rc != MTASTS_OK) {
            note->what =
                rc == MTASTS_ENOMEM ? "memory" : "a policy of a usable size";
            return rc;
        }
        if (why != NULL) {
            note->fallbacks++;
            note->change = why;
        }
        outcome = pol->failed ? MTASTS_SESSION_FAILURE : MTASTS_SESSION_SUCCESS;
        rc = mtasts_tlsrpt_agg_add(delta->agg, key, when, outcome, c->fails,
                                   pol->nfailures, 0);
        if ((rc == MTASTS_ESYNTAX || rc == MTASTS_ETOOBIG) &&
            pol->nfailures > 0) {
            rc = repair(c, key, when, pol->nfailures, note);
            if (rc == MTASTS_OK)
                rc = mtasts_tlsrpt_agg_add(delta->agg, key, when, outcome,
                                           c->fails, pol->nfailures, 0);
        }
        if (rc != MTASTS_OK) {
            note->what = rc == MTASTS_ENOMEM    ? "memory"
                         : rc == MTASTS_ETOOBIG ? "room under the aggregate's "
                                                  "memory bound (max_memory)"
                                                : "a result the library takes";
            return rc;
        }
        delta->sessions++;
        note->sessions++;
        if (pol->t >= 0 && (uint64_t)pol->t != pol->nfailures)
            note->t_mismatch++;
    }
    return MTASTS_OK;
}
