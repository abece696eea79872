/*
 * What mtasts lookup (cmd_lookup.c) and mtasts check (cmd_check.c) share:
 * their options, and, with libmtasts-net, copies of the network results
 * (the library's results are borrowed for the time of a callback), the MX
 * list and its probes, the TLSRPT record, and the stable names of the JSON
 * schema (mtasts(1), LOOKUP JSON).
 *
 * Every string from the network reaches the output through text_put() or
 * json_str(), with its length.
 */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "addr.h"
#include "mtasts.h"
#include "net_tool.h"
#include "text.h"
#include "tool.h"

void
lookup_usage(FILE *f)
{
    fputs("usage: mtasts lookup [--json] [--probe] [--postfix VERSION] "
          "[--cache FILE]\n"
          "           [--dns-server IP[:PORT]]... [--ca-file FILE]\n"
          "           [--connect-to HOST:PORT:HOST2:PORT2]... "
          "[--timeout SECONDS]\n"
          "           DOMAIN [MX...]\n",
          f);
}

void
check_usage(FILE *f)
{
    fputs("usage: mtasts check [--json] [--dns-server IP[:PORT]]... "
          "[--ca-file FILE]\n"
          "           [--connect-to HOST:PORT:HOST2:PORT2]... "
          "[--timeout SECONDS]\n"
          "           DOMAIN\n",
          f);
}

void
json_str_or_null(const char *s, size_t n)
{
    if (s == NULL)
        fputs("null", stdout);
    else
        json_str(s, n);
}

static void
bad_value(const char *opt, const char *val, const char *why)
{
    fprintf(stderr, "mtasts: %s ", opt);
    text_puts(stderr, val);
    fprintf(stderr, ": %s\n", why);
}

/* One host field of --connect-to: empty, a host name, an IPv4 address
 * or a bracketed IPv6 address. */
static int
connect_host_ok(const char *s, size_t n)
{
    if (n == 0)
        return 1;
    if (s[0] == '[')
        return n >= 2 && s[n - 1] == ']' && mtn_ip_ok(AF_INET6, s + 1, n - 2);
    return mtasts_hostname_check(s, n, MTASTS_HOST_F_TRAILING_DOT, NULL) ==
           MTASTS_OK;
}

/* HOST:PORT:HOST2:PORT2, each part possibly empty; a bracketed IPv6 host
 * may hold colons. */
static int
connect_to_ok(const char *s)
{
    const char *part[4], *e;
    size_t len[4], n = strlen(s);
    int i;

    for (i = 0; i < 4; i++) {
        part[i] = s;
        if ((i == 0 || i == 2) && n > 0 && s[0] == '[') {
            e = memchr(s, ']', n);
            if (e == NULL)
                return 0;
            e++;
        } else {
            e = memchr(s, ':', n);
            if (e == NULL)
                e = s + n;
        }
        len[i] = (size_t)(e - s);
        if (i < 3 && (e == s + n || *e != ':'))
            return 0;
        n -= len[i] + (i < 3);
        s = e + (i < 3);
    }
    if (n != 0)
        return 0;
    return connect_host_ok(part[0], len[0]) &&
           (len[1] == 0 || mtn_port_ok(part[1], len[1])) &&
           connect_host_ok(part[2], len[2]) &&
           (len[3] == 0 || mtn_port_ok(part[3], len[3]));
}

/* Seconds with an optional fraction ("30", "0.2"), > 0 and at most one
 * day, in ms (rounded up). */
static int
timeout_parse(const char *s, uint32_t *ret_ms)
{
    unsigned long whole = 0, frac = 0, scale = 1000;
    const char *p = s;

    if (*p < '0' || *p > '9')
        return -1;
    for (; *p >= '0' && *p <= '9'; p++) {
        whole = whole * 10 + (unsigned long)(*p - '0');
        if (whole > 86400)
            return -1;
    }
    if (*p == '.') {
        p++;
        if (*p < '0' || *p > '9')
            return -1;
        for (; *p >= '0' && *p <= '9'; p++) {
            if (scale > 1) {
                scale /= 10;
                frac += (unsigned long)(*p - '0') * scale;
            } else if (*p != '0' && frac < 999) {
                frac++; /* round a finer fraction up */
                scale = 0;
            }
        }
    }
    if (*p != '\0' || (whole == 0 && frac == 0) ||
        whole * 1000 + frac > 86400000UL)
        return -1;
    *ret_ms = (uint32_t)(whole * 1000 + frac);
    return 0;
}

static int
now_parse(const char *s, int64_t *ret)
{
    int64_t v = 0;
    const char *p = s;

    if (*p == '\0')
        return -1;
    for (; *p != '\0'; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        v = v * 10 + (*p - '0');
        if (v > ((int64_t)1 << 61))
            return -1;
    }
    *ret = v;
    return 0;
}

static int
append_dns_server(struct netopts *o, const char *val)
{
    size_t have = o->dns_servers ? strlen(o->dns_servers) : 0;
    size_t add = strlen(val), i, start;
    char *nb;

    for (i = start = 0; i <= add; i++) {
        if (i < add && val[i] != ',')
            continue;
        if (!mtn_server_ok(val + start, i - start)) {
            bad_value("--dns-server", val,
                      "not an IP address (expected IP, IP:PORT or "
                      "[IPv6]:PORT, several separated by ',')");
            return -1;
        }
        start = i + 1;
    }
    nb = realloc(o->dns_servers, have + add + 2);
    if (nb == NULL) {
        fputs("mtasts: out of memory\n", stderr);
        return -1;
    }
    if (have > 0)
        nb[have++] = ',';
    memcpy(nb + have, val, add + 1);
    o->dns_servers = nb;
    return 0;
}

static int
append_connect_to(struct netopts *o, const char *val)
{
    const char **nv;

    if (!connect_to_ok(val)) {
        bad_value("--connect-to", val,
                  "expected HOST:PORT:HOST2:PORT2 (a part may be empty; "
                  "a port is 1-65535; IPv6 in brackets)");
        return -1;
    }
    nv = realloc(o->connect_to, (o->connect_to_count + 1) * sizeof(*nv));
    if (nv == NULL) {
        fputs("mtasts: out of memory\n", stderr);
        return -1;
    }
    nv[o->connect_to_count++] = val;
    o->connect_to = nv;
    return 0;
}

static int
ca_file_ok(const char *path)
{
    FILE *f = fopen(path, "rb");

    if (f == NULL) {
        bad_value("--ca-file", path, strerror(errno));
        return 0;
    }
    fclose(f);
    return 1;
}

static int
postfix_opt(struct netopts *o, const char *val)
{
    size_t off = 0;

    if (mtasts_postfix_version_parse(val, strlen(val), &o->postfix_version,
                                     &off) != MTASTS_OK) {
        fputs("mtasts: --postfix ", stderr);
        text_puts(stderr, val);
        fprintf(stderr,
                ": bad version at offset %zu (expected MAJOR.MINOR.PATCH "
                "or MAJOR.MINOR-YYYYMMDD)\n",
                off);
        return -1;
    }
    if (o->postfix_version < MTASTS_POSTFIX_VERSION(2, 10, 0)) {
        bad_value("--postfix", val,
                  "Postfix before 2.10 has no socketmap tables");
        return -1;
    }
    o->postfix = val;
    return 0;
}

/* The option taking a value at argv[*i] ("--opt VALUE" or "--opt=VALUE"):
 * the value, or NULL when argv[*i] is not opt. *ret_missing is set when
 * opt is given without a value. */
static const char *
opt_value(int argc, char **argv, int *i, const char *opt, int *ret_missing)
{
    size_t n = strlen(opt);

    if (strncmp(argv[*i], opt, n) != 0)
        return NULL;
    if (argv[*i][n] == '=')
        return argv[*i] + n + 1;
    if (argv[*i][n] != '\0')
        return NULL;
    if (*i + 1 >= argc) {
        *ret_missing = 1;
        return NULL;
    }
    return argv[++*i];
}

static int
parse_one(struct netopts *o, int argc, char **argv, int *i, int is_lookup)
{
    const char *v;
    int missing = 0;

    if ((v = opt_value(argc, argv, i, "--dns-server", &missing)) != NULL)
        return append_dns_server(o, v);
    if ((v = opt_value(argc, argv, i, "--connect-to", &missing)) != NULL)
        return append_connect_to(o, v);
    if ((v = opt_value(argc, argv, i, "--ca-file", &missing)) != NULL) {
        o->ca_file = v;
        return ca_file_ok(v) ? 0 : -1;
    }
    if ((v = opt_value(argc, argv, i, "--timeout", &missing)) != NULL) {
        if (timeout_parse(v, &o->timeout_ms) == 0)
            return 0;
        bad_value("--timeout", v,
                  "expected seconds, more than 0 and at most 86400 "
                  "(a fraction is allowed: 0.5)");
        return -1;
    }
    if ((v = opt_value(argc, argv, i, "--now", &missing)) != NULL) {
        if (now_parse(v, &o->now) == 0)
            return 0;
        bad_value("--now", v, "expected seconds since the epoch");
        return -1;
    }
    if (is_lookup &&
        (v = opt_value(argc, argv, i, "--cache", &missing)) != NULL) {
        o->cache = v;
        return 0;
    }
    if (is_lookup &&
        (v = opt_value(argc, argv, i, "--postfix", &missing)) != NULL)
        return postfix_opt(o, v);
    if (missing) {
        fputs("mtasts: option ", stderr);
        text_puts(stderr, argv[*i]);
        fputs(" needs a value\n", stderr);
        return -1;
    }
    fputs("mtasts: unknown option ", stderr);
    text_puts(stderr, argv[*i]);
    fputc('\n', stderr);
    return -1;
}

int
netopts_parse(int argc, char **argv, int is_lookup, struct netopts *o,
              int *ret_exit)
{
    int i, rest = 0;

    memset(o, 0, sizeof(*o));
    o->timeout_ms = 30000;
    o->now = -1;
    o->argv = argv;
    *ret_exit = EXIT_USAGE;
    for (i = 0; i < argc; i++) {
        if (rest || argv[i][0] != '-' || argv[i][1] == '\0') {
            o->argv[o->argc++] = argv[i];
        } else if (strcmp(argv[i], "--") == 0) {
            rest = 1;
        } else if (strcmp(argv[i], "--help") == 0 ||
                   strcmp(argv[i], "-h") == 0) {
            (is_lookup ? lookup_usage : check_usage)(stdout);
            *ret_exit = 0;
            return -1;
        } else if (strcmp(argv[i], "--json") == 0) {
            o->json = 1;
        } else if (is_lookup && strcmp(argv[i], "--probe") == 0) {
            o->probe = 1;
        } else if (parse_one(o, argc, argv, &i, is_lookup) != 0) {
            return -1;
        }
    }
    if (is_lookup ? o->argc < 1 : o->argc != 1) {
        (is_lookup ? lookup_usage : check_usage)(stderr);
        return -1;
    }
    return 0;
}

void
netopts_free(struct netopts *o)
{
    free(o->dns_servers);
    free(o->connect_to);
    o->dns_servers = NULL;
    o->connect_to = NULL;
}

int
domain_arg(const char *what, const char *arg, char **ret_norm)
{
    size_t n = strlen(arg), need = 0;
    char *d;
    int rc;

    *ret_norm = NULL;
    rc = mtasts_domain_normalize(arg, n, NULL, 0, &need);
    if (rc == MTASTS_ERANGE || rc == MTASTS_OK) {
        d = malloc(need + 1);
        if (d == NULL) {
            fputs("mtasts: out of memory\n", stderr);
            return EXIT_INTERNAL;
        }
        rc = mtasts_domain_normalize(arg, n, d, need + 1, NULL);
        if (rc == MTASTS_OK) {
            *ret_norm = d;
            return 0;
        }
        free(d);
    }
    fprintf(stderr, "mtasts: %s ", what);
    text_puts(stderr, arg);
    fprintf(stderr, ": not a domain name in A-label form (%s)\n",
            mtasts_strerror(rc));
    return EXIT_USAGE;
}

char *
nt_memdup(const char *s, size_t n)
{
    char *d = malloc(n + 1);

    if (d == NULL)
        return NULL;
    if (n > 0)
        memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

#ifdef MTASTS_TOOL_NET

/* nt_memdup() of a NUL-terminated string; "" for NULL. */
static char *
cstrdup(const char *s)
{
    return nt_memdup(s ? s : "", s ? strlen(s) : 0);
}

const char *
nt_dns_name(int dns)
{
    const char *n = mtasts_net_dns_status_name(dns);

    return n != NULL ? n : "error";
}

const char *
nt_transport_name(int transport)
{
    static const char *const names[] = {"ok",   "connect", "timeout", "tls",
                                        "cert", "too_big", "error"};

    if (transport < 0 || transport > MTASTS_FETCH_ERROR)
        return "error";
    return names[transport];
}

const char *
nt_tls_name(int tls)
{
    static const char *const names[] = {"not_tried",    "ok",
                                        "no_starttls",  "cert_host_mismatch",
                                        "cert_expired", "cert_untrusted",
                                        "failed"};

    if (tls < 0 || tls > MTASTS_TLS_FAILED)
        return "failed";
    return names[tls];
}

/* ---- TXT ---- */

void
nt_txt_free(struct nt_txt *t)
{
    size_t i;

    for (i = 0; i < t->nstr; i++)
        free(t->strs[i]);
    free(t->strs);
    free(t->str_lens);
    free(t->rr_nstr);
    t->strs = NULL;
    t->str_lens = NULL;
    t->rr_nstr = NULL;
    t->nstr = t->rr_count = 0;
}

int
nt_txt_copy(struct nt_txt *t, const struct mtasts_net_txt *src)
{
    size_t i, n = 0;

    t->dns = src->status;
    if (src->rr_count == 0)
        return MTASTS_OK;
    for (i = 0; i < src->rr_count; i++)
        n += src->rr_nstr[i];
    t->rr_nstr = calloc(src->rr_count, sizeof(*t->rr_nstr));
    t->strs = calloc(n ? n : 1, sizeof(*t->strs));
    t->str_lens = calloc(n ? n : 1, sizeof(*t->str_lens));
    if (t->rr_nstr == NULL || t->strs == NULL || t->str_lens == NULL)
        goto oom;
    t->rr_count = src->rr_count;
    memcpy(t->rr_nstr, src->rr_nstr, src->rr_count * sizeof(*t->rr_nstr));
    for (i = 0; i < n; i++) {
        t->strs[i] = nt_memdup(src->strs[i], src->str_lens[i]);
        if (t->strs[i] == NULL)
            goto oom;
        t->str_lens[i] = src->str_lens[i];
        t->nstr = i + 1;
    }
    return MTASTS_OK;
oom:
    nt_txt_free(t);
    return MTASTS_ENOMEM;
}

void
nt_txt_cb(void *user, int status, const struct mtasts_net_txt *txt)
{
    struct nt_txt *t = user;

    t->done = 1;
    t->status = status;
    t->dns = MTASTS_NET_DNS_ERROR;
    if (status == 0 && txt != NULL)
        t->status = nt_txt_copy(t, txt);
}

void
nt_txt_print(const struct nt_txt *t, int json)
{
    size_t r, s, k = 0;

    if (json)
        putchar('[');
    for (r = 0; r < t->rr_count; r++) {
        if (r > 0)
            putchar(',');
        if (json)
            putchar('[');
        for (s = 0; s < t->rr_nstr[r]; s++, k++) {
            if (json) {
                if (s > 0)
                    putchar(',');
                json_str(t->strs[k], t->str_lens[k]);
            } else {
                fputs(" \"", stdout);
                text_put(stdout, t->strs[k], t->str_lens[k]);
                putchar('"');
            }
        }
        if (json)
            putchar(']');
    }
    if (json)
        putchar(']');
}

/* ---- fetch ---- */

void
nt_fetch_free(struct nt_fetch *f)
{
    free(f->content_type);
    free(f->body);
    free(f->error);
    free(f->peer);
    f->content_type = f->body = f->error = f->peer = NULL;
}

int
nt_fetch_copy(struct nt_fetch *f, const struct mtasts_net_fetch *src)
{
    f->transport = src->transport;
    f->http_status = src->http_status;
    f->tls = src->tls;
    f->cert_not_after = src->cert_not_after;
    f->curl_code = src->curl_code;
    f->resolve_status = src->resolve_status;
    f->verify_result = src->verify_result;
    f->elapsed_ms = src->elapsed_ms;
    f->body_len = src->body_len;
    f->content_type_len = src->content_type_len;
    if (src->content_type != NULL) {
        f->content_type = nt_memdup(src->content_type, src->content_type_len);
        if (f->content_type == NULL)
            goto oom;
    }
    f->body = nt_memdup(src->body ? src->body : "", src->body_len);
    f->error = cstrdup(src->error);
    f->peer = cstrdup(src->peer);
    if (f->body == NULL || f->error == NULL || f->peer == NULL)
        goto oom;
    return MTASTS_OK;
oom:
    nt_fetch_free(f);
    return MTASTS_ENOMEM;
}

void
nt_fetch_cb(void *user, int status, const struct mtasts_net_fetch *fetch)
{
    struct nt_fetch *f = user;

    f->done = 1;
    f->status = status;
    if (status == 0 && fetch != NULL)
        f->status = nt_fetch_copy(f, fetch);
}

/* The target name did not resolve (libmtasts-net's resolve_status): no
 * connection was tried. */
int
nt_fetch_unresolved(const struct nt_fetch *f)
{
    return f->resolve_status != MTASTS_NET_DNS_OK;
}

/* ---- probe ---- */

void
nt_probe_free(struct nt_probe *p)
{
    free(p->tls_version);
    free(p->error);
    free(p->peer);
    p->tls_version = p->error = p->peer = NULL;
}

void
nt_probe_cb(void *user, int status, const struct mtasts_net_probe *probe)
{
    struct nt_probe *p = user;

    p->done = 1;
    p->status = status;
    if (status != 0 || probe == NULL)
        return;
    p->tls = probe->tls;
    p->connected = probe->connected;
    p->cert_not_after = probe->cert_not_after;
    p->curl_code = probe->curl_code;
    p->verify_result = probe->verify_result;
    p->elapsed_ms = probe->elapsed_ms;
    p->resolve_status = probe->resolve_status;
    p->tls_version = cstrdup(probe->tls_version);
    p->error = cstrdup(probe->error);
    p->peer = cstrdup(probe->peer);
    if (p->tls_version == NULL || p->error == NULL || p->peer == NULL) {
        nt_probe_free(p);
        p->status = MTASTS_ENOMEM;
    }
}

int
nt_probe_unresolved(const struct nt_probe *p)
{
    return p->resolve_status != MTASTS_NET_DNS_OK;
}

void
nt_probe_json(const struct nt_probe *p)
{
    if (p == NULL) {
        fputs("null", stdout);
        return;
    }
    printf("{\"connected\":%s,\"tls_version\":",
           p->connected ? "true" : "false");
    json_cstr(p->tls_version);
    fputs(",\"error\":", stdout);
    json_cstr(p->error);
    fputs(",\"peer\":", stdout);
    json_cstr(p->peer);
    printf(",\"cert_not_after\":%lld,\"elapsed_ms\":%lu}",
           (long long)p->cert_not_after, (unsigned long)p->elapsed_ms);
}

void
nt_date(int64_t t, char *buf, size_t len)
{
    time_t tt = (time_t)t;
    struct tm *tm = gmtime(&tt);

    if (tm == NULL || strftime(buf, len, "%Y-%m-%d %H:%M:%S UTC", tm) == 0)
        (void)snprintf(buf, len, "%lld", (long long)t);
}

void
nt_probe_text(const struct nt_probe *p)
{
    char date[64];

    fputs(" (", stdout);
    if (p->tls_version[0] != '\0') {
        text_puts(stdout, p->tls_version);
        fputs(", ", stdout);
    }
    if (p->peer[0] != '\0') {
        text_puts(stdout, p->peer);
        fputs(", ", stdout);
    }
    if (p->cert_not_after != 0) {
        nt_date(p->cert_not_after, date, sizeof(date));
        printf("certificate until %s, ", date);
    }
    printf("%lu ms", (unsigned long)p->elapsed_ms);
    if (p->error[0] != '\0') {
        fputs(": ", stdout);
        text_puts(stdout, p->error);
    }
    putchar(')');
}

/* ---- MX ---- */

void
nt_mxlist_free(struct nt_mxlist *l)
{
    size_t i;

    for (i = 0; i < l->n; i++) {
        free(l->v[i].host);
        nt_probe_free(&l->v[i].probe);
    }
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

int
nt_mxlist_add(struct nt_mxlist *l, const char *host, size_t len, int pref,
              int source)
{
    struct nt_mx *nv;

    nv = realloc(l->v, (l->n + 1) * sizeof(*nv));
    if (nv == NULL)
        return MTASTS_ENOMEM;
    l->v = nv;
    memset(&nv[l->n], 0, sizeof(nv[l->n]));
    nv[l->n].host = nt_memdup(host, len);
    if (nv[l->n].host == NULL)
        return MTASTS_ENOMEM;
    nv[l->n].host_len = len;
    nv[l->n].preference = pref;
    nv[l->n].source = source;
    l->n++;
    return MTASTS_OK;
}

void
nt_mx_cb(void *user, int status, const struct mtasts_net_mx *mx)
{
    struct nt_mxlist *l = user;
    size_t i;
    int rc = MTASTS_OK;

    l->done = 1;
    l->status = status;
    l->dns = MTASTS_NET_DNS_ERROR;
    if (status != 0 || mx == NULL)
        return;
    l->dns = mx->status;
    if (mx->status == MTASTS_NET_DNS_OK && mx->count == 1 &&
        mx->hosts[0].host_len == 0) {
        l->null_mx = 1; /* RFC 7505: the domain accepts no mail */
        return;
    }
    for (i = 0; i < mx->count && rc == MTASTS_OK; i++)
        if (mx->hosts[i].host_len > 0)
            rc = nt_mxlist_add(l, mx->hosts[i].host, mx->hosts[i].host_len,
                               mx->hosts[i].preference, NT_MX_DNS);
    /* RFC 5321 section 5.1: no MX, the domain itself (preference 0) */
    if (rc == MTASTS_OK && mx->count == 0 &&
        (mx->status == MTASTS_NET_DNS_NXDOMAIN ||
         mx->status == MTASTS_NET_DNS_NODATA))
        rc = nt_mxlist_add(l, l->domain, strlen(l->domain), 0, NT_MX_IMPLICIT);
    l->status = rc;
}

int
nt_mxlist_probe(mtasts_net *net, struct nt_mxlist *l)
{
    size_t i;
    int rc;

    for (i = 0; i < l->n; i++) {
        rc = mtasts_net_probe_start(net, l->v[i].host, l->v[i].host_len, 0,
                                    nt_probe_cb, &l->v[i].probe);
        if (rc != MTASTS_OK)
            return rc;
        l->v[i].probed = 1;
    }
    return MTASTS_OK;
}

/* ---- TLSRPT ---- */

int
nt_tlsrpt_start(mtasts_net *net, const char *domain, struct nt_tlsrpt *t)
{
    size_t need = 0;
    int rc;

    memset(t, 0, sizeof(*t));
    t->outcome = -1;
    rc = mtasts_tlsrpt_txt_name(domain, strlen(domain), NULL, 0, &need);
    if (rc != MTASTS_ERANGE && rc != MTASTS_OK)
        return rc;
    t->name = malloc(need + 1);
    if (t->name == NULL)
        return MTASTS_ENOMEM;
    rc =
        mtasts_tlsrpt_txt_name(domain, strlen(domain), t->name, need + 1, NULL);
    if (rc != MTASTS_OK)
        return rc;
    return mtasts_net_txt_start(net, t->name, need, nt_txt_cb, &t->txt);
}

/* The strings of record r joined, malloc'd. */
static char *
txt_join(const struct nt_txt *t, size_t r, size_t *ret_len)
{
    size_t k = 0, i, n = 0;
    char *d;

    for (i = 0; i < r; i++)
        k += t->rr_nstr[i];
    for (i = 0; i < t->rr_nstr[r]; i++)
        n += t->str_lens[k + i];
    d = malloc(n + 1);
    if (d == NULL)
        return NULL;
    n = 0;
    for (i = 0; i < t->rr_nstr[r]; i++) {
        memcpy(d + n, t->strs[k + i], t->str_lens[k + i]);
        n += t->str_lens[k + i];
    }
    d[n] = '\0';
    *ret_len = n;
    return d;
}

/* The first record of t that is a TLSRPT candidate (the core's own rule:
 * selecting from that record alone does not answer "none"). */
static int
tlsrpt_candidate(mtasts_ctx *ctx, const struct nt_txt *t, char **ret,
                 size_t *ret_len)
{
    const char *const *strs = (const char *const *)t->strs;
    size_t r, k = 0;
    int rc, out;
    mtasts_tlsrpt_record *rec = NULL;

    *ret = NULL;
    for (r = 0; r < t->rr_count; k += t->rr_nstr[r], r++) {
        rc =
            mtasts_tlsrpt_record_select(ctx, strs + k, t->str_lens + k,
                                        &t->rr_nstr[r], 1, 0, &out, &rec, NULL);
        mtasts_tlsrpt_record_free(rec);
        rec = NULL;
        if (rc != MTASTS_OK)
            return rc;
        if (out != MTASTS_SELECT_NONE) {
            *ret = txt_join(t, r, ret_len);
            return *ret != NULL ? MTASTS_OK : MTASTS_ENOMEM;
        }
    }
    return MTASTS_OK;
}

/* malloc'd printf. */
#if defined(__GNUC__)
__attribute__((format(printf, 1, 2)))
#endif
static char *
xprintf(const char *fmt, ...)
{
    va_list ap;
    char *d;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return NULL;
    d = malloc((size_t)n + 1);
    if (d == NULL)
        return NULL;
    va_start(ap, fmt);
    (void)vsnprintf(d, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return d;
}

int
nt_tlsrpt_eval(mtasts_ctx *ctx, struct nt_tlsrpt *t)
{
    struct mtasts_diag d = MTASTS_DIAG_INIT;
    int rc;

    if (t->txt.status == MTASTS_ENOMEM)
        return MTASTS_ENOMEM;
    if (t->txt.status != MTASTS_OK) {
        t->error =
            xprintf("DNS query failed: %s", mtasts_net_strerror(t->txt.status));
        return t->error != NULL ? MTASTS_OK : MTASTS_ENOMEM;
    }
    if (t->txt.dns != MTASTS_NET_DNS_OK) {
        t->error = xprintf(t->txt.dns == MTASTS_NET_DNS_NXDOMAIN ||
                                   t->txt.dns == MTASTS_NET_DNS_NODATA
                               ? "no TLSRPT record (%s)"
                               : "DNS query failed (%s)",
                           nt_dns_name(t->txt.dns));
        return t->error != NULL ? MTASTS_OK : MTASTS_ENOMEM;
    }
    rc = mtasts_tlsrpt_record_select(
        ctx, (const char *const *)t->txt.strs, t->txt.str_lens, t->txt.rr_nstr,
        t->txt.rr_count, 0, &t->outcome, &t->rec, &d);
    if (rc != MTASTS_OK)
        return rc;
    rc = tlsrpt_candidate(ctx, &t->txt, &t->record, &t->record_len);
    if (rc != MTASTS_OK)
        return rc;
    switch (t->outcome) {
    case MTASTS_SELECT_FOUND:
        return MTASTS_OK;
    case MTASTS_SELECT_NONE:
        t->error = xprintf("no v=TLSRPTv1 record among %zu TXT records",
                           t->txt.rr_count);
        break;
    case MTASTS_SELECT_MULTIPLE:
        t->error = xprintf("several v=TLSRPTv1 records");
        free(t->record);
        t->record = NULL;
        break;
    default:
        t->error = xprintf("invalid record: %s (%s) at offset %zu",
                           mtasts_reason_message(d.reason),
                           mtasts_reason_name(d.reason), d.offset);
        break;
    }
    return t->error != NULL ? MTASTS_OK : MTASTS_ENOMEM;
}

void
nt_tlsrpt_free(struct nt_tlsrpt *t)
{
    free(t->name);
    nt_txt_free(&t->txt);
    mtasts_tlsrpt_record_free(t->rec);
    free(t->record);
    free(t->error);
    memset(t, 0, sizeof(*t));
}

void
nt_tlsrpt_print(const struct nt_tlsrpt *t, int json)
{
    const char *u;
    size_t i, n = t->rec ? mtasts_tlsrpt_record_rua_count(t->rec) : 0, l;

    if (json) {
        fputs("{\"name\":", stdout);
        json_cstr(t->name);
        printf(",\"dns\":\"%s\",\"record\":",
               t->txt.status == MTASTS_OK ? nt_dns_name(t->txt.dns) : "error");
        json_str_or_null(t->record, t->record_len);
        fputs(",\"rua\":[", stdout);
        for (i = 0; i < n; i++) {
            if (i > 0)
                putchar(',');
            u = mtasts_tlsrpt_record_rua(t->rec, i, &l);
            json_str(u, l);
        }
        fputs("],\"error\":", stdout);
        json_str_or_null(t->error, t->error ? strlen(t->error) : 0);
        putchar('}');
        return;
    }
    fputs("tlsrpt ", stdout);
    text_puts(stdout, t->name);
    printf(": %s",
           t->txt.status == MTASTS_OK ? nt_dns_name(t->txt.dns) : "error");
    if (t->record != NULL) {
        fputs(" \"", stdout);
        text_put(stdout, t->record, t->record_len);
        putchar('"');
    }
    if (t->error != NULL) {
        fputs(": ", stdout);
        text_puts(stdout, t->error);
    }
    putchar('\n');
    for (i = 0; i < n; i++) {
        u = mtasts_tlsrpt_record_rua(t->rec, i, &l);
        fputs("tlsrpt rua: ", stdout);
        text_put(stdout, u, l);
        if (mtasts_tlsrpt_record_rua_target(t->rec, i, &l) == NULL)
            fputs(" (unusable)", stdout);
        putchar('\n');
    }
}

/* ---- the handle ---- */

static void
net_config(const struct netopts *o, struct mtasts_net_config *c)
{
    memset(c, 0, sizeof(*c));
    c->version = MTASTS_NET_CONFIG_VERSION;
    c->dns_servers = o->dns_servers;
    c->ca_file = o->ca_file;
    c->connect_to = o->connect_to;
    c->connect_to_count = o->connect_to_count;
    c->connect_timeout_ms = o->timeout_ms < 10000 ? o->timeout_ms : 10000;
    /* a DNS try is at most 2 s, and all tries fit in the timeout */
    c->dns_timeout_ms = o->timeout_ms < 2000 ? o->timeout_ms : 2000;
    c->dns_tries = o->timeout_ms < 2000 ? 1 : 0;
    c->probe_timeout_ms = o->timeout_ms;
}

int
nt_net_new(const struct netopts *o, mtasts_net **ret_net)
{
    struct mtasts_net_config c, one;
    mtasts_net *probe = NULL;
    int rc;

    net_config(o, &c);
    rc = mtasts_net_new(&c, ret_net);
    if (rc == MTASTS_OK)
        return 0;
    if (rc != MTASTS_EINVAL) {
        fprintf(stderr, "mtasts: cannot set up the network: %s\n",
                mtasts_net_strerror(rc));
        return EXIT_INTERNAL;
    }
    /* Say which option the library refused: try each alone. */
    net_config(o, &one);
    one.ca_file = NULL;
    one.connect_to = NULL;
    one.connect_to_count = 0;
    if (mtasts_net_new(&one, &probe) == MTASTS_EINVAL) {
        fputs("mtasts: --dns-server: refused by libmtasts-net\n", stderr);
        return EXIT_USAGE;
    }
    mtasts_net_free(probe);
    probe = NULL;
    net_config(o, &one);
    one.dns_servers = NULL;
    one.connect_to = NULL;
    one.connect_to_count = 0;
    if (mtasts_net_new(&one, &probe) == MTASTS_EINVAL) {
        fputs("mtasts: --ca-file: refused by libmtasts-net (not a PEM "
              "file of certificates?)\n",
              stderr);
        return EXIT_USAGE;
    }
    mtasts_net_free(probe);
    fputs("mtasts: --connect-to: refused by libmtasts-net\n", stderr);
    return EXIT_USAGE;
}

void
nt_policy_json(const mtasts_policy *p, const char *id, size_t id_len)
{
    const char *s;
    size_t i, l;

    if (p == NULL) {
        fputs("null", stdout);
        return;
    }
    printf("{\"mode\":\"%s\",\"max_age\":%lu,\"mx\":[",
           mtasts_mode_name(mtasts_policy_mode(p)),
           (unsigned long)mtasts_policy_max_age(p));
    for (i = 0; i < mtasts_policy_mx_count(p); i++) {
        if (i > 0)
            putchar(',');
        s = mtasts_policy_mx(p, i, &l);
        json_str(s, l);
    }
    fputs("],\"id\":", stdout);
    json_str(id ? id : "", id ? id_len : 0);
    fputs(",\"warnings\":", stdout);
    json_warnings(mtasts_policy_warnings(p));
    putchar('}');
}

#endif
