/*
 * Host name scanning a block of bytes at a time.
 *
 * mt_nmask_get() turns up to 64 bytes of a name into bit masks (bit i
 * describes byte i): which bytes are letters, digits, '-' or '.', which
 * are dots, which are dots or hyphens, and optionally which equal the
 * bytes of a second string ignoring ASCII case. The RFC 1035 / RFC 5321
 * rules then become a few shifts and ands (mt_nmask_name_ok()).
 *
 * The whole-name checks the matchers use (mt_name_eq_ok(),
 * mt_name_dots_ok(), mt_name_ci_eq()) keep what must hold for every byte
 * (in the class, equal) in vectors across the blocks and test it once;
 * only the dot and separator bits, whose positions matter, become masks.
 *
 * Blocks are 16 bytes with SSE2 (every x86-64 CPU has it) and 8 bytes in a
 * uint64_t otherwise (SWAR, "SIMD within a register"). Either way no byte
 * outside s[0..n) is read: short tails are loaded as overlapping blocks
 * that end exactly at s[n - 1], and the masks of overlapping bytes agree.
 * Define MT_NO_SIMD to force the SWAR path (tests/unit builds both).
 */
#ifndef MTASTS_NAMESCAN_H
#define MTASTS_NAMESCAN_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "swar.h"

/* Longest name mt_nmask_get() takes in one go. */
#define MT_NMASK_MAX 64

struct mt_nmask {
    uint64_t in;  /* letter, digit, '-' or '.' */
    uint64_t dot; /* '.' */
    uint64_t sep; /* '.' or '-' */
    uint64_t eq;  /* equals the other string, ignoring ASCII case */
};

/* s[0..n), 1 <= n <= 8, as a little-endian word padded with zero bytes:
 * two overlapping loads, so no byte past s[n - 1] is read. */
static inline uint64_t
mt_load_small_le(const unsigned char *s, size_t n)
{
    if (n == 8)
        return mt_load_le(s, 8);
    if (n >= 4)
        return mt_load_le(s, 4) | mt_load_le(s + n - 4, 4) << (8 * (n - 4));
    return (uint64_t)s[0] | (uint64_t)s[n / 2] << (8 * (n / 2)) |
           (uint64_t)s[n - 1] << (8 * (n - 1));
}

/* SWAR byte tests on words whose bytes are below 0x80: 0x80 in each byte
 * where the test holds. Masking with MT_LOW7 first keeps every addition
 * inside its byte. */
static inline uint64_t
mt_swar_range(uint64_t x7, unsigned lo, unsigned hi)
{
    return (x7 + MT_BYTES(0x80 - lo)) & ~(x7 + MT_BYTES(0x7f - hi)) & MT_HIGHS;
}

/* The 0x80 flags of a word as 8 bits (byte i -> bit i). */
static inline unsigned
mt_swar_bits(uint64_t m)
{
    return (unsigned)(((m >> 7) * UINT64_C(0x0102040810204080)) >> 56);
}

/* What mt_nmask_get() computes (constants, so that inlining drops the
 * rest): the class masks in/dot/sep, eq against a second string, or both
 * with eq folded into in (in then means "in the class and equal"; dot and
 * sep are then exact only where in is set, which is all a caller needs). */
enum {
    MT_NM_CLASS = 1,
    MT_NM_EQ = 2,
    MT_NM_CLASS_EQ = 4
};

/* Per-byte masks of one block: bits of in/dot/sep/eq, one per byte. */
struct mt_nblock {
    unsigned in, dot, sep, eq;
};

#if MT_SSE2
#define MT_NBLOCK 16

/* Signed bytes of v + (0x80 - lo) lie in [-128, -128 + width) exactly when
 * the byte of v lies in [lo, lo + width): one add and one compare. */
static inline __m128i
mt_vec_range(__m128i v, int lo, int width)
{
    return _mm_cmpgt_epi8(_mm_set1_epi8((char)(-128 + width)),
                          _mm_add_epi8(v, _mm_set1_epi8((char)(0x80 - lo))));
}

/* Bytes of v that are letters, digits, '-' or '.'; *sep gets '-' or '.',
 * *dot gets '.'. */
static MT_ALWAYS_INLINE __m128i
mt_vec_class(__m128i v, __m128i *sep, __m128i *dot)
{
    __m128i letter =
        mt_vec_range(_mm_or_si128(v, _mm_set1_epi8(0x20)), 'a', 26);

    *sep = mt_vec_range(v, '-', 2); /* '-' 0x2d, '.' 0x2e */
    *dot = _mm_cmpeq_epi8(v, _mm_set1_epi8('.'));
    return _mm_or_si128(_mm_or_si128(letter, mt_vec_range(v, '0', 10)), *sep);
}

static MT_ALWAYS_INLINE void
mt_nblock_vec(__m128i v, __m128i w, int what, struct mt_nblock *b)
{
    __m128i sep, dot, in, x, eq;

    if (what == MT_NM_EQ) {
        /* equal, or the same letter in the other case */
        x = _mm_xor_si128(v, w);
        eq = _mm_or_si128(
            _mm_cmpeq_epi8(x, _mm_setzero_si128()),
            _mm_and_si128(
                _mm_cmpeq_epi8(x, _mm_set1_epi8(0x20)),
                mt_vec_range(_mm_or_si128(v, _mm_set1_epi8(0x20)), 'a', 26)));
        b->eq = (unsigned)_mm_movemask_epi8(eq);
        return;
    }
    if (what == MT_NM_CLASS_EQ) {
        /* Equal but for bit 0x20, and v & w in the class: bytes that
         * differ in bit 0x20 are then one letter in two cases (v & w
         * clears 0x20, which no digit, '-' or '.' can lose). The masks
         * describe v & w, which is v wherever "in" is set. */
        eq = _mm_cmpeq_epi8(
            _mm_and_si128(_mm_xor_si128(v, w), _mm_set1_epi8(~0x20)),
            _mm_setzero_si128());
        in = _mm_and_si128(mt_vec_class(_mm_and_si128(v, w), &sep, &dot), eq);
    } else {
        in = mt_vec_class(v, &sep, &dot);
    }
    b->in = (unsigned)_mm_movemask_epi8(in);
    b->dot = (unsigned)_mm_movemask_epi8(dot);
    b->sep = (unsigned)_mm_movemask_epi8(sep);
}

static MT_ALWAYS_INLINE __m128i
mt_vec_load(const unsigned char *s)
{
    return _mm_loadu_si128((const __m128i *)(const void *)s);
}

/* s[0..8) and s[n-8..n), 8 <= n < 16, in one vector */
static MT_ALWAYS_INLINE __m128i
mt_vec_load_halves(const unsigned char *s, size_t n)
{
    return _mm_unpacklo_epi64(
        _mm_loadl_epi64((const __m128i *)(const void *)s),
        _mm_loadl_epi64((const __m128i *)(const void *)(s + n - 8)));
}

static MT_ALWAYS_INLINE void
mt_nblock_at(const unsigned char *s, const unsigned char *o, int what,
             struct mt_nblock *b)
{
    mt_nblock_vec(mt_vec_load(s),
                  what != MT_NM_CLASS ? mt_vec_load(o) : _mm_setzero_si128(),
                  what, b);
}
#else
#define MT_NBLOCK 8

static MT_ALWAYS_INLINE void
mt_nblock_word(uint64_t x, uint64_t y, int what, struct mt_nblock *b)
{
    uint64_t x7 = x & MT_LOW7, d, eq = 0, dot, sep, in;
    uint64_t letter = mt_swar_range(x7 | MT_BYTES(0x20), 'a', 'z');

    if (what != MT_NM_CLASS) {
        d = x ^ y;
        eq = mt_swar_zero(d) | (mt_swar_zero(d ^ MT_BYTES(0x20)) & letter);
        if (what == MT_NM_EQ) {
            b->eq = mt_swar_bits(eq);
            return;
        }
    }
    dot = mt_swar_zero(x7 ^ MT_BYTES('.'));
    sep = dot | mt_swar_zero(x7 ^ MT_BYTES('-'));
    in = (letter | mt_swar_range(x7, '0', '9') | sep) & ~x;
    if (what == MT_NM_CLASS_EQ)
        in &= eq;
    b->in = mt_swar_bits(in);
    b->dot = mt_swar_bits(dot);
    b->sep = mt_swar_bits(sep);
}

static MT_ALWAYS_INLINE void
mt_nblock_at(const unsigned char *s, const unsigned char *o, int what,
             struct mt_nblock *b)
{
    mt_nblock_word(mt_load_le(s, 8), what != MT_NM_CLASS ? mt_load_le(o, 8) : 0,
                   what, b);
}
#endif

/* Block masks placed at byte offset at; only what was computed. */
static MT_ALWAYS_INLINE void
mt_nmask_or(struct mt_nmask *m, const struct mt_nblock *b, size_t at, int what)
{
    if (what != MT_NM_EQ) {
        m->in |= (uint64_t)b->in << at;
        m->dot |= (uint64_t)b->dot << at;
        m->sep |= (uint64_t)b->sep << at;
    }
    if (what == MT_NM_EQ)
        m->eq |= (uint64_t)b->eq << at;
}

/*
 * Masks of s[0..n), 1 <= n <= MT_NMASK_MAX, with what (MT_NM_*) saying
 * which: with MT_NM_EQ or MT_NM_CLASS_EQ, o[0..n) is the second string
 * (eq is set with MT_NM_EQ only; MT_NM_CLASS_EQ folds it into in).
 * Bits at and above n are zero; masks not asked for are zero.
 */
static MT_ALWAYS_INLINE void
mt_nmask_get(const unsigned char *s, const unsigned char *o, size_t n, int what,
             struct mt_nmask *m)
{
    struct mt_nblock b = {0, 0, 0, 0};
#if MT_SSE2
    struct mt_nblock h;
#endif
    size_t k;

    m->in = m->dot = m->sep = m->eq = 0;
    if (n >= MT_NBLOCK) {
        /* whole blocks, then the last MT_NBLOCK bytes (maybe overlapping) */
        for (k = 0; k + MT_NBLOCK < n; k += MT_NBLOCK) {
            mt_nblock_at(s + k, what != MT_NM_CLASS ? o + k : s, what, &b);
            mt_nmask_or(m, &b, k, what);
        }
        mt_nblock_at(s + n - MT_NBLOCK,
                     what != MT_NM_CLASS ? o + n - MT_NBLOCK : s, what, &b);
        mt_nmask_or(m, &b, n - MT_NBLOCK, what);
        return;
    }
#if MT_SSE2
    if (n >= 8) {
        /* two overlapping 8-byte halves: s[0..8) and s[n-8..n) */
        mt_nblock_vec(mt_vec_load_halves(s, n),
                      what != MT_NM_CLASS ? mt_vec_load_halves(o, n)
                                          : _mm_setzero_si128(),
                      what, &b);
        h.in = b.in & 0xff;
        h.dot = b.dot & 0xff;
        h.sep = b.sep & 0xff;
        h.eq = b.eq & 0xff;
        mt_nmask_or(m, &h, 0, what);
        h.in = b.in >> 8;
        h.dot = b.dot >> 8;
        h.sep = b.sep >> 8;
        h.eq = b.eq >> 8;
        mt_nmask_or(m, &h, n - 8, what);
        return;
    }
    mt_nblock_vec(_mm_cvtsi64_si128((long long)mt_load_small_le(s, n)),
                  what != MT_NM_CLASS
                      ? _mm_cvtsi64_si128((long long)mt_load_small_le(o, n))
                      : _mm_setzero_si128(),
                  what, &b);
#else
    mt_nblock_word(mt_load_small_le(s, n),
                   what != MT_NM_CLASS ? mt_load_small_le(o, n) : 0, what, &b);
#endif
    /* the zero padding is not in the class, but may be "equal" */
    b.eq &= (1u << n) - 1;
    mt_nmask_or(m, &b, 0, what);
}

/* The label rules of mt_nmask_name_ok() on the dot and sep masks alone. */
static inline int
mt_nmask_labels_ok(uint64_t dot, uint64_t sep, size_t n)
{
    return (dot & ((sep << 1) | 1)) == 0 &&
           ((sep ^ dot) & ((dot << 1) | 1)) == 0 && ((sep >> (n - 1)) & 1) == 0;
}

/* Whether the bytes covered by m form a valid host name of n octets,
 * 1 <= n < MT_NMASK_MAX (so no label can be longer than 63): all in the
 * class, no '.' first, last, or after '.' or '-', no '-' first, last or
 * after '.'. */
static inline int
mt_nmask_name_ok(const struct mt_nmask *m, size_t n)
{
    uint64_t all = ((uint64_t)1 << n) - 1;

    return m->in == all && mt_nmask_labels_ok(m->dot, m->sep, n);
}

#if MT_SSE2
/*
 * One block, at s + k, of the name checks below; what must hold for every
 * byte is gathered in vectors and tested once at the end. MT_NM_CLASS and
 * MT_NM_CLASS_EQ and "in" (of s, or of s & o: see MT_NM_CLASS_EQ in
 * mt_nblock_vec()) into *in and put the dot and sep bits in their masks;
 * MT_NM_EQ keeps the smallest byte of s in *in instead (mt_name_ci_eq()).
 * The two EQ kinds or s ^ o into *x.
 */
static MT_ALWAYS_INLINE void
mt_name_step(const unsigned char *s, const unsigned char *o, size_t k, int what,
             __m128i *in, __m128i *x, uint64_t *dot, uint64_t *sep)
{
    __m128i v = mt_vec_load(s + k), w, vsep, vdot;

    if (what != MT_NM_CLASS) {
        w = mt_vec_load(o + k);
        *x = _mm_or_si128(*x, _mm_xor_si128(v, w));
        if (what == MT_NM_EQ) {
            *in = _mm_min_epu8(*in, v);
            return;
        }
        v = _mm_and_si128(v, w);
    }
    *in = _mm_and_si128(*in, mt_vec_class(v, &vsep, &vdot));
    *dot |= (uint64_t)(unsigned)_mm_movemask_epi8(vdot) << k;
    *sep |= (uint64_t)(unsigned)_mm_movemask_epi8(vsep) << k;
}

/* mt_name_eq_ok(), mt_name_dots_ok() and mt_name_ci_eq() for
 * n >= MT_NBLOCK */
static MT_ALWAYS_INLINE int
mt_name_blocks_ok(const unsigned char *s, const unsigned char *o, size_t n,
                  int what, uint64_t *dotp)
{
    __m128i in = _mm_set1_epi8(-1), x = _mm_setzero_si128(), eq;
    uint64_t dot = 0, sep = 0;
    size_t k;

    /* the first block, whole blocks, then the last MT_NBLOCK bytes (the
     * first block twice when n == MT_NBLOCK) */
    mt_name_step(s, o, 0, what, &in, &x, &dot, &sep);
    for (k = MT_NBLOCK; k + MT_NBLOCK < n; k += MT_NBLOCK)
        mt_name_step(s, o, k, what, &in, &x, &dot, &sep);
    mt_name_step(s, o, n - MT_NBLOCK, what, &in, &x, &dot, &sep);
    *dotp = dot;
    if (what == MT_NM_CLASS)
        return _mm_movemask_epi8(in) == 0xffff &&
               mt_nmask_labels_ok(dot, sep, n);
    eq = _mm_cmpeq_epi8(_mm_and_si128(x, _mm_set1_epi8(~0x20)),
                        _mm_setzero_si128());
    if (what == MT_NM_EQ) /* (a smallest byte at 0x80 or above fails) */
        return _mm_movemask_epi8(_mm_and_si128(
                   eq, _mm_cmpgt_epi8(in, _mm_set1_epi8(0x1f)))) == 0xffff;
    return _mm_movemask_epi8(_mm_and_si128(in, eq)) == 0xffff &&
           mt_nmask_labels_ok(dot, sep, n);
}
#endif

/* The check of kind what (MT_NM_*, as in mt_name_step()) on s[0..n),
 * 1 <= n < MT_NMASK_MAX: block by block with SSE2 from one block on,
 * from the masks of mt_nmask_get() otherwise. *dot gets the dot mask
 * (MT_NM_CLASS only). */
static MT_ALWAYS_INLINE int
mt_name_check(const unsigned char *s, const unsigned char *o, size_t n,
              int what, uint64_t *dot)
{
    struct mt_nmask m;

#if MT_SSE2
    if (n >= MT_NBLOCK)
        return mt_name_blocks_ok(s, o, n, what, dot);
#endif
    mt_nmask_get(s, o, n, what, &m);
    *dot = m.dot;
    if (what == MT_NM_EQ)
        return m.eq == ((uint64_t)1 << n) - 1;
    return mt_nmask_name_ok(&m, n);
}

/* Whether s[0..n) is a valid host name equal to o[0..n) ignoring ASCII
 * case, 1 <= n < MT_NMASK_MAX: mt_nmask_get(s, o, n, MT_NM_CLASS_EQ) and
 * mt_nmask_name_ok() in one pass. */
static MT_ALWAYS_INLINE int
mt_name_eq_ok(const unsigned char *s, const unsigned char *o, size_t n)
{
    uint64_t dot;

    return mt_name_check(s, o, n, MT_NM_CLASS_EQ, &dot);
}

/* Whether s[0..n) is a valid host name, 1 <= n < MT_NMASK_MAX; *dot gets
 * the mask of its dots. */
static MT_ALWAYS_INLINE int
mt_name_dots_ok(const unsigned char *s, size_t n, uint64_t *dot)
{
    return mt_name_check(s, s, n, MT_NM_CLASS, dot);
}

/*
 * Whether s[0..n) equals o[0..n) ignoring ASCII case, 1 <= n <
 * MT_NMASK_MAX, where o is known to hold only letters, digits, '-' and
 * '.' (the answer is meaningless otherwise). Bytes that differ only in
 * bit 0x20 are then one letter in two cases, unless the byte of s is
 * below 0x20 (a digit, '-' or '.' of o with 0x20 cleared).
 */
static MT_ALWAYS_INLINE int
mt_name_ci_eq(const unsigned char *s, const unsigned char *o, size_t n)
{
    uint64_t dot;

    return mt_name_check(s, o, n, MT_NM_EQ, &dot);
}

/* The masks cut to their first k bytes. */
static inline void
mt_nmask_cut(struct mt_nmask *m, size_t k)
{
    uint64_t keep = k >= 64 ? ~(uint64_t)0 : ((uint64_t)1 << k) - 1;

    m->in &= keep;
    m->dot &= keep;
    m->sep &= keep;
    m->eq &= keep;
}

/*
 * Masks of the longest prefix of s[0..n) made of letters, digits, '-' and
 * '.', looking at no more than MT_NMASK_MAX - 1 bytes, block by block and
 * stopping at the first block that holds a byte outside the class.
 * Returns the prefix length; the masks are cut to it. A length equal to
 * min(n, MT_NMASK_MAX - 1) means the prefix may go on past what was seen.
 */
static MT_ALWAYS_INLINE size_t
mt_nmask_span(const unsigned char *s, size_t n, struct mt_nmask *m)
{
    size_t lim = n < MT_NMASK_MAX - 1 ? n : MT_NMASK_MAX - 1, k, len;
    struct mt_nblock b = {0, 0, 0, 0};

    if (lim < MT_NBLOCK) {
        if (lim == 0) {
            m->in = m->dot = m->sep = m->eq = 0;
            return 0;
        }
        mt_nmask_get(s, NULL, lim, MT_NM_CLASS, m);
    } else {
        m->in = m->dot = m->sep = m->eq = 0;
        for (k = 0;; k += MT_NBLOCK) {
            if (k + MT_NBLOCK > lim)
                k = lim - MT_NBLOCK; /* last block, overlapping */
            mt_nblock_at(s + k, s, MT_NM_CLASS, &b);
            mt_nmask_or(m, &b, k, MT_NM_CLASS);
            if (b.in != (1u << MT_NBLOCK) - 1 || k + MT_NBLOCK == lim)
                break;
        }
    }
    len = mt_bit_first(~m->in);
    mt_nmask_cut(m, len);
    return len;
}

#endif
