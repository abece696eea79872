/*
 * mtasts-policyd logs: one line per event, "level=... event=..." followed
 * by key=value fields, to stderr (with a leading ts= field) or syslog.
 * A value that is not a plain token (letters, digits, and -._:/@+*[]) is
 * written in double quotes with ", \ and every byte outside printable
 * ASCII escaped, so nothing a client sends can split a line or forge a
 * field. A line that does not fit its buffer ends with "truncated=1".
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "pd.h"

static int log_syslog;
static int log_max = PD_LOG_INFO;

static const char *const level_names[] = {
    "emerg", "alert", "crit", "error", "warning", "notice", "info", "debug",
};

void
pd_log_setup(int use_syslog, int max_level)
{
    if (use_syslog && !log_syslog)
        openlog("mtasts-policyd", LOG_PID | LOG_NDELAY, LOG_MAIL);
    else if (!use_syslog && log_syslog)
        closelog();
    log_syslog = use_syslog;
    log_max = max_level;
}

int
pd_log_enabled(int level)
{
    return level <= log_max;
}

static void
ll_put(struct pd_ll *l, const char *s, size_t n)
{
    size_t room = sizeof(l->buf) - 1 - l->len;

    if (n > room)
        n = room;
    memcpy(l->buf + l->len, s, n);
    l->len += n;
    l->buf[l->len] = '\0';
}

void
pd_ll_begin(struct pd_ll *l, int level, const char *event)
{
    l->level = level;
    l->len = 0;
    l->buf[0] = '\0';
    ll_put(l, "level=", 6);
    if (level >= 0 && level <= PD_LOG_DEBUG)
        ll_put(l, level_names[level], strlen(level_names[level]));
    ll_put(l, " event=", 7);
    ll_put(l, event, strlen(event));
}

static int
plain_byte(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
           c == ':' || c == '/' || c == '@' || c == '+' || c == '*' ||
           c == '[' || c == ']' || c == ',';
}

void
pd_ll_str(struct pd_ll *l, const char *key, const char *v, size_t n)
{
    size_t i;
    int plain = n > 0;

    ll_put(l, " ", 1);
    ll_put(l, key, strlen(key));
    ll_put(l, "=", 1);
    for (i = 0; i < n && plain; i++)
        plain = plain_byte((unsigned char)v[i]);
    if (plain) {
        ll_put(l, v, n);
        return;
    }
    ll_put(l, "\"", 1);
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)v[i];
        char esc[8];

        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            ll_put(l, esc, 2);
        } else if (c < 0x20 || c > 0x7e) {
            snprintf(esc, sizeof(esc), "\\x%02x", c);
            ll_put(l, esc, 4);
        } else {
            ll_put(l, v + i, 1);
        }
    }
    ll_put(l, "\"", 1);
}

void
pd_ll_cstr(struct pd_ll *l, const char *key, const char *v)
{
    pd_ll_str(l, key, v != NULL ? v : "", v != NULL ? strlen(v) : 0);
}

void
pd_ll_int(struct pd_ll *l, const char *key, long long v)
{
    char num[32];
    int n = snprintf(num, sizeof(num), "%lld", v);

    ll_put(l, " ", 1);
    ll_put(l, key, strlen(key));
    ll_put(l, "=", 1);
    ll_put(l, num, (size_t)n);
}

void
pd_ll_raw(struct pd_ll *l, const char *s, size_t n)
{
    size_t i;

    ll_put(l, " ", 1);
    /* still one line */
    for (i = 0; i < n; i++) {
        char c = (s[i] == '\n' || s[i] == '\r') ? ' ' : s[i];

        ll_put(l, &c, 1);
    }
}

void
pd_ll_end(struct pd_ll *l)
{
    if (!pd_log_enabled(l->level))
        return;
    if (l->len >= sizeof(l->buf) - 1) {
        l->len = sizeof(l->buf) - 1 - 12;
        l->buf[l->len] = '\0';
        ll_put(l, " truncated=1", 12);
    }
    if (log_syslog) {
        syslog(l->level, "%s", l->buf);
    } else {
        char ts[64];
        struct timespec now;
        struct tm tm;

        clock_gettime(CLOCK_REALTIME, &now);
        gmtime_r(&now.tv_sec, &tm);
        snprintf(ts, sizeof(ts), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                 tm.tm_min, tm.tm_sec, (int)(now.tv_nsec / 1000000));
        fprintf(stderr, "ts=%s %s\n", ts, l->buf);
        fflush(stderr);
    }
}

void
pd_log_msg(int level, const char *event, const char *fmt, ...)
{
    struct pd_ll l;
    char msg[1024];
    va_list ap;
    int n;

    if (!pd_log_enabled(level))
        return;
    va_start(ap, fmt);
    n = vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    if ((size_t)n >= sizeof(msg))
        n = (int)sizeof(msg) - 1;
    pd_ll_begin(&l, level, event);
    pd_ll_str(&l, "msg", msg, (size_t)n);
    pd_ll_end(&l);
}
