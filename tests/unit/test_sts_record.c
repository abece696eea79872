/* The _mta-sts TXT record: parse, select, build, format (STS-TXT-*). */
#include <stdio.h>
#include <stdlib.h>

#include "harness.h"

#define W(w) MTASTS_WARN_BIT(MTASTS_W_##w)

/* Parse a guarded copy of s (a read past len faults). */
static int
parse(mtasts_ctx *ctx, const char *s, size_t len, unsigned flags,
      mtasts_sts_record **ret, struct mtasts_diag *d)
{
    char *g = harness_guard(s, len);
    int rc;

    *ret = (mtasts_sts_record *)(uintptr_t)1;
    rc = mtasts_sts_record_parse(ctx, g, len, flags, ret, d);
    /* The record must not point into the input. */
    harness_unguard(g, len);
    return rc;
}

/* Expect a failed parse with this status, reason and offset. */
static void
fail_(mtasts_ctx *ctx, const char *s, size_t len, unsigned flags, int code,
      int reason, size_t off, int line)
{
    struct mtasts_diag d = MTASTS_DIAG_INIT;
    mtasts_sts_record *rec;
    int rc;

    rc = parse(ctx, s, len, flags, &rec, &d);
    if (rc != code || d.code != code || d.reason != reason || d.offset != off)
        print_error("line %d: parse(\"%.*s\"): rc %d code %d reason %s off "
                    "%zu\n",
                    line, (int)len, s, rc, d.code, mtasts_reason_name(d.reason),
                    d.offset);
    assert_int_equal(rc, code);
    assert_null(rec);
    assert_int_equal(d.code, code);
    assert_int_equal(d.reason, reason);
    assert_int_equal(d.offset, off);
    assert_int_equal(d.line, 1);
    /* Same status without a diagnostic. */
    assert_int_equal(parse(ctx, s, len, flags, &rec, NULL), code);
    assert_null(rec);
    assert_int_equal(harness_leaks(), 1); /* the context only */
}

#define FAIL(ctx, lit, flags, code, reason, off)                           \
    fail_((ctx), (lit), sizeof(lit) - 1, (flags), (code), (reason), (off), \
          __LINE__)

/* Expect success with this id and warning mask; return the record. */
static mtasts_sts_record *
ok_(mtasts_ctx *ctx, const char *s, size_t len, unsigned flags, const char *id,
    uint64_t warnings, int line)
{
    struct mtasts_diag d = MTASTS_DIAG_INIT;
    mtasts_sts_record *rec;
    const char *got;
    size_t got_len = 999;
    int rc;

    d.code = 77;
    d.reason = 77;
    rc = parse(ctx, s, len, flags, &rec, &d);
    if (rc != MTASTS_OK)
        print_error("line %d: parse(\"%.*s\"): rc %d reason %s off %zu\n", line,
                    (int)len, s, rc, mtasts_reason_name(d.reason), d.offset);
    assert_int_equal(rc, MTASTS_OK);
    assert_non_null(rec);
    assert_int_equal(d.code, 0);
    assert_int_equal(d.reason, MTASTS_R_NONE);
    assert_true(d.warnings == warnings);
    assert_true(mtasts_sts_record_warnings(rec) == warnings);
    got = mtasts_sts_record_id(rec, &got_len);
    assert_non_null(got);
    assert_int_equal(got_len, strlen(id));
    assert_string_equal(got, id);
    return rec;
}

#define OK(ctx, lit, flags, id, warnings) \
    ok_((ctx), (lit), sizeof(lit) - 1, (flags), (id), (warnings), __LINE__)

/* OK and free at once. */
#define OKF(ctx, lit, flags, id, warnings) \
    mtasts_sts_record_free(OK(ctx, lit, flags, id, warnings))

static void
expect_ext(const mtasts_sts_record *rec, size_t i, const char *name,
           const char *value)
{
    const char *n = NULL, *v = NULL;
    size_t nl = 999, vl = 999;

    assert_int_equal(mtasts_sts_record_ext(rec, i, &n, &nl, &v, &vl),
                     MTASTS_OK);
    assert_int_equal(nl, strlen(name));
    assert_int_equal(vl, strlen(value));
    assert_string_equal(n, name);
    assert_string_equal(v, value);
}

static void
expect_format(const mtasts_sts_record *rec, const char *want)
{
    char buf[8192];
    size_t needed = 0;

    assert_int_equal(mtasts_sts_record_format(rec, buf, sizeof(buf), &needed),
                     MTASTS_OK);
    assert_string_equal(buf, want);
    assert_int_equal(needed, strlen(want));
}

/* STS-TXT-2 */
static void
sts_txt_2_version_at_offset_0(void **state)
{
    mtasts_ctx *ctx = *state;

    FAIL(ctx, "V=STSv1; id=1", 0, MTASTS_ESYNTAX, MTASTS_R_VERSION, 0);
    FAIL(ctx, "v=stsv1; id=1", 0, MTASTS_ESYNTAX, MTASTS_R_VERSION, 2);
    FAIL(ctx, " v=STSv1; id=1", 0, MTASTS_ESYNTAX, MTASTS_R_VERSION, 0);
    FAIL(ctx, "v=STSv2; id=1", 0, MTASTS_ESYNTAX, MTASTS_R_VERSION, 6);
    FAIL(ctx, "v=STSv10; id=a", 0, MTASTS_ESYNTAX, MTASTS_R_VERSION, 7);
    FAIL(ctx, "v=STS", 0, MTASTS_ESYNTAX, MTASTS_R_VERSION, 5);
    FAIL(ctx, "v=STSv1", 0, MTASTS_ESYNTAX, MTASTS_R_FIELD, 7);
    FAIL(ctx, "", 0, MTASTS_ESYNTAX, MTASTS_R_EMPTY, 0);
    FAIL(ctx, "\xEF\xBB\xBFv=STSv1; id=a", 0, MTASTS_ESYNTAX,
         MTASTS_R_NON_ASCII, 0);
    FAIL(ctx, "v=spf1 -all", 0, MTASTS_ESYNTAX, MTASTS_R_VERSION, 2);
    OKF(ctx, "v=STSv1; id=1", 0, "1", 0);
}

/* STS-TXT-3, E-7 */
static void
sts_txt_3_id_required(void **state)
{
    mtasts_ctx *ctx = *state;

    OKF(ctx, "v=STSv1; id=20160831085700Z;", 0, "20160831085700Z", 0);
    FAIL(ctx, "v=STSv1;", 0, MTASTS_ESYNTAX, MTASTS_R_FIELD, 8);
    FAIL(ctx, "v=STSv1; x=1", 0, MTASTS_ESYNTAX, MTASTS_R_NO_ID, 12);
    FAIL(ctx, "v=STSv1; id=2016-08-31", 0, MTASTS_ESYNTAX, MTASTS_R_ID, 12);
    FAIL(ctx, "v=STSv1; ID=abc", 0, MTASTS_ESYNTAX, MTASTS_R_NO_ID, 15);
    FAIL(ctx, "v=STSv1; Id=abc", 0, MTASTS_ESYNTAX, MTASTS_R_NO_ID, 15);
    FAIL(ctx, "v=STSv1; id=", 0, MTASTS_ESYNTAX, MTASTS_R_ID, 12);
    FAIL(ctx, "v=STSv1; id=a_b", 0, MTASTS_ESYNTAX, MTASTS_R_ID, 12);
    FAIL(ctx, "v=STSv1; id=a.b", 0, MTASTS_ESYNTAX, MTASTS_R_ID, 12);
    /* 33 characters */
    FAIL(ctx, "v=STSv1; id=abcdefghijklmnopqrstuvwxyz0123456", 0,
         MTASTS_ESYNTAX, MTASTS_R_ID, 12);
    /* 32 characters */
    OKF(ctx, "v=STSv1; id=abcdefghijklmnopqrstuvwxyz012345", 0,
        "abcdefghijklmnopqrstuvwxyz012345", 0);
    OKF(ctx, "v=STSv1; id=ABCxyz09", 0, "ABCxyz09", 0);
    /* E-7: the first id must be a valid id, a later one only a valid
     * extension. */
    FAIL(ctx, "v=STSv1; id=bad-1; id=a", 0, MTASTS_ESYNTAX, MTASTS_R_ID, 12);
    OKF(ctx, "v=STSv1; id=a; id=b-c", 0, "a", W(DUPLICATE_FIELD));
    FAIL(ctx, "v=STSv1; id=a; id=", 0, MTASTS_ESYNTAX, MTASTS_R_ID, 18);
    FAIL(ctx, "v=STSv1; id=a; id=b c", 0, MTASTS_ESYNTAX, MTASTS_R_DELIM, 20);
}

/* STS-TXT-4, E-15 */
static void
sts_txt_4_delimiters(void **state)
{
    mtasts_ctx *ctx = *state;
    struct mtasts_diag d = MTASTS_DIAG_INIT;
    mtasts_sts_record *rec;

    OKF(ctx, "v=STSv1;id=a", 0, "a", 0);
    OKF(ctx, "v=STSv1 ;\tid=a ; ", 0, "a", 0);
    OKF(ctx, "v=STSv1\t;id=a;", 0, "a", 0);
    OKF(ctx, "v=STSv1; id=a;", 0, "a", 0);
    OKF(ctx, "v=STSv1; id=a  ", 0, "a", W(TRAILING_WSP));
    OKF(ctx, "v=STSv1; id=a\t", 0, "a", W(TRAILING_WSP));
    FAIL(ctx, "v=STSv1; id=a;;", 0, MTASTS_ESYNTAX, MTASTS_R_FIELD, 14);
    FAIL(ctx, "v=STSv1; ; id=a", 0, MTASTS_ESYNTAX, MTASTS_R_FIELD, 9);
    FAIL(ctx, "v=STSv1 id=a", 0, MTASTS_ESYNTAX, MTASTS_R_DELIM, 8);
    FAIL(ctx, "v=STSv1; id=a x=1", 0, MTASTS_ESYNTAX, MTASTS_R_DELIM, 14);
    FAIL(ctx, "v=STSv1;  ", 0, MTASTS_ESYNTAX, MTASTS_R_FIELD, 10);
    FAIL(ctx, "v=STSv1 ", 0, MTASTS_ESYNTAX, MTASTS_R_FIELD, 8);

    /* E-15: warning offset is where the trailing WSP starts. */
    assert_int_equal(parse(ctx, S("v=STSv1; id=a  "), 0, &rec, &d), MTASTS_OK);
    assert_true(d.warnings == W(TRAILING_WSP));
    assert_int_equal(d.warning_offset, 13);
    mtasts_sts_record_free(rec);
}

/* E-15, STS-TXT-8: strict mode refuses every tolerance. */
static void
sts_txt_strict_mode(void **state)
{
    mtasts_ctx *ctx = *state;
    struct mtasts_diag d = MTASTS_DIAG_INIT;
    mtasts_sts_record *rec;

    FAIL(ctx, "v=STSv1; id=a  ", MTASTS_PARSE_F_STRICT, MTASTS_ESTRICT,
         MTASTS_R_STRICT, 13);
    FAIL(ctx, "v=STSv1; id=a; id=b", MTASTS_PARSE_F_STRICT, MTASTS_ESTRICT,
         MTASTS_R_STRICT, 15);
    FAIL(ctx, "v=STSv1; id=a; v=STSv2", MTASTS_PARSE_F_STRICT, MTASTS_ESTRICT,
         MTASTS_R_STRICT, 15);
    /* The warnings that caused the refusal are reported. */
    assert_int_equal(
        parse(ctx, S("v=STSv1; id=a; id=b  "), MTASTS_PARSE_F_STRICT, &rec, &d),
        MTASTS_ESTRICT);
    assert_null(rec);
    assert_true(d.warnings == (W(DUPLICATE_FIELD) | W(TRAILING_WSP)));
    assert_int_equal(d.offset, 15);
    /* Clean input passes in strict mode. */
    OKF(ctx, "v=STSv1; id=a; x=1;", MTASTS_PARSE_F_STRICT, "a", 0);
    OKF(ctx, "v=STSv1 ;\tid=a ; ", MTASTS_PARSE_F_STRICT, "a", 0);
    /* Unknown flags are misuse. */
    assert_int_equal(parse(ctx, S("v=STSv1; id=a"), 2, &rec, NULL),
                     MTASTS_EINVAL);
    assert_null(rec);
}

/* STS-TXT-5 */
static void
sts_txt_5_extensions(void **state)
{
    mtasts_ctx *ctx = *state;
    mtasts_sts_record *rec;

    rec = OK(ctx, "v=STSv1; id=a; foo.bar_1=x:y", 0, "a", 0);
    assert_int_equal(mtasts_sts_record_ext_count(rec), 1);
    expect_ext(rec, 0, "foo.bar_1", "x:y");
    mtasts_sts_record_free(rec);

    /* Every allowed value byte: %x21-3A / %x3C / %x3E-7E. */
    rec = OK(ctx,
             "v=STSv1; id=a; z=!\"#$%&'()*+,-./0123456789:<>?@AZ[\\]^_`az{|}~",
             0, "a", 0);
    expect_ext(rec, 0, "z", "!\"#$%&'()*+,-./0123456789:<>?@AZ[\\]^_`az{|}~");
    mtasts_sts_record_free(rec);

    FAIL(ctx, "v=STSv1; id=a; foo=", 0, MTASTS_ESYNTAX, MTASTS_R_EXT_VALUE, 19);
    FAIL(ctx, "v=STSv1; id=a; foo=;", 0, MTASTS_ESYNTAX, MTASTS_R_EXT_VALUE,
         19);
    FAIL(ctx, "v=STSv1; id=a; foo=a=b", 0, MTASTS_ESYNTAX, MTASTS_R_EXT_VALUE,
         20);
    FAIL(ctx, "v=STSv1; id=a; -foo=1", 0, MTASTS_ESYNTAX, MTASTS_R_FIELD, 15);
    FAIL(ctx, "v=STSv1; id=a; _foo=1", 0, MTASTS_ESYNTAX, MTASTS_R_FIELD, 15);
    FAIL(ctx, "v=STSv1; id=a; foo=a b", 0, MTASTS_ESYNTAX, MTASTS_R_DELIM, 21);
    FAIL(ctx, "v=STSv1; id=a; foo", 0, MTASTS_ESYNTAX, MTASTS_R_FIELD, 18);
    FAIL(ctx, "v=STSv1; id=a; foo =1", 0, MTASTS_ESYNTAX, MTASTS_R_EXT_NAME,
         18);
    FAIL(ctx, "v=STSv1; id=a; fo/o=1", 0, MTASTS_ESYNTAX, MTASTS_R_EXT_NAME,
         17);
    FAIL(ctx, "v=STSv1; id=a; foo=a\x7f", 0, MTASTS_ESYNTAX, MTASTS_R_CTL, 20);
    FAIL(ctx, "v=STSv1; id=a; foo=a\x01", 0, MTASTS_ESYNTAX, MTASTS_R_CTL, 20);
    FAIL(ctx, "v=STSv1; id=a\0; foo=a", 0, MTASTS_ESYNTAX, MTASTS_R_CTL, 13);
    /* name: 32 characters fine, 33 too long */
    rec =
        OK(ctx, "v=STSv1; id=a; abcdefghijklmnopqrstuvwxyz012._-=1", 0, "a", 0);
    expect_ext(rec, 0, "abcdefghijklmnopqrstuvwxyz012._-", "1");
    mtasts_sts_record_free(rec);
    FAIL(ctx, "v=STSv1; id=a; abcdefghijklmnopqrstuvwxyz012._-x=1", 0,
         MTASTS_ESYNTAX, MTASTS_R_EXT_NAME, 47);
}

/* STS-TXT-6 */
static void
sts_txt_6_ascii_only(void **state)
{
    mtasts_ctx *ctx = *state;

    FAIL(ctx, "v=STSv1; id=a; x=\xC3\xA9", 0, MTASTS_ESYNTAX,
         MTASTS_R_NON_ASCII, 17);
    FAIL(ctx, "v=STSv1; id=a; \xC3\xA9=1", 0, MTASTS_ESYNTAX,
         MTASTS_R_NON_ASCII, 15);
    FAIL(ctx, "v=STSv1; id=\xC3\xA9", 0, MTASTS_ESYNTAX, MTASTS_R_NON_ASCII,
         12);
    FAIL(ctx, "v=STSv1;\xA0id=a", 0, MTASTS_ESYNTAX, MTASTS_R_NON_ASCII, 8);
}

/* STS-TXT-7 */
static void
sts_txt_7_field_order_and_unknown_kept(void **state)
{
    mtasts_ctx *ctx = *state;
    mtasts_sts_record *rec;

    rec = OK(ctx, "v=STSv1; future=yes; id=a", 0, "a", 0);
    assert_int_equal(mtasts_sts_record_ext_count(rec), 1);
    expect_ext(rec, 0, "future", "yes");
    expect_format(rec, "v=STSv1; id=a; future=yes;");
    mtasts_sts_record_free(rec);

    rec = OK(ctx, "v=STSv1; b=2; id=x; a=1; c=3", 0, "x", 0);
    assert_int_equal(mtasts_sts_record_ext_count(rec), 3);
    expect_ext(rec, 0, "b", "2");
    expect_ext(rec, 1, "a", "1");
    expect_ext(rec, 2, "c", "3");
    mtasts_sts_record_free(rec);
}

/* STS-TXT-8, E-7 */
static void
sts_txt_8_duplicates_first_wins(void **state)
{
    mtasts_ctx *ctx = *state;
    struct mtasts_diag d = MTASTS_DIAG_INIT;
    mtasts_sts_record *rec;

    rec = OK(ctx, "v=STSv1; id=a; id=b", 0, "a", W(DUPLICATE_FIELD));
    assert_int_equal(mtasts_sts_record_ext_count(rec), 0);
    mtasts_sts_record_free(rec);
    rec = OK(ctx, "v=STSv1; id=a; v=STSv2", 0, "a", W(DUPLICATE_FIELD));
    assert_int_equal(mtasts_sts_record_ext_count(rec), 0);
    expect_format(rec, "v=STSv1; id=a;");
    mtasts_sts_record_free(rec);
    assert_int_equal(parse(ctx, S("v=STSv1; id=a; id=b"), 0, &rec, &d),
                     MTASTS_OK);
    assert_int_equal(d.warning_offset, 15);
    mtasts_sts_record_free(rec);
}

/* More than 8 extensions take the rare second-scan path. */
static void
sts_txt_many_extensions(void **state)
{
    mtasts_ctx *ctx = *state;
    mtasts_sts_record *rec;
    char buf[2048], want[2048], name[8], value[8];
    size_t i, n = 0, w = 0;

    n += (size_t)snprintf(buf + n, sizeof(buf) - n, "v=STSv1");
    w += (size_t)snprintf(want + w, sizeof(want) - w, "v=STSv1; id=Z9;");
    for (i = 0; i < 20; i++) {
        if (i == 11) {
            n += (size_t)snprintf(buf + n, sizeof(buf) - n, "; id=Z9");
            n += (size_t)snprintf(buf + n, sizeof(buf) - n, "; id=dup");
        }
        n +=
            (size_t)snprintf(buf + n, sizeof(buf) - n, "; e%zu=v%zu", i, i * 7);
        w += (size_t)snprintf(want + w, sizeof(want) - w, " e%zu=v%zu;", i,
                              i * 7);
    }
    rec = ok_(ctx, buf, n, 0, "Z9", W(DUPLICATE_FIELD), __LINE__);
    assert_int_equal(mtasts_sts_record_ext_count(rec), 20);
    for (i = 0; i < 20; i++) {
        snprintf(name, sizeof(name), "e%zu", i);
        snprintf(value, sizeof(value), "v%zu", i * 7);
        expect_ext(rec, i, name, value);
    }
    expect_format(rec, want);
    assert_int_equal(mtasts_sts_record_ext(rec, 20, NULL, NULL, NULL, NULL),
                     MTASTS_EINVAL);
    mtasts_sts_record_free(rec);

    /* Exactly 8 and 9 extensions, the sink boundary. */
    rec = OK(ctx, "v=STSv1; id=a; a=1; b=2; c=3; d=4; e=5; f=6; g=7; h=8", 0,
             "a", 0);
    assert_int_equal(mtasts_sts_record_ext_count(rec), 8);
    expect_ext(rec, 7, "h", "8");
    mtasts_sts_record_free(rec);
    rec = OK(ctx, "v=STSv1; a=1; b=2; c=3; d=4; e=5; f=6; g=7; h=8; i=9; id=a",
             0, "a", 0);
    assert_int_equal(mtasts_sts_record_ext_count(rec), 9);
    expect_ext(rec, 0, "a", "1");
    expect_ext(rec, 8, "i", "9");
    mtasts_sts_record_free(rec);
}

/* E-21: TXT size limit, default and per context. */
static void
sts_txt_size_limit(void **state)
{
    mtasts_ctx *ctx = *state;
    struct mtasts_diag d = MTASTS_DIAG_INIT;
    mtasts_sts_record *rec;
    char *big;
    size_t n = MTASTS_TXT_MAX_SIZE + 1;

    big = malloc(n);
    assert_non_null(big);
    memcpy(big, "v=STSv1; id=a; x=", 17);
    memset(big + 17, 'y', n - 17);
    assert_int_equal(parse(ctx, big, n, 0, &rec, &d), MTASTS_ETOOBIG);
    assert_null(rec);
    assert_int_equal(d.code, MTASTS_ETOOBIG);
    assert_int_equal(d.reason, MTASTS_R_TOO_BIG);
    assert_int_equal(d.offset, MTASTS_TXT_MAX_SIZE);
    /* 4096 bytes in canonical form are still fine, and round-trip. */
    big[n - 2] = ';';
    assert_int_equal(parse(ctx, big, n - 1, 0, &rec, &d), MTASTS_OK);
    assert_int_equal(mtasts_sts_record_ext_count(rec), 1);
    assert_int_equal(mtasts_sts_record_format(rec, NULL, 0, &n), MTASTS_ERANGE);
    assert_int_equal(n, MTASTS_TXT_MAX_SIZE);
    mtasts_sts_record_free(rec);
    /* STS-TXT-14: 4096 bytes without the final ';' would format to 4097,
     * which could not be parsed again: refused like a longer input. */
    big[n - 1] = 'y';
    assert_int_equal(parse(ctx, big, n, 0, &rec, &d), MTASTS_ETOOBIG);
    assert_null(rec);
    assert_int_equal(d.reason, MTASTS_R_TOO_BIG);
    assert_int_equal(d.offset, MTASTS_TXT_MAX_SIZE);
    free(big);

    assert_int_equal(mtasts_ctx_set_limit(ctx, MTASTS_LIMIT_TXT_SIZE, 20),
                     MTASTS_OK);
    OKF(ctx, "v=STSv1; id=abcdefg;", 0, "abcdefg", 0);
    OKF(ctx, "v=STSv1;id=abcdefg", 0, "abcdefg", 0);
    FAIL(ctx, "v=STSv1; id=abcdefgh", 0, MTASTS_ETOOBIG, MTASTS_R_TOO_BIG, 20);
    FAIL(ctx, "v=STSv1; id=abcdefghi", 0, MTASTS_ETOOBIG, MTASTS_R_TOO_BIG, 20);
    /* The limit is checked before the syntax. */
    FAIL(ctx, "garbage garbage garbage", 0, MTASTS_ETOOBIG, MTASTS_R_TOO_BIG,
         20);
}

/* Parsers take (buf, len) without a NUL: exact-size heap copies for
 * ASan/valgrind, and input with NUL bytes and trailing garbage past len. */
static void
sts_txt_no_read_past_len(void **state)
{
    mtasts_ctx *ctx = *state;
    static const char *const inputs[] = {
        "v=STSv1; id=a", "v=STSv1; id=a ", "v=STSv1; id=a;",
        "v=STSv1",       "v=STS",          "v",
        "v=STSv1; id",   "v=STSv1; id=",   "v=STSv1; x=",
        "v=STSv1;",      "v=STSv1; x",     "",
    };
    mtasts_sts_record *rec;
    size_t i;
    char *p;

    for (i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
        size_t n = strlen(inputs[i]);
        p = harness_exact(inputs[i], n);
        rec = NULL;
        (void)mtasts_sts_record_parse(ctx, p, n, 0, &rec, NULL);
        mtasts_sts_record_free(rec);
        free(p);
    }
    /* A prefix of a longer buffer: only len bytes count. */
    assert_int_equal(
        mtasts_sts_record_parse(ctx, "v=STSv1; id=ab; x=1", 14, 0, &rec, NULL),
        MTASTS_OK);
    assert_string_equal(mtasts_sts_record_id(rec, NULL), "ab");
    assert_int_equal(mtasts_sts_record_ext_count(rec), 0);
    mtasts_sts_record_free(rec);
    /* NULL buffer with length 0 is the empty record. */
    assert_int_equal(mtasts_sts_record_parse(ctx, NULL, 0, 0, &rec, NULL),
                     MTASTS_ESYNTAX);
    assert_int_equal(mtasts_sts_record_parse(ctx, NULL, 3, 0, &rec, NULL),
                     MTASTS_EINVAL);
    assert_null(rec);
    assert_int_equal(
        mtasts_sts_record_parse(NULL, S("v=STSv1; id=a"), 0, &rec, NULL),
        MTASTS_EINVAL);
    assert_null(rec);
    assert_int_equal(
        mtasts_sts_record_parse(ctx, S("v=STSv1; id=a"), 0, NULL, NULL),
        MTASTS_EINVAL);
}

static void
sts_txt_getters(void **state)
{
    mtasts_ctx *ctx = *state;
    mtasts_sts_record *rec;
    const char *id, *n = "x", *v = "x";
    size_t len = 5, nl = 5, vl = 5;

    assert_null(mtasts_sts_record_id(NULL, &len));
    assert_int_equal(len, 0);
    assert_null(mtasts_sts_record_id(NULL, NULL));
    assert_int_equal(mtasts_sts_record_ext_count(NULL), 0);
    assert_true(mtasts_sts_record_warnings(NULL) == 0);
    assert_int_equal(mtasts_sts_record_ext(NULL, 0, &n, &nl, &v, &vl),
                     MTASTS_EINVAL);
    mtasts_sts_record_free(NULL);

    rec = OK(ctx, "v=STSv1; id=abc; k=v1", 0, "abc", 0);
    id = mtasts_sts_record_id(rec, NULL);
    assert_int_equal(id[3], '\0');
    assert_int_equal(mtasts_sts_record_ext(rec, 0, NULL, NULL, NULL, NULL),
                     MTASTS_OK);
    assert_int_equal(mtasts_sts_record_ext(rec, 0, &n, NULL, &v, NULL),
                     MTASTS_OK);
    assert_string_equal(n, "k");
    assert_string_equal(v, "v1");
    assert_int_equal(mtasts_sts_record_ext(rec, 1, &n, &nl, &v, &vl),
                     MTASTS_EINVAL);
    mtasts_sts_record_free(rec);
}

/* ------------------------------------------------------------------ */
/* Selection from an RRset                                             */
/* ------------------------------------------------------------------ */

#define MAXS 16

struct rrset {
    const char *strs[MAXS];
    size_t nstr[MAXS];
    size_t rr_count;
};

/* Run select over guarded copies of the strings. */
static int
select_(mtasts_ctx *ctx, const struct rrset *rs, unsigned flags, int *outcome,
        mtasts_sts_record **rec, struct mtasts_diag *d)
{
    char *g[MAXS] = {NULL};
    size_t lens[MAXS] = {0}, total = 0, i;
    int rc;

    for (i = 0; i < rs->rr_count; i++)
        total += rs->nstr[i];
    for (i = 0; i < total; i++) {
        lens[i] = strlen(rs->strs[i]);
        g[i] = harness_guard(rs->strs[i], lens[i]);
    }
    *outcome = -1;
    *rec = (mtasts_sts_record *)(uintptr_t)1;
    rc = mtasts_sts_record_select(ctx, (const char *const *)g, lens, rs->nstr,
                                  rs->rr_count, flags, outcome, rec, d);
    for (i = 0; i < total; i++)
        harness_unguard(g[i], lens[i]);
    return rc;
}

/* Expect an outcome; for FOUND also the id. */
static void
sel_(mtasts_ctx *ctx, const struct rrset *rs, unsigned flags, int outcome,
     const char *id, int line)
{
    struct mtasts_diag d = MTASTS_DIAG_INIT;
    mtasts_sts_record *rec;
    int got, rc;

    rc = select_(ctx, rs, flags, &got, &rec, &d);
    if (rc != MTASTS_OK || got != outcome)
        print_error("line %d: select: rc %d outcome %d (want %d) reason %s\n",
                    line, rc, got, outcome, mtasts_reason_name(d.reason));
    assert_int_equal(rc, MTASTS_OK);
    assert_int_equal(got, outcome);
    if (outcome == MTASTS_SELECT_FOUND) {
        assert_non_null(rec);
        assert_string_equal(mtasts_sts_record_id(rec, NULL), id);
        mtasts_sts_record_free(rec);
    } else {
        assert_null(rec);
        if (outcome == MTASTS_SELECT_NONE)
            assert_int_equal(d.reason, MTASTS_R_NOT_FOUND);
        if (outcome == MTASTS_SELECT_MULTIPLE)
            assert_int_equal(d.reason, MTASTS_R_MULTIPLE);
    }
    assert_int_equal(harness_leaks(), 1);
}

#define SEL(ctx, rs, flags, outcome, id) \
    sel_((ctx), (rs), (flags), (outcome), (id), __LINE__)

/* STS-TXT-9, E-2 */
static void
sts_txt_9_select_one_candidate(void **state)
{
    mtasts_ctx *ctx = *state;
    struct rrset spf_sts = {{"v=spf1 -all", "v=STSv1; id=a"}, {1, 1}, 2};
    struct rrset sts_spf = {{"v=STSv1; id=a", "v=spf1 -all"}, {1, 1}, 2};
    struct rrset two = {{"v=STSv1; id=a", "v=STSv1; id=b"}, {1, 1}, 2};
    struct rrset two_same = {{"v=STSv1; id=a", "v=STSv1; id=a"}, {1, 1}, 2};
    struct rrset one_bad = {{"v=STSv1; id=a", "v=STSv1; id=bad_"}, {1, 1}, 2};
    struct rrset sts10 = {{"v=STSv10; id=a"}, {1}, 1};
    struct rrset sts10_sts = {{"v=STSv10; id=a", "v=STSv1; id=b"}, {1, 1}, 2};
    struct rrset empty = {{NULL}, {0}, 0};
    struct rrset wsp = {{"v=STSv1 ; id=a"}, {1}, 1};
    struct rrset tab = {{"v=STSv1\t\t;id=a"}, {1}, 1};
    struct rrset nosemi = {{"v=STSv1"}, {1}, 1};
    struct rrset nosemi2 = {{"v=STSv1 id=a"}, {1}, 1};
    struct rrset upper = {{"V=STSv1; id=a"}, {1}, 1};
    struct rrset lead = {{" v=STSv1; id=a"}, {1}, 1};
    struct rrset spf = {
        {"v=spf1 -all", "google-site-verification=x"}, {1, 1}, 2};
    struct rrset zero_strings = {{"v=STSv1; id=a"}, {0, 1}, 2};

    SEL(ctx, &spf_sts, 0, MTASTS_SELECT_FOUND, "a");
    SEL(ctx, &sts_spf, 0, MTASTS_SELECT_FOUND, "a");
    SEL(ctx, &two, 0, MTASTS_SELECT_MULTIPLE, NULL);
    SEL(ctx, &two_same, 0, MTASTS_SELECT_MULTIPLE, NULL);
    SEL(ctx, &one_bad, 0, MTASTS_SELECT_MULTIPLE, NULL);
    SEL(ctx, &sts10, 0, MTASTS_SELECT_NONE, NULL);
    SEL(ctx, &sts10_sts, 0, MTASTS_SELECT_FOUND, "b");
    SEL(ctx, &empty, 0, MTASTS_SELECT_NONE, NULL);
    SEL(ctx, &wsp, 0, MTASTS_SELECT_FOUND, "a");
    SEL(ctx, &tab, 0, MTASTS_SELECT_FOUND, "a");
    SEL(ctx, &nosemi, 0, MTASTS_SELECT_NONE, NULL);
    SEL(ctx, &nosemi2, 0, MTASTS_SELECT_NONE, NULL);
    SEL(ctx, &upper, 0, MTASTS_SELECT_NONE, NULL);
    SEL(ctx, &lead, 0, MTASTS_SELECT_NONE, NULL);
    SEL(ctx, &spf, 0, MTASTS_SELECT_NONE, NULL);
    SEL(ctx, &zero_strings, 0, MTASTS_SELECT_FOUND, "a");
}

/* STS-TXT-10 (partly: the INVALID outcome; "no HTTPS call" and the cache
 * belong to the discovery state machine, not yet in the API). */
static void
sts_txt_10_single_invalid_candidate(void **state)
{
    mtasts_ctx *ctx = *state;
    struct rrset bad = {{"v=STSv1; id=bad_id"}, {1}, 1};
    struct rrset noid = {{"v=spf1 -all", "v=STSv1; x=1"}, {1, 1}, 2};
    struct mtasts_diag d = MTASTS_DIAG_INIT;
    mtasts_sts_record *rec;
    int outcome;

    SEL(ctx, &bad, 0, MTASTS_SELECT_INVALID, NULL);
    assert_int_equal(select_(ctx, &bad, 0, &outcome, &rec, &d), MTASTS_OK);
    assert_int_equal(outcome, MTASTS_SELECT_INVALID);
    assert_null(rec);
    assert_int_equal(d.code, MTASTS_ESYNTAX);
    assert_int_equal(d.reason, MTASTS_R_ID);
    assert_int_equal(d.offset, 12);
    assert_int_equal(select_(ctx, &noid, 0, &outcome, &rec, &d), MTASTS_OK);
    assert_int_equal(outcome, MTASTS_SELECT_INVALID);
    assert_int_equal(d.reason, MTASTS_R_NO_ID);
    assert_int_equal(d.offset, 12);
    assert_int_equal(harness_leaks(), 1);
}

/* STS-TXT-11 */
static void
sts_txt_11_strings_joined(void **state)
{
    mtasts_ctx *ctx = *state;
    struct rrset split = {{"v=STSv1; i", "d=abc"}, {2}, 1};
    struct rrset split_version = {{"v=ST", "Sv1", " ;id=x"}, {3}, 1};
    struct rrset split_semi = {{"v=STSv1 ", "", ";", "id=y"}, {4}, 1};
    struct rrset empties = {{"", "v=STSv1; id=a", ""}, {3}, 1};
    struct rrset spf_split = {
        {"v=spf1 ", "-all", "v=STSv1; ", "id=q"}, {2, 2}, 2};
    /* Strings are joined without a separator: "v=STSv1;" + "id=a" and
     * "v=STSv1; id=a" + "b" give ids "a" and "ab". */
    struct rrset nosep = {{"v=STSv1; id=a", "b"}, {2}, 1};
    /* A candidate spanning strings does not make the next record one. */
    struct rrset two = {{"v=STSv1", "; id=a", "v=STSv1; id=b"}, {2, 1}, 2};
    struct mtasts_diag d = MTASTS_DIAG_INIT;
    struct rrset bad = {{"v=STSv1; ", "id=bad_id"}, {2}, 1};
    mtasts_sts_record *rec;
    int outcome;

    SEL(ctx, &split, 0, MTASTS_SELECT_FOUND, "abc");
    SEL(ctx, &split_version, 0, MTASTS_SELECT_FOUND, "x");
    SEL(ctx, &split_semi, 0, MTASTS_SELECT_FOUND, "y");
    SEL(ctx, &empties, 0, MTASTS_SELECT_FOUND, "a");
    SEL(ctx, &spf_split, 0, MTASTS_SELECT_FOUND, "q");
    SEL(ctx, &nosep, 0, MTASTS_SELECT_FOUND, "ab");
    SEL(ctx, &two, 0, MTASTS_SELECT_MULTIPLE, NULL);

    /* Diagnostic offsets are into the joined record. */
    assert_int_equal(select_(ctx, &bad, 0, &outcome, &rec, &d), MTASTS_OK);
    assert_int_equal(outcome, MTASTS_SELECT_INVALID);
    assert_int_equal(d.reason, MTASTS_R_ID);
    assert_int_equal(d.offset, 12);
}

/* STS-TXT-13 (partly: NO_RECORD = an empty RRset gives no policy; the
 * resolver outcomes and the cache are not in the API yet). */
static void
sts_txt_13_empty_rrset(void **state)
{
    mtasts_ctx *ctx = *state;
    struct rrset empty = {{NULL}, {0}, 0};
    struct rrset empty_rr = {{NULL}, {0}, 1};

    SEL(ctx, &empty, 0, MTASTS_SELECT_NONE, NULL);
    SEL(ctx, &empty_rr, 0, MTASTS_SELECT_NONE, NULL);
    SEL(ctx, &empty, MTASTS_PARSE_F_STRICT, MTASTS_SELECT_NONE, NULL);
}

/* E-15 through select, strict and limits. */
static void
sts_txt_select_strict_and_limits(void **state)
{
    mtasts_ctx *ctx = *state;
    struct rrset trailing = {{"v=STSv1; id=a "}, {1}, 1};
    struct rrset big = {{"v=STSv1; ", "id=abcdefghijklmnop;"}, {2}, 1};
    struct rrset bare = {{"v=STSv1; ", "id=abcdefghijklmno"}, {2}, 1};
    struct mtasts_diag d = MTASTS_DIAG_INIT;
    mtasts_sts_record *rec;
    int outcome;

    assert_int_equal(select_(ctx, &trailing, 0, &outcome, &rec, &d), MTASTS_OK);
    assert_int_equal(outcome, MTASTS_SELECT_FOUND);
    assert_true(d.warnings == W(TRAILING_WSP));
    assert_true(mtasts_sts_record_warnings(rec) == W(TRAILING_WSP));
    mtasts_sts_record_free(rec);
    assert_int_equal(
        select_(ctx, &trailing, MTASTS_PARSE_F_STRICT, &outcome, &rec, &d),
        MTASTS_OK);
    assert_int_equal(outcome, MTASTS_SELECT_INVALID);
    assert_null(rec);
    assert_int_equal(d.code, MTASTS_ESTRICT);
    assert_int_equal(d.reason, MTASTS_R_STRICT);

    SEL(ctx, &big, 0, MTASTS_SELECT_FOUND, "abcdefghijklmnop");
    assert_int_equal(mtasts_ctx_set_limit(ctx, MTASTS_LIMIT_TXT_SIZE, 29),
                     MTASTS_OK);
    SEL(ctx, &big, 0, MTASTS_SELECT_FOUND, "abcdefghijklmnop");
    assert_int_equal(mtasts_ctx_set_limit(ctx, MTASTS_LIMIT_TXT_SIZE, 28),
                     MTASTS_OK);
    assert_int_equal(select_(ctx, &big, 0, &outcome, &rec, &d), MTASTS_OK);
    assert_int_equal(outcome, MTASTS_SELECT_INVALID);
    assert_null(rec);
    assert_int_equal(d.code, MTASTS_ETOOBIG);
    assert_int_equal(d.reason, MTASTS_R_TOO_BIG);
    /* 27 joined bytes, but 28 in canonical form (STS-TXT-14) */
    assert_int_equal(mtasts_ctx_set_limit(ctx, MTASTS_LIMIT_TXT_SIZE, 27),
                     MTASTS_OK);
    assert_int_equal(select_(ctx, &bare, 0, &outcome, &rec, &d), MTASTS_OK);
    assert_int_equal(outcome, MTASTS_SELECT_INVALID);
    assert_int_equal(d.reason, MTASTS_R_TOO_BIG);
    assert_int_equal(mtasts_ctx_set_limit(ctx, MTASTS_LIMIT_TXT_SIZE, 28),
                     MTASTS_OK);
    SEL(ctx, &bare, 0, MTASTS_SELECT_FOUND, "abcdefghijklmno");
    assert_int_equal(harness_leaks(), 1);
}

static void
sts_txt_select_misuse(void **state)
{
    mtasts_ctx *ctx = *state;
    const char *strs[] = {"v=STSv1; id=a", NULL};
    size_t lens[] = {13, 3}, nstr[] = {1, 1}, nstr0[] = {0};
    mtasts_sts_record *rec = (mtasts_sts_record *)(uintptr_t)1;
    int outcome;

    assert_int_equal(mtasts_sts_record_select(NULL, strs, lens, nstr, 1, 0,
                                              &outcome, &rec, NULL),
                     MTASTS_EINVAL);
    assert_null(rec);
    assert_int_equal(mtasts_sts_record_select(ctx, strs, lens, NULL, 1, 0,
                                              &outcome, &rec, NULL),
                     MTASTS_EINVAL);
    assert_int_equal(mtasts_sts_record_select(ctx, NULL, lens, nstr, 1, 0,
                                              &outcome, &rec, NULL),
                     MTASTS_EINVAL);
    assert_int_equal(mtasts_sts_record_select(ctx, strs, NULL, nstr, 1, 0,
                                              &outcome, &rec, NULL),
                     MTASTS_EINVAL);
    /* A NULL string with a length. */
    assert_int_equal(mtasts_sts_record_select(ctx, strs, lens, nstr, 2, 0,
                                              &outcome, &rec, NULL),
                     MTASTS_EINVAL);
    assert_int_equal(
        mtasts_sts_record_select(ctx, strs, lens, nstr, 1, 0, NULL, &rec, NULL),
        MTASTS_EINVAL);
    assert_int_equal(mtasts_sts_record_select(ctx, strs, lens, nstr, 1, 0,
                                              &outcome, NULL, NULL),
                     MTASTS_EINVAL);
    assert_int_equal(mtasts_sts_record_select(ctx, strs, lens, nstr, 1, 4,
                                              &outcome, &rec, NULL),
                     MTASTS_EINVAL);
    /* Records of zero strings need no arrays. */
    outcome = -1;
    assert_int_equal(mtasts_sts_record_select(ctx, NULL, NULL, nstr0, 1, 0,
                                              &outcome, &rec, NULL),
                     MTASTS_OK);
    assert_int_equal(outcome, MTASTS_SELECT_NONE);
    assert_null(rec);
}

/* ------------------------------------------------------------------ */
/* Build and format                                                    */
/* ------------------------------------------------------------------ */

/* STS-TXT-14 */
static void
sts_txt_14_build_and_format(void **state)
{
    mtasts_ctx *ctx = *state;
    mtasts_sts_record *rec = NULL, *again = NULL;
    const char *en[] = {"foo"}, *ev[] = {"bar"};
    size_t enl[] = {3}, evl[] = {3};
    char buf[128];
    size_t needed = 0;

    assert_int_equal(mtasts_sts_record_build(ctx, S("20160831085700Z"), NULL,
                                             NULL, NULL, NULL, 0, &rec, NULL),
                     MTASTS_OK);
    expect_format(rec, "v=STSv1; id=20160831085700Z;");
    assert_true(mtasts_sts_record_warnings(rec) == 0);
    mtasts_sts_record_free(rec);

    assert_int_equal(
        mtasts_sts_record_build(ctx, S("a"), en, enl, ev, evl, 1, &rec, NULL),
        MTASTS_OK);
    expect_format(rec, "v=STSv1; id=a; foo=bar;");
    assert_int_equal(mtasts_sts_record_ext_count(rec), 1);
    expect_ext(rec, 0, "foo", "bar");

    /* parse(serialize(x)) == x */
    assert_int_equal(mtasts_sts_record_format(rec, buf, sizeof(buf), &needed),
                     MTASTS_OK);
    again = ok_(ctx, buf, needed, MTASTS_PARSE_F_STRICT, "a", 0, __LINE__);
    assert_int_equal(mtasts_sts_record_ext_count(again), 1);
    expect_ext(again, 0, "foo", "bar");
    expect_format(again, buf);
    mtasts_sts_record_free(again);
    mtasts_sts_record_free(rec);

    /* The parser's canonical form. */
    rec = OK(ctx, "v=STSv1 ;\tid=a ; x=1 ;y=2", 0, "a", 0);
    expect_format(rec, "v=STSv1; id=a; x=1; y=2;");
    mtasts_sts_record_free(rec);
}

static void
build_fail_(mtasts_ctx *ctx, const char *id, size_t id_len,
            const char *const *en, const size_t *enl, const char *const *ev,
            const size_t *evl, size_t n, int code, int reason, size_t off,
            int line)
{
    struct mtasts_diag d = MTASTS_DIAG_INIT;
    mtasts_sts_record *rec = (mtasts_sts_record *)(uintptr_t)1;
    int rc;

    rc =
        mtasts_sts_record_build(ctx, id, id_len, en, enl, ev, evl, n, &rec, &d);
    if (rc != code || d.reason != reason || d.offset != off)
        print_error("line %d: build: rc %d reason %s off %zu\n", line, rc,
                    mtasts_reason_name(d.reason), d.offset);
    assert_int_equal(rc, code);
    assert_null(rec);
    if (code != MTASTS_EINVAL) {
        assert_int_equal(d.code, code);
        assert_int_equal(d.reason, reason);
        assert_int_equal(d.offset, off);
    }
    assert_int_equal(harness_leaks(), 1);
}

#define BUILD_FAIL(id, idl, en, enl, ev, evl, n, code, reason, off)      \
    build_fail_(ctx, (id), (idl), (en), (enl), (ev), (evl), (n), (code), \
                (reason), (off), __LINE__)

/* STS-TXT-14: the serializer refuses an invalid id, name or value. */
static void
sts_txt_14_build_refuses_invalid(void **state)
{
    mtasts_ctx *ctx = *state;
    const char *en[] = {"foo", "bar"}, *ev[] = {"1", "a b"};
    size_t enl[] = {3, 3}, evl[] = {1, 3};
    const char *bad_names[] = {
        "-x",  "id",  "v",        "",
        "a b", "x=y", "\xC3\xA9", "abcdefghijklmnopqrstuvwxyz0123456"};
    const char *bad_values[] = {"",         "a;b", "a=b",  "a b",
                                "\xC3\xA9", "a\t", "a\x01"};
    const char *one_name[1], *one_value[1];
    size_t one_nl[1], one_vl[1], i;

    BUILD_FAIL("a-b", 3, NULL, NULL, NULL, NULL, 0, MTASTS_ESYNTAX, MTASTS_R_ID,
               0);
    BUILD_FAIL("", 0, NULL, NULL, NULL, NULL, 0, MTASTS_ESYNTAX, MTASTS_R_ID,
               0);
    BUILD_FAIL(NULL, 0, NULL, NULL, NULL, NULL, 0, MTASTS_ESYNTAX, MTASTS_R_ID,
               0);
    BUILD_FAIL("abcdefghijklmnopqrstuvwxyz0123456", 33, NULL, NULL, NULL, NULL,
               0, MTASTS_ESYNTAX, MTASTS_R_ID, 0);
    BUILD_FAIL("a b", 3, NULL, NULL, NULL, NULL, 0, MTASTS_ESYNTAX, MTASTS_R_ID,
               0);
    /* The second extension's value is bad: offset is its index. */
    BUILD_FAIL("a", 1, en, enl, ev, evl, 2, MTASTS_ESYNTAX, MTASTS_R_EXT_VALUE,
               1);
    for (i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
        one_name[0] = bad_names[i];
        one_nl[0] = strlen(bad_names[i]);
        one_value[0] = "1";
        one_vl[0] = 1;
        BUILD_FAIL("a", 1, one_name, one_nl, one_value, one_vl, 1,
                   MTASTS_ESYNTAX, MTASTS_R_EXT_NAME, 0);
    }
    for (i = 0; i < sizeof(bad_values) / sizeof(bad_values[0]); i++) {
        one_name[0] = "x";
        one_nl[0] = 1;
        one_value[0] = bad_values[i];
        one_vl[0] = strlen(bad_values[i]);
        BUILD_FAIL("a", 1, one_name, one_nl, one_value, one_vl, 1,
                   MTASTS_ESYNTAX, MTASTS_R_EXT_VALUE, 0);
    }
    /* Misuse */
    BUILD_FAIL("a", 1, NULL, enl, ev, evl, 1, MTASTS_EINVAL, 0, 0);
    BUILD_FAIL("a", 1, en, NULL, ev, evl, 1, MTASTS_EINVAL, 0, 0);
    BUILD_FAIL("a", 1, en, enl, NULL, evl, 1, MTASTS_EINVAL, 0, 0);
    BUILD_FAIL("a", 1, en, enl, ev, NULL, 1, MTASTS_EINVAL, 0, 0);
    BUILD_FAIL(NULL, 1, NULL, NULL, NULL, NULL, 0, MTASTS_EINVAL, 0, 0);
    assert_int_equal(mtasts_sts_record_build(NULL, S("a"), NULL, NULL, NULL,
                                             NULL, 0, NULL, NULL),
                     MTASTS_EINVAL);
    assert_int_equal(mtasts_sts_record_build(ctx, S("a"), NULL, NULL, NULL,
                                             NULL, 0, NULL, NULL),
                     MTASTS_EINVAL);
}

/* STS-TXT-14: round trip with many extensions (second-scan path). */
static void
sts_txt_14_build_many_round_trip(void **state)
{
    mtasts_ctx *ctx = *state;
    const char *en[12], *ev[12];
    size_t enl[12], evl[12], i, needed = 0;
    char names[12][8], values[12][8], buf[512];
    mtasts_sts_record *rec, *again;
    const char *n, *v;

    for (i = 0; i < 12; i++) {
        snprintf(names[i], sizeof(names[i]), "n%zu", i);
        snprintf(values[i], sizeof(values[i]), "v:%zu", 11 - i);
        en[i] = names[i];
        ev[i] = values[i];
        enl[i] = strlen(names[i]);
        evl[i] = strlen(values[i]);
    }
    assert_int_equal(
        mtasts_sts_record_build(ctx, S("R1"), en, enl, ev, evl, 12, &rec, NULL),
        MTASTS_OK);
    assert_int_equal(mtasts_sts_record_ext_count(rec), 12);
    assert_int_equal(mtasts_sts_record_format(rec, buf, sizeof(buf), &needed),
                     MTASTS_OK);
    again = ok_(ctx, buf, needed, 0, "R1", 0, __LINE__);
    assert_int_equal(mtasts_sts_record_ext_count(again), 12);
    for (i = 0; i < 12; i++) {
        assert_int_equal(mtasts_sts_record_ext(again, i, &n, NULL, &v, NULL),
                         MTASTS_OK);
        assert_string_equal(n, names[i]);
        assert_string_equal(v, values[i]);
    }
    mtasts_sts_record_free(again);
    mtasts_sts_record_free(rec);
}

/* snprintf semantics of mtasts_sts_record_format(). */
static void
sts_txt_format_snprintf(void **state)
{
    mtasts_ctx *ctx = *state;
    static const char want[] = "v=STSv1; id=abc; k=v;";
    mtasts_sts_record *rec = OK(ctx, "v=STSv1; id=abc; k=v", 0, "abc", 0);
    char buf[64];
    size_t needed, i, wl = sizeof(want) - 1;

    needed = 0;
    assert_int_equal(mtasts_sts_record_format(rec, NULL, 0, &needed),
                     MTASTS_ERANGE);
    assert_int_equal(needed, wl);
    assert_int_equal(mtasts_sts_record_format(rec, NULL, 0, NULL),
                     MTASTS_ERANGE);
    assert_int_equal(mtasts_sts_record_format(rec, NULL, 4, &needed),
                     MTASTS_EINVAL);
    assert_int_equal(mtasts_sts_record_format(NULL, buf, sizeof(buf), &needed),
                     MTASTS_EINVAL);
    for (i = 1; i <= wl; i++) {
        memset(buf, 'X', sizeof(buf));
        needed = 0;
        assert_int_equal(mtasts_sts_record_format(rec, buf, i, &needed),
                         MTASTS_ERANGE);
        assert_int_equal(needed, wl);
        assert_int_equal(buf[i - 1], '\0');
        assert_memory_equal(buf, want, i - 1);
        assert_int_equal(buf[i], 'X');
    }
    memset(buf, 'X', sizeof(buf));
    assert_int_equal(mtasts_sts_record_format(rec, buf, wl + 1, NULL),
                     MTASTS_OK);
    assert_string_equal(buf, want);
    assert_int_equal(buf[wl + 1], 'X');
    mtasts_sts_record_free(rec);
}

/* Real-world records from the corpus (corpus/) that must parse (the corpus
 * suite covers the whole file; this checks the fixture loader). */
static void
sts_txt_corpus_fixture(void **state)
{
    mtasts_ctx *ctx = *state;
    size_t len = 0, i, start = 0, ok = 0;
    char *txt = harness_load_src("corpus/txt/sts-records.txt", &len);

    assert_non_null(txt);
    assert_true(len > 0);
    for (i = 0; i < len; i++) {
        if (txt[i] == '\n') {
            size_t e = i, tab = i;
            mtasts_sts_record *rec = NULL;
            while (tab > start && txt[tab - 1] != '\t')
                tab--;
            if (tab > start)
                e = tab - 1;
            if (mtasts_sts_record_parse(ctx, txt + start, e - start, 0, &rec,
                                        NULL) == MTASTS_OK)
                ok++;
            mtasts_sts_record_free(rec);
            start = i + 1;
        }
    }
    free(txt);
    assert_true(ok >= 10);
}

/* STS-TXT-3 / STS-TXT-4: the one-pass reader of the usual record
 * ("v=STSv1;" *WSP "id=" id [";"]) agrees with the general scanner. Each
 * random record is parsed as written and with " ;" after the version
 * (same meaning, but the general scanner reads it): status, reason, id,
 * warnings and extension count must match, and offsets differ by the one
 * inserted byte. */
static void
sts_txt_3_fast_path_agrees_with_general_scan(void **state)
{
    static const char alpha[] = "aZ09az.-;= \t_\x80";
    static const char *const tails[] = {"",     ";", "; ", " ",
                                        ";x=y", "x", ";;", "\t;"};
    mtasts_ctx *ctx = *state;
    char idv[48], a[128], b[128];
    size_t n, i, la, lb, ia, ib;
    uint32_t r = 4242;
    unsigned k;
    struct mtasts_diag da = MTASTS_DIAG_INIT, db = MTASTS_DIAG_INIT;
    mtasts_sts_record *ra, *rb;
    const char *pa, *pb;
    int ca, cb;

    for (k = 0; k < 20000; k++) {
        r = r * 1103515245u + 12345u;
        n = (r >> 8) % 40;
        for (i = 0; i < n; i++) {
            r = r * 1103515245u + 12345u;
            idv[i] = (r >> 16) % 4 != 0
                         ? "0123456789ABCDEFGHIJabcdefghijklmnopqrstuvwxyz"
                               [(r >> 18) % 46]
                         : alpha[(r >> 20) % (sizeof(alpha) - 1)];
        }
        la = (size_t)snprintf(a, sizeof(a), "v=STSv1;%sid=%.*s%s",
                              k % 5 == 0 ? "" : " ", (int)n, idv,
                              tails[(k / 5) % 8]);
        lb = (size_t)snprintf(b, sizeof(b), "v=STSv1 ;%sid=%.*s%s",
                              k % 5 == 0 ? "" : " ", (int)n, idv,
                              tails[(k / 5) % 8]);
        ca = parse(ctx, a, la, 0, &ra, &da);
        cb = parse(ctx, b, lb, 0, &rb, &db);
        if (ca != cb || da.reason != db.reason || da.warnings != db.warnings ||
            (ca != MTASTS_OK && da.offset + 1 != db.offset))
            fail_msg("\"%s\": %d %s %zu, general %d %s %zu", a, ca,
                     mtasts_reason_name(da.reason), da.offset, cb,
                     mtasts_reason_name(db.reason), db.offset);
        if (ca == MTASTS_OK) {
            pa = mtasts_sts_record_id(ra, &ia);
            pb = mtasts_sts_record_id(rb, &ib);
            assert_int_equal(ia, ib);
            assert_memory_equal(pa, pb, ia);
            assert_int_equal(mtasts_sts_record_ext_count(ra),
                             mtasts_sts_record_ext_count(rb));
            mtasts_sts_record_free(ra);
            mtasts_sts_record_free(rb);
        }
    }
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, harness_setup, harness_teardown)
    const struct CMUnitTest tests[] = {
        T(sts_txt_2_version_at_offset_0),
        T(sts_txt_3_id_required),
        T(sts_txt_4_delimiters),
        T(sts_txt_3_fast_path_agrees_with_general_scan),
        T(sts_txt_strict_mode),
        T(sts_txt_5_extensions),
        T(sts_txt_6_ascii_only),
        T(sts_txt_7_field_order_and_unknown_kept),
        T(sts_txt_8_duplicates_first_wins),
        T(sts_txt_many_extensions),
        T(sts_txt_size_limit),
        T(sts_txt_no_read_past_len),
        T(sts_txt_getters),
        T(sts_txt_9_select_one_candidate),
        T(sts_txt_10_single_invalid_candidate),
        T(sts_txt_11_strings_joined),
        T(sts_txt_13_empty_rrset),
        T(sts_txt_select_strict_and_limits),
        T(sts_txt_select_misuse),
        T(sts_txt_14_build_and_format),
        T(sts_txt_14_build_refuses_invalid),
        T(sts_txt_14_build_many_round_trip),
        T(sts_txt_format_snprintf),
        T(sts_txt_corpus_fixture),
    };
#undef T

    return cmocka_run_group_tests_name("sts_record", tests, NULL, NULL);
}
