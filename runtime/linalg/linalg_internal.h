/* linalg_internal.h — helpers shared by the linalg sources (not seen by cells).
 *
 * LAPACK wants column-major storage while `mat` is row-major with a stride. A row-major
 * m x n matrix is the column-major n x m matrix Aᵀ, so some routines work on the
 * transpose for free; the others get an explicit, cache-blocked transposing copy. */
#ifndef CAIRN_LINALG_INTERNAL_H
#define CAIRN_LINALG_INTERNAL_H

#include "cairn/mat.h"

/* 0 when A is non-empty and all finite; else reports "func: <name> is ..." and returns -1. */
int la_check_input(const char *func, mat A, const char *name);

/* Nonzero when every element of A is finite. */
int la_all_finite(mat A);

/* Contiguous row-major copy of A (a view or strided matrix), owning its data. */
mat la_copy(const char *func, mat A);

/* Column-major copy of A in a new runtime buffer with leading dimension A.rows. */
double *la_to_colmajor(const char *func, mat A);

/* Row-major rows x cols matrix from a column-major buffer with leading dimension ld. */
mat la_from_colmajor(const char *func, const double *buf, int rows, int cols, int ld);

/* dst (rows x cols, row stride ldd) = transpose of src (cols x rows, row stride lds). */
void la_transpose(double *dst, int ldd, const double *src, int lds, int rows, int cols);

/* scikit-learn's svd_flip (u-based): make the largest-|.| entry of each column of U
 * positive, flipping the matching row of Vt; columns of U past Vt's rows (and rows of Vt
 * past U's columns) are flipped on their own largest entry. */
void la_svd_flip(mat U, mat Vt);

/* The SVD of a small or large matrix without sign normalization; jobz 'S', 'A' or 'N'. */
int la_gesdd(const char *func, mat A, char jobz, mat *U, mat *S, mat *Vt);

/* Thin SVD (jobz 'S' or 'N') of a tall or wide A by CholeskyQR2: 0 on success, 1 when A is
 * too ill-conditioned for it (nothing reported: use gesdd), -1 after reporting an error. */
int la_svd_cholqr(const char *func, mat A, char jobz, mat *U, mat *S, mat *Vt);

#endif
