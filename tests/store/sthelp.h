/*
 * Helpers of the store suites (tests/store): entries with chosen times, a
 * log recorder, temporary directories.
 */
#ifndef MTASTS_STHELP_H
#define MTASTS_STHELP_H

#include "dharness.h"
#include "store.h"

/* The times of the store suites: a "now" and two spans. */
#define T0   INT64_C(1700000000)
#define DAY  INT64_C(86400)
#define WEEK INT64_C(604800)

#define STH_BODY                                                    \
    "version: STSv1\nmode: enforce\nmx: mx1.example.com\nmax_age: " \
    "604800\n"

/* An entry of domain, encoded in the current version (with its CRC-32),
 * into dst; returns its length. with_policy 0: no policy (fetched and
 * expires must be 0). bo_id NULL: "". */
struct sth_times {
    int64_t fetched, expires, backoff_until, last_used;
};
size_t sth_entry(mtasts_ctx *ctx, uint8_t *dst, size_t cap, const char *domain,
                 const char *id, struct sth_times t, const char *bo_id,
                 int bo_result, int with_policy);

/* A policy entry fetched at f with expiry f + max_age and last use lu. */
size_t sth_simple(mtasts_ctx *ctx, uint8_t *dst, size_t cap, const char *domain,
                  int64_t f, int64_t max_age, int64_t lu);

/* Decode bytes (asserting success); free with mtasts_entry_free(). */
mtasts_entry *sth_decode(mtasts_ctx *ctx, const uint8_t *b, size_t n);

/* The log recorder: pass sth_log as mtasts_store_config.log and a
 * struct sth_log as its argument. */
struct sth_log {
    unsigned lines, alerts, downs, ups, corrupt;
    char last[800];
};
void sth_log(void *arg, int level, int alert, const char *msg);

/* mkdtemp under TMPDIR (or /tmp); path into dst. Asserts. */
void sth_tmpdir(char *dst, size_t cap);
/* rm -r of a temporary directory (files one level deep). */
void sth_rmdir(const char *dir);

/* Two processes race one domain, each through a store of its own opened
 * with cfg (log and log_arg are set by the child; a new context, no
 * allocator). STH_RACE_N puts each of "shared.example" fetched at T0:
 * process 0 rises through the even last-used values from T0, process 1
 * falls through the odd ones from T0 + 2 * STH_RACE_N + 1, so the newest
 * has last-used T0 + 2 * STH_RACE_N + 1. With own_domains each step also
 * puts "dWHICH-I.example" and gets the shared domain (2 * STH_RACE_N
 * domains of their own in all). in_child(arg) runs first in each child
 * (NULL: nothing). Asserts that both exited 0: no put or get failed and
 * no alert was logged. */
#define STH_RACE_N 150
void sth_race(const mtasts_store_config *cfg, int own_domains,
              void (*in_child)(void *arg), void *arg);

/* Write a formatted line to stderr and return 77 (a skipped test). */
int sth_skip(const char *why);

#endif
