/* spare.c — the next cell process, forked before its cell comes.
 *
 * A cell's round trip used to begin with fork(): copying the executor's page tables,
 * then, in the new process, one copy-on-write fault for every page the compiler's
 * tables touched (its prelude parse lives in the executor's heap), and the cell
 * process's own setup (signal handlers, memory limit). On virtual machines each of these
 * costs far more than on bare metal. So the executor forks the process for the next cell
 * as soon as it has nothing to do: the spare. The spare sets itself up, parses the
 * prelude into its own compiler state (warm.c; its pages are its own from then on) and
 * waits on a pipe. When an execute comes, the executor hands the request to the spare and
 * waits for it exactly as it waits for a freshly forked cell process: from there on the
 * spare IS the cell process.
 *
 * The spare is a copy of the executor as it was when forked, so it serves only a cell
 * whose magics leave the executor alone: any execute that would run magics, set the seed
 * or show something first (or that the executor answers itself) discards it, and the
 * executor forks a cell process the plain way. Requests that only read the session
 * (inspect, complete) keep it. A discarded spare reads end-of-file and ends; it is reaped
 * later without waiting for its teardown. CAIRN_SPARE=0 turns spares off. */
#include "exec_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <valgrind/valgrind.h>

#define SPARE_REAP_MAX 64

static struct {
    int enabled;         /* 1 on, 0 off, -1 not decided yet */
    pid_t pid;           /* the spare waiting for a cell, 0 when none */
    int go_fd;           /* the pipe it reads its request from */
    exec_report *report; /* its report page (shared with this executor) */
    pid_t ended[SPARE_REAP_MAX]; /* discarded spares not reaped yet */
    int nended;
} spare = {.enabled = -1, .go_fd = -1};

static int spare_enabled(void)
{
    if (spare.enabled < 0) {
        const char *env = getenv("CAIRN_SPARE");
        spare.enabled = !(env && strcmp(env, "0") == 0);
    }
    return spare.enabled;
}

/* Reap discarded spares that have ended, without waiting for the others. */
static void spare_reap(void)
{
    int kept = 0;
    for (int i = 0; i < spare.nended; i++) {
        pid_t p = spare.ended[i];
        if (waitpid(p, NULL, WNOHANG) == 0)
            spare.ended[kept++] = p;
    }
    spare.nended = kept;
}

static int write_all(int fd, const void *data, size_t n)
{
    const char *p = data;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int read_all(int fd, void *data, size_t n)
{
    char *p = data;
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

int spare_live(void) { return spare.pid > 0; }

void spare_discard(void)
{
    if (spare.pid <= 0)
        return;
    close(spare.go_fd); /* it reads end-of-file (or dies of the signal first) */
    kill(spare.pid, RUNNING_ON_VALGRIND ? SIGTERM : SIGKILL); /* SIGTERM: callgrind writes its profile */
    spare_reap();
    if (spare.nended < SPARE_REAP_MAX)
        spare.ended[spare.nended++] = spare.pid;
    else
        waitpid(spare.pid, NULL, 0);
    report_free(spare.report);
    spare.pid = 0;
    spare.go_fd = -1;
    spare.report = NULL;
}

/* In the spare: wait for the request. Ends the process when the executor discarded it.
 * (The executor's reader holds nothing past a request: messages are whole packets.) */
static json_t *spare_wait(int go)
{
    uint64_t size;
    if (read_all(go, &size, sizeof size) != 0)
        _exit(0); /* discarded */
    char *text = malloc(size + 1);
    if (!text || read_all(go, text, size) != 0)
        _exit(1); /* the executor reports how the cell process ended */
    close(go);
    text[size] = '\0';
    json_error_t err;
    json_t *req = json_loads(text, 0, &err);
    free(text);
    if (!req)
        _exit(1);
    return req;
}

int spare_start(json_t **req, exec_report **report, pid_t *parent)
{
    spare_reap();
    if (spare.pid > 0 || !spare_enabled())
        return 0;
    exec_report *r = report_new();
    if (!r)
        return 0;
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) {
        report_free(r);
        return 0;
    }
    prelude_prepare();
    fflush(NULL);
    pid_t me = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        close(p[0]);
        close(p[1]);
        report_free(r);
        return 0;
    }
    if (pid == 0) {
        close(p[1]);
        /* No spare of our own, nor the discarded ones of our parent. */
        spare.pid = 0;
        spare.go_fd = -1;
        spare.report = NULL;
        spare.nended = 0;
        cell_process_prepare(r, me);
        warm_prepare_unpaused();
        *req = spare_wait(p[0]);
        *report = r;
        *parent = me;
        return 1;
    }
    close(p[0]);
    spare.pid = pid;
    spare.go_fd = p[1];
    spare.report = r;
    return 0;
}

pid_t spare_hand_over(json_t *req, exec_report **report)
{
    if (spare.pid <= 0)
        return 0;
    char *text = json_dumps(req, JSON_COMPACT);
    uint64_t size = text ? strlen(text) : 0;
    if (waitpid(spare.pid, NULL, WNOHANG) != 0) {
        /* it ended (killed from outside): reaped now, so not signalled again */
        close(spare.go_fd);
        report_free(spare.report);
        spare.pid = 0;
        spare.go_fd = -1;
        spare.report = NULL;
        free(text);
        return 0;
    }
    int ok = text && exec_g.reader.len == 0 && write_all(spare.go_fd, &size, sizeof size) == 0 &&
             write_all(spare.go_fd, text, size) == 0;
    free(text);
    if (!ok) {
        spare_discard(); /* unusable: the executor forks the plain way */
        return 0;
    }
    close(spare.go_fd);
    pid_t pid = spare.pid;
    *report = spare.report;
    spare.pid = 0;
    spare.go_fd = -1;
    spare.report = NULL;
    return pid;
}
