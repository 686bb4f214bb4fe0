/* cluster_distance.c — squared Euclidean distances of a block of samples to a set of
 * centres, the inner step of k-means, k-means++, mini-batch k-means and predict.
 *
 * Distances use ‖x‖² − 2x·c + ‖c‖², the norms computed once by the caller. The cross
 * term is a product with a very skinny shape — hundreds of rows of 784 features against
 * 10 centres — for which OpenBLAS's dgemm spends as long packing the rows as multiplying,
 * and wakes its threads for well under a millisecond of work. So up to CL_FEW_CENTRES
 * centres the cross term comes from the AVX2/FMA dot-product kernel shared with runtime/nn
 * (runtime/core/gemm_nt_avx2.h), the rows split between the two cores with the runtime's
 * thread helper (nn_parallel); more centres, or a CPU without AVX2, go to one dgemm.
 * Cancellation can make a tiny distance slightly negative, so results are clamped at 0 as
 * scikit-learn's euclidean_distances does. */
#include "cluster_internal.h"
#include "../core/gemm_nt_avx2.h"
#include "../nn/nn_internal.h" /* nn_parallel: the runtime's second-core helper */

#include <cblas.h>
#include <string.h>

static int kernel_mode = -1; /* -1 undecided, 0 BLAS only, 1 AVX2 kernel */

void cl_distance_use_blas(int on) { kernel_mode = on ? 0 : -1; }

#ifdef CAIRN_HAVE_AVX2_KERNELS
CAIRN_GEMM_NT_AVX2(dot_nt_avx2, double, __m256d, 4, _mm256_loadu_pd, _mm256_fmadd_pd, _mm256_setzero_pd, cairn_hsum_pd)

static int kernel_ok(void)
{
    if (kernel_mode < 0) {
        __builtin_cpu_init();
        kernel_mode = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    }
    return kernel_mode;
}
#else
static int kernel_ok(void) { return 0; }
#endif

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

void cl_sq_distances(const double *x, int ldx, int m, int d, const double *xn, const double *C, int k,
                     const double *cn, double *D)
{
    if (k <= CL_FEW_CENTRES && kernel_ok()) {
        dist_job j = {x, xn, C, cn, ldx, m, d, k, D};
        nn_parallel(dist_part, &j, (size_t)m * k * d / 8);
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
