/* worker_io.c — each rank reads its own rows of a file: NumPy .npy (C order) or IDX
 * (plain or gzip, as Fashion-MNIST ships). Rank 0 reads the header and broadcasts the
 * shape; then every rank opens the file itself, seeks to its first row (gzseek
 * decompresses up to it) and converts only its rows, so the data never passes through
 * rank 0 or the driver. On a real cluster the path must be visible to every rank. */
#include "worker.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

enum { T_U8, T_I8, T_I16, T_U16, T_I32, T_U32, T_I64, T_F32, T_F64 };

typedef struct layout {
    int ok;
    int64_t rows, cols;
    int type, size, big_endian;
    int64_t offset; /* first data byte */
} layout;

static int npy_header(const char *path, layout *L, char *err, size_t errsize)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errsize, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    unsigned char pre[12];
    if (fread(pre, 1, 10, f) != 10 || memcmp(pre, "\x93NUMPY", 6) != 0) {
        fclose(f);
        snprintf(err, errsize, "%s is not a .npy file", path);
        return -1;
    }
    uint32_t hlen;
    int64_t start;
    if (pre[6] == 1) {
        hlen = (uint32_t)pre[8] | (uint32_t)pre[9] << 8;
        start = 10;
    } else {
        if (fread(pre + 10, 1, 2, f) != 2) {
            fclose(f);
            snprintf(err, errsize, "%s: truncated header", path);
            return -1;
        }
        hlen = (uint32_t)pre[8] | (uint32_t)pre[9] << 8 | (uint32_t)pre[10] << 16 | (uint32_t)pre[11] << 24;
        start = 12;
    }
    char *h = calloc(1, (size_t)hlen + 1);
    if (!h || fread(h, 1, hlen, f) != hlen) {
        free(h);
        fclose(f);
        snprintf(err, errsize, "%s: truncated header", path);
        return -1;
    }
    fclose(f);
    L->offset = start + hlen;
    const char *d = strstr(h, "'descr'"), *fo = strstr(h, "'fortran_order'"), *sh = strstr(h, "'shape'");
    int rc = -1;
    if (!d || !fo || !sh) {
        snprintf(err, errsize, "%s: header without descr, fortran_order or shape", path);
        goto done;
    }
    d = strchr(d + 7, '\'');
    char descr[16] = "";
    if (d)
        sscanf(d + 1, "%15[^']", descr);
    if (strstr(fo, "True")) {
        snprintf(err, errsize, "%s is in Fortran order; save it in C order (np.ascontiguousarray)", path);
        goto done;
    }
    L->big_endian = descr[0] == '>';
    const char *t = descr + (descr[0] == '<' || descr[0] == '>' || descr[0] == '|' || descr[0] == '=');
    static const struct { const char *name; int type, size; } types[] = {
        {"u1", T_U8, 1}, {"i1", T_I8, 1}, {"b1", T_U8, 1}, {"i2", T_I16, 2}, {"u2", T_U16, 2},
        {"i4", T_I32, 4}, {"u4", T_U32, 4}, {"i8", T_I64, 8}, {"f4", T_F32, 4}, {"f8", T_F64, 8},
    };
    L->size = 0;
    for (size_t k = 0; k < sizeof types / sizeof types[0]; k++)
        if (strcmp(t, types[k].name) == 0) {
            L->type = types[k].type;
            L->size = types[k].size;
        }
    if (!L->size) {
        snprintf(err, errsize, "%s: dtype '%s' is not supported (numbers only)", path, descr);
        goto done;
    }
    const char *p = strchr(sh, '(');
    int64_t dims[8];
    int nd = 0;
    while (p && *p && *p != ')' && nd < 8) {
        p++;
        while (*p == ' ')
            p++;
        if (isdigit((unsigned char)*p)) {
            dims[nd++] = strtoll(p, (char **)&p, 10);
            while (*p == ' ')
                p++;
        }
        if (*p != ',')
            break;
    }
    if (nd == 0) {
        snprintf(err, errsize, "%s holds a scalar, not rows", path);
        goto done;
    }
    L->rows = dims[0];
    L->cols = 1;
    for (int k = 1; k < nd; k++)
        L->cols *= dims[k];
    rc = 0;
done:
    free(h);
    return rc;
}

static int idx_header(const char *path, layout *L, char *err, size_t errsize)
{
    gzFile g = gzopen(path, "rb");
    if (!g) {
        snprintf(err, errsize, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    unsigned char h[4];
    if (gzread(g, h, 4) != 4 || h[0] != 0 || h[1] != 0 || h[3] < 1 || h[3] > 8) {
        gzclose(g);
        snprintf(err, errsize, "%s is not an IDX file", path);
        return -1;
    }
    static const struct { int code, type, size; } types[] = {
        {0x08, T_U8, 1}, {0x09, T_I8, 1}, {0x0B, T_I16, 2}, {0x0C, T_I32, 4}, {0x0D, T_F32, 4}, {0x0E, T_F64, 8},
    };
    L->size = 0;
    for (size_t k = 0; k < sizeof types / sizeof types[0]; k++)
        if (types[k].code == h[2]) {
            L->type = types[k].type;
            L->size = types[k].size;
        }
    if (!L->size) {
        gzclose(g);
        snprintf(err, errsize, "%s: unknown IDX type 0x%02x", path, h[2]);
        return -1;
    }
    L->big_endian = 1;
    L->cols = 1;
    for (int k = 0; k < h[3]; k++) {
        unsigned char b[4];
        if (gzread(g, b, 4) != 4) {
            gzclose(g);
            snprintf(err, errsize, "%s: truncated header", path);
            return -1;
        }
        int64_t dim = (int64_t)b[0] << 24 | (int64_t)b[1] << 16 | (int64_t)b[2] << 8 | b[3];
        if (k == 0)
            L->rows = dim;
        else
            L->cols *= dim;
    }
    L->offset = 4 + 4 * (int64_t)h[3];
    gzclose(g);
    return 0;
}

static double convert(const unsigned char *p, int type, int size, int big)
{
    unsigned char b[8];
    for (int k = 0; k < size; k++)
        b[k] = big ? p[size - 1 - k] : p[k];
    union { uint8_t u8; int8_t i8; int16_t i16; uint16_t u16; int32_t i32; uint32_t u32; int64_t i64; float f32; double f64; } v;
    memcpy(&v, b, (size_t)size);
    switch (type) {
    case T_U8: return v.u8;
    case T_I8: return v.i8;
    case T_I16: return v.i16;
    case T_U16: return v.u16;
    case T_I32: return v.i32;
    case T_U32: return v.u32;
    case T_I64: return (double)v.i64;
    case T_F32: return v.f32;
    default: return v.f64;
    }
}

int op_read(const dmat_msg *req, dmat_msg *rep)
{
    const char *path = req->text;
    int idx = req->h.i[0] == 1;
    layout L;
    memset(&L, 0, sizeof L);
    char err[2 * DMAT_MAX_TEXT + 256] = "";
    if (W.rank == 0)
        L.ok = (idx ? idx_header(path, &L, err, sizeof err) : npy_header(path, &L, err, sizeof err)) == 0;
    MPI_Bcast(&L, (int)sizeof L, MPI_BYTE, 0, W.comm);
    if (!L.ok) {
        if (W.rank == 0)
            w_fail("%s", err);
        w_agree();
        return -1;
    }
    if (L.rows < 1 || L.cols < 1 || L.rows > INT32_MAX || L.cols > INT32_MAX) {
        w_fail("%s: shape %lld x %lld cannot be a dmat", path, (long long)L.rows, (long long)L.cols);
        w_agree();
        return -1;
    }
    dobj *o = store_new((uint64_t)req->h.i[7], (int)L.rows, (int)L.cols);
    if (w_agree()) {
        store_free((uint64_t)req->h.i[7]);
        return -1;
    }
    size_t rowbytes = (size_t)L.cols * (size_t)L.size, chunk_rows = (1u << 22) / rowbytes + 1;
    unsigned char *buf = malloc(chunk_rows * rowbytes);
    int64_t at = L.offset + (int64_t)o->first * (int64_t)rowbytes;
    if (!buf) {
        w_fail("rank %d: out of memory", W.rank);
    } else if (idx) {
        gzFile g = gzopen(path, "rb");
        if (!g || gzbuffer(g, 1 << 17) != 0 || gzseek(g, (z_off_t)at, SEEK_SET) != (z_off_t)at) {
            w_fail("rank %d: cannot read %s from byte %lld", W.rank, path, (long long)at);
        } else {
            for (int i = 0; i < o->count && !W.failed;) {
                int n = (size_t)(o->count - i) < chunk_rows ? o->count - i : (int)chunk_rows;
                if (gzread(g, buf, (unsigned)((size_t)n * rowbytes)) != (int)((size_t)n * rowbytes)) {
                    w_fail("rank %d: %s ends before row %d", W.rank, path, o->first + i + n);
                    break;
                }
                for (size_t t = 0; t < (size_t)n * (size_t)L.cols; t++)
                    o->data[(size_t)i * L.cols + t] = convert(buf + t * L.size, L.type, L.size, 1);
                i += n;
            }
        }
        if (g)
            gzclose(g);
    } else {
        FILE *f = fopen(path, "rb");
        if (!f || fseeko(f, (off_t)at, SEEK_SET) != 0) {
            w_fail("rank %d: cannot read %s: %s", W.rank, path, strerror(errno));
        } else {
            for (int i = 0; i < o->count;) {
                int n = (size_t)(o->count - i) < chunk_rows ? o->count - i : (int)chunk_rows;
                if (fread(buf, rowbytes, (size_t)n, f) != (size_t)n) {
                    w_fail("rank %d: %s ends before row %d", W.rank, path, o->first + i + n);
                    break;
                }
                if (L.type == T_F64 && !L.big_endian)
                    memcpy(o->data + (size_t)i * L.cols, buf, (size_t)n * rowbytes);
                else
                    for (size_t t = 0; t < (size_t)n * (size_t)L.cols; t++)
                        o->data[(size_t)i * L.cols + t] = convert(buf + t * L.size, L.type, L.size, L.big_endian);
                i += n;
            }
        }
        if (f)
            fclose(f);
    }
    free(buf);
    if (w_agree()) {
        store_free(o->id);
        return -1;
    }
    w_created(rep, o);
    return 0;
}
