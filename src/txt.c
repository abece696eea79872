/*
 * TXT RRsets: choosing the one record of a kind (RFC 8461 3.1, RFC 8460 3)
 * among the records a resolver returned, with their strings kept apart.
 * Shared by the _mta-sts and _smtp._tls selections, which differ only in
 * the version tag and the parser of the chosen record.
 */
#include "internal.h"

/* E-2: a record is a candidate iff it starts with tag, then *WSP, then
 * ";". The strings are examined in place, without joining. */
static int
is_candidate(const char *tag, size_t tag_len, const char *const *strs,
             const size_t *lens, size_t nstr)
{
    size_t have = 0, i, j;

    for (i = 0; i < nstr; i++) {
        for (j = 0; j < lens[i]; j++) {
            char c = strs[i][j];
            if (have < tag_len) {
                if (c != tag[have++])
                    return 0;
            } else if (c == ';') {
                return 1;
            } else if (!MT_IS(c, MT_C_WSP)) {
                return 0;
            }
        }
    }
    return 0;
}

int
mt_txt_select(mtasts_ctx *ctx, const char *tag, size_t tag_len,
              const char *const *strs, const size_t *str_lens,
              const size_t *rr_nstr, size_t rr_count, unsigned flags,
              int *ret_outcome, mt_txt_parse_fn parse, void *arg,
              struct mtasts_diag *reterr)
{
    size_t i, j, first = 0, pos = 0, found = 0, total = 0, cand_pos = 0;
    size_t limit = ctx->limits[MTASTS_LIMIT_TXT_SIZE];
    char *joined;
    int rc;

    if (rr_count > 0 && rr_nstr == NULL)
        return MTASTS_EINVAL;
    for (i = 0; i < rr_count; i++) {
        size_t ns = rr_nstr[i];
        if (ns > 0 && (strs == NULL || str_lens == NULL))
            return MTASTS_EINVAL;
        for (j = 0; j < ns; j++)
            if (strs[pos + j] == NULL && str_lens[pos + j] > 0)
                return MTASTS_EINVAL;
        /* a record with no string is no candidate (and strs may be NULL) */
        if (ns > 0 &&
            is_candidate(tag, tag_len, strs + pos, str_lens + pos, ns)) {
            found++;
            first = i;
            cand_pos = pos;
        }
        pos += ns;
    }
    if (found != 1) {
        *ret_outcome = found == 0 ? MTASTS_SELECT_NONE : MTASTS_SELECT_MULTIPLE;
        mt_diag_fail(reterr, 0,
                     found == 0 ? MTASTS_R_NOT_FOUND : MTASTS_R_MULTIPLE, 0,
                     NULL, 0);
        return MTASTS_OK;
    }
    if (rr_nstr[first] == 1) {
        /* the common case: one string, nothing to join */
        rc = parse(ctx, strs[cand_pos], str_lens[cand_pos], flags, arg, reterr);
    } else {
        /* join the strings of the one candidate (STS-TXT-11, RPT-TXT-9),
         * refusing more than the limit before allocating */
        for (j = 0; j < rr_nstr[first]; j++) {
            size_t l = str_lens[cand_pos + j];
            if (l > limit - total) {
                *ret_outcome = MTASTS_SELECT_INVALID;
                mt_diag_fail(reterr, MTASTS_ETOOBIG, MTASTS_R_TOO_BIG, limit,
                             NULL, 0);
                return MTASTS_OK;
            }
            total += l;
        }
        joined = mt_alloc(ctx, total + 1);
        if (joined == NULL)
            return mt_nomem(reterr);
        pos = 0;
        for (j = 0; j < rr_nstr[first]; j++) {
            size_t l = str_lens[cand_pos + j];
            if (l > 0)
                memcpy(joined + pos, strs[cand_pos + j], l);
            pos += l;
        }
        rc = parse(ctx, joined, total, flags, arg, reterr);
        mt_free(ctx, joined, total + 1);
    }
    if (rc == MTASTS_ENOMEM)
        return rc;
    *ret_outcome =
        rc == MTASTS_OK ? MTASTS_SELECT_FOUND : MTASTS_SELECT_INVALID;
    return MTASTS_OK;
}

int
mt_kv_get(const struct kv_span *kv, size_t count, size_t i,
          const char **ret_name, size_t *ret_name_len, const char **ret_value,
          size_t *ret_value_len)
{
    if (i >= count)
        return MTASTS_EINVAL;
    if (ret_name != NULL)
        *ret_name = kv[i].name;
    if (ret_name_len != NULL)
        *ret_name_len = kv[i].name_len;
    if (ret_value != NULL)
        *ret_value = kv[i].value;
    if (ret_value_len != NULL)
        *ret_value_len = kv[i].value_len;
    return MTASTS_OK;
}

static char *
put_str(char *dst, const char *src, size_t n)
{
    memcpy(dst, src, n);
    dst[n] = '\0';
    return dst + n + 1;
}

char *
mt_kv_copy(struct kv_span *kv, size_t count, char *dst)
{
    size_t i;

    for (i = 0; i < count; i++) {
        const char *nm = kv[i].name, *v = kv[i].value;
        kv[i].name = dst;
        dst = put_str(dst, nm, kv[i].name_len);
        kv[i].value = dst;
        dst = put_str(dst, v, kv[i].value_len);
    }
    return dst;
}
