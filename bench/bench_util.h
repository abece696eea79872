/*
 * Timing helpers shared by the benchmark programs: a monotonic clock,
 * sorting samples, median and minimum, batch calibration and the
 * positive-integer option parser.
 */
#ifndef BENCH_UTIL_H
#define BENCH_UTIL_H

#include <stdlib.h>
#include <time.h>

static inline double
bench_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static inline int
bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

/* Sort v[0..n) ascending (n >= 1) and return its median. */
static inline double
bench_sort_median(double *v, size_t n)
{
    qsort(v, n, sizeof(*v), bench_cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Nanoseconds taken by run(iters). */
static inline double
bench_time(void (*run)(size_t), size_t iters)
{
    double t0 = bench_now_ns();

    run(iters);
    return bench_now_ns() - t0;
}

/* Grow the iteration count until one batch of run lasts about batch_ns. */
static inline size_t
bench_calibrate(void (*run)(size_t), double batch_ns)
{
    size_t iters = 64;
    double t;

    run(iters); /* warm-up */
    for (;;) {
        t = bench_time(run, iters);
        if (t >= batch_ns / 4 || iters > ((size_t)1 << 40))
            break;
        iters *= 2;
    }
    if (t <= 0)
        t = 1;
    iters = (size_t)((double)iters * batch_ns / t);
    return iters > 0 ? iters : 1;
}

/* A decimal count >= 1. 0, or -1 when s is not one. */
static inline int
bench_parse_size(const char *s, size_t *ret)
{
    char *end;
    unsigned long long v;

    if (s == NULL || *s < '0' || *s > '9')
        return -1;
    v = strtoull(s, &end, 10);
    if (*end != '\0' || v == 0)
        return -1;
    *ret = (size_t)v;
    return 0;
}

#endif
