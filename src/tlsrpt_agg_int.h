/*
 * Internal declarations of the TLSRPT aggregation (tlsrpt_agg_policy.c:
 * policy keys; tlsrpt_agg.c: the aggregate, add, merge and remove;
 * tlsrpt_agg_out.c: reports, export and import, report ids; the text
 * checks they use are in text.c). Not installed.
 *
 * Encodings. Both are also the bytes of the export format, so they are
 * byte-exact and big-endian:
 *
 * policy blob: type (1 byte, MTASTS_POLICY_TYPE_*), domain length (2),
 *   domain (normalised), policy-string count (4), mx-host count (4), then
 *   each policy-string and each mx-host element as length (4) + bytes.
 *   Two applied policies are equal exactly when their blobs are equal.
 *
 * detail blob: result type (1 byte, MTASTS_RESULT_*, 0 for an unregistered
 *   one), then the seven text members in report order (result-type text,
 *   sending-mta-ip, receiving-mx-hostname, receiving-mx-helo, receiving-ip,
 *   additional-information, failure-reason-code), each as a 4-byte value v
 *   (0: absent, else v - 1 bytes follow). The result-type text is present
 *   exactly when the type is 0. IPs are stored in canonical text (RFC 5952
 *   for IPv6), the MX hostname normalised, so equal failures have equal
 *   blobs (RPT-AGG-6).
 */
#ifndef MTASTS_TLSRPT_AGG_INT_H
#define MTASTS_TLSRPT_AGG_INT_H

#include "tlsrpt_int.h"

#define MT_DET_FIELDS 7

struct mtasts_tlsrpt_policy {
    mtasts_ctx *ctx;
    size_t size;   /* allocation size */
    uint64_t seed; /* the context's when it was made: hash is under it */
    uint64_t hash;
    uint32_t blob_len;
    unsigned char blob[];
};

struct agg_det {
    struct agg_pol *pol;
    uint64_t hash, count, gen;
    uint32_t blob_len;
    unsigned char blob[];
};

struct agg_pol {
    struct agg_key *key;
    int64_t day;
    uint64_t hash; /* of the blob alone */
    uint64_t success, failure, gen;
    struct agg_det **dets; /* insertion order */
    size_t ndets, dcap;
    uint32_t blob_len;
    unsigned char blob[];
};

struct agg_key {
    uint64_t hash, gen;
    size_t slot; /* its place in the keys allocation (see khead) */
    int64_t day;
    struct agg_pol **pols; /* insertion order */
    size_t npols, pcap;
    size_t dlen;
    char domain[MTASTS_DOMAIN_MAX_LEN + 1];
};

struct agg_slot {
    uint64_t h;
    void *p;
};

struct agg_tab {
    struct agg_slot *s;
    size_t cap, n; /* cap is 0 or a power of two */
};

struct mtasts_tlsrpt_agg {
    mtasts_ctx *ctx;
    uint64_t seed; /* the context's when it was made (its tables' hash) */
    size_t bytes, max_bytes, max_details;
    int failures_only;
    int sorted; /* keys[] is in (day, domain) order */
    uint64_t gen;
    /* keys[0..nkeys): the allocation starts khead slots before keys
     * (removing a key shifts the shorter side of the array) and holds
     * kcap slots. */
    struct agg_key **keys;
    size_t nkeys, kcap, khead;
    struct agg_tab ktab, ptab, dtab;
};

/* Big-endian helpers. */
static inline void
mt_be_put(unsigned char *p, uint64_t v, unsigned n)
{
    while (n-- > 0) {
        p[n] = (unsigned char)(v & 0xFF);
        v >>= 8;
    }
}

static inline uint64_t
mt_be_get(const unsigned char *p, unsigned n)
{
    uint64_t v = 0;
    unsigned i;

    for (i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

/* The fields of a policy blob b (layout above), the one place that knows
 * their offsets: the type at MT_PB_TYPE, the domain of mt_pb_domain_len()
 * bytes at MT_PB_DOMAIN, then the two counts; the elements start at
 * MT_PB_HEAD + the domain length. */
#define MT_PB_TYPE   0
#define MT_PB_DLEN   1
#define MT_PB_DOMAIN 3
#define MT_PB_HEAD   11 /* the blob without domain and elements */

static inline size_t
mt_pb_domain_len(const unsigned char *b)
{
    return (size_t)mt_be_get(b + MT_PB_DLEN, 2);
}

static inline const char *
mt_pb_domain(const unsigned char *b)
{
    return (const char *)b + MT_PB_DOMAIN;
}

/* policy-string count; dl is the domain length */
static inline uint32_t
mt_pb_nps(const unsigned char *b, size_t dl)
{
    return (uint32_t)mt_be_get(b + MT_PB_DOMAIN + dl, 4);
}

/* mx-host count; dl is the domain length */
static inline uint32_t
mt_pb_nmx(const unsigned char *b, size_t dl)
{
    return (uint32_t)mt_be_get(b + MT_PB_DOMAIN + dl + 4, 4);
}

/* tlsrpt_agg.c */
/* mtasts_domain_normalize() into out; EINVAL for NULL with a length. */
int mt_agg_norm_domain(const char *d, size_t n,
                       char out[MTASTS_DOMAIN_MAX_LEN + 1], size_t *ret_len);
/* Hash of p[0..n) under a context's seed (mtasts_ctx.seed). */
uint64_t mt_agg_hash(uint64_t seed, const unsigned char *p, size_t n);
/* Find, or create when create is set, the entry of blob at day. 0 (with
 * *ret NULL when not found and not created), MTASTS_ETOOBIG or
 * MTASTS_ENOMEM. *ret_new is 1 when the entry was made now. */
int mt_agg_pol_get(mtasts_tlsrpt_agg *agg, const unsigned char *blob,
                   uint32_t len, uint64_t hash, int64_t day, int create,
                   struct agg_pol **ret, int *ret_new);
/* Find, or create below max_details, a detail of pol. 0 with *ret NULL
 * when truncated, or MTASTS_ENOMEM. *ret_new as above. */
int mt_agg_det_get(mtasts_tlsrpt_agg *agg, struct agg_pol *pol,
                   const unsigned char *blob, uint32_t len, uint64_t hash,
                   struct agg_det **ret, int *ret_new);
/* Undo every entry made since agg->gen was last bumped. */
void mt_agg_rollback(mtasts_tlsrpt_agg *agg);
/* The key of (normalised domain, day start), or NULL. */
struct agg_key *mt_agg_key_find(const mtasts_tlsrpt_agg *agg, const char *d,
                                size_t dlen, int64_t day);
/* Sort keys[] when needed (it is a cache: allowed on a const aggregate). */
void mt_agg_sort(const mtasts_tlsrpt_agg *agg);
/* An aggregate with no memory bound checks beyond max_bytes and no detail
 * truncation (import staging). */
int mt_agg_new_staging(mtasts_ctx *ctx, size_t max_bytes,
                       mtasts_tlsrpt_agg **ret);
static inline uint64_t
mt_sat_add(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* Whether a policy blob (any source) is one add() would have made: 1 or
 * 0. */
int mt_agg_policy_blob_valid(const unsigned char *b, size_t n);
/* Whether a detail blob (any source) is one add() would have made: 1 or
 * 0. */
int mt_agg_detail_blob_valid(const unsigned char *b, size_t n);

/* Days: first and last supported day starts (years 1970..9999). */
#define MT_AGG_DAY         86400
#define MT_AGG_TIME_MAX    INT64_C(253402300799) /* 9999-12-31T23:59:59Z */
#define MT_AGG_MAX_BYTES   ((size_t)64 * 1024 * 1024)
#define MT_AGG_MAX_DETAILS 1000
#define MT_AGG_NO_TRUNCATE SIZE_MAX

#endif
