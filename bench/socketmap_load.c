/*
 * The load generator of the socketmap benchmark (bench/daemons.py): the
 * same client for every server measured (mtasts-policyd,
 * postfix-mta-sts-resolver, bench_epoll_netstring).
 *
 *   bench_socketmap_load PORT KEYFILE [--conns N] [--depth D]
 *       [--seconds S] [--warmup S] [--name NAME] [--expect PREFIX] [--once]
 *
 * Opens N connections (default 8) to 127.0.0.1:PORT and keeps D requests
 * (default 1) outstanding on each: a request is the socketmap netstring
 * "NAME KEY" (NAME default postfix), the keys are the lines of KEYFILE,
 * each connection going through them from its own starting point. An
 * answer whose payload does not start with PREFIX (when given) is
 * counted as bad, and the first one is printed.
 *
 * Timed (default): answers are counted during S seconds (default 3)
 * after a warm-up of --warmup seconds (default 0.5); prints one JSON
 * line {"requests", "seconds", "rps", "bad", ...}.
 *
 * --once: each key is asked exactly once, then it stops; prints the
 * answers by their first word, and the latency of each request (send to
 * answer) as median, p90 and max in ms: with --conns 1 --depth 1 the
 * latency of each request alone (the cold-miss case), with more the time
 * to warm a cache.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench_util.h"

#define MAX_CONNS 256
#define MAX_DEPTH 64
#define IN_MAX    (1 << 17)

struct conn {
    int fd;
    size_t next;        /* next key index (timed mode) */
    size_t outstanding; /* requests sent, not yet answered */
    double sent_at[MAX_DEPTH];
    size_t head, tail; /* the ring of send times */
    size_t in_len;
    char in[IN_MAX];
};

static char **keys;
static char **reqs; /* "LEN:NAME KEY," per key */
static size_t *req_len, nkeys;
static const char *expect;
static unsigned long long answered, counted, bad, firstword[4];
static char bad_example[256], example[256];
static double *lat;
static size_t nlat, once_next;
static int once_mode, counting;

static int
load_keys(const char *file, const char *name)
{
    FILE *f = fopen(file, "r");
    char line[512];
    size_t cap = 0;

    if (f == NULL) {
        perror(file);
        return -1;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        size_t n = strcspn(line, "\r\n"), plen;
        char *r;

        if (n == 0)
            continue;
        line[n] = '\0';
        if (nkeys == cap) {
            cap = cap ? cap * 2 : 1024;
            keys = realloc(keys, cap * sizeof(*keys));
            reqs = realloc(reqs, cap * sizeof(*reqs));
            req_len = realloc(req_len, cap * sizeof(*req_len));
            if (keys == NULL || reqs == NULL || req_len == NULL)
                goto oom;
        }
        plen = strlen(name) + 1 + n;
        r = malloc(plen + 32);
        keys[nkeys] = strdup(line);
        if (r == NULL || keys[nkeys] == NULL)
            goto oom;
        req_len[nkeys] =
            (size_t)snprintf(r, plen + 32, "%zu:%s %s,", plen, name, line);
        reqs[nkeys++] = r;
    }
    fclose(f);
    if (nkeys == 0) {
        fprintf(stderr, "bench_socketmap_load: %s has no key\n", file);
        return -1;
    }
    return 0;
oom:
    fclose(f);
    fprintf(stderr, "bench_socketmap_load: out of memory\n");
    return -1;
}

static int
send_req(struct conn *c)
{
    size_t k, off = 0;

    if (once_mode) {
        if (once_next == nkeys)
            return 0;
        k = once_next++;
    } else {
        k = c->next;
        c->next = (c->next + 1) % nkeys;
    }
    /* before the write: on loopback the answer may be there when it returns */
    c->sent_at[c->tail] = bench_now_ns();
    while (off < req_len[k]) {
        ssize_t n = write(c->fd, reqs[k] + off, req_len[k] - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            perror("bench_socketmap_load: write");
            return -1;
        }
        off += (size_t)n;
    }
    c->tail = (c->tail + 1) % MAX_DEPTH;
    c->outstanding++;
    return 0;
}

static void
copy_text(char *dst, size_t cap, const char *p, size_t n)
{
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, p, n);
    dst[n] = '\0';
}

/* One answer's payload. */
static void
got(struct conn *c, const char *p, size_t n, double now)
{
    static const char *const words[] = {"OK ", "NOTFOUND", "TEMP", "PERM"};
    size_t w;

    answered++;
    if (example[0] == '\0')
        copy_text(example, sizeof(example), p, n);
    if (once_mode) {
        lat[nlat++] = (now - c->sent_at[c->head]) / 1e6;
        for (w = 0; w < 4; w++)
            if (n >= strlen(words[w]) &&
                memcmp(p, words[w], strlen(words[w])) == 0)
                firstword[w]++;
    }
    c->head = (c->head + 1) % MAX_DEPTH;
    c->outstanding--;
    if (!once_mode && !counting)
        return;
    counted++;
    if (expect != NULL &&
        (n < strlen(expect) || memcmp(p, expect, strlen(expect)) != 0)) {
        if (bad++ == 0)
            copy_text(bad_example, sizeof(bad_example), p, n);
    }
}

/* Read and take every whole answer; -1 on error or bad framing. */
static int
on_read(struct conn *c, double now, size_t *ret_done)
{
    ssize_t r = read(c->fd, c->in + c->in_len, IN_MAX - c->in_len);
    size_t off = 0;

    *ret_done = 0;
    if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
        fprintf(stderr, "bench_socketmap_load: connection closed (%s)\n",
                r == 0 ? "by the server" : strerror(errno));
        return -1;
    }
    if (r < 0)
        return 0;
    c->in_len += (size_t)r;
    for (;;) {
        size_t i = off, len = 0;

        while (i < c->in_len && c->in[i] >= '0' && c->in[i] <= '9' &&
               len < IN_MAX)
            len = len * 10 + (size_t)(c->in[i++] - '0');
        if (i == c->in_len)
            break;
        if (i == off || c->in[i] != ':' || len >= IN_MAX)
            goto framing;
        if (c->in_len - i - 1 < len + 1)
            break;
        if (c->in[i + 1 + len] != ',')
            goto framing;
        if (c->outstanding == 0)
            goto framing;
        got(c, c->in + i + 1, len, now);
        (*ret_done)++;
        off = i + 2 + len;
    }
    memmove(c->in, c->in + off, c->in_len - off);
    c->in_len -= off;
    return 0;
framing:
    fprintf(stderr, "bench_socketmap_load: bad answer framing\n");
    return -1;
}

static const char *
arg(int argc, char **argv, int *i)
{
    if (*i + 1 >= argc) {
        fprintf(stderr, "bench_socketmap_load: %s needs a value\n", argv[*i]);
        exit(2);
    }
    return argv[++*i];
}

int
main(int argc, char **argv)
{
    static struct conn conns[MAX_CONNS];
    struct epoll_event ev, evs[MAX_CONNS];
    struct sockaddr_in sa;
    size_t nconn = 8, depth = 1, c, d;
    double seconds = 3, warmup = 0.5, t0, t_start = 0, t_end = 0, now;
    const char *name = "postfix", *port = NULL, *file = NULL;
    int ep, i;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--conns") == 0) {
            if (bench_parse_size(arg(argc, argv, &i), &nconn) != 0 ||
                nconn > MAX_CONNS)
                return 2;
        } else if (strcmp(argv[i], "--depth") == 0) {
            if (bench_parse_size(arg(argc, argv, &i), &depth) != 0 ||
                depth > MAX_DEPTH)
                return 2;
        } else if (strcmp(argv[i], "--seconds") == 0) {
            seconds = atof(arg(argc, argv, &i));
        } else if (strcmp(argv[i], "--warmup") == 0) {
            warmup = atof(arg(argc, argv, &i));
        } else if (strcmp(argv[i], "--name") == 0) {
            name = arg(argc, argv, &i);
        } else if (strcmp(argv[i], "--expect") == 0) {
            expect = arg(argc, argv, &i);
        } else if (strcmp(argv[i], "--once") == 0) {
            once_mode = 1;
        } else if (port == NULL) {
            port = argv[i];
        } else if (file == NULL) {
            file = argv[i];
        } else {
            port = NULL;
            break;
        }
    }
    if (port == NULL || file == NULL || seconds <= 0 || warmup < 0) {
        fprintf(stderr, "usage: bench_socketmap_load PORT KEYFILE [--conns N] "
                        "[--depth D] [--seconds S] [--warmup S] [--name NAME] "
                        "[--expect PREFIX] [--once]\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    if (load_keys(file, name) != 0)
        return 1;
    if (once_mode && (lat = malloc(nkeys * sizeof(*lat))) == NULL)
        return 1;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((unsigned short)atoi(port));
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ep = epoll_create1(0);
    if (ep < 0)
        return 1;
    for (c = 0; c < nconn; c++) {
        int one = 1;

        conns[c].fd = socket(AF_INET, SOCK_STREAM, 0);
        if (conns[c].fd < 0 ||
            connect(conns[c].fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
            fprintf(stderr, "bench_socketmap_load: connect 127.0.0.1:%s: %s\n",
                    port, strerror(errno));
            return 1;
        }
        setsockopt(conns[c].fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        conns[c].next = c * nkeys / nconn;
        ev.events = EPOLLIN;
        ev.data.ptr = &conns[c];
        epoll_ctl(ep, EPOLL_CTL_ADD, conns[c].fd, &ev);
    }
    t0 = bench_now_ns();
    if (!once_mode) {
        t_start = t0 + warmup * 1e9;
        t_end = t_start + seconds * 1e9;
        counting = warmup == 0;
    }
    for (c = 0; c < nconn; c++)
        for (d = 0; d < depth; d++)
            if (send_req(&conns[c]) != 0)
                return 1;
    for (;;) {
        int n = epoll_wait(ep, evs, MAX_CONNS, 100);

        now = bench_now_ns();
        if (!once_mode && !counting && now >= t_start) {
            counting = 1;
            t_start = now;
        }
        if (!once_mode && now >= t_end)
            break;
        for (i = 0; i < n; i++) {
            struct conn *cn = evs[i].data.ptr;
            size_t done;

            if (on_read(cn, now, &done) != 0)
                return 1;
            while (done-- > 0)
                if (send_req(cn) != 0)
                    return 1;
        }
        if (once_mode) {
            size_t out = 0;

            for (c = 0; c < nconn; c++)
                out += conns[c].outstanding;
            if (out == 0 && once_next == nkeys)
                break;
        }
    }
    now = bench_now_ns();
    for (c = 0; c < nconn; c++)
        close(conns[c].fd);
    if (once_mode && nlat == 0) {
        fprintf(stderr, "bench_socketmap_load: no answer\n");
        return 1;
    }
    if (once_mode) {
        double med = bench_sort_median(lat, nlat);
        printf("{\"requests\": %llu, \"seconds\": %.6f, \"ok\": %llu, "
               "\"notfound\": %llu, \"temp\": %llu, \"perm\": %llu, "
               "\"bad\": %llu, \"median_ms\": %.3f, \"p90_ms\": %.3f, "
               "\"max_ms\": %.3f",
               answered, (now - t0) / 1e9, firstword[0], firstword[1],
               firstword[2], firstword[3], bad, med,
               lat[(size_t)((double)(nlat - 1) * 0.9)], lat[nlat - 1]);
    } else {
        double secs = (t_end - t_start) / 1e9;
        printf("{\"requests\": %llu, \"seconds\": %.6f, \"rps\": %.1f, "
               "\"bad\": %llu, \"answered_total\": %llu",
               counted, secs, (double)counted / secs, bad, answered);
    }
    printf(", \"conns\": %zu, \"depth\": %zu, \"keys\": %zu, \"example\": \"",
           nconn, depth, nkeys);
    for (i = 0; example[i] != '\0'; i++)
        if (example[i] != '"' && example[i] != '\\' &&
            (unsigned char)example[i] >= 0x20)
            putchar(example[i]);
    printf("\", \"bad_example\": \"");
    for (i = 0; bad_example[i] != '\0'; i++)
        if (bad_example[i] != '"' && bad_example[i] != '\\' &&
            (unsigned char)bad_example[i] >= 0x20)
            putchar(bad_example[i]);
    printf("\"}\n");
    return 0;
}
