#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sthelp.h"

size_t
sth_entry(mtasts_ctx *ctx, uint8_t *dst, size_t cap, const char *domain,
          const char *id, struct sth_times t, const char *bo_id, int bo_result,
          int with_policy)
{
    char v1[4096];
    const char *body = with_policy ? STH_BODY : "";
    mtasts_entry *e = NULL;
    size_t n = 0;
    int k, rc;

    k = snprintf(v1, sizeof(v1),
                 "MTASTS-ENTRY/1\ndomain=%s\nid=%s\nfetched=%" PRId64
                 "\nexpires=%" PRId64 "\nbackoff-until=%" PRId64
                 "\nbackoff-id=%s\nbackoff-result=%d\nlast-used=%" PRId64
                 "\npolicy=%zu\n%s",
                 domain, id, t.fetched, t.expires, t.backoff_until,
                 bo_id != NULL ? bo_id : "", bo_result, t.last_used,
                 strlen(body), body);
    assert_true(k > 0 && (size_t)k < sizeof(v1));
    rc = mtasts_entry_decode(ctx, (const uint8_t *)v1, (size_t)k, &e, NULL);
    assert_int_equal(rc, MTASTS_OK);
    rc = mtasts_entry_encode(e, dst, cap, &n);
    mtasts_entry_free(e);
    assert_int_equal(rc, MTASTS_OK);
    return n;
}

size_t
sth_simple(mtasts_ctx *ctx, uint8_t *dst, size_t cap, const char *domain,
           int64_t f, int64_t max_age, int64_t lu)
{
    struct sth_times t = {f, f + max_age, 0, lu};

    return sth_entry(ctx, dst, cap, domain, "id1", t, NULL, 0, 1);
}

mtasts_entry *
sth_decode(mtasts_ctx *ctx, const uint8_t *b, size_t n)
{
    mtasts_entry *e = NULL;

    assert_int_equal(mtasts_entry_decode(ctx, b, n, &e, NULL), MTASTS_OK);
    return e;
}

void
sth_log(void *arg, int level, int alert, const char *msg)
{
    struct sth_log *l = arg;

    (void)level;
    l->lines++;
    if (alert)
        l->alerts++;
    if (strstr(msg, "state=down") != NULL)
        l->downs++;
    if (strstr(msg, "state=up") != NULL)
        l->ups++;
    if (strstr(msg, "entry=corrupt") != NULL)
        l->corrupt++;
    snprintf(l->last, sizeof(l->last), "%s", msg);
    if (getenv("STH_VERBOSE") != NULL)
        fprintf(stderr, "log: level=%d alert=%d %s\n", level, alert, msg);
}

void
sth_tmpdir(char *dst, size_t cap)
{
    const char *t = getenv("TMPDIR");
    int k;

    if (t == NULL || *t == 0)
        t = "/tmp";
    k = snprintf(dst, cap, "%s/mtasts-store.XXXXXX", t);
    assert_true(k > 0 && (size_t)k < cap);
    assert_non_null(mkdtemp(dst));
}

void
sth_rmdir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char p[1024];

    if (d == NULL)
        return;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
        if (unlink(p) != 0)
            sth_rmdir(p); /* a directory one level down */
    }
    closedir(d);
    rmdir(dir);
}

int
sth_skip(const char *why)
{
    fprintf(stderr, "SKIP: %s\n", why);
    return 77;
}

static int
race_child(const mtasts_store_config *cfg0, int own_domains, int which)
{
    mtasts_ctx *ctx = NULL;
    mtasts_store_config cfg = *cfg0;
    mtasts_store *s = NULL;
    struct sth_log log = {0};
    uint8_t b[2048];
    char dom[64];
    int i, bad = 0, rc;

    if (mtasts_ctx_new(NULL, &ctx) != MTASTS_OK)
        return 2;
    cfg.log = sth_log;
    cfg.log_arg = &log;
    if (mtasts_store_open(ctx, &cfg, T0, &s) != MTASTS_OK) {
        mtasts_ctx_free(ctx);
        return 2;
    }
    for (i = 0; i < STH_RACE_N; i++) {
        /* which 0 rises through the even last-used values, which 1 falls
         * through the odd ones from the top */
        int64_t lu = which == 0 ? T0 + 2 * i : T0 + 2 * (STH_RACE_N - i) + 1;
        struct sth_times t = {T0, T0 + WEEK, 0, lu};
        size_t n = sth_entry(ctx, b, sizeof(b), "shared.example", "id1", t,
                             NULL, 0, 1);
        const uint8_t *p;
        size_t pn;

        rc = mtasts_store_put(s, b, n, 0, T0 + i);
        if (rc != MTASTS_OK && rc != MTASTS_NONE)
            bad++;
        if (!own_domains)
            continue;
        snprintf(dom, sizeof(dom), "d%d-%d.example", which, i);
        n = sth_simple(ctx, b, sizeof(b), dom, T0 + i, WEEK, T0 + i);
        if (mtasts_store_put(s, b, n, 0, T0 + i) != MTASTS_OK)
            bad++;
        if (mtasts_store_get(s, S("shared.example"), T0 + i, 0, &p, &pn) !=
                MTASTS_OK ||
            p == NULL)
            bad++;
    }
    mtasts_store_free(s);
    mtasts_ctx_free(ctx);
    return bad == 0 && log.alerts == 0 ? 0 : 1;
}

void
sth_race(const mtasts_store_config *cfg, int own_domains,
         void (*in_child)(void *arg), void *arg)
{
    pid_t pid[2];
    int i, status;

    for (i = 0; i < 2; i++) {
        pid[i] = fork();
        assert_true(pid[i] >= 0);
        if (pid[i] == 0) {
            if (in_child != NULL)
                in_child(arg);
            _exit(race_child(cfg, own_domains, i));
        }
    }
    for (i = 0; i < 2; i++) {
        assert_int_equal(waitpid(pid[i], &status, 0), pid[i]);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }
}
