/*
 * The collector: an AF_UNIX datagram socket where tlsrpt-collectd
 * listens, read in batches (recvmmsg() until it would block, in a
 * libevent loop), each datagram read (dgram.c) and counted (collect.c)
 * into per-day deltas that a flush timer hands to the writer thread
 * (writer.c). Unreadable datagrams go to the dump file with a log line.
 *
 * The socket is made as tlsrpt-collectd makes it: bound, non-blocking,
 * no socket option; owner, group and mode only when configured (else
 * what the umask gives). SO_RCVBUF does not bound an AF_UNIX datagram
 * socket on Linux: the queue holds net.unix.max_dgram_qlen datagrams
 * (a sysctl), and the senders' SO_SNDBUF bounds the bytes in flight.
 *
 * Datagrams are read into slots of TD_DGRAM_MAX bytes (tlsrpt-collectd
 * reads up to 16 MiB): the slots are address space reserved with
 * MAP_NORESERVE, only the pages a datagram touches are memory, and the
 * pages of a datagram over 64 KiB are given back after it.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "td.h"

#define VLEN        32
#define BATCHES     64 /* per readiness event, then the loop runs timers */
#define SLOT_KEEP   (64u * 1024u)
#define DUMP_PREFIX "mtasts-tlsrptd dump"

struct daemon {
    const struct td_config *cfg;
    char *socket_path; /* absolute */
    char *dump_path;   /* absolute */
    int fd, lock_fd, dump_fd;
    struct event_base *base;
    struct event *ev_read, *ev_flush, *ev_term, *ev_int, *ev_hup;
    unsigned char *slots;
    size_t nslots;
    struct mmsghdr msgs[VLEN];
    struct iovec iov[VLEN];
    mtasts_ctx *ctx;
    struct td_parser *parser;
    struct td_collector *col;
    struct td_writer *writer;
    struct td_sender_thread *sender;
    struct td_ratelimit rl_bad, rl_note, rl_err;
    uint64_t datagrams, sessions, unreadable, refused;
    int status;
};

static int64_t
now_s(void)
{
    return (int64_t)time(NULL);
}

/* For tests only: MTASTS_TLSRPTD_TEST_CLOCK_OFFSET=SECONDS dates the
 * results received that much later (negative: earlier), so that a test
 * can fill a past day. */
static int64_t clock_offset;

static void
read_clock_offset(void)
{
    const char *v = getenv("MTASTS_TLSRPTD_TEST_CLOCK_OFFSET");
    char *end;
    long long o;

    if (v == NULL || *v == '\0')
        return;
    o = strtoll(v, &end, 10);
    if (*end == '\0' && o > -400LL * 86400 && o < 400LL * 86400)
        clock_offset = (int64_t)o;
}

/* dir/name or name when absolute; malloc'd. */
static char *
absolute(const char *name)
{
    char cwd[4096], *p;
    size_t n;

    if (name[0] == '/') {
        n = strlen(name) + 1;
        p = malloc(n);
        if (p != NULL)
            memcpy(p, name, n);
        return p;
    }
    if (getcwd(cwd, sizeof(cwd)) == NULL)
        return NULL;
    n = strlen(cwd) + strlen(name) + 2;
    p = malloc(n);
    if (p != NULL)
        snprintf(p, n, "%s/%s", cwd, name);
    return p;
}

/* ------------------------------------------------------------------ */
/* The dump file                                                       */
/* ------------------------------------------------------------------ */

/*
 * Append a datagram that was not counted: a header line
 *   "mtasts-tlsrptd dump: time=T length=N reason=R\n"
 * then its N bytes as received, then "\n". Returns the offset of the
 * datagram's first byte in the file, or -1 (logged).
 */
static long long
dump(struct daemon *d, const unsigned char *b, size_t n, const char *reason)
{
    char head[600];
    struct iovec v[3];
    off_t off;
    ssize_t w;
    int hl;

    if (d->dump_fd < 0) {
        d->dump_fd =
            open(d->dump_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
        if (d->dump_fd < 0) {
            td_log_limited(&d->rl_err, now_s(), TD_LOG_ERR,
                           "cannot open the dump file %s: %s", d->dump_path,
                           strerror(errno));
            return -1;
        }
    }
    hl = snprintf(head, sizeof(head),
                  DUMP_PREFIX ": time=%lld length=%zu "
                              "reason=%s\n",
                  (long long)now_s(), n, reason);
    if (hl < 0 || (size_t)hl >= sizeof(head))
        hl = (int)sizeof(head) - 1;
    head[hl - 1] = '\n';
    off = lseek(d->dump_fd, 0, SEEK_END);
    v[0].iov_base = head;
    v[0].iov_len = (size_t)hl;
    v[1].iov_base = (void *)(uintptr_t)b;
    v[1].iov_len = n;
    v[2].iov_base = (void *)(uintptr_t) "\n";
    v[2].iov_len = 1;
    w = writev(d->dump_fd, v, 3);
    if (w < 0 || (size_t)w != (size_t)hl + n + 1 || off < 0) {
        td_log_limited(&d->rl_err, now_s(), TD_LOG_ERR,
                       "cannot append to the dump file %s: %s", d->dump_path,
                       w < 0 ? strerror(errno) : "short write");
        return -1;
    }
    return (long long)off + hl;
}

/* ------------------------------------------------------------------ */
/* One datagram                                                        */
/* ------------------------------------------------------------------ */

static void flush(struct daemon *d);

static void
note_log(struct daemon *d, const struct td_result *r, const struct td_note *n)
{
    char dom[300];

    if (n->fallbacks == 0 && n->dropped == 0 && n->unknown_codes == 0 &&
        n->t_mismatch == 0)
        return;
    td_printable(r->domain.p, r->domain.n, 253, dom, sizeof(dom));
    if (n->fallbacks > 0 || n->dropped > 0)
        td_log_limited(&d->rl_note, now_s(), TD_LOG_WARNING,
                       "d=%s: counted, but %s%s", dom,
                       n->dropped > 0 ? "left out a member the report cannot "
                                        "hold: "
                                      : "",
                       n->change);
    else if (n->unknown_codes > 0)
        td_log_limited(&d->rl_note, now_s(), TD_LOG_WARNING,
                       "d=%s: unknown failure code %lld counted as "
                       "validation-failure (failure-reason-code "
                       "libtlsrpt-unknown-failure-code-%lld)",
                       dom, (long long)n->code, (long long)n->code);
    else
        td_log_limited(&d->rl_note, now_s(), TD_LOG_WARNING,
                       "d=%s: t (the failure count) differs from the number "
                       "of failure-details; the details are counted",
                       dom);
}

static void
datagram(struct daemon *d, const unsigned char *b, size_t n, size_t real,
         int64_t now)
{
    const struct td_result *r;
    struct td_err err;
    struct td_note note;
    char why[800], dom[300];
    long long at;
    int rc;

    d->datagrams++;
    if (real > n) {
        snprintf(why, sizeof(why),
                 "a datagram of at most %u bytes (it had %zu; the first %zu "
                 "are dumped)",
                 TD_DGRAM_MAX, real, n);
        d->unreadable++;
        at = dump(d, b, n, why);
        td_log_limited(&d->rl_bad, now, TD_LOG_WARNING,
                       "datagram not read: expected %s; dumped to %s at "
                       "offset %lld",
                       why, d->dump_path, at);
        return;
    }
    rc = td_parse(d->parser, (const char *)b, n, &r, &err);
    if (rc != MTASTS_OK) {
        d->unreadable++;
        snprintf(why, sizeof(why), "at byte %zu expected %s", err.off,
                 err.expected);
        at = dump(d, b, n, why);
        td_log_limited(&d->rl_bad, now, TD_LOG_WARNING,
                       "unreadable datagram of %zu bytes: at byte %zu "
                       "expected %s (%s); dumped to %s at offset %lld",
                       n, err.off, err.expected, mtasts_status_name(rc),
                       d->dump_path, at);
        return;
    }
    rc = td_collect(d->col, r, now, &note);
    if (rc == MTASTS_ESTATE) {
        /* results of more days than a delta set holds: hand them over */
        flush(d);
        rc = td_collect(d->col, r, now, &note);
    }
    d->sessions += note.sessions;
    note_log(d, r, &note);
    if (rc != MTASTS_OK) {
        d->refused++;
        td_printable(r->domain.p, r->domain.n, 253, dom, sizeof(dom));
        snprintf(why, sizeof(why),
                 "policy %zu of d=%s not counted: expected %s (%s); the "
                 "policies before it were counted",
                 note.policy, dom, note.what, mtasts_status_name(rc));
        at = dump(d, b, n, why);
        td_log_limited(&d->rl_bad, now, TD_LOG_WARNING,
                       "datagram of %zu bytes: %s; dumped to %s at offset "
                       "%lld",
                       n, why, d->dump_path, at);
    }
}

/* Read until the socket would block or max batches were read; 1 when
 * it stopped at max (more may be queued). */
static int
read_batches(struct daemon *d, int max)
{
    int batch, got, i;
    size_t len;
    int64_t now;

    for (batch = 0; batch < max; batch++) {
        got = recvmmsg(d->fd, d->msgs, (unsigned)d->nslots,
                       MSG_DONTWAIT | MSG_TRUNC, NULL);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                td_log_limited(&d->rl_err, now_s(), TD_LOG_ERR, "recvmmsg: %s",
                               strerror(errno));
            return 0;
        }
        now = now_s() + clock_offset;
        for (i = 0; i < got; i++) {
            len = d->msgs[i].msg_len;
            datagram(d, d->slots + (size_t)i * TD_DGRAM_MAX,
                     len > TD_DGRAM_MAX ? TD_DGRAM_MAX : len, len, now);
            if (len > SLOT_KEEP)
                madvise(d->slots + (size_t)i * TD_DGRAM_MAX + SLOT_KEEP,
                        TD_DGRAM_MAX - SLOT_KEEP, MADV_DONTNEED);
        }
        if ((size_t)got < d->nslots)
            return 0;
    }
    return 1;
}

static void
on_read(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    read_batches(arg, BATCHES);
}

/* Hand the deltas to the writer (or only tick it while it is behind:
 * the deltas then keep growing until it has room). */
static void
flush(struct daemon *d)
{
    struct td_delta out[TD_DAYS_MAX];
    size_t n;

    if (td_writer_room(d->writer) < TD_DAYS_MAX) {
        td_writer_submit(d->writer, NULL, 0, 0);
        return;
    }
    td_collector_take(d->col, out, &n);
    /* every result received before now is in out */
    td_writer_submit(d->writer, out, n, now_s());
}

static void
on_flush(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    flush(arg);
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
    struct daemon *d = arg;

    (void)what;
    if (sig == SIGHUP) {
        /* logrotate: the dump file is opened again on next use */
        if (d->dump_fd >= 0)
            close(d->dump_fd);
        d->dump_fd = -1;
        return;
    }
    td_log(TD_LOG_INFO, "signal %d: stopping", (int)sig);
    event_base_loopbreak(d->base);
}

/* ------------------------------------------------------------------ */
/* Start and stop                                                      */
/* ------------------------------------------------------------------ */

static int fail(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

static int
fail(const char *fmt, ...)
{
    char line[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    fprintf(stderr, "mtasts-tlsrptd: %s\n", line);
    return -1;
}

/* Bind the socket as tlsrpt-collectd does. A path that holds a socket
 * nobody listens on is replaced; a live one, or any other file, is an
 * error. */
static int
open_socket(struct daemon *d)
{
    const struct td_config *cfg = d->cfg;
    struct sockaddr_un sa;
    struct stat st;
    struct passwd *pw;
    struct group *gr;
    uid_t uid = (uid_t)-1;
    gid_t gid = (gid_t)-1;
    int probe;

    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    if (strlen(d->socket_path) >= sizeof(sa.sun_path))
        return fail("socket path %s is longer than 107 bytes", d->socket_path);
    memcpy(sa.sun_path, d->socket_path, strlen(d->socket_path) + 1);
    if (lstat(d->socket_path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode))
            return fail("%s exists and is not a socket", d->socket_path);
        probe = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (probe >= 0 &&
            connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
            close(probe);
            return fail("%s: another process listens on it", d->socket_path);
        }
        if (probe >= 0)
            close(probe);
        if (unlink(d->socket_path) != 0)
            return fail("cannot remove the stale socket %s: %s", d->socket_path,
                        strerror(errno));
    }
    d->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (d->fd < 0)
        return fail("socket: %s", strerror(errno));
    if (bind(d->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
        return fail("cannot bind %s: %s", d->socket_path, strerror(errno));
    if (cfg->socket_user != NULL) {
        pw = getpwnam(cfg->socket_user);
        if (pw == NULL)
            return fail("socket-user %s: no such user", cfg->socket_user);
        uid = pw->pw_uid;
    }
    if (cfg->socket_group != NULL) {
        gr = getgrnam(cfg->socket_group);
        if (gr == NULL)
            return fail("socket-group %s: no such group", cfg->socket_group);
        gid = gr->gr_gid;
    }
    if ((uid != (uid_t)-1 || gid != (gid_t)-1) &&
        chown(d->socket_path, uid, gid) != 0)
        return fail("cannot chown %s: %s", d->socket_path, strerror(errno));
    if (cfg->socket_mode >= 0 &&
        chmod(d->socket_path, (mode_t)cfg->socket_mode) != 0)
        return fail("cannot chmod %s: %s", d->socket_path, strerror(errno));
    return 0;
}

/* One collector per store: an exclusive lock on DIR/tlsrptd.lock. */
static int
lock_store(struct daemon *d)
{
    char path[4200];

    if (mkdir(d->cfg->store, 0750) != 0 && errno != EEXIST)
        return fail("cannot make the store directory %s: %s", d->cfg->store,
                    strerror(errno));
    snprintf(path, sizeof(path), "%s/tlsrptd.lock", d->cfg->store);
    d->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (d->lock_fd < 0)
        return fail("cannot open %s: %s", path, strerror(errno));
    if (flock(d->lock_fd, LOCK_EX | LOCK_NB) != 0)
        return fail("the store %s is in use by another collector (%s)",
                    d->cfg->store, strerror(errno));
    return 0;
}

static int
daemonize(void)
{
    pid_t pid;
    int null;

    pid = fork();
    if (pid < 0)
        return fail("fork: %s", strerror(errno));
    if (pid > 0)
        _exit(0);
    if (setsid() < 0)
        return fail("setsid: %s", strerror(errno));
    if (chdir("/") != 0)
        return fail("chdir /: %s", strerror(errno));
    null = open("/dev/null", O_RDWR);
    if (null >= 0) {
        dup2(null, 0);
        dup2(null, 1);
        dup2(null, 2);
        if (null > 2)
            close(null);
    }
    return 0;
}

static int
write_pid(const char *path)
{
    FILE *f = fopen(path, "w");

    if (f == NULL) {
        td_log(TD_LOG_ERR, "cannot write the pid file %s: %s", path,
               strerror(errno));
        return -1;
    }
    fprintf(f, "%ld\n", (long)getpid());
    return fclose(f) == 0 ? 0 : -1;
}

static int
setup_loop(struct daemon *d)
{
    struct timeval tv;
    size_t i;

    d->base = event_base_new();
    if (d->base == NULL)
        return -1;
    d->ev_read = event_new(d->base, d->fd, EV_READ | EV_PERSIST, on_read, d);
    d->ev_flush = event_new(d->base, -1, EV_PERSIST, on_flush, d);
    d->ev_term = evsignal_new(d->base, SIGTERM, on_signal, d);
    d->ev_int = evsignal_new(d->base, SIGINT, on_signal, d);
    d->ev_hup = evsignal_new(d->base, SIGHUP, on_signal, d);
    if (d->ev_read == NULL || d->ev_flush == NULL || d->ev_term == NULL ||
        d->ev_int == NULL || d->ev_hup == NULL)
        return -1;
    tv.tv_sec = d->cfg->flush_interval;
    tv.tv_usec = 0;
    if (event_add(d->ev_read, NULL) != 0 || event_add(d->ev_flush, &tv) != 0 ||
        event_add(d->ev_term, NULL) != 0 || event_add(d->ev_int, NULL) != 0 ||
        event_add(d->ev_hup, NULL) != 0)
        return -1;
    /* the slots: address space; pages become memory when touched */
    d->nslots = VLEN;
    d->slots =
        mmap(NULL, d->nslots * (size_t)TD_DGRAM_MAX, PROT_READ | PROT_WRITE,
             MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (d->slots == MAP_FAILED) {
        /* one slot then */
        d->nslots = 1;
        d->slots = mmap(NULL, TD_DGRAM_MAX, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (d->slots == MAP_FAILED) {
            d->slots = NULL;
            return -1;
        }
    }
    memset(d->msgs, 0, sizeof(d->msgs));
    for (i = 0; i < d->nslots; i++) {
        d->iov[i].iov_base = d->slots + i * TD_DGRAM_MAX;
        d->iov[i].iov_len = TD_DGRAM_MAX;
        d->msgs[i].msg_hdr.msg_iov = &d->iov[i];
        d->msgs[i].msg_hdr.msg_iovlen = 1;
    }
    return 0;
}

static void
teardown(struct daemon *d)
{
    if (d->ev_read != NULL)
        event_free(d->ev_read);
    if (d->ev_flush != NULL)
        event_free(d->ev_flush);
    if (d->ev_term != NULL)
        event_free(d->ev_term);
    if (d->ev_int != NULL)
        event_free(d->ev_int);
    if (d->ev_hup != NULL)
        event_free(d->ev_hup);
    if (d->base != NULL)
        event_base_free(d->base);
    if (d->slots != NULL)
        munmap(d->slots, d->nslots * (size_t)TD_DGRAM_MAX);
    td_collector_free(d->col);
    td_parser_free(d->parser);
    mtasts_ctx_free(d->ctx);
    if (d->fd >= 0)
        close(d->fd);
    if (d->dump_fd >= 0)
        close(d->dump_fd);
    if (d->lock_fd >= 0)
        close(d->lock_fd);
    free(d->socket_path);
    free(d->dump_path);
}

int
td_daemon_run(const struct td_config *cfg)
{
    struct daemon d;
    struct td_store *store = NULL;
    struct td_fleet *fleet = NULL;
    struct td_delta out[TD_DAYS_MAX];
    char err[600];
    size_t n;
    int rc;

    memset(&d, 0, sizeof(d));
    read_clock_offset();
    d.cfg = cfg;
    d.fd = d.lock_fd = d.dump_fd = -1;
    d.status = 1;
    signal(SIGPIPE, SIG_IGN);
    d.socket_path = absolute(cfg->socket);
    if (cfg->dump_file != NULL)
        d.dump_path = absolute(cfg->dump_file);
    else {
        size_t len = strlen(cfg->store) + sizeof("/invalid-datagrams");
        char *rel = malloc(len);
        if (rel != NULL) {
            snprintf(rel, len, "%s/invalid-datagrams", cfg->store);
            d.dump_path = absolute(rel);
            free(rel);
        }
    }
    if (d.socket_path == NULL || d.dump_path == NULL) {
        fail("out of memory or no working directory");
        goto out;
    }
    /* errors up to here go to stderr, before any fork */
    if (lock_store(&d) != 0)
        goto out;
    if (td_store_open(cfg->store, &store, err, sizeof(err)) != 0) {
        fail("%s", err);
        goto out;
    }
    /* SQLite connections must not cross a fork: opened again after */
    td_store_close(store);
    store = NULL;
    if (cfg->redis != NULL) {
        /* tried now, said on stderr; but results are not refused for a
         * Redis that is down: they are stored, and written to Redis once
         * it answers (each thread connects on its own) */
        if (td_fleet_open(cfg, cfg->host_id, 1, &fleet, err, sizeof(err)) != 0)
            fprintf(stderr,
                    "mtasts-tlsrptd: warning: %s; results are stored here "
                    "and written to Redis once it answers\n",
                    err);
        td_fleet_close(fleet);
        fleet = NULL;
    }
    if (open_socket(&d) != 0)
        goto out;
    if (!cfg->foreground && daemonize() != 0)
        goto out;
    td_log_open(!cfg->foreground);
    if (cfg->pid_file != NULL && write_pid(cfg->pid_file) != 0)
        goto out;
    if (td_store_open(cfg->store, &store, err, sizeof(err)) != 0) {
        td_log(TD_LOG_ERR, "%s", err);
        goto out;
    }
    if (mtasts_ctx_new(NULL, &d.ctx) != MTASTS_OK ||
        td_parser_new(NULL, &d.parser) != MTASTS_OK ||
        td_collector_new(d.ctx, NULL, cfg->max_memory, &d.col) != MTASTS_OK ||
        setup_loop(&d) != 0) {
        td_log(TD_LOG_ERR, "cannot start: out of memory");
        td_store_close(store);
        goto out;
    }
    if (cfg->redis != NULL &&
        td_fleet_open(cfg, cfg->host_id, 0, &fleet, err, sizeof(err)) != 0) {
        td_log(TD_LOG_ERR, "%s", err);
        td_store_close(store);
        goto out;
    }
    if ((rc = td_writer_start(store, fleet, d.ctx, cfg->max_memory,
                              &d.writer)) != 0) {
        td_log(TD_LOG_ERR, "cannot start the writer thread: %s", strerror(rc));
        td_store_close(store);
        td_fleet_close(fleet);
        goto out;
    }
    if (!cfg->send)
        td_log(TD_LOG_INFO, "reports are not sent (send = no)");
    else if (cfg->org == NULL || cfg->contact == NULL)
        td_log(TD_LOG_WARNING,
               "reports are not made: set organization_name and "
               "contact_info (or send = no)");
    else if (td_sender_thread_start(cfg, d.writer, &d.sender) != 0)
        td_log(TD_LOG_ERR, "reports are not sent (the sender did not start)");
    td_log(TD_LOG_INFO,
           "listening on %s, store %s, flush every %d s, dump file %s",
           d.socket_path, cfg->store, cfg->flush_interval, d.dump_path);
    if (event_base_dispatch(d.base) < 0)
        td_log(TD_LOG_ERR, "the event loop failed");
    /* stop taking new datagrams, read what is queued, store it all */
    unlink(d.socket_path);
    td_sender_thread_stop(d.sender);
    while (read_batches(&d, BATCHES))
        ;
    td_collector_take(d.col, out, &n);
    td_writer_submit_wait(d.writer, out, n, now_s());
    rc = td_writer_stop(d.writer);
    td_log(TD_LOG_INFO,
           "stopped: %llu datagrams, %llu sessions counted, %llu "
           "unreadable, %llu not counted%s",
           (unsigned long long)d.datagrams, (unsigned long long)d.sessions,
           (unsigned long long)d.unreadable, (unsigned long long)d.refused,
           rc == 0 ? "" : "; NOT everything was stored (see above)");
    d.status = rc == 0 ? 0 : 1;
    if (cfg->pid_file != NULL)
        unlink(cfg->pid_file);
out:
    teardown(&d);
    return d.status;
}
