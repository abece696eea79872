/*
 * Counting and failing allocator for the aggregation suites: tracks every
 * block with its size (free and realloc must pass the right one), live
 * bytes, and can make the n-th request fail.
 */
#ifndef AALLOC_H
#define AALLOC_H

#include <stddef.h>

#include "mtasts.h"

struct aalloc {
    size_t live_blocks, live_bytes;
    size_t requests;   /* alloc and realloc calls */
    long fail_at;      /* request number that fails, -1 never */
    int failed;        /* a request failed */
    size_t mismatches; /* free/realloc with a wrong size */
};

/* A context using a (reset to "never fail"). NULL on failure. */
mtasts_ctx *aalloc_ctx(struct aalloc *a);
void aalloc_fail_at(struct aalloc *a, long n);

#endif
