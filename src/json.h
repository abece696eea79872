/*
 * Internal JSON reader (pull tokenizer, json_read.c) and writer
 * (json_write.c) used by the TLSRPT report code. Not installed.
 */
#ifndef MTASTS_JSON_H
#define MTASTS_JSON_H

#include "internal.h"

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
/* Writer                                                               */
/* ------------------------------------------------------------------ */

struct mt_jw {
    mtasts_ctx *ctx;
    mtasts_buf *buf;
    uint8_t *d; /* data of buf */
    size_t len, cap;
    int pretty;
    int oom;
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
