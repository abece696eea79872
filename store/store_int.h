/*
 * Internals of the store: the object, the backend interface, and the
 * asynchronous request (store.c is the front, sqlite.c and redis.c the
 * backends).
 */
#ifndef MTASTS_STORE_INT_H
#define MTASTS_STORE_INT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

/* Internal results of backend operations, besides 0, MTASTS_NONE and
 * MTASTS_ENOMEM. They never reach the caller. */
#define ST_EBACKEND   100 /* the backend failed; s->err says why */
#define ST_EWRONGTYPE 101 /* Redis: the key holds something not a string */

/* The longest key: a normalised domain and its NUL. */
#define ST_KEY_MAX (MTASTS_DOMAIN_MAX_LEN + 1)

struct st_buf {
    uint8_t *p;
    size_t len, cap;
};

/* The order of an entry: fetched, expires, backoff-until, last-used. */
struct st_order {
    int64_t v[4];
};

/* Kinds of asynchronous requests. */
enum {
    ST_REQ_GET = 1,
    ST_REQ_PUT,
    ST_REQ_DEL,
    ST_REQ_SETUP
};

/* An asynchronous request (one allocation: the struct and, for a put or a
 * conditional delete, the entry bytes after it). */
struct st_req {
    struct st_req *prev, *next; /* the backend's list of requests sent */
    mtasts_store *s;
    size_t size; /* of the allocation */
    int kind;
    int retried;
    unsigned flags;
    int64_t now;
    uint64_t deadline_ms; /* monotonic */
    mtasts_store_get_cb get_cb;
    mtasts_store_done_cb done_cb;
    void *arg;
    struct st_order order; /* put */
    int64_t horizon;       /* put */
    int64_t refresh_at;    /* put */
    size_t key_len;
    char key[ST_KEY_MAX];
    size_t data_len;
    uint8_t data[]; /* put: the entry; delete: the expected bytes */
};

struct st_ops {
    /* Synchronous backends: connect and be ready (0), or ST_EBACKEND.
     * Asynchronous: start connecting (0: the store is CONNECTING until
     * st_backend_up() or st_mark_down()). MTASTS_ENOMEM. */
    int (*connect)(mtasts_store *s);
    /* Drop the connection (the store is going down or being freed). */
    void (*disconnect)(mtasts_store *s);
    /* Synchronous operations; 0, MTASTS_ENOMEM, ST_EBACKEND (and
     * ST_EWRONGTYPE for get). */
    int (*get)(mtasts_store *s, const char *key, size_t key_len, int64_t now,
               struct st_buf *out, int *found);
    /* Writes unless the stored entry is newer and within its horizon;
     * *kept = 1 and the stored bytes in *winner otherwise. */
    int (*upsert)(mtasts_store *s, const char *key, size_t key_len,
                  const uint8_t *entry, size_t entry_len,
                  const struct st_order *order, int64_t horizon, int64_t now,
                  struct st_buf *winner, int *kept);
    int (*del)(mtasts_store *s, const char *key, size_t key_len,
               const uint8_t *expected, size_t expected_len);
    int (*purge)(mtasts_store *s, int64_t now, size_t *ret_removed);
    /* Asynchronous operations: send the request; its completion calls
     * st_get_finish() / st_put_finish() (or, for a delete, frees it).
     * 0 (sent), ST_EBACKEND (not sent: the caller still owns r). */
    int (*send)(mtasts_store *s, struct st_req *r);
    /* Free the backend's state (after disconnect). */
    void (*free)(mtasts_store *s);
};

struct mtasts_store {
    mtasts_ctx *ctx;
    struct mtasts_alloc alloc;
    int have_alloc;
    mtasts_cache *mem;
    int backend;
    int async;        /* Redis on an event base */
    int state;        /* mtasts_store_state_value */
    int logged_state; /* the last state logged (-1: none yet) */
    int freeing;
    int64_t clock;       /* the latest now seen (asynchronous events) */
    int64_t retry_at;    /* DOWN: next attempt */
    int64_t retry_delay; /* the back-off that set retry_at */
    int64_t last_purge;
    int64_t grace, retry_min, retry_max, purge_interval;

    char *sqlite_path;
    int sqlite_busy_timeout_ms;
    char *redis_host, *redis_unix_path, *redis_password, *redis_prefix;
    size_t redis_prefix_len;
    int redis_port, redis_db;
    int redis_connect_timeout_ms, redis_command_timeout_ms;
    struct event_base *base;

    mtasts_store_log_fn log;
    void *log_arg;
    char err[256]; /* the last backend error */

    struct st_buf scratch; /* bytes read from the backend */
    struct st_buf work;    /* a lookup's entry */
    mtasts_store_stats stats;

    const struct st_ops *ops;
    void *be; /* the backend's state */
};

/* store.c */
void *st_alloc(const mtasts_store *s, size_t n);
void st_free(const mtasts_store *s, void *p, size_t n);
int st_buf_set(mtasts_store *s, struct st_buf *b, const void *p, size_t n);
void st_log(const mtasts_store *s, int level, int alert, const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
/* Record the backend error text (sanitised for a quoted log value). */
void st_set_err(mtasts_store *s, const char *prefix, const char *msg);
/* The backend failed (s->err says why): memory only until the retry. The
 * backend's connection must already be dropped or be dropping. */
void st_mark_down(mtasts_store *s);
/* The backend answers (after a connect). */
void st_backend_up(mtasts_store *s);
/* Asynchronous completions; they free r. brc: 0 found (get) / written
 * (put), MTASTS_NONE nil (get) / kept the newer bytes given (put),
 * ST_EBACKEND, ST_EWRONGTYPE. */
void st_get_finish(mtasts_store *s, struct st_req *r, int brc,
                   const uint8_t *bytes, size_t len);
void st_put_finish(mtasts_store *s, struct st_req *r, int brc,
                   const uint8_t *bytes, size_t len);
void st_req_free(mtasts_store *s, struct st_req *r);

/* Backends (NULL when not built). */
extern const struct st_ops st_sqlite_ops;
extern const struct st_ops st_redis_ops;
extern const struct st_ops st_redis_async_ops;
int st_sqlite_init(mtasts_store *s);
int st_redis_init(mtasts_store *s);

#endif
