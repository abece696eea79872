/*
 * Internal JSON reader (pull tokenizer, json_read.c) and writer
 * (json_write.c) used by the TLSRPT report code. Not installed.
 */
#ifndef MTASTS_JSON_H
#define MTASTS_JSON_H

#include "internal.h"
#include "swar.h"

/* Tokens returned by mt_json_next(). */
enum mt_json_tok {
    MT_JT_ERROR = -1, /* j->err, j->reason and j->err_off say why */
    MT_JT_EOF = 1,    /* the one top-level value ended, only WSP followed */
    MT_JT_OBJ,        /* '{' */
    MT_JT_END_OBJ,    /* '}' */
    MT_JT_ARR,        /* '[' */
    MT_JT_END_ARR,    /* ']' */
    MT_JT_KEY,        /* a member name (j->str, j->slen); ':' consumed */
    MT_JT_STR,        /* a string value (j->str, j->slen) */
    MT_JT_NUM,        /* a number (j->num_int, j->num) */
    MT_JT_TRUE,
    MT_JT_FALSE,
    MT_JT_NULL,
};

/* Reader states (struct mt_json.state). */
enum mt_json_state {
    MT_JST_VALUE,     /* a value is expected */
    MT_JST_ARR_FIRST, /* after '[': a value or ']' */
    MT_JST_OBJ_FIRST, /* after '{': a name or '}' */
    MT_JST_OBJ_KEY,   /* after ',' in an object: a name */
    MT_JST_AFTER,     /* after a value: ',' or the closing bracket */
    MT_JST_DONE,
};

/* Reasons of JSON and model errors. The public header has no JSON-specific
 * reasons yet; these map them onto the closest existing ones in one place
 * (see the report of this change). */
#define MT_R_JSON_SYNTAX MTASTS_R_JSON      /* malformed JSON */
#define MT_R_JSON_DUP    MTASTS_R_DUPLICATE /* duplicate member name */
#define MT_R_JSON_MISSING                                                \
    MTASTS_R_MISSING_MEMBER                   /* required member missing \
                                               */
#define MT_R_JSON_TYPE  MTASTS_R_MEMBER_TYPE  /* wrong JSON type */
#define MT_R_JSON_VALUE MTASTS_R_MEMBER_VALUE /* bad number... */
#define MT_R_JSON_DATE  MTASTS_R_DATE_TIME    /* bad date-time */

/* Levels kept in the struct; deeper nesting (when the depth limit allows
 * it) uses a heap stack. */
#define MT_JSON_LOCAL_DEPTH 16

struct mt_json_level {
    size_t count;   /* elements (array) or members (object) so far */
    uint32_t objid; /* object serial number (for duplicate names), 0: array */
};

struct mt_json_keyent;

struct mt_json {
    const mtasts_ctx *ctx;
    const uint8_t *start, *p, *end;
    size_t max_depth, max_string, max_array;
    size_t depth;
    int state;
    struct mt_json_level *lv; /* lv[depth - 1] is the innermost */
    struct mt_json_level local[MT_JSON_LOCAL_DEPTH];
    size_t lv_cap;
    uint32_t next_objid;
    /* last token */
    size_t tok_off;  /* offset of the token's first byte */
    const char *str; /* string or key bytes (not NUL-terminated) */
    size_t slen;
    int num_int;  /* 1: a non-negative integer without fraction/exp */
    int num_big;  /* 1: an integer above 2^53-1 */
    uint64_t num; /* its value when num_int && !num_big */
    /* scratch for strings with escapes */
    char *scratch;
    size_t scratch_cap;
    /* names seen per object (mt_json_check_name) */
    struct mt_json_keyent *keys;
    size_t keys_cap, keys_count;
    char *kbytes;
    size_t kbytes_cap, kbytes_len;
    /* error */
    int err;
    int reason;
    size_t err_off;
};

#define MT_JSON_MAX_SAFE ((uint64_t)9007199254740991) /* 2^53 - 1 */

void mt_json_init(struct mt_json *j, const mtasts_ctx *ctx, const uint8_t *buf,
                  size_t len);
void mt_json_fini(struct mt_json *j);
int mt_json_next(struct mt_json *j);
/* Skip the value whose first token tok was just returned (containers are
 * read to their end, every member name checked for duplicates). Returns 0
 * or -1 with the error set. */
int mt_json_skip(struct mt_json *j, int tok);
/* Check the member name just returned (MT_JT_KEY) against the other names
 * checked in the same object: -1 with the error set for a duplicate. */
int mt_json_check_name(struct mt_json *j);
/* Set an error at offset off; returns MT_JT_ERROR. */
int mt_json_fail(struct mt_json *j, int err, int reason, size_t off);

/* ------------------------------------------------------------------ */
/* Inline scanning and the fast path of mt_json_next()                 */
/* ------------------------------------------------------------------ */

/* Nonzero high bit in every byte of x that is '"', '\\', below 0x20 or
 * above 0x7F (exact: no false positives). */
static inline uint64_t
mt_json_special(uint64_t x)
{
    /* below 0x20: (y & 0x7F) + 0x60 has no high bit, and y < 0x80 */
    uint64_t lt = ~(((x & MT_LOW7) + MT_BYTES(0x60)) | x) & MT_HIGHS;

    return mt_swar_zero(x ^ MT_BYTES('"')) | mt_swar_zero(x ^ MT_BYTES('\\')) |
           lt | (x & MT_HIGHS);
}

/* Offset of the first flagged byte of a nonzero mask (of a word loaded
 * with mt_load_le). */
static inline size_t
mt_json_first_flag(uint64_t m)
{
    return mt_bit_first(m) >> 3;
}

/* The first byte from q on that is special in a string ('"', '\\', a
 * control or non-ASCII), scanning whole blocks only: when none is found
 * the result is where fewer than a block of bytes before lim remain (the
 * caller looks at the rest). */
static inline const uint8_t *
mt_json_scan(const uint8_t *q, const uint8_t *lim)
{
#if MT_SSE2
    /* 16 bytes at a time: as signed bytes, both the controls and the
     * bytes above 0x7F are below 0x20 */
    while (lim - q >= 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)q);
        __m128i m =
            _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8('"')),
                                      _mm_cmpeq_epi8(x, _mm_set1_epi8('\\'))),
                         _mm_cmplt_epi8(x, _mm_set1_epi8(0x20)));
        unsigned bits = (unsigned)_mm_movemask_epi8(m);
        if (bits != 0)
            return q + mt_bit_first(bits);
        q += 16;
    }
#else
    while (lim - q >= 8) {
        uint64_t m = mt_json_special(mt_load_le(q, 8));
        if (m != 0)
            return q + mt_json_first_flag(m);
        q += 8;
    }
#endif
    return q;
}

/* How far a string whose first byte is at s may be looked at: one byte
 * past the string limit tells "too long" from "ends here". */
static inline const uint8_t *
mt_json_string_lim(const struct mt_json *j, const uint8_t *s)
{
    size_t room = (size_t)(j->end - s);

    return room > j->max_string ? s + j->max_string + 1 : j->end;
}

static inline const uint8_t *
mt_json_skip_ws(const uint8_t *p, const uint8_t *end)
{
    if (p<end && * p> ' ')
        return p; /* the common case: no white space at all */
    while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
        p++;
    return p;
}

/* The closing quote of the plain string (no escapes, controls or
 * non-ASCII bytes, within the string limit) whose first byte is at s, or
 * NULL for any other string: mt_json_next() then reads it. */
static inline const uint8_t *
mt_json_plain(const struct mt_json *j, const uint8_t *s)
{
    const uint8_t *lim = mt_json_string_lim(j, s);
    const uint8_t *q = mt_json_scan(s, lim);

    return q < lim && *q == '"' ? q : NULL;
}

/* A member value at p (no white space before it) that is not a string:
 * a small non-negative integer (at most 15 digits, so below 2^53, with
 * no leading zero, fraction or exponent) is read here, anything else by
 * mt_json_next(). */
static inline int
mt_json_number(struct mt_json *j, const uint8_t *p)
{
    const uint8_t *q, *end = j->end;
    uint64_t v = 0;

    if ((unsigned)(*p - '0') > 9)
        return mt_json_next(j);
    for (q = p; q < end && q - p < 16 && (unsigned)(*q - '0') <= 9; q++)
        v = v * 10 + (unsigned)(*q - '0');
    if (q - p == 16 || (*p == '0' && q - p > 1) ||
        (q < end && (*q == '.' || *q == 'e' || *q == 'E')))
        return mt_json_next(j);
    j->tok_off = (size_t)(p - j->start);
    j->num_int = 1;
    j->num_big = 0;
    j->num = v;
    j->p = q;
    j->state = MT_JST_AFTER;
    return MT_JT_NUM;
}

/* A plain (escape-free) string token of n bytes whose opening quote is
 * at p; reading goes on at next in the given state. */
static MT_ALWAYS_INLINE void
mt_json_put_str(struct mt_json *j, const uint8_t *p, size_t n,
                const uint8_t *next, int state)
{
    j->tok_off = (size_t)(p - j->start);
    j->str = (const char *)p + 1;
    j->slen = n;
    j->p = next;
    j->state = state;
}

/* If the next token is the member name name (n >= 4 bytes of printable
 * ASCII without '"' or '\\') written without white space, read it as
 * mt_json_next() would (MT_JT_KEY) and return 1; else 0, j untouched. */
static MT_ALWAYS_INLINE int
mt_json_key_is(struct mt_json *j, const char *name, size_t n)
{
    const uint8_t *p = j->p;
    struct mt_json_level *lv;
    uint64_t a, b;
    size_t i;

    if (j->depth == 0)
        return 0;
    lv = &j->lv[j->depth - 1];
    if (lv->objid == 0 || lv->count >= j->max_array || n > j->max_string)
        return 0;
    if (j->state == MT_JST_AFTER) {
        if (p == j->end || *p != ',')
            return 0;
        p++;
    } else if (j->state != MT_JST_OBJ_FIRST)
        return 0;
    if ((size_t)(j->end - p) < n + 3 || p[0] != '"' || p[n + 1] != '"' ||
        p[n + 2] != ':')
        return 0;
    /* the name: words, the last one overlapping */
    if (n < 8) {
        uint32_t x, y, u, v;
        memcpy(&x, p + 1, 4);
        memcpy(&y, name, 4);
        memcpy(&u, p + 1 + n - 4, 4);
        memcpy(&v, name + n - 4, 4);
        if (x != y || u != v)
            return 0;
    } else {
        for (i = 0; i + 8 < n; i += 8) {
            memcpy(&a, p + 1 + i, 8);
            memcpy(&b, name + i, 8);
            if (a != b)
                return 0;
        }
        memcpy(&a, p + 1 + n - 8, 8);
        memcpy(&b, name + n - 8, 8);
        if (a != b)
            return 0;
    }
    lv->count++;
    mt_json_put_str(j, p, n, p + n + 3, MT_JST_VALUE);
    return 1;
}

/* mt_json_next() with its most common tokens read inline: a plain member
 * name (after '{' or ',') and a plain string member value. Anything else,
 * errors included, is left to mt_json_next() with j untouched. */
static MT_ALWAYS_INLINE int
mt_json_next_fast(struct mt_json *j)
{
    const uint8_t *p, *q, *end = j->end;
    struct mt_json_level *lv;

    if (j->depth == 0)
        return mt_json_next(j);
    lv = &j->lv[j->depth - 1];
    if (lv->objid == 0)
        return mt_json_next(j);
    p = mt_json_skip_ws(j->p, end);
    if (p == end)
        return mt_json_next(j);
    if (j->state == MT_JST_VALUE) {
        if (*p == '"') {
            if ((q = mt_json_plain(j, p + 1)) == NULL)
                return mt_json_next(j);
            mt_json_put_str(j, p, (size_t)(q - p - 1), q + 1, MT_JST_AFTER);
            return MT_JT_STR;
        }
        return mt_json_number(j, p);
    }
    if (j->state == MT_JST_AFTER) {
        if (*p == '}') {
            j->tok_off = (size_t)(p - j->start);
            j->p = p + 1;
            j->depth--;
            return MT_JT_END_OBJ; /* the state stays MT_JST_AFTER */
        }
        if (*p != ',')
            return mt_json_next(j);
        p = mt_json_skip_ws(p + 1, end);
    } else if (j->state != MT_JST_OBJ_FIRST)
        return mt_json_next(j);
    if (p == end || *p != '"' || lv->count >= j->max_array ||
        (q = mt_json_plain(j, p + 1)) == NULL)
        return mt_json_next(j);
    {
        const uint8_t *c = mt_json_skip_ws(q + 1, end);
        if (c == end || *c != ':')
            return mt_json_next(j);
        lv->count++;
        mt_json_put_str(j, p, (size_t)(q - p - 1), c + 1, MT_JST_VALUE);
        return MT_JT_KEY;
    }
}

/* ------------------------------------------------------------------ */
/* Writer                                                               */
/* ------------------------------------------------------------------ */

struct mt_jw {
    mtasts_ctx *ctx;
    struct mt_grow out; /* internal.h */
    int pretty;
    size_t indent;
    int first;     /* no element yet in the current container */
    int after_key; /* a member name was written, its value is next */
};

int mt_jw_init(struct mt_jw *w, mtasts_ctx *ctx, size_t hint, int pretty);
/* Give the result (trimmed) or MTASTS_ENOMEM; the writer is done. */
int mt_jw_finish(struct mt_jw *w, mtasts_buf **ret);
void mt_jw_abort(struct mt_jw *w);
void mt_jw_begin(struct mt_jw *w, char open);
void mt_jw_end(struct mt_jw *w, char close);
/* A member name (starts a new element) */
void mt_jw_key(struct mt_jw *w, const char *name, size_t len);
/* Values: after mt_jw_key, or as array elements. */
void mt_jw_str(struct mt_jw *w, const char *s, size_t len);
/* Bytes as they are, outside the element structure. */
void mt_jw_raw(struct mt_jw *w, const char *s, size_t n);
void mt_jw_raw_value(struct mt_jw *w, const char *s, size_t len);
void mt_jw_uint(struct mt_jw *w, uint64_t v);
/* Escaped JSON string contents (no quotes) appended to w. */
void mt_jw_escaped(struct mt_jw *w, const char *s, size_t len);

#endif
