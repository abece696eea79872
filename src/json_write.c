/*
 * A small JSON writer into a growing mtasts_buf: compact or pretty (2-space
 * indentation, one element a line), strings escaped as RPT-JSON-21 says:
 * '"' and '\\' with a backslash, U+0000-U+001F as \b \t \n \f \r or \u00XX,
 * everything else (DEL and non-ASCII included) as is.
 */
#include "json.h"

/* The buffer interface of buf.c. These prototypes belong in internal.h;
 * they are repeated here until the lead moves them there. */

int
mt_jw_init(struct mt_jw *w, mtasts_ctx *ctx, size_t hint, int pretty)
{
    memset(w, 0, sizeof(*w));
    w->ctx = ctx;
    w->pretty = pretty;
    w->first = 1;
    if (hint < 64)
        hint = 64;
    w->buf = mt_buf_new(ctx, hint);
    if (w->buf == NULL)
        return MTASTS_ENOMEM;
    w->d = mt_buf_bytes(w->buf);
    w->cap = hint;
    return MTASTS_OK;
}

void
mt_jw_abort(struct mt_jw *w)
{
    mtasts_buf_free(w->buf);
    w->buf = NULL;
}

int
mt_jw_finish(struct mt_jw *w, mtasts_buf **ret)
{
    if (w->oom) {
        mt_jw_abort(w);
        return MTASTS_ENOMEM;
    }
    if (mt_buf_finish(&w->buf, w->len) != MTASTS_OK) {
        mt_jw_abort(w);
        return MTASTS_ENOMEM;
    }
    *ret = w->buf;
    w->buf = NULL;
    return MTASTS_OK;
}

/* Make room for n more bytes; 0 or -1 (w->oom set). */
static int
room(struct mt_jw *w, size_t n)
{
    size_t cap;

    if (w->oom)
        return -1;
    if (w->cap - w->len >= n)
        return 0;
    cap = w->cap;
    while (cap - w->len < n) {
        if (cap > SIZE_MAX / 2) {
            w->oom = 1;
            return -1;
        }
        cap *= 2;
    }
    if (mt_buf_reserve(&w->buf, cap) != MTASTS_OK) {
        w->oom = 1;
        return -1;
    }
    w->d = mt_buf_bytes(w->buf);
    w->cap = cap;
    return 0;
}

void
mt_jw_raw(struct mt_jw *w, const char *s, size_t n)
{
    if (room(w, n) != 0)
        return;
    memcpy(w->d + w->len, s, n);
    w->len += n;
}

static void
put1(struct mt_jw *w, char c)
{
    if (room(w, 1) != 0)
        return;
    w->d[w->len++] = (uint8_t)c;
}

static void
newline(struct mt_jw *w)
{
    size_t i;

    if (room(w, 1 + 2 * w->indent) != 0)
        return;
    w->d[w->len++] = '\n';
    for (i = 0; i < 2 * w->indent; i++)
        w->d[w->len++] = ' ';
}

/* Separator before a new element of the current container. */
static void
element(struct mt_jw *w)
{
    if (!w->first)
        put1(w, ',');
    if (w->pretty && w->indent > 0)
        newline(w);
    w->first = 0;
}

/* Start of a value: as an array element, or right after a key. */
static void
value(struct mt_jw *w)
{
    if (w->after_key) {
        w->after_key = 0;
        return;
    }
    element(w);
}

void
mt_jw_begin(struct mt_jw *w, char open)
{
    value(w);
    put1(w, open);
    w->indent++;
    w->first = 1;
}

void
mt_jw_end(struct mt_jw *w, char close)
{
    w->indent--;
    if (w->pretty && !w->first)
        newline(w);
    put1(w, close);
    w->first = 0;
}

void
mt_jw_key(struct mt_jw *w, const char *name, size_t len)
{
    element(w);
    put1(w, '"');
    mt_jw_escaped(w, name, len);
    if (w->pretty)
        mt_jw_raw(w, "\": ", 3);
    else
        mt_jw_raw(w, "\":", 2);
    w->after_key = 1; /* the value follows without a separator */
}

/* Start of a value: as an array element, or right after a key. */

static const char hexdig[] = "0123456789abcdef";

void
mt_jw_escaped(struct mt_jw *w, const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s, *e = p + len;

    /* worst case 6 bytes per input byte */
    if (len > (SIZE_MAX - 16) / 6) {
        w->oom = 1;
        return;
    }
    if (room(w, len * 6) != 0)
        return;
    while (p < e) {
        const unsigned char *r = p;
        uint8_t *o;
        while (p < e && *p >= 0x20 && *p != '"' && *p != '\\')
            p++;
        memcpy(w->d + w->len, r, (size_t)(p - r));
        w->len += (size_t)(p - r);
        if (p == e)
            break;
        o = w->d + w->len;
        *o++ = '\\';
        switch (*p) {
        case '"':
            *o++ = '"';
            break;
        case '\\':
            *o++ = '\\';
            break;
        case '\n':
            *o++ = 'n';
            break;
        case '\t':
            *o++ = 't';
            break;
        case '\r':
            *o++ = 'r';
            break;
        case '\b':
            *o++ = 'b';
            break;
        case '\f':
            *o++ = 'f';
            break;
        default:
            *o++ = 'u';
            *o++ = '0';
            *o++ = '0';
            *o++ = (uint8_t)hexdig[*p >> 4];
            *o++ = (uint8_t)hexdig[*p & 15];
            break;
        }
        w->len = (size_t)(o - w->d);
        p++;
    }
}

void
mt_jw_str(struct mt_jw *w, const char *s, size_t len)
{
    value(w);
    put1(w, '"');
    mt_jw_escaped(w, s, len);
    put1(w, '"');
}

void
mt_jw_raw_value(struct mt_jw *w, const char *s, size_t len)
{
    value(w);
    mt_jw_raw(w, s, len);
}

void
mt_jw_uint(struct mt_jw *w, uint64_t v)
{
    char tmp[24];
    size_t n = sizeof(tmp);

    do {
        tmp[--n] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    mt_jw_raw_value(w, tmp + n, sizeof(tmp) - n);
}
