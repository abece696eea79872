/*
 * TLSRPT aggregation (sending side). Each test of a requirement names its
 * id (RPT-AGG-n, RPT-JSON-n, RPT-DELIV-n; doc/requirements.md sections 10-12).
 * mtasts_tlsrpt_agg_add_n() is checked against repeated single adds.
 * Not covered here: the TLSRPT record lookup at generation time
 * (RPT-AGG-2's DNS part) is the caller's; the API side of it (one report
 * per key, a key dropped with mtasts_tlsrpt_agg_remove()) is tested.
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

#define DAY1 INT64_C(1459468800) /* 2016-04-01T00:00:00Z */
#define DAY2 (DAY1 + 86400)

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
    /* every block of the suite was given back, with its size */
    return harness_leaks() != 0 || harness_errors() != 0;
}

static const char body_a[] = "version: STSv1\r\nmode: testing\r\n"
                             "mx: *.mail.company-y.example\r\n"
                             "max_age: 86400\r\n";
static const char body_b[] = "version: STSv1\r\nmode: enforce\r\n"
                             "mx: *.mail.company-y.example\r\n"
                             "max_age: 86400\r\n";
static const char body_none[] = "version: STSv1\r\nmode: none\r\n"
                                "max_age: 86400\r\n";

static mtasts_tlsrpt_policy *
sts(const char *domain, const char *body)
{
    mtasts_policy *p = NULL;
    mtasts_tlsrpt_policy *tp = NULL;

    assert_int_equal(mtasts_policy_parse(ctx, body, strlen(body), 0, &p, NULL),
                     0);
    assert_int_equal(
        mtasts_tlsrpt_policy_build_sts(ctx, domain, strlen(domain), p, &tp), 0);
    mtasts_policy_free(p);
    return tp;
}

static mtasts_tlsrpt_policy *
none(const char *domain)
{
    mtasts_tlsrpt_policy *tp = NULL;

    assert_int_equal(
        mtasts_tlsrpt_policy_build_none(ctx, domain, strlen(domain), &tp), 0);
    return tp;
}

static mtasts_tlsrpt_agg *
agg_new(void)
{
    mtasts_tlsrpt_agg *a = NULL;

    assert_int_equal(mtasts_tlsrpt_agg_new(ctx, &a), 0);
    return a;
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
    f.receiving_mx = "mx1.mail.company-y.example";
    f.receiving_mx_len = strlen(f.receiving_mx);
    f.receiving_ip = "203.0.113.56";
    f.receiving_ip_len = strlen(f.receiving_ip);
    return f;
}

static mtasts_tlsrpt_report *
report(const mtasts_tlsrpt_agg *a, const char *domain, int64_t day)
{
    mtasts_tlsrpt_report *r = NULL;

    assert_int_equal(
        mtasts_tlsrpt_report_build(a, domain, strlen(domain), day, "Org", 3,
                                   "tlsrpt@sender.example", 21, "id.1", 4, &r),
        0);
    return r;
}

/* The compact JSON of r, NUL-terminated (caller frees with buf_free). */
static mtasts_buf *
json(const mtasts_tlsrpt_report *r)
{
    mtasts_buf *b = NULL;

    assert_int_equal(mtasts_tlsrpt_report_format(r, 0, &b), 0);
    return b;
}

static int
json_has(const mtasts_tlsrpt_report *r, const char *needle)
{
    mtasts_buf *b = json(r);
    int found = strstr((const char *)mtasts_buf_data(b, NULL), needle) != NULL;

    if (!found)
        fprintf(stderr, "missing %s in %s\n", needle,
                (const char *)mtasts_buf_data(b, NULL));
    mtasts_buf_free(b);
    return found;
}

static mtasts_buf *export(const mtasts_tlsrpt_agg *a)
{
    mtasts_buf *b = NULL;

    assert_int_equal(mtasts_tlsrpt_agg_encode(a, &b), 0);
    return b;
}

static int
same_export(const mtasts_tlsrpt_agg *x, const mtasts_tlsrpt_agg *y)
{
    mtasts_buf *bx = export(x), *by = export(y);
    size_t lx, ly;
    const uint8_t *px = mtasts_buf_data(bx, &lx),
                  *py = mtasts_buf_data(by, &ly);
    int eq = lx == ly && memcmp(px, py, lx) == 0;

    mtasts_buf_free(bx);
    mtasts_buf_free(by);
    return eq;
}

/* RPT-AGG-1 */
static void
test_rpt_agg_1_utc_day(void **state)
{
    mtasts_tlsrpt_policy *p = sts("company-y.example", body_a);
    mtasts_tlsrpt_agg *a = agg_new();
    const char *d;
    size_t dl;
    int64_t day;

    (void)state;
    assert_int_equal(mtasts_tlsrpt_agg_add(a, p, DAY2 - 1,
                                           MTASTS_SESSION_SUCCESS, NULL, 0, 0),
                     0);
    assert_int_equal(
        mtasts_tlsrpt_agg_add(a, p, DAY2, MTASTS_SESSION_SUCCESS, NULL, 0, 0),
        0);
    assert_int_equal(mtasts_tlsrpt_agg_count(a), 2);
    assert_int_equal(mtasts_tlsrpt_agg_key(a, 0, &d, &dl, &day), 0);
    assert_string_equal(d, "company-y.example");
    assert_int_equal(day, DAY1);
    assert_int_equal(mtasts_tlsrpt_agg_key(a, 1, &d, &dl, &day), 0);
    assert_int_equal(day, DAY2);
    assert_int_equal(mtasts_tlsrpt_agg_key(a, 2, &d, &dl, &day), MTASTS_EINVAL);
    mtasts_tlsrpt_agg_free(a);
    mtasts_tlsrpt_policy_free(p);
}

/* RPT-AGG-2 (API part: one report per (domain, day); the caller drops a
 * domain without a usable TLSRPT record with remove) */
static void
test_rpt_agg_2_one_report_per_domain(void **state)
{
    mtasts_tlsrpt_policy *pa = none("a.example"), *pb = none("B.Example.");
    mtasts_tlsrpt_agg *a = agg_new();
    mtasts_tlsrpt_report *r = NULL;
    const char *d;

    (void)state;
    assert_int_equal(mtasts_tlsrpt_agg_add(a, pa, DAY1 + 5,
                                           MTASTS_SESSION_SUCCESS, NULL, 0, 0),
                     0);
    assert_int_equal(mtasts_tlsrpt_agg_add(a, pb, DAY1 + 6,
                                           MTASTS_SESSION_SUCCESS, NULL, 0, 0),
                     0);
    assert_int_equal(mtasts_tlsrpt_agg_count(a), 2);
    assert_int_equal(mtasts_tlsrpt_agg_key(a, 1, &d, NULL, NULL), 0);
    assert_string_equal(d, "b.example"); /* normalised */
    /* b.example has no TLSRPT record (NXDOMAIN): its data is dropped */
    assert_int_equal(mtasts_tlsrpt_agg_remove(a, "b.example", 9, DAY1), 0);
    assert_int_equal(mtasts_tlsrpt_agg_remove(a, "b.example", 9, DAY1),
                     MTASTS_NONE);
    assert_int_equal(mtasts_tlsrpt_agg_count(a), 1);
    assert_int_equal(mtasts_tlsrpt_report_build(a, "b.example", 9, DAY1, "O", 1,
                                                "a@b.example", 11, "x", 1, &r),
                     MTASTS_NONE);
    assert_null(r);
    r = report(a, "a.example", DAY1);
    mtasts_tlsrpt_report_free(r);
    mtasts_tlsrpt_agg_free(a);
    mtasts_tlsrpt_policy_free(pa);
    mtasts_tlsrpt_policy_free(pb);
}

/* RPT-AGG-2: keys come and go in any order. A model of the key set (sorted
 * by day, then domain) follows 4000 random adds and removals (front, back
 * and middle, so that the key array shifts either side, moves back to its
 * start and grows); after each step the count and every key agree. */
static int
model_cmp(const void *x, const void *y)
{
    return strcmp((const char *)x, (const char *)y);
}

static void
test_rpt_agg_2_remove_any_order(void **state)
{
    static char model[700][24];
    mtasts_tlsrpt_agg *a = agg_new();
    mtasts_tlsrpt_policy *p;
    size_t n = 0, i, j, dl;
    uint32_t r = 99;
    unsigned step;
    char name[24];
    const char *d;
    int64_t day;

    (void)state;
    for (step = 0; step < 4000; step++) {
        r = r * 1103515245u + 12345u;
        if (n < 600 && ((r >> 16) % 3 != 0 || n == 0)) {
            /* add a key (day 1 or 2): "1k42.example" in the model */
            day = (r >> 8) % 2 == 0 ? DAY1 : DAY2;
            snprintf(name, sizeof(name), "%ck%u.example",
                     day == DAY1 ? '1' : '2', (unsigned)((r >> 10) % 997));
            for (i = 0; i < n && strcmp(model[i], name) != 0; i++)
                ;
            p = none(name + 1);
            assert_int_equal(mtasts_tlsrpt_agg_add(a, p, day + 7,
                                                   MTASTS_SESSION_SUCCESS, NULL,
                                                   0, 0),
                             0);
            mtasts_tlsrpt_policy_free(p);
            if (i == n) {
                memcpy(model[n++], name, sizeof(name));
                qsort(model, n, sizeof(model[0]), model_cmp);
            }
        } else {
            /* remove the first, the last or any key, found by index */
            i = (r >> 8) % 4 == 0   ? 0
                : (r >> 8) % 4 == 1 ? n - 1
                                    : (r >> 12) % n;
            assert_int_equal(mtasts_tlsrpt_agg_key(a, i, &d, &dl, &day), 0);
            memcpy(name + 1, d, dl + 1);
            name[0] = day == DAY1 ? '1' : '2';
            assert_string_equal(name, model[i]);
            assert_int_equal(mtasts_tlsrpt_agg_remove(a, name + 1, dl, day), 0);
            memmove(model[i], model[i + 1], (n - i - 1) * sizeof(model[0]));
            n--;
        }
        assert_int_equal(mtasts_tlsrpt_agg_count(a), n);
        for (j = 0; j < n; j += step % 7 == 0 ? 1 : 37) {
            assert_int_equal(mtasts_tlsrpt_agg_key(a, j, &d, &dl, &day), 0);
            assert_int_equal(day == DAY1 ? '1' : '2', model[j][0]);
            assert_string_equal(d, model[j] + 1);
        }
    }
    mtasts_tlsrpt_agg_free(a);
}

/* RPT-AGG-3 */
static void
test_rpt_agg_3_policies_apart(void **state)
{
    static const uint8_t u[1] = {3}, s[1] = {1}, m[1] = {1}, bytes[2] = {1, 2};
    const uint8_t *data[1] = {bytes};
    size_t lens[1] = {2};
    mtasts_tlsrpt_policy *pa = sts("company-y.example", body_a);
    mtasts_tlsrpt_policy *pa2 = sts("COMPANY-Y.example", body_a);
    mtasts_tlsrpt_policy *pb = sts("company-y.example", body_b), *pt = NULL;
    mtasts_tlsrpt_agg *a = agg_new();
    mtasts_tlsrpt_report *r;

    (void)state;
    assert_int_equal(mtasts_tlsrpt_policy_build_tlsa(ctx, "company-y.example",
                                                     17, u, s, m, data, lens, 1,
                                                     &pt),
                     0);
    assert_int_equal(mtasts_tlsrpt_agg_add(a, pa, DAY1 + 1,
                                           MTASTS_SESSION_SUCCESS, NULL, 0, 0),
                     0);
    assert_int_equal(mtasts_tlsrpt_agg_add(a, pa2, DAY1 + 2,
                                           MTASTS_SESSION_SUCCESS, NULL, 0, 0),
                     0);
    assert_int_equal(mtasts_tlsrpt_agg_add(a, pb, DAY1 + 3,
                                           MTASTS_SESSION_SUCCESS, NULL, 0, 0),
                     0);
    assert_int_equal(mtasts_tlsrpt_agg_add(a, pt, DAY1 + 4,
                                           MTASTS_SESSION_SUCCESS, NULL, 0, 0),
                     0);
    r = report(a, "company-y.example", DAY1);
    assert_int_equal(mtasts_tlsrpt_report_count(r, MTASTS_RC_POLICIES, 0), 3);
    /* insertion order; equal policies aggregate together */
    assert_int_equal(
        mtasts_tlsrpt_report_number(r, MTASTS_RN_SUCCESS_COUNT, 0, 0), 2);
    assert_string_equal(
        mtasts_tlsrpt_report_text(r, MTASTS_RF_POLICY_STRING, 1, 1, NULL),
        "mode: enforce");
    assert_int_equal(mtasts_tlsrpt_report_policy_type(r, 2),
                     MTASTS_POLICY_TYPE_TLSA);
    mtasts_tlsrpt_report_free(r);
    mtasts_tlsrpt_agg_free(a);
    mtasts_tlsrpt_policy_free(pa);
    mtasts_tlsrpt_policy_free(pa2);
    mtasts_tlsrpt_policy_free(pb);
    mtasts_tlsrpt_policy_free(pt);
}

/* RPT-AGG-3 and RPT-AGG-6 across contexts: each context seeds its hash
 * tables with its own secret (against hash flooding), yet a policy key
 * made in another context, and an aggregate of another context merged
 * in, land on the same policy and failure-details entries as their equals
 * made here. */
static void
test_rpt_agg_3_equal_across_contexts(void **state)
{
    struct mtasts_tlsrpt_failure f =
        fail_of(MTASTS_RESULT_STARTTLS_NOT_SUPPORTED, "192.0.2.1");
    mtasts_tlsrpt_policy *p1 = sts("a.example", body_a), *p2 = NULL;
    mtasts_tlsrpt_agg *a1 = agg_new(), *a2 = NULL;
    mtasts_tlsrpt_report *r;
    mtasts_policy *pp = NULL;
    mtasts_ctx *c2 = NULL;

    (void)state;
    assert_int_equal(mtasts_ctx_new(NULL, &c2), 0);
    assert_int_equal(
        mtasts_policy_parse(c2, body_a, strlen(body_a), 0, &pp, NULL), 0);
    assert_int_equal(
        mtasts_tlsrpt_policy_build_sts(c2, "a.example", 9, pp, &p2), 0);
    assert_int_equal(mtasts_tlsrpt_agg_new(c2, &a2), 0);
    /* a1 (this context) gets both keys */
    assert_int_equal(mtasts_tlsrpt_agg_add(a1, p1, DAY1 + 1,
                                           MTASTS_SESSION_FAILURE, &f, 1, 0),
                     0);
    assert_int_equal(mtasts_tlsrpt_agg_add(a1, p2, DAY1 + 2,
                                           MTASTS_SESSION_FAILURE, &f, 1, 0),
                     0);
    /* a2 (the other context) too, then merged into a1 */
    assert_int_equal(mtasts_tlsrpt_agg_add(a2, p1, DAY1 + 3,
                                           MTASTS_SESSION_SUCCESS, NULL, 0, 0),
                     0);
    assert_int_equal(mtasts_tlsrpt_agg_add(a2, p2, DAY1 + 4,
                                           MTASTS_SESSION_FAILURE, &f, 1, 0),
                     0);
    assert_int_equal(mtasts_tlsrpt_agg_merge(a1, a2), 0);
    r = report(a1, "a.example", DAY1);
    assert_int_equal(mtasts_tlsrpt_report_count(r, MTASTS_RC_POLICIES, 0), 1);
    assert_int_equal(
        mtasts_tlsrpt_report_number(r, MTASTS_RN_SUCCESS_COUNT, 0, 0), 1);
    assert_int_equal(
        mtasts_tlsrpt_report_number(r, MTASTS_RN_FAILURE_COUNT, 0, 0), 3);
    assert_int_equal(mtasts_tlsrpt_report_count(r, MTASTS_RC_DETAILS, 0), 1);
    assert_int_equal(
        mtasts_tlsrpt_report_number(r, MTASTS_RN_FAILED_SESSIONS, 0, 0), 3);
    mtasts_tlsrpt_report_free(r);
    mtasts_tlsrpt_agg_free(a1);
    mtasts_tlsrpt_agg_free(a2);
    mtasts_tlsrpt_policy_free(p1);
    mtasts_tlsrpt_policy_free(p2);
    mtasts_policy_free(pp);
    mtasts_ctx_free(c2);
}

/* RPT-AGG-4 */
static void
test_rpt_agg_4_successes(void **state)
{
    mtasts_tlsrpt_policy *p = sts("company-y.example", body_a);
    mtasts_tlsrpt_agg *a = agg_new();
    mtasts_tlsrpt_report *r;
    int i;

    (void)state;
    for (i = 0; i < 5; i++)
        assert_int_equal(mtasts_tlsrpt_agg_add(a, p, DAY1 + i,
                                               MTASTS_SESSION_SUCCESS, NULL, 0,
                                               0),
                         0);
    r = report(a, "company-y.example", DAY1);
    assert_int_equal(
        mtasts_tlsrpt_report_number(r, MTASTS_RN_SUCCESS_COUNT, 0, 0), 5);
    assert_int_equal(
        mtasts_tlsrpt_report_number(r, MTASTS_RN_FAILURE_COUNT, 0, 0), 0);
    assert_true(json_has(r, "\"total-successful-session-count\":5,"));
    mtasts_tlsrpt_report_free(r);
    mtasts_tlsrpt_agg_free(a);
    mtasts_tlsrpt_policy_free(p);
}

/* RPT-AGG-5 */
static void
test_rpt_agg_5_one_failure_many_types(void **state)
{
    mtasts_tlsrpt_policy *p = sts("company-y.example", body_a);
    mtasts_tlsrpt_agg *a = agg_new();
    struct mtasts_tlsrpt_failure f[2];
    mtasts_tlsrpt_report *r;

    (void)state;
    f[0] = fail_of(MTASTS_RESULT_CERTIFICATE_EXPIRED, "192.0.2.1");
    f[1] = fail_of(MTASTS_RESULT_CERTIFICATE_HOST_MISMATCH, "192.0.2.1");
    assert_int_equal(
        mtasts_tlsrpt_agg_add(a, p, DAY1, MTASTS_SESSION_FAILURE, f, 2, 0), 0);
    r = report(a, "company-y.example", DAY1);
    assert_int_equal(
        mtasts_tlsrpt_report_number(r, MTASTS_RN_FAILURE_COUNT, 0, 0), 1);
    assert_int_equal(mtasts_tlsrpt_report_count(r, MTASTS_RC_DETAILS, 0), 2);
    assert_int_equal(
        mtasts_tlsrpt_report_number(r, MTASTS_RN_FAILED_SESSIONS, 0, 0), 1);
    assert_int_equal(
        mtasts_tlsrpt_report_number(r, MTASTS_RN_FAILED_SESSIONS, 0, 1), 1);
    assert_int_equal(mtasts_tlsrpt_report_result_type(r, 0, 0),
                     MTASTS_RESULT_CERTIFICATE_EXPIRED);
    mtasts_tlsrpt_report_free(r);
    mtasts_tlsrpt_agg_free(a);
    mtasts_tlsrpt_policy_free(p);
}

/* RPT-AGG-6 */
static void
test_rpt_agg_6_grouping(void **state)
{
    mtasts_tlsrpt_policy *p = sts("company-y.example", body_a);
    mtasts_tlsrpt_agg *a = agg_new();
    struct mtasts_tlsrpt_failure f;
    mtasts_tlsrpt_report *r;
    int i;

    (void)state;
    f = fail_of(MTASTS_RESULT_STARTTLS_NOT_SUPPORTED, "192.0.2.1");
    for (i = 0; i < 3; i++)
        assert_int_equal(mtasts_tlsrpt_agg_add(
                             a, p, DAY1 + i, MTASTS_SESSION_FAILURE, &f, 1, 0),
                         0);
    r = report(a, "company-y.example", DAY1);
    assert_int_equal(mtasts_tlsrpt_report_count(r, MTASTS_RC_DETAILS, 0), 1);
    assert_int_equal(
        mtasts_tlsrpt_report_number(r, MTASTS_RN_FAILED_SESSIONS, 0, 0), 3);
    mtasts_tlsrpt_report_free(r);
    /* another sending IP: another entry; IPv6 spellings group together */
    f.sending_ip = "2001:DB8:0:0:0:0:0:1";
    f.sending_ip_len = strlen(f.sending_ip);
    assert_int_equal(
        mtasts_tlsrpt_agg_add(a, p, DAY1, MTASTS_SESSION_FAILURE, &f, 1, 0), 0);
    f.sending_ip = "2001:db8::1";
    f.sending_ip_len = strlen(f.sending_ip);
    assert_int_equal(
        mtasts_tlsrpt_agg_add(a, p, DAY1, MTASTS_SESSION_FAILURE, &f, 1, 0), 0);
    /* every member is part of the group: helo, reason code, info */
    f.receiving_helo = "mx2.example";
    f.receiving_helo_len = strlen(f.receiving_helo);
    assert_int_equal(
        mtasts_tlsrpt_agg_add(a, p, DAY1, MTASTS_SESSION_FAILURE, &f, 1, 0), 0);
    f.reason_code = "X";
    f.reason_code_len = strlen(f.reason_code);
    assert_int_equal(
        mtasts_tlsrpt_agg_add(a, p, DAY1, MTASTS_SESSION_FAILURE, &f, 1, 0), 0);
    f.additional = "https://x.example/i";
    f.additional_len = strlen(f.additional);
    assert_int_equal(
        mtasts_tlsrpt_agg_add(a, p, DAY1, MTASTS_SESSION_FAILURE, &f, 1, 0), 0);
    /* same after norm() */
    f.receiving_mx = "MX1.mail.company-y.example.";
    f.receiving_mx_len = strlen(f.receiving_mx);
    assert_int_equal(
        mtasts_tlsrpt_agg_add(a, p, DAY1, MTASTS_SESSION_FAILURE, &f, 1, 0), 0);
    r = report(a, "company-y.example", DAY1);
    assert_int_equal(mtasts_tlsrpt_report_count(r, MTASTS_RC_DETAILS, 0), 5);
    assert_int_equal(
        mtasts_tlsrpt_report_number(r, MTASTS_RN_FAILED_SESSIONS, 0, 1), 2);
    assert_int_equal(
        mtasts_tlsrpt_report_number(r, MTASTS_RN_FAILED_SESSIONS, 0, 4), 2);
    assert_int_equal(
        mtasts_tlsrpt_report_number(r, MTASTS_RN_FAILURE_COUNT, 0, 0), 9);
    assert_true(json_has(r, "\"sending-mta-ip\":\"2001:db8::1\""));
    mtasts_tlsrpt_report_free(r);
    /* malformed members: ESYNTAX, nothing counted */
    f.sending_ip = "192.0.2.010";
    f.sending_ip_len = strlen(f.sending_ip);
    assert_int_equal(
        mtasts_tlsrpt_agg_add(a, p, DAY1, MTASTS_SESSION_FAILURE, &f, 1, 0),
        MTASTS_ESYNTAX);
    f.sending_ip = NULL;
    f.receiving_mx = "bad host";
    f.receiving_mx_len = strlen(f.receiving_mx);
    assert_int_equal(
        mtasts_tlsrpt_agg_add(a, p, DAY1, MTASTS_SESSION_FAILURE, &f, 1, 0),
        MTASTS_ESYNTAX);
    f.receiving_mx = NULL;
    f.additional = "not a uri";
    f.additional_len = strlen(f.additional);
    assert_int_equal(
        mtasts_tlsrpt_agg_add(a, p, DAY1, MTASTS_SESSION_FAILURE, &f, 1, 0),
        MTASTS_ESYNTAX);
    f.additional = NULL;
    f.version = 99;
    assert_int_equal(
        mtasts_tlsrpt_agg_add(a, p, DAY1, MTASTS_SESSION_FAILURE, &f, 1, 0),
        MTASTS_EVERSION);
    r = report(a, "company-y.example", DAY1);
    assert_int_equal(
        mtasts_tlsrpt_report_number(r, MTASTS_RN_FAILURE_COUNT, 0, 0), 9);
    mtasts_tlsrpt_report_free(r);
    mtasts_tlsrpt_agg_free(a);
    mtasts_tlsrpt_policy_free(p);
}

/* RPT-AGG-7 (testing counts failures; mode none is reported as
 * no-policy-found, so no sts failure entry exists) */
static void
test_rpt_agg_7_testing_and_none(void **state)
{
    mtasts_tlsrpt_policy *pt = sts("t.example", body_a);
    mtasts_tlsrpt_policy *pn = sts("n.example", body_none);
    mtasts_tlsrpt_agg *a = agg_new();
    struct mtasts_tlsrpt_failure f;
    mtasts_tlsrpt_report *r;

    (void)state;
    f = fail_of(MTASTS_RESULT_STARTTLS_NOT_SUPPORTED, "192.0.2.1");
    assert_int_equal(
        mtasts_tlsrpt_agg_add(a, pt, DAY1, MTASTS_SESSION_FAILURE, &f, 1, 0),
        0);
    r = report(a, "t.example", DAY1);
    assert_true(json_has(r, "{\"result-type\":\"starttls-not-supported\""));
    assert_int_equal(
        mtasts_tlsrpt_report_number(r, MTASTS_RN_FAILED_SESSIONS, 0, 0), 1);
    mtasts_tlsrpt_report_free(r);
    /* none: the caller applies no policy, the session is a plain success */
    assert_int_equal(
        mtasts_tlsrpt_agg_add(a, pn, DAY1, MTASTS_SESSION_SUCCESS, NULL, 0, 0),
        0);
    r = report(a, "n.example", DAY1);
    assert_int_equal(mtasts_tlsrpt_report_policy_type(r, 0),
                     MTASTS_POLICY_TYPE_NO_POLICY_FOUND);
    assert_int_equal(mtasts_tlsrpt_report_count(r, MTASTS_RC_DETAILS, 0), 0);
    mtasts_tlsrpt_report_free(r);
    mtasts_tlsrpt_agg_free(a);
    mtasts_tlsrpt_policy_free(pt);
    mtasts_tlsrpt_policy_free(pn);
}

/* RPT-AGG-8 */
static void
test_rpt_agg_8_discovery_failure_on_success(void **state)
{
    mtasts_tlsrpt_policy *p = sts("company-y.example", body_a);
    mtasts_tlsrpt_agg *a = agg_new();
    struct mtasts_tlsrpt_failure f;
    mtasts_tlsrpt_report *r;

    (void)state;
    memset(&f, 0, sizeof(f));
    f.version = MTASTS_FAILURE_VERSION;
    f.result_type = MTASTS_RESULT_STS_POLICY_FETCH_ERROR;
    assert_int_equal(
        mtasts_tlsrpt_agg_add(a, p, DAY1, MTASTS_SESSION_SUCCESS, &f, 1, 0), 0);
    assert_int_equal(
        mtasts_tlsrpt_agg_add(a, p, DAY1, MTASTS_SESSION_SUCCESS, &f, 1, 0), 0);
    r = report(a, "company-y.example", DAY1);
    assert_int_equal(
        mtasts_tlsrpt_report_number(r, MTASTS_RN_SUCCESS_COUNT, 0, 0), 2);
    assert_int_equal(
        mtasts_tlsrpt_report_number(r, MTASTS_RN_FAILURE_COUNT, 0, 0), 0);
    assert_true(json_has(r, "\"failure-details\":[{\"result-type\":\"sts-"
                            "policy-fetch-error\",\"failed-session-count\":2}"
                            "]"));
    mtasts_tlsrpt_report_free(r);
    mtasts_tlsrpt_agg_free(a);
    mtasts_tlsrpt_policy_free(p);
}

/* RPT-AGG-9 (and report-loop sessions) */
static void
test_rpt_agg_9_transient_not_counted(void **state)
{
    mtasts_tlsrpt_policy *p = sts("company-y.example", body_a);
    mtasts_tlsrpt_agg *a = agg_new(), *b = agg_new();
    struct mtasts_tlsrpt_failure f;

    (void)state;
    f = fail_of(MTASTS_RESULT_STARTTLS_NOT_SUPPORTED, "192.0.2.1");
    assert_int_equal(
        mtasts_tlsrpt_agg_add(a, p, DAY1, MTASTS_SESSION_SUCCESS, NULL, 0, 0),
        0);
    assert_int_equal(
        mtasts_tlsrpt_agg_add(b, p, DAY1, MTASTS_SESSION_SUCCESS, NULL, 0, 0),
        0);
    assert_int_equal(
        mtasts_tlsrpt_agg_add(a, p, DAY1, MTASTS_SESSION_TRANSIENT, &f, 1, 0),
        0);
    assert_int_equal(mtasts_tlsrpt_agg_add(a, p, DAY1, MTASTS_SESSION_FAILURE,
                                           &f, 1,
                                           MTASTS_SESSION_F_TLSRPT_REPORT),
                     0);
    assert_true(same_export(a, b));
    assert_int_equal(mtasts_tlsrpt_agg_add(a, p, DAY1, 4, NULL, 0, 0),
                     MTASTS_EINVAL);
    assert_int_equal(
        mtasts_tlsrpt_agg_add(a, p, -1, MTASTS_SESSION_SUCCESS, NULL, 0, 0),
        MTASTS_EINVAL);
    mtasts_tlsrpt_agg_free(a);
    mtasts_tlsrpt_agg_free(b);
    mtasts_tlsrpt_policy_free(p);
}

/* RPT-AGG-10 (the caller maps outcomes; the API writes the registered
 * names and keeps the reason code) */
static void
test_rpt_agg_10_result_types(void **state)
{
    mtasts_tlsrpt_policy *p = sts("company-y.example", body_a);
    mtasts_tlsrpt_agg *a = agg_new();
    struct mtasts_tlsrpt_failure f;
    mtasts_tlsrpt_report *r;
    int t;

    (void)state;
    f = fail_of(MTASTS_RESULT_VALIDATION_FAILURE, NULL);
    f.receiving_mx = NULL;
    f.receiving_ip = NULL;
    f.reason_code = "mx-host-not-in-policy";
    f.reason_code_len = strlen(f.reason_code);
    assert_int_equal(
        mtasts_tlsrpt_agg_add(a, p, DAY1, MTASTS_SESSION_FAILURE, &f, 1, 0), 0);
    f.reason_code = NULL;
    for (t = 1; t <= MTASTS_RESULT_STS_WEBPKI_INVALID; t++) {
        f.result_type = t;
        assert_int_equal(
            mtasts_tlsrpt_agg_add(a, p, DAY1, MTASTS_SESSION_FAILURE, &f, 1, 0),
            0);
    }
    /* an unregistered type through its text (RPT-JSON-19); a registered
     * name given as text is that type */
    f.result_type = MTASTS_RESULT_NONE;
    f.result_text = "future-type";
    f.result_text_len = strlen(f.result_text);
    assert_int_equal(
        mtasts_tlsrpt_agg_add(a, p, DAY1, MTASTS_SESSION_FAILURE, &f, 1, 0), 0);
    f.result_text = "tlsa-invalid";
    f.result_text_len = strlen(f.result_text);
    assert_int_equal(
        mtasts_tlsrpt_agg_add(a, p, DAY1, MTASTS_SESSION_FAILURE, &f, 1, 0), 0);
    f.result_text = NULL;
    assert_int_equal(
        mtasts_tlsrpt_agg_add(a, p, DAY1, MTASTS_SESSION_FAILURE, &f, 1, 0),
        MTASTS_EINVAL);
    r = report(a, "company-y.example", DAY1);
    assert_true(json_has(r, "{\"result-type\":\"validation-failure\","
                            "\"failed-session-count\":1,"
                            "\"failure-reason-code\":"
                            "\"mx-host-not-in-policy\"}"));
    assert_int_equal(mtasts_tlsrpt_report_count(r, MTASTS_RC_DETAILS, 0), 13);
    for (t = 1; t <= MTASTS_RESULT_STS_WEBPKI_INVALID; t++) {
        assert_int_equal(mtasts_tlsrpt_report_result_type(r, 0, (size_t)t), t);
        assert_string_equal(mtasts_tlsrpt_report_text(r, MTASTS_RF_RESULT_TYPE,
                                                      0, (size_t)t, NULL),
                            mtasts_result_type_name(t));
    }
    assert_string_equal(
        mtasts_tlsrpt_report_text(r, MTASTS_RF_RESULT_TYPE, 0, 12, NULL),
        "future-type");
    assert_int_equal(
        mtasts_tlsrpt_report_number(r, MTASTS_RN_FAILED_SESSIONS, 0, 6), 2);
    mtasts_tlsrpt_report_free(r);
    mtasts_tlsrpt_agg_free(a);
    mtasts_tlsrpt_policy_free(p);
}

/* RPT-AGG-11 */
static void
test_rpt_agg_11_sts_policy_string(void **state)
{
    mtasts_tlsrpt_policy *p = sts("company-y.example", body_a);
    mtasts_tlsrpt_agg *a = agg_new();
    mtasts_tlsrpt_report *r;

    (void)state;
    assert_int_equal(
        mtasts_tlsrpt_agg_add(a, p, DAY1, MTASTS_SESSION_SUCCESS, NULL, 0, 0),
        0);
    r = report(a, "company-y.example", DAY1);
    assert_true(json_has(
        r,
        "\"policy\":{\"policy-type\":\"sts\",\"policy-string\":["
        "\"version: STSv1\",\"mode: testing\",\"mx: "
        "*.mail.company-y.example\",\"max_age: 86400\"],\"policy-domain\":"
        "\"company-y.example\",\"mx-host\":[\"*.mail.company-y.example\"]}"));
    mtasts_tlsrpt_report_free(r);
    mtasts_tlsrpt_agg_free(a);
    mtasts_tlsrpt_policy_free(p);
}

/* RPT-AGG-12 */
static void
test_rpt_agg_12_tlsa_policy_string(void **state)
{
    static const uint8_t u[2] = {3, 255}, s[2] = {1, 0}, m[2] = {1, 2};
    static const uint8_t b1[2] = {0xab, 0x12}, b2[1] = {0x0f};
    const uint8_t *data[2] = {b1, b2};
    size_t lens[2] = {2, 1};
    mtasts_tlsrpt_policy *p = NULL;
    mtasts_tlsrpt_agg *a = agg_new();
    mtasts_tlsrpt_report *r;

    (void)state;
    assert_int_equal(mtasts_tlsrpt_policy_build_tlsa(ctx, "dane.example", 12, u,
                                                     s, m, data, lens, 0, &p),
                     MTASTS_EINVAL);
    assert_int_equal(mtasts_tlsrpt_policy_build_tlsa(ctx, "dane.example", 12, u,
                                                     s, m, data, lens, 2, &p),
                     0);
    assert_int_equal(
        mtasts_tlsrpt_agg_add(a, p, DAY1, MTASTS_SESSION_SUCCESS, NULL, 0, 0),
        0);
    r = report(a, "dane.example", DAY1);
    assert_true(json_has(r, "\"policy-type\":\"tlsa\",\"policy-string\":[\"3 "
                            "1 1 AB12\",\"255 0 2 0F\"],\"policy-domain\":"
                            "\"dane.example\"}"));
    mtasts_tlsrpt_report_free(r);
    mtasts_tlsrpt_agg_free(a);
    mtasts_tlsrpt_policy_free(p);
}

/* RPT-AGG-13 */
static void
test_rpt_agg_13_no_policy_found(void **state)
{
    mtasts_tlsrpt_policy *p = sts("none.example", body_none);
    mtasts_tlsrpt_agg *a = agg_new();
    mtasts_tlsrpt_report *r;

    (void)state;
    assert_int_equal(
        mtasts_tlsrpt_agg_add(a, p, DAY1, MTASTS_SESSION_SUCCESS, NULL, 0, 0),
        0);
    r = report(a, "none.example", DAY1);
    assert_true(json_has(r, "{\"policy\":{\"policy-type\":\"no-policy-found\","
                            "\"policy-domain\":\"none.example\"},\"summary\":{"
                            "\"total-successful-session-count\":1,"));
    mtasts_tlsrpt_report_free(r);
    mtasts_tlsrpt_agg_free(a);
    mtasts_tlsrpt_policy_free(p);
}

/* Export bytes of one key a.example/DAY1, no-policy-found, with the given
 * success count. Hand-written from the format in tlsrpt_agg_out.c. */
static size_t
craft(uint8_t *o, uint64_t success)
{
    static const uint8_t head[] = {'M', 'T', 'S', 'T', 'S', 'A', 'G', 'G',
                                   1,   0,   0,   0,   1,   9,   'a', '.',
                                   'e', 'x', 'a', 'm', 'p', 'l', 'e'};
    static const uint8_t blob[] = {3,   0,   9,   'a', '.', 'e', 'x',
                                   'a', 'm', 'p', 'l', 'e', 0,   0,
                                   0,   0,   0,   0,   0,   0};
    size_t n = 0;
    int i;

    memcpy(o, head, sizeof(head));
    n = sizeof(head);
    for (i = 7; i >= 0; i--)
        o[n++] = (uint8_t)((uint64_t)DAY1 >> (8 * i));
    o[n++] = 0, o[n++] = 0, o[n++] = 0, o[n++] = 1;
    o[n++] = 0, o[n++] = 0, o[n++] = 0, o[n++] = sizeof(blob);
    memcpy(o + n, blob, sizeof(blob));
    n += sizeof(blob);
    for (i = 7; i >= 0; i--)
        o[n++] = (uint8_t)(success >> (8 * i));
    for (i = 0; i < 12; i++)
        o[n++] = 0; /* failures 0, no details */
    return n;
}

/* RPT-AGG-14: saturated at 2^53-1 with the warning counter_saturated */
static void
test_rpt_agg_14_saturation(void **state)
{
    mtasts_tlsrpt_agg *a = agg_new();
    mtasts_tlsrpt_report *r;
    uint8_t buf[128];
    size_t n = craft(buf, UINT64_C(1) << 53);

    (void)state;
    assert_int_equal(mtasts_tlsrpt_agg_decode(a, buf, n), 0);
    r = report(a, "a.example", DAY1);
    assert_true(json_has(r, "\"total-successful-session-count\":"
                            "9007199254740991,"));
    assert_true(mtasts_tlsrpt_report_warnings(r) ==
                MTASTS_WARN_BIT(MTASTS_W_COUNTER_SATURATED));
    {
        const char *path;
        size_t plen;
        int w;

        assert_int_equal(mtasts_tlsrpt_report_diag_count(r), 1);
        assert_int_equal(mtasts_tlsrpt_report_diag(r, 0, &w, &path, &plen), 0);
        assert_int_equal(w, MTASTS_W_COUNTER_SATURATED);
        assert_string_equal(
            path, "policies[0].summary.total-successful-session-count");
    }
    mtasts_tlsrpt_report_free(r);
    /* uint64 inside: merging more keeps counting, saturating at 2^64-1 */
    n = craft(buf, UINT64_MAX);
    assert_int_equal(mtasts_tlsrpt_agg_decode(a, buf, n), 0);
    r = report(a, "a.example", DAY1);
    assert_int_equal(
        mtasts_tlsrpt_report_number(r, MTASTS_RN_SUCCESS_COUNT, 0, 0),
        INT64_C(9007199254740991));
    mtasts_tlsrpt_report_free(r);
    mtasts_tlsrpt_agg_free(a);
}

/* RPT-AGG-15 */
static void
test_rpt_agg_15_immutable(void **state)
{
    mtasts_tlsrpt_policy *p = sts("company-y.example", body_a);
    mtasts_tlsrpt_agg *a = agg_new();
    struct mtasts_tlsrpt_failure f;
    mtasts_tlsrpt_report *r1, *r2;
    mtasts_buf *j1, *j2, *g1 = NULL, *g2 = NULL;
    size_t l1, l2;
    const uint8_t *d1, *d2;

    (void)state;
    f = fail_of(MTASTS_RESULT_CERTIFICATE_EXPIRED, "192.0.2.1");
    assert_int_equal(
        mtasts_tlsrpt_agg_add(a, p, DAY1, MTASTS_SESSION_FAILURE, &f, 1, 0), 0);
    r1 = report(a, "company-y.example", DAY1);
    r2 = report(a, "company-y.example", DAY1);
    j1 = json(r1);
    j2 = json(r2);
    d1 = mtasts_buf_data(j1, &l1);
    d2 = mtasts_buf_data(j2, &l2);
    assert_int_equal(l1, l2);
    assert_memory_equal(d1, d2, l1);
    assert_int_equal(mtasts_gzip(ctx, d1, l1, 6, &g1), 0);
    assert_int_equal(mtasts_gzip(ctx, d2, l2, 6, &g2), 0);
    d1 = mtasts_buf_data(g1, &l1);
    d2 = mtasts_buf_data(g2, &l2);
    assert_int_equal(l1, l2);
    assert_memory_equal(d1, d2, l1);
    mtasts_buf_free(g1);
    mtasts_buf_free(g2);
    mtasts_buf_free(j1);
    mtasts_buf_free(j2);
    mtasts_tlsrpt_report_free(r1);
    mtasts_tlsrpt_report_free(r2);
    mtasts_tlsrpt_agg_free(a);
    mtasts_tlsrpt_policy_free(p);
}

/* RPT-JSON-5 */
static void
test_rpt_json_5_day_range(void **state)
{
    mtasts_tlsrpt_policy *p = none("a.example");
    mtasts_tlsrpt_agg *a = agg_new();
    mtasts_tlsrpt_report *r;

    (void)state;
    assert_int_equal(mtasts_tlsrpt_agg_add(a, p, DAY1 + 43200,
                                           MTASTS_SESSION_SUCCESS, NULL, 0, 0),
                     0);
    r = report(a, "a.example", DAY1 + 7); /* any time of the day names it */
    assert_true(json_has(r, "\"date-range\":{\"start-datetime\":\"2016-04-01T"
                            "00:00:00Z\",\"end-datetime\":\"2016-04-01T23:59:"
                            "59Z\"}"));
    mtasts_tlsrpt_report_free(r);
    mtasts_tlsrpt_agg_free(a);
    mtasts_tlsrpt_policy_free(p);
}

/* RPT-JSON-6 and RPT-JSON-7 (report() inputs) */
static void
test_rpt_json_6_contact_7_id(void **state)
{
    static const char *const good[] = {
        "tlsrpt@sender.example", "\"a b\"@sender.example", "x.y+z@[192.0.2.1]",
        "!#$%&'*+-/=?^_`{|}~@x"};
    static const char *const bad[] = {
        "not an address", "a@",   "@b", "a..b@c", ".a@b",     "a@b.",
        "a\"@b",          "a@[b", "",   "a@b@c",  "\"a\"b@c", "é@b.example"};
    mtasts_tlsrpt_policy *p = none("a.example");
    mtasts_tlsrpt_agg *a = agg_new();
    mtasts_tlsrpt_report *r = NULL;
    size_t i;

    (void)state;
    assert_int_equal(
        mtasts_tlsrpt_agg_add(a, p, DAY1, MTASTS_SESSION_SUCCESS, NULL, 0, 0),
        0);
    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        assert_int_equal(
            mtasts_tlsrpt_report_build(a, "a.example", 9, DAY1, "O", 1, good[i],
                                       strlen(good[i]), "id", 2, &r),
            0);
        mtasts_tlsrpt_report_free(r);
    }
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(
            mtasts_tlsrpt_report_build(a, "a.example", 9, DAY1, "O", 1, bad[i],
                                       strlen(bad[i]), "id", 2, &r),
            MTASTS_ESYNTAX);
        assert_null(r);
    }
    /* the id must be dot-atom-text */
    assert_int_equal(mtasts_tlsrpt_report_build(a, "a.example", 9, DAY1, "O", 1,
                                                "a@b", 3, "a b", 3, &r),
                     MTASTS_ESYNTAX);
    assert_int_equal(mtasts_tlsrpt_report_build(a, "a.example", 9, DAY1, "O", 1,
                                                "a@b", 3, "a..b", 4, &r),
                     MTASTS_ESYNTAX);
    mtasts_tlsrpt_agg_free(a);
    mtasts_tlsrpt_policy_free(p);
}

static int
dot_atom(const char *s)
{
    const char *atext = "!#$%&'*+-/=?^_`{|}~";
    size_t i, n = strlen(s);

    if (n == 0 || s[0] == '.' || s[n - 1] == '.' || strstr(s, "..") != NULL)
        return 0;
    for (i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
              (s[i] >= '0' && s[i] <= '9') || s[i] == '.' ||
              strchr(atext, s[i]) != NULL))
            return 0;
    return 1;
}

/* RPT-JSON-7 */
static void
test_rpt_json_7_report_id(void **state)
{
    char id1[128], id2[128];
    size_t need;

    (void)state;
    assert_int_equal(mtasts_tlsrpt_report_id_generate(
                         DAY1, "Example.COM.", 12, UINT64_C(0x1a2b3c4d5e6f7081),
                         id1, sizeof(id1), &need),
                     0);
    assert_string_equal(id1, "20160401.example.com.1a2b3c4d5e6f7081");
    assert_int_equal(need, strlen(id1));
    assert_int_equal(mtasts_tlsrpt_report_id_generate(
                         DAY1, "example.com", 11, 42, id2, sizeof(id2), NULL),
                     0);
    assert_string_not_equal(id1, id2);
    assert_true(dot_atom(id1));
    assert_true(dot_atom(id2));
    assert_int_equal(mtasts_tlsrpt_report_id_generate(DAY1, "example.com", 11,
                                                      42, NULL, 0, &need),
                     MTASTS_ERANGE);
    assert_int_equal(need, strlen(id2));
    assert_int_equal(mtasts_tlsrpt_report_id_generate(DAY1, "example.com", 11,
                                                      42, id2, 5, &need),
                     MTASTS_ERANGE);
    assert_int_equal(mtasts_tlsrpt_report_id_generate(
                         DAY1, "bad domain", 10, 42, id2, sizeof(id2), &need),
                     MTASTS_ESYNTAX);
    assert_int_equal(mtasts_tlsrpt_report_id_generate(-1, "example.com", 11, 42,
                                                      id2, sizeof(id2), &need),
                     MTASTS_EINVAL);
}

/* RPT-DELIV-14: the header's delay is 1 + random % 14400, so the RNG value
 * 1233 gives the 1234 s of the requirement's example. */
static void
test_rpt_deliv_14_generation_time(void **state)
{
    (void)state;
    /* 2016-04-02T00:20:34Z */
    assert_int_equal(mtasts_tlsrpt_generation_time(DAY1, 1233),
                     INT64_C(1459556434));
    assert_int_equal(mtasts_tlsrpt_generation_time(DAY1 + 500, 1233),
                     INT64_C(1459556434));
    assert_int_equal(mtasts_tlsrpt_generation_time(DAY1, 0), DAY2 + 1);
    assert_int_equal(mtasts_tlsrpt_generation_time(DAY1, 14399), DAY2 + 14400);
    assert_int_equal(mtasts_tlsrpt_generation_time(DAY1, 14400), DAY2 + 1);
}

/* A mixed aggregate over several days, domains and policies. */
static void
fill(mtasts_tlsrpt_agg *a, unsigned seed, int n)
{
    mtasts_tlsrpt_policy *p[4];
    struct mtasts_tlsrpt_failure f[2];
    static const char *const ips[] = {"192.0.2.1", "192.0.2.2", "2001:db8::5"};
    int i;

    p[0] = sts("a.example", body_a);
    p[1] = sts("a.example", body_b);
    p[2] = none("b.example");
    p[3] = sts("c.example", body_a);
    for (i = 0; i < n; i++) {
        unsigned r = seed = seed * 1103515245u + 12345u;
        int out =
            (r >> 8) % 3 == 0 ? MTASTS_SESSION_FAILURE : MTASTS_SESSION_SUCCESS;
        size_t nf = out == MTASTS_SESSION_FAILURE ? 1 + (r >> 12) % 2 : 0;
        f[0] = fail_of(1 + (int)((r >> 14) % 5), ips[(r >> 17) % 3]);
        f[1] = fail_of(MTASTS_RESULT_CERTIFICATE_EXPIRED, ips[(r >> 19) % 3]);
        assert_int_equal(
            mtasts_tlsrpt_agg_add(a, p[(r >> 4) % 4],
                                  DAY1 + (int64_t)((r >> 21) % 3) * 86400, out,
                                  f, nf, 0),
            0);
    }
    for (i = 0; i < 4; i++)
        mtasts_tlsrpt_policy_free(p[i]);
}

/* aggregate -> report -> to_json -> parse -> identical */
static void
test_round_trip(void **state)
{
    mtasts_tlsrpt_agg *a = agg_new();
    size_t i, n;

    (void)state;
    fill(a, 7, 2000);
    n = mtasts_tlsrpt_agg_count(a);
    assert_int_equal(n, 9);
    for (i = 0; i < n; i++) {
        const char *d;
        size_t dl, l1, l2;
        int64_t day;
        mtasts_tlsrpt_report *r, *back = NULL;
        mtasts_buf *j1, *j2;
        const uint8_t *b1, *b2;

        assert_int_equal(mtasts_tlsrpt_agg_key(a, i, &d, &dl, &day), 0);
        r = report(a, d, day);
        j1 = json(r);
        b1 = mtasts_buf_data(j1, &l1);
        assert_int_equal(mtasts_tlsrpt_report_parse(
                             ctx, b1, l1, MTASTS_PARSE_F_STRICT, &back, NULL),
                         0);
        assert_int_equal(mtasts_tlsrpt_report_warnings(back), 0);
        j2 = json(back);
        b2 = mtasts_buf_data(j2, &l2);
        assert_int_equal(l1, l2);
        assert_memory_equal(b1, b2, l1);
        assert_int_equal(
            mtasts_tlsrpt_report_count(back, MTASTS_RC_POLICIES, 0),
            mtasts_tlsrpt_report_count(r, MTASTS_RC_POLICIES, 0));
        mtasts_buf_free(j1);
        mtasts_buf_free(j2);
        mtasts_tlsrpt_report_free(r);
        mtasts_tlsrpt_report_free(back);
    }
    mtasts_tlsrpt_agg_free(a);
}

/* merge(A, B) == one aggregate of all sessions; export/import == original */
static void
test_merge_and_export(void **state)
{
    mtasts_tlsrpt_agg *all = agg_new(), *x = agg_new(), *y = agg_new();
    mtasts_tlsrpt_agg *z = agg_new();
    mtasts_buf *b;
    const uint8_t *d;
    size_t n, cut;

    (void)state;
    fill(all, 1, 1500);
    fill(all, 2, 1500);
    fill(x, 1, 1500);
    fill(y, 2, 1500);
    assert_int_equal(mtasts_tlsrpt_agg_merge(x, y), 0);
    assert_true(same_export(all, x));
    assert_int_equal(mtasts_tlsrpt_agg_merge(x, x), MTASTS_EINVAL);
    b = export(all);
    d = mtasts_buf_data(b, &n);
    assert_int_equal(mtasts_tlsrpt_agg_decode(z, d, n), 0);
    assert_true(same_export(all, z));
    /* import is defensive: every truncation and byte flip of a valid
     * export either fails leaving z unchanged, or is a valid export */
    for (cut = 0; cut < n; cut++)
        assert_int_not_equal(mtasts_tlsrpt_agg_decode(z, d, cut), 0);
    assert_true(same_export(all, z));
    {
        uint8_t *m = test_malloc(n);
        mtasts_buf *snap = export(y), *now;
        size_t i, ls, ln;
        for (i = 0; i < n; i += 3) {
            memcpy(m, d, n);
            m[i] ^= (uint8_t)(1u << (i % 8));
            if (mtasts_tlsrpt_agg_decode(y, m, n) == 0) {
                mtasts_buf_free(snap);
                snap = export(y);
                continue;
            }
            now = export(y);
            assert_int_equal(mtasts_buf_data(snap, &ls) != NULL, 1);
            (void)mtasts_buf_data(now, &ln);
            assert_int_equal(ls, ln);
            assert_memory_equal(mtasts_buf_data(snap, NULL),
                                mtasts_buf_data(now, NULL), ls);
            mtasts_buf_free(now);
        }
        mtasts_buf_free(snap);
        test_free(m);
    }
    {
        uint8_t v[13];
        memcpy(v, d, 13);
        v[8] = 3;
        assert_int_equal(mtasts_tlsrpt_agg_decode(z, v, 13), MTASTS_EVERSION);
        v[0] = 'X';
        assert_int_equal(mtasts_tlsrpt_agg_decode(z, v, 13), MTASTS_ESYNTAX);
    }
    /* the same bytes twice: counts double, keys stay */
    assert_int_equal(mtasts_tlsrpt_agg_decode(z, d, n), 0);
    assert_int_equal(mtasts_tlsrpt_agg_count(z), mtasts_tlsrpt_agg_count(all));
    mtasts_buf_free(b);
    mtasts_tlsrpt_agg_free(all);
    mtasts_tlsrpt_agg_free(x);
    mtasts_tlsrpt_agg_free(y);
    mtasts_tlsrpt_agg_free(z);
}

/* Issue 9: every single-bit flip of an export is refused on import
 * (MTASTS_ECORRUPT from the CRC-32, or a syntax or version error in the
 * header) and changes nothing; an export of version 1 (no check) is still
 * imported. */
static void
test_export_bit_flips(void **state)
{
    mtasts_tlsrpt_agg *a = agg_new(), *z = agg_new();
    mtasts_buf *b, *snap, *now;
    const uint8_t *d;
    uint8_t *m;
    size_t n, i, bit, ls, ln, corrupt = 0;
    int rc;

    (void)state;
    fill(a, 3, 40);
    b = export(a);
    d = mtasts_buf_data(b, &n);
    assert_true(n > 100);
    assert_int_equal(d[8], 2);
    m = test_malloc(n);
    snap = export(z);
    for (i = 0; i < n; i++)
        for (bit = 0; bit < 8; bit++) {
            memcpy(m, d, n);
            m[i] ^= (uint8_t)(1u << bit);
            rc = mtasts_tlsrpt_agg_decode(z, m, n);
            if (rc != MTASTS_ECORRUPT && rc != MTASTS_ESYNTAX &&
                rc != MTASTS_EVERSION)
                fail_msg("flip of bit %zu of byte %zu: %s", bit, i,
                         mtasts_status_name(rc));
            if (i >= 9)
                assert_int_equal(rc, MTASTS_ECORRUPT);
            corrupt += rc == MTASTS_ECORRUPT;
        }
    /* nothing was imported */
    now = export(z);
    (void)mtasts_buf_data(snap, &ls);
    (void)mtasts_buf_data(now, &ln);
    assert_int_equal(ls, ln);
    assert_memory_equal(mtasts_buf_data(snap, NULL), mtasts_buf_data(now, NULL),
                        ls);
    assert_int_equal(mtasts_tlsrpt_agg_count(z), 0);
    assert_true(corrupt > 8 * (n - 9) - 1);
    mtasts_buf_free(now);
    /* version 1: the same layout without the check */
    memcpy(m, d, 9);
    m[8] = 1;
    memcpy(m + 9, d + 13, n - 13);
    assert_int_equal(mtasts_tlsrpt_agg_decode(z, m, n - 4), 0);
    assert_true(same_export(a, z));
    mtasts_buf_free(snap);
    test_free(m);
    mtasts_buf_free(b);
    mtasts_tlsrpt_agg_free(a);
    mtasts_tlsrpt_agg_free(z);
}

/* Failure strings are (pointer, length) (issue 10): bytes past a length
 * are not read, a NUL inside is refused, version 1 is refused. */
static void
test_failure_lengths(void **state)
{
    mtasts_tlsrpt_policy *p = none("len.example");
    mtasts_tlsrpt_agg *a = agg_new();
    struct mtasts_tlsrpt_failure f;
    mtasts_tlsrpt_report *r;

    (void)state;
    f = fail_of(MTASTS_RESULT_VALIDATION_FAILURE, "192.0.2.1");
    f.sending_ip = "192.0.2.7, 198.51.100.1";
    f.sending_ip_len = 9;
    f.receiving_mx = "mx.len.example.evil";
    f.receiving_mx_len = 14;
    f.reason_code = "X509_V_ERR_CERT_HAS_EXPIRED\"}junk";
    f.reason_code_len = 27;
    f.result_text = "sts-policy-invalidXYZ";
    f.result_text_len = 18;
    assert_int_equal(
        mtasts_tlsrpt_agg_add(a, p, DAY1, MTASTS_SESSION_FAILURE, &f, 1, 0), 0);
    /* a registered name given as text (with a length) is that type */
    f.result_type = MTASTS_RESULT_NONE;
    assert_int_equal(
        mtasts_tlsrpt_agg_add(a, p, DAY1, MTASTS_SESSION_FAILURE, &f, 1, 0), 0);
    r = report(a, "len.example", DAY1);
    assert_true(json_has(r, "\"sending-mta-ip\":\"192.0.2.7\""));
    assert_true(json_has(r, "\"receiving-mx-hostname\":\"mx.len.example\""));
    assert_true(
        json_has(r, "\"failure-reason-code\":\"X509_V_ERR_CERT_HAS_EXPIRED\""));
    assert_true(json_has(r, "\"result-type\":\"sts-policy-invalid\""));
    assert_false(json_has(r, "evil"));
    assert_false(json_has(r, "junk"));
    assert_false(json_has(r, "XYZ"));
    mtasts_tlsrpt_report_free(r);
    /* a NUL inside a string is refused, nothing counted */
    f = fail_of(MTASTS_RESULT_VALIDATION_FAILURE, "192.0.2.1");
    f.receiving_helo = "mx\0.evil";
    f.receiving_helo_len = 8;
    assert_int_equal(
        mtasts_tlsrpt_agg_add(a, p, DAY1, MTASTS_SESSION_FAILURE, &f, 1, 0),
        MTASTS_ESYNTAX);
    f.receiving_helo = "";
    f.receiving_helo_len = 0;
    assert_int_equal(
        mtasts_tlsrpt_agg_add(a, p, DAY1, MTASTS_SESSION_FAILURE, &f, 1, 0),
        MTASTS_ESYNTAX);
    /* the NUL-terminated layout of version 1 is refused */
    f = fail_of(MTASTS_RESULT_VALIDATION_FAILURE, "192.0.2.1");
    f.version = 1;
    assert_int_equal(
        mtasts_tlsrpt_agg_add(a, p, DAY1, MTASTS_SESSION_FAILURE, &f, 1, 0),
        MTASTS_EVERSION);
    mtasts_tlsrpt_agg_free(a);
    mtasts_tlsrpt_policy_free(p);
}

/* MTASTS_AGG_MAX_DETAILS: the first N distinct entries are kept, summary
 * counts stay exact */
static void
test_truncation(void **state)
{
    mtasts_tlsrpt_policy *p = none("t.example");
    mtasts_tlsrpt_agg *a = agg_new();
    struct mtasts_tlsrpt_failure f;
    mtasts_tlsrpt_report *r;
    char ip[32];
    int i;

    (void)state;
    assert_int_equal(mtasts_tlsrpt_agg_set(a, MTASTS_AGG_MAX_DETAILS, 3), 0);
    assert_int_equal(mtasts_tlsrpt_agg_set(a, 99, 3), MTASTS_EINVAL);
    assert_int_equal(mtasts_tlsrpt_agg_set(a, MTASTS_OPT_FETCH_BACKOFF, 3),
                     MTASTS_EINVAL);
    assert_int_equal(mtasts_tlsrpt_agg_set(a, MTASTS_LIMIT_POLICY_MX, 3),
                     MTASTS_EINVAL);
    assert_int_equal(mtasts_tlsrpt_agg_set(a, MTASTS_AGG_MAX_DETAILS, -1),
                     MTASTS_EINVAL);
    for (i = 0; i < 10; i++) {
        snprintf(ip, sizeof(ip), "192.0.2.%d", i % 5);
        f = fail_of(MTASTS_RESULT_STARTTLS_NOT_SUPPORTED, ip);
        assert_int_equal(
            mtasts_tlsrpt_agg_add(a, p, DAY1, MTASTS_SESSION_FAILURE, &f, 1, 0),
            0);
    }
    r = report(a, "t.example", DAY1);
    assert_int_equal(
        mtasts_tlsrpt_report_number(r, MTASTS_RN_FAILURE_COUNT, 0, 0), 10);
    assert_int_equal(mtasts_tlsrpt_report_count(r, MTASTS_RC_DETAILS, 0), 3);
    assert_string_equal(
        mtasts_tlsrpt_report_text(r, MTASTS_RF_SENDING_IP, 0, 2, NULL),
        "192.0.2.2");
    assert_int_equal(
        mtasts_tlsrpt_report_number(r, MTASTS_RN_FAILED_SESSIONS, 0, 2), 2);
    mtasts_tlsrpt_report_free(r);
    mtasts_tlsrpt_agg_free(a);
    mtasts_tlsrpt_policy_free(p);
}

/* MTASTS_AGG_MAX_BYTES and MTASTS_AGG_FAILURES_ONLY */
static void
test_bound_and_failures_only(void **state)
{
    mtasts_tlsrpt_agg *a = agg_new();
    mtasts_tlsrpt_policy *p;
    mtasts_tlsrpt_report *r = NULL;
    char dom[64];
    int i, rc = 0;
    size_t live;

    (void)state;
    assert_int_equal(mtasts_tlsrpt_agg_set(a, MTASTS_AGG_MAX_BYTES, 20000), 0);
    for (i = 0; i < 1000 && rc == 0; i++) {
        snprintf(dom, sizeof(dom), "d%d.example", i);
        p = none(dom);
        live = mtasts_tlsrpt_agg_count(a);
        rc = mtasts_tlsrpt_agg_add(a, p, DAY1, MTASTS_SESSION_SUCCESS, NULL, 0,
                                   0);
        if (rc != 0) /* nothing counted (a grown table may stay) */
            assert_int_equal(mtasts_tlsrpt_agg_count(a), live);
        mtasts_tlsrpt_policy_free(p);
    }
    assert_int_equal(rc, MTASTS_ETOOBIG);
    assert_true(i > 10);
    assert_true(harness_live_bytes() <= 20000 + 256); /* + the policy object */
    /* an existing key still counts */
    p = none("d0.example");
    assert_int_equal(
        mtasts_tlsrpt_agg_add(a, p, DAY1, MTASTS_SESSION_SUCCESS, NULL, 0, 0),
        0);
    assert_int_equal(mtasts_tlsrpt_agg_set(a, MTASTS_AGG_FAILURES_ONLY, 1), 0);
    assert_int_equal(mtasts_tlsrpt_report_build(a, "d0.example", 10, DAY1, "O",
                                                1, "a@b", 3, "i", 1, &r),
                     MTASTS_NONE);
    assert_int_equal(
        mtasts_tlsrpt_agg_add(a, p, DAY1, MTASTS_SESSION_FAILURE, NULL, 0, 0),
        0);
    assert_int_equal(mtasts_tlsrpt_report_build(a, "d0.example", 10, DAY1, "O",
                                                1, "a@b", 3, "i", 1, &r),
                     0);
    mtasts_tlsrpt_report_free(r);
    mtasts_tlsrpt_policy_free(p);
    mtasts_tlsrpt_agg_free(a);
}

/* RPT-JSON-18: a validation-failure (or certificate-not-trusted) entry
 * without failure-reason-code is written, with the warning no_reason_code
 * on the generated report; with a reason code there is no warning. */
static void
test_rpt_json_18_reason_code(void **state)
{
    mtasts_tlsrpt_policy *p = sts("company-y.example", body_a);
    mtasts_tlsrpt_agg *a = agg_new();
    struct mtasts_tlsrpt_failure f =
        fail_of(MTASTS_RESULT_VALIDATION_FAILURE, "198.51.100.62");
    mtasts_tlsrpt_report *r;
    const char *path;
    size_t plen;
    int w;

    (void)state;
    assert_int_equal(
        mtasts_tlsrpt_agg_add(a, p, DAY1 + 5, MTASTS_SESSION_FAILURE, &f, 1, 0),
        0);
    r = report(a, "company-y.example", DAY1);
    assert_true(mtasts_tlsrpt_report_warnings(r) ==
                MTASTS_WARN_BIT(MTASTS_W_NO_REASON_CODE));
    assert_int_equal(mtasts_tlsrpt_report_diag(r, 0, &w, &path, &plen), 0);
    assert_int_equal(w, MTASTS_W_NO_REASON_CODE);
    assert_string_equal(path, "policies[0].failure-details[0]."
                              "failure-reason-code");
    assert_true(json_has(r, "\"result-type\":\"validation-failure\""));
    mtasts_tlsrpt_report_free(r);
    mtasts_tlsrpt_agg_free(a);

    a = agg_new();
    f.reason_code = "X509_V_ERR_PROXY_PATH_LENGTH_EXCEEDED";
    f.reason_code_len = strlen(f.reason_code);
    assert_int_equal(
        mtasts_tlsrpt_agg_add(a, p, DAY1 + 5, MTASTS_SESSION_FAILURE, &f, 1, 0),
        0);
    r = report(a, "company-y.example", DAY1);
    assert_true(mtasts_tlsrpt_report_warnings(r) == 0);
    mtasts_tlsrpt_report_free(r);
    mtasts_tlsrpt_agg_free(a);
    mtasts_tlsrpt_policy_free(p);
}

/* mtasts_tlsrpt_agg_add_n(): n equal sessions in one call are exactly n
 * calls of mtasts_tlsrpt_agg_add(), truncated entries and no-op outcomes
 * included */
static void
test_add_n_is_n_adds(void **state)
{
    mtasts_tlsrpt_policy *p[3];
    mtasts_tlsrpt_agg *one = agg_new(), *many = agg_new();
    struct mtasts_tlsrpt_failure f[3];
    static const char *const ips[] = {"192.0.2.1", "192.0.2.2", "2001:db8::5",
                                      "192.0.2.3"};
    unsigned seed = 7;
    uint64_t n, k, total = 0;
    int i;

    (void)state;
    p[0] = sts("a.example", body_a);
    p[1] = none("b.example");
    p[2] = sts("a.example", body_b);
    /* two entries kept per policy: later kinds are truncated */
    assert_int_equal(mtasts_tlsrpt_agg_set(one, MTASTS_AGG_MAX_DETAILS, 2), 0);
    assert_int_equal(mtasts_tlsrpt_agg_set(many, MTASTS_AGG_MAX_DETAILS, 2), 0);
    for (i = 0; i < 200; i++) {
        unsigned r = seed = seed * 1103515245u + 12345u;
        int out = 1 + (int)((r >> 8) % 3); /* success, failure, transient */
        unsigned flags =
            (r >> 10) % 7 == 0 ? MTASTS_SESSION_F_TLSRPT_REPORT : 0;
        size_t nf = (r >> 12) % 4;
        int64_t when = DAY1 + (int64_t)((r >> 14) % 2) * 86400 + 17;
        const mtasts_tlsrpt_policy *key = p[(r >> 16) % 3];

        f[0] = fail_of(1 + (int)((r >> 18) % 5), ips[(r >> 21) % 4]);
        f[1] = fail_of(MTASTS_RESULT_CERTIFICATE_EXPIRED, ips[(r >> 23) % 4]);
        f[2] = fail_of(MTASTS_RESULT_VALIDATION_FAILURE, ips[(r >> 25) % 4]);
        n = 1 + (r >> 27) % 20;
        assert_int_equal(
            mtasts_tlsrpt_agg_add_n(one, key, when, out, f, nf, flags, n), 0);
        for (k = 0; k < n; k++)
            assert_int_equal(
                mtasts_tlsrpt_agg_add(many, key, when, out, f, nf, flags), 0);
        if (out != MTASTS_SESSION_TRANSIENT && flags == 0)
            total += n;
    }
    assert_true(total > 200);
    assert_true(same_export(one, many));
    mtasts_tlsrpt_agg_free(one);
    mtasts_tlsrpt_agg_free(many);
    for (i = 0; i < 3; i++)
        mtasts_tlsrpt_policy_free(p[i]);
}

/* mtasts_tlsrpt_agg_add_n(): 1..2^53-1 sessions; 10^8 sessions in 100
 * calls; a sum past 2^64 saturates instead of wrapping (RPT-AGG-14) */
static void
test_add_n_counts_and_limits(void **state)
{
    mtasts_tlsrpt_policy *p = sts("company-y.example", body_a);
    mtasts_tlsrpt_agg *a = agg_new();
    struct mtasts_tlsrpt_failure f =
        fail_of(MTASTS_RESULT_VALIDATION_FAILURE, "198.51.100.62");
    mtasts_tlsrpt_report *r;
    mtasts_buf *before;
    size_t l1, l2;
    int i;

    (void)state;
    f.reason_code = "X509_V_ERR_CERT_HAS_EXPIRED";
    f.reason_code_len = strlen(f.reason_code);
    assert_int_equal(MTASTS_TLSRPT_COUNT_MAX, (UINT64_C(1) << 53) - 1);
    for (i = 0; i < 100; i++) {
        assert_int_equal(mtasts_tlsrpt_agg_add_n(a, p, DAY1 + i,
                                                 MTASTS_SESSION_SUCCESS, NULL,
                                                 0, 0, 1000000),
                         0);
        assert_int_equal(mtasts_tlsrpt_agg_add_n(a, p, DAY1 + i,
                                                 MTASTS_SESSION_FAILURE, &f, 1,
                                                 0, 1000 + (uint64_t)i),
                         0);
    }
    r = report(a, "company-y.example", DAY1);
    assert_int_equal(
        mtasts_tlsrpt_report_number(r, MTASTS_RN_SUCCESS_COUNT, 0, 0),
        INT64_C(100000000));
    assert_int_equal(
        mtasts_tlsrpt_report_number(r, MTASTS_RN_FAILURE_COUNT, 0, 0),
        100 * 1000 + 99 * 100 / 2);
    assert_int_equal(
        mtasts_tlsrpt_report_number(r, MTASTS_RN_FAILED_SESSIONS, 0, 0),
        100 * 1000 + 99 * 100 / 2);
    assert_true(mtasts_tlsrpt_report_warnings(r) == 0);
    mtasts_tlsrpt_report_free(r);

    /* refused sessions counts change nothing */
    before = export(a);
    assert_int_equal(mtasts_tlsrpt_agg_add_n(a, p, DAY1, MTASTS_SESSION_SUCCESS,
                                             NULL, 0, 0, 0),
                     MTASTS_EINVAL);
    assert_int_equal(mtasts_tlsrpt_agg_add_n(a, p, DAY1, MTASTS_SESSION_SUCCESS,
                                             NULL, 0, 0,
                                             MTASTS_TLSRPT_COUNT_MAX + 1),
                     MTASTS_ETOOBIG);
    assert_int_equal(mtasts_tlsrpt_agg_add_n(a, p, DAY2, MTASTS_SESSION_FAILURE,
                                             &f, 1, 0, UINT64_MAX),
                     MTASTS_ETOOBIG);
    assert_int_equal(mtasts_tlsrpt_agg_add_n(
                         NULL, p, DAY1, MTASTS_SESSION_SUCCESS, NULL, 0, 0, 1),
                     MTASTS_EINVAL);
    assert_int_equal(mtasts_tlsrpt_agg_add_n(a, p, DAY1, 4, NULL, 0, 0, 1),
                     MTASTS_EINVAL);
    assert_int_equal(mtasts_tlsrpt_agg_add_n(a, p, DAY1, MTASTS_SESSION_FAILURE,
                                             NULL, 1, 0, 1),
                     MTASTS_EINVAL);
    {
        mtasts_buf *now = export(a);
        assert_non_null(mtasts_buf_data(before, &l1));
        assert_non_null(mtasts_buf_data(now, &l2));
        assert_int_equal(l1, l2);
        assert_memory_equal(mtasts_buf_data(before, NULL),
                            mtasts_buf_data(now, NULL), l1);
        mtasts_buf_free(now);
    }
    mtasts_buf_free(before);
    assert_int_equal(mtasts_tlsrpt_agg_count(a), 1);

    /* 2049 * (2^53-1) is past 2^64: wrapping would give 2^53-2049; the
     * counters saturate and the report says so */
    for (i = 0; i < 2049; i++) {
        assert_int_equal(mtasts_tlsrpt_agg_add_n(a, p, DAY2,
                                                 MTASTS_SESSION_FAILURE, &f, 1,
                                                 0, MTASTS_TLSRPT_COUNT_MAX),
                         0);
    }
    r = report(a, "company-y.example", DAY2);
    assert_int_equal(
        mtasts_tlsrpt_report_number(r, MTASTS_RN_FAILURE_COUNT, 0, 0),
        INT64_C(9007199254740991));
    assert_int_equal(
        mtasts_tlsrpt_report_number(r, MTASTS_RN_FAILED_SESSIONS, 0, 0),
        INT64_C(9007199254740991));
    assert_true(mtasts_tlsrpt_report_warnings(r) ==
                MTASTS_WARN_BIT(MTASTS_W_COUNTER_SATURATED));
    mtasts_tlsrpt_report_free(r);
    mtasts_tlsrpt_agg_free(a);
    mtasts_tlsrpt_policy_free(p);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rpt_agg_1_utc_day),
        cmocka_unit_test(test_rpt_json_18_reason_code),
        cmocka_unit_test(test_rpt_agg_2_one_report_per_domain),
        cmocka_unit_test(test_rpt_agg_2_remove_any_order),
        cmocka_unit_test(test_rpt_agg_3_policies_apart),
        cmocka_unit_test(test_rpt_agg_3_equal_across_contexts),
        cmocka_unit_test(test_rpt_agg_4_successes),
        cmocka_unit_test(test_rpt_agg_5_one_failure_many_types),
        cmocka_unit_test(test_rpt_agg_6_grouping),
        cmocka_unit_test(test_rpt_agg_7_testing_and_none),
        cmocka_unit_test(test_rpt_agg_8_discovery_failure_on_success),
        cmocka_unit_test(test_rpt_agg_9_transient_not_counted),
        cmocka_unit_test(test_rpt_agg_10_result_types),
        cmocka_unit_test(test_rpt_agg_11_sts_policy_string),
        cmocka_unit_test(test_rpt_agg_12_tlsa_policy_string),
        cmocka_unit_test(test_rpt_agg_13_no_policy_found),
        cmocka_unit_test(test_rpt_agg_14_saturation),
        cmocka_unit_test(test_rpt_agg_15_immutable),
        cmocka_unit_test(test_rpt_json_5_day_range),
        cmocka_unit_test(test_rpt_json_6_contact_7_id),
        cmocka_unit_test(test_rpt_json_7_report_id),
        cmocka_unit_test(test_rpt_deliv_14_generation_time),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_merge_and_export),
        cmocka_unit_test(test_export_bit_flips),
        cmocka_unit_test(test_failure_lengths),
        cmocka_unit_test(test_truncation),
        cmocka_unit_test(test_bound_and_failures_only),
        cmocka_unit_test(test_add_n_is_n_adds),
        cmocka_unit_test(test_add_n_counts_and_limits),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
