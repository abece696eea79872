/*
 * mtasts-tlsrptd: what its files share; not installed.
 *
 *   dgram.c    the reader of libtlsrpt's datagrams ("dpv" 1 JSON) into a
 *              struct td_result
 *   collect.c  the seam every result goes through (td_collect()): a
 *              td_result into the day's aggregate of the library
 *   store.c    the SQLite store (WAL): day aggregates, made reports,
 *              their lookups and deliveries
 *   writer.c   the thread that merges the collector's deltas into the
 *              day aggregates and stores them (and, in fleet mode,
 *              writes them to Redis)
 *   close.c    closing a day: its reports, made once and recorded
 *   deliver.c  the _smtp._tls lookups and the deliveries (sendmail,
 *              libcurl); nonet.c without libmtasts-net
 *   sender.c   the collector's sending thread (schedule, retention)
 *   fleet.c    fleet mode on Redis (hiredis); nofleet.c without
 *   config.c   the configuration file and the options
 *   log.c      logging (stderr or syslog) with rate limits
 *   daemon.c   the collector: socket, libevent loop, signals, dump file
 *   report.c   the report and send commands
 *   main.c     the command line
 *
 * Status codes are the library's (MTASTS_OK, MTASTS_ENOMEM, ...).
 */
#ifndef MTASTS_TLSRPTD_TD_H
#define MTASTS_TLSRPTD_TD_H

#include <stddef.h>
#include <stdint.h>

#include "mtasts.h"

struct td_config;
struct td_fleet;

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

/* The random value that spreads the days' sending times: fresh the first
 * time, the stored one after. @return 0 or TD_ESTORE */
int td_store_seed(struct td_store *s, uint64_t fresh, uint64_t *ret);
/* The days in [from, to) with results or reports whose sending is not
 * finished (malloc'd, ascending). @return 0, TD_ESTORE, MTASTS_ENOMEM */
int td_store_days(struct td_store *s, int64_t from, int64_t to, int64_t **ret,
                  size_t *ret_n);
/* 1 when the sending of day is finished, 0 when not, or TD_ESTORE. */
int td_store_day_finished(struct td_store *s, int64_t day);
int td_store_day_finish(struct td_store *s, int64_t day);
/* Remove every row of the days before before. @return 0 or TD_ESTORE */
int td_store_prune(struct td_store *s, int64_t before, unsigned *ret_days);

/* The _smtp._tls lookup of a report. */
enum td_rua_state {
    TD_RUA_NEW = 0,      /* not looked up yet (no row) */
    TD_RUA_LOOKUP = 1,   /* a lookup failed for now: retried */
    TD_RUA_READY = 2,    /* deliveries recorded */
    TD_RUA_NONE = 3,     /* nowhere to send (no record, no usable rua) */
    TD_RUA_ELSEWHERE = 4 /* another host of the fleet sends it */
};
struct td_rua {
    int state;
    unsigned attempts;
    int64_t first, next;
    char record[1024];
    char error[512];
};
int td_store_rua_get(struct td_store *s, int64_t day, const char *domain,
                     struct td_rua *r);
int td_store_rua_put(struct td_store *s, int64_t day, const char *domain,
                     const struct td_rua *r);

enum td_kind {
    TD_KIND_MAILTO = 1,
    TD_KIND_HTTPS = 2
};
enum td_dlv_state {
    TD_DLV_PENDING = 0,
    TD_DLV_DELIVERED = 1,
    TD_DLV_FAILED = 2,   /* gave up */
    TD_DLV_ELSEWHERE = 3 /* delivered by another host of the fleet */
};
/* One destination of a report: the exact bytes sent to it. */
struct td_delivery {
    char *uri;    /* the rua as written in the record */
    int kind;     /* td_kind */
    char *target; /* mailto: the address; https: the URL */
    uint8_t *payload;
    size_t len;
    char *content_type;
    int state; /* td_dlv_state */
    unsigned attempts;
    int64_t first, next, done;
    char *error;
};
/* Record the deliveries of a report and its lookup state r, in one
 * transaction. @return 0 or TD_ESTORE */
int td_store_rua_ready(struct td_store *s, int64_t day, const char *domain,
                       const struct td_rua *r, const struct td_delivery *d,
                       size_t n);
int td_store_deliveries_get(struct td_store *s, int64_t day, const char *domain,
                            struct td_delivery **ret, size_t *ret_n);
void td_store_deliveries_free(struct td_delivery *d, size_t n);
/* Record the state of d after an attempt. @return 0 or TD_ESTORE */
int td_store_delivery_update(struct td_store *s, int64_t day,
                             const char *domain, const struct td_delivery *d);

/* ------------------------------------------------------------------ */
/* writer.c: the thread that merges deltas and stores days             */
/* ------------------------------------------------------------------ */

struct td_writer;

/* Start the thread; it owns store and fleet (NULL: not in a fleet; else
 * each stored day is also written to Redis) from now on, and closes them
 * at the end. @return 0 or an errno value */
int td_writer_start(struct td_store *store, struct td_fleet *fleet,
                    mtasts_ctx *ctx, int64_t max_bytes, struct td_writer **ret);
/* How many deltas td_writer_submit() takes now (0 while the thread is
 * behind: then keep collecting into the same deltas). */
size_t td_writer_room(struct td_writer *w);
/* Hand over n deltas (n <= td_writer_room()) that hold every result
 * received before taken (Unix seconds; 0 when the collector still holds
 * some); n may be 0: a tick, so that a failed save is tried again. The
 * writer owns them after. */
void td_writer_submit(struct td_writer *w, const struct td_delta *d, size_t n,
                      int64_t taken);
/* As td_writer_submit(), waiting for room. */
void td_writer_submit_wait(struct td_writer *w, const struct td_delta *d,
                           size_t n, int64_t taken);
/* Store what is left, stop the thread, free w (and its fleet). @return 0
 * when every session handed over is stored, else -1 (logged) */
int td_writer_stop(struct td_writer *w);

/* The newest time before which every result handed to the writer is
 * stored (and, in fleet mode, in Redis); 0 before the first save. */
int64_t td_writer_through(struct td_writer *w);

/* ------------------------------------------------------------------ */
/* fleet.c: fleet mode on Redis (nofleet.c without hiredis)            */
/* ------------------------------------------------------------------ */

/* A handle on cfg->redis as host; connected now when now is 1, else at
 * first use (and again after any error). @return 0 or -1 (err says
 * why) */
int td_fleet_open(const struct td_config *cfg, const char *host, int now,
                  struct td_fleet **ret, char *err, size_t err_len);
void td_fleet_close(struct td_fleet *f);
const char *td_fleet_error(const struct td_fleet *f);
/* Write this host's aggregates of rows' days and its through time (0:
 * not written). @return 0 or -1 */
int td_fleet_push(struct td_fleet *f, const struct td_row *rows, size_t n,
                  int64_t through);
/* Merge every host's aggregate of day into agg; *ret_through 1 when
 * every one of them has stored the whole day.
 * @return 0, -1, MTASTS_ENOMEM */
int td_fleet_load(struct td_fleet *f, int64_t day, mtasts_tlsrpt_agg *agg,
                  size_t *ret_hosts, int *ret_through);
/* The days written by any host (malloc'd). @return 0, -1, MTASTS_ENOMEM */
int td_fleet_days(struct td_fleet *f, int64_t **ret, size_t *ret_n);
int td_fleet_forget_day(struct td_fleet *f, int64_t day);
/* The fleet's report of (day, mine->domain): mine unless another host
 * put its own first; *ret malloc'd as in td_store_reports_get().
 * @return 0, -1, MTASTS_ENOMEM */
int td_fleet_report(struct td_fleet *f, int64_t day,
                    const struct td_report *mine, struct td_report *ret);
enum td_claim {
    TD_CLAIM_MINE = 0,  /* this host sends the report */
    TD_CLAIM_OTHER = 1, /* another host holds the claim */
    TD_CLAIM_DONE = 2   /* sent (by holder) */
};
/* Claim (or keep claiming) the sending of a report. @return 0 or -1 */
int td_fleet_claim(struct td_fleet *f, int64_t day, const char *domain,
                   int *ret_state, char *holder, size_t holder_len);
/* Our claimed report is sent: "done". @return 0 or -1 */
int td_fleet_claim_done(struct td_fleet *f, int64_t day, const char *domain);
/* Destination uri of the report got it. @return 0 or -1 */
int td_fleet_sent(struct td_fleet *f, int64_t day, const char *domain,
                  const char *uri);
int td_fleet_sent_get(struct td_fleet *f, int64_t day, const char *domain,
                      const char *uri, int *ret_sent);

/* ------------------------------------------------------------------ */
/* close.c: the day's reports, made once                               */
/* ------------------------------------------------------------------ */

struct td_close_info {
    size_t made, before; /* reports made now, made before */
    uint64_t sessions;   /* sessions stored for the day (not in fleet) */
    int found;           /* results stored for the day */
    size_t hosts;        /* fleet: hosts with results */
    int through;         /* fleet: every host stored the whole day */
    int wait;            /* fleet: not yet (a host is behind) */
};

/* 8 random bytes from /dev/urandom. @return 0 or -1 */
int td_random64(uint64_t *ret);
/* The reports of day (sorted by domain; td_store_reports_free()): those
 * recorded, and one for each other domain of the aggregate, made and
 * recorded now. fleet: NULL, or the fleet whose sum is reported; then
 * while a host has not stored the whole day and now < fleet_deadline,
 * nothing is made and info->wait is set. Errors are logged.
 * @return 0 or -1 */
int td_day_close(const struct td_config *cfg, struct td_store *store,
                 struct td_fleet *fleet, int64_t day, int64_t fleet_deadline,
                 int64_t now, struct td_report **ret, size_t *ret_n,
                 struct td_close_info *info);

/* ------------------------------------------------------------------ */
/* deliver.c: the _smtp._tls lookups and the deliveries of a day       */
/* ------------------------------------------------------------------ */

struct td_sender {
    const struct td_config *cfg;
    struct td_store *store;
    struct td_fleet *fleet; /* NULL: not in a fleet */
    mtasts_ctx *ctx;
    void *net;           /* mtasts_net *, made on first use */
    void *curl;          /* CURL *, made on first use */
    int dry_run;         /* write what would be sent to out_dir (or list
                            it), record nothing about sending */
    const char *out_dir; /* dry run: where (NULL: list only) */
    int now_all;         /* attempt what waits for a retry now */
    int to_stdout;       /* print one line per destination (the commands) */
    volatile int *stop;
    /* counts, for the commands' summary */
    unsigned delivered, failed, pending, written, elsewhere, norua;
};

/* libcurl's global initialisation, once, before any thread starts.
 * @return 0 or -1 */
int td_net_global_init(void);
/* @return 0 or -1 (logged) */
int td_sender_init(struct td_sender *s, const struct td_config *cfg,
                   struct td_store *store, struct td_fleet *fleet);
void td_sender_fini(struct td_sender *s);
/* Look up, record and deliver what is due at now for the reports (n) of
 * day. @return the next time something is due, 0 when the day's sending
 * is over, or -1 on a store error (logged) */
int64_t td_send_reports(struct td_sender *s, int64_t day,
                        const struct td_report *reports, size_t n, int64_t now);
/* The deliveries of report r (from its recorded JSON) to the usable rua
 * of rec, each with its bytes; unusable ones are logged.
 * @return 0, MTASTS_ENOMEM, or -1 (err says why) */
int td_make_deliveries(struct td_sender *s, const struct td_report *r,
                       const mtasts_tlsrpt_record *rec, int64_t now,
                       struct td_delivery **ret, size_t *ret_n, char *err,
                       size_t err_len);
/* (close.c) When the next attempt after attempts failed ones (the first
 * at first) is due; 0 when there is none left (mtasts_tlsrpt_retry_time()
 * scaled by retry_interval / 300). */
int64_t td_retry_time(const struct td_config *cfg, int64_t first,
                      unsigned attempts);

/* ------------------------------------------------------------------ */
/* sender.c: the collector's sending thread                            */
/* ------------------------------------------------------------------ */

struct td_sender_thread;
/* When the reports of day are made and sent: after its end, at an offset
 * of 1 to spread_window seconds from seed (RPT-DELIV-14). */
int64_t td_send_time(const struct td_config *cfg, uint64_t seed, int64_t day);
/* Start the thread (its own store connection and fleet connection).
 * @return 0 or -1 (logged) */
int td_sender_thread_start(const struct td_config *cfg, struct td_writer *w,
                           struct td_sender_thread **ret);
void td_sender_thread_stop(struct td_sender_thread *t);

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

/* Report sending (sender.c, deliver.c) */
#define TD_SENDMAIL_DEFAULT     "/usr/sbin/sendmail"
#define TD_SPREAD_DEFAULT       14400 /* RPT-DELIV-14: 1..14400 s */
#define TD_RETENTION_DEFAULT    30    /* days */
#define TD_RETRY_DEFAULT        300   /* s before the first retry */
#define TD_TIMEOUT_DEFAULT      60    /* s per delivery attempt */
#define TD_CLAIM_TTL_DEFAULT    600
#define TD_FLEET_WAIT_DEFAULT   900
#define TD_REDIS_PREFIX_DEFAULT "mtasts-tlsrptd"

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
    /* reports and their delivery */
    const char *from;     /* From: of report mails; NULL: contact */
    int spread_window;    /* seconds, 0-86400 */
    int retention;        /* days, 1-3650 */
    const char *sendmail; /* command ("PATH [ARG...]"); -i -t appended */
    int retry_interval;   /* seconds before the first retry, 1-86400 */
    int timeout;          /* seconds per DNS lookup or delivery attempt */
    int https_verify;     /* 1: check the certificate of https rua */
    int send;             /* collector: 1 send reports (default), 0 not */
    char *dns_servers;    /* comma-separated (owned), NULL: the system's */
    const char *ca_file;
    const char **connect_to; /* (owned array) */
    size_t nconnect_to;
    const char *out_dir; /* send / collector: write instead of sending */
    int dry_run;
    /* fleet mode */
    const char *redis;        /* "HOST:PORT", "unix:PATH"; NULL: none */
    const char *redis_prefix; /* key prefix */
    const char *host_id;      /* this host's name in the fleet */
    int claim_ttl;            /* seconds */
    int fleet_wait;           /* seconds after midnight, at most */
    char host_buf[256];
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
/* host_id, or the host name. */
const char *td_config_host(struct td_config *cfg);

/* ------------------------------------------------------------------ */
/* daemon.c and report.c: the two commands; each returns the exit      */
/* status                                                              */
/* ------------------------------------------------------------------ */

int td_daemon_run(const struct td_config *cfg);
/* Close day ("YYYY-MM-DD"): write its reports to out_dir; with
 * cfg->dry_run also what would be sent. */
int td_report_run(const struct td_config *cfg, const char *day,
                  const char *out_dir);
/* Close day and send its reports now (cfg->dry_run: write them to
 * cfg->out_dir instead). */
int td_send_run(const struct td_config *cfg, const char *day);

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
/* Write buf to dir/name atomically (a temporary file, fsync, rename); the
 * final path goes to path. 0, or -1 with errno set (deliver.c). */
int td_write_file(const char *dir, const char *name, const uint8_t *buf,
                  size_t len, char *path, size_t path_len);
/* Parse "YYYY-MM-DD"; -1 when it is not a valid date. */
int64_t td_day_parse(const char *s);

#endif
