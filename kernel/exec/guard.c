/* guard.c — what belongs to the session and not to a cell: kept descriptors, the
 * standard streams, resource limits; and what a cell left behind that the user should
 * know of (processes, threads, a program it exec'd).
 *
 * A committed cell process becomes the next executor (executor.c), so whatever a cell
 * did to its process would otherwise stay for every later cell: `fclose(stdout)` or
 * `close(1)` silenced the session, closing the socketpair cut it off. So:
 *
 * - The kernel's descriptors (the socketpair, the prelude's memfds) live at high
 *   numbers, close-on-exec, each with a spare copy; 0, 1 and 2 (/dev/null and the two
 *   output pipes) have spare copies too. Cell code's close/close_range/dup2/dup3 do not
 *   touch the kernel-only ones (the cell sees EBADF, as if they were not there). When the
 *   cell commits, each kept descriptor is checked (fstat: same file?) and restored from
 *   its spare; when both are gone (a raw syscall closed everything) the cell cannot be
 *   kept and is rolled back, saying why.
 * - `stdout`/`stderr` are the kernel's FILEs: a cell's fclose of them sends the rest of
 *   the cell's output to /dev/null instead of closing them; at commit the variables, the
 *   descriptors behind them and their error flags are restored, with a note.
 * - Soft resource limits a cell lowers are raised back at commit (with a note); a hard
 *   limit it lowered cannot be raised again without privileges, so such a cell is not
 *   kept (also when the kernel runs as root: the rule does not depend on who runs it).
 * - At commit the cell's child processes and threads that still run are reported.
 *
 * The per-cell cost is three fstat calls and a poll at commit (~2.5 µs);
 * everything else runs only when the cell called one of the wrapped functions, which
 * compile.c binds for the cells that name them. */
#include "exec_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define KEPT_FD_BASE 600
#define KEPT_MAX 8

typedef struct kept_fd {
    int fd;    /* the number the kernel uses (0, 1, 2 stay where they are) */
    int spare; /* a second descriptor of the same file (close-on-exec), or -1 */
    dev_t dev;
    ino_t ino;
    const char *what;
} kept_fd;

static kept_fd kept[KEPT_MAX];
static int nkept;
static FILE *kernel_stdout, *kernel_stderr;
static struct rlimit limits[RLIM_NLIMITS];

/* Set by the wrappers while a cell runs (each cell process starts from the executor's 0). */
static int touched_limits;
static int replaced_streams; /* a cell fclose'd stdout or stderr */
static atomic_int threads_running;
enum { FORKED_MAX = 64 };
static pid_t forked[FORKED_MAX]; /* children cell code forked */
static int nforked;

static int same_file(int fd, const kept_fd *k)
{
    struct stat st;
    return fd >= 0 && fstat(fd, &st) == 0 && st.st_dev == k->dev && st.st_ino == k->ino;
}

static int dup_high(int fd)
{
    int n = fcntl(fd, F_DUPFD_CLOEXEC, KEPT_FD_BASE);
    if (n < 0)
        n = fcntl(fd, F_DUPFD_CLOEXEC, 10); /* RLIMIT_NOFILE below the base */
    return n;
}

int guard_keep_fd(int fd, const char *what)
{
    struct stat st;
    if (fd < 0 || nkept >= KEPT_MAX || fstat(fd, &st) != 0)
        return fd;
    if (fd > 2) {
        int moved = dup_high(fd);
        if (moved >= 0) {
            close(fd);
            fd = moved;
        }
    }
    kept_fd *k = &kept[nkept++];
    k->fd = fd;
    k->dev = st.st_dev;
    k->ino = st.st_ino;
    k->what = what;
    k->spare = dup_high(fd);
    return fd;
}

void guard_forget_fd(int fd)
{
    for (int i = 0; i < nkept; i++)
        if (kept[i].fd == fd) {
            if (kept[i].spare >= 0)
                close(kept[i].spare);
            kept[i] = kept[--nkept];
            return;
        }
}

static const kept_fd *kept_find(int fd)
{
    for (int i = 0; i < nkept; i++)
        if (kept[i].fd == fd || kept[i].spare == fd)
            return &kept[i];
    return NULL;
}

int guard_output_fd(int fd)
{
    const kept_fd *k = kept_find(fd);
    return k && k->spare >= 0 ? k->spare : fd;
}

int guard_init(int exec_fd)
{
    guard_keep_fd(0, "stdin (/dev/null)");
    guard_keep_fd(1, "the stdout pipe");
    guard_keep_fd(2, "the stderr pipe");
    exec_fd = guard_keep_fd(exec_fd, "the connection to the kernel");
    kernel_stdout = stdout;
    kernel_stderr = stderr;
    for (int i = 0; i < RLIM_NLIMITS; i++)
        if (getrlimit((__rlimit_resource_t)i, &limits[i]) != 0)
            limits[i].rlim_cur = limits[i].rlim_max = RLIM_INFINITY;
    return exec_fd;
}

/* ---- what cell code calls instead of libc's ---- */

static int is_kernel_only(int fd)
{
    const kept_fd *k = kept_find(fd);
    return k && fd > 2;
}

static int cell_close(int fd)
{
    if (is_kernel_only(fd)) {
        errno = EBADF;
        return -1;
    }
    return close(fd);
}

static int cell_close_range(unsigned first, unsigned last, int flags)
{
    /* Close around the kernel's descriptors. */
    unsigned from = first;
    int rc = 0;
    for (;;) {
        unsigned next = last, found = 0;
        for (int i = 0; i < nkept; i++) {
            int fds[2] = {kept[i].fd, kept[i].spare};
            for (int j = 0; j < 2; j++)
                if (fds[j] > 2 && (unsigned)fds[j] >= from && (unsigned)fds[j] <= last &&
                    (!found || (unsigned)fds[j] < next)) {
                    next = (unsigned)fds[j];
                    found = 1;
                }
        }
        if (!found)
            return from <= last ? close_range(from, last, flags) : rc;
        if (next > from && close_range(from, next - 1, flags) != 0)
            rc = -1;
        if (next == last || next == ~0u)
            return rc;
        from = next + 1;
    }
}

static int cell_dup2(int oldfd, int newfd)
{
    if (is_kernel_only(newfd)) {
        errno = EBADF;
        return -1;
    }
    return dup2(oldfd, newfd);
}

static int cell_dup3(int oldfd, int newfd, int flags)
{
    if (is_kernel_only(newfd)) {
        errno = EBADF;
        return -1;
    }
    return dup3(oldfd, newfd, flags);
}

/* fclose(stdout) in a cell: the rest of the cell's output goes nowhere, as the cell
 * asked, but the FILE stays the kernel's (glibc's static object) and is restored at
 * commit. stdin is the cell's input stream (cell_io.c): it reads EOF from now on. */
static int cell_fclose(FILE *f)
{
    if (f && (f == kernel_stdout || f == kernel_stderr)) {
        fflush(f);
        replaced_streams = 1;
        return freopen("/dev/null", "w", f) ? 0 : EOF;
    }
    if (f && f == cell_io_stdin()) {
        cell_io_close_stdin();
        return 0;
    }
    return fclose(f);
}

static int cell_setrlimit(__rlimit_resource_t resource, const struct rlimit *rl)
{
    touched_limits = 1;
    return setrlimit(resource, rl);
}

static int cell_prlimit(pid_t pid, __rlimit_resource_t resource, const struct rlimit *rl, struct rlimit *old)
{
    if (rl)
        touched_limits = 1;
    return prlimit(pid, resource, rl, old);
}

static pid_t cell_fork(void)
{
    pid_t pid = fork();
    if (pid > 0 && nforked < FORKED_MAX)
        forked[nforked++] = pid;
    else if (pid == 0)
        nforked = 0;
    return pid;
}

typedef struct thread_start {
    void *(*fn)(void *);
    void *arg;
} thread_start;

static void thread_ended(void *unused)
{
    (void)unused;
    atomic_fetch_sub(&threads_running, 1);
}

static void *thread_trampoline(void *p)
{
    thread_start t = *(thread_start *)p;
    free(p);
    void *result;
    pthread_cleanup_push(thread_ended, NULL);
    result = t.fn(t.arg);
    pthread_cleanup_pop(1);
    return result;
}

static int cell_pthread_create(pthread_t *th, const pthread_attr_t *attr, void *(*fn)(void *), void *arg)
{
    thread_start *t = malloc(sizeof *t);
    if (!t)
        return EAGAIN;
    t->fn = fn;
    t->arg = arg;
    atomic_fetch_add(&threads_running, 1);
    int rc = pthread_create(th, attr, thread_trampoline, t);
    if (rc != 0) {
        atomic_fetch_sub(&threads_running, 1);
        free(t);
    }
    return rc;
}

/* exec*: the cell's process becomes another program; say which when it ends. */
static void note_exec(const char *path)
{
    exec_report *r = crash_report();
    if (r)
        snprintf(r->exec_path, sizeof r->exec_path, "%s", path ? path : "?");
    fflush(NULL);
}

static void exec_failed(void)
{
    exec_report *r = crash_report();
    if (r)
        r->exec_path[0] = '\0';
}

static int cell_execve(const char *path, char *const argv[], char *const envp[])
{
    note_exec(path);
    int rc = execve(path, argv, envp);
    exec_failed();
    return rc;
}

static int cell_execv(const char *path, char *const argv[])
{
    note_exec(path);
    int rc = execv(path, argv);
    exec_failed();
    return rc;
}

static int cell_execvp(const char *file, char *const argv[])
{
    note_exec(file);
    int rc = execvp(file, argv);
    exec_failed();
    return rc;
}

static int cell_execvpe(const char *file, char *const argv[], char *const envp[])
{
    note_exec(file);
    int rc = execvpe(file, argv, envp);
    exec_failed();
    return rc;
}

enum { EXECL_MAX_ARGS = 4096 };

/* execl, execlp, execle: collect the variadic arguments into an argv. */
static int execl_common(int kind, const char *path, const char *arg0, va_list ap)
{
    char **argv = malloc(EXECL_MAX_ARGS * sizeof *argv);
    if (!argv) {
        errno = ENOMEM;
        return -1;
    }
    int n = 0;
    argv[n++] = (char *)arg0;
    while (arg0 && n < EXECL_MAX_ARGS - 1 && (argv[n] = va_arg(ap, char *)) != NULL)
        n++;
    if (n == EXECL_MAX_ARGS - 1) {
        free(argv);
        errno = E2BIG;
        return -1;
    }
    argv[n] = NULL;
    char *const *envp = kind == 2 ? va_arg(ap, char *const *) : environ;
    note_exec(path);
    int rc = kind == 1 ? execvp(path, argv) : execve(path, argv, envp);
    exec_failed();
    free(argv);
    return rc;
}

static int cell_execl(const char *path, const char *arg0, ...)
{
    va_list ap;
    va_start(ap, arg0);
    int rc = execl_common(0, path, arg0, ap);
    va_end(ap);
    return rc;
}

static int cell_execlp(const char *file, const char *arg0, ...)
{
    va_list ap;
    va_start(ap, arg0);
    int rc = execl_common(1, file, arg0, ap);
    va_end(ap);
    return rc;
}

static int cell_execle(const char *path, const char *arg0, ...)
{
    va_list ap;
    va_start(ap, arg0);
    int rc = execl_common(2, path, arg0, ap);
    va_end(ap);
    return rc;
}

static const guard_wrapper wrappers[] = {
    {"close", (void *)cell_close},
    {"close_range", (void *)cell_close_range},
    {"dup2", (void *)cell_dup2},
    {"dup3", (void *)cell_dup3},
    {"execl", (void *)cell_execl},
    {"execle", (void *)cell_execle},
    {"execlp", (void *)cell_execlp},
    {"execv", (void *)cell_execv},
    {"execve", (void *)cell_execve},
    {"execvp", (void *)cell_execvp},
    {"execvpe", (void *)cell_execvpe},
    {"fclose", (void *)cell_fclose},
    {"fork", (void *)cell_fork},
    {"prlimit", (void *)cell_prlimit},
    {"prlimit64", (void *)cell_prlimit},
    {"pthread_create", (void *)cell_pthread_create},
    {"setrlimit", (void *)cell_setrlimit},
    {"setrlimit64", (void *)cell_setrlimit},
};

const guard_wrapper *guard_wrappers(size_t *n)
{
    *n = sizeof wrappers / sizeof wrappers[0];
    return wrappers;
}

void *guard_wrapper_for(const char *name)
{
    /* a dozen names: a check of the first letter rules most words out */
    if (!strchr("cdefps", name[0]))
        return NULL;
    for (size_t i = 0; i < sizeof wrappers / sizeof wrappers[0]; i++)
        if (strcmp(wrappers[i].name, name) == 0)
            return wrappers[i].fn;
    return NULL;
}

/* ---- at commit ---- */

static const char *limit_name(int r)
{
    switch (r) {
    case RLIMIT_CPU: return "RLIMIT_CPU";
    case RLIMIT_FSIZE: return "RLIMIT_FSIZE";
    case RLIMIT_DATA: return "RLIMIT_DATA";
    case RLIMIT_STACK: return "RLIMIT_STACK";
    case RLIMIT_CORE: return "RLIMIT_CORE";
    case RLIMIT_RSS: return "RLIMIT_RSS";
    case RLIMIT_NPROC: return "RLIMIT_NPROC";
    case RLIMIT_NOFILE: return "RLIMIT_NOFILE";
    case RLIMIT_MEMLOCK: return "RLIMIT_MEMLOCK";
    case RLIMIT_AS: return "RLIMIT_AS";
    case RLIMIT_LOCKS: return "RLIMIT_LOCKS";
    case RLIMIT_SIGPENDING: return "RLIMIT_SIGPENDING";
    case RLIMIT_MSGQUEUE: return "RLIMIT_MSGQUEUE";
    case RLIMIT_NICE: return "RLIMIT_NICE";
    case RLIMIT_RTPRIO: return "RLIMIT_RTPRIO";
    case RLIMIT_RTTIME: return "RLIMIT_RTTIME";
    default: return "a resource limit";
    }
}

static void format_limit(rlim_t v, char *buf, size_t size)
{
    if (v == RLIM_INFINITY)
        snprintf(buf, size, "unlimited");
    else
        snprintf(buf, size, "%llu", (unsigned long long)v);
}

/* Lowered soft limits back to the session's; -1 when a hard limit went down. */
static int check_limits(char *err, size_t errsize)
{
    for (int i = 0; i < RLIM_NLIMITS; i++) {
        struct rlimit now;
        if (getrlimit((__rlimit_resource_t)i, &now) != 0)
            continue;
        struct rlimit *was = &limits[i];
        if (now.rlim_max < was->rlim_max) {
            char a[32], b[32];
            format_limit(was->rlim_max, a, sizeof a);
            format_limit(now.rlim_max, b, sizeof b);
            snprintf(err, errsize,
                     "the cell lowered the hard limit %s from %s to %s; a hard limit cannot be raised "
                     "again (without privileges), so the session cannot keep it",
                     limit_name(i), a, b);
            return -1;
        }
        if (i == RLIMIT_AS)
            continue; /* the cell's memory limit: the executor sets it back itself */
        if (now.rlim_cur < was->rlim_cur) {
            char a[32], b[32];
            format_limit(now.rlim_cur, a, sizeof a);
            format_limit(was->rlim_cur, b, sizeof b);
            now.rlim_cur = was->rlim_cur;
            if (setrlimit((__rlimit_resource_t)i, &now) == 0)
                fprintf(stderr, "note: %s was lowered to %s for this cell; later cells have the session's %s again\n",
                        limit_name(i), a, b);
        } else if (now.rlim_cur > was->rlim_cur) {
            was->rlim_cur = now.rlim_cur; /* raised: kept for later cells */
        }
    }
    return 0;
}

/* Children the cell's code forked that still run (ended ones are reaped): their pids
 * into buf. Processes the runtime starts for itself (a watcher, trial processes it
 * waits for) are not the cell's news. */
static int running_children(char *buf, size_t size)
{
    int n = 0;
    size_t len = 0;
    buf[0] = '\0';
    for (int i = 0; i < nforked; i++) {
        int status;
        if (waitpid(forked[i], &status, WNOHANG) != 0)
            continue; /* ended (reaped now), or not our child any more */
        int w = snprintf(buf + len, size - len, "%s%d", n ? ", " : "", (int)forked[i]);
        if (w > 0 && (size_t)w < size - len)
            len += (size_t)w;
        n++;
    }
    nforked = 0;
    return n;
}

static void reopen_devnull(void)
{
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd > 0) {
        dup2(fd, 0);
        close(fd);
    }
}

int guard_commit(char *err, size_t errsize)
{
    fflush(stdout);
    fflush(stderr);
    int repaired_streams = replaced_streams;
    if (stdout != kernel_stdout || stderr != kernel_stderr) {
        stdout = kernel_stdout;
        stderr = kernel_stderr;
        repaired_streams = 1;
    }
    char lost[400] = "";
    /* One poll says which high descriptors are closed (POLLNVAL): cell code cannot
     * replace them (dup2 and dup3 are wrapped), only a raw syscall closes them. 0, 1 and
     * 2 are often replaced rather than closed (freopen, dup2): compared with fstat. */
    struct pollfd pf[2 * KEPT_MAX];
    for (int i = 0; i < nkept; i++) {
        pf[2 * i].fd = kept[i].fd > 2 ? kept[i].fd : -1;
        pf[2 * i + 1].fd = kept[i].spare;
        pf[2 * i].events = pf[2 * i + 1].events = 0;
        pf[2 * i].revents = pf[2 * i + 1].revents = 0;
    }
    if (poll(pf, (nfds_t)(2 * nkept), 0) < 0)
        for (int i = 0; i < 2 * nkept; i++)
            pf[i].revents = POLLNVAL; /* check each the slow way */
    for (int i = 0; i < nkept; i++) {
        kept_fd *k = &kept[i];
        int spare_ok = k->spare >= 0 && !(pf[2 * i + 1].revents & POLLNVAL);
        int fd_ok = k->fd > 2 && !(pf[2 * i].revents & POLLNVAL) ? 1 : same_file(k->fd, k);
        if (!fd_ok) {
            spare_ok = same_file(k->spare, k);
            if (spare_ok)
                dup2(k->spare, k->fd);
            else if (k->fd == 0)
                reopen_devnull();
            if (k->fd == 0) {
                struct stat st;
                if (fstat(0, &st) == 0) {
                    k->dev = st.st_dev;
                    k->ino = st.st_ino;
                }
            } else if (!same_file(k->fd, k)) {
                size_t len = strlen(lost);
                snprintf(lost + len, sizeof lost - len, "%s%s (descriptor %d)", len ? ", " : "", k->what, k->fd);
                continue;
            }
            if (k->fd > 2)
                fcntl(k->fd, F_SETFD, FD_CLOEXEC);
            else
                repaired_streams = 1;
        }
        if (!spare_ok)
            k->spare = dup_high(k->fd);
    }
    if (lost[0]) {
        snprintf(err, errsize,
                 "the cell closed the kernel's %s and the spare copies, without which the session cannot go on",
                 lost);
        return -1;
    }
    /* A stream closed outside cell code (a library's fclose): glibc keeps the static
     * object, with no descriptor; open it again on its descriptor. */
    FILE *streams[2] = {kernel_stdout, kernel_stderr};
    for (int s = 0; s < 2; s++) {
        if (fileno(streams[s]) == s + 1)
            continue;
        if (fileno(streams[s]) < 0 && !freopen("/dev/null", "w", streams[s]))
            continue;
        int was = fileno(streams[s]);
        if (was > 2)
            close(was);
        streams[s]->_fileno = s + 1;
        repaired_streams = 1;
    }
    if (repaired_streams) {
        clearerr(kernel_stdout);
        clearerr(kernel_stderr);
        replaced_streams = 0;
        fprintf(stderr, "note: stdout and stderr belong to the kernel: what the cell did to them "
                        "(fclose, close, dup2, freopen, assignment) lasted until the cell ended\n");
    }
    if (touched_limits) {
        touched_limits = 0;
        if (check_limits(err, errsize) != 0)
            return -1;
    }
    char pids[256];
    int nchildren = nforked ? running_children(pids, sizeof pids) : 0;
    if (nchildren > 0)
        fprintf(stderr,
                "note: the cell started %s that %s still running (pid %s): %s to the session and "
                "%s killed when the kernel shuts down or restarts\n",
                nchildren == 1 ? "a process" : "processes", nchildren == 1 ? "is" : "are",
                pids[0] ? pids : "?", nchildren == 1 ? "it belongs" : "they belong", nchildren == 1 ? "is" : "are");
    int threads = atomic_load(&threads_running);
    if (threads > 0)
        fprintf(stderr,
                "note: %d thread%s the cell started %s still running. %s on in the process that holds "
                "the session as of this cell; each later cell runs in a copy made when it starts, "
                "which has no such thread (it sees what the thread did until then). The thread ends "
                "when a second later cell has been kept, or at shutdown.\n",
                threads, threads == 1 ? "" : "s", threads == 1 ? "is" : "are", threads == 1 ? "It goes" : "They go");
    return 0;
}

void guard_cell_start(void)
{
    /* fork copied the count, not the threads: none of them runs in this process */
    atomic_store(&threads_running, 0);
    nforked = 0;
    touched_limits = 0;
    replaced_streams = 0;
}

void guard_check_cwd(void)
{
    static dev_t warned_dev;
    static ino_t warned_ino;
    struct stat st;
    if (stat(".", &st) != 0 || st.st_nlink > 0)
        return;
    if (st.st_dev == warned_dev && st.st_ino == warned_ino)
        return;
    warned_dev = st.st_dev;
    warned_ino = st.st_ino;
    fprintf(stderr, "note: the working directory was deleted: relative paths fail until a cell "
                    "changes to another one (%%cd DIR)\n");
}
