/*
 * mtasts-policyd: listeners and client connections.
 *
 * Two protocols share the listeners; a connection's first bytes say which
 * one it speaks (a line_port / line_path listener speaks lines only):
 *
 *  - Postfix socketmap (socketmap_table(5)): netstrings "LEN:NAME KEY,",
 *    answered "LEN:OK DATA,", "LEN:NOTFOUND ,", "LEN:TEMP REASON," or
 *    "LEN:PERM REASON,". A connection that starts with digits followed by
 *    ':' speaks it.
 *  - lines, for Exim ${readsocket} and scripts: "DOMAIN\n" or
 *    "ZONE DOMAIN\n", answered "MODE PATTERN...\n", "none\n" or
 *    "tempfail\n"; "stats\n" is answered with one JSON line.
 *
 * Requests on one connection are answered in order; a client may send
 * the next before reading the answer (up to MAX_PIPE at a time, then its
 * socket is not read until answers drain). A client that half-closes
 * (Exim shuts its side down after the request) gets its answers, then the
 * connection is closed.
 *
 * Limits: a netstring longer than MAX_REQUEST bytes (as Postfix's own
 * server), a line longer than that, or bytes that break the framing close
 * the connection with a log line; a request must be complete within
 * request_timeout of its first byte and answers must be taken within
 * request_timeout (slowloris), a connection with nothing to do is closed
 * after idle_timeout, and at most max_connections are open (more are
 * accepted and closed at once, so that Postfix sees an error rather than
 * a hang). Each connection holds at most MAX_REQUEST + 16 input bytes and
 * OUT_HARD output bytes.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "pd.h"

#define MAX_REQUEST 1024 /* netstring payload or line */
#define IN_CAP      (MAX_REQUEST + 16)
#define MAX_PIPE    16
#define OUT_SOFT    (64 * 1024)
#define OUT_HARD    (4 * 1024 * 1024)
#define BACKLOG     1024

enum {
    MODE_UNKNOWN = 0,
    MODE_NETSTRING = 1,
    MODE_LINE = 2
};

struct lsn {
    struct pd_server *srv;
    struct evconnlistener *el;
    struct pd_listen_spec spec;
    char desc[320];
    int keep; /* reload: still wanted */
    struct lsn *next;
};

struct conn {
    struct pd_server *srv;
    struct conn *prev, *next; /* all connections */
    struct conn *fnext;       /* flush queue */
    int in_flushq;
    int fd;
    struct event *rev, *wev, *tmr;
    unsigned char mode;
    unsigned char rd_eof, rd_paused, wr_armed, closing;
    char *in;
    size_t in_len;
    struct pd_req *qh, *qt;
    unsigned nq;
    char *out;
    size_t out_len, out_off, out_cap;
    int64_t partial_since, out_since, last_ms, tmr_at;
    char peer[80];
};

struct pd_server {
    struct event_base *base;
    struct pd_res *res;
    struct lsn *lsns;
    struct conn *conns;
    struct conn *flushq;
    struct event *flush_ev;
    struct event *resume_ev; /* accept again after EMFILE */
    size_t max_conns;
    int64_t idle_ms, req_ms;
    int draining;
    int64_t last_refused_log;
    struct pd_server_stats st;
};

static void conn_close(struct conn *c, int level, const char *why);
static void conn_service(struct conn *c);

/* ------------------------------------------------------------------ */
/* answers                                                             */
/* ------------------------------------------------------------------ */

int
pd_req_set_answer(struct pd_req *req, const char *text, size_t len)
{
    char head[24];
    int hn = 0;
    char *a;
    size_t n;

    if (req->proto == PD_PROTO_NETSTRING) {
        hn = snprintf(head, sizeof(head), "%zu:", len);
        n = (size_t)hn + len + 1;
    } else {
        n = len + 1;
    }
    a = malloc(n);
    if (a == NULL)
        return -1;
    if (hn > 0)
        memcpy(a, head, (size_t)hn);
    memcpy(a + hn, text, len);
    a[n - 1] = req->proto == PD_PROTO_NETSTRING ? ',' : '\n';
    free(req->ans);
    req->ans = a;
    req->ans_len = n;
    req->done = 1;
    return 0;
}

static void
flush_cb(evutil_socket_t fd, short what, void *arg)
{
    struct pd_server *srv = arg;
    struct conn *c;

    (void)fd;
    (void)what;
    while ((c = srv->flushq) != NULL) {
        srv->flushq = c->fnext;
        c->fnext = NULL;
        c->in_flushq = 0;
        conn_service(c);
    }
}

void
pd_server_answered(struct pd_req *req)
{
    struct conn *c = req->conn;
    struct pd_server *srv = c->srv;

    /* never service from here: the resolver may be walking a list that a
     * closing connection would change */
    if (!c->in_flushq) {
        c->in_flushq = 1;
        c->fnext = srv->flushq;
        srv->flushq = c;
        event_active(srv->flush_ev, EV_TIMEOUT, 0);
    }
}

/* ------------------------------------------------------------------ */
/* connections                                                         */
/* ------------------------------------------------------------------ */

static int64_t
conn_deadline(const struct conn *c, const char **why)
{
    int64_t d = INT64_MAX;
    const struct pd_server *srv = c->srv;

    *why = NULL;
    if (c->in_len > 0 && !c->rd_paused && !c->rd_eof && c->partial_since > 0) {
        d = c->partial_since + srv->req_ms;
        *why = "slow_request";
    }
    if (c->out_len > c->out_off && c->out_since + srv->req_ms < d) {
        d = c->out_since + srv->req_ms;
        *why = "slow_reader";
    }
    if (c->qh == NULL && c->in_len == 0 && c->out_len == c->out_off &&
        c->last_ms + srv->idle_ms < d) {
        d = c->last_ms + srv->idle_ms;
        *why = "idle";
    }
    return d;
}

static void
conn_arm(struct conn *c)
{
    const char *why;
    int64_t d = conn_deadline(c, &why), now;
    struct timeval tv;

    if (d == INT64_MAX || (c->tmr_at != 0 && c->tmr_at <= d))
        return; /* a later firing re-checks */
    now = pd_mono_ms();
    d = d > now ? d - now : 0;
    tv.tv_sec = (time_t)(d / 1000);
    tv.tv_usec = (suseconds_t)((d % 1000) * 1000);
    if (evtimer_add(c->tmr, &tv) == 0)
        c->tmr_at = now + d;
}

static void
conn_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    struct conn *c = arg;
    const char *why;
    int64_t d;

    (void)fd;
    (void)what;
    c->tmr_at = 0;
    d = conn_deadline(c, &why);
    if (d != INT64_MAX && pd_mono_ms() >= d) {
        c->srv->st.closed_timeout++;
        conn_close(c, strcmp(why, "idle") == 0 ? PD_LOG_DEBUG : PD_LOG_NOTICE,
                   why);
        return;
    }
    conn_arm(c);
}

static void
conn_close(struct conn *c, int level, const char *why)
{
    struct pd_server *srv = c->srv;
    struct pd_req *r, *next;
    struct conn **pp;
    struct pd_ll l;

    if (why != NULL && pd_log_enabled(level)) {
        pd_ll_begin(&l, level, "client_closed");
        pd_ll_cstr(&l, "peer", c->peer);
        pd_ll_cstr(&l, "reason", why);
        pd_ll_int(&l, "pending", c->nq);
        pd_ll_end(&l);
    }
    for (r = c->qh; r != NULL; r = next) {
        next = r->next;
        pd_res_cancel(srv->res, r);
        free(r->ans);
        free(r);
    }
    if (c->in_flushq) {
        for (pp = &srv->flushq; *pp != NULL; pp = &(*pp)->fnext) {
            if (*pp == c) {
                *pp = c->fnext;
                break;
            }
        }
    }
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        srv->conns = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    event_free(c->rev);
    event_free(c->wev);
    event_free(c->tmr);
    close(c->fd);
    free(c->in);
    free(c->out);
    free(c);
    srv->st.connections--;
}

static int
out_append(struct conn *c, const char *s, size_t n)
{
    size_t used = c->out_len - c->out_off;

    if (c->out_off > 0 && c->out_off == c->out_len) {
        c->out_off = c->out_len = 0;
        used = 0;
    }
    if (used + n > OUT_HARD)
        return -1;
    if (c->out_len + n > c->out_cap) {
        size_t cap = c->out_cap ? c->out_cap : 512;
        char *o;

        if (c->out_off > 0) {
            memmove(c->out, c->out + c->out_off, used);
            c->out_len = used;
            c->out_off = 0;
        }
        while (cap < c->out_len + n)
            cap *= 2;
        if (cap != c->out_cap) {
            o = realloc(c->out, cap);
            if (o == NULL)
                return -1;
            c->out = o;
            c->out_cap = cap;
        }
    }
    if (c->out_len == c->out_off)
        c->out_since = pd_mono_ms();
    memcpy(c->out + c->out_len, s, n);
    c->out_len += n;
    return 0;
}

/* Queue a new request; NULL when out of memory. */
static struct pd_req *
req_new(struct conn *c, int proto)
{
    struct pd_req *r = calloc(1, sizeof(*r));

    if (r == NULL)
        return NULL;
    r->conn = c;
    r->proto = proto;
    if (c->qt != NULL)
        c->qt->next = r;
    else
        c->qh = r;
    c->qt = r;
    c->nq++;
    return r;
}

static int
answer_now(struct conn *c, int proto, const char *text, size_t n)
{
    struct pd_req *r = req_new(c, proto);

    return r != NULL ? pd_req_set_answer(r, text, n) : -1;
}

static int
handle_netstring(struct conn *c, const char *p, size_t n)
{
    struct pd_server *srv = c->srv;
    const char *sp = memchr(p, ' ', n);
    struct pd_req *r;
    size_t i;

    srv->st.requests_ns++;
    if (sp == NULL || sp == p) {
        pd_res_count_perm(srv->res);
        return answer_now(c, PD_PROTO_NETSTRING,
                          "PERM malformed request: expected NAME KEY", 41);
    }
    for (i = 0; p + i < sp; i++) {
        unsigned char ch = (unsigned char)p[i];

        if (ch <= 0x20 || ch >= 0x7f) {
            pd_res_count_perm(srv->res);
            return answer_now(c, PD_PROTO_NETSTRING,
                              "PERM malformed request: bad map name", 36);
        }
    }
    /* nothing waits before it: an answer the memo holds goes straight to
     * the output, with no request to queue (the common case) */
    if (c->qh == NULL) {
        const char *a;
        size_t al;

        if (pd_res_cached_answer(srv->res, p, (size_t)(sp - p), sp + 1,
                                 n - (size_t)(sp - p) - 1, &a, &al))
            return out_append(c, a, al); /* < 0: out of memory */
    }
    r = req_new(c, PD_PROTO_NETSTRING);
    if (r == NULL)
        return -1;
    return pd_res_request(srv->res, r, p, (size_t)(sp - p), sp + 1,
                          n - (size_t)(sp - p) - 1);
}

static int
is_ws(char ch)
{
    return ch == ' ' || ch == '\t';
}

static int
handle_line(struct conn *c, const char *p, size_t n)
{
    struct pd_server *srv = c->srv;
    const char *tok[3];
    size_t tl[3], nt = 0, i = 0;
    struct pd_req *r;

    while (n > 0 && (p[n - 1] == '\r' || is_ws(p[n - 1])))
        n--;
    while (i < n) {
        while (i < n && is_ws(p[i]))
            i++;
        if (i == n)
            break;
        if (nt == 3)
            break;
        tok[nt] = p + i;
        while (i < n && !is_ws(p[i]))
            i++;
        tl[nt] = (size_t)(tok[nt] - p);
        tl[nt] = i - tl[nt];
        nt++;
    }
    if (nt == 0)
        return 0; /* an empty line asks nothing */
    srv->st.requests_line++;
    if (nt == 3)
        return answer_now(c, PD_PROTO_LINE,
                          "error expected DOMAIN or ZONE DOMAIN", 36);
    if (nt == 1 && tl[0] == 5 && memcmp(tok[0], "stats", 5) == 0) {
        char *js;
        size_t jl = 0;
        int rc;

        srv->st.stats_requests++;
        if (!pd_res_stats_enabled(srv->res))
            return answer_now(c, PD_PROTO_LINE, "error stats disabled", 20);
        js = pd_res_stats(srv->res, &jl);
        if (js == NULL)
            return -1;
        rc = answer_now(c, PD_PROTO_LINE, js, jl);
        free(js);
        return rc;
    }
    r = req_new(c, PD_PROTO_LINE);
    if (r == NULL)
        return -1;
    if (nt == 2)
        return pd_res_request(srv->res, r, tok[0], tl[0], tok[1], tl[1]);
    return pd_res_request(srv->res, r, NULL, 0, tok[0], tl[0]);
}

/* Parse and handle one request from the input. 1: handled (consumed
 * bytes), 0: more bytes needed, -1: the connection must close (why set). */
static int
parse_one(struct conn *c, size_t *consumed, const char **why)
{
    const char *in = c->in;
    size_t n = c->in_len, i = 0, len = 0;

    if (c->mode == MODE_UNKNOWN) {
        while (i < n && i < 8 && in[i] >= '0' && in[i] <= '9')
            i++;
        if (i == n && i < 8)
            return 0;
        c->mode = (i > 0 && i < n && in[i] == ':') ? MODE_NETSTRING : MODE_LINE;
        i = 0;
    }
    if (c->mode == MODE_LINE) {
        const char *nl = memchr(in, '\n', n);

        if (nl == NULL) {
            if (n > MAX_REQUEST) {
                *why = "line too long";
                return -1;
            }
            if (c->rd_eof && n > 0) {
                /* a last line without its newline */
                *consumed = n;
                return handle_line(c, in, n) < 0 ? -2 : 1;
            }
            return 0;
        }
        if ((size_t)(nl - in) > MAX_REQUEST) {
            *why = "line too long";
            return -1;
        }
        *consumed = (size_t)(nl - in) + 1;
        return handle_line(c, in, (size_t)(nl - in)) < 0 ? -2 : 1;
    }
    /* netstring: digits ':' payload ',' */
    for (i = 0; i < n && in[i] >= '0' && in[i] <= '9'; i++) {
        len = len * 10 + (size_t)(in[i] - '0');
        if (len > MAX_REQUEST) {
            *why = "netstring length over 1024";
            return -1;
        }
    }
    if (i == n)
        return 0;
    if (i == 0) {
        *why = "netstring: expected a length";
        return -1;
    }
    if (in[i] != ':') {
        *why = "netstring: expected ':' after the length";
        return -1;
    }
    if (n < i + 1 + len + 1)
        return 0;
    if (in[i + 1 + len] != ',') {
        *why = "netstring: expected ',' after the data";
        return -1;
    }
    *consumed = i + 1 + len + 1;
    return handle_netstring(c, in + i + 1, len) < 0 ? -2 : 1;
}

/* Move answered requests to the output and write what can be written.
 * 0, or -1 after closing the connection. */
static int
conn_flush(struct conn *c)
{
    struct pd_req *r;
    ssize_t w;

    while ((r = c->qh) != NULL && r->done != 0) {
        if (r->done < 0 || out_append(c, r->ans, r->ans_len) < 0) {
            conn_close(c, PD_LOG_WARNING,
                       r->done < 0 ? "out of memory" : "output over limit");
            return -1;
        }
        c->qh = r->next;
        if (c->qh == NULL)
            c->qt = NULL;
        c->nq--;
        free(r->ans);
        free(r);
    }
    while (c->out_off < c->out_len) {
        w = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
                 MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                if (!c->wr_armed && event_add(c->wev, NULL) == 0)
                    c->wr_armed = 1;
                return 0;
            }
            conn_close(c, PD_LOG_DEBUG, "write error");
            return -1;
        }
        c->out_off += (size_t)w;
        if (c->out_off < c->out_len)
            c->out_since = pd_mono_ms(); /* the reader took some */
    }
    c->out_off = c->out_len = 0;
    if (c->out_cap > OUT_SOFT) {
        free(c->out);
        c->out = NULL;
        c->out_cap = 0;
    }
    if (c->wr_armed) {
        event_del(c->wev);
        c->wr_armed = 0;
    }
    return 0;
}

/* Handle what is buffered, flush, decide on reading and closing, and arm
 * the timer. May close (and free) c. */
static void
conn_service(struct conn *c)
{
    struct pd_server *srv = c->srv;
    int rc, progressed;
    unsigned before;

    /* parse, flush, and again while answers made room for more */
    do {
        progressed = 0;
        for (;;) {
            size_t consumed = 0;
            const char *why = NULL;

            if (c->closing || c->nq >= MAX_PIPE ||
                c->out_len - c->out_off > OUT_SOFT || c->in_len == 0)
                break;
            rc = parse_one(c, &consumed, &why);
            if (rc == 0)
                break;
            if (rc == -2) {
                conn_close(c, PD_LOG_ERR, "out of memory");
                return;
            }
            if (rc < 0) {
                srv->st.closed_bad++;
                conn_close(c, PD_LOG_WARNING, why);
                return;
            }
            memmove(c->in, c->in + consumed, c->in_len - consumed);
            c->in_len -= consumed;
            c->partial_since = 0;
            progressed = 1;
        }
        before = c->nq;
        if (conn_flush(c) < 0)
            return;
    } while (c->in_len > 0 && (progressed || c->nq < before));
    if (c->in_len > 0 && c->partial_since == 0)
        c->partial_since = pd_mono_ms();
    /* done: the client closed its side (or we drain) and all is answered */
    if ((c->rd_eof || srv->draining) && c->qh == NULL &&
        c->out_len == c->out_off) {
        conn_close(c, PD_LOG_DEBUG, NULL);
        return;
    }
    if (!c->rd_eof && !srv->draining) {
        int want = c->nq < MAX_PIPE && c->out_len - c->out_off <= OUT_SOFT;

        if (want && c->rd_paused) {
            if (event_add(c->rev, NULL) == 0)
                c->rd_paused = 0;
        } else if (!want && !c->rd_paused) {
            event_del(c->rev);
            c->rd_paused = 1;
        }
    }
    conn_arm(c);
}

static void
conn_read_cb(evutil_socket_t fd, short what, void *arg)
{
    struct conn *c = arg;
    ssize_t n;

    (void)what;
    if (c->in == NULL) {
        c->in = malloc(IN_CAP);
        if (c->in == NULL) {
            conn_close(c, PD_LOG_ERR, "out of memory");
            return;
        }
    }
    if (c->in_len == IN_CAP) {
        /* full of bytes that make no request yet */
        c->srv->st.closed_bad++;
        conn_close(c, PD_LOG_WARNING, "request too long");
        return;
    }
    n = recv(fd, c->in + c->in_len, IN_CAP - c->in_len, 0);
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
            return;
        conn_close(c, PD_LOG_DEBUG, "read error");
        return;
    }
    c->last_ms = pd_mono_ms();
    if (n == 0) {
        c->rd_eof = 1;
        event_del(c->rev);
    } else {
        if (c->in_len == 0)
            c->partial_since = c->last_ms;
        c->in_len += (size_t)n;
    }
    conn_service(c);
}

static void
conn_write_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    conn_service(arg);
}

static void
accept_cb(struct evconnlistener *el, evutil_socket_t fd, struct sockaddr *sa,
          int salen, void *arg)
{
    struct lsn *ls = arg;
    struct pd_server *srv = ls->srv;
    struct conn *c;
    int one = 1;

    (void)el;
    (void)salen;
    if (srv->draining) {
        close(fd);
        return;
    }
    if (srv->st.connections >= srv->max_conns) {
        int64_t now = pd_mono_ms();

        srv->st.refused++;
        if (now - srv->last_refused_log >= 1000) {
            srv->last_refused_log = now;
            pd_log_msg(PD_LOG_WARNING, "refused",
                       "%zu connections open (max_connections): new ones "
                       "are closed (%llu so far)",
                       srv->st.connections,
                       (unsigned long long)srv->st.refused);
        }
        close(fd);
        return;
    }
    c = calloc(1, sizeof(*c));
    if (c == NULL) {
        close(fd);
        return;
    }
    c->srv = srv;
    c->fd = (int)fd;
    c->mode = ls->spec.line_only ? MODE_LINE : MODE_UNKNOWN;
    c->last_ms = pd_mono_ms();
    c->rev = event_new(srv->base, fd, EV_READ | EV_PERSIST, conn_read_cb, c);
    c->wev = event_new(srv->base, fd, EV_WRITE | EV_PERSIST, conn_write_cb, c);
    c->tmr = evtimer_new(srv->base, conn_timer_cb, c);
    if (c->rev == NULL || c->wev == NULL || c->tmr == NULL ||
        event_add(c->rev, NULL) != 0) {
        if (c->rev != NULL)
            event_free(c->rev);
        if (c->wev != NULL)
            event_free(c->wev);
        if (c->tmr != NULL)
            event_free(c->tmr);
        free(c);
        close(fd);
        return;
    }
    if (sa != NULL && sa->sa_family != AF_UNIX) {
        char host[64], serv[8];

        setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        if (getnameinfo(sa, (socklen_t)salen, host, sizeof(host), serv,
                        sizeof(serv), NI_NUMERICHOST | NI_NUMERICSERV) == 0)
            snprintf(c->peer, sizeof(c->peer), "%s:%s", host, serv);
    } else {
        snprintf(c->peer, sizeof(c->peer), "unix");
    }
    c->next = srv->conns;
    if (srv->conns != NULL)
        srv->conns->prev = c;
    srv->conns = c;
    srv->st.connections++;
    srv->st.accepted++;
    conn_arm(c);
}

static void
resume_cb(evutil_socket_t fd, short what, void *arg)
{
    struct pd_server *srv = arg;
    struct lsn *ls;

    (void)fd;
    (void)what;
    for (ls = srv->lsns; ls != NULL; ls = ls->next)
        evconnlistener_enable(ls->el);
}

static void
accept_error_cb(struct evconnlistener *el, void *arg)
{
    struct lsn *ls = arg;
    struct pd_server *srv = ls->srv;
    struct lsn *x;
    struct timeval tv = {0, 200000};
    int err = EVUTIL_SOCKET_ERROR();

    (void)el;
    /* out of file descriptors: pause accepting for a moment rather than
     * spin on the same error */
    pd_log_msg(PD_LOG_WARNING, "accept", "%s: accept failed: %s", ls->desc,
               strerror(err));
    for (x = srv->lsns; x != NULL; x = x->next)
        evconnlistener_disable(x->el);
    evtimer_add(srv->resume_ev, &tv);
}

/* ------------------------------------------------------------------ */
/* listeners                                                           */
/* ------------------------------------------------------------------ */

static int
spec_same_address(const struct pd_listen_spec *a,
                  const struct pd_listen_spec *b)
{
    if (a->is_unix != b->is_unix || a->line_only != b->line_only)
        return 0;
    if (a->is_unix)
        return strcmp(a->path, b->path) == 0;
    return a->port == b->port && strcmp(a->host, b->host) == 0;
}

static int
spec_copy(struct pd_listen_spec *d, const struct pd_listen_spec *s)
{
    memset(d, 0, sizeof(*d));
    *d = *s;
    d->host = d->path = d->owner = NULL;
    if ((s->host != NULL && (d->host = strdup(s->host)) == NULL) ||
        (s->path != NULL && (d->path = strdup(s->path)) == NULL) ||
        (s->owner != NULL && (d->owner = strdup(s->owner)) == NULL)) {
        free(d->host);
        free(d->path);
        free(d->owner);
        return -1;
    }
    return 0;
}

static void
lsn_free(struct lsn *ls, int unlink_path)
{
    if (ls->el != NULL)
        evconnlistener_free(ls->el);
    if (unlink_path && ls->spec.is_unix && ls->spec.path != NULL)
        unlink(ls->spec.path);
    free(ls->spec.host);
    free(ls->spec.path);
    free(ls->spec.owner);
    free(ls);
}

/* owner "user" or "user:group" */
static int
apply_owner(const char *path, const char *owner)
{
    char name[256];
    const char *colon = strchr(owner, ':');
    struct passwd *pw;
    struct group *gr;
    uid_t uid = (uid_t)-1;
    gid_t gid = (gid_t)-1;
    size_t ul = colon != NULL ? (size_t)(colon - owner) : strlen(owner);

    if (ul >= sizeof(name))
        return -1;
    memcpy(name, owner, ul);
    name[ul] = '\0';
    if (ul > 0) {
        pw = getpwnam(name);
        if (pw == NULL) {
            pd_log_msg(PD_LOG_ERR, "listen", "owner: no user '%s'", name);
            return -1;
        }
        uid = pw->pw_uid;
        gid = pw->pw_gid;
    }
    if (colon != NULL && colon[1] != '\0') {
        gr = getgrnam(colon + 1);
        if (gr == NULL) {
            pd_log_msg(PD_LOG_ERR, "listen", "owner: no group '%s'", colon + 1);
            return -1;
        }
        gid = gr->gr_gid;
    }
    if (chown(path, uid, gid) < 0) {
        pd_log_msg(PD_LOG_ERR, "listen", "chown %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

static int
unix_attrs(const struct pd_listen_spec *s)
{
    if (s->mode >= 0 && chmod(s->path, (mode_t)s->mode) < 0) {
        pd_log_msg(PD_LOG_ERR, "listen", "chmod %s: %s", s->path,
                   strerror(errno));
        return -1;
    }
    if (s->owner != NULL && apply_owner(s->path, s->owner) < 0)
        return -1;
    return 0;
}

static int
open_unix(const struct pd_listen_spec *s)
{
    struct sockaddr_un sun;
    struct stat st;
    int fd;

    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    if (strlen(s->path) >= sizeof(sun.sun_path)) {
        pd_log_msg(PD_LOG_ERR, "listen", "%s: path too long", s->path);
        return -1;
    }
    memcpy(sun.sun_path, s->path, strlen(s->path));
    if (lstat(s->path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            pd_log_msg(PD_LOG_ERR, "listen", "%s exists and is not a socket",
                       s->path);
            return -1;
        }
        /* a live daemon answers; a stale file is removed */
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd >= 0) {
            if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
                close(fd);
                pd_log_msg(PD_LOG_ERR, "listen",
                           "%s: another server is listening there", s->path);
                return -1;
            }
            close(fd);
        }
        unlink(s->path);
    }
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
        listen(fd, BACKLOG) < 0) {
        pd_log_msg(PD_LOG_ERR, "listen", "%s: %s", s->path, strerror(errno));
        close(fd);
        return -1;
    }
    if (unix_attrs(s) < 0) {
        close(fd);
        unlink(s->path);
        return -1;
    }
    return fd;
}

static int
open_tcp(const struct addrinfo *ai, const struct pd_listen_spec *s,
         const char *desc)
{
    int fd, one = 1;

    fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                ai->ai_protocol);
    if (fd < 0) {
        pd_log_msg(PD_LOG_ERR, "listen", "%s: %s", desc, strerror(errno));
        return -1;
    }
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
#ifdef SO_REUSEPORT
    if (s->reuse_port)
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
#endif
    if (ai->ai_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, BACKLOG) < 0) {
        pd_log_msg(PD_LOG_ERR, "listen", "%s: %s", desc, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

static struct lsn *
lsn_wrap(struct pd_server *srv, const struct pd_listen_spec *s, int fd,
         const char *desc)
{
    struct lsn *ls = calloc(1, sizeof(*ls));

    if (ls == NULL || spec_copy(&ls->spec, s) < 0) {
        free(ls);
        close(fd);
        return NULL;
    }
    ls->srv = srv;
    snprintf(ls->desc, sizeof(ls->desc), "%s", desc);
    ls->el = evconnlistener_new(srv->base, accept_cb, ls, LEV_OPT_CLOSE_ON_FREE,
                                0, fd);
    if (ls->el == NULL) {
        close(fd);
        lsn_free(ls, 0);
        return NULL;
    }
    evconnlistener_set_error_cb(ls->el, accept_error_cb);
    ls->keep = 1;
    return ls;
}

/* Open the sockets of one spec; appended to *list. 0 or -1. */
static int
open_spec(struct pd_server *srv, const struct pd_listen_spec *s,
          struct lsn **list)
{
    char desc[320], port[16];
    struct addrinfo hints, *res = NULL, *ai;
    struct lsn *ls;
    int fd, rc, n = 0;

    if (s->is_unix) {
        snprintf(desc, sizeof(desc), "unix:%s%s", s->path,
                 s->line_only ? " (lines)" : "");
        fd = open_unix(s);
        if (fd < 0)
            return -1;
        ls = lsn_wrap(srv, s, fd, desc);
        if (ls == NULL)
            return -1;
        ls->next = *list;
        *list = ls;
        pd_log_msg(PD_LOG_INFO, "listen", "%s", desc);
        return 0;
    }
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    snprintf(port, sizeof(port), "%d", s->port);
    rc = getaddrinfo(s->host, port, &hints, &res);
    if (rc != 0) {
        pd_log_msg(PD_LOG_ERR, "listen", "%s: %s", s->host, gai_strerror(rc));
        return -1;
    }
    for (ai = res; ai != NULL; ai = ai->ai_next) {
        char host[64];

        if (getnameinfo(ai->ai_addr, ai->ai_addrlen, host, sizeof(host), NULL,
                        0, NI_NUMERICHOST) != 0)
            snprintf(host, sizeof(host), "?");
        snprintf(desc, sizeof(desc), "inet:%s%s%s:%d%s",
                 ai->ai_family == AF_INET6 ? "[" : "", host,
                 ai->ai_family == AF_INET6 ? "]" : "", s->port,
                 s->line_only ? " (lines)" : "");
        fd = open_tcp(ai, s, desc);
        if (fd < 0) {
            freeaddrinfo(res);
            return -1;
        }
        ls = lsn_wrap(srv, s, fd, desc);
        if (ls == NULL) {
            freeaddrinfo(res);
            return -1;
        }
        ls->next = *list;
        *list = ls;
        n++;
        pd_log_msg(PD_LOG_INFO, "listen", "%s", desc);
    }
    freeaddrinfo(res);
    return n > 0 ? 0 : -1;
}

int
pd_server_listen(struct pd_server *srv, const struct pd_config *cfg)
{
    struct lsn *fresh = NULL, *ls, *next, **pp;
    size_t i;
    int found;

    for (ls = srv->lsns; ls != NULL; ls = ls->next)
        ls->keep = 0;
    for (i = 0; i < cfg->nlisten; i++) {
        const struct pd_listen_spec *s = &cfg->listen[i];

        found = 0;
        for (ls = srv->lsns; ls != NULL; ls = ls->next) {
            if (spec_same_address(&ls->spec, s)) {
                ls->keep = 1;
                found = 1;
            }
        }
        if (found)
            continue;
        if (open_spec(srv, s, &fresh) < 0) {
            /* all or nothing: what was there stays */
            for (ls = fresh; ls != NULL; ls = next) {
                next = ls->next;
                lsn_free(ls, 1);
            }
            for (ls = srv->lsns; ls != NULL; ls = ls->next)
                ls->keep = 1;
            return -1;
        }
    }
    /* kept UNIX sockets take the new mode and owner */
    for (i = 0; i < cfg->nlisten; i++) {
        const struct pd_listen_spec *s = &cfg->listen[i];

        for (ls = srv->lsns; ls != NULL; ls = ls->next) {
            if (!ls->keep || !spec_same_address(&ls->spec, s))
                continue;
            if (s->is_unix &&
                (s->mode != ls->spec.mode ||
                 (s->owner == NULL) != (ls->spec.owner == NULL) ||
                 (s->owner != NULL && strcmp(s->owner, ls->spec.owner) != 0)))
                unix_attrs(s);
            if (!s->is_unix && s->reuse_port != ls->spec.reuse_port)
                pd_log_msg(PD_LOG_WARNING, "reload",
                           "%s: reuse_port changes at the next restart",
                           ls->desc);
        }
    }
    for (pp = &srv->lsns; *pp != NULL;) {
        ls = *pp;
        if (!ls->keep) {
            *pp = ls->next;
            pd_log_msg(PD_LOG_INFO, "listen", "%s closed", ls->desc);
            lsn_free(ls, 1);
        } else {
            pp = &ls->next;
        }
    }
    for (ls = fresh; ls != NULL; ls = next) {
        next = ls->next;
        ls->next = srv->lsns;
        srv->lsns = ls;
    }
    return 0;
}

void
pd_server_configure(struct pd_server *srv, const struct pd_config *cfg)
{
    srv->max_conns = cfg->max_connections;
    srv->idle_ms = (int64_t)(cfg->idle_timeout * 1000);
    srv->req_ms = (int64_t)(cfg->request_timeout * 1000);
    if (srv->idle_ms < 1)
        srv->idle_ms = 1;
    if (srv->req_ms < 1)
        srv->req_ms = 1;
}

int
pd_server_new(struct event_base *base, struct pd_res *res,
              struct pd_server **ret)
{
    struct pd_server *srv = calloc(1, sizeof(*srv));

    *ret = NULL;
    if (srv == NULL)
        return -1;
    srv->base = base;
    srv->res = res;
    srv->max_conns = 1;
    srv->idle_ms = srv->req_ms = 10000;
    srv->flush_ev = event_new(base, -1, 0, flush_cb, srv);
    srv->resume_ev = evtimer_new(base, resume_cb, srv);
    if (srv->flush_ev == NULL || srv->resume_ev == NULL) {
        pd_server_free(srv);
        return -1;
    }
    *ret = srv;
    return 0;
}

void
pd_server_drain(struct pd_server *srv)
{
    struct lsn *ls;
    struct conn *c, *next;

    srv->draining = 1;
    while ((ls = srv->lsns) != NULL) {
        srv->lsns = ls->next;
        lsn_free(ls, 1);
    }
    for (c = srv->conns; c != NULL; c = next) {
        next = c->next;
        if (!c->rd_paused) {
            event_del(c->rev);
            c->rd_paused = 1;
        }
        /* closes it when nothing is left to answer */
        conn_service(c);
    }
}

size_t
pd_server_connections(const struct pd_server *srv)
{
    return srv->st.connections;
}

const struct pd_server_stats *
pd_server_stats(const struct pd_server *srv)
{
    return &srv->st;
}

void
pd_server_free(struct pd_server *srv)
{
    struct lsn *ls;

    if (srv == NULL)
        return;
    while ((ls = srv->lsns) != NULL) {
        srv->lsns = ls->next;
        lsn_free(ls, 1);
    }
    while (srv->conns != NULL)
        conn_close(srv->conns, PD_LOG_DEBUG, NULL);
    if (srv->flush_ev != NULL)
        event_free(srv->flush_ev);
    if (srv->resume_ev != NULL)
        event_free(srv->resume_ev);
    free(srv);
}
