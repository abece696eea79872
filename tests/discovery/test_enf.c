/*
 * Enforcement helpers around the lookup: the permanent-failure recheck
 * (STS-ENF-7) and the choice of the Policy Domain (STS-ENF-9).
 */
#include "dharness.h"

static const char enforce_a[] = "version: STSv1\nmode: enforce\n"
                                "mx: mx.example.com\nmax_age: 86400\n";
static const char testing_b[] = "version: STSv1\nmode: testing\n"
                                "mx: mx.example.com\nmax_age: 86400\n";

/* Run one lookup for example.com at now: TXT answer (status, record) and,
 * when asked, a fetch returning body. Stores the entry in *store. */
static mtasts_lookup *
run(mtasts_ctx *ctx, uint8_t *store, size_t *store_len, int64_t now, int dns,
    const char *txt, const char *body)
{
    mtasts_lookup *lk = NULL;
    size_t tl = txt != NULL ? strlen(txt) : 0, one = 1, n;
    int act;

    assert_int_equal(mtasts_lookup_new(ctx, S("example.com"),
                                       *store_len ? store : NULL, *store_len,
                                       now, 0, &lk),
                     MTASTS_OK);
    while ((act = mtasts_lookup_next(lk)) != MTASTS_ACT_DONE) {
        if (act == MTASTS_ACT_TXT) {
            assert_int_equal(mtasts_lookup_put_txt(lk, dns, txt ? &txt : NULL,
                                                   &tl, &one, txt ? 1 : 0),
                             MTASTS_OK);
        } else {
            assert_int_equal(act, MTASTS_ACT_FETCH);
            assert_non_null(body);
            assert_int_equal(mtasts_lookup_put_fetch(lk, MTASTS_FETCH_OK, 200,
                                                     S("text/plain"), body,
                                                     strlen(body)),
                             MTASTS_OK);
        }
    }
    if (mtasts_lookup_entry_action(lk) == MTASTS_ENTRY_ACTION_STORE) {
        assert_int_equal(mtasts_lookup_entry(lk, store, 4096, &n), MTASTS_OK);
        *store_len = n;
    }
    return lk;
}

static int
decide_action(const mtasts_lookup *lk, const char *mx)
{
    int a = 0;

    assert_int_equal(mtasts_decide(mtasts_lookup_policy(lk), mx, strlen(mx),
                                   MTASTS_TLS_CERT_EXPIRED,
                                   MTASTS_DANE_NOT_USED, 0, &a, NULL, NULL),
                     MTASTS_OK);
    return a;
}

/* STS-ENF-7: a message blocked by enforce may not be bounced until the
 * TXT record was checked again at or after bounce time; a new id means a
 * new policy and a re-evaluation first. */
static void
permfail_needs_recheck_STS_ENF_7(void **state)
{
    mtasts_ctx *ctx = *state;
    uint8_t store[4096], saved[4096];
    size_t len = 0, saved_len;
    mtasts_lookup *lk;

    lk = run(ctx, store, &len, 1000, MTASTS_DNS_OK, "v=STSv1; id=a", enforce_a);
    assert_int_equal(decide_action(lk, "mx.example.com"), MTASTS_SKIP_MX);
    /* the lookup that blocked the message ran before bounce time */
    assert_int_equal(mtasts_lookup_may_permfail(lk, 5000), 0);
    /* it fetched the policy it applies: not a recheck of an older one */
    assert_int_equal(mtasts_lookup_may_permfail(lk, 1000), 0);
    mtasts_lookup_free(lk);
    memcpy(saved, store, len);
    saved_len = len;

    /* recheck at bounce time, same id: the bounce may go ahead */
    lk = run(ctx, store, &len, 5000, MTASTS_DNS_OK, "v=STSv1; id=a", NULL);
    assert_int_equal(mtasts_lookup_why(lk), MTASTS_WHY_CACHED);
    assert_int_equal(mtasts_lookup_may_permfail(lk, 5000), 1);
    assert_int_equal(mtasts_lookup_may_permfail(lk, 5001), 0);
    mtasts_lookup_free(lk);

    /* recheck with a DNS temporary failure: not a recheck */
    lk = run(ctx, store, &len, 5000, MTASTS_DNS_TEMPFAIL, NULL, NULL);
    assert_int_equal(mtasts_lookup_may_permfail(lk, 5000), 0);
    mtasts_lookup_free(lk);

    /* recheck finds id b (testing): new policy, re-evaluate -> deliver */
    memcpy(store, saved, saved_len);
    len = saved_len;
    lk = run(ctx, store, &len, 5000, MTASTS_DNS_OK, "v=STSv1; id=b", testing_b);
    assert_int_equal(mtasts_lookup_why(lk), MTASTS_WHY_FETCHED);
    assert_int_equal(mtasts_lookup_may_permfail(lk, 5000), 0);
    assert_int_equal(decide_action(lk, "mx.example.com"), MTASTS_DELIVER);
    mtasts_lookup_free(lk);
    assert_int_equal(mtasts_lookup_may_permfail(NULL, 0), 0);
}

/* STS-CACHE-9: a proactive refresh happens while the policy is still
 * valid: at the refresh interval, or at three quarters of max_age when that
 * is sooner (here max_age 86400: at 64800 s). */
static void
refresh_before_expiry_STS_CACHE_9(void **state)
{
    mtasts_ctx *ctx = *state;
    uint8_t store[4096];
    size_t len = 0;
    mtasts_lookup *lk;

    lk = run(ctx, store, &len, 1000, MTASTS_DNS_OK, "v=STSv1; id=b", testing_b);
    assert_int_equal(mtasts_lookup_refresh_at(lk), 1000 + 64800);
    mtasts_lookup_free(lk);
    lk = run(ctx, store, &len, 1000 + 64799, MTASTS_DNS_OK, "v=STSv1; id=b",
             NULL);
    assert_int_equal(mtasts_lookup_why(lk), MTASTS_WHY_CACHED);
    mtasts_lookup_free(lk);
    lk = run(ctx, store, &len, 1000 + 64800, MTASTS_DNS_OK, "v=STSv1; id=b",
             testing_b);
    assert_int_equal(mtasts_lookup_why(lk), MTASTS_WHY_FETCHED);
    assert_int_equal(mtasts_lookup_refresh_at(lk), 1000 + 64800 + 64800);
    mtasts_lookup_free(lk);
}

/* A daemon keeps decoded entries: take the entry out of a lookup, then
 * run later lookups on it without decoding bytes (STS-CACHE-3 on the
 * decoded path), with the same decisions as the byte path. */
static void
decoded_entries_STS_CACHE_3(void **state)
{
    mtasts_ctx *ctx = *state;
    uint8_t store[4096];
    size_t len = 0, tl, one = 1;
    const char *txt = "v=STSv1; id=a";
    mtasts_lookup *lk, *lk2;
    mtasts_entry *e = NULL, *e2 = NULL;

    lk = run(ctx, store, &len, 1000, MTASTS_DNS_OK, txt, enforce_a);
    mtasts_lookup_free(lk);
    /* nothing to store: nothing to take */
    lk = run(ctx, store, &len, 1500, MTASTS_DNS_OK, txt, NULL);
    assert_int_equal(mtasts_lookup_entry_action(lk),
                     MTASTS_ENTRY_ACTION_UNCHANGED);
    assert_int_equal(mtasts_lookup_take_entry(lk, &e), MTASTS_NONE);
    assert_null(e);
    mtasts_lookup_free(lk);
    /* a fresh fetch: its entry is taken as an object */
    assert_int_equal(
        mtasts_lookup_new(ctx, S("example.com"), NULL, 0, 1000, 0, &lk),
        MTASTS_OK);
    tl = strlen(txt);
    assert_int_equal(
        mtasts_lookup_put_txt(lk, MTASTS_DNS_OK, &txt, &tl, &one, 1),
        MTASTS_OK);
    assert_int_equal(mtasts_lookup_put_fetch(lk, MTASTS_FETCH_OK, 200,
                                             S("text/plain"), enforce_a,
                                             strlen(enforce_a)),
                     MTASTS_OK);
    assert_int_equal(mtasts_lookup_take_entry(lk, &e), MTASTS_OK);
    assert_non_null(e);
    assert_int_equal(mtasts_lookup_entry_action(lk),
                     MTASTS_ENTRY_ACTION_UNCHANGED);
    assert_int_equal(mtasts_lookup_take_entry(lk, &e2), MTASTS_NONE);
    assert_null(e2);
    /* the policy in force lives with the taken entry */
    assert_ptr_equal(mtasts_lookup_policy(lk), mtasts_entry_policy(e));
    mtasts_lookup_free(lk);

    /* same id: cached, no fetch, the entry is used as it is */
    assert_int_equal(
        mtasts_lookup_new_decoded(ctx, S("EXAMPLE.com."), e, 2000, 0, &lk2),
        MTASTS_OK);
    assert_int_equal(mtasts_lookup_next(lk2), MTASTS_ACT_TXT);
    assert_int_equal(
        mtasts_lookup_put_txt(lk2, MTASTS_DNS_OK, &txt, &tl, &one, 1),
        MTASTS_OK);
    assert_int_equal(mtasts_lookup_next(lk2), MTASTS_ACT_DONE);
    assert_int_equal(mtasts_lookup_why(lk2), MTASTS_WHY_CACHED);
    assert_int_equal(mtasts_lookup_from_cache(lk2), 1);
    assert_ptr_equal(mtasts_lookup_policy(lk2), mtasts_entry_policy(e));
    assert_int_equal(decide_action(lk2, "mx.example.com"), MTASTS_SKIP_MX);
    mtasts_lookup_free(lk2);

    /* another domain's entry is ignored */
    assert_int_equal(
        mtasts_lookup_new_decoded(ctx, S("example.org"), e, 2000, 0, &lk2),
        MTASTS_OK);
    assert_int_equal(mtasts_lookup_entry_error(lk2), MTASTS_EINVAL);
    mtasts_lookup_free(lk2);
    assert_int_equal(
        mtasts_lookup_new_decoded(ctx, S("example.org"), e, 2000, 0, NULL),
        MTASTS_EINVAL);
    assert_int_equal(mtasts_lookup_take_entry(NULL, &e2), MTASTS_EINVAL);
    mtasts_entry_free(e);
}

static void
domain_for(const char *rcpt, const char *smarthost, const char *want)
{
    char buf[300];
    size_t n = 0;

    assert_int_equal(
        mtasts_domain_for_delivery(rcpt, rcpt ? strlen(rcpt) : 0, smarthost,
                                   smarthost ? strlen(smarthost) : 0, buf,
                                   sizeof(buf), &n),
        MTASTS_OK);
    assert_string_equal(buf, want);
    assert_int_equal(n, strlen(want));
}

/* STS-ENF-9: through a smart host, the smart host's name is the Policy
 * Domain; otherwise the recipient domain; address literals get no policy
 * and no I/O. */
static void
policy_domain_STS_ENF_9(void **state)
{
    mtasts_ctx *ctx = *state;
    mtasts_lookup *lk = NULL;
    char buf[8];
    size_t n;

    domain_for("user@example.com", "relay.example.net", "relay.example.net");
    domain_for("user@Example.COM.", NULL, "example.com");
    domain_for("example.org", NULL, "example.org");
    domain_for("a@b@example.com", NULL, "example.com");
    domain_for("user@[192.0.2.1]", NULL, "[192.0.2.1]");
    domain_for("user@example.com", "[2001:db8::1]", "[2001:db8::1]");
    assert_int_equal(mtasts_domain_for_delivery(S("user@bad..example"), NULL, 0,
                                                buf, sizeof(buf), &n),
                     MTASTS_ESYNTAX);
    assert_int_equal(
        mtasts_domain_for_delivery(NULL, 0, NULL, 0, buf, sizeof(buf), &n),
        MTASTS_EINVAL);
    assert_int_equal(
        mtasts_domain_for_delivery(S("user@example.com"), NULL, 0, buf, 4, &n),
        MTASTS_ERANGE);
    assert_int_equal(n, 11);

    /* the smart host's TXT name is what the lookup asks for */
    assert_int_equal(
        mtasts_lookup_new(ctx, S("relay.example.net"), NULL, 0, 1000, 0, &lk),
        MTASTS_OK);
    assert_int_equal(mtasts_lookup_next(lk), MTASTS_ACT_TXT);
    assert_string_equal(mtasts_lookup_txt_name(lk, NULL),
                        "_mta-sts.relay.example.net");
    mtasts_lookup_free(lk);
    /* an address literal ends at once, with no question */
    assert_int_equal(
        mtasts_lookup_new(ctx, S("[192.0.2.1]"), NULL, 0, 1000, 0, &lk),
        MTASTS_OK);
    assert_int_equal(mtasts_lookup_next(lk), MTASTS_ACT_DONE);
    assert_int_equal(mtasts_lookup_outcome(lk), MTASTS_OUTCOME_NO_POLICY);
    assert_int_equal(mtasts_lookup_why(lk), MTASTS_WHY_ADDRESS_LITERAL);
    mtasts_lookup_free(lk);
}

static int
setup_ctx(void **state)
{
    harness_reset();
    *state = harness_ctx_new();
    return 0;
}

static int
teardown_ctx(void **state)
{
    harness_ctx_free(*state);
    return 0;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(permfail_needs_recheck_STS_ENF_7,
                                        setup_ctx, teardown_ctx),
        cmocka_unit_test_setup_teardown(policy_domain_STS_ENF_9, setup_ctx,
                                        teardown_ctx),
        cmocka_unit_test_setup_teardown(refresh_before_expiry_STS_CACHE_9,
                                        setup_ctx, teardown_ctx),
        cmocka_unit_test_setup_teardown(decoded_entries_STS_CACHE_3, setup_ctx,
                                        teardown_ctx),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
