/*
 * Allocation failure sweeps over the delivery form: failing the n-th
 * allocation for every n must give MTASTS_ENOMEM with nothing leaked and
 * no output, until the call succeeds (mtasts_tlsrpt_mail_build,
 * mtasts_tlsrpt_https_body_build, mtasts_tlsrpt_mail_ingest).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"
#include "mtasts.h"
#include "model_args.h"

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

static mtasts_tlsrpt_report *
load_report(const char *name)
{
    char path[1024];
    unsigned char *in;
    size_t len = 0;
    mtasts_tlsrpt_report *r = NULL;

    snprintf(path, sizeof(path), "%s/corpus/reports/%s", SRC_DIR, name);
    in = harness_load(path, &len);
    assert_non_null(in);
    assert_int_equal(mtasts_tlsrpt_report_parse(ctx, in, len, 0, &r, NULL), 0);
    free(in);
    return r;
}

struct body_job {
    const mtasts_tlsrpt_report *r;
    unsigned flags;
};

static int
run_https_body(void *arg)
{
    const struct body_job *j = arg;
    mtasts_buf *b = (mtasts_buf *)(uintptr_t)1;
    const char *ct = NULL;
    int rc = mtasts_tlsrpt_https_body_build(j->r, j->flags, &b, &ct, NULL);

    if (rc == MTASTS_OK)
        mtasts_buf_free(b);
    else
        assert_null(b);
    return rc;
}

static void
sweep_mail(const mtasts_tlsrpt_report *r, const char *submitter, unsigned flags,
           mtasts_buf **ret_ok)
{
    size_t base = harness_leaks();
    struct body_job bj;
    long k;
    int rc;

    for (k = 0;; k++) {
        mtasts_buf *m = (mtasts_buf *)&k;

        harness_fail_at(k);
        rc = mail_build5(r, "a@b.example", "c@d.example", submitter,
                         "Fri, 02 Apr 2016 01:00:00 +0000", "1@b.example",
                         flags, &m);
        if (harness_failures() == 0) {
            assert_int_equal(rc, MTASTS_OK);
            *ret_ok = m;
            break;
        }
        assert_int_equal(rc, MTASTS_ENOMEM);
        assert_null(m);
        assert_int_equal(harness_leaks(), base);
    }
    assert_true(k > 0);
    bj.r = r;
    bj.flags = flags;
    harness_oom_sweep("https body", run_https_body, &bj, HARNESS_SWEEP_AT);
    harness_fail_at(-1);
}

struct ingest_job {
    const uint8_t *msg;
    size_t n;
    unsigned flags;
};

static int
run_ingest(void *arg)
{
    const struct ingest_job *j = arg;
    struct mtasts_diag d = MTASTS_DIAG_INIT;
    mtasts_tlsrpt_report *got = (mtasts_tlsrpt_report *)&d;
    int rc;

    rc = mtasts_tlsrpt_mail_ingest(ctx, j->msg, j->n, MTASTS_DKIM_PASS,
                                   j->flags, &got, NULL, &d);
    if (rc == MTASTS_OK) {
        mtasts_tlsrpt_report_free(got);
        return rc;
    }
    if (rc == MTASTS_ENOMEM)
        assert_int_equal(d.code, MTASTS_ENOMEM);
    assert_null(got);
    return rc;
}

static void
sweep_ingest(const uint8_t *msg, size_t n, unsigned flags)
{
    struct ingest_job j;

    j.msg = msg;
    j.n = n;
    j.flags = flags;
    harness_oom_sweep("mail ingest", run_ingest, &j, HARNESS_SWEEP_AT);
}

static const char *const reports[][2] = {
    {"google__mox__test-xmox-nl-2022.json", "google.com"},
    {"microsoft__tlsrpt-rs__krvtz-tlsa.json", "microsoft.com"},
    {"rfc8460-example__stalwart-mail-auth__rpt01.json", "company-x.example"},
};

static void
test_oom_build_and_ingest(void **state)
{
    size_t i;
    unsigned flags;

    (void)state;
    for (i = 0; i < sizeof(reports) / sizeof(reports[0]); i++) {
        mtasts_tlsrpt_report *r = load_report(reports[i][0]);

        for (flags = 0; flags <= MTASTS_DELIVER_F_GZIP; flags++) {
            mtasts_buf *m = NULL;
            const uint8_t *p;
            size_t n;

            sweep_mail(r, reports[i][1], flags, &m);
            p = mtasts_buf_data(m, &n);
            sweep_ingest(p, n, 0);
            mtasts_buf_free(m);
        }
        mtasts_tlsrpt_report_free(r);
    }
}

static void
test_oom_corpus_emails(void **state)
{
    static const char *const files[] = {
        "google__parsedmarc__no-policy-found.eml",
        "microsoft__mox__test-xmox-nl-2023.eml",
        "mail.ru__tlsrpt-rs__krvtz.eml",
        "rfc8460-example__stalwart-mail-auth__rpt02-uncompressed.eml",
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        char path[1024];
        unsigned char *in;
        size_t len = 0;

        snprintf(path, sizeof(path), "%s/corpus/reports/%s", SRC_DIR, files[i]);
        in = harness_load(path, &len);
        assert_non_null(in);
        sweep_ingest(in, len, 0);
        free(in);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_oom_build_and_ingest, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_oom_corpus_emails, setup,
                                        teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
