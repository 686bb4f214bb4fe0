/* mat_blas.c — matrix products through OpenBLAS.
 *
 * All products are one cblas call in row-major order with the matrix stride as the
 * leading dimension, so views (blocks, columns, row ranges) go to BLAS without a copy.
 * Transposed products (AᵀB, ABᵀ) use BLAS's transpose flags rather than forming the
 * transpose. AᵀA uses dsyrk, which computes one triangle at half the flops of dgemm;
 * the other triangle is mirrored afterwards so the result is an ordinary matrix.
 * The `_into` forms refuse an output that overlaps an input: BLAS would read values it
 * has already overwritten and return a silently wrong product. */
#include "cairn/mat_ops.h"
#include "cairn/alloc.h"
#include "cairn/error.h"

#include <cblas.h>
#include <stdint.h>

static int check_operand(const char *func, const char *name, mat m)
{
    if (mat_is_empty(m)) {
        cairn_error(func, "%s is an empty matrix (%dx%d): the input is missing or an earlier call failed", name,
                    m.rows, m.cols);
        return -1;
    }
    if (m.stride < m.cols) {
        cairn_error(func, "%s (%dx%d) has stride %d < cols", name, m.rows, m.cols, m.stride);
        return -1;
    }
    return 0;
}

/* Whether the memory spanned by two matrices intersects. */
static int overlaps(mat x, mat y)
{
    uintptr_t x0 = (uintptr_t)x.data, y0 = (uintptr_t)y.data;
    uintptr_t x1 = (uintptr_t)mat_ptr(x, x.rows - 1, x.cols), y1 = (uintptr_t)mat_ptr(y, y.rows - 1, y.cols);
    return x0 < y1 && y0 < x1;
}

static int check_output(const char *func, mat c, mat a, mat b)
{
    if (check_operand(func, "C", c) < 0)
        return -1;
    if (overlaps(c, a) || (b.data && overlaps(c, b))) {
        cairn_error(func, "the output C (%dx%d) shares memory with an input; write into a separate matrix", c.rows,
                    c.cols);
        return -1;
    }
    return 0;
}

/* Shape check and call shared by every product: C = alpha op(A) op(B) + beta C. */
static int gemm_checked(const char *func, const char *what, mat c, double alpha, mat a, int ta, mat b, int tb,
                        double beta)
{
    if (check_operand(func, "A", a) < 0 || check_operand(func, "B", b) < 0)
        return -1;
    int m = ta ? a.cols : a.rows, k = ta ? a.rows : a.cols;
    int k2 = tb ? b.cols : b.rows, n = tb ? b.rows : b.cols;
    if (k != k2) {
        cairn_error(func, "%s: A is %dx%d, B is %dx%d", what, a.rows, a.cols, b.rows, b.cols);
        return -1;
    }
    if (check_output(func, c, a, b) < 0)
        return -1;
    if (c.rows != m || c.cols != n) {
        cairn_error(func, "output C is %dx%d but the product of A (%dx%d) and B (%dx%d) is %dx%d", c.rows, c.cols,
                    a.rows, a.cols, b.rows, b.cols, m, n);
        return -1;
    }
    cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n, k, alpha,
                a.data, a.stride, b.data, b.stride, beta, c.data, c.stride);
    return 0;
}

int mat_gemm(mat c, double alpha, mat a, int trans_a, mat b, int trans_b, double beta)
{
    return gemm_checked("mat_gemm", "inner dimensions of op(A)·op(B) differ", c, alpha, a, trans_a != 0, b,
                        trans_b != 0, beta);
}

int mat_mul_into(mat c, mat a, mat b)
{
    return gemm_checked("mat_mul_into", "inner dimensions differ", c, 1.0, a, 0, b, 0, 0.0);
}

int mat_mul_tn_into(mat c, mat a, mat b)
{
    return gemm_checked("mat_mul_tn_into", "Aᵀ·B needs equal row counts", c, 1.0, a, 1, b, 0, 0.0);
}

int mat_mul_nt_into(mat c, mat a, mat b)
{
    return gemm_checked("mat_mul_nt_into", "A·Bᵀ needs equal column counts", c, 1.0, a, 0, b, 1, 0.0);
}

/* New-result products: check shapes first so a mismatch allocates nothing. */
static mat product_new(const char *func, const char *what, mat a, int ta, mat b, int tb)
{
    if (check_operand(func, "A", a) < 0 || check_operand(func, "B", b) < 0)
        return mat_empty();
    int m = ta ? a.cols : a.rows, k = ta ? a.rows : a.cols;
    int k2 = tb ? b.cols : b.rows, n = tb ? b.rows : b.cols;
    if (k != k2) {
        cairn_error(func, "%s: A is %dx%d, B is %dx%d", what, a.rows, a.cols, b.rows, b.cols);
        return mat_empty();
    }
    mat c = mat_alloc(m, n);
    if (!c.data)
        return c;
    cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n, k, 1.0,
                a.data, a.stride, b.data, b.stride, 0.0, c.data, c.stride);
    return c;
}

mat mat_mul(mat a, mat b) { return product_new("mat_mul", "inner dimensions differ", a, 0, b, 0); }
mat mat_mul_tn(mat a, mat b) { return product_new("mat_mul_tn", "Aᵀ·B needs equal row counts", a, 1, b, 0); }
mat mat_mul_nt(mat a, mat b) { return product_new("mat_mul_nt", "A·Bᵀ needs equal column counts", a, 0, b, 1); }

static void gram_run(mat c, mat a)
{
    int n = a.cols;
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, n, a.rows, 1.0, a.data, a.stride, 0.0, c.data, c.stride);
    for (int i = 1; i < n; i++)
        for (int j = 0; j < i; j++)
            *mat_ptr(c, i, j) = *mat_ptr(c, j, i);
}

mat mat_gram(mat a)
{
    if (check_operand("mat_gram", "A", a) < 0)
        return mat_empty();
    mat c = mat_alloc(a.cols, a.cols);
    if (c.data)
        gram_run(c, a);
    return c;
}

int mat_gram_into(mat c, mat a)
{
    if (check_operand("mat_gram_into", "A", a) < 0 || check_output("mat_gram_into", c, a, mat_empty()) < 0)
        return -1;
    if (c.rows != a.cols || c.cols != a.cols) {
        cairn_error("mat_gram_into", "output C is %dx%d but AᵀA of A (%dx%d) is %dx%d", c.rows, c.cols, a.rows,
                    a.cols, a.cols, a.cols);
        return -1;
    }
    gram_run(c, a);
    return 0;
}

static int vector_length(mat v) { return v.rows == 1 ? v.cols : v.cols == 1 ? v.rows : -1; }
static int vector_inc(mat v) { return v.rows == 1 ? 1 : v.stride; }

static int check_mul_vec(const char *func, mat a, mat x)
{
    if (check_operand(func, "A", a) < 0 || check_operand(func, "x", x) < 0)
        return -1;
    if (vector_length(x) < 0) {
        cairn_error(func, "x must be a vector (1 x n or n x 1), got %dx%d", x.rows, x.cols);
        return -1;
    }
    if (vector_length(x) != a.cols) {
        cairn_error(func, "A is %dx%d but x has %d elements (%dx%d)", a.rows, a.cols, vector_length(x), x.rows,
                    x.cols);
        return -1;
    }
    return 0;
}

mat mat_mul_vec(mat a, mat x)
{
    if (check_mul_vec("mat_mul_vec", a, x) < 0)
        return mat_empty();
    mat y = x.rows == 1 && x.cols != 1 ? mat_alloc(1, a.rows) : mat_alloc(a.rows, 1);
    if (!y.data)
        return y;
    cblas_dgemv(CblasRowMajor, CblasNoTrans, a.rows, a.cols, 1.0, a.data, a.stride, x.data, vector_inc(x), 0.0,
                y.data, 1);
    return y;
}

int mat_mul_vec_into(mat y, mat a, mat x)
{
    if (check_mul_vec("mat_mul_vec_into", a, x) < 0 || check_output("mat_mul_vec_into", y, a, x) < 0)
        return -1;
    if (vector_length(y) != a.rows) {
        cairn_error("mat_mul_vec_into", "y is %dx%d but A·x of A (%dx%d) has %d elements", y.rows, y.cols, a.rows,
                    a.cols, a.rows);
        return -1;
    }
    cblas_dgemv(CblasRowMajor, CblasNoTrans, a.rows, a.cols, 1.0, a.data, a.stride, x.data, vector_inc(x), 0.0,
                y.data, vector_inc(y));
    return 0;
}
