/* bench_clock.h — the clocks every C benchmark reads: wall time and the process's CPU
 * time. Wall time is CLOCK_MONOTONIC, which NTP slewing and date changes cannot bend. CPU
 * time is user + system of all threads (RUSAGE_SELF) or of the waited-for children
 * (RUSAGE_CHILDREN): on a loaded machine it grows less than wall time, so the drivers
 * print both. Header-only, for the bench programs only. */
#ifndef CAIRN_BENCH_CLOCK_H
#define CAIRN_BENCH_CLOCK_H

#include <sys/resource.h>
#include <time.h>

/* Seconds on a monotonic clock (differences only). */
static inline double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* User + system CPU seconds of this process (who = RUSAGE_SELF) or its waited-for children. */
static inline double cpu_seconds(int who)
{
    struct rusage ru;
    getrusage(who, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 + (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec * 1e-6;
}

#endif
