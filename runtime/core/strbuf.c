/* strbuf.c — the growing string of strbuf.h. Capacity doubles (from 256 bytes), so
 * building a text of n bytes costs O(n) copies however it is appended; printf output
 * is formatted straight into the buffer, and formatted again only when it did not fit. */
#include "strbuf.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Room for `more` bytes of text plus the NUL; 0 on success, -1 after a failure. */
static int reserve(strbuf *b, size_t more)
{
    if (b->failed)
        return -1;
    if (b->s && more < b->cap - b->len)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    char *s = NULL;
    if (more < SIZE_MAX / 4 - b->len) { /* else the doubling below would overflow */
        while (cap <= b->len + more)
            cap *= 2;
        s = realloc(b->s, cap);
    }
    if (!s) {
        free(b->s);
        *b = (strbuf){NULL, 0, 0, 1};
        return -1;
    }
    if (!b->s)
        s[0] = '\0';
    b->s = s;
    b->cap = cap;
    return 0;
}

void strbuf_add(strbuf *b, const char *text, size_t n)
{
    if (reserve(b, n) < 0)
        return;
    memcpy(b->s + b->len, text, n);
    b->len += n;
    b->s[b->len] = '\0';
}

void strbuf_puts(strbuf *b, const char *text) { strbuf_add(b, text, strlen(text)); }

void strbuf_printf(strbuf *b, const char *fmt, ...)
{
    if (reserve(b, 0) < 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    if (n < 0) { /* an encoding error: keep the text as it was */
        b->s[b->len] = '\0';
        return;
    }
    if (b->len + (size_t)n >= b->cap) { /* it did not fit: grow and format again */
        if (reserve(b, (size_t)n) < 0)
            return;
        va_start(ap, fmt);
        vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
    }
    b->len += (size_t)n;
}

void strbuf_html(strbuf *b, const char *text)
{
    for (const char *p = text; p && *p;) {
        size_t plain = strcspn(p, "<>&\"");
        strbuf_add(b, p, plain);
        p += plain;
        switch (*p) {
        case '<': strbuf_puts(b, "&lt;"); break;
        case '>': strbuf_puts(b, "&gt;"); break;
        case '&': strbuf_puts(b, "&amp;"); break;
        case '"': strbuf_puts(b, "&quot;"); break;
        default: continue; /* the end of the text */
        }
        p++;
    }
}
