/*
 * The Redis backend (hiredis 0.14 or later): keys <prefix>:<domain>, the
 * value the entry bytes, a TTL (PX) of the entry's horizon minus now.
 * Writes go through one Lua script run by the server (EVAL), so reading
 * the stored entry, comparing the order and writing are one atomic step
 * for every client of the server (README.md, "Order").
 *
 * Two modes: blocking (a redisContext with connect and command timeouts,
 * for the Exim module and tools) and asynchronous (a redisAsyncContext on
 * the caller's libevent 2 loop through hiredis's libevent adapter, for
 * the daemon). hiredis 0.14 has no asynchronous timeouts: one libevent
 * timer watches the oldest request sent (replies come in order) and the
 * connection setup, and drops the connection when it is late.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include <event2/event.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#if defined(__GNUC__) || defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wcast-qual"
#pragma GCC diagnostic ignored "-Wconversion"
#pragma GCC diagnostic ignored "-Wsign-conversion"
#endif
#include <hiredis/adapters/libevent.h>
#if defined(__GNUC__) || defined(__clang__)
#pragma GCC diagnostic pop
#endif

#include "store_int.h"

/* KEYS[1] the key; ARGV[1] the entry; ARGV[2..5] its fetched, expires,
 * backoff-until and last-used (decimal, no leading zero); ARGV[6] the TTL
 * in milliseconds. Writes unless the stored entry is newer; returns 1
 * when written, else the stored bytes. A stored value that is not a
 * string, or lacks a field, counts as oldest. Numbers are compared as
 * digit strings (length, then bytes), exact at any size and free of the
 * locale's collation. */
static const char upsert_lua[] =
    "local cur = redis.pcall('GET', KEYS[1])\n"
    "if type(cur) == 'string' then\n"
    "  local function cmp(a, b)\n"
    "    if #a ~= #b then\n"
    "      if #a < #b then return -1 end\n"
    "      return 1\n"
    "    end\n"
    "    for i = 1, #a do\n"
    "      local x, y = string.byte(a, i), string.byte(b, i)\n"
    "      if x ~= y then\n"
    "        if x < y then return -1 end\n"
    "        return 1\n"
    "      end\n"
    "    end\n"
    "    return 0\n"
    "  end\n"
    "  local names = {'fetched', 'expires', 'backoff%-until', "
    "'last%-used'}\n"
    "  for i = 1, 4 do\n"
    "    local v = string.match(cur, '\\n' .. names[i] .. '=(%d+)\\n') "
    "or ''\n"
    "    local c = cmp(ARGV[i + 1], v)\n"
    "    if c < 0 then return cur end\n"
    "    if c > 0 then break end\n"
    "  end\n"
    "end\n"
    "redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[6])\n"
    "return 1\n";

/* KEYS[1] the key, ARGV[1] the bytes expected: delete while equal. */
static const char del_if_lua[] =
    "if redis.pcall('GET', KEYS[1]) == ARGV[1] then\n"
    "  return redis.call('DEL', KEYS[1])\n"
    "end\n"
    "return 0\n";

/* The longest TTL written: 2^31 seconds (entries live weeks at most). */
#define TTL_MAX_S INT64_C(2147483648)

struct rd {
    redisContext *c;       /* blocking */
    redisAsyncContext *ac; /* asynchronous */
    struct event *timer;   /* asynchronous: the oldest request's deadline */
    struct st_req *head, *tail; /* asynchronous: requests sent, in order */
    int connecting;
};

/* ------------------------------------------------------------------ */
/* Commands                                                            */
/* ------------------------------------------------------------------ */

/* The key <prefix>:<domain> into buf (at least 256 + 1 + ST_KEY_MAX). */
static size_t
make_key(const mtasts_store *s, const char *key, size_t key_len, char *buf)
{
    memcpy(buf, s->redis_prefix, s->redis_prefix_len);
    buf[s->redis_prefix_len] = ':';
    memcpy(buf + s->redis_prefix_len + 1, key, key_len);
    return s->redis_prefix_len + 1 + key_len;
}

#define KEYBUF (256 + 1 + ST_KEY_MAX)

struct cmd {
    int argc;
    const char *argv[10];
    size_t len[10];
    char key[KEYBUF];
    char num[5][24];
};

static void
arg(struct cmd *c, const void *p, size_t n)
{
    c->argv[c->argc] = p;
    c->len[c->argc] = n;
    c->argc++;
}

static void
arg_str(struct cmd *c, const char *p)
{
    arg(c, p, strlen(p));
}

static void
arg_num(struct cmd *c, int i, int64_t v)
{
    int n = snprintf(c->num[i], sizeof(c->num[i]), "%" PRId64, v);
    arg(c, c->num[i], n > 0 ? (size_t)n : 0);
}

static void
cmd_get(const mtasts_store *s, struct cmd *c, const char *key, size_t kl)
{
    c->argc = 0;
    arg_str(c, "GET");
    arg(c, c->key, make_key(s, key, kl, c->key));
}

static void
cmd_upsert(const mtasts_store *s, struct cmd *c, const char *key, size_t kl,
           const uint8_t *entry, size_t entry_len, const struct st_order *o,
           int64_t horizon, int64_t now)
{
    int64_t ttl = horizon - now;
    int i;

    if (ttl > TTL_MAX_S)
        ttl = TTL_MAX_S;
    c->argc = 0;
    arg_str(c, "EVAL");
    arg(c, upsert_lua, sizeof(upsert_lua) - 1);
    arg_str(c, "1");
    arg(c, c->key, make_key(s, key, kl, c->key));
    arg(c, entry, entry_len);
    for (i = 0; i < 4; i++)
        arg_num(c, i, o->v[i]);
    arg_num(c, 4, ttl * 1000);
}

static void
cmd_del(const mtasts_store *s, struct cmd *c, const char *key, size_t kl,
        const uint8_t *expected, size_t expected_len)
{
    c->argc = 0;
    if (expected != NULL) {
        arg_str(c, "EVAL");
        arg(c, del_if_lua, sizeof(del_if_lua) - 1);
        arg_str(c, "1");
        arg(c, c->key, make_key(s, key, kl, c->key));
        arg(c, expected, expected_len);
    } else {
        arg_str(c, "DEL");
        arg(c, c->key, make_key(s, key, kl, c->key));
    }
}

/* What the reply rep to a request of the kind (ST_REQ_..., both modes)
 * says. GET: MTASTS_OK (the entry, a string), MTASTS_NONE (nil) or
 * ST_EWRONGTYPE; PUT: MTASTS_OK (written, an integer) or MTASTS_NONE (a
 * newer entry kept, its bytes a string); DEL and SETUP: MTASTS_OK unless
 * an error. Anything else is ST_EBACKEND with s->err set: an error reply
 * (AUTH, READONLY, OOM...) is the server's failure, its message kept; a
 * reply of another kind is the text unexpected. */
static int
reply_kind(mtasts_store *s, int kind, const redisReply *rep,
           const char *unexpected)
{
    int err = rep->type == REDIS_REPLY_ERROR;

    if (kind == ST_REQ_GET && rep->type == REDIS_REPLY_STRING)
        return MTASTS_OK;
    if (kind == ST_REQ_GET && rep->type == REDIS_REPLY_NIL)
        return MTASTS_NONE;
    if (kind == ST_REQ_GET && err && rep->str != NULL &&
        strncmp(rep->str, "WRONGTYPE", 9) == 0)
        return ST_EWRONGTYPE;
    if (kind == ST_REQ_PUT && rep->type == REDIS_REPLY_INTEGER)
        return MTASTS_OK;
    if (kind == ST_REQ_PUT && rep->type == REDIS_REPLY_STRING)
        return MTASTS_NONE;
    if ((kind == ST_REQ_DEL || kind == ST_REQ_SETUP) && !err)
        return MTASTS_OK;
    if (err)
        st_set_err(s, "server: ", rep->str != NULL ? rep->str : "error reply");
    else
        st_set_err(s, "", unexpected);
    return ST_EBACKEND;
}

/* ------------------------------------------------------------------ */
/* Blocking mode                                                       */
/* ------------------------------------------------------------------ */

static struct timeval
tv_ms(int ms)
{
    struct timeval tv;

    tv.tv_sec = ms / 1000;
    tv.tv_usec = (ms % 1000) * 1000;
    return tv;
}

static void
rb_disconnect(mtasts_store *s)
{
    struct rd *r = s->be;

    if (r != NULL && r->c != NULL) {
        redisFree(r->c);
        r->c = NULL;
    }
}

static int
ctx_fail(mtasts_store *s, const char *what)
{
    struct rd *r = s->be;
    const char *msg = r->c != NULL ? r->c->errstr : "no connection";

    /* a read that timed out reads as EAGAIN (SO_RCVTIMEO) */
    if (r->c != NULL && r->c->err == REDIS_ERR_IO &&
        (strcmp(msg, strerror(EAGAIN)) == 0 ||
         strcmp(msg, strerror(EWOULDBLOCK)) == 0))
        msg = "command timeout";
    st_set_err(s, what, msg);
    rb_disconnect(s);
    return ST_EBACKEND;
}

/* reply_kind() for the blocking mode: a reply that is not one drops the
 * connection. */
static int
rb_reply(mtasts_store *s, int kind, const redisReply *rep,
         const char *unexpected)
{
    int rc = reply_kind(s, kind, rep, unexpected);

    if (rc == ST_EBACKEND)
        rb_disconnect(s);
    return rc;
}

/* The end of a reply that must not be an error (DEL, AUTH, SELECT, PING);
 * the reply is freed. */
static int
reply_end(mtasts_store *s, redisReply *rep)
{
    int rc = rb_reply(s, ST_REQ_DEL, rep, "unexpected reply");

    freeReplyObject(rep);
    return rc;
}

/* A command whose reply must not be an error (AUTH, SELECT, PING). */
static int
simple(mtasts_store *s, int argc, const char **argv, const size_t *len)
{
    struct rd *r = s->be;
    redisReply *rep = redisCommandArgv(r->c, argc, argv, len);

    if (rep == NULL)
        return ctx_fail(s, "");
    return reply_end(s, rep);
}

static int
rb_connect(mtasts_store *s)
{
    struct rd *r = s->be;
    struct timeval ct = tv_ms(s->redis_connect_timeout_ms);
    char db[24];
    const char *argv[2];
    size_t len[2];
    int rc;

    rb_disconnect(s);
    if (s->redis_unix_path != NULL)
        r->c = redisConnectUnixWithTimeout(s->redis_unix_path, ct);
    else
        r->c = redisConnectWithTimeout(s->redis_host, s->redis_port, ct);
    if (r->c == NULL)
        return MTASTS_ENOMEM;
    if (r->c->err)
        return ctx_fail(s, "connect: ");
    if (redisSetTimeout(r->c, tv_ms(s->redis_command_timeout_ms)) != REDIS_OK)
        return ctx_fail(s, "connect: ");
    if (s->redis_password != NULL) {
        argv[0] = "AUTH";
        argv[1] = s->redis_password;
        len[0] = 4;
        len[1] = strlen(s->redis_password);
        if ((rc = simple(s, 2, argv, len)) != MTASTS_OK)
            return rc;
    }
    if (s->redis_db > 0) {
        snprintf(db, sizeof(db), "%d", s->redis_db);
        argv[0] = "SELECT";
        argv[1] = db;
        len[0] = 6;
        len[1] = strlen(db);
        if ((rc = simple(s, 2, argv, len)) != MTASTS_OK)
            return rc;
    }
    argv[0] = "PING";
    len[0] = 4;
    return simple(s, 1, argv, len);
}

/* Run a command; a connection the server closed (idle timeout, restart)
 * is made again once and the command repeated (every command here is
 * idempotent). *ret is the reply, or NULL with ST_EBACKEND. */
static int
command(mtasts_store *s, struct cmd *c, redisReply **ret)
{
    struct rd *r = s->be;
    int tries, rc;

    *ret = NULL;
    for (tries = 0; tries < 2; tries++) {
        if (r->c == NULL) {
            rc = rb_connect(s);
            if (rc != MTASTS_OK)
                return rc;
        }
        *ret = redisCommandArgv(r->c, c->argc, c->argv, c->len);
        if (*ret != NULL)
            return MTASTS_OK;
        if (r->c->err != REDIS_ERR_EOF || tries > 0)
            return ctx_fail(s, "");
        rb_disconnect(s);
    }
    return ST_EBACKEND;
}

static int
rb_get(mtasts_store *s, const char *key, size_t key_len, int64_t now,
       struct st_buf *out, int *found)
{
    struct cmd c;
    redisReply *rep;
    int rc;

    (void)now;
    *found = 0;
    cmd_get(s, &c, key, key_len);
    rc = command(s, &c, &rep);
    if (rc != MTASTS_OK)
        return rc;
    rc = rb_reply(s, ST_REQ_GET, rep, "unexpected reply to GET");
    if (rc == MTASTS_OK) {
        rc = st_buf_set(s, out, rep->str, rep->len);
        *found = rc == MTASTS_OK;
    } else if (rc == MTASTS_NONE)
        rc = MTASTS_OK;
    freeReplyObject(rep);
    return rc;
}

static int
rb_upsert(mtasts_store *s, const char *key, size_t key_len,
          const uint8_t *entry, size_t entry_len, const struct st_order *o,
          int64_t horizon, int64_t now, struct st_buf *winner, int *kept)
{
    struct cmd c;
    redisReply *rep;
    int rc;

    *kept = 0;
    cmd_upsert(s, &c, key, key_len, entry, entry_len, o, horizon, now);
    rc = command(s, &c, &rep);
    if (rc != MTASTS_OK)
        return rc;
    rc = rb_reply(s, ST_REQ_PUT, rep, "unexpected reply to EVAL");
    if (rc == MTASTS_NONE) {
        rc = st_buf_set(s, winner, rep->str, rep->len);
        *kept = rc == MTASTS_OK;
    }
    freeReplyObject(rep);
    return rc;
}

static int
rb_del(mtasts_store *s, const char *key, size_t key_len,
       const uint8_t *expected, size_t expected_len)
{
    struct cmd c;
    redisReply *rep;
    int rc;

    cmd_del(s, &c, key, key_len, expected, expected_len);
    rc = command(s, &c, &rep);
    if (rc != MTASTS_OK)
        return rc;
    return reply_end(s, rep);
}

/* ------------------------------------------------------------------ */
/* Asynchronous mode                                                   */
/* ------------------------------------------------------------------ */

static uint64_t
mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void
list_add(struct rd *r, struct st_req *q)
{
    q->next = NULL;
    q->prev = r->tail;
    if (r->tail != NULL)
        r->tail->next = q;
    else
        r->head = q;
    r->tail = q;
}

static void
list_del(struct rd *r, struct st_req *q)
{
    if (q->prev != NULL)
        q->prev->next = q->next;
    else
        r->head = q->next;
    if (q->next != NULL)
        q->next->prev = q->prev;
    else
        r->tail = q->prev;
    q->prev = q->next = NULL;
}

static void
arm(struct rd *r, uint64_t deadline)
{
    uint64_t now = mono_ms(), d = deadline > now ? deadline - now : 0;
    struct timeval tv;

    tv.tv_sec = (time_t)(d / 1000u);
    tv.tv_usec = (suseconds_t)((d % 1000u) * 1000u);
    evtimer_add(r->timer, &tv);
}

/* Drop the asynchronous connection: every request sent completes with a
 * NULL reply (their callbacks run now, or, inside a hiredis callback,
 * when it returns). */
static void
ra_disconnect(mtasts_store *s)
{
    struct rd *r = s->be;
    redisAsyncContext *ac;

    if (r == NULL || r->ac == NULL)
        return;
    ac = r->ac;
    r->ac = NULL;
    r->connecting = 0;
    evtimer_del(r->timer);
    redisAsyncFree(ac);
}

/* The connection failed (s->err says why). */
static void
ra_fail(mtasts_store *s)
{
    st_mark_down(s); /* first, so the callbacks see the store down */
    ra_disconnect(s);
}

/* hiredis dropped the connection and frees its context itself: forget it
 * and mark the store down, s->err saying why (what, then why). */
static void
ra_gone(mtasts_store *s, const char *what, const char *why)
{
    struct rd *r = s->be;

    st_set_err(s, what, why);
    r->ac = NULL;
    r->connecting = 0;
    evtimer_del(r->timer);
    st_mark_down(s);
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
    mtasts_store *s = arg;
    struct rd *r = s->be;

    (void)fd;
    (void)what;
    if (r->ac == NULL || r->head == NULL)
        return;
    if (r->head->deadline_ms > mono_ms()) {
        arm(r, r->head->deadline_ms);
        return;
    }
    st_set_err(s, "", r->connecting ? "connect timeout" : "command timeout");
    ra_fail(s);
}

/* A reply for the request q (NULL: the connection is gone). */
static void
on_reply(redisAsyncContext *ac, void *reply, void *privdata)
{
    struct st_req *q = privdata;
    mtasts_store *s = q->s;
    struct rd *r = s->be;
    redisReply *rep = reply;
    int brc;

    list_del(r, q);
    if (rep == NULL) {
        /* the connection failed or is being dropped */
        if (r->ac == ac)
            ra_gone(s, "", ac->errstr[0] != 0 ? ac->errstr : "connection lost");
        brc = ST_EBACKEND;
    } else {
        brc = reply_kind(s, q->kind, rep, "unexpected reply");
        /* an error reply or one of the wrong kind: the server is not
         * usable as it is */
        if (brc == ST_EBACKEND && r->ac == ac)
            ra_fail(s);
    }
    if (q->kind == ST_REQ_SETUP) {
        /* the PING after AUTH and SELECT: the server answers */
        if (brc == MTASTS_OK && q->flags && r->ac == ac &&
            s->state == MTASTS_STORE_STATE_CONNECTING) {
            r->connecting = 0;
            st_backend_up(s);
        }
        st_req_free(s, q);
    } else if (q->kind == ST_REQ_DEL) {
        st_req_free(s, q);
    } else if (q->kind == ST_REQ_GET) {
        st_get_finish(s, q, brc, rep != NULL ? (const uint8_t *)rep->str : NULL,
                      rep != NULL ? rep->len : 0);
    } else {
        st_put_finish(s, q, brc, rep != NULL ? (const uint8_t *)rep->str : NULL,
                      rep != NULL ? rep->len : 0);
    }
}

static void
on_connect(const redisAsyncContext *ac, int status)
{
    mtasts_store *s = ac->data;
    struct rd *r;

    if (s == NULL)
        return;
    r = s->be;
    if (status == REDIS_OK || r->ac != ac)
        return;
    /* hiredis frees the context after this callback */
    ra_gone(s, "connect: ", ac->errstr);
}

static void
on_disconnect(const redisAsyncContext *ac, int status)
{
    mtasts_store *s = ac->data;
    struct rd *r;

    (void)status;
    if (s == NULL)
        return;
    r = s->be;
    if (r->ac != ac)
        return; /* dropped by us */
    ra_gone(s, "", ac->errstr[0] != 0 ? ac->errstr : "connection closed");
}

/* Send q with its command; 0 or ST_EBACKEND (q not sent). */
static int
send_cmd(mtasts_store *s, struct st_req *q, struct cmd *c, int timeout_ms)
{
    struct rd *r = s->be;

    if (r->ac == NULL) {
        st_set_err(s, "", "no connection");
        return ST_EBACKEND;
    }
    q->deadline_ms = mono_ms() + (uint64_t)timeout_ms;
    list_add(r, q);
    if (redisAsyncCommandArgv(r->ac, on_reply, q, c->argc, c->argv, c->len) !=
        REDIS_OK) {
        list_del(r, q);
        st_set_err(s, "",
                   r->ac->errstr[0] != 0 ? r->ac->errstr
                                         : "cannot send a command");
        return ST_EBACKEND;
    }
    if (!evtimer_pending(r->timer, NULL))
        arm(r, q->deadline_ms);
    return MTASTS_OK;
}

static int
ra_send(mtasts_store *s, struct st_req *q)
{
    struct cmd c;

    switch (q->kind) {
    case ST_REQ_GET:
        cmd_get(s, &c, q->key, q->key_len);
        break;
    case ST_REQ_PUT:
        cmd_upsert(s, &c, q->key, q->key_len, q->data, q->data_len, &q->order,
                   q->horizon, q->now);
        break;
    case ST_REQ_DEL:
        cmd_del(s, &c, q->key, q->key_len, q->flags ? q->data : NULL,
                q->data_len);
        break;
    default:
        return ST_EBACKEND;
    }
    return send_cmd(s, q, &c, s->redis_command_timeout_ms);
}

/* Queue one setup command (AUTH, SELECT, PING); last marks the PING. */
static int
setup_cmd(mtasts_store *s, const char *a0, const char *a1, int last)
{
    struct st_req *q;
    struct cmd c;
    size_t size = sizeof(*q);
    int rc;

    q = st_alloc(s, size);
    if (q == NULL)
        return MTASTS_ENOMEM;
    memset(q, 0, sizeof(*q));
    q->s = s;
    q->size = size;
    q->kind = ST_REQ_SETUP;
    q->flags = last != 0;
    c.argc = 0;
    arg_str(&c, a0);
    if (a1 != NULL)
        arg_str(&c, a1);
    rc = send_cmd(s, q, &c,
                  s->redis_connect_timeout_ms + s->redis_command_timeout_ms);
    if (rc != MTASTS_OK)
        st_req_free(s, q);
    return rc;
}

static int
ra_connect(mtasts_store *s)
{
    struct rd *r = s->be;
    redisAsyncContext *ac;
    char db[24];
    int rc;

    ra_disconnect(s);
    if (s->redis_unix_path != NULL)
        ac = redisAsyncConnectUnix(s->redis_unix_path);
    else
        ac = redisAsyncConnect(s->redis_host, s->redis_port);
    if (ac == NULL)
        return MTASTS_ENOMEM;
    if (ac->err) {
        st_set_err(s, "connect: ", ac->errstr);
        redisAsyncFree(ac);
        return ST_EBACKEND;
    }
    ac->data = s;
    if (redisLibeventAttach(ac, s->base) != REDIS_OK) {
        st_set_err(s, "connect: ", "cannot attach to the event loop");
        redisAsyncFree(ac);
        return ST_EBACKEND;
    }
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    r->ac = ac;
    r->connecting = 1;
    rc = MTASTS_OK;
    if (s->redis_password != NULL)
        rc = setup_cmd(s, "AUTH", s->redis_password, 0);
    if (rc == MTASTS_OK && s->redis_db > 0) {
        snprintf(db, sizeof(db), "%d", s->redis_db);
        rc = setup_cmd(s, "SELECT", db, 0);
    }
    if (rc == MTASTS_OK)
        rc = setup_cmd(s, "PING", NULL, 1);
    if (rc != MTASTS_OK) {
        ra_disconnect(s);
        return rc;
    }
    return MTASTS_OK;
}

/* ------------------------------------------------------------------ */
/* Both                                                                */
/* ------------------------------------------------------------------ */

static void
rd_free(mtasts_store *s)
{
    struct rd *r = s->be;

    if (r == NULL)
        return;
    if (s->async)
        ra_disconnect(s);
    else
        rb_disconnect(s);
    if (r->timer != NULL)
        event_free(r->timer);
    st_free(s, r, sizeof(*r));
    s->be = NULL;
}

const struct st_ops st_redis_ops = {
    rb_connect, rb_disconnect, rb_get, rb_upsert, rb_del, NULL, NULL, rd_free,
};

const struct st_ops st_redis_async_ops = {
    ra_connect, ra_disconnect, NULL, NULL, NULL, NULL, ra_send, rd_free,
};

int
st_redis_init(mtasts_store *s)
{
    struct rd *r = st_alloc(s, sizeof(*r));

    if (r == NULL)
        return MTASTS_ENOMEM;
    memset(r, 0, sizeof(*r));
    if (s->async) {
        r->timer = evtimer_new(s->base, on_timer, s);
        if (r->timer == NULL) {
            st_free(s, r, sizeof(*r));
            return MTASTS_ENOMEM;
        }
    }
    s->be = r;
    s->ops = s->async ? &st_redis_async_ops : &st_redis_ops;
    return MTASTS_OK;
}
