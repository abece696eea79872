/*
 * Shared cmocka harness for the libmtasts unit suites: include boilerplate,
 * a tracking and failing allocator, guarded input buffers and a fixture
 * loader.
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
/* Tracking allocator                                                  */
/* ------------------------------------------------------------------ */

/* Forget every counter, stop failing allocations. Live allocations left
 * over from an earlier test are reported as errors. */
void harness_reset(void);

/* Fail only the n-th allocation attempt (0-based) counted from this call;
 * -1 = never. Resets the attempt and failure counters. */
void harness_fail_at(long n);

/* Fail every allocation attempt from the n-th (0-based) on; -1 = never. */
void harness_fail_from(long n);

/* Live allocations (allocated and not yet freed). */
size_t harness_leaks(void);
/* Bytes in live allocations. */
size_t harness_live_bytes(void);
/* Allocation attempts (alloc and realloc) since the last reset/fail_*. */
size_t harness_attempts(void);
/* Attempts that the harness made fail since the last reset/fail_*. */
size_t harness_failures(void);
/* Allocator contract violations seen: size passed to free/realloc that
 * differs from the allocated size, unknown pointers, zero-size requests,
 * a wrong user pointer. */
size_t harness_errors(void);

/* The tracking allocator (version MTASTS_ALLOC_VERSION). */
const struct mtasts_alloc *harness_alloc(void);

/* A context that uses the tracking allocator (asserts on failure). */
mtasts_ctx *harness_ctx_new(void);

/* cmocka fixtures: reset the allocator and put a tracking context in
 * *state; teardown frees it and asserts no leak and no allocator error. */
int harness_setup(void **state);
int harness_teardown(void **state);

/* Assert no leak and no allocator error right now. */
void harness_assert_clean(void);

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
/* Fixtures                                                            */
/* ------------------------------------------------------------------ */

/*
 * Load a file relative to the source root (corpus/..., doc/...), which
 * holds every file the tests read. Returns a malloc'd block of exactly *ret_len
 * bytes (no NUL; at least 1 byte is allocated), or NULL when the file
 * cannot be read. Release with free().
 */
char *harness_load_src(const char *relpath, size_t *ret_len);

/* As harness_load_src(), relative to tests/unit/data. */
char *harness_load_data(const char *relpath, size_t *ret_len);

#endif
