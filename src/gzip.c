/*
 * gzip (RFC 1952) framing over a DEFLATE (RFC 1951) writer and inflater,
 * written for libmtasts. The inflater decodes stored, fixed and dynamic
 * Huffman blocks with table-driven decoding and checks every bound; the
 * writer is an LZ77 hash-chain matcher with lazy matching at the higher
 * levels and length-limited dynamic Huffman codes, choosing stored, fixed
 * or dynamic coding per block by size. Everything is allocated through
 * the context allocator.
 */
#include "internal.h"

/* Internal buffer interface (buf.c); see the note there. */

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

/* gzip header flags (RFC 1952 2.3.1) */
#define GZ_FTEXT     0x01u
#define GZ_FHCRC     0x02u
#define GZ_FEXTRA    0x04u
#define GZ_FNAME     0x08u
#define GZ_FCOMMENT  0x10u
#define GZ_FRESERVED 0xe0u

#define GZ_OS_UNKNOWN 255u

/* ------------------------------------------------------------------ */
/* CRC-32                                                              */
/* ------------------------------------------------------------------ */

/* CRC-32 (ISO-HDLC, as gzip uses it: reflected polynomial 0xEDB88320),
 * one byte at a time. crc_tab[n] is the CRC register after shifting the
 * byte n through it: start from n, then eight times shift right by one and
 * XOR in the polynomial when the bit shifted out was 1. */
static const uint32_t crc_tab[256] = {
    0x00000000u, 0x77073096u, 0xee0e612cu, 0x990951bau, 0x076dc419u,
    0x706af48fu, 0xe963a535u, 0x9e6495a3u, 0x0edb8832u, 0x79dcb8a4u,
    0xe0d5e91eu, 0x97d2d988u, 0x09b64c2bu, 0x7eb17cbdu, 0xe7b82d07u,
    0x90bf1d91u, 0x1db71064u, 0x6ab020f2u, 0xf3b97148u, 0x84be41deu,
    0x1adad47du, 0x6ddde4ebu, 0xf4d4b551u, 0x83d385c7u, 0x136c9856u,
    0x646ba8c0u, 0xfd62f97au, 0x8a65c9ecu, 0x14015c4fu, 0x63066cd9u,
    0xfa0f3d63u, 0x8d080df5u, 0x3b6e20c8u, 0x4c69105eu, 0xd56041e4u,
    0xa2677172u, 0x3c03e4d1u, 0x4b04d447u, 0xd20d85fdu, 0xa50ab56bu,
    0x35b5a8fau, 0x42b2986cu, 0xdbbbc9d6u, 0xacbcf940u, 0x32d86ce3u,
    0x45df5c75u, 0xdcd60dcfu, 0xabd13d59u, 0x26d930acu, 0x51de003au,
    0xc8d75180u, 0xbfd06116u, 0x21b4f4b5u, 0x56b3c423u, 0xcfba9599u,
    0xb8bda50fu, 0x2802b89eu, 0x5f058808u, 0xc60cd9b2u, 0xb10be924u,
    0x2f6f7c87u, 0x58684c11u, 0xc1611dabu, 0xb6662d3du, 0x76dc4190u,
    0x01db7106u, 0x98d220bcu, 0xefd5102au, 0x71b18589u, 0x06b6b51fu,
    0x9fbfe4a5u, 0xe8b8d433u, 0x7807c9a2u, 0x0f00f934u, 0x9609a88eu,
    0xe10e9818u, 0x7f6a0dbbu, 0x086d3d2du, 0x91646c97u, 0xe6635c01u,
    0x6b6b51f4u, 0x1c6c6162u, 0x856530d8u, 0xf262004eu, 0x6c0695edu,
    0x1b01a57bu, 0x8208f4c1u, 0xf50fc457u, 0x65b0d9c6u, 0x12b7e950u,
    0x8bbeb8eau, 0xfcb9887cu, 0x62dd1ddfu, 0x15da2d49u, 0x8cd37cf3u,
    0xfbd44c65u, 0x4db26158u, 0x3ab551ceu, 0xa3bc0074u, 0xd4bb30e2u,
    0x4adfa541u, 0x3dd895d7u, 0xa4d1c46du, 0xd3d6f4fbu, 0x4369e96au,
    0x346ed9fcu, 0xad678846u, 0xda60b8d0u, 0x44042d73u, 0x33031de5u,
    0xaa0a4c5fu, 0xdd0d7cc9u, 0x5005713cu, 0x270241aau, 0xbe0b1010u,
    0xc90c2086u, 0x5768b525u, 0x206f85b3u, 0xb966d409u, 0xce61e49fu,
    0x5edef90eu, 0x29d9c998u, 0xb0d09822u, 0xc7d7a8b4u, 0x59b33d17u,
    0x2eb40d81u, 0xb7bd5c3bu, 0xc0ba6cadu, 0xedb88320u, 0x9abfb3b6u,
    0x03b6e20cu, 0x74b1d29au, 0xead54739u, 0x9dd277afu, 0x04db2615u,
    0x73dc1683u, 0xe3630b12u, 0x94643b84u, 0x0d6d6a3eu, 0x7a6a5aa8u,
    0xe40ecf0bu, 0x9309ff9du, 0x0a00ae27u, 0x7d079eb1u, 0xf00f9344u,
    0x8708a3d2u, 0x1e01f268u, 0x6906c2feu, 0xf762575du, 0x806567cbu,
    0x196c3671u, 0x6e6b06e7u, 0xfed41b76u, 0x89d32be0u, 0x10da7a5au,
    0x67dd4accu, 0xf9b9df6fu, 0x8ebeeff9u, 0x17b7be43u, 0x60b08ed5u,
    0xd6d6a3e8u, 0xa1d1937eu, 0x38d8c2c4u, 0x4fdff252u, 0xd1bb67f1u,
    0xa6bc5767u, 0x3fb506ddu, 0x48b2364bu, 0xd80d2bdau, 0xaf0a1b4cu,
    0x36034af6u, 0x41047a60u, 0xdf60efc3u, 0xa867df55u, 0x316e8eefu,
    0x4669be79u, 0xcb61b38cu, 0xbc66831au, 0x256fd2a0u, 0x5268e236u,
    0xcc0c7795u, 0xbb0b4703u, 0x220216b9u, 0x5505262fu, 0xc5ba3bbeu,
    0xb2bd0b28u, 0x2bb45a92u, 0x5cb36a04u, 0xc2d7ffa7u, 0xb5d0cf31u,
    0x2cd99e8bu, 0x5bdeae1du, 0x9b64c2b0u, 0xec63f226u, 0x756aa39cu,
    0x026d930au, 0x9c0906a9u, 0xeb0e363fu, 0x72076785u, 0x05005713u,
    0x95bf4a82u, 0xe2b87a14u, 0x7bb12baeu, 0x0cb61b38u, 0x92d28e9bu,
    0xe5d5be0du, 0x7cdcefb7u, 0x0bdbdf21u, 0x86d3d2d4u, 0xf1d4e242u,
    0x68ddb3f8u, 0x1fda836eu, 0x81be16cdu, 0xf6b9265bu, 0x6fb077e1u,
    0x18b74777u, 0x88085ae6u, 0xff0f6a70u, 0x66063bcau, 0x11010b5cu,
    0x8f659effu, 0xf862ae69u, 0x616bffd3u, 0x166ccf45u, 0xa00ae278u,
    0xd70dd2eeu, 0x4e048354u, 0x3903b3c2u, 0xa7672661u, 0xd06016f7u,
    0x4969474du, 0x3e6e77dbu, 0xaed16a4au, 0xd9d65adcu, 0x40df0b66u,
    0x37d83bf0u, 0xa9bcae53u, 0xdebb9ec5u, 0x47b2cf7fu, 0x30b5ffe9u,
    0xbdbdf21cu, 0xcabac28au, 0x53b39330u, 0x24b4a3a6u, 0xbad03605u,
    0xcdd70693u, 0x54de5729u, 0x23d967bfu, 0xb3667a2eu, 0xc4614ab8u,
    0x5d681b02u, 0x2a6f2b94u, 0xb40bbe37u, 0xc30c8ea1u, 0x5a05df1bu,
    0x2d02ef8du,
};

static uint32_t
le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

/* The CRC-32 of p[0..n) continued from crc (0 to start). */
static uint32_t
crc32_update(uint32_t crc, const uint8_t *p, size_t n)
{
    crc = ~crc;
    while (n-- > 0)
        crc = crc_tab[(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return ~crc;
}

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

static unsigned
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
static void
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

/* ------------------------------------------------------------------ */
/* Inflater                                                            */
/* ------------------------------------------------------------------ */

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

enum huff_kind {
    HUFF_CLEN, /* must be complete */
    HUFF_LIT,  /* complete, or a single code of one bit */
    HUFF_DIST, /* complete, a single code of one bit, or no code at all */
};

/* Build decoding tables from n code lengths; 0 or -1 for a code set that
 * is over-subscribed or incomplete beyond what the kind allows. */
static int
huff_build(struct huff *h, const uint8_t *lens, unsigned n, enum huff_kind kind)
{
    uint16_t offs[MAX_BITS + 2], next[MAX_BITS + 1];
    unsigned i, len, used, code, rev, step;
    long left;

    memset(h->count, 0, sizeof(h->count));
    for (i = 0; i < n; i++)
        h->count[lens[i]]++;
    used = n - h->count[0];
    h->count[0] = 0;
    left = 1;
    for (len = 1; len <= MAX_BITS; len++) {
        left <<= 1;
        left -= h->count[len];
        if (left < 0)
            return -1;
    }
    if (left > 0) {
        if (kind == HUFF_CLEN)
            return -1;
        if (used == 0) {
            if (kind != HUFF_DIST)
                return -1;
        } else if (used != 1 || h->count[1] != 1) {
            return -1;
        }
    }
    offs[1] = 0;
    for (len = 1; len <= MAX_BITS; len++)
        offs[len + 1] = (uint16_t)(offs[len] + h->count[len]);
    code = 0;
    next[0] = 0;
    for (len = 1; len <= MAX_BITS; len++) {
        code = (code + h->count[len - 1]) << 1;
        next[len] = (uint16_t)code;
    }
    memset(h->fast, 0, sizeof(h->fast));
    for (i = 0; i < n; i++) {
        len = lens[i];
        if (len == 0)
            continue;
        h->sym[offs[len]++] = (uint16_t)i;
        code = next[len]++;
        if (len > FAST_BITS)
            continue;
        rev = bit_reverse(code, len);
        step = 1u << len;
        for (; rev < FAST_SIZE; rev += step)
            h->fast[rev] = (uint16_t)(i | len << 9);
    }
    return 0;
}

/* Canonical decode one bit at a time from bb (bc valid bits). Returns the
 * symbol with its length in *ret_len, or -1 (invalid code, or not enough
 * bits: the caller reports either as bad data). */
static int
huff_slow(const struct huff *h, uint64_t bb, unsigned bc, unsigned *ret_len)
{
    long code = 0, first = 0, index = 0, count;
    unsigned len;

    for (len = 1; len <= MAX_BITS && len <= bc; len++) {
        code |= (long)((bb >> (len - 1)) & 1);
        count = h->count[len];
        if (code - first < count) {
            *ret_len = len;
            return h->sym[index + code - first];
        }
        index += count;
        first = (first + count) << 1;
        code <<= 1;
    }
    return -1;
}

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

static uint64_t
load_le64(const uint8_t *p)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint64_t v;

    memcpy(&v, p, sizeof(v));
    return v;
#else
    return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
#endif
}

/* Fill the bit buffer to at least 56 bits while input lasts. With 8 bytes
 * left a whole word is ORed in: the bytes past the counted ones land on
 * the bits they will occupy anyway, so ORing them again later is
 * harmless. */
/* One Huffman symbol of table t into sym, consuming its bits from bb/bc
 * (n: scratch). Jumps to the caller's bad or truncated labels. */
#define DECODE(t, bb, bc, n, sym)                      \
    do {                                               \
        unsigned e_ = (t)->fast[(bb)&FAST_MASK];       \
        if (e_ != 0) {                                 \
            (n) = e_ >> 9;                             \
            (sym) = e_ & 0x1ff;                        \
        } else {                                       \
            int r_ = huff_slow((t), (bb), (bc), &(n)); \
            if (r_ < 0)                                \
                goto bad;                              \
            (sym) = (unsigned)r_;                      \
        }                                              \
        if ((n) > (bc))                                \
            goto truncated;                            \
        (bb) >>= (n);                                  \
        (bc) -= (n);                                   \
    } while (0)

#define REFILL(p, end, bb, bc)                      \
    do {                                            \
        if ((end) - (p) >= 8) {                     \
            unsigned take_ = (63 - (bc)) >> 3;      \
            (bb) |= load_le64(p) << (bc);           \
            (p) += take_;                           \
            (bc) += take_ << 3;                     \
        } else {                                    \
            while ((bc) < 56 && (p) < (end)) {      \
                (bb) |= (uint64_t)(*(p)++) << (bc); \
                (bc) += 8;                          \
            }                                       \
        }                                           \
    } while (0)

/* Input offset of the next unread bit's byte. */
static size_t
inf_offset(const struct inflate *s)
{
    return (size_t)(s->p - s->in) - (s->bc + 7) / 8;
}

static int
inf_fail(struct inflate *s, int reason)
{
    s->reason = reason;
    s->err_off = inf_offset(s);
    return MTASTS_ESYNTAX;
}

static int
inf_need(struct inflate *s, unsigned n)
{
    if (s->bc < n)
        REFILL(s->p, s->end, s->bb, s->bc);
    if (s->bc < n)
        return inf_fail(s, GZ_R_TRUNC);
    return MTASTS_OK;
}

static unsigned
inf_bits(struct inflate *s, unsigned n)
{
    unsigned v = (unsigned)(s->bb & ((1u << n) - 1));

    s->bb >>= n;
    s->bc -= n;
    return v;
}

/* Make room for need more output bytes: MTASTS_ETOOBIG when the output
 * would pass max_out, else the room grows by doubling, never past
 * max_out. */
static int
inf_grow(struct inflate *s, size_t need)
{
    size_t want, cap;

    if (need > s->max_out - s->olen) {
        s->reason = GZ_R_TOO_BIG;
        s->err_off = inf_offset(s);
        return MTASTS_ETOOBIG;
    }
    want = s->olen + need;
    if (want <= s->ocap)
        return MTASTS_OK;
    cap = s->ocap < 1024 ? 1024 : s->ocap;
    while (cap < want) {
        if (cap > s->max_out / 2) {
            cap = s->max_out;
            break;
        }
        cap *= 2;
    }
    if (cap > s->max_out)
        cap = s->max_out;
    if (cap < want)
        cap = want;
    if (mt_buf_reserve(&s->out, cap) != MTASTS_OK)
        return MTASTS_ENOMEM;
    s->o = mt_buf_bytes(s->out);
    s->ocap = cap;
    return MTASTS_OK;
}

/* Decode the symbols of one Huffman block into the output. */
static int
inflate_codes(struct inflate *s, const struct huff *lt, const struct huff *dt)
{
    const uint8_t *p = s->p, *end = s->end;
    uint64_t bb = s->bb;
    unsigned bc = s->bc, n, sym, len, dist;
    uint8_t *o = s->o, *d;
    size_t olen = s->olen, ocap = s->ocap, i;
    int rc;

    for (;;) {
        if (bc < 48)
            REFILL(p, end, bb, bc);
        DECODE(lt, bb, bc, n, sym);
        if (sym < 256) {
            if (olen == ocap) {
                s->olen = olen;
                rc = inf_grow(s, 1);
                if (rc != MTASTS_OK)
                    goto out;
                o = s->o;
                ocap = s->ocap;
            }
            o[olen++] = (uint8_t)sym;
            continue;
        }
        if (sym == END_BLOCK)
            break;
        sym -= 257;
        if (sym >= 29)
            goto bad; /* 286 and 287 (fixed code only) */
        n = len_extra[sym];
        if (n > bc)
            goto truncated;
        len = len_base[sym] + (unsigned)(bb & ((1u << n) - 1));
        bb >>= n;
        bc -= n;
        DECODE(dt, bb, bc, n, sym);
        if (sym >= 30)
            goto bad; /* 30 and 31 (fixed code only) */
        n = dist_extra[sym];
        if (n > bc)
            goto truncated;
        dist = dist_base[sym] + (unsigned)(bb & ((1u << n) - 1));
        bb >>= n;
        bc -= n;
        if (dist > olen)
            goto bad;
        if (len > ocap - olen) {
            s->olen = olen;
            rc = inf_grow(s, len);
            if (rc != MTASTS_OK)
                goto out;
            o = s->o;
            ocap = s->ocap;
        }
        d = o + olen;
        if (dist >= len) {
            memcpy(d, d - dist, len);
        } else if (dist == 1) {
            memset(d, d[-1], len);
        } else {
            const uint8_t *src = d - dist;

            for (i = 0; i < len; i++)
                d[i] = src[i];
        }
        olen += len;
    }
    rc = MTASTS_OK;
    goto out;
truncated:
    rc = MTASTS_ESYNTAX;
    s->reason = GZ_R_TRUNC;
    s->err_off = (size_t)(end - s->in); /* ran out of input */
    goto out_noff;
bad:
    rc = MTASTS_ESYNTAX;
    s->reason = GZ_R_DATA;
    s->err_off = (size_t)(p - s->in) - (bc + 7) / 8;
    goto out_noff;
out:
    if (rc == MTASTS_ETOOBIG)
        s->err_off = (size_t)(p - s->in) - (bc + 7) / 8;
out_noff:
    s->p = p;
    s->bb = bb;
    s->bc = bc;
    s->olen = olen;
    return rc;
}

/* Drop the bits up to the next byte boundary and hand the whole bytes
 * still in the bit buffer back to the input. */
static void
inf_align(struct inflate *s)
{
    s->p -= s->bc / 8;
    s->bb = 0;
    s->bc = 0;
}

static int
inflate_stored(struct inflate *s)
{
    size_t len;
    int rc;

    inf_align(s);
    if (s->end - s->p < 4)
        return inf_fail(s, GZ_R_TRUNC);
    len = (size_t)s->p[0] | (size_t)s->p[1] << 8;
    if ((s->p[2] ^ s->p[0]) != 0xff || (s->p[3] ^ s->p[1]) != 0xff)
        return inf_fail(s, GZ_R_DATA);
    s->p += 4;
    if ((size_t)(s->end - s->p) < len) {
        s->p = s->end;
        return inf_fail(s, GZ_R_TRUNC);
    }
    if (len > s->ocap - s->olen) {
        rc = inf_grow(s, len);
        if (rc != MTASTS_OK)
            return rc;
    }
    if (len > 0)
        memcpy(s->o + s->olen, s->p, len);
    s->olen += len;
    s->p += len;
    return MTASTS_OK;
}

static int
inflate_dynamic(struct inflate *s)
{
    uint8_t lens[286 + 30];
    struct huff *cl = &s->dist; /* the distance table is built last */
    unsigned hlit, hdist, hclen, i, total, e, n, sym, rep;
    uint8_t val;
    int rc, r;

    rc = inf_need(s, 14);
    if (rc != MTASTS_OK)
        return rc;
    hlit = inf_bits(s, 5) + 257;
    hdist = inf_bits(s, 5) + 1;
    hclen = inf_bits(s, 4) + 4;
    if (hlit > 286 || hdist > 30)
        return inf_fail(s, GZ_R_DATA);
    memset(lens, 0, CLEN_SYMS);
    for (i = 0; i < hclen; i++) {
        rc = inf_need(s, 3);
        if (rc != MTASTS_OK)
            return rc;
        lens[clen_order[i]] = (uint8_t)inf_bits(s, 3);
    }
    if (huff_build(cl, lens, CLEN_SYMS, HUFF_CLEN) != 0)
        return inf_fail(s, GZ_R_DATA);
    total = hlit + hdist;
    for (i = 0; i < total;) {
        if (s->bc < 16)
            REFILL(s->p, s->end, s->bb, s->bc);
        e = cl->fast[s->bb & FAST_MASK];
        if (e == 0) {
            r = huff_slow(cl, s->bb, s->bc, &n);
            if (r < 0)
                return inf_fail(s, GZ_R_DATA);
            sym = (unsigned)r;
        } else {
            n = e >> 9;
            sym = e & 0x1ff;
        }
        if (n > s->bc)
            return inf_fail(s, GZ_R_TRUNC);
        (void)inf_bits(s, n);
        if (sym < 16) {
            lens[i++] = (uint8_t)sym;
            continue;
        }
        if (sym == 16) {
            if (i == 0)
                return inf_fail(s, GZ_R_DATA);
            val = lens[i - 1];
            n = 2;
            rep = 3;
        } else {
            val = 0;
            n = sym == 17 ? 3 : 7;
            rep = sym == 17 ? 3 : 11;
        }
        rc = inf_need(s, n);
        if (rc != MTASTS_OK)
            return rc;
        rep += inf_bits(s, n);
        if (rep > total - i)
            return inf_fail(s, GZ_R_DATA);
        memset(lens + i, val, rep);
        i += rep;
    }
    if (lens[END_BLOCK] == 0)
        return inf_fail(s, GZ_R_DATA);
    if (huff_build(&s->lit, lens, hlit, HUFF_LIT) != 0 ||
        huff_build(&s->dist, lens + hlit, hdist, HUFF_DIST) != 0)
        return inf_fail(s, GZ_R_DATA);
    return inflate_codes(s, &s->lit, &s->dist);
}

static int
inflate_fixed(struct inflate *s)
{
    uint8_t lit[LIT_SYMS], dist[DIST_SYMS];

    fixed_lengths(lit, dist);
    if (huff_build(&s->lit, lit, LIT_SYMS, HUFF_LIT) != 0 ||
        huff_build(&s->dist, dist, DIST_SYMS, HUFF_DIST) != 0)
        return inf_fail(s, GZ_R_DATA); /* not reached */
    return inflate_codes(s, &s->lit, &s->dist);
}

/* Inflate the DEFLATE stream at s->p; on success s->p is at the first
 * byte after it. */
static int
inflate_stream(struct inflate *s)
{
    unsigned final, type;
    int rc;

    do {
        rc = inf_need(s, 3);
        if (rc != MTASTS_OK)
            return rc;
        final = inf_bits(s, 1);
        type = inf_bits(s, 2);
        switch (type) {
        case 0:
            rc = inflate_stored(s);
            break;
        case 1:
            rc = inflate_fixed(s);
            break;
        case 2:
            rc = inflate_dynamic(s);
            break;
        default:
            rc = inf_fail(s, GZ_R_DATA);
            break;
        }
        if (rc != MTASTS_OK)
            return rc;
    } while (!final);
    inf_align(s);
    return MTASTS_OK;
}

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
        crc = crc32_update(0, in, pos);
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
        hint = le32(in + in_len - 4);
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
    rc = inflate_stream(s);
    if (rc == MTASTS_OK) {
        if (s->end - s->p < 8) {
            rc = MTASTS_ESYNTAX;
            s->reason = GZ_R_TRUNC;
            s->err_off = in_len;
        } else {
            crc = crc32_update(0, s->o, s->olen);
            if (crc != le32(s->p)) {
                rc = MTASTS_ESYNTAX;
                s->reason = GZ_R_CHECK;
                s->err_off = (size_t)(s->p - in);
            } else if (le32(s->p + 4) != (uint32_t)s->olen) {
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

/* ------------------------------------------------------------------ */
/* Deflater                                                            */
/* ------------------------------------------------------------------ */

/* Per level: chain cut when the previous match is already good, lazy
 * evaluation threshold (0 = greedy), match length that stops the search,
 * chain length, and for greedy levels the longest match whose positions
 * are still entered in the hash chains. */
struct level {
    uint16_t good, lazy, nice, chain, max_insert;
};

static const struct level levels[10] = {
    {0, 0, 0, 0, 0},         {4, 0, 8, 4, 4},      {4, 0, 16, 8, 5},
    {4, 0, 32, 32, 6},       {4, 4, 16, 16, 0},    {8, 16, 32, 32, 0},
    {8, 16, 128, 128, 0},    {8, 32, 128, 256, 0}, {32, 128, 258, 1024, 0},
    {32, 258, 258, 4096, 0},
};

#define TOKENS_MAX 32768u     /* tokens per block */
#define SEGMENT    (1u << 30) /* matcher positions are relative to this */
#define TOO_FAR    4096u      /* a 3-byte match this far is not worth it */
#define STORED_MAX 65535u

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

static unsigned
ilog2(uint32_t x)
{
#if defined(__GNUC__)
    return 31u - (unsigned)__builtin_clz(x);
#else
    unsigned r = 0;

    while (x >>= 1)
        r++;
    return r;
#endif
}

/* Length code 0..28 (symbol - 257) of a match length 3..258. */
static unsigned
len_code(unsigned len)
{
    unsigned x = len - 3, nb;

    if (x < 8)
        return x;
    if (x == 255)
        return 28;
    nb = ilog2(x);
    return 4 * (nb - 1) + ((x >> (nb - 2)) & 3);
}

/* Distance code 0..29 of a distance 1..32768. */
static unsigned
dist_code(unsigned dist)
{
    unsigned x = dist - 1, nb;

    if (x < 4)
        return x;
    nb = ilog2(x);
    return 2 * nb + ((x >> (nb - 1)) & 1);
}

/* Output room for need more bytes. */
static int
def_reserve(struct deflate *s, size_t need)
{
    size_t want, cap;

    if (need <= s->ocap - s->olen)
        return MTASTS_OK;
    if (!mt_size_muladd(1, s->olen, need, &want))
        return MTASTS_ENOMEM;
    cap = s->ocap;
    if (cap < want)
        cap = cap <= SIZE_MAX / 2 && cap * 2 >= want ? cap * 2 : want;
    if (mt_buf_reserve(&s->out, cap) != MTASTS_OK)
        return MTASTS_ENOMEM;
    s->o = mt_buf_bytes(s->out);
    s->ocap = cap;
    return MTASTS_OK;
}

/* Append n <= 32 bits; room was reserved by the caller. */
static void
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
static void
put_align(struct deflate *s)
{
    while (s->bc > 0) {
        s->o[s->olen++] = (uint8_t)s->bb;
        s->bb >>= 8;
        s->bc = s->bc > 8 ? s->bc - 8 : 0;
    }
}

/* Huffman code lengths for n symbols limited to limit bits; every code
 * is complete and has at least two symbols. Symbols of frequency 0 get
 * length 0 (except those added to reach two). */
static void
huff_lengths(const uint32_t *freq, unsigned n, unsigned limit, uint8_t *lens)
{
    uint16_t order[LIT_SYMS];
    uint32_t w[2 * LIT_SYMS];
    uint16_t parent[2 * LIT_SYMS];
    uint8_t depth[2 * LIT_SYMS];
    unsigned m = 0, i, j, li, qi, next, a, b, best;
    uint32_t k, t;
    uint16_t tmp;

    memset(lens, 0, n);
    for (i = 0; i < n; i++)
        if (freq[i] != 0)
            order[m++] = (uint16_t)i;
    if (m < 2) {
        /* one code of one bit is legal only for distances; keep every
         * code complete: two symbols of one bit */
        a = m == 1 ? order[0] : 0;
        lens[a] = 1;
        lens[a == 0 ? 1 : 0] = 1;
        return;
    }
    /* sort by (frequency, symbol): insertion sort, n <= 288 */
    for (i = 1; i < m; i++) {
        tmp = order[i];
        for (j = i; j > 0 && freq[order[j - 1]] > freq[tmp]; j--)
            order[j] = order[j - 1];
        order[j] = tmp;
    }
    /* two-queue Huffman: leaves 0..m-1 in order, internal nodes from m */
    for (i = 0; i < m; i++)
        w[i] = freq[order[i]];
    li = 0;
    qi = m;
    for (next = m; next < 2 * m - 1; next++) {
        if (li < m && (qi >= next || w[li] <= w[qi]))
            a = li++;
        else
            a = qi++;
        if (li < m && (qi >= next || w[li] <= w[qi]))
            b = li++;
        else
            b = qi++;
        w[next] = w[a] + w[b];
        parent[a] = (uint16_t)next;
        parent[b] = (uint16_t)next;
    }
    depth[2 * m - 2] = 0;
    for (i = 2 * m - 2; i-- > 0;)
        depth[i] = (uint8_t)(depth[parent[i]] + 1);
    /* limit: clamp, then restore the Kraft sum to exactly 2^limit, in
     * units of 2^-limit */
    t = (uint32_t)1 << limit;
    k = 0;
    for (i = 0; i < m; i++) {
        if (depth[i] > limit)
            depth[i] = (uint8_t)limit;
        k += (uint32_t)1 << (limit - depth[i]);
    }
    while (k > t) {
        /* lengthen the least frequent of the longest codes below limit */
        best = m;
        for (i = 0; i < m; i++)
            if (depth[i] < limit && (best == m || depth[i] > depth[best]))
                best = i;
        k -= (uint32_t)1 << (limit - depth[best] - 1);
        depth[best]++;
    }
    while (k < t) {
        /* shorten the most frequent code that still fits */
        for (i = m; i-- > 0;) {
            if (depth[i] > 1 && ((uint32_t)1 << (limit - depth[i])) <= t - k) {
                k += (uint32_t)1 << (limit - depth[i]);
                depth[i]--;
                break;
            }
        }
    }
    for (i = 0; i < m; i++)
        lens[order[i]] = depth[i];
}

/* Canonical codes, bit-reversed for LSB-first output. */
static void
huff_codes(const uint8_t *lens, unsigned n, uint16_t *codes)
{
    uint16_t count[MAX_BITS + 1], next[MAX_BITS + 1];
    unsigned i, code = 0;

    memset(count, 0, sizeof(count));
    for (i = 0; i < n; i++)
        count[lens[i]]++;
    count[0] = 0;
    for (i = 1; i <= MAX_BITS; i++) {
        code = (code + count[i - 1]) << 1;
        next[i] = (uint16_t)code;
    }
    for (i = 0; i < n; i++)
        codes[i] =
            lens[i] != 0 ? (uint16_t)bit_reverse(next[lens[i]]++, lens[i]) : 0;
}

/* Code length sequence of a dynamic header, run-length coded. */
struct clen_rle {
    uint8_t sym[286 + 30];
    uint8_t extra[286 + 30];
    unsigned n;
};

static void
clen_encode(const uint8_t *lens, unsigned total, struct clen_rle *r)
{
    unsigned i = 0, run, rep;
    uint8_t v;

    r->n = 0;
    while (i < total) {
        v = lens[i];
        run = 1;
        while (i + run < total && lens[i + run] == v)
            run++;
        i += run;
        if (v == 0) {
            while (run >= 11) {
                rep = run < 138 ? run : 138;
                r->sym[r->n] = 18;
                r->extra[r->n++] = (uint8_t)(rep - 11);
                run -= rep;
            }
            if (run >= 3) {
                r->sym[r->n] = 17;
                r->extra[r->n++] = (uint8_t)(run - 3);
                run = 0;
            }
        } else {
            r->sym[r->n] = v;
            r->extra[r->n++] = 0;
            run--;
            while (run >= 3) {
                rep = run < 6 ? run : 6;
                r->sym[r->n] = 16;
                r->extra[r->n++] = (uint8_t)(rep - 3);
                run -= rep;
            }
        }
        while (run-- > 0) {
            r->sym[r->n] = v;
            r->extra[r->n++] = 0;
        }
    }
}

static const uint8_t clen_extra_bits[CLEN_SYMS] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 3, 7,
};

/* Bits of the token data (codes plus extra bits) under given lengths. */
static uint64_t
data_bits(const uint32_t *lf, const uint32_t *df, const uint8_t *ll,
          const uint8_t *dl)
{
    uint64_t bits = 0;
    unsigned i;

    for (i = 0; i < 286; i++)
        bits += (uint64_t)lf[i] * ll[i];
    for (i = 0; i < 29; i++)
        bits += (uint64_t)lf[257 + i] * len_extra[i];
    for (i = 0; i < 30; i++)
        bits += (uint64_t)df[i] * (dl[i] + dist_extra[i]);
    return bits;
}

static void
write_tokens(struct deflate *s, const uint8_t *ll, const uint16_t *lc,
             const uint8_t *dl, const uint16_t *dc)
{
    size_t i;
    unsigned c, len, dist, code;

    for (i = 0; i < s->ntok; i++) {
        c = s->tl[i];
        if (s->td[i] == 0) {
            put_bits(s, lc[c], ll[c]);
            continue;
        }
        len = c - 256 + 3;
        code = len_code(len);
        put_bits(s, lc[257 + code], ll[257 + code]);
        if (len_extra[code] != 0)
            put_bits(s, len - len_base[code], len_extra[code]);
        dist = s->td[i];
        code = dist_code(dist);
        put_bits(s, dc[code], dl[code]);
        if (dist_extra[code] != 0)
            put_bits(s, dist - dist_base[code], dist_extra[code]);
    }
    put_bits(s, lc[END_BLOCK], ll[END_BLOCK]);
}

/* Stored blocks for in[start, end); the last one is final when final. */
static int
write_stored(struct deflate *s, size_t start, size_t end, int final)
{
    size_t len, nblk;
    int rc;

    nblk = (end - start + STORED_MAX - 1) / STORED_MAX;
    if (nblk == 0)
        nblk = 1;
    rc = def_reserve(s, end - start + nblk * 5 + 8);
    if (rc != MTASTS_OK)
        return rc;
    do {
        len = end - start < STORED_MAX ? end - start : STORED_MAX;
        put_bits(s, final && start + len == end ? 1u : 0u, 3);
        put_align(s);
        s->o[s->olen++] = (uint8_t)len;
        s->o[s->olen++] = (uint8_t)(len >> 8);
        s->o[s->olen++] = (uint8_t)~len;
        s->o[s->olen++] = (uint8_t)(~len >> 8);
        if (len > 0)
            memcpy(s->o + s->olen, s->in + start, len);
        s->olen += len;
        start += len;
    } while (start < end);
    return MTASTS_OK;
}

/* Emit the tokens gathered so far as one block covering
 * in[blk_start, cov), in whichever coding is smallest. */
static int
flush_block(struct deflate *s, int final)
{
    uint32_t lf[LIT_SYMS], df[DIST_SYMS], cf[CLEN_SYMS];
    uint8_t ll[LIT_SYMS], dl[DIST_SYMS], fl[LIT_SYMS], fd[DIST_SYMS];
    uint8_t lens[286 + 30], cl[CLEN_SYMS];
    uint16_t lc[LIT_SYMS], dc[DIST_SYMS], cc[CLEN_SYMS];
    struct clen_rle rle;
    unsigned hlit, hdist, hclen, i;
    uint64_t dyn, fix, sto, raw, nblk;
    size_t j;
    int rc;

    memset(lf, 0, sizeof(lf));
    memset(df, 0, sizeof(df));
    memset(cf, 0, sizeof(cf));
    for (j = 0; j < s->ntok; j++) {
        if (s->td[j] == 0) {
            lf[s->tl[j]]++;
        } else {
            lf[257 + len_code(s->tl[j] - 256u + 3)]++;
            df[dist_code(s->td[j])]++;
        }
    }
    lf[END_BLOCK] = 1;
    huff_lengths(lf, 286, MAX_BITS, ll);
    huff_lengths(df, 30, MAX_BITS, dl);
    ll[286] = ll[287] = 0;
    dl[30] = dl[31] = 0;
    for (hlit = 286; ll[hlit - 1] == 0; hlit--)
        ;
    for (hdist = 30; hdist > 1 && dl[hdist - 1] == 0; hdist--)
        ;
    memcpy(lens, ll, hlit);
    memcpy(lens + hlit, dl, hdist);
    clen_encode(lens, hlit + hdist, &rle);
    for (i = 0; i < rle.n; i++)
        cf[rle.sym[i]]++;
    huff_lengths(cf, CLEN_SYMS, 7, cl);
    for (hclen = CLEN_SYMS; hclen > 4 && cl[clen_order[hclen - 1]] == 0;
         hclen--)
        ;
    dyn = 3 + 5 + 5 + 4 + 3 * (uint64_t)hclen;
    for (i = 0; i < CLEN_SYMS; i++)
        dyn += (uint64_t)cf[i] * (cl[i] + clen_extra_bits[i]);
    dyn += data_bits(lf, df, ll, dl);
    fixed_lengths(fl, fd);
    fix = 3 + data_bits(lf, df, fl, fd);
    raw = s->cov - s->blk_start;
    nblk = raw == 0 ? 1 : (raw + STORED_MAX - 1) / STORED_MAX;
    /* header bits, padding (at most 7 for the first, exact after), LEN
     * and NLEN, then the bytes */
    sto =
        3 + (8 - ((s->bc + 3) & 7)) % 8 + (nblk - 1) * 8 + nblk * 32 + raw * 8;
    if (sto <= dyn && sto <= fix) {
        rc = write_stored(s, s->blk_start, s->cov, final);
    } else {
        rc = def_reserve(s, (size_t)((dyn < fix ? dyn : fix) / 8 + 16));
        if (rc != MTASTS_OK)
            return rc;
        if (dyn < fix) {
            put_bits(s, final ? 5u : 4u, 3); /* BFINAL, BTYPE 10 */
            put_bits(s, hlit - 257, 5);
            put_bits(s, hdist - 1, 5);
            put_bits(s, hclen - 4, 4);
            for (i = 0; i < hclen; i++)
                put_bits(s, cl[clen_order[i]], 3);
            huff_codes(cl, CLEN_SYMS, cc);
            for (i = 0; i < rle.n; i++) {
                put_bits(s, cc[rle.sym[i]], cl[rle.sym[i]]);
                if (clen_extra_bits[rle.sym[i]] != 0)
                    put_bits(s, rle.extra[i], clen_extra_bits[rle.sym[i]]);
            }
            huff_codes(ll, LIT_SYMS, lc);
            huff_codes(dl, DIST_SYMS, dc);
            write_tokens(s, ll, lc, dl, dc);
        } else {
            put_bits(s, final ? 3u : 2u, 3); /* BFINAL, BTYPE 01 */
            huff_codes(fl, LIT_SYMS, lc);
            huff_codes(fd, DIST_SYMS, dc);
            write_tokens(s, fl, lc, fd, dc);
        }
    }
    s->ntok = 0;
    s->blk_start = s->cov;
    return rc;
}

static int
emit_lit(struct deflate *s, uint8_t c)
{
    s->tl[s->ntok] = c;
    s->td[s->ntok++] = 0;
    s->cov++;
    return s->ntok == s->tok_cap ? flush_block(s, 0) : MTASTS_OK;
}

static int
emit_match(struct deflate *s, unsigned len, unsigned dist)
{
    s->tl[s->ntok] = (uint16_t)(256 + len - MIN_MATCH);
    s->td[s->ntok++] = (uint16_t)dist;
    s->cov += len;
    return s->ntok == s->tok_cap ? flush_block(s, 0) : MTASTS_OK;
}

static uint32_t
hash3(const uint8_t *p, unsigned shift)
{
    uint32_t v = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16;

    return (v * 0x9e3779b1u) >> shift;
}

/* Enter pos in its hash chain; returns the previous chain head. */
static uint32_t
insert(struct deflate *s, size_t pos)
{
    uint32_t h = hash3(s->in + pos, s->hash_shift), cand = s->head[h];

    s->prev[pos & (s->wsize - 1)] = cand;
    s->head[h] = (uint32_t)(pos - s->base + 1);
    return cand;
}

/* Common prefix length of a and b, at most max. */
static unsigned
match_len(const uint8_t *a, const uint8_t *b, unsigned max)
{
    unsigned i = 0;

#if defined(__GNUC__) && defined(__BYTE_ORDER__) && \
    __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint64_t x, y;

    while (i + 8 <= max) {
        memcpy(&x, a + i, 8);
        memcpy(&y, b + i, 8);
        if (x != y)
            return i + (unsigned)__builtin_ctzll(x ^ y) / 8;
        i += 8;
    }
#endif
    while (i < max && a[i] == b[i])
        i++;
    return i;
}

/* Longest match for pos longer than best, following the chain from
 * cand; 0 when none is longer. */
static unsigned
longest_match(struct deflate *s, size_t pos, uint32_t cand, unsigned best,
              size_t end, unsigned chain, unsigned *ret_dist)
{
    const uint8_t *cur = s->in + pos, *m;
    unsigned max, len, found = 0;
    size_t c;
    uint32_t next;

    max = end - pos < MAX_MATCH ? (unsigned)(end - pos) : MAX_MATCH;
    if (best < MIN_MATCH - 1)
        best = MIN_MATCH - 1;
    if (max <= best)
        return 0;
    while (cand != 0 && chain-- > 0) {
        c = s->base + cand - 1;
        if (pos - c >= s->wsize)
            break;
        m = s->in + c;
        if (m[best] == cur[best] && m[0] == cur[0] && m[1] == cur[1]) {
            len = match_len(m, cur, max);
            if (len > best) {
                best = len;
                found = len;
                *ret_dist = (unsigned)(pos - c);
                if (len >= s->lv->nice || len == max)
                    break;
            }
        }
        next = s->prev[c & (s->wsize - 1)];
        if (next >= cand)
            break;
        cand = next;
    }
    return found;
}

static int
deflate_greedy(struct deflate *s, size_t start, size_t end)
{
    size_t pos = start, q;
    unsigned len, dist = 0;
    uint32_t cand;
    int rc;

    while (pos < end) {
        len = 0;
        if (end - pos >= MIN_MATCH) {
            cand = insert(s, pos);
            if (cand != 0)
                len = longest_match(s, pos, cand, 0, end, s->lv->chain, &dist);
            if (len == MIN_MATCH && dist > TOO_FAR)
                len = 0;
        }
        if (len >= MIN_MATCH) {
            rc = emit_match(s, len, dist);
            if (len <= s->lv->max_insert) {
                for (q = pos + 1; q < pos + len && end - q >= MIN_MATCH; q++)
                    (void)insert(s, q);
            }
            pos += len;
        } else {
            rc = emit_lit(s, s->in[pos]);
            pos++;
        }
        if (rc != MTASTS_OK)
            return rc;
    }
    return MTASTS_OK;
}

static int
deflate_lazy(struct deflate *s, size_t start, size_t end)
{
    size_t pos = start, q, mend;
    unsigned cur, dist = 0, prev_len = 0, prev_dist = 0, chain;
    uint32_t cand;
    int rc, pending = 0;

    while (pos < end) {
        cur = 0;
        if (end - pos >= MIN_MATCH) {
            cand = insert(s, pos);
            if (cand != 0 && prev_len < s->lv->lazy) {
                chain = s->lv->chain;
                if (prev_len >= s->lv->good)
                    chain >>= 2;
                cur = longest_match(s, pos, cand, prev_len, end, chain, &dist);
                if (cur == MIN_MATCH && dist > TOO_FAR)
                    cur = 0;
            }
        }
        if (prev_len >= MIN_MATCH && cur <= prev_len) {
            /* the match found at pos - 1 wins */
            rc = emit_match(s, prev_len, prev_dist);
            if (rc != MTASTS_OK)
                return rc;
            mend = pos - 1 + prev_len;
            for (q = pos + 1; q < mend && end - q >= MIN_MATCH; q++)
                (void)insert(s, q);
            pos = mend;
            pending = 0;
            prev_len = 0;
            continue;
        }
        if (pending) {
            rc = emit_lit(s, s->in[pos - 1]);
            if (rc != MTASTS_OK)
                return rc;
        }
        pending = 1;
        prev_len = cur;
        prev_dist = dist;
        pos++;
    }
    if (pending)
        return emit_lit(s, s->in[pos - 1]);
    return MTASTS_OK;
}

/* Set up the matcher and token buffers in one allocation sized to the
 * input. */
static int
deflate_setup(struct deflate *s)
{
    unsigned hbits = 9;
    size_t wsize = 256, size;

    while (hbits < 15 && ((size_t)1 << hbits) < s->n)
        hbits++;
    while (wsize < WINDOW_SIZE && wsize < s->n)
        wsize *= 2;
    s->hsize = (size_t)1 << hbits;
    s->hash_shift = 32 - hbits;
    s->wsize = wsize;
    s->tok_cap = s->n < TOKENS_MAX ? s->n + 1 : TOKENS_MAX;
    size = (s->hsize + s->wsize) * sizeof(uint32_t) +
           2 * s->tok_cap * sizeof(uint16_t);
    s->work = mt_alloc(s->ctx, size);
    if (s->work == NULL)
        return MTASTS_ENOMEM;
    s->work_size = size;
    s->head = s->work;
    s->prev = s->head + s->hsize;
    s->tl = (uint16_t *)(void *)(s->prev + s->wsize);
    s->td = s->tl + s->tok_cap;
    return MTASTS_OK;
}

static int
deflate_run(struct deflate *s, int level)
{
    size_t seg, seg_end;
    int rc;

    if (level == 0 || s->n == 0)
        return level == 0 ? write_stored(s, 0, s->n, 1) : flush_block(s, 1);
    s->lv = &levels[level];
    rc = deflate_setup(s);
    if (rc != MTASTS_OK)
        return rc;
    for (seg = 0; seg < s->n; seg = seg_end) {
        seg_end = s->n - seg > SEGMENT ? seg + SEGMENT : s->n;
        memset(s->head, 0, s->hsize * sizeof(uint32_t));
        s->base = seg;
        rc = s->lv->lazy == 0 ? deflate_greedy(s, seg, seg_end)
                              : deflate_lazy(s, seg, seg_end);
        if (rc != MTASTS_OK)
            return rc;
    }
    return flush_block(s, 1);
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
    rc = deflate_run(&s, level);
    if (rc == MTASTS_OK)
        rc = def_reserve(&s, 16);
    mt_free(ctx, s.work, s.work_size);
    if (rc != MTASTS_OK) {
        mtasts_buf_free(s.out);
        return rc;
    }
    put_align(&s);
    crc = crc32_update(0, in, in_len);
    put_bits(&s, crc, 32);
    put_bits(&s, (uint32_t)in_len, 32);
    if (mt_buf_finish(&s.out, s.olen) != MTASTS_OK) {
        mtasts_buf_free(s.out);
        return MTASTS_ENOMEM;
    }
    *ret_out = s.out;
    return MTASTS_OK;
}

/* The one CRC-32 of the library, for the integrity checks of stored
 * formats (cache entries, aggregate exports). */
uint32_t
mt_crc32(uint32_t crc, const void *p, size_t n)
{
    return crc32_update(crc, p, n);
}
