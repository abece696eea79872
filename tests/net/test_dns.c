/*
 * libmtasts-net DNS (net/dns.c) against real servers on loopback.
 *
 * Run by dnsrig.py, which starts dnsmasq (MTN_DNSMASQ), a fault-injecting
 * responder (MTN_FAKE) and gives a closed port (MTN_CLOSED); the records
 * are listed there. TXT and MX go through the public API (blocking and
 * event-loop styles); addresses, which have no public entry point, go
 * through mtn_dns_addrs() on a channel of the test's own, driven by the
 * test's loop on a handle in event-loop mode. The outcome table is
 * checked code by code (mtn_dns_map_status()).
 *
 * Allocation failures: the program is linked with --wrap for malloc,
 * calloc, realloc and free, and c-ares is given the same counting
 * functions (ares_library_init_mem()), so a sweep can fail the n-th
 * allocation of the library or of c-ares and check that nothing leaks and
 * every callback runs once.
 */
#include <arpa/inet.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ares.h>

#include "net_int.h"

static const char *dnsmasq_srv; /* "127.0.0.1:PORT" of dnsmasq */
static const char *fake_srv;    /* the responder of dnsrig.py */
static const char *closed_srv;  /* nothing listens there */

/* ------------------------------------------------------------------ */
/* Counting allocator (link-time wrap)                                 */
/* ------------------------------------------------------------------ */

#ifndef MTN_TEST_NO_WRAP
#include "net_wrap.h"

/* live blocks of the library, c-ares and the test */
#define LIVE() net_wrap_live
#else
#define LIVE() ((size_t)0)
#endif

/* ------------------------------------------------------------------ */
/* Results                                                             */
/* ------------------------------------------------------------------ */

struct got {
    int calls;
    int status; /* the callback's */
    int dns;    /* the result's mtasts_net_dns_status */
    size_t n;   /* records */
    char text[2048];
    /* re-entrancy: a query started from the callback */
    mtasts_net *net;
    struct got *then;
};

static void
put(struct got *g, const char *s, size_t len)
{
    size_t at = strlen(g->text);

    assert_true(at + len < sizeof(g->text));
    memcpy(g->text + at, s, len);
    g->text[at + len] = '\0';
}

static void
puts_(struct got *g, const char *s)
{
    put(g, s, strlen(s));
}

static void on_mx(void *user, int status, const struct mtasts_net_mx *mx);

/* TXT as "[s1|s2][s3]": records in brackets, strings split by '|'. */
static void
on_txt(void *user, int status, const struct mtasts_net_txt *txt)
{
    struct got *g = user;
    size_t r, s, k = 0;

    g->calls++;
    g->status = status;
    g->text[0] = '\0';
    if (status != 0) {
        assert_null(txt);
        return;
    }
    assert_non_null(txt);
    g->dns = txt->status;
    g->n = txt->rr_count;
    if (txt->status != MTASTS_NET_DNS_OK)
        assert_int_equal(txt->rr_count, 0);
    for (r = 0; r < txt->rr_count; r++) {
        puts_(g, "[");
        for (s = 0; s < txt->rr_nstr[r]; s++, k++) {
            /* NUL-terminated, and no NUL inside in these records */
            assert_int_equal(txt->strs[k][txt->str_lens[k]], '\0');
            assert_int_equal(strlen(txt->strs[k]), txt->str_lens[k]);
            if (s > 0)
                puts_(g, "|");
            put(g, txt->strs[k], txt->str_lens[k]);
        }
        puts_(g, "]");
    }
    if (g->then != NULL) {
        assert_int_equal(
            mtasts_net_mx_start(g->net, "mx.test", 7, on_mx, g->then), 0);
        assert_int_equal(g->then->calls, 0);
    }
}

/* MX as "10:a.mx.test 20:b.mx.test"; the null MX as "0:". */
static void
on_mx(void *user, int status, const struct mtasts_net_mx *mx)
{
    struct got *g = user;
    size_t i;
    char pref[16];

    g->calls++;
    g->status = status;
    g->text[0] = '\0';
    if (status != 0) {
        assert_null(mx);
        return;
    }
    assert_non_null(mx);
    g->dns = mx->status;
    g->n = mx->count;
    for (i = 0; i < mx->count; i++) {
        assert_int_equal(mx->hosts[i].host[mx->hosts[i].host_len], '\0');
        assert_int_equal(strlen(mx->hosts[i].host), mx->hosts[i].host_len);
        snprintf(pref, sizeof(pref), "%s%u:", i > 0 ? " " : "",
                 (unsigned)mx->hosts[i].preference);
        puts_(g, pref);
        put(g, mx->hosts[i].host, mx->hosts[i].host_len);
    }
}

/* addresses as "127.0.0.3 ::3" */
static void
on_addrs(void *user, int status, const struct mtn_addrs *a)
{
    struct got *g = user;
    size_t i;

    g->calls++;
    g->status = status;
    g->text[0] = '\0';
    if (status != 0) {
        assert_null(a);
        return;
    }
    assert_non_null(a);
    g->dns = a->status;
    g->n = a->count;
    for (i = 0; i < a->count; i++) {
        if (i > 0)
            puts_(g, " ");
        puts_(g, a->addrs[i]);
    }
}

/* ------------------------------------------------------------------ */
/* Running queries                                                     */
/* ------------------------------------------------------------------ */

/* the test's loops give up after this (a bound, not a timing check) */
#define LOOP_LIMIT_MS 60000

static long long
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
config(struct mtasts_net_config *cfg, const char *servers, uint32_t tmo,
       unsigned tries)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->version = MTASTS_NET_CONFIG_VERSION;
    cfg->dns_servers = servers;
    cfg->dns_timeout_ms = tmo;
    cfg->dns_tries = tries;
}

static mtasts_net *
net_open(const char *servers, uint32_t tmo, unsigned tries)
{
    struct mtasts_net_config cfg;
    mtasts_net *net = NULL;

    config(&cfg, servers, tmo, tries);
    assert_int_equal(mtasts_net_new(&cfg, &net), 0);
    assert_non_null(net);
    return net;
}

/* One TXT (mx 0) or MX (mx 1) query, blocking style. */
static void
run_q(const char *servers, int mx, const char *name, uint32_t tmo,
      unsigned tries, struct got *g)
{
    size_t before = LIVE();
    mtasts_net *net = net_open(servers, tmo, tries);

    memset(g, 0, sizeof(*g));
    if (mx)
        assert_int_equal(mtasts_net_mx_start(net, name, strlen(name), on_mx, g),
                         0);
    else
        assert_int_equal(
            mtasts_net_txt_start(net, name, strlen(name), on_txt, g), 0);
    assert_int_equal(g->calls, 0); /* never inside the starting call */
    assert_int_equal(mtasts_net_pending(net), 1);
    assert_int_equal(mtasts_net_wait(net, 60000), 0);
    assert_int_equal(g->calls, 1);
    assert_int_equal(mtasts_net_pending(net), 0);
    mtasts_net_free(net);
    assert_int_equal(g->calls, 1);
    assert_int_equal(LIVE(), before); /* nothing leaked */
}

static void
txt_q(const char *servers, const char *name, struct got *g)
{
    run_q(servers, 0, name, 0, 0, g);
}

static void
mx_q(const char *servers, const char *name, struct got *g)
{
    run_q(servers, 1, name, 0, 0, g);
}

/* The test's own loop: the handle's watch and timer requests. */
struct loop {
    int fd[64];
    unsigned what[64];
    size_t n;
    long timer;
};

static void
loop_watch(void *user, int fd, unsigned what)
{
    struct loop *lp = user;
    size_t i;

    for (i = 0; i < lp->n && lp->fd[i] != fd; i++)
        ;
    if (what & MTASTS_NET_F_POLL_REMOVE) {
        if (i < lp->n) {
            lp->fd[i] = lp->fd[lp->n - 1];
            lp->what[i] = lp->what[lp->n - 1];
            lp->n--;
        }
        return;
    }
    if (i == lp->n) {
        assert_true(lp->n < 64);
        lp->n++;
    }
    lp->fd[i] = fd;
    lp->what[i] = what;
}

static void
loop_timer(void *user, long ms)
{
    ((struct loop *)user)->timer = ms;
}

static void
loop_install(mtasts_net *net, struct loop *lp)
{
    struct mtasts_net_loop l;

    memset(lp, 0, sizeof(*lp));
    lp->timer = -1;
    l.version = MTASTS_NET_LOOP_VERSION;
    l.watch = loop_watch;
    l.timer = loop_timer;
    l.user = lp;
    assert_int_equal(mtasts_net_set_loop(net, &l), 0);
}

/* One poll() over the loop's fds for at most ms; calls on_fd for each
 * ready fd. Returns the number of ready fds. */
static int
loop_poll(struct loop *lp, long ms,
          void (*on_fd)(void *arg, int fd, unsigned ev), void *arg)
{
    struct pollfd pfd[64];
    size_t i, n = lp->n;
    int rc;

    for (i = 0; i < n; i++) {
        pfd[i].fd = lp->fd[i];
        pfd[i].events =
            (short)(((lp->what[i] & MTASTS_NET_F_POLL_IN) ? POLLIN : 0) |
                    ((lp->what[i] & MTASTS_NET_F_POLL_OUT) ? POLLOUT : 0));
        pfd[i].revents = 0;
    }
    rc = poll(pfd, (nfds_t)n, (int)ms);
    assert_true(rc >= 0);
    for (i = 0; rc > 0 && i < n; i++) {
        unsigned ev = 0;

        if (pfd[i].revents & POLLIN)
            ev |= MTASTS_NET_F_POLL_IN;
        if (pfd[i].revents & POLLOUT)
            ev |= MTASTS_NET_F_POLL_OUT;
        if (pfd[i].revents & (POLLERR | POLLHUP | POLLNVAL))
            ev |= MTASTS_NET_F_POLL_ERR;
        if (ev != 0)
            on_fd(arg, pfd[i].fd, ev);
    }
    return rc;
}

/* Addresses of name through a channel of the test's own on a handle in
 * event-loop mode: the test's loop dispatches the channel's sockets to
 * it, and runs the handle's deferred calls with mtasts_net_on_timeout(). */
struct own {
    mtasts_net *net;
    struct mtn_dns *dns;
    struct loop lp;
};

static void
own_open(struct own *o, const char *servers, uint32_t tmo, unsigned tries)
{
    struct mtasts_net_config cfg;

    o->net = net_open(servers, tmo, tries);
    loop_install(o->net, &o->lp);
    config(&cfg, servers, tmo, tries);
    o->dns = NULL;
    assert_int_equal(mtn_dns_new(o->net, &cfg, &o->dns), 0);
    assert_non_null(o->dns);
}

static void
own_fd(void *arg, int fd, unsigned ev)
{
    mtn_dns_on_socket(((struct own *)arg)->dns, fd, ev);
}

static void
own_run(struct own *o, const int *done)
{
    long long end = now_ms() + LOOP_LIMIT_MS;

    while (!*done && now_ms() < end) {
        long t = mtn_dns_timeout(o->dns);

        if (t < 0 || t > 50)
            t = 50;
        loop_poll(&o->lp, t, own_fd, o);
        mtn_dns_on_timeout(o->dns);
        assert_int_equal(mtasts_net_on_timeout(o->net), 0);
    }
    assert_true(*done);
}

static void
own_close(struct own *o)
{
    mtn_dns_free(o->dns);
    mtasts_net_free(o->net);
}

static void
addrs_q(const char *servers, const char *name, struct got *g)
{
    struct own o;
    size_t before = LIVE();

    memset(g, 0, sizeof(*g));
    own_open(&o, servers, 0, 0);
    assert_int_equal(mtn_dns_addrs(o.dns, name, strlen(name), on_addrs, g), 0);
    assert_int_equal(g->calls, 0);
    assert_int_equal(mtn_dns_pending(o.dns), 1);
    own_run(&o, &g->calls);
    assert_int_equal(g->calls, 1);
    assert_int_equal(mtn_dns_pending(o.dns), 0);
    own_close(&o);
    assert_int_equal(g->calls, 1);
    assert_int_equal(LIVE(), before);
}

/* ------------------------------------------------------------------ */
/* The outcome table                                                   */
/* ------------------------------------------------------------------ */

static void
map_every_code(void **state)
{
    /* every ARES_* code of c-ares 1.18 (ares.h), by hand */
    static const struct {
        int code, with0, with1;
    } t[] = {
        {ARES_SUCCESS, MTASTS_NET_DNS_NODATA, MTASTS_NET_DNS_OK},
        {ARES_ENODATA, MTASTS_NET_DNS_NODATA, MTASTS_NET_DNS_NODATA},
        {ARES_EFORMERR, MTASTS_NET_DNS_ERROR, MTASTS_NET_DNS_ERROR},
        {ARES_ESERVFAIL, MTASTS_NET_DNS_SERVFAIL, MTASTS_NET_DNS_SERVFAIL},
        {ARES_ENOTFOUND, MTASTS_NET_DNS_NXDOMAIN, MTASTS_NET_DNS_NXDOMAIN},
        {ARES_ENOTIMP, MTASTS_NET_DNS_ERROR, MTASTS_NET_DNS_ERROR},
        {ARES_EREFUSED, MTASTS_NET_DNS_ERROR, MTASTS_NET_DNS_ERROR},
        {ARES_EBADQUERY, MTASTS_NET_DNS_ERROR, MTASTS_NET_DNS_ERROR},
        {ARES_EBADNAME, MTASTS_NET_DNS_ERROR, MTASTS_NET_DNS_ERROR},
        {ARES_EBADFAMILY, MTASTS_NET_DNS_ERROR, MTASTS_NET_DNS_ERROR},
        {ARES_EBADRESP, MTASTS_NET_DNS_ERROR, MTASTS_NET_DNS_ERROR},
        {ARES_ECONNREFUSED, MTASTS_NET_DNS_ERROR, MTASTS_NET_DNS_ERROR},
        {ARES_ETIMEOUT, MTASTS_NET_DNS_TIMEOUT, MTASTS_NET_DNS_TIMEOUT},
        {ARES_EOF, MTASTS_NET_DNS_ERROR, MTASTS_NET_DNS_ERROR},
        {ARES_EFILE, MTASTS_NET_DNS_ERROR, MTASTS_NET_DNS_ERROR},
        {ARES_ENOMEM, MTASTS_ENOMEM, MTASTS_ENOMEM},
        {ARES_EDESTRUCTION, MTASTS_NET_ECANCELED, MTASTS_NET_ECANCELED},
        {ARES_EBADSTR, MTASTS_NET_DNS_ERROR, MTASTS_NET_DNS_ERROR},
        {ARES_EBADFLAGS, MTASTS_NET_DNS_ERROR, MTASTS_NET_DNS_ERROR},
        {ARES_ENONAME, MTASTS_NET_DNS_ERROR, MTASTS_NET_DNS_ERROR},
        {ARES_EBADHINTS, MTASTS_NET_DNS_ERROR, MTASTS_NET_DNS_ERROR},
        {ARES_ENOTINITIALIZED, MTASTS_NET_DNS_ERROR, MTASTS_NET_DNS_ERROR},
        {ARES_ELOADIPHLPAPI, MTASTS_NET_DNS_ERROR, MTASTS_NET_DNS_ERROR},
        {ARES_EADDRGETNETWORKPARAMS, MTASTS_NET_DNS_ERROR,
         MTASTS_NET_DNS_ERROR},
        {ARES_ECANCELLED, MTASTS_NET_ECANCELED, MTASTS_NET_ECANCELED},
        {ARES_ESERVICE, MTASTS_NET_DNS_ERROR, MTASTS_NET_DNS_ERROR},
        {26, MTASTS_NET_DNS_ERROR, MTASTS_NET_DNS_ERROR},
        {-1, MTASTS_NET_DNS_ERROR, MTASTS_NET_DNS_ERROR},
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        if (mtn_dns_map_status(t[i].code, 0) != t[i].with0 ||
            mtn_dns_map_status(t[i].code, 1) != t[i].with1)
            fail_msg("ares code %d: got %d/%d, want %d/%d", t[i].code,
                     mtn_dns_map_status(t[i].code, 0),
                     mtn_dns_map_status(t[i].code, 1), t[i].with0, t[i].with1);
    }
    /* the table covers every code up to the last one c-ares 1.18 has */
    assert_int_equal(ARES_ESERVICE, 25);
}

static void
status_names_and_core(void **state)
{
    static const struct {
        int st;
        const char *name;
        int core;
    } t[] = {
        {MTASTS_NET_DNS_OK, "ok", MTASTS_DNS_OK},
        {MTASTS_NET_DNS_NXDOMAIN, "nxdomain", MTASTS_DNS_NXDOMAIN},
        {MTASTS_NET_DNS_NODATA, "nodata", MTASTS_DNS_NODATA},
        {MTASTS_NET_DNS_SERVFAIL, "servfail", MTASTS_DNS_TEMPFAIL},
        {MTASTS_NET_DNS_TIMEOUT, "timeout", MTASTS_DNS_TEMPFAIL},
        {MTASTS_NET_DNS_ERROR, "error", MTASTS_DNS_TEMPFAIL},
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        assert_string_equal(mtasts_net_dns_status_name(t[i].st), t[i].name);
        assert_int_equal(mtasts_net_dns_status_core(t[i].st), t[i].core);
    }
    assert_null(mtasts_net_dns_status_name(6));
    assert_null(mtasts_net_dns_status_name(-1));
    assert_int_equal(mtasts_net_dns_status_core(6), MTASTS_EINVAL);
    assert_int_equal(mtasts_net_dns_status_core(-1), MTASTS_EINVAL);
}

/* ------------------------------------------------------------------ */
/* Configuration and names                                             */
/* ------------------------------------------------------------------ */

static void
bad_configs(void **state)
{
    static const char *const bad[] = {
        "",
        ",",
        "127.0.0.1,",
        ",127.0.0.1",
        "127.0.0.1:",
        "127.0.0.1:0",
        "127.0.0.1:65536",
        "127.0.0.1:53x",
        "127.0.0.1:+53",
        "127.0.0.1:123456",
        "[::1",
        "[::1]x",
        "[::1]:",
        "[127.0.0.1]:53",
        "1.2.3",
        "256.1.1.1",
        "dns.example",
        "1.2.3.4 5.6.7.8",
        "::1%lo",
        "[::1]:53:53",
    };
    struct mtasts_net_config cfg;
    mtasts_net *net;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        config(&cfg, bad[i], 0, 0);
        net = (mtasts_net *)(uintptr_t)1;
        if (mtasts_net_new(&cfg, &net) != MTASTS_EINVAL)
            fail_msg("dns_servers \"%s\" accepted", bad[i]);
        assert_null(net);
    }
    config(&cfg, "127.0.0.1", 86400001u, 0);
    assert_int_equal(mtasts_net_new(&cfg, &net), MTASTS_EINVAL);
    config(&cfg, "127.0.0.1", 0, 101);
    assert_int_equal(mtasts_net_new(&cfg, &net), MTASTS_EINVAL);
}

static void
good_configs(void **state)
{
    static const char *const good[] = {
        "127.0.0.1",
        "127.0.0.1:5353",
        " 127.0.0.1 , [::1]:53",
        "::1",
        "[::1]",
        "192.0.2.1:65535,2001:db8::1",
        "\t10.0.0.1:1\t",
    };
    mtasts_net *net;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        net = net_open(good[i], 0, 0);
        mtasts_net_free(net);
    }
    net = net_open(NULL, 86400000u, 100); /* the system's servers */
    mtasts_net_free(net);
}

static void
bad_names(void **state)
{
    char long_name[300], label64[80];
    mtasts_net *net = net_open(dnsmasq_srv, 0, 0);
    struct got g;
    static const struct {
        const char *s;
        size_t len;
    } bad[] = {
        {"", 0},      {".", 1},    {"..", 2},    {"a..b", 4}, {".a", 2},
        {"a.b..", 5}, {"a\0b", 3}, {"a\\.b", 4}, {"x", 0},
    };
    size_t i;

    (void)state;
    memset(&g, 0, sizeof(g));
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (mtasts_net_txt_start(net, bad[i].s, bad[i].len, on_txt, &g) !=
            MTASTS_EINVAL)
            fail_msg("name %zu accepted", i);
        assert_int_equal(
            mtasts_net_mx_start(net, bad[i].s, bad[i].len, on_mx, &g),
            MTASTS_EINVAL);
    }
    /* 254 bytes: too long; 253 (and 253 plus the root dot): fine */
    memset(long_name, 'a', sizeof(long_name));
    for (i = 63; i < 254; i += 64)
        long_name[i] = '.';
    assert_int_equal(mtasts_net_txt_start(net, long_name, 254, on_txt, &g),
                     MTASTS_EINVAL);
    memset(label64, 'b', sizeof(label64));
    memcpy(label64 + 64, ".test", 5);
    assert_int_equal(mtasts_net_txt_start(net, label64, 69, on_txt, &g),
                     MTASTS_EINVAL);
    assert_int_equal(mtasts_net_txt_start(net, label64 + 1, 68, on_txt, &g), 0);
    long_name[248] = '.';
    memcpy(long_name + 249, "test.", 5); /* bytes 0..253 */
    assert_int_equal(mtasts_net_txt_start(net, long_name, 254, on_txt, &g), 0);
    assert_int_equal(mtasts_net_txt_start(net, long_name, 253, on_txt, &g), 0);
    assert_int_equal(mtasts_net_txt_start(net, "split.test", 10, NULL, &g),
                     MTASTS_EINVAL);
    assert_int_equal(g.calls, 0);
    assert_int_equal(mtasts_net_wait(net, 60000), 0);
    assert_int_equal(g.calls, 3);
    assert_int_equal(g.status, 0);
    assert_int_equal(g.dns, MTASTS_NET_DNS_NXDOMAIN);
    mtasts_net_free(net);
    /* the internal entry points check their arguments too */
    assert_int_equal(mtn_dns_txt(NULL, "a.test", 6, on_txt, &g), MTASTS_EINVAL);
    assert_int_equal(mtn_dns_addrs(NULL, "a.test", 6, on_addrs, &g),
                     MTASTS_EINVAL);
    assert_int_equal(mtn_dns_timeout(NULL), -1);
    assert_int_equal(mtn_dns_pending(NULL), 0);
    mtn_dns_free(NULL);
}

/* ------------------------------------------------------------------ */
/* TXT                                                                 */
/* ------------------------------------------------------------------ */

static void
txt_split_strings(void **state)
{
    struct got g;

    (void)state;
    txt_q(dnsmasq_srv, "split.test", &g);
    assert_int_equal(g.status, 0);
    assert_int_equal(g.dns, MTASTS_NET_DNS_OK);
    assert_int_equal(g.n, 1);
    assert_string_equal(g.text, "[v=STSv1; |id=20240101]");
    /* a trailing dot is the same name */
    txt_q(dnsmasq_srv, "split.test.", &g);
    assert_string_equal(g.text, "[v=STSv1; |id=20240101]");
}

static void
txt_two_records(void **state)
{
    struct got g;

    (void)state;
    txt_q(dnsmasq_srv, "two.test", &g);
    assert_int_equal(g.dns, MTASTS_NET_DNS_OK);
    assert_int_equal(g.n, 2);
    /* the server's order */
    if (strcmp(g.text, "[first][second]") != 0 &&
        strcmp(g.text, "[second][first]") != 0)
        fail_msg("two.test: %s", g.text);
}

/* more than 512 bytes: truncated over UDP, then asked again over TCP */
static void
txt_over_tcp(void **state)
{
    struct got g;
    char want[800];

    (void)state;
    txt_q(dnsmasq_srv, "big.test", &g);
    assert_int_equal(g.dns, MTASTS_NET_DNS_OK);
    assert_int_equal(g.n, 1);
    want[0] = '[';
    memset(want + 1, 'a', 255);
    want[256] = '|';
    memset(want + 257, 'b', 255);
    want[512] = '|';
    memset(want + 513, 'c', 255);
    memcpy(want + 768, "]", 2);
    assert_string_equal(g.text, want);
}

static void
txt_empty_strings(void **state)
{
    struct got g;

    (void)state;
    txt_q(fake_srv, "empty.fake", &g);
    assert_int_equal(g.dns, MTASTS_NET_DNS_OK);
    assert_int_equal(g.n, 3);
    assert_string_equal(g.text, "[a||][][z]");
}

static void
txt_cname(void **state)
{
    struct got g;

    (void)state;
    txt_q(fake_srv, "cname.fake", &g);
    assert_int_equal(g.dns, MTASTS_NET_DNS_OK);
    assert_string_equal(g.text, "[v=STSv1; |id=c]");
    /* a CNAME and nothing of the type: NODATA */
    txt_q(fake_srv, "cnameonly.fake", &g);
    assert_int_equal(g.status, 0);
    assert_int_equal(g.dns, MTASTS_NET_DNS_NODATA);
    assert_int_equal(g.n, 0);
}

static void
txt_nxdomain_nodata(void **state)
{
    struct got g;

    (void)state;
    txt_q(dnsmasq_srv, "nx.test", &g);
    assert_int_equal(g.status, 0);
    assert_int_equal(g.dns, MTASTS_NET_DNS_NXDOMAIN);
    assert_int_equal(g.n, 0);
    /* the name has an A record only */
    txt_q(dnsmasq_srv, "aonly.test", &g);
    assert_int_equal(g.status, 0);
    assert_int_equal(g.dns, MTASTS_NET_DNS_NODATA);
    assert_int_equal(g.n, 0);
    txt_q(fake_srv, "nx.fake", &g);
    assert_int_equal(g.dns, MTASTS_NET_DNS_NXDOMAIN);
}

static void
txt_failures(void **state)
{
    static const struct {
        const char *name;
        int want;
    } t[] = {
        {"servfail.fake", MTASTS_NET_DNS_SERVFAIL},
        {"refused.fake", MTASTS_NET_DNS_ERROR},
        {"formerr.fake", MTASTS_NET_DNS_ERROR},
        {"notimp.fake", MTASTS_NET_DNS_ERROR},
        {"garbage.fake", MTASTS_NET_DNS_ERROR},
    };
    struct got g;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        txt_q(fake_srv, t[i].name, &g);
        assert_int_equal(g.status, 0);
        if (g.dns != t[i].want)
            fail_msg("%s: %s, want %s", t[i].name,
                     mtasts_net_dns_status_name(g.dns),
                     mtasts_net_dns_status_name(t[i].want));
        assert_int_equal(g.n, 0);
    }
    /* nothing listens: a network error, not a timeout */
    run_q(closed_srv, 0, "split.test", 5000, 2, &g);
    assert_int_equal(g.status, 0);
    assert_int_equal(g.dns, MTASTS_NET_DNS_ERROR);
}

static void
txt_timeout(void **state)
{
    struct got g;

    (void)state;
    run_q(fake_srv, 0, "silent.fake", 200, 2, &g);
    assert_int_equal(g.status, 0);
    assert_int_equal(g.dns, MTASTS_NET_DNS_TIMEOUT);
    assert_int_equal(g.n, 0);
    run_q(fake_srv, 1, "silent.fake", 200, 1, &g);
    assert_int_equal(g.dns, MTASTS_NET_DNS_TIMEOUT);
}

/* the first server is unreachable: the next one answers */
static void
txt_failover(void **state)
{
    char servers[128];
    struct got g;

    (void)state;
    snprintf(servers, sizeof(servers), "%s,%s", closed_srv, dnsmasq_srv);
    run_q(servers, 0, "split.test", 5000, 2, &g);
    assert_int_equal(g.dns, MTASTS_NET_DNS_OK);
    assert_string_equal(g.text, "[v=STSv1; |id=20240101]");
}

/* ------------------------------------------------------------------ */
/* MX                                                                  */
/* ------------------------------------------------------------------ */

static void
mx_sorted(void **state)
{
    struct got g;

    (void)state;
    mx_q(dnsmasq_srv, "mx.test", &g);
    assert_int_equal(g.dns, MTASTS_NET_DNS_OK);
    assert_int_equal(g.n, 3);
    assert_string_equal(g.text, "10:a.mx.test 20:b.mx.test 30:c.mx.test");
    /* answer order 20 b, 10 a, 20 c, 10 d, 0 e., 20 f: ties keep it, and
     * the trailing dot goes */
    mx_q(fake_srv, "mxorder.fake", &g);
    assert_int_equal(g.dns, MTASTS_NET_DNS_OK);
    assert_int_equal(g.n, 6);
    assert_string_equal(g.text,
                        "0:e.fake 10:a.fake 10:d.fake 20:b.fake 20:c.fake "
                        "20:f.fake");
}

static void
mx_null_and_none(void **state)
{
    struct got g;

    (void)state;
    mx_q(fake_srv, "nullmx.fake", &g);
    assert_int_equal(g.dns, MTASTS_NET_DNS_OK);
    assert_int_equal(g.n, 1);
    assert_string_equal(g.text, "0:");
    mx_q(dnsmasq_srv, "nx.test", &g);
    assert_int_equal(g.dns, MTASTS_NET_DNS_NXDOMAIN);
    assert_int_equal(g.n, 0);
    mx_q(dnsmasq_srv, "aonly.test", &g);
    assert_int_equal(g.dns, MTASTS_NET_DNS_NODATA);
    assert_int_equal(g.n, 0);
    mx_q(fake_srv, "servfail.fake", &g);
    assert_int_equal(g.dns, MTASTS_NET_DNS_SERVFAIL);
}

/* ------------------------------------------------------------------ */
/* Addresses                                                           */
/* ------------------------------------------------------------------ */

static void
addrs_answers(void **state)
{
    struct got g;

    (void)state;
    addrs_q(dnsmasq_srv, "both.test", &g);
    assert_int_equal(g.status, 0);
    assert_int_equal(g.dns, MTASTS_NET_DNS_OK);
    assert_string_equal(g.text, "127.0.0.3 ::3"); /* IPv4 first */
    addrs_q(dnsmasq_srv, "aonly.test", &g);
    assert_string_equal(g.text, "127.0.0.2");
    addrs_q(dnsmasq_srv, "v6only.test", &g);
    assert_string_equal(g.text, "::6");
    addrs_q(dnsmasq_srv, "multi.test", &g);
    assert_int_equal(g.n, 2);
    if (strcmp(g.text, "127.0.0.4 127.0.0.5") != 0 &&
        strcmp(g.text, "127.0.0.5 127.0.0.4") != 0)
        fail_msg("multi.test: %s", g.text);
    addrs_q(dnsmasq_srv, "nx.test", &g);
    assert_int_equal(g.status, 0);
    assert_int_equal(g.dns, MTASTS_NET_DNS_NXDOMAIN);
    assert_int_equal(g.n, 0);
    /* a name with a TXT record only */
    addrs_q(dnsmasq_srv, "split.test", &g);
    assert_int_equal(g.dns, MTASTS_NET_DNS_NODATA);
    addrs_q(fake_srv, "servfail.fake", &g);
    assert_int_equal(g.dns, MTASTS_NET_DNS_SERVFAIL);
}

/* literals are answered without a query, never inside the call */
static void
addrs_literals(void **state)
{
    struct got g;

    (void)state;
    addrs_q(closed_srv, "192.0.2.1", &g);
    assert_int_equal(g.dns, MTASTS_NET_DNS_OK);
    assert_string_equal(g.text, "192.0.2.1");
    addrs_q(closed_srv, "2001:DB8::1", &g);
    assert_string_equal(g.text, "2001:db8::1");
}

/* ------------------------------------------------------------------ */
/* Styles, concurrency, cancellation                                   */
/* ------------------------------------------------------------------ */

static void
pub_fd(void *arg, int fd, unsigned ev)
{
    assert_int_equal(mtasts_net_on_socket(arg, fd, ev), 0);
}

/* the caller's loop drives the handle: on_socket / on_timeout */
static void
event_loop_style(void **state)
{
    mtasts_net *net = net_open(dnsmasq_srv, 0, 0);
    struct loop lp;
    struct got a, b;
    long long end = now_ms() + LOOP_LIMIT_MS;

    (void)state;
    loop_install(net, &lp);
    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    assert_int_equal(mtasts_net_txt_start(net, "split.test", 10, on_txt, &a),
                     0);
    assert_int_equal(mtasts_net_mx_start(net, "mx.test", 7, on_mx, &b), 0);
    assert_true(lp.n > 0);      /* a socket to watch */
    assert_true(lp.timer >= 0); /* and the query's timeout */
    assert_int_equal(mtasts_net_wait(net, 1000), MTASTS_EINVAL);
    while ((a.calls == 0 || b.calls == 0) && now_ms() < end) {
        long t = lp.timer < 0 || lp.timer > 1000 ? 1000 : lp.timer;

        if (loop_poll(&lp, t, pub_fd, net) == 0 && lp.timer >= 0)
            assert_int_equal(mtasts_net_on_timeout(net), 0);
    }
    assert_int_equal(a.calls, 1);
    assert_int_equal(b.calls, 1);
    assert_string_equal(a.text, "[v=STSv1; |id=20240101]");
    assert_string_equal(b.text, "10:a.mx.test 20:b.mx.test 30:c.mx.test");
    assert_int_equal(mtasts_net_pending(net), 0);
    mtasts_net_free(net);
    assert_int_equal(lp.n, 0); /* every socket was given back */
}

static void
many_at_once(void **state)
{
    enum {
        N = 60
    };
    mtasts_net *net = net_open(dnsmasq_srv, 0, 0);
    static struct got g[N];
    size_t i;

    (void)state;
    memset(g, 0, sizeof(g));
    for (i = 0; i < N; i++) {
        if (i % 3 == 2)
            assert_int_equal(
                mtasts_net_mx_start(net, "mx.test", 7, on_mx, &g[i]), 0);
        else
            assert_int_equal(
                mtasts_net_txt_start(net, i % 3 ? "nx.test" : "split.test",
                                     i % 3 ? 7 : 10, on_txt, &g[i]),
                0);
    }
    assert_int_equal(mtasts_net_pending(net), N);
    assert_int_equal(mtasts_net_wait(net, 60000), 0);
    for (i = 0; i < N; i++) {
        assert_int_equal(g[i].calls, 1);
        assert_int_equal(g[i].status, 0);
        if (i % 3 == 0)
            assert_string_equal(g[i].text, "[v=STSv1; |id=20240101]");
        else if (i % 3 == 1)
            assert_int_equal(g[i].dns, MTASTS_NET_DNS_NXDOMAIN);
        else
            assert_string_equal(g[i].text,
                                "10:a.mx.test 20:b.mx.test 30:c.mx.test");
    }
    mtasts_net_free(net);
}

/* a callback starts the next query */
static void
start_from_callback(void **state)
{
    mtasts_net *net = net_open(dnsmasq_srv, 0, 0);
    struct got a, b;

    (void)state;
    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    a.net = net;
    a.then = &b;
    assert_int_equal(mtasts_net_txt_start(net, "split.test", 10, on_txt, &a),
                     0);
    assert_int_equal(mtasts_net_wait(net, 60000), 0);
    assert_int_equal(a.calls, 1);
    assert_int_equal(b.calls, 1);
    assert_string_equal(b.text, "10:a.mx.test 20:b.mx.test 30:c.mx.test");
    mtasts_net_free(net);
}

static void
cancel_on_free(void **state)
{
    mtasts_net *net = net_open(fake_srv, 5000, 3);
    struct got a, b;
    struct own o;

    (void)state;
    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    assert_int_equal(mtasts_net_txt_start(net, "silent.fake", 11, on_txt, &a),
                     0);
    assert_int_equal(mtasts_net_mx_start(net, "silent.fake", 11, on_mx, &b), 0);
    assert_int_equal(mtasts_net_wait(net, 100), MTASTS_NET_ETIMEOUT);
    assert_int_equal(a.calls, 0);
    mtasts_net_free(net);
    assert_int_equal(a.calls, 1);
    assert_int_equal(a.status, MTASTS_NET_ECANCELED);
    assert_int_equal(b.calls, 1);
    assert_int_equal(b.status, MTASTS_NET_ECANCELED);

    /* addresses in flight, and a literal's result still in the handle's
     * deferred queue when the channel goes */
    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    own_open(&o, fake_srv, 5000, 3);
    assert_int_equal(mtn_dns_addrs(o.dns, "silent.fake", 11, on_addrs, &a), 0);
    assert_int_equal(mtn_dns_addrs(o.dns, "192.0.2.7", 9, on_addrs, &b), 0);
    assert_int_equal(mtn_dns_pending(o.dns), 2);
    mtn_dns_free(o.dns);
    assert_int_equal(a.calls, 1);
    assert_int_equal(a.status, MTASTS_NET_ECANCELED);
    assert_int_equal(b.calls, 0);
    mtasts_net_free(o.net);
    assert_int_equal(b.calls, 1);
    assert_int_equal(b.status, MTASTS_NET_ECANCELED);
}

/* ------------------------------------------------------------------ */
/* Allocation failures                                                 */
/* ------------------------------------------------------------------ */

#ifndef MTN_TEST_NO_WRAP
/* c-ares absorbs some failures into a timeout (an answer it cannot
 * compare with its question is dropped): short tries keep the sweep
 * quick. A run with no failed attempt that still timed out (a loaded
 * machine) is run again, at most OOM_RETRIES times. */
#define OOM_TIMEOUT_MS 200
#define OOM_RETRIES    5

/* One whole run: a handle, a TXT and an MX query, the wait, the free.
 * Returns 1 when the run was complete and right with no failed attempt,
 * -1 when it had no failed attempt but timed out, 0 otherwise. */
static int
oom_run(long n, int from)
{
    struct mtasts_net_config cfg;
    mtasts_net *net = NULL;
    struct got a, b;
    size_t before = net_wrap_live;
    int rc, ra = -1, rb = -1, rw = 0;

    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    config(&cfg, dnsmasq_srv, OOM_TIMEOUT_MS, 2);
    net_wrap_arm(n, from);
    rc = mtasts_net_new(&cfg, &net);
    if (rc == 0) {
        ra = mtasts_net_txt_start(net, "split.test", 10, on_txt, &a);
        rb = mtasts_net_mx_start(net, "mx.test", 7, on_mx, &b);
        rw = mtasts_net_wait(net, 30000);
        mtasts_net_free(net);
    }
    net_wrap_disarm();
    if (net_wrap_live != before)
        fail_msg("step %ld%s: %zu blocks leaked", n, from ? "+" : "",
                 net_wrap_live - before);
    if (rc != 0) {
        assert_int_equal(rc, MTASTS_ENOMEM);
        assert_null(net);
        assert_true(net_wrap_failures > 0);
        return 0;
    }
    /* a start that failed leaves no callback; one that did not calls
     * back exactly once */
    assert_true(ra == 0 || (ra == MTASTS_ENOMEM && net_wrap_failures > 0));
    assert_true(rb == 0 || (rb == MTASTS_ENOMEM && net_wrap_failures > 0));
    assert_int_equal(a.calls, ra == 0 ? 1 : 0);
    assert_int_equal(b.calls, rb == 0 ? 1 : 0);
    assert_true(rw == 0 || (rw == MTASTS_ENOMEM && net_wrap_failures > 0));
    if (net_wrap_failures == 0 &&
        (a.dns == MTASTS_NET_DNS_TIMEOUT || b.dns == MTASTS_NET_DNS_TIMEOUT))
        return -1;
    if (net_wrap_failures == 0) {
        assert_int_equal(ra, 0);
        assert_int_equal(a.status, 0);
        assert_int_equal(a.dns, MTASTS_NET_DNS_OK);
        assert_string_equal(a.text, "[v=STSv1; |id=20240101]");
        assert_int_equal(b.status, 0);
        assert_string_equal(b.text, "10:a.mx.test 20:b.mx.test 30:c.mx.test");
        return 1;
    }
    /* with a failed attempt: no memory, cancelled (the wait gave up), a
     * query lost to an unwatched socket or a failed send (timeout,
     * error), or a right answer (c-ares may absorb a failure) */
    if (a.calls == 1 && a.status == 0 && a.dns == MTASTS_NET_DNS_OK)
        assert_string_equal(a.text, "[v=STSv1; |id=20240101]");
    if (b.calls == 1 && b.status == 0 && b.dns == MTASTS_NET_DNS_OK)
        assert_string_equal(b.text, "10:a.mx.test 20:b.mx.test 30:c.mx.test");
    if (a.calls == 1 && a.status == 0)
        assert_true(a.dns == MTASTS_NET_DNS_OK ||
                    a.dns == MTASTS_NET_DNS_TIMEOUT ||
                    a.dns == MTASTS_NET_DNS_ERROR);
    if (a.calls == 1 && a.status != 0)
        assert_true(a.status == MTASTS_ENOMEM ||
                    a.status == MTASTS_NET_ECANCELED);
    if (b.calls == 1 && b.status != 0)
        assert_true(b.status == MTASTS_ENOMEM ||
                    b.status == MTASTS_NET_ECANCELED);
    return 0;
}

/* Sweep run over n = 0, 1, ... in both modes until a run with no failed
 * attempt is right; returns the number of failing steps. */
static long
sweep(int (*run)(long n, int from), int from)
{
    long n;
    int r = 0, again = 0;

    for (n = 0; n < 5000; n++) {
        r = run(n, from);
        if (r < 0 && again++ < OOM_RETRIES) {
            n--;
            continue;
        }
        assert_true(r >= 0); /* no failure and still no answer */
        if (r == 1)
            break;
    }
    return n;
}

static void
oom_sweep(void **state)
{
    int from;
    long n;

    (void)state;
    for (from = 0; from < 2; from++) {
        n = sweep(oom_run, from);
        assert_true(n > 10); /* allocations were swept */
        assert_true(n < 5000);
    }
}

/* The same for an address query on a channel of the test's own. */
static int
oom_addrs_run(long n, int from)
{
    struct mtasts_net_config cfg;
    mtasts_net *net = NULL;
    struct mtn_dns *dns = NULL;
    struct got g;
    struct own o;
    size_t before = net_wrap_live;
    int rc, rq = -1;

    memset(&g, 0, sizeof(g));
    net = net_open(dnsmasq_srv, 0, 0);
    loop_install(net, &o.lp);
    o.net = net;
    config(&cfg, dnsmasq_srv, OOM_TIMEOUT_MS, 2);
    net_wrap_arm(n, from);
    rc = mtn_dns_new(net, &cfg, &dns);
    if (rc == 0) {
        o.dns = dns;
        rq = mtn_dns_addrs(dns, "both.test", 9, on_addrs, &g);
        if (rq == 0) {
            long long end = now_ms() + LOOP_LIMIT_MS;

            while (g.calls == 0 && now_ms() < end) {
                long t = mtn_dns_timeout(dns);

                loop_poll(&o.lp, t < 0 || t > 50 ? 50 : t, own_fd, &o);
                mtn_dns_on_timeout(dns);
                (void)mtasts_net_on_timeout(net);
            }
        }
        mtn_dns_free(dns);
    }
    net_wrap_disarm();
    mtasts_net_free(net);
    if (net_wrap_live != before)
        fail_msg("addrs step %ld%s: %zu blocks leaked", n, from ? "+" : "",
                 net_wrap_live - before);
    if (rc != 0) {
        assert_int_equal(rc, MTASTS_ENOMEM);
        assert_null(dns);
        return 0;
    }
    assert_true(rq == 0 || (rq == MTASTS_ENOMEM && net_wrap_failures > 0));
    assert_int_equal(g.calls, rq == 0 ? 1 : 0);
    if (net_wrap_failures == 0 && g.dns == MTASTS_NET_DNS_TIMEOUT)
        return -1;
    if (net_wrap_failures == 0) {
        assert_int_equal(g.status, 0);
        assert_string_equal(g.text, "127.0.0.3 ::3");
        return 1;
    }
    /* c-ares asks A and AAAA apart and answers with what it got when one
     * of them ran out of memory: one family is then missing */
    if (g.calls == 1 && g.status == 0 && g.dns == MTASTS_NET_DNS_OK)
        assert_true(strcmp(g.text, "127.0.0.3 ::3") == 0 ||
                    strcmp(g.text, "127.0.0.3") == 0 ||
                    strcmp(g.text, "::3") == 0);
    return 0;
}

static void
oom_sweep_addrs(void **state)
{
    int from;
    long n;

    (void)state;
    for (from = 0; from < 2; from++) {
        n = sweep(oom_addrs_run, from);
        assert_true(n > 5);
        assert_true(n < 5000);
    }
}
#endif

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(map_every_code),
        cmocka_unit_test(status_names_and_core),
        cmocka_unit_test(bad_configs),
        cmocka_unit_test(good_configs),
        cmocka_unit_test(bad_names),
        cmocka_unit_test(txt_split_strings),
        cmocka_unit_test(txt_two_records),
        cmocka_unit_test(txt_over_tcp),
        cmocka_unit_test(txt_empty_strings),
        cmocka_unit_test(txt_cname),
        cmocka_unit_test(txt_nxdomain_nodata),
        cmocka_unit_test(txt_failures),
        cmocka_unit_test(txt_timeout),
        cmocka_unit_test(txt_failover),
        cmocka_unit_test(mx_sorted),
        cmocka_unit_test(mx_null_and_none),
        cmocka_unit_test(addrs_answers),
        cmocka_unit_test(addrs_literals),
        cmocka_unit_test(event_loop_style),
        cmocka_unit_test(many_at_once),
        cmocka_unit_test(start_from_callback),
        cmocka_unit_test(cancel_on_free),
#ifndef MTN_TEST_NO_WRAP
        cmocka_unit_test(oom_sweep),
        cmocka_unit_test(oom_sweep_addrs),
#endif
    };

    dnsmasq_srv = getenv("MTN_DNSMASQ");
    fake_srv = getenv("MTN_FAKE");
    closed_srv = getenv("MTN_CLOSED");
    if (dnsmasq_srv == NULL || fake_srv == NULL || closed_srv == NULL) {
        printf("SKIP: run through tests/net/dnsrig.py, which starts the "
               "servers (MTN_DNSMASQ, MTN_FAKE, MTN_CLOSED unset)\n");
        return 77;
    }
#ifndef MTN_TEST_NO_WRAP
    /* c-ares allocates through the counting functions too */
    if (ares_library_init_mem(ARES_LIB_INIT_ALL, __wrap_malloc, __wrap_free,
                              __wrap_realloc) != ARES_SUCCESS)
        return 1;
#endif
    return cmocka_run_group_tests_name("net-dns", tests, NULL, NULL);
}
