/*
 * mtasts-tlsrptd: a TLSRPT collector that takes libtlsrpt's datagrams
 * where tlsrpt-collectd does, and closes days into RFC 8460 reports.
 *
 *   mtasts-tlsrptd [--config FILE] [--socket PATH] [--store DIR]
 *       [--foreground] [other settings]
 *   mtasts-tlsrptd report --store DIR --day YYYY-MM-DD --out-dir DIR
 *       [--dry-run] [--org NAME] [--contact ADDR] [--config FILE] [...]
 *   mtasts-tlsrptd send --store DIR --day YYYY-MM-DD [--dry-run]
 *       [--out-dir DIR] [...]
 *
 * See mtasts-tlsrptd(8). Exit status: 0, 1 (a failure), 2 (usage), 3
 * (send: deliveries wait for a retry).
 */
#include <stdio.h>
#include <string.h>

#include "mtasts.h"
#include "td.h"

static void
usage(FILE *f)
{
    fputs("usage: mtasts-tlsrptd [--config FILE] [--socket PATH] "
          "[--store DIR] [--foreground]\n"
          "           [--socket-user USER] [--socket-group GROUP] "
          "[--socket-mode MODE]\n"
          "           [--flush-interval SECONDS] [--dump-file FILE] "
          "[--pid-file FILE]\n"
          "           [--max-memory SIZE] [report and delivery settings]\n"
          "       mtasts-tlsrptd report --store DIR --day YYYY-MM-DD "
          "--out-dir DIR [--dry-run]\n"
          "           [--org NAME] [--contact ADDR] [--config FILE] "
          "[delivery settings]\n"
          "       mtasts-tlsrptd send --store DIR --day YYYY-MM-DD "
          "[--dry-run] [--out-dir DIR]\n"
          "           [--org NAME] [--contact ADDR] [--config FILE] "
          "[delivery settings]\n"
          "       mtasts-tlsrptd --help | --version\n"
          "report and delivery settings: --org NAME --contact ADDR "
          "--from ADDR\n"
          "  --spread-window SECONDS --retention DAYS --sendmail "
          "'PATH [ARG...]'\n"
          "  --retry-interval SECONDS --timeout SECONDS --https-verify "
          "yes|no --send yes|no\n"
          "  --dns-server IP[:PORT] --ca-file FILE --connect-to "
          "HOST:PORT:HOST2:PORT2\n"
          "  --out-dir DIR --redis HOST:PORT|unix:PATH --redis-prefix "
          "PREFIX --host-id NAME\n"
          "  --claim-ttl SECONDS --fleet-wait SECONDS\n",
          f);
}

/* The settings each command takes on its command line. */
#define REPORT_OPTS                                                         \
    "store", "org", "contact", "organization-name", "contact-info", "from", \
        "dns-server", "ca-file", "connect-to", "timeout", "redis",          \
        "redis-prefix", "host-id", "out-dir"
#define SEND_OPTS \
    "sendmail", "retry-interval", "https-verify", "claim-ttl", "retention"
static const char *const daemon_opts[] = {
    "socket",         "socket-user", "socket-group", "socket-mode",
    "flush-interval", "dump-file",   "pid-file",     "max-memory",
    "spread-window",  "send",        "fleet-wait",   REPORT_OPTS,
    SEND_OPTS,        NULL};
static const char *const report_opts[] = {REPORT_OPTS, NULL};
static const char *const send_opts[] = {REPORT_OPTS, SEND_OPTS, NULL};

static int
allowed(const char *const *list, const char *name)
{
    for (; *list != NULL; list++)
        if (strcmp(*list, name) == 0)
            return 1;
    return 0;
}

/* argv[i] as "--name=value" or "--name value": name into buf, the value
 * returned (NULL when missing); *i moves past what was used. */
static const char *
option(int argc, char **argv, int *i, char *buf, size_t len)
{
    const char *a = argv[*i] + 2, *eq = strchr(a, '=');
    size_t n = eq != NULL ? (size_t)(eq - a) : strlen(a);

    if (n >= len)
        n = len - 1;
    memcpy(buf, a, n);
    buf[n] = '\0';
    if (eq != NULL)
        return eq + 1;
    if (*i + 1 >= argc)
        return NULL;
    return argv[++*i];
}

int
main(int argc, char **argv)
{
    struct td_config cfg;
    const char *const *opts = daemon_opts;
    const char *value, *day = NULL, *cmd = NULL;
    char name[64];
    int report = 0, first = 1, i, status;

    if (argc > 1 &&
        (strcmp(argv[1], "report") == 0 || strcmp(argv[1], "send") == 0)) {
        report = 1;
        cmd = argv[1];
        opts = cmd[0] == 'r' ? report_opts : send_opts;
        first = 2;
    }
    td_config_init(&cfg);
    /* the configuration file first: the command line wins */
    for (i = first; i < argc; i++)
        if (strcmp(argv[i], "--config") == 0 ||
            strncmp(argv[i], "--config=", 9) == 0) {
            value = option(argc, argv, &i, name, sizeof(name));
            if (value == NULL) {
                usage(stderr);
                return 2;
            }
            if (td_config_read(&cfg, value) != 0) {
                td_config_free(&cfg);
                return 2;
            }
        }
    for (i = first; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            td_config_free(&cfg);
            return 0;
        }
        if (strcmp(argv[i], "--version") == 0) {
            printf("mtasts-tlsrptd (libmtasts %s)\n", mtasts_version(NULL));
            td_config_free(&cfg);
            return 0;
        }
        if (!report && strcmp(argv[i], "--foreground") == 0) {
            cfg.foreground = 1;
            continue;
        }
        if (report && strcmp(argv[i], "--dry-run") == 0) {
            cfg.dry_run = 1;
            continue;
        }
        if (strncmp(argv[i], "--", 2) != 0) {
            fprintf(stderr, "mtasts-tlsrptd: unexpected argument %s\n",
                    argv[i]);
            goto usage;
        }
        value = option(argc, argv, &i, name, sizeof(name));
        if (value == NULL) {
            fprintf(stderr, "mtasts-tlsrptd: --%s needs a value\n", name);
            goto usage;
        }
        if (strcmp(name, "config") == 0)
            continue;
        if (report && strcmp(name, "day") == 0)
            day = value;
        else if (!allowed(opts, name)) {
            fprintf(stderr, "mtasts-tlsrptd: unknown option --%s%s%s\n", name,
                    report ? " for " : "", report ? cmd : "");
            goto usage;
        } else if (td_config_set(&cfg, name, value, "command line") != 0)
            goto usage;
    }
    if (cfg.host_id == NULL)
        cfg.host_id = td_config_host(&cfg);
    /* libcurl's global state, before any thread starts */
    if (td_net_global_init() != 0) {
        fprintf(stderr, "mtasts-tlsrptd: cannot initialise libcurl\n");
        td_config_free(&cfg);
        return 1;
    }
    if (report && cmd[0] == 'r') {
        if (day == NULL || cfg.out_dir == NULL) {
            fprintf(stderr, "mtasts-tlsrptd: report needs --day and "
                            "--out-dir\n");
            goto usage;
        }
        status = td_report_run(&cfg, day, cfg.out_dir);
    } else if (report) {
        if (day == NULL) {
            fprintf(stderr, "mtasts-tlsrptd: send needs --day\n");
            goto usage;
        }
        status = td_send_run(&cfg, day);
    } else
        status = td_daemon_run(&cfg);
    td_config_free(&cfg);
    return status;
usage:
    usage(stderr);
    td_config_free(&cfg);
    return 2;
}
