/* track_run.c — the active run: start/end, params, metrics, tags, artifacts.
 *
 * Metric points are the hot path (a training loop logs one per step): each metric keeps
 * its file open in append mode behind a 64 KiB stdio buffer, written out when full,
 * every 100 ms, at track_flush/track_end_run, and by the executor's fflush(NULL) before
 * each cell's fork (so a forked cell never inherits unwritten points to write twice).
 * A crash loses at most the last 100 ms of points. Lines are MLflow's
 * "<timestamp ms> <value> <step>"; values are printed with 17 significant digits so
 * they read back exactly. Params are immutable as in MLflow: logging a key again with
 * another value is an error; tags may change. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "track_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cairn/display.h"
#include "cairn/error.h"
#include "cairn/io.h"

#define METRIC_BUFFER (64 * 1024)
#define METRICS_OPEN_MAX 128
#define FLUSH_INTERVAL_MS 100

static char experiment_name[256] = "Default";
static char experiment_id[32];
static track_run_state active_storage;
static track_run_state *active;

track_run_state *track_active_run(void) { return active; }
void track_set_active_run(track_run_state *r) { active = r; }

void track_format_number(double v, char *out, size_t size)
{
    if (isnan(v)) {
        snprintf(out, size, "nan");
        return;
    }
    if (isinf(v)) {
        snprintf(out, size, v > 0 ? "inf" : "-inf");
        return;
    }
    if (v == floor(v) && fabs(v) < 1e15) {
        snprintf(out, size, "%.0f", v);
        return;
    }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(out, size, "%.*g", prec, v);
        if (strtod(out, NULL) == v)
            return;
    }
}

static void new_run_id(char id[33])
{
    unsigned char bytes[16];
    /* Not the session's generator: a run id must not shift the user's seeded stream. */
    if (getrandom(bytes, sizeof bytes, 0) != (ssize_t)sizeof bytes) {
        long long t = track_now_ms();
        for (int i = 0; i < 16; i++)
            bytes[i] = (unsigned char)((t >> (i % 8 * 8)) ^ (getpid() >> (i % 4 * 8)) ^ (i * 37));
    }
    for (int i = 0; i < 16; i++)
        snprintf(id + 2 * i, 3, "%02x", bytes[i]);
}

static const char *user_name(void)
{
    const char *u = getenv("USER");
    if (!u || !*u)
        u = getenv("LOGNAME");
    return u && *u ? u : "unknown";
}

/* meta.yaml of a run: every field MLflow's FileStore writes, keys in its (sorted) order. */
static int write_run_meta(const track_run_state *r, int status, long long end_time)
{
    char root[TRACK_PATH], path[TRACK_PATH + 32], uri[TRACK_PATH + 64], quri[TRACK_PATH + 100];
    char qname[600], quser[300], end[32], text[TRACK_PATH * 2 + 1024];
    /* dir is <root>/<exp>/<id>; artifacts live inside it. */
    snprintf(root, sizeof root, "%s", r->dir);
    snprintf(uri, sizeof uri, "file://%s/artifacts", r->dir);
    yaml_quote(uri, quri, sizeof quri);
    yaml_quote(r->name, qname, sizeof qname);
    yaml_quote(user_name(), quser, sizeof quser);
    if (end_time > 0)
        snprintf(end, sizeof end, "%lld", end_time);
    else
        snprintf(end, sizeof end, "null");
    int n = snprintf(text, sizeof text,
                     "artifact_uri: %s\nend_time: %s\nentry_point_name: ''\nexperiment_id: '%s'\n"
                     "lifecycle_stage: active\nrun_id: '%s'\nrun_name: %s\nrun_uuid: '%s'\nsource_name: ''\n"
                     "source_type: 4\nsource_version: ''\nstart_time: %lld\nstatus: %d\ntags: []\nuser_id: %s\n",
                     quri, end, r->exp_id, r->id, qname, r->id, r->start_time, status, quser);
    snprintf(path, sizeof path, "%s/meta.yaml", r->dir);
    return store_write_atomic(path, text, (size_t)n);
}

/* Write `value` to <run>/<sub>/<key> (keys with '/' make folders, as in MLflow). */
static int write_key_file(const char *func, const track_run_state *r, const char *sub, const char *key,
                          const char *value, int immutable)
{
    if (!store_key_ok(key)) {
        cairn_error(func, "'%s' is not a valid name (letters, digits, _ - . / and spaces; no '..')", key ? key : "(null)");
        return -1;
    }
    char path[TRACK_PATH + 300];
    snprintf(path, sizeof path, "%s/%s/%s", r->dir, sub, key);
    if (immutable) {
        char *old = store_read_all(path, NULL);
        /* A value logged on its own from param_double & co. gives way to an explicit one
         * (a loop of runs over lr in a notebook whose parameters cell also read lr). */
        if (old && strcmp(old, value) != 0 && params_is_auto(key, old)) {
            free(old);
            old = NULL;
        }
        if (old) {
            int same = strcmp(old, value) == 0;
            if (!same)
                cairn_error(func, "param '%s' of run %s is already %s; MLflow params cannot change (logged %s)", key,
                            r->id, old, value);
            free(old);
            return same ? 0 : -1;
        }
    }
    char *slash = strrchr(path, '/');
    *slash = '\0';
    if (store_mkdirs(path) != 0) {
        cairn_error(func, "cannot create %s: %s", path, strerror(errno));
        return -1;
    }
    *slash = '/';
    if (store_write_atomic(path, value, strlen(value)) != 0) {
        cairn_error(func, "cannot write %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

int run_param(const char *func, track_run_state *r, const char *key, const char *value)
{
    return write_key_file(func, r, "params", key, value, 1);
}

int run_tag(const char *func, track_run_state *r, const char *key, const char *value)
{
    return write_key_file(func, r, "tags", key, value, 0);
}

int run_create(const char *func, track_run_state *r, const char *exp_id, const char *name, const char *parent_id)
{
    const char *root = store_root(func);
    if (!root)
        return -1;
    memset(r, 0, sizeof *r);
    new_run_id(r->id);
    snprintf(r->exp_id, sizeof r->exp_id, "%s", exp_id);
    if (name && *name)
        snprintf(r->name, sizeof r->name, "%s", name);
    else
        snprintf(r->name, sizeof r->name, "run-%.8s", r->id);
    snprintf(r->dir, sizeof r->dir, "%s/%s/%s", root, exp_id, r->id);
    static const char *const subs[] = {"params", "metrics", "tags", "artifacts"};
    char path[TRACK_PATH + 32];
    for (int i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "%s/%s", r->dir, subs[i]);
        if (store_mkdirs(path) != 0) {
            cairn_error(func, "cannot create the run folder %s: %s", path, strerror(errno));
            return -1;
        }
    }
    r->start_time = track_now_ms();
    r->last_flush_ms = r->start_time;
    if (write_run_meta(r, RUN_RUNNING, 0) != 0) {
        cairn_error(func, "cannot write %s/meta.yaml: %s", r->dir, strerror(errno));
        return -1;
    }
    char watcher[128] = "";
    if (watch_register(r->dir, watcher, sizeof watcher) == 0 && watcher[0])
        run_tag(func, r, "cairn.watcher", watcher);
    if (run_tag(func, r, "mlflow.runName", r->name) != 0 || run_tag(func, r, "mlflow.user", user_name()) != 0 ||
        run_tag(func, r, "mlflow.source.type", "LOCAL") != 0 || run_tag(func, r, "mlflow.source.name", "cairn") != 0)
        return -1;
    if (parent_id && run_tag(func, r, "mlflow.parentRunId", parent_id) != 0)
        return -1;
    return 0;
}

void run_close_metrics(track_run_state *r, int flush)
{
    for (int i = 0; i < r->nmetrics; i++) {
        if (!r->metrics[i].f)
            continue;
        if (flush) {
            fclose(r->metrics[i].f);
        } else {
            /* A forked child's copy of the parent's buffer: drop it unwritten. */
            int fd = fileno(r->metrics[i].f);
            int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
            if (null >= 0) {
                dup2(null, fd);
                close(null);
            }
            fclose(r->metrics[i].f);
        }
    }
    free(r->metrics);
    r->metrics = NULL;
    r->nmetrics = r->cap = 0;
}

int run_finish(const char *func, track_run_state *r, int status)
{
    run_close_metrics(r, 1);
    if (write_run_meta(r, status, track_now_ms()) != 0) {
        cairn_error(func, "cannot write %s/meta.yaml: %s", r->dir, strerror(errno));
        return -1;
    }
    return 0;
}

static FILE *metric_open(const char *func, track_run_state *r, const char *key)
{
    for (int i = 0; i < r->nmetrics; i++)
        if (strcmp(r->metrics[i].key, key) == 0)
            return r->metrics[i].f;
    if (!store_key_ok(key)) {
        if (func) /* NULL: the runtime's autologging, which never fails its caller */
            cairn_error(func, "'%s' is not a valid metric name (letters, digits, _ - . / and spaces; no '..')", key ? key : "(null)");
        return NULL;
    }
    if (r->nmetrics >= METRICS_OPEN_MAX)
        run_close_metrics(r, 1); /* reopened on demand */
    if (r->nmetrics == r->cap) {
        int cap = r->cap ? r->cap * 2 : 8;
        metric_file *g = realloc(r->metrics, (size_t)cap * sizeof *g);
        if (!g) {
            if (func)
                cairn_error(func, "out of memory");
            return NULL;
        }
        r->metrics = g;
        r->cap = cap;
    }
    char path[TRACK_PATH + 300];
    snprintf(path, sizeof path, "%s/metrics/%s", r->dir, key);
    char *slash = strrchr(path, '/');
    *slash = '\0';
    if (store_mkdirs(path) != 0) {
        if (func)
            cairn_error(func, "cannot create %s: %s", path, strerror(errno));
        return NULL;
    }
    *slash = '/';
    FILE *f = fopen(path, "ae");
    if (!f) {
        if (func)
            cairn_error(func, "cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    setvbuf(f, NULL, _IOFBF, METRIC_BUFFER);
    metric_file *m = &r->metrics[r->nmetrics++];
    snprintf(m->key, sizeof m->key, "%s", key);
    m->f = f;
    return f;
}

int run_metric(const char *func, track_run_state *r, const char *key, double value, long step)
{
    FILE *f = metric_open(func, r, key);
    if (!f)
        return -1;
    long long now = track_now_ms();
    char line[96];
    int n;
    if (isnan(value)) {
        n = snprintf(line, sizeof line, "%lld nan %ld\n", now, step);
        if (!r->nan_warned && func) {
            r->nan_warned = 1;
            fprintf(stderr, "%s: metric '%s' is NaN at step %ld (recorded as nan, as MLflow does)\n", func, key, step);
        }
    } else {
        n = snprintf(line, sizeof line, "%lld %.17g %ld\n", now, value, step);
    }
    if (fwrite(line, 1, (size_t)n, f) != (size_t)n) {
        if (func)
            cairn_error(func, "cannot write metric '%s' of run %s: %s", key, r->id, strerror(errno));
        return -1;
    }
    if (now - r->last_flush_ms >= FLUSH_INTERVAL_MS) {
        for (int i = 0; i < r->nmetrics; i++)
            fflush(r->metrics[i].f);
        r->last_flush_ms = now;
    }
    if (!r->killed_sent && cairn_interrupted()) {
        r->killed_sent = 1;
        watch_interrupted();
    }
    return 0;
}

/* ---- the public API: one active run per process ---- */

int track_set_experiment(const char *name)
{
    char id[32];
    if (store_experiment_id("track_set_experiment", name, 1, id, sizeof id) != 0)
        return -1;
    snprintf(experiment_name, sizeof experiment_name, "%s", name);
    snprintf(experiment_id, sizeof experiment_id, "%s", id);
    return 0;
}

const char *track_experiment_id(void)
{
    char id[32];
    if (store_experiment_id("track_experiment_id", experiment_name, 1, id, sizeof id) != 0)
        return NULL;
    snprintf(experiment_id, sizeof experiment_id, "%s", id);
    return experiment_id;
}

const char *track_start_run(const char *name)
{
    if (active) {
        printf("track: ending run '%s' (FINISHED) to start a new one\n", active->name);
        track_end_run(NULL);
    }
    const char *exp = track_experiment_id();
    if (!exp)
        return NULL;
    if (run_create("track_start_run", &active_storage, exp, name, NULL) != 0)
        return NULL;
    active = &active_storage;
    params_log_to(active);
    return active->id;
}

int track_end_run(const char *status)
{
    if (!active)
        return 0; /* as MLflow's end_run: nothing to end */
    int st = status ? store_status_number(status) : RUN_FINISHED;
    if (st != RUN_FINISHED && st != RUN_FAILED && st != RUN_KILLED) {
        cairn_error("track_end_run", "status '%s' is not FINISHED, FAILED or KILLED", status);
        return -1;
    }
    track_run_state *r = active;
    active = NULL;
    return run_finish("track_end_run", r, st);
}

const char *track_run_id(void) { return active ? active->id : NULL; }

const char *track_run_dir(void) { return active ? active->dir : NULL; }

static int need_active(const char *func)
{
    if (active)
        return 1;
    cairn_error(func, "no active run: call track_start_run(\"name\") first");
    return 0;
}

int track_log_param(const char *key, double value)
{
    if (!need_active("track_log_param"))
        return -1;
    char text[64];
    track_format_number(value, text, sizeof text);
    return run_param("track_log_param", active, key, text);
}

int track_log_param_str(const char *key, const char *value)
{
    if (!need_active("track_log_param_str"))
        return -1;
    return run_param("track_log_param_str", active, key, value ? value : "");
}

int track_log_metric(const char *key, double value, long step)
{
    if (!need_active("track_log_metric"))
        return -1;
    return run_metric("track_log_metric", active, key, value, step);
}

int track_set_tag(const char *key, const char *value)
{
    if (!need_active("track_set_tag"))
        return -1;
    if (key && strcmp(key, "mlflow.runName") == 0 && value) {
        snprintf(active->name, sizeof active->name, "%s", value);
        write_run_meta(active, RUN_RUNNING, 0);
    }
    return run_tag("track_set_tag", active, key, value ? value : "");
}

int track_flush(void)
{
    if (!active)
        return 0;
    int rc = 0;
    for (int i = 0; i < active->nmetrics; i++)
        if (fflush(active->metrics[i].f) != 0)
            rc = -1;
    if (rc)
        cairn_error("track_flush", "cannot write the metrics of run %s: %s", active->id, strerror(errno));
    return rc;
}

/* <run>/artifacts/<sub>/<name>, folders created; name must be a plain relative path. */
static int artifact_path(const char *func, const char *sub, const char *name, char *out, size_t size)
{
    if (!need_active(func))
        return -1;
    if (!name || !*name || name[0] == '/' || strstr(name, "..") || (sub && (sub[0] == '/' || strstr(sub, "..")))) {
        cairn_error(func, "artifact name '%s' must be a relative path without '..'", name ? name : "(null)");
        return -1;
    }
    snprintf(out, size, "%s/artifacts/%s%s%s", active->dir, sub && *sub ? sub : "", sub && *sub ? "/" : "", name);
    char *slash = strrchr(out, '/');
    *slash = '\0';
    int rc = store_mkdirs(out);
    *slash = '/';
    if (rc != 0) {
        cairn_error(func, "cannot create the artifact folder for %s: %s", out, strerror(errno));
        return -1;
    }
    return 0;
}

int track_log_artifact(const char *path, const char *sub)
{
    char dst[TRACK_PATH + 600];
    const char *base = path ? strrchr(path, '/') : NULL;
    base = base ? base + 1 : path;
    if (artifact_path("track_log_artifact", sub, base, dst, sizeof dst) != 0)
        return -1;
    int in = open(path, O_RDONLY | O_CLOEXEC);
    if (in < 0) {
        cairn_error("track_log_artifact", "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    int out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (out < 0) {
        cairn_error("track_log_artifact", "cannot create %s: %s", dst, strerror(errno));
        close(in);
        return -1;
    }
    char buf[65536];
    int rc = 0;
    for (;;) {
        ssize_t n = read(in, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = -1;
            break;
        }
        if (n == 0)
            break;
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(out, buf + off, (size_t)(n - off));
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0) {
                rc = -1;
                break;
            }
            off += w;
        }
        if (rc)
            break;
    }
    if (close(out) != 0)
        rc = -1;
    close(in);
    if (rc)
        cairn_error("track_log_artifact", "copying %s to %s failed: %s", path, dst, strerror(errno));
    return rc;
}

int track_log_figure(figure *fig, const char *name)
{
    char dst[TRACK_PATH + 600];
    const char *dot = name ? strrchr(name, '.') : NULL;
    if (!fig || !dot || (strcmp(dot, ".png") != 0 && strcmp(dot, ".svg") != 0)) {
        cairn_error("track_log_figure", "needs a figure and a name ending in .png or .svg (got %s)", name ? name : "(null)");
        return -1;
    }
    if (artifact_path("track_log_figure", NULL, name, dst, sizeof dst) != 0)
        return -1;
    return plot_save(fig, dst);
}

int track_log_matrix(mat A, const char *name)
{
    char dst[TRACK_PATH + 600];
    const char *dot = name ? strrchr(name, '.') : NULL;
    if (!dot || strcmp(dot, ".npy") != 0) {
        cairn_error("track_log_matrix", "the artifact name must end in .npy (got %s)", name ? name : "(null)");
        return -1;
    }
    if (artifact_path("track_log_matrix", NULL, name, dst, sizeof dst) != 0)
        return -1;
    return npy_write(dst, A);
}
