/*
 * OOM sweep: every constructor and parser runs with the N-th allocation
 * failing, for N = 0, 1, 2, ... until the call succeeds. Each failing call
 * must return MTASTS_ENOMEM, leave its out pointer NULL and leak nothing.
 * Each sweep runs twice: failing only the N-th allocation, and failing the
 * N-th and every later one.
 */
#include <stdio.h>
#include <stdlib.h>

#include "harness.h"
#include "model_args.h"

/* One operation under test. Creates an object through *ret (set to a
 * non-NULL junk value before the call so a missed reset is visible). */
typedef int (*op_fn)(mtasts_ctx *ctx, void **ret, struct mtasts_diag *d);
typedef void (*free_fn)(void *obj);
typedef void (*check_fn)(const void *obj);

struct job {
    mtasts_ctx *ctx;
    op_fn op;
    free_fn fr;
    check_fn check;
};

static int
run_job(void *arg)
{
    const struct job *j = arg;
    struct mtasts_diag d = MTASTS_DIAG_INIT;
    void *obj = (void *)(uintptr_t)1;
    int rc;

    rc = j->op(j->ctx, &obj, &d);
    harness_disarm();
    if (rc != MTASTS_OK) {
        assert_null(obj);
        return rc;
    }
    assert_non_null(obj);
    if (j->check != NULL)
        j->check(obj);
    j->fr(obj);
    return rc;
}

static void
sweep(mtasts_ctx *ctx, op_fn op, free_fn fr, check_fn check, const char *name)
{
    struct job j;

    j.ctx = ctx;
    j.op = op;
    j.fr = fr;
    j.check = check;
    harness_oom_sweep(name, run_job, &j, HARNESS_SWEEP_BOTH);
}

/* ------------------------------------------------------------------ */

static void
free_ctx(void *p)
{
    mtasts_ctx_free(p);
}

static void
free_rec(void *p)
{
    mtasts_sts_record_free(p);
}

static void
free_pol(void *p)
{
    mtasts_policy_free(p);
}

static int
op_ctx_new(mtasts_ctx *ctx, void **ret, struct mtasts_diag *d)
{
    mtasts_ctx *c = (mtasts_ctx *)(uintptr_t)1;
    int rc;

    (void)ctx;
    (void)d;
    rc = mtasts_ctx_new(harness_alloc(), &c);
    *ret = c;
    return rc;
}

static void
oom_ctx_new(void **state)
{
    (void)state;
    harness_reset();
    sweep(NULL, op_ctx_new, free_ctx, NULL, "ctx_new");
    harness_assert_clean();
}

/* TXT record parse: few and many (> 8, second scan) extensions. */
static const char rec_small[] = "v=STSv1; id=abc; x=1";
static const char rec_many[] = "v=STSv1; a=1; b=2; c=3; d=4; e=5; f=6; g=7; "
                               "h=8; i=9; j=10; id=many; k=11";

static int
op_rec_parse_small(mtasts_ctx *ctx, void **ret, struct mtasts_diag *d)
{
    mtasts_sts_record *r = (mtasts_sts_record *)(uintptr_t)1;
    int rc = mtasts_sts_record_parse(ctx, S(rec_small), 0, &r, d);

    *ret = r;
    return rc;
}

static int
op_rec_parse_many(mtasts_ctx *ctx, void **ret, struct mtasts_diag *d)
{
    mtasts_sts_record *r = (mtasts_sts_record *)(uintptr_t)1;
    int rc = mtasts_sts_record_parse(ctx, S(rec_many), 0, &r, d);

    *ret = r;
    return rc;
}

static void
check_rec_many(const void *p)
{
    assert_string_equal(mtasts_sts_record_id(p, NULL), "many");
    assert_int_equal(mtasts_sts_record_ext_count(p), 11);
}

static void
oom_sts_record_parse(void **state)
{
    sweep(*state, op_rec_parse_small, free_rec, NULL, "rec_parse_small");
    sweep(*state, op_rec_parse_many, free_rec, check_rec_many,
          "rec_parse_many");
}

/* select: the joined copy plus the record. */
static int
op_rec_select(mtasts_ctx *ctx, void **ret, struct mtasts_diag *d)
{
    static const char *const strs[] = {"v=spf1 -all", "v=STSv1; i", "d=sel",
                                       "; a=1"};
    static const size_t lens[] = {11, 10, 5, 5}, nstr[] = {1, 3};
    mtasts_sts_record *r = (mtasts_sts_record *)(uintptr_t)1;
    int outcome = -1, rc;

    rc = mtasts_sts_record_select(ctx, strs, lens, nstr, 2, 0, &outcome, &r, d);
    if (rc == MTASTS_OK)
        assert_int_equal(outcome, MTASTS_SELECT_FOUND);
    *ret = r;
    return rc;
}

static void
check_rec_sel(const void *p)
{
    assert_string_equal(mtasts_sts_record_id(p, NULL), "sel");
}

static void
oom_sts_record_select(void **state)
{
    sweep(*state, op_rec_select, free_rec, check_rec_sel, "rec_select");
}

/* An invalid candidate made of two strings allocates (the joined copy)
 * but returns no record; under OOM it must give ENOMEM, never a wrong
 * outcome. (A one-string record is parsed in place and allocates nothing
 * unless it is valid.) */
static int
run_select_invalid(void *arg)
{
    static const char *const strs[] = {"v=STSv1; ", "id=bad_"};
    static const size_t lens[] = {9, 7}, nstr[] = {2};
    mtasts_sts_record *r = (mtasts_sts_record *)(uintptr_t)1;
    int outcome = -1, rc;

    rc = mtasts_sts_record_select(arg, strs, lens, nstr, 1, 0, &outcome, &r,
                                  NULL);
    assert_null(r);
    if (rc == MTASTS_OK)
        assert_int_equal(outcome, MTASTS_SELECT_INVALID);
    return rc;
}

static void
oom_sts_record_select_invalid(void **state)
{
    harness_oom_sweep("rec_select_invalid", run_select_invalid, *state,
                      HARNESS_SWEEP_AT);
    assert_int_equal(harness_leaks(), 1);
}

static int
op_rec_build(mtasts_ctx *ctx, void **ret, struct mtasts_diag *d)
{
    static const char *const en[] = {"a", "b", "c", "d", "e",
                                     "f", "g", "h", "i", "j"};
    static const char *const ev[] = {"1", "2", "3", "4", "5",
                                     "6", "7", "8", "9", "10"};
    static const size_t enl[] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    static const size_t evl[] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 2};
    mtasts_sts_record *r = (mtasts_sts_record *)(uintptr_t)1;
    int rc = mtasts_sts_record_build(ctx, S("b1"), en, enl, ev, evl, 10, &r, d);

    *ret = r;
    return rc;
}

static int
op_rec_build_small(mtasts_ctx *ctx, void **ret, struct mtasts_diag *d)
{
    mtasts_sts_record *r = (mtasts_sts_record *)(uintptr_t)1;
    int rc =
        mtasts_sts_record_build(ctx, S("b2"), NULL, NULL, NULL, NULL, 0, &r, d);

    *ret = r;
    return rc;
}

static void
check_rec_build(const void *p)
{
    assert_int_equal(mtasts_sts_record_ext_count(p), 10);
}

static void
oom_sts_record_build(void **state)
{
    sweep(*state, op_rec_build_small, free_rec, NULL, "rec_build_small");
    sweep(*state, op_rec_build, free_rec, check_rec_build, "rec_build_many");
}

/* Policy parse: small, and one past every local sink (> 16 mx with a late
 * duplicate, > 8 extensions, > 24 lines) so the second scan allocates. */
static const char pol_small[] = "version: STSv1\nmode: enforce\n"
                                "mx: a.example\nmax_age: 86400\n";

static char pol_big[4096];
static size_t pol_big_len;

static void
make_pol_big(void)
{
    size_t n = 0, i;

    n += (size_t)snprintf(pol_big + n, sizeof(pol_big) - n,
                          "version: STSv1\r\nmode: testing\r\n");
    for (i = 0; i < 20; i++)
        n += (size_t)snprintf(pol_big + n, sizeof(pol_big) - n,
                              "mx: mx%zu.example\r\n", i);
    n += (size_t)snprintf(pol_big + n, sizeof(pol_big) - n,
                          "mx: MX18.example\r\n");
    for (i = 0; i < 10; i++)
        n += (size_t)snprintf(pol_big + n, sizeof(pol_big) - n,
                              "ext%zu: value %zu\n", i, i);
    n += (size_t)snprintf(pol_big + n, sizeof(pol_big) - n,
                          "ext9: again\nmax_age: 600\n");
    pol_big_len = n;
}

static int
op_pol_parse_small(mtasts_ctx *ctx, void **ret, struct mtasts_diag *d)
{
    mtasts_policy *p = (mtasts_policy *)(uintptr_t)1;
    int rc = mtasts_policy_parse(ctx, S(pol_small), 0, &p, d);

    *ret = p;
    return rc;
}

static int
op_pol_parse_big(mtasts_ctx *ctx, void **ret, struct mtasts_diag *d)
{
    mtasts_policy *p = (mtasts_policy *)(uintptr_t)1;
    int rc = mtasts_policy_parse(ctx, pol_big, pol_big_len, 0, &p, d);

    *ret = p;
    return rc;
}

static void
check_pol_big(const void *p)
{
    assert_int_equal(mtasts_policy_mx_count(p), 20);
    assert_int_equal(mtasts_policy_ext_count(p), 10);
    assert_int_equal(mtasts_policy_line_count(p), 35);
    assert_true(mtasts_policy_warnings(p) ==
                (MTASTS_WARN_BIT(MTASTS_W_DUPLICATE_MX) |
                 MTASTS_WARN_BIT(MTASTS_W_DUPLICATE_FIELD)));
}

static void
oom_policy_parse(void **state)
{
    make_pol_big();
    sweep(*state, op_pol_parse_small, free_pol, NULL, "pol_parse_small");
    sweep(*state, op_pol_parse_big, free_pol, check_pol_big, "pol_parse_big");
}

static int
op_pol_build_small(mtasts_ctx *ctx, void **ret, struct mtasts_diag *d)
{
    static const char *const mx[] = {"a.example"};
    static const size_t mxl[] = {9};
    mtasts_policy *p = (mtasts_policy *)(uintptr_t)1;
    int rc = pbuild(ctx, MTASTS_MODE_ENFORCE, 60, mx, mxl, 1, NULL, NULL, NULL,
                    NULL, 0, &p, d);

    *ret = p;
    return rc;
}

static int
op_pol_build_big(mtasts_ctx *ctx, void **ret, struct mtasts_diag *d)
{
    static char mxs[20][16], ens[10][8];
    static const char *mx[20], *en[10], *ev[10];
    static size_t mxl[20], enl[10], evl[10];
    mtasts_policy *p = (mtasts_policy *)(uintptr_t)1;
    size_t i;
    int rc;

    for (i = 0; i < 20; i++) {
        snprintf(mxs[i], sizeof(mxs[i]), "m%zu.example", i);
        mx[i] = mxs[i];
        mxl[i] = strlen(mxs[i]);
    }
    for (i = 0; i < 10; i++) {
        snprintf(ens[i], sizeof(ens[i]), "x%zu", i);
        en[i] = ens[i];
        enl[i] = strlen(ens[i]);
        ev[i] = "some value";
        evl[i] = 10;
    }
    rc = pbuild(ctx, MTASTS_MODE_TESTING, 60, mx, mxl, 20, en, enl, ev, evl, 10,
                &p, d);
    *ret = p;
    return rc;
}

static void
check_pol_build_big(const void *p)
{
    assert_int_equal(mtasts_policy_mx_count(p), 20);
    assert_int_equal(mtasts_policy_ext_count(p), 10);
    assert_int_equal(mtasts_policy_line_count(p), 33);
}

static void
oom_policy_build(void **state)
{
    sweep(*state, op_pol_build_small, free_pol, NULL, "pol_build_small");
    sweep(*state, op_pol_build_big, free_pol, check_pol_build_big,
          "pol_build_big");
}

/* A diagnostic passed to a failing call reports the status it returned
 * ("On failure code is the returned status"), MTASTS_ENOMEM included. */
static void
oom_diag_reports_enomem(void **state)
{
    static const struct {
        op_fn op;
        const char *name;
    } ops[] = {
        {op_rec_parse_small, "sts_record_parse"},
        {op_rec_select, "sts_record_select"},
        {op_rec_build_small, "sts_record_build"},
        {op_pol_parse_small, "policy_parse"},
        {op_pol_build_small, "policy_build"},
    };
    mtasts_ctx *ctx = *state;
    struct mtasts_diag d;
    size_t i, bad = 0;
    void *obj;
    int rc;

    for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
        memset(&d, 0, sizeof(d));
        d.version = MTASTS_DIAG_VERSION;
        d.code = 12345;
        harness_fail_from(0);
        rc = ops[i].op(ctx, &obj, &d);
        harness_fail_at(-1);
        assert_int_equal(rc, MTASTS_ENOMEM);
        if (d.code != MTASTS_ENOMEM) {
            print_error("%s: ENOMEM returned but diag.code is %d\n",
                        ops[i].name, d.code);
            bad++;
        }
    }
    assert_int_equal(bad, 0);
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, harness_setup, harness_teardown)
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(oom_ctx_new), T(oom_sts_record_parse),
        T(oom_sts_record_select),      T(oom_sts_record_select_invalid),
        T(oom_sts_record_build),       T(oom_policy_parse),
        T(oom_policy_build),           T(oom_diag_reports_enomem),
    };
#undef T

    return cmocka_run_group_tests_name("oom", tests, NULL, NULL);
}
