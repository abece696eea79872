/*
 * mtasts record parse [--strict] [--json] TEXT | -f FILE
 * mtasts tlsrpt-record parse [--strict] [--json] TEXT | -f FILE
 *
 * The MTA-STS (RFC 8461 section 3.1) and TLSRPT (RFC 8460 section 3)
 * TXT records.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mtasts.h"
#include "text.h"
#include "tool.h"

/* The TXT record of a record parse command: the one positional argument,
 * or the contents of -f FILE without its final newline. Returns 0, or
 * EXIT_USAGE after printing why. */
static int
record_text(mtasts_ctx *ctx, const struct opts *o, const char **ret_text,
            size_t *ret_len, char **ret_buf)
{
    char *buf;
    size_t len;

    *ret_buf = NULL;
    if (o->file != NULL ? o->argc != 0 : o->argc != 1) {
        usage();
        return EXIT_USAGE;
    }
    if (o->file == NULL) {
        *ret_text = o->argv[0];
        *ret_len = strlen(o->argv[0]);
        return 0;
    }
    buf = read_file(o->file, mtasts_ctx_get_limit(ctx, MTASTS_LIMIT_TXT_SIZE),
                    &len);
    if (buf == NULL)
        return EXIT_USAGE;
    /* A file holds one record; a final newline is not part of it. */
    if (len > 0 && buf[len - 1] == '\n')
        len--;
    if (len > 0 && buf[len - 1] == '\r')
        len--;
    *ret_text = buf;
    *ret_len = len;
    *ret_buf = buf;
    return 0;
}

int
cmd_record_parse(mtasts_ctx *ctx, int argc, char **argv)
{
    struct mtasts_diag d = MTASTS_DIAG_INIT;
    mtasts_sts_record *rec = NULL;
    struct opts o;
    const char *text, *id, *n, *v;
    char *buf = NULL;
    size_t len, idl, nl, vl, i;
    int rc;

    if (parse_opts(argc, argv, 1, &o) < 0)
        return EXIT_USAGE;
    if (record_text(ctx, &o, &text, &len, &buf) != 0)
        return EXIT_USAGE;
    rc = mtasts_sts_record_parse(ctx, text, len, o.flags, &rec, &d);
    if (rc == MTASTS_ENOMEM) {
        fputs("mtasts: out of memory\n", stderr);
        free(buf);
        return EXIT_USAGE;
    }
    print_status(&o, "record", rc, &d);
    if (o.json)
        fputs(",\"id\":", stdout);
    if (rec != NULL) {
        id = mtasts_sts_record_id(rec, &idl);
        if (o.json) {
            json_str(id, idl);
            fputs(",\"extensions\":[", stdout);
        } else {
            text_field(stdout, "id", id, idl);
        }
        for (i = 0; i < mtasts_sts_record_ext_count(rec); i++) {
            (void)mtasts_sts_record_ext(rec, i, &n, &nl, &v, &vl);
            print_ext(n, nl, v, vl, o.json, i == 0);
        }
        if (o.json)
            fputs("]}\n", stdout);
    } else if (o.json) {
        fputs("null,\"extensions\":null}\n", stdout);
    }
    mtasts_sts_record_free(rec);
    free(buf);
    return rc == MTASTS_OK ? 0 : EXIT_INVALID;
}

static const char *
rua_kind_name(int kind)
{
    switch (kind) {
    case MTASTS_RUA_MAILTO:
        return "mailto";
    case MTASTS_RUA_HTTPS:
        return "https";
    default:
        return "other";
    }
}

int
cmd_tlsrpt_record_parse(mtasts_ctx *ctx, int argc, char **argv)
{
    struct mtasts_diag d = MTASTS_DIAG_INIT;
    mtasts_tlsrpt_record *rec = NULL;
    struct opts o;
    const char *text, *u, *t, *n, *v;
    char *buf = NULL;
    size_t len, ul, tl, nl, vl, i;
    int rc, kind;

    if (parse_opts(argc, argv, 1, &o) < 0)
        return EXIT_USAGE;
    if (record_text(ctx, &o, &text, &len, &buf) != 0)
        return EXIT_USAGE;
    rc = mtasts_tlsrpt_record_parse(ctx, text, len, o.flags, &rec, &d);
    if (rc == MTASTS_ENOMEM) {
        fputs("mtasts: out of memory\n", stderr);
        free(buf);
        return EXIT_USAGE;
    }
    print_status(&o, "tlsrpt-record", rc, &d);
    if (rec == NULL) {
        if (o.json)
            fputs(",\"rua\":null,\"extensions\":null}\n", stdout);
        free(buf);
        return EXIT_INVALID;
    }
    if (o.json)
        fputs(",\"rua\":[", stdout);
    for (i = 0; i < mtasts_tlsrpt_record_rua_count(rec); i++) {
        u = mtasts_tlsrpt_record_rua(rec, i, &ul);
        kind = mtasts_tlsrpt_record_rua_kind(rec, i);
        t = mtasts_tlsrpt_record_rua_target(rec, i, &tl);
        if (o.json) {
            if (i > 0)
                putchar(',');
            fputs("{\"uri\":", stdout);
            json_str(u, ul);
            printf(",\"kind\":\"%s\",\"target\":", rua_kind_name(kind));
            if (t != NULL)
                json_str(t, tl);
            else
                fputs("null", stdout);
            putchar('}');
        } else {
            fputs("rua: ", stdout);
            text_put(stdout, u, ul);
            if (t != NULL) {
                printf(" (%s: ", rua_kind_name(kind));
                text_put(stdout, t, tl);
                puts(")");
            } else {
                puts(" (unusable)");
            }
        }
    }
    if (o.json)
        fputs("],\"extensions\":[", stdout);
    for (i = 0; i < mtasts_tlsrpt_record_ext_count(rec); i++) {
        (void)mtasts_tlsrpt_record_ext(rec, i, &n, &nl, &v, &vl);
        print_ext(n, nl, v, vl, o.json, i == 0);
    }
    if (o.json)
        fputs("]}\n", stdout);
    mtasts_tlsrpt_record_free(rec);
    free(buf);
    return 0;
}
