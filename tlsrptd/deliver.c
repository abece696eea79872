/*
 * Sending the reports of a day, one report at a time:
 *
 *  1. The report domain's _smtp._tls TXT RRset is looked up through
 *     libmtasts-net (blocking: this runs in the sender thread, or in the
 *     send command) and the record selected and parsed by the core
 *     (mtasts_tlsrpt_record_select()). No record, several, an invalid
 *     one, or no usable rua: nothing to send (state none, logged). A DNS
 *     failure that may pass (SERVFAIL, timeout): tried again on the
 *     delivery schedule below.
 *  2. For each usable rua the exact bytes to send are made and recorded,
 *     all in one transaction, before the first attempt: for mailto: the
 *     message of mtasts_tlsrpt_mail_build() (gzip'd attachment, RFC 8460
 *     section 5.3) with "TLS-Required: No" (RFC 8689) in front and LF line
 *     ends (the local submission format); for https: the gzip'd report
 *     of mtasts_tlsrpt_https_body_build() (section 5.4). The report is
 *     read back from its recorded JSON, which must format to the same
 *     bytes, so every destination gets the report as recorded.
 *  3. Each destination is tried on its own: mailto: by piping the
 *     message to "SENDMAIL -i -t" (exit status 0: handed over); https: a
 *     POST with libcurl (only a 2xx counts, RFC 8460 section 5.4; no
 *     redirect is followed). A failure is tried again after
 *     retry_interval, then twice as long each time, for as long as
 *     mtasts_tlsrpt_retry_time() allows (24 hours with the default 300 s;
 *     9 attempts in all), then given up (state failed, logged).
 *
 * In fleet mode a report is sent by the one host that holds its claim
 * (fleet.c); a destination another host delivered is not sent again.
 * A dry run writes each destination's bytes to a directory (or lists
 * them) and records nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "mtasts_net.h"
#include "td.h"

#define SENDMAIL_ARGS_MAX 32

int
td_net_global_init(void)
{
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

int
td_sender_init(struct td_sender *s, const struct td_config *cfg,
               struct td_store *store, struct td_fleet *fleet)
{
    memset(s, 0, sizeof(*s));
    s->cfg = cfg;
    s->store = store;
    s->fleet = fleet;
    if (mtasts_ctx_new(NULL, &s->ctx) != MTASTS_OK) {
        td_log(TD_LOG_ERR, "out of memory");
        return -1;
    }
    return 0;
}

void
td_sender_fini(struct td_sender *s)
{
    mtasts_net_free(s->net);
    if (s->curl != NULL)
        curl_easy_cleanup(s->curl);
    mtasts_ctx_free(s->ctx);
    s->net = s->curl = NULL;
    s->ctx = NULL;
}

static char *
dup_s(const char *p, size_t n)
{
    char *d = malloc(n + 1);

    if (d != NULL) {
        memcpy(d, p, n);
        d[n] = '\0';
    }
    return d;
}

/* ------------------------------------------------------------------ */
/* The _smtp._tls lookup                                               */
/* ------------------------------------------------------------------ */

enum {
    LK_FOUND = 0,
    LK_NONE = 1, /* nothing to send: final */
    LK_TEMP = 2  /* try again later */
};

struct lookup {
    struct td_sender *s;
    int done;
    int outcome;
    mtasts_tlsrpt_record *rec;
    char *err;
    size_t err_len;
};

static void
txt_done(void *user, int status, const struct mtasts_net_txt *txt)
{
    struct lookup *l = user;
    struct mtasts_diag diag = MTASTS_DIAG_INIT;
    int outcome, rc;

    l->done = 1;
    if (status != 0 || txt == NULL) {
        l->outcome = LK_TEMP;
        snprintf(l->err, l->err_len, "DNS: %s", mtasts_net_strerror(status));
        return;
    }
    switch (txt->status) {
    case MTASTS_NET_DNS_OK:
        break;
    case MTASTS_NET_DNS_NXDOMAIN:
    case MTASTS_NET_DNS_NODATA:
        l->outcome = LK_NONE;
        snprintf(l->err, l->err_len, "no TLSRPT record (%s)",
                 mtasts_net_dns_status_name(txt->status));
        return;
    default:
        l->outcome = LK_TEMP;
        snprintf(l->err, l->err_len, "DNS: %s",
                 mtasts_net_dns_status_name(txt->status));
        return;
    }
    rc = mtasts_tlsrpt_record_select(l->s->ctx, txt->strs, txt->str_lens,
                                     txt->rr_nstr, txt->rr_count, 0, &outcome,
                                     &l->rec, &diag);
    if (rc != MTASTS_OK) {
        l->outcome = LK_TEMP;
        snprintf(l->err, l->err_len, "reading the record: %s",
                 mtasts_status_name(rc));
        return;
    }
    switch (outcome) {
    case MTASTS_SELECT_FOUND:
        l->outcome = LK_FOUND;
        break;
    case MTASTS_SELECT_MULTIPLE:
        l->outcome = LK_NONE;
        snprintf(l->err, l->err_len,
                 "more than one TLSRPT record (RFC 8460 section 3: none "
                 "is used)");
        break;
    case MTASTS_SELECT_INVALID:
        l->outcome = LK_NONE;
        snprintf(l->err, l->err_len,
                 "invalid TLSRPT record: %s at byte %zu (%s)",
                 mtasts_status_name(diag.code), diag.offset,
                 mtasts_reason_name(diag.reason) != NULL
                     ? mtasts_reason_name(diag.reason)
                     : "?");
        break;
    default:
        l->outcome = LK_NONE;
        snprintf(l->err, l->err_len, "no TLSRPT record among the TXT records");
        break;
    }
}

static int
net_handle(struct td_sender *s)
{
    struct mtasts_net_config nc;
    mtasts_net *net;
    int rc;

    if (s->net != NULL)
        return 0;
    memset(&nc, 0, sizeof(nc));
    nc.version = MTASTS_NET_CONFIG_VERSION;
    nc.dns_servers = s->cfg->dns_servers;
    nc.ca_file = s->cfg->ca_file;
    nc.connect_to = s->cfg->connect_to;
    nc.connect_to_count = s->cfg->nconnect_to;
    rc = mtasts_net_new(&nc, &net);
    if (rc != MTASTS_OK) {
        td_log(TD_LOG_ERR,
               "libmtasts-net: %s (the dns_server, ca_file and "
               "connect_to settings)",
               mtasts_net_strerror(rc));
        return -1;
    }
    s->net = net;
    return 0;
}

static int
lookup(struct td_sender *s, const char *domain, mtasts_tlsrpt_record **ret,
       char *err, size_t err_len)
{
    struct lookup l;
    char name[MTASTS_DOMAIN_MAX_LEN + 16];
    size_t need;
    int rc;

    *ret = NULL;
    memset(&l, 0, sizeof(l));
    l.s = s;
    l.err = err;
    l.err_len = err_len;
    if (net_handle(s) != 0) {
        snprintf(err, err_len, "no DNS (libmtasts-net failed)");
        return LK_TEMP;
    }
    if (mtasts_tlsrpt_txt_name(domain, strlen(domain), name, sizeof(name),
                               &need) != MTASTS_OK) {
        snprintf(err, err_len, "not a domain name");
        return LK_NONE;
    }
    rc = mtasts_net_txt_start(s->net, name, strlen(name), txt_done, &l);
    if (rc == MTASTS_OK)
        rc = mtasts_net_wait(s->net, (uint32_t)s->cfg->timeout * 1000u);
    if (rc != MTASTS_OK || !l.done) {
        int done = l.done;

        /* a request left running is cancelled with the handle (its
         * callback runs then: what it says is not the reason) */
        mtasts_net_free(s->net);
        s->net = NULL;
        if (!done)
            snprintf(err, err_len, "DNS: %s", mtasts_net_strerror(rc));
        mtasts_tlsrpt_record_free(l.rec);
        return LK_TEMP;
    }
    if (l.outcome != LK_FOUND) {
        mtasts_tlsrpt_record_free(l.rec);
        return l.outcome;
    }
    *ret = l.rec;
    return LK_FOUND;
}

/* ------------------------------------------------------------------ */
/* The bytes to send                                                   */
/* ------------------------------------------------------------------ */

static void
mail_date(int64_t t, char *dst, size_t len)
{
    static const char *const wd[] = {"Sun", "Mon", "Tue", "Wed",
                                     "Thu", "Fri", "Sat"};
    static const char *const mon[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    time_t tt = (time_t)t;
    struct tm tm;

    gmtime_r(&tt, &tm);
    snprintf(dst, len, "%s, %02d %s %04d %02d:%02d:%02d +0000",
             wd[tm.tm_wday % 7], tm.tm_mday, mon[tm.tm_mon % 12],
             tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* One addr-spec that "sendmail -t" reads as one recipient: a local part
 * and a domain of printable ASCII without blanks, quotes, commas,
 * brackets or parentheses. */
static int
address_ok(const char *a)
{
    const char *at = strchr(a, '@'), *p;

    if (at == NULL || at == a || at[1] == '\0' || strchr(at + 1, '@') != NULL)
        return 0;
    for (p = a; *p != '\0'; p++)
        if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7F ||
            strchr("\"(),:;<>[\\]", *p) != NULL)
            return 0;
    return 1;
}

/* The message of report rep to address to, as piped to sendmail. */
static int
mail_payload(struct td_sender *s, const mtasts_tlsrpt_report *rep,
             const char *report_id, const char *to, size_t index, int64_t now,
             uint8_t **ret, size_t *ret_len, char *err, size_t err_len)
{
    struct mtasts_tlsrpt_mail_fields mf;
    const char *contact, *submitter, *from, *msg;
    char date[64], mid[600];
    size_t clen = 0, mlen, i, o, k;
    mtasts_buf *m = NULL;
    uint8_t *out;
    int rc;

    contact = mtasts_tlsrpt_report_text(rep, MTASTS_RF_CONTACT, 0, 0, &clen);
    submitter = contact != NULL ? memchr(contact, '@', clen) : NULL;
    if (submitter == NULL) {
        snprintf(err, err_len, "the report's contact-info has no domain");
        return -1;
    }
    submitter++;
    from = s->cfg->from != NULL ? s->cfg->from : s->cfg->contact;
    mail_date(now, date, sizeof(date));
    /* Message-ID: the report-id (its atext) . index @ submitter */
    for (i = o = 0; report_id[i] != '\0' && o < 400; i++)
        mid[o++] = strchr("<>@ \t\r\n\"(),:;[]\\", report_id[i]) == NULL &&
                           (unsigned char)report_id[i] > ' ' &&
                           (unsigned char)report_id[i] < 0x7F
                       ? report_id[i]
                       : '-';
    snprintf(mid + o, sizeof(mid) - o, ".%zu@%.*s", index,
             (int)(clen - (size_t)(submitter - contact)), submitter);
    memset(&mf, 0, sizeof(mf));
    mf.version = MTASTS_MAIL_FIELDS_VERSION;
    mf.from = from;
    mf.from_len = strlen(from);
    mf.to = to;
    mf.to_len = strlen(to);
    mf.submitter = submitter;
    mf.submitter_len = clen - (size_t)(submitter - contact);
    mf.date = date;
    mf.date_len = strlen(date);
    mf.message_id = mid;
    mf.message_id_len = strlen(mid);
    rc = mtasts_tlsrpt_mail_build(rep, &mf, MTASTS_DELIVER_F_GZIP, &m);
    if (rc != MTASTS_OK) {
        snprintf(err, err_len, "building the mail: %s%s",
                 mtasts_status_name(rc),
                 rc == MTASTS_ESYNTAX ? " (check the from setting)" : "");
        return rc == MTASTS_ENOMEM ? MTASTS_ENOMEM : -1;
    }
    msg = (const char *)mtasts_buf_data(m, &mlen);
    out = malloc(mlen + 32);
    if (out == NULL) {
        mtasts_buf_free(m);
        return MTASTS_ENOMEM;
    }
    /* "TLS-Required: No" first (RFC 8689: deliver despite TLS policy
     * failures, as RFC 8460 section 3 requires of reports); LF line ends */
    memcpy(out, "TLS-Required: No\n", 17);
    o = 17;
    for (k = 0; k < mlen; k++) {
        if (msg[k] == '\r' && k + 1 < mlen && msg[k + 1] == '\n')
            continue;
        out[o++] = (uint8_t)msg[k];
    }
    mtasts_buf_free(m);
    *ret = out;
    *ret_len = o;
    return 0;
}

int
td_make_deliveries(struct td_sender *s, const struct td_report *r,
                   const mtasts_tlsrpt_record *rec, int64_t now,
                   struct td_delivery **ret, size_t *ret_n, char *err,
                   size_t err_len)
{
    struct mtasts_diag diag = MTASTS_DIAG_INIT;
    mtasts_tlsrpt_report *rep = NULL;
    struct td_delivery *d;
    mtasts_buf *again = NULL, *body;
    const uint8_t *p;
    const char *uri, *target, *ct;
    size_t count = mtasts_tlsrpt_record_rua_count(rec), i, n = 0, len, ul, tl;
    int rc, kind;

    *ret = NULL;
    *ret_n = 0;
    rc = mtasts_tlsrpt_report_parse(s->ctx, r->json, r->len, 0, &rep, &diag);
    if (rc == MTASTS_OK)
        rc = mtasts_tlsrpt_report_format(rep, 0, &again);
    if (rc != MTASTS_OK) {
        snprintf(err, err_len,
                 "the recorded report does not read back: %s at byte %zu",
                 mtasts_status_name(rc), diag.offset);
        mtasts_tlsrpt_report_free(rep);
        return rc == MTASTS_ENOMEM ? MTASTS_ENOMEM : -1;
    }
    p = mtasts_buf_data(again, &len);
    if (len != r->len || memcmp(p, r->json, len) != 0) {
        snprintf(err, err_len,
                 "the recorded report does not format back to its bytes");
        mtasts_buf_free(again);
        mtasts_tlsrpt_report_free(rep);
        return -1;
    }
    mtasts_buf_free(again);
    d = calloc(count + 1, sizeof(*d));
    if (d == NULL) {
        mtasts_tlsrpt_report_free(rep);
        return MTASTS_ENOMEM;
    }
    for (i = 0; i < count; i++) {
        uri = mtasts_tlsrpt_record_rua(rec, i, &ul);
        kind = mtasts_tlsrpt_record_rua_kind(rec, i);
        target = mtasts_tlsrpt_record_rua_target(rec, i, &tl);
        if (kind == MTASTS_RUA_MAILTO && !address_ok(target))
            kind = MTASTS_RUA_OTHER;
        if (kind != MTASTS_RUA_MAILTO && kind != MTASTS_RUA_HTTPS) {
            td_log(TD_LOG_WARNING,
                   "report for %s: rua %.300s is not usable (only mailto: "
                   "with one address and https: are)",
                   r->domain, uri != NULL ? uri : "?");
            continue;
        }
        d[n].uri = dup_s(uri, ul);
        d[n].target = dup_s(target, tl);
        d[n].kind = kind == MTASTS_RUA_MAILTO ? TD_KIND_MAILTO : TD_KIND_HTTPS;
        d[n].state = TD_DLV_PENDING;
        d[n].next = now;
        d[n].error = dup_s("", 0);
        n++;
        if (d[n - 1].uri == NULL || d[n - 1].target == NULL ||
            d[n - 1].error == NULL) {
            rc = MTASTS_ENOMEM;
            goto fail;
        }
        if (d[n - 1].kind == TD_KIND_MAILTO) {
            rc = mail_payload(s, rep, r->report_id, d[n - 1].target, i, now,
                              &d[n - 1].payload, &d[n - 1].len, err, err_len);
            ct = "message/rfc822";
        } else {
            rc = mtasts_tlsrpt_https_body_build(rep, MTASTS_DELIVER_F_GZIP,
                                                &body, &ct, NULL);
            if (rc == MTASTS_OK) {
                p = mtasts_buf_data(body, &len);
                d[n - 1].payload = malloc(len + 1);
                if (d[n - 1].payload != NULL) {
                    memcpy(d[n - 1].payload, p, len);
                    d[n - 1].len = len;
                } else
                    rc = MTASTS_ENOMEM;
                mtasts_buf_free(body);
            } else
                snprintf(err, err_len, "building the POST body: %s",
                         mtasts_status_name(rc));
        }
        if (rc != 0)
            goto fail;
        d[n - 1].content_type = dup_s(ct, strlen(ct));
        if (d[n - 1].content_type == NULL) {
            rc = MTASTS_ENOMEM;
            goto fail;
        }
        if (mtasts_tlsrpt_too_large(d[n - 1].len))
            td_log(TD_LOG_WARNING,
                   "report for %s: %zu bytes to %s: many receivers refuse "
                   "more than 10 MB",
                   r->domain, d[n - 1].len, d[n - 1].uri);
    }
    mtasts_tlsrpt_report_free(rep);
    *ret = d;
    *ret_n = n;
    return 0;
fail:
    mtasts_tlsrpt_report_free(rep);
    td_store_deliveries_free(d, n);
    if (rc == MTASTS_ENOMEM)
        snprintf(err, err_len, "out of memory");
    return rc;
}

/* ------------------------------------------------------------------ */
/* Transports                                                          */
/* ------------------------------------------------------------------ */

/* Pipe msg to "SENDMAIL -i -t"; 0 when it exits 0, else -1 with err. */
static int
run_sendmail(const struct td_config *cfg, const uint8_t *msg, size_t len,
             char *err, size_t err_len)
{
    static char opt_i[] = "-i", opt_t[] = "-t";
    char cmdline[1024], *argv[SENDMAIL_ARGS_MAX + 3], *tok, *save = NULL;
    char out[400];
    int in[2] = {-1, -1}, eo[2] = {-1, -1}, argc = 0, status = 0, got = 0;
    size_t off = 0, olen = 0;
    struct pollfd pf[2];
    int64_t deadline;
    pid_t pid, w;
    ssize_t k;

    snprintf(cmdline, sizeof(cmdline), "%s", cfg->sendmail);
    for (tok = strtok_r(cmdline, " \t", &save);
         tok != NULL && argc < SENDMAIL_ARGS_MAX;
         tok = strtok_r(NULL, " \t", &save))
        argv[argc++] = tok;
    if (argc == 0) {
        snprintf(err, err_len, "no sendmail command");
        return -1;
    }
    argv[argc++] = opt_i;
    argv[argc++] = opt_t;
    argv[argc] = NULL;
    if (pipe2(in, O_CLOEXEC) != 0 || pipe2(eo, O_CLOEXEC) != 0) {
        snprintf(err, err_len, "pipe: %s", strerror(errno));
        goto fail_fds;
    }
    pid = fork();
    if (pid < 0) {
        snprintf(err, err_len, "fork: %s", strerror(errno));
        goto fail_fds;
    }
    if (pid == 0) {
        /* only async-signal-safe calls until exec */
        if (dup2(in[0], 0) < 0 || dup2(eo[1], 1) < 0 || dup2(eo[1], 2) < 0)
            _exit(127);
        execv(argv[0], argv);
        _exit(127);
    }
    close(in[0]);
    close(eo[1]);
    in[0] = eo[1] = -1;
    fcntl(in[1], F_SETFL, O_NONBLOCK);
    fcntl(eo[0], F_SETFL, O_NONBLOCK);
    deadline = (int64_t)time(NULL) + cfg->timeout;
    for (;;) {
        w = waitpid(pid, &status, WNOHANG);
        if (w == pid) {
            got = 1;
            break;
        }
        if ((int64_t)time(NULL) > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            snprintf(err, err_len, "%s did not finish within %d s", argv[0],
                     cfg->timeout);
            goto fail_fds;
        }
        pf[0].fd = in[1];
        pf[0].events = POLLOUT;
        pf[1].fd = eo[0];
        pf[1].events = POLLIN;
        poll(pf, 2, 50);
        if (in[1] >= 0 && (pf[0].revents & (POLLOUT | POLLERR | POLLHUP))) {
            k = write(in[1], msg + off, len - off);
            if (k > 0)
                off += (size_t)k;
            if ((k < 0 && errno != EAGAIN && errno != EINTR) || off == len) {
                close(in[1]);
                in[1] = -1;
            }
        }
        if (in[1] < 0)
            pf[0].fd = -1;
        if (eo[0] >= 0 && (pf[1].revents & (POLLIN | POLLHUP))) {
            char junk[512];
            k = read(eo[0], olen < sizeof(out) - 1 ? out + olen : junk,
                     olen < sizeof(out) - 1 ? sizeof(out) - 1 - olen
                                            : sizeof(junk));
            if (k > 0 && olen < sizeof(out) - 1)
                olen += (size_t)k;
        }
    }
    /* what it wrote last */
    for (;;) {
        k = read(eo[0], out + olen, sizeof(out) - 1 - olen);
        if (k <= 0 || olen + (size_t)k >= sizeof(out) - 1)
            break;
        olen += (size_t)k;
    }
    out[olen] = '\0';
    for (k = 0; (size_t)k < olen; k++)
        if (out[k] == '\n' || out[k] == '\r' || out[k] == '\t')
            out[k] = ' ';
    if (in[1] >= 0)
        close(in[1]);
    close(eo[0]);
    if (got && WIFEXITED(status) && WEXITSTATUS(status) == 0 && off == len)
        return 0;
    if (got && WIFEXITED(status) && WEXITSTATUS(status) == 0)
        snprintf(err, err_len, "%s exited after reading %zu of the %zu bytes",
                 argv[0], off, len);
    else if (got && WIFEXITED(status) && WEXITSTATUS(status) == 127 &&
             olen == 0)
        snprintf(err, err_len, "cannot run %s", argv[0]);
    else if (got && WIFEXITED(status))
        snprintf(err, err_len, "%s exited with status %d%s%.300s", argv[0],
                 WEXITSTATUS(status), olen > 0 ? ": " : "", out);
    else
        snprintf(err, err_len, "%s was killed by signal %d", argv[0],
                 WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    return -1;
fail_fds:
    if (in[0] >= 0)
        close(in[0]);
    if (in[1] >= 0)
        close(in[1]);
    if (eo[0] >= 0)
        close(eo[0]);
    if (eo[1] >= 0)
        close(eo[1]);
    return -1;
}

static size_t
discard(char *p, size_t size, size_t n, void *user)
{
    size_t *total = user;

    (void)p;
    *total += size * n;
    return *total > 65536 ? 0 : size * n; /* a short answer is enough */
}

/* POST body to url; 0 on a 2xx, else -1 with err. */
static int
post(struct td_sender *s, const char *url, const uint8_t *body, size_t len,
     const char *ctype, char *err, size_t err_len)
{
    const struct td_config *cfg = s->cfg;
    struct curl_slist *hdr = NULL, *ct = NULL, *nl;
    char h[128], ebuf[CURL_ERROR_SIZE];
    long status = 0;
    size_t total = 0, i;
    CURLcode cc;
    CURL *c;

    if (s->curl == NULL && (s->curl = curl_easy_init()) == NULL) {
        snprintf(err, err_len, "libcurl: out of memory");
        return -1;
    }
    c = s->curl;
    curl_easy_reset(c);
    snprintf(h, sizeof(h), "Content-Type: %s", ctype);
    nl = curl_slist_append(hdr, h);
    if (nl != NULL)
        hdr = nl;
    nl = curl_slist_append(hdr, "Expect:");
    if (nl != NULL)
        hdr = nl;
    for (i = 0; i < cfg->nconnect_to; i++) {
        nl = curl_slist_append(ct, cfg->connect_to[i]);
        if (nl != NULL)
            ct = nl;
    }
    ebuf[0] = '\0';
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, (const char *)body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "mtasts-tlsrptd");
    curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)cfg->timeout);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT,
                     (long)(cfg->timeout < 10 ? cfg->timeout : 10));
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &total);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, ebuf);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, cfg->https_verify ? 1L : 0L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, cfg->https_verify ? 2L : 0L);
    curl_easy_setopt(c, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
    if (cfg->ca_file != NULL)
        curl_easy_setopt(c, CURLOPT_CAINFO, cfg->ca_file);
    if (ct != NULL)
        curl_easy_setopt(c, CURLOPT_CONNECT_TO, ct);
    cc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(c, CURLOPT_CONNECT_TO, NULL);
    curl_slist_free_all(hdr);
    curl_slist_free_all(ct);
    if (cc != CURLE_OK && !(cc == CURLE_WRITE_ERROR && status > 0)) {
        snprintf(err, err_len, "POST: %s%s%.300s", curl_easy_strerror(cc),
                 ebuf[0] ? ": " : "", ebuf);
        return -1;
    }
    if (!mtasts_tlsrpt_https_delivered((int)status)) {
        snprintf(err, err_len, "POST: HTTP status %ld", status);
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* A dry run: the files                                                */
/* ------------------------------------------------------------------ */

/* Write buf to dir/name atomically (a temporary file, fsync, rename). */
int
td_write_file(const char *dir, const char *name, const uint8_t *buf, size_t len,
              char *path, size_t path_len)
{
    char tmp[4200];
    ssize_t w;
    size_t off = 0;
    int fd;

    snprintf(path, path_len, "%s/%s", dir, name);
    snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, name);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    while (off < len) {
        w = write(fd, buf + off, len - off);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            close(fd);
            unlink(tmp);
            return -1;
        }
        off += (size_t)w;
    }
    if (fsync(fd) != 0 || close(fd) != 0 || rename(tmp, path) != 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

/* Write (or list) what would be sent to the destinations d (n) of r. */
static int
dry_run(struct td_sender *s, const struct td_report *r,
        const struct td_delivery *d, size_t n)
{
    char name[MTASTS_DOMAIN_MAX_LEN + 32], path[4200];
    size_t i;

    for (i = 0; i < n; i++) {
        snprintf(name, sizeof(name), "%s.rua-%zu.%s", r->domain, i + 1,
                 d[i].kind == TD_KIND_MAILTO ? "eml" : "post");
        if (s->out_dir != NULL) {
            if (td_write_file(s->out_dir, name, d[i].payload, d[i].len, path,
                              sizeof(path)) != 0) {
                td_log(TD_LOG_ERR, "cannot write %s/%s: %s", s->out_dir, name,
                       strerror(errno));
                return -1;
            }
        } else
            snprintf(path, sizeof(path), "-");
        s->written++;
        if (s->to_stdout)
            printf("%s\t%s\twould send %zu bytes (%s)\t%s\n", r->domain,
                   d[i].uri, d[i].len, d[i].content_type, path);
        else
            td_log(TD_LOG_INFO, "report for %s to %s: written to %s", r->domain,
                   d[i].uri, path);
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* One report                                                          */
/* ------------------------------------------------------------------ */

static void
say(struct td_sender *s, const struct td_report *r, const char *uri,
    const char *what)
{
    if (s->to_stdout)
        printf("%s\t%s\t%s\n", r->domain, uri, what);
}

/* The lookup of report r: done now when due. Returns the next time (or
 * 0 when final, -1 on a store error); *rua the state after. */
static int64_t
do_lookup(struct td_sender *s, int64_t day, const struct td_report *r,
          struct td_rua *rua, int64_t now)
{
    mtasts_tlsrpt_record *rec = NULL;
    struct td_delivery *d = NULL;
    char err[512];
    size_t n = 0, fl;
    int64_t next;
    int lk, rc;

    err[0] = '\0';
    lk = lookup(s, r->domain, &rec, err, sizeof(err));
    if (lk == LK_FOUND) {
        rc = td_make_deliveries(s, r, rec, now, &d, &n, err, sizeof(err));
        if (rc == MTASTS_ENOMEM) {
            mtasts_tlsrpt_record_free(rec);
            td_log(TD_LOG_ERR, "report for %s: out of memory", r->domain);
            return now + 60;
        }
        if (rc != 0)
            lk = LK_NONE;
        else if (n == 0) {
            lk = LK_NONE;
            snprintf(err, sizeof(err), "no usable rua in the record");
        }
        if (lk == LK_FOUND)
            (void)mtasts_tlsrpt_record_format(rec, rua->record,
                                              sizeof(rua->record), &fl);
        mtasts_tlsrpt_record_free(rec);
    }
    if (s->dry_run) {
        if (lk == LK_FOUND)
            rc = dry_run(s, r, d, n);
        else {
            rc = 0;
            s->norua++;
            say(s, r, "-", err);
            td_log(TD_LOG_INFO, "report for %s: not sent: %s", r->domain, err);
        }
        td_store_deliveries_free(d, n);
        return rc == 0 ? 0 : -1;
    }
    if (lk == LK_FOUND) {
        rua->state = TD_RUA_READY;
        rua->error[0] = '\0';
        rua->attempts++;
        if (rua->first == 0)
            rua->first = now;
        rc = td_store_rua_ready(s->store, day, r->domain, rua, d, n);
        td_store_deliveries_free(d, n);
        if (rc != 0) {
            td_log(TD_LOG_ERR, "report for %s: %s", r->domain,
                   td_store_error(s->store));
            return -1;
        }
        td_log(TD_LOG_INFO, "report for %s: %zu destination(s) from %s",
               r->domain, n, rua->record);
        return now;
    }
    if (lk == LK_TEMP) {
        rua->attempts++;
        if (rua->first == 0)
            rua->first = now;
        next = td_retry_time(s->cfg, rua->first, rua->attempts);
        snprintf(rua->error, sizeof(rua->error), "%s", err);
        if (next == 0) {
            rua->state = TD_RUA_NONE;
            td_log(TD_LOG_ERR,
                   "report for %s: not sent: the _smtp._tls lookup failed "
                   "%u times (last: %s); given up",
                   r->domain, rua->attempts, err);
        } else {
            rua->state = TD_RUA_LOOKUP;
            rua->next = next;
            td_log(TD_LOG_WARNING,
                   "report for %s: _smtp._tls lookup failed (%s); tried "
                   "again in %lld s",
                   r->domain, err, (long long)(next - now));
        }
    } else {
        rua->state = TD_RUA_NONE;
        snprintf(rua->error, sizeof(rua->error), "%s", err);
        td_log(TD_LOG_INFO, "report for %s: not sent: %s", r->domain, err);
    }
    if (td_store_rua_put(s->store, day, r->domain, rua) != 0) {
        td_log(TD_LOG_ERR, "report for %s: %s", r->domain,
               td_store_error(s->store));
        return -1;
    }
    if (rua->state == TD_RUA_NONE) {
        s->norua++;
        say(s, r, "-", rua->error);
        return 0;
    }
    s->pending++;
    say(s, r, "-", "lookup failed, tried again later");
    return rua->next;
}

/* Try destination d of report r now. */
static int
attempt(struct td_sender *s, int64_t day, const struct td_report *r,
        struct td_delivery *d, int64_t now)
{
    char err[600], what[700];
    int64_t next;
    int rc;

    err[0] = '\0';
    if (d->kind == TD_KIND_MAILTO)
        rc = run_sendmail(s->cfg, d->payload, d->len, err, sizeof(err));
    else
        rc = post(s, d->target, d->payload, d->len, d->content_type, err,
                  sizeof(err));
    d->attempts++;
    if (d->first == 0)
        d->first = now;
    free(d->error);
    d->error = dup_s(err, strlen(err));
    if (rc == 0) {
        d->state = TD_DLV_DELIVERED;
        d->done = (int64_t)time(NULL);
        td_log(TD_LOG_INFO, "report for %s delivered to %s (attempt %u)",
               r->domain, d->uri, d->attempts);
        s->delivered++;
        snprintf(what, sizeof(what), "delivered (attempt %u)", d->attempts);
    } else {
        next = td_retry_time(s->cfg, d->first, d->attempts);
        if (next == 0) {
            d->state = TD_DLV_FAILED;
            d->done = (int64_t)time(NULL);
            td_log(TD_LOG_ERR,
                   "report for %s to %s: attempt %u failed (%s); given up",
                   r->domain, d->uri, d->attempts, err);
            s->failed++;
            snprintf(what, sizeof(what),
                     "failed, given up after %u "
                     "attempts: %.500s",
                     d->attempts, err);
        } else {
            d->next = next;
            td_log(TD_LOG_WARNING,
                   "report for %s to %s: attempt %u failed (%s); tried "
                   "again in %lld s",
                   r->domain, d->uri, d->attempts, err,
                   (long long)(next - (int64_t)time(NULL)));
            s->pending++;
            snprintf(what, sizeof(what),
                     "failed (attempt %u), tried again at %lld: %.500s",
                     d->attempts, (long long)next, err);
        }
    }
    if (td_store_delivery_update(s->store, day, r->domain, d) != 0) {
        td_log(TD_LOG_ERR, "report for %s: %s", r->domain,
               td_store_error(s->store));
        return -1;
    }
    say(s, r, d->uri, what);
    if (rc == 0 && s->fleet != NULL &&
        td_fleet_sent(s->fleet, day, r->domain, d->uri) != 0)
        td_log(TD_LOG_WARNING,
               "report for %s to %s: cannot record it in "
               "Redis: %s",
               r->domain, d->uri, td_fleet_error(s->fleet));
    return 0;
}

static int64_t
min_next(int64_t a, int64_t b)
{
    if (a == 0)
        return b;
    if (b == 0)
        return a;
    return a < b ? a : b;
}

/* Report r: returns the next time, 0 when its sending is over, -1. */
static int64_t
send_report(struct td_sender *s, int64_t day, const struct td_report *r,
            int64_t now)
{
    struct td_delivery *d = NULL;
    struct td_rua rua;
    char holder[300];
    size_t n = 0, i;
    int64_t next = 0, t;
    int claim = TD_CLAIM_MINE, sent;

    if (td_store_rua_get(s->store, day, r->domain, &rua) != 0) {
        td_log(TD_LOG_ERR, "%s", td_store_error(s->store));
        return -1;
    }
    if (s->dry_run) {
        if (rua.state == TD_RUA_READY) {
            if (td_store_deliveries_get(s->store, day, r->domain, &d, &n) !=
                0) {
                td_log(TD_LOG_ERR, "%s", td_store_error(s->store));
                return -1;
            }
            t = dry_run(s, r, d, n);
            td_store_deliveries_free(d, n);
            return t;
        }
        return do_lookup(s, day, r, &rua, now);
    }
    if (rua.state == TD_RUA_NONE || rua.state == TD_RUA_ELSEWHERE)
        return 0;
    if (rua.state == TD_RUA_READY) {
        if (td_store_deliveries_get(s->store, day, r->domain, &d, &n) != 0) {
            td_log(TD_LOG_ERR, "%s", td_store_error(s->store));
            return -1;
        }
        for (i = 0; i < n && d[i].state != TD_DLV_PENDING; i++)
            ;
        td_store_deliveries_free(d, n);
        d = NULL;
        if (i == n) {
            /* every destination is final; in a fleet, our claim is done
             * (when marking it so failed before) */
            if (s->fleet != NULL &&
                td_fleet_claim(s->fleet, day, r->domain, &claim, holder,
                               sizeof(holder)) == 0 &&
                claim == TD_CLAIM_MINE &&
                td_fleet_claim_done(s->fleet, day, r->domain) != 0)
                td_log(TD_LOG_WARNING, "report for %s: %s", r->domain,
                       td_fleet_error(s->fleet));
            return 0;
        }
    }
    if (s->fleet != NULL) {
        if (td_fleet_claim(s->fleet, day, r->domain, &claim, holder,
                           sizeof(holder)) != 0) {
            td_log(TD_LOG_WARNING, "report for %s: %s; tried again later",
                   r->domain, td_fleet_error(s->fleet));
            s->pending++;
            say(s, r, "-", "Redis unreachable, tried again later");
            return now + 60;
        }
        if (claim == TD_CLAIM_DONE && strcmp(holder, s->cfg->host_id) != 0) {
            rua.state = TD_RUA_ELSEWHERE;
            snprintf(rua.error, sizeof(rua.error), "sent by %s", holder);
            if (td_store_rua_put(s->store, day, r->domain, &rua) != 0) {
                td_log(TD_LOG_ERR, "%s", td_store_error(s->store));
                return -1;
            }
            s->elsewhere++;
            say(s, r, "-", rua.error);
            return 0;
        }
        if (claim == TD_CLAIM_DONE)
            return 0; /* (done by this host, under another store?) */
        if (claim == TD_CLAIM_OTHER) {
            s->elsewhere++;
            say(s, r, "-", "claimed by another host of the fleet");
            /* looked at again: the claim expires if its holder dies */
            return now + (s->cfg->claim_ttl + 1) / 2;
        }
    }
    if (rua.state == TD_RUA_NEW ||
        (rua.state == TD_RUA_LOOKUP && (rua.next <= now || s->now_all))) {
        t = do_lookup(s, day, r, &rua, now);
        if (t != now)
            goto report_over;
    } else if (rua.state == TD_RUA_LOOKUP) {
        s->pending++;
        say(s, r, "-", "lookup failed, tried again later");
        return rua.next;
    }
    if (td_store_deliveries_get(s->store, day, r->domain, &d, &n) != 0) {
        td_log(TD_LOG_ERR, "%s", td_store_error(s->store));
        return -1;
    }
    for (i = 0; i < n; i++) {
        if (s->stop != NULL && *s->stop) {
            next = min_next(next, now);
            break;
        }
        if (d[i].state != TD_DLV_PENDING)
            continue;
        if (s->fleet != NULL &&
            td_fleet_sent_get(s->fleet, day, r->domain, d[i].uri, &sent) == 0 &&
            sent) {
            d[i].state = TD_DLV_ELSEWHERE;
            d[i].done = now;
            if (td_store_delivery_update(s->store, day, r->domain, &d[i]) !=
                0) {
                td_store_deliveries_free(d, n);
                return -1;
            }
            s->elsewhere++;
            say(s, r, d[i].uri, "delivered by another host of the fleet");
            continue;
        }
        if (d[i].next <= now || s->now_all) {
            if (attempt(s, day, r, &d[i], now) != 0) {
                td_store_deliveries_free(d, n);
                return -1;
            }
            if (d[i].state == TD_DLV_PENDING)
                next = min_next(next, d[i].next);
        } else {
            s->pending++;
            say(s, r, d[i].uri, "waiting for its next attempt");
            next = min_next(next, d[i].next);
        }
    }
    td_store_deliveries_free(d, n);
    t = next;
report_over:
    if (t == 0 && s->fleet != NULL && claim == TD_CLAIM_MINE &&
        td_fleet_claim_done(s->fleet, day, r->domain) != 0)
        td_log(TD_LOG_WARNING, "report for %s: %s", r->domain,
               td_fleet_error(s->fleet));
    return t;
}

int64_t
td_send_reports(struct td_sender *s, int64_t day,
                const struct td_report *reports, size_t n, int64_t now)
{
    int64_t next = 0, t;
    size_t i;
    int failed = 0;

    for (i = 0; i < n; i++) {
        if (s->stop != NULL && *s->stop)
            return min_next(next, now);
        t = send_report(s, day, &reports[i], now);
        if (t < 0)
            failed = 1;
        else
            next = min_next(next, t);
    }
    return failed ? -1 : next;
}
