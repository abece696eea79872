/*
 * Fuzz the TLSRPT report reader: mtasts_tlsrpt_report_parse (default and
 * strict; JSON or gzip), the getters (counts and texts agree), and
 * to_json -> parse -> to_json byte stability in compact and pretty form,
 * then the same under the failing allocator.
 */
#include "fuzz_common.h"

static char *
to_json(const mtasts_tlsrpt_report *r, unsigned flags, size_t *ret_len,
        int *ret_rc)
{
    mtasts_buf *b = NULL;
    const uint8_t *d;
    char *out;
    size_t n;

    *ret_rc = mtasts_tlsrpt_report_format(r, flags, &b);
    if (*ret_rc != MTASTS_OK) {
        FZ_CHECK(b == NULL);
        return NULL;
    }
    d = mtasts_buf_data(b, &n);
    FZ_CHECK(d != NULL && d[n] == 0);
    out = malloc(n + 1);
    if (out == NULL)
        abort();
    memcpy(out, d, n + 1);
    mtasts_buf_free(b);
    *ret_len = n;
    return out;
}

static void
check_text(const mtasts_tlsrpt_report *r, int f, size_t i, size_t j,
           int present)
{
    size_t n = 12345;
    const char *t = mtasts_tlsrpt_report_text(r, f, i, j, &n);

    if (present)
        FZ_CHECK(t != NULL);
    if (t == NULL) {
        FZ_CHECK(n == 0);
        return;
    }
    FZ_CHECK(t[n] == 0);
}

/* Getters agree with each other. */
static void
check_report(const mtasts_tlsrpt_report *r)
{
    size_t np = mtasts_tlsrpt_report_count(r, MTASTS_RC_POLICIES, 0), i, j, k;
    uint64_t w = mtasts_tlsrpt_report_warnings(r), seen = 0;
    int f;

    check_text(r, MTASTS_RF_ORGANIZATION, 0, 0, 1);
    check_text(r, MTASTS_RF_REPORT_ID, 0, 0, 1);
    check_text(r, MTASTS_RF_CONTACT, 0, 0, 0);
    for (k = 0; k < mtasts_tlsrpt_report_diag_count(r); k++) {
        int wn = -1;
        const char *p = NULL;
        size_t pl = 0;
        FZ_CHECK(mtasts_tlsrpt_report_diag(r, k, &wn, &p, &pl) == 0);
        FZ_CHECK(wn >= 0 && wn < MTASTS_W_COUNT && p != NULL && p[pl] == 0);
        seen |= MTASTS_WARN_BIT(wn);
    }
    FZ_CHECK(seen == w);
    FZ_CHECK(mtasts_tlsrpt_report_diag(r, k, NULL, NULL, NULL) ==
             MTASTS_EINVAL);
    for (i = 0; i <= np; i++) {
        size_t ns = mtasts_tlsrpt_report_count(r, MTASTS_RC_POLICY_STRINGS, i);
        size_t nm = mtasts_tlsrpt_report_count(r, MTASTS_RC_MX_HOSTS, i);
        size_t nd = mtasts_tlsrpt_report_count(r, MTASTS_RC_DETAILS, i);
        int pt = mtasts_tlsrpt_report_policy_type(r, i);

        if (i == np) {
            FZ_CHECK(ns == 0 && nm == 0 && nd == 0);
            FZ_CHECK(pt == MTASTS_POLICY_TYPE_UNKNOWN);
            check_text(r, MTASTS_RF_POLICY_TYPE, i, 0, 0);
            FZ_CHECK(mtasts_tlsrpt_report_text(r, MTASTS_RF_POLICY_TYPE, i, 0,
                                               NULL) == NULL);
            break;
        }
        FZ_CHECK(pt >= 0 && pt <= MTASTS_POLICY_TYPE_NO_POLICY_FOUND);
        check_text(r, MTASTS_RF_POLICY_TYPE, i, 0, 1);
        check_text(r, MTASTS_RF_POLICY_DOMAIN, i, 0, 0);
        FZ_CHECK(
            mtasts_tlsrpt_report_number(r, MTASTS_RN_SUCCESS_COUNT, i, 0) >= 0);
        for (j = 0; j <= ns; j++)
            check_text(r, MTASTS_RF_POLICY_STRING, i, j, j < ns);
        FZ_CHECK(mtasts_tlsrpt_report_text(r, MTASTS_RF_POLICY_STRING, i, ns,
                                           NULL) == NULL);
        for (j = 0; j <= nm; j++)
            check_text(r, MTASTS_RF_MX_HOST, i, j, j < nm);
        FZ_CHECK(mtasts_tlsrpt_report_text(r, MTASTS_RF_MX_HOST, i, nm, NULL) ==
                 NULL);
        for (j = 0; j < nd; j++) {
            int rt = mtasts_tlsrpt_report_result_type(r, i, j);
            const char *t =
                mtasts_tlsrpt_report_text(r, MTASTS_RF_RESULT_TYPE, i, j, NULL);
            FZ_CHECK(t != NULL);
            if (rt != MTASTS_RESULT_NONE)
                FZ_CHECK(strcmp(t, mtasts_result_type_name(rt)) == 0);
            for (f = MTASTS_RF_SENDING_IP; f <= MTASTS_RF_REASON_CODE; f++)
                check_text(r, f, i, j, 0);
            FZ_CHECK(mtasts_tlsrpt_report_number(r, MTASTS_RN_FAILED_SESSIONS,
                                                 i, j) >= 0);
        }
        FZ_CHECK(mtasts_tlsrpt_report_text(r, MTASTS_RF_RESULT_TYPE, i, nd,
                                           NULL) == NULL);
    }
}

static int
parse_checked(mtasts_ctx *ctx, const uint8_t *buf, size_t len, unsigned flags,
              mtasts_tlsrpt_report **ret, struct mtasts_diag *d)
{
    struct mtasts_diag init = MTASTS_DIAG_INIT;
    int rc;

    *d = init;
    *ret = NULL;
    rc = mtasts_tlsrpt_report_parse(ctx, buf, len, flags, ret, d);
    FZ_CHECK(d->code == rc);
    FZ_CHECK((rc == MTASTS_OK) == (*ret != NULL));
    if (rc == MTASTS_OK) {
        FZ_CHECK(d->warnings == mtasts_tlsrpt_report_warnings(*ret));
        check_report(*ret);
    } else {
        FZ_CHECK(rc == MTASTS_ESYNTAX || rc == MTASTS_ETOOBIG ||
                 rc == MTASTS_ESTRICT || rc == MTASTS_ENOMEM);
    }
    return rc;
}

/* to_json -> parse -> to_json gives the same bytes. */
static char *
round_trip(mtasts_ctx *ctx, const mtasts_tlsrpt_report *r, unsigned flags,
           size_t *ret_len)
{
    struct mtasts_diag d;
    mtasts_tlsrpt_report *again = NULL;
    size_t n, n2;
    int rc;
    char *a = to_json(r, flags, &n, &rc), *b;

    FZ_CHECK(rc == MTASTS_OK);
    rc = parse_checked(ctx, (const uint8_t *)a, n, 0, &again, &d);
    FZ_CHECK(rc == MTASTS_OK);
    /* canonical output only keeps warnings the model carries */
    FZ_CHECK((mtasts_tlsrpt_report_warnings(again) &
              ~mtasts_tlsrpt_report_warnings(r)) == 0);
    FZ_CHECK(mtasts_tlsrpt_report_count(again, MTASTS_RC_POLICIES, 0) ==
             mtasts_tlsrpt_report_count(r, MTASTS_RC_POLICIES, 0));
    b = to_json(again, flags, &n2, &rc);
    FZ_CHECK(rc == MTASTS_OK);
    FZ_CHECK(n == n2 && memcmp(a, b, n) == 0);
    free(b);
    mtasts_tlsrpt_report_free(again);
    *ret_len = n;
    return a;
}

static void
oom_pass(const uint8_t *buf, size_t len, int normal_rc, const char *text,
         size_t text_len, int mode, size_t fail_at)
{
    struct fz_alloc fa;
    struct mtasts_diag d = MTASTS_DIAG_INIT;
    mtasts_tlsrpt_report *r = NULL;
    mtasts_ctx *ctx;
    int rc;

    fz_alloc_init(&fa, mode, fail_at);
    ctx = fz_ctx_new(&fa);
    if (ctx == NULL) {
        fz_alloc_fini(&fa);
        return;
    }
    rc = mtasts_tlsrpt_report_parse(ctx, buf, len, 0, &r, &d);
    FZ_CHECK_OOM_RC(rc, normal_rc, &fa);
    FZ_CHECK(d.code == rc);
    if (rc == MTASTS_OK) {
        size_t n;
        char *t = to_json(r, 0, &n, &rc);
        FZ_CHECK_OOM_RC(rc, MTASTS_OK, &fa);
        if (t != NULL)
            FZ_CHECK(n == text_len && memcmp(t, text, n) == 0);
        free(t);
    } else {
        FZ_CHECK(r == NULL);
    }
    mtasts_tlsrpt_report_free(r);
    FZ_CHECK(fa.nblk == 1);
    fz_ctx_free(&fa, ctx);
    fz_alloc_fini(&fa);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fz_alloc fa;
    struct mtasts_diag dd, ds;
    mtasts_tlsrpt_report *def = NULL, *str = NULL;
    mtasts_ctx *ctx;
    size_t fail_at = 0, text_len = 0, pretty_len = 0;
    char *text = NULL, *pretty = NULL;
    int rc_def, rc_str, mode;

    fz_alloc_init(&fa, FZ_FAIL_NONE, 0);
    ctx = fz_ctx_new(&fa);
    FZ_CHECK(ctx != NULL);
    /* small limits so that the fuzzer reaches them */
    FZ_CHECK(mtasts_ctx_set_limit(ctx, MTASTS_LIMIT_GUNZIP_SIZE, 1 << 20) == 0);

    rc_def = parse_checked(ctx, data, size, 0, &def, &dd);
    rc_str = parse_checked(ctx, data, size, MTASTS_PARSE_F_STRICT, &str, &ds);
    FZ_CHECK(rc_def != MTASTS_ENOMEM && rc_str != MTASTS_ENOMEM);
    if (rc_str == MTASTS_OK) {
        FZ_CHECK(rc_def == MTASTS_OK);
        FZ_CHECK(mtasts_tlsrpt_report_warnings(def) == 0);
    }
    if (rc_def == MTASTS_OK)
        FZ_CHECK(rc_str == (mtasts_tlsrpt_report_warnings(def) == 0
                                ? MTASTS_OK
                                : MTASTS_ESTRICT));
    else
        FZ_CHECK(rc_str == rc_def || rc_str == MTASTS_ESTRICT);
    if (rc_def == MTASTS_OK) {
        text = round_trip(ctx, def, 0, &text_len);
        pretty = round_trip(ctx, def, MTASTS_JSON_F_PRETTY, &pretty_len);
    }
    mtasts_tlsrpt_report_free(def);
    mtasts_tlsrpt_report_free(str);
    FZ_CHECK(fa.nblk == 1);
    fz_ctx_free(&fa, ctx);
    fz_alloc_fini(&fa);

    mode = fz_plan(data, size, &fail_at);
    if (mode != FZ_FAIL_NONE)
        oom_pass(data, size, rc_def, text, text_len, mode, fail_at);
    free(text);
    free(pretty);
    return 0;
}
