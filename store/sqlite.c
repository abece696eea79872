/*
 * The SQLite backend: one database file in WAL mode, shared by several
 * processes (Exim's delivery processes, a daemon and its tools). Every
 * write is one statement, so SQLite's own locking makes it atomic across
 * processes; a process that finds the file locked waits up to the busy
 * timeout, then the store degrades to memory.
 *
 * Schema (user_version 1):
 *   mtasts_cache(domain TEXT PRIMARY KEY, entry BLOB, fetched,
 *                policy_expires, backoff_until, last_used, expires_at,
 *                updated_at)
 * fetched .. last_used are the entry's order (README.md, "Order"),
 * expires_at its horizon, updated_at the time of the write.
 */
#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

#include "store_int.h"

#define SCHEMA_VERSION 1

struct sq {
    sqlite3 *db;
    sqlite3_stmt *get, *upsert, *winner, *del, *del_if, *purge;
};

static const char schema_sql[] =
    "CREATE TABLE IF NOT EXISTS mtasts_cache ("
    " domain TEXT PRIMARY KEY NOT NULL,"
    " entry BLOB NOT NULL,"
    " fetched INTEGER NOT NULL,"
    " policy_expires INTEGER NOT NULL,"
    " backoff_until INTEGER NOT NULL,"
    " last_used INTEGER NOT NULL,"
    " expires_at INTEGER NOT NULL,"
    " updated_at INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS mtasts_cache_expires_at"
    " ON mtasts_cache(expires_at);";

static const char get_sql[] = "SELECT entry FROM mtasts_cache"
                              " WHERE domain = ?1 AND expires_at > ?2";

/* One statement: insert, or replace a row whose entry is not newer in
 * the order, or whose horizon has passed. */
static const char upsert_sql[] =
    "INSERT INTO mtasts_cache(domain, entry, fetched, policy_expires,"
    " backoff_until, last_used, expires_at, updated_at)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
    " ON CONFLICT(domain) DO UPDATE SET entry = excluded.entry,"
    " fetched = excluded.fetched,"
    " policy_expires = excluded.policy_expires,"
    " backoff_until = excluded.backoff_until,"
    " last_used = excluded.last_used,"
    " expires_at = excluded.expires_at,"
    " updated_at = excluded.updated_at"
    " WHERE mtasts_cache.expires_at <= excluded.updated_at"
    " OR (excluded.fetched, excluded.policy_expires, excluded.backoff_until,"
    " excluded.last_used) >= (mtasts_cache.fetched,"
    " mtasts_cache.policy_expires, mtasts_cache.backoff_until,"
    " mtasts_cache.last_used)";

static const char winner_sql[] =
    "SELECT entry FROM mtasts_cache WHERE domain = ?1";
static const char del_sql[] = "DELETE FROM mtasts_cache WHERE domain = ?1";
static const char del_if_sql[] =
    "DELETE FROM mtasts_cache WHERE domain = ?1 AND entry = ?2";
static const char purge_sql[] =
    "DELETE FROM mtasts_cache WHERE expires_at <= ?1";

/* An SQLite result code as a store result; the text goes to s->err. */
static int
fail(mtasts_store *s, int rc, const char *what)
{
    struct sq *q = s->be;
    char prefix[64];

    if (rc == SQLITE_NOMEM)
        return MTASTS_ENOMEM;
    snprintf(prefix, sizeof(prefix), "%s: ", what);
    st_set_err(s, prefix,
               q->db != NULL ? sqlite3_errmsg(q->db) : sqlite3_errstr(rc));
    return ST_EBACKEND;
}

static void
sq_disconnect(mtasts_store *s)
{
    struct sq *q = s->be;

    if (q == NULL)
        return;
    sqlite3_finalize(q->get);
    sqlite3_finalize(q->upsert);
    sqlite3_finalize(q->winner);
    sqlite3_finalize(q->del);
    sqlite3_finalize(q->del_if);
    sqlite3_finalize(q->purge);
    sqlite3_close(q->db);
    memset(q, 0, sizeof(*q));
}

/* One-row pragma: its text result into dst (may be NULL). */
static int
pragma(mtasts_store *s, const char *sql, char *dst, size_t dst_len)
{
    struct sq *q = s->be;
    sqlite3_stmt *st = NULL;
    int rc;

    rc = sqlite3_prepare_v2(q->db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK)
        return fail(s, rc, sql);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW && dst != NULL) {
        const unsigned char *t = sqlite3_column_text(st, 0);
        snprintf(dst, dst_len, "%s", t != NULL ? (const char *)t : "");
    }
    if (rc == SQLITE_ROW || rc == SQLITE_DONE) {
        sqlite3_finalize(st);
        return MTASTS_OK;
    }
    rc = fail(s, rc, sql);
    sqlite3_finalize(st);
    return rc;
}

static int
prepare(mtasts_store *s, const char *sql, sqlite3_stmt **st)
{
    struct sq *q = s->be;
    int rc =
        sqlite3_prepare_v3(q->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL);

    return rc == SQLITE_OK ? MTASTS_OK : fail(s, rc, "prepare");
}

static int
sq_connect_steps(mtasts_store *s)
{
    struct sq *q = s->be;
    char mode[32] = "", ver[32] = "";
    char *errmsg = NULL;
    int rc;

    rc = sqlite3_open_v2(
        s->sqlite_path, &q->db,
        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK)
        return fail(s, rc, "open");
    sqlite3_extended_result_codes(q->db, 1);
    sqlite3_busy_timeout(q->db, s->sqlite_busy_timeout_ms);
    rc = pragma(s, "PRAGMA journal_mode=WAL", mode, sizeof(mode));
    if (rc != MTASTS_OK)
        return rc;
    if (strcmp(mode, "wal") != 0)
        st_log(s, MTASTS_STORE_LOG_WARNING, 0,
               "store backend=sqlite journal_mode=%s warning=\"WAL is not "
               "available on this file system; writers lock readers out\"",
               mode);
    rc = pragma(s, "PRAGMA synchronous=NORMAL", NULL, 0);
    if (rc != MTASTS_OK)
        return rc;
    rc = pragma(s, "PRAGMA user_version", ver, sizeof(ver));
    if (rc != MTASTS_OK)
        return rc;
    if (strcmp(ver, "0") != 0 && strcmp(ver, "1") != 0) {
        snprintf(s->err, sizeof(s->err),
                 "schema version %s is newer than this program's (%d)", ver,
                 SCHEMA_VERSION);
        return ST_EBACKEND;
    }
    rc = sqlite3_exec(q->db, schema_sql, NULL, NULL, &errmsg);
    if (rc != SQLITE_OK) {
        sqlite3_free(errmsg);
        return fail(s, rc, "create table");
    }
    sqlite3_free(errmsg);
    if (strcmp(ver, "0") == 0) {
        rc = pragma(s, "PRAGMA user_version=1", NULL, 0);
        if (rc != MTASTS_OK)
            return rc;
    }
    if ((rc = prepare(s, get_sql, &q->get)) != MTASTS_OK ||
        (rc = prepare(s, upsert_sql, &q->upsert)) != MTASTS_OK ||
        (rc = prepare(s, winner_sql, &q->winner)) != MTASTS_OK ||
        (rc = prepare(s, del_sql, &q->del)) != MTASTS_OK ||
        (rc = prepare(s, del_if_sql, &q->del_if)) != MTASTS_OK ||
        (rc = prepare(s, purge_sql, &q->purge)) != MTASTS_OK)
        return rc;
    return MTASTS_OK;
}

static int
sq_connect(mtasts_store *s)
{
    int rc = sq_connect_steps(s);

    if (rc != MTASTS_OK)
        sq_disconnect(s);
    return rc;
}

/* The end of a statement whose step gave rc, not a row: SQLITE_DONE is
 * MTASTS_OK, anything else a failure of the backend (fail()); the
 * statement is reset either way. */
static int
step_end(mtasts_store *s, sqlite3_stmt *st, int rc, const char *what)
{
    if (rc == SQLITE_DONE) {
        sqlite3_reset(st);
        return MTASTS_OK;
    }
    rc = fail(s, rc, what);
    sqlite3_reset(st);
    return rc;
}

/* Run a statement that returns no row; reset it whatever happens. */
static int
run(mtasts_store *s, sqlite3_stmt *st, const char *what)
{
    return step_end(s, st, sqlite3_step(st), what);
}

/* Run a query of one blob column; copies the first row's blob to out. */
static int
query_blob(mtasts_store *s, sqlite3_stmt *st, struct st_buf *out, int *found,
           const char *what)
{
    int rc = sqlite3_step(st);

    *found = 0;
    if (rc == SQLITE_ROW) {
        const void *p = sqlite3_column_blob(st, 0);
        int n = sqlite3_column_bytes(st, 0);
        if (n < 0)
            n = 0;
        rc = st_buf_set(s, out, p, (size_t)n);
        sqlite3_reset(st);
        if (rc != MTASTS_OK)
            return rc;
        *found = 1;
        return MTASTS_OK;
    }
    return step_end(s, st, rc, what);
}

static int
bind_key(sqlite3_stmt *st, const char *key, size_t key_len)
{
    return sqlite3_bind_text(st, 1, key, (int)key_len, SQLITE_STATIC);
}

static int
sq_get(mtasts_store *s, const char *key, size_t key_len, int64_t now,
       struct st_buf *out, int *found)
{
    struct sq *q = s->be;
    int rc;

    if ((rc = bind_key(q->get, key, key_len)) != SQLITE_OK ||
        (rc = sqlite3_bind_int64(q->get, 2, now)) != SQLITE_OK)
        return fail(s, rc, "bind");
    rc = query_blob(s, q->get, out, found, "get");
    sqlite3_clear_bindings(q->get);
    return rc;
}

static int
sq_upsert(mtasts_store *s, const char *key, size_t key_len,
          const uint8_t *entry, size_t entry_len, const struct st_order *o,
          int64_t horizon, int64_t now, struct st_buf *winner, int *kept)
{
    struct sq *q = s->be;
    sqlite3_stmt *st = q->upsert;
    int rc, i, found = 0;

    *kept = 0;
    if (entry_len > (size_t)INT32_MAX)
        return MTASTS_ETOOBIG;
    if ((rc = bind_key(st, key, key_len)) != SQLITE_OK ||
        (rc = sqlite3_bind_blob(st, 2, entry, (int)entry_len, SQLITE_STATIC)) !=
            SQLITE_OK)
        return fail(s, rc, "bind");
    for (i = 0; i < 4; i++) {
        rc = sqlite3_bind_int64(st, 3 + i, o->v[i]);
        if (rc != SQLITE_OK)
            return fail(s, rc, "bind");
    }
    if ((rc = sqlite3_bind_int64(st, 7, horizon)) != SQLITE_OK ||
        (rc = sqlite3_bind_int64(st, 8, now)) != SQLITE_OK)
        return fail(s, rc, "bind");
    rc = run(s, st, "put");
    sqlite3_clear_bindings(st);
    if (rc != MTASTS_OK)
        return rc;
    if (sqlite3_changes(q->db) > 0)
        return MTASTS_OK;
    /* the row holds a newer entry: read it (another process may have
     * deleted it meanwhile; then ours is simply not written) */
    if ((rc = bind_key(q->winner, key, key_len)) != SQLITE_OK)
        return fail(s, rc, "bind");
    rc = query_blob(s, q->winner, winner, &found, "put");
    sqlite3_clear_bindings(q->winner);
    if (rc != MTASTS_OK)
        return rc;
    *kept = found;
    return MTASTS_OK;
}

static int
sq_del(mtasts_store *s, const char *key, size_t key_len,
       const uint8_t *expected, size_t expected_len)
{
    struct sq *q = s->be;
    sqlite3_stmt *st = expected != NULL ? q->del_if : q->del;
    int rc;

    if (expected_len > (size_t)INT32_MAX)
        return MTASTS_OK; /* cannot be stored bytes */
    if ((rc = bind_key(st, key, key_len)) != SQLITE_OK)
        return fail(s, rc, "bind");
    if (expected != NULL &&
        (rc = sqlite3_bind_blob(st, 2, expected, (int)expected_len,
                                SQLITE_STATIC)) != SQLITE_OK)
        return fail(s, rc, "bind");
    rc = run(s, st, "delete");
    sqlite3_clear_bindings(st);
    return rc;
}

static int
sq_purge(mtasts_store *s, int64_t now, size_t *ret_removed)
{
    struct sq *q = s->be;
    int rc;

    *ret_removed = 0;
    if ((rc = sqlite3_bind_int64(q->purge, 1, now)) != SQLITE_OK)
        return fail(s, rc, "bind");
    rc = run(s, q->purge, "purge");
    if (rc == MTASTS_OK)
        *ret_removed = (size_t)sqlite3_changes(q->db);
    return rc;
}

static void
sq_free(mtasts_store *s)
{
    if (s->be == NULL)
        return;
    sq_disconnect(s);
    st_free(s, s->be, sizeof(struct sq));
    s->be = NULL;
}

const struct st_ops st_sqlite_ops = {
    sq_connect, sq_disconnect, sq_get, sq_upsert,
    sq_del,     sq_purge,      NULL,   sq_free,
};

int
st_sqlite_init(mtasts_store *s)
{
    struct sq *q = st_alloc(s, sizeof(*q));

    if (q == NULL)
        return MTASTS_ENOMEM;
    memset(q, 0, sizeof(*q));
    s->be = q;
    s->ops = &st_sqlite_ops;
    return MTASTS_OK;
}
