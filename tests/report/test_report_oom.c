/*
 * Allocation failure sweep over mtasts_tlsrpt_report_parse() (plain JSON,
 * gzip, warnings, TLSA unpacking, duplicate-name tables) and
 * mtasts_tlsrpt_report_format(): failing the n-th allocation for every n
 * must give MTASTS_ENOMEM with nothing leaked, until the call succeeds.
 */
#include "rtest.h"

#include <stdio.h>
#include <stdlib.h>

static mtasts_ctx *ctx;

static int
setup(void **state)
{
    (void)state;
    ctx = harness_ctx_try();
    return ctx == NULL;
}

static int
teardown(void **state)
{
    (void)state;
    mtasts_ctx_free(ctx);
    assert_int_equal(harness_leaks(), 0);
    assert_int_equal(harness_errors(), 0);
    return 0;
}

struct format_job {
    const mtasts_tlsrpt_report *r;
    unsigned flags;
};

static int
run_format(void *arg)
{
    const struct format_job *j = arg;
    mtasts_buf *b = NULL;
    int rc = mtasts_tlsrpt_report_format(j->r, j->flags, &b);

    if (rc == MTASTS_OK)
        mtasts_buf_free(b);
    else
        assert_null(b);
    return rc;
}

static void
sweep(const void *in, size_t n, unsigned pflags)
{
    size_t base = harness_leaks();
    struct format_job fj;
    long k;
    mtasts_tlsrpt_report *r = NULL;
    int rc;

    for (k = 0;; k++) {
        struct mtasts_diag d = MTASTS_DIAG_INIT;
        harness_fail_at(k);
        rc = mtasts_tlsrpt_report_parse(ctx, in, n, pflags, &r, &d);
        if (harness_failures() == 0) {
            assert_int_equal(rc, MTASTS_OK);
            break;
        }
        if (rc != MTASTS_ENOMEM)
            print_error("attempt %ld: %s\n", k, mtasts_status_name(rc));
        assert_int_equal(rc, MTASTS_ENOMEM);
        assert_int_equal(d.code, MTASTS_ENOMEM);
        assert_null(r);
        assert_int_equal(harness_leaks(), base);
    }
    assert_true(k > 0);
    for (fj.flags = 0; fj.flags <= MTASTS_JSON_F_PRETTY; fj.flags++) {
        fj.r = r;
        /* a failed shrink at the end is harmless */
        harness_oom_sweep("report format", run_format, &fj,
                          HARNESS_SWEEP_AT | HARNESS_SWEEP_OK_ON_FAIL);
    }
    harness_fail_at(-1);
    mtasts_tlsrpt_report_free(r);
    assert_int_equal(harness_leaks(), base);
}

static void
oom_app_b(void **state)
{
    (void)state;
    sweep(APP_B, strlen(APP_B), 0);
}

static void
oom_gzip(void **state)
{
    mtasts_buf *gz = NULL;
    const uint8_t *g;
    size_t n;

    (void)state;
    harness_fail_at(-1);
    assert_int_equal(
        mtasts_gzip(ctx, (const uint8_t *)APP_B, strlen(APP_B), 6, &gz), 0);
    g = mtasts_buf_data(gz, &n);
    sweep(g, n, 0);
    mtasts_buf_free(gz);
}

static void
oom_warnings(void **state)
{
    static const char in[] =
        "\xEF\xBB\xBF{\"organization-name\":\"O\",\"date-range\":{"
        "\"start-datetime\":\"2016-04-01T00:00:00\",\"end-datetime\":"
        "\"2016-04-01T23:59:59\"},\"contact-info\":null,\"report-id\":\"i\","
        "\"x\":{\"a\":1,\"b\":[{\"c\":2}]},"
        "\"policies\":[{\"policy\":{\"policy-type\":\"tlsa\",\"policy-string\":"
        "[\"[\\\"3 1 1 AB\\\",\\\"3 1 1 CD\\\"]\"]},\"summary\":{"
        "\"total-successful-session-count\":1,\"total-failure-session-count\""
        ":2},\"failure-details\":[{\"result-type\":\"x\",\"sending-mta-ip\":"
        "\"bad\",\"additional-info-uri\":\"u\",\"failure-reason-code\":null,"
        "\"failed-session-count\":1}]},{\"policy\":{\"policy-type\":\"sts\","
        "\"policy-string\":\"a\",\"mx-host\":\"m\",\"policy-domain\":\"d\"},"
        "\"summary\":{\"total-successful-session-count\":1,"
        "\"total-failure-session-count\":0},\"failure-details\":null}]}";

    (void)state;
    sweep(in, sizeof(in) - 1, 0);
}

static void
oom_escapes_and_depth(void **state)
{
    char buf[4096];
    size_t n, i;

    (void)state;
    assert_int_equal(mtasts_ctx_set_limit(ctx, MTASTS_LIMIT_JSON_DEPTH, 64), 0);
    n = (size_t)snprintf(buf, sizeof(buf),
                         "{\"organization-name\":\"\\u00e9\\n\"," DR
                         ",\"contact-info\":\"a\",\"report-id\":\"i\","
                         "\"policies\":[],\"x\":");
    for (i = 0; i < 40; i++)
        buf[n++] = '[';
    for (i = 0; i < 40; i++)
        buf[n++] = ']';
    buf[n++] = '}';
    sweep(buf, n, 0);
    assert_int_equal(mtasts_ctx_set_limit(ctx, MTASTS_LIMIT_JSON_DEPTH,
                                          MTASTS_JSON_MAX_DEPTH),
                     0);
}

/* A report of npol policies with nmx mx-host names and ndet details each
 * and an organization name of orglen bytes, written into buf. */
static size_t
gen_report(char *buf, size_t cap, int npol, int nmx, int ndet, size_t orglen)
{
    size_t n;
    int p, d;

    n = (size_t)snprintf(buf, cap, "{\"organization-name\":\"");
    while (orglen-- > 0 && n < cap)
        buf[n++] = 'o';
    n += (size_t)snprintf(buf + n, cap - n,
                          "\"," DR ",\"contact-info\":\"c\",\"report-id\":"
                          "\"i\",\"policies\":[");
    for (p = 0; p < npol && n < cap; p++) {
        n += (size_t)snprintf(
            buf + n, cap - n,
            "%s{\"policy\":{\"policy-type\":\"sts\",\"policy-domain\":"
            "\"d\",\"mx-host\":[\"m\"",
            p ? "," : "");
        for (d = 1; d < nmx && n < cap; d++)
            n += (size_t)snprintf(buf + n, cap - n, ",\"m\"");
        if (n < cap)
            n += (size_t)snprintf(
                buf + n, cap - n,
                "]},\"summary\":{\"total-successful-session-count\":1,"
                "\"total-failure-session-count\":2},\"failure-details\":[");
        for (d = 0; d < ndet && n < cap; d++)
            n += (size_t)snprintf(buf + n, cap - n,
                                  "%s{\"result-type\":\"x\",\"sending-mta-"
                                  "ip\":\"192.0.2.%d\",\"failed-session-"
                                  "count\":1}",
                                  d ? "," : "", d);
        if (n < cap)
            n += (size_t)snprintf(buf + n, cap - n, "]}");
    }
    if (n < cap)
        n += (size_t)snprintf(buf + n, cap - n, "]}");
    assert_true(n < cap);
    return n;
}

/* Small reports start in a local buffer: arrays and the pool outgrowing
 * it, and larger reports built on the heap from the start. */
static void
oom_local_and_heap(void **state)
{
    static char buf[16384];
    size_t n;

    (void)state;
    /* more than 4 policies and 32 details */
    n = gen_report(buf, sizeof(buf), 5, 1, 7, 1);
    assert_true(n <= 4096);
    sweep(buf, n, 0);
    /* more than 128 strings */
    n = gen_report(buf, sizeof(buf), 1, 140, 2, 1);
    assert_true(n <= 4096);
    sweep(buf, n, 0);
    /* the pool outgrows it */
    n = gen_report(buf, sizeof(buf), 1, 1, 2, 3000);
    assert_true(n <= 4096);
    sweep(buf, n, 0);
    /* on the heap from the start */
    n = gen_report(buf, sizeof(buf), 3, 2, 40, 10);
    assert_true(n > 4096);
    sweep(buf, n, 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(oom_app_b),
        cmocka_unit_test(oom_gzip),
        cmocka_unit_test(oom_warnings),
        cmocka_unit_test(oom_escapes_and_depth),
        cmocka_unit_test(oom_local_and_heap),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
