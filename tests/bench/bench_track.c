/* bench_track.c — what tests/bench/bench_track.py times on the C side.
 *
 *   bench_track metrics REPS   log 100000 metric points to a fresh run, end it (files
 *                              closed): "metrics SECONDS" per repeat
 *   bench_track sweep REPS     a 16-trial k-means sweep (k = 5..20 on 10000 Fashion-MNIST
 *                              test images reduced to 50 PCA components, one k-means++ start
 *                              each) on 2 trial processes, then the same 16 trials one after
 *                              another in this process: "sweep2 SECONDS", "sequential
 *                              SECONDS" and "maxreldiff X" (largest relative difference of
 *                              the 16 inertias between the two) per repeat
 * Runs go to a temporary MLFLOW_TRACKING_URI removed at the end. */
#include "cairn.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define FASHION "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static mat Z; /* the data every trial clusters */

static void kmeans_trial(track_trial *t)
{
    kmeans_options o = kmeans_defaults();
    o.n_init = 1;
    o.seed = 7;
    o.progress = 0;
    kmeans_result *km = kmeans_fit(Z, (int)trial_param(t, "k"), &o);
    trial_report(t, "inertia", km ? km->inertia : NAN);
    trial_report(t, "n_iter", km ? km->n_iter : NAN);
    kmeans_free(km);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: bench_track metrics|sweep REPS\n");
        return 2;
    }
    int reps = atoi(argv[2]);
    char dir[] = "/tmp/cairn-bench-track-XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    setenv("MLFLOW_TRACKING_URI", dir, 1);
    if (strcmp(argv[1], "metrics") == 0) {
        track_set_experiment("bench metrics");
        for (int r = 0; r < reps + 1; r++) { /* the first is a warm-up */
            track_start_run("points");
            double t0 = now();
            for (long i = 0; i < 100000; i++)
                track_log_metric("loss", 1.0 / (double)(i + 1), i);
            track_end_run(NULL);
            double dt = now() - t0;
            if (r)
                printf("metrics %.6f\n", dt);
        }
    } else if (strcmp(argv[1], "sweep") == 0) {
        mat X = idx_read(FASHION);
        if (mat_is_empty(X)) {
            fprintf(stderr, "%s\n", cairn_last_error());
            return 1;
        }
        mat_scale_inplace(X, 1.0 / 255);
        pca_model p = pca_fit_randomized(X, 50, 1);
        Z = pca_transform(p, X);
        track_set_experiment("bench sweep");
        sweep_space *s = sweep_space_new();
        sweep_space_range(s, "k", 5, 20, 1);
        for (int r = 0; r < reps; r++) {
            double t0 = now();
            sweep_result *a = sweep_grid(s, kmeans_trial, (sweep_options){.metric = "inertia", .processes = 2, .quiet = 1});
            double t1 = now();
            sweep_result *b = sweep_grid(s, kmeans_trial, (sweep_options){.metric = "inertia", .in_process = 1, .quiet = 1});
            double t2 = now();
            double worst = 0;
            for (int i = 0; i < 16; i++) {
                double x = sweep_metric(a, i, "inertia"), y = sweep_metric(b, i, "inertia");
                double d = fabs(x - y) / fabs(y);
                if (!(d <= worst))
                    worst = d; /* NaN (a failed trial) shows as nan */
            }
            printf("sweep2 %.6f\nsequential %.6f\nmaxreldiff %.3g\n", t1 - t0, t2 - t1, worst);
            fflush(stdout);
            sweep_free(a);
            sweep_free(b);
        }
        sweep_space_free(s);
    }
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : 1;
}
