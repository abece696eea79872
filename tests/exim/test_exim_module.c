/*
 * Unit tests of contrib/exim/mtasts_exim.c without Exim (suite exim; the
 * allocation-failure sweep also in suite oom): the module's source is
 * included, so its state can be freed between cases (test_reset()) and its
 * allocator (AL: the module's blocks and the core's) replaced by the
 * harness's failing one.
 *
 * No DNS or HTTPS server is needed: an address literal ends its lookup at
 * once, and an enforce policy is put in an SQLite cache beforehand, then
 * looked up with a DNS server that refuses (a closed loopback UDP port),
 * so the TXT query fails temporarily and the cached policy applies (RFC
 * 8461 5.1, as the core implements it).
 */
#define MTASTS_EXIM_TEST 1
#include "../../contrib/exim/mtasts_exim.c"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "harness.h"

#define T0 1700000000

static const char BODY[] = "version: STSv1\r\nmode: enforce\r\n"
                           "mx: mx.example.com\r\nmx: *.example.net\r\n"
                           "max_age: 31557600\r\n";

struct fixture {
    char dir[64];
    char db[128];
    char opts[400];
};

/* Call fn with the given arguments; returns the status, *out the string
 * Exim would get. */
static int
call(int (*fn)(unsigned char **, int, unsigned char **), const char **out,
     int argc, ...)
{
    unsigned char *argv[8];
    unsigned char *yield = NULL;
    va_list ap;
    int rc;

    assert_true(argc <= 8);
    va_start(ap, argc);
    for (int i = 0; i < argc; i++)
        argv[i] = (unsigned char *)(uintptr_t)va_arg(ap, const char *);
    va_end(ap);
    rc = fn(&yield, argc, argv);
    *out = (const char *)yield;
    return rc;
}

/* A UDP port on 127.0.0.1 with nothing behind it: queries are refused. */
static int
closed_udp_port(void)
{
    struct sockaddr_in sa;
    socklen_t sl = sizeof sa;
    int fd = socket(AF_INET, SOCK_DGRAM, 0);

    assert_true(fd >= 0);
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
    close(fd);
    return ntohs(sa.sin_port);
}

/* An SQLite cache holding a fetched enforce policy for example.com. */
static void
make_cache(struct fixture *f)
{
    mtasts_ctx *ctx = NULL;
    mtasts_lookup *lk = NULL;
    mtasts_store *st = NULL;
    mtasts_store_config sc;
    const char *strs[1] = {"v=STSv1; id=20240101;"};
    size_t lens[1] = {21}, nstr[1] = {1}, n = 0;
    uint8_t entry[4096];
    int64_t now = (int64_t)time(NULL);

    snprintf(f->dir, sizeof f->dir, "/tmp/mtasts-exim-unit.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->db, sizeof f->db, "%s/cache.sqlite", f->dir);
    assert_int_equal(mtasts_ctx_new(NULL, &ctx), 0);
    assert_int_equal(
        mtasts_lookup_new(ctx, S("example.com"), NULL, 0, now, 0, &lk), 0);
    assert_int_equal(mtasts_lookup_next(lk), MTASTS_ACT_TXT);
    assert_int_equal(
        mtasts_lookup_put_txt(lk, MTASTS_DNS_OK, strs, lens, nstr, 1), 0);
    assert_int_equal(mtasts_lookup_next(lk), MTASTS_ACT_FETCH);
    assert_int_equal(mtasts_lookup_put_fetch(lk, MTASTS_FETCH_OK, 200,
                                             S("text/plain"), S(BODY)),
                     0);
    assert_int_equal(mtasts_lookup_next(lk), MTASTS_ACT_DONE);
    assert_int_equal(mtasts_lookup_entry(lk, entry, sizeof entry, &n), 0);
    mtasts_store_config_init(&sc);
    sc.backend = MTASTS_STORE_SQLITE;
    sc.sqlite_path = f->db;
    assert_int_equal(mtasts_store_open(ctx, &sc, now, &st), 0);
    assert_int_equal(mtasts_store_put(st, entry, n, 0, now), 0);
    mtasts_store_free(st);
    mtasts_lookup_free(lk);
    mtasts_ctx_free(ctx);
    snprintf(f->opts, sizeof f->opts,
             "cache=%s dns=127.0.0.1:%d timeout=10 log=none memo=0", f->db,
             closed_udp_port());
}

static void
drop_cache(struct fixture *f)
{
    char p[160];

    unlink(f->db);
    snprintf(p, sizeof p, "%s-wal", f->db);
    unlink(p);
    snprintf(p, sizeof p, "%s-shm", f->db);
    unlink(p);
    rmdir(f->dir);
}

static void
test_arguments(void **state)
{
    const char *out;

    (void)state;
    assert_int_equal(call(mtasts_exim_mode, &out, 0), EXIM_ERROR);
    assert_non_null(strstr(out, "needs the domain"));
    assert_int_equal(
        call(mtasts_exim_mx_allowed, &out, 2, "example.com", "cache=none"),
        EXIM_ERROR);
    assert_non_null(strstr(out, "needs the domain and a host name"));
    assert_int_equal(
        call(mtasts_exim_mode, &out, 3, "example.com", "b.com", "log=none"),
        EXIM_ERROR);
    assert_int_equal(
        call(mtasts_exim_mode, &out, 2, "example.com", "log=none colour=blue"),
        EXIM_ERROR);
    assert_non_null(strstr(out, "unknown option \"colour\""));
    assert_int_equal(
        call(mtasts_exim_mode, &out, 2, "example.com", "timeout=soon"),
        EXIM_ERROR);
    assert_non_null(strstr(out, "bad value in option timeout=soon"));
    assert_int_equal(
        call(mtasts_exim_mode, &out, 2, "example.com", "dns_tempfail=maybe"),
        EXIM_ERROR);
    assert_int_equal(call(mtasts_exim_mode, &out, 2, "example.com", "=x"),
                     EXIM_ERROR);
    assert_non_null(strstr(out, "expected KEY=VALUE"));
    assert_int_equal(
        call(mtasts_exim_mode, &out, 2, "example.com", "log=relative/path"),
        EXIM_ERROR);
    test_reset();
}

static void
test_literal(void **state)
{
    const char *out;
    const char *o = "cache=none log=none";

    (void)state;
    assert_int_equal(call(mtasts_exim_mode, &out, 2, "[192.0.2.1]", o),
                     EXIM_OK);
    assert_string_equal(out, "none");
    assert_int_equal(call(mtasts_exim_policy, &out, 2, "[192.0.2.1]", o),
                     EXIM_OK);
    assert_string_equal(out, "none");
    assert_int_equal(call(mtasts_exim_tls_required, &out, 2, "[192.0.2.1]", o),
                     EXIM_OK);
    assert_string_equal(out, "no");
    assert_int_equal(call(mtasts_exim_tls_hosts, &out, 2, "[192.0.2.1]", o),
                     EXIM_OK);
    assert_string_equal(out, "");
    assert_int_equal(
        call(mtasts_exim_mx_allowed, &out, 3, "[192.0.2.1]", "anything", o),
        EXIM_OK);
    assert_string_equal(out, "yes");
    assert_int_equal(call(mtasts_exim_ignore_hosts, &out, 2, "[192.0.2.1]", o),
                     EXIM_OK);
    assert_string_equal(out, "");
    assert_int_equal(call(mtasts_exim_ignore_hosts, &out, 3, "[192.0.2.1]",
                          "also=<; 0.0.0.0 ; ::1", o),
                     EXIM_OK);
    assert_string_equal(out, "<; 0.0.0.0 ; ::1");
    /* a name that is no A-label domain cannot have a policy */
    assert_int_equal(call(mtasts_exim_mode, &out, 2, "bad..example", o),
                     EXIM_OK);
    assert_string_equal(out, "none");
    test_reset();
}

static void
test_cached_enforce(void **state)
{
    struct fixture f;
    const char *out;

    (void)state;
    make_cache(&f);
    assert_int_equal(call(mtasts_exim_policy, &out, 2, "Example.COM.", f.opts),
                     EXIM_OK);
    assert_string_equal(out, "enforce mx.example.com *.example.net");
    assert_int_equal(call(mtasts_exim_mode, &out, 2, "example.com", f.opts),
                     EXIM_OK);
    assert_string_equal(out, "enforce");
    assert_int_equal(
        call(mtasts_exim_tls_required, &out, 2, "example.com", f.opts),
        EXIM_OK);
    assert_string_equal(out, "yes");
    assert_int_equal(
        call(mtasts_exim_tls_hosts, &out, 2, "example.com", f.opts), EXIM_OK);
    assert_string_equal(out, "*");
    assert_int_equal(
        call(mtasts_exim_ignore_hosts, &out, 2, "example.com", f.opts),
        EXIM_OK);
    assert_string_equal(
        out, "<; !^mx\\.example\\.com$ ; !^[^.]+\\.example\\.net$ ; *");
    assert_int_equal(call(mtasts_exim_ignore_hosts, &out, 3, "example.com",
                          "also=<; 10.0.0.0/8", f.opts),
                     EXIM_OK);
    assert_string_equal(out, "<; 10.0.0.0/8 ; !^mx\\.example\\.com$ ; "
                             "!^[^.]+\\.example\\.net$ ; *");
    assert_int_equal(call(mtasts_exim_mx_allowed, &out, 3, "example.com",
                          "MX.example.com.", f.opts),
                     EXIM_OK);
    assert_string_equal(out, "yes");
    assert_int_equal(call(mtasts_exim_mx_allowed, &out, 3, "example.com",
                          "a.example.net", f.opts),
                     EXIM_OK);
    assert_string_equal(out, "yes");
    assert_int_equal(call(mtasts_exim_mx_allowed, &out, 3, "example.com",
                          "a.b.example.net", f.opts),
                     EXIM_OK);
    assert_string_equal(out, "no");
    assert_int_equal(call(mtasts_exim_mx_allowed, &out, 3, "example.com",
                          "example.net", f.opts),
                     EXIM_OK);
    assert_string_equal(out, "no");

    /* with dns_tempfail=defer and nothing cached: a temporary failure,
     * answered so that the mail waits */
    {
        char o2[500];
        snprintf(o2, sizeof o2, "%s dns_tempfail=defer", f.opts);
        assert_int_equal(call(mtasts_exim_mode, &out, 2, "other.example", o2),
                         EXIM_OK);
        assert_string_equal(out, "tempfail");
        assert_int_equal(
            call(mtasts_exim_tls_required, &out, 2, "other.example", o2),
            EXIM_OK);
        assert_string_equal(out, "yes");
        assert_int_equal(
            call(mtasts_exim_tls_hosts, &out, 2, "other.example", o2), EXIM_OK);
        assert_string_equal(out, "*");
        assert_int_equal(call(mtasts_exim_mx_allowed, &out, 3, "other.example",
                              "mx.other.example", o2),
                         EXIM_OK);
        assert_string_equal(out, "no");
        assert_int_equal(call(mtasts_exim_policy, &out, 2, "other.example", o2),
                         EXIM_OK);
        assert_string_equal(out, "tempfail");
        assert_int_equal(
            call(mtasts_exim_ignore_hosts, &out, 2, "other.example", o2),
            EXIM_OK);
        assert_string_equal(out, "<; *");
        /* the cached domain still applies its policy */
        assert_int_equal(call(mtasts_exim_mode, &out, 2, "example.com", o2),
                         EXIM_OK);
        assert_string_equal(out, "enforce");
    }
    test_reset();
    drop_cache(&f);
}

struct oom_arg {
    struct fixture *f;
    int fn; /* 0: ignore_hosts, 1: policy, 2: a bad option */
};

static int
oom_op(void *argp)
{
    struct oom_arg *a = argp;
    const char *out;
    int rc;

    AL = harness_alloc();
    if (a->fn == 0)
        rc = call(mtasts_exim_ignore_hosts, &out, 3, "example.com",
                  "also=<; 10.0.0.0/8", a->f->opts);
    else if (a->fn == 1)
        rc = call(mtasts_exim_policy, &out, 2, "example.com", a->f->opts);
    else
        rc = call(mtasts_exim_mode, &out, 2, "example.com",
                  "log=none colour=blue");
    /* out of memory: the fail-closed answer */
    if (rc == EXIM_OK &&
        (strcmp(out, "<; *") == 0 || strcmp(out, "tempfail") == 0)) {
        test_reset();
        AL = &SYS_ALLOC;
        return MTASTS_ENOMEM;
    }
    if (a->fn == 0) {
        assert_int_equal(rc, EXIM_OK);
        assert_string_equal(out, "<; 10.0.0.0/8 ; !^mx\\.example\\.com$ ; "
                                 "!^[^.]+\\.example\\.net$ ; *");
    } else if (a->fn == 1) {
        assert_int_equal(rc, EXIM_OK);
        assert_string_equal(out, "enforce mx.example.com *.example.net");
    } else {
        assert_int_equal(rc, EXIM_ERROR);
        assert_non_null(strstr(out, "unknown option"));
    }
    test_reset();
    AL = &SYS_ALLOC;
    return MTASTS_OK;
}

static void
test_oom(void **state)
{
    struct fixture f;
    struct oom_arg a = {&f, 0};

    (void)state;
    make_cache(&f);
    /* the module's blocks and the core's (context, store memory, lookup,
     * entry decoding): dozens of steps */
    assert_true(harness_oom_sweep("exim ignore_hosts", oom_op, &a,
                                  HARNESS_SWEEP_BOTH) > 20);
    a.fn = 1;
    assert_true(
        harness_oom_sweep("exim policy", oom_op, &a, HARNESS_SWEEP_BOTH) > 20);
    a.fn = 2;
    assert_true(harness_oom_sweep("exim bad option", oom_op, &a,
                                  HARNESS_SWEEP_BOTH) >= 2);
    drop_cache(&f);
}

int
main(int argc, char **argv)
{
    const struct CMUnitTest unit[] = {
        cmocka_unit_test(test_arguments),
        cmocka_unit_test(test_literal),
        cmocka_unit_test(test_cached_enforce),
    };
    const struct CMUnitTest oom[] = {
        cmocka_unit_test(test_oom),
    };

    if (argc > 1 && strcmp(argv[1], "--oom") == 0)
        return cmocka_run_group_tests_name("exim-module-oom", oom, NULL, NULL);
    return cmocka_run_group_tests_name("exim-module", unit, NULL, NULL);
}
