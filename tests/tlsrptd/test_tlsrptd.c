/*
 * mtasts-tlsrptd's datagram reader (tlsrptd/dgram.c) and its seam into
 * the aggregate (tlsrptd/collect.c): the datagrams libtlsrpt writes (its
 * exact byte format: a space after the colon of string members only) of
 * every policy type and failure code; malformed, truncated, oversized and
 * mutated ones (an error with its offset, never a crash, the datagram
 * never changed); what the collector makes of them, read back through
 * reports the library builds. "--oom" runs the allocation-failure sweeps.
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
#include "td.h"

#define DAY1 INT64_C(1459468800) /* 2016-04-01T00:00:00Z */
#define NOON (DAY1 + 43200)

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
    return harness_leaks() != 0 || harness_errors() != 0;
}

/* Datagrams as libtlsrpt 0.5 writes them. */
static const char dg_sts[] =
    "{\"dpv\": \"1\",\"d\": \"example.com\",\"pr\": \"v=TLSRPTv1; "
    "rua=mailto:tlsrpt@example.com\",\"policies\":[{\"policy-type\":2,"
    "\"policy-domain\": \"example.com\",\"policy-string\":[\"version: "
    "STSv1\",\"mode: enforce\",\"mx: *.mail.example.com\",\"max_age: "
    "86400\"],\"mx-host\":[\"*.mail.example.com\"],\"failure-details\":[{"
    "\"c\":202,\"s\": \"192.0.2.1\",\"n\": \"mx1.mail.example.com\",\"h\": "
    "\"mx1.mail.example.com\",\"r\": \"192.0.2.25\"}],\"t\":1,\"f\":1}]}";
static const char dg_tlsa[] =
    "{\"dpv\": \"1\",\"d\": \"example.net\",\"pr\": \"v=TLSRPTv1; "
    "rua=https://r.example.net/\",\"policies\":[{\"policy-type\":1,"
    "\"policy-domain\": \"mx.example.net\",\"policy-string\":[\"3 1 1 "
    "0123abcd\",\"2 0 1 FF\"],\"t\":0,\"f\":0}]}";
static const char dg_none[] =
    "{\"dpv\": \"1\",\"d\": \"example.org\",\"pr\": \"v=TLSRPTv1; "
    "rua=mailto:r@example.org\",\"policies\":[{\"policy-type\":9,"
    "\"failure-details\":[{\"c\":201,\"s\": \"2001:db8::1\",\"n\": "
    "\"mx.example.org\",\"r\": \"2001:DB8:0:0::25\"}],\"t\":1,\"f\":1}]}";

static const char *const valid[] = {dg_sts, dg_tlsa, dg_none};

static struct td_parser *
parser(void)
{
    struct td_parser *p = NULL;

    assert_int_equal(td_parser_new(harness_alloc(), &p), MTASTS_OK);
    return p;
}

/* Parse s (a guarded copy: a read past its end crashes). */
static int
parse(struct td_parser *p, const char *s, size_t n, const struct td_result **r,
      struct td_err *err)
{
    char *g = harness_guard(s, n);
    int rc = td_parse(p, g, n, r, err);

    /* the texts of *r pointed into g: only its numbers are read after */
    harness_unguard(g, n);
    return rc;
}

static int
text_is(const struct td_text *t, const char *s)
{
    return t->p != NULL && t->n == strlen(s) && memcmp(t->p, s, t->n) == 0;
}

static void
test_parse_sts(void **state)
{
    struct td_parser *p = parser();
    const struct td_result *r;
    const struct td_policy *pol;
    const struct td_failure *f;
    struct td_err err;

    (void)state;
    assert_int_equal(td_parse(p, dg_sts, strlen(dg_sts), &r, &err), 0);
    assert_true(text_is(&r->domain, "example.com"));
    assert_true(
        text_is(&r->record, "v=TLSRPTv1; rua=mailto:tlsrpt@example.com"));
    assert_int_equal(r->npolicies, 1);
    pol = &r->policies[0];
    assert_int_equal(pol->type, TD_POLICY_STS);
    assert_true(text_is(&pol->domain, "example.com"));
    assert_int_equal(pol->nstrings, 4);
    assert_true(text_is(&pol->strings[0], "version: STSv1"));
    assert_true(text_is(&pol->strings[3], "max_age: 86400"));
    assert_int_equal(pol->nmx, 1);
    assert_true(text_is(&pol->mx[0], "*.mail.example.com"));
    assert_int_equal(pol->nfailures, 1);
    assert_int_equal(pol->t, 1);
    assert_int_equal(pol->failed, 1);
    f = &pol->failures[0];
    assert_int_equal(f->code, 202);
    assert_true(text_is(&f->sending_ip, "192.0.2.1"));
    assert_true(text_is(&f->mx_host, "mx1.mail.example.com"));
    assert_true(text_is(&f->helo, "mx1.mail.example.com"));
    assert_true(text_is(&f->receiving_ip, "192.0.2.25"));
    assert_null(f->additional.p);
    assert_null(f->reason.p);
    /* offsets point at the values */
    assert_int_equal(dg_sts[r->domain.off], '"');
    assert_memory_equal(dg_sts + r->domain.off, "\"example.com\"", 13);
    td_parser_free(p);
}

static void
test_parse_tlsa_none(void **state)
{
    struct td_parser *p = parser();
    const struct td_result *r;
    struct td_err err;

    (void)state;
    assert_int_equal(td_parse(p, dg_tlsa, strlen(dg_tlsa), &r, &err), 0);
    assert_int_equal(r->policies[0].type, TD_POLICY_TLSA);
    assert_true(text_is(&r->policies[0].domain, "mx.example.net"));
    assert_int_equal(r->policies[0].nstrings, 2);
    assert_true(text_is(&r->policies[0].strings[1], "2 0 1 FF"));
    assert_int_equal(r->policies[0].nmx, 0);
    assert_null(r->policies[0].mx);
    assert_int_equal(r->policies[0].nfailures, 0);
    assert_int_equal(r->policies[0].failed, 0);
    assert_int_equal(td_parse(p, dg_none, strlen(dg_none), &r, &err), 0);
    assert_int_equal(r->policies[0].type, TD_POLICY_NONE);
    assert_null(r->policies[0].domain.p); /* Postfix sends none (#51) */
    assert_int_equal(r->policies[0].nstrings, 0);
    assert_int_equal(r->policies[0].failures[0].code, 201);
    td_parser_free(p);
}

/* Every failure code libtlsrpt defines, and others (kept as given). */
static void
test_parse_codes(void **state)
{
    static const int64_t codes[] = {201, 202, 203, 204,       205,      301,
                                    302, 303, 304, 305,       306,      901,
                                    0,   -7,  999, INT64_MAX, INT64_MIN};
    struct td_parser *p = parser();
    const struct td_result *r;
    struct td_err err;
    char buf[256];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        snprintf(buf, sizeof(buf),
                 "{\"dpv\": \"1\",\"d\": \"a.example\",\"policies\":[{"
                 "\"policy-type\":2,\"failure-details\":[{\"c\":%lld}],"
                 "\"t\":1,\"f\":1}]}",
                 (long long)codes[i]);
        assert_int_equal(parse(p, buf, strlen(buf), &r, &err), 0);
        assert_int_equal(r->policies[0].failures[0].code, codes[i]);
    }
    /* a code beyond 64 bits is refused, not wrapped */
    snprintf(buf, sizeof(buf),
             "{\"dpv\":\"1\",\"d\":\"a\",\"policies\":[{\"policy-type\":2,"
             "\"failure-details\":[{\"c\":9223372036854775808}],\"f\":1}]}");
    assert_int_equal(parse(p, buf, strlen(buf), &r, &err), MTASTS_ETOOBIG);
    assert_int_equal(err.off, (size_t)(strstr(buf, "922") - buf));
    td_parser_free(p);
}

static void
test_parse_escapes(void **state)
{
    /* each escape, a surrogate pair, \u0000, a raw Latin-1 byte (what
     * libtlsrpt passes through) */
    static const char in[] =
        "{\"dpv\":\"1\",\"d\":\"a.example\",\"policies\":[{"
        "\"policy-type\":9,\"failure-details\":[{\"c\":205,\"h\":"
        "\"q\\\"b\\\\s\\/\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00\\u0000"
        "z\xe9\"}],\"f\":1}]}";
    static const char want[] = "q\"b\\s/\b\f\n\r\t\xc3\xa9\xf0\x9f\x98\x80"
                               "\0z\xe9";
    struct td_parser *p = parser();
    const struct td_result *r;
    struct td_err err;
    char *copy = harness_exact(in, sizeof(in) - 1);
    const struct td_text *h;

    (void)state;
    assert_int_equal(td_parse(p, copy, sizeof(in) - 1, &r, &err), 0);
    h = &r->policies[0].failures[0].helo;
    assert_int_equal(h->n, sizeof(want) - 1);
    assert_memory_equal(h->p, want, sizeof(want) - 1);
    /* the datagram itself is as it came (it may be dumped) */
    assert_memory_equal(copy, in, sizeof(in) - 1);
    free(copy);
    td_parser_free(p);
}

/* Whitespace anywhere, members in any order, unknown members of any kind
 * skipped, optional members left out, several policies. */
static void
test_parse_layout(void **state)
{
    static const char in[] =
        " \r\n\t{ \"x\" : {\"y\": [1, 2.5e-3, -0, true, false, null, "
        "{\"z\": [[]]}, \"s\\u0041\"]},\n"
        "  \"policies\" : [ { \"f\" : 0 , \"policy-type\" : 1 , "
        "\"new\": {}, \"policy-string\" : [ \"3 1 1 AA\" ] } ,\n"
        "  {\"policy-type\":9,\"f\":1,\"failure-details\":[{\"c\":306,"
        "\"more\":[{\"deep\":[1]}],\"f\":\"r\"},{\"c\":305}],\"t\":2} ] ,"
        "\t\"d\" : \"b.example\" , \"dpv\" : \"1\" } \n";
    struct td_parser *p = parser();
    const struct td_result *r;
    struct td_err err;

    (void)state;
    assert_int_equal(td_parse(p, in, sizeof(in) - 1, &r, &err), 0);
    assert_null(r->record.p);
    assert_int_equal(r->npolicies, 2);
    assert_int_equal(r->policies[0].type, TD_POLICY_TLSA);
    assert_int_equal(r->policies[0].t, -1);
    assert_true(text_is(&r->policies[0].strings[0], "3 1 1 AA"));
    assert_int_equal(r->policies[1].nfailures, 2);
    assert_int_equal(r->policies[1].failures[0].code, 306);
    assert_true(text_is(&r->policies[1].failures[0].reason, "r"));
    assert_int_equal(r->policies[1].failures[1].code, 305);
    assert_int_equal(r->policies[1].t, 2);
    td_parser_free(p);
}

struct bad {
    const char *in;
    int status;
    const char *at;   /* the offset is where this text starts in in ("":
                       * its end, "$": its last byte) */
    const char *want; /* a part of the expectation text */
};

static void
test_parse_errors(void **state)
{
    static const struct bad cases[] = {
        {"", MTASTS_ESYNTAX, "", "'{'"},
        {"[]", MTASTS_ESYNTAX, "[]", "'{'"},
        {"{\"dpv\": \"2\",\"d\":\"a\",\"policies\":[{\"policy-type\":9,"
         "\"f\":0}]}",
         MTASTS_ESYNTAX, "\"2\"", "dpv"},
        {"{\"dpv\": 1}", MTASTS_ESYNTAX, "1}", "\"1\" as dpv"},
        {"{\"dpv\":\"1\",\"policies\":[{\"policy-type\":9,\"f\":0}]}",
         MTASTS_ESYNTAX, "$", "a d member"},
        {"{\"dpv\":\"1\",\"d\":\"a\"}", MTASTS_ESYNTAX, "$", "policies"},
        {"{\"d\":\"a\",\"policies\":[{\"policy-type\":9,\"f\":0}]}",
         MTASTS_ESYNTAX, "$", "dpv"},
        {"{\"dpv\":\"1\",\"d\":\"a\",\"policies\":[]}", MTASTS_ESYNTAX, "[]",
         "at least one"},
        {"{\"dpv\":\"1\",\"d\":\"a\",\"policies\":[{\"policy-type\":3,"
         "\"f\":0}]}",
         MTASTS_ESYNTAX, "\"policy-type\":3", "1 (tlsa), 2 (sts) or 9"},
        {"{\"dpv\":\"1\",\"d\":\"a\",\"policies\":[{\"policy-type\":9,"
         "\"f\":2}]}",
         MTASTS_ESYNTAX, "\"f\":2", "0 (success) or 1"},
        {"{\"dpv\":\"1\",\"d\":\"a\",\"policies\":[{\"policy-type\":9}]}",
         MTASTS_ESYNTAX, "{\"policy-type\":9}", "member f"},
        {"{\"dpv\":\"1\",\"d\":\"a\",\"policies\":[{\"f\":1}]}", MTASTS_ESYNTAX,
         "{\"f\":1}", "policy-type"},
        {"{\"dpv\":\"1\",\"d\":\"a\",\"d\":\"b\"}", MTASTS_ESYNTAX,
         "\"d\":\"b\"", "once"},
        {"{\"dpv\":\"1\",\"d\":\"a\nb\"}", MTASTS_ESYNTAX, "\nb",
         "control character"},
        {"{\"dpv\":\"1\",\"d\":\"a\\xb\"}", MTASTS_ESYNTAX, "\\xb",
         "an escape"},
        {"{\"dpv\":\"1\",\"d\":\"\\udc00\"}", MTASTS_ESYNTAX, "\\udc00",
         "low surrogate"},
        {"{\"dpv\":\"1\",\"d\":\"\\ud800x\"}", MTASTS_ESYNTAX, "x\"}",
         "a low surrogate"},
        {"{\"dpv\":\"1\",\"d\":\"\\u12G4\"}", MTASTS_ESYNTAX, "\\u12G4", "hex"},
        {"{\"dpv\":\"1\",\"d\":\"a\",\"policies\":[{\"policy-type\":09}]}",
         MTASTS_ESYNTAX, "09", "leading zero"},
        {"{\"dpv\":\"1\",\"d\":\"a\",\"policies\":[{\"policy-type\":2.0}]}",
         MTASTS_ESYNTAX, "2.0", "no fraction"},
        {"{\"dpv\":\"1\",\"d\":\"a\",\"policies\":[{\"policy-type\":9,"
         "\"f\":0}]} x",
         MTASTS_ESYNTAX, "x", "the end of the datagram"},
        {"{\"dpv\":\"1\",\"d\":\"a\",\"policies\":[{\"policy-type\":9,"
         "\"failure-details\":[{\"s\":\"1.2.3.4\"}],\"f\":1}]}",
         MTASTS_ESYNTAX, "{\"s\"", "member c"},
        {"{\"dpv\":\"1\",\"d\":\"a\",\"policies\":[{\"policy-type\":9,"
         "\"failure-details\":[{\"c\":\"202\"}],\"f\":1}]}",
         MTASTS_ESYNTAX, "\"202\"", "integer failure code"},
        {"{\"dpv\":\"1\",\"d\":\"a\",\"policies\":[{\"policy-type\":9,"
         "\"failure-details\":[{\"c\":202,\"s\":4}],\"f\":1}]}",
         MTASTS_ESYNTAX, "4}", "strings"},
        {"{\"dpv\":\"1\",\"d\":\"a\",\"policies\":[{\"policy-type\":2,"
         "\"policy-string\":\"x\",\"f\":1}]}",
         MTASTS_ESYNTAX, "\"x\",\"f\"", "an array of strings"},
        {"{\"dpv\":\"1\",\"d\":\"a\",\"policies\":[{\"policy-type\":9,"
         "\"t\":-1,\"f\":1}]}",
         MTASTS_ESYNTAX, "\"t\":-1", "0 or more"},
        {"{\"dpv\":\"1\" \"d\":\"a\"}", MTASTS_ESYNTAX, "\"d\"", "',' or '}'"},
        {"{\"dpv\":\"1\",\"d\":\"a\",\"x\":[1 2]}", MTASTS_ESYNTAX, "2]",
         "',' or ']'"},
        {"{\"dpv\":\"1\",\"d\":\"a\",\"x\":tru}", MTASTS_ESYNTAX, "tru",
         "a JSON value"},
        {"{\"dpv\":\"1\",\"d\":\"a\",\"x\":1.}", MTASTS_ESYNTAX, "}",
         "a digit after '.'"},
        {"{\"dpv\":\"1\",\"d\":\"a\" : 1}", MTASTS_ESYNTAX, ": 1",
         "',' or '}'"},
        {"{\"dpv\":\"1\",\"d\":\"abc", MTASTS_ESYNTAX, "", "end the string"},
    };
    struct td_parser *p = parser();
    const struct td_result *r;
    struct td_err err;
    size_t i, n, off;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        n = strlen(cases[i].in);
        /* "" as at: the end of the input */
        if (cases[i].at[0] == '\0')
            off = n;
        else if (strcmp(cases[i].at, "$") == 0)
            off = n - 1;
        else
            off = (size_t)(strstr(cases[i].in, cases[i].at) - cases[i].in);
        err.off = 12345;
        if (parse(p, cases[i].in, n, &r, &err) != cases[i].status ||
            err.status != cases[i].status || err.off != off ||
            strstr(err.expected, cases[i].want) == NULL) {
            print_error("case %zu (%s): status %d off %zu expected \"%s\"\n", i,
                        cases[i].in, err.status, err.off,
                        err.expected != NULL ? err.expected : "(null)");
            fail();
        }
        assert_null(r);
    }
    td_parser_free(p);
}

/* Unknown members nested too deep, an oversized datagram. */
static void
test_parse_limits(void **state)
{
    struct td_parser *p = parser();
    const struct td_result *r;
    struct td_err err;
    char buf[200], *big;
    size_t n = 0, i;

    (void)state;
    n += (size_t)snprintf(buf, sizeof(buf), "{\"dpv\":\"1\",\"x\":");
    for (i = 0; i < 40; i++)
        buf[n++] = '[';
    assert_int_equal(parse(p, buf, n, &r, &err), MTASTS_ETOOBIG);
    /* the datagram's object is level 1: the 32nd level is refused */
    assert_int_equal(err.off, 15 + TD_DEPTH_MAX - 1);
    /* 31 levels below the datagram's object are fine */
    n = (size_t)snprintf(buf, sizeof(buf), "{\"dpv\":\"1\",\"x\":");
    for (i = 0; i < TD_DEPTH_MAX - 1; i++)
        buf[n++] = '[';
    for (i = 0; i < TD_DEPTH_MAX - 1; i++)
        buf[n++] = ']';
    n += (size_t)snprintf(buf + n, sizeof(buf) - n,
                          ",\"d\":\"a\",\"policies\":[{\"policy-type\":9,"
                          "\"f\":0}]}");
    assert_int_equal(parse(p, buf, n, &r, &err), MTASTS_OK);
    big = calloc(1, TD_DGRAM_MAX + 1);
    assert_non_null(big);
    assert_int_equal(td_parse(p, big, TD_DGRAM_MAX + 1, &r, &err),
                     MTASTS_ETOOBIG);
    assert_int_equal(err.off, TD_DGRAM_MAX);
    free(big);
    td_parser_free(p);
}

/* Every proper prefix of a valid datagram is an error within it. */
static void
test_parse_truncated(void **state)
{
    struct td_parser *p = parser();
    const struct td_result *r;
    struct td_err err;
    size_t i, n, k;

    (void)state;
    for (k = 0; k < sizeof(valid) / sizeof(valid[0]); k++) {
        n = strlen(valid[k]);
        assert_int_equal(parse(p, valid[k], n, &r, &err), MTASTS_OK);
        for (i = 0; i < n; i++) {
            assert_int_equal(parse(p, valid[k], i, &r, &err), MTASTS_ESYNTAX);
            assert_true(err.off <= i);
            assert_non_null(err.expected);
        }
    }
    td_parser_free(p);
}

static uint64_t
rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Mutated datagrams: never a crash or a read past the end; an error has
 * an offset within the input; a result's texts lie within it or are
 * decoded (never longer); the input is never changed. */
static void
test_parse_mutations(void **state)
{
    static const char alphabet[] = "{}[]\",:\\u0123456789-.eE tfn\x80\xff";
    struct td_parser *p = parser();
    const struct td_result *r;
    struct td_err err;
    char buf[2048], *g;
    uint64_t seed = 0x9E3779B97F4A7C15u;
    size_t n, i, j, k, len, ok = 0;

    (void)state;
    for (i = 0; i < 20000; i++) {
        const char *base = valid[rnd(&seed) % 3];
        len = strlen(base);
        memcpy(buf, base, len);
        for (k = 1 + rnd(&seed) % 4; k > 0; k--) {
            j = rnd(&seed) % len;
            switch (rnd(&seed) % 4) {
            case 0: /* change a byte */
                buf[j] = alphabet[rnd(&seed) % (sizeof(alphabet) - 1)];
                break;
            case 1: /* drop a byte */
                memmove(buf + j, buf + j + 1, len - j - 1);
                len--;
                break;
            case 2: /* insert one */
                if (len + 1 < sizeof(buf)) {
                    memmove(buf + j + 1, buf + j, len - j);
                    buf[j] = alphabet[rnd(&seed) % (sizeof(alphabet) - 1)];
                    len++;
                }
                break;
            default: /* cut */
                len = j;
                break;
            }
            if (len == 0)
                break;
        }
        g = harness_guard(buf, len);
        if (td_parse(p, g, len, &r, &err) == MTASTS_OK) {
            ok++;
            assert_true(r->npolicies >= 1);
            assert_true(r->domain.n <= len && r->domain.off < len);
            for (n = 0; n < r->npolicies; n++) {
                const struct td_policy *pol = &r->policies[n];
                assert_true(pol->nstrings + pol->nmx + pol->nfailures <= len);
                assert_true(pol->type == 1 || pol->type == 2 || pol->type == 9);
            }
        } else {
            assert_true(err.off <= len);
            assert_non_null(err.expected);
            assert_null(r);
        }
        assert_memory_equal(g, buf, len);
        harness_unguard(g, len);
    }
    /* some mutations (inside strings) leave it valid */
    assert_true(ok > 0);
    td_parser_free(p);
}

/* ------------------------------------------------------------------ */
/* The collector                                                       */
/* ------------------------------------------------------------------ */

struct col {
    struct td_parser *p;
    struct td_collector *c;
    struct td_delta d[TD_DAYS_MAX];
    size_t nd;
};

static void
col_new(struct col *k)
{
    memset(k, 0, sizeof(*k));
    k->p = parser();
    assert_int_equal(
        td_collector_new(ctx, harness_alloc(), INT64_C(1) << 30, &k->c), 0);
}

static int
collect(struct col *k, const char *dg, int64_t when, struct td_note *note)
{
    const struct td_result *r;
    struct td_err err;

    assert_int_equal(td_parse(k->p, dg, strlen(dg), &r, &err), MTASTS_OK);
    return td_collect(k->c, r, when, note);
}

static void
col_take(struct col *k)
{
    td_collector_take(k->c, k->d, &k->nd);
}

static void
col_free(struct col *k)
{
    size_t i;

    for (i = 0; i < k->nd; i++)
        mtasts_tlsrpt_agg_free(k->d[i].agg);
    td_collector_free(k->c);
    td_parser_free(k->p);
}

static mtasts_tlsrpt_report *
report(const mtasts_tlsrpt_agg *agg, const char *domain)
{
    mtasts_tlsrpt_report *rep = NULL;

    assert_int_equal(
        mtasts_tlsrpt_report_build(agg, domain, strlen(domain), DAY1, S("Org"),
                                   S("tlsrpt@example.net"), S("id.1"), &rep),
        0);
    return rep;
}

static const char *
rtext(const mtasts_tlsrpt_report *r, int f, size_t i, size_t j)
{
    size_t n;

    return mtasts_tlsrpt_report_text(r, f, i, j, &n);
}

/* The failure entry of policy i whose result type is rt. */
static size_t
entry(const mtasts_tlsrpt_report *r, size_t i, int rt)
{
    size_t j, n = mtasts_tlsrpt_report_count(r, MTASTS_RC_DETAILS, i);

    for (j = 0; j < n; j++)
        if (mtasts_tlsrpt_report_result_type(r, i, j) == rt)
            return j;
    fail_msg("no entry of result type %d", rt);
    return 0;
}

static void
test_collect_sts(void **state)
{
    struct col k;
    struct td_note note;
    mtasts_tlsrpt_report *r;
    size_t j;
    int i;

    (void)state;
    col_new(&k);
    for (i = 0; i < 3; i++)
        assert_int_equal(collect(&k, dg_sts, NOON + i, &note), 0);
    assert_int_equal(note.sessions, 1);
    col_take(&k);
    assert_int_equal(k.nd, 1);
    assert_int_equal(k.d[0].day, DAY1);
    assert_int_equal(k.d[0].sessions, 3);
    r = report(k.d[0].agg, "example.com");
    assert_int_equal(mtasts_tlsrpt_report_count(r, MTASTS_RC_POLICIES, 0), 1);
    assert_int_equal(mtasts_tlsrpt_report_policy_type(r, 0),
                     MTASTS_POLICY_TYPE_STS);
    assert_string_equal(rtext(r, MTASTS_RF_POLICY_STRING, 0, 1),
                        "mode: enforce");
    assert_string_equal(rtext(r, MTASTS_RF_MX_HOST, 0, 0),
                        "*.mail.example.com");
    assert_int_equal(
        mtasts_tlsrpt_report_number(r, MTASTS_RN_FAILURE_COUNT, 0, 0), 3);
    assert_int_equal(
        mtasts_tlsrpt_report_number(r, MTASTS_RN_SUCCESS_COUNT, 0, 0), 0);
    j = entry(r, 0, MTASTS_RESULT_CERTIFICATE_HOST_MISMATCH);
    assert_int_equal(
        mtasts_tlsrpt_report_number(r, MTASTS_RN_FAILED_SESSIONS, 0, j), 3);
    assert_string_equal(rtext(r, MTASTS_RF_RECEIVING_IP, 0, j), "192.0.2.25");
    mtasts_tlsrpt_report_free(r);
    col_free(&k);
}

/* tlsa: the records in upper-case hex under d (not the TLSA base
 * domain); no-policy-found: a policy-domain (d) although none was sent. */
static void
test_collect_tlsa_none(void **state)
{
    struct col k;
    struct td_note note;
    mtasts_tlsrpt_report *r;

    (void)state;
    col_new(&k);
    assert_int_equal(collect(&k, dg_tlsa, NOON, &note), 0);
    assert_int_equal(collect(&k, dg_none, NOON, &note), 0);
    col_take(&k);
    r = report(k.d[0].agg, "example.net");
    assert_int_equal(mtasts_tlsrpt_report_policy_type(r, 0),
                     MTASTS_POLICY_TYPE_TLSA);
    assert_string_equal(rtext(r, MTASTS_RF_POLICY_STRING, 0, 0),
                        "3 1 1 0123ABCD");
    assert_string_equal(rtext(r, MTASTS_RF_POLICY_STRING, 0, 1), "2 0 1 FF");
    assert_string_equal(rtext(r, MTASTS_RF_POLICY_DOMAIN, 0, 0), "example.net");
    assert_int_equal(
        mtasts_tlsrpt_report_number(r, MTASTS_RN_SUCCESS_COUNT, 0, 0), 1);
    mtasts_tlsrpt_report_free(r);
    r = report(k.d[0].agg, "example.org");
    assert_int_equal(mtasts_tlsrpt_report_policy_type(r, 0),
                     MTASTS_POLICY_TYPE_NO_POLICY_FOUND);
    assert_string_equal(rtext(r, MTASTS_RF_POLICY_DOMAIN, 0, 0), "example.org");
    assert_int_equal(mtasts_tlsrpt_report_result_type(r, 0, 0),
                     MTASTS_RESULT_STARTTLS_NOT_SUPPORTED);
    /* the IPv6 address in canonical form */
    assert_string_equal(rtext(r, MTASTS_RF_RECEIVING_IP, 0, 0), "2001:db8::25");
    mtasts_tlsrpt_report_free(r);
    col_free(&k);
}

static char *
dg_code(char *buf, size_t len, int64_t code, const char *reason)
{
    snprintf(buf, len,
             "{\"dpv\": \"1\",\"d\": \"c.example\",\"policies\":[{"
             "\"policy-type\":9,\"failure-details\":[{\"c\":%lld%s%s%s}],"
             "\"t\":1,\"f\":1}]}",
             (long long)code, reason ? ",\"f\": \"" : "", reason ? reason : "",
             reason ? "\"" : "");
    return buf;
}

/* Every code to its result type; unknown codes as validation-failure
 * with a reason code of their own, never dropped. */
static void
test_collect_codes(void **state)
{
    static const struct {
        int64_t code;
        int rt;
    } map[] = {
        {201, MTASTS_RESULT_STARTTLS_NOT_SUPPORTED},
        {202, MTASTS_RESULT_CERTIFICATE_HOST_MISMATCH},
        {203, MTASTS_RESULT_CERTIFICATE_NOT_TRUSTED},
        {204, MTASTS_RESULT_CERTIFICATE_EXPIRED},
        {205, MTASTS_RESULT_VALIDATION_FAILURE},
        {301, MTASTS_RESULT_STS_POLICY_FETCH_ERROR},
        {302, MTASTS_RESULT_STS_POLICY_INVALID},
        {303, MTASTS_RESULT_STS_WEBPKI_INVALID},
        {304, MTASTS_RESULT_TLSA_INVALID},
        {305, MTASTS_RESULT_DNSSEC_INVALID},
        {306, MTASTS_RESULT_DANE_REQUIRED},
    };
    static const char *const unknown[] = {
        "libtlsrpt-unknown-failure-code-999",
        "libtlsrpt-unknown-failure-code-901: x",
        "libtlsrpt-unknown-failure-code--3",
    };
    struct col k;
    struct td_note note;
    mtasts_tlsrpt_report *r;
    char buf[300];
    size_t i, j, n, found;
    const char *t;

    (void)state;
    col_new(&k);
    for (i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        assert_int_equal(td_result_of_code(map[i].code), map[i].rt);
        assert_int_equal(collect(&k,
                                 dg_code(buf, sizeof(buf), map[i].code, NULL),
                                 NOON, &note),
                         0);
        assert_int_equal(note.unknown_codes, 0);
    }
    assert_int_equal(td_result_of_code(999), MTASTS_RESULT_NONE);
    assert_int_equal(
        collect(&k, dg_code(buf, sizeof(buf), 999, NULL), NOON, &note), 0);
    assert_int_equal(note.unknown_codes, 1);
    assert_int_equal(note.code, 999);
    assert_int_equal(
        collect(&k, dg_code(buf, sizeof(buf), 901, "x"), NOON, &note), 0);
    assert_int_equal(
        collect(&k, dg_code(buf, sizeof(buf), -3, NULL), NOON, &note), 0);
    col_take(&k);
    r = report(k.d[0].agg, "c.example");
    n = mtasts_tlsrpt_report_count(r, MTASTS_RC_DETAILS, 0);
    assert_int_equal(n, 11 + 3); /* 205 and the unknown ones apart */
    assert_int_equal(
        mtasts_tlsrpt_report_number(r, MTASTS_RN_FAILURE_COUNT, 0, 0), 14);
    for (i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        j = entry(r, 0, map[i].rt);
        assert_int_equal(
            mtasts_tlsrpt_report_number(r, MTASTS_RN_FAILED_SESSIONS, 0, j), 1);
    }
    for (i = 0; i < 3; i++) {
        for (found = 0, j = 0; j < n; j++) {
            t = rtext(r, MTASTS_RF_REASON_CODE, 0, j);
            if (t != NULL && strcmp(t, unknown[i]) == 0) {
                found++;
                assert_int_equal(mtasts_tlsrpt_report_result_type(r, 0, j),
                                 MTASTS_RESULT_VALIDATION_FAILURE);
            }
        }
        assert_int_equal(found, 1);
    }
    mtasts_tlsrpt_report_free(r);
    col_free(&k);
}

/* An EHLO reply with bytes that are not UTF-8 (and a NUL) is kept with
 * those bytes as \xHH; valid UTF-8 as it is; empty texts as absent. */
static void
test_collect_texts(void **state)
{
    static const char latin1[] =
        "{\"dpv\":\"1\",\"d\":\"h.example\",\"policies\":[{\"policy-type\":9,"
        "\"failure-details\":[{\"c\":202,\"h\": \"mx.b\xe9ta.example\\r\\n"
        "250 \xff\\u0000.\"}],\"t\":1,\"f\":1}]}";
    static const char utf8[] =
        "{\"dpv\":\"1\",\"d\":\"h.example\",\"policies\":[{\"policy-type\":9,"
        "\"failure-details\":[{\"c\":203,\"h\": \"mx.b\xc3\xaata\",\"f\": "
        "\"\",\"s\": \"\"}],\"t\":1,\"f\":1}]}";
    struct col k;
    struct td_note note;
    mtasts_tlsrpt_report *r;
    size_t j;

    (void)state;
    col_new(&k);
    assert_int_equal(collect(&k, latin1, NOON, &note), 0);
    assert_int_equal(note.escaped, 1);
    assert_int_equal(collect(&k, utf8, NOON, &note), 0);
    assert_int_equal(note.escaped, 0);
    col_take(&k);
    r = report(k.d[0].agg, "h.example");
    j = entry(r, 0, MTASTS_RESULT_CERTIFICATE_HOST_MISMATCH);
    assert_string_equal(rtext(r, MTASTS_RF_RECEIVING_HELO, 0, j),
                        "mx.b\\xE9ta.example\r\n250 \\xFF\\x00.");
    j = entry(r, 0, MTASTS_RESULT_CERTIFICATE_NOT_TRUSTED);
    assert_string_equal(rtext(r, MTASTS_RF_RECEIVING_HELO, 0, j),
                        "mx.b\xc3\xaata");
    assert_null(rtext(r, MTASTS_RF_REASON_CODE, 0, j));
    assert_null(rtext(r, MTASTS_RF_SENDING_IP, 0, j));
    mtasts_tlsrpt_report_free(r);
    col_free(&k);
}

/* Members the report cannot hold are left out; the session counts. */
static void
test_collect_dropped(void **state)
{
    static const char dg[] =
        "{\"dpv\":\"1\",\"d\":\"x.example\",\"policies\":[{\"policy-type\":9,"
        "\"failure-details\":[{\"c\":204,\"s\": \"not-an-ip\",\"n\": \"bad "
        "host!\",\"h\": \"ok\",\"r\": \"192.0.2.9\",\"a\": \"not a uri\"}],"
        "\"t\":1,\"f\":1}]}";
    struct col k;
    struct td_note note;
    mtasts_tlsrpt_report *r;

    (void)state;
    col_new(&k);
    assert_int_equal(collect(&k, dg, NOON, &note), 0);
    assert_int_equal(note.sessions, 1);
    assert_int_equal(note.dropped, 3);
    assert_non_null(note.change);
    col_take(&k);
    r = report(k.d[0].agg, "x.example");
    assert_int_equal(mtasts_tlsrpt_report_result_type(r, 0, 0),
                     MTASTS_RESULT_CERTIFICATE_EXPIRED);
    assert_null(rtext(r, MTASTS_RF_SENDING_IP, 0, 0));
    assert_null(rtext(r, MTASTS_RF_RECEIVING_MX, 0, 0));
    assert_null(rtext(r, MTASTS_RF_ADDITIONAL, 0, 0));
    assert_string_equal(rtext(r, MTASTS_RF_RECEIVING_HELO, 0, 0), "ok");
    assert_string_equal(rtext(r, MTASTS_RF_RECEIVING_IP, 0, 0), "192.0.2.9");
    mtasts_tlsrpt_report_free(r);
    col_free(&k);
}

/* policy-strings that make no key count as no-policy-found, with their
 * details; an sts policy in mode none is no-policy-found (RPT-AGG-13). */
static void
test_collect_fallbacks(void **state)
{
    static const char *const dgs[] = {
        "{\"dpv\":\"1\",\"d\":\"f.example\",\"policies\":[{\"policy-type\":2,"
        "\"policy-string\":[\"not a policy\"],\"failure-details\":[{\"c\":"
        "302}],\"t\":1,\"f\":1}]}",
        "{\"dpv\":\"1\",\"d\":\"f.example\",\"policies\":[{\"policy-type\":2,"
        "\"failure-details\":[{\"c\":301}],\"t\":1,\"f\":1}]}",
        "{\"dpv\":\"1\",\"d\":\"f.example\",\"policies\":[{\"policy-type\":1,"
        "\"policy-string\":[\"3 1 1 XYZ\"],\"t\":0,\"f\":0}]}",
        "{\"dpv\":\"1\",\"d\":\"f.example\",\"policies\":[{\"policy-type\":1,"
        "\"failure-details\":[{\"c\":306}],\"t\":1,\"f\":1}]}",
        "{\"dpv\":\"1\",\"d\":\"f.example\",\"policies\":[{\"policy-type\":2,"
        "\"policy-string\":[\"version: STSv1\",\"mode: none\",\"max_age: "
        "86400\"],\"t\":0,\"f\":0}]}",
    };
    struct col k;
    struct td_note note;
    mtasts_tlsrpt_report *r;
    size_t i;

    (void)state;
    col_new(&k);
    for (i = 0; i < 5; i++) {
        assert_int_equal(collect(&k, dgs[i], NOON, &note), 0);
        assert_int_equal(note.fallbacks, i < 4 ? 1 : 0);
        assert_int_equal(note.sessions, 1);
    }
    /* the same policy again: from the cache, the same verdict */
    assert_int_equal(collect(&k, dgs[0], NOON, &note), 0);
    assert_int_equal(note.fallbacks, 1);
    col_take(&k);
    r = report(k.d[0].agg, "f.example");
    assert_int_equal(mtasts_tlsrpt_report_count(r, MTASTS_RC_POLICIES, 0), 1);
    assert_int_equal(mtasts_tlsrpt_report_policy_type(r, 0),
                     MTASTS_POLICY_TYPE_NO_POLICY_FOUND);
    assert_int_equal(
        mtasts_tlsrpt_report_number(r, MTASTS_RN_FAILURE_COUNT, 0, 0), 4);
    assert_int_equal(
        mtasts_tlsrpt_report_number(r, MTASTS_RN_SUCCESS_COUNT, 0, 0), 2);
    assert_int_equal(mtasts_tlsrpt_report_count(r, MTASTS_RC_DETAILS, 0), 3);
    mtasts_tlsrpt_report_free(r);
    col_free(&k);
}

static void
test_collect_domain_days(void **state)
{
    static const char upper[] =
        "{\"dpv\":\"1\",\"d\":\"EXAMPLE.Org.\",\"policies\":[{\"policy-type\""
        ":9,\"t\":0,\"f\":0}]}";
    static const char bad[] =
        "{\"dpv\":\"1\",\"d\":\"not a domain\",\"policies\":[{\"policy-type\""
        ":9,\"t\":0,\"f\":0}]}";
    static const char idn[] =
        "{\"dpv\":\"1\",\"d\":\"b\xc3\xbc\x63her.example\",\"policies\":[{"
        "\"policy-type\":9,\"f\":0}]}";
    static const char mismatch[] =
        "{\"dpv\":\"1\",\"d\":\"a.example\",\"policies\":[{\"policy-type\":9,"
        "\"t\":3,\"f\":0}]}";
    struct col k;
    struct td_note note;
    mtasts_tlsrpt_report *r;
    const char *dom;
    size_t dl;
    int64_t day;
    int i;

    (void)state;
    col_new(&k);
    assert_int_equal(collect(&k, upper, NOON, &note), 0);
    assert_int_equal(collect(&k, bad, NOON, &note), MTASTS_ESYNTAX);
    assert_non_null(strstr(note.what, "domain"));
    assert_int_equal(note.sessions, 0);
    assert_int_equal(collect(&k, idn, NOON, &note), MTASTS_ESYNTAX);
    assert_int_equal(collect(&k, mismatch, NOON, &note), 0);
    assert_int_equal(note.t_mismatch, 1);
    /* days by receive time; a fifth day waits for a take */
    for (i = 1; i < TD_DAYS_MAX; i++)
        assert_int_equal(collect(&k, upper, NOON + i * TD_DAY, &note), 0);
    assert_int_equal(collect(&k, upper, NOON + 9 * TD_DAY, &note),
                     MTASTS_ESTATE);
    col_take(&k);
    assert_int_equal(k.nd, TD_DAYS_MAX);
    assert_int_equal(k.d[0].sessions, 2);
    assert_int_equal(k.d[1].day, DAY1 + TD_DAY);
    assert_int_equal(mtasts_tlsrpt_agg_key(k.d[0].agg, 0, &dom, &dl, &day), 0);
    assert_string_equal(dom, "a.example");
    r = report(k.d[0].agg, "example.org");
    assert_string_equal(rtext(r, MTASTS_RF_POLICY_DOMAIN, 0, 0), "example.org");
    mtasts_tlsrpt_report_free(r);
    col_free(&k);
    col_new(&k);
    assert_int_equal(collect(&k, upper, NOON + 9 * TD_DAY, &note), 0);
    col_take(&k);
    assert_int_equal(k.nd, 1);
    col_free(&k);
}

/* The seam: a result made in memory counts as the same datagram does. */
static void
test_collect_seam(void **state)
{
    static const struct td_text strs[] = {
        {"version: STSv1", 14, 0},
        {"mode: enforce", 13, 0},
        {"mx: *.mail.example.com", 22, 0},
        {"max_age: 86400", 14, 0},
    };
    struct td_failure f;
    struct td_policy pol;
    struct td_result res;
    struct td_note note;
    struct col a, b;
    mtasts_tlsrpt_report *ra, *rb;
    mtasts_buf *ja, *jb;
    const uint8_t *pa, *pb;
    size_t na, nb;

    (void)state;
    memset(&f, 0, sizeof(f));
    f.code = 202;
    f.sending_ip.p = "192.0.2.1";
    f.sending_ip.n = 9;
    f.mx_host.p = "mx1.mail.example.com";
    f.mx_host.n = 20;
    f.helo = f.mx_host;
    f.receiving_ip.p = "192.0.2.25";
    f.receiving_ip.n = 10;
    memset(&pol, 0, sizeof(pol));
    pol.type = TD_POLICY_STS;
    pol.strings = strs;
    pol.nstrings = 4;
    pol.failures = &f;
    pol.nfailures = 1;
    pol.t = -1;
    pol.failed = 1;
    memset(&res, 0, sizeof(res));
    res.domain.p = "example.com";
    res.domain.n = 11;
    res.policies = &pol;
    res.npolicies = 1;
    col_new(&a);
    col_new(&b);
    assert_int_equal(td_collect(a.c, &res, NOON, &note), 0);
    assert_int_equal(collect(&b, dg_sts, NOON, &note), 0);
    col_take(&a);
    col_take(&b);
    ra = report(a.d[0].agg, "example.com");
    rb = report(b.d[0].agg, "example.com");
    assert_int_equal(mtasts_tlsrpt_report_format(ra, 0, &ja), 0);
    assert_int_equal(mtasts_tlsrpt_report_format(rb, 0, &jb), 0);
    pa = mtasts_buf_data(ja, &na);
    pb = mtasts_buf_data(jb, &nb);
    assert_int_equal(na, nb);
    assert_memory_equal(pa, pb, na);
    mtasts_buf_free(ja);
    mtasts_buf_free(jb);
    mtasts_tlsrpt_report_free(ra);
    mtasts_tlsrpt_report_free(rb);
    /* API misuse is refused, not followed */
    res.policies = NULL;
    assert_int_equal(td_collect(a.c, &res, NOON, &note), MTASTS_EINVAL);
    res.policies = &pol;
    assert_int_equal(td_collect(a.c, &res, -1, &note), MTASTS_EINVAL);
    pol.type = 3;
    assert_int_equal(td_collect(a.c, &res, NOON, &note), MTASTS_EINVAL);
    col_free(&a);
    col_free(&b);
}

/* The memory bound: a result that does not fit is refused, counted
 * nowhere, and said so. */
static void
test_collect_bound(void **state)
{
    struct td_collector *c;
    struct td_parser *p = parser();
    const struct td_result *r;
    struct td_delta d[TD_DAYS_MAX];
    struct td_err err;
    struct td_note note;
    char buf[300];
    size_t n, i;
    int rc = 0;

    (void)state;
    assert_int_equal(td_collector_new(ctx, harness_alloc(), 4096, &c), 0);
    for (i = 0; i < 100 && rc == 0; i++) {
        snprintf(buf, sizeof(buf),
                 "{\"dpv\":\"1\",\"d\":\"d%zu.example\",\"policies\":[{"
                 "\"policy-type\":9,\"f\":0}]}",
                 i);
        assert_int_equal(td_parse(p, buf, strlen(buf), &r, &err), 0);
        rc = td_collect(c, r, NOON, &note);
    }
    assert_int_equal(rc, MTASTS_ETOOBIG);
    assert_non_null(strstr(note.what, "max_memory"));
    assert_int_equal(note.sessions, 0);
    td_collector_take(c, d, &n);
    assert_int_equal(n, 1);
    assert_int_equal(d[0].sessions, i - 1);
    mtasts_tlsrpt_agg_free(d[0].agg);
    td_collector_free(c);
    td_parser_free(p);
}

static void
test_days(void **state)
{
    static const char *const good[] = {"1970-01-01", "2016-04-01", "2024-02-29",
                                       "2099-12-31"};
    static const char *const badd[] = {
        "2023-02-29", "2024-13-01", "2024-1-01", "2024-01-00",
        "1969-12-31", "2024/01/01", "20240101",  ""};
    char back[11];
    size_t i;

    (void)state;
    assert_int_equal(td_day_parse("2016-04-01"), DAY1);
    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        td_day_format(td_day_parse(good[i]), back);
        assert_string_equal(back, good[i]);
    }
    for (i = 0; i < sizeof(badd) / sizeof(badd[0]); i++)
        assert_int_equal(td_day_parse(badd[i]), -1);
}

/* The delivery schedule (RPT-DELIV-13 scaled by retry_interval) and the
 * days' send times (RPT-DELIV-14, spread_window). */
static void
test_schedule(void **state)
{
    struct td_config cfg;
    int64_t first = NOON, t, prev;
    unsigned k, n;
    uint64_t seed;
    int seen_low = 0, seen_high = 0;

    (void)state;
    td_config_init(&cfg);
    /* the default: the core's schedule exactly */
    for (k = 1; k < 12; k++)
        assert_int_equal(td_retry_time(&cfg, first, k),
                         mtasts_tlsrpt_retry_time(first, k));
    assert_int_equal(td_retry_time(&cfg, first, 1), first + 300);
    assert_int_equal(td_retry_time(&cfg, first, 2), first + 900);
    /* 9 attempts: the 9th failure gives up */
    assert_int_equal(td_retry_time(&cfg, first, 8), first + 300 * 255);
    assert_int_equal(td_retry_time(&cfg, first, 9), 0);
    /* retry_interval 1: the same shape, one second as the unit */
    assert_int_equal(td_config_set(&cfg, "retry_interval", "1", "t"), 0);
    for (k = 1, prev = first; k < 9; k++) {
        t = td_retry_time(&cfg, first, k);
        assert_int_equal(t, first + ((INT64_C(1) << k) - 1));
        assert_true(t > prev);
        prev = t;
    }
    assert_int_equal(td_retry_time(&cfg, first, 9), 0);
    /* send times: after the day, within 1..spread_window */
    assert_int_equal(td_config_set(&cfg, "spread-window", "600", "t"), 0);
    for (seed = 1, n = 0; n < 2000;
         seed = seed * 6364136223846793005u + 1, n++) {
        t = td_send_time(&cfg, seed, DAY1 + 5);
        assert_true(t >= DAY1 + TD_DAY + 1 && t <= DAY1 + TD_DAY + 600);
        assert_int_equal(t, td_send_time(&cfg, seed, DAY1 + 80000));
        seen_low |= t < DAY1 + TD_DAY + 60;
        seen_high |= t > DAY1 + TD_DAY + 540;
    }
    assert_true(seen_low && seen_high);
    assert_int_equal(td_config_set(&cfg, "spread_window", "0", "t"), 0);
    assert_int_equal(td_send_time(&cfg, 99, DAY1), DAY1 + TD_DAY + 1);
    td_config_free(&cfg);
}

/* The settings of report sending: values and refusals. */
static void
test_config_send(void **state)
{
    struct td_config cfg;

    (void)state;
    td_config_init(&cfg);
    assert_int_equal(cfg.spread_window, TD_SPREAD_DEFAULT);
    assert_int_equal(cfg.retention, TD_RETENTION_DEFAULT);
    assert_string_equal(cfg.sendmail, TD_SENDMAIL_DEFAULT);
    assert_int_equal(td_config_set(&cfg, "dns-server", "127.0.0.1:5353", "t"),
                     0);
    assert_int_equal(
        td_config_set(&cfg, "dns_server", "[::1]:53,192.0.2.1", "t"), 0);
    assert_string_equal(cfg.dns_servers, "127.0.0.1:5353,[::1]:53,192.0.2.1");
    assert_int_equal(
        td_config_set(&cfg, "connect-to", "a.test:443:127.0.0.1:8443", "t"), 0);
    assert_int_equal(td_config_set(&cfg, "connect-to", "::[::1]:", "t"), 0);
    assert_int_equal(cfg.nconnect_to, 2);
    assert_int_equal(td_config_set(&cfg, "keep_days", "7", "t"), 0);
    assert_int_equal(cfg.retention, 7);
    assert_int_equal(
        td_config_set(&cfg, "sender_address", "r@example.net", "t"), 0);
    assert_string_equal(cfg.from, "r@example.net");
    assert_int_equal(td_config_set(&cfg, "https-verify", "yes", "t"), 0);
    assert_int_equal(cfg.https_verify, 1);
    assert_int_equal(td_config_set(&cfg, "not-a-setting", "1", "t"), 1);
    /* refused, with a message on stderr */
    assert_int_equal(td_config_set(&cfg, "dns-server", "ns.example", "t"), -1);
    assert_int_equal(td_config_set(&cfg, "dns-server", "1.2.3.4:0", "t"), -1);
    assert_int_equal(td_config_set(&cfg, "connect-to", "a:b:c", "t"), -1);
    assert_int_equal(td_config_set(&cfg, "connect-to", "a: b:c:d", "t"), -1);
    assert_int_equal(td_config_set(&cfg, "spread-window", "86401", "t"), -1);
    assert_int_equal(td_config_set(&cfg, "retention", "0", "t"), -1);
    assert_int_equal(td_config_set(&cfg, "sendmail", "sendmail -t", "t"), -1);
    assert_int_equal(td_config_set(&cfg, "https-verify", "maybe", "t"), -1);
    assert_int_equal(td_config_set(&cfg, "host-id", "a b", "t"), -1);
    assert_int_equal(td_config_set(&cfg, "claim-ttl", "5", "t"), -1);
    assert_int_equal(cfg.nconnect_to, 2);
    assert_int_equal(cfg.retention, 7);
    td_config_free(&cfg);
}

/* ------------------------------------------------------------------ */
/* Allocation failures                                                 */
/* ------------------------------------------------------------------ */

static int
op_parse(void *arg)
{
    const char *dg = arg;
    struct td_parser *p = NULL;
    const struct td_result *r;
    struct td_err err;
    int rc;

    rc = td_parser_new(harness_alloc(), &p);
    if (rc != MTASTS_OK)
        return rc;
    rc = td_parse(p, dg, strlen(dg), &r, &err);
    if (rc == MTASTS_OK)
        assert_int_equal(r->npolicies, 2);
    td_parser_free(p);
    return rc;
}

static const char dg_two[] =
    "{\"dpv\":\"1\",\"d\":\"o.example\",\"policies\":[{\"policy-type\":2,"
    "\"policy-string\":[\"version: STSv1\",\"mode: testing\",\"mx: "
    "mx.o.example\",\"max_age: 600\"],\"mx-host\":[\"mx.o.example\"],"
    "\"failure-details\":[{\"c\":202,\"h\":\"x\\u00e9\xff\"},{\"c\":999,\"f\":"
    "\"r\"},{\"c\":204,\"s\":\"bad\"}],\"t\":3,\"f\":1},{\"policy-type\":1,"
    "\"policy-string\":[\"3 1 1 ab\"],\"t\":0,\"f\":0}]}";

static int
op_collect(void *arg)
{
    const struct td_result *r = arg;
    struct td_collector *c = NULL;
    struct td_delta d[TD_DAYS_MAX];
    struct td_note note;
    size_t n, i;
    int rc;

    rc = td_collector_new(ctx, harness_alloc(), INT64_C(1) << 30, &c);
    if (rc != MTASTS_OK)
        return rc;
    rc = td_collect(c, r, NOON, &note);
    if (rc == MTASTS_OK) {
        assert_int_equal(note.sessions, 2);
        assert_int_equal(note.dropped, 1);
    }
    td_collector_take(c, d, &n);
    for (i = 0; i < n; i++)
        mtasts_tlsrpt_agg_free(d[i].agg);
    td_collector_free(c);
    return rc;
}

static void
test_oom(void **state)
{
    struct td_parser *p;
    const struct td_result *r;
    struct td_err err;
    size_t steps;

    (void)state;
    /* the reader allocates itself and its arena, and grows its arrays */
    assert_true(harness_oom_sweep("parse", op_parse, (void *)(uintptr_t)dg_two,
                                  HARNESS_SWEEP_BOTH) >= 2 * 5);
    /* a result read with the plain allocator, swept while collected */
    assert_int_equal(td_parser_new(NULL, &p), 0);
    assert_int_equal(td_parse(p, dg_two, strlen(dg_two), &r, &err), 0);
    steps = harness_oom_sweep("collect", op_collect, (void *)(uintptr_t)r,
                              HARNESS_SWEEP_BOTH);
    print_message("collect: %zu failing steps swept\n", steps);
    /* the collector, its cache, the policy parse, two keys, the deltas,
     * the failures, the scratch, the trial aggregate and the adds */
    assert_true(steps >= 2 * 20);
    td_parser_free(p);
}

int
main(int argc, char **argv)
{
    const struct CMUnitTest unit[] = {
        cmocka_unit_test_setup_teardown(test_parse_sts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parse_tlsa_none, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parse_codes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parse_escapes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parse_layout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parse_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parse_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parse_truncated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parse_mutations, setup, teardown),
        cmocka_unit_test_setup_teardown(test_collect_sts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_collect_tlsa_none, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_collect_codes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_collect_texts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_collect_dropped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_collect_fallbacks, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_collect_domain_days, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_collect_seam, setup, teardown),
        cmocka_unit_test_setup_teardown(test_collect_bound, setup, teardown),
        cmocka_unit_test(test_days),
        cmocka_unit_test(test_schedule),
        cmocka_unit_test(test_config_send),
    };
    const struct CMUnitTest oom[] = {
        cmocka_unit_test_setup_teardown(test_oom, setup, teardown),
    };

    if (argc > 1 && strcmp(argv[1], "--oom") == 0)
        return cmocka_run_group_tests_name("tlsrptd-oom", oom, NULL, NULL);
    return cmocka_run_group_tests_name("tlsrptd", unit, NULL, NULL);
}
