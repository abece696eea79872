/*
 * What the commands of the mtasts tool share (declared in tool.h): reading
 * an input file, the JSON string writer, the verdict lines, the common
 * options, extensions and the fields of a policy. Linked into both
 * programs: mtasts (main.c) and mtasts-net (net_main.c), which runs
 * lookup and check.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mtasts.h"
#include "text.h"
#include "tool.h"

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

void
json_warnings(uint64_t w)
{
    int i, first = 1;

    putchar('[');
    for (i = 0; i < MTASTS_W_COUNT; i++) {
        if (w & MTASTS_WARN_BIT(i)) {
            if (!first)
                putchar(',');
            json_cstr(mtasts_warning_name(i));
            first = 0;
        }
    }
    putchar(']');
}

void
text_warnings(uint64_t w)
{
    int i;

    for (i = 0; i < MTASTS_W_COUNT; i++)
        if (w & MTASTS_WARN_BIT(i))
            printf("warning: %s\n", mtasts_warning_name(i));
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

    if (o->json) {
        printf("{\"verdict\":\"%s\",\"warnings\":", verdict_of(rc, w));
        json_warnings(w);
        fputs(",\"error\":", stdout);
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
    text_warnings(w);
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
