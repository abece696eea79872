/*
 * The two ends of the TLSRPT ingest benchmark (bench/daemons.py), libc
 * only:
 *
 *   bench_dgram sink SOCKET
 *       A receive-only AF_UNIX datagram socket at SOCKET: recvmmsg() in a
 *       loop, counting datagrams and bytes, nothing else (the upper bound
 *       a collector can reach on this socket setup). No socket option is
 *       set, as mtasts-tlsrptd and tlsrpt-collectd set none. On SIGTERM
 *       or SIGINT it reads what is still queued, prints one JSON line
 *       {"datagrams": N, "bytes": B} and exits.
 *
 *   bench_dgram blast SOCKET FILE COUNT [--nonblock]
 *       Replays the datagrams of FILE (4-byte little-endian length, then
 *       the bytes, as tlsrpt_gen capture writes them) to SOCKET, cycling
 *       through them, COUNT sendto() calls in all, and nothing else per
 *       datagram. Blocking (default): a full receive queue makes sendto()
 *       wait, so nothing is lost. --nonblock: MSG_DONTWAIT, and a send
 *       refused with EAGAIN is counted as dropped (what libtlsrpt's
 *       default non-blocking mode does with a result). After the last
 *       send it waits until the receiver has taken every datagram out of
 *       its queue (SIOCOUTQ of the sending socket, the bytes the receiver
 *       still holds, falls to 0) and prints one JSON line: attempts, sent,
 *       dropped, send_s (first to last sendto), drain_s (first sendto to
 *       an empty queue), rate (sent / drain_s).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <linux/sockios.h>

#include "bench_util.h"

#define VLEN    64
#define SLOT    65536
#define MAX_OUT 50.0 /* seconds to wait for the receiver to drain */

static volatile sig_atomic_t stop;

static void
on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static int
address(const char *path, struct sockaddr_un *sa)
{
    size_t n = strlen(path);

    if (n >= sizeof(sa->sun_path)) {
        fprintf(stderr, "bench_dgram: socket path too long: %s\n", path);
        return -1;
    }
    memset(sa, 0, sizeof(*sa));
    sa->sun_family = AF_UNIX;
    memcpy(sa->sun_path, path, n + 1);
    return 0;
}

static int
sink(const char *path)
{
    static unsigned char bufs[VLEN][SLOT];
    struct mmsghdr msgs[VLEN];
    struct iovec iov[VLEN];
    struct sockaddr_un sa;
    struct sigaction act;
    struct timeval tv = {0, 100000};
    unsigned long long count = 0, bytes = 0;
    int fd, i, flags = MSG_WAITFORONE;

    if (address(path, &sa) != 0)
        return 1;
    memset(&act, 0, sizeof(act));
    act.sa_handler = on_signal; /* no SA_RESTART: recvmmsg returns EINTR */
    sigaction(SIGTERM, &act, NULL);
    sigaction(SIGINT, &act, NULL);
    fd = socket(AF_UNIX, SOCK_DGRAM, 0);
    if (fd < 0) {
        perror("bench_dgram: socket");
        return 1;
    }
    unlink(path);
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        perror("bench_dgram: bind");
        close(fd);
        return 1;
    }
    /* the wait is bounded so that a signal between two calls is seen */
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    for (i = 0; i < VLEN; i++) {
        iov[i].iov_base = bufs[i];
        iov[i].iov_len = SLOT;
        memset(&msgs[i], 0, sizeof(msgs[i]));
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
    }
    for (;;) {
        int n;

        if (stop)
            flags = MSG_DONTWAIT; /* drain what is queued, then stop */
        n = recvmmsg(fd, msgs, VLEN, flags, NULL);
        if (n < 0) {
            if (errno == EINTR || (errno == EAGAIN && !stop))
                continue;
            if (errno == EAGAIN)
                break;
            perror("bench_dgram: recvmmsg");
            close(fd);
            unlink(path);
            return 1;
        }
        count += (unsigned long long)n;
        for (i = 0; i < n; i++)
            bytes += msgs[i].msg_len;
    }
    close(fd);
    unlink(path);
    printf("{\"datagrams\": %llu, \"bytes\": %llu}\n", count, bytes);
    return 0;
}

struct dgram {
    const unsigned char *p;
    size_t n;
};

/* The datagrams of file, in one allocation (*ret_buf, freed by caller). */
static struct dgram *
load(const char *file, size_t *ret_n, unsigned char **ret_buf)
{
    FILE *f = fopen(file, "rb");
    struct stat st;
    unsigned char *buf = NULL;
    struct dgram *v = NULL;
    size_t size, off = 0, n = 0, cap = 0;

    if (f == NULL || fstat(fileno(f), &st) != 0 || st.st_size <= 0) {
        perror(file);
        if (f != NULL)
            fclose(f);
        return NULL;
    }
    size = (size_t)st.st_size;
    buf = malloc(size);
    if (buf == NULL || fread(buf, 1, size, f) != size) {
        fprintf(stderr, "bench_dgram: cannot read %s\n", file);
        goto fail;
    }
    fclose(f);
    f = NULL;
    while (off < size) {
        size_t len;

        if (size - off < 4)
            goto bad;
        len = (size_t)buf[off] | (size_t)buf[off + 1] << 8 |
              (size_t)buf[off + 2] << 16 | (size_t)buf[off + 3] << 24;
        off += 4;
        if (len == 0 || len > size - off || len > SLOT)
            goto bad;
        if (n == cap) {
            struct dgram *nv;

            cap = cap ? cap * 2 : 1024;
            nv = realloc(v, cap * sizeof(*v));
            if (nv == NULL)
                goto fail;
            v = nv;
        }
        v[n].p = buf + off;
        v[n].n = len;
        n++;
        off += len;
    }
    *ret_n = n;
    *ret_buf = buf;
    return v;
bad:
    fprintf(stderr, "bench_dgram: %s: bad record at byte %zu\n", file, off);
fail:
    if (f != NULL)
        fclose(f);
    free(buf);
    free(v);
    return NULL;
}

static int
blast(const char *path, const char *file, size_t count, int nonblock)
{
    struct sockaddr_un sa;
    unsigned char *buf = NULL;
    size_t nd = 0, i, k = 0;
    unsigned long long sent = 0, dropped = 0;
    struct dgram *v;
    double t0, t1, t2;
    int fd, flags = nonblock ? MSG_DONTWAIT : 0, outq = 0;

    if (address(path, &sa) != 0)
        return 1;
    v = load(file, &nd, &buf);
    if (v == NULL)
        return 1;
    if (nd == 0) {
        fprintf(stderr, "bench_dgram: %s holds no datagram\n", file);
        free(buf);
        free(v);
        return 1;
    }
    fd = socket(AF_UNIX, SOCK_DGRAM, 0);
    if (fd < 0) {
        perror("bench_dgram: socket");
        free(buf);
        free(v);
        return 1;
    }
    t0 = bench_now_ns();
    for (i = 0; i < count;) {
        ssize_t r = sendto(fd, v[k].p, v[k].n, flags,
                           (const struct sockaddr *)&sa, sizeof(sa));

        if (r < 0 && errno == EINTR)
            continue;
        i++;
        if (r < 0) {
            if (errno == EAGAIN && nonblock) {
                dropped++;
            } else {
                fprintf(stderr, "bench_dgram: sendto %s: %s\n", path,
                        strerror(errno));
                close(fd);
                free(buf);
                free(v);
                return 1;
            }
        } else {
            sent++;
        }
        if (++k == nd)
            k = 0;
    }
    t1 = bench_now_ns();
    /* the bytes the receiver has not taken out of its queue yet */
    for (;;) {
        if (ioctl(fd, SIOCOUTQ, &outq) != 0) {
            perror("bench_dgram: SIOCOUTQ");
            break;
        }
        if (outq == 0 || (bench_now_ns() - t1) / 1e9 > MAX_OUT)
            break;
        {
            struct timespec ts = {0, 100000};
            nanosleep(&ts, NULL);
        }
    }
    t2 = bench_now_ns();
    close(fd);
    free(buf);
    free(v);
    printf("{\"attempts\": %zu, \"sent\": %llu, \"dropped\": %llu, "
           "\"send_s\": %.6f, \"drain_s\": %.6f, \"rate\": %.1f, "
           "\"undrained_bytes\": %d}\n",
           count, sent, dropped, (t1 - t0) / 1e9, (t2 - t0) / 1e9,
           (double)sent / ((t2 - t0) / 1e9), outq);
    return outq == 0 ? 0 : 1;
}

int
main(int argc, char **argv)
{
    size_t count;

    if (argc == 3 && strcmp(argv[1], "sink") == 0)
        return sink(argv[2]);
    if ((argc == 5 || (argc == 6 && strcmp(argv[5], "--nonblock") == 0)) &&
        strcmp(argv[1], "blast") == 0) {
        if (bench_parse_size(argv[4], &count) != 0) {
            fprintf(stderr, "bench_dgram: COUNT must be >= 1\n");
            return 2;
        }
        return blast(argv[2], argv[3], count, argc == 6);
    }
    fprintf(stderr, "usage: bench_dgram sink SOCKET\n"
                    "       bench_dgram blast SOCKET FILE COUNT "
                    "[--nonblock]\n");
    return 2;
}
