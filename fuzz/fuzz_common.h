/*
 * Helpers shared by the fuzz targets: an invariant check that aborts, and a
 * counting allocator that can refuse allocations.
 *
 * Everything here is static inline so each target stays a single
 * translation unit with only LLVMFuzzerTestOneInput exported.
 *
 * The allocator tracks every live block with its size, so it also checks
 * that the library passes the right old_size to realloc and the right size
 * to free (struct mtasts_alloc promises both), and that nothing leaks.
 */
#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mtasts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static inline void
fz_die(const char *file, int line, const char *what)
{
    fprintf(stderr, "%s:%d: invariant violated: %s\n", file, line, what);
    fflush(stderr);
    abort();
}

#define FZ_CHECK(cond)                         \
    do {                                       \
        if (!(cond))                           \
            fz_die(__FILE__, __LINE__, #cond); \
    } while (0)

/* Failure modes of the allocator. */
#define FZ_FAIL_NONE  0 /* never fail */
#define FZ_FAIL_ONE   1 /* fail only request number fail_at */
#define FZ_FAIL_AFTER 2 /* fail request fail_at and every later one */

struct fz_block {
    void *p;
    size_t n;
};

struct fz_alloc {
    struct fz_block *blk; /* live blocks (libc memory, not counted) */
    size_t nblk;
    size_t cap;
    size_t requests; /* alloc and realloc calls so far */
    size_t fail_at;
    int fail_mode;
    int failed; /* at least one request was refused */
};

static inline void
fz_alloc_init(struct fz_alloc *fa, int mode, size_t fail_at)
{
    memset(fa, 0, sizeof(*fa));
    fa->fail_mode = mode;
    fa->fail_at = fail_at;
}

static inline void
fz_alloc_fini(struct fz_alloc *fa)
{
    free(fa->blk);
    fa->blk = NULL;
    fa->nblk = fa->cap = 0;
}

/* Decide whether the current request fails. */
static inline int
fz_refuse(struct fz_alloc *fa)
{
    size_t k = fa->requests++;

    if ((fa->fail_mode == FZ_FAIL_ONE && k == fa->fail_at) ||
        (fa->fail_mode == FZ_FAIL_AFTER && k >= fa->fail_at)) {
        fa->failed = 1;
        return 1;
    }
    return 0;
}

static inline size_t
fz_find(const struct fz_alloc *fa, const void *p)
{
    size_t i;

    for (i = 0; i < fa->nblk; i++)
        if (fa->blk[i].p == p)
            return i;
    return (size_t)-1;
}

static inline void
fz_track(struct fz_alloc *fa, void *p, size_t n)
{
    if (fa->nblk == fa->cap) {
        size_t ncap = fa->cap != 0 ? fa->cap * 2 : 16;
        struct fz_block *nb = realloc(fa->blk, ncap * sizeof(*nb));
        if (nb == NULL)
            abort();
        fa->blk = nb;
        fa->cap = ncap;
    }
    fa->blk[fa->nblk].p = p;
    fa->blk[fa->nblk].n = n;
    fa->nblk++;
}

static inline void
fz_untrack(struct fz_alloc *fa, const void *p, size_t n)
{
    size_t i = fz_find(fa, p);

    FZ_CHECK(i != (size_t)-1);   /* freeing a block we never handed out */
    FZ_CHECK(fa->blk[i].n == n); /* wrong size passed back */
    fa->blk[i] = fa->blk[fa->nblk - 1];
    fa->nblk--;
}

static inline void *
fz_alloc_cb(void *user, size_t size)
{
    struct fz_alloc *fa = user;
    void *p;

    FZ_CHECK(size > 0);
    if (fz_refuse(fa))
        return NULL;
    p = malloc(size);
    if (p == NULL)
        abort();
    fz_track(fa, p, size);
    return p;
}

static inline void *
fz_realloc_cb(void *user, void *p, size_t old_size, size_t new_size)
{
    struct fz_alloc *fa = user;
    void *q;

    FZ_CHECK(new_size > 0);
    if (p == NULL)
        FZ_CHECK(old_size == 0);
    else
        FZ_CHECK(fz_find(fa, p) != (size_t)-1 &&
                 fa->blk[fz_find(fa, p)].n == old_size);
    if (fz_refuse(fa))
        return NULL;
    q = malloc(new_size);
    if (q == NULL)
        abort();
    if (p != NULL) {
        memcpy(q, p, old_size < new_size ? old_size : new_size);
        fz_untrack(fa, p, old_size);
        free(p);
    }
    fz_track(fa, q, new_size);
    return q;
}

static inline void
fz_free_cb(void *user, void *p, size_t size)
{
    struct fz_alloc *fa = user;

    if (p == NULL)
        return;
    fz_untrack(fa, p, size);
    free(p);
}

/*
 * Create a context on fa. Returns NULL only when the allocator refused the
 * context itself, after checking that this was reported as MTASTS_ENOMEM
 * and left nothing behind.
 */
static inline mtasts_ctx *
fz_ctx_new(struct fz_alloc *fa)
{
    struct mtasts_alloc a;
    mtasts_ctx *ctx = NULL;
    int rc;

    a.version = MTASTS_ALLOC_VERSION;
    a.alloc = fz_alloc_cb;
    a.realloc = fz_realloc_cb;
    a.free = fz_free_cb;
    a.user = fa;
    rc = mtasts_ctx_new(&a, &ctx);
    if (rc != MTASTS_OK) {
        FZ_CHECK(rc == MTASTS_ENOMEM && fa->failed);
        FZ_CHECK(ctx == NULL);
        FZ_CHECK(fa->nblk == 0);
        return NULL;
    }
    FZ_CHECK(ctx != NULL);
    return ctx;
}

/* Free the context and check that nothing is left. */
static inline void
fz_ctx_free(struct fz_alloc *fa, mtasts_ctx *ctx)
{
    mtasts_ctx_free(ctx);
    FZ_CHECK(fa->nblk == 0);
}

/*
 * The failing-allocator plan for one input: about one run in four fails
 * some allocation. The seed is the first byte of the input mixed with its
 * length, so seed files of different lengths exercise different plans.
 */
static inline int
fz_plan(const uint8_t *data, size_t size, size_t *ret_fail_at)
{
    unsigned s;

    if (size == 0)
        return FZ_FAIL_NONE;
    s = (unsigned)data[0] + (unsigned)(size & 0xff);
    if ((s & 3u) != 0)
        return FZ_FAIL_NONE;
    *ret_fail_at = (s >> 3) & 7u;
    return (s & 4u) != 0 ? FZ_FAIL_AFTER : FZ_FAIL_ONE;
}

/* An outcome under a failing allocator is acceptable when it equals the
 * normal one, or is MTASTS_ENOMEM after a refused allocation. */
#define FZ_CHECK_OOM_RC(rc, normal_rc, fa) \
    FZ_CHECK((rc) == (normal_rc) || ((rc) == MTASTS_ENOMEM && (fa)->failed))

/* Case-insensitive ASCII equality, no locale. */
static inline int
fz_caseeq(const char *a, size_t alen, const char *b, size_t blen)
{
    size_t i;

    if (alen != blen)
        return 0;
    for (i = 0; i < alen; i++) {
        unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];
        if (x >= 'A' && x <= 'Z')
            x = (unsigned char)(x + 32);
        if (y >= 'A' && y <= 'Z')
            y = (unsigned char)(y + 32);
        if (x != y)
            return 0;
    }
    return 1;
}

/* A borrowed string from a getter: non-NULL, NUL-terminated at len, no
 * NUL inside. */
static inline void
fz_check_cstr(const char *s, size_t len)
{
    FZ_CHECK(s != NULL);
    FZ_CHECK(s[len] == '\0');
    FZ_CHECK(memchr(s, '\0', len) == NULL);
}

/*
 * Check snprintf semantics of an output function fn(obj, dst, dst_len,
 * &needed) and return the full output (libc memory, NUL-terminated), its
 * length in *ret_len. Targets pass a small wrapper with this signature.
 */
static inline char *
fz_format(int (*fn)(const void *, char *, size_t, size_t *), const void *obj,
          size_t *ret_len)
{
    size_t need = (size_t)-1, n2 = 0, n3 = 0;
    char *full, *part;
    int rc;

    rc = fn(obj, NULL, 0, &need);
    FZ_CHECK(need != (size_t)-1);
    FZ_CHECK(rc == (need == 0 ? MTASTS_OK : MTASTS_ERANGE));
    full = malloc(need + 1);
    if (full == NULL)
        abort();
    memset(full, 'X', need + 1);
    rc = fn(obj, full, need + 1, &n2);
    FZ_CHECK(rc == MTASTS_OK);
    FZ_CHECK(n2 == need);
    FZ_CHECK(full[need] == '\0');
    FZ_CHECK(strlen(full) == need);
    if (need > 0) {
        /* one byte short: truncated, still NUL-terminated */
        part = malloc(need);
        if (part == NULL)
            abort();
        rc = fn(obj, part, need, &n3);
        FZ_CHECK(rc == MTASTS_ERANGE);
        FZ_CHECK(n3 == need);
        FZ_CHECK(part[need - 1] == '\0');
        FZ_CHECK(memcmp(part, full, need - 1) == 0);
        free(part);
    }
    *ret_len = need;
    return full;
}

#endif
