/*
 * The SQLite backend (store/sqlite.c) on files in a temporary directory:
 * WAL mode, a restart (reopen: the entry is there), the order of writes
 * (never an older entry over a newer one, also from two processes writing
 * at once), corrupt rows (logged, deleted, a miss), the purge of rows past
 * their horizon, and the degradation to memory with one alert when the
 * file cannot be opened or stays locked, then the recovery.
 *
 * Run without arguments for the functional suite, with "--oom" for the
 * allocation-failure sweep.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <sqlite3.h>

#include "sthelp.h"

struct fx {
    mtasts_ctx *ctx;
    char dir[512];
    char path[600];
    struct sth_log log;
};

static int
setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));

    if (f == NULL)
        return -1;
    f->ctx = harness_ctx_try();
    if (f->ctx == NULL) {
        free(f);
        return -1;
    }
    sth_tmpdir(f->dir, sizeof(f->dir));
    snprintf(f->path, sizeof(f->path), "%s/cache.db", f->dir);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fx *f = *state;

    harness_ctx_free(f->ctx);
    sth_rmdir(f->dir);
    free(f);
    return 0;
}

static void
config(struct fx *f, mtasts_store_config *cfg, const char *path)
{
    mtasts_store_config_init(cfg);
    cfg->backend = MTASTS_STORE_SQLITE;
    cfg->sqlite_path = path != NULL ? path : f->path;
    cfg->alloc = harness_alloc();
    cfg->log = sth_log;
    cfg->log_arg = &f->log;
}

static mtasts_store *
open_store(struct fx *f, int64_t now)
{
    mtasts_store_config cfg;
    mtasts_store *s = NULL;

    config(f, &cfg, NULL);
    assert_int_equal(mtasts_store_open(f->ctx, &cfg, now, &s), MTASTS_OK);
    return s;
}

/* A direct connection to the file, as an operator's sqlite3 would be. */
static sqlite3 *
raw_open(const char *path)
{
    sqlite3 *db = NULL;

    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 10000);
    return db;
}

static void
raw_exec(sqlite3 *db, const char *sql)
{
    char *err = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &err);

    if (rc != SQLITE_OK)
        fail_msg("%s: %s", sql, err != NULL ? err : "?");
    sqlite3_free(err);
}

static int64_t
raw_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    int64_t v = -1;

    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static void
raw_text(sqlite3 *db, const char *sql, char *dst, size_t cap)
{
    sqlite3_stmt *st = NULL;

    dst[0] = 0;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    if (sqlite3_step(st) == SQLITE_ROW)
        snprintf(dst, cap, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
}

/* The stored entry of a domain, decoded (NULL when no row). */
static mtasts_entry *
raw_entry(struct fx *f, sqlite3 *db, const char *domain)
{
    sqlite3_stmt *st = NULL;
    mtasts_entry *e = NULL;

    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT entry FROM mtasts_cache "
                                        "WHERE domain = ?1",
                                        -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_text(st, 1, domain, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW)
        e = sth_decode(f->ctx, sqlite3_column_blob(st, 0),
                       (size_t)sqlite3_column_bytes(st, 0));
    sqlite3_finalize(st);
    return e;
}

/* ------------------------------------------------------------------ */

static void
test_wal_and_restart(void **state)
{
    struct fx *f = *state;
    mtasts_store *s = open_store(f, T0);
    mtasts_store_stats st;
    uint8_t b[2048];
    const uint8_t *p;
    size_t n, pn;
    char mode[32], walpath[700];
    struct stat sb;
    sqlite3 *db;

    assert_int_equal(mtasts_store_state(s), MTASTS_STORE_STATE_UP);
    assert_int_equal(f->log.alerts, 0);
    assert_int_equal(f->log.ups, 1);
    n = sth_simple(f->ctx, b, sizeof(b), "example.com", T0, WEEK, T0);
    assert_int_equal(mtasts_store_put(s, b, n, T0 + DAY, T0), MTASTS_OK);

    /* WAL mode, seen by another connection; the -wal file exists */
    db = raw_open(f->path);
    raw_text(db, "PRAGMA journal_mode", mode, sizeof(mode));
    assert_string_equal(mode, "wal");
    snprintf(walpath, sizeof(walpath), "%s-wal", f->path);
    assert_int_equal(stat(walpath, &sb), 0);
    assert_int_equal(raw_int(db, "SELECT count(*) FROM mtasts_cache"), 1);
    assert_int_equal(raw_int(db, "SELECT expires_at FROM mtasts_cache"),
                     T0 + WEEK + 3600);
    assert_int_equal(raw_int(db, "SELECT fetched FROM mtasts_cache"), T0);
    assert_int_equal(raw_int(db, "SELECT updated_at FROM mtasts_cache"), T0);
    assert_int_equal(raw_int(db, "PRAGMA user_version"), 1);
    sqlite3_close(db);
    mtasts_store_free(s);

    /* restart: a new store finds the entry in the file */
    s = open_store(f, T0 + 10);
    assert_int_equal(mtasts_store_get(s, S("Example.com"), T0 + 10, 0, &p, &pn),
                     MTASTS_OK);
    assert_non_null(p);
    assert_int_equal(pn, n);
    assert_memory_equal(p, b, n);
    /* the second get is served from memory */
    assert_int_equal(mtasts_store_get(s, S("example.com"), T0 + 11, 0, &p, &pn),
                     MTASTS_OK);
    assert_int_equal(pn, n);
    mtasts_store_get_stats(s, &st);
    assert_int_equal(st.backend_hits, 1);
    assert_int_equal(st.memory_hits, 1);
    assert_int_equal(st.misses, 0);
    assert_int_equal(st.memory_entries, 1);
    /* a miss */
    assert_int_equal(mtasts_store_get(s, S("b.example"), T0 + 11, 0, &p, &pn),
                     MTASTS_OK);
    assert_null(p);
    /* the read-through entry is offered to the planner at the core's
     * refresh time (fetched + 1 day) */
    {
        char dom[300];
        size_t dn = 0;
        int64_t due = 0;
        assert_int_equal(mtasts_cache_next_refresh(mtasts_store_memory(s),
                                                   T0 + 11, DAY, 0, dom,
                                                   sizeof(dom), &dn, &due),
                         MTASTS_OK);
        assert_string_equal(dom, "example.com");
        assert_int_equal(due, T0 + DAY);
    }
    /* delete reaches the file */
    assert_int_equal(mtasts_store_delete(s, S("example.com"), NULL, 0, T0 + 12),
                     MTASTS_OK);
    mtasts_store_free(s);
    db = raw_open(f->path);
    assert_int_equal(raw_int(db, "SELECT count(*) FROM mtasts_cache"), 0);
    sqlite3_close(db);
    assert_int_equal(f->log.alerts, 0);
}

static void
test_order(void **state)
{
    struct fx *f = *state;
    mtasts_store *a = open_store(f, T0), *b2 = open_store(f, T0);
    uint8_t old[2048], young[2048], ext[2048];
    const uint8_t *p;
    size_t on, yn, xn, pn;
    struct sth_times t = {T0 + 100, T0 + 100 + WEEK, 0, T0 + 100};
    mtasts_store_stats st;
    mtasts_entry *e;
    sqlite3 *db;

    on = sth_simple(f->ctx, old, sizeof(old), "example.com", T0, WEEK, T0);
    yn = sth_simple(f->ctx, young, sizeof(young), "example.com", T0 + 100, WEEK,
                    T0 + 100);
    t.expires += 50; /* the same fetch, extended */
    xn = sth_entry(f->ctx, ext, sizeof(ext), "example.com", "id1", t, NULL, 0,
                   1);
    /* a writes the younger entry, b (another connection) the older */
    assert_int_equal(mtasts_store_put(a, young, yn, 0, T0 + 100), MTASTS_OK);
    assert_int_equal(mtasts_store_put(b2, old, on, 0, T0 + 100), MTASTS_NONE);
    /* b's memory took the younger one */
    assert_int_equal(
        mtasts_store_get(b2, S("example.com"), T0 + 100, 0, &p, &pn),
        MTASTS_OK);
    assert_int_equal(pn, yn);
    assert_memory_equal(p, young, yn);
    mtasts_store_get_stats(b2, &st);
    assert_int_equal(st.kept_newer, 1);
    assert_int_equal(st.backend_writes, 0);
    /* the same fetch extended is newer: written */
    assert_int_equal(mtasts_store_put(b2, ext, xn, 0, T0 + 100), MTASTS_OK);
    db = raw_open(f->path);
    e = raw_entry(f, db, "example.com");
    assert_non_null(e);
    assert_int_equal(mtasts_entry_time(e, MTASTS_ENTRY_TIME_EXPIRES_AT),
                     T0 + 150 + WEEK);
    mtasts_entry_free(e);
    /* a plain get answers from a's memory (young); F_BACKEND finds the
     * newer entry of the file (ext) and keeps it */
    assert_int_equal(
        mtasts_store_get(a, S("example.com"), T0 + 101, 0, &p, &pn), MTASTS_OK);
    assert_int_equal(pn, yn);
    assert_memory_equal(p, young, yn);
    assert_int_equal(mtasts_store_get(a, S("example.com"), T0 + 101,
                                      MTASTS_STORE_GET_F_BACKEND, &p, &pn),
                     MTASTS_OK);
    assert_int_equal(pn, xn);
    assert_memory_equal(p, ext, xn);
    assert_int_equal(
        mtasts_store_get(a, S("example.com"), T0 + 101, 0, &p, &pn), MTASTS_OK);
    assert_int_equal(pn, xn);
    assert_memory_equal(p, ext, xn);
    /* an equal entry is written again (idempotent) */
    assert_int_equal(mtasts_store_put(a, ext, xn, 0, T0 + 102), MTASTS_OK);
    assert_int_equal(raw_int(db, "SELECT updated_at FROM mtasts_cache"),
                     T0 + 102);

    /* a row past its horizon is replaced even by an older entry */
    raw_exec(db, "UPDATE mtasts_cache SET expires_at = 5");
    assert_int_equal(mtasts_store_put(b2, old, on, 0, T0 + 200), MTASTS_OK);
    e = raw_entry(f, db, "example.com");
    assert_int_equal(mtasts_entry_time(e, MTASTS_ENTRY_TIME_FETCHED_AT), T0);
    mtasts_entry_free(e);
    sqlite3_close(db);
    mtasts_store_free(a);
    mtasts_store_free(b2);
    assert_int_equal(f->log.alerts, 0);
}

/* Two processes write the same file at once (sth_race(), with domains of
 * their own): the file ends with the newest entry of the shared domain
 * and every other one, and no process saw its backend fail. */
static void
test_two_processes(void **state)
{
    struct fx *f = *state;
    mtasts_store *s = open_store(f, T0); /* creates the file */
    mtasts_store_config cfg;
    mtasts_entry *e;
    sqlite3 *db;

    mtasts_store_free(s);
    mtasts_store_config_init(&cfg);
    cfg.backend = MTASTS_STORE_SQLITE;
    cfg.sqlite_path = f->path;
    cfg.sqlite_busy_timeout_ms = 30000;
    cfg.memory_entries = 4; /* so most gets reach the file */
    sth_race(&cfg, 1, NULL, NULL);
    db = raw_open(f->path);
    assert_int_equal(raw_int(db, "SELECT count(*) FROM mtasts_cache"),
                     1 + 2 * STH_RACE_N);
    e = raw_entry(f, db, "shared.example");
    assert_non_null(e);
    /* the largest last-used written: which 1's first, T0 + 2N + 1 */
    assert_int_equal(mtasts_entry_time(e, MTASTS_ENTRY_TIME_LAST_USED),
                     T0 + 2 * STH_RACE_N + 1);
    mtasts_entry_free(e);
    assert_int_equal(
        raw_int(db, "SELECT last_used FROM mtasts_cache WHERE domain = "
                    "'shared.example'"),
        T0 + 2 * STH_RACE_N + 1);
    sqlite3_close(db);
}

static void
test_corrupt_rows(void **state)
{
    struct fx *f = *state;
    mtasts_store *s = open_store(f, T0);
    uint8_t b[2048];
    const uint8_t *p;
    size_t n, pn;
    sqlite3 *db;
    mtasts_store_stats st;

    n = sth_simple(f->ctx, b, sizeof(b), "example.com", T0, WEEK, T0);
    assert_int_equal(mtasts_store_put(s, b, n, 0, T0), MTASTS_OK);
    n = sth_simple(f->ctx, b, sizeof(b), "other.example", T0, WEEK, T0);
    assert_int_equal(mtasts_store_put(s, b, n, 0, T0), MTASTS_OK);
    n = sth_simple(f->ctx, b, sizeof(b), "third.example", T0, WEEK, T0);
    assert_int_equal(mtasts_store_put(s, b, n, 0, T0), MTASTS_OK);
    mtasts_store_free(s);

    db = raw_open(f->path);
    /* a flipped bit in the policy body (the CRC-32 catches it) */
    raw_exec(db, "UPDATE mtasts_cache SET entry = CAST(replace(CAST(entry "
                 "AS TEXT), 'mx1.', 'mx3.') AS BLOB) WHERE domain = "
                 "'example.com'");
    /* another domain's entry under this key */
    raw_exec(db, "UPDATE mtasts_cache SET entry = (SELECT entry FROM "
                 "mtasts_cache WHERE domain = 'third.example') WHERE domain "
                 "= 'other.example'");
    /* not an entry at all */
    raw_exec(db, "UPDATE mtasts_cache SET entry = X'00FF' WHERE domain = "
                 "'third.example'");

    s = open_store(f, T0 + 1);
    assert_int_equal(mtasts_store_get(s, S("example.com"), T0 + 1, 0, &p, &pn),
                     MTASTS_OK);
    assert_null(p);
    assert_int_equal(f->log.corrupt, 1);
    assert_non_null(strstr(f->log.last, "status=MTASTS_ECORRUPT"));
    assert_non_null(strstr(f->log.last, "reason=checksum"));
    assert_non_null(strstr(f->log.last, "domain=example.com"));
    assert_int_equal(
        mtasts_store_get(s, S("other.example"), T0 + 1, 0, &p, &pn), MTASTS_OK);
    assert_null(p);
    assert_int_equal(f->log.corrupt, 2);
    assert_non_null(strstr(f->log.last, "reason=other-domain"));
    assert_int_equal(
        mtasts_store_get(s, S("third.example"), T0 + 1, 0, &p, &pn), MTASTS_OK);
    assert_null(p);
    assert_int_equal(f->log.corrupt, 3);
    assert_non_null(strstr(f->log.last, "status=MTASTS_ESYNTAX"));
    assert_int_equal(f->log.alerts, 3);
    mtasts_store_get_stats(s, &st);
    assert_int_equal(st.corrupt, 3);
    assert_int_equal(st.misses, 3);
    /* deleted: the file is empty, the backend still up */
    assert_int_equal(raw_int(db, "SELECT count(*) FROM mtasts_cache"), 0);
    assert_int_equal(mtasts_store_state(s), MTASTS_STORE_STATE_UP);

    /* a corrupt row holding a newer order does not block a put: the
     * put reads it, deletes it and writes */
    n = sth_simple(f->ctx, b, sizeof(b), "example.com", T0, WEEK, T0);
    assert_int_equal(mtasts_store_put(s, b, n, 0, T0 + 2), MTASTS_OK);
    raw_exec(db, "UPDATE mtasts_cache SET entry = X'41', fetched = "
                 "9000000000");
    assert_int_equal(mtasts_store_put(s, b, n, 0, T0 + 3), MTASTS_OK);
    assert_int_equal(f->log.corrupt, 4);
    assert_int_equal(raw_int(db, "SELECT fetched FROM mtasts_cache"), T0);
    sqlite3_close(db);
    mtasts_store_free(s);
}

static void
test_purge(void **state)
{
    struct fx *f = *state;
    mtasts_store_config cfg;
    mtasts_store *s = NULL;
    uint8_t b[2048];
    const uint8_t *p;
    size_t n, pn, removed = 99;
    struct sth_times bo = {0, 0, T0 + 300, 0};
    sqlite3 *db;

    config(f, &cfg, NULL);
    cfg.purge_interval = 0; /* no purge on writes */
    cfg.grace = 100;
    assert_int_equal(mtasts_store_open(f->ctx, &cfg, T0, &s), MTASTS_OK);
    /* horizons: T0+DAY+100, T0+WEEK+100, T0+400 (backoff only), and
     * max_age 0: T0+100 */
    n = sth_simple(f->ctx, b, sizeof(b), "a.example", T0, DAY, T0);
    assert_int_equal(mtasts_store_put(s, b, n, 0, T0), MTASTS_OK);
    n = sth_simple(f->ctx, b, sizeof(b), "b.example", T0, WEEK, T0);
    assert_int_equal(mtasts_store_put(s, b, n, 0, T0), MTASTS_OK);
    n = sth_entry(f->ctx, b, sizeof(b), "c.example", "", bo, "id9", 10, 0);
    assert_int_equal(mtasts_store_put(s, b, n, 0, T0), MTASTS_OK);
    n = sth_simple(f->ctx, b, sizeof(b), "d.example", T0, 0, T0);
    assert_int_equal(mtasts_store_put(s, b, n, 0, T0), MTASTS_OK);
    /* an entry whose horizon has passed is not written */
    n = sth_simple(f->ctx, b, sizeof(b), "e.example", T0 - WEEK, DAY,
                   T0 - WEEK);
    assert_int_equal(mtasts_store_put(s, b, n, 0, T0), MTASTS_OK);
    db = raw_open(f->path);
    assert_int_equal(raw_int(db, "SELECT count(*) FROM mtasts_cache"), 4);
    assert_int_equal(raw_int(db, "SELECT expires_at FROM mtasts_cache WHERE "
                                 "domain = 'c.example'"),
                     T0 + 400);

    assert_int_equal(mtasts_store_purge(s, T0 + 400, &removed), MTASTS_OK);
    assert_int_equal(removed, 2); /* c, d */
    assert_int_equal(raw_int(db, "SELECT count(*) FROM mtasts_cache"), 2);
    mtasts_store_free(s);

    /* past its horizon, a row is a miss even before a purge */
    s = open_store(f, T0 + DAY + 100);
    assert_int_equal(
        mtasts_store_get(s, S("a.example"), T0 + DAY + 100, 0, &p, &pn),
        MTASTS_OK);
    assert_null(p);
    assert_int_equal(
        mtasts_store_get(s, S("b.example"), T0 + DAY + 100, 0, &p, &pn),
        MTASTS_OK);
    assert_non_null(p);
    /* with the default interval, the first write purges */
    n = sth_simple(f->ctx, b, sizeof(b), "f.example", T0 + DAY, WEEK, T0 + DAY);
    assert_int_equal(mtasts_store_put(s, b, n, 0, T0 + DAY + 100), MTASTS_OK);
    assert_int_equal(raw_int(db, "SELECT count(*) FROM mtasts_cache WHERE "
                                 "domain = 'a.example'"),
                     0);
    assert_int_equal(raw_int(db, "SELECT count(*) FROM mtasts_cache"), 2);
    sqlite3_close(db);
    mtasts_store_free(s);
    assert_int_equal(f->log.alerts, 0);
}

/* The file cannot be opened (its directory is missing): the store works
 * from memory with one alert, and uses the file once it can. */
static void
test_degrade_open(void **state)
{
    struct fx *f = *state;
    mtasts_store_config cfg;
    mtasts_store *s = NULL;
    char sub[700], path[800];
    uint8_t b[2048];
    const uint8_t *p;
    size_t n, pn;
    int i;
    sqlite3 *db;

    snprintf(sub, sizeof(sub), "%s/later", f->dir);
    snprintf(path, sizeof(path), "%s/cache.db", sub);
    config(f, &cfg, path);
    cfg.retry_min = 10;
    cfg.retry_max = 40;
    assert_int_equal(mtasts_store_open(f->ctx, &cfg, T0, &s), MTASTS_OK);
    assert_int_equal(mtasts_store_state(s), MTASTS_STORE_STATE_DOWN);
    assert_int_equal(f->log.alerts, 1);
    assert_int_equal(f->log.downs, 1);
    assert_non_null(strstr(f->log.last, "backend=sqlite state=down"));
    assert_non_null(strstr(f->log.last, "retry_in=10s"));

    /* requests are served from memory, without new alerts, also when
     * retries fail (the back-off grows: 10, 20, 40, 40) */
    n = sth_simple(f->ctx, b, sizeof(b), "example.com", T0, WEEK, T0);
    for (i = 0; i < 6; i++) {
        int64_t now = T0 + i * 50;
        assert_int_equal(mtasts_store_put(s, b, n, 0, now), MTASTS_OK);
        assert_int_equal(mtasts_store_get(s, S("example.com"), now, 0, &p, &pn),
                         MTASTS_OK);
        assert_int_equal(pn, n);
    }
    assert_int_equal(f->log.alerts, 1);
    assert_int_equal(f->log.lines, 1);
    assert_int_equal(mtasts_store_state(s), MTASTS_STORE_STATE_DOWN);

    /* the directory appears: the next request after the retry time uses
     * the file, with one notice */
    assert_int_equal(mkdir(sub, 0700), 0);
    assert_int_equal(mtasts_store_put(s, b, n, 0, T0 + 1000), MTASTS_OK);
    assert_int_equal(mtasts_store_state(s), MTASTS_STORE_STATE_UP);
    assert_int_equal(f->log.ups, 1);
    assert_non_null(strstr(f->log.last, "state=up recovered=1"));
    assert_int_equal(f->log.alerts, 1);
    mtasts_store_free(s);
    db = raw_open(path);
    assert_int_equal(raw_int(db, "SELECT count(*) FROM mtasts_cache"), 1);
    sqlite3_close(db);
}

/* Another process holds the write lock past the busy timeout: one
 * alert, memory only, then the file again once the lock is gone. */
static void
test_degrade_locked(void **state)
{
    struct fx *f = *state;
    mtasts_store_config cfg;
    mtasts_store *s = NULL;
    uint8_t b[2048];
    const uint8_t *p;
    size_t n, pn;
    sqlite3 *db;

    config(f, &cfg, NULL);
    cfg.sqlite_busy_timeout_ms = 1;
    assert_int_equal(mtasts_store_open(f->ctx, &cfg, T0, &s), MTASTS_OK);
    assert_int_equal(mtasts_store_state(s), MTASTS_STORE_STATE_UP);
    db = raw_open(f->path);
    raw_exec(db, "BEGIN EXCLUSIVE");
    n = sth_simple(f->ctx, b, sizeof(b), "example.com", T0, WEEK, T0);
    assert_int_equal(mtasts_store_put(s, b, n, 0, T0), MTASTS_OK);
    assert_int_equal(mtasts_store_state(s), MTASTS_STORE_STATE_DOWN);
    assert_int_equal(f->log.alerts, 1);
    assert_non_null(strstr(f->log.last, "locked"));
    assert_int_equal(mtasts_store_put(s, b, n, 0, T0), MTASTS_OK);
    assert_int_equal(mtasts_store_get(s, S("example.com"), T0, 0, &p, &pn),
                     MTASTS_OK);
    assert_int_equal(pn, n);
    assert_int_equal(f->log.alerts, 1);
    raw_exec(db, "COMMIT");
    assert_int_equal(raw_int(db, "SELECT count(*) FROM mtasts_cache"), 0);
    /* after the back-off */
    assert_int_equal(mtasts_store_put(s, b, n, 0, T0 + 2), MTASTS_OK);
    assert_int_equal(mtasts_store_state(s), MTASTS_STORE_STATE_UP);
    assert_int_equal(raw_int(db, "SELECT count(*) FROM mtasts_cache"), 1);
    assert_int_equal(f->log.alerts, 1);
    assert_int_equal(f->log.ups, 2);
    sqlite3_close(db);
    mtasts_store_free(s);
}

/* A file of a newer schema is not touched. */
static void
test_newer_schema(void **state)
{
    struct fx *f = *state;
    mtasts_store *s;
    sqlite3 *db = raw_open(f->path);

    raw_exec(db, "PRAGMA user_version = 7");
    sqlite3_close(db);
    s = open_store(f, T0);
    assert_int_equal(mtasts_store_state(s), MTASTS_STORE_STATE_DOWN);
    assert_non_null(strstr(f->log.last, "schema version 7"));
    mtasts_store_free(s);
}

/* ------------------------------------------------------------------ */
/* Allocation failures                                                 */
/* ------------------------------------------------------------------ */

struct oom_arg {
    struct fx *f;
    uint8_t b[2048];
    size_t n;
};

static int
oom_op(void *argp)
{
    struct oom_arg *a = argp;
    mtasts_store_config cfg;
    mtasts_store *s = NULL;
    const uint8_t *p;
    size_t pn;
    int rc;

    config(a->f, &cfg, NULL);
    rc = mtasts_store_open(a->f->ctx, &cfg, T0, &s);
    if (rc != MTASTS_OK)
        return rc;
    rc = mtasts_store_put(s, a->b, a->n, 0, T0);
    mtasts_store_free(s);
    if (rc != MTASTS_OK && rc != MTASTS_NONE)
        return rc;
    /* a fresh store reads it from the file */
    rc = mtasts_store_open(a->f->ctx, &cfg, T0, &s);
    if (rc != MTASTS_OK)
        return rc;
    rc = mtasts_store_get(s, S("example.com"), T0, 0, &p, &pn);
    if (rc == MTASTS_OK && (p == NULL || pn != a->n))
        rc = MTASTS_EINVAL;
    mtasts_store_free(s);
    return rc;
}

static void
test_oom(void **state)
{
    struct fx *f = *state;
    struct oom_arg *a = calloc(1, sizeof(*a));

    assert_non_null(a);
    a->f = f;
    a->n = sth_simple(f->ctx, a->b, sizeof(a->b), "example.com", T0, WEEK, T0);
    harness_oom_sweep("sqlite store", oom_op, a, HARNESS_SWEEP_BOTH);
    free(a);
}

int
main(int argc, char **argv)
{
    const struct CMUnitTest unit[] = {
        cmocka_unit_test_setup_teardown(test_wal_and_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_processes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_rows, setup, teardown),
        cmocka_unit_test_setup_teardown(test_purge, setup, teardown),
        cmocka_unit_test_setup_teardown(test_degrade_open, setup, teardown),
        cmocka_unit_test_setup_teardown(test_degrade_locked, setup, teardown),
        cmocka_unit_test_setup_teardown(test_newer_schema, setup, teardown),
    };
    const struct CMUnitTest oom[] = {
        cmocka_unit_test_setup_teardown(test_oom, setup, teardown),
    };

    if (argc > 1 && strcmp(argv[1], "--oom") == 0)
        return cmocka_run_group_tests_name("store-sqlite-oom", oom, NULL, NULL);
    return cmocka_run_group_tests_name("store-sqlite", unit, NULL, NULL);
}
