/* track_watch.c — a run is never left RUNNING by a process that died.
 *
 * A cell process can die in ways no code of its own sees: SIGSEGV, SIGKILL after an
 * interrupt's grace period, the RLIMIT_AS wall, %undo discarding the executor that
 * started the run. atexit handlers do not run in any of these. Instead, the first run a
 * process starts spawns a watcher: /bin/sh in its own session (so the kernel's signals to
 * the cell's process group miss it) reading one end of a socketpair whose other end this
 * process keeps. Each run started here is announced to it ("+<run dir>"). Forked children
 * (later cells, trial processes) inherit the descriptor, so the watcher sees EOF only when
 * every process that could still end the run is gone; then each announced run whose
 * meta.yaml still says `status: 1` (RUNNING) gets status 4 (FAILED), or 5 (KILLED) when the
 * process had seen an interrupt ("K"), an end_time, and a cairn.end_reason tag.
 * A cell forked from an executor that holds a run keeps that run alive when it crashes:
 * the session rolls back to the executor, which still has the run active.
 * The shell is spawned with posix_spawn (vfork + exec), so it shares no memory with a
 * session holding gigabytes (a forked C watcher would keep copy-on-write pages alive).
 *
 * The one case the watcher cannot handle is the kernel's own shutdown, which kills every
 * process it finds, the watcher included. So each run carries a tag cairn.watcher with the
 * watcher's pid, start time and host; whoever reads the experiment later (the runs table,
 * %runs) marks a RUNNING run whose watcher is gone as FAILED (watch_fix_stale). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "track_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

extern char **environ;

static int watch_fd = -1;
static pid_t watch_owner;
static char watch_tag[128];

static const char watcher_script[] =
    "trap '' INT TERM HUP QUIT PIPE\n"
    "k=4; runs=''\n"
    "while IFS= read -r l; do\n"
    "  case \"$l\" in K) k=5 ;; +*) runs=\"$runs${l#+}\n\" ;; esac\n"
    "done\n"
    "t=$(date +%s%3N)\n"
    "if [ $k = 5 ]; then why='the process running it was interrupted and ended';\n"
    "else why='the process running it ended without track_end_run (crash, kill, undo or end of session)'; fi\n"
    "printf '%s' \"$runs\" | while IFS= read -r d; do\n"
    "  [ -n \"$d\" ] && [ -f \"$d/meta.yaml\" ] || continue\n"
    "  grep -qx 'status: 1' \"$d/meta.yaml\" || continue\n"
    "  printf '%s' \"$why\" > \"$d/tags/cairn.end_reason\"\n"
    "  sed -e \"s/^status: 1\\$/status: $k/\" -e \"s/^end_time: null\\$/end_time: $t/\" \"$d/meta.yaml\""
    " > \"$d/meta.yaml.w$$\" && mv -f \"$d/meta.yaml.w$$\" \"$d/meta.yaml\"\n"
    "done\n";

/* Field 22 of /proc/<pid>/stat (start time in clock ticks since boot), 0 when gone. */
static unsigned long long process_start(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    char *text = store_read_all(path, NULL);
    if (!text)
        return 0;
    unsigned long long start = 0;
    char *p = strrchr(text, ')');
    if (p) {
        /* after ") " come fields 3.. ; starttime is field 22 */
        int field = 2;
        for (char *s = p + 1; *s; s++) {
            if (*s == ' ') {
                field++;
                if (field == 22) {
                    start = strtoull(s + 1, NULL, 10);
                    break;
                }
            }
        }
    }
    free(text);
    return start;
}

static int spawn_watcher(void)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        return -1;
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&attr);
    posix_spawn_file_actions_adddup2(&fa, sv[1], 0);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    /* Not the kernel's sockets and pipes: the front must see them close. */
    posix_spawn_file_actions_addclosefrom_np(&fa, 3);
    sigset_t none, defaults;
    sigemptyset(&none);
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGCHLD);
    sigaddset(&defaults, SIGPIPE);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    char *argv[] = {"sh", "-c", (char *)watcher_script, "cairn-track-watcher", NULL};
    pid_t pid;
    int rc = posix_spawn(&pid, "/bin/sh", &fa, &attr, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    close(sv[1]);
    if (rc != 0) {
        close(sv[0]);
        errno = rc;
        return -1;
    }
    /* An inherited watch_fd (an ancestor's watcher) stays open on purpose: this process
     * may still end the ancestor's runs, so it must keep them alive. */
    watch_fd = sv[0];
    watch_owner = getpid();
    char host[128] = "";
    gethostname(host, sizeof host - 1);
    unsigned long long start = process_start(pid);
    for (int i = 0; i < 50 && !start; i++) { /* /proc entry appears at once; be patient anyway */
        usleep(1000);
        start = process_start(pid);
    }
    snprintf(watch_tag, sizeof watch_tag, "%d %llu %s", (int)pid, start, host);
    return 0;
}

static void watch_send(const char *msg, size_t len)
{
    if (watch_fd < 0)
        return;
    while (send(watch_fd, msg, len, MSG_NOSIGNAL) < 0 && errno == EINTR)
        ;
}

int watch_register(const char *run_dir, char *tag, size_t tagsize)
{
    if (watch_owner != getpid() || watch_fd < 0) {
        if (spawn_watcher() != 0) {
            fprintf(stderr, "track: no watcher process (%s): a crash would leave this run RUNNING until "
                            "the runs table is read\n", strerror(errno));
            return -1;
        }
    }
    char line[TRACK_PATH + 4];
    int n = snprintf(line, sizeof line, "+%s\n", run_dir);
    watch_send(line, (size_t)n);
    snprintf(tag, tagsize, "%s", watch_tag);
    return 0;
}

void watch_interrupted(void)
{
    if (watch_owner == getpid())
        watch_send("K\n", 2);
}

int watch_fix_stale(const char *run_dir)
{
    char path[TRACK_PATH + 64], host[128] = "", myhost[128] = "";
    snprintf(path, sizeof path, "%s/tags/cairn.watcher", run_dir);
    char *tag = store_read_all(path, NULL);
    if (!tag)
        return 0; /* not a cairn run, or no watcher: leave it to whoever wrote it */
    int pid = 0;
    unsigned long long start = 0;
    int ok = sscanf(tag, "%d %llu %127s", &pid, &start, host) >= 2;
    free(tag);
    gethostname(myhost, sizeof myhost - 1);
    if (!ok || pid <= 0 || strcmp(host, myhost) != 0)
        return 0;
    if (process_start(pid) == start)
        return 0; /* the watcher lives: the run is really running */
    snprintf(path, sizeof path, "%s/meta.yaml", run_dir);
    char *meta = store_read_all(path, NULL);
    if (!meta)
        return 0;
    char *st = strstr(meta, "\nstatus: 1\n");
    char *end = strstr(meta, "\nend_time: null\n");
    int fixed = 0;
    if (st) {
        st[9] = '4';
        strbuf b = {0};
        if (end) {
            *end = '\0';
            strbuf_printf(&b, "%s\nend_time: %lld\n%s", meta, track_now_ms(), end + 16);
        } else {
            strbuf_printf(&b, "%s", meta);
        }
        if (b.s && store_write_atomic(path, b.s, b.len) == 0) {
            fixed = 1;
            snprintf(path, sizeof path, "%s/tags/cairn.end_reason", run_dir);
            const char *why = "its session ended (or was killed) with the run still active";
            store_write_atomic(path, why, strlen(why));
        }
        free(b.s);
    }
    free(meta);
    return fixed;
}
