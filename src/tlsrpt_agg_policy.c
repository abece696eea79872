/*
 * TLSRPT aggregation: the applied-policy keys (RPT-AGG-3, -11, -12, -13)
 * as policy blobs (tlsrpt_agg_int.h), with their hash cached so that
 * mtasts_tlsrpt_agg_add() never hashes a policy.
 */
#include "tlsrpt_agg_int.h"

/* Writes (when b is not NULL) one element, returns its size. */
static size_t
put_item(unsigned char *b, const char *s, size_t n)
{
    if (b != NULL) {
        mt_be_put(b, n, 4);
        if (n > 0)
            memcpy(b + 4, s, n);
    }
    return 4 + n;
}

static size_t
put_head(unsigned char *b, int type, const char *d, size_t dlen, size_t nps,
         size_t nmx)
{
    if (b != NULL) {
        b[MT_PB_TYPE] = (unsigned char)type;
        mt_be_put(b + MT_PB_DLEN, dlen, 2);
        memcpy(b + MT_PB_DOMAIN, d, dlen);
        mt_be_put(b + MT_PB_DOMAIN + dlen, nps, 4);
        mt_be_put(b + MT_PB_DOMAIN + dlen + 4, nmx, 4);
    }
    return MT_PB_HEAD + dlen;
}

static int
policy_alloc(mtasts_ctx *ctx, size_t len, mtasts_tlsrpt_policy **ret)
{
    mtasts_tlsrpt_policy *p;

    if (len > UINT32_MAX || len > SIZE_MAX - sizeof(*p))
        return MTASTS_ETOOBIG;
    p = mt_alloc(ctx, sizeof(*p) + len);
    if (p == NULL)
        return MTASTS_ENOMEM;
    p->ctx = ctx;
    p->size = sizeof(*p) + len;
    p->blob_len = (uint32_t)len;
    *ret = p;
    return MTASTS_OK;
}

static void
policy_seal(mtasts_tlsrpt_policy *p, mtasts_tlsrpt_policy **ret)
{
    p->seed = p->ctx->seed;
    p->hash = mt_agg_hash(p->seed, p->blob, p->blob_len);
    *ret = p;
}

int
mtasts_tlsrpt_policy_build_none(mtasts_ctx *ctx, const char *domain,
                                size_t domain_len,
                                mtasts_tlsrpt_policy **ret_policy)
{
    char d[MTASTS_DOMAIN_MAX_LEN + 1];
    size_t dlen;
    mtasts_tlsrpt_policy *p;
    int rc;

    if (ret_policy != NULL)
        *ret_policy = NULL;
    if (ctx == NULL || ret_policy == NULL)
        return MTASTS_EINVAL;
    if ((rc = mt_agg_norm_domain(domain, domain_len, d, &dlen)) != MTASTS_OK ||
        (rc = policy_alloc(ctx, put_head(NULL, 0, d, dlen, 0, 0), &p)) !=
            MTASTS_OK)
        return rc;
    put_head(p->blob, MTASTS_POLICY_TYPE_NO_POLICY_FOUND, d, dlen, 0, 0);
    policy_seal(p, ret_policy);
    return MTASTS_OK;
}

int
mtasts_tlsrpt_policy_build_sts(mtasts_ctx *ctx, const char *domain,
                               size_t domain_len, const mtasts_policy *policy,
                               mtasts_tlsrpt_policy **ret_policy)
{
    char d[MTASTS_DOMAIN_MAX_LEN + 1];
    size_t dlen, nps, nmx, i, n, len, off;
    const char *s;
    mtasts_tlsrpt_policy *p;
    int rc;

    if (ret_policy != NULL)
        *ret_policy = NULL;
    if (ctx == NULL || ret_policy == NULL || policy == NULL)
        return MTASTS_EINVAL;
    if (mtasts_policy_mode(policy) == MTASTS_MODE_NONE)
        return mtasts_tlsrpt_policy_build_none(ctx, domain, domain_len,
                                               ret_policy);
    if ((rc = mt_agg_norm_domain(domain, domain_len, d, &dlen)) != MTASTS_OK)
        return rc;
    nps = mtasts_policy_line_count(policy);
    nmx = mtasts_policy_mx_count(policy);
    if (nps > UINT32_MAX || nmx > UINT32_MAX)
        return MTASTS_ETOOBIG;
    len = put_head(NULL, 0, d, dlen, 0, 0);
    for (i = 0; i < nps + nmx; i++) {
        s = i < nps ? mtasts_policy_line(policy, i, &n)
                    : mtasts_policy_mx(policy, i - nps, &n);
        if (s == NULL || !mt_utf8_ok(s, n))
            return MTASTS_ESYNTAX;
        if (n > UINT32_MAX - 4 || len > UINT32_MAX - 4 - n)
            return MTASTS_ETOOBIG;
        len += put_item(NULL, s, n);
    }
    if ((rc = policy_alloc(ctx, len, &p)) != MTASTS_OK)
        return rc;
    off = put_head(p->blob, MTASTS_POLICY_TYPE_STS, d, dlen, nps, nmx);
    for (i = 0; i < nps + nmx; i++) {
        s = i < nps ? mtasts_policy_line(policy, i, &n)
                    : mtasts_policy_mx(policy, i - nps, &n);
        off += put_item(p->blob + off, s, n);
    }
    policy_seal(p, ret_policy);
    return MTASTS_OK;
}

static size_t
dec_len(unsigned v)
{
    return v >= 100 ? 3 : v >= 10 ? 2 : 1;
}

static size_t
put_dec(unsigned char *b, unsigned v)
{
    size_t n = dec_len(v), i = n;

    while (i-- > 0) {
        b[i] = (unsigned char)('0' + v % 10);
        v /= 10;
    }
    return n;
}

int
mtasts_tlsrpt_policy_build_tlsa(mtasts_ctx *ctx, const char *domain,
                                size_t domain_len, const uint8_t *usage,
                                const uint8_t *selector, const uint8_t *mtype,
                                const uint8_t *const *data,
                                const size_t *data_lens, size_t count,
                                mtasts_tlsrpt_policy **ret_policy)
{
    static const char hex[] = "0123456789ABCDEF";
    char d[MTASTS_DOMAIN_MAX_LEN + 1];
    size_t dlen, i, j, len, off, n;
    mtasts_tlsrpt_policy *p;
    unsigned char *b;
    int rc;

    if (ret_policy != NULL)
        *ret_policy = NULL;
    if (ctx == NULL || ret_policy == NULL || count == 0 || usage == NULL ||
        selector == NULL || mtype == NULL || data == NULL ||
        data_lens == NULL || count > UINT32_MAX)
        return MTASTS_EINVAL;
    for (i = 0; i < count; i++)
        if (data[i] == NULL || data_lens[i] == 0)
            return MTASTS_EINVAL;
    if ((rc = mt_agg_norm_domain(domain, domain_len, d, &dlen)) != MTASTS_OK)
        return rc;
    len = put_head(NULL, 0, d, dlen, 0, 0);
    for (i = 0; i < count; i++) {
        if (data_lens[i] > 65535)
            return MTASTS_ETOOBIG;
        n = dec_len(usage[i]) + dec_len(selector[i]) + dec_len(mtype[i]) + 3 +
            2 * data_lens[i];
        if (len > UINT32_MAX - 4 - n)
            return MTASTS_ETOOBIG;
        len += 4 + n;
    }
    if ((rc = policy_alloc(ctx, len, &p)) != MTASTS_OK)
        return rc;
    off = put_head(p->blob, MTASTS_POLICY_TYPE_TLSA, d, dlen, count, 0);
    for (i = 0; i < count; i++) {
        b = p->blob + off + 4;
        n = put_dec(b, usage[i]);
        b[n++] = ' ';
        n += put_dec(b + n, selector[i]);
        b[n++] = ' ';
        n += put_dec(b + n, mtype[i]);
        b[n++] = ' ';
        for (j = 0; j < data_lens[i]; j++) {
            b[n++] = (unsigned char)hex[data[i][j] >> 4];
            b[n++] = (unsigned char)hex[data[i][j] & 15];
        }
        mt_be_put(p->blob + off, n, 4);
        off += 4 + n;
    }
    policy_seal(p, ret_policy);
    return MTASTS_OK;
}

void
mtasts_tlsrpt_policy_free(mtasts_tlsrpt_policy *policy)
{
    if (policy != NULL)
        mt_free(policy->ctx, policy, policy->size);
}
