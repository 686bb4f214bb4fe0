/* pca.c — principal component analysis as scikit-learn's PCA computes it.
 *
 * Center the data, take its SVD (exact, or randomized for big X), flip signs with
 * svd_flip, keep k rows of Vt as components. Variances divide by n_samples - 1, and the
 * ratio divides by the total variance of all features, so explained_variance_ratio
 * matches sklearn's to rounding. */
#include "cairn/linalg.h"
#include "cairn/error.h"
#include "linalg_internal.h"

#include <cblas.h>
#include <string.h>

static pca_model pca_empty(void)
{
    pca_model p;
    memset(&p, 0, sizeof p);
    return p;
}

/* Centered copy of X; the column means go to *mean (1 x n). */
static mat center(const char *func, mat X, mat *mean)
{
    int m = X.rows, n = X.cols;
    *mean = mat_zeros(1, n);
    mat C = la_copy(func, X);
    if (mat_is_empty(*mean) || mat_is_empty(C)) {
        mat_free(mean);
        mat_free(&C);
        return mat_empty();
    }
    double *mu = mean->data;
    for (int i = 0; i < m; i++) {
        const double *row = mat_ptr(C, i, 0);
        for (int j = 0; j < n; j++)
            mu[j] += row[j];
    }
    for (int j = 0; j < n; j++)
        mu[j] /= m;
    for (int i = 0; i < m; i++) {
        double *row = mat_ptr(C, i, 0);
        for (int j = 0; j < n; j++)
            row[j] -= mu[j];
    }
    return C;
}

static pca_model pca_fit_with(const char *func, mat X, int k, int randomized, uint64_t seed)
{
    pca_model p = pca_empty();
    if (la_check_input(func, X, "X") < 0)
        return p;
    int m = X.rows, n = X.cols, r = m < n ? m : n;
    if (m < 2) {
        cairn_error(func, "need at least 2 samples (rows) to estimate variance, X is %d x %d", m, n);
        return p;
    }
    if (k < 1 || k > r) {
        cairn_error(func, "k = %d must be in 1..%d for X of %d x %d", k, r, m, n);
        return p;
    }
    mat C = center(func, X, &p.mean);
    if (mat_is_empty(C))
        return pca_empty();
    double total = 0;
    for (int i = 0; i < m; i++) {
        const double *row = mat_ptr(C, i, 0);
        for (int j = 0; j < n; j++)
            total += row[j] * row[j];
    }
    total /= (m - 1);
    svd_result s;
    if (randomized) {
        s = svd_randomized(C, k, 10, 7, seed);
    } else {
        s = svd_thin(C);
    }
    mat_free(&C);
    if (mat_is_empty(s.S)) {
        pca_free(&p);
        return p;
    }
    p.components = mat_alloc(k, n);
    p.explained_variance = mat_alloc(1, k);
    p.explained_variance_ratio = mat_alloc(1, k);
    p.singular_values = mat_alloc(1, k);
    if (mat_is_empty(p.components) || mat_is_empty(p.explained_variance) ||
        mat_is_empty(p.explained_variance_ratio) || mat_is_empty(p.singular_values)) {
        svd_free(&s);
        pca_free(&p);
        return p;
    }
    for (int i = 0; i < k; i++)
        memcpy(mat_ptr(p.components, i, 0), mat_ptr(s.Vt, i, 0), (size_t)n * sizeof(double));
    for (int j = 0; j < k; j++) {
        double sv = s.S.data[j];
        double ev = sv * sv / (m - 1);
        p.singular_values.data[j] = sv;
        p.explained_variance.data[j] = ev;
        p.explained_variance_ratio.data[j] = total > 0 ? ev / total : 0.0;
    }
    svd_free(&s);
    p.n_samples = m;
    p.n_features = n;
    p.n_components = k;
    return p;
}

pca_model pca_fit(mat X, int k) { return pca_fit_with("pca_fit", X, k, 0, 0); }

pca_model pca_fit_randomized(mat X, int k, uint64_t seed) { return pca_fit_with("pca_fit_randomized", X, k, 1, seed); }

static int model_ok(const char *func, pca_model model)
{
    if (mat_is_empty(model.components) || mat_is_empty(model.mean)) {
        cairn_error(func, "the PCA model is empty (was pca_fit successful?)");
        return 0;
    }
    return 1;
}

mat pca_transform(pca_model model, mat X)
{
    if (!model_ok("pca_transform", model) || la_check_input("pca_transform", X, "X") < 0)
        return mat_empty();
    int n = model.components.cols, k = model.components.rows;
    if (X.cols != n) {
        cairn_error("pca_transform", "X is %d x %d but the model was fit on %d features", X.rows, X.cols, n);
        return mat_empty();
    }
    mat C = la_copy("pca_transform", X);
    mat Z = mat_alloc(X.rows, k);
    if (mat_is_empty(C) || mat_is_empty(Z)) {
        mat_free(&C);
        mat_free(&Z);
        return mat_empty();
    }
    for (int i = 0; i < C.rows; i++) {
        double *row = mat_ptr(C, i, 0);
        for (int j = 0; j < n; j++)
            row[j] -= model.mean.data[j];
    }
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, C.rows, k, n, 1.0, C.data, C.stride,
                model.components.data, model.components.stride, 0.0, Z.data, Z.stride);
    mat_free(&C);
    return Z;
}

mat pca_inverse_transform(pca_model model, mat Z)
{
    if (!model_ok("pca_inverse_transform", model) || la_check_input("pca_inverse_transform", Z, "Z") < 0)
        return mat_empty();
    int n = model.components.cols, k = model.components.rows;
    if (Z.cols != k) {
        cairn_error("pca_inverse_transform", "Z is %d x %d but the model has %d components", Z.rows, Z.cols, k);
        return mat_empty();
    }
    mat X = mat_alloc(Z.rows, n);
    if (mat_is_empty(X))
        return X;
    for (int i = 0; i < X.rows; i++)
        memcpy(mat_ptr(X, i, 0), model.mean.data, (size_t)n * sizeof(double));
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Z.rows, n, k, 1.0, Z.data, Z.stride,
                model.components.data, model.components.stride, 1.0, X.data, X.stride);
    return X;
}

void pca_free(pca_model *model)
{
    if (!model)
        return;
    mat_free(&model->components);
    mat_free(&model->mean);
    mat_free(&model->explained_variance);
    mat_free(&model->explained_variance_ratio);
    mat_free(&model->singular_values);
    *model = pca_empty();
}
