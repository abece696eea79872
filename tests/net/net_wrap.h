/*
 * The counting allocator of libmtasts-net's allocation-failure sweeps
 * (tests/net/test_dns.c, tests/net/http/http_oom.c): a program linked
 * with -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=free gets
 * __wrap_* from net_wrap.c, which count every attempt, can fail the n-th
 * (or every one from the n-th on) and keep a table of the blocks they
 * handed out and that were not freed. The same functions can serve a
 * library's allocator hooks (c-ares, libcurl).
 */
#ifndef NET_WRAP_H
#define NET_WRAP_H

#include <stddef.h>

void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t m);
void *__wrap_realloc(void *p, size_t n);
void __wrap_free(void *p);

extern size_t net_wrap_live;     /* blocks allocated and not freed */
extern size_t net_wrap_attempts; /* attempts since net_wrap_arm() */
extern size_t net_wrap_failures; /* attempts made to fail since then */
/* nonzero: an attempt is neither counted nor failed (an allocator hook
 * outside the part of a run under test) */
extern int net_wrap_spare;

/* From now on fail attempt n (counting from 0), or with from every
 * attempt from n on; the counters start again. */
void net_wrap_arm(long n, int from);
/* No attempt fails any more (the counters keep their values). */
void net_wrap_disarm(void);

#endif
