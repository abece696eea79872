/*
 * TLSRPT reports (RFC 8460 section 4.4) to JSON: the canonical serializer
 * writes the members in the order of doc/requirements.md section 1.6,
 * through the writer of json_write.c. The reader is tlsrpt_json_read.c.
 */
#include "json.h"
#include "tlsrpt_int.h"

/* ------------------------------------------------------------------ */
/* Serialize                                                           */
/* ------------------------------------------------------------------ */

#define KEY(w, s) mt_jw_key((w), (s), sizeof(s) - 1)

static void
put_rstr(struct mt_jw *w, const mtasts_tlsrpt_report *r, struct mt_rstr s)
{
    mt_jw_str(w, r->pool + s.off, s.len);
}

static void
put_count(struct mt_jw *w, int64_t v)
{
    if (v < 0)
        v = 0;
    mt_jw_uint(w,
               (uint64_t)v > MT_JSON_MAX_SAFE ? MT_JSON_MAX_SAFE : (uint64_t)v);
}

static void
put_time(struct mt_jw *w, int64_t t)
{
    char d[20];

    if (mt_datetime_format(t, d) != 0)
        (void)mt_datetime_format(0, d);
    mt_jw_str(w, d, sizeof(d));
}

static void
put_list(struct mt_jw *w, const mtasts_tlsrpt_report *r, uint32_t start,
         uint32_t count)
{
    uint32_t i;

    mt_jw_begin(w, '[');
    for (i = 0; i < count; i++)
        put_rstr(w, r, r->fld[start + i]);
    mt_jw_end(w, ']');
}

static const char *const detail_keys[MT_DET_TEXTS] = {
    "result-type",         "sending-mta-ip", "receiving-mx-hostname",
    "receiving-mx-helo",   "receiving-ip",   "additional-information",
    "failure-reason-code",
};

static void
put_detail(struct mt_jw *w, const mtasts_tlsrpt_report *r,
           const struct mt_rdetail *d)
{
    size_t k = d->fstart; /* its next text in fld[] */
    unsigned i;
    char c6[46];
    size_t n6;

    mt_jw_begin(w, '{');
    for (i = 0; i < MT_DET_TEXTS; i++) {
        const struct mt_rstr *s;
        if (i == MTASTS_RF_ADDITIONAL - MT_DET_FIRST) {
            KEY(w, "failed-session-count");
            put_count(w, d->failed);
        }
        if (i == MTASTS_RF_RESULT_TYPE - MT_DET_FIRST &&
            d->result != MTASTS_RESULT_NONE) {
            const char *n = mtasts_result_type_name(d->result);
            mt_jw_key(w, detail_keys[i], strlen(detail_keys[i]));
            mt_jw_str(w, n, strlen(n));
            continue;
        }
        if (!(d->mask & (1u << i)))
            continue;
        s = &r->fld[k++];
        mt_jw_key(w, detail_keys[i], strlen(detail_keys[i]));
        if ((i == MTASTS_RF_SENDING_IP - MT_DET_FIRST ||
             i == MTASTS_RF_RECEIVING_IP - MT_DET_FIRST) &&
            !mt_is_ipv4(r->pool + s->off, s->len) &&
            (n6 = mt_ipv6_canon(r->pool + s->off, s->len, c6)) > 0) {
            mt_jw_str(w, c6, n6);
        } else
            put_rstr(w, r, *s);
    }
    mt_jw_end(w, '}');
}

int
mtasts_tlsrpt_report_format(const mtasts_tlsrpt_report *report, unsigned flags,
                            mtasts_buf **ret_json)
{
    struct mt_jw w;
    size_t i, k;

    if (ret_json != NULL)
        *ret_json = NULL;
    if (report == NULL || ret_json == NULL ||
        (flags & ~(unsigned)MTASTS_JSON_F_PRETTY) != 0)
        return MTASTS_EINVAL;
    if (mt_jw_init(&w, report->ctx,
                   report->pool_len + 64 * report->nfld + 256 * report->npol +
                       128 * report->ndet,
                   (flags & MTASTS_JSON_F_PRETTY) != 0) != MTASTS_OK)
        return MTASTS_ENOMEM;
    mt_jw_begin(&w, '{');
    KEY(&w, "organization-name");
    put_rstr(&w, report, report->org);
    KEY(&w, "date-range");
    mt_jw_begin(&w, '{');
    KEY(&w, "start-datetime");
    put_time(&w, report->start);
    KEY(&w, "end-datetime");
    put_time(&w, report->end);
    mt_jw_end(&w, '}');
    KEY(&w, "contact-info");
    if (report->contact.off != MT_RSTR_NONE)
        put_rstr(&w, report, report->contact);
    else
        mt_jw_raw_value(&w, "null", 4); /* as read (E-18) */
    KEY(&w, "report-id");
    put_rstr(&w, report, report->report_id);
    KEY(&w, "policies");
    mt_jw_begin(&w, '[');
    for (i = 0; i < report->npol; i++) {
        const struct mt_rpolicy *p = &report->pol[i];
        mt_jw_begin(&w, '{');
        KEY(&w, "policy");
        mt_jw_begin(&w, '{');
        KEY(&w, "policy-type");
        if (p->type != MTASTS_POLICY_TYPE_UNKNOWN)
            mt_jw_str(&w, mt_policy_type_names[p->type],
                      strlen(mt_policy_type_names[p->type]));
        else
            put_rstr(&w, report, p->type_text);
        if (p->flags & MT_POL_HAS_PS) {
            KEY(&w, "policy-string");
            put_list(&w, report, p->ps_start, p->ps_count);
        }
        if (p->domain.off != MT_RSTR_NONE) {
            KEY(&w, "policy-domain");
            put_rstr(&w, report, p->domain);
        }
        if (p->flags & MT_POL_HAS_MX) {
            KEY(&w, "mx-host");
            put_list(&w, report, p->mx_start, p->mx_count);
        }
        mt_jw_end(&w, '}');
        KEY(&w, "summary");
        mt_jw_begin(&w, '{');
        KEY(&w, "total-successful-session-count");
        put_count(&w, p->success);
        KEY(&w, "total-failure-session-count");
        put_count(&w, p->failure);
        mt_jw_end(&w, '}');
        KEY(&w, "failure-details");
        mt_jw_begin(&w, '[');
        for (k = 0; k < p->det_count; k++)
            put_detail(&w, report, &report->det[p->det_start + k]);
        mt_jw_end(&w, ']');
        mt_jw_end(&w, '}');
    }
    mt_jw_end(&w, ']');
    mt_jw_end(&w, '}');
    if (w.pretty)
        mt_jw_raw(&w, "\n", 1);
    return mt_jw_finish(&w, ret_json);
}
