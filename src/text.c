/*
 * Text checks shared by the grammars: well-formed UTF-8 (the one
 * validator, the JSON reader's included), RFC 5322
 * dot-atom-text and addr-spec. Pure functions of their input: every
 * predicate returns 1 for good text and 0 for bad.
 */
#include "internal.h"

/* Length (2 to 4) of the well-formed UTF-8 sequence whose lead byte is
 * p[0] (RFC 3629 section 4: no overlong forms, surrogates or code points
 * above U+10FFFF), reading at most avail bytes; 0 if it is invalid or
 * truncated. p[0] is not ASCII. */
size_t
mt_utf8_seq(const unsigned char *p, size_t avail)
{
    unsigned char c = p[0], lo = 0x80, hi = 0xBF;
    size_t n, i;

    if (c >= 0xC2 && c <= 0xDF)
        n = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0)
            lo = 0xA0; /* no overlongs */
        else if (c == 0xED)
            hi = 0x9F; /* no surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F; /* not above U+10FFFF */
    } else
        return 0;
    if (avail < n || p[1] < lo || p[1] > hi)
        return 0;
    for (i = 2; i < n; i++)
        if ((p[i] & 0xC0) != 0x80)
            return 0;
    return n;
}

/* Well-formed UTF-8 without NUL (no overlong forms, surrogates or code
 * points above U+10FFFF). */
int
mt_utf8_ok(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, k;

    while (i < n) {
        if (p[i] < 0x80) {
            if (p[i] == 0)
                return 0;
            i++;
            continue;
        }
        k = mt_utf8_seq(p + i, n - i);
        if (k == 0)
            return 0;
        i += k;
    }
    return 1;
}

/* dot-atom-text = 1*atext *("." 1*atext) */
int
mt_dot_atom_ok(const char *s, size_t n)
{
    size_t i;

    if (n == 0 || s[0] == '.' || s[n - 1] == '.')
        return 0;
    for (i = 0; i < n; i++) {
        if (s[i] == '.') {
            if (s[i + 1] == '.')
                return 0;
        } else if (!mt_is_atext((unsigned char)s[i]))
            return 0;
    }
    return 1;
}

/* RFC 5322 addr-spec without CFWS or obsolete forms: (dot-atom /
 * quoted-string) "@" (dot-atom / domain-literal). */
int
mt_addr_spec_ok(const char *s, size_t n)
{
    size_t at, i;

    if (n == 0)
        return 0;
    if (s[0] == '"') {
        for (at = 1;; at++) {
            unsigned char c;
            if (at >= n)
                return 0;
            c = (unsigned char)s[at];
            if (c == '"')
                break;
            if (c == '\\') {
                if (++at >= n ||
                    !(MT_IS(s[at], MT_C_VCHAR) || MT_IS(s[at], MT_C_WSP)))
                    return 0;
            } else if (!(MT_IS(c, MT_C_VCHAR) || MT_IS(c, MT_C_WSP)))
                return 0;
        }
        at++;
    } else {
        for (at = 0; at < n && s[at] != '@'; at++)
            ;
        if (!mt_dot_atom_ok(s, at))
            return 0;
    }
    if (at >= n || s[at] != '@' || at + 1 >= n)
        return 0;
    s += at + 1;
    n -= at + 1;
    if (s[0] != '[')
        return mt_dot_atom_ok(s, n);
    if (s[n - 1] != ']' || n < 2)
        return 0;
    for (i = 1; i + 1 < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!((c >= 33 && c <= 90) || (c >= 94 && c <= 126) ||
              MT_IS(c, MT_C_WSP)))
            return 0;
    }
    return 1;
}
