/*
 * Without hiredis: no fleet mode; setting redis is an error.
 */
#include <stdio.h>

#include "td.h"

static const char why[] = "built without hiredis: no fleet mode (redis)";

int
td_fleet_open(const struct td_config *cfg, const char *host, int now,
              struct td_fleet **ret, char *err, size_t err_len)
{
    (void)cfg;
    (void)host;
    (void)now;
    *ret = NULL;
    snprintf(err, err_len, "%s", why);
    return -1;
}

void
td_fleet_close(struct td_fleet *f)
{
    (void)f;
}

const char *
td_fleet_error(const struct td_fleet *f)
{
    (void)f;
    return why;
}

int
td_fleet_push(struct td_fleet *f, const struct td_row *rows, size_t n,
              int64_t through)
{
    (void)f;
    (void)rows;
    (void)n;
    (void)through;
    return -1;
}

int
td_fleet_load(struct td_fleet *f, int64_t day, mtasts_tlsrpt_agg *agg,
              size_t *ret_hosts, int *ret_through)
{
    (void)f;
    (void)day;
    (void)agg;
    *ret_hosts = 0;
    *ret_through = 0;
    return -1;
}

int
td_fleet_days(struct td_fleet *f, int64_t **ret, size_t *ret_n)
{
    (void)f;
    *ret = NULL;
    *ret_n = 0;
    return -1;
}

int
td_fleet_forget_day(struct td_fleet *f, int64_t day)
{
    (void)f;
    (void)day;
    return -1;
}

int
td_fleet_report(struct td_fleet *f, int64_t day, const struct td_report *mine,
                struct td_report *ret)
{
    (void)f;
    (void)day;
    (void)mine;
    (void)ret;
    return -1;
}

int
td_fleet_claim(struct td_fleet *f, int64_t day, const char *domain,
               int *ret_state, char *holder, size_t holder_len)
{
    (void)f;
    (void)day;
    (void)domain;
    (void)holder;
    (void)holder_len;
    *ret_state = TD_CLAIM_OTHER;
    return -1;
}

int
td_fleet_claim_done(struct td_fleet *f, int64_t day, const char *domain)
{
    (void)f;
    (void)day;
    (void)domain;
    return -1;
}

int
td_fleet_sent(struct td_fleet *f, int64_t day, const char *domain,
              const char *uri)
{
    (void)f;
    (void)day;
    (void)domain;
    (void)uri;
    return -1;
}

int
td_fleet_sent_get(struct td_fleet *f, int64_t day, const char *domain,
                  const char *uri, int *ret_sent)
{
    (void)f;
    (void)day;
    (void)domain;
    (void)uri;
    *ret_sent = 0;
    return -1;
}
