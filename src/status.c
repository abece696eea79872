/* Status codes, warning and reason names, diagnostics. */
#include "internal.h"

struct status_row {
    int code;
    const char *name;
    const char *msg;
};

static const struct status_row status_rows[] = {
    {MTASTS_OK, "MTASTS_OK", "success"},
    {MTASTS_NONE, "MTASTS_NONE",
     "nothing to return (not an error: no such key, nothing due)"},
    {MTASTS_REFUSED, "MTASTS_REFUSED",
     "input refused by a protocol rule (not an error of the call)"},
    {MTASTS_EINVAL, "MTASTS_EINVAL", "invalid argument"},
    {MTASTS_ENOMEM, "MTASTS_ENOMEM", "out of memory"},
    {MTASTS_ESYNTAX, "MTASTS_ESYNTAX", "syntax error"},
    {MTASTS_ETOOBIG, "MTASTS_ETOOBIG", "input exceeds a limit"},
    {MTASTS_EVERSION, "MTASTS_EVERSION", "unsupported version"},
    {MTASTS_ESTATE, "MTASTS_ESTATE", "call not valid in this state"},
    {MTASTS_EAGAIN, "MTASTS_EAGAIN", "operation will complete later"},
    {MTASTS_ECALLBACK, "MTASTS_ECALLBACK", "callback failed"},
    {MTASTS_ENONASCII, "MTASTS_ENONASCII",
     "non-ASCII name (A-labels required)"},
    {MTASTS_ESTRICT, "MTASTS_ESTRICT",
     "input needs a tolerance that strict parsing refuses"},
    {MTASTS_ERANGE, "MTASTS_ERANGE", "output buffer too small"},
    {MTASTS_ECORRUPT, "MTASTS_ECORRUPT",
     "stored data fails its integrity check (corrupted)"},
};

static const struct status_row *
status_find(int status)
{
    size_t i;

    for (i = 0; i < sizeof(status_rows) / sizeof(status_rows[0]); i++)
        if (status_rows[i].code == status)
            return &status_rows[i];
    return NULL;
}

const char *
mtasts_strerror(int status)
{
    const struct status_row *r = status_find(status);

    return r != NULL ? r->msg : "unknown error";
}

const char *
mtasts_status_name(int status)
{
    const struct status_row *r = status_find(status);

    return r != NULL ? r->name : "MTASTS_UNKNOWN";
}

int
mtasts_is_fatal(int status)
{
    switch (status) {
    case MTASTS_OK:
    case MTASTS_NONE:
    case MTASTS_REFUSED:
    case MTASTS_EAGAIN:
    case MTASTS_ERANGE:
    case MTASTS_ESYNTAX:
    case MTASTS_ETOOBIG:
    case MTASTS_ENONASCII:
    case MTASTS_ESTRICT:
    case MTASTS_ECORRUPT:
        return 0;
    case MTASTS_ENOMEM:
    case MTASTS_EINVAL:
    case MTASTS_EVERSION:
    case MTASTS_ESTATE:
    case MTASTS_ECALLBACK:
        return 1;
    default:
        /* unknown: an error when negative, else an outcome */
        return status < 0;
    }
}

static const char *const warning_names[MTASTS_W_COUNT] = {
    "trailing_wsp",
    "duplicate_field",
    "max_age_clamped",
    "blank_line",
    "bom",
    "duplicate_mx",
    "no_usable_rua",
    "rua_scheme",
    "rua_mailto",
    "date_no_offset",
    "contact_null",
    "mx_host_absent",
    "mx_host_string",
    "policy_string_string",
    "info_uri_alias",
    "policy_domain_absent",
    "bad_ip",
    "null_member",
    "tlsa_packed",
    "bad_uri",
    "counter_saturated",
    "no_reason_code",
    "date_range_reversed",
    "bad_name",
};

const char *
mtasts_warning_name(int w)
{
    if (w < 0 || w >= MTASTS_W_COUNT)
        return NULL;
    return warning_names[w];
}

struct reason_row {
    const char *name;
    const char *msg;
};

static const struct reason_row reason_rows[] = {
    {"none", "no error"},
    {"empty", "input is empty"},
    {"version", "missing or unknown version tag at the start"},
    {"delim", "expected ';' between fields"},
    {"field", "expected a field (name=value)"},
    {"ext_name",
     "malformed field name (letter or digit, then up to 31 of letter, "
     "digit, '_', '-', '.')"},
    {"ext_value", "malformed or empty field value"},
    {"id", "id must be 1 to 32 letters or digits"},
    {"no_id", "required field id is missing"},
    {"non_ascii", "byte outside US-ASCII"},
    {"ctl", "control character not allowed here"},
    {"utf8", "invalid UTF-8"},
    {"bare_cr", "CR not followed by LF (lines end in LF or CRLF)"},
    {"leading_wsp", "whitespace before a field name"},
    {"colon", "expected ':' after the field name"},
    {"policy_version", "version must be STSv1"},
    {"mode", "mode must be enforce, testing or none"},
    {"max_age", "max_age must be 1 to 10 digits"},
    {"mx", "mx must be a hostname, optionally starting with '*.'"},
    {"missing_version", "required field version is missing"},
    {"missing_mode", "required field mode is missing"},
    {"missing_max_age", "required field max_age is missing"},
    {"missing_mx", "at least one mx is required unless mode is none"},
    {"too_big", "input is larger than the configured limit"},
    {"too_many_mx", "more mx lines than the configured limit"},
    {"hostname", "malformed hostname (letters, digits, inner hyphens)"},
    {"label_len", "DNS label longer than 63 octets"},
    {"name_len", "name longer than 253 octets"},
    {"strict", "tolerated deviation refused by strict parsing"},
    {"multiple", "more than one candidate record"},
    {"not_found", "no candidate record"},
    {"bad_model", "object cannot be serialized"},
    {"truncated", "input ends too early"},
    {"checksum", "check failed (CRC-32, Fletcher-64 or length)"},
    {"deflate", "invalid DEFLATE compressed data"},
    {"trailing", "unexpected bytes after the end of the data"},
    {"uri", "malformed URI (RFC 3986; ',', '!' and ';' must be %-encoded)"},
    {"no_rua", "required field rua is missing"},
    {"json", "malformed JSON"},
    {"duplicate", "duplicate JSON member name"},
    {"missing_member", "a required member is missing"},
    {"member_type", "member of the wrong JSON type"},
    {"member_value",
     "bad member value (a count must be an integer from 0 to 2^53-1)"},
    {"date_time", "malformed RFC 3339 date-time"},
    {"dkim", "the DKIM verdict for the reporting domain is not a pass"},
    {"mime", "malformed MIME message (header block or multipart structure)"},
    {"encoding", "bad content transfer encoding (base64 or other)"},
};

const char *
mtasts_reason_message(int reason)
{
    if (reason < 0 ||
        (size_t)reason >= sizeof(reason_rows) / sizeof(reason_rows[0]))
        return "unknown reason";
    return reason_rows[reason].msg;
}

const char *
mtasts_reason_name(int reason)
{
    if (reason < 0 ||
        (size_t)reason >= sizeof(reason_rows) / sizeof(reason_rows[0]))
        return "unknown";
    return reason_rows[reason].name;
}

void
mt_diag_fail(struct mtasts_diag *d, int code, int reason, size_t offset,
             const char *buf, size_t len)
{
    size_t i, line = 1;

    if (d == NULL)
        return;
    d->code = code;
    d->reason = reason;
    d->offset = offset;
    d->warnings = 0;
    d->warning_offset = 0;
    if (buf != NULL) {
        for (i = 0; i < offset && i < len; i++)
            if (buf[i] == '\n')
                line++;
    }
    d->line = line;
}

int
mt_nomem(struct mtasts_diag *d)
{
    mt_diag_fail(d, MTASTS_ENOMEM, MTASTS_R_NONE, 0, NULL, 0);
    return MTASTS_ENOMEM;
}

int
mt_txt_size_check(const mtasts_ctx *ctx, size_t n, struct mtasts_diag *d)
{
    size_t limit = ctx->limits[MTASTS_LIMIT_TXT_SIZE];

    if (n <= limit)
        return MTASTS_OK;
    mt_diag_fail(d, MTASTS_ETOOBIG, MTASTS_R_TOO_BIG, limit, NULL, 0);
    return MTASTS_ETOOBIG;
}

void
mt_out_init(struct mt_out *o, char *dst, size_t cap)
{
    o->dst = dst;
    o->cap = dst != NULL ? cap : 0;
    o->len = 0;
}

void
mt_out_put(struct mt_out *o, const char *s, size_t n)
{
    if (o->len < o->cap) {
        size_t room = o->cap - o->len;
        memcpy(o->dst + o->len, s, n < room ? n : room);
    }
    o->len += n;
}

void
mt_out_str(struct mt_out *o, const char *s)
{
    mt_out_put(o, s, strlen(s));
}

void
mt_out_u64(struct mt_out *o, uint64_t v)
{
    char tmp[24];
    size_t n = sizeof(tmp);

    do {
        tmp[--n] = (char)('0' + (char)(v % 10));
        v /= 10;
    } while (v != 0);
    mt_out_put(o, tmp + n, sizeof(tmp) - n);
}

int
mt_out_finish(struct mt_out *o, size_t *ret_needed)
{
    if (ret_needed != NULL)
        *ret_needed = o->len;
    if (o->cap == 0)
        return o->dst == NULL && o->len == 0 ? MTASTS_OK : MTASTS_ERANGE;
    if (o->len < o->cap) {
        o->dst[o->len] = '\0';
        return MTASTS_OK;
    }
    o->dst[o->cap - 1] = '\0';
    return MTASTS_ERANGE;
}

static const char *const result_names[] = {
    NULL,
    "starttls-not-supported",
    "certificate-host-mismatch",
    "certificate-expired",
    "certificate-not-trusted",
    "validation-failure",
    "tlsa-invalid",
    "dnssec-invalid",
    "dane-required",
    "sts-policy-fetch-error",
    "sts-policy-invalid",
    "sts-webpki-invalid",
};

const char *
mtasts_result_type_name(int result_type)
{
    if (result_type <= 0 || result_type > MT_RESULT_MAX)
        return NULL;
    return result_names[result_type];
}

static const char *const why_names[] = {
    NULL,           "fetched",         "cached",       "no_record",
    "txt_tempfail", "txt_invalid",     "txt_multiple", "fetch_failed",
    "backoff",      "address_literal", "min_refetch",
};

const char *
mtasts_why_name(int why)
{
    if (why <= 0 || (size_t)why >= sizeof(why_names) / sizeof(why_names[0]))
        return NULL;
    return why_names[why];
}
