/*
 * Timing helpers shared by the benchmark programs: a monotonic clock,
 * sorting samples, median and minimum, batch calibration and the
 * positive-integer option parser; and the case driver (options, selection,
 * interleaved batches, table and JSON output) of bench_text and
 * bench_discovery.
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

/* ------------------------------------------------------------------ */
/* Case driver shared by bench_text and bench_discovery                */
/* ------------------------------------------------------------------ */

#include <stdio.h>
#include <string.h>

#define BENCH_MAX_BATCHES 1001

struct bench_case {
    const char *name;
    const char *what;
    int baseline;  /* index of the baseline case, or -1 */
    double target; /* max ratio vs baseline; 0 = none */
    void (*run)(size_t iters);
    int selected;
    size_t iters;
    double samples[BENCH_MAX_BATCHES];
    double median, min;
};

struct bench_opts {
    size_t batches, batch_ms, fixed_iters;
    const char *only;
    int json;
};

#define BENCH_OPTS_INIT    \
    {                      \
        31, 20, 0, NULL, 0 \
    }

/* The common option at argv[*a]: 1 when taken (*a moved past its value),
 * -1 for --help, 0 when it is not one. */
static inline int
bench_opt(struct bench_opts *o, int argc, char **argv, int *a)
{
    const char *k = argv[*a];
    const char *v = *a + 1 < argc ? argv[*a + 1] : NULL;

    if (strcmp(k, "--json") == 0) {
        o->json = 1;
        return 1;
    }
    if ((strcmp(k, "--batches") == 0 && bench_parse_size(v, &o->batches) == 0 &&
         o->batches <= BENCH_MAX_BATCHES) ||
        (strcmp(k, "--batch-ms") == 0 &&
         bench_parse_size(v, &o->batch_ms) == 0) ||
        (strcmp(k, "--iterations") == 0 &&
         bench_parse_size(v, &o->fixed_iters) == 0)) {
        (*a)++;
        return 1;
    }
    if (strcmp(k, "--only") == 0 && v != NULL) {
        o->only = v;
        (*a)++;
        return 1;
    }
    if (strcmp(k, "--help") == 0 || strcmp(k, "-h") == 0)
        return -1;
    return 0;
}

/* Select only the case named only (all when NULL). 0, or -1 (reported on
 * stderr as prog's) when there is no such case. */
static inline int
bench_select(const char *prog, struct bench_case *cases, size_t n,
             const char *only)
{
    size_t i;
    int found = 0;

    if (only == NULL)
        return 0;
    for (i = 0; i < n; i++) {
        cases[i].selected = strcmp(cases[i].name, only) == 0;
        found |= cases[i].selected;
    }
    if (!found) {
        fprintf(stderr, "%s: unknown case '%s'\n", prog, only);
        return -1;
    }
    return 0;
}

/* Time every selected case: one run of fixed_iters each (o->batches becomes
 * 1), or calibrated batches interleaved (batch k of every case, then batch
 * k+1); then median and minimum ns per operation. */
static inline void
bench_measure(struct bench_case *cases, size_t n, struct bench_opts *o)
{
    size_t i, k;

    if (o->fixed_iters) {
        o->batches = 1;
        for (i = 0; i < n; i++) {
            if (!cases[i].selected)
                continue;
            cases[i].iters = o->fixed_iters;
            cases[i].samples[0] = bench_time(cases[i].run, o->fixed_iters) /
                                  (double)o->fixed_iters;
        }
    } else {
        for (i = 0; i < n; i++)
            if (cases[i].selected)
                cases[i].iters =
                    bench_calibrate(cases[i].run, (double)o->batch_ms * 1e6);
        for (k = 0; k < o->batches; k++)
            for (i = 0; i < n; i++)
                if (cases[i].selected)
                    cases[i].samples[k] =
                        bench_time(cases[i].run, cases[i].iters) /
                        (double)cases[i].iters;
    }
    for (i = 0; i < n; i++) {
        if (cases[i].selected) {
            cases[i].median = bench_sort_median(cases[i].samples, o->batches);
            cases[i].min = cases[i].samples[0];
        }
    }
}

/* Median of c over its baseline's; 0 without one. */
static inline double
bench_ratio(const struct bench_case *cases, const struct bench_case *c)
{
    const struct bench_case *b;

    if (c->baseline < 0 || !cases[c->baseline].selected)
        return 0;
    b = &cases[c->baseline];
    return b->median > 0 ? c->median / b->median : 0;
}

/* The table rows (after the caller's title line); w: width of "what". */
static inline void
bench_print_table(const struct bench_case *cases, size_t n, int w)
{
    size_t i;

    printf("%-22s %-*s %10s %9s %9s %8s\n", "case", w, "what", "median ns",
           "ratio", "target", "result");
    for (i = 0; i < n; i++) {
        const struct bench_case *c = &cases[i];
        double r = bench_ratio(cases, c);
        char rbuf[32] = "-", tbuf[32] = "-";
        const char *res = "";

        if (!c->selected)
            continue;
        if (r > 0)
            snprintf(rbuf, sizeof(rbuf), "%.2fx", r);
        if (c->target > 0 && r > 0) {
            snprintf(tbuf, sizeof(tbuf), "<=%.1fx", c->target);
            res = r <= c->target ? "PASS" : "MISS";
        }
        printf("%-22s %-*s %10.2f %9s %9s %8s\n", c->name, w, c->what,
               c->median, rbuf, tbuf, res);
    }
}

/* The "cases" array and the end of the JSON object the caller opened. */
static inline void
bench_print_json_cases(const struct bench_case *cases, size_t n)
{
    size_t i;
    int first = 1;

    for (i = 0; i < n; i++) {
        const struct bench_case *c = &cases[i];
        double r = bench_ratio(cases, c);

        if (!c->selected)
            continue;
        printf("%s\n {\"name\":\"%s\",\"what\":\"%s\",\"median_ns\":%.3f,"
               "\"min_ns\":%.3f,\"iterations_per_batch\":%zu",
               first ? "" : ",", c->name, c->what, c->median, c->min, c->iters);
        if (c->baseline >= 0 && r > 0)
            printf(",\"baseline\":\"%s\",\"ratio\":%.3f,"
                   "\"target_max_ratio\":%.1f,\"pass\":%s",
                   cases[c->baseline].name, r, c->target,
                   r <= c->target ? "true" : "false");
        printf("}");
        first = 0;
    }
    printf("\n]}\n");
}

#endif
