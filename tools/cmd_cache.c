/*
 * mtasts cache dump [--json] FILE|-
 *
 * A cache entry (mtasts_entry_encode() bytes), field by field.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mtasts.h"
#include "text.h"
#include "tool.h"

int
cmd_cache_dump(mtasts_ctx *ctx, int argc, char **argv)
{
    static const char *const tnames[] = {NULL, "fetched_at", "expires_at",
                                         "backoff_until", "last_used"};
    struct mtasts_diag d = MTASTS_DIAG_INIT;
    mtasts_entry *e = NULL;
    const mtasts_policy *pol;
    struct opts o;
    const char *s;
    char *buf;
    size_t len, l;
    int rc, i;

    if (parse_opts(argc, argv, 0, &o) < 0)
        return EXIT_USAGE;
    if (o.argc != 1) {
        usage();
        return EXIT_USAGE;
    }
    buf = read_file(o.argv[0],
                    mtasts_ctx_get_limit(ctx, MTASTS_LIMIT_POLICY_SIZE) + 512,
                    &len);
    if (buf == NULL)
        return EXIT_USAGE;
    rc = mtasts_entry_decode(ctx, (const uint8_t *)buf, len, &e, &d);
    if (rc == MTASTS_ENOMEM) {
        fputs("mtasts: out of memory\n", stderr);
        free(buf);
        return EXIT_USAGE;
    }
    print_status(&o, "entry", rc, &d);
    if (e == NULL) {
        if (o.json)
            fputs(",\"entry\":null}\n", stdout);
        free(buf);
        return EXIT_INVALID;
    }
    s = mtasts_entry_domain(e, &l);
    if (o.json) {
        fputs(",\"entry\":{\"domain\":", stdout);
        json_str(s, l);
        s = mtasts_entry_id(e, &l);
        fputs(",\"id\":", stdout);
        json_str(s, l);
        s = mtasts_entry_backoff_id(e, &l);
        fputs(",\"backoff_id\":", stdout);
        json_str(s, l);
    } else {
        text_field(stdout, "domain", s, l);
        s = mtasts_entry_id(e, &l);
        text_field(stdout, "id", s, l);
        s = mtasts_entry_backoff_id(e, &l);
        text_field(stdout, "backoff_id", s, l);
    }
    for (i = 1; i <= 4; i++) {
        long long t = (long long)mtasts_entry_time(e, i);
        if (o.json)
            printf(",\"%s\":%lld", tnames[i], t);
        else
            printf("%s: %lld\n", tnames[i], t);
    }
    pol = mtasts_entry_policy(e);
    if (o.json) {
        fputs(",\"policy\":", stdout);
        if (pol != NULL) {
            fputs("{\"verdict\":\"valid\"", stdout);
            print_policy_fields(pol, 1);
            fputs("}}}\n", stdout);
        } else {
            fputs("null}}\n", stdout);
        }
    } else if (pol != NULL) {
        print_policy_fields(pol, 0);
    } else {
        puts("policy: none cached");
    }
    mtasts_entry_free(e);
    free(buf);
    return 0;
}
