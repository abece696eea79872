/*
 * gzip (RFC 1952) member framing over the DEFLATE inflater (inflate.c)
 * and writer (deflate.c), written for libmtasts: mtasts_gunzip() and
 * mtasts_gzip(). Everything is allocated through the context allocator.
 */
#include "deflate_int.h"

/* gzip header flags (RFC 1952 2.3.1) */
#define GZ_FTEXT     0x01u
#define GZ_FHCRC     0x02u
#define GZ_FEXTRA    0x04u
#define GZ_FNAME     0x08u
#define GZ_FCOMMENT  0x10u
#define GZ_FRESERVED 0xe0u

#define GZ_OS_UNKNOWN 255u

/* Skip a zero-terminated header field; 0 or -1 when the input ends. */
static int
skip_zstring(const uint8_t *in, size_t len, size_t *pos)
{
    const uint8_t *z = memchr(in + *pos, 0, len - *pos);

    if (z == NULL)
        return -1;
    *pos = (size_t)(z - in) + 1;
    return 0;
}

static int
gz_fail(struct mtasts_diag *reterr, int code, int reason, size_t off)
{
    mt_diag_fail(reterr, code, reason, off, NULL, 0);
    return code;
}

/* Parse the member header; *ret_pos is where the DEFLATE data starts. */
static int
gz_header(const uint8_t *in, size_t len, size_t *ret_pos,
          struct mtasts_diag *reterr)
{
    size_t pos, xlen;
    unsigned flg;
    uint32_t crc;

    if (len == 0)
        return gz_fail(reterr, MTASTS_ESYNTAX, GZ_R_EMPTY, 0);
    if (in[0] != 0x1f)
        return gz_fail(reterr, MTASTS_ESYNTAX, GZ_R_MAGIC, 0);
    if (len < 2)
        return gz_fail(reterr, MTASTS_ESYNTAX, GZ_R_TRUNC, len);
    if (in[1] != 0x8b)
        return gz_fail(reterr, MTASTS_ESYNTAX, GZ_R_MAGIC, 1);
    if (len < 3)
        return gz_fail(reterr, MTASTS_ESYNTAX, GZ_R_TRUNC, len);
    if (in[2] != 8)
        return gz_fail(reterr, MTASTS_ESYNTAX, GZ_R_MAGIC, 2);
    if (len < 10)
        return gz_fail(reterr, MTASTS_ESYNTAX, GZ_R_TRUNC, len);
    flg = in[3];
    if ((flg & GZ_FRESERVED) != 0)
        return gz_fail(reterr, MTASTS_ESYNTAX, GZ_R_HEADER, 3);
    pos = 10;
    if ((flg & GZ_FEXTRA) != 0) {
        if (len - pos < 2)
            return gz_fail(reterr, MTASTS_ESYNTAX, GZ_R_TRUNC, len);
        xlen = (size_t)in[pos] | (size_t)in[pos + 1] << 8;
        pos += 2;
        if (len - pos < xlen)
            return gz_fail(reterr, MTASTS_ESYNTAX, GZ_R_TRUNC, len);
        pos += xlen;
    }
    if ((flg & GZ_FNAME) != 0 && skip_zstring(in, len, &pos) != 0)
        return gz_fail(reterr, MTASTS_ESYNTAX, GZ_R_TRUNC, len);
    if ((flg & GZ_FCOMMENT) != 0 && skip_zstring(in, len, &pos) != 0)
        return gz_fail(reterr, MTASTS_ESYNTAX, GZ_R_TRUNC, len);
    if ((flg & GZ_FHCRC) != 0) {
        if (len - pos < 2)
            return gz_fail(reterr, MTASTS_ESYNTAX, GZ_R_TRUNC, len);
        crc = mt_crc32(0, in, pos);
        if ((crc & 0xffff) != ((uint32_t)in[pos] | (uint32_t)in[pos + 1] << 8))
            return gz_fail(reterr, MTASTS_ESYNTAX, GZ_R_HEADER, pos);
        pos += 2;
    }
    *ret_pos = pos;
    return MTASTS_OK;
}

int
mtasts_gunzip(mtasts_ctx *ctx, const uint8_t *in, size_t in_len, size_t max_out,
              mtasts_buf **ret_out, struct mtasts_diag *reterr)
{
    struct inflate *s;
    size_t pos, cap, hint;
    uint32_t crc;
    int rc;

    if (ret_out != NULL)
        *ret_out = NULL;
    if (ctx == NULL || ret_out == NULL || (in == NULL && in_len > 0))
        return MTASTS_EINVAL;
    rc = mt_diag_check(reterr);
    if (rc != MTASTS_OK)
        return rc;
    rc = gz_header(in, in_len, &pos, reterr);
    if (rc != MTASTS_OK)
        return rc;
    /* First guess at the output size: ISIZE, when it is within both the
     * cap and the largest DEFLATE expansion (1032:1) of the input. */
    cap = 0;
    if (in_len - pos >= 8) {
        hint = mt_le32(in + in_len - 4);
        if (hint <= max_out && hint / 1032 <= in_len)
            cap = hint;
    }
    if (cap == 0)
        cap = in_len < max_out / 4 ? in_len * 4 : max_out;
    s = mt_alloc(ctx, sizeof(*s));
    if (s == NULL)
        return mt_nomem(reterr);
    /* the Huffman tables are filled by each block before use */
    s->bb = 0;
    s->bc = 0;
    s->olen = 0;
    s->reason = MTASTS_R_NONE;
    s->err_off = 0;
    s->ctx = ctx;
    s->in = in;
    s->p = in + pos;
    s->end = in + in_len;
    s->max_out = max_out;
    s->out = mt_buf_new(ctx, cap);
    if (s->out == NULL) {
        mt_free(ctx, s, sizeof(*s));
        return mt_nomem(reterr);
    }
    s->o = mt_buf_bytes(s->out);
    s->ocap = cap;
    rc = mt_inflate_stream(s);
    if (rc == MTASTS_OK) {
        if (s->end - s->p < 8) {
            rc = MTASTS_ESYNTAX;
            s->reason = GZ_R_TRUNC;
            s->err_off = in_len;
        } else {
            crc = mt_crc32(0, s->o, s->olen);
            if (crc != mt_le32(s->p)) {
                rc = MTASTS_ESYNTAX;
                s->reason = GZ_R_CHECK;
                s->err_off = (size_t)(s->p - in);
            } else if (mt_le32(s->p + 4) != (uint32_t)s->olen) {
                rc = MTASTS_ESYNTAX;
                s->reason = GZ_R_CHECK;
                s->err_off = (size_t)(s->p - in) + 4;
            } else if (s->end - s->p > 8) {
                rc = MTASTS_ESYNTAX;
                s->reason = GZ_R_TRAILING;
                s->err_off = (size_t)(s->p - in) + 8;
            }
        }
    }
    if (rc != MTASTS_OK) {
        mtasts_buf_free(s->out);
        if (rc == MTASTS_ENOMEM)
            (void)mt_nomem(reterr);
        else
            mt_diag_fail(reterr, rc, s->reason, s->err_off, NULL, 0);
        mt_free(ctx, s, sizeof(*s));
        return rc;
    }
    if (mt_buf_finish(&s->out, s->olen) != MTASTS_OK) {
        mtasts_buf_free(s->out);
        mt_free(ctx, s, sizeof(*s));
        return mt_nomem(reterr);
    }
    *ret_out = s->out;
    mt_free(ctx, s, sizeof(*s));
    mt_diag_ok(reterr, 0, 0);
    return MTASTS_OK;
}

int
mtasts_gzip(mtasts_ctx *ctx, const uint8_t *in, size_t in_len, int level,
            mtasts_buf **ret_out)
{
    struct deflate s;
    size_t cap;
    uint32_t crc;
    int rc;

    if (ret_out != NULL)
        *ret_out = NULL;
    if (ctx == NULL || ret_out == NULL || (in == NULL && in_len > 0) ||
        level < 0 || level > 9)
        return MTASTS_EINVAL;
    memset(&s, 0, sizeof(s));
    s.ctx = ctx;
    s.in = in;
    s.n = in_len;
    /* stored size for level 0, a guess otherwise; grows as needed */
    cap = level == 0 ? in_len : in_len / 3;
    if (!mt_size_muladd(1, cap, 64 + 5 * (in_len / STORED_MAX), &cap))
        return MTASTS_ENOMEM;
    s.out = mt_buf_new(ctx, cap);
    if (s.out == NULL)
        return MTASTS_ENOMEM;
    s.o = mt_buf_bytes(s.out);
    s.ocap = cap;
    s.o[0] = 0x1f;
    s.o[1] = 0x8b;
    s.o[2] = 8;                                   /* CM deflate */
    memset(s.o + 3, 0, 5);                        /* FLG, MTIME 0 */
    s.o[8] = level == 9 ? 2 : level == 1 ? 4 : 0; /* XFL */
    s.o[9] = GZ_OS_UNKNOWN;                       /* OS */
    s.olen = 10;
    rc = mt_deflate_run(&s, level);
    if (rc == MTASTS_OK)
        rc = mt_deflate_reserve(&s, 16);
    mt_free(ctx, s.work, s.work_size);
    if (rc != MTASTS_OK) {
        mtasts_buf_free(s.out);
        return rc;
    }
    put_align(&s);
    crc = mt_crc32(0, in, in_len);
    put_bits(&s, crc, 32);
    put_bits(&s, (uint32_t)in_len, 32);
    if (mt_buf_finish(&s.out, s.olen) != MTASTS_OK) {
        mtasts_buf_free(s.out);
        return MTASTS_ENOMEM;
    }
    *ret_out = s.out;
    return MTASTS_OK;
}
