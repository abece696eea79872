/*
 * TLSRPT aggregation, output side: the report of a (domain, day) key,
 * export and import of an aggregate, report ids and the generation time.
 * The text checks these need (UTF-8, dot-atom-text, addr-spec) are in
 * text.c.
 *
 * Export format, version 2 (all integers big-endian, no padding):
 *
 *   "MTSTSAGG" (8 bytes), version (1 byte, 2), check (4): the CRC-32
 *   (gzip's) of the 9 bytes before it and of every byte after it, then
 *   the body of version 1.
 *
 * Version 1 (still read; it has no check):
 *
 *   "MTSTSAGG" (8 bytes), version (1 byte, 1), key count (4)
 *   per key, in mtasts_tlsrpt_agg_key() order:
 *     domain length (1), domain (normalised), day (8, Unix seconds of
 *     00:00:00Z, non-negative), policy count (4, at least 1)
 *     per policy entry, in insertion order:
 *       blob length (4), policy blob (tlsrpt_agg_int.h; its domain is the
 *       key's), total-successful-session-count (8),
 *       total-failure-session-count (8), detail count (4)
 *       per failure-details entry, in insertion order:
 *         blob length (4), detail blob, failed-session-count (8)
 *   and nothing after the last key.
 *
 * Import decodes into a staging aggregate (every field checked: the blobs
 * as add() would have made them, no duplicate key, policy or detail, no
 * trailing bytes), then merges it, so any error leaves the target as it
 * was. Bytes of version 2 that fail the check are refused with
 * MTASTS_ECORRUPT before anything is decoded. A future version with
 * another layout gets a new version byte; this one refuses them with
 * MTASTS_EVERSION.
 */
#include "json.h"
#include "tlsrpt_agg_int.h"

static const char agg_magic[8] = {'M', 'T', 'S', 'T', 'S', 'A', 'G', 'G'};
#define AGG_VERSION 2 /* written; 1 (no check) is still read */
#define AGG_HEAD    9 /* magic and version */
#define AGG_CHECK   4

/* ------------------------------------------------------------------ */
/* Blob checks (import)                                                */
/* ------------------------------------------------------------------ */

static int
lower_name_ok(const char *s, size_t n, unsigned flags)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (s[i] >= 'A' && s[i] <= 'Z')
            return 0;
    return mtasts_hostname_check(s, n, flags, NULL) == MTASTS_OK;
}

int
mt_agg_policy_blob_valid(const unsigned char *b, size_t n)
{
    size_t dl, off, len;
    uint64_t nps, nmx, i;
    int type;

    if (n < MT_PB_HEAD)
        return 0;
    type = b[MT_PB_TYPE];
    dl = mt_pb_domain_len(b);
    if (type < MTASTS_POLICY_TYPE_STS ||
        type > MTASTS_POLICY_TYPE_NO_POLICY_FOUND || dl == 0 ||
        dl > MTASTS_DOMAIN_MAX_LEN || MT_PB_HEAD + dl > n ||
        !lower_name_ok(mt_pb_domain(b), dl, 0))
        return 0;
    nps = mt_pb_nps(b, dl);
    nmx = mt_pb_nmx(b, dl);
    if ((type == MTASTS_POLICY_TYPE_NO_POLICY_FOUND && (nps | nmx) != 0) ||
        (type == MTASTS_POLICY_TYPE_TLSA && (nps == 0 || nmx != 0)))
        return 0;
    off = MT_PB_HEAD + dl;
    for (i = 0; i < nps + nmx; i++) {
        const char *s = (const char *)b + off + 4;
        if (n - off < 4)
            return 0;
        len = (size_t)mt_be_get(b + off, 4);
        if (len > n - off - 4 || !mt_utf8_ok(s, len) ||
            (i >= nps && !lower_name_ok(s, len, MTASTS_HOST_F_WILDCARD)))
            return 0;
        off += 4 + len;
    }
    return off == n;
}

int
mt_agg_detail_blob_valid(const unsigned char *b, size_t n)
{
    size_t off = 1, f, len;
    unsigned r;
    char c6[46];

    if (n < 1 + 4 * MT_DET_FIELDS || (r = b[0]) > MT_RESULT_MAX)
        return 0;
    for (f = 0; f < MT_DET_FIELDS; f++) {
        const char *s = (const char *)b + off + 4;
        uint64_t v;
        if (n - off < 4)
            return 0;
        v = mt_be_get(b + off, 4);
        off += 4;
        if (f == 0 && (v == 0) != (r != MTASTS_RESULT_NONE))
            return 0;
        if (v == 0)
            continue;
        len = (size_t)v - 1;
        if (len == 0 || len > n - off)
            return 0;
        switch (f) {
        case 0: {
            int t;
            for (t = 1; t <= MT_RESULT_MAX; t++)
                if (strlen(mtasts_result_type_name(t)) == len &&
                    memcmp(mtasts_result_type_name(t), s, len) == 0)
                    return 0;
            if (!mt_utf8_ok(s, len))
                return 0;
            break;
        }
        case 1:
        case 4:
            if (mt_is_ipv4(s, len))
                break;
            if (mt_ipv6_canon(s, len, c6) != len || memcmp(c6, s, len) != 0)
                return 0;
            break;
        case 2:
            if (!lower_name_ok(s, len, 0))
                return 0;
            break;
        case 5:
            if (!mt_uri_ok(s, len))
                return 0;
            break;
        default:
            if (!mt_utf8_ok(s, len))
                return 0;
            break;
        }
        off += len;
    }
    return off == n;
}

/* ------------------------------------------------------------------ */
/* Reports                                                             */
/* ------------------------------------------------------------------ */

static int64_t
clamp_count(uint64_t v)
{
    /* written saturated at 2^53-1 (RPT-AGG-14) */
    return (int64_t)(v > MT_JSON_MAX_SAFE ? MT_JSON_MAX_SAFE : v);
}

/* Note a warning of a generated report, with the path of the member
 * (detail SIZE_MAX: the policy's summary). */
static void
report_warn(struct mt_rbuild *b, int w, size_t detail, const char *member)
{
    char path[128];
    struct mt_out o;
    size_t n;

    mt_out_init(&o, path, sizeof(path));
    mt_out_str(&o, "policies[");
    mt_out_u64(&o, b->r.npol - 1);
    if (detail == SIZE_MAX) {
        mt_out_str(&o, "].summary.");
    } else {
        mt_out_str(&o, "].failure-details[");
        mt_out_u64(&o, detail);
        mt_out_str(&o, "].");
    }
    mt_out_str(&o, member);
    (void)mt_out_finish(&o, &n);
    b->r.warnings |= MTASTS_WARN_BIT(w);
    if (mt_rbuild_diag(b, w, path, n) != 0)
        b->oom = 1;
}

/* RPT-AGG-14: a count above 2^53-1 is written saturated, with a warning */
static void
saturated(struct mt_rbuild *b, uint64_t v, size_t detail, const char *member)
{
    if (v > MT_JSON_MAX_SAFE)
        report_warn(b, MTASTS_W_COUNTER_SATURATED, detail, member);
}

static void
build_policy(struct mt_rbuild *b, const struct agg_pol *pe)
{
    const unsigned char *blob = pe->blob;
    size_t dl = mt_pb_domain_len(blob), off, i, j, len;
    uint32_t nps = mt_pb_nps(blob, dl);
    uint32_t nmx = mt_pb_nmx(blob, dl);
    struct mt_rpolicy *p = mt_rbuild_policy(b);
    int type = blob[MT_PB_TYPE];

    if (p == NULL)
        return;
    p->type = (uint8_t)type;
    p->type_text = mt_rbuild_str(b, mt_policy_type_names[type],
                                 strlen(mt_policy_type_names[type]));
    p->domain = mt_rbuild_str(b, mt_pb_domain(blob), dl);
    if (type != MTASTS_POLICY_TYPE_NO_POLICY_FOUND)
        p->flags |= MT_POL_HAS_PS;
    if (type == MTASTS_POLICY_TYPE_STS)
        p->flags |= MT_POL_HAS_MX;
    p->ps_start = (uint32_t)b->r.nfld;
    p->ps_count = nps;
    p->mx_start = (uint32_t)b->r.nfld + nps;
    p->mx_count = nmx;
    off = MT_PB_HEAD + dl;
    for (i = 0; i < (size_t)nps + nmx; i++) {
        len = (size_t)mt_be_get(blob + off, 4);
        (void)mt_rbuild_field(
            b, mt_rbuild_str(b, (const char *)blob + off + 4, len));
        off += 4 + len;
    }
    p->success = clamp_count(pe->success);
    p->failure = clamp_count(pe->failure);
    saturated(b, pe->success, SIZE_MAX, "total-successful-session-count");
    saturated(b, pe->failure, SIZE_MAX, "total-failure-session-count");
    p->det_start = (uint32_t)b->r.ndet;
    for (i = 0; i < pe->ndets; i++) {
        const struct agg_det *ad = pe->dets[i];
        struct mt_rdetail *d = mt_rbuild_detail(b);
        if (d == NULL)
            return;
        d->failed = clamp_count(ad->count);
        saturated(b, ad->count, i, "failed-session-count");
        d->fstart = (uint32_t)b->r.nfld;
        d->result = ad->blob[0];
        for (j = 0, off = 1; j < MT_DET_FIELDS; j++) {
            uint64_t v = mt_be_get(ad->blob + off, 4);
            off += 4;
            /* a registered result-type is d->result alone (no text) */
            if (v == 0)
                continue;
            (void)mt_rbuild_field(
                b,
                mt_rbuild_str(b, (const char *)ad->blob + off, (size_t)v - 1));
            off += (size_t)v - 1;
            d->mask = (uint8_t)(d->mask | (1u << j));
        }
        /* RPT-JSON-18: these SHOULD carry a reason code */
        if ((d->result == MTASTS_RESULT_CERTIFICATE_NOT_TRUSTED ||
             d->result == MTASTS_RESULT_VALIDATION_FAILURE) &&
            !(d->mask & (1u << (MTASTS_RF_REASON_CODE - MT_DET_FIRST))))
            report_warn(b, MTASTS_W_NO_REASON_CODE, i, "failure-reason-code");
        p->det_count++;
    }
}

int
mtasts_tlsrpt_report_build(const mtasts_tlsrpt_agg *agg, const char *domain,
                           size_t domain_len, int64_t day, const char *org,
                           size_t org_len, const char *contact,
                           size_t contact_len, const char *report_id,
                           size_t report_id_len,
                           mtasts_tlsrpt_report **ret_report)
{
    char d[MTASTS_DOMAIN_MAX_LEN + 1];
    const struct agg_key *k;
    struct mt_rbuild b;
    size_t dlen, i, hint = 256;
    int rc, failed = 0;

    if (ret_report != NULL)
        *ret_report = NULL;
    if (agg == NULL || ret_report == NULL || (domain == NULL && domain_len) ||
        org == NULL || contact == NULL || report_id == NULL || day < 0 ||
        day > MT_AGG_TIME_MAX)
        return MTASTS_EINVAL;
    if (mtasts_domain_normalize(domain, domain_len, d, sizeof(d), &dlen) != 0)
        return MTASTS_NONE; /* cannot be a key */
    k = mt_agg_key_find(agg, d, dlen, day - day % MT_AGG_DAY);
    if (k == NULL)
        return MTASTS_NONE;
    for (i = 0; i < k->npols; i++) {
        if (k->pols[i]->failure > 0 || k->pols[i]->ndets > 0)
            failed = 1;
        hint += k->pols[i]->blob_len + 64;
        if (k->pols[i]->ndets > 0)
            hint += k->pols[i]->ndets * (k->pols[i]->dets[0]->blob_len + 32);
    }
    if (agg->failures_only && !failed)
        return MTASTS_NONE;
    if (!mt_utf8_ok(org, org_len) || !mt_addr_spec_ok(contact, contact_len) ||
        !mt_dot_atom_ok(report_id, report_id_len))
        return MTASTS_ESYNTAX;
    mt_rbuild_init(&b, agg->ctx, hint * 2);
    b.r.org = mt_rbuild_str(&b, org, org_len);
    b.r.contact = mt_rbuild_str(&b, contact, contact_len);
    b.r.report_id = mt_rbuild_str(&b, report_id, report_id_len);
    b.r.start = k->day;
    b.r.end = k->day + MT_AGG_DAY - 1; /* E-12 */
    for (i = 0; i < k->npols && !b.oom; i++)
        build_policy(&b, k->pols[i]);
    rc = mt_rbuild_finish(&b, ret_report);
    mt_rbuild_fini(&b);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Export and import                                                   */
/* ------------------------------------------------------------------ */

int
mtasts_tlsrpt_agg_encode(const mtasts_tlsrpt_agg *agg, mtasts_buf **ret_bytes)
{
    size_t len = AGG_HEAD + AGG_CHECK + 4, i, j, m, off;
    unsigned char *o;
    mtasts_buf *buf;

    if (ret_bytes != NULL)
        *ret_bytes = NULL;
    if (agg == NULL || ret_bytes == NULL || agg->nkeys > UINT32_MAX)
        return MTASTS_EINVAL;
    mt_agg_sort(agg);
    /* every size below is bounded by memory the aggregate holds */
    for (i = 0; i < agg->nkeys; i++) {
        const struct agg_key *k = agg->keys[i];
        len += 1 + k->dlen + 8 + 4;
        for (j = 0; j < k->npols; j++) {
            len += 4 + k->pols[j]->blob_len + 20;
            for (m = 0; m < k->pols[j]->ndets; m++)
                len += 12 + k->pols[j]->dets[m]->blob_len;
        }
    }
    buf = mt_buf_new(agg->ctx, len);
    if (buf == NULL)
        return MTASTS_ENOMEM;
    o = mt_buf_bytes(buf);
    memcpy(o, agg_magic, sizeof(agg_magic));
    o[8] = AGG_VERSION;
    mt_be_put(o + AGG_HEAD + AGG_CHECK, agg->nkeys, 4);
    off = AGG_HEAD + AGG_CHECK + 4;
    for (i = 0; i < agg->nkeys; i++) {
        const struct agg_key *k = agg->keys[i];
        o[off] = (unsigned char)k->dlen;
        memcpy(o + off + 1, k->domain, k->dlen);
        off += 1 + k->dlen;
        mt_be_put(o + off, (uint64_t)k->day, 8);
        mt_be_put(o + off + 8, k->npols, 4);
        off += 12;
        for (j = 0; j < k->npols; j++) {
            const struct agg_pol *p = k->pols[j];
            mt_be_put(o + off, p->blob_len, 4);
            memcpy(o + off + 4, p->blob, p->blob_len);
            off += 4 + p->blob_len;
            mt_be_put(o + off, p->success, 8);
            mt_be_put(o + off + 8, p->failure, 8);
            mt_be_put(o + off + 16, p->ndets, 4);
            off += 20;
            for (m = 0; m < p->ndets; m++) {
                const struct agg_det *d = p->dets[m];
                mt_be_put(o + off, d->blob_len, 4);
                memcpy(o + off + 4, d->blob, d->blob_len);
                off += 4 + d->blob_len;
                mt_be_put(o + off, d->count, 8);
                off += 8;
            }
        }
    }
    mt_be_put(o + AGG_HEAD,
              mt_crc32(mt_crc32(0, o, AGG_HEAD), o + AGG_HEAD + AGG_CHECK,
                       off - AGG_HEAD - AGG_CHECK),
              AGG_CHECK);
    mt_buf_set_len(buf, off);
    if (mt_buf_finish(&buf, off) != MTASTS_OK) {
        mtasts_buf_free(buf);
        return MTASTS_ENOMEM;
    }
    *ret_bytes = buf;
    return MTASTS_OK;
}

static int
take_int(struct mt_cur *r, unsigned n, uint64_t *v)
{
    const unsigned char *q = mt_cur_take(r, n);

    if (q == NULL)
        return -1;
    *v = mt_be_get(q, n);
    return 0;
}

static int
import_policy(mtasts_tlsrpt_agg *st, struct mt_cur *r, const char *dom,
              size_t dl, int64_t day)
{
    uint64_t len, succ, fail, nd, i, cnt;
    const unsigned char *blob;
    struct agg_pol *p;
    struct agg_det *d;
    int rc, isnew;

    if (take_int(r, 4, &len) != 0 ||
        (blob = mt_cur_take(r, (size_t)len)) == NULL ||
        !mt_agg_policy_blob_valid(blob, (size_t)len) ||
        mt_pb_domain_len(blob) != dl ||
        memcmp(mt_pb_domain(blob), dom, dl) != 0 ||
        take_int(r, 8, &succ) != 0 || take_int(r, 8, &fail) != 0 ||
        take_int(r, 4, &nd) != 0)
        return MTASTS_ESYNTAX;
    rc = mt_agg_pol_get(st, blob, (uint32_t)len,
                        mt_agg_hash(st->seed, blob, (size_t)len), day, 1, &p,
                        &isnew);
    if (rc != MTASTS_OK)
        return rc;
    if (!isnew)
        return MTASTS_ESYNTAX; /* duplicate policy */
    p->success = succ;
    p->failure = fail;
    for (i = 0; i < nd; i++) {
        if (take_int(r, 4, &len) != 0 ||
            (blob = mt_cur_take(r, (size_t)len)) == NULL ||
            !mt_agg_detail_blob_valid(blob, (size_t)len) ||
            take_int(r, 8, &cnt) != 0)
            return MTASTS_ESYNTAX;
        rc = mt_agg_det_get(st, p, blob, (uint32_t)len,
                            mt_agg_hash(st->seed, blob, (size_t)len), &d,
                            &isnew);
        if (rc != MTASTS_OK)
            return rc;
        if (!isnew)
            return MTASTS_ESYNTAX; /* duplicate detail */
        d->count = cnt;
    }
    return MTASTS_OK;
}

static int
import_into(mtasts_tlsrpt_agg *st, struct mt_cur *r)
{
    const unsigned char *q;
    uint64_t nkeys, i, day, npol, j;
    size_t dl;
    int rc;

    q = mt_cur_take(r, AGG_HEAD);
    if (q == NULL || memcmp(q, agg_magic, sizeof(agg_magic)) != 0)
        return MTASTS_ESYNTAX;
    if (q[8] != 1 && q[8] != AGG_VERSION)
        return MTASTS_EVERSION;
    if (q[8] == 2) {
        uint64_t want;
        if (take_int(r, AGG_CHECK, &want) != 0)
            return MTASTS_ESYNTAX;
        if (mt_crc32(mt_crc32(0, r->p, AGG_HEAD), r->p + r->off,
                     r->n - r->off) != (uint32_t)want)
            return MTASTS_ECORRUPT;
    }
    if (take_int(r, 4, &nkeys) != 0)
        return MTASTS_ESYNTAX;
    for (i = 0; i < nkeys; i++) {
        const char *dom;
        if ((q = mt_cur_take(r, 1)) == NULL)
            return MTASTS_ESYNTAX;
        dl = q[0];
        if ((dom = (const char *)mt_cur_take(r, dl)) == NULL ||
            take_int(r, 8, &day) != 0 || take_int(r, 4, &npol) != 0 ||
            npol == 0 || day > (uint64_t)MT_AGG_TIME_MAX || day % MT_AGG_DAY ||
            dl == 0 || !lower_name_ok(dom, dl, 0) ||
            mt_agg_key_find(st, dom, dl, (int64_t)day) != NULL)
            return MTASTS_ESYNTAX;
        for (j = 0; j < npol; j++)
            if ((rc = import_policy(st, r, dom, dl, (int64_t)day)) != 0)
                return rc;
    }
    return r->off == r->n ? MTASTS_OK : MTASTS_ESYNTAX;
}

int
mtasts_tlsrpt_agg_decode(mtasts_tlsrpt_agg *agg, const uint8_t *buf, size_t len)
{
    mtasts_tlsrpt_agg *st;
    struct mt_cur r;
    int rc;

    if (agg == NULL || (buf == NULL && len > 0))
        return MTASTS_EINVAL;
    mt_cur_init(&r, buf, len);
    rc = mt_agg_new_staging(agg->ctx, agg->max_bytes, &st);
    if (rc != MTASTS_OK)
        return rc;
    rc = import_into(st, &r);
    if (rc == MTASTS_OK)
        rc = mtasts_tlsrpt_agg_merge(agg, st);
    mtasts_tlsrpt_agg_free(st);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Report ids and generation time                                      */
/* ------------------------------------------------------------------ */

int
mtasts_tlsrpt_report_id_generate(int64_t day, const char *domain,
                                 size_t domain_len, uint64_t random, char *dst,
                                 size_t dst_len, size_t *ret_needed)
{
    static const char hex[] = "0123456789abcdef";
    char d[MTASTS_DOMAIN_MAX_LEN + 1], date[20], ymd[8], rnd[16];
    struct mt_out o;
    size_t dlen;
    int rc, i;

    if ((dst == NULL && dst_len > 0) || (domain == NULL && domain_len > 0) ||
        day < 0 || day > MT_AGG_TIME_MAX)
        return MTASTS_EINVAL;
    rc = mtasts_domain_normalize(domain, domain_len, d, sizeof(d), &dlen);
    if (rc != MTASTS_OK)
        return rc;
    if (mt_datetime_format(day, date) != 0)
        return MTASTS_EINVAL;
    memcpy(ymd, date, 4);
    memcpy(ymd + 4, date + 5, 2);
    memcpy(ymd + 6, date + 8, 2);
    for (i = 15; i >= 0; i--) {
        rnd[i] = hex[random & 15];
        random >>= 4;
    }
    mt_out_init(&o, dst, dst_len);
    mt_out_put(&o, ymd, sizeof(ymd));
    mt_out_put(&o, ".", 1);
    mt_out_put(&o, d, dlen);
    mt_out_put(&o, ".", 1);
    mt_out_put(&o, rnd, sizeof(rnd));
    return mt_out_finish(&o, ret_needed);
}

int64_t
mtasts_tlsrpt_generation_time(int64_t day, uint32_t random)
{
    /* days outside 1970..9999 are clamped into it */
    if (day < 0)
        day = 0;
    if (day > MT_AGG_TIME_MAX)
        day = MT_AGG_TIME_MAX;
    day -= day % MT_AGG_DAY;
    return day + MT_AGG_DAY + 1 + (int64_t)(random % 14400);
}
