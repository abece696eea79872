/*
 * Closing a day: one RFC 8460 report per policy domain of the day's
 * aggregate, made with the library (mtasts_tlsrpt_report_build(), a fresh
 * report-id from mtasts_tlsrpt_report_id_generate()) and recorded in the
 * store before anything is written or sent, so that every later use (the
 * report command's files, each delivery, each retry) has the same bytes
 * and report-id (RPT-AGG-15). A report is made once: a domain with a
 * report keeps it; a domain whose results came after gets its own then.
 *
 * In fleet mode the aggregate is the sum of every host's aggregate of the
 * day in Redis, and the bytes of each report are the first that any host
 * put there (fleet.c): every host records the same report.
 *
 * The report command, the send command and the collector's sender thread
 * all close days here.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "td.h"

int
td_random64(uint64_t *ret)
{
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    ssize_t n;

    if (fd < 0)
        return -1;
    n = read(fd, ret, sizeof(*ret));
    close(fd);
    return n == (ssize_t)sizeof(*ret) ? 0 : -1;
}

int64_t
td_retry_time(const struct td_config *cfg, int64_t first, unsigned attempts)
{
    /* the core's schedule: 300 * (2^k - 1) seconds after the first
     * attempt, none past 24 h; scaled to retry_interval */
    int64_t delay = mtasts_tlsrpt_retry_time(0, attempts);

    if (delay <= 0)
        return 0;
    return first + delay / 300 * cfg->retry_interval;
}

static int
dup_report(struct td_report *r, const char *dom, const char *id,
           const uint8_t *json, size_t len)
{
    size_t dl = strlen(dom) + 1, il = strlen(id) + 1;

    memset(r, 0, sizeof(*r));
    r->domain = malloc(dl);
    r->report_id = malloc(il);
    r->json = malloc(len + 1);
    if (r->domain == NULL || r->report_id == NULL || r->json == NULL)
        return -1;
    memcpy(r->domain, dom, dl);
    memcpy(r->report_id, id, il);
    memcpy(r->json, json, len);
    r->len = len;
    return 0;
}

static int
cmp_domain(const void *a, const void *b)
{
    return strcmp(((const struct td_report *)a)->domain,
                  ((const struct td_report *)b)->domain);
}

/* Make the reports of day that are not in old (n_old) into *ret. */
static int
make_reports(const struct td_config *cfg, const mtasts_tlsrpt_agg *agg,
             int64_t day, const struct td_report *old, size_t n_old,
             struct td_report **ret, size_t *ret_n)
{
    struct td_report *out;
    mtasts_tlsrpt_report *rep;
    mtasts_buf *json;
    const uint8_t *data;
    const char *dom;
    char id[400];
    uint64_t rnd, warn;
    size_t count = mtasts_tlsrpt_agg_count(agg), i, k, dl, need, len, n = 0;
    int64_t kday;
    int rc = MTASTS_OK, w, known;

    *ret = NULL;
    *ret_n = 0;
    out = calloc(count + 1, sizeof(*out));
    if (out == NULL)
        return MTASTS_ENOMEM;
    for (i = 0; i < count; i++) {
        if (mtasts_tlsrpt_agg_key(agg, i, &dom, &dl, &kday) != MTASTS_OK ||
            kday != day)
            continue;
        for (known = 0, k = 0; k < n_old && !known; k++)
            known = strcmp(old[k].domain, dom) == 0;
        if (known)
            continue;
        if (td_random64(&rnd) != 0) {
            td_log(TD_LOG_ERR, "cannot read /dev/urandom");
            rc = MTASTS_EINVAL;
            goto fail;
        }
        rc = mtasts_tlsrpt_report_id_generate(day, dom, dl, rnd, id, sizeof(id),
                                              &need);
        if (rc == MTASTS_OK)
            rc = mtasts_tlsrpt_report_build(
                agg, dom, dl, day, cfg->org, strlen(cfg->org), cfg->contact,
                strlen(cfg->contact), id, strlen(id), &rep);
        if (rc == MTASTS_NONE)
            continue;
        if (rc != MTASTS_OK) {
            td_log(
                TD_LOG_ERR, "report for %s: %s%s", dom, mtasts_status_name(rc),
                rc == MTASTS_ESYNTAX ? " (is contact_info an addr-spec such as "
                                       "tlsrpt@example.net?)"
                                     : "");
            goto fail;
        }
        warn = mtasts_tlsrpt_report_warnings(rep);
        for (w = 0; w < MTASTS_W_COUNT; w++)
            if (warn & MTASTS_WARN_BIT(w))
                td_log(TD_LOG_WARNING, "report for %s: warning %s", dom,
                       mtasts_warning_name(w));
        rc = mtasts_tlsrpt_report_format(rep, 0, &json);
        mtasts_tlsrpt_report_free(rep);
        if (rc != MTASTS_OK)
            goto fail;
        data = mtasts_buf_data(json, &len);
        if (dup_report(&out[n], dom, id, data, len) != 0) {
            n++;
            mtasts_buf_free(json);
            rc = MTASTS_ENOMEM;
            goto fail;
        }
        n++;
        mtasts_buf_free(json);
    }
    *ret = out;
    *ret_n = n;
    return MTASTS_OK;
fail:
    td_store_reports_free(out, n);
    return rc;
}

/* Fleet mode: replace each report of made by the fleet's bytes for its
 * domain (ours when we are first). */
static int
fleet_reports(struct td_fleet *fleet, int64_t day, struct td_report *made,
              size_t n)
{
    struct td_report shared;
    size_t i;
    int rc;

    for (i = 0; i < n; i++) {
        rc = td_fleet_report(fleet, day, &made[i], &shared);
        if (rc != 0) {
            td_log(TD_LOG_ERR, "report for %s: %s", made[i].domain,
                   rc == MTASTS_ENOMEM ? "out of memory"
                                       : td_fleet_error(fleet));
            return -1;
        }
        if (strcmp(shared.report_id, made[i].report_id) != 0)
            td_log(TD_LOG_INFO,
                   "report for %s: the fleet's (report-id %s) is used",
                   made[i].domain, shared.report_id);
        free(made[i].domain);
        free(made[i].report_id);
        free(made[i].json);
        made[i] = shared;
    }
    return 0;
}

int
td_day_close(const struct td_config *cfg, struct td_store *store,
             struct td_fleet *fleet, int64_t day, int64_t fleet_deadline,
             int64_t now, struct td_report **ret, size_t *ret_n,
             struct td_close_info *info)
{
    struct td_report *old = NULL, *made = NULL, *all;
    size_t n_old = 0, n_made = 0, n;
    mtasts_tlsrpt_agg *agg = NULL;
    mtasts_ctx *ctx = NULL;
    char d[11];
    int rc, status = -1;

    *ret = NULL;
    *ret_n = 0;
    memset(info, 0, sizeof(*info));
    td_day_format(day, d);
    if (cfg->org == NULL || cfg->contact == NULL) {
        td_log(TD_LOG_ERR, "reports need organization_name and contact_info");
        return -1;
    }
    if (mtasts_ctx_new(NULL, &ctx) != MTASTS_OK ||
        mtasts_tlsrpt_agg_new(ctx, &agg) != MTASTS_OK) {
        td_log(TD_LOG_ERR, "out of memory");
        goto out;
    }
    /* a stored day is loaded whatever its size */
    mtasts_tlsrpt_agg_set(agg, MTASTS_AGG_MAX_BYTES, INT64_MAX);
    if (fleet != NULL) {
        rc = td_fleet_load(fleet, day, agg, &info->hosts, &info->through);
        if (rc != 0) {
            td_log(TD_LOG_ERR, "day %s: %s", d,
                   rc == MTASTS_ENOMEM ? "out of memory"
                                       : td_fleet_error(fleet));
            goto out;
        }
        info->found = info->hosts > 0;
        if (!info->through && now < fleet_deadline) {
            /* a host of the fleet has not stored the whole day yet */
            info->wait = 1;
            status = 0;
            goto out;
        }
        if (!info->through)
            td_log(TD_LOG_WARNING,
                   "day %s: not every host of the fleet has stored the "
                   "whole day; reporting what is in Redis",
                   d);
    } else {
        rc = td_store_load(store, day, agg, &info->sessions, &info->found);
        if (rc != MTASTS_OK) {
            td_log(TD_LOG_ERR, "day %s: %s", d, td_store_error(store));
            goto out;
        }
    }
    if (td_store_reports_get(store, day, &old, &n_old) != 0) {
        td_log(TD_LOG_ERR, "%s", td_store_error(store));
        goto out;
    }
    rc = make_reports(cfg, agg, day, old, n_old, &made, &n_made);
    if (rc != MTASTS_OK) {
        if (rc == MTASTS_ENOMEM)
            td_log(TD_LOG_ERR, "out of memory");
        goto out;
    }
    if (fleet != NULL && fleet_reports(fleet, day, made, n_made) != 0)
        goto out;
    /* recorded before any file is written or anything sent */
    if (td_store_reports_put(store, day, made, n_made) != 0) {
        td_log(TD_LOG_ERR, "%s", td_store_error(store));
        goto out;
    }
    info->made = n_made;
    info->before = n_old;
    n = n_old + n_made;
    all = calloc(n + 1, sizeof(*all));
    if (all == NULL) {
        td_log(TD_LOG_ERR, "out of memory");
        goto out;
    }
    if (n_old > 0)
        memcpy(all, old, n_old * sizeof(*all));
    if (n_made > 0)
        memcpy(all + n_old, made, n_made * sizeof(*all));
    /* the elements now belong to all */
    free(old);
    free(made);
    old = made = NULL;
    n_old = n_made = 0;
    qsort(all, n, sizeof(*all), cmp_domain);
    *ret = all;
    *ret_n = n;
    status = 0;
out:
    td_store_reports_free(old, n_old);
    td_store_reports_free(made, n_made);
    mtasts_tlsrpt_agg_free(agg);
    mtasts_ctx_free(ctx);
    return status;
}
