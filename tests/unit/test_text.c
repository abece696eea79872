/* Text checks (src/text.c): the one UTF-8 validator against a decoder
 * written from RFC 3629 section 3 (code point arithmetic, not byte
 * ranges), and the RFC 5322 dot-atom-text and addr-spec predicates. */
#include "harness.h"
#include "internal.h"

/* Reference: the length of the well-formed sequence at p[0..avail) with a
 * non-ASCII lead byte, or 0. Decodes the code point and checks that it
 * needs exactly that many bytes, is not a surrogate and is at most
 * U+10FFFF. */
static size_t
ref_seq(const unsigned char *p, size_t avail)
{
    unsigned long cp;
    size_t n, i;

    if ((p[0] & 0xE0) == 0xC0) {
        n = 2;
        cp = p[0] & 0x1Fu;
    } else if ((p[0] & 0xF0) == 0xE0) {
        n = 3;
        cp = p[0] & 0x0Fu;
    } else if ((p[0] & 0xF8) == 0xF0) {
        n = 4;
        cp = p[0] & 0x07u;
    } else {
        return 0;
    }
    if (avail < n)
        return 0;
    for (i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        cp = cp << 6 | (p[i] & 0x3Fu);
    }
    if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) ||
        (n == 4 && cp < 0x10000))
        return 0; /* overlong */
    if ((cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
        return 0;
    return n;
}

/* Every lead byte and second byte, with third and fourth bytes from the
 * edges of the continuation range, at every available length. */
static void
utf8_seq_matches_reference(void **state)
{
    static const unsigned char tail[] = {0x00, 0x7F, 0x80, 0x9F,
                                         0xA0, 0xBF, 0xC0, 0xFF};
    unsigned char b[4];
    unsigned c0, c1, t2, t3;
    size_t avail, valid = 0;
    char *g[5]; /* g[avail]: avail bytes before an unmapped page */

    (void)state;
    for (avail = 1; avail <= 4; avail++)
        g[avail] = harness_guard(b, avail);
    for (c0 = 0x80; c0 <= 0xFF; c0++)
        for (c1 = 0; c1 <= 0xFF; c1++)
            for (t2 = 0; t2 < sizeof(tail); t2++)
                for (t3 = 0; t3 < sizeof(tail); t3++) {
                    b[0] = (unsigned char)c0;
                    b[1] = (unsigned char)c1;
                    b[2] = tail[t2];
                    b[3] = tail[t3];
                    for (avail = 1; avail <= 4; avail++) {
                        size_t got, want;
                        memcpy(g[avail], b, avail);
                        got = mt_utf8_seq((unsigned char *)g[avail], avail);
                        want = ref_seq(b, avail);
                        if (got != want)
                            fail_msg("%02x %02x %02x %02x (%zu bytes): "
                                     "got %zu, want %zu",
                                     b[0], b[1], b[2], b[3], avail, got, want);
                        valid += want != 0;
                    }
                }
    for (avail = 1; avail <= 4; avail++)
        harness_unguard(g[avail], avail);
    /* the reference is not vacuous: 2-, 3- and 4-byte forms were seen */
    assert_true(valid > 0);
}

static void
check_utf8(const char *s, size_t n, int want)
{
    char *g = harness_guard(s, n);
    int got = mt_utf8_ok(g, n);

    harness_unguard(g, n);
    if (got != want)
        fail_msg("mt_utf8_ok(\"%.*s\", %zu) = %d, want %d", (int)n, s, n, got,
                 want);
}

#define U8(s, want) check_utf8(s, sizeof(s) - 1, want)

static void
utf8_ok_strings(void **state)
{
    (void)state;
    U8("", 1);
    U8("plain ASCII ~", 1);
    U8("b\xc3\xbc"
       "cher",
       1);                     /* U+00FC */
    U8("\xe2\x82\xac", 1);     /* U+20AC */
    U8("\xf0\x9f\x98\x80", 1); /* U+1F600 */
    U8("\xf4\x8f\xbf\xbf", 1); /* U+10FFFF */
    U8("a\0b", 0);             /* NUL */
    U8("\xc3", 0);             /* truncated at the end */
    U8("\xe2\x82", 0);         /* truncated at the end */
    U8("\xc0\xaf", 0);         /* overlong '/' */
    U8("\xe0\x80\xaf", 0);     /* overlong '/' */
    U8("\xed\xa0\x80", 0);     /* U+D800 */
    U8("\xf4\x90\x80\x80", 0); /* U+110000 */
    U8("\x80", 0);             /* lone continuation */
    U8("\xc3\xbc\xbc", 0);     /* one continuation too many */
    U8("ok \xe2\x82\xac then \xff", 0);
}

static void
dot_atom_and_addr_spec(void **state)
{
    (void)state;
    assert_int_equal(mt_dot_atom_ok("a.b-c+d", 7), 1);
    assert_int_equal(mt_dot_atom_ok("", 0), 0);
    assert_int_equal(mt_dot_atom_ok(".a", 2), 0);
    assert_int_equal(mt_dot_atom_ok("a.", 2), 0);
    assert_int_equal(mt_dot_atom_ok("a..b", 4), 0);
    assert_int_equal(mt_dot_atom_ok("a b", 3), 0);
    assert_int_equal(mt_addr_spec_ok("tls@example.com", 15), 1);
    assert_int_equal(mt_addr_spec_ok("\"a b\"@example.com", 17), 1);
    assert_int_equal(mt_addr_spec_ok("a@[192.0.2.1]", 13), 1);
    assert_int_equal(mt_addr_spec_ok("a@", 2), 0);
    assert_int_equal(mt_addr_spec_ok("@example.com", 12), 0);
    assert_int_equal(mt_addr_spec_ok("a.@example.com", 14), 0);
    assert_int_equal(mt_addr_spec_ok("\"a@example.com", 14), 0);
    assert_int_equal(mt_addr_spec_ok("a@[192.0.2.1", 12), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(utf8_seq_matches_reference),
        cmocka_unit_test(utf8_ok_strings),
        cmocka_unit_test(dot_atom_and_addr_spec),
    };

    return cmocka_run_group_tests_name("text", tests, NULL, NULL);
}
