/* supervisor.c — start, interrupt, stop and reap the executor process chain.
 *
 * The front is a child subreaper (PR_SET_CHILD_SUBREAPER): when an executor generation
 * exits, its cell-process child is re-parented to the front rather than to init, so the
 * front can reap every process the session ever made. All of them share one process
 * group (the first executor's pid), which lets shutdown kill the whole chain at once.
 *
 * If the front itself is killed (SIGKILL after a shutdown timeout, or the client killing
 * the kernel's process group), nothing it runs on exit would help; so each chain gets a
 * guardian: a tiny process in the chain's process group (not the front's, so it survives
 * a kill of the kernel's group) blocked on a pipe whose only writer is the front. When
 * the front dies the pipe reads EOF and the guardian kills the whole chain, itself
 * included: no cell keeps spinning as an orphan.
 *
 * The chain is "gone" when no process holds the executor end of the socketpair any more:
 * recv on our end then reports EOF, which is more reliable than tracking pids because the
 * current executor is usually a grandchild that the front cannot wait for. */
#include "front.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "exec/executor.h"

#define INTERRUPT_GRACE_SECONDS 0.4
#define INTERRUPT_GIVE_UP_SECONDS 3.0

static void set_nonblocking(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0)
        fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* In the forked child: only async-signal-safe-ish work until executor_run, and nothing
 * that touches the front's ZeroMQ context (its threads do not exist here). */
static void child_enter_executor(int exec_fd, int out_w, int err_w)
{
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    setpgid(0, 0);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) {
        dup2(devnull, 0);
        if (devnull > 2)
            close(devnull);
    }
    dup2(out_w, 1);
    dup2(err_w, 2);
    /* Everything else of the front (sockets, signalfd, pipes' read ends) must not leak
     * into user code. exec_fd stays (it is close-on-exec, so programs that cells run with
     * system() do not keep the chain "alive"). */
    if (exec_fd > 3)
        close_range(3, (unsigned)exec_fd - 1, 0);
    close_range((unsigned)exec_fd + 1, ~0u, 0);
    int status = executor_run(exec_fd);
    _exit(status);
}

/* Fork the guardian of process group `group` (see the top of this file). */
static void start_guardian(supervisor *s, pid_t group)
{
    int life[2];
    s->guard_fd = -1;
    s->guard_pid = 0;
    if (pipe2(life, O_CLOEXEC) < 0) {
        front_log("cannot create the guardian pipe: %s", strerror(errno));
        return;
    }
    pid_t pid = fork();
    if (pid < 0) {
        front_log("cannot fork the guardian: %s", strerror(errno));
        close(life[0]);
        close(life[1]);
        return;
    }
    if (pid == 0) {
        /* Only async-signal-safe calls: the front may be multithreaded here. */
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        signal(SIGINT, SIG_IGN);
        signal(SIGTERM, SIG_DFL);
        setpgid(0, group);
        for (int fd = 0; fd < 1024; fd++)
            if (fd != life[0])
                close(fd);
        for (;;) {
            char c;
            ssize_t n = read(life[0], &c, 1);
            if (n == 0 || (n < 0 && errno != EINTR))
                break; /* the front is gone */
        }
        kill(-group, SIGKILL);
        _exit(0);
    }
    setpgid(pid, group);
    close(life[0]);
    s->guard_fd = life[1];
    s->guard_pid = pid;
}

int supervisor_start(supervisor *s)
{
    int fds[2], outp[2], errp[2];
    if (ipc_pair(fds) < 0) {
        front_log("cannot create the executor socketpair: %s", strerror(errno));
        return -1;
    }
    if (pipe2(outp, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0) {
        front_log("cannot create the output pipes: %s", strerror(errno));
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    /* Stdio of the front may hold buffered bytes that the child would print again. */
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        front_log("cannot fork the executor: %s", strerror(errno));
        close(fds[0]);
        close(fds[1]);
        close(outp[0]);
        close(outp[1]);
        close(errp[0]);
        close(errp[1]);
        return -1;
    }
    if (pid == 0) {
        close(fds[0]);
        close(outp[0]);
        close(errp[0]);
        child_enter_executor(fds[1], outp[1], errp[1]);
    }
    /* Both sides call setpgid so the group exists before either relies on it. */
    setpgid(pid, pid);
    /* Each packet then tells which process sent it (see supervisor_recv). */
    int on = 1;
    if (setsockopt(fds[0], SOL_SOCKET, SO_PASSCRED, &on, sizeof on) < 0)
        front_log("SO_PASSCRED: %s", strerror(errno));
    /* ... and when it was sent, which orders messages against pipe reads (streams.c). */
    if (setsockopt(fds[0], SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on) < 0)
        front_log("SO_TIMESTAMPNS: %s", strerror(errno));
    close(fds[1]);
    close(outp[1]);
    close(errp[1]);
    set_nonblocking(fds[0]);
    set_nonblocking(outp[0]);
    set_nonblocking(errp[0]);
    ipc_reader_free(&s->reader);
    s->fd = fds[0];
    s->out_fd = outp[0];
    s->err_fd = errp[0];
    s->first_pid = pid;
    s->current_pid = pid;
    s->started_pid = 0;
    s->ready = 0;
    s->ever_ready = 0;
    s->sigkill_at = 0;
    s->give_up_at = 0;
    s->interrupt_killed = 0;
    s->generation++;
    if (s->guard_fd >= 0)
        close(s->guard_fd);
    start_guardian(s, pid);
    front_log("executor started (pid %d, generation %d)", (int)pid, s->generation);
    return 0;
}

/* Turn one complete serialized message (ipc.c's layout: u32 header length, u32 buffer
 * count, u64 size per buffer, header JSON, buffer bytes) into *out; takes buf. */
static int decode_message(char *buf, size_t len, ipc_msg *out)
{
    memset(out, 0, sizeof *out);
    uint32_t hlen, nbuf;
    if (len < 8)
        return -1;
    memcpy(&hlen, buf, 4);
    memcpy(&nbuf, buf + 4, 4);
    if (nbuf > IPC_MAX_BUFFERS || 8 + 8 * (size_t)nbuf > len || hlen > len - 8 - 8 * (size_t)nbuf)
        return -1;
    size_t off = 8 + 8 * (size_t)nbuf + hlen, total = off;
    for (uint32_t i = 0; i < nbuf; i++) {
        uint64_t sz;
        memcpy(&sz, buf + 8 + 8 * (size_t)i, 8);
        if (sz > len - total)
            return -1;
        out->buffers[i].size = (size_t)sz;
        total += (size_t)sz;
    }
    if (total != len)
        return -1;
    json_error_t err;
    out->header = json_loadb(buf + 8 + 8 * (size_t)nbuf, hlen, 0, &err);
    if (!json_is_object(out->header)) {
        if (out->header)
            json_decref(out->header);
        out->header = NULL;
        return -1;
    }
    out->nbuffers = (int)nbuf;
    for (uint32_t i = 0; i < nbuf; i++) {
        out->buffers[i].data = buf + off;
        off += out->buffers[i].size;
    }
    out->storage = buf;
    return 1;
}

double front_realtime(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int supervisor_recv(supervisor *s, ipc_msg *out, double *sent_at)
{
    ipc_reader *r = &s->reader;
    for (;;) {
        if (ipc_reader_reserve(r) < 0)
            return -2;
        char flag;
        struct iovec iov[2] = {{&flag, 1}, {r->buf + r->len, IPC_PACKET_MAX - 1}};
        union {
            char buf[CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(sizeof(struct timespec))];
            struct cmsghdr align;
        } control;
        struct msghdr mh = {0};
        mh.msg_iov = iov;
        mh.msg_iovlen = 2;
        mh.msg_control = control.buf;
        mh.msg_controllen = sizeof control.buf;
        ssize_t n = recvmsg(s->fd, &mh, MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
        }
        if (n == 0)
            return -1; /* no process holds the executor end any more */
        pid_t sender = 0;
        double stamp = 0;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
            if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS) {
                struct ucred cred;
                memcpy(&cred, CMSG_DATA(c), sizeof cred);
                sender = cred.pid;
            } else if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
                struct timespec ts;
                memcpy(&ts, CMSG_DATA(c), sizeof ts);
                stamp = (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
            }
        }
        if (stamp == 0)
            stamp = front_realtime();
        if (r->len > 0 && sender != s->partial_pid) {
            /* Writers never interleave, so the writer of the partial message died
             * in the middle of it: drop its part, keep this packet. */
            front_log("dropped %zu bytes of a message cut short by process %d", r->len, (int)s->partial_pid);
            memmove(r->buf, r->buf + r->len, (size_t)n - 1);
            r->len = 0;
        }
        if (r->len == 0)
            s->partial_sent_at = stamp;
        s->partial_pid = sender;
        r->len += (size_t)n - 1;
        if (r->len > IPC_MESSAGE_MAX) {
            front_log("executor message over %zu bytes dropped", (size_t)IPC_MESSAGE_MAX);
            r->len = 0;
            return -2;
        }
        if (flag != 1)
            continue;
        char *buf = r->buf;
        size_t len = r->len;
        r->buf = NULL;
        r->len = r->cap = 0;
        if (decode_message(buf, len, out) < 0) {
            free(buf);
            return -2;
        }
        if (sent_at)
            *sent_at = s->partial_sent_at;
        return 1;
    }
}

int supervisor_send(supervisor *s, json_t *op)
{
    if (s->fd < 0)
        return -1;
    int rc = ipc_send(s->fd, op, NULL, 0);
    if (rc < 0)
        front_log("cannot send '%s' to the executor: %s",
                  json_string_value(json_object_get(op, "op")), strerror(errno));
    return rc;
}

void supervisor_reap(supervisor *s)
{
    for (;;) {
        int status;
        pid_t pid = waitpid(-1, &status, WNOHANG);
        if (pid <= 0)
            break;
        /* Old generations are re-parented here and killed by their successor (SIGKILL)
         * as part of normal operation; only other deaths of the current one are news. */
        if (pid == s->current_pid && WIFSIGNALED(status) && WTERMSIG(status) != SIGKILL)
            front_log("executor %d ended by signal %d", (int)pid, WTERMSIG(status));
    }
}

void supervisor_interrupt(supervisor *s)
{
    if (s->started_pid <= 0) {
        front_log("interrupt: no cell is running");
        return;
    }
    front_log("interrupt: SIGINT to cell process %d", (int)s->started_pid);
    kill(s->started_pid, SIGINT);
    double now = front_now();
    if (s->sigkill_at == 0)
        s->sigkill_at = now + INTERRUPT_GRACE_SECONDS;
}

/* Children of this process according to /proc (threads are not listed there). */
static int list_children(pid_t *out, int max)
{
    DIR *d = opendir("/proc");
    if (!d)
        return 0;
    pid_t self = getpid();
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < max) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        char path[300], buf[512];
        snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue;
        ssize_t len = read(fd, buf, sizeof buf - 1);
        close(fd);
        if (len <= 0)
            continue;
        buf[len] = 0;
        char *rp = strrchr(buf, ')');
        if (!rp)
            continue;
        char state;
        int ppid;
        if (sscanf(rp + 2, "%c %d", &state, &ppid) == 2 && ppid == self)
            out[n++] = (pid_t)atoi(e->d_name);
    }
    closedir(d);
    return n;
}

void supervisor_kill_all_children(double timeout_seconds)
{
    double end = front_now() + timeout_seconds;
    for (;;) {
        pid_t kids[256];
        int n = list_children(kids, 256);
        for (int i = 0; i < n; i++)
            kill(kids[i], SIGKILL);
        int status;
        while (waitpid(-1, &status, WNOHANG) > 0)
            ;
        if (n == 0)
            break;
        if (front_now() > end) {
            front_log("%d child process(es) did not go away", n);
            break;
        }
        struct timespec ts = {0, 2 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

void supervisor_stop(supervisor *s, double grace_seconds)
{
    if (s->fd >= 0) {
        json_t *op = json_pack("{s:s}", "op", "shutdown");
        supervisor_send(s, op);
        json_decref(op);
        /* Wait for the chain to close its end (EOF) within the grace period. */
        double end = front_now() + grace_seconds;
        while (front_now() < end) {
            char flag[256];
            ssize_t n = recv(s->fd, flag, sizeof flag, MSG_DONTWAIT);
            if (n == 0)
                break;
            if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                break;
            if (n < 0) {
                struct timespec ts = {0, 2 * 1000 * 1000};
                nanosleep(&ts, NULL);
            }
        }
    }
    if (s->first_pid > 0)
        kill(-s->first_pid, SIGKILL);
    supervisor_kill_all_children(2.0);
    if (s->guard_fd >= 0)
        close(s->guard_fd);
    s->guard_fd = -1;
    s->guard_pid = 0;
    if (s->fd >= 0)
        close(s->fd);
    if (s->out_fd >= 0)
        close(s->out_fd);
    if (s->err_fd >= 0)
        close(s->err_fd);
    s->fd = s->out_fd = s->err_fd = -1;
    s->first_pid = s->current_pid = s->started_pid = 0;
    s->ready = 0;
    s->sigkill_at = s->give_up_at = 0;
    ipc_reader_free(&s->reader);
}

void supervisor_init_process(void)
{
    if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
        front_log("cannot become a child subreaper: %s", strerror(errno));
}
