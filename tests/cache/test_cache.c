/*
 * Tests of the in-memory cache and refresh planner (src/cache.c).
 *
 * Run without arguments for the functional suite, with "--oom" for the
 * allocation-failure sweep. Every test uses its own counting allocator,
 * which also checks that each free passes the size that was allocated and
 * that nothing leaks.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mtasts.h"
#include "harness.h"

struct fix {
    mtasts_ctx *ctx;
};

static int
setup(void **state)
{
    struct fix *f = calloc(1, sizeof(*f));

    if (f == NULL)
        return -1;
    f->ctx = harness_ctx_try();
    if (f->ctx == NULL) {
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fix *f = *state;

    mtasts_ctx_free(f->ctx);
    /* no leak, every free with the allocated size */
    assert_int_equal(harness_leaks(), 0);
    assert_int_equal(harness_live_bytes(), 0);
    assert_int_equal(harness_errors(), 0);
    free(f);
    return 0;
}

/* ---- helpers ---- */

static mtasts_cache *
new_cache(struct fix *f, size_t max_entries, size_t max_bytes)
{
    mtasts_cache *c = NULL;

    assert_int_equal(mtasts_cache_new(f->ctx, max_entries, max_bytes, &c),
                     MTASTS_OK);
    assert_non_null(c);
    return c;
}

static void
put_s(mtasts_cache *c, const char *d, const char *v, int64_t refresh_at,
      int64_t now)
{
    assert_int_equal(mtasts_cache_put(c, d, strlen(d), (const uint8_t *)v,
                                      strlen(v), refresh_at, now),
                     MTASTS_OK);
}

/* 1 when d hits with exactly the bytes v (v NULL: expect a miss). */
static void
expect_get(mtasts_cache *c, const char *d, const char *v, int64_t now)
{
    const uint8_t *e = (const uint8_t *)"junk";
    size_t n = 99;

    assert_int_equal(mtasts_cache_get(c, d, strlen(d), now, &e, &n), MTASTS_OK);
    if (v == NULL) {
        assert_null(e);
        assert_int_equal(n, 0);
    } else {
        assert_non_null(e);
        assert_int_equal(n, strlen(v));
        assert_memory_equal(e, v, n);
    }
}

static int
contains(const uint8_t *hay, size_t n, const char *needle)
{
    size_t i, m = strlen(needle);

    for (i = 0; i + m <= n; i++)
        if (memcmp(hay + i, needle, m) == 0)
            return 1;
    return 0;
}

static const char *txt_id1[] = {"v=STSv1; id=20240101;"};
static const char *txt_id2[] = {"v=STSv1; id=20240202;"};

static const char body_enforce[] = "version: STSv1\r\n"
                                   "mode: enforce\r\n"
                                   "mx: mail.example.com\r\n"
                                   "mx: *.example.net\r\n"
                                   "max_age: 604800\r\n";
static const char body_none[] = "version: STSv1\nmode: none\nmax_age: 86400\n";

/* Answer the TXT question with one record (or NXDOMAIN when rec is NULL). */
static void
answer_txt(mtasts_lookup *lk, const char *const *rec)
{
    size_t len, nstr = 1;

    assert_int_equal(mtasts_lookup_next(lk), MTASTS_ACT_TXT);
    if (rec == NULL) {
        assert_int_equal(
            mtasts_lookup_put_txt(lk, MTASTS_DNS_NXDOMAIN, NULL, NULL, NULL, 0),
            MTASTS_OK);
        return;
    }
    len = strlen(rec[0]);
    assert_int_equal(
        mtasts_lookup_put_txt(lk, MTASTS_DNS_OK, rec, &len, &nstr, 1),
        MTASTS_OK);
}

static void
answer_fetch(mtasts_lookup *lk, const char *body)
{
    assert_int_equal(mtasts_lookup_next(lk), MTASTS_ACT_FETCH);
    assert_int_equal(mtasts_lookup_put_fetch(lk, MTASTS_FETCH_OK, 200,
                                             "text/plain", 10, body,
                                             strlen(body)),
                     MTASTS_OK);
}

/* A finished lookup that fetched body for domain (action STORE). */
static mtasts_lookup *
fetched_lookup(struct fix *f, const char *domain, const char *const *rec,
               const char *body, int64_t now)
{
    mtasts_lookup *lk = NULL;

    assert_int_equal(
        mtasts_lookup_new(f->ctx, domain, strlen(domain), NULL, 0, now, 0, &lk),
        MTASTS_OK);
    answer_txt(lk, rec);
    answer_fetch(lk, body);
    assert_int_equal(mtasts_lookup_next(lk), MTASTS_ACT_DONE);
    assert_int_equal(mtasts_lookup_entry_action(lk), MTASTS_ENTRY_ACTION_STORE);
    return lk;
}

/* ---- functional tests ---- */

static void
test_new_args(void **state)
{
    struct fix *f = *state;
    mtasts_cache *c = (mtasts_cache *)1;

    assert_int_equal(mtasts_cache_new(NULL, 1, 1, &c), MTASTS_EINVAL);
    assert_null(c);
    assert_int_equal(mtasts_cache_new(f->ctx, 0, 1, &c), MTASTS_EINVAL);
    assert_int_equal(mtasts_cache_new(f->ctx, 1, 0, &c), MTASTS_EINVAL);
    assert_int_equal(mtasts_cache_new(f->ctx, 1, 1, NULL), MTASTS_EINVAL);
    mtasts_cache_free(NULL);
    assert_int_equal(mtasts_cache_count(NULL), 0);
    assert_int_equal(mtasts_cache_bytes(NULL), 0);
    assert_int_equal(mtasts_cache_gc(NULL, 0, 0), 0);
    c = new_cache(f, 1, 1);
    assert_int_equal(mtasts_cache_count(c), 0);
    assert_int_equal(mtasts_cache_bytes(c), 0);
    mtasts_cache_free(c);
}

static void
test_hit_miss(void **state)
{
    struct fix *f = *state;
    mtasts_cache *c = new_cache(f, 100, 10000);
    const uint8_t *e;
    size_t n;

    expect_get(c, "example.com", NULL, 1);
    put_s(c, "example.com", "entry-one", 0, 1);
    put_s(c, "example.org", "entry-two", 0, 1);
    assert_int_equal(mtasts_cache_count(c), 2);
    assert_int_equal(mtasts_cache_bytes(c), 18);
    expect_get(c, "example.com", "entry-one", 2);
    expect_get(c, "example.org", "entry-two", 2);
    expect_get(c, "example.net", NULL, 2);
    expect_get(c, "ample.com", NULL, 2);
    expect_get(c, "www.example.com", NULL, 2);
    /* a zero-length entry is a hit, distinct from a miss */
    assert_int_equal(mtasts_cache_put(c, "empty.example", 13, NULL, 0, 0, 1),
                     MTASTS_OK);
    assert_int_equal(mtasts_cache_get(c, "empty.example", 13, 1, &e, &n),
                     MTASTS_OK);
    assert_non_null(e);
    assert_int_equal(n, 0);
    mtasts_cache_free(c);
}

/* STS-CACHE-2: the key is the policy domain, ASCII case-insensitive, one
 * trailing dot ignored. */
static void
test_key_normalisation(void **state)
{
    struct fix *f = *state;
    mtasts_cache *c = new_cache(f, 100, 10000);

    put_s(c, "example.com", "v1", 0, 1);
    expect_get(c, "EXAMPLE.com.", "v1", 2);
    expect_get(c, "Example.COM", "v1", 2);
    expect_get(c, "example.com.", "v1", 2);
    /* a put under another spelling replaces the same entry */
    put_s(c, "EXAMPLE.COM.", "v2", 0, 3);
    assert_int_equal(mtasts_cache_count(c), 1);
    expect_get(c, "example.com", "v2", 4);
    assert_int_equal(mtasts_cache_remove(c, "ExAmPlE.CoM.", 12), MTASTS_OK);
    assert_int_equal(mtasts_cache_count(c), 0);
    mtasts_cache_free(c);
}

static void
test_bad_args(void **state)
{
    struct fix *f = *state;
    mtasts_cache *c = new_cache(f, 10, 100);
    const uint8_t *e = (const uint8_t *)"x", *v = (const uint8_t *)"v";
    size_t n = 5;
    static const char *const bad[] = {
        "",
        ".",
        "bad..example",
        "-a.example",
        "a_b.example",
        "exämple.com",
        "example.com..",
        "a b.example",
        "[192.0.2.1]",
    };
    char longname[300];
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(
            mtasts_cache_put(c, bad[i], strlen(bad[i]), v, 1, 0, 0),
            MTASTS_EINVAL);
        assert_int_equal(mtasts_cache_get(c, bad[i], strlen(bad[i]), 0, &e, &n),
                         MTASTS_EINVAL);
        assert_null(e);
        assert_int_equal(n, 0);
        assert_int_equal(mtasts_cache_remove(c, bad[i], strlen(bad[i])),
                         MTASTS_EINVAL);
    }
    /* names longer than 253 octets (254 with the trailing dot) */
    memset(longname, 'a', sizeof(longname));
    for (i = 63; i < sizeof(longname); i += 64)
        longname[i] = '.';
    assert_int_equal(mtasts_cache_put(c, longname, 253, v, 1, 0, 0), MTASTS_OK);
    longname[253] = '.';
    expect_get(c, "x.example", NULL, 0);
    assert_int_equal(mtasts_cache_get(c, longname, 254, 0, &e, &n), MTASTS_OK);
    assert_int_equal(n, 1);
    assert_int_equal(mtasts_cache_put(c, longname, 255, v, 1, 0, 0),
                     MTASTS_EINVAL);
    assert_int_equal(mtasts_cache_get(c, longname, 300, 0, &e, &n),
                     MTASTS_EINVAL);
    /* NULL where not allowed */
    assert_int_equal(mtasts_cache_put(NULL, "a.example", 9, v, 1, 0, 0),
                     MTASTS_EINVAL);
    assert_int_equal(mtasts_cache_put(c, NULL, 0, v, 1, 0, 0), MTASTS_EINVAL);
    assert_int_equal(mtasts_cache_put(c, "a.example", 9, NULL, 1, 0, 0),
                     MTASTS_EINVAL);
    assert_int_equal(mtasts_cache_get(NULL, "a.example", 9, 0, &e, &n),
                     MTASTS_EINVAL);
    assert_int_equal(mtasts_cache_get(c, NULL, 0, 0, &e, &n), MTASTS_EINVAL);
    assert_int_equal(mtasts_cache_get(c, "a.example", 9, 0, NULL, &n),
                     MTASTS_EINVAL);
    assert_int_equal(mtasts_cache_get(c, "a.example", 9, 0, &e, NULL),
                     MTASTS_EINVAL);
    assert_int_equal(mtasts_cache_remove(NULL, "a.example", 9), MTASTS_EINVAL);
    assert_int_equal(mtasts_cache_remove(c, NULL, 0), MTASTS_EINVAL);
    assert_int_equal(mtasts_cache_apply(NULL, NULL, 0), MTASTS_EINVAL);
    assert_int_equal(mtasts_cache_apply(c, NULL, 0), MTASTS_EINVAL);
    assert_int_equal(mtasts_cache_count(c), 1);
    mtasts_cache_free(c);
}

static void
test_replace(void **state)
{
    struct fix *f = *state;
    mtasts_cache *c = new_cache(f, 10, 100);
    size_t live;

    put_s(c, "a.example", "short", 0, 1);
    live = harness_leaks();
    put_s(c, "a.example", "a much longer entry", 7, 2);
    /* the old bytes were freed: one node replaced by one node */
    assert_int_equal(harness_leaks(), live);
    assert_int_equal(mtasts_cache_count(c), 1);
    assert_int_equal(mtasts_cache_bytes(c), 19);
    expect_get(c, "a.example", "a much longer entry", 3);
    put_s(c, "a.example", "s", 0, 4);
    assert_int_equal(mtasts_cache_bytes(c), 1);
    mtasts_cache_free(c);
}

static void
test_lru_count(void **state)
{
    struct fix *f = *state;
    mtasts_cache *c = new_cache(f, 3, 1000);

    put_s(c, "a.example", "A", 0, 1);
    put_s(c, "b.example", "B", 0, 2);
    put_s(c, "c.example", "C", 0, 3);
    expect_get(c, "a.example", "A", 4); /* order now b, c, a */
    put_s(c, "d.example", "D", 0, 5);   /* evicts b */
    assert_int_equal(mtasts_cache_count(c), 3);
    expect_get(c, "b.example", NULL, 6);
    put_s(c, "e.example", "E", 0, 7); /* evicts c */
    expect_get(c, "c.example", NULL, 8);
    expect_get(c, "a.example", "A", 9);
    expect_get(c, "d.example", "D", 9);
    expect_get(c, "e.example", "E", 9);
    /* a replace does not evict */
    put_s(c, "a.example", "AA", 0, 10);
    assert_int_equal(mtasts_cache_count(c), 3);
    expect_get(c, "d.example", "D", 11);
    mtasts_cache_free(c);

    /* a one-entry cache */
    c = new_cache(f, 1, 1000);
    put_s(c, "a.example", "A", 0, 1);
    put_s(c, "b.example", "B", 0, 2);
    assert_int_equal(mtasts_cache_count(c), 1);
    expect_get(c, "a.example", NULL, 3);
    expect_get(c, "b.example", "B", 3);
    mtasts_cache_free(c);
}

static void
test_lru_bytes(void **state)
{
    struct fix *f = *state;
    mtasts_cache *c = new_cache(f, 100, 10);

    put_s(c, "a.example", "aaaa", 0, 1);
    put_s(c, "b.example", "bbbb", 0, 2);
    expect_get(c, "a.example", "aaaa", 3); /* b is now least recent */
    put_s(c, "c.example", "cc", 0, 4);     /* 10 bytes: fits */
    assert_int_equal(mtasts_cache_bytes(c), 10);
    assert_int_equal(mtasts_cache_count(c), 3);
    put_s(c, "d.example", "d", 0, 5); /* evicts b */
    assert_int_equal(mtasts_cache_bytes(c), 7);
    expect_get(c, "b.example", NULL, 6);
    /* growing one entry in place evicts others, least recent first */
    put_s(c, "d.example", "dddddd", 0, 7); /* a, c, d: 4+2+6 > 10 */
    expect_get(c, "a.example", NULL, 8);
    expect_get(c, "c.example", "cc", 8);
    assert_int_equal(mtasts_cache_bytes(c), 8);
    /* an entry of exactly max_bytes empties the cache */
    put_s(c, "e.example", "eeeeeeeeee", 0, 9);
    assert_int_equal(mtasts_cache_count(c), 1);
    assert_int_equal(mtasts_cache_bytes(c), 10);
    mtasts_cache_free(c);
}

static void
test_too_big(void **state)
{
    struct fix *f = *state;
    mtasts_cache *c = new_cache(f, 100, 10);
    size_t live;

    put_s(c, "a.example", "aaaa", 0, 1);
    live = harness_leaks();
    assert_int_equal(mtasts_cache_put(c, "b.example", 9,
                                      (const uint8_t *)"01234567890", 11, 0, 2),
                     MTASTS_ETOOBIG);
    /* a replacement too big leaves the old entry */
    assert_int_equal(mtasts_cache_put(c, "a.example", 9,
                                      (const uint8_t *)"01234567890", 11, 0, 2),
                     MTASTS_ETOOBIG);
    assert_int_equal(harness_leaks(), live);
    assert_int_equal(mtasts_cache_count(c), 1);
    assert_int_equal(mtasts_cache_bytes(c), 4);
    expect_get(c, "a.example", "aaaa", 3);
    mtasts_cache_free(c);
}

static void
test_remove(void **state)
{
    struct fix *f = *state;
    mtasts_cache *c = new_cache(f, 100, 1000);

    put_s(c, "a.example", "A", 0, 1);
    put_s(c, "b.example", "BB", 0, 1);
    assert_int_equal(mtasts_cache_remove(c, "c.example", 9), MTASTS_OK);
    assert_int_equal(mtasts_cache_count(c), 2);
    assert_int_equal(mtasts_cache_remove(c, "a.example", 9), MTASTS_OK);
    assert_int_equal(mtasts_cache_count(c), 1);
    assert_int_equal(mtasts_cache_bytes(c), 2);
    expect_get(c, "a.example", NULL, 2);
    expect_get(c, "b.example", "BB", 2);
    assert_int_equal(mtasts_cache_remove(c, "a.example", 9), MTASTS_OK);
    assert_int_equal(mtasts_cache_remove(c, "B.EXAMPLE.", 10), MTASTS_OK);
    assert_int_equal(mtasts_cache_count(c), 0);
    assert_int_equal(mtasts_cache_bytes(c), 0);
    /* the cache works after being emptied */
    put_s(c, "a.example", "A", 0, 3);
    expect_get(c, "a.example", "A", 3);
    mtasts_cache_free(c);
}

static void
test_gc(void **state)
{
    struct fix *f = *state;
    mtasts_cache *c = new_cache(f, 100, 1000);

    put_s(c, "a.example", "A", 0, 100);
    put_s(c, "b.example", "B", 0, 200);
    put_s(c, "c.example", "C", 0, 300);
    put_s(c, "d.example", "D", 0, 50);
    expect_get(c, "a.example", "A", 260); /* a get counts as a use */
    /* not used since 400 - 150 = 250: b and d */
    assert_int_equal(mtasts_cache_gc(c, 400, 150), 2);
    assert_int_equal(mtasts_cache_count(c), 2);
    assert_int_equal(mtasts_cache_bytes(c), 2);
    expect_get(c, "b.example", NULL, 400);
    expect_get(c, "d.example", NULL, 400);
    /* last use exactly at the cutoff stays (a at 260, c at 300) */
    assert_int_equal(mtasts_cache_gc(c, 1000, 740), 0);
    assert_int_equal(mtasts_cache_gc(c, 1000, 699), 2);
    assert_int_equal(mtasts_cache_count(c), 0);
    assert_int_equal(mtasts_cache_gc(c, 1000, 0), 0);
    /* extreme values do not overflow */
    put_s(c, "a.example", "A", 0, INT64_MIN);
    assert_int_equal(mtasts_cache_gc(c, INT64_MIN, INT64_MAX), 0);
    assert_int_equal(mtasts_cache_gc(c, INT64_MAX, INT64_MIN), 1);
    mtasts_cache_free(c);
}

/* The jitter documented for the planner: 64-bit FNV-1a of the normalised
 * domain modulo (jitter + 1). */
static int64_t
jitter_of(const char *d, int64_t jitter)
{
    uint64_t h = UINT64_C(0xcbf29ce484222325);

    for (; *d != '\0'; d++) {
        h ^= (unsigned char)*d;
        h *= UINT64_C(0x100000001b3);
    }
    return (int64_t)(h % ((uint64_t)jitter + 1));
}

static void
expect_next(mtasts_cache *c, int64_t now, int64_t within, int64_t jitter,
            const char *want, int64_t want_due)
{
    char buf[300];
    size_t n = 99;
    int64_t due = -1;

    assert_int_equal(mtasts_cache_next_refresh(c, now, within, jitter, buf,
                                               sizeof(buf), &n, &due),
                     MTASTS_OK);
    assert_string_equal(buf, want);
    assert_int_equal(n, strlen(want));
    assert_int_equal(due, want_due);
}

static void
test_next_refresh(void **state)
{
    struct fix *f = *state;
    mtasts_cache *c = new_cache(f, 100, 1000);
    char buf[16];
    size_t n = 99;
    int64_t due = -1;

    /* MTASTS_NONE (an outcome) on an empty cache, with ret_needed 0 */
    assert_int_equal(
        mtasts_cache_next_refresh(c, 0, 100, 0, buf, sizeof(buf), &n, &due),
        MTASTS_NONE);
    assert_int_equal(n, 0);
    assert_string_equal(buf, "");
    put_s(c, "never.example", "x", 0, 1000); /* refresh_at 0: never */
    assert_int_equal(
        mtasts_cache_next_refresh(c, 1000, 100, 0, NULL, 0, &n, &due),
        MTASTS_NONE);
    assert_int_equal(n, 0);

    put_s(c, "late.example", "x", 5000, 1000);
    put_s(c, "soon.example", "x", 2000, 1000);
    put_s(c, "stale.example", "x", 1500, 100); /* not used recently */
    expect_next(c, 1000, 500, 0, "soon.example", 2000);
    /* the used_within filter: with a wider window stale comes first */
    expect_next(c, 1000, 900, 0, "stale.example", 1500);
    /* due in the past is reported as is */
    put_s(c, "past.example", "x", 10, 1000);
    expect_next(c, 1000, 500, 0, "past.example", 10);
    assert_int_equal(mtasts_cache_remove(c, "past.example", 12), MTASTS_OK);
    /* ties go to the smaller domain in byte order */
    put_s(c, "b.example", "x", 2000, 1000);
    put_s(c, "a.example", "x", 2000, 1000);
    put_s(c, "a.exampl", "x", 2000, 1000);
    expect_next(c, 1000, 500, 0, "a.exampl", 2000);
    assert_int_equal(mtasts_cache_remove(c, "a.exampl", 8), MTASTS_OK);
    expect_next(c, 1000, 500, 0, "a.example", 2000);

    /* ERANGE and the size query */
    assert_int_equal(
        mtasts_cache_next_refresh(c, 1000, 500, 0, NULL, 0, &n, &due),
        MTASTS_ERANGE);
    assert_int_equal(n, 9);
    assert_int_equal(due, 2000);
    assert_int_equal(
        mtasts_cache_next_refresh(c, 1000, 500, 0, buf, 9, &n, &due),
        MTASTS_ERANGE);
    assert_int_equal(n, 9);
    assert_string_equal(buf, "a.exampl");
    assert_int_equal(
        mtasts_cache_next_refresh(c, 1000, 500, 0, buf, 8, NULL, NULL),
        MTASTS_ERANGE);
    /* EINVAL */
    assert_int_equal(
        mtasts_cache_next_refresh(NULL, 0, 0, 0, NULL, 0, &n, &due),
        MTASTS_EINVAL);
    assert_int_equal(mtasts_cache_next_refresh(c, 0, 0, 0, NULL, 5, &n, &due),
                     MTASTS_EINVAL);
    assert_int_equal(mtasts_cache_next_refresh(c, 0, 0, -1, buf, 8, &n, &due),
                     MTASTS_EINVAL);
    mtasts_cache_free(c);
}

static void
test_next_refresh_jitter(void **state)
{
    struct fix *f = *state;
    static const char *const doms[] = {
        "a.example", "b.example", "c.example", "d.example",
        "e.example", "f.example", "g.example", "h.example",
    };
    const size_t nd = sizeof(doms) / sizeof(doms[0]);
    mtasts_cache *c = new_cache(f, 100, 1000), *c2;
    const int64_t jitter = 3600, base = 100000;
    int64_t best = INT64_MAX, d, due, due2;
    const char *want = NULL;
    char buf[64], buf2[64];
    size_t i, n;

    for (i = 0; i < nd; i++) {
        put_s(c, doms[i], "x", base, 1000);
        d = base - jitter_of(doms[i], jitter);
        if (d < best || (d == best && strcmp(doms[i], want) < 0)) {
            best = d;
            want = doms[i];
        }
    }
    assert_non_null(want);
    expect_next(c, 1000, 500, jitter, want, best);
    assert_true(best <= base && best >= base - jitter);
    /* stable: the same answer from another cache filled in another order */
    c2 = new_cache(f, 100, 1000);
    for (i = nd; i-- > 0;)
        put_s(c2, doms[i], "x", base, 1000);
    assert_int_equal(mtasts_cache_next_refresh(c, 1000, 500, jitter, buf,
                                               sizeof(buf), &n, &due),
                     MTASTS_OK);
    assert_int_equal(mtasts_cache_next_refresh(c2, 1000, 500, jitter, buf2,
                                               sizeof(buf2), &n, &due2),
                     MTASTS_OK);
    assert_string_equal(buf, buf2);
    assert_int_equal(due, due2);
    /* jitter 0 means none: the tie goes to a.example */
    expect_next(c, 1000, 500, 0, "a.example", base);
    /* the jitter never moves a due time later, nor past the bound */
    for (i = 0; i < nd; i++)
        assert_int_equal(mtasts_cache_remove(c2, doms[i], strlen(doms[i])),
                         MTASTS_OK);
    put_s(c2, "one.example", "x", base, 1000);
    expect_next(c2, 1000, 500, 7, "one.example",
                base - jitter_of("one.example", 7));
    expect_next(c2, 1000, 500, INT64_MAX, "one.example",
                base - jitter_of("one.example", INT64_MAX));
    mtasts_cache_free(c2);
    mtasts_cache_free(c);
}

static void
test_many(void **state)
{
    struct fix *f = *state;
    const size_t count = 10000;
    mtasts_cache *c = new_cache(f, count, count * 32);
    char d[64], v[64];
    size_t i;

    for (i = 0; i < count; i++) {
        snprintf(d, sizeof(d), "d%05zu.example.com", i);
        snprintf(v, sizeof(v), "entry-%zu", i);
        put_s(c, d, v, (int64_t)i + 1, 1);
    }
    assert_int_equal(mtasts_cache_count(c), count);
    for (i = 0; i < count; i++) {
        snprintf(d, sizeof(d), "D%05zu.EXAMPLE.COM.", i);
        snprintf(v, sizeof(v), "entry-%zu", i);
        expect_get(c, d, v, 2);
    }
    expect_get(c, "d10000.example.com", NULL, 2);
    /* full: the next insert evicts d00000, the least recently used */
    put_s(c, "new.example.com", "n", 0, 3);
    assert_int_equal(mtasts_cache_count(c), count);
    expect_get(c, "d00000.example.com", NULL, 3);
    expect_get(c, "d00001.example.com", "entry-1", 3);
    /* remove every other one, then check the rest (backward-shift
     * deletion keeps probe chains intact) */
    for (i = 0; i < count; i += 2) {
        snprintf(d, sizeof(d), "d%05zu.example.com", i);
        assert_int_equal(mtasts_cache_remove(c, d, strlen(d)), MTASTS_OK);
    }
    for (i = 1; i < count; i += 2) {
        snprintf(d, sizeof(d), "d%05zu.example.com", i);
        snprintf(v, sizeof(v), "entry-%zu", i);
        expect_get(c, d, v, 4);
    }
    for (i = 0; i < count; i += 2) {
        snprintf(d, sizeof(d), "d%05zu.example.com", i);
        expect_get(c, d, NULL, 4);
    }
    assert_int_equal(mtasts_cache_count(c), count / 2 + 1);
    /* the planner's earliest: d00001 (refresh_at 2), all used at 4 */
    expect_next(c, 4, 10, 0, "d00001.example.com", 2);
    assert_int_equal(mtasts_cache_gc(c, 100, 10), count / 2 + 1);
    assert_int_equal(mtasts_cache_bytes(c), 0);
    mtasts_cache_free(c);
}

/* cache_apply with real lookups: STORE, then T7 (doc/discovery.md): the
 * record of a domain with a cached none policy is gone -> DELETE. */
static void
test_apply_store_delete(void **state)
{
    struct fix *f = *state;
    mtasts_cache *c = new_cache(f, 10, 100000);
    mtasts_lookup *lk;
    const uint8_t *e;
    uint8_t *copy;
    size_t n, need;

    lk = fetched_lookup(f, "Example.COM.", txt_id1, body_none, 1000);
    assert_int_equal(mtasts_cache_apply(c, lk, 1000), MTASTS_OK);
    assert_int_equal(mtasts_cache_count(c), 1);
    assert_int_equal(mtasts_lookup_entry(lk, NULL, 0, &need), MTASTS_ERANGE);
    assert_int_equal(mtasts_cache_bytes(c), need);
    /* stored under the normalised domain, with the lookup's bytes */
    assert_int_equal(mtasts_cache_get(c, "example.com", 11, 1001, &e, &n),
                     MTASTS_OK);
    assert_int_equal(n, need);
    copy = malloc(need + 1);
    assert_non_null(copy);
    assert_int_equal(mtasts_lookup_entry(lk, copy, need + 1, NULL), MTASTS_OK);
    assert_memory_equal(copy, e, n);
    free(copy);
    /* and with its refresh time */
    expect_next(c, 1001, 10, 0, "example.com", mtasts_lookup_refresh_at(lk));
    assert_true(mtasts_lookup_refresh_at(lk) > 1000);
    mtasts_lookup_free(lk);

    /* T7: the TXT record is gone and the cached policy is none */
    assert_int_equal(
        mtasts_lookup_new(f->ctx, "example.com", 11, e, n, 2000, 0, &lk),
        MTASTS_OK);
    assert_int_equal(mtasts_lookup_entry_error(lk), 0);
    /* not done yet: ESTATE, nothing changes */
    assert_int_equal(mtasts_cache_apply(c, lk, 2000), MTASTS_ESTATE);
    assert_int_equal(mtasts_cache_count(c), 1);
    answer_txt(lk, NULL);
    assert_int_equal(mtasts_lookup_next(lk), MTASTS_ACT_DONE);
    assert_int_equal(mtasts_lookup_entry_action(lk),
                     MTASTS_ENTRY_ACTION_DELETE);
    assert_int_equal(mtasts_cache_apply(c, lk, 2000), MTASTS_OK);
    assert_int_equal(mtasts_cache_count(c), 0);
    assert_int_equal(mtasts_cache_bytes(c), 0);
    expect_get(c, "example.com", NULL, 2001);
    mtasts_lookup_free(lk);

    /* an address literal finishes at once with nothing to store */
    assert_int_equal(
        mtasts_lookup_new(f->ctx, "[192.0.2.1]", 11, NULL, 0, 2000, 0, &lk),
        MTASTS_OK);
    assert_int_equal(mtasts_cache_apply(c, lk, 2000), MTASTS_OK);
    assert_int_equal(mtasts_cache_count(c), 0);
    mtasts_lookup_free(lk);
    mtasts_cache_free(c);
}

static void
test_apply_unchanged_toobig(void **state)
{
    struct fix *f = *state;
    mtasts_cache *c = new_cache(f, 10, 100000), *small;
    mtasts_lookup *lk, *lk2;
    const uint8_t *e;
    size_t n;

    lk = fetched_lookup(f, "example.com", txt_id1, body_enforce, 1000);
    assert_int_equal(mtasts_cache_apply(c, lk, 1000), MTASTS_OK);
    /* an entry larger than max_bytes */
    small = new_cache(f, 10, 16);
    put_s(small, "example.com", "old", 0, 1);
    assert_int_equal(mtasts_cache_apply(small, lk, 1000), MTASTS_ETOOBIG);
    assert_int_equal(mtasts_cache_count(small), 1);
    expect_get(small, "example.com", "old", 2);
    mtasts_cache_free(small);
    mtasts_lookup_free(lk);

    /* T9: same id a little later: nothing to store */
    assert_int_equal(mtasts_cache_get(c, "example.com", 11, 1010, &e, &n),
                     MTASTS_OK);
    assert_int_equal(
        mtasts_lookup_new(f->ctx, "example.com", 11, e, n, 1010, 0, &lk2),
        MTASTS_OK);
    answer_txt(lk2, txt_id1);
    assert_int_equal(mtasts_lookup_next(lk2), MTASTS_ACT_DONE);
    assert_int_equal(mtasts_lookup_outcome(lk2), MTASTS_OUTCOME_APPLY);
    assert_int_equal(mtasts_lookup_from_cache(lk2), 1);
    assert_int_equal(mtasts_lookup_entry_action(lk2),
                     MTASTS_ENTRY_ACTION_UNCHANGED);
    assert_int_equal(mtasts_cache_apply(c, lk2, 1010), MTASTS_OK);
    assert_int_equal(mtasts_cache_count(c), 1);
    mtasts_lookup_free(lk2);

    /* a new id: refetched and replaced */
    assert_int_equal(mtasts_cache_get(c, "example.com", 11, 1020, &e, &n),
                     MTASTS_OK);
    assert_int_equal(
        mtasts_lookup_new(f->ctx, "example.com", 11, e, n, 1020, 0, &lk2),
        MTASTS_OK);
    answer_txt(lk2, txt_id2);
    answer_fetch(lk2, body_none);
    assert_int_equal(mtasts_cache_apply(c, lk2, 1020), MTASTS_OK);
    assert_int_equal(mtasts_cache_count(c), 1);
    mtasts_lookup_free(lk2);
    assert_int_equal(mtasts_cache_get(c, "example.com", 11, 1030, &e, &n),
                     MTASTS_OK);
    assert_true(contains(e, n, "\nid=20240202\n"));
    mtasts_cache_free(c);
}

/* The decisions of a lookup started from entry bytes e, answered with the
 * same TXT record id1. */
struct decision {
    int entry_error, outcome, why, from_cache, mode, action;
    size_t mx_count;
};

static struct decision
decide_from(struct fix *f, const char *domain, const uint8_t *e, size_t n,
            int64_t now)
{
    struct decision d;
    mtasts_lookup *lk = NULL;

    memset(&d, 0, sizeof(d));
    assert_int_equal(
        mtasts_lookup_new(f->ctx, domain, strlen(domain), e, n, now, 0, &lk),
        MTASTS_OK);
    d.entry_error = mtasts_lookup_entry_error(lk);
    answer_txt(lk, txt_id1);
    if (mtasts_lookup_next(lk) == MTASTS_ACT_FETCH)
        answer_fetch(lk, body_enforce);
    assert_int_equal(mtasts_lookup_next(lk), MTASTS_ACT_DONE);
    d.outcome = mtasts_lookup_outcome(lk);
    d.why = mtasts_lookup_why(lk);
    d.from_cache = mtasts_lookup_from_cache(lk);
    d.mode = mtasts_policy_mode(mtasts_lookup_policy(lk));
    d.mx_count = mtasts_policy_mx_count(mtasts_lookup_policy(lk));
    d.action = mtasts_lookup_entry_action(lk);
    mtasts_lookup_free(lk);
    return d;
}

/* STS-CACHE-14: the cache can be exported and imported (entry bytes from
 * one cache put into a new one give identical decisions), and a tampered
 * entry is ignored, never trusted, while the others are kept. */
static void
test_export_import(void **state)
{
    struct fix *f = *state;
    static const char *const doms[] = {"a.example", "b.example", "c.example"};
    const size_t nd = sizeof(doms) / sizeof(doms[0]);
    mtasts_cache *src = new_cache(f, 10, 100000), *dst;
    mtasts_lookup *lk;
    const uint8_t *e, *e2;
    uint8_t *bad;
    size_t i, n, n2;
    struct decision d1, d2;

    for (i = 0; i < nd; i++) {
        lk = fetched_lookup(f, doms[i], txt_id1, body_enforce, 1000);
        assert_int_equal(mtasts_cache_apply(src, lk, 1000), MTASTS_OK);
        mtasts_lookup_free(lk);
    }
    /* export every entry into a new cache */
    dst = new_cache(f, 10, 100000);
    for (i = 0; i < nd; i++) {
        assert_int_equal(
            mtasts_cache_get(src, doms[i], strlen(doms[i]), 1100, &e, &n),
            MTASTS_OK);
        assert_non_null(e);
        assert_int_equal(
            mtasts_cache_put(dst, doms[i], strlen(doms[i]), e, n, 0, 1100),
            MTASTS_OK);
    }
    assert_int_equal(mtasts_cache_bytes(dst), mtasts_cache_bytes(src));
    for (i = 0; i < nd; i++) {
        assert_int_equal(
            mtasts_cache_get(src, doms[i], strlen(doms[i]), 1200, &e, &n),
            MTASTS_OK);
        assert_int_equal(
            mtasts_cache_get(dst, doms[i], strlen(doms[i]), 1200, &e2, &n2),
            MTASTS_OK);
        assert_int_equal(n, n2);
        assert_memory_equal(e, e2, n);
        d1 = decide_from(f, doms[i], e, n, 1200);
        d2 = decide_from(f, doms[i], e2, n2, 1200);
        assert_memory_equal(&d1, &d2, sizeof(d1));
        assert_int_equal(d1.entry_error, 0);
        assert_int_equal(d1.from_cache, 1);
        assert_int_equal(d1.why, MTASTS_WHY_CACHED);
        assert_int_equal(d1.mode, MTASTS_MODE_ENFORCE);
        assert_int_equal(d1.mx_count, 2);
    }
    /* tamper with b's bytes in the imported store */
    assert_int_equal(mtasts_cache_get(dst, "b.example", 9, 1300, &e, &n),
                     MTASTS_OK);
    bad = malloc(n);
    assert_non_null(bad);
    memcpy(bad, e, n);
    bad[n - 3] = 'x'; /* "max_age: 60480x": the body no longer parses */
    assert_int_equal(mtasts_cache_put(dst, "b.example", 9, bad, n, 0, 1300),
                     MTASTS_OK);
    free(bad);
    for (i = 0; i < nd; i++) {
        assert_int_equal(
            mtasts_cache_get(dst, doms[i], strlen(doms[i]), 1400, &e, &n),
            MTASTS_OK);
        d1 = decide_from(f, doms[i], e, n, 1400);
        if (i == 1) {
            /* ignored: a fresh discovery instead of the cached policy */
            assert_int_not_equal(d1.entry_error, 0);
            assert_int_equal(d1.from_cache, 0);
            assert_int_equal(d1.why, MTASTS_WHY_FETCHED);
        } else {
            assert_int_equal(d1.entry_error, 0);
            assert_int_equal(d1.from_cache, 1);
        }
    }
    /* an entry stored under another domain's key is not trusted either */
    assert_int_equal(mtasts_cache_get(dst, "a.example", 9, 1500, &e, &n),
                     MTASTS_OK);
    d1 = decide_from(f, "c.example", e, n, 1500);
    assert_int_not_equal(d1.entry_error, 0);
    assert_int_equal(d1.from_cache, 0);
    mtasts_cache_free(dst);
    mtasts_cache_free(src);
}

/* ---- allocation failures ---- */

/* The state of a cache that a failed call must leave untouched. */
struct snap {
    size_t count, bytes, live, live_bytes;
};

static struct snap
snap(const mtasts_cache *c)
{
    struct snap s;

    s.count = mtasts_cache_count(c);
    s.bytes = mtasts_cache_bytes(c);
    s.live = harness_leaks();
    s.live_bytes = harness_live_bytes();
    return s;
}

/* A cache whose table is exactly at its load limit, so that the next
 * insert of a new key also grows the table (two allocations). */
static mtasts_cache *
oom_cache(struct fix *f, size_t max_entries, size_t max_bytes)
{
    mtasts_cache *c = new_cache(f, max_entries, max_bytes);
    char d[32];
    size_t i;

    for (i = 0; i < 8; i++) {
        snprintf(d, sizeof(d), "k%zu.example", i);
        put_s(c, d, "value", (int64_t)i + 100, 1);
    }
    return c;
}

static void
check_unchanged(mtasts_cache *c, const struct snap *before)
{
    struct snap s = snap(c);

    assert_int_equal(s.count, before->count);
    assert_int_equal(s.bytes, before->bytes);
    assert_int_equal(s.live, before->live); /* nothing leaked */
    assert_int_equal(s.live_bytes, before->live_bytes);
    expect_get(c, "k0.example", "value", 2);
    expect_get(c, "k7.example", "value", 2);
}

static int
run_cache_new(void *arg)
{
    mtasts_cache *c = (mtasts_cache *)1;
    int rc = mtasts_cache_new(arg, 100, 1000, &c);

    if (rc == MTASTS_OK)
        mtasts_cache_free(c);
    else
        assert_null(c);
    return rc;
}

static void
test_oom_new(void **state)
{
    struct fix *f = *state;

    harness_oom_sweep("cache_new", run_cache_new, f->ctx, HARNESS_SWEEP_AT);
}

/* put of a new key (node + table growth), of an existing key, and one that
 * evicts: every failure leaves the cache as it was. */
static void
test_oom_put(void **state)
{
    struct fix *f = *state;
    static const struct {
        const char *domain, *value;
        size_t max_entries, max_bytes;
    } cases[] = {
        {"new.example", "new value", 100, 1000},  /* insert, table grows */
        {"k3.example", "replacement", 100, 1000}, /* replace */
        {"new.example", "new value", 8, 1000},    /* evicts by count */
        {"new.example", "new value", 100, 45},    /* evicts by bytes */
    };
    size_t i, nfail, max_fail;
    mtasts_cache *c;
    struct snap before;
    int rc;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        max_fail = 0;
        for (nfail = 0;; nfail++) {
            harness_fail_at(-1);
            c = oom_cache(f, cases[i].max_entries, cases[i].max_bytes);
            before = snap(c);
            harness_fail_at((long)nfail);
            rc = mtasts_cache_put(c, cases[i].domain, strlen(cases[i].domain),
                                  (const uint8_t *)cases[i].value,
                                  strlen(cases[i].value), 5, 2);
            if (harness_failures() == 0) {
                assert_int_equal(rc, MTASTS_OK);
                harness_fail_at(-1);
                expect_get(c, cases[i].domain, cases[i].value, 3);
                mtasts_cache_free(c);
                break;
            }
            max_fail = nfail + 1;
            harness_fail_at(-1);
            assert_int_equal(rc, MTASTS_ENOMEM);
            check_unchanged(c, &before);
            if (strcmp(cases[i].domain, "k3.example") == 0)
                expect_get(c, "k3.example", "value", 3);
            else
                expect_get(c, cases[i].domain, NULL, 3);
            mtasts_cache_free(c);
        }
        /* a new key at the table's load limit needs two allocations
         * (node, table; room is made before evicting), a replace one */
        assert_int_equal(
            max_fail,
            cases[i].domain[0] == 'n' && cases[i].max_entries > 8 ? 2 : 1);
    }
}

static void
test_oom_apply(void **state)
{
    struct fix *f = *state;
    mtasts_lookup *lk;
    mtasts_cache *c;
    struct snap before;
    size_t nfail;
    int rc;

    harness_fail_at(-1);
    lk = fetched_lookup(f, "new.example", txt_id1, body_enforce, 1000);
    for (nfail = 0;; nfail++) {
        harness_fail_at(-1);
        c = oom_cache(f, 100, 100000);
        before = snap(c);
        harness_fail_at((long)nfail);
        rc = mtasts_cache_apply(c, lk, 1000);
        if (harness_failures() == 0) {
            assert_int_equal(rc, MTASTS_OK);
            harness_fail_at(-1);
            assert_int_equal(mtasts_cache_count(c), before.count + 1);
            mtasts_cache_free(c);
            break;
        }
        harness_fail_at(-1);
        assert_int_equal(rc, MTASTS_ENOMEM);
        check_unchanged(c, &before);
        expect_get(c, "new.example", NULL, 3);
        mtasts_cache_free(c);
    }
    assert_int_equal(nfail, 2);
    mtasts_lookup_free(lk);
}

int
main(int argc, char **argv)
{
    const struct CMUnitTest unit[] = {
        cmocka_unit_test_setup_teardown(test_new_args, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hit_miss, setup, teardown),
        cmocka_unit_test_setup_teardown(test_key_normalisation, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_bad_args, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replace, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lru_count, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lru_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_too_big, setup, teardown),
        cmocka_unit_test_setup_teardown(test_remove, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gc, setup, teardown),
        cmocka_unit_test_setup_teardown(test_next_refresh, setup, teardown),
        cmocka_unit_test_setup_teardown(test_next_refresh_jitter, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_many, setup, teardown),
        cmocka_unit_test_setup_teardown(test_apply_store_delete, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_apply_unchanged_toobig, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_export_import, setup, teardown),
    };
    const struct CMUnitTest oom[] = {
        cmocka_unit_test_setup_teardown(test_oom_new, setup, teardown),
        cmocka_unit_test_setup_teardown(test_oom_put, setup, teardown),
        cmocka_unit_test_setup_teardown(test_oom_apply, setup, teardown),
    };

    if (argc > 1 && strcmp(argv[1], "--oom") == 0)
        return cmocka_run_group_tests_name("cache-oom", oom, NULL, NULL);
    return cmocka_run_group_tests_name("cache", unit, NULL, NULL);
}
