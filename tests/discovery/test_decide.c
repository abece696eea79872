/*
 * The per-MX delivery decision (mtasts_decide) against the decision table
 * of doc/discovery.md, STS-ENF-1..6, 8, 10 and the RPT-AGG-10 mapping of
 * TLS outcomes to result types; and the Postfix socketmap answer.
 */
#include <stdio.h>
#include <stdlib.h>

#include "dharness.h"

#define PATTERNS "mx: mx1.example.com\nmx: *.example.net\n"
#define ENFORCE  "version: STSv1\nmode: enforce\n" PATTERNS "max_age: 604800\n"
#define TESTING  "version: STSv1\nmode: testing\n" PATTERNS "max_age: 604800\n"
#define NONE_POL "version: STSv1\nmode: none\n" PATTERNS "max_age: 604800\n"

struct pols {
    mtasts_policy *enforce, *testing, *none;
};

static mtasts_policy *
parse(mtasts_ctx *ctx, const char *body)
{
    mtasts_policy *p = NULL;

    assert_int_equal(mtasts_policy_parse(ctx, body, strlen(body), 0, &p, NULL),
                     MTASTS_OK);
    return p;
}

static mtasts_ctx *the_ctx;

static int
setup_ctx(void **state)
{
    dh_reset();
    the_ctx = dh_ctx_new();
    {
        struct pols *p = calloc(1, sizeof(*p));

        assert_non_null(p);
        p->enforce = parse(the_ctx, ENFORCE);
        p->testing = parse(the_ctx, TESTING);
        p->none = parse(the_ctx, NONE_POL);
        *state = p;
    }
    return 0;
}

static int
teardown_ctx(void **state)
{
    struct pols *p = *state;

    mtasts_policy_free(p->enforce);
    mtasts_policy_free(p->testing);
    mtasts_policy_free(p->none);
    free(p);
    dh_ctx_free(the_ctx);
    the_ctx = NULL;
    dh_reset();
    return 0;
}

/* One decision; checks the return, the action, result type and reason. */
static void
expect(const mtasts_policy *pol, const char *mx, int tls, int dane, int action,
       int rt, int reason)
{
    int a = -1, r = -1, why = -1;

    assert_int_equal(
        mtasts_decide(pol, mx, strlen(mx), tls, dane, 0, &a, &r, &why),
        MTASTS_OK);
    if (a != action || r != rt || why != reason)
        print_message("mx %s tls %d dane %d: action %d rt %d reason %d\n", mx,
                      tls, dane, a, r, why);
    assert_int_equal(a, action);
    assert_int_equal(r, rt);
    assert_int_equal(why, reason);
    /* optional outputs may be NULL */
    a = -1;
    assert_int_equal(
        mtasts_decide(pol, mx, strlen(mx), tls, dane, 0, &a, NULL, NULL),
        MTASTS_OK);
    assert_int_equal(a, action);
}

static const int all_tls[] = {
    MTASTS_TLS_NOT_TRIED,    MTASTS_TLS_OK,
    MTASTS_TLS_NO_STARTTLS,  MTASTS_TLS_CERT_HOST_MISMATCH,
    MTASTS_TLS_CERT_EXPIRED, MTASTS_TLS_CERT_UNTRUSTED,
    MTASTS_TLS_FAILED,
};
#define N_TLS (sizeof(all_tls) / sizeof(all_tls[0]))

static const char *const some_mx[] = {"mx1.example.com", "a.example.net",
                                      "mx2.example.com", "example.net"};
#define N_MX (sizeof(some_mx) / sizeof(some_mx[0]))

/* Rows 1 and 2: DANE applies and governs, whatever the policy and the
 * STS checks say. */
/* STS-ENF-8 */
static void
dane_governs_STS_ENF_8(void **state)
{
    struct pols *p = *state;
    const mtasts_policy *pols[4];
    size_t i, j, k;

    pols[0] = p->enforce;
    pols[1] = p->testing;
    pols[2] = p->none;
    pols[3] = NULL;
    for (i = 0; i < 4; i++)
        for (j = 0; j < N_MX; j++)
            for (k = 0; k < N_TLS; k++) {
                expect(pols[i], some_mx[j], all_tls[k], MTASTS_DANE_PASS,
                       MTASTS_DELIVER, MTASTS_RESULT_NONE, MTASTS_DECIDE_DANE);
                expect(pols[i], some_mx[j], all_tls[k], MTASTS_DANE_FAIL,
                       MTASTS_SKIP_MX, MTASTS_RESULT_NONE, MTASTS_DECIDE_DANE);
            }
    /* evaluate(dane=FAIL, sts=PASS, mode=enforce): not delivered */
    expect(p->enforce, "mx1.example.com", MTASTS_TLS_OK, MTASTS_DANE_FAIL,
           MTASTS_SKIP_MX, MTASTS_RESULT_NONE, MTASTS_DECIDE_DANE);
}

/* Row 3: none / no policy */
/* STS-ENF-4 */
static void
none_or_no_policy_delivers_STS_ENF_4(void **state)
{
    struct pols *p = *state;
    size_t j, k;

    for (j = 0; j < N_MX; j++)
        for (k = 0; k < N_TLS; k++) {
            expect(p->none, some_mx[j], all_tls[k], MTASTS_DANE_NOT_USED,
                   MTASTS_DELIVER, MTASTS_RESULT_NONE, MTASTS_DECIDE_NO_POLICY);
            expect(NULL, some_mx[j], all_tls[k], MTASTS_DANE_NOT_USED,
                   MTASTS_DELIVER, MTASTS_RESULT_NONE, MTASTS_DECIDE_NO_POLICY);
        }
    /* none, MX mismatch -> DELIVER, no failure recorded */
    expect(p->none, "evil.example.org", MTASTS_TLS_CERT_EXPIRED,
           MTASTS_DANE_NOT_USED, MTASTS_DELIVER, MTASTS_RESULT_NONE,
           MTASTS_DECIDE_NO_POLICY);
}

/* Rows 4 and 5: enforce. Row 6: testing. */
/* STS-ENF-1, STS-ENF-2, STS-ENF-3, RPT-AGG-10 */
static void
enforce_and_testing_rows_STS_ENF_1_STS_ENF_2_STS_ENF_3(void **state)
{
    static const struct {
        int tls, rt, reason;
    } tab[] = {
        {MTASTS_TLS_NOT_TRIED, MTASTS_RESULT_NONE, MTASTS_DECIDE_PASS},
        {MTASTS_TLS_OK, MTASTS_RESULT_NONE, MTASTS_DECIDE_PASS},
        {MTASTS_TLS_NO_STARTTLS, MTASTS_RESULT_STARTTLS_NOT_SUPPORTED,
         MTASTS_DECIDE_NO_STARTTLS},
        {MTASTS_TLS_CERT_HOST_MISMATCH, MTASTS_RESULT_CERTIFICATE_HOST_MISMATCH,
         MTASTS_DECIDE_CERT_INVALID},
        {MTASTS_TLS_CERT_EXPIRED, MTASTS_RESULT_CERTIFICATE_EXPIRED,
         MTASTS_DECIDE_CERT_INVALID},
        {MTASTS_TLS_CERT_UNTRUSTED, MTASTS_RESULT_CERTIFICATE_NOT_TRUSTED,
         MTASTS_DECIDE_CERT_INVALID},
        {MTASTS_TLS_FAILED, MTASTS_RESULT_VALIDATION_FAILURE,
         MTASTS_DECIDE_CERT_INVALID},
    };
    static const char *const good_mx[] = {
        "mx1.example.com", "MX1.Example.COM", "mx1.example.com.",
        "a.example.net",   "B.EXAMPLE.NET.",
    };
    static const char *const bad_mx[] = {
        "mx2.example.com",
        "example.net",
        "a.b.example.net",
        "mx1.example.org",
        "*.example.net",
        "mx1..example.com",
        "",
        "mx1.example.com..",
    };
    struct pols *p = *state;
    size_t i, j;

    for (i = 0; i < sizeof(tab) / sizeof(tab[0]); i++) {
        for (j = 0; j < sizeof(good_mx) / sizeof(good_mx[0]); j++) {
            expect(p->enforce, good_mx[j], tab[i].tls, MTASTS_DANE_NOT_USED,
                   tab[i].rt == MTASTS_RESULT_NONE ? MTASTS_DELIVER
                                                   : MTASTS_SKIP_MX,
                   tab[i].rt, tab[i].reason);
            expect(p->testing, good_mx[j], tab[i].tls, MTASTS_DANE_NOT_USED,
                   MTASTS_DELIVER, tab[i].rt, tab[i].reason);
        }
        /* the MX name is checked first (STS-ENF-1 order) */
        for (j = 0; j < sizeof(bad_mx) / sizeof(bad_mx[0]); j++) {
            expect(p->enforce, bad_mx[j], tab[i].tls, MTASTS_DANE_NOT_USED,
                   MTASTS_SKIP_MX, MTASTS_RESULT_VALIDATION_FAILURE,
                   MTASTS_DECIDE_MX_MISMATCH);
            expect(p->testing, bad_mx[j], tab[i].tls, MTASTS_DANE_NOT_USED,
                   MTASTS_DELIVER, MTASTS_RESULT_VALIDATION_FAILURE,
                   MTASTS_DECIDE_MX_MISMATCH);
        }
    }
    /* the requirement's own examples */
    expect(p->enforce, "mx.example.net", MTASTS_TLS_OK, MTASTS_DANE_NOT_USED,
           MTASTS_DELIVER, MTASTS_RESULT_NONE, MTASTS_DECIDE_PASS);
    expect(p->enforce, "mx.example.net", MTASTS_TLS_NO_STARTTLS,
           MTASTS_DANE_NOT_USED, MTASTS_SKIP_MX,
           MTASTS_RESULT_STARTTLS_NOT_SUPPORTED, MTASTS_DECIDE_NO_STARTTLS);
    expect(p->enforce, "mx1.example.com", MTASTS_TLS_CERT_EXPIRED,
           MTASTS_DANE_NOT_USED, MTASTS_SKIP_MX,
           MTASTS_RESULT_CERTIFICATE_EXPIRED, MTASTS_DECIDE_CERT_INVALID);
    expect(p->testing, "mx1.example.com", MTASTS_TLS_CERT_EXPIRED,
           MTASTS_DANE_NOT_USED, MTASTS_DELIVER,
           MTASTS_RESULT_CERTIFICATE_EXPIRED, MTASTS_DECIDE_CERT_INVALID);
}

/* STS-ENF-5: one decision per MX, in the caller's (priority) order; no
 * pre-filtering. STS-ENF-6: when every MX is skipped the caller defers;
 * the library only says SKIP_MX for each (the defer itself is the
 * MTA's, not expressible here). */
/* STS-ENF-5, STS-ENF-6 */
static void
per_mx_in_order_STS_ENF_5_STS_ENF_6(void **state)
{
    static const char *const mxs[] = {"a.example.com", "b.example.net",
                                      "c.example.org"};
    static const int want[] = {MTASTS_SKIP_MX, MTASTS_DELIVER, MTASTS_SKIP_MX};
    struct pols *p = *state;
    size_t i, skipped = 0;
    int a;

    for (i = 0; i < 3; i++) {
        assert_int_equal(mtasts_decide(p->enforce, mxs[i], strlen(mxs[i]),
                                       MTASTS_TLS_OK, MTASTS_DANE_NOT_USED, 0,
                                       &a, NULL, NULL),
                         MTASTS_OK);
        assert_int_equal(a, want[i]);
    }
    /* all fail: every one is SKIP_MX, never a permanent verdict */
    for (i = 0; i < 3; i++) {
        assert_int_equal(mtasts_decide(p->enforce, mxs[i], strlen(mxs[i]),
                                       MTASTS_TLS_CERT_EXPIRED,
                                       MTASTS_DANE_NOT_USED, 0, &a, NULL, NULL),
                         MTASTS_OK);
        skipped += a == MTASTS_SKIP_MX;
    }
    assert_int_equal(skipped, 3);
}

/* STS-ENF-10: the SMTP SNI is norm(MX) */
static void
sni_is_normalised_mx_STS_ENF_10(void **state)
{
    struct pols *p = *state;
    char sni[MTASTS_DOMAIN_MAX_LEN + 1];
    size_t n;

    assert_int_equal(
        mtasts_domain_normalize(S("MX1.Example.com."), sni, sizeof(sni), &n),
        MTASTS_OK);
    assert_string_equal(sni, "mx1.example.com");
    assert_int_equal(n, 15);
    /* and the same MX name as given passes the policy (STS-MX-4) */
    expect(p->enforce, "MX1.Example.com.", MTASTS_TLS_OK, MTASTS_DANE_NOT_USED,
           MTASTS_DELIVER, MTASTS_RESULT_NONE, MTASTS_DECIDE_PASS);
}

static void
decide_invalid_arguments(void **state)
{
    struct pols *p = *state;
    int a = 77, r = 77, why = 77;

    assert_int_equal(mtasts_decide(p->enforce, S("mx1.example.com"), -1,
                                   MTASTS_DANE_NOT_USED, 0, &a, &r, &why),
                     MTASTS_EINVAL);
    assert_int_equal(mtasts_decide(p->enforce, S("mx1.example.com"), 7,
                                   MTASTS_DANE_NOT_USED, 0, &a, &r, &why),
                     MTASTS_EINVAL);
    assert_int_equal(mtasts_decide(p->enforce, S("mx1.example.com"),
                                   MTASTS_TLS_OK, -1, 0, &a, &r, &why),
                     MTASTS_EINVAL);
    assert_int_equal(mtasts_decide(p->enforce, S("mx1.example.com"),
                                   MTASTS_TLS_OK, 3, 0, &a, &r, &why),
                     MTASTS_EINVAL);
    assert_int_equal(mtasts_decide(p->enforce, NULL, 5, MTASTS_TLS_OK,
                                   MTASTS_DANE_NOT_USED, 0, &a, &r, &why),
                     MTASTS_EINVAL);
    assert_int_equal(mtasts_decide(p->enforce, S("mx1.example.com"),
                                   MTASTS_TLS_OK, MTASTS_DANE_NOT_USED, 0, NULL,
                                   &r, &why),
                     MTASTS_EINVAL);
    assert_int_equal(mtasts_decide(p->enforce, S("mx1.example.com"),
                                   MTASTS_TLS_OK, MTASTS_DANE_NOT_USED, 0x2u,
                                   &a, &r, &why),
                     MTASTS_EINVAL);
    /* outputs untouched on error */
    assert_int_equal(a, 77);
    assert_int_equal(r, 77);
    assert_int_equal(why, 77);
    /* header: "MTASTS_EINVAL (... NULL mx ...)" */
    assert_int_equal(mtasts_decide(p->enforce, NULL, 0, MTASTS_TLS_OK,
                                   MTASTS_DANE_NOT_USED, 0, &a, &r, &why),
                     MTASTS_EINVAL);
}

/* STS-ENF-11: a message carrying a TLS report is delivered whatever the
 * TLS, MTA-STS or DANE state, and yields no result type (so the session is
 * not counted in the next report). */
static void
tlsrpt_report_delivery_STS_ENF_11(void **state)
{
    struct pols *p = *state;
    static const int tls[] = {MTASTS_TLS_OK, MTASTS_TLS_NO_STARTTLS,
                              MTASTS_TLS_CERT_EXPIRED,
                              MTASTS_TLS_CERT_HOST_MISMATCH};
    const mtasts_policy *pols[] = {p->enforce, p->testing, NULL};
    size_t i, j;
    int a, r, why, dane;

    for (i = 0; i < 3; i++)
        for (j = 0; j < 4; j++)
            for (dane = MTASTS_DANE_NOT_USED; dane <= MTASTS_DANE_FAIL;
                 dane++) {
                a = r = why = 77;
                assert_int_equal(
                    mtasts_decide(pols[i], S("evil.example.org"), tls[j], dane,
                                  MTASTS_DECIDE_TLSRPT_REPORT, &a, &r, &why),
                    MTASTS_OK);
                assert_int_equal(a, MTASTS_DELIVER);
                assert_int_equal(r, MTASTS_RESULT_NONE);
                assert_int_equal(why, MTASTS_DECIDE_REPORT);
            }
    /* the same session without the flag is skipped and reported */
    assert_int_equal(mtasts_decide(p->enforce, S("evil.example.org"),
                                   MTASTS_TLS_CERT_EXPIRED,
                                   MTASTS_DANE_NOT_USED, 0, &a, &r, &why),
                     MTASTS_OK);
    assert_int_equal(a, MTASTS_SKIP_MX);
    assert_int_equal(r, MTASTS_RESULT_VALIDATION_FAILURE);
}

static void
decide_reason_names(void **state)
{
    static const char *const names[] = {
        NULL,          "no_policy",    "pass", "mx_mismatch",
        "no_starttls", "cert_invalid", "dane", "report",
    };
    int i;

    (void)state;
    for (i = 1; i <= 7; i++)
        assert_string_equal(mtasts_decide_reason_name(i), names[i]);
    assert_null(mtasts_decide_reason_name(0));
    assert_null(mtasts_decide_reason_name(8));
    assert_null(mtasts_decide_reason_name(-1));
}

/* ------------------------------------------------------------------ */
/* Postfix answer                                                      */
/* ------------------------------------------------------------------ */

#define PF_HEAD "OK secure match=hostname servername=hostname"
#define PF_MX   " mx_host_pattern=mx1.example.com mx_host_pattern=*.example.net"

static void
check_answer(const mtasts_policy *pol, const char *domain, unsigned flags,
             const char *want)
{
    char buf[1024];
    size_t n = 0, n2 = 0;

    assert_int_equal(mtasts_postfix_answer(pol, domain, strlen(domain), flags,
                                           buf, sizeof(buf), &n),
                     MTASTS_OK);
    assert_string_equal(buf, want);
    assert_int_equal(n, strlen(want));
    /* size query */
    assert_int_equal(
        mtasts_postfix_answer(pol, domain, strlen(domain), flags, NULL, 0, &n2),
        MTASTS_ERANGE);
    assert_int_equal(n2, n);
    /* exact fit needs room for the NUL */
    assert_int_equal(
        mtasts_postfix_answer(pol, domain, strlen(domain), flags, buf, n, &n2),
        MTASTS_ERANGE);
    assert_int_equal(n2, n);
    assert_int_equal(buf[n - 1], '\0');
    assert_memory_equal(buf, want, n - 1);
    assert_int_equal(mtasts_postfix_answer(pol, domain, strlen(domain), flags,
                                           buf, n + 1, NULL),
                     MTASTS_OK);
    assert_string_equal(buf, want);
}

static void
postfix_answers(void **state)
{
    struct pols *p = *state;

    check_answer(p->enforce, "example.com", 0, PF_HEAD PF_MX);
    check_answer(p->enforce, "EXAMPLE.com.", 0, PF_HEAD PF_MX);
    check_answer(p->enforce, "EXAMPLE.com.", MTASTS_POSTFIX_TLSRPT,
                 PF_HEAD " policy_type=sts policy_domain=example.com" PF_MX
                         " { policy_string = version: STSv1 }"
                         " { policy_string = mode: enforce }"
                         " { policy_string = mx: mx1.example.com }"
                         " { policy_string = mx: *.example.net }"
                         " { policy_string = max_age: 604800 }");
    check_answer(p->testing, "example.com", 0, "NOTFOUND ");
    check_answer(p->testing, "example.com", MTASTS_POSTFIX_TLSRPT, "NOTFOUND ");
    check_answer(p->none, "example.com", 0, "NOTFOUND ");
    check_answer(p->none, "example.com", MTASTS_POSTFIX_TLSRPT, "NOTFOUND ");
    check_answer(NULL, "example.com", 0, "NOTFOUND ");
    check_answer(NULL, "example.com", MTASTS_POSTFIX_TLSRPT, "NOTFOUND ");
}

/* CRLF bodies, blank lines, and lines holding braces. */
static void
postfix_policy_strings(void **state)
{
    static const char body[] = "version: STSv1\r\n"
                               "mode: enforce\r\n"
                               "\r\n"
                               "mx: mx1.example.com\r\n"
                               "x-evil: a } policy_type=bogus { b\r\n"
                               "x-open: {\r\n"
                               "x-close: }\n"
                               "max_age: 86400\r\n";
    mtasts_policy *pol = parse(the_ctx, body);

    (void)state;
    check_answer(pol, "example.com", MTASTS_POSTFIX_TLSRPT,
                 PF_HEAD " policy_type=sts policy_domain=example.com"
                         " mx_host_pattern=mx1.example.com"
                         " { policy_string = version: STSv1 }"
                         " { policy_string = mode: enforce }"
                         " { policy_string = mx: mx1.example.com }"
                         " { policy_string = max_age: 86400 }");
    check_answer(pol, "example.com", 0,
                 PF_HEAD " mx_host_pattern=mx1.example.com");
    mtasts_policy_free(pol);
}

static void
postfix_invalid_arguments(void **state)
{
    struct pols *p = *state;
    char buf[256];
    size_t n;

    assert_int_equal(
        mtasts_postfix_answer(p->enforce, S("example.com"), 0, NULL, 5, &n),
        MTASTS_EINVAL);
    assert_int_equal(mtasts_postfix_answer(p->enforce, S("example.com"), 0x2u,
                                           buf, sizeof(buf), &n),
                     MTASTS_EINVAL);
    assert_int_equal(mtasts_postfix_answer(NULL, S("example.com"), 0x4u, buf,
                                           sizeof(buf), &n),
                     MTASTS_EINVAL);
    /* an invalid policy domain: refused (the header lists EINVAL; the
     * library passes the name check's status through) */
    assert_true(mtasts_postfix_answer(p->enforce, S("exa mple.com"), 0, buf,
                                      sizeof(buf), &n) < 0);
    assert_true(mtasts_postfix_answer(p->enforce, S("a..b"), 0, buf,
                                      sizeof(buf), &n) < 0);
    /* small buffer: truncated, NUL-terminated, needed reported */
    assert_int_equal(
        mtasts_postfix_answer(p->enforce, S("example.com"), 0, buf, 10, &n),
        MTASTS_ERANGE);
    assert_int_equal(n, strlen(PF_HEAD PF_MX));
    assert_string_equal(buf, "OK secure");
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup_ctx, teardown_ctx)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        T(dane_governs_STS_ENF_8),
        T(none_or_no_policy_delivers_STS_ENF_4),
        T(enforce_and_testing_rows_STS_ENF_1_STS_ENF_2_STS_ENF_3),
        T(per_mx_in_order_STS_ENF_5_STS_ENF_6),
        T(sni_is_normalised_mx_STS_ENF_10),
        T(decide_invalid_arguments),
        T(tlsrpt_report_delivery_STS_ENF_11),
        T(decide_reason_names),
        T(postfix_answers),
        T(postfix_policy_strings),
        T(postfix_invalid_arguments),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
