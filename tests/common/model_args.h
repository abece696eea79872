/*
 * The versioned argument structs of the API spread out as arguments, for
 * tests and fuzz targets that call mtasts_policy_build() and
 * mtasts_tlsrpt_mail_build() many times with literal values. One copy,
 * included by the unit, mail and fuzz sources.
 */
#ifndef MTASTS_TEST_MODEL_ARGS_H
#define MTASTS_TEST_MODEL_ARGS_H

#include <string.h>

#include "mtasts.h"

/* mtasts_policy_build() with the model spread out as arguments */
static inline int
pbuild(mtasts_ctx *c, int mode, uint32_t max_age, const char *const *mx,
       const size_t *mx_lens, size_t mx_count, const char *const *en,
       const size_t *enl, const char *const *ev, const size_t *evl,
       size_t ext_count, mtasts_policy **ret, struct mtasts_diag *d)
{
    struct mtasts_policy_model m;

    memset(&m, 0, sizeof(m));
    m.version = MTASTS_POLICY_MODEL_VERSION;
    m.mode = mode;
    m.max_age = max_age;
    m.mx = mx;
    m.mx_lens = mx_lens;
    m.mx_count = mx_count;
    m.ext_names = en;
    m.ext_name_lens = enl;
    m.ext_values = ev;
    m.ext_value_lens = evl;
    m.ext_count = ext_count;
    return mtasts_policy_build(c, &m, ret, d);
}

/* mtasts_tlsrpt_mail_build() with NUL-terminated test strings */
static inline int
mail_build5(const mtasts_tlsrpt_report *r, const char *from, const char *to,
            const char *submitter, const char *date, const char *message_id,
            unsigned flags, mtasts_buf **ret)
{
    struct mtasts_tlsrpt_mail_fields f;

    memset(&f, 0, sizeof(f));
    f.version = MTASTS_MAIL_FIELDS_VERSION;
    f.from = from;
    f.from_len = from != NULL ? strlen(from) : 0;
    f.to = to;
    f.to_len = to != NULL ? strlen(to) : 0;
    f.submitter = submitter;
    f.submitter_len = submitter != NULL ? strlen(submitter) : 0;
    f.date = date;
    f.date_len = date != NULL ? strlen(date) : 0;
    f.message_id = message_id;
    f.message_id_len = message_id != NULL ? strlen(message_id) : 0;
    return mtasts_tlsrpt_mail_build(r, &f, flags, ret);
}

#endif
