/*
 * mtasts check [--json] [--dns-server IP[:PORT]]... [--ca-file FILE]
 *     [--connect-to HOST:PORT:HOST2:PORT2]... [--timeout SECONDS] DOMAIN
 *
 * The operator's check of their own domain, through libmtasts-net: the
 * _mta-sts TXT record(s), the policy host's certificate (name and expiry),
 * the policy and its warnings, max_age, every MX in DNS against the
 * policy's patterns and by a STARTTLS probe (certificate for its name,
 * expiry), and the _smtp._tls record with its rua. The result is a list
 * of findings with a severity and a stable code (mtasts(1), CHECK
 * FINDINGS).
 *
 * Exit: 0 no error finding, 1 an error finding, 2 usage, 3 the check
 * could not run (a temporary DNS failure on the TXT record), 4 internal.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mtasts.h"
#include "net_tool.h"
#include "text.h"
#include "tool.h"

#ifdef MTASTS_TOOL_NET

/* A certificate that expires within this is a warning. */
#define EXPIRES_SOON (14 * 86400)
/* max_age below this is a warning (RFC 8461 section 3.2 suggests weeks). */
#define MAX_AGE_SHORT 604800

enum severity {
    SEV_ERROR = 0,
    SEV_WARNING = 1,
    SEV_INFO = 2
};

static const char *const sev_names[] = {"error", "warning", "info"};

struct finding {
    int sev;
    const char *code;
    char *subject, *message;
};

struct ck {
    mtasts_ctx *ctx;
    const struct netopts *o;
    const char *domain;
    int64_t now;
    mtasts_net *net;
    char *sts_name, *url, *host;
    struct nt_txt sts;
    struct nt_fetch fetch;
    struct nt_tlsrpt tlsrpt;
    struct nt_mxlist mx;
    mtasts_policy *policy;
    char *id; /* the TXT record's id, when one record was found */
    int txt_tempfail;
    struct finding *f;
    size_t nf, errors, warnings;
    int oom;
};

/* Add a finding; message is printf-formatted. An allocation failure is
 * remembered (c->oom) and reported at the end. */
#if defined(__GNUC__)
__attribute__((format(printf, 5, 6)))
#endif
static void
add(struct ck *c, int sev, const char *code, const char *subject,
    const char *fmt, ...)
{
    struct finding *nv;
    va_list ap;
    char *msg;
    int n;

    if (c->oom)
        return;
    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    msg = n >= 0 ? malloc((size_t)n + 1) : NULL;
    nv = realloc(c->f, (c->nf + 1) * sizeof(*nv));
    if (msg == NULL || nv == NULL) {
        free(msg);
        if (nv != NULL)
            c->f = nv;
        c->oom = 1;
        return;
    }
    c->f = nv;
    va_start(ap, fmt);
    (void)vsnprintf(msg, (size_t)n + 1, fmt, ap);
    va_end(ap);
    nv[c->nf].sev = sev;
    nv[c->nf].code = code;
    nv[c->nf].message = msg;
    nv[c->nf].subject = nt_memdup(subject, strlen(subject));
    if (nv[c->nf].subject == NULL) {
        free(msg);
        c->oom = 1;
        return;
    }
    c->nf++;
    if (sev == SEV_ERROR)
        c->errors++;
    else if (sev == SEV_WARNING)
        c->warnings++;
}

static void
ck_free(struct ck *c)
{
    size_t i;

    mtasts_net_free(c->net); /* cancels what still runs into c */
    free(c->sts_name);
    free(c->url);
    free(c->host);
    nt_txt_free(&c->sts);
    nt_fetch_free(&c->fetch);
    nt_tlsrpt_free(&c->tlsrpt);
    nt_mxlist_free(&c->mx);
    mtasts_policy_free(c->policy);
    free(c->id);
    for (i = 0; i < c->nf; i++) {
        free(c->f[i].subject);
        free(c->f[i].message);
    }
    free(c->f);
}

/* A name function's output (snprintf semantics) in a new string. */
static int
name_of(int (*fn)(const char *, size_t, char *, size_t, size_t *),
        const char *domain, char **ret)
{
    size_t need = 0, n = strlen(domain);
    int rc;

    rc = fn(domain, n, NULL, 0, &need);
    if (rc != MTASTS_OK && rc != MTASTS_ERANGE)
        return rc;
    *ret = malloc(need + 1);
    if (*ret == NULL)
        return MTASTS_ENOMEM;
    return fn(domain, n, *ret, need + 1, NULL);
}

/* "expires in N days, on DATE" (or "expired on DATE") for a notAfter. */
static void
when(int64_t t, int64_t now, char *buf, size_t len)
{
    char date[64];

    nt_date(t, date, sizeof(date));
    if (t <= now)
        (void)snprintf(buf, len, "expired on %s", date);
    else
        (void)snprintf(buf, len, "expires in %lld days, on %s",
                       (long long)((t - now) / 86400), date);
}

/* ---- the _mta-sts record ---- */

static void
check_txt(struct ck *c)
{
    struct mtasts_diag d = MTASTS_DIAG_INIT;
    mtasts_sts_record *rec = NULL;
    const char *id;
    size_t l;
    uint64_t w;
    int out, rc, k;

    if (c->sts.status != MTASTS_OK || (c->sts.dns != MTASTS_NET_DNS_OK &&
                                       c->sts.dns != MTASTS_NET_DNS_NXDOMAIN &&
                                       c->sts.dns != MTASTS_NET_DNS_NODATA)) {
        c->txt_tempfail = 1;
        add(c, SEV_ERROR, "txt-tempfail", c->sts_name,
            "the TXT query failed (%s); the check cannot tell whether "
            "MTA-STS is published",
            c->sts.status != MTASTS_OK ? mtasts_net_strerror(c->sts.status)
                                       : nt_dns_name(c->sts.dns));
        return;
    }
    if (c->sts.dns != MTASTS_NET_DNS_OK) {
        add(c, SEV_ERROR, "txt-missing", c->sts_name,
            "no TXT record (%s): senders do not look for a policy",
            nt_dns_name(c->sts.dns));
        return;
    }
    rc = mtasts_sts_record_select(c->ctx, (const char *const *)c->sts.strs,
                                  c->sts.str_lens, c->sts.rr_nstr,
                                  c->sts.rr_count, 0, &out, &rec, &d);
    if (rc != MTASTS_OK) {
        c->oom = 1;
        return;
    }
    switch (out) {
    case MTASTS_SELECT_FOUND:
        id = mtasts_sts_record_id(rec, &l);
        c->id = nt_memdup(id, l);
        if (c->id == NULL)
            c->oom = 1;
        w = mtasts_sts_record_warnings(rec);
        for (k = 0; k < MTASTS_W_COUNT; k++)
            if (w & MTASTS_WARN_BIT(k))
                add(c, SEV_WARNING, "txt-warning", mtasts_warning_name(k),
                    "the record is accepted only through a tolerance (%s)",
                    mtasts_warning_name(k));
        break;
    case MTASTS_SELECT_NONE:
        add(c, SEV_ERROR, "txt-missing", c->sts_name,
            "no v=STSv1 record among %zu TXT records", c->sts.rr_count);
        break;
    case MTASTS_SELECT_MULTIPLE:
        add(c, SEV_ERROR, "txt-multiple", c->sts_name,
            "several v=STSv1 records: senders apply no policy "
            "(RFC 8461 section 3.1)");
        break;
    default:
        add(c, SEV_ERROR, "txt-invalid", c->sts_name,
            "the v=STSv1 record is invalid: %s (%s) at offset %zu",
            mtasts_reason_message(d.reason), mtasts_reason_name(d.reason),
            d.offset);
        break;
    }
    mtasts_sts_record_free(rec);
}

/* ---- the policy ---- */

/* text/plain, ignoring case, parameters and whitespace (the rule
 * mtasts_lookup_put_fetch() applies). */
static int
is_text_plain(const char *ct, size_t n)
{
    static const char want[] = "text/plain";
    size_t i = 0, e, k;

    if (ct == NULL)
        return 0;
    while (i < n && (ct[i] == ' ' || ct[i] == '\t'))
        i++;
    e = i;
    while (e < n && ct[e] != ';' && ct[e] != ' ' && ct[e] != '\t')
        e++;
    if (e - i != sizeof(want) - 1)
        return 0;
    for (k = 0; k < e - i; k++) {
        char ch = ct[i + k];
        if (ch >= 'A' && ch <= 'Z')
            ch = (char)(ch - 'A' + 'a');
        if (ch != want[k])
            return 0;
    }
    while (e < n && (ct[e] == ' ' || ct[e] == '\t'))
        e++;
    return e == n || ct[e] == ';';
}

static const char *
err_or(const char *e, const char *dflt)
{
    return e != NULL && e[0] != '\0' ? e : dflt;
}

static void
check_cert_fetch(struct ck *c)
{
    const struct nt_fetch *f = &c->fetch;
    const char *e = err_or(f->error, "no detail");

    switch (f->tls) {
    case MTASTS_TLS_CERT_EXPIRED:
        add(c, SEV_ERROR, "policy-cert-expired", c->host,
            "the policy host's certificate has expired (or is not yet "
            "valid): %s",
            e);
        break;
    case MTASTS_TLS_CERT_HOST_MISMATCH:
        add(c, SEV_ERROR, "policy-cert-host-mismatch", c->host,
            "the policy host's certificate is not valid for %s: %s", c->host,
            e);
        break;
    case MTASTS_TLS_CERT_UNTRUSTED:
        add(c, SEV_ERROR, "policy-cert-untrusted", c->host,
            "the policy host's certificate does not chain to a trusted "
            "CA: %s",
            e);
        break;
    default:
        add(c, SEV_ERROR, "policy-fetch-failed", c->url,
            "the certificate check failed: %s", e);
        break;
    }
}

static void
check_policy_body(struct ck *c)
{
    struct mtasts_diag d = MTASTS_DIAG_INIT;
    const struct nt_fetch *f = &c->fetch;
    uint64_t w;
    uint32_t age;
    int rc, k, mode;

    if (!is_text_plain(f->content_type, f->content_type_len)) {
        if (f->content_type == NULL)
            add(c, SEV_ERROR, "policy-content-type", c->url,
                "no Content-Type; the policy must be served as text/plain");
        else
            add(c, SEV_ERROR, "policy-content-type", c->url,
                "Content-Type is not text/plain; senders refuse the policy");
    }
    rc = mtasts_policy_parse(c->ctx, f->body, f->body_len, 0, &c->policy, &d);
    if (rc == MTASTS_ENOMEM) {
        c->oom = 1;
        return;
    }
    if (rc != MTASTS_OK) {
        add(c, SEV_ERROR, "policy-invalid", c->url,
            "the policy is invalid: %s (%s) at offset %zu, line %zu",
            d.reason != MTASTS_R_NONE ? mtasts_reason_message(d.reason)
                                      : mtasts_strerror(rc),
            mtasts_reason_name(d.reason), d.offset, d.line);
        return;
    }
    w = mtasts_policy_warnings(c->policy);
    for (k = 0; k < MTASTS_W_COUNT; k++)
        if (w & MTASTS_WARN_BIT(k))
            add(c, SEV_WARNING, "policy-warning", mtasts_warning_name(k),
                "the policy is accepted only through a tolerance (%s)",
                mtasts_warning_name(k));
    mode = mtasts_policy_mode(c->policy);
    if (mode == MTASTS_MODE_TESTING)
        add(c, SEV_INFO, "policy-mode-testing", c->url,
            "mode testing: failures are reported, mail is still delivered");
    else if (mode == MTASTS_MODE_NONE)
        add(c, SEV_WARNING, "policy-mode-none", c->url,
            "mode none: senders apply no policy");
    age = mtasts_policy_max_age(c->policy);
    if (w & MTASTS_WARN_BIT(MTASTS_W_MAX_AGE_CLAMPED))
        add(c, SEV_ERROR, "max-age-too-long", c->url,
            "max_age is above %lu seconds (one year); senders clamp it",
            (unsigned long)mtasts_max_age_max());
    else if (age < MAX_AGE_SHORT)
        add(c, SEV_WARNING, "max-age-short", c->url,
            "max_age %lu is under one week (%lu): a policy should outlive "
            "an attacker's window",
            (unsigned long)age, (unsigned long)MAX_AGE_SHORT);
}

static void
check_fetch(struct ck *c)
{
    const struct nt_fetch *f = &c->fetch;
    const char *e = err_or(f->error, "no detail");
    char buf[128];

    switch (f->transport) {
    case MTASTS_FETCH_OK:
        break;
    case MTASTS_FETCH_CONNECT:
        if (nt_fetch_unresolved(f))
            add(c, SEV_ERROR, "policy-host-unresolvable", c->host,
                "the policy host has no address: %s", e);
        else
            add(c, SEV_ERROR, "policy-fetch-failed", c->url,
                "cannot connect to the policy host: %s", e);
        return;
    case MTASTS_FETCH_CERT:
        check_cert_fetch(c);
        return;
    case MTASTS_FETCH_TOO_BIG:
        add(c, SEV_ERROR, "policy-too-big", c->url,
            "the policy is larger than %zu bytes",
            mtasts_ctx_get_limit(c->ctx, MTASTS_LIMIT_POLICY_SIZE));
        return;
    case MTASTS_FETCH_TIMEOUT:
        add(c, SEV_ERROR, "policy-fetch-failed", c->url,
            "the fetch timed out: %s", e);
        return;
    case MTASTS_FETCH_TLS:
        add(c, SEV_ERROR, "policy-fetch-failed", c->url,
            "the TLS handshake failed: %s", e);
        return;
    default:
        add(c, SEV_ERROR, "policy-fetch-failed", c->url, "the fetch failed: %s",
            e);
        return;
    }
    if (f->cert_not_after != 0 && f->cert_not_after - c->now < EXPIRES_SOON) {
        when(f->cert_not_after, c->now, buf, sizeof(buf));
        add(c, SEV_WARNING, "policy-cert-expires-soon", c->host,
            "the policy host's certificate %s", buf);
    }
    if (f->http_status != 200) {
        add(c, SEV_ERROR, "policy-http-status", c->url,
            "HTTP status %d; senders accept only 200 (no redirects)",
            f->http_status);
        return;
    }
    check_policy_body(c);
}

/* ---- TLSRPT ---- */

static void
check_tlsrpt(struct ck *c)
{
    const struct nt_tlsrpt *t = &c->tlsrpt;
    const char *e = err_or(t->error, "");
    uint64_t w;
    int k;

    if (t->txt.status != MTASTS_OK || (t->txt.dns != MTASTS_NET_DNS_OK &&
                                       t->txt.dns != MTASTS_NET_DNS_NXDOMAIN &&
                                       t->txt.dns != MTASTS_NET_DNS_NODATA)) {
        add(c, SEV_WARNING, "tlsrpt-tempfail", t->name, "%s", e);
        return;
    }
    switch (t->outcome) {
    case MTASTS_SELECT_FOUND:
        break;
    case MTASTS_SELECT_MULTIPLE:
        add(c, SEV_ERROR, "tlsrpt-multiple", t->name,
            "%s: senders send no report (RFC 8460 section 3)", e);
        return;
    case MTASTS_SELECT_INVALID:
        add(c, SEV_ERROR, "tlsrpt-invalid", t->name, "%s", e);
        return;
    default:
        add(c, SEV_WARNING, "tlsrpt-missing", t->name,
            "%s: failures will not be reported to you", e);
        return;
    }
    w = mtasts_tlsrpt_record_warnings(t->rec);
    for (k = 0; k < MTASTS_W_COUNT; k++)
        if (w & MTASTS_WARN_BIT(k))
            add(c, SEV_WARNING, "tlsrpt-warning", mtasts_warning_name(k),
                "the record is accepted only through a tolerance (%s)",
                mtasts_warning_name(k));
    if (w & MTASTS_WARN_BIT(MTASTS_W_NO_USABLE_RUA))
        add(c, SEV_ERROR, "tlsrpt-invalid", t->name,
            "no rua URI can receive reports (mailto: with an address, or "
            "https:)");
}

/* ---- MX ---- */

static void
check_mx_dns(struct ck *c)
{
    const struct nt_mxlist *l = &c->mx;

    if (l->null_mx) {
        add(c, SEV_INFO, "mx-null", c->domain,
            "null MX (RFC 7505): the domain accepts no mail");
        return;
    }
    if (l->dns == MTASTS_NET_DNS_NXDOMAIN) {
        add(c, SEV_ERROR, "mx-none", c->domain,
            "the domain does not exist (nxdomain)");
        return;
    }
    if (l->dns != MTASTS_NET_DNS_OK && l->dns != MTASTS_NET_DNS_NODATA)
        add(c, SEV_ERROR, "mx-tempfail", c->domain, "the MX query failed (%s)",
            nt_dns_name(l->dns));
}

static void
check_probe(struct ck *c, const struct nt_mx *m)
{
    const struct nt_probe *p = &m->probe;
    const char *h = m->host, *e = err_or(p->error, "no detail");
    char buf[128];

    switch (p->tls) {
    case MTASTS_TLS_OK:
        if (p->cert_not_after != 0 &&
            p->cert_not_after - c->now < EXPIRES_SOON) {
            when(p->cert_not_after, c->now, buf, sizeof(buf));
            add(c, SEV_WARNING, "mx-cert-expires-soon", h, "the certificate %s",
                buf);
        }
        break;
    case MTASTS_TLS_NO_STARTTLS:
        add(c, SEV_ERROR, "mx-no-starttls", h, "STARTTLS is not offered: %s",
            e);
        break;
    case MTASTS_TLS_CERT_EXPIRED:
        add(c, SEV_ERROR, "mx-cert-expired", h,
            "the certificate has expired (or is not yet valid): %s", e);
        break;
    case MTASTS_TLS_CERT_HOST_MISMATCH:
        add(c, SEV_ERROR, "mx-cert-host-mismatch", h,
            "the certificate is not valid for %s: %s", h, e);
        break;
    case MTASTS_TLS_CERT_UNTRUSTED:
        add(c, SEV_ERROR, "mx-cert-untrusted", h,
            "the certificate does not chain to a trusted CA: %s", e);
        break;
    default:
        if (p->connected)
            add(c, SEV_ERROR, "mx-tls-failed", h, "TLS failed: %s", e);
        else if (m->source == NT_MX_IMPLICIT && nt_probe_unresolved(p))
            add(c, SEV_ERROR, "mx-none", c->domain,
                "no MX record and no address: the domain cannot receive "
                "mail (%s)",
                e);
        else
            add(c, SEV_WARNING, "mx-unreachable", h,
                "no SMTP greeting on port 25: %s", e);
        break;
    }
}

static void
check_mx(struct ck *c)
{
    const struct nt_mx *m;
    size_t i;

    for (i = 0; i < c->mx.n; i++) {
        m = &c->mx.v[i];
        if (c->policy != NULL &&
            !mtasts_policy_mx_allowed(c->policy, m->host, m->host_len))
            add(c, SEV_ERROR, "mx-mismatch", m->host,
                "the MX matches no mx pattern of the policy: senders "
                "with an enforce policy skip it");
        check_probe(c, m);
    }
}

/* ---- output ---- */

static void
print_json(const struct ck *c)
{
    const struct finding *f;
    const struct nt_mx *m;
    size_t i;

    fputs("{\"domain\":", stdout);
    json_cstr(c->domain);
    fputs(",\"findings\":[", stdout);
    for (i = 0; i < c->nf; i++) {
        f = &c->f[i];
        if (i > 0)
            putchar(',');
        printf("{\"severity\":\"%s\",\"code\":\"%s\",\"subject\":",
               sev_names[f->sev], f->code);
        json_cstr(f->subject);
        fputs(",\"message\":", stdout);
        json_cstr(f->message);
        putchar('}');
    }
    printf("],\"errors\":%zu,\"warnings\":%zu,\"policy\":", c->errors,
           c->warnings);
    nt_policy_json(c->policy, c->id, c->id ? strlen(c->id) : 0);
    fputs(",\"tlsrpt\":", stdout);
    nt_tlsrpt_print(&c->tlsrpt, 1);
    fputs(",\"mx\":[", stdout);
    for (i = 0; i < c->mx.n; i++) {
        m = &c->mx.v[i];
        if (i > 0)
            putchar(',');
        fputs("{\"host\":", stdout);
        json_str(m->host, m->host_len);
        printf(",\"preference\":%d,\"source\":\"%s\",\"match\":", m->preference,
               m->source == NT_MX_IMPLICIT ? "implicit" : "dns");
        if (c->policy != NULL)
            fputs(mtasts_policy_mx_allowed(c->policy, m->host, m->host_len)
                      ? "true"
                      : "false",
                  stdout);
        else
            fputs("null", stdout);
        printf(",\"tls\":\"%s\",\"probe\":", nt_tls_name(m->probe.tls));
        nt_probe_json(&m->probe);
        putchar('}');
    }
    fputs("]}\n", stdout);
}

static void
print_text(const struct ck *c)
{
    const struct finding *f;
    const struct nt_mx *m;
    size_t i;

    fputs("check ", stdout);
    text_puts(stdout, c->domain);
    putchar('\n');
    for (i = 0; i < c->nf; i++) {
        f = &c->f[i];
        printf("%s %s ", sev_names[f->sev], f->code);
        text_puts(stdout, f->subject);
        fputs(": ", stdout);
        text_puts(stdout, f->message);
        putchar('\n');
    }
    if (c->policy != NULL) {
        if (c->id != NULL)
            text_field(stdout, "id", c->id, strlen(c->id));
        print_policy_fields(c->policy, 0);
    }
    nt_tlsrpt_print(&c->tlsrpt, 0);
    for (i = 0; i < c->mx.n; i++) {
        m = &c->mx.v[i];
        fputs("mx ", stdout);
        text_put(stdout, m->host, m->host_len);
        printf(" (%d%s):", m->preference,
               m->source == NT_MX_IMPLICIT ? ", implicit" : "");
        if (c->policy != NULL)
            fputs(mtasts_policy_mx_allowed(c->policy, m->host, m->host_len)
                      ? " match"
                      : " no match",
                  stdout);
        printf(" tls=%s", nt_tls_name(m->probe.tls));
        nt_probe_text(&m->probe);
        putchar('\n');
    }
    printf("errors: %zu, warnings: %zu\n", c->errors, c->warnings);
}

static int
oom(void)
{
    fputs("mtasts: out of memory\n", stderr);
    return EXIT_INTERNAL;
}

static int
run(struct ck *c)
{
    size_t i;
    int rc, ex;

    rc = name_of(mtasts_sts_txt_name, c->domain, &c->sts_name);
    if (rc == MTASTS_OK)
        rc = name_of(mtasts_domain_policy_url, c->domain, &c->url);
    if (rc == MTASTS_OK)
        rc = name_of(mtasts_domain_policy_host, c->domain, &c->host);
    if (rc == MTASTS_ENOMEM)
        return oom();
    if (rc != MTASTS_OK) {
        fputs("mtasts: check ", stderr);
        text_puts(stderr, c->domain);
        fprintf(stderr, ": %s\n", mtasts_strerror(rc));
        return EXIT_USAGE;
    }
    ex = nt_net_new(c->o, &c->net);
    if (ex != 0)
        return ex;
    /* the four questions at once, then the probes of the MX found */
    rc = mtasts_net_txt_start(c->net, c->sts_name, strlen(c->sts_name),
                              nt_txt_cb, &c->sts);
    if (rc == MTASTS_OK)
        rc = mtasts_net_fetch_start(
            c->net, c->url, strlen(c->url), c->host, strlen(c->host),
            c->o->timeout_ms,
            mtasts_ctx_get_limit(c->ctx, MTASTS_LIMIT_POLICY_SIZE), nt_fetch_cb,
            &c->fetch);
    if (rc == MTASTS_OK)
        rc = nt_tlsrpt_start(c->net, c->domain, &c->tlsrpt);
    c->mx.queried = 1;
    c->mx.domain = c->domain;
    if (rc == MTASTS_OK)
        rc = mtasts_net_mx_start(c->net, c->domain, strlen(c->domain), nt_mx_cb,
                                 &c->mx);
    if (rc == MTASTS_OK)
        rc = mtasts_net_wait(c->net, 0);
    if (rc == MTASTS_OK && c->fetch.status != MTASTS_OK)
        rc = c->fetch.status;
    if (rc == MTASTS_OK && c->mx.status != MTASTS_OK)
        rc = c->mx.status;
    if (rc == MTASTS_OK && c->sts.status == MTASTS_ENOMEM)
        rc = MTASTS_ENOMEM;
    if (rc == MTASTS_OK)
        rc = nt_tlsrpt_eval(c->ctx, &c->tlsrpt);
    /* a domain that does not exist has no implicit MX worth probing */
    if (c->mx.dns == MTASTS_NET_DNS_NXDOMAIN)
        nt_mxlist_free(&c->mx);
    if (rc == MTASTS_OK)
        rc = nt_mxlist_probe(c->net, &c->mx);
    if (rc == MTASTS_OK)
        rc = mtasts_net_wait(c->net, 0);
    for (i = 0; rc == MTASTS_OK && i < c->mx.n; i++)
        rc = c->mx.v[i].probe.status;
    if (rc != MTASTS_OK) {
        if (rc == MTASTS_ENOMEM)
            return oom();
        fputs("mtasts: check ", stderr);
        text_puts(stderr, c->domain);
        fprintf(stderr, ": %s\n", mtasts_net_strerror(rc));
        return EXIT_INTERNAL;
    }
    check_txt(c);
    check_fetch(c);
    check_tlsrpt(c);
    check_mx_dns(c);
    check_mx(c);
    if (c->oom)
        return oom();
    if (c->o->json)
        print_json(c);
    else
        print_text(c);
    if (c->txt_tempfail)
        return EXIT_TEMP;
    return c->errors > 0 ? 1 : 0;
}
#endif

int
cmd_check(mtasts_ctx *ctx, int argc, char **argv)
{
    struct netopts o;
    char *domain = NULL;
    int ex;

    if (netopts_parse(argc, argv, 0, &o, &ex) != 0) {
        netopts_free(&o);
        return ex;
    }
    ex = domain_arg("domain", o.argv[0], &domain);
    if (ex == 0) {
#ifdef MTASTS_TOOL_NET
        struct ck c;

        memset(&c, 0, sizeof(c));
        c.ctx = ctx;
        c.o = &o;
        c.domain = domain;
        c.now = o.now >= 0 ? o.now : (int64_t)time(NULL);
        c.tlsrpt.outcome = -1;
        ex = run(&c);
        ck_free(&c);
#else
        (void)ctx;
        ex = net_missing("check");
#endif
    }
    free(domain);
    netopts_free(&o);
    return ex;
}
