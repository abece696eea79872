/* Scripted driver of the discovery suites (see dharness.h). */
#include <stdio.h>
#include <stdlib.h>

#include "dharness.h"

/* ------------------------------------------------------------------ */
/* Scripted discovery                                                  */
/* ------------------------------------------------------------------ */

int
dh_put_txt(mtasts_lookup *lk, const struct dh_answers *a)
{
    const char *strs[DH_MAX_RR * DH_MAX_STR];
    size_t lens[DH_MAX_RR * DH_MAX_STR], nstr[DH_MAX_RR];
    size_t nrr = 0, k = 0, j;

    while (nrr < DH_MAX_RR && a->rr[nrr][0] != NULL) {
        for (j = 0; j < DH_MAX_STR && a->rr[nrr][j] != NULL; j++) {
            strs[k] = a->rr[nrr][j];
            lens[k] = strlen(a->rr[nrr][j]);
            k++;
        }
        nstr[nrr] = j;
        nrr++;
    }
    return mtasts_lookup_put_txt(lk, a->dns, nrr > 0 ? strs : NULL,
                                 nrr > 0 ? lens : NULL, nrr > 0 ? nstr : NULL,
                                 nrr);
}

int
dh_put_fetch(mtasts_lookup *lk, const struct dh_answers *a)
{
    size_t bl = a->body_len;

    if (bl == 0 && a->body != NULL)
        bl = strlen(a->body);
    return mtasts_lookup_put_fetch(lk, a->transport, a->http, a->ctype,
                                   a->ctype != NULL ? strlen(a->ctype) : 0,
                                   a->body, bl);
}

static void
copy_out(char *dst, size_t cap, const char *s, size_t n)
{
    assert_true(n < cap);
    memcpy(dst, s, n);
    dst[n] = '\0';
    assert_int_equal(strlen(dst), n); /* no NUL inside */
}

int
dh_lookup(mtasts_ctx *ctx, const char *domain, const struct dh_store *st,
          int64_t now, unsigned flags, const struct dh_answers *a,
          struct dh_run *r)
{
    const char *s;
    size_t n;
    int act, rc;

    memset(r, 0, sizeof(*r));
    r->stage = 1;
    rc = mtasts_lookup_new(
        ctx, domain, strlen(domain), st != NULL && st->present ? st->buf : NULL,
        st != NULL && st->present ? st->len : 0, now, flags, &r->lk);
    if (rc != MTASTS_OK) {
        assert_null(r->lk);
        return rc;
    }
    for (;;) {
        r->stage = 4;
        act = mtasts_lookup_next(r->lk);
        if (act < 0)
            return act;
        if (act == MTASTS_ACT_DONE)
            break;
        /* asking again without an answer repeats the question */
        assert_int_equal(mtasts_lookup_next(r->lk), act);
        if (act == MTASTS_ACT_TXT) {
            r->txt_calls++;
            s = mtasts_lookup_txt_name(r->lk, &n);
            copy_out(r->qname, sizeof(r->qname), s, n);
            r->stage = 2;
            rc = dh_put_txt(r->lk, a);
        } else {
            assert_int_equal(act, MTASTS_ACT_FETCH);
            r->fetch_calls++;
            s = mtasts_lookup_fetch_url(r->lk, &n);
            copy_out(r->url, sizeof(r->url), s, n);
            s = mtasts_lookup_fetch_host(r->lk, &n);
            copy_out(r->host, sizeof(r->host), s, n);
            r->timeout_ms = mtasts_lookup_fetch_timeout_ms(r->lk);
            r->max_size = mtasts_lookup_fetch_max_size(r->lk);
            r->stage = 3;
            rc = dh_put_fetch(r->lk, a);
        }
        if (rc != MTASTS_OK)
            return rc;
        /* the lookup cannot loop: at most one TXT and one fetch */
        assert_true(r->txt_calls <= 1 && r->fetch_calls <= 1);
    }
    r->stage = 0;
    return MTASTS_OK;
}

int
dh_apply(struct dh_store *st, const mtasts_lookup *lk)
{
    size_t need = 0, need2 = 0;
    int rc;

    switch (mtasts_lookup_entry_action(lk)) {
    case MTASTS_ENTRY_ACTION_STORE:
        rc = mtasts_lookup_entry(lk, NULL, 0, &need);
        if (rc != MTASTS_ERANGE)
            return rc;
        assert_true(need < sizeof(st->buf));
        rc = mtasts_lookup_entry(lk, st->buf, need + 1, &need2);
        if (rc != MTASTS_OK)
            return rc;
        assert_int_equal(need, need2);
        assert_int_equal(st->buf[need], 0);
        st->len = need;
        st->present = 1;
        return MTASTS_OK;
    case MTASTS_ENTRY_ACTION_DELETE:
        assert_int_equal(
            mtasts_lookup_entry(lk, st->buf, sizeof(st->buf), &need),
            MTASTS_NONE);
        st->present = 0;
        st->len = 0;
        return MTASTS_OK;
    default:
        assert_int_equal(mtasts_lookup_entry_action(lk),
                         MTASTS_ENTRY_ACTION_UNCHANGED);
        assert_int_equal(
            mtasts_lookup_entry(lk, st->buf, sizeof(st->buf), &need),
            MTASTS_NONE);
        return MTASTS_OK;
    }
}

void
dh_check_entry(mtasts_ctx *ctx, const struct dh_store *st, const char *domain,
               const char *id, int64_t fetched, int64_t expires,
               int64_t backoff_until, const char *backoff_id, int mode)
{
    mtasts_entry *e = NULL;
    const char *s;
    size_t n;

    assert_true(st->present);
    assert_int_equal(mtasts_entry_decode(ctx, st->buf, st->len, &e, NULL),
                     MTASTS_OK);
    s = mtasts_entry_domain(e, &n);
    assert_int_equal(n, strlen(domain));
    assert_string_equal(s, domain);
    s = mtasts_entry_id(e, &n);
    assert_int_equal(n, strlen(id));
    assert_string_equal(s, id);
    s = mtasts_entry_backoff_id(e, &n);
    assert_int_equal(n, strlen(backoff_id));
    assert_string_equal(s, backoff_id);
    assert_int_equal(mtasts_entry_time(e, MTASTS_ENTRY_TIME_FETCHED_AT),
                     fetched);
    assert_int_equal(mtasts_entry_time(e, MTASTS_ENTRY_TIME_EXPIRES_AT),
                     expires);
    assert_int_equal(mtasts_entry_time(e, MTASTS_ENTRY_TIME_BACKOFF_UNTIL),
                     backoff_until);
    if (mode == 0)
        assert_null(mtasts_entry_policy(e));
    else
        assert_int_equal(mtasts_policy_mode(mtasts_entry_policy(e)), mode);
    mtasts_entry_free(e);
}

void
dh_store_set(struct dh_store *st, const void *bytes, size_t len)
{
    assert_true(len <= sizeof(st->buf));
    memcpy(st->buf, bytes, len);
    st->len = len;
    st->present = 1;
}
