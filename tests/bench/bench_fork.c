/* bench_fork.c — what the per-cell fork() snapshot costs for a session holding memory.
 *
 * The executor forks once per cell, so the time fork() takes for a process holding a
 * large matrix is latency added to every cell. fork() copies page tables: 4 KiB pages
 * cost one entry per page, transparent huge pages one per 2 MiB. This program allocates
 * SIZE MiB either with cairn_alloc (mmap + MADV_HUGEPAGE) or with plain malloc, touches
 * every page, then times REPS rounds of fork() (the parent's view: the call alone) and of
 * fork + child _exit + waitpid (what a cell pays before it can start, upper bound).
 * The driver bench_fork.py runs it next to Python's os.fork() holding a NumPy array.
 *
 * Usage: bench_fork cairn|malloc SIZE_MIB REPS
 * Prints one line: "<mode> <size> MiB fork_ms <median> fork_wait_ms <median> huge_kib <AnonHugePages>" */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cairn.h"

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* AnonHugePages of this process, in KiB (how much of it huge pages really back). */
static long huge_kib(void)
{
    FILE *f = fopen("/proc/self/smaps_rollup", "r");
    if (!f)
        return -1;
    char line[256];
    long kib = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "AnonHugePages: %ld kB", &kib) == 1)
            break;
    fclose(f);
    return kib;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: %s cairn|malloc SIZE_MIB REPS\n", argv[0]);
        return 2;
    }
    const char *mode = argv[1];
    size_t bytes = (size_t)atol(argv[2]) << 20;
    int reps = atoi(argv[3]);
    if (reps < 1 || reps > 1000 || (strcmp(mode, "cairn") && strcmp(mode, "malloc"))) {
        fprintf(stderr, "bench_fork: bad arguments\n");
        return 2;
    }
    char *p = strcmp(mode, "cairn") == 0 ? cairn_alloc(bytes) : malloc(bytes);
    if (!p) {
        fprintf(stderr, "bench_fork: cannot allocate %zu bytes\n", bytes);
        return 1;
    }
    for (size_t i = 0; i < bytes; i += 4096)
        p[i] = (char)i;
    double *t_fork = malloc(sizeof(double) * (size_t)reps);
    double *t_wait = malloc(sizeof(double) * (size_t)reps);
    for (int r = 0; r < reps; r++) {
        fflush(NULL);
        double t0 = now_ms();
        pid_t pid = fork();
        if (pid == 0)
            _exit(p[4096] == 1); /* touch nothing else: the snapshot itself is measured */
        double t1 = now_ms();
        int status;
        waitpid(pid, &status, 0);
        double t2 = now_ms();
        t_fork[r] = t1 - t0;
        t_wait[r] = t2 - t0;
    }
    printf("%s %zu MiB fork_ms %.3f fork_wait_ms %.3f huge_kib %ld\n", mode, bytes >> 20,
           median(t_fork, reps), median(t_wait, reps), huge_kib());
    free(t_fork);
    free(t_wait);
    return 0;
}
