/*
 * The store's front: the bounded in-memory cache always in front of one
 * optional backend (read-through, write-through), the order between two
 * entries, the horizon, corrupt entries, and the degradation of a failed
 * backend to memory only with one logged alert per state change.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

#define DEFAULT_MEM_ENTRIES 100000u
#define DEFAULT_MEM_BYTES   ((size_t)64 * 1024 * 1024)
#define TXT_PREFIX          "_mta-sts."

/* ------------------------------------------------------------------ */
/* Memory, logs                                                        */
/* ------------------------------------------------------------------ */

void *
st_alloc(const mtasts_store *s, size_t n)
{
    if (n == 0)
        n = 1;
    if (s->have_alloc)
        return s->alloc.alloc(s->alloc.user, n);
    return malloc(n);
}

void
st_free(const mtasts_store *s, void *p, size_t n)
{
    if (p == NULL)
        return;
    if (n == 0)
        n = 1;
    if (s->have_alloc)
        s->alloc.free(s->alloc.user, p, n);
    else
        free(p);
}

/* Make room for n bytes and a NUL in b; MTASTS_ENOMEM leaves b
 * unchanged. */
static int
buf_reserve(mtasts_store *s, struct st_buf *b, size_t n)
{
    size_t cap = b->cap != 0 ? b->cap : 256;
    uint8_t *np;

    if (n + 1 <= b->cap)
        return MTASTS_OK;
    while (cap < n + 1)
        cap *= 2;
    np = st_alloc(s, cap);
    if (np == NULL)
        return MTASTS_ENOMEM;
    st_free(s, b->p, b->cap);
    b->p = np;
    b->cap = cap;
    b->len = 0;
    return MTASTS_OK;
}

/* Copy n bytes into b (growing it); MTASTS_ENOMEM leaves b unchanged. */
int
st_buf_set(mtasts_store *s, struct st_buf *b, const void *p, size_t n)
{
    int rc = buf_reserve(s, b, n);

    if (rc != MTASTS_OK)
        return rc;
    if (n > 0)
        memcpy(b->p, p, n);
    b->p[n] = 0;
    b->len = n;
    return MTASTS_OK;
}

static void
buf_release(mtasts_store *s, struct st_buf *b)
{
    st_free(s, b->p, b->cap);
    b->p = NULL;
    b->len = b->cap = 0;
}

static char *
str_dup(mtasts_store *s, const char *src)
{
    size_t n;
    char *p;

    if (src == NULL)
        return NULL;
    n = strlen(src) + 1;
    p = st_alloc(s, n);
    if (p != NULL)
        memcpy(p, src, n);
    return p;
}

static void
str_free(mtasts_store *s, char *p)
{
    if (p != NULL)
        st_free(s, p, strlen(p) + 1);
}

void
st_log(const mtasts_store *s, int level, int alert, const char *fmt, ...)
{
    char line[768];
    va_list ap;

    if (s->log == NULL)
        return;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    s->log(s->log_arg, level, alert, line);
}

void
st_set_err(mtasts_store *s, const char *prefix, const char *msg)
{
    size_t i;

    if (msg == NULL || *msg == 0)
        msg = "unknown error";
    snprintf(s->err, sizeof(s->err), "%s%s", prefix != NULL ? prefix : "", msg);
    /* a quoted log value: no quote, backslash or control character */
    for (i = 0; s->err[i] != 0; i++) {
        unsigned char c = (unsigned char)s->err[i];
        if (c == '"' || c == '\\' || c < 0x20 || c >= 0x7f)
            s->err[i] = '?';
    }
}

static const char *
be_name(const mtasts_store *s)
{
    return mtasts_store_backend_name(s->backend);
}

/* ------------------------------------------------------------------ */
/* Backend state                                                       */
/* ------------------------------------------------------------------ */

void
st_mark_down(mtasts_store *s)
{
    int was = s->state;

    s->stats.backend_errors++;
    if (was != MTASTS_STORE_STATE_DOWN) {
        s->state = MTASTS_STORE_STATE_DOWN;
        /* the back-off grows while retries fail, and starts over after
         * the backend was up */
        if (was == MTASTS_STORE_STATE_UP || s->retry_delay == 0)
            s->retry_delay = s->retry_min;
        else if (s->retry_delay < s->retry_max / 2)
            s->retry_delay *= 2;
        else
            s->retry_delay = s->retry_max;
        s->retry_at = s->clock + s->retry_delay;
        if (s->logged_state != MTASTS_STORE_STATE_DOWN) {
            s->logged_state = MTASTS_STORE_STATE_DOWN;
            st_log(s, MTASTS_STORE_LOG_ERR, 1,
                   "store backend=%s state=down error=\"%s\" "
                   "retry_in=%llds action=memory-only",
                   be_name(s), s->err, (long long)s->retry_delay);
        }
    }
    /* last: dropping an asynchronous connection completes the requests
     * in flight, whose callbacks must see the store down */
    if (s->ops->disconnect != NULL)
        s->ops->disconnect(s);
}

void
st_backend_up(mtasts_store *s)
{
    int was_logged = s->logged_state;

    s->state = MTASTS_STORE_STATE_UP;
    s->retry_delay = 0;
    if (was_logged != MTASTS_STORE_STATE_UP) {
        s->logged_state = MTASTS_STORE_STATE_UP;
        st_log(s, MTASTS_STORE_LOG_NOTICE, 0, "store backend=%s state=up%s",
               be_name(s),
               was_logged == MTASTS_STORE_STATE_DOWN ? " recovered=1" : "");
    }
}

static void
tick(mtasts_store *s, int64_t now)
{
    if (now > s->clock)
        s->clock = now;
}

/* Whether the backend can be used now; a down backend whose retry time
 * has come is reconnected (an asynchronous one starts connecting and is
 * not usable yet). 1, 0, or MTASTS_ENOMEM. */
static int
ready(mtasts_store *s)
{
    int rc;

    switch (s->state) {
    case MTASTS_STORE_STATE_UP:
        return 1;
    case MTASTS_STORE_STATE_DOWN:
        if (s->clock < s->retry_at)
            return 0;
        rc = s->ops->connect(s);
        if (rc == MTASTS_ENOMEM)
            return rc;
        if (rc != MTASTS_OK) {
            s->state = MTASTS_STORE_STATE_CONNECTING; /* a failed retry */
            st_mark_down(s);
            return 0;
        }
        if (s->async) {
            s->state = MTASTS_STORE_STATE_CONNECTING;
            return 0;
        }
        st_backend_up(s);
        return 1;
    case MTASTS_STORE_STATE_MEMORY:
    case MTASTS_STORE_STATE_CONNECTING:
    default:
        return 0;
    }
}

static void
maybe_purge(mtasts_store *s, int64_t now)
{
    size_t n = 0;
    int rc;

    if (s->purge_interval <= 0 || s->ops->purge == NULL ||
        now - s->last_purge < s->purge_interval)
        return;
    s->last_purge = now;
    rc = s->ops->purge(s, now, &n);
    if (rc == ST_EBACKEND)
        st_mark_down(s);
    else if (rc == MTASTS_OK)
        s->stats.purged += n;
}

/* ------------------------------------------------------------------ */
/* Order, horizon, refresh                                             */
/* ------------------------------------------------------------------ */

static void
order_of(const mtasts_entry *e, struct st_order *o)
{
    o->v[0] = mtasts_entry_time(e, MTASTS_ENTRY_TIME_FETCHED_AT);
    o->v[1] = mtasts_entry_time(e, MTASTS_ENTRY_TIME_EXPIRES_AT);
    o->v[2] = mtasts_entry_time(e, MTASTS_ENTRY_TIME_BACKOFF_UNTIL);
    o->v[3] = mtasts_entry_time(e, MTASTS_ENTRY_TIME_LAST_USED);
}

int
mtasts_store_entry_cmp(const mtasts_entry *a, const mtasts_entry *b)
{
    struct st_order oa, ob;
    size_t i;

    order_of(a, &oa);
    order_of(b, &ob);
    for (i = 0; i < 4; i++) {
        if (oa.v[i] != ob.v[i])
            return oa.v[i] < ob.v[i] ? -1 : 1;
    }
    return 0;
}

int64_t
mtasts_store_horizon(const mtasts_entry *e, int64_t grace)
{
    int64_t exp, bo, h;

    if (e == NULL)
        return 0;
    exp = mtasts_entry_policy(e) != NULL
              ? mtasts_entry_time(e, MTASTS_ENTRY_TIME_EXPIRES_AT)
              : 0;
    bo = mtasts_entry_time(e, MTASTS_ENTRY_TIME_BACKOFF_UNTIL);
    h = exp > bo ? exp : bo;
    if (h <= 0)
        return 0;
    if (grace < 0)
        grace = 0;
    /* entry times are at most 2^62, so this cannot overflow for a grace
     * below 2^62; saturate anyway */
    if (grace > INT64_MAX - h)
        return INT64_MAX;
    return h + grace;
}

int64_t
mtasts_store_refresh_at(const mtasts_ctx *ctx, const mtasts_entry *e,
                        int64_t now)
{
    int64_t t = 0, fetched, expires, bo, ri, q;

    if (ctx == NULL || e == NULL)
        return 0;
    fetched = mtasts_entry_time(e, MTASTS_ENTRY_TIME_FETCHED_AT);
    expires = mtasts_entry_time(e, MTASTS_ENTRY_TIME_EXPIRES_AT);
    bo = mtasts_entry_time(e, MTASTS_ENTRY_TIME_BACKOFF_UNTIL);
    if (mtasts_entry_policy(e) != NULL && now < expires) {
        ri = mtasts_ctx_get_option(ctx, MTASTS_OPT_REFRESH_INTERVAL);
        q = (expires - fetched) / 4 * 3;
        t = ri > 0 ? fetched + (q < ri ? q : ri) : expires;
    }
    if (bo > now && bo > t)
        t = bo;
    if (t != 0 && t < now)
        t = now;
    return t;
}

/* ------------------------------------------------------------------ */
/* Entries from a backend                                              */
/* ------------------------------------------------------------------ */

static void
log_corrupt(mtasts_store *s, const char *key, int status,
            const struct mtasts_diag *d)
{
    s->stats.corrupt++;
    if (status == ST_EWRONGTYPE) {
        st_log(s, MTASTS_STORE_LOG_ERR, 1,
               "store backend=%s domain=%s entry=corrupt "
               "status=wrong-type action=deleted",
               be_name(s), key);
        return;
    }
    if (d != NULL && d->code != 0) {
        const char *r = mtasts_reason_name(d->reason);
        st_log(s, MTASTS_STORE_LOG_ERR, 1,
               "store backend=%s domain=%s entry=corrupt status=%s "
               "reason=%s offset=%zu action=deleted",
               be_name(s), key, mtasts_status_name(status),
               r != NULL ? r : "none", d->offset);
        return;
    }
    st_log(s, MTASTS_STORE_LOG_ERR, 1,
           "store backend=%s domain=%s entry=corrupt status=%s "
           "reason=other-domain action=deleted",
           be_name(s), key, mtasts_status_name(status));
}

static struct st_req *
req_new(mtasts_store *s, int kind, const char *key, size_t key_len,
        const uint8_t *data, size_t data_len, int64_t now)
{
    struct st_req *r;
    size_t size = sizeof(*r) + data_len;

    r = st_alloc(s, size);
    if (r == NULL)
        return NULL;
    memset(r, 0, sizeof(*r));
    r->s = s;
    r->size = size;
    r->kind = kind;
    r->now = now;
    r->key_len = key_len;
    memcpy(r->key, key, key_len);
    r->key[key_len] = 0;
    r->data_len = data_len;
    if (data_len > 0)
        memcpy(r->data, data, data_len);
    return r;
}

void
st_req_free(mtasts_store *s, struct st_req *r)
{
    if (r != NULL)
        st_free(s, r, r->size);
}

/* Delete a stored entry (while it is still expected, when given). */
static int
backend_del(mtasts_store *s, const char *key, size_t key_len,
            const uint8_t *expected, size_t expected_len)
{
    int rc;

    if (s->state != MTASTS_STORE_STATE_UP)
        return MTASTS_OK;
    if (s->async) {
        struct st_req *r = req_new(s, ST_REQ_DEL, key, key_len, expected,
                                   expected != NULL ? expected_len : 0, 0);

        if (r == NULL)
            return MTASTS_ENOMEM;
        r->flags = expected != NULL; /* a conditional delete */
        rc = s->ops->send(s, r);
        if (rc != MTASTS_OK) {
            st_req_free(s, r);
            if (rc == ST_EBACKEND)
                st_mark_down(s);
            return rc == MTASTS_ENOMEM ? rc : MTASTS_OK;
        }
        return MTASTS_OK;
    }
    rc = s->ops->del(s, key, key_len, expected, expected_len);
    if (rc == ST_EBACKEND) {
        st_mark_down(s);
        return MTASTS_OK;
    }
    return rc;
}

/* Decode bytes read from the backend for key; *ret_e is NULL when they
 * are corrupt (logged, deleted). 0 or MTASTS_ENOMEM. */
static int
decode_stored(mtasts_store *s, const char *key, size_t key_len,
              const uint8_t *b, size_t n, mtasts_entry **ret_e)
{
    struct mtasts_diag d = MTASTS_DIAG_INIT;
    mtasts_entry *e = NULL;
    const char *dom;
    size_t dl;
    int rc;

    *ret_e = NULL;
    rc = mtasts_entry_decode(s->ctx, b, n, &e, &d);
    if (rc == MTASTS_ENOMEM)
        return rc;
    if (rc == MTASTS_OK) {
        dom = mtasts_entry_domain(e, &dl);
        if (dl == key_len && memcmp(dom, key, dl) == 0) {
            *ret_e = e;
            return MTASTS_OK;
        }
        mtasts_entry_free(e);
        rc = MTASTS_EINVAL;
        d.code = 0;
    }
    log_corrupt(s, key, rc, &d);
    return backend_del(s, key, key_len, b, n);
}

/* The answer of a get once the backend gave bytes b (or nothing, b NULL):
 * the newer of memory's entry (mp) and b, b being put in memory when it
 * is the newer. *ret is mp, b, or NULL. 0 or MTASTS_ENOMEM. */
static int
take_backend(mtasts_store *s, const char *key, size_t key_len, int64_t now,
             const uint8_t *mp, size_t mn, const uint8_t *b, size_t n,
             const uint8_t **ret, size_t *ret_len)
{
    mtasts_entry *e = NULL, *me = NULL;
    int rc;

    *ret = mp;
    *ret_len = mn;
    if (b != NULL) {
        rc = decode_stored(s, key, key_len, b, n, &e);
        if (rc != MTASTS_OK)
            return rc;
    }
    if (e != NULL && mp != NULL) {
        rc = mtasts_entry_decode(s->ctx, mp, mn, &me, NULL);
        if (rc == MTASTS_ENOMEM) {
            mtasts_entry_free(e);
            return rc;
        }
        /* memory holds only entries that decoded; keep it when newer */
        if (rc == MTASTS_OK && mtasts_store_entry_cmp(e, me) <= 0) {
            mtasts_entry_free(e);
            e = NULL;
        }
        mtasts_entry_free(me);
    }
    if (e == NULL) {
        if (mp != NULL)
            s->stats.memory_hits++;
        else
            s->stats.misses++;
        return MTASTS_OK;
    }
    rc = mtasts_cache_put(s->mem, key, key_len, b, n,
                          mtasts_store_refresh_at(s->ctx, e, now), now);
    mtasts_entry_free(e);
    if (rc == MTASTS_ENOMEM)
        return rc;
    /* MTASTS_ETOOBIG: larger than memory may hold; answered anyway */
    s->stats.backend_hits++;
    *ret = b;
    *ret_len = n;
    return MTASTS_OK;
}

static int
mem_answer(mtasts_store *s, const uint8_t *mp, size_t mn, const uint8_t **ret,
           size_t *ret_len)
{
    if (mp != NULL)
        s->stats.memory_hits++;
    else
        s->stats.misses++;
    *ret = mp;
    *ret_len = mn;
    return MTASTS_OK;
}

/* ------------------------------------------------------------------ */
/* Open, free                                                          */
/* ------------------------------------------------------------------ */

void
mtasts_store_config_init(mtasts_store_config *cfg)
{
    if (cfg == NULL)
        return;
    memset(cfg, 0, sizeof(*cfg));
    cfg->backend = MTASTS_STORE_MEMORY;
    cfg->memory_entries = DEFAULT_MEM_ENTRIES;
    cfg->memory_bytes = DEFAULT_MEM_BYTES;
    cfg->grace = 3600;
    cfg->retry_min = 1;
    cfg->retry_max = 60;
    cfg->purge_interval = 3600;
    cfg->sqlite_busy_timeout_ms = 1000;
    cfg->redis_host = "127.0.0.1";
    cfg->redis_port = 6379;
    cfg->redis_prefix = "mtasts";
    cfg->redis_connect_timeout_ms = 1000;
    cfg->redis_command_timeout_ms = 1000;
}

int
mtasts_store_backend_built(int backend)
{
    switch (backend) {
    case MTASTS_STORE_MEMORY:
        return 1;
    case MTASTS_STORE_SQLITE:
#ifdef MTASTS_STORE_HAVE_SQLITE
        return 1;
#else
        return 0;
#endif
    case MTASTS_STORE_REDIS:
#ifdef MTASTS_STORE_HAVE_REDIS
        return 1;
#else
        return 0;
#endif
    default:
        return 0;
    }
}

const char *
mtasts_store_backend_name(int backend)
{
    switch (backend) {
    case MTASTS_STORE_MEMORY:
        return "memory";
    case MTASTS_STORE_SQLITE:
        return "sqlite";
    case MTASTS_STORE_REDIS:
        return "redis";
    default:
        return "unknown";
    }
}

static int
check_config(const mtasts_store_config *cfg)
{
    if (!mtasts_store_backend_built(cfg->backend) || cfg->memory_entries == 0 ||
        cfg->memory_bytes == 0 || cfg->grace < 0 || cfg->retry_min < 1 ||
        cfg->retry_max < cfg->retry_min || cfg->purge_interval < 0)
        return MTASTS_EINVAL;
    if (cfg->alloc != NULL &&
        (cfg->alloc->version != MTASTS_ALLOC_VERSION ||
         cfg->alloc->alloc == NULL || cfg->alloc->free == NULL))
        return MTASTS_EINVAL;
    if (cfg->backend == MTASTS_STORE_SQLITE &&
        (cfg->sqlite_path == NULL || *cfg->sqlite_path == 0 ||
         cfg->sqlite_busy_timeout_ms < 0))
        return MTASTS_EINVAL;
    if (cfg->backend == MTASTS_STORE_REDIS &&
        ((cfg->redis_unix_path == NULL &&
          (cfg->redis_host == NULL || *cfg->redis_host == 0 ||
           cfg->redis_port <= 0 || cfg->redis_port > 65535)) ||
         cfg->redis_prefix == NULL || cfg->redis_db < 0 ||
         strlen(cfg->redis_prefix) > 256 ||
         cfg->redis_connect_timeout_ms <= 0 ||
         cfg->redis_command_timeout_ms <= 0))
        return MTASTS_EINVAL;
    return MTASTS_OK;
}

static int
copy_strings(mtasts_store *s, const mtasts_store_config *cfg)
{
    if (cfg->backend == MTASTS_STORE_SQLITE) {
        s->sqlite_path = str_dup(s, cfg->sqlite_path);
        if (s->sqlite_path == NULL)
            return MTASTS_ENOMEM;
    }
    if (cfg->backend == MTASTS_STORE_REDIS) {
        s->redis_prefix = str_dup(s, cfg->redis_prefix);
        if (s->redis_prefix == NULL)
            return MTASTS_ENOMEM;
        s->redis_prefix_len = strlen(s->redis_prefix);
        if (cfg->redis_unix_path != NULL) {
            s->redis_unix_path = str_dup(s, cfg->redis_unix_path);
            if (s->redis_unix_path == NULL)
                return MTASTS_ENOMEM;
        } else {
            s->redis_host = str_dup(s, cfg->redis_host);
            if (s->redis_host == NULL)
                return MTASTS_ENOMEM;
        }
        if (cfg->redis_password != NULL) {
            s->redis_password = str_dup(s, cfg->redis_password);
            if (s->redis_password == NULL)
                return MTASTS_ENOMEM;
        }
    }
    return MTASTS_OK;
}

static void
store_release(mtasts_store *s)
{
    if (s->ops != NULL && s->ops->free != NULL)
        s->ops->free(s);
    mtasts_cache_free(s->mem);
    buf_release(s, &s->scratch);
    buf_release(s, &s->work);
    str_free(s, s->sqlite_path);
    str_free(s, s->redis_host);
    str_free(s, s->redis_unix_path);
    str_free(s, s->redis_password);
    str_free(s, s->redis_prefix);
    st_free(s, s, sizeof(*s));
}

int
mtasts_store_open(mtasts_ctx *ctx, const mtasts_store_config *cfg, int64_t now,
                  mtasts_store **ret_store)
{
    mtasts_store tmp, *s;
    int rc;

    if (ret_store != NULL)
        *ret_store = NULL;
    if (ctx == NULL || cfg == NULL || ret_store == NULL)
        return MTASTS_EINVAL;
    rc = check_config(cfg);
    if (rc != MTASTS_OK)
        return rc;
    memset(&tmp, 0, sizeof(tmp));
    if (cfg->alloc != NULL) {
        tmp.alloc = *cfg->alloc;
        tmp.have_alloc = 1;
    }
    s = st_alloc(&tmp, sizeof(*s));
    if (s == NULL)
        return MTASTS_ENOMEM;
    *s = tmp;
    s->ctx = ctx;
    s->backend = cfg->backend;
    s->logged_state = -1;
    s->clock = now;
    s->grace = cfg->grace;
    s->retry_min = cfg->retry_min;
    s->retry_max = cfg->retry_max;
    s->purge_interval = cfg->purge_interval;
    s->sqlite_busy_timeout_ms = cfg->sqlite_busy_timeout_ms;
    s->redis_port = cfg->redis_port;
    s->redis_db = cfg->redis_db;
    s->redis_connect_timeout_ms = cfg->redis_connect_timeout_ms;
    s->redis_command_timeout_ms = cfg->redis_command_timeout_ms;
    s->base = cfg->event_base;
    s->log = cfg->log;
    s->log_arg = cfg->log_arg;
    s->state = MTASTS_STORE_STATE_MEMORY;

    rc = copy_strings(s, cfg);
    if (rc == MTASTS_OK)
        rc = mtasts_cache_new(ctx, cfg->memory_entries, cfg->memory_bytes,
                              &s->mem);
    if (rc == MTASTS_OK) {
        switch (cfg->backend) {
#ifdef MTASTS_STORE_HAVE_SQLITE
        case MTASTS_STORE_SQLITE:
            rc = st_sqlite_init(s);
            break;
#endif
#ifdef MTASTS_STORE_HAVE_REDIS
        case MTASTS_STORE_REDIS:
            s->async = s->base != NULL;
            rc = st_redis_init(s);
            break;
#endif
        default:
            break;
        }
    }
    if (rc != MTASTS_OK) {
        store_release(s);
        return rc;
    }
    if (s->ops != NULL) {
        /* the first connection: a failure is a retry due at once */
        s->state = MTASTS_STORE_STATE_DOWN;
        s->retry_at = now;
        rc = ready(s);
        if (rc == MTASTS_ENOMEM) {
            store_release(s);
            return rc;
        }
    }
    *ret_store = s;
    return MTASTS_OK;
}

void
mtasts_store_free(mtasts_store *s)
{
    if (s == NULL)
        return;
    s->freeing = 1;
    if (s->ops != NULL && s->ops->disconnect != NULL)
        s->ops->disconnect(s);
    store_release(s);
}

/* ------------------------------------------------------------------ */
/* Requests                                                            */
/* ------------------------------------------------------------------ */

static int
norm_key(const char *domain, size_t len, char *key, size_t *key_len)
{
    size_t n = 0;
    int rc;

    if (domain == NULL)
        return MTASTS_EINVAL;
    rc = mtasts_domain_normalize(domain, len, key, ST_KEY_MAX, &n);
    if (rc != MTASTS_OK)
        return rc == MTASTS_ERANGE ? MTASTS_ETOOBIG : rc;
    *key_len = n;
    return MTASTS_OK;
}

static void
sync_get_memory(mtasts_store *s, const char *key, size_t key_len, int64_t now,
                const uint8_t **mp, size_t *mn)
{
    *mp = NULL;
    *mn = 0;
    (void)mtasts_cache_get(s->mem, key, key_len, now, mp, mn);
}

int
mtasts_store_get(mtasts_store *s, const char *domain, size_t domain_len,
                 int64_t now, unsigned flags, const uint8_t **ret_entry,
                 size_t *ret_len)
{
    char key[ST_KEY_MAX];
    const uint8_t *mp;
    size_t key_len = 0, mn;
    int rc, found = 0;

    if (ret_entry != NULL)
        *ret_entry = NULL;
    if (ret_len != NULL)
        *ret_len = 0;
    if (s == NULL || ret_entry == NULL || ret_len == NULL)
        return MTASTS_EINVAL;
    rc = norm_key(domain, domain_len, key, &key_len);
    if (rc != MTASTS_OK)
        return rc;
    tick(s, now);
    s->stats.gets++;
    sync_get_memory(s, key, key_len, now, &mp, &mn);
    if ((mp != NULL && !(flags & MTASTS_STORE_GET_F_BACKEND)) || s->async)
        return mem_answer(s, mp, mn, ret_entry, ret_len);
    rc = ready(s);
    if (rc < 0)
        return rc;
    if (rc == 0)
        return mem_answer(s, mp, mn, ret_entry, ret_len);
    rc = s->ops->get(s, key, key_len, now, &s->scratch, &found);
    if (rc == MTASTS_ENOMEM)
        return rc;
    if (rc == ST_EBACKEND) {
        st_mark_down(s);
        return mem_answer(s, mp, mn, ret_entry, ret_len);
    }
    if (rc == ST_EWRONGTYPE) {
        log_corrupt(s, key, rc, NULL);
        rc = backend_del(s, key, key_len, NULL, 0);
        if (rc != MTASTS_OK)
            return rc;
        return mem_answer(s, mp, mn, ret_entry, ret_len);
    }
    if (!found)
        return mem_answer(s, mp, mn, ret_entry, ret_len);
    return take_backend(s, key, key_len, now, mp, mn, s->scratch.p,
                        s->scratch.len, ret_entry, ret_len);
}

/* Put memory's copy of a newer entry from the backend (the winner of an
 * upsert), unless memory holds one at least as new. */
static int
take_winner(mtasts_store *s, const char *key, size_t key_len, int64_t now,
            const mtasts_entry *w, const uint8_t *b, size_t n)
{
    const uint8_t *mp = NULL;
    mtasts_entry *me = NULL;
    size_t mn = 0;
    int rc;

    (void)mtasts_cache_get(s->mem, key, key_len, now, &mp, &mn);
    if (mp != NULL) {
        rc = mtasts_entry_decode(s->ctx, mp, mn, &me, NULL);
        if (rc == MTASTS_ENOMEM)
            return rc;
        rc = rc == MTASTS_OK ? mtasts_store_entry_cmp(w, me) : 1;
        mtasts_entry_free(me);
        if (rc <= 0)
            return MTASTS_OK;
    }
    rc = mtasts_cache_put(s->mem, key, key_len, b, n,
                          mtasts_store_refresh_at(s->ctx, w, now), now);
    return rc == MTASTS_ENOMEM ? rc : MTASTS_OK;
}

/* The backend part of a synchronous put of e (bytes b). */
static int
sync_backend_put(mtasts_store *s, const char *key, size_t key_len,
                 const mtasts_entry *e, const uint8_t *b, size_t n, int64_t now)
{
    struct st_order o;
    mtasts_entry *w;
    int64_t horizon;
    int rc, kept, tries;

    horizon = mtasts_store_horizon(e, s->grace);
    if (horizon <= now)
        return MTASTS_OK; /* nothing to keep: memory only */
    rc = ready(s);
    if (rc <= 0)
        return rc;
    order_of(e, &o);
    for (tries = 0; tries < 2; tries++) {
        kept = 0;
        rc = s->ops->upsert(s, key, key_len, b, n, &o, horizon, now,
                            &s->scratch, &kept);
        if (rc == ST_EBACKEND) {
            st_mark_down(s);
            return MTASTS_OK;
        }
        if (rc != MTASTS_OK)
            return rc;
        if (!kept) {
            s->stats.backend_writes++;
            maybe_purge(s, now);
            return MTASTS_OK;
        }
        rc = decode_stored(s, key, key_len, s->scratch.p, s->scratch.len, &w);
        if (rc != MTASTS_OK)
            return rc;
        if (w != NULL) {
            s->stats.kept_newer++;
            rc = take_winner(s, key, key_len, now, w, s->scratch.p,
                             s->scratch.len);
            mtasts_entry_free(w);
            return rc != MTASTS_OK ? rc : MTASTS_NONE;
        }
        /* the newer bytes were corrupt and are deleted: write again */
        if (s->state != MTASTS_STORE_STATE_UP)
            return MTASTS_OK;
    }
    return MTASTS_OK;
}

static int
decode_put(mtasts_store *s, const uint8_t *entry, size_t len,
           mtasts_entry **ret_e, char *key, size_t *key_len)
{
    const char *dom;
    size_t dl;
    int rc;

    rc = mtasts_entry_decode(s->ctx, entry, len, ret_e, NULL);
    if (rc != MTASTS_OK)
        return rc;
    dom = mtasts_entry_domain(*ret_e, &dl);
    if (dl == 0 || dl >= ST_KEY_MAX) {
        mtasts_entry_free(*ret_e);
        *ret_e = NULL;
        return MTASTS_EINVAL;
    }
    memcpy(key, dom, dl);
    key[dl] = 0;
    *key_len = dl;
    return MTASTS_OK;
}

static int put_common(mtasts_store *s, const uint8_t *entry, size_t entry_len,
                      int64_t refresh_at, int64_t now, mtasts_store_done_cb cb,
                      void *arg);

int
mtasts_store_put(mtasts_store *s, const uint8_t *entry, size_t entry_len,
                 int64_t refresh_at, int64_t now)
{
    return put_common(s, entry, entry_len, refresh_at, now, NULL, NULL);
}

int
mtasts_store_put_async(mtasts_store *s, const uint8_t *entry, size_t entry_len,
                       int64_t refresh_at, int64_t now, mtasts_store_done_cb cb,
                       void *arg)
{
    return put_common(s, entry, entry_len, refresh_at, now, cb, arg);
}

/* Send an asynchronous put of e (bytes b); 0 when finished now (memory
 * only), MTASTS_EAGAIN when sent, MTASTS_ENOMEM. */
static int
async_backend_put(mtasts_store *s, const char *key, size_t key_len,
                  const mtasts_entry *e, const uint8_t *b, size_t n,
                  int64_t now, mtasts_store_done_cb cb, void *arg)
{
    struct st_req *r;
    int64_t horizon;
    int rc;

    horizon = mtasts_store_horizon(e, s->grace);
    if (horizon <= now)
        return MTASTS_OK;
    rc = ready(s);
    if (rc <= 0)
        return rc;
    r = req_new(s, ST_REQ_PUT, key, key_len, b, n, now);
    if (r == NULL)
        return MTASTS_ENOMEM;
    order_of(e, &r->order);
    r->horizon = horizon;
    r->done_cb = cb;
    r->arg = arg;
    rc = s->ops->send(s, r);
    if (rc != MTASTS_OK) {
        st_req_free(s, r);
        if (rc == ST_EBACKEND) {
            st_mark_down(s);
            return MTASTS_OK;
        }
        return rc;
    }
    return MTASTS_EAGAIN;
}

static int
put_common(mtasts_store *s, const uint8_t *entry, size_t entry_len,
           int64_t refresh_at, int64_t now, mtasts_store_done_cb cb, void *arg)
{
    char key[ST_KEY_MAX];
    mtasts_entry *e = NULL;
    size_t key_len = 0;
    int rc;

    if (s == NULL || entry == NULL)
        return MTASTS_EINVAL;
    tick(s, now);
    rc = decode_put(s, entry, entry_len, &e, key, &key_len);
    if (rc != MTASTS_OK)
        return rc;
    s->stats.puts++;
    rc = mtasts_cache_put(s->mem, key, key_len, entry, entry_len, refresh_at,
                          now);
    if (rc == MTASTS_ENOMEM) {
        mtasts_entry_free(e);
        return rc;
    }
    if (s->async)
        rc = async_backend_put(s, key, key_len, e, entry, entry_len, now, cb,
                               arg);
    else
        rc = sync_backend_put(s, key, key_len, e, entry, entry_len, now);
    mtasts_entry_free(e);
    return rc;
}

int
mtasts_store_delete(mtasts_store *s, const char *domain, size_t domain_len,
                    const uint8_t *expected, size_t expected_len, int64_t now)
{
    char key[ST_KEY_MAX];
    size_t key_len = 0;
    int rc;

    if (s == NULL || (expected == NULL && expected_len > 0))
        return MTASTS_EINVAL;
    rc = norm_key(domain, domain_len, key, &key_len);
    if (rc != MTASTS_OK)
        return rc;
    tick(s, now);
    s->stats.deletes++;
    (void)mtasts_cache_remove(s->mem, key, key_len);
    rc = ready(s);
    if (rc <= 0)
        return rc;
    return backend_del(s, key, key_len, expected, expected_len);
}

int
mtasts_store_apply(mtasts_store *s, const mtasts_lookup *lk, int64_t now)
{
    const char *name;
    mtasts_entry *e = NULL;
    char key[ST_KEY_MAX];
    size_t name_len = 0, key_len = 0, n = 0;
    int rc, action;
    const size_t plen = sizeof(TXT_PREFIX) - 1;

    if (s == NULL || lk == NULL)
        return MTASTS_EINVAL;
    tick(s, now);
    rc = mtasts_cache_apply(s->mem, lk, now);
    if (rc != MTASTS_OK && rc != MTASTS_ETOOBIG)
        return rc;
    action = mtasts_lookup_entry_action(lk);
    if (action == MTASTS_ENTRY_ACTION_UNCHANGED)
        return MTASTS_OK;
    name = mtasts_lookup_txt_name(lk, &name_len);
    if (name == NULL || name_len <= plen ||
        memcmp(name, TXT_PREFIX, plen) != 0 || name_len - plen >= ST_KEY_MAX)
        return MTASTS_EINVAL;
    key_len = name_len - plen;
    memcpy(key, name + plen, key_len);
    key[key_len] = 0;
    if (action == MTASTS_ENTRY_ACTION_DELETE) {
        s->stats.deletes++;
        rc = ready(s);
        if (rc <= 0)
            return rc;
        return backend_del(s, key, key_len, NULL, 0);
    }
    if (action != MTASTS_ENTRY_ACTION_STORE)
        return MTASTS_EINVAL;
    s->stats.puts++;
    rc = mtasts_lookup_entry(lk, NULL, 0, &n);
    if (rc != MTASTS_OK && rc != MTASTS_ERANGE)
        return rc;
    rc = buf_reserve(s, &s->work, n);
    if (rc != MTASTS_OK)
        return rc;
    rc = mtasts_lookup_entry(lk, s->work.p, s->work.cap, &n);
    if (rc != MTASTS_OK)
        return rc;
    s->work.len = n;
    rc = mtasts_entry_decode(s->ctx, s->work.p, n, &e, NULL);
    if (rc != MTASTS_OK)
        return rc;
    if (s->async) {
        rc = async_backend_put(s, key, key_len, e, s->work.p, n, now, NULL,
                               NULL);
        if (rc == MTASTS_EAGAIN)
            rc = MTASTS_OK;
    } else {
        rc = sync_backend_put(s, key, key_len, e, s->work.p, n, now);
    }
    mtasts_entry_free(e);
    return rc;
}

int
mtasts_store_purge(mtasts_store *s, int64_t now, size_t *ret_removed)
{
    size_t n = 0;
    int rc;

    if (ret_removed != NULL)
        *ret_removed = 0;
    if (s == NULL)
        return MTASTS_EINVAL;
    tick(s, now);
    if (s->ops == NULL || s->ops->purge == NULL || s->async)
        return MTASTS_OK;
    rc = ready(s);
    if (rc <= 0)
        return rc;
    s->last_purge = now;
    rc = s->ops->purge(s, now, &n);
    if (rc == ST_EBACKEND) {
        st_mark_down(s);
        return MTASTS_OK;
    }
    if (rc != MTASTS_OK)
        return rc;
    s->stats.purged += n;
    if (ret_removed != NULL)
        *ret_removed = n;
    return MTASTS_OK;
}

/* ------------------------------------------------------------------ */
/* Asynchronous gets and completions                                   */
/* ------------------------------------------------------------------ */

int
mtasts_store_get_async(mtasts_store *s, const char *domain, size_t domain_len,
                       int64_t now, unsigned flags, mtasts_store_get_cb cb,
                       void *arg, const uint8_t **ret_entry, size_t *ret_len)
{
    char key[ST_KEY_MAX];
    const uint8_t *mp;
    struct st_req *r;
    size_t key_len = 0, mn;
    int rc;

    if (s == NULL || cb == NULL || ret_entry == NULL || ret_len == NULL) {
        if (ret_entry != NULL)
            *ret_entry = NULL;
        if (ret_len != NULL)
            *ret_len = 0;
        return MTASTS_EINVAL;
    }
    if (!s->async)
        return mtasts_store_get(s, domain, domain_len, now, flags, ret_entry,
                                ret_len);
    *ret_entry = NULL;
    *ret_len = 0;
    rc = norm_key(domain, domain_len, key, &key_len);
    if (rc != MTASTS_OK)
        return rc;
    tick(s, now);
    s->stats.gets++;
    sync_get_memory(s, key, key_len, now, &mp, &mn);
    if (mp != NULL && !(flags & MTASTS_STORE_GET_F_BACKEND))
        return mem_answer(s, mp, mn, ret_entry, ret_len);
    rc = ready(s);
    if (rc < 0)
        return rc;
    if (rc == 0)
        return mem_answer(s, mp, mn, ret_entry, ret_len);
    r = req_new(s, ST_REQ_GET, key, key_len, NULL, 0, now);
    if (r == NULL)
        return MTASTS_ENOMEM;
    r->flags = flags;
    r->get_cb = cb;
    r->arg = arg;
    rc = s->ops->send(s, r);
    if (rc != MTASTS_OK) {
        st_req_free(s, r);
        if (rc != ST_EBACKEND)
            return rc;
        st_mark_down(s);
        /* memory is unchanged since the look above */
        return mem_answer(s, mp, mn, ret_entry, ret_len);
    }
    return MTASTS_EAGAIN;
}

void
st_get_finish(mtasts_store *s, struct st_req *r, int brc, const uint8_t *bytes,
              size_t len)
{
    mtasts_store_get_cb cb = r->get_cb;
    void *arg = r->arg;
    const uint8_t *mp = NULL, *ans = NULL;
    size_t mn = 0, ans_len = 0;
    int rc = MTASTS_OK;

    if (s->freeing) {
        st_req_free(s, r);
        cb(arg, MTASTS_ESTATE, NULL, 0);
        return;
    }
    sync_get_memory(s, r->key, r->key_len, r->now, &mp, &mn);
    if (brc == MTASTS_OK && bytes != NULL) {
        rc = take_backend(s, r->key, r->key_len, r->now, mp, mn, bytes, len,
                          &ans, &ans_len);
    } else {
        if (brc == ST_EWRONGTYPE) {
            log_corrupt(s, r->key, brc, NULL);
            rc = backend_del(s, r->key, r->key_len, NULL, 0);
        }
        (void)mem_answer(s, mp, mn, &ans, &ans_len);
    }
    st_req_free(s, r);
    if (rc != MTASTS_OK)
        cb(arg, rc, NULL, 0);
    else
        cb(arg, MTASTS_OK, ans, ans_len);
}

void
st_put_finish(mtasts_store *s, struct st_req *r, int brc, const uint8_t *bytes,
              size_t len)
{
    mtasts_store_done_cb cb = r->done_cb;
    void *arg = r->arg;
    mtasts_entry *w = NULL;
    int rc = MTASTS_OK;

    if (s->freeing) {
        st_req_free(s, r);
        if (cb != NULL)
            cb(arg, MTASTS_ESTATE);
        return;
    }
    if (brc == MTASTS_OK) {
        s->stats.backend_writes++;
    } else if (brc == MTASTS_NONE && bytes != NULL) {
        rc = decode_stored(s, r->key, r->key_len, bytes, len, &w);
        if (rc == MTASTS_OK && w != NULL) {
            s->stats.kept_newer++;
            rc = take_winner(s, r->key, r->key_len, r->now, w, bytes, len);
            mtasts_entry_free(w);
            if (rc == MTASTS_OK)
                rc = MTASTS_NONE;
        } else if (rc == MTASTS_OK && !r->retried &&
                   s->state == MTASTS_STORE_STATE_UP) {
            /* the newer bytes were corrupt (deleted): write again */
            r->retried = 1;
            if (s->ops->send(s, r) == MTASTS_OK)
                return;
        }
    }
    st_req_free(s, r);
    if (cb != NULL)
        cb(arg, rc);
}

/* ------------------------------------------------------------------ */
/* State                                                               */
/* ------------------------------------------------------------------ */

int
mtasts_store_state(const mtasts_store *s)
{
    return s != NULL ? s->state : MTASTS_STORE_STATE_MEMORY;
}

void
mtasts_store_get_stats(const mtasts_store *s, mtasts_store_stats *ret)
{
    if (ret == NULL)
        return;
    memset(ret, 0, sizeof(*ret));
    if (s == NULL)
        return;
    *ret = s->stats;
    ret->memory_entries = mtasts_cache_count(s->mem);
    ret->memory_bytes = mtasts_cache_bytes(s->mem);
    ret->state = s->state;
}

mtasts_cache *
mtasts_store_memory(mtasts_store *s)
{
    return s != NULL ? s->mem : NULL;
}
