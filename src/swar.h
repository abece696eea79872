/*
 * Word-at-a-time helpers of the JSON string scanner (src/json.h), the one
 * bulk path (report ingest) that keeps vector code: eight bytes in a
 * uint64_t, loaded little-endian so that byte i is bits 8i..8i+7 on every
 * host.
 */
#ifndef MTASTS_SWAR_H
#define MTASTS_SWAR_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if defined(__GNUC__) || defined(__clang__)
#define MT_ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define MT_ALWAYS_INLINE inline
#endif

/* SSE2 where the compiler targets it (every x86-64 CPU has it), the
 * portable word-at-a-time code elsewhere. */
#if defined(__SSE2__)
#include <emmintrin.h>
#define MT_SSE2 1
#else
#define MT_SSE2 0
#endif

#define MT_ONES     UINT64_C(0x0101010101010101)
#define MT_HIGHS    UINT64_C(0x8080808080808080)
#define MT_LOW7     UINT64_C(0x7f7f7f7f7f7f7f7f)
#define MT_BYTES(c) (MT_ONES * (uint64_t)(c))

/* A little-endian load of n = 4 or 8 bytes: s[0] is the low byte whatever
 * the host order (one load instruction once n is a constant). */
static inline uint64_t
mt_load_le(const unsigned char *s, size_t n)
{
    uint64_t x = 0;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    memcpy(&x, s, n);
#else
    size_t i;

    for (i = n; i > 0; i--)
        x = (x << 8) | s[i - 1];
#endif
    return x;
}

/* bytes of x (any value) equal to zero */
static inline uint64_t
mt_swar_zero(uint64_t x)
{
    return ~(((x & MT_LOW7) + MT_LOW7) | x) & MT_HIGHS;
}

/* Index of the lowest set bit of m != 0. */
static inline size_t
mt_bit_first(uint64_t m)
{
#if defined(__GNUC__) || defined(__clang__)
    return (size_t)__builtin_ctzll(m);
#else
    size_t i = 0;

    while ((m & 1) == 0) {
        m >>= 1;
        i++;
    }
    return i;
#endif
}

#endif
