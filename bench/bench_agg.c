/*
 * bench_agg: mtasts_tlsrpt_agg_add() throughput (RPT-AGG; target: at least
 * 5 million session results per second on one core). Sessions go to 4
 * applied policies (3 sts, 1 no-policy-found) on one day; the mixes are
 * all successes, all failures (one detail each, 8 distinct details per
 * policy) and 90/10. Each mix runs 7 times; the median is printed.
 * Timings are never asserted.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_util.h"
#include "mtasts.h"

#define RUNS     7
#define SESSIONS 4000000

static mtasts_tlsrpt_policy *
sts(mtasts_ctx *ctx, const char *domain, const char *mx)
{
    char body[256];
    mtasts_policy *p = NULL;
    mtasts_tlsrpt_policy *tp = NULL;

    snprintf(body, sizeof(body),
             "version: STSv1\r\nmode: enforce\r\nmx: %s\r\nmax_age: "
             "604800\r\n",
             mx);
    if (mtasts_policy_parse(ctx, body, strlen(body), 0, &p, NULL) != 0 ||
        mtasts_tlsrpt_policy_build_sts(ctx, domain, strlen(domain), p, &tp) !=
            0) {
        fprintf(stderr, "policy setup failed\n");
        exit(1);
    }
    mtasts_policy_free(p);
    return tp;
}

/* Sessions per second of one run; fail_every: every n-th session fails
 * (0: none, 1: all). */
static double
run(mtasts_ctx *ctx, mtasts_tlsrpt_policy *const *pol, unsigned fail_every)
{
    static const char *const ips[8] = {
        "192.0.2.1",   "192.0.2.2",   "198.51.100.7",  "203.0.113.9",
        "2001:db8::1", "2001:db8::2", "2001:db8:1::5", "192.0.2.200"};
    struct mtasts_tlsrpt_failure f[8];
    mtasts_tlsrpt_agg *agg = NULL;
    int64_t t0 = 1459468800;
    double start, secs;
    unsigned i;

    for (i = 0; i < 8; i++) {
        memset(&f[i], 0, sizeof(f[i]));
        f[i].version = MTASTS_FAILURE_VERSION;
        f[i].result_type = i % 2 ? MTASTS_RESULT_STARTTLS_NOT_SUPPORTED
                                 : MTASTS_RESULT_CERTIFICATE_EXPIRED;
        f[i].sending_ip = ips[i];
        f[i].sending_ip_len = strlen(f[i].sending_ip);
        f[i].receiving_mx = "mx1.mail.example.com";
        f[i].receiving_mx_len = strlen(f[i].receiving_mx);
        f[i].receiving_ip = "203.0.113.56";
        f[i].receiving_ip_len = strlen(f[i].receiving_ip);
    }
    if (mtasts_tlsrpt_agg_new(ctx, &agg) != 0)
        exit(1);
    start = (bench_now_ns() * 1e-9);
    for (i = 0; i < SESSIONS; i++) {
        int failed = fail_every != 0 && i % fail_every == 0;
        if (mtasts_tlsrpt_agg_add(
                agg, pol[i & 3], t0 + (int64_t)(i & 0xFFFF),
                failed ? MTASTS_SESSION_FAILURE : MTASTS_SESSION_SUCCESS,
                failed ? &f[(i >> 2) & 7] : NULL, failed ? 1 : 0, 0) != 0) {
            fprintf(stderr, "add failed\n");
            exit(1);
        }
    }
    secs = (bench_now_ns() * 1e-9) - start;
    mtasts_tlsrpt_agg_free(agg);
    return SESSIONS / secs;
}

int
main(void)
{
    static const struct {
        const char *name;
        unsigned fail_every;
    } mixes[] = {{"successes", 0}, {"failures", 1}, {"90/10", 10}};
    mtasts_ctx *ctx = NULL;
    mtasts_tlsrpt_policy *pol[4];
    double r[RUNS];
    size_t m;
    int i;

    if (mtasts_ctx_new(NULL, &ctx) != 0)
        return 1;
    pol[0] = sts(ctx, "example.com", "*.mail.example.com");
    pol[1] = sts(ctx, "example.net", "mx.example.net");
    pol[2] = sts(ctx, "example.org", "*.example.org");
    if (mtasts_tlsrpt_policy_build_none(ctx, "example.edu", 11, &pol[3]) != 0)
        return 1;
    printf("bench_agg: %d sessions x %d runs, 4 policies, median\n", SESSIONS,
           RUNS);
    for (m = 0; m < sizeof(mixes) / sizeof(mixes[0]); m++) {
        for (i = 0; i < RUNS; i++)
            r[i] = run(ctx, pol, mixes[m].fail_every);
        (void)bench_sort_median(r, RUNS);
        printf("  add %-10s %8.2f M sessions/s (min %.2f, max %.2f)\n",
               mixes[m].name, r[RUNS / 2] / 1e6, r[0] / 1e6, r[RUNS - 1] / 1e6);
    }
    for (i = 0; i < 4; i++)
        mtasts_tlsrpt_policy_free(pol[i]);
    mtasts_ctx_free(ctx);
    return 0;
}
