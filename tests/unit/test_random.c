/* test_random.c — the seeded generator: fixed streams for fixed seeds (checked against
 * the independent Python implementation in tests/fixtures/gen_mat_fixtures.py),
 * reseeding replays, distributions have the right moments and ranges. */
#include "cairn.h"
#include "check.h"
#include "../fixtures/mat_fixtures.h"

int main(void)
{
    /* A fresh process behaves as if seeded with 42. */
    CHECK(rng_next_u64() == fx_rng42_u64[0]);

    rng_seed(42);
    for (int i = 0; i < 5; i++)
        CHECK(rng_next_u64() == fx_rng42_u64[i]);
    rng_seed(0);
    for (int i = 0; i < 3; i++)
        CHECK(rng_next_u64() == fx_rng0_u64[i]);

    rng_seed(42);
    for (int i = 0; i < 5; i++)
        CHECK(rng_uniform() == fx_rng42_uniform[i]);
    rng_seed(42);
    for (int i = 0; i < 6; i++)
        CHECK_NEAR(rng_normal(), fx_rng42_normal[i], 1e-15);

    /* Reseeding drops the cached second normal: the stream restarts exactly. */
    rng_seed(42);
    double n0 = rng_normal();
    rng_seed(42);
    CHECK(rng_normal() == n0);

    /* A snapshot replays the stream from where it was taken, the cached normal included:
     * seed 42, one normal (caches the second), snapshot; the next values are the
     * reference stream's second normal and then its third. */
    rng_seed(42);
    (void)rng_normal();
    rng_snapshot snap = rng_save();
    double second = rng_normal(), third = rng_normal();
    CHECK_NEAR(second, fx_rng42_normal[1], 1e-15);
    rng_seed(99); /* move far away, then come back */
    (void)rng_uniform();
    rng_restore(snap);
    CHECK(rng_normal() == second && rng_normal() == third);

    rng_seed(7);
    for (int i = 0; i < 12; i++)
        CHECK(rng_int(0, 10) == fx_rng7_randint_0_10[i]);
    rng_seed(7);
    mat ri = mat_randint(3, 4, 0, 10);
    CHECK(ri.rows == 3 && ri.cols == 4);
    for (int i = 0; i < 12; i++)
        CHECK(ri.data[i] == (double)fx_rng7_randint_0_10[i]);
    mat_free(&ri);

    /* mat_rand / mat_randn fill row-major from the same stream. */
    rng_seed(42);
    mat u = mat_rand(2, 3);
    for (int i = 0; i < 5; i++)
        CHECK(u.data[i] == fx_rng42_uniform[i]);
    mat_free(&u);
    rng_seed(42);
    mat z = mat_randn(3, 2);
    for (int i = 0; i < 6; i++)
        CHECK_NEAR(z.data[i], fx_rng42_normal[i], 1e-15);
    mat_free(&z);

    /* Moments of a large sample (loose bounds: 5+ standard errors). */
    rng_seed(123);
    int n = 200000;
    double s = 0, s2 = 0, umin = 1, umax = 0;
    for (int i = 0; i < n; i++) {
        double x = rng_uniform();
        s += x;
        umin = x < umin ? x : umin;
        umax = x > umax ? x : umax;
    }
    CHECK(umin >= 0.0 && umax < 1.0);
    CHECK(fabs(s / n - 0.5) < 0.005);
    s = 0;
    for (int i = 0; i < n; i++) {
        double x = rng_normal();
        s += x;
        s2 += x * x;
    }
    CHECK(fabs(s / n) < 0.012);
    CHECK(fabs(s2 / n - 1.0) < 0.02);
    int counts[5] = {0};
    long lo = 1000000, hi = -1000000;
    for (int i = 0; i < 50000; i++) {
        long v = rng_int(-2, 3);
        lo = v < lo ? v : lo;
        hi = v > hi ? v : hi;
        if (v >= -2 && v < 3)
            counts[v + 2]++;
    }
    CHECK(lo == -2 && hi == 2);
    for (int k = 0; k < 5; k++)
        CHECK(abs(counts[k] - 10000) < 600);

    /* Permutations: fixed by the seed, each index exactly once. */
    int perm[10];
    rng_seed(9);
    CHECK(rng_permutation(perm, 10) == 0);
    for (int k = 0; k < 10; k++)
        CHECK(perm[k] == fx_rng9_perm10[k]);
    mat rows = mat_arange(0, 10, 1);
    mat col = mat_transpose(rows);
    mat_set_image_shape(&col, 1, 1, 1);
    rng_seed(9);
    mat sh = mat_shuffle_rows(col);
    CHECK(sh.rows == 10 && sh.cols == 1 && sh.channels == 1);
    for (int k = 0; k < 10; k++)
        CHECK(sh.data[k] == fx_rng9_perm10[k]);
    CHECK(mat_sum_all(sh) == 45);
    mat_free(&rows);
    mat_free(&col);
    mat_free(&sh);

    /* Bad arguments are reported, not crashes. */
    long errors = cairn_error_count();
    mat bad = mat_randint(2, 2, 5, 5);
    CHECK(mat_is_empty(bad));
    CHECK(cairn_error_count() == errors + 1);
    CHECK(strstr(cairn_last_error(), "mat_randint: empty range [5, 5)") != NULL);
    bad = mat_randn(-1, 3);
    CHECK(mat_is_empty(bad));
    CHECK(strstr(cairn_last_error(), "mat_randn: negative shape -1 x 3") != NULL);
    CHECK(rng_int(4, 2) == 4);
    CHECK(strstr(cairn_last_error(), "rng_int") != NULL);
    return check_summary("random");
}
