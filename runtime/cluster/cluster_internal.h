/* cluster_internal.h — helpers shared by the cluster sources (not seen by cells):
 * input checks that name the function and the shapes, label vectors as int arrays,
 * and squared distances of a block of rows to a set of centres through one dgemm. */
#ifndef CAIRN_CLUSTER_INTERNAL_H
#define CAIRN_CLUSTER_INTERNAL_H

#include "cairn/mat.h"

/* Rows per BLAS block: 256 rows of 784 doubles (1.6 MB) stay in cache while the
 * distances of the block are turned into labels and sums. */
#define CL_CHUNK 256

/* 0 when X is non-empty and finite, else reports "func: <name> ..." (first bad row/col) and returns -1. */
int cl_check_data(const char *func, mat X, const char *name);

/* Length of a label vector (n x 1 or 1 x n), or -1 after reporting that it is not a vector. */
int cl_vector_length(const char *func, mat v, const char *name);

/* Element i of a vector of either orientation. */
static inline double cl_vec_get(mat v, int i) { return v.cols == 1 ? *mat_ptr(v, i, 0) : *mat_ptr(v, 0, i); }

/* Checks that v is a vector of n finite integer values and encodes it as 0..c-1 over its
 * sorted distinct values: codes[i] (n ints, cairn_alloc'ed) and *classes (c doubles,
 * cairn_alloc'ed, may be NULL when not wanted). Returns c, or -1 after an error. */
int cl_encode_labels(const char *func, mat v, const char *name, int n, int **codes, double **classes);

/* Encodes two label vectors over the union of their values (y_true's and y_pred's classes
 * share the codes): returns the number of classes or -1. */
int cl_encode_pair(const char *func, mat a, mat b, int **ca, int **cb, double **classes);

/* Squared norms of the rows of X into out (X.rows values). */
void cl_row_norms(mat X, double *out);

/* Σ a[t]·b[t] over d values (AVX2 where the CPU has it). */
double cl_dot(const double *a, const double *b, int d);

/* cl_sq_distances on the calling thread only (for callers that split work themselves). */
void cl_sq_distances_serial(const double *x, int ldx, int m, int d, const double *xn, const double *C, int k,
                            const double *cn, double *D);

/* Up to this many centres cl_sq_distances uses the AVX2 dot-product kernel, beyond it dgemm. */
#define CL_FEW_CENTRES 32

/* D (m x k, row stride k) = squared distances of rows x[0..m) (row stride ldx, squared
 * norms xn) to centres C (k x d, contiguous, squared norms cn), clamped at 0. */
void cl_sq_distances(const double *x, int ldx, int m, int d, const double *xn, const double *C, int k,
                     const double *cn, double *D);

/* How cl_sq_distances computes the cross term for few centres. */
enum { CL_DIST_BLAS = 0, CL_DIST_AVX2 = 1, CL_DIST_AVX512 = 2 };

/* Tests: forces a CL_DIST_* mode (-1: the best the CPU has); returns the mode set, or -1
 * when the CPU lacks it. */
int cl_distance_mode(int mode);

/* The k nearest training rows of every query by projection bounds (knn_bounds.c): squared
 * distances ascending and indices into dist and idx (q x k). Returns 0, -1 after an error,
 * or 1 when the shapes are not worth it (few rows or features, large k): use brute force. */
int cl_knn_bounded(const char *func, mat Xtr, mat Xq, int k, double *dist, int *idx);

/* Tests: 1 makes cl_knn_bounded decline (brute force everywhere), 0 restores it. */
void cl_knn_use_brute(int on);

/* Labels as an n x 1 matrix of doubles. */
mat cl_labels_mat(const int *labels, int n);

#endif
