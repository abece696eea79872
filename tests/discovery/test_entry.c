/*
 * Cache entry codec (src/cache_entry.c): round trips, every field, and
 * the strictness of the decoder: any change to a valid encoding that is
 * not a valid encoding itself is an error, never a crash, and nothing of
 * it is trusted.
 */
#include <stdio.h>
#include <stdlib.h>

#include "dharness.h"

#define BODY                                                        \
    "version: STSv1\nmode: enforce\nmx: mx1.example.com\nmax_age: " \
    "604800\n"

/* The lines of a valid version-1 encoding, in order; the policy line's
 * value is filled in by build(). */
enum {
    L_MAGIC,
    L_DOMAIN,
    L_ID,
    L_FETCHED,
    L_EXPIRES,
    L_BOFF_UNTIL,
    L_BOFF_ID,
    L_BOFF_RESULT,
    L_LAST_USED,
    L_POLICY,
    L_COUNT
};

static const char *const good_lines[L_COUNT] = {
    "MTASTS-ENTRY/1",       "domain=example.com",
    "id=20160831085700Z",   "fetched=1700000000",
    "expires=1700604800",   "backoff-until=1700000300",
    "backoff-id=b",         "backoff-result=9",
    "last-used=1700000100", NULL, /* "policy=<len of body>" */
};

struct enc {
    char b[70000];
    size_t n;
};

/* Join lines (NULL entries skipped; L_POLICY NULL = computed) and body. */
static void
build(struct enc *e, const char *const *lines, const char *body)
{
    size_t i, bl = strlen(body);
    int k;

    e->n = 0;
    for (i = 0; i < L_COUNT; i++) {
        const char *l = lines[i];
        char tmp[64];

        if (i == L_POLICY && l == NULL) {
            k = snprintf(tmp, sizeof(tmp), "policy=%u", (unsigned)bl);
            assert_true(k > 0);
            l = tmp;
        }
        if (l == NULL)
            continue;
        memcpy(e->b + e->n, l, strlen(l));
        e->n += strlen(l);
        e->b[e->n++] = '\n';
    }
    memcpy(e->b + e->n, body, bl);
    e->n += bl;
}

/* The library's one CRC-32 (crc32.c), internal: the tests check it on the
 * standard check value before trusting it to make version-2 entries. */
uint32_t mt_crc32(uint32_t crc, const void *p, size_t n);

/* A version-1 encoding (from build()) turned into the version-2 one of
 * the same entry: header "MTASTS-ENTRY/2" and the check line. */
static void
to_v2(struct enc *e)
{
    static const char head[] = "MTASTS-ENTRY/2\n";
    char line[32];
    size_t rest = e->n - 15;
    uint32_t crc;

    assert_memory_equal(e->b, "MTASTS-ENTRY/1\n", 15);
    crc = mt_crc32(mt_crc32(0, head, 15), e->b + 15, rest);
    snprintf(line, sizeof(line), "crc32=%08lx\n", (unsigned long)crc);
    assert_int_equal(strlen(line), 15);
    memmove(e->b + 30, e->b + 15, rest);
    memcpy(e->b, head, 15);
    memcpy(e->b + 15, line, 15);
    e->n += 15;
}

/* The check of version 3 as doc/cache-entry.md defines it, written
 * apart from the library's (a word at a time, reduced at every step):
 * Fletcher-64 of the 32-bit little-endian words of p[0..n), the last one
 * padded with zero bytes, then of the word n mod 2^32. */
static uint64_t
ref_check(const char *p, size_t n)
{
    const uint64_t m = 0xffffffffu;
    uint64_t a = 0, b = 0, w;
    size_t i, k;

    for (i = 0; i < n; i += 4) {
        w = 0;
        for (k = 0; k < 4 && i + k < n; k++)
            w |= (uint64_t)(unsigned char)p[i + k] << (8 * k);
        a = (a + w) % m;
        b = (b + a) % m;
    }
    a = (a + (n & 0xffffffffu)) % m;
    b = (b + a) % m;
    return b << 32 | a;
}

/* A version-1 encoding (from build()) turned into the version-3 one of
 * the same entry: header "MTASTS-ENTRY/3" and the check line. */
static void
to_v3(struct enc *e)
{
    char line[32];
    size_t rest = e->n - 15;

    assert_memory_equal(e->b, "MTASTS-ENTRY/1\n", 15);
    snprintf(line, sizeof(line), "check=%016llx\n",
             (unsigned long long)ref_check(e->b + 15, rest));
    assert_int_equal(strlen(line), 23);
    memmove(e->b + 38, e->b + 15, rest);
    memcpy(e->b, "MTASTS-ENTRY/3\n", 15);
    memcpy(e->b + 15, line, 23);
    e->n += 23;
}

/* Decode from an exact-size heap copy (so ASan sees any over-read). */
static int
decode_copy(mtasts_ctx *ctx, const void *buf, size_t len, struct mtasts_diag *d)
{
    uint8_t *copy = malloc(len != 0 ? len : 1);
    mtasts_entry *e = (mtasts_entry *)1;
    int rc;

    assert_non_null(copy);
    memcpy(copy, buf, len);
    rc = mtasts_entry_decode(ctx, len != 0 ? copy : NULL, len, &e, d);
    if (rc == MTASTS_OK)
        assert_non_null(e);
    else
        assert_null(e);
    mtasts_entry_free(e);
    free(copy);
    return rc;
}

static int
decode_lines(mtasts_ctx *ctx, const char *const *lines, const char *body)
{
    struct enc *e = malloc(sizeof(*e));
    int rc;

    assert_non_null(e);
    build(e, lines, body);
    rc = decode_copy(ctx, e->b, e->n, NULL);
    free(e);
    return rc;
}

/* Decode with line i replaced by l (NULL: removed). */
static int
with_line(mtasts_ctx *ctx, size_t i, const char *l)
{
    const char *lines[L_COUNT];

    memcpy(lines, good_lines, sizeof(lines));
    lines[i] = l;
    if (i == L_POLICY && l == NULL) {
        /* removing the policy line: build() would recompute it */
        struct enc *e = malloc(sizeof(*e));
        int rc;
        size_t j;

        assert_non_null(e);
        e->n = 0;
        for (j = 0; j < L_POLICY; j++) {
            memcpy(e->b + e->n, good_lines[j], strlen(good_lines[j]));
            e->n += strlen(good_lines[j]);
            e->b[e->n++] = '\n';
        }
        memcpy(e->b + e->n, BODY, strlen(BODY));
        e->n += strlen(BODY);
        rc = decode_copy(ctx, e->b, e->n, NULL);
        free(e);
        return rc;
    }
    return decode_lines(ctx, lines, BODY);
}

/* ------------------------------------------------------------------ */

static void
round_trip_every_field(void **state)
{
    struct enc e, e2;
    mtasts_entry *ent = NULL;
    const char *s;
    size_t n, need;
    uint8_t out[1024];
    struct mtasts_diag d = MTASTS_DIAG_INIT;

    /* the CRC is the standard CRC-32 (check value of "123456789") */
    assert_true(mt_crc32(0, "123456789", 9) == UINT32_C(0xcbf43926));
    assert_true(mt_crc32(mt_crc32(0, "1234", 4), "56789", 5) ==
                UINT32_C(0xcbf43926));
    /* the reference check on values worked by hand: "abcd" is the word
     * 0x64636261, then the length word 4 */
    assert_true(ref_check("abcd", 4) == UINT64_C(0xc8c6c4c664636265));
    assert_true(ref_check("a", 1) == UINT64_C(0x000000c300000062));
    build(&e, good_lines, BODY);
    /* versions 1 (no check) and 2 (CRC-32) still decode */
    assert_int_equal(decode_copy(*state, e.b, e.n, &d), MTASTS_OK);
    e2 = e;
    to_v2(&e2);
    assert_int_equal(decode_copy(*state, e2.b, e2.n, &d), MTASTS_OK);
    to_v3(&e);
    assert_int_equal(
        mtasts_entry_decode(*state, (const uint8_t *)e.b, e.n, &ent, &d),
        MTASTS_OK);
    assert_int_equal(d.code, 0);
    s = mtasts_entry_domain(ent, &n);
    assert_string_equal(s, "example.com");
    assert_int_equal(n, 11);
    s = mtasts_entry_id(ent, &n);
    assert_string_equal(s, "20160831085700Z");
    assert_int_equal(n, 15);
    s = mtasts_entry_backoff_id(ent, &n);
    assert_string_equal(s, "b");
    assert_int_equal(n, 1);
    assert_int_equal(mtasts_entry_time(ent, MTASTS_ENTRY_TIME_FETCHED_AT),
                     1700000000);
    assert_int_equal(mtasts_entry_time(ent, MTASTS_ENTRY_TIME_EXPIRES_AT),
                     1700604800);
    assert_int_equal(mtasts_entry_time(ent, MTASTS_ENTRY_TIME_BACKOFF_UNTIL),
                     1700000300);
    assert_int_equal(mtasts_entry_time(ent, MTASTS_ENTRY_TIME_LAST_USED),
                     1700000100);
    assert_int_equal(mtasts_entry_time(ent, 0), 0);
    assert_int_equal(mtasts_entry_time(ent, 5), 0);
    assert_int_equal(mtasts_policy_mode(mtasts_entry_policy(ent)),
                     MTASTS_MODE_ENFORCE);
    assert_int_equal(mtasts_policy_max_age(mtasts_entry_policy(ent)), 604800);
    assert_string_equal(mtasts_policy_raw(mtasts_entry_policy(ent), &n), BODY);

    /* encode: byte-identical; snprintf semantics */
    assert_int_equal(mtasts_entry_encode(ent, NULL, 0, &need), MTASTS_ERANGE);
    assert_int_equal(need, e.n);
    assert_int_equal(mtasts_entry_encode(ent, out, need, &n), MTASTS_ERANGE);
    assert_int_equal(n, e.n);
    assert_int_equal(out[need - 1], 0);
    assert_memory_equal(out, e.b, need - 1);
    assert_int_equal(mtasts_entry_encode(ent, out, need + 1, &n), MTASTS_OK);
    assert_int_equal(n, e.n);
    assert_memory_equal(out, e.b, e.n);
    assert_int_equal(out[e.n], 0);
    assert_int_equal(mtasts_entry_encode(ent, out, sizeof(out), NULL),
                     MTASTS_OK);
    assert_int_equal(mtasts_entry_encode(ent, NULL, 5, &n), MTASTS_EINVAL);
    assert_int_equal(mtasts_entry_encode(NULL, out, sizeof(out), &n),
                     MTASTS_EINVAL);
    mtasts_entry_free(ent);
    mtasts_entry_free(NULL);

    /* NULL getters */
    assert_null(mtasts_entry_domain(NULL, &n));
    assert_int_equal(n, 0);
    assert_null(mtasts_entry_id(NULL, &n));
    assert_null(mtasts_entry_backoff_id(NULL, NULL));
    assert_null(mtasts_entry_policy(NULL));
    assert_int_equal(mtasts_entry_time(NULL, MTASTS_ENTRY_TIME_FETCHED_AT), 0);
}

/* Entries without a policy (backoff only), without a backoff, with an
 * empty id: all round-trip. */
static void
round_trip_variants(void **state)
{
    static const char *const backoff_only[L_COUNT] = {
        "MTASTS-ENTRY/1", "domain=a.example",  "id=",
        "fetched=0",      "expires=0",         "backoff-until=5",
        "backoff-id=X1",  "backoff-result=11", "last-used=0",
        "policy=0",
    };
    static const char *const no_backoff[L_COUNT] = {
        "MTASTS-ENTRY/1",
        "domain=xn--bcher-kva.example",
        "id=ABCDEFGHIJKLMNOPQRSTUVWXYZ012345", /* 32 chars */
        "fetched=1",
        "expires=1", /* max_age 0: expires == fetched */
        "backoff-until=0",
        "backoff-id=",
        "backoff-result=0",
        "last-used=4611686018427387904", /* 2^62 */
        NULL,
    };
    const char *const *variants[2] = {backoff_only, no_backoff};
    const char *bodies[2] = {"", "version: STSv1\nmode: none\nmax_age: 0"};
    size_t i, n;

    for (i = 0; i < 2; i++) {
        struct enc e;
        mtasts_entry *ent = NULL;
        uint8_t out[1024];

        build(&e, variants[i], bodies[i]);
        assert_int_equal(decode_copy(*state, e.b, e.n, NULL), MTASTS_OK);
        to_v3(&e);
        assert_int_equal(
            mtasts_entry_decode(*state, (const uint8_t *)e.b, e.n, &ent, NULL),
            MTASTS_OK);
        assert_int_equal(mtasts_entry_encode(ent, out, sizeof(out), &n),
                         MTASTS_OK);
        assert_int_equal(n, e.n);
        assert_memory_equal(out, e.b, n);
        if (i == 0) {
            assert_null(mtasts_entry_policy(ent));
            assert_string_equal(mtasts_entry_id(ent, &n), "");
            assert_int_equal(n, 0);
            assert_string_equal(mtasts_entry_backoff_id(ent, NULL), "X1");
            assert_int_equal(
                mtasts_entry_time(ent, MTASTS_ENTRY_TIME_BACKOFF_UNTIL), 5);
        } else {
            assert_int_equal(mtasts_policy_mode(mtasts_entry_policy(ent)),
                             MTASTS_MODE_NONE);
            assert_int_equal(
                mtasts_entry_time(ent, MTASTS_ENTRY_TIME_LAST_USED),
                INT64_C(4611686018427387904));
        }
        mtasts_entry_free(ent);
    }
}

/* What a lookup stores decodes and re-encodes to the same bytes. */
static void
round_trip_from_lookup(void **state)
{
    static const char *const strs[] = {"v=STSv1; id=abc"};
    static const size_t lens[] = {15}, nstr[] = {1};
    mtasts_lookup *lk;
    mtasts_entry *ent = NULL;
    uint8_t a[1024], b[1024];
    size_t na, nb;

    assert_int_equal(mtasts_lookup_new(*state, S("Example.COM."), NULL, 0,
                                       1700000000, 0, &lk),
                     MTASTS_OK);
    assert_int_equal(
        mtasts_lookup_put_txt(lk, MTASTS_DNS_OK, strs, lens, nstr, 1),
        MTASTS_OK);
    assert_int_equal(mtasts_lookup_put_fetch(lk, MTASTS_FETCH_OK, 200,
                                             S("text/plain"), S(BODY)),
                     MTASTS_OK);
    assert_int_equal(mtasts_lookup_entry(lk, a, sizeof(a), &na), MTASTS_OK);
    mtasts_lookup_free(lk);
    assert_int_equal(mtasts_entry_decode(*state, a, na, &ent, NULL), MTASTS_OK);
    assert_string_equal(mtasts_entry_domain(ent, NULL), "example.com");
    assert_int_equal(mtasts_entry_encode(ent, b, sizeof(b), &nb), MTASTS_OK);
    assert_int_equal(na, nb);
    assert_memory_equal(a, b, na);
    mtasts_entry_free(ent);
    /* the documented format, exactly (the check from fletcher64() of
     * fuzz/gen_seeds.py, of the entry after its check line) */
    assert_memory_equal(a,
                        "MTASTS-ENTRY/3\ncheck=5b2123d9c6dfe418\n"
                        "domain=example.com\nid=abc\n"
                        "fetched=1700000000\nexpires=1700604800\n"
                        "backoff-until=0\nbackoff-id=\nbackoff-result=0\n"
                        "last-used=1700000000\npolicy=65\n" BODY,
                        na);
    assert_int_equal(strlen(BODY), 65);
}

/* The library's check against ref_check() on entries of every length
 * mod 8 (the decoder takes two words per load, then the odd word and the
 * odd bytes) and across the reduction every 1024 words: each decodes,
 * and encodes back to the same bytes (the encoder sums its fields in
 * pieces of other lengths). */
static void
v3_check_lengths(void **state)
{
    static struct enc e, out;
    static char body[9000];
    static const size_t ext_len[] = {1,    2,    3,    4,    5,    6,
                                     7,    8,    9,    100,  4000, 4093,
                                     4094, 4095, 4096, 4097, 8192, 8800};
    const char *head = "version: STSv1\nmode: none\nmax_age: 1\nx: ";
    mtasts_entry *ent;
    size_t i, hl = strlen(head), nb;

    for (i = 0; i < sizeof(ext_len) / sizeof(ext_len[0]); i++) {
        memcpy(body, head, hl);
        memset(body + hl, 'v', ext_len[i]);
        body[hl + ext_len[i]] = '\0';
        build(&e, good_lines, body);
        to_v3(&e);
        assert_int_equal(decode_copy(*state, e.b, e.n, NULL), MTASTS_OK);
        assert_int_equal(
            mtasts_entry_decode(*state, (const uint8_t *)e.b, e.n, &ent, NULL),
            MTASTS_OK);
        assert_int_equal(
            mtasts_entry_encode(ent, (uint8_t *)out.b, sizeof(out.b), &nb),
            MTASTS_OK);
        mtasts_entry_free(ent);
        assert_int_equal(nb, e.n);
        assert_memory_equal(out.b, e.b, e.n);
        /* and a flipped bit in the last byte is refused */
        e.b[e.n - 1] ^= 0x01;
        assert_int_equal(decode_copy(*state, e.b, e.n, NULL), MTASTS_ECORRUPT);
    }
}

static void
decode_arguments(void **state)
{
    struct enc e;
    mtasts_entry *ent = (mtasts_entry *)1;
    struct mtasts_diag d = MTASTS_DIAG_INIT;

    build(&e, good_lines, BODY);
    assert_int_equal(
        mtasts_entry_decode(NULL, (const uint8_t *)e.b, e.n, &ent, NULL),
        MTASTS_EINVAL);
    assert_null(ent);
    assert_int_equal(
        mtasts_entry_decode(*state, (const uint8_t *)e.b, e.n, NULL, NULL),
        MTASTS_EINVAL);
    assert_int_equal(mtasts_entry_decode(*state, NULL, 5, &ent, NULL),
                     MTASTS_EINVAL);
    assert_int_equal(mtasts_entry_decode(*state, NULL, 0, &ent, NULL),
                     MTASTS_ESYNTAX);
    d.version = 0;
    assert_int_equal(
        mtasts_entry_decode(*state, (const uint8_t *)e.b, e.n, &ent, &d),
        MTASTS_EINVAL);
    d.version = MTASTS_DIAG_VERSION + 1;
    assert_int_equal(
        mtasts_entry_decode(*state, (const uint8_t *)e.b, e.n, &ent, &d),
        MTASTS_EVERSION);
    assert_null(ent);
}

/* Every line mangled, missing, or swapped with the next. */
static void
strict_lines(void **state)
{
    static const char *const mangled[][2] = {
        /* {line index as text, replacement} */
        {"0", "MTASTS-ENTRY/"},
        {"0", "MTASTS-ENTRY/01"},
        {"0", "MTASTS-ENTRY/0"},
        {"0", "MTASTS-ENTRY/1 "},
        {"0", "MTASTS-ENTRY/1x"},
        {"0", "mtasts-entry/1"},
        {"0", "MTASTS-ENTRY/+1"},
        {"0", "MTASTS-ENTRY 1"},
        {"0", ""},
        {"1", "domain="},
        {"1", "domain=Example.com"},
        {"1", "domain=example.com."},
        {"1", "domain=exa mple.com"},
        {"1", "domain=example..com"},
        {"1", "domain=[192.0.2.1]"},
        {"1", "domain =example.com"},
        {"1", "Domain=example.com"},
        {"1", "domain:example.com"},
        {"1", "domain=example.com\r"},
        {"1", "domain=ex\xc3\xa4mple.com"},
        {"2", "id=2016-08-31"},
        {"2", "id=ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456"}, /* 33 */
        {"2", "id= a"},
        {"2", "ID=a"},
        {"3", "fetched="},
        {"3", "fetched=01700000000"},
        {"3", "fetched=-1"},
        {"3", "fetched=+1700000000"},
        {"3", "fetched= 1700000000"},
        {"3", "fetched=1700000000 "},
        {"3", "fetched=17e8"},
        {"3", "fetched=0x10"},
        {"3", "fetched=1700604801"},          /* after expires */
        {"3", "fetched=4611686018427387905"}, /* 2^62 + 1 */
        {"3", "fetched=18446744073709551616"},
        {"3", "fetched=99999999999999999999"},
        {"4", "expires=1699999999"}, /* before fetched */
        {"4", "expires=00"},
        {"4", "expires=-0"},
        {"5", "backoff-until=-300"},
        {"5", "backoff-until=0"}, /* a backoff id without a time */
        {"5", "backoff-until=0300"},
        {"6", "backoff-id=a_b"},
        {"6", "backoff-id=ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456"},
        {"7", "backoff-result=12"},
        {"7", "backoff-result=-1"},
        {"7", "backoff-result=09"},
        {"7", "backoff-result="},
        {"8", "last-used=-1"},
        {"8", "last-used="},
        {"8", "last-used=1.5"},
        {"9", "policy=64"},
        {"9", "policy=66"},
        {"9", "policy=065"},
        {"9", "policy=-65"},
        {"9", "policy="},
        {"9", "policy=0"},
        {"9", "policy=18446744073709551696"},
    };
    size_t i;

    assert_int_equal(decode_lines(*state, good_lines, BODY), MTASTS_OK);
    for (i = 0; i < sizeof(mangled) / sizeof(mangled[0]); i++) {
        size_t li = (size_t)(mangled[i][0][0] - '0');
        int rc = with_line(*state, li, mangled[i][1]);

        print_message("line %u = '%s' -> %s\n", (unsigned)li, mangled[i][1],
                      mtasts_status_name(rc));
        assert_int_equal(rc, MTASTS_ESYNTAX);
    }
    /* each line missing */
    for (i = 0; i < L_COUNT; i++) {
        print_message("line %u missing\n", (unsigned)i);
        assert_int_equal(with_line(*state, i, NULL), MTASTS_ESYNTAX);
    }
    /* each pair of adjacent lines swapped */
    for (i = 0; i + 1 < L_COUNT; i++) {
        const char *lines[L_COUNT];
        char pol[32];

        memcpy(lines, good_lines, sizeof(lines));
        (void)snprintf(pol, sizeof(pol), "policy=%u", (unsigned)strlen(BODY));
        lines[L_POLICY] = pol;
        lines[i] = good_lines[i + 1] != NULL ? good_lines[i + 1] : pol;
        lines[i + 1] = good_lines[i];
        print_message("lines %u and %u swapped\n", (unsigned)i,
                      (unsigned)i + 1);
        assert_int_equal(decode_lines(*state, lines, BODY), MTASTS_ESYNTAX);
    }
}

/* Invariants between fields. */
static void
strict_invariants(void **state)
{
    const char *lines[L_COUNT];

    /* no policy but times set */
    memcpy(lines, good_lines, sizeof(lines));
    assert_int_equal(decode_lines(*state, lines, ""), MTASTS_ESYNTAX);
    lines[L_FETCHED] = "fetched=0";
    assert_int_equal(decode_lines(*state, lines, ""), MTASTS_ESYNTAX);
    lines[L_EXPIRES] = "expires=0";
    assert_int_equal(decode_lines(*state, lines, ""), MTASTS_OK);
    lines[L_FETCHED] = "fetched=1";
    assert_int_equal(decode_lines(*state, lines, ""), MTASTS_ESYNTAX);
    /* no backoff time but a backoff result */
    memcpy(lines, good_lines, sizeof(lines));
    lines[L_BOFF_UNTIL] = "backoff-until=0";
    lines[L_BOFF_ID] = "backoff-id=";
    assert_int_equal(decode_lines(*state, lines, BODY), MTASTS_ESYNTAX);
    lines[L_BOFF_RESULT] = "backoff-result=0";
    assert_int_equal(decode_lines(*state, lines, BODY), MTASTS_OK);
}

/* Trailing bytes, CRLF, a body that no longer parses. */
static void
strict_body(void **state)
{
    struct enc e;
    const char *lines[L_COUNT];
    size_t i;

    build(&e, good_lines, BODY);
    e.b[e.n] = '\n';
    assert_int_equal(decode_copy(*state, e.b, e.n + 1, NULL), MTASTS_ESYNTAX);
    e.b[e.n] = '\0';
    assert_int_equal(decode_copy(*state, e.b, e.n + 1, NULL), MTASTS_ESYNTAX);
    /* CRLF line ends in the header */
    {
        struct enc c;
        size_t j;

        c.n = 0;
        for (j = 0; j < e.n; j++) {
            if (e.b[j] == '\n' && j < e.n - strlen(BODY))
                c.b[c.n++] = '\r';
            c.b[c.n++] = e.b[j];
        }
        assert_int_equal(decode_copy(*state, c.b, c.n, NULL), MTASTS_ESYNTAX);
    }
    /* bodies that do not parse (each one byte changed, same length) */
    memcpy(lines, good_lines, sizeof(lines));
    {
        static const char *const bad[] = {
            "version: STSv2\nmode: enforce\nmx: mx1.example.com\nmax_age: "
            "604800\n",
            "version: STSv1\nmode: enforcX\nmx: mx1.example.com\nmax_age: "
            "604800\n",
            "version: STSv1\nmode: enforce\nmx: mx1.example.com\nmax_age: "
            "60480x\n",
            "version: STSv1\nmode: enforce\nmx: mx1.example.co.\nmax_age: "
            "604800\n",
            "version: STSv1\nmode: enforce\nxx: mx1.example.com\nmax_age: "
            "604800\n",
            "version: STSv1\nmode: enforce\nmx: mx1.example.com\nmax_age: "
            "604800\0",
            "version: STSv1\rmode: enforce\nmx: mx1.example.com\nmax_age: "
            "604800\n",
        };
        struct enc b;

        for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
            build(&b, lines, BODY);
            /* overwrite the body in place (same length; the \0 one too) */
            memcpy(b.b + b.n - strlen(BODY), bad[i], strlen(BODY));
            print_message("bad body %u\n", (unsigned)i);
            assert_int_equal(decode_copy(*state, b.b, b.n, NULL),
                             MTASTS_ESYNTAX);
        }
    }
}

/* Truncated at every length: an error, never a crash or an over-read. */
static void
strict_truncated(void **state)
{
    struct enc e;
    size_t len;

    build(&e, good_lines, BODY);
    for (len = 0; len < e.n; len++) {
        int rc = decode_copy(*state, e.b, len, NULL);

        if (rc != MTASTS_ESYNTAX)
            print_message("truncated at %u -> %s\n", (unsigned)len,
                          mtasts_status_name(rc));
        assert_int_equal(rc, MTASTS_ESYNTAX);
    }
    assert_int_equal(decode_copy(*state, e.b, e.n, NULL), MTASTS_OK);
}

/* Every single-byte change is rejected or decodes to a valid entry. */
static void
strict_byte_flips(void **state)
{
    struct enc e;
    size_t i, ok = 0;
    static const unsigned char repl[] = {'0', '9', 'a', 'Z',  '\n',
                                         '=', ' ', 0,   0xff, '-'};

    build(&e, good_lines, BODY);
    for (i = 0; i < e.n; i++) {
        size_t k;
        char save = e.b[i];

        for (k = 0; k < sizeof(repl); k++) {
            int rc;

            if ((unsigned char)save == repl[k])
                continue;
            e.b[i] = (char)repl[k];
            rc = decode_copy(*state, e.b, e.n, NULL);
            assert_true(rc == MTASTS_OK || rc == MTASTS_ESYNTAX ||
                        rc == MTASTS_EVERSION || rc == MTASTS_ETOOBIG);
            if (rc == MTASTS_OK)
                ok++;
        }
        e.b[i] = save;
    }
    /* some flips give another valid entry (a digit in a time), most not */
    assert_true(ok > 0);
    assert_true(ok < e.n);
    assert_int_equal(harness_leaks(), 1); /* only the context */
}

/* Issue 9: every single-bit flip of a version-2 or 3 entry is refused,
 * and never decodes as another valid entry. A flip after the check line is
 * MTASTS_ECORRUPT (reason checksum, at the check line); one in the header
 * or the check line is MTASTS_ESYNTAX, MTASTS_EVERSION or
 * MTASTS_ECORRUPT. Entries with and without a policy; version 3 from the
 * encoder. */
static void
corrupt_bit_flips(void **state)
{
    static const char *const backoff_only[L_COUNT] = {
        "MTASTS-ENTRY/1", "domain=a.example",  "id=",
        "fetched=0",      "expires=0",         "backoff-until=5",
        "backoff-id=X1",  "backoff-result=11", "last-used=0",
        "policy=0",
    };
    struct mtasts_diag d = MTASTS_DIAG_INIT;
    size_t i, bit, flips = 0, corrupt = 0, head;
    int v, rc;

    for (v = 0; v < 4; v++) {
        struct enc e;
        mtasts_entry *ent = NULL;
        uint8_t out[1024];
        size_t n;

        build(&e, v % 2 == 0 ? good_lines : backoff_only,
              v % 2 == 0 ? BODY : "");
        if (v < 2) {
            to_v2(&e);
            head = 30;
        } else {
            assert_int_equal(mtasts_entry_decode(*state, (const uint8_t *)e.b,
                                                 e.n, &ent, NULL),
                             MTASTS_OK);
            assert_int_equal(mtasts_entry_encode(ent, out, sizeof(out), &n),
                             MTASTS_OK);
            mtasts_entry_free(ent);
            memcpy(e.b, out, n);
            e.n = n;
            assert_memory_equal(e.b, "MTASTS-ENTRY/3\ncheck=", 21);
            head = 38;
        }
        assert_int_equal(decode_copy(*state, e.b, e.n, &d), MTASTS_OK);
        for (i = 0; i < e.n; i++)
            for (bit = 0; bit < 8; bit++) {
                e.b[i] = (char)(e.b[i] ^ (1 << bit));
                rc = decode_copy(*state, e.b, e.n, &d);
                e.b[i] = (char)(e.b[i] ^ (1 << bit));
                flips++;
                if (rc != MTASTS_ECORRUPT && rc != MTASTS_ESYNTAX &&
                    rc != MTASTS_EVERSION)
                    fail_msg("v%d: flip of bit %zu of byte %zu: %s", v, bit, i,
                             mtasts_status_name(rc));
                if (i >= head) {
                    assert_int_equal(rc, MTASTS_ECORRUPT);
                    assert_int_equal(d.code, MTASTS_ECORRUPT);
                    assert_int_equal(d.reason, MTASTS_R_CHECKSUM);
                    assert_int_equal(d.offset, 15);
                }
                corrupt += rc == MTASTS_ECORRUPT;
            }
    }
    assert_true(flips > 2000);
    assert_true(corrupt > flips / 2);
    assert_string_equal(mtasts_status_name(MTASTS_ECORRUPT), "MTASTS_ECORRUPT");
    assert_int_equal(harness_leaks(), 1); /* only the context */
}

/* What doc/cache-entry.md promises of the version-3 check: every error
 * of two bits, and every burst of up to 64 bits (bits i and j flipped,
 * any bits between them too: here all between or none), after the check
 * line is MTASTS_ECORRUPT; so are two 32-bit words swapped. And the
 * encoder's check is the reference one, also past the F64_BLOCK words
 * between reductions and for every length mod 4. */
static void
corrupt_v3_check(void **state)
{
    struct enc *e = malloc(sizeof(*e)), *x = malloc(sizeof(*x));
    char *body = malloc(20000), line[32];
    mtasts_entry *ent = NULL;
    const char *lines[L_COUNT];
    size_t i, j, k, n, bits, tried = 0, bl;

    assert_non_null(e);
    assert_non_null(x);
    assert_non_null(body);
    build(e, good_lines, BODY);
    to_v3(e);
    bits = (e->n - 38) * 8;
    for (i = 0; i < bits; i++)
        for (j = i + 1; j < bits && j - i < 64; j++) {
            for (k = 0; k < 2; k++) {
                size_t b, lo = i, hi = k == 0 ? i : j;

                *x = *e;
                /* k 0: bits i and j; k 1: bits i to j */
                for (b = lo; b <= hi; b++)
                    x->b[38 + b / 8] ^= (char)(1 << (b % 8));
                if (k == 0)
                    x->b[38 + j / 8] ^= (char)(1 << (j % 8));
                assert_int_equal(mtasts_entry_decode(*state,
                                                     (const uint8_t *)x->b,
                                                     x->n, &ent, NULL),
                                 MTASTS_ECORRUPT);
                tried++;
            }
        }
    assert_true(tried > 10000);
    *x = *e;
    memcpy(x->b + 40, e->b + 44, 4);
    memcpy(x->b + 44, e->b + 40, 4);
    assert_int_equal(
        mtasts_entry_decode(*state, (const uint8_t *)x->b, x->n, &ent, NULL),
        MTASTS_ECORRUPT);

    /* bodies of 4 lengths mod 4, past 4096 bytes */
    memcpy(lines, good_lines, sizeof(lines));
    for (k = 0; k < 4; k++) {
        bl = (size_t)snprintf(body, 200, "%s", BODY);
        while (bl < 17000) {
            memcpy(body + bl, "ext_field: some value to fill\n", 30);
            bl += 30;
        }
        memcpy(body + bl, "x: ", 3);
        memset(body + bl + 3, 'a', 2 + k);
        body[bl + 5 + k] = '\0';
        build(e, lines, body);
        to_v3(e);
        assert_int_equal(mtasts_entry_decode(*state, (const uint8_t *)e->b,
                                             e->n, &ent, NULL),
                         MTASTS_OK);
        assert_int_equal(
            mtasts_entry_encode(ent, (uint8_t *)x->b, sizeof(x->b), &n),
            MTASTS_OK);
        mtasts_entry_free(ent);
        assert_int_equal(n, e->n);
        assert_memory_equal(x->b, e->b, n);
        snprintf(line, sizeof(line), "check=%016llx\n",
                 (unsigned long long)ref_check(e->b + 38, e->n - 38));
        assert_memory_equal(x->b + 15, line, 23);
        /* and a flip near the end */
        e->b[e->n - 7] ^= 0x10;
        assert_int_equal(mtasts_entry_decode(*state, (const uint8_t *)e->b,
                                             e->n, &ent, NULL),
                         MTASTS_ECORRUPT);
    }
    free(body);
    free(x);
    free(e);
}

/* A version-2 or 3 entry whose check line is malformed is a syntax error
 * at that line; a well-formed check that does not match is corruption. */
static void
corrupt_check_line(void **state)
{
    static const char *const bad2[] = {
        "crc32=",         "crc32=1234567", "crc32=123456789", "crc32=C4D1A6C5",
        "crc32=c4d1a6cg", "crc=c4d1a6c5",  "crc32 =c4d1a6c5", "check=c4d1a6c5",
    };
    static const char *const bad3[] = {
        "check=",
        "check=0123456789abcde",
        "check=0123456789abcdef0",
        "check=0123456789ABCDEF",
        "check=0123456789abcdeg",
        "chek=0123456789abcdef",
        "check =0123456789abcdef",
        "crc32=0123456789abcdef",
        "crc32=c4d1a6c5",
    };
    struct mtasts_diag d = MTASTS_DIAG_INIT;
    struct enc e, x;
    size_t i, k, ver, nbad, cl;

    for (ver = 2; ver <= 3; ver++) {
        const char *const *bad = ver == 2 ? bad2 : bad3;

        nbad = ver == 2 ? sizeof(bad2) / sizeof(bad2[0])
                        : sizeof(bad3) / sizeof(bad3[0]);
        cl = ver == 2 ? 15 : 23; /* the check line */
        build(&e, good_lines, BODY);
        if (ver == 2)
            to_v2(&e);
        else
            to_v3(&e);
        for (i = 0; i < nbad; i++) {
            k = strlen(bad[i]);
            memcpy(x.b, e.b, 15);
            memcpy(x.b + 15, bad[i], k);
            x.b[15 + k] = '\n';
            memcpy(x.b + 16 + k, e.b + 15 + cl, e.n - 15 - cl);
            x.n = e.n - cl + k + 1;
            assert_int_equal(decode_copy(*state, x.b, x.n, &d), MTASTS_ESYNTAX);
            assert_int_equal(d.reason, MTASTS_R_FIELD);
            assert_int_equal(d.offset, 15);
        }
        /* the right check of other bytes */
        x = e;
        memcpy(x.b + 21, "00000000", 8);
        assert_int_equal(decode_copy(*state, x.b, x.n, &d), MTASTS_ECORRUPT);
        /* no check line at all */
        memcpy(x.b, e.b, 15);
        memcpy(x.b + 15, e.b + 15 + cl, e.n - 15 - cl);
        x.n = e.n - cl;
        assert_int_equal(decode_copy(*state, x.b, x.n, &d), MTASTS_ESYNTAX);
        assert_int_equal(d.offset, 15);
        /* a version-1 entry with a check line is not version 1 */
        x = e;
        x.b[13] = '1';
        assert_int_equal(decode_copy(*state, x.b, x.n, &d), MTASTS_ESYNTAX);
        /* nor is version 2 with version 3's line, or 3 with 2's */
        x.b[13] = ver == 2 ? '3' : '2';
        assert_int_equal(decode_copy(*state, x.b, x.n, &d), MTASTS_ESYNTAX);
        assert_int_equal(d.offset, 15);
    }
}

static void
future_version(void **state)
{
    static const char *const v[] = {"MTASTS-ENTRY/4", "MTASTS-ENTRY/10",
                                    "MTASTS-ENTRY/9999999"};
    struct mtasts_diag d = MTASTS_DIAG_INIT;
    size_t i;

    for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        const char *lines[L_COUNT];
        struct enc e;

        memcpy(lines, good_lines, sizeof(lines));
        lines[L_MAGIC] = v[i];
        build(&e, lines, BODY);
        assert_int_equal(decode_copy(*state, e.b, e.n, &d), MTASTS_EVERSION);
        assert_int_equal(d.code, MTASTS_EVERSION);
        assert_int_equal(d.reason, MTASTS_R_VERSION);
        assert_int_equal(d.offset, 13);
    }
    /* whatever follows a newer header is not looked at */
    assert_int_equal(decode_copy(*state, "MTASTS-ENTRY/4\nanything", 23, NULL),
                     MTASTS_EVERSION);
}

static void
diag_offsets(void **state)
{
    struct mtasts_diag d = MTASTS_DIAG_INIT;
    const char *lines[L_COUNT];
    struct enc e;
    size_t off;

    memcpy(lines, good_lines, sizeof(lines));
    lines[L_EXPIRES] = "expires=x";
    build(&e, lines, BODY);
    off = (size_t)(strstr(e.b, "expires=") - e.b);
    assert_int_equal(decode_copy(*state, e.b, e.n, &d), MTASTS_ESYNTAX);
    assert_int_equal(d.code, MTASTS_ESYNTAX);
    assert_int_equal(d.reason, MTASTS_R_FIELD);
    assert_int_equal(d.offset, off);
    /* bad magic */
    assert_int_equal(decode_copy(*state, "XTASTS-ENTRY/1\n", 15, &d),
                     MTASTS_ESYNTAX);
    assert_int_equal(d.reason, MTASTS_R_VERSION);
    assert_int_equal(d.offset, 0);
    /* success resets the diagnostic */
    build(&e, good_lines, BODY);
    assert_int_equal(decode_copy(*state, e.b, e.n, &d), MTASTS_OK);
    assert_int_equal(d.code, 0);
    assert_int_equal(d.reason, MTASTS_R_NONE);
}

static void
oversize(void **state)
{
    struct enc *e = malloc(sizeof(*e));
    struct mtasts_diag d = MTASTS_DIAG_INIT;
    const char *lines[L_COUNT];
    char *big = malloc(65536 + 600);

    assert_non_null(e);
    assert_non_null(big);
    /* input above limit + 544: refused before any work */
    memset(big, 'x', 65536 + 600);
    memcpy(big, "MTASTS-ENTRY/1\n", 15);
    assert_int_equal(decode_copy(*state, big, 65536 + 545, &d), MTASTS_ETOOBIG);
    assert_int_equal(d.reason, MTASTS_R_TOO_BIG);
    /* a policy length above the limit */
    memcpy(lines, good_lines, sizeof(lines));
    lines[L_POLICY] = "policy=65537";
    build(e, lines, "");
    assert_int_equal(decode_copy(*state, e->b, e->n, NULL), MTASTS_ETOOBIG);
    /* the context's limit counts */
    assert_int_equal(mtasts_ctx_set_limit(*state, MTASTS_LIMIT_POLICY_SIZE, 64),
                     MTASTS_OK);
    build(e, good_lines, BODY); /* 65-byte body */
    assert_int_equal(decode_copy(*state, e->b, e->n, NULL), MTASTS_ETOOBIG);
    assert_int_equal(mtasts_ctx_set_limit(*state, MTASTS_LIMIT_POLICY_SIZE, 65),
                     MTASTS_OK);
    assert_int_equal(decode_copy(*state, e->b, e->n, NULL), MTASTS_OK);
    free(big);
    free(e);
}

/* Allocation failures while decoding: ENOMEM, nothing leaked. */
static void
decode_oom(void **state)
{
    struct enc e;
    mtasts_entry *ent;
    long n;
    int rc;

    build(&e, good_lines, BODY);
    for (n = 0;; n++) {
        harness_fail_at(n);
        ent = (mtasts_entry *)1;
        rc = mtasts_entry_decode(*state, (const uint8_t *)e.b, e.n, &ent, NULL);
        if (harness_failures() == 0) {
            assert_int_equal(rc, MTASTS_OK);
            mtasts_entry_free(ent);
            break;
        }
        assert_int_equal(rc, MTASTS_ENOMEM);
        assert_null(ent);
        assert_int_equal(harness_leaks(), 1);
    }
    harness_fail_at(-1);
    assert_true(n >= 2); /* the entry and the policy */
}

#define T(f) cmocka_unit_test_setup_teardown(f, harness_setup, harness_teardown)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        T(round_trip_every_field),
        T(round_trip_variants),
        T(round_trip_from_lookup),
        T(v3_check_lengths),
        T(decode_arguments),
        T(strict_lines),
        T(strict_invariants),
        T(strict_body),
        T(strict_truncated),
        T(strict_byte_flips),
        T(corrupt_bit_flips),
        T(corrupt_v3_check),
        T(corrupt_check_line),
        T(future_version),
        T(diag_offsets),
        T(oversize),
        T(decode_oom),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
