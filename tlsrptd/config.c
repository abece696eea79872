/*
 * Settings: the defaults, a configuration file, then the command line
 * (which wins). The file holds "name = value" lines; "#" starts a
 * comment line; names are the long options without "--", with "_" or
 * "-" alike (flush_interval, flush-interval). An unknown name is an
 * error, so that a typo does not go unnoticed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "td.h"

void
td_config_init(struct td_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->socket = TD_SOCKET_DEFAULT;
    cfg->socket_mode = -1;
    cfg->store = TD_STORE_DEFAULT;
    cfg->flush_interval = TD_FLUSH_DEFAULT;
    cfg->max_memory = TD_MEMORY_DEFAULT;
}

void
td_config_free(struct td_config *cfg)
{
    free(cfg->file_text);
    cfg->file_text = NULL;
}

/* A size: digits with an optional k, M or G (powers of 1024). */
static int
parse_size(const char *v, int64_t *ret)
{
    char *end;
    unsigned long long n;
    int64_t mul = 1;

    if (*v < '0' || *v > '9')
        return -1;
    errno = 0;
    n = strtoull(v, &end, 10);
    if (errno != 0)
        return -1;
    if (*end == 'k' || *end == 'K')
        mul = 1024;
    else if (*end == 'm' || *end == 'M')
        mul = 1024 * 1024;
    else if (*end == 'g' || *end == 'G')
        mul = 1024 * 1024 * 1024;
    else if (*end != '\0')
        return -1;
    if (mul != 1 && end[1] != '\0')
        return -1;
    if (n == 0 || n > (unsigned long long)(INT64_MAX / mul))
        return -1;
    *ret = (int64_t)n * mul;
    return 0;
}

static int
bad(const char *where, const char *name, const char *value, const char *why)
{
    fprintf(stderr, "mtasts-tlsrptd: %s: %s \"%s\": %s\n", where, name, value,
            why);
    return -1;
}

/* name equals option (with - and _ alike). */
static int
same(const char *name, const char *option)
{
    for (; *name != '\0' && *option != '\0'; name++, option++)
        if (*name != *option && !(*name == '_' && *option == '-'))
            return 0;
    return *name == '\0' && *option == '\0';
}

int
td_config_set(struct td_config *cfg, const char *name, const char *value,
              const char *where)
{
    char *end;
    long v;

    if (same(name, "socket"))
        cfg->socket = value;
    else if (same(name, "socket-user"))
        cfg->socket_user = value;
    else if (same(name, "socket-group"))
        cfg->socket_group = value;
    else if (same(name, "socket-mode")) {
        errno = 0;
        v = strtol(value, &end, 8);
        if (*value < '0' || *value > '7' || *end != '\0' || errno != 0 ||
            v > 07777)
            return bad(where, name, value, "expected an octal mode (0660)");
        cfg->socket_mode = (int)v;
    } else if (same(name, "store"))
        cfg->store = value;
    else if (same(name, "flush-interval")) {
        errno = 0;
        v = strtol(value, &end, 10);
        if (*value < '0' || *value > '9' || *end != '\0' || errno != 0 ||
            v < 1 || v > 3600)
            return bad(where, name, value, "expected 1 to 3600 (seconds)");
        cfg->flush_interval = (int)v;
    } else if (same(name, "dump-file"))
        cfg->dump_file = value;
    else if (same(name, "pid-file"))
        cfg->pid_file = value;
    else if (same(name, "max-memory")) {
        if (parse_size(value, &cfg->max_memory) != 0)
            return bad(where, name, value,
                       "expected a size in bytes (with k, M or G)");
    } else if (same(name, "organization-name") || same(name, "org"))
        cfg->org = value;
    else if (same(name, "contact-info") || same(name, "contact"))
        cfg->contact = value;
    else
        return 1;
    return 0;
}

static int
is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

int
td_config_read(struct td_config *cfg, const char *path)
{
    char where[512], *line, *eol, *eq, *k, *v, *e;
    FILE *f;
    long size;
    size_t n, lineno = 0;

    f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "mtasts-tlsrptd: %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 ||
        size > 1024 * 1024 || fseek(f, 0, SEEK_SET) != 0) {
        fprintf(stderr, "mtasts-tlsrptd: %s: not a file of at most 1 MiB\n",
                path);
        fclose(f);
        return -1;
    }
    free(cfg->file_text);
    cfg->file_text = malloc((size_t)size + 1);
    if (cfg->file_text == NULL) {
        fclose(f);
        fprintf(stderr, "mtasts-tlsrptd: out of memory\n");
        return -1;
    }
    n = fread(cfg->file_text, 1, (size_t)size, f);
    fclose(f);
    cfg->file_text[n] = '\0';
    if (memchr(cfg->file_text, '\0', n) != NULL) {
        fprintf(stderr, "mtasts-tlsrptd: %s: a NUL byte\n", path);
        return -1;
    }
    for (line = cfg->file_text; *line != '\0'; line = eol) {
        lineno++;
        eol = strchr(line, '\n');
        if (eol != NULL)
            *eol++ = '\0';
        else
            eol = line + strlen(line);
        while (is_space(*line))
            line++;
        if (*line == '#' || *line == '\0')
            continue;
        snprintf(where, sizeof(where), "%s, line %zu", path, lineno);
        eq = strchr(line, '=');
        if (eq == NULL) {
            fprintf(stderr, "mtasts-tlsrptd: %s: expected name = value\n",
                    where);
            return -1;
        }
        k = line;
        for (e = eq; e > k && is_space(e[-1]); e--)
            ;
        *e = '\0';
        v = eq + 1;
        while (is_space(*v))
            v++;
        for (e = v + strlen(v); e > v && is_space(e[-1]); e--)
            ;
        *e = '\0';
        if (*v == '\0') {
            fprintf(stderr, "mtasts-tlsrptd: %s: %s has no value\n", where, k);
            return -1;
        }
        switch (td_config_set(cfg, k, v, where)) {
        case 0:
            break;
        case 1:
            fprintf(stderr, "mtasts-tlsrptd: %s: unknown setting \"%s\"\n",
                    where, k);
            return -1;
        default:
            return -1;
        }
    }
    return 0;
}
