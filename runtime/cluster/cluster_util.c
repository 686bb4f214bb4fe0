/* cluster_util.c — input checks, label encoding and row norms shared by the cluster
 * sources (row norms and distance blocks are in cluster_distance.c). */
#include "cluster_internal.h"
#include "cairn/alloc.h"
#include "cairn/error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int cl_check_data(const char *func, mat X, const char *name)
{
    if (mat_is_empty(X)) {
        cairn_error(func, "%s is empty (%d x %d): the input is missing or an earlier call failed", name, X.rows,
                    X.cols);
        return -1;
    }
    if (X.stride < X.cols) {
        cairn_error(func, "%s (%d x %d) has stride %d < cols: not a valid matrix view", name, X.rows, X.cols,
                    X.stride);
        return -1;
    }
    for (int i = 0; i < X.rows; i++) {
        const double *row = mat_ptr(X, i, 0);
        double a0 = 0, a1 = 0, a2 = 0, a3 = 0; /* NaN exactly when some element is NaN or Inf */
        int j = 0;
        for (; j + 4 <= X.cols; j += 4) { /* four chains of adds, not one */
            a0 += row[j] - row[j];
            a1 += row[j + 1] - row[j + 1];
            a2 += row[j + 2] - row[j + 2];
            a3 += row[j + 3] - row[j + 3];
        }
        for (; j < X.cols; j++)
            a0 += row[j] - row[j];
        double acc = (a0 + a1) + (a2 + a3);
        if (acc != 0 || acc != acc) {
            for (int j = 0; j < X.cols; j++)
                if (!isfinite(row[j])) {
                    cairn_error(func, "%s (%d x %d) has %s at row %d, column %d", name, X.rows, X.cols,
                                isnan(row[j]) ? "NaN" : "Inf", i, j);
                    return -1;
                }
        }
    }
    return 0;
}

int cl_vector_length(const char *func, mat v, const char *name)
{
    if (mat_is_empty(v)) {
        cairn_error(func, "%s is empty (%d x %d): the input is missing or an earlier call failed", name, v.rows,
                    v.cols);
        return -1;
    }
    if (v.rows != 1 && v.cols != 1) {
        cairn_error(func, "%s must be a vector (n x 1 or 1 x n), it is %d x %d", name, v.rows, v.cols);
        return -1;
    }
    return v.rows == 1 ? v.cols : v.rows;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Index of value in sorted[0..c) (it is there). */
static int find_sorted(const double *sorted, int c, double value)
{
    int lo = 0, hi = c - 1;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (sorted[mid] < value)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Checks a label vector: length n, finite integer values. */
static int check_labels(const char *func, mat v, const char *name, int n)
{
    int len = cl_vector_length(func, v, name);
    if (len < 0)
        return -1;
    if (len != n) {
        cairn_error(func, "%s has %d entries (%d x %d) but %d are needed (one per sample)", name, len, v.rows,
                    v.cols, n);
        return -1;
    }
    for (int i = 0; i < n; i++) {
        double x = cl_vec_get(v, i);
        if (!isfinite(x) || x != floor(x) || fabs(x) > 2e9) {
            cairn_error(func, "%s[%d] = %g is not an integer label", name, i, x);
            return -1;
        }
    }
    return 0;
}

/* Sorted distinct values of a[0..na) and b[0..nb) (b may be empty): a new array, count in *c. */
static double *distinct(const char *func, mat a, int na, mat b, int nb, int *c)
{
    double *all = cairn_alloc(((size_t)na + (size_t)nb + 1) * sizeof(double));
    if (!all) {
        cairn_error(func, "out of memory for %d labels", na + nb);
        return NULL;
    }
    for (int i = 0; i < na; i++)
        all[i] = cl_vec_get(a, i);
    for (int i = 0; i < nb; i++)
        all[na + i] = cl_vec_get(b, i);
    qsort(all, (size_t)na + (size_t)nb, sizeof(double), cmp_double);
    int m = 0;
    for (int i = 0; i < na + nb; i++)
        if (m == 0 || all[i] != all[m - 1])
            all[m++] = all[i];
    *c = m;
    return all;
}

static int *encode_with(const char *func, mat v, int n, const double *classes, int c)
{
    int *codes = cairn_alloc((size_t)(n ? n : 1) * sizeof(int));
    if (!codes) {
        cairn_error(func, "out of memory for %d labels", n);
        return NULL;
    }
    for (int i = 0; i < n; i++)
        codes[i] = find_sorted(classes, c, cl_vec_get(v, i));
    return codes;
}

int cl_encode_labels(const char *func, mat v, const char *name, int n, int **codes, double **classes)
{
    *codes = NULL;
    if (classes)
        *classes = NULL;
    if (check_labels(func, v, name, n) < 0)
        return -1;
    int c = 0;
    double *cls = distinct(func, v, n, mat_empty(), 0, &c);
    if (!cls)
        return -1;
    *codes = encode_with(func, v, n, cls, c);
    if (!*codes) {
        cairn_free(cls);
        return -1;
    }
    if (classes)
        *classes = cls;
    else
        cairn_free(cls);
    return c;
}

int cl_encode_pair(const char *func, mat a, mat b, int **ca, int **cb, double **classes)
{
    *ca = *cb = NULL;
    if (classes)
        *classes = NULL;
    int n = cl_vector_length(func, a, "y_true");
    if (n < 0 || check_labels(func, a, "y_true", n) < 0 || check_labels(func, b, "y_pred", n) < 0)
        return -1;
    int c = 0;
    double *cls = distinct(func, a, n, b, n, &c);
    if (!cls)
        return -1;
    *ca = encode_with(func, a, n, cls, c);
    *cb = *ca ? encode_with(func, b, n, cls, c) : NULL;
    if (!*cb) {
        cairn_free(*ca);
        *ca = NULL;
        cairn_free(cls);
        return -1;
    }
    if (classes)
        *classes = cls;
    else
        cairn_free(cls);
    return c;
}

mat cl_labels_mat(const int *labels, int n)
{
    mat L = mat_alloc(n, 1);
    for (int i = 0; L.data && i < n; i++)
        L.data[i] = labels[i];
    return L;
}
