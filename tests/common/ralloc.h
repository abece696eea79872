/*
 * Counting and failing allocator of the test suites (report, mail, agg):
 * every block is tracked with its size (the size given to free and
 * realloc must match), live and peak bytes are counted, and the n-th
 * attempt can be made to fail.
 */
#ifndef RALLOC_H
#define RALLOC_H

#include <stddef.h>

#include "mtasts.h"

struct ralloc {
    size_t live_blocks, live_bytes, peak_bytes;
    size_t attempts;   /* alloc and realloc calls */
    long fail_at;      /* attempt number that fails, -1 never */
    int failed;        /* an attempt failed */
    size_t mismatches; /* free/realloc with a wrong size or pointer */
};

/* A context using r (reset to "never fail"). */
mtasts_ctx *ralloc_ctx(struct ralloc *r);
void ralloc_reset(struct ralloc *r, long fail_at);
/* Read a whole file; NULL when it cannot be read. free() the result. */
unsigned char *ralloc_slurp(const char *path, size_t *ret_len);

#endif
