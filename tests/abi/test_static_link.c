/*
 * Links libmtasts.a statically, as an MTA that bundles it would, and
 * defines its own functions and data under names the library uses
 * internally (mt_alloc, mt_free, mt_buf_new, mt_ctype). If the archive
 * exported its internal symbols, the link would fail with duplicate
 * definitions (or one definition would silently replace the other); the
 * program then checks that both its own and the library's work.
 */
#include <mtasts.h>

#include <stdio.h>
#include <string.h>

/* The program's own, unrelated, uses of the names. */
int mt_alloc(int x);
int mt_free(int x);
int mt_buf_new(int x);
extern const char mt_ctype[];

int
mt_alloc(int x)
{
    return x + 1;
}

int
mt_free(int x)
{
    return x * 2;
}

int
mt_buf_new(int x)
{
    return x - 3;
}

const char mt_ctype[] = "the program's own table";

int
main(void)
{
    static const char pol[] = "version: STSv1\nmode: enforce\n"
                              "mx: *.mail.example.com\nmax_age: 86400\n";
    struct mtasts_diag d = MTASTS_DIAG_INIT;
    mtasts_policy *p = NULL;
    mtasts_ctx *ctx = NULL;
    int ok;

    if (mt_alloc(1) != 2 || mt_free(4) != 8 || mt_buf_new(5) != 2 ||
        strcmp(mt_ctype, "the program's own table") != 0) {
        printf("FAIL: the program's own mt_* definitions were replaced\n");
        return 1;
    }
    if (mtasts_ctx_new(NULL, &ctx) != MTASTS_OK ||
        mtasts_policy_parse(ctx, pol, sizeof(pol) - 1, 0, &p, &d) !=
            MTASTS_OK) {
        printf("FAIL: mtasts_policy_parse from the static library: %s\n",
               mtasts_status_name(d.code));
        mtasts_ctx_free(ctx);
        return 1;
    }
    ok = mtasts_policy_mx_allowed(p, "mx1.mail.example.com", 20) == 1 &&
         mtasts_policy_mx_allowed(p, "a.b.mail.example.com", 20) == 0;
    mtasts_policy_free(p);
    mtasts_ctx_free(ctx);
    if (!ok) {
        printf("FAIL: MX match through the static library\n");
        return 1;
    }
    printf("PASS: static link, internal names stay local\n");
    return 0;
}
