/*
 * libmtasts-net: real DNS (c-ares) and HTTPS (libcurl + OpenSSL) for
 * libmtasts, in a blocking and an event-loop style.
 *
 * The core library (mtasts.h) is libc-only and does no I/O: a discovery
 * (mtasts_lookup) asks its caller for a TXT RRset and a policy fetch. This
 * companion library answers those questions with c-ares and libcurl, maps
 * every DNS and TLS/HTTP failure to the core's outcomes in one documented
 * table (mtasts_net(3)), resolves MX hosts and probes an MX with STARTTLS.
 *
 * Rules are those of mtasts.h: 0 or a negative MTASTS_E* status; strings
 * in are (pointer, length); results are borrowed and live until the
 * callback returns (event style) or the next call on the handle (blocking
 * style); ret_* last.
 *
 * Two styles, one implementation:
 *
 *  - Blocking: start requests with the *_start() functions (or use
 *    mtasts_net_lookup() for one discovery), then mtasts_net_wait() runs
 *    them to their end, calling their callbacks, and returns. It poll()s
 *    the handle's own sockets: no loop is needed.
 *  - Event loop: install the caller's loop with mtasts_net_set_loop(),
 *    start any number of requests with the *_start() functions, and feed
 *    socket readiness and timer expiry back with mtasts_net_on_socket() and
 *    mtasts_net_on_timeout() (the libcurl multi_socket model). Completion is
 *    reported through each request's callback, from inside those two calls.
 *
 * A handle in event-loop mode must not be used with the blocking calls.
 *
 * Thread-safety: a handle (mtasts_net) is used by one thread at a time.
 * Distinct handles may be used from different threads at once: c-ares
 * channels and libcurl multi handles are independent, and libcurl's
 * global initialisation is done once, under a mutex, by the first
 * mtasts_net_new() (and tried again by the next one if it failed).
 */
#ifndef MTASTS_NET_H
#define MTASTS_NET_H

#include <stddef.h>
#include <stdint.h>

#include "mtasts.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(MTASTS_NET_BUILDING) && defined(__GNUC__)
#define MTASTS_NET_API __attribute__((visibility("default")))
#else
#define MTASTS_NET_API
#endif

typedef struct mtasts_net mtasts_net;

/** The version of struct mtasts_net_config this header declares. */
#define MTASTS_NET_CONFIG_VERSION 1

/**
 * Configuration of a handle (mtasts_net_new()). Zero means "the default"
 * for every member but version. Strings are copied.
 */
struct mtasts_net_config {
    unsigned version; /**< MTASTS_NET_CONFIG_VERSION */
    /** DNS servers, comma-separated "IP", "IP:PORT", "[IPv6]:PORT"; NULL:
     * the system's (/etc/resolv.conf) */
    const char *dns_servers;
    /** a PEM file of trusted CAs; NULL: the system store */
    const char *ca_file;
    /** curl-style --connect-to entries "HOST:PORT:HOST2:PORT2" (any of the
     * four may be empty: an empty HOST or PORT matches any, an empty HOST2
     * or PORT2 keeps the original). The first entry that matches a
     * connection's (host, port) sends it to (HOST2, PORT2); the TLS name
     * stays the original host. Applies to policy fetches and probes. */
    const char *const *connect_to;
    size_t connect_to_count;
    /** TCP connect timeout, ms (default 10000) */
    uint32_t connect_timeout_ms;
    /** time for the first DNS try, ms (default 2000; at most 86400000);
     * tries: dns_tries (default 3; at most 100). c-ares doubles the time
     * of each further try, so 2000 ms and 3 tries take up to 14 s. */
    uint32_t dns_timeout_ms;
    unsigned dns_tries;
    /** whole STARTTLS probe, ms (default 30000); libcurl counts the
     * greeting, EHLO and STARTTLS as connecting, so this is also the
     * probe's connect timeout (connect_timeout_ms is for fetches) */
    uint32_t probe_timeout_ms;
    /** EHLO name of the probe (default "localhost") */
    const char *helo_name;
};

/**
 * Create a handle.
 * @return 0, MTASTS_EINVAL (a malformed dns_servers or connect_to entry,
 *         an unreadable ca_file), MTASTS_EVERSION, MTASTS_ENOMEM.
 * Ownership: free *ret_net with mtasts_net_free().
 */
MTASTS_NET_API int mtasts_net_new(const struct mtasts_net_config *config,
                                  mtasts_net **ret_net);

/** Free a handle. Requests still running are cancelled: their callbacks run
 * once, with status MTASTS_NET_ECANCELED, before this returns. NULL is
 * allowed. Must not be called from a callback. */
MTASTS_NET_API void mtasts_net_free(mtasts_net *net);

/** Statuses of this library beyond those of mtasts.h. */
typedef enum mtasts_net_status {
    /** the request was cancelled (mtasts_net_free()) */
    MTASTS_NET_ECANCELED = -100,
    /** the request did not finish within its time (blocking calls) */
    MTASTS_NET_ETIMEOUT = -101
} mtasts_net_status;

/** A short text for any status of mtasts.h or of this library. */
MTASTS_NET_API const char *mtasts_net_strerror(int status);

/* ------------------------------------------------------------------ */
/* DNS                                                                 */
/* ------------------------------------------------------------------ */

/**
 * The outcome of one DNS query, finer than the core's mtasts_dns_status.
 */
typedef enum mtasts_net_dns_status {
    /** an answer with at least one record of the type asked */
    MTASTS_NET_DNS_OK = 0,
    /** the name does not exist (RCODE 3) */
    MTASTS_NET_DNS_NXDOMAIN = 1,
    /** the name exists but has no record of the type asked */
    MTASTS_NET_DNS_NODATA = 2,
    /** the server answered SERVFAIL */
    MTASTS_NET_DNS_SERVFAIL = 3,
    /** no answer within the tries */
    MTASTS_NET_DNS_TIMEOUT = 4,
    /** REFUSED, a malformed answer, a network error */
    MTASTS_NET_DNS_ERROR = 5
} mtasts_net_dns_status;

/** Stable name of an mtasts_net_dns_status ("nxdomain"), or NULL. */
MTASTS_NET_API const char *mtasts_net_dns_status_name(int status);

/** The core's mtasts_dns_status for an mtasts_net_dns_status: SERVFAIL,
 * TIMEOUT and ERROR are MTASTS_DNS_TEMPFAIL; MTASTS_EINVAL for a value
 * that is not an mtasts_net_dns_status. */
MTASTS_NET_API int mtasts_net_dns_status_core(int status);

/**
 * A TXT RRset, laid out as mtasts_sts_record_select() and
 * mtasts_lookup_put_txt() take it: rr_count records, record i made of
 * rr_nstr[i] consecutive character-strings of strs/str_lens (each string
 * also NUL-terminated). The character-strings are kept apart.
 */
struct mtasts_net_txt {
    int status; /**< an mtasts_net_dns_status value */
    size_t rr_count;
    const size_t *rr_nstr;
    const char *const *strs;
    const size_t *str_lens;
};

/** One MX record. */
struct mtasts_net_mx_host {
    uint16_t preference;
    const char *host; /**< without the trailing dot; NUL-terminated */
    size_t host_len;
};

/**
 * An MX RRset sorted by preference (ties keep the order of the answer).
 * A "null MX" (RFC 7505: one record, preference 0, host ".") is
 * returned as one host of length 0. With NXDOMAIN or NODATA count is 0
 * and the caller applies RFC 5321 section 5.1 (the domain itself).
 */
struct mtasts_net_mx {
    int status; /**< an mtasts_net_dns_status value */
    size_t count;
    const struct mtasts_net_mx_host *hosts;
};

typedef void (*mtasts_net_txt_cb)(void *user, int status,
                                  const struct mtasts_net_txt *txt);
typedef void (*mtasts_net_mx_cb)(void *user, int status,
                                 const struct mtasts_net_mx *mx);

/**
 * Query the TXT RRset of name (CNAMEs followed). The callback gets status
 * 0 and the answer (whose own status says NXDOMAIN, TIMEOUT...), or a
 * negative status (MTASTS_ENOMEM, MTASTS_NET_ECANCELED) and NULL.
 * @return 0 (the callback will run, never from inside this call),
 *         MTASTS_EINVAL (not a domain name), MTASTS_ENOMEM.
 */
MTASTS_NET_API int mtasts_net_txt_start(mtasts_net *net, const char *name,
                                        size_t name_len, mtasts_net_txt_cb cb,
                                        void *user);
/** Query the MX RRset of domain; as mtasts_net_txt_start(). */
MTASTS_NET_API int mtasts_net_mx_start(mtasts_net *net, const char *domain,
                                       size_t domain_len, mtasts_net_mx_cb cb,
                                       void *user);

/* ------------------------------------------------------------------ */
/* HTTPS policy fetch                                                  */
/* ------------------------------------------------------------------ */

/**
 * The result of one policy fetch: what mtasts_lookup_put_fetch() takes,
 * and what happened for logs and checks.
 */
struct mtasts_net_fetch {
    /** an mtasts_fetch_status value (MTASTS_FETCH_*): the mapping of
     * every failure is the table in mtasts_net(3) */
    int transport;
    /** the HTTP status (0 when no response) */
    int http_status;
    /** the Content-Type header value, NULL when absent */
    const char *content_type;
    size_t content_type_len;
    /** the body (at most max_size bytes; NUL-terminated) */
    const char *body;
    size_t body_len;
    /** the certificate outcome: an mtasts_tls_status value
     * (MTASTS_TLS_OK, _CERT_EXPIRED, _CERT_HOST_MISMATCH,
     * _CERT_UNTRUSTED, _FAILED; MTASTS_TLS_NOT_TRIED when no TLS
     * handshake was reached) */
    int tls;
    /** the server certificate's notAfter, seconds since the epoch (0:
     * unknown) */
    int64_t cert_not_after;
    /** the libcurl code (CURLcode) and OpenSSL verify result (X509_V_*),
     * for logs */
    int curl_code;
    long verify_result;
    /** one line saying what failed ("" on success; NUL-terminated) */
    const char *error;
    /** the address connected to ("" when none), NUL-terminated */
    const char *peer;
    /** wall time of the fetch, ms */
    uint32_t elapsed_ms;
    /** how the connection's target host resolved: an mtasts_net_dns_status
     * value; MTASTS_NET_DNS_OK also when it is an IP literal. Anything
     * else means no connection was tried (transport is
     * MTASTS_FETCH_CONNECT). */
    int resolve_status;
};

typedef void (*mtasts_net_fetch_cb)(void *user, int status,
                                    const struct mtasts_net_fetch *fetch);

/**
 * GET url over HTTPS: TLS 1.2 or later, SNI and certificate check against
 * host, no redirects (a 3xx is returned as such), the connect timeout of
 * the handle and a total of timeout_ms, at most max_size body bytes
 * (checked while the body streams in, chunked or not: one byte more ends
 * the transfer with MTASTS_FETCH_TOO_BIG). The host is resolved through
 * the handle's DNS servers (after --connect-to mapping).
 * The callback gets status 0 and the result, or a negative status and NULL.
 * @return 0, MTASTS_EINVAL, MTASTS_ENOMEM.
 */
MTASTS_NET_API int mtasts_net_fetch_start(mtasts_net *net, const char *url,
                                          size_t url_len, const char *host,
                                          size_t host_len, uint32_t timeout_ms,
                                          size_t max_size,
                                          mtasts_net_fetch_cb cb, void *user);

/* ------------------------------------------------------------------ */
/* STARTTLS probe of an MX                                             */
/* ------------------------------------------------------------------ */

/** The result of a STARTTLS probe. */
struct mtasts_net_probe {
    /** an mtasts_tls_status value: MTASTS_TLS_OK, _NO_STARTTLS,
     * _CERT_HOST_MISMATCH, _CERT_EXPIRED, _CERT_UNTRUSTED, _FAILED (also
     * for no connection: see connected) */
    int tls;
    /** 1 when an SMTP greeting was received */
    int connected;
    int64_t cert_not_after; /**< 0: unknown */
    int curl_code;
    long verify_result;
    /** the negotiated TLS version ("TLSv1.3"; "" when none) */
    const char *tls_version;
    /** one line saying what failed ("" on success) */
    const char *error;
    const char *peer;
    uint32_t elapsed_ms;
    /** as in struct mtasts_net_fetch: not MTASTS_NET_DNS_OK when the MX
     * name did not resolve and no connection was tried */
    int resolve_status;
};

typedef void (*mtasts_net_probe_cb)(void *user, int status,
                                    const struct mtasts_net_probe *probe);

/**
 * Connect to mx on port (25 when 0), read the greeting, EHLO, STARTTLS,
 * and check the certificate against mx (TLS 1.2 or later, the handle's CA
 * store); then QUIT. No mail is sent.
 * @return 0, MTASTS_EINVAL, MTASTS_ENOMEM.
 */
MTASTS_NET_API int mtasts_net_probe_start(mtasts_net *net, const char *mx,
                                          size_t mx_len, uint16_t port,
                                          mtasts_net_probe_cb cb, void *user);

/* ------------------------------------------------------------------ */
/* Driving a discovery                                                 */
/* ------------------------------------------------------------------ */

/** Kinds of mtasts_net_step. */
typedef enum mtasts_net_step_kind {
    /** the TXT answer for _mta-sts.<domain>: txt is set */
    MTASTS_NET_STEP_TXT = 1,
    /** a policy fetch ended: url and fetch are set */
    MTASTS_NET_STEP_FETCH = 2
} mtasts_net_step_kind;

/** One I/O step of a driven lookup, for logs and `mtasts lookup`. */
struct mtasts_net_step {
    int kind;         /**< an mtasts_net_step_kind value */
    const char *name; /**< the TXT name or the URL; NUL-terminated */
    size_t name_len;
    const struct mtasts_net_txt *txt;
    const struct mtasts_net_fetch *fetch;
};

typedef void (*mtasts_net_step_cb)(void *user,
                                   const struct mtasts_net_step *step);
typedef void (*mtasts_net_lookup_cb)(void *user, int status,
                                     mtasts_lookup *lookup);

/**
 * Drive lookup (from mtasts_lookup_new()) to its end: each TXT question
 * is answered by DNS and each fetch by HTTPS. step, when not NULL, is
 * called after each I/O step. The callback gets status 0 (the lookup is
 * done: read its outcome), or a negative status from the core (the lookup
 * is then dead) or MTASTS_NET_ECANCELED. The lookup stays the caller's:
 * it must live until the callback ran.
 * @return 0, MTASTS_EINVAL, MTASTS_ENOMEM.
 */
MTASTS_NET_API int mtasts_net_lookup_start(mtasts_net *net,
                                           mtasts_lookup *lookup,
                                           mtasts_net_step_cb step,
                                           mtasts_net_lookup_cb cb, void *user);

/* ------------------------------------------------------------------ */
/* Blocking style                                                      */
/* ------------------------------------------------------------------ */

/**
 * Run the handle's requests (poll() on its sockets) until none is left or
 * timeout_ms passed (0: no limit). Callbacks run from inside this call.
 * @return 0 (nothing left), MTASTS_NET_ETIMEOUT, MTASTS_EINVAL (event-loop
 *         mode), MTASTS_ENOMEM, MTASTS_ESTATE (requests are pending but
 *         nothing can move them: an internal error, reported rather than
 *         waited on forever).
 */
MTASTS_NET_API int mtasts_net_wait(mtasts_net *net, uint32_t timeout_ms);

/** Blocking mtasts_net_lookup_start() plus mtasts_net_wait(): 0 when the
 * lookup is done, or the negative status the callback would get. */
MTASTS_NET_API int mtasts_net_lookup(mtasts_net *net, mtasts_lookup *lookup,
                                     mtasts_net_step_cb step, void *user);

/* ------------------------------------------------------------------ */
/* Event-loop style                                                    */
/* ------------------------------------------------------------------ */

/** Events of mtasts_net_loop.watch() and mtasts_net_on_socket(). */
typedef enum mtasts_net_poll_flag {
    MTASTS_NET_F_POLL_IN = 0x1,
    MTASTS_NET_F_POLL_OUT = 0x2,
    /** watch: stop watching fd (it may be closed next) */
    MTASTS_NET_F_POLL_REMOVE = 0x4,
    /** on_socket: an error or hang-up on fd */
    MTASTS_NET_F_POLL_ERR = 0x8
} mtasts_net_poll_flag;

#define MTASTS_NET_LOOP_VERSION 1

/**
 * The caller's event loop. watch(fd, what) asks to watch fd for what
 * (MTASTS_NET_F_POLL_IN | _OUT; a new call replaces the previous one for
 * fd) or to stop (MTASTS_NET_F_POLL_REMOVE). timer(ms) asks for one
 * call to mtasts_net_on_timeout() in ms milliseconds (0: as soon as
 * possible), replacing the previous timer; -1 removes it. Both may be
 * called from inside any call on the handle.
 */
struct mtasts_net_loop {
    unsigned version; /**< MTASTS_NET_LOOP_VERSION */
    void (*watch)(void *user, int fd, unsigned what);
    void (*timer)(void *user, long ms);
    void *user;
};

/**
 * Put the handle in event-loop mode. Call before starting any request.
 * @return 0, MTASTS_EVERSION, MTASTS_ESTATE (requests are running),
 *         MTASTS_EINVAL.
 */
MTASTS_NET_API int mtasts_net_set_loop(mtasts_net *net,
                                       const struct mtasts_net_loop *loop);

/** fd is ready: events is MTASTS_NET_F_POLL_* bits. @return 0,
 * MTASTS_EINVAL, MTASTS_ENOMEM. */
MTASTS_NET_API int mtasts_net_on_socket(mtasts_net *net, int fd,
                                        unsigned events);

/** The timer of mtasts_net_loop.timer() expired. @return 0,
 * MTASTS_ENOMEM. */
MTASTS_NET_API int mtasts_net_on_timeout(mtasts_net *net);

/** Number of requests still running. */
MTASTS_NET_API size_t mtasts_net_pending(const mtasts_net *net);

#ifdef __cplusplus
}
#endif

#endif
