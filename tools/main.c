/*
 * mtasts: command-line front end to libmtasts.
 *
 *   mtasts record parse [--strict] [--json] TEXT | -f FILE
 *   mtasts tlsrpt-record parse [--strict] [--json] TEXT | -f FILE
 *   mtasts policy parse [--strict] [--json] FILE|-
 *   mtasts policy check [--strict] [--json] FILE|- HOST...
 *   mtasts match PATTERN HOST
 *   mtasts decide [--json] [--tls OUTCOME] [--dane pass|fail] FILE|- MX...
 *   mtasts decide --postfix VERSION --domain DOMAIN [--json]
 *       FILE|- | --no-policy | --temp
 *   mtasts cache dump [--json] FILE|-
 *   mtasts report parse [--strict] [--json | --canonical] [--dkim-pass] FILE|-
 *   mtasts report build --org ORG --contact ADDR --day YYYY-MM-DD ... FILE|-
 *   mtasts lookup [--json] [--probe] [--postfix VERSION] [--cache FILE]
 *       [--dns-server IP[:PORT]]... [--ca-file FILE]
 *       [--connect-to HOST:PORT:HOST2:PORT2]... [--timeout SECONDS]
 *       DOMAIN [MX...]
 *   mtasts check [--json] [--dns-server ...] [--ca-file FILE]
 *       [--connect-to ...] [--timeout SECONDS] DOMAIN
 *   mtasts version
 *
 * One file per command group: this file holds the dispatch and the
 * usage message; tool.c what the commands share (declared in tool.h);
 * cmd_record.c record and tlsrpt-record parse; cmd_policy.c policy parse
 * and check, and match; cmd_decide.c decide, --postfix included;
 * cmd_cache.c cache dump; cmd_report.c report parse; cmd_report_build.c
 * report build. text.c is the one escaping printer for text output.
 *
 * lookup and check, the live commands (cmd_lookup.c, cmd_check.c, with
 * what they share in net_tool.c), need libmtasts-net (libcurl, OpenSSL,
 * c-ares): they are a program of their own, mtasts-net (net_main.c),
 * which this one runs with the same arguments (exec.c), so that the other
 * commands neither load nor pay for those libraries. This program has
 * the two commands built without MTASTS_TOOL_NET: when mtasts-net is not
 * there they check their arguments as usual and then say so (exit 4).
 *
 * Exit status: 0 valid or lenient (or match), 1 invalid (or no match),
 * 2 usage or I/O error; lookup and check have their own (cmd_lookup.c,
 * cmd_check.c).
 *
 * Every string from input (a file, a record, a host name, an argument)
 * reaches human-readable output through text_put() (text.c), which
 * escapes control characters, with its length: an embedded NUL shows as
 * \u0000. The --json output escapes as JSON does (json_str()).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mtasts.h"
#include "tool.h"

void
usage(void)
{
    fputs("usage: mtasts record parse [--strict] [--json] TEXT\n"
          "       mtasts record parse [--strict] [--json] -f FILE\n"
          "       mtasts tlsrpt-record parse [--strict] [--json] TEXT\n"
          "       mtasts tlsrpt-record parse [--strict] [--json] -f FILE\n"
          "       mtasts policy parse [--strict] [--json] FILE|-\n"
          "       mtasts policy check [--strict] [--json] FILE|- HOST...\n"
          "       mtasts match PATTERN HOST\n"
          "       mtasts decide [--json] [--tls OUTCOME] [--dane pass|fail] "
          "FILE|- MX...\n"
          "       mtasts decide --postfix VERSION --domain DOMAIN [--json]\n"
          "           FILE|- | --no-policy | --temp\n"
          "       mtasts cache dump [--json] FILE|-\n"
          "       mtasts report parse [--strict] [--json | --canonical] "
          "[--dkim-pass] FILE|-\n"
          "       mtasts report build --org ORG --contact ADDR "
          "--day YYYY-MM-DD\n"
          "           [--report-id ID | --random N] [--domain D]\n"
          "           [--json [--pretty] | --mail --from A --to B "
          "--date DATE --message-id ID [--gzip]\n"
          "            | --https [--gzip] -o FILE] SESSIONS|-\n"
          "       mtasts lookup [--json] [--probe] [--postfix VERSION] "
          "[--cache FILE]\n"
          "           [--dns-server IP[:PORT]]... [--ca-file FILE]\n"
          "           [--connect-to HOST:PORT:HOST2:PORT2]... "
          "[--timeout SECONDS]\n"
          "           DOMAIN [MX...]\n"
          "       mtasts check [--json] [--dns-server IP[:PORT]]... "
          "[--ca-file FILE]\n"
          "           [--connect-to HOST:PORT:HOST2:PORT2]... "
          "[--timeout SECONDS] DOMAIN\n"
          "       mtasts version\n",
          stderr);
}

int
main(int argc, char **argv)
{
    mtasts_ctx *ctx = NULL;
    int rc;

    if (argc < 2) {
        usage();
        return EXIT_USAGE;
    }
    if (strcmp(argv[1], "version") == 0) {
        printf("mtasts %s\n", mtasts_version(NULL));
        return 0;
    }
    if (strcmp(argv[1], "match") == 0)
        return cmd_match(argc - 2, argv + 2);
    if (argc < 3) {
        usage();
        return EXIT_USAGE;
    }
    /* returns only when mtasts-net is not there (then the commands below
     * check their arguments and say so) */
    if (strcmp(argv[1], "lookup") == 0 || strcmp(argv[1], "check") == 0)
        net_exec(argv);
    if (mtasts_ctx_new(NULL, &ctx) != MTASTS_OK) {
        fputs("mtasts: out of memory\n", stderr);
        return EXIT_USAGE;
    }
    if (strcmp(argv[1], "record") == 0 && strcmp(argv[2], "parse") == 0) {
        rc = cmd_record_parse(ctx, argc - 3, argv + 3);
    } else if (strcmp(argv[1], "tlsrpt-record") == 0 &&
               strcmp(argv[2], "parse") == 0) {
        rc = cmd_tlsrpt_record_parse(ctx, argc - 3, argv + 3);
    } else if (strcmp(argv[1], "policy") == 0 &&
               strcmp(argv[2], "parse") == 0) {
        rc = cmd_policy(ctx, 0, argc - 3, argv + 3);
    } else if (strcmp(argv[1], "policy") == 0 &&
               strcmp(argv[2], "check") == 0) {
        rc = cmd_policy(ctx, 1, argc - 3, argv + 3);
    } else if (strcmp(argv[1], "decide") == 0) {
        rc = cmd_decide(ctx, argc - 2, argv + 2);
    } else if (strcmp(argv[1], "report") == 0 &&
               strcmp(argv[2], "parse") == 0) {
        rc = cmd_report_parse(ctx, argc - 3, argv + 3);
    } else if (strcmp(argv[1], "report") == 0 &&
               strcmp(argv[2], "build") == 0) {
        rc = cmd_report_build(ctx, argc - 3, argv + 3);
    } else if (strcmp(argv[1], "cache") == 0 && strcmp(argv[2], "dump") == 0) {
        rc = cmd_cache_dump(ctx, argc - 3, argv + 3);
    } else if (strcmp(argv[1], "lookup") == 0) {
        rc = cmd_lookup(ctx, argc - 2, argv + 2);
    } else if (strcmp(argv[1], "check") == 0) {
        rc = cmd_check(ctx, argc - 2, argv + 2);
    } else {
        usage();
        rc = EXIT_USAGE;
    }
    mtasts_ctx_free(ctx);
    net_exec_free();
    return rc;
}
