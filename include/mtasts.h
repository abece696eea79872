/*
 * libmtasts: SMTP MTA Strict Transport Security (RFC 8461) and
 * SMTP TLS Reporting (RFC 8460) for mail servers.
 *
 * This is the whole public API. It includes only <stddef.h> and <stdint.h>
 * and compiles as C99 (-pedantic) and as C++.
 *
 * General rules (see mtasts(3) for the long version):
 *
 *  - Functions that can fail return int: 0 is success, a negative value is
 *    one of the MTASTS_E* codes below. The values never change.
 *  - Parsers take (buf, len): no NUL terminator is needed and the library
 *    never reads past len.
 *  - Objects returned through ret_* parameters are owned by the caller and
 *    released with the matching *_free() function, which accepts NULL.
 *  - Getters return borrowed pointers valid until the owning object is
 *    freed. Unless documented otherwise they are NUL-terminated as a
 *    convenience; the length is always returned too.
 *  - Output functions use snprintf semantics: they write at most dst_len
 *    bytes including a terminating NUL, always report the length needed
 *    (without the NUL) through ret_needed, and return MTASTS_ERANGE when the
 *    output did not fit. dst may be NULL when dst_len is 0.
 *  - Thread-safety: all functions are reentrant; there is no global state.
 *    Distinct objects may be used from different threads at once. A context
 *    may be shared by threads once it is set up (setters are not
 *    thread-safe). Parsed objects are immutable and may be read
 *    concurrently.
 */
#ifndef MTASTS_H
#define MTASTS_H

#include <stddef.h>
#include <stdint.h>

#include "mtasts_version.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(MTASTS_BUILDING) && defined(__GNUC__)
#define MTASTS_API __attribute__((visibility("default")))
#else
#define MTASTS_API
#endif

/* ------------------------------------------------------------------ */
/* Status codes                                                        */
/* ------------------------------------------------------------------ */

#define MTASTS_OK        0  /**< success */
#define MTASTS_EINVAL    -1 /**< API misuse (NULL where not allowed...) */
#define MTASTS_ENOMEM    -2 /**< the allocator failed */
#define MTASTS_ESYNTAX   -3 /**< malformed input; see the diagnostic */
#define MTASTS_ETOOBIG   -4 /**< input over a documented limit */
#define MTASTS_EVERSION  -5 /**< unknown struct version */
#define MTASTS_ESTATE    -6 /**< call not valid in this state */
#define MTASTS_EAGAIN    -7 /**< a callback will complete later */
#define MTASTS_ECALLBACK -8 /**< a caller callback failed */
#define MTASTS_ENONASCII -9 /**< non-ASCII where only A-labels are allowed */
#define MTASTS_ESTRICT                                                \
    -10                   /**< accepted only through a tolerance, and \
                               MTASTS_PARSE_STRICT was given */
#define MTASTS_ERANGE -11 /**< output buffer too small (see ret_needed) */

/**
 * Static English description of a status code. Never returns NULL;
 * unknown codes give "unknown error".
 */
MTASTS_API const char *mtasts_strerror(int status);

/**
 * Symbol name of a status code ("MTASTS_ENOMEM"), or "MTASTS_UNKNOWN".
 * Never returns NULL.
 */
MTASTS_API const char *mtasts_status_name(int status);

/* ------------------------------------------------------------------ */
/* Version                                                             */
/* ------------------------------------------------------------------ */

/**
 * Version of the library at run time as a string ("0.1.0"); when ret_num is
 * not NULL it receives MTASTS_VERSION_NUM of the running library.
 */
MTASTS_API const char *mtasts_version(uint32_t *ret_num);

/** 1 when the running library is at least version num (0xMMmmpp), else 0. */
MTASTS_API int mtasts_version_at_least(uint32_t num);

/* ------------------------------------------------------------------ */
/* Allocator and context                                               */
/* ------------------------------------------------------------------ */

#define MTASTS_ALLOC_VERSION 1

/**
 * Caller-supplied allocator. Sizes are passed to realloc and free so arena
 * allocators work. Copied by mtasts_ctx_new(); may live on the stack.
 * alloc and free are required; realloc may be NULL (the library then uses
 * alloc + copy + free).
 */
struct mtasts_alloc {
    unsigned version; /**< MTASTS_ALLOC_VERSION */
    void *(*alloc)(void *user, size_t size);
    void *(*realloc)(void *user, void *p, size_t old_size, size_t new_size);
    void (*free)(void *user, void *p, size_t size);
    void *user;
};

/** Opaque library context: allocator and limits. */
typedef struct mtasts_ctx mtasts_ctx;

/**
 * Create a context.
 * @param[in] alloc  allocator, or NULL for malloc/realloc/free
 * @param[out] ret_ctx the new context
 * @return 0, MTASTS_EINVAL (ret_ctx NULL, alloc incomplete),
 *         MTASTS_EVERSION (alloc->version unknown), MTASTS_ENOMEM.
 * Ownership: free with mtasts_ctx_free() after every object created
 * from it has been freed.
 */
MTASTS_API int mtasts_ctx_new(const struct mtasts_alloc *alloc,
                              mtasts_ctx **ret_ctx);

/** Free a context. NULL is allowed. */
MTASTS_API void mtasts_ctx_free(mtasts_ctx *ctx);

/* Limits (decision E-21). Each has a default constant, a function twin of
 * that constant, and a per-context setter. */
#define MTASTS_LIMIT_POLICY_SIZE 1 /**< policy body bytes */
#define MTASTS_LIMIT_POLICY_MX   2 /**< mx lines in one policy */
#define MTASTS_LIMIT_TXT_SIZE    3 /**< TXT record bytes after joining */

#define MTASTS_POLICY_MAX_SIZE 65536    /**< default MTASTS_LIMIT_POLICY_SIZE */
#define MTASTS_POLICY_MAX_MX   1000     /**< default MTASTS_LIMIT_POLICY_MX */
#define MTASTS_TXT_MAX_SIZE    4096     /**< default MTASTS_LIMIT_TXT_SIZE */
#define MTASTS_ID_MAX_LEN      32       /**< longest id= value (RFC 8461 3.1) */
#define MTASTS_EXT_NAME_MAX    32       /**< longest extension name */
#define MTASTS_DOMAIN_MAX_LEN  253      /**< longest domain name, text form */
#define MTASTS_LABEL_MAX_LEN   63       /**< longest DNS label */
#define MTASTS_MAX_AGE_MAX     31557600 /**< largest max_age (erratum 7282) */

MTASTS_API size_t mtasts_policy_max_size(void);
MTASTS_API size_t mtasts_policy_max_mx(void);
MTASTS_API size_t mtasts_txt_max_size(void);
MTASTS_API size_t mtasts_id_max_len(void);
MTASTS_API size_t mtasts_domain_max_len(void);
MTASTS_API uint32_t mtasts_max_age_max(void);

/**
 * Set a limit (MTASTS_LIMIT_*) on a context. value must be at least 1.
 * @return 0 or MTASTS_EINVAL (unknown limit, value 0, ctx NULL).
 * Thread-safety: do not call while other threads use the context.
 */
MTASTS_API int mtasts_ctx_set_limit(mtasts_ctx *ctx, int limit, size_t value);

/** Current value of a limit, or 0 when limit is unknown or ctx NULL. */
MTASTS_API size_t mtasts_ctx_get_limit(const mtasts_ctx *ctx, int limit);

/* ------------------------------------------------------------------ */
/* Diagnostics and warnings                                            */
/* ------------------------------------------------------------------ */

/* Parse flags. */
#define MTASTS_PARSE_STRICT 0x1u /**< every tolerated deviation is an error */

/*
 * Warnings: deviations a default (non-strict) parse tolerates. Each has a
 * stable bit number, used as (UINT64_C(1) << MTASTS_W_x) in warning masks,
 * and a stable name from mtasts_warning_name().
 */
#define MTASTS_W_TRAILING_WSP                 \
    0 /**< "trailing_wsp": WSP after the last \
           TXT field (E-15) */
#define MTASTS_W_DUPLICATE_FIELD         \
    1 /**< "duplicate_field": a repeated \
           non-repeatable field; first wins */
#define MTASTS_W_MAX_AGE_CLAMPED            \
    2 /**< "max_age_clamped": max_age above \
           31557600 was clamped (E-3) */
#define MTASTS_W_BLANK_LINE                                      \
    3                  /**< "blank_line": empty or WSP-only line \
                            ignored (E-10) */
#define MTASTS_W_BOM 4 /**< "bom": leading UTF-8 BOM ignored */
#define MTASTS_W_DUPLICATE_MX                                     \
    5                    /**< "duplicate_mx": an mx pattern equal \
                              (ignoring case) to an earlier one   \
                              was dropped */
#define MTASTS_W_COUNT 6 /**< number of warnings defined so far */

#define MTASTS_WARN_BIT(w) ((uint64_t)1 << (w))

/** Stable lower-case name of warning w ("max_age_clamped"), or NULL. */
MTASTS_API const char *mtasts_warning_name(int w);

/* Reasons: what the parser expected where it stopped (mtasts_diag.reason). */
#define MTASTS_R_NONE            0
#define MTASTS_R_EMPTY           1  /**< input is empty */
#define MTASTS_R_VERSION         2  /**< expected the version tag */
#define MTASTS_R_DELIM           3  /**< expected ';' between fields */
#define MTASTS_R_FIELD           4  /**< expected a field (name=value) */
#define MTASTS_R_EXT_NAME        5  /**< malformed field name */
#define MTASTS_R_EXT_VALUE       6  /**< malformed or empty field value */
#define MTASTS_R_ID              7  /**< id must be 1-32 letters/digits */
#define MTASTS_R_NO_ID           8  /**< required field id missing */
#define MTASTS_R_NON_ASCII       9  /**< byte above 0x7F */
#define MTASTS_R_CTL             10 /**< control character */
#define MTASTS_R_UTF8            11 /**< invalid UTF-8 */
#define MTASTS_R_BARE_CR         12 /**< CR not followed by LF */
#define MTASTS_R_LEADING_WSP     13 /**< whitespace before a field name */
#define MTASTS_R_COLON           14 /**< expected ':' after the field name */
#define MTASTS_R_POLICY_VERSION  15 /**< version must be STSv1 */
#define MTASTS_R_MODE            16 /**< mode must be enforce/testing/none */
#define MTASTS_R_MAX_AGE         17 /**< max_age must be 1-10 digits */
#define MTASTS_R_MX              18 /**< mx must be [*.]hostname */
#define MTASTS_R_MISSING_VERSION 19 /**< required field version missing */
#define MTASTS_R_MISSING_MODE    20 /**< required field mode missing */
#define MTASTS_R_MISSING_MAX_AGE 21 /**< required field max_age missing */
#define MTASTS_R_MISSING_MX      22 /**< mx required unless mode is none */
#define MTASTS_R_TOO_BIG         23 /**< input over the size limit */
#define MTASTS_R_TOO_MANY_MX     24 /**< more mx lines than the limit */
#define MTASTS_R_HOSTNAME        25 /**< malformed hostname */
#define MTASTS_R_LABEL_LEN       26 /**< DNS label longer than 63 */
#define MTASTS_R_NAME_LEN        27 /**< name longer than 253 */
#define MTASTS_R_STRICT          28 /**< tolerated deviation, strict mode */
#define MTASTS_R_MULTIPLE        29 /**< more than one candidate record */
#define MTASTS_R_NOT_FOUND       30 /**< no candidate record */
#define MTASTS_R_BAD_MODEL       31 /**< object cannot be serialized */

/** Static message for a reason ("expected ':' after the field name"). */
MTASTS_API const char *mtasts_reason_message(int reason);

/** Stable lower-case name of a reason ("colon"), or "unknown". */
MTASTS_API const char *mtasts_reason_name(int reason);

#define MTASTS_DIAG_VERSION 1

/**
 * Parse diagnostic, filled by parsers when the caller passes one. The caller
 * sets version to MTASTS_DIAG_VERSION (or uses MTASTS_DIAG_INIT); the rest is
 * output. On success code is 0 and warnings lists tolerated deviations. On
 * failure code is the returned status, reason says what was expected,
 * offset is the byte offset into the input (0-based) where it went wrong and
 * line the 1-based line of that byte (always 1 for TXT records).
 */
struct mtasts_diag {
    unsigned version;
    int code;
    int reason;
    size_t offset;
    size_t line;
    uint64_t warnings;     /**< mask of MTASTS_WARN_BIT(MTASTS_W_*) */
    size_t warning_offset; /**< offset of the first warning */
};

#define MTASTS_DIAG_INIT                      \
    {                                         \
        MTASTS_DIAG_VERSION, 0, 0, 0, 0, 0, 0 \
    }

/* ------------------------------------------------------------------ */
/* Names: hostnames, MX patterns, certificate names (RFC 8461 4.1)     */
/* ------------------------------------------------------------------ */

/* Flags for mtasts_hostname_check(). */
#define MTASTS_HOST_WILDCARD     0x1u /**< allow a leading "*." label */
#define MTASTS_HOST_TRAILING_DOT 0x2u /**< allow one trailing dot */

/**
 * Check that name is an RFC 5321 Domain: LDH labels of 1-63 octets, no
 * leading or trailing hyphen, at most 253 octets, ASCII only (A-labels).
 * @return 0, MTASTS_ESYNTAX, MTASTS_ENONASCII, MTASTS_ETOOBIG (label or
 *         name too long), MTASTS_EINVAL (name NULL with len > 0).
 * When reterr is given, reason and offset say what is wrong.
 */
MTASTS_API int mtasts_hostname_check(const char *name, size_t len,
                                     unsigned flags,
                                     struct mtasts_diag *reterr);

/**
 * Normalise a domain: lower-case ASCII, strip one trailing dot, then check
 * it as mtasts_hostname_check() does. Writes with snprintf semantics.
 * @return 0, MTASTS_ERANGE, or a mtasts_hostname_check() error.
 */
MTASTS_API int mtasts_domain_normalize(const char *name, size_t len, char *dst,
                                       size_t dst_len, size_t *ret_needed);

/**
 * The TXT query name for a policy domain: "_mta-sts." + norm(domain)
 * (STS-TXT-1). snprintf semantics.
 * @return 0, MTASTS_ERANGE, MTASTS_ENONASCII, MTASTS_ESYNTAX,
 *         MTASTS_ETOOBIG (also when the query name would exceed 253
 *         octets), MTASTS_EINVAL (domain or dst NULL with a length).
 */
MTASTS_API int mtasts_sts_txt_name(const char *domain, size_t len, char *dst,
                                   size_t dst_len, size_t *ret_needed);

/**
 * The Policy Host for a policy domain: "mta-sts." + norm(domain)
 * (RFC 8461 3.3; the TLS SNI and certificate name of the fetch).
 * snprintf semantics.
 * @return 0, MTASTS_ERANGE, MTASTS_ENONASCII, MTASTS_ESYNTAX,
 *         MTASTS_ETOOBIG (also when the host name would exceed 253
 *         octets), MTASTS_EINVAL.
 */
MTASTS_API int mtasts_policy_host(const char *domain, size_t len, char *dst,
                                  size_t dst_len, size_t *ret_needed);

/**
 * The policy URL for a policy domain:
 * "https://mta-sts." + norm(domain) + "/.well-known/mta-sts.txt"
 * (STS-FETCH-1). snprintf semantics.
 * @return as mtasts_policy_host().
 */
MTASTS_API int mtasts_policy_url(const char *domain, size_t len, char *dst,
                                 size_t dst_len, size_t *ret_needed);

/**
 * Match an MX host name (as returned by DNS) against one policy mx pattern.
 * The host is normalised first (case, one trailing dot). "*.suffix" matches
 * exactly one non-empty left-most label. An invalid pattern or host never
 * matches.
 * @return 1 on match, 0 otherwise.
 */
MTASTS_API int mtasts_mx_match(const char *pattern, size_t pattern_len,
                               const char *host, size_t host_len);

/**
 * Match a certificate DNS-ID (a dNSName SAN) against a host name, RFC 6125
 * section 6.4 / RFC 9525 with decision E-11: a wildcard only as the whole
 * left-most label, never partial ("mx*.example.com"), never inside an
 * A-label, matching exactly one label. The host may carry one trailing dot.
 * @return 1 on match, 0 otherwise.
 */
MTASTS_API int mtasts_cert_name_match(const char *san, size_t san_len,
                                      const char *host, size_t host_len);

/**
 * 1 when any of the count SAN DNS-IDs matches host (see
 * mtasts_cert_name_match()), else 0.
 */
MTASTS_API int mtasts_cert_names_match(const char *const *sans,
                                       const size_t *san_lens, size_t count,
                                       const char *host, size_t host_len);

/* ------------------------------------------------------------------ */
/* _mta-sts TXT record (RFC 8461 3.1)                                  */
/* ------------------------------------------------------------------ */

typedef struct mtasts_sts_record mtasts_sts_record;

/**
 * Parse one _mta-sts TXT record (strings already joined).
 * @param[in] flags 0 or MTASTS_PARSE_STRICT
 * @param[out] ret_rec the record, NULL on failure
 * @param[out] reterr optional diagnostic
 * @return 0, MTASTS_ESYNTAX (also for non-ASCII bytes: reason
 *         MTASTS_R_NON_ASCII), MTASTS_ETOOBIG, MTASTS_ESTRICT,
 *         MTASTS_EVERSION (reterr->version unknown), MTASTS_EINVAL,
 *         MTASTS_ENOMEM.
 * Ownership: free *ret_rec with mtasts_sts_record_free().
 */
MTASTS_API int mtasts_sts_record_parse(mtasts_ctx *ctx, const char *buf,
                                       size_t len, unsigned flags,
                                       mtasts_sts_record **ret_rec,
                                       struct mtasts_diag *reterr);

/* Outcomes of mtasts_sts_record_select(). */
#define MTASTS_SELECT_FOUND    0 /**< exactly one valid record */
#define MTASTS_SELECT_NONE     1 /**< no STS candidate in the RRset */
#define MTASTS_SELECT_MULTIPLE 2 /**< more than one candidate: no policy */
#define MTASTS_SELECT_INVALID  3 /**< one candidate, syntactically invalid */

/**
 * Select the policy record from a whole TXT RRset (STS-TXT-9..11).
 * The RRset is given with its strings kept apart: rr_count records, record
 * i made of rr_nstr[i] consecutive entries of strs/str_lens. The strings of
 * one record are joined without separator; records that do not start with
 * "v=STSv1" *WSP ";" are discarded (E-2); exactly one must remain.
 * @param[out] ret_outcome MTASTS_SELECT_*
 * @param[out] ret_rec the record when the outcome is FOUND, else NULL
 * @param[out] reterr optional; for INVALID the parse diagnostic (offsets
 *             are into the joined record)
 * @return 0 (see ret_outcome), MTASTS_EINVAL, MTASTS_ENOMEM,
 *         MTASTS_EVERSION. Protocol outcomes are not errors.
 */
MTASTS_API int mtasts_sts_record_select(
    mtasts_ctx *ctx, const char *const *strs, const size_t *str_lens,
    const size_t *rr_nstr, size_t rr_count, unsigned flags, int *ret_outcome,
    mtasts_sts_record **ret_rec, struct mtasts_diag *reterr);

/**
 * Build a record from its fields (for publishing tools). The id and each
 * extension are validated; ext arrays may be NULL when ext_count is 0.
 * @return 0, MTASTS_ESYNTAX (reterr reason says which field; offset is
 *         the index of the bad extension), MTASTS_ETOOBIG (the record
 *         would exceed MTASTS_LIMIT_TXT_SIZE), MTASTS_EVERSION,
 *         MTASTS_EINVAL, MTASTS_ENOMEM.
 */
MTASTS_API int mtasts_sts_record_build(
    mtasts_ctx *ctx, const char *id, size_t id_len,
    const char *const *ext_names, const size_t *ext_name_lens,
    const char *const *ext_values, const size_t *ext_value_lens,
    size_t ext_count, mtasts_sts_record **ret_rec, struct mtasts_diag *reterr);

/** Free a record. NULL is allowed. */
MTASTS_API void mtasts_sts_record_free(mtasts_sts_record *rec);

/** The id (borrowed, NUL-terminated). */
MTASTS_API const char *mtasts_sts_record_id(const mtasts_sts_record *rec,
                                            size_t *ret_len);

/** Number of extension fields, in record order. */
MTASTS_API size_t mtasts_sts_record_ext_count(const mtasts_sts_record *rec);

/**
 * Extension i (name and value borrowed, NUL-terminated).
 * @return 0 or MTASTS_EINVAL (i out of range).
 */
MTASTS_API int mtasts_sts_record_ext(const mtasts_sts_record *rec, size_t i,
                                     const char **ret_name,
                                     size_t *ret_name_len,
                                     const char **ret_value,
                                     size_t *ret_value_len);

/** Warning mask (MTASTS_WARN_BIT) of the parse that made rec. */
MTASTS_API uint64_t mtasts_sts_record_warnings(const mtasts_sts_record *rec);

/**
 * Serialize canonically: "v=STSv1; id=<id>;" then " name=value;" per
 * extension in order (STS-TXT-14). snprintf semantics.
 * @return 0, MTASTS_ERANGE, MTASTS_EINVAL.
 */
MTASTS_API int mtasts_sts_record_format(const mtasts_sts_record *rec, char *dst,
                                        size_t dst_len, size_t *ret_needed);

/* ------------------------------------------------------------------ */
/* Policy file (RFC 8461 3.2)                                          */
/* ------------------------------------------------------------------ */

typedef struct mtasts_policy mtasts_policy;

#define MTASTS_MODE_ENFORCE 1
#define MTASTS_MODE_TESTING 2
#define MTASTS_MODE_NONE    3

/** "enforce", "testing", "none", or NULL for an unknown value. */
MTASTS_API const char *mtasts_mode_name(int mode);

/**
 * Parse a policy body. LF, CRLF or a mix end lines; the last terminator is
 * optional. The body is limited to MTASTS_LIMIT_POLICY_SIZE bytes and
 * MTASTS_LIMIT_POLICY_MX mx lines (checked before any other work).
 * @param[in] flags 0 or MTASTS_PARSE_STRICT
 * @return 0, MTASTS_ESYNTAX, MTASTS_ENONASCII (U-label in mx),
 *         MTASTS_ETOOBIG, MTASTS_ESTRICT, MTASTS_EVERSION, MTASTS_EINVAL,
 *         MTASTS_ENOMEM.
 * Ownership: free *ret_policy with mtasts_policy_free().
 */
MTASTS_API int mtasts_policy_parse(mtasts_ctx *ctx, const char *buf, size_t len,
                                   unsigned flags, mtasts_policy **ret_policy,
                                   struct mtasts_diag *reterr);

/**
 * Build a policy from a model, as if parsing its canonical serialization.
 * mx and ext arrays may be NULL when their count is 0.
 * @return 0, MTASTS_ESYNTAX (invalid model: reterr reason says which
 *         field, offset the index of the bad mx or extension),
 *         MTASTS_ENONASCII, MTASTS_ETOOBIG, MTASTS_EVERSION, MTASTS_EINVAL,
 *         MTASTS_ENOMEM.
 */
MTASTS_API int
mtasts_policy_build(mtasts_ctx *ctx, int mode, uint32_t max_age,
                    const char *const *mx, const size_t *mx_lens,
                    size_t mx_count, const char *const *ext_names,
                    const size_t *ext_name_lens, const char *const *ext_values,
                    const size_t *ext_value_lens, size_t ext_count,
                    mtasts_policy **ret_policy, struct mtasts_diag *reterr);

/** Free a policy. NULL is allowed. */
MTASTS_API void mtasts_policy_free(mtasts_policy *policy);

/** The version value ("STSv1"), borrowed, NUL-terminated. */
MTASTS_API const char *mtasts_policy_version(const mtasts_policy *policy,
                                             size_t *ret_len);

/** MTASTS_MODE_*, or 0 when policy is NULL. */
MTASTS_API int mtasts_policy_mode(const mtasts_policy *policy);

/** max_age in seconds (after clamping to MTASTS_MAX_AGE_MAX). */
MTASTS_API uint32_t mtasts_policy_max_age(const mtasts_policy *policy);

/** Number of mx patterns (duplicates removed), in file order. */
MTASTS_API size_t mtasts_policy_mx_count(const mtasts_policy *policy);

/** mx pattern i as written (borrowed, NUL-terminated), NULL if i is out
 * of range. */
MTASTS_API const char *mtasts_policy_mx(const mtasts_policy *policy, size_t i,
                                        size_t *ret_len);

/** Number of extension fields (unknown keys, first occurrence only). */
MTASTS_API size_t mtasts_policy_ext_count(const mtasts_policy *policy);

/** Extension i; @return 0 or MTASTS_EINVAL. Strings borrowed,
 * NUL-terminated. */
MTASTS_API int mtasts_policy_ext(const mtasts_policy *policy, size_t i,
                                 const char **ret_name, size_t *ret_name_len,
                                 const char **ret_value, size_t *ret_value_len);

/** The exact body that was parsed (borrowed, NUL-terminated). */
MTASTS_API const char *mtasts_policy_raw(const mtasts_policy *policy,
                                         size_t *ret_len);

/**
 * Number of non-blank lines of the raw body; with mtasts_policy_line() these
 * are the TLSRPT policy-string (RPT-AGG-11).
 */
MTASTS_API size_t mtasts_policy_line_count(const mtasts_policy *policy);

/** Line i without terminator (borrowed, NOT NUL-terminated), or NULL. */
MTASTS_API const char *mtasts_policy_line(const mtasts_policy *policy, size_t i,
                                          size_t *ret_len);

/** Warning mask (MTASTS_WARN_BIT) of the parse that made policy. */
MTASTS_API uint64_t mtasts_policy_warnings(const mtasts_policy *policy);

/**
 * 1 when at least one mx pattern of the policy matches host
 * (mtasts_mx_match(), STS-MX-5), else 0. The mode is not considered.
 */
MTASTS_API int mtasts_policy_mx_allowed(const mtasts_policy *policy,
                                        const char *host, size_t host_len);

/**
 * Serialize canonically (STS-POL-16): version, mode, each mx, max_age, then
 * extensions, CRLF-terminated. snprintf semantics.
 * @return 0, MTASTS_ERANGE, MTASTS_EINVAL.
 */
MTASTS_API int mtasts_policy_format(const mtasts_policy *policy, char *dst,
                                    size_t dst_len, size_t *ret_needed);

#ifdef __cplusplus
}
#endif

#endif /* MTASTS_H */
