/*
 * A JSON reader (RFC 8259 with the I-JSON rules of RFC 7493) written for
 * TLSRPT reports: a pull tokenizer with an explicit stack bounded by the
 * depth limit (no recursion), UTF-8 validation (RFC 3629: no overlongs, no
 * surrogates), four-hex-digit \u escapes with surrogate pairs (lone
 * surrogates are errors), and limits on string bytes, array elements and
 * object members checked before work proportional to them. String contents are
 * scanned 8 bytes at a time; strings without escapes are returned in place,
 * with no copy. Nothing like a DOM is built: the caller pulls one token at a
 * time.
 */
#include "json.h"

struct mt_json_keyent {
    uint64_t hash;
    uint32_t objid;
    size_t off, len; /* in kbytes */
};

void
mt_json_init(struct mt_json *j, const mtasts_ctx *ctx, const uint8_t *buf,
             size_t len)
{
    memset(j, 0, sizeof(*j));
    j->ctx = ctx;
    j->start = buf;
    j->p = buf;
    j->end = buf + len;
    j->max_depth = ctx->limits[MTASTS_LIMIT_JSON_DEPTH];
    j->max_string = ctx->limits[MTASTS_LIMIT_JSON_STRING];
    j->max_array = ctx->limits[MTASTS_LIMIT_JSON_ARRAY];
    j->state = MT_JST_VALUE;
    j->lv = j->local;
    j->lv_cap = MT_JSON_LOCAL_DEPTH;
    j->next_objid = 1;
}

void
mt_json_fini(struct mt_json *j)
{
    if (j->lv != j->local)
        mt_free(j->ctx, j->lv, j->lv_cap * sizeof(*j->lv));
    mt_free(j->ctx, j->scratch, j->scratch_cap);
    mt_free(j->ctx, j->keys, j->keys_cap * sizeof(*j->keys));
    mt_free(j->ctx, j->kbytes, j->kbytes_cap);
    j->lv = j->local;
    j->scratch = NULL;
    j->keys = NULL;
    j->kbytes = NULL;
}

int
mt_json_fail(struct mt_json *j, int err, int reason, size_t off)
{
    if (j->err == 0) {
        j->err = err;
        j->reason = reason;
        j->err_off = off;
    }
    j->state = MT_JST_DONE;
    return MT_JT_ERROR;
}

static int
fail_at(struct mt_json *j, int err, int reason, const uint8_t *at)
{
    return mt_json_fail(j, err, reason, (size_t)(at - j->start));
}

/* Length of the valid UTF-8 sequence (2 to 4 bytes) at p, 0 if invalid:
 * the library's one validator (text.c). */
static size_t
utf8_seq(const uint8_t *p, const uint8_t *end)
{
    return mt_utf8_seq(p, (size_t)(end - p));
}

static long
hex4(const uint8_t *p)
{
    int a = mt_hex_val(p[0]), b = mt_hex_val(p[1]), c = mt_hex_val(p[2]),
        d = mt_hex_val(p[3]);

    if ((a | b | c | d) < 0)
        return -1;
    return ((long)a << 12) | (b << 8) | (c << 4) | d;
}

static int
scratch_reserve(struct mt_json *j, size_t need)
{
    char *n;
    size_t cap = j->scratch_cap ? j->scratch_cap : 256;

    if (need <= j->scratch_cap)
        return 0;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    n = mt_realloc(j->ctx, j->scratch, j->scratch_cap, cap);
    if (n == NULL)
        return -1;
    j->scratch = n;
    j->scratch_cap = cap;
    return 0;
}

/* Decode the escaped string s..e (e at the closing quote) into scratch. */
static int
decode_escaped(struct mt_json *j, const uint8_t *s, const uint8_t *e)
{
    char *o;
    const uint8_t *q = s;

    if (scratch_reserve(j, (size_t)(e - s)) != 0)
        return mt_json_fail(j, MTASTS_ENOMEM, MTASTS_R_NONE, 0);
    o = j->scratch;
    while (q < e) {
        uint8_t c = *q;
        if (c == '\\') {
            long u;
            c = q[1];
            q += 2;
            switch (c) {
            case '"':
            case '\\':
            case '/':
                *o++ = (char)c;
                continue;
            case 'b':
                *o++ = '\b';
                continue;
            case 'f':
                *o++ = '\f';
                continue;
            case 'n':
                *o++ = '\n';
                continue;
            case 'r':
                *o++ = '\r';
                continue;
            case 't':
                *o++ = '\t';
                continue;
            case 'u':
                break;
            default:
                return fail_at(j, MTASTS_ESYNTAX, MT_R_JSON_SYNTAX, q - 2);
            }
            if (e - q < 4 || (u = hex4(q)) < 0)
                return fail_at(j, MTASTS_ESYNTAX, MT_R_JSON_SYNTAX, q - 2);
            q += 4;
            if (u >= 0xD800 && u <= 0xDBFF) {
                long lo;
                if (e - q < 6 || q[0] != '\\' || q[1] != 'u' ||
                    (lo = hex4(q + 2)) < 0xDC00 || lo > 0xDFFF)
                    return fail_at(j, MTASTS_ESYNTAX, MTASTS_R_UTF8, q - 6);
                q += 6;
                u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
            } else if (u >= 0xDC00 && u <= 0xDFFF)
                return fail_at(j, MTASTS_ESYNTAX, MTASTS_R_UTF8, q - 6);
            if (u < 0x80)
                *o++ = (char)u;
            else if (u < 0x800) {
                *o++ = (char)(0xC0 | (u >> 6));
                *o++ = (char)(0x80 | (u & 0x3F));
            } else if (u < 0x10000) {
                *o++ = (char)(0xE0 | (u >> 12));
                *o++ = (char)(0x80 | ((u >> 6) & 0x3F));
                *o++ = (char)(0x80 | (u & 0x3F));
            } else {
                *o++ = (char)(0xF0 | (u >> 18));
                *o++ = (char)(0x80 | ((u >> 12) & 0x3F));
                *o++ = (char)(0x80 | ((u >> 6) & 0x3F));
                *o++ = (char)(0x80 | (u & 0x3F));
            }
        } else if (c < 0x20) {
            return fail_at(j, MTASTS_ESYNTAX, MTASTS_R_CTL, q);
        } else if (c < 0x80) {
            *o++ = (char)c;
            q++;
        } else {
            size_t n = utf8_seq(q, e);
            if (n == 0)
                return fail_at(j, MTASTS_ESYNTAX, MTASTS_R_UTF8, q);
            memcpy(o, q, n);
            o += n;
            q += n;
        }
    }
    j->str = j->scratch;
    j->slen = (size_t)(o - j->scratch);
    return 0;
}

#if defined(__GNUC__)
#define MT_NOINLINE __attribute__((noinline))
#else
#define MT_NOINLINE
#endif

/* The rest of a string from q on (s: its first byte, lim: how far it may
 * reach), whatever q points at: escapes, non-ASCII bytes, controls, the
 * end of the input or of the string limit. */
static MT_NOINLINE int
read_string_rest(struct mt_json *j, const uint8_t *s, const uint8_t *q,
                 const uint8_t *lim)
{
    for (;;) {
        while (lim - q >= 8) {
            uint64_t m = mt_json_special(mt_load_le(q, 8));
            if (m != 0) {
                q += mt_json_first_flag(m);
                goto special;
            }
            q += 8;
        }
        while (q < lim && *q >= 0x20 && *q < 0x80 && *q != '"' && *q != '\\')
            q++;
        if (q == lim)
            break;
    special:
        if (*q == '"') {
            j->str = (const char *)s;
            j->slen = (size_t)(q - s);
            j->p = q + 1;
            return 0;
        }
        if (*q == '\\') {
            /* find the end, then decode: escaped strings are rare */
            const uint8_t *e = q;
            while (e < lim && *e != '"') {
                if (*e == '\\' && lim - e >= 2)
                    e += 2;
                else if (*e == '\\')
                    e = lim;
                else
                    e++;
            }
            if (e >= lim) {
                q = lim;
                break;
            }
            if (decode_escaped(j, s, e) != 0)
                return MT_JT_ERROR;
            j->p = e + 1;
            return 0;
        }
        if (*q < 0x20)
            return fail_at(j, MTASTS_ESYNTAX, MTASTS_R_CTL, q);
        {
            size_t n = utf8_seq(q, lim);
            if (n == 0) {
                /* a sequence cut by the limit is a length error */
                if (lim != j->end && utf8_seq(q, j->end) != 0)
                    return fail_at(j, MTASTS_ETOOBIG, MTASTS_R_TOO_BIG, j->p);
                return fail_at(j, MTASTS_ESYNTAX, MTASTS_R_UTF8, q);
            }
            q += n;
        }
    }
    if (lim != j->end)
        return fail_at(j, MTASTS_ETOOBIG, MTASTS_R_TOO_BIG, j->p);
    return fail_at(j, MTASTS_ESYNTAX, MT_R_JSON_SYNTAX, j->end);
}

/* A string at j->p (on the opening quote). Sets j->str/slen and moves past
 * the closing quote. Returns 0 or MT_JT_ERROR (-1). The common case, plain
 * ASCII up to the closing quote, stays here; anything else goes on in
 * read_string_rest(). */
static inline int
read_string(struct mt_json *j)
{
    const uint8_t *s = j->p + 1, *lim = mt_json_string_lim(j, s);
    const uint8_t *q = mt_json_scan(s, lim);

    if (q < lim && *q == '"') {
        j->str = (const char *)s;
        j->slen = (size_t)(q - s);
        j->p = q + 1;
        return 0;
    }
    return read_string_rest(j, s, q, lim);
}

static int
read_number(struct mt_json *j)
{
    const uint8_t *p = j->p, *end = j->end;
    uint64_t v = 0;
    int neg = 0, isint = 1, big = 0;

    if (*p == '-') {
        neg = 1;
        p++;
    }
    if (p == end || *p < '0' || *p > '9')
        return fail_at(j, MTASTS_ESYNTAX, MT_R_JSON_SYNTAX, p);
    if (*p == '0') {
        p++;
    } else {
        while (p < end && *p >= '0' && *p <= '9') {
            if (!big) {
                v = v * 10 + (uint64_t)(*p - '0');
                if (v > MT_JSON_MAX_SAFE)
                    big = 1;
            }
            p++;
        }
    }
    if (p < end && *p == '.') {
        p++;
        isint = 0;
        if (p == end || *p < '0' || *p > '9')
            return fail_at(j, MTASTS_ESYNTAX, MT_R_JSON_SYNTAX, p);
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        isint = 0;
        if (p < end && (*p == '+' || *p == '-'))
            p++;
        if (p == end || *p < '0' || *p > '9')
            return fail_at(j, MTASTS_ESYNTAX, MT_R_JSON_SYNTAX, p);
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    }
    j->num_int = isint && !neg;
    j->num_big = big;
    j->num = big ? 0 : v;
    j->p = p;
    return 0;
}

static int
push(struct mt_json *j, uint32_t objid)
{
    if (j->depth >= j->max_depth)
        return fail_at(j, MTASTS_ETOOBIG, MTASTS_R_TOO_BIG, j->p);
    if (j->depth == j->lv_cap) {
        size_t ncap = j->lv_cap * 2;
        struct mt_json_level *n;
        if (j->lv == j->local) {
            n = mt_alloc(j->ctx, ncap * sizeof(*n));
            if (n != NULL)
                memcpy(n, j->local, sizeof(j->local));
        } else
            n = mt_realloc(j->ctx, j->lv, j->lv_cap * sizeof(*n),
                           ncap * sizeof(*n));
        if (n == NULL)
            return mt_json_fail(j, MTASTS_ENOMEM, MTASTS_R_NONE, 0);
        j->lv = n;
        j->lv_cap = ncap;
    }
    j->lv[j->depth].count = 0;
    j->lv[j->depth].objid = objid;
    j->depth++;
    return 0;
}

static int
literal(struct mt_json *j, const char *word, size_t n, int tok)
{
    if ((size_t)(j->end - j->p) < n || memcmp(j->p, word, n) != 0)
        return fail_at(j, MTASTS_ESYNTAX, MT_R_JSON_SYNTAX, j->p);
    j->p += n;
    j->state = MT_JST_AFTER;
    return tok;
}

/* One more element (array) or member (object) in the innermost level. */
static int
count_one(struct mt_json *j)
{
    if (j->depth > 0 && ++j->lv[j->depth - 1].count > j->max_array)
        return fail_at(j, MTASTS_ETOOBIG, MTASTS_R_TOO_BIG, j->p);
    return 0;
}

static int
read_key(struct mt_json *j)
{
    if (j->p == j->end || *j->p != '"')
        return fail_at(j, MTASTS_ESYNTAX, MT_R_JSON_SYNTAX, j->p);
    if (count_one(j) != 0)
        return MT_JT_ERROR;
    j->tok_off = (size_t)(j->p - j->start);
    if (read_string(j) != 0)
        return MT_JT_ERROR;
    j->p = mt_json_skip_ws(j->p, j->end);
    if (j->p == j->end || *j->p != ':')
        return fail_at(j, MTASTS_ESYNTAX, MT_R_JSON_SYNTAX, j->p);
    j->p++;
    j->state = MT_JST_VALUE;
    return MT_JT_KEY;
}

static int
read_value(struct mt_json *j)
{
    const uint8_t *p = j->p;

    if (p == j->end) {
        if (p == j->start)
            return fail_at(j, MTASTS_ESYNTAX, MTASTS_R_EMPTY, p);
        return fail_at(j, MTASTS_ESYNTAX, MT_R_JSON_SYNTAX, p);
    }
    if (j->depth > 0 && j->lv[j->depth - 1].objid == 0 && count_one(j) != 0)
        return MT_JT_ERROR;
    j->tok_off = (size_t)(p - j->start);
    switch (*p) {
    case '"':
        if (read_string(j) != 0)
            return MT_JT_ERROR;
        j->state = MT_JST_AFTER;
        return MT_JT_STR;
    case '{':
        if (push(j, j->next_objid) != 0)
            return MT_JT_ERROR;
        j->next_objid++;
        if (j->next_objid == 0)
            j->next_objid = 1;
        j->p++;
        j->state = MT_JST_OBJ_FIRST;
        return MT_JT_OBJ;
    case '[':
        if (push(j, 0) != 0)
            return MT_JT_ERROR;
        j->p++;
        j->state = MT_JST_ARR_FIRST;
        return MT_JT_ARR;
    case 't':
        return literal(j, "true", 4, MT_JT_TRUE);
    case 'f':
        return literal(j, "false", 5, MT_JT_FALSE);
    case 'n':
        return literal(j, "null", 4, MT_JT_NULL);
    default:
        if (*p == '-' || (*p >= '0' && *p <= '9')) {
            if (read_number(j) != 0)
                return MT_JT_ERROR;
            j->state = MT_JST_AFTER;
            return MT_JT_NUM;
        }
        if (*p >= 0x80 && utf8_seq(p, j->end) == 0)
            return fail_at(j, MTASTS_ESYNTAX, MTASTS_R_UTF8, p);
        return fail_at(j, MTASTS_ESYNTAX, MT_R_JSON_SYNTAX, p);
    }
}

static int
close_level(struct mt_json *j, int tok)
{
    j->tok_off = (size_t)(j->p - j->start);
    j->p++;
    j->depth--;
    j->state = MT_JST_AFTER;
    return tok;
}

int
mt_json_next(struct mt_json *j)
{
    uint8_t c;

    j->p = mt_json_skip_ws(j->p, j->end);
    switch (j->state) {
    case MT_JST_VALUE:
        return read_value(j);
    case MT_JST_ARR_FIRST:
        if (j->p < j->end && *j->p == ']')
            return close_level(j, MT_JT_END_ARR);
        j->state = MT_JST_VALUE;
        return read_value(j);
    case MT_JST_OBJ_FIRST:
        if (j->p < j->end && *j->p == '}')
            return close_level(j, MT_JT_END_OBJ);
        return read_key(j);
    case MT_JST_OBJ_KEY:
        return read_key(j);
    case MT_JST_AFTER:
        if (j->depth == 0) {
            if (j->p != j->end)
                return fail_at(j, MTASTS_ESYNTAX, MT_R_JSON_SYNTAX, j->p);
            j->state = MT_JST_DONE;
            j->tok_off = (size_t)(j->p - j->start);
            return MT_JT_EOF;
        }
        if (j->p == j->end)
            return fail_at(j, MTASTS_ESYNTAX, MT_R_JSON_SYNTAX, j->p);
        c = *j->p;
        if (j->lv[j->depth - 1].objid != 0) {
            if (c == '}')
                return close_level(j, MT_JT_END_OBJ);
            if (c != ',')
                return fail_at(j, MTASTS_ESYNTAX, MT_R_JSON_SYNTAX, j->p);
            j->p = mt_json_skip_ws(j->p + 1, j->end);
            return read_key(j);
        }
        if (c == ']')
            return close_level(j, MT_JT_END_ARR);
        if (c != ',')
            return fail_at(j, MTASTS_ESYNTAX, MT_R_JSON_SYNTAX, j->p);
        j->p = mt_json_skip_ws(j->p + 1, j->end);
        return read_value(j);
    default:
        if (j->err == 0)
            return MT_JT_EOF;
        return MT_JT_ERROR;
    }
}

int
mt_json_skip(struct mt_json *j, int tok)
{
    size_t depth0 = j->depth;

    if (tok == MT_JT_ERROR)
        return -1;
    if (tok != MT_JT_OBJ && tok != MT_JT_ARR)
        return 0;
    for (;;) {
        tok = mt_json_next(j);
        switch (tok) {
        case MT_JT_ERROR:
            return -1;
        case MT_JT_KEY:
            if (mt_json_check_name(j) != 0)
                return -1;
            break;
        case MT_JT_END_OBJ:
        case MT_JT_END_ARR:
            if (j->depth < depth0)
                return 0;
            break;
        default:
            break;
        }
    }
}

/* Member names are untrusted input: hashed under the context's seed, so
 * that names colliding in this table cannot be prepared in advance. */
static uint64_t
name_hash(const struct mt_json *j, uint32_t objid)
{
    return mt_hash(j->ctx->seed ^
                       ((uint64_t)objid * UINT64_C(0x9e3779b97f4a7c15)),
                   j->str, j->slen);
}

static int
keys_grow(struct mt_json *j)
{
    size_t ncap = j->keys_cap ? j->keys_cap * 2 : 64, i;
    struct mt_json_keyent *n;

    n = mt_alloc(j->ctx, ncap * sizeof(*n));
    if (n == NULL)
        return -1;
    memset(n, 0, ncap * sizeof(*n));
    for (i = 0; i < j->keys_cap; i++) {
        size_t k;
        if (j->keys[i].objid == 0)
            continue;
        k = (size_t)j->keys[i].hash & (ncap - 1);
        while (n[k].objid != 0)
            k = (k + 1) & (ncap - 1);
        n[k] = j->keys[i];
    }
    mt_free(j->ctx, j->keys, j->keys_cap * sizeof(*j->keys));
    j->keys = n;
    j->keys_cap = ncap;
    return 0;
}

int
mt_json_check_name(struct mt_json *j)
{
    uint32_t objid = j->lv[j->depth - 1].objid;
    uint64_t h = name_hash(j, objid);
    size_t k;

    if ((j->keys_count + 1) * 2 > j->keys_cap && keys_grow(j) != 0)
        return mt_json_fail(j, MTASTS_ENOMEM, MTASTS_R_NONE, 0), -1;
    for (k = (size_t)h & (j->keys_cap - 1); j->keys[k].objid != 0;
         k = (k + 1) & (j->keys_cap - 1)) {
        const struct mt_json_keyent *e = &j->keys[k];
        if (e->hash == h && e->objid == objid && e->len == j->slen &&
            (j->slen == 0 ||
             memcmp(j->kbytes + e->off, j->str, j->slen) == 0)) {
            mt_json_fail(j, MTASTS_ESYNTAX, MT_R_JSON_DUP, j->tok_off);
            return -1;
        }
    }
    if (j->kbytes_len + j->slen > j->kbytes_cap) {
        size_t ncap = j->kbytes_cap ? j->kbytes_cap : 256;
        char *n;
        while (ncap < j->kbytes_len + j->slen)
            ncap *= 2;
        n = mt_realloc(j->ctx, j->kbytes, j->kbytes_cap, ncap);
        if (n == NULL)
            return mt_json_fail(j, MTASTS_ENOMEM, MTASTS_R_NONE, 0), -1;
        j->kbytes = n;
        j->kbytes_cap = ncap;
    }
    if (j->slen > 0)
        memcpy(j->kbytes + j->kbytes_len, j->str, j->slen);
    j->keys[k].hash = h;
    j->keys[k].objid = objid;
    j->keys[k].off = j->kbytes_len;
    j->keys[k].len = j->slen;
    j->kbytes_len += j->slen;
    j->keys_count++;
    return 0;
}
