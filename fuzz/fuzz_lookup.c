/*
 * Fuzz the discovery pull API (mtasts_lookup_*) over time.
 *
 * The input is a script read by a small op-code interpreter:
 *
 *   byte 0       context options (refresh interval, backoff, extension,
 *                tempfail-without-cache, delete-none)
 *   byte 1       min refetch, policy size limit, start time
 *   then steps   one byte each: domain (bits 0-2), entry source (bits 3-4:
 *                none, the stored entry, garbage bytes from the input, a
 *                mutated stored entry), MTASTS_LOOKUP_F_REFRESH (bit 5), how
 *                the clock moves (bits 6-7, plus more bytes); then the
 *                answers to each MTASTS_ACT_TXT (DNS status and an RRset
 *                cut from the input) and MTASTS_ACT_FETCH (transport, HTTP
 *                status, content type, body from a template or raw), and
 *                an MX host and TLS/DANE state for mtasts_decide().
 *
 * Entries are kept between steps in an mtasts_cache (through
 * mtasts_cache_apply()), so later steps see what earlier ones stored.
 * Every step checks the invariants of doc/discovery.md against oracles
 * computed with the public API (mtasts_sts_record_select,
 * mtasts_policy_parse, mtasts_entry_decode) and aborts on a violation.
 *
 * For about one input in four the whole script runs a second time with an
 * allocator that refuses allocations (fuzz_common.h): every step up to the
 * first refusal must give the same results as the first run, the refusal
 * must surface as MTASTS_ENOMEM from mtasts_lookup_new(),
 * mtasts_lookup_put_*() or mtasts_lookup_next(), and nothing may leak.
 */
#include "fuzz_common.h"

#define MAX_STEPS 16
#define MAX_RR    4
#define T61       ((int64_t)1 << 61)

/* ---- input reader ---- */

struct in {
    const uint8_t *p;
    size_t n, i;
};

static unsigned
in_u8(struct in *in)
{
    return in->i < in->n ? in->p[in->i++] : 0u;
}

static unsigned
in_u16(struct in *in)
{
    unsigned a = in_u8(in);
    return a | (in_u8(in) << 8);
}

/* Up to max bytes, stopping before a separator byte 0x1E or 0x1F (which
 * is consumed). */
static size_t
in_until_sep(struct in *in, size_t max, const uint8_t **ret)
{
    size_t k = 0;

    *ret = in->p + in->i;
    while (in->i < in->n && k < max && in->p[in->i] != 0x1e &&
           in->p[in->i] != 0x1f) {
        in->i++;
        k++;
    }
    if (in->i < in->n && (in->p[in->i] == 0x1e || in->p[in->i] == 0x1f))
        in->i++;
    return k;
}

static size_t
in_take(struct in *in, size_t want, const uint8_t **ret)
{
    size_t k = in->n - in->i;

    if (want < k)
        k = want;
    *ret = in->p + in->i;
    in->i += k;
    return k;
}

static uint64_t
fnv(const uint8_t *p, size_t n)
{
    uint64_t h = UINT64_C(0xcbf29ce484222325);
    size_t i;

    for (i = 0; i < n; i++) {
        h ^= p[i];
        h *= UINT64_C(0x100000001b3);
    }
    return h ^ n;
}

/* ---- the script's vocabulary ---- */

static const char *const domains[8] = {
    "example.com",   "example.com",  "Example.COM.", "other.example",
    "other.example", "example.com.", "[192.0.2.1]",  "bad..example",
};

static const char *const ids[6] = {
    "1", "2", "20240101T000000", "A", "a", "abcdefghijklmnopqrstuvwxyz012345",
};

static const char alnum[] =
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

static const char *const ctypes[8] = {
    "text/plain",  "text/plain; charset=utf-8",
    NULL,          "TEXT/Plain ",
    "text/html",   "",
    "text/plain;", "text/plainx",
};
static const int ctype_ok[8] = {1, 1, 0, 1, 0, 0, 1, 0};

static const int http_codes[8] = {200, 200, 200, 200, 301, 404, 500, 304};

static const char *const modes[3] = {"enforce", "testing", "none"};
static const char *const mxs[4] = {
    "mx.example.com",
    "*.example.com",
    NULL,
    "mx.example.com\nmx: *.other.example",
};
static const char *const max_ages[8] = {
    "0", "1", "60", "86400", "604800", "31557600", "31557601", "9999999999",
};

/* What one step produced; the failing-allocator run must agree. */
struct step_log {
    int new_rc, entry_error, outcome, why, action, result_type, from_cache;
    int alert, fetches, spare; /* no padding: logs are compared by memcmp */
    uint64_t entry_hash;
};

struct run {
    struct fz_alloc *fa; /* the lookups' allocator */
    int oom;             /* this is the failing-allocator run */
    mtasts_ctx *ctx;     /* lookups (on fa) */
    mtasts_ctx *ref;     /* oracles (libc) */
    mtasts_ctx *cctx;    /* the cache (its own tracked allocator) */
    struct fz_alloc cfa;
    mtasts_cache *cache;
    int64_t backoff;
    int tempfail_no_cache;
    size_t policy_limit;
    struct step_log log[MAX_STEPS];
    size_t nlog;
};

/* ---- RRset ---- */

struct rrset {
    char buf[2048];
    size_t used;
    const char *strs[MAX_RR * 2];
    size_t lens[MAX_RR * 2];
    size_t nstr[MAX_RR];
    size_t nrr, ns;
};

static char *
rr_put(struct rrset *rs, const void *p, size_t n)
{
    char *d = rs->buf + rs->used;

    FZ_CHECK(rs->used + n <= sizeof(rs->buf));
    if (n > 0)
        memcpy(d, p, n);
    rs->used += n;
    return d;
}

static void
rr_str(struct rrset *rs, const char *s)
{
    rr_put(rs, s, strlen(s));
}

/* One record: kind (bits 0-1), id choice (bits 2-4), an extension (bit
 * 5), split into two strings (bit 7). */
static void
rr_add(struct rrset *rs, struct in *in)
{
    unsigned t = in_u8(in), sel = (t >> 2) & 7u, i;
    char *start = rs->buf + rs->used;
    const uint8_t *raw;
    size_t len, k, cut;

    switch (t & 3u) {
    case 0:
        rr_str(rs, "v=STSv1; id=");
        if (sel < 6) {
            rr_str(rs, ids[sel]);
        } else if (sel == 6) {
            k = in_take(in, in_u8(in) % 34u, &raw);
            for (i = 0; i < k; i++) {
                char c = alnum[raw[i] % 62u];
                rr_put(rs, &c, 1);
            }
        }
        if (t & 0x20u)
            rr_str(rs, "; ext=v");
        break;
    case 1:
        k = in_until_sep(in, 300, &raw);
        rr_put(rs, raw, k);
        break;
    case 2:
        rr_str(rs, "v=spf1 -all");
        break;
    default:
        rr_str(rs, "v=STSv1;");
        k = in_until_sep(in, 300, &raw);
        rr_put(rs, raw, k);
        break;
    }
    len = (size_t)(rs->buf + rs->used - start);
    if ((t & 0x80u) && len > 0) {
        cut = in_u8(in) % (len + 1);
        rs->strs[rs->ns] = start;
        rs->lens[rs->ns++] = cut;
        rs->strs[rs->ns] = start + cut;
        rs->lens[rs->ns++] = len - cut;
        rs->nstr[rs->nrr++] = 2;
    } else {
        rs->strs[rs->ns] = start;
        rs->lens[rs->ns++] = len;
        rs->nstr[rs->nrr++] = 1;
    }
}

/* ---- helpers ---- */

static int
fmt_lookup(const void *obj, char *dst, size_t dst_len, size_t *ret_needed)
{
    return mtasts_lookup_format(obj, dst, dst_len, ret_needed);
}

static int
same_bytes(const void *a, size_t al, const void *b, size_t bl)
{
    return al == bl && (al == 0 || memcmp(a, b, al) == 0);
}

/* The "domain=" value of an entry's second line, for the entry_error
 * oracle. */
static int
entry_domain_field(const uint8_t *e, size_t n, const uint8_t **ret,
                   size_t *ret_len)
{
    const uint8_t *nl = memchr(e, '\n', n), *v, *end;

    if (nl == NULL || (size_t)(e + n - (nl + 1)) < 7 ||
        memcmp(nl + 1, "domain=", 7) != 0)
        return 0;
    v = nl + 8;
    end = memchr(v, '\n', (size_t)(e + n - v));
    if (end == NULL)
        return 0;
    *ret = v;
    *ret_len = (size_t)(end - v);
    return 1;
}

/* The backoff-result number of a decoded entry (no getter exists). */
static int
entry_backoff_result(const uint8_t *e, size_t n)
{
    static const char key[] = "\nbackoff-result=";
    size_t i, k = sizeof(key) - 1;
    int v = 0;

    for (i = 0; i + k <= n; i++)
        if (memcmp(e + i, key, k) == 0)
            break;
    FZ_CHECK(i + k <= n);
    for (i += k; i < n && e[i] >= '0' && e[i] <= '9'; i++)
        v = v * 10 + (e[i] - '0');
    return v;
}

static const char *
policy_raw(const mtasts_policy *p, size_t *len)
{
    return mtasts_policy_raw(p, len);
}

/* Entry bytes for this step: none, stored, garbage, or mutated. */
static uint8_t *
step_entry(struct run *r, struct in *in, unsigned src, const char *dom,
           const char *other, int64_t now, size_t *ret_len)
{
    const uint8_t *stored = NULL, *raw;
    size_t slen = 0, k, pos, n;
    uint8_t *e;
    unsigned m;

    *ret_len = 0;
    if (src == 0)
        return NULL;
    if (src == 2) {
        k = in_take(in, in_u16(in) % 600u, &raw);
        e = malloc(k + 1);
        if (e == NULL)
            abort();
        if (k > 0)
            memcpy(e, raw, k);
        *ret_len = k;
        return e;
    }
    m = src == 3 ? in_u8(in) : 0u;
    if (src == 3 && (m & 7u) == 0)
        dom = other; /* another domain's entry, unmodified */
    if (mtasts_cache_get(r->cache, dom, strlen(dom), now, &stored, &slen) !=
            MTASTS_OK ||
        stored == NULL)
        return NULL;
    n = slen + 8;
    e = malloc(n);
    if (e == NULL)
        abort();
    memcpy(e, stored, slen);
    n = slen;
    if (src == 3 && n > 0) {
        pos = in_u16(in) % n;
        switch (m & 7u) {
        case 1: /* truncate */
            n = pos;
            break;
        case 2: /* replace a byte */
            e[pos] = (uint8_t)in_u8(in);
            break;
        case 3: /* insert a byte */
            memmove(e + pos + 1, e + pos, n - pos);
            e[pos] = (uint8_t)in_u8(in);
            n++;
            break;
        case 4: /* delete up to 8 bytes */
            k = (m >> 3) % 8u + 1;
            if (k > n - pos)
                k = n - pos;
            memmove(e + pos, e + pos + k, n - pos - k);
            n -= k;
            break;
        case 5: /* bump a digit */
            for (k = pos; k < n; k++)
                if (e[k] >= '0' && e[k] <= '9') {
                    e[k] = e[k] == '9' ? (uint8_t)'0' : (uint8_t)(e[k] + 1);
                    break;
                }
            break;
        case 6: /* append bytes */
            k = in_take(in, 8, &raw);
            memcpy(e + n, raw, k);
            n += k;
            break;
        default: /* flip a bit */
            e[pos] = (uint8_t)(e[pos] ^ (1u << (m >> 5)));
            break;
        }
    }
    *ret_len = n;
    return e;
}

/* ---- one step ---- */

struct oracle {
    int have_entry;       /* entry bytes were passed */
    const uint8_t *entry; /* those bytes */
    size_t entry_len;
    int dec_rc;        /* mtasts_entry_decode() of them */
    mtasts_entry *dec; /* the decoded entry (ref ctx) */
    int same_domain;   /* dec belongs to this lookup's domain */
    int dns;           /* DNS status answered, -1 none */
    int sel;           /* select outcome when dns OK */
    char sel_id[MTASTS_ID_MAX_LEN + 1];
    size_t sel_id_len;
    int fetched;      /* a fetch was answered */
    int fetch_expect; /* 0 success, else expected result type */
    const char *body; /* body of the fetch */
    size_t body_len;
};

/* Returns 0 to go on, 1 when the allocator's refusal ended the run. */
static int
check_oom_rc(struct run *r, int rc)
{
    if (rc == MTASTS_ENOMEM) {
        FZ_CHECK(r->oom && r->fa->failed);
        return 1;
    }
    return 0;
}

static void
answer_txt(struct run *r, struct in *in, mtasts_lookup *lk, struct oracle *o,
           int *ret_rc)
{
    struct rrset rs;
    unsigned s = in_u8(in), i, nrr;
    mtasts_sts_record *rec = NULL;
    const char *id;
    int rc, outcome = -1;
    size_t l;

    memset(&rs, 0, sizeof(rs));
    o->dns = (int)(s & 3u);
    nrr = (s >> 2) & 3u;
    if (s & 0x10u)
        nrr++;
    for (i = 0; i < nrr && i < MAX_RR; i++)
        rr_add(&rs, in);
    /* the oracle: the same selection through the public API */
    rc = mtasts_sts_record_select(r->ref, rs.strs, rs.lens, rs.nstr, rs.nrr, 0,
                                  &outcome, &rec, NULL);
    FZ_CHECK(rc == MTASTS_OK);
    o->sel = outcome;
    if (outcome == MTASTS_SELECT_FOUND) {
        id = mtasts_sts_record_id(rec, &l);
        FZ_CHECK(l <= MTASTS_ID_MAX_LEN);
        memcpy(o->sel_id, id, l);
        o->sel_id_len = l;
    }
    mtasts_sts_record_free(rec);
    /* a fetch answer is refused while the TXT question is open */
    FZ_CHECK(mtasts_lookup_put_fetch(lk, MTASTS_FETCH_OK, 200, NULL, 0, NULL,
                                     0) == MTASTS_ESTATE);
    *ret_rc = mtasts_lookup_put_txt(lk, o->dns, rs.nrr ? rs.strs : NULL,
                                    rs.nrr ? rs.lens : NULL,
                                    rs.nrr ? rs.nstr : NULL, rs.nrr);
}

static void
answer_fetch(struct run *r, struct in *in, mtasts_lookup *lk, const char *norm,
             size_t norm_len, struct oracle *o, char *body, size_t body_cap,
             int *ret_rc)
{
    unsigned f = in_u8(in), g = in_u8(in), h, tv;
    int transport, http;
    const char *ct, *s, *mx, *eol;
    const uint8_t *raw;
    size_t l, ct_i, blen;
    mtasts_policy *pol = NULL;
    char want[MTASTS_DOMAIN_MAX_LEN + 64];
    int n;

    /* the names the caller is told to use */
    s = mtasts_lookup_fetch_host(lk, &l);
    fz_check_cstr(s, l);
    FZ_CHECK(l == 8 + norm_len && memcmp(s, "mta-sts.", 8) == 0 &&
             memcmp(s + 8, norm, norm_len) == 0);
    s = mtasts_lookup_fetch_url(lk, &l);
    fz_check_cstr(s, l);
    n = snprintf(want, sizeof(want),
                 "https://mta-sts.%s/.well-known/mta-sts.txt", norm);
    FZ_CHECK(n > 0 && (size_t)n == l && memcmp(s, want, l) == 0);
    FZ_CHECK(mtasts_lookup_fetch_max_size(lk) == r->policy_limit);
    FZ_CHECK(mtasts_lookup_fetch_timeout_ms(lk) == 60000);
    FZ_CHECK(mtasts_lookup_put_txt(lk, MTASTS_DNS_OK, NULL, NULL, NULL, 0) ==
             MTASTS_ESTATE);

    tv = f % 10u;
    transport = tv < 4 ? MTASTS_FETCH_OK : (int)(tv - 3);
    http = http_codes[(f / 10u) % 8u];
    ct_i = g & 7u;
    ct = ctypes[ct_i];
    if (g & 0x08u) {
        h = in_u8(in);
        mx = mxs[(h >> 2) & 3u];
        eol = (g & 0x10u) ? "\r\n" : "\n";
        n = snprintf(body, body_cap, "version: STSv1%smode: %s%s", eol,
                     modes[(h & 3u) % 3u], eol);
        FZ_CHECK(n > 0);
        blen = (size_t)n;
        if (mx != NULL) {
            n = snprintf(body + blen, body_cap - blen, "mx: %s%s", mx, eol);
            FZ_CHECK(n > 0);
            blen += (size_t)n;
        }
        n = snprintf(body + blen, body_cap - blen, "max_age: %s%s",
                     max_ages[(h >> 4) & 7u], (g & 0x20u) ? eol : "");
        FZ_CHECK(n > 0);
        blen += (size_t)n;
    } else {
        blen = in_take(in, (g & 0x10u) ? in_u16(in) : in_u8(in), &raw);
        if (blen > body_cap)
            blen = body_cap;
        if (blen > 0)
            memcpy(body, raw, blen);
    }
    o->fetched = 1;
    o->body = body;
    o->body_len = blen;
    /* the oracle for the response's fate */
    if (transport == MTASTS_FETCH_CERT)
        o->fetch_expect = MTASTS_RESULT_STS_WEBPKI_INVALID;
    else if (transport == MTASTS_FETCH_TOO_BIG)
        o->fetch_expect = MTASTS_RESULT_STS_POLICY_INVALID;
    else if (transport != MTASTS_FETCH_OK || http != 200)
        o->fetch_expect = MTASTS_RESULT_STS_POLICY_FETCH_ERROR;
    else if (!ctype_ok[ct_i] || blen > r->policy_limit)
        o->fetch_expect = MTASTS_RESULT_STS_POLICY_INVALID;
    else if (mtasts_policy_parse(r->ref, body, blen, 0, &pol, NULL) != 0)
        o->fetch_expect = MTASTS_RESULT_STS_POLICY_INVALID;
    else
        o->fetch_expect = 0;
    mtasts_policy_free(pol);
    *ret_rc = mtasts_lookup_put_fetch(lk, transport, http, ct,
                                      ct != NULL ? strlen(ct) : 0,
                                      blen > 0 ? body : NULL, blen);
}

/* Whether FUZZ_LOOKUP_KNOWN names a known library issue to tolerate, so
 * that fuzzing can go on past it until it is fixed. */
static int
known(const char *issue)
{
    const char *k = getenv("FUZZ_LOOKUP_KNOWN");

    return k != NULL && strstr(k, issue) != NULL;
}

/*
 * Debugging aids, read once: FUZZ_LOOKUP_TRACE=1 prints each finished
 * lookup's log line; FUZZ_LOOKUP_DUMP=DIR writes each stored entry to
 * DIR/entry-<n>.bin (how the cache_entry seeds were made).
 */
static void
trace(const struct run *r, const char *line, int64_t now, const uint8_t *entry,
      size_t n)
{
    static int init, on;
    static const char *dir;
    static unsigned long count;
    char path[4096];
    FILE *f;

    if (r->oom)
        return;
    if (!init) {
        init = 1;
        on = getenv("FUZZ_LOOKUP_TRACE") != NULL;
        dir = getenv("FUZZ_LOOKUP_DUMP");
    }
    if (on)
        fprintf(stderr, "now=%lld %s\n", (long long)now, line);
    if (dir != NULL && entry != NULL) {
        snprintf(path, sizeof(path), "%s/entry-%lu.bin", dir, count++);
        f = fopen(path, "wb");
        if (f != NULL) {
            fwrite(entry, 1, n, f);
            fclose(f);
        }
    }
}

/* The stored entry of a finished lookup, checked against the oracles. */
static void
check_stored(struct run *r, mtasts_lookup *lk, const struct oracle *o,
             const char *norm, size_t norm_len, int64_t now,
             const uint8_t *bytes, size_t n)
{
    mtasts_entry *e = NULL;
    const mtasts_policy *p, *cp;
    const char *s, *cs;
    size_t l, cl;
    uint8_t *again;
    size_t an;
    int why = mtasts_lookup_why(lk);

    FZ_CHECK(mtasts_entry_decode(r->ref, bytes, n, &e, NULL) == MTASTS_OK);
    s = mtasts_entry_domain(e, &l);
    FZ_CHECK(l == norm_len && memcmp(s, norm, l) == 0);
    /* encoding a decoded entry gives back the same bytes */
    again = malloc(n + 1);
    if (again == NULL)
        abort();
    FZ_CHECK(mtasts_entry_encode(e, again, n + 1, &an) == MTASTS_OK);
    FZ_CHECK(same_bytes(again, an, bytes, n));
    free(again);
    p = mtasts_entry_policy(e);
    if (why == MTASTS_WHY_FETCHED) {
        FZ_CHECK(p != NULL);
        FZ_CHECK(mtasts_entry_time(e, MTASTS_ENTRY_TIME_FETCHED_AT) == now);
        FZ_CHECK(mtasts_entry_time(e, MTASTS_ENTRY_TIME_EXPIRES_AT) ==
                 now + (int64_t)mtasts_policy_max_age(p));
        FZ_CHECK(mtasts_entry_time(e, MTASTS_ENTRY_TIME_LAST_USED) == now);
        FZ_CHECK(mtasts_entry_time(e, MTASTS_ENTRY_TIME_BACKOFF_UNTIL) == 0);
        s = policy_raw(p, &l);
        FZ_CHECK(same_bytes(s, l, o->body, o->body_len));
        s = mtasts_entry_id(e, &l);
        if (o->dns == MTASTS_DNS_OK && o->sel == MTASTS_SELECT_FOUND) {
            FZ_CHECK(same_bytes(s, l, o->sel_id, o->sel_id_len));
        } else {
            /* a refresh without a record keeps the cached id */
            FZ_CHECK(o->dec != NULL && o->same_domain);
            cs = mtasts_entry_id(o->dec, &cl);
            FZ_CHECK(same_bytes(s, l, cs, cl));
        }
    } else if (o->dec != NULL && o->same_domain) {
        /* the cached policy is kept untouched (STS-CACHE-6) */
        cp = mtasts_entry_policy(o->dec);
        FZ_CHECK((cp != NULL) == (p != NULL));
        if (p != NULL) {
            s = policy_raw(p, &l);
            cs = policy_raw(cp, &cl);
            FZ_CHECK(same_bytes(s, l, cs, cl));
            FZ_CHECK(mtasts_entry_time(e, MTASTS_ENTRY_TIME_FETCHED_AT) ==
                     mtasts_entry_time(o->dec, MTASTS_ENTRY_TIME_FETCHED_AT));
            FZ_CHECK(mtasts_entry_time(e, MTASTS_ENTRY_TIME_EXPIRES_AT) >=
                     mtasts_entry_time(o->dec, MTASTS_ENTRY_TIME_EXPIRES_AT));
        }
        s = mtasts_entry_id(e, &l);
        cs = mtasts_entry_id(o->dec, &cl);
        FZ_CHECK(same_bytes(s, l, cs, cl));
    } else {
        FZ_CHECK(p == NULL); /* no policy appears from nowhere */
    }
    if (why == MTASTS_WHY_FETCH_FAILED) {
        FZ_CHECK(mtasts_entry_time(e, MTASTS_ENTRY_TIME_BACKOFF_UNTIL) ==
                 now + r->backoff);
        s = mtasts_entry_backoff_id(e, &l);
        if (o->dns == MTASTS_DNS_OK && o->sel == MTASTS_SELECT_FOUND) {
            FZ_CHECK(same_bytes(s, l, o->sel_id, o->sel_id_len));
        } else {
            cs = mtasts_entry_id(o->dec, &cl);
            FZ_CHECK(same_bytes(s, l, cs, cl));
        }
    }
    mtasts_entry_free(e);
}

static void
check_done(struct run *r, mtasts_lookup *lk, const struct oracle *o,
           unsigned flags, const char *given, const char *norm, size_t norm_len,
           int64_t now, struct in *in, struct step_log *lg)
{
    const mtasts_policy *pol = mtasts_lookup_policy(lk), *cp;
    int outcome = mtasts_lookup_outcome(lk), why = mtasts_lookup_why(lk);
    int action = mtasts_lookup_entry_action(lk);
    int rt = mtasts_lookup_result_type(lk), mode, rc, act, drt, reason;
    int cached_valid, cached_none, fetch_ok;
    const uint8_t *got, *raw;
    size_t n = 0, n2, l, cl, gl;
    uint8_t *bytes = NULL;
    char *text;
    const char *s, *cs;
    int64_t ra;
    unsigned tls, dane;

    FZ_CHECK(outcome >= MTASTS_OUTCOME_NO_POLICY &&
             outcome <= MTASTS_OUTCOME_TEMPFAIL);
    FZ_CHECK(mtasts_why_name(why) != NULL);
    FZ_CHECK((pol != NULL) == (outcome == MTASTS_OUTCOME_APPLY ||
                               outcome == MTASTS_OUTCOME_NO_ACTIVE_POLICY));
    mode = mtasts_policy_mode(pol);
    if (pol != NULL)
        FZ_CHECK((outcome == MTASTS_OUTCOME_NO_ACTIVE_POLICY) ==
                 (mode == MTASTS_MODE_NONE));
    if (outcome == MTASTS_OUTCOME_TEMPFAIL)
        FZ_CHECK(r->tempfail_no_cache && why == MTASTS_WHY_TXT_TEMPFAIL);
    /* Only discovery failures are reported (mtasts.h). A stored entry
     * may carry any backoff-result from 0 to 11 (doc/cache-entry.md) and
     * the lookup reports it again during the backoff: a known library
     * issue (fuzz/corpus/lookup/crash-backoff-result-5.bin), tolerated
     * only with FUZZ_LOOKUP_KNOWN=backoff-result. */
    FZ_CHECK(rt == MTASTS_RESULT_NONE ||
             rt == MTASTS_RESULT_STS_POLICY_FETCH_ERROR ||
             rt == MTASTS_RESULT_STS_POLICY_INVALID ||
             rt == MTASTS_RESULT_STS_WEBPKI_INVALID ||
             (why == MTASTS_WHY_BACKOFF && known("backoff-result")));
    FZ_CHECK(action >= MTASTS_ENTRY_ACTION_UNCHANGED &&
             action <= MTASTS_ENTRY_ACTION_DELETE);

    cp = o->dec != NULL && o->same_domain ? mtasts_entry_policy(o->dec) : NULL;
    cached_valid =
        cp != NULL &&
        now < mtasts_entry_time(o->dec, MTASTS_ENTRY_TIME_EXPIRES_AT);
    cached_none = cached_valid && mtasts_policy_mode(cp) == MTASTS_MODE_NONE;

    /* from_cache: only a decoded, unexpired entry of this domain */
    if (mtasts_lookup_from_cache(lk)) {
        FZ_CHECK(o->have_entry && mtasts_lookup_entry_error(lk) == 0);
        FZ_CHECK(cached_valid);
        FZ_CHECK(pol != NULL);
        s = policy_raw(pol, &l);
        cs = policy_raw(cp, &cl);
        FZ_CHECK(same_bytes(s, l, cs, cl));
    }
    if (pol != NULL && !mtasts_lookup_from_cache(lk))
        FZ_CHECK(why == MTASTS_WHY_FETCHED);
    if (mtasts_lookup_alert(lk))
        FZ_CHECK(why == MTASTS_WHY_FETCH_FAILED && cached_valid &&
                 !cached_none);

    /* why agrees with the answers */
    if (o->fetched) {
        fetch_ok = o->fetch_expect == 0;
        FZ_CHECK(why ==
                 (fetch_ok ? MTASTS_WHY_FETCHED : MTASTS_WHY_FETCH_FAILED));
        FZ_CHECK(action == MTASTS_ENTRY_ACTION_STORE);
        if (!fetch_ok)
            FZ_CHECK(rt == (cached_none ? 0 : o->fetch_expect));
        else
            FZ_CHECK(rt == 0);
        /* a fetch needs a record, or a refresh of a valid cache */
        FZ_CHECK((o->dns == MTASTS_DNS_OK && o->sel == MTASTS_SELECT_FOUND) ||
                 ((flags & MTASTS_LOOKUP_F_REFRESH) && cached_valid));
    } else if (o->dns == MTASTS_DNS_TEMPFAIL) {
        FZ_CHECK(why == MTASTS_WHY_TXT_TEMPFAIL);
    } else if (o->dns == MTASTS_DNS_NXDOMAIN || o->dns == MTASTS_DNS_NODATA ||
               (o->dns == MTASTS_DNS_OK && o->sel == MTASTS_SELECT_NONE)) {
        FZ_CHECK(why == MTASTS_WHY_NO_RECORD);
    } else if (o->dns == MTASTS_DNS_OK && o->sel == MTASTS_SELECT_MULTIPLE) {
        FZ_CHECK(why == MTASTS_WHY_TXT_MULTIPLE);
    } else if (o->dns == MTASTS_DNS_OK && o->sel == MTASTS_SELECT_INVALID) {
        FZ_CHECK(why == MTASTS_WHY_TXT_INVALID);
    } else if (o->dns == MTASTS_DNS_OK) {
        FZ_CHECK(why == MTASTS_WHY_CACHED || why == MTASTS_WHY_BACKOFF ||
                 why == MTASTS_WHY_MIN_REFETCH);
    } else {
        FZ_CHECK(why == MTASTS_WHY_ADDRESS_LITERAL);
    }
    if (why != MTASTS_WHY_BACKOFF && !o->fetched)
        FZ_CHECK(rt == 0);
    if (why == MTASTS_WHY_BACKOFF) {
        /* T13: the failure is reported again while the backoff lasts */
        FZ_CHECK(o->dec != NULL && o->same_domain);
        FZ_CHECK(now <
                 mtasts_entry_time(o->dec, MTASTS_ENTRY_TIME_BACKOFF_UNTIL));
        FZ_CHECK(
            rt ==
            (cached_none ? 0 : entry_backoff_result(o->entry, o->entry_len)));
    }
    if (action == MTASTS_ENTRY_ACTION_DELETE)
        FZ_CHECK(why == MTASTS_WHY_NO_RECORD && cached_none &&
                 outcome == MTASTS_OUTCOME_NO_POLICY);

    /* the entry to store */
    rc = mtasts_lookup_entry(lk, NULL, 0, &n);
    if (action == MTASTS_ENTRY_ACTION_STORE) {
        FZ_CHECK(rc == MTASTS_ERANGE && n > 0);
        bytes = malloc(n + 1);
        if (bytes == NULL)
            abort();
        FZ_CHECK(mtasts_lookup_entry(lk, bytes, n + 1, &n2) == MTASTS_OK);
        FZ_CHECK(n2 == n && bytes[n] == '\0');
        check_stored(r, lk, o, norm, norm_len, now, bytes, n);
        lg->entry_hash = fnv(bytes, n);
    } else {
        FZ_CHECK(rc == MTASTS_NONE);
        n = 0;
    }

    /* the log line */
    text = fz_format(fmt_lookup, lk, &l);
    FZ_CHECK(l >= 7 && memcmp(text, "domain=", 7) == 0);
    FZ_CHECK(strstr(text, " outcome=") != NULL);
    trace(r, text, now, bytes, n);
    free(text);

    ra = mtasts_lookup_refresh_at(lk);
    FZ_CHECK(ra == 0 || ra >= now);
    if (action == MTASTS_ENTRY_ACTION_DELETE)
        FZ_CHECK(ra == 0);

    /* the delivery decision on the policy in force */
    raw = NULL;
    l = in_take(in, in_u8(in) % 40u, &raw);
    tls = in_u8(in) % 7u;
    dane = in_u8(in) % 3u;
    rc = mtasts_decide(pol, l > 0 ? (const char *)raw : "", l, (int)tls,
                       (int)dane, 0, &act, &drt, &reason);
    FZ_CHECK(rc == MTASTS_OK);
    FZ_CHECK(act == MTASTS_DELIVER || act == MTASTS_SKIP_MX);
    FZ_CHECK(mtasts_decide_reason_name(reason) != NULL);
    if (dane != MTASTS_DANE_FAIL && mode != MTASTS_MODE_ENFORCE)
        FZ_CHECK(act == MTASTS_DELIVER);
    if (dane == MTASTS_DANE_NOT_USED && mode == MTASTS_MODE_ENFORCE)
        FZ_CHECK((act == MTASTS_SKIP_MX) == (drt != MTASTS_RESULT_NONE));

    /* the cache: apply, then the bytes come back identical */
    if (norm != NULL) {
        const uint8_t *before = NULL;
        size_t bl = 0;
        uint64_t bh = 0;
        FZ_CHECK(mtasts_cache_get(r->cache, norm, norm_len, now, &before,
                                  &bl) == MTASTS_OK);
        if (before != NULL)
            bh = fnv(before, bl);
        FZ_CHECK(mtasts_cache_apply(r->cache, lk, now) == MTASTS_OK);
        FZ_CHECK(mtasts_cache_get(r->cache, norm, norm_len, now, &got, &gl) ==
                 MTASTS_OK);
        if (action == MTASTS_ENTRY_ACTION_STORE) {
            FZ_CHECK(same_bytes(got, gl, bytes, n));
            /* and a plain put under the domain as given */
            FZ_CHECK(mtasts_cache_put(r->cache, given, strlen(given), bytes, n,
                                      ra, now) == MTASTS_OK);
            FZ_CHECK(mtasts_cache_get(r->cache, norm, norm_len, now, &got,
                                      &gl) == MTASTS_OK);
            FZ_CHECK(same_bytes(got, gl, bytes, n));
        } else if (action == MTASTS_ENTRY_ACTION_DELETE) {
            FZ_CHECK(got == NULL && gl == 0);
        } else {
            FZ_CHECK((got != NULL) == (before != NULL));
            if (got != NULL)
                FZ_CHECK(fnv(got, gl) == bh);
        }
    } else {
        FZ_CHECK(mtasts_cache_apply(r->cache, lk, now) == MTASTS_OK);
    }
    free(bytes);

    lg->outcome = outcome;
    lg->why = why;
    lg->action = action;
    lg->result_type = rt;
    lg->from_cache = mtasts_lookup_from_cache(lk);
    lg->alert = mtasts_lookup_alert(lk);
}

/* Run one step; returns 1 when the allocator's refusal ends the run. */
static int
run_step(struct run *r, struct in *in, int64_t *now)
{
    unsigned b = in_u8(in), dt = b >> 6, d, flags, act;
    const char *dom = domains[b & 7u], *other;
    char norm[MTASTS_DOMAIN_MAX_LEN + 1];
    size_t norm_len = 0, dom_len = strlen(dom), elen = 0, dl;
    const uint8_t *dv;
    int64_t t = *now;
    mtasts_lookup *lk = NULL;
    struct oracle o;
    struct step_log lg;
    uint8_t *entry;
    char body[1024];
    int rc, rc_norm, valid_now = 1, txt_done = 0, stop = 0, iter;
    int literal = dom[0] == '[';
    size_t base_blocks, ql;
    const char *q;

    memset(&o, 0, sizeof(o));
    memset(&lg, 0, sizeof(lg));
    o.dns = -1;
    flags = (b & 0x20u) ? MTASTS_LOOKUP_F_REFRESH : 0u;
    switch (dt) {
    case 0:
        t += in_u8(in);
        break;
    case 1:
        t += (int64_t)in_u8(in) * 60;
        break;
    case 2:
        t += (int64_t)in_u16(in) * 64;
        break;
    default:
        d = in_u8(in);
        if (d < 8)
            valid_now = 0; /* an invalid time: -1 or beyond 2^61 */
        else if (d < 32)
            t -= (int64_t)in_u8(in) * 60; /* the clock went back */
        else if (d < 128)
            t += (int64_t)d * 3600;
        else
            t += (int64_t)(d - 128) * 86400 * 7;
        break;
    }
    if (t < 0)
        t = 0;
    if (t > T61)
        t = T61;
    norm[0] = '\0';
    rc_norm =
        mtasts_domain_normalize(dom, dom_len, norm, sizeof(norm), &norm_len);
    other = rc_norm == 0 && strcmp(norm, "example.com") == 0 ? "other.example"
                                                             : "example.com";
    entry = step_entry(r, in, (b >> 3) & 3u, rc_norm == 0 ? dom : "example.com",
                       other, t, &elen);
    o.have_entry = entry != NULL;
    o.entry = entry;
    o.entry_len = elen;
    o.dec_rc = 0;
    if (entry != NULL) {
        o.dec_rc = mtasts_entry_decode(r->ref, entry, elen, &o.dec, NULL);
        if (o.dec_rc == 0 && rc_norm == 0) {
            const char *ed = mtasts_entry_domain(o.dec, &dl);
            o.same_domain = same_bytes(ed, dl, norm, norm_len);
        }
    }

    base_blocks = r->fa->nblk;
    if (valid_now) {
        rc =
            mtasts_lookup_new(r->ctx, dom, dom_len, entry, elen, t, flags, &lk);
    } else {
        rc = mtasts_lookup_new(r->ctx, dom, dom_len, entry, elen,
                               (b & 1u) ? -1 : T61 + 1, flags, &lk);
        FZ_CHECK(rc == MTASTS_EINVAL && lk == NULL);
    }
    lg.new_rc = rc;
    if (check_oom_rc(r, rc)) {
        FZ_CHECK(lk == NULL && r->fa->nblk == base_blocks);
        stop = 1;
        goto out;
    }
    if (!valid_now)
        goto log;
    if (rc_norm != 0 && !literal) {
        FZ_CHECK(rc != MTASTS_OK && lk == NULL);
        goto log;
    }
    FZ_CHECK(rc == MTASTS_OK && lk != NULL);
    *now = t;

    /* entry_error: the decode status, EINVAL for another domain */
    lg.entry_error = mtasts_lookup_entry_error(lk);
    if (!o.have_entry || literal) {
        FZ_CHECK(lg.entry_error == 0);
    } else if (o.dec_rc == 0) {
        FZ_CHECK(lg.entry_error == (o.same_domain ? 0 : MTASTS_EINVAL));
    } else {
        FZ_CHECK(lg.entry_error == o.dec_rc || lg.entry_error == MTASTS_EINVAL);
        if (entry_domain_field(entry, elen, &dv, &dl) &&
            same_bytes(dv, dl, norm, norm_len))
            FZ_CHECK(lg.entry_error == o.dec_rc);
    }
    FZ_CHECK(mtasts_lookup_outcome(lk) == 0 || literal);

    for (iter = 0;; iter++) {
        FZ_CHECK(iter < 3);
        rc = mtasts_lookup_next(lk);
        if (rc < 0) {
            FZ_CHECK(check_oom_rc(r, rc));
            stop = 1;
            break;
        }
        act = (unsigned)rc;
        if (act == MTASTS_ACT_DONE)
            break;
        FZ_CHECK(!literal);
        FZ_CHECK(mtasts_lookup_next(lk) == (int)act); /* stable */
        FZ_CHECK(mtasts_lookup_outcome(lk) == 0);
        if (act == MTASTS_ACT_TXT) {
            FZ_CHECK(!txt_done);
            q = mtasts_lookup_txt_name(lk, &ql);
            fz_check_cstr(q, ql);
            FZ_CHECK(ql == norm_len + 9 && memcmp(q, "_mta-sts.", 9) == 0 &&
                     memcmp(q + 9, norm, norm_len) == 0);
            answer_txt(r, in, lk, &o, &rc);
            txt_done = 1;
        } else {
            FZ_CHECK(act == MTASTS_ACT_FETCH);
            FZ_CHECK(txt_done && !o.fetched); /* at most one fetch */
            answer_fetch(r, in, lk, norm, norm_len, &o, body, sizeof(body),
                         &rc);
            lg.fetches++;
        }
        if (check_oom_rc(r, rc)) {
            FZ_CHECK(mtasts_lookup_next(lk) == MTASTS_ENOMEM);
            stop = 1;
            break;
        }
        FZ_CHECK(rc == MTASTS_OK);
    }
    if (!stop) {
        check_done(r, lk, &o, flags, dom, literal ? NULL : norm,
                   literal ? 0 : norm_len, t, in, &lg);
    } else {
        /* a failed lookup still formats ("pending") and frees cleanly */
        char *text;
        size_t l;
        text = fz_format(fmt_lookup, lk, &l);
        FZ_CHECK(strstr(text, " pending") != NULL);
        free(text);
        FZ_CHECK(mtasts_lookup_outcome(lk) == 0);
        FZ_CHECK(mtasts_lookup_entry(lk, NULL, 0, &l) == MTASTS_ESTATE);
    }
log:
    if (!stop) {
        if (r->oom) {
            /* the same as without failures, up to the first refusal */
            const struct step_log *ref = &r->log[r->nlog];
            FZ_CHECK(r->nlog < MAX_STEPS);
            FZ_CHECK(memcmp(ref, &lg, sizeof(lg)) == 0);
        } else {
            r->log[r->nlog] = lg;
        }
        r->nlog++;
    }
out:
    mtasts_lookup_free(lk);
    FZ_CHECK(r->fa->nblk == base_blocks);
    mtasts_entry_free(o.dec);
    free(entry);
    return stop;
}

static const int64_t refresh_opts[4] = {86400, 0, 3600, 1};
static const int64_t backoff_opts[4] = {300, 300, 3600, (int64_t)1 << 40};
static const int64_t extend_opts[4] = {0, 0, 604800, (int64_t)1 << 40};
static const int64_t refetch_opts[4] = {0, 0, 600, 86400};
static const int64_t start_times[4] = {1700000000, 0, T61 - 1000000,
                                       1700000000};

static void
run_script(struct run *r, const uint8_t *data, size_t size)
{
    struct in in;
    unsigned c0, c1;
    int64_t now;
    size_t step;

    in.p = data;
    in.n = size;
    in.i = 0;
    c0 = in_u8(&in);
    c1 = in_u8(&in);
    r->backoff = backoff_opts[(c0 >> 2) & 3u];
    r->tempfail_no_cache = (int)((c0 >> 6) & 1u);
    r->policy_limit = (c1 & 4u) ? 256 : MTASTS_POLICY_MAX_SIZE;
    FZ_CHECK(mtasts_ctx_set_option(r->ctx, MTASTS_OPT_REFRESH_INTERVAL,
                                   refresh_opts[c0 & 3u]) == 0);
    FZ_CHECK(mtasts_ctx_set_option(r->ctx, MTASTS_OPT_FETCH_BACKOFF,
                                   r->backoff) == 0);
    FZ_CHECK(mtasts_ctx_set_option(r->ctx, MTASTS_OPT_EXTEND_SAME_ID,
                                   extend_opts[(c0 >> 4) & 3u]) == 0);
    FZ_CHECK(mtasts_ctx_set_option(r->ctx, MTASTS_OPT_TEMPFAIL_NO_CACHE,
                                   r->tempfail_no_cache) == 0);
    FZ_CHECK(mtasts_ctx_set_option(r->ctx, MTASTS_OPT_DELETE_NONE,
                                   (c0 >> 7) ^ 1u) == 0);
    FZ_CHECK(mtasts_ctx_set_option(r->ctx, MTASTS_OPT_MIN_REFETCH,
                                   refetch_opts[c1 & 3u]) == 0);
    FZ_CHECK(mtasts_ctx_set_limit(r->ctx, MTASTS_LIMIT_POLICY_SIZE,
                                  r->policy_limit) == 0);
    FZ_CHECK(mtasts_ctx_set_limit(r->ref, MTASTS_LIMIT_POLICY_SIZE,
                                  r->policy_limit) == 0);
    now = start_times[(c1 >> 3) & 3u];
    for (step = 0; step < MAX_STEPS && in.i < in.n; step++)
        if (run_step(r, &in, &now))
            break;
}

static int
run_new(struct run *r, struct fz_alloc *fa)
{
    r->fa = fa;
    r->ctx = fz_ctx_new(fa);
    if (r->ctx == NULL)
        return 0;
    FZ_CHECK(mtasts_ctx_new(NULL, &r->ref) == MTASTS_OK);
    fz_alloc_init(&r->cfa, FZ_FAIL_NONE, 0);
    r->cctx = fz_ctx_new(&r->cfa);
    FZ_CHECK(r->cctx != NULL);
    FZ_CHECK(mtasts_cache_new(r->cctx, 8, 1u << 20, &r->cache) == MTASTS_OK);
    return 1;
}

static void
run_free(struct run *r)
{
    mtasts_cache_free(r->cache);
    fz_ctx_free(&r->cfa, r->cctx);
    fz_alloc_fini(&r->cfa);
    mtasts_ctx_free(r->ref);
    fz_ctx_free(r->fa, r->ctx);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct run r1, r2;
    struct fz_alloc fa;
    size_t fail_at = 0;
    int mode;

    memset(&r1, 0, sizeof(r1));
    fz_alloc_init(&fa, FZ_FAIL_NONE, 0);
    FZ_CHECK(run_new(&r1, &fa));
    run_script(&r1, data, size);
    run_free(&r1);
    fz_alloc_fini(&fa);

    mode = fz_plan(data, size, &fail_at);
    if (mode == FZ_FAIL_NONE)
        return 0;
    /* spread the refusals over the script: lookups allocate often */
    fail_at = fail_at * 8 + (size_t)(data[size - 1] & 7u);
    memset(&r2, 0, sizeof(r2));
    memcpy(r2.log, r1.log, sizeof(r1.log));
    r2.oom = 1;
    fz_alloc_init(&fa, mode, fail_at);
    if (run_new(&r2, &fa)) {
        run_script(&r2, data, size);
        run_free(&r2);
    }
    fz_alloc_fini(&fa);
    return 0;
}
