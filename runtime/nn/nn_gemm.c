/* nn_gemm.c — the two matrix products of a convolution, with an AVX2/FMA kernel.
 *
 * The convolution's products have a shape BLAS libraries tune least for: few rows (the
 * filters, 8..64), a short inner dimension (C·k·k, 9..600) and a very long one (B·P, tens
 * of thousands of pixels). And the OpenBLAS that Debian ships picks its kernel by CPU
 * model: on CPUs newer than it knows (this development machine's included) it falls back
 * to the SSE "Prescott" kernel. These loops are written for that shape and compiled for
 * AVX2+FMA, chosen at run time when the CPU has them; otherwise cblas_sgemm does the work.
 *
 *   nn_gemm_nn:     C (M x N)  = A (M x K) · B (K x N)       forward, and the column gradient
 *   nn_gemm_nt_acc: C (M x K) += A (M x L) · B (K x L)ᵀ      the weight gradient
 *
 * nn_gemm_nn keeps a K x 16 panel of B in L1 and sweeps all rows of A over it, four rows at
 * a time (8 accumulators); nn_gemm_nt_acc takes dot products along L in chunks that stay in
 * cache, 4 x 2 outputs at a time (runtime/core/gemm_nt_avx2.h, shared with the cluster
 * distances). The double build (gradient checks) always uses BLAS. */
#include "nn_internal.h"

#include <cblas.h>
#include <string.h>

#include "../core/gemm_nt_avx2.h"

#if !defined(NN_DOUBLE) && defined(CAIRN_HAVE_AVX2_KERNELS)
#define NN_HAVE_AVX2_KERNEL 1
#endif

static int use_blas_only = -1; /* -1: not decided yet */

void nn_gemm_use_blas(int on) { use_blas_only = on ? 1 : 0; }

#ifdef NN_HAVE_AVX2_KERNEL
static int avx2_ok(void)
{
    if (use_blas_only < 0) {
        __builtin_cpu_init();
        use_blas_only = !(__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"));
    }
    return !use_blas_only;
}

__attribute__((target("avx2,fma"))) static void gemm_nn_avx2(int M, int N, int K, const float *A, int lda,
                                                              const float *B, int ldb, float *C, int ldc)
{
    int n0 = 0;
    for (; n0 + 16 <= N; n0 += 16) {
        int m = 0;
        for (; m + 4 <= M; m += 4) {
            __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps(), c10 = _mm256_setzero_ps(),
                   c11 = _mm256_setzero_ps(), c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps(),
                   c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
            const float *a0 = A + (size_t)m * lda, *a1 = a0 + lda, *a2 = a1 + lda, *a3 = a2 + lda;
            const float *b = B + n0;
            for (int k = 0; k < K; k++, b += ldb) {
                __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8), a;
                a = _mm256_broadcast_ss(a0 + k);
                c00 = _mm256_fmadd_ps(a, b0, c00), c01 = _mm256_fmadd_ps(a, b1, c01);
                a = _mm256_broadcast_ss(a1 + k);
                c10 = _mm256_fmadd_ps(a, b0, c10), c11 = _mm256_fmadd_ps(a, b1, c11);
                a = _mm256_broadcast_ss(a2 + k);
                c20 = _mm256_fmadd_ps(a, b0, c20), c21 = _mm256_fmadd_ps(a, b1, c21);
                a = _mm256_broadcast_ss(a3 + k);
                c30 = _mm256_fmadd_ps(a, b0, c30), c31 = _mm256_fmadd_ps(a, b1, c31);
            }
            float *c = C + (size_t)m * ldc + n0;
            _mm256_storeu_ps(c, c00), _mm256_storeu_ps(c + 8, c01), c += ldc;
            _mm256_storeu_ps(c, c10), _mm256_storeu_ps(c + 8, c11), c += ldc;
            _mm256_storeu_ps(c, c20), _mm256_storeu_ps(c + 8, c21), c += ldc;
            _mm256_storeu_ps(c, c30), _mm256_storeu_ps(c + 8, c31);
        }
        for (; m < M; m++) {
            __m256 c0 = _mm256_setzero_ps(), c1 = _mm256_setzero_ps();
            const float *a0 = A + (size_t)m * lda, *b = B + n0;
            for (int k = 0; k < K; k++, b += ldb) {
                __m256 a = _mm256_broadcast_ss(a0 + k);
                c0 = _mm256_fmadd_ps(a, _mm256_loadu_ps(b), c0);
                c1 = _mm256_fmadd_ps(a, _mm256_loadu_ps(b + 8), c1);
            }
            _mm256_storeu_ps(C + (size_t)m * ldc + n0, c0);
            _mm256_storeu_ps(C + (size_t)m * ldc + n0 + 8, c1);
        }
    }
    for (int m = 0; m < M && n0 < N; m++) /* the last N % 16 columns */
        for (int n = n0; n < N; n++) {
            float s = 0;
            for (int k = 0; k < K; k++)
                s += A[(size_t)m * lda + k] * B[(size_t)k * ldb + n];
            C[(size_t)m * ldc + n] = s;
        }
}

/* the weight gradient: the kernel shared with runtime/cluster (float here) */
CAIRN_GEMM_NT_AVX2(gemm_nt_acc_avx2, float, __m256, 8, _mm256_loadu_ps, _mm256_fmadd_ps, _mm256_setzero_ps, cairn_hsum_ps)
#endif

static void gemm_nn_serial(int M, int N, int K, const nn_real *A, int lda, const nn_real *B, int ldb, nn_real *C, int ldc)
{
#ifdef NN_HAVE_AVX2_KERNEL
    if (avx2_ok()) {
        gemm_nn_avx2(M, N, K, A, lda, B, ldb, C, ldc);
        return;
    }
#endif
    NN_GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1, A, lda, B, ldb, 0, C, ldc);
}

static void gemm_nt_acc_serial(int M, int K, int L, const nn_real *A, int lda, const nn_real *B, int ldb, nn_real *C,
                               int ldc)
{
#ifdef NN_HAVE_AVX2_KERNEL
    if (avx2_ok()) {
        gemm_nt_acc_avx2(M, K, L, A, lda, B, ldb, C, ldc);
        return;
    }
#endif
    NN_GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, M, K, L, 1, A, lda, B, ldb, 1, C, ldc);
}

/* the two threads take halves: columns of C (multiples of 16) for nn_gemm_nn, rows for nn_gemm_nt_acc */
typedef struct gemm_job {
    int M, N, K, lda, ldb, ldc;
    const nn_real *A, *B;
    nn_real *C;
} gemm_job;

static void gemm_nn_part(void *ctx, int part, int parts)
{
    const gemm_job *j = ctx;
    int blocks = (j->N + 15) / 16, lo = (int)nn_split((size_t)blocks, part, parts) * 16,
        hi = (int)nn_split((size_t)blocks, part + 1, parts) * 16;
    hi = hi > j->N ? j->N : hi;
    if (hi > lo)
        gemm_nn_serial(j->M, hi - lo, j->K, j->A, j->lda, j->B + lo, j->ldb, j->C + lo, j->ldc);
}

static void gemm_nt_part(void *ctx, int part, int parts)
{
    const gemm_job *j = ctx;
    int lo = (int)nn_split((size_t)j->M, part, parts), hi = (int)nn_split((size_t)j->M, part + 1, parts);
    if (hi > lo)
        gemm_nt_acc_serial(hi - lo, j->K, j->N, j->A + (size_t)lo * j->lda, j->lda, j->B, j->ldb, j->C + (size_t)lo * j->ldc,
                           j->ldc);
}

void nn_gemm_nn(int M, int N, int K, const nn_real *A, int lda, const nn_real *B, int ldb, nn_real *C, int ldc)
{
    gemm_job j = {M, N, K, lda, ldb, ldc, A, B, C};
    nn_parallel(gemm_nn_part, &j, (size_t)M * N * K / 8);
}

void nn_gemm_nt_acc(int M, int K, int L, const nn_real *A, int lda, const nn_real *B, int ldb, nn_real *C, int ldc)
{
    gemm_job j = {M, L, K, lda, ldb, ldc, A, B, C};
    nn_parallel(gemm_nt_part, &j, M >= 8 ? (size_t)M * K * L / 8 : 0);
}
