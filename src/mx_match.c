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
#include "namescan.h"

static uint64_t
low_bits(size_t n)
{
    return ((uint64_t)1 << n) - 1;
}

/* a[0..n) equals b[0..n) ignoring ASCII case (long names only). */
static int
ci_equal(const unsigned char *a, const unsigned char *b, size_t n)
{
    struct mt_nmask m;
    size_t k;

    for (; n > 0; a += k, b += k, n -= k) {
        k = n < MT_NMASK_MAX - 1 ? n : MT_NMASK_MAX - 1;
        mt_nmask_get(a, b, k, MT_NM_EQ, &m);
        if (m.eq != low_bits(k))
            return 0;
    }
    return 1;
}

/* One valid label: a name without a dot. */
static int
label_valid(const char *h, size_t n)
{
    return n <= MTASTS_LABEL_MAX_LEN && memchr(h, '.', n) == NULL &&
           mt_name_valid(h, n);
}

/*
 * Names shorter than 64 octets (all but freak ones) are compared and
 * validated a block of bytes at a time (src/namescan.h): an exact pattern
 * is scanned against the host in one pass; for a wildcard pattern
 * "*.suffix", the host is scanned on its own, and then ".suffix" is
 * compared with the host's bytes after its left-most label. The host is
 * validated in full, which also validates the matched part of the
 * pattern: an invalid pattern or host never matches.
 *
 * A trusted (already validated) pattern needs no validation of what it
 * matches: the host bytes equal to it ignoring case are valid too, and
 * only a wildcard's left-most host label is checked. Longer names compare
 * first and then validate.
 */
/* Names of 64 octets and more: compare, then validate. */
static int
name_match_long(const unsigned char *p, size_t plen, const unsigned char *h,
                size_t hlen, int trusted)
{
    size_t slen, llen;

    if (plen > 2 && p[0] == '*' && p[1] == '.') {
        slen = plen - 2;
        llen = hlen - slen - 1;
        if (h[llen] != '.' || !ci_equal(p + 2, h + llen + 1, slen) ||
            !label_valid((const char *)h, llen))
            return 0;
        return trusted || mt_name_valid((const char *)h + llen + 1, slen);
    }
    return ci_equal(p, h, hlen) &&
           (trusted || mt_name_valid((const char *)h, hlen));
}

/* "*.suffix" against host[0..hlen), hlen without a trailing dot. */
static MT_ALWAYS_INLINE int
wild_body(const unsigned char *p, size_t plen, const unsigned char *h,
          size_t hlen, int trusted)
{
    uint64_t dot;
    size_t llen;

    if (hlen < plen || hlen > MTASTS_DOMAIN_MAX_LEN)
        return 0; /* also when the suffix alone would fit */
    if (hlen >= MT_NMASK_MAX)
        return name_match_long(p, plen, h, hlen, trusted);
    /* ".suffix" against the host after its left-most label; the host is
     * valid, without a dot in that label */
    llen = hlen - plen + 1;
    if (trusted)
        return mt_name_ci_eq(h + llen, p + 1, plen - 1) &&
               mt_name_dots_ok(h, llen, &dot) && dot == 0;
    return mt_name_dots_ok(h, hlen, &dot) && (dot & low_bits(llen)) == 0 &&
           mt_name_ci_eq(p + 1, h + llen, plen - 1);
}

/* wild_body() compiled for each kind of pattern */
static int
wild_match(const unsigned char *p, size_t plen, const unsigned char *h,
           size_t hlen)
{
    return wild_body(p, plen, h, hlen, 0);
}

static int
wild_match_trusted(const unsigned char *p, size_t plen, const unsigned char *h,
                   size_t hlen)
{
    return wild_body(p, plen, h, hlen, 1);
}

static MT_ALWAYS_INLINE int
name_match(const char *pattern, size_t plen, const char *host, size_t hlen,
           int trusted)
{
    const unsigned char *p = (const unsigned char *)pattern;
    const unsigned char *h = (const unsigned char *)host;

    if (hlen > 0 && host[hlen - 1] == '.')
        hlen--;
    if (plen > 2 && pattern[0] == '*' && pattern[1] == '.')
        return trusted ? wild_match_trusted(p, plen, h, hlen)
                       : wild_match(p, plen, h, hlen);
    if (plen != hlen || hlen == 0)
        return 0;
    if (hlen < MT_NMASK_MAX) /* compared and validated in one pass */
        return trusted ? mt_name_ci_eq(h, p, hlen) : mt_name_eq_ok(h, p, hlen);
    return hlen <= MTASTS_DOMAIN_MAX_LEN &&
           name_match_long(p, plen, h, hlen, trusted);
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
