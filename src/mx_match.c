/*
 * MX pattern and certificate name matching (RFC 8461 4.1, RFC 6125 6.4.3
 * with decision E-11).
 *
 * One matcher for every caller: the host must be a valid name and the
 * pattern must equal it ignoring ASCII case, or be "*." followed by what
 * follows the host's left-most label. The host's rules (those of
 * mt_name_valid()) are checked in the same pass as the comparison, so a
 * host costs one read. A byte equal to a byte of a valid host ignoring
 * case is valid in the same place, so checking the host also checks the
 * matched part of the pattern: an invalid pattern or host never matches.
 */
#include "internal.h"

/* Whether host[0..n) is one or more valid labels (letters, digits and
 * '-'; 1..63 octets; no '-' at either end) joined by single dots, and
 * equal to pat[0..n) ignoring ASCII case. The 253-octet limit of a name is
 * the caller's. */
static int
labels_caseeq(const char *pat, const char *host, size_t n)
{
    size_t i = 0, ls;

    for (;;) {
        ls = i;
        while (i < n && MT_NAME_FOLD(host[i]) == MT_LOWER(pat[i]))
            i++;
        if (i == ls || i - ls > MTASTS_LABEL_MAX_LEN || host[ls] == '-' ||
            host[i - 1] == '-')
            return 0;
        if (i == n)
            return 1;
        if (host[i] != '.' || pat[i] != '.')
            return 0; /* a difference, or a byte no name has */
        i++;
    }
}

/* Whether s[0..n) is one valid label: 1..63 letters, digits and '-', no
 * '-' at either end. */
static int
one_label(const char *s, size_t n)
{
    size_t i;

    if (n == 0 || n > MTASTS_LABEL_MAX_LEN || s[0] == '-' || s[n - 1] == '-')
        return 0;
    for (i = 0; i < n; i++)
        if (!MT_IS(s[i], MT_C_LDH))
            return 0;
    return 1;
}

int
mtasts_mx_match(const char *pattern, size_t pattern_len, const char *host,
                size_t host_len)
{
    size_t label;

    if ((host == NULL && host_len > 0) || (pattern == NULL && pattern_len > 0))
        return 0;
    if (host_len > 0 && host[host_len - 1] == '.')
        host_len--; /* an absolute host name */
    if (host_len > MTASTS_DOMAIN_MAX_LEN)
        return 0;
    if (pattern_len > 2 && pattern[0] == '*' && pattern[1] == '.') {
        /* "*.suffix": exactly one valid label, then ".suffix" */
        if (host_len < pattern_len)
            return 0;
        label = host_len - (pattern_len - 1);
        if (!one_label(host, label) || host[label] != '.')
            return 0;
        return labels_caseeq(pattern + 2, host + label + 1, pattern_len - 2);
    }
    if (pattern_len != host_len || host_len == 0)
        return 0;
    return labels_caseeq(pattern, host, host_len);
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
