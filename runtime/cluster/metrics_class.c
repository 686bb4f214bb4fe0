/* metrics_class.c — how good a classifier is: accuracy and the confusion matrix over
 * the sorted classes found in either label vector (scikit-learn's convention). */
#include "cairn/cluster.h"
#include "cairn/alloc.h"
#include "cairn/error.h"
#include "cluster_internal.h"

#include <math.h>

double metric_accuracy(mat y_true, mat y_pred)
{
    const char *func = "metric_accuracy";
    int n = cl_vector_length(func, y_true, "y_true");
    int m = n < 0 ? -1 : cl_vector_length(func, y_pred, "y_pred");
    if (m < 0)
        return NAN;
    if (m != n) {
        cairn_error(func, "y_true has %d entries (%d x %d), y_pred %d (%d x %d)", n, y_true.rows, y_true.cols, m,
                    y_pred.rows, y_pred.cols);
        return NAN;
    }
    long same = 0;
    for (int i = 0; i < n; i++)
        same += cl_vec_get(y_true, i) == cl_vec_get(y_pred, i);
    return (double)same / n;
}

mat metric_confusion(mat y_true, mat y_pred)
{
    const char *func = "metric_confusion";
    int *a, *b;
    int c = cl_encode_pair(func, y_true, y_pred, &a, &b, NULL);
    if (c < 0)
        return mat_empty();
    int n = cl_vector_length(func, y_true, "y_true");
    mat C = mat_zeros(c, c);
    for (int i = 0; C.data && i < n; i++)
        *mat_ptr(C, a[i], b[i]) += 1;
    cairn_free(a);
    cairn_free(b);
    return C;
}
