/* The _mta-sts TXT record (RFC 8461 3.1): parse, select, build, format. */
#include "internal.h"

struct mtasts_sts_record {
    mtasts_ctx *ctx;
    size_t alloc_size;
    uint64_t warnings;
    const char *id;
    size_t id_len;
    size_t ext_count;
    struct kv_span *ext;
};

struct rec_scan {
    /* out */
    const char *id;
    size_t id_len;
    size_t ext_count;
    size_t ext_bytes; /* sum of name+value lengths */
    uint64_t warnings;
    size_t woff;
    int reason;
    size_t off;
    /* where the extensions go (struct kv_span), or NULL to only count
     * them (select without a record object) */
    struct mt_vec *ext;
};

#define STS_VERSION     "v=STSv1"
#define STS_VERSION_LEN 7
#define LOCAL_EXT       8

int
mt_sts_ext_name_ok(const char *s, size_t n)
{
    size_t i;

    if (n == 0 || n > MTASTS_EXT_NAME_MAX || !MT_IS(s[0], MT_ALNUM))
        return 0;
    for (i = 1; i < n; i++)
        if (!MT_IS(s[i], MT_C_EXTN))
            return 0;
    return 1;
}

int
mt_sts_ext_value_ok(const char *s, size_t n)
{
    size_t i;

    if (n == 0)
        return 0;
    for (i = 0; i < n; i++)
        if (!MT_IS(s[i], MT_C_TXTV))
            return 0;
    return 1;
}

int
mt_sts_id_ok(const char *s, size_t n)
{
    size_t i;

    if (n == 0 || n > MTASTS_ID_MAX_LEN)
        return 0;
    for (i = 0; i < n; i++)
        if (!MT_IS(s[i], MT_ALNUM))
            return 0;
    return 1;
}

/* The reason to report for an unexpected byte c, when fallback describes
 * what was expected there. */
static int
char_reason(unsigned char c, int fallback)
{
    if (c >= 0x80)
        return MTASTS_R_NON_ASCII;
    if (c < 0x20 && c != '\t')
        return MTASTS_R_CTL;
    if (c == 0x7F)
        return MTASTS_R_CTL;
    return fallback;
}

static void
add_warning(struct rec_scan *r, int w, size_t off)
{
    if (r->warnings == 0)
        r->woff = off;
    r->warnings |= MTASTS_WARN_BIT(w);
}

/* Scan one record. Returns 0, MTASTS_ENOMEM or MTASTS_ESYNTAX (r->reason,
 * r->off). */
static int
scan_record(const char *b, size_t n, struct rec_scan *r)
{
    size_t p, q, ws, fields = 0, name_len;
    struct kv_span *e;
    const char *name;

    if (n == 0) {
        r->reason = MTASTS_R_EMPTY;
        r->off = 0;
        return MTASTS_ESYNTAX;
    }
    if (n < STS_VERSION_LEN || memcmp(b, STS_VERSION, STS_VERSION_LEN) != 0) {
        for (p = 0; p < n && p < STS_VERSION_LEN; p++)
            if (b[p] != STS_VERSION[p])
                break;
        r->reason =
            char_reason((unsigned char)b[p < n ? p : n - 1], MTASTS_R_VERSION);
        r->off = p;
        return MTASTS_ESYNTAX;
    }
    p = STS_VERSION_LEN;
    if (p < n && b[p] != ';' && !MT_IS(b[p], MT_C_WSP)) {
        r->reason = char_reason((unsigned char)b[p], MTASTS_R_VERSION);
        r->off = p;
        return MTASTS_ESYNTAX;
    }
    for (;;) {
        ws = p;
        while (p < n && MT_IS(b[p], MT_C_WSP))
            p++;
        if (p == n) {
            if (fields == 0)
                goto need_field;
            if (p > ws)
                add_warning(r, MTASTS_W_TRAILING_WSP, ws);
            break;
        }
        if (b[p] != ';') {
            r->reason = char_reason((unsigned char)b[p], MTASTS_R_DELIM);
            r->off = p;
            return MTASTS_ESYNTAX;
        }
        p++;
        while (p < n && MT_IS(b[p], MT_C_WSP))
            p++;
        if (p == n) {
            if (fields == 0)
                goto need_field;
            break;
        }
        /* field name */
        q = p;
        if (!MT_IS(b[p], MT_ALNUM)) {
            r->reason = char_reason((unsigned char)b[p], MTASTS_R_FIELD);
            r->off = p;
            return MTASTS_ESYNTAX;
        }
        while (p < n && MT_IS(b[p], MT_C_EXTN))
            p++;
        name = b + q;
        name_len = p - q;
        if (name_len > MTASTS_EXT_NAME_MAX) {
            r->reason = MTASTS_R_EXT_NAME;
            r->off = q + MTASTS_EXT_NAME_MAX;
            return MTASTS_ESYNTAX;
        }
        if (p == n || b[p] != '=') {
            r->reason =
                p == n ? MTASTS_R_FIELD
                       : char_reason((unsigned char)b[p], MTASTS_R_EXT_NAME);
            r->off = p;
            return MTASTS_ESYNTAX;
        }
        p++;
        q = p;
        while (p < n && MT_IS(b[p], MT_C_TXTV))
            p++;
        if (p < n && b[p] != ';' && !MT_IS(b[p], MT_C_WSP)) {
            r->reason = char_reason((unsigned char)b[p], MTASTS_R_EXT_VALUE);
            r->off = p;
            return MTASTS_ESYNTAX;
        }
        if (p == q) {
            r->reason = name_len == 2 && name[0] == 'i' && name[1] == 'd'
                            ? MTASTS_R_ID
                            : MTASTS_R_EXT_VALUE;
            r->off = p;
            return MTASTS_ESYNTAX;
        }
        fields++;
        if (name_len == 2 && name[0] == 'i' && name[1] == 'd') {
            if (r->id == NULL) {
                if (!mt_sts_id_ok(b + q, p - q)) {
                    r->reason = MTASTS_R_ID;
                    r->off = q;
                    return MTASTS_ESYNTAX;
                }
                r->id = b + q;
                r->id_len = p - q;
            } else {
                add_warning(r, MTASTS_W_DUPLICATE_FIELD, (size_t)(name - b));
            }
        } else if (name_len == 1 && name[0] == 'v') {
            add_warning(r, MTASTS_W_DUPLICATE_FIELD, (size_t)(name - b));
        } else {
            if (r->ext != NULL) {
                e = mt_vec_push(r->ext);
                if (e == NULL)
                    return MTASTS_ENOMEM;
                e->name = name;
                e->name_len = name_len;
                e->value = b + q;
                e->value_len = p - q;
            }
            r->ext_count++;
            r->ext_bytes += name_len + (p - q) + 2;
        }
    }
    if (r->id == NULL) {
        r->reason = MTASTS_R_NO_ID;
        r->off = n;
        return MTASTS_ESYNTAX;
    }
    return MTASTS_OK;
need_field:
    r->reason = MTASTS_R_FIELD;
    r->off = p;
    return MTASTS_ESYNTAX;
}

static char *
copy_str(char *dst, const char *src, size_t n)
{
    memcpy(dst, src, n);
    dst[n] = '\0';
    return dst + n + 1;
}

/* The record object from a complete scan r of b. */
static int
record_make(mtasts_ctx *ctx, const struct rec_scan *r, unsigned flags,
            mtasts_sts_record **ret_rec, struct mtasts_diag *reterr)
{
    mtasts_sts_record *rec;
    size_t size;
    char *s;
    int rc;

    if ((flags & MTASTS_PARSE_F_STRICT) && r->warnings != 0) {
        mt_diag_fail(reterr, MTASTS_ESTRICT, MTASTS_R_STRICT, r->woff, NULL, 0);
        if (reterr != NULL)
            reterr->warnings = r->warnings;
        return MTASTS_ESTRICT;
    }
    /* The canonical text ("v=STSv1; id=ID;" and " name=value;" each) must
     * fit the limit too, or the record would not parse again (STS-TXT-14):
     * it can be longer than the input when that has no spaces. */
    rc = mt_txt_size_check(ctx,
                           sizeof(STS_VERSION "; id=;") - 1 + r->id_len +
                               r->ext_bytes + r->ext_count,
                           reterr);
    if (rc != MTASTS_OK)
        return rc;
    /* One allocation: header, extension spans, then the strings. */
    size = sizeof(*rec) + r->ext_count * sizeof(struct kv_span) + r->id_len +
           1 + r->ext_bytes;
    rec = mt_alloc(ctx, size);
    if (rec == NULL)
        return mt_nomem(reterr);
    rec->ctx = ctx;
    rec->alloc_size = size;
    rec->warnings = r->warnings;
    rec->ext_count = r->ext_count;
    rec->ext = (struct kv_span *)(void *)(rec + 1);
    if (rec->ext_count > 0)
        memcpy(rec->ext, r->ext->v, rec->ext_count * sizeof(struct kv_span));
    s = (char *)(rec->ext + rec->ext_count);
    rec->id = s;
    rec->id_len = r->id_len;
    s = copy_str(s, r->id, r->id_len);
    if (rec->ext_count > 0)
        mt_kv_copy(rec->ext, rec->ext_count, s);
    mt_diag_ok(reterr, r->warnings, r->woff);
    *ret_rec = rec;
    return MTASTS_OK;
}

/* Parse b[0..n) into a new record. The caller checked arguments. */
static int
record_parse(mtasts_ctx *ctx, const char *b, size_t n, unsigned flags,
             mtasts_sts_record **ret_rec, struct mtasts_diag *reterr)
{
    struct kv_span local[LOCAL_EXT];
    struct mt_vec ext;
    struct rec_scan r;
    int rc;

    rc = mt_txt_size_check(ctx, n, reterr);
    if (rc != MTASTS_OK)
        return rc;
    memset(&r, 0, sizeof(r));
    mt_vec_init(&ext, ctx, local, LOCAL_EXT, sizeof(local[0]));
    r.ext = &ext;
    rc = scan_record(b, n, &r);
    if (rc == MTASTS_ENOMEM)
        mt_nomem(reterr);
    else if (rc != MTASTS_OK)
        mt_diag_fail(reterr, rc, r.reason, r.off, NULL, 0);
    else
        rc = record_make(ctx, &r, flags, ret_rec, reterr);
    mt_vec_fini(&ext);
    return rc;
}

int
mtasts_sts_record_parse(mtasts_ctx *ctx, const char *buf, size_t len,
                        unsigned flags, mtasts_sts_record **ret_rec,
                        struct mtasts_diag *reterr)
{
    int rc;

    if (ret_rec != NULL)
        *ret_rec = NULL;
    if (ctx == NULL || ret_rec == NULL || (buf == NULL && len > 0) ||
        (flags & ~(unsigned)MTASTS_PARSE_F_STRICT) != 0)
        return MTASTS_EINVAL;
    rc = mt_diag_check(reterr);
    if (rc != MTASTS_OK)
        return rc;
    return record_parse(ctx, buf, len, flags, ret_rec, reterr);
}

/* The end of a select: a record object, or (ret_rec NULL) only the id,
 * copied to id_out (MTASTS_ID_MAX_LEN + 1 bytes) without allocating. */
static int
select_finish(mtasts_ctx *ctx, const char *b, size_t n, unsigned flags,
              mtasts_sts_record **ret_rec, char *id_out, size_t *id_len,
              struct mtasts_diag *reterr)
{
    struct rec_scan r;
    int rc;

    if (ret_rec != NULL)
        return record_parse(ctx, b, n, flags, ret_rec, reterr);
    if (id_out == NULL || id_len == NULL)
        return MTASTS_EINVAL;
    if (n > ctx->limits[MTASTS_LIMIT_TXT_SIZE])
        return MTASTS_ETOOBIG;
    memset(&r, 0, sizeof(r));
    rc = scan_record(b, n, &r);
    if (rc != MTASTS_OK)
        return rc;
    memcpy(id_out, r.id, r.id_len);
    id_out[r.id_len] = '\0';
    *id_len = r.id_len;
    return MTASTS_OK;
}

struct sts_sel {
    mtasts_sts_record **ret_rec;
    char *id_out;
    size_t *id_len;
};

static int
sts_sel_parse(mtasts_ctx *ctx, const char *b, size_t n, unsigned flags,
              void *arg, struct mtasts_diag *reterr)
{
    struct sts_sel *a = arg;

    return select_finish(ctx, b, n, flags, a->ret_rec, a->id_out, a->id_len,
                         reterr);
}

static int
select_core(mtasts_ctx *ctx, const char *const *strs, const size_t *str_lens,
            const size_t *rr_nstr, size_t rr_count, unsigned flags,
            int *ret_outcome, mtasts_sts_record **ret_rec, char *id_out,
            size_t *id_len, struct mtasts_diag *reterr)
{
    struct sts_sel a;

    a.ret_rec = ret_rec;
    a.id_out = id_out;
    a.id_len = id_len;
    return mt_txt_select(ctx, STS_VERSION, STS_VERSION_LEN, strs, str_lens,
                         rr_nstr, rr_count, flags, ret_outcome, sts_sel_parse,
                         &a, reterr);
}

int
mtasts_sts_record_select(mtasts_ctx *ctx, const char *const *strs,
                         const size_t *str_lens, const size_t *rr_nstr,
                         size_t rr_count, unsigned flags, int *ret_outcome,
                         mtasts_sts_record **ret_rec,
                         struct mtasts_diag *reterr)
{
    int rc;

    if (ret_rec != NULL)
        *ret_rec = NULL;
    if (ctx == NULL || ret_outcome == NULL || ret_rec == NULL ||
        (flags & ~(unsigned)MTASTS_PARSE_F_STRICT) != 0)
        return MTASTS_EINVAL;
    rc = mt_diag_check(reterr);
    if (rc != MTASTS_OK)
        return rc;
    return select_core(ctx, strs, str_lens, rr_nstr, rr_count, flags,
                       ret_outcome, ret_rec, NULL, NULL, reterr);
}

int
mt_sts_select_id(mtasts_ctx *ctx, const char *const *strs,
                 const size_t *str_lens, const size_t *rr_nstr, size_t rr_count,
                 int *ret_outcome, char *id_out, size_t *id_len)
{
    return select_core(ctx, strs, str_lens, rr_nstr, rr_count, 0, ret_outcome,
                       NULL, id_out, id_len, NULL);
}

static void
format_fields(struct mt_out *o, const char *id, size_t id_len,
              const struct kv_span *ext, const char *const *en,
              const size_t *enl, const char *const *ev, const size_t *evl,
              size_t ext_count)
{
    size_t i;

    mt_out_str(o, STS_VERSION "; id=");
    mt_out_put(o, id, id_len);
    mt_out_put(o, ";", 1);
    for (i = 0; i < ext_count; i++) {
        mt_out_put(o, " ", 1);
        if (ext != NULL) {
            mt_out_put(o, ext[i].name, ext[i].name_len);
            mt_out_put(o, "=", 1);
            mt_out_put(o, ext[i].value, ext[i].value_len);
        } else {
            mt_out_put(o, en[i], enl[i]);
            mt_out_put(o, "=", 1);
            mt_out_put(o, ev[i], evl[i]);
        }
        mt_out_put(o, ";", 1);
    }
}

int
mtasts_sts_record_build(mtasts_ctx *ctx, const char *id, size_t id_len,
                        const char *const *ext_names,
                        const size_t *ext_name_lens,
                        const char *const *ext_values,
                        const size_t *ext_value_lens, size_t ext_count,
                        mtasts_sts_record **ret_rec, struct mtasts_diag *reterr)
{
    struct mt_out o;
    size_t i, need;
    char *text;
    int rc;

    if (ret_rec != NULL)
        *ret_rec = NULL;
    if (ctx == NULL || ret_rec == NULL || (id == NULL && id_len > 0) ||
        (ext_count > 0 && (ext_names == NULL || ext_name_lens == NULL ||
                           ext_values == NULL || ext_value_lens == NULL)))
        return MTASTS_EINVAL;
    rc = mt_diag_check(reterr);
    if (rc != MTASTS_OK)
        return rc;
    if (!mt_sts_id_ok(id, id_len)) {
        mt_diag_fail(reterr, MTASTS_ESYNTAX, MTASTS_R_ID, 0, NULL, 0);
        return MTASTS_ESYNTAX;
    }
    for (i = 0; i < ext_count; i++) {
        const char *nm = ext_names[i];
        size_t nl = ext_name_lens[i];
        if (nm == NULL || !mt_sts_ext_name_ok(nm, nl) ||
            (nl == 2 && nm[0] == 'i' && nm[1] == 'd') ||
            (nl == 1 && nm[0] == 'v')) {
            mt_diag_fail(reterr, MTASTS_ESYNTAX, MTASTS_R_EXT_NAME, i, NULL, 0);
            return MTASTS_ESYNTAX;
        }
        if (ext_values[i] == NULL ||
            !mt_sts_ext_value_ok(ext_values[i], ext_value_lens[i])) {
            mt_diag_fail(reterr, MTASTS_ESYNTAX, MTASTS_R_EXT_VALUE, i, NULL,
                         0);
            return MTASTS_ESYNTAX;
        }
    }
    mt_out_init(&o, NULL, 0);
    format_fields(&o, id, id_len, NULL, ext_names, ext_name_lens, ext_values,
                  ext_value_lens, ext_count);
    need = o.len;
    text = mt_alloc(ctx, need + 1);
    if (text == NULL)
        return mt_nomem(reterr);
    mt_out_init(&o, text, need + 1);
    format_fields(&o, id, id_len, NULL, ext_names, ext_name_lens, ext_values,
                  ext_value_lens, ext_count);
    rc = record_parse(ctx, text, need, 0, ret_rec, reterr);
    mt_free(ctx, text, need + 1);
    return rc;
}

void
mtasts_sts_record_free(mtasts_sts_record *rec)
{
    if (rec != NULL)
        mt_free(rec->ctx, rec, rec->alloc_size);
}

const char *
mtasts_sts_record_id(const mtasts_sts_record *rec, size_t *ret_len)
{
    if (rec == NULL) {
        if (ret_len != NULL)
            *ret_len = 0;
        return NULL;
    }
    if (ret_len != NULL)
        *ret_len = rec->id_len;
    return rec->id;
}

size_t
mtasts_sts_record_ext_count(const mtasts_sts_record *rec)
{
    return rec != NULL ? rec->ext_count : 0;
}

int
mtasts_sts_record_ext(const mtasts_sts_record *rec, size_t i,
                      const char **ret_name, size_t *ret_name_len,
                      const char **ret_value, size_t *ret_value_len)
{
    if (rec == NULL)
        return MTASTS_EINVAL;
    return mt_kv_get(rec->ext, rec->ext_count, i, ret_name, ret_name_len,
                     ret_value, ret_value_len);
}

uint64_t
mtasts_sts_record_warnings(const mtasts_sts_record *rec)
{
    return rec != NULL ? rec->warnings : 0;
}

int
mtasts_sts_record_format(const mtasts_sts_record *rec, char *dst,
                         size_t dst_len, size_t *ret_needed)
{
    struct mt_out o;

    if (rec == NULL || (dst == NULL && dst_len > 0))
        return MTASTS_EINVAL;
    mt_out_init(&o, dst, dst_len);
    format_fields(&o, rec->id, rec->id_len, rec->ext, NULL, NULL, NULL, NULL,
                  rec->ext_count);
    return mt_out_finish(&o, ret_needed);
}
