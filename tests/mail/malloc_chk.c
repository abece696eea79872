#include "malloc_chk.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

union mhdr {
    size_t size;
    long double ld;
    void *p;
    long long ll;
};

static void *
m_alloc(void *user, size_t size)
{
    struct mchk *m = user;
    union mhdr *h;

    m->attempts++;
    if (m->fail_at >= 0 && (long)(m->attempts - 1) == m->fail_at) {
        m->failed = 1;
        return NULL;
    }
    if (size > (size_t)-1 - sizeof(*h))
        return NULL;
    h = malloc(sizeof(*h) + size);
    if (h == NULL)
        return NULL;
    h->size = size;
    m->live_blocks++;
    return h + 1;
}

static void
m_free(void *user, void *p, size_t size)
{
    struct mchk *m = user;
    union mhdr *h;

    if (p == NULL)
        return;
    h = (union mhdr *)p - 1;
    if (h->size != size)
        m->mismatches++;
    m->live_blocks--;
    free(h);
}

static void *
m_realloc(void *user, void *p, size_t old_size, size_t new_size)
{
    void *n;

    if (p == NULL)
        return m_alloc(user, new_size);
    if (((union mhdr *)p - 1)->size != old_size)
        ((struct mchk *)user)->mismatches++;
    n = m_alloc(user, new_size);
    if (n == NULL)
        return NULL;
    memcpy(n, p, old_size < new_size ? old_size : new_size);
    m_free(user, p, old_size);
    return n;
}

void
mchk_reset(struct mchk *m, long fail_at)
{
    m->attempts = 0;
    m->fail_at = fail_at;
    m->failed = 0;
}

mtasts_ctx *
mchk_ctx(struct mchk *m)
{
    struct mtasts_alloc a;
    mtasts_ctx *ctx = NULL;

    memset(m, 0, sizeof(*m));
    m->fail_at = -1;
    a.version = MTASTS_ALLOC_VERSION;
    a.alloc = m_alloc;
    a.realloc = m_realloc;
    a.free = m_free;
    a.user = m;
    if (mtasts_ctx_new(&a, &ctx) != MTASTS_OK)
        return NULL;
    return ctx;
}

unsigned char *
mchk_slurp(const char *path, size_t *ret_len)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf = NULL, *nb;
    size_t cap = 0, len = 0, n;

    if (f == NULL)
        return NULL;
    for (;;) {
        if (len == cap) {
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
