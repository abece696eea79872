/* Names: hostname rules, normalisation, derived names (TXT name, Policy
 * Host, policy URL), MX pattern and certificate name matching. */
#include "harness.h"
#include "internal.h"

#include <stdlib.h>

typedef int (*name_fn)(const char *, size_t, char *, size_t, size_t *);

/* Call f on a guarded copy of in; on success compare the output. */
static void
check_name(name_fn f, const char *in, size_t in_len, int want_rc,
           const char *want)
{
    char *g = harness_guard(in, in_len);
    char out[512];
    size_t needed = 12345;
    int rc;

    memset(out, 'X', sizeof(out));
    rc = f(g, in_len, out, sizeof(out), &needed);
    harness_unguard(g, in_len);
    assert_int_equal(rc, want_rc);
    if (want_rc == MTASTS_OK) {
        assert_string_equal(out, want);
        assert_int_equal(needed, strlen(want));
    }
}

/* snprintf semantics of an output function, for an input that gives
 * want. */
static void
check_snprintf(name_fn f, const char *in, size_t in_len, const char *want)
{
    size_t wl = strlen(want), needed, i;
    char buf[512];

    /* Size query. */
    needed = 0;
    assert_int_equal(f(in, in_len, NULL, 0, &needed), MTASTS_ERANGE);
    assert_int_equal(needed, wl);
    /* NULL ret_needed is allowed. */
    assert_int_equal(f(in, in_len, NULL, 0, NULL), MTASTS_ERANGE);
    /* dst NULL with a size is misuse. */
    assert_int_equal(f(in, in_len, NULL, 5, &needed), MTASTS_EINVAL);
    /* Every too-small size: truncated, NUL-terminated, ERANGE. */
    for (i = 1; i <= wl; i++) {
        memset(buf, 'X', sizeof(buf));
        needed = 0;
        assert_int_equal(f(in, in_len, buf, i, &needed), MTASTS_ERANGE);
        assert_int_equal(needed, wl);
        assert_int_equal(buf[i - 1], '\0');
        assert_memory_equal(buf, want, i - 1);
        assert_int_equal(buf[i], 'X');
    }
    /* Exact fit. */
    memset(buf, 'X', sizeof(buf));
    assert_int_equal(f(in, in_len, buf, wl + 1, &needed), MTASTS_OK);
    assert_string_equal(buf, want);
    assert_int_equal(buf[wl + 1], 'X');
}

/* STS-TXT-1 */
static void
sts_txt_1_txt_name(void **state)
{
    (void)state;
    check_name(mtasts_sts_txt_name, S("Example.COM."), MTASTS_OK,
               "_mta-sts.example.com");
    check_name(mtasts_sts_txt_name, S("example.com"), MTASTS_OK,
               "_mta-sts.example.com");
    check_name(mtasts_sts_txt_name,
               S("b\xC3\xBC"
                 "cher.example"),
               MTASTS_ENONASCII, NULL);
    check_name(mtasts_sts_txt_name, S("xn--bcher-kva.example"), MTASTS_OK,
               "_mta-sts.xn--bcher-kva.example");
    check_name(mtasts_sts_txt_name, S("exa mple.com"), MTASTS_ESYNTAX, NULL);
    check_name(mtasts_sts_txt_name, S("example.com.."), MTASTS_ESYNTAX, NULL);
    check_name(mtasts_sts_txt_name, S(""), MTASTS_ESYNTAX, NULL);
    check_name(mtasts_sts_txt_name, S("."), MTASTS_ESYNTAX, NULL);
    assert_int_equal(mtasts_sts_txt_name(NULL, 3, NULL, 0, NULL),
                     MTASTS_EINVAL);
    check_snprintf(mtasts_sts_txt_name, S("Example.COM."),
                   "_mta-sts.example.com");
}

/* STS-FETCH-1 (policy URL), STS-FETCH-4 (Policy Host = SNI name) */
static void
sts_fetch_1_policy_url_and_host(void **state)
{
    (void)state;
    check_name(mtasts_domain_policy_url, S("Example.COM"), MTASTS_OK,
               "https://mta-sts.example.com/.well-known/mta-sts.txt");
    check_name(mtasts_domain_policy_url, S("example.com."), MTASTS_OK,
               "https://mta-sts.example.com/.well-known/mta-sts.txt");
    check_name(mtasts_domain_policy_host, S("Example.COM"), MTASTS_OK,
               "mta-sts.example.com");
    check_name(mtasts_domain_policy_host,
               S("b\xC3\xBC"
                 "cher.example"),
               MTASTS_ENONASCII, NULL);
    check_name(mtasts_domain_policy_url, S("[192.0.2.1]"), MTASTS_ESYNTAX,
               NULL);
    check_name(mtasts_domain_policy_url, S("a_b.example"), MTASTS_ESYNTAX,
               NULL);
    assert_int_equal(mtasts_domain_policy_url(NULL, 1, NULL, 0, NULL),
                     MTASTS_EINVAL);
    assert_int_equal(mtasts_domain_policy_host(NULL, 1, NULL, 0, NULL),
                     MTASTS_EINVAL);
    check_snprintf(mtasts_domain_policy_url, S("Example.COM"),
                   "https://mta-sts.example.com/.well-known/mta-sts.txt");
    check_snprintf(mtasts_domain_policy_host, S("Example.COM"),
                   "mta-sts.example.com");
}

/* STS-TXT-12 (partly: only the derivation from the original domain; CNAME
 * following belongs to the resolver and the future discovery API). */
static void
sts_txt_12_url_from_original_domain(void **state)
{
    (void)state;
    check_name(mtasts_domain_policy_url, S("user.example"), MTASTS_OK,
               "https://mta-sts.user.example/.well-known/mta-sts.txt");
    check_name(mtasts_sts_txt_name, S("user.example"), MTASTS_OK,
               "_mta-sts.user.example");
}

static void
domain_normalize(void **state)
{
    char name[300], out[300];
    size_t i, needed = 0;

    (void)state;
    check_name(mtasts_domain_normalize, S("Example.COM."), MTASTS_OK,
               "example.com");
    check_name(mtasts_domain_normalize, S("MX1.Example.Net"), MTASTS_OK,
               "mx1.example.net");
    check_name(mtasts_domain_normalize, S("a"), MTASTS_OK, "a");
    check_name(mtasts_domain_normalize, S("1.2.3"), MTASTS_OK, "1.2.3");
    /* Only one trailing dot is stripped. */
    check_name(mtasts_domain_normalize, S("example.com.."), MTASTS_ESYNTAX,
               NULL);
    check_name(mtasts_domain_normalize, S("*.example.com"), MTASTS_ESYNTAX,
               NULL);
    check_name(mtasts_domain_normalize, S("a..b"), MTASTS_ESYNTAX, NULL);
    check_name(mtasts_domain_normalize, S("-a.b"), MTASTS_ESYNTAX, NULL);
    check_name(mtasts_domain_normalize, S("a-.b"), MTASTS_ESYNTAX, NULL);
    check_name(mtasts_domain_normalize, S("\xC3\xA9.example"), MTASTS_ENONASCII,
               NULL);
    check_snprintf(mtasts_domain_normalize, S("Example.COM."), "example.com");

    /* 253 characters (plus one trailing dot) is the longest name. */
    for (i = 0; i < 254; i++)
        name[i] = 'A';
    name[63] = name[127] = name[191] = '.';
    name[253] = '.';
    assert_int_equal(
        mtasts_domain_normalize(name, 254, out, sizeof(out), &needed),
        MTASTS_OK);
    assert_int_equal(needed, 253);
    assert_int_equal(strlen(out), 253);
    assert_int_equal(out[0], 'a');
    assert_int_equal(out[252], 'a');
    name[253] = 'a';
    assert_int_equal(
        mtasts_domain_normalize(name, 254, out, sizeof(out), &needed),
        MTASTS_ETOOBIG);
}

static void
check_host(const char *name, size_t len, unsigned flags, int want_rc,
           int want_reason, size_t want_off)
{
    struct mtasts_diag d = MTASTS_DIAG_INIT;
    char *g = harness_guard(name, len);
    int rc;

    d.reason = -1;
    rc = mtasts_hostname_check(g, len, flags, &d);
    harness_unguard(g, len);
    if (rc != want_rc ||
        (rc != 0 && (d.reason != want_reason || d.offset != want_off)))
        print_error("hostname_check(\"%.*s\", %u): rc %d reason %d off %zu\n",
                    (int)len, name != NULL ? name : "", flags, rc, d.reason,
                    d.offset);
    assert_int_equal(rc, want_rc);
    assert_int_equal(d.code, want_rc);
    if (want_rc != MTASTS_OK) {
        assert_int_equal(d.reason, want_reason);
        assert_int_equal(d.offset, want_off);
    } else {
        assert_int_equal(d.reason, MTASTS_R_NONE);
    }
    /* Without a diagnostic the status is the same. */
    g = harness_guard(name, len);
    assert_int_equal(mtasts_hostname_check(g, len, flags, NULL), want_rc);
    harness_unguard(g, len);
}

static void
hostname_check_syntax(void **state)
{
    (void)state;
    check_host(S("mail.example.com"), 0, MTASTS_OK, 0, 0);
    check_host(S("MX1.Example.COM"), 0, MTASTS_OK, 0, 0);
    check_host(S("a"), 0, MTASTS_OK, 0, 0);
    check_host(S("xn--bcher-kva.example"), 0, MTASTS_OK, 0, 0);
    check_host(S("123.example"), 0, MTASTS_OK, 0, 0);
    check_host(S("a-b.c--d.example"), 0, MTASTS_OK, 0, 0);
    check_host(S(""), 0, MTASTS_ESYNTAX, MTASTS_R_EMPTY, 0);
    check_host(NULL, 0, 0, MTASTS_ESYNTAX, MTASTS_R_EMPTY, 0);
    check_host(S("."), 0, MTASTS_ESYNTAX, MTASTS_R_HOSTNAME, 0);
    check_host(S("a..b"), 0, MTASTS_ESYNTAX, MTASTS_R_HOSTNAME, 2);
    check_host(S(".a"), 0, MTASTS_ESYNTAX, MTASTS_R_HOSTNAME, 0);
    check_host(S("a."), 0, MTASTS_ESYNTAX, MTASTS_R_HOSTNAME, 1);
    check_host(S("-mx.example.com"), 0, MTASTS_ESYNTAX, MTASTS_R_HOSTNAME, 0);
    check_host(S("mx-.example.com"), 0, MTASTS_ESYNTAX, MTASTS_R_HOSTNAME, 2);
    check_host(S("mx.example-"), 0, MTASTS_ESYNTAX, MTASTS_R_HOSTNAME, 10);
    check_host(S("mx_1.example.com"), 0, MTASTS_ESYNTAX, MTASTS_R_HOSTNAME, 2);
    check_host(S("mx 1.example.com"), 0, MTASTS_ESYNTAX, MTASTS_R_HOSTNAME, 2);
    check_host(S("mx\0.example.com"), 0, MTASTS_ESYNTAX, MTASTS_R_HOSTNAME, 2);
    check_host(S("mx.ex\xC3\xA4mple"), 0, MTASTS_ENONASCII, MTASTS_R_NON_ASCII,
               5);
    assert_int_equal(mtasts_hostname_check(NULL, 1, 0, NULL), MTASTS_EINVAL);
    assert_int_equal(mtasts_hostname_check(S("a.b"), 0x4u, NULL),
                     MTASTS_EINVAL);
}

static void
hostname_check_flags(void **state)
{
    (void)state;
    check_host(S("*.example.com"), 0, MTASTS_ESYNTAX, MTASTS_R_HOSTNAME, 0);
    check_host(S("*.example.com"), MTASTS_HOST_F_WILDCARD, MTASTS_OK, 0, 0);
    check_host(S("*"), MTASTS_HOST_F_WILDCARD, MTASTS_ESYNTAX,
               MTASTS_R_HOSTNAME, 0);
    check_host(S("*."), MTASTS_HOST_F_WILDCARD, MTASTS_ESYNTAX,
               MTASTS_R_HOSTNAME, 2);
    check_host(S("*.*.example.com"), MTASTS_HOST_F_WILDCARD, MTASTS_ESYNTAX,
               MTASTS_R_HOSTNAME, 2);
    check_host(S("mail.*.example.com"), MTASTS_HOST_F_WILDCARD, MTASTS_ESYNTAX,
               MTASTS_R_HOSTNAME, 5);
    check_host(S("m*.example.com"), MTASTS_HOST_F_WILDCARD, MTASTS_ESYNTAX,
               MTASTS_R_HOSTNAME, 1);
    check_host(S("example.com."), 0, MTASTS_ESYNTAX, MTASTS_R_HOSTNAME, 11);
    check_host(S("example.com."), MTASTS_HOST_F_TRAILING_DOT, MTASTS_OK, 0, 0);
    check_host(S("example.com.."), MTASTS_HOST_F_TRAILING_DOT, MTASTS_ESYNTAX,
               MTASTS_R_HOSTNAME, 11);
    check_host(S("."), MTASTS_HOST_F_TRAILING_DOT, MTASTS_ESYNTAX,
               MTASTS_R_EMPTY, 0);
    check_host(S("*.example.com."),
               MTASTS_HOST_F_WILDCARD | MTASTS_HOST_F_TRAILING_DOT, MTASTS_OK,
               0, 0);
}

static void
hostname_check_lengths(void **state)
{
    char name[300];
    size_t i;

    (void)state;
    /* 63-octet label is fine, 64 is too long. */
    memset(name, 'a', sizeof(name));
    memcpy(name + 63, ".com", 4);
    check_host(name, 67, 0, MTASTS_OK, 0, 0);
    memset(name, 'a', sizeof(name));
    memcpy(name + 64, ".com", 4);
    check_host(name, 68, 0, MTASTS_ETOOBIG, MTASTS_R_LABEL_LEN, 63);
    /* 64-octet label in the middle. */
    memcpy(name, "x.", 2);
    memset(name + 2, 'b', 64);
    memcpy(name + 66, ".com", 4);
    check_host(name, 70, 0, MTASTS_ETOOBIG, MTASTS_R_LABEL_LEN, 65);

    /* 253 octets fine, 254 too long. */
    for (i = 0; i < sizeof(name); i++)
        name[i] = (i % 50 == 49) ? '.' : 'c';
    check_host(name, 253, 0, MTASTS_OK, 0, 0);
    check_host(name, 254, 0, MTASTS_ETOOBIG, MTASTS_R_NAME_LEN, 253);
    /* 253 + trailing dot with the flag is fine. */
    name[253] = '.';
    check_host(name, 254, MTASTS_HOST_F_TRAILING_DOT, MTASTS_OK, 0, 0);
    check_host(name, 254, 0, MTASTS_ESYNTAX, MTASTS_R_HOSTNAME, 253);
}

static int
mx(const char *p, const char *h)
{
    size_t pl = strlen(p), hl = strlen(h);
    char *gp = harness_guard(p, pl), *gh = harness_guard(h, hl);
    int r = mtasts_mx_match(gp, pl, gh, hl);

    harness_unguard(gp, pl);
    harness_unguard(gh, hl);
    return r;
}

/* STS-MX-1 */
static void
sts_mx_1_exact_case_insensitive(void **state)
{
    (void)state;
    assert_int_equal(mx("mail.example.com", "MAIL.Example.Com"), 1);
    assert_int_equal(mx("mail.example.com", "mail.example.com"), 1);
    assert_int_equal(mx("MAIL.EXAMPLE.COM", "mail.example.com"), 1);
    assert_int_equal(mx("mail.example.com", "mail.example.org"), 0);
    assert_int_equal(mx("mail.example.com", "mail.example.co"), 0);
    assert_int_equal(mx("mail.example.com", "xmail.example.com"), 0);
    assert_int_equal(mx("mail.example.com", "mail.example.com.x"), 0);
    assert_int_equal(mx("", ""), 0);
    assert_int_equal(mx("a", ""), 0);
    assert_int_equal(mx("", "a"), 0);
}

/* STS-MX-2 */
static void
sts_mx_2_wildcard_one_label(void **state)
{
    (void)state;
    assert_int_equal(mx("*.example.com", "mail.example.com"), 1);
    assert_int_equal(mx("*.example.com", "MAIL.EXAMPLE.COM"), 1);
    assert_int_equal(mx("*.Example.COM", "m.example.com"), 1);
    assert_int_equal(mx("*.example.com", "example.com"), 0);
    assert_int_equal(mx("*.example.com", "foo.bar.example.com"), 0);
    assert_int_equal(mx("*.example.com", ".example.com"), 0);
    assert_int_equal(mx("*.example.com", "mail.example.org"), 0);
    assert_int_equal(mx("*.example.com", "mailexample.com"), 0);
    assert_int_equal(mx("*.example.com", "-x.example.com"), 0);
    /* No public-suffix check (DECISION). */
    assert_int_equal(mx("*.com", "example.com"), 1);
}

/* STS-MX-3 */
static void
sts_mx_3_partial_and_inner_wildcards(void **state)
{
    (void)state;
    assert_int_equal(mx("m*.example.com", "mx.example.com"), 0);
    assert_int_equal(mx("m*.example.com", "m*.example.com"), 0);
    assert_int_equal(mx("a.*.example.com", "a.b.example.com"), 0);
    assert_int_equal(mx("a.*.example.com", "a.*.example.com"), 0);
    assert_int_equal(mx("*.*.example.com", "a.b.example.com"), 0);
    assert_int_equal(mx("*", "example"), 0);
    assert_int_equal(mx("*.", "a."), 0);
    assert_int_equal(mx("xn--*.example.com", "xn--abc.example.com"), 0);
    /* A host that is itself a wildcard never matches. */
    assert_int_equal(mx("*.example.com", "*.example.com"), 0);
}

/* STS-MX-4 */
static void
sts_mx_4_host_normalised(void **state)
{
    char host[80], pat[80];

    (void)state;
    assert_int_equal(mx("mail.example.com", "mail.example.com."), 1);
    assert_int_equal(mx("*.example.com", "Mail.Example.Com."), 1);
    assert_int_equal(mx("mail.example.com", "mail.example.com.."), 0);
    /* invalid hosts never match */
    assert_int_equal(mx("*.example.com", "a..example.com"), 0);
    assert_int_equal(mx("a..example.com", "a..example.com"), 0);
    assert_int_equal(mx("mail.example.com.", "mail.example.com."), 0);
    assert_int_equal(mx("m\xC3\xA4il.example.com", "m\xC3\xA4il.example.com"),
                     0);
    assert_int_equal(mx("*.example.com", "m\xC3\xA4il.example.com"), 0);
    assert_int_equal(mx("mx_1.example.com", "mx_1.example.com"), 0);
    assert_int_equal(mx("-a.example.com", "-a.example.com"), 0);
    assert_int_equal(mx("a-.example.com", "a-.example.com"), 0);
    /* 64-octet label never matches, 63 does. */
    memset(host, 'a', 64);
    memcpy(host + 64, ".example.com", 13);
    assert_int_equal(mx(host, host), 0);
    memcpy(pat, "*", 1);
    memcpy(pat + 1, ".example.com", 13);
    assert_int_equal(mx(pat, host), 0);
    memcpy(host + 63, ".example.com", 13);
    assert_int_equal(mx(host, host), 1);
    assert_int_equal(mx(pat, host), 1);
    /* NULL with a length never matches; NULL empty is fine. */
    assert_int_equal(mtasts_mx_match(NULL, 3, S("a.b")), 0);
    assert_int_equal(mtasts_mx_match(S("a.b"), NULL, 3), 0);
}

/* The matcher's fold table (MT_NAME_FOLD): a letter, digit or '-' folds to
 * its lower case; every other byte to a value that no byte lowers to, so
 * that it never equals a pattern byte. Checked against ranges written
 * here and against every value of MT_LOWER(). */
static void
name_fold_table(void **state)
{
    unsigned c, p;
    int ldh;

    (void)state;
    for (c = 0; c < 256; c++) {
        ldh = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '-';
        if (ldh) {
            assert_int_equal(MT_NAME_FOLD(c),
                             c >= 'A' && c <= 'Z' ? c + 32 : c);
            continue;
        }
        for (p = 0; p < 256; p++)
            if (MT_NAME_FOLD(c) == MT_LOWER(p))
                fail_msg("byte 0x%02x outside a name folds to 0x%02x, which "
                         "MT_LOWER(0x%02x) gives",
                         c, MT_NAME_FOLD(c), p);
    }
    /* the same pattern byte against a host byte outside a name */
    assert_int_equal(mtasts_mx_match("a\0b.c", 5, "a\0b.c", 5), 0);
    assert_int_equal(mtasts_mx_match("aAb.c", 5, "a_b.c", 5), 0);
    assert_int_equal(mtasts_mx_match("*.a\0b", 5, "x.a\0b", 5), 0);
    assert_int_equal(mtasts_mx_match("*.ab", 4, "\x80.ab", 4), 0);
}

/* STS-MX-6 (the library matches the name given, no CNAME chasing) */
static void
sts_mx_6_no_alias_resolution(void **state)
{
    (void)state;
    assert_int_equal(mx("mail.example.com", "alias.example.com"), 0);
}

/* STS-MX-5 */
static void
sts_mx_5_policy_mx_allowed(void **state)
{
    mtasts_ctx *ctx = *state;
    mtasts_policy *pol = NULL;
    static const char body[] = "version: STSv1\nmode: enforce\n"
                               "mx: a.example.com\nmx: *.example.net\n"
                               "max_age: 86400\n";

    assert_int_equal(
        mtasts_policy_parse(ctx, body, sizeof(body) - 1, 0, &pol, NULL),
        MTASTS_OK);
    assert_int_equal(mtasts_policy_mx_allowed(pol, S("b.example.net")), 1);
    assert_int_equal(mtasts_policy_mx_allowed(pol, S("A.Example.Com.")), 1);
    assert_int_equal(mtasts_policy_mx_allowed(pol, S("b.example.org")), 0);
    assert_int_equal(mtasts_policy_mx_allowed(pol, S("example.net")), 0);
    assert_int_equal(mtasts_policy_mx_allowed(pol, S("x.a.example.com")), 0);
    /* The wildcard covers exactly one valid label (STS-MX-2, STS-MX-4). */
    assert_int_equal(mtasts_policy_mx_allowed(pol, S("a.b.example.net")), 0);
    assert_int_equal(mtasts_policy_mx_allowed(pol, S(".example.net")), 0);
    assert_int_equal(mtasts_policy_mx_allowed(pol, S("-b.example.net")), 0);
    assert_int_equal(mtasts_policy_mx_allowed(pol, S("b-.example.net")), 0);
    assert_int_equal(mtasts_policy_mx_allowed(pol, S("b_c.example.net")), 0);
    assert_int_equal(mtasts_policy_mx_allowed(pol, S("*.example.net")), 0);
    assert_int_equal(mtasts_policy_mx_allowed(pol, S("b\xC3\xA4.example.net")),
                     0);
    assert_int_equal(
        mtasts_policy_mx_allowed(
            pol,
            S("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
              "aaa.example.net")),
        0);
    assert_int_equal(
        mtasts_policy_mx_allowed(
            pol,
            S("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
              "aa.example.net")),
        1);
    assert_int_equal(mtasts_policy_mx_allowed(pol, S("B.EXAMPLE.NET.")), 1);
    assert_int_equal(mtasts_policy_mx_allowed(pol, S("b.example.net..")), 0);
    assert_int_equal(mtasts_policy_mx_allowed(pol, S("")), 0);
    assert_int_equal(mtasts_policy_mx_allowed(NULL, S("b.example.net")), 0);
    assert_int_equal(mtasts_policy_mx_allowed(pol, NULL, 4), 0);
    mtasts_policy_free(pol);

    /* mode none without mx: nothing is allowed (mode is not considered). */
    assert_int_equal(mtasts_policy_parse(ctx,
                                         S("version: STSv1\nmode: none\n"
                                           "max_age: 1\n"),
                                         0, &pol, NULL),
                     MTASTS_OK);
    assert_int_equal(mtasts_policy_mx_allowed(pol, S("b.example.net")), 0);
    mtasts_policy_free(pol);
}

static int
cert(const char *san, const char *host)
{
    size_t sl = strlen(san), hl = strlen(host);
    char *gs = harness_guard(san, sl), *gh = harness_guard(host, hl);
    int r = mtasts_cert_name_match(gs, sl, gh, hl);

    harness_unguard(gs, sl);
    harness_unguard(gh, hl);
    return r;
}

/* STS-FETCH-3 */
static void
sts_fetch_3_cert_name_match(void **state)
{
    (void)state;
    assert_int_equal(cert("*.example.com", "mta-sts.example.com"), 1);
    assert_int_equal(cert("mta-sts.example.com", "MTA-STS.example.com"), 1);
    assert_int_equal(cert("mta-sts.example.com", "mta-sts.example.com."), 1);
    assert_int_equal(cert("mta-sts.*.com", "mta-sts.example.com"), 0);
    assert_int_equal(cert("m*.example.com", "mta-sts.example.com"), 0);
    assert_int_equal(cert("*.mta-sts.example.com", "mta-sts.example.com"), 0);
    assert_int_equal(cert("*", "mta-sts"), 0);
    assert_int_equal(cert("", "mta-sts.example.com"), 0);
}

/* STS-MX-7 */
static void
sts_mx_7_san_matches_mx_host(void **state)
{
    static const char *const one[] = {"example.com"};
    static const size_t one_len[] = {11};
    static const char *const wild[] = {"*.example.com"};
    static const size_t wild_len[] = {13};
    static const char *const many[] = {"example.com", "other.example",
                                       "MX.Example.Com"};
    static const size_t many_len[] = {11, 13, 14};

    (void)state;
    assert_int_equal(
        mtasts_cert_names_match(one, one_len, 1, S("mx.example.com")), 0);
    assert_int_equal(
        mtasts_cert_names_match(wild, wild_len, 1, S("mx.example.com")), 1);
    assert_int_equal(
        mtasts_cert_names_match(many, many_len, 3, S("mx.example.com")), 1);
    assert_int_equal(
        mtasts_cert_names_match(many, many_len, 2, S("mx.example.com")), 0);
    assert_int_equal(
        mtasts_cert_names_match(many, many_len, 0, S("mx.example.com")), 0);
    assert_int_equal(mtasts_cert_names_match(NULL, NULL, 0, S("mx.a")), 0);
    assert_int_equal(mtasts_cert_names_match(NULL, many_len, 2, S("mx.a")), 0);
    assert_int_equal(mtasts_cert_names_match(many, NULL, 2, S("mx.a")), 0);
}

/* STS-MX-8 */
static void
sts_mx_8_san_no_partial_or_multi_label(void **state)
{
    static const char *const partial[] = {"mx*.example.com"};
    static const size_t partial_len[] = {15};
    static const char *const wild[] = {"*.example.com"};
    static const size_t wild_len[] = {13};

    (void)state;
    assert_int_equal(
        mtasts_cert_names_match(partial, partial_len, 1, S("mx1.example.com")),
        0);
    assert_int_equal(
        mtasts_cert_names_match(wild, wild_len, 1, S("a.b.example.com")), 0);
    assert_int_equal(
        mtasts_cert_names_match(wild, wild_len, 1, S("example.com")), 0);
    assert_int_equal(cert("xn--*.example.com", "xn--bcher-kva.example.com"), 0);
    assert_int_equal(cert("*bcher.example.com", "bucher.example.com"), 0);
    assert_int_equal(cert("b*z.example.com", "baz.example.com"), 0);
}

/* Reference for the word-at-a-time name scanner: the rules written byte
 * by byte, as RFC 5321 / RFC 1035 state them. */
static int
ref_in_class(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '-' || c == '.';
}

static size_t
ref_span(const unsigned char *s, size_t n, int *bad)
{
    unsigned char prev = '.';
    size_t i;

    *bad = 0;
    for (i = 0; i < n && ref_in_class(s[i]); prev = s[i], i++)
        if ((s[i] == '.' && (prev == '.' || prev == '-')) ||
            (s[i] == '-' && prev == '.'))
            *bad = 1;
    return i;
}

static int
ref_name_valid(const unsigned char *s, size_t n)
{
    size_t i, label = 0;
    int bad;

    if (n == 0 || n > 253 || ref_span(s, n, &bad) != n || bad ||
        s[n - 1] == '.' || s[n - 1] == '-')
        return 0;
    for (i = 0; i < n; i++) {
        label = s[i] == '.' ? 0 : label + 1;
        if (label > 63)
            return 0;
    }
    return 1;
}

static int
ref_name_match(const unsigned char *pat, size_t plen, const unsigned char *h,
               size_t hlen)
{
    size_t i;

    if (plen > 2 && pat[0] == '*' && pat[1] == '.') {
        for (i = 0; i < hlen && h[i] != '.'; i++)
            ;
        if (i == 0 || i == hlen)
            return 0;
        return ref_name_valid(h, hlen) &&
               mt_ascii_caseeq((const char *)pat + 1, plen - 1,
                               (const char *)h + i, hlen - i);
    }
    return ref_name_valid(h, hlen) &&
           mt_ascii_caseeq((const char *)pat, plen, (const char *)h, hlen);
}

/* A name the same but for the case of its letters (and one changed byte
 * when flip is set). */
static void
recase(const unsigned char *s, size_t n, unsigned char *out, unsigned k,
       int flip)
{
    size_t i;

    for (i = 0; i < n; i++) {
        out[i] = s[i];
        if (((s[i] | 0x20) >= 'a' && (s[i] | 0x20) <= 'z') &&
            (k >> (i % 7)) & 1)
            out[i] = (unsigned char)(s[i] ^ 0x20);
    }
    if (flip && n > 0)
        out[(k * 7u) % n] ^= (unsigned char)(1u << (k % 8));
}

/*
 * Guard pages on a sample. A guard-page copy (harness_guard) faults on any
 * read past the end even without a sanitizer, but costs an mmap, an
 * mprotect and a munmap; the two sweeps below make about 10^5 calls, which
 * took 30-50 s of kernel time on 2 cores. So in the sweeps only a fixed,
 * deterministic sample goes through guard pages:
 *
 *  - the first input of each length in a sweep: its end then sits on a page
 *    boundary once for every length 0..300, which covers every tail length
 *    and start alignment of the block scanner (16-byte SSE2 and 8-byte
 *    SWAR blocks), the thing the guard proves;
 *  - and every GUARD_STRIDE-th input after that.
 *
 * The other inputs are exact-size malloc copies (harness_exact): ASan and
 * valgrind builds (CI) and the fuzzers (fuzz_mx_match, fuzz_sts_policy)
 * carry the exhaustive over-read checks on them. Outside the sweeps every
 * check uses guard pages.
 */
#define GUARD_STRIDE 61u

static int sample_guard;            /* the current input is guarded */
static unsigned char seen_len[512]; /* lengths guarded in this sweep */
static unsigned sample_count;

/* Start a sweep: forget the lengths seen. */
static void
sample_reset(void)
{
    memset(seen_len, 0, sizeof(seen_len));
    sample_count = 0;
}

/* Decide, for the next input of length n, whether it is guarded. */
static void
sample_next(size_t n)
{
    size_t k = n < sizeof(seen_len) ? n : sizeof(seen_len) - 1;

    sample_guard = !seen_len[k] || sample_count % GUARD_STRIDE == 0;
    seen_len[k] = 1;
    sample_count++;
}

static char *
scopy(const void *src, size_t len)
{
    return sample_guard ? harness_guard(src, len) : harness_exact(src, len);
}

static void
sfree(char *p, size_t len)
{
    if (sample_guard)
        harness_unguard(p, len);
    else
        free(p);
}

/* One input through mt_name_valid, the public check and the matchers (the
 * name as an exact pattern against a re-cased copy, and "*." + all but its
 * first label), each from a guarded copy (a read past the end faults) for the
 * sampled inputs, an exact-size copy otherwise, against the references. */
static void
check_scan(const unsigned char *s, size_t n, unsigned k)
{
    unsigned char other[320], pat[322];
    char *g, *go, *gp;
    int want = ref_name_valid(s, n), flip;
    size_t i, plen;

    sample_next(n);
    g = scopy(s, n);

    if (mt_name_valid(g, n) != want ||
        (mtasts_hostname_check(g, n, 0, NULL) == MTASTS_OK) != want)
        fail_msg("name check differs on %zu bytes \"%.*s\"", n, (int)n,
                 (const char *)s);
    /* as a wildcard pattern: the 253-octet limit counts the "*." */
    pat[0] = '*';
    pat[1] = '.';
    memcpy(pat + 2, s, n);
    gp = scopy(pat, n + 2);
    if ((mtasts_hostname_check(gp, n + 2, MTASTS_HOST_F_WILDCARD, NULL) ==
         MTASTS_OK) != (want && n + 2 <= 253))
        fail_msg("wildcard check differs on \"*.%.*s\"", (int)n,
                 (const char *)s);
    sfree(gp, n + 2);
    for (flip = 0; flip < 2; flip++) {
        recase(s, n, other, k, flip);
        go = scopy(other, n);
        if (mtasts_mx_match(go, n, g, n) != ref_name_match(other, n, s, n))
            fail_msg("exact match differs on \"%.*s\"", (int)n,
                     (const char *)s);
        for (i = 0; i < n && s[i] != '.'; i++)
            ;
        if (i < n) {
            pat[0] = '*';
            memcpy(pat + 1, other + i, n - i);
            plen = n - i + 1;
            gp = scopy(pat, plen);
            if (mtasts_mx_match(gp, plen, g, n) !=
                ref_name_match(pat, plen, s, n))
                fail_msg("wildcard match differs on \"%.*s\"", (int)n,
                         (const char *)s);
            sfree(gp, plen);
        }
        sfree(go, n);
    }
    sfree(g, n);
}

/* STS-MX-1, STS-MX-2 and the hostname rules under the block scanner: every
 * string of up to 6 bytes over an alphabet that exercises each rule, then
 * random strings of 7..300 bytes (every tail length and word position),
 * agree with the byte-by-byte reference. */
static void
name_scan_matches_reference(void **state)
{
    static const unsigned char alpha[] = {'a', 'Z', '9', '-', '.', '_', 0xc3};
    /* every class edge and its neighbours, NUL and high bytes */
    static const unsigned char edge[] = {
        'a', 'z', 'A', 'Z', '0', '9', '-',  '.',  '/',  ':',  '@',
        '[', '`', '{', ',', ' ', 0,   0x7f, 0x80, 0xc1, 0xe1, 0xff};
    unsigned char buf[320];
    size_t n, i, j, k, total;
    uint32_t r = 12345;

    (void)state;
    sample_reset();
    for (n = 0; n <= 6; n++) {
        for (total = 1, i = 0; i < n; i++)
            total *= sizeof(alpha);
        for (k = 0; k < total; k++) {
            for (i = 0, j = k; i < n; i++, j /= sizeof(alpha))
                buf[i] = alpha[j % sizeof(alpha)];
            check_scan(buf, n, (unsigned)k);
        }
    }
    /* valid names at the length limits (labels of 49 octets) */
    for (n = 60; n <= 256; n = n == 64 ? 249 : n + 1) {
        for (i = 0; i < n; i++)
            buf[i] = i % 50 == 49 ? '.' : (unsigned char)('a' + i % 26);
        check_scan(buf, n, (unsigned)n);
    }
    for (k = 0; k < 8000; k++) {
        r = r * 1103515245u + 12345u;
        n = 7 + (r >> 8) % 294;
        for (i = 0; i < n; i++) {
            r = r * 1103515245u + 12345u;
            /* mostly letters, so that long valid names occur */
            j = (r >> 16) % 64;
            buf[i] = j < 40   ? (unsigned char)('a' + j % 26)
                     : j < 44 ? (unsigned char)('0' + j % 10)
                              : edge[(r >> 10) % sizeof(edge)];
        }
        /* a dot every so often keeps labels near the 63 limit */
        for (i = 40 + (r >> 24) % 30; i < n; i += 40 + (r >> 24) % 30)
            buf[i] = '.';
        check_scan(buf, n, (unsigned)k);
    }
}

/* One matcher call from (sampled) guarded copies, against the reference. */
static void
check_match(const unsigned char *pat, size_t plen, const unsigned char *h,
            size_t hlen)
{
    char *gp, *gh;
    int want = ref_name_match(pat, plen, h, hlen);

    sample_next(plen > hlen ? plen : hlen);
    gp = scopy(pat, plen);
    gh = scopy(h, hlen);

    if (mtasts_mx_match(gp, plen, gh, hlen) != want)
        fail_msg("match differs: \"%.*s\" against \"%.*s\"", (int)plen,
                 (const char *)pat, (int)hlen, (const char *)h);
    sfree(gp, plen);
    sfree(gh, hlen);
}

/* STS-MX-1, STS-MX-2: valid names of 1..70 octets (letters of both cases,
 * digits, '-' and '.') against copies with one bit of one byte flipped,
 * as exact patterns and as "*." patterns, in both directions. This reaches
 * every block position of the scanner with each near miss of a byte:
 * the other case of a letter, and a digit, '-' or '.' with bit 0x20
 * cleared, which equals it ignoring that bit only. */
static void
name_scan_bit_flips_match_reference(void **state)
{
    static const char cycle[] = "a7-Bq-9Z";
    unsigned char s[80], o[80], pat[82];
    size_t n, i, j, b, dot;

    (void)state;
    sample_reset();
    for (n = 1; n <= 70; n++) {
        for (i = 0, j = 0; i < n; i++, j++) {
            if (i % 9 == 8 && i + 1 < n) {
                s[i] = '.';
                j = (size_t)-1;
            } else {
                s[i] = (unsigned char)cycle[j % 8];
                if (j == 0 || i + 1 == n || i % 9 == 7)
                    s[i] = (unsigned char)('k' - (i % 2) * 0x20);
            }
        }
        assert_true(ref_name_valid(s, n));
        for (dot = 0; dot < n && s[dot] != '.'; dot++)
            ;
        for (i = 0; i < n; i++)
            for (b = 0; b < 8; b++) {
                memcpy(o, s, n);
                o[i] ^= (unsigned char)(1u << b);
                check_match(o, n, s, n);
                check_match(s, n, o, n);
                if (dot == n)
                    continue;
                pat[0] = '*';
                memcpy(pat + 1, o + dot, n - dot);
                check_match(pat, n - dot + 1, s, n);
                memcpy(pat + 1, s + dot, n - dot);
                check_match(pat, n - dot + 1, o, n);
            }
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sts_txt_1_txt_name),
        cmocka_unit_test(sts_fetch_1_policy_url_and_host),
        cmocka_unit_test(sts_txt_12_url_from_original_domain),
        cmocka_unit_test(domain_normalize),
        cmocka_unit_test(hostname_check_syntax),
        cmocka_unit_test(hostname_check_flags),
        cmocka_unit_test(hostname_check_lengths),
        cmocka_unit_test(name_scan_matches_reference),
        cmocka_unit_test(name_scan_bit_flips_match_reference),
        cmocka_unit_test(name_fold_table),
        cmocka_unit_test(sts_mx_1_exact_case_insensitive),
        cmocka_unit_test(sts_mx_2_wildcard_one_label),
        cmocka_unit_test(sts_mx_3_partial_and_inner_wildcards),
        cmocka_unit_test(sts_mx_4_host_normalised),
        cmocka_unit_test(sts_mx_6_no_alias_resolution),
        cmocka_unit_test_setup_teardown(sts_mx_5_policy_mx_allowed,
                                        harness_setup, harness_teardown),
        cmocka_unit_test(sts_fetch_3_cert_name_match),
        cmocka_unit_test(sts_mx_7_san_matches_mx_host),
        cmocka_unit_test(sts_mx_8_san_no_partial_or_multi_label),
    };

    return cmocka_run_group_tests_name("names", tests, NULL, NULL);
}
