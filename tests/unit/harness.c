/* Shared cmocka harness: tracking allocator, guarded buffers, fixtures. */
#define _DEFAULT_SOURCE 1

#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "harness.h"

#ifndef HARNESS_SRC_DIR
#error "HARNESS_SRC_DIR must be defined by the build"
#endif
#ifndef HARNESS_DATA_DIR
#error "HARNESS_DATA_DIR must be defined by the build"
#endif

struct slot {
    void *p;
    size_t size;
};

/* Side table of live allocations: the blocks themselves stay exactly the
 * requested size so ASan and valgrind see every overrun. */
struct tracker {
    struct slot *slots;
    size_t nslots, cap;
    size_t live_bytes;
    size_t attempts, failures, errors;
    long fail_at;   /* one attempt to fail, -1 none */
    long fail_from; /* fail this attempt and later ones, -1 none */
};

static struct tracker tr = {NULL, 0, 0, 0, 0, 0, 0, -1, -1};

static void
tr_error(const char *what, const void *p, size_t a, size_t b)
{
    tr.errors++;
    print_error("harness: allocator misuse: %s (p=%p, %zu vs %zu)\n", what, p,
                a, b);
}

static int
tr_should_fail(void)
{
    long n = (long)tr.attempts++;

    if ((tr.fail_at >= 0 && n == tr.fail_at) ||
        (tr.fail_from >= 0 && n >= tr.fail_from)) {
        tr.failures++;
        return 1;
    }
    return 0;
}

static int
tr_add(void *p, size_t size)
{
    if (tr.nslots == tr.cap) {
        size_t ncap = tr.cap != 0 ? tr.cap * 2 : 64;
        struct slot *ns = realloc(tr.slots, ncap * sizeof(*ns));
        if (ns == NULL)
            return 0;
        tr.slots = ns;
        tr.cap = ncap;
    }
    tr.slots[tr.nslots].p = p;
    tr.slots[tr.nslots].size = size;
    tr.nslots++;
    tr.live_bytes += size;
    return 1;
}

static struct slot *
tr_find(const void *p)
{
    size_t i;

    for (i = 0; i < tr.nslots; i++)
        if (tr.slots[i].p == p)
            return &tr.slots[i];
    return NULL;
}

static void
tr_remove(struct slot *s)
{
    tr.live_bytes -= s->size;
    *s = tr.slots[--tr.nslots];
}

static void *
h_alloc(void *user, size_t size)
{
    void *p;

    if (user != &tr)
        tr_error("alloc: wrong user pointer", user, 0, 0);
    if (size == 0)
        tr_error("alloc of 0 bytes", NULL, 0, 0);
    if (tr_should_fail())
        return NULL;
    p = malloc(size != 0 ? size : 1);
    if (p == NULL)
        return NULL;
    if (!tr_add(p, size)) {
        free(p);
        return NULL;
    }
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
        s = tr_find(p);
        if (s == NULL) {
            tr_error("realloc of an unknown pointer", p, old_size, 0);
            return NULL;
        }
        if (s->size != old_size)
            tr_error("realloc: old_size differs from the allocated size", p,
                     old_size, s->size);
    }
    if (tr_should_fail())
        return NULL;
    q = realloc(p, new_size != 0 ? new_size : 1);
    if (q == NULL)
        return NULL;
    if (s != NULL)
        tr_remove(s);
    if (!tr_add(q, new_size)) {
        /* Cannot track it: treat as a failure the library must survive,
         * but the old block is gone; record an error. */
        tr_error("harness side table full", q, new_size, 0);
        free(q);
        return NULL;
    }
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
    s = tr_find(p);
    if (s == NULL) {
        tr_error("free of an unknown pointer", p, size, 0);
        return;
    }
    if (s->size != size)
        tr_error("free: size differs from the allocated size", p, size,
                 s->size);
    tr_remove(s);
    free(p);
}

static const struct mtasts_alloc tracking_alloc = {
    MTASTS_ALLOC_VERSION, h_alloc, h_realloc, h_free, &tr,
};

void
harness_reset(void)
{
    size_t i;

    if (tr.nslots != 0) {
        print_error("harness: %zu allocation(s) leaked by an earlier test\n",
                    tr.nslots);
        for (i = 0; i < tr.nslots; i++)
            free(tr.slots[i].p);
    }
    free(tr.slots);
    tr.slots = NULL;
    tr.nslots = tr.cap = 0;
    tr.live_bytes = 0;
    tr.attempts = tr.failures = tr.errors = 0;
    tr.fail_at = tr.fail_from = -1;
}

void
harness_fail_at(long n)
{
    tr.fail_at = n;
    tr.fail_from = -1;
    tr.attempts = tr.failures = 0;
}

void
harness_fail_from(long n)
{
    tr.fail_from = n;
    tr.fail_at = -1;
    tr.attempts = tr.failures = 0;
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

const struct mtasts_alloc *
harness_alloc(void)
{
    return &tracking_alloc;
}

mtasts_ctx *
harness_ctx_new(void)
{
    mtasts_ctx *ctx = NULL;

    assert_int_equal(mtasts_ctx_new(&tracking_alloc, &ctx), MTASTS_OK);
    assert_non_null(ctx);
    return ctx;
}

int
harness_setup(void **state)
{
    harness_reset();
    *state = harness_ctx_new();
    return 0;
}

void
harness_assert_clean(void)
{
    assert_int_equal(harness_errors(), 0);
    assert_int_equal(harness_leaks(), 0);
    assert_int_equal(harness_live_bytes(), 0);
}

int
harness_teardown(void **state)
{
    mtasts_ctx_free(*state);
    *state = NULL;
    harness_assert_clean();
    harness_reset();
    return 0;
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

static char *
load_file(const char *dir, const char *relpath, size_t *ret_len)
{
    char path[4096];
    FILE *f;
    char *buf = NULL, *nb;
    size_t len = 0, cap = 0, n;
    int w;

    *ret_len = 0;
    w = snprintf(path, sizeof(path), "%s/%s", dir, relpath);
    if (w < 0 || (size_t)w >= sizeof(path))
        return NULL;
    f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    for (;;) {
        if (len == cap) {
            cap = cap != 0 ? cap * 2 : 4096;
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

char *
harness_load_src(const char *relpath, size_t *ret_len)
{
    return load_file(HARNESS_SRC_DIR, relpath, ret_len);
}

char *
harness_load_data(const char *relpath, size_t *ret_len)
{
    return load_file(HARNESS_DATA_DIR, relpath, ret_len);
}
