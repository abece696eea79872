/* What the files of the mtasts tool share; not installed. The helpers
 * are in tool.c unless said otherwise; each command returns the exit
 * status: 0, EXIT_INVALID or EXIT_USAGE. Strings from input reach
 * human-readable output through text_put() (text.h). */
#ifndef MTASTS_TOOL_H
#define MTASTS_TOOL_H

#include <stddef.h>

#include "mtasts.h"

#define EXIT_INVALID 1 /* invalid input (or no match) */
#define EXIT_USAGE   2 /* usage or I/O error */

/* The options of a command (parse_opts()). */
struct opts {
    int json;
    unsigned flags;
    int tls, dane;
    const char *file;
    const char *postfix, *domain; /* decide --postfix */
    int no_policy, temp;
    int argc;
    char **argv; /* positional arguments */
};

/* The usage message, to stderr. */
void usage(void);

/* Read a whole file, or stdin for "-", up to max bytes (and one more);
 * NULL after printing why. */
char *read_file(const char *path, size_t max, size_t *ret_len);

/* s[0..n) (or NUL-terminated s) as a JSON string, to stdout. */
void json_str(const char *s, size_t n);
void json_cstr(const char *s);
/* The names of the warning bits of w: a JSON array, or one
 * "warning: NAME" line each. */
void json_warnings(uint64_t w);
void text_warnings(uint64_t w);

/* The verdict, warnings and error of a parse (JSON members or text). */
void print_status(const struct opts *o, const char *what, int rc,
                  const struct mtasts_diag *d);

/* The options shared by the commands; -1 after printing why. */
int parse_opts(int argc, char **argv, int allow_f, struct opts *o);

/* One extension (name=value) of a record or policy. */
void print_ext(const char *name, size_t nl, const char *value, size_t vl,
               int json, int first);

/* cmd_policy.c: the fields of a policy, and a policy read from a file. */
void print_policy_fields(const mtasts_policy *p, int json);
int load_policy(mtasts_ctx *ctx, const char *path, unsigned flags,
                mtasts_policy **ret_pol, struct mtasts_diag *d, int *ret_rc,
                char **ret_buf);

/* The commands, each with its arguments after the command words. */
/* cmd_record.c */
int cmd_record_parse(mtasts_ctx *ctx, int argc, char **argv);
int cmd_tlsrpt_record_parse(mtasts_ctx *ctx, int argc, char **argv);
/* cmd_policy.c */
int cmd_policy(mtasts_ctx *ctx, int check, int argc, char **argv);
int cmd_match(int argc, char **argv);
/* cmd_decide.c */
int cmd_decide(mtasts_ctx *ctx, int argc, char **argv);
/* cmd_cache.c */
int cmd_cache_dump(mtasts_ctx *ctx, int argc, char **argv);
/* cmd_report.c */
int cmd_report_parse(mtasts_ctx *ctx, int argc, char **argv);
/* cmd_report_build.c */
int cmd_report_build(mtasts_ctx *ctx, int argc, char **argv);
/* cmd_lookup.c, cmd_check.c (exit statuses of their own: net_tool.h) */
int cmd_lookup(mtasts_ctx *ctx, int argc, char **argv);
int cmd_check(mtasts_ctx *ctx, int argc, char **argv);

/* exec.c, in mtasts only: run mtasts-net, the program of lookup and
 * check, with argv (all of it); returns only when it could not be run
 * (net_missing() then says why). net_exec_free() frees what it noted. */
void net_exec(char **argv);
void net_exec_free(void);

#endif
