/* npy.c — NumPy's .npy format, so matrices move to and from Python unchanged.
 *
 * Format (numpy.lib.format): magic "\x93NUMPY", major and minor version, a header length
 * (2 bytes little-endian in v1, 4 bytes in v2/v3), then an ASCII Python dict literal
 * {'descr': '<f8', 'fortran_order': False, 'shape': (r, c), } padded with spaces to a
 * 64-byte boundary and ended by '\n', then the raw elements. The reader accepts every
 * numeric descr and both orders; the writer emits v1 '<f8' C order, which every NumPy
 * reads. Shapes: () -> 1 x 1, (n,) -> n x 1, (r, c) -> r x c, (N, H, W) -> N x H*W
 * images with shape (1, H, W), (N, C, H, W) -> N x C*H*W with shape (C, H, W). */
#include "cairn/io.h"
#include "cairn/alloc.h"
#include "cairn/error.h"
#include "io_internal.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define NPY_MAX_DIMS 8

/* The value text after 'key': in the header dict, or NULL. */
static const char *dict_value(const char *hdr, const char *key)
{
    char pat[32];
    snprintf(pat, sizeof pat, "'%s'", key);
    const char *p = strstr(hdr, pat);
    if (!p) {
        snprintf(pat, sizeof pat, "\"%s\"", key);
        p = strstr(hdr, pat);
    }
    if (!p)
        return NULL;
    p += strlen(pat);
    while (*p == ' ')
        p++;
    if (*p != ':')
        return NULL;
    p++;
    while (*p == ' ')
        p++;
    return p;
}

/* Parse the header dict; fills descr, fortran order and shape. 0 or -1 (reported). */
static int parse_header(const char *func, const char *path, const char *hdr, io_dtype *dt, int *fortran,
                        long long *shape, int *ndim)
{
    const char *d = dict_value(hdr, "descr");
    if (!d || (*d != '\'' && *d != '"')) {
        cairn_error(func, "'%s': header has no simple 'descr' (structured arrays are not supported): %s", path, hdr);
        return -1;
    }
    char q = *d++;
    char descr[16];
    size_t n = 0;
    while (d[n] && d[n] != q && n < sizeof descr - 1) {
        descr[n] = d[n];
        n++;
    }
    descr[n] = '\0';
    if (io_parse_dtype(descr, dt) < 0) {
        cairn_error(func, "'%s': unsupported dtype '%s' (numbers and bool only)", path, descr);
        return -1;
    }
    const char *fo = dict_value(hdr, "fortran_order");
    if (!fo || (strncmp(fo, "True", 4) != 0 && strncmp(fo, "False", 5) != 0)) {
        cairn_error(func, "'%s': header has no fortran_order True/False: %s", path, hdr);
        return -1;
    }
    *fortran = fo[0] == 'T';
    const char *s = dict_value(hdr, "shape");
    if (!s || *s != '(') {
        cairn_error(func, "'%s': header has no shape tuple: %s", path, hdr);
        return -1;
    }
    s++;
    *ndim = 0;
    for (;;) {
        while (*s == ' ' || *s == ',')
            s++;
        if (*s == ')')
            break;
        char *end;
        errno = 0;
        long long v = strtoll(s, &end, 10);
        if (end == s || v < 0 || errno) {
            cairn_error(func, "'%s': malformed shape in header: %s", path, hdr);
            return -1;
        }
        if (*ndim == NPY_MAX_DIMS) {
            cairn_error(func, "'%s': more than %d dimensions", path, NPY_MAX_DIMS);
            return -1;
        }
        shape[(*ndim)++] = v;
        s = end;
        while (*s == 'L' || *s == ' ')
            s++;
    }
    return 0;
}

mat npy_read(const char *path)
{
    const char *func = "npy_read";
    FILE *f = io_open_read(func, path);
    if (!f)
        return mat_empty();
    mat out = mat_empty();
    char *hdr = NULL;
    unsigned char *raw = NULL;
    unsigned char pre[12];
    long long fsize = io_file_size(f);
    if (io_read_exact(func, path, f, pre, 10, "the .npy preamble") < 0)
        goto done;
    if (memcmp(pre, "\x93NUMPY", 6) != 0) {
        cairn_error(func, "'%s' is not a .npy file: bad magic %02x %02x %02x %02x %02x %02x (expected \\x93NUMPY)",
                    path, pre[0], pre[1], pre[2], pre[3], pre[4], pre[5]);
        goto done;
    }
    int major = pre[6];
    size_t hlen, pre_len;
    if (major == 1) {
        hlen = (size_t)pre[8] | (size_t)pre[9] << 8;
        pre_len = 10;
    } else if (major == 2 || major == 3) {
        if (io_read_exact(func, path, f, pre + 10, 2, "the .npy preamble") < 0)
            goto done;
        hlen = (size_t)pre[8] | (size_t)pre[9] << 8 | (size_t)pre[10] << 16 | (size_t)pre[11] << 24;
        pre_len = 12;
    } else {
        cairn_error(func, "'%s': unsupported .npy format version %d.%d", path, pre[6], pre[7]);
        goto done;
    }
    if (hlen > (1u << 24)) {
        cairn_error(func, "'%s': implausible header length %zu", path, hlen);
        goto done;
    }
    hdr = malloc(hlen + 1);
    if (!hdr) {
        cairn_error(func, "out of memory reading '%s'", path);
        goto done;
    }
    if (io_read_exact(func, path, f, hdr, hlen, "the .npy header") < 0)
        goto done;
    hdr[hlen] = '\0';
    io_dtype dt;
    int fortran, ndim;
    long long shape[NPY_MAX_DIMS];
    if (parse_header(func, path, hdr, &dt, &fortran, shape, &ndim) < 0)
        goto done;

    long long rows = 1, cols = 1;
    int ch = 0, h = 0, w = 0;
    if (ndim >= 1)
        rows = shape[0];
    for (int i = 1; i < ndim; i++) {
        if (shape[i] != 0 && cols > LLONG_MAX / shape[i])
            cols = LLONG_MAX;
        else
            cols *= shape[i];
    }
    if (ndim == 3) {
        ch = 1;
        h = (int)shape[1];
        w = (int)shape[2];
    } else if (ndim == 4) {
        ch = (int)shape[1];
        h = (int)shape[2];
        w = (int)shape[3];
    } else if (ndim > 4) {
        cairn_error(func, "'%s': %d-dimensional arrays are not supported (at most 4: N, C, H, W)", path, ndim);
        goto done;
    }
    if (rows > INT_MAX || cols > INT_MAX || rows * cols > (long long)(SIZE_MAX / 16)) {
        cairn_error(func, "'%s': array of %lld x %lld elements is too large", path, rows, cols);
        goto done;
    }
    size_t count = (size_t)rows * (size_t)cols;
    size_t bytes = count * (size_t)dt.size;
    long long have = fsize - (long long)(pre_len + hlen);
    if (have < (long long)bytes) {
        cairn_error(func, "'%s' is truncated: %lld x %lld elements of %c%d need %zu bytes of data, the file holds %lld",
                    path, rows, cols, dt.kind, dt.size, bytes, have < 0 ? 0 : have);
        goto done;
    }
    if (rows == 0 || cols == 0) {
        out = mat_empty();
        out.rows = (int)rows;
        out.cols = (int)cols;
        out.stride = (int)cols;
        goto done;
    }
    out = mat_alloc((int)rows, (int)cols);
    if (mat_is_empty(out))
        goto done;
    int direct = !fortran || ndim < 2;
    if (direct && dt.kind == 'f' && dt.size == 8 && !dt.big_endian) {
        if (io_read_exact(func, path, f, out.data, bytes, "array data") < 0)
            mat_free(&out);
        goto shape;
    }
    raw = malloc(bytes);
    if (!raw) {
        cairn_error(func, "out of memory reading '%s' (%zu bytes)", path, bytes);
        mat_free(&out);
        goto done;
    }
    if (io_read_exact(func, path, f, raw, bytes, "array data") < 0) {
        mat_free(&out);
        goto done;
    }
    if (direct) {
        io_convert(raw, dt, count, out.data);
    } else {
        /* Fortran order: the first index varies fastest. Walk the file in its order with
         * a multi-index and place each element at its C-order position. */
        long long idx[NPY_MAX_DIMS] = {0};
        long long cstride[NPY_MAX_DIMS];
        cstride[ndim - 1] = 1;
        for (int d = ndim - 2; d >= 0; d--)
            cstride[d] = cstride[d + 1] * shape[d + 1];
        for (size_t e = 0; e < count; e++) {
            long long pos = 0;
            for (int d = 0; d < ndim; d++)
                pos += idx[d] * cstride[d];
            io_convert(raw + e * (size_t)dt.size, dt, 1, out.data + pos);
            for (int d = 0; d < ndim && ++idx[d] == shape[d]; d++)
                idx[d] = 0;
        }
    }
shape:
    if (!mat_is_empty(out)) {
        out.channels = ch;
        out.height = h;
        out.width = w;
    }
done:
    free(hdr);
    free(raw);
    fclose(f);
    return out;
}

int npy_write(const char *path, mat A)
{
    const char *func = "npy_write";
    if (!path) {
        cairn_error(func, "path is NULL");
        return -1;
    }
    if (A.rows < 0 || A.cols < 0 || (A.rows * (long long)A.cols > 0 && !A.data)) {
        cairn_error(func, "cannot write an invalid %d x %d matrix to '%s'", A.rows, A.cols, path);
        return -1;
    }
    char dict[256];
    int image = A.channels > 0 && A.height > 0 && A.width > 0 &&
                (long long)A.channels * A.height * A.width == A.cols;
    if (image && A.channels == 1)
        snprintf(dict, sizeof dict, "{'descr': '<f8', 'fortran_order': False, 'shape': (%d, %d, %d), }", A.rows,
                 A.height, A.width);
    else if (image)
        snprintf(dict, sizeof dict, "{'descr': '<f8', 'fortran_order': False, 'shape': (%d, %d, %d, %d), }",
                 A.rows, A.channels, A.height, A.width);
    else
        snprintf(dict, sizeof dict, "{'descr': '<f8', 'fortran_order': False, 'shape': (%d, %d), }", A.rows,
                 A.cols);
    /* Pad with spaces so magic + lengths + dict + '\n' is a multiple of 64 (NumPy's alignment). */
    size_t dlen = strlen(dict);
    size_t total = (10 + dlen + 1 + 63) / 64 * 64;
    size_t hlen = total - 10;
    FILE *f = fopen(path, "wb");
    if (!f) {
        cairn_error(func, "cannot open '%s' for writing: %s", path, strerror(errno));
        return -1;
    }
    unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(hlen & 0xff),
                             (unsigned char)(hlen >> 8)};
    fwrite(pre, 1, sizeof pre, f);
    fwrite(dict, 1, dlen, f);
    for (size_t i = dlen; i < hlen - 1; i++)
        fputc(' ', f);
    fputc('\n', f);
    for (int i = 0; i < A.rows; i++)
        fwrite(mat_ptr(A, i, 0), sizeof(double), (size_t)A.cols, f);
    return io_close_write(func, path, f);
}
