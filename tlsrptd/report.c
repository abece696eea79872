/*
 * mtasts-tlsrptd report --store DIR --day YYYY-MM-DD --out-dir DIR
 *     [--org NAME] [--contact ADDR] [--config FILE]
 *
 * Closes a day: one RFC 8460 report per policy domain of the day's stored
 * aggregate, made with the library (mtasts_tlsrpt_report_build(), a fresh
 * report-id from mtasts_tlsrpt_report_id_generate()), recorded in the
 * store, and written as OUT/<domain>.json: the exact JSON that is sent
 * (gzip'd for delivery). A report is made once: a second run writes the
 * recorded bytes again (same report-id, RPT-AGG-15); a domain with
 * results but no report yet (results that came after the first run) gets
 * its report then. Nothing is delivered.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "td.h"

#define EXIT_FAIL  1
#define EXIT_USAGE 2

static int
random64(uint64_t *ret)
{
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    ssize_t n;

    if (fd < 0)
        return -1;
    n = read(fd, ret, sizeof(*ret));
    close(fd);
    return n == (ssize_t)sizeof(*ret) ? 0 : -1;
}

/* Write buf to dir/name atomically (a temporary file, fsync, rename). */
static int
write_file(const char *dir, const char *name, const uint8_t *buf, size_t len,
           char *path, size_t path_len)
{
    char tmp[4200];
    ssize_t w;
    size_t off = 0;
    int fd;

    snprintf(path, path_len, "%s/%s", dir, name);
    snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, name);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    while (off < len) {
        w = write(fd, buf + off, len - off);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            close(fd);
            unlink(tmp);
            return -1;
        }
        off += (size_t)w;
    }
    if (fsync(fd) != 0 || close(fd) != 0 || rename(tmp, path) != 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
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
        if (random64(&rnd) != 0) {
            fprintf(stderr, "mtasts-tlsrptd: cannot read /dev/urandom\n");
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
            fprintf(stderr, "mtasts-tlsrptd: report for %s: %s%s\n", dom,
                    mtasts_status_name(rc),
                    rc == MTASTS_ESYNTAX
                        ? " (is contact_info an addr-spec such as "
                          "tlsrpt@example.net?)"
                        : "");
            goto fail;
        }
        warn = mtasts_tlsrpt_report_warnings(rep);
        for (w = 0; w < MTASTS_W_COUNT; w++)
            if (warn & MTASTS_WARN_BIT(w))
                fprintf(stderr, "mtasts-tlsrptd: report for %s: warning %s\n",
                        dom, mtasts_warning_name(w));
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

int
td_report_run(const struct td_config *cfg, const char *day_s,
              const char *out_dir)
{
    struct td_store *store = NULL;
    struct td_report *old = NULL, *made = NULL, *all = NULL;
    size_t n_old = 0, n_made = 0, n, i;
    mtasts_tlsrpt_agg *agg = NULL;
    mtasts_ctx *ctx = NULL;
    uint64_t sessions;
    char err[600], path[4200], name[MTASTS_DOMAIN_MAX_LEN + 8];
    int64_t day;
    int found, rc, status = EXIT_FAIL;

    day = td_day_parse(day_s);
    if (day < 0) {
        fprintf(stderr, "mtasts-tlsrptd: --day %s: expected YYYY-MM-DD\n",
                day_s);
        return EXIT_USAGE;
    }
    if (cfg->org == NULL || cfg->contact == NULL) {
        fprintf(stderr, "mtasts-tlsrptd: report needs --org and --contact "
                        "(or organization_name and contact_info in the "
                        "configuration file)\n");
        return EXIT_USAGE;
    }
    if (mkdir(out_dir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "mtasts-tlsrptd: cannot make %s: %s\n", out_dir,
                strerror(errno));
        return EXIT_FAIL;
    }
    if (td_store_open(cfg->store, &store, err, sizeof(err)) != 0) {
        fprintf(stderr, "mtasts-tlsrptd: %s\n", err);
        return EXIT_FAIL;
    }
    if (mtasts_ctx_new(NULL, &ctx) != MTASTS_OK ||
        mtasts_tlsrpt_agg_new(ctx, &agg) != MTASTS_OK) {
        fprintf(stderr, "mtasts-tlsrptd: out of memory\n");
        goto out;
    }
    /* a stored day is loaded whatever its size */
    mtasts_tlsrpt_agg_set(agg, MTASTS_AGG_MAX_BYTES, INT64_MAX);
    rc = td_store_load(store, day, agg, &sessions, &found);
    if (rc != MTASTS_OK) {
        fprintf(stderr, "mtasts-tlsrptd: day %s: %s\n", day_s,
                td_store_error(store));
        goto out;
    }
    if (td_store_reports_get(store, day, &old, &n_old) != 0) {
        fprintf(stderr, "mtasts-tlsrptd: %s\n", td_store_error(store));
        goto out;
    }
    if (!found && n_old == 0) {
        fprintf(stderr, "mtasts-tlsrptd: no results stored for %s\n", day_s);
        status = 0;
        goto out;
    }
    rc = make_reports(cfg, agg, day, old, n_old, &made, &n_made);
    if (rc != MTASTS_OK) {
        if (rc == MTASTS_ENOMEM)
            fprintf(stderr, "mtasts-tlsrptd: out of memory\n");
        goto out;
    }
    /* recorded before any file is written: the ids are final */
    if (td_store_reports_put(store, day, made, n_made) != 0) {
        fprintf(stderr, "mtasts-tlsrptd: %s\n", td_store_error(store));
        goto out;
    }
    n = n_old + n_made;
    all = calloc(n + 1, sizeof(*all));
    if (all == NULL) {
        fprintf(stderr, "mtasts-tlsrptd: out of memory\n");
        goto out;
    }
    if (n_old > 0)
        memcpy(all, old, n_old * sizeof(*all));
    if (n_made > 0)
        memcpy(all + n_old, made, n_made * sizeof(*all));
    qsort(all, n, sizeof(*all), cmp_domain);
    for (i = 0; i < n; i++) {
        snprintf(name, sizeof(name), "%s.json", all[i].domain);
        if (write_file(out_dir, name, all[i].json, all[i].len, path,
                       sizeof(path)) != 0) {
            fprintf(stderr, "mtasts-tlsrptd: cannot write %s/%s: %s\n", out_dir,
                    name, strerror(errno));
            goto out;
        }
        printf("%s\t%s\t%s\n", all[i].domain, all[i].report_id, path);
    }
    fprintf(stderr,
            "mtasts-tlsrptd: %s: %zu reports (%zu made now, %zu before), "
            "%llu sessions stored for the day\n",
            day_s, n, n_made, n_old, (unsigned long long)sessions);
    status = fflush(stdout) == 0 ? 0 : EXIT_FAIL;
out:
    free(all); /* its elements belong to old and made */
    td_store_reports_free(old, n_old);
    td_store_reports_free(made, n_made);
    mtasts_tlsrpt_agg_free(agg);
    mtasts_ctx_free(ctx);
    td_store_close(store);
    return status;
}
