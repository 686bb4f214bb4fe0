/* io_util.c — element types, byte order and careful file access shared by the readers.
 * Every failure message names the function, the path and the reason (strerror, or the
 * expected vs actual byte counts), because "could not read file" helps nobody. */
#include "io_internal.h"
#include "cairn/error.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int io_parse_dtype(const char *s, io_dtype *dt)
{
    if (!s)
        return -1;
    dt->big_endian = 0; /* x86-64 and ARM64 hosts: native order is little */
    if (*s == '<' || *s == '|' || *s == '=') {
        s++;
    } else if (*s == '>') {
        dt->big_endian = 1;
        s++;
    }
    if (strcmp(s, "?") == 0) {
        dt->kind = 'b';
        dt->size = 1;
        return 0;
    }
    if (s[0] == '\0' || !strchr("fiub", s[0]))
        return -1;
    dt->kind = s[0];
    char *end;
    long size = strtol(s + 1, &end, 10);
    if (*end != '\0')
        return -1;
    dt->size = (int)size;
    switch (dt->kind) {
    case 'f':
        return size == 4 || size == 8 ? 0 : -1;
    case 'b':
        return size == 1 ? 0 : -1;
    default:
        return size == 1 || size == 2 || size == 4 || size == 8 ? 0 : -1;
    }
}

static uint64_t load_bits(const unsigned char *p, int size, int big_endian)
{
    uint64_t v = 0;
    if (big_endian)
        for (int i = 0; i < size; i++)
            v = (v << 8) | p[i];
    else
        for (int i = size - 1; i >= 0; i--)
            v = (v << 8) | p[i];
    return v;
}

void io_convert(const void *src, io_dtype dt, size_t count, double *dst)
{
    const unsigned char *p = src;
    /* The common cases get tight loops; everything else goes through load_bits. */
    if (dt.kind == 'u' && dt.size == 1) {
        for (size_t i = 0; i < count; i++)
            dst[i] = p[i];
        return;
    }
    if (dt.kind == 'f' && dt.size == 8 && !dt.big_endian) {
        memcpy(dst, p, count * 8);
        return;
    }
    if (dt.kind == 'f' && dt.size == 4 && !dt.big_endian) {
        for (size_t i = 0; i < count; i++) {
            float f;
            memcpy(&f, p + 4 * i, 4);
            dst[i] = f;
        }
        return;
    }
    for (size_t i = 0; i < count; i++) {
        uint64_t v = load_bits(p + (size_t)dt.size * i, dt.size, dt.big_endian);
        double d;
        if (dt.kind == 'f' && dt.size == 8) {
            memcpy(&d, &v, 8);
        } else if (dt.kind == 'f') {
            uint32_t w = (uint32_t)v;
            float f;
            memcpy(&f, &w, 4);
            d = f;
        } else if (dt.kind == 'u' || dt.kind == 'b') {
            d = (double)v;
        } else { /* sign-extend from size bytes */
            int shift = 64 - 8 * dt.size;
            d = (double)((int64_t)(v << shift) >> shift);
        }
        dst[i] = d;
    }
}

FILE *io_open_read(const char *func, const char *path)
{
    if (!path) {
        cairn_error(func, "path is NULL");
        return NULL;
    }
    FILE *f = fopen(path, "rb");
    if (!f) {
        cairn_error(func, "cannot open '%s': %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
        cairn_error(func, "cannot read '%s': it is a directory", path);
        fclose(f);
        return NULL;
    }
    return f;
}

long long io_file_size(FILE *f)
{
    struct stat st;
    if (fstat(fileno(f), &st) != 0)
        return -1;
    return (long long)st.st_size;
}

int io_read_exact(const char *func, const char *path, FILE *f, void *buf, size_t n, const char *what)
{
    size_t got = fread(buf, 1, n, f);
    if (got == n)
        return 0;
    if (ferror(f))
        cairn_error(func, "error reading %s of '%s': %s", what, path, strerror(errno));
    else
        cairn_error(func, "'%s' is truncated: expected %zu bytes of %s, got %zu", path, n, what, got);
    return -1;
}

int io_close_write(const char *func, const char *path, FILE *f)
{
    int bad = fflush(f) != 0 || ferror(f);
    int err = errno;
    if (fclose(f) != 0 && !bad) {
        bad = 1;
        err = errno;
    }
    if (bad) {
        cairn_error(func, "error writing '%s': %s", path, strerror(err));
        return -1;
    }
    return 0;
}
