/* track_sweep.c — grid search, seeded random search and successive halving, the trials in
 * forked trial processes that crash alone.
 *
 * A trial is a C function of the notebook (`void objective(track_trial *t)`), so it can do
 * anything a cell can, including crash. Like a cell, it runs in a fork() of the calling
 * process: a trial that segfaults, divides by zero, runs out of memory (the cell's
 * RLIMIT_AS applies), fails with a runtime error or reports NaN is recorded FAILED with the
 * reason, and the sweep goes on. Up to opt.processes trial processes run at once; each one
 * runs trials one after another as they are handed out (a fork per process, not per trial:
 * fork and its page faults cost ~10 ms of CPU per 100 MB of session here), gets a new
 * process after a crash, and restores the session generator before each trial. The BLAS
 * threads are divided among them (openblas_set_num_threads before the forks), so two
 * trials of a GEMM-heavy objective on two cores do not fight over four threads.
 *
 * Every trial is an MLflow run (params, a trial_budget param under halving, the metrics it
 * reported or logged, status), a child of one parent run per sweep (tag
 * mlflow.parentRunId, as MLflow nests runs), so the MLflow UI groups them. The trial's
 * run is the active run inside the child: track_log_metric there logs a curve per trial.
 *
 * In a trial process, before its first trial: the fatal-signal handlers revert to the
 * default (the cell process's handlers would write the cell's crash report page, shared
 * with the executor), SIGINT is ignored (the parent owns the interrupt and kills the
 * children), the error handler reports through the socket and _exits, displays go to
 * stdout (the cell's socket to the front must carry only the cell's own frames), and
 * PR_SET_PDEATHSIG kills it if the cell dies. Trials go to it over a socketpair as a
 * trial_msg (the run the parent created, the parameter values, the budget); results come
 * back as lines: "M <name> <value>" per reported metric, "E <message>" for an error,
 * then "D" (done, ready for another) or "Q" (done, and the process ends).
 *
 * Interrupt (the runtime's interrupt flag, set by the kernel on SIGINT): running trials
 * are killed and recorded KILLED, no new trial starts, the finished ones are kept, and
 * the sweep returns normally — its result holds what finished.
 *
 * Successive halving (Jamieson & Talwalkar 2016; the rung schedule of Hyperband, Li et al.
 * 2017): n configurations at min_budget, the best ceil(n/eta) of each rung go on with eta
 * times the budget, up to max_budget. A trial at a higher rung starts from scratch with
 * the larger budget (the objective sees only its parameters and trial_budget). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "track_internal.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cairn/alloc.h"
#include "cairn/display.h"
#include "cairn/error.h"
#include "cairn/progress.h"
#include "cairn/random.h"

enum { SPACE_VALUES, SPACE_RANGE, SPACE_LOG };
#define TRIAL_METRICS 16

typedef struct space_param {
    char name[64];
    int kind;
    double *values; /* grid values */
    int n;
    double lo, hi, step;
} space_param;

struct sweep_space {
    space_param *p;
    int n;
};

struct track_trial {
    const sweep_space *space;
    const double *values;
    double budget;
    char names[TRIAL_METRICS][64];
    double metrics[TRIAL_METRICS];
    int nmetrics;
};

typedef struct trial_rec {
    double *values;
    double budget;
    int status;
    char error[256];
    char names[TRIAL_METRICS][64];
    double metrics[TRIAL_METRICS];
    int nmetrics;
    char run_id[33];
} trial_rec;

struct sweep_result {
    char kind[16];
    int nparams;
    char (*names)[64];
    trial_rec *t;
    int n, cap;
    char metric[64];
    int maximize;
    double total_budget;
    int interrupted;
};

/* ---- search spaces ---- */

sweep_space *sweep_space_new(void)
{
    sweep_space *s = calloc(1, sizeof *s);
    if (!s)
        cairn_error("sweep_space_new", "out of memory");
    return s;
}

void sweep_space_free(sweep_space *s)
{
    if (!s)
        return;
    for (int i = 0; i < s->n; i++)
        free(s->p[i].values);
    free(s->p);
    free(s);
}

static space_param *space_add(const char *func, sweep_space *s, const char *name, int kind, int n)
{
    if (!s) {
        cairn_error(func, "no search space (NULL): make one with sweep_space_new()");
        return NULL;
    }
    if (!name || !*name || strlen(name) >= 64 || !store_key_ok(name)) {
        cairn_error(func, "parameter name '%s' must be 1-63 letters, digits, _ - . or spaces", name ? name : "(null)");
        return NULL;
    }
    for (int i = 0; i < s->n; i++)
        if (strcmp(s->p[i].name, name) == 0) {
            cairn_error(func, "parameter '%s' is already in the search space", name);
            return NULL;
        }
    if (n <= 0) {
        cairn_error(func, "parameter '%s' has no values (an empty grid)", name);
        return NULL;
    }
    if (n > 1000000) {
        cairn_error(func, "parameter '%s' has %d values; at most 1000000", name, n);
        return NULL;
    }
    space_param *g = realloc(s->p, (size_t)(s->n + 1) * sizeof *g);
    if (!g) {
        cairn_error(func, "out of memory");
        return NULL;
    }
    s->p = g;
    space_param *p = &s->p[s->n];
    memset(p, 0, sizeof *p);
    p->values = malloc((size_t)n * sizeof *p->values);
    if (!p->values) {
        cairn_error(func, "out of memory");
        return NULL;
    }
    snprintf(p->name, sizeof p->name, "%s", name);
    p->kind = kind;
    p->n = n;
    s->n++;
    return p;
}

int sweep_space_values(sweep_space *s, const char *name, const double *values, int n)
{
    if (n > 0 && !values) {
        cairn_error("sweep_space_values", "parameter '%s': values is NULL", name ? name : "");
        return -1;
    }
    for (int i = 0; i < n; i++)
        if (!isfinite(values[i])) {
            cairn_error("sweep_space_values", "parameter '%s': value %d is %g", name ? name : "", i, values[i]);
            return -1;
        }
    space_param *p = space_add("sweep_space_values", s, name, SPACE_VALUES, n);
    if (!p)
        return -1;
    memcpy(p->values, values, (size_t)n * sizeof *values);
    return 0;
}

int sweep_space_range(sweep_space *s, const char *name, double lo, double hi, double step)
{
    if (!isfinite(lo) || !isfinite(hi) || !(step > 0) || !isfinite(step)) {
        cairn_error("sweep_space_range", "parameter '%s': needs finite lo, hi and step > 0 (got %g, %g, %g)",
                    name ? name : "", lo, hi, step);
        return -1;
    }
    if (hi < lo) {
        cairn_error("sweep_space_range", "parameter '%s': empty range, hi %g < lo %g", name ? name : "", hi, lo);
        return -1;
    }
    double count = floor((hi - lo) / step * (1 + 1e-12) + 1e-9) + 1;
    space_param *p = space_add("sweep_space_range", s, name, SPACE_RANGE, count > 2e6 ? 2000000 : (int)count);
    if (!p)
        return -1;
    for (int i = 0; i < p->n; i++)
        p->values[i] = lo + i * step;
    p->lo = lo;
    p->hi = hi;
    p->step = step;
    return 0;
}

int sweep_space_log(sweep_space *s, const char *name, double lo, double hi, int n)
{
    if (!(lo > 0) || !(hi >= lo) || !isfinite(hi)) {
        cairn_error("sweep_space_log", "parameter '%s': needs 0 < lo <= hi (got %g, %g)", name ? name : "", lo, hi);
        return -1;
    }
    space_param *p = space_add("sweep_space_log", s, name, SPACE_LOG, n);
    if (!p)
        return -1;
    for (int i = 0; i < n; i++)
        p->values[i] = n == 1 ? lo : exp(log(lo) + (log(hi) - log(lo)) * i / (n - 1));
    if (n > 1)
        p->values[n - 1] = hi;
    p->lo = lo;
    p->hi = hi;
    return 0;
}

/* splitmix64: the sweep's own stream, so sampling neither uses nor moves the session's. */
static uint64_t mix_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static double mix_uniform(uint64_t *state) { return (double)(mix_next(state) >> 11) * 0x1.0p-53; }

static void sample(const sweep_space *s, uint64_t *state, double *out)
{
    for (int i = 0; i < s->n; i++) {
        const space_param *p = &s->p[i];
        double u = mix_uniform(state);
        if (p->kind == SPACE_LOG)
            out[i] = exp(log(p->lo) + (log(p->hi) - log(p->lo)) * u);
        else
            out[i] = p->values[(int)(u * p->n) < p->n ? (int)(u * p->n) : p->n - 1];
    }
}

/* ---- trials, in the child ---- */

double trial_param(const track_trial *t, const char *name)
{
    if (!t) {
        cairn_error("trial_param", "no trial (NULL)");
        return NAN;
    }
    for (int i = 0; i < t->space->n; i++)
        if (name && strcmp(t->space->p[i].name, name) == 0)
            return t->values[i];
    strbuf known = {0};
    for (int i = 0; i < t->space->n; i++)
        strbuf_printf(&known, "%s%s", i ? ", " : "", t->space->p[i].name);
    cairn_error("trial_param", "unknown parameter '%s'; this sweep's parameters are: %s", name ? name : "(null)",
                known.s ? known.s : "(none)");
    free(known.s);
    return NAN;
}

double trial_budget(const track_trial *t) { return t ? t->budget : 0; }

void trial_report(track_trial *t, const char *name, double value)
{
    if (!t || !name || !store_key_ok(name) || strlen(name) >= 64) {
        cairn_error("trial_report", "needs a trial and a metric name (letters, digits, _ - . /), got '%s'",
                    name ? name : "(null)");
        return;
    }
    int i = 0;
    while (i < t->nmetrics && strcmp(t->names[i], name) != 0)
        i++;
    if (i == t->nmetrics) {
        if (t->nmetrics == TRIAL_METRICS) {
            cairn_error("trial_report", "at most %d metrics per trial", TRIAL_METRICS);
            return;
        }
        t->nmetrics++;
        snprintf(t->names[i], sizeof t->names[i], "%s", name);
    }
    t->metrics[i] = value;
}

static int result_fd = -1;

static void write_all(int fd, const char *s, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, s, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        s += w;
        n -= (size_t)w;
    }
}

static void child_error(const char *message)
{
    char line[2200];
    int n = snprintf(line, sizeof line, "E %s\n", message);
    for (int i = 0; i < n - 1; i++)
        if (line[i] == '\n')
            line[i] = ' ';
    write_all(result_fd, line, (size_t)(n < (int)sizeof line ? n : (int)sizeof line - 1));
    fflush(stdout);
    fflush(stderr);
    _exit(3);
}

/* The points of reported metrics the trial did not log itself, at step = budget. */
static void log_reported(track_run_state *run, const track_trial *t)
{
    for (int i = 0; i < t->nmetrics; i++) {
        int logged = 0;
        for (int j = 0; j < run->nmetrics; j++)
            logged |= strcmp(run->metrics[j].key, t->names[i]) == 0;
        if (!logged) {
            run->nan_warned = 1; /* a NaN is reported as a failure, not warned about */
            run_metric("trial_report", run, t->names[i], t->metrics[i], (long)t->budget);
        }
    }
}

static void set_blas_threads(int n)
{
    void (*set)(int) = (void (*)(int))dlsym(RTLD_DEFAULT, "openblas_set_num_threads");
    if (set)
        set(n);
}

static int blas_threads(void)
{
    int (*get)(void) = (int (*)(void))dlsym(RTLD_DEFAULT, "openblas_get_num_threads");
    return get ? get() : 1;
}

/* A trial process ("worker"): forked once per slot, it runs trials the parent sends over
 * its socket until the socket closes. Before each trial the session generator is put back
 * to its state at the fork, so a trial's random numbers do not depend on which trials ran
 * before it in the same process. After a trial that crashed (the process is gone), asked
 * for a fresh process (opt.fresh_process), or left runtime memory allocated (a leaking
 * trial would grow the worker), the worker ends and the parent forks a new one. */
typedef struct trial_msg {
    int index;
    int nparams;
    double budget;
    track_run_state run; /* made by the parent: plain data, its metric files not open yet */
    double values[64];
} trial_msg;

static int read_full(int fd, void *buf, size_t n)
{
    char *p = buf;
    while (n > 0) {
        ssize_t r = read(fd, p, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

static void worker_main(track_trial_fn fn, const sweep_space *space, int fd, int fresh)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    static const int fatal[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGTRAP, SIGSYS};
    for (size_t i = 0; i < sizeof fatal / sizeof fatal[0]; i++)
        signal(fatal[i], SIG_DFL);
    signal(SIGINT, SIG_IGN);
    signal(SIGALRM, SIG_DFL);
    signal(SIGPIPE, SIG_DFL);
    result_fd = fd;
    cairn_set_error_handler(child_error);
    display_set_sink(NULL);
    track_run_state *parent_active = track_active_run();
    if (parent_active)
        run_close_metrics(parent_active, 0);
    rng_snapshot rng = rng_save();
    size_t bytes = cairn_bytes_in_use();
    static trial_msg m;
    static track_run_state run;
    for (;;) {
        if (read_full(fd, &m, offsetof(trial_msg, values)) != 0 || m.nparams < 0 || m.nparams > 64 ||
            read_full(fd, m.values, (size_t)m.nparams * sizeof m.values[0]) != 0)
            _exit(0); /* the parent closed the socket: no more trials */
        rng_restore(rng);
        run = m.run;
        track_trial t = {space, m.values, m.budget, {{0}}, {0}, 0};
        track_set_active_run(&run);
        fn(&t);
        log_reported(&run, &t);
        run_close_metrics(&run, 1);
        track_set_active_run(NULL);
        int last = fresh || cairn_bytes_in_use() != bytes;
        strbuf b = {0};
        for (int i = 0; i < t.nmetrics; i++)
            strbuf_printf(&b, "M %s %.17g\n", t.names[i], t.metrics[i]);
        strbuf_printf(&b, last ? "Q\n" : "D\n");
        fflush(stdout);
        fflush(stderr);
        if (b.s)
            write_all(fd, b.s, b.len);
        free(b.s);
        if (last)
            _exit(0);
    }
}

/* ---- running a batch of trials ---- */

typedef struct slot {
    pid_t pid;    /* the worker process, 0 when none */
    int fd;       /* socket to it (trials out, results in), -1 when closed */
    int index;    /* trial it runs (into result->t), -1 when idle */
    int retiring; /* it said it ends after this trial: send it no more */
    track_run_state run;
    strbuf out;
    double started;
    int killed_for; /* 0, 1 timeout, 2 interrupt */
} slot;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static trial_rec *result_add(sweep_result *r, const double *values, double budget)
{
    if (r->n == r->cap) {
        int cap = r->cap ? r->cap * 2 : 16;
        trial_rec *g = realloc(r->t, (size_t)cap * sizeof *g);
        if (!g)
            return NULL;
        r->t = g;
        r->cap = cap;
    }
    trial_rec *t = &r->t[r->n];
    memset(t, 0, sizeof *t);
    t->values = malloc((size_t)(r->nparams ? r->nparams : 1) * sizeof *t->values);
    if (!t->values)
        return NULL;
    memcpy(t->values, values, (size_t)r->nparams * sizeof *values);
    t->budget = budget;
    r->n++;
    return t;
}

static double rank_value(const sweep_result *r, const trial_rec *t)
{
    if (t->status != RUN_FINISHED)
        return NAN;
    for (int i = 0; i < t->nmetrics; i++)
        if (strcmp(t->names[i], r->metric) == 0)
            return t->metrics[i];
    return NAN;
}

/* Is a better than b under the sweep's direction (NaN never better)? */
static int better(const sweep_result *r, double a, double b)
{
    if (isnan(a))
        return 0;
    if (isnan(b))
        return 1;
    return r->maximize ? a > b : a < b;
}

/* Decide a finished child's status from how it ended and what it sent. */
static void finish_trial(sweep_result *res, slot *s, int wstatus, track_run_state *parent)
{
    trial_rec *t = &res->t[s->index];
    int done = 0;
    char *text = s->out.s ? s->out.s : "";
    for (char *line = text; *line;) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        if (line[0] == 'D' || line[0] == 'Q') /* done (Q: and the worker ends) */
            done = 1;
        else if (line[0] == 'E' && line[1] == ' ')
            snprintf(t->error, sizeof t->error, "%s", line + 2);
        else if (line[0] == 'M' && line[1] == ' ' && t->nmetrics < TRIAL_METRICS) {
            char *sp = strrchr(line + 2, ' ');
            if (sp) {
                *sp = '\0';
                snprintf(t->names[t->nmetrics], sizeof t->names[0], "%s", line + 2);
                t->metrics[t->nmetrics++] = strtod(sp + 1, NULL);
            }
        }
        if (!nl)
            break;
        line = nl + 1;
    }
    t->status = RUN_FAILED;
    if (s->killed_for == 2) {
        t->status = RUN_KILLED;
        snprintf(t->error, sizeof t->error, "interrupted");
    } else if (s->killed_for == 1) {
        snprintf(t->error, sizeof t->error, "timed out");
    } else if (WIFSIGNALED(wstatus)) {
        int sig = WTERMSIG(wstatus);
        snprintf(t->error, sizeof t->error, "killed by signal %d (SIG%s)%s", sig, sigabbrev_np(sig) ? sigabbrev_np(sig) : "?",
                 sig == SIGKILL ? ": out of memory (OOM killer) or killed from outside" : "");
    } else if (!t->error[0] && !(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0 && done)) {
        snprintf(t->error, sizeof t->error, "the trial exited with status %d before returning",
                 WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1);
    } else if (!t->error[0]) {
        t->status = RUN_FINISHED;
        for (int i = 0; i < t->nmetrics; i++)
            if (isnan(t->metrics[i]) || isinf(t->metrics[i])) {
                t->status = RUN_FAILED;
                snprintf(t->error, sizeof t->error, "metric %s is %s", t->names[i], isnan(t->metrics[i]) ? "NaN" : "infinite");
                break;
            }
        if (t->status == RUN_FINISHED && isnan(rank_value(res, t)) && res->metric[0]) {
            t->status = RUN_FAILED;
            snprintf(t->error, sizeof t->error, "did not report metric %s", res->metric);
        }
    }
    if (t->status != RUN_FINISHED)
        run_tag("sweep", &s->run, "cairn.error", t->error);
    run_finish("sweep", &s->run, t->status);
    res->total_budget += t->budget;
    (void)parent;
}

static void render_table(const sweep_result *r, strbuf *text, strbuf *html, int live_total);

/* After each finished trial: the progress bar and the live table. */
static void after_trial(const sweep_result *res, progress *bar, const char *live_id, int finished, int total)
{
    if (bar) {
        int b = sweep_best(res);
        if (b >= 0)
            progress_status(bar, "best %s %.6g (trial %d)", res->metric, rank_value(res, &res->t[b]), b + 1);
        progress_update(bar, finished);
    }
    if (live_id) {
        strbuf text = {0}, html = {0};
        render_table(res, &text, &html, total);
        if (text.s && html.s) {
            display_part parts[2] = {{"text/html", html.s, html.len}, {"text/plain", text.s, text.len}};
            display_update_bundle(parts, 2, live_id);
        }
        free(text.s);
        free(html.s);
    }
}

/* Is s->out one whole trial record (its last line "D", or "Q" when the worker ends after it)? */
static int record_complete(const strbuf *out, int *quit)
{
    if (!out->s || out->len < 2 || out->s[out->len - 1] != '\n')
        return 0;
    char c = out->s[out->len - 2];
    if ((c != 'D' && c != 'Q') || (out->len > 2 && out->s[out->len - 3] != '\n'))
        return 0;
    *quit = c == 'Q';
    return 1;
}

/* A trial's record arrived: the trial finished (its metrics decide FINISHED or FAILED). */
static void take_record(sweep_result *res, slot *s, int quit, track_run_state *parent, int *busy)
{
    s->killed_for = 0;
    finish_trial(res, s, 0, parent);
    free(s->out.s);
    memset(&s->out, 0, sizeof s->out);
    s->index = -1;
    s->retiring |= quit;
    --*busy;
}

/* Append what the worker wrote; returns 0 at end of file or error (or, with `drain`,
 * when nothing more is there: a process the trial forked may still hold the socket). */
static int read_some(slot *s, int drain)
{
    char buf[4096];
    ssize_t n = recv(s->fd, buf, sizeof buf, drain ? MSG_DONTWAIT : 0);
    if (n > 0) {
        strbuf_printf(&s->out, "%.*s", (int)n, buf);
        return 1;
    }
    return n < 0 && (errno == EINTR || (!drain && errno == EAGAIN));
}

/* The run of trial i, nested under the sweep's run: the notebook's parameters (read with
 * param_double & co. before the sweep), then the trial's own parameters, which replace a
 * notebook parameter of the same name, and its budget. */
static int trial_run_create(sweep_result *res, int i, const sweep_space *space, track_run_state *parent,
                            track_run_state *run)
{
    trial_rec *t = &res->t[i];
    char name[64];
    snprintf(name, sizeof name, "trial %d", i + 1);
    if (run_create("sweep", run, parent->exp_id, name, parent->id) != 0)
        return -1;
    snprintf(t->run_id, sizeof t->run_id, "%s", run->id);
    params_log_to(run);
    char v[64];
    for (int k = 0; k < space->n; k++) {
        track_format_number(t->values[k], v, sizeof v);
        run_param("sweep", run, space->p[k].name, v);
    }
    if (t->budget > 0) {
        track_format_number(t->budget, v, sizeof v);
        run_param("sweep", run, "trial_budget", v);
    }
    return 0;
}

/* Fork the worker of slot k; 0 or -1 (cairn_error). */
static int start_worker(slot *slots, int procs, int k, track_trial_fn fn, const sweep_space *space, int fresh)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
        cairn_error("sweep", "socketpair: %s", strerror(errno));
        return -1;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        close(sv[0]);
        close(sv[1]);
        cairn_error("sweep", "fork: %s", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        close(sv[0]);
        for (int i = 0; i < procs; i++)
            if (slots[i].pid > 0 && slots[i].fd >= 0)
                close(slots[i].fd);
        worker_main(fn, space, sv[1], fresh);
    }
    close(sv[1]);
    slots[k].pid = pid;
    slots[k].fd = sv[0];
    slots[k].index = -1;
    slots[k].retiring = 0;
    return 0;
}

/* Run trials [first, res->n) of res, at most `procs` at a time, in worker processes that
 * each run trials one after another (a fork per worker, not per trial: on this kind of
 * machine fork and the page faults after it cost ~10 ms of CPU for a 100 MB session). */
static void run_batch(sweep_result *res, int first, const sweep_space *space, track_trial_fn fn, const sweep_options *opt,
                      track_run_state *parent, progress *bar, const char *live_id, int *finished, int total)
{
    int procs = opt->processes > 0 ? opt->processes : 1;
    if (procs > 64)
        procs = 64;
    int threads = blas_threads() / procs;
    if (threads < 1)
        threads = 1;
    slot *slots = calloc((size_t)procs, sizeof *slots);
    if (!slots) {
        cairn_error("sweep", "out of memory");
        return;
    }
    for (int i = 0; i < procs; i++) {
        slots[i].fd = -1;
        slots[i].index = -1;
    }
    int next = first;
    if (opt->in_process) {
        slot *s = &slots[0];
        for (; next < res->n && !cairn_interrupted(); next++) {
            trial_rec *t = &res->t[next];
            if (trial_run_create(res, next, space, parent, &s->run) != 0) {
                res->n = next;
                break;
            }
            track_trial tr = {space, t->values, t->budget, {{0}}, {0}, 0};
            track_run_state *saved = track_active_run();
            track_set_active_run(&s->run);
            fn(&tr);
            log_reported(&s->run, &tr);
            track_set_active_run(saved);
            strbuf b = {0};
            for (int i = 0; i < tr.nmetrics; i++)
                strbuf_printf(&b, "M %s %.17g\n", tr.names[i], tr.metrics[i]);
            strbuf_printf(&b, "D\n");
            s->out = b;
            s->index = next;
            finish_trial(res, s, 0, parent);
            free(s->out.s);
            memset(&s->out, 0, sizeof s->out);
            (*finished)++;
            after_trial(res, bar, live_id, *finished, total);
        }
        if (next < res->n && cairn_interrupted())
            res->interrupted = 1;
        free(slots);
        if (res->interrupted) {
            for (int i = next; i < res->n; i++)
                free(res->t[i].values);
            res->n = next;
        }
        return;
    }
    /* The children inherit the divided thread count: set here once, not in each child,
     * where openblas_set_num_threads would first restart the pool the fork shut down. */
    int saved_threads = blas_threads();
    if (threads != saved_threads)
        set_blas_threads(threads);
    int busy = 0, live = 0;
    for (;;) {
        if (cairn_interrupted() && !res->interrupted) {
            res->interrupted = 1;
            for (int i = 0; i < procs; i++)
                if (slots[i].pid > 0) {
                    kill(slots[i].pid, SIGKILL);
                    slots[i].killed_for = slots[i].index >= 0 ? 2 : 0;
                }
        }
        /* hand out trials: to idle workers first, else fork one in a free slot */
        while (!res->interrupted && next < res->n) {
            int k = -1;
            for (int i = 0; i < procs && k < 0; i++)
                if (slots[i].pid > 0 && slots[i].index < 0 && !slots[i].retiring && slots[i].fd >= 0)
                    k = i;
            for (int i = 0; i < procs && k < 0; i++)
                if (slots[i].pid == 0)
                    k = i;
            if (k < 0)
                break;
            slot *s = &slots[k];
            if (trial_run_create(res, next, space, parent, &s->run) != 0) {
                res->n = next; /* the store is failing: stop here, keep what finished */
                break;
            }
            if (s->pid == 0) {
                if (start_worker(slots, procs, k, fn, space, opt->fresh_process) != 0) {
                    run_tag("sweep", &s->run, "cairn.error", "could not start a trial process");
                    run_finish("sweep", &s->run, RUN_FAILED);
                    res->n = next;
                    break;
                }
                live++;
            }
            trial_rec *t = &res->t[next];
            static trial_msg m;
            memset(&m, 0, sizeof m);
            m.index = next;
            m.nparams = space->n;
            m.budget = t->budget;
            m.run = s->run;
            memcpy(m.values, t->values, (size_t)space->n * sizeof m.values[0]);
            size_t len = offsetof(trial_msg, values) + (size_t)space->n * sizeof m.values[0];
            /* A worker that died meanwhile shows as this trial's failure when it is reaped. */
            for (size_t sent = 0; sent < len;) {
                ssize_t w = send(s->fd, (char *)&m + sent, len - sent, MSG_NOSIGNAL);
                if (w < 0 && errno == EINTR)
                    continue;
                if (w <= 0)
                    break;
                sent += (size_t)w;
            }
            s->index = next++;
            s->started = now_s();
            s->killed_for = 0;
            busy++;
        }
        /* nothing left to hand out: idle workers end when their socket closes */
        if (next >= res->n || res->interrupted)
            for (int i = 0; i < procs; i++)
                if (slots[i].pid > 0 && slots[i].index < 0 && slots[i].fd >= 0) {
                    close(slots[i].fd);
                    slots[i].fd = -1;
                }
        if (live == 0)
            break;
        /* wait for output or an end */
        struct pollfd pf[64];
        int map[64], np = 0;
        for (int i = 0; i < procs; i++)
            if (slots[i].pid > 0 && slots[i].fd >= 0) {
                pf[np].fd = slots[i].fd;
                pf[np].events = POLLIN;
                map[np++] = i;
            }
        poll(pf, (nfds_t)np, np ? 50 : 5);
        for (int j = 0; j < np; j++) {
            if (!(pf[j].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            slot *s = &slots[map[j]];
            int quit;
            if (!read_some(s, 0)) {
                close(s->fd);
                s->fd = -1;
            } else if (s->index >= 0 && record_complete(&s->out, &quit)) {
                take_record(res, s, quit, parent, &busy);
                (*finished)++;
                after_trial(res, bar, live_id, *finished, total);
            }
        }
        for (int i = 0; i < procs; i++) {
            slot *s = &slots[i];
            if (s->pid <= 0)
                continue;
            if (opt->timeout > 0 && s->index >= 0 && !s->killed_for && now_s() - s->started > opt->timeout) {
                kill(s->pid, SIGKILL);
                s->killed_for = 1;
            }
            int ws;
            pid_t w = waitpid(s->pid, &ws, WNOHANG);
            if (w != s->pid)
                continue;
            if (s->fd >= 0) { /* what the worker wrote before it ended */
                while (read_some(s, 1) > 0)
                    ;
                close(s->fd);
                s->fd = -1;
            }
            if (s->index >= 0) {
                int quit;
                if (record_complete(&s->out, &quit) && WIFEXITED(ws)) {
                    take_record(res, s, quit, parent, &busy);
                } else {
                    finish_trial(res, s, ws, parent);
                    free(s->out.s);
                    memset(&s->out, 0, sizeof s->out);
                    s->index = -1;
                    busy--;
                }
                (*finished)++;
                after_trial(res, bar, live_id, *finished, total);
            }
            free(s->out.s);
            memset(s, 0, sizeof *s);
            s->fd = -1;
            s->index = -1;
            live--;
        }
    }
    if (threads != saved_threads)
        set_blas_threads(saved_threads);
    if (res->interrupted) { /* trials that never started are not part of the result */
        for (int i = next; i < res->n; i++)
            free(res->t[i].values);
        res->n = next;
    }
    free(slots);
}


/* ---- the three searches ---- */

static sweep_result *result_new(const char *kind, const sweep_space *s, const sweep_options *opt)
{
    sweep_result *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    snprintf(r->kind, sizeof r->kind, "%s", kind);
    r->nparams = s->n;
    r->names = calloc((size_t)(s->n ? s->n : 1), sizeof *r->names);
    for (int i = 0; r->names && i < s->n; i++)
        snprintf(r->names[i], sizeof r->names[i], "%s", s->p[i].name);
    snprintf(r->metric, sizeof r->metric, "%s", opt->metric ? opt->metric : "");
    r->maximize = opt->maximize;
    return r;
}

static int check_args(const char *func, sweep_space *s, track_trial_fn fn, const sweep_options *opt)
{
    if (!s || !fn) {
        cairn_error(func, "needs a search space and a trial function (got %s, %s)", s ? "a space" : "NULL",
                    fn ? "a function" : "NULL");
        return -1;
    }
    if (s->n == 0) {
        cairn_error(func, "the search space has no parameters (an empty grid): add some with sweep_space_values, "
                          "sweep_space_range or sweep_space_log");
        return -1;
    }
    if (opt->metric && (!*opt->metric || strlen(opt->metric) >= 64)) {
        cairn_error(func, "metric name must be 1-63 characters");
        return -1;
    }
    if (opt->processes < 0 || opt->trials < 0 || opt->timeout < 0) {
        cairn_error(func, "processes, trials and timeout cannot be negative (%d, %d, %g)", opt->processes, opt->trials,
                    opt->timeout);
        return -1;
    }
    return 0;
}

/* Parent run, live outputs, the batches, then the parent run's summary. */
typedef struct sweep_ctx {
    track_run_state parent;
    progress *bar;
    char live_id[64];
    int finished, total;
    char exp_id[32];
} sweep_ctx;

static int sweep_begin(const char *func, sweep_ctx *c, sweep_result *r, const sweep_options *opt, int total)
{
    memset(c, 0, sizeof *c);
    if (opt->experiment) {
        if (store_experiment_id(func, opt->experiment, 1, c->exp_id, sizeof c->exp_id) != 0)
            return -1;
    } else {
        const char *id = track_experiment_id();
        if (!id)
            return -1;
        snprintf(c->exp_id, sizeof c->exp_id, "%s", id);
    }
    char name[64];
    snprintf(name, sizeof name, "%s sweep", r->kind);
    if (run_create(func, &c->parent, c->exp_id, name, NULL) != 0)
        return -1;
    run_param(func, &c->parent, "sweep", r->kind);
    if (r->metric[0])
        run_param(func, &c->parent, "rank_metric", r->metric);
    c->total = total;
    if (!opt->quiet) {
        c->bar = progress_start(total, name);
        snprintf(c->live_id, sizeof c->live_id, "%s", display_new_id());
        static const char waiting[] = "(trials appear here as they finish)";
        display_part p = {"text/plain", waiting, sizeof waiting - 1};
        display_bundle(&p, 1, c->live_id);
    }
    return 0;
}

static void sweep_end(sweep_ctx *c, sweep_result *r)
{
    int b = sweep_best(r);
    if (b >= 0) {
        char metric[80];
        snprintf(metric, sizeof metric, "best_%s", r->metric);
        run_metric("sweep", &c->parent, metric, rank_value(r, &r->t[b]), 0);
        run_tag("sweep", &c->parent, "cairn.best_run", r->t[b].run_id);
    }
    run_metric("sweep", &c->parent, "total_budget", r->total_budget, 0);
    run_finish("sweep", &c->parent, r->interrupted ? RUN_KILLED : RUN_FINISHED);
    if (c->bar)
        progress_finish(c->bar);
    if (r->interrupted)
        fprintf(stderr, "sweep: interrupted; %d trial%s finished and kept\n", c->finished, c->finished == 1 ? "" : "s");
}

static void default_metric(sweep_result *r)
{
    if (r->metric[0])
        return;
    for (int i = 0; i < r->n && !r->metric[0]; i++)
        if (r->t[i].status == RUN_FINISHED && r->t[i].nmetrics)
            snprintf(r->metric, sizeof r->metric, "%s", r->t[i].names[0]);
}

sweep_result *sweep_grid(sweep_space *s, track_trial_fn fn, sweep_options opt)
{
    if (check_args("sweep_grid", s, fn, &opt) != 0)
        return NULL;
    double total = 1;
    for (int i = 0; i < s->n; i++)
        total *= s->p[i].n;
    if (total > 1000000) {
        cairn_error("sweep_grid", "the grid has %.0f configurations; use sweep_random or sweep_halving", total);
        return NULL;
    }
    sweep_result *r = result_new("grid", s, &opt);
    if (!r) {
        cairn_error("sweep_grid", "out of memory");
        return NULL;
    }
    double values[64];
    if (s->n > 64) {
        cairn_error("sweep_grid", "at most 64 parameters (got %d)", s->n);
        sweep_free(r);
        return NULL;
    }
    for (int k = 0; k < (int)total; k++) {
        int rem = k;
        for (int i = s->n - 1; i >= 0; i--) { /* last parameter varies fastest */
            values[i] = s->p[i].values[rem % s->p[i].n];
            rem /= s->p[i].n;
        }
        result_add(r, values, opt.max_budget);
    }
    sweep_ctx c;
    if (sweep_begin("sweep_grid", &c, r, &opt, r->n) != 0) {
        sweep_free(r);
        return NULL;
    }
    run_batch(r, 0, s, fn, &opt, &c.parent, c.bar, opt.quiet ? NULL : c.live_id, &c.finished, c.total);
    default_metric(r);
    sweep_end(&c, r);
    return r;
}

sweep_result *sweep_random(sweep_space *s, track_trial_fn fn, sweep_options opt)
{
    if (check_args("sweep_random", s, fn, &opt) != 0)
        return NULL;
    if (s->n > 64) {
        cairn_error("sweep_random", "at most 64 parameters (got %d)", s->n);
        return NULL;
    }
    int n = opt.trials ? opt.trials : 10;
    sweep_result *r = result_new("random", s, &opt);
    if (!r) {
        cairn_error("sweep_random", "out of memory");
        return NULL;
    }
    uint64_t state = opt.seed;
    double values[64];
    for (int k = 0; k < n; k++) {
        sample(s, &state, values);
        result_add(r, values, opt.max_budget);
    }
    sweep_ctx c;
    if (sweep_begin("sweep_random", &c, r, &opt, n) != 0) {
        sweep_free(r);
        return NULL;
    }
    char seed[24];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)opt.seed);
    run_param("sweep_random", &c.parent, "seed", seed);
    run_batch(r, 0, s, fn, &opt, &c.parent, c.bar, opt.quiet ? NULL : c.live_id, &c.finished, c.total);
    default_metric(r);
    sweep_end(&c, r);
    return r;
}

typedef struct ranked {
    int index;
    double value;
    const sweep_result *r;
} ranked;

static int cmp_ranked(const void *pa, const void *pb)
{
    const ranked *a = pa, *b = pb;
    if (better(a->r, a->value, b->value))
        return -1;
    if (better(a->r, b->value, a->value))
        return 1;
    return a->index - b->index;
}

/* The next rung: the best `keep` finished trials of r->t[first, first + m) again at
 * `budget` (fewer when fewer finished); returns how many went on. */
static int promote(sweep_result *r, int first, int m, int keep, double budget)
{
    ranked *rk = malloc((size_t)(m > 0 ? m : 1) * sizeof *rk);
    if (!rk)
        return 0;
    for (int i = 0; i < m; i++)
        rk[i] = (ranked){first + i, rank_value(r, &r->t[first + i]), r};
    qsort(rk, (size_t)m, sizeof *rk, cmp_ranked);
    int alive = 0;
    for (int i = 0; i < m; i++)
        alive += !isnan(rk[i].value);
    if (keep > alive)
        keep = alive;
    double values[64];
    for (int i = 0; i < keep; i++) {
        /* result_add may move r->t: copy the values out first */
        memcpy(values, r->t[rk[i].index].values, (size_t)r->nparams * sizeof *values);
        if (!result_add(r, values, budget)) {
            keep = i;
            break;
        }
    }
    free(rk);
    return keep;
}

sweep_result *sweep_halving(sweep_space *s, track_trial_fn fn, sweep_options opt)
{
    if (check_args("sweep_halving", s, fn, &opt) != 0)
        return NULL;
    if (!opt.metric) {
        cairn_error("sweep_halving", "needs opt.metric: the metric that decides which trials go on");
        return NULL;
    }
    double b0 = opt.min_budget > 0 ? opt.min_budget : 1, bmax = opt.max_budget > 0 ? opt.max_budget : 27;
    double eta = opt.eta > 0 ? opt.eta : 3;
    if (bmax < b0 || eta <= 1 || s->n > 64) {
        cairn_error("sweep_halving", "needs 0 < min_budget <= max_budget, eta > 1 and at most 64 parameters "
                                     "(got %g, %g, %g, %d)", b0, bmax, eta, s->n);
        return NULL;
    }
    sweep_result *r = result_new("halving", s, &opt);
    if (!r) {
        cairn_error("sweep_halving", "out of memory");
        return NULL;
    }
    /* configurations: opt.trials random ones, or the whole grid when trials is 0 */
    double values[64];
    int n;
    if (opt.trials) {
        n = opt.trials;
        uint64_t state = opt.seed;
        for (int k = 0; k < n; k++) {
            sample(s, &state, values);
            result_add(r, values, b0);
        }
    } else {
        double total = 1;
        for (int i = 0; i < s->n; i++)
            total *= s->p[i].n;
        if (total > 100000) {
            cairn_error("sweep_halving", "the grid has %.0f configurations; set opt.trials to sample some", total);
            sweep_free(r);
            return NULL;
        }
        n = (int)total;
        for (int k = 0; k < n; k++) {
            int rem = k;
            for (int i = s->n - 1; i >= 0; i--) {
                values[i] = s->p[i].values[rem % s->p[i].n];
                rem /= s->p[i].n;
            }
            result_add(r, values, b0);
        }
    }
    /* total trials of the schedule, for the progress bar */
    int total = 0;
    for (double b = b0, m = n;; b *= eta) {
        total += (int)m;
        if (b >= bmax || m <= 1)
            break;
        m = ceil(m / eta);
    }
    sweep_ctx c;
    if (sweep_begin("sweep_halving", &c, r, &opt, total) != 0) {
        sweep_free(r);
        return NULL;
    }
    int first = 0;
    double budget = b0;
    for (;;) {
        run_batch(r, first, s, fn, &opt, &c.parent, c.bar, opt.quiet ? NULL : c.live_id, &c.finished, c.total);
        int m = r->n - first;
        if (r->interrupted || budget >= bmax || m <= 1)
            break;
        budget = fmin(budget * eta, bmax);
        int next_first = r->n;
        if (promote(r, first, m, (int)ceil(m / eta), budget) == 0)
            break;
        first = next_first;
    }
    sweep_end(&c, r);
    return r;
}

/* Hyperband (Li, Jamieson, DeSalvo, Rostamizadeh & Talwalkar, JMLR 2018): successive
 * halving in s_max + 1 brackets that trade the number of configurations against the
 * budget each starts with, because which is better depends on how early the ranking of
 * configurations settles, and that is not known in advance. With R = max_budget,
 * r = min_budget and s_max = floor(log_eta(R / r)), bracket s (s_max down to 0) draws
 * n = ceil((s_max + 1) / (s + 1) * eta^s) configurations and runs them at R * eta^-s;
 * rung i keeps the best floor(n_i / eta) (at least 1) with eta times the budget, until R.
 * Bracket s_max is the most aggressive halving; bracket 0 is random search at full
 * budget. All configurations come from one seeded stream, bracket after bracket. */
static int hyperband_rungs(int smax, double eta, int *sizes, int max_sizes)
{
    int count = 0;
    for (int b = smax; b >= 0; b--) {
        int n = (int)ceil((smax + 1.0) / (b + 1) * pow(eta, b) - 1e-9);
        for (int i = 0; i <= b && count < max_sizes; i++) {
            sizes[count++] = n;
            n = (int)floor(n / eta) > 0 ? (int)floor(n / eta) : 1;
        }
    }
    return count;
}

sweep_result *sweep_hyperband(sweep_space *s, track_trial_fn fn, sweep_options opt)
{
    if (check_args("sweep_hyperband", s, fn, &opt) != 0)
        return NULL;
    if (!opt.metric) {
        cairn_error("sweep_hyperband", "needs opt.metric: the metric that decides which trials go on");
        return NULL;
    }
    double r0 = opt.min_budget > 0 ? opt.min_budget : 1, bmax = opt.max_budget > 0 ? opt.max_budget : 27;
    double eta = opt.eta > 0 ? opt.eta : 3;
    if (bmax < r0 || eta <= 1 || s->n > 64) {
        cairn_error("sweep_hyperband", "needs 0 < min_budget <= max_budget, eta > 1 and at most 64 parameters "
                                       "(got %g, %g, %g, %d)", r0, bmax, eta, s->n);
        return NULL;
    }
    int smax = (int)floor(log(bmax / r0) / log(eta) + 1e-9);
    if (smax > 12) {
        cairn_error("sweep_hyperband", "max_budget / min_budget = %g gives %d brackets; at most 13 (raise eta or min_budget)",
                    bmax / r0, smax + 1);
        return NULL;
    }
    int sizes[128], nrungs = hyperband_rungs(smax, eta, sizes, 128), total = 0;
    for (int i = 0; i < nrungs; i++)
        total += sizes[i];
    if (total > 100000) {
        cairn_error("sweep_hyperband", "the schedule has %d trials; raise eta or min_budget", total);
        return NULL;
    }
    sweep_result *r = result_new("hyperband", s, &opt);
    if (!r) {
        cairn_error("sweep_hyperband", "out of memory");
        return NULL;
    }
    sweep_ctx c;
    if (sweep_begin("sweep_hyperband", &c, r, &opt, total) != 0) {
        sweep_free(r);
        return NULL;
    }
    char text[32];
    snprintf(text, sizeof text, "%llu", (unsigned long long)opt.seed);
    run_param("sweep_hyperband", &c.parent, "seed", text);
    snprintf(text, sizeof text, "%d", smax + 1);
    run_param("sweep_hyperband", &c.parent, "brackets", text);
    track_format_number(eta, text, sizeof text);
    run_param("sweep_hyperband", &c.parent, "eta", text);
    uint64_t state = opt.seed;
    double values[64];
    for (int b = smax; b >= 0 && !r->interrupted; b--) {
        int n = (int)ceil((smax + 1.0) / (b + 1) * pow(eta, b) - 1e-9);
        int first = r->n;
        for (int k = 0; k < n; k++) {
            sample(s, &state, values);
            result_add(r, values, bmax * pow(eta, -b));
        }
        for (int i = 0;; i++) {
            run_batch(r, first, s, fn, &opt, &c.parent, c.bar, opt.quiet ? NULL : c.live_id, &c.finished, c.total);
            int m = r->n - first;
            if (r->interrupted || i == b || m <= 0)
                break;
            int next_first = r->n;
            int keep = (int)floor(m / eta) > 0 ? (int)floor(m / eta) : 1;
            /* the last rung runs at exactly max_budget, whatever rounding the powers did */
            if (promote(r, first, m, keep, i + 1 == b ? bmax : bmax * pow(eta, -(b - i - 1))) == 0)
                break;
            first = next_first;
        }
    }
    sweep_end(&c, r);
    return r;
}

/* ---- results ---- */

int sweep_count(const sweep_result *r) { return r ? r->n : 0; }

int sweep_best(const sweep_result *r)
{
    if (!r)
        return -1;
    /* Under halving only the highest budget reached compares fairly. */
    double top = 0;
    for (int i = 0; i < r->n; i++)
        if (r->t[i].status == RUN_FINISHED && r->t[i].budget > top)
            top = r->t[i].budget;
    int best = -1;
    for (int i = 0; i < r->n; i++) {
        if (r->t[i].budget != top)
            continue;
        double v = rank_value(r, &r->t[i]);
        if (!isnan(v) && (best < 0 || better(r, v, rank_value(r, &r->t[best]))))
            best = i;
    }
    return best;
}

static int index_ok(const char *func, const sweep_result *r, int i)
{
    if (r && i >= 0 && i < r->n)
        return 1;
    cairn_error(func, "trial index %d out of range (the sweep has %d trials)", i, r ? r->n : 0);
    return 0;
}

double sweep_param(const sweep_result *r, int i, const char *name)
{
    if (!index_ok("sweep_param", r, i))
        return NAN;
    for (int k = 0; k < r->nparams; k++)
        if (name && strcmp(r->names[k], name) == 0)
            return r->t[i].values[k];
    return NAN;
}

double sweep_metric(const sweep_result *r, int i, const char *name)
{
    if (!index_ok("sweep_metric", r, i) || r->t[i].status != RUN_FINISHED)
        return NAN;
    for (int k = 0; k < r->t[i].nmetrics; k++)
        if (name && strcmp(r->t[i].names[k], name) == 0)
            return r->t[i].metrics[k];
    return NAN;
}

const char *sweep_status(const sweep_result *r, int i)
{
    return index_ok("sweep_status", r, i) ? store_status_name(r->t[i].status) : "";
}

const char *sweep_error(const sweep_result *r, int i)
{
    return index_ok("sweep_error", r, i) ? r->t[i].error : "";
}

double sweep_budget(const sweep_result *r, int i)
{
    return index_ok("sweep_budget", r, i) ? r->t[i].budget : NAN;
}

double sweep_total_budget(const sweep_result *r) { return r ? r->total_budget : 0; }

const char *sweep_run_id(const sweep_result *r, int i)
{
    return index_ok("sweep_run_id", r, i) ? r->t[i].run_id : "";
}

void sweep_free(sweep_result *r)
{
    if (!r)
        return;
    for (int i = 0; i < r->n; i++)
        free(r->t[i].values);
    free(r->t);
    free(r->names);
    free(r);
}

static int order_of(const sweep_result *r, int *idx)
{
    int n = 0;
    for (int i = 0; i < r->n; i++)
        if (r->t[i].status)
            idx[n++] = i;
    for (int a = 1; a < n; a++)
        for (int b = a; b > 0; b--) {
            const trial_rec *x = &r->t[idx[b - 1]], *y = &r->t[idx[b]];
            double vx = rank_value(r, x), vy = rank_value(r, y);
            int swap = x->budget < y->budget || (x->budget == y->budget && better(r, vy, vx));
            if (!swap)
                break;
            int s = idx[b];
            idx[b] = idx[b - 1];
            idx[b - 1] = s;
        }
    return n;
}

static void render_table(const sweep_result *r, strbuf *text, strbuf *html, int live_total)
{
    int *idx = malloc((size_t)(r->n ? r->n : 1) * sizeof *idx);
    if (!idx)
        return;
    int n = order_of(r, idx);
    int failed = 0;
    for (int i = 0; i < n; i++)
        failed += r->t[idx[i]].status != RUN_FINISHED;
    strbuf_printf(text, "%s sweep: %d of %d trials done, %d failed%s; best first by %s (%s)\n", r->kind, n,
              live_total ? live_total : r->n, failed, r->interrupted ? ", interrupted" : "",
              r->metric[0] ? r->metric : "(none)", r->maximize ? "higher is better" : "lower is better");
    strbuf_printf(html, "<div class=\"cairn-sweep\"><p>%s sweep: %d of %d trials done, %d failed%s; best first by <code>", r->kind,
              n, live_total ? live_total : r->n, failed, r->interrupted ? ", <b>interrupted</b>" : "");
    strbuf_html(html, r->metric[0] ? r->metric : "(none)");
    strbuf_printf(html, "</code> (%s)</p><table><thead><tr><th>trial</th><th>status</th>",
              r->maximize ? "higher is better" : "lower is better");
    int has_budget = 0;
    for (int i = 0; i < r->n; i++)
        has_budget |= r->t[i].budget > 0;
    strbuf_printf(text, "%-6s %-9s", "trial", "status");
    if (has_budget) {
        strbuf_printf(text, " %8s", "budget");
        strbuf_printf(html, "<th>budget</th>");
    }
    strbuf_printf(text, " %12s", r->metric[0] ? r->metric : "metric");
    strbuf_printf(html, "<th>");
    strbuf_html(html, r->metric[0] ? r->metric : "metric");
    strbuf_printf(html, "</th>");
    for (int k = 0; k < r->nparams; k++) {
        strbuf_printf(text, " %12.12s", r->names[k]);
        strbuf_printf(html, "<th>");
        strbuf_html(html, r->names[k]);
        strbuf_printf(html, "</th>");
    }
    strbuf_printf(text, "  note\n");
    strbuf_printf(html, "<th>note</th></tr></thead><tbody>\n");
    for (int j = 0; j < n; j++) {
        const trial_rec *t = &r->t[idx[j]];
        strbuf_printf(text, "%-6d %-9s", idx[j] + 1, store_status_name(t->status));
        strbuf_printf(html, "<tr><td>%d</td><td>%s</td>", idx[j] + 1, store_status_name(t->status));
        if (has_budget) {
            strbuf_printf(text, " %8g", t->budget);
            strbuf_printf(html, "<td>%g</td>", t->budget);
        }
        double v = NAN;
        for (int k = 0; k < t->nmetrics; k++)
            if (strcmp(t->names[k], r->metric) == 0)
                v = t->metrics[k];
        if (isnan(v)) { /* a failed trial's missing metric; printf's sign of a NaN means nothing */
            strbuf_printf(text, " %12s", "nan");
            strbuf_printf(html, "<td>nan</td>");
        } else {
            strbuf_printf(text, " %12.6g", v);
            strbuf_printf(html, "<td>%.6g</td>", v);
        }
        for (int k = 0; k < r->nparams; k++) {
            strbuf_printf(text, " %12.6g", t->values[k]);
            strbuf_printf(html, "<td>%.6g</td>", t->values[k]);
        }
        strbuf_printf(text, "  %.60s\n", t->error);
        strbuf_printf(html, "<td>");
        strbuf_html(html, t->error);
        strbuf_printf(html, "</td></tr>\n");
    }
    strbuf_printf(html, "</tbody></table></div>");
    free(idx);
}

void sweep_show(const sweep_result *r)
{
    if (!r) {
        cairn_error("sweep_show", "no sweep result (NULL)");
        return;
    }
    strbuf text = {0}, html = {0};
    render_table(r, &text, &html, 0);
    if (text.s && html.s)
        display_html(html.s, text.s);
    free(text.s);
    free(html.s);
}
