/* Text output of the mtasts tool for a human reader (text.c). */
#ifndef MTASTS_TOOL_TEXT_H
#define MTASTS_TOOL_TEXT_H

#include <stddef.h>
#include <stdio.h>

/* Length of the UTF-8 sequence (RFC 3629: shortest form, no surrogates,
 * at most U+10FFFF) at s[i], i < len; 0 when it is malformed. */
size_t text_utf8_len(const unsigned char *s, size_t len, size_t i);

/* Write s[0..n) to f escaped, so that no byte of it can act on a terminal
 * or forge a line (mtasts(1), TEXT OUTPUT):
 *   \  -> \\        LF, CR, TAB -> \n, \r, \t
 *   other C0 controls (NUL included), DEL, C1 controls (U+0080..U+009F),
 *   U+2028, U+2029 and the bidirectional controls U+061C, U+200E,
 *   U+200F, U+202A..U+202E, U+2066..U+2069 -> \uXXXX (4 lower-case hex)
 *   a byte that is not part of well-formed UTF-8 -> \xHH
 * Everything else (printable ASCII, other UTF-8) is written as is. Every
 * string that comes from input reaches text output through this. */
void text_put(FILE *f, const char *s, size_t n);

/* text_put() of a NUL-terminated string: only for strings that cannot
 * hold a NUL (command-line arguments). */
void text_puts(FILE *f, const char *s);

/* "label: " then text_put(s, n) then a newline. */
void text_field(FILE *f, const char *label, const char *s, size_t n);

#endif
