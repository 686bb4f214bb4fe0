/* cairn/mat_ops.h — arithmetic on matrices: elementwise, comparisons, reductions,
 * norms and products.
 *
 * Functions without a suffix return a new matrix (release with mat_free). Binary
 * elementwise functions broadcast like NumPy: each dimension of a and b must be equal
 * or 1, so a (r,c) matrix combines with a (1,c) row, a (r,1) column or a 1x1 scalar.
 * `_inplace` variants write into their first argument (which must already have the
 * result's shape), `_into` variants write into a given output; both allocate nothing,
 * for hot loops. Products go through OpenBLAS and accept views.
 * Reductions take an axis like NumPy: -1 = over all elements (1x1 result), 0 = down
 * the columns (1 x cols), 1 = along the rows (rows x 1). */
#ifndef CAIRN_MAT_OPS_H
#define CAIRN_MAT_OPS_H

#include "cairn/mat.h"

/* ---- elementwise, with broadcasting ---- */

/** a + b elementwise (broadcasting rows, columns and 1x1). */
mat mat_add(mat a, mat b);

/** a - b elementwise (broadcasting). */
mat mat_sub(mat a, mat b);

/** a * b elementwise, the Hadamard product (broadcasting); mat_mul is the matrix product. */
mat mat_emul(mat a, mat b);

/** a / b elementwise (broadcasting). */
mat mat_div(mat a, mat b);

/** a + s for every element. */
mat mat_add_scalar(mat a, double s);

/** s * a. */
mat mat_scale(mat a, double s);

/** Every element raised to the power p. */
mat mat_pow(mat a, double p);

/** e^x of every element. */
mat mat_exp(mat a);

/** Natural log of every element (an error names the first negative element). */
mat mat_log(mat a);

/** Square root of every element (an error names the first negative element). */
mat mat_sqrt(mat a);

/** |x| of every element. */
mat mat_abs(mat a);

/** Every element clamped to [lo, hi]. */
mat mat_clip(mat a, double lo, double hi);

/** fn(x) of every element. */
mat mat_apply(mat a, double (*fn)(double));

/* ---- in place: the first argument is overwritten ---- */

/** a += b (b broadcasts to a's shape); returns 0 or -1. */
int mat_add_inplace(mat a, mat b);

/** a -= b (b broadcasts to a's shape); returns 0 or -1. */
int mat_sub_inplace(mat a, mat b);

/** a *= b elementwise (b broadcasts to a's shape); returns 0 or -1. */
int mat_emul_inplace(mat a, mat b);

/** a /= b elementwise (b broadcasts to a's shape); returns 0 or -1. */
int mat_div_inplace(mat a, mat b);

/** a += s; returns 0 or -1. */
int mat_add_scalar_inplace(mat a, double s);

/** a *= s; returns 0 or -1. */
int mat_scale_inplace(mat a, double s);

/** y += alpha * x (same shape), the BLAS axpy; returns 0 or -1. */
int mat_axpy(mat y, double alpha, mat x);

/** a[i] = fn(a[i]) for every element; returns 0 or -1. */
int mat_apply_inplace(mat a, double (*fn)(double));

/** out = a + b (out has the broadcast shape, may be a or b itself); returns 0 or -1. */
int mat_add_into(mat out, mat a, mat b);

/** out = a - b (broadcasting); returns 0 or -1. */
int mat_sub_into(mat out, mat a, mat b);

/** out = a * b elementwise (broadcasting); returns 0 or -1. */
int mat_emul_into(mat out, mat a, mat b);

/** out = a / b elementwise (broadcasting); returns 0 or -1. */
int mat_div_into(mat out, mat a, mat b);

/* ---- comparisons: masks of 0 and 1 ---- */

/** 1 where a > b, else 0 (broadcasting). */
mat mat_gt(mat a, mat b);

/** 1 where a >= b, else 0 (broadcasting). */
mat mat_ge(mat a, mat b);

/** 1 where a < b, else 0 (broadcasting). */
mat mat_lt(mat a, mat b);

/** 1 where a <= b, else 0 (broadcasting). */
mat mat_le(mat a, mat b);

/** 1 where a == b, else 0 (broadcasting). */
mat mat_eq(mat a, mat b);

/** 1 where a != b, else 0 (broadcasting). */
mat mat_ne(mat a, mat b);

/** 1 where a > s, else 0. */
mat mat_gt_scalar(mat a, double s);

/** 1 where a >= s, else 0. */
mat mat_ge_scalar(mat a, double s);

/** 1 where a < s, else 0. */
mat mat_lt_scalar(mat a, double s);

/** 1 where a <= s, else 0. */
mat mat_le_scalar(mat a, double s);

/** 1 where a == s, else 0. */
mat mat_eq_scalar(mat a, double s);

/** 1 where a != s, else 0. */
mat mat_ne_scalar(mat a, double s);

/** Nonzero when a and b have the same shape and |a-b| <= atol + rtol*|b| everywhere (NumPy allclose). */
int mat_allclose(mat a, mat b, double rtol, double atol);

/** Nonzero when every element of m is finite (no NaN, no infinity). */
int mat_all_finite(mat m);

/* ---- reductions by axis: -1 all (1x1), 0 down columns (1 x cols), 1 along rows (rows x 1) ---- */

/** Sum over axis. */
mat mat_sum(mat m, int axis);

/** Mean over axis. */
mat mat_mean(mat m, int axis);

/** Population variance (ddof = 0, like NumPy) over axis. */
mat mat_var(mat m, int axis);

/** Population standard deviation (ddof = 0, like NumPy) over axis. */
mat mat_std(mat m, int axis);

/** Minimum over axis (NaN if the slice holds a NaN, like NumPy). */
mat mat_min(mat m, int axis);

/** Maximum over axis (NaN if the slice holds a NaN, like NumPy). */
mat mat_max(mat m, int axis);

/** Index of the minimum over axis (flat row-major index for axis -1; first NaN wins, like NumPy). */
mat mat_argmin(mat m, int axis);

/** Index of the maximum over axis (flat row-major index for axis -1; first NaN wins, like NumPy). */
mat mat_argmax(mat m, int axis);

/** Sum of all elements. */
double mat_sum_all(mat m);

/** Mean of all elements. */
double mat_mean_all(mat m);

/** Smallest element. */
double mat_min_all(mat m);

/** Largest element. */
double mat_max_all(mat m);

/** Cumulative sum over axis (0 down columns, 1 along rows, -1 over all elements in row-major order); same shape as m. */
mat mat_cumsum(mat m, int axis);

/** Sum of the diagonal of a square matrix. */
double mat_trace(mat m);

/* ---- sorting vectors ---- */

/** Sorted copy of vector v (ascending, NaN last, like NumPy), same orientation. */
mat mat_sort(mat v);

/** Indices that sort vector v ascending (stable, NaN last), as doubles, same orientation: v[idx[k]] is the k-th smallest. */
mat mat_argsort(mat v);

/* ---- norms and dot ---- */

/** Norm of m: "fro" (or "2" for a vector), "1", "inf"; vectors get vector norms, matrices matrix norms, as NumPy. */
double mat_norm(mat m, const char *kind);

/** Sum of a[k]*b[k]: two vectors of equal length (any orientation) or two matrices of equal shape. */
double mat_dot(mat a, mat b);

/* ---- products (OpenBLAS) ---- */

/** A·B (dgemm). */
mat mat_mul(mat a, mat b);

/** Aᵀ·B without forming Aᵀ. */
mat mat_mul_tn(mat a, mat b);

/** A·Bᵀ without forming Bᵀ. */
mat mat_mul_nt(mat a, mat b);

/** AᵀA (cols x cols, symmetric) via dsyrk. */
mat mat_gram(mat a);

/** A·x for a vector x (1 x n or n x 1); the result has x's orientation. */
mat mat_mul_vec(mat a, mat x);

/** C = A·B into an existing C (no allocation); returns 0 or -1. */
int mat_mul_into(mat c, mat a, mat b);

/** C = Aᵀ·B into an existing C; returns 0 or -1. */
int mat_mul_tn_into(mat c, mat a, mat b);

/** C = A·Bᵀ into an existing C; returns 0 or -1. */
int mat_mul_nt_into(mat c, mat a, mat b);

/** C = AᵀA into an existing cols x cols C; returns 0 or -1. */
int mat_gram_into(mat c, mat a);

/** y = A·x into an existing vector y; returns 0 or -1. */
int mat_mul_vec_into(mat y, mat a, mat x);

/** C = alpha·op(A)·op(B) + beta·C, op = transpose when trans_a / trans_b is nonzero (full dgemm); 0 or -1. */
int mat_gemm(mat c, double alpha, mat a, int trans_a, mat b, int trans_b, double beta);

/* ---- data preparation ---- */

/** New matrix whose columns have mean 0. */
mat mat_center_cols(mat m);

/** New matrix whose columns have mean 0 and standard deviation 1 (constant columns are only centered). */
mat mat_standardize_cols(mat m);

/** n x nclasses matrix with a 1 in column labels[k] of row k (labels: a vector of integers 0..nclasses-1). */
mat mat_one_hot(mat labels, int nclasses);

#endif
