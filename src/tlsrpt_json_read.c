/*
 * TLSRPT reports (RFC 8460 section 4.4) from JSON: the model is built
 * straight from the tokens of json_read.c (no DOM), with the tolerances of
 * doc/requirements.md section 10 and E-4/5/6/17/18/19. The canonical
 * writer is tlsrpt_json_write.c.
 */
#include "json.h"
#include "tlsrpt_int.h"

#define MEMBER_IDS 32 /* above the K_* member ids below */

#define RECENT_SLOTS 32

struct bld {
    struct mt_json j;
    struct mt_rbuild b;
    unsigned flags;
    int strict;
    uint64_t warnings;
    size_t woff;
    int refused; /* the warning strict parsing refused (MTASTS_ESTRICT) */
    size_t pi;   /* index of the policy being read */
    size_t di;   /* index of the failure detail being read */
    /* failure-details member names: the one seen after each (K_UNKNOWN:
     * after '{'), for read_detail() to try first */
    unsigned char det_next[MEMBER_IDS];
    /* recent failure-details texts, per member (see take_text()) */
    struct mt_rstr recent[MT_DET_TEXTS][RECENT_SLOTS];
};

#define NO_INDEX ((size_t)-1)

/* ------------------------------------------------------------------ */
/* Member names                                                        */
/* ------------------------------------------------------------------ */

enum {
    K_UNKNOWN = 0,
    /* report */
    K_ORG,
    K_DATE_RANGE,
    K_CONTACT,
    K_REPORT_ID,
    K_POLICIES,
    /* date-range */
    K_START,
    K_END,
    /* policies[] */
    K_POLICY,
    K_SUMMARY,
    K_DETAILS,
    /* policy */
    K_POLICY_TYPE,
    K_POLICY_STRING,
    K_POLICY_DOMAIN,
    K_MX_HOST,
    /* summary */
    K_TOTAL_OK,
    K_TOTAL_FAIL,
    /* failure-details[] */
    K_RESULT_TYPE,
    K_SENDING_IP,
    K_RECEIVING_MX,
    K_RECEIVING_HELO,
    K_RECEIVING_IP,
    K_FAILED,
    K_ADDITIONAL,
    K_ADDITIONAL_ALIAS,
    K_REASON_CODE,
    K_COUNT
};

typedef char member_ids_fit[K_COUNT <= MEMBER_IDS ? 1 : -1];

#define KEY_(s)          \
    {                    \
        s, sizeof(s) - 1 \
    }

static const struct {
    const char *s;
    size_t n;
} keys[K_COUNT] = {
    {NULL, 0},
    KEY_("organization-name"),
    KEY_("date-range"),
    KEY_("contact-info"),
    KEY_("report-id"),
    KEY_("policies"),
    KEY_("start-datetime"),
    KEY_("end-datetime"),
    KEY_("policy"),
    KEY_("summary"),
    KEY_("failure-details"),
    KEY_("policy-type"),
    KEY_("policy-string"),
    KEY_("policy-domain"),
    KEY_("mx-host"),
    KEY_("total-successful-session-count"),
    KEY_("total-failure-session-count"),
    KEY_("result-type"),
    KEY_("sending-mta-ip"),
    KEY_("receiving-mx-hostname"),
    KEY_("receiving-mx-helo"),
    KEY_("receiving-ip"),
    KEY_("failed-session-count"),
    KEY_("additional-information"),
    KEY_("additional-info-uri"),
    KEY_("failure-reason-code"),
};

#define key_names(k) (keys[k].s)

/* Known member id of the current key among [lo, hi], K_UNKNOWN if none.
 * Candidates are told apart by length and first differing byte before
 * any full comparison. */
static int
key_id(const struct mt_json *j, int lo, int hi)
{
    int k;
    size_t n = j->slen;

    for (k = lo; k <= hi; k++) {
        const char *nm = keys[k].s;
        if (keys[k].n == n && nm[n - 1] == j->str[n - 1] &&
            memcmp(nm, j->str, n) == 0)
            return k;
    }
    return K_UNKNOWN;
}

/* ------------------------------------------------------------------ */
/* Errors and warnings                                                 */
/* ------------------------------------------------------------------ */

static int
fail(struct bld *c, int err, int reason, size_t off)
{
    mt_json_fail(&c->j, err, reason, off);
    return -1;
}

/* The JSON path of a member: "policies[i].<section>[d].<member>". */
static size_t
make_path(const struct bld *c, const char *section, const char *member,
          char *out, size_t cap)
{
    struct mt_out o;

    mt_out_init(&o, out, cap);
    if (c->pi != NO_INDEX) {
        mt_out_str(&o, "policies[");
        mt_out_u64(&o, c->pi);
        mt_out_str(&o, "]");
    }
    if (section != NULL) {
        if (o.len > 0)
            mt_out_str(&o, ".");
        mt_out_str(&o, section);
        if (c->di != NO_INDEX) {
            mt_out_str(&o, "[");
            mt_out_u64(&o, c->di);
            mt_out_str(&o, "]");
        }
    }
    if (member != NULL) {
        if (o.len > 0)
            mt_out_str(&o, ".");
        mt_out_str(&o, member);
    }
    return o.len < cap ? o.len : cap - 1;
}

/* A tolerated deviation at offset off. 0, or -1 in strict mode / OOM. */
static int
warn(struct bld *c, int w, size_t off, const char *section, const char *member)
{
    char path[128];
    size_t n;

    if (c->strict) {
        c->refused = w;
        return fail(c, MTASTS_ESTRICT, MTASTS_R_STRICT, off);
    }
    if (c->warnings == 0)
        c->woff = off;
    c->warnings |= MTASTS_WARN_BIT(w);
    n = make_path(c, section, member, path, sizeof(path));
    if (mt_rbuild_diag(&c->b, w, path, n) != 0)
        return fail(c, MTASTS_ENOMEM, MTASTS_R_NONE, 0);
    return 0;
}

static int
oom(struct bld *c)
{
    return fail(c, c->b.oom == 2 ? MTASTS_ETOOBIG : MTASTS_ENOMEM,
                c->b.oom == 2 ? MTASTS_R_TOO_BIG : MTASTS_R_NONE, 0);
}

/* ------------------------------------------------------------------ */
/* Values                                                              */
/* ------------------------------------------------------------------ */

static MT_ALWAYS_INLINE int
next(struct bld *c)
{
    int t = mt_json_next_fast(&c->j);

    return t;
}

/* mt_rbuild_str() with the common case inline: room in the pool, and a
 * short string copied with word moves rather than a call to memcpy. */
static inline struct mt_rstr
pool_str(struct mt_rbuild *b, const char *s, size_t n)
{
    size_t at = b->r.pool_len, need = at + n + 1;
    struct mt_rstr r;
    char *d;

    if (b->oom || n > 32 || need > b->pool_cap || need >= MT_RSTR_NONE)
        return mt_rbuild_str(b, s, n);
    d = b->pool + at;
    if (n >= 16) {
        memcpy(d, s, 8);
        memcpy(d + 8, s + 8, 8);
        memcpy(d + n - 16, s + n - 16, 8);
        memcpy(d + n - 8, s + n - 8, 8);
    } else if (n >= 8) {
        memcpy(d, s, 8);
        memcpy(d + n - 8, s + n - 8, 8);
    } else if (n >= 4) {
        memcpy(d, s, 4);
        memcpy(d + n - 4, s + n - 4, 4);
    } else if (n > 0)
        memcpy(d, s, n);
    d[n] = 0;
    r.off = (uint32_t)at;
    r.len = (uint32_t)n;
    b->r.pool_len = need;
    return r;
}

/* The value token just read must be a string: copy it. */
static MT_ALWAYS_INLINE int
take_string(struct bld *c, int tok, struct mt_rstr *out)
{
    if (tok == MT_JT_ERROR)
        return -1;
    if (tok != MT_JT_STR)
        return fail(c, MTASTS_ESYNTAX, MT_R_JSON_TYPE, c->j.tok_off);
    *out = pool_str(&c->b, c->j.str, c->j.slen);
    if (out->off == MT_RSTR_NONE)
        return oom(c);
    return 0;
}

/* The slot of a string in a recent[] row: from its length and its first
 * and last 8 bytes (all of it up to 16 bytes). */
static MT_ALWAYS_INLINE unsigned
recent_slot(const char *s, size_t n)
{
    uint64_t a = 0, b = 0;

    if (n >= 8) {
        memcpy(&a, s, 8);
        memcpy(&b, s + n - 8, 8);
    } else
        memcpy(&a, s, n);
    a = (a ^ n) * UINT64_C(0x9E3779B97F4A7C15) +
        b * UINT64_C(0xC2B2AE3D27D4EB4F);
    return (unsigned)(a >> 59); /* RECENT_SLOTS == 32 */
}

/* A failure-details text (member index i): like take_string(), but a
 * value equal to a recent one of the same member shares its pool copy.
 * Reports repeat these values (result types, MX names, reason codes,
 * sending addresses) from entry to entry, and the copies would otherwise
 * make up most of a large report's model. The cache is direct-mapped
 * (one string per slot, confirmed by comparing the bytes; a new string
 * replaces the old one): constant work per value, whatever the input.
 * Empty strings are not shared (slots start as {0, 0}). */
static MT_ALWAYS_INLINE int
take_text(struct bld *c, int tok, int i, struct mt_rstr *out)
{
    const char *s = c->j.str;
    size_t n = c->j.slen;
    struct mt_rstr *slot;

    if (tok != MT_JT_STR || n == 0)
        return take_string(c, tok, out);
    slot = &c->recent[i][recent_slot(s, n)];
    if (slot->len == n && memcmp(c->b.pool + slot->off, s, n) == 0) {
        *out = *slot;
        return 0;
    }
    if (take_string(c, tok, out) != 0)
        return -1;
    *slot = *out;
    return 0;
}

/* A count: a JSON number that is a non-negative integer within 2^53-1,
 * with no fraction or exponent (RPT-JSON-13). */
static int
take_count(struct bld *c, int tok, int64_t *out)
{
    if (tok == MT_JT_ERROR)
        return -1;
    if (tok != MT_JT_NUM)
        return fail(c, MTASTS_ESYNTAX, MT_R_JSON_TYPE, c->j.tok_off);
    if (!c->j.num_int || c->j.num_big)
        return fail(c, MTASTS_ESYNTAX, MT_R_JSON_VALUE, c->j.tok_off);
    *out = (int64_t)c->j.num;
    return 0;
}

static int
take_datetime(struct bld *c, int tok, const char *member, int64_t *out)
{
    int no_offset;

    if (tok == MT_JT_ERROR)
        return -1;
    if (tok != MT_JT_STR)
        return fail(c, MTASTS_ESYNTAX, MT_R_JSON_TYPE, c->j.tok_off);
    if (mt_datetime_parse(c->j.str, c->j.slen, out, &no_offset) != 0)
        return fail(c, MTASTS_ESYNTAX, MT_R_JSON_DATE, c->j.tok_off);
    if (no_offset)
        return warn(c, MTASTS_W_DATE_NO_OFFSET, c->j.tok_off, "date-range",
                    member);
    return 0;
}

/* An unknown member: check its name, skip its value. */
static int
skip_member(struct bld *c)
{
    if (mt_json_check_name(&c->j) != 0)
        return -1;
    return mt_json_skip(&c->j, next(c));
}

/* Mark known member k seen; a second one is a duplicate (RPT-JSON-1). */
static int
seen(struct bld *c, uint32_t *mask, int k)
{
    uint32_t bit = (uint32_t)1 << k;

    if (*mask & bit)
        return fail(c, MTASTS_ESYNTAX, MT_R_JSON_DUP, c->j.tok_off);
    *mask |= bit;
    return 0;
}

/* After a member name whose id is k: an unknown member is skipped (0),
 * a known one is marked seen (1; -1 when it repeats or on error). */
static MT_ALWAYS_INLINE int
take_member(struct bld *c, uint32_t *mask, int k)
{
    if (k == K_UNKNOWN)
        return skip_member(c) != 0 ? -1 : 0;
    return seen(c, mask, k) != 0 ? -1 : 1;
}

/* Read the members of an object whose '{' was just read. */
#define FOR_MEMBERS(c, tok) \
    for ((tok) = next(c); (tok) == MT_JT_KEY; (tok) = next(c))

static int
expect_obj(struct bld *c, int tok)
{
    if (tok == MT_JT_ERROR)
        return -1;
    if (tok != MT_JT_OBJ)
        return fail(c, MTASTS_ESYNTAX, MT_R_JSON_TYPE, c->j.tok_off);
    return 0;
}

/* The end of a member loop: tok must be '}' (else an error is set). */
static int
end_obj(struct bld *c, int tok)
{
    if (tok == MT_JT_END_OBJ)
        return 0;
    if (tok != MT_JT_ERROR)
        fail(c, MTASTS_ESYNTAX, MT_R_JSON_SYNTAX, c->j.tok_off);
    return -1;
}

/* A member that names a host or an address must not hold U+0000: through
 * a NUL-terminated getter it would read as another, shorter name. Refused
 * in every mode (it can only be an attack); the error is at the string
 * (voff). */
static int
no_nul(struct bld *c, size_t voff, struct mt_rstr s)
{
    if (s.len > 0 && memchr(c->b.pool + s.off, 0, s.len) != NULL)
        return fail(c, MTASTS_ESYNTAX, MTASTS_R_CTL, voff);
    return 0;
}

/* An IP member: kept as written; a malformed one gives a warning. */
static int
check_ip(struct bld *c, size_t koff, size_t voff, struct mt_rstr s, int k)
{
    if (no_nul(c, voff, s) != 0)
        return -1;
    if (mt_ip_kind(c->b.pool + s.off, s.len) != 0)
        return 0;
    return warn(c, MTASTS_W_BAD_IP, koff, "failure-details", key_names(k));
}

/* A host name member (hflags: MTASTS_HOST_F_WILDCARD for an mx-host
 * pattern): checked with the library's one hostname validator, kept as
 * written; a malformed one gives a warning, like a malformed IP. */
static int
check_name(struct bld *c, size_t koff, size_t voff, struct mt_rstr s,
           unsigned hflags, const char *section, const char *member)
{
    int reason;
    size_t off;

    if (no_nul(c, voff, s) != 0)
        return -1;
    if (mt_hostname_check(c->b.pool + s.off, s.len, hflags, &reason, &off) ==
        MTASTS_OK)
        return 0;
    return warn(c, MTASTS_W_BAD_NAME, koff, section, member);
}

/* A list of strings (policy-string, mx-host): an array of strings, or a
 * bare string (one element, warning wstr), or null (absent, warning).
 * Sets *start and *count; returns 1 when present, 0 when null, -1. */
static int
take_list(struct bld *c, int tok, int wstr, const char *member, int names,
          uint32_t *start, uint32_t *count)
{
    size_t koff = c->j.tok_off;
    struct mt_rstr s;
    int idx;

    *start = (uint32_t)c->b.r.nfld;
    *count = 0;
    if (tok == MT_JT_NULL) {
        if (warn(c, MTASTS_W_NULL_MEMBER, koff, "policy", member) != 0)
            return -1;
        return 0;
    }
    if (tok == MT_JT_STR) {
        if (warn(c, wstr, koff, "policy", member) != 0 ||
            take_string(c, tok, &s) != 0 ||
            (names &&
             check_name(c, c->j.tok_off, c->j.tok_off, s,
                        MTASTS_HOST_F_WILDCARD, "policy", member) != 0))
            return -1;
        if (mt_rbuild_field(&c->b, s) < 0)
            return oom(c);
        *count = 1;
        return 1;
    }
    if (tok == MT_JT_ERROR)
        return -1;
    if (tok != MT_JT_ARR)
        return fail(c, MTASTS_ESYNTAX, MT_R_JSON_TYPE, c->j.tok_off);
    for (tok = next(c); tok != MT_JT_END_ARR; tok = next(c)) {
        if (take_string(c, tok, &s) != 0 ||
            (names &&
             check_name(c, c->j.tok_off, c->j.tok_off, s,
                        MTASTS_HOST_F_WILDCARD, "policy", member) != 0))
            return -1;
        idx = mt_rbuild_field(&c->b, s);
        if (idx < 0)
            return oom(c);
        (*count)++;
    }
    return 1;
}

/* ------------------------------------------------------------------ */
/* Objects of the model                                                */
/* ------------------------------------------------------------------ */

static int
read_date_range(struct bld *c, int tok)
{
    uint32_t mask = 0;
    int k, r;
    size_t end_off = 0;

    if (expect_obj(c, tok) != 0)
        return -1;
    FOR_MEMBERS(c, tok)
    {
        k = key_id(&c->j, K_START, K_END);
        if (k == K_END)
            end_off = c->j.tok_off;
        if ((r = take_member(c, &mask, k)) <= 0) {
            if (r < 0)
                return -1;
            continue;
        }
        if (take_datetime(c, next(c), key_names(k),
                          k == K_START ? &c->b.r.start : &c->b.r.end) != 0)
            return -1;
    }
    if (end_obj(c, tok) != 0)
        return -1;
    if (mask != ((1u << K_START) | (1u << K_END)))
        return fail(c, MTASTS_ESYNTAX, MT_R_JSON_MISSING, c->j.tok_off);
    /* kept as written: the sender's clock is its own business, but the
     * range is not one (strict parsing refuses it) */
    if (c->b.r.end < c->b.r.start)
        return warn(c, MTASTS_W_DATE_RANGE_REVERSED, end_off, "date-range",
                    key_names(K_END));
    return 0;
}

/* MTASTS_RESULT_* of a result-type text (NONE when unregistered). */
static int
result_type_of(const char *t, size_t n)
{
    static const unsigned char lens[MT_RESULT_MAX + 1] = {
        0, 22, 25, 19, 23, 18, 12, 14, 13, 22, 18, 18};
    int i;

    for (i = 1; i <= MT_RESULT_MAX; i++)
        if (lens[i] == n && memcmp(mtasts_result_type_name(i), t, n) == 0)
            return i;
    return MTASTS_RESULT_NONE;
}

static int
read_detail(struct bld *c, int tok, struct mt_rpolicy *pol)
{
    struct mt_rstr texts[MT_DET_TEXTS], *f;
    struct mt_rdetail *d;
    uint32_t mask = 0;
    int k, i, prev, r;
    size_t nt;
    int64_t failed = 0;

    if (expect_obj(c, tok) != 0)
        return -1;
    for (i = 0; i < MT_DET_TEXTS; i++)
        texts[i].off = MT_RSTR_NONE;
    for (prev = K_UNKNOWN;; prev = k) {
        size_t koff;
        int field, guess = c->det_next[prev];
        /* producers write the members of every entry in one order: try
         * the name that followed the previous one last time */
        if (guess != K_UNKNOWN &&
            mt_json_key_is(&c->j, keys[guess].s, keys[guess].n))
            k = guess;
        else {
            tok = next(c);
            if (tok != MT_JT_KEY)
                break;
            k = key_id(&c->j, K_RESULT_TYPE, K_REASON_CODE);
        }
        c->det_next[prev] = (unsigned char)k;
        koff = c->j.tok_off;
        if ((r = take_member(c, &mask, k)) <= 0) {
            if (r < 0)
                return -1;
            continue;
        }
        tok = next(c);
        if (k == K_FAILED) {
            if (take_count(c, tok, &failed) != 0)
                return -1;
            continue;
        }
        if (k == K_ADDITIONAL_ALIAS &&
            warn(c, MTASTS_W_INFO_URI_ALIAS, koff, "failure-details",
                 key_names(k)) != 0)
            return -1;
        if (tok == MT_JT_NULL && k != K_RESULT_TYPE) {
            if (warn(c, MTASTS_W_NULL_MEMBER, koff, "failure-details",
                     key_names(k)) != 0)
                return -1;
            continue;
        }
        switch (k) {
        case K_RESULT_TYPE:
            field = MTASTS_RF_RESULT_TYPE;
            break;
        case K_SENDING_IP:
            field = MTASTS_RF_SENDING_IP;
            break;
        case K_RECEIVING_MX:
            field = MTASTS_RF_RECEIVING_MX;
            break;
        case K_RECEIVING_HELO:
            field = MTASTS_RF_RECEIVING_HELO;
            break;
        case K_RECEIVING_IP:
            field = MTASTS_RF_RECEIVING_IP;
            break;
        case K_REASON_CODE:
            field = MTASTS_RF_REASON_CODE;
            break;
        default: /* additional-information or its alias */
            field = MTASTS_RF_ADDITIONAL;
            break;
        }
        if (k == K_ADDITIONAL_ALIAS &&
            texts[field - MT_DET_FIRST].off != MT_RSTR_NONE) {
            /* additional-information was given and wins (E-5) */
            if (tok != MT_JT_STR)
                return fail(c, MTASTS_ESYNTAX, MT_R_JSON_TYPE, c->j.tok_off);
            continue;
        }
        if (take_text(c, tok, field - MT_DET_FIRST,
                      &texts[field - MT_DET_FIRST]) != 0)
            return -1;
        if ((k == K_SENDING_IP || k == K_RECEIVING_IP) &&
            check_ip(c, koff, c->j.tok_off, texts[field - MT_DET_FIRST], k) !=
                0)
            return -1;
        if (k == K_RECEIVING_MX &&
            check_name(c, koff, c->j.tok_off, texts[field - MT_DET_FIRST], 0,
                       "failure-details", key_names(k)) != 0)
            return -1;
        /* the HELO name is what the server said, not a name this library
         * vouches for: kept as text, but never with U+0000 */
        if (k == K_RECEIVING_HELO &&
            no_nul(c, c->j.tok_off, texts[field - MT_DET_FIRST]) != 0)
            return -1;
        /* RPT-JSON-17: a URI; anything else (the RFC's own example wraps
         * one) is kept as text with a warning, like a malformed IP */
        if (field == MTASTS_RF_ADDITIONAL &&
            !mt_uri_ok(c->b.pool + texts[field - MT_DET_FIRST].off,
                       texts[field - MT_DET_FIRST].len) &&
            warn(c, MTASTS_W_BAD_URI, koff, "failure-details", key_names(k)) !=
                0)
            return -1;
    }
    if (end_obj(c, tok) != 0)
        return -1;
    if (!(mask & (1u << K_RESULT_TYPE)) || !(mask & (1u << K_FAILED)))
        return fail(c, MTASTS_ESYNTAX, MT_R_JSON_MISSING, c->j.tok_off);
    d = mt_rbuild_detail(&c->b);
    if (d == NULL)
        return oom(c);
    d->failed = failed;
    d->fstart = (uint32_t)c->b.r.nfld;
    d->result = (uint8_t)result_type_of(c->b.pool + texts[0].off, texts[0].len);
    if (d->result != MTASTS_RESULT_NONE)
        texts[0].off = MT_RSTR_NONE; /* the name is d->result's */
    for (i = 0, nt = 0; i < MT_DET_TEXTS; i++)
        if (texts[i].off != MT_RSTR_NONE) {
            texts[nt++] = texts[i];
            d->mask = (uint8_t)(d->mask | (1u << i));
        }
    if (nt > 0) {
        f = mt_rbuild_fields(&c->b, nt);
        if (f == NULL)
            return oom(c);
        memcpy(f, texts, nt * sizeof(*f));
    }
    pol->det_count++;
    return 0;
}

static int
read_details(struct bld *c, int tok, size_t koff, struct mt_rpolicy *pol)
{
    pol->det_start = (uint32_t)c->b.r.ndet;
    if (tok == MT_JT_NULL)
        return warn(c, MTASTS_W_NULL_MEMBER, koff, key_names(K_DETAILS), NULL);
    if (tok == MT_JT_ERROR)
        return -1;
    if (tok != MT_JT_ARR)
        return fail(c, MTASTS_ESYNTAX, MT_R_JSON_TYPE, c->j.tok_off);
    for (tok = next(c), c->di = 0; tok != MT_JT_END_ARR; tok = next(c), c->di++)
        if (read_detail(c, tok, pol) != 0)
            return -1;
    c->di = NO_INDEX;
    return 0;
}

static int
read_summary(struct bld *c, int tok, struct mt_rpolicy *pol)
{
    uint32_t mask = 0;
    int k, r;

    if (expect_obj(c, tok) != 0)
        return -1;
    FOR_MEMBERS(c, tok)
    {
        k = key_id(&c->j, K_TOTAL_OK, K_TOTAL_FAIL);
        if ((r = take_member(c, &mask, k)) <= 0) {
            if (r < 0)
                return -1;
            continue;
        }
        if (take_count(c, next(c),
                       k == K_TOTAL_OK ? &pol->success : &pol->failure) != 0)
            return -1;
    }
    if (end_obj(c, tok) != 0)
        return -1;
    if (mask != ((1u << K_TOTAL_OK) | (1u << K_TOTAL_FAIL)))
        return fail(c, MTASTS_ESYNTAX, MT_R_JSON_MISSING, c->j.tok_off);
    return 0;
}

/* Microsoft packs all TLSA records into one policy-string element that
 * holds a JSON array of strings: unpack it (warning tlsa_packed). The
 * decoded records are shorter than their packed form, so they are written
 * over it in the pool. */
static int
unpack_tlsa(struct bld *c, struct mt_rpolicy *pol, size_t koff)
{
    struct mt_rstr s = c->b.fld[pol->ps_start];
    struct mt_json sub;
    uint32_t start = (uint32_t)c->b.r.nfld, count = 0, cur = s.off;
    char *copy;
    int tok, ok = 1;

    if (s.len < 2 || c->b.pool[s.off] != '[')
        return 0;
    copy = mt_alloc(c->b.ctx, s.len);
    if (copy == NULL)
        return fail(c, MTASTS_ENOMEM, MTASTS_R_NONE, 0);
    memcpy(copy, c->b.pool + s.off, s.len);
    mt_json_init(&sub, c->b.ctx, (const uint8_t *)copy, s.len);
    if (mt_json_next(&sub) != MT_JT_ARR)
        ok = 0;
    while (ok == 1 && (tok = mt_json_next(&sub)) != MT_JT_END_ARR) {
        struct mt_rstr e;
        if (tok != MT_JT_STR) {
            ok = 0;
            break;
        }
        /* "x" takes 3 bytes packed and 2 here: always fits */
        memcpy(c->b.pool + cur, sub.str, sub.slen);
        c->b.pool[cur + sub.slen] = 0;
        e.off = cur;
        e.len = (uint32_t)sub.slen;
        cur += (uint32_t)sub.slen + 1;
        if (mt_rbuild_field(&c->b, e) < 0) {
            ok = -1;
            break;
        }
        count++;
    }
    if (ok == 1 && (mt_json_next(&sub) != MT_JT_EOF || count == 0))
        ok = 0;
    if (sub.err == MTASTS_ENOMEM)
        ok = -1;
    mt_json_fini(&sub);
    if (ok != 1) {
        /* not a packed list: put the string back as it was */
        memcpy(c->b.pool + s.off, copy, s.len);
        c->b.pool[s.off + s.len] = 0;
        c->b.r.nfld = start;
    }
    mt_free(c->b.ctx, copy, s.len);
    if (ok < 0)
        return oom(c);
    if (ok == 0)
        return 0;
    pol->ps_start = start;
    pol->ps_count = count;
    return warn(c, MTASTS_W_TLSA_PACKED, koff, "policy",
                key_names(K_POLICY_STRING));
}

static int
read_policy(struct bld *c, int tok, struct mt_rpolicy *pol, size_t *ps_off)
{
    uint32_t mask = 0;
    int k, r;

    if (expect_obj(c, tok) != 0)
        return -1;
    FOR_MEMBERS(c, tok)
    {
        size_t koff = c->j.tok_off;
        k = key_id(&c->j, K_POLICY_TYPE, K_MX_HOST);
        if ((r = take_member(c, &mask, k)) <= 0) {
            if (r < 0)
                return -1;
            continue;
        }
        tok = next(c);
        switch (k) {
        case K_POLICY_TYPE:
            if (take_string(c, tok, &pol->type_text) != 0)
                return -1;
            break;
        case K_POLICY_DOMAIN:
            if (tok == MT_JT_NULL) {
                if (warn(c, MTASTS_W_NULL_MEMBER, koff, "policy",
                         key_names(k)) != 0)
                    return -1;
                break;
            }
            if (take_string(c, tok, &pol->domain) != 0 ||
                check_name(c, koff, c->j.tok_off, pol->domain, 0, "policy",
                           key_names(k)) != 0)
                return -1;
            break;
        case K_POLICY_STRING:
            *ps_off = koff;
            r = take_list(c, tok, MTASTS_W_POLICY_STRING_STRING, key_names(k),
                          0, &pol->ps_start, &pol->ps_count);
            if (r < 0)
                return -1;
            if (r > 0)
                pol->flags |= MT_POL_HAS_PS;
            break;
        default:
            r = take_list(c, tok, MTASTS_W_MX_HOST_STRING, key_names(k), 1,
                          &pol->mx_start, &pol->mx_count);
            if (r < 0)
                return -1;
            if (r > 0)
                pol->flags |= MT_POL_HAS_MX;
            break;
        }
    }
    if (end_obj(c, tok) != 0)
        return -1;
    if (!(mask & (1u << K_POLICY_TYPE)))
        return fail(c, MTASTS_ESYNTAX, MT_R_JSON_MISSING, c->j.tok_off);
    {
        const char *t = c->b.pool + pol->type_text.off;
        int ty;
        pol->type = MTASTS_POLICY_TYPE_UNKNOWN;
        for (ty = 1; ty <= 3; ty++)
            if (strlen(mt_policy_type_names[ty]) == pol->type_text.len &&
                memcmp(mt_policy_type_names[ty], t, pol->type_text.len) == 0)
                pol->type = (uint8_t)ty;
    }
    return 0;
}

static int
read_policies(struct bld *c, int tok)
{
    if (tok == MT_JT_ERROR)
        return -1;
    if (tok != MT_JT_ARR)
        return fail(c, MTASTS_ESYNTAX, MT_R_JSON_TYPE, c->j.tok_off);
    for (tok = next(c), c->pi = 0; tok != MT_JT_END_ARR;
         tok = next(c), c->pi++) {
        struct mt_rpolicy *pol;
        uint32_t mask = 0;
        size_t ps_off = 0, elem_off = c->j.tok_off;
        int k, r;
        size_t pidx;

        if (expect_obj(c, tok) != 0)
            return -1;
        pol = mt_rbuild_policy(&c->b);
        if (pol == NULL)
            return oom(c);
        pidx = c->b.r.npol - 1;
        pol->det_start = (uint32_t)c->b.r.ndet;
        FOR_MEMBERS(c, tok)
        {
            size_t koff = c->j.tok_off;
            k = key_id(&c->j, K_POLICY, K_DETAILS);
            if ((r = take_member(c, &mask, k)) <= 0) {
                if (r < 0)
                    return -1;
                continue;
            }
            /* the arrays may move while reading: index, not pointer */
            pol = &c->b.pol[pidx];
            if (k == K_POLICY) {
                struct mt_rpolicy tmp = *pol;
                if (read_policy(c, next(c), &tmp, &ps_off) != 0)
                    return -1;
                c->b.pol[pidx] = tmp;
            } else if (k == K_SUMMARY) {
                struct mt_rpolicy tmp = *pol;
                if (read_summary(c, next(c), &tmp) != 0)
                    return -1;
                c->b.pol[pidx] = tmp;
            } else {
                struct mt_rpolicy tmp = *pol;
                if (read_details(c, next(c), koff, &tmp) != 0)
                    return -1;
                c->b.pol[pidx] = tmp;
            }
        }
        if (end_obj(c, tok) != 0)
            return -1;
        if (!(mask & (1u << K_POLICY)) || !(mask & (1u << K_SUMMARY)))
            return fail(c, MTASTS_ESYNTAX, MT_R_JSON_MISSING, c->j.tok_off);
        pol = &c->b.pol[pidx];
        {
            struct mt_rpolicy tmp = *pol;
            if (tmp.domain.off == MT_RSTR_NONE &&
                warn(c, MTASTS_W_POLICY_DOMAIN_ABSENT, elem_off, "policy",
                     key_names(K_POLICY_DOMAIN)) != 0)
                return -1;
            if (tmp.type == MTASTS_POLICY_TYPE_STS &&
                !(tmp.flags & MT_POL_HAS_MX) &&
                warn(c, MTASTS_W_MX_HOST_ABSENT, elem_off, "policy",
                     key_names(K_MX_HOST)) != 0)
                return -1;
            if (tmp.type == MTASTS_POLICY_TYPE_TLSA && tmp.ps_count == 1 &&
                unpack_tlsa(c, &tmp, ps_off) != 0)
                return -1;
            c->b.pol[pidx] = tmp;
        }
    }
    c->pi = NO_INDEX;
    return 0;
}

static int
read_report(struct bld *c)
{
    uint32_t mask = 0;
    int tok, k, r;
    const uint32_t need = (1u << K_ORG) | (1u << K_DATE_RANGE) |
                          (1u << K_CONTACT) | (1u << K_REPORT_ID) |
                          (1u << K_POLICIES);

    if (expect_obj(c, next(c)) != 0)
        return -1;
    FOR_MEMBERS(c, tok)
    {
        size_t koff = c->j.tok_off;
        k = key_id(&c->j, K_ORG, K_POLICIES);
        if ((r = take_member(c, &mask, k)) <= 0) {
            if (r < 0)
                return -1;
            continue;
        }
        tok = next(c);
        switch (k) {
        case K_ORG:
            if (take_string(c, tok, &c->b.r.org) != 0)
                return -1;
            break;
        case K_DATE_RANGE:
            if (read_date_range(c, tok) != 0)
                return -1;
            break;
        case K_CONTACT:
            if (tok == MT_JT_NULL) {
                if (warn(c, MTASTS_W_CONTACT_NULL, koff, NULL, key_names(k)) !=
                    0)
                    return -1;
                break;
            }
            if (take_string(c, tok, &c->b.r.contact) != 0)
                return -1;
            break;
        case K_REPORT_ID:
            if (take_string(c, tok, &c->b.r.report_id) != 0)
                return -1;
            break;
        default:
            if (read_policies(c, tok) != 0)
                return -1;
            break;
        }
    }
    if (end_obj(c, tok) != 0)
        return -1;
    if ((mask & need) != need)
        return fail(c, MTASTS_ESYNTAX, MT_R_JSON_MISSING, c->j.tok_off);
    tok = next(c);
    if (tok != MT_JT_EOF)
        return -1;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Parse                                                               */
/* ------------------------------------------------------------------ */

static int
parse_json(mtasts_ctx *ctx, const uint8_t *buf, size_t len, unsigned flags,
           mtasts_tlsrpt_report **ret_report, struct mtasts_diag *reterr)
{
    struct bld c;
    int rc;
    size_t skip = 0;
    union {
        int64_t align;
        char bytes[MT_RBUILD_LOCAL];
    } local;

    if (len > ctx->limits[MTASTS_LIMIT_JSON_SIZE]) {
        mt_diag_fail(reterr, MTASTS_ETOOBIG, MTASTS_R_TOO_BIG,
                     ctx->limits[MTASTS_LIMIT_JSON_SIZE], NULL, 0);
        return MTASTS_ETOOBIG;
    }
    memset(&c, 0, sizeof(c));
    c.flags = flags;
    c.strict = (flags & MTASTS_PARSE_F_STRICT) != 0;
    c.pi = c.di = NO_INDEX;
    /* a small report is built on the stack and copied into one block */
    if (len <= MT_RBUILD_LOCAL)
        mt_rbuild_init_local(&c.b, ctx, local.bytes);
    else
        mt_rbuild_init(&c.b, ctx, len);
    if (c.b.oom) {
        mt_rbuild_fini(&c.b);
        return mt_nomem(reterr);
    }
    /* RFC 8259 8.1: a parser may ignore a byte order mark */
    if (len >= 3 && buf[0] == 0xEF && buf[1] == 0xBB && buf[2] == 0xBF)
        skip = 3;
    /* an empty input may come as NULL: no arithmetic on it */
    mt_json_init(&c.j, ctx, buf != NULL ? buf + skip : (const uint8_t *)"",
                 len - skip);
    rc = 0;
    if (skip != 0 && warn(&c, MTASTS_W_BOM, 0, NULL, NULL) != 0)
        rc = -1;
    if (rc == 0)
        rc = read_report(&c);
    if (rc == 0)
        rc = mt_rbuild_finish(&c.b, ret_report);
    else
        rc = c.j.err != 0 ? c.j.err : MTASTS_ESYNTAX;
    if (rc == MTASTS_OK) {
        (*ret_report)->warnings = c.warnings;
        mt_diag_ok(reterr, c.warnings, c.woff + skip);
    } else if (rc == MTASTS_ENOMEM) {
        mt_nomem(reterr);
    } else {
        size_t off = c.j.err != 0 ? c.j.err_off + skip : 0;
        if (c.j.err == MTASTS_ESTRICT && skip != 0 && c.j.err_off == 0 &&
            c.warnings == 0)
            off = 0; /* the BOM itself */
        mt_diag_fail(reterr, rc, c.j.err != 0 ? c.j.reason : MTASTS_R_TOO_BIG,
                     off, (const char *)buf, len);
        /* strict: which tolerance was refused */
        if (rc == MTASTS_ESTRICT && reterr != NULL)
            reterr->warnings = MTASTS_WARN_BIT(c.refused);
    }
    mt_json_fini(&c.j);
    mt_rbuild_fini(&c.b);
    return rc;
}

int
mtasts_tlsrpt_report_parse(mtasts_ctx *ctx, const uint8_t *buf, size_t len,
                           unsigned flags, mtasts_tlsrpt_report **ret_report,
                           struct mtasts_diag *reterr)
{
    int rc;

    if (ret_report != NULL)
        *ret_report = NULL;
    rc = mt_diag_check(reterr);
    if (rc != MTASTS_OK)
        return rc;
    if (ctx == NULL || ret_report == NULL || (buf == NULL && len > 0) ||
        (flags & ~(unsigned)(MTASTS_PARSE_F_STRICT | MTASTS_PARSE_F_NO_GZIP)) !=
            0) {
        mt_diag_fail(reterr, MTASTS_EINVAL, MTASTS_R_NONE, 0, NULL, 0);
        return MTASTS_EINVAL;
    }
    if (len >= 2 && buf[0] == 0x1f && buf[1] == 0x8b &&
        !(flags & MTASTS_PARSE_F_NO_GZIP)) {
        mtasts_buf *plain = NULL;
        const uint8_t *d;
        size_t n;
        rc = mtasts_gunzip(ctx, buf, len, ctx->limits[MTASTS_LIMIT_GUNZIP_SIZE],
                           &plain, reterr);
        if (rc != MTASTS_OK)
            return rc;
        d = mtasts_buf_data(plain, &n);
        rc = parse_json(ctx, d, n, flags, ret_report, reterr);
        mtasts_buf_free(plain);
        return rc;
    }
    return parse_json(ctx, buf, len, flags, ret_report, reterr);
}
