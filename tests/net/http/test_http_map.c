/*
 * The failure mapping of libmtasts-net (mtn_http_map(), net/http.c)
 * against its documentation, code by code, and the certificate date
 * parser (mtn_http_parse_date()).
 *
 *   test_net_http_map PATH/TO/net/doc/mtasts_net_new.3
 *
 * The FAILURE MAPPING section of the page holds three tables (fetch
 * outcome and TLS outcome of a CURLcode, certificate outcome of a verify
 * result). Each is read from the page: a class per ".It Dv MTASTS_..."
 * line, a code per ".Dv NAME Pq N" line, the class of the codes not
 * listed where the text says "every other". Then every CURLcode libcurl
 * knows (and some it does not) and every verify result 0..255 must map as
 * the page says; each name on the page must have the number the headers
 * give it. Independent expectations (the cases observed against real
 * servers) are checked as well, so that the page and the code cannot
 * agree on a wrong table.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <openssl/x509_vfy.h>

#include "net_int.h"

#define NTABLES  3
#define MAX_CODE 256

static const char *doc_path;

struct named {
    const char *name;
    long value;
};

#define N(x)          \
    {                 \
#x, (long)(x) \
    }

static const struct named class_names[] = {
    N(MTASTS_FETCH_OK),
    N(MTASTS_FETCH_CONNECT),
    N(MTASTS_FETCH_TIMEOUT),
    N(MTASTS_FETCH_TLS),
    N(MTASTS_FETCH_CERT),
    N(MTASTS_FETCH_TOO_BIG),
    N(MTASTS_FETCH_ERROR),
    N(MTASTS_TLS_NOT_TRIED),
    N(MTASTS_TLS_OK),
    N(MTASTS_TLS_NO_STARTTLS),
    N(MTASTS_TLS_CERT_HOST_MISMATCH),
    N(MTASTS_TLS_CERT_EXPIRED),
    N(MTASTS_TLS_CERT_UNTRUSTED),
    N(MTASTS_TLS_FAILED),
};

/* The codes the page may name, with the headers' numbers. */
static const struct named code_names[] = {
    N(CURLE_OK),
    N(CURLE_COULDNT_RESOLVE_PROXY),
    N(CURLE_COULDNT_RESOLVE_HOST),
    N(CURLE_COULDNT_CONNECT),
    N(CURLE_WEIRD_SERVER_REPLY),
    N(CURLE_HTTP2),
    N(CURLE_PARTIAL_FILE),
    N(CURLE_WRITE_ERROR),
    N(CURLE_OUT_OF_MEMORY),
    N(CURLE_OPERATION_TIMEDOUT),
    N(CURLE_SSL_CONNECT_ERROR),
    N(CURLE_INTERFACE_FAILED),
    N(CURLE_GOT_NOTHING),
    N(CURLE_SSL_ENGINE_NOTFOUND),
    N(CURLE_SSL_ENGINE_SETFAILED),
    N(CURLE_SEND_ERROR),
    N(CURLE_RECV_ERROR),
    N(CURLE_SSL_CERTPROBLEM),
    N(CURLE_SSL_CIPHER),
    N(CURLE_PEER_FAILED_VERIFICATION),
    N(CURLE_BAD_CONTENT_ENCODING),
    N(CURLE_FILESIZE_EXCEEDED),
    N(CURLE_USE_SSL_FAILED),
    N(CURLE_SSL_ENGINE_INITFAILED),
    N(CURLE_SSL_CACERT_BADFILE),
    N(CURLE_SSL_SHUTDOWN_FAILED),
    N(CURLE_SSL_CRL_BADFILE),
    N(CURLE_SSL_ISSUER_ERROR),
    N(CURLE_SSL_PINNEDPUBKEYNOTMATCH),
    N(CURLE_SSL_INVALIDCERTSTATUS),
    N(CURLE_HTTP2_STREAM),
    N(CURLE_QUIC_CONNECT_ERROR),
    N(CURLE_PROXY),
    N(CURLE_SSL_CLIENTCERT),
    N(X509_V_OK),
    N(X509_V_ERR_UNSPECIFIED),
    N(X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT),
    N(X509_V_ERR_CERT_SIGNATURE_FAILURE),
    N(X509_V_ERR_CERT_NOT_YET_VALID),
    N(X509_V_ERR_CERT_HAS_EXPIRED),
    N(X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT),
    N(X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN),
    N(X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY),
    N(X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE),
    N(X509_V_ERR_CERT_REVOKED),
    N(X509_V_ERR_CERT_UNTRUSTED),
    N(X509_V_ERR_CERT_REJECTED),
    N(X509_V_ERR_HOSTNAME_MISMATCH),
    N(X509_V_ERR_INVALID_CA),
};

/* The tables of the page: class[t][code] (-1: not listed), and the class
 * of the codes not listed. */
struct doc {
    int class_of[NTABLES][MAX_CODE];
    int other[NTABLES];
    size_t listed[NTABLES];
};

static int
lookup(const struct named *t, size_t n, const char *name, size_t len,
       long *value)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (strlen(t[i].name) == len && memcmp(t[i].name, name, len) == 0) {
            *value = t[i].value;
            return 1;
        }
    return 0;
}

/* ".Dv NAME Pq N" with an optional " ," or " ." after it. */
static int
code_line(const char *line, const char **name, size_t *name_len, long *num)
{
    const char *p = line + 4, *e;
    long v = 0;

    if (strncmp(line, ".Dv ", 4) != 0)
        return 0;
    e = strchr(p, ' ');
    if (e == NULL || strncmp(e, " Pq ", 4) != 0)
        return 0;
    *name = p;
    *name_len = (size_t)(e - p);
    p = e + 4;
    if (*p < '0' || *p > '9')
        return 0;
    while (*p >= '0' && *p <= '9')
        v = v * 10 + (*p++ - '0');
    if (strcmp(p, "") != 0 && strcmp(p, " ,") != 0 && strcmp(p, " .") != 0)
        return 0;
    *num = v;
    return 1;
}

static void
read_doc(struct doc *d)
{
    FILE *f = fopen(doc_path, "r");
    char line[512];
    int in_section = 0, t = -1, cls = -1, i;

    if (f == NULL)
        fail_msg("cannot open %s", doc_path);
    memset(d, 0, sizeof(*d));
    for (t = 0; t < NTABLES; t++) {
        d->other[t] = -1;
        for (i = 0; i < MAX_CODE; i++)
            d->class_of[t][i] = -1;
    }
    t = -1;
    while (fgets(line, sizeof(line), f) != NULL) {
        const char *name;
        size_t name_len;
        long num = 0, value = 0;

        line[strcspn(line, "\n")] = '\0';
        if (strncmp(line, ".Sh ", 4) == 0) {
            in_section = strcmp(line, ".Sh FAILURE MAPPING") == 0;
            t = -1;
            continue;
        }
        if (!in_section)
            continue;
        if (strncmp(line, ".Ss ", 4) == 0) {
            t = strstr(line, "Fetch outcome") != NULL   ? 0
                : strstr(line, "TLS outcome") != NULL   ? 1
                : strstr(line, "verify result") != NULL ? 2
                                                        : -1;
            cls = -1;
            continue;
        }
        if (t < 0)
            continue;
        if (strncmp(line, ".It Dv ", 7) == 0) {
            if (!lookup(class_names,
                        sizeof(class_names) / sizeof(class_names[0]), line + 7,
                        strlen(line + 7), &value))
                fail_msg("unknown class: %s", line);
            cls = (int)value;
            continue;
        }
        if (strncmp(line, ".El", 3) == 0) {
            cls = -1;
            continue;
        }
        if (cls < 0)
            continue;
        if (strstr(line, "very other") != NULL) {
            if (d->other[t] >= 0)
                fail_msg("table %d: two \"every other\" classes", t);
            d->other[t] = cls;
        }
        if (!code_line(line, &name, &name_len, &num))
            continue;
        if (!lookup(code_names, sizeof(code_names) / sizeof(code_names[0]),
                    name, name_len, &value))
            fail_msg("the page names %.*s, unknown to this test", (int)name_len,
                     name);
        if (value != num)
            fail_msg("the page says %.*s is %ld; the headers say %ld",
                     (int)name_len, name, num, value);
        if (num < 0 || num >= MAX_CODE)
            fail_msg("%.*s: %ld out of range", (int)name_len, name, num);
        if (d->class_of[t][num] >= 0)
            fail_msg("table %d lists %.*s twice", t, (int)name_len, name);
        d->class_of[t][num] = cls;
        d->listed[t]++;
    }
    fclose(f);
    for (t = 0; t < NTABLES; t++) {
        if (d->listed[t] == 0 || d->other[t] < 0)
            fail_msg("table %d of FAILURE MAPPING: %zu codes, class of "
                     "the others %d",
                     t, d->listed[t], d->other[t]);
    }
}

static int
doc_class(const struct doc *d, int t, long code)
{
    if (code >= 0 && code < MAX_CODE && d->class_of[t][code] >= 0)
        return d->class_of[t][code];
    return d->other[t];
}

/* Every CURLcode (and codes a later libcurl may add, and nonsense) maps
 * as the page says. */
static void
test_map_matches_doc(void **state)
{
    static struct doc d;
    int code, transport, tls;
    long v;

    (void)state;
    read_doc(&d);
    for (code = -5; code < (int)CURL_LAST + 50; code++) {
        transport = tls = -1;
        mtn_http_map(code, X509_V_OK, &transport, &tls);
        if (transport != doc_class(&d, 0, code))
            fail_msg("CURLcode %d (%s): transport %d, the page says %d", code,
                     curl_easy_strerror((CURLcode)code), transport,
                     doc_class(&d, 0, code));
        if (code == CURLE_PEER_FAILED_VERIFICATION)
            continue;
        if (tls != doc_class(&d, 1, code))
            fail_msg("CURLcode %d (%s): tls %d, the page says %d", code,
                     curl_easy_strerror((CURLcode)code), tls,
                     doc_class(&d, 1, code));
        /* the verify result only matters to certificate failures */
        mtn_http_map(code, X509_V_ERR_CERT_HAS_EXPIRED, NULL, &tls);
        assert_int_equal(tls, doc_class(&d, 1, code));
    }
    for (v = -1; v < MAX_CODE; v++) {
        mtn_http_map(CURLE_PEER_FAILED_VERIFICATION, v, &transport, &tls);
        assert_int_equal(transport, MTASTS_FETCH_CERT);
        if (tls != doc_class(&d, 2, v))
            fail_msg("verify result %ld: tls %d, the page says %d", v, tls,
                     doc_class(&d, 2, v));
    }
}

struct expect {
    int code;
    long verify;
    int transport, tls;
};

/* What the cases against real servers (tests/net/http/test_http.py)
 * showed libcurl 7.88 / OpenSSL 3.0 to return, and the brief's table. */
static void
test_map_expectations(void **state)
{
    static const struct expect e[] = {
        {CURLE_OK, X509_V_OK, MTASTS_FETCH_OK, MTASTS_TLS_OK},
        {CURLE_COULDNT_CONNECT, 0, MTASTS_FETCH_CONNECT, MTASTS_TLS_NOT_TRIED},
        {CURLE_COULDNT_RESOLVE_HOST, 0, MTASTS_FETCH_CONNECT,
         MTASTS_TLS_NOT_TRIED},
        {CURLE_OPERATION_TIMEDOUT, 0, MTASTS_FETCH_TIMEOUT,
         MTASTS_TLS_NOT_TRIED},
        /* TLS 1.1 only, or no TLS at all */
        {CURLE_SSL_CONNECT_ERROR, 1, MTASTS_FETCH_TLS, MTASTS_TLS_FAILED},
        {CURLE_SSL_CIPHER, 0, MTASTS_FETCH_TLS, MTASTS_TLS_FAILED},
        {CURLE_USE_SSL_FAILED, 0, MTASTS_FETCH_TLS, MTASTS_TLS_NO_STARTTLS},
        /* expired, not yet valid */
        {CURLE_PEER_FAILED_VERIFICATION, X509_V_ERR_CERT_HAS_EXPIRED,
         MTASTS_FETCH_CERT, MTASTS_TLS_CERT_EXPIRED},
        {CURLE_PEER_FAILED_VERIFICATION, X509_V_ERR_CERT_NOT_YET_VALID,
         MTASTS_FETCH_CERT, MTASTS_TLS_CERT_EXPIRED},
        /* untrusted CA, self-signed */
        {CURLE_PEER_FAILED_VERIFICATION,
         X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, MTASTS_FETCH_CERT,
         MTASTS_TLS_CERT_UNTRUSTED},
        {CURLE_PEER_FAILED_VERIFICATION, X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT,
         MTASTS_FETCH_CERT, MTASTS_TLS_CERT_UNTRUSTED},
        {CURLE_PEER_FAILED_VERIFICATION, X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN,
         MTASTS_FETCH_CERT, MTASTS_TLS_CERT_UNTRUSTED},
        /* wrong name: libcurl's own check leaves the result at 1 */
        {CURLE_PEER_FAILED_VERIFICATION, X509_V_ERR_UNSPECIFIED,
         MTASTS_FETCH_CERT, MTASTS_TLS_CERT_HOST_MISMATCH},
        {CURLE_PEER_FAILED_VERIFICATION, X509_V_ERR_HOSTNAME_MISMATCH,
         MTASTS_FETCH_CERT, MTASTS_TLS_CERT_HOST_MISMATCH},
        {CURLE_PEER_FAILED_VERIFICATION, X509_V_ERR_CERT_REVOKED,
         MTASTS_FETCH_CERT, MTASTS_TLS_FAILED},
        /* the issue's example: a bad CA file is a certificate failure */
        {CURLE_SSL_CACERT_BADFILE, 1, MTASTS_FETCH_CERT, MTASTS_TLS_FAILED},
        {CURLE_SSL_ISSUER_ERROR, 0, MTASTS_FETCH_CERT,
         MTASTS_TLS_CERT_UNTRUSTED},
        {CURLE_FILESIZE_EXCEEDED, 0, MTASTS_FETCH_TOO_BIG,
         MTASTS_TLS_NOT_TRIED},
        /* a write error is too big only by the fetch's own flag */
        {CURLE_WRITE_ERROR, 0, MTASTS_FETCH_ERROR, MTASTS_TLS_NOT_TRIED},
        {CURLE_RECV_ERROR, 0, MTASTS_FETCH_ERROR, MTASTS_TLS_NOT_TRIED},
        {CURLE_GOT_NOTHING, 0, MTASTS_FETCH_ERROR, MTASTS_TLS_NOT_TRIED},
        {CURLE_WEIRD_SERVER_REPLY, 0, MTASTS_FETCH_ERROR, MTASTS_TLS_NOT_TRIED},
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(e) / sizeof(e[0]); i++) {
        int transport = -1, tls = -1;

        mtn_http_map(e[i].code, e[i].verify, &transport, &tls);
        if (transport != e[i].transport || tls != e[i].tls)
            fail_msg("code %d verify %ld: got (%d, %d), expected (%d, %d)",
                     e[i].code, e[i].verify, transport, tls, e[i].transport,
                     e[i].tls);
    }
    /* the out-pointers are optional */
    mtn_http_map(CURLE_OK, 0, NULL, NULL);
}

struct date_case {
    const char *text;
    int64_t t;
};

static void
test_parse_date(void **state)
{
    static const struct date_case c[] = {
        /* OpenSSL's ASN1_TIME_print(), as libcurl's CERTINFO gives it */
        {"Jan  1 00:00:00 2021 GMT", 1609459200},
        {"Dec 31 23:59:59 2039 GMT", 2208988799},
        {"Feb 29 12:00:00 2024 GMT", 1709208000},
        {"Mar  5 01:02:03 2030 GMT", 1898902923},
        {"Mar 05 01:02:03 2030 GMT", 1898902923},
        {"Mar  5 01:02:03.25 2030 GMT", 1898902923},
        {"  Mar  5 01:02:03 2030 GMT  ", 1898902923},
        {"Feb 29 00:00:00 2000 GMT", 951782400},
        {"Mar  1 00:00:00 2100 GMT", 4107542400},
        {"Dec 31 23:59:59 9999 GMT", 253402300799},
        {"Jan  1 00:00:01 1970 GMT", 1},
        {"Dec 31 23:59:60 2016 GMT", 1483228799}, /* a leap second */
        /* ISO 8601 and libcurl's own x509 text */
        {"2030-03-05 01:02:03 GMT", 1898902923},
        {"2030-03-05 01:02:03Z", 1898902923},
        {"2030-03-05T01:02:03Z", 1898902923},
        {"2030-03-05 01:02:03", 1898902923},
        {"2030-03-05 01:02:03 UTC", 1898902923},
        /* not dates: 0 */
        {"", 0},
        {"   ", 0},
        {"Foo  1 00:00:00 2021 GMT", 0},
        {"jan  1 00:00:00 2021 GMT", 0},
        {"Jan 32 00:00:00 2021 GMT", 0},
        {"Jan  0 00:00:00 2021 GMT", 0},
        {"Feb 29 00:00:00 2023 GMT", 0},
        {"Feb 29 00:00:00 1900 GMT", 0},
        {"Apr 31 00:00:00 2021 GMT", 0},
        {"Jan  1 24:00:00 2021 GMT", 0},
        {"Jan  1 00:60:00 2021 GMT", 0},
        {"Jan  1 00:00:61 2021 GMT", 0},
        {"Jan  1 00:00 2021 GMT", 0},
        {"Jan  1 00:00:00 21 GMT", 0},
        {"Jan  1 00:00:00 2021 GMT x", 0},
        {"Jan  1 00:00:00. 2021 GMT", 0},
        {"Jan  1 00:00:00 2021 EST", 0},
        {"Jan  1 00:00:00 1969 GMT", 0}, /* before the epoch */
        {"2030-13-05 01:02:03", 0},
        {"2030-3-05 01:02:03", 0},
        {"2030-03-05", 0},
        {"2030-03-05 01:02", 0},
        {"20300305010203Z", 0},
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
        int64_t t = mtn_http_parse_date(c[i].text, strlen(c[i].text));

        if (t != c[i].t)
            fail_msg("\"%s\": %lld, expected %lld", c[i].text, (long long)t,
                     (long long)c[i].t);
    }
    /* the length bounds the text: no read past it, no NUL needed */
    assert_int_equal(mtn_http_parse_date("Jan  1 00:00:00 2021 GMTxxx", 24),
                     1609459200);
    assert_int_equal(mtn_http_parse_date("Jan  1 00:00:00 2021 GMT", 20),
                     1609459200);
    assert_int_equal(mtn_http_parse_date("Jan  1 00:00:00 2021 GMT", 19), 0);
    assert_int_equal(mtn_http_parse_date(NULL, 0), 0);
}

int
main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_map_matches_doc),
        cmocka_unit_test(test_map_expectations),
        cmocka_unit_test(test_parse_date),
    };

    if (argc != 2) {
        fprintf(stderr, "usage: %s PATH/TO/net/doc/mtasts_net_new.3\n",
                argv[0]);
        return 2;
    }
    doc_path = argv[1];
    return cmocka_run_group_tests(tests, NULL, NULL);
}
