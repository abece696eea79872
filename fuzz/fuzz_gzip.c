/*
 * Fuzz gzip/DEFLATE: the input is inflated with a small output cap (the
 * cap is never passed; on success the output matches the member's
 * CRC-32 and ISIZE, checked independently), and the input minus its
 * first byte is deflated at level (first byte % 10) and inflated back to
 * itself. About one input in four reruns both under an allocator that
 * refuses allocations: the result is then the normal one or
 * MTASTS_ENOMEM, and nothing leaks.
 */
#include "fuzz_common.h"

#define FZ_GZ_CAP 65536

static uint32_t
ref_crc32(const uint8_t *p, size_t n)
{
    uint32_t c = 0xffffffffu;
    size_t i;
    int k;

    for (i = 0; i < n; i++) {
        c ^= p[i];
        for (k = 0; k < 8; k++)
            c = (c & 1) != 0 ? (c >> 1) ^ 0xedb88320u : c >> 1;
    }
    return ~c;
}

static uint32_t
rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

/* Inflate; returns the status and checks every invariant. */
static int
check_inflate(mtasts_ctx *ctx, const uint8_t *data, size_t size,
              uint32_t *ret_crc, size_t *ret_len)
{
    struct mtasts_diag d = MTASTS_DIAG_INIT;
    mtasts_buf *out = (mtasts_buf *)(uintptr_t)1;
    const uint8_t *p;
    size_t n;
    int rc;

    rc = mtasts_gunzip(ctx, data, size, FZ_GZ_CAP, &out, &d);
    FZ_CHECK(d.code == rc);
    *ret_crc = 0;
    *ret_len = 0;
    if (rc != MTASTS_OK) {
        FZ_CHECK(out == NULL);
        FZ_CHECK(rc == MTASTS_ESYNTAX || rc == MTASTS_ETOOBIG ||
                 rc == MTASTS_ENOMEM);
        FZ_CHECK(d.offset <= size);
        return rc;
    }
    p = mtasts_buf_data(out, &n);
    FZ_CHECK(p != NULL && n <= FZ_GZ_CAP && p[n] == 0);
    FZ_CHECK(size >= 18 && data[0] == 0x1f && data[1] == 0x8b);
    *ret_crc = ref_crc32(p, n);
    *ret_len = n;
    FZ_CHECK(*ret_crc == rd32(data + size - 8));
    FZ_CHECK((uint32_t)n == rd32(data + size - 4));
    mtasts_buf_free(out);
    return rc;
}

/* Deflate and inflate back; returns the status. */
static int
check_deflate(mtasts_ctx *ctx, const uint8_t *in, size_t n, int level,
              size_t *ret_zlen)
{
    struct mtasts_diag d = MTASTS_DIAG_INIT;
    mtasts_buf *z = (mtasts_buf *)(uintptr_t)1, *u;
    const uint8_t *zp, *up;
    size_t zn, un;
    int rc;

    rc = mtasts_gzip(ctx, in, n, level, &z);
    *ret_zlen = 0;
    if (rc != MTASTS_OK) {
        FZ_CHECK(rc == MTASTS_ENOMEM && z == NULL);
        return rc;
    }
    zp = mtasts_buf_data(z, &zn);
    FZ_CHECK(zn >= 18 && zp[0] == 0x1f && zp[1] == 0x8b && zp[2] == 8);
    /* stored blocks bound the size at every level */
    FZ_CHECK(zn <= n + 18 + 5 * (n / 16384 + 1));
    *ret_zlen = zn;
    rc = mtasts_gunzip(ctx, zp, zn, n, &u, &d);
    if (rc == MTASTS_ENOMEM) {
        mtasts_buf_free(z);
        return rc;
    }
    FZ_CHECK(rc == MTASTS_OK);
    up = mtasts_buf_data(u, &un);
    FZ_CHECK(un == n && (n == 0 || memcmp(up, in, n) == 0));
    mtasts_buf_free(u);
    mtasts_buf_free(z);
    return MTASTS_OK;
}

static void
run_all(struct fz_alloc *fa, const uint8_t *data, size_t size, int *rc_inf,
        uint32_t *crc, size_t *len, int *rc_def, size_t *zlen)
{
    mtasts_ctx *ctx = fz_ctx_new(fa);

    *rc_inf = *rc_def = MTASTS_ENOMEM;
    if (ctx == NULL)
        return;
    *rc_inf = check_inflate(ctx, data, size, crc, len);
    if (size > 0)
        *rc_def = check_deflate(ctx, data + 1, size - 1, data[0] % 10, zlen);
    mtasts_ctx_free(ctx);
    FZ_CHECK(fa->nblk == 0); /* nothing leaks */
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fz_alloc fa;
    int ri, rd, ri2, rd2;
    uint32_t crc, crc2;
    size_t len, len2, zl = 0, zl2 = 0, k;

    fz_alloc_init(&fa, FZ_FAIL_NONE, 0);
    run_all(&fa, data, size, &ri, &crc, &len, &rd, &zl);
    FZ_CHECK(ri != MTASTS_ENOMEM && (size == 0 || rd == MTASTS_OK));
    fz_alloc_fini(&fa);
    if (size == 0 || ((size_t)data[0] + size) % 4 != 0)
        return 0;
    for (k = 0; k < 12; k++) {
        fz_alloc_init(&fa, k % 2 == 0 ? FZ_FAIL_ONE : FZ_FAIL_AFTER, k / 2);
        run_all(&fa, data, size, &ri2, &crc2, &len2, &rd2, &zl2);
        FZ_CHECK(ri2 == ri || ri2 == MTASTS_ENOMEM);
        if (ri2 == MTASTS_OK)
            FZ_CHECK(crc2 == crc && len2 == len);
        FZ_CHECK(rd2 == rd || rd2 == MTASTS_ENOMEM);
        if (rd2 == MTASTS_OK)
            FZ_CHECK(zl2 == zl); /* deterministic */
        if (!fa.failed)
            FZ_CHECK(ri2 != MTASTS_ENOMEM && rd2 != MTASTS_ENOMEM);
        fz_alloc_fini(&fa);
    }
    return 0;
}
