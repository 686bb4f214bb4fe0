/* bench_dmat.c — times of distributed operations on Fashion-MNIST train (60000 x 784 / 255)
 * for tests/bench/bench_dmat.py: `bench_dmat OP RANKS REPS` prints `OP SECONDS` per repeat.
 * RANKS 0 is the single-process runtime on the same data (svd_randomized, mat_gram,
 * kmeans_fit: Lloyd for `kmeans`, the default Hamerly for `kmeans_auto`); RANKS >= 1 starts
 * an MPI job of that many ranks, which read their rows of the file themselves.
 * OP: svd_randomized (k 50, 10 oversamples, 7 power iterations), gram (AᵀA), kmeans (k 10
 * from the first 10 rows, 10 iterations, tol 0), load (read + scale).
 * With ranks it also prints `traffic BYTES`: what the operation's MPI calls moved. */
#include "cairn.h"

#include <time.h>

#define TRAIN "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"

/* MPI bytes all ranks have moved so far (dmat_cluster_traffic summed). */
static double traffic(void)
{
    mat t = dmat_cluster_traffic();
    double s = 0;
    for (int j = 0; j < t.cols; j++)
        s += t.data[j];
    mat_free(&t);
    return s;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: %s svd_randomized|gram|kmeans|load RANKS REPS\n", argv[0]);
        return 2;
    }
    const char *op = argv[1];
    int ranks = atoi(argv[2]), reps = atoi(argv[3]);
    if (ranks == 0) {
        mat X = idx_read(TRAIN);
        if (mat_is_empty(X)) {
            fprintf(stderr, "%s\n", cairn_last_error());
            return 1;
        }
        mat_scale_inplace(X, 1.0 / 255);
        mat init = mat_copy(mat_row_range(X, 0, 10));
        for (int r = 0; r <= reps; r++) { /* the first is a warm-up */
            double t0 = now_s();
            if (strcmp(op, "svd_randomized") == 0) {
                svd_result s = svd_randomized(X, 50, 10, 7, 42);
                if (r == 0)
                    fprintf(stderr, "S[0] %.12g S[49] %.12g\n", s.S.data[0], s.S.data[49]);
                svd_free(&s);
            } else if (strcmp(op, "gram") == 0) {
                mat G = mat_gram(X);
                mat_free(&G);
            } else if (strcmp(op, "kmeans") == 0 || strcmp(op, "kmeans_auto") == 0) {
                kmeans_options o = kmeans_defaults();
                o.init = init;
                o.max_iter = 10;
                o.tol = 0;
                o.progress = 0;
                o.algorithm = strcmp(op, "kmeans") == 0 ? KMEANS_LLOYD : KMEANS_AUTO;
                kmeans_result *km = kmeans_fit(X, 10, &o);
                if (!km) {
                    fprintf(stderr, "%s\n", cairn_last_error());
                    return 1;
                }
                if (r == 0)
                    fprintf(stderr, "inertia %.12g after %d iterations\n", km->inertia, km->n_iter);
                kmeans_free(km);
            } else if (strcmp(op, "load") == 0) {
                mat Y = idx_read(TRAIN);
                mat_scale_inplace(Y, 1.0 / 255);
                mat_free(&Y);
            } else {
                fprintf(stderr, "%s has no single-process version here\n", op);
                return 2;
            }
            if (r > 0)
                printf("%s %.9f\n", op, now_s() - t0);
        }
        mat_free(&init), mat_free(&X);
        return 0;
    }
    if (dmat_cluster_start(ranks) != 0) {
        fprintf(stderr, "%s\n", cairn_last_error());
        return 1;
    }
    dmat X = dmat_read_idx(TRAIN), Xs = dmat_scale(X, 1.0 / 255, 0);
    dmat_free(&X);
    mat init = dmat_gather_rows(Xs, 0, 10);
    int rc = 0;
    for (int r = 0; r <= reps && rc == 0; r++) {
        double moved = r == 0 ? traffic() : 0;
        double t0 = now_s();
        if (strcmp(op, "svd_randomized") == 0) {
            dsvd_result s = dmat_svd_randomized(Xs, 50, 10, 7, 42);
            if (r == 0 && !mat_is_empty(s.S))
                fprintf(stderr, "S[0] %.12g S[49] %.12g\n", s.S.data[0], s.S.data[49]);
            rc = mat_is_empty(s.S);
            dsvd_free(&s);
        } else if (strcmp(op, "gram") == 0) {
            mat G = dmat_gram(Xs);
            rc = mat_is_empty(G);
            mat_free(&G);
        } else if (strcmp(op, "kmeans") == 0) {
            dkmeans_result k = dmat_kmeans(Xs, init, 10, 0.0);
            if (r == 0)
                fprintf(stderr, "inertia %.12g after %d iterations\n", k.inertia, k.iterations);
            rc = mat_is_empty(k.centers);
            dkmeans_free(&k);
        } else if (strcmp(op, "load") == 0) {
            dmat Y = dmat_read_idx(TRAIN), Ys = dmat_scale(Y, 1.0 / 255, 0);
            rc = dmat_is_empty(Ys);
            dmat_free(&Y);
            dmat_free(&Ys);
        } else {
            fprintf(stderr, "unknown op %s\n", op);
            rc = 2;
        }
        if (r > 0 && rc == 0)
            printf("%s %.9f\n", op, now_s() - t0);
        if (r == 0 && rc == 0)
            printf("traffic %.0f\n", traffic() - moved);
    }
    if (rc)
        fprintf(stderr, "%s\n", cairn_last_error());
    mat_free(&init);
    dmat_free(&Xs);
    dmat_cluster_stop();
    return rc;
}
