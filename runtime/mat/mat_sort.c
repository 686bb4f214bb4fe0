/* mat_sort.c — sorting vectors, cumulative sums, trace.
 *
 * Sorting is by (value, original index) pairs with qsort: comparing the index on ties
 * makes the order stable (NumPy's argsort with kind="stable" gives the same indices),
 * and NaN compares greater than every number so it ends up last, as in NumPy, instead
 * of breaking the comparison's ordering (which would make qsort's result undefined). */
#include "cairn/mat_ops.h"
#include "cairn/alloc.h"
#include "cairn/error.h"

#include <math.h>
#include <stdlib.h>

typedef struct keyed {
    double value;
    int index;
} keyed;

static int compare_keyed(const void *pa, const void *pb)
{
    const keyed *a = pa, *b = pb;
    int an = isnan(a->value), bn = isnan(b->value);
    if (an != bn)
        return an - bn;
    if (!an && a->value != b->value)
        return a->value < b->value ? -1 : 1;
    return (a->index > b->index) - (a->index < b->index);
}

/* Sorted (value, index) pairs of vector v, or NULL after reporting an error. */
static keyed *sorted_pairs(const char *func, mat v, int *n_out)
{
    if (mat_is_empty(v)) {
        cairn_error(func, "empty matrix (%dx%d): the input is missing or an earlier call failed", v.rows, v.cols);
        return NULL;
    }
    if (v.rows != 1 && v.cols != 1) {
        cairn_error(func, "needs a vector (1 x n or n x 1), got %dx%d; sort a row or column view of it", v.rows,
                    v.cols);
        return NULL;
    }
    int n = v.rows == 1 ? v.cols : v.rows;
    size_t inc = v.rows == 1 ? 1 : (size_t)v.stride;
    keyed *pairs = malloc((size_t)n * sizeof *pairs);
    if (!pairs) {
        cairn_error(func, "out of memory sorting %d values", n);
        return NULL;
    }
    for (int k = 0; k < n; k++)
        pairs[k] = (keyed){v.data[k * inc], k};
    qsort(pairs, (size_t)n, sizeof *pairs, compare_keyed);
    *n_out = n;
    return pairs;
}

static mat sort_result(const char *func, mat v, int want_indices)
{
    int n;
    keyed *pairs = sorted_pairs(func, v, &n);
    if (!pairs)
        return mat_empty();
    mat out = v.rows == 1 ? mat_alloc(1, n) : mat_alloc(n, 1);
    for (int k = 0; out.data && k < n; k++)
        out.data[k] = want_indices ? (double)pairs[k].index : pairs[k].value;
    free(pairs);
    return out;
}

mat mat_sort(mat v) { return sort_result("mat_sort", v, 0); }
mat mat_argsort(mat v) { return sort_result("mat_argsort", v, 1); }

mat mat_cumsum(mat m, int axis)
{
    if (mat_is_empty(m)) {
        cairn_error("mat_cumsum", "empty matrix (%dx%d): the input is missing or an earlier call failed", m.rows,
                    m.cols);
        return mat_empty();
    }
    if (axis < -1 || axis > 1) {
        cairn_error("mat_cumsum", "axis %d for a %dx%d matrix: use -1 (all), 0 (down columns) or 1 (along rows)",
                    axis, m.rows, m.cols);
        return mat_empty();
    }
    mat out = mat_alloc(m.rows, m.cols);
    if (!out.data)
        return out;
    double running = 0;
    for (int i = 0; i < m.rows; i++) {
        const double *x = mat_ptr(m, i, 0);
        double *o = mat_ptr(out, i, 0);
        const double *above = i > 0 ? mat_ptr(out, i - 1, 0) : NULL;
        if (axis == 0) {
            for (int j = 0; j < m.cols; j++)
                o[j] = above ? above[j] + x[j] : x[j];
        } else {
            if (axis == 1)
                running = 0;
            for (int j = 0; j < m.cols; j++) {
                running += x[j];
                o[j] = running;
            }
        }
    }
    return out;
}

double mat_trace(mat m)
{
    if (mat_is_empty(m)) {
        cairn_error("mat_trace", "empty matrix (%dx%d): the input is missing or an earlier call failed", m.rows,
                    m.cols);
        return NAN;
    }
    if (m.rows != m.cols) {
        cairn_error("mat_trace", "needs a square matrix, got %dx%d", m.rows, m.cols);
        return NAN;
    }
    double t = 0;
    for (int k = 0; k < m.rows; k++)
        t += *mat_ptr(m, k, k);
    return t;
}
