/*
 * Corpus conformance test: every policy, _mta-sts and _smtp._tls TXT record
 * of corpus/MANIFEST.tsv is parsed in default and strict mode and the
 * outcome is checked against the verdict class of its row:
 *
 *   valid       default parse OK with no warning, strict parse OK
 *   lenient-ok  default parse OK with a warning, strict parse MTASTS_ESTRICT
 *   invalid     both parses fail with a protocol error (not ENOMEM/EINVAL)
 *
 * Every accepted input is also round-tripped: format, parse again (no
 * warning, also strict), compare the model, and format again (same bytes).
 *
 * Usage: test_corpus [-v] <corpus-dir>   (-v prints every row's outcome)
 *
 * Rows of kind report/... whose file is .json or .json.gz are TLSRPT
 * reports (mtasts_tlsrpt_report_parse(), gzip detected by its magic); the
 * round trip is to_json -> parse -> to_json. Report e-mails (.eml) are
 * read with mtasts_tlsrpt_mail_ingest() and the DKIM verdict
 * MTASTS_DKIM_PASS (the library does no DKIM; the verdict is the
 * caller's), under the same verdict rules as the JSON rows, and the report
 * found is round-tripped as a JSON row is. The manifest marks unsigned
 * sample messages lenient-ok for the missing signature, which the library
 * cannot see; each of them also carries a payload deviation with a
 * warning, so their class holds without a dispute.
 *
 * All parsing goes through a checking allocator: every block is tracked,
 * the size given to free/realloc must equal the allocated size, and nothing
 * may be live once a row is done. Inputs are copied into buffers of exactly
 * their length so AddressSanitizer catches any read past len.
 */
#include <mtasts.h>

#include "harness.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Rows whose corpus verdict contradicts a decision of
 * doc/requirements.md (the decision wins). The row is checked
 * against the class the decision gives instead of its manifest verdict.
 * Keep this list short and give the decision for each entry.
 */
struct disputed_row {
    const char *path;
    const char *klass; /* "valid", "lenient-ok" or "invalid" */
    const char *reason;
};

static const struct disputed_row disputed_rows[] = {
    /* None so far. Example of the form:
     * {"policies/x.txt", "lenient-ok", "E-10: blank lines are tolerated"},
     */
    {"reports/example__tlsrpt-be__idn-no-policy-found.json", "valid",
     "RPT-JSON-8: failure-details may be absent; RPT-JSON-20: the counts are "
     "not cross-checked, so nothing here is a deviation"},
    {NULL, NULL, NULL},
};

enum klass {
    K_VALID,
    K_LENIENT,
    K_INVALID,
};

static const char *const klass_names[] = {"valid", "lenient-ok", "invalid"};

static int verbose;

/* ------------------------------------------------------------------ */
/* Checking allocator                                                  */
/* ------------------------------------------------------------------ */

struct alloc_stats {
    size_t base_blocks; /* blocks of the context itself */
    size_t base_bytes;
};

/* ------------------------------------------------------------------ */
/* Small helpers                                                       */
/* ------------------------------------------------------------------ */

static char *
read_whole_file(const char *path, size_t *ret_len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t cap = 0, len = 0;

    if (f == NULL)
        return NULL;
    for (;;) {
        size_t n;

        if (cap - len < 4096) {
            size_t ncap = cap ? cap * 2 : 8192;
            char *nb = realloc(buf, ncap + 1);

            if (nb == NULL) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = nb;
            cap = ncap;
        }
        n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (n == 0)
            break;
    }
    if (ferror(f)) {
        free(buf);
        fclose(f);
        return NULL;
    }
    fclose(f);
    buf[len] = '\0';
    *ret_len = len;
    return buf;
}

/* Copy into a heap block of exactly len bytes (1 byte when len is 0) so a
 * read past len is a heap overflow under ASan. */
static char *
exact_copy(const char *src, size_t len)
{
    char *p = malloc(len ? len : 1);

    if (p != NULL && len > 0)
        memcpy(p, src, len);
    return p;
}

static int
ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);

    return a >= b && strcmp(s + a - b, suffix) == 0;
}

static int
starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static void
print_warnings(uint64_t mask)
{
    int w, first = 1;

    if (mask == 0) {
        printf("0");
        return;
    }
    for (w = 0; w < 64; w++) {
        const char *name;

        if (!(mask & MTASTS_WARN_BIT(w)))
            continue;
        name = mtasts_warning_name(w);
        printf("%s%s", first ? "" : "|", name ? name : "?");
        first = 0;
    }
}

static void
print_outcome(const char *label, int rc, const struct mtasts_diag *d)
{
    printf("    %s: %s", label, mtasts_status_name(rc));
    if (rc != 0)
        printf(" reason=%s offset=%zu line=%zu", mtasts_reason_name(d->reason),
               d->offset, d->line);
    printf(" warnings=");
    print_warnings(rc == 0 ? d->warnings : 0);
    printf("\n");
}

/* ------------------------------------------------------------------ */
/* Per-row checking                                                    */
/* ------------------------------------------------------------------ */

struct row_result {
    int ok;
    char note[512];
};

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void
fail_note(struct row_result *r, const char *fmt, ...);

static void
fail_note(struct row_result *r, const char *fmt, ...)
{
    va_list ap;
    size_t used = strlen(r->note);

    r->ok = 0;
    if (used >= sizeof(r->note) - 1)
        return;
    if (used > 0) {
        r->note[used++] = ';';
        r->note[used++] = ' ';
        r->note[used] = '\0';
    }
    va_start(ap, fmt);
    vsnprintf(r->note + used, sizeof(r->note) - used, fmt, ap);
    va_end(ap);
}

enum input_type {
    T_POLICY,
    T_STS_RECORD,
    T_TLSRPT_RECORD,
    T_REPORT,
    T_MAIL, /* a report e-mail: parsed into a report */
};

/* Uniform view of a parsed object. */
struct parsed {
    enum input_type type;
    mtasts_policy *pol;
    mtasts_sts_record *rec;
    mtasts_tlsrpt_record *rpt;
    mtasts_tlsrpt_report *rep;
};

static int
do_parse(mtasts_ctx *ctx, enum input_type type, const char *buf, size_t len,
         unsigned flags, struct parsed *out, struct mtasts_diag *d)
{
    struct mtasts_diag init = MTASTS_DIAG_INIT;

    *d = init;
    out->type = type;
    out->pol = NULL;
    out->rec = NULL;
    out->rpt = NULL;
    out->rep = NULL;
    if (type == T_REPORT)
        return mtasts_tlsrpt_report_parse(ctx, (const uint8_t *)buf, len, flags,
                                          &out->rep, d);
    if (type == T_MAIL) {
        int mismatch = 0;

        out->type = T_REPORT;
        return mtasts_tlsrpt_mail_ingest(ctx, (const uint8_t *)buf, len,
                                         MTASTS_DKIM_PASS, flags, &out->rep,
                                         &mismatch, d);
    }
    if (type == T_POLICY)
        return mtasts_policy_parse(ctx, buf, len, flags, &out->pol, d);
    if (type == T_TLSRPT_RECORD)
        return mtasts_tlsrpt_record_parse(ctx, buf, len, flags, &out->rpt, d);
    return mtasts_sts_record_parse(ctx, buf, len, flags, &out->rec, d);
}

static int
has_object(const struct parsed *p)
{
    return p->pol != NULL || p->rec != NULL || p->rpt != NULL || p->rep != NULL;
}

static void
parsed_free(struct parsed *p)
{
    mtasts_policy_free(p->pol);
    mtasts_sts_record_free(p->rec);
    mtasts_tlsrpt_record_free(p->rpt);
    mtasts_tlsrpt_report_free(p->rep);
    p->rep = NULL;
    p->pol = NULL;
    p->rec = NULL;
    p->rpt = NULL;
}

static uint64_t
parsed_warnings(const struct parsed *p)
{
    if (p->type == T_POLICY)
        return mtasts_policy_warnings(p->pol);
    if (p->type == T_TLSRPT_RECORD)
        return mtasts_tlsrpt_record_warnings(p->rpt);
    if (p->type == T_REPORT)
        return mtasts_tlsrpt_report_warnings(p->rep);
    return mtasts_sts_record_warnings(p->rec);
}

/* Format into a malloc'd NUL-terminated string. */
static char *
parsed_format(const struct parsed *p, size_t *ret_len, int *ret_rc)
{
    size_t need = 0, need2 = 0;
    char *buf;
    int rc;

    if (p->type == T_REPORT) {
        mtasts_buf *b = NULL;
        const uint8_t *d;

        rc = mtasts_tlsrpt_report_format(p->rep, 0, &b);
        *ret_rc = rc;
        if (rc != 0)
            return NULL;
        d = mtasts_buf_data(b, &need);
        buf = malloc(need + 1);
        if (buf != NULL)
            memcpy(buf, d, need + 1);
        else
            *ret_rc = MTASTS_ENOMEM;
        mtasts_buf_free(b);
        *ret_len = need;
        return buf;
    }
    if (p->type == T_POLICY)
        rc = mtasts_policy_format(p->pol, NULL, 0, &need);
    else if (p->type == T_TLSRPT_RECORD)
        rc = mtasts_tlsrpt_record_format(p->rpt, NULL, 0, &need);
    else
        rc = mtasts_sts_record_format(p->rec, NULL, 0, &need);
    if (rc != MTASTS_ERANGE && rc != 0) {
        *ret_rc = rc;
        return NULL;
    }
    buf = malloc(need + 1);
    if (buf == NULL) {
        *ret_rc = MTASTS_ENOMEM;
        return NULL;
    }
    if (p->type == T_POLICY)
        rc = mtasts_policy_format(p->pol, buf, need + 1, &need2);
    else if (p->type == T_TLSRPT_RECORD)
        rc = mtasts_tlsrpt_record_format(p->rpt, buf, need + 1, &need2);
    else
        rc = mtasts_sts_record_format(p->rec, buf, need + 1, &need2);
    if (rc != 0 || need2 != need || strlen(buf) != need) {
        *ret_rc = rc != 0 ? rc : MTASTS_ERANGE;
        free(buf);
        return NULL;
    }
    *ret_rc = 0;
    *ret_len = need;
    return buf;
}

static int
same_bytes(const char *a, size_t alen, const char *b, size_t blen)
{
    if (a == NULL || b == NULL)
        return 0;
    return alen == blen && memcmp(a, b, alen) == 0;
}

static int
report_text_equal(const mtasts_tlsrpt_report *a, const mtasts_tlsrpt_report *b,
                  int f, size_t i, size_t j)
{
    size_t la = 0, lb = 0;
    const char *x = mtasts_tlsrpt_report_text(a, f, i, j, &la);
    const char *y = mtasts_tlsrpt_report_text(b, f, i, j, &lb);

    if (x == NULL || y == NULL)
        return x == y;
    /* IP texts are written back in canonical form */
    if (f == MTASTS_RF_SENDING_IP || f == MTASTS_RF_RECEIVING_IP)
        return 1;
    return same_bytes(x, la, y, lb);
}

/* Reports: every getter of the model. */
static int
report_equal(const mtasts_tlsrpt_report *a, const mtasts_tlsrpt_report *b,
             char *why, size_t why_len)
{
    size_t i, j, n = mtasts_tlsrpt_report_count(a, MTASTS_RC_POLICIES, 0);
    int f, c;

    if (n != mtasts_tlsrpt_report_count(b, MTASTS_RC_POLICIES, 0)) {
        snprintf(why, why_len, "policy count differs");
        return 0;
    }
    for (f = MTASTS_RF_ORGANIZATION; f <= MTASTS_RF_REPORT_ID; f++)
        if (!report_text_equal(a, b, f, 0, 0)) {
            snprintf(why, why_len, "text member %d differs", f);
            return 0;
        }
    for (f = MTASTS_RN_START_TIME; f <= MTASTS_RN_END_TIME; f++)
        if (mtasts_tlsrpt_report_number(a, f, 0, 0) !=
            mtasts_tlsrpt_report_number(b, f, 0, 0)) {
            snprintf(why, why_len, "date-range differs");
            return 0;
        }
    for (i = 0; i < n; i++) {
        if (mtasts_tlsrpt_report_policy_type(a, i) !=
                mtasts_tlsrpt_report_policy_type(b, i) ||
            !report_text_equal(a, b, MTASTS_RF_POLICY_TYPE, i, 0) ||
            !report_text_equal(a, b, MTASTS_RF_POLICY_DOMAIN, i, 0)) {
            snprintf(why, why_len, "policy %zu differs", i);
            return 0;
        }
        for (c = MTASTS_RC_POLICY_STRINGS; c <= MTASTS_RC_DETAILS; c++)
            if (mtasts_tlsrpt_report_count(a, c, i) !=
                mtasts_tlsrpt_report_count(b, c, i)) {
                snprintf(why, why_len, "policy %zu: count %d differs", i, c);
                return 0;
            }
        for (f = MTASTS_RN_SUCCESS_COUNT; f <= MTASTS_RN_FAILURE_COUNT; f++)
            if (mtasts_tlsrpt_report_number(a, f, i, 0) !=
                mtasts_tlsrpt_report_number(b, f, i, 0)) {
                snprintf(why, why_len, "policy %zu: summary differs", i);
                return 0;
            }
        for (j = 0;
             j < mtasts_tlsrpt_report_count(a, MTASTS_RC_POLICY_STRINGS, i);
             j++)
            if (!report_text_equal(a, b, MTASTS_RF_POLICY_STRING, i, j)) {
                snprintf(why, why_len, "policy %zu: policy-string differs", i);
                return 0;
            }
        for (j = 0; j < mtasts_tlsrpt_report_count(a, MTASTS_RC_MX_HOSTS, i);
             j++)
            if (!report_text_equal(a, b, MTASTS_RF_MX_HOST, i, j)) {
                snprintf(why, why_len, "policy %zu: mx-host differs", i);
                return 0;
            }
        for (j = 0; j < mtasts_tlsrpt_report_count(a, MTASTS_RC_DETAILS, i);
             j++) {
            if (mtasts_tlsrpt_report_result_type(a, i, j) !=
                    mtasts_tlsrpt_report_result_type(b, i, j) ||
                mtasts_tlsrpt_report_number(a, MTASTS_RN_FAILED_SESSIONS, i,
                                            j) !=
                    mtasts_tlsrpt_report_number(b, MTASTS_RN_FAILED_SESSIONS, i,
                                                j)) {
                snprintf(why, why_len, "policy %zu detail %zu differs", i, j);
                return 0;
            }
            for (f = MTASTS_RF_RESULT_TYPE; f <= MTASTS_RF_REASON_CODE; f++)
                if (!report_text_equal(a, b, f, i, j)) {
                    snprintf(why, why_len, "policy %zu detail %zu: text %d", i,
                             j, f);
                    return 0;
                }
        }
    }
    return 1;
}

/* Compare two models; on difference write what differs into why. */
static int
parsed_equal(const struct parsed *a, const struct parsed *b, char *why,
             size_t why_len)
{
    size_t i, n;

    if (a->type == T_REPORT)
        return report_equal(a->rep, b->rep, why, why_len);
    if (a->type == T_POLICY) {
        const char *va, *vb;
        size_t la = 0, lb = 0;

        va = mtasts_policy_version(a->pol, &la);
        vb = mtasts_policy_version(b->pol, &lb);
        if (!same_bytes(va, la, vb, lb)) {
            snprintf(why, why_len, "version differs");
            return 0;
        }
        if (mtasts_policy_mode(a->pol) != mtasts_policy_mode(b->pol)) {
            snprintf(why, why_len, "mode %d != %d", mtasts_policy_mode(a->pol),
                     mtasts_policy_mode(b->pol));
            return 0;
        }
        if (mtasts_policy_max_age(a->pol) != mtasts_policy_max_age(b->pol)) {
            snprintf(why, why_len, "max_age %lu != %lu",
                     (unsigned long)mtasts_policy_max_age(a->pol),
                     (unsigned long)mtasts_policy_max_age(b->pol));
            return 0;
        }
        n = mtasts_policy_mx_count(a->pol);
        if (n != mtasts_policy_mx_count(b->pol)) {
            snprintf(why, why_len, "mx count %zu != %zu", n,
                     mtasts_policy_mx_count(b->pol));
            return 0;
        }
        for (i = 0; i < n; i++) {
            va = mtasts_policy_mx(a->pol, i, &la);
            vb = mtasts_policy_mx(b->pol, i, &lb);
            if (!same_bytes(va, la, vb, lb)) {
                snprintf(why, why_len, "mx %zu differs", i);
                return 0;
            }
        }
        n = mtasts_policy_ext_count(a->pol);
        if (n != mtasts_policy_ext_count(b->pol)) {
            snprintf(why, why_len, "ext count %zu != %zu", n,
                     mtasts_policy_ext_count(b->pol));
            return 0;
        }
    } else if (a->type == T_TLSRPT_RECORD) {
        const char *ua, *ub, *ta, *tb;
        size_t la = 0, lb = 0, tla = 0, tlb = 0;

        n = mtasts_tlsrpt_record_rua_count(a->rpt);
        if (n != mtasts_tlsrpt_record_rua_count(b->rpt)) {
            snprintf(why, why_len, "rua count %zu != %zu", n,
                     mtasts_tlsrpt_record_rua_count(b->rpt));
            return 0;
        }
        for (i = 0; i < n; i++) {
            ua = mtasts_tlsrpt_record_rua(a->rpt, i, &la);
            ub = mtasts_tlsrpt_record_rua(b->rpt, i, &lb);
            ta = mtasts_tlsrpt_record_rua_target(a->rpt, i, &tla);
            tb = mtasts_tlsrpt_record_rua_target(b->rpt, i, &tlb);
            if (!same_bytes(ua, la, ub, lb) ||
                mtasts_tlsrpt_record_rua_kind(a->rpt, i) !=
                    mtasts_tlsrpt_record_rua_kind(b->rpt, i) ||
                (ta == NULL) != (tb == NULL) ||
                (ta != NULL && !same_bytes(ta, tla, tb, tlb))) {
                snprintf(why, why_len, "rua %zu differs", i);
                return 0;
            }
        }
        n = mtasts_tlsrpt_record_ext_count(a->rpt);
        if (n != mtasts_tlsrpt_record_ext_count(b->rpt)) {
            snprintf(why, why_len, "ext count %zu != %zu", n,
                     mtasts_tlsrpt_record_ext_count(b->rpt));
            return 0;
        }
    } else {
        const char *ia, *ib;
        size_t la = 0, lb = 0;

        ia = mtasts_sts_record_id(a->rec, &la);
        ib = mtasts_sts_record_id(b->rec, &lb);
        if (!same_bytes(ia, la, ib, lb)) {
            snprintf(why, why_len, "id differs");
            return 0;
        }
        n = mtasts_sts_record_ext_count(a->rec);
        if (n != mtasts_sts_record_ext_count(b->rec)) {
            snprintf(why, why_len, "ext count %zu != %zu", n,
                     mtasts_sts_record_ext_count(b->rec));
            return 0;
        }
    }
    for (i = 0; i < n; i++) {
        const char *na = NULL, *nb = NULL, *xa = NULL, *xb = NULL;
        size_t nla = 0, nlb = 0, xla = 0, xlb = 0;
        int ra, rb;

        if (a->type == T_POLICY) {
            ra = mtasts_policy_ext(a->pol, i, &na, &nla, &xa, &xla);
            rb = mtasts_policy_ext(b->pol, i, &nb, &nlb, &xb, &xlb);
        } else if (a->type == T_TLSRPT_RECORD) {
            ra = mtasts_tlsrpt_record_ext(a->rpt, i, &na, &nla, &xa, &xla);
            rb = mtasts_tlsrpt_record_ext(b->rpt, i, &nb, &nlb, &xb, &xlb);
        } else {
            ra = mtasts_sts_record_ext(a->rec, i, &na, &nla, &xa, &xla);
            rb = mtasts_sts_record_ext(b->rec, i, &nb, &nlb, &xb, &xlb);
        }
        if (ra != 0 || rb != 0 || !same_bytes(na, nla, nb, nlb) ||
            !same_bytes(xa, xla, xb, xlb)) {
            snprintf(why, why_len, "extension %zu differs", i);
            return 0;
        }
    }
    return 1;
}

/* Warnings about what a record says rather than how it is written: the
 * formatted text keeps them (an unusable rua URI stays unusable). */
static uint64_t
kept_warnings(const struct parsed *p)
{
    /* reports: what the canonical JSON still lacks or still holds */
    if (p->type == T_REPORT)
        return parsed_warnings(p) &
               (MTASTS_WARN_BIT(MTASTS_W_CONTACT_NULL) |
                MTASTS_WARN_BIT(MTASTS_W_MX_HOST_ABSENT) |
                MTASTS_WARN_BIT(MTASTS_W_POLICY_DOMAIN_ABSENT) |
                MTASTS_WARN_BIT(MTASTS_W_BAD_IP) |
                MTASTS_WARN_BIT(MTASTS_W_BAD_NAME) |
                MTASTS_WARN_BIT(MTASTS_W_DATE_RANGE_REVERSED) |
                MTASTS_WARN_BIT(MTASTS_W_BAD_URI));
    if (p->type != T_TLSRPT_RECORD)
        return 0;
    return parsed_warnings(p) & (MTASTS_WARN_BIT(MTASTS_W_NO_USABLE_RUA) |
                                 MTASTS_WARN_BIT(MTASTS_W_RUA_SCHEME) |
                                 MTASTS_WARN_BIT(MTASTS_W_RUA_MAILTO));
}

static void
check_round_trip(mtasts_ctx *ctx, const struct parsed *orig,
                 struct row_result *r)
{
    struct parsed again, strict_again;
    struct mtasts_diag d, ds;
    char *text, *text2;
    size_t len = 0, len2 = 0;
    char why[128];
    uint64_t kept = kept_warnings(orig);
    int rc;

    text = parsed_format(orig, &len, &rc);
    if (text == NULL) {
        fail_note(r, "round trip: format failed with %s",
                  mtasts_status_name(rc));
        return;
    }
    rc = do_parse(ctx, orig->type, text, len, 0, &again, &d);
    if (rc != 0) {
        fail_note(r,
                  "round trip: formatted text does not parse: %s reason=%s "
                  "offset=%zu",
                  mtasts_status_name(rc), mtasts_reason_name(d.reason),
                  d.offset);
        free(text);
        return;
    }
    if (d.warnings != kept || parsed_warnings(&again) != kept)
        fail_note(r,
                  "round trip: formatted text parses with warnings 0x%llx, "
                  "expected 0x%llx",
                  (unsigned long long)d.warnings, (unsigned long long)kept);
    rc = do_parse(ctx, orig->type, text, len, MTASTS_PARSE_F_STRICT,
                  &strict_again, &ds);
    if (rc != (kept != 0 ? MTASTS_ESTRICT : 0))
        fail_note(r, "round trip: strict parse of formatted text: %s",
                  mtasts_status_name(rc));
    parsed_free(&strict_again);
    if (!parsed_equal(orig, &again, why, sizeof(why)))
        fail_note(r, "round trip: model differs (%s)", why);
    text2 = parsed_format(&again, &len2, &rc);
    if (text2 == NULL)
        fail_note(r, "round trip: second format failed with %s",
                  mtasts_status_name(rc));
    else if (!same_bytes(text, len, text2, len2))
        fail_note(r, "round trip: format is not idempotent");
    free(text2);
    parsed_free(&again);
    free(text);
}

static int
is_protocol_error(int rc)
{
    return rc < 0 && rc != MTASTS_ENOMEM && rc != MTASTS_EINVAL;
}

static void
check_row(mtasts_ctx *ctx, enum input_type type, const char *input,
          size_t input_len, enum klass expect, struct row_result *r,
          int *ret_rc0, struct mtasts_diag *d0, int *ret_rcs,
          struct mtasts_diag *ds)
{
    struct parsed p0, ps;
    char *buf = exact_copy(input, input_len);
    int rc0, rcs;

    r->ok = 1;
    r->note[0] = '\0';
    if (buf == NULL) {
        fail_note(r, "out of memory in the test");
        return;
    }
    rc0 = do_parse(ctx, type, buf, input_len, 0, &p0, d0);
    rcs = do_parse(ctx, type, buf, input_len, MTASTS_PARSE_F_STRICT, &ps, ds);
    *ret_rc0 = rc0;
    *ret_rcs = rcs;

    /* API contract checks, independent of the verdict. */
    if ((rc0 == 0) != has_object(&p0))
        fail_note(r, "default parse: return %d but object %s", rc0,
                  has_object(&p0) ? "set" : "NULL");
    if ((rcs == 0) != has_object(&ps))
        fail_note(r, "strict parse: return %d but object %s", rcs,
                  has_object(&ps) ? "set" : "NULL");
    if (d0->code != rc0)
        fail_note(r, "default parse: diag code %d != return %d", d0->code, rc0);
    if (ds->code != rcs)
        fail_note(r, "strict parse: diag code %d != return %d", ds->code, rcs);
    if (rc0 == 0 && has_object(&p0) && parsed_warnings(&p0) != d0->warnings)
        fail_note(r, "object warnings 0x%llx != diag warnings 0x%llx",
                  (unsigned long long)parsed_warnings(&p0),
                  (unsigned long long)d0->warnings);
    if (rc0 != 0 && d0->offset > input_len)
        fail_note(r, "default parse: diag offset %zu past input length %zu",
                  d0->offset, input_len);
    if (rcs == MTASTS_ESTRICT && ds->reason != MTASTS_R_STRICT)
        fail_note(r, "strict parse: ESTRICT with reason %s",
                  mtasts_reason_name(ds->reason));

    switch (expect) {
    case K_VALID:
        if (rc0 != 0)
            fail_note(r, "default parse failed");
        else if (d0->warnings != 0)
            fail_note(r, "default parse has warnings");
        if (rcs != 0)
            fail_note(r, "strict parse failed");
        break;
    case K_LENIENT:
        if (rc0 != 0)
            fail_note(r, "default parse failed");
        else if (d0->warnings == 0)
            fail_note(r, "default parse has no warning");
        if (rcs != MTASTS_ESTRICT)
            fail_note(r, "strict parse gave %s, not MTASTS_ESTRICT",
                      mtasts_status_name(rcs));
        break;
    case K_INVALID:
        if (rc0 == 0)
            fail_note(r, "default parse accepted it");
        else if (!is_protocol_error(rc0))
            fail_note(r, "default parse failed with API error %s",
                      mtasts_status_name(rc0));
        if (rcs == 0)
            fail_note(r, "strict parse accepted it");
        else if (!is_protocol_error(rcs))
            fail_note(r, "strict parse failed with API error %s",
                      mtasts_status_name(rcs));
        break;
    }
    if (rc0 == 0 && has_object(&p0))
        check_round_trip(ctx, &p0, r);
    if (rcs == 0 && has_object(&ps))
        check_round_trip(ctx, &ps, r);
    parsed_free(&p0);
    parsed_free(&ps);
    free(buf);
}

/* ------------------------------------------------------------------ */
/* Manifest handling                                                   */
/* ------------------------------------------------------------------ */

struct counts {
    size_t checked[3];
    size_t passed[3];
    size_t failed[3];
    size_t skipped_tlsrpt;
    size_t disputed;
    size_t errors;
};

/* Split s (modified in place) at the first n-1 TABs into n fields. */
static int
split_tabs(char *s, char **fields, int n)
{
    int i;

    for (i = 0; i < n - 1; i++) {
        char *t = strchr(s, '\t');

        if (t == NULL)
            return 0;
        *t = '\0';
        fields[i] = s;
        s = t + 1;
    }
    fields[n - 1] = s;
    return 1;
}

/*
 * Load the record of "txt/<file>#L<n>": the n-th line (1-based) of the
 * file, cut at its last TAB. Returns a malloc'd copy.
 */
static char *
load_txt_record(const char *dir, const char *path, size_t *ret_len)
{
    char file[4096];
    const char *hash = strstr(path, "#L");
    char *data, *line, *end, *tab, *rec;
    size_t data_len = 0, n, i;

    if (hash == NULL || hash[2] == '\0')
        return NULL;
    n = (size_t)strtoul(hash + 2, &end, 10);
    if (*end != '\0' || n == 0)
        return NULL;
    if (snprintf(file, sizeof(file), "%s/%.*s", dir, (int)(hash - path),
                 path) >= (int)sizeof(file))
        return NULL;
    data = read_whole_file(file, &data_len);
    if (data == NULL)
        return NULL;
    line = data;
    for (i = 1; i < n; i++) {
        char *nl = memchr(line, '\n', data_len - (size_t)(line - data));

        if (nl == NULL) {
            free(data);
            return NULL;
        }
        line = nl + 1;
    }
    end = memchr(line, '\n', data_len - (size_t)(line - data));
    if (end == NULL)
        end = data + data_len;
    tab = NULL;
    for (char *q = line; q < end; q++)
        if (*q == '\t')
            tab = q;
    if (tab == NULL) {
        free(data);
        return NULL;
    }
    *ret_len = (size_t)(tab - line);
    rec = exact_copy(line, *ret_len);
    free(data);
    return rec;
}

static const struct disputed_row *
find_disputed(const char *path)
{
    size_t i;

    for (i = 0; disputed_rows[i].path != NULL; i++)
        if (strcmp(disputed_rows[i].path, path) == 0)
            return &disputed_rows[i];
    return NULL;
}

static int
klass_from_name(const char *s, enum klass *ret)
{
    /* "invalid" does not start with "valid", so the order is free. */
    if (starts_with(s, "valid"))
        *ret = K_VALID;
    else if (starts_with(s, "lenient-ok"))
        *ret = K_LENIENT;
    else if (starts_with(s, "invalid"))
        *ret = K_INVALID;
    else
        return 0;
    return 1;
}

static void
process_row(mtasts_ctx *ctx, struct alloc_stats *st, const char *dir, char **f,
            struct counts *c)
{
    const char *path = f[0], *kind = f[4], *verdict = f[5];
    const struct disputed_row *dis;
    enum input_type type;
    enum klass expect;
    struct row_result r;
    struct mtasts_diag d0, ds;
    char *input = NULL;
    size_t len = 0;
    int rc0 = 0, rcs = 0;

    if (starts_with(kind, "report/") && !ends_with(path, ".json") &&
        !ends_with(path, ".json.gz") && !ends_with(path, ".eml")) {
        c->skipped_tlsrpt++;
        return;
    }
    if (starts_with(kind, "report/")) {
        char file[4096];

        type = ends_with(path, ".eml") ? T_MAIL : T_REPORT;
        if (snprintf(file, sizeof(file), "%s/%s", dir, path) >=
            (int)sizeof(file)) {
            printf("ERROR %s: path too long\n", path);
            c->errors++;
            return;
        }
        input = read_whole_file(file, &len);
    } else if (starts_with(kind, "policy/")) {
        char file[4096];

        type = T_POLICY;
        if (snprintf(file, sizeof(file), "%s/%s", dir, path) >=
            (int)sizeof(file)) {
            printf("ERROR %s: path too long\n", path);
            c->errors++;
            return;
        }
        input = read_whole_file(file, &len);
    } else if (starts_with(kind, "sts-record/")) {
        type = T_STS_RECORD;
        input = load_txt_record(dir, path, &len);
    } else if (starts_with(kind, "tlsrpt-record/")) {
        type = T_TLSRPT_RECORD;
        input = load_txt_record(dir, path, &len);
    } else {
        printf("ERROR %s: unknown kind '%s'\n", path, kind);
        c->errors++;
        return;
    }
    if (input == NULL) {
        printf("ERROR %s: cannot load the input\n", path);
        c->errors++;
        return;
    }
    if (!klass_from_name(verdict, &expect)) {
        printf("ERROR %s: unknown verdict '%s'\n", path, verdict);
        c->errors++;
        free(input);
        return;
    }
    dis = find_disputed(path);
    if (dis != NULL) {
        enum klass k;

        if (!klass_from_name(dis->klass, &k)) {
            printf("ERROR %s: bad class in disputed_rows\n", path);
            c->errors++;
            free(input);
            return;
        }
        printf("DISPUTED %s: manifest says %s, checked as %s (%s)\n", path,
               klass_names[expect], klass_names[k], dis->reason);
        expect = k;
        c->disputed++;
    }

    c->checked[expect]++;
    check_row(ctx, type, input, len, expect, &r, &rc0, &d0, &rcs, &ds);
    if (harness_leaks() != st->base_blocks) {
        fail_note(&r, "%zu blocks still allocated after free",
                  harness_leaks() - st->base_blocks);
        st->base_blocks = harness_leaks();
        st->base_bytes = harness_live_bytes();
    }
    if (harness_errors() != 0) {
        fail_note(&r, "%zu free/realloc calls with a wrong size",
                  harness_errors());
        harness_clear_errors();
    }
    if (r.ok) {
        c->passed[expect]++;
        if (verbose) {
            printf("ok %s (%s)\n", path, klass_names[expect]);
            print_outcome("default", rc0, &d0);
            print_outcome("strict ", rcs, &ds);
        }
    } else {
        c->failed[expect]++;
        printf("FAIL %s\n    expected: %s (%.100s)\n", path,
               klass_names[expect], verdict);
        print_outcome("default", rc0, &d0);
        print_outcome("strict ", rcs, &ds);
        printf("    problem: %s\n", r.note);
    }
    free(input);
}

int
main(int argc, char **argv)
{
    struct alloc_stats st;
    struct counts c;
    mtasts_ctx *ctx = NULL;
    char manifest[4096];
    char *data, *line, *next;
    size_t data_len = 0, lineno = 0, total_failed = 0;
    int k;

    if (argc == 3 && strcmp(argv[1], "-v") == 0) {
        verbose = 1;
        argv++;
        argc--;
    }
    if (argc != 2) {
        fprintf(stderr, "usage: %s [-v] <corpus-dir>\n", argv[0]);
        return 2;
    }
    memset(&c, 0, sizeof(c));
    ctx = harness_ctx_try();
    if (ctx == NULL) {
        fprintf(stderr, "mtasts_ctx_new failed\n");
        return 1;
    }
    st.base_blocks = harness_leaks();
    st.base_bytes = harness_live_bytes();
    if (snprintf(manifest, sizeof(manifest), "%s/MANIFEST.tsv", argv[1]) >=
        (int)sizeof(manifest))
        return 2;
    data = read_whole_file(manifest, &data_len);
    if (data == NULL) {
        fprintf(stderr, "cannot read %s\n", manifest);
        mtasts_ctx_free(ctx);
        return 1;
    }

    for (line = data; line < data + data_len; line = next) {
        char *f[6];
        char *nl = strchr(line, '\n');

        next = nl ? nl + 1 : data + data_len;
        if (nl != NULL)
            *nl = '\0';
        lineno++;
        if (lineno == 1 || *line == '\0')
            continue; /* header, blank line */
        if (!split_tabs(line, f, 6) || strchr(f[5], '\t') != NULL) {
            printf("ERROR MANIFEST.tsv line %zu: not six TAB-separated "
                   "columns\n",
                   lineno);
            c.errors++;
            continue;
        }
        process_row(ctx, &st, argv[1], f, &c);
    }
    free(data);
    mtasts_ctx_free(ctx);
    if (harness_leaks() != 0) {
        printf("ERROR: %zu blocks still allocated after mtasts_ctx_free\n",
               harness_leaks());
        c.errors++;
    }

    printf("\ncorpus summary (policies, TXT records and reports):\n");
    for (k = 0; k < 3; k++) {
        printf("  %-10s checked %3zu  passed %3zu  failed %3zu\n",
               klass_names[k], c.checked[k], c.passed[k], c.failed[k]);
        total_failed += c.failed[k];
    }
    printf("  disputed rows (checked against doc/requirements.md): %zu\n",
           c.disputed);
    printf("  skipped (report rows of an unknown file type): %zu\n",
           c.skipped_tlsrpt);
    printf("  manifest/load errors: %zu\n", c.errors);
    printf("%s\n", total_failed == 0 && c.errors == 0 ? "PASS" : "FAIL");
    return total_failed == 0 && c.errors == 0 ? 0 : 1;
}
