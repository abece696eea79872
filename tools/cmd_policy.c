/*
 * mtasts policy parse [--strict] [--json] FILE|-
 * mtasts policy check [--strict] [--json] FILE|- HOST...
 * mtasts match PATTERN HOST
 *
 * The policy file (RFC 8461 section 3.2) and MX matching (section 4.1);
 * load_policy() also serves decide and cache (print_policy_fields(), the
 * fields of a policy, is in tool.c: lookup and check print them too).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mtasts.h"
#include "text.h"
#include "tool.h"

/* Read and parse the policy file at path. Returns 0 with *ret_buf holding
 * the bytes (free it) and *ret_rc the parse status, or EXIT_USAGE after
 * printing why. */
int
load_policy(mtasts_ctx *ctx, const char *path, unsigned flags,
            mtasts_policy **ret_pol, struct mtasts_diag *d, int *ret_rc,
            char **ret_buf)
{
    size_t len;
    char *buf;

    buf = read_file(path, mtasts_ctx_get_limit(ctx, MTASTS_LIMIT_POLICY_SIZE),
                    &len);
    if (buf == NULL)
        return EXIT_USAGE;
    *ret_rc = mtasts_policy_parse(ctx, buf, len, flags, ret_pol, d);
    if (*ret_rc == MTASTS_ENOMEM) {
        fputs("mtasts: out of memory\n", stderr);
        free(buf);
        return EXIT_USAGE;
    }
    *ret_buf = buf;
    return 0;
}

int
cmd_policy(mtasts_ctx *ctx, int check, int argc, char **argv)
{
    struct mtasts_diag d = MTASTS_DIAG_INIT;
    mtasts_policy *pol = NULL;
    struct opts o;
    char *buf;
    int rc, i, all = 1, allowed;

    if (parse_opts(argc, argv, 0, &o) < 0)
        return EXIT_USAGE;
    if (check ? o.argc < 2 : o.argc != 1) {
        usage();
        return EXIT_USAGE;
    }
    if (load_policy(ctx, o.argv[0], o.flags, &pol, &d, &rc, &buf) != 0)
        return EXIT_USAGE;
    print_status(&o, "policy", rc, &d);
    print_policy_fields(pol, o.json);
    if (check) {
        if (o.json)
            fputs(",\"hosts\":[", stdout);
        for (i = 1; i < o.argc; i++) {
            allowed =
                mtasts_policy_mx_allowed(pol, o.argv[i], strlen(o.argv[i]));
            all &= allowed;
            if (o.json) {
                if (i > 1)
                    putchar(',');
                fputs("{\"host\":", stdout);
                json_cstr(o.argv[i]);
                printf(",\"allowed\":%s}", allowed ? "true" : "false");
            } else {
                text_puts(stdout, o.argv[i]);
                printf(": %s\n", allowed ? "allowed" : "not allowed");
            }
        }
        if (o.json)
            putchar(']');
    }
    if (o.json)
        fputs("}\n", stdout);
    mtasts_policy_free(pol);
    free(buf);
    if (rc != MTASTS_OK)
        return EXIT_INVALID;
    return all ? 0 : EXIT_INVALID;
}

int
cmd_match(int argc, char **argv)
{
    int m;

    if (argc != 2) {
        usage();
        return EXIT_USAGE;
    }
    m = mtasts_mx_match(argv[0], strlen(argv[0]), argv[1], strlen(argv[1]));
    printf("%s\n", m ? "match" : "no match");
    return m ? 0 : EXIT_INVALID;
}
