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
        dane > MTASTS_DANE_FAIL || (flags & ~MTASTS_DECIDE_TLSRPT_REPORT) != 0)
        return MTASTS_EINVAL;
    if (flags & MTASTS_DECIDE_TLSRPT_REPORT) {
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

int
mtasts_postfix_answer(const mtasts_policy *policy, const char *domain,
                      size_t domain_len, unsigned flags, char *dst,
                      size_t dst_len, size_t *ret_needed)
{
    char norm[MTASTS_DOMAIN_MAX_LEN + 1];
    struct mt_out o;
    const char *s;
    size_t i, n, nl;
    int rc;

    if ((dst == NULL && dst_len > 0) || (flags & ~MTASTS_POSTFIX_TLSRPT))
        return MTASTS_EINVAL;
    rc = mtasts_domain_normalize(domain, domain_len, norm, sizeof(norm), &nl);
    if (rc != MTASTS_OK)
        return rc == MTASTS_ERANGE ? MTASTS_EINVAL : rc;
    mt_out_init(&o, dst, dst_len);
    if (policy == NULL || mtasts_policy_mode(policy) != MTASTS_MODE_ENFORCE) {
        mt_out_str(&o, "NOTFOUND ");
        return mt_out_finish(&o, ret_needed);
    }
    mt_out_str(&o, "OK secure match=hostname servername=hostname");
    if (flags & MTASTS_POSTFIX_TLSRPT) {
        mt_out_str(&o, " policy_type=sts policy_domain=");
        mt_out_put(&o, norm, nl);
    }
    for (i = 0; i < mtasts_policy_mx_count(policy); i++) {
        s = mtasts_policy_mx(policy, i, &n);
        mt_out_str(&o, " mx_host_pattern=");
        mt_out_put(&o, s, n);
    }
    if (flags & MTASTS_POSTFIX_TLSRPT) {
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
    }
    return mt_out_finish(&o, ret_needed);
}
