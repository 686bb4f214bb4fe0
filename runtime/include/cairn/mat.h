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

#endif
