/*
 * Allocation failures over whole lookups: for N = 0, 1, ... the N-th
 * allocation fails, until the script completes without a failure. Every
 * failure must surface as MTASTS_ENOMEM from mtasts_lookup_new,
 * put_txt, put_fetch or next; the machine is then fatal (next and the
 * put functions return the error), nothing leaks, and the lookup can be
 * freed.
 */
#include <stdio.h>
#include <stdlib.h>

#include "dharness.h"

#define T0  INT64_C(1700000000)
#define DOM "example.com"
#define ENFORCE                                                               \
    "version: STSv1\nmode: enforce\nmx: mx1.example.com\nmx: *.example.net\n" \
    "max_age: 604800\n"
#define TESTING                                                     \
    "version: STSv1\nmode: testing\nmx: mx1.example.com\nmax_age: " \
    "86400\n"

static struct dh_answers
ans(const char *rec, const char *body)
{
    struct dh_answers a;

    memset(&a, 0, sizeof(a));
    a.dns = MTASTS_DNS_OK;
    a.rr[0][0] = rec;
    a.transport = MTASTS_FETCH_OK;
    a.http = 200;
    a.ctype = "text/plain";
    a.body = body;
    return a;
}

/* Seed st with a policy fetched at t (no failures injected). */
static void
seed(mtasts_ctx *ctx, struct dh_store *st, const char *rec, const char *body,
     int64_t t)
{
    struct dh_answers a = ans(rec, body);
    struct dh_run r;

    harness_fail_at(-1);
    st->present = 0;
    assert_int_equal(dh_lookup(ctx, DOM, st, t, 0, &a, &r), MTASTS_OK);
    assert_int_equal(dh_apply(st, r.lk), MTASTS_OK);
    mtasts_lookup_free(r.lk);
}

struct script {
    const char *name;
    const char *seed_rec, *seed_body; /* NULL: nothing cached */
    int64_t now;
    unsigned flags;
    struct dh_answers a;
    int outcome, why;
};

struct script_job {
    mtasts_ctx *ctx;
    const struct script *s;
    struct dh_store *st, *out;
};

/* One run of a script; checks what a failed allocation leaves behind. */
static int
run_script(void *arg)
{
    const struct script_job *j = arg;
    const struct script *s = j->s;
    struct dh_run r;
    int rc;

    rc = dh_lookup(j->ctx, DOM, j->st, s->now, s->flags, &s->a, &r);
    harness_disarm();
    if (harness_failures() == 0) {
        /* the script completed: the expected result */
        assert_int_equal(rc, MTASTS_OK);
        assert_int_equal(mtasts_lookup_outcome(r.lk), s->outcome);
        assert_int_equal(mtasts_lookup_why(r.lk), s->why);
        *j->out = *j->st;
        assert_int_equal(dh_apply(j->out, r.lk), MTASTS_OK);
        mtasts_lookup_free(r.lk);
        return rc;
    }
    if (rc != MTASTS_ENOMEM)
        print_message("%s: allocation %zu failed -> %s at stage %d\n", s->name,
                      harness_attempts(), mtasts_status_name(rc), r.stage);
    assert_int_equal(rc, MTASTS_ENOMEM);
    assert_int_equal(harness_failures(), 1);
    if (r.stage == 1) {
        assert_null(r.lk);
    } else {
        static const char *const strs[] = {"v=STSv1; id=z"};
        static const size_t lens[] = {13}, nstr[] = {1};
        size_t need;

        assert_non_null(r.lk);
        /* fatal: every call reports the error */
        assert_int_equal(mtasts_lookup_next(r.lk), MTASTS_ENOMEM);
        assert_int_equal(mtasts_lookup_next(r.lk), MTASTS_ENOMEM);
        assert_int_equal(
            mtasts_lookup_put_txt(r.lk, MTASTS_DNS_OK, strs, lens, nstr, 1),
            MTASTS_ENOMEM);
        assert_int_equal(mtasts_lookup_put_fetch(r.lk, MTASTS_FETCH_OK, 200,
                                                 S("text/plain"), S(ENFORCE)),
                         MTASTS_ENOMEM);
        assert_int_equal(mtasts_lookup_outcome(r.lk), 0);
        assert_null(mtasts_lookup_policy(r.lk));
        assert_int_equal(mtasts_lookup_entry_action(r.lk),
                         MTASTS_ENTRY_ACTION_UNCHANGED);
        assert_int_equal(mtasts_lookup_entry(r.lk, NULL, 0, &need),
                         MTASTS_ESTATE);
        mtasts_lookup_free(r.lk);
    }
    return rc;
}

/* Run one script under "fail the N-th allocation" for every N. */
static void
sweep(mtasts_ctx *ctx, const struct script *s)
{
    struct script_job j;
    size_t steps;

    j.ctx = ctx;
    j.s = s;
    j.st = malloc(sizeof(*j.st));
    j.out = malloc(sizeof(*j.out));
    assert_non_null(j.st);
    assert_non_null(j.out);
    j.st->present = 0;
    if (s->seed_rec != NULL)
        seed(ctx, j.st, s->seed_rec, s->seed_body, T0);
    steps = harness_oom_sweep(s->name, run_script, &j, HARNESS_SWEEP_AT);
    print_message("%s: %zu allocation points\n", s->name, steps);
    free(j.st);
    free(j.out);
}

static void
oom_t02_fetch_success(void **state)
{
    struct script s = {"T2",
                       NULL,
                       NULL,
                       T0,
                       0,
                       ans("v=STSv1; id=a", ENFORCE),
                       MTASTS_OUTCOME_APPLY,
                       MTASTS_WHY_FETCHED};

    sweep(*state, &s);
}

static void
oom_t03_changed_id(void **state)
{
    struct script s = {"T3",
                       "v=STSv1; id=a",
                       ENFORCE,
                       T0 + 100,
                       0,
                       ans("v=STSv1; id=b", TESTING),
                       MTASTS_OUTCOME_APPLY,
                       MTASTS_WHY_FETCHED};

    sweep(*state, &s);
}

static void
oom_t10_refresh_success(void **state)
{
    struct script s = {"T10",
                       "v=STSv1; id=a",
                       ENFORCE,
                       T0 + 86400,
                       0,
                       ans("v=STSv1; id=a", TESTING),
                       MTASTS_OUTCOME_APPLY,
                       MTASTS_WHY_FETCHED};

    sweep(*state, &s);
}

static void
oom_t17_fetch_fails_cached(void **state)
{
    struct script s = {"T17",
                       "v=STSv1; id=a",
                       ENFORCE,
                       T0 + 100,
                       0,
                       ans("v=STSv1; id=b", ENFORCE),
                       MTASTS_OUTCOME_APPLY,
                       MTASTS_WHY_FETCH_FAILED};

    s.a.http = 500;
    sweep(*state, &s);
}

static void
oom_t18_fetch_fails_no_cache(void **state)
{
    struct script s = {"T18",
                       NULL,
                       NULL,
                       T0,
                       0,
                       ans("v=STSv1; id=a", "not a policy"),
                       MTASTS_OUTCOME_NO_POLICY,
                       MTASTS_WHY_FETCH_FAILED};

    sweep(*state, &s);
}

/* the cached entry is decoded in mtasts_lookup_new and copied when
 * last-used is rewritten */
static void
oom_cached_entry_decode(void **state)
{
    struct script s = {"decode+T5",
                       "v=STSv1; id=a",
                       ENFORCE,
                       T0 + 7200,
                       0,
                       ans(NULL, NULL),
                       MTASTS_OUTCOME_APPLY,
                       MTASTS_WHY_TXT_TEMPFAIL};

    s.a.dns = MTASTS_DNS_TEMPFAIL;
    sweep(*state, &s);
}

/* T11 (extension: copy of the cached entry) and T13 (backoff) */
static void
oom_t11_t13(void **state)
{
    struct script s11 = {"T11",
                         "v=STSv1; id=a",
                         TESTING,
                         T0 + 60,
                         0,
                         ans("v=STSv1; id=a", NULL),
                         MTASTS_OUTCOME_APPLY,
                         MTASTS_WHY_CACHED};
    struct script s8 = {"T8",
                        "v=STSv1; id=a",
                        ENFORCE,
                        T0 + 60,
                        MTASTS_LOOKUP_F_REFRESH,
                        ans(NULL, TESTING),
                        MTASTS_OUTCOME_APPLY,
                        MTASTS_WHY_FETCHED};

    assert_int_equal(
        mtasts_ctx_set_option(*state, MTASTS_OPT_EXTEND_SAME_ID, 172800),
        MTASTS_OK);
    sweep(*state, &s11);
    s8.a.dns = MTASTS_DNS_NXDOMAIN;
    sweep(*state, &s8);
}

/* Entry decode and encode on their own. */
static void
oom_entry_codec(void **state)
{
    struct dh_store *st = malloc(sizeof(*st));
    uint8_t *buf = malloc(sizeof(st->buf));
    mtasts_entry *e;
    size_t need;
    long n;
    int rc;

    assert_non_null(st);
    assert_non_null(buf);
    seed(*state, st, "v=STSv1; id=a", ENFORCE, T0);
    for (n = 0;; n++) {
        harness_fail_at(n);
        e = NULL;
        rc = mtasts_entry_decode(*state, st->buf, st->len, &e, NULL);
        if (harness_failures() == 0) {
            assert_int_equal(rc, MTASTS_OK);
            break;
        }
        assert_int_equal(rc, MTASTS_ENOMEM);
        assert_null(e);
        assert_int_equal(harness_leaks(), 1);
    }
    /* encoding allocates nothing */
    harness_fail_at(0);
    assert_int_equal(mtasts_entry_encode(e, buf, sizeof(st->buf), &need),
                     MTASTS_OK);
    assert_int_equal(harness_attempts(), 0);
    assert_int_equal(need, st->len);
    assert_memory_equal(buf, st->buf, need);
    harness_fail_at(-1);
    mtasts_entry_free(e);
    free(buf);
    free(st);
}

/* The callback driver passes ENOMEM through. */
static int
sync_txt(void *user, mtasts_lookup *lk, const char *q, size_t ql)
{
    (void)q;
    (void)ql;
    (void)dh_put_txt(lk, user); /* its status shows in the drive's */
    return 0;
}

static int
sync_fetch(void *user, mtasts_lookup *lk, const char *u, size_t ul,
           const char *h, size_t hl, uint32_t t, size_t m)
{
    (void)u;
    (void)ul;
    (void)h;
    (void)hl;
    (void)t;
    (void)m;
    (void)dh_put_fetch(lk, user);
    return 0;
}

static int
run_drive(void *arg)
{
    static const struct mtasts_io io = {MTASTS_IO_VERSION, sync_txt, sync_fetch,
                                        NULL};
    struct dh_answers a = ans("v=STSv1; id=a", ENFORCE);
    mtasts_lookup *lk = NULL;
    int rc;

    rc = mtasts_lookup_new(arg, S(DOM), NULL, 0, T0, 0, &lk);
    if (rc == MTASTS_OK)
        rc = mtasts_lookup_drive(lk, &io, &a);
    harness_disarm();
    if (rc == MTASTS_OK)
        assert_int_equal(mtasts_lookup_outcome(lk), MTASTS_OUTCOME_APPLY);
    mtasts_lookup_free(lk);
    return rc;
}

static void
oom_drive(void **state)
{
    harness_oom_sweep("drive", run_drive, *state, HARNESS_SWEEP_AT);
    assert_int_equal(harness_leaks(), 1);
}

/* A context cannot be made without memory either. */
static void
oom_ctx_new(void **state)
{
    mtasts_ctx *ctx = (mtasts_ctx *)1;

    (void)state;
    harness_fail_at(0);
    assert_int_equal(mtasts_ctx_new(harness_alloc(), &ctx), MTASTS_ENOMEM);
    assert_null(ctx);
    harness_fail_at(-1);
}

#define T(f) cmocka_unit_test_setup_teardown(f, harness_setup, harness_teardown)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        T(oom_t02_fetch_success),
        T(oom_t03_changed_id),
        T(oom_t10_refresh_success),
        T(oom_t17_fetch_fails_cached),
        T(oom_t18_fetch_fails_no_cache),
        T(oom_cached_entry_decode),
        T(oom_t11_t13),
        T(oom_entry_codec),
        T(oom_drive),
        T(oom_ctx_new),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
