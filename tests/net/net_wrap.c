/* The counting allocator of the allocation-failure sweeps: net_wrap.h. */
#include <stdlib.h>

#include "net_wrap.h"

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t m);
void *__real_realloc(void *p, size_t n);
void __real_free(void *p);

#define TRACK_MAX 16384
static void *track[TRACK_MAX];
size_t net_wrap_live;
size_t net_wrap_attempts;
size_t net_wrap_failures;
int net_wrap_spare;
static long fail_n = -1;
static int fail_from;

static void
track_add(void *p)
{
    if (net_wrap_live == TRACK_MAX)
        abort(); /* far more than a test ever holds */
    track[net_wrap_live++] = p;
}

static void
track_del(void *p)
{
    size_t i;

    for (i = net_wrap_live; i > 0; i--) {
        if (track[i - 1] == p) {
            track[i - 1] = track[--net_wrap_live];
            return;
        }
    }
    /* not ours (allocated before the wrap or by libc itself) */
}

static int
should_fail(void)
{
    size_t n;

    if (net_wrap_spare)
        return 0;
    n = net_wrap_attempts++;
    if (fail_n < 0)
        return 0;
    if (n == (size_t)fail_n || (fail_from && n > (size_t)fail_n)) {
        net_wrap_failures++;
        return 1;
    }
    return 0;
}

void *
__wrap_malloc(size_t n)
{
    void *p;

    if (should_fail())
        return NULL;
    p = __real_malloc(n);
    if (p != NULL)
        track_add(p);
    return p;
}

void *
__wrap_calloc(size_t n, size_t m)
{
    void *p;

    if (should_fail())
        return NULL;
    p = __real_calloc(n, m);
    if (p != NULL)
        track_add(p);
    return p;
}

void *
__wrap_realloc(void *p, size_t n)
{
    void *q;

    if (should_fail())
        return NULL;
    q = __real_realloc(p, n);
    if (q != NULL) {
        if (p != NULL)
            track_del(p);
        track_add(q);
    }
    return q;
}

void
__wrap_free(void *p)
{
    if (p != NULL)
        track_del(p);
    __real_free(p);
}

void
net_wrap_arm(long n, int from)
{
    net_wrap_attempts = 0;
    net_wrap_failures = 0;
    fail_n = n;
    fail_from = from;
}

void
net_wrap_disarm(void)
{
    fail_n = -1;
}
