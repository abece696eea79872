/*
 * mtasts-policyd: answers.
 *
 * A request for a domain is answered, in this order:
 *  1. at once for keys that are no policy domain (a ".parent" key, an
 *     address, anything that is not a domain name): NOTFOUND / "none";
 *  2. from the memo, the in-memory front: for each domain looked up
 *     lately, the outcome of its last lookup and the decoded entry that
 *     holds its policy. It answers without any I/O while the last lookup
 *     is younger than cache_grace seconds and the policy has not expired
 *     (a hit);
 *  3. otherwise by a lookup (mtasts_lookup over libmtasts-net, driven on
 *     the daemon's own event_base), started from the entry bytes of the
 *     cache seam (pdcache.h). Concurrent requests for one domain wait on
 *     one lookup (the pending table). Each waits at most its zone's
 *     timeout: then it is answered from the cached policy if one is still
 *     valid (as for a DNS failure, RFC 8461 5.1), else TEMP; the lookup
 *     goes on and its result serves the next requests.
 *
 * When a lookup ends its waiters are answered from its outcome, the
 * cache seam applies its entry action, and the memo takes the entry (the
 * taken one for a store, the one the lookup started from when unchanged).
 *
 * Proactive refresh: the cache seam's planner names the domain due first
 * among those used within refresh_used_within seconds, with a stable
 * per-domain jitter; up to concurrency_limit refresh lookups
 * (MTASTS_LOOKUP_F_REFRESH) run at once, each domain postponed in the
 * planner while its refresh is in flight.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <event2/event.h>

#include "mtasts_net.h"
#include "mtasts_version.h"
#include "pd.h"
#include "pdcache.h"

#define DOM_MAX       254
#define POSTFIX_MAX   100000 /* socketmap_table(5): reply length limit */
#define GC_INTERVAL_S 3600

/* ------------------------------------------------------------------ */
/* keyed hash (SipHash-1-3 over the normalised domain)                 */
/* ------------------------------------------------------------------ */

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

static void
sip_round(uint64_t *v0, uint64_t *v1, uint64_t *v2, uint64_t *v3)
{
    *v0 += *v1;
    *v1 = ROTL(*v1, 13);
    *v1 ^= *v0;
    *v0 = ROTL(*v0, 32);
    *v2 += *v3;
    *v3 = ROTL(*v3, 16);
    *v3 ^= *v2;
    *v0 += *v3;
    *v3 = ROTL(*v3, 21);
    *v3 ^= *v0;
    *v2 += *v1;
    *v1 = ROTL(*v1, 17);
    *v1 ^= *v2;
    *v2 = ROTL(*v2, 32);
}

static uint64_t
siphash13(const uint64_t key[2], const char *p, size_t n)
{
    uint64_t v0 = 0x736f6d6570736575ULL ^ key[0];
    uint64_t v1 = 0x646f72616e646f6dULL ^ key[1];
    uint64_t v2 = 0x6c7967656e657261ULL ^ key[0];
    uint64_t v3 = 0x7465646279746573ULL ^ key[1];
    uint64_t b = (uint64_t)n << 56, m;
    size_t i, left = n & 7, end = n - left;
    int j;

    for (i = 0; i < end; i += 8) {
        m = 0;
        for (j = 0; j < 8; j++)
            m |= (uint64_t)(unsigned char)p[i + (size_t)j] << (8 * j);
        v3 ^= m;
        sip_round(&v0, &v1, &v2, &v3);
        v0 ^= m;
    }
    for (j = 0; j < (int)left; j++)
        b |= (uint64_t)(unsigned char)p[end + (size_t)j] << (8 * j);
    v3 ^= b;
    sip_round(&v0, &v1, &v2, &v3);
    v0 ^= b;
    v2 ^= 0xff;
    sip_round(&v0, &v1, &v2, &v3);
    sip_round(&v0, &v1, &v2, &v3);
    sip_round(&v0, &v1, &v2, &v3);
    return v0 ^ v1 ^ v2 ^ v3;
}

/* ------------------------------------------------------------------ */
/* a small chained hash table keyed by domain                          */
/* ------------------------------------------------------------------ */

struct hnode {
    struct hnode *hnext;
    uint64_t h;
    size_t dlen;
    char *dom; /* NUL-terminated, in the same allocation (hnode_alloc) */
};

struct htab {
    struct hnode **b;
    size_t nb, n;
};

static struct hnode *
ht_find(const struct htab *t, uint64_t h, const char *d, size_t n)
{
    struct hnode *x;

    if (t->nb == 0)
        return NULL;
    for (x = t->b[h & (t->nb - 1)]; x != NULL; x = x->hnext)
        if (x->h == h && x->dlen == n && memcmp(x->dom, d, n) == 0)
            return x;
    return NULL;
}

/* A zeroed object of size bytes whose first member is a struct hnode,
 * with the domain d (n bytes) and hash h kept right after it: an object
 * holds only its own domain's bytes. NULL when out of memory. */
static void *
hnode_alloc(size_t size, const char *d, size_t n, uint64_t h)
{
    char *o = calloc(1, size + n + 1);
    struct hnode *x = (struct hnode *)(void *)o;

    if (o == NULL)
        return NULL;
    x->h = h;
    x->dlen = n;
    x->dom = o + size;
    memcpy(x->dom, d, n);
    x->dom[n] = '\0';
    return o;
}

static int
ht_insert(struct htab *t, struct hnode *x)
{
    size_t i;

    if (t->n + 1 > t->nb) {
        size_t nb = t->nb ? t->nb * 2 : 64;
        struct hnode **b = calloc(nb, sizeof(*b));

        if (b == NULL)
            return -1;
        for (i = 0; i < t->nb; i++) {
            struct hnode *y = t->b[i], *nx;

            for (; y != NULL; y = nx) {
                nx = y->hnext;
                y->hnext = b[y->h & (nb - 1)];
                b[y->h & (nb - 1)] = y;
            }
        }
        free(t->b);
        t->b = b;
        t->nb = nb;
    }
    i = x->h & (t->nb - 1);
    x->hnext = t->b[i];
    t->b[i] = x;
    t->n++;
    return 0;
}

static void
ht_remove(struct htab *t, struct hnode *x)
{
    struct hnode **pp;

    if (t->nb == 0)
        return;
    pp = &t->b[x->h & (t->nb - 1)];
    for (; *pp != NULL; pp = &(*pp)->hnext) {
        if (*pp == x) {
            *pp = x->hnext;
            t->n--;
            return;
        }
    }
}

/* ------------------------------------------------------------------ */
/* state                                                               */
/* ------------------------------------------------------------------ */

struct pd_res;

/* One libmtasts-net handle wired to the event_base. A reload that changes
 * the DNS servers, CA file or connect-to list makes a new one; the old
 * one is freed when its last lookup ended. */
struct netglue {
    struct pd_res *res;
    mtasts_net *net;
    struct event **fdev; /* by fd */
    unsigned char *fdwhat;
    size_t cap;
    struct event *tmr;
    size_t users;
    int retired;
    struct netglue *next; /* retired list */
};

/* A domain looked up lately. */
struct memo {
    struct hnode hn;
    struct memo *lprev, *lnext; /* LRU: head most recent */
    int64_t checked_at;         /* 0: no answer to give from here */
    int64_t last_use;
    int outcome;
    mtasts_entry *entry;
    mtasts_policy *strict; /* the enforce twin of a testing policy */
    /* the framed socketmap answer last given from here, and what it was
     * made for (ans_key()); NULL until a request makes it */
    char *ans;
    size_t ans_len;
    unsigned ans_key;
};

/* A lookup in flight and the requests waiting for it. */
struct pd_pend {
    struct hnode hn;
    struct pd_pend *prev, *next; /* all lookups */
    struct pd_res *res;
    struct netglue *ng;
    mtasts_lookup *lk;
    mtasts_entry *entry; /* what the lookup started from (borrowed by lk) */
    struct pd_req *wh;   /* waiters */
    int refresh;
    unsigned flags;
    int in_table;
    int64_t started_ms;
};

struct zsnap {
    char *name;
    struct pd_zone_snap z;
};

struct stats {
    uint64_t requests, hits, misses, coalesced, lookups, lookups_failed,
        refreshes, fetches, fetch_failures, alerts, overloaded, wait_timeouts,
        stale_answers, cache_errors;
    uint64_t ans_ok, ans_notfound, ans_temp, ans_perm;
    uint64_t line_enforce, line_testing, line_none, line_tempfail;
    uint64_t result[16];
};

struct pd_res {
    struct event_base *base;
    mtasts_ctx *ctx;
    struct pd_cache *cache;
    struct netglue *ng;
    struct netglue *retired;
    struct htab memo_t;
    struct memo *lru_head, *lru_tail;
    size_t memo_max;
    struct htab pend_t;
    struct pd_pend *pends;
    uint64_t hkey[2];

    /* settings */
    struct zsnap defzone;
    struct zsnap *zones;
    size_t nzones;
    int64_t grace;
    size_t max_lookups;
    uint32_t postfix_version;
    unsigned ans_gen; /* settings() bumps it: memoized answers are old */
    char postfix_text[64];
    int stats_enabled;
    int pf_enabled;
    int64_t pf_interval, pf_jitter, used_within;
    size_t pf_concurrency, pf_running;
    int quiesced;
    char *net_key; /* the settings of the current net handle */

    struct event *pf_tmr, *gc_tmr;
    struct pd_server *srv;
    int64_t started;
    struct stats st;
};

int64_t
pd_now(void)
{
    struct timeval tv;

    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec;
}

int64_t
pd_mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint64_t
hash_dom(const struct pd_res *res, const char *d, size_t n)
{
    return siphash13(res->hkey, d, n);
}

/* ------------------------------------------------------------------ */
/* the event loop side of libmtasts-net                                */
/* ------------------------------------------------------------------ */

static void
glue_sock_cb(evutil_socket_t fd, short what, void *arg)
{
    struct netglue *g = arg;
    unsigned ev = 0;

    if (what & EV_READ)
        ev |= MTASTS_NET_F_POLL_IN;
    if (what & EV_WRITE)
        ev |= MTASTS_NET_F_POLL_OUT;
    mtasts_net_on_socket(g->net, (int)fd, ev);
}

static void
glue_watch(void *user, int fd, unsigned what)
{
    struct netglue *g = user;
    size_t i = (size_t)fd;
    short ev = 0;

    if (fd < 0)
        return;
    if (i >= g->cap) {
        size_t cap = g->cap ? g->cap : 64;
        struct event **nv;
        unsigned char *nw;

        if (what & MTASTS_NET_F_POLL_REMOVE)
            return;
        while (cap <= i)
            cap *= 2;
        nv = realloc(g->fdev, cap * sizeof(*nv));
        if (nv == NULL)
            goto oom;
        g->fdev = nv;
        nw = realloc(g->fdwhat, cap);
        if (nw == NULL)
            goto oom;
        g->fdwhat = nw;
        memset(nv + g->cap, 0, (cap - g->cap) * sizeof(*nv));
        memset(nw + g->cap, 0, cap - g->cap);
        g->cap = cap;
    }
    if (what & MTASTS_NET_F_POLL_REMOVE) {
        if (g->fdev[i] != NULL)
            event_del(g->fdev[i]);
        g->fdwhat[i] = 0;
        return;
    }
    if (what & MTASTS_NET_F_POLL_IN)
        ev |= EV_READ;
    if (what & MTASTS_NET_F_POLL_OUT)
        ev |= EV_WRITE;
    if (g->fdev[i] == NULL) {
        g->fdev[i] = event_new(g->res->base, -1, 0, NULL, NULL);
        if (g->fdev[i] == NULL)
            goto oom;
    } else if (g->fdwhat[i] == (unsigned char)ev &&
               event_pending(g->fdev[i], EV_READ | EV_WRITE, NULL)) {
        return;
    }
    event_del(g->fdev[i]);
    g->fdwhat[i] = (unsigned char)ev;
    if (ev == 0)
        return;
    /* the event is not pending: it may be assigned again, also from inside
     * its own callback */
    event_assign(g->fdev[i], g->res->base, fd, (short)(ev | EV_PERSIST),
                 glue_sock_cb, g);
    if (event_add(g->fdev[i], NULL) == 0)
        return;
oom:
    /* the transfer then ends through its own timeout */
    pd_log_msg(PD_LOG_ERR, "net", "cannot watch socket %d: out of memory", fd);
}

static void
glue_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    struct netglue *g = arg;

    (void)fd;
    (void)what;
    mtasts_net_on_timeout(g->net);
}

static void
glue_timer(void *user, long ms)
{
    struct netglue *g = user;
    struct timeval tv;

    if (ms < 0) {
        evtimer_del(g->tmr);
        return;
    }
    tv.tv_sec = ms / 1000;
    tv.tv_usec = (ms % 1000) * 1000;
    evtimer_add(g->tmr, &tv);
}

static void
glue_free(struct netglue *g)
{
    size_t i;

    if (g == NULL)
        return;
    /* cancels what still runs: callbacks run now, with the glue alive */
    mtasts_net_free(g->net);
    for (i = 0; i < g->cap; i++)
        if (g->fdev[i] != NULL)
            event_free(g->fdev[i]);
    free(g->fdev);
    free(g->fdwhat);
    if (g->tmr != NULL)
        event_free(g->tmr);
    free(g);
}

static struct netglue *
glue_new(struct pd_res *res, const struct pd_config *cfg)
{
    struct mtasts_net_config nc;
    struct mtasts_net_loop loop;
    struct netglue *g = calloc(1, sizeof(*g));
    int rc;

    if (g == NULL)
        return NULL;
    g->res = res;
    g->tmr = evtimer_new(res->base, glue_timer_cb, g);
    if (g->tmr == NULL) {
        free(g);
        return NULL;
    }
    memset(&nc, 0, sizeof(nc));
    nc.version = MTASTS_NET_CONFIG_VERSION;
    nc.dns_servers = cfg->dns_server;
    nc.ca_file = cfg->ca_file;
    nc.connect_to = (const char *const *)cfg->connect_to;
    nc.connect_to_count = cfg->nconnect_to;
    rc = mtasts_net_new(&nc, &g->net);
    if (rc != 0) {
        pd_log_msg(PD_LOG_ERR, "net",
                   "libmtasts-net: %s (check dns_server, ca_file and "
                   "connect_to)",
                   mtasts_net_strerror(rc));
        event_free(g->tmr);
        free(g);
        return NULL;
    }
    memset(&loop, 0, sizeof(loop));
    loop.version = MTASTS_NET_LOOP_VERSION;
    loop.watch = glue_watch;
    loop.timer = glue_timer;
    loop.user = g;
    rc = mtasts_net_set_loop(g->net, &loop);
    if (rc != 0) {
        pd_log_msg(PD_LOG_ERR, "net", "libmtasts-net loop: %s",
                   mtasts_net_strerror(rc));
        glue_free(g);
        return NULL;
    }
    return g;
}

static void
retired_free_cb(evutil_socket_t fd, short what, void *arg)
{
    struct pd_res *res = arg;
    struct netglue **pp = &res->retired, *g;

    (void)fd;
    (void)what;
    while ((g = *pp) != NULL) {
        if (g->users == 0) {
            *pp = g->next;
            glue_free(g);
        } else {
            pp = &g->next;
        }
    }
}

/* ------------------------------------------------------------------ */
/* the memo                                                            */
/* ------------------------------------------------------------------ */

static void
lru_unlink(struct pd_res *res, struct memo *m)
{
    if (m->lprev != NULL)
        m->lprev->lnext = m->lnext;
    else
        res->lru_head = m->lnext;
    if (m->lnext != NULL)
        m->lnext->lprev = m->lprev;
    else
        res->lru_tail = m->lprev;
    m->lprev = m->lnext = NULL;
}

static void
lru_push(struct pd_res *res, struct memo *m)
{
    m->lprev = NULL;
    m->lnext = res->lru_head;
    if (res->lru_head != NULL)
        res->lru_head->lprev = m;
    res->lru_head = m;
    if (res->lru_tail == NULL)
        res->lru_tail = m;
}

static void
memo_clear(struct memo *m)
{
    free(m->ans);
    m->ans = NULL;
    m->ans_len = 0;
    mtasts_policy_free(m->strict);
    m->strict = NULL;
    mtasts_entry_free(m->entry);
    m->entry = NULL;
}

static void
memo_drop(struct pd_res *res, struct memo *m)
{
    ht_remove(&res->memo_t, &m->hn);
    lru_unlink(res, m);
    memo_clear(m);
    free(m);
}

static struct memo *
memo_find(struct pd_res *res, const char *d, size_t n, uint64_t h)
{
    return (struct memo *)ht_find(&res->memo_t, h, d, n);
}

static struct memo *
memo_get(struct pd_res *res, const char *d, size_t n, uint64_t h)
{
    struct memo *m = memo_find(res, d, n, h);

    if (m != NULL)
        return m;
    while (res->memo_t.n >= res->memo_max && res->lru_tail != NULL)
        memo_drop(res, res->lru_tail);
    m = hnode_alloc(sizeof(*m), d, n, h);
    if (m == NULL)
        return NULL;
    if (ht_insert(&res->memo_t, &m->hn) < 0) {
        free(m);
        return NULL;
    }
    lru_push(res, m);
    return m;
}

static int
entry_valid(const mtasts_entry *e, int64_t now)
{
    return e != NULL && mtasts_entry_policy(e) != NULL &&
           mtasts_entry_time(e, MTASTS_ENTRY_TIME_EXPIRES_AT) > now;
}

/* The memo can answer without I/O. */
static int
memo_fresh(const struct pd_res *res, const struct memo *m, int64_t now)
{
    if (m->checked_at == 0 || now - m->checked_at >= res->grace ||
        now < m->checked_at)
        return 0;
    if (m->outcome == MTASTS_OUTCOME_APPLY ||
        m->outcome == MTASTS_OUTCOME_NO_ACTIVE_POLICY)
        return entry_valid(m->entry, now);
    return 1;
}

/* ------------------------------------------------------------------ */
/* answers                                                             */
/* ------------------------------------------------------------------ */

/* The enforce twin of a testing policy (strict_testing). NULL with
 * *ret_oom set when out of memory; NULL alone when the policy cannot be
 * enforced (the answer is then NOTFOUND, as for testing). */
static mtasts_policy *
strict_twin(struct pd_res *res, const mtasts_policy *pol, int *ret_oom)
{
    struct mtasts_policy_model mdl;
    const char **mx = NULL, **en = NULL, **ev = NULL;
    size_t *mxl = NULL, *enl = NULL, *evl = NULL, i;
    size_t nmx = mtasts_policy_mx_count(pol);
    size_t next = mtasts_policy_ext_count(pol);
    mtasts_policy *out = NULL;
    int rc = MTASTS_ENOMEM;

    mx = calloc(nmx + 1, sizeof(*mx));
    mxl = calloc(nmx + 1, sizeof(*mxl));
    en = calloc(next + 1, sizeof(*en));
    enl = calloc(next + 1, sizeof(*enl));
    ev = calloc(next + 1, sizeof(*ev));
    evl = calloc(next + 1, sizeof(*evl));
    if (mx == NULL || mxl == NULL || en == NULL || enl == NULL || ev == NULL ||
        evl == NULL)
        goto out;
    for (i = 0; i < nmx; i++)
        mx[i] = mtasts_policy_mx(pol, i, &mxl[i]);
    for (i = 0; i < next; i++)
        if (mtasts_policy_ext(pol, i, &en[i], &enl[i], &ev[i], &evl[i]) != 0)
            goto out;
    memset(&mdl, 0, sizeof(mdl));
    mdl.version = MTASTS_POLICY_MODEL_VERSION;
    mdl.mode = MTASTS_MODE_ENFORCE;
    mdl.max_age = mtasts_policy_max_age(pol);
    mdl.mx = mx;
    mdl.mx_lens = mxl;
    mdl.mx_count = nmx;
    mdl.ext_names = en;
    mdl.ext_name_lens = enl;
    mdl.ext_values = ev;
    mdl.ext_value_lens = evl;
    mdl.ext_count = next;
    rc = mtasts_policy_build(res->ctx, &mdl, &out, NULL);
    if (rc != 0)
        out = NULL;
out:
    *ret_oom = rc == MTASTS_ENOMEM;
    free(mx);
    free(mxl);
    free(en);
    free(enl);
    free(ev);
    free(evl);
    return out;
}

/* require_sni: false drops the servername attribute, as the resolver does
 * (for a Postfix before 3.4). */
static size_t
strip_servername(char *s, size_t n)
{
    static const char tok[] = " servername=hostname";
    const size_t tl = sizeof(tok) - 1;
    char *p = s;

    while ((p = strstr(p, tok)) != NULL) {
        if (p[tl] == '\0' || p[tl] == ' ') {
            memmove(p, p + tl, n - (size_t)(p - s) - tl + 1);
            n -= tl;
        } else {
            p++;
        }
    }
    return n;
}

static int
answer_line(struct pd_res *res, struct pd_req *req, int outcome,
            const mtasts_policy *pol)
{
    char buf[4096], *big = NULL, *p;
    size_t n = 0, need, i, nmx;
    int mode, rc;
    const char *mname;

    if (outcome == MTASTS_OUTCOME_TEMPFAIL) {
        res->st.line_tempfail++;
        return pd_req_set_answer(req, "tempfail", 8);
    }
    mode = pol != NULL && outcome == MTASTS_OUTCOME_APPLY
               ? mtasts_policy_mode(pol)
               : 0;
    if (mode == MTASTS_MODE_TESTING && req->zone.strict_testing)
        mode = MTASTS_MODE_ENFORCE;
    if (mode != MTASTS_MODE_ENFORCE && mode != MTASTS_MODE_TESTING) {
        res->st.line_none++;
        return pd_req_set_answer(req, "none", 4);
    }
    if (mode == MTASTS_MODE_ENFORCE)
        res->st.line_enforce++;
    else
        res->st.line_testing++;
    mname = mtasts_mode_name(mode);
    nmx = mtasts_policy_mx_count(pol);
    need = strlen(mname);
    for (i = 0; i < nmx; i++) {
        size_t l = 0;

        mtasts_policy_mx(pol, i, &l);
        need += 1 + l;
    }
    p = buf;
    if (need >= sizeof(buf)) {
        big = malloc(need + 1);
        if (big == NULL)
            return -1;
        p = big;
    }
    memcpy(p, mname, strlen(mname));
    n = strlen(mname);
    for (i = 0; i < nmx; i++) {
        size_t l = 0;
        const char *mx = mtasts_policy_mx(pol, i, &l);

        p[n++] = ' ';
        memcpy(p + n, mx, l);
        n += l;
    }
    rc = pd_req_set_answer(req, p, n);
    free(big);
    return rc;
}

static int
answer_postfix(struct pd_res *res, struct pd_req *req, const char *dom,
               size_t dlen, int outcome, const mtasts_policy *pol,
               mtasts_policy **strict_cache)
{
    char buf[4096], *big = NULL, *p = buf;
    size_t need = 0;
    unsigned flags = 0;
    const mtasts_policy *use = NULL;
    mtasts_policy *twin = NULL;
    int rc;

    if (outcome == MTASTS_OUTCOME_TEMPFAIL) {
        flags = MTASTS_POSTFIX_F_TEMP;
    } else if (outcome == MTASTS_OUTCOME_APPLY && pol != NULL) {
        int mode = mtasts_policy_mode(pol);

        if (mode == MTASTS_MODE_ENFORCE) {
            use = pol;
        } else if (mode == MTASTS_MODE_TESTING && req->zone.strict_testing) {
            if (strict_cache != NULL && *strict_cache != NULL) {
                use = *strict_cache;
            } else {
                int oom = 0;

                twin = strict_twin(res, pol, &oom);
                if (twin == NULL && oom)
                    return -1;
                use = twin;
                if (strict_cache != NULL) {
                    *strict_cache = twin;
                    twin = NULL;
                }
            }
        }
    }
    rc = mtasts_postfix_answer_format(use, dom, dlen, res->postfix_version,
                                      flags, buf, sizeof(buf), &need);
    if (rc == MTASTS_ERANGE) {
        big = malloc(need + 1);
        if (big == NULL) {
            mtasts_policy_free(twin);
            return -1;
        }
        p = big;
        rc = mtasts_postfix_answer_format(use, dom, dlen, res->postfix_version,
                                          flags, big, need + 1, &need);
    }
    mtasts_policy_free(twin);
    if (rc != 0) {
        /* not a valid domain (checked before) or ENOMEM-free failures:
         * nothing to apply */
        free(big);
        res->st.ans_notfound++;
        return pd_req_set_answer(req, "NOTFOUND ", 9);
    }
    if (!req->zone.require_sni)
        need = strip_servername(p, need);
    if (need > POSTFIX_MAX) {
        free(big);
        res->st.ans_temp++;
        return pd_req_set_answer(req, "TEMP policy answer too long", 27);
    }
    if (p[0] == 'O')
        res->st.ans_ok++;
    else if (p[0] == 'T')
        res->st.ans_temp++;
    else
        res->st.ans_notfound++;
    rc = pd_req_set_answer(req, p, need);
    free(big);
    return rc;
}

static int
answer(struct pd_res *res, struct pd_req *req, const char *dom, size_t dlen,
       int outcome, const mtasts_policy *pol, mtasts_policy **strict_cache)
{
    if (req->proto == PD_PROTO_LINE)
        return answer_line(res, req, outcome, pol);
    return answer_postfix(res, req, dom, dlen, outcome, pol, strict_cache);
}

/* What a cached entry alone says (a waiter's time ran out, or its lookup
 * failed): its policy while valid, else TEMP. */
static int
answer_fallback(struct pd_res *res, struct pd_req *req, const char *dom,
                size_t dlen, const mtasts_entry *e)
{
    int64_t now = pd_now();

    if (entry_valid(e, now)) {
        const mtasts_policy *pol = mtasts_entry_policy(e);

        res->st.stale_answers++;
        return answer(res, req, dom, dlen,
                      mtasts_policy_mode(pol) == MTASTS_MODE_NONE
                          ? MTASTS_OUTCOME_NO_ACTIVE_POLICY
                          : MTASTS_OUTCOME_APPLY,
                      pol, NULL);
    }
    return answer(res, req, dom, dlen, MTASTS_OUTCOME_TEMPFAIL, NULL, NULL);
}

/* ------------------------------------------------------------------ */
/* lookups                                                             */
/* ------------------------------------------------------------------ */

static void
waiter_unlink(struct pd_req *req)
{
    struct pd_pend *p = req->pend;

    if (p == NULL)
        return;
    if (req->wprev != NULL)
        req->wprev->wnext = req->wnext;
    else
        p->wh = req->wnext;
    if (req->wnext != NULL)
        req->wnext->wprev = req->wprev;
    req->wprev = req->wnext = NULL;
    req->pend = NULL;
    if (req->tmr != NULL) {
        event_free(req->tmr);
        req->tmr = NULL;
    }
}

static void
answer_failed(struct pd_req *req)
{
    /* out of memory while answering: a bare TEMP needs no allocation
     * beyond the one that failed; if that fails too the connection is
     * closed by the server */
    if (pd_req_set_answer(req, "TEMP out of memory", 18) < 0)
        req->done = -1;
}

static void
waiter_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
    struct pd_req *req = arg;
    struct pd_pend *p = req->pend;
    struct pd_res *res = p->res;

    (void)fd;
    (void)what;
    waiter_unlink(req);
    res->st.wait_timeouts++;
    if (answer_fallback(res, req, p->hn.dom, p->hn.dlen, p->entry) < 0)
        answer_failed(req);
    pd_server_answered(req);
}

static void
pend_free(struct pd_res *res, struct pd_pend *p)
{
    if (p->prev != NULL)
        p->prev->next = p->next;
    else
        res->pends = p->next;
    if (p->next != NULL)
        p->next->prev = p->prev;
    if (p->in_table)
        ht_remove(&res->pend_t, &p->hn);
    mtasts_lookup_free(p->lk);
    mtasts_entry_free(p->entry);
    if (p->ng != NULL && --p->ng->users == 0 && p->ng->retired &&
        !res->quiesced) {
        /* never free a net handle from its own callback */
        struct timeval tv = {0, 0};

        event_base_once(res->base, -1, EV_TIMEOUT, retired_free_cb, res, &tv);
    }
    free(p);
}

static void
log_lookup(struct pd_res *res, struct pd_pend *p, int status)
{
    struct pd_ll l;
    char buf[768];
    size_t need = 0;
    int level = PD_LOG_INFO;

    if (status < 0) {
        pd_ll_begin(&l, PD_LOG_WARNING, "lookup");
        pd_ll_str(&l, "domain", p->hn.dom, p->hn.dlen);
        pd_ll_cstr(&l, "error", mtasts_net_strerror(status));
        pd_ll_int(&l, "refresh", p->refresh);
        pd_ll_end(&l);
        return;
    }
    if (mtasts_lookup_alert(p->lk) ||
        mtasts_lookup_result_type(p->lk) != MTASTS_RESULT_NONE)
        level = PD_LOG_WARNING;
    if (!pd_log_enabled(level))
        return;
    pd_ll_begin(&l, level, "lookup");
    if (mtasts_lookup_format(p->lk, buf, sizeof(buf), &need) == 0)
        pd_ll_raw(&l, buf, need);
    else
        pd_ll_str(&l, "domain", p->hn.dom, p->hn.dlen);
    pd_ll_int(&l, "refresh", p->refresh);
    pd_ll_int(&l, "elapsed_ms", pd_mono_ms() - p->started_ms);
    (void)res;
    pd_ll_end(&l);
}

static void pf_kick(struct pd_res *res, long ms);

/* The memo takes what the lookup leaves. */
static void
memo_update(struct pd_res *res, struct pd_pend *p, int64_t now)
{
    int outcome = mtasts_lookup_outcome(p->lk);
    int why = mtasts_lookup_why(p->lk);
    int act = mtasts_lookup_entry_action(p->lk);
    const mtasts_policy *pol = mtasts_lookup_policy(p->lk);
    mtasts_entry *e = NULL;
    struct memo *m;

    m = memo_get(res, p->hn.dom, p->hn.dlen, p->hn.h);
    if (m == NULL)
        return; /* out of memory: the next request looks up again */
    if (act == MTASTS_ENTRY_ACTION_STORE) {
        if (mtasts_lookup_take_entry(p->lk, &e) != 0)
            e = NULL;
    } else if (act == MTASTS_ENTRY_ACTION_UNCHANGED) {
        /* the entry the lookup started from (and borrows until it is
         * freed, right after this, without reading it again) */
        e = p->entry;
        p->entry = NULL;
    }
    memo_clear(m);
    m->entry = e;
    m->outcome = outcome;
    m->checked_at = now;
    if (outcome == MTASTS_OUTCOME_TEMPFAIL || why == MTASTS_WHY_TXT_TEMPFAIL)
        m->checked_at = 0; /* answer again only after a new lookup */
    if ((outcome == MTASTS_OUTCOME_APPLY ||
         outcome == MTASTS_OUTCOME_NO_ACTIVE_POLICY) &&
        (e == NULL || mtasts_entry_policy(e) != pol))
        m->checked_at = 0;
    /* a refresh is not a use */
    if (!p->refresh) {
        m->last_use = now;
        if (m != res->lru_head) {
            lru_unlink(res, m);
            lru_push(res, m);
        }
    }
}

static void
lookup_step_cb(void *user, const struct mtasts_net_step *s)
{
    struct pd_pend *p = user;
    struct pd_res *res = p->res;
    struct pd_ll l;

    if (s->kind == MTASTS_NET_STEP_FETCH && s->fetch != NULL) {
        const struct mtasts_net_fetch *f = s->fetch;
        int ok = f->transport == MTASTS_FETCH_OK && f->http_status == 200;

        res->st.fetches++;
        if (!ok)
            res->st.fetch_failures++;
        pd_ll_begin(&l, ok ? PD_LOG_INFO : PD_LOG_NOTICE, "fetch");
        pd_ll_str(&l, "domain", p->hn.dom, p->hn.dlen);
        pd_ll_str(&l, "url", s->name, s->name_len);
        pd_ll_int(&l, "transport", f->transport);
        pd_ll_int(&l, "http_status", f->http_status);
        pd_ll_int(&l, "elapsed_ms", f->elapsed_ms);
        if (f->error != NULL && f->error[0] != '\0')
            pd_ll_cstr(&l, "error", f->error);
        pd_ll_end(&l);
    } else if (s->kind == MTASTS_NET_STEP_TXT && s->txt != NULL &&
               pd_log_enabled(PD_LOG_DEBUG)) {
        pd_ll_begin(&l, PD_LOG_DEBUG, "txt");
        pd_ll_str(&l, "name", s->name, s->name_len);
        pd_ll_cstr(&l, "dns", mtasts_net_dns_status_name(s->txt->status));
        pd_ll_int(&l, "records", (long long)s->txt->rr_count);
        pd_ll_end(&l);
    }
}

static void
lookup_done_cb(void *user, int status, mtasts_lookup *lk)
{
    struct pd_pend *p = user;
    struct pd_res *res = p->res;
    struct pd_req *w, *next;
    int64_t now = pd_now();
    int outcome = 0, rt;
    const mtasts_policy *pol = NULL;

    (void)lk;
    log_lookup(res, p, status);
    if (status == 0) {
        outcome = mtasts_lookup_outcome(p->lk);
        pol = mtasts_lookup_policy(p->lk);
        rt = mtasts_lookup_result_type(p->lk);
        if (rt > 0 && (size_t)rt < sizeof(res->st.result) / 8)
            res->st.result[rt]++;
        if (mtasts_lookup_alert(p->lk))
            res->st.alerts++;
    } else {
        res->st.lookups_failed++;
    }
    /* the waiters first: answering never frees a request (pd_server_
     * answered() only queues its connection for a flush) */
    w = p->wh;
    p->wh = NULL;
    for (; w != NULL; w = next) {
        next = w->wnext;
        w->wprev = w->wnext = NULL;
        w->pend = NULL;
        if (w->tmr != NULL) {
            event_free(w->tmr);
            w->tmr = NULL;
        }
        if ((status == 0
                 ? answer(res, w, p->hn.dom, p->hn.dlen, outcome, pol, NULL)
                 : answer_fallback(res, w, p->hn.dom, p->hn.dlen, p->entry)) <
            0)
            answer_failed(w);
        pd_server_answered(w);
    }
    if (status == 0) {
        if (pd_cache_apply(res->cache, p->lk, now) < 0) {
            struct pd_ll l;

            res->st.cache_errors++;
            pd_ll_begin(&l, PD_LOG_WARNING, "cache");
            pd_ll_str(&l, "domain", p->hn.dom, p->hn.dlen);
            pd_ll_cstr(&l, "msg", "could not store the entry");
            pd_ll_int(&l, "alert", 1);
            pd_ll_end(&l);
        }
        memo_update(res, p, now);
    }
    if (p->refresh) {
        res->pf_running--;
        pf_kick(res, 0);
    }
    pend_free(res, p);
}

/* The lookup could not start or run: its waiters get what the cached
 * entry says, or TEMP. */
static void
pend_fail(struct pd_res *res, struct pd_pend *p)
{
    struct pd_req *w, *next;

    w = p->wh;
    p->wh = NULL;
    for (; w != NULL; w = next) {
        next = w->wnext;
        w->wprev = w->wnext = NULL;
        w->pend = NULL;
        if (w->tmr != NULL) {
            event_free(w->tmr);
            w->tmr = NULL;
        }
        if (answer_fallback(res, w, p->hn.dom, p->hn.dlen, p->entry) < 0)
            answer_failed(w);
        pd_server_answered(w);
    }
    res->st.lookups_failed++;
    if (p->refresh) {
        res->pf_running--;
        pf_kick(res, 1000);
    }
    pend_free(res, p);
}

/* The entry is known: decode it and start the lookup. 0 or -1 (logged;
 * p untouched but for its entry). */
static int
pend_run(struct pd_res *res, struct pd_pend *p, const uint8_t *bytes,
         size_t blen)
{
    struct mtasts_diag diag = MTASTS_DIAG_INIT;
    int rc;

    if (bytes != NULL) {
        rc = mtasts_entry_decode(res->ctx, bytes, blen, &p->entry, &diag);
        if (rc != 0) {
            struct pd_ll l;

            p->entry = NULL;
            res->st.cache_errors++;
            pd_ll_begin(&l, PD_LOG_WARNING, "cache");
            pd_ll_str(&l, "domain", p->hn.dom, p->hn.dlen);
            pd_ll_cstr(&l, "msg", "cached entry refused");
            pd_ll_cstr(&l, "status", mtasts_status_name(rc));
            pd_ll_cstr(&l, "reason", mtasts_reason_name(diag.reason));
            pd_ll_end(&l);
        }
    }
    if (res->ng == NULL) {
        rc = MTASTS_ESTATE;
        goto fail;
    }
    rc = mtasts_lookup_new_decoded(res->ctx, p->hn.dom, p->hn.dlen, p->entry,
                                   pd_now(), p->flags, &p->lk);
    if (rc != 0)
        goto fail;
    rc = mtasts_net_lookup_start(res->ng->net, p->lk, lookup_step_cb,
                                 lookup_done_cb, p);
    if (rc != 0)
        goto fail;
    p->ng = res->ng;
    p->ng->users++;
    return 0;
fail:
    pd_log_msg(PD_LOG_ERR, "lookup", "cannot start a lookup: %s",
               mtasts_net_strerror(rc));
    mtasts_lookup_free(p->lk);
    p->lk = NULL;
    return -1;
}

static void
pend_got_entry(void *arg, int status, const uint8_t *bytes, size_t blen)
{
    struct pd_pend *p = arg;
    struct pd_res *res = p->res;

    if (status != 0) {
        pend_fail(res, p);
        return;
    }
    if (pend_run(res, p, bytes, blen) < 0)
        pend_fail(res, p);
}

/* Start a lookup for a normalised domain: read its entry (at once, or
 * later from an asynchronous cache), then drive it over the network.
 * NULL on failure (logged). */
static struct pd_pend *
lookup_start(struct pd_res *res, const char *dom, size_t dlen, uint64_t h,
             unsigned flags)
{
    struct pd_pend *p;
    const uint8_t *bytes = NULL;
    size_t blen = 0;
    int rc;

    if (res->ng == NULL)
        return NULL;
    p = hnode_alloc(sizeof(*p), dom, dlen, h);
    if (p == NULL)
        return NULL;
    p->res = res;
    p->flags = flags;
    p->refresh = (flags & MTASTS_LOOKUP_F_REFRESH) != 0;
    p->started_ms = pd_mono_ms();
    /* the lookup cannot be taken back once it runs: when the table
     * cannot grow it is kept in the list only, and is not joined */
    p->in_table = ht_insert(&res->pend_t, &p->hn) == 0;
    p->next = res->pends;
    if (res->pends != NULL)
        res->pends->prev = p;
    res->pends = p;
    res->st.lookups++;
    if (p->refresh)
        res->st.refreshes++;
    rc = pd_cache_get(res->cache, dom, dlen, pd_now(), pend_got_entry, p,
                      &bytes, &blen);
    if (rc == 1)
        return p; /* pend_got_entry() goes on */
    if (rc < 0) {
        res->st.cache_errors++;
        bytes = NULL;
    }
    if (pend_run(res, p, bytes, blen) < 0) {
        res->st.lookups--;
        if (p->refresh)
            res->st.refreshes--;
        pend_free(res, p);
        return NULL;
    }
    return p;
}

/* ------------------------------------------------------------------ */
/* requests                                                            */
/* ------------------------------------------------------------------ */

static const struct pd_zone_snap *
zone_for(const struct pd_res *res, const char *name, size_t len)
{
    size_t i;

    if (name != NULL)
        for (i = 0; i < res->nzones; i++)
            if (strlen(res->zones[i].name) == len &&
                memcmp(res->zones[i].name, name, len) == 0)
                return &res->zones[i].z;
    return &res->defzone.z;
}

/* What a memoized answer was made for: the settings (Postfix version)
 * and the zone's two flags that change a socketmap answer. */
static unsigned
ans_key(const struct pd_res *res, const struct pd_zone_snap *z)
{
    return res->ans_gen << 2 | (unsigned)(z->strict_testing != 0) << 1 |
           (unsigned)(z->require_sni != 0);
}

/* The normalised policy domain of a request key; 0, or -1 when the key
 * names none (a ".parent" key, an address, a name with a port). */
static int
key_domain(const char *key, size_t key_len, char *dom, size_t *dlen)
{
    if (key_len == 0 || key[0] == '.' ||
        mtasts_domain_normalize(key, key_len, dom, DOM_MAX + 1, dlen) != 0)
        return -1;
    return 0;
}

/* A request uses memo m: its last use is now; 1 (counted as a hit, and
 * m made the most recent) when it can answer without I/O. */
static int
memo_use(struct pd_res *res, struct memo *m, int64_t now)
{
    m->last_use = now;
    if (!memo_fresh(res, m, now))
        return 0;
    res->st.hits++;
    if (m != res->lru_head) {
        lru_unlink(res, m);
        lru_push(res, m);
    }
    return 1;
}

/* Count an answer that a memo gives again, as answer_postfix counted it
 * when it was made ("LEN:OK ...", "LEN:TEMP ...", "LEN:NOTFOUND ..."). */
static void
count_memo_answer(struct pd_res *res, const struct memo *m)
{
    const char *t = memchr(m->ans, ':', m->ans_len);

    if (t != NULL && t[1] == 'O')
        res->st.ans_ok++;
    else if (t != NULL && t[1] == 'T')
        res->st.ans_temp++;
    else
        res->st.ans_notfound++;
}

/* Keep req's socketmap answer in m for the next request of the same
 * settings and flags (pd_res_cached_answer); without memory, the next one
 * is made again. */
static void
memo_keep_answer(struct pd_res *res, struct memo *m, const struct pd_req *req)
{
    unsigned key = ans_key(res, &req->zone);
    char *a;

    if (m->ans != NULL && m->ans_key == key)
        return;
    a = malloc(req->ans_len);
    if (a == NULL)
        return;
    memcpy(a, req->ans, req->ans_len);
    free(m->ans);
    m->ans = a;
    m->ans_len = req->ans_len;
    m->ans_key = key;
}

int
pd_res_cached_answer(struct pd_res *res, const char *zone, size_t zone_len,
                     const char *key, size_t key_len, const char **ret,
                     size_t *ret_len)
{
    char dom[DOM_MAX + 1];
    size_t dlen = 0;
    uint64_t h;
    struct memo *m;

    if (key_domain(key, key_len, dom, &dlen) < 0)
        return 0;
    h = hash_dom(res, dom, dlen);
    m = memo_find(res, dom, dlen, h);
    /* only what a request made before, for these settings and flags */
    if (m == NULL || m->ans == NULL ||
        m->ans_key != ans_key(res, zone_for(res, zone, zone_len)) ||
        !memo_use(res, m, pd_now()))
        return 0;
    res->st.requests++;
    count_memo_answer(res, m);
    *ret = m->ans;
    *ret_len = m->ans_len;
    return 1;
}

int
pd_res_request(struct pd_res *res, struct pd_req *req, const char *zone,
               size_t zone_len, const char *key, size_t key_len)
{
    char dom[DOM_MAX + 1];
    size_t dlen = 0;
    uint64_t h;
    int64_t now;
    struct memo *m;
    struct pd_pend *p;
    struct timeval tv;
    int rc;

    res->st.requests++;
    req->zone = *zone_for(res, zone, zone_len);
    if (key_domain(key, key_len, dom, &dlen) < 0)
        return answer(res, req, key, key_len, MTASTS_OUTCOME_NO_POLICY, NULL,
                      NULL);
    h = hash_dom(res, dom, dlen);
    now = pd_now();
    m = memo_find(res, dom, dlen, h);
    if (m != NULL && memo_use(res, m, now)) {
        rc = answer(res, req, dom, dlen, m->outcome,
                    m->entry != NULL ? mtasts_entry_policy(m->entry) : NULL,
                    &m->strict);
        /* keep the socketmap answer for the next request
         * (pd_res_cached_answer); without memory, it is made again */
        if (rc == 0 && req->proto == PD_PROTO_NETSTRING)
            memo_keep_answer(res, m, req);
        return rc;
    }
    res->st.misses++;
    p = (struct pd_pend *)ht_find(&res->pend_t, h, dom, dlen);
    if (p != NULL) {
        res->st.coalesced++;
    } else {
        if (res->pend_t.n >= res->max_lookups) {
            res->st.overloaded++;
            pd_log_msg(PD_LOG_WARNING, "overload",
                       "%zu lookups running (max_lookups): answering TEMP",
                       res->pend_t.n);
            return answer(res, req, dom, dlen, MTASTS_OUTCOME_TEMPFAIL, NULL,
                          NULL);
        }
        p = lookup_start(res, dom, dlen, h, 0);
        if (p == NULL)
            return answer(res, req, dom, dlen, MTASTS_OUTCOME_TEMPFAIL, NULL,
                          NULL);
    }
    req->tmr = evtimer_new(res->base, waiter_timeout_cb, req);
    if (req->tmr == NULL)
        return answer(res, req, dom, dlen, MTASTS_OUTCOME_TEMPFAIL, NULL, NULL);
    req->pend = p;
    req->wprev = NULL;
    req->wnext = p->wh;
    if (p->wh != NULL)
        p->wh->wprev = req;
    p->wh = req;
    tv.tv_sec = (time_t)(req->zone.timeout_ms / 1000);
    tv.tv_usec = (suseconds_t)((req->zone.timeout_ms % 1000) * 1000);
    evtimer_add(req->tmr, &tv);
    return 0;
}

void
pd_res_cancel(struct pd_res *res, struct pd_req *req)
{
    (void)res;
    waiter_unlink(req);
}

size_t
pd_res_pending(const struct pd_res *res)
{
    return res->pend_t.n;
}

void
pd_res_set_server(struct pd_res *res, struct pd_server *srv)
{
    res->srv = srv;
}

/* ------------------------------------------------------------------ */
/* proactive refresh and garbage collection                            */
/* ------------------------------------------------------------------ */

static void
pf_kick(struct pd_res *res, long ms)
{
    struct timeval tv;

    if (res->pf_tmr == NULL || !res->pf_enabled || res->quiesced)
        return;
    tv.tv_sec = ms / 1000;
    tv.tv_usec = (ms % 1000) * 1000;
    evtimer_add(res->pf_tmr, &tv);
}

static void
pf_cb(evutil_socket_t fd, short what, void *arg)
{
    struct pd_res *res = arg;
    char dom[DOM_MAX + 1];
    int64_t now = pd_now(), due = 0, used_at;
    int rc, rounds;
    struct memo *m;
    uint64_t h;
    size_t dlen;

    (void)fd;
    (void)what;
    if (!res->pf_enabled || res->quiesced)
        return;
    for (rounds = 0; rounds < 1000; rounds++) {
        if (res->pf_running >= res->pf_concurrency)
            return; /* kicked again when one ends */
        rc = pd_cache_next_refresh(res->cache, now, res->used_within,
                                   res->pf_jitter, dom, sizeof(dom), &due);
        if (rc != 0) {
            pf_kick(res, 60000);
            return;
        }
        if (due > now) {
            pf_kick(res, (long)(due - now < 60 ? due - now : 60) * 1000);
            return;
        }
        dlen = strlen(dom);
        h = hash_dom(res, dom, dlen);
        m = memo_find(res, dom, dlen, h);
        used_at = m != NULL && m->last_use > 0 ? m->last_use
                                               : now - res->used_within + 1;
        if (ht_find(&res->pend_t, h, dom, dlen) != NULL) {
            /* a client's lookup runs: it sets the next time */
            pd_cache_postpone(res->cache, dom, dlen, now + 60, used_at);
            continue;
        }
        if (res->pend_t.n >= res->max_lookups) {
            pf_kick(res, 1000);
            return;
        }
        if (lookup_start(res, dom, dlen, h, MTASTS_LOOKUP_F_REFRESH) == NULL) {
            pd_cache_postpone(res->cache, dom, dlen, now + 300, used_at);
            continue;
        }
        res->pf_running++;
        /* not offered again while in flight; the lookup's end sets the
         * real time */
        pd_cache_postpone(res->cache, dom, dlen, now + 3600, used_at);
    }
    pf_kick(res, 1000);
}

static void
gc_cb(evutil_socket_t fd, short what, void *arg)
{
    struct pd_res *res = arg;
    int64_t now = pd_now();
    struct memo *m, *prev;
    size_t n;
    struct timeval tv = {GC_INTERVAL_S, 0};

    (void)fd;
    (void)what;
    n = pd_cache_gc(res->cache, now, res->used_within);
    for (m = res->lru_tail; m != NULL; m = prev) {
        prev = m->lprev;
        if (m->last_use >= now - res->used_within)
            break;
        memo_drop(res, m);
        n++;
    }
    if (n > 0)
        pd_log_msg(PD_LOG_INFO, "gc", "%zu unused entries removed", n);
    evtimer_add(res->gc_tmr, &tv);
}

/* ------------------------------------------------------------------ */
/* set-up                                                              */
/* ------------------------------------------------------------------ */

static char *
net_key(const struct pd_config *cfg)
{
    size_t i, n = 16;
    char *s;

    n += cfg->dns_server ? strlen(cfg->dns_server) : 0;
    n += cfg->ca_file ? strlen(cfg->ca_file) : 0;
    for (i = 0; i < cfg->nconnect_to; i++)
        n += strlen(cfg->connect_to[i]) + 1;
    s = malloc(n);
    if (s == NULL)
        return NULL;
    snprintf(s, n, "%s\n%s\n", cfg->dns_server ? cfg->dns_server : "",
             cfg->ca_file ? cfg->ca_file : "");
    for (i = 0; i < cfg->nconnect_to; i++) {
        strcat(s, cfg->connect_to[i]);
        strcat(s, "\n");
    }
    return s;
}

static uint32_t
ms_of(double s)
{
    double ms = s * 1000.0;

    if (ms < 1)
        return 1;
    if (ms > 86400000.0)
        return 86400000u;
    return (uint32_t)ms;
}

static void
zones_free(struct pd_res *res)
{
    size_t i;

    for (i = 0; i < res->nzones; i++)
        free(res->zones[i].name);
    free(res->zones);
    res->zones = NULL;
    res->nzones = 0;
}

static int
settings(struct pd_res *res, const struct pd_config *cfg,
         uint32_t postfix_version)
{
    struct zsnap *z;
    size_t i;
    double fetch = cfg->fetch_timeout, jit;

    z = calloc(cfg->nzones + 1, sizeof(*z));
    if (z == NULL)
        return -1;
    for (i = 0; i < cfg->nzones; i++) {
        z[i].name = strdup(cfg->zones[i].name);
        if (z[i].name == NULL) {
            while (i-- > 0)
                free(z[i].name);
            free(z);
            return -1;
        }
        z[i].z.strict_testing = cfg->zones[i].strict_testing;
        z[i].z.require_sni = cfg->zones[i].require_sni;
        z[i].z.timeout_ms = ms_of(cfg->zones[i].timeout);
        if (cfg->fetch_timeout == 0 && cfg->zones[i].timeout > fetch)
            fetch = cfg->zones[i].timeout;
    }
    zones_free(res);
    res->zones = z;
    res->nzones = cfg->nzones;
    res->defzone.z.strict_testing = cfg->default_zone.strict_testing;
    res->defzone.z.require_sni = cfg->default_zone.require_sni;
    res->defzone.z.timeout_ms = ms_of(cfg->default_zone.timeout);
    if (cfg->fetch_timeout == 0 && cfg->default_zone.timeout > fetch)
        fetch = cfg->default_zone.timeout;
    if (fetch < 1)
        fetch = 1;
    res->grace = (int64_t)cfg->cache_grace;
    res->max_lookups = cfg->max_lookups;
    res->postfix_version = postfix_version;
    res->ans_gen++;
    snprintf(res->postfix_text, sizeof(res->postfix_text), "%u.%u.%u",
             (unsigned)(postfix_version >> 16),
             (unsigned)((postfix_version >> 8) & 0xff),
             (unsigned)(postfix_version & 0xff));
    res->stats_enabled = cfg->stats;
    res->pf_enabled = cfg->pf_enabled;
    res->pf_interval = (int64_t)cfg->pf_interval;
    jit = cfg->pf_interval * (1.0 - 1.0 / cfg->pf_grace_ratio);
    res->pf_jitter = jit > 0 ? (int64_t)jit : 0;
    res->pf_concurrency = (size_t)cfg->pf_concurrency;
    res->used_within = (int64_t)cfg->refresh_used_within;
    if (mtasts_ctx_set_option(res->ctx, MTASTS_OPT_FETCH_TIMEOUT_MS,
                              (int64_t)ms_of(fetch)) != 0 ||
        mtasts_ctx_set_option(res->ctx, MTASTS_OPT_REFRESH_INTERVAL,
                              res->pf_interval) != 0 ||
        mtasts_ctx_set_option(res->ctx, MTASTS_OPT_TEMPFAIL_NO_CACHE,
                              cfg->tempfail_no_cache) != 0)
        return -1;
    return 0;
}

int
pd_res_new(struct event_base *base, const struct pd_config *cfg,
           uint32_t postfix_version, struct pd_res **ret)
{
    struct pd_res *res = calloc(1, sizeof(*res));
    struct timeval tv = {GC_INTERVAL_S, 0};
    FILE *f;

    *ret = NULL;
    if (res == NULL)
        return -1;
    res->base = base;
    res->started = pd_now();
    /* the hash key of the domain tables */
    f = fopen("/dev/urandom", "rb");
    if (f == NULL || fread(res->hkey, sizeof(res->hkey), 1, f) != 1) {
        res->hkey[0] = (uint64_t)(uintptr_t)res ^ (uint64_t)pd_mono_ms();
        res->hkey[1] = (uint64_t)(uintptr_t)&tv ^ (uint64_t)res->started;
    }
    if (f != NULL)
        fclose(f);
    if (mtasts_ctx_new(NULL, &res->ctx) != 0)
        goto fail;
    if (settings(res, cfg, postfix_version) < 0)
        goto fail;
    res->memo_max = cfg->cache_size;
    if (pd_cache_open(res->ctx, base, cfg, res->started, &res->cache) < 0)
        goto fail;
    res->net_key = net_key(cfg);
    if (res->net_key == NULL)
        goto fail;
    res->ng = glue_new(res, cfg);
    if (res->ng == NULL)
        goto fail;
    res->pf_tmr = evtimer_new(base, pf_cb, res);
    res->gc_tmr = evtimer_new(base, gc_cb, res);
    if (res->pf_tmr == NULL || res->gc_tmr == NULL)
        goto fail;
    evtimer_add(res->gc_tmr, &tv);
    pf_kick(res, 1000);
    *ret = res;
    return 0;
fail:
    pd_log_msg(PD_LOG_ERR, "start", "cannot set up the resolver");
    pd_res_free(res);
    return -1;
}

int
pd_res_reconfigure(struct pd_res *res, const struct pd_config *cfg,
                   uint32_t postfix_version)
{
    char *key = net_key(cfg);
    struct netglue *g;

    if (key == NULL || settings(res, cfg, postfix_version) < 0) {
        free(key);
        return -1;
    }
    if (cfg->cache_size != res->memo_max)
        pd_log_msg(PD_LOG_WARNING, "reload",
                   "the cache size changes at the next restart");
    if (strcmp(key, res->net_key) != 0) {
        g = glue_new(res, cfg);
        if (g == NULL) {
            free(key);
            return -1;
        }
        res->ng->retired = 1;
        res->ng->next = res->retired;
        res->retired = res->ng;
        res->ng = g;
        free(res->net_key);
        res->net_key = key;
        key = NULL;
        retired_free_cb(-1, 0, res);
        pd_log_msg(PD_LOG_INFO, "reload",
                   "new DNS/CA/connect-to settings: new lookups use them");
    }
    free(key);
    if (res->pf_enabled)
        pf_kick(res, 1000);
    else if (res->pf_tmr != NULL)
        evtimer_del(res->pf_tmr);
    return 0;
}

void
pd_res_quiesce(struct pd_res *res)
{
    res->quiesced = 1;
    if (res->pf_tmr != NULL)
        evtimer_del(res->pf_tmr);
}

void
pd_res_free(struct pd_res *res)
{
    struct netglue *g;
    struct memo *m;

    if (res == NULL)
        return;
    res->quiesced = 1;
    /* cancelling runs each lookup's callback: waiters get answers, pends
     * go */
    glue_free(res->ng);
    res->ng = NULL;
    while ((g = res->retired) != NULL) {
        res->retired = g->next;
        glue_free(g);
    }
    /* entries still being read are called back (MTASTS_ESTATE): their
     * pends go */
    pd_cache_free(res->cache);
    res->cache = NULL;
    while ((m = res->lru_head) != NULL)
        memo_drop(res, m);
    free(res->memo_t.b);
    free(res->pend_t.b);
    if (res->pf_tmr != NULL)
        event_free(res->pf_tmr);
    if (res->gc_tmr != NULL)
        event_free(res->gc_tmr);
    zones_free(res);
    free(res->net_key);
    mtasts_ctx_free(res->ctx);
    free(res);
}

/* ------------------------------------------------------------------ */
/* stats                                                               */
/* ------------------------------------------------------------------ */

struct jb {
    char *s;
    size_t len, cap;
    int oom;
};

static void jb_add(struct jb *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

static void
jb_add(struct jb *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (b->oom)
        return;
    for (;;) {
        va_start(ap, fmt);
        n = vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->oom = 1;
            return;
        }
        if ((size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        {
            size_t cap = b->cap * 2 + (size_t)n;
            char *ns = realloc(b->s, cap);

            if (ns == NULL) {
                b->oom = 1;
                return;
            }
            b->s = ns;
            b->cap = cap;
        }
    }
}

char *
pd_res_stats(struct pd_res *res, size_t *ret_len)
{
    struct jb b;
    const struct pd_server_stats *ss =
        res->srv != NULL ? pd_server_stats(res->srv) : NULL;
    const struct stats *st = &res->st;
    struct pd_cache_stats cs;
    int i;

    b.cap = 2048;
    b.len = 0;
    b.oom = 0;
    b.s = malloc(b.cap);
    if (b.s == NULL)
        return NULL;
    b.s[0] = '\0';
    jb_add(&b,
           "{\"version\":\"%s\",\"uptime\":%lld,\"postfix_version\":\"%s\","
           "\"requests\":%llu,\"hits\":%llu,\"misses\":%llu,"
           "\"coalesced\":%llu,\"lookups\":%llu,\"lookups_running\":%zu,"
           "\"lookups_failed\":%llu,\"refreshes\":%llu,"
           "\"refreshes_running\":%zu,\"fetches\":%llu,"
           "\"fetch_failures\":%llu,\"alerts\":%llu,\"overloaded\":%llu,"
           "\"wait_timeouts\":%llu,\"stale_answers\":%llu,",
           MTASTS_VERSION_STRING, (long long)(pd_now() - res->started),
           res->postfix_text, (unsigned long long)st->requests,
           (unsigned long long)st->hits, (unsigned long long)st->misses,
           (unsigned long long)st->coalesced, (unsigned long long)st->lookups,
           res->pend_t.n, (unsigned long long)st->lookups_failed,
           (unsigned long long)st->refreshes, res->pf_running,
           (unsigned long long)st->fetches,
           (unsigned long long)st->fetch_failures,
           (unsigned long long)st->alerts, (unsigned long long)st->overloaded,
           (unsigned long long)st->wait_timeouts,
           (unsigned long long)st->stale_answers);
    jb_add(&b, "\"failures\":{");
    for (i = 1; i < 16; i++) {
        const char *name = mtasts_result_type_name(i);

        if (name == NULL)
            continue;
        jb_add(&b, "%s\"%s\":%llu", i > 1 ? "," : "", name,
               (unsigned long long)st->result[i]);
    }
    jb_add(&b,
           "},\"answers\":{\"ok\":%llu,\"notfound\":%llu,\"temp\":%llu,"
           "\"perm\":%llu,\"line_enforce\":%llu,\"line_testing\":%llu,"
           "\"line_none\":%llu,\"line_tempfail\":%llu},",
           (unsigned long long)st->ans_ok, (unsigned long long)st->ans_notfound,
           (unsigned long long)st->ans_temp, (unsigned long long)st->ans_perm,
           (unsigned long long)st->line_enforce,
           (unsigned long long)st->line_testing,
           (unsigned long long)st->line_none,
           (unsigned long long)st->line_tempfail);
    pd_cache_stats(res->cache, &cs);
    jb_add(&b,
           "\"cache\":{\"type\":\"%s\",\"state\":\"%s\",\"entries\":%zu,"
           "\"bytes\":%zu,\"memo\":%zu,\"gets\":%llu,\"memory_hits\":%llu,"
           "\"backend_hits\":%llu,\"misses\":%llu,\"backend_writes\":%llu,"
           "\"backend_errors\":%llu,\"corrupt\":%llu,\"errors\":%llu}",
           cs.type, cs.state, cs.entries, cs.bytes, res->memo_t.n,
           (unsigned long long)cs.gets, (unsigned long long)cs.memory_hits,
           (unsigned long long)cs.backend_hits, (unsigned long long)cs.misses,
           (unsigned long long)cs.backend_writes,
           (unsigned long long)cs.backend_errors,
           (unsigned long long)cs.corrupt,
           (unsigned long long)st->cache_errors);
    if (ss != NULL)
        jb_add(&b,
               ",\"connections\":%zu,\"accepted\":%llu,\"refused\":%llu,"
               "\"closed_bad\":%llu,\"closed_timeout\":%llu,"
               "\"netstring_requests\":%llu,\"line_requests\":%llu",
               ss->connections, (unsigned long long)ss->accepted,
               (unsigned long long)ss->refused,
               (unsigned long long)ss->closed_bad,
               (unsigned long long)ss->closed_timeout,
               (unsigned long long)ss->requests_ns,
               (unsigned long long)ss->requests_line);
    jb_add(&b, "}");
    if (b.oom) {
        free(b.s);
        return NULL;
    }
    *ret_len = b.len;
    return b.s;
}

void
pd_res_count_perm(struct pd_res *res)
{
    res->st.ans_perm++;
}

int
pd_res_stats_enabled(const struct pd_res *res)
{
    return res->stats_enabled;
}
