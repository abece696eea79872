/*
 * Out-of-memory sweep over mtasts_tlsrpt_agg_add, _add_n, _merge, _import
 * and _report: allocation request k fails, for every k until the call
 * succeeds. Each failure must return MTASTS_ENOMEM, leak nothing and leave
 * the aggregate exactly as it was (same export bytes, same live memory).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"
#include "mtasts.h"

#define DAY1 INT64_C(1459468800)

static mtasts_ctx *ctx;

static const char body[] = "version: STSv1\nmode: testing\n"
                           "mx: *.mail.example\nmax_age: 86400\n";

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
    return harness_leaks() != 0 || harness_errors() != 0;
}

static mtasts_tlsrpt_policy *
pol(const char *domain, int none)
{
    mtasts_policy *p = NULL;
    mtasts_tlsrpt_policy *tp = NULL;

    if (none) {
        assert_int_equal(
            mtasts_tlsrpt_policy_build_none(ctx, domain, strlen(domain), &tp),
            0);
        return tp;
    }
    assert_int_equal(mtasts_policy_parse(ctx, body, strlen(body), 0, &p, NULL),
                     0);
    assert_int_equal(
        mtasts_tlsrpt_policy_build_sts(ctx, domain, strlen(domain), p, &tp), 0);
    mtasts_policy_free(p);
    return tp;
}

static struct mtasts_tlsrpt_failure
fail_of(int type, const char *ip)
{
    struct mtasts_tlsrpt_failure f;

    memset(&f, 0, sizeof(f));
    f.version = MTASTS_FAILURE_VERSION;
    f.result_type = type;
    f.sending_ip = ip;
    f.sending_ip_len = ip != NULL ? strlen(ip) : 0;
    f.receiving_mx = "mx.mail.example";
    f.receiving_mx_len = strlen(f.receiving_mx);
    f.reason_code = "r";
    f.reason_code_len = strlen(f.reason_code);
    return f;
}

static void
fill(mtasts_tlsrpt_agg *a, int salt, int n, const char *third)
{
    mtasts_tlsrpt_policy *p[3];
    struct mtasts_tlsrpt_failure f[2];
    static const char *const ips[] = {"192.0.2.1", "2001:db8::7", "192.0.2.3",
                                      "192.0.2.4"};
    int i;

    p[0] = pol("a.example", 0);
    p[1] = pol("b.example", 1);
    p[2] = pol(third, 0);
    for (i = 0; i < n; i++) {
        int k = i * 7 + salt;
        f[0] = fail_of(1 + k % 4, ips[k % 4]);
        f[1] = fail_of(MTASTS_RESULT_CERTIFICATE_EXPIRED, ips[(k / 3) % 4]);
        assert_int_equal(mtasts_tlsrpt_agg_add(a, p[k % 3],
                                               DAY1 + (k % 2) * 86400,
                                               k % 2 ? MTASTS_SESSION_FAILURE
                                                     : MTASTS_SESSION_SUCCESS,
                                               f, (size_t)(k % 3), 0),
                         0);
    }
    for (i = 0; i < 3; i++)
        mtasts_tlsrpt_policy_free(p[i]);
}

static mtasts_buf *
snapshot(const mtasts_tlsrpt_agg *a)
{
    mtasts_buf *b = NULL;

    harness_fail_at(-1);
    assert_int_equal(mtasts_tlsrpt_agg_encode(a, &b), 0);
    return b;
}

static void
assert_same(const mtasts_tlsrpt_agg *a, const mtasts_buf *before)
{
    mtasts_buf *now = snapshot(a);
    size_t l1, l2;
    const uint8_t *d1 = mtasts_buf_data(before, &l1);
    const uint8_t *d2 = mtasts_buf_data(now, &l2);

    assert_int_equal(l1, l2);
    assert_memory_equal(d1, d2, l1);
    mtasts_buf_free(now);
}

enum op {
    OP_ADD_NEW,
    OP_ADD_OLD,
    OP_ADD_N_NEW,
    OP_ADD_N_OLD,
    OP_MERGE,
    OP_IMPORT,
    OP_REPORT
};

static void
sweep(enum op op)
{
    long k;
    int done = 0;

    for (k = 0; !done && k < 100000; k++) {
        mtasts_tlsrpt_agg *a = NULL, *b = NULL;
        mtasts_tlsrpt_policy *p = pol("new.example", 0);
        mtasts_tlsrpt_policy *old = pol("a.example", 0);
        mtasts_tlsrpt_report *r = NULL;
        struct mtasts_tlsrpt_failure f[20];
        mtasts_buf *before, *ex = NULL;
        size_t live, i, n = 0;
        const uint8_t *d = NULL;
        int rc;

        for (i = 0; i < 20; i++)
            f[i] =
                fail_of(1 + (int)i % 11, i % 2 ? "192.0.2.9" : "2001:db8::9");
        assert_int_equal(mtasts_tlsrpt_agg_new(ctx, &a), 0);
        assert_int_equal(mtasts_tlsrpt_agg_new(ctx, &b), 0);
        fill(a, 1, 60, "c.example");
        fill(b, 2, 60, "e.example");
        ex = snapshot(b);
        d = mtasts_buf_data(ex, &n);
        before = snapshot(a);
        live = harness_leaks();
        harness_fail_at(k);
        switch (op) {
        case OP_ADD_NEW:
            rc = mtasts_tlsrpt_agg_add(a, p, DAY1 + 5 * 86400,
                                       MTASTS_SESSION_FAILURE, f, 20, 0);
            break;
        case OP_ADD_OLD:
            rc = mtasts_tlsrpt_agg_add(a, old, DAY1, MTASTS_SESSION_FAILURE, f,
                                       20, 0);
            break;
        case OP_ADD_N_NEW:
            rc = mtasts_tlsrpt_agg_add_n(a, p, DAY1 + 5 * 86400,
                                         MTASTS_SESSION_FAILURE, f, 20, 0,
                                         1000000);
            break;
        case OP_ADD_N_OLD:
            rc = mtasts_tlsrpt_agg_add_n(a, old, DAY1, MTASTS_SESSION_FAILURE,
                                         f, 20, 0, 1000000);
            break;
        case OP_MERGE:
            rc = mtasts_tlsrpt_agg_merge(a, b);
            break;
        case OP_IMPORT:
            rc = mtasts_tlsrpt_agg_decode(a, d, n);
            break;
        case OP_REPORT:
        default:
            rc = mtasts_tlsrpt_report_build(a, "a.example", 9, DAY1, "Org", 3,
                                            "x@y.example", 11, "id", 2, &r);
            break;
        }
        if (harness_failures() == 0) {
            assert_int_equal(rc, 0);
            done = 1;
        } else if (rc == 0) {
            /* a failure absorbed by design: none is expected here */
            fail_msg("op %d succeeded after request %ld failed", op, k);
        } else {
            assert_int_equal(rc, MTASTS_ENOMEM);
            assert_int_equal(harness_leaks(), live);
            assert_null(r);
            assert_same(a, before);
        }
        mtasts_tlsrpt_report_free(r);
        mtasts_buf_free(before);
        mtasts_buf_free(ex);
        mtasts_tlsrpt_agg_free(a);
        mtasts_tlsrpt_agg_free(b);
        mtasts_tlsrpt_policy_free(p);
        mtasts_tlsrpt_policy_free(old);
        harness_fail_at(-1);
    }
    assert_true(done);
    assert_true(k > 1);
    print_message("op %d: %ld failure points\n", (int)op, k - 1);
}

static void
test_oom_add_new_key(void **state)
{
    (void)state;
    sweep(OP_ADD_NEW);
}

static void
test_oom_add_existing_key(void **state)
{
    (void)state;
    sweep(OP_ADD_OLD);
}

static void
test_oom_add_n_new_key(void **state)
{
    (void)state;
    sweep(OP_ADD_N_NEW);
}

static void
test_oom_add_n_existing_key(void **state)
{
    (void)state;
    sweep(OP_ADD_N_OLD);
}

static void
test_oom_merge(void **state)
{
    (void)state;
    sweep(OP_MERGE);
}

static void
test_oom_import(void **state)
{
    (void)state;
    sweep(OP_IMPORT);
}

static void
test_oom_report(void **state)
{
    (void)state;
    sweep(OP_REPORT);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_oom_add_new_key),
        cmocka_unit_test(test_oom_add_existing_key),
        cmocka_unit_test(test_oom_add_n_new_key),
        cmocka_unit_test(test_oom_add_n_existing_key),
        cmocka_unit_test(test_oom_merge),
        cmocka_unit_test(test_oom_import),
        cmocka_unit_test(test_oom_report),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
