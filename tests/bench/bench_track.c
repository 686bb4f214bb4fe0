/* bench_track.c — what tests/bench/bench_track.py times on the C side.
 *
 *   bench_track metrics REPS   log 100000 metric points to a fresh run, end it (files
 *                              closed): "metrics SECONDS" per repeat
 *   bench_track sweep REPS     a 16-trial k-means sweep (k = 5..20 on 10000 Fashion-MNIST
 *                              test images reduced to 50 PCA components, one k-means++ start
 *                              each) on 2 trial processes, then the same 16 trials one after
 *                              another in this process: "sweep2 SECONDS", "sequential
 *                              SECONDS", "maxreldiff X" (largest relative difference of
 *                              the 16 inertias between the two), and the CPU seconds of each
 *                              ("cpu2": the trial processes', "cpu1": this process's) per repeat,
 *                              split into user / system seconds and minor page faults
 *                              ("user2", "sys2", "faults2"; "user1", "sys1", "faults1") and
 *                              the sweep process's own CPU and faults ("parent_cpu2", ...)
 *   bench_track figures 0 DIR  the README's figures: a 16-trial random search over k-means
 *                              settings (k, max_iter, tol) on the same data, each trial
 *                              logging its inertia per iteration; writes DIR/track_*.png and
 *                              prints the runs table and the sweep's table
 * Runs go to a temporary MLFLOW_TRACKING_URI removed at the end. */
#include "cairn.h"
#include "bench_clock.h"

#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define FASHION "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"

static mat Z; /* the data every trial clusters */

/* user and system CPU seconds and minor page faults of `who`, to tell where a trial's time goes */
typedef struct usage {
    double user, sys;
    long faults;
} usage;

static usage usage_of(int who)
{
    struct rusage ru;
    getrusage(who, &ru);
    return (usage){(double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6, (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec * 1e-6,
                   ru.ru_minflt};
}

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

static mat labels; /* Fashion-MNIST classes of Z's rows */

/* figures: a random search over k-means settings, each trial logging its inertia per
 * iteration, then the three comparison figures and the runs table. */
static void kmeans_logged(track_trial *t)
{
    kmeans_options o = kmeans_defaults();
    o.n_init = 1;
    o.seed = 3;
    o.progress = 0;
    o.max_iter = (int)trial_param(t, "max_iter");
    o.tol = trial_param(t, "tol");
    kmeans_result *km = kmeans_fit(Z, (int)trial_param(t, "k"), &o);
    if (!km)
        return;
    for (int i = 0; i < km->inertia_history.cols; i++)
        track_log_metric("inertia", km->inertia_history.data[i], i);
    trial_report(t, "nmi", metric_nmi(labels, km->labels));
    kmeans_free(km);
}

static int figures(const char *out)
{
    labels = idx_read("/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz");
    track_set_experiment("fashion k-means");
    track_autolog(0); /* the trial logs its own curve; kmeans.* params would repeat k, max_iter, tol */
    sweep_space *s = sweep_space_new();
    sweep_space_range(s, "k", 4, 16, 1);
    sweep_space_values(s, "max_iter", (double[]){3, 10, 30, 100}, 4);
    sweep_space_log(s, "tol", 1e-6, 1e-1, 6);
    sweep_result *r = sweep_random(s, kmeans_logged, (sweep_options){.metric = "nmi", .maximize = 1, .trials = 16,
                                                                         .seed = 11, .processes = 2, .quiet = 1});
    char path[512];
    figure *f = track_plot_metric("fashion k-means", "inertia", 6);
    snprintf(path, sizeof path, "%s/track_metric_vs_step.png", out);
    plot_save(f, path);
    plot_free(f);
    f = track_plot_param("fashion k-means", "k", "nmi");
    snprintf(path, sizeof path, "%s/track_param_vs_metric.png", out);
    plot_save(f, path);
    plot_free(f);
    f = track_plot_parallel("fashion k-means", "nmi");
    snprintf(path, sizeof path, "%s/track_parallel.png", out);
    plot_save(f, path);
    plot_free(f);
    char *text = track_runs_text("fashion k-means", "nmi desc");
    printf("%s", text ? text : cairn_last_error());
    free(text);
    sweep_show(r);
    sweep_free(r);
    sweep_space_free(s);
    return 0;
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
    } else if (strcmp(argv[1], "sweep") == 0 || strcmp(argv[1], "figures") == 0) {
        mat X = idx_read(FASHION);
        if (mat_is_empty(X)) {
            fprintf(stderr, "%s\n", cairn_last_error());
            return 1;
        }
        mat_scale_inplace(X, 1.0 / 255);
        pca_model p = pca_fit_randomized(X, 50, 1);
        Z = pca_transform(p, X);
        if (strcmp(argv[1], "figures") == 0) {
            int rc = figures(argc > 3 ? argv[3] : ".");
            char cmd[128];
            snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
            return rc || system(cmd) != 0;
        }
        track_set_experiment("bench sweep");
        sweep_space *s = sweep_space_new();
        sweep_space_range(s, "k", 5, 20, 1);
        for (int r = 0; r < reps; r++) {
            usage uc0 = usage_of(RUSAGE_CHILDREN), us0 = usage_of(RUSAGE_SELF);
            double c0 = cpu_seconds(RUSAGE_CHILDREN), t0 = now();
            sweep_result *a = sweep_grid(s, kmeans_trial, (sweep_options){.metric = "inertia", .processes = 2, .quiet = 1});
            double t1 = now(), c1 = cpu_seconds(RUSAGE_CHILDREN), s1 = cpu_seconds(RUSAGE_SELF);
            usage uc1 = usage_of(RUSAGE_CHILDREN), us1 = usage_of(RUSAGE_SELF);
            sweep_result *b = sweep_grid(s, kmeans_trial, (sweep_options){.metric = "inertia", .in_process = 1, .quiet = 1});
            double t2 = now(), s2 = cpu_seconds(RUSAGE_SELF);
            usage us2 = usage_of(RUSAGE_SELF);
            printf("user2 %.6f\nsys2 %.6f\nfaults2 %ld\nparent_cpu2 %.6f\nparent_faults2 %ld\n", uc1.user - uc0.user,
                   uc1.sys - uc0.sys, uc1.faults - uc0.faults, us1.user - us0.user + us1.sys - us0.sys, us1.faults - us0.faults);
            printf("user1 %.6f\nsys1 %.6f\nfaults1 %ld\n", us2.user - us1.user, us2.sys - us1.sys, us2.faults - us1.faults);
            printf("cpu2 %.6f\ncpu1 %.6f\n", c1 - c0, s2 - s1);
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
