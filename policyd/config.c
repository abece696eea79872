/*
 * mtasts-policyd configuration: postfix-mta-sts-resolver's own
 * mta-sts-daemon.yml, read with libyaml, plus our extensions
 * (mtasts-policyd(8) lists both).
 *
 * Scalars are typed as PyYAML (YAML 1.1) types them for the resolver, so
 * that a file means the same to both daemons: booleans true/false,
 * yes/no, on/off (lower, Capitalised or UPPER case); integers in decimal,
 * 0o17 or 017 octal (mode: 0666), 0x hex, with '_' separators; null as
 * ~, null or nothing. A quoted scalar is a string: "false" where a
 * boolean is expected is an error here (Python would take it as true).
 * Keys the daemon does not know get one warning each, with their line; a
 * value of the wrong type or out of range is an error with line and
 * column, and the file is refused.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#ifdef HAVE_YAML
#include <yaml.h>
#endif

#include "pd.h"

/* postfix-mta-sts-resolver's defaults (defaults.py) */
#define DEF_HOST             "127.0.0.1"
#define DEF_PORT             8461
#define DEF_REUSE_PORT       1
#define DEF_TIMEOUT          4.0
#define DEF_SHUTDOWN_TIMEOUT 20.0
#define DEF_STRICT_TESTING   0
#define DEF_CACHE_SIZE       10000
#define DEF_CACHE_GRACE      60.0
#define DEF_PF_ENABLED       0
#define DEF_PF_INTERVAL      86400.0
#define DEF_PF_CONCURRENCY   100
#define DEF_PF_GRACE_RATIO   2.0
#define DEF_REQUIRE_SNI      1
/* ours */
#define DEF_MAX_CONNECTIONS 16384
#define DEF_IDLE_TIMEOUT    300.0
#define DEF_REQUEST_TIMEOUT 10.0
#define DEF_MAX_LOOKUPS     2000
#define DEF_USED_WITHIN     (7 * 86400.0)

struct cf {
    const char *file;
#ifdef HAVE_YAML
    yaml_document_t *doc;
#endif
    struct pd_config *cfg;
    int host_set, port_set;
};

static void
zone_defaults(struct pd_zone *z)
{
    z->strict_testing = DEF_STRICT_TESTING;
    z->timeout = DEF_TIMEOUT;
    z->require_sni = DEF_REQUIRE_SNI;
}

static int
set_str(char **dst, const char *s)
{
    char *d = NULL;

    if (s != NULL) {
        d = strdup(s);
        if (d == NULL)
            return -1;
    }
    free(*dst);
    *dst = d;
    return 0;
}

#ifdef HAVE_YAML

#if defined(__GNUC__)
#define PD_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define PD_PRINTF(f, a)
#endif

static void cf_err(struct cf *c, const yaml_node_t *n, const char *fmt, ...)
    PD_PRINTF(3, 4);
static void cf_warn(struct cf *c, const yaml_node_t *n, const char *fmt, ...)
    PD_PRINTF(3, 4);

static void
cf_err(struct cf *c, const yaml_node_t *n, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (n != NULL)
        pd_log_msg(PD_LOG_ERR, "config", "%s:%lu:%lu: %s", c->file,
                   (unsigned long)n->start_mark.line + 1,
                   (unsigned long)n->start_mark.column + 1, msg);
    else
        pd_log_msg(PD_LOG_ERR, "config", "%s: %s", c->file, msg);
}

static void
cf_warn(struct cf *c, const yaml_node_t *n, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    pd_log_msg(PD_LOG_WARNING, "config_warning", "%s:%lu: %s", c->file,
               (unsigned long)n->start_mark.line + 1, msg);
}

static yaml_node_t *
node(struct cf *c, int id)
{
    return yaml_document_get_node(c->doc, id);
}

/* The text of a scalar node, or NULL (error logged) for another kind. */
static const char *
scalar(struct cf *c, const yaml_node_t *n, const char *key)
{
    if (n->type != YAML_SCALAR_NODE) {
        cf_err(c, n, "%s: expected a single value", key);
        return NULL;
    }
    return (const char *)n->data.scalar.value;
}

static int
plain(const yaml_node_t *n)
{
    return n->type == YAML_SCALAR_NODE &&
           n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
}

static int
is_null(const yaml_node_t *n)
{
    const char *s;

    if (!plain(n))
        return 0;
    s = (const char *)n->data.scalar.value;
    return s[0] == '\0' || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 ||
           strcmp(s, "Null") == 0 || strcmp(s, "NULL") == 0;
}

static int
get_bool(struct cf *c, const yaml_node_t *n, const char *key, int *ret)
{
    static const char *const t[] = {"true", "True", "TRUE", "yes", "Yes",
                                    "YES",  "on",   "On",   "ON"};
    static const char *const f[] = {"false", "False", "FALSE", "no", "No",
                                    "NO",    "off",   "Off",   "OFF"};
    const char *s = scalar(c, n, key);
    size_t i;

    if (s == NULL)
        return -1;
    if (plain(n)) {
        for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
            if (strcmp(s, t[i]) == 0) {
                *ret = 1;
                return 0;
            }
            if (strcmp(s, f[i]) == 0) {
                *ret = 0;
                return 0;
            }
        }
    }
    cf_err(c, n, "%s: expected true or false", key);
    return -1;
}

/* A YAML 1.1 integer (plain scalar). */
static int
parse_int(const char *s, long long *ret)
{
    int neg = 0, base = 10, digits = 0;
    unsigned long long v = 0;

    if (*s == '+' || *s == '-')
        neg = *s++ == '-';
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s += 2;
    } else if (s[0] == '0' && (s[1] == 'o' || s[1] == 'O')) {
        base = 8;
        s += 2;
    } else if (s[0] == '0' && (s[1] == 'b' || s[1] == 'B')) {
        base = 2;
        s += 2;
    } else if (s[0] == '0' && s[1] != '\0') {
        base = 8;
        s++;
    }
    for (; *s != '\0'; s++) {
        int d;

        if (*s == '_')
            continue;
        if (*s >= '0' && *s <= '9')
            d = *s - '0';
        else if (*s >= 'a' && *s <= 'f')
            d = *s - 'a' + 10;
        else if (*s >= 'A' && *s <= 'F')
            d = *s - 'A' + 10;
        else
            return -1;
        if (d >= base)
            return -1;
        if (v > (unsigned long long)LLONG_MAX / 16)
            return -1;
        v = v * (unsigned)base + (unsigned)d;
        digits++;
    }
    if (digits == 0)
        return -1;
    *ret = neg ? -(long long)v : (long long)v;
    return 0;
}

static int
get_int(struct cf *c, const yaml_node_t *n, const char *key, long long min,
        long long max, long long *ret)
{
    const char *s = scalar(c, n, key);

    if (s == NULL)
        return -1;
    if (!plain(n) || parse_int(s, ret) < 0) {
        cf_err(c, n, "%s: expected an integer", key);
        return -1;
    }
    if (*ret < min || *ret > max) {
        cf_err(c, n, "%s: %lld is out of range (%lld-%lld)", key, *ret, min,
               max);
        return -1;
    }
    return 0;
}

/* A number of seconds (an integer or a decimal fraction), min..max. */
static int
get_num(struct cf *c, const yaml_node_t *n, const char *key, double min,
        double max, double *ret)
{
    const char *s = scalar(c, n, key);
    long long i;
    char *end;

    if (s == NULL)
        return -1;
    if (!plain(n)) {
        cf_err(c, n, "%s: expected a number", key);
        return -1;
    }
    if (parse_int(s, &i) == 0) {
        *ret = (double)i;
    } else {
        errno = 0;
        *ret = strtod(s, &end);
        if (end == s || *end != '\0' || errno != 0 || !isfinite(*ret)) {
            cf_err(c, n, "%s: expected a number", key);
            return -1;
        }
    }
    if (*ret < min || *ret > max) {
        cf_err(c, n, "%s: %g is out of range (%g-%g)", key, *ret, min, max);
        return -1;
    }
    return 0;
}

/* A string, or NULL for a null value. */
static int
get_str(struct cf *c, const yaml_node_t *n, const char *key, char **dst)
{
    const char *s;

    if (is_null(n))
        return set_str(dst, NULL);
    s = scalar(c, n, key);
    if (s == NULL)
        return -1;
    if (s[0] == '\0') {
        cf_err(c, n, "%s: empty value", key);
        return -1;
    }
    if (set_str(dst, s) < 0) {
        cf_err(c, n, "%s: out of memory", key);
        return -1;
    }
    return 0;
}

/* A list of strings: a sequence of scalars, or one scalar. */
static int
get_list(struct cf *c, const yaml_node_t *n, const char *key, char ***dst,
         size_t *dst_n)
{
    size_t i, cnt = 0;
    char **v;
    yaml_node_item_t *it;

    for (i = 0; i < *dst_n; i++)
        free((*dst)[i]);
    free(*dst);
    *dst = NULL;
    *dst_n = 0;
    if (is_null(n))
        return 0;
    if (n->type == YAML_SCALAR_NODE)
        cnt = 1;
    else if (n->type == YAML_SEQUENCE_NODE)
        cnt =
            (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
    else {
        cf_err(c, n, "%s: expected a list of values", key);
        return -1;
    }
    v = calloc(cnt ? cnt : 1, sizeof(*v));
    if (v == NULL)
        return -1;
    *dst = v;
    if (n->type == YAML_SCALAR_NODE)
        return (v[(*dst_n)++] = strdup((const char *)n->data.scalar.value)) ==
                       NULL
                   ? -1
                   : 0;
    for (it = n->data.sequence.items.start; it < n->data.sequence.items.top;
         it++) {
        const char *s = scalar(c, node(c, *it), key);

        if (s == NULL)
            return -1;
        if ((v[*dst_n] = strdup(s)) == NULL)
            return -1;
        (*dst_n)++;
    }
    return 0;
}

/* A list written as one comma-separated string (dns_server). */
static int
get_csv(struct cf *c, const yaml_node_t *n, const char *key, char **dst)
{
    char **v = NULL;
    size_t cnt = 0, i, len = 0;
    int rc = get_list(c, n, key, &v, &cnt);
    char *s = NULL;

    if (rc == 0 && cnt > 0) {
        for (i = 0; i < cnt; i++)
            len += strlen(v[i]) + 1;
        s = malloc(len);
        if (s == NULL) {
            rc = -1;
        } else {
            s[0] = '\0';
            for (i = 0; i < cnt; i++) {
                if (i > 0)
                    strcat(s, ",");
                strcat(s, v[i]);
            }
        }
    }
    for (i = 0; i < cnt; i++)
        free(v[i]);
    free(v);
    if (rc == 0) {
        free(*dst);
        *dst = s;
    }
    return rc;
}

static int
is_map(struct cf *c, const yaml_node_t *n, const char *key)
{
    if (n->type == YAML_MAPPING_NODE)
        return 1;
    cf_err(c, n, "%s: expected a mapping (key: value lines)", key);
    return 0;
}

/* Each key of a mapping, in order: fn(c, key text, key node, value node,
 * arg). A key seen twice gets a warning (the last one counts, as in
 * PyYAML). */
typedef int (*pair_fn)(struct cf *c, const char *k, yaml_node_t *kn,
                       yaml_node_t *vn, void *arg);

static int
each_pair(struct cf *c, yaml_node_t *m, const char *where, pair_fn fn,
          void *arg)
{
    yaml_node_pair_t *p, *q;

    for (p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
        yaml_node_t *kn = node(c, p->key), *vn = node(c, p->value);
        const char *k;

        if (kn == NULL || vn == NULL)
            return -1;
        k = scalar(c, kn, where);
        if (k == NULL)
            return -1;
        for (q = m->data.mapping.pairs.start; q < p; q++) {
            yaml_node_t *qn = node(c, q->key);

            if (qn != NULL && qn->type == YAML_SCALAR_NODE &&
                strcmp((const char *)qn->data.scalar.value, k) == 0) {
                cf_warn(c, kn, "%s%s: duplicate key; the last one counts",
                        where, k);
                break;
            }
        }
        if (fn(c, k, kn, vn, arg) < 0)
            return -1;
    }
    return 0;
}

static int
zone_pair(struct cf *c, const char *k, yaml_node_t *kn, yaml_node_t *vn,
          void *arg)
{
    struct pd_zone *z = arg;

    if (strcmp(k, "strict_testing") == 0)
        return get_bool(c, vn, k, &z->strict_testing);
    if (strcmp(k, "require_sni") == 0)
        return get_bool(c, vn, k, &z->require_sni);
    if (strcmp(k, "timeout") == 0)
        return get_num(c, vn, k, 0.1, 3600, &z->timeout);
    cf_warn(c, kn, "unknown zone key '%s' ignored", k);
    return 0;
}

static int
zones_pair(struct cf *c, const char *k, yaml_node_t *kn, yaml_node_t *vn,
           void *arg)
{
    struct pd_config *cfg = c->cfg;
    struct pd_zone *z, *nz;
    size_t i;

    (void)kn;
    (void)arg;
    for (i = 0; i < cfg->nzones; i++)
        if (strcmp(cfg->zones[i].name, k) == 0)
            break;
    if (i == cfg->nzones) {
        nz = realloc(cfg->zones, (cfg->nzones + 1) * sizeof(*nz));
        if (nz == NULL)
            return -1;
        cfg->zones = nz;
        z = &cfg->zones[cfg->nzones];
        zone_defaults(z);
        z->name = strdup(k);
        if (z->name == NULL)
            return -1;
        cfg->nzones++;
    }
    z = &cfg->zones[i];
    if (is_null(vn))
        return 0;
    if (!is_map(c, vn, k))
        return -1;
    return each_pair(c, vn, "zones.<name>.", zone_pair, z);
}

static int
pf_pair(struct cf *c, const char *k, yaml_node_t *kn, yaml_node_t *vn,
        void *arg)
{
    struct pd_config *cfg = c->cfg;
    long long v;

    (void)arg;
    if (strcmp(k, "enabled") == 0)
        return get_bool(c, vn, k, &cfg->pf_enabled);
    if (strcmp(k, "interval") == 0)
        return get_num(c, vn, k, 1, 31557600, &cfg->pf_interval);
    if (strcmp(k, "grace_ratio") == 0)
        return get_num(c, vn, k, 1, 1000, &cfg->pf_grace_ratio);
    if (strcmp(k, "concurrency_limit") == 0) {
        if (get_int(c, vn, k, 1, 10000, &v) < 0)
            return -1;
        cfg->pf_concurrency = (int)v;
        return 0;
    }
    cf_warn(c, kn, "unknown key 'proactive_policy_fetching.%s' ignored", k);
    return 0;
}

/* %XX escapes of a URL part, in place. */
static void
url_unescape(char *s)
{
    char *d = s;

    for (; *s != '\0'; s++) {
        if (s[0] == '%' && s[1] != '\0' && s[2] != '\0') {
            char hex[3] = {s[1], s[2], '\0'}, *end;
            long v = strtol(hex, &end, 16);

            if (*end == '\0') {
                *d++ = (char)v;
                s += 2;
                continue;
            }
        }
        *d++ = *s;
    }
    *d = '\0';
}

/* The query of a Redis URL: db=N and password=P. */
static int
redis_query(struct cf *c, const yaml_node_t *n, char *q)
{
    struct pd_config *cfg = c->cfg;
    char *tok, *save = NULL;
    long long v;

    for (tok = strtok_r(q, "&", &save); tok != NULL;
         tok = strtok_r(NULL, "&", &save)) {
        if (strncmp(tok, "db=", 3) == 0) {
            if (parse_int(tok + 3, &v) < 0 || v < 0 || v > 65535) {
                cf_err(c, n, "cache.options.url: bad db '%s'", tok + 3);
                return -1;
            }
            cfg->redis_db = (int)v;
        } else if (strncmp(tok, "password=", 9) == 0) {
            url_unescape(tok + 9);
            if (set_str(&cfg->redis_password, tok + 9) < 0)
                return -1;
        } else {
            cf_warn(c, n, "cache.options.url: parameter '%s' ignored", tok);
        }
    }
    return 0;
}

/* redis://[[USER]:PASSWORD@]HOST[:PORT][/DB][?QUERY] or
 * unix://[[USER]:PASSWORD@]/PATH[?QUERY], as redis-py's from_url(). */
static int
redis_url(struct cf *c, const yaml_node_t *n, const char *url)
{
    struct pd_config *cfg = c->cfg;
    char *u = strdup(url), *p, *q, *at, *slash, *colon;
    int is_unix = 0, rc = -1;
    long long v;

    if (u == NULL)
        return -1;
    if (strncmp(u, "redis://", 8) == 0) {
        p = u + 8;
    } else if (strncmp(u, "unix://", 7) == 0) {
        p = u + 7;
        is_unix = 1;
    } else {
        cf_err(c, n,
               "cache.options.url: '%s' is not redis://HOST[:PORT][/DB] or "
               "unix:///PATH (TLS, rediss://, is not supported)",
               url);
        goto out;
    }
    q = strchr(p, '?');
    if (q != NULL)
        *q++ = '\0';
    at = strrchr(p, '@');
    if (at != NULL) {
        *at = '\0';
        colon = strchr(p, ':');
        if (colon != NULL) {
            url_unescape(colon + 1);
            if (colon[1] != '\0' &&
                set_str(&cfg->redis_password, colon + 1) < 0)
                goto out;
            if (colon != p)
                cf_warn(c, n,
                        "cache.options.url: user '%.*s' ignored "
                        "(AUTH with the password only)",
                        (int)(colon - p), p);
        }
        p = at + 1;
    }
    if (is_unix) {
        if (*p != '/') {
            cf_err(c, n, "cache.options.url: '%s': expected unix:///PATH", url);
            goto out;
        }
        if (set_str(&cfg->redis_unix, p) < 0)
            goto out;
    } else {
        slash = strchr(p, '/');
        if (slash != NULL) {
            *slash++ = '\0';
            if (*slash != '\0') {
                if (parse_int(slash, &v) < 0 || v < 0 || v > 65535) {
                    cf_err(c, n, "cache.options.url: bad database '%s'", slash);
                    goto out;
                }
                cfg->redis_db = (int)v;
            }
        }
        if (*p == '[') { /* [v6]:port */
            char *e = strchr(p, ']');

            if (e == NULL) {
                cf_err(c, n, "cache.options.url: bad host in '%s'", url);
                goto out;
            }
            *e = '\0';
            colon = e[1] == ':' ? e + 1 : NULL;
            p++;
        } else {
            colon = strrchr(p, ':');
            if (colon != NULL)
                *colon = '\0';
        }
        if (colon != NULL) {
            if (parse_int(colon + 1, &v) < 0 || v < 1 || v > 65535) {
                cf_err(c, n, "cache.options.url: bad port in '%s'", url);
                goto out;
            }
            cfg->redis_port = (int)v;
        }
        if (*p != '\0' && set_str(&cfg->redis_host, p) < 0)
            goto out;
    }
    if (q != NULL && redis_query(c, n, q) < 0)
        goto out;
    rc = 0;
out:
    free(u);
    return rc;
}

static int
ms_value(struct cf *c, yaml_node_t *vn, const char *k, int *dst)
{
    double v;

    if (get_num(c, vn, k, 0.001, 3600, &v) < 0)
        return -1;
    *dst = (int)(v * 1000 + 0.5);
    if (*dst < 1)
        *dst = 1;
    return 0;
}

static int
cache_opt_pair(struct cf *c, const char *k, yaml_node_t *kn, yaml_node_t *vn,
               void *arg)
{
    struct pd_config *cfg = c->cfg;
    long long v;
    const char *s;

    (void)arg;
    /* every type: the size of the in-memory front, and our horizon
     * margin */
    if (strcmp(k, "cache_size") == 0) {
        if (get_int(c, vn, k, 1, 100000000, &v) < 0)
            return -1;
        cfg->cache_size = (size_t)v;
        return 0;
    }
    if (strcmp(k, "grace") == 0 && cfg->cache_type != PD_CACHE_INTERNAL)
        return get_num(c, vn, k, 0, 86400 * 365.0, &cfg->store_grace);
    if (cfg->cache_type == PD_CACHE_SQLITE) {
        if (strcmp(k, "filename") == 0)
            return get_str(c, vn, k, &cfg->sqlite_path);
        if (strcmp(k, "timeout") == 0)
            return ms_value(c, vn, k, &cfg->sqlite_timeout_ms);
        if (strcmp(k, "threads") == 0) {
            cf_warn(c, kn,
                    "cache.options.threads: not used (one connection, "
                    "no threads)");
            return 0;
        }
    } else if (cfg->cache_type == PD_CACHE_REDIS) {
        if (strcmp(k, "url") == 0) {
            s = scalar(c, vn, k);
            return s == NULL ? -1 : redis_url(c, vn, s);
        }
        if (strcmp(k, "password") == 0)
            return get_str(c, vn, k, &cfg->redis_password);
        if (strcmp(k, "db") == 0) {
            if (get_int(c, vn, k, 0, 65535, &v) < 0)
                return -1;
            cfg->redis_db = (int)v;
            return 0;
        }
        if (strcmp(k, "socket_timeout") == 0)
            return ms_value(c, vn, k, &cfg->redis_command_ms);
        if (strcmp(k, "socket_connect_timeout") == 0)
            return ms_value(c, vn, k, &cfg->redis_connect_ms);
        if (strcmp(k, "prefix") == 0)
            return get_str(c, vn, k, &cfg->redis_prefix);
        if (strcmp(k, "max_connections") == 0) {
            cf_warn(c, kn,
                    "cache.options.max_connections: not used (one "
                    "asynchronous connection)");
            return 0;
        }
    }
    cf_warn(c, kn, "unknown key 'cache.options.%s' ignored", k);
    return 0;
}

static int
cache_pair(struct cf *c, const char *k, yaml_node_t *kn, yaml_node_t *vn,
           void *arg)
{
    (void)arg;
    (void)c;
    (void)vn;
    if (strcmp(k, "type") == 0 || strcmp(k, "options") == 0)
        return 0; /* read by cache_section() */
    cf_warn(c, kn, "unknown key 'cache.%s' ignored", k);
    return 0;
}

static yaml_node_t *
map_get(struct cf *c, yaml_node_t *m, const char *key)
{
    yaml_node_pair_t *p;
    yaml_node_t *found = NULL;

    for (p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
        yaml_node_t *kn = node(c, p->key);

        if (kn != NULL && kn->type == YAML_SCALAR_NODE &&
            strcmp((const char *)kn->data.scalar.value, key) == 0)
            found = node(c, p->value); /* the last one counts */
    }
    return found;
}

static int
cache_section(struct cf *c, yaml_node_t *vn)
{
    struct pd_config *cfg = c->cfg;
    yaml_node_t *t, *o;
    const char *s;

    if (is_null(vn))
        return 0;
    if (!is_map(c, vn, "cache"))
        return -1;
    if (each_pair(c, vn, "cache.", cache_pair, NULL) < 0)
        return -1;
    t = map_get(c, vn, "type");
    if (t != NULL && !is_null(t)) {
        s = scalar(c, t, "cache.type");
        if (s == NULL)
            return -1;
        if (strcmp(s, "internal") == 0) {
            cfg->cache_type = PD_CACHE_INTERNAL;
        } else if (strcmp(s, "sqlite") == 0) {
            cfg->cache_type = PD_CACHE_SQLITE;
        } else if (strcmp(s, "redis") == 0) {
            cfg->cache_type = PD_CACHE_REDIS;
        } else {
            cf_err(c, t, "cache.type: '%s' is not internal, sqlite or redis",
                   s);
            return -1;
        }
    }
    o = map_get(c, vn, "options");
    if (o != NULL && !is_null(o)) {
        if (!is_map(c, o, "cache.options"))
            return -1;
        if (each_pair(c, o, "cache.options.", cache_opt_pair, NULL) < 0)
            return -1;
    }
    if (cfg->cache_type == PD_CACHE_SQLITE && cfg->sqlite_path == NULL) {
        cf_err(c, vn, "%s", "cache: type sqlite needs options.filename");
        return -1;
    }
    return 0;
}

static int
mode_value(struct cf *c, yaml_node_t *vn, const char *k, int *dst)
{
    long long v;
    const char *s;

    if (is_null(vn)) {
        *dst = -1;
        return 0;
    }
    /* a quoted "0660" is taken as the octal it looks like */
    s = scalar(c, vn, k);
    if (s == NULL)
        return -1;
    if (!plain(vn) && s[0] == '0' && parse_int(s, &v) == 0 && v >= 0 &&
        v <= 07777) {
        *dst = (int)v;
        return 0;
    }
    if (get_int(c, vn, k, 0, 07777, &v) < 0)
        return -1;
    *dst = (int)v;
    return 0;
}

static int
top_pair(struct cf *c, const char *k, yaml_node_t *kn, yaml_node_t *vn,
         void *arg)
{
    struct pd_config *cfg = c->cfg;
    long long v;

    (void)arg;
    if (strcmp(k, "host") == 0) {
        c->host_set = !is_null(vn);
        if (is_null(vn))
            return set_str(&cfg->host, DEF_HOST);
        return get_str(c, vn, k, &cfg->host);
    }
    if (strcmp(k, "port") == 0) {
        c->port_set = !is_null(vn);
        if (is_null(vn)) {
            cfg->port = DEF_PORT;
            return 0;
        }
        if (get_int(c, vn, k, 1, 65535, &v) < 0)
            return -1;
        cfg->port = (int)v;
        return 0;
    }
    if (strcmp(k, "path") == 0)
        return get_str(c, vn, k, &cfg->path);
    if (strcmp(k, "mode") == 0)
        return mode_value(c, vn, k, &cfg->mode);
    if (strcmp(k, "reuse_port") == 0)
        return get_bool(c, vn, k, &cfg->reuse_port);
    if (strcmp(k, "shutdown_timeout") == 0)
        return get_num(c, vn, k, 0, 86400, &cfg->shutdown_timeout);
    if (strcmp(k, "cache_grace") == 0)
        return get_num(c, vn, k, 0, 86400 * 365.0, &cfg->cache_grace);
    if (strcmp(k, "proactive_policy_fetching") == 0) {
        if (is_null(vn))
            return 0;
        if (!is_map(c, vn, k))
            return -1;
        return each_pair(c, vn, "proactive_policy_fetching.", pf_pair, NULL);
    }
    if (strcmp(k, "default_zone") == 0) {
        if (is_null(vn))
            return 0;
        if (!is_map(c, vn, k))
            return -1;
        return each_pair(c, vn, "default_zone.", zone_pair, &cfg->default_zone);
    }
    if (strcmp(k, "zones") == 0) {
        if (is_null(vn))
            return 0;
        if (!is_map(c, vn, k))
            return -1;
        return each_pair(c, vn, "zones.", zones_pair, NULL);
    }
    if (strcmp(k, "cache") == 0)
        return cache_section(c, vn);
    /* extensions */
    if (strcmp(k, "postfix_version") == 0) {
        if (get_str(c, vn, k, &cfg->postfix_version) < 0)
            return -1;
        return cfg->postfix_version == NULL
                   ? set_str(&cfg->postfix_version, "auto")
                   : 0;
    }
    if (strcmp(k, "dns_server") == 0)
        return get_csv(c, vn, k, &cfg->dns_server);
    if (strcmp(k, "ca_file") == 0)
        return get_str(c, vn, k, &cfg->ca_file);
    if (strcmp(k, "connect_to") == 0)
        return get_list(c, vn, k, &cfg->connect_to, &cfg->nconnect_to);
    if (strcmp(k, "owner") == 0)
        return get_str(c, vn, k, &cfg->owner);
    if (strcmp(k, "line_host") == 0)
        return get_str(c, vn, k, &cfg->line_host);
    if (strcmp(k, "line_port") == 0) {
        if (is_null(vn)) {
            cfg->line_port = 0;
            return 0;
        }
        if (get_int(c, vn, k, 1, 65535, &v) < 0)
            return -1;
        cfg->line_port = (int)v;
        return 0;
    }
    if (strcmp(k, "line_path") == 0)
        return get_str(c, vn, k, &cfg->line_path);
    if (strcmp(k, "line_mode") == 0)
        return mode_value(c, vn, k, &cfg->line_mode);
    if (strcmp(k, "stats") == 0)
        return get_bool(c, vn, k, &cfg->stats);
    if (strcmp(k, "max_connections") == 0) {
        if (get_int(c, vn, k, 1, 1000000, &v) < 0)
            return -1;
        cfg->max_connections = (size_t)v;
        return 0;
    }
    if (strcmp(k, "max_lookups") == 0) {
        if (get_int(c, vn, k, 1, 1000000, &v) < 0)
            return -1;
        cfg->max_lookups = (size_t)v;
        return 0;
    }
    if (strcmp(k, "idle_timeout") == 0)
        return get_num(c, vn, k, 0.1, 86400, &cfg->idle_timeout);
    if (strcmp(k, "request_timeout") == 0)
        return get_num(c, vn, k, 0.1, 3600, &cfg->request_timeout);
    if (strcmp(k, "fetch_timeout") == 0)
        return get_num(c, vn, k, 1, 600, &cfg->fetch_timeout);
    if (strcmp(k, "tempfail_no_cache") == 0)
        return get_bool(c, vn, k, &cfg->tempfail_no_cache);
    if (strcmp(k, "refresh_used_within") == 0)
        return get_num(c, vn, k, 1, 31557600 * 10.0, &cfg->refresh_used_within);
    if (strcmp(k, "user") == 0)
        return get_str(c, vn, k, &cfg->user);
    if (strcmp(k, "pidfile") == 0)
        return get_str(c, vn, k, &cfg->pidfile);
    if (strcmp(k, "log") == 0) {
        if (get_str(c, vn, k, &cfg->log) < 0)
            return -1;
        if (cfg->log != NULL && strcmp(cfg->log, "stderr") != 0 &&
            strcmp(cfg->log, "syslog") != 0) {
            cf_err(c, vn, "log: '%s' is not stderr or syslog", cfg->log);
            return -1;
        }
        return 0;
    }
    if (strcmp(k, "log_level") == 0) {
        static const char *const names[] = {"error", "warning", "notice",
                                            "info", "debug"};
        const char *s = scalar(c, vn, k);
        size_t i;

        if (s == NULL)
            return -1;
        for (i = 0; i < 5; i++) {
            if (strcmp(s, names[i]) == 0) {
                cfg->log_level = PD_LOG_ERR + (int)i;
                return 0;
            }
        }
        cf_err(c, vn,
               "log_level: '%s' is not error, warning, notice, info "
               "or debug",
               s);
        return -1;
    }
    cf_warn(c, kn, "unknown key '%s' ignored", k);
    return 0;
}

#endif /* HAVE_YAML */

static void
spec_free(struct pd_listen_spec *s)
{
    free(s->host);
    free(s->path);
    free(s->owner);
}

void
pd_config_free(struct pd_config *cfg)
{
    size_t i;

    if (cfg == NULL)
        return;
    free(cfg->host);
    free(cfg->path);
    for (i = 0; i < cfg->nzones; i++)
        free(cfg->zones[i].name);
    free(cfg->zones);
    free(cfg->sqlite_path);
    free(cfg->redis_host);
    free(cfg->redis_unix);
    free(cfg->redis_password);
    free(cfg->redis_prefix);
    free(cfg->postfix_version);
    free(cfg->dns_server);
    free(cfg->ca_file);
    for (i = 0; i < cfg->nconnect_to; i++)
        free(cfg->connect_to[i]);
    free(cfg->connect_to);
    free(cfg->owner);
    free(cfg->line_host);
    free(cfg->line_path);
    free(cfg->user);
    free(cfg->pidfile);
    free(cfg->log);
    for (i = 0; i < cfg->nlisten; i++)
        spec_free(&cfg->listen[i]);
    free(cfg->listen);
    free(cfg);
}

static struct pd_config *
config_defaults(void)
{
    struct pd_config *cfg = calloc(1, sizeof(*cfg));

    if (cfg == NULL)
        return NULL;
    cfg->port = DEF_PORT;
    cfg->mode = -1;
    cfg->line_mode = -1;
    cfg->reuse_port = DEF_REUSE_PORT;
    cfg->shutdown_timeout = DEF_SHUTDOWN_TIMEOUT;
    cfg->cache_grace = DEF_CACHE_GRACE;
    cfg->pf_enabled = DEF_PF_ENABLED;
    cfg->pf_interval = DEF_PF_INTERVAL;
    cfg->pf_concurrency = DEF_PF_CONCURRENCY;
    cfg->pf_grace_ratio = DEF_PF_GRACE_RATIO;
    zone_defaults(&cfg->default_zone);
    cfg->cache_type = PD_CACHE_INTERNAL;
    cfg->cache_size = DEF_CACHE_SIZE;
    cfg->store_grace = -1;
    cfg->sqlite_timeout_ms = -1;
    cfg->redis_port = 6379;
    cfg->stats = 1;
    cfg->max_connections = DEF_MAX_CONNECTIONS;
    cfg->idle_timeout = DEF_IDLE_TIMEOUT;
    cfg->request_timeout = DEF_REQUEST_TIMEOUT;
    cfg->max_lookups = DEF_MAX_LOOKUPS;
    cfg->refresh_used_within = DEF_USED_WITHIN;
    cfg->log_level = PD_LOG_INFO;
    if (set_str(&cfg->host, DEF_HOST) < 0 ||
        set_str(&cfg->postfix_version, "auto") < 0) {
        pd_config_free(cfg);
        return NULL;
    }
    return cfg;
}

static int
add_spec(struct pd_config *cfg, int is_unix, int line_only, const char *host,
         int port, const char *path, int mode, const char *owner,
         int reuse_port)
{
    struct pd_listen_spec *v, *s;

    v = realloc(cfg->listen, (cfg->nlisten + 1) * sizeof(*v));
    if (v == NULL)
        return -1;
    cfg->listen = v;
    s = &v[cfg->nlisten];
    memset(s, 0, sizeof(*s));
    s->is_unix = is_unix;
    s->line_only = line_only;
    s->port = port;
    s->mode = mode;
    s->reuse_port = reuse_port;
    cfg->nlisten++;
    if ((host != NULL && (s->host = strdup(host)) == NULL) ||
        (path != NULL && (s->path = strdup(path)) == NULL) ||
        (owner != NULL && (s->owner = strdup(owner)) == NULL))
        return -1;
    return 0;
}

/* The listeners: as the resolver, path (UNIX) replaces host/port (TCP);
 * both when host or port is also set explicitly (an extension). */
static int
derive(struct cf *c)
{
    struct pd_config *cfg = c->cfg;

    if (cfg->path == NULL || c->host_set || c->port_set) {
        if (cfg->path != NULL)
            pd_log_msg(PD_LOG_NOTICE, "config",
                       "%s: path and host/port are both set: listening on "
                       "both (postfix-mta-sts-resolver would use path only)",
                       c->file);
        if (add_spec(cfg, 0, 0, cfg->host, cfg->port, NULL, -1, NULL,
                     cfg->reuse_port) < 0)
            return -1;
    }
    if (cfg->path != NULL &&
        add_spec(cfg, 1, 0, NULL, 0, cfg->path, cfg->mode, cfg->owner, 0) < 0)
        return -1;
    if (cfg->line_port != 0 &&
        add_spec(cfg, 0, 1, cfg->line_host != NULL ? cfg->line_host : cfg->host,
                 cfg->line_port, NULL, -1, NULL, cfg->reuse_port) < 0)
        return -1;
    if (cfg->line_path != NULL && add_spec(cfg, 1, 1, NULL, 0, cfg->line_path,
                                           cfg->line_mode, cfg->owner, 0) < 0)
        return -1;
    if (cfg->path != NULL && cfg->line_path != NULL &&
        strcmp(cfg->path, cfg->line_path) == 0) {
        pd_log_msg(PD_LOG_ERR, "config", "%s: path and line_path are the same",
                   c->file);
        return -1;
    }
    return 0;
}

static int
apply_overrides(struct pd_config *cfg, const struct pd_overrides *ov)
{
    size_t i;

    if (ov == NULL)
        return 0;
    if (ov->dns_server != NULL && set_str(&cfg->dns_server, ov->dns_server))
        return -1;
    if (ov->ca_file != NULL && set_str(&cfg->ca_file, ov->ca_file))
        return -1;
    if (ov->user != NULL && set_str(&cfg->user, ov->user))
        return -1;
    if (ov->pidfile != NULL && set_str(&cfg->pidfile, ov->pidfile))
        return -1;
    if (ov->debug)
        cfg->log_level = PD_LOG_DEBUG;
    if (ov->nconnect_to > 0) {
        for (i = 0; i < cfg->nconnect_to; i++)
            free(cfg->connect_to[i]);
        free(cfg->connect_to);
        cfg->nconnect_to = 0;
        cfg->connect_to = calloc(ov->nconnect_to, sizeof(char *));
        if (cfg->connect_to == NULL)
            return -1;
        for (i = 0; i < ov->nconnect_to; i++) {
            cfg->connect_to[i] = strdup(ov->connect_to[i]);
            if (cfg->connect_to[i] == NULL)
                return -1;
            cfg->nconnect_to++;
        }
    }
    return 0;
}

int
pd_config_load(const char *file, const struct pd_overrides *ov,
               struct pd_config **ret)
{
    struct cf c;
    FILE *f;
#ifdef HAVE_YAML
    yaml_parser_t parser;
    yaml_document_t doc;
    yaml_node_t *root;
    int rc = -1, have_doc = 0;
#endif

    *ret = NULL;
    memset(&c, 0, sizeof(c));
    c.file = file;
    c.cfg = config_defaults();
    if (c.cfg == NULL) {
        pd_log_msg(PD_LOG_ERR, "config", "out of memory");
        return -1;
    }
    f = fopen(file, "rb");
    if (f == NULL && errno == ENOENT && ov != NULL && ov->default_file) {
        /* no file at the default place: every default */
        pd_log_msg(PD_LOG_NOTICE, "config", "%s: not found; using defaults",
                   file);
        if (apply_overrides(c.cfg, ov) < 0 || derive(&c) < 0) {
            pd_config_free(c.cfg);
            return -1;
        }
        *ret = c.cfg;
        return 0;
    }
    if (f == NULL) {
        pd_log_msg(PD_LOG_ERR, "config", "%s: %s", file, strerror(errno));
        pd_config_free(c.cfg);
        return -1;
    }
#ifndef HAVE_YAML
    fclose(f);
    pd_log_msg(PD_LOG_ERR, "config",
               "%s: this mtasts-policyd was built without libyaml and "
               "cannot read it",
               file);
    pd_config_free(c.cfg);
    return -1;
#else
    if (!yaml_parser_initialize(&parser)) {
        fclose(f);
        pd_config_free(c.cfg);
        return -1;
    }
    yaml_parser_set_input_file(&parser, f);
    if (!yaml_parser_load(&parser, &doc)) {
        pd_log_msg(PD_LOG_ERR, "config", "%s:%lu:%lu: YAML error: %s%s%s", file,
                   (unsigned long)parser.problem_mark.line + 1,
                   (unsigned long)parser.problem_mark.column + 1,
                   parser.problem != NULL ? parser.problem : "unknown",
                   parser.context != NULL ? " " : "",
                   parser.context != NULL ? parser.context : "");
        goto out;
    }
    have_doc = 1;
    c.doc = &doc;
    root = yaml_document_get_root_node(&doc);
    /* an empty file, or a null document: every default (as the
     * resolver) */
    if (root != NULL && !is_null(root)) {
        if (!is_map(&c, root, "the file"))
            goto out;
        if (each_pair(&c, root, "", top_pair, NULL) < 0)
            goto out;
    }
    if (apply_overrides(c.cfg, ov) < 0 || derive(&c) < 0)
        goto out;
    rc = 0;
out:
    if (have_doc)
        yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    fclose(f);
    if (rc == 0)
        *ret = c.cfg;
    else
        pd_config_free(c.cfg);
    return rc;
#endif
}

const struct pd_zone *
pd_config_zone(const struct pd_config *cfg, const char *name, size_t len)
{
    size_t i;

    if (name != NULL) {
        for (i = 0; i < cfg->nzones; i++)
            if (strlen(cfg->zones[i].name) == len &&
                memcmp(cfg->zones[i].name, name, len) == 0)
                return &cfg->zones[i];
    }
    return &cfg->default_zone;
}

/* Run postconf -h mail_version; the first line of its output into buf. */
static int
run_postconf(char *buf, size_t buf_len)
{
    static const char *const paths[] = {"/usr/sbin/postconf", "postconf"};
    int fds[2], status, devnull;
    pid_t pid;
    size_t n = 0;
    ssize_t r;

    if (pipe(fds) < 0)
        return -1;
    pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    if (pid == 0) {
        size_t i;

        close(fds[0]);
        if (dup2(fds[1], 1) < 0)
            _exit(127);
        devnull = open("/dev/null", O_RDWR);
        if (devnull >= 0) {
            dup2(devnull, 0);
            dup2(devnull, 2);
        }
        for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
            execlp(paths[i], "postconf", "-h", "mail_version", (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    while (n + 1 < buf_len) {
        r = read(fds[0], buf + n, buf_len - 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    close(fds[0]);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    buf[n] = '\0';
    buf[strcspn(buf, "\r\n")] = '\0';
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || buf[0] == '\0')
        return -1;
    return 0;
}

int
pd_postfix_version(const struct pd_config *cfg, uint32_t *ret, char *text,
                   size_t text_len)
{
    char buf[128];
    const char *v = cfg->postfix_version;
    size_t off = 0;

    if (strcmp(v, "auto") == 0) {
        if (run_postconf(buf, sizeof(buf)) < 0) {
            pd_log_msg(PD_LOG_WARNING, "postfix_version",
                       "postfix_version auto: 'postconf -h mail_version' "
                       "failed; answering for Postfix 3.4.0 (set "
                       "postfix_version to the version of your Postfix)");
            *ret = MTASTS_POSTFIX_VERSION(3, 4, 0);
            snprintf(text, text_len, "3.4.0");
            return 0;
        }
        v = buf;
    }
    if (mtasts_postfix_version_parse(v, strlen(v), ret, &off) != 0) {
        pd_log_msg(PD_LOG_ERR, "postfix_version",
                   "postfix_version '%s': not a Postfix version (expected "
                   "MAJOR.MINOR.PATCH or MAJOR.MINOR-YYYYMMDD; offset %zu)",
                   v, off);
        return -1;
    }
    if (*ret < MTASTS_POSTFIX_VERSION(2, 10, 0)) {
        pd_log_msg(PD_LOG_ERR, "postfix_version",
                   "postfix_version %s: socketmap needs Postfix 2.10 or "
                   "later",
                   v);
        return -1;
    }
    snprintf(text, text_len, "%s", v);
    return 0;
}
