/*
 * Scripted driver of the discovery suites: answers a lookup's questions
 * from a table of canned answers. The allocator is the common one
 * (tests/common/harness.h).
 */
#ifndef MTASTS_DHARNESS_H
#define MTASTS_DHARNESS_H

#include "harness.h"

/* ------------------------------------------------------------------ */
/* Scripted discovery                                                  */
/* ------------------------------------------------------------------ */

#define DH_MAX_RR  8
#define DH_MAX_STR 4

/* The canned answers of one lookup. The TXT RRset is rr[0..]: each RR a
 * NULL-terminated list of character-strings (kept apart, not joined); the
 * list of RRs ends at the first rr[i][0] == NULL. */
struct dh_answers {
    int dns; /* MTASTS_DNS_* */
    const char *rr[DH_MAX_RR][DH_MAX_STR + 1];
    int transport;     /* MTASTS_FETCH_* */
    int http;          /* HTTP status */
    const char *ctype; /* Content-Type, NULL = absent */
    const char *body;  /* NULL = none */
    size_t body_len;   /* 0 = strlen(body) */
};

/* What the driver saw. */
struct dh_run {
    mtasts_lookup *lk;
    int stage; /* where an error came from: 1 new, 2 put_txt,
                  3 put_fetch, 4 next; 0 when done */
    unsigned txt_calls, fetch_calls;
    char qname[300];
    char url[400];
    char host[300];
    uint32_t timeout_ms;
    size_t max_size;
};

/* The stored cache entry of one domain, as an MTA would keep it. */
struct dh_store {
    int present;
    size_t len;
    uint8_t buf[MTASTS_POLICY_MAX_SIZE + 1024];
};

/* Run a lookup to completion over the answers. Returns 0 when it is done
 * (r->lk then holds the finished lookup, to be freed with
 * mtasts_lookup_free) or the first error status (r->stage says which
 * call, r->lk may be NULL). st may be NULL (nothing cached). */
int dh_lookup(mtasts_ctx *ctx, const char *domain, const struct dh_store *st,
              int64_t now, unsigned flags, const struct dh_answers *a,
              struct dh_run *r);

/* Answer one TXT question from a (used by the drive and OOM suites). */
int dh_put_txt(mtasts_lookup *lk, const struct dh_answers *a);
/* Answer one fetch question from a. */
int dh_put_fetch(mtasts_lookup *lk, const struct dh_answers *a);

/* Apply the finished lookup's entry action to st. Returns 0 or the
 * status of mtasts_lookup_entry(). */
int dh_apply(struct dh_store *st, const mtasts_lookup *lk);

/* Decode st and check its fields. id/backoff_id "" = none; mode 0 = no
 * policy in the entry. */
void dh_check_entry(mtasts_ctx *ctx, const struct dh_store *st,
                    const char *domain, const char *id, int64_t fetched,
                    int64_t expires, int64_t backoff_until,
                    const char *backoff_id, int mode);

/* Store an encoded entry literally (for corrupt-entry tests). */
void dh_store_set(struct dh_store *st, const void *bytes, size_t len);

#endif
