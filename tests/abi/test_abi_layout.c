/*
 * Layout of the public structs on LP64. The structs are part of the ABI:
 * reordering, resizing or inserting a member breaks callers built against
 * an older header. New members may only be appended together with a new
 * *_VERSION value; update this test (and the ABI baseline) when that
 * happens. Skipped (exit 77) on non-LP64 targets.
 */
#include <mtasts.h>

#include <stddef.h>
#include <stdio.h>

static int failures;

static void
check(const char *what, size_t got, size_t want)
{
    if (got != want) {
        printf("FAIL: %s is %zu, expected %zu\n", what, got, want);
        failures++;
    }
}

#define CHECK_SIZE(type, want) check("sizeof(" #type ")", sizeof(type), want)
#define CHECK_OFF(type, member, want) \
    check("offsetof(" #type ", " #member ")", offsetof(type, member), want)

int
main(void)
{
    if (sizeof(void *) != 8 || sizeof(long) != 8 || sizeof(size_t) != 8 ||
        sizeof(int) != 4) {
        printf("SKIP: not an LP64 target\n");
        return 77;
    }

    CHECK_SIZE(struct mtasts_alloc, 40);
    CHECK_OFF(struct mtasts_alloc, version, 0);
    CHECK_OFF(struct mtasts_alloc, alloc, 8);
    CHECK_OFF(struct mtasts_alloc, realloc, 16);
    CHECK_OFF(struct mtasts_alloc, free, 24);
    CHECK_OFF(struct mtasts_alloc, user, 32);

    CHECK_SIZE(struct mtasts_diag, 48);
    CHECK_OFF(struct mtasts_diag, version, 0);
    CHECK_OFF(struct mtasts_diag, code, 4);
    CHECK_OFF(struct mtasts_diag, reason, 8);
    CHECK_OFF(struct mtasts_diag, offset, 16);
    CHECK_OFF(struct mtasts_diag, line, 24);
    CHECK_OFF(struct mtasts_diag, warnings, 32);
    CHECK_OFF(struct mtasts_diag, warning_offset, 40);

    /* Struct version constants are part of the contract too. */
    check("MTASTS_ALLOC_VERSION", MTASTS_ALLOC_VERSION, 1);
    check("MTASTS_DIAG_VERSION", MTASTS_DIAG_VERSION, 1);

    if (failures != 0)
        return 1;
    printf("PASS: public struct layout matches LP64 expectations\n");
    return 0;
}
