/*
 * gzip (RFC 1952) and DEFLATE (RFC 1951): round trips at every level,
 * interoperability with system gzip and zlib both ways, hand-made and
 * damaged streams, the decompression bomb cap, the corpus reports, and
 * the report requirements RPT-DELIV-4 and RPT-AGG-15.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <cmocka.h>

#ifdef HAVE_ZLIB
#include <zlib.h>
#endif

#include "mtasts.h"
#include "harness.h"
#include "gzt.h"

static mtasts_ctx *ctx;

static int
setup(void **state)
{
    struct mtasts_alloc a = harness_table(1);

    (void)state;
    harness_reset();
    assert_int_equal(mtasts_ctx_new(&a, &ctx), MTASTS_OK);
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    mtasts_ctx_free(ctx);
    ctx = NULL;
    harness_assert_clean();
    return 0;
}

/* gzip, then gunzip and compare; returns the compressed stream. */
static struct bytes
round_trip(const uint8_t *in, size_t n, int level)
{
    struct mtasts_diag d = MTASTS_DIAG_INIT;
    mtasts_buf *z = NULL, *u = NULL;
    const uint8_t *zp, *up;
    size_t zn, un;
    struct bytes out;

    assert_int_equal(mtasts_gzip(ctx, in, n, level, &z), MTASTS_OK);
    zp = mtasts_buf_data(z, &zn);
    assert_true(zn >= 18);
    assert_int_equal(zp[zn], 0); /* the uncounted NUL */
    /* RFC 1952 header: magic, CM 8, no flags, mtime 0, XFL, OS 255 */
    assert_int_equal(zp[0], 0x1f);
    assert_int_equal(zp[1], 0x8b);
    assert_int_equal(zp[2], 8);
    assert_int_equal(zp[3], 0);
    assert_int_equal(zp[4] | zp[5] | zp[6] | zp[7], 0);
    assert_int_equal(zp[8], level == 9 ? 2 : level == 1 ? 4 : 0);
    assert_int_equal(zp[9], 255);
    assert_int_equal(mtasts_gunzip(ctx, zp, zn, n, &u, &d), MTASTS_OK);
    assert_int_equal(d.code, 0);
    up = mtasts_buf_data(u, &un);
    assert_int_equal(un, n);
    if (n > 0)
        assert_memory_equal(up, in, n);
    assert_int_equal(up[un], 0);
    if (level == 0) /* stored: 5 bytes per 64 KiB block at most */
        assert_true(zn <= n + 18 + 5 * (n / 65535 + 1));
    out.n = zn;
    out.p = malloc(zn);
    assert_non_null(out.p);
    memcpy(out.p, zp, zn);
    mtasts_buf_free(z);
    mtasts_buf_free(u);
    return out;
}

static void
round_trip_levels(const struct bytes *in, const char *what)
{
    struct bytes z;
    size_t size[10];
    int level;

    for (level = 0; level <= 9; level++) {
        z = round_trip(in->p, in->n, level);
        size[level] = z.n;
        bytes_free(&z);
    }
    print_message("%-22s %9zu bytes: L0 %zu L1 %zu L6 %zu L9 %zu\n", what,
                  in->n, size[0], size[1], size[6], size[9]);
    if (in->n >= 4096)
        assert_true(size[9] <= size[1]);
}

static void
test_round_trip_small(void **state)
{
    static const uint8_t one = 'x';
    static const char text[] =
        "SMTP MTA Strict Transport Security (MTA-STS) is a mechanism "
        "enabling mail service providers to declare their ability to "
        "receive Transport Layer Security (TLS) secure SMTP connections.";
    struct bytes b;
    int level;

    (void)state;
    for (level = 0; level <= 9; level++) {
        b = round_trip(NULL, 0, level);
        /* empty input: the smallest block, a fixed block holding only
         * the end code (2 bytes), or a 5-byte stored block */
        assert_int_equal(b.n, level == 0 ? 23u : 20u);
        bytes_free(&b);
        b = round_trip(&one, 1, level);
        bytes_free(&b);
        b = round_trip((const uint8_t *)text, sizeof(text) - 1, level);
        if (level > 0)
            assert_true(b.n < sizeof(text) - 1 + 18);
        bytes_free(&b);
    }
}

static void
test_round_trip_rfc_texts(void **state)
{
    char path[4096];
    struct dirent *de;
    struct bytes b;
    size_t l, count = 0;
    DIR *dir;

    (void)state;
    snprintf(path, sizeof(path), "%s/doc/spec", GZT_SRC_DIR);
    dir = opendir(path);
    assert_non_null(dir);
    while ((de = readdir(dir)) != NULL) {
        l = strlen(de->d_name);
        if (l < 5 || strcmp(de->d_name + l - 4, ".txt") != 0)
            continue;
        snprintf(path, sizeof(path), "doc/spec/%s", de->d_name);
        b = read_src(path);
        assert_non_null(b.p);
        round_trip_levels(&b, de->d_name);
        bytes_free(&b);
        count++;
    }
    closedir(dir);
    assert_true(count >= 3);
}

static void
test_round_trip_generated(void **state)
{
    struct bytes b;

    (void)state;
    b = data_random(100000, 7);
    round_trip_levels(&b, "random 100000");
    bytes_free(&b);
    b = data_repeat(300000, "a");
    round_trip_levels(&b, "one byte repeated");
    bytes_free(&b);
    b = data_repeat(200000, "abcdefg");
    round_trip_levels(&b, "7-byte unit repeated");
    bytes_free(&b);
    b = data_text(70000, 3); /* > 64 KiB: several stored blocks */
    round_trip_levels(&b, "text 70000");
    bytes_free(&b);
    b = data_report(1100000, 0); /* > 1 MiB, several Huffman blocks */
    round_trip_levels(&b, "report JSON > 1 MiB");
    bytes_free(&b);
    /* half random, half text: blocks of different kinds in one stream */
    b = data_text(300000, 11);
    {
        struct bytes r = data_random(100000, 5);

        memcpy(b.p + 100000, r.p, r.n);
        bytes_free(&r);
    }
    round_trip_levels(&b, "mixed");
    bytes_free(&b);
}

/* A context whose allocator has no realloc: the library copies. */
static void
test_no_realloc(void **state)
{
    struct mtasts_alloc a = harness_table(0);
    mtasts_ctx *c2;
    mtasts_buf *z, *u;
    struct bytes b = data_text(50000, 9);
    const uint8_t *p;
    size_t n;

    (void)state;
    assert_int_equal(mtasts_ctx_new(&a, &c2), MTASTS_OK);
    assert_int_equal(mtasts_gzip(c2, b.p, b.n, 6, &z), MTASTS_OK);
    p = mtasts_buf_data(z, &n);
    assert_int_equal(mtasts_gunzip(c2, p, n, b.n, &u, NULL), MTASTS_OK);
    p = mtasts_buf_data(u, &n);
    assert_int_equal(n, b.n);
    assert_memory_equal(p, b.p, n);
    mtasts_buf_free(z);
    mtasts_buf_free(u);
    mtasts_ctx_free(c2);
    bytes_free(&b);
}

static void
test_api_misuse(void **state)
{
    struct mtasts_diag d = MTASTS_DIAG_INIT, bad = {0, 0, 0, 0, 0, 0, 0};
    mtasts_buf *b = (mtasts_buf *)(uintptr_t)1;
    static const uint8_t x[1] = {0};
    size_t n = 99;

    (void)state;
    assert_int_equal(mtasts_gzip(NULL, x, 1, 6, &b), MTASTS_EINVAL);
    assert_null(b);
    assert_int_equal(mtasts_gzip(ctx, x, 1, 6, NULL), MTASTS_EINVAL);
    assert_int_equal(mtasts_gzip(ctx, NULL, 1, 6, &b), MTASTS_EINVAL);
    assert_int_equal(mtasts_gzip(ctx, x, 1, -1, &b), MTASTS_EINVAL);
    assert_int_equal(mtasts_gzip(ctx, x, 1, 10, &b), MTASTS_EINVAL);
    assert_null(b);
    b = (mtasts_buf *)(uintptr_t)1;
    assert_int_equal(mtasts_gunzip(NULL, x, 1, 10, &b, &d), MTASTS_EINVAL);
    assert_null(b);
    assert_int_equal(mtasts_gunzip(ctx, x, 1, 10, NULL, &d), MTASTS_EINVAL);
    assert_int_equal(mtasts_gunzip(ctx, NULL, 1, 10, &b, &d), MTASTS_EINVAL);
    assert_int_equal(mtasts_gunzip(ctx, x, 1, 10, &b, &bad), MTASTS_EINVAL);
    bad.version = MTASTS_DIAG_VERSION + 1;
    assert_int_equal(mtasts_gunzip(ctx, x, 1, 10, &b, &bad), MTASTS_EVERSION);
    /* empty input */
    assert_int_equal(mtasts_gunzip(ctx, NULL, 0, 10, &b, &d), MTASTS_ESYNTAX);
    assert_int_equal(d.reason, MTASTS_R_EMPTY);
    assert_null(b);
    assert_null(mtasts_buf_data(NULL, &n));
    assert_int_equal(n, 0);
    assert_null(mtasts_buf_data(NULL, NULL));
    mtasts_buf_free(NULL);
}

static int
gunzip_rc(const uint8_t *in, size_t n, size_t max_out, struct bytes *out,
          struct mtasts_diag *d)
{
    mtasts_buf *u = (mtasts_buf *)(uintptr_t)1;
    const uint8_t *p;
    size_t un;
    int rc;

    d->version = MTASTS_DIAG_VERSION;
    rc = mtasts_gunzip(ctx, in, n, max_out, &u, d);
    assert_int_equal(d->code, rc);
    if (rc != MTASTS_OK) {
        assert_null(u);
        assert_true(d->offset <= n);
        return rc;
    }
    p = mtasts_buf_data(u, &un);
    assert_true(un <= max_out);
    if (out != NULL) {
        out->p = malloc(un + 1);
        assert_non_null(out->p);
        memcpy(out->p, p, un);
        out->n = un;
    }
    mtasts_buf_free(u);
    return rc;
}

static struct bytes
our_gzip(const uint8_t *in, size_t n, int level)
{
    mtasts_buf *z;
    const uint8_t *p;
    struct bytes b;

    assert_int_equal(mtasts_gzip(ctx, in, n, level, &z), MTASTS_OK);
    p = mtasts_buf_data(z, &b.n);
    b.p = malloc(b.n);
    assert_non_null(b.p);
    memcpy(b.p, p, b.n);
    mtasts_buf_free(z);
    return b;
}

/* Our gzip output through system gunzip, and system gzip output through
 * our gunzip (with and without a stored file name). */
static void
test_interop_system_gzip(void **state)
{
    static const char *const args[] = {"-1 -c", "-6 -c", "-9 -c"};
    struct mtasts_diag d;
    struct bytes in[4], z, u;
    int level;
    size_t i, k;

    (void)state;
    if (!sys_gzip_available())
        skip();
    in[0] = data_text(200000, 1);
    in[1] = data_random(30000, 2);
    in[2] = data_report(0, 100);
    in[3] = read_src("doc/spec/rfc8460.txt");
    assert_non_null(in[3].p);
    for (i = 0; i < 4; i++) {
        for (level = 0; level <= 9; level++) {
            z = our_gzip(in[i].p, in[i].n, level);
            u = sys_gzip("-dc", z.p, z.n);
            assert_non_null(u.p);
            assert_int_equal(u.n, in[i].n);
            assert_memory_equal(u.p, in[i].p, u.n);
            bytes_free(&u);
            bytes_free(&z);
        }
        for (k = 0; k < 3; k++) {
            z = sys_gzip(args[k], in[i].p, in[i].n);
            assert_non_null(z.p);
            assert_int_equal(gunzip_rc(z.p, z.n, in[i].n, &u, &d), MTASTS_OK);
            assert_int_equal(u.n, in[i].n);
            assert_memory_equal(u.p, in[i].p, u.n);
            bytes_free(&u);
            bytes_free(&z);
        }
    }
    for (i = 0; i < 4; i++)
        bytes_free(&in[i]);
}

#ifdef HAVE_ZLIB
static struct bytes
zlib_deflate(const uint8_t *in, size_t n, int level, int mem, int strategy)
{
    z_stream zs;
    struct bytes b;

    memset(&zs, 0, sizeof(zs));
    assert_int_equal(deflateInit2(&zs, level, Z_DEFLATED, 31, mem, strategy),
                     Z_OK);
    b.n = deflateBound(&zs, (uLong)n);
    b.p = malloc(b.n);
    assert_non_null(b.p);
    zs.next_in = (Bytef *)(uintptr_t)in;
    zs.avail_in = (uInt)n;
    zs.next_out = b.p;
    zs.avail_out = (uInt)b.n;
    assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
    b.n = zs.total_out;
    deflateEnd(&zs);
    return b;
}

static struct bytes
zlib_inflate(const uint8_t *in, size_t n, size_t expect)
{
    z_stream zs;
    struct bytes b;

    memset(&zs, 0, sizeof(zs));
    assert_int_equal(inflateInit2(&zs, 31), Z_OK);
    b.p = malloc(expect + 1);
    assert_non_null(b.p);
    zs.next_in = (Bytef *)(uintptr_t)in;
    zs.avail_in = (uInt)n;
    zs.next_out = b.p;
    zs.avail_out = (uInt)(expect + 1);
    assert_int_equal(inflate(&zs, Z_FINISH), Z_STREAM_END);
    assert_int_equal(zs.avail_in, 0);
    b.n = zs.total_out;
    inflateEnd(&zs);
    return b;
}

/* zlib (all strategies, small and large memory levels, so blocks of
 * every kind and size) to us, and us to zlib. */
static void
test_interop_zlib(void **state)
{
    static const int strategies[] = {Z_DEFAULT_STRATEGY, Z_FILTERED,
                                     Z_HUFFMAN_ONLY, Z_RLE, Z_FIXED};
    struct mtasts_diag d;
    struct bytes in[4], z, u;
    int level;
    size_t i, k, m;

    (void)state;
    in[0] = data_text(150000, 4);
    in[1] = data_random(20000, 8);
    in[2] = data_report(300000, 0);
    in[3] = data_repeat(100000, "xy");
    for (i = 0; i < 4; i++) {
        for (level = 0; level <= 9; level++) {
            for (k = 0; k < 5; k++) {
                for (m = 1; m <= 9; m += 8) {
                    z = zlib_deflate(in[i].p, in[i].n, level, (int)m,
                                     strategies[k]);
                    assert_int_equal(gunzip_rc(z.p, z.n, in[i].n, &u, &d),
                                     MTASTS_OK);
                    assert_int_equal(u.n, in[i].n);
                    assert_memory_equal(u.p, in[i].p, u.n);
                    bytes_free(&u);
                    bytes_free(&z);
                }
            }
            z = our_gzip(in[i].p, in[i].n, level);
            u = zlib_inflate(z.p, z.n, in[i].n);
            assert_int_equal(u.n, in[i].n);
            assert_memory_equal(u.p, in[i].p, u.n);
            bytes_free(&u);
            bytes_free(&z);
        }
    }
    for (i = 0; i < 4; i++)
        bytes_free(&in[i]);
}

/* Our level 6 against zlib level 6 on the RFC texts and a report. */
static void
test_ratio_vs_zlib(void **state)
{
    static const char *const files[] = {
        "doc/spec/rfc8460.txt", "doc/spec/rfc8461.txt", "doc/requirements.md"};
    struct bytes in, ours, theirs;
    size_t i;

    (void)state;
    for (i = 0; i < 4; i++) {
        in = i < 3 ? read_src(files[i]) : data_report(0, 100);
        assert_non_null(in.p);
        ours = our_gzip(in.p, in.n, 6);
        theirs = zlib_deflate(in.p, in.n, 6, 8, Z_DEFAULT_STRATEGY);
        print_message("%-22s %7zu: ours-6 %6zu zlib-6 %6zu (%.3f)\n",
                      i < 3 ? files[i] : "report, 100 details", in.n, ours.n,
                      theirs.n, (double)ours.n / (double)theirs.n);
        assert_true(ours.n * 100 <= theirs.n * 125);
        bytes_free(&ours);
        bytes_free(&theirs);
        bytes_free(&in);
    }
}
#endif

/* ---------------------------------------------------------------- */
/* Header fields                                                      */
/* ---------------------------------------------------------------- */

static void
test_header_flags(void **state)
{
    static const char msg[] = "header flags test";
    struct bytes z, h, u;
    struct mtasts_diag d;
    size_t pos, body;
    uint32_t crc;

    (void)state;
    z = our_gzip((const uint8_t *)msg, sizeof(msg) - 1, 6);
    body = z.n - 10;
    h.p = malloc(z.n + 64);
    assert_non_null(h.p);
    memcpy(h.p, z.p, 10);
    h.p[3] = 0x1f; /* FTEXT FHCRC FEXTRA FNAME FCOMMENT */
    pos = 10;
    h.p[pos++] = 5; /* XLEN */
    h.p[pos++] = 0;
    memcpy(h.p + pos, "AB\x01\x00Z", 5);
    pos += 5;
    memcpy(h.p + pos, "name.json", 10);
    pos += 10;
    memcpy(h.p + pos, "a comment", 10);
    pos += 10;
    crc = ref_crc32(h.p, pos);
    h.p[pos++] = (uint8_t)crc;
    h.p[pos++] = (uint8_t)(crc >> 8);
    memcpy(h.p + pos, z.p + 10, body);
    h.n = pos + body;
    assert_int_equal(gunzip_rc(h.p, h.n, 100, &u, &d), MTASTS_OK);
    assert_int_equal(u.n, sizeof(msg) - 1);
    assert_memory_equal(u.p, msg, u.n);
    bytes_free(&u);
    /* a wrong header CRC */
    h.p[pos - 1] ^= 1;
    assert_int_equal(gunzip_rc(h.p, h.n, 100, NULL, &d), MTASTS_ESYNTAX);
    assert_int_equal(d.offset, pos - 2);
    h.p[pos - 1] ^= 1;
    /* each reserved flag */
    for (crc = 0x20; crc <= 0x80; crc <<= 1) {
        h.p[3] = (uint8_t)(0x1f | crc);
        assert_int_equal(gunzip_rc(h.p, h.n, 100, NULL, &d), MTASTS_ESYNTAX);
        assert_int_equal(d.reason, MTASTS_R_FIELD);
        assert_int_equal(d.offset, 3);
    }
    bytes_free(&h);
    /* bad magic and method */
    z.p[0] = 0x1e;
    assert_int_equal(gunzip_rc(z.p, z.n, 100, NULL, &d), MTASTS_ESYNTAX);
    assert_int_equal(d.reason, MTASTS_R_VERSION);
    assert_int_equal(d.offset, 0);
    z.p[0] = 0x1f;
    z.p[1] = 0x8c;
    assert_int_equal(gunzip_rc(z.p, z.n, 100, NULL, &d), MTASTS_ESYNTAX);
    assert_int_equal(d.reason, MTASTS_R_VERSION);
    assert_int_equal(d.offset, 1);
    z.p[1] = 0x8b;
    z.p[2] = 7;
    assert_int_equal(gunzip_rc(z.p, z.n, 100, NULL, &d), MTASTS_ESYNTAX);
    assert_int_equal(d.reason, MTASTS_R_VERSION);
    assert_int_equal(d.offset, 2);
    bytes_free(&z);
}

/* CRC, ISIZE, trailing bytes, truncation at every length. */
static void
test_trailer_and_truncation(void **state)
{
    struct bytes in = data_text(3000, 5), z, t;
    struct mtasts_diag d;
    size_t i, n;

    (void)state;
    z = our_gzip(in.p, in.n, 6);
    n = z.n;
    z.p[n - 8] ^= 0x40; /* CRC */
    assert_int_equal(gunzip_rc(z.p, n, in.n, NULL, &d), MTASTS_ESYNTAX);
    assert_int_equal(d.offset, n - 8);
    assert_int_equal(d.reason, MTASTS_R_CHECKSUM);
    z.p[n - 8] ^= 0x40;
    z.p[n - 2] ^= 0x01; /* ISIZE */
    assert_int_equal(gunzip_rc(z.p, n, 1 << 20, NULL, &d), MTASTS_ESYNTAX);
    assert_int_equal(d.offset, n - 4);
    assert_int_equal(d.reason, MTASTS_R_CHECKSUM);
    z.p[n - 2] ^= 0x01;
    /* one byte after the member, and a second member */
    t.p = malloc(2 * n);
    assert_non_null(t.p);
    memcpy(t.p, z.p, n);
    memcpy(t.p + n, z.p, n);
    assert_int_equal(gunzip_rc(t.p, n + 1, in.n, NULL, &d), MTASTS_ESYNTAX);
    assert_int_equal(d.offset, n);
    assert_int_equal(d.reason, MTASTS_R_TRAILING);
    assert_int_equal(gunzip_rc(t.p, 2 * n, 2 * in.n, NULL, &d), MTASTS_ESYNTAX);
    bytes_free(&t);
    assert_int_equal(gunzip_rc(z.p, n, in.n, NULL, &d), MTASTS_OK);
    /* every proper prefix fails, reading nothing past its end (the copy
     * is exactly i bytes for ASan and valgrind) */
    for (i = 0; i < n; i++) {
        uint8_t *cut = malloc(i + 1);

        assert_non_null(cut);
        memcpy(cut, z.p, i);
        assert_int_equal(gunzip_rc(i > 0 ? cut : NULL, i, in.n, NULL, &d),
                         MTASTS_ESYNTAX);
        /* a cut header, or a cut stream or trailer */
        assert_true(d.reason == MTASTS_R_TRUNCATED ||
                    (i == 0 && d.reason == MTASTS_R_EMPTY) ||
                    (i < 3 && d.reason == MTASTS_R_VERSION));
        free(cut);
    }
    bytes_free(&z);
    bytes_free(&in);
}

/* Every byte of small streams flipped, and every single bit of one:
 * an error or the right output, never a crash or an over-read. */
static void
flip_all(const uint8_t *in, size_t n, int level, int bits)
{
    struct bytes z = our_gzip(in, n, level), u;
    struct mtasts_diag d;
    size_t i, ok = 0, bad = 0;
    unsigned b, nflips = bits ? 8 : 1;
    uint8_t *copy = malloc(z.n);
    int rc;

    assert_non_null(copy);
    for (i = 0; i < z.n; i++) {
        for (b = 0; b < nflips; b++) {
            memcpy(copy, z.p, z.n);
            copy[i] = (uint8_t)(copy[i] ^ (bits ? (1u << b) : 0xffu));
            rc = gunzip_rc(copy, z.n, 2 * n + 64, &u, &d);
            if (rc == MTASTS_OK) {
                /* only header fields that carry no check (MTIME, XFL,
                 * OS, FTEXT) may change without an error */
                assert_int_equal(u.n, n);
                assert_memory_equal(u.p, in, n);
                bytes_free(&u);
                ok++;
            } else {
                assert_true(rc == MTASTS_ESYNTAX || rc == MTASTS_ETOOBIG);
                bad++;
            }
        }
    }
    print_message("flips on %zu-byte level-%d stream: %zu ok, %zu errors\n",
                  z.n, level, ok, bad);
    free(copy);
    bytes_free(&z);
}

static void
test_flipped_bytes(void **state)
{
    static const char small[] = "Hello, hello, hello! MTA-STS, TLS-RPT.";
    struct bytes t = data_text(2000, 77), r = data_random(300, 3);

    (void)state;
    flip_all((const uint8_t *)small, sizeof(small) - 1, 6, 1);
    flip_all((const uint8_t *)small, sizeof(small) - 1, 0, 1);
    flip_all(t.p, t.n, 6, 1);
    flip_all(t.p, t.n, 1, 0);
    flip_all(r.p, r.n, 9, 0);
    bytes_free(&t);
    bytes_free(&r);
}

/* ---------------------------------------------------------------- */
/* Hand-made DEFLATE streams                                          */
/* ---------------------------------------------------------------- */

/* Fixed-code symbols (RFC 1951 3.2.6). */
static void
fixed_sym(struct bitw *w, unsigned sym)
{
    if (sym < 144)
        bw_code(w, 0x30 + sym, 8);
    else if (sym < 256)
        bw_code(w, 0x190 + sym - 144, 9);
    else if (sym < 280)
        bw_code(w, sym - 256, 7);
    else
        bw_code(w, 0xc0 + sym - 280, 8);
}

static int
inflate_crafted(struct bitw *w, const char *expect, size_t max_out,
                struct mtasts_diag *d)
{
    size_t el = expect != NULL ? strlen(expect) : 0;
    struct bytes g, u;
    int rc;

    bw_align(w);
    g = gz_wrap(w->p, w->n, ref_crc32((const uint8_t *)expect, el),
                (uint32_t)el);
    rc = gunzip_rc(g.p, g.n, max_out, &u, d);
    if (rc == MTASTS_OK) {
        assert_non_null(expect);
        assert_int_equal(u.n, el);
        assert_memory_equal(u.p, expect, el);
        bytes_free(&u);
    }
    bytes_free(&g);
    free(w->p);
    bw_init(w);
    return rc;
}

static void
test_crafted_fixed_and_stored(void **state)
{
    struct mtasts_diag d;
    struct bitw w;

    (void)state;
    bw_init(&w);
    /* fixed: "A" then length 3 distance 1 -> "AAAA" */
    bw_bits(&w, 1, 1);
    bw_bits(&w, 1, 2);
    fixed_sym(&w, 'A');
    fixed_sym(&w, 257);
    bw_code(&w, 0, 5);
    fixed_sym(&w, 256);
    assert_int_equal(inflate_crafted(&w, "AAAA", 100, &d), MTASTS_OK);
    /* distance 2 with one byte of output */
    bw_bits(&w, 1, 1);
    bw_bits(&w, 1, 2);
    fixed_sym(&w, 'A');
    fixed_sym(&w, 257);
    bw_code(&w, 1, 5);
    fixed_sym(&w, 256);
    assert_int_equal(inflate_crafted(&w, NULL, 100, &d), MTASTS_ESYNTAX);
    assert_int_equal(d.reason, MTASTS_R_DEFLATE);
    /* length symbols 286 and 287 */
    for (unsigned s = 286; s <= 287; s++) {
        bw_bits(&w, 1, 1);
        bw_bits(&w, 1, 2);
        fixed_sym(&w, 'A');
        fixed_sym(&w, s);
        bw_code(&w, 0, 5);
        fixed_sym(&w, 256);
        assert_int_equal(inflate_crafted(&w, NULL, 100, &d), MTASTS_ESYNTAX);
    }
    /* distance codes 30 and 31 */
    for (unsigned s = 30; s <= 31; s++) {
        bw_bits(&w, 1, 1);
        bw_bits(&w, 1, 2);
        fixed_sym(&w, 'A');
        fixed_sym(&w, 257);
        bw_code(&w, s, 5);
        fixed_sym(&w, 256);
        assert_int_equal(inflate_crafted(&w, NULL, 100, &d), MTASTS_ESYNTAX);
    }
    /* reserved block type 3 */
    bw_bits(&w, 1, 1);
    bw_bits(&w, 3, 2);
    assert_int_equal(inflate_crafted(&w, NULL, 100, &d), MTASTS_ESYNTAX);
    assert_int_equal(d.offset, 10);
    /* stored: LEN/NLEN mismatch, then a good one after an empty
     * non-final block */
    bw_bits(&w, 1, 1);
    bw_bits(&w, 0, 2);
    bw_align(&w);
    bw_byte(&w, 2);
    bw_byte(&w, 0);
    bw_byte(&w, 0xfd);
    bw_byte(&w, 0xfe);
    bw_byte(&w, 'h');
    bw_byte(&w, 'i');
    assert_int_equal(inflate_crafted(&w, NULL, 100, &d), MTASTS_ESYNTAX);
    assert_int_equal(d.offset, 11);
    bw_bits(&w, 0, 1);
    bw_bits(&w, 0, 2);
    bw_align(&w);
    bw_byte(&w, 0);
    bw_byte(&w, 0);
    bw_byte(&w, 0xff);
    bw_byte(&w, 0xff);
    bw_bits(&w, 1, 1);
    bw_bits(&w, 0, 2);
    bw_align(&w);
    bw_byte(&w, 2);
    bw_byte(&w, 0);
    bw_byte(&w, 0xfd);
    bw_byte(&w, 0xff);
    bw_byte(&w, 'h');
    bw_byte(&w, 'i');
    assert_int_equal(inflate_crafted(&w, "hi", 100, &d), MTASTS_OK);
    /* stored LEN past the input */
    bw_bits(&w, 1, 1);
    bw_bits(&w, 0, 2);
    bw_align(&w);
    bw_byte(&w, 200);
    bw_byte(&w, 0);
    bw_byte(&w, 55);
    bw_byte(&w, 0xff);
    assert_int_equal(inflate_crafted(&w, NULL, 1000, &d), MTASTS_ESYNTAX);
    /* the cap: exactly the output size passes, one less fails */
    bw_bits(&w, 1, 1);
    bw_bits(&w, 1, 2);
    fixed_sym(&w, 'A');
    fixed_sym(&w, 257);
    bw_code(&w, 0, 5);
    fixed_sym(&w, 256);
    assert_int_equal(inflate_crafted(&w, "AAAA", 4, &d), MTASTS_OK);
    bw_bits(&w, 1, 1);
    bw_bits(&w, 1, 2);
    fixed_sym(&w, 'A');
    fixed_sym(&w, 257);
    bw_code(&w, 0, 5);
    fixed_sym(&w, 256);
    assert_int_equal(inflate_crafted(&w, "AAAA", 3, &d), MTASTS_ETOOBIG);
    assert_int_equal(d.reason, MTASTS_R_TOO_BIG);
    bw_bits(&w, 1, 1);
    bw_bits(&w, 1, 2);
    fixed_sym(&w, 'A');
    fixed_sym(&w, 256);
    assert_int_equal(inflate_crafted(&w, "A", 0, &d), MTASTS_ETOOBIG);
    bw_bits(&w, 1, 1);
    bw_bits(&w, 1, 2);
    fixed_sym(&w, 256);
    assert_int_equal(inflate_crafted(&w, "", 0, &d), MTASTS_OK);
}

/* Dynamic block header. clen: the 19 code length code lengths (all are
 * sent); seq: code length symbols with their extra bits (-1: none). */
static void
dyn_header(struct bitw *w, int final, unsigned hlit, unsigned hdist,
           const uint8_t *clen, const int (*seq)[2], size_t nseq)
{
    static const uint8_t order[19] = {16, 17, 18, 0, 8,  7, 9,  6, 10, 5,
                                      11, 4,  12, 3, 13, 2, 14, 1, 15};
    uint32_t codes[19];
    size_t i;

    bw_bits(w, final ? 1u : 0u, 1);
    bw_bits(w, 2, 2);
    bw_bits(w, hlit - 257, 5);
    bw_bits(w, hdist - 1, 5);
    bw_bits(w, 19 - 4, 4);
    for (i = 0; i < 19; i++)
        bw_bits(w, clen[order[i]], 3);
    canon_codes(clen, 19, codes);
    for (i = 0; i < nseq; i++) {
        unsigned s = (unsigned)seq[i][0];

        bw_code(w, codes[s], clen[s]);
        if (s == 16)
            bw_bits(w, (uint32_t)seq[i][1], 2);
        else if (s == 17)
            bw_bits(w, (uint32_t)seq[i][1], 3);
        else if (s == 18)
            bw_bits(w, (uint32_t)seq[i][1], 7);
    }
}

/* Code length sequence for lens[0..n) using 0-15 and 18 only. */
static size_t
lens_seq(const uint8_t *lens, size_t n, int (*seq)[2])
{
    size_t i = 0, k = 0, run;

    while (i < n) {
        if (lens[i] == 0) {
            for (run = 0; i + run < n && lens[i + run] == 0 && run < 138;)
                run++;
            if (run >= 11) {
                seq[k][0] = 18;
                seq[k++][1] = (int)(run - 11);
                i += run;
                continue;
            }
        }
        seq[k][0] = lens[i++];
        seq[k++][1] = -1;
    }
    return k;
}

/* A complete code length code covering 0..15 and 18: 0-13 at 4 bits
 * (14/16), 14 and 15 at 5 bits (1/16), 18 at 4 bits (1/16). */
static void
std_clen(uint8_t *clen)
{
    unsigned i;

    memset(clen, 0, 19);
    for (i = 0; i <= 13; i++)
        clen[i] = 4; /* 14/16 */
    clen[14] = 5;    /* 1/32 */
    clen[15] = 5;    /* 1/32 */
    clen[18] = 4;    /* 1/16 -> total 1 */
}

/* A dynamic block with the given lengths, then the symbols in data
 * (lit/len symbol, or -2 followed by a distance code). */
static void
dyn_block(struct bitw *w, const uint8_t *ll, unsigned hlit, const uint8_t *dl,
          unsigned hdist, const int *data, size_t nd)
{
    uint8_t lens[316], clen[19];
    int seq[400][2];
    uint32_t lc[286], dc[30];
    size_t ns, i;

    memcpy(lens, ll, hlit);
    memcpy(lens + hlit, dl, hdist);
    std_clen(clen);
    ns = lens_seq(lens, hlit + hdist, seq);
    dyn_header(w, 1, hlit, hdist, clen, (const int(*)[2])seq, ns);
    canon_codes(ll, hlit, lc);
    canon_codes(dl, hdist, dc);
    for (i = 0; i < nd; i++) {
        if (data[i] == -2) {
            i++;
            bw_code(w, dc[data[i]], dl[data[i]]);
        } else {
            bw_code(w, lc[data[i]], ll[data[i]]);
        }
    }
}

static void
test_crafted_dynamic(void **state)
{
    uint8_t ll[286], dl[30], clen[19];
    int seq[4][2];
    struct mtasts_diag d;
    struct bitw w;
    static const int aaaa[] = {'A', 257, -2, 0, 256};
    static const int aa[] = {'A', 'A', 256};

    (void)state;
    bw_init(&w);
    /* a single distance code of one bit (allowed, RFC 1951 3.2.7) */
    memset(ll, 0, sizeof(ll));
    memset(dl, 0, sizeof(dl));
    ll['A'] = 1;
    ll[256] = 2;
    ll[257] = 2;
    dl[0] = 1;
    dyn_block(&w, ll, 286, dl, 1, aaaa, 5);
    assert_int_equal(inflate_crafted(&w, "AAAA", 100, &d), MTASTS_OK);
    /* no distance code at all, literals only */
    ll[257] = 0;
    ll[256] = 1;
    dl[0] = 0;
    dyn_block(&w, ll, 257, dl, 1, aa, 3);
    assert_int_equal(inflate_crafted(&w, "AA", 100, &d), MTASTS_OK);
    /* ... but then a length symbol has no distance to use */
    ll['A'] = 1;
    ll[256] = 2;
    ll[257] = 2;
    dyn_block(&w, ll, 286, dl, 1, aaaa, 3);
    bw_bits(&w, 0, 8);
    assert_int_equal(inflate_crafted(&w, NULL, 100, &d), MTASTS_ESYNTAX);
    /* over-subscribed literal/length code */
    ll[256] = 1;
    dl[0] = 1;
    dyn_block(&w, ll, 286, dl, 1, aa, 0);
    bw_bits(&w, 0, 16);
    assert_int_equal(inflate_crafted(&w, NULL, 100, &d), MTASTS_ESYNTAX);
    /* incomplete literal/length code (1/2 + 1/4) */
    ll[256] = 2;
    ll[257] = 0;
    dyn_block(&w, ll, 286, dl, 1, aa, 3);
    assert_int_equal(inflate_crafted(&w, NULL, 100, &d), MTASTS_ESYNTAX);
    /* incomplete distance code of two codes (1/2 + 1/4) */
    ll[257] = 2;
    dl[0] = 1;
    dl[1] = 2;
    dyn_block(&w, ll, 286, dl, 2, aaaa, 5);
    assert_int_equal(inflate_crafted(&w, NULL, 100, &d), MTASTS_ESYNTAX);
    /* no end-of-block code */
    memset(ll, 0, sizeof(ll));
    memset(dl, 0, sizeof(dl));
    ll['A'] = 1;
    ll['B'] = 1;
    dl[0] = 1;
    dyn_block(&w, ll, 286, dl, 1, aa, 2);
    assert_int_equal(inflate_crafted(&w, NULL, 100, &d), MTASTS_ESYNTAX);
    /* HLIT 287 and 288, HDIST 31 and 32 */
    std_clen(clen);
    seq[0][0] = 1;
    seq[0][1] = -1;
    dyn_header(&w, 1, 287, 1, clen, (const int(*)[2])seq, 1);
    bw_bits(&w, 0, 32);
    assert_int_equal(inflate_crafted(&w, NULL, 100, &d), MTASTS_ESYNTAX);
    dyn_header(&w, 1, 288, 1, clen, (const int(*)[2])seq, 1);
    bw_bits(&w, 0, 32);
    assert_int_equal(inflate_crafted(&w, NULL, 100, &d), MTASTS_ESYNTAX);
    dyn_header(&w, 1, 257, 31, clen, (const int(*)[2])seq, 1);
    bw_bits(&w, 0, 32);
    assert_int_equal(inflate_crafted(&w, NULL, 100, &d), MTASTS_ESYNTAX);
    dyn_header(&w, 1, 257, 32, clen, (const int(*)[2])seq, 1);
    bw_bits(&w, 0, 32);
    assert_int_equal(inflate_crafted(&w, NULL, 100, &d), MTASTS_ESYNTAX);
    /* repeat (16) with no previous length */
    memset(clen, 0, sizeof(clen));
    clen[16] = 1;
    clen[1] = 1;
    seq[0][0] = 16;
    seq[0][1] = 0;
    dyn_header(&w, 1, 257, 1, clen, (const int(*)[2])seq, 1);
    bw_bits(&w, 0, 32);
    assert_int_equal(inflate_crafted(&w, NULL, 100, &d), MTASTS_ESYNTAX);
    /* a zero run (18, 138) past HLIT + HDIST = 258 */
    memset(clen, 0, sizeof(clen));
    clen[18] = 1;
    clen[1] = 1;
    seq[0][0] = 18;
    seq[0][1] = 127;
    seq[1][0] = 18;
    seq[1][1] = 127;
    dyn_header(&w, 1, 257, 1, clen, (const int(*)[2])seq, 2);
    bw_bits(&w, 0, 32);
    assert_int_equal(inflate_crafted(&w, NULL, 100, &d), MTASTS_ESYNTAX);
    /* over-subscribed and incomplete code length codes */
    memset(clen, 0, sizeof(clen));
    clen[0] = clen[1] = clen[2] = 1;
    dyn_header(&w, 1, 257, 1, clen, (const int(*)[2])seq, 0);
    bw_bits(&w, 0, 32);
    assert_int_equal(inflate_crafted(&w, NULL, 100, &d), MTASTS_ESYNTAX);
    memset(clen, 0, sizeof(clen));
    clen[1] = 1;
    dyn_header(&w, 1, 257, 1, clen, (const int(*)[2])seq, 0);
    bw_bits(&w, 0, 32);
    assert_int_equal(inflate_crafted(&w, NULL, 100, &d), MTASTS_ESYNTAX);
}

/* ---------------------------------------------------------------- */
/* Decompression bomb                                                 */
/* ---------------------------------------------------------------- */

/* One dynamic block: a zero byte, then nmatch copies of length 258 at
 * distance 1, at 2 bits each (DEFLATE's best ratio is about 1032:1). */
static struct bytes
bomb(size_t nmatch, uint32_t crc, uint32_t isize)
{
    uint8_t ll[286], dl[30];
    static const int start[] = {0};
    struct bitw w;
    struct bytes g;
    uint32_t lc[286];
    size_t i;

    memset(ll, 0, sizeof(ll));
    memset(dl, 0, sizeof(dl));
    ll[0] = 2;
    ll[256] = 2;
    ll[285] = 1;
    dl[0] = 1;
    bw_init(&w);
    dyn_block(&w, ll, 286, dl, 1, start, 1);
    canon_codes(ll, 286, lc);
    for (i = 0; i < nmatch; i++) {
        bw_code(&w, lc[285], 1);
        bw_code(&w, 0, 1);
    }
    bw_code(&w, lc[256], 2);
    bw_align(&w);
    g = gz_wrap(w.p, w.n, crc, isize);
    free(w.p);
    return g;
}

static void
test_bomb(void **state)
{
    const size_t nmatch = 410000; /* 1 + 410000 * 258 > 100 MiB */
    const size_t cap = MTASTS_GUNZIP_MAX_DEFAULT;
    struct mtasts_diag d;
    struct bytes g, small;
    uint8_t *expect;
    size_t n = 1 + 1000 * 258;

    (void)state;
    /* the construction itself, at a small size, inflates correctly */
    expect = calloc(n, 1);
    assert_non_null(expect);
    small = bomb(1000, ref_crc32(expect, n), (uint32_t)n);
    assert_int_equal(gunzip_rc(small.p, small.n, n, NULL, &d), MTASTS_OK);
    assert_int_equal(gunzip_rc(small.p, small.n, n - 1, NULL, &d),
                     MTASTS_ETOOBIG);
    bytes_free(&small);
    free(expect);
    /* about 100 KiB claiming (ISIZE) 100 MiB and more */
    g = bomb(nmatch, 0, (uint32_t)(1 + nmatch * 258));
    print_message("bomb: %zu bytes -> %zu bytes\n", g.n, 1 + nmatch * 258);
    assert_true(1 + nmatch * 258 > (size_t)100 << 20);
    harness_fail_at(-1); /* counters and peak from here */
    assert_int_equal(gunzip_rc(g.p, g.n, cap, NULL, &d), MTASTS_ETOOBIG);
    assert_int_equal(d.reason, MTASTS_R_TOO_BIG);
    assert_true(d.offset > 0 && d.offset < g.n);
    print_message("bomb: largest allocation %zu, peak live %zu, cap %zu\n",
                  harness_largest(), harness_peak_bytes(), cap);
    assert_true(harness_largest() <= cap + 64);
    assert_true(harness_peak_bytes() <= cap + 64 + 16384);
    /* and with a lying ISIZE of 0 the buffer grows to the cap only */
    bytes_free(&g);
    g = bomb(nmatch, 0, 0);
    harness_fail_at(-1); /* counters and peak from here */
    assert_int_equal(gunzip_rc(g.p, g.n, cap, NULL, &d), MTASTS_ETOOBIG);
    assert_true(harness_largest() <= cap + 64);
    assert_true(harness_peak_bytes() <= cap + 64 + 16384);
    /* a tiny cap */
    assert_int_equal(gunzip_rc(g.p, g.n, 1000, NULL, &d), MTASTS_ETOOBIG);
    bytes_free(&g);
}

/* ---------------------------------------------------------------- */
/* Corpus                                                             */
/* ---------------------------------------------------------------- */

/* The .json.gz reports of the corpus inflate to exactly the .json files
 * the MANIFEST derives from them ("gunzipped"). */
static void
test_corpus_reports(void **state)
{
    struct bytes man = read_src("corpus/MANIFEST.tsv"), gz, js, u;
    struct mtasts_diag d;
    char *line, *save = NULL, *tab, path[1024], want[1024];
    size_t checked = 0, compared = 0;

    (void)state;
    assert_non_null(man.p);
    man.p = realloc(man.p, man.n + 1);
    assert_non_null(man.p);
    man.p[man.n] = 0;
    for (line = strtok_r((char *)man.p, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        size_t l;

        tab = strchr(line, '\t');
        if (tab == NULL)
            continue;
        l = (size_t)(tab - line);
        if (l < 8 || l >= sizeof(path) - 16 ||
            memcmp(line + l - 8, ".json.gz", 8) != 0)
            continue;
        snprintf(path, sizeof(path), "corpus/%.*s", (int)l, line);
        gz = read_src(path);
        assert_non_null(gz.p);
        assert_int_equal(
            gunzip_rc(gz.p, gz.n, MTASTS_GUNZIP_MAX_DEFAULT, &u, &d),
            MTASTS_OK);
        checked++;
        /* the .json row derived from this attachment, if any */
        snprintf(want, sizeof(want), "\n%.*s\t", (int)(l - 3), line);
        {
            struct bytes m2 = read_src("corpus/MANIFEST.tsv");
            char *row;

            assert_non_null(m2.p);
            m2.p = realloc(m2.p, m2.n + 1);
            assert_non_null(m2.p);
            m2.p[m2.n] = 0;
            row = strstr((char *)m2.p, want);
            if (row != NULL) {
                char *eol = strchr(row + 1, '\n');

                if (eol != NULL)
                    *eol = 0;
                if (strstr(row, "gunzipped") != NULL) {
                    snprintf(path, sizeof(path), "corpus/%.*s", (int)(l - 3),
                             line);
                    js = read_src(path);
                    assert_non_null(js.p);
                    assert_int_equal(u.n, js.n);
                    assert_memory_equal(u.p, js.p, js.n);
                    bytes_free(&js);
                    compared++;
                }
            }
            bytes_free(&m2);
        }
#ifdef HAVE_ZLIB
        {
            struct bytes z = zlib_inflate(gz.p, gz.n, u.n);

            assert_int_equal(z.n, u.n);
            assert_memory_equal(z.p, u.p, u.n);
            bytes_free(&z);
        }
#endif
        bytes_free(&u);
        bytes_free(&gz);
    }
    print_message("corpus: %zu .json.gz inflated, %zu compared with their "
                  ".json\n",
                  checked, compared);
    assert_true(checked >= 10);
    assert_true(compared >= 10);
    bytes_free(&man);
}

/* ---------------------------------------------------------------- */
/* Report requirements                                                */
/* ---------------------------------------------------------------- */

/* RPT-DELIV-4: output starts 1f 8b 08; system gunzip (or zlib) yields
 * the same bytes; a report of 100 failure details compresses to less
 * than half its size. */
static void
test_rpt_deliv_4(void **state)
{
    struct bytes rep = data_report(0, 100), z, u;
    int checked = 0;

    (void)state;
    z = our_gzip(rep.p, rep.n, 6);
    assert_int_equal(z.p[0], 0x1f);
    assert_int_equal(z.p[1], 0x8b);
    assert_int_equal(z.p[2], 0x08);
    print_message("RPT-DELIV-4: report of 100 details, %zu -> %zu bytes "
                  "(%.1f%%)\n",
                  rep.n, z.n, 100.0 * (double)z.n / (double)rep.n);
    assert_true(z.n * 2 < rep.n);
    if (sys_gzip_available()) {
        u = sys_gzip("-dc", z.p, z.n);
        assert_non_null(u.p);
        assert_int_equal(u.n, rep.n);
        assert_memory_equal(u.p, rep.p, rep.n);
        bytes_free(&u);
        checked++;
    }
#ifdef HAVE_ZLIB
    u = zlib_inflate(z.p, z.n, rep.n);
    assert_int_equal(u.n, rep.n);
    assert_memory_equal(u.p, rep.p, rep.n);
    bytes_free(&u);
    checked++;
#endif
    if (checked == 0)
        skip();
    bytes_free(&z);
    bytes_free(&rep);
}

/* RPT-AGG-15: the same report gives identical gzip bytes, at every
 * level, from separate calls and separate contexts. */
static void
test_rpt_agg_15(void **state)
{
    struct bytes rep = data_report(0, 100), a, b;
    mtasts_ctx *c2;
    mtasts_buf *z;
    const uint8_t *p;
    size_t n;
    int level;

    (void)state;
    assert_int_equal(mtasts_ctx_new(NULL, &c2), MTASTS_OK);
    for (level = 0; level <= 9; level++) {
        a = our_gzip(rep.p, rep.n, level);
        b = our_gzip(rep.p, rep.n, level);
        assert_int_equal(a.n, b.n);
        assert_memory_equal(a.p, b.p, a.n);
        assert_int_equal(mtasts_gzip(c2, rep.p, rep.n, level, &z), MTASTS_OK);
        p = mtasts_buf_data(z, &n);
        assert_int_equal(n, a.n);
        assert_memory_equal(p, a.p, n);
        assert_int_equal(p[4] | p[5] | p[6] | p[7], 0); /* MTIME 0 */
        mtasts_buf_free(z);
        bytes_free(&a);
        bytes_free(&b);
    }
    mtasts_ctx_free(c2);
    bytes_free(&rep);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_api_misuse, setup, teardown),
        cmocka_unit_test_setup_teardown(test_round_trip_small, setup, teardown),
        cmocka_unit_test_setup_teardown(test_round_trip_rfc_texts, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_round_trip_generated, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_no_realloc, setup, teardown),
        cmocka_unit_test_setup_teardown(test_interop_system_gzip, setup,
                                        teardown),
#ifdef HAVE_ZLIB
        cmocka_unit_test_setup_teardown(test_interop_zlib, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ratio_vs_zlib, setup, teardown),
#endif
        cmocka_unit_test_setup_teardown(test_header_flags, setup, teardown),
        cmocka_unit_test_setup_teardown(test_trailer_and_truncation, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_flipped_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crafted_fixed_and_stored, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_crafted_dynamic, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bomb, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corpus_reports, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rpt_deliv_4, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rpt_agg_15, setup, teardown),
    };

    return cmocka_run_group_tests_name("gzip", tests, NULL, NULL);
}
