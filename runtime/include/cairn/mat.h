/* cairn/mat.h — the matrix handle every runtime module passes around.
 *
 * A `mat` is a dense row-major matrix of doubles, passed by value. Element (i, j)
 * lives at data[i * stride + j]. Views (a row, a block, a column) share the data of
 * the matrix they come from and never own it; only matrices made by an allocating
 * function own their data and are released with mat_free(&m).
 * Each row can carry an image shape (channels, height, width), so a stack of images
 * or CT slices is simply a matrix with one flattened image per row. */
#ifndef CAIRN_MAT_H
#define CAIRN_MAT_H

#include <stddef.h>
#include <stdint.h>

/* flags */
#define MAT_OWNS 1u /* mat_free releases data */

typedef struct mat {
    double *data;   /* element (0,0); NULL for the empty matrix an error returns */
    int rows;
    int cols;
    int stride;     /* elements between starts of consecutive rows, >= cols */
    int channels;   /* image shape of one row; all 0 when rows are not images */
    int height;
    int width;
    unsigned flags; /* MAT_OWNS when this handle owns data */
} mat;

/** The empty matrix (0 x 0, no data): what a failing function returns. */
mat mat_empty(void);

/** True when m has no data (0 rows or cols, or the result of an error). */
int mat_is_empty(mat m);

/** New rows x cols matrix of zeros, owning its data. */
mat mat_zeros(int rows, int cols);

/** New rows x cols matrix whose contents are unspecified (faster than mat_zeros). */
mat mat_alloc(int rows, int cols);

/** Release the data of an owning matrix and make *m empty; views are only emptied. */
void mat_free(mat *m);

/** Pointer to element (i, j), no bounds check (the hot-loop accessor). */
static inline double *mat_ptr(mat m, int i, int j) { return m.data + (size_t)i * (size_t)m.stride + (size_t)j; }

/** True when the rows are stored back to back (stride == cols), so data is one flat array. */
static inline int mat_is_contiguous(mat m) { return m.stride == m.cols || m.rows <= 1; }

/* ---- creation (every result owns its data; release with mat_free) ---- */

/** New rows x cols matrix of ones. */
mat mat_ones(int rows, int cols);

/** New rows x cols matrix with every element equal to value. */
mat mat_full(int rows, int cols, double value);

/** New n x n identity matrix. */
mat mat_eye(int n);

/** New rows x cols matrix copied from rows*cols doubles in row-major order. */
mat mat_from(int rows, int cols, const double *values);

/** Like mat_from, but checks that exactly `count` values were given (what MAT() calls). */
mat mat_from_list(int rows, int cols, const double *values, size_t count);

/** Matrix literal: MAT(2, 3, 1, 2, 3, 4, 5, 6) is [[1 2 3] [4 5 6]]; the count must match. */
#define MAT(rows, cols, ...) \
    mat_from_list((rows), (cols), (const double[]){__VA_ARGS__}, sizeof((double[]){__VA_ARGS__}) / sizeof(double))

/** Row vector (1 x n) of n evenly spaced values from start to stop, both included (NumPy linspace). */
mat mat_linspace(double start, double stop, int n);

/** Row vector of start, start+step, ... while < stop (> stop for a negative step), like NumPy arange. */
mat mat_arange(double start, double stop, double step);

/** Square matrix with the n elements of vector v (1 x n or n x 1) on its diagonal. */
mat mat_diag(mat v);

/** Main diagonal of m as a new column vector (min(rows, cols) x 1). */
mat mat_diag_of(mat m);

/* ---- element access ---- */

/** Element (i, j), bounds-checked; reports an error and returns NAN when out of range. */
double mat_get(mat m, int i, int j);

/** Set element (i, j) to value, bounds-checked; returns 0, or -1 after reporting an error. */
int mat_set(mat m, int i, int j, double value);

/** Pointer to element (i, j), bounds-checked (NULL after reporting an error); mat_ptr is the unchecked one. */
double *mat_at(mat m, int i, int j);

/** Set every element of m (a view included) to value; returns 0 or -1. */
int mat_fill(mat m, double value);

/* ---- views: share the data of m, own nothing, live only as long as m ---- */

/** View of row i as a 1 x cols matrix (keeps the image shape of the rows). */
mat mat_row(mat m, int i);

/** View of column j as a rows x 1 matrix (stride stays that of m). */
mat mat_col(mat m, int j);

/** View of rows first .. first+count-1 (a minibatch, a slice of a volume). */
mat mat_row_range(mat m, int first, int count);

/** View of the nrows x ncols block whose top-left element is (row0, col0). */
mat mat_block(mat m, int row0, int col0, int nrows, int ncols);

/** View of a contiguous m with a new shape (rows*cols must match; one of them may be -1 = inferred). */
mat mat_reshape(mat m, int rows, int cols);

/* ---- copies and new shapes ---- */

/** New matrix made of the rows of m listed in idx (n of them, repeats allowed), in that order. */
mat mat_rows_index(mat m, const int *idx, int n);

/** New matrix of the rows of m whose entry in mask (a vector of m.rows 0/1 values) is nonzero, like X[mask] in NumPy. */
mat mat_rows_where(mat m, mat mask);

/** New matrix made of the columns of m listed in idx (n of them), in that order. */
mat mat_cols_index(mat m, const int *idx, int n);

/** New contiguous matrix with the same values and image shape as m (views become owners). */
mat mat_copy(mat m);

/** Copy the values of src into dst (same shape; views allowed); returns 0 or -1. */
int mat_copy_into(mat dst, mat src);

/** New matrix [a b]: a and b side by side (same number of rows). */
mat mat_hcat(mat a, mat b);

/** New matrix [a; b]: a on top of b (same number of columns). */
mat mat_vcat(mat a, mat b);

/** New matrix, the transpose of m. */
mat mat_transpose(mat m);

/* ---- images: one flattened image per row, shape (channels, height, width) ---- */

/** Declare that each row of *m is an image of channels x height x width (product must equal cols). */
int mat_set_image_shape(mat *m, int channels, int height, int width);

/** View of row i of an image matrix as a (channels*height) x width matrix, channel planes stacked. */
mat mat_row_as_image(mat m, int i);

/** View of an image (from mat_row_as_image, or any contiguous matrix) as one 1 x n row. */
mat mat_image_as_row(mat img);

/* ---- memory and description ---- */

/** Bytes of data m owns (0 for a view or an empty matrix): what %whos reports. */
size_t mat_bytes(mat m);

/** One-line description such as "mat 3x4, 96 B" or "mat 1x4 view" (static buffer, overwritten by the next call). */
const char *mat_describe(mat m);

/* ---- display ---- */

/** NumPy-style text ("mat 3x4\n[[ 1.  2. ...]]"), first/last 3 rows and columns when large; free() it. */
char *mat_format_text(mat m);

/** HTML <table> with a shape caption and the same truncation as the text; free() it. */
char *mat_format_html(mat m);

/** LaTeX bmatrix for matrices up to 12 x 12, NULL for larger ones; free() it. */
char *mat_format_latex(mat m);

/** Show m in the notebook (text, HTML and, when small, LaTeX) as display_data. */
void mat_show(mat m);

/** Send m as the cell's result (execute_result); what a trailing `mat` expression calls. */
void mat_display_result(mat m);

#endif
