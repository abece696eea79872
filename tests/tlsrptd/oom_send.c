/*
 * Allocation-failure sweeps of mtasts-tlsrptd's report and sending code
 * (tlsrptd/close.c, deliver.c, store.c): closing a day (the reports made
 * and recorded), making a report's deliveries (the mail of
 * mtasts_tlsrpt_mail_build() and the HTTPS body), and reading the
 * recorded reports and deliveries back.
 *
 *   tlsrptd_oom_send TMPDIR
 *
 * The program's own allocations (malloc, calloc, realloc, free of the
 * static archive, wrapped at link time) share one counter; those of
 * SQLite and libmtasts (shared libraries) are not counted. For n = 0, 1,
 * ...: the n-th allocation fails (then, in a second pass, every one from
 * the n-th on) and one whole operation runs; it must fail cleanly (the
 * status it documents, nothing returned) or succeed, and leave no block
 * allocated. The first run in which nothing failed ends the pass and
 * must succeed with the full result. Each pass must have failed at least
 * one allocation (a sweep that stops early fails).
 *
 * Exit status: 0 when every run was clean, 1 otherwise, 2 usage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "td.h"

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t m);
void *__real_realloc(void *p, size_t n);
void __real_free(void *p);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t m);
void *__wrap_realloc(void *p, size_t n);
void __wrap_free(void *p);

static long attempts; /* allocation attempts in this run */
static long fail_at;  /* -1: none */
static int fail_from; /* fail every attempt from fail_at on */
static long failed;   /* attempts made to fail in this run */
static long live;     /* blocks allocated and not freed */

static int
should_fail(void)
{
    long a = attempts++;

    if (fail_at >= 0 && (a == fail_at || (fail_from && a > fail_at))) {
        failed++;
        return 1;
    }
    return 0;
}

void *
__wrap_malloc(size_t n)
{
    void *p;

    if (should_fail())
        return NULL;
    p = __real_malloc(n);
    if (p != NULL)
        live++;
    return p;
}

void *
__wrap_calloc(size_t n, size_t m)
{
    void *p;

    if (should_fail())
        return NULL;
    p = __real_calloc(n, m);
    if (p != NULL)
        live++;
    return p;
}

void *
__wrap_realloc(void *p, size_t n)
{
    if (p == NULL)
        return __wrap_malloc(n);
    if (should_fail())
        return NULL;
    return __real_realloc(p, n);
}

void
__wrap_free(void *p)
{
    if (p != NULL)
        live--;
    __real_free(p);
}

#define DAY INT64_C(1459468800) /* 2016-04-01 */
static const char *const domains[] = {"a.example", "b.example", "c.example"};
static struct td_config cfg;
static char tmpdir[4096];
static int bad;

static void
fail(const char *what, long n, int from)
{
    printf("FAIL: %s, allocation %ld%s\n", what, n, from ? " on" : "");
    bad = 1;
}

/* A store in DIR/NAME holding the day's aggregate of three domains. */
static struct td_store *
fill_store(const char *name)
{
    char dir[4200], err[600];
    struct td_store *s;
    mtasts_ctx *ctx;
    mtasts_tlsrpt_agg *agg;
    mtasts_tlsrpt_policy *pol;
    mtasts_buf *enc;
    struct td_row row;
    size_t i, len;

    snprintf(dir, sizeof(dir), "%s/%s", tmpdir, name);
    if (mkdir(dir, 0700) != 0 ||
        td_store_open(dir, &s, err, sizeof(err)) != 0) {
        printf("cannot make the store %s: %s\n", dir, err);
        exit(1);
    }
    if (mtasts_ctx_new(NULL, &ctx) != MTASTS_OK ||
        mtasts_tlsrpt_agg_new(ctx, &agg) != MTASTS_OK)
        exit(1);
    for (i = 0; i < 3; i++) {
        if (mtasts_tlsrpt_policy_build_none(ctx, domains[i], strlen(domains[i]),
                                            &pol) != MTASTS_OK ||
            mtasts_tlsrpt_agg_add(agg, pol, DAY + 100, MTASTS_SESSION_SUCCESS,
                                  NULL, 0, 0) != MTASTS_OK)
            exit(1);
        mtasts_tlsrpt_policy_free(pol);
    }
    if (mtasts_tlsrpt_agg_encode(agg, &enc) != MTASTS_OK)
        exit(1);
    row.day = DAY;
    row.agg = mtasts_buf_data(enc, &len);
    row.len = len;
    row.sessions = 3;
    if (td_store_save(s, &row, 1) != 0)
        exit(1);
    mtasts_buf_free(enc);
    mtasts_tlsrpt_agg_free(agg);
    mtasts_ctx_free(ctx);
    return s;
}

static void
remove_store(const char *name)
{
    static const char *const files[] = {"tlsrptd.sqlite", "tlsrptd.sqlite-wal",
                                        "tlsrptd.sqlite-shm"};
    char path[4200];
    size_t i;

    for (i = 0; i < 3; i++) {
        snprintf(path, sizeof(path), "%s/%s/%s", tmpdir, name, files[i]);
        unlink(path);
    }
    snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
    rmdir(path);
}

/* Close the day of a fresh store: 0 (three reports) or -1. */
static int
op_close(long n, int from)
{
    struct td_report *r = NULL;
    struct td_close_info info;
    struct td_store *s;
    size_t k = 99, i;
    int rc;

    fail_at = -1;
    s = fill_store("close");
    attempts = 0; /* (counted from here) */
    fail_at = n;
    fail_from = from;
    rc = td_day_close(&cfg, s, NULL, DAY, 0, DAY + 2 * TD_DAY, &r, &k, &info);
    fail_at = -1;
    if (rc == 0) {
        if (k != 3 || info.made != 3)
            fail("close: three reports made", n, from);
        for (i = 0; i < k && i < 3; i++)
            if (strcmp(r[i].domain, domains[i]) != 0)
                fail("close: the reports' domains", n, from);
        td_store_reports_free(r, k);
    } else if (rc != -1 || r != NULL || k != 0)
        fail("close: a failure returns -1 and nothing", n, from);
    td_store_close(s);
    remove_store("close");
    return rc;
}

static struct td_report report;
static mtasts_tlsrpt_record *rec;

/* The deliveries of a report: 0 (two) or MTASTS_ENOMEM. */
static int
op_make(long n, int from)
{
    struct td_sender snd;
    struct td_delivery *d = NULL;
    char err[600];
    size_t k = 99;
    int rc;

    fail_at = -1;
    if (td_sender_init(&snd, &cfg, NULL, NULL) != 0)
        exit(1);
    attempts = 0;
    fail_at = n;
    fail_from = from;
    rc = td_make_deliveries(&snd, &report, rec, DAY + 2 * TD_DAY, &d, &k, err,
                            sizeof(err));
    fail_at = -1;
    if (rc == 0) {
        if (k != 2 || d[0].kind != TD_KIND_MAILTO ||
            d[1].kind != TD_KIND_HTTPS || d[0].len < 500 || d[1].len < 100 ||
            memcmp(d[1].payload, "\x1f\x8b", 2) != 0)
            fail("make: a mail and a gzip'd body", n, from);
        td_store_deliveries_free(d, k);
    } else if (rc != MTASTS_ENOMEM || d != NULL || k != 0)
        fail("make: a failure returns MTASTS_ENOMEM and nothing", n, from);
    td_sender_fini(&snd);
    return rc;
}

/* Read the recorded reports and deliveries back: 0 or MTASTS_ENOMEM. */
static struct td_store *rstore;

static int
op_read(long n, int from)
{
    struct td_report *r = NULL;
    struct td_delivery *d = NULL;
    size_t k = 99, m = 99;
    int rc, rc2;

    fail_at = n;
    fail_from = from;
    rc = td_store_reports_get(rstore, DAY, &r, &k);
    rc2 = td_store_deliveries_get(rstore, DAY, "a.example", &d, &m);
    fail_at = -1;
    if (rc == 0) {
        if (k != 3)
            fail("read: three reports", n, from);
        td_store_reports_free(r, k);
    } else if (rc != MTASTS_ENOMEM || r != NULL || k != 0)
        fail("read reports: MTASTS_ENOMEM and nothing", n, from);
    if (rc2 == 0) {
        if (m != 2 || d[0].len == 0)
            fail("read: two deliveries", n, from);
        td_store_deliveries_free(d, m);
    } else if (rc2 != MTASTS_ENOMEM || d != NULL || m != 0)
        fail("read deliveries: MTASTS_ENOMEM and nothing", n, from);
    return rc != 0 ? rc : rc2;
}

static void
sweep(const char *name, int (*op)(long, int))
{
    long n, base, total = 0;
    int from, rc;

    for (from = 0; from <= 1; from++) {
        for (n = 0; n < 100000; n++) {
            base = live;
            attempts = 0;
            failed = 0;
            rc = op(n, from);
            if (live != base) {
                fail(name, n, from);
                printf("  %ld block(s) left allocated\n", live - base);
            }
            total += failed;
            if (failed == 0) {
                if (rc != 0)
                    fail("the run without a failure succeeds", n, from);
                break;
            }
        }
        if (n == 0)
            fail("the sweep failed no allocation", n, from);
        printf("%s: %ld allocation(s) swept%s\n", name, n,
               from ? " (every one from the n-th on)" : "");
    }
    (void)total;
}

int
main(int argc, char **argv)
{
    struct td_delivery *dl = NULL;
    struct td_rua rua;
    struct td_report *made = NULL;
    struct td_close_info info;
    struct mtasts_diag diag = MTASTS_DIAG_INIT;
    mtasts_ctx *ctx;
    struct td_sender snd;
    char err[600];
    size_t k = 0, m = 0;
    static const char rec_text[] = "v=TLSRPTv1; rua=mailto:tlsrpt@r.example,"
                                   "https://r.example/tlsrpt,ftp://r.example/";

    if (argc != 2) {
        fprintf(stderr, "usage: tlsrptd_oom_send TMPDIR\n");
        return 2;
    }
    snprintf(tmpdir, sizeof(tmpdir), "%s/oom-send-XXXXXX", argv[1]);
    if (mkdtemp(tmpdir) == NULL) {
        perror(tmpdir);
        return 1;
    }
    fail_at = -1;
    td_config_init(&cfg);
    if (td_config_set(&cfg, "org", "Example Org", "t") != 0 ||
        td_config_set(&cfg, "contact", "tlsrpt@example.net", "t") != 0)
        return 1;
    /* the errors each failed run logs are not this program's output */
    if (freopen("/dev/null", "w", stderr) == NULL)
        return 1;

    sweep("close a day", op_close);

    /* a report and a record for the deliveries */
    rstore = fill_store("read");
    if (td_day_close(&cfg, rstore, NULL, DAY, 0, DAY + 2 * TD_DAY, &made, &k,
                     &info) != 0 ||
        k != 3 || mtasts_ctx_new(NULL, &ctx) != MTASTS_OK ||
        mtasts_tlsrpt_record_parse(ctx, rec_text, strlen(rec_text), 0, &rec,
                                   &diag) != MTASTS_OK)
        return 1;
    report = made[0];
    sweep("make the deliveries", op_make);

    /* recorded deliveries, read back */
    if (td_sender_init(&snd, &cfg, rstore, NULL) != 0)
        return 1;
    if (td_make_deliveries(&snd, &report, rec, DAY, &dl, &m, err,
                           sizeof(err)) != 0 ||
        m != 2)
        return 1;
    memset(&rua, 0, sizeof(rua));
    rua.state = TD_RUA_READY;
    if (td_store_rua_ready(rstore, DAY, "a.example", &rua, dl, m) != 0)
        return 1;
    td_store_deliveries_free(dl, m);
    td_sender_fini(&snd);
    sweep("read back", op_read);

    td_store_reports_free(made, k);
    mtasts_tlsrpt_record_free(rec);
    mtasts_ctx_free(ctx);
    td_store_close(rstore);
    remove_store("read");
    td_config_free(&cfg);
    rmdir(tmpdir);
    printf("%s\n", bad ? "FAILED" : "ok");
    return bad;
}
