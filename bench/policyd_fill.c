/*
 * Fills an SQLite cache of the programs' store (store/store.h, the one
 * mtasts-policyd reads with cache type sqlite) with COUNT policy entries,
 * for the memory-per-cached-domain figure of bench/daemons.py: policyd
 * then loads them one request at a time (a TXT query with the same id,
 * no HTTPS fetch), so that 100 000 domains get cached in a few seconds
 * instead of 100 000 TLS handshakes.
 *
 *   bench_policyd_fill SQLITE_FILE COUNT
 *
 * Domain i is m%06d.bench.test; each entry is made as a real lookup
 * makes it (mtasts_lookup_new, TXT "v=STSv1; id=1;", a 200 text/plain
 * fetch of an enforce policy with mx: mx.DOMAIN and max_age 604800, at
 * the current time) and stored with mtasts_store_apply(), as the daemon
 * stores what its lookups leave.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mtasts.h"
#include "store.h"

static int
fill_one(mtasts_ctx *ctx, mtasts_store *st, size_t i, int64_t now)
{
    static const char txt[] = "v=STSv1; id=1;";
    static const char ct[] = "text/plain";
    const char *strs[1] = {txt};
    size_t lens[1] = {sizeof(txt) - 1}, nstr[1] = {1};
    mtasts_lookup *lk = NULL;
    char dom[64], pol[256];
    int dl, pl, rc;

    dl = snprintf(dom, sizeof(dom), "m%06zu.bench.test", i);
    pl = snprintf(pol, sizeof(pol),
                  "version: STSv1\nmode: enforce\nmx: mx.%s\n"
                  "max_age: 604800\n",
                  dom);
    rc = mtasts_lookup_new(ctx, dom, (size_t)dl, NULL, 0, now, 0, &lk);
    if (rc != 0 || mtasts_lookup_next(lk) != MTASTS_ACT_TXT ||
        mtasts_lookup_put_txt(lk, MTASTS_DNS_OK, strs, lens, nstr, 1) != 0 ||
        mtasts_lookup_next(lk) != MTASTS_ACT_FETCH ||
        mtasts_lookup_put_fetch(lk, MTASTS_FETCH_OK, 200, ct, sizeof(ct) - 1,
                                pol, (size_t)pl) != 0 ||
        mtasts_lookup_next(lk) != MTASTS_ACT_DONE ||
        mtasts_lookup_outcome(lk) != MTASTS_OUTCOME_APPLY ||
        mtasts_lookup_entry_action(lk) != MTASTS_ENTRY_ACTION_STORE) {
        fprintf(stderr, "bench_policyd_fill: %s: the lookup failed\n", dom);
        mtasts_lookup_free(lk);
        return -1;
    }
    rc = mtasts_store_apply(st, lk, now);
    mtasts_lookup_free(lk);
    if (rc != 0) {
        fprintf(stderr, "bench_policyd_fill: %s: store: %s\n", dom,
                mtasts_strerror(rc));
        return -1;
    }
    return 0;
}

int
main(int argc, char **argv)
{
    mtasts_store_config cfg;
    mtasts_store *st = NULL;
    mtasts_ctx *ctx = NULL;
    int64_t now = (int64_t)time(NULL);
    size_t count, i;
    char *end;
    int rc = 1;

    if (argc != 3 || (count = strtoul(argv[2], &end, 10)) == 0 ||
        *end != '\0' || count > 999999) {
        fprintf(stderr, "usage: bench_policyd_fill SQLITE_FILE COUNT "
                        "(1 to 999999)\n");
        return 2;
    }
    if (!mtasts_store_backend_built(MTASTS_STORE_SQLITE)) {
        fprintf(stderr, "bench_policyd_fill: the store has no SQLite\n");
        return 1;
    }
    mtasts_store_config_init(&cfg);
    cfg.backend = MTASTS_STORE_SQLITE;
    cfg.sqlite_path = argv[1];
    cfg.memory_entries = 1024; /* this process needs no memory cache */
    if (mtasts_ctx_new(NULL, &ctx) != 0 ||
        mtasts_store_open(ctx, &cfg, now, &st) != 0) {
        fprintf(stderr, "bench_policyd_fill: cannot open %s\n", argv[1]);
        goto done;
    }
    for (i = 0; i < count; i++)
        if (fill_one(ctx, st, i, now) != 0)
            goto done;
    rc = 0;
done:
    mtasts_store_free(st);
    mtasts_ctx_free(ctx);
    return rc;
}
