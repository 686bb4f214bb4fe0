/* svd_randomized.c — randomized truncated SVD (Halko, Martinsson & Tropp 2011, alg. 4.4).
 *
 * Work on op(A), which is A or Aᵀ, whichever is tall (M x N, M >= N); nothing of A is
 * copied: BLAS reads it with a transpose flag. With l = k + oversample:
 *   Y = op(A) (op(A)ᵀ op(A))^q Ω,  Q = qr(Y),  B = Qᵀ op(A) = Ub S Vt,  U = Q Ub.
 * Bases are kept as l x D row-major blocks, which are the D x l column-major matrices
 * LAPACK factors in place, so every step is a BLAS-3 GEMM or a blocked factorization.
 *
 * Two ways to run the q power iterations, chosen by cost:
 *   - direct: 2q tall-skinny GEMMs with A (4·q·M·N·l flops), LU-normalized between them
 *     like scikit-learn's "LU" power_iteration_normalizer;
 *   - Gram: when N < 4·q·l, forming G = op(A)ᵀ op(A) once with SYRK costs M·N² flops,
 *     less than the GEMMs, and the iterations then run on the small N x N matrix
 *     (QR-normalized). The subspace is the same, (AᵀA)^q Ω; rounding in G only touches
 *     directions with σ < sqrt(eps)·σ_max, which the power iterations suppress anyway, and
 *     the final Q, B and small SVD are computed from A itself, as in the direct path.
 *     For Fashion-MNIST (60000 x 784, k=50, q=7) this halves the flops. */
#include "cairn/linalg.h"
#include "cairn/alloc.h"
#include "cairn/display.h"
#include "cairn/error.h"
#include "cairn/random.h"
#include "linalg_internal.h"

#include <cblas.h>
#include <lapacke.h>
#include <string.h>

#define FUNC "svd_randomized"
#define GRAM_MAX_N 4096

/* op(A) is M x N: trans = 0 means op(A) = A (A is M x N), 1 means op(A) = Aᵀ (A is N x M). */
typedef struct op {
    mat A;
    int trans;
    int M, N;
} op;

/* Yt (l x N) = Xt (l x M) · op(A) */
static void op_apply_left(op o, const double *Xt, int l, double *Yt)
{
    cblas_dgemm(CblasRowMajor, CblasNoTrans, o.trans ? CblasTrans : CblasNoTrans, l, o.N, o.M, 1.0, Xt, o.M,
                o.A.data, o.A.stride, 0.0, Yt, o.N);
}

/* Yt (l x M) = Zt (l x N) · op(A)ᵀ, i.e. (op(A) Z)ᵀ */
static void op_apply_right(op o, const double *Zt, int l, double *Yt)
{
    cblas_dgemm(CblasRowMajor, CblasNoTrans, o.trans ? CblasNoTrans : CblasTrans, l, o.M, o.N, 1.0, Zt, o.N,
                o.A.data, o.A.stride, 0.0, Yt, o.M);
}

/* Orthonormal basis of the columns of the D x l column-major block Bt, in place. */
static int orthonormalize_qr(double *Bt, int D, int l, double *tau)
{
    lapack_int info = LAPACKE_dgeqrf(LAPACK_COL_MAJOR, D, l, Bt, D, tau);
    if (info == 0)
        info = LAPACKE_dorgqr(LAPACK_COL_MAJOR, D, l, l, Bt, D, tau);
    return (int)info;
}

/* P·L from Y = P·L·U: a well-conditioned basis of Y's span for a quarter of QR's cost. */
static int normalize_lu(double *Bt, int D, int l, lapack_int *ipiv)
{
    lapack_int info = LAPACKE_dgetrf(LAPACK_COL_MAJOR, D, l, Bt, D, ipiv);
    if (info < 0)
        return (int)info;
    /* info > 0 only says U has a zero pivot; L is still a valid unit lower basis. */
    for (int j = 0; j < l; j++) {
        double *col = Bt + (size_t)j * (size_t)D;
        memset(col, 0, (size_t)j * sizeof(double));
        col[j] = 1.0;
    }
    return (int)LAPACKE_dlaswp(LAPACK_COL_MAJOR, l, Bt, D, 1, l, ipiv, -1);
}

svd_result svd_randomized(mat A, int k, int oversample, int power_iters, uint64_t seed)
{
    svd_result res = {mat_empty(), mat_empty(), mat_empty()};
    if (la_check_input(FUNC, A, "A") < 0)
        return res;
    int m = A.rows, n = A.cols, r = m < n ? m : n;
    if (k < 1 || k > r) {
        cairn_error(FUNC, "k = %d must be in 1..%d for a %d x %d matrix", k, r, m, n);
        return res;
    }
    if (oversample < 0 || power_iters < 0) {
        cairn_error(FUNC, "oversample (%d) and power_iters (%d) must be >= 0", oversample, power_iters);
        return res;
    }
    op o = {A, m < n, m >= n ? m : n, r};
    int M = o.M, N = o.N;
    int l = k + oversample < N ? k + oversample : N;
    int use_gram = power_iters > 0 && N <= GRAM_MAX_N && (double)N < 4.0 * power_iters * l;

    mat Om = mat_empty(), G = mat_empty(), Zt = mat_empty(), Z2 = mat_empty(), Yt = mat_empty();
    mat Bm = mat_empty(), Ub = mat_empty(), S = mat_empty(), Vtb = mat_empty(), Uop = mat_empty();
    double *tau = cairn_alloc((size_t)l * sizeof(double));
    lapack_int *ipiv = cairn_alloc((size_t)l * sizeof(lapack_int));
    if (!tau || !ipiv)
        goto fail;

    rng_seed(seed);
    Om = mat_randn(l, N); /* Ωᵀ: l x N, i.e. the N x l column-major Ω */
    Yt = mat_alloc(l, M);
    if (mat_is_empty(Om) || mat_is_empty(Yt))
        goto fail;

    if (use_gram) {
        G = mat_alloc(N, N);
        Z2 = mat_alloc(l, N);
        if (mat_is_empty(G) || mat_is_empty(Z2))
            goto fail;
        cblas_dsyrk(CblasRowMajor, CblasUpper, o.trans ? CblasNoTrans : CblasTrans, N, M, 1.0, A.data, A.stride,
                    0.0, G.data, G.stride);
        for (int i = 0; i < N; i++)
            for (int j = 0; j < i; j++)
                *mat_ptr(G, i, j) = *mat_ptr(G, j, i);
        if (!la_all_finite(G)) { /* entries near sqrt(DBL_MAX): squaring overflowed, go direct */
            use_gram = 0;
            mat_free(&G);
            mat_free(&Z2);
        }
    }
    if (use_gram) {
        Zt = Om;
        Om = mat_empty();
        for (int it = 0; it < power_iters; it++) {
            if (cairn_interrupted()) {
                cairn_error(FUNC, "interrupted after %d of %d power iterations", it, power_iters);
                goto fail;
            }
            /* (G Z)ᵀ = Zᵀ G since G is symmetric */
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, l, N, N, 1.0, Zt.data, N, G.data, N, 0.0,
                        Z2.data, N);
            mat t = Zt;
            Zt = Z2;
            Z2 = t;
            if (orthonormalize_qr(Zt.data, N, l, tau) != 0) {
                cairn_error(FUNC, "QR of the %d x %d power-iteration block failed", N, l);
                goto fail;
            }
        }
        op_apply_right(o, Zt.data, l, Yt.data);
    } else {
        Zt = mat_alloc(l, N);
        if (mat_is_empty(Zt))
            goto fail;
        op_apply_right(o, Om.data, l, Yt.data);
        for (int it = 0; it < power_iters; it++) {
            if (cairn_interrupted()) {
                cairn_error(FUNC, "interrupted after %d of %d power iterations", it, power_iters);
                goto fail;
            }
            if (normalize_lu(Yt.data, M, l, ipiv) < 0)
                goto lu_fail;
            op_apply_left(o, Yt.data, l, Zt.data);
            if (normalize_lu(Zt.data, N, l, ipiv) < 0)
                goto lu_fail;
            op_apply_right(o, Zt.data, l, Yt.data);
        }
    }
    if (!la_all_finite(Yt)) {
        cairn_error(FUNC, "range basis of the %d x %d matrix overflowed (values too large?)", m, n);
        goto fail;
    }
    if (orthonormalize_qr(Yt.data, M, l, tau) != 0) {
        cairn_error(FUNC, "QR of the %d x %d range basis failed", M, l);
        goto fail;
    }
    /* B = Qᵀ op(A), small l x N */
    Bm = mat_alloc(l, N);
    if (mat_is_empty(Bm))
        goto fail;
    op_apply_left(o, Yt.data, l, Bm.data);
    if (la_gesdd(FUNC, Bm, 'S', &Ub, &S, &Vtb) < 0)
        goto fail;
    /* U = Q Ub with Q = Ytᵀ (M x l) */
    Uop = mat_alloc(M, l);
    if (mat_is_empty(Uop))
        goto fail;
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, M, l, l, 1.0, Yt.data, M, Ub.data, Ub.stride, 0.0,
                Uop.data, Uop.stride);

    res.S = mat_alloc(1, k);
    if (!o.trans) {
        res.U = mat_alloc(m, k);
        res.Vt = mat_alloc(k, n);
        if (mat_is_empty(res.U) || mat_is_empty(res.Vt) || mat_is_empty(res.S))
            goto fail;
        for (int i = 0; i < m; i++)
            memcpy(mat_ptr(res.U, i, 0), mat_ptr(Uop, i, 0), (size_t)k * sizeof(double));
        memcpy(res.Vt.data, Vtb.data, (size_t)k * (size_t)n * sizeof(double));
    } else {
        /* A = op(A)ᵀ = Vtbᵀ S Uopᵀ */
        res.U = mat_alloc(m, k);
        res.Vt = mat_alloc(k, n);
        if (mat_is_empty(res.U) || mat_is_empty(res.Vt) || mat_is_empty(res.S))
            goto fail;
        la_transpose(res.U.data, k, Vtb.data, Vtb.stride, m, k);
        la_transpose(res.Vt.data, n, Uop.data, Uop.stride, k, n);
    }
    memcpy(res.S.data, S.data, (size_t)k * sizeof(double));
    la_svd_flip(res.U, res.Vt);
    goto done;

lu_fail:
    cairn_error(FUNC, "LU normalization of a power-iteration block failed (%d x %d matrix)", m, n);
fail:
    svd_free(&res);
done:
    cairn_free(tau);
    cairn_free(ipiv);
    mat_free(&Om);
    mat_free(&G);
    mat_free(&Zt);
    mat_free(&Z2);
    mat_free(&Yt);
    mat_free(&Bm);
    mat_free(&Ub);
    mat_free(&S);
    mat_free(&Vtb);
    mat_free(&Uop);
    return res;
}
