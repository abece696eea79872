/* Hostname rules (RFC 5321 Domain, RFC 1035 lengths) and normalisation. */
#include "internal.h"

/* The rules label by label over name[i..len) (len counting all of name):
 * 0, or the first rule broken with *ret_reason and *ret_off. Why label by
 * label: the inner loop is one table lookup per byte, and the hyphen and
 * length rules are checked once per label. */
static int
name_rules(const char *name, size_t len, size_t i, int *ret_reason,
           size_t *ret_off)
{
    size_t ls;
    unsigned char c;

    for (;;) {
        ls = i;
        while (i < len && MT_IS(name[i], MT_C_LDH))
            i++;
        if (i == ls || name[ls] == '-' || name[i - 1] == '-') {
            if (i == ls)
                *ret_off = i;
            else if (name[ls] == '-')
                *ret_off = ls;
            else
                *ret_off = i - 1;
            goto bad;
        }
        if (i - ls > MTASTS_LABEL_MAX_LEN) {
            *ret_reason = MTASTS_R_LABEL_LEN;
            *ret_off = ls + MTASTS_LABEL_MAX_LEN;
            return MTASTS_ETOOBIG;
        }
        if (i == len)
            break;
        c = (unsigned char)name[i];
        if (c != '.') {
            *ret_off = i;
            if (c >= 0x80) {
                *ret_reason = MTASTS_R_NON_ASCII;
                return MTASTS_ENONASCII;
            }
            goto bad;
        }
        i++;
        if (i == len) {
            *ret_off = i - 1;
            goto bad;
        }
    }
    if (len > MTASTS_DOMAIN_MAX_LEN) {
        *ret_reason = MTASTS_R_NAME_LEN;
        *ret_off = MTASTS_DOMAIN_MAX_LEN;
        return MTASTS_ETOOBIG;
    }
    return MTASTS_OK;
bad:
    /* A non-ASCII byte anywhere makes the name a U-label problem rather
     * than a plain syntax error, whatever stopped the scan first. */
    for (i = 0; i < len; i++)
        if ((unsigned char)name[i] >= 0x80) {
            *ret_reason = MTASTS_R_NON_ASCII;
            *ret_off = i;
            return MTASTS_ENONASCII;
        }
    *ret_reason = MTASTS_R_HOSTNAME;
    return MTASTS_ESYNTAX;
}

int
mt_name_valid(const char *s, size_t n)
{
    size_t off;
    int reason;

    return n > 0 && name_rules(s, n, 0, &reason, &off) == MTASTS_OK;
}

int
mt_hostname_check(const char *name, size_t len, unsigned flags, int *ret_reason,
                  size_t *ret_off)
{
    size_t i = 0;

    if (len > 0 && (flags & MTASTS_HOST_F_TRAILING_DOT) && name[len - 1] == '.')
        len--;
    if (len == 0) {
        *ret_reason = MTASTS_R_EMPTY;
        *ret_off = 0;
        return MTASTS_ESYNTAX;
    }
    if ((flags & MTASTS_HOST_F_WILDCARD) && len >= 2 && name[0] == '*' &&
        name[1] == '.')
        i = 2;
    /* the length limit counts a wildcard's "*." too */
    return name_rules(name, len, i, ret_reason, ret_off);
}

int
mtasts_hostname_check(const char *name, size_t len, unsigned flags,
                      struct mtasts_diag *reterr)
{
    int rc, reason = 0;
    size_t off = 0;

    rc = mt_diag_check(reterr);
    if (rc != MTASTS_OK)
        return rc;
    if (name == NULL && len > 0)
        return MTASTS_EINVAL;
    if ((flags &
         ~(unsigned)(MTASTS_HOST_F_WILDCARD | MTASTS_HOST_F_TRAILING_DOT)) != 0)
        return MTASTS_EINVAL;
    rc = mt_hostname_check(name, len, flags, &reason, &off);
    if (rc != MTASTS_OK)
        mt_diag_fail(reterr, rc, reason, off, NULL, 0);
    else
        mt_diag_ok(reterr, 0, 0);
    return rc;
}

int
mt_domain_norm(const char *name, size_t len, char *dst, size_t cap,
               size_t *ret_len)
{
    size_t off, i;
    int rc, reason;

    rc =
        mt_hostname_check(name, len, MTASTS_HOST_F_TRAILING_DOT, &reason, &off);
    if (rc != MTASTS_OK)
        return rc;
    if (name[len - 1] == '.')
        len--;
    if (len > cap)
        return MTASTS_ETOOBIG;
    for (i = 0; i < len; i++)
        dst[i] = (char)MT_LOWER(name[i]);
    *ret_len = len;
    return MTASTS_OK;
}

int
mt_domain_wrap(const char *pre, size_t label_pre, const char *domain,
               size_t len, const char *post, char *dst, size_t dst_len,
               size_t *ret_needed)
{
    struct mt_out o;
    char low[MTASTS_DOMAIN_MAX_LEN];
    int rc;

    if ((dst == NULL && dst_len > 0) || (domain == NULL && len > 0))
        return MTASTS_EINVAL;
    rc = mt_domain_norm(domain, len, low, MTASTS_DOMAIN_MAX_LEN - label_pre,
                        &len);
    if (rc != MTASTS_OK)
        return rc;
    mt_out_init(&o, dst, dst_len);
    mt_out_str(&o, pre);
    mt_out_put(&o, low, len);
    if (*post != '\0')
        mt_out_str(&o, post);
    return mt_out_finish(&o, ret_needed);
}

int
mtasts_sts_txt_name(const char *domain, size_t len, char *dst, size_t dst_len,
                    size_t *ret_needed)
{
    return mt_domain_wrap("_mta-sts.", 9, domain, len, "", dst, dst_len,
                          ret_needed);
}

int
mtasts_domain_policy_host(const char *domain, size_t len, char *dst,
                          size_t dst_len, size_t *ret_needed)
{
    return mt_domain_wrap("mta-sts.", 8, domain, len, "", dst, dst_len,
                          ret_needed);
}

int
mtasts_domain_policy_url(const char *domain, size_t len, char *dst,
                         size_t dst_len, size_t *ret_needed)
{
    return mt_domain_wrap("https://mta-sts.", 8, domain, len,
                          "/.well-known/mta-sts.txt", dst, dst_len, ret_needed);
}

int
mtasts_domain_normalize(const char *name, size_t len, char *dst, size_t dst_len,
                        size_t *ret_needed)
{
    return mt_domain_wrap("", 0, name, len, "", dst, dst_len, ret_needed);
}

int
mtasts_domain_for_delivery(const char *recipient, size_t recipient_len,
                           const char *smarthost, size_t smarthost_len,
                           char *dst, size_t dst_len, size_t *ret_needed)
{
    const char *d = smarthost;
    size_t n = smarthost_len, i;
    struct mt_out o;

    if (d == NULL) {
        if (recipient == NULL)
            return MTASTS_EINVAL;
        d = recipient;
        n = recipient_len;
        for (i = recipient_len; i > 0; i--)
            if (recipient[i - 1] == '@') {
                d = recipient + i;
                n = recipient_len - i;
                break;
            }
    }
    if (n >= 3 && d[0] == '[' && d[n - 1] == ']') {
        if (dst == NULL && dst_len > 0)
            return MTASTS_EINVAL;
        mt_out_init(&o, dst, dst_len);
        mt_out_put(&o, d, n);
        return mt_out_finish(&o, ret_needed);
    }
    return mt_domain_wrap("", 0, d, n, "", dst, dst_len, ret_needed);
}
