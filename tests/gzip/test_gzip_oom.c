/*
 * OOM sweep of mtasts_gzip() and mtasts_gunzip(): the N-th allocation
 * fails (only it, then it and every later one) for N = 0, 1, ... until
 * the call completes. Every failing call returns MTASTS_ENOMEM, leaves
 * *ret_out NULL, records ENOMEM in the diagnostic and leaks nothing.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "mtasts.h"
#include "harness.h"
#include "gzt.h"

static mtasts_ctx *ctx;

struct job {
    int inflate; /* 0: gzip, 1: gunzip */
    int level;
    const uint8_t *in;
    size_t n, max_out;
    int expect; /* status when no allocation fails */
};

static int
run(const struct job *j, mtasts_buf **out, struct mtasts_diag *d)
{
    d->version = MTASTS_DIAG_VERSION;
    if (j->inflate)
        return mtasts_gunzip(ctx, j->in, j->n, j->max_out, out, d);
    return mtasts_gzip(ctx, j->in, j->n, j->level, out);
}

/* One run of j: with no failed allocation it must give j->expect (then
 * reported as MTASTS_OK to the sweep); with one, ENOMEM in status and
 * diag and no output. */
static int
run_job(void *arg)
{
    const struct job *j = arg;
    struct mtasts_diag d;
    mtasts_buf *out = (mtasts_buf *)(uintptr_t)1;
    int rc = run(j, &out, &d);

    if (harness_failures() == 0) {
        assert_int_equal(rc, j->expect);
        if (rc == MTASTS_OK)
            assert_non_null(out);
        else
            assert_null(out);
        mtasts_buf_free(out);
        return MTASTS_OK;
    }
    assert_null(out);
    if (j->inflate && rc == MTASTS_ENOMEM)
        assert_int_equal(d.code, MTASTS_ENOMEM);
    return rc;
}

static void
sweep(const struct job *j, const char *name)
{
    size_t steps;

    steps = harness_oom_sweep(name, run_job, (void *)(uintptr_t)j,
                              HARNESS_SWEEP_BOTH);
    print_message("%-28s %zu failing steps\n", name, steps);
}

static void
test_oom_gzip(void **state)
{
    struct bytes text = data_text(20000, 1), rnd = data_random(60000, 2);
    static const int levels[] = {0, 1, 4, 6, 9};
    struct job j;
    char name[64];
    size_t i;

    (void)state;
    memset(&j, 0, sizeof(j));
    for (i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
        j.level = levels[i];
        j.in = NULL;
        j.n = 0;
        snprintf(name, sizeof(name), "gzip empty L%d", j.level);
        sweep(&j, name);
        j.in = text.p;
        j.n = text.n;
        snprintf(name, sizeof(name), "gzip text L%d", j.level);
        sweep(&j, name);
        /* incompressible: the output outgrows the first guess */
        j.in = rnd.p;
        j.n = rnd.n;
        snprintf(name, sizeof(name), "gzip random L%d", j.level);
        sweep(&j, name);
    }
    bytes_free(&text);
    bytes_free(&rnd);
}

static struct bytes
gz(const uint8_t *in, size_t n, int level)
{
    mtasts_buf *z;
    const uint8_t *p;
    struct bytes b;

    assert_int_equal(mtasts_gzip(ctx, in, n, level, &z), MTASTS_OK);
    p = mtasts_buf_data(z, &b.n);
    b.p = malloc(b.n);
    assert_non_null(b.p);
    memcpy(b.p, p, b.n);
    mtasts_buf_free(z);
    return b;
}

static void
test_oom_gunzip(void **state)
{
    struct bytes text = data_text(200000, 3), z;
    struct job j;

    (void)state;
    memset(&j, 0, sizeof(j));
    j.inflate = 1;
    j.max_out = MTASTS_GUNZIP_MAX_DEFAULT;
    z = gz(text.p, 100, 6);
    j.in = z.p;
    j.n = z.n;
    sweep(&j, "gunzip small");
    bytes_free(&z);
    z = gz(text.p, text.n, 6);
    j.in = z.p;
    j.n = z.n;
    sweep(&j, "gunzip 200 KB");
    /* ISIZE 0: no size hint, so the output buffer grows step by step;
     * the size check fails at the end */
    memset(z.p + z.n - 4, 0, 4);
    j.expect = MTASTS_ESYNTAX;
    sweep(&j, "gunzip growing");
    bytes_free(&z);
    bytes_free(&text);
}

static int
setup(void **state)
{
    struct mtasts_alloc a = harness_table(1);

    (void)state;
    harness_reset();
    assert_int_equal(mtasts_ctx_new(&a, &ctx), MTASTS_OK);
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    mtasts_ctx_free(ctx);
    harness_assert_clean();
    return 0;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_oom_gzip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_oom_gunzip, setup, teardown),
    };

    return cmocka_run_group_tests_name("gzip_oom", tests, NULL, NULL);
}
