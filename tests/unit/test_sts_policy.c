/* The policy file: parse, build, format, raw lines (STS-POL-*). */
#include <stdio.h>
#include <stdlib.h>

#include "harness.h"
#include "model_args.h"

#define W(w)    MTASTS_WARN_BIT(MTASTS_W_##w)
#define ANY_OFF ((size_t)-1)

#define HDR_ENFORCE "version: STSv1\nmode: enforce\n"
#define HDR_NONE    "version: STSv1\nmode: none\n"

static int
pparse(mtasts_ctx *ctx, const char *s, size_t len, unsigned flags,
       mtasts_policy **ret, struct mtasts_diag *d)
{
    char *g = harness_guard(s, len);
    int rc;

    *ret = (mtasts_policy *)(uintptr_t)1;
    rc = mtasts_policy_parse(ctx, g, len, flags, ret, d);
    /* The policy must not point into the input. */
    harness_unguard(g, len);
    return rc;
}

static void
pfail_(mtasts_ctx *ctx, const char *s, size_t len, unsigned flags, int code,
       int reason, size_t off, size_t line, int src_line)
{
    struct mtasts_diag d = MTASTS_DIAG_INIT;
    mtasts_policy *pol;
    int rc;

    rc = pparse(ctx, s, len, flags, &pol, &d);
    if (rc != code || d.code != code || d.reason != reason ||
        (off != ANY_OFF && d.offset != off) || d.line != line)
        print_error("line %d: policy_parse(\"%.*s\"): rc %d code %d reason "
                    "%s off %zu line %zu\n",
                    src_line, (int)len, s, rc, d.code,
                    mtasts_reason_name(d.reason), d.offset, d.line);
    assert_int_equal(rc, code);
    assert_null(pol);
    assert_int_equal(d.code, code);
    assert_int_equal(d.reason, reason);
    if (off != ANY_OFF)
        assert_int_equal(d.offset, off);
    assert_int_equal(d.line, line);
    assert_int_equal(pparse(ctx, s, len, flags, &pol, NULL), code);
    assert_null(pol);
    assert_int_equal(harness_leaks(), 1);
}

#define PFAIL(ctx, lit, flags, code, reason, off, line)                     \
    pfail_((ctx), (lit), sizeof(lit) - 1, (flags), (code), (reason), (off), \
           (line), __LINE__)

static mtasts_policy *
pok_(mtasts_ctx *ctx, const char *s, size_t len, unsigned flags, int mode,
     uint32_t max_age, uint64_t warnings, int src_line)
{
    struct mtasts_diag d = MTASTS_DIAG_INIT;
    mtasts_policy *pol;
    const char *raw, *ver;
    size_t raw_len = 0, ver_len = 0;
    int rc;

    d.code = 77;
    rc = pparse(ctx, s, len, flags, &pol, &d);
    if (rc != MTASTS_OK)
        print_error("line %d: policy_parse(\"%.*s\"): rc %d reason %s off "
                    "%zu line %zu\n",
                    src_line, (int)len, s, rc, mtasts_reason_name(d.reason),
                    d.offset, d.line);
    assert_int_equal(rc, MTASTS_OK);
    assert_non_null(pol);
    assert_int_equal(d.code, 0);
    assert_int_equal(d.reason, MTASTS_R_NONE);
    if (d.warnings != warnings)
        print_error("line %d: warnings %#llx, want %#llx\n", src_line,
                    (unsigned long long)d.warnings,
                    (unsigned long long)warnings);
    assert_true(d.warnings == warnings);
    assert_true(mtasts_policy_warnings(pol) == warnings);
    assert_int_equal(mtasts_policy_mode(pol), mode);
    assert_int_equal(mtasts_policy_max_age(pol), max_age);
    ver = mtasts_policy_version(pol, &ver_len);
    assert_string_equal(ver, "STSv1");
    assert_int_equal(ver_len, 5);
    /* The raw body is kept exactly (STS-POL-16). */
    raw = mtasts_policy_raw(pol, &raw_len);
    assert_int_equal(raw_len, len);
    assert_memory_equal(raw, s, len);
    assert_int_equal(raw[len], '\0');
    return pol;
}

#define POK(ctx, lit, flags, mode, max_age, warnings)               \
    pok_((ctx), (lit), sizeof(lit) - 1, (flags), (mode), (max_age), \
         (warnings), __LINE__)

#define POKF(ctx, lit, flags, mode, max_age, warnings) \
    mtasts_policy_free(POK(ctx, lit, flags, mode, max_age, warnings))

/* NULL-terminated list of expected mx patterns. */
static void
expect_mx(const mtasts_policy *pol, const char *const *want)
{
    size_t n = 0, len;
    const char *m;

    while (want[n] != NULL) {
        len = 999;
        m = mtasts_policy_mx(pol, n, &len);
        assert_non_null(m);
        assert_string_equal(m, want[n]);
        assert_int_equal(len, strlen(want[n]));
        n++;
    }
    assert_int_equal(mtasts_policy_mx_count(pol), n);
    len = 999;
    assert_null(mtasts_policy_mx(pol, n, &len));
    assert_int_equal(len, 0);
}

/* NULL-terminated list of expected lines (policy-string). */
static void
expect_lines(const mtasts_policy *pol, const char *const *want)
{
    size_t n = 0, len;
    const char *l;

    while (want[n] != NULL) {
        len = 999;
        l = mtasts_policy_line(pol, n, &len);
        assert_non_null(l);
        if (len != strlen(want[n]) || memcmp(l, want[n], len) != 0)
            print_error("line %zu: got \"%.*s\", want \"%s\"\n", n, (int)len, l,
                        want[n]);
        assert_int_equal(len, strlen(want[n]));
        assert_memory_equal(l, want[n], len);
        /* strings out are NUL-terminated too (issue 10): a C string
         * reader (ctypes c_char_p) must stop at the end of the line */
        assert_int_equal(l[len], '\0');
        assert_string_equal(l, want[n]);
        n++;
    }
    assert_int_equal(mtasts_policy_line_count(pol), n);
    assert_null(mtasts_policy_line(pol, n, &len));
}

static void
expect_ext(const mtasts_policy *pol, size_t i, const char *name,
           const char *value)
{
    const char *n = NULL, *v = NULL;
    size_t nl = 999, vl = 999;

    assert_int_equal(mtasts_policy_ext(pol, i, &n, &nl, &v, &vl), MTASTS_OK);
    assert_string_equal(n, name);
    assert_int_equal(nl, strlen(name));
    assert_string_equal(v, value);
    assert_int_equal(vl, strlen(value));
}

static void
expect_format(const mtasts_policy *pol, const char *want)
{
    char buf[16384];
    size_t needed = 0;

    assert_int_equal(mtasts_policy_format(pol, buf, sizeof(buf), &needed),
                     MTASTS_OK);
    assert_string_equal(buf, want);
    assert_int_equal(needed, strlen(want));
}

#define LIST(...) ((const char *const[]){__VA_ARGS__, NULL})

/* STS-POL-1, E-1 */
static void
sts_pol_1_line_terminators(void **state)
{
    mtasts_ctx *ctx = *state;
    mtasts_policy *pol;

    pol = POK(ctx, "version: STSv1\nmode: none\nmax_age: 86400", 0,
              MTASTS_MODE_NONE, 86400, 0);
    expect_lines(pol, LIST("version: STSv1", "mode: none", "max_age: 86400"));
    mtasts_policy_free(pol);
    pol = POK(ctx, "version: STSv1\r\nmode: none\r\nmax_age: 86400\r\n", 0,
              MTASTS_MODE_NONE, 86400, 0);
    expect_lines(pol, LIST("version: STSv1", "mode: none", "max_age: 86400"));
    mtasts_policy_free(pol);
    pol = POK(ctx, "version: STSv1\r\nmode: none\nmax_age: 86400\r\n", 0,
              MTASTS_MODE_NONE, 86400, 0);
    expect_lines(pol, LIST("version: STSv1", "mode: none", "max_age: 86400"));
    mtasts_policy_free(pol);
    POKF(ctx, "version: STSv1\nmode: none\nmax_age: 86400\n", 0,
         MTASTS_MODE_NONE, 86400, 0);

    /* A bare CR is not a terminator: the whole body is one version line,
     * and the diagnostic names the CR. */
    PFAIL(ctx, "version: STSv1\rmode: none\rmax_age: 86400", 0, MTASTS_ESYNTAX,
          MTASTS_R_BARE_CR, 14, 1);
    PFAIL(ctx, "x: 1\rversion: STSv1\nmode: none\nmax_age: 86400", 0,
          MTASTS_ESYNTAX, MTASTS_R_BARE_CR, 4, 1);
    PFAIL(ctx, "version: STSv1\nmode: none\nmax_age: 86400\r", 0,
          MTASTS_ESYNTAX, MTASTS_R_BARE_CR, 40, 3);
    PFAIL(ctx, "version: STSv1\r\r\nmode: none\nmax_age: 1", 0, MTASTS_ESYNTAX,
          MTASTS_R_BARE_CR, 14, 1);
    PFAIL(ctx, "version: STSv1\nmode: none\r\rmax_age: 1", 0, MTASTS_ESYNTAX,
          MTASTS_R_BARE_CR, 25, 2);
    PFAIL(ctx, "version: STSv1\nx: 1\r\r\nmode: none\nmax_age: 1", 0,
          MTASTS_ESYNTAX, MTASTS_R_BARE_CR, 19, 2);
    PFAIL(ctx, "version: STSv1\nx: 1\r\rmode: none\nmax_age: 1", 0,
          MTASTS_ESYNTAX, MTASTS_R_BARE_CR, 19, 2);
    PFAIL(ctx, "version: STSv1\nmode\r: none\nmax_age: 1", 0, MTASTS_ESYNTAX,
          MTASTS_R_BARE_CR, 19, 2);
    PFAIL(ctx, "version: STSv1\n\rmode: none\nmax_age: 1", 0, MTASTS_ESYNTAX,
          MTASTS_R_BARE_CR, 15, 2);
    PFAIL(ctx, "version: STSv1\nmode: none\nx: a\rb\nmax_age: 1", 0,
          MTASTS_ESYNTAX, MTASTS_R_BARE_CR, 30, 3);
    PFAIL(ctx, HDR_ENFORCE "mx: a.example.com\r\nmax_age: 1\r", 0,
          MTASTS_ESYNTAX, MTASTS_R_BARE_CR, 58, 4);
}

/* STS-POL-1: with CRLF terminators, an empty (or cut) value is reported
 * as what it is; the CR of a CRLF is a terminator, not a bare CR. */
static void
sts_pol_1_crlf_empty_value_diagnostics(void **state)
{
    mtasts_ctx *ctx = *state;

    PFAIL(ctx, "version: STSv1\r\nmode: enforce\r\nmx: *.\r\nmax_age: 1\r\n", 0,
          MTASTS_ESYNTAX, MTASTS_R_MX, ANY_OFF, 3);
    PFAIL(ctx, "version: STSv1\r\nmode: enforce\r\nmx:\r\nmax_age: 1\r\n", 0,
          MTASTS_ESYNTAX, MTASTS_R_MX, 34, 3);
    PFAIL(ctx, "version: STSv1\r\nmode: none\r\nmax_age:\r\n", 0,
          MTASTS_ESYNTAX, MTASTS_R_MAX_AGE, 36, 3);
    PFAIL(ctx, "version: STSv1\r\nmode:\r\nmax_age: 1\r\n", 0, MTASTS_ESYNTAX,
          MTASTS_R_MODE, 21, 2);
    PFAIL(ctx, "version:\r\nmode: none\r\nmax_age: 1\r\n", 0, MTASTS_ESYNTAX,
          MTASTS_R_POLICY_VERSION, 8, 1);
    PFAIL(ctx, "version: STSv1\r\nmode: none\r\nx: \r\nmax_age: 1\r\n", 0,
          MTASTS_ESYNTAX, MTASTS_R_EXT_VALUE, 31, 3);
}

/* STS-POL-1: a real CRLF policy without a final terminator. */
static void
sts_pol_1_corpus_crlf(void **state)
{
    mtasts_ctx *ctx = *state;
    size_t len = 0, i, crlf = 0;
    char *body = harness_load_src(
        "corpus/policies/lazroud__ctocongress.ru__crlf-no-final-newline.txt",
        &len);
    mtasts_policy *pol = NULL;

    assert_non_null(body);
    for (i = 0; i + 1 < len; i++)
        if (body[i] == '\r' && body[i + 1] == '\n')
            crlf++;
    assert_true(crlf >= 3);
    assert_true(body[len - 1] != '\n');
    assert_int_equal(mtasts_policy_parse(ctx, body, len, 0, &pol, NULL),
                     MTASTS_OK);
    for (i = 0; i < mtasts_policy_line_count(pol); i++) {
        size_t ll;
        const char *l = mtasts_policy_line(pol, i, &ll);
        assert_null(memchr(l, '\r', ll));
        assert_null(memchr(l, '\n', ll));
    }
    mtasts_policy_free(pol);
    free(body);
}

/* STS-POL-2 */
static void
sts_pol_2_line_shape(void **state)
{
    mtasts_ctx *ctx = *state;
    mtasts_policy *pol;

    POKF(ctx, "version: STSv1\nmode:enforce\nmx: a.example.com\nmax_age: 1", 0,
         MTASTS_MODE_ENFORCE, 1, 0);
    pol = POK(ctx,
              "version: STSv1\nmode: enforce \t\nmx:\ta.example.com \n"
              "max_age:  1\t",
              0, MTASTS_MODE_ENFORCE, 1, 0);
    expect_mx(pol, LIST("a.example.com"));
    /* policy-string lines keep the line as written, minus terminator. */
    expect_lines(pol, LIST("version: STSv1", "mode: enforce \t",
                           "mx:\ta.example.com ", "max_age:  1\t"));
    mtasts_policy_free(pol);

    PFAIL(ctx, "version: STSv1\nmode : enforce\nmx: a.example.com\nmax_age: 1",
          0, MTASTS_ESYNTAX, MTASTS_R_COLON, 19, 2);
    PFAIL(ctx, "version: STSv1\n mode: enforce\nmx: a.example.com\nmax_age: 1",
          0, MTASTS_ESYNTAX, MTASTS_R_LEADING_WSP, 15, 2);
    PFAIL(ctx, "version: STSv1\n\tmode: none\nmax_age: 1", 0, MTASTS_ESYNTAX,
          MTASTS_R_LEADING_WSP, 15, 2);
    PFAIL(ctx, "version STSv1\nmode: none\nmax_age: 1", 0, MTASTS_ESYNTAX,
          MTASTS_R_COLON, 7, 1);
    PFAIL(ctx, "version: STSv1\nmode: none\nmax_age: 1\nfoo", 0, MTASTS_ESYNTAX,
          MTASTS_R_COLON, 40, 4);
    PFAIL(ctx, "version: STSv1\nmode: none\nmax_age: 1\n:x", 0, MTASTS_ESYNTAX,
          MTASTS_R_EXT_NAME, 37, 4);
    PFAIL(ctx, "version:STSv1 x\nmode: none\nmax_age: 1", 0, MTASTS_ESYNTAX,
          MTASTS_R_POLICY_VERSION, 8, 1);
}

/* STS-POL-3 */
static void
sts_pol_3_keys_case_sensitive(void **state)
{
    mtasts_ctx *ctx = *state;
    mtasts_policy *pol;

    PFAIL(ctx, "Version: STSv1\nmode: none\nmax_age: 1", 0, MTASTS_ESYNTAX,
          MTASTS_R_MISSING_VERSION, 36, 3);
    PFAIL(ctx, "version: STSv1\nMode: none\nmax_age: 1", 0, MTASTS_ESYNTAX,
          MTASTS_R_MISSING_MODE, 36, 3);
    PFAIL(ctx, "version: STSv1\nmode: none\nMAX_AGE: 1", 0, MTASTS_ESYNTAX,
          MTASTS_R_MISSING_MAX_AGE, 36, 3);
    PFAIL(ctx, HDR_ENFORCE "MX: a.example.com\nmax_age: 1", 0, MTASTS_ESYNTAX,
          MTASTS_R_MISSING_MX, 57, 4);
    /* Wrong-case keys are extensions. */
    pol = POK(ctx, HDR_NONE "Version: STSv2\nMX: a\nmax_age: 1", 0,
              MTASTS_MODE_NONE, 1, 0);
    assert_int_equal(mtasts_policy_ext_count(pol), 2);
    expect_ext(pol, 0, "Version", "STSv2");
    expect_ext(pol, 1, "MX", "a");
    assert_int_equal(mtasts_policy_mx_count(pol), 0);
    mtasts_policy_free(pol);
}

/* STS-POL-4, E-7 */
static void
sts_pol_4_version(void **state)
{
    mtasts_ctx *ctx = *state;

    PFAIL(ctx, "mode: none\nmax_age: 1\n", 0, MTASTS_ESYNTAX,
          MTASTS_R_MISSING_VERSION, 22, 3);
    PFAIL(ctx, "version: STSv2\nmode: none\nmax_age: 1", 0, MTASTS_ESYNTAX,
          MTASTS_R_POLICY_VERSION, 9, 1);
    PFAIL(ctx, "version: stsv1\nmode: none\nmax_age: 1", 0, MTASTS_ESYNTAX,
          MTASTS_R_POLICY_VERSION, 9, 1);
    PFAIL(ctx, "version: STSv1x\nmode: none\nmax_age: 1", 0, MTASTS_ESYNTAX,
          MTASTS_R_POLICY_VERSION, 9, 1);
    PFAIL(ctx, "version: STSv2\nversion: STSv1\nmode: none\nmax_age: 1", 0,
          MTASTS_ESYNTAX, MTASTS_R_POLICY_VERSION, 9, 1);
    PFAIL(ctx, "version:\nmode: none\nmax_age: 1", 0, MTASTS_ESYNTAX,
          MTASTS_R_POLICY_VERSION, 8, 1);
    POKF(ctx, "version: STSv1\nversion: STSv2\nmode: none\nmax_age: 1", 0,
         MTASTS_MODE_NONE, 1, W(DUPLICATE_FIELD));
}

/* STS-POL-5 */
static void
sts_pol_5_mode(void **state)
{
    mtasts_ctx *ctx = *state;

    PFAIL(ctx, "version: STSv1\nmode: Enforce\nmx: a.b\nmax_age: 1", 0,
          MTASTS_ESYNTAX, MTASTS_R_MODE, 21, 2);
    PFAIL(ctx, "version: STSv1\nmode: report\nmx: a.b\nmax_age: 1", 0,
          MTASTS_ESYNTAX, MTASTS_R_MODE, 21, 2);
    PFAIL(ctx, "version: STSv1\nmode: enforced\nmx: a.b\nmax_age: 1", 0,
          MTASTS_ESYNTAX, MTASTS_R_MODE, 21, 2);
    PFAIL(ctx, "version: STSv1\nmode: none x\nmax_age: 1", 0, MTASTS_ESYNTAX,
          MTASTS_R_MODE, 21, 2);
    PFAIL(ctx, "version: STSv1\nmx: a.b\nmax_age: 1", 0, MTASTS_ESYNTAX,
          MTASTS_R_MISSING_MODE, 33, 3);
    POKF(ctx, "version: STSv1\nmode: testing\nmx: a.b\nmax_age: 1", 0,
         MTASTS_MODE_TESTING, 1, 0);
    POKF(ctx, "version: STSv1\nmode: enforce\nmx: a.b\nmax_age: 1", 0,
         MTASTS_MODE_ENFORCE, 1, 0);
    POKF(ctx, "version: STSv1\nmode: none\nmax_age: 1", 0, MTASTS_MODE_NONE, 1,
         0);
}

/* STS-POL-6, E-3 */
static void
sts_pol_6_max_age(void **state)
{
    mtasts_ctx *ctx = *state;
    struct mtasts_diag d = MTASTS_DIAG_INIT;
    mtasts_policy *pol;

    POKF(ctx, HDR_NONE "max_age: 604800", 0, MTASTS_MODE_NONE, 604800, 0);
    POKF(ctx, HDR_NONE "max_age: 0000086400", 0, MTASTS_MODE_NONE, 86400, 0);
    POKF(ctx, HDR_NONE "max_age: 0", 0, MTASTS_MODE_NONE, 0, 0);
    POKF(ctx, HDR_NONE "max_age: 31557600", 0, MTASTS_MODE_NONE, 31557600, 0);
    POKF(ctx, HDR_NONE "max_age: 31557601", 0, MTASTS_MODE_NONE, 31557600,
         W(MAX_AGE_CLAMPED));
    POKF(ctx, HDR_NONE "max_age: 4294967296", 0, MTASTS_MODE_NONE, 31557600,
         W(MAX_AGE_CLAMPED));
    POKF(ctx, HDR_NONE "max_age: 9999999999", 0, MTASTS_MODE_NONE, 31557600,
         W(MAX_AGE_CLAMPED));
    /* Warning offset is the value. */
    assert_int_equal(pparse(ctx, S(HDR_NONE "max_age: 31557601"), 0, &pol, &d),
                     MTASTS_OK);
    assert_int_equal(d.warning_offset, 35);
    mtasts_policy_free(pol);
    PFAIL(ctx, HDR_NONE "max_age: 31557601", MTASTS_PARSE_F_STRICT,
          MTASTS_ESTRICT, MTASTS_R_STRICT, 35, 3);

    PFAIL(ctx, HDR_NONE "max_age: 12345678901", 0, MTASTS_ESYNTAX,
          MTASTS_R_MAX_AGE, 45, 3);
    PFAIL(ctx, HDR_NONE "max_age: -5", 0, MTASTS_ESYNTAX, MTASTS_R_MAX_AGE, 35,
          3);
    PFAIL(ctx, HDR_NONE "max_age: +5", 0, MTASTS_ESYNTAX, MTASTS_R_MAX_AGE, 35,
          3);
    PFAIL(ctx, HDR_NONE "max_age: 1.5", 0, MTASTS_ESYNTAX, MTASTS_R_MAX_AGE, 36,
          3);
    PFAIL(ctx, HDR_NONE "max_age: 1e5", 0, MTASTS_ESYNTAX, MTASTS_R_MAX_AGE, 36,
          3);
    PFAIL(ctx, HDR_NONE "max_age: 1 2", 0, MTASTS_ESYNTAX, MTASTS_R_MAX_AGE, 36,
          3);
    PFAIL(ctx, HDR_NONE "max_age: 0x10", 0, MTASTS_ESYNTAX, MTASTS_R_MAX_AGE,
          36, 3);
    PFAIL(ctx, HDR_NONE "max_age:", 0, MTASTS_ESYNTAX, MTASTS_R_MAX_AGE, 34, 3);
    PFAIL(ctx, HDR_NONE "max_ag: 5", 0, MTASTS_ESYNTAX,
          MTASTS_R_MISSING_MAX_AGE, 35, 3);
}

/* STS-POL-7 */
static void
sts_pol_7_mx_required_unless_none(void **state)
{
    mtasts_ctx *ctx = *state;
    mtasts_policy *pol;

    PFAIL(ctx, HDR_ENFORCE "max_age: 1\n", 0, MTASTS_ESYNTAX,
          MTASTS_R_MISSING_MX, 40, 4);
    PFAIL(ctx, "version: STSv1\nmode: testing\nmax_age: 1", 0, MTASTS_ESYNTAX,
          MTASTS_R_MISSING_MX, 39, 3);
    pol = POK(ctx, HDR_NONE "max_age: 1", 0, MTASTS_MODE_NONE, 1, 0);
    assert_int_equal(mtasts_policy_mx_count(pol), 0);
    mtasts_policy_free(pol);
    /* mx under none is still checked, and kept. */
    PFAIL(ctx, HDR_NONE "mx: bad_host\nmax_age: 1", 0, MTASTS_ESYNTAX,
          MTASTS_R_MX, ANY_OFF, 3);
    pol = POK(ctx, HDR_NONE "mx: good.example\nmax_age: 1", 0, MTASTS_MODE_NONE,
              1, 0);
    expect_mx(pol, LIST("good.example"));
    mtasts_policy_free(pol);
}

/* STS-POL-8, E-11, E-16 */
static void
sts_pol_8_mx_grammar(void **state)
{
    mtasts_ctx *ctx = *state;
    static const char *const good[] = {
        "mail.example.com",      "*.example.net", "MX1.Example.COM", "a",
        "xn--bcher-kva.example", "1.2.3.4",       "a-b.c",           "*.com",
    };
    static const char *const bad[] = {
        "*example.net",
        ".example.net",
        "mail.*.example.com",
        "*.*.example.com",
        "*",
        "-mx.example.com",
        "mx-.example.com",
        "mx_1.example.com",
        "mx..example.com",
        "mail.example.com.",
        "*.",
        "mail..",
        "[192.0.2.1]",
        "mx.example.com:25",
        "mx/.example.com",
        "m*.example.com",
        "*.-a.example",
    };
    char body[600], label[80];
    mtasts_policy *pol;
    size_t i, n;

    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        n = (size_t)snprintf(body, sizeof(body),
                             HDR_ENFORCE "mx: %s\nmax_age: 1\n", good[i]);
        pol = pok_(ctx, body, n, MTASTS_PARSE_F_STRICT, MTASTS_MODE_ENFORCE, 1,
                   0, __LINE__);
        /* Kept as written (case included). */
        expect_mx(pol, (const char *const[]){good[i], NULL});
        mtasts_policy_free(pol);
    }
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        n = (size_t)snprintf(body, sizeof(body),
                             HDR_ENFORCE "mx: %s\nmax_age: 1\n", bad[i]);
        pfail_(ctx, body, n, 0, MTASTS_ESYNTAX, MTASTS_R_MX, ANY_OFF, 3,
               __LINE__ * 1000 + (int)i);
    }
    /* A 64-octet label: invalid (reason label_len); 63 is fine. */
    memset(label, 'a', sizeof(label));
    n = (size_t)snprintf(body, sizeof(body),
                         HDR_ENFORCE "mx: %.64s.example\nmax_age: 1\n", label);
    pfail_(ctx, body, n, 0, MTASTS_ESYNTAX, MTASTS_R_LABEL_LEN, 29 + 4 + 63, 3,
           __LINE__);
    n = (size_t)snprintf(body, sizeof(body),
                         HDR_ENFORCE "mx: %.63s.example\nmax_age: 1\n", label);
    pol = pok_(ctx, body, n, 0, MTASTS_MODE_ENFORCE, 1, 0, __LINE__);
    mtasts_policy_free(pol);
    /* A 254-octet name: invalid (reason name_len); 253 is fine. */
    n = (size_t)snprintf(body, sizeof(body),
                         HDR_ENFORCE "mx: %.63s.%.63s.%.63s.%.61s\n"
                                     "max_age: 1\n",
                         label, label, label, label);
    pol = pok_(ctx, body, n, 0, MTASTS_MODE_ENFORCE, 1, 0, __LINE__);
    mtasts_policy_free(pol);
    n = (size_t)snprintf(body, sizeof(body),
                         HDR_ENFORCE "mx: %.63s.%.63s.%.63s.%.62s\n"
                                     "max_age: 1\n",
                         label, label, label, label);
    pfail_(ctx, body, n, 0, MTASTS_ESYNTAX, MTASTS_R_NAME_LEN, ANY_OFF, 3,
           __LINE__);
    PFAIL(ctx, HDR_ENFORCE "mx:\nmax_age: 1", 0, MTASTS_ESYNTAX, MTASTS_R_MX,
          32, 3);
}

/* STS-POL-8, STS-POL-7: an empty or truncated mx value at the very end of
 * the body must be rejected without reading past len (guarded buffer). */
static void
sts_pol_8_mx_value_at_end_no_overread(void **state)
{
    mtasts_ctx *ctx = *state;

    PFAIL(ctx, HDR_ENFORCE "mx:", 0, MTASTS_ESYNTAX, MTASTS_R_MX, 32, 3);
    PFAIL(ctx, HDR_ENFORCE "mx: ", 0, MTASTS_ESYNTAX, MTASTS_R_MX, 33, 3);
    PFAIL(ctx, HDR_ENFORCE "mx: *.", 0, MTASTS_ESYNTAX, MTASTS_R_MX, 35, 3);
    PFAIL(ctx, HDR_ENFORCE "mx: a.", 0, MTASTS_ESYNTAX, MTASTS_R_MX, ANY_OFF,
          3);
}

/* STS-POL-9 */
static void
sts_pol_9_one_pattern_per_line(void **state)
{
    mtasts_ctx *ctx = *state;
    mtasts_policy *pol;

    PFAIL(ctx, HDR_ENFORCE "mx: a.example.com b.example.com\nmax_age: 1", 0,
          MTASTS_ESYNTAX, MTASTS_R_MX, ANY_OFF, 3);
    PFAIL(ctx, HDR_ENFORCE "mx: a.example.com,b.example.com\nmax_age: 1", 0,
          MTASTS_ESYNTAX, MTASTS_R_MX, ANY_OFF, 3);
    PFAIL(ctx, HDR_ENFORCE "mx: a.example.com;b.example.com\nmax_age: 1", 0,
          MTASTS_ESYNTAX, MTASTS_R_MX, ANY_OFF, 3);
    pol =
        POK(ctx, HDR_ENFORCE "mx: b.example.com\nmx: a.example.com\nmax_age: 1",
            0, MTASTS_MODE_ENFORCE, 1, 0);
    expect_mx(pol, LIST("b.example.com", "a.example.com"));
    mtasts_policy_free(pol);
}

/* STS-POL-10 */
static void
sts_pol_10_a_labels_only(void **state)
{
    mtasts_ctx *ctx = *state;
    mtasts_policy *pol;

    PFAIL(ctx,
          HDR_ENFORCE "mx: b\xC3\xBC"
                      "cher.example\nmax_age: 1",
          0, MTASTS_ENONASCII, MTASTS_R_NON_ASCII, 34, 3);
    PFAIL(ctx,
          HDR_ENFORCE "mx: *.b\xC3\xBC"
                      "cher.example\nmax_age: 1",
          0, MTASTS_ENONASCII, MTASTS_R_NON_ASCII, 36, 3);
    pol = POK(ctx, HDR_ENFORCE "mx: xn--bcher-kva.example\nmax_age: 1", 0,
              MTASTS_MODE_ENFORCE, 1, 0);
    expect_mx(pol, LIST("xn--bcher-kva.example"));
    mtasts_policy_free(pol);
}

/* STS-POL-11 */
static void
sts_pol_11_extensions(void **state)
{
    mtasts_ctx *ctx = *state;
    mtasts_policy *pol;

    pol = POK(ctx, HDR_NONE "x-custom_1: hello w\xC3\xB6rld\nmax_age: 1", 0,
              MTASTS_MODE_NONE, 1, 0);
    assert_int_equal(mtasts_policy_ext_count(pol), 1);
    expect_ext(pol, 0, "x-custom_1", "hello w\xC3\xB6rld");
    mtasts_policy_free(pol);

    /* Outer WSP is not part of the value; names end at ':'. */
    pol = POK(ctx, HDR_NONE "a.b:c d \t\nz9:  q\nmax_age: 1", 0,
              MTASTS_MODE_NONE, 1, 0);
    assert_int_equal(mtasts_policy_ext_count(pol), 2);
    expect_ext(pol, 0, "a.b", "c d");
    expect_ext(pol, 1, "z9", "q");
    assert_int_equal(mtasts_policy_ext(pol, 2, NULL, NULL, NULL, NULL),
                     MTASTS_EINVAL);
    /* the lines keep what the names and values leave out */
    expect_lines(pol, LIST("version: STSv1", "mode: none", "a.b:c d \t",
                           "z9:  q", "max_age: 1"));
    mtasts_policy_free(pol);

    /* CRLF lines, a value before trailing WSP and one at the very end */
    pol = POK(ctx,
              "version: STSv1\r\nmode: none\r\nmax_age: 1\r\n"
              "e1: v1\r\ne2: v2 \r\ne3: v3",
              0, MTASTS_MODE_NONE, 1, 0);
    expect_ext(pol, 0, "e1", "v1");
    expect_ext(pol, 1, "e2", "v2");
    expect_ext(pol, 2, "e3", "v3");
    expect_lines(pol, LIST("version: STSv1", "mode: none", "max_age: 1",
                           "e1: v1", "e2: v2 ", "e3: v3"));
    mtasts_policy_free(pol);

    PFAIL(ctx,
          HDR_NONE "x: a\x01"
                   "b\nmax_age: 1",
          0, MTASTS_ESYNTAX, MTASTS_R_CTL, 30, 3);
    PFAIL(ctx, HDR_NONE "x:\nmax_age: 1", 0, MTASTS_ESYNTAX, MTASTS_R_EXT_VALUE,
          28, 3);
    PFAIL(ctx, HDR_NONE "x:  \t\nmax_age: 1", 0, MTASTS_ESYNTAX,
          MTASTS_R_EXT_VALUE, 31, 3);
    PFAIL(ctx, HDR_NONE "x: a\tb\nmax_age: 1", 0, MTASTS_ESYNTAX,
          MTASTS_R_EXT_VALUE, 30, 3);
    PFAIL(ctx, HDR_NONE "_x: 1\nmax_age: 1", 0, MTASTS_ESYNTAX,
          MTASTS_R_EXT_NAME, 26, 3);
    PFAIL(ctx, HDR_NONE "x y: 1\nmax_age: 1", 0, MTASTS_ESYNTAX, MTASTS_R_COLON,
          27, 3);
    /* Name: 32 characters fine, 33 too long. */
    pol = POK(ctx, HDR_NONE "abcdefghijklmnopqrstuvwxyz012._-: 1\nmax_age: 1",
              0, MTASTS_MODE_NONE, 1, 0);
    expect_ext(pol, 0, "abcdefghijklmnopqrstuvwxyz012._-", "1");
    mtasts_policy_free(pol);
    PFAIL(ctx, HDR_NONE "abcdefghijklmnopqrstuvwxyz012._-x: 1\nmax_age: 1", 0,
          MTASTS_ESYNTAX, MTASTS_R_EXT_NAME, 26 + 32, 3);
}

/* STS-POL-12, E-7 */
static void
sts_pol_12_duplicates(void **state)
{
    mtasts_ctx *ctx = *state;
    struct mtasts_diag d = MTASTS_DIAG_INIT;
    mtasts_policy *pol;

    POKF(ctx,
         "version: STSv1\nmode: testing\nmode: enforce\nmx: a.b\nmax_age: 1", 0,
         MTASTS_MODE_TESTING, 1, W(DUPLICATE_FIELD));
    POKF(ctx, "version: STSv1\nmode: enforce\nmode: bogus\nmx: a.b\nmax_age: 1",
         0, MTASTS_MODE_ENFORCE, 1, W(DUPLICATE_FIELD));
    PFAIL(ctx,
          "version: STSv1\nmode: bogus\nmode: enforce\nmx: a.b\nmax_age: 1", 0,
          MTASTS_ESYNTAX, MTASTS_R_MODE, 21, 2);
    /* A later duplicate must still be a valid extension. */
    PFAIL(ctx,
          "version: STSv1\nmode: enforce\nmode: a\x01\nmx: a.b\nmax_age: 1", 0,
          MTASTS_ESYNTAX, MTASTS_R_CTL, 36, 3);
    POKF(ctx, HDR_NONE "max_age: 5\nmax_age: abc", 0, MTASTS_MODE_NONE, 5,
         W(DUPLICATE_FIELD));

    pol = POK(ctx,
              HDR_ENFORCE "mx: A.example.com\nmx: a.example.com\n"
                          "mx: a.EXAMPLE.com\nmax_age: 1",
              0, MTASTS_MODE_ENFORCE, 1, W(DUPLICATE_MX));
    expect_mx(pol, LIST("A.example.com"));
    /* Lines keep every line, duplicates included. */
    assert_int_equal(mtasts_policy_line_count(pol), 6);
    mtasts_policy_free(pol);
    assert_int_equal(pparse(ctx,
                            S(HDR_ENFORCE "mx: a.b\nmx: c.d\nmx: A.B\n"
                                          "max_age: 1"),
                            0, &pol, &d),
                     MTASTS_OK);
    assert_int_equal(d.warning_offset, 45);
    mtasts_policy_free(pol);

    pol = POK(ctx, HDR_NONE "x: 1\ny: 2\nx: 3\nmax_age: 1", 0, MTASTS_MODE_NONE,
              1, W(DUPLICATE_FIELD));
    assert_int_equal(mtasts_policy_ext_count(pol), 2);
    expect_ext(pol, 0, "x", "1");
    expect_ext(pol, 1, "y", "2");
    mtasts_policy_free(pol);
    /* Extension names compare case-sensitively. */
    pol =
        POK(ctx, HDR_NONE "x: 1\nX: 2\nmax_age: 1", 0, MTASTS_MODE_NONE, 1, 0);
    assert_int_equal(mtasts_policy_ext_count(pol), 2);
    mtasts_policy_free(pol);

    /* Strict refuses both kinds of duplicates. */
    PFAIL(ctx, HDR_NONE "max_age: 5\nmax_age: 6", MTASTS_PARSE_F_STRICT,
          MTASTS_ESTRICT, MTASTS_R_STRICT, 37, 4);
    PFAIL(ctx, HDR_ENFORCE "mx: a.b\nmx: A.B\nmax_age: 1",
          MTASTS_PARSE_F_STRICT, MTASTS_ESTRICT, MTASTS_R_STRICT, 37, 4);
}

/* STS-POL-13 */
static void
sts_pol_13_field_order_free(void **state)
{
    mtasts_ctx *ctx = *state;
    mtasts_policy *pol;

    pol = POK(ctx,
              "max_age: 86400\nmx: a.example.com\nmode: enforce\n"
              "version: STSv1",
              MTASTS_PARSE_F_STRICT, MTASTS_MODE_ENFORCE, 86400, 0);
    expect_mx(pol, LIST("a.example.com"));
    expect_format(pol,
                  "version: STSv1\r\nmode: enforce\r\nmx: a.example.com\r\n"
                  "max_age: 86400\r\n");
    mtasts_policy_free(pol);
}

/* STS-POL-14, E-10 */
static void
sts_pol_14_bom_and_blank_lines(void **state)
{
    mtasts_ctx *ctx = *state;
    struct mtasts_diag d = MTASTS_DIAG_INIT;
    mtasts_policy *pol;

    pol =
        POK(ctx, "\xEF\xBB\xBFversion: STSv1\n\nmode: none\n  \nmax_age: 1\n\n",
            0, MTASTS_MODE_NONE, 1, W(BOM) | W(BLANK_LINE));
    expect_lines(pol, LIST("version: STSv1", "mode: none", "max_age: 1"));
    mtasts_policy_free(pol);
    pol = POK(ctx, "version: STSv1\r\n\r\n\t \r\nmode: none\nmax_age: 1", 0,
              MTASTS_MODE_NONE, 1, W(BLANK_LINE));
    expect_lines(pol, LIST("version: STSv1", "mode: none", "max_age: 1"));
    mtasts_policy_free(pol);
    pol = POK(ctx, "\xEF\xBB\xBFversion: STSv1\nmode: none\nmax_age: 1", 0,
              MTASTS_MODE_NONE, 1, W(BOM));
    expect_lines(pol, LIST("version: STSv1", "mode: none", "max_age: 1"));
    mtasts_policy_free(pol);

    /* Warning offset: the first warning's position. */
    assert_int_equal(
        pparse(ctx, S("version: STSv1\n\nmode: none\nmax_age: 1"), 0, &pol, &d),
        MTASTS_OK);
    assert_int_equal(d.warning_offset, 15);
    mtasts_policy_free(pol);

    PFAIL(ctx, "\xEF\xBB\xBFversion: STSv1\nmode: none\nmax_age: 1",
          MTASTS_PARSE_F_STRICT, MTASTS_ESTRICT, MTASTS_R_STRICT, 0, 1);
    PFAIL(ctx, "version: STSv1\nmode: none\n\nmax_age: 1",
          MTASTS_PARSE_F_STRICT, MTASTS_ESTRICT, MTASTS_R_STRICT, 26, 3);
    /* A BOM elsewhere, or twice, is not tolerated. */
    PFAIL(ctx, "\nversion: STSv1\n\xEF\xBB\xBFmode: none\nmax_age: 1", 0,
          MTASTS_ESYNTAX, MTASTS_R_NON_ASCII, 16, 3);
    PFAIL(ctx, "\xEF\xBB\xBF\xEF\xBB\xBFversion: STSv1\nmode: none\nmax_age: 1",
          0, MTASTS_ESYNTAX, MTASTS_R_NON_ASCII, 3, 1);
    /* Blank-only or empty bodies. */
    PFAIL(ctx, "\n\n \n", 0, MTASTS_ESYNTAX, MTASTS_R_MISSING_VERSION, 4, 4);
    PFAIL(ctx, "", 0, MTASTS_ESYNTAX, MTASTS_R_EMPTY, 0, 1);
    PFAIL(ctx, "\xEF\xBB\xBF", 0, MTASTS_ESYNTAX, MTASTS_R_MISSING_VERSION, 3,
          1);
}

/* STS-POL-15 */
static void
sts_pol_15_utf8_and_ctl(void **state)
{
    mtasts_ctx *ctx = *state;
    static const char *const good[] = {
        "\xC3\xA9",         /* U+00E9 */
        "\xE2\x82\xAC",     /* U+20AC */
        "\xED\x9F\xBF",     /* U+D7FF */
        "\xEE\x80\x80",     /* U+E000 */
        "\xF0\x9F\x98\x80", /* U+1F600 */
        "\xF4\x8F\xBF\xBF", /* U+10FFFF */
        "a \xC3\xA9 b",
    };
    static const char *const bad_utf8[] = {
        "\xFF",
        "\x80",
        "\xC0\xAF",
        "\xC1\xBF",
        "\xE0\x80\xAF",
        "\xED\xA0\x80",
        "\xF0\x80\x80\x80",
        "\xF4\x90\x80\x80",
        "\xF5\x80\x80\x80",
        "\xE2\x82",
        "a\xC3",
        "\xC3\x28",
        "\xE2\x28\xA1",
        "\xF0\x9F\x98",
    };
    char body[128];
    mtasts_policy *pol;
    size_t i, n;

    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        n = (size_t)snprintf(body, sizeof(body), HDR_NONE "x: %s\nmax_age: 1",
                             good[i]);
        pol = pok_(ctx, body, n, MTASTS_PARSE_F_STRICT, MTASTS_MODE_NONE, 1, 0,
                   __LINE__);
        expect_ext(pol, 0, "x", good[i]);
        mtasts_policy_free(pol);
    }
    for (i = 0; i < sizeof(bad_utf8) / sizeof(bad_utf8[0]); i++) {
        n = (size_t)snprintf(body, sizeof(body), HDR_NONE "x: %s\nmax_age: 1",
                             bad_utf8[i]);
        pfail_(ctx, body, n, 0, MTASTS_ESYNTAX, MTASTS_R_UTF8, ANY_OFF, 3,
               __LINE__ * 1000 + (int)i);
    }
    /* NUL and other CTLs */
    PFAIL(ctx, HDR_NONE "max_age: 1\n\0", 0, MTASTS_ESYNTAX, MTASTS_R_CTL, 37,
          4);
    PFAIL(ctx, HDR_NONE "x: a\0b\nmax_age: 1", 0, MTASTS_ESYNTAX, MTASTS_R_CTL,
          30, 3);
    PFAIL(ctx, HDR_NONE "x: a\x7f\nmax_age: 1", 0, MTASTS_ESYNTAX, MTASTS_R_CTL,
          30, 3);
    PFAIL(ctx, HDR_NONE "x: \x1b[0m\nmax_age: 1", 0, MTASTS_ESYNTAX,
          MTASTS_R_CTL, 29, 3);
    PFAIL(ctx, "version: STSv1\x0bmode: none\nmax_age: 1", 0, MTASTS_ESYNTAX,
          MTASTS_R_POLICY_VERSION, 9, 1);
    PFAIL(ctx, HDR_NONE "\x0cmax_age: 1", 0, MTASTS_ESYNTAX, MTASTS_R_CTL, 26,
          3);
    /* Non-ASCII in a key. */
    PFAIL(ctx, HDR_NONE "\xC3\xA9: 1\nmax_age: 1", 0, MTASTS_ESYNTAX,
          MTASTS_R_NON_ASCII, 26, 3);
}

/* STS-POL-16 */
static void
sts_pol_16_canonical_format(void **state)
{
    mtasts_ctx *ctx = *state;
    static const char want[] = "version: STSv1\r\nmode: enforce\r\n"
                               "mx: mail.example.com\r\nmax_age: 604800\r\n";
    const char *mx[] = {"mail.example.com"};
    size_t mxl[] = {16};
    mtasts_policy *pol = NULL, *again;

    assert_int_equal(pbuild(ctx, MTASTS_MODE_ENFORCE, 604800, mx, mxl, 1, NULL,
                            NULL, NULL, NULL, 0, &pol, NULL),
                     MTASTS_OK);
    expect_format(pol, want);
    assert_int_equal(mtasts_policy_mode(pol), MTASTS_MODE_ENFORCE);
    assert_int_equal(mtasts_policy_max_age(pol), 604800);
    expect_mx(pol, LIST("mail.example.com"));
    assert_true(mtasts_policy_warnings(pol) == 0);

    /* Parsing that output gives the same model. */
    again =
        POK(ctx, want, MTASTS_PARSE_F_STRICT, MTASTS_MODE_ENFORCE, 604800, 0);
    expect_mx(again, LIST("mail.example.com"));
    assert_int_equal(mtasts_policy_ext_count(again), 0);
    expect_lines(again, LIST("version: STSv1", "mode: enforce",
                             "mx: mail.example.com", "max_age: 604800"));
    expect_format(again, want);
    mtasts_policy_free(again);
    mtasts_policy_free(pol);

    /* RPT-AGG-11 example: the raw lines are the policy-string. */
    pol = POK(ctx,
              "version: STSv1\r\nmode: testing\r\nmx: "
              "*.mail.company-y.example\r\nmax_age: 86400\r\n",
              0, MTASTS_MODE_TESTING, 86400, 0);
    expect_lines(pol, LIST("version: STSv1", "mode: testing",
                           "mx: *.mail.company-y.example", "max_age: 86400"));
    expect_mx(pol, LIST("*.mail.company-y.example"));
    mtasts_policy_free(pol);

    /* Unknown and erroneous-looking (but tolerated) lines are kept. */
    pol = POK(ctx,
              "mode: none\r\nx: y\r\nmode: bogus\r\n\r\nversion: STSv1\n"
              "max_age: 1",
              0, MTASTS_MODE_NONE, 1, W(DUPLICATE_FIELD) | W(BLANK_LINE));
    expect_lines(pol, LIST("mode: none", "x: y", "mode: bogus",
                           "version: STSv1", "max_age: 1"));
    /* The canonical form has extensions last and no duplicates. */
    expect_format(pol, "version: STSv1\r\nmode: none\r\nmax_age: 1\r\n"
                       "x: y\r\n");
    mtasts_policy_free(pol);
}

static void
pbuild_fail_(mtasts_ctx *ctx, int mode, uint32_t max_age, const char *const *mx,
             const size_t *mxl, size_t mx_count, const char *const *en,
             const size_t *enl, const char *const *ev, const size_t *evl,
             size_t ext_count, int code, int reason, size_t off, int line)
{
    struct mtasts_diag d = MTASTS_DIAG_INIT;
    mtasts_policy *pol = (mtasts_policy *)(uintptr_t)1;
    int rc;

    rc = pbuild(ctx, mode, max_age, mx, mxl, mx_count, en, enl, ev, evl,
                ext_count, &pol, &d);
    if (rc != code ||
        (code != MTASTS_EINVAL && (d.reason != reason || d.offset != off)))
        print_error("line %d: policy_build: rc %d reason %s off %zu\n", line,
                    rc, mtasts_reason_name(d.reason), d.offset);
    assert_int_equal(rc, code);
    assert_null(pol);
    if (code != MTASTS_EINVAL) {
        assert_int_equal(d.code, code);
        assert_int_equal(d.reason, reason);
        assert_int_equal(d.offset, off);
    }
    assert_int_equal(harness_leaks(), 1);
}

/* STS-POL-16: the serializer refuses an invalid model. */
static void
sts_pol_16_build_refuses_invalid(void **state)
{
    mtasts_ctx *ctx = *state;
    const char *mx2[] = {"a.example", "b_x.example"};
    size_t mx2l[] = {9, 11};
    const char *dup[] = {"a.example", "*.example", "A.EXAMPLE"};
    size_t dupl[] = {9, 9, 9};
    const char *ok1[] = {"a.example"};
    size_t ok1l[] = {9};
    const char *uml[] = {"b\xC3\xBC.example"};
    size_t umll[] = {10};
    char longlabel[70];
    const char *lng[] = {longlabel};
    size_t lngl[] = {64};
    const char *en[] = {"x", "mode"}, *ev[] = {"1", "2"};
    size_t enl[] = {1, 4}, evl[] = {1, 1};
    const char *en2[] = {"x", "x"};
    size_t en2l[] = {1, 1};
    static const char *const bad_values[] = {" a",  "a ",   "",     "a\tb",
                                             "a\r", "a\nb", "\xFF", "a\x01"};
    static const char *const bad_names[] = {"version", "mx",  "max_age", "-x",
                                            "",        "a:b", "a b"};
    const char *bn[1], *bv[1];
    size_t bnl[1], bvl[1], i;

    memset(longlabel, 'q', 64);
    memcpy(longlabel + 64, ".ex", 4);
    lngl[0] = 67;

    pbuild_fail_(ctx, MTASTS_MODE_ENFORCE, 1, NULL, NULL, 0, NULL, NULL, NULL,
                 NULL, 0, MTASTS_ESYNTAX, MTASTS_R_MISSING_MX, 0, __LINE__);
    pbuild_fail_(ctx, MTASTS_MODE_TESTING, 1, NULL, NULL, 0, NULL, NULL, NULL,
                 NULL, 0, MTASTS_ESYNTAX, MTASTS_R_MISSING_MX, 0, __LINE__);
    pbuild_fail_(ctx, MTASTS_MODE_ENFORCE, 31557601, ok1, ok1l, 1, NULL, NULL,
                 NULL, NULL, 0, MTASTS_ESYNTAX, MTASTS_R_MAX_AGE, 0, __LINE__);
    pbuild_fail_(ctx, MTASTS_MODE_ENFORCE, UINT32_MAX, ok1, ok1l, 1, NULL, NULL,
                 NULL, NULL, 0, MTASTS_ESYNTAX, MTASTS_R_MAX_AGE, 0, __LINE__);
    pbuild_fail_(ctx, 0, 1, ok1, ok1l, 1, NULL, NULL, NULL, NULL, 0,
                 MTASTS_ESYNTAX, MTASTS_R_MODE, 0, __LINE__);
    pbuild_fail_(ctx, 4, 1, ok1, ok1l, 1, NULL, NULL, NULL, NULL, 0,
                 MTASTS_ESYNTAX, MTASTS_R_MODE, 0, __LINE__);
    pbuild_fail_(ctx, MTASTS_MODE_ENFORCE, 1, mx2, mx2l, 2, NULL, NULL, NULL,
                 NULL, 0, MTASTS_ESYNTAX, MTASTS_R_MX, 1, __LINE__);
    pbuild_fail_(ctx, MTASTS_MODE_NONE, 1, mx2, mx2l, 2, NULL, NULL, NULL, NULL,
                 0, MTASTS_ESYNTAX, MTASTS_R_MX, 1, __LINE__);
    pbuild_fail_(ctx, MTASTS_MODE_ENFORCE, 1, dup, dupl, 3, NULL, NULL, NULL,
                 NULL, 0, MTASTS_ESYNTAX, MTASTS_R_MX, 2, __LINE__);
    pbuild_fail_(ctx, MTASTS_MODE_ENFORCE, 1, uml, umll, 1, NULL, NULL, NULL,
                 NULL, 0, MTASTS_ENONASCII, MTASTS_R_MX, 0, __LINE__);
    pbuild_fail_(ctx, MTASTS_MODE_ENFORCE, 1, lng, lngl, 1, NULL, NULL, NULL,
                 NULL, 0, MTASTS_ETOOBIG, MTASTS_R_MX, 0, __LINE__);
    pbuild_fail_(ctx, MTASTS_MODE_ENFORCE, 1, ok1, ok1l, 1, en, enl, ev, evl, 2,
                 MTASTS_ESYNTAX, MTASTS_R_EXT_NAME, 1, __LINE__);
    pbuild_fail_(ctx, MTASTS_MODE_ENFORCE, 1, ok1, ok1l, 1, en2, en2l, ev, evl,
                 2, MTASTS_ESYNTAX, MTASTS_R_EXT_NAME, 1, __LINE__);
    for (i = 0; i < sizeof(bad_values) / sizeof(bad_values[0]); i++) {
        bn[0] = "x";
        bnl[0] = 1;
        bv[0] = bad_values[i];
        bvl[0] = strlen(bad_values[i]);
        pbuild_fail_(ctx, MTASTS_MODE_NONE, 1, NULL, NULL, 0, bn, bnl, bv, bvl,
                     1, MTASTS_ESYNTAX, MTASTS_R_EXT_VALUE, 0,
                     __LINE__ * 1000 + (int)i);
    }
    for (i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
        bn[0] = bad_names[i];
        bnl[0] = strlen(bad_names[i]);
        bv[0] = "1";
        bvl[0] = 1;
        pbuild_fail_(ctx, MTASTS_MODE_NONE, 1, NULL, NULL, 0, bn, bnl, bv, bvl,
                     1, MTASTS_ESYNTAX, MTASTS_R_EXT_NAME, 0,
                     __LINE__ * 1000 + (int)i);
    }
    /* Misuse */
    pbuild_fail_(ctx, MTASTS_MODE_ENFORCE, 1, NULL, ok1l, 1, NULL, NULL, NULL,
                 NULL, 0, MTASTS_EINVAL, 0, 0, __LINE__);
    pbuild_fail_(ctx, MTASTS_MODE_ENFORCE, 1, ok1, NULL, 1, NULL, NULL, NULL,
                 NULL, 0, MTASTS_EINVAL, 0, 0, __LINE__);
    pbuild_fail_(ctx, MTASTS_MODE_ENFORCE, 1, ok1, ok1l, 1, NULL, enl, ev, evl,
                 1, MTASTS_EINVAL, 0, 0, __LINE__);
    assert_int_equal(pbuild(NULL, MTASTS_MODE_NONE, 1, NULL, NULL, 0, NULL,
                            NULL, NULL, NULL, 0, NULL, NULL),
                     MTASTS_EINVAL);
    /* the model is a versioned struct (issue 10) */
    {
        struct mtasts_policy_model pm;
        mtasts_policy *p2 = NULL;

        memset(&pm, 0, sizeof(pm));
        pm.mode = MTASTS_MODE_NONE;
        pm.max_age = 1;
        assert_int_equal(mtasts_policy_build(ctx, &pm, &p2, NULL),
                         MTASTS_EVERSION);
        assert_null(p2);
        pm.version = MTASTS_POLICY_MODEL_VERSION;
        assert_int_equal(mtasts_policy_build(ctx, &pm, &p2, NULL), MTASTS_OK);
        assert_int_equal(mtasts_policy_mode(p2), MTASTS_MODE_NONE);
        mtasts_policy_free(p2);
        assert_int_equal(mtasts_policy_build(ctx, NULL, &p2, NULL),
                         MTASTS_EINVAL);
    }
}

/* STS-POL-16: build -> format -> parse gives the same model, including
 * more than 16 mx and 8 extensions (the parser's second-scan path). */
static void
sts_pol_16_build_format_parse_equal(void **state)
{
    mtasts_ctx *ctx = *state;
    enum {
        NMX = 20,
        NEXT = 11
    };
    char mxs[NMX][32], names[NEXT][16], values[NEXT][32];
    const char *mx[NMX], *en[NEXT], *ev[NEXT];
    size_t mxl[NMX], enl[NEXT], evl[NEXT], i, needed = 0, nl, vl;
    char *buf;
    mtasts_policy *pol, *again;
    const char *n, *v;

    for (i = 0; i < NMX; i++) {
        snprintf(mxs[i], sizeof(mxs[i]),
                 i % 3 == 0 ? "*.d%zu.example" : "mx%zu.example", i);
        mx[i] = mxs[i];
        mxl[i] = strlen(mxs[i]);
    }
    for (i = 0; i < NEXT; i++) {
        snprintf(names[i], sizeof(names[i]), "ext-%zu", i);
        snprintf(values[i], sizeof(values[i]), "v a\xC3\xA9 %zu", i);
        en[i] = names[i];
        ev[i] = values[i];
        enl[i] = strlen(names[i]);
        evl[i] = strlen(values[i]);
    }
    assert_int_equal(pbuild(ctx, MTASTS_MODE_TESTING, 31557600, mx, mxl, NMX,
                            en, enl, ev, evl, NEXT, &pol, NULL),
                     MTASTS_OK);
    assert_int_equal(mtasts_policy_format(pol, NULL, 0, &needed),
                     MTASTS_ERANGE);
    buf = malloc(needed + 1);
    assert_non_null(buf);
    assert_int_equal(mtasts_policy_format(pol, buf, needed + 1, NULL),
                     MTASTS_OK);
    again = pok_(ctx, buf, needed, MTASTS_PARSE_F_STRICT, MTASTS_MODE_TESTING,
                 31557600, 0, __LINE__);
    assert_int_equal(mtasts_policy_mx_count(again), NMX);
    for (i = 0; i < NMX; i++)
        assert_string_equal(mtasts_policy_mx(again, i, NULL), mxs[i]);
    assert_int_equal(mtasts_policy_ext_count(again), NEXT);
    for (i = 0; i < NEXT; i++) {
        assert_int_equal(mtasts_policy_ext(again, i, &n, &nl, &v, &vl),
                         MTASTS_OK);
        assert_string_equal(n, names[i]);
        assert_string_equal(v, values[i]);
    }
    assert_int_equal(mtasts_policy_line_count(again), 3 + NMX + NEXT);
    expect_format(again, buf);
    mtasts_policy_free(again);
    mtasts_policy_free(pol);
    free(buf);

    /* mode none with neither mx nor extensions */
    assert_int_equal(pbuild(ctx, MTASTS_MODE_NONE, 0, NULL, NULL, 0, NULL, NULL,
                            NULL, NULL, 0, &pol, NULL),
                     MTASTS_OK);
    expect_format(pol, "version: STSv1\r\nmode: none\r\nmax_age: 0\r\n");
    mtasts_policy_free(pol);
}

/* E-21: body size limit, default and per context. */
static void
sts_pol_size_limit(void **state)
{
    mtasts_ctx *ctx = *state;
    struct mtasts_diag d = MTASTS_DIAG_INIT;
    mtasts_policy *pol;
    size_t n = MTASTS_POLICY_MAX_SIZE, p;
    char *body = malloc(n + 1);
    static const char head[] = HDR_NONE "max_age: 1\n";

    assert_non_null(body);
    /* A valid body of exactly 65536 bytes, padded with extension lines. */
    memcpy(body, head, sizeof(head) - 1);
    p = sizeof(head) - 1;
    while (p < n) {
        size_t room = n - p, line = room > 80 ? 80 : room;
        if (room - line > 0 && room - line < 6)
            line = room - 6;
        memset(body + p, 'v', line);
        memcpy(body + p, "x:", 2);
        body[p + line - 1] = '\n';
        p += line;
    }
    assert_int_equal(p, n);
    assert_int_equal(mtasts_policy_parse(ctx, body, n, 0, &pol, &d), MTASTS_OK);
    assert_int_equal(mtasts_policy_ext_count(pol), 1);
    assert_true(d.warnings == W(DUPLICATE_FIELD));
    mtasts_policy_free(pol);
    body[n] = '\n';
    assert_int_equal(mtasts_policy_parse(ctx, body, n + 1, 0, &pol, &d),
                     MTASTS_ETOOBIG);
    assert_null(pol);
    assert_int_equal(d.code, MTASTS_ETOOBIG);
    assert_int_equal(d.reason, MTASTS_R_TOO_BIG);
    assert_int_equal(d.offset, MTASTS_POLICY_MAX_SIZE);
    free(body);

    assert_int_equal(mtasts_ctx_set_limit(ctx, MTASTS_LIMIT_POLICY_SIZE, 36),
                     MTASTS_OK);
    POKF(ctx, HDR_NONE "max_age: 1", 0, MTASTS_MODE_NONE, 1, 0);
    PFAIL(ctx, HDR_NONE "max_age: 10", 0, MTASTS_ETOOBIG, MTASTS_R_TOO_BIG, 36,
          1);
    /* Checked before the syntax. */
    PFAIL(ctx, "\x01\x02\x03 garbage garbage garbage garbage garbage", 0,
          MTASTS_ETOOBIG, MTASTS_R_TOO_BIG, 36, 1);
}

/* Build a body with count mx lines mx<i>.example (dup_of[i] >= 0 repeats an
 * earlier one instead). Returns its length. */
static size_t
mx_body(char *buf, size_t cap, size_t count, const long *dup_of)
{
    size_t n = 0, i;

    n += (size_t)snprintf(buf + n, cap - n, HDR_ENFORCE);
    for (i = 0; i < count; i++) {
        long k = dup_of != NULL ? dup_of[i] : -1;
        n += (size_t)snprintf(buf + n, cap - n,
                              k >= 0 ? "mx: MX%ld.Example\n"
                                     : "mx: mx%zu.example\n",
                              k >= 0 ? (size_t)k : i);
    }
    n += (size_t)snprintf(buf + n, cap - n, "max_age: 1\n");
    assert_true(n < cap);
    return n;
}

/* E-21: mx line limit (duplicates count). */
static void
sts_pol_mx_limit(void **state)
{
    mtasts_ctx *ctx = *state;
    struct mtasts_diag d = MTASTS_DIAG_INIT;
    mtasts_policy *pol;
    size_t cap = 40000, n;
    char *buf = malloc(cap);
    long dups[4] = {-1, -1, 0, -1};

    assert_non_null(buf);
    /* Default limit 1000. */
    n = mx_body(buf, cap, 1000, NULL);
    pol = pok_(ctx, buf, n, 0, MTASTS_MODE_ENFORCE, 1, 0, __LINE__);
    assert_int_equal(mtasts_policy_mx_count(pol), 1000);
    assert_string_equal(mtasts_policy_mx(pol, 999, NULL), "mx999.example");
    mtasts_policy_free(pol);
    n = mx_body(buf, cap, 1001, NULL);
    assert_int_equal(pparse(ctx, buf, n, 0, &pol, &d), MTASTS_ETOOBIG);
    assert_null(pol);
    assert_int_equal(d.reason, MTASTS_R_TOO_MANY_MX);
    assert_int_equal(d.line, 1003);

    assert_int_equal(mtasts_ctx_set_limit(ctx, MTASTS_LIMIT_POLICY_MX, 3),
                     MTASTS_OK);
    n = mx_body(buf, cap, 3, NULL);
    pol = pok_(ctx, buf, n, 0, MTASTS_MODE_ENFORCE, 1, 0, __LINE__);
    mtasts_policy_free(pol);
    n = mx_body(buf, cap, 4, NULL);
    assert_int_equal(pparse(ctx, buf, n, 0, &pol, &d), MTASTS_ETOOBIG);
    assert_int_equal(d.code, MTASTS_ETOOBIG);
    assert_int_equal(d.reason, MTASTS_R_TOO_MANY_MX);
    assert_int_equal(d.line, 6);
    /* Duplicates count against the limit. */
    n = mx_body(buf, cap, 4, dups);
    assert_int_equal(pparse(ctx, buf, n, 0, &pol, &d), MTASTS_ETOOBIG);
    assert_int_equal(d.reason, MTASTS_R_TOO_MANY_MX);
    assert_int_equal(harness_leaks(), 1);
    free(buf);
}

/* More than 16 mx, 8 extensions and 24 lines: the parser's second scan
 * must still find duplicates past the first 16 mx / 8 extensions. */
static void
sts_pol_12_duplicates_past_local_sinks(void **state)
{
    mtasts_ctx *ctx = *state;
    char buf[4096], want[64];
    long dups[22];
    mtasts_policy *pol;
    size_t n, i;

    for (i = 0; i < 22; i++)
        dups[i] = -1;
    dups[20] = 17; /* duplicate of the 18th mx, beyond the 16 local slots */
    dups[21] = 0;  /* duplicate of the first */
    n = mx_body(buf, sizeof(buf), 22, dups);
    pol =
        pok_(ctx, buf, n, 0, MTASTS_MODE_ENFORCE, 1, W(DUPLICATE_MX), __LINE__);
    assert_int_equal(mtasts_policy_mx_count(pol), 20);
    for (i = 0; i < 20; i++) {
        snprintf(want, sizeof(want), "mx%zu.example", i);
        assert_string_equal(mtasts_policy_mx(pol, i, NULL), want);
    }
    assert_int_equal(mtasts_policy_line_count(pol), 25);
    mtasts_policy_free(pol);

    /* Only the late duplicate: strict must see it. */
    dups[21] = -1;
    n = mx_body(buf, sizeof(buf), 21, dups);
    pol =
        pok_(ctx, buf, n, 0, MTASTS_MODE_ENFORCE, 1, W(DUPLICATE_MX), __LINE__);
    assert_int_equal(mtasts_policy_mx_count(pol), 20);
    mtasts_policy_free(pol);
    pfail_(ctx, buf, n, MTASTS_PARSE_F_STRICT, MTASTS_ESTRICT, MTASTS_R_STRICT,
           ANY_OFF, 23, __LINE__);

    /* 17 distinct: the boundary. */
    n = mx_body(buf, sizeof(buf), 17, NULL);
    pol = pok_(ctx, buf, n, MTASTS_PARSE_F_STRICT, MTASTS_MODE_ENFORCE, 1, 0,
               __LINE__);
    assert_int_equal(mtasts_policy_mx_count(pol), 17);
    assert_string_equal(mtasts_policy_mx(pol, 16, NULL), "mx16.example");
    mtasts_policy_free(pol);
}

static void
sts_pol_12_ext_duplicates_past_local_sinks(void **state)
{
    mtasts_ctx *ctx = *state;
    char buf[4096], name[16], value[16];
    mtasts_policy *pol;
    size_t n = 0, i;

    n += (size_t)snprintf(buf + n, sizeof(buf) - n, HDR_NONE);
    for (i = 0; i < 10; i++)
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, "e%zu: v%zu\n", i, i);
    n += (size_t)snprintf(buf + n, sizeof(buf) - n, "e9: late\ne8: late\n");
    for (i = 0; i < 15; i++)
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, "\n");
    n += (size_t)snprintf(buf + n, sizeof(buf) - n, "max_age: 7");
    pol = pok_(ctx, buf, n, 0, MTASTS_MODE_NONE, 7,
               W(DUPLICATE_FIELD) | W(BLANK_LINE), __LINE__);
    assert_int_equal(mtasts_policy_ext_count(pol), 10);
    for (i = 0; i < 10; i++) {
        snprintf(name, sizeof(name), "e%zu", i);
        snprintf(value, sizeof(value), "v%zu", i);
        expect_ext(pol, i, name, value);
    }
    assert_int_equal(mtasts_policy_line_count(pol), 15);
    mtasts_policy_free(pol);
}

/* More than 24 lines: every line span stays right. */
static void
sts_pol_16_many_lines(void **state)
{
    mtasts_ctx *ctx = *state;
    char buf[4096], want[64];
    mtasts_policy *pol;
    size_t n = 0, i, ll;
    const char *l;

    n += (size_t)snprintf(buf + n, sizeof(buf) - n, "version: STSv1\r\n");
    for (i = 0; i < 30; i++)
        n += (size_t)snprintf(
            buf + n, sizeof(buf) - n,
            i % 2 ? "k%zu: value %zu\r\n" : "k%zu: value %zu\n", i, i * i);
    n += (size_t)snprintf(buf + n, sizeof(buf) - n, "mode: none\nmax_age: 3");
    pol = pok_(ctx, buf, n, 0, MTASTS_MODE_NONE, 3, 0, __LINE__);
    assert_int_equal(mtasts_policy_line_count(pol), 33);
    assert_int_equal(mtasts_policy_ext_count(pol), 30);
    for (i = 0; i < 30; i++) {
        snprintf(want, sizeof(want), "k%zu: value %zu", i, i * i);
        l = mtasts_policy_line(pol, i + 1, &ll);
        assert_int_equal(ll, strlen(want));
        assert_memory_equal(l, want, ll);
    }
    l = mtasts_policy_line(pol, 32, &ll);
    assert_int_equal(ll, 10);
    assert_memory_equal(l, "max_age: 3", 10);
    mtasts_policy_free(pol);
}

/* Diagnostic line numbers with LF and CRLF. */
static void
sts_pol_diag_lines(void **state)
{
    mtasts_ctx *ctx = *state;

    PFAIL(ctx, "version: STSv1\r\n\r\nmode: none\r\nmax_age: x\r\n", 0,
          MTASTS_ESYNTAX, MTASTS_R_MAX_AGE, 39, 4);
    PFAIL(ctx, "version: STSv1\nmode: none\nmax_age: 1\nmx: a..b\n", 0,
          MTASTS_ESYNTAX, MTASTS_R_MX, ANY_OFF, 4);
    PFAIL(ctx, "version: STSv1\nmode: none\nmax_age: 1\n\n\nq", 0,
          MTASTS_ESYNTAX, MTASTS_R_COLON, 40, 6);
}

static void
sts_pol_getters_and_misuse(void **state)
{
    mtasts_ctx *ctx = *state;
    mtasts_policy *pol = (mtasts_policy *)(uintptr_t)1;
    size_t len = 7;

    assert_null(mtasts_policy_version(NULL, &len));
    assert_int_equal(len, 0);
    assert_int_equal(mtasts_policy_mode(NULL), 0);
    assert_int_equal(mtasts_policy_max_age(NULL), 0);
    assert_int_equal(mtasts_policy_mx_count(NULL), 0);
    assert_null(mtasts_policy_mx(NULL, 0, NULL));
    assert_int_equal(mtasts_policy_ext_count(NULL), 0);
    assert_int_equal(mtasts_policy_ext(NULL, 0, NULL, NULL, NULL, NULL),
                     MTASTS_EINVAL);
    len = 7;
    assert_null(mtasts_policy_raw(NULL, &len));
    assert_int_equal(len, 0);
    assert_int_equal(mtasts_policy_line_count(NULL), 0);
    assert_null(mtasts_policy_line(NULL, 0, NULL));
    assert_true(mtasts_policy_warnings(NULL) == 0);
    mtasts_policy_free(NULL);

    assert_int_equal(
        mtasts_policy_parse(NULL, S(HDR_NONE "max_age: 1"), 0, &pol, NULL),
        MTASTS_EINVAL);
    assert_null(pol);
    assert_int_equal(
        mtasts_policy_parse(ctx, S(HDR_NONE "max_age: 1"), 0, NULL, NULL),
        MTASTS_EINVAL);
    pol = (mtasts_policy *)(uintptr_t)1;
    assert_int_equal(mtasts_policy_parse(ctx, NULL, 5, 0, &pol, NULL),
                     MTASTS_EINVAL);
    assert_null(pol);
    assert_int_equal(mtasts_policy_parse(ctx, NULL, 0, 0, &pol, NULL),
                     MTASTS_ESYNTAX);
    assert_int_equal(
        mtasts_policy_parse(ctx, S(HDR_NONE "max_age: 1"), 8, &pol, NULL),
        MTASTS_EINVAL);
    assert_int_equal(mtasts_policy_format(NULL, NULL, 0, NULL), MTASTS_EINVAL);
}

/* snprintf semantics of mtasts_policy_format(). */
static void
sts_pol_format_snprintf(void **state)
{
    mtasts_ctx *ctx = *state;
    static const char want[] = "version: STSv1\r\nmode: none\r\nmax_age: 1\r\n";
    mtasts_policy *pol =
        POK(ctx, HDR_NONE "max_age: 1", 0, MTASTS_MODE_NONE, 1, 0);
    char buf[128];
    size_t needed, i, wl = sizeof(want) - 1;

    assert_int_equal(mtasts_policy_format(pol, NULL, 0, &needed),
                     MTASTS_ERANGE);
    assert_int_equal(needed, wl);
    assert_int_equal(mtasts_policy_format(pol, NULL, 3, &needed),
                     MTASTS_EINVAL);
    for (i = 1; i <= wl; i++) {
        memset(buf, 'X', sizeof(buf));
        needed = 0;
        assert_int_equal(mtasts_policy_format(pol, buf, i, &needed),
                         MTASTS_ERANGE);
        assert_int_equal(needed, wl);
        assert_int_equal(buf[i - 1], '\0');
        assert_memory_equal(buf, want, i - 1);
        assert_int_equal(buf[i], 'X');
    }
    memset(buf, 'X', sizeof(buf));
    assert_int_equal(mtasts_policy_format(pol, buf, wl + 1, NULL), MTASTS_OK);
    assert_string_equal(buf, want);
    assert_int_equal(buf[wl + 1], 'X');
    mtasts_policy_free(pol);
}

/* Parsers never read past len: exact-size heap copies of every prefix of a
 * policy (ASan/valgrind would flag an overread). */
static void
sts_pol_no_read_past_len(void **state)
{
    mtasts_ctx *ctx = *state;
    static const char body[] = "\xEF\xBB\xBFversion: STSv1\r\nmode: enforce\r\n"
                               "mx: *.a.example\r\n\r\nmx: b.example \r\n"
                               "x: y \xC3\xA9\r\nmax_age: 86400\r\n";
    mtasts_policy *pol;
    size_t n;
    char *p;

    for (n = 0; n <= sizeof(body) - 1; n++) {
        p = harness_exact(body, n);
        pol = NULL;
        (void)mtasts_policy_parse(ctx, p, n, 0, &pol, NULL);
        mtasts_policy_free(pol);
        free(p);
        p = harness_guard(body, n);
        (void)mtasts_policy_parse(ctx, p, n, 0, &pol, NULL);
        mtasts_policy_free(pol);
        harness_unguard(p, n);
    }
    assert_int_equal(harness_leaks(), 1);
}

/* STS-POL-8: the mx value scan of the canonical-line fast path agrees with
 * the hostname rules (mtasts_hostname_check with MTASTS_HOST_F_WILDCARD,
 * itself checked byte by byte in test_names) on random names of 1..300
 * bytes around the 63- and 253-octet limits, with and without "*.", at
 * the end of the body or followed by trailing WSP, CRLF or LF and more
 * lines. Accepted names come back unchanged. */
static void
sts_pol_8_mx_fast_path_agrees_with_hostname_rules(void **state)
{
    static const char edge[] = "azAZ09-.-./:@[`{_*";
    static const char *const tails[] = {"", " ", "\r\n", "\nx-y: 1\n"};
    mtasts_ctx *ctx = *state;
    char name[320], body[400];
    size_t n, i, len, k;
    uint32_t r = 777;
    mtasts_policy *pol;
    int rc, want;

    for (k = 0; k < 6000; k++) {
        r = r * 1103515245u + 12345u;
        n = 1 + (r >> 8) % 300;
        if (k % 3 == 0)
            n = 60 + (r >> 8) % 8; /* around the label limit */
        for (i = 0; i < n; i++) {
            r = r * 1103515245u + 12345u;
            name[i] = (r >> 16) % 8 == 0 ? edge[(r >> 20) % (sizeof(edge) - 1)]
                                         : (char)('a' + (r >> 20) % 26);
        }
        for (i = 20 + k % 50; i < n; i += 20 + (r >> 27))
            name[i] = '.'; /* labels near 63 octets */
        if (k % 4 == 0 && n > 2) {
            name[0] = '*';
            name[1] = '.';
        }
        want = mtasts_hostname_check(name, n, MTASTS_HOST_F_WILDCARD, NULL) ==
               MTASTS_OK;
        len = (size_t)snprintf(body, sizeof(body),
                               HDR_ENFORCE "max_age: 9\nmx: %.*s%s", (int)n,
                               name, tails[k % 4]);
        rc = pparse(ctx, body, len, 0, &pol, NULL);
        if ((rc == MTASTS_OK) != want)
            fail_msg("mx \"%.*s\": parse %d, hostname check %d", (int)n, name,
                     rc, want);
        if (rc == MTASTS_OK) {
            assert_int_equal(mtasts_policy_mx_count(pol), 1);
            assert_memory_equal(mtasts_policy_mx(pol, 0, &len), name, n);
            assert_int_equal(len, n);
            mtasts_policy_free(pol);
        }
    }
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, harness_setup, harness_teardown)
    const struct CMUnitTest tests[] = {
        T(sts_pol_1_line_terminators),
        T(sts_pol_1_crlf_empty_value_diagnostics),
        T(sts_pol_1_corpus_crlf),
        T(sts_pol_2_line_shape),
        T(sts_pol_3_keys_case_sensitive),
        T(sts_pol_4_version),
        T(sts_pol_5_mode),
        T(sts_pol_6_max_age),
        T(sts_pol_7_mx_required_unless_none),
        T(sts_pol_8_mx_grammar),
        T(sts_pol_8_mx_value_at_end_no_overread),
        T(sts_pol_8_mx_fast_path_agrees_with_hostname_rules),
        T(sts_pol_9_one_pattern_per_line),
        T(sts_pol_10_a_labels_only),
        T(sts_pol_11_extensions),
        T(sts_pol_12_duplicates),
        T(sts_pol_13_field_order_free),
        T(sts_pol_14_bom_and_blank_lines),
        T(sts_pol_15_utf8_and_ctl),
        T(sts_pol_16_canonical_format),
        T(sts_pol_16_build_refuses_invalid),
        T(sts_pol_16_build_format_parse_equal),
        T(sts_pol_size_limit),
        T(sts_pol_mx_limit),
        T(sts_pol_12_duplicates_past_local_sinks),
        T(sts_pol_12_ext_duplicates_past_local_sinks),
        T(sts_pol_16_many_lines),
        T(sts_pol_diag_lines),
        T(sts_pol_getters_and_misuse),
        T(sts_pol_format_snprintf),
        T(sts_pol_no_read_past_len),
    };
#undef T

    return cmocka_run_group_tests_name("sts_policy", tests, NULL, NULL);
}
