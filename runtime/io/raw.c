/* raw.c — headerless binary files: the shape and element type come from the caller, so
 * the one thing to check is that the file size agrees with them, exactly. */
#include "cairn/io.h"
#include "cairn/error.h"
#include "io_internal.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

mat raw_read(const char *path, int rows, int cols, const char *dtype)
{
    const char *func = "raw_read";
    io_dtype dt;
    if (io_parse_dtype(dtype ? dtype : "f8", &dt) < 0) {
        cairn_error(func, "unknown dtype '%s' for '%s' (use f8, f4, i1..i8, u1..u8, b1, with < or > for byte order)",
                    dtype, path ? path : "(null)");
        return mat_empty();
    }
    if (cols <= 0) {
        cairn_error(func, "cols must be positive, got %d (reading '%s')", cols, path ? path : "(null)");
        return mat_empty();
    }
    FILE *f = io_open_read(func, path);
    if (!f)
        return mat_empty();
    long long size = io_file_size(f);
    long long row_bytes = (long long)cols * dt.size;
    if (rows <= 0) {
        if (size % row_bytes != 0 || size == 0) {
            cairn_error(func, "'%s' holds %lld bytes, not a whole number of rows of %d x %d-byte elements", path,
                        size, cols, dt.size);
            fclose(f);
            return mat_empty();
        }
        if (size / row_bytes > INT_MAX) {
            cairn_error(func, "'%s' is too large (%lld rows)", path, size / row_bytes);
            fclose(f);
            return mat_empty();
        }
        rows = (int)(size / row_bytes);
    } else if (size != rows * row_bytes) {
        cairn_error(func, "'%s' holds %lld bytes but %d x %d elements of %d bytes need %lld%s", path, size, rows, cols,
                    dt.size, rows * row_bytes, size < rows * row_bytes ? " (truncated)" : "");
        fclose(f);
        return mat_empty();
    }
    mat out = mat_alloc(rows, cols);
    size_t count = (size_t)rows * (size_t)cols;
    int direct = dt.kind == 'f' && dt.size == 8 && !dt.big_endian;
    void *buf = direct ? NULL : malloc(count * (size_t)dt.size);
    if (mat_is_empty(out) || (!direct && !buf)) {
        cairn_error(func, "out of memory reading '%s' (%d x %d)", path, rows, cols);
        free(buf);
        mat_free(&out);
        fclose(f);
        return out;
    }
    int ok = io_read_exact(func, path, f, direct ? (void *)out.data : buf, count * (size_t)dt.size, "raw data") == 0;
    if (ok && !direct)
        io_convert(buf, dt, count, out.data);
    free(buf);
    if (!ok)
        mat_free(&out);
    fclose(f);
    return out;
}

int raw_write(const char *path, mat A)
{
    const char *func = "raw_write";
    if (!path) {
        cairn_error(func, "path is NULL");
        return -1;
    }
    if (A.rows < 0 || A.cols < 0 || (A.rows * (long long)A.cols > 0 && !A.data)) {
        cairn_error(func, "cannot write an invalid %d x %d matrix to '%s'", A.rows, A.cols, path);
        return -1;
    }
    FILE *f = fopen(path, "wb");
    if (!f) {
        cairn_error(func, "cannot open '%s' for writing: %s", path, strerror(errno));
        return -1;
    }
    for (int i = 0; i < A.rows; i++)
        fwrite(mat_ptr(A, i, 0), sizeof(double), (size_t)A.cols, f);
    return io_close_write(func, path, f);
}
