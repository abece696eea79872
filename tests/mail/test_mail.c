/*
 * The delivery form of TLS reports (RFC 8460 section 5): file names,
 * Subject, the report e-mail, HTTPS body, retry schedule, and reading a
 * report e-mail back (RPT-DELIV-1..17 of doc/requirements.md;
 * each test names the requirement whose *Test:* hint it implements).
 *
 * Not tested here:
 *  - RPT-DELIV-10 (verify_peer of the report POST): the library makes no
 *    HTTPS request, it only gives the body and Content-Type; deferred in
 *    tests/trace/deferred.txt with the reason.
 *  - RPT-DELIV-14 belongs to the aggregation API (tests/agg).
 * RPT-DELIV-15 (payloads over 10 MB) is mtasts_tlsrpt_too_large() against
 * MTASTS_REPORT_WARN_SIZE, tested by test_too_large_RPT_DELIV_15.
 */
#define _POSIX_C_SOURCE 200809L

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"
#include "mtasts.h"
#include "model_args.h"

static mtasts_ctx *ctx;

/* mtasts_tlsrpt_filename_format() and _parse() with the parts spread out
 * as arguments (NULL out-pointers ignored) */
static int
fname_fmt(const char *sender, size_t sender_len, const char *pd, size_t pdl,
          int64_t begin, int64_t end, const char *uid, size_t uidl, int gzip,
          char *dst, size_t dst_len, size_t *need)
{
    struct mtasts_tlsrpt_filename fn;

    memset(&fn, 0, sizeof(fn));
    fn.version = MTASTS_FILENAME_VERSION;
    fn.sender = sender;
    fn.sender_len = sender_len;
    fn.policy_domain = pd;
    fn.policy_domain_len = pdl;
    fn.begin = begin;
    fn.end = end;
    fn.unique_id = uid;
    fn.unique_id_len = uidl;
    fn.gzip = gzip;
    return mtasts_tlsrpt_filename_format(&fn, dst, dst_len, need);
}

static int
fname_parse(const char *name, size_t len, const char **s, size_t *sl,
            const char **d, size_t *dl, int64_t *b, int64_t *e, const char **u,
            size_t *ul, int *gz)
{
    struct mtasts_tlsrpt_filename fn;
    int rc;

    memset(&fn, 0, sizeof(fn));
    fn.version = MTASTS_FILENAME_VERSION;
    rc = mtasts_tlsrpt_filename_parse(name, len, &fn);
    if (rc != MTASTS_OK)
        return rc;
    if (s != NULL)
        *s = fn.sender;
    if (sl != NULL)
        *sl = fn.sender_len;
    if (d != NULL)
        *d = fn.policy_domain;
    if (dl != NULL)
        *dl = fn.policy_domain_len;
    if (b != NULL)
        *b = fn.begin;
    if (e != NULL)
        *e = fn.end;
    if (u != NULL)
        *u = fn.unique_id;
    if (ul != NULL)
        *ul = fn.unique_id_len;
    if (gz != NULL)
        *gz = fn.gzip;
    return rc;
}

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
    assert_int_equal(harness_leaks(), 0);
    assert_int_equal(harness_errors(), 0);
    return 0;
}

/* The RFC 8460 Appendix B report with the names of the RPT-DELIV hints. */
static const char sample_json[] =
    "{\"organization-name\":\"Company-X\",\"date-range\":{\"start-datetime\":"
    "\"2016-04-01T00:00:00Z\",\"end-datetime\":\"2016-04-01T23:59:59Z\"},"
    "\"contact-info\":\"tlsrpt@mail.sender.example.com\",\"report-id\":"
    "\"5065427c-23d3-47ca-b6e0-946ea0e8c4be\",\"policies\":[{\"policy\":{"
    "\"policy-type\":\"sts\",\"policy-string\":[\"version: STSv1\",\"mode: "
    "testing\",\"mx: *.mail.company-y.example\",\"max_age: 86400\"],"
    "\"policy-domain\":\"example.net\",\"mx-host\":[\"*.mail.company-y."
    "example\"]},\"summary\":{\"total-successful-session-count\":5326,"
    "\"total-failure-session-count\":303},\"failure-details\":[{"
    "\"result-type\":\"starttls-not-supported\",\"sending-mta-ip\":"
    "\"2001:db8:abcd:12::1\",\"receiving-mx-hostname\":\"mx2.mail.company-y."
    "example\",\"failed-session-count\":200}]}]}";

static mtasts_tlsrpt_report *
parse_report(const char *json, size_t len)
{
    mtasts_tlsrpt_report *r = NULL;
    struct mtasts_diag d = MTASTS_DIAG_INIT;
    int rc =
        mtasts_tlsrpt_report_parse(ctx, (const uint8_t *)json, len, 0, &r, &d);

    if (rc != 0)
        print_error("parse: %s reason %s at %zu\n", mtasts_status_name(rc),
                    mtasts_reason_name(d.reason), d.offset);
    assert_int_equal(rc, MTASTS_OK);
    return r;
}

static mtasts_buf *
build_mail(const mtasts_tlsrpt_report *r, const char *submitter, unsigned flags)
{
    mtasts_buf *m = NULL;
    int rc = mail_build5(r, "TLS reports <tlsrpt@mail.sender.example.com>",
                         "mts-sts-tlsrpt@example.net", submitter,
                         "Fri, 02 Apr 2016 01:00:00 +0000",
                         "1.tlsrpt@mail.sender.example.com", flags, &m);

    assert_int_equal(rc, MTASTS_OK);
    assert_non_null(m);
    return m;
}

static char *
canonical(const mtasts_tlsrpt_report *r, size_t *ret_len)
{
    mtasts_buf *b = NULL;
    const uint8_t *d;
    char *s;

    assert_int_equal(mtasts_tlsrpt_report_format(r, 0, &b), MTASTS_OK);
    d = mtasts_buf_data(b, ret_len);
    s = malloc(*ret_len + 1);
    assert_non_null(s);
    memcpy(s, d, *ret_len + 1);
    mtasts_buf_free(b);
    return s;
}

/* Every line ends in CRLF and has at most 998 octets; header lines of
 * the top level have at most 78. */
static void
check_lines(const uint8_t *m, size_t n)
{
    size_t p = 0, ls, in_header = 1;

    while (p < n) {
        ls = p;
        while (p < n && m[p] != '\n')
            p++;
        assert_true(p < n); /* the message ends with a line end */
        assert_true(p > ls && m[p - 1] == '\r');
        assert_true(p - 1 - ls <= 998);
        if (p - 1 == ls)
            in_header = 0;
        if (in_header && p - 1 - ls > 78)
            fail_msg("header line over 78: %.*s", (int)(p - 1 - ls),
                     (const char *)m + ls);
        for (size_t i = ls; i < p - 1; i++)
            assert_true(m[i] != '\r'); /* no bare CR */
        p++;
    }
}

static const char *
find(const uint8_t *m, size_t n, const char *s)
{
    size_t k = strlen(s), i;

    for (i = 0; i + k <= n; i++)
        if (memcmp(m + i, s, k) == 0)
            return (const char *)m + i;
    return NULL;
}

/* ------------------------------------------------------------------ */
/* RPT-DELIV-1, RPT-DELIV-2, RPT-DELIV-3: the file name */
/* ------------------------------------------------------------------ */

static void
test_deliv_1_filename(void **state)
{
    char buf[256];
    size_t need = 0;
    const char *s = NULL, *d = NULL, *u = NULL;
    size_t sl = 0, dl = 0, ul = 0;
    int64_t b = 0, e = 0;
    int gz = -1;

    (void)state;
    assert_int_equal(fname_fmt("mail.sndr.example.com", 21, "example.net", 11,
                               1470013207, 1470186007, "001", 3, 1, buf,
                               sizeof(buf), &need),
                     MTASTS_OK);
    assert_string_equal(
        buf, "mail.sndr.example.com!example.net!1470013207!1470186007!001."
             "json.gz");
    assert_int_equal(need, strlen(buf));
    /* snprintf semantics */
    assert_int_equal(fname_fmt("mail.sndr.example.com", 21, "example.net", 11,
                               1470013207, 1470186007, "001", 3, 1, NULL, 0,
                               &need),
                     MTASTS_ERANGE);
    assert_int_equal(need, strlen(buf));
    assert_int_equal(fname_fmt("mail.sndr.example.com", 21, "example.net", 11,
                               1470013207, 1470186007, "001", 3, 1, buf, 10,
                               &need),
                     MTASTS_ERANGE);
    assert_int_equal(strlen(buf), 9);
    /* parse it back */
    strcpy(buf, "mail.sndr.example.com!example.net!1470013207!1470186007!001."
                "json.gz");
    assert_int_equal(
        fname_parse(buf, strlen(buf), &s, &sl, &d, &dl, &b, &e, &u, &ul, &gz),
        MTASTS_OK);
    assert_int_equal(sl, 21);
    assert_memory_equal(s, "mail.sndr.example.com", 21);
    assert_int_equal(dl, 11);
    assert_memory_equal(d, "example.net", 11);
    assert_true(b == 1470013207 && e == 1470186007);
    assert_int_equal(ul, 3);
    assert_memory_equal(u, "001", 3);
    assert_int_equal(gz, 1);
    /* without unique-id */
    assert_int_equal(fname_parse("a.example!b.example!1!2.json", 28, NULL, NULL,
                                 NULL, NULL, &b, &e, &u, &ul, &gz),
                     MTASTS_OK);
    assert_null(u);
    assert_int_equal(ul, 0);
    assert_int_equal(gz, 0);
    /* malformed names */
    static const char *const bad[] = {
        "a.example!b.example!1!2.txt",
        "a.example!b.example!1.json",
        "a.example!b.example!x!2.json",
        "a.example!b.example!1!2!0-1.json",
        "a.example!b.example!1!2!3!4.json",
        "-a.example!b.example!1!2.json",
        "a.example!!1!2.json",
        "a.example!b.example!1!!.json",
        "a.example!b.example!99999999999999999999!2.json",
        ".json",
        "",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(fname_parse(bad[i], strlen(bad[i]), NULL, NULL, NULL,
                                     NULL, NULL, NULL, NULL, NULL, NULL),
                         MTASTS_ESYNTAX);
    assert_int_equal(fname_parse(NULL, 3, NULL, NULL, NULL, NULL, NULL, NULL,
                                 NULL, NULL, NULL),
                     MTASTS_EINVAL);
    /* the structs are versioned */
    {
        struct mtasts_tlsrpt_filename fn;

        memset(&fn, 0, sizeof(fn));
        assert_int_equal(mtasts_tlsrpt_filename_parse("a!b!1!2.json", 12, &fn),
                         MTASTS_EVERSION);
        fn.version = MTASTS_FILENAME_VERSION;
        assert_int_equal(mtasts_tlsrpt_filename_parse("a!b!1!2.json", 12, &fn),
                         MTASTS_OK);
        assert_int_equal(
            mtasts_tlsrpt_filename_format(&fn, buf, sizeof(buf), &need),
            MTASTS_OK);
        assert_string_equal(buf, "a!b!1!2.json");
        fn.version = 2;
        assert_int_equal(
            mtasts_tlsrpt_filename_format(&fn, buf, sizeof(buf), &need),
            MTASTS_EVERSION);
        assert_int_equal(
            mtasts_tlsrpt_filename_format(NULL, buf, sizeof(buf), &need),
            MTASTS_EINVAL);
        assert_int_equal(mtasts_tlsrpt_filename_parse("a!b!1!2.json", 12, NULL),
                         MTASTS_EINVAL);
    }
}

static void
test_deliv_2_extension_unique_id(void **state)
{
    char buf[256];
    size_t need = 0;

    (void)state;
    assert_int_equal(fname_fmt("a.example", 9, "b.example", 9, 0, 86399, NULL,
                               0, 0, buf, sizeof(buf), &need),
                     MTASTS_OK);
    assert_string_equal(buf, "a.example!b.example!0!86399.json");
    assert_int_equal(fname_fmt("a.example", 9, "b.example", 9, 0, 86399, "0-1",
                               3, 1, buf, sizeof(buf), &need),
                     MTASTS_ESYNTAX);
    assert_int_equal(fname_fmt("a.example", 9, "b.example", 9, 0, 86399, "0_1",
                               3, 1, buf, sizeof(buf), &need),
                     MTASTS_ESYNTAX);
    /* API misuse */
    assert_int_equal(fname_fmt("a.example", 9, "b.example", 9, 5, 4, NULL, 0, 0,
                               buf, sizeof(buf), &need),
                     MTASTS_EINVAL);
    assert_int_equal(fname_fmt("a.example", 9, "b.example", 9, -1, 4, NULL, 0,
                               0, buf, sizeof(buf), &need),
                     MTASTS_EINVAL);
    assert_int_equal(fname_fmt(NULL, 9, "b.example", 9, 0, 4, NULL, 0, 0, buf,
                               sizeof(buf), &need),
                     MTASTS_EINVAL);
    assert_int_equal(fname_fmt("a.example", 9, "b.example", 9, 0, 4, NULL, 0, 0,
                               NULL, 5, &need),
                     MTASTS_EINVAL);
}

static void
test_deliv_3_sender_a_labels(void **state)
{
    char buf[256];
    size_t need = 0;
    mtasts_tlsrpt_report *r;
    mtasts_buf *m;
    const uint8_t *p;
    size_t n;
    char *json;

    (void)state;
    /* non-ASCII policy domain */
    assert_int_equal(fname_fmt("a.example", 9, "b\xc3\xa9.example", 10, 0, 1,
                               NULL, 0, 0, buf, sizeof(buf), &need),
                     MTASTS_ENONASCII);
    assert_int_equal(fname_fmt("a_b.example", 11, "b.example", 9, 0, 1, NULL, 0,
                               0, buf, sizeof(buf), &need),
                     MTASTS_ESYNTAX);
    /* contact tlsrpt@mail.sndr.example.com: the mail's attachment name
     * starts with its domain */
    {
        const char *at = strstr(sample_json, "mail.sender.example.com");
        size_t pre;

        json = malloc(sizeof(sample_json));
        if (at == NULL || json == NULL)
            abort(); /* (cmocka's asserts do not tell gcc they stop) */
        pre = (size_t)(at - sample_json);
        memcpy(json, sample_json, pre);
        memcpy(json + pre, "mail.sndr", 9);
        strcpy(json + pre + 9, at + 11); /* drops "er" */
    }
    assert_non_null(strstr(json, "tlsrpt@mail.sndr.example.com"));
    r = parse_report(json, strlen(json));
    m = build_mail(r, "mail.sndr.example.com", MTASTS_DELIVER_F_GZIP);
    p = mtasts_buf_data(m, &n);
    assert_non_null(find(p, n,
                         "filename=\"mail.sndr.example.com!example.net!"
                         "1459468800!1459555199.json.gz\""));
    mtasts_buf_free(m);
    mtasts_tlsrpt_report_free(r);
    free(json);
}

/* ------------------------------------------------------------------ */
/* RPT-DELIV-4, RPT-DELIV-9: compression and the HTTPS body */
/* ------------------------------------------------------------------ */

/* Run cmd with the bytes in a temporary file as its input; return its
 * output (malloc'd). */
static unsigned char *
filter(const char *cmd, const uint8_t *in, size_t n, size_t *ret_len)
{
    char path[] = "/tmp/mtasts-mail-XXXXXX", line[512];
    unsigned char *out = NULL;
    size_t len = 0, cap = 0, k;
    FILE *f, *pf;
    int fd = mkstemp(path);

    assert_true(fd >= 0);
    f = fdopen(fd, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(in, 1, n, f), n);
    fclose(f);
    snprintf(line, sizeof(line), "(%s) < %s", cmd, path);
    pf = popen(line, "r");
    assert_non_null(pf);
    for (;;) {
        if (len == cap) {
            cap = cap ? cap * 2 : 4096;
            out = realloc(out, cap + 1);
            assert_non_null(out);
        }
        k = fread(out + len, 1, cap - len, pf);
        if (k == 0)
            break;
        len += k;
    }
    assert_int_equal(pclose(pf), 0);
    unlink(path);
    *ret_len = len;
    return out;
}

/* RPT-DELIV-4, RPT-DELIV-9: the HTTPS body is gzip and its Content-Type
 * says so (application/tlsrpt+gzip, or +json uncompressed). */
static void
test_deliv_4_9_https_body(void **state)
{
    mtasts_tlsrpt_report *r;
    mtasts_buf *b = NULL, *j = NULL;
    const char *ct = NULL;
    size_t ctl = 0;
    const uint8_t *p;
    unsigned char *plain;
    size_t n, pn;
    char *json;
    size_t jl;

    (void)state;
    r = parse_report(sample_json, strlen(sample_json));
    json = canonical(r, &jl);
    assert_int_equal(
        mtasts_tlsrpt_https_body_build(r, MTASTS_DELIVER_F_GZIP, &b, &ct, &ctl),
        MTASTS_OK);
    assert_string_equal(ct, "application/tlsrpt+gzip");
    assert_int_equal(ctl, strlen("application/tlsrpt+gzip"));
    p = mtasts_buf_data(b, &n);
    assert_true(n > 3 && p[0] == 0x1f && p[1] == 0x8b && p[2] == 0x08);
    plain = filter("gzip -dc", p, n, &pn);
    assert_int_equal(pn, jl);
    assert_memory_equal(plain, json, jl);
    free(plain);
    mtasts_buf_free(b);
    /* plain JSON */
    assert_int_equal(mtasts_tlsrpt_https_body_build(r, 0, &j, &ct, &ctl),
                     MTASTS_OK);
    assert_string_equal(ct, "application/tlsrpt+json");
    assert_int_equal(ctl, strlen("application/tlsrpt+json"));
    p = mtasts_buf_data(j, &n);
    assert_int_equal(n, jl);
    assert_memory_equal(p, json, jl);
    mtasts_buf_free(j);
    /* misuse */
    assert_int_equal(mtasts_tlsrpt_https_body_build(NULL, 0, &j, &ct, NULL),
                     MTASTS_EINVAL);
    assert_int_equal(mtasts_tlsrpt_https_body_build(r, 0x80, &j, &ct, NULL),
                     MTASTS_EINVAL);
    assert_null(j);
    assert_int_equal(mtasts_tlsrpt_https_body_build(r, 0, NULL, &ct, NULL),
                     MTASTS_EINVAL);
    free(json);
    mtasts_tlsrpt_report_free(r);
}

static void
test_deliv_4_ratio(void **state)
{
    size_t cap = 64 * 1024, len = 0, n = 0;
    char *json = malloc(cap);
    mtasts_tlsrpt_report *r;
    mtasts_buf *b = NULL;
    int i;

    (void)state;
    assert_non_null(json);
    len += (size_t)snprintf(
        json + len, cap - len,
        "{\"organization-name\":\"X\",\"date-range\":{\"start-datetime\":"
        "\"2016-04-01T00:00:00Z\",\"end-datetime\":\"2016-04-01T23:59:59Z\"},"
        "\"contact-info\":\"r@x.example\",\"report-id\":\"1\",\"policies\":[{"
        "\"policy\":{\"policy-type\":\"no-policy-found\",\"policy-domain\":"
        "\"y.example\"},\"summary\":{\"total-successful-session-count\":1,"
        "\"total-failure-session-count\":100},\"failure-details\":[");
    for (i = 0; i < 100; i++)
        len += (size_t)snprintf(
            json + len, cap - len,
            "%s{\"result-type\":\"certificate-expired\",\"sending-mta-ip\":"
            "\"192.0.2.%d\",\"receiving-ip\":\"198.51.100.%d\","
            "\"receiving-mx-hostname\":\"mx%d.y.example\","
            "\"failed-session-count\":%d}",
            i ? "," : "", i, 200 - i, i, i + 1);
    len += (size_t)snprintf(json + len, cap - len, "]}]}");
    r = parse_report(json, len);
    assert_int_equal(mtasts_tlsrpt_https_body_build(r, MTASTS_DELIVER_F_GZIP,
                                                    &b, NULL, NULL),
                     MTASTS_OK);
    (void)mtasts_buf_data(b, &n);
    assert_true(n < len / 2);
    mtasts_buf_free(b);
    mtasts_tlsrpt_report_free(r);
    free(json);
}

/* ------------------------------------------------------------------ */
/* RPT-DELIV-5, RPT-DELIV-6, RPT-DELIV-7, RPT-DELIV-8: the e-mail */
/* ------------------------------------------------------------------ */

/* The boundary of the top-level Content-Type (copied to b). */
static void
get_boundary(const uint8_t *m, size_t n, char *b, size_t cap)
{
    const char *s = find(m, n, "boundary=\"");
    const char *e;

    assert_non_null(s);
    s += 10;
    e = strchr(s, '"');
    assert_non_null(e);
    assert_true((size_t)(e - s) < cap);
    memcpy(b, s, (size_t)(e - s));
    b[e - s] = '\0';
}

/* Count delimiter lines "--b" CRLF and "--b--" CRLF. */
static void
count_parts(const uint8_t *m, size_t n, const char *b, int *ret_open,
            int *ret_close)
{
    char d[160], c[160];
    size_t i;

    snprintf(d, sizeof(d), "\r\n--%s\r\n", b);
    snprintf(c, sizeof(c), "\r\n--%s--\r\n", b);
    *ret_open = *ret_close = 0;
    for (i = 0; i < n; i++) {
        if (n - i >= strlen(d) && memcmp(m + i, d, strlen(d)) == 0)
            (*ret_open)++;
        if (n - i >= strlen(c) && memcmp(m + i, c, strlen(c)) == 0)
            (*ret_close)++;
    }
}

/* RPT-DELIV-5: multipart/report; report-type="tlsrpt", a text/plain part
 * and the report part. */
static void
test_deliv_5_mime_structure(void **state)
{
    mtasts_tlsrpt_report *r;
    unsigned flags;

    (void)state;
    r = parse_report(sample_json, strlen(sample_json));
    for (flags = 0; flags <= MTASTS_DELIVER_F_GZIP; flags++) {
        mtasts_buf *m = build_mail(r, "mail.sender.example.com", flags);
        const uint8_t *p;
        size_t n;
        char b[128];
        int open, close;
        const char *part2, *cd;

        p = mtasts_buf_data(m, &n);
        assert_non_null(find(p, n,
                             "\r\nContent-Type: multipart/report; "
                             "report-type=\"tlsrpt\";\r\n"));
        get_boundary(p, n, b, sizeof(b));
        count_parts(p, n, b, &open, &close);
        assert_int_equal(open, 2);
        assert_int_equal(close, 1);
        assert_non_null(find(
            p, n, "\r\nContent-Type: text/plain; charset=\"us-ascii\"\r\n"));
        part2 = find(p, n,
                     flags ? "\r\nContent-Type: application/tlsrpt+gzip\r\n"
                           : "\r\nContent-Type: application/tlsrpt+json\r\n");
        assert_non_null(part2);
        assert_non_null(
            find(p, n, "\r\nContent-Transfer-Encoding: base64\r\n"));
        cd = find(p, n, "Content-Disposition: attachment;");
        assert_non_null(cd);
        assert_non_null(find(p, n,
                             flags ? "!1459468800!1459555199.json.gz\"\r\n"
                                   : "!1459468800!1459555199.json\"\r\n"));
        /* the same report gives the same message (deterministic boundary) */
        {
            mtasts_buf *m2 = build_mail(r, "mail.sender.example.com", flags);
            const uint8_t *p2;
            size_t n2;

            p2 = mtasts_buf_data(m2, &n2);
            assert_int_equal(n, n2);
            assert_memory_equal(p, p2, n);
            mtasts_buf_free(m2);
        }
        mtasts_buf_free(m);
    }
    mtasts_tlsrpt_report_free(r);
}

/* RPT-DELIV-6: TLS-Report-Domain and TLS-Report-Submitter headers. */
static void
test_deliv_6_submitter(void **state)
{
    mtasts_tlsrpt_report *r;
    mtasts_buf *m = NULL;
    const uint8_t *p;
    size_t n;

    (void)state;
    r = parse_report(sample_json, strlen(sample_json));
    assert_int_equal(mail_build5(r, "a@mail.sender.example.com",
                                 "b@example.net", "other.example",
                                 "Fri, 02 Apr 2016 01:00:00 +0000", "x@y", 0,
                                 &m),
                     MTASTS_ESYNTAX);
    assert_null(m);
    /* case does not matter */
    m = build_mail(r, "Mail.Sender.Example.COM", 0);
    p = mtasts_buf_data(m, &n);
    assert_non_null(find(p, n, "\r\nTLS-Report-Domain: example.net\r\n"));
    assert_non_null(
        find(p, n, "\r\nTLS-Report-Submitter: Mail.Sender.Example.COM\r\n"));
    mtasts_buf_free(m);
    /* unusable header values and misuse */
    m = NULL;
    assert_int_equal(mail_build5(r, "a\r\nBcc: x@y", "b@example.net",
                                 "mail.sender.example.com", "today", "x@y", 0,
                                 &m),
                     MTASTS_ESYNTAX);
    assert_int_equal(mail_build5(r, "a@b", "b@example.net",
                                 "mail.sender.example.com", "today", "<x@y>", 0,
                                 &m),
                     MTASTS_ESYNTAX);
    assert_int_equal(mail_build5(r, "a@b", "", "mail.sender.example.com",
                                 "today", "x@y", 0, &m),
                     MTASTS_ESYNTAX);
    assert_int_equal(mail_build5(r, "a@b", "b@c", "mail.sender.example.com",
                                 "today", "x@y", 0x10, &m),
                     MTASTS_EINVAL);
    assert_int_equal(mail_build5(NULL, "a@b", "b@c", "mail.sender.example.com",
                                 "today", "x@y", 0, &m),
                     MTASTS_EINVAL);
    assert_int_equal(mail_build5(r, "a@b", "b@c", "mail.sender.example.com",
                                 "today", "x@y", 0, NULL),
                     MTASTS_EINVAL);
    assert_null(m);
    /* strings in are (pointer, length): bytes past a length are not read,
     * a NUL inside a value is refused, and the struct is versioned */
    {
        struct mtasts_tlsrpt_mail_fields f;

        memset(&f, 0, sizeof(f));
        f.version = MTASTS_MAIL_FIELDS_VERSION;
        f.from = "a@b.example\r\nBcc: evil@x";
        f.from_len = 11;
        f.to = "c@d.exampleXYZ";
        f.to_len = 11;
        f.submitter = "mail.sender.example.com.evil";
        f.submitter_len = 23;
        f.date = "Fri, 02 Apr 2016 01:00:00 +0000!!";
        f.date_len = 31;
        f.message_id = "1@b.example>junk";
        f.message_id_len = 11;
        assert_int_equal(mtasts_tlsrpt_mail_build(r, &f, 0, &m), MTASTS_OK);
        p = mtasts_buf_data(m, &n);
        assert_non_null(find(p, n,
                             "From: a@b.example\r\nTo: c@d.example\r\n"
                             "Date: Fri, 02 Apr 2016 01:00:00 +0000\r\n"));
        assert_non_null(find(p, n, "\r\nMessage-ID: <1@b.example>\r\n"));
        assert_non_null(find(
            p, n, "\r\nTLS-Report-Submitter: mail.sender.example.com\r\n"));
        assert_null(find(p, n, "evil"));
        assert_null(find(p, n, "XYZ"));
        mtasts_buf_free(m);
        m = NULL;
        f.to = "c@d\0.example";
        f.to_len = 13;
        assert_int_equal(mtasts_tlsrpt_mail_build(r, &f, 0, &m),
                         MTASTS_ESYNTAX);
        f.to = "c@d.example";
        f.to_len = 11;
        f.version = 0;
        assert_int_equal(mtasts_tlsrpt_mail_build(r, &f, 0, &m),
                         MTASTS_EVERSION);
        assert_int_equal(mtasts_tlsrpt_mail_build(r, NULL, 0, &m),
                         MTASTS_EINVAL);
        assert_null(m);
    }
    mtasts_tlsrpt_report_free(r);

    /* a report without contact-info has no submitter domain */
    {
        static const char nocontact[] =
            "{\"organization-name\":\"X\",\"date-range\":{\"start-datetime\":"
            "\"2016-04-01T00:00:00Z\",\"end-datetime\":\"2016-04-01T23:59:"
            "59Z\"},\"report-id\":\"1\",\"policies\":[]}";
        mtasts_tlsrpt_report *r2 = NULL;
        struct mtasts_diag d = MTASTS_DIAG_INIT;

        if (mtasts_tlsrpt_report_parse(ctx, (const uint8_t *)nocontact,
                                       strlen(nocontact), 0, &r2, &d) == 0) {
            assert_int_equal(mail_build5(r2, "a@b", "b@c", "x.example", "today",
                                         "x@y", 0, &m),
                             MTASTS_ESYNTAX);
            mtasts_tlsrpt_report_free(r2);
        }
    }
}

/* RPT-DELIV-7: the Subject of section 1.10 with its Report-ID. */
static void
test_deliv_7_subject(void **state)
{
    char buf[512];
    size_t need = 0;

    (void)state;
    assert_int_equal(mtasts_tlsrpt_subject_format(
                         "example.net", 11, "mail.sender.example.com", 23,
                         "5065427c-23d3-47ca-b6e0-946ea0e8c4be", 36, buf,
                         sizeof(buf), &need),
                     MTASTS_OK);
    assert_string_equal(buf, "Report Domain: example.net Submitter: "
                             "mail.sender.example.com Report-ID: "
                             "<5065427c-23d3-47ca-b6e0-946ea0e8c4be@mail."
                             "sender.example.com>");
    assert_int_equal(need, strlen(buf));
    assert_int_equal(mtasts_tlsrpt_subject_format("d.example", 9, "s.example",
                                                  9, "a b:c", 5, buf,
                                                  sizeof(buf), &need),
                     MTASTS_OK);
    assert_non_null(strstr(buf, "Report-ID: <a%20b%3Ac@s.example>"));
    /* dots: safe ones pass, leading, trailing and doubled ones escape */
    assert_int_equal(mtasts_tlsrpt_subject_format("d.example", 9, "s.example",
                                                  9, ".a.b..c.", 8, buf,
                                                  sizeof(buf), &need),
                     MTASTS_OK);
    assert_non_null(strstr(buf, "<%2Ea.b%2E%2Ec%2E@s.example>"));
    /* dot-atom-text passes unchanged, also 8-bit bytes are escaped */
    assert_int_equal(
        mtasts_tlsrpt_subject_format("d.example", 9, "s.example", 9,
                                     "2016.04.01+x!#$%&'*/=?^_`{|}~", 29, buf,
                                     sizeof(buf), &need),
        MTASTS_OK);
    assert_non_null(strstr(buf, "<2016.04.01+x!#$%&'*/=?^_`{|}~@s.example>"));
    assert_int_equal(mtasts_tlsrpt_subject_format("d.example", 9, "s.example",
                                                  9, "\xc3\xa9\"", 3, buf,
                                                  sizeof(buf), &need),
                     MTASTS_OK);
    assert_non_null(strstr(buf, "<%C3%A9%22@s.example>"));
    /* errors */
    assert_int_equal(mtasts_tlsrpt_subject_format("d.example", 9, "s.example",
                                                  9, "", 0, buf, sizeof(buf),
                                                  &need),
                     MTASTS_ESYNTAX);
    assert_int_equal(mtasts_tlsrpt_subject_format("d..example", 10, "s.example",
                                                  9, "1", 1, buf, sizeof(buf),
                                                  &need),
                     MTASTS_ESYNTAX);
    assert_int_equal(mtasts_tlsrpt_subject_format("d.example", 9, "s.example",
                                                  9, "1", 1, buf, 5, &need),
                     MTASTS_ERANGE);
    assert_int_equal(mtasts_tlsrpt_subject_format(NULL, 9, "s.example", 9, "1",
                                                  1, buf, sizeof(buf), &need),
                     MTASTS_EINVAL);
}

/* The Subject in the message is folded with FWS, and unfolds to the
 * unfolded form. */
static void
test_deliv_7_subject_folded(void **state)
{
    mtasts_tlsrpt_report *r;
    mtasts_buf *m;
    const uint8_t *p;
    const char *s, *e;
    char unfolded[512], want[512];
    size_t n, k = 0;

    (void)state;
    r = parse_report(sample_json, strlen(sample_json));
    m = build_mail(r, "mail.sender.example.com", MTASTS_DELIVER_F_GZIP);
    p = mtasts_buf_data(m, &n);
    check_lines(p, n);
    s = find(p, n, "\r\nSubject: ");
    assert_non_null(s);
    s += 11;
    /* the field ends at a CRLF not followed by WSP */
    for (e = s; !(e[0] == '\r' && e[2] != ' ' && e[2] != '\t'); e++)
        if (e[0] != '\r' && e[0] != '\n')
            unfolded[k++] = *e;
    unfolded[k] = '\0';
    assert_non_null(memchr(s, '\r', (size_t)(e - s))); /* it was folded */
    assert_int_equal(mtasts_tlsrpt_subject_format(
                         "example.net", 11, "mail.sender.example.com", 23,
                         "5065427c-23d3-47ca-b6e0-946ea0e8c4be", 36, want,
                         sizeof(want), NULL),
                     MTASTS_OK);
    assert_string_equal(unfolded, want);
    mtasts_buf_free(m);
    mtasts_tlsrpt_report_free(r);
}

/* RPT-DELIV-8: the headers to sign (TLS-Report-Domain and -Submitter among
 * them) are listed, and the body keeps to short lines so that a DKIM
 * signature without l= survives transport. */
static void
test_deliv_8_dkim_friendly(void **state)
{
    const char *h = mtasts_tlsrpt_dkim_headers();
    mtasts_tlsrpt_report *r;
    unsigned flags;

    (void)state;
    assert_non_null(strstr(h, "TLS-Report-Domain"));
    assert_non_null(strstr(h, "TLS-Report-Submitter"));
    assert_string_equal(h, "From:To:Date:Subject:Message-ID:MIME-Version:"
                           "Content-Type:TLS-Report-Domain:"
                           "TLS-Report-Submitter");
    r = parse_report(sample_json, strlen(sample_json));
    for (flags = 0; flags <= MTASTS_DELIVER_F_GZIP; flags++) {
        mtasts_buf *m = build_mail(r, "mail.sender.example.com", flags);
        const uint8_t *p;
        const char *b;
        size_t n;

        p = mtasts_buf_data(m, &n);
        check_lines(p, n);
        /* base64 lines of 76 characters, the last one shorter */
        b = find(p, n, ".json\"\r\n\r\n");
        if (b == NULL)
            b = find(p, n, ".json.gz\"\r\n\r\n");
        assert_non_null(b);
        b = strstr(b, "\r\n\r\n") + 4;
        for (;;) {
            const char *e = strstr(b, "\r\n");
            assert_non_null(e);
            if (e == b)
                break;
            assert_true(e - b <= 76);
            if (e - b < 76) {
                assert_true(e[2] == '\r'); /* only the last is short */
                break;
            }
            b = e + 2;
        }
        mtasts_buf_free(m);
    }
    mtasts_tlsrpt_report_free(r);
}

/* A long From (many words) is folded; a single word too long for a line
 * is refused. */
static void
test_deliv_8_long_headers(void **state)
{
    mtasts_tlsrpt_report *r;
    mtasts_buf *m = NULL;
    char from[1200];
    const uint8_t *p;
    size_t n, i;

    (void)state;
    r = parse_report(sample_json, strlen(sample_json));
    for (i = 0; i + 5 < 600; i += 5)
        memcpy(from + i, "word ", 5);
    strcpy(from + i, "<a@mail.sender.example.com>");
    assert_int_equal(mail_build5(r, from, "b@example.net",
                                 "mail.sender.example.com", "today", "x@y", 0,
                                 &m),
                     MTASTS_OK);
    p = mtasts_buf_data(m, &n);
    check_lines(p, n);
    mtasts_buf_free(m);
    m = NULL;
    memset(from, 'a', 1100);
    from[1100] = '\0';
    assert_int_equal(mail_build5(r, from, "b@example.net",
                                 "mail.sender.example.com", "today", "x@y", 0,
                                 &m),
                     MTASTS_ESYNTAX);
    assert_null(m);
    mtasts_tlsrpt_report_free(r);
}

/* The attachment, base64-decoded and gunzipped by the system tools, is the
 * canonical JSON. */
static void
test_deliv_4_system_gunzip_of_attachment(void **state)
{
    mtasts_tlsrpt_report *r;
    mtasts_buf *m;
    const uint8_t *p;
    const char *b, *e;
    unsigned char *plain;
    size_t n, pn, jl;
    char *json;

    (void)state;
    r = parse_report(sample_json, strlen(sample_json));
    json = canonical(r, &jl);
    m = build_mail(r, "mail.sender.example.com", MTASTS_DELIVER_F_GZIP);
    p = mtasts_buf_data(m, &n);
    b = find(p, n, ".json.gz\"\r\n\r\n");
    assert_non_null(b);
    b = strstr(b, "\r\n\r\n") + 4;
    e = strstr(b, "\r\n\r\n");
    assert_non_null(e);
    plain = filter("tr -d '\\r' | base64 -d | gzip -dc", (const uint8_t *)b,
                   (size_t)(e - b) + 2, &pn);
    assert_int_equal(pn, jl);
    assert_memory_equal(plain, json, jl);
    free(plain);
    free(json);
    mtasts_buf_free(m);
    mtasts_tlsrpt_report_free(r);
}

/* ------------------------------------------------------------------ */
/* RPT-DELIV-11, RPT-DELIV-12, RPT-DELIV-13: delivery outcome, retries */
/* ------------------------------------------------------------------ */

static void
test_deliv_11_status(void **state)
{
    (void)state;
    assert_int_equal(mtasts_tlsrpt_https_delivered(201), 1);
    assert_int_equal(mtasts_tlsrpt_https_delivered(200), 1);
    assert_int_equal(mtasts_tlsrpt_https_delivered(299), 1);
    assert_int_equal(mtasts_tlsrpt_https_delivered(302), 0);
    assert_int_equal(mtasts_tlsrpt_https_delivered(400), 0);
    assert_int_equal(mtasts_tlsrpt_https_delivered(503), 0);
    assert_int_equal(mtasts_tlsrpt_https_delivered(199), 0);
    assert_int_equal(mtasts_tlsrpt_https_delivered(0), 0);
    assert_int_equal(mtasts_tlsrpt_https_delivered(-1), 0);
    /* a failure schedules a retry */
    assert_true(mtasts_tlsrpt_retry_time(1000, 1) == 1300);
}

/* RPT-DELIV-12 is the caller's policy: delivered = any destination
 * accepted. What the API gives is the per-destination verdict. */
static void
test_deliv_12_any_destination(void **state)
{
    int https_ok = mtasts_tlsrpt_https_delivered(500);
    int mail_ok = 1; /* the caller's MTA accepted the e-mail */

    (void)state;
    assert_int_equal(https_ok || mail_ok, 1);
    assert_int_equal(mtasts_tlsrpt_https_delivered(500), 0);
    assert_true(mtasts_tlsrpt_retry_time(0, 1) != 0);
}

static void
test_deliv_13_retry(void **state)
{
    const int64_t t0 = 1459555200;
    static const int64_t want[] = {300,  900,   2100,  4500,
                                   9300, 18900, 38100, 76500};
    unsigned k;

    (void)state;
    assert_true(mtasts_tlsrpt_retry_time(t0, 0) == t0);
    for (k = 1; k <= 8; k++)
        assert_true(mtasts_tlsrpt_retry_time(t0, k) == t0 + want[k - 1]);
    for (k = 9; k < 100; k++)
        assert_true(mtasts_tlsrpt_retry_time(t0, k) == 0);
    assert_true(mtasts_tlsrpt_retry_time(t0, 4000000000u) == 0);
    assert_true(mtasts_tlsrpt_retry_time(INT64_MAX - 10, 1) == 0);
}

/* ------------------------------------------------------------------ */
/* RPT-DELIV-16, RPT-DELIV-17: reading a report e-mail */
/* ------------------------------------------------------------------ */

static void
test_deliv_17_dkim(void **state)
{
    mtasts_tlsrpt_report *r, *got = (mtasts_tlsrpt_report *)1;
    mtasts_buf *m;
    const uint8_t *p;
    struct mtasts_diag d = MTASTS_DIAG_INIT;
    size_t n;
    int mis = -1;

    (void)state;
    r = parse_report(sample_json, strlen(sample_json));
    m = build_mail(r, "mail.sender.example.com", MTASTS_DELIVER_F_GZIP);
    p = mtasts_buf_data(m, &n);
    assert_int_equal(mtasts_tlsrpt_mail_ingest(ctx, p, n, MTASTS_DKIM_FAIL, 0,
                                               &got, &mis, &d),
                     MTASTS_REFUSED);
    assert_null(got);
    assert_int_equal(d.code, MTASTS_REFUSED);
    assert_int_equal(
        mtasts_tlsrpt_mail_ingest(ctx, p, n, 7, 0, &got, &mis, NULL),
        MTASTS_REFUSED);
    assert_int_equal(mtasts_tlsrpt_mail_ingest(ctx, p, n, MTASTS_DKIM_PASS, 0,
                                               &got, &mis, &d),
                     MTASTS_OK);
    assert_int_equal(d.code, 0);
    assert_non_null(got);
    assert_int_equal(mis, 0);
    mtasts_tlsrpt_report_free(got);
    /* misuse */
    assert_int_equal(mtasts_tlsrpt_mail_ingest(NULL, p, n, MTASTS_DKIM_PASS, 0,
                                               &got, &mis, NULL),
                     MTASTS_EINVAL);
    assert_int_equal(mtasts_tlsrpt_mail_ingest(ctx, NULL, 5, MTASTS_DKIM_PASS,
                                               0, &got, &mis, NULL),
                     MTASTS_EINVAL);
    assert_int_equal(mtasts_tlsrpt_mail_ingest(ctx, p, n, MTASTS_DKIM_PASS, 0,
                                               NULL, &mis, NULL),
                     MTASTS_EINVAL);
    assert_int_equal(mtasts_tlsrpt_mail_ingest(ctx, p, 0, MTASTS_DKIM_PASS, 0,
                                               &got, &mis, &d),
                     MTASTS_ESYNTAX);
    assert_int_equal(d.reason, MTASTS_R_EMPTY);
    mtasts_buf_free(m);
    mtasts_tlsrpt_report_free(r);
}

/* Replace the first occurrence of from (same length as to) in m. */
static void
patch(uint8_t *m, size_t n, const char *from, const char *to)
{
    const char *s = find(m, n, from);

    assert_non_null(s);
    assert_int_equal(strlen(from), strlen(to));
    memcpy(m + (s - (const char *)m), to, strlen(to));
}

static uint8_t *
ingest_copy(const mtasts_buf *m, size_t *ret_n)
{
    const uint8_t *p = mtasts_buf_data(m, ret_n);
    uint8_t *c = malloc(*ret_n);

    assert_non_null(c);
    memcpy(c, p, *ret_n);
    return c;
}

/* A one-policy report for b.example on 2016-04-01, for the name checks. */
static const char b_example_json[] =
    "{\"organization-name\":\"X\",\"date-range\":{\"start-datetime\":"
    "\"2016-04-01T00:00:00Z\",\"end-datetime\":\"2016-04-01T23:59:59Z\"},"
    "\"contact-info\":\"r@x.example\",\"report-id\":\"1\",\"policies\":[{"
    "\"policy\":{\"policy-type\":\"no-policy-found\",\"policy-domain\":"
    "\"b.example\"},\"summary\":{\"total-successful-session-count\":1,"
    "\"total-failure-session-count\":0}}]}";

static void
test_deliv_16_mismatch(void **state)
{
    mtasts_tlsrpt_report *r, *got = NULL;
    mtasts_buf *m;
    uint8_t *c;
    size_t n, l = 0;
    const char *pd;
    int mis = -1;

    (void)state;
    /* JSON policy-domain b.example; the file name says a.example */
    r = parse_report(b_example_json, strlen(b_example_json));
    m = build_mail(r, "x.example", 0);
    c = ingest_copy(m, &n);
    patch(c, n, "x.example!b.example!", "x.example!a.example!");
    assert_int_equal(mtasts_tlsrpt_mail_ingest(ctx, c, n, MTASTS_DKIM_PASS, 0,
                                               &got, &mis, NULL),
                     MTASTS_OK);
    pd = mtasts_tlsrpt_report_text(got, MTASTS_RF_POLICY_DOMAIN, 0, 0, &l);
    assert_string_equal(pd, "b.example");
    assert_int_equal(mis, 1);
    mtasts_tlsrpt_report_free(got);
    free(c);

    /* the timestamps of the name */
    c = ingest_copy(m, &n);
    patch(c, n, "!1459555199.json", "!1459555198.json");
    assert_int_equal(mtasts_tlsrpt_mail_ingest(ctx, c, n, MTASTS_DKIM_PASS, 0,
                                               &got, &mis, NULL),
                     MTASTS_OK);
    assert_int_equal(mis, 1);
    mtasts_tlsrpt_report_free(got);
    free(c);

    /* the Subject's domain */
    c = ingest_copy(m, &n);
    patch(c, n, "Report Domain: b.example", "Report Domain: c.example");
    assert_int_equal(mtasts_tlsrpt_mail_ingest(ctx, c, n, MTASTS_DKIM_PASS, 0,
                                               &got, &mis, NULL),
                     MTASTS_OK);
    assert_int_equal(mis, 1);
    mtasts_tlsrpt_report_free(got);
    free(c);

    /* unchanged: no mismatch; ret_mismatch may be NULL */
    c = ingest_copy(m, &n);
    assert_int_equal(mtasts_tlsrpt_mail_ingest(ctx, c, n, MTASTS_DKIM_PASS, 0,
                                               &got, &mis, NULL),
                     MTASTS_OK);
    assert_int_equal(mis, 0);
    mtasts_tlsrpt_report_free(got);
    assert_int_equal(mtasts_tlsrpt_mail_ingest(ctx, c, n, MTASTS_DKIM_PASS, 0,
                                               &got, NULL, NULL),
                     MTASTS_OK);
    mtasts_tlsrpt_report_free(got);
    free(c);
    mtasts_buf_free(m);
    mtasts_tlsrpt_report_free(r);
}

/* m[0..n) with the first occurrence of from replaced by to (any length);
 * free() the result. */
static uint8_t *
splice(const mtasts_buf *m, const char *from, const char *to, size_t *ret_n)
{
    size_t n, off, fl = strlen(from), tl = strlen(to);
    const uint8_t *p = mtasts_buf_data(m, &n);
    const char *at = find(p, n, from);
    uint8_t *c;

    assert_non_null(at);
    off = (size_t)(at - (const char *)p);
    c = malloc(n - fl + tl);
    assert_non_null(c);
    memcpy(c, p, off);
    memcpy(c + off, to, tl);
    memcpy(c + off + tl, p + off + fl, n - off - fl);
    *ret_n = n - fl + tl;
    return c;
}

/* RPT-DELIV-16 with the file name in RFC 2231 form (filename*=,
 * filename*0 and filename*1 sections, percent-encoded extended sections): the
 * name is read, so a domain that disagrees is a mismatch and the right name is
 * not. */
static void
test_deliv_16_rfc2231_file_name(void **state)
{
    static const char plain[] =
        "filename=\"x.example!b.example!1459468800!1459555199.json\"";
    static const struct {
        const char *param;
        int mismatch;
    } cases[] = {
        {"filename*=us-ascii'en'x.example%21a.example%21"
         "1459468800%211459555199.json",
         1},
        {"filename*=utf-8''x.example%21b.example%21"
         "1459468800%211459555199.json",
         0},
        {"filename*0=\"x.example!a.exam\";\r\n\tfilename*1=\"ple!1459468800!"
         "1459555199.json\"",
         1},
        {"filename*0*=utf-8''x.example%21b.exam;\r\n\tfilename*1=\"ple!"
         "1459468800!1459555199.json\"",
         0},
        /* out of order: only section 0 is kept, the name is cut short */
        {"filename*1=\"ple!1459468800!1459555199.json\";\r\n\t"
         "filename*0=\"x.example!a.exam\"",
         0},
    };
    mtasts_tlsrpt_report *r, *got = NULL;
    mtasts_buf *m;
    uint8_t *c;
    size_t n, i;
    int mis;

    (void)state;
    r = parse_report(b_example_json, strlen(b_example_json));
    m = build_mail(r, "x.example", 0);
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        c = splice(m, plain, cases[i].param, &n);
        mis = -1;
        assert_int_equal(mtasts_tlsrpt_mail_ingest(ctx, c, n, MTASTS_DKIM_PASS,
                                                   0, &got, &mis, NULL),
                         MTASTS_OK);
        if (mis != cases[i].mismatch)
            fail_msg("case %zu: mismatch %d", i, mis);
        mtasts_tlsrpt_report_free(got);
        free(c);
    }
    mtasts_buf_free(m);
    mtasts_tlsrpt_report_free(r);
}

/* ------------------------------------------------------------------ */
/* Round trips over the corpus reports, and the corpus e-mails           */
/* ------------------------------------------------------------------ */

static const char *const corpus_json[] = {
    "google__mox__test-xmox-nl-2022.json",
    "google__parsedmarc__no-policy-found.json",
    "google-edited__tlsrpt-digest__failure.json",
    "mail.ru__tlsrpt-rs__krvtz.json",
    "microsoft__mox__test-xmox-nl-2023.json",
    "microsoft__tlsrpt-rs__krvtz-tlsa.json",
    "rfc8460-example__stalwart-mail-auth__rpt01.json",
    "mox-style__mox__tlsrptdb-mixed.json",
    "synthetic__sebastka-tlsrpt__failures.json",
    "example__tlsrpt-be__idn-no-policy-found.json",
};

static void
test_round_trip_corpus(void **state)
{
    size_t i;
    unsigned flags;

    (void)state;
    for (i = 0; i < sizeof(corpus_json) / sizeof(corpus_json[0]); i++) {
        char path[1024];
        unsigned char *in;
        size_t len = 0, jl, gl, cl = 0;
        mtasts_tlsrpt_report *r;
        char *json, *dom;
        const char *contact, *at;

        snprintf(path, sizeof(path), "%s/corpus/reports/%s", SRC_DIR,
                 corpus_json[i]);
        in = harness_load(path, &len);
        assert_non_null(in);
        r = parse_report((const char *)in, len);
        json = canonical(r, &jl);
        contact = mtasts_tlsrpt_report_text(r, MTASTS_RF_CONTACT, 0, 0, &cl);
        assert_non_null(contact);
        at = strrchr(contact, '@');
        assert_non_null(at);
        dom = strdup(at + 1);
        for (flags = 0; flags <= MTASTS_DELIVER_F_GZIP; flags++) {
            mtasts_buf *m = build_mail(r, dom, flags);
            mtasts_tlsrpt_report *got = NULL;
            struct mtasts_diag d = MTASTS_DIAG_INIT;
            const uint8_t *p;
            size_t n;
            char *again;
            int mis = -1;

            p = mtasts_buf_data(m, &n);
            check_lines(p, n);
            if (mtasts_tlsrpt_mail_ingest(ctx, p, n, MTASTS_DKIM_PASS, 0, &got,
                                          &mis, &d) != 0)
                fail_msg("%s: ingest %s reason %s", corpus_json[i],
                         mtasts_status_name(d.code),
                         mtasts_reason_name(d.reason));
            again = canonical(got, &gl);
            assert_int_equal(gl, jl);
            assert_memory_equal(again, json, jl);
            /* multi-domain reports disagree with their one file name */
            if (strstr(corpus_json[i], "mixed") == NULL &&
                strstr(corpus_json[i], "synthetic") == NULL)
                assert_int_equal(mis, 0);
            else
                assert_int_equal(mis, 1);
            assert_int_equal(mtasts_tlsrpt_report_warnings(got),
                             mtasts_tlsrpt_report_warnings(r) &
                                 mtasts_tlsrpt_report_warnings(got));
            free(again);
            mtasts_tlsrpt_report_free(got);
            mtasts_buf_free(m);
        }
        free(dom);
        free(json);
        mtasts_tlsrpt_report_free(r);
        free(in);
    }
}

struct eml_case {
    const char *file;
    int rc;
    int mismatch;
    const char *json; /* the attachment as stored in the corpus, or NULL */
};

static const struct eml_case eml_cases[] = {
    {"google-edited__tlsrpt-digest__failure.eml", 0, 1,
     "google-edited__tlsrpt-digest__failure.json"},
    {"google__mail-tls-rpt__fastmaildmarc-2020.eml", 0, 0,
     "google__mail-tls-rpt__fastmaildmarc-2020.json"},
    {"google__mox__test-xmox-nl-2022.eml", 0, 0,
     "google__mox__test-xmox-nl-2022.json"},
    {"google__parsedmarc__no-policy-found.eml", 0, 0,
     "google__parsedmarc__no-policy-found.json"},
    {"google__tlsrpt-digest__success-1.eml", 0, 0,
     "google__tlsrpt-digest__success-1.json"},
    {"google__tlsrpt-digest__success-2.eml", 0, 0,
     "google__tlsrpt-digest__success-2.json"},
    {"google__tlsrpt-rs__krvtz-1.eml", 0, 0, "google__tlsrpt-rs__krvtz-1.json"},
    {"google__tlsrpt-rs__krvtz-2-crlf.eml", 0, 0,
     "google__tlsrpt-rs__krvtz-2-crlf.json"},
    {"mail.ru__tlsrpt-rs__krvtz.eml", 0, 0, "mail.ru__tlsrpt-rs__krvtz.json"},
    {"microsoft__mox__test-xmox-nl-2023.eml", 0, 0,
     "microsoft__mox__test-xmox-nl-2023.json"},
    {"microsoft__tlsrpt-digest__success.eml", 0, 0,
     "microsoft__tlsrpt-digest__success.json"},
    {"microsoft__tlsrpt-rs__krvtz-tlsa.eml", 0, 0,
     "microsoft__tlsrpt-rs__krvtz-tlsa.json"},
    {"not-a-report__tlsrpt-rs__cron-mail.eml", MTASTS_ESYNTAX, 0, NULL},
    /* the RFC example message: Subject, name and JSON disagree */
    {"rfc8460-example__stalwart-mail-auth__rpt01.eml", 0, 1,
     "rfc8460-example__stalwart-mail-auth__rpt01.json"},
    {"rfc8460-example__stalwart-mail-auth__rpt02-uncompressed.eml", 0, 1, NULL},
    {"rfc8460-example__tlsrpt-be__test.eml", 0, 1,
     "rfc8460-example__tlsrpt-be__test.json"},
};

static void
test_corpus_emails(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(eml_cases) / sizeof(eml_cases[0]); i++) {
        const struct eml_case *c = &eml_cases[i];
        char path[1024];
        unsigned char *in, *exact;
        size_t len = 0;
        mtasts_tlsrpt_report *got = NULL;
        struct mtasts_diag d = MTASTS_DIAG_INIT;
        int mis = -1, rc;

        snprintf(path, sizeof(path), "%s/corpus/reports/%s", SRC_DIR, c->file);
        in = harness_load(path, &len);
        assert_non_null(in);
        exact = malloc(len); /* exactly len bytes: ASan sees overreads */
        assert_non_null(exact);
        memcpy(exact, in, len);
        rc = mtasts_tlsrpt_mail_ingest(ctx, exact, len, MTASTS_DKIM_PASS, 0,
                                       &got, &mis, &d);
        if (rc != c->rc)
            fail_msg("%s: %s (reason %s at %zu), expected %s", c->file,
                     mtasts_status_name(rc), mtasts_reason_name(d.reason),
                     d.offset, mtasts_status_name(c->rc));
        assert_int_equal(d.code, rc);
        if (rc != 0) {
            assert_null(got);
            assert_int_equal(d.reason, MTASTS_R_NOT_FOUND);
        } else {
            if (mis != c->mismatch)
                fail_msg("%s: mismatch %d", c->file, mis);
            if (c->json != NULL) {
                unsigned char *j;
                size_t jl = 0, al, bl;
                mtasts_tlsrpt_report *want;
                char *a, *b;

                snprintf(path, sizeof(path), "%s/corpus/reports/%s", SRC_DIR,
                         c->json);
                j = harness_load(path, &jl);
                assert_non_null(j);
                want = parse_report((const char *)j, jl);
                a = canonical(want, &al);
                b = canonical(got, &bl);
                assert_int_equal(al, bl);
                assert_memory_equal(a, b, al);
                free(a);
                free(b);
                mtasts_tlsrpt_report_free(want);
                free(j);
            }
            mtasts_tlsrpt_report_free(got);
        }
        free(exact);
        free(in);
    }
}

/* ------------------------------------------------------------------ */
/* MIME torture                                                         */
/* ------------------------------------------------------------------ */

static int
ingest_text(const char *msg, int *ret_mis, struct mtasts_diag *d)
{
    mtasts_tlsrpt_report *got = NULL;
    size_t n = strlen(msg);
    uint8_t *c = malloc(n + 1);
    int rc;

    assert_non_null(c);
    memcpy(c, msg, n);
    rc = mtasts_tlsrpt_mail_ingest(ctx, c, n, MTASTS_DKIM_PASS, 0, &got,
                                   ret_mis, d);
    assert_int_equal(rc == 0, got != NULL);
    if (d != NULL)
        assert_int_equal(d->code, rc);
    mtasts_tlsrpt_report_free(got);
    free(c);
    return rc;
}

#define MINI_JSON                                                          \
    "{\"organization-name\":\"X\",\"date-range\":{\"start-datetime\":"     \
    "\"2016-04-01T00:00:00Z\",\"end-datetime\":\"2016-04-01T23:59:59Z\"}," \
    "\"contact-info\":\"r@x.example\",\"report-id\":\"1\",\"policies\":[]}"

static void
test_mime_variants(void **state)
{
    struct mtasts_diag d = MTASTS_DIAG_INIT;
    int mis;

    (void)state;
    /* a bare report part as the whole message, LF line ends */
    assert_int_equal(ingest_text("Subject: x\nContent-Type: "
                                 "application/tlsrpt+json\n\n" MINI_JSON "\n",
                                 &mis, &d),
                     0);
    /* mbox "From " line first */
    assert_int_equal(
        ingest_text("From a@b Thu Jan  1 00:00:00 1970\nContent-Type: "
                    "application/tlsrpt+json\n\n" MINI_JSON "\n",
                    &mis, &d),
        0);
    /* quoted-printable JSON attachment found by its name, nested in
     * multipart/mixed, folded parameters */
    assert_int_equal(
        ingest_text(
            "Content-Type: multipart/mixed;\r\n boundary=outer\r\n\r\n"
            "preamble\r\n--outer\r\nContent-Type: text/plain\r\n\r\nhi\r\n"
            "--outer\r\nContent-Type: multipart/report; report-type=tlsrpt;"
            "\r\n\tboundary=\"in ner\"\r\n\r\n--in ner\r\nContent-Type: "
            "application/octet-stream;\r\n name=\"x.example!y.example!"
            "1459468800!1459555199.json\"\r\nContent-Transfer-Encoding: "
            "Quoted-Printable\r\n\r\n{\"organization-name\"=3A\"X\",\"date-"
            "range\":{\"start-datetime\":=\r\n\"2016-04-01T00:00:00Z\","
            "\"end-datetime\":\"2016-04-01T23:59:59Z\"},\"contact-info\":"
            "\"r@x.example\",\"report-id\":\"1\",\"policies\":[]}\r\n"
            "--in ner--\r\n--outer--\r\nepilogue\r\n",
            &mis, &d),
        0);
    assert_int_equal(mis, 0);
    /* an attachment named .json.gz of type application/gzip: the gzip of
     * MINI_JSON made by the library, base64 without padding or line
     * breaks is tolerated */
    {
        mtasts_buf *gz = NULL;
        const uint8_t *g;
        size_t gl, i, k = 0;
        static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
                                  "qrstuvwxyz0123456789+/";
        char msg[4096];

        assert_int_equal(mtasts_gzip(ctx, (const uint8_t *)MINI_JSON,
                                     strlen(MINI_JSON), 6, &gz),
                         0);
        g = mtasts_buf_data(gz, &gl);
        k = (size_t)snprintf(msg, sizeof(msg),
                             "Content-Type: multipart/report; boundary=b\r\n"
                             "\r\n--b\r\nContent-Type: application/gzip\r\n"
                             "Content-Disposition: attachment; filename=r."
                             "JSON.GZ\r\nContent-Transfer-Encoding: BASE64"
                             "\r\n\r\n");
        for (i = 0; i < gl; i += 3) {
            uint32_t v = (uint32_t)g[i] << 16;
            if (i + 1 < gl)
                v |= (uint32_t)g[i + 1] << 8;
            if (i + 2 < gl)
                v |= g[i + 2];
            msg[k++] = tab[v >> 18 & 63];
            msg[k++] = tab[v >> 12 & 63];
            if (i + 1 < gl)
                msg[k++] = tab[v >> 6 & 63];
            if (i + 2 < gl)
                msg[k++] = tab[v & 63];
            if (i % 30 == 0)
                msg[k++] = ' ';
        }
        k += (size_t)snprintf(msg + k, sizeof(msg) - k, "\r\n--b--\r\n");
        assert_int_equal(ingest_text(msg, &mis, &d), 0);
        /* a bad base64 character */
        msg[k - 12] = '*';
        assert_int_equal(ingest_text(msg, &mis, &d), MTASTS_ESYNTAX);
        mtasts_buf_free(gz);
    }
    /* no report part */
    assert_int_equal(ingest_text("Content-Type: multipart/mixed; boundary=b"
                                 "\r\n\r\n--b\r\nContent-Type: text/plain\r\n"
                                 "\r\nx.json\r\n--b--\r\n",
                                 &mis, &d),
                     MTASTS_ESYNTAX);
    assert_int_equal(d.reason, MTASTS_R_NOT_FOUND);
    /* multipart without boundary: nothing to read */
    assert_int_equal(
        ingest_text("Content-Type: multipart/report\r\n\r\nx\r\n", &mis, &d),
        MTASTS_ESYNTAX);
    assert_int_equal(d.reason, MTASTS_R_NOT_FOUND);
    /* not a message at all */
    assert_int_equal(ingest_text("hello world\r\n", &mis, &d), MTASTS_ESYNTAX);
    assert_int_equal(d.reason, MTASTS_R_MIME);
    assert_int_equal(ingest_text(" folded: first\r\n\r\n", &mis, &d),
                     MTASTS_ESYNTAX);
    /* an unknown transfer encoding */
    assert_int_equal(ingest_text("Content-Type: application/tlsrpt+json\r\n"
                                 "Content-Transfer-Encoding: x-uue\r\n\r\n"
                                 "{}",
                                 &mis, &d),
                     MTASTS_ESYNTAX);
    /* the report itself invalid: the parser's diagnostic */
    assert_int_equal(ingest_text("Content-Type: application/tlsrpt+json\r\n"
                                 "\r\n{\"a\":",
                                 &mis, &d),
                     MTASTS_ESYNTAX);
    assert_true(d.reason != MTASTS_R_NONE);
    /* strict parse: a tolerated deviation gives MTASTS_ESTRICT */
    {
        mtasts_tlsrpt_report *got = NULL;
        static const char m[] =
            "Content-Type: application/tlsrpt+json\r\n\r\n"
            "{\"organization-name\":\"X\",\"date-range\":{\"start-datetime\":"
            "\"2016-04-01T00:00:00\",\"end-datetime\":\"2016-04-01T23:59:59Z"
            "\"},\"contact-info\":\"r@x.example\",\"report-id\":\"1\","
            "\"policies\":[]}";
        assert_int_equal(mtasts_tlsrpt_mail_ingest(ctx, (const uint8_t *)m,
                                                   strlen(m), MTASTS_DKIM_PASS,
                                                   MTASTS_PARSE_F_STRICT, &got,
                                                   NULL, &d),
                         MTASTS_ESTRICT);
        assert_null(got);
        assert_int_equal(mtasts_tlsrpt_mail_ingest(ctx, (const uint8_t *)m,
                                                   strlen(m), MTASTS_DKIM_PASS,
                                                   0, &got, NULL, &d),
                         MTASTS_OK);
        assert_true(d.warnings != 0);
        mtasts_tlsrpt_report_free(got);
    }
}

static void
test_mime_limits(void **state)
{
    struct mtasts_diag d = MTASTS_DIAG_INIT;
    char *msg = malloc(200000);
    size_t k = 0;
    int i, mis;

    (void)state;
    assert_non_null(msg);
    /* nesting deeper than the limit */
    for (i = 0; i < 20; i++)
        k += (size_t)sprintf(msg + k,
                             "Content-Type: multipart/mixed; boundary=b%d"
                             "\r\n\r\n--b%d\r\n",
                             i, i);
    k += (size_t)sprintf(msg + k, "Content-Type: application/tlsrpt+json"
                                  "\r\n\r\n" MINI_JSON "\r\n");
    msg[k] = '\0';
    assert_int_equal(ingest_text(msg, &mis, &d), MTASTS_ETOOBIG);
    assert_int_equal(d.reason, MTASTS_R_TOO_BIG);
    /* too many parts */
    k = (size_t)sprintf(msg, "Content-Type: multipart/mixed; boundary=b"
                             "\r\n\r\n");
    for (i = 0; i < 1000; i++)
        k += (size_t)sprintf(msg + k, "--b\r\n\r\nx\r\n");
    k += (size_t)sprintf(msg + k, "--b--\r\n");
    assert_int_equal(ingest_text(msg, &mis, &d), MTASTS_ETOOBIG);
    /* a few parts before the report are fine */
    k = (size_t)sprintf(msg, "Content-Type: multipart/mixed; boundary=b"
                             "\r\n\r\n");
    for (i = 0; i < 20; i++)
        k += (size_t)sprintf(msg + k, "--b\r\n\r\nx\r\n");
    k += (size_t)sprintf(msg + k, "--b\r\nContent-Type: application/tlsrpt+"
                                  "json\r\n\r\n" MINI_JSON "\r\n--b--\r\n");
    assert_int_equal(ingest_text(msg, &mis, &d), 0);
    free(msg);

    /* the gunzip cap applies to the attachment */
    {
        mtasts_tlsrpt_report *r =
            parse_report(sample_json, strlen(sample_json));
        mtasts_buf *m =
            build_mail(r, "mail.sender.example.com", MTASTS_DELIVER_F_GZIP);
        mtasts_tlsrpt_report *got = NULL;
        const uint8_t *p;
        size_t n;

        p = mtasts_buf_data(m, &n);
        assert_int_equal(
            mtasts_ctx_set_limit(ctx, MTASTS_LIMIT_GUNZIP_SIZE, 100), 0);
        assert_int_equal(mtasts_tlsrpt_mail_ingest(ctx, p, n, MTASTS_DKIM_PASS,
                                                   0, &got, NULL, &d),
                         MTASTS_ETOOBIG);
        assert_null(got);
        assert_int_equal(mtasts_ctx_set_limit(ctx, MTASTS_LIMIT_GUNZIP_SIZE,
                                              MTASTS_GUNZIP_MAX_DEFAULT),
                         0);
        /* and MTASTS_PARSE_F_NO_GZIP refuses the gzip attachment */
        assert_int_not_equal(
            mtasts_tlsrpt_mail_ingest(ctx, p, n, MTASTS_DKIM_PASS,
                                      MTASTS_PARSE_F_NO_GZIP, &got, NULL, &d),
            MTASTS_OK);
        assert_null(got);
        mtasts_buf_free(m);
        mtasts_tlsrpt_report_free(r);
    }
}

/* RPT-DELIV-15: a payload over 10 MB is flagged so the sender can warn */
static void
test_too_large_RPT_DELIV_15(void **state)
{
    (void)state;
    assert_int_equal(mtasts_tlsrpt_too_large(11 * 1000 * 1000), 1);
    assert_int_equal(mtasts_tlsrpt_too_large(MTASTS_REPORT_WARN_SIZE), 0);
    assert_int_equal(mtasts_tlsrpt_too_large(MTASTS_REPORT_WARN_SIZE + 1), 1);
    assert_int_equal(mtasts_tlsrpt_too_large(0), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_deliv_1_filename, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deliv_2_extension_unique_id, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_deliv_3_sender_a_labels, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_deliv_4_9_https_body, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_deliv_4_ratio, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_deliv_4_system_gunzip_of_attachment, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deliv_5_mime_structure, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_deliv_6_submitter, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_deliv_7_subject, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deliv_7_subject_folded, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_deliv_8_dkim_friendly, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_deliv_8_long_headers, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_deliv_11_status, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deliv_12_any_destination, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_deliv_13_retry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deliv_16_rfc2231_file_name, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_deliv_16_mismatch, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_deliv_17_dkim, setup, teardown),
        cmocka_unit_test_setup_teardown(test_round_trip_corpus, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_corpus_emails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mime_variants, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mime_limits, setup, teardown),
        cmocka_unit_test(test_too_large_RPT_DELIV_15),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
