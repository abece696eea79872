/*
 * Member values of TLSRPT reports: RFC 3339 date-times
 * (doc/requirements.md 1.7, E-17) and IP address literals (1.8; RFC 5952 text
 * for IPv6).
 */
#include "tlsrpt_int.h"

static int
digits(const char *s, size_t n, int *ret)
{
    int v = 0;
    size_t i;

    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *ret = v;
    return 0;
}

static int
leap_year(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
month_days(int64_t y, int m)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30,
                                 31, 31, 30, 31, 30, 31};

    return m == 2 && leap_year(y) ? 29 : days[m - 1];
}

/* Days since 1970-01-01 of a proleptic Gregorian date (civil calendar
 * arithmetic on 400-year eras). */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
    int64_t era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void
civil_from_days(int64_t z, int64_t *ry, int *rm, int *rd)
{
    int64_t era, doe, yoe, y, doy, mp;

    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    y = yoe + era * 400;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *rd = (int)(doy - (153 * mp + 2) / 5 + 1);
    *rm = (int)(mp < 10 ? mp + 3 : mp - 9);
    *ry = y + (*rm <= 2);
}

/* Unix seconds of 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z. */
#define T_MIN ((int64_t)-62167219200)
#define T_MAX ((int64_t)253402300799)

int
mt_datetime_parse(const char *s, size_t n, int64_t *ret, int *ret_no_offset)
{
    int y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 0;
    size_t i;
    int64_t t;

    /* full-date "T" partial-time: 19 bytes at least */
    if (n < 19 || s[4] != '-' || s[7] != '-' ||
        (s[10] != 'T' && s[10] != 't') || s[13] != ':' || s[16] != ':')
        return -1;
    if (digits(s, 4, &y) || digits(s + 5, 2, &mo) || digits(s + 8, 2, &d) ||
        digits(s + 11, 2, &h) || digits(s + 14, 2, &mi) ||
        digits(s + 17, 2, &sec))
        return -1;
    if (mo < 1 || mo > 12 || d < 1 || d > month_days(y, mo) || h > 23 ||
        mi > 59 || sec > 60)
        return -1;
    i = 19;
    if (i < n && s[i] == '.') {
        size_t f = ++i;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
        if (i == f)
            return -1;
    }
    *ret_no_offset = 0;
    if (i == n) {
        *ret_no_offset = 1;
    } else if ((s[i] == 'Z' || s[i] == 'z') && i + 1 == n) {
        /* UTC */
    } else if ((s[i] == '+' || s[i] == '-') && n - i == 6 && s[i + 3] == ':') {
        sign = s[i] == '+' ? 1 : -1;
        if (digits(s + i + 1, 2, &oh) || digits(s + i + 4, 2, &om) || oh > 23 ||
            om > 59)
            return -1;
    } else
        return -1;
    if (sec == 60)
        sec = 59; /* a leap second is read as the second before it */
    t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec;
    t -= sign * (oh * 3600 + om * 60);
    if (t < T_MIN || t > T_MAX)
        return -1;
    *ret = t;
    return 0;
}

static void
two(char *o, int v)
{
    o[0] = (char)('0' + v / 10);
    o[1] = (char)('0' + v % 10);
}

int
mt_datetime_format(int64_t t, char out[20])
{
    int64_t days, y, sod;
    int m, d;

    if (t < T_MIN || t > T_MAX)
        return -1;
    days = t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
    sod = t - days * 86400;
    civil_from_days(days, &y, &m, &d);
    two(out, (int)(y / 100));
    two(out + 2, (int)(y % 100));
    out[4] = '-';
    two(out + 5, m);
    out[7] = '-';
    two(out + 8, d);
    out[10] = 'T';
    two(out + 11, (int)(sod / 3600));
    out[13] = ':';
    two(out + 14, (int)(sod / 60 % 60));
    out[16] = ':';
    two(out + 17, (int)(sod % 60));
    out[19] = 'Z';
    return 0;
}

/* dec-octet "." x3 dec-octet; the value into *ret when not NULL. Each
 * octet is read digit by digit, unrolled (at most three). */
static int
ipv4(const char *s, size_t n, uint32_t *ret)
{
    const unsigned char *p = (const unsigned char *)s, *e = p + n;
    uint32_t v = 0;
    unsigned o, d;
    int part;

    if (n < 7 || n > 15)
        return 0;
    for (part = 0; part < 4; part++) {
        if (part > 0) {
            if (p == e || *p != '.')
                return 0;
            p++;
        }
        if (p == e || (o = (unsigned)*p - '0') > 9)
            return 0;
        p++;
        if (p < e && (d = (unsigned)*p - '0') <= 9) {
            if (o == 0)
                return 0; /* no leading zero */
            o = o * 10 + d;
            p++;
            if (p < e && (d = (unsigned)*p - '0') <= 9) {
                o = o * 10 + d;
                p++;
                if (o > 255)
                    return 0;
            }
        }
        v = v << 8 | o;
    }
    if (p != e)
        return 0;
    if (ret != NULL)
        *ret = v;
    return 1;
}

/* Hex digit value plus one; 0 for any other byte. */
static const unsigned char hex1[256] = {
    ['0'] = 1,  ['1'] = 2,  ['2'] = 3,  ['3'] = 4,  ['4'] = 5,  ['5'] = 6,
    ['6'] = 7,  ['7'] = 8,  ['8'] = 9,  ['9'] = 10, ['a'] = 11, ['b'] = 12,
    ['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16, ['A'] = 11, ['B'] = 12,
    ['C'] = 13, ['D'] = 14, ['E'] = 15, ['F'] = 16,
};

/* RFC 3986 IPv6address into 8 groups. 1 or 0. */
static int
ipv6(const char *s, size_t n, uint16_t g[8])
{
    uint16_t head[8], tail[8];
    size_t nh = 0, nt = 0, i = 0;
    int gap = 0;

    if (n < 2)
        return 0;
    if (s[0] == ':') {
        if (s[1] != ':')
            return 0;
        gap = 1;
        i = 2;
    }
    while (i < n) {
        size_t st = i;
        unsigned v = 0;
        uint16_t *dst = gap ? tail : head;
        size_t *cnt = gap ? &nt : &nh;

        if (nh + nt >= 8)
            return 0;
        for (; i < n && i - st < 4; i++) {
            unsigned h = hex1[(unsigned char)s[i]];
            if (h == 0)
                break;
            v = v << 4 | (h - 1);
        }
        if (i < n && s[i] == '.') {
            /* ls32 as IPv4: the rest of the text, taking two groups */
            uint32_t a;
            if (nh + nt > 6 || !ipv4(s + st, n - st, &a))
                return 0;
            dst[(*cnt)++] = (uint16_t)(a >> 16);
            dst[(*cnt)++] = (uint16_t)(a & 0xFFFF);
            i = n;
            break;
        }
        if (i == st)
            return 0;
        dst[(*cnt)++] = (uint16_t)v;
        if (i == n)
            break;
        if (s[i] != ':')
            return 0;
        i++;
        if (i < n && s[i] == ':') {
            if (gap)
                return 0;
            gap = 1;
            i++;
            if (i == n)
                break;
        } else if (i == n)
            return 0; /* trailing single ':' */
    }
    if (gap ? nh + nt > 7 : nh != 8)
        return 0;
    memset(g, 0, 8 * sizeof(*g));
    memcpy(g, head, nh * sizeof(*g));
    memcpy(g + 8 - nt, tail, nt * sizeof(*g));
    return 1;
}

int
mt_is_ipv4(const char *s, size_t n)
{
    return ipv4(s, n, NULL);
}

static int
has_colon5(const char *s, size_t n)
{
    size_t i, m = n < 5 ? n : 5;

    for (i = 0; i < m; i++)
        if (s[i] == ':')
            return 1;
    return 0;
}

int
mt_ip_kind(const char *s, size_t n)
{
    uint16_t g[8];

    if (ipv4(s, n, NULL))
        return 4;
    /* an IPv6address has a ':' within its first 5 bytes (a group has at
     * most 4 digits): a cheap way to turn away host names */
    if (has_colon5(s, n) && ipv6(s, n, g))
        return 6;
    return 0;
}

size_t
mt_ipv6_canon(const char *s, size_t n, char out[46])
{
    static const char hx[] = "0123456789abcdef";
    uint16_t g[8];
    int best = -1, blen = 0, i;
    size_t o = 0;

    if (!ipv6(s, n, g)) {
        out[0] = 0;
        return 0;
    }
    for (i = 0; i < 8;) {
        int k = i;
        while (k < 8 && g[k] == 0)
            k++;
        if (k - i > blen) {
            best = i;
            blen = k - i;
        }
        i = k > i ? k : i + 1;
    }
    if (blen < 2)
        best = -1;
    /* IPv4-mapped addresses (::ffff:0:0/96) keep the dotted quad */
    if (best == 0 && blen == 5 && g[5] == 0xFFFF) {
        static const char pre[] = "::ffff:";
        int q;
        memcpy(out, pre, 7);
        o = 7;
        for (q = 0; q < 4; q++) {
            unsigned b = q < 2 ? (unsigned)(g[6] >> (q == 0 ? 8 : 0)) & 0xFF
                               : (unsigned)(g[7] >> (q == 2 ? 8 : 0)) & 0xFF;
            if (q > 0)
                out[o++] = '.';
            if (b >= 100)
                out[o++] = (char)('0' + b / 100);
            if (b >= 10)
                out[o++] = (char)('0' + b / 10 % 10);
            out[o++] = (char)('0' + b % 10);
        }
        out[o] = 0;
        return o;
    }
    for (i = 0; i < 8; i++) {
        int sh, started = 0;
        if (i == best) {
            out[o++] = ':';
            out[o++] = ':';
            i += blen - 1;
            continue;
        }
        if (i > 0 && i != best + blen)
            out[o++] = ':';
        for (sh = 12; sh >= 0; sh -= 4) {
            unsigned nib = (unsigned)(g[i] >> sh) & 15;
            if (nib != 0 || started || sh == 0) {
                out[o++] = hx[nib];
                started = 1;
            }
        }
    }
    out[o] = 0;
    return o;
}
