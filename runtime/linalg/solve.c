/* solve.c — linear systems, least squares, inverse, determinant, rank and condition.
 *
 * solve and inverse factor A = P L U (getrf) and then estimate the reciprocal condition
 * number (gecon): a matrix singular to working precision is an error rather than a
 * vector of huge meaningless numbers. lstsq uses the SVD (gelsd) with NumPy's default
 * cutoff, so rank-deficient problems get the minimum-norm solution, as in NumPy. */
#include "cairn/linalg.h"
#include "cairn/alloc.h"
#include "cairn/error.h"
#include "linalg_internal.h"

#include <cblas.h>
#include <float.h>
#include <lapacke.h>
#include <math.h>

/* LU-factor a column-major copy of square A; *rcond gets LAPACK's 1-norm estimate.
 * Returns the buffer or NULL (after reporting) when A is singular or on failure. */
static double *lu_factor(const char *func, mat A, lapack_int *ipiv, double *rcond)
{
    int n = A.rows;
    double *W = la_to_colmajor(func, A);
    if (!W)
        return NULL;
    double anorm = LAPACKE_dlange(LAPACK_COL_MAJOR, '1', n, n, W, n);
    lapack_int info = LAPACKE_dgetrf(LAPACK_COL_MAJOR, n, n, W, n, ipiv);
    if (info > 0) {
        cairn_error(func, "A (%d x %d) is singular: U[%d][%d] is exactly zero in its LU factorization", n, n,
                    (int)info - 1, (int)info - 1);
        cairn_free(W);
        return NULL;
    }
    if (info < 0) {
        cairn_error(func, "LAPACK dgetrf rejected argument %d (%d x %d matrix)", (int)-info, n, n);
        cairn_free(W);
        return NULL;
    }
    *rcond = 0;
    LAPACKE_dgecon(LAPACK_COL_MAJOR, '1', n, W, n, anorm, rcond);
    if (!(*rcond >= DBL_EPSILON)) {
        cairn_error(func, "A (%d x %d) is singular to working precision (reciprocal condition number %.3g)", n, n,
                    *rcond);
        cairn_free(W);
        return NULL;
    }
    return W;
}

static int check_square(const char *func, mat A)
{
    if (la_check_input(func, A, "A") < 0)
        return -1;
    if (A.rows != A.cols) {
        cairn_error(func, "A must be square, got %d x %d", A.rows, A.cols);
        return -1;
    }
    return 0;
}

mat mat_solve(mat A, mat B)
{
    const char *func = "mat_solve";
    if (check_square(func, A) < 0 || la_check_input(func, B, "B") < 0)
        return mat_empty();
    int n = A.rows, p = B.cols;
    if (B.rows != n) {
        cairn_error(func, "shapes do not match: A is %d x %d, B is %d x %d (B needs %d rows)", n, n, B.rows, B.cols,
                    n);
        return mat_empty();
    }
    lapack_int *ipiv = cairn_alloc((size_t)n * sizeof(lapack_int));
    double rcond;
    double *W = ipiv ? lu_factor(func, A, ipiv, &rcond) : NULL;
    double *Bw = W ? la_to_colmajor(func, B) : NULL;
    mat X = mat_empty();
    if (Bw) {
        lapack_int info = LAPACKE_dgetrs(LAPACK_COL_MAJOR, 'N', n, p, W, n, ipiv, Bw, n);
        if (info == 0)
            X = la_from_colmajor(func, Bw, n, p, n);
        else
            cairn_error(func, "LAPACK dgetrs failed (info=%d), A %d x %d, B %d x %d", (int)info, n, n, n, p);
    }
    cairn_free(ipiv);
    cairn_free(W);
    cairn_free(Bw);
    return X;
}

mat mat_inverse(mat A)
{
    const char *func = "mat_inverse";
    if (check_square(func, A) < 0)
        return mat_empty();
    int n = A.rows;
    lapack_int *ipiv = cairn_alloc((size_t)n * sizeof(lapack_int));
    double rcond;
    double *W = ipiv ? lu_factor(func, A, ipiv, &rcond) : NULL;
    mat X = mat_empty();
    if (W) {
        lapack_int info = LAPACKE_dgetri(LAPACK_COL_MAJOR, n, W, n, ipiv);
        if (info == 0)
            X = la_from_colmajor(func, W, n, n, n);
        else
            cairn_error(func, "LAPACK dgetri failed (info=%d) for a %d x %d matrix", (int)info, n, n);
    }
    cairn_free(ipiv);
    cairn_free(W);
    return X;
}

double mat_det(mat A)
{
    const char *func = "mat_det";
    if (check_square(func, A) < 0)
        return NAN;
    int n = A.rows;
    lapack_int *ipiv = cairn_alloc((size_t)n * sizeof(lapack_int));
    double *W = ipiv ? la_to_colmajor(func, A) : NULL;
    if (!W) {
        cairn_free(ipiv);
        return NAN;
    }
    double det = NAN;
    lapack_int info = LAPACKE_dgetrf(LAPACK_COL_MAJOR, n, n, W, n, ipiv);
    if (info < 0) {
        cairn_error(func, "LAPACK dgetrf rejected argument %d (%d x %d matrix)", (int)-info, n, n);
    } else if (info > 0) {
        det = 0.0; /* an exact zero pivot: the determinant is exactly zero */
    } else {
        det = 1.0;
        for (int i = 0; i < n; i++) {
            det *= W[i + (size_t)i * (size_t)n];
            if (ipiv[i] != i + 1)
                det = -det;
        }
    }
    cairn_free(ipiv);
    cairn_free(W);
    return det;
}

mat mat_lstsq(mat A, mat B)
{
    const char *func = "mat_lstsq";
    if (la_check_input(func, A, "A") < 0 || la_check_input(func, B, "B") < 0)
        return mat_empty();
    int m = A.rows, n = A.cols, p = B.cols;
    if (B.rows != m) {
        cairn_error(func, "shapes do not match: A is %d x %d, B is %d x %d (B needs %d rows)", m, n, B.rows, B.cols,
                    m);
        return mat_empty();
    }
    int ldb = m > n ? m : n;
    double *W = la_to_colmajor(func, A);
    double *Bw = cairn_alloc((size_t)ldb * (size_t)p * sizeof(double));
    double *s = cairn_alloc((size_t)(m < n ? m : n) * sizeof(double));
    mat X = mat_empty();
    if (W && Bw && s) {
        for (int i = 0; i < m; i++)
            for (int j = 0; j < p; j++)
                Bw[i + (size_t)j * (size_t)ldb] = *mat_ptr(B, i, j);
        lapack_int rank = 0;
        double rcond = DBL_EPSILON * ldb; /* NumPy's default cutoff */
        lapack_int info = LAPACKE_dgelsd(LAPACK_COL_MAJOR, m, n, p, W, m, Bw, ldb, s, rcond, &rank);
        if (info > 0)
            cairn_error(func, "SVD did not converge (LAPACK dgelsd info=%d), A %d x %d, B %d x %d", (int)info, m, n,
                        m, p);
        else if (info < 0)
            cairn_error(func, "LAPACK dgelsd rejected argument %d, A %d x %d, B %d x %d", (int)-info, m, n, m, p);
        else
            X = la_from_colmajor(func, Bw, n, p, ldb);
    }
    cairn_free(W);
    cairn_free(Bw);
    cairn_free(s);
    return X;
}

int mat_rank(mat A, double tol)
{
    mat S = svd_values(A);
    if (mat_is_empty(S))
        return -1;
    int r = S.cols;
    if (tol < 0)
        tol = S.data[0] * (A.rows > A.cols ? A.rows : A.cols) * DBL_EPSILON;
    int rank = 0;
    for (int i = 0; i < r; i++)
        if (S.data[i] > tol)
            rank++;
    mat_free(&S);
    return rank;
}

double mat_cond(mat A)
{
    mat S = svd_values(A);
    if (mat_is_empty(S))
        return NAN;
    double smax = S.data[0], smin = S.data[S.cols - 1];
    mat_free(&S);
    return smin > 0 ? smax / smin : INFINITY;
}

mat mat_pinv(mat A)
{
    /* A = U S Vt  =>  A⁺ = V S⁺ Uᵀ = Vtᵀ (S⁺ Uᵀ) */
    svd_result r = svd_thin(A);
    if (mat_is_empty(r.S))
        return mat_empty();
    int m = A.rows, n = A.cols, k = r.S.cols;
    double cutoff = 1e-15 * r.S.data[0];
    for (int i = 0; i < m; i++)
        for (int j = 0; j < k; j++)
            *mat_ptr(r.U, i, j) *= r.S.data[j] > cutoff ? 1.0 / r.S.data[j] : 0.0;
    mat P = mat_alloc(n, m);
    if (!mat_is_empty(P))
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasTrans, n, m, k, 1.0, r.Vt.data, r.Vt.stride, r.U.data, r.U.stride,
                    0.0, P.data, P.stride);
    svd_free(&r);
    return P;
}
