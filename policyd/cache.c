/*
 * mtasts-policyd: the cache (pdcache.h) over the programs' store
 * (store/store.h, store/README.md): memory in front, SQLite or Redis
 * behind, Redis asynchronous on the daemon's event_base.
 */
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "pdcache.h"
#include "store.h"

struct pd_cache {
    mtasts_store *st;
    int backend;
    char *redis_ip;
};

static void
store_log(void *arg, int level, int alert, const char *msg)
{
    struct pd_ll l;
    size_t n = strlen(msg);

    (void)arg;
    if (strncmp(msg, "store ", 6) == 0) {
        msg += 6;
        n -= 6;
    }
    pd_ll_begin(&l, alert && level > PD_LOG_WARNING ? PD_LOG_WARNING : level,
                "store");
    pd_ll_raw(&l, msg, n);
    if (alert)
        pd_ll_int(&l, "alert", 1);
    pd_ll_end(&l);
}

/* The store wants an address (a name is resolved, blocking, at each
 * connection): a name in the configuration is resolved once, here. */
static char *
numeric_host(const char *host)
{
    struct addrinfo hints, *res = NULL;
    char buf[64];
    int rc;

    memset(&hints, 0, sizeof(hints));
    hints.ai_socktype = SOCK_STREAM;
    rc = getaddrinfo(host, NULL, &hints, &res);
    if (rc != 0 || res == NULL) {
        pd_log_msg(PD_LOG_ERR, "cache", "redis host %s: %s", host,
                   gai_strerror(rc));
        return NULL;
    }
    rc = getnameinfo(res->ai_addr, res->ai_addrlen, buf, sizeof(buf), NULL, 0,
                     NI_NUMERICHOST);
    freeaddrinfo(res);
    return rc == 0 ? strdup(buf) : NULL;
}

int
pd_cache_open(mtasts_ctx *ctx, struct event_base *base,
              const struct pd_config *cfg, int64_t now, struct pd_cache **ret)
{
    struct pd_cache *c = calloc(1, sizeof(*c));
    mtasts_store_config sc;
    size_t bytes;
    int rc;

    *ret = NULL;
    if (c == NULL)
        return -1;
    mtasts_store_config_init(&sc);
    sc.memory_entries = cfg->cache_size;
    bytes = cfg->cache_size * 2048;
    sc.memory_bytes = bytes < ((size_t)1 << 20) ? (size_t)1 << 20 : bytes;
    if (cfg->store_grace >= 0)
        sc.grace = (int64_t)cfg->store_grace;
    sc.log = store_log;
    switch (cfg->cache_type) {
    case PD_CACHE_SQLITE:
        c->backend = MTASTS_STORE_SQLITE;
        sc.sqlite_path = cfg->sqlite_path;
        if (cfg->sqlite_timeout_ms > 0)
            sc.sqlite_busy_timeout_ms = cfg->sqlite_timeout_ms;
        break;
    case PD_CACHE_REDIS:
        c->backend = MTASTS_STORE_REDIS;
        sc.event_base = base;
        if (cfg->redis_unix != NULL) {
            sc.redis_unix_path = cfg->redis_unix;
        } else if (cfg->redis_host != NULL) {
            c->redis_ip = numeric_host(cfg->redis_host);
            if (c->redis_ip == NULL)
                goto fail;
            sc.redis_host = c->redis_ip;
        }
        sc.redis_port = cfg->redis_port;
        sc.redis_password = cfg->redis_password;
        sc.redis_db = cfg->redis_db;
        if (cfg->redis_prefix != NULL)
            sc.redis_prefix = cfg->redis_prefix;
        if (cfg->redis_connect_ms > 0)
            sc.redis_connect_timeout_ms = cfg->redis_connect_ms;
        if (cfg->redis_command_ms > 0)
            sc.redis_command_timeout_ms = cfg->redis_command_ms;
        break;
    default:
        c->backend = MTASTS_STORE_MEMORY;
        break;
    }
    sc.backend = c->backend;
    if (!mtasts_store_backend_built(c->backend)) {
        pd_log_msg(PD_LOG_ERR, "cache",
                   "cache type %s: not built in this mtasts-policyd",
                   mtasts_store_backend_name(c->backend));
        goto fail;
    }
    rc = mtasts_store_open(ctx, &sc, now, &c->st);
    if (rc != 0) {
        pd_log_msg(PD_LOG_ERR, "cache", "cannot open the %s cache: %s",
                   mtasts_store_backend_name(c->backend), mtasts_strerror(rc));
        goto fail;
    }
    *ret = c;
    return 0;
fail:
    free(c->redis_ip);
    free(c);
    return -1;
}

void
pd_cache_free(struct pd_cache *c)
{
    if (c == NULL)
        return;
    mtasts_store_free(c->st);
    free(c->redis_ip);
    free(c);
}

int
pd_cache_get(struct pd_cache *c, const char *domain, size_t len, int64_t now,
             pd_cache_get_cb cb, void *arg, const uint8_t **ret,
             size_t *ret_len)
{
    unsigned flags =
        c->backend != MTASTS_STORE_MEMORY ? MTASTS_STORE_GET_F_BACKEND : 0;
    int rc = mtasts_store_get_async(c->st, domain, len, now, flags, cb, arg,
                                    ret, ret_len);

    if (rc == MTASTS_EAGAIN)
        return 1;
    if (rc != 0) {
        *ret = NULL;
        *ret_len = 0;
        return -1;
    }
    return 0;
}

int
pd_cache_apply(struct pd_cache *c, const mtasts_lookup *lookup, int64_t now)
{
    int rc = mtasts_store_apply(c->st, lookup, now);

    /* MTASTS_NONE: a newer entry from elsewhere was kept, and memory took
     * it: not a failure */
    return rc == 0 || rc == MTASTS_NONE ? 0 : -1;
}

int
pd_cache_next_refresh(struct pd_cache *c, int64_t now, int64_t used_within,
                      int64_t jitter, char *dst, size_t dst_len,
                      int64_t *ret_due)
{
    size_t needed = 0;
    int rc =
        mtasts_cache_next_refresh(mtasts_store_memory(c->st), now, used_within,
                                  jitter, dst, dst_len, &needed, ret_due);

    if (rc == MTASTS_NONE)
        return 1;
    return rc == 0 ? 0 : -1;
}

int
pd_cache_postpone(struct pd_cache *c, const char *domain, size_t len,
                  int64_t until, int64_t used_at)
{
    mtasts_cache *m = mtasts_store_memory(c->st);
    const uint8_t *e = NULL;
    size_t n = 0;
    uint8_t *copy;
    int rc;

    /* get() marks the entry used at its time argument: the entry's last
     * use is given back, so a refresh does not count as a use */
    if (mtasts_cache_get(m, domain, len, used_at, &e, &n) != 0)
        return -1;
    if (e == NULL)
        return 0; /* gone meanwhile: nothing to offer */
    copy = malloc(n ? n : 1);
    if (copy == NULL)
        return -1;
    memcpy(copy, e, n);
    rc = mtasts_cache_put(m, domain, len, copy, n, until, used_at);
    free(copy);
    return rc == 0 ? 0 : -1;
}

size_t
pd_cache_gc(struct pd_cache *c, int64_t now, int64_t unused_for)
{
    size_t n = mtasts_cache_gc(mtasts_store_memory(c->st), now, unused_for);
    size_t purged = 0;

    if (mtasts_store_purge(c->st, now, &purged) == 0)
        n += purged;
    return n;
}

void
pd_cache_stats(const struct pd_cache *c, struct pd_cache_stats *ret)
{
    mtasts_store_stats s;
    static const char *const states[] = {"memory", "up", "down", "connecting"};

    mtasts_store_get_stats(c->st, &s);
    ret->type = c->backend == MTASTS_STORE_SQLITE  ? "sqlite"
                : c->backend == MTASTS_STORE_REDIS ? "redis"
                                                   : "internal";
    ret->state = s.state >= 0 && s.state < 4 ? states[s.state] : "unknown";
    ret->entries = s.memory_entries;
    ret->bytes = s.memory_bytes;
    ret->gets = s.gets;
    ret->memory_hits = s.memory_hits;
    ret->backend_hits = s.backend_hits;
    ret->misses = s.misses;
    ret->backend_writes = s.backend_writes;
    ret->backend_errors = s.backend_errors;
    ret->corrupt = s.corrupt;
}
