/*
 * mtasts-net: the network commands of the mtasts tool, lookup and check
 * (cmd_lookup.c, cmd_check.c, net_tool.c), built with libmtasts-net
 * (MTASTS_TOOL_NET). It is a program of its own so that mtasts does not
 * link libmtasts-net and its libraries (libcurl, OpenSSL, c-ares); mtasts
 * runs it (exec.c) with its own arguments, argv[0] included:
 *
 *   mtasts-net lookup ARG...
 *   mtasts-net check ARG...
 *
 * It is installed in libexecdir/mtasts, not on the PATH. The exit status
 * is the command's (mtasts(1), EXIT STATUS); 2 for anything else.
 */
#include <stdio.h>
#include <string.h>

#include "mtasts.h"
#include "tool.h"

int
main(int argc, char **argv)
{
    mtasts_ctx *ctx = NULL;
    int rc, lookup;

    if (argc < 2 ||
        (strcmp(argv[1], "lookup") != 0 && strcmp(argv[1], "check") != 0)) {
        fputs("usage: mtasts-net lookup|check ARG... (run by mtasts lookup "
              "and mtasts check: see mtasts(1))\n",
              stderr);
        return EXIT_USAGE;
    }
    lookup = strcmp(argv[1], "lookup") == 0;
    if (mtasts_ctx_new(NULL, &ctx) != MTASTS_OK) {
        fputs("mtasts: out of memory\n", stderr);
        return EXIT_USAGE;
    }
    if (lookup)
        rc = cmd_lookup(ctx, argc - 2, argv + 2);
    else
        rc = cmd_check(ctx, argc - 2, argv + 2);
    mtasts_ctx_free(ctx);
    return rc;
}
