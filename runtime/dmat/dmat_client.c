/* dmat_client.c — the session's link to the MPI job: starting it, connecting, one call.
 *
 * Who holds the link. mpirun is started by a double fork and setsid, so it is nobody's
 * child that dies with a cell (the kernel's front, a child subreaper, adopts and reaps
 * it). Rank 0 listens on a Unix socket in a private /tmp directory. Each process of the
 * session chain that uses a dmat opens its own connection (a cell never reuses the
 * socket of the executor it was forked from), and keeps the ones it inherited open:
 *   - objects belong to the connection that created them, and rank 0 frees them when
 *     that connection reaches end of stream, i.e. when every process that could still
 *     hold their handles is gone: a failed or killed cell, an undone one, or the session;
 *   - a dmat_free of an object made by an earlier cell is only applied once the freeing
 *     cell is known to have committed: a later connection names it among its ancestors
 *     (only a committed cell forks children). If it fails, the free is forgotten.
 *   - when no connection is left at all, the kernel is gone and the job stops itself.
 * The cluster is recorded in this library's globals, so the executor's children inherit
 * it, and CAIRN_DMAT_SOCKET lets any process attach to a job started by hand.
 *
 * The link is a Unix socket, or TCP when the cluster is started with `--listen HOST:PORT`
 * among its options (rank 0 may then run on another host than the driver; port 0 takes a
 * free one, which rank 0 prints to mpirun's log, where we read it). Every start makes a
 * random token that the ranks get in CAIRN_DMAT_TOKEN and every connection's HELLO
 * carries: rank 0 closes a connection that does not know it, which is what keeps other
 * users off an open TCP port. */
#include "dmat_internal.h"

#include "cairn/display.h"
#include "cairn/error.h"
#include "cairn/progress.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef CAIRN_DMAT_WORKER_PATH
#define CAIRN_DMAT_WORKER_PATH "cairn-dmat-worker"
#endif

static struct client {
    char dir[64];            /* private directory of the socket and mpirun's log */
    char sock[160];          /* Unix socket path, or tcp://HOST:PORT */
    char token[40];          /* the HELLO secret of this cluster ("" when attached without one) */
    char log[128];
    pid_t mpirun;            /* launcher we started (0: attached through CAIRN_DMAT_SOCKET) */
    uint32_t cluster;        /* id rank 0 chose at start; 0 = none */
    int ranks;
    int fd;                  /* this process's connection */
    pid_t fd_pid;            /* ... opened by this pid (a forked child opens its own) */
    char hosts[DMAT_MAX_TEXT]; /* "host pid\n" per rank */
} cl = {.fd = -1};

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* State letter and parent of a process from /proc/PID/stat; 0, or -1 when it is gone. */
static int proc_stat(pid_t pid, char *state, int *ppid)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    const char *rp = strrchr(buf, ')'); /* the command name may hold spaces and ')' */
    return rp && sscanf(rp + 2, "%c %d", state, ppid) == 2 ? 0 : -1;
}

/* Alive and not a zombie waiting to be reaped by the front. */
static int process_alive(pid_t pid)
{
    char state;
    int ppid;
    if (pid <= 0 || kill(pid, 0) != 0 || proc_stat(pid, &state, &ppid) < 0)
        return 0;
    return state != 'Z' && state != 'X';
}

static pid_t parent_of(pid_t pid)
{
    char state;
    int ppid = 0;
    return proc_stat(pid, &state, &ppid) == 0 ? (pid_t)ppid : 0;
}

/* The last lines of mpirun's log that say something (for error messages). */
static void log_tail(char *out, size_t size)
{
    out[0] = 0;
    FILE *f = cl.log[0] ? fopen(cl.log, "r") : NULL;
    if (!f)
        return;
    char buf[4096];
    fseek(f, 0, SEEK_END);
    long end = ftell(f);
    fseek(f, end > (long)sizeof buf - 1 ? end - (long)sizeof buf + 1 : 0, SEEK_SET);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    /* keep lines that are not decoration (dashes) */
    size_t o = 0;
    for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
        if (line[0] == '-' || line[0] == 0)
            continue;
        int w = snprintf(out + o, size - o, "%s%s", o ? " " : "", line);
        if (w < 0 || (size_t)w >= size - o)
            break;
        o += (size_t)w;
    }
    if (o > 400) /* the end is what matters */
        memmove(out, out + o - 400, 401);
}

/* The pid of a rank as rank 0 reported it at start ("host pid" lines), else 0. */
static int rank_pid(int rank)
{
    const char *h = cl.hosts;
    for (int r = 0; h && *h && r < rank; r++) {
        h = strchr(h, '\n');
        if (h)
            h++;
    }
    char host[128];
    int pid = 0;
    if (h && sscanf(h, "%127s %d", host, &pid) == 2)
        return pid;
    return 0;
}

/* Which rank died, how, on which host, from mpirun's report. */
static int death_report(char *out, size_t size)
{
    FILE *f = cl.log[0] ? fopen(cl.log, "r") : NULL;
    if (!f)
        return 0;
    char line[1024];
    int found = 0;
    while (fgets(line, sizeof line, f)) {
        const char *p = strstr(line, "process rank ");
        int rank, pid, sig;
        char host[256], name[64] = "";
        if (p && sscanf(p, "process rank %d with PID %d on node %255s exited on signal %d (%63[^)])", &rank, &pid,
                        host, &sig, name) >= 4) {
            if (pid == 0) /* mpirun does not always know it */
                pid = rank_pid(rank);
            snprintf(out, size, "rank %d (pid %d, host %s) was killed by signal %d%s%s%s", rank, pid, host, sig,
                     name[0] ? " (" : "", name, name[0] ? ")" : "");
            found = 1;
            break;
        }
        int code;
        if (p && sscanf(p, "process rank %d with PID %d on node %255s exited on signal %d", &rank, &pid, host, &sig) == 4)
            continue;
        if (p && sscanf(p, "process rank %d with PID %d on node %255s exited with status %d", &rank, &pid, host,
                        &code) == 4) {
            if (pid == 0)
                pid = rank_pid(rank);
            snprintf(out, size, "rank %d (pid %d, host %s) exited with status %d", rank, pid, host, code);
            found = 1;
            break;
        }
    }
    fclose(f);
    return found;
}

static void close_connection(void)
{
    if (cl.fd >= 0 && cl.fd_pid == getpid())
        close(cl.fd);
    cl.fd = -1;
    cl.fd_pid = 0;
}

/* The connection to rank 0 broke: say what is known about why (after cairn_error the
 * cell ends; in plain programs the caller returns an empty result). */
static void cluster_gone(const char *func, const char *doing)
{
    close_connection();
    char why[600] = "";
    /* mpirun writes its report and exits once it has seen a rank die. */
    double until = now_seconds() + 5.0;
    while (cl.mpirun > 0 && process_alive(cl.mpirun) && now_seconds() < until && !death_report(why, sizeof why))
        sleep_ms(20);
    if (!why[0] && !death_report(why, sizeof why)) {
        char tail[420];
        log_tail(tail, sizeof tail);
        snprintf(why, sizeof why, "the MPI job ended%s%s", tail[0] ? ": " : "", tail);
    }
    int ranks = cl.ranks;
    cl.cluster = 0; /* in this process; a later cell finds out for itself */
    cairn_error(func, "the cluster stopped while %s: %s; the session is intact, start a new cluster with "
                      "%%cluster start %d",
                doing, why, ranks > 0 ? ranks : 1);
}

static int is_tcp(const char *address) { return strncmp(address, "tcp://", 6) == 0; }

static int connect_socket(const char *path)
{
    if (is_tcp(path))
        return dmat_tcp_open(path + 6, 0);
    struct sockaddr_un a;
    memset(&a, 0, sizeof a);
    a.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof a.sun_path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(a.sun_path, path, strlen(path));
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

/* Introduce this process: its pid and its ancestors' (proof that they committed). */
static int hello(int fd, dmat_msg *rep)
{
    dmat_msg req;
    dmat_msg_init(&req, DOP_HELLO);
    dmat_msg_text(&req, "%s", cl.token);
    pid_t p = getpid();
    req.h.i[0] = p;
    for (int k = 1; k < 8; k++) {
        p = p > 1 ? parent_of(p) : 0;
        req.h.i[k] = p;
    }
    if (dmat_wire_send(fd, &req) < 0 || dmat_wire_recv(fd, rep) != 1 || rep->h.status != DMAT_OK)
        return -1;
    return 0;
}

/* This process's connection to rank 0, opened on first use. */
static int connection(const char *func)
{
    if (!cl.cluster) {
        const char *env = getenv("CAIRN_DMAT_SOCKET");
        if (!env || !*env) {
            cairn_error(func, "no cluster is running: start one with %%cluster start N or dmat_cluster_start(N)");
            return -1;
        }
        snprintf(cl.sock, sizeof cl.sock, "%s", env);
        const char *tok = getenv("CAIRN_DMAT_TOKEN");
        snprintf(cl.token, sizeof cl.token, "%s", tok ? tok : "");
    }
    if (cl.fd >= 0 && cl.fd_pid == getpid())
        return cl.fd;
    /* An inherited connection stays open in this process: it keeps the objects of the
     * processes we came from alive as long as we live. */
    int fd = connect_socket(cl.sock);
    if (fd < 0) {
        cluster_gone(func, "connecting to rank 0");
        return -1;
    }
    dmat_msg rep;
    if (hello(fd, &rep) < 0) {
        close(fd);
        cluster_gone(func, "connecting to rank 0");
        return -1;
    }
    uint32_t id = (uint32_t)rep.h.i[0];
    dmat_msg_free(&rep);
    if (cl.cluster && id != cl.cluster) {
        close(fd);
        cairn_error(func, "the cluster was restarted by another process; start it again here with %%cluster start N");
        return -1;
    }
    if (!cl.cluster) { /* attached through CAIRN_DMAT_SOCKET */
        cl.cluster = id;
        cl.ranks = (int)rep.h.i[1];
        snprintf(cl.hosts, sizeof cl.hosts, "%s", rep.text);
    }
    cl.fd = fd;
    cl.fd_pid = getpid();
    return fd;
}

static const char *op_name(int op)
{
    static const char *names[] = {
        [DOP_HELLO] = "connecting",         [DOP_INFO] = "reporting memory",
        [DOP_SHUTDOWN] = "stopping",        [DOP_FREE] = "freeing a dmat",
        [DOP_SCATTER] = "scattering rows",  [DOP_GATHER] = "gathering rows",
        [DOP_AFFINE] = "scaling",           [DOP_CENTER] = "centering",
        [DOP_COL_MEANS] = "computing column means", [DOP_GRAM] = "computing AᵀA",
        [DOP_MUL_TN] = "computing AᵀB",     [DOP_MUL] = "multiplying by a local matrix",
        [DOP_MUL_NT] = "multiplying by a transposed local matrix", [DOP_MATMUL] = "running PDGEMM",
        [DOP_SVD_THIN] = "running PDGESVD", [DOP_SVD_RANDOMIZED] = "computing a randomized SVD",
        [DOP_RECONSTRUCT] = "reconstructing from an SVD", [DOP_PCA_RANDOMIZED] = "fitting a PCA",
        [DOP_KMEANS] = "running k-means",   [DOP_READ] = "reading a file",
        [DOP_RANDN] = "generating random numbers", [DOP_PHANTOM] = "generating a phantom volume",
    };
    if (op > 0 && op < (int)(sizeof names / sizeof names[0]) && names[op])
        return names[op];
    return "running an operation";
}

int dmat_call(const char *func, dmat_msg *req, dmat_msg *rep)
{
    dmat_msg_init(rep, 0);
    int fd = connection(func);
    if (fd < 0)
        return -1;
    int op = (int)req->h.op;
    if (dmat_wire_send(fd, req) < 0) {
        cluster_gone(func, op_name(op));
        return -1;
    }
    int interrupt_sent = 0;
    progress *bar = NULL;
    long total = 0;
    for (;;) {
        struct pollfd pfd = {fd, POLLIN, 0};
        int pr = poll(&pfd, 1, 50);
        if (pr < 0 && errno != EINTR)
            break;
        if (cairn_interrupted() && !interrupt_sent) {
            /* Rank 0 reads it at the operation's next step and all ranks stop there. */
            dmat_msg in;
            dmat_msg_init(&in, DOP_INTERRUPT);
            interrupt_sent = 1;
            if (dmat_wire_send(fd, &in) < 0)
                break;
        }
        if (pr <= 0)
            continue;
        if (dmat_wire_recv(fd, rep) != 1)
            break;
        if (rep->h.status == DMAT_PROGRESS) {
            if (!bar) {
                total = (long)rep->h.i[1];
                bar = progress_start(total, rep->text[0] ? rep->text : op_name(op));
            }
            if (bar)
                progress_update(bar, rep->h.i[0]);
            dmat_msg_free(rep);
            continue;
        }
        if (bar) {
            if (rep->h.status == DMAT_OK)
                progress_update(bar, total);
            progress_finish(bar);
        }
        if (rep->h.status == DMAT_OK)
            return 0;
        char text[DMAT_MAX_TEXT];
        snprintf(text, sizeof text, "%s", rep->text);
        dmat_msg_free(rep);
        cairn_error(func, "%s", text);
        return -1;
    }
    if (bar)
        progress_finish(bar);
    cluster_gone(func, op_name(op));
    return -1;
}

uint32_t dmat_cluster_id(void) { return cl.cluster; }

const char *dmat_cluster_address(void) { return cl.cluster ? cl.sock : ""; }

int dmat_cluster_ranks(void) { return cl.cluster ? cl.ranks : 0; }

int dmat_check(const char *func, dmat A, const char *what)
{
    if (A.id == 0) {
        cairn_error(func, "%s is an empty dmat (the result of an error, or freed)", what);
        return -1;
    }
    if (!cl.cluster || A.cluster != cl.cluster) {
        cairn_error(func, "%s (%d x %d) belongs to a cluster that is no longer running; make it again on the current one",
                    what, A.rows, A.cols);
        return -1;
    }
    return 0;
}

dmat dmat_handle_from(const dmat_msg *rep)
{
    dmat d = {(uint64_t)rep->h.i[0], cl.cluster, (int)rep->h.i[2], (int)rep->h.i[3]};
    return d;
}

/* ---- starting and stopping ---- */

static void remove_dir(void)
{
    if (!cl.dir[0])
        return;
    if (!is_tcp(cl.sock))
        unlink(cl.sock);
    unlink(cl.log);
    rmdir(cl.dir);
    cl.dir[0] = cl.sock[0] = cl.log[0] = 0;
}

/* Runs in the grandchild: a clean process for mpirun (no inherited sockets, signal
 * dispositions, or the cell's address-space limit). */
static void exec_mpirun(char **argv, int pidpipe, int ranks)
{
    int logfd = open(cl.log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int nullfd = open("/dev/null", O_RDONLY);
    if (logfd < 0 || nullfd < 0)
        _exit(126);
    dup2(nullfd, 0);
    dup2(logfd, 1);
    dup2(logfd, 2);
    pid_t me = getpid();
    if (write(pidpipe, &me, sizeof me) != (ssize_t)sizeof me)
        _exit(126);
    DIR *d = opendir("/proc/self/fd");
    if (d) {
        int dfd = dirfd(d);
        struct dirent *e;
        while ((e = readdir(d)))
            if (e->d_name[0] >= '0' && e->d_name[0] <= '9') {
                int fd = atoi(e->d_name);
                if (fd > 2 && fd != dfd && fd != pidpipe)
                    close(fd);
            }
        closedir(d);
    }
    for (int s = 1; s < 65; s++)
        if (s != SIGKILL && s != SIGSTOP)
            signal(s, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    struct rlimit rl;
    if (getrlimit(RLIMIT_AS, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_AS, &rl);
    }
    setenv("CAIRN_DMAT_TOKEN", cl.token, 1);
    if (getuid() == 0) {
        setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 1);
        setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 1);
    }
    if (!getenv("OPENBLAS_NUM_THREADS")) {
        /* one BLAS thread per core: ranks on one machine must not oversubscribe it */
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        char t[24];
        snprintf(t, sizeof t, "%ld", cores / ranks > 1 ? cores / ranks : 1);
        setenv("OPENBLAS_NUM_THREADS", t, 1);
    }
    execvp(argv[0], argv);
    dprintf(2, "cannot run %s: %s\n", argv[0], strerror(errno));
    _exit(127);
}

/* Rank 0's "listening on tcp://HOST:PORT" line in mpirun's log, into cl.sock. */
static void tcp_address_from_log(void)
{
    FILE *f = fopen(cl.log, "r");
    char line[512];
    while (f && fgets(line, sizeof line, f)) {
        const char *p = strstr(line, "listening on tcp://");
        char addr[140];
        if (p && sscanf(p + 13, "%139s", addr) == 1) {
            snprintf(cl.sock, sizeof cl.sock, "%s", addr);
            break;
        }
    }
    if (f)
        fclose(f);
}

int dmat_cluster_start(int ranks) { return dmat_cluster_start_with(ranks, NULL); }

int dmat_cluster_start_with(int ranks, const char *options)
{
    const char *F = "dmat_cluster_start";
    if (ranks < 1 || ranks > 4096) {
        cairn_error(F, "ranks = %d must be in 1..4096", ranks);
        return -1;
    }
    if (cl.cluster) {
        /* running, or died under a cell that was rolled back (which alone found out)? */
        int fd = connect_socket(cl.sock), answers = 0;
        if (fd >= 0) {
            dmat_msg rep;
            answers = hello(fd, &rep) == 0;
            if (answers)
                dmat_msg_free(&rep);
            close(fd);
        }
        if (answers) {
            cairn_error(F, "a cluster of %d ranks is running; stop it first (%%cluster stop or dmat_cluster_stop())",
                        cl.ranks);
            return -1;
        }
        if (cl.mpirun > 0 && process_alive(cl.mpirun))
            kill(cl.mpirun, SIGKILL);
    }
    close_connection();
    remove_dir();
    cl.cluster = 0;
    cl.mpirun = 0;
    snprintf(cl.dir, sizeof cl.dir, "/tmp/cairn-dmat-XXXXXX");
    if (!mkdtemp(cl.dir)) {
        cairn_error(F, "cannot make a directory for the cluster's socket in /tmp: %s", strerror(errno));
        cl.dir[0] = 0;
        return -1;
    }
    snprintf(cl.sock, sizeof cl.sock, "%s/rank0.sock", cl.dir);
    snprintf(cl.log, sizeof cl.log, "%s/mpirun.log", cl.dir);
    unsigned char secret[16];
    if (getrandom(secret, sizeof secret, 0) != (ssize_t)sizeof secret) {
        cairn_error(F, "no random bytes for the cluster's token: %s", strerror(errno));
        remove_dir();
        return -1;
    }
    for (size_t k = 0; k < sizeof secret; k++)
        snprintf(cl.token + 2 * k, 3, "%02x", secret[k]);

    const char *worker = getenv("CAIRN_DMAT_WORKER");
    if (!worker || !*worker)
        worker = CAIRN_DMAT_WORKER_PATH;
    const char *mpirun = getenv("CAIRN_MPIRUN");
    if (!mpirun || !*mpirun)
        mpirun = "mpirun";
    char np[16];
    snprintf(np, sizeof np, "%d", ranks);
    char opts[1024];
    snprintf(opts, sizeof opts, "%s", options ? options : "");
    char *argv[80];
    int argc = 0;
    argv[argc++] = (char *)mpirun;
    argv[argc++] = "--oversubscribe";
    argv[argc++] = "--bind-to";
    argv[argc++] = "none";
    argv[argc++] = "-x";
    argv[argc++] = "OPENBLAS_NUM_THREADS";
    argv[argc++] = "-x";
    argv[argc++] = "CAIRN_DMAT_TOKEN";
    argv[argc++] = "-np";
    argv[argc++] = np;
    char *save = NULL, *listen_addr = NULL;
    for (char *t = strtok_r(opts, " \t", &save); t && argc < 70; t = strtok_r(NULL, " \t", &save)) {
        if (strcmp(t, "--listen") == 0) { /* ours, not mpirun's: rank 0 serves on TCP */
            listen_addr = strtok_r(NULL, " \t", &save);
            if (!listen_addr) {
                cairn_error(F, "--listen needs an address, e.g. --listen 127.0.0.1:0 or --listen 0.0.0.0:5555");
                remove_dir();
                return -1;
            }
            continue;
        }
        argv[argc++] = t;
    }
    argv[argc++] = (char *)worker;
    argv[argc++] = listen_addr ? "--listen" : "--socket";
    argv[argc++] = listen_addr ? listen_addr : cl.sock;
    argv[argc] = NULL;
    if (listen_addr)
        cl.sock[0] = 0; /* known once rank 0 says where it listens */

    fflush(stdout);
    fflush(stderr);
    int pp[2];
    if (pipe2(pp, O_CLOEXEC) != 0) {
        cairn_error(F, "pipe: %s", strerror(errno));
        return -1;
    }
    pid_t mid = fork();
    if (mid < 0) {
        close(pp[0]);
        close(pp[1]);
        cairn_error(F, "fork: %s", strerror(errno));
        return -1;
    }
    if (mid == 0) {
        /* A new session: no terminal signal or process-group kill of the kernel reaches
         * mpirun; the middle process exits so mpirun is adopted by the front. */
        setsid();
        pid_t g = fork();
        if (g == 0)
            exec_mpirun(argv, pp[1], ranks);
        _exit(g < 0 ? 1 : 0);
    }
    close(pp[1]);
    int st;
    while (waitpid(mid, &st, 0) < 0 && errno == EINTR)
        ;
    pid_t launcher = 0;
    ssize_t got = read(pp[0], &launcher, sizeof launcher);
    close(pp[0]);
    if (got != (ssize_t)sizeof launcher || launcher <= 0) {
        cairn_error(F, "could not start %s", mpirun);
        remove_dir();
        return -1;
    }
    cl.mpirun = launcher;

    /* Wait for rank 0 to listen. */
    double t0 = now_seconds();
    int fd = -1;
    for (;;) {
        if (listen_addr && !cl.sock[0])
            tcp_address_from_log();
        fd = cl.sock[0] ? connect_socket(cl.sock) : -1;
        if (fd >= 0)
            break;
        if (!process_alive(launcher) || cairn_interrupted() || now_seconds() - t0 > 120) {
            char tail[420];
            if (process_alive(launcher))
                kill(launcher, SIGKILL);
            else
                sleep_ms(50);
            log_tail(tail, sizeof tail);
            remove_dir();
            cl.mpirun = 0;
            cairn_error(F, "the MPI job of %d ranks did not start (%s): %s", ranks,
                        cairn_interrupted() ? "interrupted" : now_seconds() - t0 > 120 ? "no answer in 120 s" : "mpirun ended",
                        tail[0] ? tail : "no output");
            return -1;
        }
        sleep_ms(20);
    }
    dmat_msg rep;
    if (hello(fd, &rep) < 0) {
        close(fd);
        kill(launcher, SIGKILL);
        remove_dir();
        cl.mpirun = 0;
        cairn_error(F, "rank 0 did not answer");
        return -1;
    }
    cl.cluster = (uint32_t)rep.h.i[0];
    cl.ranks = (int)rep.h.i[1];
    snprintf(cl.hosts, sizeof cl.hosts, "%s", rep.text);
    dmat_msg_free(&rep);
    cl.fd = fd;
    cl.fd_pid = getpid();
    return 0;
}

int dmat_cluster_stop(void)
{
    if (!cl.cluster && !cl.mpirun) {
        cairn_error("dmat_cluster_stop", "no cluster is running");
        return -1;
    }
    int fd = cl.cluster ? connect_socket(cl.sock) : -1;
    dmat_msg rep;
    if (fd >= 0 && hello(fd, &rep) == 0) { /* a connection must say who it is first */
        dmat_msg_free(&rep);
        dmat_msg req;
        dmat_msg_init(&req, DOP_SHUTDOWN);
        dmat_wire_send(fd, &req);
    }
    if (fd >= 0)
        close(fd);
    double until = now_seconds() + 5.0;
    while (cl.mpirun > 0 && process_alive(cl.mpirun) && now_seconds() < until)
        sleep_ms(10);
    if (cl.mpirun > 0 && process_alive(cl.mpirun))
        kill(cl.mpirun, SIGKILL);
    close_connection();
    remove_dir();
    cl.cluster = 0;
    cl.mpirun = 0;
    cl.ranks = 0;
    return 0;
}

/* Rows of INFO: bytes held, resident set size, pid, MPI bytes moved, per rank. */
static mat cluster_info(const char *func)
{
    dmat_msg req, rep;
    dmat_msg_init(&req, DOP_INFO);
    if (dmat_call(func, &req, &rep) < 0)
        return mat_empty();
    mat m = rep.m[0];
    rep.m[0] = mat_empty();
    dmat_msg_free(&rep);
    return m;
}

/* Row `row` of INFO as a 1 x ranks mat. */
static mat info_row(const char *func, int row)
{
    mat info = cluster_info(func);
    if (mat_is_empty(info))
        return info;
    mat r = mat_copy(mat_row(info, row));
    mat_free(&info);
    return r;
}

mat dmat_cluster_memory(void) { return info_row("dmat_cluster_memory", 0); }

mat dmat_cluster_traffic(void) { return info_row("dmat_cluster_traffic", 3); }

mat dmat_cluster_pids(void) { return info_row("dmat_cluster_pids", 2); }

void dmat_cluster_show(void)
{
    if (!cl.cluster && !getenv("CAIRN_DMAT_SOCKET")) {
        printf("no cluster (start one with %%cluster start N)\n");
        return;
    }
    mat info = cluster_info("dmat_cluster_show");
    if (mat_is_empty(info))
        return;
    printf("cluster: %d rank%s (mpirun pid %d, link %s)\n", cl.ranks, cl.ranks == 1 ? "" : "s", (int)cl.mpirun,
           cl.sock);
    printf("  rank  host                  pid      dmat data   resident\n");
    const char *h = cl.hosts;
    for (int r = 0; r < info.cols; r++) {
        char host[64] = "?";
        if (h && *h) {
            sscanf(h, "%63s", host);
            h = strchr(h, '\n');
            if (h)
                h++;
        }
        char b1[32], b2[32];
        dmat_bytes_text(*mat_ptr(info, 0, r), b1, sizeof b1);
        dmat_bytes_text(*mat_ptr(info, 1, r), b2, sizeof b2);
        printf("  %4d  %-20s  %-7d  %10s  %9s\n", r, host, (int)*mat_ptr(info, 2, r), b1, b2);
    }
    mat_free(&info);
}
