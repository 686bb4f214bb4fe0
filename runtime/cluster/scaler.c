/* scaler.c — standardisation fitted on one part of the data and applied to another, as
 * scikit-learn's StandardScaler: mean and population standard deviation per column; a
 * column with (near) zero spread gets scale 1, so it is only centered, never divided by
 * zero. Fitting on the train part and applying to the test part keeps test statistics
 * out of the model. */
#include "cairn/cluster.h"
#include "cairn/error.h"
#include "cluster_internal.h"

#include <math.h>
#include <string.h>

scaler_model scaler_fit(mat X)
{
    scaler_model s = {mat_empty(), mat_empty()};
    if (cl_check_data("scaler_fit", X, "X") < 0)
        return s;
    int n = X.rows, d = X.cols;
    s.mean = mat_zeros(1, d);
    s.scale = mat_zeros(1, d);
    if (mat_is_empty(s.mean) || mat_is_empty(s.scale)) {
        scaler_free(&s);
        return s;
    }
    double *mu = s.mean.data, *sd = s.scale.data;
    for (int i = 0; i < n; i++) {
        const double *r = mat_ptr(X, i, 0);
        for (int j = 0; j < d; j++)
            mu[j] += r[j];
    }
    for (int j = 0; j < d; j++)
        mu[j] /= n;
    for (int i = 0; i < n; i++) {
        const double *r = mat_ptr(X, i, 0);
        for (int j = 0; j < d; j++)
            sd[j] += (r[j] - mu[j]) * (r[j] - mu[j]);
    }
    for (int j = 0; j < d; j++) {
        sd[j] = sqrt(sd[j] / n);
        if (sd[j] < 10 * 2.220446049250313e-16)
            sd[j] = 1.0;
    }
    return s;
}

static int check_model(const char *func, scaler_model s, mat X)
{
    if (mat_is_empty(s.mean) || mat_is_empty(s.scale)) {
        cairn_error(func, "the scaler is empty (did scaler_fit fail?)");
        return -1;
    }
    if (cl_check_data(func, X, "X") < 0)
        return -1;
    if (X.cols != s.mean.cols) {
        cairn_error(func, "X is %d x %d but the scaler was fitted on %d columns", X.rows, X.cols, s.mean.cols);
        return -1;
    }
    return 0;
}

mat scaler_transform(scaler_model s, mat X)
{
    if (check_model("scaler_transform", s, X) < 0)
        return mat_empty();
    mat Z = mat_copy(X);
    for (int i = 0; Z.data && i < Z.rows; i++) {
        double *r = mat_ptr(Z, i, 0);
        for (int j = 0; j < Z.cols; j++)
            r[j] = (r[j] - s.mean.data[j]) / s.scale.data[j];
    }
    return Z;
}

mat scaler_inverse_transform(scaler_model s, mat Z)
{
    if (check_model("scaler_inverse_transform", s, Z) < 0)
        return mat_empty();
    mat X = mat_copy(Z);
    for (int i = 0; X.data && i < X.rows; i++) {
        double *r = mat_ptr(X, i, 0);
        for (int j = 0; j < X.cols; j++)
            r[j] = r[j] * s.scale.data[j] + s.mean.data[j];
    }
    return X;
}

void scaler_free(scaler_model *s)
{
    if (!s)
        return;
    mat_free(&s->mean);
    mat_free(&s->scale);
}
