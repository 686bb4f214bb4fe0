/* strbuf.h — a growing string for the runtime's text and HTML output (summaries, tables,
 * reports, figure descriptions). Internal to libcairn: not part of cairn.h, cells never
 * see it; runtime sources include it as "../core/strbuf.h".
 *
 * Start with `strbuf b = {0};` and append. On an allocation failure the buffer is freed,
 * `s` becomes NULL and `failed` is set; later appends do nothing. So a caller never sees a
 * silently truncated text: it checks `s` (or `failed`) once at the end. The caller owns
 * `s` and releases it with free(). */
#ifndef CAIRN_STRBUF_H
#define CAIRN_STRBUF_H

#include <stddef.h>

typedef struct strbuf {
    char *s;    /* NUL-terminated text, NULL while empty or after a failure */
    size_t len; /* bytes of text, without the NUL */
    size_t cap;
    int failed; /* an allocation failed: s is NULL and stays so */
} strbuf;

/** Append n bytes of text. */
void strbuf_add(strbuf *b, const char *text, size_t n);

/** Append a NUL-terminated string. */
void strbuf_puts(strbuf *b, const char *text);

/** Append printf-formatted text, of any length. */
void strbuf_printf(strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/** Append text with HTML's special characters (< > & ") escaped; NULL appends nothing. */
void strbuf_html(strbuf *b, const char *text);

#endif
