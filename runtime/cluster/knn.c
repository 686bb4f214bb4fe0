/* knn.c — k-nearest neighbours: the neighbours themselves, a classifier (majority or
 * distance-weighted vote, class probabilities) and a regressor, as scikit-learn's
 * KNeighborsClassifier / KNeighborsRegressor (brute force, Euclidean) compute them.
 *
 * Nothing is fitted: the training matrix is used where it lives (no copy of 60000 x 784
 * doubles). Queries go in blocks of QBLOCK rows against blocks of TBLOCK training rows;
 * each pair of blocks is one dgemm (‖q‖² − 2q·t + ‖t‖²), so memory is one QBLOCK x TBLOCK
 * block whatever the sizes. Each query keeps its k best so far in a small sorted array:
 * a candidate is compared with the current k-th distance first, so almost all are
 * rejected at once and nothing is ever fully sorted (a partial selection).
 * Equal distances keep the training row that comes first. Vote ties go to the smallest
 * class, as sklearn's mode does. */
#include "cairn/cluster.h"
#include "cairn/alloc.h"
#include "cairn/display.h"
#include "cairn/error.h"
#include "cluster_internal.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

#define QBLOCK 256
#define TBLOCK 2048

static int check_pair(const char *func, mat Xtr, mat Xq, int k)
{
    if (cl_check_data(func, Xtr, "X_train") < 0 || cl_check_data(func, Xq, "X_query") < 0)
        return -1;
    if (Xtr.cols != Xq.cols) {
        cairn_error(func, "X_train is %d x %d but X_query is %d x %d: the features differ", Xtr.rows, Xtr.cols,
                    Xq.rows, Xq.cols);
        return -1;
    }
    if (k < 1 || k > Xtr.rows) {
        cairn_error(func, "k = %d must be in 1..%d (the rows of X_train, %d x %d)", k, Xtr.rows, Xtr.rows,
                    Xtr.cols);
        return -1;
    }
    return 0;
}

/* Squared distances (ascending) and indices of the k nearest training rows of every
 * query row, into dist and idx (q x k each, row-major). Returns 0 or -1. */
static int neighbours(const char *func, mat Xtr, mat Xq, int k, double *dist, int *idx)
{
    int bounded = cl_knn_bounded(func, Xtr, Xq, k, dist, idx);
    if (bounded <= 0)
        return bounded;
    int n = Xtr.rows, q = Xq.rows, d = Xtr.cols;
    double *tn = cairn_alloc((size_t)n * sizeof(double));
    double *qn = cairn_alloc((size_t)QBLOCK * sizeof(double));
    double *D = cairn_alloc((size_t)QBLOCK * TBLOCK * sizeof(double));
    if (!tn || !qn || !D) {
        cairn_free(tn);
        cairn_free(qn);
        cairn_free(D);
        cairn_error(func, "out of memory for %d queries against %d x %d", q, n, d);
        return -1;
    }
    cl_row_norms(Xtr, tn);
    for (int q0 = 0; q0 < q; q0 += QBLOCK) {
        int m = q - q0 < QBLOCK ? q - q0 : QBLOCK;
        cl_row_norms(mat_row_range(Xq, q0, m), qn);
        for (int i = 0; i < m; i++)
            for (int j = 0; j < k; j++) {
                dist[(size_t)(q0 + i) * k + j] = INFINITY;
                idx[(size_t)(q0 + i) * k + j] = -1;
            }
        for (int t0 = 0; t0 < n; t0 += TBLOCK) {
            int b = n - t0 < TBLOCK ? n - t0 : TBLOCK;
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, b, d, -2.0, mat_ptr(Xq, q0, 0), Xq.stride,
                        mat_ptr(Xtr, t0, 0), Xtr.stride, 0.0, D, b);
            for (int i = 0; i < m; i++) {
                const double *dr = D + (size_t)i * b;
                double *bd = dist + (size_t)(q0 + i) * k;
                int *bi = idx + (size_t)(q0 + i) * k;
                double worst = bd[k - 1], base = qn[i];
                for (int j = 0; j < b; j++) {
                    double v = dr[j] + base + tn[t0 + j];
                    if (v < worst) {
                        v = v > 0 ? v : 0;
                        int p = k - 1;
                        while (p > 0 && bd[p - 1] > v) {
                            bd[p] = bd[p - 1];
                            bi[p] = bi[p - 1];
                            p--;
                        }
                        bd[p] = v;
                        bi[p] = t0 + j;
                        worst = bd[k - 1];
                    }
                }
            }
        }
        if (cairn_interrupted()) {
            cairn_free(tn);
            cairn_free(qn);
            cairn_free(D);
            cairn_error(func, "interrupted after %d of %d queries", q0 + m, q);
            return -1;
        }
    }
    cairn_free(tn);
    cairn_free(qn);
    cairn_free(D);
    return 0;
}

int knn_kneighbors(mat X_train, mat X_query, int k, mat *distances, mat *indices)
{
    const char *func = "knn_kneighbors";
    if (distances)
        *distances = mat_empty();
    if (indices)
        *indices = mat_empty();
    if (check_pair(func, X_train, X_query, k) < 0)
        return -1;
    int q = X_query.rows;
    mat D = mat_alloc(q, k), Ix = mat_alloc(q, k);
    int *idx = cairn_alloc((size_t)q * k * sizeof(int));
    if (mat_is_empty(D) || mat_is_empty(Ix) || !idx || neighbours(func, X_train, X_query, k, D.data, idx) < 0) {
        mat_free(&D);
        mat_free(&Ix);
        cairn_free(idx);
        return -1;
    }
    for (size_t t = 0; t < (size_t)q * k; t++) {
        D.data[t] = sqrt(D.data[t]);
        Ix.data[t] = idx[t];
    }
    cairn_free(idx);
    if (distances)
        *distances = D;
    else
        mat_free(&D);
    if (indices)
        *indices = Ix;
    else
        mat_free(&Ix);
    return 0;
}

/* Neighbour weights of one query: 1, or 1/distance (rows with an exact match weigh only
 * the matches, as sklearn does). */
static void weights_of(const double *sqd, int k, int weights, double *w)
{
    int exact = 0;
    for (int j = 0; j < k; j++)
        exact |= sqd[j] == 0;
    for (int j = 0; j < k; j++)
        w[j] = weights == KNN_DISTANCE ? (exact ? (sqd[j] == 0) : 1.0 / sqrt(sqd[j])) : 1.0;
}

/* Shared by the classifier entry points: class votes per query (q x c, normalized when
 * proba) and the predicted class values. */
static mat classify(const char *func, mat Xtr, mat ytr, mat Xq, int k, int weights, int want_proba)
{
    if (check_pair(func, Xtr, Xq, k) < 0)
        return mat_empty();
    if (weights != KNN_UNIFORM && weights != KNN_DISTANCE) {
        cairn_error(func, "weights = %d must be KNN_UNIFORM (0) or KNN_DISTANCE (1)", weights);
        return mat_empty();
    }
    int *code = NULL;
    double *classes = NULL;
    int c = cl_encode_labels(func, ytr, "y_train", Xtr.rows, &code, &classes);
    if (c < 0)
        return mat_empty();
    int q = Xq.rows;
    double *dist = cairn_alloc((size_t)q * k * sizeof(double));
    int *idx = cairn_alloc((size_t)q * k * sizeof(int));
    double *w = cairn_alloc((size_t)k * sizeof(double));
    mat out = want_proba ? mat_zeros(q, c) : mat_alloc(q, 1);
    double *votes = cairn_alloc((size_t)c * sizeof(double));
    if (!dist || !idx || !w || !votes || mat_is_empty(out) || neighbours(func, Xtr, Xq, k, dist, idx) < 0) {
        if (!dist || !idx || !w || !votes || mat_is_empty(out))
            cairn_error(func, "out of memory for %d queries", q);
        mat_free(&out);
    } else {
        for (int i = 0; i < q; i++) {
            weights_of(dist + (size_t)i * k, k, weights, w);
            double *v = want_proba ? mat_ptr(out, i, 0) : votes;
            if (!want_proba)
                memset(votes, 0, (size_t)c * sizeof(double));
            double total = 0;
            for (int j = 0; j < k; j++) {
                v[code[idx[(size_t)i * k + j]]] += w[j];
                total += w[j];
            }
            if (want_proba) {
                for (int t = 0; t < c; t++)
                    v[t] /= total;
            } else {
                int best = 0;
                for (int t = 1; t < c; t++)
                    if (v[t] > v[best])
                        best = t;
                out.data[i] = classes[best];
            }
        }
    }
    cairn_free(code);
    cairn_free(classes);
    cairn_free(dist);
    cairn_free(idx);
    cairn_free(w);
    cairn_free(votes);
    return out;
}

mat knn_classify(mat X_train, mat y_train, mat X_query, int k, int weights)
{
    return classify("knn_classify", X_train, y_train, X_query, k, weights, 0);
}

mat knn_predict_proba(mat X_train, mat y_train, mat X_query, int k, int weights)
{
    return classify("knn_predict_proba", X_train, y_train, X_query, k, weights, 1);
}

mat knn_regress(mat X_train, mat y_train, mat X_query, int k, int weights)
{
    const char *func = "knn_regress";
    if (check_pair(func, X_train, X_query, k) < 0)
        return mat_empty();
    int n = cl_vector_length(func, y_train, "y_train");
    if (n < 0)
        return mat_empty();
    if (n != X_train.rows) {
        cairn_error(func, "y_train has %d entries (%d x %d) but X_train has %d rows", n, y_train.rows,
                    y_train.cols, X_train.rows);
        return mat_empty();
    }
    if (cl_check_data(func, y_train, "y_train") < 0)
        return mat_empty();
    if (weights != KNN_UNIFORM && weights != KNN_DISTANCE) {
        cairn_error(func, "weights = %d must be KNN_UNIFORM (0) or KNN_DISTANCE (1)", weights);
        return mat_empty();
    }
    int q = X_query.rows;
    double *dist = cairn_alloc((size_t)q * k * sizeof(double));
    int *idx = cairn_alloc((size_t)q * k * sizeof(int));
    double *w = cairn_alloc((size_t)k * sizeof(double));
    mat out = mat_alloc(q, 1);
    if (!dist || !idx || !w || mat_is_empty(out) || neighbours(func, X_train, X_query, k, dist, idx) < 0) {
        mat_free(&out);
    } else {
        for (int i = 0; i < q; i++) {
            weights_of(dist + (size_t)i * k, k, weights, w);
            double num = 0, den = 0;
            for (int j = 0; j < k; j++) {
                num += w[j] * cl_vec_get(y_train, idx[(size_t)i * k + j]);
                den += w[j];
            }
            out.data[i] = num / den;
        }
    }
    cairn_free(dist);
    cairn_free(idx);
    cairn_free(w);
    return out;
}
