/*
 * Logging: to stderr (in the foreground) or to syslog (facility mail),
 * one line per call, from any thread; rate limits for what input can
 * make repeat; printable renderings of input for log lines; UTC days.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include "td.h"

static int log_syslog;

void
td_log_open(int to_syslog)
{
    log_syslog = to_syslog;
    if (to_syslog)
        openlog("mtasts-tlsrptd", LOG_PID | LOG_NDELAY, LOG_MAIL);
}

static void vlog(int level, const char *fmt, va_list ap)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 0)))
#endif
    ;

static void
vlog(int level, const char *fmt, va_list ap)
{
    char line[1024];

    vsnprintf(line, sizeof(line), fmt, ap);
    if (log_syslog)
        syslog(level, "%s", line);
    else
        /* one call: stdio locks the stream, lines do not mix */
        fprintf(stderr, "mtasts-tlsrptd: %s%s\n",
                level <= TD_LOG_ERR       ? "error: "
                : level == TD_LOG_WARNING ? "warning: "
                                          : "",
                line);
}

void
td_log(int level, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vlog(level, fmt, ap);
    va_end(ap);
}

void
td_log_limited(struct td_ratelimit *rl, int64_t now, int level, const char *fmt,
               ...)
{
    va_list ap;
    int64_t minute = now - now % 60;

    if (minute != rl->window) {
        if (rl->held > 0)
            td_log(level,
                   "(%llu more messages like the next were held back "
                   "in the last minute)",
                   (unsigned long long)rl->held);
        rl->window = minute;
        rl->lines = 0;
        rl->held = 0;
    }
    if (rl->lines >= TD_LOG_BURST) {
        rl->held++;
        return;
    }
    rl->lines++;
    va_start(ap, fmt);
    vlog(level, fmt, ap);
    va_end(ap);
}

void
td_printable(const char *s, size_t n, size_t max, char *dst, size_t dst_len)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t i, o = 0;
    unsigned char c;

    if (dst_len == 0)
        return;
    for (i = 0; i < n && i < max; i++) {
        c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7F && c != '\\') {
            if (o + 1 >= dst_len)
                break;
            dst[o++] = (char)c;
        } else {
            if (o + 4 >= dst_len)
                break;
            dst[o++] = '\\';
            dst[o++] = 'x';
            dst[o++] = hex[c >> 4];
            dst[o++] = hex[c & 15];
        }
    }
    if (i < n && o + 3 < dst_len) {
        memcpy(dst + o, "...", 3);
        o += 3;
    }
    dst[o] = '\0';
}

/* Days since 1970-01-01 of a proleptic Gregorian date, and back. */
static int64_t
days_from_civil(int64_t y, int64_t m, int64_t d)
{
    int64_t era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void
td_day_format(int64_t day, char dst[11])
{
    int64_t z = day / TD_DAY + 719468, era, doe, yoe, doy, mp, y, m, d;

    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    d = doy - (153 * mp + 2) / 5 + 1;
    m = mp < 10 ? mp + 3 : mp - 9;
    y = yoe + era * 400 + (m <= 2);
    y %= 10000;
    if (y < 0)
        y += 10000;
    dst[0] = (char)('0' + y / 1000);
    dst[1] = (char)('0' + y / 100 % 10);
    dst[2] = (char)('0' + y / 10 % 10);
    dst[3] = (char)('0' + y % 10);
    dst[4] = '-';
    dst[5] = (char)('0' + m / 10);
    dst[6] = (char)('0' + m % 10);
    dst[7] = '-';
    dst[8] = (char)('0' + d / 10);
    dst[9] = (char)('0' + d % 10);
    dst[10] = '\0';
}

int64_t
td_day_parse(const char *s)
{
    int64_t y, m, d, day;
    char back[11];
    size_t i;

    if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        return -1;
    for (i = 0; i < 10; i++)
        if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
            return -1;
    y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 +
        (s[3] - '0');
    m = (s[5] - '0') * 10 + (s[6] - '0');
    d = (s[8] - '0') * 10 + (s[9] - '0');
    if (y < 1970 || m < 1 || m > 12 || d < 1 || d > 31)
        return -1;
    day = days_from_civil(y, m, d) * TD_DAY;
    /* 2023-02-30 and the like do not come back the same */
    td_day_format(day, back);
    return strcmp(back, s) == 0 ? day : -1;
}
