/*
 * mtasts-policyd: what the files of the daemon share (not installed).
 *
 *   main.c      command line, start-up, signals, reload, shutdown,
 *               daemonizing, pidfile, privilege drop, sd_notify
 *   config.c    mta-sts-daemon.yml (libyaml) into struct pd_config
 *   server.c    listeners, client connections, the netstring and line
 *               protocols and their limits
 *   resolver.c  answers: the in-memory front (memo), coalesced lookups
 *               over libmtasts-net on the same event_base, proactive
 *               refresh, statistics
 *   cache_mem.c the cache seam (pdcache.h) over the library's bounded
 *               in-memory cache
 *   log.c       one-line key=value logs to stderr or syslog
 */
#ifndef MTASTS_POLICYD_PD_H
#define MTASTS_POLICYD_PD_H

#include <stddef.h>
#include <stdint.h>

#include "mtasts.h"

struct event_base;
struct event;
struct pd_pend;

/* ------------------------------------------------------------------ */
/* log.c                                                               */
/* ------------------------------------------------------------------ */

enum pd_level {
    PD_LOG_ERR = 3,
    PD_LOG_WARNING = 4,
    PD_LOG_NOTICE = 5,
    PD_LOG_INFO = 6,
    PD_LOG_DEBUG = 7
};

/* Where logs go: stderr (with a ts= field) or syslog(3), and the most
 * verbose level written. */
void pd_log_setup(int use_syslog, int max_level);
int pd_log_enabled(int level);

/* One log line being built: "level=... event=..." then fields. Values
 * that are not plain tokens are quoted and escaped, so a line stays one
 * line whatever a client sent. */
struct pd_ll {
    int level;
    size_t len;
    char buf[1536];
};

void pd_ll_begin(struct pd_ll *l, int level, const char *event);
void pd_ll_str(struct pd_ll *l, const char *key, const char *v, size_t n);
void pd_ll_cstr(struct pd_ll *l, const char *key, const char *v);
void pd_ll_int(struct pd_ll *l, const char *key, long long v);
/* text that is already key=value fields (mtasts_lookup_format()) */
void pd_ll_raw(struct pd_ll *l, const char *s, size_t n);
void pd_ll_end(struct pd_ll *l);

/* A one-field message: "level=L event=E msg=..." */
void pd_log_msg(int level, const char *event, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* ------------------------------------------------------------------ */
/* config.c                                                            */
/* ------------------------------------------------------------------ */

struct pd_zone {
    char *name; /* NULL for default_zone */
    int strict_testing;
    double timeout; /* seconds a client waits for a lookup */
    int require_sni;
};

enum pd_cache_type {
    PD_CACHE_INTERNAL = 0,
    PD_CACHE_SQLITE = 1,
    PD_CACHE_REDIS = 2
};

/* A listening socket, as configured. */
struct pd_listen_spec {
    int is_unix;
    int line_only; /* the line protocol only (line_port / line_path) */
    char *host;    /* TCP */
    int port;
    char *path;  /* UNIX */
    int mode;    /* -1: leave as created */
    char *owner; /* "user" or "user:group"; NULL: leave */
    int reuse_port;
};

struct pd_config {
    /* postfix-mta-sts-resolver keys */
    char *host;
    int port;
    char *path;
    int mode; /* -1 when not set */
    int reuse_port;
    double shutdown_timeout;
    double cache_grace;
    int pf_enabled;
    double pf_interval;
    int pf_concurrency;
    double pf_grace_ratio;
    struct pd_zone default_zone;
    struct pd_zone *zones;
    size_t nzones;
    int cache_type;
    size_t cache_size; /* entries of the in-memory front */
    /* cache.options of sqlite (filename, timeout) and redis (url,
     * password, db, socket_timeout, socket_connect_timeout); ours: grace,
     * prefix. 0 / -1 / NULL: the store's default */
    char *sqlite_path;
    int sqlite_timeout_ms;
    char *redis_host;
    int redis_port;
    char *redis_unix;
    char *redis_password;
    int redis_db;
    char *redis_prefix;
    int redis_connect_ms, redis_command_ms;
    double store_grace;

    /* our extensions (mtasts-policyd(8)) */
    char *postfix_version; /* "auto" or a version */
    char *dns_server;      /* comma-separated */
    char *ca_file;
    char **connect_to;
    size_t nconnect_to;
    char *owner; /* of the UNIX socket */
    char *line_host;
    int line_port; /* 0: none */
    char *line_path;
    int line_mode;
    int stats;
    size_t max_connections;
    double idle_timeout;
    double request_timeout;
    size_t max_lookups;
    double fetch_timeout; /* 0: the largest zone timeout */
    int tempfail_no_cache;
    double refresh_used_within;
    char *user;
    char *pidfile;
    char *log; /* "stderr" or "syslog"; NULL: stderr in the foreground */
    int log_level;

    /* derived */
    struct pd_listen_spec *listen;
    size_t nlisten;
};

/* Command-line settings that override the file. */
struct pd_overrides {
    const char *dns_server;
    const char *ca_file;
    const char *const *connect_to;
    size_t nconnect_to;
    const char *user;
    const char *pidfile;
    int debug;
    int default_file; /* the file is the default one: absent is fine */
};

/* Read FILE into *ret (defaults for everything absent). Warnings (unknown
 * keys, unsupported values) are logged as they are found, each once; an
 * error is logged with its line and column. 0 or -1. */
int pd_config_load(const char *file, const struct pd_overrides *ov,
                   struct pd_config **ret);
void pd_config_free(struct pd_config *cfg);
/* The zone named name (the socketmap name), or the default zone. */
const struct pd_zone *pd_config_zone(const struct pd_config *cfg,
                                     const char *name, size_t len);
/* Resolve postfix_version ("auto": postconf -h mail_version; 3.4.0 with
 * a warning when postconf cannot be run). 0 or -1. */
int pd_postfix_version(const struct pd_config *cfg, uint32_t *ret, char *text,
                       size_t text_len);

/* ------------------------------------------------------------------ */
/* resolver.c                                                          */
/* ------------------------------------------------------------------ */

struct pd_res;
struct pd_req;

enum pd_proto {
    PD_PROTO_NETSTRING = 1,
    PD_PROTO_LINE = 2
};

/* What a request needs from its zone, copied when it arrives (a reload
 * may replace the zones meanwhile). */
struct pd_zone_snap {
    int strict_testing;
    int require_sni;
    uint32_t timeout_ms;
};

/* A request waiting for an answer. Owned by its connection (server.c);
 * the resolver only links it to a lookup while one runs. */
struct pd_req {
    struct pd_req *next; /* the connection's queue, in arrival order */
    void *conn;
    int proto;
    int done;
    char *ans; /* the framed answer, malloc'd */
    size_t ans_len;
    /* while waiting for a lookup (resolver.c) */
    struct pd_pend *pend;
    struct pd_req *wprev, *wnext;
    struct event *tmr;
    struct pd_zone_snap zone;
};

/* Set up on base with cfg (copied where needed). 0 or -1 (logged). */
int pd_res_new(struct event_base *base, const struct pd_config *cfg,
               uint32_t postfix_version, struct pd_res **ret);
/* After a reload: new zones, limits, net settings, Postfix version. */
int pd_res_reconfigure(struct pd_res *res, const struct pd_config *cfg,
                       uint32_t postfix_version);
/* Cancel every lookup (their waiters get TEMP), free everything. */
void pd_res_free(struct pd_res *res);
/* Stop the proactive refresher (shutdown). */
void pd_res_quiesce(struct pd_res *res);

/* Handle one request: the socketmap name (zone) and key, or a line
 * request (zone may be NULL). The answer is put in req (done = 1) at once
 * or later through pd_server_answered(). 0, or -1 when out of memory
 * (req untouched: the caller closes the connection). */
/* A socketmap request that the memo answers as it answered the last one
 * (same domain, zone flags and settings): 1 with the framed answer in
 * *ret (valid until the loop runs again), counted as pd_res_request
 * counts it; 0 when pd_res_request must be asked instead. */
int pd_res_cached_answer(struct pd_res *res, const char *zone, size_t zone_len,
                         const char *key, size_t key_len, const char **ret,
                         size_t *ret_len);
int pd_res_request(struct pd_res *res, struct pd_req *req, const char *zone,
                   size_t zone_len, const char *key, size_t key_len);
/* The connection of req goes away: unlink it from its lookup. */
void pd_res_cancel(struct pd_res *res, struct pd_req *req);
/* The stats JSON line (without the newline), malloc'd; NULL on ENOMEM. */
char *pd_res_stats(struct pd_res *res, size_t *ret_len);
size_t pd_res_pending(const struct pd_res *res);
/* A PERM answer the server made (malformed request), for the stats. */
void pd_res_count_perm(struct pd_res *res);
/* The "stats" line request is allowed (the stats setting). */
int pd_res_stats_enabled(const struct pd_res *res);

/* Counters the server keeps, reported with the stats. */
struct pd_server_stats {
    uint64_t accepted, refused, closed_bad, closed_timeout, requests_ns,
        requests_line, stats_requests;
    size_t connections;
};

/* ------------------------------------------------------------------ */
/* server.c                                                            */
/* ------------------------------------------------------------------ */

struct pd_server;

int pd_server_new(struct event_base *base, struct pd_res *res,
                  struct pd_server **ret);
/* Open the configured listeners, keeping those whose address did not
 * change (reload); 0 or -1 (nothing changed then, logged). */
int pd_server_listen(struct pd_server *srv, const struct pd_config *cfg);
/* Limits and timeouts of cfg, for the connections from now on. */
void pd_server_configure(struct pd_server *srv, const struct pd_config *cfg);
/* Graceful shutdown: close the listeners, close idle connections, close
 * the others once their requests are answered. */
void pd_server_drain(struct pd_server *srv);
size_t pd_server_connections(const struct pd_server *srv);
/* Close everything, remove UNIX socket files, free. */
void pd_server_free(struct pd_server *srv);
const struct pd_server_stats *pd_server_stats(const struct pd_server *srv);
/* The resolver finished req (done is set): flush its connection. */
void pd_server_answered(struct pd_req *req);
/* The server behind the resolver (for the stats line). */
void pd_res_set_server(struct pd_res *res, struct pd_server *srv);

/* Fill req's answer: the text (without framing) in the request's
 * protocol: netstring framing, or a line with '\n'. 0 or -1 (ENOMEM). */
int pd_req_set_answer(struct pd_req *req, const char *text, size_t len);

/* sd_notify(3) when built with libsystemd, else nothing (main.c). */
void pd_notify(const char *state);

/* The current time: seconds since the epoch, and a monotonic ms clock. */
int64_t pd_now(void);
int64_t pd_mono_ms(void);

#endif
