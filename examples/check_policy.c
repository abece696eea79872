/*
 * check_policy: parse an MTA-STS policy file and decide, for each MX host,
 * whether a sending MTA may deliver to it.
 *
 *   usage: check_policy POLICY-FILE [MX-HOST...]
 *
 * Exit status: 0 when the policy is usable, 1 when it is invalid,
 * 2 on usage or I/O errors.
 *
 * In a real MTA the policy body comes from the HTTPS fetch of
 * https://mta-sts.<domain>/.well-known/mta-sts.txt and the MX hosts from
 * DNS; everything else below is what the MTA does with them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mtasts.h>

int
main(int argc, char **argv)
{
    /* Read at most the library's size limit, plus one byte so that an
     * oversized file reaches the parser and is reported as too big. */
    static char body[MTASTS_POLICY_MAX_SIZE + 1];
    struct mtasts_diag diag = MTASTS_DIAG_INIT;
    mtasts_policy *policy = NULL;
    mtasts_ctx *ctx = NULL;
    size_t len;
    FILE *f;
    int rc, w, i, mode, allowed;

    if (argc < 2) {
        fprintf(stderr, "usage: %s POLICY-FILE [MX-HOST...]\n", argv[0]);
        return 2;
    }
    f = fopen(argv[1], "rb");
    if (f == NULL) {
        perror(argv[1]);
        return 2;
    }
    len = fread(body, 1, sizeof(body), f);
    if (ferror(f)) {
        perror(argv[1]);
        fclose(f);
        return 2;
    }
    fclose(f);

    /* One context per program is enough; NULL selects malloc/free. */
    rc = mtasts_ctx_new(NULL, &ctx);
    if (rc != MTASTS_OK) {
        fprintf(stderr, "mtasts_ctx_new: %s\n", mtasts_strerror(rc));
        return 2;
    }

    /* Flags 0 is the default, lenient parse that a sending MTA wants:
     * harmless deviations are accepted and reported as warnings. */
    rc = mtasts_policy_parse(ctx, body, len, 0, &policy, &diag);
    if (rc != MTASTS_OK) {
        /* An invalid policy means "no policy": deliver as usual, but
         * tell the administrator exactly what is wrong and where. */
        printf("%s: invalid policy: %s (%s) at byte %zu, line %zu\n", argv[1],
               mtasts_reason_message(diag.reason), mtasts_status_name(rc),
               diag.offset, diag.line);
        mtasts_ctx_free(ctx);
        return 1;
    }
    for (w = 0; w < MTASTS_W_COUNT; w++)
        if (diag.warnings & MTASTS_WARN_BIT(w))
            printf("%s: warning: %s\n", argv[1], mtasts_warning_name(w));

    mode = mtasts_policy_mode(policy);
    printf("%s: mode %s, max_age %lu\n", argv[1], mtasts_mode_name(mode),
           (unsigned long)mtasts_policy_max_age(policy));

    for (i = 2; i < argc; i++) {
        const char *host = argv[i];
        const char *action;

        /* Host names from DNS may end in a dot; the library ignores it. */
        allowed = mtasts_policy_mx_allowed(policy, host, strlen(host));
        if (mode == MTASTS_MODE_NONE)
            action = "deliver (mode none: as if there were no policy)";
        else if (allowed)
            action = "deliver over TLS; the certificate must match the host";
        else if (mode == MTASTS_MODE_ENFORCE)
            action = "skip this MX; defer if no MX is left";
        else
            action = "deliver anyway, and report the failure (testing)";
        printf("%s: %s: %s\n", host, allowed ? "allowed" : "not allowed",
               action);
    }

    /* Free objects before the context they were created from. */
    mtasts_policy_free(policy);
    mtasts_ctx_free(ctx);
    return 0;
}
