/*
 * mtasts report parse [--strict] [--json | --canonical] [--dkim-pass] FILE|-
 *
 * A TLS report (RFC 8460 section 4): JSON, gzip or a report e-mail.
 * `report build` is in cmd_report_build.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mtasts.h"
#include "text.h"
#include "tool.h"

/* UTC date-time of Unix seconds t (proleptic Gregorian calendar). */
static void
print_time(int64_t t)
{
    int64_t days = t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
    int64_t sod = t - days * 86400, z = days + 719468, era, doe, yoe, doy, mp;
    int64_t y, m, d;

    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    d = doy - (153 * mp + 2) / 5 + 1;
    m = mp < 10 ? mp + 3 : mp - 9;
    y = yoe + era * 400 + (m <= 2);
    printf("%04lld-%02lld-%02lldT%02lld:%02lld:%02lldZ", (long long)y,
           (long long)m, (long long)d, (long long)(sod / 3600),
           (long long)(sod / 60 % 60), (long long)(sod % 60));
}

/* Text member f (i, j) of r, escaped, or dflt when it is absent. */
static void
put_member(const mtasts_tlsrpt_report *r, int f, size_t i, size_t j,
           const char *dflt)
{
    size_t n;
    const char *t = mtasts_tlsrpt_report_text(r, f, i, j, &n);

    if (t != NULL)
        text_put(stdout, t, n);
    else
        fputs(dflt, stdout);
}

/* Print prefix, then member f (i, j) when it is present. */
static void
put_opt_member(const mtasts_tlsrpt_report *r, int f, size_t i, size_t j,
               const char *prefix, const char *suffix)
{
    size_t n;
    const char *t = mtasts_tlsrpt_report_text(r, f, i, j, &n);

    if (t == NULL)
        return;
    fputs(prefix, stdout);
    text_put(stdout, t, n);
    fputs(suffix, stdout);
}

/* The human summary of a parsed report. */
static void
print_report_summary(const mtasts_tlsrpt_report *r)
{
    size_t i, j, k, n = mtasts_tlsrpt_report_count(r, MTASTS_RC_POLICIES, 0);

    fputs("organization: ", stdout);
    put_member(r, MTASTS_RF_ORGANIZATION, 0, 0, "");
    fputs("\ncontact: ", stdout);
    put_member(r, MTASTS_RF_CONTACT, 0, 0, "(none)");
    fputs("\nreport-id: ", stdout);
    put_member(r, MTASTS_RF_REPORT_ID, 0, 0, "");
    fputs("\ndate-range: ", stdout);
    print_time(mtasts_tlsrpt_report_number(r, MTASTS_RN_START_TIME, 0, 0));
    fputs(" .. ", stdout);
    print_time(mtasts_tlsrpt_report_number(r, MTASTS_RN_END_TIME, 0, 0));
    putchar('\n');
    for (k = 0; k < mtasts_tlsrpt_report_diag_count(r); k++) {
        int w;
        const char *path;
        size_t pl;
        if (mtasts_tlsrpt_report_diag(r, k, &w, &path, &pl) != MTASTS_OK)
            continue;
        fputs("warning at ", stdout);
        if (pl > 0)
            text_put(stdout, path, pl);
        else
            fputs("(top)", stdout);
        printf(": %s\n", mtasts_warning_name(w));
    }
    for (i = 0; i < n; i++) {
        printf("policy %zu: ", i);
        put_member(r, MTASTS_RF_POLICY_TYPE, i, 0, "?");
        putchar(' ');
        put_member(r, MTASTS_RF_POLICY_DOMAIN, i, 0, "(no domain)");
        printf(": %lld successful, %lld failed sessions\n",
               (long long)mtasts_tlsrpt_report_number(
                   r, MTASTS_RN_SUCCESS_COUNT, i, 0),
               (long long)mtasts_tlsrpt_report_number(
                   r, MTASTS_RN_FAILURE_COUNT, i, 0));
        for (j = 0; j < mtasts_tlsrpt_report_count(r, MTASTS_RC_MX_HOSTS, i);
             j++) {
            fputs("  mx-host: ", stdout);
            put_member(r, MTASTS_RF_MX_HOST, i, j, "");
            putchar('\n');
        }
        for (j = 0; j < mtasts_tlsrpt_report_count(r, MTASTS_RC_DETAILS, i);
             j++) {
            fputs("  ", stdout);
            put_member(r, MTASTS_RF_RESULT_TYPE, i, j, "?");
            printf(": %lld session(s)",
                   (long long)mtasts_tlsrpt_report_number(
                       r, MTASTS_RN_FAILED_SESSIONS, i, j));
            put_opt_member(r, MTASTS_RF_SENDING_IP, i, j, " from ", "");
            put_opt_member(r, MTASTS_RF_RECEIVING_MX, i, j, " to ", "");
            put_opt_member(r, MTASTS_RF_REASON_CODE, i, j, " (", ")");
            putchar('\n');
        }
    }
}

/* Whether the input is an e-mail rather than JSON or gzip: it starts with
 * a header field ("Name:") or an mbox "From " line. */
static int
looks_like_mail(const char *b, size_t n)
{
    size_t i = 0;

    if (n >= 5 && memcmp(b, "From ", 5) == 0)
        return 1;
    /* real field names are letters, digits and hyphens; JSON starts
     * with '{' and gzip with 0x1f */
    while (i < n &&
           ((b[i] >= 'a' && b[i] <= 'z') || (b[i] >= 'A' && b[i] <= 'Z') ||
            (b[i] >= '0' && b[i] <= '9') || b[i] == '-'))
        i++;
    return i > 0 && i < n && b[i] == ':';
}

int
cmd_report_parse(mtasts_ctx *ctx, int argc, char **argv)
{
    struct mtasts_diag d = MTASTS_DIAG_INIT;
    mtasts_tlsrpt_report *r = NULL;
    mtasts_buf *js = NULL;
    struct opts o;
    const char *path = NULL;
    const uint8_t *data;
    size_t len, n, max;
    char *buf;
    int rc, i, canonical = 0, dkim_pass = 0, mail, mismatch = 0;

    memset(&o, 0, sizeof(o));
    for (i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--strict") == 0)
            o.flags |= MTASTS_PARSE_F_STRICT;
        else if (strcmp(argv[i], "--json") == 0)
            o.json = 1;
        else if (strcmp(argv[i], "--canonical") == 0)
            canonical = 1;
        else if (strcmp(argv[i], "--dkim-pass") == 0)
            dkim_pass = 1;
        else if (path == NULL && (argv[i][0] != '-' || argv[i][1] == '\0'))
            path = argv[i];
        else {
            usage();
            return EXIT_USAGE;
        }
    }
    if (path == NULL || (o.json && canonical)) {
        usage();
        return EXIT_USAGE;
    }
    /* gzip or JSON, detected by the library from the magic bytes, or a
     * report e-mail (base64 makes it a third larger than its report) */
    max = mtasts_ctx_get_limit(ctx, MTASTS_LIMIT_JSON_SIZE);
    max = max > SIZE_MAX / 2 ? SIZE_MAX - 1 : max * 2;
    buf = read_file(path, max, &len);
    if (buf == NULL)
        return EXIT_USAGE;
    mail = looks_like_mail(buf, len);
    if (mail) {
        /* RFC 8460 section 3: a report e-mail counts only with a valid
         * DKIM signature of the reporting domain, which this tool does
         * not check: the caller vouches for it with --dkim-pass */
        rc = mtasts_tlsrpt_mail_ingest(ctx, (const uint8_t *)buf, len,
                                       dkim_pass ? MTASTS_DKIM_PASS
                                                 : MTASTS_DKIM_FAIL,
                                       o.flags, &r, &mismatch, &d);
        if (rc == MTASTS_REFUSED)
            fputs("mtasts: report: the input is an e-mail; a report e-mail "
                  "is read only once its DKIM signature has been verified "
                  "(RFC 8460 section 3): verify it, then give --dkim-pass\n",
                  stderr);
    } else {
        rc = mtasts_tlsrpt_report_parse(ctx, (const uint8_t *)buf, len, o.flags,
                                        &r, &d);
    }
    free(buf);
    /* the JSON text only when it is printed: it is about as large as the
     * input */
    if (rc == MTASTS_OK && (canonical || o.json) &&
        mtasts_tlsrpt_report_format(r, 0, &js) != MTASTS_OK)
        rc = MTASTS_ENOMEM;
    if (rc == MTASTS_ENOMEM) {
        fputs("mtasts: out of memory\n", stderr);
        mtasts_tlsrpt_report_free(r);
        return EXIT_USAGE;
    }
    data = mtasts_buf_data(js, &n);
    if (canonical) {
        if (rc == MTASTS_OK) {
            fwrite(data, 1, n, stdout);
            putchar('\n');
        } else {
            fprintf(stderr, "mtasts: report: %s (%s) at offset %zu, line %zu\n",
                    mtasts_status_name(rc), mtasts_reason_name(d.reason),
                    d.offset, d.line);
        }
    } else if (o.json) {
        print_status(&o, "report", rc, &d);
        if (mail)
            printf(",\"mismatch\":%s", mismatch ? "true" : "false");
        fputs(",\"report\":", stdout);
        if (rc == MTASTS_OK)
            fwrite(data, 1, n, stdout);
        else
            fputs("null", stdout);
        fputs("}\n", stdout);
    } else {
        print_status(&o, "report", rc, &d);
        if (rc == MTASTS_OK && mismatch)
            puts("warning: the attachment name or the Subject disagrees "
                 "with the report; the report wins (RFC 8460 section 5.6)");
        if (rc == MTASTS_OK)
            print_report_summary(r);
    }
    mtasts_buf_free(js);
    mtasts_tlsrpt_report_free(r);
    return rc == MTASTS_OK ? 0 : EXIT_INVALID;
}
