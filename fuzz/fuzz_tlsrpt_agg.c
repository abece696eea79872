/*
 * Fuzz the TLSRPT aggregation: the input is a script of operations on two
 * aggregates A and B (add, merge, export/import, import of raw input
 * bytes, report, remove), then invariants are checked:
 *  - export -> import into an empty aggregate -> export gives equal bytes;
 *  - a failed import leaves the target's export bytes unchanged;
 *  - every report of every key serializes, parses back strictly without
 *    warnings, and serializes to the same bytes;
 *  - nothing leaks and every free has the right size (fuzz_common.h).
 *
 * Script: each operation is one byte (op = b % 8) followed by its
 * arguments; running out of input ends the script.
 */
#include "fuzz_common.h"

#define DAY0 INT64_C(1459468800)

struct st {
    const uint8_t *p;
    size_t n, off;
};

static int
byte(struct st *s, unsigned *v)
{
    if (s->off >= s->n)
        return 0;
    *v = s->p[s->off++];
    return 1;
}

static mtasts_buf *
export_of(const mtasts_tlsrpt_agg *a)
{
    mtasts_buf *b = NULL;

    FZ_CHECK(mtasts_tlsrpt_agg_encode(a, &b) == MTASTS_OK);
    return b;
}

static int
buf_eq(const mtasts_buf *x, const mtasts_buf *y)
{
    size_t lx, ly;
    const uint8_t *px = mtasts_buf_data(x, &lx), *py = mtasts_buf_data(y, &ly);

    return lx == ly && memcmp(px, py, lx) == 0;
}

static void
check_export_import(mtasts_ctx *ctx, const mtasts_tlsrpt_agg *a)
{
    mtasts_tlsrpt_agg *c = NULL;
    mtasts_buf *e1 = export_of(a), *e2;
    size_t n;
    const uint8_t *d = mtasts_buf_data(e1, &n);

    FZ_CHECK(mtasts_tlsrpt_agg_new(ctx, &c) == MTASTS_OK);
    FZ_CHECK(mtasts_tlsrpt_agg_decode(c, d, n) == MTASTS_OK);
    e2 = export_of(c);
    FZ_CHECK(buf_eq(e1, e2));
    FZ_CHECK(mtasts_tlsrpt_agg_count(c) == mtasts_tlsrpt_agg_count(a));
    mtasts_buf_free(e1);
    mtasts_buf_free(e2);
    mtasts_tlsrpt_agg_free(c);
}

static void
check_reports(mtasts_ctx *ctx, const mtasts_tlsrpt_agg *a)
{
    size_t i, n = mtasts_tlsrpt_agg_count(a);

    for (i = 0; i < n; i++) {
        const char *d;
        size_t dl;
        int64_t day;
        mtasts_tlsrpt_report *r = NULL, *back = NULL;
        mtasts_buf *j1 = NULL, *j2 = NULL;
        const uint8_t *b;
        size_t bl;
        int rc;

        FZ_CHECK(mtasts_tlsrpt_agg_key(a, i, &d, &dl, &day) == MTASTS_OK);
        rc = mtasts_tlsrpt_report_build(a, d, dl, day, "Fuzz", 4,
                                        "tlsrpt@f.example", 16, "id.1", 4, &r);
        FZ_CHECK(rc == MTASTS_OK);
        FZ_CHECK(mtasts_tlsrpt_report_format(r, 0, &j1) == MTASTS_OK);
        b = mtasts_buf_data(j1, &bl);
        FZ_CHECK(mtasts_tlsrpt_report_parse(ctx, b, bl, MTASTS_PARSE_F_STRICT,
                                            &back, NULL) == MTASTS_OK);
        FZ_CHECK(mtasts_tlsrpt_report_warnings(back) == 0);
        FZ_CHECK(mtasts_tlsrpt_report_format(back, 0, &j2) == MTASTS_OK);
        FZ_CHECK(buf_eq(j1, j2));
        mtasts_buf_free(j1);
        mtasts_buf_free(j2);
        mtasts_tlsrpt_report_free(r);
        mtasts_tlsrpt_report_free(back);
    }
}

static const char *const texts[16] = {NULL,          "192.0.2.1",
                                      "2001:DB8::1", "mx.example",
                                      "MX.Example.", "helo \"x\"\n",
                                      "https://i/",  "reason",
                                      "future-type", "validation-failure",
                                      "bad ip",      "é",
                                      "192.0.2.01",  "",
                                      "a b",         "2001:db8:0:0:0:0:0:1"};

static void
run(mtasts_ctx *ctx, struct st *s)
{
    mtasts_tlsrpt_agg *ag[2] = {NULL, NULL};
    mtasts_tlsrpt_policy *pol[4] = {NULL, NULL, NULL, NULL};
    mtasts_policy *sp = NULL;
    static const char body[] = "version: STSv1\nmode: testing\n"
                               "mx: *.example\nmax_age: 60\n";
    static const uint8_t u[1] = {3}, z[1] = {1}, dat[2] = {0xab, 0x01};
    const uint8_t *data[1] = {dat};
    size_t dlen[1] = {2};
    unsigned op, a1, a2, a3, i;

    FZ_CHECK(mtasts_tlsrpt_agg_new(ctx, &ag[0]) == MTASTS_OK);
    FZ_CHECK(mtasts_tlsrpt_agg_new(ctx, &ag[1]) == MTASTS_OK);
    FZ_CHECK(mtasts_policy_parse(ctx, body, sizeof(body) - 1, 0, &sp, NULL) ==
             MTASTS_OK);
    FZ_CHECK(mtasts_tlsrpt_policy_build_sts(ctx, "a.example", 9, sp, &pol[0]) ==
             0);
    FZ_CHECK(mtasts_tlsrpt_policy_build_none(ctx, "b.example", 9, &pol[1]) ==
             0);
    FZ_CHECK(mtasts_tlsrpt_policy_build_tlsa(ctx, "a.example", 9, u, z, z, data,
                                             dlen, 1, &pol[2]) == 0);
    FZ_CHECK(mtasts_tlsrpt_policy_build_none(ctx, "A.EXAMPLE.", 10, &pol[3]) ==
             0);
    mtasts_policy_free(sp);
    while (byte(s, &op)) {
        mtasts_tlsrpt_agg *x = ag[op >> 7], *y = ag[!(op >> 7)];
        switch (op % 8) {
        case 0:
        case 1:
        case 2: { /* add: policy/day/outcome, count, failures */
            struct mtasts_tlsrpt_failure f[3];
            size_t nf;
            int rc;
            if (!byte(s, &a1) || !byte(s, &a2))
                goto done;
            nf = a2 % 4;
            for (i = 0; i < nf && i < 3; i++) {
                unsigned b0, b1, b2;
                if (!byte(s, &b0) || !byte(s, &b1) || !byte(s, &b2))
                    goto done;
                memset(&f[i], 0, sizeof(f[i]));
                f[i].version = MTASTS_FAILURE_VERSION;
                f[i].result_type = (int)(b0 % 13);
                f[i].result_text = texts[(b0 >> 4) & 15];
                f[i].result_text_len =
                    f[i].result_text != NULL ? strlen(f[i].result_text) : 0;
                f[i].sending_ip = texts[b1 & 15];
                f[i].sending_ip_len =
                    f[i].sending_ip != NULL ? strlen(f[i].sending_ip) : 0;
                f[i].receiving_mx = texts[(b1 >> 4) & 15];
                f[i].receiving_mx_len =
                    f[i].receiving_mx != NULL ? strlen(f[i].receiving_mx) : 0;
                f[i].receiving_helo = texts[b2 & 15];
                f[i].receiving_helo_len = f[i].receiving_helo != NULL
                                              ? strlen(f[i].receiving_helo)
                                              : 0;
                f[i].receiving_ip = texts[(b2 >> 4) & 15];
                f[i].receiving_ip_len =
                    f[i].receiving_ip != NULL ? strlen(f[i].receiving_ip) : 0;
            }
            if (nf > 3)
                nf = 3;
            rc = mtasts_tlsrpt_agg_add(
                x, pol[a1 & 3], DAY0 + (int64_t)((a1 >> 2) & 3) * 86399,
                1 + (int)((a2 >> 2) % 3), f, nf, (a2 >> 4) & 1);
            FZ_CHECK(rc == MTASTS_OK || rc == MTASTS_ESYNTAX ||
                     rc == MTASTS_ETOOBIG || rc == MTASTS_EINVAL);
            break;
        }
        case 3: { /* merge; the memory bound may refuse it, atomically */
            mtasts_buf *before = export_of(x), *after;
            int rc = mtasts_tlsrpt_agg_merge(x, y);
            FZ_CHECK(rc == MTASTS_OK || rc == MTASTS_ETOOBIG);
            after = export_of(x);
            FZ_CHECK(rc == MTASTS_OK || buf_eq(before, after));
            mtasts_buf_free(before);
            mtasts_buf_free(after);
            break;
        }
        case 4: { /* import raw input bytes */
            mtasts_buf *before, *after;
            int rc;
            if (!byte(s, &a1))
                goto done;
            before = export_of(x);
            a1 = a1 * 4 < s->n - s->off ? a1 * 4 : (unsigned)(s->n - s->off);
            rc = mtasts_tlsrpt_agg_decode(x, s->p + s->off, a1);
            s->off += a1;
            after = export_of(x);
            if (rc != MTASTS_OK) {
                FZ_CHECK(rc == MTASTS_ESYNTAX || rc == MTASTS_EVERSION ||
                         rc == MTASTS_ETOOBIG || rc == MTASTS_ECORRUPT);
                FZ_CHECK(buf_eq(before, after));
            }
            mtasts_buf_free(before);
            mtasts_buf_free(after);
            break;
        }
        case 5: { /* export x, import into y (the bound may refuse) */
            mtasts_buf *e = export_of(x), *before = export_of(y), *after;
            size_t n;
            const uint8_t *d = mtasts_buf_data(e, &n);
            int rc = mtasts_tlsrpt_agg_decode(y, d, n);
            FZ_CHECK(rc == MTASTS_OK || rc == MTASTS_ETOOBIG);
            after = export_of(y);
            FZ_CHECK(rc == MTASTS_OK || buf_eq(before, after));
            mtasts_buf_free(e);
            mtasts_buf_free(before);
            mtasts_buf_free(after);
            break;
        }
        case 6: /* remove key */
            if (!byte(s, &a1))
                goto done;
            if (mtasts_tlsrpt_agg_count(x) > 0) {
                const char *d;
                size_t dl;
                int64_t day;
                char dom[MTASTS_DOMAIN_MAX_LEN + 1];
                FZ_CHECK(mtasts_tlsrpt_agg_key(x,
                                               a1 % mtasts_tlsrpt_agg_count(x),
                                               &d, &dl, &day) == MTASTS_OK);
                memcpy(dom, d, dl);
                FZ_CHECK(mtasts_tlsrpt_agg_remove(x, dom, dl, day) ==
                         MTASTS_OK);
                FZ_CHECK(mtasts_tlsrpt_agg_remove(x, dom, dl, day) ==
                         MTASTS_NONE);
            }
            break;
        default: /* options */
            if (!byte(s, &a1) || !byte(s, &a3))
                goto done;
            (void)mtasts_tlsrpt_agg_set(x, MTASTS_AGG_MAX_BYTES + (int)(a1 % 3),
                                        a1 % 3 == 0   ? 4096 + (int64_t)a3 * 64
                                        : a1 % 3 == 1 ? (int64_t)a3 % 5
                                                      : (int64_t)a3 % 2);
            break;
        }
    }
done:
    for (i = 0; i < 2; i++) {
        (void)mtasts_tlsrpt_agg_set(ag[i], MTASTS_AGG_FAILURES_ONLY, 0);
        check_export_import(ctx, ag[i]);
        check_reports(ctx, ag[i]);
        mtasts_tlsrpt_agg_free(ag[i]);
    }
    for (i = 0; i < 4; i++)
        mtasts_tlsrpt_policy_free(pol[i]);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fz_alloc fa;
    mtasts_ctx *ctx;
    struct st s;

    fz_alloc_init(&fa, FZ_FAIL_NONE, 0);
    ctx = fz_ctx_new(&fa);
    FZ_CHECK(ctx != NULL);
    s.p = data;
    s.n = size;
    s.off = 0;
    run(ctx, &s);
    fz_ctx_free(&fa, ctx);
    fz_alloc_fini(&fa);
    return 0;
}
