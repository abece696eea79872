/*
 * Byte buffers returned by the library (mtasts_buf): one allocation holding
 * the header, the data and a trailing NUL that is not counted; the output
 * builder that grows one (struct mt_grow). Also the parsers' growing arrays
 * (struct mt_vec).
 */
#include "internal.h"

struct mtasts_buf {
    mtasts_ctx *ctx;
    size_t len; /* bytes of data */
    size_t cap; /* bytes of data the allocation holds, NUL excluded */
    uint8_t data[];
};

static int
buf_size(size_t cap, size_t *ret)
{
    return mt_size_muladd(cap, 1, sizeof(struct mtasts_buf) + 1, ret);
}

/* A buffer with room for cap bytes, length 0. NULL when out of memory or
 * when the size overflows. */
mtasts_buf *
mt_buf_new(mtasts_ctx *ctx, size_t cap)
{
    mtasts_buf *b;
    size_t size;

    if (!buf_size(cap, &size))
        return NULL;
    b = mt_alloc(ctx, size);
    if (b == NULL)
        return NULL;
    b->ctx = ctx;
    b->len = 0;
    b->cap = cap;
    b->data[0] = 0;
    return b;
}

/* Change the room to exactly cap bytes (cap >= length), keeping the data.
 * On failure *pb is unchanged and MTASTS_ENOMEM is returned. */
int
mt_buf_reserve(mtasts_buf **pb, size_t cap)
{
    mtasts_buf *b = *pb, *nb;
    size_t old_size, size;

    if (cap == b->cap)
        return MTASTS_OK;
    if (!buf_size(cap, &size))
        return MTASTS_ENOMEM;
    (void)buf_size(b->cap, &old_size);
    nb = mt_realloc(b->ctx, b, old_size, size);
    if (nb == NULL)
        return MTASTS_ENOMEM;
    nb->cap = cap;
    *pb = nb;
    return MTASTS_OK;
}

uint8_t *
mt_buf_bytes(mtasts_buf *b)
{
    return b->data;
}

size_t
mt_buf_cap(const mtasts_buf *b)
{
    return b->cap;
}

/* Set the length (<= cap) and write the terminating NUL. */
void
mt_buf_set_len(mtasts_buf *b, size_t len)
{
    b->len = len;
    b->data[len] = 0;
}

/* Set the length (<= cap), write the NUL and give back unused room:
 * 0, or MTASTS_ENOMEM when the shrink failed (*pb unchanged and still
 * owned by the caller), so that every failed allocation is reported as
 * MTASTS_ENOMEM as the OOM sweeps expect. */
int
mt_buf_finish(mtasts_buf **pb, size_t len)
{
    mt_buf_set_len(*pb, len);
    if ((*pb)->cap > len)
        return mt_buf_reserve(pb, len);
    return MTASTS_OK;
}

const uint8_t *
mtasts_buf_data(const mtasts_buf *buf, size_t *ret_len)
{
    if (buf == NULL) {
        if (ret_len != NULL)
            *ret_len = 0;
        return NULL;
    }
    if (ret_len != NULL)
        *ret_len = buf->len;
    return buf->data;
}

void
mtasts_buf_free(mtasts_buf *buf)
{
    size_t size;

    if (buf == NULL)
        return;
    (void)buf_size(buf->cap, &size);
    mt_free(buf->ctx, buf, size);
}

int
mt_grow_init(struct mt_grow *g, mtasts_ctx *ctx, size_t cap)
{
    memset(g, 0, sizeof(*g));
    g->buf = mt_buf_new(ctx, cap);
    if (g->buf == NULL)
        return MTASTS_ENOMEM;
    g->d = mt_buf_bytes(g->buf);
    g->cap = cap;
    return MTASTS_OK;
}

int
mt_grow_more(struct mt_grow *g, size_t n)
{
    size_t cap;

    cap = g->cap;
    while (cap - g->len < n) {
        if (cap > SIZE_MAX / 2) {
            g->oom = 1;
            return -1;
        }
        cap *= 2;
    }
    if (mt_buf_reserve(&g->buf, cap) != MTASTS_OK) {
        g->oom = 1;
        return -1;
    }
    g->d = mt_buf_bytes(g->buf);
    g->cap = cap;
    return 0;
}

void
mt_grow_abort(struct mt_grow *g)
{
    mtasts_buf_free(g->buf);
    g->buf = NULL;
}

int
mt_grow_finish(struct mt_grow *g, mtasts_buf **ret)
{
    if (g->oom) {
        mt_grow_abort(g);
        return MTASTS_ENOMEM;
    }
    if (mt_buf_finish(&g->buf, g->len) != MTASTS_OK) {
        mt_grow_abort(g);
        return MTASTS_ENOMEM;
    }
    *ret = g->buf;
    g->buf = NULL;
    return MTASTS_OK;
}

/* mt_vec_push() when the array is full: double it, on the heap. */
void *
mt_vec_grow(struct mt_vec *a)
{
    size_t ncap = a->cap > 0 ? 2 * a->cap : 8;
    void *nv;

    if (ncap > SIZE_MAX / a->size)
        return NULL;
    if (a->heap) {
        nv = mt_realloc(a->ctx, a->v, a->cap * a->size, ncap * a->size);
    } else {
        nv = mt_alloc(a->ctx, ncap * a->size);
        if (nv != NULL && a->n > 0)
            memcpy(nv, a->v, a->n * a->size);
    }
    if (nv == NULL)
        return NULL;
    a->v = nv;
    a->cap = ncap;
    a->heap = 1;
    return (char *)a->v + a->n++ * a->size;
}
