/*
 * mtasts-policyd: the cache, over the programs' store (store/store.h):
 * the core's entry bytes per policy domain in the library's bounded
 * in-memory cache, always in front, and optionally SQLite (one file in WAL
 * mode, kept across restarts) or Redis (shared by a fleet, on the
 * daemon's event loop, never blocking it). A backend that fails degrades
 * to memory with one logged alert (the store's rule) and never fails a
 * request. This is all the resolver knows about caching.
 *
 * Domains are normalised by the caller.
 */
#ifndef MTASTS_POLICYD_PDCACHE_H
#define MTASTS_POLICYD_PDCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "mtasts.h"
#include "pd.h"

struct pd_cache;

/* The counters of the stats query. */
struct pd_cache_stats {
    const char *type;  /* internal, sqlite, redis */
    const char *state; /* memory, up, down, connecting */
    size_t entries, bytes;
    uint64_t gets, memory_hits, backend_hits, misses, backend_writes,
        backend_errors, corrupt;
};

/* Open the cache of cfg (cache.type, cache.options) on base. A backend
 * that is down does not fail the open. 0 or -1 (logged). */
int pd_cache_open(mtasts_ctx *ctx, struct event_base *base,
                  const struct pd_config *cfg, int64_t now,
                  struct pd_cache **ret);
void pd_cache_free(struct pd_cache *c);

/* The entry of domain: 0 when answered now (*ret is NULL on a miss;
 * borrowed until the next call on the cache), 1 when cb(arg, status,
 * entry, len) will be called from the event loop (status 0, entry NULL
 * on a miss; MTASTS_ESTATE when the cache is being freed; the bytes are
 * borrowed for the call), -1 on failure (a miss for the caller). The
 * backend is asked even when memory holds the domain, so that a fleet
 * member sees what another fetched. */
typedef void (*pd_cache_get_cb)(void *arg, int status, const uint8_t *entry,
                                size_t len);
int pd_cache_get(struct pd_cache *c, const char *domain, size_t len,
                 int64_t now, pd_cache_get_cb cb, void *arg,
                 const uint8_t **ret, size_t *ret_len);

/* What a finished lookup says about its entry. 0 or -1. */
int pd_cache_apply(struct pd_cache *c, const mtasts_lookup *lookup,
                   int64_t now);

/* The planner (mtasts_cache_next_refresh() on the memory in front): 0
 * found (dst, *ret_due), 1 none, -1 error. */
int pd_cache_next_refresh(struct pd_cache *c, int64_t now, int64_t used_within,
                          int64_t jitter, char *dst, size_t dst_len,
                          int64_t *ret_due);

/* Offer domain to the planner again at until, not before, keeping its
 * last use at used_at (a refresh in flight is not offered twice, and a
 * refresh is not a use). Memory only. 0 or -1. */
int pd_cache_postpone(struct pd_cache *c, const char *domain, size_t len,
                      int64_t until, int64_t used_at);

/* Remove what was not used since now - unused_for (memory), and backend
 * rows past their horizon; how many. */
size_t pd_cache_gc(struct pd_cache *c, int64_t now, int64_t unused_for);

void pd_cache_stats(const struct pd_cache *c, struct pd_cache_stats *ret);

#endif
