/* bench_cluster.c — timings of libcairn's k-means, mini-batch k-means, KNN and silhouette
 * on Fashion-MNIST (pixels / 255), printed for tests/bench/bench_cluster.py, which runs
 * scikit-learn on the same data in the same session and prints the ratios.
 *
 * usage: bench_cluster OP REPS   with OP one of
 *   kmeans1     k = 10, n_init 1, tol 0, max_iter 100 on the 60000 training images
 *   kmeans10    k = 10, n_init 10 with KMeans()'s defaults (tol 1e-4, max_iter 300)
 *   lloyd1      kmeans1 with plain Lloyd iterations (no bounds), to measure Hamerly's gain
 *   minibatch   mini-batch k-means, k = 10, batch 1024, n_init 3 (sklearn's defaults)
 *   knn         5-NN classifier: the 10000 test images (or the first QUERIES of them, a third
 *               argument) against the 60000 training images
 *   silhouette  exact silhouette of the first 10000 training images under their labels
 * Each run prints "OP seconds" and "cpu seconds" (process CPU time) per repeat, then the
 * quality figures (inertia, n_iter, accuracy, value) and "peak_mb" (the process's peak
 * resident memory). */
#include "cairn.h"
#include "bench_clock.h"

#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#define FASHION "/usr/share/datasets/fashion-mnist/"

static mat load_scaled(const char *path)
{
    mat X = idx_read(path);
    mat_scale_inplace(X, 1.0 / 255);
    return X;
}

static double peak_mb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss / 1024.0;
}

static void bench_kmeans(mat X, int n_init, double tol, int max_iter, int algorithm, int reps, const char *op)
{
    kmeans_options o = kmeans_defaults();
    o.n_init = n_init;
    o.tol = tol;
    o.max_iter = max_iter;
    o.progress = 0;
    o.algorithm = algorithm;
    for (int r = 0; r < reps; r++) {
        o.seed = (uint64_t)r;
        double t0 = now(), c0 = cpu_seconds(RUSAGE_SELF);
        kmeans_result *km = kmeans_fit(X, 10, &o);
        double t = now() - t0;
        printf("%s %.6f\n", op, t);
        printf("cpu %.6f\n", cpu_seconds(RUSAGE_SELF) - c0);
        printf("per_iter %.6f\n", t / km->n_iter);
        printf("inertia %.6f\n", km->inertia);
        printf("n_iter %d\n", km->n_iter);
        kmeans_free(km);
    }
}

static void bench_minibatch(mat X, int reps)
{
    minibatch_options o = minibatch_defaults();
    o.progress = 0;
    for (int r = 0; r < reps; r++) {
        o.seed = (uint64_t)r;
        double t0 = now(), c0 = cpu_seconds(RUSAGE_SELF);
        kmeans_result *km = minibatch_kmeans_fit(X, 10, &o);
        printf("minibatch %.6f\n", now() - t0);
        printf("cpu %.6f\n", cpu_seconds(RUSAGE_SELF) - c0);
        printf("inertia %.6f\n", km->inertia);
        printf("n_iter %d\n", km->n_iter);
        kmeans_free(km);
    }
}

static void bench_knn(mat X, int reps, int queries)
{
    mat y = idx_read(FASHION "train-labels-idx1-ubyte.gz");
    mat Q = load_scaled(FASHION "t10k-images-idx3-ubyte.gz");
    mat yq = idx_read(FASHION "t10k-labels-idx1-ubyte.gz");
    if (queries > 0 && queries < Q.rows) {
        Q.rows = queries; /* the first rows: a view of the same owned block */
        yq.rows = queries;
    }
    for (int r = 0; r < reps; r++) {
        double t0 = now(), c0 = cpu_seconds(RUSAGE_SELF);
        mat pred = knn_classify(X, y, Q, 5, KNN_UNIFORM);
        printf("knn %.6f\n", now() - t0);
        printf("cpu %.6f\n", cpu_seconds(RUSAGE_SELF) - c0);
        printf("accuracy %.6f\n", metric_accuracy(yq, pred));
        mat_free(&pred);
    }
    mat_free(&y);
    mat_free(&Q);
    mat_free(&yq);
}

static void bench_silhouette(mat X, int reps)
{
    mat y = idx_read(FASHION "train-labels-idx1-ubyte.gz");
    mat Xs = mat_row_range(X, 0, 10000), ys = mat_row_range(y, 0, 10000);
    for (int r = 0; r < reps; r++) {
        double t0 = now(), c0 = cpu_seconds(RUSAGE_SELF);
        double v = metric_silhouette(Xs, ys);
        printf("silhouette %.6f\n", now() - t0);
        printf("cpu %.6f\n", cpu_seconds(RUSAGE_SELF) - c0);
        printf("value %.15f\n", v);
    }
    mat_free(&y);
}

int main(int argc, char **argv)
{
    if (argc != 3 && argc != 4) {
        fprintf(stderr, "usage: %s kmeans1|kmeans10|lloyd1|minibatch|knn|silhouette REPS [QUERIES]\n", argv[0]);
        return 2;
    }
    const char *op = argv[1];
    int reps = atoi(argv[2]);
    mat X = load_scaled(FASHION "train-images-idx3-ubyte.gz");
    if (mat_is_empty(X)) {
        fprintf(stderr, "%s\n", cairn_last_error());
        return 1;
    }
    if (strcmp(op, "kmeans1") == 0)
        bench_kmeans(X, 1, 0, 100, KMEANS_AUTO, reps, op);
    else if (strcmp(op, "kmeans10") == 0)
        bench_kmeans(X, 10, 1e-4, 300, KMEANS_AUTO, reps, op);
    else if (strcmp(op, "lloyd1") == 0)
        bench_kmeans(X, 1, 0, 100, KMEANS_LLOYD, reps, op);
    else if (strcmp(op, "minibatch") == 0)
        bench_minibatch(X, reps);
    else if (strcmp(op, "knn") == 0)
        bench_knn(X, reps, argc == 4 ? atoi(argv[3]) : 0);
    else if (strcmp(op, "silhouette") == 0)
        bench_silhouette(X, reps);
    else {
        fprintf(stderr, "unknown op %s\n", op);
        return 2;
    }
    printf("peak_mb %.1f\n", peak_mb());
    mat_free(&X);
    return 0;
}
