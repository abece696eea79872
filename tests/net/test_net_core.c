/*
 * net.c without servers: configuration checks, the connect-to mapping,
 * the request rules (callbacks never inside the start call, exactly once,
 * cancellation), event-loop mode rules, and failures that need no server
 * (a closed loopback port, a silent DNS server).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"
#include "mtasts_net.h"
#include "net_int.h"

static int
new_net(const char *dns, const char *const *ct, size_t n, mtasts_net **net)
{
    struct mtasts_net_config c;

    memset(&c, 0, sizeof(c));
    c.version = MTASTS_NET_CONFIG_VERSION;
    c.dns_servers = dns;
    c.connect_to = ct;
    c.connect_to_count = n;
    c.dns_timeout_ms = 100;
    c.dns_tries = 1;
    c.connect_timeout_ms = 1000;
    return mtasts_net_new(&c, net);
}

static void
config_checks(void **state)
{
    static const char *const bad[] = {
        "a.test:443:127.0.0.1", "a.test:443:127.0.0.1:8443:9",
        "a.test:0::1",          "a.test:65536::1",
        "a.test:x::1",          "[::1:25::1",
        "a.test:443:[::1]x:1",
    };
    static const char *const good[] = {
        "a.test:443:127.0.0.1:8443", ":443::8443", "[::1]:25:[::1]:2525", ":::",
        "A.TEST::b.test:",
    };
    struct mtasts_net_config c;
    mtasts_net *net = NULL;
    size_t i;

    (void)state;
    memset(&c, 0, sizeof(c));
    assert_int_equal(mtasts_net_new(&c, &net), MTASTS_EINVAL);
    c.version = MTASTS_NET_CONFIG_VERSION + 1;
    assert_int_equal(mtasts_net_new(&c, &net), MTASTS_EVERSION);
    assert_null(net);
    assert_int_equal(mtasts_net_new(NULL, NULL), MTASTS_EINVAL);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(new_net("127.0.0.1", &bad[i], 1, &net), MTASTS_EINVAL);
        assert_null(net);
    }
    assert_int_equal(new_net("127.0.0.1", good, 5, &net), 0);
    mtasts_net_free(net);
    assert_int_equal(new_net("not an address", NULL, 0, &net), MTASTS_EINVAL);
    mtasts_net_free(NULL);
}

static void
connect_to_map(void **state)
{
    static const char *const ct[] = {
        "mta-sts.a.test:443:127.0.0.1:8443",
        "[::1]:25:[::1]:2525",
        ":25::2526",
        "B.test::c.test:",
    };
    mtasts_net *net;
    char host[255];
    uint16_t port;

    (void)state;
    assert_int_equal(new_net("127.0.0.1", ct, 4, &net), 0);
    assert_int_equal(
        mtn_connect_to_map(net, S("MTA-STS.A.test"), 443, host, &port), 1);
    assert_string_equal(host, "127.0.0.1");
    assert_int_equal(port, 8443);
    /* another port of the same host: no match */
    assert_int_equal(
        mtn_connect_to_map(net, S("mta-sts.a.test"), 80, host, &port), 0);
    assert_string_equal(host, "mta-sts.a.test");
    assert_int_equal(port, 80);
    assert_int_equal(mtn_connect_to_map(net, S("::1"), 25, host, &port), 1);
    assert_string_equal(host, "::1");
    assert_int_equal(port, 2525);
    /* any host on 25: keep the host, change the port */
    assert_int_equal(mtn_connect_to_map(net, S("mx.x.test"), 25, host, &port),
                     1);
    assert_string_equal(host, "mx.x.test");
    assert_int_equal(port, 2526);
    /* any port of b.test: another host, same port */
    assert_int_equal(mtn_connect_to_map(net, S("b.test"), 587, host, &port), 1);
    assert_string_equal(host, "c.test");
    assert_int_equal(port, 587);
    mtasts_net_free(net);
}

struct seen {
    int calls;
    int status;
    int in_start;
    int transport;
    int resolve_status;
    int outcome;
    int why;
};

static void
lookup_cb(void *user, int status, mtasts_lookup *lk)
{
    struct seen *s = user;

    assert_int_equal(s->in_start, 0);
    s->calls++;
    s->status = status;
    if (status == 0 && lk != NULL) {
        s->outcome = mtasts_lookup_outcome(lk);
        s->why = mtasts_lookup_why(lk);
    }
}

/* An address literal finishes without I/O, but still not from inside the
 * start call. */
static void
lookup_literal(void **state)
{
    mtasts_ctx *ctx;
    mtasts_net *net;
    mtasts_lookup *lk;
    struct seen s;

    (void)state;
    memset(&s, 0, sizeof(s));
    assert_int_equal(mtasts_ctx_new(NULL, &ctx), 0);
    assert_int_equal(new_net("127.0.0.1", NULL, 0, &net), 0);
    assert_int_equal(
        mtasts_lookup_new(ctx, S("[192.0.2.1]"), NULL, 0, 1700000000, 0, &lk),
        0);
    s.in_start = 1;
    assert_int_equal(mtasts_net_lookup_start(net, lk, NULL, lookup_cb, &s), 0);
    s.in_start = 0;
    assert_int_equal(s.calls, 0);
    assert_int_equal(mtasts_net_pending(net), 1);
    assert_int_equal(mtasts_net_wait(net, 5000), 0);
    assert_int_equal(s.calls, 1);
    assert_int_equal(s.status, 0);
    assert_int_equal(s.outcome, MTASTS_OUTCOME_NO_POLICY);
    assert_int_equal(s.why, MTASTS_WHY_ADDRESS_LITERAL);
    assert_int_equal(mtasts_net_pending(net), 0);
    mtasts_lookup_free(lk);
    mtasts_net_free(net);
    mtasts_ctx_free(ctx);
}

/* A UDP socket that never answers: the TXT query times out, which the
 * core sees as a temporary DNS failure. */
static int
silent_udp(int *ret_port)
{
    struct sockaddr_in a;
    socklen_t al = sizeof(a);
    int fd = socket(AF_INET, SOCK_DGRAM, 0);

    assert_true(fd >= 0);
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &al), 0);
    *ret_port = ntohs(a.sin_port);
    return fd;
}

static void
lookup_dns_timeout(void **state)
{
    mtasts_ctx *ctx;
    mtasts_net *net;
    mtasts_lookup *lk;
    char dns[64];
    int port, fd = silent_udp(&port);

    (void)state;
    snprintf(dns, sizeof(dns), "127.0.0.1:%d", port);
    assert_int_equal(mtasts_ctx_new(NULL, &ctx), 0);
    assert_int_equal(new_net(dns, NULL, 0, &net), 0);
    assert_int_equal(
        mtasts_lookup_new(ctx, S("example.test"), NULL, 0, 1700000000, 0, &lk),
        0);
    assert_int_equal(mtasts_net_lookup(net, lk, NULL, NULL), 0);
    assert_int_equal(mtasts_lookup_why(lk), MTASTS_WHY_TXT_TEMPFAIL);
    assert_int_equal(mtasts_lookup_outcome(lk), MTASTS_OUTCOME_NO_POLICY);
    mtasts_lookup_free(lk);
    mtasts_net_free(net);
    mtasts_ctx_free(ctx);
    close(fd);
}

static void
fetch_cb(void *user, int status, const struct mtasts_net_fetch *f)
{
    struct seen *s = user;

    assert_int_equal(s->in_start, 0);
    s->calls++;
    s->status = status;
    if (f != NULL) {
        s->transport = f->transport;
        s->resolve_status = f->resolve_status;
    }
}

/* A closed loopback port (an IP literal after connect-to: no DNS). */
static void
fetch_refused(void **state)
{
    struct sockaddr_in a;
    socklen_t al = sizeof(a);
    char ct[96];
    const char *cts[1] = {ct};
    mtasts_net *net;
    struct seen s;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    (void)state;
    /* a port that was free a moment ago and has no listener */
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &al), 0);
    snprintf(ct, sizeof(ct), "mta-sts.a.test:443:127.0.0.1:%u",
             (unsigned)ntohs(a.sin_port));
    assert_int_equal(new_net("127.0.0.1", cts, 1, &net), 0);
    memset(&s, 0, sizeof(s));
    s.in_start = 1;
    assert_int_equal(mtasts_net_fetch_start(
                         net,
                         S("https://mta-sts.a.test/.well-known/mta-sts.txt"),
                         S("mta-sts.a.test"), 2000, 65536, fetch_cb, &s),
                     0);
    s.in_start = 0;
    s.resolve_status = -1;
    assert_int_equal(mtasts_net_wait(net, 10000), 0);
    close(fd);
    assert_int_equal(s.calls, 1);
    assert_int_equal(s.status, 0);
    assert_int_equal(s.transport, MTASTS_FETCH_CONNECT);
    assert_int_equal(s.resolve_status, MTASTS_NET_DNS_OK);
    /* bad URLs and hosts are refused at once */
    assert_int_equal(mtasts_net_fetch_start(net, S("http://a.test/"),
                                            S("a.test"), 1, 1, fetch_cb, &s),
                     MTASTS_EINVAL);
    assert_int_equal(mtasts_net_fetch_start(net, S("https://a.test:0/"),
                                            S("a.test"), 1, 1, fetch_cb, &s),
                     MTASTS_EINVAL);
    assert_int_equal(mtasts_net_fetch_start(net, S("https://a.test/"), "", 0, 1,
                                            1, fetch_cb, &s),
                     MTASTS_EINVAL);
    mtasts_net_free(net);
}

/* A policy host that does not resolve: no connection is tried, and the
 * result says why. */
static void
fetch_unresolved(void **state)
{
    mtasts_net *net;
    struct seen s;
    char dns[64];
    int port, fd = silent_udp(&port);

    (void)state;
    snprintf(dns, sizeof(dns), "127.0.0.1:%d", port);
    assert_int_equal(new_net(dns, NULL, 0, &net), 0);
    memset(&s, 0, sizeof(s));
    s.resolve_status = -1;
    assert_int_equal(mtasts_net_fetch_start(
                         net,
                         S("https://mta-sts.a.test/.well-known/mta-sts.txt"),
                         S("mta-sts.a.test"), 2000, 65536, fetch_cb, &s),
                     0);
    assert_int_equal(mtasts_net_wait(net, 10000), 0);
    assert_int_equal(s.calls, 1);
    assert_int_equal(s.transport, MTASTS_FETCH_CONNECT);
    assert_int_equal(s.resolve_status, MTASTS_NET_DNS_TIMEOUT);
    mtasts_net_free(net);
    close(fd);
}

/* Freeing the handle calls every owed callback once, cancelled. */
static void
cancel_on_free(void **state)
{
    mtasts_ctx *ctx;
    mtasts_net *net;
    mtasts_lookup *lk1, *lk2;
    struct seen s1, s2;
    char dns[64];
    int port, fd = silent_udp(&port);

    (void)state;
    memset(&s1, 0, sizeof(s1));
    memset(&s2, 0, sizeof(s2));
    snprintf(dns, sizeof(dns), "127.0.0.1:%d", port);
    assert_int_equal(mtasts_ctx_new(NULL, &ctx), 0);
    assert_int_equal(new_net(dns, NULL, 0, &net), 0);
    assert_int_equal(
        mtasts_lookup_new(ctx, S("a.test"), NULL, 0, 1700000000, 0, &lk1), 0);
    assert_int_equal(
        mtasts_lookup_new(ctx, S("b.test"), NULL, 0, 1700000000, 0, &lk2), 0);
    assert_int_equal(mtasts_net_lookup_start(net, lk1, NULL, lookup_cb, &s1),
                     0);
    /* one waits on DNS, the other is still queued */
    assert_int_equal(mtasts_net_wait(net, 20), MTASTS_NET_ETIMEOUT);
    assert_int_equal(mtasts_net_lookup_start(net, lk2, NULL, lookup_cb, &s2),
                     0);
    assert_int_equal(mtasts_net_pending(net), 2);
    mtasts_net_free(net);
    assert_int_equal(s1.calls, 1);
    assert_int_equal(s1.status, MTASTS_NET_ECANCELED);
    assert_int_equal(s2.calls, 1);
    assert_int_equal(s2.status, MTASTS_NET_ECANCELED);
    mtasts_lookup_free(lk1);
    mtasts_lookup_free(lk2);
    mtasts_ctx_free(ctx);
    close(fd);
}

static void
watch_fn(void *user, int fd, unsigned what)
{
    (void)user;
    (void)fd;
    (void)what;
}

static void
timer_fn(void *user, long ms)
{
    (void)ms;
    (*(int *)user)++;
}

static void
loop_rules(void **state)
{
    struct mtasts_net_loop loop = {MTASTS_NET_LOOP_VERSION, watch_fn, timer_fn,
                                   NULL};
    mtasts_ctx *ctx;
    mtasts_net *net;
    mtasts_lookup *lk;
    struct seen s;
    int timers = 0;

    (void)state;
    memset(&s, 0, sizeof(s));
    loop.user = &timers;
    assert_int_equal(mtasts_ctx_new(NULL, &ctx), 0);
    assert_int_equal(new_net("127.0.0.1", NULL, 0, &net), 0);
    loop.version = MTASTS_NET_LOOP_VERSION + 1;
    assert_int_equal(mtasts_net_set_loop(net, &loop), MTASTS_EVERSION);
    loop.version = MTASTS_NET_LOOP_VERSION;
    assert_int_equal(mtasts_net_set_loop(net, &loop), 0);
    assert_int_equal(
        mtasts_lookup_new(ctx, S("[192.0.2.1]"), NULL, 0, 1700000000, 0, &lk),
        0);
    /* blocking calls are refused in event-loop mode */
    assert_int_equal(mtasts_net_lookup(net, lk, NULL, NULL), MTASTS_EINVAL);
    assert_int_equal(mtasts_net_wait(net, 1), MTASTS_EINVAL);
    assert_int_equal(mtasts_net_lookup_start(net, lk, NULL, lookup_cb, &s), 0);
    /* the loop was asked for a timer; it fires: the lookup ends */
    assert_true(timers >= 1);
    assert_int_equal(mtasts_net_set_loop(net, &loop), MTASTS_ESTATE);
    assert_int_equal(mtasts_net_on_timeout(net), 0);
    assert_int_equal(s.calls, 1);
    assert_int_equal(s.outcome, MTASTS_OUTCOME_NO_POLICY);
    mtasts_lookup_free(lk);
    mtasts_net_free(net);
    mtasts_ctx_free(ctx);
}

static void
strerror_texts(void **state)
{
    (void)state;
    assert_string_equal(mtasts_net_strerror(MTASTS_NET_ECANCELED),
                        "request cancelled");
    assert_string_equal(mtasts_net_strerror(MTASTS_ENOMEM),
                        mtasts_strerror(MTASTS_ENOMEM));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(config_checks),  cmocka_unit_test(connect_to_map),
        cmocka_unit_test(lookup_literal), cmocka_unit_test(lookup_dns_timeout),
        cmocka_unit_test(fetch_refused),  cmocka_unit_test(fetch_unresolved),
        cmocka_unit_test(cancel_on_free), cmocka_unit_test(loop_rules),
        cmocka_unit_test(strerror_texts),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
