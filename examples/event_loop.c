/*
 * event_loop: several MTA-STS policy lookups in flight at once in one
 * poll() loop, in the style of an event-driven MTA such as OpenSMTPD.
 *
 *   usage: event_loop
 *
 * Only the pull API is used: mtasts_lookup_next() says what a lookup needs,
 * the loop starts that I/O without blocking, and when the answer arrives
 * it hands it over with mtasts_lookup_put_txt() or
 * mtasts_lookup_put_fetch(), then asks mtasts_lookup_next() again.
 *
 * There is no network I/O. Each question goes to a "responder": a child
 * process that waits a little, writes a canned answer to a pipe and exits.
 * In a real MTA the pipe is the socket of the resolver (c-ares, libunbound,
 * libasr) or of the HTTPS client (libcurl's multi interface), and the
 * answers come from DNS and from https://mta-sts.<domain>/.
 *
 * Exit status: 0 when every lookup finished as expected, 1 otherwise.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <mtasts.h>

/* Canned DNS and HTTPS answers of one domain. */
struct job {
    const char *domain;
    int txt_status;    /* MTASTS_DNS_* */
    const char *txt;   /* TXT records, one per line */
    int txt_delay_ms;  /* how long the resolver takes */
    int transport;     /* MTASTS_FETCH_* of the HTTPS client */
    int http_status;   /* 200, 404... */
    const char *ctype; /* Content-Type */
    const char *body;  /* the policy */
    int fetch_delay_ms;
    const char *expect; /* expected outcome, as printed below */
};

static const char enforce[] = "version: STSv1\r\nmode: enforce\r\n"
                              "mx: mx.example.com\r\nmax_age: 604800\r\n";
static const char testing[] = "version: STSv1\r\nmode: testing\r\n"
                              "mx: *.example.org\r\nmax_age: 86400\r\n";

#define TP "text/plain"

static const struct job jobs[] = {
    {"example.com", MTASTS_DNS_OK, "v=STSv1; id=20240301;", 120,
     MTASTS_FETCH_OK, 200, TP, enforce, 80, "apply enforce (fetched)"},
    {"example.net", MTASTS_DNS_NXDOMAIN, "", 30, 0, 0, NULL, NULL, 0,
     "no policy (no_record)"},
    {"example.org", MTASTS_DNS_OK, "v=STSv1; id=1;", 60, MTASTS_FETCH_OK, 200,
     TP "; charset=utf-8", testing, 150, "apply testing (fetched)"},
    {"gone.example", MTASTS_DNS_OK, "v=STSv1; id=7;", 10, MTASTS_FETCH_OK, 404,
     "text/html", "<h1>Not Found</h1>", 20,
     "no policy (fetch_failed) report sts-policy-fetch-error"},
    {"html.example", MTASTS_DNS_OK, "v=STSv1; id=8;", 40, MTASTS_FETCH_OK, 200,
     "text/html", enforce, 20,
     "no policy (fetch_failed) report sts-policy-invalid"},
    {"badcert.example", MTASTS_DNS_OK, "v=STSv1; id=9;", 20, MTASTS_FETCH_CERT,
     0, NULL, NULL, 30, "no policy (fetch_failed) report sts-webpki-invalid"},
    /* The HTTPS server never answers in time: the loop's timer fires. */
    {"slow.example", MTASTS_DNS_OK, "v=STSv1; id=2;", 10, MTASTS_FETCH_OK, 200,
     TP, enforce, 10000,
     "no policy (fetch_failed) report sts-policy-fetch-error"},
    {"two.example", MTASTS_DNS_OK, "v=STSv1; id=3;\nv=STSv1; id=4;", 50, 0, 0,
     NULL, NULL, 0, "no policy (txt_multiple)"},
    {"servfail.example", MTASTS_DNS_TEMPFAIL, "", 70, 0, 0, NULL, NULL, 0,
     "no policy (txt_tempfail)"},
    {"[192.0.2.1]", 0, NULL, 0, 0, 0, NULL, NULL, 0,
     "no policy (address_literal)"},
};

#define NJOBS (sizeof(jobs) / sizeof(jobs[0]))

/* One lookup in flight and its pending question. */
struct slot {
    mtasts_lookup *lookup;
    int fd;          /* read end of the responder's pipe, or -1 */
    pid_t pid;       /* the responder */
    long deadline;   /* ms; give up on the fetch then (0: none) */
    char buf[65536]; /* the answer read so far */
    size_t len;
    int done;
    char result[160];
};

static long
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Start a responder that writes answer after delay_ms. */
static int
respond_later(struct slot *s, const char *answer, size_t len, int delay_ms)
{
    struct timespec ts;
    int p[2];
    pid_t pid;

    if (pipe(p) != 0)
        return -1;
    fflush(stdout);
    pid = fork();
    if (pid < 0) {
        close(p[0]);
        close(p[1]);
        return -1;
    }
    if (pid == 0) {
        close(p[0]);
        ts.tv_sec = delay_ms / 1000;
        ts.tv_nsec = (long)(delay_ms % 1000) * 1000000;
        nanosleep(&ts, NULL);
        while (len > 0) {
            ssize_t w = write(p[1], answer, len);
            if (w <= 0)
                _exit(1);
            answer += w;
            len -= (size_t)w;
        }
        _exit(0);
    }
    close(p[1]);
    s->fd = p[0];
    s->pid = pid;
    s->len = 0;
    return 0;
}

/* Ask the question the lookup is waiting for. The answer format on the
 * pipe is this example's own: a first line of numbers, then the data. */
static int
ask(struct slot *s, const struct job *j, int act)
{
    char answer[8192];
    int n;

    if (act == MTASTS_ACT_TXT)
        /* A real MTA sends the query for mtasts_lookup_txt_name() here. */
        n = snprintf(answer, sizeof(answer), "%d\n%s", j->txt_status, j->txt);
    else
        /* A real MTA starts the HTTPS GET of mtasts_lookup_fetch_url()
         * here, with SNI and certificate name mtasts_lookup_fetch_host(),
         * TLS >= 1.2, no redirects, at most mtasts_lookup_fetch_max_size()
         * bytes (see blocking.c). */
        n = snprintf(answer, sizeof(answer), "%d %d %s\n%s", j->transport,
                     j->http_status, j->ctype != NULL ? j->ctype : "-",
                     j->body != NULL ? j->body : "");
    if (n < 0 || (size_t)n >= sizeof(answer))
        return -1;
    s->deadline =
        act == MTASTS_ACT_FETCH
            ? now_ms() + (long)mtasts_lookup_fetch_timeout_ms(s->lookup)
            : 0;
    return respond_later(s, answer, (size_t)n,
                         act == MTASTS_ACT_TXT ? j->txt_delay_ms
                                               : j->fetch_delay_ms);
}

static void
finish(struct slot *s, const struct job *j)
{
    static const char *const outcomes[] = {"?", "no policy", "apply",
                                           "no active policy", "tempfail"};
    const mtasts_policy *pol = mtasts_lookup_policy(s->lookup);
    const char *rt;
    int n;

    n = snprintf(s->result, sizeof(s->result), "%s",
                 outcomes[mtasts_lookup_outcome(s->lookup)]);
    if (pol != NULL)
        n += snprintf(s->result + n, sizeof(s->result) - (size_t)n, " %s",
                      mtasts_mode_name(mtasts_policy_mode(pol)));
    n += snprintf(s->result + n, sizeof(s->result) - (size_t)n, " (%s)",
                  mtasts_why_name(mtasts_lookup_why(s->lookup)));
    rt = mtasts_result_type_name(mtasts_lookup_result_type(s->lookup));
    if (rt != NULL)
        snprintf(s->result + n, sizeof(s->result) - (size_t)n, " report %s",
                 rt);
    s->done = 1;
    /* A real MTA now stores mtasts_lookup_entry() when
     * mtasts_lookup_entry_action() says so (or hands the lookup to
     * mtasts_cache_apply()), then runs mtasts_decide() for the MX hosts of
     * the queued messages. */
    printf("done: %s: %s\n", j->domain, s->result);
}

/* Drive one lookup as far as it goes without waiting. */
static int
advance(struct slot *s, const struct job *j)
{
    int act = mtasts_lookup_next(s->lookup);

    if (act == MTASTS_ACT_DONE) {
        finish(s, j);
        return 0;
    }
    if (act < 0)
        return act; /* fatal (out of memory) */
    printf("%s: waiting for %s\n", j->domain,
           act == MTASTS_ACT_TXT ? "DNS" : "HTTPS");
    return ask(s, j, act);
}

/* The responder's answer is complete: pass it to the lookup. */
static int
answer(struct slot *s)
{
    const char *strs[8];
    size_t lens[8], nstr[8], n = 0, ctlen;
    char *p, *nl, *ct;
    int status, transport, http;

    s->buf[s->len] = '\0';
    nl = strchr(s->buf, '\n');
    if (nl == NULL)
        return -1;
    *nl = '\0';
    if (mtasts_lookup_next(s->lookup) == MTASTS_ACT_TXT) {
        status = atoi(s->buf);
        for (p = nl + 1; *p != '\0' && n < 8; p = nl + 1) {
            nl = strchr(p, '\n');
            if (nl == NULL)
                nl = p + strlen(p);
            strs[n] = p;
            lens[n] = (size_t)(nl - p);
            nstr[n++] = 1;
            if (*nl == '\0')
                break;
        }
        return mtasts_lookup_put_txt(s->lookup, status, n ? strs : NULL,
                                     n ? lens : NULL, n ? nstr : NULL, n);
    }
    if (sscanf(s->buf, "%d %d", &transport, &http) != 2)
        return -1;
    ct = strchr(strchr(s->buf, ' ') + 1, ' ') + 1;
    ctlen = strcmp(ct, "-") == 0 ? 0 : strlen(ct);
    p = nl + 1;
    return mtasts_lookup_put_fetch(s->lookup, transport, http,
                                   ctlen ? ct : NULL, ctlen, p,
                                   s->len - (size_t)(p - s->buf));
}

static void
reap(struct slot *s, int kill_it)
{
    if (kill_it)
        kill(s->pid, SIGKILL); /* our own responder, by its pid */
    (void)waitpid(s->pid, NULL, 0);
    close(s->fd);
    s->fd = -1;
}

int
main(void)
{
    static struct slot slots[NJOBS];
    struct pollfd pfd[NJOBS];
    size_t idx[NJOBS], i, np, left = NJOBS;
    mtasts_ctx *ctx = NULL;
    int rc, timeout, failed = 0;
    long t;
    ssize_t r;

    if (mtasts_ctx_new(NULL, &ctx) != MTASTS_OK)
        return 1;
    /* A short fetch timeout so that slow.example gives up quickly. */
    (void)mtasts_ctx_set_option(ctx, MTASTS_OPT_FETCH_TIMEOUT_MS, 400);

    /* Start every lookup; nothing is cached in this example (entry NULL).
     * The context is shared: lookups only read it. */
    for (i = 0; i < NJOBS; i++) {
        slots[i].fd = -1;
        rc =
            mtasts_lookup_new(ctx, jobs[i].domain, strlen(jobs[i].domain), NULL,
                              0, (int64_t)time(NULL), 0, &slots[i].lookup);
        if (rc != MTASTS_OK || advance(&slots[i], &jobs[i]) != 0) {
            fprintf(stderr, "%s: cannot start\n", jobs[i].domain);
            return 1;
        }
        if (slots[i].done)
            left--;
    }
    printf("in flight: %zu\n", left);

    while (left > 0) {
        /* Wait for any pipe, or for the nearest fetch deadline. */
        np = 0;
        timeout = -1;
        t = now_ms();
        for (i = 0; i < NJOBS; i++) {
            if (slots[i].fd < 0)
                continue;
            pfd[np].fd = slots[i].fd;
            pfd[np].events = POLLIN;
            idx[np++] = i;
            if (slots[i].deadline != 0) {
                long d = slots[i].deadline > t ? slots[i].deadline - t : 0;
                if (timeout < 0 || d < timeout)
                    timeout = (int)d;
            }
        }
        if (poll(pfd, (nfds_t)np, timeout) < 0 && errno != EINTR) {
            perror("poll");
            return 1;
        }
        t = now_ms();
        for (i = 0; i < np; i++) {
            struct slot *s = &slots[idx[i]];
            const struct job *j = &jobs[idx[i]];

            if (pfd[i].revents != 0) {
                r = read(s->fd, s->buf + s->len, sizeof(s->buf) - 1 - s->len);
                if (r > 0) {
                    s->len += (size_t)r;
                    continue;
                }
                /* EOF: the answer is complete. */
                reap(s, 0);
                rc = answer(s);
            } else if (s->deadline != 0 && t >= s->deadline) {
                reap(s, 1);
                printf("%s: fetch timed out\n", j->domain);
                rc = mtasts_lookup_put_fetch(s->lookup, MTASTS_FETCH_TIMEOUT, 0,
                                             NULL, 0, NULL, 0);
            } else {
                continue;
            }
            if (rc != MTASTS_OK || advance(s, j) != 0) {
                fprintf(stderr, "%s: failed\n", j->domain);
                return 1;
            }
            if (s->done)
                left--;
        }
    }

    printf("\nsummary:\n");
    for (i = 0; i < NJOBS; i++) {
        int ok = strcmp(slots[i].result, jobs[i].expect) == 0;
        printf("%-17s %s%s\n", jobs[i].domain, slots[i].result,
               ok ? "" : "   <- UNEXPECTED");
        failed |= !ok;
        mtasts_lookup_free(slots[i].lookup);
    }
    mtasts_ctx_free(ctx);
    return failed;
}
