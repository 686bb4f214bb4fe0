/* cairn/track.h — experiment tracking, run comparison and hyperparameter sweeps.
 *
 * Runs are written in MLflow's file-store layout, so `mlflow ui --backend-store-uri
 * mlruns` shows them:  <root>/<experiment_id>/meta.yaml and
 * <root>/<experiment_id>/<run_id>/{meta.yaml, params/, metrics/, tags/, artifacts/}.
 * The root comes from MLFLOW_TRACKING_URI (a file: URI or a path), else ./mlruns.
 *
 *     track_set_experiment("svd-rank");
 *     track_start_run("rank 20");
 *     track_log_param("rank", 20);
 *     for (int step = 0; step < 100; step++) track_log_metric("loss", loss, step);
 *     track_end_run(NULL);                         // FINISHED
 *
 * A run whose process dies (crash, SIGKILL after an interrupt, %undo of the cell that
 * started it) is marked FAILED or KILLED by a small watcher process; see
 * runtime/track/README.md. Sweeps run the trials in forked trial processes:
 *
 *     void objective(track_trial *t) {
 *         double lr = trial_param(t, "lr");
 *         trial_report(t, "loss", train(lr, (int)trial_budget(t)));
 *     }
 *     sweep_space *s = sweep_space_new();
 *     sweep_space_log(s, "lr", 1e-4, 1e-1, 4);
 *     sweep_result *r = sweep_grid(s, objective, (sweep_options){.metric = "loss", .processes = 2});
 */
#ifndef CAIRN_TRACK_H
#define CAIRN_TRACK_H

#include <stdint.h>
#include "cairn/mat.h"
#include "cairn/plot.h"

/* ---- where runs go ---- */

/** Use this tracking location (a path or file: URI) instead of MLFLOW_TRACKING_URI / ./mlruns; NULL resets; 0 or -1. */
int track_set_uri(const char *uri);

/** The tracking directory in use (absolute path; static storage). */
const char *track_dir(void);

/** Make `name` the experiment later runs go to (created if missing; "Default" is id 0); returns 0 or -1. */
int track_set_experiment(const char *name);

/** Id of the current experiment ("0" for Default), or NULL after an error. */
const char *track_experiment_id(void);

/* ---- runs ---- */

/** Start a run named `name` (NULL: a generated name) in the current experiment; returns its id or NULL. */
const char *track_start_run(const char *name);

/** End the active run with status "FINISHED" (NULL), "FAILED" or "KILLED"; returns 0 or -1. */
int track_end_run(const char *status);

/** Id of the active run, or NULL when none is active. */
const char *track_run_id(void);

/** Directory of the active run (absolute; static storage), or NULL when none is active. */
const char *track_run_dir(void);

/** Log a numeric parameter of the active run (a key logged twice must keep its value); 0 or -1. */
int track_log_param(const char *key, double value);

/** Log a string parameter of the active run; returns 0 or -1. */
int track_log_param_str(const char *key, const char *value);

/** Log metric `key` = value at `step` (cheap: buffered; NaN is recorded with a warning); 0 or -1. */
int track_log_metric(const char *key, double value, long step);

/** Set tag `key` of the active run (tags may change; mlflow.runName renames the run); 0 or -1. */
int track_set_tag(const char *key, const char *value);

/** Copy a file into the run's artifacts (artifact_path: subfolder or NULL); returns 0 or -1. */
int track_log_artifact(const char *path, const char *artifact_path);

/** Save a figure as artifact `name` (.png or .svg by its extension); returns 0 or -1. */
int track_log_figure(figure *fig, const char *name);

/** Save a matrix as artifact `name` (.npy, readable by numpy.load); returns 0 or -1. */
int track_log_matrix(mat A, const char *name);

/** k-means and nn_fit log their settings and curves to the active run by themselves (1, the default) or not (0). */
void track_autolog(int on);

/** Write buffered metric points of the active run to disk now; returns 0 or -1. */
int track_flush(void);

/* ---- comparing runs ---- */

/** Show the runs of an experiment (NULL: current) as a table, best first by `order` ("loss", "acc desc"). */
int track_runs_show(const char *experiment, const char *order);

/** The runs table as text (what track_runs_show prints; release with free()), or NULL after an error. */
char *track_runs_text(const char *experiment, const char *order);

/** Number of runs in an experiment (NULL: current), or -1 after an error. */
int track_runs_count(const char *experiment);

/** Figure: `metric` against step for the runs of an experiment (max_runs best by its last value; 0: 10). */
figure *track_plot_metric(const char *experiment, const char *metric, int max_runs);

/** Figure: scatter of parameter `param` against the last value of `metric` over the runs. */
figure *track_plot_param(const char *experiment, const char *param, const char *metric);

/** Figure: parallel coordinates of the numeric parameters of every run, then `metric`, coloured by it. */
figure *track_plot_parallel(const char *experiment, const char *metric);

/* ---- parameters of a notebook (papermill's `parameters` cell) ---- */

/** Parameter `name`: CAIRN_PARAM_<name> from the environment if set, else dflt; logged to runs. */
double param_double(const char *name, double dflt);

/** Integer parameter `name` (CAIRN_PARAM_<name> or dflt); logged to runs. */
long param_int(const char *name, long dflt);

/** String parameter `name` (CAIRN_PARAM_<name> or dflt; static storage per name); logged to runs. */
const char *param_string(const char *name, const char *dflt);

/* ---- sweeps ---- */

typedef struct sweep_space sweep_space;
typedef struct track_trial track_trial;
typedef struct sweep_result sweep_result;

/** A trial: reads its parameters with trial_param and reports metrics with trial_report. */
typedef void (*track_trial_fn)(track_trial *t);

/** Options of a sweep; zero fields take the defaults noted. */
typedef struct sweep_options {
    const char *experiment; /* experiment of the trial runs (NULL: the current one) */
    const char *metric;     /* metric that ranks trials (NULL: the first one reported) */
    int maximize;           /* 1: higher metric is better (default 0: lower is better) */
    int processes;          /* trial processes at once (0: 1) */
    int in_process;         /* 1: run trials in this process, one after another (no crash isolation) */
    int fresh_process;      /* 1: a new process for every trial (default: a trial process runs several, see runtime/track/README.md) */
    int trials;             /* random search / halving: number of configurations (0: 10; hyperband: its schedule decides) */
    uint64_t seed;          /* random search / halving / hyperband: sampling seed */
    double min_budget;      /* halving / hyperband: the smallest budget of a rung (0: 1) */
    double max_budget;      /* halving / hyperband: budget of the last rung (0: 27); grid / random: every trial's budget */
    double eta;             /* halving / hyperband: keep 1/eta per rung and multiply the budget by eta (0: 3) */
    double timeout;         /* seconds per trial before it is killed and FAILED (0: none) */
    int quiet;              /* 1: no live table */
} sweep_options;

/** New empty search space (release with sweep_space_free). */
sweep_space *sweep_space_new(void);

/** Release a search space (NULL ignored). */
void sweep_space_free(sweep_space *s);

/** Parameter `name` takes the n listed values. */
int sweep_space_values(sweep_space *s, const char *name, const double *values, int n);

/** Parameter `name` in [lo, hi]: grid lo, lo+step, ... <= hi; random search draws uniformly (integers if step is 1). */
int sweep_space_range(sweep_space *s, const char *name, double lo, double hi, double step);

/** Parameter `name` log-uniform in [lo, hi] (lo > 0): grid of n log-spaced values; random search draws log-uniformly. */
int sweep_space_log(sweep_space *s, const char *name, double lo, double hi, int n);

/** Grid search: every combination of the space's values, one trial each. */
sweep_result *sweep_grid(sweep_space *s, track_trial_fn fn, sweep_options opt);

/** Random search: opt.trials configurations drawn with opt.seed (reproducible). */
sweep_result *sweep_random(sweep_space *s, track_trial_fn fn, sweep_options opt);

/** Successive halving: opt.trials random configurations at min_budget, the best 1/eta go on with eta times the budget. */
sweep_result *sweep_halving(sweep_space *s, track_trial_fn fn, sweep_options opt);

/** Hyperband: brackets of successive halving from many configurations at min_budget to few at max_budget (seeded). */
sweep_result *sweep_hyperband(sweep_space *s, track_trial_fn fn, sweep_options opt);

/** Value of parameter `name` for this trial (an unknown name fails the trial with an error). */
double trial_param(const track_trial *t, const char *name);

/** Budget of this trial (epochs, iterations): its rung under halving, opt.max_budget (default 0) for grid and random search. */
double trial_budget(const track_trial *t);

/** Report metric `name` of this trial (the last value counts; NaN fails the trial). */
void trial_report(track_trial *t, const char *name, double value);

/** Number of trials in a result. */
int sweep_count(const sweep_result *r);

/** Index of the best finished trial by the ranking metric, or -1 when none finished. */
int sweep_best(const sweep_result *r);

/** Parameter `name` of trial i (NAN when unknown). */
double sweep_param(const sweep_result *r, int i, const char *name);

/** Metric `name` reported by trial i (NAN when not reported or the trial failed). */
double sweep_metric(const sweep_result *r, int i, const char *name);

/** Status of trial i: "FINISHED", "FAILED" or "KILLED". */
const char *sweep_status(const sweep_result *r, int i);

/** Why trial i failed ("SIGSEGV", "metric loss is NaN", an error message), "" when it finished. */
const char *sweep_error(const sweep_result *r, int i);

/** Budget of trial i (its rung under halving; opt.max_budget for grid and random search). */
double sweep_budget(const sweep_result *r, int i);

/** Sum of the budgets of all trials run (what successive halving saves). */
double sweep_total_budget(const sweep_result *r);

/** Run id of trial i in the tracking store. */
const char *sweep_run_id(const sweep_result *r, int i);

/** Show the sweep's trials as a table, best first (text/plain and text/html). */
void sweep_show(const sweep_result *r);

/** Release a sweep result (NULL ignored). */
void sweep_free(sweep_result *r);

#endif
