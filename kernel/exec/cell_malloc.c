/* cell_malloc.c — malloc for cell code: large blocks on transparent huge pages.
 *
 * The executor forks once per cell, and fork() copies one page-table entry per 4 KiB
 * page: a session holding 1 GiB from plain malloc costs ~30-70 ms per cell, from huge
 * pages under 1 ms (tests/bench/bench_fork.py). The runtime's own buffers come from
 * cairn_alloc, which maps them with MADV_HUGEPAGE; cells that malloc their own big
 * arrays get the same through these wrappers, which compile.c binds to the names
 * malloc, calloc and realloc of every cell. The memory still belongs to glibc (free,
 * realloc and libc functions work on it as usual); only the 2 MiB-aligned interior of
 * a block of 4 MiB or more is advised. */
#include "exec_internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#define HUGE_PAGE ((uintptr_t)2 << 20)
#define ADVISE_MIN ((size_t)4 << 20)

static void advise_huge(void *p, size_t n)
{
    if (!p || n < ADVISE_MIN)
        return;
    uintptr_t start = ((uintptr_t)p + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
    uintptr_t end = ((uintptr_t)p + n) & ~(HUGE_PAGE - 1);
    if (end > start)
        madvise((void *)start, end - start, MADV_HUGEPAGE); /* best effort: THP may be off */
}

void *cell_malloc(size_t n)
{
    void *p = malloc(n);
    advise_huge(p, n);
    return p;
}

void *cell_calloc(size_t count, size_t size)
{
    void *p = calloc(count, size);
    if (p && size && count <= SIZE_MAX / size)
        advise_huge(p, count * size);
    return p;
}

void *cell_realloc(void *old, size_t n)
{
    void *p = realloc(old, n);
    advise_huge(p, n);
    return p;
}
