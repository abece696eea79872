/* Tracking allocator for the gzip suites (see galloc.h). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "galloc.h"

struct block {
    void *p;
    size_t n;
};

static struct block *blocks;
static size_t nblocks, cap_blocks;
static size_t live_bytes, peak_bytes, largest, requests, refused, errors;
static long fail_n = -1;
static int fail_persistent;

void
galloc_reset(void)
{
    peak_bytes = live_bytes;
    largest = 0;
    requests = refused = errors = 0;
    fail_n = -1;
}

void
galloc_fail(long n, int persistent)
{
    fail_n = n;
    fail_persistent = persistent;
    requests = refused = 0;
}

size_t
galloc_requests(void)
{
    return requests;
}

size_t
galloc_refused(void)
{
    return refused;
}

size_t
galloc_live_blocks(void)
{
    return nblocks;
}

size_t
galloc_live_bytes(void)
{
    return live_bytes;
}

size_t
galloc_peak_bytes(void)
{
    return peak_bytes;
}

size_t
galloc_largest(void)
{
    return largest;
}

size_t
galloc_errors(void)
{
    return errors;
}

static int
refuse(size_t size)
{
    long k = (long)requests++;

    if (size > largest)
        largest = size;
    if (fail_n >= 0 && (k == fail_n || (fail_persistent && k > fail_n))) {
        refused++;
        return 1;
    }
    return 0;
}

static size_t
find(const void *p)
{
    size_t i;

    for (i = nblocks; i-- > 0;)
        if (blocks[i].p == p)
            return i;
    return SIZE_MAX;
}

static void
track(void *p, size_t n)
{
    if (nblocks == cap_blocks) {
        cap_blocks = cap_blocks != 0 ? cap_blocks * 2 : 64;
        blocks = realloc(blocks, cap_blocks * sizeof(*blocks));
        if (blocks == NULL)
            abort();
    }
    blocks[nblocks].p = p;
    blocks[nblocks].n = n;
    nblocks++;
    live_bytes += n;
    if (live_bytes > peak_bytes)
        peak_bytes = live_bytes;
}

/* Forget p; 0 when p was live with size n. */
static int
untrack(const void *p, size_t n)
{
    size_t i = find(p);

    if (i == SIZE_MAX || blocks[i].n != n) {
        errors++;
        return -1;
    }
    live_bytes -= n;
    blocks[i] = blocks[--nblocks];
    return 0;
}

static void *
g_alloc(void *user, size_t size)
{
    void *p;

    (void)user;
    if (size == 0)
        errors++;
    if (refuse(size))
        return NULL;
    p = malloc(size != 0 ? size : 1);
    if (p == NULL)
        abort();
    track(p, size);
    return p;
}

static void *
g_realloc(void *user, void *p, size_t old_size, size_t new_size)
{
    void *q;

    (void)user;
    if (new_size == 0)
        errors++;
    if (p != NULL) {
        size_t i = find(p);

        if (i == SIZE_MAX || blocks[i].n != old_size)
            errors++;
    }
    if (refuse(new_size))
        return NULL;
    /* always move, so stale pointers show up under valgrind and ASan */
    q = malloc(new_size != 0 ? new_size : 1);
    if (q == NULL)
        abort();
    if (p != NULL) {
        memcpy(q, p, old_size < new_size ? old_size : new_size);
        (void)untrack(p, old_size);
        free(p);
    }
    track(q, new_size);
    return q;
}

static void
g_free(void *user, void *p, size_t size)
{
    (void)user;
    if (p == NULL)
        return;
    if (untrack(p, size) == 0)
        free(p);
}

struct mtasts_alloc
galloc_table(int with_realloc)
{
    struct mtasts_alloc a;

    a.version = MTASTS_ALLOC_VERSION;
    a.alloc = g_alloc;
    a.realloc = with_realloc ? g_realloc : NULL;
    a.free = g_free;
    a.user = NULL;
    return a;
}
