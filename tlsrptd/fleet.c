/*
 * Fleet mode: several collectors on several hosts share one Redis
 * (hiredis). Each host writes its whole aggregate of a day there after
 * every store; reports are made from the sum over hosts, and exactly one
 * host sends each (domain, day) report. Keys (P: the prefix, D: a day
 * "YYYY-MM-DD", H: a host id):
 *
 *   P:day:D:host:H   the host's aggregate of D, mtasts_tlsrpt_agg_encode()
 *                    bytes (overwritten at every store; the hosts' keys
 *                    are merged with mtasts_tlsrpt_agg_decode())
 *   P:day:D:hosts    set: the hosts that wrote D
 *   P:days           set: the days written
 *   P:through        hash H -> Unix time: every result H received before
 *                    that time is in its P:day keys
 *   P:json:D:DOMAIN  the report: "report-id LF json", set once (SET NX) by
 *                    the first host that makes it; every host uses these
 *                    bytes, so a retry from another host is byte-identical
 *   P:report:D:DOMAIN the claim: "claim H" with an expiry (SET NX EX), kept
 *                    alive by its holder while it sends, then "done H T";
 *                    a crashed holder's claim expires and another host
 *                    takes the report over
 *   P:sent:D:DOMAIN  hash rua -> "H T": destinations delivered, which a
 *                    host that takes a report over does not send again
 *
 * Every key but P:days and P:through expires after the retention.
 * Errors: -1 with the text in td_fleet_error(); the connection is made
 * again at the next call.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include <hiredis/hiredis.h>

#include "td.h"

struct td_fleet {
    redisContext *rc;
    char *addr;   /* "HOST:PORT" or "unix:PATH" */
    char *prefix; /* P */
    char *host;   /* H */
    int timeout;  /* seconds */
    int retention;
    int claim_ttl;
    char err[512];
};

const char *
td_fleet_error(const struct td_fleet *f)
{
    return f->err;
}

static char *
dup_s(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);

    if (d != NULL)
        memcpy(d, s, n);
    return d;
}

void
td_fleet_close(struct td_fleet *f)
{
    if (f == NULL)
        return;
    if (f->rc != NULL)
        redisFree(f->rc);
    free(f->addr);
    free(f->prefix);
    free(f->host);
    free(f);
}

static int
fail(struct td_fleet *f, const char *what, const char *why)
{
    snprintf(f->err, sizeof(f->err), "redis %s: %s: %s", f->addr, what, why);
    return -1;
}

/* Connected, or -1. */
static int
connect_redis(struct td_fleet *f)
{
    struct timeval tv;
    char host[256];
    const char *colon;
    long port;
    char *end;

    if (f->rc != NULL && f->rc->err == 0)
        return 0;
    if (f->rc != NULL) {
        redisFree(f->rc);
        f->rc = NULL;
    }
    tv.tv_sec = f->timeout;
    tv.tv_usec = 0;
    if (strncmp(f->addr, "unix:", 5) == 0)
        f->rc = redisConnectUnixWithTimeout(f->addr + 5, tv);
    else {
        colon = strrchr(f->addr, ':');
        if (colon == NULL || (size_t)(colon - f->addr) >= sizeof(host))
            return fail(f, "address", "expected HOST:PORT or unix:PATH");
        port = strtol(colon + 1, &end, 10);
        if (*end != '\0' || port < 1 || port > 65535)
            return fail(f, "address", "expected a port 1-65535");
        memcpy(host, f->addr, (size_t)(colon - f->addr));
        host[colon - f->addr] = '\0';
        f->rc = redisConnectWithTimeout(host, (int)port, tv);
    }
    if (f->rc == NULL)
        return fail(f, "connect", "out of memory");
    if (f->rc->err != 0)
        return fail(f, "connect", f->rc->errstr);
    if (redisSetTimeout(f->rc, tv) != REDIS_OK)
        return fail(f, "connect", "cannot set the timeout");
    return 0;
}

int
td_fleet_open(const struct td_config *cfg, const char *host, int now,
              struct td_fleet **ret, char *err, size_t err_len)
{
    struct td_fleet *f;

    *ret = NULL;
    f = calloc(1, sizeof(*f));
    if (f == NULL || (f->addr = dup_s(cfg->redis)) == NULL ||
        (f->prefix = dup_s(cfg->redis_prefix)) == NULL ||
        (f->host = dup_s(host)) == NULL) {
        td_fleet_close(f);
        snprintf(err, err_len, "out of memory");
        return -1;
    }
    f->timeout = cfg->timeout < 10 ? cfg->timeout : 10;
    f->retention = cfg->retention;
    f->claim_ttl = cfg->claim_ttl;
    if (now && connect_redis(f) != 0) {
        snprintf(err, err_len, "%s", f->err);
        td_fleet_close(f);
        return -1;
    }
    *ret = f;
    return 0;
}

#define NARGS(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* The reply to the command what did not come: the connection is dropped
 * (made again at the next call); -1. */
static int
lost(struct td_fleet *f, const char *what)
{
    fail(f, what, f->rc->errstr[0] ? f->rc->errstr : "no reply");
    redisFree(f->rc);
    f->rc = NULL;
    return -1;
}

/* One command (argv with lengths, or lens NULL for text arguments); the
 * reply, or NULL (f->err set; an error reply is freed and NULL). */
static redisReply *
cmd(struct td_fleet *f, int argc, const char **argv, const size_t *lens)
{
    redisReply *r;

    if (connect_redis(f) != 0)
        return NULL;
    r = redisCommandArgv(f->rc, argc, argv, lens);
    if (r == NULL) {
        lost(f, argv[0]);
        return NULL;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        fail(f, argv[0], r->str);
        freeReplyObject(r);
        return NULL;
    }
    return r;
}

/* One command whose reply counts only by its kind: 0 with *ret_is 1 when
 * the reply is of the type (an integer: 1) and 0 when not (ret_is NULL:
 * the reply is only waited for), or -1 (f->err set). */
static int
cmd_is(struct td_fleet *f, int argc, const char **argv, const size_t *lens,
       int type, int *ret_is)
{
    redisReply *r = cmd(f, argc, argv, lens);

    if (r == NULL)
        return -1;
    if (ret_is != NULL)
        *ret_is =
            r->type == type && (type != REDIS_REPLY_INTEGER || r->integer == 1);
    freeReplyObject(r);
    return 0;
}

/* Send n commands at once (a pipeline) and read their replies; 0 when
 * none failed. */
static int
pipeline(struct td_fleet *f, int n, int *argc, const char ***argv,
         const size_t **lens)
{
    redisReply *r;
    int i, bad = 0;

    if (connect_redis(f) != 0)
        return -1;
    for (i = 0; i < n; i++)
        if (redisAppendCommandArgv(f->rc, argc[i], argv[i], lens[i]) !=
            REDIS_OK)
            return fail(f, argv[i][0], "out of memory");
    for (i = 0; i < n; i++) {
        if (redisGetReply(f->rc, (void **)&r) != REDIS_OK || r == NULL)
            return lost(f, argv[i][0]);
        if (r->type == REDIS_REPLY_ERROR && !bad) {
            fail(f, argv[i][0], r->str);
            bad = 1;
        }
        freeReplyObject(r);
    }
    return bad ? -1 : 0;
}

static void
key(const struct td_fleet *f, char *dst, size_t len, const char *kind,
    int64_t day, const char *rest)
{
    char d[11];

    td_day_format(day, d);
    snprintf(dst, len, "%s:%s:%s%s%s", f->prefix, kind, d,
             rest != NULL ? ":" : "", rest != NULL ? rest : "");
}

/* ------------------------------------------------------------------ */
/* The collectors' aggregates                                          */
/* ------------------------------------------------------------------ */

/* A pipeline being made: commands of up to 6 arguments. */
#define PL_MAX (16 * 4 + 1)
struct pl {
    int n;
    int argc[PL_MAX];
    const char *argv[PL_MAX][6];
    size_t lens[PL_MAX][6];
    const char **av[PL_MAX];
    const size_t *lv[PL_MAX];
};

/* Add a command of argc text arguments; the one at index bin (if any) is
 * bin_len bytes of binary. */
static void
pl_add(struct pl *p, int argc, const char *const *args, int bin, size_t bin_len)
{
    int i;

    for (i = 0; i < argc; i++) {
        p->argv[p->n][i] = args[i];
        p->lens[p->n][i] = i == bin ? bin_len : strlen(args[i]);
    }
    p->argc[p->n] = argc;
    p->av[p->n] = p->argv[p->n];
    p->lv[p->n] = p->lens[p->n];
    p->n++;
}

int
td_fleet_push(struct td_fleet *f, const struct td_row *rows, size_t n,
              int64_t through)
{
    /* per row: SET agg EX, SADD hosts, EXPIRE hosts, SADD days; HSET */
    char keys[16][2][600], days_key[600], thr_key[600], ttl[24];
    char dstr[16][11], tstr[24];
    const char *a[6];
    struct pl *p;
    size_t i;
    int rc;

    if (n > 16)
        n = 16; /* (the writer saves at most 16 days at once) */
    if (n == 0 && through <= 0)
        return 0;
    p = malloc(sizeof(*p));
    if (p == NULL)
        return fail(f, "push", "out of memory");
    p->n = 0;
    snprintf(ttl, sizeof(ttl), "%d", f->retention * 86400 + 86400);
    snprintf(tstr, sizeof(tstr), "%lld", (long long)through);
    snprintf(days_key, sizeof(days_key), "%s:days", f->prefix);
    snprintf(thr_key, sizeof(thr_key), "%s:through", f->prefix);
    for (i = 0; i < n; i++) {
        td_day_format(rows[i].day, dstr[i]);
        snprintf(keys[i][0], sizeof(keys[i][0]), "%s:day:%s:host:%s", f->prefix,
                 dstr[i], f->host);
        snprintf(keys[i][1], sizeof(keys[i][1]), "%s:day:%s:hosts", f->prefix,
                 dstr[i]);
        a[0] = "SET";
        a[1] = keys[i][0];
        a[2] = (const char *)rows[i].agg;
        a[3] = "EX";
        a[4] = ttl;
        pl_add(p, 5, a, 2, rows[i].len);
        a[0] = "SADD";
        a[1] = keys[i][1];
        a[2] = f->host;
        pl_add(p, 3, a, -1, 0);
        a[0] = "EXPIRE";
        a[2] = ttl;
        pl_add(p, 3, a, -1, 0);
        a[0] = "SADD";
        a[1] = days_key;
        a[2] = dstr[i];
        pl_add(p, 3, a, -1, 0);
    }
    if (through > 0) {
        a[0] = "HSET";
        a[1] = thr_key;
        a[2] = f->host;
        a[3] = tstr;
        pl_add(p, 4, a, -1, 0);
    }
    rc = pipeline(f, p->n, p->argc, p->av, p->lv);
    free(p);
    return rc;
}

int
td_fleet_load(struct td_fleet *f, int64_t day, mtasts_tlsrpt_agg *agg,
              size_t *ret_hosts, int *ret_through)
{
    char k[600], tk[600], hk[800];
    const char *smembers[] = {"SMEMBERS", k}, *hgetall[] = {"HGETALL", tk};
    const char *get[] = {"GET", hk};
    redisReply *members, *thr, *r;
    size_t i, j;
    int64_t t;
    int rc = 0, drc, found;

    *ret_hosts = 0;
    *ret_through = 1;
    key(f, k, sizeof(k), "day", day, "hosts");
    members = cmd(f, NARGS(smembers), smembers, NULL);
    if (members == NULL)
        return -1;
    snprintf(tk, sizeof(tk), "%s:through", f->prefix);
    thr = cmd(f, NARGS(hgetall), hgetall, NULL);
    if (thr == NULL) {
        freeReplyObject(members);
        return -1;
    }
    for (i = 0; rc == 0 && i < members->elements; i++) {
        const redisReply *h = members->element[i];

        /* has h stored everything of the day? */
        found = 0;
        for (j = 0; j + 1 < thr->elements; j += 2)
            if (thr->element[j]->len == h->len &&
                memcmp(thr->element[j]->str, h->str, h->len) == 0) {
                t = strtoll(thr->element[j + 1]->str, NULL, 10);
                found = t >= day + TD_DAY;
            }
        if (!found)
            *ret_through = 0;
        snprintf(hk, sizeof(hk), "%s:day:", f->prefix);
        td_day_format(day, hk + strlen(hk));
        snprintf(hk + strlen(hk), sizeof(hk) - strlen(hk), ":host:%.*s",
                 (int)h->len, h->str);
        r = cmd(f, NARGS(get), get, NULL);
        if (r == NULL) {
            rc = -1;
            break;
        }
        if (r->type == REDIS_REPLY_STRING) {
            drc =
                mtasts_tlsrpt_agg_decode(agg, (const uint8_t *)r->str, r->len);
            if (drc != MTASTS_OK) {
                snprintf(f->err, sizeof(f->err),
                         "redis %s: %s does not decode (%s)", f->addr, hk,
                         mtasts_status_name(drc));
                rc = drc == MTASTS_ENOMEM ? MTASTS_ENOMEM : -1;
            } else
                (*ret_hosts)++;
        }
        freeReplyObject(r);
    }
    freeReplyObject(members);
    freeReplyObject(thr);
    return rc;
}

int
td_fleet_days(struct td_fleet *f, int64_t **ret, size_t *ret_n)
{
    char k[600];
    const char *smembers[] = {"SMEMBERS", k};
    size_t i, n = 0;
    redisReply *r;
    int64_t *d, day;

    *ret = NULL;
    *ret_n = 0;
    snprintf(k, sizeof(k), "%s:days", f->prefix);
    r = cmd(f, NARGS(smembers), smembers, NULL);
    if (r == NULL)
        return -1;
    d = malloc((r->elements + 1) * sizeof(*d));
    if (d == NULL) {
        freeReplyObject(r);
        return MTASTS_ENOMEM;
    }
    for (i = 0; i < r->elements; i++) {
        if (r->element[i]->type != REDIS_REPLY_STRING)
            continue;
        day = td_day_parse(r->element[i]->str);
        if (day >= 0)
            d[n++] = day;
    }
    freeReplyObject(r);
    *ret = d;
    *ret_n = n;
    return 0;
}

int
td_fleet_forget_day(struct td_fleet *f, int64_t day)
{
    char k[600], d[11];
    const char *srem[] = {"SREM", k, d};

    snprintf(k, sizeof(k), "%s:days", f->prefix);
    td_day_format(day, d);
    return cmd_is(f, NARGS(srem), srem, NULL, 0, NULL);
}

/* ------------------------------------------------------------------ */
/* Reports and claims                                                  */
/* ------------------------------------------------------------------ */

int
td_fleet_report(struct td_fleet *f, int64_t day, const struct td_report *mine,
                struct td_report *ret)
{
    char k[600], ttl[24], *buf;
    const char *set[] = {"SET", k, NULL, "NX", "EX", ttl};
    const char *get[] = {"GET", k}, *nl;
    size_t lens[6], idl = strlen(mine->report_id), dl;
    redisReply *r;
    int rc;

    memset(ret, 0, sizeof(*ret));
    key(f, k, sizeof(k), "json", day, mine->domain);
    buf = malloc(idl + 1 + mine->len);
    if (buf == NULL)
        return MTASTS_ENOMEM;
    memcpy(buf, mine->report_id, idl);
    buf[idl] = '\n';
    memcpy(buf + idl + 1, mine->json, mine->len);
    snprintf(ttl, sizeof(ttl), "%d", f->retention * 86400 + 86400);
    set[2] = buf;
    lens[0] = 3;
    lens[1] = strlen(k);
    lens[2] = idl + 1 + mine->len;
    lens[3] = 2;
    lens[4] = 2;
    lens[5] = strlen(ttl);
    rc = cmd_is(f, NARGS(set), set, lens, 0, NULL);
    free(buf);
    if (rc != 0)
        return -1;
    r = cmd(f, NARGS(get), get, NULL);
    if (r == NULL)
        return -1;
    if (r->type != REDIS_REPLY_STRING ||
        (nl = memchr(r->str, '\n', r->len)) == NULL) {
        freeReplyObject(r);
        snprintf(f->err, sizeof(f->err), "redis %s: %s: not a report", f->addr,
                 k);
        return -1;
    }
    dl = strlen(mine->domain) + 1;
    ret->domain = malloc(dl);
    ret->report_id = malloc((size_t)(nl - r->str) + 1);
    ret->len = r->len - (size_t)(nl + 1 - r->str);
    ret->json = malloc(ret->len + 1);
    if (ret->domain == NULL || ret->report_id == NULL || ret->json == NULL) {
        free(ret->domain);
        free(ret->report_id);
        free(ret->json);
        memset(ret, 0, sizeof(*ret));
        freeReplyObject(r);
        return MTASTS_ENOMEM;
    }
    memcpy(ret->domain, mine->domain, dl);
    memcpy(ret->report_id, r->str, (size_t)(nl - r->str));
    ret->report_id[nl - r->str] = '\0';
    memcpy(ret->json, nl + 1, ret->len);
    freeReplyObject(r);
    return 0;
}

/* Keep our claim alive (its value is ours): 1, else 0. */
static const char refresh_lua[] =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then "
    "return redis.call('EXPIRE', KEYS[1], ARGV[2]) else return 0 end";
/* Turn our claim into done: 1, else 0. */
static const char done_lua[] =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then "
    "redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3]) return 1 "
    "else return 0 end";

int
td_fleet_claim(struct td_fleet *f, int64_t day, const char *domain,
               int *ret_state, char *holder, size_t holder_len)
{
    char k[600], mine[300], ttl[24];
    const char *set[] = {"SET", k, mine, "NX", "EX", ttl};
    const char *refresh[] = {"EVAL", refresh_lua, "1", k, mine, ttl};
    const char *get[] = {"GET", k};
    redisReply *r;
    int is;

    *ret_state = TD_CLAIM_OTHER;
    if (holder_len > 0)
        holder[0] = '\0';
    key(f, k, sizeof(k), "report", day, domain);
    snprintf(mine, sizeof(mine), "claim %s", f->host);
    snprintf(ttl, sizeof(ttl), "%d", f->claim_ttl);
    /* the claim: SET NX with an expiry; if held, by us (refresh it), by
     * another, or done */
    if (cmd_is(f, NARGS(set), set, NULL, REDIS_REPLY_STATUS, &is) != 0 ||
        (!is && cmd_is(f, NARGS(refresh), refresh, NULL, REDIS_REPLY_INTEGER,
                       &is) != 0))
        return -1;
    if (is) {
        *ret_state = TD_CLAIM_MINE;
        snprintf(holder, holder_len, "%s", f->host);
        return 0;
    }
    r = cmd(f, NARGS(get), get, NULL);
    if (r == NULL)
        return -1;
    if (r->type == REDIS_REPLY_STRING) {
        if (r->len > 5 && memcmp(r->str, "done ", 5) == 0) {
            /* "done HOST TIME" */
            const char *sp = memchr(r->str + 5, ' ', r->len - 5);
            *ret_state = TD_CLAIM_DONE;
            snprintf(holder, holder_len, "%.*s",
                     (int)(sp != NULL ? (size_t)(sp - r->str - 5) : r->len - 5),
                     r->str + 5);
        } else if (r->len > 6 && memcmp(r->str, "claim ", 6) == 0)
            snprintf(holder, holder_len, "%.*s", (int)(r->len - 6), r->str + 6);
    }
    /* else it expired in between: claim again next time */
    freeReplyObject(r);
    return 0;
}

int
td_fleet_claim_done(struct td_fleet *f, int64_t day, const char *domain)
{
    char k[600], mine[300], done[340], ttl[24];
    const char *eval[] = {"EVAL", done_lua, "1", k, mine, done, ttl};
    int ok;

    key(f, k, sizeof(k), "report", day, domain);
    snprintf(mine, sizeof(mine), "claim %s", f->host);
    snprintf(done, sizeof(done), "done %s %lld", f->host,
             (long long)time(NULL));
    snprintf(ttl, sizeof(ttl), "%d", f->retention * 86400 + 86400);
    if (cmd_is(f, NARGS(eval), eval, NULL, REDIS_REPLY_INTEGER, &ok) != 0)
        return -1;
    if (!ok)
        return fail(f, "done", "the claim was lost (it expired)");
    return 0;
}

int
td_fleet_sent(struct td_fleet *f, int64_t day, const char *domain,
              const char *uri)
{
    char k[600], v[300], ttl[24];
    const char *a[4];
    struct pl *p;
    int rc;

    p = malloc(sizeof(*p));
    if (p == NULL)
        return fail(f, "sent", "out of memory");
    p->n = 0;
    key(f, k, sizeof(k), "sent", day, domain);
    snprintf(v, sizeof(v), "%s %lld", f->host, (long long)time(NULL));
    snprintf(ttl, sizeof(ttl), "%d", f->retention * 86400 + 86400);
    a[0] = "HSET";
    a[1] = k;
    a[2] = uri;
    a[3] = v;
    pl_add(p, 4, a, -1, 0);
    a[0] = "EXPIRE";
    a[2] = ttl;
    pl_add(p, 3, a, -1, 0);
    rc = pipeline(f, p->n, p->argc, p->av, p->lv);
    free(p);
    return rc;
}

int
td_fleet_sent_get(struct td_fleet *f, int64_t day, const char *domain,
                  const char *uri, int *ret_sent)
{
    char k[600];
    const char *hexists[] = {"HEXISTS", k, uri};

    *ret_sent = 0;
    key(f, k, sizeof(k), "sent", day, domain);
    return cmd_is(f, NARGS(hexists), hexists, NULL, REDIS_REPLY_INTEGER,
                  ret_sent);
}
