/* kmeans_init.c — k-means++ seeding (Arthur & Vassilvitskii 2007), the greedy variant
 * scikit-learn uses: the first centre is a uniformly drawn sample; each next one is the
 * best of 2 + ⌊ln k⌋ candidates drawn with probability proportional to the squared
 * distance to the nearest centre chosen so far, "best" meaning the candidate that leaves
 * the smallest total potential. The draws use the session generator, so a seed gives the
 * same centres every time (not NumPy's numbers: the tests compare the potential with
 * scikit-learn's distribution over seeds instead).
 *
 * Candidate distances to all samples come from one dgemm per row chunk against the
 * (few) candidates, evaluated about the column mean like the Lloyd iterations. */
#include "cairn/cluster.h"
#include "cairn/alloc.h"
#include "cairn/error.h"
#include "cairn/random.h"
#include "cluster_internal.h"
#include "kmeans_internal.h"

#include <math.h>
#include <string.h>

void km_kpp_free(km_kpp_work *kw)
{
    cairn_free(kw->cand);
    cairn_free(kw->candC);
    cairn_free(kw->candCc);
    cairn_free(kw->candn);
    cairn_free(kw->dist);
    cairn_free(kw->closest);
    cairn_free(kw->cumsum);
    cairn_free(kw->block);
    memset(kw, 0, sizeof *kw);
}

int km_kpp_init(const char *func, km_kpp_work *kw, const km_work *w, int k)
{
    memset(kw, 0, sizeof *kw);
    kw->trials = 2 + (int)log((double)k);
    size_t t = (size_t)kw->trials, n = (size_t)w->n, d = (size_t)w->d;
    kw->cand = cairn_alloc(t * sizeof(int));
    kw->candC = cairn_alloc(t * d * sizeof(double));
    kw->candCc = cairn_alloc(t * d * sizeof(double));
    kw->candn = cairn_alloc(t * sizeof(double));
    kw->dist = cairn_alloc(t * n * sizeof(double));
    kw->closest = cairn_alloc(n * sizeof(double));
    kw->cumsum = cairn_alloc(n * sizeof(double));
    kw->block = cairn_alloc((size_t)CL_CHUNK * t * sizeof(double));
    if (!kw->cand || !kw->candC || !kw->candCc || !kw->candn || !kw->dist || !kw->closest || !kw->cumsum ||
        !kw->block) {
        km_kpp_free(kw);
        cairn_error(func, "out of memory for k-means++ on X of %d x %d", w->n, w->d);
        return -1;
    }
    return 0;
}

/* dist[c * n + i] = ‖x_i − x_cand[c]‖² for the first nc candidates. */
static void candidate_distances(km_kpp_work *kw, const km_work *w, int nc)
{
    int d = w->d, n = w->n;
    for (int c = 0; c < nc; c++)
        memcpy(kw->candC + (size_t)c * d, mat_ptr(w->X, kw->cand[c], 0), (size_t)d * sizeof(double));
    km_set_centres(w, kw->candC, nc, kw->candCc, kw->candn);
    for (int r0 = 0; r0 < n; r0 += CL_CHUNK) {
        int m = n - r0 < CL_CHUNK ? n - r0 : CL_CHUNK;
        cl_sq_distances(mat_ptr(w->X, r0, 0), w->X.stride, m, d, w->xn + r0, kw->candCc, nc, kw->candn, kw->block);
        for (int r = 0; r < m; r++)
            for (int c = 0; c < nc; c++)
                kw->dist[(size_t)c * n + r0 + r] = kw->block[(size_t)r * nc + c];
    }
}

void km_kpp_seed(km_kpp_work *kw, const km_work *w, double *C)
{
    int n = w->n, d = w->d, k = w->k;
    kw->cand[0] = (int)rng_int(0, n);
    memcpy(C, mat_ptr(w->X, kw->cand[0], 0), (size_t)d * sizeof(double));
    candidate_distances(kw, w, 1);
    double pot = 0;
    for (int i = 0; i < n; i++) {
        kw->closest[i] = kw->dist[i];
        pot += kw->dist[i];
    }
    for (int c = 1; c < k; c++) {
        double run = 0;
        for (int i = 0; i < n; i++) {
            run += kw->closest[i];
            kw->cumsum[i] = run;
        }
        for (int t = 0; t < kw->trials; t++) {
            double v = rng_uniform() * pot;
            int lo = 0, hi = n - 1; /* first i with cumsum[i] >= v (searchsorted left), clipped */
            while (lo < hi) {
                int mid = lo + (hi - lo) / 2;
                if (kw->cumsum[mid] < v)
                    lo = mid + 1;
                else
                    hi = mid;
            }
            kw->cand[t] = lo;
        }
        candidate_distances(kw, w, kw->trials);
        int best = 0;
        double best_pot = INFINITY;
        for (int t = 0; t < kw->trials; t++) {
            double *dt = kw->dist + (size_t)t * n, p = 0;
            for (int i = 0; i < n; i++) {
                if (kw->closest[i] < dt[i])
                    dt[i] = kw->closest[i];
                p += dt[i];
            }
            if (p < best_pot) {
                best_pot = p;
                best = t;
            }
        }
        pot = best_pot;
        memcpy(kw->closest, kw->dist + (size_t)best * n, (size_t)n * sizeof(double));
        memcpy(C + (size_t)c * d, mat_ptr(w->X, kw->cand[best], 0), (size_t)d * sizeof(double));
    }
}

mat kmeans_plusplus(mat X, int k, uint64_t seed)
{
    const char *func = "kmeans_plusplus";
    if (cl_check_data(func, X, "X") < 0 || km_check_k(func, X, k) < 0)
        return mat_empty();
    km_work w;
    if (km_work_init(func, &w, X, k, 1) < 0)
        return mat_empty();
    km_kpp_work kw;
    mat C = mat_alloc(k, X.cols);
    if (mat_is_empty(C) || km_kpp_init(func, &kw, &w, k) < 0) {
        mat_free(&C);
        km_work_free(&w);
        return mat_empty();
    }
    rng_seed(seed);
    km_kpp_seed(&kw, &w, C.data);
    if (X.channels * X.height * X.width == X.cols)
        mat_set_image_shape(&C, X.channels, X.height, X.width);
    km_kpp_free(&kw);
    km_work_free(&w);
    return C;
}
