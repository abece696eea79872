/*
 * The one test harness of the libmtasts suites: cmocka boilerplate, a
 * counting allocator that checks the sizes passed back to it and can fail
 * the n-th allocation, an OOM-sweep helper, guarded input buffers and a
 * file loader.
 */
#ifndef MTASTS_TEST_HARNESS_H
#define MTASTS_TEST_HARNESS_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "mtasts.h"

/* A string literal as (pointer, length) arguments. */
#define S(lit) (lit), (sizeof(lit) - 1)

/* ------------------------------------------------------------------ */
/* Counting allocator                                                  */
/* ------------------------------------------------------------------ */

/*
 * Every block is exactly the requested size (so ASan and valgrind see
 * every overrun), filled with 0xA5 (the library must not rely on zeroed
 * memory), and tracked in a side table with its size; realloc always
 * moves the block, so stale pointers show up.
 */

/* Forget every counter, stop failing allocations. Live allocations left
 * over from an earlier test are reported as errors and released. */
void harness_reset(void);

/* Fail only the n-th allocation attempt (0-based) counted from this call;
 * -1 = never. Resets the attempt and failure counters and the peak. */
void harness_fail_at(long n);

/* Fail every allocation attempt from the n-th (0-based) on; -1 = never. */
void harness_fail_from(long n);

/* Stop failing allocations, keeping the counters (so harness_failures()
 * still tells whether the call just made saw a failed attempt). */
void harness_disarm(void);

/* Live allocations (allocated and not yet freed). */
size_t harness_leaks(void);
/* Bytes in live allocations. */
size_t harness_live_bytes(void);
/* Largest live byte count since the last reset/fail_*. */
size_t harness_peak_bytes(void);
/* Largest single request since the last reset/fail_*. */
size_t harness_largest(void);
/* Allocation attempts (alloc and realloc) since the last reset/fail_*. */
size_t harness_attempts(void);
/* Attempts that the harness made fail since the last reset/fail_*. */
size_t harness_failures(void);
/* Allocator contract violations seen: size passed to free/realloc that
 * differs from the allocated size, unknown pointers, zero-size requests,
 * a wrong user pointer. */
size_t harness_errors(void);
/* Forget the violations seen so far (after reporting them). */
void harness_clear_errors(void);

/* The counting allocator (version MTASTS_ALLOC_VERSION). */
const struct mtasts_alloc *harness_alloc(void);
/* A copy of it; with_realloc 0 leaves realloc NULL. */
struct mtasts_alloc harness_table(int with_realloc);

/* A context that uses the counting allocator (asserts on failure). */
mtasts_ctx *harness_ctx_new(void);
/* Reset the allocator (harness_reset) and make a context on it; NULL on
 * failure, no assertion (for setups and plain programs). */
mtasts_ctx *harness_ctx_try(void);
/* Free ctx and assert no leak and no allocator error. */
void harness_ctx_free(mtasts_ctx *ctx);

/* cmocka fixtures: reset the allocator and put a counting context in
 * *state; teardown frees it and asserts no leak and no allocator error. */
int harness_setup(void **state);
int harness_teardown(void **state);

/* Assert no leak and no allocator error right now. */
void harness_assert_clean(void);

/* ------------------------------------------------------------------ */
/* OOM sweep                                                           */
/* ------------------------------------------------------------------ */

/* One run of the operation under test. It returns the operation's
 * status; on MTASTS_OK it checks and releases what it made (after
 * harness_disarm() if the checks allocate), otherwise it asserts that
 * nothing was handed out. */
typedef int (*harness_op)(void *arg);

#define HARNESS_SWEEP_AT   1u /* fail only the n-th attempt */
#define HARNESS_SWEEP_FROM 2u /* fail every attempt from the n-th on */
#define HARNESS_SWEEP_BOTH (HARNESS_SWEEP_AT | HARNESS_SWEEP_FROM)
/* A run that saw a failed attempt may still return MTASTS_OK (a failed
 * shrink, an optional cache): accepted, and what it made released. */
#define HARNESS_SWEEP_OK_ON_FAIL 4u

/*
 * For n = 0, 1, ...: make allocation n fail (and, with SWEEP_FROM, every
 * later one), run op. While an attempt failed, op must return
 * MTASTS_ENOMEM, and live blocks and bytes must be what they were before
 * the run, with no allocator error; the first run with no failed attempt
 * must return MTASTS_OK and ends the sweep. Asserts that at least one
 * attempt was swept and that the sweep ends. Returns the failing steps.
 */
size_t harness_oom_sweep(const char *name, harness_op op, void *arg,
                         unsigned flags);

/* ------------------------------------------------------------------ */
/* Input buffers                                                       */
/* ------------------------------------------------------------------ */

/*
 * Copy len bytes into a buffer whose byte at index len lies in an
 * inaccessible page, so any read past the end crashes even without a
 * sanitizer. No NUL terminator. Release with harness_unguard().
 */
char *harness_guard(const void *src, size_t len);
void harness_unguard(char *buf, size_t len);

/* Copy into a malloc'd block of exactly len bytes (no NUL), for ASan and
 * valgrind. Release with free(). */
char *harness_exact(const void *src, size_t len);

/* ------------------------------------------------------------------ */
/* Files                                                               */
/* ------------------------------------------------------------------ */

/*
 * Load a whole file. Returns a malloc'd block of exactly *ret_len bytes
 * (no NUL, so ASan sees overreads; at least 1 byte is allocated), or NULL
 * when the file cannot be read. Release with free().
 */
void *harness_load(const char *path, size_t *ret_len);

/* As harness_load(), relative to the source root (corpus/..., doc/...),
 * which holds every file the tests read. */
void *harness_load_src(const char *relpath, size_t *ret_len);

#endif
