/* The one test harness (see harness.h). */
#define _DEFAULT_SOURCE 1

#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "harness.h"

#ifndef HARNESS_SRC_DIR
#error "HARNESS_SRC_DIR must be defined by the build"
#endif

struct slot {
    void *p; /* NULL = empty */
    size_t size;
};

/* Side table of live allocations, an open-addressing hash on the
 * pointer: the blocks themselves stay exactly the requested size. */
struct tracker {
    struct slot *slots;
    size_t nslots, cap; /* cap: 0 or a power of 2 */
    size_t live_bytes, peak_bytes, largest;
    size_t attempts, failures, errors;
    long fail_at;   /* one attempt to fail, -1 none */
    long fail_from; /* fail this attempt and later ones, -1 none */
};

static struct tracker tr = {NULL, 0, 0, 0, 0, 0, 0, 0, 0, -1, -1};

static void
tr_error(const char *what, const void *p, size_t a, size_t b)
{
    tr.errors++;
    print_error("harness: allocator misuse: %s (p=%p, %zu vs %zu)\n", what, p,
                a, b);
}

static int
tr_should_fail(size_t size)
{
    long n = (long)tr.attempts++;

    if (size > tr.largest)
        tr.largest = size;
    if ((tr.fail_at >= 0 && n == tr.fail_at) ||
        (tr.fail_from >= 0 && n >= tr.fail_from)) {
        tr.failures++;
        return 1;
    }
    return 0;
}

static size_t
tr_hash(const void *p)
{
    uint64_t h = (uint64_t)(uintptr_t)p;

    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return (size_t)h & (tr.cap - 1);
}

/* The slot of p, or the empty slot where it would go. */
static struct slot *
tr_find(const void *p)
{
    size_t i;

    if (tr.cap == 0)
        return NULL;
    for (i = tr_hash(p);; i = (i + 1) & (tr.cap - 1))
        if (tr.slots[i].p == p || tr.slots[i].p == NULL)
            return &tr.slots[i];
}

static void
tr_insert(void *p, size_t size)
{
    struct slot *s;

    if ((tr.nslots + 1) * 2 > tr.cap) {
        struct slot *old = tr.slots;
        size_t ocap = tr.cap, i;

        tr.cap = ocap != 0 ? ocap * 2 : 256;
        tr.slots = calloc(tr.cap, sizeof(*tr.slots));
        if (tr.slots == NULL)
            abort();
        for (i = 0; i < ocap; i++)
            if (old[i].p != NULL)
                *tr_find(old[i].p) = old[i];
        free(old);
    }
    s = tr_find(p);
    s->p = p;
    s->size = size;
    tr.nslots++;
    tr.live_bytes += size;
    if (tr.live_bytes > tr.peak_bytes)
        tr.peak_bytes = tr.live_bytes;
}

/* Remove the live slot s (backward-shift deletion). */
static void
tr_remove(struct slot *s)
{
    size_t i = (size_t)(s - tr.slots), j = i, k;

    tr.live_bytes -= s->size;
    tr.nslots--;
    for (;;) {
        tr.slots[i].p = NULL;
        for (;;) {
            j = (j + 1) & (tr.cap - 1);
            if (tr.slots[j].p == NULL)
                return;
            k = tr_hash(tr.slots[j].p);
            /* move j into the hole at i unless its home lies in (i, j] */
            if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
                continue;
            break;
        }
        tr.slots[i] = tr.slots[j];
        i = j;
    }
}

/* The live slot of p, or NULL. */
static struct slot *
tr_live(const void *p)
{
    struct slot *s = tr_find(p);

    return s != NULL && s->p != NULL ? s : NULL;
}

static void *
h_alloc(void *user, size_t size)
{
    void *p;

    if (user != &tr)
        tr_error("alloc: wrong user pointer", user, 0, 0);
    if (size == 0)
        tr_error("alloc of 0 bytes", NULL, 0, 0);
    if (tr_should_fail(size))
        return NULL;
    p = malloc(size != 0 ? size : 1);
    if (p == NULL)
        abort();
    memset(p, 0xA5, size);
    tr_insert(p, size);
    return p;
}

static void *
h_realloc(void *user, void *p, size_t old_size, size_t new_size)
{
    struct slot *s = NULL;
    void *q;

    if (user != &tr)
        tr_error("realloc: wrong user pointer", user, 0, 0);
    if (new_size == 0)
        tr_error("realloc to 0 bytes", p, old_size, 0);
    if (p != NULL) {
        s = tr_live(p);
        if (s == NULL) {
            tr_error("realloc of an unknown pointer", p, old_size, 0);
            return NULL;
        }
        if (s->size != old_size)
            tr_error("realloc: old_size differs from the allocated size", p,
                     old_size, s->size);
    }
    if (tr_should_fail(new_size))
        return NULL;
    /* always move, so stale pointers show up under valgrind and ASan */
    q = malloc(new_size != 0 ? new_size : 1);
    if (q == NULL)
        abort();
    memset(q, 0xA5, new_size);
    if (s != NULL) {
        memcpy(q, p, s->size < new_size ? s->size : new_size);
        tr_remove(s);
        free(p);
    }
    tr_insert(q, new_size);
    return q;
}

static void
h_free(void *user, void *p, size_t size)
{
    struct slot *s;

    if (user != &tr)
        tr_error("free: wrong user pointer", user, 0, 0);
    if (p == NULL)
        return;
    s = tr_live(p);
    if (s == NULL) {
        tr_error("free of an unknown pointer", p, size, 0);
        return; /* never free what we did not hand out */
    }
    if (s->size != size)
        tr_error("free: size differs from the allocated size", p, size,
                 s->size);
    tr_remove(s);
    free(p);
}

static const struct mtasts_alloc counting_alloc = {
    MTASTS_ALLOC_VERSION, h_alloc, h_realloc, h_free, &tr,
};

void
harness_reset(void)
{
    size_t i;

    if (tr.nslots != 0) {
        print_error("harness: %zu allocation(s) leaked by an earlier test\n",
                    tr.nslots);
        for (i = 0; i < tr.cap; i++)
            free(tr.slots[i].p);
    }
    free(tr.slots);
    tr.slots = NULL;
    tr.nslots = tr.cap = 0;
    tr.live_bytes = tr.peak_bytes = tr.largest = 0;
    tr.attempts = tr.failures = tr.errors = 0;
    tr.fail_at = tr.fail_from = -1;
}

static void
restart(void)
{
    tr.attempts = tr.failures = 0;
    tr.peak_bytes = tr.live_bytes;
    tr.largest = 0;
}

void
harness_fail_at(long n)
{
    tr.fail_at = n;
    tr.fail_from = -1;
    restart();
}

void
harness_fail_from(long n)
{
    tr.fail_from = n;
    tr.fail_at = -1;
    restart();
}

void
harness_disarm(void)
{
    tr.fail_at = tr.fail_from = -1;
}

size_t
harness_leaks(void)
{
    return tr.nslots;
}

size_t
harness_live_bytes(void)
{
    return tr.live_bytes;
}

size_t
harness_peak_bytes(void)
{
    return tr.peak_bytes;
}

size_t
harness_largest(void)
{
    return tr.largest;
}

size_t
harness_attempts(void)
{
    return tr.attempts;
}

size_t
harness_failures(void)
{
    return tr.failures;
}

size_t
harness_errors(void)
{
    return tr.errors;
}

void
harness_clear_errors(void)
{
    tr.errors = 0;
}

const struct mtasts_alloc *
harness_alloc(void)
{
    return &counting_alloc;
}

struct mtasts_alloc
harness_table(int with_realloc)
{
    struct mtasts_alloc a = counting_alloc;

    if (!with_realloc)
        a.realloc = NULL;
    return a;
}

mtasts_ctx *
harness_ctx_new(void)
{
    mtasts_ctx *ctx = NULL;

    assert_int_equal(mtasts_ctx_new(&counting_alloc, &ctx), MTASTS_OK);
    assert_non_null(ctx);
    return ctx;
}

mtasts_ctx *
harness_ctx_try(void)
{
    mtasts_ctx *ctx = NULL;

    harness_reset();
    if (mtasts_ctx_new(&counting_alloc, &ctx) != MTASTS_OK)
        return NULL;
    return ctx;
}

void
harness_assert_clean(void)
{
    assert_int_equal(harness_errors(), 0);
    assert_int_equal(harness_leaks(), 0);
    assert_int_equal(harness_live_bytes(), 0);
}

void
harness_ctx_free(mtasts_ctx *ctx)
{
    mtasts_ctx_free(ctx);
    harness_assert_clean();
}

int
harness_setup(void **state)
{
    harness_reset();
    *state = harness_ctx_new();
    return 0;
}

int
harness_teardown(void **state)
{
    harness_ctx_free(*state);
    *state = NULL;
    harness_reset();
    return 0;
}

/* ------------------------------------------------------------------ */

#define SWEEP_MAX_STEPS 100000L

static size_t
sweep_mode(const char *name, harness_op op, void *arg, unsigned flags, int from)
{
    size_t blocks = harness_leaks(), bytes = harness_live_bytes();
    size_t failed, steps = 0;
    long n;
    int rc;

    for (n = 0; n < SWEEP_MAX_STEPS; n++) {
        if (from)
            harness_fail_from(n);
        else
            harness_fail_at(n);
        rc = op(arg);
        failed = harness_failures();
        harness_fail_at(-1);
        if (failed == 0) {
            /* No allocation failed: the call must have succeeded. */
            if (rc != MTASTS_OK)
                print_error("%s: rc %s with no injected failure\n", name,
                            mtasts_status_name(rc));
            assert_int_equal(rc, MTASTS_OK);
            break;
        }
        if ((rc != MTASTS_ENOMEM &&
             !(rc == MTASTS_OK && (flags & HARNESS_SWEEP_OK_ON_FAIL))) ||
            harness_leaks() != blocks || harness_live_bytes() != bytes)
            print_error("%s: step %ld (%s): rc %s, live %zu/%zu bytes (want "
                        "%zu/%zu)\n",
                        name, n, from ? "from" : "at", mtasts_status_name(rc),
                        harness_leaks(), harness_live_bytes(), blocks, bytes);
        if (!(rc == MTASTS_OK && (flags & HARNESS_SWEEP_OK_ON_FAIL)))
            assert_int_equal(rc, MTASTS_ENOMEM);
        assert_int_equal(harness_leaks(), blocks);
        assert_int_equal(harness_live_bytes(), bytes);
        assert_int_equal(harness_errors(), 0);
        steps++;
    }
    /* The sweep ends, and at least one allocation was swept. */
    assert_true(n < SWEEP_MAX_STEPS);
    assert_true(n > 0);
    assert_int_equal(harness_leaks(), blocks);
    assert_int_equal(harness_live_bytes(), bytes);
    assert_int_equal(harness_errors(), 0);
    return steps;
}

size_t
harness_oom_sweep(const char *name, harness_op op, void *arg, unsigned flags)
{
    size_t steps = 0;

    if (flags & HARNESS_SWEEP_AT)
        steps += sweep_mode(name, op, arg, flags, 0);
    if (flags & HARNESS_SWEEP_FROM)
        steps += sweep_mode(name, op, arg, flags, 1);
    return steps;
}

/* ------------------------------------------------------------------ */

static size_t
page_size(void)
{
    long ps = sysconf(_SC_PAGESIZE);

    return ps > 0 ? (size_t)ps : 4096;
}

char *
harness_guard(const void *src, size_t len)
{
    size_t ps = page_size();
    size_t body = (len + ps - 1) / ps * ps;
    unsigned char *base;

    base = mmap(NULL, body + ps, PROT_READ | PROT_WRITE,
                MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(base != MAP_FAILED);
    assert_int_equal(mprotect(base + body, ps, PROT_NONE), 0);
    if (len > 0)
        memcpy(base + body - len, src, len);
    return (char *)(base + body - len);
}

void
harness_unguard(char *buf, size_t len)
{
    size_t ps = page_size();
    size_t body = (len + ps - 1) / ps * ps;

    if (buf == NULL)
        return;
    assert_int_equal(munmap(buf + len - body, body + ps), 0);
}

char *
harness_exact(const void *src, size_t len)
{
    char *p = malloc(len != 0 ? len : 1);

    assert_non_null(p);
    if (len > 0)
        memcpy(p, src, len);
    return p;
}

void *
harness_load(const char *path, size_t *ret_len)
{
    FILE *f;
    char *buf = NULL, *nb;
    size_t len = 0, cap = 0, n;

    *ret_len = 0;
    f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    for (;;) {
        if (len == cap) {
            cap = cap != 0 ? cap * 2 : 65536;
            nb = realloc(buf, cap);
            if (nb == NULL)
                goto fail;
            buf = nb;
        }
        n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (n == 0)
            break;
    }
    if (ferror(f))
        goto fail;
    fclose(f);
    /* Shrink to the exact size so an overread is visible to ASan. */
    nb = malloc(len != 0 ? len : 1);
    if (nb == NULL) {
        free(buf);
        return NULL;
    }
    if (len > 0)
        memcpy(nb, buf, len);
    free(buf);
    *ret_len = len;
    return nb;
fail:
    fclose(f);
    free(buf);
    return NULL;
}

void *
harness_load_src(const char *relpath, size_t *ret_len)
{
    char path[4096];
    int w;

    *ret_len = 0;
    w = snprintf(path, sizeof(path), "%s/%s", HARNESS_SRC_DIR, relpath);
    if (w < 0 || (size_t)w >= sizeof(path))
        return NULL;
    return harness_load(path, ret_len);
}
