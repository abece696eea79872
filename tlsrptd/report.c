/*
 * The commands that close a day by hand:
 *
 *   mtasts-tlsrptd report --store DIR --day YYYY-MM-DD --out-dir DIR
 *       [--dry-run] [--org NAME] [--contact ADDR] [--config FILE] ...
 *
 * closes the day (close.c: one report per policy domain, recorded in the
 * store) and writes each report as OUT/<domain>.json: the exact JSON that
 * is sent (gzip'd for delivery). A second run writes the recorded bytes
 * again. With --dry-run it also looks up each domain's rua and writes
 * what would be sent to each (deliver.c), recording nothing about
 * sending. Nothing is delivered.
 *
 *   mtasts-tlsrptd send --store DIR --day YYYY-MM-DD [--dry-run]
 *       [--out-dir DIR] ...
 *
 * closes the day the same way and sends its reports now: every
 * destination not yet delivered is tried once, whatever its back-off
 * (each try counts towards the bound). --out-dir (or --dry-run) writes
 * what would be sent instead. Exit status 0: every report delivered or
 * with nowhere to go; 3: some wait for a retry; 1: something failed or
 * was given up.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "td.h"

#define EXIT_FAIL    1
#define EXIT_USAGE   2
#define EXIT_PENDING 3

/* What both commands share: the day, the store, the fleet. */
struct run {
    const struct td_config *cfg;
    int64_t day;
    struct td_store *store;
    struct td_fleet *fleet;
    int lock_fd;
};

static void
run_end(struct run *r)
{
    td_fleet_close(r->fleet);
    td_store_close(r->store);
    if (r->lock_fd >= 0)
        close(r->lock_fd);
}

static int
run_start(struct run *r, const struct td_config *cfg, const char *day_s,
          int lock)
{
    char err[600], path[4200];

    memset(r, 0, sizeof(*r));
    r->cfg = cfg;
    r->lock_fd = -1;
    td_log_open(0);
    r->day = td_day_parse(day_s);
    if (r->day < 0) {
        fprintf(stderr, "mtasts-tlsrptd: --day %s: expected YYYY-MM-DD\n",
                day_s);
        return EXIT_USAGE;
    }
    if (cfg->org == NULL || cfg->contact == NULL) {
        fprintf(stderr, "mtasts-tlsrptd: reports need --org and --contact "
                        "(or organization_name and contact_info in the "
                        "configuration file)\n");
        return EXIT_USAGE;
    }
    if (td_store_open(cfg->store, &r->store, err, sizeof(err)) != 0) {
        fprintf(stderr, "mtasts-tlsrptd: %s\n", err);
        return EXIT_FAIL;
    }
    if (lock) {
        /* one sender at a time per store: the collector's sender thread
         * takes the same lock */
        snprintf(path, sizeof(path), "%s/tlsrptd-send.lock", cfg->store);
        r->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (r->lock_fd < 0 || flock(r->lock_fd, LOCK_EX) != 0) {
            fprintf(stderr, "mtasts-tlsrptd: cannot lock %s: %s\n", path,
                    strerror(errno));
            return EXIT_FAIL;
        }
    }
    if (cfg->redis != NULL &&
        td_fleet_open(cfg, cfg->host_id, 1, &r->fleet, err, sizeof(err)) != 0) {
        fprintf(stderr, "mtasts-tlsrptd: %s\n", err);
        return EXIT_FAIL;
    }
    return 0;
}

static int
make_dir(const char *dir)
{
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "mtasts-tlsrptd: cannot make %s: %s\n", dir,
                strerror(errno));
        return -1;
    }
    return 0;
}

int
td_report_run(const struct td_config *cfg, const char *day_s,
              const char *out_dir)
{
    struct run r;
    struct td_report *all = NULL;
    struct td_close_info info;
    struct td_sender s;
    char path[4200], name[MTASTS_DOMAIN_MAX_LEN + 8];
    size_t n = 0, i;
    int status;

    if ((status = run_start(&r, cfg, day_s, 1)) != 0) {
        run_end(&r);
        return status;
    }
    status = EXIT_FAIL;
    if (make_dir(out_dir) != 0)
        goto out;
    if (td_day_close(cfg, r.store, r.fleet, r.day, 0, (int64_t)time(NULL), &all,
                     &n, &info) != 0)
        goto out;
    if (!info.found && n == 0) {
        fprintf(stderr, "mtasts-tlsrptd: no results stored for %s\n", day_s);
        status = 0;
        goto out;
    }
    for (i = 0; i < n; i++) {
        snprintf(name, sizeof(name), "%s.json", all[i].domain);
        if (td_write_file(out_dir, name, all[i].json, all[i].len, path,
                          sizeof(path)) != 0) {
            fprintf(stderr, "mtasts-tlsrptd: cannot write %s/%s: %s\n", out_dir,
                    name, strerror(errno));
            goto out;
        }
        printf("%s\t%s\t%s\n", all[i].domain, all[i].report_id, path);
    }
    if (cfg->dry_run) {
        /* what would be sent, beside the reports */
        if (td_sender_init(&s, cfg, r.store, r.fleet) != 0)
            goto out;
        s.dry_run = 1;
        s.out_dir = out_dir;
        s.to_stdout = 1;
        if (td_send_reports(&s, r.day, all, n, (int64_t)time(NULL)) < 0) {
            td_sender_fini(&s);
            goto out;
        }
        td_sender_fini(&s);
    }
    if (r.fleet != NULL)
        fprintf(stderr,
                "mtasts-tlsrptd: %s: %zu reports (%zu made now, %zu before) "
                "from %zu host(s) of the fleet\n",
                day_s, n, info.made, info.before, info.hosts);
    else
        fprintf(stderr,
                "mtasts-tlsrptd: %s: %zu reports (%zu made now, %zu before), "
                "%llu sessions stored for the day\n",
                day_s, n, info.made, info.before,
                (unsigned long long)info.sessions);
    status = fflush(stdout) == 0 ? 0 : EXIT_FAIL;
out:
    td_store_reports_free(all, n);
    run_end(&r);
    return status;
}

int
td_send_run(const struct td_config *cfg, const char *day_s)
{
    struct run r;
    struct td_report *all = NULL;
    struct td_close_info info;
    struct td_sender s;
    size_t n = 0;
    int64_t next = -1;
    int status, inited = 0;

    if ((status = run_start(&r, cfg, day_s, 1)) != 0) {
        run_end(&r);
        return status;
    }
    status = EXIT_FAIL;
    if (cfg->out_dir != NULL && make_dir(cfg->out_dir) != 0)
        goto out;
    if (td_day_close(cfg, r.store, r.fleet, r.day, 0, (int64_t)time(NULL), &all,
                     &n, &info) != 0)
        goto out;
    if (td_sender_init(&s, cfg, r.store, r.fleet) != 0)
        goto out;
    inited = 1;
    s.dry_run = cfg->dry_run || cfg->out_dir != NULL;
    s.out_dir = cfg->out_dir;
    s.now_all = 1;
    s.to_stdout = 1;
    next = td_send_reports(&s, r.day, all, n, (int64_t)time(NULL));
    if (next == 0 && !s.dry_run && td_store_day_finish(r.store, r.day) != 0)
        td_log(TD_LOG_ERR, "%s", td_store_error(r.store));
    if (s.dry_run)
        fprintf(stderr,
                "mtasts-tlsrptd: %s: %zu reports; %u destination(s) %s, "
                "%u report(s) with nowhere to go\n",
                day_s, n, s.written,
                cfg->out_dir != NULL ? "written" : "listed", s.norua);
    else
        fprintf(stderr,
                "mtasts-tlsrptd: %s: %zu reports (%zu made now): %u "
                "delivered, %u waiting for a retry, %u given up, %u with "
                "nowhere to go, %u by another host\n",
                day_s, n, info.made, s.delivered, s.pending, s.failed, s.norua,
                s.elsewhere);
    if (fflush(stdout) != 0 || next < 0 || s.failed > 0)
        status = EXIT_FAIL;
    else if (next > 0 && !s.dry_run)
        status = EXIT_PENDING;
    else
        status = 0;
out:
    if (inited)
        td_sender_fini(&s);
    td_store_reports_free(all, n);
    run_end(&r);
    return status;
}
