/*
 * The TLSRPT report model: building it (growing arrays, shrunk to size and
 * adopted by the report at the end: the policy, detail, string and
 * diagnostic arrays and a pool of NUL-terminated strings addressed by
 * 32-bit offsets) and reading it.
 */
#include "tlsrpt_int.h"

void
mt_rbuild_init(struct mt_rbuild *b, mtasts_ctx *ctx, size_t hint)
{
    memset(b, 0, sizeof(*b));
    b->ctx = ctx;
    b->r.org.off = b->r.contact.off = b->r.report_id.off = MT_RSTR_NONE;
    /* decoded strings are shorter than their JSON: a pool of half the
     * input rarely needs to grow */
    b->pool_cap = hint / 2 < 256 ? 256 : hint / 2;
    b->pool = mt_alloc(ctx, b->pool_cap);
    if (b->pool == NULL) {
        b->pool_cap = 0;
        b->oom = 1;
    }
}

/* Parts of the local buffer (element counts; the pool takes the rest). */
#define LOCAL_POL  4
#define LOCAL_DET  32
#define LOCAL_FLD  128
#define LOCAL_DIAG 8

void
mt_rbuild_init_local(struct mt_rbuild *b, mtasts_ctx *ctx, void *buf)
{
    char *p = buf;

    memset(b, 0, sizeof(*b));
    b->ctx = ctx;
    b->r.org.off = b->r.contact.off = b->r.report_id.off = MT_RSTR_NONE;
    b->pol = (struct mt_rpolicy *)(void *)p;
    b->pol_cap = LOCAL_POL;
    p += LOCAL_POL * sizeof(*b->pol);
    b->det = (struct mt_rdetail *)(void *)p;
    b->det_cap = LOCAL_DET;
    p += LOCAL_DET * sizeof(*b->det);
    b->fld = (struct mt_rstr *)(void *)p;
    b->fld_cap = LOCAL_FLD;
    p += LOCAL_FLD * sizeof(*b->fld);
    b->diag = (struct mt_rdiag *)(void *)p;
    b->diag_cap = LOCAL_DIAG;
    p += LOCAL_DIAG * sizeof(*b->diag);
    b->pool = p;
    b->pool_cap = MT_RBUILD_LOCAL - (size_t)(p - (char *)buf);
    b->local = MT_RB_ALL;
}

void
mt_rbuild_fini(struct mt_rbuild *b)
{
    if (!(b->local & MT_RB_POL))
        mt_free(b->ctx, b->pol, b->pol_cap * sizeof(*b->pol));
    if (!(b->local & MT_RB_DET))
        mt_free(b->ctx, b->det, b->det_cap * sizeof(*b->det));
    if (!(b->local & MT_RB_FLD))
        mt_free(b->ctx, b->fld, b->fld_cap * sizeof(*b->fld));
    if (!(b->local & MT_RB_DIAG))
        mt_free(b->ctx, b->diag, b->diag_cap * sizeof(*b->diag));
    if (!(b->local & MT_RB_POOL))
        mt_free(b->ctx, b->pool, b->pool_cap);
    b->local = 0;
    b->pol = NULL;
    b->det = NULL;
    b->fld = NULL;
    b->diag = NULL;
    b->pool = NULL;
    b->pol_cap = b->det_cap = b->fld_cap = b->diag_cap = b->pool_cap = 0;
}

/* Grow *arr (cap elements of size es) to hold count + 1 (first: the
 * capacity of a new array, then doubled). */
static int
grow(struct mt_rbuild *b, void **arr, size_t *cap, size_t count, size_t es,
     size_t first, unsigned bit)
{
    size_t ncap;
    void *n;

    if (count < *cap)
        return 0;
    ncap = *cap ? *cap * 2 : first;
    while (ncap <= count && ncap <= SIZE_MAX / es)
        ncap *= 2;
    if (ncap > SIZE_MAX / es) {
        b->oom = 1;
        return -1;
    }
    if (b->local & bit) {
        /* leave the local buffer (count < cap elements in use) */
        n = mt_alloc(b->ctx, ncap * es);
        if (n != NULL) {
            memcpy(n, *arr, *cap * es);
            b->local &= ~bit;
        }
    } else
        n = mt_realloc(b->ctx, *arr, *cap * es, ncap * es);
    if (n == NULL) {
        b->oom = 1;
        return -1;
    }
    *arr = n;
    *cap = ncap;
    return 0;
}

struct mt_rstr
mt_rbuild_str(struct mt_rbuild *b, const char *s, size_t n)
{
    struct mt_rstr r = {MT_RSTR_NONE, 0};
    size_t need = b->r.pool_len + n + 1;

    if (b->oom)
        return r;
    if (need < n || need >= MT_RSTR_NONE) {
        b->oom = 2; /* too big for the offsets */
        return r;
    }
    if (need > b->pool_cap) {
        size_t ncap = b->pool_cap;
        char *np;
        while (ncap < need)
            ncap = ncap * 2;
        if (b->local & MT_RB_POOL) {
            np = mt_alloc(b->ctx, ncap);
            if (np != NULL) {
                memcpy(np, b->pool, b->r.pool_len);
                b->local &= ~MT_RB_POOL;
            }
        } else
            np = mt_realloc(b->ctx, b->pool, b->pool_cap, ncap);
        if (np == NULL) {
            b->oom = 1;
            return r;
        }
        b->pool = np;
        b->pool_cap = ncap;
    }
    if (n > 0)
        memcpy(b->pool + b->r.pool_len, s, n);
    b->pool[b->r.pool_len + n] = 0;
    r.off = (uint32_t)b->r.pool_len;
    r.len = (uint32_t)n;
    b->r.pool_len = need;
    return r;
}

struct mt_rpolicy *
mt_rbuild_policy(struct mt_rbuild *b)
{
    struct mt_rpolicy *p;

    if (b->oom || grow(b, (void **)&b->pol, &b->pol_cap, b->r.npol,
                       sizeof(*b->pol), 4, MT_RB_POL) != 0)
        return NULL;
    p = &b->pol[b->r.npol++];
    memset(p, 0, sizeof(*p));
    p->type_text.off = p->domain.off = MT_RSTR_NONE;
    return p;
}

struct mt_rdetail *
mt_rbuild_detail(struct mt_rbuild *b)
{
    struct mt_rdetail *d;

    if (b->oom || grow(b, (void **)&b->det, &b->det_cap, b->r.ndet,
                       sizeof(*b->det), 16, MT_RB_DET) != 0)
        return NULL;
    d = &b->det[b->r.ndet++];
    memset(d, 0, sizeof(*d));
    return d;
}

int
mt_rbuild_field(struct mt_rbuild *b, struct mt_rstr s)
{
    if (b->oom || grow(b, (void **)&b->fld, &b->fld_cap, b->r.nfld,
                       sizeof(*b->fld), 32, MT_RB_FLD) != 0)
        return -1;
    if (b->r.nfld >= MT_RSTR_NONE) {
        b->oom = 2;
        return -1;
    }
    b->fld[b->r.nfld] = s;
    return (int)(b->r.nfld++ & 0x7FFFFFFF);
}

struct mt_rstr *
mt_rbuild_fields(struct mt_rbuild *b, size_t k)
{
    struct mt_rstr *f;

    if (b->oom || grow(b, (void **)&b->fld, &b->fld_cap, b->r.nfld + k - 1,
                       sizeof(*b->fld), 32, MT_RB_FLD) != 0)
        return NULL;
    if (b->r.nfld + k > MT_RSTR_NONE) {
        b->oom = 2;
        return NULL;
    }
    f = &b->fld[b->r.nfld];
    b->r.nfld += k;
    return f;
}

int
mt_rbuild_diag(struct mt_rbuild *b, int warning, const char *path, size_t n)
{
    struct mt_rstr s;

    if (b->oom || grow(b, (void **)&b->diag, &b->diag_cap, b->r.ndiag,
                       sizeof(*b->diag), 4, MT_RB_DIAG) != 0)
        return -1;
    s = mt_rbuild_str(b, path, n);
    if (s.off == MT_RSTR_NONE)
        return -1;
    b->diag[b->r.ndiag].warning = warning;
    b->diag[b->r.ndiag].path = s;
    b->r.ndiag++;
    return 0;
}

/* Shrink *arr (cap elements of es bytes) to exactly count elements,
 * freeing it when count is 0. 0, or -1 when the allocator refused (*arr
 * unchanged). */
static int
fit(mtasts_ctx *ctx, void **arr, size_t *cap, size_t count, size_t es)
{
    void *n;

    if (*cap == count)
        return 0;
    if (count == 0) {
        mt_free(ctx, *arr, *cap * es);
        *arr = NULL;
        *cap = 0;
        return 0;
    }
    n = mt_realloc(ctx, *arr, *cap * es, count * es);
    if (n == NULL)
        return -1;
    *arr = n;
    *cap = count;
    return 0;
}

/* A local array of count elements to the heap, exactly (NULL when
 * count is 0). 0 or -1 (nothing changed). */
static int
unlocal(struct mt_rbuild *b, void **arr, size_t *cap, size_t count, size_t es,
        unsigned bit)
{
    void *n = NULL;

    if (!(b->local & bit))
        return 0;
    if (count > 0) {
        n = mt_alloc(b->ctx, count * es);
        if (n == NULL)
            return -1;
        memcpy(n, *arr, count * es);
    }
    *arr = n;
    *cap = count;
    b->local &= ~bit;
    return 0;
}

#define ALIGN8(n) (((n) + 7) & ~(size_t)7)

/* Everything still local: one allocation holds the report, its arrays and
 * its pool (alloc_size tells mtasts_tlsrpt_report_free()). */
static int
finish_one_block(struct mt_rbuild *b, mtasts_tlsrpt_report **ret)
{
    size_t o_pol = ALIGN8(sizeof(**ret));
    size_t o_det = o_pol + ALIGN8(b->r.npol * sizeof(*b->pol));
    size_t o_fld = o_det + ALIGN8(b->r.ndet * sizeof(*b->det));
    size_t o_diag = o_fld + ALIGN8(b->r.nfld * sizeof(*b->fld));
    size_t o_pool = o_diag + ALIGN8(b->r.ndiag * sizeof(*b->diag));
    size_t total = o_pool + b->r.pool_len;
    mtasts_tlsrpt_report *r;
    char *m;

    m = mt_alloc(b->ctx, total);
    if (m == NULL)
        return MTASTS_ENOMEM;
    r = (mtasts_tlsrpt_report *)(void *)m;
    *r = b->r;
    r->ctx = b->ctx;
    r->alloc_size = total;
    r->pol = b->r.npol ? (struct mt_rpolicy *)(void *)(m + o_pol) : NULL;
    r->det = b->r.ndet ? (struct mt_rdetail *)(void *)(m + o_det) : NULL;
    r->fld = b->r.nfld ? (struct mt_rstr *)(void *)(m + o_fld) : NULL;
    r->diag = b->r.ndiag ? (struct mt_rdiag *)(void *)(m + o_diag) : NULL;
    r->pool = b->r.pool_len ? m + o_pool : NULL;
    if (r->pol != NULL)
        memcpy(r->pol, b->pol, b->r.npol * sizeof(*b->pol));
    if (r->det != NULL)
        memcpy(r->det, b->det, b->r.ndet * sizeof(*b->det));
    if (r->fld != NULL)
        memcpy(r->fld, b->fld, b->r.nfld * sizeof(*b->fld));
    if (r->diag != NULL)
        memcpy(r->diag, b->diag, b->r.ndiag * sizeof(*b->diag));
    if (r->pool != NULL)
        memcpy(r->pool, b->pool, b->r.pool_len);
    *ret = r;
    return MTASTS_OK;
}

/* The report adopts the builder's arrays, shrunk to size, rather than a
 * packed copy of them: no second allocation of the whole model and no copy
 * (large reports would otherwise fault in a fresh mapping per parse). A
 * report built wholly in the local buffer is copied into one block. */
int
mt_rbuild_finish(struct mt_rbuild *b, mtasts_tlsrpt_report **ret)
{
    mtasts_tlsrpt_report *r;

    if (b->oom)
        return b->oom == 2 ? MTASTS_ETOOBIG : MTASTS_ENOMEM;
    if (b->local == MT_RB_ALL)
        return finish_one_block(b, ret);
    /* on failure the builder still owns everything: mt_rbuild_fini() */
    if (unlocal(b, (void **)&b->pol, &b->pol_cap, b->r.npol, sizeof(*b->pol),
                MT_RB_POL) != 0 ||
        unlocal(b, (void **)&b->det, &b->det_cap, b->r.ndet, sizeof(*b->det),
                MT_RB_DET) != 0 ||
        unlocal(b, (void **)&b->fld, &b->fld_cap, b->r.nfld, sizeof(*b->fld),
                MT_RB_FLD) != 0 ||
        unlocal(b, (void **)&b->diag, &b->diag_cap, b->r.ndiag,
                sizeof(*b->diag), MT_RB_DIAG) != 0 ||
        unlocal(b, (void **)&b->pool, &b->pool_cap, b->r.pool_len, 1,
                MT_RB_POOL) != 0)
        return MTASTS_ENOMEM;
    if (fit(b->ctx, (void **)&b->pol, &b->pol_cap, b->r.npol,
            sizeof(*b->pol)) != 0 ||
        fit(b->ctx, (void **)&b->det, &b->det_cap, b->r.ndet,
            sizeof(*b->det)) != 0 ||
        fit(b->ctx, (void **)&b->fld, &b->fld_cap, b->r.nfld,
            sizeof(*b->fld)) != 0 ||
        fit(b->ctx, (void **)&b->diag, &b->diag_cap, b->r.ndiag,
            sizeof(*b->diag)) != 0 ||
        fit(b->ctx, (void **)&b->pool, &b->pool_cap, b->r.pool_len, 1) != 0)
        return MTASTS_ENOMEM;
    r = mt_alloc(b->ctx, sizeof(*r));
    if (r == NULL)
        return MTASTS_ENOMEM;
    *r = b->r;
    r->ctx = b->ctx;
    r->alloc_size = sizeof(*r);
    r->pol = b->pol;
    r->det = b->det;
    r->fld = b->fld;
    r->diag = b->diag;
    r->pool = b->pool;
    b->pol = NULL;
    b->det = NULL;
    b->fld = NULL;
    b->diag = NULL;
    b->pool = NULL;
    b->pol_cap = b->det_cap = b->fld_cap = b->diag_cap = b->pool_cap = 0;
    *ret = r;
    return MTASTS_OK;
}

void
mtasts_tlsrpt_report_free(mtasts_tlsrpt_report *report)
{
    if (report == NULL)
        return;
    if (report->alloc_size != sizeof(*report)) {
        /* one block: report, arrays and pool */
        mt_free(report->ctx, report, report->alloc_size);
        return;
    }
    mt_free(report->ctx, report->pol, report->npol * sizeof(*report->pol));
    mt_free(report->ctx, report->det, report->ndet * sizeof(*report->det));
    mt_free(report->ctx, report->fld, report->nfld * sizeof(*report->fld));
    mt_free(report->ctx, report->diag, report->ndiag * sizeof(*report->diag));
    mt_free(report->ctx, report->pool, report->pool_len);
    mt_free(report->ctx, report, report->alloc_size);
}

static const char *
rstr(const mtasts_tlsrpt_report *r, struct mt_rstr s, size_t *ret_len)
{
    if (s.off == MT_RSTR_NONE) {
        if (ret_len != NULL)
            *ret_len = 0;
        return NULL;
    }
    if (ret_len != NULL)
        *ret_len = s.len;
    return r->pool + s.off;
}

static const struct mt_rpolicy *
policy_at(const mtasts_tlsrpt_report *r, size_t i)
{
    return r != NULL && i < r->npol ? &r->pol[i] : NULL;
}

static const struct mt_rdetail *
detail_at(const mtasts_tlsrpt_report *r, size_t i, size_t j)
{
    const struct mt_rpolicy *p = policy_at(r, i);

    return p != NULL && j < p->det_count ? &r->det[p->det_start + j] : NULL;
}

/* Number of set bits below bit b of m. */
static unsigned
bits_below(unsigned m, unsigned b)
{
    unsigned n = 0;

    m &= (1u << b) - 1;
    while (m != 0) {
        m &= m - 1;
        n++;
    }
    return n;
}

const char *
mtasts_tlsrpt_report_text(const mtasts_tlsrpt_report *report, int field,
                          size_t i, size_t j, size_t *ret_len)
{
    static const struct mt_rstr none = {MT_RSTR_NONE, 0};
    const struct mt_rpolicy *p;
    const struct mt_rdetail *d;
    struct mt_rstr s = none;

    if (report == NULL)
        return rstr(report, none, ret_len);
    switch (field) {
    case MTASTS_RF_ORGANIZATION:
        s = report->org;
        break;
    case MTASTS_RF_CONTACT:
        s = report->contact;
        break;
    case MTASTS_RF_REPORT_ID:
        s = report->report_id;
        break;
    case MTASTS_RF_POLICY_TYPE:
    case MTASTS_RF_POLICY_DOMAIN:
        p = policy_at(report, i);
        if (p != NULL)
            s = field == MTASTS_RF_POLICY_TYPE ? p->type_text : p->domain;
        break;
    case MTASTS_RF_POLICY_STRING:
        p = policy_at(report, i);
        if (p != NULL && j < p->ps_count)
            s = report->fld[p->ps_start + j];
        break;
    case MTASTS_RF_MX_HOST:
        p = policy_at(report, i);
        if (p != NULL && j < p->mx_count)
            s = report->fld[p->mx_start + j];
        break;
    default:
        if (field >= MT_DET_FIRST && field <= MT_DET_LAST) {
            unsigned bit = (unsigned)(field - MT_DET_FIRST);
            d = detail_at(report, i, j);
            if (d != NULL && field == MTASTS_RF_RESULT_TYPE &&
                d->result != MTASTS_RESULT_NONE) {
                const char *name = mtasts_result_type_name(d->result);
                if (ret_len != NULL)
                    *ret_len = strlen(name);
                return name;
            }
            if (d != NULL && (d->mask & (1u << bit)) != 0)
                s = report->fld[d->fstart + bits_below(d->mask, bit)];
        }
        break;
    }
    return rstr(report, s, ret_len);
}

size_t
mtasts_tlsrpt_report_count(const mtasts_tlsrpt_report *report, int what,
                           size_t i)
{
    const struct mt_rpolicy *p;

    if (report == NULL)
        return 0;
    if (what == MTASTS_RC_POLICIES)
        return report->npol;
    p = policy_at(report, i);
    if (p == NULL)
        return 0;
    switch (what) {
    case MTASTS_RC_POLICY_STRINGS:
        return p->ps_count;
    case MTASTS_RC_MX_HOSTS:
        return p->mx_count;
    case MTASTS_RC_DETAILS:
        return p->det_count;
    default:
        return 0;
    }
}

int64_t
mtasts_tlsrpt_report_number(const mtasts_tlsrpt_report *report, int what,
                            size_t i, size_t j)
{
    const struct mt_rpolicy *p;
    const struct mt_rdetail *d;

    if (report == NULL)
        return 0;
    switch (what) {
    case MTASTS_RN_START_TIME:
        return report->start;
    case MTASTS_RN_END_TIME:
        return report->end;
    case MTASTS_RN_SUCCESS_COUNT:
    case MTASTS_RN_FAILURE_COUNT:
        p = policy_at(report, i);
        if (p == NULL)
            return 0;
        return what == MTASTS_RN_SUCCESS_COUNT ? p->success : p->failure;
    case MTASTS_RN_FAILED_SESSIONS:
        d = detail_at(report, i, j);
        return d != NULL ? d->failed : 0;
    default:
        return 0;
    }
}

int
mtasts_tlsrpt_report_policy_type(const mtasts_tlsrpt_report *report, size_t i)
{
    const struct mt_rpolicy *p = policy_at(report, i);

    return p != NULL ? p->type : MTASTS_POLICY_TYPE_UNKNOWN;
}

int
mtasts_tlsrpt_report_result_type(const mtasts_tlsrpt_report *report, size_t i,
                                 size_t j)
{
    const struct mt_rdetail *d = detail_at(report, i, j);

    return d != NULL ? d->result : MTASTS_RESULT_NONE;
}

uint64_t
mtasts_tlsrpt_report_warnings(const mtasts_tlsrpt_report *report)
{
    return report != NULL ? report->warnings : 0;
}

size_t
mtasts_tlsrpt_report_diag_count(const mtasts_tlsrpt_report *report)
{
    return report != NULL ? report->ndiag : 0;
}

int
mtasts_tlsrpt_report_diag(const mtasts_tlsrpt_report *report, size_t i,
                          int *ret_warning, const char **ret_path,
                          size_t *ret_path_len)
{
    if (report == NULL || i >= report->ndiag)
        return MTASTS_EINVAL;
    if (ret_warning != NULL)
        *ret_warning = report->diag[i].warning;
    if (ret_path != NULL)
        *ret_path = report->pool + report->diag[i].path.off;
    if (ret_path_len != NULL)
        *ret_path_len = report->diag[i].path.len;
    return MTASTS_OK;
}
