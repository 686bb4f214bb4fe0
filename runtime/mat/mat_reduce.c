/* mat_reduce.c — reductions by axis, norms, dot, column centering, one-hot encoding.
 *
 * Axis convention (NumPy's): -1 reduces everything to 1x1, 0 reduces down the columns
 * to a 1 x cols row, 1 reduces along each row to a rows x 1 column.
 * Axis 0 is done row by row with a vector of per-column accumulators, so memory is read
 * once, in order, and the inner loop is a plain vectorizable `acc[j] += x[j]` — not a
 * strided walk down each column. Variance is two-pass (mean, then squared deviations),
 * which is what NumPy does and is accurate where the one-pass formula cancels.
 * Sums along a row use four accumulators: it breaks the add dependency chain and
 * loses less precision than one running sum. min/max/argmin/argmax propagate NaN like
 * NumPy (the first NaN wins), so a NaN is never silently skipped. */
/* -O2's "very cheap" vectorizer skips loops that need a runtime aliasing check, which
 * is every loop here (inputs and outputs are separate pointers); the dynamic cost model
 * (what -O3 uses) vectorizes them. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("vect-cost-model=dynamic")
#endif
#include "cairn/mat_ops.h"
#include "cairn/alloc.h"
#include "cairn/error.h"

#include <cblas.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static int check_nonempty(const char *func, mat m)
{
    if (mat_is_empty(m)) {
        cairn_error(func, "empty matrix (%dx%d): the input is missing or an earlier call failed", m.rows, m.cols);
        return -1;
    }
    return 0;
}

static int check_axis(const char *func, mat m, int axis)
{
    if (check_nonempty(func, m) < 0)
        return -1;
    if (axis < -1 || axis > 1) {
        cairn_error(func, "axis %d for a %dx%d matrix: use -1 (all), 0 (down columns) or 1 (along rows)", axis,
                    m.rows, m.cols);
        return -1;
    }
    return 0;
}

static double row_sum(const double *x, size_t n)
{
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    size_t j = 0;
    for (; j + 4 <= n; j += 4) {
        s0 += x[j];
        s1 += x[j + 1];
        s2 += x[j + 2];
        s3 += x[j + 3];
    }
    for (; j < n; j++)
        s0 += x[j];
    return (s0 + s1) + (s2 + s3);
}

static double row_sumsq_dev(const double *x, size_t n, double mu)
{
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    size_t j = 0;
    for (; j + 4 <= n; j += 4) {
        double d0 = x[j] - mu, d1 = x[j + 1] - mu, d2 = x[j + 2] - mu, d3 = x[j + 3] - mu;
        s0 += d0 * d0;
        s1 += d1 * d1;
        s2 += d2 * d2;
        s3 += d3 * d3;
    }
    for (; j < n; j++) {
        double d = x[j] - mu;
        s0 += d * d;
    }
    return (s0 + s1) + (s2 + s3);
}

/* x "beats" best for a min (want_max 0) or max search; a NaN beats any number. */
static inline int beats(double x, double best, int want_max)
{
    if (x != x)
        return best == best;
    return want_max ? x > best : x < best;
}

/* Extreme value of x[0..n) and its index (first occurrence; first NaN if any). */
static double row_extreme(const double *x, size_t n, int want_max, size_t *index)
{
    double best = x[0];
    size_t at = 0;
    for (size_t j = 1; j < n; j++) {
        if (beats(x[j], best, want_max)) {
            best = x[j];
            at = j;
        }
    }
    *index = at;
    return best;
}

typedef enum { R_SUM, R_MEAN, R_VAR, R_STD, R_MIN, R_MAX, R_ARGMIN, R_ARGMAX } reduction;

/* Reduction over all elements; *index gets the flat index for the arg variants. */
static double reduce_all(reduction kind, mat m, size_t *index)
{
    size_t n = (size_t)m.rows * (size_t)m.cols;
    int flat = mat_is_contiguous(m);
    if (kind == R_MIN || kind == R_MAX || kind == R_ARGMIN || kind == R_ARGMAX) {
        int want_max = kind == R_MAX || kind == R_ARGMAX;
        if (flat)
            return row_extreme(m.data, n, want_max, index);
        size_t at = 0, j;
        double best = row_extreme(m.data, (size_t)m.cols, want_max, &at);
        for (int i = 1; i < m.rows; i++) {
            double v = row_extreme(mat_ptr(m, i, 0), (size_t)m.cols, want_max, &j);
            if (beats(v, best, want_max)) {
                best = v;
                at = (size_t)i * (size_t)m.cols + j;
            }
        }
        *index = at;
        return best;
    }
    double s = 0;
    if (flat)
        s = row_sum(m.data, n);
    else
        for (int i = 0; i < m.rows; i++)
            s += row_sum(mat_ptr(m, i, 0), (size_t)m.cols);
    if (kind == R_SUM)
        return s;
    double mu = s / (double)n;
    if (kind == R_MEAN)
        return mu;
    double ss = 0;
    if (flat)
        ss = row_sumsq_dev(m.data, n, mu);
    else
        for (int i = 0; i < m.rows; i++)
            ss += row_sumsq_dev(mat_ptr(m, i, 0), (size_t)m.cols, mu);
    double var = ss / (double)n;
    return kind == R_VAR ? var : sqrt(var);
}

/* Reduction down the columns into out (1 x cols). */
static void reduce_cols(reduction kind, mat m, double *out)
{
    int n = m.cols;
    if (kind == R_MIN || kind == R_MAX || kind == R_ARGMIN || kind == R_ARGMAX) {
        int want_max = kind == R_MAX || kind == R_ARGMAX;
        int arg = kind == R_ARGMIN || kind == R_ARGMAX;
        double *best = arg ? malloc((size_t)n * sizeof *best) : out;
        if (!best) {
            cairn_error(arg ? (want_max ? "mat_argmax" : "mat_argmin") : "mat_min", "out of memory");
            return;
        }
        memcpy(best, m.data, (size_t)n * sizeof *best);
        if (arg)
            for (int j = 0; j < n; j++)
                out[j] = 0;
        for (int i = 1; i < m.rows && !arg; i++) {
            /* Branch-free form of beats() so the loop vectorizes: a NaN replaces the
             * best, and nothing replaces a NaN (v > NaN and v < NaN are false). */
            const double *x = mat_ptr(m, i, 0);
            if (want_max)
                for (int j = 0; j < n; j++)
                    best[j] = (x[j] > best[j] || x[j] != x[j]) ? x[j] : best[j];
            else
                for (int j = 0; j < n; j++)
                    best[j] = (x[j] < best[j] || x[j] != x[j]) ? x[j] : best[j];
        }
        for (int i = 1; i < m.rows && arg; i++) {
            const double *x = mat_ptr(m, i, 0);
            for (int j = 0; j < n; j++) {
                if (beats(x[j], best[j], want_max)) {
                    best[j] = x[j];
                    if (arg)
                        out[j] = i;
                }
            }
        }
        if (arg)
            free(best);
        return;
    }
    for (int j = 0; j < n; j++)
        out[j] = 0;
    for (int i = 0; i < m.rows; i++) {
        const double *x = mat_ptr(m, i, 0);
        for (int j = 0; j < n; j++)
            out[j] += x[j];
    }
    double inv = 1.0 / m.rows;
    if (kind == R_SUM)
        return;
    for (int j = 0; j < n; j++)
        out[j] *= inv;
    if (kind == R_MEAN)
        return;
    double *mu = malloc((size_t)n * sizeof *mu);
    if (!mu) {
        cairn_error(kind == R_VAR ? "mat_var" : "mat_std", "out of memory");
        return;
    }
    memcpy(mu, out, (size_t)n * sizeof *mu);
    for (int j = 0; j < n; j++)
        out[j] = 0;
    for (int i = 0; i < m.rows; i++) {
        const double *x = mat_ptr(m, i, 0);
        for (int j = 0; j < n; j++) {
            double d = x[j] - mu[j];
            out[j] += d * d;
        }
    }
    free(mu);
    for (int j = 0; j < n; j++)
        out[j] *= inv;
    if (kind == R_STD)
        for (int j = 0; j < n; j++)
            out[j] = sqrt(out[j]);
}

static double reduce_row(reduction kind, const double *x, size_t n)
{
    size_t at;
    switch (kind) {
    case R_SUM: return row_sum(x, n);
    case R_MEAN: return row_sum(x, n) / (double)n;
    case R_VAR:
    case R_STD: {
        double var = row_sumsq_dev(x, n, row_sum(x, n) / (double)n) / (double)n;
        return kind == R_VAR ? var : sqrt(var);
    }
    case R_MIN: return row_extreme(x, n, 0, &at);
    case R_MAX: return row_extreme(x, n, 1, &at);
    case R_ARGMIN: row_extreme(x, n, 0, &at); return (double)at;
    case R_ARGMAX: row_extreme(x, n, 1, &at); return (double)at;
    }
    return NAN;
}

static mat reduce(const char *func, reduction kind, mat m, int axis)
{
    if (check_axis(func, m, axis) < 0)
        return mat_empty();
    mat out;
    if (axis == -1) {
        out = mat_alloc(1, 1);
        if (out.data) {
            size_t at = 0;
            double v = reduce_all(kind, m, &at);
            out.data[0] = (kind == R_ARGMIN || kind == R_ARGMAX) ? (double)at : v;
        }
    } else if (axis == 0) {
        out = mat_alloc(1, m.cols);
        if (out.data)
            reduce_cols(kind, m, out.data);
    } else {
        out = mat_alloc(m.rows, 1);
        for (int i = 0; out.data && i < m.rows; i++)
            out.data[i] = reduce_row(kind, mat_ptr(m, i, 0), (size_t)m.cols);
    }
    return out;
}

mat mat_sum(mat m, int axis) { return reduce("mat_sum", R_SUM, m, axis); }
mat mat_mean(mat m, int axis) { return reduce("mat_mean", R_MEAN, m, axis); }
mat mat_var(mat m, int axis) { return reduce("mat_var", R_VAR, m, axis); }
mat mat_std(mat m, int axis) { return reduce("mat_std", R_STD, m, axis); }
mat mat_min(mat m, int axis) { return reduce("mat_min", R_MIN, m, axis); }
mat mat_max(mat m, int axis) { return reduce("mat_max", R_MAX, m, axis); }
mat mat_argmin(mat m, int axis) { return reduce("mat_argmin", R_ARGMIN, m, axis); }
mat mat_argmax(mat m, int axis) { return reduce("mat_argmax", R_ARGMAX, m, axis); }

static double reduce_scalar(const char *func, reduction kind, mat m)
{
    if (check_nonempty(func, m) < 0)
        return NAN;
    size_t at;
    return reduce_all(kind, m, &at);
}

double mat_sum_all(mat m) { return reduce_scalar("mat_sum_all", R_SUM, m); }
double mat_mean_all(mat m) { return reduce_scalar("mat_mean_all", R_MEAN, m); }
double mat_min_all(mat m) { return reduce_scalar("mat_min_all", R_MIN, m); }
double mat_max_all(mat m) { return reduce_scalar("mat_max_all", R_MAX, m); }

/* ---- norms and dot ---- */

static double abs_sum(const double *x, size_t n, size_t inc)
{
    double s = 0;
    for (size_t k = 0; k < n; k++)
        s += fabs(x[k * inc]);
    return s;
}

/* Euclidean norm of all elements, safe from overflow (dnrm2 per row, hypot across rows). */
static double frobenius(mat m)
{
    if (mat_is_contiguous(m) && (size_t)m.rows * (size_t)m.cols <= 0x7fffffff)
        return cblas_dnrm2(m.rows * m.cols, m.data, 1);
    double norm = 0;
    for (int i = 0; i < m.rows; i++)
        norm = hypot(norm, cblas_dnrm2(m.cols, mat_ptr(m, i, 0), 1));
    return norm;
}

double mat_norm(mat m, const char *kind)
{
    if (check_nonempty("mat_norm", m) < 0)
        return NAN;
    if (!kind)
        kind = "fro";
    int vector = m.rows == 1 || m.cols == 1;
    size_t n = vector ? (size_t)(m.rows == 1 ? m.cols : m.rows) : 0;
    size_t inc = m.rows == 1 ? 1 : (size_t)m.stride;
    if (strcmp(kind, "fro") == 0 || (vector && strcmp(kind, "2") == 0))
        return frobenius(m);
    if (strcmp(kind, "1") == 0) {
        if (vector)
            return abs_sum(m.data, n, inc);
        double best = 0;
        for (int j = 0; j < m.cols; j++) {
            double s = abs_sum(m.data + j, (size_t)m.rows, (size_t)m.stride);
            if (s > best || s != s)
                best = s;
            if (best != best)
                break;
        }
        return best;
    }
    if (strcmp(kind, "inf") == 0) {
        double best = 0;
        if (vector) {
            for (size_t k = 0; k < n; k++) {
                double a = fabs(m.data[k * inc]);
                if (a != a)
                    return a;
                best = a > best ? a : best;
            }
            return best;
        }
        for (int i = 0; i < m.rows; i++) {
            double s = abs_sum(mat_ptr(m, i, 0), (size_t)m.cols, 1);
            if (s != s)
                return s;
            best = s > best ? s : best;
        }
        return best;
    }
    if (strcmp(kind, "2") == 0) {
        cairn_error("mat_norm", "the 2-norm of a %dx%d matrix is its largest singular value: use the SVD "
                    "(or \"fro\", \"1\", \"inf\")", m.rows, m.cols);
        return NAN;
    }
    cairn_error("mat_norm", "unknown norm \"%s\" for a %dx%d matrix: use \"fro\", \"1\", \"inf\" (or \"2\" for a vector)",
                kind, m.rows, m.cols);
    return NAN;
}

double mat_dot(mat a, mat b)
{
    if (check_nonempty("mat_dot", a) < 0 || check_nonempty("mat_dot", b) < 0)
        return NAN;
    int av = a.rows == 1 || a.cols == 1, bv = b.rows == 1 || b.cols == 1;
    if (av && bv) {
        size_t na = (size_t)a.rows * (size_t)a.cols, nb = (size_t)b.rows * (size_t)b.cols;
        if (na != nb) {
            cairn_error("mat_dot", "vector lengths differ: a is %dx%d, b is %dx%d", a.rows, a.cols, b.rows, b.cols);
            return NAN;
        }
        if (na <= 0x7fffffff)
            return cblas_ddot((int)na, a.data, a.rows == 1 ? 1 : a.stride, b.data, b.rows == 1 ? 1 : b.stride);
    }
    if (a.rows != b.rows || a.cols != b.cols) {
        cairn_error("mat_dot", "shapes differ: a is %dx%d, b is %dx%d (needs two vectors of one length or two "
                    "matrices of one shape)", a.rows, a.cols, b.rows, b.cols);
        return NAN;
    }
    double s = 0;
    for (int i = 0; i < a.rows; i++)
        s += cblas_ddot(a.cols, mat_ptr(a, i, 0), 1, mat_ptr(b, i, 0), 1);
    return s;
}

/* ---- data preparation ---- */

static mat center_scale(const char *func, mat m, int scale)
{
    if (check_nonempty(func, m) < 0)
        return mat_empty();
    if (!mat_all_finite(m)) {
        cairn_error(func, "the %dx%d input holds NaN or infinite values", m.rows, m.cols);
        return mat_empty();
    }
    mat mean = mat_mean(m, 0);
    mat out = mat_sub(m, mean);
    if (scale && out.data) {
        mat sd = mat_std(m, 0);
        /* A constant column has std 0 (or rounding noise): leave it centered rather than
         * turn it into NaN or noise, as scikit-learn's StandardScaler does. */
        for (int j = 0; sd.data && j < m.cols; j++) {
            double tiny = 10 * DBL_EPSILON * (fabs(mean.data[j]) > 1 ? fabs(mean.data[j]) : 1);
            if (sd.data[j] <= tiny)
                sd.data[j] = 1;
        }
        if (sd.data)
            mat_div_inplace(out, sd);
        mat_free(&sd);
    }
    mat_free(&mean);
    return out;
}

mat mat_center_cols(mat m) { return center_scale("mat_center_cols", m, 0); }
mat mat_standardize_cols(mat m) { return center_scale("mat_standardize_cols", m, 1); }

mat mat_one_hot(mat labels, int nclasses)
{
    if (check_nonempty("mat_one_hot", labels) < 0)
        return mat_empty();
    if (labels.rows != 1 && labels.cols != 1) {
        cairn_error("mat_one_hot", "labels must be a vector (1 x n or n x 1), got %dx%d", labels.rows, labels.cols);
        return mat_empty();
    }
    if (nclasses <= 0) {
        cairn_error("mat_one_hot", "nclasses must be positive, got %d", nclasses);
        return mat_empty();
    }
    int n = labels.rows == 1 ? labels.cols : labels.rows;
    size_t inc = labels.rows == 1 ? 1 : (size_t)labels.stride;
    for (int k = 0; k < n; k++) {
        double v = labels.data[k * inc];
        if (!(v >= 0 && v < nclasses) || v != floor(v)) {
            cairn_error("mat_one_hot", "label %d is %g, not an integer in [0, %d)", k, v, nclasses);
            return mat_empty();
        }
    }
    mat out = mat_zeros(n, nclasses);
    for (int k = 0; out.data && k < n; k++)
        *mat_ptr(out, k, (int)labels.data[k * inc]) = 1.0;
    return out;
}
