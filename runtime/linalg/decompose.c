/* decompose.c — symmetric eigendecomposition, QR and Cholesky through LAPACKE.
 *
 * Each routine checks what LAPACK would silently assume: syevd and potrf read only one
 * triangle, so a non-symmetric input would give a wrong answer without complaint; here
 * it is an error naming the offending entry. Signs are normalized (eigenvectors: largest
 * entry positive; QR: diag(R) >= 0) so results are reproducible and unique. */
#include "cairn/linalg.h"
#include "cairn/alloc.h"
#include "cairn/error.h"
#include "linalg_internal.h"

#include <lapacke.h>
#include <math.h>
#include <string.h>

/* 0 when A is square and symmetric to a relative 1e-10, else an error and -1. */
static int check_symmetric(const char *func, mat A)
{
    if (A.rows != A.cols) {
        cairn_error(func, "A must be square, got %d x %d", A.rows, A.cols);
        return -1;
    }
    double amax = 0;
    for (int i = 0; i < A.rows; i++)
        for (int j = 0; j < A.cols; j++)
            if (fabs(*mat_ptr(A, i, j)) > amax)
                amax = fabs(*mat_ptr(A, i, j));
    double tol = 1e-10 * amax;
    for (int i = 0; i < A.rows; i++)
        for (int j = i + 1; j < A.cols; j++) {
            double a = *mat_ptr(A, i, j), b = *mat_ptr(A, j, i);
            if (fabs(a - b) > tol) {
                cairn_error(func, "A (%d x %d) is not symmetric: A[%d][%d] = %.17g but A[%d][%d] = %.17g", A.rows,
                            A.cols, i, j, a, j, i, b);
                return -1;
            }
        }
    return 0;
}

eig_result eig_symmetric(mat A)
{
    const char *func = "eig_symmetric";
    eig_result r = {mat_empty(), mat_empty()};
    if (la_check_input(func, A, "A") < 0 || check_symmetric(func, A) < 0)
        return r;
    int n = A.rows;
    /* Symmetric: the row-major copy is also the column-major matrix. */
    mat W = la_copy(func, A);
    r.values = mat_alloc(1, n);
    if (mat_is_empty(W) || mat_is_empty(r.values)) {
        mat_free(&W);
        eig_free(&r);
        return r;
    }
    lapack_int info = LAPACKE_dsyevd(LAPACK_COL_MAJOR, 'V', 'U', n, W.data, n, r.values.data);
    if (info != 0) {
        if (info > 0)
            cairn_error(func, "eigenvalue iteration did not converge for the %d x %d matrix (LAPACK dsyevd info=%d)",
                        n, n, (int)info);
        else
            cairn_error(func, "LAPACK dsyevd rejected argument %d (%d x %d matrix)", (int)-info, n, n);
        mat_free(&W);
        eig_free(&r);
        return r;
    }
    /* Column-major eigenvectors are rows of W; transpose so column i pairs with values[i]. */
    r.vectors = la_from_colmajor(func, W.data, n, n, n);
    mat_free(&W);
    if (mat_is_empty(r.vectors)) {
        eig_free(&r);
        return r;
    }
    la_svd_flip(r.vectors, mat_empty());
    return r;
}

void eig_free(eig_result *r)
{
    if (!r)
        return;
    mat_free(&r->values);
    mat_free(&r->vectors);
}

qr_result qr_thin(mat A)
{
    const char *func = "qr_thin";
    qr_result q = {mat_empty(), mat_empty()};
    if (la_check_input(func, A, "A") < 0)
        return q;
    int m = A.rows, n = A.cols, r = m < n ? m : n;
    double *W = la_to_colmajor(func, A);
    double *tau = cairn_alloc((size_t)r * sizeof(double));
    if (!W || !tau)
        goto fail;
    lapack_int info = LAPACKE_dgeqrf(LAPACK_COL_MAJOR, m, n, W, m, tau);
    if (info != 0) {
        cairn_error(func, "LAPACK dgeqrf failed (info=%d) for a %d x %d matrix", (int)info, m, n);
        goto fail;
    }
    q.R = mat_zeros(r, n);
    if (mat_is_empty(q.R))
        goto fail;
    for (int i = 0; i < r; i++)
        for (int j = i; j < n; j++)
            *mat_ptr(q.R, i, j) = W[i + (size_t)j * (size_t)m];
    info = LAPACKE_dorgqr(LAPACK_COL_MAJOR, m, r, r, W, m, tau);
    if (info != 0) {
        cairn_error(func, "LAPACK dorgqr failed (info=%d) for a %d x %d matrix", (int)info, m, n);
        goto fail;
    }
    q.Q = la_from_colmajor(func, W, m, r, m);
    if (mat_is_empty(q.Q))
        goto fail;
    for (int i = 0; i < r; i++) {
        if (*mat_ptr(q.R, i, i) >= 0)
            continue;
        for (int j = i; j < n; j++)
            *mat_ptr(q.R, i, j) = -*mat_ptr(q.R, i, j);
        for (int t = 0; t < m; t++)
            *mat_ptr(q.Q, t, i) = -*mat_ptr(q.Q, t, i);
    }
    cairn_free(W);
    cairn_free(tau);
    return q;
fail:
    cairn_free(W);
    cairn_free(tau);
    qr_free(&q);
    return q;
}

void qr_free(qr_result *r)
{
    if (!r)
        return;
    mat_free(&r->Q);
    mat_free(&r->R);
}

mat mat_cholesky(mat A)
{
    const char *func = "mat_cholesky";
    if (la_check_input(func, A, "A") < 0 || check_symmetric(func, A) < 0)
        return mat_empty();
    int n = A.rows;
    mat L = la_copy(func, A);
    if (mat_is_empty(L))
        return L;
    /* Column-major upper factor U (A = UᵀU) read row-major is L = Uᵀ: lower, A = L Lᵀ. */
    lapack_int info = LAPACKE_dpotrf(LAPACK_COL_MAJOR, 'U', n, L.data, n);
    if (info > 0) {
        cairn_error(func, "A (%d x %d) is not positive definite (leading minor of order %d)", n, n, (int)info);
        mat_free(&L);
        return L;
    }
    if (info < 0) {
        cairn_error(func, "LAPACK dpotrf rejected argument %d (%d x %d matrix)", (int)-info, n, n);
        mat_free(&L);
        return L;
    }
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++)
            *mat_ptr(L, i, j) = 0.0;
    return L;
}
