/* worker_kmeans.c — Lloyd's k-means over row-distributed samples, step for step as
 * scikit-learn's KMeans(algorithm="lloyd", init=<given centers>, n_init=1) runs it:
 *   tol is scaled by the mean of the columns' variances;
 *   each iteration assigns every sample to its nearest center (‖c‖² - 2 x·c, a GEMM per
 *   rank; the first center wins ties) and moves each center to the mean of its samples
 *   (per-rank sums and counts, MPI_Allreduce);
 *   it stops when no label changed (strict convergence) or when the centers moved less
 *   than tol in total squared distance; without strict convergence the labels are
 *   assigned once more to the final centers; inertia is Σ ‖x - c(x)‖².
 * A center that loses all its samples takes the sample farthest from its own center, as
 * runtime/cluster/kmeans.c (relocate_empty) and scikit-learn's _relocate_empty_clusters do:
 * empty clusters in index order, each the farthest sample left (the lowest global row on
 * ties, which MPI_MAXLOC also picks); labels stay, the sample's row moves between the
 * summed cluster sums. That costs one MAXLOC reduction and one broadcast of a row per
 * empty cluster, and only in an iteration that left one empty.
 * Otherwise only k x cols sums and k counts cross the network per iteration. */
#include "worker.h"

#include "cairn/alloc.h"

#include <cblas.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK 4096

/* labels of the local rows for centers C (k x N); returns the number that changed. */
static long assign(const dobj *X, mat C, int *labels, double *dots, double *cnorm)
{
    int N = X->cols, k = C.rows;
    long changed = 0;
    for (int j = 0; j < k; j++) {
        double s = 0;
        for (int c = 0; c < N; c++)
            s += *mat_ptr(C, j, c) * *mat_ptr(C, j, c);
        cnorm[j] = s;
    }
    for (int i0 = 0; i0 < X->count; i0 += CHUNK) {
        int n = X->count - i0 < CHUNK ? X->count - i0 : CHUNK;
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, k, N, 1.0, X->data + (size_t)i0 * N, N, C.data,
                    C.stride, 0.0, dots, k);
        for (int i = 0; i < n; i++) {
            int best = 0;
            double bd = cnorm[0] - 2 * dots[(size_t)i * k];
            for (int j = 1; j < k; j++) {
                double d = cnorm[j] - 2 * dots[(size_t)i * k + j];
                if (d < bd) {
                    bd = d;
                    best = j;
                }
            }
            if (labels[i0 + i] != best)
                changed++;
            labels[i0 + i] = best;
        }
    }
    return changed;
}

static double sq_dist(const double *a, const double *b, int n)
{
    double s = 0;
    for (int t = 0; t < n; t++) {
        double e = a[t] - b[t];
        s += e * e;
    }
    return s;
}

/* The rank holding global row `row` of X. */
static int row_owner(const dobj *X, int row)
{
    for (int r = 0; r < W.size; r++) {
        int first, count;
        dmat_partition(X->rows, W.size, r, &first, &count);
        if (row >= first && row < first + count)
            return r;
    }
    return 0;
}

/* Collective. Every cluster with no samples (counts, summed over the ranks) takes the
 * sample farthest from its center in C, farthest first: sums (summed k x N) and counts
 * change as in the single-process relocate_empty; labels stay. dist (X->count) and row
 * (N + 1) are scratch. */
static void relocate_empty(const dobj *X, mat C, const int *labels, mat sums, double *counts, double *dist,
                           double *row)
{
    int k = C.rows, N = X->cols, n_empty = 0;
    for (int j = 0; j < k; j++)
        n_empty += counts[j] == 0;
    if (!n_empty)
        return;
    for (int i = 0; i < X->count; i++)
        dist[i] = sq_dist(X->data + (size_t)i * N, mat_ptr(C, labels[i], 0), N);
    for (int j = 0; j < k; j++) {
        if (counts[j] != 0)
            continue;
        struct {
            double value;
            int row;
        } mine = {-HUGE_VAL, INT_MAX}, far;
        for (int i = 0; i < X->count; i++)
            if (dist[i] > mine.value) {
                mine.value = dist[i];
                mine.row = X->first + i;
            }
        MPI_Allreduce(&mine, &far, 1, MPI_DOUBLE_INT, MPI_MAXLOC, W.comm);
        int owner = row_owner(X, far.row);
        if (W.rank == owner) {
            int i = far.row - X->first;
            dist[i] = -1;
            memcpy(row, X->data + (size_t)i * N, (size_t)N * sizeof(double));
            row[N] = labels[i];
        }
        MPI_Bcast(row, N + 1, MPI_DOUBLE, owner, W.comm);
        int old = (int)row[N];
        double *so = mat_ptr(sums, old, 0), *sj = mat_ptr(sums, j, 0);
        for (int t = 0; t < N; t++) {
            so[t] -= row[t];
            sj[t] = row[t];
        }
        counts[old] -= 1;
        counts[j] = 1;
    }
}

int op_kmeans(const dmat_msg *req, dmat_msg *rep)
{
    dobj *X = w_object((uint64_t)req->h.i[0], "X");
    if (w_agree())
        return -1;
    int max_iter = (int)req->h.i[1], N = X->cols;
    double tol = req->h.d[0];
    mat C = mat_copy(req->m[0]), Cn = mat_alloc(C.rows, N), sums = mat_alloc(C.rows, N);
    int k = C.rows;
    int *labels = malloc(((size_t)X->count + 1) * sizeof(int));
    double *dots = malloc(((size_t)CHUNK * k + 1) * sizeof(double)), *cnorm = malloc((size_t)k * sizeof(double));
    double *counts = malloc((size_t)k * sizeof(double)), *all_counts = malloc((size_t)k * sizeof(double));
    double *dist = malloc(((size_t)X->count + 1) * sizeof(double)), *row = malloc(((size_t)N + 1) * sizeof(double));
    mat mu = w_col_means(X);
    if (!C.data || !Cn.data || !sums.data || !labels || !dots || !cnorm || !counts || !all_counts || !dist || !row ||
        !mu.data)
        w_fail("rank %d: out of memory for k-means", W.rank);
    int iterations = 0, rc = -1;
    if (w_agree())
        goto out;
    /* scikit-learn's tolerance: tol times the mean variance of the columns */
    double var_local = 0, var_total = 0;
    for (int i = 0; i < X->count; i++)
        for (int c = 0; c < N; c++) {
            double v = X->data[(size_t)i * N + c] - mu.data[c];
            var_local += v * v;
        }
    MPI_Allreduce(&var_local, &var_total, 1, MPI_DOUBLE, MPI_SUM, W.comm);
    double tol_abs = var_total / ((double)X->rows * N) * tol;
    for (int i = 0; i < X->count; i++)
        labels[i] = -1;
    int strict = 0;
    for (int it = 0; it < max_iter; it++) {
        if (w_checkpoint("k-means iterations", it, max_iter))
            goto out;
        long changed = assign(X, C, labels, dots, cnorm), changed_all = 0;
        memset(sums.data, 0, (size_t)k * N * sizeof(double));
        memset(counts, 0, (size_t)k * sizeof(double));
        for (int i = 0; i < X->count; i++) {
            const double *x = X->data + (size_t)i * N;
            double *s = mat_ptr(sums, labels[i], 0);
            for (int c = 0; c < N; c++)
                s[c] += x[c];
            counts[labels[i]] += 1;
        }
        MPI_Allreduce(sums.data, Cn.data, k * N, MPI_DOUBLE, MPI_SUM, W.comm);
        MPI_Allreduce(counts, all_counts, k, MPI_DOUBLE, MPI_SUM, W.comm);
        MPI_Allreduce(&changed, &changed_all, 1, MPI_LONG, MPI_SUM, W.comm);
        relocate_empty(X, C, labels, Cn, all_counts, dist, row);
        double shift = 0;
        for (int j = 0; j < k; j++) {
            for (int c = 0; c < N; c++) {
                double v = all_counts[j] > 0 ? *mat_ptr(Cn, j, c) / all_counts[j] : *mat_ptr(C, j, c);
                double d = v - *mat_ptr(C, j, c);
                shift += d * d;
                *mat_ptr(Cn, j, c) = v;
            }
        }
        mat t = C;
        C = Cn;
        Cn = t;
        iterations = it + 1;
        if (changed_all == 0 && it > 0) {
            strict = 1;
            break;
        }
        if (shift <= tol_abs)
            break;
    }
    if (!strict)
        assign(X, C, labels, dots, cnorm);
    double inertia_local = 0, inertia = 0;
    for (int i = 0; i < X->count; i++) {
        inertia_local += sq_dist(X->data + (size_t)i * N, mat_ptr(C, labels[i], 0), N);
    }
    MPI_Allreduce(&inertia_local, &inertia, 1, MPI_DOUBLE, MPI_SUM, W.comm);
    dobj *L = store_new((uint64_t)req->h.i[7], X->rows, 1);
    if (w_agree()) {
        store_free((uint64_t)req->h.i[7]);
        goto out;
    }
    for (int i = 0; i < X->count; i++)
        L->data[i] = labels[i];
    w_created(rep, L);
    if (W.rank == 0) {
        rep->m[0] = C;
        C = mat_empty();
        rep->h.nmats = 1;
        rep->h.d[0] = inertia;
        rep->h.i[1] = iterations;
    }
    rc = 0;
out:
    mat_free(&C), mat_free(&Cn), mat_free(&sums), mat_free(&mu);
    free(labels), free(dots), free(cnorm), free(counts), free(all_counts), free(dist), free(row);
    return rc;
}
