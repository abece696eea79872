/*
 * bench_gzip: libmtasts gzip/DEFLATE against zlib, in the same run.
 *
 *   inflate   mtasts_gunzip vs zlib inflate (windowBits 31, output
 *             buffer allocated per call as mtasts_gunzip does) on every
 *             .json.gz report of corpus/reports, on 1 MiB and
 *             8 MiB synthetic TLS-RPT JSON compressed by zlib level 6
 *   deflate   mtasts_gzip level 6 vs zlib level 6 (gzip framing): time,
 *             and output size (the target is size)
 *
 * Every case runs in many batches, interleaving ours and zlib's; a batch
 * lasts about --batch-ms and the figure is the median ns per call over
 * the batches. zlib is linked into this benchmark only.
 *
 * Options: --batches N (default 21), --batch-ms MS (default 20), --json,
 * --corpus DIR (the reports directory; default corpus/reports of the
 * source tree, set at build time).
 * Timings are never asserted: the exit status is 0 unless a self-check
 * (both inflaters giving the same bytes) fails.
 */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "bench_util.h"
#include "mtasts.h"

#ifndef BENCH_SRC_DIR
#define BENCH_SRC_DIR "."
#endif

#define MAX_BATCHES 1001

static int batches = 21;
static double batch_ms = 20;
static int json;
static mtasts_ctx *ctx;
static volatile size_t g_sink;

struct input {
    char name[128];
    uint8_t *raw; /* uncompressed */
    size_t raw_len;
    uint8_t *gz; /* zlib level 6 gzip, or the corpus file */
    size_t gz_len;
};

static void
die(const char *what)
{
    fprintf(stderr, "bench_gzip: %s\n", what);
    exit(1);
}

static uint8_t *
read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *p = NULL;
    size_t cap = 0, got;

    *len = 0;
    if (f == NULL)
        return NULL;
    for (;;) {
        if (*len == cap) {
            cap = cap != 0 ? cap * 2 : 65536;
            p = realloc(p, cap);
            if (p == NULL)
                die("out of memory");
        }
        got = fread(p + *len, 1, cap - *len, f);
        if (got == 0)
            break;
        *len += got;
    }
    fclose(f);
    return p;
}

static uint8_t *
zlib_gzip(const uint8_t *in, size_t n, int level, size_t *ret_len)
{
    z_stream zs;
    uint8_t *out;
    size_t cap;

    memset(&zs, 0, sizeof(zs));
    if (deflateInit2(&zs, level, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        die("deflateInit2");
    cap = deflateBound(&zs, (uLong)n);
    out = malloc(cap);
    if (out == NULL)
        die("out of memory");
    zs.next_in = (Bytef *)(uintptr_t)in;
    zs.avail_in = (uInt)n;
    zs.next_out = out;
    zs.avail_out = (uInt)cap;
    if (deflate(&zs, Z_FINISH) != Z_STREAM_END)
        die("deflate");
    *ret_len = zs.total_out;
    deflateEnd(&zs);
    return out;
}

/* zlib inflate of a gzip member into a buffer allocated for the call
 * (ISIZE bytes), as mtasts_gunzip does. */
static size_t
zlib_gunzip(const uint8_t *in, size_t n, uint8_t **ret)
{
    size_t isize = (size_t)in[n - 4] | (size_t)in[n - 3] << 8 |
                   (size_t)in[n - 2] << 16 | (size_t)in[n - 1] << 24;
    uint8_t *out = malloc(isize + 1);
    z_stream zs;
    size_t got;

    if (out == NULL)
        die("out of memory");
    memset(&zs, 0, sizeof(zs));
    if (inflateInit2(&zs, 31) != Z_OK)
        die("inflateInit2");
    zs.next_in = (Bytef *)(uintptr_t)in;
    zs.avail_in = (uInt)n;
    zs.next_out = out;
    zs.avail_out = (uInt)(isize + 1);
    if (inflate(&zs, Z_FINISH) != Z_STREAM_END)
        die("zlib inflate failed");
    got = zs.total_out;
    inflateEnd(&zs);
    if (ret != NULL)
        *ret = out;
    else
        free(out);
    return got;
}

static size_t
our_gunzip(const uint8_t *in, size_t n)
{
    mtasts_buf *b;
    size_t len;

    if (mtasts_gunzip(ctx, in, n, (size_t)1 << 30, &b, NULL) != MTASTS_OK)
        die("mtasts_gunzip failed");
    (void)mtasts_buf_data(b, &len);
    mtasts_buf_free(b);
    return len;
}

static size_t
our_gzip_len(const uint8_t *in, size_t n, int level)
{
    mtasts_buf *b;
    size_t len;

    if (mtasts_gzip(ctx, in, n, level, &b) != MTASTS_OK)
        die("mtasts_gzip failed");
    (void)mtasts_buf_data(b, &len);
    mtasts_buf_free(b);
    return len;
}

static size_t
zlib_gzip_len(const uint8_t *in, size_t n, int level)
{
    size_t len;

    free(zlib_gzip(in, n, level, &len));
    return len;
}

enum op {
    OP_OURS_INF,
    OP_ZLIB_INF,
    OP_OURS_DEF,
    OP_ZLIB_DEF
};

static void
run_op(enum op op, const struct input *in)
{
    switch (op) {
    case OP_OURS_INF:
        g_sink += our_gunzip(in->gz, in->gz_len);
        break;
    case OP_ZLIB_INF:
        g_sink += zlib_gunzip(in->gz, in->gz_len, NULL);
        break;
    case OP_OURS_DEF:
        g_sink += our_gzip_len(in->raw, in->raw_len, 6);
        break;
    case OP_ZLIB_DEF:
        g_sink += zlib_gzip_len(in->raw, in->raw_len, 6);
        break;
    }
}

/* Median ns per call of ops a and b, interleaved batch by batch. */
static void
measure(enum op a, enum op b, const struct input *in, double *ma, double *mb)
{
    static double ta[MAX_BATCHES], tb[MAX_BATCHES];
    double t0, one;
    long iters, k;
    int i;

    /* calibrate on op a */
    t0 = bench_now_ns();
    run_op(a, in);
    one = bench_now_ns() - t0;
    iters = (long)(batch_ms * 1e6 / (one > 1 ? one : 1));
    if (iters < 1)
        iters = 1;
    for (i = 0; i < batches; i++) {
        t0 = bench_now_ns();
        for (k = 0; k < iters; k++)
            run_op(a, in);
        ta[i] = (bench_now_ns() - t0) / (double)iters;
        t0 = bench_now_ns();
        for (k = 0; k < iters; k++)
            run_op(b, in);
        tb[i] = (bench_now_ns() - t0) / (double)iters;
    }
    *ma = bench_sort_median(ta, (size_t)batches);
    *mb = bench_sort_median(tb, (size_t)batches);
}

/* Synthetic TLS-RPT JSON of at least n bytes. */
static uint8_t *
synth_json(size_t n, size_t *ret_len)
{
    static const char *const results[] = {
        "certificate-expired", "starttls-not-supported", "validation-failure",
        "certificate-host-mismatch", "sts-policy-fetch-error"};
    size_t cap = n + 4096, len = 0;
    uint8_t *p = malloc(cap);
    unsigned i;
    int w;

    if (p == NULL)
        die("out of memory");
    w = snprintf((char *)p, cap,
                 "{\"organization-name\":\"Example Mail Inc.\","
                 "\"date-range\":{\"start-datetime\":\"2024-05-01T00:00:00Z\","
                 "\"end-datetime\":\"2024-05-01T23:59:59Z\"},"
                 "\"contact-info\":\"tlsrpt@mail.example.net\","
                 "\"report-id\":\"2024-05-01_example.com\",\"policies\":[{"
                 "\"policy\":{\"policy-type\":\"sts\",\"policy-domain\":"
                 "\"example.com\"},\"failure-details\":[");
    len = (size_t)w;
    for (i = 0; len < n; i++) {
        w = snprintf((char *)p + len, cap - len,
                     "%s{\"result-type\":\"%s\",\"sending-mta-ip\":"
                     "\"192.0.2.%u\",\"receiving-mx-hostname\":"
                     "\"mx%u.example.com\",\"receiving-ip\":"
                     "\"198.51.100.%u\",\"failed-session-count\":%u}",
                     i == 0 ? "" : ",", results[(i * 7u) % 5u], i % 251u,
                     1u + i % 3u, (i * 37u) % 256u, 1u + (i * 7919u) % 1000u);
        len += (size_t)w;
    }
    memcpy(p + len, "]}]}", 4);
    *ret_len = len + 4;
    return p;
}

static struct input inputs[64];
static size_t ninputs;

static void
add_corpus(const char *dir)
{
    char path[8192];
    struct dirent *de;
    DIR *d = opendir(dir);
    size_t l;

    if (d == NULL)
        die("cannot open the corpus reports directory (--corpus DIR)");
    while ((de = readdir(d)) != NULL && ninputs < 60) {
        struct input *in = &inputs[ninputs];

        l = strlen(de->d_name);
        if (l < 9 || strcmp(de->d_name + l - 8, ".json.gz") != 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        in->gz = read_file(path, &in->gz_len);
        if (in->gz == NULL)
            die("cannot read a corpus file");
        in->raw_len = zlib_gunzip(in->gz, in->gz_len, &in->raw);
        snprintf(in->name, sizeof(in->name), "%.*s", (int)(l - 8), de->d_name);
        ninputs++;
    }
    closedir(d);
}

static void
add_synth(size_t n, const char *name)
{
    struct input *in = &inputs[ninputs++];

    in->raw = synth_json(n, &in->raw_len);
    in->gz = zlib_gzip(in->raw, in->raw_len, 6, &in->gz_len);
    snprintf(in->name, sizeof(in->name), "%s", name);
}

int
main(int argc, char **argv)
{
    const char *corpus = BENCH_SRC_DIR "/corpus/reports";
    double oi, zi, od, zd, worst_inf = 0, worst_size = 0;
    size_t i, os, zs, corpus_raw = 0, corpus_ours = 0, corpus_zlib = 0;
    int a;

    for (a = 1; a < argc; a++) {
        if (strcmp(argv[a], "--batches") == 0 && a + 1 < argc)
            batches = atoi(argv[++a]);
        else if (strcmp(argv[a], "--batch-ms") == 0 && a + 1 < argc)
            batch_ms = atof(argv[++a]);
        else if (strcmp(argv[a], "--json") == 0)
            json = 1;
        else if (strcmp(argv[a], "--corpus") == 0 && a + 1 < argc)
            corpus = argv[++a];
        else
            die("usage: bench_gzip [--batches N] [--batch-ms MS] [--json] "
                "[--corpus DIR]");
    }
    if (batches < 1 || batches > MAX_BATCHES)
        die("--batches out of range");
    if (mtasts_ctx_new(NULL, &ctx) != MTASTS_OK)
        die("mtasts_ctx_new");
    add_corpus(corpus);
    add_synth((size_t)1 << 20, "synthetic-json-1MiB");
    add_synth((size_t)8 << 20, "synthetic-json-8MiB");
    /* self-check: our inflater agrees with zlib's */
    for (i = 0; i < ninputs; i++)
        if (our_gunzip(inputs[i].gz, inputs[i].gz_len) != inputs[i].raw_len)
            die("self-check: output sizes differ");
    if (json)
        printf("{\"bench\":\"gzip\",\"batches\":%d,\"cases\":[\n", batches);
    else
        printf("%-44s %9s %10s %10s %6s | %8s %8s %6s %10s %10s\n", "input",
               "raw", "inf ours", "inf zlib", "ratio", "gz-6 us", "zlib-6",
               "size", "def ours", "def zlib");
    for (i = 0; i < ninputs; i++) {
        const struct input *in = &inputs[i];
        int synth = strncmp(in->name, "synthetic", 9) == 0;

        measure(OP_OURS_INF, OP_ZLIB_INF, in, &oi, &zi);
        measure(OP_OURS_DEF, OP_ZLIB_DEF, in, &od, &zd);
        os = our_gzip_len(in->raw, in->raw_len, 6);
        zs = zlib_gzip_len(in->raw, in->raw_len, 6);
        if (!synth) {
            corpus_raw += in->raw_len;
            corpus_ours += os;
            corpus_zlib += zs;
        }
        if (oi / zi > worst_inf)
            worst_inf = oi / zi;
        if ((double)os / (double)zs > worst_size)
            worst_size = (double)os / (double)zs;
        if (json)
            printf("%s{\"input\":\"%s\",\"raw\":%zu,\"inflate_ns\":%.0f,"
                   "\"zlib_inflate_ns\":%.0f,\"gzip6_bytes\":%zu,"
                   "\"zlib6_bytes\":%zu,\"deflate_ns\":%.0f,"
                   "\"zlib_deflate_ns\":%.0f}\n",
                   i == 0 ? "" : ",", in->name, in->raw_len, oi, zi, os, zs, od,
                   zd);
        else
            printf("%-44.44s %9zu %8.1fus %8.1fus %5.2fx | %8zu %8zu "
                   "%5.3fx %8.1fus %8.1fus\n",
                   in->name, in->raw_len, oi / 1e3, zi / 1e3, oi / zi, os, zs,
                   (double)os / (double)zs, od / 1e3, zd / 1e3);
    }
    if (json) {
        printf("],\"worst_inflate_ratio\":%.3f,\"worst_size_ratio\":%.3f}\n",
               worst_inf, worst_size);
    } else {
        printf("\ncorpus total: %zu bytes raw, ours-6 %zu, zlib-6 %zu "
               "(%.3fx)\n",
               corpus_raw, corpus_ours, corpus_zlib,
               (double)corpus_ours / (double)corpus_zlib);
        printf("worst inflate time ratio ours/zlib: %.2fx (target <= "
               "2.00x)\n",
               worst_inf);
        printf("worst gzip size ratio ours-6/zlib-6: %.3fx (target <= "
               "1.250x)\n",
               worst_size);
    }
    for (i = 0; i < ninputs; i++) {
        free(inputs[i].raw);
        free(inputs[i].gz);
    }
    mtasts_ctx_free(ctx);
    return 0;
}
