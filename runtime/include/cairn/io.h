/* cairn/io.h — matrices to and from files: CSV, NumPy .npy, IDX (MNIST format), raw binary.
 *
 * Every reader returns a new owning matrix, or the empty matrix after a cairn_error that
 * names the function, the path and what is wrong (strerror for a missing file, the bad
 * magic bytes, expected vs actual sizes for a truncated file). Every writer returns 0,
 * or -1 after such an error. Images come back one per row with the image shape
 * (channels, height, width) set, so plot and nn functions know how to see them.
 * Vectors: a 1-D .npy array or an IDX label file becomes an N x 1 column. */
#ifndef CAIRN_IO_H
#define CAIRN_IO_H

#include "cairn/mat.h"

/** Read a numeric CSV file (delimiter 0 means ','); skip a first header row when has_header. */
mat csv_read(const char *path, char delimiter, int has_header);

/** Write A as CSV with 17 significant digits; header (may be NULL) is written as the first line. */
int csv_write(const char *path, mat A, char delimiter, const char *header);

/** Read a NumPy .npy file (v1/v2/v3; float64/32, int/uint 8-64, bool; C or Fortran order) as doubles. */
mat npy_read(const char *path);

/** Write A as a NumPy .npy file ('<f8', C order); images are written as (N, H, W) or (N, C, H, W). */
int npy_write(const char *path, mat A);

/** Read an IDX file (MNIST / Fashion-MNIST), plain or gzip-compressed: images one per row, labels N x 1. */
mat idx_read(const char *path);

/** Read raw binary numbers (dtype like "f8", "<f4", ">i2", "u1"); rows <= 0 infers rows from the file size. */
mat raw_read(const char *path, int rows, int cols, const char *dtype);

/** Write A's elements row by row as raw little-endian float64. */
int raw_write(const char *path, mat A);

#endif
