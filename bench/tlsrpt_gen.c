/*
 * TLS session results sent through sys4's real libtlsrpt, for the ingest
 * benchmark of mtasts-tlsrptd (bench/daemons.py). It links libtlsrpt,
 * which is not part of the project: daemons.py compiles it at run time
 * with the peer's sources from ../shared/interop/libtlsrpt into a
 * temporary directory; it is not in the meson build.
 *
 *   tlsrpt_gen capture FILE COUNT NDOM
 *       Binds its own AF_UNIX datagram socket (in a temporary directory),
 *       sends COUNT results through libtlsrpt to it, and after each result
 *       reads the one datagram libtlsrpt sent and appends it to FILE as a
 *       4-byte little-endian length and the bytes. FILE is what
 *       bench_dgram blast replays.
 *   tlsrpt_gen send SOCKET COUNT NDOM
 *       Sends COUNT results to a running collector at SOCKET with
 *       libtlsrpt in blocking mode (tlsrpt_set_blocking: a full socket
 *       queue makes it wait, it never drops), and prints one JSON line:
 *       {"sent": N, "seconds": S}.
 *
 * Result i is a pure function of i: domain i % NDOM (d00000.example ...),
 * its policy kind by domain (sts, tlsa, no-policy-found alternate), 9 in
 * 10 successes, the failures spread over every failure code of libtlsrpt,
 * with four sending IPs, the MX name and IP of the domain, and an EHLO
 * reply for some. Every text is ASCII or UTF-8, so that every receiver
 * (tlsrpt-collectd decodes UTF-8 strictly) counts every datagram.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "tlsrpt.h"

static const tlsrpt_failure_t codes[] = {TLSRPT_STARTTLS_NOT_SUPPORTED,
                                         TLSRPT_CERTIFICATE_HOST_MISMATCH,
                                         TLSRPT_CERTIFICATE_NOT_TRUSTED,
                                         TLSRPT_CERTIFICATE_EXPIRED,
                                         TLSRPT_VALIDATION_FAILURE,
                                         TLSRPT_STS_POLICY_FETCH_ERROR,
                                         TLSRPT_STS_POLICY_INVALID,
                                         TLSRPT_STS_WEBPKI_INVALID,
                                         TLSRPT_TLSA_INVALID,
                                         TLSRPT_DNSSEC_INVALID,
                                         TLSRPT_DANE_REQUIRED};
#define NCODE (sizeof(codes) / sizeof(codes[0]))

static uint32_t
mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return (uint32_t)x;
}

/* Result i through libtlsrpt on con. 0 or libtlsrpt's error. */
static int
send_result(struct tlsrpt_connection_t *con, long i, long ndom)
{
    struct tlsrpt_dr_t *dr = NULL;
    long dom = i % ndom;
    uint32_t h = mix((uint64_t)i);
    int kind = (int)(dom % 3), failed = h % 10 == 0, rc;
    char d[32], pr[96], pd[40], mx[40], ps[4][96], s[24], r[24], helo[96];

    snprintf(d, sizeof(d), "d%05ld.example", dom);
    snprintf(pr, sizeof(pr), "v=TLSRPTv1; rua=mailto:tlsrpt@d%05ld.example",
             dom);
    snprintf(mx, sizeof(mx), "mx%d.d%05ld.example", (int)(h >> 8) % 2, dom);
    rc = tlsrpt_init_delivery_request(&dr, con, d, pr);
    if (rc != 0)
        return rc;
    if (kind == 0) {
        snprintf(ps[0], sizeof(ps[0]), "version: STSv1");
        snprintf(ps[1], sizeof(ps[1]), "mode: enforce");
        snprintf(ps[2], sizeof(ps[2]), "mx: *.d%05ld.example", dom);
        snprintf(ps[3], sizeof(ps[3]), "max_age: %ld", 86400 + dom);
        rc = tlsrpt_init_policy(dr, TLSRPT_POLICY_STS, d);
        for (int k = 0; rc == 0 && k < 4; k++)
            rc = tlsrpt_add_policy_string(dr, ps[k]);
        if (rc == 0) {
            snprintf(pd, sizeof(pd), "*.d%05ld.example", dom);
            rc = tlsrpt_add_mx_host_pattern(dr, pd);
        }
    } else if (kind == 1) {
        snprintf(pd, sizeof(pd), "mx0.d%05ld.example", dom);
        snprintf(ps[0], sizeof(ps[0]), "3 1 1 %08lx%056x", dom, 0);
        rc = tlsrpt_init_policy(dr, TLSRPT_POLICY_TLSA, pd);
        if (rc == 0)
            rc = tlsrpt_add_policy_string(dr, ps[0]);
    } else {
        rc = tlsrpt_init_policy(dr, TLSRPT_NO_POLICY_FOUND, NULL);
    }
    if (rc == 0 && failed) {
        snprintf(s, sizeof(s), "192.0.2.%u", 1 + (h >> 12) % 4);
        snprintf(r, sizeof(r), "198.51.100.%ld", 1 + dom % 250);
        snprintf(helo, sizeof(helo), "%s ESMTP b\xc3\xaata", mx);
        rc = tlsrpt_add_delivery_request_failure(
            dr, codes[(h >> 16) % NCODE], s, mx, (h >> 20) % 2 ? helo : NULL, r,
            NULL,
            (h >> 16) % NCODE == 2 ? "X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT"
                                   : NULL);
    }
    if (rc == 0)
        rc = tlsrpt_finish_policy(dr, failed ? TLSRPT_FINAL_FAILURE
                                             : TLSRPT_FINAL_SUCCESS);
    if (rc != 0) {
        tlsrpt_cancel_delivery_request(&dr);
        return rc;
    }
    return tlsrpt_finish_delivery_request(&dr);
}

static int
fail_rc(const char *what, long i, int rc)
{
    fprintf(stderr, "tlsrpt_gen: %s (result %ld): %s (errno %d)\n", what, i,
            tlsrpt_strerror(rc), tlsrpt_errno_from_error_code(rc));
    return 1;
}

static int
capture(const char *file, long count, long ndom)
{
    char dir[] = "/tmp/tlsrpt-gen-XXXXXX", path[108];
    struct sockaddr_un sa;
    struct tlsrpt_connection_t *con = NULL;
    static unsigned char buf[1 << 20];
    FILE *out;
    int fd, rc = 1, e;
    long i;

    if (mkdtemp(dir) == NULL) {
        perror("tlsrpt_gen: mkdtemp");
        return 1;
    }
    snprintf(path, sizeof(path), "%s/capture.sock", dir);
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, path, strlen(path) + 1);
    fd = socket(AF_UNIX, SOCK_DGRAM, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        perror("tlsrpt_gen: socket");
        if (fd >= 0)
            close(fd);
        rmdir(dir);
        return 1;
    }
    out = fopen(file, "wb");
    if (out == NULL) {
        perror(file);
        goto done;
    }
    e = tlsrpt_open(&con, path);
    if (e != 0) {
        fail_rc("tlsrpt_open", 0, e);
        goto done;
    }
    for (i = 0; i < count; i++) {
        ssize_t n;
        unsigned char len[4];

        e = send_result(con, i, ndom);
        if (e != 0) {
            fail_rc("send", i, e);
            goto done;
        }
        /* exactly one datagram per result */
        n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (n <= 0 || recv(fd, buf + n, 1, MSG_DONTWAIT) >= 0) {
            fprintf(stderr, "tlsrpt_gen: result %ld: not one datagram\n", i);
            goto done;
        }
        len[0] = (unsigned char)(n & 0xff);
        len[1] = (unsigned char)((n >> 8) & 0xff);
        len[2] = (unsigned char)((n >> 16) & 0xff);
        len[3] = (unsigned char)((n >> 24) & 0xff);
        if (fwrite(len, 1, 4, out) != 4 ||
            fwrite(buf, 1, (size_t)n, out) != (size_t)n) {
            perror(file);
            goto done;
        }
    }
    rc = 0;
done:
    if (con != NULL)
        tlsrpt_close(&con);
    if (out != NULL && fclose(out) != 0) {
        perror(file);
        rc = 1;
    }
    close(fd);
    unlink(path);
    rmdir(dir);
    return rc;
}

static int
send_live(const char *sock, long count, long ndom)
{
    struct tlsrpt_connection_t *con = NULL;
    struct timespec t0, t1;
    long i;
    int rc;

    tlsrpt_set_blocking();
    rc = tlsrpt_open(&con, sock);
    if (rc != 0)
        return fail_rc("tlsrpt_open", 0, rc);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (i = 0; i < count; i++) {
        rc = send_result(con, i, ndom);
        if (rc != 0) {
            tlsrpt_close(&con);
            return fail_rc("send", i, rc);
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    tlsrpt_close(&con);
    printf("{\"sent\": %ld, \"seconds\": %.6f}\n", count,
           (double)(t1.tv_sec - t0.tv_sec) +
               (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
    return 0;
}

int
main(int argc, char **argv)
{
    long count, ndom;

    if (argc != 5 ||
        (strcmp(argv[1], "capture") != 0 && strcmp(argv[1], "send") != 0)) {
        fprintf(stderr, "usage: tlsrpt_gen capture FILE COUNT NDOM\n"
                        "       tlsrpt_gen send SOCKET COUNT NDOM\n");
        return 2;
    }
    count = strtol(argv[3], NULL, 10);
    ndom = strtol(argv[4], NULL, 10);
    if (count <= 0 || ndom <= 0 || ndom > 99999) {
        fprintf(stderr, "tlsrpt_gen: COUNT >= 1, 1 <= NDOM <= 99999\n");
        return 2;
    }
    if (strcmp(argv[1], "capture") == 0)
        return capture(argv[2], count, ndom);
    return send_live(argv[2], count, ndom);
}
