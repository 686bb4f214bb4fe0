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

/** The generator's whole state: rng_restore(rng_save()) replays the stream from here. */
typedef struct rng_snapshot {
    uint64_t state[4];
    int seeded, have_spare_normal;
    double spare_normal;
} rng_snapshot;

/** Snapshot of the session generator (a sweep's trial process restores it before each trial). */
rng_snapshot rng_save(void);

/** Put the session generator back to a snapshot taken with rng_save. */
void rng_restore(rng_snapshot snap);

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
