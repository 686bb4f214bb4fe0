/* mat_elementwise.c — elementwise arithmetic, math functions and comparisons.
 *
 * Binary operations broadcast like NumPy on two dimensions: each of rows and cols of a
 * and b must be equal or 1. One kernel handles every case: per output row it picks the
 * row of a and of b (row 0 for a broadcast operand) and runs an inner loop in one of
 * four forms (vector/vector, vector/scalar, scalar/vector, scalar/scalar), each written
 * out per operation by a macro so the compiler sees a plain loop it can vectorize —
 * no function pointer or switch per element. When a, b and the output are contiguous
 * and of one shape the whole matrix is a single inner loop. */
/* -O2's "very cheap" vectorizer skips loops that need a runtime aliasing check, which
 * is every loop here (inputs and outputs are separate pointers); the dynamic cost model
 * (what -O3 uses) vectorizes them. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("vect-cost-model=dynamic")
#endif
#include "cairn/mat_ops.h"
#include "cairn/alloc.h"
#include "cairn/error.h"

#include <math.h>
#include <stdlib.h>

typedef enum { OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_GT, OP_GE, OP_LT, OP_LE, OP_EQ, OP_NE } binop;

static int check_nonempty(const char *func, const char *name, mat m)
{
    if (mat_is_empty(m)) {
        cairn_error(func, "%s is an empty matrix (%dx%d): the input is missing or an earlier call failed", name,
                    m.rows, m.cols);
        return -1;
    }
    return 0;
}

/* Shape of a (op) b after broadcasting, or -1 after reporting an error. */
static int broadcast_shape(const char *func, mat a, mat b, int *rows, int *cols)
{
    if (check_nonempty(func, "a", a) < 0 || check_nonempty(func, "b", b) < 0)
        return -1;
    int r_ok = a.rows == b.rows || a.rows == 1 || b.rows == 1;
    int c_ok = a.cols == b.cols || a.cols == 1 || b.cols == 1;
    if (!r_ok || !c_ok) {
        cairn_error(func, "shapes do not broadcast: a is %dx%d, b is %dx%d (each dimension must match or be 1)",
                    a.rows, a.cols, b.rows, b.cols);
        return -1;
    }
    *rows = a.rows > b.rows ? a.rows : b.rows;
    *cols = a.cols > b.cols ? a.cols : b.cols;
    return 0;
}

#define F_ADD(x, y) ((x) + (y))
#define F_SUB(x, y) ((x) - (y))
#define F_MUL(x, y) ((x) * (y))
#define F_DIV(x, y) ((x) / (y))
#define F_GT(x, y) ((x) > (y) ? 1.0 : 0.0)
#define F_GE(x, y) ((x) >= (y) ? 1.0 : 0.0)
#define F_LT(x, y) ((x) < (y) ? 1.0 : 0.0)
#define F_LE(x, y) ((x) <= (y) ? 1.0 : 0.0)
#define F_EQ(x, y) ((x) == (y) ? 1.0 : 0.0)
#define F_NE(x, y) ((x) != (y) ? 1.0 : 0.0)

/* One output row of n elements: x steps when sx, y steps when sy. */
#define ROW_LOOP(F)                                                 \
    do {                                                            \
        if (sx && sy) {                                             \
            for (size_t j = 0; j < n; j++)                          \
                o[j] = F(x[j], y[j]);                               \
        } else if (sx) {                                            \
            double yv = y[0];                                       \
            for (size_t j = 0; j < n; j++)                          \
                o[j] = F(x[j], yv);                                 \
        } else if (sy) {                                            \
            double xv = x[0];                                       \
            for (size_t j = 0; j < n; j++)                          \
                o[j] = F(xv, y[j]);                                 \
        } else {                                                    \
            double v = F(x[0], y[0]);                               \
            for (size_t j = 0; j < n; j++)                          \
                o[j] = v;                                           \
        }                                                           \
    } while (0)

static void row_op(binop op, double *o, const double *x, const double *y, size_t n, int sx, int sy)
{
    switch (op) {
    case OP_ADD: ROW_LOOP(F_ADD); break;
    case OP_SUB: ROW_LOOP(F_SUB); break;
    case OP_MUL: ROW_LOOP(F_MUL); break;
    case OP_DIV: ROW_LOOP(F_DIV); break;
    case OP_GT: ROW_LOOP(F_GT); break;
    case OP_GE: ROW_LOOP(F_GE); break;
    case OP_LT: ROW_LOOP(F_LT); break;
    case OP_LE: ROW_LOOP(F_LE); break;
    case OP_EQ: ROW_LOOP(F_EQ); break;
    case OP_NE: ROW_LOOP(F_NE); break;
    }
}

/* out (rows x cols, already checked) = a op b. out may be a or b itself: output element
 * k depends only on element k (or a broadcast element) of each input, read before the
 * write, and a broadcast operand never is the output (its shape differs). */
static void binop_run(binop op, mat out, mat a, mat b)
{
    int same = a.rows == b.rows && a.cols == b.cols;
    if (same && mat_is_contiguous(a) && mat_is_contiguous(b) && mat_is_contiguous(out)) {
        row_op(op, out.data, a.data, b.data, (size_t)out.rows * (size_t)out.cols, 1, 1);
        return;
    }
    int sx = a.cols != 1 || out.cols == 1;
    int sy = b.cols != 1 || out.cols == 1;
    for (int i = 0; i < out.rows; i++) {
        const double *x = mat_ptr(a, a.rows == 1 ? 0 : i, 0);
        const double *y = mat_ptr(b, b.rows == 1 ? 0 : i, 0);
        row_op(op, mat_ptr(out, i, 0), x, y, (size_t)out.cols, sx, sy);
    }
}

static mat binop_new(const char *func, binop op, mat a, mat b)
{
    int rows, cols;
    if (broadcast_shape(func, a, b, &rows, &cols) < 0)
        return mat_empty();
    mat out = mat_alloc(rows, cols);
    if (!out.data)
        return out;
    binop_run(op, out, a, b);
    return out;
}

static int binop_into(const char *func, binop op, mat out, mat a, mat b)
{
    int rows, cols;
    if (check_nonempty(func, "out", out) < 0 || broadcast_shape(func, a, b, &rows, &cols) < 0)
        return -1;
    if (out.rows != rows || out.cols != cols) {
        cairn_error(func, "output is %dx%d but a (%dx%d) with b (%dx%d) gives %dx%d", out.rows, out.cols, a.rows,
                    a.cols, b.rows, b.cols, rows, cols);
        return -1;
    }
    binop_run(op, out, a, b);
    return 0;
}

mat mat_add(mat a, mat b) { return binop_new("mat_add", OP_ADD, a, b); }
mat mat_sub(mat a, mat b) { return binop_new("mat_sub", OP_SUB, a, b); }
mat mat_emul(mat a, mat b) { return binop_new("mat_emul", OP_MUL, a, b); }
mat mat_div(mat a, mat b) { return binop_new("mat_div", OP_DIV, a, b); }
mat mat_gt(mat a, mat b) { return binop_new("mat_gt", OP_GT, a, b); }
mat mat_ge(mat a, mat b) { return binop_new("mat_ge", OP_GE, a, b); }
mat mat_lt(mat a, mat b) { return binop_new("mat_lt", OP_LT, a, b); }
mat mat_le(mat a, mat b) { return binop_new("mat_le", OP_LE, a, b); }
mat mat_eq(mat a, mat b) { return binop_new("mat_eq", OP_EQ, a, b); }
mat mat_ne(mat a, mat b) { return binop_new("mat_ne", OP_NE, a, b); }

int mat_add_inplace(mat a, mat b) { return binop_into("mat_add_inplace", OP_ADD, a, a, b); }
int mat_sub_inplace(mat a, mat b) { return binop_into("mat_sub_inplace", OP_SUB, a, a, b); }
int mat_emul_inplace(mat a, mat b) { return binop_into("mat_emul_inplace", OP_MUL, a, a, b); }
int mat_div_inplace(mat a, mat b) { return binop_into("mat_div_inplace", OP_DIV, a, a, b); }
int mat_add_into(mat out, mat a, mat b) { return binop_into("mat_add_into", OP_ADD, out, a, b); }
int mat_sub_into(mat out, mat a, mat b) { return binop_into("mat_sub_into", OP_SUB, out, a, b); }
int mat_emul_into(mat out, mat a, mat b) { return binop_into("mat_emul_into", OP_MUL, out, a, b); }
int mat_div_into(mat out, mat a, mat b) { return binop_into("mat_div_into", OP_DIV, out, a, b); }

/* ---- one-operand operations ---- */

typedef enum {
    U_ADD, U_SCALE, U_SQUARE, U_POW, U_EXP, U_LOG, U_SQRT, U_ABS, U_CLIP,
    U_GT, U_GE, U_LT, U_LE, U_EQ, U_NE
} unop;

#define UNARY_LOOP(EXPR)                      \
    do {                                      \
        for (size_t j = 0; j < n; j++) {      \
            double x = in[j];                 \
            o[j] = (EXPR);                    \
        }                                     \
    } while (0)

static void row_unary(unop op, double *o, const double *in, size_t n, double s, double t)
{
    switch (op) {
    case U_ADD: UNARY_LOOP(x + s); break;
    case U_SCALE: UNARY_LOOP(x * s); break;
    case U_SQUARE: UNARY_LOOP(x * x); break;
    case U_POW: UNARY_LOOP(pow(x, s)); break;
    case U_EXP: UNARY_LOOP(exp(x)); break;
    case U_LOG: UNARY_LOOP(log(x)); break;
    case U_SQRT: UNARY_LOOP(sqrt(x)); break;
    case U_ABS: UNARY_LOOP(fabs(x)); break;
    case U_CLIP: UNARY_LOOP(x < s ? s : x > t ? t : x); break;
    case U_GT: UNARY_LOOP(x > s ? 1.0 : 0.0); break;
    case U_GE: UNARY_LOOP(x >= s ? 1.0 : 0.0); break;
    case U_LT: UNARY_LOOP(x < s ? 1.0 : 0.0); break;
    case U_LE: UNARY_LOOP(x <= s ? 1.0 : 0.0); break;
    case U_EQ: UNARY_LOOP(x == s ? 1.0 : 0.0); break;
    case U_NE: UNARY_LOOP(x != s ? 1.0 : 0.0); break;
    }
}

static void unary_run(unop op, mat out, mat a, double s, double t)
{
    if (mat_is_contiguous(a) && mat_is_contiguous(out)) {
        row_unary(op, out.data, a.data, (size_t)a.rows * (size_t)a.cols, s, t);
        return;
    }
    for (int i = 0; i < a.rows; i++)
        row_unary(op, mat_ptr(out, i, 0), mat_ptr(a, i, 0), (size_t)a.cols, s, t);
}

/* First element below zero (the domain error of log and sqrt), or -1 as (i, j). */
static int find_negative(mat a, int *bi, int *bj)
{
    for (int i = 0; i < a.rows; i++) {
        const double *r = mat_ptr(a, i, 0);
        for (int j = 0; j < a.cols; j++) {
            if (r[j] < 0) {
                *bi = i;
                *bj = j;
                return 0;
            }
        }
    }
    return -1;
}

static mat unary_new(const char *func, unop op, mat a, double s, double t)
{
    if (check_nonempty(func, "a", a) < 0)
        return mat_empty();
    mat out = mat_alloc(a.rows, a.cols);
    if (!out.data)
        return out;
    unary_run(op, out, a, s, t);
    return out;
}

mat mat_add_scalar(mat a, double s) { return unary_new("mat_add_scalar", U_ADD, a, s, 0); }
mat mat_scale(mat a, double s) { return unary_new("mat_scale", U_SCALE, a, s, 0); }
mat mat_exp(mat a) { return unary_new("mat_exp", U_EXP, a, 0, 0); }
mat mat_abs(mat a) { return unary_new("mat_abs", U_ABS, a, 0, 0); }
mat mat_gt_scalar(mat a, double s) { return unary_new("mat_gt_scalar", U_GT, a, s, 0); }
mat mat_ge_scalar(mat a, double s) { return unary_new("mat_ge_scalar", U_GE, a, s, 0); }
mat mat_lt_scalar(mat a, double s) { return unary_new("mat_lt_scalar", U_LT, a, s, 0); }
mat mat_le_scalar(mat a, double s) { return unary_new("mat_le_scalar", U_LE, a, s, 0); }
mat mat_eq_scalar(mat a, double s) { return unary_new("mat_eq_scalar", U_EQ, a, s, 0); }
mat mat_ne_scalar(mat a, double s) { return unary_new("mat_ne_scalar", U_NE, a, s, 0); }

static mat domain_checked(const char *func, unop op, mat a)
{
    if (check_nonempty(func, "a", a) < 0)
        return mat_empty();
    int i, j;
    if (find_negative(a, &i, &j) == 0) {
        cairn_error(func, "element (%d, %d) of the %dx%d input is %g < 0 (result would be NaN)", i, j, a.rows,
                    a.cols, *mat_ptr(a, i, j));
        return mat_empty();
    }
    return unary_new(func, op, a, 0, 0);
}

mat mat_log(mat a) { return domain_checked("mat_log", U_LOG, a); }
mat mat_sqrt(mat a) { return domain_checked("mat_sqrt", U_SQRT, a); }

mat mat_pow(mat a, double p)
{
    if (check_nonempty("mat_pow", "a", a) < 0)
        return mat_empty();
    if (p == 2.0)
        return unary_new("mat_pow", U_SQUARE, a, 0, 0);
    if (p != floor(p)) {
        int i, j;
        if (find_negative(a, &i, &j) == 0) {
            cairn_error("mat_pow", "element (%d, %d) of the %dx%d input is %g < 0 and the power %g is not an integer",
                        i, j, a.rows, a.cols, *mat_ptr(a, i, j), p);
            return mat_empty();
        }
        if (p == 0.5)
            return unary_new("mat_pow", U_SQRT, a, 0, 0);
    }
    return unary_new("mat_pow", U_POW, a, p, 0);
}

mat mat_clip(mat a, double lo, double hi)
{
    if (!(lo <= hi)) {
        cairn_error("mat_clip", "lower bound %g is above upper bound %g", lo, hi);
        return mat_empty();
    }
    return unary_new("mat_clip", U_CLIP, a, lo, hi);
}

mat mat_apply(mat a, double (*fn)(double))
{
    if (!fn) {
        cairn_error("mat_apply", "fn is NULL");
        return mat_empty();
    }
    if (check_nonempty("mat_apply", "a", a) < 0)
        return mat_empty();
    mat out = mat_alloc(a.rows, a.cols);
    for (int i = 0; out.data && i < a.rows; i++) {
        const double *x = mat_ptr(a, i, 0);
        double *o = mat_ptr(out, i, 0);
        for (int j = 0; j < a.cols; j++)
            o[j] = fn(x[j]);
    }
    return out;
}

int mat_add_scalar_inplace(mat a, double s)
{
    if (check_nonempty("mat_add_scalar_inplace", "a", a) < 0)
        return -1;
    unary_run(U_ADD, a, a, s, 0);
    return 0;
}

int mat_scale_inplace(mat a, double s)
{
    if (check_nonempty("mat_scale_inplace", "a", a) < 0)
        return -1;
    unary_run(U_SCALE, a, a, s, 0);
    return 0;
}

int mat_apply_inplace(mat a, double (*fn)(double))
{
    if (!fn) {
        cairn_error("mat_apply_inplace", "fn is NULL");
        return -1;
    }
    if (check_nonempty("mat_apply_inplace", "a", a) < 0)
        return -1;
    for (int i = 0; i < a.rows; i++) {
        double *x = mat_ptr(a, i, 0);
        for (int j = 0; j < a.cols; j++)
            x[j] = fn(x[j]);
    }
    return 0;
}

int mat_axpy(mat y, double alpha, mat x)
{
    if (check_nonempty("mat_axpy", "y", y) < 0 || check_nonempty("mat_axpy", "x", x) < 0)
        return -1;
    if (y.rows != x.rows || y.cols != x.cols) {
        cairn_error("mat_axpy", "shapes differ: y is %dx%d, x is %dx%d", y.rows, y.cols, x.rows, x.cols);
        return -1;
    }
    if (mat_is_contiguous(x) && mat_is_contiguous(y)) {
        size_t n = (size_t)x.rows * (size_t)x.cols;
        for (size_t k = 0; k < n; k++)
            y.data[k] += alpha * x.data[k];
        return 0;
    }
    for (int i = 0; i < y.rows; i++) {
        double *yr = mat_ptr(y, i, 0);
        const double *xr = mat_ptr(x, i, 0);
        for (int j = 0; j < y.cols; j++)
            yr[j] += alpha * xr[j];
    }
    return 0;
}

int mat_allclose(mat a, mat b, double rtol, double atol)
{
    if (a.rows != b.rows || a.cols != b.cols || mat_is_empty(a) != mat_is_empty(b))
        return 0;
    for (int i = 0; i < a.rows && !mat_is_empty(a); i++) {
        const double *x = mat_ptr(a, i, 0);
        const double *y = mat_ptr(b, i, 0);
        for (int j = 0; j < a.cols; j++) {
            if (!(fabs(x[j] - y[j]) <= atol + rtol * fabs(y[j])) && x[j] != y[j])
                return 0;
        }
    }
    return 1;
}

int mat_all_finite(mat m)
{
    for (int i = 0; i < m.rows && m.data; i++) {
        const double *x = mat_ptr(m, i, 0);
        for (int j = 0; j < m.cols; j++)
            if (!isfinite(x[j]))
                return 0;
    }
    return 1;
}
