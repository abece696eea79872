/* The per-MX delivery decision and the answer formats for MTAs. */
#include "internal.h"

static const char *const reason_names[] = {
    NULL,          "no_policy",    "pass", "mx_mismatch",
    "no_starttls", "cert_invalid", "dane", "report",
};

const char *
mtasts_decide_reason_name(int reason)
{
    if (reason <= 0 ||
        (size_t)reason >= sizeof(reason_names) / sizeof(reason_names[0]))
        return NULL;
    return reason_names[reason];
}

/* RPT-AGG-10: TLS outcomes and their RFC 8460 result types. */
static int
tls_result(int tls)
{
    switch (tls) {
    case MTASTS_TLS_NO_STARTTLS:
        return MTASTS_RESULT_STARTTLS_NOT_SUPPORTED;
    case MTASTS_TLS_CERT_HOST_MISMATCH:
        return MTASTS_RESULT_CERTIFICATE_HOST_MISMATCH;
    case MTASTS_TLS_CERT_EXPIRED:
        return MTASTS_RESULT_CERTIFICATE_EXPIRED;
    case MTASTS_TLS_CERT_UNTRUSTED:
        return MTASTS_RESULT_CERTIFICATE_NOT_TRUSTED;
    case MTASTS_TLS_FAILED:
        return MTASTS_RESULT_VALIDATION_FAILURE;
    default:
        return MTASTS_RESULT_NONE;
    }
}

int
mtasts_decide(const mtasts_policy *policy, const char *mx, size_t mx_len,
              int tls, int dane, unsigned flags, int *ret_action,
              int *ret_result_type, int *ret_reason)
{
    int action = MTASTS_DELIVER, rt = MTASTS_RESULT_NONE, reason;

    if (ret_action == NULL || mx == NULL || tls < MTASTS_TLS_NOT_TRIED ||
        tls > MTASTS_TLS_FAILED || dane < MTASTS_DANE_NOT_USED ||
        dane > MTASTS_DANE_FAIL ||
        (flags & ~(unsigned)MTASTS_DECIDE_F_TLSRPT_REPORT) != 0)
        return MTASTS_EINVAL;
    if (flags & MTASTS_DECIDE_F_TLSRPT_REPORT) {
        /* STS-ENF-11: reports go out whatever the TLS state and are not
         * counted, so a broken receiver cannot start a report loop */
        reason = MTASTS_DECIDE_REPORT;
    } else if (dane != MTASTS_DANE_NOT_USED) {
        /* STS-ENF-8: MTA-STS never overrides (or upgrades) DANE. */
        reason = MTASTS_DECIDE_DANE;
        if (dane == MTASTS_DANE_FAIL)
            action = MTASTS_SKIP_MX;
    } else if (policy == NULL ||
               mtasts_policy_mode(policy) == MTASTS_MODE_NONE) {
        reason = MTASTS_DECIDE_NO_POLICY; /* STS-ENF-4 */
    } else {
        if (!mt_policy_mx_allowed(policy, mx, mx_len)) {
            reason = MTASTS_DECIDE_MX_MISMATCH;
            rt = MTASTS_RESULT_VALIDATION_FAILURE;
        } else if (tls == MTASTS_TLS_NO_STARTTLS) {
            reason = MTASTS_DECIDE_NO_STARTTLS;
            rt = tls_result(tls);
        } else if (tls > MTASTS_TLS_OK) {
            reason = MTASTS_DECIDE_CERT_INVALID;
            rt = tls_result(tls);
        } else {
            reason = MTASTS_DECIDE_PASS;
        }
        /* STS-ENF-2/3: enforce skips a failing MX, testing delivers */
        if (rt != MTASTS_RESULT_NONE &&
            mtasts_policy_mode(policy) == MTASTS_MODE_ENFORCE)
            action = MTASTS_SKIP_MX;
    }
    *ret_action = action;
    if (ret_result_type != NULL)
        *ret_result_type = rt;
    if (ret_reason != NULL)
        *ret_reason = reason;
    return MTASTS_OK;
}

/* Read a decimal 0-255 without a leading zero at s[*i]; 0 or -1. */
static int
pf_num(const char *s, size_t len, size_t *i, unsigned *ret)
{
    size_t b = *i;
    unsigned v = 0;

    while (*i < len && s[*i] >= '0' && s[*i] <= '9' && *i - b < 3) {
        v = v * 10 + (unsigned)(s[*i] - '0');
        (*i)++;
    }
    if (*i == b || v > 255 || (s[b] == '0' && *i - b > 1)) {
        if (*i > b)
            *i = b; /* a bad number is reported at its start */
        return -1;
    }
    if (*i < len && s[*i] >= '0' && s[*i] <= '9') {
        *i = b; /* four or more digits */
        return -1;
    }
    *ret = v;
    return 0;
}

int
mtasts_postfix_version_parse(const char *s, size_t len, uint32_t *ret_version,
                             size_t *ret_offset)
{
    unsigned maj, min, patch;
    size_t i = 0, d;

    if ((s == NULL && len > 0) || ret_version == NULL)
        return MTASTS_EINVAL;
    if (pf_num(s, len, &i, &maj) < 0 || i >= len || s[i] != '.')
        goto bad;
    i++;
    if (pf_num(s, len, &i, &min) < 0 || i >= len)
        goto bad;
    if (s[i] == '.') {
        i++;
        if (pf_num(s, len, &i, &patch) < 0)
            goto bad;
    } else if (s[i] == '-') {
        /* A snapshot precedes MAJOR.MINOR.0: take the release before. */
        for (i++, d = 0; d < 8; d++, i++)
            if (i >= len || s[i] < '0' || s[i] > '9')
                goto bad;
        if (min > 0) {
            min--;
        } else if (maj > 0) {
            maj--;
            min = 255;
        } else {
            i = 0;
            goto bad;
        }
        patch = 0;
    } else {
        goto bad;
    }
    if (i != len)
        goto bad;
    *ret_version = MTASTS_POSTFIX_VERSION(maj, min, patch);
    return MTASTS_OK;
bad:
    if (ret_offset != NULL)
        *ret_offset = i;
    return MTASTS_ESYNTAX;
}

int
mtasts_postfix_answer_format(const mtasts_policy *policy, const char *domain,
                             size_t domain_len, uint32_t postfix_version,
                             unsigned flags, char *dst, size_t dst_len,
                             size_t *ret_needed)
{
    char norm[MTASTS_DOMAIN_MAX_LEN + 1];
    struct mt_out o;
    const char *s;
    size_t i, n, nl;
    int rc;

    if ((dst == NULL && dst_len > 0) ||
        (flags & ~(unsigned)MTASTS_POSTFIX_F_TEMP) ||
        postfix_version < MTASTS_POSTFIX_VERSION(2, 10, 0) ||
        postfix_version > MTASTS_POSTFIX_VERSION(255, 255, 255))
        return MTASTS_EINVAL;
    mt_out_init(&o, dst, dst_len);
    /* Postfix also looks up ".parent.domain" keys; a policy covers its own
     * domain only (RFC 8461 4.1), so none applies, even in a failure. */
    if (domain != NULL && domain_len > 0 && domain[0] == '.') {
        mt_out_str(&o, "NOTFOUND ");
        return mt_out_finish(&o, ret_needed);
    }
    if (domain == NULL && domain_len > 0)
        return MTASTS_EINVAL;
    rc = mt_domain_norm(domain, domain_len, norm, MTASTS_DOMAIN_MAX_LEN, &nl);
    if (rc != MTASTS_OK)
        return rc;
    if (flags & MTASTS_POSTFIX_F_TEMP) {
        /* socketmap_table(5): "TEMP reason" makes the lookup fail with a
         * temporary error, and smtp(8) defers. */
        mt_out_str(&o, "TEMP MTA-STS policy for ");
        mt_out_put(&o, norm, nl);
        mt_out_str(&o, " temporarily unavailable");
        return mt_out_finish(&o, ret_needed);
    }
    if (policy == NULL || mtasts_policy_mode(policy) != MTASTS_MODE_ENFORCE) {
        mt_out_str(&o, "NOTFOUND ");
        return mt_out_finish(&o, ret_needed);
    }
    /* The certificate must match one pattern. Postfix's ".domain" matches
     * subdomains at any depth, the closest it has to "*.domain". From
     * 3.10.5 Postfix swaps this list for the MX host name when it gets
     * policy_type=sts and mx_host_pattern (and needs a match list). */
    mt_out_str(&o, "OK secure match=");
    for (i = 0; i < mtasts_policy_mx_count(policy); i++) {
        s = mtasts_policy_mx(policy, i, &n);
        if (i > 0)
            mt_out_put(&o, ":", 1);
        if (n > 2 && s[0] == '*' && s[1] == '.') {
            s++;
            n--;
        }
        mt_out_put(&o, s, n);
    }
    if (postfix_version >= MTASTS_POSTFIX_VERSION(3, 4, 0))
        mt_out_str(&o, " servername=hostname");
    if (postfix_version < MTASTS_POSTFIX_VERSION(3, 10, 0))
        return mt_out_finish(&o, ret_needed);
    mt_out_str(&o, " policy_type=sts policy_domain=");
    mt_out_put(&o, norm, nl);
    for (i = 0; i < mtasts_policy_mx_count(policy); i++) {
        s = mtasts_policy_mx(policy, i, &n);
        mt_out_str(&o, " mx_host_pattern=");
        mt_out_put(&o, s, n);
    }
    /* Policy lines contain spaces, so they use Postfix's
     * "{ name = value }" attribute form. The lines come from a remote
     * server: one holding a brace could close the attribute and inject
     * others, so such lines are left out. */
    for (i = 0; i < mtasts_policy_line_count(policy); i++) {
        s = mtasts_policy_line(policy, i, &n);
        if (memchr(s, '{', n) != NULL || memchr(s, '}', n) != NULL)
            continue;
        mt_out_str(&o, " { policy_string = ");
        mt_out_put(&o, s, n);
        mt_out_str(&o, " }");
    }
    return mt_out_finish(&o, ret_needed);
}
