/* svd_cholqr.c — thin SVD of tall-skinny matrices through CholeskyQR2.
 *
 * For A m x n with m >= 2n, gesdd spends most of its time in Householder QR (geqrf and
 * orgqr run at half the speed of GEMM here). CholeskyQR2 (Fukaya, Nakatsukasa et al.)
 * gets the same A = Q R from level-3 BLAS only:
 *   R1 = chol(AᵀA), Q1 = A R1⁻¹;  R2 = chol(Q1ᵀQ1), Q = Q1 R2⁻¹, R = R2 R1;
 * then R = Ur S Vt (gesdd on n x n) and U = Q1 (R2⁻¹ Ur), so Q is never formed.
 * The first pass loses orthogonality in proportion to cond(A)², so it is only trusted
 * when its result can be shown good: Cholesky must succeed both times and Q1ᵀQ1 must be
 * within 0.1 of I (Frobenius), which bounds cond(Q1)² by 1.23 and makes the second pass
 * orthogonal to working precision; each step is backward stable, so S carries the same
 * eps·||A|| error as gesdd's. Otherwise (rank deficient or badly conditioned input)
 * the caller falls back to gesdd. A wide A is handled as its transpose. */
#include "cairn/alloc.h"
#include "cairn/error.h"
#include "linalg_internal.h"

#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <string.h>

/* Upper Cholesky factor of the symmetric n x n row-major G in place (lower part zeroed); 0 or -1. */
static int chol_upper(double *G, int n)
{
    /* Row-major upper R with G = RᵀR is the column-major lower factor of the same buffer. */
    if (LAPACKE_dpotrf(LAPACK_COL_MAJOR, 'L', n, G, n) != 0)
        return -1;
    for (int i = 1; i < n; i++)
        memset(G + (size_t)i * (size_t)n, 0, (size_t)i * sizeof(double));
    return 0;
}

int la_svd_cholqr(const char *func, mat A, char jobz, mat *U, mat *S, mat *Vt)
{
    int trans = A.rows < A.cols;
    int m = trans ? A.cols : A.rows; /* op(A) is m x n, tall */
    int n = trans ? A.rows : A.cols;
    int rc = 1;
    mat Q1 = mat_alloc(m, n), G = mat_alloc(n, n), R1 = mat_empty();
    mat Ur = mat_empty(), Sr = mat_empty(), Vtr = mat_empty(), Uop = mat_empty();
    if (mat_is_empty(Q1) || mat_is_empty(G))
        goto out;
    /* Pass 1 */
    cblas_dsyrk(CblasRowMajor, CblasUpper, trans ? CblasNoTrans : CblasTrans, n, m, 1.0, A.data, A.stride, 0.0,
                G.data, n);
    if (!la_all_finite(G) || chol_upper(G.data, n) < 0) /* AᵀA overflows for entries near sqrt(DBL_MAX) */
        goto out;
    if (trans)
        la_transpose(Q1.data, n, A.data, A.stride, m, n);
    else
        for (int i = 0; i < m; i++)
            memcpy(mat_ptr(Q1, i, 0), mat_ptr(A, i, 0), (size_t)n * sizeof(double));
    cblas_dtrsm(CblasRowMajor, CblasRight, CblasUpper, CblasNoTrans, CblasNonUnit, m, n, 1.0, G.data, n, Q1.data, n);
    R1 = G;
    G = mat_alloc(n, n);
    if (mat_is_empty(G))
        goto out;
    /* Pass 2, with the check that makes it trustworthy */
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, n, m, 1.0, Q1.data, n, 0.0, G.data, n);
    double dev = 0;
    for (int i = 0; i < n; i++)
        for (int j = i; j < n; j++) {
            double d = *mat_ptr(G, i, j) - (i == j);
            dev += (i == j ? 1 : 2) * d * d;
        }
    if (!(sqrt(dev) <= 0.1) || chol_upper(G.data, n) < 0)
        goto out;
    /* R = R2 R1 (into R1) */
    cblas_dtrmm(CblasRowMajor, CblasLeft, CblasUpper, CblasNoTrans, CblasNonUnit, n, n, 1.0, G.data, n, R1.data, n);
    if (la_gesdd(func, R1, jobz == 'N' ? 'N' : 'S', jobz == 'N' ? NULL : &Ur, &Sr, jobz == 'N' ? NULL : &Vtr) < 0) {
        rc = -1;
        goto out;
    }
    if (jobz != 'N') {
        /* U = Q1 (R2⁻¹ Ur) */
        cblas_dtrsm(CblasRowMajor, CblasLeft, CblasUpper, CblasNoTrans, CblasNonUnit, n, n, 1.0, G.data, n, Ur.data,
                    Ur.stride);
        if (!trans) {
            Uop = mat_alloc(m, n);
            if (mat_is_empty(Uop)) {
                rc = -1;
                goto out;
            }
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, n, 1.0, Q1.data, n, Ur.data, Ur.stride, 0.0,
                        Uop.data, n);
            *U = Uop;
            *Vt = Vtr;
        } else {
            /* A = op(A)ᵀ = Vtrᵀ S (Q1 X)ᵀ: U = Vtrᵀ (n x n), Vt = Xᵀ Q1ᵀ (n x m) */
            mat Ut = mat_alloc(n, n);
            Uop = mat_alloc(n, m);
            if (mat_is_empty(Ut) || mat_is_empty(Uop)) {
                mat_free(&Ut);
                rc = -1;
                goto out;
            }
            la_transpose(Ut.data, n, Vtr.data, Vtr.stride, n, n);
            cblas_dgemm(CblasRowMajor, CblasTrans, CblasTrans, n, m, n, 1.0, Ur.data, Ur.stride, Q1.data, n, 0.0,
                        Uop.data, m);
            *U = Ut;
            *Vt = Uop;
            mat_free(&Vtr);
        }
        Uop = mat_empty();
        Vtr = mat_empty();
    }
    *S = Sr;
    Sr = mat_empty();
    rc = 0;
out:
    mat_free(&Q1);
    mat_free(&G);
    mat_free(&R1);
    mat_free(&Ur);
    mat_free(&Sr);
    mat_free(&Vtr);
    mat_free(&Uop);
    return rc;
}
