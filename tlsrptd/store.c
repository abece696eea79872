/*
 * The store: one SQLite database, DIR/tlsrptd.sqlite, in WAL mode with
 * synchronous=FULL (a committed save survives a crash of the process and
 * of the machine). Tables:
 *
 *   meta(name, value)                     schema = 2; seed (the random
 *                                         value that spreads the days'
 *                                         sending times)
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
 *   rua(day, domain, state, record, attempts, first_attempt,
 *       next_attempt, error)              the _smtp._tls lookup of a
 *                                         report: lookup (to do or to
 *                                         retry), ready (deliveries
 *                                         recorded), none (nowhere to
 *                                         send), elsewhere (another host
 *                                         of the fleet sends it)
 *   deliveries(day, domain, uri, kind, target, payload, content_type,
 *       state, attempts, first_attempt, next_attempt, done, error)
 *                                         one per usable rua of a
 *                                         report: the exact bytes to
 *                                         send (recorded before the
 *                                         first attempt), pending,
 *                                         delivered, failed (gave up) or
 *                                         elsewhere (by another host)
 *   sent_days(day, finished)              days whose sending is over
 *
 * Schema 1 (before report sending) is upgraded in place: the new tables
 * are added.
 * Every call is one statement or one transaction; a busy database is
 * waited for up to 10 s (the collector and the report command may run
 * at once).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "td.h"

#define SCHEMA "2"

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

/* End a write transaction whose rows went through st: finalize st, then
 * COMMIT when every row was ok, else (or when COMMIT fails) ROLLBACK and
 * TD_ESTORE with what (plus " (commit)") in the error. */
static int
tx_end(struct td_store *s, sqlite3_stmt *st, int ok, const char *what)
{
    char msg[96];

    if (!ok)
        db_fail(s, what);
    sqlite3_finalize(st);
    if (ok && sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK)
        return 0;
    if (ok) {
        snprintf(msg, sizeof(msg), "%s (commit)", what);
        db_fail(s, msg);
    }
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
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

/* Why dir cannot be written to, for an error message ("" when it can). */
static const char *
why_not_writable(const char *dir)
{
    struct statvfs vfs;

    if (statvfs(dir, &vfs) == 0 && (vfs.f_flag & ST_RDONLY) != 0)
        return " (the store directory is on a read-only file system)";
    if (access(dir, W_OK) != 0)
        return errno == EACCES ? " (the store directory is not writable)" : "";
    if (statvfs(dir, &vfs) == 0 && vfs.f_bavail == 0)
        return " (the file system of the store directory is full)";
    return "";
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
        " PRIMARY KEY(day, domain));"
        "CREATE TABLE IF NOT EXISTS rua(day TEXT NOT NULL,"
        " domain TEXT NOT NULL, state TEXT NOT NULL, record TEXT,"
        " attempts INTEGER NOT NULL, first_attempt INTEGER NOT NULL,"
        " next_attempt INTEGER NOT NULL, error TEXT,"
        " PRIMARY KEY(day, domain));"
        "CREATE TABLE IF NOT EXISTS deliveries(day TEXT NOT NULL,"
        " domain TEXT NOT NULL, uri TEXT NOT NULL, kind TEXT NOT NULL,"
        " target TEXT NOT NULL, payload BLOB NOT NULL,"
        " content_type TEXT NOT NULL, state TEXT NOT NULL,"
        " attempts INTEGER NOT NULL, first_attempt INTEGER NOT NULL,"
        " next_attempt INTEGER NOT NULL, done INTEGER NOT NULL,"
        " error TEXT, PRIMARY KEY(day, domain, uri));"
        "CREATE TABLE IF NOT EXISTS sent_days(day TEXT PRIMARY KEY,"
        " finished INTEGER NOT NULL);"
        "UPDATE meta SET value = '" SCHEMA "' WHERE name = 'schema'"
        " AND value = '1';";
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
        snprintf(err, err_len, "cannot open %s/%s: %s%s", dir, TD_STORE_FILE,
                 s->db != NULL ? sqlite3_errmsg(s->db) : "out of memory",
                 why_not_writable(dir));
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
    snprintf(err, err_len, "store %s/%s: %s%s", dir, TD_STORE_FILE, s->err,
             why_not_writable(dir));
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
    return tx_end(s, st, ok, "saving");
}

/* Whether the query sql (one parameter, the day) has a row: 1, 0, or -1
 * (logged, "what" names the reading). */
static int
day_has_row(struct td_store *s, const char *sql, int64_t day, const char *what)
{
    sqlite3_stmt *st;
    int rc;

    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
        return db_fail(s, what);
    bind_day(st, 1, day);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc == SQLITE_ROW)
        return 1;
    if (rc == SQLITE_DONE)
        return 0;
    return db_fail(s, what);
}

int
td_store_day_reported(struct td_store *s, int64_t day)
{
    return day_has_row(s, "SELECT 1 FROM reports WHERE day = ? LIMIT 1", day,
                       "reading the reports");
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
    return tx_end(s, st, ok, "recording reports");
}

/* ------------------------------------------------------------------ */
/* Sending state                                                       */
/* ------------------------------------------------------------------ */

static char *
dup_col(sqlite3_stmt *st, int col)
{
    const unsigned char *t = sqlite3_column_text(st, col);

    if (t == NULL)
        t = (const unsigned char *)"";
    return dup_text(t);
}

int
td_store_seed(struct td_store *s, uint64_t fresh, uint64_t *ret)
{
    sqlite3_stmt *st = NULL;
    char text[24];
    int ok;

    snprintf(text, sizeof(text), "%llu", (unsigned long long)fresh);
    ok = sqlite3_prepare_v2(s->db,
                            "INSERT OR IGNORE INTO meta VALUES('seed', ?)", -1,
                            &st, NULL) == SQLITE_OK &&
         sqlite3_bind_text(st, 1, text, -1, SQLITE_TRANSIENT) == SQLITE_OK &&
         sqlite3_step(st) == SQLITE_DONE;
    sqlite3_finalize(st);
    st = NULL;
    ok = ok &&
         sqlite3_prepare_v2(s->db, "SELECT value FROM meta WHERE name = 'seed'",
                            -1, &st, NULL) == SQLITE_OK &&
         sqlite3_step(st) == SQLITE_ROW;
    if (ok)
        *ret = strtoull((const char *)sqlite3_column_text(st, 0), NULL, 10);
    sqlite3_finalize(st);
    return ok ? 0 : db_fail(s, "reading the seed");
}

int
td_store_days(struct td_store *s, int64_t from, int64_t to, int64_t **ret,
              size_t *ret_n)
{
    sqlite3_stmt *st;
    int64_t *d = NULL, *nd, day;
    size_t n = 0, cap = 0;
    int rc;

    *ret = NULL;
    *ret_n = 0;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT day FROM days UNION SELECT day FROM "
                           "reports EXCEPT SELECT day FROM sent_days "
                           "ORDER BY 1",
                           -1, &st, NULL) != SQLITE_OK)
        return db_fail(s, "listing the days");
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        day = td_day_parse((const char *)sqlite3_column_text(st, 0));
        if (day < from || day >= to)
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 8;
            nd = realloc(d, cap * sizeof(*d));
            if (nd == NULL) {
                free(d);
                sqlite3_finalize(st);
                snprintf(s->err, sizeof(s->err), "out of memory");
                return MTASTS_ENOMEM;
            }
            d = nd;
        }
        d[n++] = day;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        free(d);
        return db_fail(s, "listing the days");
    }
    *ret = d;
    *ret_n = n;
    return 0;
}

int
td_store_day_finished(struct td_store *s, int64_t day)
{
    return day_has_row(s, "SELECT 1 FROM sent_days WHERE day = ?", day,
                       "reading the sent days");
}

int
td_store_day_finish(struct td_store *s, int64_t day)
{
    sqlite3_stmt *st = NULL;
    int ok;

    ok = sqlite3_prepare_v2(s->db,
                            "INSERT OR REPLACE INTO sent_days VALUES(?, ?)", -1,
                            &st, NULL) == SQLITE_OK &&
         bind_day(st, 1, day) == SQLITE_OK &&
         sqlite3_bind_int64(st, 2, (sqlite3_int64)time(NULL)) == SQLITE_OK &&
         sqlite3_step(st) == SQLITE_DONE;
    sqlite3_finalize(st);
    return ok ? 0 : db_fail(s, "recording a sent day");
}

int
td_store_prune(struct td_store *s, int64_t before, unsigned *ret_days)
{
    static const char *const tables[] = {"days", "days_bad",   "reports",
                                         "rua",  "deliveries", "sent_days"};
    sqlite3_stmt *st = NULL;
    char sql[128];
    size_t i;
    int ok = 1;

    *ret_days = 0;
    if (exec(s, "BEGIN IMMEDIATE", "removing old days") != 0)
        return TD_ESTORE;
    for (i = 0; ok && i < sizeof(tables) / sizeof(tables[0]); i++) {
        snprintf(sql, sizeof(sql), "DELETE FROM %s WHERE day < ?", tables[i]);
        ok = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) == SQLITE_OK &&
             bind_day(st, 1, before) == SQLITE_OK &&
             sqlite3_step(st) == SQLITE_DONE;
        if (ok && i == 0)
            *ret_days = (unsigned)sqlite3_changes(s->db);
        sqlite3_finalize(st);
        st = NULL;
    }
    if (!ok) {
        db_fail(s, "removing old days");
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        return TD_ESTORE;
    }
    return exec(s, "COMMIT", "removing old days");
}

static const char *const rua_states[] = {"", "lookup", "ready", "none",
                                         "elsewhere"};
static const char *const dlv_states[] = {"pending", "delivered", "failed",
                                         "elsewhere"};

static int
state_of(const char *const *names, size_t n, const unsigned char *t)
{
    size_t i;

    for (i = 0; t != NULL && i < n; i++)
        if (strcmp(names[i], (const char *)t) == 0)
            return (int)i;
    return -1;
}

int
td_store_rua_get(struct td_store *s, int64_t day, const char *domain,
                 struct td_rua *r)
{
    sqlite3_stmt *st;
    int rc;

    memset(r, 0, sizeof(*r));
    if (sqlite3_prepare_v2(s->db,
                           "SELECT state, record, attempts, first_attempt, "
                           "next_attempt, error FROM rua WHERE day = ? AND "
                           "domain = ?",
                           -1, &st, NULL) != SQLITE_OK)
        return db_fail(s, "reading a lookup state");
    bind_day(st, 1, day);
    sqlite3_bind_text(st, 2, domain, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        r->state = state_of(rua_states, 5, sqlite3_column_text(st, 0));
        if (r->state <= 0)
            r->state = TD_RUA_LOOKUP;
        snprintf(r->record, sizeof(r->record), "%s",
                 sqlite3_column_text(st, 1) != NULL
                     ? (const char *)sqlite3_column_text(st, 1)
                     : "");
        r->attempts = (unsigned)sqlite3_column_int64(st, 2);
        r->first = sqlite3_column_int64(st, 3);
        r->next = sqlite3_column_int64(st, 4);
        snprintf(r->error, sizeof(r->error), "%s",
                 sqlite3_column_text(st, 5) != NULL
                     ? (const char *)sqlite3_column_text(st, 5)
                     : "");
    }
    sqlite3_finalize(st);
    if (rc == SQLITE_ROW || rc == SQLITE_DONE)
        return 0;
    return db_fail(s, "reading a lookup state");
}

static int
rua_put(struct td_store *s, int64_t day, const char *domain,
        const struct td_rua *r)
{
    sqlite3_stmt *st = NULL;
    int ok;

    ok = sqlite3_prepare_v2(s->db,
                            "INSERT OR REPLACE INTO rua VALUES(?, ?, ?, ?, ?, "
                            "?, ?, ?)",
                            -1, &st, NULL) == SQLITE_OK &&
         bind_day(st, 1, day) == SQLITE_OK &&
         sqlite3_bind_text(st, 2, domain, -1, SQLITE_STATIC) == SQLITE_OK &&
         sqlite3_bind_text(st, 3, rua_states[r->state], -1, SQLITE_STATIC) ==
             SQLITE_OK &&
         sqlite3_bind_text(st, 4, r->record, -1, SQLITE_STATIC) == SQLITE_OK &&
         sqlite3_bind_int64(st, 5, (sqlite3_int64)r->attempts) == SQLITE_OK &&
         sqlite3_bind_int64(st, 6, r->first) == SQLITE_OK &&
         sqlite3_bind_int64(st, 7, r->next) == SQLITE_OK &&
         sqlite3_bind_text(st, 8, r->error, -1, SQLITE_STATIC) == SQLITE_OK &&
         sqlite3_step(st) == SQLITE_DONE;
    sqlite3_finalize(st);
    return ok ? 0 : db_fail(s, "recording a lookup state");
}

int
td_store_rua_put(struct td_store *s, int64_t day, const char *domain,
                 const struct td_rua *r)
{
    return rua_put(s, day, domain, r);
}

int
td_store_rua_ready(struct td_store *s, int64_t day, const char *domain,
                   const struct td_rua *r, const struct td_delivery *d,
                   size_t n)
{
    sqlite3_stmt *st = NULL;
    size_t i;
    int ok = 1;

    if (exec(s, "BEGIN IMMEDIATE", "recording deliveries") != 0)
        return TD_ESTORE;
    if (sqlite3_prepare_v2(s->db,
                           "INSERT OR IGNORE INTO deliveries VALUES(?, ?, ?, "
                           "?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                           -1, &st, NULL) != SQLITE_OK)
        ok = 0;
    for (i = 0; ok && i < n; i++) {
        ok = bind_day(st, 1, day) == SQLITE_OK &&
             sqlite3_bind_text(st, 2, domain, -1, SQLITE_STATIC) == SQLITE_OK &&
             sqlite3_bind_text(st, 3, d[i].uri, -1, SQLITE_STATIC) ==
                 SQLITE_OK &&
             sqlite3_bind_text(st, 4,
                               d[i].kind == TD_KIND_MAILTO ? "mailto" : "https",
                               -1, SQLITE_STATIC) == SQLITE_OK &&
             sqlite3_bind_text(st, 5, d[i].target, -1, SQLITE_STATIC) ==
                 SQLITE_OK &&
             sqlite3_bind_blob64(st, 6, d[i].payload, d[i].len,
                                 SQLITE_STATIC) == SQLITE_OK &&
             sqlite3_bind_text(st, 7, d[i].content_type, -1, SQLITE_STATIC) ==
                 SQLITE_OK &&
             sqlite3_bind_text(st, 8, dlv_states[d[i].state], -1,
                               SQLITE_STATIC) == SQLITE_OK &&
             sqlite3_bind_int64(st, 9, (sqlite3_int64)d[i].attempts) ==
                 SQLITE_OK &&
             sqlite3_bind_int64(st, 10, d[i].first) == SQLITE_OK &&
             sqlite3_bind_int64(st, 11, d[i].next) == SQLITE_OK &&
             sqlite3_bind_int64(st, 12, d[i].done) == SQLITE_OK &&
             sqlite3_bind_text(st, 13, d[i].error ? d[i].error : "", -1,
                               SQLITE_STATIC) == SQLITE_OK &&
             sqlite3_step(st) == SQLITE_DONE;
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    if (ok)
        ok = rua_put(s, day, domain, r) == 0;
    if (!ok) {
        if (sqlite3_errcode(s->db) != SQLITE_OK)
            db_fail(s, "recording deliveries");
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        return TD_ESTORE;
    }
    if (sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        db_fail(s, "recording deliveries (commit)");
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        return TD_ESTORE;
    }
    return 0;
}

void
td_store_deliveries_free(struct td_delivery *d, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        free(d[i].uri);
        free(d[i].target);
        free(d[i].payload);
        free(d[i].content_type);
        free(d[i].error);
    }
    free(d);
}

int
td_store_deliveries_get(struct td_store *s, int64_t day, const char *domain,
                        struct td_delivery **ret, size_t *ret_n)
{
    struct td_delivery *d = NULL, *nd, *e;
    sqlite3_stmt *st;
    size_t n = 0, cap = 0;
    int rc;

    *ret = NULL;
    *ret_n = 0;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT uri, kind, target, payload, content_type, "
                           "state, attempts, first_attempt, next_attempt, "
                           "done, error FROM deliveries WHERE day = ? AND "
                           "domain = ? ORDER BY uri",
                           -1, &st, NULL) != SQLITE_OK)
        return db_fail(s, "reading deliveries");
    bind_day(st, 1, day);
    sqlite3_bind_text(st, 2, domain, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == cap) {
            cap = cap ? 2 * cap : 4;
            nd = realloc(d, cap * sizeof(*d));
            if (nd == NULL)
                goto oom;
            d = nd;
        }
        e = &d[n++];
        memset(e, 0, sizeof(*e));
        e->uri = dup_col(st, 0);
        e->kind =
            strcmp((const char *)sqlite3_column_text(st, 1), "mailto") == 0
                ? TD_KIND_MAILTO
                : TD_KIND_HTTPS;
        e->target = dup_col(st, 2);
        e->len = (size_t)sqlite3_column_bytes(st, 3);
        e->payload = malloc(e->len + 1);
        e->content_type = dup_col(st, 4);
        e->state = state_of(dlv_states, 4, sqlite3_column_text(st, 5));
        if (e->state < 0)
            e->state = TD_DLV_PENDING;
        e->attempts = (unsigned)sqlite3_column_int64(st, 6);
        e->first = sqlite3_column_int64(st, 7);
        e->next = sqlite3_column_int64(st, 8);
        e->done = sqlite3_column_int64(st, 9);
        e->error = dup_col(st, 10);
        if (e->uri == NULL || e->target == NULL || e->payload == NULL ||
            e->content_type == NULL || e->error == NULL)
            goto oom;
        if (e->len > 0)
            memcpy(e->payload, sqlite3_column_blob(st, 3), e->len);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        td_store_deliveries_free(d, n);
        return db_fail(s, "reading deliveries");
    }
    *ret = d;
    *ret_n = n;
    return 0;
oom:
    sqlite3_finalize(st);
    td_store_deliveries_free(d, n);
    snprintf(s->err, sizeof(s->err), "out of memory");
    return MTASTS_ENOMEM;
}

int
td_store_delivery_update(struct td_store *s, int64_t day, const char *domain,
                         const struct td_delivery *d)
{
    sqlite3_stmt *st = NULL;
    int ok;

    ok = sqlite3_prepare_v2(s->db,
                            "UPDATE deliveries SET state = ?, attempts = ?, "
                            "first_attempt = ?, next_attempt = ?, done = ?, "
                            "error = ? WHERE day = ? AND domain = ? AND "
                            "uri = ?",
                            -1, &st, NULL) == SQLITE_OK &&
         sqlite3_bind_text(st, 1, dlv_states[d->state], -1, SQLITE_STATIC) ==
             SQLITE_OK &&
         sqlite3_bind_int64(st, 2, (sqlite3_int64)d->attempts) == SQLITE_OK &&
         sqlite3_bind_int64(st, 3, d->first) == SQLITE_OK &&
         sqlite3_bind_int64(st, 4, d->next) == SQLITE_OK &&
         sqlite3_bind_int64(st, 5, d->done) == SQLITE_OK &&
         sqlite3_bind_text(st, 6, d->error ? d->error : "", -1,
                           SQLITE_STATIC) == SQLITE_OK &&
         bind_day(st, 7, day) == SQLITE_OK &&
         sqlite3_bind_text(st, 8, domain, -1, SQLITE_STATIC) == SQLITE_OK &&
         sqlite3_bind_text(st, 9, d->uri, -1, SQLITE_STATIC) == SQLITE_OK &&
         sqlite3_step(st) == SQLITE_DONE;
    sqlite3_finalize(st);
    return ok ? 0 : db_fail(s, "recording a delivery attempt");
}
