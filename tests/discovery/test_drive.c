/*
 * The callback driver (mtasts_lookup_drive): synchronous hooks that answer
 * inside the call (a forking MTA), deferred hooks that answer later (an
 * event loop), failing hooks, struct versions and the log hook.
 */
#include <stdio.h>
#include <stdlib.h>

#include "dharness.h"

#define T0  INT64_C(1700000000)
#define DOM "example.com"
#define ENFORCE                                                     \
    "version: STSv1\nmode: enforce\nmx: mx1.example.com\nmax_age: " \
    "604800\n"
#define URL "https://mta-sts.example.com/.well-known/mta-sts.txt"

enum {
    MODE_SYNC,     /* answer inside the hook, return 0 */
    MODE_DEFER,    /* return MTASTS_EAGAIN, answer later */
    MODE_NOANSWER, /* return 0 without answering */
    MODE_FAIL,     /* return -1 */
    MODE_OTHER,    /* return another status */
    MODE_WRONG,    /* answer the wrong question, return 0 */
};

struct user {
    int mode;
    struct dh_answers a;
    unsigned txt, fetch;
    char qname[300], url[400], host[300];
    uint32_t timeout_ms;
    size_t max_size;
    mtasts_lookup *pending; /* deferred question */
    int pending_kind;       /* 1 txt, 2 fetch */
    char log[8][400];
    size_t nlog;
};

static void
keep(char *dst, size_t cap, const char *s, size_t n)
{
    assert_true(n < cap);
    memcpy(dst, s, n);
    dst[n] = '\0';
    assert_int_equal(strlen(dst), n);
    assert_int_equal(s[n], '\0'); /* borrowed strings are NUL-terminated */
}

static int
hook_txt(void *user, mtasts_lookup *lk, const char *q, size_t ql)
{
    struct user *u = user;

    u->txt++;
    keep(u->qname, sizeof(u->qname), q, ql);
    switch (u->mode) {
    case MODE_SYNC:
        assert_int_equal(dh_put_txt(lk, &u->a), MTASTS_OK);
        return 0;
    case MODE_DEFER:
        u->pending = lk;
        u->pending_kind = 1;
        return MTASTS_EAGAIN;
    case MODE_NOANSWER:
        return 0;
    case MODE_FAIL:
        return -1;
    case MODE_OTHER:
        return MTASTS_ENOMEM;
    default:
        assert_int_equal(dh_put_fetch(lk, &u->a), MTASTS_ESTATE);
        return 0;
    }
}

static int
hook_fetch(void *user, mtasts_lookup *lk, const char *url, size_t url_len,
           const char *host, size_t host_len, uint32_t timeout_ms,
           size_t max_size)
{
    struct user *u = user;

    u->fetch++;
    keep(u->url, sizeof(u->url), url, url_len);
    keep(u->host, sizeof(u->host), host, host_len);
    u->timeout_ms = timeout_ms;
    u->max_size = max_size;
    switch (u->mode) {
    case MODE_SYNC:
        assert_int_equal(dh_put_fetch(lk, &u->a), MTASTS_OK);
        return 0;
    case MODE_DEFER:
        u->pending = lk;
        u->pending_kind = 2;
        return MTASTS_EAGAIN;
    case MODE_NOANSWER:
        return 0;
    case MODE_FAIL:
        return -1;
    case MODE_OTHER:
        return 1;
    default:
        assert_int_equal(dh_put_txt(lk, &u->a), MTASTS_ESTATE);
        return 0;
    }
}

static void
hook_log(void *user, const char *msg, size_t len)
{
    struct user *u = user;

    assert_true(u->nlog < 8);
    keep(u->log[u->nlog], sizeof(u->log[0]), msg, len);
    u->nlog++;
}

static const struct mtasts_io io_log = {MTASTS_IO_VERSION, hook_txt, hook_fetch,
                                        hook_log};
static const struct mtasts_io io_nolog = {MTASTS_IO_VERSION, hook_txt,
                                          hook_fetch, NULL};

static void
user_init(struct user *u, int mode)
{
    memset(u, 0, sizeof(*u));
    u->mode = mode;
    u->a.dns = MTASTS_DNS_OK;
    u->a.rr[0][0] = "v=STSv1; id=a;";
    u->a.transport = MTASTS_FETCH_OK;
    u->a.http = 200;
    u->a.ctype = "text/plain";
    u->a.body = ENFORCE;
}

static mtasts_lookup *
new_lookup(mtasts_ctx *ctx, const char *dom)
{
    mtasts_lookup *lk = NULL;

    assert_int_equal(
        mtasts_lookup_new(ctx, dom, strlen(dom), NULL, 0, T0, 0, &lk),
        MTASTS_OK);
    return lk;
}

static void
sync_hooks_forking_mta(void **state)
{
    mtasts_lookup *lk = new_lookup(*state, DOM);
    struct user u;

    user_init(&u, MODE_SYNC);
    assert_int_equal(mtasts_lookup_drive(lk, &io_log, &u), MTASTS_OK);
    assert_int_equal(u.txt, 1);
    assert_int_equal(u.fetch, 1);
    assert_string_equal(u.qname, "_mta-sts.example.com");
    assert_string_equal(u.url, URL);
    assert_string_equal(u.host, "mta-sts.example.com");
    assert_int_equal(u.timeout_ms, 60000);
    assert_int_equal(u.max_size, 65536);
    assert_int_equal(mtasts_lookup_outcome(lk), MTASTS_OUTCOME_APPLY);
    assert_int_equal(mtasts_lookup_why(lk), MTASTS_WHY_FETCHED);
    assert_int_equal(mtasts_lookup_entry_action(lk), MTASTS_ENTRY_ACTION_STORE);
    /* the log hook got one line per step */
    assert_int_equal(u.nlog, 3);
    assert_string_equal(u.log[0], "resolve TXT _mta-sts.example.com");
    assert_string_equal(u.log[1], "fetch " URL);
    assert_string_equal(u.log[2], "done: fetched");
    /* driving a finished lookup: nothing more is asked */
    assert_int_equal(mtasts_lookup_drive(lk, &io_log, &u), MTASTS_OK);
    assert_int_equal(u.txt, 1);
    assert_int_equal(u.fetch, 1);
    assert_int_equal(u.nlog, 4);
    assert_string_equal(u.log[3], "done: fetched");
    mtasts_lookup_free(lk);

    /* without a log hook; NXDOMAIN: one TXT call and done */
    lk = new_lookup(*state, DOM);
    user_init(&u, MODE_SYNC);
    u.a.dns = MTASTS_DNS_NXDOMAIN;
    assert_int_equal(mtasts_lookup_drive(lk, &io_nolog, &u), MTASTS_OK);
    assert_int_equal(u.txt, 1);
    assert_int_equal(u.fetch, 0);
    assert_int_equal(u.nlog, 0);
    assert_int_equal(mtasts_lookup_outcome(lk), MTASTS_OUTCOME_NO_POLICY);
    assert_int_equal(mtasts_lookup_why(lk), MTASTS_WHY_NO_RECORD);
    mtasts_lookup_free(lk);

    /* an address literal: no hook call, one log line */
    lk = new_lookup(*state, "[192.0.2.1]");
    user_init(&u, MODE_SYNC);
    assert_int_equal(mtasts_lookup_drive(lk, &io_log, &u), MTASTS_OK);
    assert_int_equal(u.txt + u.fetch, 0);
    assert_int_equal(u.nlog, 1);
    assert_string_equal(u.log[0], "done: address_literal");
    mtasts_lookup_free(lk);
}

static void
deferred_hooks_event_loop(void **state)
{
    mtasts_lookup *lk = new_lookup(*state, DOM);
    struct user u;

    user_init(&u, MODE_DEFER);
    assert_int_equal(mtasts_lookup_drive(lk, &io_log, &u), MTASTS_EAGAIN);
    assert_int_equal(u.txt, 1);
    assert_int_equal(u.fetch, 0);
    assert_ptr_equal(u.pending, lk);
    assert_int_equal(u.pending_kind, 1);
    assert_int_equal(mtasts_lookup_next(lk), MTASTS_ACT_TXT);
    assert_int_equal(mtasts_lookup_outcome(lk), 0);
    /* the answer arrives; the loop drives again */
    assert_int_equal(dh_put_txt(u.pending, &u.a), MTASTS_OK);
    assert_int_equal(mtasts_lookup_drive(lk, &io_log, &u), MTASTS_EAGAIN);
    assert_int_equal(u.txt, 1);
    assert_int_equal(u.fetch, 1);
    assert_int_equal(u.pending_kind, 2);
    assert_string_equal(u.url, URL);
    assert_int_equal(mtasts_lookup_next(lk), MTASTS_ACT_FETCH);
    assert_int_equal(dh_put_fetch(u.pending, &u.a), MTASTS_OK);
    assert_int_equal(mtasts_lookup_drive(lk, &io_log, &u), MTASTS_OK);
    assert_int_equal(u.txt, 1);
    assert_int_equal(u.fetch, 1);
    assert_int_equal(mtasts_lookup_outcome(lk), MTASTS_OUTCOME_APPLY);
    assert_int_equal(u.nlog, 3);
    assert_string_equal(u.log[0], "resolve TXT _mta-sts.example.com");
    assert_string_equal(u.log[1], "fetch " URL);
    assert_string_equal(u.log[2], "done: fetched");
    mtasts_lookup_free(lk);

    /* driving again before answering asks the same question again */
    lk = new_lookup(*state, DOM);
    user_init(&u, MODE_DEFER);
    assert_int_equal(mtasts_lookup_drive(lk, &io_nolog, &u), MTASTS_EAGAIN);
    assert_int_equal(mtasts_lookup_drive(lk, &io_nolog, &u), MTASTS_EAGAIN);
    assert_int_equal(u.txt, 2);
    /* a deferred lookup may be abandoned */
    mtasts_lookup_free(lk);
}

static void
failing_hooks(void **state)
{
    static const int modes[] = {MODE_NOANSWER, MODE_FAIL, MODE_OTHER,
                                MODE_WRONG};
    size_t i;

    for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
        mtasts_lookup *lk = new_lookup(*state, DOM);
        struct user u;

        /* the TXT hook fails */
        user_init(&u, modes[i]);
        assert_int_equal(mtasts_lookup_drive(lk, &io_nolog, &u),
                         MTASTS_ECALLBACK);
        assert_int_equal(u.txt, 1);
        assert_int_equal(u.fetch, 0);
        /* the lookup is not broken: the question is still open */
        assert_int_equal(mtasts_lookup_next(lk), MTASTS_ACT_TXT);
        assert_int_equal(dh_put_txt(lk, &u.a), MTASTS_OK);
        /* now the fetch hook fails */
        assert_int_equal(mtasts_lookup_drive(lk, &io_nolog, &u),
                         MTASTS_ECALLBACK);
        assert_int_equal(u.fetch, 1);
        assert_int_equal(mtasts_lookup_next(lk), MTASTS_ACT_FETCH);
        /* a good driver finishes it */
        u.mode = MODE_SYNC;
        assert_int_equal(mtasts_lookup_drive(lk, &io_nolog, &u), MTASTS_OK);
        assert_int_equal(mtasts_lookup_outcome(lk), MTASTS_OUTCOME_APPLY);
        mtasts_lookup_free(lk);
    }
}

static void
io_versions_and_arguments(void **state)
{
    mtasts_lookup *lk = new_lookup(*state, DOM);
    struct mtasts_io io = io_log;
    struct user u;

    user_init(&u, MODE_SYNC);
    io.version = 0;
    assert_int_equal(mtasts_lookup_drive(lk, &io, &u), MTASTS_EINVAL);
    io.version = 2;
    assert_int_equal(mtasts_lookup_drive(lk, &io, &u), MTASTS_EVERSION);
    io.version = MTASTS_IO_VERSION;
    io.txt = NULL;
    assert_int_equal(mtasts_lookup_drive(lk, &io, &u), MTASTS_EINVAL);
    io.txt = hook_txt;
    io.fetch = NULL;
    assert_int_equal(mtasts_lookup_drive(lk, &io, &u), MTASTS_EINVAL);
    assert_int_equal(mtasts_lookup_drive(lk, NULL, &u), MTASTS_EINVAL);
    assert_int_equal(mtasts_lookup_drive(NULL, &io_log, &u), MTASTS_EINVAL);
    /* nothing was called, nothing logged */
    assert_int_equal(u.txt + u.fetch, 0);
    assert_int_equal(u.nlog, 0);
    assert_int_equal(mtasts_lookup_next(lk), MTASTS_ACT_TXT);
    /* the user pointer may be NULL when the hooks do not need it */
    mtasts_lookup_free(lk);
}

/* The hooks see the context's options. */
static void
hook_parameters_follow_options(void **state)
{
    mtasts_lookup *lk;
    struct user u;

    assert_int_equal(
        mtasts_ctx_set_option(*state, MTASTS_OPT_FETCH_TIMEOUT_MS, 1234),
        MTASTS_OK);
    assert_int_equal(
        mtasts_ctx_set_limit(*state, MTASTS_LIMIT_POLICY_SIZE, 4096),
        MTASTS_OK);
    lk = new_lookup(*state, "Mail.Example.ORG.");
    user_init(&u, MODE_SYNC);
    assert_int_equal(mtasts_lookup_drive(lk, &io_nolog, &u), MTASTS_OK);
    assert_string_equal(u.qname, "_mta-sts.mail.example.org");
    assert_string_equal(u.url, "https://mta-sts.mail.example.org/.well-known/"
                               "mta-sts.txt");
    assert_string_equal(u.host, "mta-sts.mail.example.org");
    assert_int_equal(u.timeout_ms, 1234);
    assert_int_equal(u.max_size, 4096);
    mtasts_lookup_free(lk);
}

#define T(f) cmocka_unit_test_setup_teardown(f, harness_setup, harness_teardown)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        T(sync_hooks_forking_mta),
        T(deferred_hooks_event_loop),
        T(failing_hooks),
        T(io_versions_and_arguments),
        T(hook_parameters_follow_options),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
