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
#include <unistd.h>

#include "addr.h"
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
    cfg->spread_window = TD_SPREAD_DEFAULT;
    cfg->retention = TD_RETENTION_DEFAULT;
    cfg->sendmail = TD_SENDMAIL_DEFAULT;
    cfg->retry_interval = TD_RETRY_DEFAULT;
    cfg->timeout = TD_TIMEOUT_DEFAULT;
    cfg->send = 1;
    cfg->redis_prefix = TD_REDIS_PREFIX_DEFAULT;
    cfg->claim_ttl = TD_CLAIM_TTL_DEFAULT;
    cfg->fleet_wait = TD_FLEET_WAIT_DEFAULT;
}

void
td_config_free(struct td_config *cfg)
{
    free(cfg->file_text);
    cfg->file_text = NULL;
    free(cfg->dns_servers);
    cfg->dns_servers = NULL;
    free(cfg->connect_to);
    cfg->connect_to = NULL;
    cfg->nconnect_to = 0;
}

const char *
td_config_host(struct td_config *cfg)
{
    if (cfg->host_id != NULL)
        return cfg->host_id;
    if (gethostname(cfg->host_buf, sizeof(cfg->host_buf) - 1) != 0 ||
        cfg->host_buf[0] == '\0')
        snprintf(cfg->host_buf, sizeof(cfg->host_buf), "localhost");
    cfg->host_buf[sizeof(cfg->host_buf) - 1] = '\0';
    return cfg->host_buf;
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

/* A decimal integer lo..hi into *ret. */
static int
parse_int(const char *value, long lo, long hi, int *ret)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(value, &end, 10);
    if (*value < '0' || *value > '9' || *end != '\0' || errno != 0 || v < lo ||
        v > hi)
        return -1;
    *ret = (int)v;
    return 0;
}

static int
parse_bool(const char *value, int *ret)
{
    if (strcmp(value, "yes") == 0 || strcmp(value, "1") == 0 ||
        strcmp(value, "true") == 0)
        *ret = 1;
    else if (strcmp(value, "no") == 0 || strcmp(value, "0") == 0 ||
             strcmp(value, "false") == 0)
        *ret = 0;
    else
        return -1;
    return 0;
}

static int
add_dns_server(struct td_config *cfg, const char *value)
{
    size_t have = cfg->dns_servers ? strlen(cfg->dns_servers) : 0;
    size_t add = strlen(value), i, start;
    char *nb;

    for (i = start = 0; i <= add; i++) {
        if (i < add && value[i] != ',')
            continue;
        if (!mtn_server_ok(value + start, i - start))
            return -1;
        start = i + 1;
    }
    nb = realloc(cfg->dns_servers, have + add + 2);
    if (nb == NULL)
        return -1;
    if (have > 0)
        nb[have++] = ',';
    memcpy(nb + have, value, add + 1);
    cfg->dns_servers = nb;
    return 0;
}

/* HOST:PORT:HOST2:PORT2 (curl's --connect-to), each part possibly empty;
 * mtasts_net_new() checks the parts. */
static int
add_connect_to(struct td_config *cfg, const char *value)
{
    const char **nv;
    const char *p;
    int colons = 0, bracket = 0;

    for (p = value; *p != '\0'; p++) {
        if (*p == '[')
            bracket = 1;
        else if (*p == ']')
            bracket = 0;
        else if (*p == ':' && !bracket)
            colons++;
        else if ((unsigned char)*p <= ' ')
            return -1;
    }
    if (colons != 3)
        return -1;
    nv = realloc(cfg->connect_to, (cfg->nconnect_to + 1) * sizeof(*nv));
    if (nv == NULL)
        return -1;
    nv[cfg->nconnect_to++] = value;
    cfg->connect_to = nv;
    return 0;
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
    else if (same(name, "from") || same(name, "sender-address"))
        cfg->from = value;
    else if (same(name, "spread-window") || same(name, "spread-out-delivery")) {
        if (parse_int(value, 0, 86400, &cfg->spread_window) != 0)
            return bad(where, name, value, "expected 0 to 86400 (seconds)");
    } else if (same(name, "retention") || same(name, "keep-days")) {
        if (parse_int(value, 1, 3650, &cfg->retention) != 0)
            return bad(where, name, value, "expected 1 to 3650 (days)");
    } else if (same(name, "sendmail")) {
        if (value[0] != '/')
            return bad(where, name, value,
                       "expected an absolute path, then arguments");
        cfg->sendmail = value;
    } else if (same(name, "retry-interval")) {
        if (parse_int(value, 1, 86400, &cfg->retry_interval) != 0)
            return bad(where, name, value, "expected 1 to 86400 (seconds)");
    } else if (same(name, "timeout")) {
        if (parse_int(value, 1, 3600, &cfg->timeout) != 0)
            return bad(where, name, value, "expected 1 to 3600 (seconds)");
    } else if (same(name, "https-verify")) {
        if (parse_bool(value, &cfg->https_verify) != 0)
            return bad(where, name, value, "expected yes or no");
    } else if (same(name, "send")) {
        if (parse_bool(value, &cfg->send) != 0)
            return bad(where, name, value, "expected yes or no");
    } else if (same(name, "dns-server")) {
        if (add_dns_server(cfg, value) != 0)
            return bad(where, name, value,
                       "expected IP, IP:PORT or [IPv6]:PORT, several "
                       "separated by ','");
    } else if (same(name, "ca-file"))
        cfg->ca_file = value;
    else if (same(name, "connect-to")) {
        if (add_connect_to(cfg, value) != 0)
            return bad(where, name, value,
                       "expected HOST:PORT:HOST2:PORT2 (a part may be "
                       "empty; IPv6 in brackets)");
    } else if (same(name, "out-dir"))
        cfg->out_dir = value;
    else if (same(name, "redis"))
        cfg->redis = value;
    else if (same(name, "redis-prefix")) {
        if (value[0] == '\0' || strchr(value, ' ') != NULL)
            return bad(where, name, value, "expected a word");
        cfg->redis_prefix = value;
    } else if (same(name, "host-id")) {
        if (value[0] == '\0' || strpbrk(value, " :\t") != NULL ||
            strlen(value) > 200)
            return bad(where, name, value,
                       "expected a name without blanks or ':'");
        cfg->host_id = value;
    } else if (same(name, "claim-ttl")) {
        if (parse_int(value, 10, 86400, &cfg->claim_ttl) != 0)
            return bad(where, name, value, "expected 10 to 86400 (seconds)");
    } else if (same(name, "fleet-wait")) {
        if (parse_int(value, 0, 86400, &cfg->fleet_wait) != 0)
            return bad(where, name, value, "expected 0 to 86400 (seconds)");
    } else
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
