/* cairn/random.h — seeded, reproducible random numbers.
 *
 * One generator per process, seeded explicitly (rng_seed, or %seed in the notebook):
 * the same seed gives the same numbers on every run and every machine, because the
 * generator and the transforms to uniform/normal are fixed integer/IEEE arithmetic. */
#ifndef CAIRN_RANDOM_H
#define CAIRN_RANDOM_H

#include <stdint.h>
#include "cairn/mat.h"

/** Seed the session's generator; the same seed reproduces the same stream. */
void rng_seed(uint64_t seed);

/** Next 64 random bits. */
uint64_t rng_next_u64(void);

/** Uniform double in [0, 1). */
double rng_uniform(void);

/** Standard normal sample (mean 0, standard deviation 1). */
double rng_normal(void);

/** Uniform integer in [low, high). */
long rng_int(long low, long high);

/** rows x cols matrix of uniform samples in [0, 1). */
mat mat_rand(int rows, int cols);

/** rows x cols matrix of standard normal samples. */
mat mat_randn(int rows, int cols);

/** rows x cols matrix of integers drawn uniformly from [low, high). */
mat mat_randint(int rows, int cols, long low, long high);

/** Fill idx[0..n) with a random permutation of 0..n-1 (Fisher–Yates); returns 0 or -1. */
int rng_permutation(int *idx, int n);

/** New matrix with the rows of m in random order (keeps the image shape): shuffling a dataset. */
mat mat_shuffle_rows(mat m);

#endif
