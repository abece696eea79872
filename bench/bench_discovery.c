/*
 * bench_discovery: micro-benchmarks of the per-delivery discovery paths of
 * libmtasts (issue 3).
 *
 *   lookup_cached_decide  what an MTA does per delivery when it holds a
 *                         cache entry: mtasts_lookup_new(entry bytes) ->
 *                         MTASTS_ACT_TXT -> put_txt(same id) ->
 *                         MTASTS_ACT_DONE (no fetch, why = cached) ->
 *                         mtasts_decide(policy, mx, TLS_OK) -> free.
 *                         Compared against the peers by bench/report.py.
 *   lookup_cached         the same without mtasts_decide (information)
 *   entry_decode          mtasts_entry_decode + free of the same bytes
 *                         (information: the share of the decode)
 *   decide                mtasts_decide alone on a parsed policy (info)
 *   cache_get             mtasts_cache_get of one of 10000 domains, in a
 *                         precomputed pseudo-random order, vs
 *   hash_get_baseline     a plain open-addressing table written here:
 *                         linear probing, FNV-1a over lower-cased bytes,
 *                         power-of-two size, the same keys and order,
 *                         returning a pointer.
 *
 * The cache entry is produced once at start-up by a real lookup through
 * the pull API (TXT answer, then a fetch answered with the Google-like
 * policy of bench/policy-google.txt), exactly as an MTA would obtain it.
 *
 * Method as in bench_text: calibrated batches of about --batch-ms, run
 * interleaved across cases, median ns/op. Options:
 *   --json, --batches N, --batch-ms MS, --iterations N, --only NAME,
 *   --print-entry (write the entry bytes and exit), --print-policy.
 *
 * Timings are never asserted: the exit status is 0 unless a self-check
 * fails (the cached lookup must not ask for a fetch and must apply the
 * cached policy; the cache and the baseline table must return the same
 * entry for every key and miss on absent keys).
 */
#define _POSIX_C_SOURCE 200809L

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_util.h"
#include "mtasts.h"

#if defined(__GNUC__) && !defined(__clang__)
#define BENCH_NOINLINE __attribute__((noipa))
#elif defined(__GNUC__)
#define BENCH_NOINLINE __attribute__((noinline))
#else
#define BENCH_NOINLINE
#endif

/* ------------------------------------------------------------------ */
/* Inputs                                                               */
/* ------------------------------------------------------------------ */

static const char policy_text[] = "version: STSv1\n"
                                  "mode: enforce\n"
                                  "mx: smtp.google.com\n"
                                  "mx: aspmx.l.google.com\n"
                                  "mx: *.aspmx.l.google.com\n"
                                  "max_age: 86400\n";
static const char domain_text[] = "google.com";
static const char txt_record[] = "v=STSv1; id=20190429T010101;";
/* matched by the third pattern, the wildcard: the slowest of the three */
static const char mx_text[] = "alt1.aspmx.l.google.com";

#define T_FETCHED ((int64_t)1764374400) /* 2025-11-29 00:00:00 UTC */
/* ten minutes later: the policy is fresh, and last-used is recent enough
 * that the lookup does not ask to store the entry again */
#define T_NOW (T_FETCHED + 600)

static uint8_t entry_buf[4096];
static size_t entry_len;

static const char *volatile g_domain = domain_text;
static volatile size_t g_domain_len = sizeof(domain_text) - 1;
static const uint8_t *volatile g_entry = entry_buf;
static volatile size_t g_entry_len;
static mtasts_entry *g_dentry;
static const char *volatile g_txt = txt_record;
static volatile size_t g_txt_len = sizeof(txt_record) - 1;
static const char *volatile g_mx = mx_text;
static volatile size_t g_mx_len = sizeof(mx_text) - 1;
static volatile int64_t g_now = T_NOW;

static volatile uintptr_t g_sink;
static mtasts_ctx *g_ctx;
static mtasts_policy *g_policy; /* for the decide case */

/* ------------------------------------------------------------------ */
/* Producing the entry with a real lookup                              */
/* ------------------------------------------------------------------ */

static int
make_entry(void)
{
    mtasts_lookup *lk = NULL;
    const char *strs[1] = {txt_record};
    size_t lens[1] = {sizeof(txt_record) - 1}, nstr[1] = {1};
    static const char ct[] = "text/plain; charset=utf-8";
    int rc;

    rc = mtasts_lookup_new(g_ctx, domain_text, sizeof(domain_text) - 1, NULL, 0,
                           T_FETCHED, 0, &lk);
    if (rc != 0 || mtasts_lookup_next(lk) != MTASTS_ACT_TXT ||
        mtasts_lookup_put_txt(lk, MTASTS_DNS_OK, strs, lens, nstr, 1) != 0 ||
        mtasts_lookup_next(lk) != MTASTS_ACT_FETCH ||
        mtasts_lookup_put_fetch(lk, MTASTS_FETCH_OK, 200, ct, sizeof(ct) - 1,
                                policy_text, sizeof(policy_text) - 1) != 0 ||
        mtasts_lookup_next(lk) != MTASTS_ACT_DONE ||
        mtasts_lookup_outcome(lk) != MTASTS_OUTCOME_APPLY ||
        mtasts_lookup_why(lk) != MTASTS_WHY_FETCHED ||
        mtasts_lookup_entry_action(lk) != MTASTS_ENTRY_ACTION_STORE ||
        mtasts_lookup_entry(lk, entry_buf, sizeof(entry_buf), &entry_len) !=
            0) {
        fprintf(stderr, "bench_discovery: producing the entry failed\n");
        mtasts_lookup_free(lk);
        return -1;
    }
    mtasts_lookup_free(lk);
    g_entry_len = entry_len;
    /* the same entry kept decoded, as a daemon holding entries in memory
     * does (and as the peers hold their parsed policies) */
    if (mtasts_entry_decode(g_ctx, entry_buf, entry_len, &g_dentry, NULL) !=
        0) {
        fprintf(stderr, "bench_discovery: decoding the entry failed\n");
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* Case A: cached lookup with decision                                 */
/* ------------------------------------------------------------------ */

/* One delivery. Returns a value that depends on every step, or 0 when a
 * step did not go as expected (the self-check requires non-zero). */
static uintptr_t
one_cached_lookup(int with_decide, int decoded)
{
    mtasts_lookup *lk = NULL;
    const char *strs[1];
    size_t lens[1], nstr[1] = {1};
    uintptr_t r = 0;
    int action = 0, rt = -1, reason = 0;

    strs[0] = g_txt;
    lens[0] = g_txt_len;
    if (decoded ? mtasts_lookup_new_decoded(g_ctx, g_domain, g_domain_len,
                                            g_dentry, g_now, 0, &lk) != 0
                : mtasts_lookup_new(g_ctx, g_domain, g_domain_len, g_entry,
                                    g_entry_len, g_now, 0, &lk) != 0)
        return 0;
    if (mtasts_lookup_next(lk) == MTASTS_ACT_TXT &&
        mtasts_lookup_put_txt(lk, MTASTS_DNS_OK, strs, lens, nstr, 1) == 0 &&
        mtasts_lookup_next(lk) == MTASTS_ACT_DONE) {
        const mtasts_policy *pol = mtasts_lookup_policy(lk);
        r = (uintptr_t)(unsigned)mtasts_lookup_outcome(lk);
        if (with_decide) {
            if (mtasts_decide(pol, g_mx, g_mx_len, MTASTS_TLS_OK,
                              MTASTS_DANE_NOT_USED, 0, &action, &rt,
                              &reason) == 0 &&
                action == MTASTS_DELIVER)
                r += (uintptr_t)(unsigned)reason;
            else
                r = 0;
        } else {
            r += (uintptr_t)pol;
        }
    }
    mtasts_lookup_free(lk);
    return r;
}

BENCH_NOINLINE static void
run_lookup_decide(size_t iters)
{
    uintptr_t acc = 0;
    size_t i;

    for (i = 0; i < iters; i++)
        acc += one_cached_lookup(1, 0);
    g_sink += acc;
}

BENCH_NOINLINE static void
run_lookup_decoded_decide(size_t iters)
{
    uintptr_t acc = 0;
    size_t i;

    for (i = 0; i < iters; i++)
        acc += one_cached_lookup(1, 1);
    g_sink += acc;
}

BENCH_NOINLINE static void
run_lookup(size_t iters)
{
    uintptr_t acc = 0;
    size_t i;

    for (i = 0; i < iters; i++)
        acc += one_cached_lookup(0, 0);
    g_sink += acc;
}

BENCH_NOINLINE static void
run_entry_decode(size_t iters)
{
    uintptr_t acc = 0;
    size_t i;

    for (i = 0; i < iters; i++) {
        mtasts_entry *e = NULL;
        int rc = mtasts_entry_decode(g_ctx, g_entry, g_entry_len, &e, NULL);
        acc += (uintptr_t)(unsigned)rc + (uintptr_t)e;
        mtasts_entry_free(e);
    }
    g_sink += acc;
}

static const mtasts_policy *volatile g_vpolicy;

BENCH_NOINLINE static void
run_decide(size_t iters)
{
    uintptr_t acc = 0;
    size_t i;

    for (i = 0; i < iters; i++) {
        int action = 0, rt = 0, reason = 0;
        int rc = mtasts_decide(g_vpolicy, g_mx, g_mx_len, MTASTS_TLS_OK,
                               MTASTS_DANE_NOT_USED, 0, &action, &rt, &reason);
        acc += (uintptr_t)(unsigned)(rc + action + reason);
    }
    g_sink += acc;
}

/* ------------------------------------------------------------------ */
/* Case B: in-memory cache hit vs an open-addressing hash table        */
/* ------------------------------------------------------------------ */

#define NDOMAINS    10000
#define ORDER_BITS  16
#define ORDER_LEN   ((size_t)1 << ORDER_BITS)
#define TABLE_BITS  14 /* 16384 slots: load 0.61 */
#define TABLE_SLOTS ((size_t)1 << TABLE_BITS)

/* Keys, query copies and values each live in one arena of their own, as
 * a simple table would keep them (the keys fit in the L2 cache). */
#define NAME_MAX_BYTES 48
static char *key_arena, *query_arena;
static uint8_t *value_arena;
static char *key_text[NDOMAINS];   /* stored keys, lower case */
static size_t key_len[NDOMAINS];   /* their lengths */
static char *query_text[NDOMAINS]; /* separate copies used for lookups */
static uint32_t order[ORDER_LEN];  /* access pattern: indices */
static uint8_t *value_buf[NDOMAINS];

static uint32_t lcg_state = 12345u;

static uint32_t
lcg_next(void)
{
    lcg_state = lcg_state * 1664525u + 1013904223u;
    return lcg_state >> 8; /* drop the weak low bits */
}

/* Domain names of mixed shape and length: letters, the index (which makes
 * them unique), a TLD from a list. Some queries use upper case. */
static int
make_domains(void)
{
    static const char *const tlds[] = {"com", "net",   "org",    "de",
                                       "fr",  "co.uk", "com.br", "io",
                                       "nl",  "info",  "example"};
    size_t i, k, kpos = 0;

    key_arena = malloc((size_t)NDOMAINS * NAME_MAX_BYTES);
    query_arena = malloc((size_t)NDOMAINS * NAME_MAX_BYTES);
    value_arena = malloc((size_t)NDOMAINS * entry_len);
    if (key_arena == NULL || query_arena == NULL || value_arena == NULL)
        return -1;
    for (i = 0; i < NDOMAINS; i++) {
        char name[NAME_MAX_BYTES];
        size_t plen = 3 + lcg_next() % 12, n = 0;
        const char *tld = tlds[lcg_next() % (sizeof(tlds) / sizeof(tlds[0]))];
        int w;

        for (k = 0; k < plen; k++)
            name[n++] = (char)('a' + lcg_next() % 26);
        w = snprintf(name + n, sizeof(name) - n, "%zu.%s", i, tld);
        if (w < 0 || (size_t)w >= sizeof(name) - n)
            return -1;
        n += (size_t)w;
        key_text[i] = key_arena + kpos;
        query_text[i] = query_arena + kpos;
        kpos += n + 1;
        value_buf[i] = value_arena + i * entry_len;
        memcpy(key_text[i], name, n + 1);
        memcpy(query_text[i], name, n + 1);
        if (i % 4 == 0) /* one query in four in upper case */
            for (k = 0; k < n; k++)
                if (query_text[i][k] >= 'a' && query_text[i][k] <= 'z')
                    query_text[i][k] = (char)(query_text[i][k] - 32);
        key_len[i] = n;
        memcpy(value_buf[i], entry_buf, entry_len);
    }
    for (i = 0; i < ORDER_LEN; i++)
        order[i] = lcg_next() % NDOMAINS;
    return 0;
}

struct slot {
    const char *key; /* NULL: empty */
    const uint8_t *value;
    size_t value_len;
    uint32_t hash;
    uint32_t key_len;
};

static struct slot table[TABLE_SLOTS];

static unsigned char
lower(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
}

static uint32_t
fnv1a_lower(const char *s, size_t n)
{
    uint32_t h = 2166136261u;
    size_t i;

    for (i = 0; i < n; i++) {
        h ^= lower((unsigned char)s[i]);
        h *= 16777619u;
    }
    return h;
}

/* keys are stored in lower case; the query is lowered on the fly */
static int
key_eq(const char *key, const char *q, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if ((unsigned char)key[i] != lower((unsigned char)q[i]))
            return 0;
    return 1;
}

static void
table_put(const char *key, size_t n, const uint8_t *value, size_t value_len)
{
    uint32_t h = fnv1a_lower(key, n);
    size_t i = h & (TABLE_SLOTS - 1);

    while (table[i].key != NULL)
        i = (i + 1) & (TABLE_SLOTS - 1);
    table[i].key = key;
    table[i].key_len = (uint32_t)n;
    table[i].hash = h;
    table[i].value = value;
    table[i].value_len = value_len;
}

BENCH_NOINLINE static const uint8_t *
table_get(const char *q, size_t n, size_t *ret_len)
{
    uint32_t h = fnv1a_lower(q, n);
    size_t i = h & (TABLE_SLOTS - 1);

    for (;;) {
        const struct slot *s = &table[i];
        if (s->key == NULL) {
            *ret_len = 0;
            return NULL;
        }
        if (s->hash == h && s->key_len == n && key_eq(s->key, q, n)) {
            *ret_len = s->value_len;
            return s->value;
        }
        i = (i + 1) & (TABLE_SLOTS - 1);
    }
}

static mtasts_cache *g_cache;
static const uint32_t *volatile g_order = order;
static char *const *volatile g_queries = query_text;
static const size_t *volatile g_qlens = key_len;

BENCH_NOINLINE static void
run_cache_get(size_t iters)
{
    uintptr_t acc = 0;
    size_t i;

    for (i = 0; i < iters; i++) {
        uint32_t d = g_order[i & (ORDER_LEN - 1)];
        const uint8_t *e = NULL;
        size_t n = 0;
        mtasts_cache_get(g_cache, g_queries[d], g_qlens[d], g_now, &e, &n);
        acc += (uintptr_t)e + n;
    }
    g_sink += acc;
}

BENCH_NOINLINE static void
run_hash_get(size_t iters)
{
    uintptr_t acc = 0;
    size_t i;

    for (i = 0; i < iters; i++) {
        uint32_t d = g_order[i & (ORDER_LEN - 1)];
        size_t n = 0;
        const uint8_t *e = table_get(g_queries[d], g_qlens[d], &n);
        acc += (uintptr_t)e + n;
    }
    g_sink += acc;
}

static int
setup_tables(void)
{
    size_t i;

    if (mtasts_cache_new(g_ctx, NDOMAINS, (size_t)NDOMAINS * (entry_len + 1),
                         &g_cache) != 0) {
        fprintf(stderr, "bench_discovery: mtasts_cache_new failed\n");
        return -1;
    }
    for (i = 0; i < NDOMAINS; i++) {
        if (mtasts_cache_put(g_cache, key_text[i], key_len[i], value_buf[i],
                             entry_len, 0, T_FETCHED) != 0) {
            fprintf(stderr, "bench_discovery: mtasts_cache_put failed\n");
            return -1;
        }
        table_put(key_text[i], key_len[i], value_buf[i], entry_len);
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* Self-checks (not timed)                                             */
/* ------------------------------------------------------------------ */

static int
self_check(void)
{
    mtasts_lookup *lk = NULL;
    const char *strs[1] = {txt_record};
    size_t lens[1] = {sizeof(txt_record) - 1}, nstr[1] = {1}, i, n;
    int fails = 0, rc, action = 0, rt = -1, reason = 0;
    const uint8_t *e;

    /* Case A, step by step: no fetch, APPLY from the cache, nothing to
     * store, and the MX passes. */
    rc = mtasts_lookup_new(g_ctx, domain_text, sizeof(domain_text) - 1,
                           entry_buf, entry_len, T_NOW, 0, &lk);
    if (rc != 0 || mtasts_lookup_entry_error(lk) != 0 ||
        mtasts_lookup_next(lk) != MTASTS_ACT_TXT ||
        mtasts_lookup_put_txt(lk, MTASTS_DNS_OK, strs, lens, nstr, 1) != 0 ||
        mtasts_lookup_next(lk) != MTASTS_ACT_DONE ||
        mtasts_lookup_outcome(lk) != MTASTS_OUTCOME_APPLY ||
        mtasts_lookup_why(lk) != MTASTS_WHY_CACHED ||
        mtasts_lookup_from_cache(lk) != 1 ||
        mtasts_lookup_entry_action(lk) != MTASTS_ENTRY_ACTION_UNCHANGED ||
        mtasts_lookup_result_type(lk) != MTASTS_RESULT_NONE ||
        mtasts_policy_mode(mtasts_lookup_policy(lk)) != MTASTS_MODE_ENFORCE ||
        mtasts_decide(mtasts_lookup_policy(lk), mx_text, sizeof(mx_text) - 1,
                      MTASTS_TLS_OK, MTASTS_DANE_NOT_USED, 0, &action, &rt,
                      &reason) != 0 ||
        action != MTASTS_DELIVER || reason != MTASTS_DECIDE_PASS ||
        rt != MTASTS_RESULT_NONE) {
        fprintf(stderr,
                "self-check: cached lookup (rc %d next %d outcome %d "
                "why %d action %d reason %d)\n",
                rc, mtasts_lookup_next(lk), mtasts_lookup_outcome(lk),
                mtasts_lookup_why(lk), action, reason);
        fails++;
    }
    mtasts_lookup_free(lk);
    /* the loop body itself must take the same path */
    if (one_cached_lookup(1, 0) !=
            (uintptr_t)MTASTS_OUTCOME_APPLY + MTASTS_DECIDE_PASS ||
        one_cached_lookup(1, 1) !=
            (uintptr_t)MTASTS_OUTCOME_APPLY + MTASTS_DECIDE_PASS ||
        one_cached_lookup(0, 0) == 0) {
        fprintf(stderr, "self-check: timed cached lookup path\n");
        fails++;
    }
    /* a different id must ask for a fetch (the check above is not
     * vacuous) */
    {
        static const char other[] = "v=STSv1; id=20250101T000000;";
        const char *os[1] = {other};
        size_t ol[1] = {sizeof(other) - 1};
        lk = NULL;
        if (mtasts_lookup_new(g_ctx, domain_text, sizeof(domain_text) - 1,
                              entry_buf, entry_len, T_NOW, 0, &lk) != 0 ||
            mtasts_lookup_put_txt(lk, MTASTS_DNS_OK, os, ol, nstr, 1) != 0 ||
            mtasts_lookup_next(lk) != MTASTS_ACT_FETCH) {
            fprintf(stderr, "self-check: new id does not fetch\n");
            fails++;
        }
        mtasts_lookup_free(lk);
    }

    /* Case B: same answers from the cache and the table. */
    for (i = 0; i < NDOMAINS; i++) {
        const uint8_t *c = NULL;
        size_t cn = 0;
        e = table_get(query_text[i], key_len[i], &n);
        if (mtasts_cache_get(g_cache, query_text[i], key_len[i], T_NOW, &c,
                             &cn) != 0 ||
            c == NULL || cn != entry_len || memcmp(c, entry_buf, cn) != 0 ||
            e != value_buf[i] || n != entry_len) {
            fprintf(stderr, "self-check: cache/table lookup of %s\n",
                    query_text[i]);
            fails++;
            break;
        }
    }
    {
        static const char absent[] = "absent-domain.example";
        const uint8_t *c = (const uint8_t *)"x";
        size_t cn = 1;
        if (mtasts_cache_get(g_cache, absent, sizeof(absent) - 1, T_NOW, &c,
                             &cn) != 0 ||
            c != NULL || cn != 0 ||
            table_get(absent, sizeof(absent) - 1, &n) != NULL) {
            fprintf(stderr, "self-check: miss\n");
            fails++;
        }
    }
    if (mtasts_cache_count(g_cache) != NDOMAINS) {
        fprintf(stderr, "self-check: cache count %zu\n",
                mtasts_cache_count(g_cache));
        fails++;
    }
    return fails;
}

/* ------------------------------------------------------------------ */
/* Driver (same method as bench_text)                                  */
/* ------------------------------------------------------------------ */

static struct bench_case cases[] = {
    {"lookup_cached_decide",
     "lookup(entry)+put_txt(same id)+decide+free",
     -1,
     0,
     run_lookup_decide,
     1,
     0,
     {0},
     0,
     0},
    {"lookup_cached",
     "the same without decide (info)",
     -1,
     0,
     run_lookup,
     1,
     0,
     {0},
     0,
     0},
    {"entry_decode",
     "mtasts_entry_decode+free (info)",
     -1,
     0,
     run_entry_decode,
     1,
     0,
     {0},
     0,
     0},
    {"decide",
     "mtasts_decide, wildcard MX, TLS ok (info)",
     -1,
     0,
     run_decide,
     1,
     0,
     {0},
     0,
     0},
    {"cache_get",
     "mtasts_cache_get, 10000 domains, hit",
     5,
     2.0,
     run_cache_get,
     1,
     0,
     {0},
     0,
     0},
    {"hash_get_baseline",
     "open addressing, FNV-1a, linear probe",
     -1,
     0,
     run_hash_get,
     1,
     0,
     {0},
     0,
     0},
    {"lookup_decoded_decide",
     "as lookup_cached_decide, entry held decoded",
     -1,
     0,
     run_lookup_decoded_decide,
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
    printf("libmtasts %s bench_discovery: %s, %zu batch(es), entry %zu "
           "bytes\n",
           mtasts_version(NULL),
           fixed_iters ? "fixed iterations" : "median of batches", batches,
           entry_len);
    bench_print_table(cases, NCASES, 44);
}

static void
print_json(size_t batches, size_t fixed_iters)
{
    printf("{\"bench\":\"bench_discovery\",\"library_version\":\"%s\","
           "\"mode\":\"%s\",\"batches\":%zu,\"entry_bytes\":%zu,"
           "\"domains\":%d,\"cases\":[",
           mtasts_version(NULL), fixed_iters ? "fixed" : "median", batches,
           entry_len, NDOMAINS);
    bench_print_json_cases(cases, NCASES);
}

static void
usage(FILE *f)
{
    fprintf(f, "usage: bench_discovery [--json] [--batches N] [--batch-ms MS] "
               "[--iterations N] [--only CASE] [--print-entry] "
               "[--print-policy]\n");
}

static void
cleanup(void)
{
    mtasts_cache_free(g_cache);
    mtasts_policy_free(g_policy);
    free(key_arena);
    free(query_arena);
    free(value_arena);
    mtasts_ctx_free(g_ctx);
}

int
main(int argc, char **argv)
{
    struct bench_opts o = BENCH_OPTS_INIT;
    int print_entry = 0, a, r;

    for (a = 1; a < argc; a++) {
        if (strcmp(argv[a], "--print-entry") == 0) {
            print_entry = 1;
            continue;
        }
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
    if (bench_select("bench_discovery", cases, NCASES, o.only) != 0)
        return 2;

    if (mtasts_ctx_new(NULL, &g_ctx) != 0) {
        fprintf(stderr, "bench_discovery: mtasts_ctx_new failed\n");
        return 1;
    }
    if (make_entry() != 0) {
        mtasts_ctx_free(g_ctx);
        return 1;
    }
    if (print_entry) {
        fwrite(entry_buf, 1, entry_len, stdout);
        mtasts_ctx_free(g_ctx);
        return 0;
    }
    if (mtasts_policy_parse(g_ctx, policy_text, sizeof(policy_text) - 1, 0,
                            &g_policy, NULL) != 0 ||
        make_domains() != 0 || setup_tables() != 0) {
        fprintf(stderr, "bench_discovery: set-up failed\n");
        cleanup();
        return 1;
    }
    g_vpolicy = g_policy;
    if (self_check() != 0) {
        cleanup();
        return 1;
    }

    bench_measure(cases, NCASES, &o);

    if (o.json)
        print_json(o.batches, o.fixed_iters);
    else
        print_table(o.batches, o.fixed_iters);
    cleanup();
    return 0;
}
