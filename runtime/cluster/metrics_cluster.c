/* metrics_cluster.c — how good a clustering is: adjusted Rand index and normalized
 * mutual information between two labelings, the silhouette coefficient (exact and
 * sampled), the Davies–Bouldin and Calinski–Harabasz indices. Definitions and edge cases
 * are scikit-learn's (sklearn.metrics), so values agree with it to rounding.
 *
 * The contingency table of two labelings is built from sorted (true, pred) pairs, so
 * labelings with as many distinct values as samples cost O(n log n), not O(n²) memory.
 * The silhouette needs every pairwise distance: they come in blocks from one dgemm each
 * (‖x‖² − 2x·y + ‖y‖²) and are reduced at once to per-sample, per-cluster sums. The
 * distance matrix is symmetric, so only the blocks on and above the diagonal are computed
 * (half of sklearn's flops); with very many clusters, where those sums would not fit,
 * full row blocks are used instead. */
#include "cairn/cluster.h"
#include "cairn/alloc.h"
#include "cairn/display.h"
#include "cairn/error.h"
#include "cairn/random.h"
#include "cluster_internal.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- contingency ---- */

typedef struct contingency {
    int n, ca, cb;  /* samples, classes of each labeling */
    long *row, *col; /* marginal counts (ca and cb) */
    long *cell;     /* nonzero cell counts */
    int *ci, *cj;   /* their row and column */
    int ncells;
} contingency;

static int cmp_i64(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return (x > y) - (x < y);
}

static void contingency_free(contingency *t)
{
    cairn_free(t->row);
    cairn_free(t->col);
    cairn_free(t->cell);
    cairn_free(t->ci);
    cairn_free(t->cj);
    memset(t, 0, sizeof *t);
}

static int contingency_build(const char *func, mat a, mat b, contingency *t)
{
    memset(t, 0, sizeof *t);
    int n = cl_vector_length(func, a, "labels_true");
    if (n < 0)
        return -1;
    int *ia = NULL, *ib = NULL;
    int ca = cl_encode_labels(func, a, "labels_true", n, &ia, NULL);
    int cb = ca < 0 ? -1 : cl_encode_labels(func, b, "labels_pred", n, &ib, NULL);
    if (cb < 0) {
        cairn_free(ia);
        return -1;
    }
    long long *keys = cairn_alloc((size_t)n * sizeof(long long));
    t->row = cairn_alloc((size_t)ca * sizeof(long));
    t->col = cairn_alloc((size_t)cb * sizeof(long));
    t->cell = cairn_alloc((size_t)n * sizeof(long));
    t->ci = cairn_alloc((size_t)n * sizeof(int));
    t->cj = cairn_alloc((size_t)n * sizeof(int));
    if (!keys || !t->row || !t->col || !t->cell || !t->ci || !t->cj) {
        cairn_free(keys);
        cairn_free(ia);
        cairn_free(ib);
        contingency_free(t);
        cairn_error(func, "out of memory for labelings of %d samples", n);
        return -1;
    }
    t->n = n;
    t->ca = ca;
    t->cb = cb;
    for (int i = 0; i < n; i++) {
        keys[i] = (long long)ia[i] * cb + ib[i];
        t->row[ia[i]]++;
        t->col[ib[i]]++;
    }
    qsort(keys, (size_t)n, sizeof *keys, cmp_i64);
    for (int i = 0; i < n; i++) {
        if (i == 0 || keys[i] != keys[i - 1]) {
            t->ci[t->ncells] = (int)(keys[i] / cb);
            t->cj[t->ncells] = (int)(keys[i] % cb);
            t->cell[t->ncells++] = 0;
        }
        t->cell[t->ncells - 1]++;
    }
    cairn_free(keys);
    cairn_free(ia);
    cairn_free(ib);
    return 0;
}

double metric_adjusted_rand(mat labels_true, mat labels_pred)
{
    contingency t;
    if (contingency_build("metric_adjusted_rand", labels_true, labels_pred, &t) < 0)
        return NAN;
    /* sklearn's pair confusion matrix: pairs together in both, in one only, in neither */
    double n = t.n, sum_sq = 0, row_dot = 0, col_dot = 0;
    for (int c = 0; c < t.ncells; c++) {
        double v = (double)t.cell[c];
        sum_sq += v * v;
        row_dot += v * (double)t.col[t.cj[c]];
        col_dot += v * (double)t.row[t.ci[c]];
    }
    double tp = sum_sq - n, fp = row_dot - sum_sq, fn = col_dot - sum_sq;
    double tn = n * n - fp - fn - sum_sq;
    contingency_free(&t);
    if (fn == 0 && fp == 0)
        return 1.0;
    return 2.0 * (tp * tn - fn * fp) / ((tp + fn) * (fn + tn) + (tp + fp) * (fp + tn));
}

static double entropy_of(const long *counts, int c, double n)
{
    int nonzero = 0;
    for (int i = 0; i < c; i++)
        nonzero += counts[i] > 0;
    if (nonzero <= 1)
        return 0.0;
    double h = 0, logn = log(n);
    for (int i = 0; i < c; i++)
        if (counts[i] > 0)
            h -= ((double)counts[i] / n) * (log((double)counts[i]) - logn);
    return h;
}

double metric_nmi(mat labels_true, mat labels_pred)
{
    contingency t;
    if (contingency_build("metric_nmi", labels_true, labels_pred, &t) < 0)
        return NAN;
    if (t.ca == 1 && t.cb == 1) {
        contingency_free(&t);
        return 1.0;
    }
    double mi = 0;
    if (t.ca > 1 && t.cb > 1) {
        double n = t.n, logn = log(n);
        for (int c = 0; c < t.ncells; c++) {
            double v = (double)t.cell[c], p = v / n;
            double outer = (double)t.row[t.ci[c]] * (double)t.col[t.cj[c]];
            double term = p * (log(v) - logn) + p * (-log(outer) + logn + logn);
            if (fabs(term) >= 2.220446049250313e-16)
                mi += term;
        }
        if (mi < 0)
            mi = 0;
    }
    if (mi == 0) {
        contingency_free(&t);
        return 0.0;
    }
    double h_true = entropy_of(t.row, t.ca, t.n), h_pred = entropy_of(t.col, t.cb, t.n);
    contingency_free(&t);
    return mi / ((h_true + h_pred) / 2);
}

/* ---- silhouette ---- */

/* s[i] for every sample, row block by row block (memory: one block, whatever c is). */
static int silhouette_rows(const char *func, mat X, const int *code, int c, double *s)
{
    int n = X.rows, d = X.cols;
    /* rows per block so that a block of distances stays near 32 MB */
    int block = (int)((4u << 20) / (unsigned)(n > 0 ? n : 1));
    block = block < 1 ? 1 : block > CL_CHUNK ? CL_CHUNK : block;
    double *xn = cairn_alloc((size_t)n * sizeof(double));
    double *D = cairn_alloc((size_t)block * n * sizeof(double));
    double *sums = cairn_alloc((size_t)block * c * sizeof(double));
    double *size = cairn_alloc((size_t)c * sizeof(double));
    mat Xc = X.stride == d ? X : mat_copy(X); /* the dgemm's B operand wants one stride */
    if (!xn || !D || !sums || !size || mat_is_empty(Xc)) {
        cairn_free(xn);
        cairn_free(D);
        cairn_free(sums);
        cairn_free(size);
        if (Xc.data != X.data)
            mat_free(&Xc);
        cairn_error(func, "out of memory for the silhouette of %d x %d", n, d);
        return -1;
    }
    cl_row_norms(Xc, xn);
    for (int i = 0; i < n; i++)
        size[code[i]] += 1;
    for (int r0 = 0; r0 < n; r0 += block) {
        int m = n - r0 < block ? n - r0 : block;
        cl_sq_distances(Xc.data + (size_t)r0 * d, d, m, d, xn + r0, Xc.data, n, xn, D);
        memset(sums, 0, (size_t)m * c * sizeof(double));
        for (int r = 0; r < m; r++) {
            double *dr = D + (size_t)r * n, *sr = sums + (size_t)r * c;
            dr[r0 + r] = 0; /* a sample's distance to itself, free of rounding */
            for (int j = 0; j < n; j++)
                sr[code[j]] += sqrt(dr[j]);
        }
        for (int r = 0; r < m; r++) {
            int i = r0 + r, own = code[i];
            const double *sr = sums + (size_t)r * c;
            if (size[own] <= 1) {
                s[i] = 0; /* sklearn: a sample alone in its cluster scores 0 */
                continue;
            }
            double a = sr[own] / (size[own] - 1), b = INFINITY;
            for (int q = 0; q < c; q++)
                if (q != own && size[q] > 0 && sr[q] / size[q] < b)
                    b = sr[q] / size[q];
            double den = a > b ? a : b;
            s[i] = den > 0 ? (b - a) / den : 0;
        }
    }
    cairn_free(xn);
    cairn_free(D);
    cairn_free(sums);
    cairn_free(size);
    if (Xc.data != X.data)
        mat_free(&Xc);
    return 0;
}

/* s[i] for every sample of X (n x d) with codes 0..c-1; returns 0 or -1.
 * The distance matrix is symmetric, so only the blocks on and above the diagonal are
 * computed (one dgemm each, half the flops of full rows); each distance is added to the
 * per-cluster sums of both its row and its column sample. */
static int silhouette_into(const char *func, mat X, const int *code, int c, double *s)
{
    int n = X.rows, d = X.cols;
    enum { B = 512 };
    if ((size_t)n * (size_t)c > ((size_t)16 << 20)) /* per-sample sums would pass 128 MB */
        return silhouette_rows(func, X, code, c, s);
    double *xn = cairn_alloc((size_t)n * sizeof(double));
    double *G = cairn_alloc((size_t)B * B * sizeof(double));
    double *sums = cairn_alloc((size_t)n * c * sizeof(double));
    double *size = cairn_alloc((size_t)c * sizeof(double));
    if (!xn || !G || !sums || !size) {
        cairn_free(xn);
        cairn_free(G);
        cairn_free(sums);
        cairn_free(size);
        cairn_error(func, "out of memory for the silhouette of %d x %d with %d clusters", n, d, c);
        return -1;
    }
    cl_row_norms(X, xn);
    for (int i = 0; i < n; i++)
        size[code[i]] += 1;
    for (int i0 = 0; i0 < n; i0 += B) {
        int mi = n - i0 < B ? n - i0 : B;
        for (int j0 = i0; j0 < n; j0 += B) {
            int mj = n - j0 < B ? n - j0 : B;
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, mi, mj, d, -2.0, mat_ptr(X, i0, 0), X.stride,
                        mat_ptr(X, j0, 0), X.stride, 0.0, G, mj);
            for (int r = 0; r < mi; r++) {
                int i = i0 + r;
                double *gr = G + (size_t)r * mj, *si = sums + (size_t)i * c;
                int start = j0 == i0 ? r + 1 : 0; /* the diagonal block: above the diagonal only */
                for (int q = start; q < mj; q++) {
                    int j = j0 + q;
                    double v = gr[q] + xn[i] + xn[j];
                    double dist = v > 0 ? sqrt(v) : 0;
                    si[code[j]] += dist;
                    sums[(size_t)j * c + code[i]] += dist;
                }
            }
        }
        if (cairn_interrupted()) {
            cairn_free(xn);
            cairn_free(G);
            cairn_free(sums);
            cairn_free(size);
            cairn_error(func, "interrupted after %d of %d rows", i0 + mi, n);
            return -1;
        }
    }
    for (int i = 0; i < n; i++) {
        int own = code[i];
        const double *sr = sums + (size_t)i * c;
        if (size[own] <= 1) {
            s[i] = 0; /* sklearn: a sample alone in its cluster scores 0 */
            continue;
        }
        double a = sr[own] / (size[own] - 1), b = INFINITY;
        for (int q = 0; q < c; q++)
            if (q != own && size[q] > 0 && sr[q] / size[q] < b)
                b = sr[q] / size[q];
        double den = a > b ? a : b;
        s[i] = den > 0 ? (b - a) / den : 0;
    }
    cairn_free(xn);
    cairn_free(G);
    cairn_free(sums);
    cairn_free(size);
    return 0;
}

/* Checks X and labels, encodes the labels; returns the number of clusters or -1. */
static int silhouette_prepare(const char *func, mat X, mat labels, int **code)
{
    *code = NULL;
    if (cl_check_data(func, X, "X") < 0)
        return -1;
    int c = cl_encode_labels(func, labels, "labels", X.rows, code, NULL);
    if (c < 0)
        return -1;
    if (c < 2 || c > X.rows - 1) {
        cairn_error(func, "the labels name %d clusters for %d samples; the silhouette needs 2..%d", c, X.rows,
                    X.rows - 1);
        cairn_free(*code);
        *code = NULL;
        return -1;
    }
    return c;
}

mat metric_silhouette_samples(mat X, mat labels)
{
    int *code;
    int c = silhouette_prepare("metric_silhouette_samples", X, labels, &code);
    if (c < 0)
        return mat_empty();
    mat s = mat_alloc(X.rows, 1);
    if (mat_is_empty(s) || silhouette_into("metric_silhouette_samples", X, code, c, s.data) < 0)
        mat_free(&s);
    cairn_free(code);
    return s;
}

double metric_silhouette(mat X, mat labels)
{
    int *code;
    int c = silhouette_prepare("metric_silhouette", X, labels, &code);
    if (c < 0)
        return NAN;
    double *s = cairn_alloc((size_t)X.rows * sizeof(double)), mean = NAN;
    if (s && silhouette_into("metric_silhouette", X, code, c, s) == 0) {
        mean = 0;
        for (int i = 0; i < X.rows; i++)
            mean += s[i];
        mean /= X.rows;
    }
    cairn_free(s);
    cairn_free(code);
    return mean;
}

double metric_silhouette_sampled(mat X, mat labels, int sample_size, uint64_t seed)
{
    const char *func = "metric_silhouette_sampled";
    if (cl_check_data(func, X, "X") < 0)
        return NAN;
    int n = cl_vector_length(func, labels, "labels");
    if (n < 0)
        return NAN;
    if (n != X.rows) {
        cairn_error(func, "labels has %d entries (%d x %d) but X has %d rows", n, labels.rows, labels.cols, X.rows);
        return NAN;
    }
    if (sample_size < 2 || sample_size > n) {
        cairn_error(func, "sample_size = %d must be in 2..%d (the rows of X, %d x %d)", sample_size, n, X.rows,
                    X.cols);
        return NAN;
    }
    int *perm = cairn_alloc((size_t)n * sizeof(int));
    if (!perm) {
        cairn_error(func, "out of memory for %d samples", n);
        return NAN;
    }
    rng_seed(seed);
    rng_permutation(perm, n);
    mat Xs = mat_rows_index(X, perm, sample_size);
    mat ls = mat_alloc(sample_size, 1);
    double v = NAN;
    if (!mat_is_empty(Xs) && !mat_is_empty(ls)) {
        for (int i = 0; i < sample_size; i++)
            ls.data[i] = cl_vec_get(labels, perm[i]);
        v = metric_silhouette(Xs, ls);
    }
    mat_free(&Xs);
    mat_free(&ls);
    cairn_free(perm);
    return v;
}

/* ---- Davies–Bouldin and Calinski–Harabasz ---- */

/* Cluster means (c x d) and sizes of X under codes; NULL after an error. */
static double *cluster_means(const char *func, mat X, const int *code, int c, double **size)
{
    int d = X.cols;
    double *mean = cairn_alloc((size_t)c * d * sizeof(double));
    *size = cairn_alloc((size_t)c * sizeof(double));
    if (!mean || !*size) {
        cairn_free(mean);
        cairn_free(*size);
        *size = NULL;
        cairn_error(func, "out of memory for %d cluster means of %d features", c, d);
        return NULL;
    }
    for (int i = 0; i < X.rows; i++) {
        const double *x = mat_ptr(X, i, 0);
        double *m = mean + (size_t)code[i] * d;
        for (int t = 0; t < d; t++)
            m[t] += x[t];
        (*size)[code[i]] += 1;
    }
    for (int j = 0; j < c; j++)
        for (int t = 0; t < d; t++)
            mean[(size_t)j * d + t] /= (*size)[j];
    return mean;
}

double metric_davies_bouldin(mat X, mat labels)
{
    const char *func = "metric_davies_bouldin";
    int *code;
    int c = silhouette_prepare(func, X, labels, &code);
    if (c < 0)
        return NAN;
    int d = X.cols;
    double *size, *mean = cluster_means(func, X, code, c, &size);
    double *intra = mean ? cairn_alloc((size_t)c * sizeof(double)) : NULL;
    if (!intra) {
        cairn_free(mean);
        cairn_free(size);
        cairn_free(code);
        return NAN;
    }
    for (int i = 0; i < X.rows; i++) {
        const double *x = mat_ptr(X, i, 0), *m = mean + (size_t)code[i] * d;
        double s = 0;
        for (int t = 0; t < d; t++)
            s += (x[t] - m[t]) * (x[t] - m[t]);
        intra[code[i]] += sqrt(s);
    }
    int intra_zero = 1, centres_zero = 1;
    for (int j = 0; j < c; j++) {
        intra[j] /= size[j];
        intra_zero &= fabs(intra[j]) <= 1e-8;
    }
    double score = 0;
    for (int a = 0; a < c; a++) {
        double worst = 0;
        for (int b = 0; b < c; b++) {
            if (a == b)
                continue;
            double s = 0;
            for (int t = 0; t < d; t++) {
                double e = mean[(size_t)a * d + t] - mean[(size_t)b * d + t];
                s += e * e;
            }
            double dist = sqrt(s);
            centres_zero &= dist <= 1e-8;
            double r = dist > 0 ? (intra[a] + intra[b]) / dist : 0;
            worst = r > worst ? r : worst;
        }
        score += worst / c;
    }
    cairn_free(mean);
    cairn_free(size);
    cairn_free(intra);
    cairn_free(code);
    return intra_zero || centres_zero ? 0.0 : score;
}

double metric_calinski_harabasz(mat X, mat labels)
{
    const char *func = "metric_calinski_harabasz";
    int *code;
    int c = silhouette_prepare(func, X, labels, &code);
    if (c < 0)
        return NAN;
    int n = X.rows, d = X.cols;
    double *size, *mean = cluster_means(func, X, code, c, &size);
    double *all = mean ? cairn_alloc((size_t)d * sizeof(double)) : NULL;
    if (!all) {
        cairn_free(mean);
        cairn_free(size);
        cairn_free(code);
        return NAN;
    }
    for (int i = 0; i < n; i++) {
        const double *x = mat_ptr(X, i, 0);
        for (int t = 0; t < d; t++)
            all[t] += x[t];
    }
    for (int t = 0; t < d; t++)
        all[t] /= n;
    double extra = 0, intra = 0;
    for (int j = 0; j < c; j++) {
        double s = 0;
        for (int t = 0; t < d; t++)
            s += (mean[(size_t)j * d + t] - all[t]) * (mean[(size_t)j * d + t] - all[t]);
        extra += size[j] * s;
    }
    for (int i = 0; i < n; i++) {
        const double *x = mat_ptr(X, i, 0), *m = mean + (size_t)code[i] * d;
        for (int t = 0; t < d; t++)
            intra += (x[t] - m[t]) * (x[t] - m[t]);
    }
    cairn_free(mean);
    cairn_free(size);
    cairn_free(all);
    cairn_free(code);
    return intra == 0 ? 1.0 : extra * (n - c) / (intra * (c - 1.0));
}
