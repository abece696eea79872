/*
 * bench_json: TLSRPT report parsing throughput, mtasts_tlsrpt_report_parse
 * + free vs cJSON_Parse + cJSON_Delete on the same bytes, and the memory a
 * parsed report holds (counting allocator) against its JSON size.
 *
 * Reports come from a deterministic generator (no randomness, no files):
 * small (about 2 KiB: a Google-like report with a few failure details),
 * 1mib and 50mib (one sts and one tlsa policy with many failure details of
 * the shapes seen in real reports), and 50mib_10kpol (50 MiB over 10 000
 * policies, each with its own domain, policy strings and details). The figure
 * for each case is the median over batches of the throughput in GB/s (10^9
 * bytes of JSON per second).
 *
 * Options:
 *   --json          machine-readable output
 *   --batches N     batches per case (default 11)
 *   --batch-ms MS   target batch duration (default 200)
 *   --only NAME     small, 1mib, 50mib or 50mib_10kpol
 *   --print NAME    write the generated report to stdout and exit
 *
 * Each timed batch ends with one 64 KiB allocation (settle()): with glibc
 * this merges the small blocks the batch freed (malloc_consolidate), work
 * that would otherwise fall on the next large allocation, i.e. on the
 * other parser's batch. So each parser pays for its own deferred frees
 * (cJSON_Delete of a 50 MiB DOM leaves millions of them; our parse frees
 * a few large blocks).
 *
 * Timings are never asserted; the exit status is non-zero only when a
 * parse fails.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "bench_util.h"
#include "mtasts.h"

#define MAX_BATCHES 101

/* ------------------------------------------------------------------ */
/* Generator                                                           */
/* ------------------------------------------------------------------ */

struct gbuf {
    char *d;
    size_t n, cap;
};

static void gput(struct gbuf *g, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#include <stdarg.h>

static void
gput(struct gbuf *g, const char *fmt, ...)
{
    va_list ap;
    int k;

    for (;;) {
        va_start(ap, fmt);
        k = vsnprintf(g->d + g->n, g->cap - g->n, fmt, ap);
        va_end(ap);
        if (k >= 0 && (size_t)k < g->cap - g->n) {
            g->n += (size_t)k;
            return;
        }
        g->cap = g->cap * 2 + 4096;
        g->d = realloc(g->d, g->cap);
        if (g->d == NULL)
            abort();
    }
}

static const char *const results[] = {
    "certificate-expired", "starttls-not-supported", "validation-failure",
    "certificate-host-mismatch", "sts-policy-fetch-error"};

/* A report of at least target bytes with npol policies. With two policies
 * (the small, 1mib and 50mib cases) they are one sts and one tlsa policy of
 * example.com; with more, each policy has its own domain, every fourth is
 * a tlsa policy, and the failure details are spread evenly over them. */
static char *
generate(size_t target, size_t npol, size_t *ret_len)
{
    struct gbuf g = {NULL, 0, 0};
    uint32_t x = 12345;
    size_t k = 0, pol;
    size_t part = target / npol;

    gput(&g, "{\"organization-name\":\"Example Mail Provider Inc.\","
             "\"date-range\":{\"start-datetime\":\"2024-06-01T00:00:00Z\","
             "\"end-datetime\":\"2024-06-01T23:59:59Z\"},"
             "\"contact-info\":\"smtp-tls-reporting@provider.example\","
             "\"report-id\":\"2024-06-01T00:00:00Z_example.com\","
             "\"policies\":[");
    for (pol = 0; pol < npol; pol++) {
        if (pol > 0)
            gput(&g, ",");
        if (npol == 2 && pol == 0)
            gput(&g, "{\"policy\":{\"policy-type\":\"sts\",\"policy-string\":"
                     "[\"version: STSv1\",\"mode: enforce\",\"mx: "
                     "mx1.example.com\",\"mx: mx2.example.com\",\"mx: "
                     "*.backup.example.com\",\"max_age: 604800\"],"
                     "\"policy-domain\":\"example.com\",\"mx-host\":["
                     "\"mx1.example.com\",\"mx2.example.com\","
                     "\"*.backup.example.com\"]},");
        else if (npol == 2)
            gput(&g, "{\"policy\":{\"policy-type\":\"tlsa\",\"policy-string\":"
                     "[\"3 1 1 0123456789ABCDEF0123456789ABCDEF0123456789ABCDE"
                     "F0123456789ABCDEF\",\"3 1 1 FEDCBA9876543210FEDCBA987654"
                     "3210FEDCBA9876543210FEDCBA9876543210\"],\"policy-domain"
                     "\":\"mx1.example.com\"},");
        else if (pol % 4 == 3)
            gput(&g,
                 "{\"policy\":{\"policy-type\":\"tlsa\",\"policy-string\":"
                 "[\"3 1 1 %08X89ABCDEF0123456789ABCDEF0123456789ABCDEF0123"
                 "456789ABCDEF\"],\"policy-domain\":\"mx1.d%zu.example\"},",
                 (unsigned)pol, pol);
        else
            gput(&g,
                 "{\"policy\":{\"policy-type\":\"sts\",\"policy-string\":"
                 "[\"version: STSv1\",\"mode: %s\",\"mx: mx1.d%zu.example\","
                 "\"mx: *.backup.d%zu.example\",\"max_age: 604800\"],"
                 "\"policy-domain\":\"d%zu.example\",\"mx-host\":["
                 "\"mx1.d%zu.example\",\"*.backup.d%zu.example\"]},",
                 pol % 3 ? "enforce" : "testing", pol, pol, pol, pol, pol);
        gput(&g,
             "\"summary\":{\"total-successful-session-count\":%u,"
             "\"total-failure-session-count\":%u},\"failure-details\":[",
             (unsigned)(part * npol / 7 + 1000),
             (unsigned)(part * npol / 300 + 3));
        k = 0;
        do {
            x = x * 1103515245u + 12345u;
            gput(&g,
                 "%s{\"result-type\":\"%s\",\"sending-mta-ip\":\"%s\","
                 "\"receiving-mx-hostname\":\"mx%u.example.com\","
                 "\"receiving-ip\":\"198.51.%u.%u\",\"failed-session-count\":"
                 "%u",
                 k ? "," : "", results[(x >> 8) % 5],
                 (x & 1) ? "2001:db8:abcd:12::1" : "203.0.113.25",
                 (x >> 12) % 4, (x >> 16) & 255, (x >> 24) & 255,
                 (x >> 4) % 1000 + 1);
            if ((x >> 9) % 3 == 0)
                gput(&g, ",\"receiving-mx-helo\":\"mx%u.example.com\"",
                     (x >> 12) % 4);
            if ((x >> 10) % 4 == 0)
                gput(&g, ",\"failure-reason-code\":\"X509_V_ERR_CERT_HAS_"
                         "EXPIRED\"");
            if ((x >> 11) % 8 == 0)
                gput(&g,
                     ",\"additional-information\":\"https://reports."
                     "provider.example/info?id=%u\"",
                     x);
            gput(&g, "}");
            k++;
        } while (g.n < (pol + 1) * part);
        gput(&g, "]}");
    }
    gput(&g, "]}");
    *ret_len = g.n;
    return g.d;
}

/* ------------------------------------------------------------------ */
/* Counting allocator                                                  */
/* ------------------------------------------------------------------ */

struct counter {
    size_t live, peak;
};

static void *
c_alloc(void *user, size_t n)
{
    struct counter *c = user;

    c->live += n;
    if (c->live > c->peak)
        c->peak = c->live;
    return malloc(n);
}

static void *
c_realloc(void *user, void *p, size_t o, size_t n)
{
    struct counter *c = user;
    void *q = realloc(p, n);

    if (q != NULL) {
        c->live = c->live - o + n;
        if (c->live > c->peak)
            c->peak = c->live;
    }
    return q;
}

static void
c_free(void *user, void *p, size_t n)
{
    struct counter *c = user;

    c->live -= n;
    free(p);
}

/* ------------------------------------------------------------------ */
/* Timing                                                              */
/* ------------------------------------------------------------------ */

static volatile uintptr_t sink;

/* one large allocation, at the end of each timed batch */
static void
settle(void)
{
    void *volatile p;

    p = malloc((size_t)1 << 16);
    free(p);
}

static int
run_ours(mtasts_ctx *ctx, const uint8_t *buf, size_t len, long iters)
{
    long i;

    for (i = 0; i < iters; i++) {
        mtasts_tlsrpt_report *r = NULL;
        if (mtasts_tlsrpt_report_parse(ctx, buf, len, 0, &r, NULL) != 0)
            return -1;
        sink += (uintptr_t)mtasts_tlsrpt_report_count(r, MTASTS_RC_DETAILS, 0);
        mtasts_tlsrpt_report_free(r);
    }
    return 0;
}

static int
run_cjson(const char *buf, size_t len, long iters)
{
    long i;

    for (i = 0; i < iters; i++) {
        cJSON *j = cJSON_ParseWithLength(buf, len);
        if (j == NULL)
            return -1;
        sink += (uintptr_t)j->type;
        cJSON_Delete(j);
    }
    return 0;
}

struct result {
    const char *name;
    size_t len;
    double ours_gbs, cjson_gbs;
    size_t model_bytes, peak_bytes;
};

static int
measure(const char *name, size_t target, size_t npol, int batches,
        double batch_s, struct result *res)
{
    size_t len;
    char *js = generate(target, npol, &len);
    struct counter cnt = {0, 0};
    struct mtasts_alloc al = {MTASTS_ALLOC_VERSION, c_alloc, c_realloc, c_free,
                              &cnt};
    mtasts_ctx *ctx = NULL, *cctx = NULL;
    mtasts_tlsrpt_report *r = NULL;
    double ours[MAX_BATCHES], theirs[MAX_BATCHES], t0, t;
    long iters = 1;
    size_t base;
    int b;

    if (mtasts_ctx_new(NULL, &ctx) != 0 || mtasts_ctx_new(&al, &cctx) != 0)
        return -1;
    /* memory held by one parsed report */
    base = cnt.live;
    cnt.peak = cnt.live;
    if (mtasts_tlsrpt_report_parse(cctx, (const uint8_t *)js, len, 0, &r,
                                   NULL) != 0) {
        fprintf(stderr, "bench_json: %s does not parse\n", name);
        return -1;
    }
    res->model_bytes = cnt.live - base;
    res->peak_bytes = cnt.peak - base;
    mtasts_tlsrpt_report_free(r);
    /* calibrate on ours */
    for (;;) {
        t0 = (bench_now_ns() * 1e-9);
        if (run_ours(ctx, (const uint8_t *)js, len, iters) != 0)
            return -1;
        t = (bench_now_ns() * 1e-9) - t0;
        if (t >= batch_s / 4 || iters > (1L << 30))
            break;
        iters *= 2;
    }
    iters = (long)((double)iters * batch_s / (t > 1e-9 ? t : 1e-9)) + 1;
    for (b = 0; b < batches; b++) {
        t0 = (bench_now_ns() * 1e-9);
        run_ours(ctx, (const uint8_t *)js, len, iters);
        settle();
        ours[b] =
            (double)len * (double)iters / ((bench_now_ns() * 1e-9) - t0) / 1e9;
        t0 = (bench_now_ns() * 1e-9);
        if (run_cjson(js, len, iters) != 0) {
            fprintf(stderr, "bench_json: cJSON rejects %s\n", name);
            return -1;
        }
        settle();
        theirs[b] =
            (double)len * (double)iters / ((bench_now_ns() * 1e-9) - t0) / 1e9;
    }
    res->name = name;
    res->len = len;
    res->ours_gbs = bench_sort_median(ours, (size_t)batches);
    res->cjson_gbs = bench_sort_median(theirs, (size_t)batches);
    mtasts_ctx_free(ctx);
    mtasts_ctx_free(cctx);
    free(js);
    return 0;
}

int
main(int argc, char **argv)
{
    static const struct {
        const char *name;
        size_t target, npol;
    } cases[] = {{"small", 2048, 2},
                 {"1mib", 1 << 20, 2},
                 {"50mib", 50u << 20, 2},
                 {"50mib_10kpol", 50u << 20, 10000}};
    enum {
        NCASES = sizeof(cases) / sizeof(cases[0])
    };
    struct result res[NCASES];
    int batches = 11, json = 0, i, n = 0, rc = 0;
    double batch_ms = 200;
    const char *only = NULL;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            json = 1;
        else if (strcmp(argv[i], "--batches") == 0 && i + 1 < argc)
            batches = atoi(argv[++i]);
        else if (strcmp(argv[i], "--batch-ms") == 0 && i + 1 < argc)
            batch_ms = atof(argv[++i]);
        else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc)
            only = argv[++i];
        else if (strcmp(argv[i], "--print") == 0 && i + 1 < argc) {
            size_t k, len;
            char *js;
            for (k = 0; k < NCASES; k++)
                if (strcmp(argv[i + 1], cases[k].name) == 0)
                    break;
            if (k == NCASES)
                return 2;
            js = generate(cases[k].target, cases[k].npol, &len);
            fwrite(js, 1, len, stdout);
            free(js);
            return 0;
        } else {
            fprintf(stderr, "usage: bench_json [--json] [--batches N] "
                            "[--batch-ms MS] [--only NAME] [--print NAME]\n");
            return 2;
        }
    }
    if (batches < 1 || batches > MAX_BATCHES)
        batches = 11;
    for (i = 0; i < NCASES; i++) {
        if (only != NULL && strcmp(only, cases[i].name) != 0)
            continue;
        if (measure(cases[i].name, cases[i].target, cases[i].npol, batches,
                    batch_ms / 1e3, &res[n]) != 0) {
            rc = 1;
            continue;
        }
        n++;
    }
    if (json)
        printf("[");
    for (i = 0; i < n; i++) {
        if (json)
            printf("%s{\"case\":\"%s\",\"bytes\":%zu,\"mtasts_gbps\":%.3f,"
                   "\"cjson_gbps\":%.3f,\"speedup\":%.2f,\"model_bytes\":%zu,"
                   "\"model_ratio\":%.3f,\"parse_peak_bytes\":%zu}",
                   i ? "," : "", res[i].name, res[i].len, res[i].ours_gbs,
                   res[i].cjson_gbs, res[i].ours_gbs / res[i].cjson_gbs,
                   res[i].model_bytes,
                   (double)res[i].model_bytes / (double)res[i].len,
                   res[i].peak_bytes);
        else
            printf("%-12s %10zu bytes  mtasts %6.3f GB/s  cJSON %6.3f GB/s  "
                   "x%5.2f  model %.2fx JSON, parse peak %.2fx\n",
                   res[i].name, res[i].len, res[i].ours_gbs, res[i].cjson_gbs,
                   res[i].ours_gbs / res[i].cjson_gbs,
                   (double)res[i].model_bytes / (double)res[i].len,
                   (double)res[i].peak_bytes / (double)res[i].len);
    }
    if (json)
        printf("]\n");
    return rc;
}
