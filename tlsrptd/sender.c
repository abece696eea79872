/*
 * The collector's sender: a thread of its own, so that nothing it waits
 * for (DNS, HTTPS, sendmail, Redis) ever holds up the event loop that
 * reads the datagrams, nor the writer thread that stores them. It has
 * its own connection to the store (SQLite in WAL mode lets it read and
 * write beside the writer) and, in fleet mode, to Redis.
 *
 * It wakes when something is due, at the latest every hour:
 *
 *  - for each day before today within the retention whose sending is not
 *    finished: once its send time has come (td_send_time(): the end of
 *    the day plus 1 to spread_window seconds, fixed per day by the
 *    store's seed, so that a restart keeps it) and the writer has stored
 *    every result of the day (td_writer_through()), it closes the day
 *    (close.c) and sends what is due (deliver.c); a day whose every
 *    report is delivered, given up or has nowhere to go is finished;
 *  - in fleet mode a day is also waited for until every host that wrote
 *    it has stored it whole, at most fleet_wait seconds after its end;
 *  - once an hour, the days older than the retention are removed.
 *
 * With out_dir set it writes what it would send to OUT/YYYY-MM-DD/
 * instead (a dry run) and marks the day finished; `mtasts-tlsrptd send --day`
 * sends such a day for real later.
 *
 * Stopping waits for the attempt under way (at most the timeout).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "td.h"

#define IDLE_WAKE 3600

struct td_sender_thread {
    const struct td_config *cfg;
    struct td_writer *writer;
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    volatile int stop;
    int lock_fd; /* DIR/tlsrptd-send.lock: one sender per store */
};

int64_t
td_send_time(const struct td_config *cfg, uint64_t seed, int64_t day)
{
    uint64_t h;

    day -= day % TD_DAY; /* any time of the day */
    h = seed ^ ((uint64_t)day * UINT64_C(0x9E3779B97F4A7C15));
    h ^= h >> 31;
    h *= UINT64_C(0xBF58476D1CE4E5B9);
    h ^= h >> 29;
    return day + TD_DAY + 1 +
           (cfg->spread_window > 0 ? (int64_t)(h % (uint64_t)cfg->spread_window)
                                   : 0);
}

static int64_t
now_s(void)
{
    return (int64_t)time(NULL);
}

static int64_t
earlier(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

/* The days to look at: the store's and (fleet) Redis's, in
 * [from, to), not finished; malloc'd. */
static int
candidates(struct td_store *store, struct td_fleet *fleet, int64_t from,
           int64_t to, int64_t **ret, size_t *ret_n)
{
    int64_t *mine, *theirs = NULL, *all;
    size_t n, m = 0, i, k, c = 0;
    int dup;

    if (td_store_days(store, from, to, &mine, &n) != 0) {
        td_log(TD_LOG_ERR, "%s", td_store_error(store));
        return -1;
    }
    if (fleet != NULL && td_fleet_days(fleet, &theirs, &m) != 0) {
        td_log(TD_LOG_WARNING, "%s", td_fleet_error(fleet));
        theirs = NULL;
        m = 0;
    }
    all = malloc((n + m + 1) * sizeof(*all));
    if (all == NULL) {
        free(mine);
        free(theirs);
        return -1;
    }
    for (i = 0; i < n; i++)
        all[c++] = mine[i];
    for (i = 0; i < m; i++) {
        if (theirs[i] < from || theirs[i] >= to)
            continue;
        for (dup = 0, k = 0; k < n && !dup; k++)
            dup = mine[k] == theirs[i];
        if (!dup && td_store_day_finished(store, theirs[i]) == 0)
            all[c++] = theirs[i];
    }
    free(mine);
    free(theirs);
    *ret = all;
    *ret_n = c;
    return 0;
}

static void
prune(struct td_sender_thread *t, struct td_store *store,
      struct td_fleet *fleet, int64_t today)
{
    int64_t before = today - (int64_t)t->cfg->retention * TD_DAY, *days;
    unsigned removed = 0;
    size_t n, i;

    if (td_store_prune(store, before, &removed) != 0)
        td_log(TD_LOG_ERR, "%s", td_store_error(store));
    else if (removed > 0)
        td_log(TD_LOG_INFO, "%u day(s) older than %d days removed", removed,
               t->cfg->retention);
    if (fleet != NULL && td_fleet_days(fleet, &days, &n) == 0) {
        for (i = 0; i < n; i++)
            if (days[i] < before)
                td_fleet_forget_day(fleet, days[i]);
        free(days);
    }
}

static int64_t one_day_locked(struct td_sender_thread *t, struct td_sender *s,
                              int64_t day, int64_t now, const char *d);

/* One day: close and send. Returns when to come back (0: finished). */
static int64_t
one_day(struct td_sender_thread *t, struct td_sender *s, int64_t day,
        int64_t now)
{
    int64_t next;
    char d[11];

    td_day_format(day, d);
    if (t->lock_fd >= 0 && flock(t->lock_fd, LOCK_EX) != 0)
        return now + 60;
    next = one_day_locked(t, s, day, now, d);
    if (t->lock_fd >= 0)
        flock(t->lock_fd, LOCK_UN);
    return next;
}

static int64_t
one_day_locked(struct td_sender_thread *t, struct td_sender *s, int64_t day,
               int64_t now, const char *d)
{
    struct td_report *reports = NULL;
    struct td_close_info info;
    char dir[4200];
    size_t n = 0;
    int64_t next;

    if (s->dry_run) {
        /* the collector's dry run: one directory per day */
        snprintf(dir, sizeof(dir), "%s/%s", t->cfg->out_dir, d);
        if ((mkdir(t->cfg->out_dir, 0755) != 0 && errno != EEXIST) ||
            (mkdir(dir, 0755) != 0 && errno != EEXIST)) {
            td_log(TD_LOG_ERR, "cannot make %s: %s", dir, strerror(errno));
            return now + 60;
        }
    }
    if (td_day_close(t->cfg, s->store, s->fleet, day,
                     day + TD_DAY + t->cfg->fleet_wait, now, &reports, &n,
                     &info) != 0)
        return now + 60;
    if (info.wait)
        return now + 10;
    if (info.made > 0)
        td_log(TD_LOG_INFO, "day %s closed: %zu report(s) made", d, info.made);
    s->out_dir = s->dry_run ? dir : NULL;
    next = td_send_reports(s, day, reports, n, now);
    s->out_dir = NULL;
    td_store_reports_free(reports, n);
    if (next < 0)
        return now + 60;
    if (next == 0 || s->dry_run) {
        if (td_store_day_finish(s->store, day) != 0) {
            td_log(TD_LOG_ERR, "%s", td_store_error(s->store));
            return now + 60;
        }
        td_log(TD_LOG_INFO, "day %s: sending finished%s", d,
               s->dry_run ? " (written to the out_dir, not sent)" : "");
        return 0;
    }
    return next;
}

static void *
run(void *arg)
{
    struct td_sender_thread *t = arg;
    const struct td_config *cfg = t->cfg;
    struct td_store *store = NULL;
    struct td_fleet *fleet = NULL;
    struct td_sender s;
    struct timespec ts;
    int64_t now, today, wake, next, *days = NULL, pruned = 0, w;
    uint64_t seed = 0, fresh = 0;
    char err[600];
    size_t n = 0, i;
    int ready = 0;

    snprintf(err, sizeof(err), "%s/tlsrptd-send.lock", cfg->store);
    t->lock_fd = open(err, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (t->lock_fd < 0)
        td_log(TD_LOG_WARNING, "sender: cannot open %s: %s", err,
               strerror(errno));
    if (td_store_open(cfg->store, &store, err, sizeof(err)) != 0)
        td_log(TD_LOG_ERR, "sender: %s; no report is sent", err);
    else if (cfg->redis != NULL &&
             td_fleet_open(cfg, cfg->host_id, 0, &fleet, err, sizeof(err)) != 0)
        td_log(TD_LOG_ERR, "sender: %s; no report is sent", err);
    else if (td_random64(&fresh) != 0 ||
             td_store_seed(store, fresh, &seed) != 0)
        td_log(TD_LOG_ERR, "sender: cannot make the seed");
    else if (td_sender_init(&s, cfg, store, fleet) == 0)
        ready = 1;
    if (ready) {
        s.stop = &t->stop;
        s.dry_run = cfg->out_dir != NULL;
    }
    pthread_mutex_lock(&t->mu);
    while (!t->stop) {
        pthread_mutex_unlock(&t->mu);
        now = now_s();
        wake = now + IDLE_WAKE;
        if (ready) {
            today = now - now % TD_DAY;
            if (now - pruned >= 3600) {
                prune(t, store, fleet, today);
                pruned = now;
            }
            if (candidates(store, fleet,
                           today - (int64_t)cfg->retention * TD_DAY, today,
                           &days, &n) != 0)
                wake = now + 60;
            for (i = 0; i < n && !t->stop; i++) {
                w = td_send_time(cfg, seed, days[i]);
                if (now < w) {
                    wake = earlier(wake, w);
                    continue;
                }
                /* the day's last results must be stored first */
                if (td_writer_through(t->writer) < days[i] + TD_DAY) {
                    wake = earlier(wake, now + 1);
                    continue;
                }
                next = one_day(t, &s, days[i], now);
                if (next > 0)
                    wake = earlier(wake, next > now ? next : now + 1);
            }
            free(days);
            days = NULL;
            /* tomorrow's first send time */
            wake = earlier(wake, td_send_time(cfg, seed, today));
        }
        pthread_mutex_lock(&t->mu);
        if (t->stop)
            break;
        ts.tv_sec = (time_t)wake;
        ts.tv_nsec = 0;
        if (wake > now_s())
            pthread_cond_timedwait(&t->cv, &t->mu, &ts);
    }
    pthread_mutex_unlock(&t->mu);
    if (ready)
        td_sender_fini(&s);
    td_fleet_close(fleet);
    td_store_close(store);
    if (t->lock_fd >= 0)
        close(t->lock_fd);
    return NULL;
}

int
td_sender_thread_start(const struct td_config *cfg, struct td_writer *w,
                       struct td_sender_thread **ret)
{
    struct td_sender_thread *t;
    int rc;

    *ret = NULL;
    t = calloc(1, sizeof(*t));
    if (t == NULL) {
        td_log(TD_LOG_ERR, "cannot start the sender: out of memory");
        return -1;
    }
    t->cfg = cfg;
    t->writer = w;
    t->lock_fd = -1;
    if (pthread_mutex_init(&t->mu, NULL) != 0) {
        free(t);
        return -1;
    }
    if (pthread_cond_init(&t->cv, NULL) != 0 ||
        (rc = pthread_create(&t->th, NULL, run, t)) != 0) {
        td_log(TD_LOG_ERR, "cannot start the sender thread");
        pthread_mutex_destroy(&t->mu);
        free(t);
        return -1;
    }
    *ret = t;
    return 0;
}

void
td_sender_thread_stop(struct td_sender_thread *t)
{
    if (t == NULL)
        return;
    pthread_mutex_lock(&t->mu);
    t->stop = 1;
    pthread_cond_signal(&t->cv);
    pthread_mutex_unlock(&t->mu);
    pthread_join(t->th, NULL);
    pthread_cond_destroy(&t->cv);
    pthread_mutex_destroy(&t->mu);
    free(t);
}
