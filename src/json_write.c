/*
 * A small JSON writer into a growing mtasts_buf: compact or pretty (2-space
 * indentation, one element a line), strings escaped as RPT-JSON-21 says:
 * '"' and '\\' with a backslash, U+0000-U+001F as \b \t \n \f \r or \u00XX,
 * everything else (DEL and non-ASCII included) as is.
 */
#include "json.h"

int
mt_jw_init(struct mt_jw *w, mtasts_ctx *ctx, size_t hint, int pretty)
{
    memset(w, 0, sizeof(*w));
    w->ctx = ctx;
    w->pretty = pretty;
    w->first = 1;
    if (hint < 64)
        hint = 64;
    return mt_grow_init(&w->out, ctx, hint);
}

void
mt_jw_abort(struct mt_jw *w)
{
    mt_grow_abort(&w->out);
}

int
mt_jw_finish(struct mt_jw *w, mtasts_buf **ret)
{
    return mt_grow_finish(&w->out, ret);
}

void
mt_jw_raw(struct mt_jw *w, const char *s, size_t n)
{
    mt_grow_put(&w->out, s, n);
}

static void
put1(struct mt_jw *w, char c)
{
    if (mt_grow_room(&w->out, 1) != 0)
        return;
    w->out.d[w->out.len++] = (uint8_t)c;
}

static void
newline(struct mt_jw *w)
{
    size_t i;

    if (mt_grow_room(&w->out, 1 + 2 * w->indent) != 0)
        return;
    w->out.d[w->out.len++] = '\n';
    for (i = 0; i < 2 * w->indent; i++)
        w->out.d[w->out.len++] = ' ';
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
        w->out.oom = 1;
        return;
    }
    if (mt_grow_room(&w->out, len * 6) != 0)
        return;
    while (p < e) {
        const unsigned char *r = p;
        uint8_t *o;
        while (p < e && *p >= 0x20 && *p != '"' && *p != '\\')
            p++;
        memcpy(w->out.d + w->out.len, r, (size_t)(p - r));
        w->out.len += (size_t)(p - r);
        if (p == e)
            break;
        o = w->out.d + w->out.len;
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
        w->out.len = (size_t)(o - w->out.d);
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
