/*
 * The store: one SQLite database, DIR/tlsrptd.sqlite, in WAL mode with
 * synchronous=FULL (a committed save survives a crash of the process and
 * of the machine). Tables:
 *
 *   meta(name, value)                     schema = 1
 *   days(day, agg, sessions, updated)     a UTC day ("YYYY-MM-DD"): its
 *                                         aggregate as
 *                                         mtasts_tlsrpt_agg_encode()
 *                                         bytes, the sessions counted in
 *                                         it, when it was last saved
 *   days_bad(day, agg, sessions, moved, why)
 *                                         rows that did not decode, set
 *                                         aside rather than overwritten
 *   reports(day, domain, report_id, json, created)
 *                                         each report made, byte for byte
 *                                         (RPT-AGG-15: the same bytes on
 *                                         every retry and destination)
 *
 * Every call is one statement or one transaction; a busy database is
 * waited for up to 10 s (the collector and the report command may run
 * at once).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "td.h"

#define SCHEMA "1"

struct td_store {
    sqlite3 *db;
    char err[512];
};

static int
db_fail(struct td_store *s, const char *what)
{
    snprintf(s->err, sizeof(s->err), "%s: %s", what, sqlite3_errmsg(s->db));
    return TD_ESTORE;
}

static int
exec(struct td_store *s, const char *sql, const char *what)
{
    if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return db_fail(s, what);
    return 0;
}

const char *
td_store_error(const struct td_store *s)
{
    return s->err;
}

void
td_store_close(struct td_store *s)
{
    if (s == NULL)
        return;
    sqlite3_close(s->db);
    free(s);
}

int
td_store_open(const char *dir, struct td_store **ret, char *err, size_t err_len)
{
    static const char *const ddl =
        "CREATE TABLE IF NOT EXISTS meta(name TEXT PRIMARY KEY,"
        " value TEXT NOT NULL);"
        "INSERT OR IGNORE INTO meta VALUES('schema', '" SCHEMA "');"
        "CREATE TABLE IF NOT EXISTS days(day TEXT PRIMARY KEY,"
        " agg BLOB NOT NULL, sessions INTEGER NOT NULL,"
        " updated INTEGER NOT NULL);"
        "CREATE TABLE IF NOT EXISTS days_bad(day TEXT NOT NULL, agg BLOB,"
        " sessions INTEGER, moved INTEGER NOT NULL, why TEXT);"
        "CREATE TABLE IF NOT EXISTS reports(day TEXT NOT NULL,"
        " domain TEXT NOT NULL, report_id TEXT NOT NULL,"
        " json BLOB NOT NULL, created INTEGER NOT NULL,"
        " PRIMARY KEY(day, domain));";
    struct td_store *s;
    sqlite3_stmt *st = NULL;
    char *path;
    size_t n;
    int rc;

    *ret = NULL;
    s = calloc(1, sizeof(*s));
    n = strlen(dir) + sizeof("/" TD_STORE_FILE);
    path = malloc(n);
    if (s == NULL || path == NULL) {
        snprintf(err, err_len, "out of memory");
        free(s);
        free(path);
        return TD_ESTORE;
    }
    snprintf(path, n, "%s/%s", dir, TD_STORE_FILE);
    rc = sqlite3_open_v2(path, &s->db,
                         SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    free(path);
    if (rc != SQLITE_OK) {
        snprintf(err, err_len, "cannot open %s/%s: %s", dir, TD_STORE_FILE,
                 s->db != NULL ? sqlite3_errmsg(s->db) : "out of memory");
        td_store_close(s);
        return TD_ESTORE;
    }
    sqlite3_busy_timeout(s->db, 10000);
    if (exec(s, "PRAGMA journal_mode=WAL", "setting WAL mode") != 0 ||
        exec(s, "PRAGMA synchronous=FULL", "setting synchronous=FULL") != 0 ||
        exec(s, "BEGIN IMMEDIATE", "creating the tables") != 0)
        goto fail;
    if (exec(s, ddl, "creating the tables") != 0) {
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        goto fail;
    }
    if (exec(s, "COMMIT", "creating the tables") != 0)
        goto fail;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT value FROM meta WHERE name = 'schema'", -1,
                           &st, NULL) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW) {
        db_fail(s, "reading the schema version");
        sqlite3_finalize(st);
        goto fail;
    }
    if (strcmp((const char *)sqlite3_column_text(st, 0), SCHEMA) != 0) {
        snprintf(s->err, sizeof(s->err),
                 "the store has schema %s, this program knows " SCHEMA,
                 (const char *)sqlite3_column_text(st, 0));
        sqlite3_finalize(st);
        goto fail;
    }
    sqlite3_finalize(st);
    *ret = s;
    return 0;
fail:
    snprintf(err, err_len, "store %s/%s: %s", dir, TD_STORE_FILE, s->err);
    td_store_close(s);
    return TD_ESTORE;
}

static int
bind_day(sqlite3_stmt *st, int col, int64_t day)
{
    char d[11];

    td_day_format(day, d);
    return sqlite3_bind_text(st, col, d, -1, SQLITE_TRANSIENT);
}

int
td_store_load(struct td_store *s, int64_t day, mtasts_tlsrpt_agg *agg,
              uint64_t *sessions, int *found)
{
    sqlite3_stmt *st;
    int rc;

    *sessions = 0;
    *found = 0;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT agg, sessions FROM days WHERE day = ?", -1,
                           &st, NULL) != SQLITE_OK)
        return db_fail(s, "reading a day");
    bind_day(st, 1, day);
    rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) {
        sqlite3_finalize(st);
        return 0;
    }
    if (rc != SQLITE_ROW) {
        db_fail(s, "reading a day");
        sqlite3_finalize(st);
        return TD_ESTORE;
    }
    rc = mtasts_tlsrpt_agg_decode(agg, sqlite3_column_blob(st, 0),
                                  (size_t)sqlite3_column_bytes(st, 0));
    if (rc == MTASTS_OK) {
        *found = 1;
        *sessions = (uint64_t)sqlite3_column_int64(st, 1);
    } else
        snprintf(s->err, sizeof(s->err), "decoding a day's aggregate: %s",
                 mtasts_status_name(rc));
    sqlite3_finalize(st);
    return rc;
}

int
td_store_set_aside(struct td_store *s, int64_t day, const char *why)
{
    sqlite3_stmt *st = NULL;
    int ok;

    if (exec(s, "BEGIN IMMEDIATE", "setting a day aside") != 0)
        return TD_ESTORE;
    ok = sqlite3_prepare_v2(s->db,
                            "INSERT INTO days_bad SELECT day, agg, sessions, "
                            "?, ? FROM days WHERE day = ?",
                            -1, &st, NULL) == SQLITE_OK &&
         sqlite3_bind_int64(st, 1, (sqlite3_int64)time(NULL)) == SQLITE_OK &&
         sqlite3_bind_text(st, 2, why, -1, SQLITE_TRANSIENT) == SQLITE_OK &&
         bind_day(st, 3, day) == SQLITE_OK && sqlite3_step(st) == SQLITE_DONE;
    sqlite3_finalize(st);
    st = NULL;
    ok = ok &&
         sqlite3_prepare_v2(s->db, "DELETE FROM days WHERE day = ?", -1, &st,
                            NULL) == SQLITE_OK &&
         bind_day(st, 1, day) == SQLITE_OK && sqlite3_step(st) == SQLITE_DONE;
    sqlite3_finalize(st);
    if (!ok) {
        db_fail(s, "setting a day aside");
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        return TD_ESTORE;
    }
    return exec(s, "COMMIT", "setting a day aside");
}

int
td_store_save(struct td_store *s, const struct td_row *rows, size_t n)
{
    sqlite3_stmt *st = NULL;
    size_t i;
    int ok = 1;

    if (n == 0)
        return 0;
    if (exec(s, "BEGIN IMMEDIATE", "saving") != 0)
        return TD_ESTORE;
    if (sqlite3_prepare_v2(s->db,
                           "INSERT INTO days(day, agg, sessions, updated) "
                           "VALUES(?, ?, ?, ?) ON CONFLICT(day) DO UPDATE "
                           "SET agg = excluded.agg, sessions = "
                           "excluded.sessions, updated = excluded.updated",
                           -1, &st, NULL) != SQLITE_OK)
        ok = 0;
    for (i = 0; ok && i < n; i++) {
        ok =
            bind_day(st, 1, rows[i].day) == SQLITE_OK &&
            sqlite3_bind_blob64(st, 2, rows[i].agg, rows[i].len,
                                SQLITE_STATIC) == SQLITE_OK &&
            sqlite3_bind_int64(st, 3, (sqlite3_int64)rows[i].sessions) ==
                SQLITE_OK &&
            sqlite3_bind_int64(st, 4, (sqlite3_int64)time(NULL)) == SQLITE_OK &&
            sqlite3_step(st) == SQLITE_DONE;
        sqlite3_reset(st);
    }
    if (!ok) {
        db_fail(s, "saving");
        sqlite3_finalize(st);
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        return TD_ESTORE;
    }
    sqlite3_finalize(st);
    if (sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        db_fail(s, "saving (commit)");
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        return TD_ESTORE;
    }
    return 0;
}

int
td_store_day_reported(struct td_store *s, int64_t day)
{
    sqlite3_stmt *st;
    int rc;

    if (sqlite3_prepare_v2(s->db, "SELECT 1 FROM reports WHERE day = ? LIMIT 1",
                           -1, &st, NULL) != SQLITE_OK)
        return db_fail(s, "reading the reports");
    bind_day(st, 1, day);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc == SQLITE_ROW)
        return 1;
    if (rc == SQLITE_DONE)
        return 0;
    return db_fail(s, "reading the reports");
}

void
td_store_reports_free(struct td_report *r, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        free(r[i].domain);
        free(r[i].report_id);
        free(r[i].json);
    }
    free(r);
}

static char *
dup_text(const unsigned char *t)
{
    size_t n = strlen((const char *)t) + 1;
    char *d = malloc(n);

    if (d != NULL)
        memcpy(d, t, n);
    return d;
}

int
td_store_reports_get(struct td_store *s, int64_t day, struct td_report **ret,
                     size_t *ret_n)
{
    struct td_report *r = NULL, *nr, *e;
    sqlite3_stmt *st;
    size_t n = 0, cap = 0;
    int rc;

    *ret = NULL;
    *ret_n = 0;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT domain, report_id, json FROM reports "
                           "WHERE day = ? ORDER BY domain",
                           -1, &st, NULL) != SQLITE_OK)
        return db_fail(s, "reading the reports");
    bind_day(st, 1, day);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == cap) {
            cap = cap ? 2 * cap : 16;
            nr = realloc(r, cap * sizeof(*r));
            if (nr == NULL)
                goto oom;
            r = nr;
        }
        e = &r[n];
        memset(e, 0, sizeof(*e));
        n++;
        e->len = (size_t)sqlite3_column_bytes(st, 2);
        e->domain = dup_text(sqlite3_column_text(st, 0));
        e->report_id = dup_text(sqlite3_column_text(st, 1));
        e->json = malloc(e->len + 1);
        if (e->domain == NULL || e->report_id == NULL || e->json == NULL)
            goto oom;
        if (e->len > 0)
            memcpy(e->json, sqlite3_column_blob(st, 2), e->len);
    }
    if (rc != SQLITE_DONE) {
        db_fail(s, "reading the reports");
        sqlite3_finalize(st);
        td_store_reports_free(r, n);
        return TD_ESTORE;
    }
    sqlite3_finalize(st);
    *ret = r;
    *ret_n = n;
    return 0;
oom:
    sqlite3_finalize(st);
    td_store_reports_free(r, n);
    snprintf(s->err, sizeof(s->err), "out of memory");
    return MTASTS_ENOMEM;
}

int
td_store_reports_put(struct td_store *s, int64_t day, const struct td_report *r,
                     size_t n)
{
    sqlite3_stmt *st = NULL;
    size_t i;
    int ok = 1;

    if (n == 0)
        return 0;
    if (exec(s, "BEGIN IMMEDIATE", "recording reports") != 0)
        return TD_ESTORE;
    if (sqlite3_prepare_v2(s->db,
                           "INSERT INTO reports(day, domain, report_id, json, "
                           "created) VALUES(?, ?, ?, ?, ?)",
                           -1, &st, NULL) != SQLITE_OK)
        ok = 0;
    for (i = 0; ok && i < n; i++) {
        ok =
            bind_day(st, 1, day) == SQLITE_OK &&
            sqlite3_bind_text(st, 2, r[i].domain, -1, SQLITE_STATIC) ==
                SQLITE_OK &&
            sqlite3_bind_text(st, 3, r[i].report_id, -1, SQLITE_STATIC) ==
                SQLITE_OK &&
            sqlite3_bind_blob64(st, 4, r[i].json, r[i].len, SQLITE_STATIC) ==
                SQLITE_OK &&
            sqlite3_bind_int64(st, 5, (sqlite3_int64)time(NULL)) == SQLITE_OK &&
            sqlite3_step(st) == SQLITE_DONE;
        sqlite3_reset(st);
    }
    if (!ok) {
        db_fail(s, "recording reports");
        sqlite3_finalize(st);
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        return TD_ESTORE;
    }
    sqlite3_finalize(st);
    if (sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        db_fail(s, "recording reports (commit)");
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        return TD_ESTORE;
    }
    return 0;
}
