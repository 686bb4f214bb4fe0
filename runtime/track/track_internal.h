/* track_internal.h — what the files of runtime/track share: the store layout (paths,
 * meta.yaml), one run being written (metric files kept open), the watcher that marks runs
 * of dead processes, and the reader used by comparisons. */
#ifndef CAIRN_TRACK_INTERNAL_H
#define CAIRN_TRACK_INTERNAL_H

#include <limits.h>
#include <stdio.h>

#include "cairn/track.h"
#include "../core/strbuf.h"

/* MLflow's RunStatus numbers, as meta.yaml stores them. */
enum { RUN_RUNNING = 1, RUN_SCHEDULED = 2, RUN_FINISHED = 3, RUN_FAILED = 4, RUN_KILLED = 5 };

#define TRACK_PATH 1024

/* ---- store (track_store.c) ---- */

/** Milliseconds since the epoch (MLflow's timestamps). */
long long track_now_ms(void);

/** The tracking root, absolute, created with .trash and the Default experiment; NULL after cairn_error(func, ...). */
const char *store_root(const char *func);

/** Id of the experiment named `name` in root (creating it when `create`); 0, or -1 after an error. */
int store_experiment_id(const char *func, const char *name, int create, char *id, size_t size);

/** Write `len` bytes to path through a temporary file and rename; 0 or -1 (errno set). */
int store_write_atomic(const char *path, const char *data, size_t len);

/** Whole file as a NUL-terminated string (free()), NULL when unreadable; *len may be NULL. */
char *store_read_all(const char *path, size_t *len);

/** Value of top-level `key` in a meta.yaml text (quotes removed); 1 found, 0 not. */
int yaml_get(const char *text, const char *key, char *out, size_t size);

/** `s` as a single-quoted YAML scalar into out. */
void yaml_quote(const char *s, char *out, size_t size);

/** mkdir -p; 0 or -1 (errno set). */
int store_mkdirs(const char *path);

/** Is `key` a name MLflow accepts (letters, digits, _ - . space /, no "..", not absolute)? */
int store_key_ok(const char *key);

/** RunStatus name of a number ("FINISHED"), "UNKNOWN" otherwise. */
const char *store_status_name(int status);

/** RunStatus number of a name, -1 when not one. */
int store_status_number(const char *name);

/* ---- one run being written (track_run.c) ---- */

typedef struct metric_file {
    char key[256];
    FILE *f;
} metric_file;

typedef struct track_run_state {
    char id[33];
    char exp_id[32];
    char name[256];
    char dir[TRACK_PATH];
    long long start_time;
    metric_file *metrics;
    int nmetrics, cap;
    long long last_flush_ms;
    int nan_warned;
    int killed_sent;
} track_run_state;

/** Create a run directory with meta.yaml RUNNING and the mlflow.* tags; parent_id may be NULL. */
int run_create(const char *func, track_run_state *r, const char *exp_id, const char *name, const char *parent_id);

/** Write meta.yaml with a final status and end_time, close the metric files; 0 or -1. */
int run_finish(const char *func, track_run_state *r, int status);

/** Append a metric point (buffered); func NULL reports no error (the runtime's autologging never fails its caller). */
int run_metric(const char *func, track_run_state *r, const char *key, double value, long step);

/** Write a param file (an existing different value is an error). */
int run_param(const char *func, track_run_state *r, const char *key, const char *value);

/** Write a tag file. */
int run_tag(const char *func, track_run_state *r, const char *key, const char *value);

/** Flush (1) or drop without writing (0: a forked child's inherited buffers) the metric files. */
void run_close_metrics(track_run_state *r, int flush);

/** Shortest "%.17g"-style text of v that reads back as v. */
void track_format_number(double v, char *out, size_t size);

/** The active run of this process (NULL when none): sweeps point it at a trial's run in the child. */
track_run_state *track_active_run(void);
void track_set_active_run(track_run_state *r);

/** Parameters read by param_double & co., logged to each run started later. */
void params_log_to(track_run_state *r);

/** Was value of key logged automatically from a notebook parameter (so an explicit log may replace it)? */
int params_is_auto(const char *key, const char *value);

/* ---- watcher (track_watch.c) ---- */

/** Have this process's watcher mark run_dir FAILED (or KILLED) if the process dies with it RUNNING. */
int watch_register(const char *run_dir, char *tag, size_t tagsize);

/** Tell the watcher the process saw an interrupt: runs it fixes become KILLED. */
void watch_interrupted(void);

/** A run whose watcher is gone but is still RUNNING on disk: mark it FAILED; returns 1 if fixed. */
int watch_fix_stale(const char *run_dir);

/* ---- reading runs (track_read.c) ---- */

typedef struct kv {
    char *key, *value;
} kv;

typedef struct run_row {
    char id[33];
    char name[256];
    int status;
    long long start_time, end_time;
    kv *params;
    int nparams;
    kv *metrics; /* last value of each metric, as text */
    int nmetrics;
    double sort_value;
} run_row;

typedef struct run_table {
    char exp_id[32];
    char exp_name[256];
    char exp_dir[TRACK_PATH];
    run_row *rows;
    int n;
    int skipped; /* run folders that could not be read (corrupt) */
} run_table;

/** Read every run of an experiment (NULL: current); 0 or -1 after cairn_error(func, ...). */
int runs_read(const char *func, const char *experiment, run_table *t);

/** Sort rows by `order` ("metric", "metric desc", "metric asc"), runs without it last. */
void runs_sort(run_table *t, const char *order, char *metric, size_t msize, int *desc);

void runs_free(run_table *t);

/** Value of key in an array of kv (NULL when missing). */
const char *kv_get(const kv *a, int n, const char *key);

/** Metric points of a run as step/value arrays (malloc); returns the count, -1 on error. */
int runs_metric_history(const char *exp_dir, const char *run_id, const char *metric, double **steps, double **values);

#endif
