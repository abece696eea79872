/*
 * The public header must compile on its own as C99 with -pedantic -Werror
 * (it is included first, before anything else), and the program must link
 * against the shared library.
 */
#include <mtasts.h>

#include <stdio.h>
#include <string.h>

int
main(void)
{
    struct mtasts_diag d = MTASTS_DIAG_INIT;
    uint32_t num = 0;
    const char *v = mtasts_version(&num);

    if (v == NULL || strcmp(v, MTASTS_VERSION_STRING) != 0 ||
        num != MTASTS_VERSION_NUM) {
        printf("FAIL: mtasts_version() = %s / 0x%06lx, header says %s / "
               "0x%06lx\n",
               v ? v : "(null)", (unsigned long)num, MTASTS_VERSION_STRING,
               (unsigned long)MTASTS_VERSION_NUM);
        return 1;
    }
    if (d.version != MTASTS_DIAG_VERSION) {
        printf("FAIL: MTASTS_DIAG_INIT does not set the version\n");
        return 1;
    }
    printf("PASS: C99 header build, linked library version %s\n", v);
    return 0;
}
