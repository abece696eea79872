/*
 * Without libmtasts-net (c-ares, libcurl): reports are made but cannot be
 * sent; the report command still writes them (without --dry-run).
 */
#include "td.h"

int
td_net_global_init(void)
{
    return 0;
}

int
td_sender_init(struct td_sender *s, const struct td_config *cfg,
               struct td_store *store, struct td_fleet *fleet)
{
    (void)s;
    (void)cfg;
    (void)store;
    (void)fleet;
    td_log(TD_LOG_ERR, "built without libmtasts-net (c-ares and libcurl): "
                       "reports cannot be sent");
    return -1;
}

void
td_sender_fini(struct td_sender *s)
{
    (void)s;
}

int64_t
td_send_reports(struct td_sender *s, int64_t day,
                const struct td_report *reports, size_t n, int64_t now)
{
    (void)s;
    (void)day;
    (void)reports;
    (void)n;
    (void)now;
    return -1;
}
