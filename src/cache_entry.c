/*
 * Cache entries: what a sender remembers about one policy domain, and
 * their byte encoding (doc/cache-entry.md).
 *
 * Version 1 is text, one "key=value" line per field in a fixed order, then
 * the raw policy body:
 *
 *   MTASTS-ENTRY/1\n
 *   domain=example.com\n
 *   id=20160831085700Z\n          (empty when no id is known)
 *   fetched=1700000000\n          (0 when no policy is cached)
 *   expires=1700086400\n
 *   backoff-until=0\n
 *   backoff-id=\n
 *   backoff-result=0\n            (MTASTS_RESULT_STS_* of the failed fetch:
 *                                  9, 10 or 11 with a backoff, else 0)
 *   last-used=1700000000\n
 *   policy=123\n                  (body length; 0 = no policy)
 *   <123 bytes of policy body>
 *
 * The decoder is strict: every field, in that order, decimal numbers
 * without sign or leading zeros, no trailing bytes, and the body must
 * parse as a policy again. Nothing from a bad entry is ever trusted.
 *
 * Version 2 adds one line after the header,
 *
 *   crc32=1a2b3c4d\n               (8 lower-case hex digits)
 *
 * the CRC-32 of the entry without that line (the header line, then the
 * fields and the body), so that bytes altered in storage are refused
 * (MTASTS_ECORRUPT) rather than decoded as another valid entry. The rest
 * is version 1 unchanged; version 1 entries, which have no check, are
 * still read.
 *
 * Version 3 (written since) replaces that line with
 *
 *   check=0123456789abcdef\n       (16 lower-case hex digits)
 *
 * a Fletcher-64 of the bytes after that line (the fields and the body; see
 * f64_update): a CRC-32 taken a byte at a time cost two thirds of a
 * lookup from the stored bytes (bench/, lookup_cached_decide), Fletcher-64
 * takes 32-bit words with two additions each. Versions 1 and 2 are
 * still read.
 */
#include "internal.h"

#define ENTRY_MAGIC     "MTASTS-ENTRY/"
#define ENTRY_MAGIC_LEN 13
/* Version 2: "MTASTS-ENTRY/2\n" then "crc32=" and 8 hex digits, "\n". */
#define V2_HEAD_LEN 15
/* Version 3: "MTASTS-ENTRY/3\n" then "check=" and 16 hex digits, "\n". */
#define V3_HEAD_LEN  15
#define V3_CHECK_KEY "check="
#define V3_CHECK_LEN 23
/* Room for the header, check and field lines around the body. */
#define ENTRY_OVERHEAD 544
/* Times are accepted up to 2^62 so that sums of two never overflow. */
#define TIME_MAX ((int64_t)1 << 62)

void
mtasts_entry_free(mtasts_entry *entry)
{
    if (entry == NULL)
        return;
    mtasts_policy_free(entry->policy);
    mt_free(entry->ctx, entry, sizeof(*entry));
}

int
mt_entry_new(mtasts_ctx *ctx, const char *domain, size_t domain_len,
             mtasts_entry **ret)
{
    mtasts_entry *e;

    if (domain_len > MTASTS_DOMAIN_MAX_LEN)
        return MTASTS_ETOOBIG;
    e = mt_alloc(ctx, sizeof(*e));
    if (e == NULL)
        return MTASTS_ENOMEM;
    memset(e, 0, sizeof(*e));
    e->ctx = ctx;
    memcpy(e->domain, domain, domain_len);
    e->domain[domain_len] = '\0';
    e->domain_len = domain_len;
    *ret = e;
    return MTASTS_OK;
}

int
mt_entry_copy(const mtasts_entry *src, mtasts_entry **ret)
{
    mtasts_entry *e;
    size_t raw_len;
    const char *raw;
    int rc;

    rc = mt_entry_new(src->ctx, src->domain, src->domain_len, &e);
    if (rc != MTASTS_OK)
        return rc;
    /* the ids up to their NUL: a decoded entry's bytes after it are not
     * set (mt_entry_decode_into) */
    mt_entry_set_id(e->id, &e->id_len, src->id, src->id_len);
    mt_entry_set_id(e->backoff_id, &e->backoff_id_len, src->backoff_id,
                    src->backoff_id_len);
    e->fetched = src->fetched;
    e->expires = src->expires;
    e->backoff_until = src->backoff_until;
    e->backoff_result = src->backoff_result;
    e->last_used = src->last_used;
    if (src->policy != NULL) {
        raw = mtasts_policy_raw(src->policy, &raw_len);
        rc = mtasts_policy_parse(src->ctx, raw, raw_len, 0, &e->policy, NULL);
        if (rc != MTASTS_OK) {
            mtasts_entry_free(e);
            return rc == MTASTS_ENOMEM ? rc : MTASTS_ESYNTAX;
        }
    }
    *ret = e;
    return MTASTS_OK;
}

void
mt_entry_set_id(char *dst, size_t *dst_len, const char *id, size_t id_len)
{
    memcpy(dst, id, id_len);
    dst[id_len] = '\0';
    *dst_len = id_len;
}

/* The check of version 3 (doc/cache-entry.md): Fletcher-64 of the bytes,
 * taken as 32-bit little-endian words (the last one padded with zero
 * bytes) and then one more word, the number of bytes mod 2^32: for each
 * word w, a = (a + w) mod (2^32 - 1) and b = (b + a) mod (2^32 - 1), from
 * a = b = 0; the check is b * 2^32 + a. The sums are kept in 64 bits and
 * reduced every F64_BLOCK words (below 2^53 in between), so the bytes can
 * come in pieces (the encoder's fields) and the one piece of the decoder
 * goes four words per step. */
#define F64_MOD   UINT64_C(0xffffffff)
#define F64_BLOCK 1024

struct f64 {
    uint64_t a, b;
    uint32_t w; /* the bytes of an unfinished word */
    size_t n;   /* bytes so far */
};

static void
f64_byte(struct f64 *f, unsigned char c)
{
    f->w |= (uint32_t)c << (8 * (f->n % 4));
    if (++f->n % 4 == 0) {
        f->a += f->w;
        f->b += f->a;
        f->w = 0;
    }
}

static void
f64_update(struct f64 *f, const void *data, size_t len)
{
    const unsigned char *p = data;
    uint64_t a, b;
    size_t i = 0, end;

    while (i < len && f->n % 4 != 0)
        f64_byte(f, p[i++]);
    a = f->a;
    b = f->b;
    while (len - i >= 4) {
        end = len - i > 4 * F64_BLOCK ? i + 4 * F64_BLOCK
                                      : i + ((len - i) & ~(size_t)3);
        f->n += end - i;
        /* Four words w0..w3 per step: the four steps
         * of the definition add w0 + w1 + w2 + w3 to a and, to b, four
         * times a plus 4 w0 + 3 w1 + 2 w2 + w3. The sums are the same,
         * but b no longer waits for each new a (the one-word loop was a
         * chain of dependent additions). Then the words left, one by
         * one. */
        for (; end - i >= 16; i += 16) {
            uint64_t w0 = mt_le32(p + i), w1 = mt_le32(p + i + 4);
            uint64_t w2 = mt_le32(p + i + 8), w3 = mt_le32(p + i + 12);

            b += 4 * a + 4 * w0 + 3 * w1 + 2 * w2 + w3;
            a += w0 + w1 + w2 + w3;
        }
        for (; i < end; i += 4) {
            a += mt_le32(p + i);
            b += a;
        }
        a %= F64_MOD;
        b %= F64_MOD;
    }
    f->a = a;
    f->b = b;
    while (i < len)
        f64_byte(f, p[i++]);
    f->a %= F64_MOD;
    f->b %= F64_MOD;
}

static uint64_t
f64_final(struct f64 *f)
{
    if (f->n % 4 != 0) {
        f->a += f->w;
        f->b += f->a;
    }
    f->a += (uint32_t)f->n;
    f->b += f->a;
    return (f->b % F64_MOD) << 32 | (f->a % F64_MOD);
}

/* Reader over the encoded bytes (struct mt_cur, internal.h). */
#define rd_field(r, key, v, vl) mt_cur_field(r, key, sizeof(key) - 1, v, vl)
#define rd_num(r, key, ret)     rd_num_n(r, key, sizeof(key) - 1, ret)

/* Expect "key=" and a number line: decimal digits without sign or leading
 * zeros, at most 2^62, then "\n". One pass over the digits. */
static inline int
rd_num_n(struct mt_cur *r, const char *key, size_t kl, int64_t *ret)
{
    uint64_t x = 0;
    unsigned d;
    size_t s, e;

    if (!mt_cur_key(r, key, kl))
        return MTASTS_ESYNTAX;
    s = r->off + kl + 1;
    for (e = s; e < r->n && (d = (unsigned char)r->p[e] - 48u) < 10; e++)
        x = x * 10 + d;
    /* 1-19 digits (19 cannot overflow; x of a longer run may have wrapped
     * but is refused by its length), no leading zero, then the end of the
     * line */
    if (e == s || e - s > 19 || e == r->n || r->p[e] != '\n' ||
        (e - s > 1 && r->p[s] == '0') || x > (uint64_t)TIME_MAX)
        return MTASTS_ESYNTAX;
    *ret = (int64_t)x;
    r->off = e + 1;
    return MTASTS_OK;
}

/* an id field of an entry: empty (none known) or a valid sts-id */
static int
id_chars_ok(const char *v, size_t vl)
{
    return vl == 0 || mt_sts_id_ok(v, vl);
}

static int
decode_v1(mtasts_ctx *ctx, struct mt_cur *r, const char *expect,
          size_t expect_len, mtasts_entry *e, size_t *ret_off)
{
    int64_t t[3], br, lu, plen;
    const char *v;
    size_t vl, i;
    int rc, reason;

    *ret_off = r->off;
    if ((rc = rd_field(r, "domain", &v, &vl)) != MTASTS_OK)
        return rc;
    if (expect != NULL) {
        /* A lookup knows its (normalised, valid) domain: an entry for
         * another one is refused before any other work. */
        if (vl != expect_len || memcmp(v, expect, vl) != 0)
            return MTASTS_EINVAL;
    } else {
        if (mt_hostname_check(v, vl, 0, &reason, ret_off) != MTASTS_OK)
            return MTASTS_ESYNTAX;
        for (i = 0; i < vl; i++)
            if (v[i] >= 'A' && v[i] <= 'Z')
                return MTASTS_ESYNTAX; /* must be normalised */
    }
    e->ctx = ctx;
    memcpy(e->domain, v, vl);
    e->domain[vl] = '\0';
    e->domain_len = vl;
    *ret_off = r->off;
    if ((rc = rd_field(r, "id", &v, &vl)) != MTASTS_OK || !id_chars_ok(v, vl))
        goto bad;
    mt_entry_set_id(e->id, &e->id_len, v, vl);
    *ret_off = r->off;
    if (rd_num(r, "fetched", &t[0]) != MTASTS_OK)
        goto bad;
    *ret_off = r->off;
    if (rd_num(r, "expires", &t[1]) != MTASTS_OK)
        goto bad;
    *ret_off = r->off;
    if (rd_num(r, "backoff-until", &t[2]) != MTASTS_OK)
        goto bad;
    *ret_off = r->off;
    if (rd_field(r, "backoff-id", &v, &vl) != MTASTS_OK || !id_chars_ok(v, vl))
        goto bad;
    mt_entry_set_id(e->backoff_id, &e->backoff_id_len, v, vl);
    *ret_off = r->off;
    if (rd_num(r, "backoff-result", &br) != MTASTS_OK ||
        (br != 0 && br != MTASTS_RESULT_STS_POLICY_FETCH_ERROR &&
         br != MTASTS_RESULT_STS_POLICY_INVALID &&
         br != MTASTS_RESULT_STS_WEBPKI_INVALID))
        goto bad;
    *ret_off = r->off;
    if (rd_num(r, "last-used", &lu) != MTASTS_OK)
        goto bad;
    *ret_off = r->off;
    if (rd_num(r, "policy", &plen) != MTASTS_OK)
        goto bad;
    if ((uint64_t)plen > ctx->limits[MTASTS_LIMIT_POLICY_SIZE]) {
        rc = MTASTS_ETOOBIG;
        goto out;
    }
    /* Exactly the body, nothing after it. */
    if ((uint64_t)plen != r->n - r->off)
        goto bad;
    e->fetched = t[0];
    e->expires = t[1];
    e->backoff_until = t[2];
    e->backoff_result = (int)br;
    e->last_used = lu;
    *ret_off = r->off;
    if (plen > 0) {
        if (e->expires < e->fetched)
            goto bad;
        rc = mtasts_policy_parse(ctx, r->p + r->off, (size_t)plen, 0,
                                 &e->policy, NULL);
        if (rc != MTASTS_OK) {
            if (rc != MTASTS_ENOMEM)
                rc = MTASTS_ESYNTAX;
            goto out;
        }
    } else if (e->fetched != 0 || e->expires != 0) {
        goto bad;
    }
    /* a backoff always comes from a failed fetch, with its type; no
     * backoff, no failure */
    if ((e->backoff_until == 0) != (br == 0) ||
        (e->backoff_until == 0 && e->backoff_id_len != 0))
        goto bad;
    return MTASTS_OK;
bad:
    rc = MTASTS_ESYNTAX;
out:
    mtasts_policy_free(e->policy);
    e->policy = NULL;
    return rc;
}

/* The check line of a version 2 or 3 entry (the cursor is after the
 * header line): "crc32=" and 8 lower-case hex digits, matching the CRC-32
 * of the header line and of everything after the check line (version 2),
 * or "check=" and 16 lower-case hex digits, matching the Fletcher-64 of
 * everything after the check line (version 3). */
static int
check_line(struct mt_cur *r, size_t ver, size_t *ret_off)
{
    const char *v;
    size_t vl, i, digits = ver == 2 ? 8 : 16;
    uint64_t want = 0, got;
    struct f64 f = {0, 0, 0, 0};
    int d, rc;

    *ret_off = r->off;
    rc = ver == 2 ? rd_field(r, "crc32", &v, &vl)
                  : rd_field(r, "check", &v, &vl);
    if (rc != MTASTS_OK || vl != digits)
        return MTASTS_ESYNTAX;
    for (i = 0; i < digits; i++) {
        /* lower case only: one spelling per value */
        d = mt_hex_val((unsigned char)v[i]);
        if (d < 0 || (v[i] >= 'A' && v[i] <= 'F'))
            return MTASTS_ESYNTAX;
        want = want << 4 | (uint64_t)d;
    }
    if (ver == 2) {
        got = mt_crc32(mt_crc32(0, r->p, V2_HEAD_LEN), r->p + r->off,
                       r->n - r->off);
    } else {
        f64_update(&f, r->p + r->off, r->n - r->off);
        got = f64_final(&f);
    }
    return got == want ? MTASTS_OK : MTASTS_ECORRUPT;
}

int
mtasts_entry_decode(mtasts_ctx *ctx, const uint8_t *buf, size_t len,
                    mtasts_entry **ret_entry, struct mtasts_diag *reterr)
{
    mtasts_entry *e;
    int rc;

    if (ret_entry != NULL)
        *ret_entry = NULL;
    if (ctx == NULL || ret_entry == NULL || (buf == NULL && len > 0))
        return MTASTS_EINVAL;
    rc = mt_diag_check(reterr);
    if (rc != MTASTS_OK)
        return rc;
    e = mt_alloc(ctx, sizeof(*e));
    if (e == NULL)
        return mt_nomem(reterr);
    rc = mt_entry_decode_into(ctx, buf, len, NULL, 0, e, reterr);
    if (rc != MTASTS_OK) {
        mt_free(ctx, e, sizeof(*e));
        return rc;
    }
    *ret_entry = e;
    return MTASTS_OK;
}

int
mt_entry_decode_into(mtasts_ctx *ctx, const uint8_t *buf, size_t len,
                     const char *expect, size_t expect_len, mtasts_entry *e,
                     struct mtasts_diag *reterr)
{
    struct mt_cur r;
    size_t off = 0, i, ver = 0;
    int rc;

    /* Only what a failure may leave behind needs a value now: on success
     * decode_v1 sets every field, and a failed *e is only freed. */
    e->ctx = ctx;
    e->policy = NULL;
    if (ctx == NULL || (buf == NULL && len > 0))
        return MTASTS_EINVAL;
    rc = mt_diag_check(reterr);
    if (rc != MTASTS_OK)
        return rc;
    /* Header, check, domain, ids, eight numbers and the policy. */
    if (len > ctx->limits[MTASTS_LIMIT_POLICY_SIZE] + ENTRY_OVERHEAD) {
        mt_diag_fail(reterr, MTASTS_ETOOBIG, MTASTS_R_TOO_BIG, 0, NULL, 0);
        return MTASTS_ETOOBIG;
    }
    mt_cur_init(&r, buf, len);
    if (len < ENTRY_MAGIC_LEN ||
        memcmp(buf, ENTRY_MAGIC, ENTRY_MAGIC_LEN) != 0) {
        mt_diag_fail(reterr, MTASTS_ESYNTAX, MTASTS_R_VERSION, 0, NULL, 0);
        return MTASTS_ESYNTAX;
    }
    for (i = ENTRY_MAGIC_LEN; i < len && MT_IS(r.p[i], MT_C_DIGIT); i++)
        if (ver <= MTASTS_ENTRY_FORMAT_VERSION)
            ver = ver * 10 + (size_t)(r.p[i] - '0');
    if (i == ENTRY_MAGIC_LEN || i >= len || r.p[i] != '\n' ||
        r.p[ENTRY_MAGIC_LEN] == '0') {
        mt_diag_fail(reterr, MTASTS_ESYNTAX, MTASTS_R_VERSION, i,
                     (const char *)buf, len);
        return MTASTS_ESYNTAX;
    }
    /* any well-formed version number above ours, however long */
    if (ver > MTASTS_ENTRY_FORMAT_VERSION) {
        mt_diag_fail(reterr, MTASTS_EVERSION, MTASTS_R_VERSION, ENTRY_MAGIC_LEN,
                     (const char *)buf, len);
        return MTASTS_EVERSION;
    }
    r.off = i + 1;
    if (ver >= 2) {
        rc = check_line(&r, ver, &off);
        if (rc != MTASTS_OK) {
            mt_diag_fail(reterr, rc,
                         rc == MTASTS_ECORRUPT ? MTASTS_R_CHECKSUM
                                               : MTASTS_R_FIELD,
                         off, (const char *)buf, len);
            return rc;
        }
    }
    /* Versions 1 to 3 have the same fields (2 and 3 add a check). */
    rc = decode_v1(ctx, &r, expect, expect_len, e, &off);
    if (rc != MTASTS_OK) {
        mt_diag_fail(reterr, rc,
                     rc == MTASTS_ETOOBIG ? MTASTS_R_TOO_BIG : MTASTS_R_FIELD,
                     off, (const char *)buf, len);
        return rc;
    }
    mt_diag_ok(reterr, 0, 0);
    return MTASTS_OK;
}

void
mt_entry_clear(mtasts_entry *e)
{
    mtasts_policy_free(e->policy);
    e->policy = NULL;
}

/* Where the fields go: to the output, or (o NULL) into the check. */
struct esink {
    struct mt_out *o;
    struct f64 check;
};

static void
put(struct esink *s, const char *p, size_t n)
{
    if (s->o != NULL)
        mt_out_put(s->o, p, n);
    else
        f64_update(&s->check, p, n);
}

static void
put_kv_num(struct esink *s, const char *key, int64_t v)
{
    char num[24];
    struct mt_out t;

    mt_out_init(&t, num, sizeof(num));
    mt_out_u64(&t, (uint64_t)v);
    put(s, key, strlen(key));
    put(s, "=", 1);
    put(s, num, t.len);
    put(s, "\n", 1);
}

/* The lines after the check line, and the body. */
static void
put_fields(struct esink *s, const mtasts_entry *e, const char *raw,
           size_t raw_len)
{
    put(s, "domain=", 7);
    put(s, e->domain, e->domain_len);
    put(s, "\nid=", 4);
    put(s, e->id, e->id_len);
    put(s, "\n", 1);
    put_kv_num(s, "fetched", e->policy != NULL ? e->fetched : 0);
    put_kv_num(s, "expires", e->policy != NULL ? e->expires : 0);
    put_kv_num(s, "backoff-until", e->backoff_until);
    put(s, "backoff-id=", 11);
    put(s, e->backoff_id, e->backoff_id_len);
    put(s, "\n", 1);
    put_kv_num(s, "backoff-result", e->backoff_result);
    put_kv_num(s, "last-used", e->last_used);
    put_kv_num(s, "policy", (int64_t)raw_len);
    if (raw_len > 0)
        put(s, raw, raw_len);
}

int
mtasts_entry_encode(const mtasts_entry *e, uint8_t *dst, size_t dst_len,
                    size_t *ret_needed)
{
    static const char hex[] = "0123456789abcdef";
    static const char head[] = ENTRY_MAGIC "3\n";
    char check[V3_CHECK_LEN];
    struct mt_out o;
    struct esink s = {NULL, {0, 0, 0, 0}};
    const char *raw = NULL;
    size_t raw_len = 0;
    uint64_t sum;
    int i;

    if (e == NULL || (dst == NULL && dst_len > 0))
        return MTASTS_EINVAL;
    if (e->policy != NULL)
        raw = mtasts_policy_raw(e->policy, &raw_len);
    /* first the check, so that a truncated output is a prefix of the
     * whole one (snprintf semantics) */
    put_fields(&s, e, raw, raw_len);
    sum = f64_final(&s.check);
    memcpy(check, V3_CHECK_KEY, 6);
    for (i = 0; i < 16; i++)
        check[6 + i] = hex[(sum >> (60 - 4 * i)) & 0xf];
    check[22] = '\n';
    mt_out_init(&o, (char *)dst, dst_len);
    mt_out_put(&o, head, V3_HEAD_LEN);
    mt_out_put(&o, check, V3_CHECK_LEN);
    s.o = &o;
    put_fields(&s, e, raw, raw_len);
    return mt_out_finish(&o, ret_needed);
}

const char *
mtasts_entry_domain(const mtasts_entry *e, size_t *ret_len)
{
    if (ret_len != NULL)
        *ret_len = e != NULL ? e->domain_len : 0;
    return e != NULL ? e->domain : NULL;
}

const char *
mtasts_entry_id(const mtasts_entry *e, size_t *ret_len)
{
    if (ret_len != NULL)
        *ret_len = e != NULL ? e->id_len : 0;
    return e != NULL ? e->id : NULL;
}

const char *
mtasts_entry_backoff_id(const mtasts_entry *e, size_t *ret_len)
{
    if (ret_len != NULL)
        *ret_len = e != NULL ? e->backoff_id_len : 0;
    return e != NULL ? e->backoff_id : NULL;
}

const mtasts_policy *
mtasts_entry_policy(const mtasts_entry *e)
{
    return e != NULL ? e->policy : NULL;
}

int64_t
mtasts_entry_time(const mtasts_entry *e, int which)
{
    if (e == NULL)
        return 0;
    switch (which) {
    case MTASTS_ENTRY_TIME_FETCHED_AT:
        return e->fetched;
    case MTASTS_ENTRY_TIME_EXPIRES_AT:
        return e->expires;
    case MTASTS_ENTRY_TIME_BACKOFF_UNTIL:
        return e->backoff_until;
    case MTASTS_ENTRY_TIME_LAST_USED:
        return e->last_used;
    default:
        return 0;
    }
}
