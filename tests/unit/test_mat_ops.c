/* test_mat_ops.c — elementwise arithmetic with broadcasting, comparisons, reductions by
 * axis, norms, dot, BLAS products, centering, one-hot: values against NumPy fixtures
 * (tests/fixtures/gen_mat_fixtures.py), algebraic identities, and error messages. */
#include "cairn.h"
#include "check.h"
#include "../fixtures/mat_fixtures.h"

static int has_error(const char *text) { return strstr(cairn_last_error(), text) != NULL; }

/* Every element of m against expected[] (row-major), with a relative tolerance. */
static int matches(mat m, const double *expected, int rows, int cols, double tol)
{
    if (m.rows != rows || m.cols != cols)
        return 0;
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < cols; j++) {
            double x = *mat_ptr(m, i, j), y = expected[i * cols + j];
            if (fabs(x - y) > tol * (fabs(y) > 1 ? fabs(y) : 1))
                return 0;
        }
    return 1;
}

static int matches_int(mat m, const int *expected, int rows, int cols)
{
    if (m.rows != rows || m.cols != cols)
        return 0;
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < cols; j++)
            if (*mat_ptr(m, i, j) != (double)expected[i * cols + j])
                return 0;
    return 1;
}

/* Checks r against expected and frees it. */
#define CHECK_MAT(r, expected, rows, cols, tol)                  \
    do {                                                         \
        mat check_r_ = (r);                                      \
        CHECK(matches(check_r_, expected, rows, cols, tol));     \
        mat_free(&check_r_);                                     \
    } while (0)

#define CHECK_MAT_INT(r, expected, rows, cols)                   \
    do {                                                         \
        mat check_r_ = (r);                                      \
        CHECK(matches_int(check_r_, expected, rows, cols));      \
        mat_free(&check_r_);                                     \
    } while (0)

static void test_elementwise(void)
{
    mat a = MAT(2, 3, 1, 2, 3, 4, 5, 6);
    mat b = MAT(2, 3, 6, 5, 4, 3, 2, 1);
    CHECK_MAT(mat_add(a, b), ((double[]){7, 7, 7, 7, 7, 7}), 2, 3, 0);
    CHECK_MAT(mat_sub(a, b), ((double[]){-5, -3, -1, 1, 3, 5}), 2, 3, 0);
    CHECK_MAT(mat_emul(a, b), ((double[]){6, 10, 12, 12, 10, 6}), 2, 3, 0);
    CHECK_MAT(mat_div(a, b), ((double[]){1.0 / 6, 0.4, 0.75, 4.0 / 3, 2.5, 6}), 2, 3, 1e-15);
    CHECK_MAT(mat_add_scalar(a, -1), ((double[]){0, 1, 2, 3, 4, 5}), 2, 3, 0);
    CHECK_MAT(mat_scale(a, 0.5), ((double[]){0.5, 1, 1.5, 2, 2.5, 3}), 2, 3, 0);
    CHECK_MAT(mat_pow(a, 2), ((double[]){1, 4, 9, 16, 25, 36}), 2, 3, 0);
    CHECK_MAT(mat_pow(a, 3), ((double[]){1, 8, 27, 64, 125, 216}), 2, 3, 1e-15);
    CHECK_MAT(mat_pow(a, 0.5), ((double[]){1, sqrt(2), sqrt(3), 2, sqrt(5), sqrt(6)}), 2, 3, 1e-15);
    CHECK_MAT(mat_exp(a), ((double[]){exp(1), exp(2), exp(3), exp(4), exp(5), exp(6)}), 2, 3, 1e-15);
    CHECK_MAT(mat_log(a), ((double[]){0, log(2), log(3), log(4), log(5), log(6)}), 2, 3, 1e-15);
    CHECK_MAT(mat_sqrt(a), ((double[]){1, sqrt(2), sqrt(3), 2, sqrt(5), sqrt(6)}), 2, 3, 1e-15);
    CHECK_MAT(mat_abs(mat_scale(a, -1)), ((double[]){1, 2, 3, 4, 5, 6}), 2, 3, 0);
    CHECK_MAT(mat_clip(a, 2, 4.5), ((double[]){2, 2, 3, 4, 4.5, 4.5}), 2, 3, 0);
    CHECK_MAT(mat_apply(a, cos), ((double[]){cos(1), cos(2), cos(3), cos(4), cos(5), cos(6)}), 2, 3, 0);

    /* Domain errors name the element instead of returning NaN. */
    mat n = MAT(2, 2, 1, 2, -3, 4);
    CHECK(mat_is_empty(mat_log(n)) &&
          has_error("mat_log: element (1, 0) of the 2x2 input is -3 < 0 (result would be NaN)"));
    CHECK(mat_is_empty(mat_sqrt(n)) && has_error("mat_sqrt: element (1, 0)"));
    CHECK(mat_is_empty(mat_pow(n, 0.5)) && has_error("mat_pow: element (1, 0) of the 2x2 input is -3 < 0"));
    CHECK_MAT(mat_pow(n, 3), ((double[]){1, 8, -27, 64}), 2, 2, 1e-15);

    /* On views: strided input, strided output in place. */
    mat big = MAT(3, 4, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12);
    mat blk = mat_block(big, 1, 1, 2, 2);
    CHECK_MAT(mat_add(blk, blk), ((double[]){12, 14, 20, 22}), 2, 2, 0);
    CHECK(mat_add_scalar_inplace(blk, 100) == 0);
    CHECK(mat_get(big, 1, 1) == 106 && mat_get(big, 2, 2) == 111 && mat_get(big, 1, 3) == 8 &&
          mat_get(big, 0, 1) == 2);
    CHECK(mat_apply_inplace(mat_col(big, 0), sqrt) == 0 && mat_get(big, 2, 0) == 3 && mat_get(big, 2, 1) == 110);

    long errs = cairn_error_count();
    CHECK(mat_is_empty(mat_add(a, MAT(3, 2, 1, 2, 3, 4, 5, 6))));
    CHECK(has_error("mat_add: shapes do not broadcast: a is 2x3, b is 3x2"));
    CHECK(mat_is_empty(mat_emul(a, mat_empty())) && has_error("mat_emul: b is an empty matrix (0x0)"));
    CHECK(cairn_error_count() == errs + 2);
    mat_free(&a); mat_free(&b); mat_free(&n); mat_free(&big);
}

static void test_broadcast_inplace(void)
{
    mat a = MAT(2, 3, 1, 2, 3, 4, 5, 6);
    mat row = MAT(1, 3, 10, 20, 30);
    mat col = MAT(2, 1, 100, 200);
    mat one = MAT(1, 1, 2);
    CHECK_MAT(mat_add(a, row), ((double[]){11, 22, 33, 14, 25, 36}), 2, 3, 0);
    CHECK_MAT(mat_sub(row, a), ((double[]){9, 18, 27, 6, 15, 24}), 2, 3, 0);
    CHECK_MAT(mat_emul(a, col), ((double[]){100, 200, 300, 800, 1000, 1200}), 2, 3, 0);
    CHECK_MAT(mat_div(col, a), ((double[]){100, 50, 100.0 / 3, 50, 40, 200.0 / 6}), 2, 3, 1e-15);
    CHECK_MAT(mat_div(a, one), ((double[]){0.5, 1, 1.5, 2, 2.5, 3}), 2, 3, 0);
    /* Row with column gives the outer sum, as in NumPy. */
    CHECK_MAT(mat_add(row, col), ((double[]){110, 120, 130, 210, 220, 230}), 2, 3, 0);
    /* A column view (stride 3) broadcast along rows. */
    CHECK_MAT(mat_sub(a, mat_col(a, 0)), ((double[]){0, 1, 2, 0, 1, 2}), 2, 3, 0);

    CHECK(mat_sub_inplace(a, row) == 0);
    CHECK(matches(a, (double[]){-9, -18, -27, -6, -15, -24}, 2, 3, 0));
    CHECK(mat_emul_inplace(a, col) == 0 && mat_get(a, 1, 2) == -4800);
    CHECK(mat_div_inplace(a, one) == 0 && mat_get(a, 1, 2) == -2400);
    CHECK(mat_add_inplace(a, a) == 0 && mat_get(a, 0, 0) == -900 && mat_get(a, 1, 2) == -4800);
    CHECK(mat_add_inplace(row, a) == -1 &&
          has_error("mat_add_inplace: output is 1x3 but a (1x3) with b (2x3) gives 2x3"));
    mat out = mat_zeros(2, 3);
    CHECK(mat_add_into(out, row, col) == 0 && mat_get(out, 1, 2) == 230);
    CHECK(mat_sub_into(out, out, row) == 0 && mat_get(out, 1, 2) == 200);
    CHECK(mat_emul_into(out, col, row) == 0 && mat_get(out, 1, 0) == 2000);
    CHECK(mat_div_into(out, out, one) == 0 && mat_get(out, 1, 0) == 1000);
    mat y = MAT(1, 3, 1, 1, 1);
    CHECK(mat_axpy(y, 2, row) == 0 && matches(y, (double[]){21, 41, 61}, 1, 3, 0));
    CHECK(mat_axpy(y, 2, col) == -1 && has_error("mat_axpy: shapes differ: y is 1x3, x is 2x1"));
    mat_free(&a); mat_free(&row); mat_free(&col); mat_free(&one); mat_free(&out); mat_free(&y);
}

static void test_comparisons(void)
{
    mat a = MAT(2, 3, 1, 5, 3, NAN, 2, 3);
    mat t = MAT(1, 3, 2, 2, 3);
    CHECK_MAT(mat_gt(a, t), ((double[]){0, 1, 0, 0, 0, 0}), 2, 3, 0);
    CHECK_MAT(mat_ge(a, t), ((double[]){0, 1, 1, 0, 1, 1}), 2, 3, 0);
    CHECK_MAT(mat_lt(a, t), ((double[]){1, 0, 0, 0, 0, 0}), 2, 3, 0);
    CHECK_MAT(mat_le(a, t), ((double[]){1, 0, 1, 0, 1, 1}), 2, 3, 0);
    CHECK_MAT(mat_eq(a, t), ((double[]){0, 0, 1, 0, 1, 1}), 2, 3, 0);
    CHECK_MAT(mat_ne(a, t), ((double[]){1, 1, 0, 1, 0, 0}), 2, 3, 0);
    CHECK_MAT(mat_gt_scalar(a, 2.5), ((double[]){0, 1, 1, 0, 0, 1}), 2, 3, 0);
    CHECK_MAT(mat_ge_scalar(a, 3), ((double[]){0, 1, 1, 0, 0, 1}), 2, 3, 0);
    CHECK_MAT(mat_lt_scalar(a, 3), ((double[]){1, 0, 0, 0, 1, 0}), 2, 3, 0);
    CHECK_MAT(mat_le_scalar(a, 3), ((double[]){1, 0, 1, 0, 1, 1}), 2, 3, 0);
    CHECK_MAT(mat_eq_scalar(a, 3), ((double[]){0, 0, 1, 0, 0, 1}), 2, 3, 0);
    CHECK_MAT(mat_ne_scalar(a, 3), ((double[]){1, 1, 0, 1, 1, 0}), 2, 3, 0);
    mat mask = mat_gt_scalar(a, 1.5);
    CHECK(mat_sum_all(mask) == 4); /* counting with a mask */
    CHECK(!mat_all_finite(a) && mat_all_finite(t));
    mat b = mat_add_scalar(t, 1e-12);
    CHECK(mat_allclose(b, t, 1e-9, 0) && !mat_allclose(b, t, 1e-15, 0) && !mat_allclose(a, a, 1, 1));
    mat_free(&a); mat_free(&t); mat_free(&mask); mat_free(&b);
}

static void test_reductions(void)
{
    mat a = mat_from(FX_A_ROWS, FX_A_COLS, fx_a);
    const double tol = 1e-14;
    CHECK_MAT(mat_sum(a, -1), fx_a_sum_all, 1, 1, tol);
    CHECK_MAT(mat_mean(a, -1), fx_a_mean_all, 1, 1, tol);
    CHECK_MAT(mat_std(a, -1), fx_a_std_all, 1, 1, tol);
    CHECK_MAT(mat_var(a, -1), fx_a_var_all, 1, 1, tol);
    CHECK_MAT(mat_min(a, -1), fx_a_min_all, 1, 1, 0);
    CHECK_MAT(mat_max(a, -1), fx_a_max_all, 1, 1, 0);
    CHECK_MAT_INT(mat_argmin(a, -1), fx_a_argmin_all, 1, 1);
    CHECK_MAT_INT(mat_argmax(a, -1), fx_a_argmax_all, 1, 1);
    CHECK_MAT(mat_sum(a, 0), fx_a_sum_ax0, 1, 4, tol);
    CHECK_MAT(mat_mean(a, 0), fx_a_mean_ax0, 1, 4, tol);
    CHECK_MAT(mat_std(a, 0), fx_a_std_ax0, 1, 4, tol);
    CHECK_MAT(mat_var(a, 0), fx_a_var_ax0, 1, 4, tol);
    CHECK_MAT(mat_min(a, 0), fx_a_min_ax0, 1, 4, 0);
    CHECK_MAT(mat_max(a, 0), fx_a_max_ax0, 1, 4, 0);
    CHECK_MAT_INT(mat_argmin(a, 0), fx_a_argmin_ax0, 1, 4);
    CHECK_MAT_INT(mat_argmax(a, 0), fx_a_argmax_ax0, 1, 4);
    CHECK_MAT(mat_sum(a, 1), fx_a_sum_ax1, 3, 1, tol);
    CHECK_MAT(mat_mean(a, 1), fx_a_mean_ax1, 3, 1, tol);
    CHECK_MAT(mat_std(a, 1), fx_a_std_ax1, 3, 1, tol);
    CHECK_MAT(mat_var(a, 1), fx_a_var_ax1, 3, 1, tol);
    CHECK_MAT(mat_min(a, 1), fx_a_min_ax1, 3, 1, 0);
    CHECK_MAT(mat_max(a, 1), fx_a_max_ax1, 3, 1, 0);
    CHECK_MAT_INT(mat_argmin(a, 1), fx_a_argmin_ax1, 3, 1);
    CHECK_MAT_INT(mat_argmax(a, 1), fx_a_argmax_ax1, 3, 1);
    CHECK(mat_sum_all(a) == fx_a_sum_all[0] && mat_min_all(a) == -3.5 && mat_max_all(a) == 6.0);
    CHECK_NEAR(mat_mean_all(a), fx_a_mean_all[0], tol);

    /* The same reductions on a strided view of a larger matrix. */
    mat host = mat_zeros(5, 7);
    mat v = mat_block(host, 1, 2, 3, 4);
    mat_copy_into(v, a);
    CHECK_MAT(mat_std(v, 0), fx_a_std_ax0, 1, 4, tol);
    CHECK_MAT(mat_var(v, 1), fx_a_var_ax1, 3, 1, tol);
    CHECK_MAT(mat_var(v, -1), fx_a_var_all, 1, 1, tol);
    CHECK_MAT_INT(mat_argmax(v, -1), fx_a_argmax_all, 1, 1);
    mat_free(&host);

    rng_seed(3);
    mat big = mat_rand(FX_BIG_ROWS, FX_BIG_COLS);
    CHECK_MAT(mat_std(big, 0), fx_big_std_ax0, 1, FX_BIG_COLS, 1e-13);
    CHECK_MAT(mat_var(big, 1), fx_big_var_ax1, FX_BIG_ROWS, 1, 1e-13);

    /* NaN is never skipped: it wins min/max, like NumPy. */
    mat n = MAT(2, 3, 1, NAN, -1, 4, 0, 2);
    mat mn = mat_min(n, 0), mx1 = mat_max(n, 1), am = mat_argmin(n, -1);
    CHECK(mn.data[0] == 1 && isnan(mn.data[1]) && mn.data[2] == -1);
    CHECK(isnan(mx1.data[0]) && mx1.data[1] == 4);
    CHECK(am.data[0] == 1);
    CHECK(isnan(mat_sum_all(n)));
    mat_free(&mn); mat_free(&mx1); mat_free(&am); mat_free(&n);

    CHECK(mat_is_empty(mat_sum(a, 2)) &&
          has_error("mat_sum: axis 2 for a 3x4 matrix: use -1 (all), 0 (down columns) or 1 (along rows)"));
    CHECK(isnan(mat_mean_all(mat_empty())) && has_error("mat_mean_all: empty matrix"));
    mat_free(&a);
    mat_free(&big);
}

static void test_sort_cumsum(void)
{
    mat a = mat_from(FX_A_ROWS, FX_A_COLS, fx_a);
    CHECK_MAT(mat_cumsum(a, -1), fx_a_cumsum_all, 3, 4, 1e-15);
    CHECK_MAT(mat_cumsum(a, 0), fx_a_cumsum_ax0, 3, 4, 1e-15);
    CHECK_MAT(mat_cumsum(a, 1), fx_a_cumsum_ax1, 3, 4, 1e-15);
    CHECK(mat_trace(mat_block(a, 0, 0, 3, 3)) == 3.5);
    CHECK(isnan(mat_trace(a)) && has_error("mat_trace: needs a square matrix, got 3x4"));

    mat v = mat_from(1, 8, fx_sortv);
    mat sorted = mat_sort(v), idx = mat_argsort(v);
    CHECK(sorted.rows == 1 && sorted.cols == 8 && idx.cols == 8);
    int ok = 1;
    for (int k = 0; k < 8; k++) {
        double want = fx_sortv_sorted[k];
        ok &= isnan(want) ? isnan(sorted.data[k]) : sorted.data[k] == want;
        ok &= idx.data[k] == (double)fx_sortv_argsort[k];
    }
    CHECK(ok);
    /* A column view sorts into a column. */
    mat cs = mat_sort(mat_col(a, 1));
    CHECK(cs.rows == 3 && cs.cols == 1 && cs.data[0] == -2 && cs.data[2] == 6);
    CHECK(mat_is_empty(mat_argsort(a)) && has_error("mat_argsort: needs a vector (1 x n or n x 1), got 3x4"));
    mat_free(&a); mat_free(&v); mat_free(&sorted); mat_free(&idx); mat_free(&cs);
}

static void test_norms_dot(void)
{
    mat a = mat_from(FX_A_ROWS, FX_A_COLS, fx_a);
    CHECK_NEAR(mat_norm(a, "fro"), fx_a_norms[0], 1e-15);
    CHECK_NEAR(mat_norm(a, "1"), fx_a_norms[1], 1e-15);
    CHECK_NEAR(mat_norm(a, "inf"), fx_a_norms[2], 1e-15);
    rng_seed(3);
    mat big = mat_rand(FX_BIG_ROWS, FX_BIG_COLS);
    CHECK_NEAR(mat_norm(big, "fro"), fx_big_norms[0], 1e-14);
    CHECK_NEAR(mat_norm(big, "1"), fx_big_norms[1], 1e-14);
    CHECK_NEAR(mat_norm(big, "inf"), fx_big_norms[2], 1e-14);
    /* Vectors get vector norms, in either orientation and as strided views. */
    mat x = MAT(1, 3, 3, -4, 12);
    CHECK(mat_norm(x, "2") == 13 && mat_norm(x, "1") == 19 && mat_norm(x, "inf") == 12);
    mat xt = mat_transpose(x);
    CHECK(mat_norm(xt, "fro") == 13 && mat_norm(xt, "1") == 19);
    CHECK_NEAR(mat_norm(mat_col(a, 2), "1"), 6.25, 0);
    CHECK(isnan(mat_norm(a, "2")) && has_error("mat_norm: the 2-norm of a 3x4 matrix is its largest singular value"));
    CHECK(isnan(mat_norm(a, "max")) && has_error("mat_norm: unknown norm \"max\""));
    /* No overflow for huge entries. */
    mat h = MAT(1, 2, 3e200, 4e200);
    CHECK_NEAR(mat_norm(h, "fro"), 5e200, 1e-15);

    CHECK(mat_dot(x, xt) == 169);
    CHECK(mat_dot(mat_col(a, 0), mat_col(a, 1)) == 1.5 * -2 + 0 + -3.5 * 6);
    CHECK_NEAR(mat_dot(a, a), fx_a_norms[0] * fx_a_norms[0], 1e-14);
    CHECK(mat_dot(x, mat_col(a, 0)) == 3 * 1.5 + -4 * 4 + 12 * -3.5);
    CHECK(isnan(mat_dot(x, mat_row(a, 0))) && has_error("mat_dot: vector lengths differ: a is 1x3, b is 1x4"));
    CHECK(isnan(mat_dot(a, big)) && has_error("mat_dot: shapes differ: a is 3x4, b is 37x29"));
    mat_free(&a); mat_free(&big); mat_free(&x); mat_free(&xt); mat_free(&h);
}

static void test_products(void)
{
    mat a = mat_from(FX_A_ROWS, FX_A_COLS, fx_a);
    mat b = mat_from(FX_B_ROWS, FX_B_COLS, fx_b);
    CHECK_MAT(mat_mul(a, b), fx_ab, 3, 2, 1e-15);
    CHECK_MAT(mat_gram(a), fx_ata, 4, 4, 1e-15);
    CHECK_MAT(mat_mul_tn(a, a), fx_ata, 4, 4, 1e-15);
    CHECK_MAT(mat_mul_nt(a, a), fx_aat, 3, 3, 1e-15);
    mat x = mat_from(1, 4, fx_x);
    CHECK_MAT(mat_mul_vec(a, x), fx_ax, 1, 3, 1e-15);
    CHECK_MAT(mat_mul_vec(a, mat_transpose(x)), fx_ax, 3, 1, 1e-15);

    long errs = cairn_error_count();
    CHECK(mat_is_empty(mat_mul(a, a)) && has_error("mat_mul: inner dimensions differ: A is 3x4, B is 3x4"));
    CHECK(mat_is_empty(mat_mul_tn(a, b)) && has_error("mat_mul_tn: Aᵀ·B needs equal row counts: A is 3x4, B is 4x2"));
    CHECK(mat_is_empty(mat_mul_nt(a, b)) && has_error("mat_mul_nt: A·Bᵀ needs equal column counts: A is 3x4, B is 4x2"));
    CHECK(mat_is_empty(mat_mul_vec(a, b)) && has_error("mat_mul_vec: x must be a vector (1 x n or n x 1), got 4x2"));
    CHECK(mat_is_empty(mat_mul_vec(a, mat_row(b, 0))) && has_error("mat_mul_vec: A is 3x4 but x has 2 elements (1x2)"));
    CHECK(mat_is_empty(mat_gram(mat_empty())) && has_error("mat_gram: A is an empty matrix"));
    CHECK(cairn_error_count() == errs + 6);

    /* Identities on a matrix large enough for OpenBLAS' blocked kernels. */
    rng_seed(11);
    mat p = mat_randn(67, 45), q = mat_randn(45, 53);
    mat i45 = mat_eye(45);
    mat pi = mat_mul(p, i45);
    CHECK(mat_allclose(pi, p, 0, 0));
    mat pq = mat_mul(p, q), pqt = mat_transpose(pq);
    mat qt = mat_transpose(q), pt = mat_transpose(p), qtpt = mat_mul(qt, pt);
    CHECK(mat_allclose(pqt, qtpt, 1e-12, 1e-12)); /* (PQ)ᵀ = QᵀPᵀ */
    mat g = mat_gram(p), tn = mat_mul_tn(p, p);
    CHECK(mat_allclose(g, tn, 1e-12, 1e-12));
    int sym = 1;
    for (int i = 0; i < 45; i++)
        for (int j = 0; j < 45; j++)
            sym &= *mat_ptr(g, i, j) == *mat_ptr(g, j, i);
    CHECK(sym);
    mat nt = mat_mul_nt(p, qt); /* P (Qᵀ)ᵀ = PQ */
    CHECK(mat_allclose(nt, pq, 1e-12, 1e-12));
    rng_seed(3);
    mat big = mat_rand(FX_BIG_ROWS, FX_BIG_COLS);
    CHECK_MAT(mat_gram(big), fx_big_gram, FX_BIG_COLS, FX_BIG_COLS, 1e-13);

    /* Views: BLAS gets the parent's stride as leading dimension. */
    mat pv = mat_block(p, 5, 3, 20, 30), qv = mat_block(q, 2, 4, 30, 10);
    mat pvc = mat_copy(pv), qvc = mat_copy(qv);
    mat v1 = mat_mul(pv, qv), v2 = mat_mul(pvc, qvc);
    CHECK(mat_allclose(v1, v2, 1e-14, 1e-14));
    mat g1 = mat_gram(pv), g2 = mat_gram(pvc);
    CHECK(mat_allclose(g1, g2, 1e-14, 1e-14));
    mat c7 = mat_col(q, 7), y1 = mat_mul_vec(p, c7), y2 = mat_mul_vec(p, mat_copy(c7));
    CHECK(y1.rows == 67 && y1.cols == 1 && mat_allclose(y1, y2, 1e-14, 1e-14));

    /* _into forms: no allocation, shape and aliasing checked. */
    mat c = mat_zeros(67, 53), ctn = mat_zeros(45, 45), cnt = mat_zeros(67, 53), yc = mat_zeros(1, 67);
    size_t bytes = cairn_bytes_in_use();
    CHECK(mat_mul_into(c, p, q) == 0 && mat_allclose(c, pq, 1e-14, 1e-14));
    CHECK(mat_mul_tn_into(ctn, p, p) == 0 && mat_allclose(ctn, tn, 1e-14, 1e-14));
    CHECK(mat_gram_into(ctn, p) == 0 && mat_allclose(ctn, g, 0, 0));
    CHECK(mat_mul_nt_into(cnt, p, qt) == 0 && mat_allclose(cnt, pq, 1e-12, 1e-12));
    CHECK(mat_mul_vec_into(yc, p, c7) == 0 && yc.data[66] == y1.data[66]);
    CHECK(cairn_bytes_in_use() == bytes);
    /* C = 2·PQ + 1·C (C held PQ) gives 3·PQ. */
    CHECK(mat_gemm(c, 2.0, p, 0, q, 0, 1.0) == 0);
    mat pq3 = mat_scale(pq, 3);
    CHECK(mat_allclose(c, pq3, 1e-12, 1e-12));
    /* Both operands transposed: (Pᵀ)ᵀ (Qᵀ)ᵀ = PQ. */
    CHECK(mat_gemm(cnt, 1.0, pt, 1, qt, 1, 0.0) == 0 && mat_allclose(cnt, pq, 1e-12, 1e-12));
    CHECK(mat_gemm(cnt, 1.0, pt, 0, qt, 1, 0.0) == -1 &&
          has_error("mat_gemm: inner dimensions of op(A)·op(B) differ: A is 45x67, B is 53x45"));
    CHECK(mat_mul_into(c, p, p) == -1 && has_error("mat_mul_into: inner dimensions differ: A is 67x45, B is 67x45"));
    CHECK(mat_mul_into(ctn, p, q) == -1 &&
          has_error("mat_mul_into: output C is 45x45 but the product of A (67x45) and B (45x53) is 67x53"));
    mat sq = mat_eye(4);
    CHECK(mat_mul_into(sq, sq, sq) == -1 && has_error("mat_mul_into: the output C (4x4) shares memory with an input"));

    mat frees[] = {a, b, x, p, q, i45, pi, pq, pqt, qt, pt, qtpt, g, tn, nt, big, pvc, qvc, v1, v2, g1, g2,
                   y1, y2, c, ctn, cnt, yc, pq3, sq};
    for (size_t k = 0; k < sizeof frees / sizeof frees[0]; k++)
        mat_free(&frees[k]);
}

static void test_preparation(void)
{
    mat a = mat_from(FX_A_ROWS, FX_A_COLS, fx_a);
    mat c = mat_center_cols(a);
    mat cm = mat_mean(c, 0);
    CHECK(mat_norm(cm, "inf") < 1e-15);
    CHECK_NEAR(mat_get(c, 0, 0), 1.5 - fx_a_mean_ax0[0], 1e-15);
    CHECK_MAT(mat_standardize_cols(a), fx_a_std_cols, 3, 4, 1e-14);
    /* A constant column is centered, not divided by zero. */
    mat k = MAT(3, 2, 1, 5, 2, 5, 3, 5);
    mat ks = mat_standardize_cols(k);
    CHECK(mat_get(ks, 0, 1) == 0 && mat_get(ks, 2, 1) == 0 && mat_all_finite(ks));
    CHECK_NEAR(mat_get(ks, 2, 0), 1.224744871391589, 1e-14);
    mat bad = MAT(2, 2, 1, NAN, 2, 3);
    CHECK(mat_is_empty(mat_standardize_cols(bad)) &&
          has_error("mat_standardize_cols: the 2x2 input holds NaN or infinite values"));

    mat labels = MAT(1, 4, 2, 0, 1, 2);
    mat oh = mat_one_hot(labels, 3);
    CHECK(matches(oh, (double[]){0, 0, 1, 1, 0, 0, 0, 1, 0, 0, 0, 1}, 4, 3, 0));
    mat oh2 = mat_one_hot(mat_transpose(labels), 4);
    CHECK(oh2.rows == 4 && oh2.cols == 4 && mat_get(oh2, 0, 2) == 1 && mat_sum_all(oh2) == 4);
    mat wrong = MAT(1, 3, 0, 1.5, 2);
    CHECK(mat_is_empty(mat_one_hot(wrong, 3)) && has_error("mat_one_hot: label 1 is 1.5, not an integer in [0, 3)"));
    CHECK(mat_is_empty(mat_one_hot(labels, 2)) && has_error("mat_one_hot: label 0 is 2, not an integer in [0, 2)"));
    mat_free(&a); mat_free(&c); mat_free(&cm); mat_free(&k); mat_free(&ks); mat_free(&bad); mat_free(&labels);
    mat_free(&oh); mat_free(&oh2); mat_free(&wrong);
}

int main(void)
{
    test_elementwise();
    test_broadcast_inplace();
    test_comparisons();
    test_reductions();
    test_sort_cumsum();
    test_norms_dot();
    test_products();
    test_preparation();
    return check_summary("mat_ops");
}
