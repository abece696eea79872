/*
 * mtasts decide [--json] [--tls OUTCOME] [--dane pass|fail] FILE|- MX...
 * mtasts decide --postfix VERSION --domain DOMAIN [--json]
 *     FILE|- | --no-policy | --temp
 *
 * The delivery decision for each MX under a policy, or the Postfix
 * smtp_tls_policy_maps socketmap answer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mtasts.h"
#include "text.h"
#include "tool.h"

/* mtasts decide --postfix: the smtp_tls_policy_maps socketmap answer for
 * the stated Postfix version, one line. A policy that does not parse is
 * an error (exit 1, nothing printed to stdout): the caller decides. */
static int
decide_postfix(mtasts_ctx *ctx, const struct opts *o)
{
    struct mtasts_diag d = MTASTS_DIAG_INIT;
    mtasts_policy *pol = NULL;
    char *buf = NULL, *ans;
    uint32_t ver;
    size_t off = 0, need = 0;
    int rc, ret = EXIT_INVALID;

    if (o->domain == NULL || o->no_policy + o->temp > 1 ||
        o->argc != (o->no_policy || o->temp ? 0 : 1)) {
        usage();
        return EXIT_USAGE;
    }
    if (mtasts_postfix_version_parse(o->postfix, strlen(o->postfix), &ver,
                                     &off) != MTASTS_OK) {
        fprintf(stderr,
                "mtasts: --postfix %s: bad version at offset %zu "
                "(expected MAJOR.MINOR.PATCH or MAJOR.MINOR-YYYYMMDD)\n",
                o->postfix, off);
        return EXIT_USAGE;
    }
    if (o->argc == 1) {
        if (load_policy(ctx, o->argv[0], o->flags, &pol, &d, &rc, &buf) != 0)
            return EXIT_USAGE;
        if (rc != MTASTS_OK) {
            fprintf(stderr, "mtasts: %s: policy invalid: %s at offset %zu\n",
                    o->argv[0], mtasts_reason_message(d.reason), d.offset);
            free(buf);
            return EXIT_INVALID;
        }
    }
    rc = mtasts_postfix_answer_format(pol, o->domain, strlen(o->domain), ver,
                                      o->temp ? MTASTS_POSTFIX_F_TEMP : 0, NULL,
                                      0, &need);
    if (rc != MTASTS_ERANGE && rc != MTASTS_OK) {
        fprintf(stderr, "mtasts: --domain %s: %s\n", o->domain,
                mtasts_strerror(rc));
        goto out;
    }
    ans = malloc(need + 1);
    if (ans == NULL) {
        fputs("mtasts: out of memory\n", stderr);
        ret = EXIT_USAGE;
        goto out;
    }
    rc = mtasts_postfix_answer_format(pol, o->domain, strlen(o->domain), ver,
                                      o->temp ? MTASTS_POSTFIX_F_TEMP : 0, ans,
                                      need + 1, NULL);
    if (rc == MTASTS_OK) {
        if (o->json) {
            fputs("{\"postfix_version\":", stdout);
            json_cstr(o->postfix);
            fputs(",\"answer\":", stdout);
            json_cstr(ans);
            fputs("}\n", stdout);
        } else {
            printf("%s\n", ans);
        }
        ret = 0;
    }
    free(ans);
out:
    mtasts_policy_free(pol);
    free(buf);
    return ret;
}

int
cmd_decide(mtasts_ctx *ctx, int argc, char **argv)
{
    struct mtasts_diag d = MTASTS_DIAG_INIT;
    mtasts_policy *pol = NULL;
    struct opts o;
    const char *rtn;
    char *buf;
    int rc, i, action, rt, reason;

    if (parse_opts(argc, argv, 2, &o) < 0)
        return EXIT_USAGE;
    if (o.postfix != NULL)
        return decide_postfix(ctx, &o);
    if (o.argc < 2 || o.domain != NULL || o.no_policy || o.temp) {
        usage();
        return EXIT_USAGE;
    }
    if (load_policy(ctx, o.argv[0], o.flags, &pol, &d, &rc, &buf) != 0)
        return EXIT_USAGE;
    print_status(&o, "policy", rc, &d);
    if (o.json)
        printf(",\"mode\":%s%s%s,\"decisions\":", pol ? "\"" : "",
               pol ? mtasts_mode_name(mtasts_policy_mode(pol)) : "null",
               pol ? "\"" : "");
    if (pol == NULL) {
        if (o.json)
            fputs("null}\n", stdout);
        free(buf);
        return EXIT_INVALID;
    }
    if (o.json)
        putchar('[');
    else
        printf("mode: %s\n", mtasts_mode_name(mtasts_policy_mode(pol)));
    for (i = 1; i < o.argc; i++) {
        (void)mtasts_decide(pol, o.argv[i], strlen(o.argv[i]), o.tls, o.dane, 0,
                            &action, &rt, &reason);
        rtn = mtasts_result_type_name(rt);
        if (o.json) {
            if (i > 1)
                putchar(',');
            fputs("{\"host\":", stdout);
            json_cstr(o.argv[i]);
            printf(",\"action\":\"%s\",\"result_type\":",
                   action == MTASTS_DELIVER ? "deliver" : "skip");
            if (rtn != NULL)
                printf("\"%s\"", rtn);
            else
                fputs("null", stdout);
            printf(",\"reason\":\"%s\"}", mtasts_decide_reason_name(reason));
        } else {
            text_puts(stdout, o.argv[i]);
            printf(": %s (%s%s%s)\n",
                   action == MTASTS_DELIVER ? "deliver" : "skip",
                   mtasts_decide_reason_name(reason), rtn ? ", report " : "",
                   rtn ? rtn : "");
        }
    }
    if (o.json)
        fputs("]}\n", stdout);
    mtasts_policy_free(pol);
    free(buf);
    return 0;
}
