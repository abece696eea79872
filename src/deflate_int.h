/*
 * What the DEFLATE (RFC 1951) inflater (inflate.c), writer (deflate.c)
 * and the gzip (RFC 1952) member framing (gzip.c) share. Internal; not
 * installed. The code tables are small and static in each user.
 */
#ifndef MTASTS_DEFLATE_INT_H
#define MTASTS_DEFLATE_INT_H

#include "internal.h"

/* Diagnostic reasons. The reason list has no gzip-specific entries yet;
 * these name what each failure means so that dedicated reasons can be
 * swapped in here. */
#define GZ_R_EMPTY    MTASTS_R_EMPTY     /* no input at all */
#define GZ_R_MAGIC    MTASTS_R_VERSION   /* not 1f 8b, or CM is not 8 */
#define GZ_R_HEADER   MTASTS_R_FIELD     /* reserved flags, bad header CRC */
#define GZ_R_DATA     MTASTS_R_DEFLATE   /* invalid DEFLATE data */
#define GZ_R_TRUNC    MTASTS_R_TRUNCATED /* input ends early */
#define GZ_R_CHECK    MTASTS_R_CHECKSUM  /* CRC-32 or ISIZE mismatch */
#define GZ_R_TRAILING MTASTS_R_TRAILING  /* bytes after the member */
#define GZ_R_TOO_BIG  MTASTS_R_TOO_BIG   /* output over max_out */

/* ------------------------------------------------------------------ */
/* DEFLATE tables (RFC 1951 3.2.5 and 3.2.7)                           */
/* ------------------------------------------------------------------ */

static const uint16_t len_base[29] = {
    3,  4,  5,  6,  7,  8,  9,  10, 11,  13,  15,  17,  19,  23,  27,
    31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258,
};
static const uint8_t len_extra[29] = {
    0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2,
    2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
};
static const uint16_t dist_base[30] = {
    1,    2,    3,    4,    5,    7,    9,    13,    17,    25,
    33,   49,   65,   97,   129,  193,  257,  385,   513,   769,
    1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577,
};
static const uint8_t dist_extra[30] = {
    0, 0, 0, 0, 1, 1, 2, 2,  3,  3,  4,  4,  5,  5,  6,
    6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13,
};
/* order of the code length code lengths in a dynamic block header */
static const uint8_t clen_order[19] = {
    16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15,
};

#define MAX_BITS    15
#define LIT_SYMS    288 /* fixed code size; 286 and 287 never occur */
#define DIST_SYMS   32  /* fixed code size; 30 and 31 never occur */
#define CLEN_SYMS   19
#define END_BLOCK   256
#define WINDOW_SIZE 32768u
#define MIN_MATCH   3
#define MAX_MATCH   258

static inline unsigned
bit_reverse(unsigned code, unsigned len)
{
    unsigned r = 0;

    while (len-- > 0) {
        r = (r << 1) | (code & 1);
        code >>= 1;
    }
    return r;
}

/* Fixed Huffman code lengths (RFC 1951 3.2.6). */
static inline void
fixed_lengths(uint8_t *lit, uint8_t *dist)
{
    unsigned i;

    for (i = 0; i < 144; i++)
        lit[i] = 8;
    for (; i < 256; i++)
        lit[i] = 9;
    for (; i < 280; i++)
        lit[i] = 7;
    for (; i < LIT_SYMS; i++)
        lit[i] = 8;
    for (i = 0; i < DIST_SYMS; i++)
        dist[i] = 5;
}

/* Decoding tables: a direct lookup on the next FAST_BITS input bits gives
 * symbol | length << 9 for codes of at most FAST_BITS bits; 0 sends the
 * decoder to the canonical slow path, which walks the code lengths. */
#define FAST_BITS 10
#define FAST_SIZE (1u << FAST_BITS)
#define FAST_MASK (FAST_SIZE - 1)

struct huff {
    uint16_t fast[FAST_SIZE];
    uint16_t count[MAX_BITS + 1]; /* codes of each length */
    uint16_t sym[LIT_SYMS];       /* symbols in canonical order */
};

struct inflate {
    mtasts_ctx *ctx;
    const uint8_t *in, *p, *end;
    uint64_t bb; /* bit buffer; bits above bc are the next input bytes or 0 */
    unsigned bc; /* valid bits in bb */
    mtasts_buf *out;
    uint8_t *o;
    size_t olen, ocap, max_out;
    int reason;
    size_t err_off;
    struct huff lit, dist;
};

/* Inflate the DEFLATE stream at s->p (inflate.c); on success s->p is at
 * the first byte after it. On failure s->reason and s->err_off say why
 * and where, except for MTASTS_ENOMEM. */
int mt_inflate_stream(struct inflate *s);

/* ------------------------------------------------------------------ */
/* Deflater (deflate.c)                                                */
/* ------------------------------------------------------------------ */

#define STORED_MAX 65535u

struct level;

struct deflate {
    mtasts_ctx *ctx;
    const uint8_t *in;
    size_t n;
    const struct level *lv;
    /* matcher */
    uint32_t *head, *prev; /* position - base + 1; 0 = none */
    unsigned hash_shift;
    size_t hsize, wsize, base;
    /* tokens of the current block: literal byte or 256 + length - 3,
     * with distance 0 for a literal */
    uint16_t *tl, *td;
    size_t ntok, tok_cap;
    size_t blk_start, cov; /* input covered by the block's tokens */
    /* output */
    mtasts_buf *out;
    uint8_t *o;
    size_t olen, ocap;
    uint64_t bb;
    unsigned bc;
    void *work;
    size_t work_size;
};

/* Output room for need more bytes (deflate.c). */
int mt_deflate_reserve(struct deflate *s, size_t need);
/* Compress s->in[0..s->n) at level 0..9 as one DEFLATE stream appended to
 * s->o (deflate.c); s->work is the caller's to free. */
int mt_deflate_run(struct deflate *s, int level);

/* Append n <= 32 bits; room was reserved by the caller. */
static inline void
put_bits(struct deflate *s, uint32_t v, unsigned n)
{
    s->bb |= (uint64_t)v << s->bc;
    s->bc += n;
    if (s->bc >= 32) {
        s->o[s->olen++] = (uint8_t)s->bb;
        s->o[s->olen++] = (uint8_t)(s->bb >> 8);
        s->o[s->olen++] = (uint8_t)(s->bb >> 16);
        s->o[s->olen++] = (uint8_t)(s->bb >> 24);
        s->bb >>= 32;
        s->bc -= 32;
    }
}

/* Pad with zero bits to a byte boundary and write out the bit buffer. */
static inline void
put_align(struct deflate *s)
{
    while (s->bc > 0) {
        s->o[s->olen++] = (uint8_t)s->bb;
        s->bb >>= 8;
        s->bc = s->bc > 8 ? s->bc - 8 : 0;
    }
}

#endif
