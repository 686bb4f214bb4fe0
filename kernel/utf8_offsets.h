/* utf8_offsets.h — Jupyter counts cursor positions in code points, the cell model in
 * bytes: the two conversions the front and the executor both need. */
#ifndef CAIRN_UTF8_OFFSETS_H
#define CAIRN_UTF8_OFFSETS_H

#include <stddef.h>

/* Byte offset of code point `cp` in s (clamped to the string). */
static inline size_t utf8_byte_offset(const char *s, int cp)
{
    size_t i = 0;
    for (int n = 0; s[i] && n < cp; n++) {
        i++;
        while (((unsigned char)s[i] & 0xC0) == 0x80)
            i++;
    }
    return i;
}

/* Number of code points in the first `bytes` bytes of s. */
static inline int utf8_code_points(const char *s, size_t bytes)
{
    int n = 0;
    for (size_t i = 0; i < bytes && s[i]; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            n++;
    return n;
}

#endif
