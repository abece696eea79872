/*
 * Shared helpers of the gzip suites: test data, a reference CRC-32, a
 * DEFLATE bit writer for hand-made streams, files and system gzip.
 */
#ifndef GZIP_TEST_GZT_H
#define GZIP_TEST_GZT_H

#include <stddef.h>
#include <stdint.h>

#include "mtasts.h"

/* A byte string owned by the test (malloc). */
struct bytes {
    uint8_t *p;
    size_t n;
};

void bytes_free(struct bytes *b);

/* Whole file, or p NULL when it cannot be read. */
struct bytes read_file(const char *path);
/* path under the source root (corpus/..., doc/spec/...) */
struct bytes read_src(const char *rel);

/* Bitwise reference CRC-32 (RFC 1952 8). */
uint32_t ref_crc32(const uint8_t *p, size_t n);

/* Test data. */
struct bytes data_random(size_t n, uint32_t seed);
struct bytes data_repeat(size_t n, const char *unit);
/* English-like text from a small vocabulary. */
struct bytes data_text(size_t n, uint32_t seed);
/* A TLS-RPT-shaped JSON report of at least n bytes (n = 0: exactly
 * details failure-details entries). */
struct bytes data_report(size_t n, unsigned details);

/* DEFLATE bit writer. */
struct bitw {
    uint8_t *p;
    size_t n, cap;
    uint32_t bb;
    unsigned bc;
};

void bw_init(struct bitw *w);
/* value LSB first (header fields, extra bits) */
void bw_bits(struct bitw *w, uint32_t v, unsigned n);
/* Huffman code, most significant bit first */
void bw_code(struct bitw *w, uint32_t code, unsigned len);
void bw_align(struct bitw *w);
void bw_byte(struct bitw *w, uint8_t b);
/* Canonical codes for lens[0..n). */
void canon_codes(const uint8_t *lens, unsigned n, uint32_t *codes);

/* gzip member around raw DEFLATE data: header with flags 0, trailer with
 * the given CRC and ISIZE. */
struct bytes gz_wrap(const uint8_t *def, size_t n, uint32_t crc,
                     uint32_t isize);

/* System gzip: 1 when "gzip" runs. */
int sys_gzip_available(void);
/* Run "gzip ARGS" with input on stdin; output, or p NULL on failure. */
struct bytes sys_gzip(const char *args, const uint8_t *in, size_t n);

#endif
