/*
 * The writer thread. The collector (event loop thread) aggregates into
 * small per-day deltas and hands them over every flush interval; this
 * thread merges each into the whole day's aggregate (loaded from the
 * store on first use, so that a restart continues the day), encodes the
 * days that changed and saves them in one transaction. The event loop
 * so never waits for an encode or a disk: AF_UNIX datagram sockets queue
 * only net.unix.max_dgram_qlen datagrams, and libtlsrpt's non-blocking
 * sends are dropped when that queue is full.
 *
 * What a crash can lose: the deltas not yet handed over (at most one
 * flush interval) and those of a save under way. A save that fails (a
 * full disk, a read-only store) is logged and tried again on every tick
 * with the days kept in memory; nothing is dropped while the process
 * lives. In fleet mode each stored day is also written to Redis (a day
 * that could not be is written again at the next tick).
 *
 * td_writer_through() tells the sender thread how far the store is
 * complete: every result the collector took before that time is stored
 * (and in Redis), so a day is reported only once its last results are. A delta
 * that cannot be merged (the memory bound) is kept and tried again.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "td.h"

#define QUEUE_CAP (4 * TD_DAYS_MAX)

/* A day in memory: the whole aggregate as stored plus what came since. */
struct dstate {
    int64_t day;
    mtasts_tlsrpt_agg *agg;
    uint64_t sessions;
    int dirty;
    int rdirty; /* fleet: stored, not yet in Redis */
};

struct td_writer {
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv, room_cv;
    struct td_delta queue[QUEUE_CAP];
    size_t nq;
    int tick, stop;
    int64_t taken;   /* the newest take time handed over */
    int64_t through; /* td_writer_through() */
    struct td_fleet *fleet;
    /* the thread's own */
    struct td_store *store;
    mtasts_ctx *ctx;
    int64_t max_bytes;
    struct dstate *days;
    size_t ndays, dcap;
    struct td_delta *pending; /* could not be merged yet */
    size_t npend, pcap;
    int failing; /* the last save failed */
    int lost;    /* something handed over was dropped (out of memory) */
    struct td_ratelimit rl;
};

static int64_t
now_s(void)
{
    return (int64_t)time(NULL);
}

/* The day's state, loaded from the store when not in memory; NULL when
 * the store cannot be read (the caller keeps its delta for later). */
static struct dstate *
day_state(struct td_writer *w, int64_t day)
{
    char d[11];
    struct dstate *ds, *nd;
    mtasts_tlsrpt_agg *agg;
    uint64_t sessions;
    size_t i;
    int found, rc;

    for (i = 0; i < w->ndays; i++)
        if (w->days[i].day == day)
            return &w->days[i];
    td_day_format(day, d);
    if (w->ndays == w->dcap) {
        nd = realloc(w->days, (w->dcap + 4) * sizeof(*nd));
        if (nd == NULL)
            return NULL;
        w->days = nd;
        w->dcap += 4;
    }
    if (mtasts_tlsrpt_agg_new(w->ctx, &agg) != MTASTS_OK)
        return NULL;
    mtasts_tlsrpt_agg_set(agg, MTASTS_AGG_MAX_BYTES, w->max_bytes);
    rc = td_store_load(w->store, day, agg, &sessions, &found);
    if (rc == TD_ESTORE || rc == MTASTS_ENOMEM) {
        td_log_limited(
            &w->rl, now_s(), TD_LOG_ERR,
            "day %s: cannot read the stored aggregate (%s); its "
            "new results are kept in memory and tried again",
            d, rc == TD_ESTORE ? td_store_error(w->store) : "out of memory");
        mtasts_tlsrpt_agg_free(agg);
        return NULL;
    }
    if (rc != MTASTS_OK) {
        /* damaged bytes: set aside, never overwritten */
        td_log(TD_LOG_ERR,
               "day %s: the stored aggregate does not decode (%s); it is "
               "moved to the table days_bad and the day starts again",
               d, mtasts_status_name(rc));
        if (td_store_set_aside(w->store, day, mtasts_status_name(rc)) != 0) {
            td_log_limited(&w->rl, now_s(), TD_LOG_ERR, "day %s: %s", d,
                           td_store_error(w->store));
            mtasts_tlsrpt_agg_free(agg);
            return NULL;
        }
        sessions = 0;
        found = 0;
    }
    ds = &w->days[w->ndays++];
    ds->day = day;
    ds->agg = agg;
    ds->sessions = sessions;
    ds->dirty = 0;
    return ds;
}

/* Merge delta into its day; 0, or -1 when it must be kept for later. */
static int
merge(struct td_writer *w, const struct td_delta *delta)
{
    struct dstate *ds;
    char d[11];
    int rc;

    ds = day_state(w, delta->day);
    if (ds == NULL)
        return -1;
    rc = mtasts_tlsrpt_agg_merge(ds->agg, delta->agg);
    if (rc != MTASTS_OK) {
        td_day_format(delta->day, d);
        td_log_limited(
            &w->rl, now_s(), TD_LOG_ERR,
            "day %s: %llu sessions cannot be merged (%s%s); kept "
            "in memory and tried again",
            d, (unsigned long long)delta->sessions, mtasts_status_name(rc),
            rc == MTASTS_ETOOBIG ? ": the memory bound max_memory" : "");
        return -1;
    }
    ds->sessions += delta->sessions;
    if (delta->sessions > 0) {
        ds->dirty = 1;
        ds->rdirty = w->fleet != NULL;
        if (td_store_day_reported(w->store, delta->day) == 1) {
            td_day_format(delta->day, d);
            td_log_limited(&w->rl, now_s(), TD_LOG_WARNING,
                           "day %s: %llu sessions came after its reports "
                           "were made: stored, and reported only for "
                           "domains without a report yet",
                           d, (unsigned long long)delta->sessions);
        }
    }
    mtasts_tlsrpt_agg_free(delta->agg);
    return 0;
}

static void
keep(struct td_writer *w, const struct td_delta *delta)
{
    struct td_delta *np;
    char d[11];

    if (w->npend == w->pcap) {
        np = realloc(w->pending, (w->pcap + 8) * sizeof(*np));
        if (np == NULL) {
            td_day_format(delta->day, d);
            td_log(TD_LOG_ERR, "day %s: %llu sessions lost: out of memory", d,
                   (unsigned long long)delta->sessions);
            mtasts_tlsrpt_agg_free(delta->agg);
            w->lost = 1;
            return;
        }
        w->pending = np;
        w->pcap += 8;
    }
    w->pending[w->npend++] = *delta;
}

/* Fleet mode: write the stored rows to Redis; a day that could not be
 * written stays rdirty and is written again at the next tick. */
static void
push(struct td_writer *w, const struct td_row *rows, size_t n)
{
    size_t k, j;
    int ok = td_fleet_push(w->fleet, rows, n, 0) == 0;

    if (!ok)
        td_log_limited(&w->rl, now_s(), TD_LOG_ERR,
                       "cannot write %zu day(s) to Redis: %s; written again "
                       "at the next flush",
                       n, td_fleet_error(w->fleet));
    for (k = 0; k < n; k++)
        for (j = 0; j < w->ndays; j++)
            if (w->days[j].day == rows[k].day)
                w->days[j].rdirty = !ok;
}

/* Fleet mode: the days stored but not yet in Redis, written again. */
static int
push_again(struct td_writer *w)
{
    struct td_row rows[16];
    mtasts_buf *bufs[16];
    size_t i, n = 0, k, len;
    int left = 0;

    for (i = 0; i < w->ndays; i++) {
        if (!w->days[i].rdirty || w->days[i].dirty)
            continue;
        if (n == 16) {
            left = 1;
            break;
        }
        if (mtasts_tlsrpt_agg_encode(w->days[i].agg, &bufs[n]) != MTASTS_OK) {
            left = 1;
            continue;
        }
        rows[n].day = w->days[i].day;
        rows[n].agg = mtasts_buf_data(bufs[n], &len);
        rows[n].len = len;
        rows[n].sessions = w->days[i].sessions;
        n++;
    }
    if (n > 0)
        push(w, rows, n);
    for (k = 0; k < n; k++)
        mtasts_buf_free(bufs[k]);
    for (i = 0; i < w->ndays; i++)
        if (w->days[i].rdirty)
            left = 1;
    return left;
}

/* Save the days that changed; forget old days that are saved. */
static void
save(struct td_writer *w, int final)
{
    struct td_row rows[16];
    mtasts_buf *bufs[16];
    size_t i, n = 0, k, len;
    int64_t newest = 0;
    int rc;

    for (i = 0; i < w->ndays; i++)
        if (w->days[i].day > newest)
            newest = w->days[i].day;
    for (i = 0; i < w->ndays;) {
        /* at most 16 days a transaction: more only after a clock jump */
        for (n = 0; i < w->ndays && n < 16; i++) {
            if (!w->days[i].dirty)
                continue;
            rc = mtasts_tlsrpt_agg_encode(w->days[i].agg, &bufs[n]);
            if (rc != MTASTS_OK) {
                td_log_limited(&w->rl, now_s(), TD_LOG_ERR,
                               "cannot encode a day's aggregate: %s",
                               mtasts_status_name(rc));
                continue;
            }
            rows[n].day = w->days[i].day;
            rows[n].agg = mtasts_buf_data(bufs[n], &len);
            rows[n].len = len;
            rows[n].sessions = w->days[i].sessions;
            n++;
        }
        rc = td_store_save(w->store, rows, n);
        if (rc == 0 && w->fleet != NULL)
            push(w, rows, n);
        for (k = 0; k < n; k++)
            mtasts_buf_free(bufs[k]);
        if (rc != 0) {
            w->failing = 1;
            td_log_limited(&w->rl, now_s(), TD_LOG_ERR,
                           "cannot save %zu day(s): %s; the results are kept "
                           "in memory and saved again at the next flush",
                           n, td_store_error(w->store));
            return;
        }
        for (k = 0; k < n; k++) {
            struct dstate *ds;
            size_t j;
            for (j = 0; j < w->ndays; j++) {
                ds = &w->days[j];
                if (ds->day == rows[k].day) {
                    ds->dirty = 0;
                    if (final) {
                        char d[11];
                        td_day_format(ds->day, d);
                        td_log(TD_LOG_INFO, "day %s stored: %llu sessions", d,
                               (unsigned long long)ds->sessions);
                    }
                }
            }
        }
    }
    if (w->failing) {
        w->failing = 0;
        td_log(TD_LOG_INFO, "the store takes saves again");
    }
    /* days before yesterday's that are saved leave memory */
    for (i = 0; i < w->ndays;) {
        if (!w->days[i].dirty && !w->days[i].rdirty &&
            w->days[i].day < newest - TD_DAY) {
            mtasts_tlsrpt_agg_free(w->days[i].agg);
            w->days[i] = w->days[--w->ndays];
        } else
            i++;
    }
}

static void
work(struct td_writer *w, struct td_delta *in, size_t n, int final,
     int64_t taken)
{
    struct td_delta *old = w->pending;
    size_t nold = w->npend, i;
    int redis_left = 0;

    w->pending = NULL;
    w->npend = w->pcap = 0;
    for (i = 0; i < nold; i++)
        if (merge(w, &old[i]) != 0)
            keep(w, &old[i]);
    free(old);
    for (i = 0; i < n; i++)
        if (merge(w, &in[i]) != 0)
            keep(w, &in[i]);
    save(w, final);
    if (w->fleet != NULL && !w->failing)
        redis_left = push_again(w);
    /* everything taken up to taken is stored (and in Redis) */
    if (!w->failing && w->npend == 0 && !redis_left && taken > 0) {
        if (w->fleet != NULL && td_fleet_push(w->fleet, NULL, 0, taken) != 0)
            return;
        pthread_mutex_lock(&w->mu);
        if (taken > w->through)
            w->through = taken;
        pthread_mutex_unlock(&w->mu);
    }
}

/* Fleet mode, at start: the stored days that may still be reported
 * (today and yesterday) are written to Redis at the first tick, in case
 * they were not before the last stop. */
static void
fleet_resume(struct td_writer *w)
{
    struct dstate *ds;
    int64_t today = now_s() - now_s() % TD_DAY, day;

    for (day = today - TD_DAY; day <= today; day += TD_DAY) {
        ds = day_state(w, day);
        if (ds != NULL && ds->sessions > 0)
            ds->rdirty = 1;
    }
}

static void *
run(void *arg)
{
    struct td_writer *w = arg;
    struct td_delta in[QUEUE_CAP];
    size_t n;
    int64_t taken;
    int stop, tries;

    if (w->fleet != NULL)
        fleet_resume(w);
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (w->nq == 0 && !w->tick && !w->stop)
            pthread_cond_wait(&w->cv, &w->mu);
        n = w->nq;
        memcpy(in, w->queue, n * sizeof(*in));
        w->nq = 0;
        w->tick = 0;
        taken = w->taken;
        stop = w->stop;
        pthread_cond_broadcast(&w->room_cv);
        pthread_mutex_unlock(&w->mu);
        if (!stop)
            work(w, in, n, 0, taken);
        else {
            /* the last save: a few tries, a second apart */
            work(w, in, n, 1, taken);
            for (tries = 0; tries < 5 && (w->failing || w->npend > 0);
                 tries++) {
                struct timespec ts = {1, 0};
                nanosleep(&ts, NULL);
                work(w, NULL, 0, 1, taken);
            }
        }
        pthread_mutex_lock(&w->mu);
        if (stop && w->nq == 0)
            break;
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

int
td_writer_start(struct td_store *store, struct td_fleet *fleet, mtasts_ctx *ctx,
                int64_t max_bytes, struct td_writer **ret)
{
    struct td_writer *w;
    int rc;

    *ret = NULL;
    w = calloc(1, sizeof(*w));
    if (w == NULL)
        return ENOMEM;
    w->store = store;
    w->fleet = fleet;
    w->ctx = ctx;
    w->max_bytes = max_bytes;
    if ((rc = pthread_mutex_init(&w->mu, NULL)) != 0) {
        free(w);
        return rc;
    }
    if ((rc = pthread_cond_init(&w->cv, NULL)) != 0 ||
        (rc = pthread_cond_init(&w->room_cv, NULL)) != 0 ||
        (rc = pthread_create(&w->th, NULL, run, w)) != 0) {
        /* (a cond that was made is not destroyed: we exit) */
        pthread_mutex_destroy(&w->mu);
        free(w);
        return rc;
    }
    *ret = w;
    return 0;
}

size_t
td_writer_room(struct td_writer *w)
{
    size_t room;

    pthread_mutex_lock(&w->mu);
    room = QUEUE_CAP - w->nq;
    pthread_mutex_unlock(&w->mu);
    return room;
}

static void
submit(struct td_writer *w, const struct td_delta *d, size_t n, int64_t taken,
       int wait)
{
    pthread_mutex_lock(&w->mu);
    while (wait && QUEUE_CAP - w->nq < n)
        pthread_cond_wait(&w->room_cv, &w->mu);
    if (n > 0)
        memcpy(w->queue + w->nq, d, n * sizeof(*d));
    w->nq += n;
    if (taken > w->taken)
        w->taken = taken;
    w->tick = 1;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

void
td_writer_submit(struct td_writer *w, const struct td_delta *d, size_t n,
                 int64_t taken)
{
    submit(w, d, n, taken, 0);
}

void
td_writer_submit_wait(struct td_writer *w, const struct td_delta *d, size_t n,
                      int64_t taken)
{
    submit(w, d, n, taken, 1);
}

int64_t
td_writer_through(struct td_writer *w)
{
    int64_t t;

    pthread_mutex_lock(&w->mu);
    t = w->through;
    pthread_mutex_unlock(&w->mu);
    return t;
}

int
td_writer_stop(struct td_writer *w)
{
    size_t i;
    int status;

    pthread_mutex_lock(&w->mu);
    w->stop = 1;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->th, NULL);
    status = w->failing || w->npend > 0 || w->lost ? -1 : 0;
    for (i = 0; i < w->npend; i++) {
        char d[11];
        td_day_format(w->pending[i].day, d);
        td_log(TD_LOG_ERR, "day %s: %llu sessions could not be stored", d,
               (unsigned long long)w->pending[i].sessions);
        mtasts_tlsrpt_agg_free(w->pending[i].agg);
    }
    for (i = 0; i < w->ndays; i++) {
        if (w->fleet != NULL && w->days[i].rdirty && !w->days[i].dirty) {
            char d[11];
            td_day_format(w->days[i].day, d);
            td_log(TD_LOG_WARNING,
                   "day %s: stored, but not written to Redis (%s); it is "
                   "written when the collector starts again",
                   d, td_fleet_error(w->fleet));
        }
        if (w->days[i].dirty) {
            char d[11];
            status = -1;
            td_day_format(w->days[i].day, d);
            td_log(TD_LOG_ERR,
                   "day %s: the results since its last save could not be "
                   "stored (%llu sessions in the day)",
                   d, (unsigned long long)w->days[i].sessions);
        }
        mtasts_tlsrpt_agg_free(w->days[i].agg);
    }
    free(w->pending);
    free(w->days);
    td_store_close(w->store);
    td_fleet_close(w->fleet);
    pthread_cond_destroy(&w->cv);
    pthread_cond_destroy(&w->room_cv);
    pthread_mutex_destroy(&w->mu);
    free(w);
    return status;
}
