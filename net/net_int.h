/*
 * libmtasts-net internals: the contract between net.c (handle, loop,
 * blocking wait, connect-to, lookup driving), dns.c (c-ares) and http.c
 * (libcurl: HTTPS fetch and SMTP STARTTLS probe).
 *
 * Callbacks of dns.c and http.c never run from inside the call that
 * started the request: a result known at once (an immediate failure) is
 * delivered through mtn_defer(). Every callback runs exactly once, also on
 * cancellation (mtn_*_free(): status MTASTS_NET_ECANCELED, NULL result).
 */
#ifndef MTN_NET_INT_H
#define MTN_NET_INT_H

#include <stddef.h>
#include <stdint.h>

#include "mtasts_net.h"

#if defined(__GNUC__)
#define MTN_HIDDEN __attribute__((visibility("hidden")))
#else
#define MTN_HIDDEN
#endif

struct mtn_dns;
struct mtn_http;

/* Owners of a watched socket. */
enum mtn_owner {
    MTN_OWNER_DNS = 1,
    MTN_OWNER_HTTP = 2
};

/* ---- provided by net.c ---- */

/* A module asks to watch fd for what (MTASTS_NET_F_POLL_IN | _OUT) or to
 * stop (MTASTS_NET_F_POLL_REMOVE). net.c forwards it to the caller's loop
 * or its own poll() table, and remembers the owner to dispatch events.
 * 0, or MTASTS_ENOMEM (the fd table could not grow: fail the transfer —
 * curl's socket callback returns -1 — or, for c-ares, whose callback
 * cannot fail, end the channel's running queries with MTASTS_ENOMEM at
 * the next event, which mtn_dns_timeout() makes due at once). */
MTN_HIDDEN int mtn_watch(mtasts_net *net, int owner, int fd, unsigned what);

/* A module's next timeout may have changed: net.c recomputes its timer
 * (the minimum of mtn_dns_timeout(), mtn_http_timeout() and pending
 * deferred calls) when the current entry point returns. */
MTN_HIDDEN void mtn_timer_changed(mtasts_net *net);

/* Run fn(arg) from the next mtasts_net_on_timeout() / wait round (the
 * timer is set to 0), or from mtasts_net_free(). 0 or MTASTS_ENOMEM. */
MTN_HIDDEN int mtn_defer(mtasts_net *net, void (*fn)(void *arg, int cancel),
                         void *arg);

/* A NUL-terminated malloc() copy of the n bytes at s; NULL: no memory. */
MTN_HIDDEN char *mtn_strndup(const char *s, size_t n);

/* ---- provided by dns.c (c-ares) ---- */

/* Textual addresses of a name (A and AAAA): every IPv4 address, then every
 * IPv6 address, each family in the order of the answer (no RFC 6724
 * sorting), so the order is deterministic and a loopback server on
 * 127.0.0.1 is tried first. An IP literal is its own answer (no query);
 * the system's lookup order applies (/etc/hosts, then DNS; "localhost"
 * is never sent to a server). */
struct mtn_addrs {
    int status; /* an mtasts_net_dns_status value */
    size_t count;
    const char *const *addrs; /* "192.0.2.1", "2001:db8::1" */
};
typedef void (*mtn_addrs_cb)(void *user, int status,
                             const struct mtn_addrs *addrs);

/* Servers, timeouts and tries come from config. MTASTS_EINVAL for a
 * malformed dns_servers string (empty, an empty entry, not an IP address,
 * a port outside 1..65535; blanks around entries are allowed),
 * dns_timeout_ms above 86400000 or dns_tries above 100, or an unreadable
 * system resolver configuration. */
MTN_HIDDEN int mtn_dns_new(mtasts_net *net,
                           const struct mtasts_net_config *config,
                           struct mtn_dns **ret_dns);
/* Cancels the running queries (their callbacks run, with
 * MTASTS_NET_ECANCELED, before this returns); a result waiting in the
 * deferred queue is left there, detached, and is cancelled from it. */
MTN_HIDDEN void mtn_dns_free(struct mtn_dns *dns);
/* Start a query. name: a domain name of at most 253 bytes (one trailing
 * dot aside), labels of 1..63 bytes, no NUL, no backslash; otherwise
 * MTASTS_EINVAL. MTASTS_ENOMEM when c-ares ran out of memory inside the
 * call (the callback will not run). MTASTS_ESTATE from a callback run by
 * mtn_dns_free(). */
MTN_HIDDEN int mtn_dns_txt(struct mtn_dns *dns, const char *name,
                           size_t name_len, mtasts_net_txt_cb cb, void *user);
MTN_HIDDEN int mtn_dns_mx(struct mtn_dns *dns, const char *name,
                          size_t name_len, mtasts_net_mx_cb cb, void *user);
MTN_HIDDEN int mtn_dns_addrs(struct mtn_dns *dns, const char *name,
                             size_t name_len, mtn_addrs_cb cb, void *user);
MTN_HIDDEN void mtn_dns_on_socket(struct mtn_dns *dns, int fd, unsigned events);
MTN_HIDDEN void mtn_dns_on_timeout(struct mtn_dns *dns);
/* ms until mtn_dns_on_timeout() is due; -1: nothing pending */
MTN_HIDDEN long mtn_dns_timeout(struct mtn_dns *dns);
/* Requests whose callback has not run yet (deferred results included). */
MTN_HIDDEN size_t mtn_dns_pending(const struct mtn_dns *dns);
/* The outcome of a c-ares status (ARES_*) with nrecords records of the
 * type asked: an mtasts_net_dns_status, or MTASTS_ENOMEM (ARES_ENOMEM) or
 * MTASTS_NET_ECANCELED (ARES_EDESTRUCTION, ARES_ECANCELLED) for the
 * callback's status. The table is at the top of dns.c. */
MTN_HIDDEN int mtn_dns_map_status(int ares_status, size_t nrecords);

/* ---- provided by http.c (libcurl multi) ---- */

/* CA file, connect timeout, probe timeout, HELO name and the connect-to
 * list come from config. */
MTN_HIDDEN int mtn_http_new(mtasts_net *net,
                            const struct mtasts_net_config *config,
                            struct mtn_http **ret_http);
MTN_HIDDEN void mtn_http_free(struct mtn_http *http);
/* resolve: a CURLOPT_RESOLVE entry "HOST2:PORT2:ADDR[,ADDR...]" for the
 * connection's target after connect-to mapping, or NULL when the target
 * is an IP literal. */
MTN_HIDDEN int mtn_http_fetch(struct mtn_http *http, const char *url,
                              size_t url_len, const char *host, size_t host_len,
                              const char *resolve, uint32_t timeout_ms,
                              size_t max_size, mtasts_net_fetch_cb cb,
                              void *user);
MTN_HIDDEN int mtn_http_probe(struct mtn_http *http, const char *mx,
                              size_t mx_len, uint16_t port, const char *resolve,
                              mtasts_net_probe_cb cb, void *user);
MTN_HIDDEN void mtn_http_on_socket(struct mtn_http *http, int fd,
                                   unsigned events);
MTN_HIDDEN void mtn_http_on_timeout(struct mtn_http *http);
MTN_HIDDEN long mtn_http_timeout(struct mtn_http *http);
MTN_HIDDEN size_t mtn_http_pending(const struct mtn_http *http);

/* The one mapping of a libcurl result (a CURLcode) and the OpenSSL verify
 * result (X509_V_*, CURLINFO_SSL_VERIFYRESULT) to a fetch transport
 * (MTASTS_FETCH_*) and a TLS outcome (MTASTS_TLS_*; MTASTS_TLS_NOT_TRIED
 * when the code says nothing of TLS). The table is in http.c and in
 * mtasts_net(3), FAILURE MAPPING. Pure; either out-pointer may be NULL. */
MTN_HIDDEN void mtn_http_map(int curl_code, long verify_result,
                             int *ret_transport, int *ret_tls);

/* A certificate date as libcurl's CERTINFO gives it ("Jan  2 03:04:05
 * 2030 GMT", or "2030-01-02 03:04:05" with an optional zone), in seconds
 * since the epoch; 0 when the text is not such a date. */
MTN_HIDDEN int64_t mtn_http_parse_date(const char *s, size_t len);

/* The connect-to mapping of (host, port) (net.c): writes the target host
 * (NUL-terminated, at most 254 bytes) and port. Returns 1 when an entry
 * matched, 0 when not (target = the original). */
MTN_HIDDEN int mtn_connect_to_map(const mtasts_net *net, const char *host,
                                  size_t host_len, uint16_t port,
                                  char *ret_host, uint16_t *ret_port);

#endif
