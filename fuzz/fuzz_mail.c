/*
 * Fuzz the report e-mail reader: mtasts_tlsrpt_mail_ingest with a DKIM
 * pass (default and strict): no crash, bounded work, the diagnostic code
 * equals the return value, an object exactly on success, a mismatch flag
 * of 0 or 1; then the same under the failing allocator (MTASTS_ENOMEM and
 * nothing leaked, or the same outcome as without failures).
 */
#include "fuzz_common.h"

static int
ingest_checked(mtasts_ctx *ctx, const uint8_t *data, size_t size,
               unsigned flags, mtasts_tlsrpt_report **ret, int *ret_mis)
{
    struct mtasts_diag d = MTASTS_DIAG_INIT;
    int rc;

    *ret_mis = -1;
    rc = mtasts_tlsrpt_mail_ingest(ctx, data, size, MTASTS_DKIM_PASS, flags,
                                   ret, ret_mis, &d);
    FZ_CHECK(d.code == rc);
    FZ_CHECK((rc == MTASTS_OK) == (*ret != NULL));
    FZ_CHECK(rc == MTASTS_OK || rc == MTASTS_ESYNTAX || rc == MTASTS_ETOOBIG ||
             rc == MTASTS_ESTRICT || rc == MTASTS_ENOMEM);
    if (rc == MTASTS_OK) {
        FZ_CHECK(*ret_mis == 0 || *ret_mis == 1);
        FZ_CHECK(d.warnings == mtasts_tlsrpt_report_warnings(*ret));
    }
    /* a failed DKIM verdict is always refused */
    {
        mtasts_tlsrpt_report *r = NULL;
        FZ_CHECK(mtasts_tlsrpt_mail_ingest(ctx, data, size, MTASTS_DKIM_FAIL,
                                           flags, &r, NULL,
                                           NULL) == MTASTS_REFUSED);
        FZ_CHECK(r == NULL);
    }
    return rc;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fz_alloc fa;
    mtasts_tlsrpt_report *def = NULL, *str = NULL;
    mtasts_ctx *ctx;
    size_t fail_at = 0;
    int rc_def, rc_str, mis_def, mis_str, mode;

    fz_alloc_init(&fa, FZ_FAIL_NONE, 0);
    ctx = fz_ctx_new(&fa);
    FZ_CHECK(ctx != NULL);
    FZ_CHECK(mtasts_ctx_set_limit(ctx, MTASTS_LIMIT_GUNZIP_SIZE, 1 << 20) == 0);

    rc_def = ingest_checked(ctx, data, size, 0, &def, &mis_def);
    rc_str =
        ingest_checked(ctx, data, size, MTASTS_PARSE_F_STRICT, &str, &mis_str);
    FZ_CHECK(rc_def != MTASTS_ENOMEM && rc_str != MTASTS_ENOMEM);
    if (rc_str == MTASTS_OK) {
        FZ_CHECK(rc_def == MTASTS_OK && mis_def == mis_str);
        FZ_CHECK(mtasts_tlsrpt_report_warnings(def) == 0);
    }
    mtasts_tlsrpt_report_free(def);
    mtasts_tlsrpt_report_free(str);
    FZ_CHECK(fa.nblk == 1);
    fz_ctx_free(&fa, ctx);
    fz_alloc_fini(&fa);

    mode = fz_plan(data, size, &fail_at);
    if (mode != FZ_FAIL_NONE) {
        int rc, mis;

        fz_alloc_init(&fa, mode, fail_at);
        ctx = fz_ctx_new(&fa);
        if (ctx != NULL) {
            (void)mtasts_ctx_set_limit(ctx, MTASTS_LIMIT_GUNZIP_SIZE, 1 << 20);
            def = NULL;
            rc = ingest_checked(ctx, data, size, 0, &def, &mis);
            if (rc == MTASTS_ENOMEM)
                FZ_CHECK(fa.failed);
            else
                FZ_CHECK(rc == rc_def);
            mtasts_tlsrpt_report_free(def);
            fz_ctx_free(&fa, ctx);
        }
        fz_alloc_fini(&fa);
    }
    return 0;
}
