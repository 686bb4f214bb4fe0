/* gemm_nt_avx2.h — one AVX2/FMA kernel, C (M x K) += A (M x L) · B (K x L)ᵀ with every
 * matrix row-major, written once and instantiated for float (runtime/nn: the weight
 * gradient of a convolution) and double (runtime/cluster: squared distances of a block of
 * samples to a few centres).
 *
 * Both callers have a shape BLAS does badly here: K is small (2..64) and L is the long
 * inner dimension. OpenBLAS packs A before every call (for 1024 x 784 samples against 10
 * centres the copy costs as much as the product) and wakes its threads for a few
 * microseconds of work. These are plain dot products along L, 4 rows of A x 2 rows of B at
 * a time (8 accumulators, 6 loads per 8 FMAs), in chunks of L that stay in L1/L2. Rows
 * past the end of A or B in a tile read row 0 again and are never stored.
 *
 * CAIRN_GEMM_NT_AVX2(name, T, V, W, LOADU, FMADD, SETZERO, HSUM) defines
 *   static void name(int M, int K, int L, const T *A, int lda, const T *B, int ldb, T *C, int ldc)
 * for vectors V of W lanes of T; the caller checks __builtin_cpu_supports("avx2"/"fma")
 * before calling it. cairn_hsum_ps / cairn_hsum_pd are the horizontal sums.
 * CAIRN_GEMM_NT_TARGET(name, "avx512f", ...) compiles the same loops for another target
 * (the caller checks that one). */
#ifndef CAIRN_GEMM_NT_AVX2_H
#define CAIRN_GEMM_NT_AVX2_H

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define CAIRN_HAVE_AVX2_KERNELS 1

__attribute__((target("avx2,fma"))) static inline float cairn_hsum_ps(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
    return _mm_cvtss_f32(s);
}

__attribute__((target("avx2,fma"))) static inline double cairn_hsum_pd(__m256d v)
{
    __m128d s = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
    s = _mm_add_sd(s, _mm_unpackhi_pd(s, s));
    return _mm_cvtsd_f64(s);
}

/* Length of the chunks of L: 4 + 2 rows of 1024 values stay in L1 (float) or L2 (double). */
#define CAIRN_NT_L_CHUNK 1024

#define CAIRN_GEMM_NT_AVX2(name, T, V, W, LOADU, FMADD, SETZERO, HSUM)                                             \
    CAIRN_GEMM_NT_TARGET(name, "avx2,fma", T, V, W, LOADU, FMADD, SETZERO, HSUM)

/* The same kernel for another instruction set (runtime/cluster instantiates it for AVX-512). */
#define CAIRN_GEMM_NT_TARGET(name, TARGET, T, V, W, LOADU, FMADD, SETZERO, HSUM)                                    \
    __attribute__((target(TARGET))) static void name(int M, int K, int L, const T *A, int lda, const T *B,      \
                                                         int ldb, T *C, int ldc)                                     \
    {                                                                                                                \
        for (int l0 = 0; l0 < L; l0 += CAIRN_NT_L_CHUNK) {                                                          \
            int len = L - l0 < CAIRN_NT_L_CHUNK ? L - l0 : CAIRN_NT_L_CHUNK, lenw = len & ~(W - 1);                  \
            for (int m = 0; m < M; m += 4) {                                                                         \
                int mr = M - m < 4 ? M - m : 4;                                                                      \
                for (int k = 0; k < K; k += 2) {                                                                     \
                    int kr = K - k < 2 ? K - k : 2;                                                                  \
                    V acc[4][2];                                                                                     \
                    for (int i = 0; i < 4; i++)                                                                      \
                        acc[i][0] = acc[i][1] = SETZERO();                                                           \
                    const T *a[4], *b[2];                                                                            \
                    for (int i = 0; i < 4; i++)                                                                      \
                        a[i] = A + (size_t)(m + (i < mr ? i : 0)) * lda + l0;                                        \
                    for (int j = 0; j < 2; j++)                                                                      \
                        b[j] = B + (size_t)(k + (j < kr ? j : 0)) * ldb + l0;                                        \
                    for (int l = 0; l < lenw; l += W) {                                                              \
                        V a0 = LOADU(a[0] + l), a1 = LOADU(a[1] + l), a2 = LOADU(a[2] + l), a3 = LOADU(a[3] + l),   \
                          bb = LOADU(b[0] + l);                                                                      \
                        acc[0][0] = FMADD(a0, bb, acc[0][0]), acc[1][0] = FMADD(a1, bb, acc[1][0]);                  \
                        acc[2][0] = FMADD(a2, bb, acc[2][0]), acc[3][0] = FMADD(a3, bb, acc[3][0]);                  \
                        bb = LOADU(b[1] + l);                                                                        \
                        acc[0][1] = FMADD(a0, bb, acc[0][1]), acc[1][1] = FMADD(a1, bb, acc[1][1]);                  \
                        acc[2][1] = FMADD(a2, bb, acc[2][1]), acc[3][1] = FMADD(a3, bb, acc[3][1]);                  \
                    }                                                                                                \
                    for (int i = 0; i < mr; i++)                                                                     \
                        for (int j = 0; j < kr; j++) {                                                               \
                            T s = HSUM(acc[i][j]);                                                                   \
                            for (int l = lenw; l < len; l++)                                                         \
                                s += a[i][l] * b[j][l];                                                              \
                            C[(size_t)(m + i) * ldc + k + j] += s;                                                   \
                        }                                                                                            \
                }                                                                                                    \
            }                                                                                                        \
        }                                                                                                            \
    }

#endif
#endif
