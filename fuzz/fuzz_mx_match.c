/*
 * Fuzz MX pattern and certificate name matching against an independent
 * model of RFC 8461 4.1 / E-11.
 *
 * Input: pattern, then a NUL or 0xFF byte, then the host. Without a
 * separator the whole input is both pattern and host.
 */
#include "fuzz_common.h"
#include "../tests/common/model_args.h"

static int
is_wild(const char *p, size_t n)
{
    return n > 2 && p[0] == '*' && p[1] == '.';
}

/* The model: p (a valid [*.]hostname) against hs (a valid hostname with
 * any trailing dot removed). */
static int
model_match(const char *p, size_t plen, const char *hs, size_t hlen)
{
    const char *dot;
    size_t k;

    if (!is_wild(p, plen))
        return fz_caseeq(p, plen, hs, hlen);
    dot = memchr(hs, '.', hlen);
    if (dot == NULL)
        return 0;
    k = (size_t)(dot - hs);
    return k >= 1 && fz_caseeq(p + 2, plen - 2, hs + k + 1, hlen - k - 1);
}

static int
fmt_pol(const void *obj, char *dst, size_t dst_len, size_t *ret_needed)
{
    return mtasts_policy_format(obj, dst, dst_len, ret_needed);
}

/* A one-pattern policy allows exactly what the matcher matches. */
static void
check_policy(const char *p, size_t plen, const char *h, size_t hlen, int m,
             int p_ok, int mode, size_t fail_at)
{
    const char *mx[1];
    size_t mx_lens[1], tlen;
    struct fz_alloc fa;
    mtasts_policy *pol = NULL;
    mtasts_ctx *ctx;
    char *text;
    int rc;

    fz_alloc_init(&fa, mode, fail_at);
    ctx = fz_ctx_new(&fa);
    if (ctx == NULL) {
        FZ_CHECK(mode != FZ_FAIL_NONE);
        fz_alloc_fini(&fa);
        return;
    }
    mx[0] = p;
    mx_lens[0] = plen;
    rc = pbuild(ctx, MTASTS_MODE_ENFORCE, 86400, mx, mx_lens, 1, NULL, NULL,
                NULL, NULL, 0, &pol, NULL);
    if (rc == MTASTS_ENOMEM) {
        FZ_CHECK(fa.failed && pol == NULL);
    } else if (p_ok) {
        FZ_CHECK(rc == MTASTS_OK);
        FZ_CHECK(mtasts_policy_mx_allowed(pol, h, hlen) == m);
        text = fz_format(fmt_pol, pol, &tlen);
        free(text);
    } else {
        FZ_CHECK(rc != MTASTS_OK && pol == NULL);
    }
    mtasts_policy_free(pol);
    FZ_CHECK(fa.nblk == 1);
    fz_ctx_free(&fa, ctx);
    fz_alloc_fini(&fa);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in = (const char *)data, *p, *h;
    char buf[MTASTS_DOMAIN_MAX_LEN + 2], norm[MTASTS_DOMAIN_MAX_LEN + 1];
    const char *sans[3];
    size_t san_lens[3], plen, hlen, hs_len, i, need;
    int m, p_ok, h_ok, plain_ok, mode;
    size_t fail_at = 0;

    for (i = 0; i < size; i++)
        if (data[i] == 0x00 || data[i] == 0xff)
            break;
    p = in;
    plen = i;
    if (i < size) {
        h = in + i + 1;
        hlen = size - i - 1;
    } else {
        h = in;
        hlen = size;
    }
    hs_len = hlen > 0 && h[hlen - 1] == '.' ? hlen - 1 : hlen;

    m = mtasts_mx_match(p, plen, h, hlen);
    FZ_CHECK(m == 0 || m == 1);
    FZ_CHECK(m == mtasts_cert_name_match(p, plen, h, hlen));
    sans[0] = "";
    san_lens[0] = 0;
    sans[1] = "-.invalid";
    san_lens[1] = 9;
    sans[2] = p;
    san_lens[2] = plen;
    FZ_CHECK(mtasts_cert_names_match(sans, san_lens, 3, h, hlen) == m);
    FZ_CHECK(mtasts_cert_names_match(sans, san_lens, 2, h, hlen) == 0);
    FZ_CHECK(mtasts_cert_names_match(sans, san_lens, 0, h, hlen) == 0);

    p_ok = mtasts_hostname_check(p, plen, MTASTS_HOST_F_WILDCARD, NULL) == 0;
    h_ok =
        mtasts_hostname_check(h, hlen, MTASTS_HOST_F_TRAILING_DOT, NULL) == 0;
    plain_ok = mtasts_hostname_check(p, plen, 0, NULL) == 0;
    if (m) {
        FZ_CHECK(h_ok);
        FZ_CHECK(p_ok);
        if (!is_wild(p, plen)) {
            /* an exact pattern matches only its own name */
            FZ_CHECK(fz_caseeq(p, plen, h, hs_len));
        }
        /* the host normalises to something the pattern also matches */
        FZ_CHECK(mtasts_domain_normalize(h, hlen, norm, sizeof(norm), &need) ==
                 MTASTS_OK);
        FZ_CHECK(need == hs_len);
        FZ_CHECK(mtasts_mx_match(p, plen, norm, need) == 1);
    }
    /* the model, both ways, for valid names */
    if (p_ok && h_ok)
        FZ_CHECK(m == model_match(p, plen, h, hs_len));
    if (!p_ok || !h_ok)
        FZ_CHECK(m == 0);
    /* an exact match is symmetric */
    if (plain_ok && h_ok && hs_len == hlen)
        FZ_CHECK(m == mtasts_mx_match(h, hlen, p, plen));
    /* a valid pattern matches itself (and with a trailing dot) */
    if (plain_ok) {
        FZ_CHECK(mtasts_mx_match(p, plen, p, plen) == 1);
        memcpy(buf, p, plen);
        buf[plen] = '.';
        FZ_CHECK(mtasts_mx_match(p, plen, buf, plen + 1) == 1);
        if (plen + 2 <= sizeof(buf)) {
            buf[plen + 1] = '.';
            FZ_CHECK(mtasts_mx_match(p, plen, buf, plen + 2) == 0);
        }
    }
    if (p_ok && is_wild(p, plen)) {
        /* "*.s" matches "x.s", never "s" nor "a.b.s" */
        memcpy(buf, p, plen);
        buf[0] = 'x';
        FZ_CHECK(mtasts_mx_match(p, plen, buf, plen) == 1);
        FZ_CHECK(mtasts_mx_match(p, plen, p + 2, plen - 2) == 0);
        if (plen + 2 <= MTASTS_DOMAIN_MAX_LEN) {
            buf[0] = 'a';
            buf[1] = '.';
            buf[2] = 'b';
            memcpy(buf + 3, p + 1, plen - 1);
            FZ_CHECK(mtasts_mx_match(p, plen, buf, plen + 2) == 0);
        }
    }

    mode = fz_plan(data, size, &fail_at);
    check_policy(p, plen, h, hlen, m, p_ok, FZ_FAIL_NONE, 0);
    if (mode != FZ_FAIL_NONE)
        check_policy(p, plen, h, hlen, m, p_ok, mode, fail_at);
    return 0;
}
