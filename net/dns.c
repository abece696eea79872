/*
 * libmtasts-net DNS: TXT, MX and address queries through c-ares, one
 * channel per handle, driven by the handle's loop (net.c) through the
 * channel's socket-state callback and ares_process_fd().
 *
 * Outcomes (mtn_dns_map_status(); the table of mtasts_net(3)):
 *
 *   c-ares status                       records  callback   result status
 *   ----------------------------------  -------  ---------  -------------
 *   ARES_SUCCESS                        >= 1     0          OK
 *   ARES_SUCCESS (e.g. only a CNAME)    0        0          NODATA
 *   ARES_ENODATA (NOERROR, no answer)   -        0          NODATA
 *   ARES_ENOTFOUND (RCODE 3)            -        0          NXDOMAIN
 *   ARES_ESERVFAIL (RCODE 2)            -        0          SERVFAIL
 *   ARES_ETIMEOUT (no answer in tries)  -        0          TIMEOUT
 *   ARES_ENOMEM                         -        ENOMEM     (NULL result)
 *   ARES_EDESTRUCTION, ARES_ECANCELLED  -        ECANCELED  (NULL result)
 *   every other code: EREFUSED (RCODE 5), EFORMERR (1), ENOTIMP (4),
 *   EBADRESP (a malformed answer), ECONNREFUSED (no server reachable),
 *   EOF, EBADNAME, EBADQUERY ...        -        0          ERROR
 *
 * "callback" is the status the request's callback gets (0, MTASTS_ENOMEM,
 * MTASTS_NET_ECANCELED); "result status" is the mtasts_net_dns_status in
 * the result it gets with 0. A parse failure of a successful answer
 * (EBADRESP, ENOMEM) goes through the same table.
 *
 * c-ares 1.18 notes that shape the channel options:
 *  - ARES_FLAG_NOCHECKRESP: without it a SERVFAIL or REFUSED answer makes
 *    c-ares try the next server (or the same one again) and, once the
 *    tries are spent, end with ARES_ECONNREFUSED, so SERVFAIL could not be
 *    told from a network error. With it the answer ends the query: no
 *    failover to another server on SERVFAIL/REFUSED (timeouts and network
 *    errors still fail over).
 *  - No search list (ARES_OPT_DOMAINS, none) and no HOSTALIASES
 *    (ARES_FLAG_NOALIASES): every name is absolute.
 *  - The time of a try doubles with each round over the servers (c-ares):
 *    dns_timeout_ms 200 and 2 tries give up after 200 + 400 ms.
 *  - Addresses (mtn_dns_addrs) follow the system's lookup order (c-ares
 *    reads nsswitch.conf: /etc/hosts, then DNS); "localhost" is never sent
 *    to a server. IP literals are answered without a query.
 *  - ares_library_init() is not called: outside Windows it only counts
 *    and installs allocators, and would not be thread-safe to call here.
 *    Channels share nothing, so distinct handles work in distinct threads.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <ares.h>

#include "addr.h"
#include "net_int.h"

/* RFC 1035 3.2.2 and 3.2.4 */
enum {
    DNS_CLASS_IN = 1,
    DNS_TYPE_MX = 15,
    DNS_TYPE_TXT = 16
};

/* A name is at most 253 bytes as text (255 on the wire), plus an optional
 * trailing dot and the NUL. */
#define NAME_MAX_LEN 253
#define LABEL_MAX    63

/* limits of dns_timeout_ms and dns_tries (c-ares keeps both in an int and
 * multiplies tries by the number of servers) */
#define TIMEOUT_MAX_MS 86400000u
#define TRIES_MAX      100u

#define DEFAULT_TIMEOUT_MS 2000u
#define DEFAULT_TRIES      3u

enum req_kind {
    REQ_TXT = 1,
    REQ_MX = 2,
    REQ_ADDRS = 3
};

struct mtn_dns;

union req_cb {
    mtasts_net_txt_cb txt;
    mtasts_net_mx_cb mx;
    mtn_addrs_cb addrs;
};

/* One request, from its start to its callback. */
struct req {
    struct mtn_dns *dns; /* NULL once the channel is gone (deferred) */
    enum req_kind kind;
    union req_cb cb;
    void *user;
    int starting;   /* inside the starting call */
    int done;       /* the result is known */
    int cb_status;  /* 0, MTASTS_ENOMEM, MTASTS_NET_ECANCELED */
    int dns_status; /* an mtasts_net_dns_status, with cb_status 0 */
    void *block;    /* the result with its records, NULL without */
    /* the list of requests waiting for mtn_defer() delivery */
    struct req *prev, *next;
};

struct mtn_dns {
    mtasts_net *net;
    ares_channel channel;
    size_t pending; /* requests whose callback has not run */
    int closing;    /* inside mtn_dns_free() */
    /* a socket could not be watched (no memory): the running queries are
     * ended with MTASTS_ENOMEM at the next event, which is made due */
    int watch_failed;
    /* while ares_cancel() runs for that: the callbacks' status */
    int cancel_status;
    struct req *deferred;
};

/* Result blocks: the public struct, then its arrays, then the bytes, in
 * one allocation. Offsets are rounded up to a multiple of the size of
 * this union, which every member type's alignment divides. */
union mtn_align {
    size_t z;
    const char *p;
    uint16_t u;
};

#define ALIGN_UP(n)                                                  \
    (((n) + sizeof(union mtn_align) - 1) / sizeof(union mtn_align) * \
     sizeof(union mtn_align))

/* ------------------------------------------------------------------ */
/* Outcomes                                                            */
/* ------------------------------------------------------------------ */

int
mtn_dns_map_status(int ares_status, size_t nrecords)
{
    switch (ares_status) {
    case ARES_SUCCESS:
        return nrecords > 0 ? MTASTS_NET_DNS_OK : MTASTS_NET_DNS_NODATA;
    case ARES_ENODATA:
        return MTASTS_NET_DNS_NODATA;
    case ARES_ENOTFOUND:
        return MTASTS_NET_DNS_NXDOMAIN;
    case ARES_ESERVFAIL:
        return MTASTS_NET_DNS_SERVFAIL;
    case ARES_ETIMEOUT:
        return MTASTS_NET_DNS_TIMEOUT;
    case ARES_ENOMEM:
        return MTASTS_ENOMEM;
    case ARES_EDESTRUCTION:
    case ARES_ECANCELLED:
        return MTASTS_NET_ECANCELED;
    default:
        return MTASTS_NET_DNS_ERROR;
    }
}

const char *
mtasts_net_dns_status_name(int status)
{
    switch (status) {
    case MTASTS_NET_DNS_OK:
        return "ok";
    case MTASTS_NET_DNS_NXDOMAIN:
        return "nxdomain";
    case MTASTS_NET_DNS_NODATA:
        return "nodata";
    case MTASTS_NET_DNS_SERVFAIL:
        return "servfail";
    case MTASTS_NET_DNS_TIMEOUT:
        return "timeout";
    case MTASTS_NET_DNS_ERROR:
        return "error";
    default:
        return NULL;
    }
}

int
mtasts_net_dns_status_core(int status)
{
    switch (status) {
    case MTASTS_NET_DNS_OK:
        return MTASTS_DNS_OK;
    case MTASTS_NET_DNS_NXDOMAIN:
        return MTASTS_DNS_NXDOMAIN;
    case MTASTS_NET_DNS_NODATA:
        return MTASTS_DNS_NODATA;
    case MTASTS_NET_DNS_SERVFAIL:
    case MTASTS_NET_DNS_TIMEOUT:
    case MTASTS_NET_DNS_ERROR:
        return MTASTS_DNS_TEMPFAIL;
    default:
        return MTASTS_EINVAL;
    }
}

/* Set the outcome of req from a c-ares status and a record count. */
static void
req_outcome(struct req *req, int ares_status, size_t nrecords)
{
    int st = mtn_dns_map_status(ares_status, nrecords);

    if (st < 0) {
        req->cb_status = st;
        req->dns_status = MTASTS_NET_DNS_ERROR;
    } else {
        req->cb_status = 0;
        req->dns_status = st;
    }
}

/* ------------------------------------------------------------------ */
/* Result blocks                                                       */
/* ------------------------------------------------------------------ */

/* The TXT RRset of a parsed answer: record starts are marked by c-ares
 * (record_start), so strings of one RR and the RRs stay apart. Returns an
 * ARES_* status; *ret_n is the number of records. */
static int
txt_build(const struct ares_txt_ext *head, void **ret_block, size_t *ret_n)
{
    const struct ares_txt_ext *t;
    size_t nrec = 0, nstr = 0, nbytes = 0, off_nstr, off_lens, off_strs;
    size_t off_bytes, r, s, pos;
    struct mtasts_net_txt *res;
    size_t *rr_nstr, *lens;
    const char **strs;
    char *bytes;

    /* sizes are bounded by the answer (at most 65535 bytes) */
    for (t = head; t != NULL; t = t->next) {
        if (t->record_start || t == head) /* the first always starts one */
            nrec++;
        nstr++;
        nbytes += t->length + 1;
    }
    *ret_n = nrec;
    if (nrec == 0)
        return ARES_SUCCESS;
    off_strs = ALIGN_UP(sizeof(*res));
    off_nstr = ALIGN_UP(off_strs + nstr * sizeof(const char *));
    off_lens = ALIGN_UP(off_nstr + nrec * sizeof(size_t));
    off_bytes = off_lens + nstr * sizeof(size_t);
    res = malloc(off_bytes + nbytes);
    if (res == NULL)
        return ARES_ENOMEM;
    strs = (const char **)(void *)((char *)res + off_strs);
    rr_nstr = (size_t *)(void *)((char *)res + off_nstr);
    lens = (size_t *)(void *)((char *)res + off_lens);
    bytes = (char *)res + off_bytes;
    r = 0;
    s = 0;
    pos = 0;
    for (t = head; t != NULL; t = t->next) {
        if (t->record_start && t != head)
            r++;
        if (t->record_start || t == head)
            rr_nstr[r] = 0;
        rr_nstr[r]++;
        if (t->length > 0)
            memcpy(bytes + pos, t->txt, t->length);
        bytes[pos + t->length] = '\0';
        strs[s] = bytes + pos;
        lens[s] = t->length;
        pos += t->length + 1;
        s++;
    }
    res->status = MTASTS_NET_DNS_OK;
    res->rr_count = nrec;
    res->rr_nstr = rr_nstr;
    res->strs = strs;
    res->str_lens = lens;
    *ret_block = res;
    return ARES_SUCCESS;
}

/* The MX RRset sorted by preference, ties in answer order (a stable
 * insertion sort: an answer holds at most a few thousand records). A host
 * "." (c-ares expands the root to "") is returned with length 0: the null
 * MX of RFC 7505. */
static int
mx_build(const struct ares_mx_reply *head, void **ret_block, size_t *ret_n)
{
    const struct ares_mx_reply *m;
    size_t n = 0, nbytes = 0, off_hosts, off_bytes, i, j, pos;
    struct mtasts_net_mx *res;
    struct mtasts_net_mx_host *hosts, h;
    char *bytes;

    for (m = head; m != NULL; m = m->next) {
        n++;
        nbytes += strlen(m->host) + 1;
    }
    *ret_n = n;
    if (n == 0)
        return ARES_SUCCESS;
    off_hosts = ALIGN_UP(sizeof(*res));
    off_bytes = off_hosts + n * sizeof(struct mtasts_net_mx_host);
    res = malloc(off_bytes + nbytes);
    if (res == NULL)
        return ARES_ENOMEM;
    hosts = (struct mtasts_net_mx_host *)(void *)((char *)res + off_hosts);
    bytes = (char *)res + off_bytes;
    pos = 0;
    i = 0;
    for (m = head; m != NULL; m = m->next) {
        size_t size = strlen(m->host), len = size;

        memcpy(bytes + pos, m->host, size);
        if (len > 0 && bytes[pos + len - 1] == '.')
            len--;
        bytes[pos + len] = '\0';
        h.preference = m->priority;
        h.host = bytes + pos;
        h.host_len = len;
        pos += size + 1;
        /* insert after every host of a lower or equal preference */
        for (j = i; j > 0 && hosts[j - 1].preference > h.preference; j--)
            hosts[j] = hosts[j - 1];
        hosts[j] = h;
        i++;
    }
    res->status = MTASTS_NET_DNS_OK;
    res->count = n;
    res->hosts = hosts;
    *ret_block = res;
    return ARES_SUCCESS;
}

/* Text of one address of family af (AF_INET, AF_INET6) into buf. */
static int
addr_text(int af, const void *addr, char *buf, size_t size)
{
    return inet_ntop(af, addr, buf, (socklen_t)size) != NULL ? 0 : -1;
}

/* The addresses of an addrinfo list as text, IPv4 first then IPv6, each
 * family in the order c-ares gave (the answer's, no RFC 6724 sorting). */
static int
addrs_build(const struct ares_addrinfo *ai, void **ret_block, size_t *ret_n)
{
    static const int fams[2] = {AF_INET, AF_INET6};
    const struct ares_addrinfo_node *nd;
    char buf[INET6_ADDRSTRLEN];
    size_t n = 0, nbytes = 0, off_ptrs, off_bytes, i = 0, pos = 0, len;
    struct mtn_addrs *res;
    const char **ptrs;
    char *bytes;
    int f;

    *ret_n = 0;
    for (nd = ai != NULL ? ai->nodes : NULL; nd != NULL; nd = nd->ai_next) {
        if (nd->ai_family == AF_INET || nd->ai_family == AF_INET6) {
            n++;
            nbytes += INET6_ADDRSTRLEN;
        }
    }
    if (n == 0)
        return ARES_SUCCESS;
    off_ptrs = ALIGN_UP(sizeof(*res));
    off_bytes = off_ptrs + n * sizeof(const char *);
    res = malloc(off_bytes + nbytes);
    if (res == NULL)
        return ARES_ENOMEM;
    ptrs = (const char **)(void *)((char *)res + off_ptrs);
    bytes = (char *)res + off_bytes;
    for (f = 0; f < 2; f++) {
        for (nd = ai->nodes; nd != NULL; nd = nd->ai_next) {
            const void *a;

            if (nd->ai_family != fams[f])
                continue;
            if (fams[f] == AF_INET)
                a = &((const struct sockaddr_in *)(const void *)nd->ai_addr)
                         ->sin_addr;
            else
                a = &((const struct sockaddr_in6 *)(const void *)nd->ai_addr)
                         ->sin6_addr;
            if (addr_text(fams[f], a, buf, sizeof(buf)) != 0)
                continue; /* cannot happen for these families */
            len = strlen(buf);
            memcpy(bytes + pos, buf, len + 1);
            ptrs[i++] = bytes + pos;
            pos += len + 1;
        }
    }
    res->status = MTASTS_NET_DNS_OK;
    res->count = i;
    res->addrs = ptrs;
    *ret_n = i;
    if (i == 0) {
        free(res);
        return ARES_SUCCESS;
    }
    *ret_block = res;
    return ARES_SUCCESS;
}

/* ------------------------------------------------------------------ */
/* Delivery                                                            */
/* ------------------------------------------------------------------ */

static void
deferred_unlink(struct req *req)
{
    struct mtn_dns *dns = req->dns;

    if (dns == NULL)
        return;
    if (req->prev != NULL)
        req->prev->next = req->next;
    else if (dns->deferred == req)
        dns->deferred = req->next;
    if (req->next != NULL)
        req->next->prev = req->prev;
    req->prev = req->next = NULL;
}

/* Run the callback of req (cancelled: MTASTS_NET_ECANCELED) and free it.
 * The result lives until the callback returns. */
static void
req_deliver(struct req *req, int cancel)
{
    int st = cancel ? MTASTS_NET_ECANCELED : req->cb_status;

    if (req->dns != NULL && req->dns->pending > 0)
        req->dns->pending--;
    switch (req->kind) {
    case REQ_TXT: {
        struct mtasts_net_txt none;
        const struct mtasts_net_txt *p = NULL;

        if (st == 0 && req->block != NULL) {
            p = req->block;
        } else if (st == 0) {
            memset(&none, 0, sizeof(none));
            none.status = req->dns_status;
            p = &none;
        }
        req->cb.txt(req->user, st, p);
        break;
    }
    case REQ_MX: {
        struct mtasts_net_mx none;
        const struct mtasts_net_mx *p = NULL;

        if (st == 0 && req->block != NULL) {
            p = req->block;
        } else if (st == 0) {
            memset(&none, 0, sizeof(none));
            none.status = req->dns_status;
            p = &none;
        }
        req->cb.mx(req->user, st, p);
        break;
    }
    case REQ_ADDRS: {
        struct mtn_addrs none;
        const struct mtn_addrs *p = NULL;

        if (st == 0 && req->block != NULL) {
            p = req->block;
        } else if (st == 0) {
            memset(&none, 0, sizeof(none));
            none.status = req->dns_status;
            p = &none;
        }
        req->cb.addrs(req->user, st, p);
        break;
    }
    }
    free(req->block);
    free(req);
}

/* mtn_defer() callback: a result known inside its starting call. */
static void
req_deferred(void *arg, int cancel)
{
    struct req *req = arg;

    deferred_unlink(req);
    req_deliver(req, cancel);
}

/* The request's result is known: deliver it now, or keep it for the
 * starting call to defer. */
static void
req_done(struct req *req)
{
    req->done = 1;
    if (req->dns != NULL && req->dns->closing) {
        /* ares_destroy(): whatever came, the request is cancelled */
        free(req->block);
        req->block = NULL;
        req->cb_status = MTASTS_NET_ECANCELED;
    } else if (req->dns != NULL && req->dns->cancel_status != 0) {
        /* ares_cancel() after a failed watch */
        free(req->block);
        req->block = NULL;
        req->cb_status = req->dns->cancel_status;
    }
    if (!req->starting)
        req_deliver(req, 0);
}

/* c-ares callback of ares_query() (TXT and MX). */
static void
on_answer(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
    struct req *req = arg;
    size_t n = 0;

    (void)timeouts;
    if (status == ARES_SUCCESS && abuf != NULL && alen > 0) {
        if (req->kind == REQ_TXT) {
            struct ares_txt_ext *txt = NULL;

            status = ares_parse_txt_reply_ext(abuf, alen, &txt);
            if (status == ARES_SUCCESS)
                status = txt_build(txt, &req->block, &n);
            if (txt != NULL)
                ares_free_data(txt);
        } else {
            struct ares_mx_reply *mx = NULL;

            status = ares_parse_mx_reply(abuf, alen, &mx);
            if (status == ARES_SUCCESS)
                status = mx_build(mx, &req->block, &n);
            if (mx != NULL)
                ares_free_data(mx);
        }
    } else if (status == ARES_SUCCESS) {
        status = ARES_EBADRESP;
    }
    req_outcome(req, status, n);
    req_done(req);
}

/* c-ares callback of ares_getaddrinfo(). */
static void
on_addrinfo(void *arg, int status, int timeouts, struct ares_addrinfo *ai)
{
    struct req *req = arg;
    size_t n = 0;

    (void)timeouts;
    if (status == ARES_SUCCESS)
        status = addrs_build(ai, &req->block, &n);
    if (ai != NULL)
        ares_freeaddrinfo(ai);
    req_outcome(req, status, n);
    req_done(req);
}

/* ------------------------------------------------------------------ */
/* Channel                                                             */
/* ------------------------------------------------------------------ */

static void
on_sock_state(void *data, ares_socket_t fd, int readable, int writable)
{
    struct mtn_dns *dns = data;
    unsigned what = 0;

    if (readable)
        what |= MTASTS_NET_F_POLL_IN;
    if (writable)
        what |= MTASTS_NET_F_POLL_OUT;
    /* This callback cannot fail. When the handle cannot watch the socket
     * (no memory), its answers would never be read: the running queries
     * are ended with MTASTS_ENOMEM from the next event (dns_watch_check()),
     * made due at once by mtn_dns_timeout(). */
    if (mtn_watch(dns->net, MTN_OWNER_DNS, (int)fd,
                  what != 0 ? what : (unsigned)MTASTS_NET_F_POLL_REMOVE) < 0 &&
        what != 0) {
        dns->watch_failed = 1;
        mtn_timer_changed(dns->net);
    }
}

/* One dns_servers element (addr.h) as a c-ares server node. */
static int
parse_server(const char *s, size_t len, struct ares_addr_port_node *node)
{
    int family = 0, port = 0;

    memset(node, 0, sizeof(*node));
    if (mtn_server_parse(s, len, &family, &node->addr, &port) != 0)
        return MTASTS_EINVAL;
    node->family = family;
    node->udp_port = port;
    node->tcp_port = port;
    return MTASTS_OK;
}

static int
is_space(char c)
{
    return c == ' ' || c == '\t';
}

/* The comma-separated server list csv as c-ares nodes (one block,
 * linked). Entries may have blanks around them; none may be empty. */
static int
parse_servers(const char *csv, struct ares_addr_port_node **ret_nodes)
{
    struct ares_addr_port_node *nodes;
    size_t n = 1, i = 0, len = strlen(csv);
    const char *p = csv, *end = csv + len;
    int rc = MTASTS_OK;

    *ret_nodes = NULL;
    for (p = csv; p < end; p++)
        if (*p == ',')
            n++;
    nodes = calloc(n, sizeof(*nodes));
    if (nodes == NULL)
        return MTASTS_ENOMEM;
    p = csv;
    for (i = 0; i < n; i++) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *e = comma != NULL ? comma : end;

        while (p < e && is_space(*p))
            p++;
        while (e > p && is_space(e[-1]))
            e--;
        rc = parse_server(p, (size_t)(e - p), &nodes[i]);
        if (rc != MTASTS_OK)
            goto out;
        nodes[i].next = i + 1 < n ? &nodes[i + 1] : NULL;
        p = comma != NULL ? comma + 1 : end;
    }
    *ret_nodes = nodes;
    nodes = NULL;
out:
    free(nodes);
    return rc;
}

int
mtn_dns_new(mtasts_net *net, const struct mtasts_net_config *config,
            struct mtn_dns **ret_dns)
{
    struct ares_addr_port_node *servers = NULL;
    struct ares_options opts;
    struct mtn_dns *dns = NULL;
    uint32_t timeout_ms = DEFAULT_TIMEOUT_MS;
    unsigned tries = DEFAULT_TRIES;
    int rc, st;

    if (ret_dns == NULL)
        return MTASTS_EINVAL;
    *ret_dns = NULL;
    if (net == NULL)
        return MTASTS_EINVAL;
    if (config != NULL && config->dns_timeout_ms != 0)
        timeout_ms = config->dns_timeout_ms;
    if (config != NULL && config->dns_tries != 0)
        tries = config->dns_tries;
    if (timeout_ms > TIMEOUT_MAX_MS || tries > TRIES_MAX)
        return MTASTS_EINVAL;
    if (config != NULL && config->dns_servers != NULL) {
        rc = parse_servers(config->dns_servers, &servers);
        if (rc != MTASTS_OK)
            return rc;
    }
    dns = calloc(1, sizeof(*dns));
    if (dns == NULL) {
        rc = MTASTS_ENOMEM;
        goto out;
    }
    dns->net = net;
    memset(&opts, 0, sizeof(opts));
    opts.flags = ARES_FLAG_NOCHECKRESP | ARES_FLAG_NOALIASES;
    opts.timeout = (int)timeout_ms;
    opts.tries = (int)tries;
    opts.domains = NULL;
    opts.ndomains = 0;
    opts.sock_state_cb = on_sock_state;
    opts.sock_state_cb_data = dns;
    st =
        ares_init_options(&dns->channel, &opts,
                          ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES |
                              ARES_OPT_DOMAINS | ARES_OPT_SOCK_STATE_CB);
    if (st != ARES_SUCCESS) {
        /* ENOMEM, or the system's resolver configuration is unreadable */
        dns->channel = NULL;
        rc = st == ARES_ENOMEM ? MTASTS_ENOMEM : MTASTS_EINVAL;
        goto out;
    }
    if (servers != NULL) {
        st = ares_set_servers_ports(dns->channel, servers);
        if (st != ARES_SUCCESS) {
            rc = st == ARES_ENOMEM ? MTASTS_ENOMEM : MTASTS_EINVAL;
            goto out;
        }
    }
    *ret_dns = dns;
    dns = NULL;
    rc = MTASTS_OK;
out:
    if (dns != NULL) {
        if (dns->channel != NULL)
            ares_destroy(dns->channel);
        free(dns);
    }
    free(servers);
    return rc;
}

void
mtn_dns_free(struct mtn_dns *dns)
{
    struct req *req;

    if (dns == NULL)
        return;
    dns->closing = 1;
    /* every running query ends with ARES_EDESTRUCTION: its callback runs
     * with MTASTS_NET_ECANCELED */
    ares_destroy(dns->channel);
    dns->channel = NULL;
    /* results still waiting in the handle's deferred queue are delivered
     * (cancelled) from there; they no longer refer to this channel */
    while ((req = dns->deferred) != NULL) {
        dns->deferred = req->next;
        req->prev = req->next = NULL;
        req->dns = NULL;
    }
    free(dns);
}

/* ------------------------------------------------------------------ */
/* Queries                                                             */
/* ------------------------------------------------------------------ */

/* Check a domain name and copy it, NUL-terminated and without a trailing
 * dot, into buf (NAME_MAX_LEN + 1 bytes): not empty, at most 253 bytes
 * (one trailing dot aside), labels of 1 to 63 bytes, no NUL and no
 * backslash (c-ares would read it as an escape). */
static int
name_copy(const char *name, size_t len, char *buf)
{
    size_t i, label = 0;

    if (name == NULL || len == 0)
        return MTASTS_EINVAL;
    if (name[len - 1] == '.')
        len--;
    if (len == 0 || len > NAME_MAX_LEN)
        return MTASTS_EINVAL;
    for (i = 0; i < len; i++) {
        char c = name[i];

        if (c == '\0' || c == '\\')
            return MTASTS_EINVAL;
        if (c == '.') {
            if (label == 0)
                return MTASTS_EINVAL;
            label = 0;
        } else if (++label > LABEL_MAX) {
            return MTASTS_EINVAL;
        }
    }
    if (label == 0)
        return MTASTS_EINVAL;
    memcpy(buf, name, len);
    buf[len] = '\0';
    return MTASTS_OK;
}

/* An IP literal as an address result, without a query (c-ares 1.18's
 * getaddrinfo would send AF_UNSPEC literals to the server). Returns 1 when
 * name is a literal (req done, or ARES_ENOMEM in req), 0 when not. */
static int
addrs_literal(struct req *req, const char *name)
{
    unsigned char a[sizeof(struct in6_addr)];
    struct ares_addrinfo ai;
    struct ares_addrinfo_node nd;
    struct sockaddr_in sin;
    struct sockaddr_in6 sin6;
    size_t n = 0;
    int st;

    memset(&ai, 0, sizeof(ai));
    memset(&nd, 0, sizeof(nd));
    if (inet_pton(AF_INET, name, a) == 1) {
        memset(&sin, 0, sizeof(sin));
        sin.sin_family = AF_INET;
        memcpy(&sin.sin_addr, a, sizeof(sin.sin_addr));
        nd.ai_family = AF_INET;
        nd.ai_addr = (struct sockaddr *)(void *)&sin;
    } else if (inet_pton(AF_INET6, name, a) == 1) {
        memset(&sin6, 0, sizeof(sin6));
        sin6.sin6_family = AF_INET6;
        memcpy(&sin6.sin6_addr, a, sizeof(sin6.sin6_addr));
        nd.ai_family = AF_INET6;
        nd.ai_addr = (struct sockaddr *)(void *)&sin6;
    } else {
        return 0;
    }
    ai.nodes = &nd;
    st = addrs_build(&ai, &req->block, &n);
    req_outcome(req, st, n);
    req_done(req);
    return 1;
}

/* Start a query of kind for name; cb has the member of kind set (and
 * was checked not NULL). */
static int
req_start(struct mtn_dns *dns, enum req_kind kind, const char *name,
          size_t name_len, union req_cb cb, void *user)
{
    char qname[NAME_MAX_LEN + 1];
    struct req *req;
    int rc;

    if (dns == NULL)
        return MTASTS_EINVAL;
    if (dns->closing)
        return MTASTS_ESTATE;
    rc = name_copy(name, name_len, qname);
    if (rc != MTASTS_OK)
        return rc;
    req = calloc(1, sizeof(*req));
    if (req == NULL)
        return MTASTS_ENOMEM;
    req->dns = dns;
    req->kind = kind;
    req->cb = cb;
    req->user = user;
    req->starting = 1;
    dns->pending++;
    switch (kind) {
    case REQ_TXT:
        ares_query(dns->channel, qname, DNS_CLASS_IN, DNS_TYPE_TXT, on_answer,
                   req);
        break;
    case REQ_MX:
        ares_query(dns->channel, qname, DNS_CLASS_IN, DNS_TYPE_MX, on_answer,
                   req);
        break;
    case REQ_ADDRS: {
        struct ares_addrinfo_hints hints;

        if (addrs_literal(req, qname))
            break;
        memset(&hints, 0, sizeof(hints));
        hints.ai_family = AF_UNSPEC;
        hints.ai_flags = ARES_AI_NOSORT;
        ares_getaddrinfo(dns->channel, qname, NULL, &hints, on_addrinfo, req);
        break;
    }
    }
    req->starting = 0;
    if (req->done) {
        /* c-ares answered inside the call (no memory, a literal...): an
         * allocation failure is this call's; any other result goes
         * through the handle's deferred queue */
        if (req->cb_status == MTASTS_ENOMEM ||
            mtn_defer(dns->net, req_deferred, req) != MTASTS_OK) {
            dns->pending--;
            free(req->block);
            free(req);
            rc = MTASTS_ENOMEM;
        } else {
            req->next = dns->deferred;
            if (req->next != NULL)
                req->next->prev = req;
            dns->deferred = req;
        }
    }
    mtn_timer_changed(dns->net);
    return rc;
}

int
mtn_dns_txt(struct mtn_dns *dns, const char *name, size_t name_len,
            mtasts_net_txt_cb cb, void *user)
{
    union req_cb u;

    if (cb == NULL)
        return MTASTS_EINVAL;
    u.txt = cb;
    return req_start(dns, REQ_TXT, name, name_len, u, user);
}

int
mtn_dns_mx(struct mtn_dns *dns, const char *name, size_t name_len,
           mtasts_net_mx_cb cb, void *user)
{
    union req_cb u;

    if (cb == NULL)
        return MTASTS_EINVAL;
    u.mx = cb;
    return req_start(dns, REQ_MX, name, name_len, u, user);
}

int
mtn_dns_addrs(struct mtn_dns *dns, const char *name, size_t name_len,
              mtn_addrs_cb cb, void *user)
{
    union req_cb u;

    if (cb == NULL)
        return MTASTS_EINVAL;
    u.addrs = cb;
    return req_start(dns, REQ_ADDRS, name, name_len, u, user);
}

/* ------------------------------------------------------------------ */
/* Events                                                              */
/* ------------------------------------------------------------------ */

/* A socket could not be watched: end every running query of the channel
 * with MTASTS_ENOMEM (queries their callbacks start are not ended; c-ares
 * closes the sockets when no query is left). */
static void
dns_watch_check(struct mtn_dns *dns)
{
    if (!dns->watch_failed)
        return;
    dns->watch_failed = 0;
    dns->cancel_status = MTASTS_ENOMEM;
    ares_cancel(dns->channel);
    dns->cancel_status = 0;
}

void
mtn_dns_on_socket(struct mtn_dns *dns, int fd, unsigned events)
{
    ares_socket_t rfd = ARES_SOCKET_BAD, wfd = ARES_SOCKET_BAD;

    if (dns == NULL || dns->channel == NULL)
        return;
    /* an error or hang-up is seen by reading (and writing) the socket */
    if ((events & (MTASTS_NET_F_POLL_IN | MTASTS_NET_F_POLL_ERR)) != 0)
        rfd = (ares_socket_t)fd;
    if ((events & (MTASTS_NET_F_POLL_OUT | MTASTS_NET_F_POLL_ERR)) != 0)
        wfd = (ares_socket_t)fd;
    ares_process_fd(dns->channel, rfd, wfd);
    dns_watch_check(dns);
    mtn_timer_changed(dns->net);
}

void
mtn_dns_on_timeout(struct mtn_dns *dns)
{
    if (dns == NULL || dns->channel == NULL)
        return;
    ares_process_fd(dns->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
    dns_watch_check(dns);
    mtn_timer_changed(dns->net);
}

long
mtn_dns_timeout(struct mtn_dns *dns)
{
    struct timeval tv, *tvp;
    long long ms;

    if (dns == NULL || dns->channel == NULL)
        return -1;
    if (dns->watch_failed)
        return 0;
    tvp = ares_timeout(dns->channel, NULL, &tv);
    if (tvp == NULL)
        return -1;
    /* c-ares truncates to whole ms: one more, so that a timer firing at
     * the time given finds the query due, instead of spinning on 0 for
     * up to a millisecond */
    ms = (long long)tvp->tv_sec * 1000 +
         ((long long)tvp->tv_usec + 999) / 1000 + 1;
    if (ms < 0)
        ms = 0;
    if (ms > 86400000LL)
        ms = 86400000LL;
    return (long)ms;
}

size_t
mtn_dns_pending(const struct mtn_dns *dns)
{
    return dns != NULL ? dns->pending : 0;
}
