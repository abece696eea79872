/*
 * mtasts_exim.so: MTA-STS (RFC 8461) for Exim through ${dlfunc}.
 *
 * Exim loads this module with dlopen() and calls its functions from string
 * expansions:
 *
 *   ${dlfunc{/usr/lib/<arch>/mtasts/mtasts_exim.so}{FUNCTION}{DOMAIN}...}
 *
 * Each function gets the recipient domain (and, for mtasts_mx_allowed, an
 * MX host name), then optional key=value options, and answers from one
 * MTA-STS lookup: DNS (c-ares) and HTTPS (libcurl) through libmtasts-net,
 * blocking but bounded by a timeout, with the cache entries kept in the
 * programs' store (store/store.h). With cache=FILE the store is SQLite, one
 * file that every Exim process (daemon, queue runners, delivery and
 * transport processes) shares, so a policy fetched by one delivery is
 * used by the next one without an HTTPS request.
 *
 * Functions (contrib/exim/README.md has the configuration):
 *
 *  - mtasts_exim_mode: "enforce", "testing", "none" or "tempfail".
 *
 *  - mtasts_exim_tls_required: "yes" (enforce) or "no".
 *
 *  - mtasts_exim_tls_hosts: "*" (enforce) or "", a host list for the smtp
 *    transport's hosts_require_tls, tls_verify_hosts and
 *    tls_verify_cert_hostnames.
 *
 *  - mtasts_exim_mx_allowed {DOMAIN}{HOST}: "yes" when the policy lets mail
 *    go to HOST (always, unless the mode is enforce), else "no".
 *
 *  - mtasts_exim_ignore_hosts: a host list for a dnslookup router's
 *    ignore_target_hosts, in which every MX the enforced policy does not
 *    name is ignored.
 *
 *  - mtasts_exim_policy: the "exim" line of `mtasts lookup` and of
 *    mtasts-policyd's line protocol: "enforce PATTERN...", "testing
 *    PATTERN...", "none" or "tempfail".
 *
 * When the policy cannot be known now (the lookup says tempfail, could not
 * finish in time, or memory ran out) every function still answers, with
 * the answer that keeps mail from going out unprotected: TLS required,
 * every host ignored, no MX allowed, "tempfail". A failed expansion would
 * not do that: Exim takes it as "condition false" in a router and "not in
 * the list" in a transport's host lists. Only bad arguments fail (ERROR,
 * which Exim writes to its panic log).
 *
 * Exim's interface (its local_scan.h, declared here by hand: the module is
 * built without Exim's headers): int fn(uschar **yield, int argc,
 * uschar *argv[]), returning OK 0 (*yield is the result), DEFER 1, FAIL 2,
 * ERROR 3 or FAIL_FORCED 4 (*yield is the error message; DEFER and ERROR
 * are also written to the panic log). Exim copies the result; messages
 * stay valid until a few calls later (a ring of buffers).
 *
 * State is per process and made on first use: Exim forks its delivery and
 * transport processes, and an SQLite connection or a socket must not be
 * shared across fork(), so a process that finds state made by its parent
 * leaves it alone (without closing anything) and makes its own.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "mtasts.h"
#include "mtasts_net.h"
#include "store.h"

/* Exim's return codes for ${dlfunc} functions (local_scan.h) */
enum {
    EXIM_OK = 0,
    EXIM_DEFER = 1,
    EXIM_FAIL = 2,
    EXIM_ERROR = 3,
    EXIM_FAIL_FORCED = 4
};

#if defined(__GNUC__)
#define EXIM_API          __attribute__((visibility("default")))
#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))
#else
#define EXIM_API
#define PRINTF_LIKE(f, a)
#endif

/* The functions Exim calls (exported by mtasts_exim.map). */
EXIM_API int mtasts_exim_mode(unsigned char **yield, int argc,
                              unsigned char *argv[]);
EXIM_API int mtasts_exim_tls_required(unsigned char **yield, int argc,
                                      unsigned char *argv[]);
EXIM_API int mtasts_exim_tls_hosts(unsigned char **yield, int argc,
                                   unsigned char *argv[]);
EXIM_API int mtasts_exim_mx_allowed(unsigned char **yield, int argc,
                                    unsigned char *argv[]);
EXIM_API int mtasts_exim_ignore_hosts(unsigned char **yield, int argc,
                                      unsigned char *argv[]);
EXIM_API int mtasts_exim_policy(unsigned char **yield, int argc,
                                unsigned char *argv[]);

/* ------------------------------------------------------------------ */
/* options                                                             */
/* ------------------------------------------------------------------ */

#define DEFAULT_TIMEOUT_MS 20000u
#define DEFAULT_MEMO_S     10
#define MAX_CONNECT_TO     8
#define MEMO_SLOTS         32
#define RING_SLOTS         8
#define OUT_SYSLOG         0
#define OUT_NONE           1
#define OUT_FILE           2

/* The process-wide options: the key=value arguments other than the per-call
 * ones. Strings point into opts.buf. */
struct opts {
    const char *cache;   /* SQLite file, or NULL: memory only */
    uint32_t timeout_ms; /* whole lookup */
    const char *dns;     /* "IP[:PORT],..." or NULL: resolv.conf */
    const char *ca_file; /* NULL: the system store */
    const char *connect_to[MAX_CONNECT_TO];
    size_t connect_to_count;
    int dns_tempfail_defer; /* MTASTS_OPT_TEMPFAIL_NO_CACHE */
    int64_t memo_s;         /* answers reused within a process */
    int log;                /* LOG_* */
    const char *log_file;
};

/* One remembered answer. */
enum kind {
    K_NONE = 1,     /* no policy, or mode none */
    K_TESTING = 2,  /* mode testing */
    K_ENFORCE = 3,  /* mode enforce */
    K_TEMPFAIL = 4, /* outcome tempfail */
    K_ERROR = 5     /* the lookup could not be done (msg says why) */
};

struct memo {
    char domain[MTASTS_DOMAIN_MAX_LEN + 3]; /* "" when free */
    int64_t at;
    int kind;
    mtasts_lookup *lk; /* K_TESTING, K_ENFORCE: the policy lives here */
    char *msg;         /* K_ERROR, K_TEMPFAIL */
};

static struct state {
    pid_t pid;       /* the process that made ctx, store and net */
    char *key;       /* the option arguments they were made with */
    char *buf;       /* the option strings (struct opts points here) */
    size_t opt_size; /* the size of key and of buf */
    struct opts o;
    mtasts_ctx *ctx;
    mtasts_store *store;
    mtasts_net *net;
    struct memo memo[MEMO_SLOTS];
    char *ring[RING_SLOTS]; /* results and messages handed to Exim */
    unsigned ring_next;
} S;

static const char *const OOM_MSG = "mtasts_exim: out of memory";

/* The answer when no answer could be made (out of memory, a lookup that
 * could not run): every function then gives its fail-closed answer. */
static struct memo FAILED = {"", 0, K_ERROR, NULL, NULL};

/* Memory: the module's own blocks and those of the core (context, lookups,
 * the store's memory cache) go through one allocator, malloc here; the
 * unit test (tests/exim/test_exim_module.c) puts its failing allocator in
 * AL. c-ares, libcurl and SQLite use their own. */
static void *
sys_alloc(void *user, size_t n)
{
    (void)user;
    return malloc(n);
}

static void *
sys_realloc(void *user, void *p, size_t old, size_t n)
{
    (void)user;
    (void)old;
    return realloc(p, n);
}

static void
sys_free(void *user, void *p, size_t n)
{
    (void)user;
    (void)n;
    free(p);
}

static const struct mtasts_alloc SYS_ALLOC = {MTASTS_ALLOC_VERSION, sys_alloc,
                                              sys_realloc, sys_free, NULL};
static const struct mtasts_alloc *AL = &SYS_ALLOC;

static void *
xalloc(size_t n)
{
    return AL->alloc(AL->user, n);
}

static void
xfree(void *p, size_t n)
{
    if (p != NULL)
        AL->free(AL->user, p, n);
}

static char *
xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = xalloc(n);

    if (p != NULL)
        memcpy(p, s, n);
    return p;
}

static void
xstrfree(char *s)
{
    if (s != NULL)
        xfree(s, strlen(s) + 1);
}

/* ------------------------------------------------------------------ */
/* results and logs                                                    */
/* ------------------------------------------------------------------ */

/* Hand s to Exim through *yield. Exim copies a result at once; an error
 * message it may keep a little longer, hence the ring. */
static int
give(unsigned char **yield, int rc, const char *s)
{
    char *p = xstrdup(s);

    if (p == NULL) {
        *yield = (unsigned char *)(uintptr_t)OOM_MSG;
        return EXIM_DEFER;
    }
    xstrfree(S.ring[S.ring_next]);
    S.ring[S.ring_next] = p;
    S.ring_next = (S.ring_next + 1) % RING_SLOTS;
    *yield = (unsigned char *)p;
    return rc;
}

/* A fixed answer: no allocation, so it cannot fail (Exim copies it). */
static int
give_const(unsigned char **yield, const char *s)
{
    *yield = (unsigned char *)(uintptr_t)s;
    return EXIM_OK;
}

static int PRINTF_LIKE(3, 4)
    givef(unsigned char **yield, int rc, const char *fmt, ...)
{
    char buf[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return give(yield, rc, buf);
}

static void PRINTF_LIKE(2, 3) logmsg(int level, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    int fd;
    size_t n;
    time_t t;
    struct tm tm;
    char stamp[32];

    if (S.o.log == OUT_NONE)
        return;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (S.o.log == OUT_SYSLOG || S.o.log_file == NULL) {
        /* no openlog(): that would change Exim's own ident */
        syslog(LOG_MAIL | level, "mtasts-exim: %s", buf);
        return;
    }
    t = time(NULL);
    if (localtime_r(&t, &tm) == NULL ||
        strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", &tm) == 0)
        stamp[0] = '\0';
    fd = open(S.o.log_file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0)
        return;
    {
        char line[1200];
        int k = snprintf(line, sizeof line, "%s [%ld] %s\n", stamp,
                         (long)getpid(), buf);
        if (k > 0) {
            n = (size_t)k < sizeof line ? (size_t)k : sizeof line - 1;
            if (write(fd, line, n) < 0) {
                /* nothing more to do about a log that cannot be written */
            }
        }
    }
    close(fd);
}

static void
store_log(void *arg, int level, int alert, const char *msg)
{
    (void)arg;
    logmsg(level, "%s%s", alert ? "alert: " : "", msg);
}

/* ------------------------------------------------------------------ */
/* option parsing                                                      */
/* ------------------------------------------------------------------ */

static int
parse_seconds(const char *s, double lo, double hi, double *ret)
{
    char *end;
    double v;

    errno = 0;
    v = strtod(s, &end);
    if (errno != 0 || end == s || *end != '\0' || !(v >= lo && v <= hi))
        return -1;
    *ret = v;
    return 0;
}

/* One KEY=VALUE option word (p, NUL-terminated, modified in place) into o.
 * Returns EXIM_OK, or EXIM_ERROR (EXIM_DEFER when out of memory) with
 * *yield set. */
static int
parse_word(unsigned char **yield, char *p, struct opts *o)
{
    char *eq = strchr(p, '=');
    const char *v;
    double d;

    if (eq == NULL || eq == p) {
        return givef(yield, EXIM_ERROR,
                     "mtasts_exim: option \"%.64s\": expected KEY=VALUE", p);
    }
    *eq = '\0';
    v = eq + 1;
    if (strcmp(p, "cache") == 0) {
        o->cache = (*v == '\0' || strcmp(v, "none") == 0) ? NULL : v;
    } else if (strcmp(p, "timeout") == 0) {
        if (parse_seconds(v, 0.1, 600, &d) != 0)
            goto bad_value;
        o->timeout_ms = (uint32_t)(d * 1000.0);
    } else if (strcmp(p, "dns") == 0) {
        o->dns = *v ? v : NULL;
    } else if (strcmp(p, "ca_file") == 0) {
        o->ca_file = *v ? v : NULL;
    } else if (strcmp(p, "connect_to") == 0) {
        if (o->connect_to_count == MAX_CONNECT_TO)
            goto bad_value;
        o->connect_to[o->connect_to_count++] = v;
    } else if (strcmp(p, "dns_tempfail") == 0) {
        if (strcmp(v, "defer") == 0)
            o->dns_tempfail_defer = 1;
        else if (strcmp(v, "deliver") == 0)
            o->dns_tempfail_defer = 0;
        else
            goto bad_value;
    } else if (strcmp(p, "memo") == 0) {
        if (parse_seconds(v, 0, 86400, &d) != 0)
            goto bad_value;
        o->memo_s = (int64_t)d;
    } else if (strcmp(p, "log") == 0) {
        if (strcmp(v, "syslog") == 0) {
            o->log = OUT_SYSLOG;
        } else if (strcmp(v, "none") == 0) {
            o->log = OUT_NONE;
        } else if (v[0] == '/') {
            o->log = OUT_FILE;
            o->log_file = v;
        } else {
            goto bad_value;
        }
    } else {
        return givef(
            yield, EXIM_ERROR,
            "mtasts_exim: unknown option \"%.32s\" (known: cache, "
            "timeout, dns, ca_file, connect_to, dns_tempfail, memo, log, "
            "also)",
            p);
    }
    return EXIM_OK;
bad_value:
    return givef(yield, EXIM_ERROR, "mtasts_exim: bad value in option %s=%.64s",
                 p, v);
}

/* Parse the option arguments argv[first..argc-1] into a fresh struct opts
 * (strings copied into *ret_buf). An argument that starts with "also=" is
 * one per-call option whose value is the rest of the argument (returned in
 * *ret_also, not a process option); any other argument is a list of
 * KEY=VALUE words separated by white space, so that one Exim macro can
 * carry them all (Exim 4.96 takes at most 7 ${dlfunc} arguments). The
 * process options, in order, are the key of the state (*ret_key). On
 * error, *yield holds the message. */
static int
parse_opts(unsigned char **yield, int argc, unsigned char *argv[], int first,
           struct opts *o, char **ret_buf, char **ret_key, size_t *ret_size,
           const char **ret_also)
{
    size_t total = 1;
    char *buf, *key, *p, *k;
    int i;

    memset(o, 0, sizeof *o);
    o->timeout_ms = DEFAULT_TIMEOUT_MS;
    o->memo_s = DEFAULT_MEMO_S;
    o->log = OUT_SYSLOG;
    *ret_also = NULL;
    for (i = first; i < argc; i++)
        total += strlen((const char *)argv[i]) + 1;
    buf = xalloc(total);
    key = xalloc(total);
    if (buf == NULL || key == NULL) {
        xfree(buf, total);
        xfree(key, total);
        return give(yield, EXIM_DEFER, OOM_MSG);
    }
    p = buf;
    k = key;
    for (i = first; i < argc; i++) {
        const char *a = (const char *)argv[i];
        size_t n = strlen(a);

        if (strncmp(a, "also=", 5) == 0) {
            *ret_also = a + 5;
            continue;
        }
        memcpy(p, a, n + 1);
        while (*p != '\0') {
            char *w;
            size_t wl;
            if (*p == ' ' || *p == '\t' || *p == '\n') {
                p++;
                continue;
            }
            w = p;
            while (*p != '\0' && *p != ' ' && *p != '\t' && *p != '\n')
                p++;
            wl = (size_t)(p - w);
            if (*p != '\0')
                *p++ = '\0';
            memcpy(k, w, wl);
            k[wl] = '\n';
            k += wl + 1;
            int rc = parse_word(yield, w, o);
            if (rc != EXIM_OK) {
                xfree(buf, total);
                xfree(key, total);
                return rc;
            }
        }
        p++;
    }
    *k = '\0';
    if (o->cache == NULL) {
        const char *env = getenv("MTASTS_EXIM_CACHE");
        if (env != NULL && env[0] == '/')
            o->cache = env;
    }
    *ret_buf = buf;
    *ret_key = key;
    *ret_size = total;
    return EXIM_OK;
}

/* ------------------------------------------------------------------ */
/* per-process state                                                   */
/* ------------------------------------------------------------------ */

static void
memo_clear(struct memo *m)
{
    mtasts_lookup_free(m->lk);
    xstrfree(m->msg);
    memset(m, 0, sizeof *m);
}

/* Drop ctx, store and net. In a child of the process that made them,
 * nothing is closed or freed: the parent still uses the same SQLite file
 * and sockets, and closing them here would disturb it. */
static void
state_drop(void)
{
    if (S.pid == getpid()) {
        mtasts_net_free(S.net);
        mtasts_store_free(S.store);
        /* remembered lookups were made from ctx */
        for (size_t i = 0; i < MEMO_SLOTS; i++)
            memo_clear(&S.memo[i]);
        mtasts_ctx_free(S.ctx);
    }
    S.net = NULL;
    S.store = NULL;
    S.ctx = NULL;
    S.pid = 0;
}

#ifdef MTASTS_EXIM_TEST
/* Free everything the module holds (the unit test's leak checks). */
static void
test_reset(void)
{
    state_drop();
    xfree(S.key, S.opt_size);
    xfree(S.buf, S.opt_size);
    for (size_t i = 0; i < RING_SLOTS; i++)
        xstrfree(S.ring[i]);
    memset(&S, 0, sizeof S);
}
#endif

/* As root, a cache file that does not exist yet is created here, owned by
 * the owner of its directory (Debian-exim, for the directory the README
 * makes), so that the delivery processes that run as root and the
 * transport processes that run as the Exim user can both write it. SQLite
 * gives its -wal and -shm files the owner of the database file. */
static void
prepare_cache_file(const char *path)
{
    struct stat st;
    char dir[4096];
    char *slash;
    int fd;

    if (geteuid() != 0 || strlen(path) >= sizeof dir || stat(path, &st) == 0 ||
        errno != ENOENT)
        return;
    memcpy(dir, path, strlen(path) + 1);
    slash = strrchr(dir, '/');
    if (slash == NULL)
        memcpy(dir, ".", 2);
    else if (slash == dir)
        dir[1] = '\0';
    else
        *slash = '\0';
    if (stat(dir, &st) != 0 || st.st_uid == 0)
        return;
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0640);
    if (fd < 0)
        return;
    if (fchown(fd, st.st_uid, st.st_gid) != 0)
        logmsg(LOG_WARNING, "cache file=%s chown failed: %s", path,
               strerror(errno));
    close(fd);
}

/* Make ctx, store and net for this process and these options. */
static int
state_ready(unsigned char **yield, int argc, unsigned char *argv[], int first,
            const char **ret_also)
{
    struct opts o;
    char *buf = NULL, *key = NULL;
    size_t size = 0;
    int rc;
    pid_t me = getpid();
    mtasts_store_config sc;
    struct mtasts_net_config nc;
    uint32_t half;

    rc = parse_opts(yield, argc, argv, first, &o, &buf, &key, &size, ret_also);
    if (rc != EXIM_OK)
        return rc;
    if (S.pid != 0 && S.pid != me) {
        /* forked: leave the parent's store and sockets alone (never
         * closed here); its context and answers are plain memory */
        S.net = NULL;
        S.store = NULL;
        S.pid = me;
    }
    if (S.key != NULL && strcmp(S.key, key) == 0 && S.ctx != NULL &&
        S.store != NULL && S.net != NULL) {
        xfree(buf, size);
        xfree(key, size);
        return EXIM_OK;
    }
    if (S.key != NULL && strcmp(S.key, key) != 0)
        state_drop();
    xfree(S.key, S.opt_size);
    xfree(S.buf, S.opt_size);
    S.key = key;
    S.buf = buf;
    S.opt_size = size;
    S.o = o;
    S.pid = me;

    if (S.ctx == NULL) {
        rc = mtasts_ctx_new(AL, &S.ctx);
        if (rc != 0)
            goto fail;
    }
    half = o.timeout_ms / 2 < 1000 ? 1000 : o.timeout_ms / 2;
    if ((rc = mtasts_ctx_set_option(S.ctx, MTASTS_OPT_FETCH_TIMEOUT_MS,
                                    half)) != 0 ||
        (rc = mtasts_ctx_set_option(S.ctx, MTASTS_OPT_TEMPFAIL_NO_CACHE,
                                    o.dns_tempfail_defer)) != 0)
        goto fail;

    if (S.store == NULL) {
        mtasts_store_config_init(&sc);
        sc.memory_entries = 1000;
        sc.memory_bytes = 4u << 20;
        sc.log = store_log;
        sc.alloc = AL;
        if (o.cache != NULL) {
            prepare_cache_file(o.cache);
            sc.backend = MTASTS_STORE_SQLITE;
            sc.sqlite_path = o.cache;
        }
        rc = mtasts_store_open(S.ctx, &sc, (int64_t)time(NULL), &S.store);
        if (rc != 0)
            goto fail;
    }
    if (S.net == NULL) {
        memset(&nc, 0, sizeof nc);
        nc.version = MTASTS_NET_CONFIG_VERSION;
        nc.dns_servers = o.dns;
        nc.ca_file = o.ca_file;
        nc.connect_to = o.connect_to;
        nc.connect_to_count = o.connect_to_count;
        nc.connect_timeout_ms = half < 10000 ? half : 10000;
        nc.dns_timeout_ms = o.timeout_ms / 4 < 2000 ? o.timeout_ms / 4 : 2000;
        if (nc.dns_timeout_ms < 100)
            nc.dns_timeout_ms = 100;
        nc.dns_tries = 2;
        rc = mtasts_net_new(&nc, &S.net);
        if (rc != 0)
            goto fail;
    }
    return EXIM_OK;

fail:
    if (rc == MTASTS_ENOMEM)
        rc = give(yield, EXIM_DEFER, OOM_MSG);
    else
        rc = givef(yield, rc == MTASTS_EINVAL ? EXIM_ERROR : EXIM_DEFER,
                   "mtasts_exim: cannot set up (%s): check the dns, ca_file, "
                   "connect_to and cache options",
                   mtasts_net_strerror(rc));
    state_drop();
    xfree(S.key, S.opt_size);
    xfree(S.buf, S.opt_size);
    S.key = NULL;
    S.buf = NULL;
    S.opt_size = 0;
    memset(&S.o, 0, sizeof S.o);
    return rc;
}

/* ------------------------------------------------------------------ */
/* lookups                                                             */
/* ------------------------------------------------------------------ */

struct done {
    int done;
    int status;
};

static void
on_lookup(void *user, int status, mtasts_lookup *lookup)
{
    struct done *d = user;

    (void)lookup;
    d->done = 1;
    d->status = status;
}

static struct memo *
memo_find(const char *domain, int64_t now)
{
    for (size_t i = 0; i < MEMO_SLOTS; i++) {
        struct memo *m = &S.memo[i];
        if (m->domain[0] == '\0' || strcmp(m->domain, domain) != 0)
            continue;
        if (now - m->at < S.o.memo_s && now >= m->at)
            return m;
        memo_clear(m);
        return NULL;
    }
    return NULL;
}

static struct memo *
memo_slot(void)
{
    struct memo *old = &S.memo[0];

    for (size_t i = 0; i < MEMO_SLOTS; i++) {
        if (S.memo[i].domain[0] == '\0')
            return &S.memo[i];
        if (S.memo[i].at < old->at)
            old = &S.memo[i];
    }
    memo_clear(old);
    return old;
}

/* The answer for domain (normalised, or an address literal), from the
 * memo or a lookup. On success *ret points at a memo entry (valid until
 * the next call). Errors of this module itself (out of memory) return
 * DEFER with *yield set; a lookup that fails is a K_ERROR answer. */
static int
answer(unsigned char **yield, const char *domain, struct memo **ret)
{
    int64_t now = (int64_t)time(NULL);
    struct memo *m = memo_find(domain, now);
    const uint8_t *entry = NULL;
    size_t entry_len = 0;
    mtasts_lookup *lk = NULL;
    struct done d = {0, 0};
    int rc, outcome, mode;
    char line[600];
    const mtasts_policy *pol;

    if (m != NULL) {
        *ret = m;
        return EXIM_OK;
    }
    rc = mtasts_store_get(S.store, domain, strlen(domain), now, 0, &entry,
                          &entry_len);
    if (rc == MTASTS_ENOMEM)
        return give(yield, EXIM_DEFER, OOM_MSG);
    rc = mtasts_lookup_new(S.ctx, domain, strlen(domain), entry, entry_len, now,
                           0, &lk);
    if (rc == MTASTS_ENOMEM)
        return give(yield, EXIM_DEFER, OOM_MSG);
    m = memo_slot();
    snprintf(m->domain, sizeof m->domain, "%s", domain);
    m->at = now;
    if (rc != 0) {
        /* not a domain that can have a policy */
        m->kind = K_NONE;
        *ret = m;
        return EXIM_OK;
    }
    rc = mtasts_net_lookup_start(S.net, lk, NULL, on_lookup, &d);
    if (rc == 0)
        rc = mtasts_net_wait(S.net, S.o.timeout_ms);
    if (!d.done) {
        /* cancels the lookup: on_lookup runs now; a fresh handle is
         * made by the next call */
        mtasts_net_free(S.net);
        S.net = NULL;
        if (rc == 0)
            rc = MTASTS_ESTATE;
    } else {
        rc = d.status;
    }
    if (rc == MTASTS_ENOMEM) {
        mtasts_lookup_free(lk);
        memo_clear(m);
        return give(yield, EXIM_DEFER, OOM_MSG);
    }
    if (rc != 0) {
        char msg[300];
        if (rc == MTASTS_NET_ETIMEOUT || rc == MTASTS_NET_ECANCELED)
            snprintf(msg, sizeof msg,
                     "MTA-STS lookup for %s did not finish within %u ms",
                     domain, (unsigned)S.o.timeout_ms);
        else
            snprintf(msg, sizeof msg, "MTA-STS lookup for %s failed: %s",
                     domain, mtasts_net_strerror(rc));
        mtasts_lookup_free(lk);
        m->kind = K_ERROR;
        m->msg = xstrdup(msg);
        if (m->msg == NULL) {
            memo_clear(m);
            return give(yield, EXIM_DEFER, OOM_MSG);
        }
        logmsg(LOG_WARNING, "%s", msg);
        *ret = m;
        return EXIM_OK;
    }

    rc = mtasts_store_apply(S.store, lk, now);
    if (rc == MTASTS_ENOMEM) {
        mtasts_lookup_free(lk);
        memo_clear(m);
        return give(yield, EXIM_DEFER, OOM_MSG);
    }
    if (mtasts_lookup_format(lk, line, sizeof line, NULL) != 0)
        snprintf(line, sizeof line, "domain=%s", domain);
    logmsg(mtasts_lookup_alert(lk) ? LOG_ERR : LOG_INFO, "%s%s",
           mtasts_lookup_alert(lk) ? "alert: " : "", line);

    outcome = mtasts_lookup_outcome(lk);
    pol = mtasts_lookup_policy(lk);
    mode = pol ? mtasts_policy_mode(pol) : 0;
    if (outcome == MTASTS_OUTCOME_TEMPFAIL) {
        char msg[300];
        const char *why = mtasts_why_name(mtasts_lookup_why(lk));
        snprintf(msg, sizeof msg,
                 "MTA-STS lookup for %s failed temporarily (%s)", domain,
                 why ? why : "?");
        mtasts_lookup_free(lk);
        m->kind = K_TEMPFAIL;
        m->msg = xstrdup(msg);
        if (m->msg == NULL) {
            memo_clear(m);
            return give(yield, EXIM_DEFER, OOM_MSG);
        }
    } else if (outcome == MTASTS_OUTCOME_APPLY &&
               (mode == MTASTS_MODE_ENFORCE || mode == MTASTS_MODE_TESTING)) {
        m->kind = mode == MTASTS_MODE_ENFORCE ? K_ENFORCE : K_TESTING;
        m->lk = lk;
    } else {
        mtasts_lookup_free(lk);
        m->kind = K_NONE;
    }
    *ret = m;
    return EXIM_OK;
}

/* The common part of every function: check the positional arguments,
 * make the state, normalise the domain and get its answer. */
static int
prologue(unsigned char **yield, int argc, unsigned char *argv[], int npos,
         const char *fn, struct memo **ret, const char **ret_also)
{
    char dom[MTASTS_DOMAIN_MAX_LEN + 3];
    const char *d;
    size_t n;
    int rc, given = 0;

    /* the positional arguments come first; options have a '=', which no
     * domain or host name has */
    while (given < argc && strchr((const char *)argv[given], '=') == NULL)
        given++;
    if (given != npos) {
        return givef(yield, EXIM_ERROR,
                     "mtasts_exim: %s needs %s as argument%s, then "
                     "KEY=VALUE options (%d argument%s before the options)",
                     fn,
                     npos == 1 ? "the domain" : "the domain and a host name",
                     npos == 1 ? "" : "s", given, given == 1 ? "" : "s");
    }
    rc = state_ready(yield, argc, argv, npos, ret_also);
    if (rc == EXIM_ERROR)
        return rc; /* a configuration error: Exim logs it, loudly */
    if (rc != EXIM_OK) {
        logmsg(LOG_ERR, "%s: %s: fail-closed answer", fn, (char *)*yield);
        *ret = &FAILED;
        return EXIM_OK;
    }
    d = (const char *)argv[0];
    n = strlen(d);
    if (n > 0 && d[0] == '[') {
        /* an address literal: the lookup ends at once with no policy */
        if (n >= sizeof dom)
            n = sizeof dom - 1;
        memcpy(dom, d, n);
        dom[n] = '\0';
    } else if (mtasts_domain_normalize(d, n, dom, sizeof dom, NULL) != 0) {
        /* not an A-label domain (a U-label: the README says to pass
         * ${utf8_domain_to_alabel:$domain}); no policy can be found */
        logmsg(LOG_NOTICE, "%s: \"%.64s\" is not a domain name: no policy", fn,
               d);
        snprintf(dom, sizeof dom, "[invalid]");
    }
    rc = answer(yield, dom, ret);
    if (rc != EXIM_OK) {
        logmsg(LOG_ERR, "%s: %s: fail-closed answer", fn, (char *)*yield);
        *ret = &FAILED;
    }
    return EXIM_OK;
}

/* ------------------------------------------------------------------ */
/* the functions                                                       */
/* ------------------------------------------------------------------ */

/* Each function gives, when the policy cannot be known now (outcome
 * tempfail, a lookup that could not finish, out of memory), the answer
 * that keeps mail from going out unprotected: Exim treats an expansion
 * that fails as "condition false" in a router and as "not in the list" in
 * a transport's host lists, so a DEFER here would let the mail through. */

int
mtasts_exim_mode(unsigned char **yield, int argc, unsigned char *argv[])
{
    struct memo *m;
    const char *also;
    int rc = prologue(yield, argc, argv, 1, "mtasts_exim_mode", &m, &also);

    if (rc != EXIM_OK)
        return rc;
    switch (m->kind) {
    case K_ENFORCE:
        return give_const(yield, "enforce");
    case K_TESTING:
        return give_const(yield, "testing");
    case K_NONE:
        return give_const(yield, "none");
    default:
        return give_const(yield, "tempfail");
    }
}

int
mtasts_exim_tls_required(unsigned char **yield, int argc, unsigned char *argv[])
{
    struct memo *m;
    const char *also;
    int rc =
        prologue(yield, argc, argv, 1, "mtasts_exim_tls_required", &m, &also);

    if (rc != EXIM_OK)
        return rc;
    if (m->kind == K_TESTING || m->kind == K_NONE)
        return give_const(yield, "no");
    return give_const(yield, "yes"); /* enforce, or not known now */
}

int
mtasts_exim_tls_hosts(unsigned char **yield, int argc, unsigned char *argv[])
{
    struct memo *m;
    const char *also;
    int rc = prologue(yield, argc, argv, 1, "mtasts_exim_tls_hosts", &m, &also);

    if (rc != EXIM_OK)
        return rc;
    if (m->kind == K_TESTING || m->kind == K_NONE)
        return give_const(yield, "");
    return give_const(yield, "*"); /* enforce, or not known now */
}

int
mtasts_exim_mx_allowed(unsigned char **yield, int argc, unsigned char *argv[])
{
    struct memo *m;
    const char *also, *host;
    int rc =
        prologue(yield, argc, argv, 2, "mtasts_exim_mx_allowed", &m, &also);

    if (rc != EXIM_OK)
        return rc;
    host = (const char *)argv[1];
    if (m->kind == K_ENFORCE) {
        const mtasts_policy *pol = mtasts_lookup_policy(m->lk);
        return give_const(
            yield,
            mtasts_policy_mx_allowed(pol, host, strlen(host)) ? "yes" : "no");
    }
    if (m->kind == K_TESTING || m->kind == K_NONE)
        return give_const(yield, "yes");
    return give_const(yield, "no"); /* not known now */
}

/* Append s to the growing string *buf (length *len, capacity *cap). */
static int
grow_put(char **buf, size_t *len, size_t *cap, const char *s, size_t n)
{
    if (*len + n + 1 > *cap) {
        size_t c = *cap ? *cap : 256;
        char *p;
        while (c < *len + n + 1)
            c *= 2;
        p = xalloc(c);
        if (p == NULL)
            return -1;
        if (*buf != NULL)
            memcpy(p, *buf, *len + 1);
        xfree(*buf, *cap);
        *buf = p;
        *cap = c;
    }
    memcpy(*buf + *len, s, n);
    *len += n;
    (*buf)[*len] = '\0';
    return 0;
}

/* One policy pattern as an Exim host-list item that matches the host
 * names the pattern matches (mtasts_mx_match(): "*." is exactly one
 * label), never more: a regular expression, which Exim matches against
 * the MX name case-insensitively. A plain name in a host list would be
 * matched by IP address instead, and Exim's own "*.suffix" by any depth. */
static int
put_pattern_re(char **buf, size_t *len, size_t *cap, const char *pat, size_t n)
{
    size_t i = 0;

    if (grow_put(buf, len, cap, *len > 2 ? " ; !^" : " !^", *len > 2 ? 5 : 3) !=
        0)
        return -1;
    if (n >= 2 && pat[0] == '*' && pat[1] == '.') {
        if (grow_put(buf, len, cap, "[^.]+\\.", 7) != 0)
            return -1;
        i = 2;
    }
    for (; i < n; i++) {
        char c = pat[i];
        /* patterns are checked host names: letters, digits, '-', '.' */
        if (c == '.') {
            if (grow_put(buf, len, cap, "\\.", 2) != 0)
                return -1;
        } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                   (c >= '0' && c <= '9') || c == '-') {
            if (grow_put(buf, len, cap, &c, 1) != 0)
                return -1;
        } else {
            /* cannot happen for a parsed policy; never match then */
            if (grow_put(buf, len, cap, "(?!)", 4) != 0)
                return -1;
        }
    }
    return grow_put(buf, len, cap, "$", 1);
}

int
mtasts_exim_ignore_hosts(unsigned char **yield, int argc, unsigned char *argv[])
{
    struct memo *m;
    const char *also = NULL;
    char *buf = NULL;
    size_t len = 0, cap = 0;
    int rc =
        prologue(yield, argc, argv, 1, "mtasts_exim_ignore_hosts", &m, &also);

    if (rc != EXIM_OK)
        return rc;
    if (grow_put(&buf, &len, &cap, "<;", 2) != 0)
        goto oom;
    if (also != NULL) {
        /* the operator's own list, in the "<;" form Debian's
         * ROUTER_DNSLOOKUP_IGNORE_TARGET_HOSTS has, or ';'-separated */
        const char *a = also;
        while (*a == ' ')
            a++;
        if (a[0] == '<' && a[1] == ';')
            a += 2;
        while (*a == ' ')
            a++;
        if (*a != '\0' && (grow_put(&buf, &len, &cap, " ", 1) != 0 ||
                           grow_put(&buf, &len, &cap, a, strlen(a)) != 0))
            goto oom;
    }
    if (m->kind == K_ENFORCE) {
        const mtasts_policy *pol = mtasts_lookup_policy(m->lk);
        for (size_t i = 0; i < mtasts_policy_mx_count(pol); i++) {
            size_t n;
            const char *p = mtasts_policy_mx(pol, i, &n);
            if (put_pattern_re(&buf, &len, &cap, p, n) != 0)
                goto oom;
        }
        if (grow_put(&buf, &len, &cap, len > 2 ? " ; *" : " *",
                     len > 2 ? 4 : 2) != 0)
            goto oom;
    } else if (m->kind != K_TESTING && m->kind != K_NONE) {
        /* not known now: every host ignored, so a dnslookup router
         * declines and the defer router after it (README) defers */
        xfree(buf, cap);
        return give_const(yield, "<; *");
    }
    rc = give(yield, EXIM_OK, len == 2 ? "" : buf);
    xfree(buf, cap);
    if (rc != EXIM_OK)
        return give_const(yield, "<; *");
    return rc;
oom:
    xfree(buf, cap);
    logmsg(LOG_ERR, "mtasts_exim_ignore_hosts: %s: every host ignored",
           OOM_MSG);
    return give_const(yield, "<; *");
}

int
mtasts_exim_policy(unsigned char **yield, int argc, unsigned char *argv[])
{
    struct memo *m;
    const char *also;
    char *buf = NULL;
    size_t len = 0, cap = 0;
    const mtasts_policy *pol;
    int rc = prologue(yield, argc, argv, 1, "mtasts_exim_policy", &m, &also);

    if (rc != EXIM_OK)
        return rc;
    if (m->kind == K_NONE)
        return give_const(yield, "none");
    if (m->kind != K_ENFORCE && m->kind != K_TESTING)
        return give_const(yield, "tempfail");
    pol = mtasts_lookup_policy(m->lk);
    if (grow_put(&buf, &len, &cap, m->kind == K_ENFORCE ? "enforce" : "testing",
                 7) != 0)
        goto oom;
    for (size_t i = 0; i < mtasts_policy_mx_count(pol); i++) {
        size_t n;
        const char *p = mtasts_policy_mx(pol, i, &n);
        if (grow_put(&buf, &len, &cap, " ", 1) != 0 ||
            grow_put(&buf, &len, &cap, p, n) != 0)
            goto oom;
    }
    rc = give(yield, EXIM_OK, buf);
    xfree(buf, cap);
    if (rc != EXIM_OK)
        return give_const(yield, "tempfail");
    return rc;
oom:
    xfree(buf, cap);
    logmsg(LOG_ERR, "mtasts_exim_policy: %s", OOM_MSG);
    return give_const(yield, "tempfail");
}
