/*
 * The delivery form of a TLS report (RFC 8460 section 5): the report file
 * name, the e-mail Subject, the report e-mail itself, the HTTPS POST body
 * and the retry schedule. The receiving side (reading a report e-mail) is
 * in tlsrpt_ingest.c.
 */
#include "tlsrpt_int.h"

/* ------------------------------------------------------------------ */
/* File name (RPT-DELIV-1..3)                                          */
/* ------------------------------------------------------------------ */

/* A name part that must be an A-label domain: 0, MTASTS_ESYNTAX or
 * MTASTS_ENONASCII. */
static int
domain_part_check(const char *s, size_t n)
{
    int reason = 0, rc;
    size_t off = 0;

    rc = mt_hostname_check(s, n, 0, &reason, &off);
    if (rc == MTASTS_ENONASCII)
        return rc;
    return rc == MTASTS_OK ? MTASTS_OK : MTASTS_ESYNTAX;
}

static int
alnum_ok(const char *s, size_t n)
{
    size_t i;

    if (n == 0)
        return 0;
    for (i = 0; i < n; i++)
        if (!MT_IS(s[i], MT_ALNUM))
            return 0;
    return 1;
}

int
mtasts_tlsrpt_filename_format(const struct mtasts_tlsrpt_filename *fn,
                              char *dst, size_t dst_len, size_t *ret_needed)
{
    struct mt_out o;
    int rc;

    if (fn == NULL)
        return MTASTS_EINVAL;
    if (fn->version != MTASTS_FILENAME_VERSION)
        return MTASTS_EVERSION;
    if ((fn->sender == NULL && fn->sender_len > 0) ||
        (fn->policy_domain == NULL && fn->policy_domain_len > 0) ||
        (fn->unique_id == NULL && fn->unique_id_len > 0) ||
        (dst == NULL && dst_len > 0) || fn->begin < 0 || fn->end < fn->begin)
        return MTASTS_EINVAL;
    rc = domain_part_check(fn->sender, fn->sender_len);
    if (rc == MTASTS_OK)
        rc = domain_part_check(fn->policy_domain, fn->policy_domain_len);
    if (rc != MTASTS_OK)
        return rc;
    if (fn->unique_id_len > 0 && !alnum_ok(fn->unique_id, fn->unique_id_len))
        return MTASTS_ESYNTAX;
    mt_out_init(&o, dst, dst_len);
    mt_out_put(&o, fn->sender, fn->sender_len);
    mt_out_put(&o, "!", 1);
    mt_out_put(&o, fn->policy_domain, fn->policy_domain_len);
    mt_out_put(&o, "!", 1);
    mt_out_u64(&o, (uint64_t)fn->begin);
    mt_out_put(&o, "!", 1);
    mt_out_u64(&o, (uint64_t)fn->end);
    if (fn->unique_id_len > 0) {
        mt_out_put(&o, "!", 1);
        mt_out_put(&o, fn->unique_id, fn->unique_id_len);
    }
    mt_out_str(&o, fn->gzip ? ".json.gz" : ".json");
    return mt_out_finish(&o, ret_needed);
}

/* 1*DIGIT to a non-negative int64; 0 or -1 (empty, not digits, too big). */
static int
parse_u63(const char *s, size_t n, int64_t *ret)
{
    int64_t v = 0;
    size_t i;

    if (n == 0)
        return -1;
    for (i = 0; i < n; i++) {
        if (!MT_IS(s[i], MT_C_DIGIT))
            return -1;
        if (v > (INT64_MAX - 9) / 10)
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *ret = v;
    return 0;
}

int
mtasts_tlsrpt_filename_parse(const char *name, size_t len,
                             struct mtasts_tlsrpt_filename *ret)
{
    const char *f[5];
    size_t fl[5], nf = 0, i, start = 0, base;
    int64_t begin, end;
    int gz;

    if ((name == NULL && len > 0) || ret == NULL)
        return MTASTS_EINVAL;
    if (ret->version != MTASTS_FILENAME_VERSION)
        return MTASTS_EVERSION;
    if (len > 8 && mt_ascii_caseeq(name + len - 8, 8, ".json.gz", 8)) {
        gz = 1;
        base = len - 8;
    } else if (len > 5 && mt_ascii_caseeq(name + len - 5, 5, ".json", 5)) {
        gz = 0;
        base = len - 5;
    } else {
        return MTASTS_ESYNTAX;
    }
    for (i = 0; i <= base; i++) {
        if (i == base || name[i] == '!') {
            if (nf == 5)
                return MTASTS_ESYNTAX;
            f[nf] = name + start;
            fl[nf] = i - start;
            nf++;
            start = i + 1;
        }
    }
    if (nf < 4 || !mt_name_valid(f[0], fl[0]) || !mt_name_valid(f[1], fl[1]) ||
        parse_u63(f[2], fl[2], &begin) != 0 ||
        parse_u63(f[3], fl[3], &end) != 0 ||
        (nf == 5 && !alnum_ok(f[4], fl[4])))
        return MTASTS_ESYNTAX;
    ret->sender = f[0];
    ret->sender_len = fl[0];
    ret->policy_domain = f[1];
    ret->policy_domain_len = fl[1];
    ret->begin = begin;
    ret->end = end;
    ret->unique_id = nf == 5 ? f[4] : NULL;
    ret->unique_id_len = nf == 5 ? fl[4] : 0;
    ret->gzip = gz;
    return MTASTS_OK;
}

/* ------------------------------------------------------------------ */
/* Subject (RPT-DELIV-7)                                               */
/* ------------------------------------------------------------------ */

/* id-left: every byte that is neither atext nor a safe dot as %XX. */
static void
put_id_left(struct mt_out *o, const char *id, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t i;

    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)id[i];
        char esc[3];

        if (mt_is_atext(c) || (c == '.' && i > 0 && i + 1 < n &&
                               id[i - 1] != '.' && id[i + 1] != '.')) {
            mt_out_put(o, id + i, 1);
            continue;
        }
        esc[0] = '%';
        esc[1] = hex[c >> 4];
        esc[2] = hex[c & 15];
        mt_out_put(o, esc, 3);
    }
}

int
mtasts_tlsrpt_subject_format(const char *policy_domain,
                             size_t policy_domain_len, const char *submitter,
                             size_t submitter_len, const char *report_id,
                             size_t report_id_len, char *dst, size_t dst_len,
                             size_t *ret_needed)
{
    struct mt_out o;

    if ((policy_domain == NULL && policy_domain_len > 0) ||
        (submitter == NULL && submitter_len > 0) ||
        (report_id == NULL && report_id_len > 0) ||
        (dst == NULL && dst_len > 0))
        return MTASTS_EINVAL;
    if (!mt_name_valid(policy_domain, policy_domain_len) ||
        !mt_name_valid(submitter, submitter_len) || report_id_len == 0)
        return MTASTS_ESYNTAX;
    mt_out_init(&o, dst, dst_len);
    mt_out_str(&o, "Report Domain: ");
    mt_out_put(&o, policy_domain, policy_domain_len);
    mt_out_str(&o, " Submitter: ");
    mt_out_put(&o, submitter, submitter_len);
    mt_out_str(&o, " Report-ID: <");
    put_id_left(&o, report_id, report_id_len);
    mt_out_put(&o, "@", 1);
    mt_out_put(&o, submitter, submitter_len);
    mt_out_put(&o, ">", 1);
    return mt_out_finish(&o, ret_needed);
}

/* ------------------------------------------------------------------ */
/* The report e-mail (RPT-DELIV-5/6/8)                                 */
/* ------------------------------------------------------------------ */

#define FOLD_AT  78  /* header lines are folded beyond this (RFC 5322) */
#define LINE_MAX 998 /* hard limit of a line, CRLF excluded */
#define B64_LINE 76  /* base64 characters per line (RFC 2045) */

/* The message is built in a struct mt_grow (internal.h). */
static void
mb_str(struct mt_grow *m, const char *s)
{
    mt_grow_put(m, s, strlen(s));
}

/* A header value usable as it is: non-empty printable ASCII (VCHAR and
 * SP/HTAB), not starting or ending with whitespace. */
static int
header_text_ok(const char *s, size_t n)
{
    size_t i;

    if (s == NULL || n == 0 || MT_IS(s[0], MT_C_WSP) ||
        MT_IS(s[n - 1], MT_C_WSP))
        return 0;
    for (i = 0; i < n; i++)
        if (!MT_IS(s[i], MT_C_VCHAR) && !MT_IS(s[i], MT_C_WSP))
            return 0;
    return 1;
}

/* Write "name: value" CRLF, folding before a space when the line would
 * pass FOLD_AT and a space is available. Returns MTASTS_ESYNTAX when a
 * line still exceeds LINE_MAX. */
static int
mb_header(struct mt_grow *m, const char *name, const char *value, size_t vlen)
{
    size_t col, i = 0;

    mb_str(m, name);
    mt_grow_put(m, ": ", 2);
    col = strlen(name) + 2;
    while (i < vlen) {
        /* the next word: up to (not including) the next space */
        size_t j = i + 1;

        while (j < vlen && value[j] != ' ')
            j++;
        if (value[i] == ' ' && col + (j - i) > FOLD_AT && col > 1) {
            mt_grow_put(m, "\r\n", 2);
            col = 0;
        }
        if (col + (j - i) > LINE_MAX)
            return MTASTS_ESYNTAX;
        mt_grow_put(m, value + i, j - i);
        col += j - i;
        i = j;
    }
    mt_grow_put(m, "\r\n", 2);
    return MTASTS_OK;
}

static void
mb_base64(struct mt_grow *m, const uint8_t *p, size_t n)
{
    static const char tab[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char line[B64_LINE + 2];
    size_t i = 0, k = 0;

    while (i < n) {
        uint32_t v = (uint32_t)p[i] << 16;
        size_t left = n - i;

        if (left > 1)
            v |= (uint32_t)p[i + 1] << 8;
        if (left > 2)
            v |= p[i + 2];
        line[k++] = tab[(v >> 18) & 63];
        line[k++] = tab[(v >> 12) & 63];
        line[k++] = left > 1 ? tab[(v >> 6) & 63] : '=';
        line[k++] = left > 2 ? tab[v & 63] : '=';
        i += left > 2 ? 3 : left;
        if (k == B64_LINE || i >= n) {
            line[k++] = '\r';
            line[k++] = '\n';
            mt_grow_put(m, line, k);
            k = 0;
        }
    }
}

/* FNV-1a, for the deterministic MIME boundary. */
static uint64_t
fnv1a(uint64_t h, const uint8_t *p, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        h ^= p[i];
        h *= UINT64_C(0x100000001b3);
    }
    return h;
}

/* The domain of the report's contact-info (after the last '@'), or NULL. */
static const char *
contact_domain(const mtasts_tlsrpt_report *report, size_t *ret_len)
{
    size_t n = 0, i;
    const char *c =
        mtasts_tlsrpt_report_text(report, MTASTS_RF_CONTACT, 0, 0, &n);

    if (c == NULL)
        return NULL;
    for (i = n; i > 0; i--) {
        if (c[i - 1] == '@') {
            *ret_len = n - i;
            return c + i;
        }
    }
    return NULL;
}

/* The report as JSON, gzip-compressed when asked. */
static int
report_payload(const mtasts_tlsrpt_report *report, unsigned flags,
               mtasts_buf **ret)
{
    mtasts_buf *json = NULL;
    const uint8_t *p;
    size_t n = 0;
    int rc;

    rc = mtasts_tlsrpt_report_format(report, 0, &json);
    if (rc != MTASTS_OK)
        return rc;
    if ((flags & MTASTS_DELIVER_F_GZIP) == 0) {
        *ret = json;
        return MTASTS_OK;
    }
    p = mtasts_buf_data(json, &n);
    rc = mtasts_gzip(report->ctx, p, n, 9, ret);
    mtasts_buf_free(json);
    return rc;
}

int
mtasts_tlsrpt_mail_build(const mtasts_tlsrpt_report *report,
                         const struct mtasts_tlsrpt_mail_fields *fields,
                         unsigned flags, mtasts_buf **ret_message)
{
    struct mtasts_tlsrpt_filename fnm;
    char fname[2 * MTASTS_DOMAIN_MAX_LEN + 64], bnd[40];
    const char *cdom, *pdom, *rid;
    char *subject = NULL;
    size_t cdom_len = 0, pdom_len = 0, rid_len = 0, sub_len = 0, fn_len = 0;
    size_t plen = 0, i;
    mtasts_buf *payload = NULL;
    const uint8_t *pbytes;
    struct mt_grow m = {NULL, NULL, 0, 0, 0};
    uint64_t h;
    int rc;

    if (ret_message != NULL)
        *ret_message = NULL;
    if (report == NULL || fields == NULL || ret_message == NULL ||
        (flags & ~(unsigned)MTASTS_DELIVER_F_GZIP) != 0)
        return MTASTS_EINVAL;
    if (fields->version != MTASTS_MAIL_FIELDS_VERSION)
        return MTASTS_EVERSION;
    if (fields->submitter == NULL)
        return MTASTS_ESYNTAX;
    cdom = contact_domain(report, &cdom_len);
    pdom = mtasts_tlsrpt_report_text(report, MTASTS_RF_POLICY_DOMAIN, 0, 0,
                                     &pdom_len);
    rid =
        mtasts_tlsrpt_report_text(report, MTASTS_RF_REPORT_ID, 0, 0, &rid_len);
    if (cdom == NULL || pdom == NULL || rid == NULL ||
        !mt_name_valid(fields->submitter, fields->submitter_len) ||
        !mt_ascii_caseeq(fields->submitter, fields->submitter_len, cdom,
                         cdom_len) ||
        !header_text_ok(fields->from, fields->from_len) ||
        !header_text_ok(fields->to, fields->to_len) ||
        !header_text_ok(fields->date, fields->date_len) ||
        !header_text_ok(fields->message_id, fields->message_id_len) ||
        memchr(fields->message_id, '@', fields->message_id_len) == NULL ||
        memchr(fields->message_id, '<', fields->message_id_len) != NULL ||
        memchr(fields->message_id, '>', fields->message_id_len) != NULL ||
        memchr(fields->message_id, ' ', fields->message_id_len) != NULL ||
        memchr(fields->message_id, '\t', fields->message_id_len) != NULL)
        return MTASTS_ESYNTAX;
    memset(&fnm, 0, sizeof(fnm));
    fnm.version = MTASTS_FILENAME_VERSION;
    fnm.sender = fields->submitter;
    fnm.sender_len = fields->submitter_len;
    fnm.policy_domain = pdom;
    fnm.policy_domain_len = pdom_len;
    fnm.begin = report->start;
    fnm.end = report->end;
    fnm.gzip = (flags & MTASTS_DELIVER_F_GZIP) != 0;
    rc = mtasts_tlsrpt_filename_format(&fnm, fname, sizeof(fname), &fn_len);
    if (rc == MTASTS_ENONASCII || rc == MTASTS_EINVAL)
        rc = MTASTS_ESYNTAX; /* a policy domain or date range unusable */
    if (rc != MTASTS_OK)
        return rc;
    rc = mtasts_tlsrpt_subject_format(pdom, pdom_len, fields->submitter,
                                      fields->submitter_len, rid, rid_len, NULL,
                                      0, &sub_len);
    if (rc != MTASTS_ERANGE && rc != MTASTS_OK)
        return rc;
    subject = mt_alloc(report->ctx, sub_len + 1);
    if (subject == NULL)
        return MTASTS_ENOMEM;
    (void)mtasts_tlsrpt_subject_format(pdom, pdom_len, fields->submitter,
                                       fields->submitter_len, rid, rid_len,
                                       subject, sub_len + 1, NULL);
    rc = report_payload(report, flags, &payload);
    if (rc != MTASTS_OK)
        goto out;
    pbytes = mtasts_buf_data(payload, &plen);

    /* boundary: "=_" never occurs in base64 or in the fixed text part */
    h = fnv1a(UINT64_C(0xcbf29ce484222325), pbytes, plen);
    h = fnv1a(h, (const uint8_t *)fname, fn_len);
    memcpy(bnd, "=_tlsrpt_", 9);
    for (i = 0; i < 16; i++)
        bnd[9 + i] = "0123456789abcdef"[(h >> (60 - 4 * i)) & 15];
    bnd[25] = '\0';

    if ((rc = mt_grow_init(&m, report->ctx,
                           plen / 3 * 4 + plen / 57 * 2 + 2048 + sub_len +
                               fn_len + fields->from_len + fields->to_len +
                               fields->date_len + fields->message_id_len)) !=
        MTASTS_OK)
        goto out;
    if ((rc = mb_header(&m, "From", fields->from, fields->from_len)) !=
            MTASTS_OK ||
        (rc = mb_header(&m, "To", fields->to, fields->to_len)) != MTASTS_OK ||
        (rc = mb_header(&m, "Date", fields->date, fields->date_len)) !=
            MTASTS_OK ||
        (rc = mb_header(&m, "Subject", subject, sub_len)) != MTASTS_OK)
        goto out;
    mb_str(&m, "Message-ID: <");
    if (fields->message_id_len + 15 > LINE_MAX) {
        rc = MTASTS_ESYNTAX;
        goto out;
    }
    mt_grow_put(&m, fields->message_id, fields->message_id_len);
    mb_str(&m, ">\r\nMIME-Version: 1.0\r\n"
               "Content-Type: multipart/report; report-type=\"tlsrpt\";\r\n"
               "\tboundary=\"");
    mb_str(&m, bnd);
    mb_str(&m, "\"\r\nTLS-Report-Domain: ");
    mt_grow_put(&m, pdom, pdom_len);
    mb_str(&m, "\r\nTLS-Report-Submitter: ");
    mt_grow_put(&m, fields->submitter, fields->submitter_len);
    mb_str(&m, "\r\n\r\nThis is a multipart message in MIME format.\r\n\r\n--");
    mb_str(&m, bnd);
    mb_str(&m, "\r\nContent-Type: text/plain; charset=\"us-ascii\"\r\n"
               "Content-Transfer-Encoding: 7bit\r\n\r\n"
               "This is an aggregate TLS report from ");
    mt_grow_put(&m, fields->submitter, fields->submitter_len);
    mb_str(&m, ".\r\n\r\n--");
    mb_str(&m, bnd);
    mb_str(&m, (flags & MTASTS_DELIVER_F_GZIP) != 0
                   ? "\r\nContent-Type: application/tlsrpt+gzip\r\n"
                   : "\r\nContent-Type: application/tlsrpt+json\r\n");
    mb_str(&m, "Content-Transfer-Encoding: base64\r\n"
               "Content-Disposition: attachment;\r\n\tfilename=\"");
    mt_grow_put(&m, fname, fn_len);
    mb_str(&m, "\"\r\n\r\n");
    mb_base64(&m, pbytes, plen);
    mb_str(&m, "\r\n--");
    mb_str(&m, bnd);
    mb_str(&m, "--\r\n");
    rc = mt_grow_finish(&m, ret_message);
out:
    mt_grow_abort(&m);
    mtasts_buf_free(payload);
    mt_free(report->ctx, subject, sub_len + 1);
    return rc;
}

const char *
mtasts_tlsrpt_dkim_headers(void)
{
    return "From:To:Date:Subject:Message-ID:MIME-Version:Content-Type:"
           "TLS-Report-Domain:TLS-Report-Submitter";
}

/* ------------------------------------------------------------------ */
/* HTTPS delivery and retries (RPT-DELIV-9, 11, 13)                    */
/* ------------------------------------------------------------------ */

int
mtasts_tlsrpt_https_body_build(const mtasts_tlsrpt_report *report,
                               unsigned flags, mtasts_buf **ret_body,
                               const char **ret_content_type,
                               size_t *ret_content_type_len)
{
    const char *ct = (flags & MTASTS_DELIVER_F_GZIP) != 0
                         ? "application/tlsrpt+gzip"
                         : "application/tlsrpt+json";
    int rc;

    if (ret_body != NULL)
        *ret_body = NULL;
    if (report == NULL || ret_body == NULL ||
        (flags & ~(unsigned)MTASTS_DELIVER_F_GZIP) != 0)
        return MTASTS_EINVAL;
    rc = report_payload(report, flags, ret_body);
    if (rc == MTASTS_OK && ret_content_type != NULL)
        *ret_content_type = ct;
    if (rc == MTASTS_OK && ret_content_type_len != NULL)
        *ret_content_type_len = strlen(ct);
    return rc;
}

int
mtasts_tlsrpt_https_delivered(int http_status)
{
    return http_status >= 200 && http_status <= 299;
}

#define RETRY_FIRST  300   /* seconds before the first retry */
#define RETRY_WINDOW 86400 /* retries end 24 h after the first attempt */

int64_t
mtasts_tlsrpt_retry_time(int64_t first_attempt, unsigned attempt)
{
    int64_t delay;

    if (attempt == 0)
        return first_attempt;
    if (attempt > 20 || first_attempt > INT64_MAX - RETRY_WINDOW)
        return 0;
    /* after attempt k: first + 300 * (2^k - 1) */
    delay = (int64_t)RETRY_FIRST * (((int64_t)1 << attempt) - 1);
    if (delay > RETRY_WINDOW)
        return 0;
    return first_attempt + delay;
}

int
mtasts_tlsrpt_too_large(size_t payload_len)
{
    return payload_len > MTASTS_REPORT_WARN_SIZE;
}
