/*
 * The Redis backend (store/redis.c) against a real redis-server started
 * by each test on 127.0.0.1 (a free port, a UNIX socket and its files in
 * a temporary directory, no persistence), stopped by the PID started.
 * Skipped (77) when redis-server is missing (REDIS_SERVER, set by meson).
 *
 * Blocking mode: get / put, the key layout and prefix, the TTL set from
 * the horizon (PTTL), two clients writing an older and a newer entry (the
 * newer stays, also from two processes racing), corrupt values, and the
 * server killed mid-run (memory only, one alert) then back (used again).
 * Asynchronous mode on a real libevent loop: the same, plus a server that
 * stops answering (SIGSTOP: the command timeout) and a store freed with
 * requests in flight.
 */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <hiredis/hiredis.h>

#include "sthelp.h"

static const char *redis_bin;

struct fx;
static void run_until(struct fx *f, const int *flag, const mtasts_store *s,
                      int state);

/* ------------------------------------------------------------------ */
/* The server                                                          */
/* ------------------------------------------------------------------ */

struct fx {
    mtasts_ctx *ctx;
    pid_t pid;
    int port;
    char dir[512];
    char sock[600];
    struct sth_log log;
    redisContext *raw; /* the test's own client */
    struct event_base *base;
};

static int
free_port(void)
{
    struct sockaddr_in sa;
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM, 0), port;

    assert_true(fd >= 0);
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    port = ntohs(sa.sin_port);
    close(fd);
    return port;
}

static void
nap_ms(long ms)
{
    struct timespec ts;

    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (ms % 1000) * 1000000L;
    nanosleep(&ts, NULL);
}

/* Start redis-server on f->port; 1 when it answers PING, 0 when it
 * exited (the port was taken meanwhile). */
static int
server_try_start(struct fx *f)
{
    char port[16], logp[700];
    int i, status;

    snprintf(port, sizeof(port), "%d", f->port);
    snprintf(logp, sizeof(logp), "%s/redis.log", f->dir);
    f->pid = fork();
    assert_true(f->pid >= 0);
    if (f->pid == 0) {
        int fd = open(logp, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        execl(redis_bin, "redis-server", "--port", port, "--bind", "127.0.0.1",
              "--save", "", "--appendonly", "no", "--dir", f->dir,
              "--daemonize", "no", "--unixsocket", f->sock, "--unixsocketperm",
              "700", (char *)NULL);
        _exit(127);
    }
    for (i = 0; i < 1000; i++) {
        struct timeval tv = {0, 200000};
        redisContext *c = redisConnectWithTimeout("127.0.0.1", f->port, tv);
        if (c != NULL && !c->err) {
            redisReply *r = redisCommand(c, "PING");
            int ok = r != NULL && r->type == REDIS_REPLY_STATUS;
            if (r != NULL)
                freeReplyObject(r);
            redisFree(c);
            if (ok)
                return 1;
        } else if (c != NULL) {
            redisFree(c);
        }
        if (waitpid(f->pid, &status, WNOHANG) == f->pid) {
            f->pid = 0;
            return 0;
        }
        nap_ms(10);
    }
    fail_msg("redis-server did not answer on port %d", f->port);
    return 0;
}

static void
server_start(struct fx *f, int same_port)
{
    int tries;

    for (tries = 0; tries < 5; tries++) {
        if (!same_port)
            f->port = free_port();
        if (server_try_start(f))
            return;
    }
    fail_msg("redis-server could not start");
}

/* Stop the server we started (SIGKILL when hard, else SIGTERM), and wait
 * for it (bounded: SIGKILL after 5 s). */
static void
server_stop(struct fx *f, int hard)
{
    int i, status;

    if (f->pid <= 0)
        return;
    kill(f->pid, SIGCONT);
    kill(f->pid, hard ? SIGKILL : SIGTERM);
    for (i = 0; i < 500; i++) {
        if (waitpid(f->pid, &status, WNOHANG) == f->pid)
            break;
        nap_ms(10);
    }
    if (i == 500) {
        kill(f->pid, SIGKILL);
        waitpid(f->pid, &status, 0);
    }
    f->pid = 0;
}

static void
raw_connect(struct fx *f)
{
    struct timeval tv = {2, 0};

    if (f->raw != NULL)
        redisFree(f->raw);
    f->raw = redisConnectWithTimeout("127.0.0.1", f->port, tv);
    assert_non_null(f->raw);
    assert_int_equal(f->raw->err, 0);
}

static int
setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));

    if (f == NULL)
        return -1;
    f->ctx = harness_ctx_try();
    if (f->ctx == NULL) {
        free(f);
        return -1;
    }
    sth_tmpdir(f->dir, sizeof(f->dir));
    snprintf(f->sock, sizeof(f->sock), "%s/redis.sock", f->dir);
    server_start(f, 0);
    raw_connect(f);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fx *f = *state;

    if (f->raw != NULL)
        redisFree(f->raw);
    server_stop(f, 0);
    if (f->base != NULL)
        event_base_free(f->base);
    harness_ctx_free(f->ctx);
    sth_rmdir(f->dir);
    free(f);
    return 0;
}

/* The raw value of a key (NULL when absent); free with freeReplyObject. */
static redisReply *
raw_get(struct fx *f, const char *key)
{
    redisReply *r = redisCommand(f->raw, "GET %s", key);

    assert_non_null(r);
    if (r->type == REDIS_REPLY_NIL) {
        freeReplyObject(r);
        return NULL;
    }
    assert_int_equal(r->type, REDIS_REPLY_STRING);
    return r;
}

static long long
raw_int(struct fx *f, const char *cmd, const char *key)
{
    redisReply *r = redisCommand(f->raw, "%s %s", cmd, key);
    long long v;

    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_INTEGER);
    v = r->integer;
    freeReplyObject(r);
    return v;
}

static void
raw_set(struct fx *f, const char *key, const void *b, size_t n)
{
    redisReply *r = redisCommand(f->raw, "SET %s %b", key, b, n);

    assert_non_null(r);
    freeReplyObject(r);
}

static void
assert_raw_equal(struct fx *f, const char *key, const uint8_t *b, size_t n)
{
    redisReply *r = raw_get(f, key);

    assert_non_null(r);
    assert_int_equal(r->len, n);
    assert_memory_equal(r->str, b, n);
    freeReplyObject(r);
}

static void
config(struct fx *f, mtasts_store_config *cfg)
{
    mtasts_store_config_init(cfg);
    cfg->backend = MTASTS_STORE_REDIS;
    cfg->redis_port = f->port;
    cfg->alloc = harness_alloc();
    cfg->log = sth_log;
    cfg->log_arg = &f->log;
    cfg->redis_connect_timeout_ms = 2000;
    cfg->redis_command_timeout_ms = 2000;
}

static mtasts_store *
open_blocking(struct fx *f, int64_t now)
{
    mtasts_store_config cfg;
    mtasts_store *s = NULL;

    config(f, &cfg);
    assert_int_equal(mtasts_store_open(f->ctx, &cfg, now, &s), MTASTS_OK);
    assert_int_equal(mtasts_store_state(s), MTASTS_STORE_STATE_UP);
    return s;
}

/* ------------------------------------------------------------------ */
/* Blocking mode                                                       */
/* ------------------------------------------------------------------ */

static void
test_get_put(void **state)
{
    struct fx *f = *state;
    mtasts_store *s = open_blocking(f, T0), *s2;
    mtasts_store_config cfg;
    mtasts_store_stats st;
    uint8_t b[2048], c[2048];
    const uint8_t *p;
    size_t n, cn, pn;

    n = sth_simple(f->ctx, b, sizeof(b), "example.com", T0, WEEK, T0);
    assert_int_equal(mtasts_store_put(s, b, n, 0, T0), MTASTS_OK);
    assert_raw_equal(f, "mtasts:example.com", b, n);
    mtasts_store_free(s);

    /* a new store (empty memory) reads it from Redis */
    s = open_blocking(f, T0);
    assert_int_equal(mtasts_store_get(s, S("EXAMPLE.COM."), T0, 0, &p, &pn),
                     MTASTS_OK);
    assert_int_equal(pn, n);
    assert_memory_equal(p, b, n);
    assert_int_equal(mtasts_store_get(s, S("b.example"), T0, 0, &p, &pn),
                     MTASTS_OK);
    assert_null(p);
    mtasts_store_get_stats(s, &st);
    assert_int_equal(st.backend_hits, 1);
    assert_int_equal(st.misses, 1);
    assert_int_equal(st.backend_writes, 0);

    /* a delete that expects other bytes leaves the key; the right ones
     * delete it */
    cn = sth_simple(f->ctx, c, sizeof(c), "example.com", T0 + 1, WEEK, T0);
    assert_int_equal(mtasts_store_delete(s, S("example.com"), c, cn, T0),
                     MTASTS_OK);
    assert_raw_equal(f, "mtasts:example.com", b, n);
    assert_int_equal(mtasts_store_delete(s, S("example.com"), b, n, T0),
                     MTASTS_OK);
    assert_int_equal(raw_int(f, "EXISTS", "mtasts:example.com"), 0);
    mtasts_store_free(s);

    /* another prefix, over the UNIX socket, in database 2 */
    config(f, &cfg);
    cfg.redis_prefix = "fleet-a";
    cfg.redis_unix_path = f->sock;
    cfg.redis_db = 2;
    assert_int_equal(mtasts_store_open(f->ctx, &cfg, T0, &s2), MTASTS_OK);
    assert_int_equal(mtasts_store_state(s2), MTASTS_STORE_STATE_UP);
    assert_int_equal(mtasts_store_put(s2, b, n, 0, T0), MTASTS_OK);
    assert_int_equal(raw_int(f, "EXISTS", "fleet-a:example.com"), 0);
    freeReplyObject(redisCommand(f->raw, "SELECT 2"));
    assert_raw_equal(f, "fleet-a:example.com", b, n);
    freeReplyObject(redisCommand(f->raw, "SELECT 0"));
    mtasts_store_free(s2);
    assert_int_equal(f->log.alerts, 0);
}

/* The TTL is the horizon minus now: max(expires, backoff-until) + grace. */
static void
test_ttl(void **state)
{
    struct fx *f = *state;
    mtasts_store_config cfg;
    mtasts_store *s = NULL;
    uint8_t b[2048];
    size_t n;
    long long pttl, want;
    struct sth_times bo_late = {T0 - WEEK + 100, T0 + 100, T0 + 300, T0};
    struct sth_times bo_only = {0, 0, T0 + 300, 0};
    const int64_t grace = 1234;
    const long long slack = 60000; /* ms the test may take, at most */

    config(f, &cfg);
    cfg.grace = grace;
    assert_int_equal(mtasts_store_open(f->ctx, &cfg, T0, &s), MTASTS_OK);

    /* a policy: its expiry + grace */
    n = sth_simple(f->ctx, b, sizeof(b), "a.example", T0, WEEK, T0);
    assert_int_equal(mtasts_store_put(s, b, n, 0, T0), MTASTS_OK);
    pttl = raw_int(f, "PTTL", "mtasts:a.example");
    want = (WEEK + grace) * 1000;
    assert_true(pttl <= want && pttl > want - slack);

    /* a policy near its expiry with a backoff past it: the backoff */
    n = sth_entry(f->ctx, b, sizeof(b), "b.example", "id1", bo_late, "id2", 9,
                  1);
    assert_int_equal(mtasts_store_put(s, b, n, 0, T0), MTASTS_OK);
    pttl = raw_int(f, "PTTL", "mtasts:b.example");
    want = (300 + grace) * 1000;
    assert_true(pttl <= want && pttl > want - slack);

    /* a backoff only */
    n = sth_entry(f->ctx, b, sizeof(b), "c.example", "", bo_only, "id1", 11, 0);
    assert_int_equal(mtasts_store_put(s, b, n, 0, T0 + 100), MTASTS_OK);
    pttl = raw_int(f, "PTTL", "mtasts:c.example");
    want = (200 + grace) * 1000;
    assert_true(pttl <= want && pttl > want - slack);

    /* past its horizon: not written */
    n = sth_simple(f->ctx, b, sizeof(b), "d.example", T0 - WEEK, DAY,
                   T0 - WEEK);
    assert_int_equal(mtasts_store_put(s, b, n, 0, T0), MTASTS_OK);
    assert_int_equal(raw_int(f, "EXISTS", "mtasts:d.example"), 0);
    mtasts_store_free(s);
}

static void
test_order_two_clients(void **state)
{
    struct fx *f = *state;
    mtasts_store *a = open_blocking(f, T0), *b2 = open_blocking(f, T0);
    uint8_t old[2048], young[2048], ext[2048];
    size_t on, yn, xn, pn;
    const uint8_t *p;
    struct sth_times t = {T0 + 100, T0 + 150 + WEEK, 0, T0 + 100};
    mtasts_store_stats st;

    on = sth_simple(f->ctx, old, sizeof(old), "example.com", T0, WEEK, T0);
    yn = sth_simple(f->ctx, young, sizeof(young), "example.com", T0 + 100, WEEK,
                    T0 + 100);
    xn = sth_entry(f->ctx, ext, sizeof(ext), "example.com", "id1", t, NULL, 0,
                   1);
    assert_int_equal(mtasts_store_put(a, young, yn, 0, T0 + 100), MTASTS_OK);
    assert_int_equal(mtasts_store_put(b2, old, on, 0, T0 + 100), MTASTS_NONE);
    assert_raw_equal(f, "mtasts:example.com", young, yn);
    assert_int_equal(
        mtasts_store_get(b2, S("example.com"), T0 + 100, 0, &p, &pn),
        MTASTS_OK);
    assert_int_equal(pn, yn);
    assert_memory_equal(p, young, yn);
    mtasts_store_get_stats(b2, &st);
    assert_int_equal(st.kept_newer, 1);
    /* the newer extension from b wins */
    assert_int_equal(mtasts_store_put(b2, ext, xn, 0, T0 + 101), MTASTS_OK);
    assert_raw_equal(f, "mtasts:example.com", ext, xn);
    /* a sees it with F_BACKEND */
    assert_int_equal(mtasts_store_get(a, S("example.com"), T0 + 102,
                                      MTASTS_STORE_GET_F_BACKEND, &p, &pn),
                     MTASTS_OK);
    assert_int_equal(pn, xn);
    assert_memory_equal(p, ext, xn);
    mtasts_store_free(a);
    mtasts_store_free(b2);
    assert_int_equal(f->log.alerts, 0);
}

/* The parent's client is not a child's to use. */
static void
race_in_child(void *arg)
{
    struct fx *f = arg;

    redisFree(f->raw);
    f->raw = NULL;
}

/* Two processes (two connections) race rising and falling entries of one
 * domain (sth_race()): the newest stays. */
static void
test_race_processes(void **state)
{
    struct fx *f = *state;
    mtasts_store_config cfg;
    redisReply *r;
    mtasts_entry *e;

    mtasts_store_config_init(&cfg);
    cfg.backend = MTASTS_STORE_REDIS;
    cfg.redis_port = f->port;
    cfg.redis_command_timeout_ms = 10000;
    sth_race(&cfg, 0, race_in_child, f);
    r = raw_get(f, "mtasts:shared.example");
    assert_non_null(r);
    e = sth_decode(f->ctx, (const uint8_t *)r->str, r->len);
    assert_int_equal(mtasts_entry_time(e, MTASTS_ENTRY_TIME_LAST_USED),
                     T0 + 2 * STH_RACE_N + 1);
    mtasts_entry_free(e);
    freeReplyObject(r);
}

static void
test_corrupt(void **state)
{
    struct fx *f = *state;
    mtasts_store *s = open_blocking(f, T0);
    uint8_t b[2048];
    const uint8_t *p;
    size_t n, pn;
    static const char fake[] = "MTASTS-ENTRY/2\nfetched=9999999999\n"
                               "expires=9999999999\n";
    redisReply *r;

    raw_set(f, "mtasts:example.com", "garbage", 7);
    assert_int_equal(mtasts_store_get(s, S("example.com"), T0, 0, &p, &pn),
                     MTASTS_OK);
    assert_null(p);
    assert_int_equal(f->log.corrupt, 1);
    assert_non_null(strstr(f->log.last, "domain=example.com"));
    assert_int_equal(raw_int(f, "EXISTS", "mtasts:example.com"), 0);

    r = redisCommand(f->raw, "LPUSH mtasts:list.example x");
    freeReplyObject(r);
    assert_int_equal(mtasts_store_get(s, S("list.example"), T0, 0, &p, &pn),
                     MTASTS_OK);
    assert_null(p);
    assert_int_equal(f->log.corrupt, 2);
    assert_non_null(strstr(f->log.last, "status=wrong-type"));
    assert_int_equal(raw_int(f, "EXISTS", "mtasts:list.example"), 0);
    assert_int_equal(mtasts_store_state(s), MTASTS_STORE_STATE_UP);

    /* a forged value claiming a newer order does not block a put */
    raw_set(f, "mtasts:example.com", fake, sizeof(fake) - 1);
    n = sth_simple(f->ctx, b, sizeof(b), "example.com", T0, WEEK, T0);
    assert_int_equal(mtasts_store_put(s, b, n, 0, T0), MTASTS_OK);
    assert_int_equal(f->log.corrupt, 3);
    assert_raw_equal(f, "mtasts:example.com", b, n);
    /* a list under the key is replaced by a put */
    r = redisCommand(f->raw, "LPUSH mtasts:example.com x");
    freeReplyObject(r);
    assert_int_equal(mtasts_store_put(s, b, n, 0, T0), MTASTS_OK);
    assert_raw_equal(f, "mtasts:example.com", b, n);
    assert_int_equal(f->log.alerts, 3);
    mtasts_store_free(s);
}

/* The server is killed mid-run: memory only with one alert, whatever the
 * number of requests; when it is back, the store uses it again after the
 * retry time. */
static void
test_kill_blocking(void **state)
{
    struct fx *f = *state;
    mtasts_store_config cfg;
    mtasts_store *s = NULL;
    uint8_t b[2048], c[2048];
    const uint8_t *p;
    size_t n, cn, pn;
    int i;

    config(f, &cfg);
    cfg.retry_min = 5;
    cfg.redis_connect_timeout_ms = 500;
    cfg.redis_command_timeout_ms = 500;
    assert_int_equal(mtasts_store_open(f->ctx, &cfg, T0, &s), MTASTS_OK);
    n = sth_simple(f->ctx, b, sizeof(b), "example.com", T0, WEEK, T0);
    assert_int_equal(mtasts_store_put(s, b, n, 0, T0), MTASTS_OK);
    assert_int_equal(f->log.ups, 1);

    server_stop(f, 1);
    assert_int_equal(
        mtasts_store_get(s, S("other.example"), T0 + 1, 0, &p, &pn), MTASTS_OK);
    assert_null(p);
    assert_int_equal(mtasts_store_state(s), MTASTS_STORE_STATE_DOWN);
    assert_int_equal(f->log.alerts, 1);
    assert_int_equal(f->log.downs, 1);
    for (i = 0; i < 20; i++) {
        int64_t now = T0 + 1 + i * 3; /* retries fail on the way */
        assert_int_equal(mtasts_store_get(s, S("example.com"), now, 0, &p, &pn),
                         MTASTS_OK);
        assert_int_equal(pn, n);
        assert_int_equal(mtasts_store_put(s, b, n, 0, now), MTASTS_OK);
    }
    assert_int_equal(f->log.alerts, 1);
    assert_int_equal(f->log.lines, 2);

    /* back, empty: one entry written by another member of the fleet */
    server_start(f, 1);
    raw_connect(f);
    cn = sth_simple(f->ctx, c, sizeof(c), "fresh.example", T0, WEEK, T0);
    raw_set(f, "mtasts:fresh.example", c, cn);
    /* the retry time is passed by then */
    assert_int_equal(
        mtasts_store_get(s, S("fresh.example"), T0 + 1000, 0, &p, &pn),
        MTASTS_OK);
    assert_int_equal(mtasts_store_state(s), MTASTS_STORE_STATE_UP);
    assert_int_equal(pn, cn);
    assert_memory_equal(p, c, cn);
    assert_int_equal(f->log.ups, 2);
    assert_non_null(strstr(f->log.last, "recovered=1"));
    assert_int_equal(mtasts_store_put(s, b, n, 0, T0 + 1000), MTASTS_OK);
    assert_raw_equal(f, "mtasts:example.com", b, n);
    assert_int_equal(f->log.alerts, 1);
    mtasts_store_free(s);
}

/* AUTH: the right password works, a wrong one is a failed backend. */
static void
test_auth(void **state)
{
    struct fx *f = *state;
    mtasts_store_config cfg;
    mtasts_store *s = NULL;
    uint8_t b[2048];
    size_t n;
    redisReply *r = redisCommand(f->raw, "CONFIG SET requirepass s3cret");

    assert_non_null(r);
    freeReplyObject(r);
    config(f, &cfg);
    cfg.redis_password = "s3cret";
    assert_int_equal(mtasts_store_open(f->ctx, &cfg, T0, &s), MTASTS_OK);
    assert_int_equal(mtasts_store_state(s), MTASTS_STORE_STATE_UP);
    n = sth_simple(f->ctx, b, sizeof(b), "example.com", T0, WEEK, T0);
    assert_int_equal(mtasts_store_put(s, b, n, 0, T0), MTASTS_OK);
    assert_raw_equal(f, "mtasts:example.com", b, n);
    mtasts_store_free(s);

    cfg.redis_password = "wrong";
    assert_int_equal(mtasts_store_open(f->ctx, &cfg, T0, &s), MTASTS_OK);
    assert_int_equal(mtasts_store_state(s), MTASTS_STORE_STATE_DOWN);
    assert_int_equal(f->log.alerts, 1);
    assert_non_null(strstr(f->log.last, "error=\"server: "));
    mtasts_store_free(s);

    /* no password: every command is refused */
    cfg.redis_password = NULL;
    assert_int_equal(mtasts_store_open(f->ctx, &cfg, T0, &s), MTASTS_OK);
    assert_int_equal(mtasts_store_state(s), MTASTS_STORE_STATE_DOWN);
    mtasts_store_free(s);

    /* asynchronous, with the password */
    if (f->base == NULL) {
        f->base = event_base_new();
        assert_non_null(f->base);
    }
    cfg.redis_password = "s3cret";
    cfg.event_base = f->base;
    assert_int_equal(mtasts_store_open(f->ctx, &cfg, T0, &s), MTASTS_OK);
    run_until(f, NULL, s, MTASTS_STORE_STATE_UP);
    mtasts_store_free(s);
    /* asynchronous, wrong: down */
    cfg.redis_password = "wrong";
    assert_int_equal(mtasts_store_open(f->ctx, &cfg, T0, &s), MTASTS_OK);
    run_until(f, NULL, s, MTASTS_STORE_STATE_DOWN);
    mtasts_store_free(s);
}

/* A server that stops answering (SIGSTOP): the blocking call returns
 * after the command timeout, from memory, and the backend is down. */
static void
test_timeout_blocking(void **state)
{
    struct fx *f = *state;
    mtasts_store_config cfg;
    mtasts_store *s = NULL;
    const uint8_t *p;
    size_t pn;

    config(f, &cfg);
    cfg.redis_command_timeout_ms = 300;
    assert_int_equal(mtasts_store_open(f->ctx, &cfg, T0, &s), MTASTS_OK);
    assert_int_equal(kill(f->pid, SIGSTOP), 0);
    assert_int_equal(mtasts_store_get(s, S("example.com"), T0, 0, &p, &pn),
                     MTASTS_OK);
    assert_null(p);
    assert_int_equal(mtasts_store_state(s), MTASTS_STORE_STATE_DOWN);
    assert_int_equal(f->log.alerts, 1);
    assert_non_null(strstr(f->log.last, "command timeout"));
    assert_int_equal(kill(f->pid, SIGCONT), 0);
    mtasts_store_free(s);
}

/* ------------------------------------------------------------------ */
/* Asynchronous mode                                                   */
/* ------------------------------------------------------------------ */

struct done {
    int called, status;
    size_t len;
    uint8_t bytes[2048];
    int present;
};

static void
get_cb(void *arg, int status, const uint8_t *entry, size_t len)
{
    struct done *d = arg;

    d->called++;
    d->status = status;
    d->present = entry != NULL;
    d->len = len;
    if (entry != NULL && len <= sizeof(d->bytes))
        memcpy(d->bytes, entry, len);
}

static void
put_cb(void *arg, int status)
{
    struct done *d = arg;

    d->called++;
    d->status = status;
}

static void
on_guard(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
}

/* Run the loop until *flag or the store reaches state (when >= 0); at
 * most about 10 s. */
static void
run_until(struct fx *f, const int *flag, const mtasts_store *s, int state)
{
    struct event *guard = evtimer_new(f->base, on_guard, NULL);
    struct timeval tv = {0, 20000};
    int i;

    assert_non_null(guard);
    for (i = 0; i < 500; i++) {
        if (flag != NULL && *flag)
            break;
        if (s != NULL && mtasts_store_state(s) == state)
            break;
        evtimer_add(guard, &tv);
        event_base_loop(f->base, EVLOOP_ONCE);
    }
    event_free(guard);
    if (flag != NULL)
        assert_true(*flag);
    if (s != NULL)
        assert_int_equal(mtasts_store_state(s), state);
}

static mtasts_store *
open_async(struct fx *f, int64_t now, int cmd_timeout_ms)
{
    mtasts_store_config cfg;
    mtasts_store *s = NULL;

    if (f->base == NULL) {
        f->base = event_base_new();
        assert_non_null(f->base);
    }
    config(f, &cfg);
    cfg.event_base = f->base;
    cfg.redis_command_timeout_ms = cmd_timeout_ms;
    assert_int_equal(mtasts_store_open(f->ctx, &cfg, now, &s), MTASTS_OK);
    assert_int_equal(mtasts_store_state(s), MTASTS_STORE_STATE_CONNECTING);
    run_until(f, NULL, s, MTASTS_STORE_STATE_UP);
    return s;
}

static void
test_async_get_put(void **state)
{
    struct fx *f = *state;
    mtasts_store *a = open_async(f, T0, 2000), *b2;
    struct done d = {0};
    uint8_t b[2048];
    const uint8_t *p = (const uint8_t *)"x";
    size_t n, pn = 9;

    n = sth_simple(f->ctx, b, sizeof(b), "example.com", T0, WEEK, T0);
    assert_int_equal(mtasts_store_put_async(a, b, n, 0, T0, put_cb, &d),
                     MTASTS_EAGAIN);
    assert_int_equal(d.called, 0);
    run_until(f, &d.called, NULL, 0);
    assert_int_equal(d.called, 1);
    assert_int_equal(d.status, MTASTS_OK);
    assert_raw_equal(f, "mtasts:example.com", b, n);

    /* memory hit: answered at once */
    assert_int_equal(
        mtasts_store_get_async(a, S("example.com"), T0, 0, get_cb, &d, &p, &pn),
        MTASTS_OK);
    assert_int_equal(pn, n);

    /* another store (empty memory): asks Redis, never waits */
    b2 = open_async(f, T0, 2000);
    memset(&d, 0, sizeof(d));
    assert_int_equal(mtasts_store_get_async(b2, S("Example.com"), T0, 0, get_cb,
                                            &d, &p, &pn),
                     MTASTS_EAGAIN);
    assert_null(p);
    run_until(f, &d.called, NULL, 0);
    assert_int_equal(d.called, 1);
    assert_int_equal(d.status, MTASTS_OK);
    assert_true(d.present);
    assert_int_equal(d.len, n);
    assert_memory_equal(d.bytes, b, n);
    /* now in b2's memory */
    assert_int_equal(mtasts_store_get_async(b2, S("example.com"), T0, 0, get_cb,
                                            &d, &p, &pn),
                     MTASTS_OK);
    assert_int_equal(pn, n);
    /* a miss */
    memset(&d, 0, sizeof(d));
    assert_int_equal(mtasts_store_get_async(b2, S("none.example"), T0, 0,
                                            get_cb, &d, &p, &pn),
                     MTASTS_EAGAIN);
    run_until(f, &d.called, NULL, 0);
    assert_int_equal(d.status, MTASTS_OK);
    assert_false(d.present);
    /* the blocking get of an asynchronous store answers from memory */
    raw_set(f, "mtasts:only-in-redis.example", b, n);
    assert_int_equal(
        mtasts_store_get(b2, S("only-in-redis.example"), T0, 0, &p, &pn),
        MTASTS_OK);
    assert_null(p);

    /* order: b2 writes an older entry, a newer one is kept */
    {
        uint8_t old[2048];
        size_t on = sth_simple(f->ctx, old, sizeof(old), "example.com", T0 - 10,
                               WEEK, T0 - 10);
        memset(&d, 0, sizeof(d));
        assert_int_equal(mtasts_store_put_async(b2, old, on, 0, T0, put_cb, &d),
                         MTASTS_EAGAIN);
        run_until(f, &d.called, NULL, 0);
        assert_int_equal(d.status, MTASTS_NONE);
        assert_raw_equal(f, "mtasts:example.com", b, n);
        assert_int_equal(mtasts_store_get_async(b2, S("example.com"), T0, 0,
                                                get_cb, &d, &p, &pn),
                         MTASTS_OK);
        assert_int_equal(pn, n);
        assert_memory_equal(p, b, n);
    }
    mtasts_store_free(a);
    mtasts_store_free(b2);
    assert_int_equal(f->log.alerts, 0);
}

/* Killed, then back, on the event loop. */
static void
test_async_kill(void **state)
{
    struct fx *f = *state;
    mtasts_store *s = open_async(f, T0, 2000);
    struct done d = {0};
    uint8_t b[2048];
    const uint8_t *p;
    size_t n, pn;
    int i;

    n = sth_simple(f->ctx, b, sizeof(b), "example.com", T0, WEEK, T0);
    assert_int_equal(mtasts_store_put_async(s, b, n, 0, T0, put_cb, &d),
                     MTASTS_EAGAIN);
    run_until(f, &d.called, NULL, 0);

    server_stop(f, 1);
    memset(&d, 0, sizeof(d));
    assert_int_equal(mtasts_store_get_async(s, S("other.example"), T0 + 1, 0,
                                            get_cb, &d, &p, &pn),
                     MTASTS_EAGAIN);
    run_until(f, &d.called, NULL, 0);
    assert_int_equal(d.status, MTASTS_OK);
    assert_false(d.present);
    assert_int_equal(mtasts_store_state(s), MTASTS_STORE_STATE_DOWN);
    assert_int_equal(f->log.alerts, 1);
    /* memory only, answered at once, no more alerts (the retries on the
     * way fail too) */
    for (i = 0; i < 20; i++) {
        int64_t now = T0 + 2 + i * 3;
        int rc = mtasts_store_get_async(s, S("example.com"), now, 0, get_cb, &d,
                                        &p, &pn);
        assert_int_equal(rc, MTASTS_OK);
        assert_int_equal(pn, n);
        run_until(f, NULL, s, MTASTS_STORE_STATE_DOWN);
    }
    assert_int_equal(f->log.alerts, 1);
    assert_int_equal(f->log.downs, 1);

    server_start(f, 1);
    raw_connect(f);
    /* the retry starts a connection and answers from memory meanwhile */
    memset(&d, 0, sizeof(d));
    assert_int_equal(mtasts_store_get_async(s, S("x.example"), T0 + 1000, 0,
                                            get_cb, &d, &p, &pn),
                     MTASTS_OK);
    assert_null(p);
    run_until(f, NULL, s, MTASTS_STORE_STATE_UP);
    assert_int_equal(f->log.ups, 2);
    assert_non_null(strstr(f->log.last, "recovered=1"));
    memset(&d, 0, sizeof(d));
    assert_int_equal(mtasts_store_put_async(s, b, n, 0, T0 + 1000, put_cb, &d),
                     MTASTS_EAGAIN);
    run_until(f, &d.called, NULL, 0);
    assert_int_equal(d.status, MTASTS_OK);
    assert_raw_equal(f, "mtasts:example.com", b, n);
    assert_int_equal(f->log.alerts, 1);
    mtasts_store_free(s);
}

/* A server that stops answering (SIGSTOP): the command timeout answers
 * from memory and marks the backend down. */
static void
test_async_timeout(void **state)
{
    struct fx *f = *state;
    mtasts_store *s = open_async(f, T0, 300);
    struct done d = {0};
    const uint8_t *p;
    size_t pn;

    assert_int_equal(kill(f->pid, SIGSTOP), 0);
    assert_int_equal(
        mtasts_store_get_async(s, S("example.com"), T0, 0, get_cb, &d, &p, &pn),
        MTASTS_EAGAIN);
    run_until(f, &d.called, NULL, 0);
    assert_int_equal(d.called, 1);
    assert_int_equal(d.status, MTASTS_OK);
    assert_false(d.present);
    assert_int_equal(mtasts_store_state(s), MTASTS_STORE_STATE_DOWN);
    assert_int_equal(f->log.alerts, 1);
    assert_non_null(strstr(f->log.last, "command timeout"));
    assert_int_equal(kill(f->pid, SIGCONT), 0);
    mtasts_store_free(s);
}

/* Freeing a store with requests in flight calls their callbacks with
 * MTASTS_ESTATE. */
static void
test_async_free_pending(void **state)
{
    struct fx *f = *state;
    mtasts_store *s = open_async(f, T0, 2000);
    struct done d = {0}, d2 = {0};
    uint8_t b[2048];
    const uint8_t *p;
    size_t n, pn;

    n = sth_simple(f->ctx, b, sizeof(b), "example.com", T0, WEEK, T0);
    assert_int_equal(
        mtasts_store_get_async(s, S("a.example"), T0, 0, get_cb, &d, &p, &pn),
        MTASTS_EAGAIN);
    assert_int_equal(mtasts_store_put_async(s, b, n, 0, T0, put_cb, &d2),
                     MTASTS_EAGAIN);
    mtasts_store_free(s);
    assert_int_equal(d.called, 1);
    assert_int_equal(d.status, MTASTS_ESTATE);
    assert_int_equal(d2.called, 1);
    assert_int_equal(d2.status, MTASTS_ESTATE);
}

/* ------------------------------------------------------------------ */
/* Allocation failures                                                 */
/* ------------------------------------------------------------------ */

struct oom_arg {
    struct fx *f;
    uint8_t b[2048];
    size_t n;
    int async;
};

/* Wait for a callback or a state other than CONNECTING, without
 * asserting (the sweep decides). */
static void
spin(struct fx *f, const int *flag, const mtasts_store *s)
{
    int i;

    for (i = 0; i < 500; i++) {
        struct timeval tv = {0, 20000};
        if (flag != NULL && *flag)
            return;
        if (flag == NULL &&
            mtasts_store_state(s) != MTASTS_STORE_STATE_CONNECTING)
            return;
        event_base_loopexit(f->base, &tv);
        event_base_loop(f->base, EVLOOP_ONCE);
    }
}

static int
oom_open(struct oom_arg *a, mtasts_store **s)
{
    mtasts_store_config cfg;
    int rc;

    config(a->f, &cfg);
    if (a->async)
        cfg.event_base = a->f->base;
    rc = mtasts_store_open(a->f->ctx, &cfg, T0, s);
    if (rc == MTASTS_OK && a->async)
        spin(a->f, NULL, *s);
    if (rc == MTASTS_OK && mtasts_store_state(*s) != MTASTS_STORE_STATE_UP) {
        mtasts_store_free(*s);
        return MTASTS_EINVAL;
    }
    return rc;
}

static int
oom_op(void *argp)
{
    struct oom_arg *a = argp;
    mtasts_store *s = NULL;
    struct done d = {0};
    const uint8_t *p = NULL;
    size_t pn = 0;
    int rc;

    freeReplyObject(redisCommand(a->f->raw, "FLUSHALL"));
    rc = oom_open(a, &s);
    if (rc != MTASTS_OK)
        return rc;
    rc = mtasts_store_put_async(s, a->b, a->n, 0, T0, put_cb, &d);
    if (rc == MTASTS_EAGAIN) {
        spin(a->f, &d.called, s);
        rc = d.called ? d.status : MTASTS_EINVAL;
    }
    mtasts_store_free(s);
    if (rc != MTASTS_OK)
        return rc;
    rc = oom_open(a, &s);
    if (rc != MTASTS_OK)
        return rc;
    memset(&d, 0, sizeof(d));
    rc =
        mtasts_store_get_async(s, S("example.com"), T0, 0, get_cb, &d, &p, &pn);
    if (rc == MTASTS_EAGAIN) {
        spin(a->f, &d.called, s);
        rc = d.called ? d.status : MTASTS_EINVAL;
        pn = d.present ? d.len : 0;
    } else if (rc == MTASTS_OK && p == NULL) {
        pn = 0;
    }
    if (rc == MTASTS_OK && pn != a->n)
        rc = MTASTS_EINVAL;
    mtasts_store_free(s);
    return rc;
}

static void
test_oom(void **state)
{
    struct fx *f = *state;
    struct oom_arg *a = calloc(1, sizeof(*a));

    assert_non_null(a);
    a->f = f;
    a->n = sth_simple(f->ctx, a->b, sizeof(a->b), "example.com", T0, WEEK, T0);
    harness_oom_sweep("redis store, blocking", oom_op, a, HARNESS_SWEEP_BOTH);
    f->base = event_base_new();
    assert_non_null(f->base);
    a->async = 1;
    harness_oom_sweep("redis store, asynchronous", oom_op, a,
                      HARNESS_SWEEP_BOTH);
    free(a);
}

int
main(void)
{
    const struct CMUnitTest unit[] = {
        cmocka_unit_test_setup_teardown(test_get_put, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ttl, setup, teardown),
        cmocka_unit_test_setup_teardown(test_order_two_clients, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_race_processes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kill_blocking, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeout_blocking, setup, teardown),
        cmocka_unit_test_setup_teardown(test_auth, setup, teardown),
        cmocka_unit_test_setup_teardown(test_async_get_put, setup, teardown),
        cmocka_unit_test_setup_teardown(test_async_kill, setup, teardown),
        cmocka_unit_test_setup_teardown(test_async_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_async_free_pending, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_oom, setup, teardown),
    };

    redis_bin = getenv("REDIS_SERVER");
    if (redis_bin == NULL || *redis_bin == 0 || access(redis_bin, X_OK) != 0)
        return sth_skip("redis-server not found (REDIS_SERVER)");
    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests_name("store-redis", unit, NULL, NULL);
}
