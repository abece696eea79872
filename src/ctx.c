/* Context, allocator plumbing, limits and hash seeds. */
/* getrandom(2) and getentropy(3) are declared outside strict C99 */
#define _DEFAULT_SOURCE 1

#include <stdlib.h>
#if defined(MT_HAVE_GETRANDOM)
#include <errno.h>
#include <sys/random.h>
#elif defined(MT_HAVE_GETENTROPY)
#include <unistd.h>
#endif

#include "internal.h"

static void *
libc_alloc(void *user, size_t size)
{
    (void)user;
    return malloc(size);
}

static void *
libc_realloc(void *user, void *p, size_t old_size, size_t new_size)
{
    (void)user;
    (void)old_size;
    return realloc(p, new_size);
}

static void
libc_free(void *user, void *p, size_t size)
{
    (void)user;
    (void)size;
    free(p);
}

void *
mt_alloc(const mtasts_ctx *ctx, size_t size)
{
    return ctx->alloc.alloc(ctx->alloc.user, size);
}

void
mt_free(const mtasts_ctx *ctx, void *p, size_t size)
{
    if (p != NULL)
        ctx->alloc.free(ctx->alloc.user, p, size);
}

void *
mt_realloc(const mtasts_ctx *ctx, void *p, size_t old_size, size_t new_size)
{
    void *q;

    if (ctx->alloc.realloc != NULL)
        return ctx->alloc.realloc(ctx->alloc.user, p, old_size, new_size);
    q = mt_alloc(ctx, new_size);
    if (q == NULL)
        return NULL;
    if (p != NULL) {
        memcpy(q, p, old_size < new_size ? old_size : new_size);
        mt_free(ctx, p, old_size);
    }
    return q;
}

int
mt_size_muladd(size_t a, size_t b, size_t c, size_t *ret)
{
    if (b != 0 && a > (SIZE_MAX - c) / b)
        return 0;
    *ret = a * b + c;
    return 1;
}

static const size_t default_limits[MT_LIMIT_COUNT] = {
    0,
    MTASTS_POLICY_MAX_SIZE,
    MTASTS_POLICY_MAX_MX,
    MTASTS_TXT_MAX_SIZE,
    MTASTS_JSON_MAX_SIZE,
    MTASTS_JSON_MAX_DEPTH,
    MTASTS_JSON_MAX_STRING,
    MTASTS_JSON_MAX_ARRAY,
    MTASTS_GUNZIP_MAX_DEFAULT,
};

static const int64_t default_options[MT_OPTION_COUNT] = {
    86400, /* MTASTS_OPT_REFRESH_INTERVAL */
    300,   /* MTASTS_OPT_FETCH_BACKOFF */
    0,     /* MTASTS_OPT_EXTEND_SAME_ID */
    0,     /* MTASTS_OPT_TEMPFAIL_NO_CACHE */
    1,     /* MTASTS_OPT_DELETE_NONE */
    60000, /* MTASTS_OPT_FETCH_TIMEOUT_MS */
    0,     /* MTASTS_OPT_MIN_REFETCH */
};

int
mtasts_ctx_set_option(mtasts_ctx *ctx, int option, int64_t value)
{
    /* option values (100..) never overlap mtasts_limit values (1..99):
     * a limit passed here is refused */
    if (ctx == NULL || option < MT_OPTION_BASE ||
        option >= MT_OPTION_BASE + MT_OPTION_COUNT || value < 0)
        return MTASTS_EINVAL;
    switch (option) {
    case MTASTS_OPT_FETCH_BACKOFF:
        if (value < 300 || value > MT_SECONDS_MAX)
            return MTASTS_EINVAL;
        break;
    case MTASTS_OPT_TEMPFAIL_NO_CACHE:
    case MTASTS_OPT_DELETE_NONE:
        if (value > 1)
            return MTASTS_EINVAL;
        break;
    case MTASTS_OPT_FETCH_TIMEOUT_MS:
        if (value == 0 || value > UINT32_MAX)
            return MTASTS_EINVAL;
        break;
    default:
        /* seconds: keep sums with times far from overflow */
        if (value > MT_SECONDS_MAX)
            return MTASTS_EINVAL;
        break;
    }
    ctx->options[option - MT_OPTION_BASE] = value;
    return MTASTS_OK;
}

int64_t
mtasts_ctx_get_option(const mtasts_ctx *ctx, int option)
{
    if (ctx == NULL || option < MT_OPTION_BASE ||
        option >= MT_OPTION_BASE + MT_OPTION_COUNT)
        return -1;
    return ctx->options[option - MT_OPTION_BASE];
}

uint64_t
mt_hash(uint64_t seed, const void *data, size_t n)
{
    const unsigned char *p = data;
    uint64_t h = seed ^ (uint64_t)n, v;

    while (n >= 8) {
        memcpy(&v, p, 8);
        h = (h ^ v) * UINT64_C(0xbf58476d1ce4e5b9);
        h ^= h >> 31;
        p += 8;
        n -= 8;
    }
    v = 0;
    if (n > 0)
        memcpy(&v, p, n);
    h = (h ^ v) * UINT64_C(0x94d049bb133111eb);
    return mt_hash_mix(h);
}

int
mt_os_random(void *buf, size_t n)
{
#if defined(MT_HAVE_GETRANDOM)
    unsigned char *p = buf;
    ssize_t got;
    int tries = 0;

    /* GRND_NONBLOCK: never wait for the pool at early boot (the address
     * mix is used then); at most a few retries on a signal */
    while (n > 0 && tries < 8) {
        got = getrandom(p, n, GRND_NONBLOCK);
        if (got < 0) {
            if (errno != EINTR)
                return -1;
            tries++;
            continue;
        }
        p += got;
        n -= (size_t)got;
    }
    return n == 0 ? 0 : -1;
#elif defined(MT_HAVE_GETENTROPY)
    return n <= 256 && getentropy(buf, n) == 0 ? 0 : -1;
#elif defined(MT_HAVE_ARC4RANDOM)
    arc4random_buf(buf, n);
    return 0;
#else
    (void)buf;
    (void)n;
    return -1;
#endif
}

/* A new context's seed: from the kernel's random source where there is
 * one (getrandom, getentropy or arc4random, chosen at build time), mixed
 * with the addresses ASLR randomises (the context on the heap, a local on
 * the stack, the library's code); from the addresses alone when the
 * platform has no such source or it fails. The caller may set its own
 * (mtasts_ctx_set_seed) for reproducible runs. */
static uint64_t
ctx_seed(const mtasts_ctx *ctx)
{
    uint64_t r = 0;
    uint64_t h =
        (uint64_t)(uintptr_t)ctx ^ ((uint64_t)(uintptr_t)&ctx << 17) ^
        ((uint64_t)(uintptr_t)&mtasts_ctx_new * UINT64_C(0x9E3779B97F4A7C15));

    if (mt_os_random(&r, sizeof(r)) != 0)
        r = 0;
    return mt_hash_mix(h) ^ r;
}

int
mtasts_ctx_set_seed(mtasts_ctx *ctx, uint64_t seed)
{
    if (ctx == NULL)
        return MTASTS_EINVAL;
    ctx->seed = seed;
    return MTASTS_OK;
}

int
mtasts_ctx_new(const struct mtasts_alloc *alloc, mtasts_ctx **ret_ctx)
{
    struct mtasts_alloc a;
    mtasts_ctx *ctx;

    if (ret_ctx == NULL)
        return MTASTS_EINVAL;
    *ret_ctx = NULL;
    if (alloc != NULL) {
        if (alloc->version == 0)
            return MTASTS_EINVAL;
        if (alloc->version > MTASTS_ALLOC_VERSION)
            return MTASTS_EVERSION;
        if (alloc->alloc == NULL || alloc->free == NULL)
            return MTASTS_EINVAL;
        a = *alloc;
    } else {
        a.version = MTASTS_ALLOC_VERSION;
        a.alloc = libc_alloc;
        a.realloc = libc_realloc;
        a.free = libc_free;
        a.user = NULL;
    }
    ctx = a.alloc(a.user, sizeof(*ctx));
    if (ctx == NULL)
        return MTASTS_ENOMEM;
    ctx->alloc = a;
    memcpy(ctx->limits, default_limits, sizeof(ctx->limits));
    ctx->seed = ctx_seed(ctx);
    memcpy(ctx->options, default_options, sizeof(ctx->options));
    *ret_ctx = ctx;
    return MTASTS_OK;
}

void
mtasts_ctx_free(mtasts_ctx *ctx)
{
    struct mtasts_alloc a;

    if (ctx == NULL)
        return;
    a = ctx->alloc;
    a.free(a.user, ctx, sizeof(*ctx));
}

int
mtasts_ctx_set_limit(mtasts_ctx *ctx, int limit, size_t value)
{
    if (ctx == NULL || limit <= 0 || limit >= MT_LIMIT_COUNT || value == 0)
        return MTASTS_EINVAL;
    ctx->limits[limit] = value;
    return MTASTS_OK;
}

size_t
mtasts_ctx_get_limit(const mtasts_ctx *ctx, int limit)
{
    if (ctx == NULL || limit <= 0 || limit >= MT_LIMIT_COUNT)
        return 0;
    return ctx->limits[limit];
}

size_t
mtasts_policy_max_size(void)
{
    return MTASTS_POLICY_MAX_SIZE;
}

size_t
mtasts_policy_max_mx(void)
{
    return MTASTS_POLICY_MAX_MX;
}

size_t
mtasts_txt_max_size(void)
{
    return MTASTS_TXT_MAX_SIZE;
}

size_t
mtasts_id_max_len(void)
{
    return MTASTS_ID_MAX_LEN;
}

size_t
mtasts_domain_max_len(void)
{
    return MTASTS_DOMAIN_MAX_LEN;
}

uint32_t
mtasts_max_age_max(void)
{
    return MTASTS_MAX_AGE_MAX;
}

const char *
mtasts_version(uint32_t *ret_num)
{
    if (ret_num != NULL)
        *ret_num = MTASTS_VERSION_NUM;
    return MTASTS_VERSION_STRING;
}

int
mtasts_version_at_least(uint32_t num)
{
    return MTASTS_VERSION_NUM >= num;
}
