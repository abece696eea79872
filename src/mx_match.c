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

/* h[0..n) equals p[0..n) ignoring case and is a valid dot-separated LDH
 * name. n > 0. */
static int
tail_eq_valid(const char *p, const char *h, size_t n)
{
    size_t i, lab = 0;
    unsigned char c, prev = '.';

    for (i = 0; i < n; i++) {
        c = (unsigned char)h[i];
        if (mt_lower[c] != mt_lower[(unsigned char)p[i]])
            return 0;
        if (c == '.') {
            if (prev == '.' || prev == '-')
                return 0;
            lab = 0;
        } else {
            if (!MT_IS(c, MT_C_LDH) || (c == '-' && prev == '.') ||
                ++lab > MTASTS_LABEL_MAX_LEN)
                return 0;
        }
        prev = c;
    }
    return prev != '-' && prev != '.';
}

/* h[0..n) is one valid LDH label. */
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
name_match(const char *pattern, size_t plen, const char *host, size_t hlen)
{
    size_t slen, llen;

    if (hlen > 0 && host[hlen - 1] == '.')
        hlen--;
    if (hlen == 0 || hlen > MTASTS_DOMAIN_MAX_LEN || plen == 0)
        return 0;
    if (plen > 2 && pattern[0] == '*' && pattern[1] == '.') {
        slen = plen - 2;
        if (hlen < slen + 2)
            return 0;
        llen = hlen - slen - 1;
        if (host[llen] != '.' || !label_valid(host, llen))
            return 0;
        return tail_eq_valid(pattern + 2, host + llen + 1, slen);
    }
    if (plen != hlen || pattern[0] == '.')
        return 0;
    return tail_eq_valid(pattern, host, hlen);
}

int
mtasts_mx_match(const char *pattern, size_t pattern_len, const char *host,
                size_t host_len)
{
    if ((pattern == NULL && pattern_len > 0) || (host == NULL && host_len > 0))
        return 0;
    return name_match(pattern, pattern_len, host, host_len);
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
