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
 * One file per command group: this file holds the dispatch, the usage
 * message and what the commands share (declared in tool.h);
 * cmd_record.c record and tlsrpt-record parse; cmd_policy.c policy parse
 * and check, and match; cmd_decide.c decide, --postfix included;
 * cmd_cache.c cache dump; cmd_report.c report parse; cmd_report_build.c
 * report build; cmd_lookup.c lookup and cmd_check.c check, the live
 * commands, with what they share in net_tool.c (they need libmtasts-net:
 * MTASTS_TOOL_NET). text.c is the one escaping printer for text output.
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
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mtasts.h"
#include "text.h"
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

/* Read a whole file (or stdin for "-") into memory, up to max bytes. One
 * byte more than max is read so that an oversized input reaches the
 * library and gets its proper MTASTS_ETOOBIG diagnostic. The buffer grows
 * with the input (the limits are up to 128 MiB; most inputs are small). */
char *
read_file(const char *path, size_t max, size_t *ret_len)
{
    FILE *f;
    char *buf = NULL, *nb;
    size_t n = 0, cap = 0, got, lim;

    lim = max < SIZE_MAX - 1 ? max + 1 : SIZE_MAX - 1;
    f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (f == NULL) {
        const char *why = strerror(errno);
        fputs("mtasts: ", stderr);
        text_puts(stderr, path);
        fprintf(stderr, ": %s\n", why);
        return NULL;
    }
    for (;;) {
        if (n == cap) {
            if (cap == lim)
                break;
            cap = cap == 0 ? 65536 : cap > lim / 2 ? lim : cap * 2;
            if (cap > lim)
                cap = lim;
            nb = realloc(buf, cap + 1);
            if (nb == NULL) {
                fputs("mtasts: out of memory\n", stderr);
                free(buf);
                buf = NULL;
                goto out;
            }
            buf = nb;
        }
        got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (ferror(f)) {
            fputs("mtasts: ", stderr);
            text_puts(stderr, path);
            fputs(": read error\n", stderr);
            free(buf);
            buf = NULL;
            goto out;
        }
        if (got == 0 || feof(f))
            break;
    }
    buf[n] = '\0';
    *ret_len = n;
out:
    if (f != stdin)
        fclose(f);
    return buf;
}

/* JSON text must be UTF-8 (RFC 8259): well-formed UTF-8 is written as
 * is, and a byte that is not part of it (text from the network can hold
 * any byte) as U+FFFD, the replacement character. */
void
json_str(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i, k;

    putchar('"');
    for (i = 0; i < n; i++) {
        unsigned char c = u[i];
        if (c >= 0x80) {
            k = text_utf8_len(u, n, i);
            if (k == 0) {
                fputs("\\ufffd", stdout);
            } else {
                fwrite(u + i, 1, k, stdout);
                i += k - 1;
            }
            continue;
        }
        switch (c) {
        case '"':
            fputs("\\\"", stdout);
            break;
        case '\\':
            fputs("\\\\", stdout);
            break;
        case '\n':
            fputs("\\n", stdout);
            break;
        case '\r':
            fputs("\\r", stdout);
            break;
        case '\t':
            fputs("\\t", stdout);
            break;
        default:
            if (c < 0x20 || c == 0x7F)
                printf("\\u%04x", c);
            else
                putchar(c);
        }
    }
    putchar('"');
}

void
json_cstr(const char *s)
{
    json_str(s, strlen(s));
}

static const char *
verdict_of(int rc, uint64_t warnings)
{
    if (rc != MTASTS_OK)
        return "invalid";
    return warnings != 0 ? "lenient" : "valid";
}

/* Print "verdict", "warnings" and "error" members (JSON) or the human
 * summary lines for them. */
void
print_status(const struct opts *o, const char *what, int rc,
             const struct mtasts_diag *d)
{
    uint64_t w = d->warnings;
    int i, first = 1;

    if (o->json) {
        printf("{\"verdict\":\"%s\",\"warnings\":[", verdict_of(rc, w));
        for (i = 0; i < MTASTS_W_COUNT; i++) {
            if (w & MTASTS_WARN_BIT(i)) {
                if (!first)
                    putchar(',');
                json_cstr(mtasts_warning_name(i));
                first = 0;
            }
        }
        fputs("],\"error\":", stdout);
        if (rc == MTASTS_OK) {
            fputs("null", stdout);
        } else {
            printf("{\"code\":\"%s\",\"reason\":\"%s\",\"offset\":%zu,"
                   "\"line\":%zu,\"message\":",
                   mtasts_status_name(rc), mtasts_reason_name(d->reason),
                   d->offset, d->line);
            json_cstr(d->reason != MTASTS_R_NONE
                          ? mtasts_reason_message(d->reason)
                          : mtasts_strerror(rc));
            putchar('}');
        }
        return;
    }
    printf("%s: %s\n", what, verdict_of(rc, w));
    for (i = 0; i < MTASTS_W_COUNT; i++)
        if (w & MTASTS_WARN_BIT(i))
            printf("warning: %s\n", mtasts_warning_name(i));
    if (rc != MTASTS_OK)
        printf("error: %s (%s) at offset %zu, line %zu: %s\n",
               mtasts_status_name(rc), mtasts_reason_name(d->reason), d->offset,
               d->line,
               d->reason != MTASTS_R_NONE ? mtasts_reason_message(d->reason)
                                          : mtasts_strerror(rc));
}

static const char *const tls_names[] = {
    "not-tried", "ok",        "no-starttls", "host-mismatch",
    "expired",   "untrusted", "failed",
};

static int
tls_outcome(const char *s)
{
    int i;

    for (i = 0; i < (int)(sizeof(tls_names) / sizeof(tls_names[0])); i++)
        if (strcmp(s, tls_names[i]) == 0)
            return i;
    return -1;
}

/* Parse "--strict", "--json", "-f FILE" (allow_f 1) or "--tls", "--dane"
 * (allow_f 2); the rest is positional. */
int
parse_opts(int argc, char **argv, int allow_f, struct opts *o)
{
    int i;

    memset(o, 0, sizeof(*o));
    o->argv = argv;
    for (i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--strict") == 0) {
            o->flags |= MTASTS_PARSE_F_STRICT;
        } else if (strcmp(argv[i], "--json") == 0) {
            o->json = 1;
        } else if (allow_f == 1 && strcmp(argv[i], "-f") == 0 && i + 1 < argc) {
            o->file = argv[++i];
        } else if (allow_f == 2 && strcmp(argv[i], "--tls") == 0 &&
                   i + 1 < argc) {
            o->tls = tls_outcome(argv[++i]);
            if (o->tls < 0) {
                fputs("mtasts: unknown TLS outcome ", stderr);
                text_puts(stderr, argv[i]);
                fputc('\n', stderr);
                return -1;
            }
        } else if (allow_f == 2 && strcmp(argv[i], "--dane") == 0 &&
                   i + 1 < argc) {
            i++;
            if (strcmp(argv[i], "pass") == 0) {
                o->dane = MTASTS_DANE_PASS;
            } else if (strcmp(argv[i], "fail") == 0) {
                o->dane = MTASTS_DANE_FAIL;
            } else {
                fprintf(stderr, "mtasts: --dane takes pass or fail\n");
                return -1;
            }
        } else if (allow_f == 2 && strcmp(argv[i], "--postfix") == 0 &&
                   i + 1 < argc) {
            o->postfix = argv[++i];
        } else if (allow_f == 2 && strcmp(argv[i], "--domain") == 0 &&
                   i + 1 < argc) {
            o->domain = argv[++i];
        } else if (allow_f == 2 && strcmp(argv[i], "--no-policy") == 0) {
            o->no_policy = 1;
        } else if (allow_f == 2 && strcmp(argv[i], "--temp") == 0) {
            o->temp = 1;
        } else if (strcmp(argv[i], "--") == 0) {
            for (i++; i < argc; i++)
                o->argv[o->argc++] = argv[i];
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            fputs("mtasts: unknown option ", stderr);
            text_puts(stderr, argv[i]);
            fputc('\n', stderr);
            return -1;
        } else {
            o->argv[o->argc++] = argv[i];
        }
    }
    return 0;
}

void
print_ext(const char *name, size_t nl, const char *value, size_t vl, int json,
          int first)
{
    if (json) {
        if (!first)
            putchar(',');
        fputs("{\"name\":", stdout);
        json_str(name, nl);
        fputs(",\"value\":", stdout);
        json_str(value, vl);
        putchar('}');
    } else {
        fputs("extension: ", stdout);
        text_put(stdout, name, nl);
        putchar('=');
        text_put(stdout, value, vl);
        putchar('\n');
    }
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
    return rc;
}
