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
    harness_reset();
    the_ctx = harness_ctx_new();
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
    harness_ctx_free(the_ctx);
    the_ctx = NULL;
    harness_reset();
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
                                  MTASTS_DECIDE_F_TLSRPT_REPORT, &a, &r, &why),
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

#define V(a, b, c) MTASTS_POSTFIX_VERSION(a, b, c)
#define PF_MATCH   "OK secure match=mx1.example.com:.example.net"
#define PF_SNI     " servername=hostname"
#define PF_TLSRPT  " policy_type=sts policy_domain=example.com"
#define PF_MX      " mx_host_pattern=mx1.example.com mx_host_pattern=*.example.net"
#define PF_LINES                               \
    " { policy_string = version: STSv1 }"      \
    " { policy_string = mode: enforce }"       \
    " { policy_string = mx: mx1.example.com }" \
    " { policy_string = mx: *.example.net }"   \
    " { policy_string = max_age: 604800 }"

/*
 * An independent reader of the reply, written from Postfix's documents:
 * socketmap_table(5) ("OK data", "NOTFOUND ", "TEMP reason"); postconf(5)
 * smtp_tls_policy_maps and TLS_README "TLS policy table" (a security level,
 * then name=value attributes separated by whitespace or commas; "match"
 * values are colon-separated for verify/secure); TLSRPT_README "MTA-STS
 * Support via smtp_tls_policy_maps" ({ name = value } where a value holds
 * whitespace; policy_type is sts or no-policy-found; policy_domain,
 * policy_type, policy_failure and policy_ttl once; these attributes only
 * with policy_type; they exist from 3.10 on). The attribute names each
 * version knows come from its smtp_tls_policy.c: match, ciphers, protocols,
 * exclude, tafile always; servername and connection_reuse from 3.4;
 * enable_rpk from 3.9.
 */
struct pf_reply {
    char kind[16];
    int n_match, n_mxpat, n_strings, n_type, n_domain;
    char match[512];
    char domain[256];
    char strings[8][128];
};

static int
pf_known(const char *name, uint32_t v)
{
    static const char *const base[] = {"match", "ciphers", "protocols",
                                       "exclude", "tafile"};
    static const char *const v34[] = {"servername", "connection_reuse"};
    static const char *const v310[] = {"policy_type",    "policy_domain",
                                       "policy_string",  "mx_host_pattern",
                                       "policy_failure", "policy_ttl"};
    size_t i;

    for (i = 0; i < sizeof(base) / sizeof(base[0]); i++)
        if (strcmp(name, base[i]) == 0)
            return 1;
    for (i = 0; i < sizeof(v34) / sizeof(v34[0]); i++)
        if (strcmp(name, v34[i]) == 0)
            return v >= V(3, 4, 0);
    if (strcmp(name, "enable_rpk") == 0)
        return v >= V(3, 9, 0);
    for (i = 0; i < sizeof(v310) / sizeof(v310[0]); i++)
        if (strcmp(name, v310[i]) == 0)
            return v >= V(3, 10, 0);
    return 0;
}

/* Returns NULL when the reply obeys the grammar for version v, else why. */
static const char *
pf_read(const char *r, uint32_t v, struct pf_reply *out)
{
    char name[64], val[256];
    const char *p, *e, *q;
    size_t nn, vn;

    memset(out, 0, sizeof(*out));
    if (strcmp(r, "NOTFOUND ") == 0) {
        strcpy(out->kind, "NOTFOUND");
        return NULL;
    }
    if (strncmp(r, "TEMP ", 5) == 0) {
        strcpy(out->kind, "TEMP");
        return r[5] != '\0' ? NULL : "TEMP without a reason";
    }
    if (strncmp(r, "OK ", 3) != 0)
        return "reply is not OK/NOTFOUND/TEMP";
    strcpy(out->kind, "OK");
    p = r + 3;
    if (strncmp(p, "secure", 6) != 0 || (p[6] != ' ' && p[6] != '\0'))
        return "level is not secure";
    p += 6;
    for (;;) {
        while (*p == ' ' || *p == ',')
            p++;
        if (*p == '\0')
            break;
        if (*p == '{') {
            /* { name = value }: whitespace stripped after '{', around '='
             * and before '}'; the value may hold spaces, no braces. */
            e = strchr(p, '}');
            if (e == NULL)
                return "unclosed {";
            for (q = p + 1; q < e; q++)
                if (*q == '{')
                    return "nested {";
            p++;
            while (*p == ' ')
                p++;
            q = strchr(p, '=');
            if (q == NULL || q > e)
                return "{ } without =";
            nn = (size_t)(q - p);
            while (nn > 0 && p[nn - 1] == ' ')
                nn--;
            memcpy(name, p, nn);
            name[nn] = '\0';
            q++;
            while (*q == ' ')
                q++;
            vn = (size_t)(e - q);
            while (vn > 0 && q[vn - 1] == ' ')
                vn--;
            if (vn >= sizeof(val))
                return "value too long for the test";
            memcpy(val, q, vn);
            val[vn] = '\0';
            p = e + 1;
            if (*p != '\0' && *p != ' ' && *p != ',')
                return "junk after }";
        } else {
            e = p + strcspn(p, " ,");
            q = memchr(p, '=', (size_t)(e - p));
            if (q == NULL || q == p)
                return "token is not name=value";
            if (memchr(p, '{', (size_t)(e - p)) ||
                memchr(p, '}', (size_t)(e - p)))
                return "brace inside name=value";
            nn = (size_t)(q - p);
            vn = (size_t)(e - q - 1);
            if (nn >= sizeof(name) || vn >= sizeof(val))
                return "token too long for the test";
            memcpy(name, p, nn);
            name[nn] = '\0';
            memcpy(val, q + 1, vn);
            val[vn] = '\0';
            p = e;
        }
        if (!pf_known(name, v))
            return "attribute unknown to this Postfix version";
        if (val[0] == '\0')
            return "empty value";
        if (strcmp(name, "match") == 0) {
            out->n_match++;
            if (strstr(val, "::") || val[0] == ':' ||
                val[strlen(val) - 1] == ':')
                return "empty match pattern";
            strcpy(out->match, val);
        } else if (strcmp(name, "mx_host_pattern") == 0) {
            out->n_mxpat++;
        } else if (strcmp(name, "policy_string") == 0) {
            if (out->n_strings < 8)
                strcpy(out->strings[out->n_strings], val);
            out->n_strings++;
        } else if (strcmp(name, "policy_type") == 0) {
            out->n_type++;
            if (strcmp(val, "sts") != 0 && strcmp(val, "no-policy-found") != 0)
                return "bad policy_type";
        } else if (strcmp(name, "policy_domain") == 0) {
            out->n_domain++;
            strcpy(out->domain, val);
        } else if (strcmp(name, "servername") == 0) {
            if (strcmp(val, "hostname") != 0)
                return "servername is not hostname";
        }
    }
    if (out->n_type > 1 || out->n_domain > 1)
        return "single-instance attribute repeated";
    if (out->n_type == 0 && (out->n_domain || out->n_mxpat || out->n_strings))
        return "TLSRPT attribute without policy_type";
    if (out->n_match == 0)
        return "secure without match (3.10.5 needs one to enforce)";
    return NULL;
}

static void
check_answer(const mtasts_policy *pol, const char *domain, uint32_t v,
             unsigned flags, const char *want)
{
    char buf[1024];
    size_t n = 0, n2 = 0;
    struct pf_reply r;
    const char *why;

    assert_int_equal(mtasts_postfix_answer_format(pol, domain, strlen(domain),
                                                  v, flags, buf, sizeof(buf),
                                                  &n),
                     MTASTS_OK);
    assert_string_equal(buf, want);
    assert_int_equal(n, strlen(want));
    why = pf_read(buf, v, &r);
    if (why != NULL)
        fail_msg("%s: %s", why, buf);
    /* size query */
    assert_int_equal(mtasts_postfix_answer_format(pol, domain, strlen(domain),
                                                  v, flags, NULL, 0, &n2),
                     MTASTS_ERANGE);
    assert_int_equal(n2, n);
    /* exact fit needs room for the NUL */
    assert_int_equal(mtasts_postfix_answer_format(pol, domain, strlen(domain),
                                                  v, flags, buf, n, &n2),
                     MTASTS_ERANGE);
    assert_int_equal(n2, n);
    assert_int_equal(buf[n - 1], '\0');
    assert_memory_equal(buf, want, n - 1);
    assert_int_equal(mtasts_postfix_answer_format(pol, domain, strlen(domain),
                                                  v, flags, buf, n + 1, NULL),
                     MTASTS_OK);
    assert_string_equal(buf, want);
}

/* Every band and its boundary versions. */
static void
postfix_answers_by_version(void **state)
{
    struct pols *p = *state;
    static const uint32_t legacy_no_sni[] = {V(2, 10, 0), V(3, 3, 255)};
    static const uint32_t legacy[] = {V(3, 4, 0), V(3, 7, 11), V(3, 8, 6),
                                      V(3, 9, 0), V(3, 9, 255)};
    static const uint32_t tlsrpt[] = {V(3, 10, 0), V(3, 10, 4), V(3, 10, 5),
                                      V(3, 11, 0), V(255, 255, 255)};
    size_t i;

    for (i = 0; i < sizeof(legacy_no_sni) / sizeof(legacy_no_sni[0]); i++)
        check_answer(p->enforce, "example.com", legacy_no_sni[i], 0, PF_MATCH);
    for (i = 0; i < sizeof(legacy) / sizeof(legacy[0]); i++) {
        check_answer(p->enforce, "example.com", legacy[i], 0, PF_MATCH PF_SNI);
        check_answer(p->enforce, "EXAMPLE.com.", legacy[i], 0, PF_MATCH PF_SNI);
    }
    /* 3.10.0-3.10.4 take mx_host_pattern as TLSRPT data only and enforce
     * the match list; 3.10.5+ replace the list with the MX host name and
     * enforce the patterns. One answer serves both (TLSRPT_README,
     * postconf(5) smtp_tls_enforce_sts_mx_patterns). */
    for (i = 0; i < sizeof(tlsrpt) / sizeof(tlsrpt[0]); i++)
        check_answer(p->enforce, "EXAMPLE.com.", tlsrpt[i], 0,
                     PF_MATCH PF_SNI PF_TLSRPT PF_MX PF_LINES);
    for (i = 0; i < sizeof(tlsrpt) / sizeof(tlsrpt[0]); i++) {
        check_answer(p->testing, "example.com", tlsrpt[i], 0, "NOTFOUND ");
        check_answer(p->none, "example.com", tlsrpt[i], 0, "NOTFOUND ");
        check_answer(NULL, "example.com", tlsrpt[i], 0, "NOTFOUND ");
        check_answer(p->testing, "example.com", legacy[i], 0, "NOTFOUND ");
        check_answer(NULL, "example.com", legacy[i], 0, "NOTFOUND ");
    }
}

static void
postfix_grammar_and_fields(void **state)
{
    struct pols *p = *state;
    char buf[1024];
    struct pf_reply r;

    assert_int_equal(mtasts_postfix_answer_format(p->enforce, S("example.com"),
                                                  V(3, 10, 5), 0, buf,
                                                  sizeof(buf), NULL),
                     MTASTS_OK);
    assert_null(pf_read(buf, V(3, 10, 5), &r));
    assert_string_equal(r.kind, "OK");
    assert_int_equal(r.n_type, 1);
    assert_int_equal(r.n_mxpat, 2);
    assert_int_equal(r.n_strings, 5);
    assert_string_equal(r.domain, "example.com");
    assert_string_equal(r.match, "mx1.example.com:.example.net");
    assert_string_equal(r.strings[3], "mx: *.example.net");
    /* The 3.10 answer is refused by the reader for 3.9 (it is what a real
     * 3.7 logged as "invalid attribute name"): the reader can fail. */
    assert_non_null(pf_read(buf, V(3, 9, 9), &r));
    assert_non_null(pf_read("OK secure match=a::b", V(3, 7, 0), &r));
    assert_non_null(pf_read("OK secure match=a { policy_string = x { y }",
                            V(3, 10, 0), &r));
    assert_non_null(
        pf_read("OK secure match=a mx_host_pattern=a", V(3, 10, 0), &r));
}

/* Wildcards: "*.x" becomes Postfix's ".x"; a bare "*" or "*x" is not a
 * wildcard (the parser refuses them anyway). Exact names pass through. */
static void
postfix_wildcard_conversion(void **state)
{
    static const char body[] = "version: STSv1\nmode: enforce\n"
                               "mx: *.a.example\nmx: b.example\n"
                               "mx: *.c.b.example\nmax_age: 86400\n";
    mtasts_policy *pol = parse(the_ctx, body);

    (void)state;
    check_answer(pol, "example.com", V(3, 7, 11), 0,
                 "OK secure match=.a.example:b.example:.c.b.example" PF_SNI);
    check_answer(pol, "example.com", V(3, 10, 5), 0,
                 "OK secure match=.a.example:b.example:.c.b.example" PF_SNI
                 " policy_type=sts policy_domain=example.com"
                 " mx_host_pattern=*.a.example mx_host_pattern=b.example"
                 " mx_host_pattern=*.c.b.example"
                 " { policy_string = version: STSv1 }"
                 " { policy_string = mode: enforce }"
                 " { policy_string = mx: *.a.example }"
                 " { policy_string = mx: b.example }"
                 " { policy_string = mx: *.c.b.example }"
                 " { policy_string = max_age: 86400 }");
    mtasts_policy_free(pol);
}

static void
postfix_temp_and_parent_keys(void **state)
{
    struct pols *p = *state;

    check_answer(p->enforce, "Example.COM", V(3, 7, 11), MTASTS_POSTFIX_F_TEMP,
                 "TEMP MTA-STS policy for example.com temporarily "
                 "unavailable");
    check_answer(NULL, "example.com", V(3, 10, 5), MTASTS_POSTFIX_F_TEMP,
                 "TEMP MTA-STS policy for example.com temporarily "
                 "unavailable");
    /* Postfix's parent-domain lookups: no policy applies. */
    check_answer(p->enforce, ".example.com", V(3, 7, 11), 0, "NOTFOUND ");
    check_answer(p->enforce, ".example.com", V(3, 10, 5), 0, "NOTFOUND ");
    check_answer(NULL, ".example.com", V(3, 7, 11), MTASTS_POSTFIX_F_TEMP,
                 "NOTFOUND ");
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
    check_answer(pol, "example.com", V(3, 10, 0), 0,
                 "OK secure match=mx1.example.com" PF_SNI PF_TLSRPT
                 " mx_host_pattern=mx1.example.com"
                 " { policy_string = version: STSv1 }"
                 " { policy_string = mode: enforce }"
                 " { policy_string = mx: mx1.example.com }"
                 " { policy_string = max_age: 86400 }");
    check_answer(pol, "example.com", V(3, 9, 0), 0,
                 "OK secure match=mx1.example.com" PF_SNI);
    mtasts_policy_free(pol);
}

static void
postfix_invalid_arguments(void **state)
{
    struct pols *p = *state;
    char buf[256];
    size_t n;

    assert_int_equal(mtasts_postfix_answer_format(p->enforce, S("example.com"),
                                                  V(3, 7, 11), 0, NULL, 5, &n),
                     MTASTS_EINVAL);
    /* 0x1 was MTASTS_POSTFIX_TLSRPT: refused, the version decides now */
    assert_int_equal(mtasts_postfix_answer_format(p->enforce, S("example.com"),
                                                  V(3, 10, 5), 0x1u, buf,
                                                  sizeof(buf), &n),
                     MTASTS_EINVAL);
    assert_int_equal(mtasts_postfix_answer_format(NULL, S("example.com"),
                                                  V(3, 7, 11), 0x4u, buf,
                                                  sizeof(buf), &n),
                     MTASTS_EINVAL);
    /* versions: before socketmap (2.10), and not a packed version */
    assert_int_equal(mtasts_postfix_answer_format(p->enforce, S("example.com"),
                                                  V(2, 9, 255), 0, buf,
                                                  sizeof(buf), &n),
                     MTASTS_EINVAL);
    assert_int_equal(mtasts_postfix_answer_format(p->enforce, S("example.com"),
                                                  0, 0, buf, sizeof(buf), &n),
                     MTASTS_EINVAL);
    assert_int_equal(mtasts_postfix_answer_format(p->enforce, S("example.com"),
                                                  0x1000000u, 0, buf,
                                                  sizeof(buf), &n),
                     MTASTS_EINVAL);
    /* an invalid policy domain: refused (the header lists EINVAL; the
     * library passes the name check's status through) */
    assert_int_equal(mtasts_postfix_answer_format(p->enforce, S("exa mple.com"),
                                                  V(3, 7, 11), 0, buf,
                                                  sizeof(buf), &n),
                     MTASTS_ESYNTAX);
    assert_true(mtasts_postfix_answer_format(p->enforce, S("a..b"), V(3, 7, 11),
                                             0, buf, sizeof(buf), &n) < 0);
    assert_true(mtasts_postfix_answer_format(p->enforce, S("[192.0.2.1]:25"),
                                             V(3, 7, 11), 0, buf, sizeof(buf),
                                             &n) < 0);
    assert_true(mtasts_postfix_answer_format(p->enforce, S("bad domain"),
                                             V(3, 7, 11), MTASTS_POSTFIX_F_TEMP,
                                             buf, sizeof(buf), &n) < 0);
    /* small buffer: truncated, NUL-terminated, needed reported */
    assert_int_equal(mtasts_postfix_answer_format(p->enforce, S("example.com"),
                                                  V(3, 7, 11), 0, buf, 10, &n),
                     MTASTS_ERANGE);
    assert_int_equal(n, strlen(PF_MATCH PF_SNI));
    assert_string_equal(buf, "OK secure");
    assert_int_equal(mtasts_postfix_answer_format(p->enforce, S("example.com"),
                                                  V(3, 10, 5), 0, buf, 1, &n),
                     MTASTS_ERANGE);
    assert_int_equal(n, strlen(PF_MATCH PF_SNI PF_TLSRPT PF_MX PF_LINES));
    assert_string_equal(buf, "");
}

static void
check_version(const char *s, int want_rc, uint32_t want, size_t want_off)
{
    uint32_t v = 0xdeadbeefu;
    size_t off = 9999;
    int rc = mtasts_postfix_version_parse(s, strlen(s), &v, &off);

    if (rc != want_rc)
        fail_msg("\"%s\": status %d, want %d", s, rc, want_rc);
    if (rc == MTASTS_OK) {
        assert_int_equal(v, want);
        assert_int_equal(off, 9999); /* untouched */
    } else {
        assert_int_equal(v, 0xdeadbeefu); /* untouched */
        if (off != want_off)
            fail_msg("\"%s\": offset %zu, want %zu", s, off, want_off);
    }
}

static void
postfix_version_parse(void **state)
{
    uint32_t v;

    (void)state;
    check_version("3.7.11", MTASTS_OK, V(3, 7, 11), 0);
    check_version("3.8.6", MTASTS_OK, V(3, 8, 6), 0);
    check_version("3.10.5", MTASTS_OK, V(3, 10, 5), 0);
    check_version("3.10.0", MTASTS_OK, V(3, 10, 0), 0);
    check_version("3.9.0", MTASTS_OK, V(3, 9, 0), 0);
    check_version("255.255.255", MTASTS_OK, V(255, 255, 255), 0);
    check_version("0.0.0", MTASTS_OK, 0, 0);
    /* snapshots: the release before MAJOR.MINOR.0 */
    check_version("3.11-20250601", MTASTS_OK, V(3, 10, 0), 0);
    check_version("3.10-20241010", MTASTS_OK, V(3, 9, 0), 0);
    check_version("4.0-20270101", MTASTS_OK, V(3, 255, 0), 0);
    assert_true(V(3, 10, 4) < V(3, 10, 5) && V(3, 9, 255) < V(3, 10, 0));
    /* bad */
    check_version("", MTASTS_ESYNTAX, 0, 0);
    check_version("3", MTASTS_ESYNTAX, 0, 1);
    check_version("3.", MTASTS_ESYNTAX, 0, 2);
    check_version("3.7", MTASTS_ESYNTAX, 0, 3);
    check_version("3.7.", MTASTS_ESYNTAX, 0, 4);
    check_version("3.7.11\n", MTASTS_ESYNTAX, 0, 6);
    check_version(" 3.7.11", MTASTS_ESYNTAX, 0, 0);
    check_version("3.7.11.1", MTASTS_ESYNTAX, 0, 6);
    check_version("3.07.1", MTASTS_ESYNTAX, 0, 2);
    check_version("3.256.1", MTASTS_ESYNTAX, 0, 2);
    check_version("3.7.1000", MTASTS_ESYNTAX, 0, 4);
    check_version("v3.7.11", MTASTS_ESYNTAX, 0, 0);
    check_version("3.7.11-RC1", MTASTS_ESYNTAX, 0, 6);
    check_version("3.11-2025060", MTASTS_ESYNTAX, 0, 12);
    check_version("3.11-202506011", MTASTS_ESYNTAX, 0, 13);
    check_version("3.11-2025x601", MTASTS_ESYNTAX, 0, 9);
    check_version("0.0-20250101", MTASTS_ESYNTAX, 0, 0);
    check_version("3.7-11", MTASTS_ESYNTAX, 0, 6);
    /* length, not NUL, ends the text */
    assert_int_equal(mtasts_postfix_version_parse("3.7.11", 4, &v, NULL),
                     MTASTS_ESYNTAX);
    assert_int_equal(mtasts_postfix_version_parse("3.7.1X", 5, &v, NULL),
                     MTASTS_OK);
    assert_int_equal(v, V(3, 7, 1));
    assert_int_equal(mtasts_postfix_version_parse(NULL, 1, &v, NULL),
                     MTASTS_EINVAL);
    assert_int_equal(mtasts_postfix_version_parse("3.7.1", 5, NULL, NULL),
                     MTASTS_EINVAL);
    assert_int_equal(mtasts_postfix_version_parse(NULL, 0, &v, NULL),
                     MTASTS_ESYNTAX);
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
        T(postfix_answers_by_version),
        T(postfix_grammar_and_fields),
        T(postfix_wildcard_conversion),
        T(postfix_temp_and_parent_keys),
        T(postfix_policy_strings),
        T(postfix_invalid_arguments),
        T(postfix_version_parse),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
