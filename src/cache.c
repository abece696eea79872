/*
 * In-memory cache of entry bytes and the refresh planner.
 *
 * Layout: an open-addressing table (linear probing, load at most 1/2,
 * backward-shift deletion, so no tombstones) of {hash, node} slots, plus an
 * intrusive doubly-linked LRU list through the nodes (head = most recently
 * used). Each node is one allocation: the node, its normalised key and its
 * entry bytes, so a put allocates once (twice when the table grows).
 *
 * Keys are normalised domains: lower-case ASCII, one trailing dot removed.
 * Not thread-safe; no global state.
 */
#include "internal.h"

#define TABLE_MIN 16 /* smallest table, in slots (a power of two) */

/* A key buffer: the longest name and its trailing dot. */
#define KEY_BUF (MTASTS_DOMAIN_MAX_LEN + 1)

struct cnode {
    struct cnode *prev, *next; /* LRU list */
    uint64_t hash;
    int64_t last_used, refresh_at;
    size_t key_len, data_len;
    uint8_t *data; /* in the same allocation, after key */
    char key[];    /* key_len bytes, NUL, then data_len bytes, NUL */
};

struct slot {
    uint64_t hash;
    struct cnode *node; /* NULL: empty */
};

struct mtasts_cache {
    mtasts_ctx *ctx;
    size_t max_entries, max_bytes;
    size_t count, bytes;
    struct slot *slots;
    size_t mask; /* slots - 1 */
    struct cnode *head, *tail;
    uint64_t seed;
};

/* Derives the cache's table seed from the context's. */
#define K_SEED UINT64_C(0x94d049bb133111eb)

/* Stable hash of a normalised domain for the planner's jitter: 64-bit
 * FNV-1a, the same on every platform and in every run. */
static uint64_t
stable_hash(const char *k, size_t n)
{
    uint64_t h = UINT64_C(0xcbf29ce484222325);
    size_t i;

    for (i = 0; i < n; i++) {
        h ^= (unsigned char)k[i];
        h *= UINT64_C(0x100000001b3);
    }
    return h;
}

static int64_t
sat_sub(int64_t a, int64_t b)
{
    if (b > 0 && a < INT64_MIN + b)
        return INT64_MIN;
    if (b < 0 && a > INT64_MAX + b)
        return INT64_MAX;
    return a - b;
}

static size_t
node_size(size_t key_len, size_t data_len)
{
    return sizeof(struct cnode) + key_len + 1 + data_len + 1;
}

static void
node_free(const mtasts_cache *c, struct cnode *nd)
{
    mt_free(c->ctx, nd, node_size(nd->key_len, nd->data_len));
}

/* ---- LRU list ---- */

static void
lru_unlink(mtasts_cache *c, struct cnode *nd)
{
    if (nd->prev != NULL)
        nd->prev->next = nd->next;
    else
        c->head = nd->next;
    if (nd->next != NULL)
        nd->next->prev = nd->prev;
    else
        c->tail = nd->prev;
    nd->prev = nd->next = NULL;
}

static void
lru_push(mtasts_cache *c, struct cnode *nd)
{
    nd->prev = NULL;
    nd->next = c->head;
    if (c->head != NULL)
        c->head->prev = nd;
    else
        c->tail = nd;
    c->head = nd;
}

/* ---- table ---- */

static inline struct cnode *
table_find(const mtasts_cache *c, uint64_t h, const char *k, size_t n)
{
    size_t i = (size_t)h & c->mask;
    const struct slot *s;

    for (;;) {
        s = &c->slots[i];
        if (s->node == NULL)
            return NULL;
        if (s->hash == h && s->node->key_len == n &&
            memcmp(s->node->key, k, n) == 0)
            return s->node;
        i = (i + 1) & c->mask;
    }
}

/* Place a node in a table known to have an empty slot. */
static void
table_place(struct slot *slots, size_t mask, uint64_t h, struct cnode *nd)
{
    size_t i = (size_t)h & mask;

    while (slots[i].node != NULL)
        i = (i + 1) & mask;
    slots[i].hash = h;
    slots[i].node = nd;
}

/* Remove a node from the table (backward-shift deletion). */
static void
table_delete(mtasts_cache *c, const struct cnode *nd)
{
    size_t mask = c->mask, i = (size_t)nd->hash & mask, j, home;
    struct slot *s = c->slots;

    while (s[i].node != nd)
        i = (i + 1) & mask;
    j = i;
    for (;;) {
        j = (j + 1) & mask;
        if (s[j].node == NULL)
            break;
        home = (size_t)s[j].hash & mask;
        /* the slot at j may move to i unless its home lies in (i, j] */
        if (((j - home) & mask) < ((j - i) & mask))
            continue;
        s[i] = s[j];
        i = j;
    }
    s[i].node = NULL;
    s[i].hash = 0;
}

/* Make room for n entries at load 1/2. The table is replaced only once
 * the new one is allocated: on failure nothing changed. */
static int
table_reserve(mtasts_cache *c, size_t n)
{
    size_t cap = c->mask + 1, ncap = cap;
    struct slot *ns;
    struct cnode *nd;

    while (n > ncap / 2) {
        if (ncap > SIZE_MAX / 2 / sizeof(struct slot))
            return MTASTS_ENOMEM;
        ncap *= 2;
    }
    if (ncap == cap)
        return MTASTS_OK;
    ns = mt_alloc(c->ctx, ncap * sizeof(*ns));
    if (ns == NULL)
        return MTASTS_ENOMEM;
    memset(ns, 0, ncap * sizeof(*ns));
    for (nd = c->head; nd != NULL; nd = nd->next)
        table_place(ns, ncap - 1, nd->hash, nd);
    mt_free(c->ctx, c->slots, cap * sizeof(*c->slots));
    c->slots = ns;
    c->mask = ncap - 1;
    return MTASTS_OK;
}

/* Unlink and free one entry. */
static void
drop(mtasts_cache *c, struct cnode *nd)
{
    table_delete(c, nd);
    lru_unlink(c, nd);
    c->count--;
    c->bytes -= nd->data_len;
    node_free(c, nd);
}

/* ---- keys ---- */

/* Normalise and validate a domain into kb (KEY_BUF bytes) and hash it.
 * @return 0 or MTASTS_EINVAL. */
static int
make_key(const mtasts_cache *c, const char *domain, size_t len, char *kb,
         size_t *ret_len, uint64_t *ret_hash)
{
    size_t n;

    if (domain == NULL ||
        mt_domain_norm(domain, len, kb, MTASTS_DOMAIN_MAX_LEN, &n) != MTASTS_OK)
        return MTASTS_EINVAL;
    kb[n] = '\0';
    *ret_len = n;
    *ret_hash = mt_hash(c->seed, kb, n);
    return MTASTS_OK;
}

/* ---- public API ---- */

int
mtasts_cache_new(mtasts_ctx *ctx, size_t max_entries, size_t max_bytes,
                 mtasts_cache **ret_cache)
{
    mtasts_cache *c;
    size_t cap = TABLE_MIN;

    if (ret_cache != NULL)
        *ret_cache = NULL;
    if (ctx == NULL || ret_cache == NULL || max_entries == 0 || max_bytes == 0)
        return MTASTS_EINVAL;
    c = mt_alloc(ctx, sizeof(*c));
    if (c == NULL)
        return MTASTS_ENOMEM;
    memset(c, 0, sizeof(*c));
    /* a small cache never needs more than its bound */
    while (cap > 2 && max_entries <= cap / 4)
        cap /= 2;
    c->slots = mt_alloc(ctx, cap * sizeof(*c->slots));
    if (c->slots == NULL) {
        mt_free(ctx, c, sizeof(*c));
        return MTASTS_ENOMEM;
    }
    memset(c->slots, 0, cap * sizeof(*c->slots));
    c->ctx = ctx;
    c->max_entries = max_entries;
    c->max_bytes = max_bytes;
    c->mask = cap - 1;
    /* the context's seed (random, or the caller's), copied: a seed set
     * later does not move this table's keys */
    c->seed = mt_hash_mix(ctx->seed ^ K_SEED);
    *ret_cache = c;
    return MTASTS_OK;
}

void
mtasts_cache_free(mtasts_cache *c)
{
    struct cnode *nd, *next;

    if (c == NULL)
        return;
    for (nd = c->head; nd != NULL; nd = next) {
        next = nd->next;
        node_free(c, nd);
    }
    mt_free(c->ctx, c->slots, (c->mask + 1) * sizeof(*c->slots));
    mt_free(c->ctx, c, sizeof(*c));
}

int
mtasts_cache_get(mtasts_cache *c, const char *domain, size_t domain_len,
                 int64_t now, const uint8_t **ret_entry, size_t *ret_len)
{
    char kb[KEY_BUF];
    size_t i, n = domain_len;
    struct cnode *nd;

    if (ret_entry != NULL)
        *ret_entry = NULL;
    if (ret_len != NULL)
        *ret_len = 0;
    if (c == NULL || domain == NULL || ret_entry == NULL || ret_len == NULL)
        return MTASTS_EINVAL;
    /* Fast path: lower-case and hash without validating. Stored keys are
     * valid names, so an invalid input can only miss; validity is checked
     * on a miss alone. */
    if (n <= MTASTS_DOMAIN_MAX_LEN + 1) {
        for (i = 0; i < n; i++)
            kb[i] = (char)MT_LOWER(domain[i]);
        if (n > 0 && kb[n - 1] == '.')
            n--;
        nd = table_find(c, mt_hash(c->seed, kb, n), kb, n);
        if (nd != NULL) {
            if (nd != c->head) {
                lru_unlink(c, nd);
                lru_push(c, nd);
            }
            nd->last_used = now;
            *ret_entry = nd->data;
            *ret_len = nd->data_len;
            return MTASTS_OK;
        }
    }
    if (mt_domain_norm(domain, domain_len, kb, MTASTS_DOMAIN_MAX_LEN, &n) !=
        MTASTS_OK)
        return MTASTS_EINVAL;
    return MTASTS_OK;
}

/* The first half of a put: validate, allocate the node (key copied, data
 * left to the caller) and room in the table. Nothing visible changes. */
static int
put_prepare(mtasts_cache *c, const char *domain, size_t domain_len,
            size_t entry_len, struct cnode **ret_node, struct cnode **ret_old)
{
    char kb[KEY_BUF];
    size_t n, need, sz;
    uint64_t h;
    struct cnode *nd, *old;
    int rc;

    rc = make_key(c, domain, domain_len, kb, &n, &h);
    if (rc != MTASTS_OK)
        return rc;
    if (entry_len > c->max_bytes)
        return MTASTS_ETOOBIG;
    if (entry_len > SIZE_MAX - node_size(n, 0))
        return MTASTS_ENOMEM;
    sz = node_size(n, entry_len);
    old = table_find(c, h, kb, n);
    nd = mt_alloc(c->ctx, sz);
    if (nd == NULL)
        return MTASTS_ENOMEM;
    /* a replacement keeps the count; an insert may need one more slot,
     * never more than the bound */
    need = c->count;
    if (old == NULL && need < c->max_entries)
        need++;
    rc = table_reserve(c, need);
    if (rc != MTASTS_OK) {
        mt_free(c->ctx, nd, sz);
        return rc;
    }
    memset(nd, 0, sizeof(*nd));
    nd->hash = h;
    nd->key_len = n;
    memcpy(nd->key, kb, n + 1);
    nd->data_len = entry_len;
    nd->data = (uint8_t *)(nd->key + n + 1);
    nd->data[entry_len] = 0;
    *ret_node = nd;
    *ret_old = old;
    return MTASTS_OK;
}

/* The second half: drop the old entry, evict, link the new one. Cannot
 * fail. */
static void
put_commit(mtasts_cache *c, struct cnode *nd, struct cnode *old,
           int64_t refresh_at, int64_t now)
{
    if (old != NULL)
        drop(c, old);
    while (c->tail != NULL && (c->count + 1 > c->max_entries ||
                               nd->data_len > c->max_bytes - c->bytes))
        drop(c, c->tail);
    nd->refresh_at = refresh_at;
    nd->last_used = now;
    table_place(c->slots, c->mask, nd->hash, nd);
    lru_push(c, nd);
    c->count++;
    c->bytes += nd->data_len;
}

int
mtasts_cache_put(mtasts_cache *c, const char *domain, size_t domain_len,
                 const uint8_t *entry, size_t entry_len, int64_t refresh_at,
                 int64_t now)
{
    struct cnode *nd, *old;
    int rc;

    if (c == NULL || domain == NULL || (entry == NULL && entry_len > 0))
        return MTASTS_EINVAL;
    rc = put_prepare(c, domain, domain_len, entry_len, &nd, &old);
    if (rc != MTASTS_OK)
        return rc;
    if (entry_len > 0)
        memcpy(nd->data, entry, entry_len);
    put_commit(c, nd, old, refresh_at, now);
    return MTASTS_OK;
}

int
mtasts_cache_remove(mtasts_cache *c, const char *domain, size_t domain_len)
{
    char kb[KEY_BUF];
    size_t n;
    uint64_t h;
    struct cnode *nd;
    int rc;

    if (c == NULL)
        return MTASTS_EINVAL;
    rc = make_key(c, domain, domain_len, kb, &n, &h);
    if (rc != MTASTS_OK)
        return rc;
    nd = table_find(c, h, kb, n);
    if (nd != NULL)
        drop(c, nd);
    return MTASTS_OK;
}

int
mtasts_cache_apply(mtasts_cache *c, const mtasts_lookup *lookup, int64_t now)
{
    static const char prefix[] = "_mta-sts.";
    const size_t plen = sizeof(prefix) - 1;
    const char *name;
    size_t name_len, n, n2;
    struct cnode *nd, *old;
    int rc, action;

    if (c == NULL || lookup == NULL)
        return MTASTS_EINVAL;
    /* the outcome is 0 exactly while the lookup is not done */
    if (mtasts_lookup_outcome(lookup) == 0)
        return MTASTS_ESTATE;
    action = mtasts_lookup_entry_action(lookup);
    /* the policy domain, from the TXT name "_mta-sts." + domain */
    name = mtasts_lookup_txt_name(lookup, &name_len);
    if (name == NULL || name_len <= plen || memcmp(name, prefix, plen) != 0)
        return action == MTASTS_ENTRY_ACTION_UNCHANGED ? MTASTS_OK
                                                       : MTASTS_EINVAL;
    name += plen;
    name_len -= plen;
    if (action == MTASTS_ENTRY_ACTION_UNCHANGED) {
        /* Nothing to store, but the time to look again may have changed
         * (an expired policy has none): without this the planner would
         * offer the same domain forever. */
        char kb[KEY_BUF];
        uint64_t h;

        if (make_key(c, name, name_len, kb, &n, &h) == MTASTS_OK &&
            (old = table_find(c, h, kb, n)) != NULL)
            old->refresh_at = mtasts_lookup_refresh_at(lookup);
        return MTASTS_OK;
    }
    if (action == MTASTS_ENTRY_ACTION_DELETE)
        return mtasts_cache_remove(c, name, name_len);
    if (action != MTASTS_ENTRY_ACTION_STORE)
        return MTASTS_EINVAL;
    rc = mtasts_lookup_entry(lookup, NULL, 0, &n);
    if (rc != MTASTS_OK && rc != MTASTS_ERANGE)
        return rc;
    rc = put_prepare(c, name, name_len, n, &nd, &old);
    if (rc != MTASTS_OK)
        return rc;
    /* encode straight into the node; its data has room for the NUL */
    rc = mtasts_lookup_entry(lookup, nd->data, n + 1, &n2);
    if (rc != MTASTS_OK || n2 != n) {
        node_free(c, nd);
        return rc != MTASTS_OK ? rc : MTASTS_ESTATE;
    }
    /* Applying a lookup is not a use of the domain (a refresher applies
     * lookups of its own): an existing entry keeps its last use, set by
     * mtasts_cache_get(); a new one is used now. */
    put_commit(c, nd, old, mtasts_lookup_refresh_at(lookup),
               old != NULL ? old->last_used : now);
    return MTASTS_OK;
}

size_t
mtasts_cache_count(const mtasts_cache *c)
{
    return c != NULL ? c->count : 0;
}

size_t
mtasts_cache_bytes(const mtasts_cache *c)
{
    return c != NULL ? c->bytes : 0;
}

size_t
mtasts_cache_gc(mtasts_cache *c, int64_t now, int64_t unused_for)
{
    struct cnode *nd, *prev;
    int64_t cutoff;
    size_t removed = 0;

    if (c == NULL)
        return 0;
    cutoff = sat_sub(now, unused_for);
    /* times need not be monotonic, so every entry is checked */
    for (nd = c->tail; nd != NULL; nd = prev) {
        prev = nd->prev;
        if (nd->last_used < cutoff) {
            drop(c, nd);
            removed++;
        }
    }
    return removed;
}

int
mtasts_cache_next_refresh(mtasts_cache *c, int64_t now, int64_t used_within,
                          int64_t jitter, char *dst, size_t dst_len,
                          size_t *ret_needed, int64_t *ret_due)
{
    const struct cnode *nd, *best = NULL;
    int64_t cutoff, due, best_due = 0;
    struct mt_out o;
    size_t m;
    int cmp;

    if (ret_needed != NULL)
        *ret_needed = 0;
    if (ret_due != NULL)
        *ret_due = 0;
    if (c == NULL || (dst == NULL && dst_len > 0) || jitter < 0)
        return MTASTS_EINVAL;
    if (dst_len > 0)
        dst[0] = '\0';
    cutoff = sat_sub(now, used_within);
    for (nd = c->head; nd != NULL; nd = nd->next) {
        if (nd->refresh_at == 0 || nd->last_used < cutoff)
            continue;
        due = nd->refresh_at;
        if (jitter > 0)
            due = sat_sub(due, (int64_t)(stable_hash(nd->key, nd->key_len) %
                                         ((uint64_t)jitter + 1)));
        if (best != NULL) {
            if (due > best_due)
                continue;
            if (due == best_due) {
                /* ties: the smaller domain in byte order */
                m = nd->key_len < best->key_len ? nd->key_len : best->key_len;
                cmp = memcmp(nd->key, best->key, m);
                if (cmp > 0 || (cmp == 0 && nd->key_len >= best->key_len))
                    continue;
            }
        }
        best = nd;
        best_due = due;
    }
    if (best == NULL) {
        /* nothing qualifies: an outcome, not an error */
        if (ret_needed != NULL)
            *ret_needed = 0;
        if (dst_len > 0)
            dst[0] = '\0';
        return MTASTS_NONE;
    }
    if (ret_due != NULL)
        *ret_due = best_due;
    mt_out_init(&o, dst, dst_len);
    mt_out_put(&o, best->key, best->key_len);
    return mt_out_finish(&o, ret_needed);
}
