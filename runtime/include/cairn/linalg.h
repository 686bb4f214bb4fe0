/* cairn/linalg.h — decompositions and solvers over `mat`, backed by LAPACK(E) and BLAS.
 *
 * Results made of several matrices come back by value in small structs (svd_result,
 * pca_model, eig_result, qr_result) released with their own *_free function.
 * Conventions, chosen so results are reproducible and match NumPy / scikit-learn:
 *   - vectors of per-component numbers (singular values, eigenvalues, PCA mean and
 *     variances) are 1 x k row matrices;
 *   - signs are deterministic: in every SVD and PCA the entry of largest magnitude in
 *     each column of U is positive (scikit-learn's svd_flip), eigenvectors have their
 *     largest entry positive, QR has a non-negative diagonal in R;
 *   - every function checks shapes and finiteness first; on failure (shape mismatch,
 *     singular or non-finite input, no convergence, "interrupted") it reports through
 *     cairn_error naming itself and the shapes, and returns empty matrices, NAN or -1.
 * Inputs may be views (any stride); they are never modified. */
#ifndef CAIRN_LINALG_H
#define CAIRN_LINALG_H

#include <stdint.h>
#include "cairn/mat.h"

/** A = U · diag(S) · Vt: U is m x r, S is 1 x r (descending), Vt is r x n. */
typedef struct svd_result {
    mat U;
    mat S;
    mat Vt;
} svd_result;

/** A fitted PCA: X ≈ transform(X) · components + mean (scikit-learn's PCA, svd_solver="full"). */
typedef struct pca_model {
    mat components;               /* k x n, principal axes as rows */
    mat mean;                     /* 1 x n, per-feature mean removed before projecting */
    mat explained_variance;       /* 1 x k, variance along each axis (divided by n_samples - 1) */
    mat explained_variance_ratio; /* 1 x k, fraction of the total variance */
    mat singular_values;          /* 1 x k, singular values of the centered data */
    int n_samples;
    int n_features;
    int n_components;
} pca_model;

/** A = V · diag(values) · Vᵀ for symmetric A: values 1 x n ascending, column i of vectors pairs with values[i]. */
typedef struct eig_result {
    mat values;
    mat vectors;
} eig_result;

/** A = Q · R with Q m x r having orthonormal columns and R r x n upper triangular, r = min(m, n). */
typedef struct qr_result {
    mat Q;
    mat R;
} qr_result;

/** Thin SVD (LAPACK gesdd): U m x r, S 1 x r, Vt r x n with r = min(m, n). */
svd_result svd_thin(mat A);

/** Full SVD (gesdd): U m x m, S 1 x min(m, n), Vt n x n. */
svd_result svd_full(mat A);

/** Singular values only, descending, as a 1 x min(m, n) row (cheaper than a full SVD). */
mat svd_values(mat A);

/** Randomized truncated SVD (Halko et al.) of rank k: oversample extra directions, power_iters subspace iterations, seeded (reseeds the session generator). */
svd_result svd_randomized(mat A, int k, int oversample, int power_iters, uint64_t seed);

/** Rank-k approximation U[:, :k] · diag(S[:k]) · Vt[:k, :] from an SVD (k <= 0 uses all components). */
mat svd_reconstruct(svd_result r, int k);

/** Release the three matrices of an SVD result. */
void svd_free(svd_result *r);

/** Fit a k-component PCA to X (one sample per row) with an exact SVD of the centered data. */
pca_model pca_fit(mat X, int k);

/** Fit a k-component PCA with a randomized SVD (7 power iterations, 10 oversamples), fast for large X. */
pca_model pca_fit_randomized(mat X, int k, uint64_t seed);

/** Project samples (rows of X) onto the principal axes: (X - mean) · componentsᵀ, rows x k. */
mat pca_transform(pca_model model, mat X);

/** Map projected samples back to feature space: Z · components + mean, rows x n_features. */
mat pca_inverse_transform(pca_model model, mat Z);

/** Release every matrix of a PCA model. */
void pca_free(pca_model *model);

/** Eigendecomposition of a symmetric matrix (LAPACK syevd); errors if A is not symmetric. */
eig_result eig_symmetric(mat A);

/** Release the matrices of an eigendecomposition. */
void eig_free(eig_result *r);

/** Thin QR decomposition (geqrf + orgqr) with a non-negative diagonal in R. */
qr_result qr_thin(mat A);

/** Release the matrices of a QR decomposition. */
void qr_free(qr_result *r);

/** Cholesky factor L (lower triangular, A = L · Lᵀ) of a symmetric positive definite A. */
mat mat_cholesky(mat A);

/** Solve A · X = B for square nonsingular A (LU with partial pivoting); B is n x p. */
mat mat_solve(mat A, mat B);

/** Least-squares solution X (n x p) minimizing ||A · X - B|| for A m x n, B m x p (SVD-based, minimum norm). */
mat mat_lstsq(mat A, mat B);

/** Moore–Penrose pseudo-inverse (n x m) via the SVD, dropping singular values below 1e-15 · S_max (NumPy's pinv). */
mat mat_pinv(mat A);

/** Inverse of a square nonsingular matrix; errors when A is singular to working precision. */
mat mat_inverse(mat A);

/** Determinant of a square matrix (LU); NAN on error. */
double mat_det(mat A);

/** Numerical rank: singular values above tol (tol < 0: max(m, n) · eps · S_max, as NumPy); -1 on error. */
int mat_rank(mat A, double tol);

/** 2-norm condition number S_max / S_min (INFINITY when singular); NAN on error. */
double mat_cond(mat A);

#endif
