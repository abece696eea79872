/*
 * bench_text: micro-benchmarks of the text paths of libmtasts, each measured
 * side by side with a hand-written baseline in the same run.
 *
 *   policy_parse   mtasts_policy_parse + mtasts_policy_free on a 6-line
 *                  Google-like policy, vs an allocation-free strict scan
 *   txt_parse      mtasts_sts_record_parse + free, vs a strict TXT scan
 *   mx_wildcard    mtasts_mx_match with a "*." pattern, vs strchr+strcasecmp
 *   mx_exact       mtasts_mx_match with an exact pattern, vs strcasecmp
 *
 * Every case runs in many batches (interleaved across cases, so drift hits
 * all of them alike); a batch lasts about --batch-ms and the reported
 * figure is the median ns/op over the batches. Ratios are library/baseline,
 * for information: the targets of issue 10 are against the peers
 * (bench/report.py), so no case here has a target of its own.
 *
 * Options:
 *   --json           machine-readable output on stdout
 *   --batches N      number of batches per case (default 31)
 *   --batch-ms MS    target batch duration (default 20)
 *   --iterations N   fixed-iteration mode: one batch of N iterations per case,
 *                    no calibration (for valgrind --tool=callgrind)
 *   --only NAME      run only the case NAME (see the table)
 *   --print-policy   write the policy bytes used by the bench and exit
 *
 * Timings are never asserted: the exit status is 0 unless a self-check
 * (the parsers and baselines agreeing on valid and invalid inputs) fails.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "bench_util.h"
#include "mtasts.h"

#if defined(__GNUC__) && !defined(__clang__)
/* noipa: no inlining and no inter-procedural facts (pure/const), so a call
 * with the same arguments cannot be hoisted out of the timing loop. */
#define BENCH_NOINLINE __attribute__((noipa))
#elif defined(__GNUC__)
#define BENCH_NOINLINE __attribute__((noinline))
#else
#define BENCH_NOINLINE
#endif

/* ------------------------------------------------------------------ */
/* Inputs. Read through volatile pointers on every iteration so the     */
/* compiler cannot treat them as constants or hoist work out of loops.  */
/* ------------------------------------------------------------------ */

static const char policy_text[] = "version: STSv1\n"
                                  "mode: enforce\n"
                                  "mx: smtp.google.com\n"
                                  "mx: aspmx.l.google.com\n"
                                  "mx: *.aspmx.l.google.com\n"
                                  "max_age: 86400\n";
/* The peers (bench/peers/bench_pmsr.py, bench_mailauth.js) measure the same
 * TXT record and MX names: keep them in step. */
static const char txt_text[] = "v=STSv1; id=20160831085700Z;";
static const char mx_wild_pat[] = "*.aspmx.l.google.com";
static const char mx_exact_pat[] = "aspmx.l.google.com";
static const char mx_host[] = "alt1.aspmx.l.google.com";
static const char mx_exact_host[] = "ASPMX.L.google.com";

static const char *volatile g_policy = policy_text;
static volatile size_t g_policy_len = sizeof(policy_text) - 1;
static const char *volatile g_txt = txt_text;
static volatile size_t g_txt_len = sizeof(txt_text) - 1;
static const char *volatile g_wpat = mx_wild_pat;
static volatile size_t g_wpat_len = sizeof(mx_wild_pat) - 1;
static const char *volatile g_epat = mx_exact_pat;
static volatile size_t g_epat_len = sizeof(mx_exact_pat) - 1;
static const char *volatile g_host = mx_host;
static volatile size_t g_host_len = sizeof(mx_host) - 1;
static const char *volatile g_ehost = mx_exact_host;
static volatile size_t g_ehost_len = sizeof(mx_exact_host) - 1;

static volatile uintptr_t g_sink;
static mtasts_ctx *g_ctx;

/* ------------------------------------------------------------------ */
/* Baselines: hand-written, allocation-free, strict (RFC 8461 ABNF).   */
/* They validate what the grammar requires for these inputs, and keep  */
/* the parsed values, but do not build an owned object, keep raw       */
/* lines, drop duplicate mx, or report diagnostics.                    */
/* ------------------------------------------------------------------ */

enum {
    B_ALNUM = 0x01, /* letter, digit */
    B_LDH = 0x02,   /* letter, digit, hyphen */
    B_KEY = 0x04,   /* field name tail: alnum, '_', '-', '.' */
    B_DIGIT = 0x08,
    B_PVAL = 0x10, /* policy ext value: VCHAR or SP (ASCII subset) */
    B_TVAL = 0x20, /* TXT ext value: 0x21-0x3A, 0x3C, 0x3E-0x7E */
    B_WSP = 0x40,  /* SP, HTAB */
};

static unsigned char bcls[256];

static void
baseline_init(void)
{
    unsigned c;

    for (c = 0; c < 256; c++) {
        unsigned char m = 0;
        int alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
        int digit = c >= '0' && c <= '9';

        if (alpha || digit)
            m |= B_ALNUM | B_LDH | B_KEY;
        if (digit)
            m |= B_DIGIT;
        if (c == '-')
            m |= B_LDH | B_KEY;
        if (c == '_' || c == '.')
            m |= B_KEY;
        if (c >= 0x20 && c <= 0x7E)
            m |= B_PVAL;
        if (c >= 0x21 && c <= 0x7E && c != ';' && c != '=')
            m |= B_TVAL;
        if (c == ' ' || c == '\t')
            m |= B_WSP;
        bcls[c] = m;
    }
}

#define BIS(c, m) ((bcls[(unsigned char)(c)] & (m)) != 0)

/* ["*."] Domain: LDH labels of 1-63, no hyphen at either end of a label,
 * at most 253 octets. Scans label by label: the inner loop only tests
 * the class table, label ends are checked once per label. Returns the
 * end of the name (s + n when all of s[0..n) is valid), or NULL. */
static const char *
base_hostname(const char *s, size_t n)
{
    size_t p = 0, hs;

    if (n >= 2 && s[0] == '*' && s[1] == '.')
        p = 2;
    hs = p;
    for (;;) {
        size_t ls = p;
        while (p < n && BIS(s[p], B_LDH))
            p++;
        if (p == ls || p - ls > 63 || s[ls] == '-' || s[p - 1] == '-')
            return NULL;
        if (p < n && s[p] == '.') {
            p++;
            continue;
        }
        break;
    }
    return p - hs <= 253 ? s + p : NULL;
}

static int
base_mx_pattern(const char *s, size_t n)
{
    return base_hostname(s, n) == s + n;
}

struct base_policy {
    int mode;
    uint32_t max_age;
    unsigned mx_count;
    const char *mx[8]; /* first patterns, borrowed */
    size_t mx_len[8];
};

/* 0 on a valid policy, -1 otherwise. */
BENCH_NOINLINE static int
base_policy_scan(const char *b, size_t n, struct base_policy *r)
{
    size_t p = 0;
    int have_v = 0, have_mode = 0, have_age = 0;

    r->mode = 0;
    r->max_age = 0;
    r->mx_count = 0;
    if (n == 0)
        return -1;
    while (p < n) {
        const char *lf = memchr(b + p, '\n', n - p);
        size_t eol = lf != NULL ? (size_t)(lf - b) : n;
        size_t next = lf != NULL ? eol + 1 : n;
        size_t ks = p, kl, vs, ve, i;

        if (lf != NULL && eol > p && b[eol - 1] == '\r')
            eol--;
        /* key ":" *WSP value *WSP */
        if (p == eol || !BIS(b[p], B_ALNUM))
            return -1;
        p++;
        while (p < eol && BIS(b[p], B_KEY))
            p++;
        kl = p - ks;
        if (p == eol || b[p] != ':' || kl > 32)
            return -1;
        p++;
        while (p < eol && BIS(b[p], B_WSP))
            p++;
        vs = p;
        ve = eol;
        while (ve > vs && BIS(b[ve - 1], B_WSP))
            ve--;
        if (vs == ve)
            return -1;
        if (kl == 2 && b[ks] == 'm' && b[ks + 1] == 'x') {
            if (!base_mx_pattern(b + vs, ve - vs))
                return -1;
            if (r->mx_count < 8) {
                r->mx[r->mx_count] = b + vs;
                r->mx_len[r->mx_count] = ve - vs;
            }
            r->mx_count++;
        } else if (kl == 7 && memcmp(b + ks, "version", 7) == 0) {
            if (!have_v) {
                if (ve - vs != 5 || memcmp(b + vs, "STSv1", 5) != 0)
                    return -1;
                have_v = 1;
            }
        } else if (kl == 4 && memcmp(b + ks, "mode", 4) == 0) {
            if (!have_mode) {
                size_t vl = ve - vs;
                if (vl == 7 && memcmp(b + vs, "enforce", 7) == 0)
                    r->mode = 1;
                else if (vl == 7 && memcmp(b + vs, "testing", 7) == 0)
                    r->mode = 2;
                else if (vl == 4 && memcmp(b + vs, "none", 4) == 0)
                    r->mode = 3;
                else
                    return -1;
                have_mode = 1;
            }
        } else if (kl == 7 && memcmp(b + ks, "max_age", 7) == 0) {
            if (!have_age) {
                uint64_t v = 0;
                if (ve - vs > 10)
                    return -1;
                for (i = vs; i < ve; i++) {
                    if (!BIS(b[i], B_DIGIT))
                        return -1;
                    v = v * 10 + (uint64_t)(b[i] - '0');
                }
                r->max_age = v > 31557600 ? 31557600 : (uint32_t)v;
                have_age = 1;
            }
        } else {
            /* extension: ASCII VCHAR / inner SP only (the library also
             * takes UTF-8; not exercised by this input) */
            for (i = vs; i < ve; i++)
                if (!BIS(b[i], B_PVAL))
                    return -1;
        }
        p = next;
    }
    if (!have_v || !have_mode || !have_age)
        return -1;
    if (r->mode != 3 && r->mx_count == 0)
        return -1;
    return 0;
}

/* The same validation in a single fused pass: no memchr per line, each
 * value is validated while scanning towards the line end. 0 on a valid
 * policy, -1 otherwise. */
BENCH_NOINLINE static int
base_policy_scan_fused(const char *b, size_t n, struct base_policy *r)
{
    size_t p = 0;
    int have_v = 0, have_mode = 0, have_age = 0;

    r->mode = 0;
    r->max_age = 0;
    r->mx_count = 0;
    if (n == 0)
        return -1;
    while (p < n) {
        size_t ks = p, kl, vs;

        /* key ":" *WSP */
        if (!BIS(b[p], B_ALNUM))
            return -1;
        p++;
        while (p < n && BIS(b[p], B_KEY))
            p++;
        kl = p - ks;
        if (p == n || b[p] != ':' || kl > 32)
            return -1;
        p++;
        while (p < n && BIS(b[p], B_WSP))
            p++;
        vs = p;
        /* value, validated up to its first byte that cannot belong to it */
        if (kl == 2 && b[ks] == 'm' && b[ks + 1] == 'x') {
            const char *end = base_hostname(b + p, n - p);
            if (end == NULL)
                return -1;
            p = (size_t)(end - b);
            if (r->mx_count < 8) {
                r->mx[r->mx_count] = b + vs;
                r->mx_len[r->mx_count] = p - vs;
            }
            r->mx_count++;
        } else if (!have_v && kl == 7 && memcmp(b + ks, "version", 7) == 0) {
            if (n - p < 5 || memcmp(b + p, "STSv1", 5) != 0)
                return -1;
            p += 5;
            have_v = 1;
        } else if (!have_mode && kl == 4 && memcmp(b + ks, "mode", 4) == 0) {
            int m = 0;
            if (n - p >= 7 && memcmp(b + p, "enforce", 7) == 0)
                m = 1, p += 7;
            else if (n - p >= 7 && memcmp(b + p, "testing", 7) == 0)
                m = 2, p += 7;
            else if (n - p >= 4 && memcmp(b + p, "none", 4) == 0)
                m = 3, p += 4;
            else
                return -1;
            r->mode = m;
            have_mode = 1;
        } else if (!have_age && kl == 7 && memcmp(b + ks, "max_age", 7) == 0) {
            uint64_t v = 0;
            for (; p < n && BIS(b[p], B_DIGIT); p++)
                v = v * 10 + (uint64_t)(b[p] - '0');
            if (p == vs || p - vs > 10)
                return -1;
            r->max_age = v > 31557600 ? 31557600 : (uint32_t)v;
            have_age = 1;
        } else {
            /* extension, or a repeated field (the first one wins) */
            while (p < n && BIS(b[p], B_PVAL))
                p++;
            if (p == vs)
                return -1;
        }
        /* *WSP (LF / CRLF / end of input) */
        while (p < n && BIS(b[p], B_WSP))
            p++;
        if (p < n) {
            if (b[p] == '\r')
                p++;
            if (p == n || b[p] != '\n')
                return -1;
            p++;
        }
    }
    if (!have_v || !have_mode || !have_age)
        return -1;
    if (r->mode != 3 && r->mx_count == 0)
        return -1;
    return 0;
}

struct base_txt {
    const char *id;
    size_t id_len;
    unsigned ext_count;
};

/* v=STSv1 1*(*WSP ";" *WSP field) [*WSP ";" *WSP]; id is 1-32 alnum and
 * required; 0 on a valid record, -1 otherwise. */
BENCH_NOINLINE static int
base_txt_scan(const char *b, size_t n, struct base_txt *r)
{
    size_t p = 7, ns;
    int fields = 0;

    r->id = NULL;
    r->id_len = 0;
    r->ext_count = 0;
    if (n < 7 || memcmp(b, "v=STSv1", 7) != 0)
        return -1;
    for (;;) {
        /* sts-field-delim */
        while (p < n && BIS(b[p], B_WSP))
            p++;
        if (p == n || b[p] != ';')
            return -1;
        p++;
        while (p < n && BIS(b[p], B_WSP))
            p++;
        if (p == n)
            break;
        /* sts-field: name "=" value */
        ns = p;
        if (!BIS(b[p], B_ALNUM))
            return -1;
        p++;
        while (p < n && BIS(b[p], B_KEY))
            p++;
        if (p == n || b[p] != '=' || p - ns > 32)
            return -1;
        if (p - ns == 2 && b[ns] == 'i' && b[ns + 1] == 'd') {
            size_t vs = ++p;
            while (p < n && BIS(b[p], B_ALNUM))
                p++;
            if (p == vs || p - vs > 32)
                return -1;
            if (r->id == NULL) {
                r->id = b + vs;
                r->id_len = p - vs;
            }
        } else {
            size_t vs = ++p;
            while (p < n && BIS(b[p], B_TVAL))
                p++;
            if (p == vs)
                return -1;
            r->ext_count++;
        }
        fields++;
        if (p == n)
            break;
    }
    return fields > 0 && r->id != NULL ? 0 : -1;
}

/* Wildcard: the first '.' of the host, then strcasecmp of the suffix;
 * exact: strcasecmp. Needs NUL-terminated strings; validates nothing. */
BENCH_NOINLINE static int
base_mx_match(const char *pattern, const char *host)
{
    if (pattern[0] == '*' && pattern[1] == '.') {
        const char *dot = strchr(host, '.');
        if (dot == NULL || dot == host)
            return 0;
        return strcasecmp(dot + 1, pattern + 2) == 0;
    }
    return strcasecmp(pattern, host) == 0;
}

/* ------------------------------------------------------------------ */
/* Timed loops                                                          */
/* ------------------------------------------------------------------ */

BENCH_NOINLINE static void
run_policy_parse(size_t iters)
{
    uintptr_t acc = 0;
    size_t i;

    for (i = 0; i < iters; i++) {
        mtasts_policy *pol = NULL;
        int rc =
            mtasts_policy_parse(g_ctx, g_policy, g_policy_len, 0, &pol, NULL);
        acc += (uintptr_t)(unsigned)rc + (uintptr_t)pol;
        mtasts_policy_free(pol);
    }
    g_sink += acc;
}

BENCH_NOINLINE static void
run_policy_base(size_t iters)
{
    uintptr_t acc = 0;
    size_t i;
    struct base_policy r;

    for (i = 0; i < iters; i++) {
        int rc = base_policy_scan(g_policy, g_policy_len, &r);
        acc += (uintptr_t)(unsigned)rc + r.max_age + r.mx_count;
    }
    g_sink += acc;
}

BENCH_NOINLINE static void
run_policy_fused(size_t iters)
{
    uintptr_t acc = 0;
    size_t i;
    struct base_policy r;

    for (i = 0; i < iters; i++) {
        int rc = base_policy_scan_fused(g_policy, g_policy_len, &r);
        acc += (uintptr_t)(unsigned)rc + r.max_age + r.mx_count;
    }
    g_sink += acc;
}

BENCH_NOINLINE static void
run_txt_parse(size_t iters)
{
    uintptr_t acc = 0;
    size_t i;

    for (i = 0; i < iters; i++) {
        mtasts_sts_record *rec = NULL;
        int rc =
            mtasts_sts_record_parse(g_ctx, g_txt, g_txt_len, 0, &rec, NULL);
        acc += (uintptr_t)(unsigned)rc + (uintptr_t)rec;
        mtasts_sts_record_free(rec);
    }
    g_sink += acc;
}

BENCH_NOINLINE static void
run_txt_base(size_t iters)
{
    uintptr_t acc = 0;
    size_t i;
    struct base_txt r;

    for (i = 0; i < iters; i++) {
        int rc = base_txt_scan(g_txt, g_txt_len, &r);
        acc += (uintptr_t)(unsigned)rc + r.id_len;
    }
    g_sink += acc;
}

BENCH_NOINLINE static void
run_mx_wild(size_t iters)
{
    uintptr_t acc = 0;
    size_t i;

    for (i = 0; i < iters; i++)
        acc +=
            (uintptr_t)mtasts_mx_match(g_wpat, g_wpat_len, g_host, g_host_len);
    g_sink += acc;
}

BENCH_NOINLINE static void
run_mx_wild_base(size_t iters)
{
    uintptr_t acc = 0;
    size_t i;

    for (i = 0; i < iters; i++)
        acc += (uintptr_t)base_mx_match(g_wpat, g_host);
    g_sink += acc;
}

BENCH_NOINLINE static void
run_mx_exact(size_t iters)
{
    uintptr_t acc = 0;
    size_t i;

    for (i = 0; i < iters; i++)
        acc += (uintptr_t)mtasts_mx_match(g_epat, g_epat_len, g_ehost,
                                          g_ehost_len);
    g_sink += acc;
}

BENCH_NOINLINE static void
run_mx_exact_base(size_t iters)
{
    uintptr_t acc = 0;
    size_t i;

    for (i = 0; i < iters; i++)
        acc += (uintptr_t)base_mx_match(g_epat, g_ehost);
    g_sink += acc;
}

/* ------------------------------------------------------------------ */
/* Self-checks: the baselines must really validate, and agree with the */
/* library on valid and invalid inputs. Not timed.                     */
/* ------------------------------------------------------------------ */

static const char *const bad_policies[] = {
    "version: STSv2\nmode: enforce\nmx: a.example\nmax_age: 1\n",
    "version: STSv1\nmode: enforced\nmx: a.example\nmax_age: 1\n",
    "version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 1x\n",
    "version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 12345678901\n",
    "version: STSv1\nmode: enforce\nmx: -a.example\nmax_age: 1\n",
    "version: STSv1\nmode: enforce\nmx: a..example\nmax_age: 1\n",
    "version: STSv1\nmode: enforce\nmx: a.example.\nmax_age: 1\n",
    "version: STSv1\nmode: enforce\nmx: a.*.example\nmax_age: 1\n",
    "version: STSv1\nmode: enforce\nmx: a_b.example\nmax_age: 1\n",
    "version: STSv1\nmode: enforce\nmx a.example\nmax_age: 1\n",
    "version : STSv1\nmode: enforce\nmx: a.example\nmax_age: 1\n",
    " version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 1\n",
    "version: STSv1\nmode: enforce\nmax_age: 1\n",
    "version: STSv1\nmode: enforce\nmx: a.example\n",
    "mode: enforce\nmx: a.example\nmax_age: 1\n",
    "version: STSv1\nmode: enforce\nmx: a.example\rmax_age: 1\n",
    "version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 1\nx: \x01\n",
    ("version: STSv1\nmode: enforce\nmx: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     "aaaaaaaaaaaaaaaaaaaaaaaaaa.example\nmax_age: 1\n"), /* 64-octet label */
};

static const char *const good_policies[] = {
    "version: STSv1\r\nmode: testing\r\nmx: *.example.net\r\nmax_age: 0",
    "version: STSv1\nmode: none\nmax_age: 604800\n",
    ("version:\tSTSv1 \nmode:enforce\nmx: mx1.example\next_1: some value\n"
     "max_age: 31557600\n"),
};

static const char *const bad_txts[] = {
    "v=STSv1;",
    "v=STSv2; id=1;",
    "v=STSv1 id=1;",
    "v=STSv1; id=;",
    "v=STSv1; id=abc-1;",
    "v=STSv1; id=123456789012345678901234567890123;",
    "v=STSv1; ext=a=b; id=1;",
    "v=STSv1; ext=1;",
    "v=STSv1;; id=1;",
    "v=STSv1; id=1;;",
    "v=STSv1; _x=1; id=1;",
};

static const char *const good_txts[] = {
    "v=STSv1; id=1",
    "v=STSv1;id=abc;",
    "v=STSv1 ;\tid=20160831085700Z ; ext.a-b_c=val!ue ;",
};

static int
self_check(void)
{
    size_t i;
    int fails = 0;
    struct base_policy bp, bf;
    struct base_txt bt;

    for (i = 0; i < sizeof(bad_policies) / sizeof(bad_policies[0]); i++) {
        const char *s = bad_policies[i];
        mtasts_policy *pol = NULL;
        int lrc = mtasts_policy_parse(g_ctx, s, strlen(s), 0, &pol, NULL);
        int brc = base_policy_scan(s, strlen(s), &bp);
        int frc = base_policy_scan_fused(s, strlen(s), &bf);
        mtasts_policy_free(pol);
        if (lrc == 0 || brc == 0 || frc == 0) {
            fprintf(stderr,
                    "self-check: bad policy %zu accepted (lib %d, "
                    "baseline %d, fused %d)\n",
                    i, lrc, brc, frc);
            fails++;
        }
    }
    for (i = 0; i < sizeof(good_policies) / sizeof(good_policies[0]); i++) {
        const char *s = good_policies[i];
        mtasts_policy *pol = NULL;
        int lrc = mtasts_policy_parse(g_ctx, s, strlen(s), 0, &pol, NULL);
        int brc = base_policy_scan(s, strlen(s), &bp);
        int frc = base_policy_scan_fused(s, strlen(s), &bf);
        if (lrc != 0 || brc != 0 || frc != 0 ||
            mtasts_policy_mode(pol) != bp.mode ||
            mtasts_policy_max_age(pol) != bp.max_age ||
            mtasts_policy_mx_count(pol) != bp.mx_count || bf.mode != bp.mode ||
            bf.max_age != bp.max_age || bf.mx_count != bp.mx_count) {
            fprintf(stderr,
                    "self-check: good policy %zu (lib %d, "
                    "baseline %d, fused %d)\n",
                    i, lrc, brc, frc);
            fails++;
        }
        mtasts_policy_free(pol);
    }
    for (i = 0; i < sizeof(bad_txts) / sizeof(bad_txts[0]); i++) {
        const char *s = bad_txts[i];
        mtasts_sts_record *rec = NULL;
        int lrc = mtasts_sts_record_parse(g_ctx, s, strlen(s), 0, &rec, NULL);
        int brc = base_txt_scan(s, strlen(s), &bt);
        mtasts_sts_record_free(rec);
        if (lrc == 0 || brc == 0) {
            fprintf(stderr,
                    "self-check: bad TXT %zu accepted (lib %d, "
                    "baseline %d)\n",
                    i, lrc, brc);
            fails++;
        }
    }
    for (i = 0; i < sizeof(good_txts) / sizeof(good_txts[0]); i++) {
        const char *s = good_txts[i];
        mtasts_sts_record *rec = NULL;
        size_t idl = 0;
        int lrc = mtasts_sts_record_parse(g_ctx, s, strlen(s), 0, &rec, NULL);
        int brc = base_txt_scan(s, strlen(s), &bt);
        if (lrc == 0)
            (void)mtasts_sts_record_id(rec, &idl);
        if (lrc != 0 || brc != 0 || idl != bt.id_len) {
            fprintf(stderr,
                    "self-check: good TXT %zu (lib %d, baseline "
                    "%d)\n",
                    i, lrc, brc);
            fails++;
        }
        mtasts_sts_record_free(rec);
    }
    /* the benchmarked inputs themselves */
    {
        mtasts_policy *pol = NULL;
        int lrc = mtasts_policy_parse(g_ctx, policy_text,
                                      sizeof(policy_text) - 1, 0, &pol, NULL);
        if (lrc != 0 || mtasts_policy_mx_count(pol) != 3 ||
            base_policy_scan(policy_text, sizeof(policy_text) - 1, &bp) != 0 ||
            base_policy_scan_fused(policy_text, sizeof(policy_text) - 1, &bf) !=
                0 ||
            bf.mx_count != 3 || bf.max_age != 86400 || bp.mx_count != 3 ||
            bp.mode != MTASTS_MODE_ENFORCE || bp.max_age != 86400) {
            fprintf(stderr, "self-check: bench policy\n");
            fails++;
        }
        mtasts_policy_free(pol);
    }
    if (base_txt_scan(txt_text, sizeof(txt_text) - 1, &bt) != 0 ||
        bt.id_len != 15) {
        fprintf(stderr, "self-check: bench TXT\n");
        fails++;
    }
    if (mtasts_mx_match(mx_wild_pat, strlen(mx_wild_pat), mx_host,
                        strlen(mx_host)) != 1 ||
        base_mx_match(mx_wild_pat, mx_host) != 1 ||
        mtasts_mx_match(mx_exact_pat, strlen(mx_exact_pat), mx_exact_host,
                        strlen(mx_exact_host)) != 1 ||
        base_mx_match(mx_exact_pat, mx_exact_host) != 1 ||
        mtasts_mx_match(mx_wild_pat, strlen(mx_wild_pat), "aspmx.l.google.com",
                        18) != 0 ||
        base_mx_match(mx_wild_pat, "aspmx.l.google.com") != 0) {
        fprintf(stderr, "self-check: mx match\n");
        fails++;
    }
    return fails;
}

/* ------------------------------------------------------------------ */
/* Driver                                                               */
/* ------------------------------------------------------------------ */

static struct bench_case cases[] = {
    {"policy_parse",
     "mtasts_policy_parse+free (6 lines)",
     1,
     0,
     run_policy_parse,
     1,
     0,
     {0},
     0,
     0},
    {"policy_scan_baseline",
     "strict scan, one fused pass, no alloc",
     -1,
     0,
     run_policy_fused,
     1,
     0,
     {0},
     0,
     0},
    {"policy_scan_lines",
     "strict scan, memchr line split (info)",
     -1,
     0,
     run_policy_base,
     1,
     0,
     {0},
     0,
     0},
    {"txt_parse",
     "mtasts_sts_record_parse+free",
     4,
     0,
     run_txt_parse,
     1,
     0,
     {0},
     0,
     0},
    {"txt_scan_baseline",
     "hand-written strict TXT scan",
     -1,
     0,
     run_txt_base,
     1,
     0,
     {0},
     0,
     0},
    {"mx_match_wildcard",
     "mtasts_mx_match *.aspmx.l.google.com",
     6,
     0,
     run_mx_wild,
     1,
     0,
     {0},
     0,
     0},
    {"mx_wildcard_baseline",
     "strchr + strcasecmp suffix",
     -1,
     0,
     run_mx_wild_base,
     1,
     0,
     {0},
     0,
     0},
    {"mx_match_exact",
     "mtasts_mx_match exact",
     8,
     0,
     run_mx_exact,
     1,
     0,
     {0},
     0,
     0},
    {"mx_exact_baseline",
     "strcasecmp",
     -1,
     0,
     run_mx_exact_base,
     1,
     0,
     {0},
     0,
     0},
};

#define NCASES (sizeof(cases) / sizeof(cases[0]))

static void
print_table(size_t batches, size_t fixed_iters)
{
    uint32_t num;

    printf("libmtasts %s bench_text: %s, %zu batch(es)\n", mtasts_version(&num),
           fixed_iters ? "fixed iterations" : "median of batches", batches);
    bench_print_table(cases, NCASES, 38);
}

static void
print_json(size_t batches, size_t fixed_iters)
{
    printf("{\"bench\":\"bench_text\",\"library_version\":\"%s\","
           "\"mode\":\"%s\",\"batches\":%zu,\"cases\":[",
           mtasts_version(NULL), fixed_iters ? "fixed" : "median", batches);
    bench_print_json_cases(cases, NCASES);
}

static void
usage(FILE *f)
{
    fprintf(f, "usage: bench_text [--json] [--batches N] [--batch-ms MS] "
               "[--iterations N] [--only CASE] [--print-policy]\n");
}

int
main(int argc, char **argv)
{
    struct bench_opts o = BENCH_OPTS_INIT;
    int a, r;

    for (a = 1; a < argc; a++) {
        if (strcmp(argv[a], "--print-policy") == 0) {
            fwrite(policy_text, 1, sizeof(policy_text) - 1, stdout);
            return 0;
        }
        r = bench_opt(&o, argc, argv, &a);
        if (r <= 0) {
            usage(r < 0 ? stdout : stderr);
            return r < 0 ? 0 : 2;
        }
    }
    if (bench_select("bench_text", cases, NCASES, o.only) != 0)
        return 2;

    baseline_init();
    if (mtasts_ctx_new(NULL, &g_ctx) != 0) {
        fprintf(stderr, "bench_text: mtasts_ctx_new failed\n");
        return 1;
    }
    if (self_check() != 0) {
        mtasts_ctx_free(g_ctx);
        return 1;
    }

    bench_measure(cases, NCASES, &o);

    if (o.json)
        print_json(o.batches, o.fixed_iters);
    else
        print_table(o.batches, o.fixed_iters);
    mtasts_ctx_free(g_ctx);
    return 0;
}
