/*
 * The cache store of the libmtasts programs (mtasts-policyd, the Exim
 * module, tools): the core's cache-entry bytes (mtasts_lookup_entry(),
 * doc/cache-entry.md) kept per policy domain, in the library's bounded
 * in-memory cache (always, in front) and optionally one persistent
 * backend: SQLite (one file, shared by several processes) or Redis
 * (shared by a fleet). Every backend stores the same bytes.
 *
 * An internal static library (mtasts_store), not an installed ABI. See
 * store/README.md for the backends, the horizon of an entry, the order
 * between two entries and the degradation rules.
 *
 * Rules common to every call:
 *  - now is the caller's clock, seconds since the epoch (as passed to the
 *    core); the store never reads the wall clock (the asynchronous Redis
 *    timeouts use a monotonic clock).
 *  - A backend that fails (file unwritable, server unreachable, timeout)
 *    never fails a request: the store logs one alert, answers from memory
 *    and tries the backend again after a bounded back-off. Only API misuse
 *    (MTASTS_EINVAL), bad entry bytes given to a put, and allocation
 *    failures (MTASTS_ENOMEM: nothing changed, nothing leaked) are errors.
 *  - Stored bytes that do not decode (mtasts_entry_decode()) or belong to
 *    another domain are logged, deleted and treated as a miss.
 *  - Not thread-safe: one store per thread.
 */
#ifndef MTASTS_STORE_H
#define MTASTS_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "mtasts.h"

#ifdef __cplusplus
extern "C" {
#endif

struct event_base; /* libevent 2 */

typedef struct mtasts_store mtasts_store;

/** Persistent backends (mtasts_store_config.backend). */
typedef enum mtasts_store_backend {
    /** memory only */
    MTASTS_STORE_MEMORY = 0,
    /** SQLite, one file in WAL mode */
    MTASTS_STORE_SQLITE = 1,
    /** Redis (hiredis), keys <prefix>:<domain> */
    MTASTS_STORE_REDIS = 2
} mtasts_store_backend;

/** State of the backend (mtasts_store_state()). */
typedef enum mtasts_store_state_value {
    /** no backend configured: memory only, by choice */
    MTASTS_STORE_STATE_MEMORY = 0,
    /** the backend answers */
    MTASTS_STORE_STATE_UP = 1,
    /** the backend failed: memory only until a retry succeeds */
    MTASTS_STORE_STATE_DOWN = 2,
    /** asynchronous Redis: a connection is being set up (memory only
     * meanwhile) */
    MTASTS_STORE_STATE_CONNECTING = 3
} mtasts_store_state_value;

/** Log levels: the syslog(3) priorities of the same names. */
typedef enum mtasts_store_log_level {
    MTASTS_STORE_LOG_ERR = 3,
    MTASTS_STORE_LOG_WARNING = 4,
    MTASTS_STORE_LOG_NOTICE = 5,
    MTASTS_STORE_LOG_INFO = 6
} mtasts_store_log_level;

/**
 * Log callback: one line (no newline), key=value words an operator can
 * grep ("store backend=redis state=down ..."). alert is 1 for the events
 * an operator must act on (a backend going down, corrupt stored bytes).
 * Called once per backend state change, never per request.
 */
typedef void (*mtasts_store_log_fn)(void *arg, int level, int alert,
                                    const char *msg);

/** Configuration; mtasts_store_config_init() sets the defaults. Strings
 * are copied by mtasts_store_open(). */
typedef struct mtasts_store_config {
    /** mtasts_store_backend value; default MTASTS_STORE_MEMORY */
    int backend;
    /** bounds of the in-memory cache (mtasts_cache_new()); defaults
     * 100000 entries and 64 MiB */
    size_t memory_entries, memory_bytes;
    /** seconds added to an entry's horizon (README.md); default 3600 */
    int64_t grace;
    /** a failed backend is tried again after retry_min seconds, doubling
     * up to retry_max; defaults 1 and 60 */
    int64_t retry_min, retry_max;
    /** SQLite: a write purges rows past their horizon at most once per
     * this many seconds (0: only mtasts_store_purge()); default 3600 */
    int64_t purge_interval;

    /** SQLite: the database file (created if missing) */
    const char *sqlite_path;
    /** SQLite: how long to wait for another process's lock; default 1000 */
    int sqlite_busy_timeout_ms;

    /** Redis: server address (an IP address: a name is resolved with a
     * blocking getaddrinfo at each connection); default "127.0.0.1" */
    const char *redis_host;
    /** Redis: TCP port; default 6379 */
    int redis_port;
    /** Redis: UNIX socket path; when set, host and port are not used */
    const char *redis_unix_path;
    /** Redis: AUTH password, or NULL */
    const char *redis_password;
    /** Redis: database number (SELECT) when > 0; default 0 */
    int redis_db;
    /** Redis: key prefix; keys are <prefix>:<domain>; default "mtasts" */
    const char *redis_prefix;
    /** Redis: connect and command timeouts, milliseconds; default 1000 */
    int redis_connect_timeout_ms, redis_command_timeout_ms;
    /** Redis: when set, the connection runs on this libevent 2 loop and
     * never blocks (mtasts_store_get_async() and friends); when NULL, the
     * calls block up to the timeouts */
    struct event_base *event_base;

    /** allocator of the store's own memory (the one given to
     * mtasts_ctx_new(), typically); NULL: malloc. SQLite and hiredis use
     * their own allocators. */
    const struct mtasts_alloc *alloc;
    /** log callback and its argument; NULL: no log */
    mtasts_store_log_fn log;
    void *log_arg;
} mtasts_store_config;

/** Counters (mtasts_store_get_stats()). */
typedef struct mtasts_store_stats {
    uint64_t gets;           /**< get calls */
    uint64_t memory_hits;    /**< answered from memory */
    uint64_t backend_hits;   /**< answered from the backend */
    uint64_t misses;         /**< nothing found */
    uint64_t puts;           /**< put calls (apply included) */
    uint64_t backend_writes; /**< entries written to the backend */
    uint64_t kept_newer;     /**< puts refused: the backend held newer */
    uint64_t deletes;        /**< delete calls (apply included) */
    uint64_t corrupt;        /**< stored entries found corrupt, deleted */
    uint64_t backend_errors; /**< failed backend operations */
    uint64_t purged;         /**< rows removed by purges */
    size_t memory_entries;   /**< entries in memory now */
    size_t memory_bytes;     /**< bytes of entries in memory now */
    int state;               /**< mtasts_store_state_value */
} mtasts_store_stats;

/** Flags of mtasts_store_get() and mtasts_store_get_async(). */
typedef enum mtasts_store_get_flag {
    /** ask the backend even when memory holds the domain, and keep the
     * newer of the two (README.md, "Order"): for a fleet member about to
     * fetch, to see what another one fetched meanwhile */
    MTASTS_STORE_GET_F_BACKEND = 0x1
} mtasts_store_get_flag;

/** Fill cfg with the defaults. */
void mtasts_store_config_init(mtasts_store_config *cfg);

/** 1 when backend (an mtasts_store_backend value) was built in. */
int mtasts_store_backend_built(int backend);

/** The name of a backend ("memory", "sqlite", "redis"), or "unknown". */
const char *mtasts_store_backend_name(int backend);

/**
 * Open a store. A backend that cannot be reached (file unwritable, server
 * down) does not fail the open: it is logged (alert) and the store works
 * from memory until a retry succeeds.
 * @param[in] ctx the core context (borrowed: it must outlive the store);
 *            entries are decoded with its limits and options
 * @return 0, MTASTS_EINVAL (NULL arguments, unknown or not built backend,
 *         a missing path, bad bounds), MTASTS_ENOMEM.
 */
int mtasts_store_open(mtasts_ctx *ctx, const mtasts_store_config *cfg,
                      int64_t now, mtasts_store **ret_store);

/**
 * Free a store. Pending asynchronous callbacks are called first, with
 * status MTASTS_ESTATE and no entry. NULL is allowed. Do not call it from
 * a store callback.
 */
void mtasts_store_free(mtasts_store *store);

/**
 * The entry of a domain (any case, one trailing dot allowed): memory
 * first, then the backend (read-through: a backend hit is put in memory).
 * On a miss *ret_entry is NULL and *ret_len 0.
 * With an event base (asynchronous Redis) this call never waits: it
 * answers from memory only; use mtasts_store_get_async().
 * @param[out] ret_entry borrowed bytes, valid until the next call on the
 *             store
 * @return 0 (hit or miss), MTASTS_EINVAL (NULL arguments), an
 *         mtasts_domain_normalize() error (not a valid domain),
 *         MTASTS_ENOMEM.
 */
int mtasts_store_get(mtasts_store *store, const char *domain, size_t domain_len,
                     int64_t now, unsigned flags, const uint8_t **ret_entry,
                     size_t *ret_len);

/**
 * Store entry bytes (mtasts_lookup_entry() output) under the domain they
 * name: in memory (with refresh_at for the planner, as mtasts_cache_put())
 * and in the backend, unless the backend holds a newer entry (README.md,
 * "Order"), which then replaces this one in memory as well. An entry whose
 * horizon has passed is kept in memory only.
 * @return 0; MTASTS_NONE (not an error) when the backend kept a newer
 *         entry; the mtasts_entry_decode() status of bad bytes
 *         (MTASTS_ESYNTAX, MTASTS_ECORRUPT, ...: nothing stored);
 *         MTASTS_EINVAL; MTASTS_ENOMEM.
 */
int mtasts_store_put(mtasts_store *store, const uint8_t *entry,
                     size_t entry_len, int64_t refresh_at, int64_t now);

/**
 * Delete the entry of a domain from memory and the backend. With expected
 * (the bytes read earlier), the backend entry is deleted only while it is
 * exactly those bytes, so an entry written meanwhile by another process
 * stays.
 * @return 0, MTASTS_EINVAL, an mtasts_domain_normalize() error,
 *         MTASTS_ENOMEM.
 */
int mtasts_store_delete(mtasts_store *store, const char *domain,
                        size_t domain_len, const uint8_t *expected,
                        size_t expected_len, int64_t now);

/**
 * Apply what a finished lookup says about its entry
 * (mtasts_lookup_entry_action()): store its bytes (memory through
 * mtasts_cache_apply(), so the planner keeps its notion of use; the
 * backend as mtasts_store_put()), delete the entry, or update the refresh
 * time held in memory. Never waits: with an event base the backend write
 * is sent and its answer handled later.
 * @return as mtasts_store_put(), plus MTASTS_ESTATE (lookup not done).
 */
int mtasts_store_apply(mtasts_store *store, const mtasts_lookup *lookup,
                       int64_t now);

/**
 * Remove the backend rows whose horizon has passed (SQLite; Redis expires
 * keys by itself: 0 removed).
 * @return 0, MTASTS_EINVAL, MTASTS_ENOMEM.
 */
int mtasts_store_purge(mtasts_store *store, int64_t now, size_t *ret_removed);

/* ------------------------------------------------------------------ */
/* Asynchronous calls (libevent 2; Redis with an event base)           */
/* ------------------------------------------------------------------ */

/** Completion of mtasts_store_get_async(): status 0 (entry NULL on a
 * miss), MTASTS_ENOMEM, or MTASTS_ESTATE (the store is being freed). The
 * bytes are borrowed for the duration of the call. */
typedef void (*mtasts_store_get_cb)(void *arg, int status, const uint8_t *entry,
                                    size_t entry_len);

/** Completion of mtasts_store_put_async(): status as mtasts_store_put(),
 * or MTASTS_ESTATE (the store is being freed). */
typedef void (*mtasts_store_done_cb)(void *arg, int status);

/**
 * As mtasts_store_get(), without ever waiting: answers at once from
 * memory when it can (or when the backend is down, or is not
 * asynchronous), else asks Redis and calls cb once from the event loop.
 * A Redis failure or timeout answers from memory.
 * @return 0 (answered now in *ret_entry / *ret_len, borrowed until the
 *         next call on the store; cb is not called), MTASTS_EAGAIN (cb
 *         will be called), or an error as mtasts_store_get() (cb is not
 *         called).
 */
int mtasts_store_get_async(mtasts_store *store, const char *domain,
                           size_t domain_len, int64_t now, unsigned flags,
                           mtasts_store_get_cb cb, void *arg,
                           const uint8_t **ret_entry, size_t *ret_len);

/**
 * As mtasts_store_put(), without ever waiting: memory is updated at once;
 * the backend write is sent, and cb (may be NULL) is called once with its
 * result from the event loop.
 * @return the status of a put that finished now (cb is not called), or
 *         MTASTS_EAGAIN (cb will be called).
 */
int mtasts_store_put_async(mtasts_store *store, const uint8_t *entry,
                           size_t entry_len, int64_t refresh_at, int64_t now,
                           mtasts_store_done_cb cb, void *arg);

/* ------------------------------------------------------------------ */
/* State, counters, helpers                                            */
/* ------------------------------------------------------------------ */

/** The backend state: an mtasts_store_state_value. */
int mtasts_store_state(const mtasts_store *store);

/** Fill *ret with the counters. */
void mtasts_store_get_stats(const mtasts_store *store, mtasts_store_stats *ret);

/** The in-memory cache in front (borrowed), for the refresh planner
 * (mtasts_cache_next_refresh()) and mtasts_cache_gc(). */
mtasts_cache *mtasts_store_memory(mtasts_store *store);

/**
 * The horizon of an entry: until when a store keeps it (Redis TTL, the
 * SQLite expires_at column). max(policy expiry, backoff end) + grace;
 * 0 when the entry holds neither (nothing worth keeping). README.md,
 * "The horizon", says why this is enough for every rule of the core.
 */
int64_t mtasts_store_horizon(const mtasts_entry *entry, int64_t grace);

/**
 * Order of two entries of one domain: <0 when a is older than b, 0 when
 * equal in order, >0 when a is newer. Compares (fetched, expires,
 * backoff-until, last-used) in that order (README.md, "Order").
 */
int mtasts_store_entry_cmp(const mtasts_entry *a, const mtasts_entry *b);

/**
 * When an entry read from a backend is due for a proactive refresh, by
 * the rule of mtasts_lookup_refresh_at() (doc/discovery.md) with the
 * options of ctx: the refresh point of a valid policy, or a later backoff
 * end; 0 when nothing is due.
 */
int64_t mtasts_store_refresh_at(const mtasts_ctx *ctx,
                                const mtasts_entry *entry, int64_t now);

#ifdef __cplusplus
}
#endif

#endif
