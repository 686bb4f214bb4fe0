/* executor.c — the session's process chain: one fork per cell, one level of undo.
 *
 * The current executor S_k holds everything the first k cells made. For an `execute` it
 * hands the request to a cell process C, which compiles and runs the cell in its copy of
 * the session: the spare it forked while idle (spare.c), or a process forked now.
 * If the cell compiles and runs, C commits the cell's names, reports `done` and carries
 * on AS the executor S_{k+1}; S_k stays blocked in waitpid(C) as the snapshot for %undo,
 * and C kills S_{k-1} (one level is kept; the front, a child subreaper, reaps it).
 * If C dies before committing — a crash, exit(), a compile or runtime error, an
 * interrupt that had to be killed — S_k is untouched: it reads the report page C shared
 * with it (exec_report), sends the `done` error and serves the next request as if the
 * cell had never run.
 *
 * When a committed C ends later, S_k wakes up again: with EXEC_EXIT_UNDO it becomes the
 * current executor (%undo); after a shutdown it exits too; if C was killed some other
 * way, S_k takes over with the state it holds and says so. */
#include "executor.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <valgrind/callgrind.h>
#include <valgrind/valgrind.h>

#include "cairn/display.h"
#include "cairn/error.h"
#include "cairn/plot.h"
#include "cairn/random.h"
#include "cairn/show.h"
#include "exec_internal.h"

exec_state exec_g;

/* ---- messages ---- */

static void send_simple(const char *type)
{
    json_t *m = json_pack("{s:s, s:i}", "type", type, "pid", (int)getpid());
    exec_send(m);
    json_decref(m);
}

static void send_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void send_log(const char *fmt, ...)
{
    char text[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    json_t *m = json_pack("{s:s, s:s}", "type", "log", "text", text);
    exec_send(m);
    json_decref(m);
}

json_t *done_error(const char *ename, const char *evalue, json_t *traceback)
{
    json_t *tb = traceback ? traceback : json_array();
    char head[4096];
    snprintf(head, sizeof head, "%s: %s", ename, evalue);
    json_array_insert_new(tb, 0, json_string(head));
    return json_pack("{s:s, s:s, s:s, s:s, s:o, s:{}}", "type", "done", "status", "error", "ename",
                     ename, "evalue", evalue, "traceback", tb, "user_expressions");
}

/* Finish a done message as the current executor and send it. */
static void send_done(json_t *done)
{
    json_object_set_new(done, "pid", json_integer(getpid()));
    /* The names list grows with the session (1600 entries after 500 cells: ~12 ms to
     * build, send and parse); the front keeps the last one it got, so a cell that
     * changed no name (most cells of a long session) sends nothing, and one that did
     * sends only what changed when the front holds the list this process sent last
     * (not so after %undo or a crash: an older executor then sends the whole list). */
    if (exec_g.names_cell != NAMES_CURRENT) {
        exec_g.names_hash = introspect_names_update(exec_g.names_cell);
        exec_g.names_cell = NAMES_CURRENT;
    }
    uint64_t h = exec_g.names_hash;
    if (!exec_g.front_names || *exec_g.front_names != h) {
        int as_delta = exec_g.front_names && exec_g.names_sent && *exec_g.front_names == exec_g.names_sent;
        introspect_names_into(done, as_delta);
        if (exec_g.front_names)
            *exec_g.front_names = h;
    } else {
        introspect_names_into(NULL, 0); /* the front has them already */
    }
    exec_g.names_sent = h;
    if (!json_object_get(done, "user_expressions"))
        json_object_set_new(done, "user_expressions", json_object());
    exec_send(done);
    json_decref(done);
}

/* A cell process leaves its done for the parent and ends (the session is not changed). */
static _Noreturn void leave_done(exec_report *r, json_t *done)
{
    char *text = json_dumps(done, JSON_COMPACT);
    if (text && strlen(text) < sizeof r->done) {
        strcpy(r->done, text);
        r->prepared = 1;
    }
    free(text);
    json_decref(done);
    fflush(stdout);
    fflush(stderr);
    _exit(EXEC_EXIT_REPORTED);
}

/* ---- memory limit of a cell process ---- */

static size_t parse_size(const char *s)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || v < 0)
        return (size_t)-1;
    switch (toupper((unsigned char)*end)) {
    case 'K': v *= 1024.0; break;
    case 'M': v *= 1024.0 * 1024; break;
    case 'G': v *= 1024.0 * 1024 * 1024; break;
    case 'T': v *= 1024.0 * 1024 * 1024 * 1024; break;
    default: break;
    }
    return (size_t)v;
}

static size_t meminfo_bytes(const char *key)
{
    FILE *f = fopen("/proc/meminfo", "r");
    if (!f)
        return 0;
    char line[256];
    size_t kb = 0, klen = strlen(key);
    while (fgets(line, sizeof line, f))
        if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
            kb = strtoull(line + klen + 1, NULL, 10);
            break;
        }
    fclose(f);
    return kb * 1024;
}

static size_t address_space_now(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f)
        return 0;
    unsigned long pages = 0;
    if (fscanf(f, "%lu", &pages) != 1)
        pages = 0;
    fclose(f);
    return (size_t)pages * (size_t)sysconf(_SC_PAGESIZE);
}

/* A cell that allocates without bound must fail its allocations, not take the machine
 * down: the cell process may grow its address space by 80% of the memory available now
 * (CAIRN_CELL_MEMORY_LIMIT=bytes[KMG] overrides; 0 disables). Address space, not RSS, is
 * what the kernel can limit per process; OpenBLAS and the compiler's mappings are in the
 * baseline already. AddressSanitizer reserves terabytes of shadow, so no limit there. */
static void limit_memory(exec_report *r)
{
#if defined(__SANITIZE_ADDRESS__)
    const int sanitized = 1;
#else
    const int sanitized = 0;
#endif
    if (sanitized)
        return;
    size_t grow;
    const char *env = getenv("CAIRN_CELL_MEMORY_LIMIT");
    if (env && *env) {
        grow = parse_size(env);
        if (grow == 0 || grow == (size_t)-1)
            return;
        r->memory_limit_env = 1;
    } else {
        grow = meminfo_bytes("MemAvailable") / 10 * 8;
        if (!grow)
            return;
    }
    struct rlimit rl;
    if (getrlimit(RLIMIT_AS, &rl) != 0)
        return;
    size_t want = address_space_now() + grow;
    if (rl.rlim_max != RLIM_INFINITY && want > rl.rlim_max)
        want = rl.rlim_max;
    rl.rlim_cur = want;
    if (setrlimit(RLIMIT_AS, &rl) == 0)
        r->memory_limit = grow;
}

static void unlimit_memory(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_AS, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_AS, &rl);
    }
}

/* ---- the cell process ---- */

static sigjmp_buf cell_jump;
static int cell_running;
static char runtime_error[2048];

static exec_report error_frames; /* cell frames of the runtime error (only `where` used) */

/* cairn_error inside a cell: find the cell frames on the stack while they are still
 * there, then leave the cell. The cell process is discarded, so whatever the runtime
 * function had allocated does not matter. */
static void on_runtime_error(const char *message)
{
    /* Only the cell's own thread can leave the cell; in a thread the cell started, the
     * failing function just returns its empty result (the message is recorded). */
    if (!cell_running || gettid() != getpid())
        return;
    snprintf(runtime_error, sizeof runtime_error, "%s", message);
    volatile char here = 0;
    crash_where_from(&error_frames, 0, (uintptr_t)&here);
    cell_running = 0;
    siglongjmp(cell_jump, 1);
}

static double now_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static double cpu_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* Three significant digits in the unit that fits, as IPython prints timings. */
static void format_duration(double s, char *buf, size_t size)
{
    if (s < 1e-6)
        snprintf(buf, size, "%.3g ns", s * 1e9);
    else if (s < 1e-3)
        snprintf(buf, size, "%.3g µs", s * 1e6);
    else if (s < 1)
        snprintf(buf, size, "%.3g ms", s * 1e3);
    else
        snprintf(buf, size, "%.3g s", s);
}

/* Run the compiled cell; a cairn_error inside it ends the cell process with the error. */
static void call_cell(exec_report *r, void (*entry)(void))
{
    cairn_set_error_handler(on_runtime_error);
    if (sigsetjmp(cell_jump, 1) == 0) {
        cell_running = 1;
        entry();
        cell_running = 0;
    } else {
        json_t *tb = frames_traceback(&error_frames, NULL, NULL);
        if (error_frames.where[0]) {
            /* "mat_zeros: negative shape" + "called from cell [3]" -> "mat_zeros was called from cell [3]" */
            char line[1200], func[128];
            size_t n = strcspn(runtime_error, ": ");
            if (n > 0 && n < sizeof func && runtime_error[n] == ':') {
                memcpy(func, runtime_error, n);
                func[n] = '\0';
            } else {
                snprintf(func, sizeof func, "the runtime function");
            }
            if (strncmp(error_frames.where, "called from ", 12) == 0)
                snprintf(line, sizeof line, "%s was %s", func, error_frames.where);
            else
                snprintf(line, sizeof line, "%s failed %s", func, error_frames.where);
            json_array_append_new(tb, json_string(line));
        }
        json_array_append_new(tb, json_string("The cell was not kept: the session is as it was before it."));
        leave_done(r, done_error("CairnError", runtime_error, tb));
    }
    cairn_set_error_handler(NULL);
}

/* %timeit as IPython does it: find a loop count whose run lasts >= 0.2 s (1, 2, 5, 10,
 * 20, 50, ...; those calibration runs warm caches), then time `runs` runs of that many
 * loops and print the mean ± standard deviation of the time per loop over the runs.
 * A slow cell gets fewer runs (at least 3, stopping after ~5 s), and says so. */
static void time_repeatedly(exec_report *r, void (*entry)(void), int loops, int runs)
{
    enum { MAX_RUNS = 1000 };
    static double t[MAX_RUNS];
    if (runs > MAX_RUNS)
        runs = MAX_RUNS;
    int auto_runs = runs == 0;
    if (auto_runs)
        runs = 7;
    double started = now_seconds();
    if (loops == 0) {
        static const int steps[] = {1, 2, 5};
        for (long scale = 1;; scale *= 10) {
            int done = 0;
            for (int i = 0; i < 3 && !done; i++) {
                loops = (int)(steps[i] * scale);
                double t0 = now_seconds();
                for (int k = 0; k < loops && !cairn_interrupted(); k++)
                    call_cell(r, entry);
                done = now_seconds() - t0 >= 0.2 || loops >= 100000000 || cairn_interrupted();
            }
            if (done)
                break;
        }
    }
    int n = 0;
    while (n < runs && !cairn_interrupted()) {
        double t0 = now_seconds();
        for (int k = 0; k < loops; k++)
            call_cell(r, entry);
        t[n++] = (now_seconds() - t0) / loops;
        if (auto_runs && n >= 3 && now_seconds() - started > 5.0)
            break;
    }
    if (n == 0) {
        printf("timeit: interrupted before the first run\n");
        return;
    }
    double mean = 0, var = 0;
    for (int i = 0; i < n; i++)
        mean += t[i];
    mean /= n;
    for (int i = 0; i < n; i++)
        var += (t[i] - mean) * (t[i] - mean);
    double std = n > 1 ? sqrt(var / n) : 0; /* population std. dev., as IPython */
    char m[32], sd[32];
    format_duration(mean, m, sizeof m);
    format_duration(std, sd, sizeof sd);
    printf("%s ± %s per loop (mean ± std. dev. of %d run%s, %d loop%s each)\n", m, sd, n, n == 1 ? "" : "s",
           loops, loops == 1 ? "" : "s");
}

/* tcc cannot declare the temporary that shows a void expression: a trailing call of a
 * void function (`show(fig)` without `;`) is then a plain statement. */
static int is_void_result_error(const compiled_cell *cc)
{
    for (size_t i = 0; i < json_array_size(cc->diagnostics); i++) {
        const char *d = json_string_value(json_array_get(cc->diagnostics, i));
        if (d && (strstr(d, "void object") || strstr(d, "void value")))
            return 1;
    }
    return 0;
}

/* ---- user_expressions: each evaluated in its own short-lived process ---- */

static char *expression_text;    /* where the capturing sink writes (the report page) */
static size_t expression_cap;

static void capture_result(int kind, const display_part *parts, int nparts, const char *display_id, int wait)
{
    (void)display_id;
    (void)wait;
    if (kind != DISPLAY_RESULT || !expression_text)
        return;
    for (int i = 0; i < nparts; i++)
        if (parts[i].mime && strcmp(parts[i].mime, "text/plain") == 0) {
            size_t n = parts[i].size < expression_cap - 1 ? parts[i].size : expression_cap - 1;
            memcpy(expression_text, parts[i].data, n);
            expression_text[n] = '\0';
        }
}

/* The value of one expression as a user_expressions entry: {status, data} or an error. */
static json_t *evaluate_expression(const char *expr, int number)
{
    exec_report *r = report_new();
    if (!r)
        return json_pack("{s:s, s:s, s:s, s:[]}", "status", "error", "ename", "OSError", "evalue",
                         "cannot map a report page", "traceback");
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        crash_install(r);
        limit_memory(r);
        expression_text = r->done;
        expression_cap = sizeof r->done;
        display_set_sink(capture_result);
        cairn_show_set_formatter(value_format);
        cell_unit unit;
        memset(&unit, 0, sizeof unit);
        compiled_cell cc;
        memset(&cc, 0, sizeof cc);
        int ok = cell_translate(exec_g.session, expr, number, &unit) == 0 && !unit.error &&
                 compile_cell(unit.source, expr, unit.entry, number, &unit, &cc) == 0;
        if (!ok) {
            snprintf(r->where, sizeof r->where, "%.1000s",
                     unit.error ? unit.error : (cc.first_error ? cc.first_error : "cannot compile"));
            _exit(2);
        }
        cairn_set_error_handler(on_runtime_error);
        if (sigsetjmp(cell_jump, 1) == 0) {
            cell_running = 1;
            cc.entry();
            cell_running = 0;
        } else {
            snprintf(r->where, sizeof r->where, "%.1000s", runtime_error);
            _exit(3);
        }
        r->prepared = 1;
        _exit(0);
    }
    int status = 0;
    if (pid > 0)
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
    json_t *out;
    if (pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0 && r->prepared) {
        out = json_pack("{s:s, s:{s:s}, s:{}}", "status", "ok", "data", "text/plain", r->done, "metadata");
    } else {
        const char *ename = "Error";
        char ev[1100];
        if (pid < 0) {
            snprintf(ev, sizeof ev, "cannot fork");
        } else if (WIFEXITED(status) && (WEXITSTATUS(status) == 2 || WEXITSTATUS(status) == 3)) {
            ename = WEXITSTATUS(status) == 2 ? "CompileError" : "CairnError";
            snprintf(ev, sizeof ev, "%s", r->where);
        } else if (WIFSIGNALED(status)) {
            const char *name = crash_signal_name(WTERMSIG(status));
            ename = name ? name : "signal";
            snprintf(ev, sizeof ev, "the expression crashed the process evaluating it");
        } else {
            snprintf(ev, sizeof ev, "the expression showed no value");
        }
        out = json_pack("{s:s, s:s, s:s, s:[s]}", "status", "error", "ename", ename, "evalue", ev, "traceback", ev);
    }
    report_free(r);
    return out;
}

static json_t *evaluate_user_expressions(json_t *exprs, int number)
{
    json_t *out = json_object();
    const char *key;
    json_t *value;
    json_object_foreach(exprs, key, value)
    {
        const char *expr = json_string_value(value);
        json_object_set_new(out, key,
                            expr ? evaluate_expression(expr, number)
                                 : json_pack("{s:s, s:s, s:s, s:[]}", "status", "error", "ename", "TypeError",
                                             "evalue", "a user expression must be a string", "traceback"));
    }
    return out;
}

typedef struct run_options {
    const char *code; /* magics blanked */
    int number;
    int time, timeit;
    int timeit_loops, timeit_runs; /* 0: automatic */
} run_options;

/* What a cell may have changed that would break the executor it becomes: an ignored
 * SIGCHLD (waitpid would no longer see the next cell process end), a pending alarm(),
 * blocked signals, its own handlers, and ours for fatal signals and SIGINT. */
static void restore_executor_signals(void)
{
    alarm(0);
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &off, NULL);
    for (int sig = 1; sig < NSIG; sig++)
        if (sig != SIGKILL && sig != SIGSTOP)
            signal(sig, SIG_DFL);
    signal(SIGINT, SIG_IGN);
    signal(SIGPIPE, SIG_IGN);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    stack_t off_stack = {0};
    off_stack.ss_flags = SS_DISABLE;
    sigaltstack(&off_stack, NULL);
}

/* Runs in the cell process. Returns only after the cell committed: the caller then
 * serves requests as the new executor. */
void cell_process_prepare(exec_report *r, pid_t parent)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(1);
    crash_install(r);
    limit_memory(r);
}

static void run_cell(exec_report *r, json_t *req, const run_options *opt, pid_t parent, int prepared)
{
    if (!prepared)
        cell_process_prepare(r, parent);
    cairn_set_interrupted(0);
    guard_cell_start();
    guard_check_cwd(); /* here, so that the note is given once: this process goes on */
    const char *code = opt->code;
    int number = opt->number;
    int silent = json_is_true(json_object_get(req, "silent"));
    cell_io_install_stdin(json_is_true(json_object_get(req, "allow_stdin")));
    cell_io_install_display(silent);
    cairn_show_set_formatter(value_format);
    send_simple("started");

    double t_start = now_seconds();
    cell_unit unit;
    memset(&unit, 0, sizeof unit);
    if (cell_translate(exec_g.session, code, number, &unit) != 0 || unit.error) {
        /* "line L, column C: message\n  <the line>\n  ^": the first line is the evalue. */
        const char *err = unit.error ? unit.error : "the cell could not be translated";
        size_t first = strcspn(err, "\n");
        char ev[1024];
        snprintf(ev, sizeof ev, "%.*s", (int)(first < 1000 ? first : 1000), err);
        json_t *tb = json_array();
        const char *rest = err + first;
        while (*rest == '\n') {
            rest++;
            size_t n = strcspn(rest, "\n");
            json_array_append_new(tb, json_stringn(rest, n));
            rest += n;
        }
        leave_done(r, done_error("SyntaxError", ev, tb));
    }

    compiled_cell cc;
    int rc = compile_cell(unit.source, code, unit.entry, number, &unit, &cc);
    if (rc != 0 && unit.has_result && is_void_result_error(&cc)) {
        size_t len = strlen(code);
        char *as_statement = malloc(len + 3);
        if (as_statement) {
            memcpy(as_statement, code, len);
            memcpy(as_statement + len, "\n;", 3);
            cell_unit retry;
            memset(&retry, 0, sizeof retry);
            if (cell_translate(exec_g.session, as_statement, number, &retry) == 0 && !retry.error) {
                compiled_cell cc2;
                if (compile_cell(retry.source, code, retry.entry, number, &retry, &cc2) == 0) {
                    compiled_cell_free(&cc);
                    cell_unit_free(&unit);
                    cc = cc2;
                    unit = retry;
                    rc = 0;
                } else {
                    compiled_cell_free(&cc2);
                    cell_unit_free(&retry);
                }
            } else {
                cell_unit_free(&retry);
            }
            free(as_statement);
        }
    }
    if (rc != 0) {
        /* Each diagnostic once, with its line: no "CompileError: ..." head line that
         * would repeat the first one (the evalue says it for clients that want it). */
        json_t *done = done_error("CompileError", cc.first_error, json_copy(cc.diagnostics));
        json_array_remove(json_object_get(done, "traceback"), 0);
        leave_done(r, done);
    }
    if (cell_unit_infer_types(exec_g.session, &unit) != 0) {
        /* `auto` inferred a type the session cannot name (kernel/cell/README.md). */
        size_t first = strcspn(unit.error, "\n");
        char ev[1024];
        snprintf(ev, sizeof ev, "%.*s", (int)(first < 1000 ? first : 1000), unit.error);
        json_t *tb = json_array();
        for (const char *rest = unit.error + first; *rest == '\n';) {
            size_t n = strcspn(++rest, "\n");
            json_array_append_new(tb, json_stringn(rest, n));
            rest += n;
        }
        leave_done(r, done_error("TypeError", ev, tb));
    }
    if (exec_g.nregions > 0) {
        /* The parent has no copy of this cell's code: give it the unit for line numbers. */
        const char *src = exec_g.regions[exec_g.nregions - 1].source;
        if (src && strlen(src) < sizeof r->source)
            strcpy(r->source, src);
    }
    double t_compiled = now_seconds();
    if (unit.notes)
        fputs(unit.notes, stdout);
    /* Warnings of a cell that compiled go to stderr, where a C programmer expects them. */
    for (size_t i = 0; i < json_array_size(cc.diagnostics); i++)
        fprintf(stderr, "%s\n", json_string_value(json_array_get(cc.diagnostics, i)));
    if (cairn_interrupted())
        leave_done(r, done_error("KeyboardInterrupt", "interrupted before the cell ran", NULL));

    if (opt->timeit) {
        /* Like IPython: what the timed code defines is not kept. */
        time_repeatedly(r, cc.entry, opt->timeit_loops, opt->timeit_runs);
        leave_done(r, json_pack("{s:s, s:s}", "type", "done", "status", "ok"));
    }
    double cpu0 = cpu_seconds();
    pid_t me = getpid();
    cell_io_defer_result(opt->time);
    call_cell(r, cc.entry);
    if (getpid() != me)
        _exit(0); /* a process the cell forked returned from it: it is not the executor */
    if (opt->time) {
        char wall[32], cpu[32], comp[32];
        format_duration(now_seconds() - t_compiled, wall, sizeof wall);
        format_duration(cpu_seconds() - cpu0, cpu, sizeof cpu);
        format_duration(t_compiled - t_start, comp, sizeof comp);
        printf("time: %s wall, %s cpu (compile %s)\n", wall, cpu, comp);
        cell_io_defer_result(0);
        cell_io_release_result(1); /* Out after the time, as IPython */
    }
    compiled_cell_free(&cc);
    char lost[512];
    if (guard_commit(lost, sizeof lost) != 0) {
        /* Something of the kernel's that this process cannot get back (guard.c). */
        json_t *tb = json_array();
        json_array_append_new(tb, json_string("The cell was not kept: the session is as it was before it."));
        leave_done(r, done_error("OSError", lost, tb));
    }

    /* Commit: from here on this process is the executor. */
    /* Every name a cell adds or changes is in unit.defined; only a directive (#undef)
     * can drop one otherwise. Else the names, and their hash, are those of the executor
     * we came from. */
    if (unit.ndefined > 0 || strchr(code, '#')) {
        if (exec_g.names_cell != NAMES_ALL) /* the first record of all names is still to be made */
            exec_g.names_cell = number;
    }
    cell_unit_drop_undefined(&unit);
    cell_session_commit(exec_g.session, &unit);
    cell_unit_free(&unit);
    code_drop_texts(number);
    int interrupted = cairn_interrupted();
    cairn_set_interrupted(0);
    fflush(stdout);
    fflush(stderr);
    r->committed = 1;
    prctl(PR_SET_PDEATHSIG, 0);
    restore_executor_signals();
    unlimit_memory();
    pid_t older = exec_g.prev_pid; /* S_{k-1}: no longer needed, ended after the reply */
    if (exec_g.parent_report)
        report_free(exec_g.parent_report);
    exec_g.parent_report = r;
    exec_g.prev_pid = parent;
    exec_g.last_count = number;
    r->busy = 1;
    r->last_count = number;
    json_t *done;
    if (interrupted)
        done = done_error("KeyboardInterrupt",
                          "the cell stopped early; what it did until then is kept", NULL);
    else
        done = json_pack("{s:s, s:s}", "type", "done", "status", "ok");
    json_t *exprs = json_object_get(req, "user_expressions");
    if (!interrupted && json_is_object(exprs) && json_object_size(exprs) > 0)
        json_object_set_new(done, "user_expressions", evaluate_user_expressions(exprs, number));
    send_done(done);
    /* Ending the older executor makes the kernel tear down its address space (page
     * tables of the whole session): after the reply, not on the cell's round trip. */
    if (older > 0)
        kill(older, RUNNING_ON_VALGRIND ? SIGTERM : SIGKILL); /* SIGTERM: callgrind writes its profile */
    r->busy = 0;
}

enum { KEEP_SERVING = 0, STOP_SERVING = 1 };

static int execute(json_t *req)
{
    const char *text = json_string_value(json_object_get(req, "code"));
    int number = (int)json_integer_value(json_object_get(req, "execution_count"));
    if (number <= 0)
        number = exec_g.last_count + 1;
    cell_magics mg;
    if (magics_parse(text ? text : "", &mg) != 0) {
        send_simple("started");
        send_done(done_error("MemoryError", "out of memory reading the cell", NULL));
        return KEEP_SERVING;
    }
    if (mg.bad[0]) {
        send_simple("started");
        send_done(done_error("UsageError", mg.bad, NULL));
        magics_free(&mg);
        return KEEP_SERVING;
    }
    if (mg.undo) {
        magics_free(&mg);
        send_simple("started");
        /* The snapshot must still be there (not killed from outside) to take over. */
        if (!exec_g.parent_report || exec_g.prev_pid <= 0 || kill(exec_g.prev_pid, 0) != 0 ||
            getppid() != exec_g.prev_pid) {
            send_done(done_error("UndoError",
                                 "nothing to undo: cairn keeps the state before the last cell only, once",
                                 NULL));
            return KEEP_SERVING;
        }
        fflush(stdout);
        fflush(stderr);
        _exit(EXEC_EXIT_UNDO); /* the parent takes over and answers */
    }
    if (mg.file_path) {
        char err[1024];
        int rc = magics_write_file(&mg, err, sizeof err);
        send_simple("started");
        send_done(rc == 0 ? json_pack("{s:s, s:s}", "type", "done", "status", "ok") : done_error("OSError", err, NULL));
        magics_free(&mg);
        return KEEP_SERVING;
    }
    /* The spare is a copy of the executor as it is now: not after what these change. */
    if (mg.nactions || mg.seed_set || mg.cflags || mg.cflags_show || mg.who || mg.whos)
        spare_discard();
    /* Magics that read or set executor state run here, without a cell process, in the
     * order written; the next cell process forks from what they set. */
    for (int i = 0; i < mg.nactions; i++) {
        char err[2048] = "";
        int rc = magics_run_action(&mg.actions[i], err, sizeof err);
        if (rc < 0) {
            send_simple("started");
            send_done(done_error(rc <= -2 ? "UsageError" : "OSError", err, NULL));
            magics_free(&mg);
            return KEEP_SERVING;
        }
    }
    if (mg.seed_set)
        rng_seed((uint64_t)mg.seed);
    if (mg.cflags) {
        free(exec_g.cflags);
        exec_g.cflags = strcmp(mg.cflags, "none") == 0 ? NULL : strdup(mg.cflags);
        printf("cflags: %s\n", exec_g.cflags ? exec_g.cflags : "(none)");
    } else if (mg.cflags_show) {
        printf("cflags: %s\n", exec_g.cflags ? exec_g.cflags : "(none)");
    }
    if (mg.who || mg.whos)
        introspect_whos(mg.whos);
    if (!mg.has_code) {
        send_simple("started");
        send_done(json_pack("{s:s, s:s}", "type", "done", "status", "ok"));
        magics_free(&mg);
        return KEEP_SERVING;
    }
    run_options opt = {mg.code, number, mg.time, mg.timeit, mg.timeit_loops, mg.timeit_runs};

    if (exec_g.parent_report)
        exec_g.parent_report->busy = 1;
    fflush(NULL); /* what the executor printed goes out before the cell's output */
    exec_report *r = NULL;
    pid_t pid = spare_hand_over(req, &r);
    if (pid == 0) {
        r = report_new();
        if (!r) {
            send_done(done_error("OSError", "cannot map the report page for a cell process", NULL));
            magics_free(&mg);
            return KEEP_SERVING;
        }
        prelude_prepare();
        pid_t me = getpid();
        pid = fork();
        if (pid < 0) {
            char ev[256];
            snprintf(ev, sizeof ev, "cannot fork the cell process: %s", strerror(errno));
            report_free(r);
            magics_free(&mg);
            send_done(done_error("OSError", ev, NULL));
            return KEEP_SERVING;
        }
        if (pid == 0) {
            run_cell(r, req, &opt, me, 0);
            magics_free(&mg);
            return KEEP_SERVING; /* we are the executor now */
        }
    }

    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    int rc = KEEP_SERVING;
    if (r->committed) {
        /* Our child had become the executor; it killed our parent when it committed, so
         * no older snapshot is left for us. */
        exec_g.prev_pid = 0;
        if (r->shutdown) {
            if (exec_g.parent_report)
                exec_g.parent_report->shutdown = 1;
            rc = STOP_SERVING;
        } else if (WIFEXITED(status) && WEXITSTATUS(status) == EXEC_EXIT_UNDO) {
            printf("undo: back to the session as it was before cell [%d]\n", r->last_count);
            send_done(json_pack("{s:s, s:s}", "type", "done", "status", "ok"));
        } else {
            char what[64];
            if (WIFSIGNALED(status))
                snprintf(what, sizeof what, "was killed by signal %d", WTERMSIG(status));
            else
                snprintf(what, sizeof what, "exited with status %d", WEXITSTATUS(status));
            send_log("executor %d %s; executor %d takes over with the state before cell [%d]",
                     (int)pid, what, (int)getpid(), r->last_count);
            if (r->busy) {
                char ev[256];
                snprintf(ev, sizeof ev, "the session process %s; the state is back to before cell [%d]",
                         what, r->last_count);
                send_done(done_error("ExecutorDied", ev, NULL));
            } else {
                send_simple("ready");
            }
        }
    } else if (r->prepared) {
        json_error_t err;
        json_t *done = json_loads(r->done, 0, &err);
        if (!done)
            done = done_error("InternalError", "the cell process left an unreadable report", NULL);
        send_done(done);
    } else {
        send_done(describe_death(r, status, number, mg.code));
    }
    if (exec_g.parent_report)
        exec_g.parent_report->busy = 0;
    report_free(r);
    magics_free(&mg);
    return rc;
}

/* In a spare cell process (spare.c) that received its request: run the cell as a forked
 * cell process would. Returns only as the new executor. */
static void execute_in_spare(json_t *req, exec_report *r, pid_t parent)
{
    const char *text = json_string_value(json_object_get(req, "code"));
    int number = (int)json_integer_value(json_object_get(req, "execution_count"));
    if (number <= 0)
        number = exec_g.last_count + 1;
    cell_magics mg;
    if (magics_parse(text ? text : "", &mg) != 0)
        leave_done(r, done_error("MemoryError", "out of memory reading the cell", NULL));
    run_options opt = {mg.code, number, mg.time, mg.timeit, mg.timeit_loops, mg.timeit_runs};
    run_cell(r, req, &opt, parent, 1);
    magics_free(&mg);
}

/* Under callgrind a forked child starts with its parent's counts; zeroed, every process's
 * profile holds only its own instructions and they add up (tests/bench/bench_kernel.py
 * --callgrind). */
static void callgrind_own_counts(void)
{
    CALLGRIND_ZERO_STATS;
}

int executor_run(int exec_fd)
{
    memset(&exec_g, 0, sizeof exec_g);
    exec_g.names_cell = NAMES_ALL;
    if (RUNNING_ON_VALGRIND)
        pthread_atfork(NULL, NULL, callgrind_own_counts);
    setpgid(0, 0);
    signal(SIGINT, SIG_IGN);
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0);
    exec_fd = exec_g.fd = guard_init(exec_fd); /* out of reach of cells' close() */
    prelude_start();
    void *shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    exec_g.front_names = shared == MAP_FAILED ? NULL : shared; /* 0: the front has no names yet */
    compile_reserve_arena();
    exec_g.session = cell_session_new();
    if (!exec_g.session) {
        send_log("executor: cannot create the session (out of memory)");
        return 1;
    }
    send_simple("ready");
    /* Fonts and colour tables once, here, before any fork: the first figure of every
     * cell then costs ~1 ms instead of 10-24 ms. After `ready`, because the front answers
     * kernel_info itself and a first execute waits at most this long. */
    plot_init();
    for (;;) {
        json_t *spare_req;
        exec_report *spare_report;
        pid_t spare_parent;
        if (spare_start(&spare_req, &spare_report, &spare_parent) == 1) {
            /* This process is the spare, and its cell came: run it, then serve. */
            execute_in_spare(spare_req, spare_report, spare_parent);
            json_decref(spare_req);
            continue;
        }
        if (!spare_live())
            warm_prepare(); /* the next cell's compiler state, while nothing else waits */
        ipc_msg m;
        int got = ipc_recv(exec_fd, &exec_g.reader, &m);
        if (got < 0)
            break; /* the front is gone */
        if (got == 0)
            continue;
        const char *op = json_string_value(json_object_get(m.header, "op"));
        int rc = KEEP_SERVING;
        if (!op) {
            send_log("executor: message without op");
        } else if (strcmp(op, "execute") == 0) {
            rc = execute(m.header);
        } else if (strcmp(op, "inspect") == 0 || strcmp(op, "complete") == 0) {
            const char *code = json_string_value(json_object_get(m.header, "code"));
            int pos = (int)json_integer_value(json_object_get(m.header, "cursor_pos"));
            json_t *content = strcmp(op, "inspect") == 0
                                  ? introspect_inspect(code ? code : "", pos,
                                                       (int)json_integer_value(json_object_get(m.header, "detail_level")))
                                  : introspect_complete(code ? code : "", pos);
            json_t *reply = json_pack("{s:s, s:s, s:o}", "type", "reply", "op", op, "content", content);
            exec_send(reply);
            json_decref(reply);
        } else if (strcmp(op, "shutdown") == 0) {
            rc = STOP_SERVING;
        } else if (strcmp(op, "input_reply") == 0) {
            /* a reply that arrived after its cell ended: nothing waits for it */
        } else {
            send_log("executor: unknown op '%s'", op);
        }
        ipc_msg_free(&m);
        if (rc == STOP_SERVING)
            break;
    }
    spare_discard();
    if (exec_g.parent_report)
        exec_g.parent_report->shutdown = 1;
    fflush(NULL);
    return 0;
}
