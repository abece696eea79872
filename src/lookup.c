/*
 * Policy discovery: the RFC 8461 section 5 state machine as a pull API.
 * The transition table it implements is written out in doc/discovery.md;
 * the comments below name its rows (T1..T19).
 *
 * The machine never calls out, reads a clock or keeps global state: the
 * caller answers MTASTS_ACT_TXT and MTASTS_ACT_FETCH, and passes the time.
 */
#include "internal.h"

enum {
    ST_TXT = 1,
    ST_FETCH,
    ST_DONE,
    ST_FATAL,
};

/* last-used is rewritten at most this often, so that a busy domain does
 * not make the caller store its entry on every delivery */
#define LAST_USED_GRANULARITY 3600

/* The names a lookup asks for, each the normalised domain with a prefix
 * (and for the URL a suffix). The TXT name is the longest DNS name, so
 * the domain may have at most 253 - 9 octets. The Policy Host
 * "mta-sts.<domain>" is the TXT name without its '_' (policy_host()). */
#define TXT_PREFIX "_mta-sts."
#define URL_PREFIX "https://mta-sts."
#define URL_SUFFIX "/.well-known/mta-sts.txt"
#define LIT_LEN(s) (sizeof(s) - 1)
#define DOMAIN_MAX (MTASTS_DOMAIN_MAX_LEN - LIT_LEN(TXT_PREFIX))

struct mtasts_lookup {
    mtasts_ctx *ctx;
    int64_t now;
    unsigned flags;
    int state;
    int fatal;
    size_t domain_len, txt_name_len, url_len;
    /* owned when an entry was decoded here, a caller's decoded entry
     * (mtasts_lookup_new_decoded), or NULL */
    const mtasts_entry *cached;
    int cached_valid; /* it holds a policy and now < expires */
    int entry_error;
    size_t txt_id_len;
    int have_txt_id;
    int txt_answered; /* the TXT question got a real DNS answer */
    /* result */
    int outcome, why, result_type, alert, from_cache, action;
    const mtasts_policy *policy;
    mtasts_entry *next;  /* entry to store (action STORE) */
    mtasts_entry *owned; /* an entry decoded here from bytes, or NULL */
    /* Buffers last: only the fields above are cleared at creation; every
     * buffer below is written before it is read. Each name is
     * NUL-terminated. The object stays within the allocator's per-thread
     * cache (1 KiB in glibc): a separate Policy Host buffer would cost
     * about 35 ns per lookup. */
    char txt_id[MTASTS_ID_MAX_LEN + 1]; /* id of the live record */
    char domain[DOMAIN_MAX + 1];        /* normalised */
    char txt_name[LIT_LEN(TXT_PREFIX) + DOMAIN_MAX + 1];
    char url[LIT_LEN(URL_PREFIX) + DOMAIN_MAX + LIT_LEN(URL_SUFFIX) + 1];
};

/* The Policy Host (the TXT name after its '_'); its length is
 * txt_name_len - 1. */
static const char *
policy_host(const mtasts_lookup *lk)
{
    return lk->txt_name + 1;
}

/* dst = pre, d[0..n), post and a NUL (dst is sized for it); returns the
 * length without the NUL. */
static size_t
name_join(char *dst, const char *pre, const char *d, size_t n, const char *post)
{
    size_t pl = strlen(pre), sl = strlen(post);

    memcpy(dst, pre, pl);
    memcpy(dst + pl, d, n);
    memcpy(dst + pl + n, post, sl + 1);
    return pl + n + sl;
}

static int
is_address_literal(const char *d, size_t n)
{
    return n >= 3 && d[0] == '[' && d[n - 1] == ']';
}

/* The common start of a lookup: everything but the cached entry. */
static int
lookup_start(mtasts_ctx *ctx, const char *domain, size_t domain_len,
             int64_t now, unsigned flags, mtasts_lookup **ret_lookup)
{
    mtasts_lookup *lk;
    int rc;

    *ret_lookup = NULL;
    /* Times are kept within [0, 2^61] so that no sum can overflow and
     * every entry written can be read back. */
    if (ctx == NULL || domain == NULL || now < 0 || now > ((int64_t)1 << 61) ||
        (flags & ~(unsigned)MTASTS_LOOKUP_F_REFRESH) != 0)
        return MTASTS_EINVAL;
    lk = mt_alloc(ctx, sizeof(*lk));
    if (lk == NULL)
        return MTASTS_ENOMEM;
    memset(lk, 0, offsetof(struct mtasts_lookup, txt_id));
    lk->ctx = ctx;
    lk->now = now;
    lk->flags = flags;
    lk->domain[0] = lk->txt_name[0] = lk->url[0] = '\0';
    *ret_lookup = lk;
    if (is_address_literal(domain, domain_len)) {
        /* T1: no DNS, no HTTPS for address literals (STS-FETCH-15) */
        lk->state = ST_DONE;
        lk->outcome = MTASTS_OUTCOME_NO_POLICY;
        lk->why = MTASTS_WHY_ADDRESS_LITERAL;
        return MTASTS_OK;
    }
    /* Normalise once; the names derive from it. The TXT name is the
     * longest DNS name used, so checking it covers the Policy Host. */
    rc = mt_domain_norm(domain, domain_len, lk->domain, DOMAIN_MAX,
                        &lk->domain_len);
    if (rc != MTASTS_OK) {
        mt_free(ctx, lk, sizeof(*lk));
        *ret_lookup = NULL;
        return rc;
    }
    lk->domain[lk->domain_len] = '\0';
    lk->txt_name_len =
        name_join(lk->txt_name, TXT_PREFIX, lk->domain, lk->domain_len, "");
    /* the policy URL (STS-FETCH-1) */
    lk->url_len =
        name_join(lk->url, URL_PREFIX, lk->domain, lk->domain_len, URL_SUFFIX);
    lk->state = ST_TXT;
    return MTASTS_OK;
}

/* Adopt the cached entry (or none). */
static void
lookup_cache(mtasts_lookup *lk, const mtasts_entry *e)
{
    lk->cached = e;
    /* STS-CACHE-1/8: a policy applies only while now < expires */
    lk->cached_valid = e != NULL && e->policy != NULL && lk->now < e->expires;
}

int
mtasts_lookup_new(mtasts_ctx *ctx, const char *domain, size_t domain_len,
                  const uint8_t *entry, size_t entry_len, int64_t now,
                  unsigned flags, mtasts_lookup **ret_lookup)
{
    mtasts_lookup *lk;
    int rc;

    if (ret_lookup == NULL)
        return MTASTS_EINVAL;
    *ret_lookup = NULL;
    if (entry == NULL && entry_len > 0)
        return MTASTS_EINVAL;
    rc = lookup_start(ctx, domain, domain_len, now, flags, &lk);
    if (rc != MTASTS_OK)
        return rc;
    if (entry != NULL && lk->state == ST_TXT) {
        /* an entry stored under another domain is not trusted */
        lk->owned = mt_alloc(ctx, sizeof(*lk->owned));
        if (lk->owned == NULL) {
            mt_free(ctx, lk, sizeof(*lk));
            *ret_lookup = NULL;
            return MTASTS_ENOMEM;
        }
        rc = mt_entry_decode_into(ctx, entry, entry_len, lk->domain,
                                  lk->domain_len, lk->owned, NULL);
        if (rc == MTASTS_ENOMEM) {
            mt_free(ctx, lk->owned, sizeof(*lk->owned));
            mt_free(ctx, lk, sizeof(*lk));
            *ret_lookup = NULL;
            return rc;
        }
        if (rc == MTASTS_OK) {
            lookup_cache(lk, lk->owned);
        } else {
            mt_free(ctx, lk->owned, sizeof(*lk->owned));
            lk->owned = NULL;
        }
        lk->entry_error = rc;
    }
    *ret_lookup = lk;
    return MTASTS_OK;
}

int
mtasts_lookup_new_decoded(mtasts_ctx *ctx, const char *domain,
                          size_t domain_len, const mtasts_entry *entry,
                          int64_t now, unsigned flags,
                          mtasts_lookup **ret_lookup)
{
    mtasts_lookup *lk;
    int rc;

    if (ret_lookup == NULL)
        return MTASTS_EINVAL;
    *ret_lookup = NULL;
    rc = lookup_start(ctx, domain, domain_len, now, flags, &lk);
    if (rc != MTASTS_OK)
        return rc;
    if (entry != NULL && lk->state == ST_TXT) {
        if (entry->domain_len == lk->domain_len &&
            memcmp(entry->domain, lk->domain, lk->domain_len) == 0)
            lookup_cache(lk, entry);
        else
            lk->entry_error = MTASTS_EINVAL; /* another domain's entry */
    }
    *ret_lookup = lk;
    return MTASTS_OK;
}

int
mtasts_lookup_take_entry(mtasts_lookup *lk, mtasts_entry **ret_entry)
{
    if (ret_entry != NULL)
        *ret_entry = NULL;
    if (lk == NULL || ret_entry == NULL)
        return MTASTS_EINVAL;
    if (lk->state != ST_DONE)
        return MTASTS_ESTATE;
    if (lk->action != MTASTS_ENTRY_ACTION_STORE || lk->next == NULL)
        return MTASTS_NONE; /* nothing to store: an outcome */
    *ret_entry = lk->next;
    lk->next = NULL;
    lk->action = MTASTS_ENTRY_ACTION_UNCHANGED;
    return MTASTS_OK;
}

void
mtasts_lookup_free(mtasts_lookup *lk)
{
    if (lk == NULL)
        return;
    if (lk->owned != NULL) {
        mt_entry_clear(lk->owned);
        mt_free(lk->ctx, lk->owned, sizeof(*lk->owned));
    }
    mtasts_entry_free(lk->next);
    mt_free(lk->ctx, lk, sizeof(*lk));
}

static int64_t
opt(const mtasts_lookup *lk, int o)
{
    return lk->ctx->options[o - MT_OPTION_BASE];
}

static int
fatal(mtasts_lookup *lk, int rc)
{
    lk->state = ST_FATAL;
    lk->fatal = rc;
    return rc;
}

/* The entry to store: a copy of the cached one, made on first need. */
static int
next_entry(mtasts_lookup *lk)
{
    if (lk->next != NULL)
        return MTASTS_OK;
    if (lk->cached != NULL)
        return mt_entry_copy(lk->cached, &lk->next);
    return mt_entry_new(lk->ctx, lk->domain, lk->domain_len, &lk->next);
}

/* Finish using the cached policy when it is valid (T4, T6, T9, T12, T15),
 * else without a policy. */
static int
finish_cached(mtasts_lookup *lk, int why)
{
    int rc, mode;

    lk->state = ST_DONE;
    lk->why = why;
    if (!lk->cached_valid) {
        lk->outcome = why == MTASTS_WHY_TXT_TEMPFAIL &&
                              opt(lk, MTASTS_OPT_TEMPFAIL_NO_CACHE)
                          ? MTASTS_OUTCOME_TEMPFAIL
                          : MTASTS_OUTCOME_NO_POLICY;
        if (lk->next != NULL)
            lk->action = MTASTS_ENTRY_ACTION_STORE;
        return MTASTS_OK;
    }
    mode = mtasts_policy_mode(lk->cached->policy);
    lk->outcome = mode == MTASTS_MODE_NONE ? MTASTS_OUTCOME_NO_ACTIVE_POLICY
                                           : MTASTS_OUTCOME_APPLY;
    lk->from_cache = 1;
    if (lk->next == NULL &&
        lk->now - lk->cached->last_used >= LAST_USED_GRANULARITY) {
        rc = next_entry(lk);
        if (rc != MTASTS_OK)
            return fatal(lk, rc);
    }
    if (lk->next != NULL) {
        lk->next->last_used = lk->now;
        lk->action = MTASTS_ENTRY_ACTION_STORE;
        /* the policy in force is the copy that will be stored */
        lk->policy = lk->next->policy;
    } else {
        lk->policy = lk->cached->policy;
    }
    return MTASTS_OK;
}

/* When a cached policy is due for a proactive refresh (RFC 8461 10.2):
 * after the refresh interval, but no later than three quarters of its
 * lifetime, so that the refresh, and its retries after a failure, happen
 * while the policy is still valid. 0 when refreshing is disabled. */
static int64_t
refresh_point(const mtasts_lookup *lk, const mtasts_entry *e)
{
    int64_t ri = opt(lk, MTASTS_OPT_REFRESH_INTERVAL);
    int64_t q = (e->expires - e->fetched) / 4 * 3;

    if (ri == 0)
        return 0;
    return e->fetched + (q < ri ? q : ri);
}

static int
backoff_active(const mtasts_lookup *lk, const char *id, size_t id_len)
{
    const mtasts_entry *c = lk->cached;

    return c != NULL && lk->now < c->backoff_until &&
           c->backoff_id_len == id_len &&
           memcmp(c->backoff_id, id, id_len) == 0;
}

static int
go_fetch(mtasts_lookup *lk)
{
    lk->state = ST_FETCH;
    return MTASTS_OK;
}

/* The TXT record is unusable or absent. */
static int
txt_absent(mtasts_lookup *lk, int why)
{
    int none = lk->cached_valid &&
               mtasts_policy_mode(lk->cached->policy) == MTASTS_MODE_NONE;

    if (why == MTASTS_WHY_NO_RECORD && none &&
        opt(lk, MTASTS_OPT_DELETE_NONE)) {
        /* T7: the domain withdrew MTA-STS with a none policy (8.3) */
        lk->state = ST_DONE;
        lk->why = why;
        lk->outcome = MTASTS_OUTCOME_NO_POLICY;
        lk->action = MTASTS_ENTRY_ACTION_DELETE;
        return MTASTS_OK;
    }
    if ((lk->flags & MTASTS_LOOKUP_F_REFRESH) && lk->cached_valid &&
        !backoff_active(lk, lk->cached->id, lk->cached->id_len))
        return go_fetch(lk);       /* T8: proactive refresh without a record */
    return finish_cached(lk, why); /* T4-T6 (STS-CACHE-5, STS-TXT-13) */
}

/* T13: a fetch of this id failed less than the backoff ago. The failure
 * lasts while the backoff does, and is still reported for the sessions it
 * affects (RPT-AGG-8), unless the policy in force has mode none. */
static int
finish_backoff(mtasts_lookup *lk)
{
    int rc = finish_cached(lk, MTASTS_WHY_BACKOFF);

    if (rc == MTASTS_OK &&
        !(lk->cached_valid &&
          mtasts_policy_mode(lk->cached->policy) == MTASTS_MODE_NONE))
        lk->result_type = lk->cached->backoff_result;
    return rc;
}

int
mtasts_lookup_put_txt(mtasts_lookup *lk, int dns_status,
                      const char *const *strs, const size_t *str_lens,
                      const size_t *rr_nstr, size_t rr_count)
{
    int rc, outcome;

    if (lk == NULL || dns_status < MTASTS_DNS_OK ||
        dns_status > MTASTS_DNS_TEMPFAIL)
        return MTASTS_EINVAL;
    if (lk->state != ST_TXT)
        return lk->state == ST_FATAL ? lk->fatal : MTASTS_ESTATE;
    if (dns_status == MTASTS_DNS_TEMPFAIL)
        return txt_absent(lk, MTASTS_WHY_TXT_TEMPFAIL);
    lk->txt_answered = 1;
    if (dns_status != MTASTS_DNS_OK)
        return txt_absent(lk, MTASTS_WHY_NO_RECORD);
    rc = mt_sts_select_id(lk->ctx, strs, str_lens, rr_nstr, rr_count, &outcome,
                          lk->txt_id, &lk->txt_id_len);
    if (rc == MTASTS_ENOMEM)
        return fatal(lk, rc);
    if (rc != MTASTS_OK)
        return rc; /* EINVAL: bad arguments; the question stays open */
    switch (outcome) {
    case MTASTS_SELECT_NONE:
        return txt_absent(lk, MTASTS_WHY_NO_RECORD);
    case MTASTS_SELECT_MULTIPLE:
        return txt_absent(lk, MTASTS_WHY_TXT_MULTIPLE);
    case MTASTS_SELECT_INVALID:
        return txt_absent(lk, MTASTS_WHY_TXT_INVALID); /* STS-TXT-10 */
    default:
        break;
    }
    lk->have_txt_id = 1;

    if (lk->cached_valid && lk->cached->id_len == lk->txt_id_len &&
        memcmp(lk->cached->id, lk->txt_id, lk->txt_id_len) == 0) {
        /* Same id (compared as exact bytes, STS-CACHE-3). */
        int64_t rp = refresh_point(lk, lk->cached);
        int64_t ext = opt(lk, MTASTS_OPT_EXTEND_SAME_ID);
        if (backoff_active(lk, lk->txt_id, lk->txt_id_len))
            return finish_backoff(lk); /* T13 after a failed refresh */
        if ((lk->flags & MTASTS_LOOKUP_F_REFRESH) || (rp != 0 && lk->now >= rp))
            return go_fetch(lk); /* T10: refresh an old policy */
        if (ext > 0) {
            /* T11: optional extension, bounded by fetched + ext */
            int64_t until =
                lk->now + (int64_t)mtasts_policy_max_age(lk->cached->policy);
            if (until > lk->cached->fetched + ext)
                until = lk->cached->fetched + ext;
            if (until > lk->cached->expires) {
                rc = next_entry(lk);
                if (rc != MTASTS_OK)
                    return fatal(lk, rc);
                lk->next->expires = until;
            }
        }
        return finish_cached(lk, MTASTS_WHY_CACHED); /* T9 */
    }
    if (backoff_active(lk, lk->txt_id, lk->txt_id_len))
        return finish_backoff(lk); /* T13 */
    if (lk->cached_valid && opt(lk, MTASTS_OPT_MIN_REFETCH) > 0 &&
        lk->now < lk->cached->fetched + opt(lk, MTASTS_OPT_MIN_REFETCH))
        return finish_cached(lk, MTASTS_WHY_MIN_REFETCH); /* T14 */
    return go_fetch(lk); /* T2, T3, T16: new or changed id, or expired */
}

/* text/plain, ignoring case, parameters and surrounding whitespace
 * (STS-FETCH-9, E-9). */
static int
is_text_plain(const char *ct, size_t n)
{
    size_t i = 0, e;

    if (ct == NULL)
        return 0;
    while (i < n && MT_IS(ct[i], MT_C_WSP))
        i++;
    e = i;
    while (e < n && ct[e] != ';' && !MT_IS(ct[e], MT_C_WSP))
        e++;
    if (!mt_ascii_caseeq(ct + i, e - i, "text/plain", 10))
        return 0;
    while (e < n && MT_IS(ct[e], MT_C_WSP))
        e++;
    return e == n || ct[e] == ';';
}

static int
fetch_failed(mtasts_lookup *lk, int result_type)
{
    const char *id = lk->have_txt_id ? lk->txt_id : lk->cached->id;
    size_t id_len = lk->have_txt_id ? lk->txt_id_len : lk->cached->id_len;
    int rc, none;

    /* T17/T18: remember the failure so the same id is not fetched again
     * before the backoff ends (STS-FETCH-12); keep any cached policy
     * untouched (STS-CACHE-6). */
    rc = next_entry(lk);
    if (rc != MTASTS_OK)
        return fatal(lk, rc);
    lk->next->backoff_until = lk->now + opt(lk, MTASTS_OPT_FETCH_BACKOFF);
    mt_entry_set_id(lk->next->backoff_id, &lk->next->backoff_id_len, id,
                    id_len);
    lk->next->backoff_result = result_type;
    none = lk->cached_valid &&
           mtasts_policy_mode(lk->cached->policy) == MTASTS_MODE_NONE;
    rc = finish_cached(lk, MTASTS_WHY_FETCH_FAILED);
    if (rc != MTASTS_OK)
        return rc;
    lk->action = MTASTS_ENTRY_ACTION_STORE;
    if (!none) {
        lk->result_type = result_type; /* RFC 8461 section 6 */
        lk->alert = lk->cached_valid;  /* STS-CACHE-10 */
    }
    return MTASTS_OK;
}

int
mtasts_lookup_put_fetch(mtasts_lookup *lk, int transport, int http_status,
                        const char *content_type, size_t content_type_len,
                        const char *body, size_t body_len)
{
    mtasts_policy *pol = NULL;
    mtasts_entry *e;
    int rc;

    if (lk == NULL || transport < MTASTS_FETCH_OK ||
        transport > MTASTS_FETCH_ERROR || (body == NULL && body_len > 0) ||
        (content_type == NULL && content_type_len > 0))
        return MTASTS_EINVAL;
    if (lk->state != ST_FETCH)
        return lk->state == ST_FATAL ? lk->fatal : MTASTS_ESTATE;
    switch (transport) {
    case MTASTS_FETCH_OK:
        break;
    case MTASTS_FETCH_CERT:
        /* STS-FETCH-2: any certificate failure */
        return fetch_failed(lk, MTASTS_RESULT_STS_WEBPKI_INVALID);
    case MTASTS_FETCH_TOO_BIG:
        return fetch_failed(lk, MTASTS_RESULT_STS_POLICY_INVALID);
    default:
        return fetch_failed(lk, MTASTS_RESULT_STS_POLICY_FETCH_ERROR);
    }
    /* STS-FETCH-6/7: only 200 yields a policy; redirects are failures */
    if (http_status != 200)
        return fetch_failed(lk, MTASTS_RESULT_STS_POLICY_FETCH_ERROR);
    if (!is_text_plain(content_type, content_type_len) ||
        body_len > lk->ctx->limits[MTASTS_LIMIT_POLICY_SIZE])
        return fetch_failed(lk, MTASTS_RESULT_STS_POLICY_INVALID);
    rc = mtasts_policy_parse(lk->ctx, body, body_len, 0, &pol, NULL);
    if (rc == MTASTS_ENOMEM)
        return fatal(lk, rc);
    if (rc != MTASTS_OK)
        return fetch_failed(lk, MTASTS_RESULT_STS_POLICY_INVALID);
    /* T2/T3/T10: success replaces the entry entirely (STS-CACHE-4) */
    rc = mt_entry_new(lk->ctx, lk->domain, lk->domain_len, &e);
    if (rc != MTASTS_OK) {
        mtasts_policy_free(pol);
        return fatal(lk, rc);
    }
    if (lk->have_txt_id)
        mt_entry_set_id(e->id, &e->id_len, lk->txt_id, lk->txt_id_len);
    else if (lk->cached != NULL) /* refresh without a record: keep the id */
        mt_entry_set_id(e->id, &e->id_len, lk->cached->id, lk->cached->id_len);
    e->policy = pol;
    e->fetched = lk->now;
    e->expires = lk->now + (int64_t)mtasts_policy_max_age(pol);
    e->last_used = lk->now;
    mtasts_entry_free(lk->next);
    lk->next = e;
    lk->state = ST_DONE;
    lk->why = MTASTS_WHY_FETCHED;
    lk->action = MTASTS_ENTRY_ACTION_STORE;
    lk->policy = pol;
    /* STS-CACHE-12/13: a none policy means no active policy; max_age 0
     * still applies to this delivery */
    lk->outcome = mtasts_policy_mode(pol) == MTASTS_MODE_NONE
                      ? MTASTS_OUTCOME_NO_ACTIVE_POLICY
                      : MTASTS_OUTCOME_APPLY;
    return MTASTS_OK;
}

int
mtasts_lookup_next(mtasts_lookup *lk)
{
    if (lk == NULL)
        return MTASTS_EINVAL;
    switch (lk->state) {
    case ST_TXT:
        return MTASTS_ACT_TXT;
    case ST_FETCH:
        return MTASTS_ACT_FETCH;
    case ST_DONE:
        return MTASTS_ACT_DONE;
    default:
        return lk->fatal;
    }
}

static const char *
str_out(const char *s, size_t n, size_t *ret_len)
{
    if (ret_len != NULL)
        *ret_len = n;
    return s;
}

const char *
mtasts_lookup_txt_name(const mtasts_lookup *lk, size_t *ret_len)
{
    if (lk == NULL)
        return str_out(NULL, 0, ret_len);
    /* an address literal asks no question: empty */
    return lk->domain_len > 0 ? str_out(lk->txt_name, lk->txt_name_len, ret_len)
                              : str_out("", 0, ret_len);
}

const char *
mtasts_lookup_fetch_url(const mtasts_lookup *lk, size_t *ret_len)
{
    return lk != NULL ? str_out(lk->url, lk->url_len, ret_len)
                      : str_out(NULL, 0, ret_len);
}

const char *
mtasts_lookup_fetch_host(const mtasts_lookup *lk, size_t *ret_len)
{
    if (lk == NULL)
        return str_out(NULL, 0, ret_len);
    return lk->domain_len > 0
               ? str_out(policy_host(lk), lk->txt_name_len - 1, ret_len)
               : str_out("", 0, ret_len);
}

uint32_t
mtasts_lookup_fetch_timeout_ms(const mtasts_lookup *lk)
{
    return lk != NULL ? (uint32_t)opt(lk, MTASTS_OPT_FETCH_TIMEOUT_MS) : 0;
}

size_t
mtasts_lookup_fetch_max_size(const mtasts_lookup *lk)
{
    return lk != NULL ? lk->ctx->limits[MTASTS_LIMIT_POLICY_SIZE] : 0;
}

int
mtasts_lookup_outcome(const mtasts_lookup *lk)
{
    return lk != NULL && lk->state == ST_DONE ? lk->outcome : 0;
}

int
mtasts_lookup_why(const mtasts_lookup *lk)
{
    return lk != NULL && lk->state == ST_DONE ? lk->why : 0;
}

const mtasts_policy *
mtasts_lookup_policy(const mtasts_lookup *lk)
{
    return lk != NULL && lk->state == ST_DONE ? lk->policy : NULL;
}

int
mtasts_lookup_from_cache(const mtasts_lookup *lk)
{
    return lk != NULL && lk->state == ST_DONE ? lk->from_cache : 0;
}

int
mtasts_lookup_result_type(const mtasts_lookup *lk)
{
    return lk != NULL && lk->state == ST_DONE ? lk->result_type : 0;
}

int
mtasts_lookup_alert(const mtasts_lookup *lk)
{
    return lk != NULL && lk->state == ST_DONE ? lk->alert : 0;
}

int
mtasts_lookup_entry_error(const mtasts_lookup *lk)
{
    return lk != NULL ? lk->entry_error : 0;
}

int
mtasts_lookup_entry_action(const mtasts_lookup *lk)
{
    return lk != NULL && lk->state == ST_DONE ? lk->action
                                              : MTASTS_ENTRY_ACTION_UNCHANGED;
}

int
mtasts_lookup_entry(const mtasts_lookup *lk, uint8_t *dst, size_t dst_len,
                    size_t *ret_needed)
{
    if (lk == NULL || (dst == NULL && dst_len > 0))
        return MTASTS_EINVAL;
    if (lk->state != ST_DONE)
        return MTASTS_ESTATE;
    if (lk->action != MTASTS_ENTRY_ACTION_STORE || lk->next == NULL)
        return MTASTS_NONE; /* nothing to store: an outcome */
    return mtasts_entry_encode(lk->next, dst, dst_len, ret_needed);
}

int64_t
mtasts_lookup_refresh_at(const mtasts_lookup *lk)
{
    const mtasts_entry *e;
    int64_t t = 0, rp;

    if (lk == NULL || lk->state != ST_DONE ||
        lk->action == MTASTS_ENTRY_ACTION_DELETE)
        return 0;
    e = lk->next != NULL ? lk->next : lk->cached;
    if (e == NULL)
        return 0;
    if (e->policy != NULL && lk->now < e->expires) {
        rp = refresh_point(lk, e);
        t = rp != 0 ? rp : e->expires;
    }
    if (e->backoff_until > lk->now && e->backoff_until > t)
        t = e->backoff_until;
    if (t != 0 && t < lk->now)
        t = lk->now;
    return t;
}

int
mtasts_lookup_format(const mtasts_lookup *lk, char *dst, size_t dst_len,
                     size_t *ret_needed)
{
    static const char *const outcomes[] = {"pending", "no_policy", "apply",
                                           "no_active_policy", "tempfail"};
    static const char *const actions[] = {"unchanged", "store", "delete"};
    const mtasts_entry *src;
    const char *rt;
    struct mt_out o;

    if (lk == NULL || (dst == NULL && dst_len > 0))
        return MTASTS_EINVAL;
    mt_out_init(&o, dst, dst_len);
    mt_out_str(&o, "domain=");
    mt_out_put(&o, lk->domain, lk->domain_len);
    if (lk->state != ST_DONE) {
        mt_out_str(&o, " pending");
        return mt_out_finish(&o, ret_needed);
    }
    mt_out_str(&o, " outcome=");
    mt_out_str(&o, outcomes[lk->outcome]);
    if (lk->policy != NULL) {
        mt_out_str(&o, " mode=");
        mt_out_str(&o, mtasts_mode_name(mtasts_policy_mode(lk->policy)));
        src = lk->from_cache ? lk->cached : lk->next;
        if (src != NULL && src->id_len > 0) {
            mt_out_str(&o, " id=");
            mt_out_put(&o, src->id, src->id_len);
        }
        mt_out_str(&o, lk->from_cache ? " source=cache" : " source=fetch");
    }
    mt_out_str(&o, " why=");
    mt_out_str(&o, mtasts_why_name(lk->why));
    mt_out_str(&o, " entry=");
    mt_out_str(&o, actions[lk->action]);
    rt = mtasts_result_type_name(lk->result_type);
    if (rt != NULL) {
        mt_out_str(&o, " result_type=");
        mt_out_str(&o, rt);
    }
    if (lk->alert)
        mt_out_str(&o, " alert=1");
    return mt_out_finish(&o, ret_needed);
}

int
mtasts_lookup_may_permfail(const mtasts_lookup *lk, int64_t bounce_time)
{
    return lk != NULL && lk->state == ST_DONE && lk->now >= bounce_time &&
           lk->txt_answered && lk->why != MTASTS_WHY_FETCHED;
}
