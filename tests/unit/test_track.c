/* test_track.c — runs read back exactly as MLflow's FileStore defines its layout, status
 * transitions (RUNNING → FINISHED / FAILED / KILLED, including a process that dies with a
 * run open), metric lines, params, tags, artifacts, bad input; sweeps: grid, seeded random
 * search, successive halving, a crashing / NaN / unknown-parameter trial recorded FAILED
 * while the sweep finishes, interrupt, parallel = sequential results, BLAS threads divided.
 *
 * The fields checked are those of MLflow's file store (mlflow/store/tracking/file_store.py
 * writes them with yaml.safe_dump; the REST/entities docs define their types):
 *   experiment meta.yaml: artifact_location (str URI), creation_time (int ms),
 *     experiment_id (str), last_update_time (int ms), lifecycle_stage ("active"), name (str)
 *   run meta.yaml: artifact_uri (str), end_time (int ms or null), entry_point_name (str),
 *     experiment_id (str), lifecycle_stage ("active"), run_id (str), run_name (str),
 *     run_uuid (str, = run_id), source_name (str), source_type (int, 4 = LOCAL),
 *     source_version (str), start_time (int ms), status (int: RUNNING=1, SCHEDULED=2,
 *     FINISHED=3, FAILED=4, KILLED=5), tags (list), user_id (str)
 *   metrics/<key>: lines "<timestamp ms> <value> <step>"; params/<key>, tags/<key>: the value;
 *   tags/mlflow.runName, tags/mlflow.parentRunId (nested runs); artifacts/. */
#include "cairn.h"
#include "check.h"

#include <ctype.h>
#include <dlfcn.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifdef __SANITIZE_ADDRESS__
/* As the kernel does: let the trial processes' own (default) SIGSEGV disposition work. */
const char *__asan_default_options(void);
const char *__asan_default_options(void) { return "allow_user_segv_handler=1:handle_abort=0"; }
#endif

static char tmpdir[256];
static char root[512];

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    size_t got = fread(s, 1, (size_t)n, f);
    s[got] = '\0';
    fclose(f);
    return s;
}

static char *slurpf(const char *fmt, const char *a, const char *b)
{
    char path[1024];
    snprintf(path, sizeof path, fmt, a, b);
    return slurp(path);
}

/* Raw text of `key:` in a YAML text (after ": "), "" when missing. */
static const char *yaml_raw(const char *text, const char *key)
{
    static char out[1024];
    out[0] = '\0';
    size_t k = strlen(key);
    for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
        if (strncmp(l, key, k) == 0 && l[k] == ':') {
            const char *v = l + k + 1;
            while (*v == ' ')
                v++;
            size_t n = strcspn(v, "\n");
            snprintf(out, sizeof out, "%.*s", (int)n, v);
            return out;
        }
    return out;
}

static int is_int(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s))
            return 0;
    return 1;
}

static int is_quoted(const char *s)
{
    size_t n = strlen(s);
    return n >= 2 && s[0] == '\'' && s[n - 1] == '\'';
}

static int meta_status(const char *run_dir)
{
    char *m = slurpf("%s/meta.yaml%s", run_dir, "");
    int st = m ? atoi(yaml_raw(m, "status")) : -1;
    free(m);
    return st;
}

static int error_has(const char *what)
{
    int ok = strstr(cairn_last_error(), what) != NULL;
    if (!ok)
        fprintf(stderr, "  last error: %s (wanted '%s')\n", cairn_last_error(), what);
    return ok;
}

/* Wait (up to 5 s) until the run's meta.yaml leaves RUNNING: the watcher's work. */
static int wait_status(const char *run_dir)
{
    for (int i = 0; i < 500; i++) {
        int st = meta_status(run_dir);
        if (st != 1)
            return st;
        usleep(10000);
    }
    return 1;
}

static void test_layout(void)
{
    CHECK(track_set_experiment("layout test") == 0);
    /* the Default experiment and .trash, as MLflow's FileStore creates them */
    char *m0 = slurpf("%s/0/meta.yaml%s", root, "");
    CHECK(m0 && strcmp(yaml_raw(m0, "name"), "'Default'") == 0 && strcmp(yaml_raw(m0, "experiment_id"), "'0'") == 0);
    free(m0);
    char path[1024];
    struct stat st;
    snprintf(path, sizeof path, "%s/.trash", root);
    CHECK(stat(path, &st) == 0 && S_ISDIR(st.st_mode));
    CHECK(strcmp(track_experiment_id(), "1") == 0);
    char *em = slurpf("%s/1/meta.yaml%s", root, "");
    CHECK(em != NULL);
    if (em) {
        char loc[600];
        snprintf(loc, sizeof loc, "'file://%s/1'", root);
        CHECK(strcmp(yaml_raw(em, "artifact_location"), loc) == 0);
        CHECK(is_int(yaml_raw(em, "creation_time")));
        CHECK(is_int(yaml_raw(em, "last_update_time")));
        CHECK(strcmp(yaml_raw(em, "experiment_id"), "'1'") == 0);
        CHECK(strcmp(yaml_raw(em, "lifecycle_stage"), "active") == 0);
        CHECK(strcmp(yaml_raw(em, "name"), "'layout test'") == 0);
    }
    free(em);
    /* the same name again is the same experiment */
    CHECK(track_set_experiment("layout test") == 0 && strcmp(track_experiment_id(), "1") == 0);

    long long before = (long long)time(NULL) * 1000;
    const char *id = track_start_run("first");
    CHECK(id && strlen(id) == 32);
    char rid[33];
    snprintf(rid, sizeof rid, "%s", id ? id : "");
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/1/%s", root, rid);
    CHECK(strcmp(track_run_dir(), dir) == 0);
    char *rm = slurpf("%s/meta.yaml%s", dir, "");
    CHECK(rm != NULL);
    if (rm) {
        static const char *const keys[] = {"artifact_uri", "end_time", "entry_point_name", "experiment_id",
                                           "lifecycle_stage", "run_id", "run_name", "run_uuid", "source_name",
                                           "source_type", "source_version", "start_time", "status", "tags", "user_id"};
        for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
            char pat[64];
            snprintf(pat, sizeof pat, "%s:", keys[i]);
            CHECK(strstr(rm, pat) != NULL);
        }
        char uri[1100], q[64];
        snprintf(uri, sizeof uri, "'file://%s/artifacts'", dir);
        CHECK(strcmp(yaml_raw(rm, "artifact_uri"), uri) == 0);
        CHECK(strcmp(yaml_raw(rm, "end_time"), "null") == 0);
        CHECK(strcmp(yaml_raw(rm, "experiment_id"), "'1'") == 0);
        snprintf(q, sizeof q, "'%s'", rid);
        CHECK(strcmp(yaml_raw(rm, "run_id"), q) == 0 && strcmp(yaml_raw(rm, "run_uuid"), q) == 0);
        CHECK(strcmp(yaml_raw(rm, "run_name"), "'first'") == 0);
        CHECK(strcmp(yaml_raw(rm, "source_type"), "4") == 0);
        CHECK(is_quoted(yaml_raw(rm, "source_name")) && is_quoted(yaml_raw(rm, "source_version")) &&
              is_quoted(yaml_raw(rm, "entry_point_name")) && is_quoted(yaml_raw(rm, "user_id")));
        CHECK(is_int(yaml_raw(rm, "start_time")) && atoll(yaml_raw(rm, "start_time")) >= before - 1000);
        CHECK(strcmp(yaml_raw(rm, "status"), "1") == 0); /* RUNNING */
        CHECK(strcmp(yaml_raw(rm, "tags"), "[]") == 0);
        CHECK(strcmp(yaml_raw(rm, "lifecycle_stage"), "active") == 0);
    }
    free(rm);
    char *tag = slurpf("%s/tags/%s", dir, "mlflow.runName");
    CHECK(tag && strcmp(tag, "first") == 0);
    free(tag);

    /* params: numbers in their shortest form, strings as given; immutable */
    CHECK(track_log_param("lr", 0.01) == 0);
    CHECK(track_log_param("batch", 32) == 0);
    CHECK(track_log_param_str("optimizer", "adam") == 0);
    char *p = slurpf("%s/params/%s", dir, "lr");
    CHECK(p && strcmp(p, "0.01") == 0);
    free(p);
    p = slurpf("%s/params/%s", dir, "batch");
    CHECK(p && strcmp(p, "32") == 0);
    free(p);
    p = slurpf("%s/params/%s", dir, "optimizer");
    CHECK(p && strcmp(p, "adam") == 0);
    free(p);
    CHECK(track_log_param("lr", 0.01) == 0); /* same value again: fine */
    CHECK(track_log_param("lr", 0.02) == -1 && error_has("cannot change"));

    /* metrics: "timestamp value step" lines, values exact */
    double vals[3] = {0.5, 1.0 / 3.0, -2.5e-7};
    for (int i = 0; i < 3; i++)
        CHECK(track_log_metric("loss", vals[i], i * 10) == 0);
    CHECK(track_log_metric("nested/acc", 0.75, 1) == 0);
    CHECK(track_flush() == 0);
    char *ml = slurpf("%s/metrics/%s", dir, "loss");
    CHECK(ml != NULL);
    int lines = 0;
    for (char *l = ml; l && *l; lines++) {
        long long ts;
        double v;
        long step;
        char one[128], extra[8];
        snprintf(one, sizeof one, "%.*s", (int)strcspn(l, "\n"), l);
        int k = sscanf(one, "%lld %lf %ld %7s", &ts, &v, &step, extra);
        CHECK(k == 3);
        CHECK(ts >= before - 1000 && ts < before + 600000);
        CHECK(lines < 3 && v == vals[lines] && step == lines * 10);
        l = strchr(l, '\n');
        if (l)
            l++;
    }
    CHECK(lines == 3);
    free(ml);
    ml = slurpf("%s/metrics/nested/%s", dir, "acc");
    CHECK(ml && strncmp(strchr(ml, ' '), " 0.75 1\n", 8) == 0);
    free(ml);

    /* tags and artifacts: a figure, a matrix, any file */
    CHECK(track_set_tag("note", "hello") == 0);
    figure *f = plot_figure(200, 150);
    plot_line(plot_subplot(f, 0), mat_empty(), MAT(1, 3, 1, 2, 3), "y");
    CHECK(track_log_figure(f, "curve.png") == 0);
    CHECK(track_log_figure(f, "curve.svg") == 0);
    CHECK(track_log_figure(f, "curve.gif") == -1 && error_has(".png or .svg"));
    plot_free(f);
    char *png = slurpf("%s/artifacts/%s", dir, "curve.png");
    CHECK(png && memcmp(png, "\x89PNG", 4) == 0);
    free(png);
    char *svg = slurpf("%s/artifacts/%s", dir, "curve.svg");
    CHECK(svg && strstr(svg, "<svg") != NULL);
    free(svg);
    mat A = MAT(2, 2, 1, 2, 3, 4.5);
    CHECK(track_log_matrix(A, "A.npy") == 0);
    char apath[1200];
    snprintf(apath, sizeof apath, "%s/artifacts/A.npy", dir);
    mat B = npy_read(apath);
    CHECK(B.rows == 2 && B.cols == 2 && B.data[3] == 4.5 && B.data[1] == 2);
    mat_free(&A);
    mat_free(&B);
    snprintf(path, sizeof path, "%s/notes.txt", tmpdir);
    FILE *nf = fopen(path, "w");
    fputs("some notes\n", nf);
    fclose(nf);
    CHECK(track_log_artifact(path, "docs") == 0);
    char *copy = slurpf("%s/artifacts/docs/%s", dir, "notes.txt");
    CHECK(copy && strcmp(copy, "some notes\n") == 0);
    free(copy);
    CHECK(track_log_artifact("/nonexistent/file", NULL) == -1 && error_has("/nonexistent/file"));
    CHECK(track_log_matrix(mat_eye(2), "../escape.npy") == -1 && error_has("relative path"));

    /* FINISHED with an end_time */
    CHECK(track_end_run(NULL) == 0);
    CHECK(track_run_id() == NULL);
    rm = slurpf("%s/meta.yaml%s", dir, "");
    CHECK(rm && strcmp(yaml_raw(rm, "status"), "3") == 0);
    CHECK(rm && is_int(yaml_raw(rm, "end_time")) && atoll(yaml_raw(rm, "end_time")) >= atoll(yaml_raw(rm, "start_time")));
    free(rm);
    CHECK(track_end_run(NULL) == 0); /* nothing active: nothing to do, as in MLflow */

    /* KILLED and FAILED by the caller; a bad status */
    CHECK(track_start_run("second") != NULL);
    char dir2[1024];
    snprintf(dir2, sizeof dir2, "%s", track_run_dir());
    CHECK(track_end_run("SCHEDULED") == -1 && error_has("FINISHED, FAILED or KILLED"));
    CHECK(track_end_run("KILLED") == 0 && meta_status(dir2) == 5);
    CHECK(track_start_run(NULL) != NULL);
    snprintf(dir2, sizeof dir2, "%s", track_run_dir());
    char *gen = slurpf("%s/tags/%s", dir2, "mlflow.runName");
    CHECK(gen && strncmp(gen, "run-", 4) == 0);
    free(gen);
    CHECK(track_end_run("failed") == 0 && meta_status(dir2) == 4);
}

static void test_bad_input(void)
{
    /* no active run */
    CHECK(track_log_metric("x", 1, 0) == -1 && error_has("no active run"));
    CHECK(track_start_run("bad names") != NULL);
    CHECK(track_log_metric("../up", 1, 0) == -1 && error_has("not a valid metric name"));
    CHECK(track_log_param("/abs", 1) == -1 && error_has("not a valid name"));
    /* NaN is recorded (as MLflow does) with a warning, not an error */
    long errors = cairn_error_count();
    CHECK(track_log_metric("diverged", NAN, 3) == 0);
    CHECK(cairn_error_count() == errors);
    track_flush();
    char *nanline = slurpf("%s/metrics/%s", track_run_dir(), "diverged");
    CHECK(nanline && strstr(nanline, " nan 3\n") != NULL);
    free(nanline);
    CHECK(track_end_run(NULL) == 0);

    /* an unusable tracking location: clear errors, nothing else changes */
    char blocker[600], uri[700];
    snprintf(blocker, sizeof blocker, "%s/a-file", tmpdir);
    FILE *f = fopen(blocker, "w");
    fclose(f);
    snprintf(uri, sizeof uri, "%s/mlruns", blocker);
    track_set_uri(uri);
    CHECK(track_set_experiment("x") == -1 && error_has("cannot create the tracking directory"));
    CHECK(track_start_run("x") == NULL && error_has(blocker));
    track_set_uri("http://127.0.0.1:5000");
    CHECK(track_start_run("x") == NULL && error_has("not a file store"));
    track_set_uri("file://relative/path");
    CHECK(track_start_run("x") == NULL && error_has("absolute path"));
    track_set_uri(NULL);

    /* a corrupt store: a run folder with a broken meta.yaml, an experiment with none */
    CHECK(track_set_experiment("corrupt") == 0);
    CHECK(track_start_run("good") != NULL);
    CHECK(track_log_metric("loss", 1.5, 0) == 0);
    CHECK(track_end_run(NULL) == 0);
    char path[1024];
    snprintf(path, sizeof path, "%s/%s/deadbeef", root, track_experiment_id());
    mkdir(path, 0777);
    strcat(path, "/meta.yaml");
    f = fopen(path, "w");
    fputs("status: [[[\x01garbage\n", f);
    fclose(f);
    CHECK(track_runs_count("corrupt") == 1);
    char *text = track_runs_text("corrupt", "loss");
    CHECK(text && strstr(text, "1 unreadable run folder skipped") && strstr(text, "good"));
    free(text);
    snprintf(path, sizeof path, "%s/77", root);
    mkdir(path, 0777); /* an experiment folder without meta.yaml is not an experiment */
    CHECK(track_runs_count("no such experiment") == -1 && error_has("no experiment named 'no such experiment'"));
    CHECK(track_runs_text("corrupt", "nosuchmetric") == NULL && error_has("nosuchmetric"));
    CHECK(track_set_experiment("after 77") == 0 && strcmp(track_experiment_id(), "2") != 0);
}

/* A process that starts a run and dies (SIGSEGV, or SIGKILL after seeing an interrupt):
 * its watcher marks the run FAILED / KILLED; what it logged and flushed is kept. */
static void test_dead_process(void)
{
    CHECK(track_set_experiment("crashes") == 0);
    for (int killed = 0; killed < 2; killed++) {
        int pfd[2];
        CHECK(pipe(pfd) == 0);
        fflush(NULL);
        pid_t pid = fork();
        if (pid == 0) {
            close(pfd[0]);
            const char *id = track_start_run(killed ? "interrupted" : "segfault");
            track_log_metric("loss", 0.25, 0);
            if (killed)
                cairn_set_interrupted(1);
            track_log_metric("loss", 0.125, 1);
            track_flush();
            if (write(pfd[1], track_run_dir(), strlen(track_run_dir())) < 0)
                _exit(2);
            close(pfd[1]);
            (void)id;
            if (killed)
                raise(SIGKILL);
            signal(SIGSEGV, SIG_DFL); /* a plain death by SIGSEGV, no sanitizer report */
            raise(SIGSEGV);
            _exit(0);
        }
        close(pfd[1]);
        char dir[1024] = "";
        ssize_t n = read(pfd[0], dir, sizeof dir - 1);
        dir[n > 0 ? n : 0] = '\0';
        close(pfd[0]);
        int ws;
        waitpid(pid, &ws, 0);
        CHECK(WIFSIGNALED(ws));
        CHECK(n > 0 && wait_status(dir) == (killed ? 5 : 4));
        char *m = slurpf("%s/meta.yaml%s", dir, "");
        CHECK(m && is_int(yaml_raw(m, "end_time")));
        free(m);
        char *why = slurpf("%s/tags/%s", dir, "cairn.end_reason");
        CHECK(why && strstr(why, killed ? "interrupted" : "without track_end_run"));
        free(why);
        char *ml = slurpf("%s/metrics/%s", dir, "loss");
        CHECK(ml && strstr(ml, " 0.25 0\n") && strstr(ml, " 0.125 1\n"));
        free(ml);
    }
    /* A RUNNING run whose watcher is gone (the kernel killed everything at shutdown) is
     * fixed by the next reader: forge one with a dead watcher pid. */
    CHECK(track_start_run("orphan") != NULL);
    char dir[1024];
    snprintf(dir, sizeof dir, "%s", track_run_dir());
    fflush(NULL);
    pid_t dead = fork();
    if (dead == 0)
        _exit(0);
    waitpid(dead, NULL, 0);
    char path[1100], host[128] = "";
    gethostname(host, sizeof host - 1);
    snprintf(path, sizeof path, "%s/tags/cairn.watcher", dir);
    FILE *f = fopen(path, "w");
    fprintf(f, "%d 12345 %s", (int)dead, host);
    fclose(f);
    CHECK(meta_status(dir) == 1);
    CHECK(track_runs_count(NULL) == 3);
    CHECK(meta_status(dir) == 4);
    /* a live run of this process is left alone by readers */
    track_end_run(NULL);
    CHECK(track_start_run("alive") != NULL);
    snprintf(dir, sizeof dir, "%s", track_run_dir());
    CHECK(track_runs_count(NULL) == 4 && meta_status(dir) == 1);
    CHECK(track_end_run(NULL) == 0 && meta_status(dir) == 3);
}

static void test_params(void)
{
    CHECK(track_set_experiment("params") == 0);
    unsetenv("CAIRN_PARAM_lr");
    CHECK(param_double("lr", 0.125) == 0.125);
    setenv("CAIRN_PARAM_lr", "0.5", 1);
    setenv("CAIRN_PARAM_epochs", "12", 1);
    setenv("CAIRN_PARAM_model", "cnn", 1);
    CHECK(param_double("lr", 0.125) == 0.5);
    CHECK(param_int("epochs", 3) == 12);
    CHECK(strcmp(param_string("model", "mlp"), "cnn") == 0);
    setenv("CAIRN_PARAM_bad", "abc", 1);
    CHECK(isnan(param_double("bad", 1)) && error_has("CAIRN_PARAM_bad='abc' is not a number"));
    CHECK(param_int("bad", 1) == 0 && error_has("not an integer"));
    CHECK(isnan(param_double("no-dash", 1)) && error_has("letters, digits and _"));
    /* the values used are logged to the run started afterwards */
    CHECK(track_start_run("with params") != NULL);
    char *p = slurpf("%s/params/%s", track_run_dir(), "lr");
    CHECK(p && strcmp(p, "0.5") == 0);
    free(p);
    p = slurpf("%s/params/%s", track_run_dir(), "epochs");
    CHECK(p && strcmp(p, "12") == 0);
    free(p);
    p = slurpf("%s/params/%s", track_run_dir(), "model");
    CHECK(p && strcmp(p, "cnn") == 0);
    free(p);
    /* and to the active run when read while it runs */
    unsetenv("CAIRN_PARAM_seed");
    CHECK(param_int("seed", 7) == 7);
    p = slurpf("%s/params/%s", track_run_dir(), "seed");
    CHECK(p && strcmp(p, "7") == 0);
    free(p);
    track_end_run(NULL);
    unsetenv("CAIRN_PARAM_lr");
    unsetenv("CAIRN_PARAM_epochs");
    unsetenv("CAIRN_PARAM_model");
    unsetenv("CAIRN_PARAM_bad");
}

/* ---- sweeps ---- */

static void quadratic(track_trial *t)
{
    double x = trial_param(t, "x"), y = trial_param(t, "y");
    for (int i = 0; i < 3; i++)
        track_log_metric("curve", (x - 2) * (x - 2) + i, i);
    trial_report(t, "loss", (x - 2) * (x - 2) + (y - 0.5) * (y - 0.5));
}

/* display sink: keeps the text/plain of the last bundle shown (sweep_show's table) */
static char shown_text[8192];
static void keep_text(int kind, const display_part *parts, int nparts, const char *id, int wait)
{
    (void)kind, (void)id, (void)wait;
    for (int i = 0; i < nparts; i++)
        if (strcmp(parts[i].mime, "text/plain") == 0)
            snprintf(shown_text, sizeof shown_text, "%.*s", (int)parts[i].size, (const char *)parts[i].data);
}

static void crashing(track_trial *t)
{
    double x = trial_param(t, "x");
    if (x == 3) {
        raise(SIGSEGV); /* in the trial process only (a store through NULL would be caught by UBSan) */
    }
    if (x == 1)
        trial_report(t, "loss", -NAN); /* sign bit set, as 0.0 / 0.0 gives on x86 */
    else if (x == 4)
        trial_param(t, "typo"); /* unknown parameter: a runtime error in the trial */
    else if (x == 5) {
        /* the kernel gives each cell an RLIMIT_AS; a trial that outgrows it fails alone */
        struct rlimit rl = {(rlim_t)1 << 30, (rlim_t)1 << 30};
        setrlimit(RLIMIT_AS, &rl);
        mat big = mat_zeros(20000, 20000); /* 3.2 GB */
        trial_report(t, "loss", big.rows);
    } else
        trial_report(t, "loss", x);
}

static void blas_probe(track_trial *t)
{
    int (*get)(void) = (int (*)(void))dlsym(RTLD_DEFAULT, "openblas_get_num_threads");
    trial_report(t, "loss", trial_param(t, "x"));
    trial_report(t, "blas_threads", get ? get() : -1);
}

/* Reports its process and the session generator's next number; x = 3 also leaks a
 * runtime matrix, which retires its trial process. */
static void process_probe(track_trial *t)
{
    trial_report(t, "loss", trial_param(t, "x"));
    trial_report(t, "pid", getpid());
    trial_report(t, "draw", rng_uniform());
    if (trial_param(t, "x") == 3)
        (void)mat_zeros(10, 10);
}

static int distinct(const sweep_result *r, const char *metric)
{
    int n = 0;
    for (int i = 0; i < sweep_count(r); i++) {
        int seen = 0;
        for (int j = 0; j < i; j++)
            seen |= sweep_metric(r, j, metric) == sweep_metric(r, i, metric);
        n += !seen;
    }
    return n;
}

static void sleepy(track_trial *t)
{
    usleep(trial_param(t, "x") == 1 ? 50000 : 3000000); /* the first is quick, the rest slow */
    trial_report(t, "loss", trial_param(t, "x"));
}

static void on_alarm(int sig)
{
    (void)sig;
    cairn_set_interrupted(1);
}

/* loss(lr, budget) = (log10 lr + 2.5)^2 + 1/budget: the ranking of configurations is the
 * same at every budget, the best is lr = 10^-2.5, and each trial "costs" its budget. */
static double budget_spent;
static void budgeted(track_trial *t)
{
    double lr = trial_param(t, "lr"), b = trial_budget(t);
    double d = log10(lr) + 2.5;
    trial_report(t, "loss", d * d + 1 / b);
}

static void test_sweeps(void)
{
    CHECK(track_set_experiment("sweeps") == 0);
    sweep_space *s = sweep_space_new();
    CHECK(sweep_space_values(s, "x", (double[]){1, 2, 3}, 3) == 0);
    CHECK(sweep_space_range(s, "y", 0, 1, 0.5) == 0);
    CHECK(sweep_space_values(s, "x", (double[]){1}, 1) == -1 && error_has("already"));
    sweep_result *g = sweep_grid(s, quadratic, (sweep_options){.metric = "loss", .processes = 2, .quiet = 1});
    CHECK(g && sweep_count(g) == 9);
    int finished = 0;
    for (int i = 0; g && i < 9; i++)
        finished += strcmp(sweep_status(g, i), "FINISHED") == 0;
    CHECK(finished == 9);
    int b = sweep_best(g);
    CHECK(b >= 0 && sweep_param(g, b, "x") == 2 && sweep_param(g, b, "y") == 0.5 && sweep_metric(g, b, "loss") == 0);
    /* grid order: last parameter fastest */
    CHECK(g && sweep_param(g, 1, "x") == 1 && sweep_param(g, 1, "y") == 0.5 && sweep_param(g, 3, "x") == 2);
    /* each trial is a run nested under the sweep's parent run, with its params and metrics */
    if (g) {
        char dir[1024], *v;
        snprintf(dir, sizeof dir, "%s/%s/%s", root, track_experiment_id(), sweep_run_id(g, b));
        CHECK(meta_status(dir) == 3);
        v = slurpf("%s/params/%s", dir, "x");
        CHECK(v && strcmp(v, "2") == 0);
        free(v);
        v = slurpf("%s/params/%s", dir, "y");
        CHECK(v && strcmp(v, "0.5") == 0);
        free(v);
        v = slurpf("%s/metrics/%s", dir, "loss");
        CHECK(v && strstr(v, " 0 0\n"));
        free(v);
        v = slurpf("%s/metrics/%s", dir, "curve");
        CHECK(v && strstr(v, " 0 0\n") && strstr(v, " 2 2\n")); /* logged with track_log_metric inside the trial */
        free(v);
        /* the notebook parameters read before the sweep (test_params) are the trial's too */
        v = slurpf("%s/params/%s", dir, "epochs");
        CHECK(v && strcmp(v, "12") == 0);
        free(v);
        v = slurpf("%s/params/%s", dir, "model");
        CHECK(v && strcmp(v, "cnn") == 0);
        free(v);
        v = slurpf("%s/tags/%s", dir, "mlflow.parentRunId");
        CHECK(v && strlen(v) == 32);
        char pdir[1024];
        snprintf(pdir, sizeof pdir, "%s/%s/%s", root, track_experiment_id(), v ? v : "");
        free(v);
        CHECK(meta_status(pdir) == 3);
        v = slurpf("%s/metrics/%s", pdir, "best_loss");
        CHECK(v && strstr(v, " 0 0\n"));
        free(v);
    }
    /* the same trials in this process, one after another: the same results */
    sweep_result *seq = sweep_grid(s, quadratic, (sweep_options){.metric = "loss", .in_process = 1, .quiet = 1});
    int same = seq && g && sweep_count(seq) == sweep_count(g);
    for (int i = 0; same && i < sweep_count(g); i++)
        same = sweep_metric(seq, i, "loss") == sweep_metric(g, i, "loss") && sweep_param(seq, i, "y") == sweep_param(g, i, "y");
    CHECK(same);
    sweep_free(seq);
    sweep_free(g);
    /* the runs table lists them best first */
    char *text = track_runs_text("sweeps", "loss");
    CHECK(text && strstr(text, "20 runs") && strstr(text, "best first by loss"));
    if (text) {
        char *first = strstr(text, "\n1 ");
        CHECK(first && strstr(first, "FINISHED") && strstr(first, " 0 ")); /* row 1 has loss 0 */
    }
    free(text);
    sweep_space_free(s);

    /* crashing, NaN, unknown-parameter and out-of-memory trials fail alone */
    s = sweep_space_new();
    sweep_space_range(s, "x", 1, 6, 1);
    g = sweep_grid(s, crashing, (sweep_options){.metric = "loss", .processes = 2, .quiet = 1});
    CHECK(g && sweep_count(g) == 6);
    if (g) {
        CHECK(strcmp(sweep_status(g, 0), "FAILED") == 0 && strstr(sweep_error(g, 0), "loss is NaN"));
        CHECK(strcmp(sweep_status(g, 1), "FINISHED") == 0 && sweep_metric(g, 1, "loss") == 2);
        CHECK(strcmp(sweep_status(g, 2), "FAILED") == 0 && strstr(sweep_error(g, 2), "SIGSEGV"));
        CHECK(strcmp(sweep_status(g, 3), "FAILED") == 0 && strstr(sweep_error(g, 3), "unknown parameter 'typo'") &&
              strstr(sweep_error(g, 3), "parameters are: x"));
        CHECK(strcmp(sweep_status(g, 4), "FAILED") == 0);
#ifndef __SANITIZE_ADDRESS__ /* ASan itself cannot map memory under the limit and exits */
        CHECK(strstr(sweep_error(g, 4), "out of memory") != NULL);
#endif
        CHECK(strcmp(sweep_status(g, 5), "FINISHED") == 0 && sweep_metric(g, 5, "loss") == 6);
        CHECK(sweep_best(g) == 1);
        char dir[1024];
        snprintf(dir, sizeof dir, "%s/%s/%s", root, track_experiment_id(), sweep_run_id(g, 2));
        CHECK(meta_status(dir) == 4);
        char *why = slurpf("%s/tags/%s", dir, "cairn.error");
        CHECK(why && strstr(why, "SIGSEGV"));
        free(why);
        /* the table shows a failed trial's missing metric as nan, never -nan */
        display_set_sink(keep_text);
        sweep_show(g);
        display_set_sink(NULL);
        CHECK(strstr(shown_text, " nan ") != NULL && strstr(shown_text, "-nan") == NULL);
    }
    sweep_free(g);

    /* BLAS threads are divided among the trial processes */
    void (*set)(int) = (void (*)(int))dlsym(RTLD_DEFAULT, "openblas_set_num_threads");
    int (*get)(void) = (int (*)(void))dlsym(RTLD_DEFAULT, "openblas_get_num_threads");
    if (set && get) {
        int old = get();
        set(4);
        g = sweep_grid(s, blas_probe, (sweep_options){.metric = "loss", .processes = 2, .quiet = 1});
        CHECK(g && sweep_metric(g, 0, "blas_threads") == 2);
        CHECK(get() == 4);
        sweep_free(g);
        set(old);
    }
    sweep_space_free(s);

    /* Trial processes run several trials each (a fork per process, not per trial), but
     * every trial starts from the session generator as it was when the sweep began; a
     * trial that leaves runtime memory allocated (x = 3) ends its process; and
     * fresh_process gives every trial its own. */
    s = sweep_space_new();
    sweep_space_range(s, "x", 1, 8, 1);
    rng_seed(2024);
    rng_snapshot before = rng_save();
    double first_draw = rng_uniform();
    rng_restore(before);
    g = sweep_grid(s, process_probe, (sweep_options){.metric = "loss", .processes = 2, .quiet = 1});
    CHECK(g && sweep_count(g) == 8);
    if (g) {
        int same_draw = 1, fin = 0;
        for (int i = 0; i < 8; i++) {
            same_draw &= sweep_metric(g, i, "draw") == first_draw;
            fin += strcmp(sweep_status(g, i), "FINISHED") == 0;
        }
        CHECK(fin == 8 && same_draw);
        if (fin != 8 || !same_draw)
            for (int i = 0; i < 8; i++)
                fprintf(stderr, "  trial %d: %s %s draw %.17g (want %.17g)\n", i, sweep_status(g, i), sweep_error(g, i), sweep_metric(g, i, "draw"), first_draw);
        int procs = distinct(g, "pid");
        CHECK(procs >= 2 && procs <= 4); /* 2 processes, one more after the leaking trial (maybe 2) */
        /* the trial after the leaking one in its process ran elsewhere */
        int after_leak = 1;
        for (int i = 3; i < 8; i++)
            after_leak &= sweep_metric(g, i, "pid") != sweep_metric(g, 2, "pid");
        CHECK(after_leak);
    }
    CHECK(rng_uniform() == first_draw); /* the sweep did not move this process's generator */
    sweep_free(g);
    g = sweep_grid(s, process_probe, (sweep_options){.metric = "loss", .processes = 2, .fresh_process = 1, .quiet = 1});
    CHECK(g && sweep_count(g) == 8 && distinct(g, "pid") == 8);
    sweep_free(g);
    sweep_space_free(s);

    /* empty grids and bad options */
    s = sweep_space_new();
    CHECK(sweep_grid(s, quadratic, (sweep_options){.quiet = 1}) == NULL && error_has("empty grid"));
    CHECK(sweep_space_values(s, "x", NULL, 0) == -1 && error_has("no values"));
    CHECK(sweep_space_range(s, "x", 2, 1, 0.5) == -1 && error_has("empty range"));
    CHECK(sweep_space_log(s, "x", 0, 1, 3) == -1 && error_has("0 < lo"));
    sweep_space_values(s, "x", (double[]){1}, 1);
    CHECK(sweep_grid(s, NULL, (sweep_options){.quiet = 1}) == NULL && error_has("trial function"));
    CHECK(sweep_halving(s, quadratic, (sweep_options){.quiet = 1}) == NULL && error_has("needs opt.metric"));
    sweep_space_free(s);

    /* seeded random search: reproducible, inside the bounds, log-uniform spread */
    s = sweep_space_new();
    sweep_space_log(s, "lr", 1e-4, 1e-1, 4);
    sweep_space_range(s, "k", 2, 9, 1);
    sweep_space_values(s, "x", (double[]){0.5, 1.5}, 2);
    sweep_result *r1 = sweep_random(s, blas_probe, (sweep_options){.trials = 12, .seed = 42, .processes = 2, .quiet = 1});
    sweep_result *r2 = sweep_random(s, blas_probe, (sweep_options){.trials = 12, .seed = 42, .quiet = 1});
    sweep_result *r3 = sweep_random(s, blas_probe, (sweep_options){.trials = 12, .seed = 43, .in_process = 1, .quiet = 1});
    CHECK(r1 && r2 && r3 && sweep_count(r1) == 12);
    int equal = 1, differ = 0, inside = 1, small = 0, large = 0;
    for (int i = 0; r1 && r2 && r3 && i < 12; i++) {
        double lr = sweep_param(r1, i, "lr"), k = sweep_param(r1, i, "k");
        equal &= lr == sweep_param(r2, i, "lr") && k == sweep_param(r2, i, "k") &&
                 sweep_param(r1, i, "x") == sweep_param(r2, i, "x");
        differ |= lr != sweep_param(r3, i, "lr");
        inside &= lr >= 1e-4 && lr <= 1e-1 && k >= 2 && k <= 9 && k == floor(k);
        small += lr < 1e-2; /* log-uniform: 2/3 of the draws below 1e-2 on average */
        large += lr >= 1e-2;
    }
    CHECK(equal && differ && inside);
    CHECK(small >= 4 && large >= 1);
    sweep_free(r1);
    sweep_free(r2);
    sweep_free(r3);
    sweep_space_free(s);

    /* successive halving finds the grid's best with far fewer budget units */
    s = sweep_space_new();
    sweep_space_log(s, "lr", 1e-5, 1, 27);
    sweep_options ho = {.metric = "loss", .min_budget = 1, .max_budget = 27, .eta = 3, .processes = 2, .quiet = 1};
    sweep_result *h = sweep_halving(s, budgeted, ho);
    sweep_result *full = sweep_grid(s, budgeted, (sweep_options){.metric = "loss", .max_budget = 27, .in_process = 1, .quiet = 1});
    CHECK(h && full);
    if (h && full) {
        int hb = sweep_best(h), fb = sweep_best(full);
        CHECK(hb >= 0 && fb >= 0 && sweep_param(h, hb, "lr") == sweep_param(full, fb, "lr"));
        CHECK(sweep_budget(h, hb) == 27);
        CHECK_NEAR(sweep_param(h, hb, "lr"), pow(10, -2.5), 1e-12);
        /* rungs: 27 configs x 1, 9 x 3, 3 x 9, 1 x 27 = 108 budget units; the full grid at
         * the top budget costs 27 x 27 = 729 */
        CHECK(sweep_count(h) == 27 + 9 + 3 + 1);
        CHECK(sweep_total_budget(h) == 108);
        CHECK(sweep_total_budget(full) == 27 * 27 && sweep_total_budget(h) < sweep_total_budget(full));
        /* the swept lr replaces the notebook's lr (0.5, read in test_params) in the trial's run */
        char dir[1024];
        snprintf(dir, sizeof dir, "%s/%s/%s", root, track_experiment_id(), sweep_run_id(h, hb));
        char *v = slurpf("%s/params/%s", dir, "lr"), want[64];
        snprintf(want, sizeof want, "%.17g", sweep_param(h, hb, "lr"));
        CHECK(v && strtod(v, NULL) == sweep_param(h, hb, "lr") && strcmp(v, "0.5") != 0);
        free(v);
        v = slurpf("%s/params/%s", dir, "seed");
        CHECK(v && strcmp(v, "7") == 0);
        free(v);
    }
    (void)budget_spent;
    sweep_free(h);
    sweep_free(full);
    sweep_space_free(s);

    /* Hyperband (R = 27, r = 1, eta = 3): brackets s = 3..0 draw 27, 12, 6 and 4
     * configurations at budgets 1, 3, 9, 27; their rungs are 27-9-3-1, 12-4-1, 6-2, 4:
     * 69 trials, 108 + 99 + 108 + 108 = 423 budget units, 8 trials at the full budget.
     * lr takes 11 values 10^-5, 10^-4.5, ..., 1: the known best is 10^-2.5, and since the
     * ranking is the same at every budget, each bracket's best reaches the full budget. */
    s = sweep_space_new();
    double lrs[11];
    for (int j = 0; j < 11; j++)
        lrs[j] = pow(10, -5 + 0.5 * j);
    sweep_space_values(s, "lr", lrs, 11);
    sweep_options hbo = {.metric = "loss", .min_budget = 1, .max_budget = 27, .eta = 3, .seed = 5, .processes = 2, .quiet = 1};
    sweep_result *hb = sweep_hyperband(s, budgeted, hbo);
    hbo.processes = 0;
    hbo.in_process = 1;
    sweep_result *hb1 = sweep_hyperband(s, budgeted, hbo);
    CHECK(hb && hb1);
    if (hb && hb1) {
        CHECK(sweep_count(hb) == 69 && sweep_total_budget(hb) == 423);
        int top = 0, same = sweep_count(hb1) == sweep_count(hb), best_sampled = -1;
        for (int i = 0; i < sweep_count(hb); i++) {
            top += sweep_budget(hb, i) == 27;
            same &= sweep_param(hb, i, "lr") == sweep_param(hb1, i, "lr") && sweep_budget(hb, i) == sweep_budget(hb1, i) &&
                    sweep_metric(hb, i, "loss") == sweep_metric(hb1, i, "loss");
            double d = fabs(log10(sweep_param(hb, i, "lr")) + 2.5);
            if (best_sampled < 0 || d < fabs(log10(sweep_param(hb, best_sampled, "lr")) + 2.5))
                best_sampled = i;
        }
        CHECK(top == 8 && same);
        int b = sweep_best(hb);
        CHECK(b >= 0 && sweep_budget(hb, b) == 27 && sweep_param(hb, b, "lr") == sweep_param(hb, best_sampled, "lr"));
        CHECK(b >= 0 && fabs(sweep_param(hb, b, "lr") - pow(10, -2.5)) < 1e-15);
        /* the first rung of bracket 3 is 27 draws at budget 1; bracket 0 is 4 draws at 27 */
        CHECK(sweep_budget(hb, 0) == 1 && sweep_budget(hb, 26) == 1 && sweep_budget(hb, 27) == 3);
        CHECK(sweep_budget(hb, 65) == 27 && sweep_budget(hb, 68) == 27);
    }
    sweep_free(hb);
    sweep_free(hb1);
    CHECK(sweep_hyperband(s, budgeted, (sweep_options){.quiet = 1}) == NULL && error_has("needs opt.metric"));
    CHECK(sweep_hyperband(s, budgeted, (sweep_options){.metric = "loss", .min_budget = 5, .max_budget = 2, .quiet = 1}) == NULL &&
          error_has("min_budget <= max_budget"));
    sweep_space_free(s);

    /* interrupt: running trials are killed (KILLED), the finished ones kept */
    s = sweep_space_new();
    sweep_space_range(s, "x", 1, 8, 1);
    signal(SIGALRM, on_alarm);
    ualarm(800000, 0); /* trial 1 finished, trial 2 running */
    g = sweep_grid(s, sleepy, (sweep_options){.metric = "loss", .processes = 1, .quiet = 1});
    cairn_set_interrupted(0);
    CHECK(g != NULL);
    if (g) {
        int fin = 0, killed = 0, other = 0;
        for (int i = 0; i < sweep_count(g); i++) {
            const char *st = sweep_status(g, i);
            if (strcmp(st, "FINISHED") == 0)
                fin++;
            else if (strcmp(st, "KILLED") == 0)
                killed++;
            else if (strcmp(st, "") != 0 && strcmp(st, "UNKNOWN") != 0)
                other++;
        }
        CHECK(fin == 1 && killed == 1 && other == 0 && sweep_count(g) == 2);
        if (killed != 1 || other != 0)
            for (int i = 0; i < sweep_count(g); i++)
                fprintf(stderr, "  trial %d: %s %s\n", i, sweep_status(g, i), sweep_error(g, i));
        CHECK(sweep_best(g) == 0);
    }
    sweep_free(g);
    sweep_space_free(s);
}

/* Points of a metric file as (value, step) pairs in order; returns how many (at most max). */
static int read_points(const char *run_dir, const char *metric, double *values, long *steps, int max)
{
    char *text = slurpf("%s/metrics/%s", run_dir, metric);
    int n = 0;
    for (char *l = text; l && *l && n < max;) {
        long long ts;
        double v;
        long st;
        if (sscanf(l, "%lld %lf %ld", &ts, &v, &st) != 3)
            break;
        values[n] = v;
        steps[n++] = st;
        char *nl = strchr(l, '\n');
        l = nl ? nl + 1 : NULL;
    }
    free(text);
    return n;
}

/* k-means and nn_fit log to the active run by themselves (MLflow's autologging): the
 * params they ran with and their curves, point for point what the fit returned. */
static void test_autolog(void)
{
    CHECK(track_set_experiment("autolog") == 0);
    /* two blobs of 40 points in 3-D, k = 2 */
    rng_seed(5);
    mat X = mat_randn(80, 3);
    for (int i = 40; i < 80; i++)
        for (int j = 0; j < 3; j++)
            *mat_ptr(X, i, j) += 6;
    kmeans_options ko = kmeans_defaults();
    ko.seed = 3;
    ko.progress = 0;
    ko.tol = 0; /* run until no label changes: a few iterations */
    /* no active run: nothing written, no error */
    int runs_before = track_runs_count(NULL);
    long errors = cairn_error_count();
    kmeans_result *km = kmeans_fit(X, 2, &ko);
    CHECK(km && track_runs_count(NULL) == runs_before && cairn_error_count() == errors);
    kmeans_free(km);

    CHECK(track_start_run("kmeans autolog") != NULL);
    char dir[1024];
    snprintf(dir, sizeof dir, "%s", track_run_dir());
    km = kmeans_fit(X, 2, &ko);
    CHECK(km && km->n_iter >= 1);
    track_flush();
    double v[400];
    long st[400];
    int n = read_points(dir, "kmeans.inertia", v, st, 400);
    CHECK(km && n == km->inertia_history.cols && n == km->n_iter);
    int same = km != NULL;
    for (int i = 0; km && i < n && i < km->inertia_history.cols; i++)
        same &= v[i] == km->inertia_history.data[i] && st[i] == i;
    CHECK(same);
    CHECK(read_points(dir, "kmeans.n_iter", v, st, 4) == 1 && km && v[0] == km->n_iter);
    char *p = slurpf("%s/params/%s", dir, "kmeans.k");
    CHECK(p && strcmp(p, "2") == 0);
    free(p);
    p = slurpf("%s/params/%s", dir, "kmeans.max_iter");
    CHECK(p && strcmp(p, "300") == 0);
    free(p);
    p = slurpf("%s/params/%s", dir, "kmeans.seed");
    CHECK(p && strcmp(p, "3") == 0);
    free(p);
    kmeans_free(km);
    /* a second fit in the same run with another k: no error (params keep the first fit's) */
    errors = cairn_error_count();
    km = kmeans_fit(X, 3, &ko);
    CHECK(km && cairn_error_count() == errors);
    p = slurpf("%s/params/%s", dir, "kmeans.k");
    CHECK(p && strcmp(p, "2") == 0);
    free(p);
    kmeans_free(km);
    track_end_run(NULL);

    /* turned off: nothing */
    track_autolog(0);
    CHECK(track_start_run("autolog off") != NULL);
    snprintf(dir, sizeof dir, "%s", track_run_dir());
    km = kmeans_fit(X, 2, &ko);
    track_flush();
    CHECK(read_points(dir, "kmeans.inertia", v, st, 400) == 0);
    p = slurpf("%s/params/%s", dir, "kmeans.k");
    CHECK(p == NULL);
    kmeans_free(km);
    track_end_run(NULL);
    track_autolog(1);

    /* nn_fit: params at the start, the history's curves epoch by epoch */
    nn_model *net = nn_model_new(1, 1, 3, 7);
    CHECK(net != NULL);
    if (net) {
        nn_flatten(net);
        nn_dense(net, 8);
        nn_relu(net);
        nn_dense(net, 2);
        nn_compile(net, NN_LOSS_CROSS_ENTROPY, nn_adam(0.01));
        mat y = mat_zeros(80, 1);
        for (int i = 40; i < 80; i++)
            y.data[i] = 1;
        mat order = mat_zeros(80, 1); /* mix the classes so the validation rows hold both */
        for (int i = 0; i < 80; i++)
            order.data[i] = i % 2 ? 40 + i / 2 : i / 2;
        mat Xs = mat_zeros(80, 3), ys = mat_zeros(80, 1);
        for (int i = 0; i < 80; i++) {
            int r = (int)order.data[i];
            for (int j = 0; j < 3; j++)
                *mat_ptr(Xs, i, j) = *mat_ptr(X, r, j);
            ys.data[i] = y.data[r];
        }
        mat_set_image_shape(&Xs, 1, 1, 3);
        nn_fit_options fo = nn_fit_defaults();
        fo.epochs = 4;
        fo.batch_size = 16;
        fo.validation_split = 0.25;
        fo.verbose = 0;
        CHECK(track_start_run("nn autolog") != NULL);
        snprintf(dir, sizeof dir, "%s", track_run_dir());
        nn_history h = nn_fit(net, Xs, ys, fo);
        track_flush();
        CHECK(h.epochs_run == 4);
        static const char *const keys[] = {"nn.train_loss", "nn.train_acc", "nn.val_loss", "nn.val_acc", "nn.lr"};
        const mat *curves[] = {&h.train_loss, &h.train_acc, &h.val_loss, &h.val_acc, &h.lr};
        for (int c = 0; c < 5; c++) {
            int m = read_points(dir, keys[c], v, st, 400);
            int ok = m == h.epochs_run;
            for (int e = 0; ok && e < m; e++)
                ok = v[e] == curves[c]->data[e] && st[e] == e;
            CHECK(ok);
            if (!ok)
                fprintf(stderr, "  %s: %d points for %d epochs\n", keys[c], m, h.epochs_run);
        }
        p = slurpf("%s/params/%s", dir, "nn.epochs");
        CHECK(p && strcmp(p, "4") == 0);
        free(p);
        p = slurpf("%s/params/%s", dir, "nn.optimizer");
        CHECK(p && strcmp(p, "adam") == 0);
        free(p);
        p = slurpf("%s/params/%s", dir, "nn.lr");
        CHECK(p && strcmp(p, "0.01") == 0);
        free(p);
        p = slurpf("%s/params/%s", dir, "nn.val_rows");
        CHECK(p && strcmp(p, "20") == 0);
        free(p);
        track_end_run(NULL);
        nn_history_free(&h);
        mat_free(&y);
        mat_free(&order);
        mat_free(&Xs);
        mat_free(&ys);
        nn_model_free(net);
    }
    mat_free(&X);
}

static void test_compare(void)
{
    CHECK(track_set_experiment("compare") == 0);
    for (int r = 0; r < 4; r++) {
        char name[32];
        snprintf(name, sizeof name, "lr%d", r);
        track_start_run(name);
        track_log_param("lr", pow(10, -r));
        track_log_param("width", 16 << r);
        for (int step = 0; step < 20; step++)
            track_log_metric("loss", (1.0 + r) / (step + 1), step);
        track_log_metric("acc", 0.5 + 0.1 * r, 19);
        track_end_run(NULL);
    }
    char *t = track_runs_text("compare", "acc desc");
    CHECK(t && strstr(t, "best first by acc (higher is better)"));
    /* the best acc (lr3) is row 1 and lr0 the last */
    CHECK(t && strstr(t, "\n1 ") && strstr(strstr(t, "\n1 "), "lr3") < strstr(t, "\n2 "));
    CHECK(t && strstr(strstr(t, "\n4 "), "lr0"));
    /* explicit params replace the ones logged from the notebook's parameters (lr = 0.5 there) */
    CHECK(t && strstr(strstr(t, "\n1 "), " 0.001 ") && strstr(t, " 0.001 ") < strstr(t, "\n2 "));
    free(t);
    t = track_runs_text("compare", "loss");
    CHECK(t && strstr(strstr(t, "\n1 "), "lr0") && strstr(t, "0.05")); /* lr0's last loss: 1/20 */
    free(t);
    figure *f = track_plot_metric("compare", "loss", 3);
    CHECK(f && strstr(plot_describe(f), "line") && strstr(plot_describe(f), "3"));
    plot_free(f);
    f = track_plot_param("compare", "lr", "acc");
    CHECK(f && strstr(plot_describe(f), "scatter 4 points"));
    plot_free(f);
    f = track_plot_parallel("compare", "acc");
    CHECK(f && strstr(plot_describe(f), "line"));
    CHECK(f && strstr(plot_describe(f), "\"acc by parameters: 4 runs of compare (yellow = high)\""));
    size_t size = 0;
    unsigned char *png = f ? plot_render_png(f, &size) : NULL;
    CHECK(png && size > 1000);
    free(png);
    plot_free(f);
    CHECK(track_plot_metric("compare", "nope", 0) == NULL && error_has("nope"));
    CHECK(track_plot_param("compare", "nope", "acc") == NULL && error_has("nope"));
    CHECK(track_runs_show("compare", "acc desc") == 0);
}

int main(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/cairn-test-track-XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(root, sizeof root, "%s/mlruns", tmpdir);
    char uri[600];
    snprintf(uri, sizeof uri, "file://%s", root);
    setenv("MLFLOW_TRACKING_URI", uri, 1);
    test_layout();
    test_bad_input();
    test_dead_process();
    test_params();
    test_sweeps();
    test_autolog();
    test_compare();
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmpdir);
    return check_summary("track");
}
