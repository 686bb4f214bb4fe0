/* random.c — the session's seeded generator and the matrices it fills.
 *
 * Generator: xoshiro256** (Blackman & Vigna), its 256-bit state filled from the seed by
 * splitmix64, as its authors recommend, so that nearby seeds (0, 1, 2, ...) give
 * unrelated streams. Everything here is integer arithmetic or IEEE-exact operations,
 * which is why one seed gives the same numbers on every run and every x86-64/ARM machine:
 *   - uniform: the top 53 bits scaled by 2^-53 (exact), in [0, 1);
 *   - normal: Marsaglia's polar method; it draws pairs and caches the second value,
 *     and uses only sqrt (exact in IEEE) and log (glibc's is correctly rounded in
 *     practice), not sin/cos;
 *   - integers: rejection sampling, so every value of [low, high) is equally likely
 *     (a plain modulo would favour the small ones).
 * A fresh process starts as if rng_seed(42) had been called, so a notebook that never
 * seeds is still reproducible. rng_seed also drops the cached normal, so a reseed
 * replays exactly the same stream. */
#include "cairn/random.h"
#include "cairn/error.h"

#include <math.h>
#include <stdlib.h>

#define RNG_DEFAULT_SEED 42u

static uint64_t state[4];
static int seeded;
static int have_spare_normal;
static double spare_normal;

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

void rng_seed(uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++)
        state[i] = splitmix64(&x);
    /* splitmix64 never yields four zeros in a row, but the all-zero state would be a
     * fixed point of xoshiro, so guard it anyway. */
    if (!(state[0] | state[1] | state[2] | state[3]))
        state[0] = 1;
    seeded = 1;
    have_spare_normal = 0;
}

rng_snapshot rng_save(void)
{
    rng_snapshot s = {{state[0], state[1], state[2], state[3]}, seeded, have_spare_normal, spare_normal};
    return s;
}

void rng_restore(rng_snapshot snap)
{
    for (int i = 0; i < 4; i++)
        state[i] = snap.state[i];
    seeded = snap.seeded;
    have_spare_normal = snap.have_spare_normal;
    spare_normal = snap.spare_normal;
}

uint64_t rng_next_u64(void)
{
    if (!seeded)
        rng_seed(RNG_DEFAULT_SEED);
    uint64_t result = rotl(state[1] * 5, 7) * 9;
    uint64_t t = state[1] << 17;
    state[2] ^= state[0];
    state[3] ^= state[1];
    state[1] ^= state[2];
    state[0] ^= state[3];
    state[2] ^= t;
    state[3] = rotl(state[3], 45);
    return result;
}

double rng_uniform(void) { return (double)(rng_next_u64() >> 11) * 0x1.0p-53; }

double rng_normal(void)
{
    if (have_spare_normal) {
        have_spare_normal = 0;
        return spare_normal;
    }
    double u, v, s;
    do {
        u = 2.0 * rng_uniform() - 1.0;
        v = 2.0 * rng_uniform() - 1.0;
        s = u * u + v * v;
    } while (s >= 1.0 || s == 0.0);
    double f = sqrt(-2.0 * log(s) / s);
    spare_normal = v * f;
    have_spare_normal = 1;
    return u * f;
}

/* Uniform in [0, range) for range >= 1, without modulo bias: reject the lowest
 * (2^64 mod range) values so the rest splits into whole copies of [0, range). */
static uint64_t uniform_below(uint64_t range)
{
    uint64_t threshold = (0 - range) % range;
    for (;;) {
        uint64_t r = rng_next_u64();
        if (r >= threshold)
            return r % range;
    }
}

long rng_int(long low, long high)
{
    if (high <= low) {
        cairn_error("rng_int", "empty range [%ld, %ld): high must be greater than low", low, high);
        return low;
    }
    uint64_t range = (uint64_t)high - (uint64_t)low;
    return (long)((uint64_t)low + uniform_below(range));
}

/* A rows x cols matrix filled from `sample`, in row-major order (the stream order). */
static mat fill_random(const char *func, int rows, int cols, double (*sample)(void))
{
    if (rows < 0 || cols < 0) {
        cairn_error(func, "negative shape %d x %d", rows, cols);
        return mat_empty();
    }
    mat m = mat_alloc(rows, cols);
    if (!m.data)
        return m; /* out of memory (already reported) or a 0-sized shape */
    size_t n = (size_t)rows * (size_t)cols;
    for (size_t k = 0; k < n; k++)
        m.data[k] = sample();
    return m;
}

mat mat_rand(int rows, int cols) { return fill_random("mat_rand", rows, cols, rng_uniform); }

mat mat_randn(int rows, int cols) { return fill_random("mat_randn", rows, cols, rng_normal); }

mat mat_randint(int rows, int cols, long low, long high)
{
    if (rows < 0 || cols < 0) {
        cairn_error("mat_randint", "negative shape %d x %d", rows, cols);
        return mat_empty();
    }
    if (high <= low) {
        cairn_error("mat_randint", "empty range [%ld, %ld): high must be greater than low", low, high);
        return mat_empty();
    }
    mat m = mat_alloc(rows, cols);
    uint64_t range = (uint64_t)high - (uint64_t)low;
    if (!m.data)
        return m; /* out of memory (already reported) or a 0-sized shape */
    size_t n = (size_t)rows * (size_t)cols;
    for (size_t k = 0; k < n; k++)
        m.data[k] = (double)(long)((uint64_t)low + uniform_below(range));
    return m;
}

int rng_permutation(int *idx, int n)
{
    if (!idx || n < 0) {
        cairn_error("rng_permutation", "needs an index array and n >= 0 (got n = %d)", n);
        return -1;
    }
    for (int k = 0; k < n; k++)
        idx[k] = k;
    /* Fisher–Yates from the top: position k gets a uniform pick among 0..k. */
    for (int k = n - 1; k > 0; k--) {
        int j = (int)uniform_below((uint64_t)k + 1);
        int t = idx[k];
        idx[k] = idx[j];
        idx[j] = t;
    }
    return 0;
}

mat mat_shuffle_rows(mat m)
{
    if (mat_is_empty(m)) {
        cairn_error("mat_shuffle_rows", "empty matrix (%dx%d): the input is missing or an earlier call failed",
                    m.rows, m.cols);
        return mat_empty();
    }
    int *idx = malloc((size_t)m.rows * sizeof *idx);
    if (!idx) {
        cairn_error("mat_shuffle_rows", "out of memory for %d row indices", m.rows);
        return mat_empty();
    }
    rng_permutation(idx, m.rows);
    mat r = mat_rows_index(m, idx, m.rows);
    free(idx);
    return r;
}
