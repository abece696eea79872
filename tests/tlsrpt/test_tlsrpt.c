/*
 * Tests of the _smtp._tls TXT record (src/tlsrpt_record.c): parse, select,
 * build, format, the query name and the getters.
 *
 * Run without arguments for the functional suite, with "--oom" for the
 * allocation-failure sweep. Every test uses its own counting allocator,
 * which checks that each free passes the size that was allocated and that
 * nothing leaks. The requirement a test covers (doc/requirements.md section 9)
 * is named next to it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mtasts.h"
#include "harness.h"

struct fixture {
    mtasts_ctx *ctx;
};

static int
setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    f->ctx = harness_ctx_try();
    assert_non_null(f->ctx);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *f = *state;

    mtasts_ctx_free(f->ctx);
    assert_int_equal(harness_leaks(), 0);
    assert_int_equal(harness_errors(), 0);
    free(f);
    return 0;
}

/* ---- helpers ---- */

#define WB(w) MTASTS_WARN_BIT(MTASTS_W_##w)

static mtasts_tlsrpt_record *
parse_ok(mtasts_ctx *ctx, const char *s, uint64_t warnings)
{
    struct mtasts_diag d = MTASTS_DIAG_INIT;
    mtasts_tlsrpt_record *rec = NULL;

    assert_int_equal(mtasts_tlsrpt_record_parse(ctx, s, strlen(s), 0, &rec, &d),
                     MTASTS_OK);
    assert_non_null(rec);
    assert_int_equal(d.code, 0);
    assert_int_equal(d.warnings, warnings);
    assert_int_equal(mtasts_tlsrpt_record_warnings(rec), warnings);
    return rec;
}

/* Parse must fail with rc, reason and offset, in default and strict mode. */
static void
parse_bad(mtasts_ctx *ctx, const char *s, size_t len, int rc, int reason,
          size_t off)
{
    struct mtasts_diag d = MTASTS_DIAG_INIT;
    mtasts_tlsrpt_record *rec = (mtasts_tlsrpt_record *)&d;
    unsigned flags;

    for (flags = 0; flags <= MTASTS_PARSE_F_STRICT; flags++) {
        assert_int_equal(
            mtasts_tlsrpt_record_parse(ctx, s, len, flags, &rec, &d), rc);
        assert_null(rec);
        assert_int_equal(d.code, rc);
        assert_int_equal(d.reason, reason);
        assert_int_equal(d.offset, off);
        assert_int_equal(d.line, 1);
    }
}

static void
parse_bad_s(mtasts_ctx *ctx, const char *s, int reason, size_t off)
{
    parse_bad(ctx, s, strlen(s), MTASTS_ESYNTAX, reason, off);
}

/* Strict parse of s fails with ESTRICT carrying the warnings. */
static void
strict_refuses(mtasts_ctx *ctx, const char *s, uint64_t warnings, size_t woff)
{
    struct mtasts_diag d = MTASTS_DIAG_INIT;
    mtasts_tlsrpt_record *rec = NULL;

    assert_int_equal(mtasts_tlsrpt_record_parse(
                         ctx, s, strlen(s), MTASTS_PARSE_F_STRICT, &rec, &d),
                     MTASTS_ESTRICT);
    assert_null(rec);
    assert_int_equal(d.code, MTASTS_ESTRICT);
    assert_int_equal(d.reason, MTASTS_R_STRICT);
    assert_int_equal(d.offset, woff);
    assert_int_equal(d.warnings, warnings);
    rec = parse_ok(ctx, s, warnings);
    mtasts_tlsrpt_record_free(rec);
    memset(&d, 0, sizeof(d));
    d.version = MTASTS_DIAG_VERSION;
    assert_int_equal(mtasts_tlsrpt_record_parse(ctx, s, strlen(s), 0, &rec, &d),
                     MTASTS_OK);
    assert_int_equal(d.warning_offset, woff);
    mtasts_tlsrpt_record_free(rec);
}

static void
check_rua(const mtasts_tlsrpt_record *rec, size_t i, const char *uri, int kind,
          const char *target)
{
    const char *s;
    size_t len = 99;

    s = mtasts_tlsrpt_record_rua(rec, i, &len);
    assert_non_null(s);
    assert_string_equal(s, uri);
    assert_int_equal(len, strlen(uri));
    assert_int_equal(mtasts_tlsrpt_record_rua_kind(rec, i), kind);
    len = 99;
    s = mtasts_tlsrpt_record_rua_target(rec, i, &len);
    if (target == NULL) {
        assert_null(s);
        assert_int_equal(len, 0);
    } else {
        assert_non_null(s);
        assert_string_equal(s, target);
        assert_int_equal(len, strlen(target));
    }
}

static void
check_ext(const mtasts_tlsrpt_record *rec, size_t i, const char *name,
          const char *value)
{
    const char *n, *v;
    size_t nl, vl;

    assert_int_equal(mtasts_tlsrpt_record_ext(rec, i, &n, &nl, &v, &vl),
                     MTASTS_OK);
    assert_string_equal(n, name);
    assert_int_equal(nl, strlen(name));
    assert_string_equal(v, value);
    assert_int_equal(vl, strlen(value));
}

/* Format with snprintf semantics checked; returns malloc'd text. */
static char *
format(const mtasts_tlsrpt_record *rec)
{
    size_t need = 0, need2 = 0;
    char *buf;

    assert_int_equal(mtasts_tlsrpt_record_format(rec, NULL, 0, &need),
                     MTASTS_ERANGE);
    buf = malloc(need + 1);
    assert_non_null(buf);
    if (need > 0) {
        memset(buf, 'X', need + 1);
        assert_int_equal(mtasts_tlsrpt_record_format(rec, buf, need, &need2),
                         MTASTS_ERANGE);
        assert_int_equal(need2, need);
        assert_int_equal(buf[need - 1], '\0');
    }
    assert_int_equal(mtasts_tlsrpt_record_format(rec, buf, need + 1, &need2),
                     MTASTS_OK);
    assert_int_equal(need2, need);
    assert_int_equal(strlen(buf), need);
    return buf;
}

static void
same_record(const mtasts_tlsrpt_record *a, const mtasts_tlsrpt_record *b)
{
    size_t i, la, lb;
    const char *sa, *sb;

    assert_int_equal(mtasts_tlsrpt_record_rua_count(a),
                     mtasts_tlsrpt_record_rua_count(b));
    for (i = 0; i < mtasts_tlsrpt_record_rua_count(a); i++) {
        sa = mtasts_tlsrpt_record_rua(a, i, &la);
        sb = mtasts_tlsrpt_record_rua(b, i, &lb);
        assert_int_equal(la, lb);
        assert_memory_equal(sa, sb, la);
        assert_int_equal(mtasts_tlsrpt_record_rua_kind(a, i),
                         mtasts_tlsrpt_record_rua_kind(b, i));
        sa = mtasts_tlsrpt_record_rua_target(a, i, &la);
        sb = mtasts_tlsrpt_record_rua_target(b, i, &lb);
        assert_true((sa == NULL) == (sb == NULL));
        if (sa != NULL) {
            assert_int_equal(la, lb);
            assert_memory_equal(sa, sb, la);
        }
    }
    assert_int_equal(mtasts_tlsrpt_record_ext_count(a),
                     mtasts_tlsrpt_record_ext_count(b));
    for (i = 0; i < mtasts_tlsrpt_record_ext_count(a); i++) {
        const char *na, *nb, *va, *vb;
        size_t nla, nlb, vla, vlb;
        assert_int_equal(mtasts_tlsrpt_record_ext(a, i, &na, &nla, &va, &vla),
                         0);
        assert_int_equal(mtasts_tlsrpt_record_ext(b, i, &nb, &nlb, &vb, &vlb),
                         0);
        assert_int_equal(nla, nlb);
        assert_memory_equal(na, nb, nla);
        assert_int_equal(vla, vlb);
        assert_memory_equal(va, vb, vla);
    }
}

/* format -> parse gives the same record and the same text. */
static void
round_trip(mtasts_ctx *ctx, const mtasts_tlsrpt_record *rec)
{
    mtasts_tlsrpt_record *again = NULL;
    char *t1, *t2;
    uint64_t kept = mtasts_tlsrpt_record_warnings(rec) &
                    (WB(NO_USABLE_RUA) | WB(RUA_SCHEME) | WB(RUA_MAILTO));

    t1 = format(rec);
    again = parse_ok(ctx, t1, kept);
    same_record(rec, again);
    t2 = format(again);
    assert_string_equal(t1, t2);
    free(t1);
    free(t2);
    mtasts_tlsrpt_record_free(again);
}

/* ---- RPT-TXT-1: query name ---- */

static void
test_txt_name(void **state) /* RPT-TXT-1 */
{
    char buf[300], big[260];
    size_t need = 0;

    (void)state;
    assert_int_equal(
        mtasts_tlsrpt_txt_name("Example.com", 11, buf, sizeof(buf), &need),
        MTASTS_OK);
    assert_string_equal(buf, "_smtp._tls.example.com");
    assert_int_equal(need, 22);
    assert_int_equal(
        mtasts_tlsrpt_txt_name("Example.COM.", 12, buf, sizeof(buf), &need),
        MTASTS_OK);
    assert_string_equal(buf, "_smtp._tls.example.com");
    /* snprintf semantics */
    assert_int_equal(mtasts_tlsrpt_txt_name("example.com", 11, NULL, 0, &need),
                     MTASTS_ERANGE);
    assert_int_equal(need, 22);
    assert_int_equal(mtasts_tlsrpt_txt_name("example.com", 11, buf, 5, &need),
                     MTASTS_ERANGE);
    assert_string_equal(buf, "_smt");
    assert_int_equal(mtasts_tlsrpt_txt_name("example.com", 11, NULL, 5, &need),
                     MTASTS_EINVAL);
    assert_int_equal(mtasts_tlsrpt_txt_name(NULL, 3, buf, sizeof(buf), &need),
                     MTASTS_EINVAL);
    /* as mtasts_sts_txt_name(): non-ASCII, bad syntax, too long */
    assert_int_equal(mtasts_tlsrpt_txt_name("b\xc3\xbc"
                                            "cher.example",
                                            14, buf, sizeof(buf), &need),
                     MTASTS_ENONASCII);
    assert_int_equal(mtasts_tlsrpt_txt_name("a..b", 4, buf, sizeof(buf), &need),
                     MTASTS_ESYNTAX);
    assert_int_equal(mtasts_tlsrpt_txt_name("", 0, buf, sizeof(buf), &need),
                     MTASTS_ESYNTAX);
    /* 242 octets + 11 = 253 fits; 244 + 11 does not */
    memset(big, 'a', sizeof(big));
    big[60] = big[121] = big[182] = '.';
    assert_int_equal(mtasts_tlsrpt_txt_name(big, 242, buf, sizeof(buf), &need),
                     MTASTS_OK);
    assert_int_equal(need, 253);
    assert_int_equal(mtasts_tlsrpt_txt_name(big, 244, buf, sizeof(buf), &need),
                     MTASTS_ETOOBIG);
}

/* ---- parse ---- */

static void
test_version(void **state) /* RPT-TXT-2 */
{
    struct fixture *f = *state;

    parse_bad_s(f->ctx, "v=tlsrptv1; rua=mailto:a@example.com",
                MTASTS_R_VERSION, 2);
    parse_bad_s(f->ctx, "V=TLSRPTv1; rua=mailto:a@example.com",
                MTASTS_R_VERSION, 0);
    parse_bad_s(f->ctx, " v=TLSRPTv1; rua=mailto:a@example.com",
                MTASTS_R_VERSION, 0);
    parse_bad_s(f->ctx, "v=TLSRPTv10; rua=mailto:a@example.com",
                MTASTS_R_VERSION, 10);
    parse_bad_s(f->ctx, "v=TLSRPTv", MTASTS_R_VERSION, 9);
    parse_bad_s(f->ctx, "v=STSv1; id=a", MTASTS_R_VERSION, 2);
    parse_bad(f->ctx, "", 0, MTASTS_ESYNTAX, MTASTS_R_EMPTY, 0);
    parse_bad(f->ctx, NULL, 0, MTASTS_ESYNTAX, MTASTS_R_EMPTY, 0);
}

static void
test_rua_required(void **state) /* RPT-TXT-3 */
{
    struct fixture *f = *state;
    mtasts_tlsrpt_record *rec;

    rec = parse_ok(f->ctx,
                   "v=TLSRPTv1; rua=mailto:a@example.com, "
                   "https://r.example.com/t",
                   0);
    assert_int_equal(mtasts_tlsrpt_record_rua_count(rec), 2);
    check_rua(rec, 0, "mailto:a@example.com", MTASTS_RUA_MAILTO,
              "a@example.com");
    check_rua(rec, 1, "https://r.example.com/t", MTASTS_RUA_HTTPS,
              "https://r.example.com/t");
    assert_int_equal(mtasts_tlsrpt_record_ext_count(rec), 0);
    round_trip(f->ctx, rec);
    mtasts_tlsrpt_record_free(rec);

    parse_bad_s(f->ctx, "v=TLSRPTv1;", MTASTS_R_FIELD, 11);
    parse_bad_s(f->ctx, "v=TLSRPTv1", MTASTS_R_FIELD, 10);
    parse_bad_s(f->ctx, "v=TLSRPTv1; rua=", MTASTS_R_URI, 16);
    parse_bad_s(f->ctx, "v=TLSRPTv1; rua=;", MTASTS_R_URI, 16);
    parse_bad_s(f->ctx, "v=TLSRPTv1; x=1", MTASTS_R_NO_RUA, 15);
    /* "rua=" is case-sensitive: RUA is an extension, rua is missing */
    parse_bad_s(f->ctx, "v=TLSRPTv1; RUA=mailto:a@example.com", MTASTS_R_NO_RUA,
                36);
    /* list separators: empty entries are not URIs */
    parse_bad_s(f->ctx, "v=TLSRPTv1; rua=mailto:a@example.com,", MTASTS_R_URI,
                37);
    parse_bad_s(f->ctx, "v=TLSRPTv1; rua=mailto:a@example.com, ;x=1",
                MTASTS_R_URI, 38);
    parse_bad_s(f->ctx, "v=TLSRPTv1; rua=,mailto:a@example.com", MTASTS_R_URI,
                16);
    rec = parse_ok(f->ctx,
                   "v=TLSRPTv1; rua=mailto:a@example.com \t,\t "
                   "mailto:b@example.com",
                   0);
    assert_int_equal(mtasts_tlsrpt_record_rua_count(rec), 2);
    check_rua(rec, 1, "mailto:b@example.com", MTASTS_RUA_MAILTO,
              "b@example.com");
    mtasts_tlsrpt_record_free(rec);
}

static void
test_delimiters(void **state) /* RPT-TXT-4 */
{
    struct fixture *f = *state;
    mtasts_tlsrpt_record *rec;

    rec = parse_ok(f->ctx, "v=TLSRPTv1;rua=mailto:a@example.com;", 0);
    check_rua(rec, 0, "mailto:a@example.com", MTASTS_RUA_MAILTO,
              "a@example.com");
    mtasts_tlsrpt_record_free(rec);
    rec = parse_ok(f->ctx, "v=TLSRPTv1; x=1; rua=mailto:a@example.com", 0);
    assert_int_equal(mtasts_tlsrpt_record_ext_count(rec), 1);
    check_ext(rec, 0, "x", "1");
    round_trip(f->ctx, rec);
    mtasts_tlsrpt_record_free(rec);
    /* WSP around ';' and one trailing delimiter with WSP: valid */
    rec = parse_ok(f->ctx, "v=TLSRPTv1 ;\trua=mailto:a@example.com ; ", 0);
    mtasts_tlsrpt_record_free(rec);
    /* trailing WSP without ';': tolerated (E-15) */
    strict_refuses(f->ctx, "v=TLSRPTv1; rua=mailto:a@example.com  ",
                   WB(TRAILING_WSP), 36);
    strict_refuses(f->ctx, "v=TLSRPTv1; rua=mailto:a@example.com; x=y\t",
                   WB(TRAILING_WSP), 41);
    /* empty fields, missing delimiters */
    parse_bad_s(f->ctx, "v=TLSRPTv1; rua=mailto:a@example.com;;",
                MTASTS_R_FIELD, 37);
    parse_bad_s(f->ctx, "v=TLSRPTv1;; rua=mailto:a@example.com", MTASTS_R_FIELD,
                11);
    parse_bad_s(f->ctx, "v=TLSRPTv1 rua=mailto:a@example.com", MTASTS_R_DELIM,
                11);
    parse_bad_s(f->ctx, "v=TLSRPTv1; rua=mailto:a@example.com x=1",
                MTASTS_R_DELIM, 37);
    /* extension grammar */
    parse_bad_s(f->ctx, "v=TLSRPTv1; rua=mailto:a@example.com; more=",
                MTASTS_R_EXT_VALUE, 43);
    parse_bad_s(f->ctx, "v=TLSRPTv1; rua=mailto:a@example.com; a=b=c",
                MTASTS_R_EXT_VALUE, 41);
    parse_bad_s(f->ctx, "v=TLSRPTv1; rua=mailto:a@example.com; -a=1",
                MTASTS_R_FIELD, 38);
    parse_bad_s(f->ctx, "v=TLSRPTv1; rua=mailto:a@example.com; a%=1",
                MTASTS_R_EXT_NAME, 39);
    parse_bad_s(f->ctx, "v=TLSRPTv1; rua=mailto:a@example.com; a",
                MTASTS_R_FIELD, 39);
    parse_bad_s(f->ctx,
                "v=TLSRPTv1; rua=mailto:a@example.com; "
                "a12345678901234567890123456789012=1",
                MTASTS_R_EXT_NAME, 38 + 32);
    rec = parse_ok(f->ctx,
                   "v=TLSRPTv1; rua=mailto:a@example.com; "
                   "a1234567890123456789012345678901=1",
                   0);
    mtasts_tlsrpt_record_free(rec);
}

static void
test_not_a_uri(void **state) /* RPT-TXT-5 */
{
    struct fixture *f = *state;

    parse_bad_s(f->ctx, "v=TLSRPTv1; rua=reports@example.com", MTASTS_R_URI,
                23);
    parse_bad_s(f->ctx, "v=TLSRPTv1; rua=noscheme", MTASTS_R_URI, 24);
    parse_bad_s(f->ctx, "v=TLSRPTv1; rua=!!", MTASTS_R_URI, 16);
    parse_bad_s(f->ctx, "v=TLSRPTv1; rua=1x:a", MTASTS_R_URI, 16);
    parse_bad_s(f->ctx, "v=TLSRPTv1; rua=:a", MTASTS_R_URI, 16);
    /* pct-encoded must be "%" HEXDIG HEXDIG */
    parse_bad_s(f->ctx, "v=TLSRPTv1; rua=http://bad/%", MTASTS_R_URI, 27);
    parse_bad_s(f->ctx, "v=TLSRPTv1; rua=mailto:a%4@example.com", MTASTS_R_URI,
                24);
    parse_bad_s(f->ctx, "v=TLSRPTv1; rua=mailto:a%g0@example.com", MTASTS_R_URI,
                24);
    /* characters no URI holds */
    parse_bad_s(f->ctx, "v=TLSRPTv1; rua=mailto:\"a\"@example.com",
                MTASTS_R_URI, 23);
    parse_bad_s(f->ctx, "v=TLSRPTv1; rua=https://r.example/a<b", MTASTS_R_URI,
                35);
    parse_bad_s(f->ctx, "v=TLSRPTv1; rua=https://r.example/a\x01", MTASTS_R_CTL,
                35);
    parse_bad_s(f->ctx, "v=TLSRPTv1; rua=https://r.example/\xc3\xa9",
                MTASTS_R_NON_ASCII, 34);
    /* component rules */
    parse_bad_s(f->ctx, "v=TLSRPTv1; rua=https://r.example/a[1]", MTASTS_R_URI,
                35);
    parse_bad_s(f->ctx, "v=TLSRPTv1; rua=https://r.example/#a#b", MTASTS_R_URI,
                36);
    parse_bad_s(f->ctx, "v=TLSRPTv1; rua=https://r.example:44a/", MTASTS_R_URI,
                36);
    parse_bad_s(f->ctx, "v=TLSRPTv1; rua=https://[::1/x", MTASTS_R_URI, 28);
    parse_bad_s(f->ctx, "v=TLSRPTv1; rua=https://[]/x", MTASTS_R_URI, 25);
    parse_bad_s(f->ctx, "v=TLSRPTv1; rua=https://a@b@c/x", MTASTS_R_URI, 27);
    parse_bad_s(f->ctx, "v=TLSRPTv1; rua=https://a[b]/x", MTASTS_R_URI, 25);
}

static void
test_uri_forms(void **state) /* RPT-TXT-5, RPT-TXT-7, RPT-TXT-11 */
{
    struct fixture *f = *state;
    mtasts_tlsrpt_record *rec;

    rec = parse_ok(f->ctx,
                   "v=TLSRPTv1; rua=https://u:p@[2001:db8::1]:8443/p/a%20b?"
                   "q=1&r=/?#frag/?,HTTPS://R.EXAMPLE,MailTo:x@y.example,"
                   "s1+a-b.c:opaque",
                   WB(RUA_SCHEME));
    assert_int_equal(mtasts_tlsrpt_record_rua_count(rec), 4);
    check_rua(rec, 0, "https://u:p@[2001:db8::1]:8443/p/a%20b?q=1&r=/?#frag/?",
              MTASTS_RUA_HTTPS,
              "https://u:p@[2001:db8::1]:8443/p/a%20b?q=1&r=/?#frag/?");
    check_rua(rec, 1, "HTTPS://R.EXAMPLE", MTASTS_RUA_HTTPS,
              "HTTPS://R.EXAMPLE");
    check_rua(rec, 2, "MailTo:x@y.example", MTASTS_RUA_MAILTO, "x@y.example");
    check_rua(rec, 3, "s1+a-b.c:opaque", MTASTS_RUA_OTHER, NULL);
    round_trip(f->ctx, rec);
    mtasts_tlsrpt_record_free(rec);

    /* https without a host is unusable */
    rec = parse_ok(f->ctx, "v=TLSRPTv1; rua=https:/x,https://:443/x",
                   WB(RUA_SCHEME) | WB(NO_USABLE_RUA));
    check_rua(rec, 0, "https:/x", MTASTS_RUA_OTHER, NULL);
    check_rua(rec, 1, "https://:443/x", MTASTS_RUA_OTHER, NULL);
    mtasts_tlsrpt_record_free(rec);
    /* a single-label https host is a host */
    rec = parse_ok(f->ctx, "v=TLSRPTv1; rua=https://tlsrpt-mimecast-com/v1", 0);
    check_rua(rec, 0, "https://tlsrpt-mimecast-com/v1", MTASTS_RUA_HTTPS,
              "https://tlsrpt-mimecast-com/v1");
    mtasts_tlsrpt_record_free(rec);
}

static void
test_mailto_address(void **state) /* RPT-TXT-11 */
{
    struct fixture *f = *state;
    mtasts_tlsrpt_record *rec;
    char big[400];

    rec = parse_ok(f->ctx,
                   "v=TLSRPTv1; rua=mailto:reports@example.com?subject=hi", 0);
    check_rua(rec, 0, "mailto:reports@example.com?subject=hi",
              MTASTS_RUA_MAILTO, "reports@example.com");
    mtasts_tlsrpt_record_free(rec);
    /* percent-decoded; quoted local-part; fragment dropped */
    rec = parse_ok(f->ctx,
                   "v=TLSRPTv1; rua=mailto:re%70orts%2Bx@Example.COM#f,"
                   "mailto:%22a%20b%5C%22%22@example.com,"
                   "mailto:a.b!c@example.com",
                   0);
    check_rua(rec, 0, "mailto:re%70orts%2Bx@Example.COM#f", MTASTS_RUA_MAILTO,
              "reports+x@Example.COM");
    check_rua(rec, 1, "mailto:%22a%20b%5C%22%22@example.com", MTASTS_RUA_MAILTO,
              "\"a b\\\"\"@example.com");
    check_rua(rec, 2, "mailto:a.b!c@example.com", MTASTS_RUA_MAILTO,
              "a.b!c@example.com");
    round_trip(f->ctx, rec);
    mtasts_tlsrpt_record_free(rec);
    /* unusable: no address, no '@', bad domain, two addresses, NUL,
     * non-ASCII, bad dot-atom, unterminated quote, authority form */
    rec = parse_ok(f->ctx,
                   "v=TLSRPTv1; rua=mailto:,mailto:tlsrpt.example.com,"
                   "mailto:a@b_c.example,mailto:a@x.example%2Cb@x.example,"
                   "mailto:a%00@x.example,mailto:%C3%A9@x.example,"
                   "mailto:a..b@x.example,mailto:%22a@x.example,"
                   "mailto://a@x.example,mailto:a@x.example.,"
                   "mailto:.a@x.example,mailto:?to=a@x.example",
                   WB(RUA_MAILTO) | WB(NO_USABLE_RUA));
    assert_int_equal(mtasts_tlsrpt_record_rua_count(rec), 12);
    for (size_t i = 0; i < 12; i++)
        assert_null(mtasts_tlsrpt_record_rua_target(rec, i, NULL));
    check_rua(rec, 0, "mailto:", MTASTS_RUA_OTHER, NULL);
    round_trip(f->ctx, rec);
    mtasts_tlsrpt_record_free(rec);
    /* local-part at most 64 octets */
    memset(big, 'a', sizeof(big));
    memcpy(big, "v=TLSRPTv1; rua=mailto:", 23);
    memcpy(big + 23 + 64, "@x.example", 11);
    rec = parse_ok(f->ctx, big, 0);
    mtasts_tlsrpt_record_free(rec);
    memset(big, 'a', sizeof(big));
    memcpy(big, "v=TLSRPTv1; rua=mailto:", 23);
    memcpy(big + 23 + 65, "@x.example", 11);
    rec = parse_ok(f->ctx, big, WB(RUA_MAILTO) | WB(NO_USABLE_RUA));
    mtasts_tlsrpt_record_free(rec);
}

static void
test_encoding(void **state) /* RPT-TXT-6 */
{
    struct fixture *f = *state;
    const char *uris[] = {"mailto:a!b@example.com",
                          "https://r.example/a,b;c!d?x=1,2"};
    size_t lens[2];
    mtasts_tlsrpt_record *rec = NULL;
    char *text;

    lens[0] = strlen(uris[0]);
    lens[1] = strlen(uris[1]);
    assert_int_equal(
        mtasts_tlsrpt_record_build(f->ctx, uris, lens, 1, &rec, NULL),
        MTASTS_OK);
    text = format(rec);
    assert_string_equal(text, "v=TLSRPTv1; rua=mailto:a%21b@example.com");
    free(text);
    check_rua(rec, 0, "mailto:a%21b@example.com", MTASTS_RUA_MAILTO,
              "a!b@example.com");
    mtasts_tlsrpt_record_free(rec);
    assert_int_equal(
        mtasts_tlsrpt_record_build(f->ctx, uris, lens, 2, &rec, NULL),
        MTASTS_OK);
    text = format(rec);
    assert_string_equal(text, "v=TLSRPTv1; rua=mailto:a%21b@example.com,"
                              "https://r.example/a%2Cb%3Bc%21d?x=1%2C2");
    free(text);
    check_rua(rec, 1, "https://r.example/a%2Cb%3Bc%21d?x=1%2C2",
              MTASTS_RUA_HTTPS, "https://r.example/a%2Cb%3Bc%21d?x=1%2C2");
    round_trip(f->ctx, rec);
    mtasts_tlsrpt_record_free(rec);

    /* the parser keeps a literal '!': no DMARC size suffix */
    rec = parse_ok(f->ctx, "v=TLSRPTv1; rua=mailto:a@example.com!10m",
                   WB(RUA_MAILTO) | WB(NO_USABLE_RUA));
    check_rua(rec, 0, "mailto:a@example.com!10m", MTASTS_RUA_OTHER, NULL);
    mtasts_tlsrpt_record_free(rec);
    rec = parse_ok(f->ctx, "v=TLSRPTv1; rua=https://r.example/!10m", 0);
    check_rua(rec, 0, "https://r.example/!10m", MTASTS_RUA_HTTPS,
              "https://r.example/!10m");
    round_trip(f->ctx, rec);
    mtasts_tlsrpt_record_free(rec);
    /* the parser splits on ',' and ';' */
    rec = parse_ok(f->ctx, "v=TLSRPTv1; rua=mailto:a@x.example,b:c;d=e",
                   WB(RUA_SCHEME));
    assert_int_equal(mtasts_tlsrpt_record_rua_count(rec), 2);
    check_rua(rec, 1, "b:c", MTASTS_RUA_OTHER, NULL);
    check_ext(rec, 0, "d", "e");
    mtasts_tlsrpt_record_free(rec);
}

static void
test_unusable_schemes(void **state) /* RPT-TXT-7 */
{
    struct fixture *f = *state;
    mtasts_tlsrpt_record *rec;

    rec = parse_ok(f->ctx, "v=TLSRPTv1; rua=http://r.example.com/",
                   WB(RUA_SCHEME) | WB(NO_USABLE_RUA));
    assert_int_equal(mtasts_tlsrpt_record_rua_count(rec), 1);
    check_rua(rec, 0, "http://r.example.com/", MTASTS_RUA_OTHER, NULL);
    mtasts_tlsrpt_record_free(rec);
    strict_refuses(f->ctx, "v=TLSRPTv1; rua=http://r.example.com/",
                   WB(RUA_SCHEME) | WB(NO_USABLE_RUA), 16);
    /* one usable URI: no no_usable_rua, but the unusable one is flagged */
    rec = parse_ok(f->ctx,
                   "v=TLSRPTv1; rua=ftp://r.example/,mailto:a@example.com",
                   WB(RUA_SCHEME));
    check_rua(rec, 0, "ftp://r.example/", MTASTS_RUA_OTHER, NULL);
    check_rua(rec, 1, "mailto:a@example.com", MTASTS_RUA_MAILTO,
              "a@example.com");
    mtasts_tlsrpt_record_free(rec);
    strict_refuses(f->ctx, "v=TLSRPTv1; rua=mailto:a@example.com,mailto:nobody",
                   WB(RUA_MAILTO), 37);
    /* E-20: nothing usable */
    strict_refuses(f->ctx, "v=TLSRPTv1; rua=mailto:",
                   WB(RUA_MAILTO) | WB(NO_USABLE_RUA), 16);
}

/* ---- select ---- */

static void
select_ok(mtasts_ctx *ctx, const char *const *strs, const size_t *nstr,
          size_t nrr, unsigned flags, int outcome, mtasts_tlsrpt_record **ret,
          struct mtasts_diag *d)
{
    size_t lens[16], total = 0, i;
    int got = -1;

    for (i = 0; i < nrr; i++)
        total += nstr[i];
    assert_true(total <= 16);
    for (i = 0; i < total; i++)
        lens[i] = strs[i] != NULL ? strlen(strs[i]) : 0;
    d->version = MTASTS_DIAG_VERSION;
    assert_int_equal(mtasts_tlsrpt_record_select(ctx, strs, lens, nstr, nrr,
                                                 flags, &got, ret, d),
                     MTASTS_OK);
    assert_int_equal(got, outcome);
    if (outcome == MTASTS_SELECT_FOUND)
        assert_non_null(*ret);
    else
        assert_null(*ret);
}

static void
test_select(void **state) /* RPT-TXT-8 */
{
    struct fixture *f = *state;
    struct mtasts_diag d = MTASTS_DIAG_INIT;
    mtasts_tlsrpt_record *rec = NULL;
    const char *two[] = {"v=TLSRPTv1; rua=mailto:a@example.com",
                         "v=TLSRPTv1;rua=mailto:b@example.com"};
    const char *mixed[] = {
        "v=spf1 -all", "v=TLSRPTv1; rua=mailto:a@example.com", "v=STSv1; id=1"};
    const char *e2[] = {"v=TLSRPTv1 \t; rua=mailto:a@example.com",
                        "v=TLSRPTv10; rua=mailto:b@example.com",
                        "v=TLSRPTv1 rua=mailto:c@example.com", "v=TLSRPTv1"};
    const char *bad[] = {"v=TLSRPTv1; rua=nope"};
    const char *lenient[] = {"v=TLSRPTv1; rua=mailto:a@example.com "};
    size_t one[] = {1, 1, 1, 1};

    select_ok(f->ctx, two, one, 2, 0, MTASTS_SELECT_MULTIPLE, &rec, &d);
    assert_int_equal(d.reason, MTASTS_R_MULTIPLE);
    select_ok(f->ctx, mixed, one, 3, 0, MTASTS_SELECT_FOUND, &rec, &d);
    assert_int_equal(mtasts_tlsrpt_record_rua_count(rec), 1);
    check_rua(rec, 0, "mailto:a@example.com", MTASTS_RUA_MAILTO,
              "a@example.com");
    mtasts_tlsrpt_record_free(rec);
    /* E-2: WSP before ';' is a candidate; v=TLSRPTv10 and a missing ';'
     * are not */
    select_ok(f->ctx, e2, one, 4, 0, MTASTS_SELECT_FOUND, &rec, &d);
    check_rua(rec, 0, "mailto:a@example.com", MTASTS_RUA_MAILTO,
              "a@example.com");
    mtasts_tlsrpt_record_free(rec);
    select_ok(f->ctx, e2 + 1, one, 3, 0, MTASTS_SELECT_NONE, &rec, &d);
    assert_int_equal(d.reason, MTASTS_R_NOT_FOUND);
    select_ok(f->ctx, NULL, NULL, 0, 0, MTASTS_SELECT_NONE, &rec, &d);
    /* one invalid candidate: INVALID with the parse diagnostic */
    select_ok(f->ctx, bad, one, 1, 0, MTASTS_SELECT_INVALID, &rec, &d);
    assert_int_equal(d.code, MTASTS_ESYNTAX);
    assert_int_equal(d.reason, MTASTS_R_URI);
    assert_int_equal(d.offset, 20);
    /* strict flag reaches the parse */
    select_ok(f->ctx, lenient, one, 1, 0, MTASTS_SELECT_FOUND, &rec, &d);
    assert_int_equal(d.warnings, WB(TRAILING_WSP));
    mtasts_tlsrpt_record_free(rec);
    select_ok(f->ctx, lenient, one, 1, MTASTS_PARSE_F_STRICT,
              MTASTS_SELECT_INVALID, &rec, &d);
    assert_int_equal(d.code, MTASTS_ESTRICT);
}

static void
test_select_join(void **state) /* RPT-TXT-9 */
{
    struct fixture *f = *state;
    struct mtasts_diag d = MTASTS_DIAG_INIT;
    mtasts_tlsrpt_record *rec = NULL;
    const char *strs[] = {"v=spf1 ", "-all", "v=TLSRPTv1; rua=mailto:a@exa", "",
                          "mple.com"};
    const char *split_tag[] = {"v=TLS", "RPTv1", " ;rua=mailto:a@b.example"};
    size_t nstr[] = {2, 3};
    size_t n3[] = {3};

    select_ok(f->ctx, strs, nstr, 2, 0, MTASTS_SELECT_FOUND, &rec, &d);
    check_rua(rec, 0, "mailto:a@example.com", MTASTS_RUA_MAILTO,
              "a@example.com");
    mtasts_tlsrpt_record_free(rec);
    /* the candidate test spans strings too */
    select_ok(f->ctx, split_tag, n3, 1, 0, MTASTS_SELECT_FOUND, &rec, &d);
    check_rua(rec, 0, "mailto:a@b.example", MTASTS_RUA_MAILTO, "a@b.example");
    mtasts_tlsrpt_record_free(rec);
    /* an RR of no strings is no candidate */
    nstr[0] = 0;
    select_ok(f->ctx, strs, nstr, 1, 0, MTASTS_SELECT_NONE, &rec, &d);
}

static void
test_select_args(void **state)
{
    struct fixture *f = *state;
    struct mtasts_diag d = {0, 0, 0, 0, 0, 0, 0};
    mtasts_tlsrpt_record *rec = (mtasts_tlsrpt_record *)&d;
    const char *strs[] = {NULL};
    size_t lens[] = {1}, nstr[] = {1};
    int out;

    assert_int_equal(mtasts_tlsrpt_record_select(f->ctx, strs, lens, nstr, 1, 0,
                                                 &out, &rec, NULL),
                     MTASTS_EINVAL);
    assert_null(rec);
    assert_int_equal(mtasts_tlsrpt_record_select(f->ctx, NULL, lens, nstr, 1, 0,
                                                 &out, &rec, NULL),
                     MTASTS_EINVAL);
    assert_int_equal(mtasts_tlsrpt_record_select(f->ctx, strs, lens, NULL, 1, 0,
                                                 &out, &rec, NULL),
                     MTASTS_EINVAL);
    assert_int_equal(mtasts_tlsrpt_record_select(NULL, NULL, NULL, NULL, 0, 0,
                                                 &out, &rec, NULL),
                     MTASTS_EINVAL);
    assert_int_equal(mtasts_tlsrpt_record_select(f->ctx, NULL, NULL, NULL, 0, 0,
                                                 NULL, &rec, NULL),
                     MTASTS_EINVAL);
    assert_int_equal(mtasts_tlsrpt_record_select(f->ctx, NULL, NULL, NULL, 0, 0,
                                                 &out, NULL, NULL),
                     MTASTS_EINVAL);
    assert_int_equal(mtasts_tlsrpt_record_select(f->ctx, NULL, NULL, NULL, 0, 2,
                                                 &out, &rec, NULL),
                     MTASTS_EINVAL);
    assert_int_equal(mtasts_tlsrpt_record_select(f->ctx, NULL, NULL, NULL, 0, 0,
                                                 &out, &rec, &d),
                     MTASTS_EINVAL);
    d.version = MTASTS_DIAG_VERSION + 1;
    assert_int_equal(mtasts_tlsrpt_record_select(f->ctx, NULL, NULL, NULL, 0, 0,
                                                 &out, &rec, &d),
                     MTASTS_EVERSION);
}

/* ---- RPT-TXT-10: unknown fields, duplicates, non-ASCII ---- */

static void
test_extensions_duplicates(void **state) /* RPT-TXT-10 */
{
    struct fixture *f = *state;
    mtasts_tlsrpt_record *rec;
    char *text;

    rec = parse_ok(f->ctx,
                   "v=TLSRPTv1; rua=mailto:a@x.example; foo=bar; "
                   "rua=mailto:b@x.example",
                   WB(DUPLICATE_FIELD));
    assert_int_equal(mtasts_tlsrpt_record_rua_count(rec), 1);
    check_rua(rec, 0, "mailto:a@x.example", MTASTS_RUA_MAILTO, "a@x.example");
    assert_int_equal(mtasts_tlsrpt_record_ext_count(rec), 1);
    check_ext(rec, 0, "foo", "bar");
    text = format(rec);
    assert_string_equal(text, "v=TLSRPTv1; rua=mailto:a@x.example; foo=bar");
    free(text);
    round_trip(f->ctx, rec);
    mtasts_tlsrpt_record_free(rec);
    strict_refuses(f->ctx,
                   "v=TLSRPTv1; rua=mailto:a@x.example; foo=bar; "
                   "rua=mailto:b@x.example",
                   WB(DUPLICATE_FIELD), 45);
    /* a later rua may be a URI list or an extension value; its URIs are
     * not looked at */
    rec = parse_ok(f->ctx,
                   "v=TLSRPTv1; rua=mailto:a@x.example; rua=http://x/ , "
                   "b:c; rua=plain; v=TLSRPTv2",
                   WB(DUPLICATE_FIELD));
    assert_int_equal(mtasts_tlsrpt_record_rua_count(rec), 1);
    assert_int_equal(mtasts_tlsrpt_record_ext_count(rec), 0);
    mtasts_tlsrpt_record_free(rec);
    parse_bad_s(f->ctx,
                "v=TLSRPTv1; rua=mailto:a@x.example; rua=", MTASTS_R_URI, 40);
    parse_bad_s(f->ctx, "v=TLSRPTv1; rua=mailto:a@x.example; rua=a b",
                MTASTS_R_DELIM, 42);
    parse_bad_s(f->ctx,
                "v=TLSRPTv1; rua=mailto:a@x.example; v=", MTASTS_R_EXT_VALUE,
                38);
    /* extensions kept in order, also past the local buffers */
    rec = parse_ok(f->ctx,
                   "v=TLSRPTv1; a=1; b.c_d-e=x:y; rua=mailto:a@x.example; "
                   "z=!",
                   0);
    assert_int_equal(mtasts_tlsrpt_record_ext_count(rec), 3);
    check_ext(rec, 0, "a", "1");
    check_ext(rec, 1, "b.c_d-e", "x:y");
    check_ext(rec, 2, "z", "!");
    assert_int_equal(mtasts_tlsrpt_record_ext(rec, 3, NULL, NULL, NULL, NULL),
                     MTASTS_EINVAL);
    mtasts_tlsrpt_record_free(rec);
    /* non-ASCII anywhere: invalid */
    parse_bad_s(f->ctx, "v=TLSRPTv1; rua=mailto:a@x.example; x=\xc3\xa9",
                MTASTS_R_NON_ASCII, 38);
    parse_bad_s(f->ctx, "v=TLSRPTv1; rua=mailto:\xc3\xa9@x.example",
                MTASTS_R_NON_ASCII, 23);
    parse_bad_s(f->ctx, "v=TLSRPTv1\xc2; rua=mailto:a@x.example",
                MTASTS_R_NON_ASCII, 10);
    parse_bad_s(f->ctx, "v=TLSRPTv1;\x7f", MTASTS_R_CTL, 11);
}

static void
test_many(void **state) /* RPT-TXT-3, RPT-TXT-10: past the local buffers */
{
    struct fixture *f = *state;
    mtasts_tlsrpt_record *rec;
    char text[2048], *out;
    size_t i, n = 0;

    n += (size_t)snprintf(text + n, sizeof(text) - n, "v=TLSRPTv1; rua=");
    for (i = 0; i < 20; i++)
        n += (size_t)snprintf(text + n, sizeof(text) - n,
                              "%smailto:r%zu@x.example", i ? "," : "", i);
    for (i = 0; i < 12; i++)
        n += (size_t)snprintf(text + n, sizeof(text) - n, "; e%zu=v%zu", i, i);
    rec = parse_ok(f->ctx, text, 0);
    assert_int_equal(mtasts_tlsrpt_record_rua_count(rec), 20);
    assert_int_equal(mtasts_tlsrpt_record_ext_count(rec), 12);
    check_rua(rec, 19, "mailto:r19@x.example", MTASTS_RUA_MAILTO,
              "r19@x.example");
    check_ext(rec, 11, "e11", "v11");
    out = format(rec);
    assert_string_equal(out, text);
    free(out);
    round_trip(f->ctx, rec);
    mtasts_tlsrpt_record_free(rec);
}

/* ---- build / format: RPT-TXT-12 ---- */

static void
test_build(void **state) /* RPT-TXT-12 */
{
    struct fixture *f = *state;
    struct mtasts_diag d = MTASTS_DIAG_INIT;
    const char *uris[] = {"mailto:a@example.com", "https://r.example.com/t",
                          "not a uri", ""};
    size_t lens[4];
    mtasts_tlsrpt_record *rec = NULL, *again;
    char *text;
    size_t i;

    for (i = 0; i < 4; i++)
        lens[i] = strlen(uris[i]);
    assert_int_equal(
        mtasts_tlsrpt_record_build(f->ctx, uris, lens, 2, &rec, &d), MTASTS_OK);
    assert_int_equal(d.code, 0);
    text = format(rec);
    assert_string_equal(
        text, "v=TLSRPTv1; rua=mailto:a@example.com,https://r.example.com/t");
    /* parse(serialize(x)) == x */
    again = parse_ok(f->ctx, text, 0);
    same_record(rec, again);
    mtasts_tlsrpt_record_free(again);
    free(text);
    mtasts_tlsrpt_record_free(rec);

    /* refusals: empty list, non-URIs (offset is the index) */
    assert_int_equal(
        mtasts_tlsrpt_record_build(f->ctx, uris, lens, 0, &rec, &d),
        MTASTS_ESYNTAX);
    assert_null(rec);
    assert_int_equal(d.code, MTASTS_ESYNTAX);
    assert_int_equal(
        mtasts_tlsrpt_record_build(f->ctx, NULL, NULL, 0, &rec, &d),
        MTASTS_ESYNTAX);
    assert_int_equal(
        mtasts_tlsrpt_record_build(f->ctx, uris, lens, 3, &rec, &d),
        MTASTS_ESYNTAX);
    assert_null(rec);
    assert_int_equal(d.reason, MTASTS_R_URI);
    assert_int_equal(d.offset, 2);
    assert_int_equal(
        mtasts_tlsrpt_record_build(f->ctx, uris + 1, lens + 1, 3, &rec, &d),
        MTASTS_ESYNTAX);
    assert_int_equal(d.offset, 1);
    {
        const char *ws[] = {"mailto:a@example.com "};
        size_t wl[] = {21};
        const char *pct[] = {"https://x/%zz"};
        size_t pl[] = {13};
        const char *nul[] = {NULL};
        size_t nl[] = {0};
        const char *ipl[] = {"https://[v1.a!b]/"};
        size_t il[] = {17};
        assert_int_equal(
            mtasts_tlsrpt_record_build(f->ctx, ws, wl, 1, &rec, &d),
            MTASTS_ESYNTAX);
        assert_int_equal(
            mtasts_tlsrpt_record_build(f->ctx, pct, pl, 1, &rec, &d),
            MTASTS_ESYNTAX);
        assert_int_equal(
            mtasts_tlsrpt_record_build(f->ctx, nul, nl, 1, &rec, &d),
            MTASTS_ESYNTAX);
        /* '!' in an IP-literal cannot be percent-encoded */
        assert_int_equal(
            mtasts_tlsrpt_record_build(f->ctx, ipl, il, 1, &rec, &d),
            MTASTS_ESYNTAX);
        nl[0] = 1;
        assert_int_equal(
            mtasts_tlsrpt_record_build(f->ctx, nul, nl, 1, &rec, &d),
            MTASTS_EINVAL);
    }
    /* unusable URIs build, with their warnings */
    {
        const char *http[] = {"http://r.example/"};
        size_t hl[] = {17};
        assert_int_equal(
            mtasts_tlsrpt_record_build(f->ctx, http, hl, 1, &rec, &d),
            MTASTS_OK);
        assert_int_equal(mtasts_tlsrpt_record_warnings(rec),
                         WB(RUA_SCHEME) | WB(NO_USABLE_RUA));
        mtasts_tlsrpt_record_free(rec);
    }
    assert_int_equal(mtasts_tlsrpt_record_build(NULL, uris, lens, 1, &rec, &d),
                     MTASTS_EINVAL);
    assert_int_equal(
        mtasts_tlsrpt_record_build(f->ctx, uris, lens, 1, NULL, &d),
        MTASTS_EINVAL);
    assert_int_equal(
        mtasts_tlsrpt_record_build(f->ctx, uris, NULL, 1, &rec, &d),
        MTASTS_EINVAL);
}

static void
test_getters_null(void **state)
{
    struct fixture *f = *state;
    mtasts_tlsrpt_record *rec;
    size_t len = 7;
    char buf[8];

    assert_int_equal(mtasts_tlsrpt_record_rua_count(NULL), 0);
    assert_null(mtasts_tlsrpt_record_rua(NULL, 0, &len));
    assert_int_equal(len, 0);
    assert_int_equal(mtasts_tlsrpt_record_rua_kind(NULL, 0), MTASTS_RUA_OTHER);
    len = 7;
    assert_null(mtasts_tlsrpt_record_rua_target(NULL, 0, &len));
    assert_int_equal(len, 0);
    assert_int_equal(mtasts_tlsrpt_record_ext_count(NULL), 0);
    assert_int_equal(mtasts_tlsrpt_record_ext(NULL, 0, NULL, NULL, NULL, NULL),
                     MTASTS_EINVAL);
    assert_int_equal(mtasts_tlsrpt_record_warnings(NULL), 0);
    assert_int_equal(mtasts_tlsrpt_record_format(NULL, buf, 8, &len),
                     MTASTS_EINVAL);
    mtasts_tlsrpt_record_free(NULL);

    rec = parse_ok(f->ctx, "v=TLSRPTv1; rua=mailto:a@x.example", 0);
    assert_null(mtasts_tlsrpt_record_rua(rec, 1, NULL));
    assert_non_null(mtasts_tlsrpt_record_rua(rec, 0, NULL));
    assert_non_null(mtasts_tlsrpt_record_rua_target(rec, 0, NULL));
    assert_int_equal(mtasts_tlsrpt_record_rua_kind(rec, 1), MTASTS_RUA_OTHER);
    assert_null(mtasts_tlsrpt_record_rua_target(rec, 1, NULL));
    assert_int_equal(mtasts_tlsrpt_record_format(rec, NULL, 3, &len),
                     MTASTS_EINVAL);
    assert_int_equal(mtasts_tlsrpt_record_format(rec, buf, sizeof(buf), NULL),
                     MTASTS_ERANGE);
    assert_string_equal(buf, "v=TLSRP");
    mtasts_tlsrpt_record_free(rec);
}

static void
test_parse_args(void **state)
{
    struct fixture *f = *state;
    struct mtasts_diag d = {0, 0, 0, 0, 0, 0, 0};
    mtasts_tlsrpt_record *rec = (mtasts_tlsrpt_record *)&d;
    const char *s = "v=TLSRPTv1; rua=mailto:a@x.example";

    assert_int_equal(mtasts_tlsrpt_record_parse(NULL, s, 3, 0, &rec, NULL),
                     MTASTS_EINVAL);
    assert_null(rec);
    assert_int_equal(mtasts_tlsrpt_record_parse(f->ctx, s, 3, 0, NULL, NULL),
                     MTASTS_EINVAL);
    assert_int_equal(mtasts_tlsrpt_record_parse(f->ctx, NULL, 3, 0, &rec, NULL),
                     MTASTS_EINVAL);
    assert_int_equal(mtasts_tlsrpt_record_parse(f->ctx, s, 3, 4, &rec, NULL),
                     MTASTS_EINVAL);
    assert_int_equal(
        mtasts_tlsrpt_record_parse(f->ctx, s, strlen(s), 0, &rec, &d),
        MTASTS_EINVAL);
    d.version = MTASTS_DIAG_VERSION + 1;
    assert_int_equal(
        mtasts_tlsrpt_record_parse(f->ctx, s, strlen(s), 0, &rec, &d),
        MTASTS_EVERSION);
    assert_null(rec);
    /* the input need not be NUL-terminated; nothing past len is read */
    {
        char exact[34];
        memcpy(exact, s, sizeof(exact));
        rec = NULL;
        assert_int_equal(mtasts_tlsrpt_record_parse(
                             f->ctx, exact, sizeof(exact), 0, &rec, NULL),
                         MTASTS_OK);
        check_rua(rec, 0, "mailto:a@x.example", MTASTS_RUA_MAILTO,
                  "a@x.example");
        mtasts_tlsrpt_record_free(rec);
    }
}

/* s, whose canonical text has canon bytes (more than s), parses with the
 * limit at canon and not one byte below. */
static void
canonical_at_limit(mtasts_ctx *ctx, const char *s, size_t canon)
{
    mtasts_tlsrpt_record *rec;
    size_t len = 0;

    assert_int_equal(
        mtasts_ctx_set_limit(ctx, MTASTS_LIMIT_TXT_SIZE, canon - 1), MTASTS_OK);
    parse_bad(ctx, s, strlen(s), MTASTS_ETOOBIG, MTASTS_R_TOO_BIG, canon - 1);
    assert_int_equal(mtasts_ctx_set_limit(ctx, MTASTS_LIMIT_TXT_SIZE, canon),
                     MTASTS_OK);
    rec = parse_ok(ctx, s, 0);
    assert_int_equal(mtasts_tlsrpt_record_format(rec, NULL, 0, &len),
                     MTASTS_ERANGE);
    assert_int_equal(len, canon);
    mtasts_tlsrpt_record_free(rec);
}

static void
test_limits(void **state)
{
    struct fixture *f = *state;
    struct mtasts_diag d = MTASTS_DIAG_INIT;
    mtasts_tlsrpt_record *rec = NULL;
    const char *s = "v=TLSRPTv1; rua=mailto:a@x.example"; /* 34 bytes */
    const char *parts[] = {"v=TLSRPTv1; rua=mailto:", "a@x.example"};
    size_t lens[] = {23, 11}, nstr[] = {2};
    const char *uris[] = {"mailto:a@x.example"};
    size_t ulens[] = {18};
    int out = -1;

    assert_int_equal(mtasts_ctx_set_limit(f->ctx, MTASTS_LIMIT_TXT_SIZE, 34),
                     MTASTS_OK);
    rec = parse_ok(f->ctx, s, 0);
    mtasts_tlsrpt_record_free(rec);
    assert_int_equal(
        mtasts_tlsrpt_record_build(f->ctx, uris, ulens, 1, &rec, &d),
        MTASTS_OK);
    mtasts_tlsrpt_record_free(rec);
    assert_int_equal(mtasts_tlsrpt_record_select(f->ctx, parts, lens, nstr, 1,
                                                 0, &out, &rec, &d),
                     MTASTS_OK);
    assert_int_equal(out, MTASTS_SELECT_FOUND);
    mtasts_tlsrpt_record_free(rec);

    assert_int_equal(mtasts_ctx_set_limit(f->ctx, MTASTS_LIMIT_TXT_SIZE, 33),
                     MTASTS_OK);
    parse_bad(f->ctx, s, strlen(s), MTASTS_ETOOBIG, MTASTS_R_TOO_BIG, 33);
    assert_int_equal(
        mtasts_tlsrpt_record_build(f->ctx, uris, ulens, 1, &rec, &d),
        MTASTS_ETOOBIG);
    assert_null(rec);
    assert_int_equal(d.reason, MTASTS_R_TOO_BIG);
    harness_fail_at(-1); /* count attempts from here */
    assert_int_equal(mtasts_tlsrpt_record_select(f->ctx, parts, lens, nstr, 1,
                                                 0, &out, &rec, &d),
                     MTASTS_OK);
    assert_int_equal(out, MTASTS_SELECT_INVALID);
    assert_int_equal(d.code, MTASTS_ETOOBIG);
    assert_int_equal(d.reason, MTASTS_R_TOO_BIG);
    assert_int_equal(harness_attempts(), 0); /* refused before joining */
    nstr[0] = 1;
    lens[0] = 34;
    parts[0] = s;
    assert_int_equal(mtasts_tlsrpt_record_select(f->ctx, parts, lens, nstr, 1,
                                                 0, &out, &rec, &d),
                     MTASTS_OK);
    assert_int_equal(out, MTASTS_SELECT_INVALID);
    assert_int_equal(d.code, MTASTS_ETOOBIG);

    /* The canonical text must fit too, or it would not parse again:
     * 33 and 37 input bytes, 34 and 39 in canonical form. */
    canonical_at_limit(f->ctx, "v=TLSRPTv1;rua=mailto:a@x.example", 34);
    canonical_at_limit(f->ctx, "v=TLSRPTv1;rua=mailto:a@x.example;e=1", 39);
}

/* ---- OOM sweep ---- */

typedef int (*rec_op)(mtasts_ctx *, mtasts_tlsrpt_record **);

struct rec_job {
    mtasts_ctx *ctx;
    rec_op op;
};

static int
run_rec(void *arg)
{
    const struct rec_job *j = arg;
    mtasts_tlsrpt_record *rec = NULL;
    int rc = j->op(j->ctx, &rec);

    if (rc != MTASTS_OK) {
        assert_null(rec);
        return rc;
    }
    assert_non_null(rec);
    mtasts_tlsrpt_record_free(rec);
    return rc;
}

/* Run op with allocation k failing, for k = 0, 1, ... until it succeeds:
 * each failure is MTASTS_ENOMEM and leaves nothing allocated. */
static void
sweep(struct fixture *f, rec_op op)
{
    struct rec_job j;

    j.ctx = f->ctx;
    j.op = op;
    harness_oom_sweep("tlsrpt record", run_rec, &j, HARNESS_SWEEP_AT);
}

static const char many_text[] =
    "v=TLSRPTv1; rua=mailto:a@x.example,mailto:b@x.example,mailto:c@x.example,"
    "mailto:d@x.example,mailto:e@x.example,mailto:f@x.example,"
    "mailto:g@x.example,mailto:h@x.example,https://i.example/; e1=1; e2=2; "
    "e3=3; e4=4; e5=5; e6=6; e7=7; e8=8; e9=9";

static int
op_parse(mtasts_ctx *ctx, mtasts_tlsrpt_record **ret)
{
    struct mtasts_diag d = MTASTS_DIAG_INIT;
    int rc = mtasts_tlsrpt_record_parse(ctx, many_text, strlen(many_text), 0,
                                        ret, &d);
    assert_int_equal(d.code, rc);
    return rc;
}

static int
op_select(mtasts_ctx *ctx, mtasts_tlsrpt_record **ret)
{
    const char *strs[] = {"v=spf1 -all", "v=TLSRPTv1; rua=mailto:a@",
                          "x.example"};
    size_t lens[] = {11, 25, 9}, nstr[] = {1, 2};
    struct mtasts_diag d = MTASTS_DIAG_INIT;
    int out = -1, rc;

    rc =
        mtasts_tlsrpt_record_select(ctx, strs, lens, nstr, 2, 0, &out, ret, &d);
    if (rc == MTASTS_OK)
        assert_int_equal(out, MTASTS_SELECT_FOUND);
    else
        assert_int_equal(d.code, MTASTS_ENOMEM);
    return rc;
}

static int
op_build(mtasts_ctx *ctx, mtasts_tlsrpt_record **ret)
{
    const char *uris[] = {"mailto:a!b@x.example", "https://r.example/;"};
    size_t lens[] = {20, 19};
    return mtasts_tlsrpt_record_build(ctx, uris, lens, 2, ret, NULL);
}

static void
test_oom_parse(void **state)
{
    sweep(*state, op_parse);
}

static void
test_oom_select(void **state) /* RPT-TXT-9 join under OOM */
{
    sweep(*state, op_select);
}

static void
test_oom_build(void **state)
{
    sweep(*state, op_build);
}

int
main(int argc, char **argv)
{
    const struct CMUnitTest unit[] = {
        cmocka_unit_test_setup_teardown(test_txt_name, setup,
                                        teardown), /* RPT-TXT-1 */
        cmocka_unit_test_setup_teardown(test_version, setup,
                                        teardown), /* RPT-TXT-2 */
        cmocka_unit_test_setup_teardown(test_rua_required, setup,
                                        teardown), /* RPT-TXT-3 */
        cmocka_unit_test_setup_teardown(test_delimiters, setup,
                                        teardown), /* RPT-TXT-4 */
        cmocka_unit_test_setup_teardown(test_not_a_uri, setup,
                                        teardown), /* RPT-TXT-5 */
        cmocka_unit_test_setup_teardown(test_uri_forms, setup,
                                        teardown), /* RPT-TXT-5/7/11 */
        cmocka_unit_test_setup_teardown(test_encoding, setup,
                                        teardown), /* RPT-TXT-6 */
        cmocka_unit_test_setup_teardown(test_unusable_schemes, setup,
                                        teardown), /* RPT-TXT-7 */
        cmocka_unit_test_setup_teardown(test_select, setup,
                                        teardown), /* RPT-TXT-8 */
        cmocka_unit_test_setup_teardown(test_select_join, setup,
                                        teardown), /* RPT-TXT-9 */
        cmocka_unit_test_setup_teardown(test_extensions_duplicates, setup,
                                        teardown), /* RPT-TXT-10 */
        cmocka_unit_test_setup_teardown(test_mailto_address, setup,
                                        teardown), /* RPT-TXT-11 */
        cmocka_unit_test_setup_teardown(test_build, setup,
                                        teardown), /* RPT-TXT-12 */
        cmocka_unit_test_setup_teardown(test_many, setup, teardown),
        cmocka_unit_test_setup_teardown(test_select_args, setup, teardown),
        cmocka_unit_test_setup_teardown(test_getters_null, setup, teardown),
        cmocka_unit_test_setup_teardown(test_parse_args, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
    };
    const struct CMUnitTest oom[] = {
        cmocka_unit_test_setup_teardown(test_oom_parse, setup, teardown),
        cmocka_unit_test_setup_teardown(test_oom_select, setup, teardown),
        cmocka_unit_test_setup_teardown(test_oom_build, setup, teardown),
    };

    if (argc > 1 && strcmp(argv[1], "--oom") == 0)
        return cmocka_run_group_tests_name("tlsrpt-oom", oom, NULL, NULL);
    return cmocka_run_group_tests_name("tlsrpt", unit, NULL, NULL);
}
