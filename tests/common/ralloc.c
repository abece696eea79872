#include "ralloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

union hdr {
    size_t size;
    long double a;
    void *p;
    long long ll;
};

static void *
r_alloc(void *user, size_t size)
{
    struct ralloc *r = user;
    union hdr *h;

    r->attempts++;
    if (r->fail_at >= 0 && (long)(r->attempts - 1) == r->fail_at) {
        r->failed = 1;
        return NULL;
    }
    if (size > (size_t)-1 - sizeof(*h))
        return NULL;
    h = malloc(sizeof(*h) + size);
    if (h == NULL)
        return NULL;
    h->size = size;
    r->live_blocks++;
    r->live_bytes += size;
    if (r->live_bytes > r->peak_bytes)
        r->peak_bytes = r->live_bytes;
    return h + 1;
}

static void
r_free(void *user, void *p, size_t size)
{
    struct ralloc *r = user;
    union hdr *h;

    if (p == NULL)
        return;
    h = (union hdr *)p - 1;
    if (h->size != size)
        r->mismatches++;
    r->live_blocks--;
    r->live_bytes -= h->size;
    free(h);
}

static void *
r_realloc(void *user, void *p, size_t old_size, size_t new_size)
{
    struct ralloc *r = user;
    void *n;

    if (p == NULL)
        return r_alloc(user, new_size);
    if (((union hdr *)p - 1)->size != old_size)
        r->mismatches++;
    n = r_alloc(user, new_size);
    if (n == NULL)
        return NULL;
    memcpy(n, p, old_size < new_size ? old_size : new_size);
    r_free(user, p, old_size);
    return n;
}

void
ralloc_reset(struct ralloc *r, long fail_at)
{
    r->attempts = 0;
    r->fail_at = fail_at;
    r->failed = 0;
    r->peak_bytes = r->live_bytes;
}

mtasts_ctx *
ralloc_ctx(struct ralloc *r)
{
    struct mtasts_alloc a;
    mtasts_ctx *ctx = NULL;

    memset(r, 0, sizeof(*r));
    r->fail_at = -1;
    a.version = MTASTS_ALLOC_VERSION;
    a.alloc = r_alloc;
    a.realloc = r_realloc;
    a.free = r_free;
    a.user = r;
    if (mtasts_ctx_new(&a, &ctx) != MTASTS_OK)
        return NULL;
    return ctx;
}

unsigned char *
ralloc_slurp(const char *path, size_t *ret_len)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf = NULL;
    size_t cap = 0, len = 0, n;

    if (f == NULL)
        return NULL;
    for (;;) {
        if (len == cap) {
            unsigned char *nb;
            cap = cap ? cap * 2 : 4096;
            nb = realloc(buf, cap + 1);
            if (nb == NULL) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = nb;
        }
        n = fread(buf + len, 1, cap - len, f);
        if (n == 0)
            break;
        len += n;
    }
    fclose(f);
    buf[len] = 0;
    *ret_len = len;
    return buf;
}
