/* mat_create.c — making matrices, reaching their elements, views, copies, reshapes.
 *
 * Views are plain handles that point into another matrix's data with that matrix's
 * stride and no MAT_OWNS flag, so they cost nothing and mat_free on them releases
 * nothing. Everything that cannot be expressed with one stride (rows picked by an
 * index list, concatenation, transpose) makes a new owning matrix instead.
 * Every function checks its arguments and reports through cairn_error with its own
 * name and the shapes involved, then returns an empty matrix or -1. */
/* -O2's "very cheap" vectorizer skips loops that need a runtime aliasing check, which
 * is every loop here (inputs and outputs are separate pointers); the dynamic cost model
 * (what -O3 uses) vectorizes them. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("vect-cost-model=dynamic")
#endif
#include "cairn/mat.h"
#include "cairn/alloc.h"
#include "cairn/error.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* Reject matrices that are empty because an earlier call failed. */
static int check_nonempty(const char *func, mat m)
{
    if (mat_is_empty(m)) {
        cairn_error(func, "empty matrix (%dx%d): the input is missing or an earlier call failed", m.rows, m.cols);
        return -1;
    }
    return 0;
}

static mat new_matrix(const char *func, int rows, int cols)
{
    if (rows < 0 || cols < 0) {
        cairn_error(func, "negative shape %d x %d", rows, cols);
        return mat_empty();
    }
    return mat_alloc(rows, cols);
}

mat mat_full(int rows, int cols, double value)
{
    mat m = new_matrix("mat_full", rows, cols);
    if (m.data) {
        size_t n = (size_t)rows * (size_t)cols;
        for (size_t k = 0; k < n; k++)
            m.data[k] = value;
    }
    return m;
}

mat mat_ones(int rows, int cols)
{
    mat m = new_matrix("mat_ones", rows, cols);
    if (m.data) {
        size_t n = (size_t)rows * (size_t)cols;
        for (size_t k = 0; k < n; k++)
            m.data[k] = 1.0;
    }
    return m;
}

mat mat_eye(int n)
{
    if (n < 0) {
        cairn_error("mat_eye", "negative size %d", n);
        return mat_empty();
    }
    mat m = mat_zeros(n, n); /* mat_alloc does not promise zeros */
    for (int i = 0; m.data && i < n; i++)
        *mat_ptr(m, i, i) = 1.0;
    return m;
}

mat mat_from(int rows, int cols, const double *values)
{
    if (!values && (size_t)rows * (size_t)cols > 0) {
        cairn_error("mat_from", "values is NULL for a %d x %d matrix", rows, cols);
        return mat_empty();
    }
    mat m = new_matrix("mat_from", rows, cols);
    if (m.data)
        memcpy(m.data, values, (size_t)rows * (size_t)cols * sizeof(double));
    return m;
}

mat mat_from_list(int rows, int cols, const double *values, size_t count)
{
    if (rows < 0 || cols < 0) {
        cairn_error("MAT", "negative shape %d x %d", rows, cols);
        return mat_empty();
    }
    if ((size_t)rows * (size_t)cols != count) {
        cairn_error("MAT", "a %d x %d matrix needs %zu values, %zu were given", rows, cols,
                    (size_t)rows * (size_t)cols, count);
        return mat_empty();
    }
    return mat_from(rows, cols, values);
}

mat mat_linspace(double start, double stop, int n)
{
    if (n < 0 || !isfinite(start) || !isfinite(stop)) {
        cairn_error("mat_linspace", "needs finite ends and n >= 0 (got %g, %g, n = %d)", start, stop, n);
        return mat_empty();
    }
    mat m = mat_alloc(1, n);
    if (!m.data)
        return m;
    if (n == 1) {
        m.data[0] = start;
        return m;
    }
    /* start + k*step, with the last point set exactly so stop is included without drift. */
    double step = (stop - start) / (n - 1);
    for (int k = 0; k < n; k++)
        m.data[k] = start + k * step;
    m.data[n - 1] = stop;
    return m;
}

mat mat_arange(double start, double stop, double step)
{
    if (!isfinite(start) || !isfinite(stop) || !isfinite(step) || step == 0) {
        cairn_error("mat_arange", "needs finite start, stop and a nonzero step (got %g, %g, %g)", start, stop, step);
        return mat_empty();
    }
    double count = ceil((stop - start) / step);
    if (count <= 0)
        return mat_zeros(1, 0);
    if (count > 2e9) {
        cairn_error("mat_arange", "%g elements are too many", count);
        return mat_empty();
    }
    int n = (int)count;
    mat m = mat_alloc(1, n);
    for (int k = 0; m.data && k < n; k++)
        m.data[k] = start + k * step;
    return m;
}

/* Number of elements of a vector (1 x n or n x 1), or -1 when m is not one. */
static int vector_length(mat m) { return m.rows == 1 ? m.cols : m.cols == 1 ? m.rows : -1; }

/* k-th element of a vector of either orientation. */
static double vector_at(mat v, int k) { return v.rows == 1 ? v.data[k] : v.data[(size_t)k * (size_t)v.stride]; }

mat mat_diag(mat v)
{
    if (check_nonempty("mat_diag", v) < 0)
        return mat_empty();
    int n = vector_length(v);
    if (n < 0) {
        cairn_error("mat_diag", "needs a vector (1 x n or n x 1), got %dx%d; mat_diag_of takes the diagonal of a matrix",
                    v.rows, v.cols);
        return mat_empty();
    }
    mat m = mat_zeros(n, n);
    for (int k = 0; m.data && k < n; k++)
        *mat_ptr(m, k, k) = vector_at(v, k);
    return m;
}

mat mat_diag_of(mat m)
{
    if (check_nonempty("mat_diag_of", m) < 0)
        return mat_empty();
    int n = m.rows < m.cols ? m.rows : m.cols;
    mat d = mat_alloc(n, 1);
    for (int k = 0; d.data && k < n; k++)
        d.data[k] = *mat_ptr(m, k, k);
    return d;
}

static int check_index(const char *func, mat m, int i, int j)
{
    if (m.data == NULL || i < 0 || j < 0 || i >= m.rows || j >= m.cols) {
        cairn_error(func, "index (%d, %d) out of range for a %dx%d matrix", i, j, m.rows, m.cols);
        return -1;
    }
    return 0;
}

double mat_get(mat m, int i, int j)
{
    if (check_index("mat_get", m, i, j) < 0)
        return NAN;
    return *mat_ptr(m, i, j);
}

int mat_set(mat m, int i, int j, double value)
{
    if (check_index("mat_set", m, i, j) < 0)
        return -1;
    *mat_ptr(m, i, j) = value;
    return 0;
}

double *mat_at(mat m, int i, int j)
{
    if (check_index("mat_at", m, i, j) < 0)
        return NULL;
    return mat_ptr(m, i, j);
}

int mat_fill(mat m, double value)
{
    if (check_nonempty("mat_fill", m) < 0)
        return -1;
    for (int i = 0; i < m.rows; i++) {
        double *r = mat_ptr(m, i, 0);
        for (int j = 0; j < m.cols; j++)
            r[j] = value;
    }
    return 0;
}

/* A handle on part of m: same stride, no ownership, no image shape unless kept. */
static mat view_of(mat m, int row0, int col0, int rows, int cols)
{
    mat v = {0};
    v.data = mat_ptr(m, row0, col0);
    v.rows = rows;
    v.cols = cols;
    v.stride = m.stride;
    return v;
}

mat mat_row(mat m, int i)
{
    if (check_nonempty("mat_row", m) < 0)
        return mat_empty();
    if (i < 0 || i >= m.rows) {
        cairn_error("mat_row", "row %d out of range for a %dx%d matrix", i, m.rows, m.cols);
        return mat_empty();
    }
    mat v = view_of(m, i, 0, 1, m.cols);
    v.channels = m.channels;
    v.height = m.height;
    v.width = m.width;
    return v;
}

mat mat_col(mat m, int j)
{
    if (check_nonempty("mat_col", m) < 0)
        return mat_empty();
    if (j < 0 || j >= m.cols) {
        cairn_error("mat_col", "column %d out of range for a %dx%d matrix", j, m.rows, m.cols);
        return mat_empty();
    }
    return view_of(m, 0, j, m.rows, 1);
}

mat mat_row_range(mat m, int first, int count)
{
    if (check_nonempty("mat_row_range", m) < 0)
        return mat_empty();
    if (first < 0 || count <= 0 || first > m.rows - count) {
        cairn_error("mat_row_range", "rows %d..%d (count %d) out of range for a %dx%d matrix", first,
                    first + count - 1, count, m.rows, m.cols);
        return mat_empty();
    }
    mat v = view_of(m, first, 0, count, m.cols);
    v.channels = m.channels;
    v.height = m.height;
    v.width = m.width;
    return v;
}

mat mat_block(mat m, int row0, int col0, int nrows, int ncols)
{
    if (check_nonempty("mat_block", m) < 0)
        return mat_empty();
    if (row0 < 0 || col0 < 0 || nrows <= 0 || ncols <= 0 || row0 > m.rows - nrows || col0 > m.cols - ncols) {
        cairn_error("mat_block", "block at (%d, %d) of size %dx%d does not fit in a %dx%d matrix", row0, col0,
                    nrows, ncols, m.rows, m.cols);
        return mat_empty();
    }
    return view_of(m, row0, col0, nrows, ncols);
}

mat mat_reshape(mat m, int rows, int cols)
{
    if (check_nonempty("mat_reshape", m) < 0)
        return mat_empty();
    size_t n = (size_t)m.rows * (size_t)m.cols;
    if (rows == -1 && cols > 0 && n % (size_t)cols == 0)
        rows = (int)(n / (size_t)cols);
    else if (cols == -1 && rows > 0 && n % (size_t)rows == 0)
        cols = (int)(n / (size_t)rows);
    if (rows <= 0 || cols <= 0 || (size_t)rows * (size_t)cols != n) {
        cairn_error("mat_reshape", "cannot reshape a %dx%d matrix (%zu elements) to %d x %d", m.rows, m.cols, n,
                    rows, cols);
        return mat_empty();
    }
    if (!mat_is_contiguous(m)) {
        cairn_error("mat_reshape", "the %dx%d input is a view with stride %d, not contiguous; reshape mat_copy() of it",
                    m.rows, m.cols, m.stride);
        return mat_empty();
    }
    mat v = {0};
    v.data = m.data;
    v.rows = rows;
    v.cols = cols;
    v.stride = cols;
    if (m.channels && cols == m.cols) {
        v.channels = m.channels;
        v.height = m.height;
        v.width = m.width;
    }
    return v;
}

mat mat_rows_index(mat m, const int *idx, int n)
{
    if (check_nonempty("mat_rows_index", m) < 0)
        return mat_empty();
    if (!idx || n <= 0) {
        cairn_error("mat_rows_index", "needs a non-empty index list (got %d indices)", n);
        return mat_empty();
    }
    for (int k = 0; k < n; k++) {
        if (idx[k] < 0 || idx[k] >= m.rows) {
            cairn_error("mat_rows_index", "index %d (position %d) out of range for a %dx%d matrix", idx[k], k,
                        m.rows, m.cols);
            return mat_empty();
        }
    }
    mat r = mat_alloc(n, m.cols);
    if (!r.data)
        return r;
    for (int k = 0; k < n; k++)
        memcpy(mat_ptr(r, k, 0), mat_ptr(m, idx[k], 0), (size_t)m.cols * sizeof(double));
    r.channels = m.channels;
    r.height = m.height;
    r.width = m.width;
    return r;
}

mat mat_rows_where(mat m, mat mask)
{
    if (check_nonempty("mat_rows_where", m) < 0 || check_nonempty("mat_rows_where", mask) < 0)
        return mat_empty();
    if (vector_length(mask) != m.rows) {
        cairn_error("mat_rows_where", "mask is %dx%d but needs one value per row of the %dx%d matrix", mask.rows,
                    mask.cols, m.rows, m.cols);
        return mat_empty();
    }
    int kept = 0;
    for (int k = 0; k < m.rows; k++) {
        double v = vector_at(mask, k);
        if (v != v) {
            cairn_error("mat_rows_where", "mask value %d is NaN", k);
            return mat_empty();
        }
        kept += v != 0;
    }
    mat r = mat_zeros(kept, m.cols);
    for (int k = 0, i = 0; r.data && k < m.rows; k++)
        if (vector_at(mask, k) != 0)
            memcpy(mat_ptr(r, i++, 0), mat_ptr(m, k, 0), (size_t)m.cols * sizeof(double));
    r.channels = m.channels;
    r.height = m.height;
    r.width = m.width;
    return r;
}

mat mat_cols_index(mat m, const int *idx, int n)
{
    if (check_nonempty("mat_cols_index", m) < 0)
        return mat_empty();
    if (!idx || n <= 0) {
        cairn_error("mat_cols_index", "needs a non-empty index list (got %d indices)", n);
        return mat_empty();
    }
    for (int k = 0; k < n; k++) {
        if (idx[k] < 0 || idx[k] >= m.cols) {
            cairn_error("mat_cols_index", "index %d (position %d) out of range for a %dx%d matrix", idx[k], k,
                        m.rows, m.cols);
            return mat_empty();
        }
    }
    mat r = mat_alloc(m.rows, n);
    for (int i = 0; r.data && i < m.rows; i++) {
        const double *src = mat_ptr(m, i, 0);
        double *dst = mat_ptr(r, i, 0);
        for (int k = 0; k < n; k++)
            dst[k] = src[idx[k]];
    }
    return r;
}

/* Copy values row by row: one memcpy when both are contiguous. Shapes already match. */
static void copy_values(mat dst, mat src)
{
    if (mat_is_contiguous(dst) && mat_is_contiguous(src)) {
        memmove(dst.data, src.data, (size_t)src.rows * (size_t)src.cols * sizeof(double));
        return;
    }
    for (int i = 0; i < src.rows; i++)
        memmove(mat_ptr(dst, i, 0), mat_ptr(src, i, 0), (size_t)src.cols * sizeof(double));
}

mat mat_copy(mat m)
{
    if (check_nonempty("mat_copy", m) < 0)
        return mat_empty();
    mat r = mat_alloc(m.rows, m.cols);
    if (!r.data)
        return r;
    copy_values(r, m);
    r.channels = m.channels;
    r.height = m.height;
    r.width = m.width;
    return r;
}

int mat_copy_into(mat dst, mat src)
{
    if (check_nonempty("mat_copy_into", src) < 0 || check_nonempty("mat_copy_into", dst) < 0)
        return -1;
    if (dst.rows != src.rows || dst.cols != src.cols) {
        cairn_error("mat_copy_into", "shapes differ: dst is %dx%d, src is %dx%d", dst.rows, dst.cols, src.rows,
                    src.cols);
        return -1;
    }
    copy_values(dst, src);
    return 0;
}

mat mat_hcat(mat a, mat b)
{
    if (check_nonempty("mat_hcat", a) < 0 || check_nonempty("mat_hcat", b) < 0)
        return mat_empty();
    if (a.rows != b.rows) {
        cairn_error("mat_hcat", "row counts differ: a is %dx%d, b is %dx%d", a.rows, a.cols, b.rows, b.cols);
        return mat_empty();
    }
    if (a.cols > 0x7fffffff - b.cols) {
        cairn_error("mat_hcat", "result would have too many columns (%d + %d)", a.cols, b.cols);
        return mat_empty();
    }
    mat r = mat_alloc(a.rows, a.cols + b.cols);
    if (!r.data)
        return r;
    copy_values(view_of(r, 0, 0, a.rows, a.cols), a);
    copy_values(view_of(r, 0, a.cols, b.rows, b.cols), b);
    return r;
}

mat mat_vcat(mat a, mat b)
{
    if (check_nonempty("mat_vcat", a) < 0 || check_nonempty("mat_vcat", b) < 0)
        return mat_empty();
    if (a.cols != b.cols) {
        cairn_error("mat_vcat", "column counts differ: a is %dx%d, b is %dx%d", a.rows, a.cols, b.rows, b.cols);
        return mat_empty();
    }
    if (a.rows > 0x7fffffff - b.rows) {
        cairn_error("mat_vcat", "result would have too many rows (%d + %d)", a.rows, b.rows);
        return mat_empty();
    }
    mat r = mat_alloc(a.rows + b.rows, a.cols);
    if (!r.data)
        return r;
    copy_values(view_of(r, 0, 0, a.rows, a.cols), a);
    copy_values(view_of(r, a.rows, 0, b.rows, b.cols), b);
    /* Stacking two batches of the same images keeps them images. */
    if (a.channels && a.channels == b.channels && a.height == b.height && a.width == b.width) {
        r.channels = a.channels;
        r.height = a.height;
        r.width = a.width;
    }
    return r;
}

mat mat_transpose(mat m)
{
    if (check_nonempty("mat_transpose", m) < 0)
        return mat_empty();
    mat t = mat_alloc(m.cols, m.rows);
    if (!t.data)
        return t;
    /* Tiles of 32x32 keep both the reads and the writes in cache for large matrices. */
    enum { TILE = 32 };
    for (int i0 = 0; i0 < m.rows; i0 += TILE) {
        int i1 = i0 + TILE < m.rows ? i0 + TILE : m.rows;
        for (int j0 = 0; j0 < m.cols; j0 += TILE) {
            int j1 = j0 + TILE < m.cols ? j0 + TILE : m.cols;
            for (int i = i0; i < i1; i++) {
                const double *src = mat_ptr(m, i, 0);
                for (int j = j0; j < j1; j++)
                    t.data[(size_t)j * (size_t)t.stride + (size_t)i] = src[j];
            }
        }
    }
    return t;
}

int mat_set_image_shape(mat *m, int channels, int height, int width)
{
    if (!m) {
        cairn_error("mat_set_image_shape", "m is NULL");
        return -1;
    }
    if (channels <= 0 || height <= 0 || width <= 0 ||
        (long long)channels * height * width != (long long)m->cols) {
        cairn_error("mat_set_image_shape", "image shape %dx%dx%d (%lld values) does not match a row of a %dx%d matrix",
                    channels, height, width, (long long)channels * height * width, m->rows, m->cols);
        return -1;
    }
    m->channels = channels;
    m->height = height;
    m->width = width;
    return 0;
}

mat mat_row_as_image(mat m, int i)
{
    if (check_nonempty("mat_row_as_image", m) < 0)
        return mat_empty();
    if (m.channels <= 0) {
        cairn_error("mat_row_as_image", "the %dx%d matrix has no image shape; set one with mat_set_image_shape",
                    m.rows, m.cols);
        return mat_empty();
    }
    if (i < 0 || i >= m.rows) {
        cairn_error("mat_row_as_image", "row %d out of range for a %dx%d matrix", i, m.rows, m.cols);
        return mat_empty();
    }
    mat v = {0};
    v.data = mat_ptr(m, i, 0);
    v.rows = m.channels * m.height;
    v.cols = m.width;
    v.stride = m.width;
    v.channels = m.channels;
    v.height = m.height;
    v.width = m.width;
    return v;
}

mat mat_image_as_row(mat img)
{
    if (check_nonempty("mat_image_as_row", img) < 0)
        return mat_empty();
    if (!mat_is_contiguous(img)) {
        cairn_error("mat_image_as_row", "the %dx%d input is a view with stride %d, not contiguous; use mat_copy first",
                    img.rows, img.cols, img.stride);
        return mat_empty();
    }
    mat v = {0};
    v.data = img.data;
    v.rows = 1;
    v.cols = img.rows * img.cols;
    v.stride = v.cols;
    if (img.channels && (long long)img.channels * img.height * img.width == (long long)v.cols) {
        v.channels = img.channels;
        v.height = img.height;
        v.width = img.width;
    } else {
        v.channels = 1;
        v.height = img.rows;
        v.width = img.cols;
    }
    return v;
}

size_t mat_bytes(mat m)
{
    if (!(m.flags & MAT_OWNS) || !m.data)
        return 0;
    return cairn_alloc_size(m.data);
}

const char *mat_describe(mat m)
{
    static char buf[128];
    if (m.data == NULL) {
        snprintf(buf, sizeof buf, "mat %dx%d, empty", m.rows, m.cols);
        return buf;
    }
    char image[48] = "";
    if (m.channels)
        snprintf(image, sizeof image, ", images %dx%dx%d", m.channels, m.height, m.width);
    if (m.flags & MAT_OWNS) {
        double b = (double)mat_bytes(m);
        if (b < 1024)
            snprintf(buf, sizeof buf, "mat %dx%d%s, %.0f B", m.rows, m.cols, image, b);
        else if (b < 1024.0 * 1024)
            snprintf(buf, sizeof buf, "mat %dx%d%s, %.1f KiB", m.rows, m.cols, image, b / 1024);
        else if (b < 1024.0 * 1024 * 1024)
            snprintf(buf, sizeof buf, "mat %dx%d%s, %.1f MiB", m.rows, m.cols, image, b / (1024.0 * 1024));
        else
            snprintf(buf, sizeof buf, "mat %dx%d%s, %.2f GiB", m.rows, m.cols, image, b / (1024.0 * 1024 * 1024));
    } else {
        snprintf(buf, sizeof buf, "mat %dx%d%s view", m.rows, m.cols, image);
    }
    return buf;
}
