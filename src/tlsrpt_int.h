/*
 * Internal declarations of the TLSRPT report model (tlsrpt_report.c), its
 * JSON reader (tlsrpt_json_read.c) and writer (tlsrpt_json_write.c) and the
 * member value checks
 * (tlsrpt_fields.c). Not installed.
 */
#ifndef MTASTS_TLSRPT_INT_H
#define MTASTS_TLSRPT_INT_H

#include "internal.h"

#define MT_RSTR_NONE UINT32_MAX

/* A string of the report: offset and length in the pool (NUL-terminated
 * there). off == MT_RSTR_NONE when absent. */
struct mt_rstr {
    uint32_t off, len;
};

/* Text members of a failure-details entry, in canonical order; bit
 * (field - MTASTS_RF_RESULT_TYPE) of mt_rdetail.mask. A registered
 * result-type is only mt_rdetail.result (its text is
 * mtasts_result_type_name()): bit 0 and a text in fld[] are for an
 * unregistered one. A large report then holds one reference fewer per
 * entry. */
#define MT_DET_FIRST MTASTS_RF_RESULT_TYPE
#define MT_DET_LAST  MTASTS_RF_REASON_CODE
#define MT_DET_TEXTS (MT_DET_LAST - MT_DET_FIRST + 1)

struct mt_rdetail {
    int64_t failed;  /* failed-session-count */
    uint32_t fstart; /* first of its texts in fld[], one per mask bit */
    uint8_t mask;
    uint8_t result; /* MTASTS_RESULT_* (NONE: unregistered) */
};

#define MT_POL_HAS_PS 0x1u /* policy-string present (maybe empty) */
#define MT_POL_HAS_MX 0x2u /* mx-host present (maybe empty) */

struct mt_rpolicy {
    int64_t success, failure;
    struct mt_rstr type_text, domain;
    uint32_t ps_start, ps_count, mx_start, mx_count, det_start, det_count;
    uint8_t type; /* MTASTS_POLICY_TYPE_* */
    uint8_t flags;
};

struct mt_rdiag {
    int warning;
    struct mt_rstr path;
};

struct mtasts_tlsrpt_report {
    mtasts_ctx *ctx;
    size_t alloc_size;
    uint64_t warnings;
    int64_t start, end;
    struct mt_rstr org, contact, report_id;
    size_t npol, ndet, nfld, ndiag, pool_len;
    /* owned, each of exactly its count (pool: pool_len bytes) */
    struct mt_rpolicy *pol;
    struct mt_rdetail *det;
    struct mt_rstr *fld;
    struct mt_rdiag *diag;
    char *pool;
};

/* Builder: growing arrays, adopted by the report at the end. */
struct mt_rbuild {
    mtasts_ctx *ctx;
    struct mtasts_tlsrpt_report r; /* scalars; arrays below */
    struct mt_rpolicy *pol;
    struct mt_rdetail *det;
    struct mt_rstr *fld;
    struct mt_rdiag *diag;
    char *pool;
    size_t pol_cap, det_cap, fld_cap, diag_cap, pool_cap;
    int oom;        /* also set when the pool outgrows 32-bit offsets */
    unsigned local; /* MT_RB_* bits: arrays still in the caller's buffer */
};

#define MT_RB_POL  0x01u
#define MT_RB_DET  0x02u
#define MT_RB_FLD  0x04u
#define MT_RB_DIAG 0x08u
#define MT_RB_POOL 0x10u
#define MT_RB_ALL  0x1Fu

/* Bytes of the caller's buffer for mt_rbuild_init_local(). */
#define MT_RBUILD_LOCAL 4096

void mt_rbuild_init(struct mt_rbuild *b, mtasts_ctx *ctx, size_t hint);
/* Start with every array in buf (MT_RBUILD_LOCAL bytes, aligned for
 * int64_t, to outlive the builder): an array that outgrows its part moves
 * to the heap; a report whose arrays all stayed there is made of one
 * exact allocation by mt_rbuild_finish(). No allocation here. */
void mt_rbuild_init_local(struct mt_rbuild *b, mtasts_ctx *ctx, void *buf);
void mt_rbuild_fini(struct mt_rbuild *b);
/* Copy s into the pool; a string with off MT_RSTR_NONE when out of
 * memory (b->oom set). */
struct mt_rstr mt_rbuild_str(struct mt_rbuild *b, const char *s, size_t n);
struct mt_rpolicy *mt_rbuild_policy(struct mt_rbuild *b);
struct mt_rdetail *mt_rbuild_detail(struct mt_rbuild *b);
/* Append a field; returns its index or -1 (oom). */
int mt_rbuild_field(struct mt_rbuild *b, struct mt_rstr s);
/* Append k >= 1 fields at once: the first of them, to be filled in, or
 * NULL (oom). */
struct mt_rstr *mt_rbuild_fields(struct mt_rbuild *b, size_t k);
int mt_rbuild_diag(struct mt_rbuild *b, int warning, const char *path,
                   size_t n);
/* Shrink the arrays and hand them to a new report. 0 or MTASTS_ENOMEM
 * (ETOOBIG when the pool outgrew 32-bit offsets); on failure the builder
 * still owns everything. */
int mt_rbuild_finish(struct mt_rbuild *b, mtasts_tlsrpt_report **ret);

/* The policy-type texts, indexed by MTASTS_POLICY_TYPE_STS (1), _TLSA (2)
 * and _NO_POLICY_FOUND (3); [0] (unknown) is NULL. Static here, not
 * extern: the reader's compares against it then fold to constants. */
static const char *const mt_policy_type_names[4] = {NULL, "sts", "tlsa",
                                                    "no-policy-found"};

/* tlsrpt_fields.c */
/* RFC 3339 date-time (doc/requirements.md 1.7) to UTC Unix seconds. A fraction
 * is dropped; second 60 (leap second) is read as 59. *ret_no_offset is 1 when
 * neither Z nor an offset was given (then read as UTC, E-17). Times outside
 * the years 0000-9999 after normalising to UTC are refused. 0 or -1. */
int mt_datetime_parse(const char *s, size_t n, int64_t *ret,
                      int *ret_no_offset);
/* "YYYY-MM-DDTHH:MM:SSZ" (20 bytes, no NUL); 0 or -1 (out of range). */
int mt_datetime_format(int64_t t, char out[20]);
/* 4 for a dotted-decimal IPv4 address (no leading zeros), 6 for an RFC
 * 3986 IPv6address, 0 otherwise. */
int mt_ip_kind(const char *s, size_t n);
/* 1 when mt_ip_kind() would say 4 (and no IPv6 parse is attempted). */
int mt_is_ipv4(const char *s, size_t n);
/* RFC 5952 text of an IPv6 address; returns the length (at most 45; out
 * needs 46 bytes, NUL-terminated), or 0 when s is not an RFC 3986
 * IPv6address: one parse both validates and canonicalises. */
size_t mt_ipv6_canon(const char *s, size_t n, char out[46]);

#endif
