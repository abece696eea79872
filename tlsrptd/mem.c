/*
 * The allocator of tlsrptd's own blocks: the caller's struct mtasts_alloc
 * (the same one its mtasts_ctx uses), or malloc.
 */
#include <stdlib.h>
#include <string.h>

#include "td.h"

static void *
sys_alloc(void *user, size_t size)
{
    (void)user;
    return malloc(size);
}

static void *
sys_realloc(void *user, void *p, size_t old_size, size_t new_size)
{
    (void)user;
    (void)old_size;
    return realloc(p, new_size);
}

static void
sys_free(void *user, void *p, size_t size)
{
    (void)user;
    (void)size;
    free(p);
}

int
td_mem_init(struct td_mem *m, const struct mtasts_alloc *alloc)
{
    static const struct mtasts_alloc sys = {MTASTS_ALLOC_VERSION, sys_alloc,
                                            sys_realloc, sys_free, NULL};

    if (alloc == NULL)
        alloc = &sys;
    if (alloc->version != MTASTS_ALLOC_VERSION)
        return MTASTS_EVERSION;
    if (alloc->alloc == NULL || alloc->free == NULL)
        return MTASTS_EINVAL;
    m->a = *alloc;
    return MTASTS_OK;
}

void *
td_mem_alloc(const struct td_mem *m, size_t size)
{
    return size > 0 ? m->a.alloc(m->a.user, size) : NULL;
}

void
td_mem_free(const struct td_mem *m, void *p, size_t size)
{
    if (p != NULL)
        m->a.free(m->a.user, p, size);
}

int
td_mem_grow(const struct td_mem *m, void *parr, size_t *cap, size_t need,
            size_t sz)
{
    size_t ncap = *cap != 0 ? *cap : 8;
    void *old, *n;

    if (need <= *cap)
        return MTASTS_OK;
    while (ncap < need) {
        if (ncap > SIZE_MAX / 2 / sz)
            return MTASTS_ENOMEM;
        ncap *= 2;
    }
    if (ncap > SIZE_MAX / sz)
        return MTASTS_ENOMEM;
    memcpy(&old, parr, sizeof(old));
    if (old != NULL && m->a.realloc != NULL)
        n = m->a.realloc(m->a.user, old, *cap * sz, ncap * sz);
    else {
        n = m->a.alloc(m->a.user, ncap * sz);
        if (n != NULL && old != NULL) {
            memcpy(n, old, *cap * sz);
            m->a.free(m->a.user, old, *cap * sz);
        }
    }
    if (n == NULL)
        return MTASTS_ENOMEM;
    memcpy(parr, &n, sizeof(n));
    *cap = ncap;
    return MTASTS_OK;
}
