/*
 * The client side of the HTTPS fetch and STARTTLS probe tests
 * (test_http.py): one fetch or probe through the public API of
 * libmtasts-net, its result printed as one JSON object on stdout.
 *
 *   http_client [OPTIONS] fetch URL HOST MAX_SIZE TIMEOUT_MS
 *   http_client [OPTIONS] probe MX PORT
 *   http_client [OPTIONS] cancel URL HOST
 *
 * OPTIONS: --ca FILE, --connect-to HOST:PORT:HOST2:PORT2 (repeatable),
 * --connect-timeout MS, --probe-timeout MS, --helo NAME, and --loop: run
 * in event-loop mode on a small poll() loop of this program instead of
 * mtasts_net_wait(). "cancel" starts a fetch and frees the handle at once:
 * the callback must run once, with MTASTS_NET_ECANCELED.
 *
 * Exit status: 0 when the request ran its callback exactly once (whatever
 * the outcome), 1 otherwise, 2 on usage errors.
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mtasts_net.h"

#define MAX_FDS 64

static int calls;

static void
json_str(const char *s, size_t n)
{
    size_t i;

    putchar('"');
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20 || c >= 0x7f)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

static void
fetch_cb(void *user, int status, const struct mtasts_net_fetch *f)
{
    (void)user;
    calls++;
    printf("{\"status\": %d", status);
    if (f != NULL) {
        printf(", \"transport\": %d, \"tls\": %d, \"http_status\": %d",
               f->transport, f->tls, f->http_status);
        printf(", \"content_type\": ");
        if (f->content_type != NULL)
            json_str(f->content_type, f->content_type_len);
        else
            printf("null");
        printf(", \"body_len\": %zu, \"body_nul\": %d", f->body_len,
               f->body != NULL && f->body[f->body_len] == '\0');
        printf(", \"body\": ");
        json_str(f->body, f->body_len < 256 ? f->body_len : 256);
        printf(", \"cert_not_after\": %lld, \"curl_code\": %d",
               (long long)f->cert_not_after, f->curl_code);
        printf(", \"verify_result\": %ld, \"error\": ", f->verify_result);
        json_str(f->error, strlen(f->error));
        printf(", \"peer\": ");
        json_str(f->peer, strlen(f->peer));
        printf(", \"elapsed_ms\": %u", (unsigned)f->elapsed_ms);
    }
    printf("}\n");
}

static void
probe_cb(void *user, int status, const struct mtasts_net_probe *p)
{
    (void)user;
    calls++;
    printf("{\"status\": %d", status);
    if (p != NULL) {
        printf(", \"tls\": %d, \"connected\": %d", p->tls, p->connected);
        printf(", \"cert_not_after\": %lld, \"curl_code\": %d",
               (long long)p->cert_not_after, p->curl_code);
        printf(", \"verify_result\": %ld, \"tls_version\": ", p->verify_result);
        json_str(p->tls_version, strlen(p->tls_version));
        printf(", \"error\": ");
        json_str(p->error, strlen(p->error));
        printf(", \"peer\": ");
        json_str(p->peer, strlen(p->peer));
        printf(", \"elapsed_ms\": %u", (unsigned)p->elapsed_ms);
    }
    printf("}\n");
}

/* ---- a minimal event loop: one timer, a table of watched fds ---- */

static struct {
    int fd[MAX_FDS];
    unsigned what[MAX_FDS];
    size_t n;
    long timer_ms; /* -1: none */
    struct timespec timer_set;
    int overflow;
} loop;

static void
loop_watch(void *user, int fd, unsigned what)
{
    size_t i;

    (void)user;
    for (i = 0; i < loop.n; i++)
        if (loop.fd[i] == fd)
            break;
    if (what & MTASTS_NET_F_POLL_REMOVE) {
        if (i < loop.n) {
            loop.fd[i] = loop.fd[loop.n - 1];
            loop.what[i] = loop.what[loop.n - 1];
            loop.n--;
        }
        return;
    }
    if (i == loop.n) {
        if (loop.n == MAX_FDS) {
            loop.overflow = 1;
            return;
        }
        loop.n++;
    }
    loop.fd[i] = fd;
    loop.what[i] = what;
}

static void
loop_timer(void *user, long ms)
{
    (void)user;
    loop.timer_ms = ms;
    clock_gettime(CLOCK_MONOTONIC, &loop.timer_set);
}

static long
timer_left(void)
{
    struct timespec now;
    long spent;

    if (loop.timer_ms < 0)
        return -1;
    clock_gettime(CLOCK_MONOTONIC, &now);
    spent = (long)(now.tv_sec - loop.timer_set.tv_sec) * 1000 +
            (now.tv_nsec - loop.timer_set.tv_nsec) / 1000000;
    return spent >= loop.timer_ms ? 0 : loop.timer_ms - spent;
}

static int
run_loop(mtasts_net *net)
{
    unsigned rounds = 0;

    while (mtasts_net_pending(net) > 0) {
        struct pollfd pfd[MAX_FDS];
        size_t i, n = loop.n;
        long t = timer_left();

        if (loop.overflow || ++rounds > 1000000)
            return -1;
        if (n == 0 && t < 0)
            return -1; /* nothing can move */
        for (i = 0; i < n; i++) {
            pfd[i].fd = loop.fd[i];
            pfd[i].events =
                (short)(((loop.what[i] & MTASTS_NET_F_POLL_IN) ? POLLIN : 0) |
                        ((loop.what[i] & MTASTS_NET_F_POLL_OUT) ? POLLOUT : 0));
            pfd[i].revents = 0;
        }
        if (poll(pfd, (nfds_t)n, (int)t) < 0)
            return -1;
        for (i = 0; i < n; i++) {
            unsigned ev = 0;

            if (pfd[i].revents & POLLIN)
                ev |= MTASTS_NET_F_POLL_IN;
            if (pfd[i].revents & POLLOUT)
                ev |= MTASTS_NET_F_POLL_OUT;
            if (pfd[i].revents & (POLLERR | POLLHUP | POLLNVAL))
                ev |= MTASTS_NET_F_POLL_ERR;
            if (ev != 0 && mtasts_net_on_socket(net, pfd[i].fd, ev) < 0)
                return -1;
        }
        if (timer_left() == 0) {
            loop.timer_ms = -1;
            if (mtasts_net_on_timeout(net) < 0)
                return -1;
        }
    }
    return 0;
}

static int
usage(void)
{
    fprintf(stderr, "usage: http_client [--ca FILE] [--connect-to X]... "
                    "[--connect-timeout MS] [--probe-timeout MS] "
                    "[--helo NAME] [--loop]\n"
                    "  fetch URL HOST MAX_SIZE TIMEOUT_MS | probe MX PORT "
                    "| cancel URL HOST\n");
    return 2;
}

int
main(int argc, char **argv)
{
    struct mtasts_net_config cfg;
    const char *ct[16];
    size_t nct = 0;
    int i = 1, use_loop = 0, rc;
    mtasts_net *net = NULL;

    memset(&cfg, 0, sizeof(cfg));
    cfg.version = MTASTS_NET_CONFIG_VERSION;
    for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
        if (strcmp(argv[i], "--loop") == 0)
            use_loop = 1;
        else if (i + 1 >= argc)
            return usage();
        else if (strcmp(argv[i], "--ca") == 0)
            cfg.ca_file = argv[++i];
        else if (strcmp(argv[i], "--connect-to") == 0 && nct < 16)
            ct[nct++] = argv[++i];
        else if (strcmp(argv[i], "--connect-timeout") == 0)
            cfg.connect_timeout_ms = (uint32_t)strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--probe-timeout") == 0)
            cfg.probe_timeout_ms = (uint32_t)strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--helo") == 0)
            cfg.helo_name = argv[++i];
        else
            return usage();
    }
    cfg.connect_to = nct ? ct : NULL;
    cfg.connect_to_count = nct;
    if (i >= argc)
        return usage();
    rc = mtasts_net_new(&cfg, &net);
    if (rc < 0) {
        printf("{\"new\": %d}\n", rc);
        return 1;
    }
    if (use_loop) {
        struct mtasts_net_loop l;

        loop.timer_ms = -1;
        l.version = MTASTS_NET_LOOP_VERSION;
        l.watch = loop_watch;
        l.timer = loop_timer;
        l.user = NULL;
        if (mtasts_net_set_loop(net, &l) < 0)
            return 1;
    }
    if (strcmp(argv[i], "fetch") == 0 && argc - i == 5) {
        rc = mtasts_net_fetch_start(
            net, argv[i + 1], strlen(argv[i + 1]), argv[i + 2],
            strlen(argv[i + 2]), (uint32_t)strtoul(argv[i + 4], NULL, 10),
            (size_t)strtoull(argv[i + 3], NULL, 10), fetch_cb, NULL);
    } else if (strcmp(argv[i], "probe") == 0 && argc - i == 3) {
        rc = mtasts_net_probe_start(net, argv[i + 1], strlen(argv[i + 1]),
                                    (uint16_t)strtoul(argv[i + 2], NULL, 10),
                                    probe_cb, NULL);
    } else if (strcmp(argv[i], "cancel") == 0 && argc - i == 3) {
        rc = mtasts_net_fetch_start(net, argv[i + 1], strlen(argv[i + 1]),
                                    argv[i + 2], strlen(argv[i + 2]), 10000,
                                    65536, fetch_cb, NULL);
        if (rc == 0 && calls != 0)
            rc = -999; /* a callback ran inside the start call */
        mtasts_net_free(net);
        return rc == 0 && calls == 1 ? 0 : 1;
    } else {
        mtasts_net_free(net);
        return usage();
    }
    if (rc < 0) {
        printf("{\"start\": %d}\n", rc);
        mtasts_net_free(net);
        return 1;
    }
    if (calls != 0) {
        printf("{\"error\": \"callback inside the start call\"}\n");
        return 1;
    }
    rc = use_loop ? run_loop(net) : mtasts_net_wait(net, 120000);
    mtasts_net_free(net);
    if (rc < 0)
        printf("{\"wait\": %d}\n", rc);
    return rc == 0 && calls == 1 ? 0 : 1;
}
