/*
 * MX pattern and certificate name matching (RFC 8461 4.1, RFC 6125 6.4.3
 * with decision E-11).
 *
 * One matcher for every caller, in two steps: the host must be a valid
 * name (mt_mx_host(), done once when a host meets several patterns), and
 * the pattern must equal it ignoring ASCII case, or be "*." followed by
 * what follows the host's left-most label (mt_mx_pattern_match()). A byte equal
 * to a byte of a valid host ignoring case is valid in the same place, so
 * checking the host also checks the matched part of the pattern: an invalid
 * pattern or host never matches.
 */
#include "internal.h"

int
mt_mx_host(const char *host, size_t *host_len)
{
    if (host == NULL && *host_len > 0)
        return 0;
    if (*host_len > 0 && host[*host_len - 1] == '.')
        (*host_len)--; /* an absolute host name */
    return mt_name_valid(host, *host_len);
}

int
mt_mx_pattern_match(const char *pattern, size_t pattern_len, const char *host,
                    size_t host_len)
{
    size_t label;

    if (pattern == NULL && pattern_len > 0)
        return 0;
    if (pattern_len > 2 && pattern[0] == '*' && pattern[1] == '.') {
        /* "*.suffix": exactly one non-empty label, then ".suffix" */
        if (host_len < pattern_len)
            return 0;
        label = host_len - (pattern_len - 1);
        return memchr(host, '.', label) == NULL &&
               mt_ascii_caseeq(pattern + 1, pattern_len - 1, host + label,
                               host_len - label);
    }
    return mt_ascii_caseeq(pattern, pattern_len, host, host_len);
}

int
mtasts_mx_match(const char *pattern, size_t pattern_len, const char *host,
                size_t host_len)
{
    return mt_mx_host(host, &host_len) &&
           mt_mx_pattern_match(pattern, pattern_len, host, host_len);
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
