/*
 * A tiny tracking allocator for the gzip suites: checks the sizes the
 * library passes back, counts live blocks and bytes, records the peak,
 * and can refuse allocation requests.
 */
#ifndef GZIP_TEST_GALLOC_H
#define GZIP_TEST_GALLOC_H

#include <stddef.h>

#include "mtasts.h"

/* Forget all counters; refuse nothing. */
void galloc_reset(void);
/* Refuse request n (0-based, counted from this call) only, or with
 * persistent set every request from n on; n < 0 refuses nothing. */
void galloc_fail(long n, int persistent);
/* Requests (alloc and realloc) since galloc_fail/galloc_reset. */
size_t galloc_requests(void);
/* Requests refused since galloc_fail/galloc_reset. */
size_t galloc_refused(void);
size_t galloc_live_blocks(void);
size_t galloc_live_bytes(void);
/* Largest live byte count seen since galloc_reset. */
size_t galloc_peak_bytes(void);
/* Largest single request since galloc_reset. */
size_t galloc_largest(void);
/* Contract violations: wrong size on free/realloc, unknown pointer, zero
 * size request. */
size_t galloc_errors(void);
/* Allocator table; with_realloc 0 leaves realloc NULL. */
struct mtasts_alloc galloc_table(int with_realloc);

#endif
