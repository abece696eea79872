/*
 * The floor of the socketmap benchmark (bench/daemons.py): a minimal
 * epoll netstring server on 127.0.0.1:PORT that answers every request
 * ("N:name key,") with one constant netstring, and does nothing else. A
 * policy daemon's cached answer is compared with this.
 *
 *   bench_epoll_netstring PORT [ANSWER]
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define IN_MAX  2048
#define OUT_MAX 65536

struct conn {
    int fd, want_out;
    size_t in_len, out_len, out_off;
    char in[IN_MAX], out[OUT_MAX];
};

static char answer[512];
static size_t answer_len;

/* Answer each whole netstring of c->in: 0 when all are answered, 1 when
 * the output is full, -1 on bad framing. */
static int
parse(struct conn *c)
{
    size_t off = 0;
    int rc = 0;

    for (;;) {
        size_t i = off, len = 0;

        while (i < c->in_len && c->in[i] >= '0' && c->in[i] <= '9' &&
               len < IN_MAX)
            len = len * 10 + (size_t)(c->in[i++] - '0');
        if (i == c->in_len)
            break; /* incomplete */
        if (i == off || c->in[i] != ':' || len > IN_MAX)
            return -1;
        if (c->in_len - i - 1 < len + 1)
            break;
        if (c->in[i + 1 + len] != ',')
            return -1;
        if (c->out_len + answer_len > OUT_MAX) {
            rc = 1;
            break;
        }
        memcpy(c->out + c->out_len, answer, answer_len);
        c->out_len += answer_len;
        off = i + 2 + len;
    }
    memmove(c->in, c->in + off, c->in_len - off);
    c->in_len -= off;
    return rc == 0 && c->in_len == IN_MAX ? -1 : rc;
}

/* Read what came, answer, write; wait for EPOLLOUT while output remains.
 * -1: close the connection. */
static int
serve(int ep, struct conn *c, unsigned events)
{
    struct epoll_event ev;
    int rc;

    if (events & EPOLLIN) {
        ssize_t r = read(c->fd, c->in + c->in_len, IN_MAX - c->in_len);
        if (r == 0 || (r < 0 && errno != EAGAIN))
            return -1;
        if (r > 0)
            c->in_len += (size_t)r;
    }
    do {
        rc = parse(c);
        if (rc < 0)
            return -1;
        while (c->out_off < c->out_len) {
            ssize_t n =
                write(c->fd, c->out + c->out_off, c->out_len - c->out_off);
            if (n < 0 && errno == EAGAIN)
                break;
            if (n < 0)
                return -1;
            c->out_off += (size_t)n;
        }
        if (c->out_off == c->out_len)
            c->out_off = c->out_len = 0;
    } while (rc == 1 && c->out_len == 0);
    if ((c->out_len != 0) != c->want_out) {
        c->want_out = c->out_len != 0;
        ev.events = c->want_out ? EPOLLOUT : EPOLLIN;
        ev.data.ptr = c;
        epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
    }
    return 0;
}

int
main(int argc, char **argv)
{
    struct sockaddr_in sa;
    struct epoll_event ev, evs[64];
    const char *text = argc > 2 ? argv[2] : "OK secure";
    int lfd, ep, one = 1, i, n;

    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: bench_epoll_netstring PORT [ANSWER]\n");
        return 2;
    }
    answer_len =
        (size_t)snprintf(answer, sizeof(answer), "%zu:%s,", strlen(text), text);
    if (answer_len >= sizeof(answer))
        return 2;
    signal(SIGPIPE, SIG_IGN);
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((unsigned short)atoi(argv[1]));
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
        listen(lfd, 128) != 0 || (ep = epoll_create1(0)) < 0) {
        perror("bench_epoll_netstring");
        return 1;
    }
    ev.events = EPOLLIN;
    ev.data.ptr = NULL;
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
    for (;;) {
        n = epoll_wait(ep, evs, 64, -1);
        for (i = 0; i < n; i++) {
            struct conn *c = evs[i].data.ptr;

            if (c == NULL) {
                int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK);
                if (fd < 0 || (c = calloc(1, sizeof(*c))) == NULL) {
                    if (fd >= 0)
                        close(fd);
                    continue;
                }
                c->fd = fd;
                ev.events = EPOLLIN;
                ev.data.ptr = c;
                epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
                continue;
            }
            if (serve(ep, c, evs[i].events) != 0) {
                close(c->fd); /* closed, error, bad framing */
                free(c);
            }
        }
    }
}
