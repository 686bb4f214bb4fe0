/* worker_svd.c — randomized SVD and PCA of a row-distributed matrix, Mahout's dssvd and
 * dspca shape: everything of size rows x l stays on the ranks, everything of size
 * cols x l or smaller is reduced to rank 0 and broadcast back.
 *
 * It is runtime/linalg/svd_randomized.c step for step, so that with the same seed it gives
 * the same U, S and Vt (to rounding):
 *   Ωᵀ = mat_randn(l, N) after rng_seed(seed), on every rank (no communication);
 *   Gram path (N < 4·q·l): G = AᵀA by a local SYRK per rank and MPI_Reduce; the q power
 *     iterations run on rank 0 exactly as in the single-process code; Zᵀ is broadcast;
 *   direct path: Y = A·Ω on the ranks, then q times Z = AᵀY (reduce), Y = A·Z, each
 *     block orthonormalized;
 *   Y (rows x l, distributed) = Q R by TSQR: each rank's QR, the stacked R factors' QR on
 *     rank 0, each rank's Q times its piece of that Q (only l x l blocks move);
 *   B = QᵀA (reduce, l x N), its SVD on rank 0 (gesdd), U = Q·Ub stays distributed;
 *   svd_flip with the largest |U| entry found across the ranks.
 * QR and LU normalize to the same subspaces, and a QR's column signs cancel in Q·Ub, so
 * the direct path uses TSQR where the single-process code uses LU; results agree to
 * rounding. */
#include "worker.h"

#include "cairn/alloc.h"
#include "cairn/linalg.h"
#include "cairn/random.h"
#include "../../linalg/linalg_internal.h"

#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define GRAM_MAX_N 4096

/* TSQR: replace the local rows Y (count x l, row-major) of a distributed tall matrix by
 * the same rows of an orthonormal basis of its columns. Collective. */
static int tsqr(double *Y, int count, int l)
{
    int r = count < l ? count : l;
    double *tau = malloc(((size_t)l + 1) * sizeof(double));
    double *R = calloc((size_t)r * l + 1, sizeof(double));
    if (!tau || !R)
        w_fail("rank %d: out of memory in TSQR", W.rank);
    else if (r > 0 && LAPACKE_dgeqrf(LAPACK_ROW_MAJOR, count, l, Y, l, tau) != 0)
        w_fail("rank %d: QR of its %d x %d block failed", W.rank, count, l);
    if (!W.failed && r > 0) {
        for (int i = 0; i < r; i++)
            for (int j = i; j < l; j++)
                R[(size_t)i * l + j] = Y[(size_t)i * l + j];
        if (LAPACKE_dorgqr(LAPACK_ROW_MAJOR, count, r, r, Y, l, tau) != 0)
            w_fail("rank %d: forming Q of its block failed", W.rank);
    }
    if (w_agree()) {
        free(tau);
        free(R);
        return -1;
    }
    /* rank 0 stacks every rank's R (min(count_r, l) rows each) */
    int *heights = malloc((size_t)W.size * sizeof(int)), *counts = malloc((size_t)W.size * sizeof(int)),
        *displs = malloc((size_t)W.size * sizeof(int));
    MPI_Allgather(&r, 1, MPI_INT, heights, 1, MPI_INT, W.comm);
    int total = 0;
    for (int k = 0; k < W.size; k++) {
        counts[k] = heights[k] * l;
        displs[k] = total * l;
        total += heights[k];
    }
    double *stack = W.rank == 0 ? malloc(((size_t)total * l + 1) * sizeof(double)) : NULL;
    MPI_Gatherv(R, r * l, MPI_DOUBLE, stack, counts, displs, MPI_DOUBLE, 0, W.comm);
    int info = 0;
    if (W.rank == 0) {
        info = (int)LAPACKE_dgeqrf(LAPACK_ROW_MAJOR, total, l, stack, l, tau);
        if (info == 0)
            info = (int)LAPACKE_dorgqr(LAPACK_ROW_MAJOR, total, l, l, stack, l, tau);
    }
    MPI_Bcast(&info, 1, MPI_INT, 0, W.comm);
    if (info != 0) {
        if (W.rank == 0)
            w_fail("QR of the %d x %d stacked R factors failed (LAPACK info %d)", total, l, info);
        w_agree();
        free(tau), free(R), free(stack), free(heights), free(counts), free(displs);
        return -1;
    }
    /* each rank gets its r x l piece of the small Q back */
    double *piece = malloc(((size_t)r * l + 1) * sizeof(double));
    MPI_Scatterv(stack, counts, displs, MPI_DOUBLE, piece, r * l, MPI_DOUBLE, 0, W.comm);
    if (r > 0) {
        /* Y(count x l) = Qlocal(count x r, columns 0..r-1 of Y with ld l) · piece(r x l) */
        double *out = malloc((size_t)count * l * sizeof(double));
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, count, l, r, 1.0, Y, l, piece, l, 0.0, out, l);
        memcpy(Y, out, (size_t)count * l * sizeof(double));
        free(out);
    }
    free(piece), free(tau), free(R), free(stack), free(heights), free(counts), free(displs);
    return 0;
}

void w_svd_flip(double *u, int count, int k, mat Vt)
{
    /* the entry of largest magnitude of each column, first in row order on ties: each
     * rank's candidate, then the first rank holding the overall largest */
    double *best = calloc((size_t)k, sizeof(double));
    double *all = malloc((size_t)k * W.size * sizeof(double));
    for (int i = 0; i < count; i++)
        for (int j = 0; j < k; j++)
            if (fabs(u[(size_t)i * k + j]) > fabs(best[j]))
                best[j] = u[(size_t)i * k + j];
    MPI_Allgather(best, k, MPI_DOUBLE, all, k, MPI_DOUBLE, W.comm);
    for (int j = 0; j < k; j++) {
        double b = 0;
        for (int r = 0; r < W.size; r++)
            if (fabs(all[(size_t)r * k + j]) > fabs(b))
                b = all[(size_t)r * k + j];
        if (b >= 0)
            continue;
        for (int i = 0; i < count; i++)
            u[(size_t)i * k + j] = -u[(size_t)i * k + j];
        if (!mat_is_empty(Vt) && j < Vt.rows)
            for (int c = 0; c < Vt.cols; c++)
                *mat_ptr(Vt, j, c) = -*mat_ptr(Vt, j, c);
    }
    free(best);
    free(all);
}

/* Orthonormal basis of the columns of the D x l column-major block Bt (rank 0 only). */
static int qr_small(double *Bt, int D, int l)
{
    double *tau = malloc((size_t)l * sizeof(double));
    lapack_int info = LAPACKE_dgeqrf(LAPACK_COL_MAJOR, D, l, Bt, D, tau);
    if (info == 0)
        info = LAPACKE_dorgqr(LAPACK_COL_MAJOR, D, l, l, Bt, D, tau);
    free(tau);
    return (int)info;
}

/* The randomized SVD of the local rows A (count x N of an M x N matrix). On success
 * every rank has its rows of U (count x k, malloc'ed) and rank 0 has S (1 x k) and
 * Vt (k x N). Collective; -1 on every rank after an error or interrupt. */
static int rsvd(const double *A, int M, int N, int count, int k, int p, int q, uint64_t seed, double **U_out,
                mat *S_out, mat *Vt_out)
{
    int l = k + p < N ? k + p : N;
    int use_gram = q > 0 && N <= GRAM_MAX_N && (double)N < 4.0 * q * l;
    rng_seed(seed);
    mat Om = mat_randn(l, N); /* Ωᵀ, the same on every rank */
    double *Y = malloc(((size_t)count * l + 1) * sizeof(double));
    mat Zt = mat_alloc(l, N);
    if (!Om.data || !Y || !Zt.data)
        w_fail("rank %d: out of memory for the %d x %d sketch", W.rank, count, l);
    if (w_agree())
        goto fail;
    if (use_gram) {
        mat G = mat_zeros(N, N);
        if (!G.data) {
            w_fail("rank %d: out of memory for the %d x %d Gram matrix", W.rank, N, N);
        } else if (count > 0) {
            cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, N, count, 1.0, A, N, 0.0, G.data, N);
        }
        if (w_agree()) {
            mat_free(&G);
            goto fail;
        }
        mat Gs = W.rank == 0 ? mat_alloc(N, N) : mat_empty();
        MPI_Reduce(G.data, Gs.data, N * N, MPI_DOUBLE, MPI_SUM, 0, W.comm);
        mat_free(&G);
        int finite = 1;
        if (W.rank == 0) {
            for (int i = 0; i < N; i++)
                for (int j = 0; j < i; j++)
                    *mat_ptr(Gs, i, j) = *mat_ptr(Gs, j, i);
            finite = la_all_finite(Gs);
        }
        MPI_Bcast(&finite, 1, MPI_INT, 0, W.comm);
        if (!finite) {
            use_gram = 0; /* squaring overflowed: the direct path, as single-process */
            mat_free(&Gs);
        } else {
            mat Z2 = W.rank == 0 ? mat_alloc(l, N) : mat_empty();
            if (W.rank == 0)
                memcpy(Zt.data, Om.data, (size_t)l * N * sizeof(double));
            for (int it = 0; it < q; it++) {
                if (w_checkpoint("power iterations", it, q)) {
                    mat_free(&Z2);
                    mat_free(&Gs);
                    goto fail;
                }
                int info = 0;
                if (W.rank == 0) {
                    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, l, N, N, 1.0, Zt.data, N, Gs.data, N, 0.0,
                                Z2.data, N);
                    mat t = Zt;
                    Zt = Z2;
                    Z2 = t;
                    info = qr_small(Zt.data, N, l);
                }
                MPI_Bcast(&info, 1, MPI_INT, 0, W.comm);
                if (info != 0) {
                    if (W.rank == 0)
                        w_fail("QR of the %d x %d power-iteration block failed", N, l);
                    w_agree();
                    mat_free(&Z2);
                    mat_free(&Gs);
                    goto fail;
                }
            }
            mat_free(&Z2);
            mat_free(&Gs);
            MPI_Bcast(Zt.data, l * N, MPI_DOUBLE, 0, W.comm);
            /* Y = A·Z, i.e. Yᵀ = Zᵀ Aᵀ; row-major Y (count x l) */
            if (count > 0)
                cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, count, l, N, 1.0, A, N, Zt.data, N, 0.0, Y, l);
        }
    }
    if (!use_gram) {
        if (count > 0)
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, count, l, N, 1.0, A, N, Om.data, N, 0.0, Y, l);
        mat Zl = mat_zeros(l, N);
        for (int it = 0; it < q; it++) {
            if (w_checkpoint("power iterations", it, q)) {
                mat_free(&Zl);
                goto fail;
            }
            if (tsqr(Y, count, l) < 0) {
                mat_free(&Zl);
                goto fail;
            }
            /* Zᵀ (l x N) = Yᵀ A, summed over the ranks */
            memset(Zl.data, 0, (size_t)l * N * sizeof(double));
            if (count > 0)
                cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, l, N, count, 1.0, Y, l, A, N, 0.0, Zl.data, N);
            MPI_Reduce(Zl.data, Zt.data, l * N, MPI_DOUBLE, MPI_SUM, 0, W.comm);
            int info = W.rank == 0 ? qr_small(Zt.data, N, l) : 0;
            MPI_Bcast(&info, 1, MPI_INT, 0, W.comm);
            if (info != 0) {
                if (W.rank == 0)
                    w_fail("QR of the %d x %d power-iteration block failed", N, l);
                w_agree();
                mat_free(&Zl);
                goto fail;
            }
            MPI_Bcast(Zt.data, l * N, MPI_DOUBLE, 0, W.comm);
            if (count > 0)
                cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, count, l, N, 1.0, A, N, Zt.data, N, 0.0, Y, l);
        }
        mat_free(&Zl);
    }
    int finite = 1;
    for (size_t t = 0; t < (size_t)count * l && finite; t++)
        finite = isfinite(Y[t]);
    if (!finite)
        w_fail("rank %d: the range basis of the %d x %d matrix overflowed (values too large?)", W.rank, M, N);
    if (w_agree() || tsqr(Y, count, l) < 0)
        goto fail;
    /* B = QᵀA (l x N) on rank 0 */
    mat Bl = mat_zeros(l, N), B = W.rank == 0 ? mat_alloc(l, N) : mat_empty();
    if (count > 0)
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, l, N, count, 1.0, Y, l, A, N, 0.0, Bl.data, N);
    MPI_Reduce(Bl.data, B.data, l * N, MPI_DOUBLE, MPI_SUM, 0, W.comm);
    mat_free(&Bl);
    mat Ub = mat_empty(), Sb = mat_empty(), Vtb = mat_empty();
    if (W.rank == 0 && la_gesdd("dmat_svd_randomized", B, 'S', &Ub, &Sb, &Vtb) < 0)
        w_fail("SVD of the %d x %d projected matrix failed", l, N);
    mat_free(&B);
    if (w_agree()) {
        mat_free(&Ub), mat_free(&Sb), mat_free(&Vtb);
        goto fail;
    }
    /* Ub's first k columns to every rank; U = Q·Ub */
    mat Ubk = mat_alloc(l, k);
    if (W.rank == 0)
        for (int i = 0; i < l; i++)
            memcpy(mat_ptr(Ubk, i, 0), mat_ptr(Ub, i, 0), (size_t)k * sizeof(double));
    MPI_Bcast(Ubk.data, l * k, MPI_DOUBLE, 0, W.comm);
    double *U = malloc(((size_t)count * k + 1) * sizeof(double));
    if (count > 0)
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, count, k, l, 1.0, Y, l, Ubk.data, k, 0.0, U, k);
    mat_free(&Ubk);
    mat S = mat_empty(), Vt = mat_empty();
    if (W.rank == 0) {
        S = mat_alloc(1, k);
        Vt = mat_alloc(k, N);
        memcpy(S.data, Sb.data, (size_t)k * sizeof(double));
        memcpy(Vt.data, Vtb.data, (size_t)k * N * sizeof(double));
    }
    mat_free(&Ub), mat_free(&Sb), mat_free(&Vtb);
    w_svd_flip(U, count, k, Vt);
    mat_free(&Om);
    mat_free(&Zt);
    free(Y);
    *U_out = U;
    *S_out = S;
    *Vt_out = Vt;
    return 0;
fail:
    mat_free(&Om);
    mat_free(&Zt);
    free(Y);
    return -1;
}

int op_svd_randomized(const dmat_msg *req, dmat_msg *rep)
{
    dobj *A = w_object((uint64_t)req->h.i[0], "A");
    if (w_agree())
        return -1;
    int k = (int)req->h.i[1], p = (int)req->h.i[2], q = (int)req->h.i[3];
    uint64_t seed = (uint64_t)req->h.i[4];
    double *U = NULL;
    mat S, Vt;
    if (rsvd(A->data, A->rows, A->cols, A->count, k, p, q, seed, &U, &S, &Vt) < 0)
        return -1;
    dobj *Ud = store_new((uint64_t)req->h.i[7], A->rows, k);
    if (w_agree()) {
        store_free((uint64_t)req->h.i[7]);
        free(U), mat_free(&S), mat_free(&Vt);
        return -1;
    }
    memcpy(Ud->data, U, (size_t)A->count * k * sizeof(double));
    free(U);
    w_created(rep, Ud);
    if (W.rank == 0) {
        rep->m[0] = S;
        rep->m[1] = Vt;
        rep->h.nmats = 2;
    }
    return 0;
}

int op_pca_randomized(const dmat_msg *req, dmat_msg *rep)
{
    dobj *X = w_object((uint64_t)req->h.i[0], "X");
    if (w_agree())
        return -1;
    int k = (int)req->h.i[1], N = X->cols;
    uint64_t seed = (uint64_t)req->h.i[4];
    mat mu = w_col_means(X);
    /* a centered copy of the local rows, as pca_fit_randomized centers a copy */
    double *C = cairn_alloc(((size_t)X->count * N + 1) * sizeof(double));
    if (!C)
        w_fail("rank %d: out of memory for its centered rows", W.rank);
    if (w_agree()) {
        cairn_free(C);
        mat_free(&mu);
        return -1;
    }
    double ss = 0, total = 0;
    for (int i = 0; i < X->count; i++)
        for (int j = 0; j < N; j++) {
            double v = X->data[(size_t)i * N + j] - mu.data[j];
            C[(size_t)i * N + j] = v;
            ss += v * v;
        }
    MPI_Reduce(&ss, &total, 1, MPI_DOUBLE, MPI_SUM, 0, W.comm);
    double *U = NULL;
    mat S, Vt;
    int rc = rsvd(C, X->rows, N, X->count, k, 10, 7, seed, &U, &S, &Vt);
    cairn_free(C);
    free(U);
    if (rc < 0) {
        mat_free(&mu);
        return -1;
    }
    if (W.rank == 0) {
        rep->m[0] = Vt;
        rep->m[1] = mu;
        rep->m[2] = S;
        rep->h.nmats = 3;
        rep->h.d[0] = total / (X->rows - 1);
    } else {
        mat_free(&mu);
    }
    return 0;
}
