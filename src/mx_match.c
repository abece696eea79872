/*
 * MX pattern and certificate name matching (RFC 8461 4.1, RFC 6125 6.4.3
 * with decision E-11).
 *
 * The match and the host validation run in one pass: when the pattern
 * equals the host (ignoring case), validating the host also validates the
 * matched part of the pattern, so an invalid pattern or host never matches
 * and no separate validation pass is needed on the hot path.
 */
#include "internal.h"

#define ONES  UINT64_C(0x0101010101010101)
#define HIGHS UINT64_C(0x8080808080808080)

/* ASCII lower-case of 8 bytes at once; every byte must be below 0x80 so
 * that the additions cannot carry into the next byte. */
static uint64_t
swar_lower(uint64_t x)
{
    uint64_t ge_a = x + ONES * (0x80 - 'A');
    uint64_t gt_z = x + ONES * (0x80 - 'Z' - 1);

    return x | (((ge_a & ~gt_z) & HIGHS) >> 2);
}

/* a[0..n) equals b[0..n) ignoring ASCII case. */
static int
ci_equal(const char *a, const char *b, size_t n)
{
    uint64_t x, y;

    for (; n >= 8; a += 8, b += 8, n -= 8) {
        memcpy(&x, a, 8);
        memcpy(&y, b, 8);
        if (x != y &&
            (((x | y) & HIGHS) != 0 || swar_lower(x) != swar_lower(y)))
            return 0;
    }
    for (; n > 0; a++, b++, n--)
        if (MT_LOWER(*a) != MT_LOWER(*b))
            return 0;
    return 1;
}

/*
 * Compare first, validate second. With trusted (already validated)
 * patterns, a host that equals the pattern ignoring case is valid too, so
 * only a wildcard's left-most host label needs checking. With untrusted
 * patterns the whole host is validated after the comparison, which also
 * validates the matched part of the pattern: an invalid pattern or host
 * never matches.
 */
static int
label_valid(const char *h, size_t n)
{
    size_t i;

    if (n == 0 || n > MTASTS_LABEL_MAX_LEN || h[0] == '-' || h[n - 1] == '-')
        return 0;
    for (i = 0; i < n; i++)
        if (!MT_IS(h[i], MT_C_LDH))
            return 0;
    return 1;
}

static int
name_match(const char *pattern, size_t plen, const char *host, size_t hlen,
           int trusted)
{
    size_t slen, llen;

    if (hlen > 0 && host[hlen - 1] == '.')
        hlen--;
    if (plen > 2 && pattern[0] == '*' && pattern[1] == '.') {
        slen = plen - 2;
        if (hlen < slen + 2)
            return 0;
        llen = hlen - slen - 1;
        /* exactly one valid left-most label, then the suffix */
        if (host[llen] != '.' || !label_valid(host, llen) ||
            !ci_equal(pattern + 2, host + llen + 1, slen))
            return 0;
        return trusted || mt_name_valid(host + llen + 1, slen);
    }
    if (plen != hlen || !ci_equal(pattern, host, hlen))
        return 0;
    return trusted || mt_name_valid(host, hlen);
}

int
mtasts_mx_match(const char *pattern, size_t pattern_len, const char *host,
                size_t host_len)
{
    if ((pattern == NULL && pattern_len > 0) || (host == NULL && host_len > 0))
        return 0;
    return name_match(pattern, pattern_len, host, host_len, 0);
}

int
mtasts_cert_name_match(const char *san, size_t san_len, const char *host,
                       size_t host_len)
{
    /* The certificate rules (wildcard only as the complete left-most label,
     * exactly one label, no partial wildcards, no match of the bare parent)
     * are the MX pattern rules. */
    return mtasts_mx_match(san, san_len, host, host_len);
}

int
mtasts_cert_names_match(const char *const *sans, const size_t *san_lens,
                        size_t count, const char *host, size_t host_len)
{
    size_t i;

    if (count > 0 && (sans == NULL || san_lens == NULL))
        return 0;
    for (i = 0; i < count; i++)
        if (mtasts_mx_match(sans[i], san_lens[i], host, host_len))
            return 1;
    return 0;
}

int
mt_mx_match_trusted(const char *pattern, size_t plen, const char *host,
                    size_t hlen)
{
    if (host == NULL && hlen > 0)
        return 0;
    return name_match(pattern, plen, host, hlen, 1);
}
