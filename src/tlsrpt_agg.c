/*
 * TLSRPT aggregation, the sending side (RFC 8460 section 4, RPT-AGG-1..15):
 * applied-policy keys, the aggregate and its add, merge and remove.
 *
 * Layout. Every (domain, day) key owns its policy entries in insertion
 * order; every policy entry owns its failure-details entries in insertion
 * order. Three open-addressing tables (linear probing, backward-shift
 * deletion) find a key by (domain, day), a policy entry by (policy blob,
 * day) and a detail by (policy entry, detail blob) in O(1). Blobs are
 * described in tlsrpt_agg_int.h.
 *
 * Memory. Every allocation of the aggregate goes through the context
 * allocator and is counted in agg->bytes (with the size given to it);
 * making a new key or policy entry that would pass MTASTS_AGG_MAX_BYTES
 * fails with MTASTS_ETOOBIG. A new failure-details entry that would pass
 * it is not made: the session is then counted as for a truncated entry.
 *
 * Truncation (MTASTS_AGG_MAX_DETAILS). A policy entry keeps the first N
 * distinct failure-details entries in insertion order. A later failure
 * equal to a kept entry still adds to it; a failure of a new kind adds to
 * the summary only. Summary counts are therefore always exact.
 *
 * Atomicity. add and merge first find or make every entry they need (each
 * new one stamped with the generation of the call), then add the counts,
 * which cannot fail. When making an entry fails, every entry of the
 * current generation is removed again (they are always at the tails of
 * their lists), so the aggregate is as before the call.
 */
#include <stdlib.h>

#include "tlsrpt_agg_int.h"

#define K_DAY UINT64_C(0x9E3779B97F4A7C15)
#define K_PTR UINT64_C(0xD6E8FEB86659FD93)

uint64_t
mt_agg_hash(uint64_t seed, const unsigned char *p, size_t n)
{
    return mt_hash(seed ^ K_DAY, p, n);
}

static uint64_t
key_hash(const mtasts_tlsrpt_agg *a, const char *d, size_t n, int64_t day)
{
    return mt_hash_mix(mt_agg_hash(a->seed, (const unsigned char *)d, n) +
                       (uint64_t)day * K_DAY);
}

/* The hash of b[0..n) under the aggregate's seed: h when it was made
 * under that seed already (a policy key or an aggregate of the same
 * context), else computed again. */
static uint64_t
seeded(const mtasts_tlsrpt_agg *a, uint64_t seed, uint64_t h,
       const unsigned char *b, size_t n)
{
    return seed == a->seed ? h : mt_agg_hash(a->seed, b, n);
}

static uint64_t
pol_slot(uint64_t hash, int64_t day)
{
    return mt_hash_mix(hash ^ (uint64_t)day * K_DAY);
}

static uint64_t
det_slot(uint64_t hash, const struct agg_pol *p)
{
    return mt_hash_mix(hash ^ (uint64_t)(uintptr_t)p * K_PTR);
}

/* ------------------------------------------------------------------ */
/* Counted allocation                                                  */
/* ------------------------------------------------------------------ */

static void *
agg_alloc(mtasts_tlsrpt_agg *a, size_t n, int *err)
{
    void *p;

    if (n > a->max_bytes || a->bytes > a->max_bytes - n) {
        *err = MTASTS_ETOOBIG;
        return NULL;
    }
    p = mt_alloc(a->ctx, n);
    if (p == NULL) {
        *err = MTASTS_ENOMEM;
        return NULL;
    }
    a->bytes += n;
    return p;
}

static void
agg_free(mtasts_tlsrpt_agg *a, void *p, size_t n)
{
    if (p != NULL) {
        mt_free(a->ctx, p, n);
        a->bytes -= n;
    }
}

/* Grow the array *arr of *cap elements of es bytes to hold need. */
static int
agg_grow(mtasts_tlsrpt_agg *a, void *arr, size_t *cap, size_t need, size_t es)
{
    void **pa = arr, *n;
    size_t ncap = *cap != 0 ? *cap : 4, delta;

    if (need <= *cap)
        return MTASTS_OK;
    while (ncap < need) {
        if (ncap > SIZE_MAX / 2)
            return MTASTS_ETOOBIG;
        ncap *= 2;
    }
    if (ncap > SIZE_MAX / es)
        return MTASTS_ETOOBIG;
    delta = (ncap - *cap) * es;
    if (delta > a->max_bytes || a->bytes > a->max_bytes - delta)
        return MTASTS_ETOOBIG;
    n = mt_realloc(a->ctx, *pa, *cap * es, ncap * es);
    if (n == NULL)
        return MTASTS_ENOMEM;
    a->bytes += delta;
    *pa = n;
    *cap = ncap;
    return MTASTS_OK;
}

/* ------------------------------------------------------------------ */
/* Tables                                                              */
/* ------------------------------------------------------------------ */

static void
tab_put(struct agg_tab *t, uint64_t h, void *p)
{
    size_t mask = t->cap - 1, i = (size_t)h & mask;

    while (t->s[i].p != NULL)
        i = (i + 1) & mask;
    t->s[i].h = h;
    t->s[i].p = p;
    t->n++;
}

/* Room for one more entry at a load of at most one half. */
static int
tab_reserve(mtasts_tlsrpt_agg *a, struct agg_tab *t)
{
    struct agg_tab nt;
    size_t i;
    int err = MTASTS_OK;

    if ((t->n + 1) * 2 <= t->cap)
        return MTASTS_OK;
    nt.cap = t->cap != 0 ? t->cap * 2 : 16;
    nt.n = 0;
    if (nt.cap > SIZE_MAX / sizeof(*nt.s) / 2)
        return MTASTS_ETOOBIG;
    nt.s = agg_alloc(a, nt.cap * sizeof(*nt.s), &err);
    if (nt.s == NULL)
        return err;
    memset(nt.s, 0, nt.cap * sizeof(*nt.s));
    for (i = 0; i < t->cap; i++)
        if (t->s[i].p != NULL)
            tab_put(&nt, t->s[i].h, t->s[i].p);
    agg_free(a, t->s, t->cap * sizeof(*t->s));
    *t = nt;
    return MTASTS_OK;
}

static void
tab_del(struct agg_tab *t, uint64_t h, const void *p)
{
    size_t mask = t->cap - 1, i = (size_t)h & mask, j, k;

    while (t->s[i].p != p)
        i = (i + 1) & mask;
    for (j = (i + 1) & mask; t->s[j].p != NULL; j = (j + 1) & mask) {
        k = (size_t)t->s[j].h & mask;
        /* leave s[j] when its home k lies cyclically in (i, j] */
        if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
            continue;
        t->s[i] = t->s[j];
        i = j;
    }
    t->s[i].p = NULL;
    t->s[i].h = 0;
    t->n--;
}

/* ------------------------------------------------------------------ */
/* Keys, policy entries, details                                       */
/* ------------------------------------------------------------------ */

static int
key_cmp(const struct agg_key *x, const struct agg_key *y)
{
    size_t n = x->dlen < y->dlen ? x->dlen : y->dlen;
    int c;

    if (x->day != y->day)
        return x->day < y->day ? -1 : 1;
    c = memcmp(x->domain, y->domain, n);
    if (c != 0)
        return c;
    return x->dlen < y->dlen ? -1 : x->dlen > y->dlen;
}

static int
key_qcmp(const void *x, const void *y)
{
    return key_cmp(*(struct agg_key *const *)x, *(struct agg_key *const *)y);
}

void
mt_agg_sort(const mtasts_tlsrpt_agg *agg)
{
    mtasts_tlsrpt_agg *a = (mtasts_tlsrpt_agg *)(uintptr_t)agg;

    size_t i;

    if (!a->sorted && a->nkeys > 1) {
        qsort(a->keys, a->nkeys, sizeof(*a->keys), key_qcmp);
        for (i = 0; i < a->nkeys; i++)
            a->keys[i]->slot = a->khead + i;
    }
    a->sorted = 1;
}

struct agg_key *
mt_agg_key_find(const mtasts_tlsrpt_agg *agg, const char *d, size_t dlen,
                int64_t day)
{
    uint64_t h;
    size_t mask, i;
    struct agg_key *k;

    if (agg->ktab.cap == 0)
        return NULL;
    h = key_hash(agg, d, dlen, day);
    mask = agg->ktab.cap - 1;
    for (i = (size_t)h & mask; (k = agg->ktab.s[i].p) != NULL;
         i = (i + 1) & mask)
        if (agg->ktab.s[i].h == h && k->day == day && k->dlen == dlen &&
            memcmp(k->domain, d, dlen) == 0)
            return k;
    return NULL;
}

static int
key_get(mtasts_tlsrpt_agg *a, const char *d, size_t dlen, int64_t day,
        struct agg_key **ret)
{
    struct agg_key *k = mt_agg_key_find(a, d, dlen, day);
    int err = MTASTS_OK;
    size_t need, i;

    if (k != NULL) {
        *ret = k;
        return MTASTS_OK;
    }
    need = a->nkeys + 1;
    if (a->khead > 0 && a->khead + a->nkeys == a->kcap) {
        /* full at the back, free at the front: move the keys back to the
         * start, and grow as well unless that freed a third or more (so
         * that moves stay amortised O(1) per key) */
        if (a->khead * 2 < a->nkeys)
            need += a->nkeys / 2;
        memmove(a->keys - a->khead, a->keys, a->nkeys * sizeof(*a->keys));
        a->keys -= a->khead;
        a->khead = 0;
        for (i = 0; i < a->nkeys; i++)
            a->keys[i]->slot = i;
    }
    if ((err = tab_reserve(a, &a->ktab)) != MTASTS_OK ||
        (a->khead == 0 && (err = agg_grow(a, &a->keys, &a->kcap, need,
                                          sizeof(*a->keys))) != MTASTS_OK))
        return err;
    k = agg_alloc(a, sizeof(*k), &err);
    if (k == NULL)
        return err;
    memset(k, 0, sizeof(*k));
    k->hash = key_hash(a, d, dlen, day);
    k->gen = a->gen;
    k->day = day;
    k->dlen = dlen;
    memcpy(k->domain, d, dlen);
    tab_put(&a->ktab, k->hash, k);
    k->slot = a->khead + a->nkeys;
    a->keys[a->nkeys++] = k;
    if (a->nkeys > 1 && key_cmp(a->keys[a->nkeys - 2], k) > 0)
        a->sorted = 0;
    *ret = k;
    return MTASTS_OK;
}

int
mt_agg_pol_get(mtasts_tlsrpt_agg *agg, const unsigned char *blob, uint32_t len,
               uint64_t hash, int64_t day, int create, struct agg_pol **ret,
               int *ret_new)
{
    uint64_t h = pol_slot(hash, day);
    struct agg_key *k;
    struct agg_pol *p;
    size_t mask, i;
    int err = MTASTS_OK;

    *ret = NULL;
    *ret_new = 0;
    if (agg->ptab.cap != 0) {
        mask = agg->ptab.cap - 1;
        for (i = (size_t)h & mask; (p = agg->ptab.s[i].p) != NULL;
             i = (i + 1) & mask)
            if (agg->ptab.s[i].h == h && p->hash == hash && p->day == day &&
                p->blob_len == len && memcmp(p->blob, blob, len) == 0) {
                *ret = p;
                return MTASTS_OK;
            }
    }
    if (!create)
        return MTASTS_OK;
    /* the key is the policy's domain */
    if ((err = key_get(agg, mt_pb_domain(blob), mt_pb_domain_len(blob), day,
                       &k)) != MTASTS_OK ||
        (err = tab_reserve(agg, &agg->ptab)) != MTASTS_OK ||
        (err = agg_grow(agg, &k->pols, &k->pcap, k->npols + 1,
                        sizeof(*k->pols))) != MTASTS_OK)
        return err;
    p = agg_alloc(agg, sizeof(*p) + len, &err);
    if (p == NULL)
        return err;
    memset(p, 0, sizeof(*p));
    p->key = k;
    p->day = day;
    p->hash = hash;
    p->gen = agg->gen;
    p->blob_len = len;
    memcpy(p->blob, blob, len);
    tab_put(&agg->ptab, h, p);
    k->pols[k->npols++] = p;
    *ret = p;
    *ret_new = 1;
    return MTASTS_OK;
}

int
mt_agg_det_get(mtasts_tlsrpt_agg *agg, struct agg_pol *pol,
               const unsigned char *blob, uint32_t len, uint64_t hash,
               struct agg_det **ret, int *ret_new)
{
    uint64_t h = det_slot(hash, pol);
    struct agg_det *d;
    size_t mask, i;
    int err = MTASTS_OK;

    *ret = NULL;
    *ret_new = 0;
    if (agg->dtab.cap != 0) {
        mask = agg->dtab.cap - 1;
        for (i = (size_t)h & mask; (d = agg->dtab.s[i].p) != NULL;
             i = (i + 1) & mask)
            if (agg->dtab.s[i].h == h && d->pol == pol && d->hash == hash &&
                d->blob_len == len && memcmp(d->blob, blob, len) == 0) {
                *ret = d;
                return MTASTS_OK;
            }
    }
    if (pol->ndets >= agg->max_details)
        return MTASTS_OK; /* truncated: counted in the summary only */
    if ((err = tab_reserve(agg, &agg->dtab)) != MTASTS_OK ||
        (err = agg_grow(agg, &pol->dets, &pol->dcap, pol->ndets + 1,
                        sizeof(*pol->dets))) != MTASTS_OK)
        goto fail;
    d = agg_alloc(agg, sizeof(*d) + len, &err);
    if (d == NULL)
        goto fail;
    memset(d, 0, sizeof(*d));
    d->pol = pol;
    d->hash = hash;
    d->gen = agg->gen;
    d->blob_len = len;
    memcpy(d->blob, blob, len);
    tab_put(&agg->dtab, h, d);
    pol->dets[pol->ndets++] = d;
    *ret = d;
    *ret_new = 1;
    return MTASTS_OK;
fail:
    /* the memory bound truncates details, except while staging */
    return err == MTASTS_ETOOBIG && agg->max_details != MT_AGG_NO_TRUNCATE
               ? MTASTS_OK
               : err;
}

static void
det_free(mtasts_tlsrpt_agg *a, struct agg_det *d)
{
    tab_del(&a->dtab, det_slot(d->hash, d->pol), d);
    agg_free(a, d, sizeof(*d) + d->blob_len);
}

static void
pol_free(mtasts_tlsrpt_agg *a, struct agg_pol *p)
{
    size_t i;

    for (i = 0; i < p->ndets; i++)
        det_free(a, p->dets[i]);
    agg_free(a, p->dets, p->dcap * sizeof(*p->dets));
    tab_del(&a->ptab, pol_slot(p->hash, p->day), p);
    agg_free(a, p, sizeof(*p) + p->blob_len);
}

/* Free key i and close the gap (keeps the order). */
static void
key_free_at(mtasts_tlsrpt_agg *a, size_t i)
{
    struct agg_key *k = a->keys[i];
    size_t j;

    for (j = 0; j < k->npols; j++)
        pol_free(a, k->pols[j]);
    agg_free(a, k->pols, k->pcap * sizeof(*k->pols));
    tab_del(&a->ktab, k->hash, k);
    agg_free(a, k, sizeof(*k));
    if (i < a->nkeys / 2) {
        /* shift the front part up: removals from either end are O(1) */
        memmove(a->keys + 1, a->keys, i * sizeof(*a->keys));
        a->keys++;
        a->khead++;
        for (j = 0; j < i; j++)
            a->keys[j]->slot++;
    } else {
        memmove(a->keys + i, a->keys + i + 1,
                (a->nkeys - i - 1) * sizeof(*a->keys));
        for (j = i; j + 1 < a->nkeys; j++)
            a->keys[j]->slot--;
    }
    a->nkeys--;
}

/* Undo the entries of the current generation in key i. */
static void
rollback_key(mtasts_tlsrpt_agg *a, size_t i)
{
    struct agg_key *k = a->keys[i];
    size_t j;

    for (j = 0; j < k->npols; j++) {
        struct agg_pol *p = k->pols[j];
        while (p->ndets > 0 && p->dets[p->ndets - 1]->gen == a->gen)
            det_free(a, p->dets[--p->ndets]);
        if (p->ndets == 0 && p->dets != NULL) {
            /* give back an array this call may have made */
            agg_free(a, p->dets, p->dcap * sizeof(*p->dets));
            p->dets = NULL;
            p->dcap = 0;
        }
    }
    while (k->npols > 0 && k->pols[k->npols - 1]->gen == a->gen)
        pol_free(a, k->pols[--k->npols]);
    if (k->gen == a->gen)
        key_free_at(a, i);
}

/* Give back the tables and key array when they became empty. */
static void
release_empty(mtasts_tlsrpt_agg *a)
{
    struct agg_tab *t[3];
    size_t i;

    t[0] = &a->ktab;
    t[1] = &a->ptab;
    t[2] = &a->dtab;
    for (i = 0; i < 3; i++)
        if (t[i]->n == 0 && t[i]->s != NULL) {
            agg_free(a, t[i]->s, t[i]->cap * sizeof(*t[i]->s));
            t[i]->s = NULL;
            t[i]->cap = 0;
        }
    if (a->nkeys == 0 && a->keys != NULL) {
        agg_free(a, a->keys - a->khead, a->kcap * sizeof(*a->keys));
        a->keys = NULL;
        a->kcap = 0;
        a->khead = 0;
    }
}

void
mt_agg_rollback(mtasts_tlsrpt_agg *agg)
{
    size_t i = agg->nkeys;

    while (i-- > 0)
        rollback_key(agg, i);
    release_empty(agg);
}

int
mt_agg_norm_domain(const char *d, size_t n, char out[MTASTS_DOMAIN_MAX_LEN + 1],
                   size_t *ret_len)
{
    int rc;

    if (d == NULL && n > 0)
        return MTASTS_EINVAL;
    rc = mt_domain_norm(d, n, out, MTASTS_DOMAIN_MAX_LEN, ret_len);
    if (rc == MTASTS_OK)
        out[*ret_len] = '\0';
    return rc;
}

/* ------------------------------------------------------------------ */
/* The aggregate                                                       */
/* ------------------------------------------------------------------ */

static int
agg_make(mtasts_ctx *ctx, size_t max_bytes, size_t max_details,
         mtasts_tlsrpt_agg **ret)
{
    mtasts_tlsrpt_agg *a;

    a = mt_alloc(ctx, sizeof(*a));
    if (a == NULL)
        return MTASTS_ENOMEM;
    memset(a, 0, sizeof(*a));
    a->ctx = ctx;
    a->seed = ctx->seed;
    a->bytes = sizeof(*a);
    a->max_bytes = max_bytes;
    a->max_details = max_details;
    a->sorted = 1;
    *ret = a;
    return MTASTS_OK;
}

int
mtasts_tlsrpt_agg_new(mtasts_ctx *ctx, mtasts_tlsrpt_agg **ret_agg)
{
    if (ret_agg != NULL)
        *ret_agg = NULL;
    if (ctx == NULL || ret_agg == NULL)
        return MTASTS_EINVAL;
    return agg_make(ctx, MT_AGG_MAX_BYTES, MT_AGG_MAX_DETAILS, ret_agg);
}

int
mt_agg_new_staging(mtasts_ctx *ctx, size_t max_bytes, mtasts_tlsrpt_agg **ret)
{
    return agg_make(ctx, max_bytes, MT_AGG_NO_TRUNCATE, ret);
}

void
mtasts_tlsrpt_agg_free(mtasts_tlsrpt_agg *agg)
{
    size_t i, j, k;

    if (agg == NULL)
        return;
    for (i = 0; i < agg->nkeys; i++) {
        struct agg_key *key = agg->keys[i];
        for (j = 0; j < key->npols; j++) {
            struct agg_pol *p = key->pols[j];
            for (k = 0; k < p->ndets; k++)
                mt_free(agg->ctx, p->dets[k],
                        sizeof(*p->dets[k]) + p->dets[k]->blob_len);
            mt_free(agg->ctx, p->dets, p->dcap * sizeof(*p->dets));
            mt_free(agg->ctx, p, sizeof(*p) + p->blob_len);
        }
        mt_free(agg->ctx, key->pols, key->pcap * sizeof(*key->pols));
        mt_free(agg->ctx, key, sizeof(*key));
    }
    if (agg->keys != NULL)
        mt_free(agg->ctx, agg->keys - agg->khead,
                agg->kcap * sizeof(*agg->keys));
    mt_free(agg->ctx, agg->ktab.s, agg->ktab.cap * sizeof(*agg->ktab.s));
    mt_free(agg->ctx, agg->ptab.s, agg->ptab.cap * sizeof(*agg->ptab.s));
    mt_free(agg->ctx, agg->dtab.s, agg->dtab.cap * sizeof(*agg->dtab.s));
    mt_free(agg->ctx, agg, sizeof(*agg));
}

int
mtasts_tlsrpt_agg_set(mtasts_tlsrpt_agg *agg, int option, int64_t value)
{
    if (agg == NULL || value < 0)
        return MTASTS_EINVAL;
    switch (option) {
    case MTASTS_AGG_MAX_BYTES:
        if (value == 0)
            return MTASTS_EINVAL;
        agg->max_bytes = (uint64_t)value > SIZE_MAX ? SIZE_MAX : (size_t)value;
        return MTASTS_OK;
    case MTASTS_AGG_MAX_DETAILS:
        /* SIZE_MAX is the staging marker: stay below it */
        agg->max_details =
            (uint64_t)value >= SIZE_MAX ? SIZE_MAX - 1 : (size_t)value;
        return MTASTS_OK;
    case MTASTS_AGG_FAILURES_ONLY:
        if (value > 1)
            return MTASTS_EINVAL;
        agg->failures_only = (int)value;
        return MTASTS_OK;
    default:
        return MTASTS_EINVAL;
    }
}

/* ------------------------------------------------------------------ */
/* add                                                                 */
/* ------------------------------------------------------------------ */

/* A failure's members, checked and put in canonical form. */
struct det_in {
    int result;
    const char *f[MT_DET_FIELDS];
    size_t n[MT_DET_FIELDS];
    char ip_s[46], ip_r[46], mx[MTASTS_DOMAIN_MAX_LEN + 2];
};

static int
canon_ip(const char *s, size_t n, char out[46], const char **rs, size_t *rn)
{
    if (mt_is_ipv4(s, n)) {
        *rs = s;
        *rn = n;
    } else if ((*rn = mt_ipv6_canon(s, n, out)) > 0)
        *rs = out;
    else
        return MTASTS_ESYNTAX;
    return MTASTS_OK;
}

static int
det_prepare(const mtasts_ctx *ctx, const struct mtasts_tlsrpt_failure *f,
            struct det_in *o)
{
    size_t max = ctx->limits[MTASTS_LIMIT_JSON_STRING], i;
    const char *in[MT_DET_FIELDS], *name;
    size_t len[MT_DET_FIELDS];
    int r;

    if (f->version != MTASTS_FAILURE_VERSION)
        return MTASTS_EVERSION;
    if (f->result_type < 0 || f->result_type > MT_RESULT_MAX)
        return MTASTS_EINVAL;
    in[0] = f->result_type == MTASTS_RESULT_NONE ? f->result_text : NULL;
    len[0] = f->result_text_len;
    in[1] = f->sending_ip;
    len[1] = f->sending_ip_len;
    in[2] = f->receiving_mx;
    len[2] = f->receiving_mx_len;
    in[3] = f->receiving_helo;
    len[3] = f->receiving_helo_len;
    in[4] = f->receiving_ip;
    len[4] = f->receiving_ip_len;
    in[5] = f->additional;
    len[5] = f->additional_len;
    in[6] = f->reason_code;
    len[6] = f->reason_code_len;
    o->result = f->result_type;
    if (o->result == MTASTS_RESULT_NONE && in[0] == NULL)
        return MTASTS_EINVAL;
    for (i = 0; i < MT_DET_FIELDS; i++) {
        o->f[i] = in[i];
        o->n[i] = 0;
        if (in[i] == NULL)
            continue;
        o->n[i] = len[i];
        if (o->n[i] > max || o->n[i] > UINT32_MAX / 2)
            return MTASTS_ETOOBIG;
        if (o->n[i] == 0)
            return MTASTS_ESYNTAX;
    }
    if (in[0] != NULL) {
        /* a registered name given as text is that type */
        for (r = 1; r <= MT_RESULT_MAX; r++) {
            name = mtasts_result_type_name(r);
            if (strlen(name) == o->n[0] && memcmp(name, in[0], o->n[0]) == 0)
                break;
        }
        if (r <= MT_RESULT_MAX) {
            o->result = r;
            o->f[0] = NULL;
            o->n[0] = 0;
        } else if (!mt_utf8_ok(in[0], o->n[0]))
            return MTASTS_ESYNTAX;
    }
    if ((in[1] != NULL &&
         canon_ip(in[1], o->n[1], o->ip_s, &o->f[1], &o->n[1]) != 0) ||
        (in[4] != NULL &&
         canon_ip(in[4], o->n[4], o->ip_r, &o->f[4], &o->n[4]) != 0))
        return MTASTS_ESYNTAX;
    if (in[2] != NULL) {
        size_t n = o->n[2];
        if (n > 0 && in[2][n - 1] == '.')
            n--;
        if (!mt_name_valid(in[2], n))
            return MTASTS_ESYNTAX;
        for (i = 0; i < n; i++)
            o->mx[i] = (char)MT_LOWER(in[2][i]);
        o->f[2] = o->mx;
        o->n[2] = n;
    }
    if ((in[3] != NULL && !mt_utf8_ok(in[3], o->n[3])) ||
        (in[5] != NULL && !mt_uri_ok(in[5], o->n[5])) ||
        (in[6] != NULL && !mt_utf8_ok(in[6], o->n[6])))
        return MTASTS_ESYNTAX;
    return MTASTS_OK;
}

static size_t
det_size(const struct det_in *o)
{
    size_t len = 1 + 4 * MT_DET_FIELDS, i;

    for (i = 0; i < MT_DET_FIELDS; i++)
        len += o->n[i];
    return len;
}

static void
det_write(const struct det_in *o, unsigned char *b)
{
    size_t i, off = 1;

    b[0] = (unsigned char)o->result;
    for (i = 0; i < MT_DET_FIELDS; i++) {
        mt_be_put(b + off, o->f[i] != NULL ? o->n[i] + 1 : 0, 4);
        off += 4;
        if (o->n[i] > 0)
            memcpy(b + off, o->f[i], o->n[i]);
        off += o->n[i];
    }
}

#define ADD_STACK_DETS 16
#define ADD_STACK_BLOB 1024

/* Count a run of equal sessions (sessions >= 1 of them) in one step: the
 * same as that many adds of one, since each entry is found or made once
 * whatever the count, and counters saturate (RPT-AGG-14). */
static int
agg_add(mtasts_tlsrpt_agg *agg, const mtasts_tlsrpt_policy *policy,
        int64_t when, int outcome, const struct mtasts_tlsrpt_failure *failures,
        size_t failure_count, unsigned flags, uint64_t sessions)
{
    struct agg_det *sdets[ADD_STACK_DETS], **dets = sdets;
    unsigned char sblob[ADD_STACK_BLOB], *blob;
    struct det_in in;
    struct agg_pol *pe;
    struct agg_key *key;
    int64_t day;
    size_t i, len;
    int rc, isnew;

    if (agg == NULL || policy == NULL || when < 0 || when > MT_AGG_TIME_MAX ||
        outcome < MTASTS_SESSION_SUCCESS ||
        outcome > MTASTS_SESSION_TRANSIENT ||
        (flags & ~(unsigned)MTASTS_SESSION_F_TLSRPT_REPORT) != 0 ||
        (failure_count > 0 && failures == NULL))
        return MTASTS_EINVAL;
    if (outcome == MTASTS_SESSION_TRANSIENT ||
        (flags & MTASTS_SESSION_F_TLSRPT_REPORT) != 0)
        return MTASTS_OK; /* RPT-AGG-9; no report loops */
    day = when - when % MT_AGG_DAY;
    agg->gen++;
    rc = mt_agg_pol_get(
        agg, policy->blob, policy->blob_len,
        seeded(agg, policy->seed, policy->hash, policy->blob, policy->blob_len),
        day, 1, &pe, &isnew);
    if (rc != MTASTS_OK)
        goto fail;
    if (failure_count > ADD_STACK_DETS) {
        dets = failure_count <= SIZE_MAX / sizeof(*dets)
                   ? mt_alloc(agg->ctx, failure_count * sizeof(*dets))
                   : NULL;
        if (dets == NULL) {
            rc = MTASTS_ENOMEM;
            goto fail;
        }
    }
    for (i = 0; i < failure_count; i++) {
        if ((rc = det_prepare(agg->ctx, &failures[i], &in)) != MTASTS_OK)
            goto fail;
        len = det_size(&in);
        blob = len <= sizeof(sblob) ? sblob : mt_alloc(agg->ctx, len);
        if (blob == NULL) {
            rc = MTASTS_ENOMEM;
            goto fail;
        }
        det_write(&in, blob);
        rc =
            mt_agg_det_get(agg, pe, blob, (uint32_t)len,
                           mt_agg_hash(agg->seed, blob, len), &dets[i], &isnew);
        if (blob != sblob)
            mt_free(agg->ctx, blob, len);
        if (rc != MTASTS_OK)
            goto fail;
    }
    /* nothing below can fail */
    if (outcome == MTASTS_SESSION_SUCCESS)
        pe->success = mt_sat_add(pe->success, sessions);
    else
        pe->failure = mt_sat_add(pe->failure, sessions);
    for (i = 0; i < failure_count; i++)
        if (dets[i] != NULL)
            dets[i]->count = mt_sat_add(dets[i]->count, sessions);
    if (dets != sdets)
        mt_free(agg->ctx, dets, failure_count * sizeof(*dets));
    return MTASTS_OK;
fail:
    if (dets != sdets)
        mt_free(agg->ctx, dets, failure_count * sizeof(*dets));
    /* only the key of this policy can hold new entries */
    key = mt_agg_key_find(agg, mt_pb_domain(policy->blob),
                          mt_pb_domain_len(policy->blob), day);
    for (i = agg->nkeys; key != NULL && i-- > 0;)
        if (agg->keys[i] == key) {
            rollback_key(agg, i);
            break;
        }
    release_empty(agg);
    return rc;
}

int
mtasts_tlsrpt_agg_add(mtasts_tlsrpt_agg *agg,
                      const mtasts_tlsrpt_policy *policy, int64_t when,
                      int outcome, const struct mtasts_tlsrpt_failure *failures,
                      size_t failure_count, unsigned flags)
{
    return agg_add(agg, policy, when, outcome, failures, failure_count, flags,
                   1);
}

int
mtasts_tlsrpt_agg_add_n(mtasts_tlsrpt_agg *agg,
                        const mtasts_tlsrpt_policy *policy, int64_t when,
                        int outcome,
                        const struct mtasts_tlsrpt_failure *failures,
                        size_t failure_count, unsigned flags, uint64_t sessions)
{
    if (sessions == 0)
        return MTASTS_EINVAL;
    if (sessions > MTASTS_TLSRPT_COUNT_MAX)
        return MTASTS_ETOOBIG;
    return agg_add(agg, policy, when, outcome, failures, failure_count, flags,
                   sessions);
}

/* ------------------------------------------------------------------ */
/* merge, count, key, remove                                           */
/* ------------------------------------------------------------------ */

int
mtasts_tlsrpt_agg_merge(mtasts_tlsrpt_agg *dst, const mtasts_tlsrpt_agg *src)
{
    size_t npol = 0, ndet = 0, i, j, k, ip, id;
    struct agg_pol **pm;
    struct agg_det **dm;
    void **map;
    int rc = MTASTS_OK, isnew;

    if (dst == NULL || src == NULL || dst == src)
        return MTASTS_EINVAL;
    for (i = 0; i < src->nkeys; i++) {
        npol += src->keys[i]->npols;
        for (j = 0; j < src->keys[i]->npols; j++)
            ndet += src->keys[i]->pols[j]->ndets;
    }
    if (npol == 0)
        return MTASTS_OK;
    if (npol + ndet > SIZE_MAX / sizeof(*map))
        return MTASTS_ENOMEM;
    map = mt_alloc(dst->ctx, (npol + ndet) * sizeof(*map));
    if (map == NULL)
        return MTASTS_ENOMEM;
    pm = (struct agg_pol **)map;
    dm = (struct agg_det **)(map + npol);
    dst->gen++;
    for (i = 0, ip = 0, id = 0; i < src->nkeys; i++)
        for (j = 0; j < src->keys[i]->npols; j++) {
            const struct agg_pol *sp = src->keys[i]->pols[j];
            rc = mt_agg_pol_get(
                dst, sp->blob, sp->blob_len,
                seeded(dst, src->seed, sp->hash, sp->blob, sp->blob_len),
                sp->day, 1, &pm[ip], &isnew);
            if (rc != MTASTS_OK)
                goto out;
            for (k = 0; k < sp->ndets; k++) {
                const struct agg_det *sd = sp->dets[k];
                rc = mt_agg_det_get(
                    dst, pm[ip], sd->blob, sd->blob_len,
                    seeded(dst, src->seed, sd->hash, sd->blob, sd->blob_len),
                    &dm[id++], &isnew);
                if (rc != MTASTS_OK)
                    goto out;
            }
            ip++;
        }
    for (i = 0, ip = 0, id = 0; i < src->nkeys; i++)
        for (j = 0; j < src->keys[i]->npols; j++, ip++) {
            const struct agg_pol *sp = src->keys[i]->pols[j];
            pm[ip]->success = mt_sat_add(pm[ip]->success, sp->success);
            pm[ip]->failure = mt_sat_add(pm[ip]->failure, sp->failure);
            for (k = 0; k < sp->ndets; k++, id++)
                if (dm[id] != NULL)
                    dm[id]->count =
                        mt_sat_add(dm[id]->count, sp->dets[k]->count);
        }
out:
    if (rc != MTASTS_OK)
        mt_agg_rollback(dst);
    mt_free(dst->ctx, map, (npol + ndet) * sizeof(*map));
    return rc;
}

size_t
mtasts_tlsrpt_agg_count(const mtasts_tlsrpt_agg *agg)
{
    return agg != NULL ? agg->nkeys : 0;
}

int
mtasts_tlsrpt_agg_key(const mtasts_tlsrpt_agg *agg, size_t i,
                      const char **ret_domain, size_t *ret_domain_len,
                      int64_t *ret_day)
{
    if (agg == NULL || i >= agg->nkeys)
        return MTASTS_EINVAL;
    mt_agg_sort(agg);
    if (ret_domain != NULL)
        *ret_domain = agg->keys[i]->domain;
    if (ret_domain_len != NULL)
        *ret_domain_len = agg->keys[i]->dlen;
    if (ret_day != NULL)
        *ret_day = agg->keys[i]->day;
    return MTASTS_OK;
}

int
mtasts_tlsrpt_agg_remove(mtasts_tlsrpt_agg *agg, const char *domain,
                         size_t domain_len, int64_t day)
{
    char d[MTASTS_DOMAIN_MAX_LEN + 1];
    struct agg_key *k;
    size_t dlen;

    if (agg == NULL || day < 0 || day > MT_AGG_TIME_MAX ||
        mt_agg_norm_domain(domain, domain_len, d, &dlen) != MTASTS_OK)
        return MTASTS_EINVAL;
    k = mt_agg_key_find(agg, d, dlen, day - day % MT_AGG_DAY);
    if (k == NULL)
        return MTASTS_NONE; /* no such key: an outcome, not an error */
    key_free_at(agg, k->slot - agg->khead);
    release_empty(agg);
    return MTASTS_OK;
}
