/*
 * The store's front (store/store.c) with the memory backend: the horizon
 * and the order of entries, checked against the core's discovery rules
 * (why the horizon is max(expires, backoff-until) + grace and nothing
 * more), the refresh time of entries read from a backend (the same as the
 * core's), and get / put / delete / apply through the bounded cache.
 *
 * Run without arguments for the functional suite, with "--oom" for the
 * allocation-failure sweeps.
 */
#include <stdio.h>
#include <stdlib.h>

#include "sthelp.h"

static const struct dh_answers ok_id1 = {MTASTS_DNS_OK,
                                         {{"v=STSv1; id=id1;", NULL}},
                                         MTASTS_FETCH_OK,
                                         200,
                                         "text/plain",
                                         STH_BODY,
                                         0};
static const struct dh_answers fail_id1 = {MTASTS_DNS_OK,
                                           {{"v=STSv1; id=id1;", NULL}},
                                           MTASTS_FETCH_CONNECT,
                                           0,
                                           NULL,
                                           NULL,
                                           0};

static struct dh_store *
new_dstore(void)
{
    struct dh_store *st = calloc(1, sizeof(*st));

    assert_non_null(st);
    return st;
}

/* ------------------------------------------------------------------ */
/* Horizon and order                                                   */
/* ------------------------------------------------------------------ */

static void
test_horizon_values(void **state)
{
    mtasts_ctx *ctx = *state;
    uint8_t b[2048];
    mtasts_entry *e;
    size_t n;
    struct sth_times t;

    /* a policy, no backoff: the policy's expiry */
    n = sth_simple(ctx, b, sizeof(b), "example.com", T0, WEEK, T0);
    e = sth_decode(ctx, b, n);
    assert_int_equal(mtasts_store_horizon(e, 0), T0 + WEEK);
    assert_int_equal(mtasts_store_horizon(e, 3600), T0 + WEEK + 3600);
    assert_int_equal(mtasts_store_horizon(e, -5), T0 + WEEK);
    assert_int_equal(mtasts_store_horizon(e, INT64_MAX), INT64_MAX);
    mtasts_entry_free(e);

    /* a backoff that outlasts the policy: the backoff's end */
    t.fetched = T0;
    t.expires = T0 + DAY;
    t.backoff_until = T0 + DAY + 250;
    t.last_used = T0 + DAY - 50;
    n = sth_entry(ctx, b, sizeof(b), "example.com", "id1", t, "id2", 9, 1);
    e = sth_decode(ctx, b, n);
    assert_int_equal(mtasts_store_horizon(e, 0), T0 + DAY + 250);
    assert_int_equal(mtasts_store_horizon(e, 60), T0 + DAY + 310);
    mtasts_entry_free(e);

    /* a backoff inside the policy's life: still the expiry */
    t.backoff_until = T0 + 300;
    n = sth_entry(ctx, b, sizeof(b), "example.com", "id1", t, "id2", 9, 1);
    e = sth_decode(ctx, b, n);
    assert_int_equal(mtasts_store_horizon(e, 0), T0 + DAY);
    mtasts_entry_free(e);

    /* a backoff only (no policy) */
    t.fetched = t.expires = t.last_used = 0;
    t.backoff_until = T0 + 300;
    n = sth_entry(ctx, b, sizeof(b), "example.com", "", t, "id1", 11, 0);
    e = sth_decode(ctx, b, n);
    assert_int_equal(mtasts_store_horizon(e, 0), T0 + 300);
    assert_int_equal(mtasts_store_horizon(e, 10), T0 + 310);
    mtasts_entry_free(e);

    /* max_age 0 (T19): never valid later, kept for the grace only */
    n = sth_simple(ctx, b, sizeof(b), "example.com", T0, 0, T0);
    e = sth_decode(ctx, b, n);
    assert_int_equal(mtasts_store_horizon(e, 0), T0);
    assert_int_equal(mtasts_store_horizon(e, 100), T0 + 100);
    mtasts_entry_free(e);

    assert_int_equal(mtasts_store_horizon(NULL, 100), 0);
}

static void
test_order(void **state)
{
    mtasts_ctx *ctx = *state;
    uint8_t b[2048];
    mtasts_entry *e[6];
    struct sth_times t[6] = {
        {T0, T0 + WEEK, 0, T0},               /* 0 */
        {T0, T0 + WEEK, 0, T0 + 3600},        /* 1: used later */
        {T0, T0 + WEEK, T0 + 300, T0},        /* 2: a failed refresh */
        {T0, T0 + WEEK + 100, 0, T0},         /* 3: extended */
        {T0 + 10, T0 + 10 + DAY, 0, T0 + 10}, /* 4: fetched later */
        {0, 0, T0 + 9999, 0},                 /* 5: backoff only */
    };
    size_t i, j, n;

    for (i = 0; i < 6; i++) {
        n = sth_entry(ctx, b, sizeof(b), "example.com", i == 5 ? "" : "id1",
                      t[i], i == 2 || i == 5 ? "id2" : NULL,
                      i == 2 || i == 5 ? 9 : 0, i != 5);
        e[i] = sth_decode(ctx, b, n);
    }
    /* fetched first, then expires, backoff-until, last-used */
    assert_true(mtasts_store_entry_cmp(e[1], e[0]) > 0);
    assert_true(mtasts_store_entry_cmp(e[2], e[0]) > 0);
    assert_true(mtasts_store_entry_cmp(e[2], e[1]) > 0);
    assert_true(mtasts_store_entry_cmp(e[3], e[2]) > 0);
    assert_true(mtasts_store_entry_cmp(e[4], e[3]) > 0);
    assert_true(mtasts_store_entry_cmp(e[5], e[0]) < 0);
    for (i = 0; i < 6; i++) {
        assert_int_equal(mtasts_store_entry_cmp(e[i], e[i]), 0);
        for (j = 0; j < 6; j++)
            assert_int_equal(mtasts_store_entry_cmp(e[i], e[j]),
                             -mtasts_store_entry_cmp(e[j], e[i]));
    }
    for (i = 0; i < 6; i++)
        mtasts_entry_free(e[i]);
}

/* ------------------------------------------------------------------ */
/* The horizon against the core's rules (doc/discovery.md)             */
/* ------------------------------------------------------------------ */

/* The entry of a successful first fetch at now. */
static void
fetch_at(mtasts_ctx *ctx, struct dh_store *st, int64_t now)
{
    struct dh_run r;

    assert_int_equal(dh_lookup(ctx, "example.com", st, now, 0, &ok_id1, &r),
                     MTASTS_OK);
    assert_int_equal(mtasts_lookup_why(r.lk), MTASTS_WHY_FETCHED);
    assert_int_equal(dh_apply(st, r.lk), MTASTS_OK);
    mtasts_lookup_free(r.lk);
}

/* A fetch backoff can outlast the policy (T17 near the expiry): until it
 * ends, the entry spares the fetch and reports the failure (T13); an
 * entry dropped at the policy's expiry (a TTL of max_age) would fetch
 * again at once. So the horizon covers the backoff. */
static void
test_horizon_keeps_backoff(void **state)
{
    mtasts_ctx *ctx = *state;
    struct dh_store *st = new_dstore();
    struct dh_run r;
    mtasts_entry *e;
    int64_t t1, t2, h;

    /* policy with max_age one week; refresh after a day */
    fetch_at(ctx, st, T0);
    /* a refresh attempt 200 s before the expiry fails */
    t1 = T0 + WEEK - 200;
    assert_int_equal(dh_lookup(ctx, "example.com", st, t1, 0, &fail_id1, &r),
                     MTASTS_OK);
    assert_int_equal(r.fetch_calls, 1);
    assert_int_equal(dh_apply(st, r.lk), MTASTS_OK);
    mtasts_lookup_free(r.lk);
    e = sth_decode(ctx, st->buf, st->len);
    assert_true(mtasts_entry_time(e, MTASTS_ENTRY_TIME_BACKOFF_UNTIL) >
                mtasts_entry_time(e, MTASTS_ENTRY_TIME_EXPIRES_AT));
    h = mtasts_store_horizon(e, 0);
    assert_int_equal(h, mtasts_entry_time(e, MTASTS_ENTRY_TIME_BACKOFF_UNTIL));
    mtasts_entry_free(e);

    /* after the expiry, inside the backoff: with the entry, no fetch and
     * the failure reported */
    t2 = T0 + WEEK + 50;
    assert_true(t2 < h);
    assert_int_equal(dh_lookup(ctx, "example.com", st, t2, 0, &ok_id1, &r),
                     MTASTS_OK);
    assert_int_equal(r.fetch_calls, 0);
    assert_int_equal(mtasts_lookup_why(r.lk), MTASTS_WHY_BACKOFF);
    assert_int_equal(mtasts_lookup_result_type(r.lk),
                     MTASTS_RESULT_STS_POLICY_FETCH_ERROR);
    mtasts_lookup_free(r.lk);
    /* without it (dropped at max_age), a fetch */
    assert_int_equal(dh_lookup(ctx, "example.com", NULL, t2, 0, &ok_id1, &r),
                     MTASTS_OK);
    assert_int_equal(r.fetch_calls, 1);
    mtasts_lookup_free(r.lk);
    free(st);
}

/* Past the horizon, an entry changes nothing: an expired policy with the
 * same id is fetched again (T15), exactly as with no entry, success or
 * failure alike; and the same-id extension (T11, MTASTS_OPT_EXTEND_SAME_ID)
 * applies to valid entries only, each extension being a new entry with a
 * later horizon, written again. */
static void
test_horizon_past_is_nothing(void **state)
{
    mtasts_ctx *ctx = *state;
    struct dh_store *st = new_dstore(), *old = new_dstore();
    const struct dh_answers *ans[2] = {&ok_id1, &fail_id1};
    struct dh_run with, without;
    mtasts_entry *e, *e2;
    int64_t t, h;
    size_t i;

    fetch_at(ctx, st, T0);
    e = sth_decode(ctx, st->buf, st->len);
    h = mtasts_store_horizon(e, 0);
    mtasts_entry_free(e);
    for (i = 0; i < 2; i++) {
        t = h + 1;
        assert_int_equal(dh_lookup(ctx, "example.com", st, t, 0, ans[i], &with),
                         MTASTS_OK);
        assert_int_equal(
            dh_lookup(ctx, "example.com", NULL, t, 0, ans[i], &without),
            MTASTS_OK);
        assert_int_equal(with.fetch_calls, 1);
        assert_int_equal(without.fetch_calls, 1);
        assert_int_equal(mtasts_lookup_outcome(with.lk),
                         mtasts_lookup_outcome(without.lk));
        assert_int_equal(mtasts_lookup_result_type(with.lk),
                         mtasts_lookup_result_type(without.lk));
        mtasts_lookup_free(with.lk);
        mtasts_lookup_free(without.lk);
    }

    /* the extension: valid entries only */
    assert_int_equal(
        mtasts_ctx_set_option(ctx, MTASTS_OPT_EXTEND_SAME_ID, 4 * WEEK),
        MTASTS_OK);
    assert_int_equal(mtasts_ctx_set_option(ctx, MTASTS_OPT_REFRESH_INTERVAL, 0),
                     MTASTS_OK);
    *old = *st;
    t = T0 + 3 * DAY;
    assert_int_equal(dh_lookup(ctx, "example.com", st, t, 0, &ok_id1, &with),
                     MTASTS_OK);
    assert_int_equal(with.fetch_calls, 0);
    assert_int_equal(mtasts_lookup_entry_action(with.lk),
                     MTASTS_ENTRY_ACTION_STORE);
    assert_int_equal(dh_apply(st, with.lk), MTASTS_OK);
    mtasts_lookup_free(with.lk);
    e = sth_decode(ctx, old->buf, old->len);
    e2 = sth_decode(ctx, st->buf, st->len);
    assert_int_equal(mtasts_store_horizon(e2, 0), t + WEEK);
    assert_true(mtasts_store_horizon(e2, 0) > mtasts_store_horizon(e, 0));
    /* the extended entry is newer in the store's order: its write wins */
    assert_true(mtasts_store_entry_cmp(e2, e) > 0);
    mtasts_entry_free(e);
    mtasts_entry_free(e2);
    /* an expired entry is not extended, whatever the option: a fetch */
    t = T0 + 3 * DAY + WEEK + 1;
    assert_int_equal(dh_lookup(ctx, "example.com", st, t, 0, &fail_id1, &with),
                     MTASTS_OK);
    assert_int_equal(with.fetch_calls, 1);
    assert_int_equal(mtasts_lookup_outcome(with.lk), MTASTS_OUTCOME_NO_POLICY);
    mtasts_lookup_free(with.lk);
    free(st);
    free(old);
}

/* mtasts_store_refresh_at() gives what the core's lookup gives for the
 * entry it stores, over fetches, failures and options. */
static void
test_refresh_at_matches_core(void **state)
{
    mtasts_ctx *ctx = *state;
    struct dh_store *st = new_dstore();
    static const int64_t intervals[] = {DAY, 0, 3600, 10 * WEEK};
    struct dh_run r;
    mtasts_entry *e;
    size_t i, k;
    int64_t t;

    for (i = 0; i < sizeof(intervals) / sizeof(intervals[0]); i++) {
        assert_int_equal(mtasts_ctx_set_option(ctx, MTASTS_OPT_REFRESH_INTERVAL,
                                               intervals[i]),
                         MTASTS_OK);
        st->present = 0;
        for (k = 0; k < 6; k++) {
            t = T0 + (int64_t)k * 2 * DAY + 7;
            assert_int_equal(dh_lookup(ctx, "example.com", st, t,
                                       k == 2 ? MTASTS_LOOKUP_F_REFRESH : 0,
                                       k % 2 ? &fail_id1 : &ok_id1, &r),
                             MTASTS_OK);
            assert_int_equal(dh_apply(st, r.lk), MTASTS_OK);
            if (st->present) {
                e = sth_decode(ctx, st->buf, st->len);
                assert_int_equal(mtasts_store_refresh_at(ctx, e, t),
                                 mtasts_lookup_refresh_at(r.lk));
                mtasts_entry_free(e);
            }
            mtasts_lookup_free(r.lk);
        }
    }
    assert_int_equal(mtasts_store_refresh_at(NULL, NULL, T0), 0);
    free(st);
}

/* ------------------------------------------------------------------ */
/* The memory store                                                    */
/* ------------------------------------------------------------------ */

static mtasts_store *
open_mem(mtasts_ctx *ctx, struct sth_log *log)
{
    mtasts_store_config cfg;
    mtasts_store *s = NULL;

    mtasts_store_config_init(&cfg);
    cfg.alloc = harness_alloc();
    cfg.log = sth_log;
    cfg.log_arg = log;
    assert_int_equal(mtasts_store_open(ctx, &cfg, T0, &s), MTASTS_OK);
    return s;
}

static void
test_memory_store(void **state)
{
    mtasts_ctx *ctx = *state;
    struct sth_log log = {0};
    mtasts_store *s = open_mem(ctx, &log);
    mtasts_store_stats st;
    uint8_t b[2048];
    const uint8_t *p;
    size_t n, pn;

    assert_int_equal(mtasts_store_state(s), MTASTS_STORE_STATE_MEMORY);
    n = sth_simple(ctx, b, sizeof(b), "example.com", T0, WEEK, T0);
    assert_int_equal(mtasts_store_put(s, b, n, T0 + DAY, T0), MTASTS_OK);
    assert_int_equal(mtasts_store_get(s, S("EXAMPLE.com."), T0, 0, &p, &pn),
                     MTASTS_OK);
    assert_non_null(p);
    assert_int_equal(pn, n);
    assert_memory_equal(p, b, n);
    assert_int_equal(mtasts_store_get(s, S("other.example"), T0, 0, &p, &pn),
                     MTASTS_OK);
    assert_null(p);
    assert_int_equal(pn, 0);
    /* the planner sees the refresh time given */
    {
        char dom[300];
        size_t dn = 0;
        int64_t due = 0;
        assert_int_equal(mtasts_cache_next_refresh(mtasts_store_memory(s), T0,
                                                   DAY, 0, dom, sizeof(dom),
                                                   &dn, &due),
                         MTASTS_OK);
        assert_string_equal(dom, "example.com");
        assert_int_equal(due, T0 + DAY);
    }
    mtasts_store_get_stats(s, &st);
    assert_int_equal(st.gets, 2);
    assert_int_equal(st.memory_hits, 1);
    assert_int_equal(st.misses, 1);
    assert_int_equal(st.puts, 1);
    assert_int_equal(st.backend_writes, 0);
    assert_int_equal(st.memory_entries, 1);
    assert_int_equal(st.memory_bytes, n);
    assert_int_equal(st.state, MTASTS_STORE_STATE_MEMORY);

    /* bad input */
    assert_int_equal(mtasts_store_put(s, (const uint8_t *)"garbage", 7, 0, T0),
                     MTASTS_ESYNTAX);
    b[n - 3] ^= 1;
    assert_int_equal(mtasts_store_put(s, b, n, 0, T0), MTASTS_ECORRUPT);
    assert_int_equal(mtasts_store_get(s, S("no_underscore_"), T0, 0, &p, &pn),
                     MTASTS_ESYNTAX);
    assert_int_equal(mtasts_store_get(s, NULL, 0, T0, 0, &p, &pn),
                     MTASTS_EINVAL);
    assert_int_equal(mtasts_store_get(NULL, S("a.example"), T0, 0, &p, &pn),
                     MTASTS_EINVAL);
    assert_int_equal(mtasts_store_put(s, NULL, 0, 0, T0), MTASTS_EINVAL);
    assert_int_equal(mtasts_store_delete(s, S("a.example"), NULL, 3, T0),
                     MTASTS_EINVAL);

    /* delete */
    assert_int_equal(mtasts_store_delete(s, S("Example.COM"), NULL, 0, T0),
                     MTASTS_OK);
    assert_int_equal(mtasts_store_get(s, S("example.com"), T0, 0, &p, &pn),
                     MTASTS_OK);
    assert_null(p);
    assert_int_equal(mtasts_store_purge(s, T0, &n), MTASTS_OK);
    assert_int_equal(n, 0);
    assert_int_equal(log.lines, 0);
    mtasts_store_free(s);
    mtasts_store_free(NULL);
}

static void
test_memory_apply(void **state)
{
    mtasts_ctx *ctx = *state;
    struct sth_log log = {0};
    mtasts_store *s = open_mem(ctx, &log);
    struct dh_store *st = new_dstore();
    struct dh_answers gone = {
        MTASTS_DNS_NXDOMAIN, {{NULL}}, 0, 0, NULL, NULL, 0};
    struct dh_answers none_pol = ok_id1;
    struct dh_run r;
    const uint8_t *p;
    size_t pn;

    /* not done yet */
    assert_int_equal(
        mtasts_lookup_new(ctx, S("example.com"), NULL, 0, T0, 0, &r.lk),
        MTASTS_OK);
    assert_int_equal(mtasts_store_apply(s, r.lk, T0), MTASTS_ESTATE);
    mtasts_lookup_free(r.lk);

    assert_int_equal(dh_lookup(ctx, "example.com", NULL, T0, 0, &ok_id1, &r),
                     MTASTS_OK);
    assert_int_equal(mtasts_store_apply(s, r.lk, T0), MTASTS_OK);
    assert_int_equal(dh_apply(st, r.lk), MTASTS_OK);
    mtasts_lookup_free(r.lk);
    assert_int_equal(mtasts_store_get(s, S("example.com"), T0, 0, &p, &pn),
                     MTASTS_OK);
    assert_int_equal(pn, st->len);
    assert_memory_equal(p, st->buf, pn);

    /* a none policy, then the record gone: T7 deletes */
    none_pol.body = "version: STSv1\nmode: none\nmax_age: 86400\n";
    none_pol.rr[0][0] = "v=STSv1; id=id2;";
    assert_int_equal(
        dh_lookup(ctx, "example.com", st, T0 + 10, 0, &none_pol, &r),
        MTASTS_OK);
    assert_int_equal(mtasts_store_apply(s, r.lk, T0 + 10), MTASTS_OK);
    assert_int_equal(dh_apply(st, r.lk), MTASTS_OK);
    mtasts_lookup_free(r.lk);
    assert_int_equal(dh_lookup(ctx, "example.com", st, T0 + 20, 0, &gone, &r),
                     MTASTS_OK);
    assert_int_equal(mtasts_lookup_entry_action(r.lk),
                     MTASTS_ENTRY_ACTION_DELETE);
    assert_int_equal(mtasts_store_apply(s, r.lk, T0 + 20), MTASTS_OK);
    mtasts_lookup_free(r.lk);
    assert_int_equal(mtasts_store_get(s, S("example.com"), T0, 0, &p, &pn),
                     MTASTS_OK);
    assert_null(p);
    assert_int_equal(mtasts_store_apply(NULL, NULL, T0), MTASTS_EINVAL);
    mtasts_store_free(s);
    free(st);
}

static void
test_config(void **state)
{
    mtasts_ctx *ctx = *state;
    mtasts_store_config cfg;
    mtasts_store *s = (mtasts_store *)&cfg;

    mtasts_store_config_init(&cfg);
    assert_int_equal(cfg.backend, MTASTS_STORE_MEMORY);
    assert_int_equal(cfg.grace, 3600);
    assert_string_equal(cfg.redis_prefix, "mtasts");
    assert_int_equal(mtasts_store_open(NULL, &cfg, T0, &s), MTASTS_EINVAL);
    assert_null(s);
    assert_int_equal(mtasts_store_open(ctx, NULL, T0, &s), MTASTS_EINVAL);
    cfg.memory_entries = 0;
    assert_int_equal(mtasts_store_open(ctx, &cfg, T0, &s), MTASTS_EINVAL);
    mtasts_store_config_init(&cfg);
    cfg.retry_max = 0;
    assert_int_equal(mtasts_store_open(ctx, &cfg, T0, &s), MTASTS_EINVAL);
    mtasts_store_config_init(&cfg);
    cfg.backend = 77;
    assert_int_equal(mtasts_store_open(ctx, &cfg, T0, &s), MTASTS_EINVAL);
    mtasts_store_config_init(&cfg);
    cfg.backend = MTASTS_STORE_SQLITE; /* no path */
    assert_int_equal(mtasts_store_open(ctx, &cfg, T0, &s), MTASTS_EINVAL);
    mtasts_store_config_init(&cfg);
    cfg.backend = MTASTS_STORE_REDIS;
    cfg.redis_port = 0;
    assert_int_equal(mtasts_store_open(ctx, &cfg, T0, &s), MTASTS_EINVAL);
    assert_string_equal(mtasts_store_backend_name(MTASTS_STORE_SQLITE),
                        "sqlite");
    assert_string_equal(mtasts_store_backend_name(9), "unknown");
    assert_int_equal(mtasts_store_backend_built(MTASTS_STORE_MEMORY), 1);
    assert_int_equal(mtasts_store_backend_built(9), 0);
    assert_int_equal(mtasts_store_state(NULL), MTASTS_STORE_STATE_MEMORY);
    assert_null(mtasts_store_memory(NULL));
}

/* ------------------------------------------------------------------ */
/* Allocation failures                                                 */
/* ------------------------------------------------------------------ */

struct oom_arg {
    mtasts_ctx *ctx;
    uint8_t b[2048];
    size_t n;
};

static int
oom_open_put_get(void *argp)
{
    struct oom_arg *a = argp;
    mtasts_store_config cfg;
    mtasts_store *s = NULL;
    const uint8_t *p;
    size_t pn;
    int rc;

    mtasts_store_config_init(&cfg);
    cfg.alloc = harness_alloc();
    rc = mtasts_store_open(a->ctx, &cfg, T0, &s);
    if (rc != MTASTS_OK) {
        assert_null(s);
        return rc;
    }
    rc = mtasts_store_put(s, a->b, a->n, 0, T0);
    if (rc == MTASTS_OK)
        rc = mtasts_store_get(s, S("example.com"), T0, 0, &p, &pn);
    if (rc == MTASTS_OK && (p == NULL || pn != a->n))
        rc = MTASTS_EINVAL;
    mtasts_store_free(s);
    return rc;
}

static int
oom_apply(void *argp)
{
    struct oom_arg *a = argp;
    mtasts_store_config cfg;
    mtasts_store *s = NULL;
    mtasts_lookup *lk = NULL;
    const char *strs[1] = {"v=STSv1; id=id1;"};
    size_t lens[1] = {16}, nstr[1] = {1};
    int rc;

    mtasts_store_config_init(&cfg);
    cfg.alloc = harness_alloc();
    rc = mtasts_store_open(a->ctx, &cfg, T0, &s);
    if (rc != MTASTS_OK)
        return rc;
    rc = mtasts_lookup_new(a->ctx, S("example.com"), NULL, 0, T0, 0, &lk);
    if (rc == MTASTS_OK)
        rc = mtasts_lookup_put_txt(lk, MTASTS_DNS_OK, strs, lens, nstr, 1);
    if (rc == MTASTS_OK)
        rc = mtasts_lookup_put_fetch(lk, MTASTS_FETCH_OK, 200, S("text/plain"),
                                     S(STH_BODY));
    if (rc == MTASTS_OK)
        rc = mtasts_store_apply(s, lk, T0);
    mtasts_lookup_free(lk);
    mtasts_store_free(s);
    return rc;
}

static void
test_oom(void **state)
{
    struct oom_arg *a = calloc(1, sizeof(*a));

    assert_non_null(a);
    a->ctx = *state;
    a->n = sth_simple(a->ctx, a->b, sizeof(a->b), "example.com", T0, WEEK, T0);
    harness_oom_sweep("store open/put/get", oom_open_put_get, a,
                      HARNESS_SWEEP_BOTH);
    harness_oom_sweep("store apply", oom_apply, a, HARNESS_SWEEP_BOTH);
    free(a);
}

int
main(int argc, char **argv)
{
    const struct CMUnitTest unit[] = {
        cmocka_unit_test_setup_teardown(test_horizon_values, harness_setup,
                                        harness_teardown),
        cmocka_unit_test_setup_teardown(test_order, harness_setup,
                                        harness_teardown),
        cmocka_unit_test_setup_teardown(test_horizon_keeps_backoff,
                                        harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(test_horizon_past_is_nothing,
                                        harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(test_refresh_at_matches_core,
                                        harness_setup, harness_teardown),
        cmocka_unit_test_setup_teardown(test_memory_store, harness_setup,
                                        harness_teardown),
        cmocka_unit_test_setup_teardown(test_memory_apply, harness_setup,
                                        harness_teardown),
        cmocka_unit_test_setup_teardown(test_config, harness_setup,
                                        harness_teardown),
    };
    const struct CMUnitTest oom[] = {
        cmocka_unit_test_setup_teardown(test_oom, harness_setup,
                                        harness_teardown),
    };

    if (argc > 1 && strcmp(argv[1], "--oom") == 0)
        return cmocka_run_group_tests_name("store-oom", oom, NULL, NULL);
    return cmocka_run_group_tests_name("store", unit, NULL, NULL);
}
