/* cluster_distance.c — squared Euclidean distances of a block of samples to a set of
 * centres, the inner step of k-means, k-means++, mini-batch k-means and predict.
 *
 * Distances use ‖x‖² − 2x·c + ‖c‖², the norms computed once by the caller. The cross
 * term is a product with a very skinny shape — hundreds of rows of 784 features against
 * 10 centres — for which OpenBLAS's dgemm spends as long packing the rows as multiplying,
 * and wakes its threads for well under a millisecond of work. So up to CL_FEW_CENTRES
 * centres the cross term comes from the AVX2/FMA dot-product kernel shared with runtime/nn
 * (runtime/core/gemm_nt_avx2.h; compiled for AVX-512 too, taken when the CPU has it: twice
 * the lanes), the rows split between the two cores with the runtime's
 * thread helper (nn_parallel); more centres, or a CPU without AVX2, go to one dgemm.
 * Cancellation can make a tiny distance slightly negative, so results are clamped at 0 as
 * scikit-learn's euclidean_distances does. Row norms and single dot products (KNN's exact
 * distances) use an AVX2 dot product too: a plain C loop is one chain of dependent adds,
 * 4 cycles per element. */
#include "cluster_internal.h"
#include "../core/gemm_nt_avx2.h"
#include "../nn/nn_internal.h" /* nn_parallel: the runtime's second-core helper */

#include <cblas.h>
#include <string.h>

static int kernel_mode = -1; /* -1 undecided, else a CL_DIST_* (atomic: threads read it) */
static int avx2_mode = -1;   /* the CPU's answer, for the dot product */

#ifdef CAIRN_HAVE_AVX2_KERNELS
CAIRN_GEMM_NT_AVX2(dot_nt_avx2, double, __m256d, 4, _mm256_loadu_pd, _mm256_fmadd_pd, _mm256_setzero_pd, cairn_hsum_pd)

__attribute__((target("avx512f"))) static inline double hsum512(__m512d v) { return _mm512_reduce_add_pd(v); }

/* CPUs with 512-bit units (this machine's) do the same loops with 8 lanes. */
CAIRN_GEMM_NT_TARGET(dot_nt_avx512, "avx512f", double, __m512d, 8, _mm512_loadu_pd, _mm512_fmadd_pd, _mm512_setzero_pd,
                     hsum512)

static int best_mode(void)
{
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f"))
        return CL_DIST_AVX512;
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? CL_DIST_AVX2 : CL_DIST_BLAS;
}
#else
static int best_mode(void) { return CL_DIST_BLAS; }
#endif

int cl_distance_mode(int mode)
{
    int best = best_mode(); /* the modes are ordered: a CPU that has one has those below it */
    if (mode < 0)
        mode = best;
    else if (mode > best)
        return -1;
    __atomic_store_n(&kernel_mode, mode, __ATOMIC_RELAXED);
    return mode;
}

#ifdef CAIRN_HAVE_AVX2_KERNELS

static int cpu_has_avx2(void)
{
    int m = __atomic_load_n(&avx2_mode, __ATOMIC_RELAXED);
    if (m < 0) {
        __builtin_cpu_init();
        m = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
        __atomic_store_n(&avx2_mode, m, __ATOMIC_RELAXED);
    }
    return m;
}

static int kernel_ok(void)
{
    int m = __atomic_load_n(&kernel_mode, __ATOMIC_RELAXED);
    if (m < 0) {
        m = best_mode();
        __atomic_store_n(&kernel_mode, m, __ATOMIC_RELAXED);
    }
    return m;
}

__attribute__((target("avx2,fma"))) static double dot_avx2(const double *a, const double *b, int d)
{
    __m256d s0 = _mm256_setzero_pd(), s1 = _mm256_setzero_pd();
    int t = 0;
    for (; t + 8 <= d; t += 8) {
        s0 = _mm256_fmadd_pd(_mm256_loadu_pd(a + t), _mm256_loadu_pd(b + t), s0);
        s1 = _mm256_fmadd_pd(_mm256_loadu_pd(a + t + 4), _mm256_loadu_pd(b + t + 4), s1);
    }
    double s = cairn_hsum_pd(_mm256_add_pd(s0, s1));
    for (; t < d; t++)
        s += a[t] * b[t];
    return s;
}
#else
static int cpu_has_avx2(void) { return 0; }
static int kernel_ok(void) { return 0; }
#endif

double cl_dot(const double *a, const double *b, int d)
{
#ifdef CAIRN_HAVE_AVX2_KERNELS
    if (cpu_has_avx2())
        return dot_avx2(a, b, d);
#endif
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0; /* four chains: not bound by the latency of one add */
    int t = 0;
    for (; t + 4 <= d; t += 4) {
        s0 += a[t] * b[t];
        s1 += a[t + 1] * b[t + 1];
        s2 += a[t + 2] * b[t + 2];
        s3 += a[t + 3] * b[t + 3];
    }
    for (; t < d; t++)
        s0 += a[t] * b[t];
    return (s0 + s1) + (s2 + s3);
}

void cl_row_norms(mat X, double *out)
{
    for (int i = 0; i < X.rows; i++) {
        const double *row = mat_ptr(X, i, 0);
        out[i] = cl_dot(row, row, X.cols);
    }
}

typedef struct dist_job {
    const double *x, *xn, *C, *cn;
    int ldx, m, d, k;
    double *D;
} dist_job;

/* rows [lo, hi) of the job: D = x·Cᵀ by the kernel, then the norms */
static void dist_part(void *ctx, int part, int parts)
{
    const dist_job *j = ctx;
    int lo = (int)nn_split((size_t)j->m, part, parts), hi = (int)nn_split((size_t)j->m, part + 1, parts);
    if (hi <= lo)
        return;
    double *D = j->D + (size_t)lo * j->k;
    memset(D, 0, (size_t)(hi - lo) * j->k * sizeof(double));
#ifdef CAIRN_HAVE_AVX2_KERNELS
    if (kernel_ok() == CL_DIST_AVX512)
        dot_nt_avx512(hi - lo, j->k, j->d, j->x + (size_t)lo * j->ldx, j->ldx, j->C, j->d, D, j->k);
    else
        dot_nt_avx2(hi - lo, j->k, j->d, j->x + (size_t)lo * j->ldx, j->ldx, j->C, j->d, D, j->k);
#endif
    for (int i = lo; i < hi; i++) {
        double *row = j->D + (size_t)i * j->k;
        for (int c = 0; c < j->k; c++) {
            double v = j->xn[i] + j->cn[c] - 2 * row[c];
            row[c] = v > 0 ? v : 0;
        }
    }
}

static void sq_distances(const double *x, int ldx, int m, int d, const double *xn, const double *C, int k,
                         const double *cn, double *D, int threads)
{
    if (k <= CL_FEW_CENTRES && kernel_ok()) {
        dist_job j = {x, xn, C, cn, ldx, m, d, k, D};
        if (threads)
            nn_parallel(dist_part, &j, (size_t)m * k * d / 8);
        else
            dist_part(&j, 0, 1);
        return;
    }
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, k, d, -2.0, x, ldx, C, d, 0.0, D, k);
    for (int i = 0; i < m; i++) {
        double *row = D + (size_t)i * k;
        for (int j = 0; j < k; j++) {
            double v = row[j] + xn[i] + cn[j];
            row[j] = v > 0 ? v : 0;
        }
    }
}

void cl_sq_distances(const double *x, int ldx, int m, int d, const double *xn, const double *C, int k,
                     const double *cn, double *D)
{
    sq_distances(x, ldx, m, d, xn, C, k, cn, D, 1);
}

void cl_sq_distances_serial(const double *x, int ldx, int m, int d, const double *xn, const double *C, int k,
                            const double *cn, double *D)
{
    sq_distances(x, ldx, m, d, xn, C, k, cn, D, 0);
}
