/*
 * net_event_loop: many MTA-STS discoveries at once over real DNS and
 * HTTPS, driven by libmtasts-net from a libevent 2 loop, in the style of
 * an event-driven MTA.
 *
 *   usage: net_event_loop [--dns-server IP[:PORT]] [--ca-file FILE]
 *                         [--connect-to HOST:PORT:HOST2:PORT2]...
 *                         [--count N] [--base DOMAIN] [--timeout SECONDS]
 *                         [DOMAIN...]
 *
 * Without DOMAIN arguments it looks up d0.BASE ... d(N-1).BASE (N = 100,
 * BASE = e2e.test by default). Every lookup is started before the loop
 * runs: they are all in flight together, and libmtasts-net multiplexes
 * their DNS queries (c-ares) and HTTPS fetches (libcurl multi) over the
 * sockets it asks the loop to watch.
 *
 * The glue between libmtasts-net and libevent is the two callbacks of
 * struct mtasts_net_loop: watch(fd, what) keeps one persistent libevent
 * event per socket, timer(ms) one libevent timer; their libevent
 * callbacks hand readiness and expiry back with mtasts_net_on_socket()
 * and mtasts_net_on_timeout(). Each lookup's completion callback prints
 * one line; when the last one is done the loop is stopped.
 *
 * Output: one line per domain, "DOMAIN: OUTCOME why=WHY [mode=MODE]
 * [result_type=TYPE]" or "DOMAIN: failed STATUS", then a summary line
 * "summary: total=N done=D failed=F apply=A in_flight=I
 * txt_before_first_fetch=X wall_ms=T": I is mtasts_net_pending() once all
 * were started, X how many TXT answers had arrived when the first policy
 * fetch ended (1 if the lookups ran one after the other).
 *
 * Exit status: 0 when every lookup finished (whatever its outcome), 1
 * when one failed (a negative status) or the deadline (the fetch timeout
 * plus 30 s) passed, 2 on a usage error.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include <mtasts.h>
#include <mtasts_net.h>

#define MAX_CONNECT_TO 64
#define MAX_COUNT      10000

/* One socket watched for libmtasts-net. */
struct watch {
    int fd;
    struct event *ev;
    struct watch *next;
};

struct app {
    struct event_base *base;
    mtasts_net *net;
    struct watch *watches;
    struct event *timer;
    struct event *deadline;
    size_t total, done, failed, apply;
    size_t in_flight;              /* mtasts_net_pending() once all started */
    size_t txt_steps, fetch_steps; /* I/O steps seen so far */
    size_t txt_before_first_fetch;
    int closing; /* mtasts_net_free() is cancelling what is left */
    int timed_out;
    int oom;
};

struct job {
    struct app *app;
    char domain[256];
    mtasts_lookup *lookup;
    int finished;
};

static long
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
on_socket_event(evutil_socket_t fd, short what, void *arg)
{
    struct app *app = arg;
    unsigned ev = 0;

    if (what & EV_READ)
        ev |= MTASTS_NET_F_POLL_IN;
    if (what & EV_WRITE)
        ev |= MTASTS_NET_F_POLL_OUT;
    if (mtasts_net_on_socket(app->net, (int)fd, ev) == MTASTS_ENOMEM)
        app->oom = 1;
}

static void
on_timer_event(evutil_socket_t fd, short what, void *arg)
{
    struct app *app = arg;

    (void)fd;
    (void)what;
    if (mtasts_net_on_timeout(app->net) == MTASTS_ENOMEM)
        app->oom = 1;
}

/* mtasts_net_loop.watch: one persistent event per fd, replaced on each
 * call, freed on REMOVE. libevent allows freeing an event from inside its
 * own callback, which is where a REMOVE usually comes from. */
static void
loop_watch(void *user, int fd, unsigned what)
{
    struct app *app = user;
    struct watch **pp, *w = NULL;
    short flags = EV_PERSIST;

    for (pp = &app->watches; *pp != NULL; pp = &(*pp)->next) {
        if ((*pp)->fd == fd) {
            w = *pp;
            break;
        }
    }
    if (w != NULL) {
        event_free(w->ev);
        w->ev = NULL;
        if (what & MTASTS_NET_F_POLL_REMOVE) {
            *pp = w->next;
            free(w);
            return;
        }
    } else {
        if (what & MTASTS_NET_F_POLL_REMOVE)
            return;
        w = calloc(1, sizeof(*w));
        if (w == NULL) {
            app->oom = 1;
            return;
        }
        w->fd = fd;
        w->next = app->watches;
        app->watches = w;
    }
    if (what & MTASTS_NET_F_POLL_IN)
        flags |= EV_READ;
    if (what & MTASTS_NET_F_POLL_OUT)
        flags |= EV_WRITE;
    w->ev = event_new(app->base, fd, flags, on_socket_event, app);
    if (w->ev == NULL || event_add(w->ev, NULL) != 0)
        app->oom = 1;
}

/* mtasts_net_loop.timer: one timer, replaced on each call; -1 removes
 * it. */
static void
loop_timer(void *user, long ms)
{
    struct app *app = user;
    struct timeval tv;

    event_del(app->timer);
    if (ms < 0)
        return;
    tv.tv_sec = ms / 1000;
    tv.tv_usec = (ms % 1000) * 1000;
    if (event_add(app->timer, &tv) != 0)
        app->oom = 1;
}

static void
on_deadline(evutil_socket_t fd, short what, void *arg)
{
    struct app *app = arg;

    (void)fd;
    (void)what;
    app->timed_out = 1;
    event_base_loopbreak(app->base);
}

static void
lookup_done(void *user, int status, mtasts_lookup *lookup)
{
    struct job *job = user;
    struct app *app = job->app;
    const mtasts_policy *pol;
    const char *rt;
    int outcome;

    job->finished = 1;
    app->done++;
    if (status != MTASTS_OK) {
        app->failed++;
        printf("%s: failed %s\n", job->domain, mtasts_net_strerror(status));
    } else {
        outcome = mtasts_lookup_outcome(lookup);
        pol = mtasts_lookup_policy(lookup);
        rt = mtasts_result_type_name(mtasts_lookup_result_type(lookup));
        if (outcome == MTASTS_OUTCOME_APPLY)
            app->apply++;
        printf("%s: %s why=%s", job->domain,
               outcome == MTASTS_OUTCOME_APPLY              ? "apply"
               : outcome == MTASTS_OUTCOME_NO_ACTIVE_POLICY ? "no_active_policy"
               : outcome == MTASTS_OUTCOME_TEMPFAIL         ? "tempfail"
                                                            : "no_policy",
               mtasts_why_name(mtasts_lookup_why(lookup)));
        if (pol != NULL)
            printf(" mode=%s", mtasts_mode_name(mtasts_policy_mode(pol)));
        if (rt != NULL)
            printf(" result_type=%s", rt);
        printf("\n");
    }
    if (app->done == app->total && !app->closing)
        event_base_loopbreak(app->base);
}

/* Each I/O step of any lookup: how many TXT answers had come in when the
 * first policy fetch ended shows the lookups overlapping (run one after
 * the other, it would be 1). */
static void
lookup_step(void *user, const struct mtasts_net_step *step)
{
    struct job *job = user;
    struct app *app = job->app;

    if (step->kind == MTASTS_NET_STEP_TXT) {
        app->txt_steps++;
    } else if (step->kind == MTASTS_NET_STEP_FETCH) {
        if (app->fetch_steps++ == 0)
            app->txt_before_first_fetch = app->txt_steps;
    }
}

static int
usage(void)
{
    fprintf(stderr,
            "usage: net_event_loop [--dns-server IP[:PORT]] [--ca-file FILE]\n"
            "                      [--connect-to HOST:PORT:HOST2:PORT2]...\n"
            "                      [--count N] [--base DOMAIN] "
            "[--timeout SECONDS] [DOMAIN...]\n");
    return 2;
}

static int
parse_uint(const char *s, unsigned long max, unsigned long *ret)
{
    char *end;
    unsigned long v;

    errno = 0;
    v = strtoul(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v > max || s[0] == '-')
        return -1;
    *ret = v;
    return 0;
}

int
main(int argc, char **argv)
{
    struct mtasts_net_config cfg;
    struct mtasts_net_loop loop;
    struct app app;
    const char *connect_to[MAX_CONNECT_TO];
    const char *base_name = "e2e.test";
    unsigned long count = 100, timeout_s = 10;
    struct job *jobs = NULL;
    mtasts_ctx *ctx = NULL;
    struct timeval dl;
    size_t nct = 0, i, ndomains;
    int argi, rc, ret = 1;
    long t0;

    memset(&cfg, 0, sizeof(cfg));
    cfg.version = MTASTS_NET_CONFIG_VERSION;
    for (argi = 1; argi < argc && argv[argi][0] == '-'; argi++) {
        const char *o = argv[argi];
        if (argi + 1 >= argc)
            return usage();
        if (strcmp(o, "--dns-server") == 0)
            cfg.dns_servers = argv[++argi];
        else if (strcmp(o, "--ca-file") == 0)
            cfg.ca_file = argv[++argi];
        else if (strcmp(o, "--connect-to") == 0) {
            if (nct == MAX_CONNECT_TO)
                return usage();
            connect_to[nct++] = argv[++argi];
        } else if (strcmp(o, "--count") == 0) {
            if (parse_uint(argv[++argi], MAX_COUNT, &count) != 0 || count == 0)
                return usage();
        } else if (strcmp(o, "--base") == 0)
            base_name = argv[++argi];
        else if (strcmp(o, "--timeout") == 0) {
            if (parse_uint(argv[++argi], 3600, &timeout_s) != 0 ||
                timeout_s == 0)
                return usage();
        } else
            return usage();
    }
    cfg.connect_to = connect_to;
    cfg.connect_to_count = nct;
    cfg.connect_timeout_ms = (uint32_t)timeout_s * 1000;
    cfg.probe_timeout_ms = (uint32_t)timeout_s * 1000;
    ndomains = argi < argc ? (size_t)(argc - argi) : (size_t)count;

    memset(&app, 0, sizeof(app));
    app.total = ndomains;
    jobs = calloc(ndomains, sizeof(*jobs));
    app.base = event_base_new();
    if (jobs == NULL || app.base == NULL) {
        fprintf(stderr, "net_event_loop: out of memory\n");
        goto out;
    }
    app.timer = evtimer_new(app.base, on_timer_event, &app);
    app.deadline = evtimer_new(app.base, on_deadline, &app);
    if (app.timer == NULL || app.deadline == NULL) {
        fprintf(stderr, "net_event_loop: out of memory\n");
        goto out;
    }
    rc = mtasts_ctx_new(NULL, &ctx);
    if (rc == MTASTS_OK)
        rc = mtasts_ctx_set_option(ctx, MTASTS_OPT_FETCH_TIMEOUT_MS,
                                   (int64_t)timeout_s * 1000);
    if (rc == MTASTS_OK)
        rc = mtasts_net_new(&cfg, &app.net);
    if (rc != MTASTS_OK) {
        fprintf(stderr, "net_event_loop: %s\n", mtasts_net_strerror(rc));
        goto out;
    }
    loop.version = MTASTS_NET_LOOP_VERSION;
    loop.watch = loop_watch;
    loop.timer = loop_timer;
    loop.user = &app;
    rc = mtasts_net_set_loop(app.net, &loop);
    if (rc != MTASTS_OK) {
        fprintf(stderr, "mtasts_net_set_loop: %s\n", mtasts_net_strerror(rc));
        goto out;
    }

    t0 = now_ms();
    for (i = 0; i < ndomains; i++) {
        struct job *j = &jobs[i];
        int n;

        j->app = &app;
        if (argi < argc)
            n = snprintf(j->domain, sizeof(j->domain), "%s",
                         argv[argi + (int)i]);
        else
            n = snprintf(j->domain, sizeof(j->domain), "d%zu.%s", i, base_name);
        if (n < 0 || (size_t)n >= sizeof(j->domain)) {
            fprintf(stderr, "net_event_loop: domain name too long\n");
            goto out;
        }
        rc = mtasts_lookup_new(ctx, j->domain, strlen(j->domain), NULL, 0,
                               (int64_t)time(NULL), 0, &j->lookup);
        if (rc == MTASTS_OK)
            rc = mtasts_net_lookup_start(app.net, j->lookup, lookup_step,
                                         lookup_done, j);
        if (rc != MTASTS_OK) {
            /* not started: counted as failed, no callback will come */
            printf("%s: failed %s\n", j->domain, mtasts_net_strerror(rc));
            j->finished = 1;
            app.done++;
            app.failed++;
        }
    }

    app.in_flight = mtasts_net_pending(app.net);

    /* A bound on the whole run: every request has its own timeouts, this
     * only keeps a bug from hanging the example. */
    dl.tv_sec = (time_t)timeout_s + 30;
    dl.tv_usec = 0;
    evtimer_add(app.deadline, &dl);
    if (app.done < app.total)
        event_base_dispatch(app.base);

    if (app.timed_out)
        printf("deadline passed: cancelling %zu lookups\n",
               app.total - app.done);
    /* Cancel whatever is left: their callbacks run now, with
     * MTASTS_NET_ECANCELED, and count as failed. */
    app.closing = 1;
    mtasts_net_free(app.net);
    app.net = NULL;
    for (i = 0; i < ndomains; i++) {
        if (!jobs[i].finished) {
            printf("%s: failed never finished\n", jobs[i].domain);
            app.failed++;
        }
    }
    printf("summary: total=%zu done=%zu failed=%zu apply=%zu in_flight=%zu "
           "txt_before_first_fetch=%zu wall_ms=%ld\n",
           app.total, app.done, app.failed, app.apply, app.in_flight,
           app.txt_before_first_fetch, now_ms() - t0);
    if (app.oom)
        fprintf(stderr, "net_event_loop: out of memory in the loop glue\n");
    ret = app.failed == 0 && !app.timed_out && !app.oom ? 0 : 1;

out:
    app.closing = 1;
    mtasts_net_free(app.net); /* NULL when already freed */
    if (jobs != NULL) {
        for (i = 0; i < ndomains; i++)
            mtasts_lookup_free(jobs[i].lookup);
    }
    free(jobs);
    while (app.watches != NULL) {
        struct watch *w = app.watches;
        app.watches = w->next;
        if (w->ev != NULL)
            event_free(w->ev);
        free(w);
    }
    if (app.timer != NULL)
        event_free(app.timer);
    if (app.deadline != NULL)
        event_free(app.deadline);
    if (app.base != NULL)
        event_base_free(app.base);
    mtasts_ctx_free(ctx);
    return ret;
}
