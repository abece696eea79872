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

    /* strings in are (pointer, length) pairs (issue 10) */
    CHECK_SIZE(struct mtasts_tlsrpt_failure, 120);
    CHECK_OFF(struct mtasts_tlsrpt_failure, version, 0);
    CHECK_OFF(struct mtasts_tlsrpt_failure, result_type, 4);
    CHECK_OFF(struct mtasts_tlsrpt_failure, result_text, 8);
    CHECK_OFF(struct mtasts_tlsrpt_failure, result_text_len, 16);
    CHECK_OFF(struct mtasts_tlsrpt_failure, sending_ip, 24);
    CHECK_OFF(struct mtasts_tlsrpt_failure, additional, 104);
    CHECK_OFF(struct mtasts_tlsrpt_failure, additional_len, 112);

    CHECK_SIZE(struct mtasts_tlsrpt_mail_fields, 88);
    CHECK_OFF(struct mtasts_tlsrpt_mail_fields, version, 0);
    CHECK_OFF(struct mtasts_tlsrpt_mail_fields, from, 8);
    CHECK_OFF(struct mtasts_tlsrpt_mail_fields, from_len, 16);
    CHECK_OFF(struct mtasts_tlsrpt_mail_fields, message_id, 72);
    CHECK_OFF(struct mtasts_tlsrpt_mail_fields, message_id_len, 80);

    CHECK_SIZE(struct mtasts_policy_model, 80);
    CHECK_OFF(struct mtasts_policy_model, mode, 4);
    CHECK_OFF(struct mtasts_policy_model, max_age, 8);
    CHECK_OFF(struct mtasts_policy_model, mx, 16);
    CHECK_OFF(struct mtasts_policy_model, ext_count, 72);

    CHECK_SIZE(struct mtasts_tlsrpt_filename, 80);
    CHECK_OFF(struct mtasts_tlsrpt_filename, sender, 8);
    CHECK_OFF(struct mtasts_tlsrpt_filename, begin, 40);
    CHECK_OFF(struct mtasts_tlsrpt_filename, unique_id, 56);
    CHECK_OFF(struct mtasts_tlsrpt_filename, gzip, 72);

    /* Struct version constants are part of the contract too. */
    check("MTASTS_ALLOC_VERSION", MTASTS_ALLOC_VERSION, 1);
    check("MTASTS_DIAG_VERSION", MTASTS_DIAG_VERSION, 1);
    check("MTASTS_FAILURE_VERSION", MTASTS_FAILURE_VERSION, 2);
    check("MTASTS_MAIL_FIELDS_VERSION", MTASTS_MAIL_FIELDS_VERSION, 1);
    check("MTASTS_POLICY_MODEL_VERSION", MTASTS_POLICY_MODEL_VERSION, 1);
    check("MTASTS_FILENAME_VERSION", MTASTS_FILENAME_VERSION, 1);

    if (failures != 0)
        return 1;
    printf("PASS: public struct layout matches LP64 expectations\n");
    return 0;
}
