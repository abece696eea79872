/*
 * The discovery machine (src/lookup.c) against the transition table of
 * doc/discovery.md, row by row (T1..T19, T5b), with explicit times, plus
 * the STS-FETCH, STS-CACHE and STS-TXT requirements the pull API can
 * express. Each test names its row and the requirement ids it proves; the
 * ids also appear in a comment next to the test.
 *
 * Lookups are chained over time as an MTA would: the entry a lookup asks
 * to store is fed, as bytes, into the next lookup of the same domain.
 */
#include <stdio.h>
#include <stdlib.h>

#include "dharness.h"

#define T0  INT64_C(1700000000)
#define DOM "example.com"

#define ENFORCE                                                               \
    "version: STSv1\nmode: enforce\nmx: mx1.example.com\nmx: *.example.net\n" \
    "max_age: 604800\n"
#define ENFORCE_LONG                                                \
    "version: STSv1\nmode: enforce\nmx: mx1.example.com\nmax_age: " \
    "31557600\n"
#define TESTING                                                           \
    "version: STSv1\r\nmode: testing\r\nmx: mx1.example.com\r\nmax_age: " \
    "86400\r\n"
#define NONE_POL "version: STSv1\nmode: none\nmax_age: 86400\n"
#define ENFORCE_AGE0 \
    "version: STSv1\nmode: enforce\nmx: mx1.example.com\nmax_age: 0\n"

#define REC_A "v=STSv1; id=a;"
#define REC_B "v=STSv1; id=b;"

#define URL_EXAMPLE "https://mta-sts.example.com/.well-known/mta-sts.txt"

/* ------------------------------------------------------------------ */
/* Helpers                                                             */
/* ------------------------------------------------------------------ */

/* Answers: one TXT record rec (NULL: no RR at all), then a 200 text/plain
 * response with body. */
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

/* A DNS status without records (NXDOMAIN, NODATA, TEMPFAIL). */
static struct dh_answers
ans_dns(int dns)
{
    struct dh_answers a = ans(NULL, NULL);

    a.dns = dns;
    return a;
}

/* One record, then a failed fetch. */
static struct dh_answers
ans_fail(const char *rec, int transport, int http)
{
    struct dh_answers a = ans(rec, ENFORCE);

    a.transport = transport;
    a.http = http;
    return a;
}

/* Check a finished lookup. mode 0 = no policy in force. */
static void
check(const struct dh_run *r, int outcome, int why, int from_cache, int mode,
      int result_type, int alert, int action, unsigned ntxt, unsigned nfetch)
{
    const mtasts_policy *p = mtasts_lookup_policy(r->lk);

    assert_int_equal(r->stage, 0);
    assert_int_equal(mtasts_lookup_next(r->lk), MTASTS_ACT_DONE);
    assert_int_equal(mtasts_lookup_outcome(r->lk), outcome);
    assert_int_equal(mtasts_lookup_why(r->lk), why);
    assert_int_equal(mtasts_lookup_from_cache(r->lk), from_cache);
    if (mode == 0)
        assert_null(p);
    else
        assert_int_equal(mtasts_policy_mode(p), mode);
    assert_int_equal(mtasts_lookup_result_type(r->lk), result_type);
    assert_int_equal(mtasts_lookup_alert(r->lk), alert);
    assert_int_equal(mtasts_lookup_entry_action(r->lk), action);
    assert_int_equal(r->txt_calls, ntxt);
    assert_int_equal(r->fetch_calls, nfetch);
}

/* Run a lookup that must finish. */
static void
run(mtasts_ctx *ctx, const char *dom, const struct dh_store *st, int64_t now,
    unsigned flags, const struct dh_answers *a, struct dh_run *r)
{
    assert_int_equal(dh_lookup(ctx, dom, st, now, flags, a, r), MTASTS_OK);
}

/* Apply the entry action to st and free the lookup. */
static void
finish(struct dh_run *r, struct dh_store *st)
{
    assert_int_equal(dh_apply(st, r->lk), MTASTS_OK);
    mtasts_lookup_free(r->lk);
    r->lk = NULL;
}

/* Put a freshly fetched policy (record rec, body) into st at time t. */
static void
seed(mtasts_ctx *ctx, struct dh_store *st, const char *rec, const char *body,
     int64_t t)
{
    struct dh_answers a = ans(rec, body);
    struct dh_run r;

    st->present = 0;
    run(ctx, DOM, st, t, 0, &a, &r);
    assert_int_equal(mtasts_lookup_why(r.lk), MTASTS_WHY_FETCHED);
    finish(&r, st);
    assert_true(st->present);
}

static int64_t
last_used(mtasts_ctx *ctx, const struct dh_store *st)
{
    mtasts_entry *e = NULL;
    int64_t t;

    assert_int_equal(mtasts_entry_decode(ctx, st->buf, st->len, &e, NULL),
                     MTASTS_OK);
    t = mtasts_entry_time(e, MTASTS_ENTRY_TIME_LAST_USED);
    mtasts_entry_free(e);
    return t;
}

static void
assert_same_store(const struct dh_store *a, const struct dh_store *b)
{
    assert_int_equal(a->present, b->present);
    assert_int_equal(a->len, b->len);
    assert_memory_equal(a->buf, b->buf, a->len);
}

/* ------------------------------------------------------------------ */
/* T1                                                                  */
/* ------------------------------------------------------------------ */

static int txt_hook_calls, fetch_hook_calls;

static int
count_txt(void *user, mtasts_lookup *lk, const char *q, size_t ql)
{
    (void)user;
    (void)lk;
    (void)q;
    (void)ql;
    txt_hook_calls++;
    return -1;
}

static int
count_fetch(void *user, mtasts_lookup *lk, const char *u, size_t ul,
            const char *h, size_t hl, uint32_t t, size_t m)
{
    (void)user;
    (void)lk;
    (void)u;
    (void)ul;
    (void)h;
    (void)hl;
    (void)t;
    (void)m;
    fetch_hook_calls++;
    return -1;
}

/* STS-FETCH-15 */
static void
t01_address_literal_no_io_STS_FETCH_15(void **state)
{
    static const char *const lits[] = {"[192.0.2.1]", "[IPv6:2001:db8::1]"};
    struct mtasts_io io = {MTASTS_IO_VERSION, count_txt, count_fetch, NULL};
    struct dh_answers a = ans(REC_A, ENFORCE);
    struct dh_store st;
    struct dh_run r;
    mtasts_lookup *lk;
    size_t i;

    st.present = 0;
    for (i = 0; i < 2; i++) {
        run(*state, lits[i], &st, T0, 0, &a, &r);
        check(&r, MTASTS_OUTCOME_NO_POLICY, MTASTS_WHY_ADDRESS_LITERAL, 0, 0,
              MTASTS_RESULT_NONE, 0, MTASTS_ENTRY_ACTION_UNCHANGED, 0, 0);
        assert_int_equal(mtasts_lookup_refresh_at(r.lk), 0);
        finish(&r, &st);
        assert_false(st.present);

        /* the callback driver makes zero calls */
        txt_hook_calls = fetch_hook_calls = 0;
        assert_int_equal(mtasts_lookup_new(*state, lits[i], strlen(lits[i]),
                                           NULL, 0, T0, 0, &lk),
                         MTASTS_OK);
        assert_int_equal(mtasts_lookup_drive(lk, &io, NULL), MTASTS_OK);
        assert_int_equal(txt_hook_calls, 0);
        assert_int_equal(fetch_hook_calls, 0);
        assert_int_equal(mtasts_lookup_outcome(lk), MTASTS_OUTCOME_NO_POLICY);
        mtasts_lookup_free(lk);
    }
}

/* ------------------------------------------------------------------ */
/* T2, T3                                                              */
/* ------------------------------------------------------------------ */

/* STS-FETCH-13, STS-CACHE-4, STS-FETCH-1, STS-FETCH-4, STS-FETCH-10,
 * STS-TXT-1 */
static void
t02_no_cache_fetch_success_STS_FETCH_13_STS_CACHE_4(void **state)
{
    struct dh_answers a = ans(REC_A, ENFORCE);
    struct dh_store st;
    struct dh_run r;
    size_t n;

    st.present = 0;
    run(*state, DOM, &st, T0, 0, &a, &r);
    check(&r, MTASTS_OUTCOME_APPLY, MTASTS_WHY_FETCHED, 0, MTASTS_MODE_ENFORCE,
          MTASTS_RESULT_NONE, 0, MTASTS_ENTRY_ACTION_STORE, 1, 1);
    assert_string_equal(r.qname, "_mta-sts.example.com");
    assert_string_equal(r.url, URL_EXAMPLE);
    assert_string_equal(r.host, "mta-sts.example.com");
    assert_int_equal(r.timeout_ms, 60000);
    assert_int_equal(r.max_size, 65536);
    assert_int_equal(mtasts_lookup_entry_error(r.lk), 0);
    /* the policy in force is the fetched body */
    assert_string_equal(mtasts_policy_raw(mtasts_lookup_policy(r.lk), &n),
                        ENFORCE);
    /* refresh after the interval (24 h), before expiry (7 days) */
    assert_int_equal(mtasts_lookup_refresh_at(r.lk), T0 + 86400);
    finish(&r, &st);
    dh_check_entry(*state, &st, DOM, "a", T0, T0 + 604800, 0, "",
                   MTASTS_MODE_ENFORCE);
    assert_int_equal(last_used(*state, &st), T0);
}

/* STS-CACHE-12 (fetched none policy, no cache) */
static void
t02_none_policy_no_active_policy_STS_CACHE_12(void **state)
{
    struct dh_answers a = ans(REC_A, NONE_POL);
    struct dh_store st;
    struct dh_run r;

    st.present = 0;
    run(*state, DOM, &st, T0, 0, &a, &r);
    check(&r, MTASTS_OUTCOME_NO_ACTIVE_POLICY, MTASTS_WHY_FETCHED, 0,
          MTASTS_MODE_NONE, MTASTS_RESULT_NONE, 0, MTASTS_ENTRY_ACTION_STORE, 1,
          1);
    finish(&r, &st);
    dh_check_entry(*state, &st, DOM, "a", T0, T0 + 86400, 0, "",
                   MTASTS_MODE_NONE);
}

/* STS-CACHE-4 */
static void
t03_changed_id_replaces_entry_STS_CACHE_4(void **state)
{
    struct dh_answers a = ans(REC_B, TESTING);
    struct dh_store st;
    struct dh_run r;
    size_t n;

    seed(*state, &st, REC_A, ENFORCE_LONG, T0);
    dh_check_entry(*state, &st, DOM, "a", T0, T0 + 31557600, 0, "",
                   MTASTS_MODE_ENFORCE);
    run(*state, DOM, &st, T0 + 100, 0, &a, &r);
    check(&r, MTASTS_OUTCOME_APPLY, MTASTS_WHY_FETCHED, 0, MTASTS_MODE_TESTING,
          MTASTS_RESULT_NONE, 0, MTASTS_ENTRY_ACTION_STORE, 1, 1);
    assert_string_equal(mtasts_policy_raw(mtasts_lookup_policy(r.lk), &n),
                        TESTING);
    assert_int_equal(mtasts_lookup_refresh_at(r.lk),
                     T0 + 100 + 64800); /* ¾ of max_age 86400 */
    finish(&r, &st);
    dh_check_entry(*state, &st, DOM, "b", T0 + 100, T0 + 100 + 86400, 0, "",
                   MTASTS_MODE_TESTING);
}

/* STS-CACHE-12: a fetched none policy replaces a cached enforce one */
static void
t03_none_replaces_enforce_STS_CACHE_12(void **state)
{
    struct dh_answers a = ans(REC_B, NONE_POL), tf;
    struct dh_store st;
    struct dh_run r;

    seed(*state, &st, REC_A, ENFORCE, T0);
    run(*state, DOM, &st, T0 + 10, 0, &a, &r);
    check(&r, MTASTS_OUTCOME_NO_ACTIVE_POLICY, MTASTS_WHY_FETCHED, 0,
          MTASTS_MODE_NONE, MTASTS_RESULT_NONE, 0, MTASTS_ENTRY_ACTION_STORE, 1,
          1);
    finish(&r, &st);
    dh_check_entry(*state, &st, DOM, "b", T0 + 10, T0 + 10 + 86400, 0, "",
                   MTASTS_MODE_NONE);
    /* until it expires: no active policy from the cache */
    tf = ans_dns(MTASTS_DNS_TEMPFAIL);
    run(*state, DOM, &st, T0 + 20, 0, &tf, &r);
    check(&r, MTASTS_OUTCOME_NO_ACTIVE_POLICY, MTASTS_WHY_TXT_TEMPFAIL, 1,
          MTASTS_MODE_NONE, MTASTS_RESULT_NONE, 0,
          MTASTS_ENTRY_ACTION_UNCHANGED, 1, 0);
    finish(&r, &st);
}

/* ------------------------------------------------------------------ */
/* T4, T5, T5b, T6                                                     */
/* ------------------------------------------------------------------ */

/* STS-CACHE-5, STS-TXT-13, STS-TXT-9 (no candidate) */
static void
t04_record_absent_applies_cache_STS_CACHE_5(void **state)
{
    struct dh_answers as[5];
    struct dh_store st, before;
    struct dh_run r;
    size_t i;

    as[0] = ans_dns(MTASTS_DNS_NXDOMAIN);
    as[1] = ans_dns(MTASTS_DNS_NODATA);
    as[2] = ans(NULL, NULL); /* an answer with no TXT RR */
    as[3] = ans("v=spf1 -all", NULL);
    as[4] = ans("v=STSv10; id=a", NULL); /* not a candidate (E-2) */
    seed(*state, &st, REC_A, ENFORCE, T0);
    before = st;
    for (i = 0; i < 5; i++) {
        run(*state, DOM, &st, T0 + 60, 0, &as[i], &r);
        check(&r, MTASTS_OUTCOME_APPLY, MTASTS_WHY_NO_RECORD, 1,
              MTASTS_MODE_ENFORCE, MTASTS_RESULT_NONE, 0,
              MTASTS_ENTRY_ACTION_UNCHANGED, 1, 0);
        assert_int_equal(mtasts_lookup_refresh_at(r.lk), T0 + 86400);
        finish(&r, &st);
        assert_same_store(&st, &before); /* never removed or changed */
    }
}

/* footnote 1: last-used is rewritten at most once an hour */
static void
t04_last_used_hourly_store_STS_CACHE_5(void **state)
{
    struct dh_answers a = ans_dns(MTASTS_DNS_NXDOMAIN);
    struct dh_store st;
    struct dh_run r;

    seed(*state, &st, REC_A, ENFORCE, T0);
    run(*state, DOM, &st, T0 + 3599, 0, &a, &r);
    assert_int_equal(mtasts_lookup_entry_action(r.lk),
                     MTASTS_ENTRY_ACTION_UNCHANGED);
    finish(&r, &st);
    run(*state, DOM, &st, T0 + 3600, 0, &a, &r);
    check(&r, MTASTS_OUTCOME_APPLY, MTASTS_WHY_NO_RECORD, 1,
          MTASTS_MODE_ENFORCE, MTASTS_RESULT_NONE, 0, MTASTS_ENTRY_ACTION_STORE,
          1, 0);
    finish(&r, &st);
    /* policy, id and times unchanged; only last-used moved */
    dh_check_entry(*state, &st, DOM, "a", T0, T0 + 604800, 0, "",
                   MTASTS_MODE_ENFORCE);
    assert_int_equal(last_used(*state, &st), T0 + 3600);
}

/* STS-TXT-13, STS-CACHE-5 */
static void
t05_tempfail_applies_cache_STS_TXT_13(void **state)
{
    struct dh_answers a = ans_dns(MTASTS_DNS_TEMPFAIL);
    struct dh_store st, before;
    struct dh_run r;

    seed(*state, &st, REC_A, TESTING, T0);
    before = st;
    run(*state, DOM, &st, T0 + 1000, 0, &a, &r);
    check(&r, MTASTS_OUTCOME_APPLY, MTASTS_WHY_TXT_TEMPFAIL, 1,
          MTASTS_MODE_TESTING, MTASTS_RESULT_NONE, 0,
          MTASTS_ENTRY_ACTION_UNCHANGED, 1, 0);
    finish(&r, &st);
    assert_same_store(&st, &before);
}

/* STS-TXT-13 (TEMPFAIL with no cache -> NO_POLICY) */
static void
t05b_tempfail_no_cache_STS_TXT_13(void **state)
{
    struct dh_answers a = ans_dns(MTASTS_DNS_TEMPFAIL);
    struct dh_store st;
    struct dh_run r;

    st.present = 0;
    run(*state, DOM, &st, T0, 0, &a, &r);
    check(&r, MTASTS_OUTCOME_NO_POLICY, MTASTS_WHY_TXT_TEMPFAIL, 0, 0,
          MTASTS_RESULT_NONE, 0, MTASTS_ENTRY_ACTION_UNCHANGED, 1, 0);
    assert_int_equal(mtasts_lookup_refresh_at(r.lk), 0);
    finish(&r, &st);
    assert_false(st.present);

    /* with MTASTS_OPT_TEMPFAIL_NO_CACHE the delivery is deferred */
    assert_int_equal(
        mtasts_ctx_set_option(*state, MTASTS_OPT_TEMPFAIL_NO_CACHE, 1),
        MTASTS_OK);
    run(*state, DOM, &st, T0, 0, &a, &r);
    check(&r, MTASTS_OUTCOME_TEMPFAIL, MTASTS_WHY_TXT_TEMPFAIL, 0, 0,
          MTASTS_RESULT_NONE, 0, MTASTS_ENTRY_ACTION_UNCHANGED, 1, 0);
    finish(&r, &st);

    /* ... also when the cache has expired */
    seed(*state, &st, REC_A, TESTING, T0);
    run(*state, DOM, &st, T0 + 86400, 0, &a, &r);
    check(&r, MTASTS_OUTCOME_TEMPFAIL, MTASTS_WHY_TXT_TEMPFAIL, 0, 0,
          MTASTS_RESULT_NONE, 0, MTASTS_ENTRY_ACTION_UNCHANGED, 1, 0);
    finish(&r, &st);

    /* ... but never over a valid cache (T5) */
    run(*state, DOM, &st, T0 + 86399, 0, &a, &r);
    check(&r, MTASTS_OUTCOME_APPLY, MTASTS_WHY_TXT_TEMPFAIL, 1,
          MTASTS_MODE_TESTING, MTASTS_RESULT_NONE, 0, MTASTS_ENTRY_ACTION_STORE,
          1, 0);
    finish(&r, &st);

    /* NO_RECORD without cache stays NO_POLICY under the option */
    st.present = 0;
    a = ans_dns(MTASTS_DNS_NXDOMAIN);
    run(*state, DOM, &st, T0, 0, &a, &r);
    check(&r, MTASTS_OUTCOME_NO_POLICY, MTASTS_WHY_NO_RECORD, 0, 0,
          MTASTS_RESULT_NONE, 0, MTASTS_ENTRY_ACTION_UNCHANGED, 1, 0);
    finish(&r, &st);
}

/* STS-TXT-9, STS-TXT-10 */
static void
t06_multiple_or_invalid_record_STS_TXT_9_STS_TXT_10(void **state)
{
    struct dh_answers multi = ans(REC_A, ENFORCE);
    struct dh_answers bad = ans("v=STSv1; id=bad_id", ENFORCE);
    struct dh_store st, before;
    struct dh_run r;

    multi.rr[1][0] = REC_B;
    /* no cache: no policy, never a fetch */
    st.present = 0;
    run(*state, DOM, &st, T0, 0, &multi, &r);
    check(&r, MTASTS_OUTCOME_NO_POLICY, MTASTS_WHY_TXT_MULTIPLE, 0, 0,
          MTASTS_RESULT_NONE, 0, MTASTS_ENTRY_ACTION_UNCHANGED, 1, 0);
    finish(&r, &st);
    run(*state, DOM, &st, T0, 0, &bad, &r);
    check(&r, MTASTS_OUTCOME_NO_POLICY, MTASTS_WHY_TXT_INVALID, 0, 0,
          MTASTS_RESULT_NONE, 0, MTASTS_ENTRY_ACTION_UNCHANGED, 1, 0);
    finish(&r, &st);
    assert_false(st.present);

    /* valid cache: applied, untouched */
    seed(*state, &st, REC_A, ENFORCE, T0);
    before = st;
    run(*state, DOM, &st, T0 + 5, 0, &multi, &r);
    check(&r, MTASTS_OUTCOME_APPLY, MTASTS_WHY_TXT_MULTIPLE, 1,
          MTASTS_MODE_ENFORCE, MTASTS_RESULT_NONE, 0,
          MTASTS_ENTRY_ACTION_UNCHANGED, 1, 0);
    finish(&r, &st);
    run(*state, DOM, &st, T0 + 5, 0, &bad, &r);
    check(&r, MTASTS_OUTCOME_APPLY, MTASTS_WHY_TXT_INVALID, 1,
          MTASTS_MODE_ENFORCE, MTASTS_RESULT_NONE, 0,
          MTASTS_ENTRY_ACTION_UNCHANGED, 1, 0);
    finish(&r, &st);
    assert_same_store(&st, &before);

    /* non-candidates are discarded first: exactly one remains */
    multi.rr[0][0] = "v=spf1 -all";
    multi.rr[1][0] = REC_B;
    st.present = 0;
    run(*state, DOM, &st, T0, 0, &multi, &r);
    check(&r, MTASTS_OUTCOME_APPLY, MTASTS_WHY_FETCHED, 0, MTASTS_MODE_ENFORCE,
          MTASTS_RESULT_NONE, 0, MTASTS_ENTRY_ACTION_STORE, 1, 1);
    finish(&r, &st);
    dh_check_entry(*state, &st, DOM, "b", T0, T0 + 604800, 0, "",
                   MTASTS_MODE_ENFORCE);
}

/* STS-TXT-11: the strings of one RR are joined without separator */
static void
t06_strings_kept_apart_are_joined_STS_TXT_11(void **state)
{
    struct dh_answers a = ans("v=STSv1; i", ENFORCE);
    struct dh_store st;
    struct dh_run r;

    a.rr[0][1] = "d=abc";
    st.present = 0;
    run(*state, DOM, &st, T0, 0, &a, &r);
    check(&r, MTASTS_OUTCOME_APPLY, MTASTS_WHY_FETCHED, 0, MTASTS_MODE_ENFORCE,
          MTASTS_RESULT_NONE, 0, MTASTS_ENTRY_ACTION_STORE, 1, 1);
    finish(&r, &st);
    dh_check_entry(*state, &st, DOM, "abc", T0, T0 + 604800, 0, "",
                   MTASTS_MODE_ENFORCE);
}

/* ------------------------------------------------------------------ */
/* T7, T8                                                              */
/* ------------------------------------------------------------------ */

/* RFC 8461 8.3; STS-CACHE-5 does not cover none policies withdrawn */
static void
t07_none_policy_deleted_when_record_gone_RFC8461_8_3(void **state)
{
    struct dh_answers nx = ans_dns(MTASTS_DNS_NXDOMAIN);
    struct dh_answers tf = ans_dns(MTASTS_DNS_TEMPFAIL);
    struct dh_answers spf = ans("v=spf1 -all", NULL);
    struct dh_answers bad = ans("v=STSv1; id=bad_id", NULL);
    struct dh_store st;
    struct dh_run r;

    seed(*state, &st, REC_A, NONE_POL, T0);
    /* a temporary failure or an invalid record deletes nothing */
    run(*state, DOM, &st, T0 + 60, 0, &tf, &r);
    check(&r, MTASTS_OUTCOME_NO_ACTIVE_POLICY, MTASTS_WHY_TXT_TEMPFAIL, 1,
          MTASTS_MODE_NONE, MTASTS_RESULT_NONE, 0,
          MTASTS_ENTRY_ACTION_UNCHANGED, 1, 0);
    finish(&r, &st);
    run(*state, DOM, &st, T0 + 60, 0, &bad, &r);
    check(&r, MTASTS_OUTCOME_NO_ACTIVE_POLICY, MTASTS_WHY_TXT_INVALID, 1,
          MTASTS_MODE_NONE, MTASTS_RESULT_NONE, 0,
          MTASTS_ENTRY_ACTION_UNCHANGED, 1, 0);
    finish(&r, &st);
    assert_true(st.present);

    /* no STS record in an answer: delete */
    run(*state, DOM, &st, T0 + 60, 0, &spf, &r);
    check(&r, MTASTS_OUTCOME_NO_POLICY, MTASTS_WHY_NO_RECORD, 0, 0,
          MTASTS_RESULT_NONE, 0, MTASTS_ENTRY_ACTION_DELETE, 1, 0);
    assert_int_equal(mtasts_lookup_refresh_at(r.lk), 0);
    finish(&r, &st);
    assert_false(st.present);

    /* NXDOMAIN: delete */
    seed(*state, &st, REC_A, NONE_POL, T0);
    run(*state, DOM, &st, T0 + 60, 0, &nx, &r);
    check(&r, MTASTS_OUTCOME_NO_POLICY, MTASTS_WHY_NO_RECORD, 0, 0,
          MTASTS_RESULT_NONE, 0, MTASTS_ENTRY_ACTION_DELETE, 1, 0);
    finish(&r, &st);
    assert_false(st.present);

    /* MTASTS_OPT_DELETE_NONE = 0 keeps it until it expires */
    assert_int_equal(mtasts_ctx_set_option(*state, MTASTS_OPT_DELETE_NONE, 0),
                     MTASTS_OK);
    seed(*state, &st, REC_A, NONE_POL, T0);
    run(*state, DOM, &st, T0 + 60, 0, &nx, &r);
    check(&r, MTASTS_OUTCOME_NO_ACTIVE_POLICY, MTASTS_WHY_NO_RECORD, 1,
          MTASTS_MODE_NONE, MTASTS_RESULT_NONE, 0,
          MTASTS_ENTRY_ACTION_UNCHANGED, 1, 0);
    finish(&r, &st);
    assert_true(st.present);
}

/* STS-CACHE-9 (refresh without a TXT record; the id is kept) */
static void
t08_refresh_flag_record_absent_STS_CACHE_9(void **state)
{
    struct dh_answers a = ans_dns(MTASTS_DNS_NXDOMAIN);
    struct dh_store st;
    struct dh_run r;

    seed(*state, &st, REC_A, ENFORCE, T0);
    a.body = TESTING;
    run(*state, DOM, &st, T0 + 3600, MTASTS_LOOKUP_F_REFRESH, &a, &r);
    check(&r, MTASTS_OUTCOME_APPLY, MTASTS_WHY_FETCHED, 0, MTASTS_MODE_TESTING,
          MTASTS_RESULT_NONE, 0, MTASTS_ENTRY_ACTION_STORE, 1, 1);
    finish(&r, &st);
    /* the stored id is updated only when a valid TXT id was seen */
    dh_check_entry(*state, &st, DOM, "a", T0 + 3600, T0 + 3600 + 86400, 0, "",
                   MTASTS_MODE_TESTING);

    /* a failed refresh: as T17, the backoff is for the cached id */
    a.transport = MTASTS_FETCH_CONNECT;
    run(*state, DOM, &st, T0 + 7200, MTASTS_LOOKUP_F_REFRESH, &a, &r);
    check(&r, MTASTS_OUTCOME_APPLY, MTASTS_WHY_FETCH_FAILED, 1,
          MTASTS_MODE_TESTING, MTASTS_RESULT_STS_POLICY_FETCH_ERROR, 1,
          MTASTS_ENTRY_ACTION_STORE, 1, 1);
    finish(&r, &st);
    dh_check_entry(*state, &st, DOM, "a", T0 + 3600, T0 + 3600 + 86400,
                   T0 + 7200 + 300, "a", MTASTS_MODE_TESTING);

    /* any unusable TXT answer over a valid cache: the refresh fetches */
    {
        struct dh_answers v[3];
        size_t i;

        v[0] = ans_dns(MTASTS_DNS_TEMPFAIL);
        v[1] = ans("v=STSv1; id=bad_id", NULL);
        v[2] = ans(REC_A, NULL);
        v[2].rr[1][0] = REC_B;
        for (i = 0; i < 3; i++) {
            struct dh_store s2;

            seed(*state, &s2, REC_A, ENFORCE, T0);
            v[i].body = TESTING;
            run(*state, DOM, &s2, T0 + 50, MTASTS_LOOKUP_F_REFRESH, &v[i], &r);
            check(&r, MTASTS_OUTCOME_APPLY, MTASTS_WHY_FETCHED, 0,
                  MTASTS_MODE_TESTING, MTASTS_RESULT_NONE, 0,
                  MTASTS_ENTRY_ACTION_STORE, 1, 1);
            finish(&r, &s2);
            dh_check_entry(*state, &s2, DOM, "a", T0 + 50, T0 + 50 + 86400, 0,
                           "", MTASTS_MODE_TESTING);
        }
    }
    /* not T7: a cached none policy whose record is gone is deleted even
     * with the refresh flag */
    {
        struct dh_store s3;
        struct dh_answers nx = ans_dns(MTASTS_DNS_NXDOMAIN);

        seed(*state, &s3, REC_A, NONE_POL, T0);
        nx.body = ENFORCE;
        run(*state, DOM, &s3, T0 + 50, MTASTS_LOOKUP_F_REFRESH, &nx, &r);
        check(&r, MTASTS_OUTCOME_NO_POLICY, MTASTS_WHY_NO_RECORD, 0, 0,
              MTASTS_RESULT_NONE, 0, MTASTS_ENTRY_ACTION_DELETE, 1, 0);
        finish(&r, &s3);
        assert_false(s3.present);
    }
    /* during a backoff of the cached id the refresh is not retried */
    run(*state, DOM, &st, T0 + 7200 + 299, MTASTS_LOOKUP_F_REFRESH, &a, &r);
    assert_int_equal(r.fetch_calls, 0);
    assert_int_equal(mtasts_lookup_outcome(r.lk), MTASTS_OUTCOME_APPLY);
    finish(&r, &st);
    /* no cache: the refresh flag makes no fetch without a record
     * (STS-FETCH-13) */
    st.present = 0;
    run(*state, DOM, &st, T0, MTASTS_LOOKUP_F_REFRESH, &a, &r);
    check(&r, MTASTS_OUTCOME_NO_POLICY, MTASTS_WHY_NO_RECORD, 0, 0,
          MTASTS_RESULT_NONE, 0, MTASTS_ENTRY_ACTION_UNCHANGED, 1, 0);
    finish(&r, &st);
}

/* ------------------------------------------------------------------ */
/* T9, T10, T11                                                        */
/* ------------------------------------------------------------------ */

/* STS-CACHE-3 */
static void
t09_same_id_uses_cache_STS_CACHE_3(void **state)
{
    struct dh_answers a = ans(REC_A, TESTING);
    struct dh_answers lower = ans("v=STSv1; id=abc", TESTING);
    struct dh_store st, before;
    struct dh_run r;

    seed(*state, &st, REC_A, ENFORCE, T0);
    before = st;
    run(*state, DOM, &st, T0 + 86399, 0, &a, &r);
    check(&r, MTASTS_OUTCOME_APPLY, MTASTS_WHY_CACHED, 1, MTASTS_MODE_ENFORCE,
          MTASTS_RESULT_NONE, 0, MTASTS_ENTRY_ACTION_STORE, 1, 0);
    finish(&r, &st);
    /* only last-used changed */
    dh_check_entry(*state, &st, DOM, "a", T0, T0 + 604800, 0, "",
                   MTASTS_MODE_ENFORCE);
    st = before;
    run(*state, DOM, &st, T0 + 10, 0, &a, &r);
    check(&r, MTASTS_OUTCOME_APPLY, MTASTS_WHY_CACHED, 1, MTASTS_MODE_ENFORCE,
          MTASTS_RESULT_NONE, 0, MTASTS_ENTRY_ACTION_UNCHANGED, 1, 0);
    finish(&r, &st);

    /* ids are case-sensitive byte strings: ABC != abc */
    seed(*state, &st, "v=STSv1; id=ABC", ENFORCE, T0);
    run(*state, DOM, &st, T0 + 10, 0, &lower, &r);
    check(&r, MTASTS_OUTCOME_APPLY, MTASTS_WHY_FETCHED, 0, MTASTS_MODE_TESTING,
          MTASTS_RESULT_NONE, 0, MTASTS_ENTRY_ACTION_STORE, 1, 1);
    finish(&r, &st);
    dh_check_entry(*state, &st, DOM, "abc", T0 + 10, T0 + 10 + 86400, 0, "",
                   MTASTS_MODE_TESTING);
}

/* STS-CACHE-9, STS-CACHE-10, STS-FETCH-8 (partly: two fetches, two
 * callbacks, and the expiry is fetched + max_age; the API takes no HTTP
 * headers, so there is nothing for Cache-Control to change) */
static void
t10_refresh_after_interval_STS_CACHE_9_STS_CACHE_10(void **state)
{
    struct dh_answers a = ans(REC_A, ENFORCE);
    struct dh_answers fail = ans_fail(REC_A, MTASTS_FETCH_OK, 500);
    struct dh_store st;
    struct dh_run r;

    seed(*state, &st, REC_A, ENFORCE, T0); /* expires T0 + 7 days */
    /* 1 s before the interval: the cache, no fetch */
    run(*state, DOM, &st, T0 + 86399, 0, &a, &r);
    check(&r, MTASTS_OUTCOME_APPLY, MTASTS_WHY_CACHED, 1, MTASTS_MODE_ENFORCE,
          MTASTS_RESULT_NONE, 0, MTASTS_ENTRY_ACTION_STORE, 1, 0);
    finish(&r, &st);
    /* 24 h after the fetch: fetched again although the id is unchanged */
    run(*state, DOM, &st, T0 + 86400, 0, &a, &r);
    check(&r, MTASTS_OUTCOME_APPLY, MTASTS_WHY_FETCHED, 0, MTASTS_MODE_ENFORCE,
          MTASTS_RESULT_NONE, 0, MTASTS_ENTRY_ACTION_STORE, 1, 1);
    finish(&r, &st);
    dh_check_entry(*state, &st, DOM, "a", T0 + 86400, T0 + 86400 + 604800, 0,
                   "", MTASTS_MODE_ENFORCE);
    /* and again a day later: a second fetch, a second callback */
    run(*state, DOM, &st, T0 + 2 * 86400, 0, &a, &r);
    assert_int_equal(r.fetch_calls, 1);
    finish(&r, &st);
    dh_check_entry(*state, &st, DOM, "a", T0 + 2 * 86400,
                   T0 + 2 * 86400 + 604800, 0, "", MTASTS_MODE_ENFORCE);

    /* a failed refresh keeps the cached policy and alerts */
    run(*state, DOM, &st, T0 + 3 * 86400, 0, &fail, &r);
    check(&r, MTASTS_OUTCOME_APPLY, MTASTS_WHY_FETCH_FAILED, 1,
          MTASTS_MODE_ENFORCE, MTASTS_RESULT_STS_POLICY_FETCH_ERROR, 1,
          MTASTS_ENTRY_ACTION_STORE, 1, 1);
    finish(&r, &st);
    dh_check_entry(*state, &st, DOM, "a", T0 + 2 * 86400,
                   T0 + 2 * 86400 + 604800, T0 + 3 * 86400 + 300, "a",
                   MTASTS_MODE_ENFORCE);
    /* during the backoff the refresh is not retried (the outcome is
     * pinned by t13_backoff_after_failed_refresh_RPT_AGG_8) */
    run(*state, DOM, &st, T0 + 3 * 86400 + 299, 0, &a, &r);
    assert_int_equal(r.fetch_calls, 0);
    assert_int_equal(mtasts_lookup_outcome(r.lk), MTASTS_OUTCOME_APPLY);
    assert_int_equal(mtasts_lookup_from_cache(r.lk), 1);
    finish(&r, &st);
    run(*state, DOM, &st, T0 + 3 * 86400 + 300, 0, &a, &r);
    check(&r, MTASTS_OUTCOME_APPLY, MTASTS_WHY_FETCHED, 0, MTASTS_MODE_ENFORCE,
          MTASTS_RESULT_NONE, 0, MTASTS_ENTRY_ACTION_STORE, 1, 1);
    finish(&r, &st);

    /* MTASTS_LOOKUP_F_REFRESH with the same id fetches at once */
    seed(*state, &st, REC_A, TESTING, T0);
    run(*state, DOM, &st, T0 + 10, MTASTS_LOOKUP_F_REFRESH, &a, &r);
    check(&r, MTASTS_OUTCOME_APPLY, MTASTS_WHY_FETCHED, 0, MTASTS_MODE_ENFORCE,
          MTASTS_RESULT_NONE, 0, MTASTS_ENTRY_ACTION_STORE, 1, 1);
    finish(&r, &st);
    dh_check_entry(*state, &st, DOM, "a", T0 + 10, T0 + 10 + 604800, 0, "",
                   MTASTS_MODE_ENFORCE);

    /* refresh interval 0 disables the proactive refresh */
    assert_int_equal(
        mtasts_ctx_set_option(*state, MTASTS_OPT_REFRESH_INTERVAL, 0),
        MTASTS_OK);
    seed(*state, &st, REC_A, ENFORCE, T0);
    run(*state, DOM, &st, T0 + 5 * 86400, 0, &a, &r);
    check(&r, MTASTS_OUTCOME_APPLY, MTASTS_WHY_CACHED, 1, MTASTS_MODE_ENFORCE,
          MTASTS_RESULT_NONE, 0, MTASTS_ENTRY_ACTION_STORE, 1, 0);
    /* refresh_at is then the expiry */
    assert_int_equal(mtasts_lookup_refresh_at(r.lk), T0 + 604800);
    finish(&r, &st);
}

/* STS-CACHE-10: cached testing + refresh failure -> alert; cached none
 * + refresh failure -> no alert */
static void
t10_refresh_failure_alert_unless_none_STS_CACHE_10(void **state)
{
    struct dh_answers fail = ans_fail(REC_A, MTASTS_FETCH_TIMEOUT, 0);
    struct dh_store st;
    struct dh_run r;

    seed(*state, &st, REC_A, TESTING, T0);
    run(*state, DOM, &st, T0 + 100, MTASTS_LOOKUP_F_REFRESH, &fail, &r);
    check(&r, MTASTS_OUTCOME_APPLY, MTASTS_WHY_FETCH_FAILED, 1,
          MTASTS_MODE_TESTING, MTASTS_RESULT_STS_POLICY_FETCH_ERROR, 1,
          MTASTS_ENTRY_ACTION_STORE, 1, 1);
    finish(&r, &st);

    seed(*state, &st, REC_A, NONE_POL, T0);
    run(*state, DOM, &st, T0 + 100, MTASTS_LOOKUP_F_REFRESH, &fail, &r);
    check(&r, MTASTS_OUTCOME_NO_ACTIVE_POLICY, MTASTS_WHY_FETCH_FAILED, 1,
          MTASTS_MODE_NONE, MTASTS_RESULT_NONE, 0, MTASTS_ENTRY_ACTION_STORE, 1,
          1);
    finish(&r, &st);
    dh_check_entry(*state, &st, DOM, "a", T0, T0 + 86400, T0 + 400, "a",
                   MTASTS_MODE_NONE);
}

/* MTASTS_OPT_EXTEND_SAME_ID (no requirement id: a project option) */
static void
t11_extend_same_id_bounded_OPT_EXTEND_SAME_ID(void **state)
{
    struct dh_answers a = ans(REC_A, ENFORCE);
    struct dh_answers tf = ans_dns(MTASTS_DNS_TEMPFAIL);
    struct dh_store st, before;
    struct dh_run r;

    assert_int_equal(
        mtasts_ctx_set_option(*state, MTASTS_OPT_EXTEND_SAME_ID, 172800),
        MTASTS_OK);
    assert_int_equal(
        mtasts_ctx_set_option(*state, MTASTS_OPT_REFRESH_INTERVAL, 0),
        MTASTS_OK);
    seed(*state, &st, REC_A, TESTING, T0); /* expires T0 + 86400 */
    before = st;
    run(*state, DOM, &st, T0 + 1800, 0, &a, &r);
    check(&r, MTASTS_OUTCOME_APPLY, MTASTS_WHY_CACHED, 1, MTASTS_MODE_TESTING,
          MTASTS_RESULT_NONE, 0, MTASTS_ENTRY_ACTION_STORE, 1, 0);
    finish(&r, &st);
    /* expires = min(now + max_age, fetched + N) = T0 + 88200 */
    dh_check_entry(*state, &st, DOM, "a", T0, T0 + 1800 + 86400, 0, "",
                   MTASTS_MODE_TESTING);
    /* so it is still valid after the original expiry */
    run(*state, DOM, &st, T0 + 87000, 0, &tf, &r);
    check(&r, MTASTS_OUTCOME_APPLY, MTASTS_WHY_TXT_TEMPFAIL, 1,
          MTASTS_MODE_TESTING, MTASTS_RESULT_NONE, 0, MTASTS_ENTRY_ACTION_STORE,
          1, 0);
    finish(&r, &st);
    /* each lookup extends it again */
    run(*state, DOM, &st, T0 + 50000, 0, &a, &r);
    finish(&r, &st);
    dh_check_entry(*state, &st, DOM, "a", T0, T0 + 50000 + 86400, 0, "",
                   MTASTS_MODE_TESTING);
    /* bounded by fetched + N */
    run(*state, DOM, &st, T0 + 100000, 0, &a, &r);
    finish(&r, &st);
    dh_check_entry(*state, &st, DOM, "a", T0, T0 + 172800, 0, "",
                   MTASTS_MODE_TESTING);
    run(*state, DOM, &st, T0 + 172799, 0, &tf, &r);
    assert_int_equal(mtasts_lookup_outcome(r.lk), MTASTS_OUTCOME_APPLY);
    finish(&r, &st);
    run(*state, DOM, &st, T0 + 172800, 0, &tf, &r);
    assert_int_equal(mtasts_lookup_outcome(r.lk), MTASTS_OUTCOME_NO_POLICY);
    finish(&r, &st);
    dh_check_entry(*state, &st, DOM, "a", T0, T0 + 172800, 0, "",
                   MTASTS_MODE_TESTING);

    /* a bound equal to the current expiry changes nothing */
    assert_int_equal(
        mtasts_ctx_set_option(*state, MTASTS_OPT_EXTEND_SAME_ID, 86400),
        MTASTS_OK);
    st = before;
    run(*state, DOM, &st, T0 + 1800, 0, &a, &r);
    check(&r, MTASTS_OUTCOME_APPLY, MTASTS_WHY_CACHED, 1, MTASTS_MODE_TESTING,
          MTASTS_RESULT_NONE, 0, MTASTS_ENTRY_ACTION_UNCHANGED, 1, 0);
    finish(&r, &st);
    assert_same_store(&st, &before);
    /* a bound below the current expiry changes nothing */
    assert_int_equal(
        mtasts_ctx_set_option(*state, MTASTS_OPT_EXTEND_SAME_ID, 43200),
        MTASTS_OK);
    st = before;
    run(*state, DOM, &st, T0 + 1800, 0, &a, &r);
    check(&r, MTASTS_OUTCOME_APPLY, MTASTS_WHY_CACHED, 1, MTASTS_MODE_TESTING,
          MTASTS_RESULT_NONE, 0, MTASTS_ENTRY_ACTION_UNCHANGED, 1, 0);
    finish(&r, &st);
    assert_same_store(&st, &before);
}

/* default: no extension (the stale-forever problem is not possible) */
static void
t11_default_no_extension_STS_CACHE_1(void **state)
{
    struct dh_answers a = ans(REC_A, ENFORCE);
    struct dh_answers tf = ans_dns(MTASTS_DNS_TEMPFAIL);
    struct dh_store st;
    struct dh_run r;

    assert_int_equal(
        mtasts_ctx_set_option(*state, MTASTS_OPT_REFRESH_INTERVAL, 0),
        MTASTS_OK);
    seed(*state, &st, REC_A, TESTING, T0);
    run(*state, DOM, &st, T0 + 80000, 0, &a, &r);
    finish(&r, &st);
    dh_check_entry(*state, &st, DOM, "a", T0, T0 + 86400, 0, "",
                   MTASTS_MODE_TESTING);
    run(*state, DOM, &st, T0 + 86400, 0, &tf, &r);
    check(&r, MTASTS_OUTCOME_NO_POLICY, MTASTS_WHY_TXT_TEMPFAIL, 0, 0,
          MTASTS_RESULT_NONE, 0, MTASTS_ENTRY_ACTION_UNCHANGED, 1, 0);
    finish(&r, &st);
}

/* ------------------------------------------------------------------ */
/* T12                                                                 */
/* ------------------------------------------------------------------ */

/* STS-CACHE-8, STS-CACHE-1 */
static void
t12_expired_never_applied_STS_CACHE_8_STS_CACHE_1(void **state)
{
    struct dh_answers nx = ans_dns(MTASTS_DNS_NXDOMAIN);
    struct dh_answers tf = ans_dns(MTASTS_DNS_TEMPFAIL);
    struct dh_answers bad = ans("v=STSv1; id=bad_id", NULL);
    struct dh_answers multi = ans(REC_A, NULL);
    struct dh_store st, before;
    struct dh_run r;

    multi.rr[1][0] = REC_B;
    seed(*state, &st, REC_A, TESTING, T0); /* max_age 86400 */
    before = st;
    /* STS-CACHE-1: valid at t0 + 86399 */
    run(*state, DOM, &st, T0 + 86399, 0, &tf, &r);
    check(&r, MTASTS_OUTCOME_APPLY, MTASTS_WHY_TXT_TEMPFAIL, 1,
          MTASTS_MODE_TESTING, MTASTS_RESULT_NONE, 0, MTASTS_ENTRY_ACTION_STORE,
          1, 0);
    mtasts_lookup_free(r.lk);
    /* expired at t0 + 86400 */
    run(*state, DOM, &st, T0 + 86400, 0, &tf, &r);
    check(&r, MTASTS_OUTCOME_NO_POLICY, MTASTS_WHY_TXT_TEMPFAIL, 0, 0,
          MTASTS_RESULT_NONE, 0, MTASTS_ENTRY_ACTION_UNCHANGED, 1, 0);
    assert_int_equal(mtasts_lookup_refresh_at(r.lk), 0);
    finish(&r, &st);
    /* STS-CACHE-8: TEMPFAIL at t + 1 */
    run(*state, DOM, &st, T0 + 86401, 0, &tf, &r);
    check(&r, MTASTS_OUTCOME_NO_POLICY, MTASTS_WHY_TXT_TEMPFAIL, 0, 0,
          MTASTS_RESULT_NONE, 0, MTASTS_ENTRY_ACTION_UNCHANGED, 1, 0);
    finish(&r, &st);
    run(*state, DOM, &st, T0 + 86401, 0, &nx, &r);
    check(&r, MTASTS_OUTCOME_NO_POLICY, MTASTS_WHY_NO_RECORD, 0, 0,
          MTASTS_RESULT_NONE, 0, MTASTS_ENTRY_ACTION_UNCHANGED, 1, 0);
    finish(&r, &st);
    run(*state, DOM, &st, T0 + 86401, 0, &bad, &r);
    check(&r, MTASTS_OUTCOME_NO_POLICY, MTASTS_WHY_TXT_INVALID, 0, 0,
          MTASTS_RESULT_NONE, 0, MTASTS_ENTRY_ACTION_UNCHANGED, 1, 0);
    finish(&r, &st);
    run(*state, DOM, &st, T0 + 86401, 0, &multi, &r);
    check(&r, MTASTS_OUTCOME_NO_POLICY, MTASTS_WHY_TXT_MULTIPLE, 0, 0,
          MTASTS_RESULT_NONE, 0, MTASTS_ENTRY_ACTION_UNCHANGED, 1, 0);
    finish(&r, &st);
    /* kept (for diagnostics), never applied */
    assert_same_store(&st, &before);
    /* even with the refresh flag, an expired entry is not refreshed
     * without a record (T8 needs a valid cache) */
    run(*state, DOM, &st, T0 + 86401, MTASTS_LOOKUP_F_REFRESH, &nx, &r);
    check(&r, MTASTS_OUTCOME_NO_POLICY, MTASTS_WHY_NO_RECORD, 0, 0,
          MTASTS_RESULT_NONE, 0, MTASTS_ENTRY_ACTION_UNCHANGED, 1, 0);
    finish(&r, &st);
}

/* ------------------------------------------------------------------ */
/* T13, T14, T15, T16                                                  */
/* ------------------------------------------------------------------ */

/* STS-FETCH-12, RPT-AGG-8 */
static void
t13_backoff_same_id_STS_FETCH_12_RPT_AGG_8(void **state)
{
    struct dh_answers fail = ans_fail(REC_A, MTASTS_FETCH_CERT, 0);
    struct dh_answers ok = ans(REC_A, ENFORCE);
    struct dh_store st;
    struct dh_run r;

    st.present = 0;
    /* failure at t=0 for id a */
    run(*state, DOM, &st, T0, 0, &fail, &r);
    check(&r, MTASTS_OUTCOME_NO_POLICY, MTASTS_WHY_FETCH_FAILED, 0, 0,
          MTASTS_RESULT_STS_WEBPKI_INVALID, 0, MTASTS_ENTRY_ACTION_STORE, 1, 1);
    assert_int_equal(mtasts_lookup_refresh_at(r.lk), T0 + 300);
    finish(&r, &st);
    dh_check_entry(*state, &st, DOM, "", 0, 0, T0 + 300, "a", 0);
    /* no callback at t=299; the failure is still reported */
    run(*state, DOM, &st, T0 + 299, 0, &ok, &r);
    check(&r, MTASTS_OUTCOME_NO_POLICY, MTASTS_WHY_BACKOFF, 0, 0,
          MTASTS_RESULT_STS_WEBPKI_INVALID, 0, MTASTS_ENTRY_ACTION_UNCHANGED, 1,
          0);
    assert_int_equal(mtasts_lookup_refresh_at(r.lk), T0 + 300);
    finish(&r, &st);
    /* a callback at t=300 */
    run(*state, DOM, &st, T0 + 300, 0, &ok, &r);
    check(&r, MTASTS_OUTCOME_APPLY, MTASTS_WHY_FETCHED, 0, MTASTS_MODE_ENFORCE,
          MTASTS_RESULT_NONE, 0, MTASTS_ENTRY_ACTION_STORE, 1, 1);
    finish(&r, &st);
    /* success clears the backoff */
    dh_check_entry(*state, &st, DOM, "a", T0 + 300, T0 + 300 + 604800, 0, "",
                   MTASTS_MODE_ENFORCE);
}

/* STS-FETCH-12, STS-CACHE-6, RPT-AGG-8 (backoff over a valid cache) */
static void
t13_backoff_with_cache_STS_FETCH_12_RPT_AGG_8(void **state)
{
    struct dh_answers fail = ans_fail(REC_B, MTASTS_FETCH_OK, 404);
    struct dh_answers b = ans(REC_B, TESTING);
    struct dh_store st;
    struct dh_run r;

    seed(*state, &st, REC_A, ENFORCE, T0);
    run(*state, DOM, &st, T0 + 10, 0, &fail, &r);
    finish(&r, &st);
    run(*state, DOM, &st, T0 + 309, 0, &b, &r);
    check(&r, MTASTS_OUTCOME_APPLY, MTASTS_WHY_BACKOFF, 1, MTASTS_MODE_ENFORCE,
          MTASTS_RESULT_STS_POLICY_FETCH_ERROR, 0,
          MTASTS_ENTRY_ACTION_UNCHANGED, 1, 0);
    finish(&r, &st);
    run(*state, DOM, &st, T0 + 310, 0, &b, &r);
    check(&r, MTASTS_OUTCOME_APPLY, MTASTS_WHY_FETCHED, 0, MTASTS_MODE_TESTING,
          MTASTS_RESULT_NONE, 0, MTASTS_ENTRY_ACTION_STORE, 1, 1);
    finish(&r, &st);
    dh_check_entry(*state, &st, DOM, "b", T0 + 310, T0 + 310 + 86400, 0, "",
                   MTASTS_MODE_TESTING);

    /* a cached none policy: nothing is reported during the backoff */
    seed(*state, &st, REC_A, NONE_POL, T0);
    run(*state, DOM, &st, T0 + 10, 0, &fail, &r);
    check(&r, MTASTS_OUTCOME_NO_ACTIVE_POLICY, MTASTS_WHY_FETCH_FAILED, 1,
          MTASTS_MODE_NONE, MTASTS_RESULT_NONE, 0, MTASTS_ENTRY_ACTION_STORE, 1,
          1);
    finish(&r, &st);
    run(*state, DOM, &st, T0 + 20, 0, &b, &r);
    check(&r, MTASTS_OUTCOME_NO_ACTIVE_POLICY, MTASTS_WHY_BACKOFF, 1,
          MTASTS_MODE_NONE, MTASTS_RESULT_NONE, 0,
          MTASTS_ENTRY_ACTION_UNCHANGED, 1, 0);
    finish(&r, &st);
}

/* STS-FETCH-12: the backoff option, never below 300 s */
static void
t13_backoff_option_STS_FETCH_12(void **state)
{
    struct dh_answers fail = ans_fail(REC_A, MTASTS_FETCH_OK, 500);
    struct dh_answers ok = ans(REC_A, ENFORCE);
    struct dh_store st;
    struct dh_run r;

    assert_int_equal(
        mtasts_ctx_set_option(*state, MTASTS_OPT_FETCH_BACKOFF, 299),
        MTASTS_EINVAL);
    assert_int_equal(mtasts_ctx_get_option(*state, MTASTS_OPT_FETCH_BACKOFF),
                     300);
    assert_int_equal(
        mtasts_ctx_set_option(*state, MTASTS_OPT_FETCH_BACKOFF, 3600),
        MTASTS_OK);
    st.present = 0;
    run(*state, DOM, &st, T0, 0, &fail, &r);
    finish(&r, &st);
    dh_check_entry(*state, &st, DOM, "", 0, 0, T0 + 3600, "a", 0);
    run(*state, DOM, &st, T0 + 3599, 0, &ok, &r);
    assert_int_equal(r.fetch_calls, 0);
    finish(&r, &st);
    run(*state, DOM, &st, T0 + 3600, 0, &ok, &r);
    assert_int_equal(r.fetch_calls, 1);
    finish(&r, &st);
}

/* RPT-AGG-8, STS-FETCH-12: T13 for the cached id itself. A refresh of
 * the cached id failed (T10 -> T17); while the backoff lasts, the row
 * says: cached policy (backoff), the failure's result type reported. */
static void
t13_backoff_after_failed_refresh_RPT_AGG_8(void **state)
{
    struct dh_answers a = ans(REC_A, ENFORCE);
    struct dh_answers fail = ans_fail(REC_A, MTASTS_FETCH_TIMEOUT, 0);
    struct dh_store st;
    struct dh_run r;

    seed(*state, &st, REC_A, ENFORCE, T0);
    run(*state, DOM, &st, T0 + 86400, 0, &fail, &r);
    check(&r, MTASTS_OUTCOME_APPLY, MTASTS_WHY_FETCH_FAILED, 1,
          MTASTS_MODE_ENFORCE, MTASTS_RESULT_STS_POLICY_FETCH_ERROR, 1,
          MTASTS_ENTRY_ACTION_STORE, 1, 1);
    finish(&r, &st);
    run(*state, DOM, &st, T0 + 86400 + 100, 0, &a, &r);
    {
        int why = mtasts_lookup_why(r.lk);
        int rt = mtasts_lookup_result_type(r.lk);
        int fc = mtasts_lookup_from_cache(r.lk);
        int outcome = mtasts_lookup_outcome(r.lk);

        print_message("why %s, result type %s\n", mtasts_why_name(why),
                      mtasts_result_type_name(rt));
        finish(&r, &st);
        assert_int_equal(outcome, MTASTS_OUTCOME_APPLY);
        assert_int_equal(fc, 1);
        assert_int_equal(why, MTASTS_WHY_BACKOFF);
        assert_int_equal(rt, MTASTS_RESULT_STS_POLICY_FETCH_ERROR);
    }
}

/* MTASTS_OPT_FETCH_BACKOFF has a lower bound (300) but needs an upper one
 * too, as the other second counts have: the machine computes
 * now + backoff. */
static void
backoff_option_upper_bound(void **state)
{
    assert_int_equal(mtasts_ctx_set_option(*state, MTASTS_OPT_FETCH_BACKOFF,
                                           (int64_t)1 << 40),
                     MTASTS_OK);
    assert_int_equal(
        mtasts_ctx_set_option(*state, MTASTS_OPT_FETCH_BACKOFF, INT64_MAX),
        MTASTS_EINVAL);
}

/* Times far from today: mtasts_lookup_new takes now in [0, 2^61]
 * (header) and refuses the rest; within the range no sum overflows and
 * every stored entry decodes again. */
static void
extreme_now_values(void **state)
{
    static const struct {
        int64_t now;
        int rc;
    } tab[] = {
        {0, MTASTS_OK},
        {1, MTASTS_OK},
        {(int64_t)1 << 61, MTASTS_OK},
        {((int64_t)1 << 61) + 1, MTASTS_EINVAL},
        {-1, MTASTS_EINVAL},
        {INT64_MIN, MTASTS_EINVAL},
        {INT64_MAX, MTASTS_EINVAL},
        {INT64_MAX - 100, MTASTS_EINVAL},
        {(int64_t)1 << 62, MTASTS_EINVAL},
    };
    struct dh_answers a = ans(REC_A, ENFORCE_LONG);
    struct dh_answers fail = ans_fail(REC_A, MTASTS_FETCH_CONNECT, 0);
    struct dh_store st;
    struct dh_run r;
    size_t i;

    assert_int_equal(mtasts_ctx_set_option(*state, MTASTS_OPT_FETCH_BACKOFF,
                                           (int64_t)1 << 40),
                     MTASTS_OK);
    for (i = 0; i < sizeof(tab) / sizeof(tab[0]); i++) {
        int64_t now = tab[i].now, t2;

        print_message("now = %lld\n", (long long)now);
        st.present = 0;
        assert_int_equal(dh_lookup(*state, DOM, &st, now, 0, &a, &r),
                         tab[i].rc);
        if (tab[i].rc != MTASTS_OK) {
            assert_int_equal(r.stage, 1);
            continue;
        }
        finish(&r, &st);
        dh_check_entry(*state, &st, DOM, "a", now, now + 31557600, 0, "",
                       MTASTS_MODE_ENFORCE);
        /* a failure with the largest backoff, over that cache */
        t2 = now >= 100 ? now - 10 : now + 10; /* within [0, 2^61] */
        run(*state, DOM, &st, t2, MTASTS_LOOKUP_F_REFRESH, &fail, &r);
        assert_int_equal(mtasts_lookup_why(r.lk), MTASTS_WHY_FETCH_FAILED);
        finish(&r, &st);
        dh_check_entry(*state, &st, DOM, "a", now, now + 31557600,
                       t2 + ((int64_t)1 << 40), "a", MTASTS_MODE_ENFORCE);
    }
}

/* MTASTS_OPT_MIN_REFETCH (project option) */
static void
t14_min_refetch_OPT_MIN_REFETCH(void **state)
{
    struct dh_answers b = ans(REC_B, TESTING);
    struct dh_store st, before;
    struct dh_run r;

    assert_int_equal(
        mtasts_ctx_set_option(*state, MTASTS_OPT_MIN_REFETCH, 3600), MTASTS_OK);
    seed(*state, &st, REC_A, ENFORCE, T0);
    before = st;
    run(*state, DOM, &st, T0 + 600, 0, &b, &r);
    check(&r, MTASTS_OUTCOME_APPLY, MTASTS_WHY_MIN_REFETCH, 1,
          MTASTS_MODE_ENFORCE, MTASTS_RESULT_NONE, 0,
          MTASTS_ENTRY_ACTION_UNCHANGED, 1, 0);
    finish(&r, &st);
    assert_same_store(&st, &before);
    run(*state, DOM, &st, T0 + 3600, 0, &b, &r);
    check(&r, MTASTS_OUTCOME_APPLY, MTASTS_WHY_FETCHED, 0, MTASTS_MODE_TESTING,
          MTASTS_RESULT_NONE, 0, MTASTS_ENTRY_ACTION_STORE, 1, 1);
    finish(&r, &st);
    /* no cache: the minimum does not apply */
    st.present = 0;
    run(*state, DOM, &st, T0, 0, &b, &r);
    assert_int_equal(r.fetch_calls, 1);
    finish(&r, &st);
}

/* STS-CACHE-8, STS-CACHE-7 (expired cache, same id) */
static void
t15_expired_same_id_fetches_STS_CACHE_8(void **state)
{
    struct dh_answers a = ans(REC_A, ENFORCE);
    struct dh_answers fail = ans_fail(REC_A, MTASTS_FETCH_TOO_BIG, 0);
    struct dh_store st, expired;
    struct dh_run r;

    /* no refresh interval: the fetch is caused by the expiry alone */
    assert_int_equal(
        mtasts_ctx_set_option(*state, MTASTS_OPT_REFRESH_INTERVAL, 0),
        MTASTS_OK);
    seed(*state, &st, REC_A, TESTING, T0);
    expired = st;
    run(*state, DOM, &st, T0 + 86400, 0, &a, &r);
    check(&r, MTASTS_OUTCOME_APPLY, MTASTS_WHY_FETCHED, 0, MTASTS_MODE_ENFORCE,
          MTASTS_RESULT_NONE, 0, MTASTS_ENTRY_ACTION_STORE, 1, 1);
    finish(&r, &st);
    dh_check_entry(*state, &st, DOM, "a", T0 + 86400, T0 + 86400 + 604800, 0,
                   "", MTASTS_MODE_ENFORCE);
    /* failure: as T18 (no valid cache, no alert); the expired policy may
     * stay in the entry for diagnostics but is not applied */
    st = expired;
    run(*state, DOM, &st, T0 + 86400, 0, &fail, &r);
    check(&r, MTASTS_OUTCOME_NO_POLICY, MTASTS_WHY_FETCH_FAILED, 0, 0,
          MTASTS_RESULT_STS_POLICY_INVALID, 0, MTASTS_ENTRY_ACTION_STORE, 1, 1);
    assert_int_equal(mtasts_lookup_refresh_at(r.lk), T0 + 86400 + 300);
    finish(&r, &st);
    dh_check_entry(*state, &st, DOM, "a", T0, T0 + 86400, T0 + 86400 + 300, "a",
                   MTASTS_MODE_TESTING);
}

/* STS-FETCH-12 (a different id is fetched at once) */
static void
t16_other_id_ignores_backoff_STS_FETCH_12(void **state)
{
    struct dh_answers fail = ans_fail(REC_A, MTASTS_FETCH_CONNECT, 0);
    struct dh_answers failb = ans_fail(REC_B, MTASTS_FETCH_CONNECT, 0);
    struct dh_answers b = ans(REC_B, ENFORCE);
    struct dh_store st, backoff;
    struct dh_run r;

    st.present = 0;
    run(*state, DOM, &st, T0, 0, &fail, &r);
    finish(&r, &st);
    backoff = st;
    /* TXT id b at t=10 -> a callback */
    run(*state, DOM, &st, T0 + 10, 0, &b, &r);
    check(&r, MTASTS_OUTCOME_APPLY, MTASTS_WHY_FETCHED, 0, MTASTS_MODE_ENFORCE,
          MTASTS_RESULT_NONE, 0, MTASTS_ENTRY_ACTION_STORE, 1, 1);
    finish(&r, &st);
    dh_check_entry(*state, &st, DOM, "b", T0 + 10, T0 + 10 + 604800, 0, "",
                   MTASTS_MODE_ENFORCE);
    /* a failure of b replaces the backoff of a */
    st = backoff;
    run(*state, DOM, &st, T0 + 10, 0, &failb, &r);
    check(&r, MTASTS_OUTCOME_NO_POLICY, MTASTS_WHY_FETCH_FAILED, 0, 0,
          MTASTS_RESULT_STS_POLICY_FETCH_ERROR, 0, MTASTS_ENTRY_ACTION_STORE, 1,
          1);
    finish(&r, &st);
    dh_check_entry(*state, &st, DOM, "", 0, 0, T0 + 310, "b", 0);
}

/* ------------------------------------------------------------------ */
/* T17, T18                                                            */
/* ------------------------------------------------------------------ */

struct failure {
    const char *what;
    int transport, http;
    const char *ctype, *body;
    int result_type;
};

/* Every cause of a failed fetch and its reported result type (doc note
 * 2; RFC 8461 section 6). MTASTS_FETCH_TLS is left out: see
 * t18_tls_version_fetch_error_STS_FETCH_5. */
static const struct failure failures_tab[] = {
    {"connect", MTASTS_FETCH_CONNECT, 0, NULL, NULL,
     MTASTS_RESULT_STS_POLICY_FETCH_ERROR},
    {"timeout", MTASTS_FETCH_TIMEOUT, 0, NULL, NULL,
     MTASTS_RESULT_STS_POLICY_FETCH_ERROR},
    {"cert", MTASTS_FETCH_CERT, 0, NULL, NULL,
     MTASTS_RESULT_STS_WEBPKI_INVALID},
    {"too big", MTASTS_FETCH_TOO_BIG, 0, NULL, NULL,
     MTASTS_RESULT_STS_POLICY_INVALID},
    {"error", MTASTS_FETCH_ERROR, 0, NULL, NULL,
     MTASTS_RESULT_STS_POLICY_FETCH_ERROR},
    {"203", MTASTS_FETCH_OK, 203, "text/plain", ENFORCE,
     MTASTS_RESULT_STS_POLICY_FETCH_ERROR},
    {"204", MTASTS_FETCH_OK, 204, "text/plain", "",
     MTASTS_RESULT_STS_POLICY_FETCH_ERROR},
    {"301", MTASTS_FETCH_OK, 301, "text/plain", ENFORCE,
     MTASTS_RESULT_STS_POLICY_FETCH_ERROR},
    {"302", MTASTS_FETCH_OK, 302, "text/html", "moved",
     MTASTS_RESULT_STS_POLICY_FETCH_ERROR},
    {"304", MTASTS_FETCH_OK, 304, NULL, NULL,
     MTASTS_RESULT_STS_POLICY_FETCH_ERROR},
    {"404", MTASTS_FETCH_OK, 404, "text/plain", ENFORCE,
     MTASTS_RESULT_STS_POLICY_FETCH_ERROR},
    {"500", MTASTS_FETCH_OK, 500, "text/plain", ENFORCE,
     MTASTS_RESULT_STS_POLICY_FETCH_ERROR},
    {"text/html", MTASTS_FETCH_OK, 200, "text/html", ENFORCE,
     MTASTS_RESULT_STS_POLICY_INVALID},
    {"no type", MTASTS_FETCH_OK, 200, NULL, ENFORCE,
     MTASTS_RESULT_STS_POLICY_INVALID},
    {"empty type", MTASTS_FETCH_OK, 200, "", ENFORCE,
     MTASTS_RESULT_STS_POLICY_INVALID},
    {"text/plainx", MTASTS_FETCH_OK, 200, "text/plainx", ENFORCE,
     MTASTS_RESULT_STS_POLICY_INVALID},
    {"text/plain-ish", MTASTS_FETCH_OK, 200, "text/plain-ish", ENFORCE,
     MTASTS_RESULT_STS_POLICY_INVALID},
    {"text", MTASTS_FETCH_OK, 200, "text", ENFORCE,
     MTASTS_RESULT_STS_POLICY_INVALID},
    {"bad body", MTASTS_FETCH_OK, 200, "text/plain",
     "version: STSv1\nmode: enforce\nmax_age: 86400\n",
     MTASTS_RESULT_STS_POLICY_INVALID},
    {"empty body", MTASTS_FETCH_OK, 200, "text/plain", "",
     MTASTS_RESULT_STS_POLICY_INVALID},
    {"html body", MTASTS_FETCH_OK, 200, "text/plain", "<html></html>",
     MTASTS_RESULT_STS_POLICY_INVALID},
};

static struct dh_answers
ans_from(const char *rec, const struct failure *f)
{
    struct dh_answers a = ans(rec, f->body);

    a.transport = f->transport;
    a.http = f->http;
    a.ctype = f->ctype;
    return a;
}

/* STS-CACHE-6, STS-CACHE-10, STS-FETCH-2, STS-FETCH-6, STS-FETCH-7,
 * STS-FETCH-9, STS-FETCH-10 */
static void
t17_fetch_fails_keeps_cached_STS_CACHE_6(void **state)
{
    struct dh_store st, cached;
    struct dh_answers a;
    struct dh_run r;
    size_t i, n;

    seed(*state, &st, REC_A, ENFORCE, T0);
    cached = st;
    for (i = 0; i < sizeof(failures_tab) / sizeof(failures_tab[0]); i++) {
        const struct failure *f = &failures_tab[i];

        print_message("T17 cause %s\n", f->what);
        st = cached;
        a = ans_from(REC_B, f);
        run(*state, DOM, &st, T0 + 100, 0, &a, &r);
        check(&r, MTASTS_OUTCOME_APPLY, MTASTS_WHY_FETCH_FAILED, 1,
              MTASTS_MODE_ENFORCE, f->result_type, 1, MTASTS_ENTRY_ACTION_STORE,
              1, 1);
        assert_string_equal(mtasts_policy_raw(mtasts_lookup_policy(r.lk), &n),
                            ENFORCE);
        assert_int_equal(mtasts_lookup_refresh_at(r.lk), T0 + 86400);
        finish(&r, &st);
        /* the cached policy untouched: id a, same times; backoff for b */
        dh_check_entry(*state, &st, DOM, "a", T0, T0 + 604800, T0 + 400, "b",
                       MTASTS_MODE_ENFORCE);
    }
}

/* STS-CACHE-7, STS-FETCH-2, STS-FETCH-6, STS-FETCH-7, STS-FETCH-9,
 * STS-FETCH-10, STS-FETCH-11 */
static void
t18_fetch_fails_no_cache_STS_CACHE_7(void **state)
{
    struct dh_store st;
    struct dh_answers a;
    struct dh_run r;
    size_t i;

    for (i = 0; i < sizeof(failures_tab) / sizeof(failures_tab[0]); i++) {
        const struct failure *f = &failures_tab[i];

        print_message("T18 cause %s\n", f->what);
        st.present = 0;
        a = ans_from(REC_A, f);
        run(*state, DOM, &st, T0, 0, &a, &r);
        /* exactly one fetch: a redirect is not followed (STS-FETCH-7) */
        check(&r, MTASTS_OUTCOME_NO_POLICY, MTASTS_WHY_FETCH_FAILED, 0, 0,
              f->result_type, 0, MTASTS_ENTRY_ACTION_STORE, 1, 1);
        assert_int_equal(mtasts_lookup_refresh_at(r.lk), T0 + 300);
        finish(&r, &st);
        dh_check_entry(*state, &st, DOM, "", 0, 0, T0 + 300, "a", 0);
    }
}

/* STS-FETCH-5: "the callback reports TLS 1.1 -> fetch failure
 * (sts-policy-fetch-error)". The API reports a TLS version below 1.2 (and
 * any handshake failure) as MTASTS_FETCH_TLS; only certificate failures
 * (MTASTS_FETCH_CERT) are sts-webpki-invalid (doc/discovery.md note 2). */
static void
t18_tls_version_fetch_error_STS_FETCH_5(void **state)
{
    struct dh_answers a = ans_fail(REC_A, MTASTS_FETCH_TLS, 0);
    struct dh_store st;
    struct dh_run r;

    st.present = 0;
    run(*state, DOM, &st, T0, 0, &a, &r);
    assert_int_equal(mtasts_lookup_outcome(r.lk), MTASTS_OUTCOME_NO_POLICY);
    assert_int_equal(mtasts_lookup_why(r.lk), MTASTS_WHY_FETCH_FAILED);
    assert_int_equal(r.fetch_calls, 1);
    print_message("MTASTS_FETCH_TLS -> %s\n",
                  mtasts_result_type_name(mtasts_lookup_result_type(r.lk)));
    {
        int rt = mtasts_lookup_result_type(r.lk);

        mtasts_lookup_free(r.lk);
        assert_int_equal(rt, MTASTS_RESULT_STS_POLICY_FETCH_ERROR);
    }
}

/* STS-FETCH-9: media type text/plain, any case, parameters ignored */
static void
t18_content_type_accepted_STS_FETCH_9(void **state)
{
    static const char *const ok[] = {
        "text/plain",
        "Text/Plain; charset=UTF-8",
        "text/plain; charset=iso-8859-1",
        "TEXT/PLAIN",
        "text/plain;charset=utf-8",
        " text/plain ",
        "text/plain ; format=flowed",
    };
    struct dh_store st;
    struct dh_answers a;
    struct dh_run r;
    size_t i;

    for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        print_message("type '%s'\n", ok[i]);
        st.present = 0;
        a = ans(REC_A, ENFORCE);
        a.ctype = ok[i];
        run(*state, DOM, &st, T0, 0, &a, &r);
        check(&r, MTASTS_OUTCOME_APPLY, MTASTS_WHY_FETCHED, 0,
              MTASTS_MODE_ENFORCE, MTASTS_RESULT_NONE, 0,
              MTASTS_ENTRY_ACTION_STORE, 1, 1);
        finish(&r, &st);
    }
}

/* Fill buf with a valid enforce policy of exactly len bytes, padded with
 * extension lines. */
static void
padded_policy(char *buf, size_t len)
{
    static const char head[] = ENFORCE;
    size_t p = sizeof(head) - 1, k = 0, line, i;

    memcpy(buf, head, p);
    while (p < len) {
        /* "pNNNNN: " + value + "\n", at most 1000 bytes per line */
        char name[16];
        int nl = snprintf(name, sizeof(name), "p%05u: ", (unsigned)k++);
        assert_true(nl == 8);
        line = len - p;
        if (line > 1000)
            line = 1000;
        if (len - p - line < 10 && len - p > line)
            line -= 20; /* leave room for a last whole line */
        assert_true(line >= 10);
        memcpy(buf + p, name, 8);
        for (i = 8; i < line - 1; i++)
            buf[p + i] = (char)('a' + (i % 26));
        buf[p + line - 1] = '\n';
        p += line;
    }
    assert_int_equal(p, len);
}

/* STS-FETCH-11 */
static void
t18_body_size_limit_STS_FETCH_11(void **state)
{
    char *body = malloc(65537 + 1);
    struct dh_store *st = malloc(sizeof(*st));
    struct dh_answers a = ans(REC_A, NULL);
    struct dh_run r;
    size_t n;

    assert_non_null(body);
    assert_non_null(st);
    /* a valid 65536-byte body is parsed */
    padded_policy(body, 65536);
    a.body = body;
    a.body_len = 65536;
    st->present = 0;
    run(*state, DOM, st, T0, 0, &a, &r);
    check(&r, MTASTS_OUTCOME_APPLY, MTASTS_WHY_FETCHED, 0, MTASTS_MODE_ENFORCE,
          MTASTS_RESULT_NONE, 0, MTASTS_ENTRY_ACTION_STORE, 1, 1);
    mtasts_policy_raw(mtasts_lookup_policy(r.lk), &n);
    assert_int_equal(n, 65536);
    finish(&r, st);
    dh_check_entry(*state, st, DOM, "a", T0, T0 + 604800, 0, "",
                   MTASTS_MODE_ENFORCE);
    /* a 65537-byte body fails (sts-policy-invalid) */
    padded_policy(body, 65537);
    a.body_len = 65537;
    st->present = 0;
    run(*state, DOM, st, T0, 0, &a, &r);
    check(&r, MTASTS_OUTCOME_NO_POLICY, MTASTS_WHY_FETCH_FAILED, 0, 0,
          MTASTS_RESULT_STS_POLICY_INVALID, 0, MTASTS_ENTRY_ACTION_STORE, 1, 1);
    finish(&r, st);
    /* the limit is the context's: smaller limit, smaller max_size */
    assert_int_equal(
        mtasts_ctx_set_limit(*state, MTASTS_LIMIT_POLICY_SIZE, 100), MTASTS_OK);
    a = ans(REC_A, ENFORCE); /* 89 bytes */
    st->present = 0;
    run(*state, DOM, st, T0, 0, &a, &r);
    assert_int_equal(r.max_size, 100);
    assert_int_equal(mtasts_lookup_why(r.lk), MTASTS_WHY_FETCHED);
    finish(&r, st);
    padded_policy(body, 101);
    a.body = body;
    a.body_len = 101;
    st->present = 0;
    run(*state, DOM, st, T0, 0, &a, &r);
    check(&r, MTASTS_OUTCOME_NO_POLICY, MTASTS_WHY_FETCH_FAILED, 0, 0,
          MTASTS_RESULT_STS_POLICY_INVALID, 0, MTASTS_ENTRY_ACTION_STORE, 1, 1);
    finish(&r, st);
    free(body);
    free(st);
}

/* ------------------------------------------------------------------ */
/* T19                                                                 */
/* ------------------------------------------------------------------ */

/* STS-CACHE-13 */
static void
t19_max_age_zero_applies_once_STS_CACHE_13(void **state)
{
    struct dh_answers a = ans(REC_A, ENFORCE_AGE0);
    struct dh_answers tf = ans_dns(MTASTS_DNS_TEMPFAIL);
    struct dh_store st;
    struct dh_run r;

    st.present = 0;
    run(*state, DOM, &st, T0, 0, &a, &r);
    check(&r, MTASTS_OUTCOME_APPLY, MTASTS_WHY_FETCHED, 0, MTASTS_MODE_ENFORCE,
          MTASTS_RESULT_NONE, 0, MTASTS_ENTRY_ACTION_STORE, 1, 1);
    assert_int_equal(mtasts_policy_max_age(mtasts_lookup_policy(r.lk)), 0);
    finish(&r, &st);
    dh_check_entry(*state, &st, DOM, "a", T0, T0, 0, "", MTASTS_MODE_ENFORCE);
    /* t + 1, same id: a new fetch */
    run(*state, DOM, &st, T0 + 1, 0, &a, &r);
    check(&r, MTASTS_OUTCOME_APPLY, MTASTS_WHY_FETCHED, 0, MTASTS_MODE_ENFORCE,
          MTASTS_RESULT_NONE, 0, MTASTS_ENTRY_ACTION_STORE, 1, 1);
    finish(&r, &st);
    /* never valid later: a DNS failure gives no policy */
    run(*state, DOM, &st, T0 + 1, 0, &tf, &r);
    check(&r, MTASTS_OUTCOME_NO_POLICY, MTASTS_WHY_TXT_TEMPFAIL, 0, 0,
          MTASTS_RESULT_NONE, 0, MTASTS_ENTRY_ACTION_UNCHANGED, 1, 0);
    finish(&r, &st);
}

/* ------------------------------------------------------------------ */
/* Names, URLs, keys                                                   */
/* ------------------------------------------------------------------ */

/* STS-FETCH-1, STS-FETCH-4, STS-FETCH-10, STS-FETCH-11, STS-TXT-1 */
static void
fetch_request_getters_STS_FETCH_1_STS_FETCH_4(void **state)
{
    struct dh_answers a = ans(REC_A, ENFORCE);
    struct dh_store st;
    struct dh_run r;
    mtasts_lookup *lk;
    size_t n;

    st.present = 0;
    run(*state, "Example.COM", &st, T0, 0, &a, &r);
    assert_string_equal(r.qname, "_mta-sts.example.com");
    assert_string_equal(r.url, URL_EXAMPLE);
    assert_string_equal(r.host, "mta-sts.example.com");
    assert_int_equal(r.timeout_ms, 60000);
    assert_int_equal(r.max_size, 65536);
    finish(&r, &st);
    dh_check_entry(*state, &st, DOM, "a", T0, T0 + 604800, 0, "",
                   MTASTS_MODE_ENFORCE);

    assert_int_equal(
        mtasts_ctx_set_option(*state, MTASTS_OPT_FETCH_TIMEOUT_MS, 5000),
        MTASTS_OK);
    assert_int_equal(
        mtasts_lookup_new(*state, S("MAIL.Example.org."), NULL, 0, T0, 0, &lk),
        MTASTS_OK);
    assert_string_equal(mtasts_lookup_txt_name(lk, &n),
                        "_mta-sts.mail.example.org");
    assert_int_equal(n, 25);
    assert_int_equal(mtasts_lookup_fetch_timeout_ms(lk), 5000);
    /* the request as seen when the fetch is asked for */
    assert_int_equal(mtasts_lookup_next(lk), MTASTS_ACT_TXT);
    assert_int_equal(dh_put_txt(lk, &a), MTASTS_OK);
    assert_int_equal(mtasts_lookup_next(lk), MTASTS_ACT_FETCH);
    assert_string_equal(mtasts_lookup_fetch_url(lk, &n),
                        "https://mta-sts.mail.example.org/.well-known/"
                        "mta-sts.txt");
    assert_int_equal(n, 56);
    assert_string_equal(mtasts_lookup_fetch_host(lk, &n),
                        "mta-sts.mail.example.org");
    assert_int_equal(n, 24);
    assert_int_equal(mtasts_lookup_fetch_timeout_ms(lk), 5000);
    assert_int_equal(mtasts_lookup_fetch_max_size(lk), 65536);
    mtasts_lookup_free(lk);
}

/* STS-FETCH-3, STS-FETCH-4: the fetch callback checks the certificate
 * against the Policy Host it is given (also the SNI), with the exported
 * matcher: SAN DNS-IDs only, a wildcard only as the whole left-most label */
static void
cert_identity_of_policy_host_STS_FETCH_3(void **state)
{
    static const char *const sans[] = {"www.example.com", "*.example.com"};
    static const size_t san_lens[] = {15, 13};
    struct dh_answers a = ans(REC_A, ENFORCE);
    mtasts_lookup *lk;
    const char *host;
    size_t n;

    assert_int_equal(mtasts_lookup_new(*state, S(DOM), NULL, 0, T0, 0, &lk),
                     MTASTS_OK);
    assert_int_equal(dh_put_txt(lk, &a), MTASTS_OK);
    assert_int_equal(mtasts_lookup_next(lk), MTASTS_ACT_FETCH);
    host = mtasts_lookup_fetch_host(lk, &n);
    assert_string_equal(host, "mta-sts.example.com");
    assert_int_equal(mtasts_cert_name_match(S("*.example.com"), host, n), 1);
    assert_int_equal(mtasts_cert_name_match(S("mta-sts.example.com"), host, n),
                     1);
    assert_int_equal(mtasts_cert_name_match(S("MTA-STS.Example.COM"), host, n),
                     1);
    assert_int_equal(mtasts_cert_name_match(S("mta-sts.*.com"), host, n), 0);
    assert_int_equal(mtasts_cert_name_match(S("m*.example.com"), host, n), 0);
    assert_int_equal(
        mtasts_cert_name_match(S("*.mta-sts.example.com"), host, n), 0);
    assert_int_equal(mtasts_cert_name_match(S("example.com"), host, n), 0);
    assert_int_equal(mtasts_cert_names_match(sans, san_lens, 2, host, n), 1);
    assert_int_equal(mtasts_cert_names_match(sans, san_lens, 1, host, n), 0);
    /* the verdict goes back as MTASTS_FETCH_CERT (STS-FETCH-2) */
    assert_int_equal(
        mtasts_lookup_put_fetch(lk, MTASTS_FETCH_CERT, 0, NULL, 0, NULL, 0),
        MTASTS_OK);
    assert_int_equal(mtasts_lookup_result_type(lk),
                     MTASTS_RESULT_STS_WEBPKI_INVALID);
    assert_null(mtasts_lookup_policy(lk));
    mtasts_lookup_free(lk);
}

/* STS-FETCH-13, STS-FETCH-14 */
static void
no_fetch_no_parent_fallback_STS_FETCH_13_STS_FETCH_14(void **state)
{
    struct dh_answers nx = ans_dns(MTASTS_DNS_NXDOMAIN);
    struct dh_store st;
    struct dh_run r;

    st.present = 0;
    run(*state, "mail.example.com", &st, T0, 0, &nx, &r);
    check(&r, MTASTS_OUTCOME_NO_POLICY, MTASTS_WHY_NO_RECORD, 0, 0,
          MTASTS_RESULT_NONE, 0, MTASTS_ENTRY_ACTION_UNCHANGED, 1, 0);
    /* only _mta-sts.<domain> was asked, once */
    assert_string_equal(r.qname, "_mta-sts.mail.example.com");
    finish(&r, &st);
    assert_false(st.present);
}

/* STS-TXT-12 */
static void
cname_chain_url_from_original_domain_STS_TXT_12(void **state)
{
    struct dh_answers a = ans("v=STSv1; id=p1", ENFORCE);
    struct dh_store st;
    struct dh_run r;

    /* _mta-sts.user.example CNAME _mta-sts.provider.example: the
     * resolver returns the TXT RRset at the end of the chain */
    st.present = 0;
    run(*state, "user.example", &st, T0, 0, &a, &r);
    assert_string_equal(r.qname, "_mta-sts.user.example");
    assert_string_equal(r.url,
                        "https://mta-sts.user.example/.well-known/mta-sts.txt");
    assert_string_equal(r.host, "mta-sts.user.example");
    finish(&r, &st);
    dh_check_entry(*state, &st, "user.example", "p1", T0, T0 + 604800, 0, "",
                   MTASTS_MODE_ENFORCE);
}

/* STS-CACHE-2 */
static void
cache_key_normalised_STS_CACHE_2(void **state)
{
    struct dh_answers tf = ans_dns(MTASTS_DNS_TEMPFAIL);
    struct dh_answers a = ans(REC_A, TESTING);
    struct dh_store st;
    struct dh_run r;

    seed(*state, &st, REC_A, ENFORCE, T0); /* stored for "example.com" */
    run(*state, "EXAMPLE.com.", &st, T0 + 10, 0, &tf, &r);
    assert_int_equal(mtasts_lookup_entry_error(r.lk), 0);
    check(&r, MTASTS_OUTCOME_APPLY, MTASTS_WHY_TXT_TEMPFAIL, 1,
          MTASTS_MODE_ENFORCE, MTASTS_RESULT_NONE, 0,
          MTASTS_ENTRY_ACTION_UNCHANGED, 1, 0);
    finish(&r, &st);
    run(*state, "Example.Com", &st, T0 + 10, 0, &a, &r);
    check(&r, MTASTS_OUTCOME_APPLY, MTASTS_WHY_CACHED, 1, MTASTS_MODE_ENFORCE,
          MTASTS_RESULT_NONE, 0, MTASTS_ENTRY_ACTION_UNCHANGED, 1, 0);
    finish(&r, &st);
    /* an entry stored under another domain is not trusted */
    run(*state, "example.org", &st, T0 + 10, 0, &tf, &r);
    assert_int_equal(mtasts_lookup_entry_error(r.lk), MTASTS_EINVAL);
    check(&r, MTASTS_OUTCOME_NO_POLICY, MTASTS_WHY_TXT_TEMPFAIL, 0, 0,
          MTASTS_RESULT_NONE, 0, MTASTS_ENTRY_ACTION_UNCHANGED, 1, 0);
    mtasts_lookup_free(r.lk);
    run(*state, "sub.example.com", &st, T0 + 10, 0, &tf, &r);
    assert_int_equal(mtasts_lookup_entry_error(r.lk), MTASTS_EINVAL);
    assert_int_equal(mtasts_lookup_outcome(r.lk), MTASTS_OUTCOME_NO_POLICY);
    mtasts_lookup_free(r.lk);
}

/* STS-CACHE-14 (partly): corrupt, tampered, truncated and future-version
 * entries are ignored, reported, never trusted */
static void
bad_entries_ignored_STS_CACHE_14(void **state)
{
    struct dh_answers tf = ans_dns(MTASTS_DNS_TEMPFAIL);
    struct dh_answers a = ans(REC_A, TESTING);
    struct dh_store good, st;
    struct dh_run r;
    uint8_t *p;
    size_t i;

    seed(*state, &good, REC_A, ENFORCE, T0);
    for (i = 0; i < 6; i++) {
        int want;

        st = good;
        switch (i) {
        case 0: /* tampered body: the policy no longer parses */
            p = (uint8_t *)strstr((char *)st.buf, "mode: enforce");
            assert_non_null(p);
            p[12] = 'X';
            want = MTASTS_ECORRUPT; /* the entry's check catches it */
            break;
        case 1: /* truncated by one byte */
            st.len--;
            want = MTASTS_ECORRUPT;
            break;
        case 2: /* future version */
            p = (uint8_t *)strstr((char *)st.buf, "MTASTS-ENTRY/3\n");
            assert_ptr_equal(p, st.buf);
            p[13] = '4';
            want = MTASTS_EVERSION;
            break;
        case 3: /* garbage */
            dh_store_set(&st, "hello", 5);
            want = MTASTS_ESYNTAX;
            break;
        case 4: /* tampered time: expires before fetched */
            p = (uint8_t *)strstr((char *)st.buf, "expires=");
            assert_non_null(p);
            p[8] = '0';
            want = MTASTS_ECORRUPT;
            break;
        default: /* empty */
            st.len = 0;
            want = MTASTS_ESYNTAX;
            break;
        }
        print_message("bad entry %u\n", (unsigned)i);
        run(*state, DOM, &st, T0 + 10, 0, &tf, &r);
        assert_int_equal(mtasts_lookup_entry_error(r.lk), want);
        check(&r, MTASTS_OUTCOME_NO_POLICY, MTASTS_WHY_TXT_TEMPFAIL, 0, 0,
              MTASTS_RESULT_NONE, 0, MTASTS_ENTRY_ACTION_UNCHANGED, 1, 0);
        mtasts_lookup_free(r.lk);
        /* with a record, the policy is fetched as without cache */
        run(*state, DOM, &st, T0 + 10, 0, &a, &r);
        assert_int_equal(mtasts_lookup_entry_error(r.lk), want);
        check(&r, MTASTS_OUTCOME_APPLY, MTASTS_WHY_FETCHED, 0,
              MTASTS_MODE_TESTING, MTASTS_RESULT_NONE, 0,
              MTASTS_ENTRY_ACTION_STORE, 1, 1);
        finish(&r, &st);
        dh_check_entry(*state, &st, DOM, "a", T0 + 10, T0 + 10 + 86400, 0, "",
                       MTASTS_MODE_TESTING);
    }
}

/* STS-CACHE-14 (partly): the entry bytes are the export form; importing
 * them into a new context gives identical decisions. (Export/import of a
 * whole cache belongs to mtasts_cache, not tested here.) */
static void
export_import_same_decisions_STS_CACHE_14(void **state)
{
    struct dh_answers as[4];
    struct dh_store st;
    struct dh_run r1, r2;
    mtasts_ctx *ctx2 = harness_ctx_new();
    size_t i, n1, n2;

    as[0] = ans_dns(MTASTS_DNS_TEMPFAIL);
    as[1] = ans(REC_A, NULL);
    as[2] = ans_dns(MTASTS_DNS_NXDOMAIN);
    as[3] = ans("v=STSv1; id=bad_id", NULL);
    seed(*state, &st, REC_A, ENFORCE, T0);
    for (i = 0; i < 4; i++) {
        run(*state, DOM, &st, T0 + 50, 0, &as[i], &r1);
        run(ctx2, DOM, &st, T0 + 50, 0, &as[i], &r2);
        assert_int_equal(mtasts_lookup_outcome(r1.lk),
                         mtasts_lookup_outcome(r2.lk));
        assert_int_equal(mtasts_lookup_why(r1.lk), mtasts_lookup_why(r2.lk));
        assert_int_equal(mtasts_lookup_outcome(r2.lk), MTASTS_OUTCOME_APPLY);
        assert_string_equal(
            mtasts_policy_raw(mtasts_lookup_policy(r1.lk), &n1),
            mtasts_policy_raw(mtasts_lookup_policy(r2.lk), &n2));
        assert_int_equal(n1, n2);
        mtasts_lookup_free(r1.lk);
        mtasts_lookup_free(r2.lk);
    }
    mtasts_ctx_free(ctx2);
    assert_int_equal(harness_leaks(), 1);
}

/* STS-CACHE-11 (partly): the pull API never blocks and never calls out.
 * A caller that must not wait can leave the fetch question open, deliver
 * without a policy (its own "pending" outcome: the lookup reports none
 * while not done), answer when the fetch completes, and a later lookup
 * uses the stored result. The library has no NO_POLICY(pending) outcome
 * or queue of its own. */
static void
nonblocking_by_caller_STS_CACHE_11(void **state)
{
    struct dh_answers a = ans(REC_A, ENFORCE);
    struct dh_store st;
    struct dh_run r;
    mtasts_lookup *lk;
    size_t need;

    st.present = 0;
    assert_int_equal(mtasts_lookup_new(*state, S(DOM), NULL, 0, T0, 0, &lk),
                     MTASTS_OK);
    assert_int_equal(mtasts_lookup_next(lk), MTASTS_ACT_TXT);
    assert_int_equal(dh_put_txt(lk, &a), MTASTS_OK);
    assert_int_equal(mtasts_lookup_next(lk), MTASTS_ACT_FETCH);
    /* pending: nothing decided yet */
    assert_int_equal(mtasts_lookup_outcome(lk), 0);
    assert_int_equal(mtasts_lookup_why(lk), 0);
    assert_null(mtasts_lookup_policy(lk));
    assert_int_equal(mtasts_lookup_entry_action(lk),
                     MTASTS_ENTRY_ACTION_UNCHANGED);
    assert_int_equal(mtasts_lookup_entry(lk, NULL, 0, &need), MTASTS_ESTATE);
    assert_int_equal(mtasts_lookup_refresh_at(lk), 0);
    /* the fetch completes later */
    assert_int_equal(dh_put_fetch(lk, &a), MTASTS_OK);
    assert_int_equal(mtasts_lookup_next(lk), MTASTS_ACT_DONE);
    assert_int_equal(dh_apply(&st, lk), MTASTS_OK);
    mtasts_lookup_free(lk);
    /* the next evaluation applies it without a fetch */
    run(*state, DOM, &st, T0 + 5, 0, &a, &r);
    check(&r, MTASTS_OUTCOME_APPLY, MTASTS_WHY_CACHED, 1, MTASTS_MODE_ENFORCE,
          MTASTS_RESULT_NONE, 0, MTASTS_ENTRY_ACTION_UNCHANGED, 1, 0);
    finish(&r, &st);
}

/* ------------------------------------------------------------------ */
/* API contract                                                        */
/* ------------------------------------------------------------------ */

static void
lookup_new_arguments(void **state)
{
    mtasts_lookup *lk = (mtasts_lookup *)1;
    char longname[300];
    size_t i;

    assert_int_equal(mtasts_lookup_new(NULL, S(DOM), NULL, 0, T0, 0, &lk),
                     MTASTS_EINVAL);
    assert_null(lk);
    assert_int_equal(mtasts_lookup_new(*state, S(DOM), NULL, 0, T0, 0, NULL),
                     MTASTS_EINVAL);
    assert_int_equal(mtasts_lookup_new(*state, NULL, 3, NULL, 0, T0, 0, &lk),
                     MTASTS_EINVAL);
    assert_int_equal(mtasts_lookup_new(*state, S(DOM), NULL, 5, T0, 0, &lk),
                     MTASTS_EINVAL);
    assert_int_equal(mtasts_lookup_new(*state, S(DOM), NULL, 0, T0, 0x2u, &lk),
                     MTASTS_EINVAL);
    assert_null(lk);
    assert_int_equal(mtasts_lookup_new(*state,
                                       S("b\xc3\xbc"
                                         "cher.example"),
                                       NULL, 0, T0, 0, &lk),
                     MTASTS_ENONASCII);
    assert_int_equal(
        mtasts_lookup_new(*state, S("a..example"), NULL, 0, T0, 0, &lk),
        MTASTS_ESYNTAX);
    assert_int_equal(mtasts_lookup_new(*state, S(""), NULL, 0, T0, 0, &lk),
                     MTASTS_ESYNTAX);
    assert_int_equal(
        mtasts_lookup_new(*state, S("exa mple.com"), NULL, 0, T0, 0, &lk),
        MTASTS_ESYNTAX);
    /* 253 octets: a valid name, but _mta-sts.<name> is too long */
    for (i = 0; i < sizeof(longname); i++)
        longname[i] = (i % 50 == 49) ? '.' : 'a';
    assert_int_equal(
        mtasts_lookup_new(*state, longname, 253, NULL, 0, T0, 0, &lk),
        MTASTS_ETOOBIG);
    assert_int_equal(
        mtasts_lookup_new(*state, longname, 260, NULL, 0, T0, 0, &lk),
        MTASTS_ETOOBIG);
    assert_null(lk);
    mtasts_lookup_free(NULL);
}

static void
lookup_state_errors(void **state)
{
    static const char *const strs[] = {REC_A};
    static const size_t lens[] = {sizeof(REC_A) - 1}, nstr[] = {1};
    mtasts_lookup *lk;
    size_t need, n;

    assert_int_equal(mtasts_lookup_new(*state, S(DOM), NULL, 0, T0, 0, &lk),
                     MTASTS_OK);
    /* not done: nothing to read */
    assert_int_equal(mtasts_lookup_outcome(lk), 0);
    assert_int_equal(mtasts_lookup_result_type(lk), 0);
    assert_int_equal(mtasts_lookup_alert(lk), 0);
    assert_int_equal(mtasts_lookup_from_cache(lk), 0);
    assert_int_equal(mtasts_lookup_entry(lk, NULL, 0, &need), MTASTS_ESTATE);
    /* a fetch answer while the TXT question is open */
    assert_int_equal(mtasts_lookup_put_fetch(lk, MTASTS_FETCH_OK, 200,
                                             S("text/plain"), S(ENFORCE)),
                     MTASTS_ESTATE);
    /* bad arguments leave the question open */
    assert_int_equal(mtasts_lookup_put_txt(lk, 4, NULL, NULL, NULL, 0),
                     MTASTS_EINVAL);
    assert_int_equal(mtasts_lookup_put_txt(lk, -1, NULL, NULL, NULL, 0),
                     MTASTS_EINVAL);
    assert_int_equal(
        mtasts_lookup_put_txt(lk, MTASTS_DNS_OK, strs, lens, NULL, 1),
        MTASTS_EINVAL);
    assert_int_equal(
        mtasts_lookup_put_txt(NULL, MTASTS_DNS_OK, NULL, NULL, NULL, 0),
        MTASTS_EINVAL);
    assert_int_equal(mtasts_lookup_next(lk), MTASTS_ACT_TXT);
    assert_int_equal(
        mtasts_lookup_put_txt(lk, MTASTS_DNS_OK, strs, lens, nstr, 1),
        MTASTS_OK);
    assert_int_equal(mtasts_lookup_next(lk), MTASTS_ACT_FETCH);
    assert_int_equal(
        mtasts_lookup_put_txt(lk, MTASTS_DNS_OK, strs, lens, nstr, 1),
        MTASTS_ESTATE);
    assert_int_equal(
        mtasts_lookup_put_fetch(lk, 7, 200, S("text/plain"), S(ENFORCE)),
        MTASTS_EINVAL);
    assert_int_equal(
        mtasts_lookup_put_fetch(lk, -1, 200, S("text/plain"), S(ENFORCE)),
        MTASTS_EINVAL);
    assert_int_equal(mtasts_lookup_put_fetch(lk, MTASTS_FETCH_OK, 200,
                                             S("text/plain"), NULL, 4),
                     MTASTS_EINVAL);
    assert_int_equal(
        mtasts_lookup_put_fetch(lk, MTASTS_FETCH_OK, 200, NULL, 4, S(ENFORCE)),
        MTASTS_EINVAL);
    assert_int_equal(mtasts_lookup_put_fetch(NULL, MTASTS_FETCH_OK, 200,
                                             S("text/plain"), S(ENFORCE)),
                     MTASTS_EINVAL);
    assert_int_equal(mtasts_lookup_next(lk), MTASTS_ACT_FETCH);
    assert_int_equal(mtasts_lookup_put_fetch(lk, MTASTS_FETCH_OK, 200,
                                             S("text/plain"), S(ENFORCE)),
                     MTASTS_OK);
    assert_int_equal(mtasts_lookup_next(lk), MTASTS_ACT_DONE);
    assert_int_equal(mtasts_lookup_next(lk), MTASTS_ACT_DONE);
    /* done: no more answers */
    assert_int_equal(mtasts_lookup_put_fetch(lk, MTASTS_FETCH_OK, 200,
                                             S("text/plain"), S(ENFORCE)),
                     MTASTS_ESTATE);
    assert_int_equal(
        mtasts_lookup_put_txt(lk, MTASTS_DNS_OK, strs, lens, nstr, 1),
        MTASTS_ESTATE);
    assert_int_equal(mtasts_lookup_outcome(lk), MTASTS_OUTCOME_APPLY);
    /* entry output: snprintf semantics */
    {
        uint8_t small[8], *big;
        size_t need2;

        assert_int_equal(mtasts_lookup_entry(lk, NULL, 0, &need),
                         MTASTS_ERANGE);
        assert_true(need > 100);
        assert_int_equal(mtasts_lookup_entry(lk, NULL, 5, &need2),
                         MTASTS_EINVAL);
        assert_int_equal(mtasts_lookup_entry(lk, small, sizeof(small), &need2),
                         MTASTS_ERANGE);
        assert_int_equal(need2, need);
        assert_memory_equal(small, "MTASTS-", 7);
        assert_int_equal(small[7], 0);
        big = malloc(need + 1);
        assert_non_null(big);
        assert_int_equal(mtasts_lookup_entry(lk, big, need, &need2),
                         MTASTS_ERANGE);
        assert_int_equal(mtasts_lookup_entry(lk, big, need + 1, &need2),
                         MTASTS_OK);
        assert_int_equal(mtasts_lookup_entry(NULL, big, need + 1, &need2),
                         MTASTS_EINVAL);
        free(big);
    }
    mtasts_lookup_free(lk);

    /* NULL getters */
    assert_null(mtasts_lookup_txt_name(NULL, &n));
    assert_int_equal(n, 0);
    assert_null(mtasts_lookup_fetch_url(NULL, &n));
    assert_null(mtasts_lookup_fetch_host(NULL, NULL));
    assert_int_equal(mtasts_lookup_fetch_timeout_ms(NULL), 0);
    assert_int_equal(mtasts_lookup_fetch_max_size(NULL), 0);
    assert_int_equal(mtasts_lookup_next(NULL), MTASTS_EINVAL);
    assert_int_equal(mtasts_lookup_outcome(NULL), 0);
    assert_int_equal(mtasts_lookup_why(NULL), 0);
    assert_null(mtasts_lookup_policy(NULL));
    assert_int_equal(mtasts_lookup_from_cache(NULL), 0);
    assert_int_equal(mtasts_lookup_result_type(NULL), 0);
    assert_int_equal(mtasts_lookup_alert(NULL), 0);
    assert_int_equal(mtasts_lookup_entry_error(NULL), 0);
    assert_int_equal(mtasts_lookup_entry_action(NULL),
                     MTASTS_ENTRY_ACTION_UNCHANGED);
    assert_int_equal(mtasts_lookup_refresh_at(NULL), 0);
}

/* ------------------------------------------------------------------ */
/* Options and names                                                   */
/* ------------------------------------------------------------------ */

static void
ctx_options_ranges(void **state)
{
    mtasts_ctx *ctx = *state;

    /* defaults */
    assert_int_equal(mtasts_ctx_get_option(ctx, MTASTS_OPT_REFRESH_INTERVAL),
                     86400);
    assert_int_equal(mtasts_ctx_get_option(ctx, MTASTS_OPT_FETCH_BACKOFF), 300);
    assert_int_equal(mtasts_ctx_get_option(ctx, MTASTS_OPT_EXTEND_SAME_ID), 0);
    assert_int_equal(mtasts_ctx_get_option(ctx, MTASTS_OPT_TEMPFAIL_NO_CACHE),
                     0);
    assert_int_equal(mtasts_ctx_get_option(ctx, MTASTS_OPT_DELETE_NONE), 1);
    assert_int_equal(mtasts_ctx_get_option(ctx, MTASTS_OPT_FETCH_TIMEOUT_MS),
                     60000);
    assert_int_equal(mtasts_ctx_get_option(ctx, MTASTS_OPT_MIN_REFETCH), 0);
    /* unknown options, NULL context */
    assert_int_equal(mtasts_ctx_get_option(ctx, 0), -1);
    assert_int_equal(mtasts_ctx_get_option(ctx, 99), -1);
    assert_int_equal(mtasts_ctx_get_option(ctx, MTASTS_OPT_MIN_REFETCH + 1),
                     -1);
    assert_int_equal(mtasts_ctx_get_option(ctx, -1), -1);
    assert_int_equal(mtasts_ctx_get_option(NULL, MTASTS_OPT_REFRESH_INTERVAL),
                     -1);
    assert_int_equal(mtasts_ctx_set_option(ctx, 0, 1), MTASTS_EINVAL);
    assert_int_equal(mtasts_ctx_set_option(ctx, MTASTS_OPT_MIN_REFETCH + 1, 1),
                     MTASTS_EINVAL);
    assert_int_equal(
        mtasts_ctx_set_option(NULL, MTASTS_OPT_REFRESH_INTERVAL, 1),
        MTASTS_EINVAL);
    /* a limit is not an option (issue 10): this call once set the fetch
     * backoff to 600 s; it must be refused and change nothing */
    assert_int_equal(mtasts_ctx_set_option(ctx, MTASTS_LIMIT_POLICY_MX, 600),
                     MTASTS_EINVAL);
    assert_int_equal(mtasts_ctx_get_option(ctx, MTASTS_OPT_FETCH_BACKOFF), 300);
    assert_int_equal(mtasts_ctx_get_option(ctx, MTASTS_LIMIT_POLICY_MX), -1);
    assert_int_equal(mtasts_ctx_get_limit(ctx, MTASTS_LIMIT_POLICY_MX),
                     MTASTS_POLICY_MAX_MX);
    /* nor an option a limit */
    assert_int_equal(mtasts_ctx_set_limit(ctx, MTASTS_OPT_FETCH_BACKOFF, 600),
                     MTASTS_EINVAL);
    assert_int_equal(mtasts_ctx_get_limit(ctx, MTASTS_OPT_FETCH_BACKOFF), 0);
    /* backoff < 300 refused */
    assert_int_equal(mtasts_ctx_set_option(ctx, MTASTS_OPT_FETCH_BACKOFF, 0),
                     MTASTS_EINVAL);
    assert_int_equal(mtasts_ctx_set_option(ctx, MTASTS_OPT_FETCH_BACKOFF, 299),
                     MTASTS_EINVAL);
    assert_int_equal(mtasts_ctx_set_option(ctx, MTASTS_OPT_FETCH_BACKOFF, 300),
                     MTASTS_OK);
    /* booleans */
    assert_int_equal(
        mtasts_ctx_set_option(ctx, MTASTS_OPT_TEMPFAIL_NO_CACHE, 2),
        MTASTS_EINVAL);
    assert_int_equal(mtasts_ctx_set_option(ctx, MTASTS_OPT_DELETE_NONE, 2),
                     MTASTS_EINVAL);
    assert_int_equal(mtasts_ctx_set_option(ctx, MTASTS_OPT_DELETE_NONE, 0),
                     MTASTS_OK);
    assert_int_equal(mtasts_ctx_get_option(ctx, MTASTS_OPT_DELETE_NONE), 0);
    /* timeout: 1..UINT32_MAX ms */
    assert_int_equal(mtasts_ctx_set_option(ctx, MTASTS_OPT_FETCH_TIMEOUT_MS, 0),
                     MTASTS_EINVAL);
    assert_int_equal(mtasts_ctx_set_option(ctx, MTASTS_OPT_FETCH_TIMEOUT_MS,
                                           (int64_t)UINT32_MAX + 1),
                     MTASTS_EINVAL);
    assert_int_equal(mtasts_ctx_set_option(ctx, MTASTS_OPT_FETCH_TIMEOUT_MS,
                                           (int64_t)UINT32_MAX),
                     MTASTS_OK);
    /* negative values refused everywhere */
    assert_int_equal(
        mtasts_ctx_set_option(ctx, MTASTS_OPT_REFRESH_INTERVAL, -1),
        MTASTS_EINVAL);
    assert_int_equal(mtasts_ctx_set_option(ctx, MTASTS_OPT_MIN_REFETCH, -5),
                     MTASTS_EINVAL);
    assert_int_equal(
        mtasts_ctx_set_option(ctx, MTASTS_OPT_EXTEND_SAME_ID, INT64_MIN),
        MTASTS_EINVAL);
    /* huge second counts refused (sums with times must not overflow) */
    assert_int_equal(
        mtasts_ctx_set_option(ctx, MTASTS_OPT_REFRESH_INTERVAL, INT64_MAX),
        MTASTS_EINVAL);
    assert_int_equal(mtasts_ctx_get_option(ctx, MTASTS_OPT_REFRESH_INTERVAL),
                     86400);
    assert_int_equal(mtasts_ctx_set_option(ctx, MTASTS_OPT_REFRESH_INTERVAL, 0),
                     MTASTS_OK);
    assert_int_equal(mtasts_ctx_get_option(ctx, MTASTS_OPT_REFRESH_INTERVAL),
                     0);
}

static void
result_and_why_names(void **state)
{
    static const char *const rt[] = {
        NULL,
        "starttls-not-supported",
        "certificate-host-mismatch",
        "certificate-expired",
        "certificate-not-trusted",
        "validation-failure",
        "tlsa-invalid",
        "dnssec-invalid",
        "dane-required",
        "sts-policy-fetch-error",
        "sts-policy-invalid",
        "sts-webpki-invalid",
    };
    static const char *const why[] = {
        NULL,           "fetched",         "cached",       "no_record",
        "txt_tempfail", "txt_invalid",     "txt_multiple", "fetch_failed",
        "backoff",      "address_literal", "min_refetch",
    };
    int i;

    (void)state;
    assert_int_equal(MTASTS_RESULT_STS_WEBPKI_INVALID, 11);
    for (i = 1; i <= 11; i++)
        assert_string_equal(mtasts_result_type_name(i), rt[i]);
    assert_null(mtasts_result_type_name(MTASTS_RESULT_NONE));
    assert_null(mtasts_result_type_name(12));
    assert_null(mtasts_result_type_name(-1));
    assert_int_equal(MTASTS_WHY_MIN_REFETCH, 10);
    for (i = 1; i <= 10; i++)
        assert_string_equal(mtasts_why_name(i), why[i]);
    assert_null(mtasts_why_name(0));
    assert_null(mtasts_why_name(11));
    assert_null(mtasts_why_name(-3));
}

#define T(f) cmocka_unit_test_setup_teardown(f, harness_setup, harness_teardown)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        T(t01_address_literal_no_io_STS_FETCH_15),
        T(t02_no_cache_fetch_success_STS_FETCH_13_STS_CACHE_4),
        T(t02_none_policy_no_active_policy_STS_CACHE_12),
        T(t03_changed_id_replaces_entry_STS_CACHE_4),
        T(t03_none_replaces_enforce_STS_CACHE_12),
        T(t04_record_absent_applies_cache_STS_CACHE_5),
        T(t04_last_used_hourly_store_STS_CACHE_5),
        T(t05_tempfail_applies_cache_STS_TXT_13),
        T(t05b_tempfail_no_cache_STS_TXT_13),
        T(t06_multiple_or_invalid_record_STS_TXT_9_STS_TXT_10),
        T(t06_strings_kept_apart_are_joined_STS_TXT_11),
        T(t07_none_policy_deleted_when_record_gone_RFC8461_8_3),
        T(t08_refresh_flag_record_absent_STS_CACHE_9),
        T(t09_same_id_uses_cache_STS_CACHE_3),
        T(t10_refresh_after_interval_STS_CACHE_9_STS_CACHE_10),
        T(t10_refresh_failure_alert_unless_none_STS_CACHE_10),
        T(t11_extend_same_id_bounded_OPT_EXTEND_SAME_ID),
        T(t11_default_no_extension_STS_CACHE_1),
        T(t12_expired_never_applied_STS_CACHE_8_STS_CACHE_1),
        T(t13_backoff_same_id_STS_FETCH_12_RPT_AGG_8),
        T(t13_backoff_with_cache_STS_FETCH_12_RPT_AGG_8),
        T(t13_backoff_option_STS_FETCH_12),
        T(t13_backoff_after_failed_refresh_RPT_AGG_8),
        T(backoff_option_upper_bound),
        T(extreme_now_values),
        T(t14_min_refetch_OPT_MIN_REFETCH),
        T(t15_expired_same_id_fetches_STS_CACHE_8),
        T(t16_other_id_ignores_backoff_STS_FETCH_12),
        T(t17_fetch_fails_keeps_cached_STS_CACHE_6),
        T(t18_fetch_fails_no_cache_STS_CACHE_7),
        T(t18_tls_version_fetch_error_STS_FETCH_5),
        T(t18_content_type_accepted_STS_FETCH_9),
        T(t18_body_size_limit_STS_FETCH_11),
        T(t19_max_age_zero_applies_once_STS_CACHE_13),
        T(fetch_request_getters_STS_FETCH_1_STS_FETCH_4),
        T(cert_identity_of_policy_host_STS_FETCH_3),
        T(no_fetch_no_parent_fallback_STS_FETCH_13_STS_FETCH_14),
        T(cname_chain_url_from_original_domain_STS_TXT_12),
        T(cache_key_normalised_STS_CACHE_2),
        T(bad_entries_ignored_STS_CACHE_14),
        T(export_import_same_decisions_STS_CACHE_14),
        T(nonblocking_by_caller_STS_CACHE_11),
        T(lookup_new_arguments),
        T(lookup_state_errors),
        T(ctx_options_ranges),
        T(result_and_why_names),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
