/*
 * A sender of TLS session results through sys4's libtlsrpt (its real
 * API, as Postfix calls it), for the interop test of mtasts-tlsrptd
 * (tlsrptd_interop.py builds it with the peer's sources; it is not part
 * of the build).
 *
 *   tlsrpt_sender SOCKET COUNT EXPECT_FILE
 *
 * Sends COUNT results over NDOM (200) domains: sts, tlsa and no-policy-found
 * policies (no-policy-found without a policy domain, as Postfix sends
 * it), successes and every failure code (and two codes libtlsrpt does
 * not define), EHLO replies with raw Latin-1 bytes, UTF-8 and several
 * lines. Result i is a pure function of i. Sends block (so that a full
 * socket queue makes the sender wait instead of dropping results).
 * EXPECT_FILE gets one JSON line per distinct result sent, with every
 * value sent (bytes as hex) and how many times: the test's expectation
 * is made from what was sent, not from a copy of this program's rules.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tlsrpt.h"

#define NDOM 200
static const int codes[] = {201, 202, 203, 204, 205, 301, 302,
                            303, 304, 305, 306, 999, 0};
#define NCODE ((int)(sizeof(codes) / sizeof(codes[0])))
#define NSEL  (NCODE + 4) /* 4 ways of success, then one per code */

/* The fields of result (dom, sel). */
struct res {
    char d[64], pr[96], pdom[64];
    int kind; /* 0 sts, 1 tlsa, 2 none */
    const char *ps[4];
    int nps;
    char psbuf[4][160];
    char mx[64];
    int failed, code;
    char s[32], n[64], h[160], r[32];
    const char *reason;
};

static void
make(int dom, int sel, struct res *x)
{
    int k;

    memset(x, 0, sizeof(*x));
    /* some domains as an MTA may write them: upper case, a final dot */
    if (dom % 50 == 7)
        snprintf(x->d, sizeof(x->d), "D%03d.EXAMPLE.", dom);
    else
        snprintf(x->d, sizeof(x->d), "d%03d.example", dom);
    snprintf(x->pr, sizeof(x->pr),
             "v=TLSRPTv1; rua=mailto:tlsrpt@d%03d.example", dom);
    snprintf(x->mx, sizeof(x->mx), "mx.d%03d.example", dom);
    x->kind = dom % 3;
    if (x->kind == 0) {
        snprintf(x->pdom, sizeof(x->pdom), "d%03d.example", dom);
        snprintf(x->psbuf[0], 160, "version: STSv1");
        snprintf(x->psbuf[1], 160, "mode: %s", dom % 2 ? "testing" : "enforce");
        snprintf(x->psbuf[2], 160, "mx: mx.d%03d.example", dom);
        snprintf(x->psbuf[3], 160, "max_age: %d", 86400 + dom);
        x->nps = 4;
    } else if (x->kind == 1) {
        /* the TLSA base domain: the MX host */
        snprintf(x->pdom, sizeof(x->pdom), "mx.d%03d.example", dom);
        snprintf(x->psbuf[0], 160, "3 1 1 %064x", (unsigned)dom * 2654435761u);
        x->nps = 1;
        if (dom % 2) {
            snprintf(x->psbuf[1], 160, "2 0 1 %016xab", (unsigned)dom);
            x->nps = 2;
        }
    }
    for (k = 0; k < x->nps; k++)
        x->ps[k] = x->psbuf[k];
    if (sel < 4)
        return;
    x->failed = 1;
    x->code = codes[sel - 4];
    snprintf(x->s, sizeof(x->s), "192.0.2.%d", dom % 250 + 1);
    snprintf(x->r, sizeof(x->r), "198.51.100.%d", dom % 250 + 1);
    snprintf(x->n, sizeof(x->n), "mx.d%03d.example", dom);
    switch (dom % 10) {
    case 0: /* a raw Latin-1 byte: not UTF-8 */
        snprintf(x->h, sizeof(x->h), "mx.d%03d.example ESMTP b\xe9ta", dom);
        break;
    case 1: /* UTF-8 */
        snprintf(x->h, sizeof(x->h), "mx.d%03d.example ESMTP b\xc3\xaata", dom);
        break;
    case 2: /* the whole multi-line reply, as Postfix sends it */
        snprintf(x->h, sizeof(x->h),
                 "mx.d%03d.example\r\n250-PIPELINING\r\n250 8BITMIME", dom);
        break;
    default:
        snprintf(x->h, sizeof(x->h), "mx.d%03d.example", dom);
        break;
    }
    if (x->code == 203)
        x->reason = "X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY";
    else if (x->code == 205)
        x->reason = "handshake failure";
    else if (x->code == 999)
        x->reason = "a code from the future";
}

static int
send_one(struct tlsrpt_connection_t *con, const struct res *x)
{
    static const tlsrpt_policy_type_t types[] = {
        TLSRPT_POLICY_STS, TLSRPT_POLICY_TLSA, TLSRPT_NO_POLICY_FOUND};
    struct tlsrpt_dr_t *dr = NULL;
    int rc, k;

    rc = tlsrpt_init_delivery_request(&dr, con, x->d, x->pr);
    if (rc != 0)
        return rc;
    rc = tlsrpt_init_policy(dr, types[x->kind], x->kind == 2 ? NULL : x->pdom);
    for (k = 0; rc == 0 && k < x->nps; k++)
        rc = tlsrpt_add_policy_string(dr, x->ps[k]);
    if (rc == 0 && x->kind == 0)
        rc = tlsrpt_add_mx_host_pattern(dr, x->mx);
    if (rc == 0 && x->failed)
        rc = tlsrpt_add_delivery_request_failure(dr, (tlsrpt_failure_t)x->code,
                                                 x->s, x->n, x->h, x->r, NULL,
                                                 x->reason);
    if (rc == 0)
        rc = tlsrpt_finish_policy(dr, x->failed ? TLSRPT_FINAL_FAILURE
                                                : TLSRPT_FINAL_SUCCESS);
    if (rc != 0) {
        tlsrpt_cancel_delivery_request(&dr);
        return rc;
    }
    return tlsrpt_finish_delivery_request(&dr);
}

static void
hex(FILE *f, const char *key, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;

    fprintf(f, ",\"%s\":\"", key);
    for (; *p != '\0'; p++)
        fprintf(f, "%02x", *p);
    fputc('"', f);
}

int
main(int argc, char **argv)
{
    static unsigned long counts[NDOM][NSEL];
    struct tlsrpt_connection_t *con = NULL;
    struct res x;
    long count, i;
    int rc, dom, sel, k;
    FILE *f;

    if (argc != 4) {
        fprintf(stderr, "usage: tlsrpt_sender SOCKET COUNT EXPECT_FILE\n");
        return 2;
    }
    count = strtol(argv[2], NULL, 10);
    tlsrpt_set_blocking();
    rc = tlsrpt_open(&con, argv[1]);
    if (rc != 0) {
        fprintf(stderr, "tlsrpt_open: %s\n", tlsrpt_strerror(rc));
        return 1;
    }
    for (i = 0; i < count; i++) {
        dom = (int)(i % NDOM);
        sel = (int)((i / NDOM * 7 + dom) % NSEL);
        make(dom, sel, &x);
        rc = send_one(con, &x);
        if (rc != 0) {
            fprintf(stderr, "result %ld: %s (errno part %d)\n", i,
                    tlsrpt_strerror(rc), tlsrpt_errno_from_error_code(rc));
            tlsrpt_close(&con);
            return 1;
        }
        counts[dom][sel]++;
    }
    tlsrpt_close(&con);
    f = fopen(argv[3], "w");
    if (f == NULL)
        return 1;
    for (dom = 0; dom < NDOM; dom++)
        for (sel = 0; sel < NSEL; sel++) {
            if (counts[dom][sel] == 0)
                continue;
            make(dom, sel, &x);
            fprintf(f, "{\"count\":%lu,\"kind\":%d,\"failed\":%d,\"code\":%d",
                    counts[dom][sel], x.kind, x.failed, x.code);
            hex(f, "d", x.d);
            for (k = 0; k < x.nps; k++) {
                char key[8];
                snprintf(key, sizeof(key), "ps%d", k);
                hex(f, key, x.ps[k]);
            }
            if (x.failed) {
                hex(f, "s", x.s);
                hex(f, "n", x.n);
                hex(f, "h", x.h);
                hex(f, "r", x.r);
                if (x.reason != NULL)
                    hex(f, "f", x.reason);
            }
            fputs("}\n", f);
        }
    return fclose(f) == 0 ? 0 : 1;
}
