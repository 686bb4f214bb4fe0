/* cairn/dmat.h — distributed matrices: an MPI job attached to the session holds them.
 *
 * `dmat_cluster_start(4)` (or the `%cluster start 4` magic) launches an MPI job of worker
 * processes with mpirun (runtime/dmat/README.md). A `dmat` is a small handle to a matrix whose
 * rows are spread over the ranks of that job; operations on it run on the workers with MPI
 * collectives and ScaLAPACK, and results that are small come back as an ordinary `mat`.
 * Cells never run on the workers, and no MPI header is seen here.
 *
 * Transactions hold as for everything else in a session: every operation makes a new dmat
 * (nothing is changed in place), and a dmat made by a cell that fails, crashes, is
 * interrupted or undone is freed on the workers. A failure on the workers (a rank that
 * died, a bad file) ends the cell with an error naming the function, the rank and what it
 * was doing; the session keeps everything it had. */
#ifndef CAIRN_DMAT_H
#define CAIRN_DMAT_H

#include <stddef.h>
#include <stdint.h>

#include "cairn/mat.h"
#include "cairn/linalg.h"

/** Handle to a distributed rows x cols matrix; id 0 is the empty dmat a failing function returns. */
typedef struct dmat {
    uint64_t id;      /* object id on the workers */
    uint32_t cluster; /* the cluster (start) it lives in: a restarted cluster does not know it */
    int rows;
    int cols;
} dmat;

/** Distributed SVD: U is a distributed m x k dmat, S a 1 x k row and Vt a k x n mat. */
typedef struct dsvd_result {
    dmat U;
    mat S;
    mat Vt;
} dsvd_result;

/** k-means on a dmat: centers k x n, labels a distributed m x 1 dmat, inertia and iterations run. */
typedef struct dkmeans_result {
    mat centers;
    dmat labels;
    double inertia;
    int iterations;
} dkmeans_result;

/* ---- the cluster ---- */

/** Start an MPI job of `ranks` worker processes on this machine (mpirun --oversubscribe) for the session; 0 or -1. */
int dmat_cluster_start(int ranks);

/** Start the workers with extra mpirun options (e.g. "--hostfile hosts" on a real cluster; "--listen HOST:PORT" makes rank 0 serve on TCP); 0 or -1. */
int dmat_cluster_start_with(int ranks, const char *mpirun_options);

/** Where rank 0 serves the session: its Unix socket's path, or tcp://HOST:PORT when started with "--listen HOST:PORT"; "" when no cluster runs. */
const char *dmat_cluster_address(void);

/** Stop the session's MPI job (every dmat becomes invalid); 0, or -1 when none runs. */
int dmat_cluster_stop(void);

/** Print the cluster: ranks, hosts, pids and memory held per rank. */
void dmat_cluster_show(void);

/** Number of ranks of the running cluster (0 when none). */
int dmat_cluster_ranks(void);

/** Bytes of dmat data held on each rank, as a 1 x ranks row (what %cluster shows). */
mat dmat_cluster_memory(void);

/** Bytes each rank's MPI calls have moved since the start (tree count; ScaLAPACK's own messages excluded), 1 x ranks. */
mat dmat_cluster_traffic(void);

/** Process ids of the ranks, as a 1 x ranks row (to watch or signal them). */
mat dmat_cluster_pids(void);

/* ---- creating and gathering ---- */

/** Distribute the rows of X over the ranks (X goes through the driver once). */
dmat dmat_scatter(mat X);

/** Each rank reads its own rows of a .npy file (2-D C order, or 1-D/3-D as rows); the data never passes through the driver. */
dmat dmat_read_npy(const char *path);

/** Each rank reads its own rows (images, flattened) of an IDX file, plain or gzip (Fashion-MNIST). */
dmat dmat_read_idx(const char *path);

/** Each rank reads its own rows of a numeric CSV file, with csv_read's rules (delimiter 0 means ','; has_header skips the first non-blank line). */
dmat dmat_read_csv(const char *path, char delimiter, int has_header);

/** volume_shepp_logan made on the ranks, each its own slices; slice s's noise is noise_sigma · mat_randn(1, height·width) after rng_seed(dmat_random_block_seed(seed, s)). */
dmat dmat_volume_shepp_logan(int n_slices, int height, int width, double noise_sigma, uint64_t seed);

/** rows x cols standard normal numbers, seeded: block b of 1024 rows equals mat_randn after rng_seed(dmat_random_block_seed(seed, b)), on any number of ranks. */
dmat dmat_randn(int rows, int cols, uint64_t seed);

/** The seed of block b (rows 1024·b ..) of dmat_randn(., ., seed). */
uint64_t dmat_random_block_seed(uint64_t seed, int block);

/** The whole matrix back on the driver as a mat. */
mat dmat_gather(dmat A);

/** Rows first .. first+count-1 back on the driver as a mat. */
mat dmat_gather_rows(dmat A, int first, int count);

/** Free the workers' copy of A and empty the handle (within a cell that later fails, nothing is freed). */
void dmat_free(dmat *A);

/** True when A is the empty dmat (the result of an error). */
int dmat_is_empty(dmat A);

/* ---- elementwise and reductions ---- */

/** New dmat alpha · A + beta. */
dmat dmat_scale(dmat A, double alpha, double beta);

/** New dmat A minus its column means. */
dmat dmat_center(dmat A);

/** Column means of A as a 1 x cols row. */
mat dmat_col_means(dmat A);

/* ---- products ---- */

/** Aᵀ·A (cols x cols) on the driver: a local SYRK on each rank, summed with MPI_Reduce. */
mat dmat_gram(dmat A);

/** Aᵀ·B (A.cols x B.cols) for two dmats with the same rows, as a mat. */
mat dmat_mul_tn(dmat A, dmat B);

/** New dmat A·B for a small local B (A.cols x p): B is broadcast, each rank multiplies its rows. */
dmat dmat_mul(dmat A, mat B);

/** New dmat A·Bᵀ for a small local B (p x A.cols). */
dmat dmat_mul_nt(dmat A, mat B);

/** New dmat A·B of two dmats (ScaLAPACK PDGEMM on a 2-D block-cyclic grid). */
dmat dmat_matmul(dmat A, dmat B);

/* ---- decompositions ---- */

/** Exact thin SVD with ScaLAPACK PDGESVD, signs as svd_thin; a wide A (rows < cols) gives a rows x rows U and its rows x cols Vt on the driver. */
dsvd_result dmat_svd_thin(dmat A);

/** Randomized SVD of rank k (Mahout's dssvd): the same algorithm, seed and signs as svd_randomized; U stays distributed. */
dsvd_result dmat_svd_randomized(dmat A, int k, int oversample, int power_iters, uint64_t seed);

/** New dmat U[:, :k] · diag(S[:k]) · Vt[:k, :], the rank-k reconstruction (k <= 0: all components). */
dmat dmat_svd_reconstruct(dsvd_result r, int k);

/** Release an SVD result (the distributed U and the local S, Vt). */
void dsvd_free(dsvd_result *r);

/** PCA of the rows of X by randomized SVD (Mahout's dspca; as pca_fit_randomized: 10 oversamples, 7 power iterations). */
pca_model dmat_pca_fit_randomized(dmat X, int k, uint64_t seed);

/** New dmat (X - mean) · componentsᵀ: the samples projected onto a PCA model's axes. */
dmat dmat_pca_transform(pca_model model, dmat X);

/** Lloyd's k-means from the given initial centers (k x cols), scikit-learn's steps and tolerance (tol · mean column variance). */
dkmeans_result dmat_kmeans(dmat X, mat init_centers, int max_iter, double tol);

/** Release a k-means result. */
void dkmeans_free(dkmeans_result *r);

/** Show a dmat as the cell's result: shape, partitioning and memory per rank. */
void cairn_show_dmat(const void *value, size_t size, const char *type);

#endif
