/*
 * DEFLATE (RFC 1951) writer, written for libmtasts: an LZ77 hash-chain
 * matcher with lazy matching at the higher levels and length-limited
 * dynamic Huffman codes, choosing stored, fixed or dynamic coding per
 * block by size. gzip.c frames it.
 */
#include "deflate_int.h"

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
int
mt_deflate_reserve(struct deflate *s, size_t need)
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
    rc = mt_deflate_reserve(s, end - start + nblk * 5 + 8);
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
        rc = mt_deflate_reserve(s, (size_t)((dyn < fix ? dyn : fix) / 8 + 16));
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

int
mt_deflate_run(struct deflate *s, int level)
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
