/* The `mtasts report build` subcommand (report_build.c). */
#ifndef MTASTS_TOOL_REPORT_BUILD_H
#define MTASTS_TOOL_REPORT_BUILD_H

#include "mtasts.h"

/* Run `report build` with its arguments (after "report build"); returns
 * the exit status: 0, 1 (bad input) or 2 (usage or I/O error). */
int mtasts_report_build(mtasts_ctx *ctx, int argc, char **argv);

#endif
