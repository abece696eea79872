/*
 * Allocation-failure sweep of a real fetch or probe (run by test_http.py
 * against its nginx and SMTP listener).
 *
 *   http_oom CA_FILE CONNECT_TO fetch URL HOST
 *   http_oom CA_FILE CONNECT_TO probe MX PORT
 *
 * The allocations of libmtasts-net (linked from its static archive, with
 * malloc, calloc, realloc and free wrapped at link time: ../net_wrap.c)
 * and of libcurl
 * (curl_global_init_mem()) share one counter. libcurl's allocations are
 * failed only in the calls that set a request up or tear it down
 * (mtasts_net_new(), the start call, mtasts_net_free()), where this
 * library handles libcurl's failures; not while a transfer runs inside
 * curl_multi_socket_action(): libcurl 7.88.1 itself crashes on some of
 * those (a division by zero, SIGFPE, after a failed 416-byte allocation).
 * The library's own allocations fail everywhere, also in its callbacks
 * from libcurl (the body buffer, the socket table). For n = 0, 1, ...: the n-th
 * allocation fails (then, in a second pass, every allocation from the
 * n-th on), and one whole request runs: mtasts_net_new(), the start call,
 * mtasts_net_wait(), mtasts_net_free(). Each run must end with the
 * callback run exactly once (when the start call returned 0), no block
 * left allocated, and, when an allocation failed, MTASTS_ENOMEM from one
 * of the calls or the callback, or a result that libcurl reached despite
 * the failure (it retries or does without some allocations; counted and
 * reported). The first run in which no allocation failed ends the pass;
 * it must succeed. OpenSSL's and c-ares' own allocations are not counted.
 *
 * Exit status: 0 when every run was clean, 1 otherwise, 2 usage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "mtasts_net.h"
#include "net_wrap.h"

static int curl_phase; /* libcurl's allocations may fail now */

/* libcurl's allocator: the same counter, failures only in curl_phase */
static void *
curl_malloc_cb(size_t n)
{
    void *p;

    net_wrap_spare = !curl_phase;
    p = __wrap_malloc(n);
    net_wrap_spare = 0;
    return p;
}

static void *
curl_calloc_cb(size_t n, size_t m)
{
    void *p;

    net_wrap_spare = !curl_phase;
    p = __wrap_calloc(n, m);
    net_wrap_spare = 0;
    return p;
}

static void *
curl_realloc_cb(void *p, size_t n)
{
    void *q;

    net_wrap_spare = !curl_phase;
    q = __wrap_realloc(p, n);
    net_wrap_spare = 0;
    return q;
}

static char *
curl_strdup_cb(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = curl_malloc_cb(n);

    if (d != NULL)
        memcpy(d, s, n);
    return d;
}

/* ---- one request ---- */

static const char *ca_file, *connect_to, *kind, *arg1, *arg2;
static int calls, cb_status, cb_ok;

static void
fetch_cb(void *user, int status, const struct mtasts_net_fetch *f)
{
    (void)user;
    calls++;
    cb_status = status;
    cb_ok = f != NULL && f->transport == MTASTS_FETCH_OK &&
            f->tls == MTASTS_TLS_OK && f->http_status == 200 &&
            f->body_len > 0 && f->body[f->body_len] == '\0';
}

static void
probe_cb(void *user, int status, const struct mtasts_net_probe *p)
{
    (void)user;
    calls++;
    cb_status = status;
    cb_ok = p != NULL && p->tls == MTASTS_TLS_OK && p->connected == 1;
}

/* 0: clean; 1: a failure was seen (printed). */
static int
run_once(long n, int from, long *ret_attempts, int *ret_absorbed)
{
    struct mtasts_net_config cfg;
    mtasts_net *net = NULL;
    size_t base = net_wrap_live;
    int rc_new, rc_start = 1, rc_wait = 1, enomem;

    memset(&cfg, 0, sizeof(cfg));
    cfg.version = MTASTS_NET_CONFIG_VERSION;
    cfg.ca_file = ca_file;
    cfg.connect_to = &connect_to;
    cfg.connect_to_count = 1;
    cfg.probe_timeout_ms = 10000;
    calls = 0;
    cb_status = 1;
    cb_ok = 0;
    net_wrap_arm(n, from);
    curl_phase = 1;
    rc_new = mtasts_net_new(&cfg, &net);
    if (rc_new == 0) {
        if (strcmp(kind, "fetch") == 0)
            rc_start = mtasts_net_fetch_start(net, arg1, strlen(arg1), arg2,
                                              strlen(arg2), 10000, 65536,
                                              fetch_cb, NULL);
        else
            rc_start = mtasts_net_probe_start(net, arg1, strlen(arg1),
                                              (uint16_t)strtoul(arg2, NULL, 10),
                                              probe_cb, NULL);
        if (rc_start == 0) {
            curl_phase = 0;
            rc_wait = mtasts_net_wait(net, 30000);
            curl_phase = 1;
        }
        mtasts_net_free(net);
    }
    net_wrap_disarm();
    *ret_attempts = (long)net_wrap_attempts;
    *ret_absorbed = 0;
    if (net_wrap_live != base) {
        printf("n=%ld%s: %ld block(s) leaked\n", n, from ? "+" : "",
               (long)net_wrap_live - (long)base);
        return 1;
    }
    if (rc_start == 0 && calls != 1) {
        printf("n=%ld%s: callback ran %d times\n", n, from ? "+" : "", calls);
        return 1;
    }
    enomem = rc_new == MTASTS_ENOMEM || rc_start == MTASTS_ENOMEM ||
             rc_wait == MTASTS_ENOMEM || cb_status == MTASTS_ENOMEM;
    if (net_wrap_failures == 0) {
        if (rc_new != 0 || rc_start != 0 || rc_wait != 0 || !cb_ok) {
            printf("n=%ld%s: no allocation failed, yet new=%d start=%d "
                   "wait=%d status=%d ok=%d\n",
                   n, from ? "+" : "", rc_new, rc_start, rc_wait, cb_status,
                   cb_ok);
            return 1;
        }
        return 0;
    }
    if (!enomem) {
        /* libcurl went on without the block, or failed the transfer with
         * an error of its own (a failed handshake, a closed
         * connection): either way a result, not a crash or a leak */
        if (rc_new != 0 || rc_start != 0 || (rc_wait != 0 && calls == 0)) {
            printf("n=%ld%s: an allocation failed, new=%d start=%d "
                   "wait=%d\n",
                   n, from ? "+" : "", rc_new, rc_start, rc_wait);
            return 1;
        }
        *ret_absorbed = 1;
    }
    return 0;
}

static int
sweep(int from, long *ret_steps, long *ret_absorbed)
{
    long n, attempts_seen;
    int bad = 0, absorbed;

    *ret_absorbed = 0;
    if (getenv("HTTP_OOM_ONLY") != NULL) { /* debugging: one step */
        n = strtol(getenv("HTTP_OOM_ONLY"), NULL, 10);
        bad = run_once(n, from, &attempts_seen, &absorbed);
        *ret_steps = 1;
        return bad;
    }
    for (n = 0; n < 200000; n++) {
        bad |= run_once(n, from, &attempts_seen, &absorbed);
        *ret_absorbed += absorbed;
        if (net_wrap_failures == 0) {
            *ret_steps = n;
            return bad;
        }
    }
    printf("the sweep did not end\n");
    return 1;
}

int
main(int argc, char **argv)
{
    long steps = 0, absorbed = 0;
    int bad;

    if (argc != 6 ||
        (strcmp(argv[3], "fetch") != 0 && strcmp(argv[3], "probe") != 0)) {
        fprintf(stderr, "usage: http_oom CA_FILE CONNECT_TO fetch URL HOST "
                        "| probe MX PORT\n");
        return 2;
    }
    ca_file = argv[1];
    connect_to = argv[2];
    kind = argv[3];
    arg1 = argv[4];
    arg2 = argv[5];
    if (curl_global_init_mem(CURL_GLOBAL_DEFAULT, curl_malloc_cb, __wrap_free,
                             curl_realloc_cb, curl_strdup_cb,
                             curl_calloc_cb) != CURLE_OK) {
        printf("curl_global_init_mem failed\n");
        return 1;
    }
    bad = sweep(0, &steps, &absorbed);
    printf("%s: failing the n-th allocation: %ld steps, %ld absorbed by "
           "libcurl\n",
           kind, steps, absorbed);
    if (steps == 0)
        bad = 1;
    bad |= sweep(1, &steps, &absorbed);
    printf("%s: failing every allocation from the n-th: %ld steps, %ld "
           "absorbed by libcurl\n",
           kind, steps, absorbed);
    printf("%s\n", bad ? "FAILED" : "clean");
    return bad ? 1 : 0;
}
