/*
 * The RRset view of a fuzz input, shared by the two TXT record fuzzers:
 * byte 0x1E ends a resource record, byte 0x1F ends a character-string
 * inside one; both are removed from the strings. Plus the independent
 * oracle for which joined record is a candidate (E-2); the select check
 * against that oracle and the allocation-failure pass, for either kind.
 */
#ifndef FUZZ_RRSET_H
#define FUZZ_RRSET_H

#include <stdlib.h>
#include <string.h>

#define RR_SEP  0x1e
#define STR_SEP 0x1f

/* The RRset view of the input. */
struct rrset {
    const char **strs;
    size_t *lens;
    size_t *nstr;
    size_t nrr;
    size_t total;
};

static void
rrset_split(const char *buf, size_t len, struct rrset *rs)
{
    size_t i, start = 0, seps = 0, cur = 0;

    for (i = 0; i < len; i++)
        if (buf[i] == RR_SEP || buf[i] == STR_SEP)
            seps++;
    rs->strs = calloc(seps + 1, sizeof(*rs->strs));
    rs->lens = calloc(seps + 1, sizeof(*rs->lens));
    rs->nstr = calloc(seps + 1, sizeof(*rs->nstr));
    if (rs->strs == NULL || rs->lens == NULL || rs->nstr == NULL)
        abort();
    rs->nrr = 0;
    rs->total = 0;
    for (i = 0; i <= len; i++) {
        if (i < len && buf[i] != RR_SEP && buf[i] != STR_SEP)
            continue;
        rs->strs[rs->total] = buf + start;
        rs->lens[rs->total] = i - start;
        rs->total++;
        cur++;
        if (i == len || buf[i] == RR_SEP) {
            rs->nstr[rs->nrr++] = cur;
            cur = 0;
        }
        start = i + 1;
    }
}

static void
rrset_free(struct rrset *rs)
{
    free(rs->strs);
    free(rs->lens);
    free(rs->nstr);
}

/* Joined text of record r (libc memory). */
static char *
rrset_join(const struct rrset *rs, size_t r, size_t *ret_len)
{
    size_t i, first = 0, len = 0, pos = 0;
    char *out;

    for (i = 0; i < r; i++)
        first += rs->nstr[i];
    for (i = 0; i < rs->nstr[r]; i++)
        len += rs->lens[first + i];
    out = malloc(len + 1);
    if (out == NULL)
        abort();
    for (i = 0; i < rs->nstr[r]; i++) {
        if (rs->lens[first + i] > 0)
            memcpy(out + pos, rs->strs[first + i], rs->lens[first + i]);
        pos += rs->lens[first + i];
    }
    out[len] = '\0';
    *ret_len = len;
    return out;
}

/* E-2: the version tag ("v=STSv1", "v=TLSRPTv1"), *WSP, ";" starts a
 * candidate. */
static int
rrset_candidate(const char *s, size_t n, const char *tag)
{
    size_t i, t = strlen(tag);

    if (n < t + 1 || memcmp(s, tag, t) != 0)
        return 0;
    for (i = t; i < n && (s[i] == ' ' || s[i] == '\t'); i++)
        ;
    return i < n && s[i] == ';';
}

/* One TXT record kind, for the checks both record fuzzers make. parse is
 * the fuzzer's checked parse (it verifies the error contract). */
struct rec_kind {
    const char *tag; /* the version tag, e.g. "v=STSv1" */
    int (*parse)(mtasts_ctx *ctx, const char *buf, size_t len, unsigned flags,
                 void **ret, struct mtasts_diag *d);
    int (*select)(mtasts_ctx *ctx, const char *const *strs, const size_t *lens,
                  const size_t *nstr, size_t nrr, unsigned flags, int *outcome,
                  void **ret, struct mtasts_diag *d);
    void (*free)(void *rec);
    uint64_t (*warnings)(const void *rec);
    int (*same)(const void *a, const void *b);
    int (*format)(const void *rec, char *dst, size_t dst_len,
                  size_t *ret_needed);
};

/* What the default-flag runs produced, for the OOM pass to compare. */
struct rec_summary {
    int rc;     /* default parse */
    char *text; /* canonical form of the default parse, or NULL */
    size_t text_len;
    int sel_outcome; /* select, default flags */
    char *sel_text;  /* canonical form of the selected record, or NULL */
    size_t sel_text_len;
};

/* Select over the RRset and compare with an independent oracle. */
/* The canonical text of rec (len bytes) is within the TXT size limit and
 * parses again (with flags) into the same record, with the given
 * warnings, which formats to the same text (STS-TXT-14: the parser refuses
 * a record whose canonical form would be over the limit). */
static void
rec_check_reparse(const struct rec_kind *k, mtasts_ctx *ctx, const void *rec,
                  const char *text, size_t len, unsigned flags,
                  uint64_t warnings)
{
    struct mtasts_diag d = MTASTS_DIAG_INIT;
    void *again = NULL;
    char *text2;
    size_t len2;

    FZ_CHECK(len <= mtasts_ctx_get_limit(ctx, MTASTS_LIMIT_TXT_SIZE));
    FZ_CHECK(k->parse(ctx, text, len, flags, &again, &d) == MTASTS_OK);
    FZ_CHECK(k->warnings(again) == warnings);
    FZ_CHECK(k->same(rec, again));
    text2 = fz_format(k->format, again, &len2);
    FZ_CHECK(len2 == len && memcmp(text, text2, len) == 0);
    free(text2);
    k->free(again);
}

/* The size limit at its edge (E-21, STS-TXT-14): what must fit is the
 * larger of the input and its canonical text (text_len bytes), so the
 * record parses with that limit and not with one byte less. */
static void
rec_check_limit_edge(const struct rec_kind *k, mtasts_ctx *ctx, const char *buf,
                     size_t len, size_t text_len)
{
    struct mtasts_diag d = MTASTS_DIAG_INIT;
    size_t edge = len > text_len ? len : text_len;
    void *rec = NULL;

    FZ_CHECK(mtasts_ctx_set_limit(ctx, MTASTS_LIMIT_TXT_SIZE, edge) ==
             MTASTS_OK);
    FZ_CHECK(k->parse(ctx, buf, len, 0, &rec, &d) == MTASTS_OK);
    k->free(rec);
    rec = NULL;
    FZ_CHECK(mtasts_ctx_set_limit(ctx, MTASTS_LIMIT_TXT_SIZE, edge - 1) ==
             MTASTS_OK);
    FZ_CHECK(k->parse(ctx, buf, len, 0, &rec, &d) == MTASTS_ETOOBIG);
    FZ_CHECK(rec == NULL && d.reason == MTASTS_R_TOO_BIG);
    FZ_CHECK(mtasts_ctx_set_limit(ctx, MTASTS_LIMIT_TXT_SIZE,
                                  MTASTS_TXT_MAX_SIZE) == MTASTS_OK);
}

static void
rrset_check_select(const struct rec_kind *k, mtasts_ctx *ctx,
                   const struct rrset *rs, unsigned flags,
                   struct rec_summary *sum)
{
    struct mtasts_diag d = MTASTS_DIAG_INIT, pd;
    void *rec = NULL, *ref = NULL;
    size_t r, ncand = 0, which = 0, jlen = 0;
    char *joined;
    int rc, outcome = -1, prc;

    for (r = 0; r < rs->nrr; r++) {
        joined = rrset_join(rs, r, &jlen);
        if (rrset_candidate(joined, jlen, k->tag)) {
            ncand++;
            which = r;
        }
        free(joined);
    }
    rc = k->select(ctx, rs->strs, rs->lens, rs->nstr, rs->nrr, flags, &outcome,
                   &rec, &d);
    FZ_CHECK(rc == MTASTS_OK);
    if (ncand != 1) {
        FZ_CHECK(outcome ==
                 (ncand == 0 ? MTASTS_SELECT_NONE : MTASTS_SELECT_MULTIPLE));
        FZ_CHECK(rec == NULL);
        FZ_CHECK(d.reason ==
                 (ncand == 0 ? MTASTS_R_NOT_FOUND : MTASTS_R_MULTIPLE));
    } else {
        joined = rrset_join(rs, which, &jlen);
        prc = k->parse(ctx, joined, jlen, flags, &ref, &pd);
        if (prc == MTASTS_OK) {
            FZ_CHECK(outcome == MTASTS_SELECT_FOUND);
            FZ_CHECK(rec != NULL && k->same(rec, ref));
            FZ_CHECK(k->warnings(rec) == k->warnings(ref));
            FZ_CHECK(d.code == 0 && d.warnings == pd.warnings);
        } else {
            FZ_CHECK(outcome == MTASTS_SELECT_INVALID);
            FZ_CHECK(rec == NULL);
            FZ_CHECK(d.code == prc && d.reason == pd.reason &&
                     d.offset == pd.offset);
        }
        k->free(ref);
        free(joined);
    }
    if (sum != NULL) {
        sum->sel_outcome = outcome;
        sum->sel_text = NULL;
        if (rec != NULL)
            sum->sel_text = fz_format(k->format, rec, &sum->sel_text_len);
    }
    k->free(rec);
}

/* Everything again with allocations failing: results are the normal ones
 * or MTASTS_ENOMEM, and nothing leaks. */
static void
rec_oom_pass(const struct rec_kind *k, const char *buf, size_t len,
             const struct rrset *rs, const struct rec_summary *sum, int mode,
             size_t fail_at)
{
    struct fz_alloc fa;
    struct mtasts_diag d = MTASTS_DIAG_INIT;
    void *rec = NULL;
    mtasts_ctx *ctx;
    size_t tlen;
    char *text;
    int rc, outcome = -1;

    fz_alloc_init(&fa, mode, fail_at);
    ctx = fz_ctx_new(&fa);
    if (ctx == NULL) {
        fz_alloc_fini(&fa);
        return;
    }
    rc = k->parse(ctx, buf, len, 0, &rec, &d);
    FZ_CHECK_OOM_RC(rc, sum->rc, &fa);
    if (rc == MTASTS_OK) {
        text = fz_format(k->format, rec, &tlen);
        FZ_CHECK(tlen == sum->text_len && memcmp(text, sum->text, tlen) == 0);
        free(text);
    } else {
        FZ_CHECK(rec == NULL);
    }
    k->free(rec);
    rec = NULL;
    FZ_CHECK(fa.nblk == 1); /* the context */

    rc = k->select(ctx, rs->strs, rs->lens, rs->nstr, rs->nrr, 0, &outcome,
                   &rec, NULL);
    if (rc == MTASTS_OK) {
        FZ_CHECK(outcome == sum->sel_outcome);
        if (rec != NULL) {
            FZ_CHECK(sum->sel_text != NULL);
            text = fz_format(k->format, rec, &tlen);
            FZ_CHECK(tlen == sum->sel_text_len &&
                     memcmp(text, sum->sel_text, tlen) == 0);
            free(text);
        }
    } else {
        FZ_CHECK(rc == MTASTS_ENOMEM && fa.failed);
        FZ_CHECK(rec == NULL);
    }
    k->free(rec);
    FZ_CHECK(fa.nblk == 1);
    fz_ctx_free(&fa, ctx);
    fz_alloc_fini(&fa);
}

#endif
