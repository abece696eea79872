#include "aalloc.h"

#include <stdlib.h>
#include <string.h>

union ahdr {
    size_t size;
    long double a;
    void *p;
    long long ll;
};

static void *
a_alloc(void *user, size_t size)
{
    struct aalloc *a = user;
    union ahdr *h;

    a->requests++;
    if (a->fail_at >= 0 && (long)(a->requests - 1) == a->fail_at) {
        a->failed = 1;
        return NULL;
    }
    h = malloc(sizeof(*h) + size);
    if (h == NULL)
        return NULL;
    h->size = size;
    a->live_blocks++;
    a->live_bytes += size;
    return h + 1;
}

static void
a_free(void *user, void *p, size_t size)
{
    struct aalloc *a = user;
    union ahdr *h;

    if (p == NULL)
        return;
    h = (union ahdr *)p - 1;
    if (h->size != size)
        a->mismatches++;
    a->live_blocks--;
    a->live_bytes -= h->size;
    free(h);
}

static void *
a_realloc(void *user, void *p, size_t old_size, size_t new_size)
{
    void *n;

    if (p == NULL)
        return a_alloc(user, new_size);
    if (((union ahdr *)p - 1)->size != old_size)
        ((struct aalloc *)user)->mismatches++;
    n = a_alloc(user, new_size);
    if (n == NULL)
        return NULL;
    memcpy(n, p, old_size < new_size ? old_size : new_size);
    a_free(user, p, old_size);
    return n;
}

void
aalloc_fail_at(struct aalloc *a, long n)
{
    a->requests = 0;
    a->fail_at = n;
    a->failed = 0;
}

mtasts_ctx *
aalloc_ctx(struct aalloc *a)
{
    struct mtasts_alloc al;
    mtasts_ctx *ctx = NULL;

    memset(a, 0, sizeof(*a));
    a->fail_at = -1;
    al.version = MTASTS_ALLOC_VERSION;
    al.alloc = a_alloc;
    al.realloc = a_realloc;
    al.free = a_free;
    al.user = a;
    if (mtasts_ctx_new(&al, &ctx) != MTASTS_OK)
        return NULL;
    return ctx;
}
