/*
 * mtasts-tlsrptd: what its files share; not installed.
 *
 *   dgram.c    the reader of libtlsrpt's datagrams ("dpv" 1 JSON) into a
 *              struct td_result
 *   collect.c  the seam every result goes through (td_collect()): a
 *              td_result into the day's aggregate of the library
 *   store.c    the SQLite store (WAL): day aggregates and made reports
 *   writer.c   the thread that merges the collector's deltas into the
 *              day aggregates and stores them
 *   config.c   the configuration file and the options
 *   log.c      logging (stderr or syslog) with rate limits
 *   daemon.c   the collector: socket, libevent loop, signals, dump file
 *   report.c   the report command
 *   main.c     the command line
 *
 * Status codes are the library's (MTASTS_OK, MTASTS_ENOMEM, ...).
 */
#ifndef MTASTS_TLSRPTD_TD_H
#define MTASTS_TLSRPTD_TD_H

#include <stddef.h>
#include <stdint.h>

#include "mtasts.h"

/* Longest datagram read, as tlsrpt-collectd (16 MiB); longer ones are
 * dumped. */
#define TD_DGRAM_MAX (16u * 1024u * 1024u)
/* Deepest JSON nesting a datagram may have (unknown members included). */
#define TD_DEPTH_MAX 32
#define TD_DAY       INT64_C(86400)

/* ------------------------------------------------------------------ */
/* A result: the fields of one datagram (dgram.c fills it; so may any  */
/* other producer, then calls td_collect())                            */
/* ------------------------------------------------------------------ */

/* A text: bytes [p, p + n), not NUL-terminated; any byte may occur (raw
 * bytes >= 0x80 as libtlsrpt sends them, NUL from \u0000). p == NULL:
 * absent. off: offset of the value in the datagram, for messages. */
struct td_text {
    const char *p;
    size_t n;
    size_t off;
};

/* libtlsrpt's policy types (tlsrpt_policy_type_t). */
enum td_policy_type {
    TD_POLICY_TLSA = 1,
    TD_POLICY_STS = 2,
    TD_POLICY_NONE = 9
};

/* One failure-details element: c, s, n, h, r, a, f. */
struct td_failure {
    int64_t code;                /* c: libtlsrpt's failure code */
    struct td_text sending_ip;   /* s */
    struct td_text mx_host;      /* n */
    struct td_text helo;         /* h: the whole EHLO reply, any bytes */
    struct td_text receiving_ip; /* r */
    struct td_text additional;   /* a */
    struct td_text reason;       /* f */
};

/* One element of policies: one TLS session result under one policy. */
struct td_policy {
    int type;                      /* a td_policy_type value */
    struct td_text domain;         /* policy-domain (optional) */
    const struct td_text *strings; /* policy-string */
    size_t nstrings;
    const struct td_text *mx; /* mx-host */
    size_t nmx;
    const struct td_failure *failures; /* failure-details */
    size_t nfailures;
    int64_t t;  /* t as sent, -1 when absent */
    int failed; /* f: 0 success, 1 failure */
    size_t off; /* of the policy object */
};

/* One delivery request (one datagram). */
struct td_result {
    struct td_text domain; /* d: the recipient (next-hop) domain */
    struct td_text record; /* pr: the TLSRPT record as the MTA saw it */
    const struct td_policy *policies;
    size_t npolicies;
};

/* ------------------------------------------------------------------ */
/* mem.c: the caller's allocator (struct mtasts_alloc) for tlsrptd's   */
/* own blocks, so that the OOM sweeps cover them                       */
/* ------------------------------------------------------------------ */

struct td_mem {
    struct mtasts_alloc a;
};

/* alloc NULL: malloc. @return 0, MTASTS_EVERSION, MTASTS_EINVAL */
int td_mem_init(struct td_mem *m, const struct mtasts_alloc *alloc);
void *td_mem_alloc(const struct td_mem *m, size_t size);
void td_mem_free(const struct td_mem *m, void *p, size_t size);
/* Grow the array whose pointer is at parr (a T **, holding *cap elements
 * of sz bytes) to hold at least need elements.
 * @return 0 or MTASTS_ENOMEM (the array unchanged) */
int td_mem_grow(const struct td_mem *m, void *parr, size_t *cap, size_t need,
                size_t sz);

/* ------------------------------------------------------------------ */
/* dgram.c                                                             */
/* ------------------------------------------------------------------ */

/* Why a datagram was not read: status (MTASTS_ESYNTAX, MTASTS_ETOOBIG,
 * MTASTS_ENOMEM), the byte offset, and what was expected there (static
 * text). */
struct td_err {
    int status;
    size_t off;
    const char *expected;
};

struct td_parser;

/* A reader; alloc as for mtasts_ctx_new() (NULL: malloc). Reused for
 * every datagram: its buffers grow to the largest one seen.
 * @return 0, MTASTS_EVERSION, MTASTS_EINVAL, MTASTS_ENOMEM */
int td_parser_new(const struct mtasts_alloc *alloc, struct td_parser **ret);
void td_parser_free(struct td_parser *p);

/* Read one datagram. buf is not changed; *ret points into buf and into
 * the reader, valid until the next call or td_parser_free().
 * @return 0, or the status in err */
int td_parse(struct td_parser *p, const char *buf, size_t len,
             const struct td_result **ret, struct td_err *err);

/* ------------------------------------------------------------------ */
/* collect.c                                                           */
/* ------------------------------------------------------------------ */

/* The aggregate of one UTC day made since the last td_collector_take(). */
struct td_delta {
    int64_t day; /* Unix seconds of 00:00:00Z */
    mtasts_tlsrpt_agg *agg;
    uint64_t sessions; /* sessions counted into agg */
};

/* Days a collector holds at once (more: td_collect() says
 * MTASTS_ESTATE until td_collector_take()). */
#define TD_DAYS_MAX 4

/* What td_collect() changed from the input, and why it refused it. */
struct td_note {
    uint64_t sessions;      /* sessions counted */
    unsigned fallbacks;     /* policies counted as no-policy-found */
    unsigned dropped;       /* failure fields left out */
    unsigned unknown_codes; /* failure codes counted as unknown */
    unsigned escaped;       /* texts with bytes written as \xHH */
    unsigned t_mismatch;    /* policies whose t is not their detail count */
    int64_t code;           /* the last unknown code */
    const char *change;     /* the last fallback or dropped field (static) */
    /* on error: the policy (index) and what went wrong (static text) */
    size_t policy;
    const char *what;
};

struct td_collector;

/* A collector over ctx, its own blocks from alloc (NULL: malloc; give
 * ctx's allocator). ctx is used by this thread only while it collects
 * (the writer thread may share it: see mtasts_ctx_new()). max_bytes
 * bounds each day's aggregate (MTASTS_AGG_MAX_BYTES).
 * @return 0, MTASTS_EINVAL, MTASTS_EVERSION, MTASTS_ENOMEM */
int td_collector_new(mtasts_ctx *ctx, const struct mtasts_alloc *alloc,
                     int64_t max_bytes, struct td_collector **ret);
void td_collector_free(struct td_collector *c);

/*
 * The seam every result goes through, whoever made it (a datagram, a
 * policy daemon, an MTA linking the library): count the result r
 * received at when (Unix seconds; its UTC day is the day of every policy
 * of r). Policies are counted in order; on an error the ones before
 * note->policy were counted.
 * @return 0, MTASTS_ESYNTAX (d is not a domain name), MTASTS_ETOOBIG
 *         (the memory bound), MTASTS_ESTATE (TD_DAYS_MAX days held:
 *         take them first), MTASTS_EINVAL, MTASTS_ENOMEM; note->what
 *         says more
 */
int td_collect(struct td_collector *c, const struct td_result *r, int64_t when,
               struct td_note *note);

/* Hand over the deltas made since the last call, into out (room for
 * TD_DAYS_MAX); the caller owns their aggregates. */
void td_collector_take(struct td_collector *c, struct td_delta *out,
                       size_t *ret_n);

/* The libtlsrpt failure code as an mtasts_result_type value, or
 * MTASTS_RESULT_NONE when the code is not one of libtlsrpt's. */
int td_result_of_code(int64_t code);

/* ------------------------------------------------------------------ */
/* store.c: DIR/tlsrptd.sqlite, WAL mode, synchronous FULL            */
/* ------------------------------------------------------------------ */

#define TD_STORE_FILE "tlsrptd.sqlite"
/* A store error (its text: td_store_error()); not an MTASTS_* value. */
#define TD_ESTORE (-100)

struct td_store;

/* Open (create) the store in directory dir. On failure *ret is NULL and
 * err holds why. @return 0 or TD_ESTORE */
int td_store_open(const char *dir, struct td_store **ret, char *err,
                  size_t err_len);
void td_store_close(struct td_store *s);
/* The last error's text. */
const char *td_store_error(const struct td_store *s);

/* Merge the stored aggregate of day into agg; *sessions its session
 * count (0 and *found 0 when there is none).
 * @return 0, TD_ESTORE, MTASTS_ECORRUPT and the other errors
 *         of mtasts_tlsrpt_agg_decode() (then agg is unchanged) */
int td_store_load(struct td_store *s, int64_t day, mtasts_tlsrpt_agg *agg,
                  uint64_t *sessions, int *found);

/* Move the row of day aside (to days_bad), with why.
 * @return 0 or TD_ESTORE */
int td_store_set_aside(struct td_store *s, int64_t day, const char *why);

/* One day's aggregate to store. */
struct td_row {
    int64_t day;
    const uint8_t *agg;
    size_t len;
    uint64_t sessions;
};

/* Store rows, all or none (one transaction). @return 0 or TD_ESTORE */
int td_store_save(struct td_store *s, const struct td_row *rows, size_t n);

/* 1 when a report of day was made, 0 when not, or TD_ESTORE. */
int td_store_day_reported(struct td_store *s, int64_t day);

/* A made report: the exact bytes that are (or would be) sent. */
struct td_report {
    char *domain;
    char *report_id;
    uint8_t *json;
    size_t len;
};

/* The reports made for day (malloc'd; td_store_reports_free()).
 * @return 0, TD_ESTORE or MTASTS_ENOMEM */
int td_store_reports_get(struct td_store *s, int64_t day,
                         struct td_report **ret, size_t *ret_n);
void td_store_reports_free(struct td_report *r, size_t n);
/* Record reports of day, all or none. @return 0 or TD_ESTORE */
int td_store_reports_put(struct td_store *s, int64_t day,
                         const struct td_report *r, size_t n);

/* ------------------------------------------------------------------ */
/* writer.c: the thread that merges deltas and stores days             */
/* ------------------------------------------------------------------ */

struct td_writer;

/* Start the thread; it owns store from now on (closes it at the end).
 * @return 0 or an errno value */
int td_writer_start(struct td_store *store, mtasts_ctx *ctx, int64_t max_bytes,
                    struct td_writer **ret);
/* How many deltas td_writer_submit() takes now (0 while the thread is
 * behind: then keep collecting into the same deltas). */
size_t td_writer_room(struct td_writer *w);
/* Hand over n deltas (n <= td_writer_room()); n may be 0: a tick, so
 * that a failed save is tried again. The writer owns them after. */
void td_writer_submit(struct td_writer *w, const struct td_delta *d, size_t n);
/* As td_writer_submit(), waiting for room. */
void td_writer_submit_wait(struct td_writer *w, const struct td_delta *d,
                           size_t n);
/* Store what is left, stop the thread, free w. @return 0 when every
 * session handed over is stored, else -1 (logged) */
int td_writer_stop(struct td_writer *w);

/* ------------------------------------------------------------------ */
/* config.c                                                            */
/* ------------------------------------------------------------------ */

/* Where the collector listens by default: the place Postfix's
 * TLSRPT_README recommends (run/tlsrpt/tlsrpt.sock under the queue
 * directory, so that smtp_tlsrpt_socket_name works chrooted or not). */
#define TD_SOCKET_DEFAULT "/var/spool/postfix/run/tlsrpt/tlsrpt.sock"
#define TD_STORE_DEFAULT  "/var/lib/mtasts-tlsrptd"
#define TD_FLUSH_DEFAULT  5
#define TD_MEMORY_DEFAULT (INT64_C(1) << 30)

struct td_config {
    const char *socket;
    const char *socket_user;  /* NULL: left as made */
    const char *socket_group; /* NULL: left as made */
    int socket_mode;          /* -1: left as made (umask) */
    const char *store;
    int flush_interval; /* seconds, 1-3600 */
    const char *dump_file;
    const char *pid_file;
    int64_t max_memory;  /* bytes per day's aggregate */
    const char *org;     /* organization_name */
    const char *contact; /* contact_info */
    int foreground;
    char *file_text; /* the configuration file read (owned) */
};

void td_config_init(struct td_config *cfg);
void td_config_free(struct td_config *cfg);
/* Read key = value lines of path into cfg (keys: the long option names
 * with _ for -). @return 0, or -1 after printing why to stderr */
int td_config_read(struct td_config *cfg, const char *path);
/* Set one setting by its option name ("socket-mode"); value as text.
 * @return 0, 1 (not a setting), or -1 after printing why */
int td_config_set(struct td_config *cfg, const char *name, const char *value,
                  const char *where);

/* ------------------------------------------------------------------ */
/* daemon.c and report.c: the two commands; each returns the exit      */
/* status                                                              */
/* ------------------------------------------------------------------ */

int td_daemon_run(const struct td_config *cfg);
/* Close day ("YYYY-MM-DD"): write its reports to out_dir. */
int td_report_run(const struct td_config *cfg, const char *day,
                  const char *out_dir);

/* ------------------------------------------------------------------ */
/* log.c                                                               */
/* ------------------------------------------------------------------ */

enum td_log_level {
    TD_LOG_ERR = 3,
    TD_LOG_WARNING = 4,
    TD_LOG_INFO = 6
};

/* Log to stderr (to_syslog 0) or to syslog (facility mail). */
void td_log_open(int to_syslog);
void td_log(int level, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* A rate limit: at most TD_LOG_BURST lines per minute; td_log_limited()
 * says how many were held back when the next minute starts. */
struct td_ratelimit {
    int64_t window;
    unsigned lines;
    uint64_t held;
};
#define TD_LOG_BURST 10
void td_log_limited(struct td_ratelimit *rl, int64_t now, int level,
                    const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

/* s[0..n) as printable ASCII for a log line (at most max bytes of input;
 * escapes others as \xHH), into dst (NUL-terminated). */
void td_printable(const char *s, size_t n, size_t max, char *dst,
                  size_t dst_len);

/* ------------------------------------------------------------------ */
/* Days                                                                */
/* ------------------------------------------------------------------ */

/* "YYYY-MM-DD" of a day (Unix seconds), into dst[11]. */
void td_day_format(int64_t day, char dst[11]);
/* Parse "YYYY-MM-DD"; -1 when it is not a valid date. */
int64_t td_day_parse(const char *s);

#endif
