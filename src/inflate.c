/*
 * DEFLATE (RFC 1951) inflater, written for libmtasts: stored, fixed and
 * dynamic Huffman blocks with table-driven decoding, every bound checked,
 * output through the context allocator. gzip.c frames it.
 */
#include "deflate_int.h"

/* ------------------------------------------------------------------ */
/* Inflater                                                            */
/* ------------------------------------------------------------------ */

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
            (bb) |= mt_le64(p) << (bc);             \
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
int
mt_inflate_stream(struct inflate *s)
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
