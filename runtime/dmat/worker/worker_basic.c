/* worker_basic.c — the row-wise operations: scatter/gather, elementwise, column means,
 * the products whose result is small (AᵀA, AᵀB: a local BLAS-3 product per rank, summed
 * with MPI_Reduce) or whose other factor is small (A·B, A·Bᵀ: B is broadcast with the
 * request, each rank multiplies its own rows, nothing else moves), reconstruction from an
 * SVD, seeded random numbers, the Shepp–Logan phantom volume (each rank makes its own
 * slices) and the cluster's memory report. */
#include "worker.h"

#include "cairn/alloc.h"
#include "cairn/dmat.h"
#include "cairn/random.h"
#include "../../io/io_internal.h"

#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int op_info(const dmat_msg *req, dmat_msg *rep)
{
    (void)req;
    double mine[4] = {(double)store_bytes(), 0, (double)getpid(), w_traffic()};
    FILE *f = fopen("/proc/self/statm", "r");
    long pages_total = 0, pages_res = 0;
    if (f) {
        if (fscanf(f, "%ld %ld", &pages_total, &pages_res) == 2)
            mine[1] = (double)pages_res * (double)sysconf(_SC_PAGESIZE);
        fclose(f);
    }
    mat all = W.rank == 0 ? mat_alloc(W.size, 4) : mat_empty();
    PMPI_Gather(mine, 4, MPI_DOUBLE, all.data, 4, MPI_DOUBLE, 0, W.comm); /* not counted as traffic */
    if (W.rank == 0) {
        rep->m[0] = mat_transpose(all); /* 4 x ranks: bytes held, resident, pid, MPI bytes moved */
        rep->h.nmats = 1;
        mat_free(&all);
    }
    return 0;
}

int op_scatter(const dmat_msg *req, dmat_msg *rep)
{
    int M = (int)req->h.i[2], N = (int)req->h.i[3];
    uint64_t id = (uint64_t)req->h.i[7];
    dobj *o = store_new(id, M, N);
    if (w_agree()) {
        store_free(id);
        return -1;
    }
    if (W.rank == 0) {
        const mat X = req->m[0];
        memcpy(o->data, X.data, (size_t)o->count * N * sizeof(double));
        for (int r = 1; r < W.size; r++) {
            int first, count;
            dmat_partition(M, W.size, r, &first, &count);
            w_send(mat_ptr(X, first, 0), (size_t)count * N, r);
        }
        w_created(rep, o);
    } else {
        w_recv(o->data, (size_t)o->count * N, 0);
    }
    return 0;
}

int op_gather(const dmat_msg *req, dmat_msg *rep)
{
    dobj *A = w_object((uint64_t)req->h.i[0], "A");
    if (w_agree())
        return -1;
    int first = (int)req->h.i[1], count = (int)req->h.i[2], N = A->cols;
    int lo = first > A->first ? first : A->first;
    int hi = first + count < A->first + A->count ? first + count : A->first + A->count;
    if (W.rank != 0) {
        if (hi > lo)
            w_send(A->data + (size_t)(lo - A->first) * N, (size_t)(hi - lo) * N, 0);
        return 0;
    }
    mat out = mat_alloc(count, N);
    if (!out.data)
        w_fail("rank 0: out of memory for the %d x %d result", count, N);
    for (int r = 0; r < W.size; r++) {
        int f, c;
        dmat_partition(A->rows, W.size, r, &f, &c);
        int l = first > f ? first : f, h = first + count < f + c ? first + count : f + c;
        if (h <= l)
            continue;
        size_t n = (size_t)(h - l) * N;
        if (r == 0) {
            if (out.data)
                memcpy(out.data, A->data + (size_t)(l - f) * N, n * sizeof(double));
        } else if (out.data) {
            w_recv(mat_ptr(out, l - first, 0), n, r);
        } else {
            double *sink = malloc(n * sizeof(double));
            if (sink)
                w_recv(sink, n, r);
            free(sink);
        }
    }
    rep->m[0] = out;
    rep->h.nmats = 1;
    return out.data ? 0 : -1;
}

/* A new object shaped rows x cols with id from the request, or NULL on every rank. */
static dobj *new_result(const dmat_msg *req, int rows, int cols)
{
    uint64_t id = (uint64_t)req->h.i[7];
    dobj *o = store_new(id, rows, cols);
    if (w_agree()) {
        store_free(id);
        return NULL;
    }
    return o;
}

int op_affine(const dmat_msg *req, dmat_msg *rep)
{
    dobj *A = w_object((uint64_t)req->h.i[0], "A");
    if (w_agree())
        return -1;
    dobj *C = new_result(req, A->rows, A->cols);
    if (!C)
        return -1;
    double alpha = req->h.d[0], beta = req->h.d[1];
    size_t n = (size_t)A->count * A->cols;
    for (size_t k = 0; k < n; k++)
        C->data[k] = alpha * A->data[k] + beta;
    w_created(rep, C);
    return 0;
}

mat w_col_means(const dobj *A)
{
    int N = A->cols;
    mat sums = mat_zeros(1, N), means = mat_zeros(1, N);
    if (!sums.data || !means.data) {
        w_fail("rank %d: out of memory", W.rank);
        /* still take part */
        double *tmp = calloc((size_t)N, sizeof(double)), *tmp2 = calloc((size_t)N, sizeof(double));
        MPI_Allreduce(tmp, tmp2, N, MPI_DOUBLE, MPI_SUM, W.comm);
        free(tmp);
        free(tmp2);
        mat_free(&sums);
        mat_free(&means);
        return mat_empty();
    }
    for (int i = 0; i < A->count; i++) {
        const double *row = A->data + (size_t)i * N;
        for (int j = 0; j < N; j++)
            sums.data[j] += row[j];
    }
    MPI_Allreduce(sums.data, means.data, N, MPI_DOUBLE, MPI_SUM, W.comm);
    for (int j = 0; j < N; j++)
        means.data[j] /= A->rows;
    mat_free(&sums);
    return means;
}

int op_col_means(const dmat_msg *req, dmat_msg *rep)
{
    dobj *A = w_object((uint64_t)req->h.i[0], "A");
    if (w_agree())
        return -1;
    mat mu = w_col_means(A);
    if (w_agree()) {
        mat_free(&mu);
        return -1;
    }
    if (W.rank == 0) {
        rep->m[0] = mu;
        rep->h.nmats = 1;
    } else {
        mat_free(&mu);
    }
    return 0;
}

int op_center(const dmat_msg *req, dmat_msg *rep)
{
    dobj *A = w_object((uint64_t)req->h.i[0], "A");
    if (w_agree())
        return -1;
    mat mu = w_col_means(A);
    dobj *C = new_result(req, A->rows, A->cols);
    if (!C) {
        mat_free(&mu);
        return -1;
    }
    int N = A->cols;
    for (int i = 0; i < A->count; i++)
        for (int j = 0; j < N; j++)
            C->data[(size_t)i * N + j] = A->data[(size_t)i * N + j] - mu.data[j];
    w_created(rep, C);
    if (W.rank == 0) {
        rep->m[0] = mu;
        rep->h.nmats = 1;
    } else {
        mat_free(&mu);
    }
    return 0;
}

/* Sum over ranks of a local rows x cols block into rank 0's result (MPI_Reduce). */
static int reduce_to_root(mat local, dmat_msg *rep)
{
    mat total = W.rank == 0 ? mat_alloc(local.rows, local.cols) : mat_empty();
    if (W.rank == 0 && !total.data)
        w_fail("rank 0: out of memory for the %d x %d result", local.rows, local.cols);
    if (w_agree()) {
        mat_free(&total);
        return -1;
    }
    size_t n = (size_t)local.rows * local.cols;
    for (size_t off = 0; off < n; off += (size_t)1 << 28) {
        int c = (int)(n - off < ((size_t)1 << 28) ? n - off : ((size_t)1 << 28));
        MPI_Reduce(local.data + off, W.rank == 0 ? total.data + off : NULL, c, MPI_DOUBLE, MPI_SUM, 0, W.comm);
    }
    if (W.rank == 0) {
        rep->m[0] = total;
        rep->h.nmats = 1;
    }
    return 0;
}

int op_gram(const dmat_msg *req, dmat_msg *rep)
{
    dobj *A = w_object((uint64_t)req->h.i[0], "A");
    if (w_agree())
        return -1;
    int N = A->cols;
    mat G = mat_zeros(N, N);
    if (!G.data)
        w_fail("rank %d: out of memory for a %d x %d Gram matrix", W.rank, N, N);
    if (G.data && A->count > 0)
        cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, N, A->count, 1.0, A->data, N, 0.0, G.data, N);
    int rc = reduce_to_root(G, rep);
    mat_free(&G);
    if (rc == 0 && W.rank == 0) {
        mat T = rep->m[0];
        for (int i = 0; i < N; i++)
            for (int j = 0; j < i; j++)
                *mat_ptr(T, i, j) = *mat_ptr(T, j, i);
    }
    return rc;
}

int op_mul_tn(const dmat_msg *req, dmat_msg *rep)
{
    dobj *A = w_object((uint64_t)req->h.i[0], "A");
    dobj *B = w_object((uint64_t)req->h.i[1], "B");
    if (w_agree())
        return -1;
    mat C = mat_zeros(A->cols, B->cols);
    if (!C.data)
        w_fail("rank %d: out of memory for a %d x %d product", W.rank, A->cols, B->cols);
    if (C.data && A->count > 0)
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, A->cols, B->cols, A->count, 1.0, A->data, A->cols,
                    B->data, B->cols, 0.0, C.data, C.stride);
    int rc = reduce_to_root(C, rep);
    mat_free(&C);
    return rc;
}

int op_mul(const dmat_msg *req, dmat_msg *rep)
{
    dobj *A = w_object((uint64_t)req->h.i[0], "A");
    if (w_agree())
        return -1;
    mat B = req->m[0];
    dobj *C = new_result(req, A->rows, B.cols);
    if (!C)
        return -1;
    if (A->count > 0)
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, A->count, B.cols, A->cols, 1.0, A->data, A->cols,
                    B.data, B.stride, 0.0, C->data, B.cols);
    w_created(rep, C);
    return 0;
}

int op_mul_nt(const dmat_msg *req, dmat_msg *rep)
{
    dobj *A = w_object((uint64_t)req->h.i[0], "A");
    if (w_agree())
        return -1;
    mat B = req->m[0], shift = req->h.nmats > 1 ? req->m[1] : mat_empty();
    int N = A->cols;
    double *src = A->data;
    if (!mat_is_empty(shift) && A->count > 0) {
        src = cairn_alloc((size_t)A->count * N * sizeof(double));
        if (!src)
            w_fail("rank %d: out of memory", W.rank);
        else
            for (int i = 0; i < A->count; i++)
                for (int j = 0; j < N; j++)
                    src[(size_t)i * N + j] = A->data[(size_t)i * N + j] - shift.data[j];
    }
    dobj *C = new_result(req, A->rows, B.rows);
    if (!C) {
        if (src != A->data)
            cairn_free(src);
        return -1;
    }
    if (A->count > 0)
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, A->count, B.rows, N, 1.0, src, N, B.data, B.stride, 0.0,
                    C->data, B.rows);
    if (src != A->data)
        cairn_free(src);
    w_created(rep, C);
    return 0;
}

int op_reconstruct(const dmat_msg *req, dmat_msg *rep)
{
    dobj *U = w_object((uint64_t)req->h.i[0], "U");
    if (w_agree())
        return -1;
    int k = (int)req->h.i[1];
    mat S = req->m[0], Vt = req->m[1];
    dobj *C = new_result(req, U->rows, Vt.cols);
    if (!C)
        return -1;
    double *us = cairn_alloc(((size_t)U->count * k + 1) * sizeof(double));
    if (!us) {
        w_fail("rank %d: out of memory", W.rank);
    } else {
        for (int i = 0; i < U->count; i++)
            for (int j = 0; j < k; j++)
                us[(size_t)i * k + j] = U->data[(size_t)i * U->cols + j] * S.data[j];
        if (U->count > 0)
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, U->count, Vt.cols, k, 1.0, us, k, Vt.data,
                        Vt.stride, 0.0, C->data, Vt.cols);
        cairn_free(us);
    }
    if (w_agree()) {
        store_free(C->id);
        return -1;
    }
    w_created(rep, C);
    return 0;
}

int op_randn(const dmat_msg *req, dmat_msg *rep)
{
    int M = (int)req->h.i[0], N = (int)req->h.i[1];
    uint64_t seed = (uint64_t)req->h.i[4];
    dobj *C = new_result(req, M, N);
    if (!C)
        return -1;
    /* Blocks of DMAT_RANDOM_BLOCK rows each have their own seed: any rank can start at
     * any row without drawing the rows of the ranks before it. */
    for (int i = 0; i < C->count; i++) {
        int row = C->first + i, block = row / DMAT_RANDOM_BLOCK;
        if (i == 0 || row % DMAT_RANDOM_BLOCK == 0) {
            rng_seed(dmat_random_block_seed(seed, block));
            for (long skip = (long)(row - block * DMAT_RANDOM_BLOCK) * N; skip > 0; skip--)
                rng_normal();
        }
        double *dst = C->data + (size_t)i * N;
        for (int j = 0; j < N; j++)
            dst[j] = rng_normal();
    }
    w_created(rep, C);
    return 0;
}

int op_phantom(const dmat_msg *req, dmat_msg *rep)
{
    int slices = (int)req->h.i[0], height = (int)req->h.i[1], width = (int)req->h.i[2], N = height * width;
    double sigma = req->h.d[0];
    uint64_t seed = (uint64_t)req->h.i[4];
    dobj *V = new_result(req, slices, N);
    if (!V)
        return -1;
    memset(V->data, 0, (size_t)V->count * N * sizeof(double));
    volume_shepp_logan_add(V->data, V->first, V->count, slices, height, width);
    /* Each slice's noise from its own seed, so no rank draws the slices before its own. */
    for (int i = 0; i < V->count && sigma > 0; i++) {
        rng_seed(dmat_random_block_seed(seed, V->first + i));
        double *row = V->data + (size_t)i * N;
        for (int j = 0; j < N; j++)
            row[j] += sigma * rng_normal();
    }
    w_created(rep, V);
    return 0;
}
