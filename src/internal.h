/* Internal declarations shared by the library sources. Not installed. */
#ifndef MTASTS_INTERNAL_H
#define MTASTS_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "mtasts.h"

#define MT_LIMIT_COUNT 9
/* mtasts_option values are MT_OPTION_BASE + index into ctx->options. */
#define MT_OPTION_BASE  100
#define MT_OPTION_COUNT 7
#define MT_RESULT_MAX   MTASTS_RESULT_STS_WEBPKI_INVALID
/* Largest duration option, in seconds: sums with times stay far from
 * overflow. */
#define MT_SECONDS_MAX ((int64_t)1 << 40)

struct mtasts_ctx {
    struct mtasts_alloc alloc;
    /* Secret of the hash tables of the objects made from this context
     * (aggregates, policy keys, caches, the JSON duplicate-name table),
     * so that colliding keys cannot be prepared in advance (hash
     * flooding): from the kernel's random source, or the caller's
     * (mtasts_ctx_set_seed). Objects copy it when they are made. */
    uint64_t seed;
    size_t limits[MT_LIMIT_COUNT];
    int64_t options[MT_OPTION_COUNT]; /* [option - MT_OPTION_BASE] */
};

struct mtasts_entry {
    mtasts_ctx *ctx;
    char domain[MTASTS_DOMAIN_MAX_LEN + 1];
    size_t domain_len;
    char id[MTASTS_ID_MAX_LEN + 1];
    size_t id_len;
    char backoff_id[MTASTS_ID_MAX_LEN + 1];
    size_t backoff_id_len;
    int64_t fetched, expires, backoff_until, last_used;
    int backoff_result;
    mtasts_policy *policy; /* owned; NULL when only a backoff is known */
};

int mt_entry_new(mtasts_ctx *ctx, const char *domain, size_t domain_len,
                 mtasts_entry **ret);
/* mtasts_entry_decode() into caller storage (no allocation but the
 * policy's), refusing (MTASTS_EINVAL) an entry whose domain is not exactly
 * expect (already normalised) when expect is not NULL. On failure *e holds
 * nothing to free. mt_entry_clear() frees what a decoded *e owns. */
int mt_entry_decode_into(mtasts_ctx *ctx, const uint8_t *buf, size_t len,
                         const char *expect, size_t expect_len, mtasts_entry *e,
                         struct mtasts_diag *reterr);
void mt_entry_clear(mtasts_entry *e);
int mt_entry_copy(const mtasts_entry *src, mtasts_entry **ret);
void mt_entry_set_id(char *dst, size_t *dst_len, const char *id, size_t id_len);

/* Allocation through the context's allocator. mt_alloc of 0 bytes is
 * never requested by callers. */
void *mt_alloc(const mtasts_ctx *ctx, size_t size);
void mt_free(const mtasts_ctx *ctx, void *p, size_t size);
/* Returns NULL (and leaves p untouched) on failure. */
void *mt_realloc(const mtasts_ctx *ctx, void *p, size_t old_size,
                 size_t new_size);
/* a*b+c with overflow check; returns 0 on overflow. */
int mt_size_muladd(size_t a, size_t b, size_t c, size_t *ret);

/* The seeded 64-bit hash of data[0..n) for hash tables (not for
 * anything stored: values differ between seeds). */
uint64_t mt_hash(uint64_t seed, const void *data, size_t n);
/* The 64-bit finaliser of mt_hash(): a bijection that spreads every input
 * bit over the result, for folding further words (a day, a pointer) into
 * a hash from mt_hash(). */
static inline uint64_t
mt_hash_mix(uint64_t h)
{
    h ^= h >> 33;
    h *= UINT64_C(0xff51afd7ed558ccd);
    h ^= h >> 33;
    h *= UINT64_C(0xc4ceb9fe1a85ec53);
    return h ^ (h >> 33);
}
/* CRC-32 (ISO-HDLC, as gzip's; crc32.c) of p[0..n) continuing crc (0 to
 * start): mt_crc32(mt_crc32(0, a), b) is the CRC of a then b. */
uint32_t mt_crc32(uint32_t crc, const void *p, size_t n);
/* n bytes from the kernel's random source: 0, or -1 when the platform has
 * none (build-time choice) or it failed. */
int mt_os_random(void *buf, size_t n);

/* ASCII character classes (no locale). */
enum {
    MT_C_ALPHA = 0x01,
    MT_C_DIGIT = 0x02,
    MT_C_WSP = 0x04,   /* SP, HTAB */
    MT_C_VCHAR = 0x08, /* 0x21-0x7E */
    MT_C_LDH = 0x10,   /* letter, digit, hyphen */
    MT_C_EXTN = 0x20,  /* ext-name tail: alnum, '_', '-', '.' */
    MT_C_TXTV = 0x40,  /* sts-ext-value: 0x21-0x3A, 0x3C, 0x3E-0x7E */
};
extern const unsigned char mt_ctype[256];
extern const unsigned char mt_lower[256];

#define MT_IS(c, cls) ((mt_ctype[(unsigned char)(c)] & (cls)) != 0)
#define MT_ALNUM      (MT_C_ALPHA | MT_C_DIGIT)
#define MT_LOWER(c)   (mt_lower[(unsigned char)(c)])
/* A byte of a host name folded for comparison: a letter, digit or '-' as
 * MT_LOWER() gives it; any other byte (the '.' included) as 'A', which
 * MT_LOWER() never gives. So MT_NAME_FOLD(h) == MT_LOWER(p) says in one
 * comparison that h may be in a label and that p equals it ignoring case. */
extern const unsigned char mt_name_fold[256];
#define MT_NAME_FOLD(c) (mt_name_fold[(unsigned char)(c)])

/* RFC 5322 atext: letters, digits and !#$%&'*+-/=?^_`{|}~ */
static inline int
mt_is_atext(unsigned char c)
{
    return MT_IS(c, MT_ALNUM) ||
           (c != 0 && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

/* The value of a hexadecimal digit, or -1. */
static inline int
mt_hex_val(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c |= 0x20;
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Case-insensitive ASCII equality of two spans. */
int mt_ascii_caseeq(const char *a, size_t alen, const char *b, size_t blen);

/* Whether s[0..n) is a valid RFC 5321 Domain (LDH labels of 1..63 octets,
 * no leading or trailing hyphen, at most 253 octets). The check used on
 * matching paths; mt_hostname_check() also says why a name is invalid. */
int mt_name_valid(const char *s, size_t n);

/* mtasts_policy_mx_allowed() for callers inside the library. */
int mt_policy_mx_allowed(const mtasts_policy *policy, const char *host,
                         size_t host_len);

/* Diagnostics. */
static inline int
mt_diag_check(const struct mtasts_diag *d)
{
    if (d == NULL)
        return MTASTS_OK;
    if (d->version == 0)
        return MTASTS_EINVAL;
    if (d->version > MTASTS_DIAG_VERSION)
        return MTASTS_EVERSION;
    return MTASTS_OK;
}

void mt_diag_fail(struct mtasts_diag *d, int code, int reason, size_t offset,
                  const char *buf, size_t len);
/* Record MTASTS_ENOMEM in the diagnostic and return it. */
int mt_nomem(struct mtasts_diag *d);
/* MTASTS_ETOOBIG when a TXT record (as given, or its canonical text) of
 * n bytes is over the context's MTASTS_LIMIT_TXT_SIZE, recorded in the
 * diagnostic at the limit's offset; MTASTS_OK otherwise. */
int mt_txt_size_check(const mtasts_ctx *ctx, size_t n, struct mtasts_diag *d);

static inline void
mt_diag_ok(struct mtasts_diag *d, uint64_t warnings, size_t woff)
{
    if (d == NULL)
        return;
    d->code = 0;
    d->reason = MTASTS_R_NONE;
    d->offset = 0;
    d->line = 0;
    d->warnings = warnings;
    d->warning_offset = woff;
}

/* Hostname validation shared by the policy parser and the matchers.
 * Returns 0 or a status, with *ret_reason and *ret_off (offset within
 * name) set on failure. */
int mt_hostname_check(const char *name, size_t len, unsigned flags,
                      int *ret_reason, size_t *ret_off);
/* Check a domain (a trailing dot allowed) and write it lower-cased,
 * without that dot, to dst[0..*ret_len) (no NUL): MTASTS_OK, a status of
 * mt_hostname_check(), or MTASTS_ETOOBIG when the result is longer than
 * cap (nothing written then). The one normalisation of the library. */
int mt_domain_norm(const char *name, size_t len, char *dst, size_t cap,
                   size_t *ret_len);
/* pre + norm(domain) + post into dst with snprintf semantics (the *_name
 * and *_url calls); label_pre is the number of bytes of pre that become
 * part of the DNS name, which must stay within 253 octets
 * (MTASTS_ETOOBIG). */
int mt_domain_wrap(const char *pre, size_t label_pre, const char *domain,
                   size_t len, const char *post, char *dst, size_t dst_len,
                   size_t *ret_needed);

/*
 * A growing array for the parsers: it starts in storage the caller gives
 * (usually on the stack) and moves to the heap when that is full, so one
 * pass sees every element. mt_vec_fini() frees what was allocated.
 */
struct mt_vec {
    const mtasts_ctx *ctx;
    void *v;       /* the elements */
    size_t n, cap; /* elements in use, room for */
    size_t size;   /* bytes per element */
    int heap;      /* v was allocated here */
};
void *mt_vec_grow(struct mt_vec *a);

/* Start on the caller's array local[cap] (inline: every parse starts
 * three of them) */
static inline void
mt_vec_init(struct mt_vec *a, const mtasts_ctx *ctx, void *local, size_t cap,
            size_t size)
{
    a->ctx = ctx;
    a->v = local;
    a->n = 0;
    a->cap = cap;
    a->size = size;
    a->heap = 0;
}

/* Room for one more element at the end (n counts it), or NULL when memory
 * runs out (the array is then unchanged). */
static inline void *
mt_vec_push(struct mt_vec *a)
{
    if (a->n == a->cap)
        return mt_vec_grow(a);
    return (char *)a->v + a->n++ * a->size;
}

/* Free what growing put on the heap (the caller's array stays). */
static inline void
mt_vec_fini(struct mt_vec *a)
{
    if (a->heap)
        mt_free(a->ctx, a->v, a->cap * a->size);
    a->heap = 0;
}

/* Output with snprintf semantics: into the caller's fixed buffer, counting
 * the bytes that would have been written so that the caller learns the size
 * needed (the *_format calls that fill a char array). One of the two output
 * builders; the other is struct mt_grow below. */
struct mt_out {
    char *dst;
    size_t cap;
    size_t len; /* bytes that would have been written */
};
void mt_out_init(struct mt_out *o, char *dst, size_t cap);
void mt_out_put(struct mt_out *o, const char *s, size_t n);
void mt_out_str(struct mt_out *o, const char *s);
void mt_out_u64(struct mt_out *o, uint64_t v);
int mt_out_finish(struct mt_out *o, size_t *ret_needed);

/* Select the one record starting with tag (then *WSP ";") from a TXT
 * RRset whose strings are kept apart, join its strings when there are
 * several, and hand it to parse. The outcome is MTASTS_SELECT_*; the
 * return value is 0, MTASTS_EINVAL or MTASTS_ENOMEM. */
typedef int (*mt_txt_parse_fn)(mtasts_ctx *ctx, const char *b, size_t n,
                               unsigned flags, void *arg,
                               struct mtasts_diag *reterr);
int mt_txt_select(mtasts_ctx *ctx, const char *tag, size_t tag_len,
                  const char *const *strs, const size_t *str_lens,
                  const size_t *rr_nstr, size_t rr_count, unsigned flags,
                  int *ret_outcome, mt_txt_parse_fn parse, void *arg,
                  struct mtasts_diag *reterr);

/* mtasts_sts_record_select() for the lookup: the id of the one valid
 * record is copied to id_out (MTASTS_ID_MAX_LEN + 1 bytes); no record
 * object is made. */
int mt_sts_select_id(mtasts_ctx *ctx, const char *const *strs,
                     const size_t *str_lens, const size_t *rr_nstr,
                     size_t rr_count, int *ret_outcome, char *id_out,
                     size_t *id_len);

/* Byte buffers (buf.c): made with room for cap bytes, grown with
 * mt_buf_reserve (0 or MTASTS_ENOMEM, *pb unchanged on failure), closed
 * with mt_buf_finish (sets the length, writes the NUL and gives back the
 * unused room: 0 or MTASTS_ENOMEM). */
mtasts_buf *mt_buf_new(mtasts_ctx *ctx, size_t cap);
int mt_buf_reserve(mtasts_buf **pb, size_t cap);
uint8_t *mt_buf_bytes(mtasts_buf *b);
size_t mt_buf_cap(const mtasts_buf *b);
void mt_buf_set_len(mtasts_buf *b, size_t len);
int mt_buf_finish(mtasts_buf **pb, size_t len);

/*
 * The other output builder: appends to a growing mtasts_buf handed back to
 * the caller (the JSON writer, TLSRPT report mail). Out of memory is
 * sticky: later puts do nothing and mt_grow_finish() says MTASTS_ENOMEM.
 * It is not folded into struct mt_out because the two fail differently: a
 * full struct mt_out keeps counting so the caller can retry with the size
 * needed and never allocates, while this one allocates and has no size
 * to report back; one type would test both on every put of a hot writer.
 * The gzip codecs (deflate_int.h) grow their mtasts_buf themselves: the
 * inflater caps it at the caller's output limit (MTASTS_ETOOBIG, not
 * ENOMEM) and both write through cached pointers in their inner loops.
 */
struct mt_grow {
    mtasts_buf *buf;
    uint8_t *d; /* data of buf */
    size_t len, cap;
    int oom;
};
/* Room for cap (> 0) bytes to start with: 0 or MTASTS_ENOMEM. */
int mt_grow_init(struct mt_grow *g, mtasts_ctx *ctx, size_t cap);
/* The slow path of mt_grow_room(). */
int mt_grow_more(struct mt_grow *g, size_t n);
/* Give the result (trimmed) or MTASTS_ENOMEM; the builder is done and
 * holds nothing either way. */
int mt_grow_finish(struct mt_grow *g, mtasts_buf **ret);
/* Drop what was built (safe after mt_grow_finish and on a zeroed one). */
void mt_grow_abort(struct mt_grow *g);

/* Make room for n more bytes at d + len; 0 or -1 (g->oom set). */
static inline int
mt_grow_room(struct mt_grow *g, size_t n)
{
    if (g->oom)
        return -1;
    if (g->cap - g->len >= n)
        return 0;
    return mt_grow_more(g, n);
}

static inline void
mt_grow_put(struct mt_grow *g, const void *s, size_t n)
{
    if (mt_grow_room(g, n) != 0)
        return;
    memcpy(g->d + g->len, s, n);
    g->len += n;
}

/* Text checks (text.c): 1 for good, 0 for bad. mt_utf8_seq() is the
 * length (2 to 4) of the valid UTF-8 sequence with the non-ASCII lead byte
 * p[0] within avail bytes, 0 if invalid; mt_utf8_ok() is well-formed UTF-8
 * without NUL; mt_dot_atom_ok() RFC 5322 dot-atom-text; mt_addr_spec_ok()
 * an RFC 5322 addr-spec without CFWS or obsolete forms. */
size_t mt_utf8_seq(const unsigned char *p, size_t avail);
int mt_utf8_ok(const char *s, size_t n);
int mt_dot_atom_ok(const char *s, size_t n);
int mt_addr_spec_ok(const char *s, size_t n);

/*
 * A read cursor over bytes the library itself stored: p[0..n), the next
 * byte at off, which never passes n. One type, two sets of helpers:
 * lines of "key=value\n" text (cache entries, cache_entry.c) and binary
 * fields taken by length (aggregator exports, tlsrpt_agg_out.c). Kept
 * apart on purpose: the span types of the parsers (str_span, line_span,
 * kv_span) hold what was found, not where reading is; the JSON lexer
 * (struct mt_json) and the inflate bit reader (struct inflate) are
 * pointer-to-end scanners with their own state on measured hot paths.
 */
struct mt_cur {
    const char *p;
    size_t n, off;
};

static inline void
mt_cur_init(struct mt_cur *c, const void *p, size_t n)
{
    c->p = (const char *)p;
    c->n = n;
    c->off = 0;
}

/* Text lines. "key=" at the cursor (kl is a constant at every call: the
 * compare is inlined) */
static inline int
mt_cur_key(const struct mt_cur *r, const char *key, size_t kl)
{
    return r->n - r->off > kl && memcmp(r->p + r->off, key, kl) == 0 &&
           r->p[r->off + kl] == '=';
}

/* Expect "key=" at the cursor; return the value span up to "\n" and move
 * past it. MTASTS_OK or MTASTS_ESYNTAX (the cursor then unmoved). */
static inline int
mt_cur_field(struct mt_cur *r, const char *key, size_t kl, const char **ret_v,
             size_t *ret_vl)
{
    size_t s, e;

    if (!mt_cur_key(r, key, kl))
        return MTASTS_ESYNTAX;
    /* values are short (at most a domain name): a plain loop beats a
     * memchr call here */
    s = r->off + kl + 1;
    for (e = s; e < r->n && r->p[e] != '\n'; e++)
        ;
    if (e == r->n)
        return MTASTS_ESYNTAX;
    *ret_v = r->p + s;
    *ret_vl = e - s;
    r->off = e + 1;
    return MTASTS_OK;
}

/* Binary. Take n bytes; NULL when the input is too short. */
static inline const unsigned char *
mt_cur_take(struct mt_cur *r, size_t n)
{
    const unsigned char *q;

    if (n > r->n - r->off)
        return NULL;
    q = (const unsigned char *)r->p + r->off;
    r->off += n;
    return q;
}

/* Little-endian integers at p (any alignment). On little-endian hosts
 * the memcpy is the one load the compilers make of it. */
static inline uint32_t
mt_le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static inline uint64_t
mt_le64(const unsigned char *p)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint64_t v;

    memcpy(&v, p, sizeof(v));
    return v;
#else
    return (uint64_t)mt_le32(p) | (uint64_t)mt_le32(p + 4) << 32;
#endif
}

/* Whether s[0..n) is an absolute RFC 3986 URI (tlsrpt_record.c). */
int mt_uri_ok(const char *s, size_t n);

/* A name=value field of a TXT record (extensions), and its getter: 0, or
 * MTASTS_EINVAL when i is out of range. */
struct kv_span {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
};
int mt_kv_get(const struct kv_span *kv, size_t count, size_t i,
              const char **ret_name, size_t *ret_name_len,
              const char **ret_value, size_t *ret_value_len);
/* Copy the names and values of kv to dst, each NUL-terminated, pointing
 * kv at the copies; returns the byte after the last copy. */
char *mt_kv_copy(struct kv_span *kv, size_t count, char *dst);

/* Record/field validators shared by build and parse. */
int mt_sts_ext_name_ok(const char *s, size_t n);
/* sts-id: 1 to 32 letters or digits */
int mt_sts_id_ok(const char *s, size_t n);
int mt_sts_ext_value_ok(const char *s, size_t n);

#endif
