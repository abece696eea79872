/*
 * libmtasts-net: the handle, the socket/timer layer shared by c-ares
 * (dns.c) and libcurl (http.c), the blocking poll() wait, the connect-to
 * mapping, and the driving of a core discovery over DNS and HTTPS.
 *
 * Every request the caller starts is counted in net->requests until its
 * callback has run; mtasts_net_wait() runs until that count is 0. Results
 * known at once are delivered through the deferred queue, so no callback
 * ever runs inside a *_start() call.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "net_int.h"

#define NET_HOST_MAX 254
#define CT_ANY       (-1)

struct connect_to {
    char host[NET_HOST_MAX + 1];  /* "" matches any host */
    int port;                     /* CT_ANY matches any port */
    char host2[NET_HOST_MAX + 1]; /* "" keeps the host */
    int port2;                    /* CT_ANY keeps the port */
};

struct watch {
    unsigned char owner; /* 0: not watched */
    unsigned char what;
};

struct deferred {
    void (*fn)(void *arg, int cancel);
    void *arg;
    struct deferred *next;
};

struct mtasts_net {
    struct mtn_dns *dns;
    struct mtn_http *http;
    struct connect_to *ct;
    size_t ct_count;
    int loop_mode;
    struct mtasts_net_loop loop;
    struct watch *watches; /* indexed by fd */
    size_t watch_cap;
    struct deferred *dq_head, *dq_tail;
    size_t requests; /* started and not yet called back */
    int depth;       /* nesting of public entry points */
    int closing;
};

/* ------------------------------------------------------------------ */
/* errors                                                              */
/* ------------------------------------------------------------------ */

const char *
mtasts_net_strerror(int status)
{
    switch (status) {
    case MTASTS_NET_ECANCELED:
        return "request cancelled";
    case MTASTS_NET_ETIMEOUT:
        return "requests did not finish in time";
    default:
        return mtasts_strerror(status);
    }
}

/* ------------------------------------------------------------------ */
/* the socket and timer layer                                          */
/* ------------------------------------------------------------------ */

static long
min_timeout(long a, long b)
{
    if (a < 0)
        return b;
    if (b < 0)
        return a;
    return a < b ? a : b;
}

/* ms until something is due: the modules' timers, or 0 when deferred
 * calls wait; -1 when nothing is. */
static long
next_timeout(mtasts_net *net)
{
    long t;

    if (net->dq_head != NULL)
        return 0;
    t = mtn_dns_timeout(net->dns);
    return min_timeout(t, mtn_http_timeout(net->http));
}

static void
enter(mtasts_net *net)
{
    net->depth++;
}

/* Leaving the outermost entry point: give the caller's loop the timer. */
static void
leave(mtasts_net *net)
{
    if (--net->depth == 0 && net->loop_mode && !net->closing)
        net->loop.timer(net->loop.user, next_timeout(net));
}

void
mtn_timer_changed(mtasts_net *net)
{
    /* The timer is recomputed when the outermost entry point returns
     * (leave()); in blocking mode mtasts_net_wait() asks each round. */
    (void)net;
}

int
mtn_watch(mtasts_net *net, int owner, int fd, unsigned what)
{
    size_t i = (size_t)fd;

    if (fd < 0)
        return MTASTS_EINVAL;
    if (i >= net->watch_cap) {
        size_t cap = net->watch_cap ? net->watch_cap : 64;
        struct watch *w;

        if (what & MTASTS_NET_F_POLL_REMOVE)
            return 0; /* never watched */
        while (cap <= i)
            cap *= 2;
        w = realloc(net->watches, cap * sizeof(*w));
        if (w == NULL)
            return MTASTS_ENOMEM;
        memset(w + net->watch_cap, 0, (cap - net->watch_cap) * sizeof(*w));
        net->watches = w;
        net->watch_cap = cap;
    }
    if (what & MTASTS_NET_F_POLL_REMOVE) {
        if (net->watches[i].owner == 0)
            return 0;
        net->watches[i].owner = 0;
        net->watches[i].what = 0;
    } else {
        net->watches[i].owner = (unsigned char)owner;
        net->watches[i].what = (unsigned char)(what & (MTASTS_NET_F_POLL_IN |
                                                       MTASTS_NET_F_POLL_OUT));
    }
    if (net->loop_mode)
        net->loop.watch(net->loop.user, fd,
                        what & (MTASTS_NET_F_POLL_IN | MTASTS_NET_F_POLL_OUT |
                                MTASTS_NET_F_POLL_REMOVE));
    return 0;
}

int
mtn_defer(mtasts_net *net, void (*fn)(void *arg, int cancel), void *arg)
{
    struct deferred *d = malloc(sizeof(*d));

    if (d == NULL)
        return MTASTS_ENOMEM;
    d->fn = fn;
    d->arg = arg;
    d->next = NULL;
    if (net->dq_tail != NULL)
        net->dq_tail->next = d;
    else
        net->dq_head = d;
    net->dq_tail = d;
    return 0;
}

/* Run the deferred calls queued so far; those they queue run in the next
 * round, so a chain of them cannot starve the sockets. Cancelling runs
 * everything, including what cancelled calls queue. */
static void
run_deferred(mtasts_net *net, int cancel)
{
    struct deferred *d = net->dq_head;

    if (!cancel) {
        net->dq_head = net->dq_tail = NULL;
        while (d != NULL) {
            struct deferred *next = d->next;
            void (*fn)(void *, int) = d->fn;
            void *arg = d->arg;

            free(d);
            fn(arg, 0);
            d = next;
        }
        return;
    }
    while ((d = net->dq_head) != NULL) {
        void (*fn)(void *, int) = d->fn;
        void *arg = d->arg;

        net->dq_head = d->next;
        if (net->dq_head == NULL)
            net->dq_tail = NULL;
        free(d);
        fn(arg, 1);
    }
}

static void
dispatch(mtasts_net *net, int fd, unsigned events)
{
    size_t i = (size_t)fd;

    if (fd < 0 || i >= net->watch_cap)
        return;
    switch (net->watches[i].owner) {
    case MTN_OWNER_DNS:
        mtn_dns_on_socket(net->dns, fd, events);
        break;
    case MTN_OWNER_HTTP:
        mtn_http_on_socket(net->http, fd, events);
        break;
    default:
        break;
    }
}

static void
on_timeout(mtasts_net *net)
{
    mtn_dns_on_timeout(net->dns);
    mtn_http_on_timeout(net->http);
    run_deferred(net, 0);
}

int
mtasts_net_set_loop(mtasts_net *net, const struct mtasts_net_loop *loop)
{
    if (net == NULL || loop == NULL || loop->version == 0 ||
        loop->watch == NULL || loop->timer == NULL)
        return MTASTS_EINVAL;
    if (loop->version > MTASTS_NET_LOOP_VERSION)
        return MTASTS_EVERSION;
    if (net->requests != 0 || net->dq_head != NULL)
        return MTASTS_ESTATE;
    net->loop.version = loop->version;
    net->loop.watch = loop->watch;
    net->loop.timer = loop->timer;
    net->loop.user = loop->user;
    net->loop_mode = 1;
    /* sockets watched so far (none, with no request started) */
    return 0;
}

int
mtasts_net_on_socket(mtasts_net *net, int fd, unsigned events)
{
    if (net == NULL || fd < 0)
        return MTASTS_EINVAL;
    enter(net);
    dispatch(net, fd, events);
    leave(net);
    return 0;
}

int
mtasts_net_on_timeout(mtasts_net *net)
{
    if (net == NULL)
        return MTASTS_EINVAL;
    enter(net);
    on_timeout(net);
    leave(net);
    return 0;
}

size_t
mtasts_net_pending(const mtasts_net *net)
{
    return net == NULL ? 0 : net->requests;
}

static int64_t
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One poll() round over the watched sockets, at most max_ms (-1: no
 * limit), then the due timers. */
static int
poll_round(mtasts_net *net, long max_ms)
{
    struct pollfd *pfd;
    size_t n = 0, i;
    long t = min_timeout(next_timeout(net), max_ms);
    int rc;

    for (i = 0; i < net->watch_cap; i++)
        if (net->watches[i].owner != 0)
            n++;
    if (n == 0 && t < 0)
        return MTASTS_ESTATE; /* requests wait on nothing: never hang */
    pfd = malloc((n ? n : 1) * sizeof(*pfd));
    if (pfd == NULL)
        return MTASTS_ENOMEM;
    n = 0;
    for (i = 0; i < net->watch_cap; i++) {
        if (net->watches[i].owner == 0)
            continue;
        pfd[n].fd = (int)i;
        pfd[n].events =
            (short)(((net->watches[i].what & MTASTS_NET_F_POLL_IN) ? POLLIN
                                                                   : 0) |
                    ((net->watches[i].what & MTASTS_NET_F_POLL_OUT) ? POLLOUT
                                                                    : 0));
        pfd[n].revents = 0;
        n++;
    }
    rc = poll(pfd, (nfds_t)n,
              t < 0 ? -1 : (t > 0x7fffffff ? 0x7fffffff : (int)t));
    if (rc > 0) {
        for (i = 0; i < n; i++) {
            unsigned ev = 0;

            if (pfd[i].revents == 0)
                continue;
            if (pfd[i].revents & POLLIN)
                ev |= MTASTS_NET_F_POLL_IN;
            if (pfd[i].revents & POLLOUT)
                ev |= MTASTS_NET_F_POLL_OUT;
            if (pfd[i].revents & (POLLERR | POLLHUP | POLLNVAL))
                ev |= MTASTS_NET_F_POLL_ERR;
            dispatch(net, pfd[i].fd, ev);
        }
    }
    free(pfd);
    /* Timers: the modules only act on what is due. */
    on_timeout(net);
    return 0;
}

/* Run until *done is set (or, with done NULL, no request is left), or
 * timeout_ms (0: no limit). */
static int
wait_until(mtasts_net *net, const int *done, uint32_t timeout_ms)
{
    int64_t deadline = timeout_ms ? now_ms() + timeout_ms : 0;
    int rc = 0;

    if (net->loop_mode)
        return MTASTS_EINVAL;
    enter(net);
    for (;;) {
        long max_ms = -1;

        if (done != NULL ? *done : (net->requests == 0 && net->dq_head == NULL))
            break;
        if (deadline) {
            int64_t left = deadline - now_ms();

            if (left <= 0) {
                rc = MTASTS_NET_ETIMEOUT;
                break;
            }
            max_ms = (long)left;
        }
        rc = poll_round(net, max_ms);
        if (rc < 0)
            break;
    }
    leave(net);
    return rc;
}

int
mtasts_net_wait(mtasts_net *net, uint32_t timeout_ms)
{
    if (net == NULL)
        return MTASTS_EINVAL;
    return wait_until(net, NULL, timeout_ms);
}

/* ------------------------------------------------------------------ */
/* connect-to                                                          */
/* ------------------------------------------------------------------ */

/* One field of "HOST:PORT:HOST2:PORT2" starting at *p: a host (maybe
 * "[v6]") when is_host, else a port; empty allowed. Advances past the
 * following ':' (or to the end for the last field). */
static int
ct_field(const char **p, const char *end, int is_host, int last, char *host,
         int *port)
{
    const char *s = *p, *e;

    if (is_host && s < end && *s == '[') {
        e = memchr(s, ']', (size_t)(end - s));
        if (e == NULL)
            return -1;
        e++;
    } else {
        e = last ? end : memchr(s, ':', (size_t)(end - s));
        if (e == NULL)
            return -1;
    }
    if (is_host) {
        size_t n = (size_t)(e - s);

        if (n > NET_HOST_MAX)
            return -1;
        if (n >= 2 && s[0] == '[') { /* the brackets go */
            s++;
            n -= 2;
        }
        memcpy(host, s, n);
        host[n] = '\0';
        if (memchr(host, '\0', n) != NULL)
            return -1;
    } else if (s == e) {
        *port = CT_ANY;
    } else {
        long v = 0;
        const char *q;

        for (q = s; q < e; q++) {
            if (*q < '0' || *q > '9' || v > 65535)
                return -1;
            v = v * 10 + (*q - '0');
        }
        if (v < 1 || v > 65535)
            return -1;
        *port = (int)v;
    }
    if (!last) {
        if (e >= end || *e != ':')
            return -1;
        e++;
    } else if (e != end) {
        return -1;
    }
    *p = e;
    return 0;
}

static int
ct_parse(const char *s, struct connect_to *ct)
{
    const char *p = s, *end = s + strlen(s);
    int dummy = 0;

    if (ct_field(&p, end, 1, 0, ct->host, &dummy) < 0 ||
        ct_field(&p, end, 0, 0, NULL, &ct->port) < 0 ||
        ct_field(&p, end, 1, 0, ct->host2, &dummy) < 0 ||
        ct_field(&p, end, 0, 1, NULL, &ct->port2) < 0)
        return MTASTS_EINVAL;
    return 0;
}

static int
host_eq(const char *a, const char *b, size_t b_len)
{
    size_t i;

    if (strlen(a) != b_len)
        return 0;
    for (i = 0; i < b_len; i++) {
        unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];

        if (x >= 'A' && x <= 'Z')
            x = (unsigned char)(x + 32);
        if (y >= 'A' && y <= 'Z')
            y = (unsigned char)(y + 32);
        if (x != y)
            return 0;
    }
    return 1;
}

int
mtn_connect_to_map(const mtasts_net *net, const char *host, size_t host_len,
                   uint16_t port, char *ret_host, uint16_t *ret_port)
{
    size_t i;

    for (i = 0; i < net->ct_count; i++) {
        const struct connect_to *c = &net->ct[i];

        if (c->host[0] != '\0' && !host_eq(c->host, host, host_len))
            continue;
        if (c->port != CT_ANY && c->port != port)
            continue;
        if (c->host2[0] != '\0') {
            strcpy(ret_host, c->host2);
        } else {
            memcpy(ret_host, host, host_len);
            ret_host[host_len] = '\0';
        }
        *ret_port = c->port2 != CT_ANY ? (uint16_t)c->port2 : port;
        return 1;
    }
    memcpy(ret_host, host, host_len);
    ret_host[host_len] = '\0';
    *ret_port = port;
    return 0;
}

/* ------------------------------------------------------------------ */
/* handle                                                              */
/* ------------------------------------------------------------------ */

int
mtasts_net_new(const struct mtasts_net_config *config, mtasts_net **ret_net)
{
    mtasts_net *net;
    struct mtasts_net_config def;
    int rc;
    size_t i;

    if (ret_net == NULL)
        return MTASTS_EINVAL;
    *ret_net = NULL;
    if (config == NULL) {
        memset(&def, 0, sizeof(def));
        def.version = MTASTS_NET_CONFIG_VERSION;
        config = &def;
    }
    if (config->version == 0)
        return MTASTS_EINVAL;
    if (config->version > MTASTS_NET_CONFIG_VERSION)
        return MTASTS_EVERSION;
    if (config->connect_to_count > 0 && config->connect_to == NULL)
        return MTASTS_EINVAL;
    net = calloc(1, sizeof(*net));
    if (net == NULL)
        return MTASTS_ENOMEM;
    if (config->connect_to_count > 0) {
        net->ct = calloc(config->connect_to_count, sizeof(*net->ct));
        if (net->ct == NULL) {
            rc = MTASTS_ENOMEM;
            goto fail;
        }
        for (i = 0; i < config->connect_to_count; i++) {
            if (config->connect_to[i] == NULL ||
                ct_parse(config->connect_to[i], &net->ct[i]) < 0) {
                rc = MTASTS_EINVAL;
                goto fail;
            }
        }
        net->ct_count = config->connect_to_count;
    }
    rc = mtn_dns_new(net, config, &net->dns);
    if (rc < 0)
        goto fail;
    rc = mtn_http_new(net, config, &net->http);
    if (rc < 0)
        goto fail;
    *ret_net = net;
    return 0;
fail:
    mtasts_net_free(net);
    return rc;
}

void
mtasts_net_free(mtasts_net *net)
{
    if (net == NULL)
        return;
    net->closing = 1;
    /* DNS first: a lookup waiting on it is called back without starting
     * a fetch; then the transfers; then what was queued. */
    mtn_dns_free(net->dns);
    net->dns = NULL;
    mtn_http_free(net->http);
    net->http = NULL;
    run_deferred(net, 1);
    free(net->watches);
    free(net->ct);
    free(net);
}

/* ------------------------------------------------------------------ */
/* requests: DNS                                                        */
/* ------------------------------------------------------------------ */

struct req {
    mtasts_net *net;
    union {
        mtasts_net_txt_cb txt;
        mtasts_net_mx_cb mx;
        mtasts_net_fetch_cb fetch;
        mtasts_net_probe_cb probe;
        mtasts_net_lookup_cb lookup;
    } cb;
    void *user;
};

static struct req *
req_new(mtasts_net *net, void *user)
{
    struct req *r = malloc(sizeof(*r));

    if (r == NULL)
        return NULL;
    r->net = net;
    r->user = user;
    net->requests++;
    return r;
}

/* Before the user's callback runs: the request no longer counts. */
static void
req_end(struct req *r)
{
    r->net->requests--;
}

static void
req_abort(struct req *r)
{
    r->net->requests--;
    free(r);
}

/* The end of every mtasts_net_*_start(), entered with enter() after its
 * request r was made: a failed start (rc < 0) takes r back; then leave(). */
static int
req_started(struct req *r, int rc)
{
    mtasts_net *net = r->net;

    if (rc < 0)
        req_abort(r);
    leave(net);
    return rc;
}

static void
txt_done(void *arg, int status, const struct mtasts_net_txt *txt)
{
    struct req *r = arg;

    req_end(r);
    r->cb.txt(r->user, status, txt);
    free(r);
}

static void
mx_done(void *arg, int status, const struct mtasts_net_mx *mx)
{
    struct req *r = arg;

    req_end(r);
    r->cb.mx(r->user, status, mx);
    free(r);
}

int
mtasts_net_txt_start(mtasts_net *net, const char *name, size_t name_len,
                     mtasts_net_txt_cb cb, void *user)
{
    struct req *r;

    if (net == NULL || name == NULL || cb == NULL || net->closing)
        return MTASTS_EINVAL;
    r = req_new(net, user);
    if (r == NULL)
        return MTASTS_ENOMEM;
    r->cb.txt = cb;
    enter(net);
    return req_started(r, mtn_dns_txt(net->dns, name, name_len, txt_done, r));
}

int
mtasts_net_mx_start(mtasts_net *net, const char *domain, size_t domain_len,
                    mtasts_net_mx_cb cb, void *user)
{
    struct req *r;

    if (net == NULL || domain == NULL || cb == NULL || net->closing)
        return MTASTS_EINVAL;
    r = req_new(net, user);
    if (r == NULL)
        return MTASTS_ENOMEM;
    r->cb.mx = cb;
    enter(net);
    return req_started(r, mtn_dns_mx(net->dns, domain, domain_len, mx_done, r));
}

/* ------------------------------------------------------------------ */
/* requests: fetch and probe (resolve the target, then libcurl)        */
/* ------------------------------------------------------------------ */

enum {
    XFER_FETCH = 1,
    XFER_PROBE = 2
};

struct xfer {
    struct req *req;
    int kind;
    char *url; /* fetch: the URL; probe: the MX name */
    size_t url_len;
    char *host;
    size_t host_len;
    char target[NET_HOST_MAX + 1];
    uint16_t port;        /* the original port (of the URL, or the MX's) */
    uint16_t target_port; /* after connect-to: the CURLOPT_RESOLVE entry's */
    uint32_t timeout_ms;
    size_t max_size;
    char error[NET_HOST_MAX + 96];
};

static void
xfer_free(struct xfer *x)
{
    free(x->url);
    free(x->host);
    free(x);
}

static int
is_ip_literal(const char *s)
{
    unsigned char buf[16];

    return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

/* x is done: call the caller back with the result of its kind (f or p;
 * NULL with a status < 0), then free x and its request. */
static void
xfer_done(struct xfer *x, int status, const struct mtasts_net_fetch *f,
          const struct mtasts_net_probe *p)
{
    struct req *r = x->req;

    req_end(r);
    /* the result may point into x (the error of an unresolved target) */
    if (x->kind == XFER_FETCH)
        r->cb.fetch(r->user, status, f);
    else
        r->cb.probe(r->user, status, p);
    xfer_free(x);
    free(r);
}

static void
fetch_done(void *arg, int status, const struct mtasts_net_fetch *f)
{
    xfer_done(arg, status, f, NULL);
}

static void
probe_done(void *arg, int status, const struct mtasts_net_probe *p)
{
    xfer_done(arg, status, NULL, p);
}

/* The target could not be resolved: the result a connection failure
 * gives, with the DNS outcome as the error. */
static void
xfer_unresolved(struct xfer *x, int dns_status)
{
    snprintf(x->error, sizeof(x->error), "cannot resolve %s: %s", x->target,
             mtasts_net_dns_status_name(dns_status));
    if (x->kind == XFER_FETCH) {
        struct mtasts_net_fetch f;

        memset(&f, 0, sizeof(f));
        f.transport = MTASTS_FETCH_CONNECT;
        f.tls = MTASTS_TLS_NOT_TRIED;
        f.body = "";
        f.error = x->error;
        f.peer = "";
        f.resolve_status = dns_status;
        xfer_done(x, 0, &f, NULL);
    } else {
        struct mtasts_net_probe p;

        memset(&p, 0, sizeof(p));
        p.tls = MTASTS_TLS_FAILED;
        p.tls_version = "";
        p.error = x->error;
        p.peer = "";
        p.resolve_status = dns_status;
        xfer_done(x, 0, NULL, &p);
    }
}

static int
xfer_go(struct xfer *x, const char *resolve)
{
    mtasts_net *net = x->req->net;

    if (x->kind == XFER_FETCH)
        return mtn_http_fetch(net->http, x->url, x->url_len, x->host,
                              x->host_len, resolve, x->timeout_ms, x->max_size,
                              fetch_done, x);
    return mtn_http_probe(net->http, x->host, x->host_len, x->port, resolve,
                          probe_done, x);
}

static void
xfer_resolved(void *arg, int status, const struct mtn_addrs *a)
{
    struct xfer *x = arg;
    char *resolve;
    size_t n, i;
    int rc;

    if (status < 0) {
        xfer_done(x, status, NULL, NULL);
        return;
    }
    if (a->status != MTASTS_NET_DNS_OK || a->count == 0) {
        xfer_unresolved(x, a->status == MTASTS_NET_DNS_OK
                               ? MTASTS_NET_DNS_NODATA
                               : a->status);
        return;
    }
    /* "HOST:PORT:ADDR,ADDR..." (IPv6 addresses in brackets) */
    n = strlen(x->target) + 8;
    for (i = 0; i < a->count; i++)
        n += strlen(a->addrs[i]) + 3;
    resolve = malloc(n);
    if (resolve == NULL) {
        xfer_done(x, MTASTS_ENOMEM, NULL, NULL);
        return;
    }
    n = (size_t)snprintf(resolve, n, "%s:%u:", x->target,
                         (unsigned)x->target_port);
    for (i = 0; i < a->count; i++) {
        int v6 = strchr(a->addrs[i], ':') != NULL;

        n += (size_t)sprintf(resolve + n, "%s%s%s%s", i ? "," : "",
                             v6 ? "[" : "", a->addrs[i], v6 ? "]" : "");
    }
    if (x->req->net->closing) {
        free(resolve);
        xfer_done(x, MTASTS_NET_ECANCELED, NULL, NULL);
        return;
    }
    rc = xfer_go(x, resolve);
    free(resolve);
    if (rc < 0)
        xfer_done(x, rc, NULL, NULL);
}

/* Start x, whose request is made; on failure x and its request are
 * freed. */
static int
xfer_start(mtasts_net *net, struct xfer *x)
{
    struct req *r = x->req;
    int rc;

    enter(net);
    /* libcurl applies the same mapping (CURLOPT_CONNECT_TO) to the
     * original host and port, which mtn_http_probe() must therefore get */
    (void)mtn_connect_to_map(net, x->host, x->host_len, x->port, x->target,
                             &x->target_port);
    if (is_ip_literal(x->target))
        rc = xfer_go(x, NULL);
    else
        rc = mtn_dns_addrs(net->dns, x->target, strlen(x->target),
                           xfer_resolved, x);
    if (rc < 0)
        xfer_free(x);
    return req_started(r, rc);
}

char *
mtn_strndup(const char *s, size_t n)
{
    char *d = malloc(n + 1);

    if (d != NULL) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

/* The port of an https URL ("https://host[:port]/..."), 443 by default;
 * 0 when the URL is not of that form. */
static uint16_t
url_port(const char *url, size_t len)
{
    const char *p, *end = url + len, *slash;
    unsigned long v = 0;

    if (len < 8 || memcmp(url, "https://", 8) != 0)
        return 0;
    p = url + 8;
    slash = memchr(p, '/', (size_t)(end - p));
    if (slash == NULL)
        slash = end;
    if (p < slash && *p == '[') {
        p = memchr(p, ']', (size_t)(slash - p));
        if (p == NULL)
            return 0;
    }
    p = memchr(p, ':', (size_t)(slash - p));
    if (p == NULL)
        return 443;
    for (p++; p < slash; p++) {
        if (*p < '0' || *p > '9' || v > 65535)
            return 0;
        v = v * 10 + (unsigned long)(*p - '0');
    }
    return v >= 1 && v <= 65535 ? (uint16_t)v : 0;
}

static int
host_ok(const char *h, size_t n)
{
    return h != NULL && n > 0 && n <= NET_HOST_MAX &&
           memchr(h, '\0', n) == NULL;
}

int
mtasts_net_fetch_start(mtasts_net *net, const char *url, size_t url_len,
                       const char *host, size_t host_len, uint32_t timeout_ms,
                       size_t max_size, mtasts_net_fetch_cb cb, void *user)
{
    struct xfer *x;

    if (net == NULL || url == NULL || cb == NULL || !host_ok(host, host_len) ||
        net->closing || memchr(url, '\0', url_len) != NULL)
        return MTASTS_EINVAL;
    x = calloc(1, sizeof(*x));
    if (x == NULL)
        return MTASTS_ENOMEM;
    x->kind = XFER_FETCH;
    x->port = url_port(url, url_len);
    if (x->port == 0) {
        free(x);
        return MTASTS_EINVAL;
    }
    x->url = mtn_strndup(url, url_len);
    x->url_len = url_len;
    x->host = mtn_strndup(host, host_len);
    x->host_len = host_len;
    x->timeout_ms = timeout_ms;
    x->max_size = max_size;
    x->req = x->url && x->host ? req_new(net, user) : NULL;
    if (x->req == NULL) {
        xfer_free(x);
        return MTASTS_ENOMEM;
    }
    x->req->cb.fetch = cb;
    return xfer_start(net, x);
}

int
mtasts_net_probe_start(mtasts_net *net, const char *mx, size_t mx_len,
                       uint16_t port, mtasts_net_probe_cb cb, void *user)
{
    struct xfer *x;

    if (net == NULL || cb == NULL || !host_ok(mx, mx_len) || net->closing)
        return MTASTS_EINVAL;
    x = calloc(1, sizeof(*x));
    if (x == NULL)
        return MTASTS_ENOMEM;
    x->kind = XFER_PROBE;
    x->port = port ? port : 25;
    x->host = mtn_strndup(mx, mx_len);
    x->host_len = mx_len;
    x->req = x->host ? req_new(net, user) : NULL;
    if (x->req == NULL) {
        xfer_free(x);
        return MTASTS_ENOMEM;
    }
    x->req->cb.probe = cb;
    return xfer_start(net, x);
}

/* ------------------------------------------------------------------ */
/* driving a discovery                                                 */
/* ------------------------------------------------------------------ */

struct drive {
    struct req *req;
    mtasts_lookup *lookup;
    mtasts_net_step_cb step;
    const char *name; /* of the step in progress (owned by the lookup) */
    size_t name_len;
};

static void drive_advance(struct drive *d);

/* The lookup is done (status 0) or dead: call the caller back. */
static void
drive_end(struct drive *d, int status)
{
    struct req *r = d->req;
    mtasts_lookup *lk = d->lookup;

    free(d);
    req_end(r);
    r->cb.lookup(r->user, status, lk);
    free(r);
}

/* After an answer was put into the lookup (rc): end on an error, else
 * tell the step callback what happened and ask the next question. */
static void
drive_step(struct drive *d, int rc, int kind, const struct mtasts_net_txt *txt,
           const struct mtasts_net_fetch *fetch)
{
    if (rc < 0) {
        drive_end(d, rc);
        return;
    }
    if (d->step != NULL) {
        struct mtasts_net_step s;

        memset(&s, 0, sizeof(s));
        s.kind = kind;
        s.name = d->name;
        s.name_len = d->name_len;
        s.txt = txt;
        s.fetch = fetch;
        d->step(d->req->user, &s);
    }
    drive_advance(d);
}

static void
drive_txt(void *arg, int status, const struct mtasts_net_txt *txt)
{
    struct drive *d = arg;
    int rc;

    if (status < 0) {
        drive_end(d, status);
        return;
    }
    rc = mtasts_lookup_put_txt(
        d->lookup, mtasts_net_dns_status_core(txt->status), txt->strs,
        txt->str_lens, txt->rr_nstr, txt->rr_count);
    drive_step(d, rc, MTASTS_NET_STEP_TXT, txt, NULL);
}

static void
drive_fetch(void *user, int status, const struct mtasts_net_fetch *f)
{
    struct drive *d = user;
    int rc;

    if (status < 0) {
        drive_end(d, status);
        return;
    }
    rc = mtasts_lookup_put_fetch(d->lookup, f->transport, f->http_status,
                                 f->content_type, f->content_type_len, f->body,
                                 f->body_len);
    drive_step(d, rc, MTASTS_NET_STEP_FETCH, NULL, f);
}

/* Ask the next question of the lookup, or finish. Runs from a callback
 * or a deferred call, never inside mtasts_net_lookup_start(). */
static void
drive_advance(struct drive *d)
{
    mtasts_net *net = d->req->net;
    int act = mtasts_lookup_next(d->lookup);
    int rc;

    if (act < 0) {
        drive_end(d, act);
        return;
    }
    if (act == MTASTS_ACT_DONE) {
        drive_end(d, 0);
        return;
    }
    if (net->closing) {
        drive_end(d, MTASTS_NET_ECANCELED);
        return;
    }
    if (act == MTASTS_ACT_TXT) {
        d->name = mtasts_lookup_txt_name(d->lookup, &d->name_len);
        rc = mtn_dns_txt(net->dns, d->name, d->name_len, drive_txt, d);
    } else if (act == MTASTS_ACT_FETCH) {
        size_t hl;
        const char *h = mtasts_lookup_fetch_host(d->lookup, &hl);

        d->name = mtasts_lookup_fetch_url(d->lookup, &d->name_len);
        /* as a user request of its own, counted until drive_fetch ran */
        rc = mtasts_net_fetch_start(net, d->name, d->name_len, h, hl,
                                    mtasts_lookup_fetch_timeout_ms(d->lookup),
                                    mtasts_lookup_fetch_max_size(d->lookup),
                                    drive_fetch, d);
    } else {
        rc = MTASTS_EINVAL;
    }
    if (rc < 0)
        drive_end(d, rc);
}

static void
drive_kick(void *arg, int cancel)
{
    struct drive *d = arg;

    if (cancel)
        drive_end(d, MTASTS_NET_ECANCELED);
    else
        drive_advance(d);
}

int
mtasts_net_lookup_start(mtasts_net *net, mtasts_lookup *lookup,
                        mtasts_net_step_cb step, mtasts_net_lookup_cb cb,
                        void *user)
{
    struct drive *d;
    struct req *r;
    int rc;

    if (net == NULL || lookup == NULL || cb == NULL || net->closing)
        return MTASTS_EINVAL;
    d = calloc(1, sizeof(*d));
    if (d == NULL)
        return MTASTS_ENOMEM;
    d->req = req_new(net, user);
    if (d->req == NULL) {
        free(d);
        return MTASTS_ENOMEM;
    }
    d->req->cb.lookup = cb;
    d->lookup = lookup;
    d->step = step;
    r = d->req;
    enter(net);
    rc = mtn_defer(net, drive_kick, d);
    if (rc < 0)
        free(d);
    return req_started(r, rc);
}

struct blocking {
    int done;
    int status;
};

static void
blocking_done(void *user, int status, mtasts_lookup *lookup)
{
    struct blocking *b = user;

    (void)lookup;
    b->done = 1;
    b->status = status;
}

/* The step callback of a blocking lookup gets the caller's user pointer,
 * not the struct blocking: a small trampoline carries both. */
struct blocking_step {
    struct blocking b;
    mtasts_net_step_cb step;
    void *user;
};

static void
blocking_step(void *user, const struct mtasts_net_step *s)
{
    struct blocking_step *bs = user;

    bs->step(bs->user, s);
}

static void
blocking_step_done(void *user, int status, mtasts_lookup *lookup)
{
    blocking_done(&((struct blocking_step *)user)->b, status, lookup);
}

int
mtasts_net_lookup(mtasts_net *net, mtasts_lookup *lookup,
                  mtasts_net_step_cb step, void *user)
{
    struct blocking_step bs;
    int rc;

    if (net == NULL || lookup == NULL)
        return MTASTS_EINVAL;
    if (net->loop_mode)
        return MTASTS_EINVAL;
    memset(&bs, 0, sizeof(bs));
    bs.step = step;
    bs.user = user;
    rc = mtasts_net_lookup_start(net, lookup, step ? blocking_step : NULL,
                                 blocking_step_done, &bs);
    if (rc < 0)
        return rc;
    rc = wait_until(net, &bs.b.done, 0);
    if (rc < 0)
        return rc;
    return bs.b.status;
}
