/*
 * libmtasts: SMTP MTA Strict Transport Security (RFC 8461) and
 * SMTP TLS Reporting (RFC 8460) for mail servers.
 *
 * This is the whole public API. It includes only <stddef.h> and <stdint.h>
 * and compiles as C99 (-pedantic) and as C++.
 *
 * The requirement ids (STS-TXT-9, RPT-DELIV-10, ...) and project decisions
 * (E-11, ...) cited below are defined in doc/requirements.md.
 *
 * General rules (see mtasts(3) for the long version):
 *
 *  - Names: mtasts_<object>_<verb>[_<what>], the object first
 *    (mtasts_policy_parse, mtasts_domain_policy_url,
 *    mtasts_tlsrpt_report_id_generate). Getters are the object and the
 *    member, with no verb (mtasts_policy_mode). One verb per meaning:
 *      new     an empty object or a state machine (ctx, lookup, cache, agg)
 *      parse   from text a peer wrote (records, policies, reports)
 *      decode  from bytes this library encoded (entries, aggregates)
 *      build   from fields the caller gives (records, policies, reports,
 *              report mail)
 *      select  the one record of a DNS RRset
 *      free    release
 *      format  to text (snprintf semantics into the caller's buffer, or a
 *              mtasts_buf when the size has no small bound)
 *      encode  to bytes for storage, read back by decode
 *  - Strings in are (pointer, length); strings out are (pointer, length)
 *    and NUL-terminated as well.
 *  - Functions that can fail return int: 0 is success, a negative value is
 *    one of the MTASTS_E* error codes below. A protocol outcome is never an
 *    error: a few functions (documented) return a positive status instead,
 *    MTASTS_NONE ("nothing to return") or MTASTS_REFUSED ("the protocol
 *    refuses this input"). mtasts_is_fatal() tells errors that end an
 *    object or need a program change from those worth a retry or other
 *    input. The values never change.
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
 *  - Constants: every family of related values is a typed enum
 *    (typedef enum mtasts_<family>) with explicit values, and the values never
 *    change once released. Flag families are named MTASTS_<OBJ>_F_<NAME>
 *    and hold single bits; combine them with | and pass them as unsigned.
 *    Parameters and members that take a family are declared int or
 *    unsigned (the width and sign of an enum are the compiler's choice, and
 *    some functions return a family value or a negative status); each one
 *    names its enum type in its documentation. Families that select
 *    something (limits, options) never share values, so passing a value of
 *    the wrong family is refused with MTASTS_EINVAL. The few plain
 *    constants (struct versions, default limits) are one-line #defines.
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

/**
 * Status codes returned by the functions declared int: 0 for success,
 * positive for a protocol outcome that is not an error, negative for an
 * error. The values never change: they may be logged, stored and compared.
 */
typedef enum mtasts_status {
    /** not an error: the input was refused by a protocol rule (a report
     * mail whose DKIM verdict is not a pass, RPT-DELIV-17); nothing made */
    MTASTS_REFUSED = 2,
    /** not an error: nothing to return (no such key, nothing due, nothing
     * to store); outputs are empty */
    MTASTS_NONE = 1,
    /** success */
    MTASTS_OK = 0,
    /** API misuse (NULL where not allowed, a value of the wrong family) */
    MTASTS_EINVAL = -1,
    /** the allocator failed */
    MTASTS_ENOMEM = -2,
    /** malformed input; see the diagnostic */
    MTASTS_ESYNTAX = -3,
    /** input over a documented limit */
    MTASTS_ETOOBIG = -4,
    /** unknown struct version */
    MTASTS_EVERSION = -5,
    /** call not valid in this state */
    MTASTS_ESTATE = -6,
    /** a callback will complete later */
    MTASTS_EAGAIN = -7,
    /** a caller callback failed */
    MTASTS_ECALLBACK = -8,
    /** non-ASCII where only A-labels are allowed */
    MTASTS_ENONASCII = -9,
    /** accepted only through a tolerance, and MTASTS_PARSE_F_STRICT was
     * given */
    MTASTS_ESTRICT = -10,
    /** output buffer too small (see ret_needed) */
    MTASTS_ERANGE = -11,
    /** stored bytes fail their integrity check (a cache entry or aggregate
     * export altered in storage) */
    MTASTS_ECORRUPT = -12
} mtasts_status;

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

/**
 * Whether a status means the operation cannot go on: 1 for MTASTS_ENOMEM
 * (the object the call was made on may only be freed, for a lookup; a
 * parse made nothing), MTASTS_EINVAL, MTASTS_EVERSION and MTASTS_ESTATE
 * (API misuse: the program must change, retrying the same call fails the
 * same way), MTASTS_ECALLBACK (the caller's hook failed) and any unknown
 * negative value. 0 for MTASTS_OK, the outcomes MTASTS_NONE and
 * MTASTS_REFUSED, and the errors that a retry or other input can cure:
 * MTASTS_EAGAIN (call again later), MTASTS_ERANGE (retry with a larger
 * buffer), and the input errors MTASTS_ESYNTAX, MTASTS_ETOOBIG,
 * MTASTS_ENONASCII, MTASTS_ESTRICT and MTASTS_ECORRUPT (drop or refetch
 * that input and go on).
 */
MTASTS_API int mtasts_is_fatal(int status);

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

/**
 * Set the secret seed of the hash tables of the objects made from ctx
 * afterwards (caches, aggregates, policy keys, the report reader's
 * duplicate-name check). mtasts_ctx_new() seeds a context from the
 * kernel's random source (getrandom, getentropy or arc4random, whichever
 * the platform has) mixed with ASLR'd addresses, or from those addresses
 * alone on a platform without one. A caller-chosen seed makes runs
 * reproducible (tests, benchmarks); a seed an attacker knows gives up the
 * protection against hash flooding. Objects copy the seed when they are
 * made: call this before making any.
 * @return 0 or MTASTS_EINVAL (ctx NULL).
 * Thread-safety: do not call while other threads use the context.
 */
MTASTS_API int mtasts_ctx_set_seed(mtasts_ctx *ctx, uint64_t seed);

/**
 * Limits (decision E-21), for mtasts_ctx_set_limit(). Each has a default
 * constant, a function twin of that constant, and a per-context setter.
 * Values 1-99; they never overlap mtasts_option values, and
 * mtasts_ctx_set_option() refuses them.
 */
typedef enum mtasts_limit {
    /** policy body bytes */
    MTASTS_LIMIT_POLICY_SIZE = 1,
    /** mx lines in one policy */
    MTASTS_LIMIT_POLICY_MX = 2,
    /** TXT record bytes after joining */
    MTASTS_LIMIT_TXT_SIZE = 3,
    /** report JSON bytes */
    MTASTS_LIMIT_JSON_SIZE = 4,
    /** JSON nesting depth */
    MTASTS_LIMIT_JSON_DEPTH = 5,
    /** bytes of one JSON string */
    MTASTS_LIMIT_JSON_STRING = 6,
    /** elements of one JSON array */
    MTASTS_LIMIT_JSON_ARRAY = 7,
    /** bytes a gzip report inflates to */
    MTASTS_LIMIT_GUNZIP_SIZE = 8
} mtasts_limit;

/* Default limits and fixed sizes. */
/** default MTASTS_LIMIT_POLICY_SIZE */
#define MTASTS_POLICY_MAX_SIZE 65536
/** default MTASTS_LIMIT_POLICY_MX */
#define MTASTS_POLICY_MAX_MX 1000
/** default MTASTS_LIMIT_TXT_SIZE */
#define MTASTS_TXT_MAX_SIZE 4096
/** default MTASTS_LIMIT_JSON_SIZE */
#define MTASTS_JSON_MAX_SIZE 67108864
/** default MTASTS_LIMIT_JSON_DEPTH */
#define MTASTS_JSON_MAX_DEPTH 32
/** default MTASTS_LIMIT_JSON_STRING */
#define MTASTS_JSON_MAX_STRING 1048576
/** default MTASTS_LIMIT_JSON_ARRAY */
#define MTASTS_JSON_MAX_ARRAY 1000000
/** longest id= value (RFC 8461 3.1) */
#define MTASTS_ID_MAX_LEN 32
/** longest extension name */
#define MTASTS_EXT_NAME_MAX 32
/** longest domain name, text form */
#define MTASTS_DOMAIN_MAX_LEN 253
/** longest DNS label */
#define MTASTS_LABEL_MAX_LEN 63
/** largest max_age (erratum 7282) */
#define MTASTS_MAX_AGE_MAX 31557600

MTASTS_API size_t mtasts_policy_max_size(void);
MTASTS_API size_t mtasts_policy_max_mx(void);
MTASTS_API size_t mtasts_txt_max_size(void);
MTASTS_API size_t mtasts_id_max_len(void);
MTASTS_API size_t mtasts_domain_max_len(void);
MTASTS_API uint32_t mtasts_max_age_max(void);

/**
 * Set a limit on a context. value must be at least 1.
 * @param[in] limit an mtasts_limit value (MTASTS_LIMIT_*)
 * @return 0 or MTASTS_EINVAL (unknown limit, including every mtasts_option
 *         value; value 0; ctx NULL).
 * Thread-safety: do not call while other threads use the context.
 */
MTASTS_API int mtasts_ctx_set_limit(mtasts_ctx *ctx, int limit, size_t value);

/** Current value of a limit (an mtasts_limit value), or 0 when limit is
 * unknown or ctx NULL. */
MTASTS_API size_t mtasts_ctx_get_limit(const mtasts_ctx *ctx, int limit);

/* ------------------------------------------------------------------ */
/* Diagnostics and warnings                                            */
/* ------------------------------------------------------------------ */

/**
 * Flags of the parsers (the flags parameter of mtasts_*_parse(),
 * mtasts_*_select() and mtasts_tlsrpt_mail_ingest()).
 */
typedef enum mtasts_parse_flag {
    /** every tolerated deviation is an error (MTASTS_ESTRICT) */
    MTASTS_PARSE_F_STRICT = 0x1,
    /** mtasts_tlsrpt_report_parse() and mtasts_tlsrpt_mail_ingest() only:
     * do not accept gzip input */
    MTASTS_PARSE_F_NO_GZIP = 0x100
} mtasts_parse_flag;

/**
 * Warnings: deviations a default (non-strict) parse tolerates. Each has a
 * stable bit number, used as (UINT64_C(1) << w) (MTASTS_WARN_BIT(w)) in
 * warning masks, and a stable name from mtasts_warning_name(). The values
 * never change.
 */
typedef enum mtasts_warning {
    /** trailing_wsp: WSP after the last TXT field (E-15) */
    MTASTS_W_TRAILING_WSP = 0,
    /** duplicate_field: a repeated non-repeatable field; the first wins */
    MTASTS_W_DUPLICATE_FIELD = 1,
    /** max_age_clamped: max_age above 31557600 was clamped (E-3) */
    MTASTS_W_MAX_AGE_CLAMPED = 2,
    /** blank_line: an empty or WSP-only policy line was ignored (E-10) */
    MTASTS_W_BLANK_LINE = 3,
    /** bom: a leading UTF-8 BOM was ignored (E-10) */
    MTASTS_W_BOM = 4,
    /** duplicate_mx: an mx pattern equal (ignoring case) to an earlier one
     * was dropped */
    MTASTS_W_DUPLICATE_MX = 5,
    /** no_usable_rua: a TLSRPT record whose URIs are all unusable (E-20) */
    MTASTS_W_NO_USABLE_RUA = 6,
    /** rua_scheme: a rua URI of a scheme other than mailto or https */
    MTASTS_W_RUA_SCHEME = 7,
    /** rua_mailto: a mailto URI without a usable address */
    MTASTS_W_RUA_MAILTO = 8,
    /** date_no_offset: a report date-time without Z or offset, read as UTC
     * (E-17) */
    MTASTS_W_DATE_NO_OFFSET = 9,
    /** contact_null: contact-info null, read as absent (E-18) */
    MTASTS_W_CONTACT_NULL = 10,
    /** mx_host_absent: an sts policy without mx-host (E-19) */
    MTASTS_W_MX_HOST_ABSENT = 11,
    /** mx_host_string: mx-host given as a string, not an array (E-4) */
    MTASTS_W_MX_HOST_STRING = 12,
    /** policy_string_string: policy-string given as a string (E-6) */
    MTASTS_W_POLICY_STRING_STRING = 13,
    /** info_uri_alias: the key additional-info-uri was used (E-5) */
    MTASTS_W_INFO_URI_ALIAS = 14,
    /** policy_domain_absent: a policy without policy-domain */
    MTASTS_W_POLICY_DOMAIN_ABSENT = 15,
    /** bad_ip: an IP member that is not an IP address, kept as text */
    MTASTS_W_BAD_IP = 16,
    /** null_member: an optional member given as null, read as absent */
    MTASTS_W_NULL_MEMBER = 17,
    /** tlsa_packed: several TLSA records packed into one policy-string */
    MTASTS_W_TLSA_PACKED = 18,
    /** bad_uri: an additional-information member that is not an RFC 3986
     * URI, kept as text */
    MTASTS_W_BAD_URI = 19,
    /** counter_saturated: a count above 2^53-1 was written as 2^53-1 in a
     * generated report (RPT-AGG-14) */
    MTASTS_W_COUNTER_SATURATED = 20,
    /** no_reason_code: a generated report has a certificate-not-trusted or
     * validation-failure entry without failure-reason-code (RPT-JSON-18) */
    MTASTS_W_NO_REASON_CODE = 21,
    /** date_range_reversed: a report date-range whose end-datetime is
     * before its start-datetime, kept as written */
    MTASTS_W_DATE_RANGE_REVERSED = 22,
    /** bad_name: a report member that names a host (policy-domain, an
     * mx-host pattern, receiving-mx-hostname) that is not an RFC 5321
     * Domain in A-label form (an mx-host may start with "*."), kept as text */
    MTASTS_W_BAD_NAME = 23,
    /** number of warnings defined so far (not a warning) */
    MTASTS_W_COUNT = 24
} mtasts_warning;

#define MTASTS_WARN_BIT(w) ((uint64_t)1 << (w))

/** Stable lower-case name of warning w (an mtasts_warning value;
 * "max_age_clamped"), or NULL. */
MTASTS_API const char *mtasts_warning_name(int w);

/**
 * Reasons: what a parser expected where it stopped (mtasts_diag.reason).
 * The values never change; mtasts_reason_name() gives each a stable name.
 */
typedef enum mtasts_reason {
    /** no error */
    MTASTS_R_NONE = 0,
    /** input is empty */
    MTASTS_R_EMPTY = 1,
    /** expected the version tag */
    MTASTS_R_VERSION = 2,
    /** expected ';' between fields */
    MTASTS_R_DELIM = 3,
    /** expected a field (name=value) */
    MTASTS_R_FIELD = 4,
    /** malformed field name */
    MTASTS_R_EXT_NAME = 5,
    /** malformed or empty field value */
    MTASTS_R_EXT_VALUE = 6,
    /** id must be 1-32 letters/digits */
    MTASTS_R_ID = 7,
    /** required field id missing */
    MTASTS_R_NO_ID = 8,
    /** byte above 0x7F */
    MTASTS_R_NON_ASCII = 9,
    /** control character */
    MTASTS_R_CTL = 10,
    /** invalid UTF-8 */
    MTASTS_R_UTF8 = 11,
    /** CR not followed by LF */
    MTASTS_R_BARE_CR = 12,
    /** whitespace before a field name */
    MTASTS_R_LEADING_WSP = 13,
    /** expected ':' after the field name */
    MTASTS_R_COLON = 14,
    /** version must be STSv1 */
    MTASTS_R_POLICY_VERSION = 15,
    /** mode must be enforce/testing/none */
    MTASTS_R_MODE = 16,
    /** max_age must be 1-10 digits */
    MTASTS_R_MAX_AGE = 17,
    /** mx must be [*.]hostname */
    MTASTS_R_MX = 18,
    /** required field version missing */
    MTASTS_R_MISSING_VERSION = 19,
    /** required field mode missing */
    MTASTS_R_MISSING_MODE = 20,
    /** required field max_age missing */
    MTASTS_R_MISSING_MAX_AGE = 21,
    /** mx required unless mode is none */
    MTASTS_R_MISSING_MX = 22,
    /** input over the size limit */
    MTASTS_R_TOO_BIG = 23,
    /** more mx lines than the limit */
    MTASTS_R_TOO_MANY_MX = 24,
    /** malformed hostname */
    MTASTS_R_HOSTNAME = 25,
    /** DNS label longer than 63 */
    MTASTS_R_LABEL_LEN = 26,
    /** name longer than 253 */
    MTASTS_R_NAME_LEN = 27,
    /** tolerated deviation, strict mode */
    MTASTS_R_STRICT = 28,
    /** more than one candidate record */
    MTASTS_R_MULTIPLE = 29,
    /** no candidate record */
    MTASTS_R_NOT_FOUND = 30,
    /** object cannot be serialized */
    MTASTS_R_BAD_MODEL = 31,
    /** input ends too early */
    MTASTS_R_TRUNCATED = 32,
    /** check failed (CRC-32, Fletcher-64 or length) */
    MTASTS_R_CHECKSUM = 33,
    /** invalid DEFLATE data */
    MTASTS_R_DEFLATE = 34,
    /** bytes after the end of the data */
    MTASTS_R_TRAILING = 35,
    /** malformed URI */
    MTASTS_R_URI = 36,
    /** required field rua missing */
    MTASTS_R_NO_RUA = 37,
    /** malformed JSON */
    MTASTS_R_JSON = 38,
    /** duplicate JSON member name */
    MTASTS_R_DUPLICATE = 39,
    /** required member missing */
    MTASTS_R_MISSING_MEMBER = 40,
    /** member of the wrong JSON type */
    MTASTS_R_MEMBER_TYPE = 41,
    /** bad member value (count...) */
    MTASTS_R_MEMBER_VALUE = 42,
    /** malformed RFC 3339 date-time */
    MTASTS_R_DATE_TIME = 43,
    /** DKIM verdict is not a pass */
    MTASTS_R_DKIM = 44,
    /** malformed MIME message */
    MTASTS_R_MIME = 45,
    /** bad transfer encoding (base64...) */
    MTASTS_R_ENCODING = 46
} mtasts_reason;

/** Static message for a reason (an mtasts_reason value; "expected ':'
 * after the field name"). */
MTASTS_API const char *mtasts_reason_message(int reason);

/** Stable lower-case name of a reason (an mtasts_reason value; "colon"),
 * or "unknown". */
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
    int code;   /**< an mtasts_status value */
    int reason; /**< an mtasts_reason value */
    size_t offset;
    size_t line;
    uint64_t warnings;     /**< mask of 1 << mtasts_warning values */
    size_t warning_offset; /**< offset of the first warning */
};

#define MTASTS_DIAG_INIT                      \
    {                                         \
        MTASTS_DIAG_VERSION, 0, 0, 0, 0, 0, 0 \
    }

/* ------------------------------------------------------------------ */
/* Names: hostnames, MX patterns, certificate names (RFC 8461 4.1)     */
/* ------------------------------------------------------------------ */

/**
 * Flags of mtasts_hostname_check().
 */
typedef enum mtasts_host_flag {
    /** allow a leading "*." label */
    MTASTS_HOST_F_WILDCARD = 0x1,
    /** allow one trailing dot */
    MTASTS_HOST_F_TRAILING_DOT = 0x2
} mtasts_host_flag;

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
MTASTS_API int mtasts_domain_policy_host(const char *domain, size_t len,
                                         char *dst, size_t dst_len,
                                         size_t *ret_needed);

/**
 * The policy URL for a policy domain:
 * "https://mta-sts." + norm(domain) + "/.well-known/mta-sts.txt"
 * (STS-FETCH-1). snprintf semantics.
 * @return as mtasts_domain_policy_host().
 */
MTASTS_API int mtasts_domain_policy_url(const char *domain, size_t len,
                                        char *dst, size_t dst_len,
                                        size_t *ret_needed);

/**
 * The Policy Domain for a delivery (RFC 8461 3.4, STS-ENF-9): the smart
 * host's name when the message is relayed through one (smarthost not
 * NULL), else the domain of the recipient (the part after the last '@' of
 * recipient, or recipient itself when it has none). The result is
 * normalised; an address literal ("[192.0.2.1]") is returned as it is, and
 * a lookup for it ends at once with no policy. snprintf semantics.
 * @return 0, MTASTS_ERANGE, MTASTS_EINVAL, MTASTS_ESYNTAX,
 *         MTASTS_ENONASCII, MTASTS_ETOOBIG.
 */
MTASTS_API int mtasts_domain_for_delivery(const char *recipient,
                                          size_t recipient_len,
                                          const char *smarthost,
                                          size_t smarthost_len, char *dst,
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
 * @param[in] flags 0 or MTASTS_PARSE_F_STRICT
 * @param[out] ret_rec the record, NULL on failure
 * @param[out] reterr optional diagnostic
 * @return 0, MTASTS_ESYNTAX (also for non-ASCII bytes: reason
 *         MTASTS_R_NON_ASCII), MTASTS_ETOOBIG (len, or the canonical
 *         text of mtasts_sts_record_format(), over MTASTS_LIMIT_TXT_SIZE),
 *         MTASTS_ESTRICT, MTASTS_EVERSION (reterr->version unknown),
 *         MTASTS_EINVAL, MTASTS_ENOMEM.
 * Ownership: free *ret_rec with mtasts_sts_record_free().
 */
MTASTS_API int mtasts_sts_record_parse(mtasts_ctx *ctx, const char *buf,
                                       size_t len, unsigned flags,
                                       mtasts_sts_record **ret_rec,
                                       struct mtasts_diag *reterr);

/**
 * Outcomes of mtasts_sts_record_select() and mtasts_tlsrpt_record_select().
 */
typedef enum mtasts_select_outcome {
    /** exactly one valid record */
    MTASTS_SELECT_FOUND = 0,
    /** no STS candidate in the RRset */
    MTASTS_SELECT_NONE = 1,
    /** more than one candidate: no policy */
    MTASTS_SELECT_MULTIPLE = 2,
    /** one candidate, syntactically invalid */
    MTASTS_SELECT_INVALID = 3
} mtasts_select_outcome;

/**
 * Select the policy record from a whole TXT RRset (STS-TXT-9..11).
 * The RRset is given with its strings kept apart: rr_count records, record
 * i made of rr_nstr[i] consecutive entries of strs/str_lens. The strings of
 * one record are joined without separator; records that do not start with
 * "v=STSv1" *WSP ";" are discarded (E-2); exactly one must remain.
 * @param[out] ret_outcome an mtasts_select_outcome value (MTASTS_SELECT_*)
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

/**
 * Policy modes (RFC 8461 section 5), from mtasts_policy_mode(); names from
 * mtasts_mode_name(). The values never change.
 */
typedef enum mtasts_mode {
    /** mode: enforce */
    MTASTS_MODE_ENFORCE = 1,
    /** mode: testing */
    MTASTS_MODE_TESTING = 2,
    /** mode: none */
    MTASTS_MODE_NONE = 3
} mtasts_mode;

/** "enforce", "testing", "none" for an mtasts_mode value, or NULL for an
 * unknown value. */
MTASTS_API const char *mtasts_mode_name(int mode);

/**
 * Parse a policy body. LF, CRLF or a mix end lines; the last terminator is
 * optional. The body is limited to MTASTS_LIMIT_POLICY_SIZE bytes and
 * MTASTS_LIMIT_POLICY_MX mx lines (checked before any other work).
 * @param[in] flags 0 or MTASTS_PARSE_F_STRICT
 * @return 0, MTASTS_ESYNTAX, MTASTS_ENONASCII (U-label in mx),
 *         MTASTS_ETOOBIG, MTASTS_ESTRICT, MTASTS_EVERSION, MTASTS_EINVAL,
 *         MTASTS_ENOMEM.
 * Ownership: free *ret_policy with mtasts_policy_free().
 */
MTASTS_API int mtasts_policy_parse(mtasts_ctx *ctx, const char *buf, size_t len,
                                   unsigned flags, mtasts_policy **ret_policy,
                                   struct mtasts_diag *reterr);

/** Version of struct mtasts_policy_model (a plain constant). */
#define MTASTS_POLICY_MODEL_VERSION 1

/** The fields of a policy, for mtasts_policy_build(). Arrays may be NULL
 * when their count is 0; each string is (pointer, length). */
struct mtasts_policy_model {
    unsigned version; /**< MTASTS_POLICY_MODEL_VERSION */
    /** an mtasts_mode value */
    int mode;
    /** max_age in seconds */
    uint32_t max_age;
    /** mx patterns */
    const char *const *mx;
    const size_t *mx_lens;
    size_t mx_count;
    /** extension fields: names and values */
    const char *const *ext_names;
    const size_t *ext_name_lens;
    const char *const *ext_values;
    const size_t *ext_value_lens;
    size_t ext_count;
};

/**
 * Build a policy from a model, as if parsing its canonical serialization.
 * @return 0, MTASTS_ESYNTAX (invalid model: reterr reason says which
 *         field, offset the index of the bad mx or extension),
 *         MTASTS_ENONASCII, MTASTS_ETOOBIG, MTASTS_EVERSION
 *         (model->version or reterr->version), MTASTS_EINVAL,
 *         MTASTS_ENOMEM.
 */
MTASTS_API int mtasts_policy_build(mtasts_ctx *ctx,
                                   const struct mtasts_policy_model *model,
                                   mtasts_policy **ret_policy,
                                   struct mtasts_diag *reterr);

/** Free a policy. NULL is allowed. */
MTASTS_API void mtasts_policy_free(mtasts_policy *policy);

/** The version value ("STSv1"), borrowed, NUL-terminated. */
MTASTS_API const char *mtasts_policy_version(const mtasts_policy *policy,
                                             size_t *ret_len);

/** An mtasts_mode value (MTASTS_MODE_*), or 0 when policy is NULL. */
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

/** Line i without its line ending (borrowed, NUL-terminated), or NULL. */
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

/* ------------------------------------------------------------------ */
/* RFC 8460 result types                                               */
/* ------------------------------------------------------------------ */

/**
 * RFC 8460 result types (section 4.3), with their registered names from
 * mtasts_result_type_name(). The values never change: they are stored in
 * cache entries (doc/cache-entry.md) and aggregate exports.
 */
typedef enum mtasts_result_type {
    /** no failure to report, or an unregistered result type */
    MTASTS_RESULT_NONE = 0,
    /** starttls-not-supported */
    MTASTS_RESULT_STARTTLS_NOT_SUPPORTED = 1,
    /** certificate-host-mismatch */
    MTASTS_RESULT_CERTIFICATE_HOST_MISMATCH = 2,
    /** certificate-expired */
    MTASTS_RESULT_CERTIFICATE_EXPIRED = 3,
    /** certificate-not-trusted */
    MTASTS_RESULT_CERTIFICATE_NOT_TRUSTED = 4,
    /** validation-failure */
    MTASTS_RESULT_VALIDATION_FAILURE = 5,
    /** tlsa-invalid */
    MTASTS_RESULT_TLSA_INVALID = 6,
    /** dnssec-invalid */
    MTASTS_RESULT_DNSSEC_INVALID = 7,
    /** dane-required */
    MTASTS_RESULT_DANE_REQUIRED = 8,
    /** sts-policy-fetch-error */
    MTASTS_RESULT_STS_POLICY_FETCH_ERROR = 9,
    /** sts-policy-invalid */
    MTASTS_RESULT_STS_POLICY_INVALID = 10,
    /** sts-webpki-invalid */
    MTASTS_RESULT_STS_WEBPKI_INVALID = 11
} mtasts_result_type;

/** The registered name ("sts-policy-fetch-error") of a result type (an
 * mtasts_result_type value), or NULL for MTASTS_RESULT_NONE and unknown
 * values. */
MTASTS_API const char *mtasts_result_type_name(int result_type);

/* ------------------------------------------------------------------ */
/* Discovery options (RFC 8461 section 5 with our decisions)           */
/* ------------------------------------------------------------------ */

/**
 * Discovery options, for mtasts_ctx_set_option(). Values 100-199; they never
 * overlap mtasts_limit values, and mtasts_ctx_set_limit() refuses them.
 */
typedef enum mtasts_option {
    /** Seconds after a fetch when a lookup refetches the policy even though
     * the TXT id is unchanged (proactive refresh, RFC 8461 10.2), or three
     * quarters of the policy's max_age when that is sooner, so a refresh
     * happens while the policy is still valid. Default 86400; 0 disables
     * refreshing. */
    MTASTS_OPT_REFRESH_INTERVAL = 100,
    /** Seconds during which a failed fetch of one (domain, id) is not
     * retried (STS-FETCH-12). Default 300; values below 300 are refused. */
    MTASTS_OPT_FETCH_BACKOFF = 101,
    /** When > 0, a lookup that sees the cached id unchanged extends the
     * cached policy to now + max_age, but never beyond fetched-at + this
     * many seconds. Default 0: max_age always counts from the last fetch,
     * and the refresh interval keeps the policy fresh (the stale-forever
     * problem of some peers is not possible by default). */
    MTASTS_OPT_EXTEND_SAME_ID = 102,
    /** What a temporary DNS failure means when nothing valid is cached: 0
     * (default) deliver as without MTA-STS (MTASTS_OUTCOME_NO_POLICY), 1
     * defer the delivery (MTASTS_OUTCOME_TEMPFAIL). */
    MTASTS_OPT_TEMPFAIL_NO_CACHE = 103,
    /** 1 (default): a cached "none" policy is deleted once the TXT record
     * is gone (NXDOMAIN or no STS record), RFC 8461 8.3; 0 keeps it until
     * it expires. */
    MTASTS_OPT_DELETE_NONE = 104,
    /** Timeout handed to the HTTPS client, in milliseconds. Default 60000. */
    MTASTS_OPT_FETCH_TIMEOUT_MS = 105,
    /** Minimum seconds between two fetches of the same domain after a
     * successful one, even when the id changes. Default 0 (no minimum). */
    MTASTS_OPT_MIN_REFETCH = 106
} mtasts_option;

/**
 * Set an option on a context.
 * @param[in] option an mtasts_option value (MTASTS_OPT_*)
 * @return 0, MTASTS_EINVAL (unknown option, including every mtasts_limit
 *         value; value out of range; ctx NULL).
 * Thread-safety: do not call while other threads use the context.
 */
MTASTS_API int mtasts_ctx_set_option(mtasts_ctx *ctx, int option,
                                     int64_t value);

/** Current value of an option (an mtasts_option value), or -1 when option
 * is unknown or ctx NULL. */
MTASTS_API int64_t mtasts_ctx_get_option(const mtasts_ctx *ctx, int option);

/* ------------------------------------------------------------------ */
/* Cache entries                                                       */
/* ------------------------------------------------------------------ */

/**
 * A cache entry: what a sender remembers about one policy domain between
 * deliveries. Its byte encoding (mtasts_entry_encode) is documented in
 * doc/cache-entry.md, versioned, and safe to store anywhere (a file, a
 * hints database, Redis). Entries are immutable.
 */
typedef struct mtasts_entry mtasts_entry;

/** Current encoding version written by mtasts_entry_encode(): 3, with a
 * Fletcher-64 of the entry; versions 2 (a CRC-32) and 1 (no check) are
 * still read. */
#define MTASTS_ENTRY_FORMAT_VERSION 3

/**
 * Decode an entry. Bytes that fail the entry's check (version 3: a
 * Fletcher-64, version 2: a CRC-32) are refused with MTASTS_ECORRUPT (reason
 * MTASTS_R_CHECKSUM); malformed, truncated or oversized input with
 * MTASTS_ESYNTAX / MTASTS_ETOOBIG, a newer encoding version with
 * MTASTS_EVERSION; the stored policy is parsed again and must be valid. Version
 * 1 entries carry no check.
 * @return 0, MTASTS_ECORRUPT, MTASTS_ESYNTAX, MTASTS_ETOOBIG,
 *         MTASTS_EVERSION, MTASTS_EINVAL, MTASTS_ENOMEM.
 * Ownership: free *ret_entry with mtasts_entry_free().
 */
MTASTS_API int mtasts_entry_decode(mtasts_ctx *ctx, const uint8_t *buf,
                                   size_t len, mtasts_entry **ret_entry,
                                   struct mtasts_diag *reterr);

/** Encode an entry (snprintf semantics; the output is text but callers
 * should treat it as bytes). @return 0, MTASTS_ERANGE, MTASTS_EINVAL. */
MTASTS_API int mtasts_entry_encode(const mtasts_entry *entry, uint8_t *dst,
                                   size_t dst_len, size_t *ret_needed);

/** Free an entry. NULL is allowed. */
MTASTS_API void mtasts_entry_free(mtasts_entry *entry);

/** The normalised policy domain (borrowed, NUL-terminated). */
MTASTS_API const char *mtasts_entry_domain(const mtasts_entry *entry,
                                           size_t *ret_len);

/** The TXT id the policy was fetched under ("" when none is known). */
MTASTS_API const char *mtasts_entry_id(const mtasts_entry *entry,
                                       size_t *ret_len);

/** The cached policy (borrowed), or NULL when the entry only remembers a
 * fetch backoff. */
MTASTS_API const mtasts_policy *mtasts_entry_policy(const mtasts_entry *entry);

/**
 * Times of an entry, for mtasts_entry_time() (seconds since the epoch;
 * 0 = not set).
 */
typedef enum mtasts_entry_time_field {
    /** when the policy was fetched */
    MTASTS_ENTRY_TIME_FETCHED_AT = 1,
    /** policy valid while now < this */
    MTASTS_ENTRY_TIME_EXPIRES_AT = 2,
    /** no fetch of backoff id before */
    MTASTS_ENTRY_TIME_BACKOFF_UNTIL = 3,
    /** last lookup that used it */
    MTASTS_ENTRY_TIME_LAST_USED = 4
} mtasts_entry_time_field;

/** One of the times of an entry, or 0 (not set, or which unknown).
 * @param[in] which an mtasts_entry_time_field value
 *            (MTASTS_ENTRY_TIME_*) */
MTASTS_API int64_t mtasts_entry_time(const mtasts_entry *entry, int which);

/** The id the fetch backoff applies to ("" when none). */
MTASTS_API const char *mtasts_entry_backoff_id(const mtasts_entry *entry,
                                               size_t *ret_len);

/* ------------------------------------------------------------------ */
/* Discovery: the pull API (RFC 8461 section 5)                        */
/* ------------------------------------------------------------------ */

typedef struct mtasts_lookup mtasts_lookup;

/**
 * Flags of mtasts_lookup_new() and mtasts_lookup_new_decoded().
 */
typedef enum mtasts_lookup_flag {
    /** proactive refresh: fetch the policy even when the id is unchanged or
     * the TXT record is missing */
    MTASTS_LOOKUP_F_REFRESH = 0x1
} mtasts_lookup_flag;

/**
 * Start a policy lookup for one policy domain (the recipient domain, or
 * the smart host's domain when relaying through one, STS-ENF-9).
 * @param[in] entry  the cached entry bytes for this domain, or NULL. An
 *        entry that does not decode, or belongs to another domain, is
 *        ignored (see mtasts_lookup_entry_error()), never trusted.
 * @param[in] now    the current time, seconds since the epoch, within
 *        [0, 2^61] (MTASTS_EINVAL otherwise)
 * @return 0, MTASTS_ESYNTAX / MTASTS_ENONASCII / MTASTS_ETOOBIG (domain is
 *         not a valid A-label domain), MTASTS_EINVAL, MTASTS_ENOMEM.
 *         An address literal ("[192.0.2.1]") is accepted and finishes at
 *         once with MTASTS_OUTCOME_NO_POLICY (STS-FETCH-15).
 * Ownership: free *ret_lookup with mtasts_lookup_free().
 */
MTASTS_API int mtasts_lookup_new(mtasts_ctx *ctx, const char *domain,
                                 size_t domain_len, const uint8_t *entry,
                                 size_t entry_len, int64_t now, unsigned flags,
                                 mtasts_lookup **ret_lookup);

/**
 * As mtasts_lookup_new(), with an entry the caller already holds decoded
 * (for daemons that keep entries in memory: no decoding per delivery).
 * entry is borrowed: it must stay alive and unchanged until the lookup is
 * freed. An entry for another domain is ignored (mtasts_lookup_entry_error()
 * is then MTASTS_EINVAL).
 * @return as mtasts_lookup_new().
 */
MTASTS_API int mtasts_lookup_new_decoded(mtasts_ctx *ctx, const char *domain,
                                         size_t domain_len,
                                         const mtasts_entry *entry, int64_t now,
                                         unsigned flags,
                                         mtasts_lookup **ret_lookup);

/** Free a lookup. NULL is allowed. */
MTASTS_API void mtasts_lookup_free(mtasts_lookup *lookup);

/**
 * What the caller must do next for a lookup (mtasts_lookup_next()).
 */
typedef enum mtasts_lookup_action {
    /** finished: read the outcome */
    MTASTS_ACT_DONE = 0,
    /** resolve the TXT RRset of txt_name */
    MTASTS_ACT_TXT = 1,
    /** GET fetch_url over HTTPS */
    MTASTS_ACT_FETCH = 2
} mtasts_lookup_action;

/**
 * The next thing the caller must do. Calling it again without answering
 * returns the same action.
 * @return an mtasts_lookup_action value (MTASTS_ACT_*), or a negative
 *         status after a fatal error.
 */
MTASTS_API int mtasts_lookup_next(mtasts_lookup *lookup);

/** The TXT query name "_mta-sts.<domain>" (borrowed, NUL-terminated). The
 * resolver must follow CNAMEs and return the RRset at the end of the
 * chain (STS-TXT-12). */
MTASTS_API const char *mtasts_lookup_txt_name(const mtasts_lookup *lookup,
                                              size_t *ret_len);

/** The policy URL (borrowed, NUL-terminated): GET, HTTPS only, no
 * redirects, no HTTP caching or conditional headers. */
MTASTS_API const char *mtasts_lookup_fetch_url(const mtasts_lookup *lookup,
                                               size_t *ret_len);

/** The Policy Host "mta-sts.<domain>": the TLS SNI, and the DNS-ID the
 * server certificate must match (use mtasts_cert_names_match()). */
MTASTS_API const char *mtasts_lookup_fetch_host(const mtasts_lookup *lookup,
                                                size_t *ret_len);

/** Fetch timeout for the HTTPS client, milliseconds. */
MTASTS_API uint32_t mtasts_lookup_fetch_timeout_ms(const mtasts_lookup *lookup);

/** Largest body to accept; the client should stop reading after one byte
 * more and report MTASTS_FETCH_TOO_BIG. */
MTASTS_API size_t mtasts_lookup_fetch_max_size(const mtasts_lookup *lookup);

/**
 * DNS status for mtasts_lookup_put_txt().
 */
typedef enum mtasts_dns_status {
    /** an answer (possibly with no TXT RR) */
    MTASTS_DNS_OK = 0,
    /** the name does not exist */
    MTASTS_DNS_NXDOMAIN = 1,
    /** the name exists but has no TXT RR */
    MTASTS_DNS_NODATA = 2,
    /** SERVFAIL, timeout, network error */
    MTASTS_DNS_TEMPFAIL = 3
} mtasts_dns_status;

/**
 * Answer MTASTS_ACT_TXT. dns_status is an mtasts_dns_status value. The
 * RRset is given as for
 * mtasts_sts_record_select(): rr_count records, record i made of rr_nstr[i]
 * consecutive strings of strs/str_lens (NULL when rr_count is 0).
 * @return 0, MTASTS_ESTATE (no TXT question pending), MTASTS_EINVAL,
 *         MTASTS_ENOMEM (fatal: only mtasts_lookup_free() may follow).
 */
MTASTS_API int mtasts_lookup_put_txt(mtasts_lookup *lookup, int dns_status,
                                     const char *const *strs,
                                     const size_t *str_lens,
                                     const size_t *rr_nstr, size_t rr_count);

/**
 * Transport status for mtasts_lookup_put_fetch().
 */
typedef enum mtasts_fetch_status {
    /** an HTTP response was received over TLS >= 1.2 with a valid
     * certificate */
    MTASTS_FETCH_OK = 0,
    /** name resolution or TCP connect failed */
    MTASTS_FETCH_CONNECT = 1,
    /** the timeout expired */
    MTASTS_FETCH_TIMEOUT = 2,
    /** handshake failed or TLS below 1.2 (sts-policy-fetch-error) */
    MTASTS_FETCH_TLS = 3,
    /** certificate expired, untrusted or not valid for the Policy Host */
    MTASTS_FETCH_CERT = 4,
    /** the body exceeded the size limit */
    MTASTS_FETCH_TOO_BIG = 5,
    /** any other transport failure */
    MTASTS_FETCH_ERROR = 6
} mtasts_fetch_status;

/**
 * Answer MTASTS_ACT_FETCH. The library validates the response: status 200
 * only (redirects are failures), media type text/plain (parameters
 * ignored), the size limit, and the body must parse as a policy.
 * @param[in] transport an mtasts_fetch_status value (MTASTS_FETCH_*)
 * @param[in] content_type the Content-Type header value, NULL if absent
 * @return 0, MTASTS_ESTATE, MTASTS_EINVAL, MTASTS_ENOMEM (fatal).
 */
MTASTS_API int mtasts_lookup_put_fetch(mtasts_lookup *lookup, int transport,
                                       int http_status,
                                       const char *content_type,
                                       size_t content_type_len,
                                       const char *body, size_t body_len);

/**
 * Outcomes of a lookup (mtasts_lookup_outcome(), valid once
 * mtasts_lookup_next() returned MTASTS_ACT_DONE).
 */
typedef enum mtasts_outcome {
    /** deliver as without MTA-STS */
    MTASTS_OUTCOME_NO_POLICY = 1,
    /** a testing/enforce policy */
    MTASTS_OUTCOME_APPLY = 2,
    /** a "none" policy is in force */
    MTASTS_OUTCOME_NO_ACTIVE_POLICY = 3,
    /** defer (only with MTASTS_OPT_TEMPFAIL_NO_CACHE) */
    MTASTS_OUTCOME_TEMPFAIL = 4
} mtasts_outcome;

/** An mtasts_outcome value (MTASTS_OUTCOME_*), or 0 while the lookup is
 * not done. */
MTASTS_API int mtasts_lookup_outcome(const mtasts_lookup *lookup);

/**
 * Why a lookup ended as it did (mtasts_lookup_why()); names from
 * mtasts_why_name().
 */
typedef enum mtasts_why {
    /** a new policy was fetched */
    MTASTS_WHY_FETCHED = 1,
    /** id unchanged: cached policy */
    MTASTS_WHY_CACHED = 2,
    /** no STS TXT record */
    MTASTS_WHY_NO_RECORD = 3,
    /** DNS temporary failure */
    MTASTS_WHY_TXT_TEMPFAIL = 4,
    /** the one STS record is invalid */
    MTASTS_WHY_TXT_INVALID = 5,
    /** several STS records */
    MTASTS_WHY_TXT_MULTIPLE = 6,
    /** the fetch failed */
    MTASTS_WHY_FETCH_FAILED = 7,
    /** a fetch of this id failed recently; not retried yet */
    MTASTS_WHY_BACKOFF = 8,
    /** destination is an IP literal */
    MTASTS_WHY_ADDRESS_LITERAL = 9,
    /** fetched too recently to refetch */
    MTASTS_WHY_MIN_REFETCH = 10
} mtasts_why;

/** An mtasts_why value (MTASTS_WHY_*), or 0 while the lookup is not
 * done. */
MTASTS_API int mtasts_lookup_why(const mtasts_lookup *lookup);

/** Stable name of an mtasts_why value ("fetch_failed"), or NULL. */
MTASTS_API const char *mtasts_why_name(int why);

/** The policy in force (borrowed; lives as long as the lookup), or NULL
 * for MTASTS_OUTCOME_NO_POLICY and TEMPFAIL. */
MTASTS_API const mtasts_policy *
mtasts_lookup_policy(const mtasts_lookup *lookup);

/** 1 when the policy in force came from the cached entry, else 0. */
MTASTS_API int mtasts_lookup_from_cache(const mtasts_lookup *lookup);

/** The RFC 8460 result type of a discovery failure that must be reported
 * (sts-policy-fetch-error, sts-policy-invalid, sts-webpki-invalid), or
 * MTASTS_RESULT_NONE (an mtasts_result_type value). Not set when the
 * cached policy in force has mode none (RFC 8461 section 6). */
MTASTS_API int mtasts_lookup_result_type(const mtasts_lookup *lookup);

/** 1 when a fetch failed while a valid testing or enforce policy is cached
 * (a refresh, or a new id that could not be fetched): an administrator
 * should be alerted (STS-CACHE-10). */
MTASTS_API int mtasts_lookup_alert(const mtasts_lookup *lookup);

/** The decode status of the entry passed to mtasts_lookup_new() (0 when
 * none was passed or it decoded), so a corrupt store can be reported:
 * MTASTS_ECORRUPT when its bytes fail the entry's CRC-32. */
MTASTS_API int mtasts_lookup_entry_error(const mtasts_lookup *lookup);

/**
 * What to do with the stored entry once a lookup is done
 * (mtasts_lookup_entry_action()).
 */
typedef enum mtasts_entry_action {
    /** keep what is stored */
    MTASTS_ENTRY_ACTION_UNCHANGED = 0,
    /** store mtasts_lookup_entry() bytes */
    MTASTS_ENTRY_ACTION_STORE = 1,
    /** delete the stored entry */
    MTASTS_ENTRY_ACTION_DELETE = 2
} mtasts_entry_action;

/** What to do with the stored entry once the lookup is done: an
 * mtasts_entry_action value (MTASTS_ENTRY_ACTION_*). */
MTASTS_API int mtasts_lookup_entry_action(const mtasts_lookup *lookup);

/**
 * The entry bytes to store when the action is MTASTS_ENTRY_ACTION_STORE
 * (snprintf semantics).
 * @return 0, MTASTS_ERANGE, MTASTS_NONE (not an error: nothing to
 *         store), MTASTS_ESTATE (the lookup is not done), MTASTS_EINVAL
 *         (lookup NULL, or dst NULL with dst_len > 0).
 */
MTASTS_API int mtasts_lookup_entry(const mtasts_lookup *lookup, uint8_t *dst,
                                   size_t dst_len, size_t *ret_needed);

/**
 * Whether a message that MTA-STS kept from being delivered may now be
 * failed permanently (STS-ENF-7). Before bouncing, run a new lookup at or
 * after bounce_time and pass it here: the answer is 1 only when that
 * lookup is done, ran at or after bounce_time, got a real DNS answer for
 * the TXT record (not a temporary failure), and did not fetch a new
 * policy. When it fetched a new policy (the id changed) the answer is 0:
 * re-evaluate the MX hosts under the new policy first.
 */
MTASTS_API int mtasts_lookup_may_permfail(const mtasts_lookup *lookup,
                                          int64_t bounce_time);

/**
 * One line of plain text describing a finished lookup, for logs:
 * "domain=example.com outcome=apply mode=enforce id=20190429T010101
 * source=cache why=cached entry=unchanged" plus " result_type=..." and
 * " alert=1" when set. Before the lookup is done: "domain=... pending".
 * snprintf semantics.
 * @return 0, MTASTS_ERANGE, MTASTS_EINVAL.
 */
MTASTS_API int mtasts_lookup_format(const mtasts_lookup *lookup, char *dst,
                                    size_t dst_len, size_t *ret_needed);

/**
 * Take the entry to store as a decoded object instead of bytes (when the
 * action is MTASTS_ENTRY_ACTION_STORE), for use with
 * mtasts_lookup_new_decoded(). Afterwards the action reads
 * MTASTS_ENTRY_ACTION_UNCHANGED, and the policy of mtasts_lookup_policy() lives
 * as long as the taken entry.
 * @return 0, MTASTS_NONE (not an error: nothing to store),
 *         MTASTS_ESTATE (the lookup is not done), MTASTS_EINVAL.
 * Ownership: free *ret_entry with mtasts_entry_free().
 */
MTASTS_API int mtasts_lookup_take_entry(mtasts_lookup *lookup,
                                        mtasts_entry **ret_entry);

/** When the domain should be looked up again proactively (refresh or
 * backoff end), seconds since the epoch; 0 when nothing is cached. */
MTASTS_API int64_t mtasts_lookup_refresh_at(const mtasts_lookup *lookup);

/* ------------------------------------------------------------------ */
/* Discovery: the callback driver                                      */
/* ------------------------------------------------------------------ */

#define MTASTS_IO_VERSION 1

/**
 * Caller-supplied I/O for mtasts_lookup_drive(). The driver copies the
 * fields of the caller's version at the start of each call. Each hook either
 * answers (mtasts_lookup_put_txt() or mtasts_lookup_put_fetch()) before
 * returning 0, or returns MTASTS_EAGAIN and answers later, then calls
 * mtasts_lookup_drive() again. Any other return value aborts the drive with
 * MTASTS_ECALLBACK.
 */
struct mtasts_io {
    unsigned version; /**< MTASTS_IO_VERSION */
    int (*txt)(void *user, mtasts_lookup *lookup, const char *qname,
               size_t qname_len);
    int (*fetch)(void *user, mtasts_lookup *lookup, const char *url,
                 size_t url_len, const char *host, size_t host_len,
                 uint32_t timeout_ms, size_t max_size);
    /** optional: one line per step, for logs (msg is NUL-terminated) */
    void (*log)(void *user, const char *msg, size_t msg_len);
};

/**
 * Run the lookup over the callbacks until it is done or a callback defers.
 * @return 0 (done), MTASTS_EAGAIN (a callback deferred: answer, then call
 *         again), MTASTS_ECALLBACK (a hook failed or returned 0 without
 *         answering), MTASTS_EVERSION, MTASTS_EINVAL, MTASTS_ENOMEM.
 */
MTASTS_API int mtasts_lookup_drive(mtasts_lookup *lookup,
                                   const struct mtasts_io *io, void *user);

/* ------------------------------------------------------------------ */
/* Delivery decision (RFC 8461 sections 4 and 5)                       */
/* ------------------------------------------------------------------ */

/**
 * What the TLS layer found for one MX (the tls parameter of
 * mtasts_decide()).
 */
typedef enum mtasts_tls_status {
    /** before connecting: the MX name is checked alone */
    MTASTS_TLS_NOT_TRIED = 0,
    /** STARTTLS, certificate valid for the MX host name */
    MTASTS_TLS_OK = 1,
    /** STARTTLS not offered, or refused */
    MTASTS_TLS_NO_STARTTLS = 2,
    /** the certificate is not valid for the MX host name */
    MTASTS_TLS_CERT_HOST_MISMATCH = 3,
    /** the certificate has expired (or is not yet valid) */
    MTASTS_TLS_CERT_EXPIRED = 4,
    /** the certificate chain does not lead to a trusted CA */
    MTASTS_TLS_CERT_UNTRUSTED = 5,
    /** any other TLS failure */
    MTASTS_TLS_FAILED = 6
} mtasts_tls_status;

/**
 * Whether DANE applies to the MX (the dane parameter of mtasts_decide()).
 */
typedef enum mtasts_dane_status {
    /** no usable TLSA records: MTA-STS governs */
    MTASTS_DANE_NOT_USED = 0,
    /** DANE applies and validated */
    MTASTS_DANE_PASS = 1,
    /** DANE applies and failed */
    MTASTS_DANE_FAIL = 2
} mtasts_dane_status;

/**
 * Actions of mtasts_decide(). When every MX of a domain is skipped, defer
 * the message (a temporary failure, STS-ENF-6); before failing it
 * permanently, run a new lookup so the TXT record is checked for a new id
 * (STS-ENF-7).
 */
typedef enum mtasts_decide_action {
    /** deliver to this MX */
    MTASTS_DELIVER = 1,
    /** treat this MX as unreachable; try the next */
    MTASTS_SKIP_MX = 2
} mtasts_decide_action;

/**
 * Reasons of a decision (mtasts_decide()); names from
 * mtasts_decide_reason_name().
 */
typedef enum mtasts_decide_reason {
    /** no policy, or mode none */
    MTASTS_DECIDE_NO_POLICY = 1,
    /** the MX satisfies the policy */
    MTASTS_DECIDE_PASS = 2,
    /** no mx pattern matches the MX */
    MTASTS_DECIDE_MX_MISMATCH = 3,
    /** STARTTLS not offered */
    MTASTS_DECIDE_NO_STARTTLS = 4,
    /** certificate or TLS failure */
    MTASTS_DECIDE_CERT_INVALID = 5,
    /** DANE applies and governs */
    MTASTS_DECIDE_DANE = 6,
    /** a TLS report: delivered anyway */
    MTASTS_DECIDE_REPORT = 7
} mtasts_decide_reason;

/**
 * Flags of mtasts_decide().
 */
typedef enum mtasts_decide_flag {
    /** the message carries a TLS report: deliver it despite any failure and
     * report nothing (RFC 8460 3, STS-ENF-11) */
    MTASTS_DECIDE_F_TLSRPT_REPORT = 0x1
} mtasts_decide_flag;

/** Stable name of an mtasts_decide_reason value ("mx_mismatch"), or
 * NULL. */
MTASTS_API const char *mtasts_decide_reason_name(int reason);

/**
 * Decide what to do with one MX under the policy in force.
 * A testing policy never blocks but still yields the failure's result type
 * (to report); an enforce policy skips a failing MX; no policy or mode
 * none delivers and reports nothing. When DANE applies, its verdict
 * governs and MTA-STS is not used (RFC 8461 section 2). Checks run in the
 * order MX name, STARTTLS, certificate (STS-ENF-1).
 * @param[in] policy the policy in force, or NULL for none
 * @param[in] mx     the MX host name as returned by DNS
 * @param[in] tls    an mtasts_tls_status value (MTASTS_TLS_*)
 * @param[in] dane   an mtasts_dane_status value (MTASTS_DANE_*)
 * @param[in] flags  0, or MTASTS_DECIDE_F_TLSRPT_REPORT when the message
 *        carries a TLS report: it is delivered despite any TLS, MTA-STS or
 *        DANE failure, and no result type is returned, so that the session
 *        is not counted in the next report (RFC 8460 3, STS-ENF-11)
 * @param[out] ret_action an mtasts_decide_action value (MTASTS_DELIVER or
 *             MTASTS_SKIP_MX)
 * @param[out] ret_result_type an mtasts_result_type value: the failure to
 *             report, or MTASTS_RESULT_NONE (may be NULL)
 * @param[out] ret_reason an mtasts_decide_reason value (may be NULL)
 * @return 0, MTASTS_EINVAL (unknown tls/dane value or flag, NULL mx or
 *         ret_action).
 */
MTASTS_API int mtasts_decide(const mtasts_policy *policy, const char *mx,
                             size_t mx_len, int tls, int dane, unsigned flags,
                             int *ret_action, int *ret_result_type,
                             int *ret_reason);

/**
 * A Postfix version as one comparable number: major, minor and patch level,
 * each 0-255, as in MTASTS_POSTFIX_VERSION(3, 10, 5). Larger numbers are
 * later versions.
 */
#define MTASTS_POSTFIX_VERSION(maj, min, patch) \
    (((uint32_t)(maj) << 16) | ((uint32_t)(min) << 8) | (uint32_t)(patch))

/**
 * Parse a Postfix version as printed by "postconf -h mail_version" (without
 * the newline): a stable release "MAJOR.MINOR.PATCH" ("3.7.11", "3.10.5")
 * or a development snapshot "MAJOR.MINOR-YYYYMMDD" ("3.11-20250601"), each
 * number 0-255 without a leading zero (the date: 8 digits), nothing else.
 * A snapshot comes before release MAJOR.MINOR.0 and can lack that
 * release's features, so it is taken as the release before it,
 * MAJOR.(MINOR-1).0 (MAJOR-1.255.0 when MINOR is 0).
 * @param[out] ret_version MTASTS_POSTFIX_VERSION() of the version
 * @param[out] ret_offset on MTASTS_ESYNTAX, the offset of the first octet
 *             that is not what the grammar expects (len when the text ends
 *             early); may be NULL
 * @return 0, MTASTS_ESYNTAX, or MTASTS_EINVAL (NULL s with len > 0, NULL
 *         ret_version).
 */
MTASTS_API int mtasts_postfix_version_parse(const char *s, size_t len,
                                            uint32_t *ret_version,
                                            size_t *ret_offset);

/**
 * Flags of mtasts_postfix_answer_format(). 0x1, the former
 * MTASTS_POSTFIX_TLSRPT, is refused: the version decides.
 */
typedef enum mtasts_postfix_flag {
    /** a temporary failure; answer "TEMP reason" so that Postfix defers the
     * mail (the policy is ignored) */
    MTASTS_POSTFIX_F_TEMP = 0x2
} mtasts_postfix_flag;

/**
 * The reply of a Postfix smtp_tls_policy_maps socketmap lookup (without
 * the netstring framing) for the outcome of a lookup, using only the
 * attributes the stated Postfix version knows (older versions defer all
 * mail on an unknown attribute):
 *
 * - enforce policy: "OK secure match=P1:P2..." with the policy's MX
 *   patterns, a "*.example.net" pattern written ".example.net"; from
 *   Postfix 3.4 " servername=hostname" (SNI); from 3.10 the TLSRPT
 *   attributes " policy_type=sts policy_domain=DOMAIN", one
 *   " mx_host_pattern=P" per MX pattern and one
 *   " { policy_string = LINE }" per policy line (a line holding '{' or
 *   '}' is left out: it could inject attributes). Postfix before 3.10.5
 *   (or with smtp_tls_enforce_sts_mx_patterns = no) checks the
 *   certificate against the pattern list and not the MX host name
 *   against the policy, and ".example.net" matches at any depth: looser
 *   than RFC 8461 4.1, see mtasts_decide(3). Postfix 3.10.5 and later
 *   replace the match list with the MX host name and connect only to MX
 *   hosts matching an mx_host_pattern: RFC 8461 exactly.
 * - testing or none policy, no policy, or a domain starting with '.'
 *   (Postfix's parent-domain lookups; a policy covers its domain only,
 *   so such a key gets this also with MTASTS_POSTFIX_F_TEMP): "NOTFOUND "
 *   (Postfix applies its own default TLS level).
 * - MTASTS_POSTFIX_F_TEMP: "TEMP MTA-STS policy for DOMAIN temporarily
 *   unavailable" (Postfix defers the mail).
 *
 * snprintf semantics.
 * @param[in] policy the policy in force, or NULL
 * @param[in] domain the policy domain (the lookup key)
 * @param[in] postfix_version MTASTS_POSTFIX_VERSION() of the Postfix that
 *            asks, 2.10 (socketmap) or later
 * @param[in] flags 0 or MTASTS_POSTFIX_F_TEMP
 * @return 0, MTASTS_ERANGE, MTASTS_EINVAL (flag, version before 2.10 or
 *         above 255.255.255, NULL dst with dst_len > 0), or
 *         MTASTS_ESYNTAX / MTASTS_ENONASCII / MTASTS_ETOOBIG when domain is
 *         not a valid A-label domain (a socketmap server answers
 *         "NOTFOUND " for such keys, for example "[192.0.2.1]:25").
 */
MTASTS_API int mtasts_postfix_answer_format(const mtasts_policy *policy,
                                            const char *domain,
                                            size_t domain_len,
                                            uint32_t postfix_version,
                                            unsigned flags, char *dst,
                                            size_t dst_len, size_t *ret_needed);

/* ------------------------------------------------------------------ */
/* In-memory cache and refresh planner (for long-lived daemons)        */
/* ------------------------------------------------------------------ */

/**
 * A bounded in-memory store of cache entries keyed by policy domain
 * (ASCII case-insensitive, one trailing dot ignored), with O(1) get and
 * put, least-recently-used eviction when the entry count or the byte total
 * would exceed its bounds, garbage collection of entries not used for a
 * while, and a refresh planner. It stores the entry bytes produced by
 * mtasts_lookup_entry() as they are. Not thread-safe: one cache per thread
 * or external locking.
 */
typedef struct mtasts_cache mtasts_cache;

/**
 * Create a cache holding at most max_entries entries and max_bytes bytes
 * of entry data (both at least 1).
 * @return 0, MTASTS_EINVAL, MTASTS_ENOMEM.
 */
MTASTS_API int mtasts_cache_new(mtasts_ctx *ctx, size_t max_entries,
                                size_t max_bytes, mtasts_cache **ret_cache);

/** Free a cache and every entry in it. NULL is allowed. */
MTASTS_API void mtasts_cache_free(mtasts_cache *cache);

/**
 * Look up the entry of a domain and mark it used at now (it becomes the
 * most recently used). On a miss *ret_entry is NULL and *ret_len 0.
 * @param[out] ret_entry borrowed bytes, valid until the next call that
 *             changes the cache (put, remove, gc, free)
 * @return 0 (hit or miss), MTASTS_EINVAL.
 */
MTASTS_API int mtasts_cache_get(mtasts_cache *cache, const char *domain,
                                size_t domain_len, int64_t now,
                                const uint8_t **ret_entry, size_t *ret_len);

/**
 * Insert or replace the entry of a domain (a copy is kept), marking it
 * used at now. refresh_at is when the planner should offer it for a
 * proactive refresh (mtasts_lookup_refresh_at(); 0 = never). Least
 * recently used entries are evicted to stay within the bounds.
 * @return 0, MTASTS_ETOOBIG (entry larger than max_bytes), MTASTS_EINVAL
 *         (bad domain), MTASTS_ENOMEM (the cache is unchanged).
 */
MTASTS_API int mtasts_cache_put(mtasts_cache *cache, const char *domain,
                                size_t domain_len, const uint8_t *entry,
                                size_t entry_len, int64_t refresh_at,
                                int64_t now);

/** Remove the entry of a domain if present. @return 0, MTASTS_EINVAL. */
MTASTS_API int mtasts_cache_remove(mtasts_cache *cache, const char *domain,
                                   size_t domain_len);

/**
 * Apply what a finished lookup says about its entry: store it with its
 * refresh time, delete it, or (nothing to store) update the refresh time
 * of the entry held. Applying is not a use: an entry already held keeps
 * its last use (set by mtasts_cache_get()), so domains that only a
 * refresher looks up still age out of mtasts_cache_gc() and the planner;
 * a new entry counts as used at now.
 * @return 0, MTASTS_ESTATE (lookup not done), MTASTS_ETOOBIG,
 *         MTASTS_EINVAL, MTASTS_ENOMEM.
 */
MTASTS_API int mtasts_cache_apply(mtasts_cache *cache,
                                  const mtasts_lookup *lookup, int64_t now);

/** Number of entries. */
MTASTS_API size_t mtasts_cache_count(const mtasts_cache *cache);

/** Bytes of entry data held. */
MTASTS_API size_t mtasts_cache_bytes(const mtasts_cache *cache);

/** Remove every entry not used since now - unused_for; returns how many
 * were removed. */
MTASTS_API size_t mtasts_cache_gc(mtasts_cache *cache, int64_t now,
                                  int64_t unused_for);

/**
 * Refresh planner: the domain due first for a proactive refresh, among
 * entries used since now - used_within (domains nobody sends to any more
 * are not refreshed). Each domain's time is moved earlier by a stable
 * per-domain jitter of up to jitter seconds, so refreshes of many domains
 * do not all fall due at once. Writes the domain with snprintf semantics
 * and its due time to *ret_due (which may be later than now: nothing is
 * due yet). Runs in O(entries).
 * @return 0, MTASTS_ERANGE, MTASTS_EINVAL, or MTASTS_NONE (not an error)
 *         when no entry qualifies (ret_needed is then 0, dst "").
 */
MTASTS_API int mtasts_cache_next_refresh(mtasts_cache *cache, int64_t now,
                                         int64_t used_within, int64_t jitter,
                                         char *dst, size_t dst_len,
                                         size_t *ret_needed, int64_t *ret_due);

/* ================================================================== */
/* SMTP TLS Reporting (RFC 8460)                                       */
/* ================================================================== */

/* ------------------------------------------------------------------ */
/* Byte buffers returned by the library                                */
/* ------------------------------------------------------------------ */

/** An immutable byte buffer made by the library (a gzip stream, a report,
 * a message). The data is followed by a NUL that is not counted. */
typedef struct mtasts_buf mtasts_buf;

/** The bytes (borrowed, valid until mtasts_buf_free()); NULL for NULL. */
MTASTS_API const uint8_t *mtasts_buf_data(const mtasts_buf *buf,
                                          size_t *ret_len);

/** Free a buffer. NULL is allowed. */
MTASTS_API void mtasts_buf_free(mtasts_buf *buf);

/* ------------------------------------------------------------------ */
/* gzip (RFC 1952) with a DEFLATE (RFC 1951) writer and inflater       */
/* ------------------------------------------------------------------ */

/** Default output cap of report decompression, 10 MiB (RPT-JSON-21). */
#define MTASTS_GUNZIP_MAX_DEFAULT 10485760

/**
 * Compress with gzip framing. The header has mtime 0 and no name, so equal
 * inputs give equal bytes (RPT-AGG-15). level 1 (fastest) to 9 (smallest);
 * 0 writes stored blocks.
 * @return 0, MTASTS_EINVAL (bad level, NULL pointers), MTASTS_ENOMEM.
 * Ownership: free *ret_out with mtasts_buf_free().
 */
MTASTS_API int mtasts_gzip(mtasts_ctx *ctx, const uint8_t *in, size_t in_len,
                           int level, mtasts_buf **ret_out);

/**
 * Decompress one gzip member (RFC 1952; FEXTRA, FNAME, FCOMMENT and FHCRC
 * honoured), never producing more than max_out bytes: MTASTS_ETOOBIG as
 * soon as the cap would be passed (bomb protection). CRC-32 and ISIZE are
 * checked; bytes after the member are an error. Never reads past in_len.
 * @return 0, MTASTS_ESYNTAX (bad header, bad DEFLATE data, truncated
 *         input, CRC or size mismatch; reterr gives the input offset),
 *         MTASTS_ETOOBIG, MTASTS_EINVAL, MTASTS_EVERSION (reterr version),
 *         MTASTS_ENOMEM.
 * Ownership: free *ret_out with mtasts_buf_free().
 */
MTASTS_API int mtasts_gunzip(mtasts_ctx *ctx, const uint8_t *in, size_t in_len,
                             size_t max_out, mtasts_buf **ret_out,
                             struct mtasts_diag *reterr);

/* ------------------------------------------------------------------ */
/* _smtp._tls TXT record (RFC 8460 section 3)                          */
/* ------------------------------------------------------------------ */

typedef struct mtasts_tlsrpt_record mtasts_tlsrpt_record;

/**
 * Kinds of rua URI (mtasts_tlsrpt_record_rua_kind()).
 */
typedef enum mtasts_rua_kind {
    /** unusable: another scheme, or no address */
    MTASTS_RUA_OTHER = 0,
    /** mailto: with a usable address */
    MTASTS_RUA_MAILTO = 1,
    /** https: */
    MTASTS_RUA_HTTPS = 2
} mtasts_rua_kind;

/** "_smtp._tls." + norm(domain) (RPT-TXT-1). snprintf semantics.
 * @return as mtasts_sts_txt_name(). */
MTASTS_API int mtasts_tlsrpt_txt_name(const char *domain, size_t len, char *dst,
                                      size_t dst_len, size_t *ret_needed);

/**
 * Parse one _smtp._tls TXT record (strings already joined): the version
 * "v=TLSRPTv1", a rua list of RFC 3986 URIs separated by *WSP "," *WSP
 * (",", "!" and ";" inside a URI must be percent-encoded), extensions kept
 * in order; for a duplicated rua the first wins (a warning). URIs that
 * parse but cannot be used give warnings (E-20).
 * @return as mtasts_sts_record_parse().
 * Ownership: free *ret_rec with mtasts_tlsrpt_record_free().
 */
MTASTS_API int mtasts_tlsrpt_record_parse(mtasts_ctx *ctx, const char *buf,
                                          size_t len, unsigned flags,
                                          mtasts_tlsrpt_record **ret_rec,
                                          struct mtasts_diag *reterr);

/** Select the TLSRPT record from a TXT RRset, as
 * mtasts_sts_record_select() does for MTA-STS: candidates start with
 * "v=TLSRPTv1" *WSP ";" (E-2); exactly one must remain (RPT-TXT-8). */
MTASTS_API int mtasts_tlsrpt_record_select(
    mtasts_ctx *ctx, const char *const *strs, const size_t *str_lens,
    const size_t *rr_nstr, size_t rr_count, unsigned flags, int *ret_outcome,
    mtasts_tlsrpt_record **ret_rec, struct mtasts_diag *reterr);

/**
 * Build a record from URIs as they should be used (not percent-encoded):
 * ",", "!" and ";" are percent-encoded when serialized (RPT-TXT-6).
 * @return 0, MTASTS_ESYNTAX (count is 0, or an entry is not a URI: reterr
 *         offset is its index), MTASTS_ETOOBIG, MTASTS_EINVAL,
 *         MTASTS_ENOMEM.
 */
MTASTS_API int mtasts_tlsrpt_record_build(mtasts_ctx *ctx,
                                          const char *const *uris,
                                          const size_t *uri_lens, size_t count,
                                          mtasts_tlsrpt_record **ret_rec,
                                          struct mtasts_diag *reterr);

/** Free a record. NULL is allowed. */
MTASTS_API void mtasts_tlsrpt_record_free(mtasts_tlsrpt_record *rec);

/** Number of rua URIs, in record order. */
MTASTS_API size_t
mtasts_tlsrpt_record_rua_count(const mtasts_tlsrpt_record *rec);

/** rua URI i as written in the record (borrowed, NUL-terminated), or NULL
 * when i is out of range. */
MTASTS_API const char *mtasts_tlsrpt_record_rua(const mtasts_tlsrpt_record *rec,
                                                size_t i, size_t *ret_len);

/** The mtasts_rua_kind value of URI i (MTASTS_RUA_OTHER when out of
 * range). */
MTASTS_API int mtasts_tlsrpt_record_rua_kind(const mtasts_tlsrpt_record *rec,
                                             size_t i);

/** Where reports for URI i go: for mailto the percent-decoded address
 * without hfields (RPT-TXT-11), for https the URI as written; NULL for an
 * unusable URI. Borrowed, NUL-terminated. */
MTASTS_API const char *
mtasts_tlsrpt_record_rua_target(const mtasts_tlsrpt_record *rec, size_t i,
                                size_t *ret_len);

/** Number of extension fields. */
MTASTS_API size_t
mtasts_tlsrpt_record_ext_count(const mtasts_tlsrpt_record *rec);

/** Extension i (borrowed, NUL-terminated). @return 0 or MTASTS_EINVAL. */
MTASTS_API int mtasts_tlsrpt_record_ext(const mtasts_tlsrpt_record *rec,
                                        size_t i, const char **ret_name,
                                        size_t *ret_name_len,
                                        const char **ret_value,
                                        size_t *ret_value_len);

/** Warning mask (MTASTS_WARN_BIT) of the parse that made rec. */
MTASTS_API uint64_t
mtasts_tlsrpt_record_warnings(const mtasts_tlsrpt_record *rec);

/** Serialize: "v=TLSRPTv1; rua=<u1>,<u2>", then "; name=value" per
 * extension, no trailing ";" (RPT-TXT-12). snprintf semantics.
 * @return 0, MTASTS_ERANGE, MTASTS_EINVAL. */
MTASTS_API int mtasts_tlsrpt_record_format(const mtasts_tlsrpt_record *rec,
                                           char *dst, size_t dst_len,
                                           size_t *ret_needed);

/* ------------------------------------------------------------------ */
/* TLSRPT reports: JSON in and out (RFC 8460 section 4)                */
/* ------------------------------------------------------------------ */

/**
 * A TLS report: the model of RFC 8460 section 4.4 with a presence state
 * per optional member (absent members read as NULL / 0 counts), unknown
 * policy and result types kept with their text, and the diagnostics of the
 * parse with JSON paths. Immutable once made.
 */
typedef struct mtasts_tlsrpt_report mtasts_tlsrpt_report;

/**
 * Policy types of a report (mtasts_tlsrpt_report_policy_type()).
 */
typedef enum mtasts_policy_type {
    /** an unregistered type: its text is the MTASTS_RF_POLICY_TYPE member */
    MTASTS_POLICY_TYPE_UNKNOWN = 0,
    /** sts */
    MTASTS_POLICY_TYPE_STS = 1,
    /** tlsa */
    MTASTS_POLICY_TYPE_TLSA = 2,
    /** no-policy-found */
    MTASTS_POLICY_TYPE_NO_POLICY_FOUND = 3
} mtasts_policy_type;

/**
 * Text members of a report (mtasts_tlsrpt_report_text()); i is the policy
 * index, j the index within that policy's list (policy-string, mx-host or
 * failure-details).
 */
typedef enum mtasts_report_text_field {
    /** organization-name */
    MTASTS_RF_ORGANIZATION = 1,
    /** contact-info (NULL when absent) */
    MTASTS_RF_CONTACT = 2,
    /** report-id */
    MTASTS_RF_REPORT_ID = 3,
    /** (i) policy-type as written */
    MTASTS_RF_POLICY_TYPE = 4,
    /** (i) policy-domain */
    MTASTS_RF_POLICY_DOMAIN = 5,
    /** (i, j) policy-string element */
    MTASTS_RF_POLICY_STRING = 6,
    /** (i, j) mx-host element */
    MTASTS_RF_MX_HOST = 7,
    /** (i, j) result-type as written */
    MTASTS_RF_RESULT_TYPE = 8,
    /** (i, j) sending-mta-ip */
    MTASTS_RF_SENDING_IP = 9,
    /** (i, j) receiving-mx-hostname */
    MTASTS_RF_RECEIVING_MX = 10,
    /** (i, j) receiving-mx-helo */
    MTASTS_RF_RECEIVING_HELO = 11,
    /** (i, j) receiving-ip */
    MTASTS_RF_RECEIVING_IP = 12,
    /** (i, j) additional-information */
    MTASTS_RF_ADDITIONAL = 13,
    /** (i, j) failure-reason-code */
    MTASTS_RF_REASON_CODE = 14
} mtasts_report_text_field;

/**
 * Counts of a report (mtasts_tlsrpt_report_count()).
 */
typedef enum mtasts_report_count_field {
    /** policies */
    MTASTS_RC_POLICIES = 1,
    /** (i) policy-string elements */
    MTASTS_RC_POLICY_STRINGS = 2,
    /** (i) mx-host elements */
    MTASTS_RC_MX_HOSTS = 3,
    /** (i) failure-details entries */
    MTASTS_RC_DETAILS = 4
} mtasts_report_count_field;

/**
 * Numbers of a report (mtasts_tlsrpt_report_number()).
 */
typedef enum mtasts_report_number_field {
    /** date-range start, Unix seconds */
    MTASTS_RN_START_TIME = 1,
    /** date-range end, Unix seconds */
    MTASTS_RN_END_TIME = 2,
    /** (i) total-successful-session-count */
    MTASTS_RN_SUCCESS_COUNT = 3,
    /** (i) total-failure-session-count */
    MTASTS_RN_FAILURE_COUNT = 4,
    /** (i, j) failed-session-count */
    MTASTS_RN_FAILED_SESSIONS = 5
} mtasts_report_number_field;

/**
 * Flags of mtasts_tlsrpt_report_format().
 */
typedef enum mtasts_json_flag {
    /** 2-space indentation, one member a line */
    MTASTS_JSON_F_PRETTY = 0x1
} mtasts_json_flag;

/**
 * Parse a report: JSON (RFC 8259, I-JSON rules of RFC 7493: UTF-8, no
 * duplicate member names, integers within 2^53-1, no lone surrogates), or
 * a gzip stream of it (magic 1f 8b, inflated up to
 * MTASTS_LIMIT_GUNZIP_SIZE) unless MTASTS_PARSE_F_NO_GZIP. The reader is
 * written for this job: no recursion, limits on size, depth, string length
 * and array length (MTASTS_LIMIT_JSON_*), and it builds the report model
 * directly, without a DOM. Tolerated quirks (E-4, E-5, E-6, E-17, E-18,
 * E-19, null optional members, a policy without policy-domain, malformed
 * IPs, host names or URIs kept as text, TLSA records packed into one
 * string, a date-range that ends before it starts) each give a warning
 * with the JSON path of the member (mtasts_tlsrpt_report_diag());
 * MTASTS_PARSE_F_STRICT rejects the first with MTASTS_ESTRICT, reason
 * MTASTS_R_STRICT, its offset, and its bit in reterr->warnings. A name or
 * an address (policy-domain, mx-host, receiving-mx-hostname,
 * receiving-mx-helo, sending-mta-ip, receiving-ip) holding U+0000 is
 * refused in every mode (MTASTS_ESYNTAX, MTASTS_R_CTL): a NUL-terminated
 * getter would show a shorter, other name. Unknown members are ignored;
 * unknown policy and result types are kept.
 * @return 0, MTASTS_ESYNTAX (JSON or model error: reterr gives the
 *         offset and line in the JSON text, after decompression),
 *         MTASTS_ETOOBIG, MTASTS_ESTRICT, MTASTS_EVERSION, MTASTS_EINVAL,
 *         MTASTS_ENOMEM.
 * Ownership: free *ret_report with mtasts_tlsrpt_report_free().
 */
MTASTS_API int mtasts_tlsrpt_report_parse(mtasts_ctx *ctx, const uint8_t *buf,
                                          size_t len, unsigned flags,
                                          mtasts_tlsrpt_report **ret_report,
                                          struct mtasts_diag *reterr);

/** Free a report. NULL is allowed. */
MTASTS_API void mtasts_tlsrpt_report_free(mtasts_tlsrpt_report *report);

/** A text member (field: an mtasts_report_text_field value; borrowed,
 * NUL-terminated, UTF-8), or NULL when it is absent or an index is out of
 * range. Free text (organization, report-id, additional-information...) may
 * hold U+0000: use *ret_len. Names and addresses never hold it (the parser
 * refuses them). */
MTASTS_API const char *
mtasts_tlsrpt_report_text(const mtasts_tlsrpt_report *report, int field,
                          size_t i, size_t j, size_t *ret_len);

/** A count (what: an mtasts_report_count_field value), 0 when an index is out
 * of range. */
MTASTS_API size_t mtasts_tlsrpt_report_count(const mtasts_tlsrpt_report *report,
                                             int what, size_t i);

/** A number (what: an mtasts_report_number_field value), 0 when absent or out
 * of range. Times are normalised to UTC. */
MTASTS_API int64_t mtasts_tlsrpt_report_number(
    const mtasts_tlsrpt_report *report, int what, size_t i, size_t j);

/** The mtasts_policy_type value of policy i. */
MTASTS_API int
mtasts_tlsrpt_report_policy_type(const mtasts_tlsrpt_report *report, size_t i);

/** The mtasts_result_type value of failure detail j of policy i;
 * MTASTS_RESULT_NONE for an unregistered type (its text:
 * MTASTS_RF_RESULT_TYPE). */
MTASTS_API int
mtasts_tlsrpt_report_result_type(const mtasts_tlsrpt_report *report, size_t i,
                                 size_t j);

/** Warning mask (MTASTS_WARN_BIT) of the parse that made report. */
MTASTS_API uint64_t
mtasts_tlsrpt_report_warnings(const mtasts_tlsrpt_report *report);

/** Number of warnings with their JSON paths. */
MTASTS_API size_t
mtasts_tlsrpt_report_diag_count(const mtasts_tlsrpt_report *report);

/** Warning i: its mtasts_warning value and the JSON path of the member it is
 * about
 * ("policies[0].policy.mx-host"; borrowed, NUL-terminated).
 * @return 0 or MTASTS_EINVAL. */
MTASTS_API int mtasts_tlsrpt_report_diag(const mtasts_tlsrpt_report *report,
                                         size_t i, int *ret_warning,
                                         const char **ret_path,
                                         size_t *ret_path_len);

/**
 * Serialize canonically (RFC 8460 4.4 member names and order, mx-host and
 * policy-string as arrays, UTC dates with Z, absent optional members left
 * out, failure-details always present), compact unless MTASTS_JSON_F_PRETTY,
 * so that parse -> serialize -> parse is stable (RPT-JSON-21).
 * @return 0, MTASTS_EINVAL, MTASTS_ENOMEM.
 * Ownership: free *ret_json with mtasts_buf_free().
 */
MTASTS_API int mtasts_tlsrpt_report_format(const mtasts_tlsrpt_report *report,
                                           unsigned flags,
                                           mtasts_buf **ret_json);

/* ------------------------------------------------------------------ */
/* TLSRPT aggregation: the sending side (RFC 8460 section 4)           */
/* ------------------------------------------------------------------ */

/** An applied policy: the key of one policies[] element of a report
 * (policy-type, policy-string, policy-domain, mx-host; RPT-AGG-3). Equal
 * policies always aggregate together. Immutable. */
typedef struct mtasts_tlsrpt_policy mtasts_tlsrpt_policy;

/**
 * The applied MTA-STS policy of a domain (RPT-AGG-11): policy-string is
 * the policy's non-blank raw lines in order, mx-host its mx patterns. A
 * policy whose mode is none is reported as no-policy-found (RPT-AGG-13):
 * this function then makes that key instead.
 * @return 0, MTASTS_EINVAL, MTASTS_ESYNTAX / MTASTS_ENONASCII /
 *         MTASTS_ETOOBIG (bad domain), MTASTS_ENOMEM.
 */
MTASTS_API int
mtasts_tlsrpt_policy_build_sts(mtasts_ctx *ctx, const char *domain,
                               size_t domain_len, const mtasts_policy *policy,
                               mtasts_tlsrpt_policy **ret_policy);

/**
 * An applied DANE policy of count TLSA records (RPT-AGG-12): each record
 * i is (usage[i], selector[i], mtype[i], data[i] of data_lens[i] bytes),
 * written "U S M HEX" with upper-case hex. domain is the policy-domain the
 * caller reports it under (E-14).
 * @return as mtasts_tlsrpt_policy_build_sts(); MTASTS_EINVAL when count is 0.
 */
MTASTS_API int mtasts_tlsrpt_policy_build_tlsa(
    mtasts_ctx *ctx, const char *domain, size_t domain_len,
    const uint8_t *usage, const uint8_t *selector, const uint8_t *mtype,
    const uint8_t *const *data, const size_t *data_lens, size_t count,
    mtasts_tlsrpt_policy **ret_policy);

/** No policy for the domain (no-policy-found, RPT-AGG-13).
 * @return as mtasts_tlsrpt_policy_build_sts(). */
MTASTS_API int
mtasts_tlsrpt_policy_build_none(mtasts_ctx *ctx, const char *domain,
                                size_t domain_len,
                                mtasts_tlsrpt_policy **ret_policy);

/** Free a policy key. NULL is allowed. */
MTASTS_API void mtasts_tlsrpt_policy_free(mtasts_tlsrpt_policy *policy);

/** Version of struct mtasts_tlsrpt_failure (a plain constant). Version 2
 * gives every string a length; version 1 (NUL-terminated strings) is
 * refused with MTASTS_EVERSION. */
#define MTASTS_FAILURE_VERSION 2

/**
 * One failure of a session, filled by the caller (copied by the library).
 * Every string is UTF-8 given as (pointer, length), need not be
 * NUL-terminated, and is NULL when unknown (its length is then ignored);
 * an empty string is refused.
 */
struct mtasts_tlsrpt_failure {
    unsigned version; /**< MTASTS_FAILURE_VERSION */
    /** an mtasts_result_type value; MTASTS_RESULT_NONE: use result_text
     * (RPT-JSON-19) */
    int result_type;
    /** an unregistered result type, or NULL */
    const char *result_text;
    size_t result_text_len;
    /** sending-mta-ip */
    const char *sending_ip;
    size_t sending_ip_len;
    /** receiving-mx-hostname */
    const char *receiving_mx;
    size_t receiving_mx_len;
    /** receiving-mx-helo */
    const char *receiving_helo;
    size_t receiving_helo_len;
    /** receiving-ip */
    const char *receiving_ip;
    size_t receiving_ip_len;
    /** failure-reason-code */
    const char *reason_code;
    size_t reason_code_len;
    /** additional-information (a URI) */
    const char *additional;
    size_t additional_len;
};

/**
 * Session outcomes (the outcome parameter of mtasts_tlsrpt_agg_add()).
 */
typedef enum mtasts_session_outcome {
    /** policy-compliant TLS (RPT-AGG-4) */
    MTASTS_SESSION_SUCCESS = 1,
    /** a failed session (RPT-AGG-5) */
    MTASTS_SESSION_FAILURE = 2,
    /** connect failure, timeout before TLS: never counted (RPT-AGG-9) */
    MTASTS_SESSION_TRANSIENT = 3
} mtasts_session_outcome;

/**
 * Flags of mtasts_tlsrpt_agg_add() and mtasts_tlsrpt_agg_add_n().
 */
typedef enum mtasts_session_flag {
    /** the session delivered a TLS report: not counted (no report loops) */
    MTASTS_SESSION_F_TLSRPT_REPORT = 0x1
} mtasts_session_flag;

/** Aggregated TLS session results, keyed by (policy domain, UTC day),
 * then by applied policy (RPT-AGG-1..3). Not thread-safe: one per thread,
 * merged later. */
typedef struct mtasts_tlsrpt_agg mtasts_tlsrpt_agg;

/**
 * Options of an aggregate (mtasts_tlsrpt_agg_set()). Values 200-299: they
 * never overlap mtasts_limit or mtasts_option values.
 */
typedef enum mtasts_agg_option {
    /** memory bound, default 64 MiB: mtasts_tlsrpt_agg_add() then returns
     * MTASTS_ETOOBIG for a new key */
    MTASTS_AGG_MAX_BYTES = 200,
    /** failure-details entries kept per policy, default 1000; more sessions
     * are still counted in the summary (truncation never changes counts) */
    MTASTS_AGG_MAX_DETAILS = 201,
    /** 1: (domain, day) keys without any failure are not reported */
    MTASTS_AGG_FAILURES_ONLY = 202
} mtasts_agg_option;

/** Create an aggregate. @return 0, MTASTS_EINVAL, MTASTS_ENOMEM. */
MTASTS_API int mtasts_tlsrpt_agg_new(mtasts_ctx *ctx,
                                     mtasts_tlsrpt_agg **ret_agg);

/** Free an aggregate. NULL is allowed. */
MTASTS_API void mtasts_tlsrpt_agg_free(mtasts_tlsrpt_agg *agg);

/** Set an option (option: an mtasts_agg_option value, MTASTS_AGG_*).
 * @return 0 or MTASTS_EINVAL (unknown option, value out of range). */
MTASTS_API int mtasts_tlsrpt_agg_set(mtasts_tlsrpt_agg *agg, int option,
                                     int64_t value);

/**
 * Count one session under policy at time when (its UTC day, RPT-AGG-1).
 * outcome is an mtasts_session_outcome value, flags 0 or
 * MTASTS_SESSION_F_TLSRPT_REPORT.
 * A success adds to total-successful-session-count, a failure to
 * total-failure-session-count once however many details it has; each
 * detail adds one to its failure-details entry, entries being grouped by
 * all their members (RPT-AGG-5/6). A success may carry details too: a
 * discovery failure (sts-policy-fetch-error...) that lasted while the
 * session succeeded (RPT-AGG-8). Transient outcomes and sessions with
 * MTASTS_SESSION_F_TLSRPT_REPORT change nothing.
 * @return 0, MTASTS_EINVAL, MTASTS_EVERSION (failure version),
 *         MTASTS_ESYNTAX (a detail member is malformed: an IP, a host),
 *         MTASTS_ETOOBIG (memory bound), MTASTS_ENOMEM (nothing counted).
 */
MTASTS_API int
mtasts_tlsrpt_agg_add(mtasts_tlsrpt_agg *agg,
                      const mtasts_tlsrpt_policy *policy, int64_t when,
                      int outcome, const struct mtasts_tlsrpt_failure *failures,
                      size_t failure_count, unsigned flags);

/** The largest count a report can carry, 2^53-1 (RPT-AGG-14), and so the
 * most sessions one mtasts_tlsrpt_agg_add_n() call may count. */
#define MTASTS_TLSRPT_COUNT_MAX UINT64_C(9007199254740991)

/**
 * Count a run of equal sessions (sessions of them) in one step, in a time
 * that does not depend on sessions. The result is the same as that of
 * sessions calls of mtasts_tlsrpt_agg_add() with the other arguments: the
 * summary and each failure-details entry (unless truncated) get sessions
 * more. Counters saturate at 2^64-1 and are written saturated at 2^53-1,
 * as with single adds (RPT-AGG-14).
 * @return as mtasts_tlsrpt_agg_add(); MTASTS_EINVAL when sessions is 0,
 *         MTASTS_ETOOBIG when it is above MTASTS_TLSRPT_COUNT_MAX
 *         (nothing counted).
 */
MTASTS_API int mtasts_tlsrpt_agg_add_n(
    mtasts_tlsrpt_agg *agg, const mtasts_tlsrpt_policy *policy, int64_t when,
    int outcome, const struct mtasts_tlsrpt_failure *failures,
    size_t failure_count, unsigned flags, uint64_t sessions);

/** Add every count of src to dst (exact; RPT-AGG merge).
 * @return 0, MTASTS_EINVAL, MTASTS_ETOOBIG, MTASTS_ENOMEM (dst unchanged). */
MTASTS_API int mtasts_tlsrpt_agg_merge(mtasts_tlsrpt_agg *dst,
                                       const mtasts_tlsrpt_agg *src);

/** Encode an aggregate as versioned bytes, to store it or merge it
 * elsewhere with mtasts_tlsrpt_agg_decode() (formerly _export).
 * @return 0, MTASTS_EINVAL, MTASTS_ENOMEM. */
MTASTS_API int mtasts_tlsrpt_agg_encode(const mtasts_tlsrpt_agg *agg,
                                        mtasts_buf **ret_bytes);

/** Decode bytes of mtasts_tlsrpt_agg_encode() and merge their counts into
 * agg (formerly _import; decoded defensively). Encodings carry a
 * CRC-32 (format version 2): altered bytes are refused with
 * MTASTS_ECORRUPT before anything is decoded; version 1 exports (no
 * check) are still read.
 * @return 0, MTASTS_ECORRUPT, MTASTS_ESYNTAX, MTASTS_EVERSION,
 *         MTASTS_ETOOBIG, MTASTS_EINVAL, MTASTS_ENOMEM (agg unchanged on
 *         any error). */
MTASTS_API int mtasts_tlsrpt_agg_decode(mtasts_tlsrpt_agg *agg,
                                        const uint8_t *buf, size_t len);

/** Number of (policy domain, day) keys held. */
MTASTS_API size_t mtasts_tlsrpt_agg_count(const mtasts_tlsrpt_agg *agg);

/** Key i, in a stable order (day, then domain): the domain (borrowed,
 * NUL-terminated) and the day (Unix seconds of 00:00:00Z).
 * @return 0 or MTASTS_EINVAL. */
MTASTS_API int mtasts_tlsrpt_agg_key(const mtasts_tlsrpt_agg *agg, size_t i,
                                     const char **ret_domain,
                                     size_t *ret_domain_len, int64_t *ret_day);

/**
 * The report of one (domain, day) key: organization-name org, contact-info
 * contact (an RFC 5322 addr-spec, RPT-JSON-6), report-id report_id (must be
 * dot-atom-text, RPT-JSON-7; see mtasts_tlsrpt_report_id_generate()),
 * date-range the whole UTC day (RPT-JSON-5; day may be any time of it),
 * policies in a stable order. Counts above 2^53-1 are written saturated, with
 * the warning MTASTS_W_COUNTER_SATURATED in the report (RPT-AGG-14); a
 * certificate-not-trusted or validation-failure entry without a reason
 * code gives MTASTS_W_NO_REASON_CODE (RPT-JSON-18, a SHOULD).
 * @return 0, MTASTS_NONE (not an error: no such key, or only successes
 *         with MTASTS_AGG_FAILURES_ONLY; no report), MTASTS_ESYNTAX (bad
 *         contact or id), MTASTS_EINVAL, MTASTS_ENOMEM.
 * Ownership: free *ret_report with mtasts_tlsrpt_report_free().
 */
MTASTS_API int mtasts_tlsrpt_report_build(
    const mtasts_tlsrpt_agg *agg, const char *domain, size_t domain_len,
    int64_t day, const char *org, size_t org_len, const char *contact,
    size_t contact_len, const char *report_id, size_t report_id_len,
    mtasts_tlsrpt_report **ret_report);

/** Forget a key once its report is made (day may be any time of that
 * UTC day). @return 0, MTASTS_NONE (not an error: no such key), or
 * MTASTS_EINVAL. */
MTASTS_API int mtasts_tlsrpt_agg_remove(mtasts_tlsrpt_agg *agg,
                                        const char *domain, size_t domain_len,
                                        int64_t day);

/**
 * A report-id for (day, policy domain) from a caller's random value:
 * dot-atom-text, unique per random value (RPT-JSON-7), e.g.
 * "20160401.example.com.1a2b3c4d5e6f7081". snprintf semantics.
 * @return 0, MTASTS_ERANGE, MTASTS_EINVAL, or a domain error.
 */
MTASTS_API int mtasts_tlsrpt_report_id_generate(int64_t day, const char *domain,
                                                size_t domain_len,
                                                uint64_t random, char *dst,
                                                size_t dst_len,
                                                size_t *ret_needed);

/** When to generate the report of a day: after its end, plus a delay of
 * 1 + random % 14400 seconds (RPT-DELIV-14). */
MTASTS_API int64_t mtasts_tlsrpt_generation_time(int64_t day, uint32_t random);

/* ------------------------------------------------------------------ */
/* TLSRPT delivery form (RFC 8460 section 5)                           */
/* ------------------------------------------------------------------ */

/** Version of struct mtasts_tlsrpt_filename (a plain constant). */
#define MTASTS_FILENAME_VERSION 1

/** The parts of a report file name
 * "sender!policy-domain!begin!end[!unique-id].json[.gz]" (RPT-DELIV-1..3),
 * written by mtasts_tlsrpt_filename_format() and read by
 * mtasts_tlsrpt_filename_parse(). */
struct mtasts_tlsrpt_filename {
    unsigned version; /**< MTASTS_FILENAME_VERSION */
    /** the submitter's domain */
    const char *sender;
    size_t sender_len;
    /** the policy domain */
    const char *policy_domain;
    size_t policy_domain_len;
    /** the report's date-range, Unix seconds */
    int64_t begin;
    int64_t end;
    /** 1*(ALPHA / DIGIT), or NULL for none */
    const char *unique_id;
    size_t unique_id_len;
    /** 1: ".json.gz", 0: ".json" */
    int gzip;
};

/**
 * The report file name of fn (RPT-DELIV-1..3). snprintf semantics.
 * @return 0, MTASTS_ERANGE, MTASTS_ESYNTAX, MTASTS_ENONASCII,
 *         MTASTS_EVERSION (fn->version), MTASTS_EINVAL.
 */
MTASTS_API int
mtasts_tlsrpt_filename_format(const struct mtasts_tlsrpt_filename *fn,
                              char *dst, size_t dst_len, size_t *ret_needed);

/**
 * Parse a report file name into *ret, whose version the caller sets to
 * MTASTS_FILENAME_VERSION. The strings point into name (the one exception
 * to NUL-terminated output: they are spans of the caller's input);
 * unique_id is NULL when there is none.
 * @return 0, MTASTS_ESYNTAX, MTASTS_EVERSION, MTASTS_EINVAL.
 */
MTASTS_API int mtasts_tlsrpt_filename_parse(const char *name, size_t len,
                                            struct mtasts_tlsrpt_filename *ret);

/**
 * The Subject "Report Domain: <d> Submitter: <s> Report-ID: <id@s>"
 * (RPT-DELIV-7): report_id is escaped to dot-atom-text. Unfolded (the
 * message builder folds it). snprintf semantics.
 * @return 0, MTASTS_ERANGE, MTASTS_ESYNTAX, MTASTS_EINVAL.
 */
MTASTS_API int mtasts_tlsrpt_subject_format(
    const char *policy_domain, size_t policy_domain_len, const char *submitter,
    size_t submitter_len, const char *report_id, size_t report_id_len,
    char *dst, size_t dst_len, size_t *ret_needed);

/**
 * Flags of mtasts_tlsrpt_mail_build() and mtasts_tlsrpt_https_body_build().
 */
typedef enum mtasts_deliver_flag {
    /** gzip the report (RPT-DELIV-4) */
    MTASTS_DELIVER_F_GZIP = 0x1
} mtasts_deliver_flag;

/** Version of struct mtasts_tlsrpt_mail_fields (a plain constant). */
#define MTASTS_MAIL_FIELDS_VERSION 1

/** The header values of a report mail (mtasts_tlsrpt_mail_build()). Each
 * string is (pointer, length) and need not be NUL-terminated. */
struct mtasts_tlsrpt_mail_fields {
    unsigned version; /**< MTASTS_MAIL_FIELDS_VERSION */
    /** From: header value */
    const char *from;
    size_t from_len;
    /** To: header value */
    const char *to;
    size_t to_len;
    /** the submitter: the domain of the report's contact-info */
    const char *submitter;
    size_t submitter_len;
    /** Date: an RFC 5322 date-time text */
    const char *date;
    size_t date_len;
    /** Message-ID without <> */
    const char *message_id;
    size_t message_id_len;
};

/**
 * The e-mail carrying a report (RPT-DELIV-5/6/8): headers From, To, Date,
 * Subject, Message-ID, MIME-Version, Content-Type multipart/report;
 * report-type="tlsrpt", TLS-Report-Domain, TLS-Report-Submitter, then a
 * text/plain part and the report as an application/tlsrpt+gzip (or +json)
 * base64 attachment named per mtasts_tlsrpt_filename_format(). CRLF line ends,
 * base64 lines of 76 characters. The submitter must be the domain of the
 * report's contact-info. DKIM signing is the caller's
 * (mtasts_tlsrpt_dkim_headers()).
 * @param[in] fields the header values, each (pointer, length), not
 *            NUL-terminated necessarily; version MTASTS_MAIL_FIELDS_VERSION
 * @param[in] flags 0 or MTASTS_DELIVER_F_GZIP
 * @return 0, MTASTS_ESYNTAX (a header value is unusable: empty, holding a
 *         control character such as CR, LF or NUL, or the submitter is not
 *         the contact-info domain), MTASTS_EVERSION (fields->version),
 *         MTASTS_EINVAL, MTASTS_ENOMEM.
 * Ownership: free *ret_message with mtasts_buf_free().
 */
MTASTS_API int
mtasts_tlsrpt_mail_build(const mtasts_tlsrpt_report *report,
                         const struct mtasts_tlsrpt_mail_fields *fields,
                         unsigned flags, mtasts_buf **ret_message);

/** The header fields a DKIM signature of a report mail should cover
 * (RPT-DELIV-8), colon-separated, for the h= tag. Static. */
MTASTS_API const char *mtasts_tlsrpt_dkim_headers(void);

/**
 * The body and Content-Type of an HTTPS POST of a report (RPT-DELIV-9):
 * application/tlsrpt+gzip with MTASTS_DELIVER_F_GZIP, else +json.
 * @param[out] ret_content_type static, NUL-terminated (may be NULL)
 * @param[out] ret_content_type_len its length (may be NULL)
 * @return 0, MTASTS_EINVAL, MTASTS_ENOMEM.
 */
MTASTS_API int mtasts_tlsrpt_https_body_build(
    const mtasts_tlsrpt_report *report, unsigned flags, mtasts_buf **ret_body,
    const char **ret_content_type, size_t *ret_content_type_len);

/** Payload size above which many receivers refuse a report: 10 MB. */
#define MTASTS_REPORT_WARN_SIZE 10000000

/** 1 when a payload to send (message or HTTPS body) is larger than
 * MTASTS_REPORT_WARN_SIZE, so the sender should warn (RPT-DELIV-15);
 * else 0. */
MTASTS_API int mtasts_tlsrpt_too_large(size_t payload_len);

/** 1 when an HTTPS delivery with this status succeeded (2xx; redirects
 * are not followed, RPT-DELIV-11), else 0. */
MTASTS_API int mtasts_tlsrpt_https_delivered(int http_status);

/** The time of the next delivery attempt after a failed one (RPT-DELIV-13):
 * 5 minutes after the first attempt, then doubling; 0 once the next one
 * would fall more than 24 h after the first. attempt is the number of
 * attempts made so far (1 after the first). */
MTASTS_API int64_t mtasts_tlsrpt_retry_time(int64_t first_attempt,
                                            unsigned attempt);

/**
 * DKIM verdicts for mtasts_tlsrpt_mail_ingest().
 */
typedef enum mtasts_dkim_verdict {
    /** no valid DKIM signature of the reporting domain */
    MTASTS_DKIM_FAIL = 0,
    /** a valid DKIM signature of the reporting domain */
    MTASTS_DKIM_PASS = 1
} mtasts_dkim_verdict;

/**
 * Read a report e-mail (receiving side): the caller's DKIM verdict (dkim,
 * an mtasts_dkim_verdict value) for the reporting domain must be
 * MTASTS_DKIM_PASS (RPT-DELIV-17); the MIME tree
 * is walked (multipart, base64 or 7bit/8bit/quoted-printable) to the
 * application/tlsrpt+gzip or +json part (or a .json / .json.gz
 * attachment), which is decoded and parsed as mtasts_tlsrpt_report_parse()
 * does (flags as there). The JSON is authoritative: *ret_mismatch is 1 when
 * the attachment file name or the Subject disagrees with it (RPT-DELIV-16).
 * @return 0, MTASTS_REFUSED (not an error: DKIM not passed; reterr
 *         reason MTASTS_R_DKIM), MTASTS_ESYNTAX (not a report
 *         mail, or the report is invalid: reterr says why), MTASTS_ETOOBIG,
 *         MTASTS_ESTRICT, MTASTS_EINVAL, MTASTS_ENOMEM.
 */
MTASTS_API int mtasts_tlsrpt_mail_ingest(mtasts_ctx *ctx, const uint8_t *msg,
                                         size_t len, int dkim, unsigned flags,
                                         mtasts_tlsrpt_report **ret_report,
                                         int *ret_mismatch,
                                         struct mtasts_diag *reterr);

#ifdef __cplusplus
}
#endif

#endif /* MTASTS_H */
