/*
 * Text output of the mtasts tool for a human reader: strings from input
 * (policy fields, report members, host names, file names) are escaped so
 * that a control character shows as an escape instead of acting on the
 * terminal or starting a line of its own, and an embedded NUL shows as
 * \u0000 instead of cutting the string short. The --json output escapes
 * as JSON does (json_str() in tool.c).
 */
#include <string.h>

#include "text.h"

size_t
text_utf8_len(const unsigned char *s, size_t len, size_t i)
{
    unsigned char c = s[i], lo = 0x80, hi = 0xBF;
    size_t n, k;

    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        n = 2;
    else if (c >= 0xE0 && c <= 0xEF)
        n = 3;
    else if (c >= 0xF0 && c <= 0xF4)
        n = 4;
    else
        return 0;
    if (c == 0xE0)
        lo = 0xA0;
    else if (c == 0xED)
        hi = 0x9F;
    else if (c == 0xF0)
        lo = 0x90;
    else if (c == 0xF4)
        hi = 0x8F;
    if (len - i < n || s[i + 1] < lo || s[i + 1] > hi)
        return 0;
    for (k = 2; k < n; k++)
        if (s[i + k] < 0x80 || s[i + k] > 0xBF)
            return 0;
    return n;
}

/* The code point of the well-formed sequence of k bytes at s. */
static unsigned long
code_point(const unsigned char *s, size_t k)
{
    unsigned long cp = k == 1   ? s[0]
                       : k == 2 ? s[0] & 0x1Fu
                       : k == 3 ? s[0] & 0x0Fu
                                : s[0] & 0x07u;
    size_t j;

    for (j = 1; j < k; j++)
        cp = cp << 6 | (s[j] & 0x3Fu);
    return cp;
}

/* Code points written as \uXXXX: controls, and the characters that start
 * a line or reorder the text around them when displayed. */
static int
escaped(unsigned long cp)
{
    return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || cp == 0x061C ||
           cp == 0x200E || cp == 0x200F || (cp >= 0x2028 && cp <= 0x202E) ||
           (cp >= 0x2066 && cp <= 0x2069);
}

void
text_put(FILE *f, const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    unsigned long cp;
    size_t i = 0, k;

    while (i < n) {
        k = text_utf8_len(u, n, i);
        if (k == 0) {
            fprintf(f, "\\x%02x", u[i]);
            i++;
            continue;
        }
        cp = code_point(u + i, k);
        if (cp == '\\')
            fputs("\\\\", f);
        else if (cp == '\n')
            fputs("\\n", f);
        else if (cp == '\r')
            fputs("\\r", f);
        else if (cp == '\t')
            fputs("\\t", f);
        else if (escaped(cp))
            fprintf(f, "\\u%04lx", cp);
        else
            fwrite(u + i, 1, k, f);
        i += k;
    }
}

void
text_puts(FILE *f, const char *s)
{
    text_put(f, s, strlen(s));
}

void
text_field(FILE *f, const char *label, const char *s, size_t n)
{
    fputs(label, f);
    fputs(": ", f);
    text_put(f, s, n);
    fputc('\n', f);
}
