/*
 * mtasts-policyd: the cache seam. The resolver keeps the entry bytes of
 * mtasts_lookup_entry() through this small interface, and nothing else
 * about the cache: the in-memory implementation (cache_mem.c, the
 * library's bounded mtasts_cache with its refresh planner) is used today;
 * the store layer (store/store.h: SQLite in WAL mode, Redis), with the
 * in-memory cache in front of it, plugs in here by filling one more
 * struct pd_cache_ops.
 *
 * Calls are synchronous and made from the event loop, so an
 * implementation must bound the time it blocks (a short timeout on a
 * remote store) and must never fail the mail flow: when its backend is
 * down, get() reports a miss, apply() reports -1 (logged with alert=1 by
 * the caller), and the in-memory front keeps answering.
 *
 * Domains are normalised (lower case, no trailing dot) by the caller.
 */
#ifndef MTASTS_POLICYD_PDCACHE_H
#define MTASTS_POLICYD_PDCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "mtasts.h"

struct pd_cache_ops {
    const char *name; /* "internal", "sqlite", "redis" */
    /* The entry bytes of domain, marked used at now; borrowed until the
     * next call on the cache. *ret is NULL on a miss. 0, or -1 when the
     * backend failed (a miss for the caller). */
    int (*get)(void *self, const char *domain, size_t len, int64_t now,
               const uint8_t **ret, size_t *ret_len);
    /* What a finished lookup says about its entry
     * (mtasts_cache_apply()). 0 or -1. */
    int (*apply)(void *self, const mtasts_lookup *lookup, int64_t now);
    /* The domain due first for a proactive refresh among those used
     * since now - used_within, its time moved earlier by a stable
     * per-domain jitter of up to jitter seconds
     * (mtasts_cache_next_refresh()). 0 (found: dst and *ret_due set), 1
     * (none), -1. */
    int (*next_refresh)(void *self, int64_t now, int64_t used_within,
                        int64_t jitter, char *dst, size_t dst_len,
                        int64_t *ret_due);
    /* Offer domain to the planner again at until, not before, keeping its
     * last use at used_at (a refresh in flight must not be offered twice,
     * and a refresh is not a use). 0 or -1. */
    int (*postpone)(void *self, const char *domain, size_t len, int64_t until,
                    int64_t used_at);
    /* Remove entries not used since now - unused_for; how many. */
    size_t (*gc)(void *self, int64_t now, int64_t unused_for);
    size_t (*count)(void *self);
    size_t (*bytes)(void *self);
    void (*free)(void *self);
};

struct pd_cache {
    const struct pd_cache_ops *ops;
    void *self;
};

/* The library's bounded in-memory cache: at most max_entries entries and
 * max_bytes bytes of entry data. 0 or -1. */
int pd_cache_mem_new(mtasts_ctx *ctx, size_t max_entries, size_t max_bytes,
                     struct pd_cache *ret);

#endif
