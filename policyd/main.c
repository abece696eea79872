/*
 * mtasts-policyd: an MTA-STS policy server for Postfix's
 * smtp_tls_policy_maps (socketmap) and for Exim's ${readsocket}, reading
 * postfix-mta-sts-resolver's mta-sts-daemon.yml. See mtasts-policyd(8).
 *
 *   mtasts-policyd [--config FILE] [--foreground] [--dns-server IP[:PORT]]
 *       [--ca-file FILE] [--connect-to HOST:PORT:HOST2:PORT2] [--pidfile
 *       FILE] [--user USER] [--debug] [--check-config] [--version]
 *
 * Start-up: read the configuration, find the Postfix version, (unless
 * --foreground) become a daemon, open the listeners, write the pidfile,
 * drop privileges, tell systemd it is ready, run the event loop.
 * SIGHUP reloads the file (listeners whose address did not change are
 * kept); SIGTERM and SIGINT stop accepting, answer what is pending and
 * exit within shutdown_timeout (a second signal exits at once).
 *
 * Exit status: 0 after a clean shutdown (or --check-config with a good
 * file), 1 on a configuration or start-up error, 2 on a usage error.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <event2/event.h>

#ifdef HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "mtasts_version.h"
#include "pd.h"

#define DEFAULT_CONFIG "/etc/mta-sts-daemon.yml"
#define FD_RESERVE     64 /* descriptors kept for lookups, logs, files */

struct daemon {
    const char *config_file;
    struct pd_overrides ov;
    struct pd_config *cfg;
    uint32_t postfix_version;
    char postfix_text[64];
    struct event_base *base;
    struct pd_res *res;
    struct pd_server *srv;
    struct event *sig_hup, *sig_term, *sig_int, *drain_tmr, *deadline_tmr;
    int stopping;
    int foreground;
    char *pidfile_written;
};

void
pd_notify(const char *state)
{
#ifdef HAVE_SYSTEMD
    sd_notify(0, state);
#else
    (void)state;
#endif
}

static void
usage(FILE *f)
{
    fputs("usage: mtasts-policyd [--config FILE] [--foreground]\n"
          "           [--dns-server IP[:PORT]]... [--ca-file FILE]\n"
          "           [--connect-to HOST:PORT:HOST2:PORT2]...\n"
          "           [--pidfile FILE] [--user USER] [--debug]\n"
          "       mtasts-policyd --check-config [--config FILE]\n"
          "       mtasts-policyd --version\n",
          f);
}

static int
use_syslog(const struct daemon *d)
{
    if (d->cfg->log != NULL)
        return strcmp(d->cfg->log, "syslog") == 0;
    return !d->foreground;
}

/* As many descriptors as allowed, and no more connections than fit. */
static void
fd_limits(struct pd_config *cfg)
{
    struct rlimit rl;
    size_t cap;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    if (rl.rlim_cur == RLIM_INFINITY)
        return;
    cap = rl.rlim_cur > 2 * FD_RESERVE ? (size_t)rl.rlim_cur - FD_RESERVE
                                       : (size_t)rl.rlim_cur / 2;
    if (cfg->max_connections > cap) {
        pd_log_msg(PD_LOG_WARNING, "start",
                   "max_connections %zu is over what the descriptor limit "
                   "(%llu) allows: %zu",
                   cfg->max_connections, (unsigned long long)rl.rlim_cur, cap);
        cfg->max_connections = cap;
    }
}

static int
write_pidfile(struct daemon *d)
{
    char buf[32];
    int fd, n;

    if (d->cfg->pidfile == NULL)
        return 0;
    fd = open(d->cfg->pidfile, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        pd_log_msg(PD_LOG_ERR, "start", "pidfile %s: %s", d->cfg->pidfile,
                   strerror(errno));
        return -1;
    }
    n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
    if (write(fd, buf, (size_t)n) != n) {
        pd_log_msg(PD_LOG_ERR, "start", "pidfile %s: %s", d->cfg->pidfile,
                   strerror(errno));
        close(fd);
        return -1;
    }
    close(fd);
    d->pidfile_written = strdup(d->cfg->pidfile);
    return 0;
}

static int
drop_privileges(const char *user)
{
    struct passwd *pw;

    if (user == NULL)
        return 0;
    pw = getpwnam(user);
    if (pw == NULL) {
        pd_log_msg(PD_LOG_ERR, "start", "user %s: no such user", user);
        return -1;
    }
    if (getuid() != 0 && geteuid() != 0) {
        if (getuid() == pw->pw_uid)
            return 0;
        pd_log_msg(PD_LOG_ERR, "start",
                   "user %s: only root can change to another user", user);
        return -1;
    }
    if (initgroups(pw->pw_name, pw->pw_gid) != 0 || setgid(pw->pw_gid) != 0 ||
        setuid(pw->pw_uid) != 0) {
        pd_log_msg(PD_LOG_ERR, "start", "user %s: %s", user, strerror(errno));
        return -1;
    }
    if (pw->pw_uid != 0 && (setuid(0) == 0 || seteuid(0) == 0)) {
        pd_log_msg(PD_LOG_ERR, "start", "user %s: root could be regained",
                   user);
        return -1;
    }
    pd_log_msg(PD_LOG_INFO, "start", "running as %s (uid %ld, gid %ld)", user,
               (long)pw->pw_uid, (long)pw->pw_gid);
    return 0;
}

/* ------------------------------------------------------------------ */
/* reload and shutdown                                                 */
/* ------------------------------------------------------------------ */

static int
str_differs(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        return a != b;
    return strcmp(a, b) != 0;
}

static void
reload(struct daemon *d)
{
    struct pd_config *cfg = NULL;
    uint32_t pv = 0;
    char pvt[64];

    pd_notify("RELOADING=1");
    pd_log_msg(PD_LOG_NOTICE, "reload", "reading %s", d->config_file);
    if (pd_config_load(d->config_file, &d->ov, &cfg) < 0 ||
        pd_postfix_version(cfg, &pv, pvt, sizeof(pvt)) < 0) {
        pd_log_msg(PD_LOG_ERR, "reload",
                   "the configuration is refused: the old one stays");
        pd_config_free(cfg);
        pd_notify("READY=1");
        return;
    }
    fd_limits(cfg);
    if (pd_server_listen(d->srv, cfg) < 0) {
        pd_log_msg(PD_LOG_ERR, "reload",
                   "the new listeners could not be opened: the old "
                   "configuration stays");
        pd_config_free(cfg);
        pd_notify("READY=1");
        return;
    }
    pd_server_configure(d->srv, cfg);
    if (pd_res_reconfigure(d->res, cfg, pv) < 0)
        pd_log_msg(PD_LOG_ERR, "reload",
                   "the lookup settings could not all be applied");
    if (str_differs(cfg->user, d->cfg->user) ||
        str_differs(cfg->pidfile, d->cfg->pidfile) ||
        cfg->cache_type != d->cfg->cache_type ||
        str_differs(cfg->log, d->cfg->log))
        pd_log_msg(PD_LOG_WARNING, "reload",
                   "user, pidfile, log and cache.type change at the next "
                   "restart");
    pd_log_setup(use_syslog(d), cfg->log_level);
    pd_config_free(d->cfg);
    d->cfg = cfg;
    d->postfix_version = pv;
    snprintf(d->postfix_text, sizeof(d->postfix_text), "%s", pvt);
    pd_log_msg(PD_LOG_NOTICE, "reload", "done; answering for Postfix %s",
               d->postfix_text);
    pd_notify("READY=1");
}

static void
drain_cb(evutil_socket_t fd, short what, void *arg)
{
    struct daemon *d = arg;
    struct timeval tv = {0, 50000};

    (void)fd;
    (void)what;
    if (pd_server_connections(d->srv) == 0) {
        event_base_loopexit(d->base, NULL);
        return;
    }
    evtimer_add(d->drain_tmr, &tv);
}

static void
deadline_cb(evutil_socket_t fd, short what, void *arg)
{
    struct daemon *d = arg;

    (void)fd;
    (void)what;
    pd_log_msg(PD_LOG_WARNING, "shutdown",
               "shutdown_timeout passed: closing %zu connections",
               pd_server_connections(d->srv));
    event_base_loopexit(d->base, NULL);
}

static void
stop(struct daemon *d, int sig)
{
    struct timeval tv;
    double t = d->cfg->shutdown_timeout;

    if (d->stopping) {
        pd_log_msg(PD_LOG_WARNING, "shutdown", "second signal %d: exiting now",
                   sig);
        event_base_loopexit(d->base, NULL);
        return;
    }
    d->stopping = 1;
    pd_notify("STOPPING=1");
    pd_log_msg(PD_LOG_NOTICE, "shutdown",
               "signal %d: answering %zu open connections, then exiting", sig,
               pd_server_connections(d->srv));
    pd_res_quiesce(d->res);
    pd_server_drain(d->srv);
    tv.tv_sec = (time_t)t;
    tv.tv_usec = (suseconds_t)((t - (double)tv.tv_sec) * 1e6);
    evtimer_add(d->deadline_tmr, &tv);
    drain_cb(-1, 0, d);
}

static void
signal_cb(evutil_socket_t sig, short what, void *arg)
{
    struct daemon *d = arg;

    (void)what;
    if (sig == SIGHUP) {
        if (!d->stopping)
            reload(d);
        return;
    }
    stop(d, (int)sig);
}

/* ------------------------------------------------------------------ */
/* start-up                                                            */
/* ------------------------------------------------------------------ */

/* Fork; the parent waits for the child's word that it is ready and exits
 * 0, or 1 when the child failed. Returns the write end of the pipe to
 * the parent (child), or -1. */
static int
daemonize(void)
{
    int fds[2];
    pid_t pid;
    char c = 0;

    if (pipe(fds) < 0) {
        perror("mtasts-policyd: pipe");
        return -1;
    }
    pid = fork();
    if (pid < 0) {
        perror("mtasts-policyd: fork");
        return -1;
    }
    if (pid > 0) {
        close(fds[1]);
        while (read(fds[0], &c, 1) < 0 && errno == EINTR)
            ;
        if (c != '1') {
            fputs("mtasts-policyd: start-up failed; see the log\n", stderr);
            _exit(1);
        }
        _exit(0);
    }
    close(fds[0]);
    fcntl(fds[1], F_SETFD, FD_CLOEXEC);
    setsid();
    if (chdir("/") != 0)
        return -1;
    return fds[1];
}

static void
detach_stdio(void)
{
    int fd = open("/dev/null", O_RDWR);

    if (fd < 0)
        return;
    dup2(fd, 0);
    dup2(fd, 1);
    dup2(fd, 2);
    if (fd > 2)
        close(fd);
}

static int
check_config(struct daemon *d)
{
    size_t i;
    const struct pd_config *c = d->cfg;

    printf("configuration %s: OK\n", d->config_file);
    for (i = 0; i < c->nlisten; i++) {
        const struct pd_listen_spec *s = &c->listen[i];

        if (s->is_unix)
            printf("listen unix:%s%s\n", s->path,
                   s->line_only ? " (lines)" : "");
        else
            printf("listen inet:%s:%d%s\n", s->host, s->port,
                   s->line_only ? " (lines)" : "");
    }
    printf("postfix_version %s\n", d->postfix_text);
    printf("cache %s, %zu entries in memory\n",
           c->cache_type == PD_CACHE_INTERNAL ? "internal"
           : c->cache_type == PD_CACHE_SQLITE ? "sqlite"
                                              : "redis",
           c->cache_size);
    if (c->cache_type == PD_CACHE_SQLITE)
        printf("sqlite %s\n", c->sqlite_path);
    if (c->cache_type == PD_CACHE_REDIS) {
        if (c->redis_unix != NULL)
            printf("redis unix:%s", c->redis_unix);
        else
            printf("redis %s:%d", c->redis_host ? c->redis_host : "127.0.0.1",
                   c->redis_port);
        printf(" db %d password %s prefix %s\n", c->redis_db,
               c->redis_password ? "set" : "none",
               c->redis_prefix ? c->redis_prefix : "mtasts");
    }
    printf("default_zone strict_testing=%d timeout=%g require_sni=%d\n",
           c->default_zone.strict_testing, c->default_zone.timeout,
           c->default_zone.require_sni);
    for (i = 0; i < c->nzones; i++)
        printf("zone %s strict_testing=%d timeout=%g require_sni=%d\n",
               c->zones[i].name, c->zones[i].strict_testing,
               c->zones[i].timeout, c->zones[i].require_sni);
    printf("proactive_policy_fetching enabled=%d interval=%g "
           "concurrency_limit=%d grace_ratio=%g\n",
           c->pf_enabled, c->pf_interval, c->pf_concurrency, c->pf_grace_ratio);
    return 0;
}

/* --dns-server may repeat: the values are joined with commas. */
static int
add_dns(char **acc, const char *v)
{
    size_t n = (*acc ? strlen(*acc) + 1 : 0) + strlen(v) + 1;
    char *s = malloc(n);

    if (s == NULL)
        return -1;
    snprintf(s, n, "%s%s%s", *acc ? *acc : "", *acc ? "," : "", v);
    free(*acc);
    *acc = s;
    return 0;
}

int
main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"foreground", no_argument, NULL, 'f'},
        {"dns-server", required_argument, NULL, 'D'},
        {"ca-file", required_argument, NULL, 'A'},
        {"connect-to", required_argument, NULL, 'T'},
        {"pidfile", required_argument, NULL, 'p'},
        {"user", required_argument, NULL, 'u'},
        {"debug", no_argument, NULL, 'd'},
        {"check-config", no_argument, NULL, 'C'},
        {"version", no_argument, NULL, 'V'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct daemon d;
    char *dns = NULL;
    const char **ct = NULL, **nct;
    int opt, check = 0, ready_fd = -1, rc = 1, config_given = 0;

    memset(&d, 0, sizeof(d));
    d.config_file = DEFAULT_CONFIG;
    while ((opt = getopt_long(argc, argv, "c:fh", longopts, NULL)) != -1) {
        switch (opt) {
        case 'c':
            d.config_file = optarg;
            config_given = 1;
            break;
        case 'f':
            d.foreground = 1;
            break;
        case 'D':
            if (add_dns(&dns, optarg) < 0)
                return 1;
            break;
        case 'A':
            d.ov.ca_file = optarg;
            break;
        case 'T':
            nct = realloc(ct, (d.ov.nconnect_to + 1) * sizeof(*ct));
            if (nct == NULL)
                return 1;
            ct = nct;
            ct[d.ov.nconnect_to++] = optarg;
            break;
        case 'p':
            d.ov.pidfile = optarg;
            break;
        case 'u':
            d.ov.user = optarg;
            break;
        case 'd':
            d.ov.debug = 1;
            break;
        case 'C':
            check = 1;
            break;
        case 'V':
            printf("mtasts-policyd %s\n", MTASTS_VERSION_STRING);
            free(dns);
            free(ct);
            return 0;
        case 'h':
            usage(stdout);
            free(dns);
            free(ct);
            return 0;
        default:
            usage(stderr);
            free(dns);
            free(ct);
            return 2;
        }
    }
    if (optind != argc) {
        usage(stderr);
        free(dns);
        free(ct);
        return 2;
    }
    d.ov.dns_server = dns;
    d.ov.default_file = !config_given;
    d.ov.connect_to = ct;
    pd_log_setup(0, d.ov.debug ? PD_LOG_DEBUG : PD_LOG_INFO);
    if (pd_config_load(d.config_file, &d.ov, &d.cfg) < 0)
        goto out;
    if (pd_postfix_version(d.cfg, &d.postfix_version, d.postfix_text,
                           sizeof(d.postfix_text)) < 0)
        goto out;
    if (check) {
        rc = check_config(&d);
        goto out;
    }
    signal(SIGPIPE, SIG_IGN);
    if (!d.foreground) {
        ready_fd = daemonize();
        if (ready_fd < 0)
            goto out;
    }
    pd_log_setup(use_syslog(&d), d.cfg->log_level);
    fd_limits(d.cfg);
    d.base = event_base_new();
    if (d.base == NULL) {
        pd_log_msg(PD_LOG_ERR, "start", "event_base_new failed");
        goto out;
    }
    if (pd_res_new(d.base, d.cfg, d.postfix_version, &d.res) < 0 ||
        pd_server_new(d.base, d.res, &d.srv) < 0)
        goto out;
    pd_res_set_server(d.res, d.srv);
    pd_server_configure(d.srv, d.cfg);
    if (pd_server_listen(d.srv, d.cfg) < 0)
        goto out;
    if (write_pidfile(&d) < 0 || drop_privileges(d.cfg->user) < 0)
        goto out;
    d.sig_hup = evsignal_new(d.base, SIGHUP, signal_cb, &d);
    d.sig_term = evsignal_new(d.base, SIGTERM, signal_cb, &d);
    d.sig_int = evsignal_new(d.base, SIGINT, signal_cb, &d);
    d.drain_tmr = evtimer_new(d.base, drain_cb, &d);
    d.deadline_tmr = evtimer_new(d.base, deadline_cb, &d);
    if (d.sig_hup == NULL || d.sig_term == NULL || d.sig_int == NULL ||
        d.drain_tmr == NULL || d.deadline_tmr == NULL ||
        evsignal_add(d.sig_hup, NULL) != 0 ||
        evsignal_add(d.sig_term, NULL) != 0 ||
        evsignal_add(d.sig_int, NULL) != 0) {
        pd_log_msg(PD_LOG_ERR, "start", "cannot set up signals");
        goto out;
    }
    pd_log_msg(PD_LOG_NOTICE, "start",
               "mtasts-policyd %s ready: answering for Postfix %s, cache %s",
               MTASTS_VERSION_STRING, d.postfix_text,
               d.cfg->cache_type == PD_CACHE_INTERNAL ? "internal"
               : d.cfg->cache_type == PD_CACHE_SQLITE ? "sqlite"
                                                      : "redis");
    pd_notify("READY=1");
    if (ready_fd >= 0) {
        if (write(ready_fd, "1", 1) != 1)
            goto out;
        close(ready_fd);
        ready_fd = -1;
        detach_stdio();
    }
    event_base_dispatch(d.base);
    pd_log_msg(PD_LOG_NOTICE, "shutdown", "done");
    rc = 0;
out:
    pd_server_free(d.srv);
    pd_res_free(d.res);
    if (d.sig_hup != NULL)
        event_free(d.sig_hup);
    if (d.sig_term != NULL)
        event_free(d.sig_term);
    if (d.sig_int != NULL)
        event_free(d.sig_int);
    if (d.drain_tmr != NULL)
        event_free(d.drain_tmr);
    if (d.deadline_tmr != NULL)
        event_free(d.deadline_tmr);
    if (d.base != NULL)
        event_base_free(d.base);
    libevent_global_shutdown();
    if (d.pidfile_written != NULL) {
        unlink(d.pidfile_written);
        free(d.pidfile_written);
    }
    pd_config_free(d.cfg);
    free(dns);
    free(ct);
    if (ready_fd >= 0)
        close(ready_fd);
    return rc;
}
