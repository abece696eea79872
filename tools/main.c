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
 *       (report_build.c)
 *   mtasts version
 *
 * Exit status: 0 valid or lenient (or match), 1 invalid (or no match),
 * 2 usage or I/O error.
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
#include "report_build.h"
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

void
json_str(const char *s, size_t n)
{
    size_t i;

    putchar('"');
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
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

void
print_policy_fields(const mtasts_policy *p, int json)
{
    const char *s, *n, *v;
    size_t l, nl, vl, i;

    if (p == NULL) {
        if (json)
            fputs(",\"version\":null,\"mode\":null,\"max_age\":null,"
                  "\"mx\":null,\"extensions\":null",
                  stdout);
        return;
    }
    s = mtasts_policy_version(p, &l);
    if (json) {
        fputs(",\"version\":", stdout);
        json_str(s, l);
        printf(",\"mode\":\"%s\",\"max_age\":%lu,\"mx\":[",
               mtasts_mode_name(mtasts_policy_mode(p)),
               (unsigned long)mtasts_policy_max_age(p));
    } else {
        text_field(stdout, "version", s, l);
        printf("mode: %s\nmax_age: %lu\n",
               mtasts_mode_name(mtasts_policy_mode(p)),
               (unsigned long)mtasts_policy_max_age(p));
    }
    for (i = 0; i < mtasts_policy_mx_count(p); i++) {
        s = mtasts_policy_mx(p, i, &l);
        if (json) {
            if (i > 0)
                putchar(',');
            json_str(s, l);
        } else {
            text_field(stdout, "mx", s, l);
        }
    }
    if (json)
        fputs("],\"extensions\":[", stdout);
    for (i = 0; i < mtasts_policy_ext_count(p); i++) {
        (void)mtasts_policy_ext(p, i, &n, &nl, &v, &vl);
        print_ext(n, nl, v, vl, json, i == 0);
    }
    if (json)
        putchar(']');
}

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

int
cmd_cache_dump(mtasts_ctx *ctx, int argc, char **argv)
{
    static const char *const tnames[] = {NULL, "fetched_at", "expires_at",
                                         "backoff_until", "last_used"};
    struct mtasts_diag d = MTASTS_DIAG_INIT;
    mtasts_entry *e = NULL;
    const mtasts_policy *pol;
    struct opts o;
    const char *s;
    char *buf;
    size_t len, l;
    int rc, i;

    if (parse_opts(argc, argv, 0, &o) < 0)
        return EXIT_USAGE;
    if (o.argc != 1) {
        usage();
        return EXIT_USAGE;
    }
    buf = read_file(o.argv[0],
                    mtasts_ctx_get_limit(ctx, MTASTS_LIMIT_POLICY_SIZE) + 512,
                    &len);
    if (buf == NULL)
        return EXIT_USAGE;
    rc = mtasts_entry_decode(ctx, (const uint8_t *)buf, len, &e, &d);
    if (rc == MTASTS_ENOMEM) {
        fputs("mtasts: out of memory\n", stderr);
        free(buf);
        return EXIT_USAGE;
    }
    print_status(&o, "entry", rc, &d);
    if (e == NULL) {
        if (o.json)
            fputs(",\"entry\":null}\n", stdout);
        free(buf);
        return EXIT_INVALID;
    }
    s = mtasts_entry_domain(e, &l);
    if (o.json) {
        fputs(",\"entry\":{\"domain\":", stdout);
        json_str(s, l);
        s = mtasts_entry_id(e, &l);
        fputs(",\"id\":", stdout);
        json_str(s, l);
        s = mtasts_entry_backoff_id(e, &l);
        fputs(",\"backoff_id\":", stdout);
        json_str(s, l);
    } else {
        text_field(stdout, "domain", s, l);
        s = mtasts_entry_id(e, &l);
        text_field(stdout, "id", s, l);
        s = mtasts_entry_backoff_id(e, &l);
        text_field(stdout, "backoff_id", s, l);
    }
    for (i = 1; i <= 4; i++) {
        long long t = (long long)mtasts_entry_time(e, i);
        if (o.json)
            printf(",\"%s\":%lld", tnames[i], t);
        else
            printf("%s: %lld\n", tnames[i], t);
    }
    pol = mtasts_entry_policy(e);
    if (o.json) {
        fputs(",\"policy\":", stdout);
        if (pol != NULL) {
            fputs("{\"verdict\":\"valid\"", stdout);
            print_policy_fields(pol, 1);
            fputs("}}}\n", stdout);
        } else {
            fputs("null}}\n", stdout);
        }
    } else if (pol != NULL) {
        print_policy_fields(pol, 0);
    } else {
        puts("policy: none cached");
    }
    mtasts_entry_free(e);
    free(buf);
    return 0;
}

/* UTC date-time of Unix seconds t (proleptic Gregorian calendar). */
static void
print_time(int64_t t)
{
    int64_t days = t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
    int64_t sod = t - days * 86400, z = days + 719468, era, doe, yoe, doy, mp;
    int64_t y, m, d;

    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    d = doy - (153 * mp + 2) / 5 + 1;
    m = mp < 10 ? mp + 3 : mp - 9;
    y = yoe + era * 400 + (m <= 2);
    printf("%04lld-%02lld-%02lldT%02lld:%02lld:%02lldZ", (long long)y,
           (long long)m, (long long)d, (long long)(sod / 3600),
           (long long)(sod / 60 % 60), (long long)(sod % 60));
}

/* Text member f (i, j) of r, escaped, or dflt when it is absent. */
static void
put_member(const mtasts_tlsrpt_report *r, int f, size_t i, size_t j,
           const char *dflt)
{
    size_t n;
    const char *t = mtasts_tlsrpt_report_text(r, f, i, j, &n);

    if (t != NULL)
        text_put(stdout, t, n);
    else
        fputs(dflt, stdout);
}

/* Print prefix, then member f (i, j) when it is present. */
static void
put_opt_member(const mtasts_tlsrpt_report *r, int f, size_t i, size_t j,
               const char *prefix, const char *suffix)
{
    size_t n;
    const char *t = mtasts_tlsrpt_report_text(r, f, i, j, &n);

    if (t == NULL)
        return;
    fputs(prefix, stdout);
    text_put(stdout, t, n);
    fputs(suffix, stdout);
}

/* The human summary of a parsed report. */
static void
print_report_summary(const mtasts_tlsrpt_report *r)
{
    size_t i, j, k, n = mtasts_tlsrpt_report_count(r, MTASTS_RC_POLICIES, 0);

    fputs("organization: ", stdout);
    put_member(r, MTASTS_RF_ORGANIZATION, 0, 0, "");
    fputs("\ncontact: ", stdout);
    put_member(r, MTASTS_RF_CONTACT, 0, 0, "(none)");
    fputs("\nreport-id: ", stdout);
    put_member(r, MTASTS_RF_REPORT_ID, 0, 0, "");
    fputs("\ndate-range: ", stdout);
    print_time(mtasts_tlsrpt_report_number(r, MTASTS_RN_START_TIME, 0, 0));
    fputs(" .. ", stdout);
    print_time(mtasts_tlsrpt_report_number(r, MTASTS_RN_END_TIME, 0, 0));
    putchar('\n');
    for (k = 0; k < mtasts_tlsrpt_report_diag_count(r); k++) {
        int w;
        const char *path;
        size_t pl;
        if (mtasts_tlsrpt_report_diag(r, k, &w, &path, &pl) != MTASTS_OK)
            continue;
        fputs("warning at ", stdout);
        if (pl > 0)
            text_put(stdout, path, pl);
        else
            fputs("(top)", stdout);
        printf(": %s\n", mtasts_warning_name(w));
    }
    for (i = 0; i < n; i++) {
        printf("policy %zu: ", i);
        put_member(r, MTASTS_RF_POLICY_TYPE, i, 0, "?");
        putchar(' ');
        put_member(r, MTASTS_RF_POLICY_DOMAIN, i, 0, "(no domain)");
        printf(": %lld successful, %lld failed sessions\n",
               (long long)mtasts_tlsrpt_report_number(
                   r, MTASTS_RN_SUCCESS_COUNT, i, 0),
               (long long)mtasts_tlsrpt_report_number(
                   r, MTASTS_RN_FAILURE_COUNT, i, 0));
        for (j = 0; j < mtasts_tlsrpt_report_count(r, MTASTS_RC_MX_HOSTS, i);
             j++) {
            fputs("  mx-host: ", stdout);
            put_member(r, MTASTS_RF_MX_HOST, i, j, "");
            putchar('\n');
        }
        for (j = 0; j < mtasts_tlsrpt_report_count(r, MTASTS_RC_DETAILS, i);
             j++) {
            fputs("  ", stdout);
            put_member(r, MTASTS_RF_RESULT_TYPE, i, j, "?");
            printf(": %lld session(s)",
                   (long long)mtasts_tlsrpt_report_number(
                       r, MTASTS_RN_FAILED_SESSIONS, i, j));
            put_opt_member(r, MTASTS_RF_SENDING_IP, i, j, " from ", "");
            put_opt_member(r, MTASTS_RF_RECEIVING_MX, i, j, " to ", "");
            put_opt_member(r, MTASTS_RF_REASON_CODE, i, j, " (", ")");
            putchar('\n');
        }
    }
}

/* Whether the input is an e-mail rather than JSON or gzip: it starts with
 * a header field ("Name:") or an mbox "From " line. */
static int
looks_like_mail(const char *b, size_t n)
{
    size_t i = 0;

    if (n >= 5 && memcmp(b, "From ", 5) == 0)
        return 1;
    /* real field names are letters, digits and hyphens; JSON starts
     * with '{' and gzip with 0x1f */
    while (i < n &&
           ((b[i] >= 'a' && b[i] <= 'z') || (b[i] >= 'A' && b[i] <= 'Z') ||
            (b[i] >= '0' && b[i] <= '9') || b[i] == '-'))
        i++;
    return i > 0 && i < n && b[i] == ':';
}

int
cmd_report_parse(mtasts_ctx *ctx, int argc, char **argv)
{
    struct mtasts_diag d = MTASTS_DIAG_INIT;
    mtasts_tlsrpt_report *r = NULL;
    mtasts_buf *js = NULL;
    struct opts o;
    const char *path = NULL;
    const uint8_t *data;
    size_t len, n, max;
    char *buf;
    int rc, i, canonical = 0, dkim_pass = 0, mail, mismatch = 0;

    memset(&o, 0, sizeof(o));
    for (i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--strict") == 0)
            o.flags |= MTASTS_PARSE_F_STRICT;
        else if (strcmp(argv[i], "--json") == 0)
            o.json = 1;
        else if (strcmp(argv[i], "--canonical") == 0)
            canonical = 1;
        else if (strcmp(argv[i], "--dkim-pass") == 0)
            dkim_pass = 1;
        else if (path == NULL && (argv[i][0] != '-' || argv[i][1] == '\0'))
            path = argv[i];
        else {
            usage();
            return EXIT_USAGE;
        }
    }
    if (path == NULL || (o.json && canonical)) {
        usage();
        return EXIT_USAGE;
    }
    /* gzip or JSON, detected by the library from the magic bytes, or a
     * report e-mail (base64 makes it a third larger than its report) */
    max = mtasts_ctx_get_limit(ctx, MTASTS_LIMIT_JSON_SIZE);
    max = max > SIZE_MAX / 2 ? SIZE_MAX - 1 : max * 2;
    buf = read_file(path, max, &len);
    if (buf == NULL)
        return EXIT_USAGE;
    mail = looks_like_mail(buf, len);
    if (mail) {
        /* RFC 8460 section 3: a report e-mail counts only with a valid
         * DKIM signature of the reporting domain, which this tool does
         * not check: the caller vouches for it with --dkim-pass */
        rc = mtasts_tlsrpt_mail_ingest(ctx, (const uint8_t *)buf, len,
                                       dkim_pass ? MTASTS_DKIM_PASS
                                                 : MTASTS_DKIM_FAIL,
                                       o.flags, &r, &mismatch, &d);
        if (rc == MTASTS_REFUSED)
            fputs("mtasts: report: the input is an e-mail; a report e-mail "
                  "is read only once its DKIM signature has been verified "
                  "(RFC 8460 section 3): verify it, then give --dkim-pass\n",
                  stderr);
    } else {
        rc = mtasts_tlsrpt_report_parse(ctx, (const uint8_t *)buf, len, o.flags,
                                        &r, &d);
    }
    free(buf);
    /* the JSON text only when it is printed: it is about as large as the
     * input */
    if (rc == MTASTS_OK && (canonical || o.json) &&
        mtasts_tlsrpt_report_format(r, 0, &js) != MTASTS_OK)
        rc = MTASTS_ENOMEM;
    if (rc == MTASTS_ENOMEM) {
        fputs("mtasts: out of memory\n", stderr);
        mtasts_tlsrpt_report_free(r);
        return EXIT_USAGE;
    }
    data = mtasts_buf_data(js, &n);
    if (canonical) {
        if (rc == MTASTS_OK) {
            fwrite(data, 1, n, stdout);
            putchar('\n');
        } else {
            fprintf(stderr, "mtasts: report: %s (%s) at offset %zu, line %zu\n",
                    mtasts_status_name(rc), mtasts_reason_name(d.reason),
                    d.offset, d.line);
        }
    } else if (o.json) {
        print_status(&o, "report", rc, &d);
        if (mail)
            printf(",\"mismatch\":%s", mismatch ? "true" : "false");
        fputs(",\"report\":", stdout);
        if (rc == MTASTS_OK)
            fwrite(data, 1, n, stdout);
        else
            fputs("null", stdout);
        fputs("}\n", stdout);
    } else {
        print_status(&o, "report", rc, &d);
        if (rc == MTASTS_OK && mismatch)
            puts("warning: the attachment name or the Subject disagrees "
                 "with the report; the report wins (RFC 8460 section 5.6)");
        if (rc == MTASTS_OK)
            print_report_summary(r);
    }
    mtasts_buf_free(js);
    mtasts_tlsrpt_report_free(r);
    return rc == MTASTS_OK ? 0 : EXIT_INVALID;
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
        rc = mtasts_report_build(ctx, argc - 3, argv + 3);
    } else if (strcmp(argv[1], "cache") == 0 && strcmp(argv[2], "dump") == 0) {
        rc = cmd_cache_dump(ctx, argc - 3, argv + 3);
    } else {
        usage();
        rc = EXIT_USAGE;
    }
    mtasts_ctx_free(ctx);
    return rc;
}
