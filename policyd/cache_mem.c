/*
 * mtasts-policyd: the cache seam (pdcache.h) over the library's bounded
 * in-memory cache, mtasts_cache_new(3), and its refresh planner.
 */
#include <stdlib.h>
#include <string.h>

#include "pdcache.h"

static int
mem_get(void *self, const char *domain, size_t len, int64_t now,
        const uint8_t **ret, size_t *ret_len)
{
    return mtasts_cache_get(self, domain, len, now, ret, ret_len) == 0 ? 0 : -1;
}

static int
mem_apply(void *self, const mtasts_lookup *lookup, int64_t now)
{
    return mtasts_cache_apply(self, lookup, now) == 0 ? 0 : -1;
}

static int
mem_next_refresh(void *self, int64_t now, int64_t used_within, int64_t jitter,
                 char *dst, size_t dst_len, int64_t *ret_due)
{
    size_t needed = 0;
    int rc = mtasts_cache_next_refresh(self, now, used_within, jitter, dst,
                                       dst_len, &needed, ret_due);

    if (rc == MTASTS_NONE)
        return 1;
    return rc == 0 ? 0 : -1;
}

static int
mem_postpone(void *self, const char *domain, size_t len, int64_t until,
             int64_t used_at)
{
    const uint8_t *e = NULL;
    size_t n = 0;
    uint8_t *copy;
    int rc;

    /* get() marks the entry used at its time argument: the entry's last
     * use is given, so that a refresh is not counted as a use */
    if (mtasts_cache_get(self, domain, len, used_at, &e, &n) != 0)
        return -1;
    if (e == NULL)
        return 0; /* gone meanwhile: nothing to offer */
    copy = malloc(n ? n : 1);
    if (copy == NULL)
        return -1;
    memcpy(copy, e, n);
    rc = mtasts_cache_put(self, domain, len, copy, n, until, used_at);
    free(copy);
    return rc == 0 ? 0 : -1;
}

static size_t
mem_gc(void *self, int64_t now, int64_t unused_for)
{
    return mtasts_cache_gc(self, now, unused_for);
}

static size_t
mem_count(void *self)
{
    return mtasts_cache_count(self);
}

static size_t
mem_bytes(void *self)
{
    return mtasts_cache_bytes(self);
}

static void
mem_free(void *self)
{
    mtasts_cache_free(self);
}

static const struct pd_cache_ops mem_ops = {
    "internal", mem_get,   mem_apply, mem_next_refresh, mem_postpone,
    mem_gc,     mem_count, mem_bytes, mem_free,
};

int
pd_cache_mem_new(mtasts_ctx *ctx, size_t max_entries, size_t max_bytes,
                 struct pd_cache *ret)
{
    mtasts_cache *c = NULL;

    if (mtasts_cache_new(ctx, max_entries, max_bytes, &c) != 0)
        return -1;
    ret->ops = &mem_ops;
    ret->self = c;
    return 0;
}
