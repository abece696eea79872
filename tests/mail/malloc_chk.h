/*
 * Checking allocator of the mail suites: blocks are tracked with their
 * size (free and realloc must be given the same size), live blocks are
 * counted, and the n-th allocation attempt can be made to fail.
 */
#ifndef MAIL_MALLOC_CHK_H
#define MAIL_MALLOC_CHK_H

#include <stddef.h>

#include "mtasts.h"

struct mchk {
    size_t live_blocks;
    size_t attempts;   /* alloc and realloc calls since the last reset */
    long fail_at;      /* the attempt (0-based) that fails, -1 never */
    int failed;        /* an attempt failed */
    size_t mismatches; /* free or realloc with a wrong size */
};

/* A context allocating through m (never failing until mchk_reset). */
mtasts_ctx *mchk_ctx(struct mchk *m);
void mchk_reset(struct mchk *m, long fail_at);
/* Read a whole file (NUL added, not counted); NULL on error. free() it. */
unsigned char *mchk_slurp(const char *path, size_t *ret_len);

#endif
