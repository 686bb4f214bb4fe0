/* cell_malloc.c — malloc for cell code: large blocks on transparent huge pages.
 *
 * The executor forks once per cell, and fork() copies one page-table entry per 4 KiB
 * page: a session holding 1 GiB from plain malloc costs ~30-70 ms per cell, from huge
 * pages under 1 ms (tests/bench/bench_fork.py). The runtime's own buffers come from
 * cairn_alloc, which maps them with MADV_HUGEPAGE; cells that malloc their own big
 * arrays get the same through these wrappers, which compile.c binds to the names
 * malloc, calloc and realloc of every cell. The memory still belongs to glibc (free,
 * realloc and libc functions work on it as usual); only the 2 MiB-aligned interior of
 * a block of 4 MiB or more is advised.
 *
 * The same blocks are remembered (start -> size) so %whos can say how much memory a
 * pointer variable holds; cell code's free() goes through cell_free to forget them. A
 * block freed by libc instead (rare: getline reallocating a 4 MiB line) leaves a stale
 * entry, which at worst makes %whos credit a size to a pointer into a new block. */
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

/* Open-addressing set of big blocks: start address -> size. */
typedef struct big_block {
    uintptr_t start; /* 0 empty, 1 deleted */
    size_t size;
} big_block;
static big_block *blocks;
static size_t blocks_cap, blocks_used;

static size_t slot_of(uintptr_t p, size_t cap) { return (size_t)((p >> 12) * 0x9E3779B97F4A7C15ULL) & (cap - 1); }

static void remember(uintptr_t p, size_t n)
{
    if ((blocks_used + 1) * 2 > blocks_cap) {
        size_t cap = blocks_cap ? blocks_cap * 2 : 256;
        big_block *nb = calloc(cap, sizeof *nb);
        if (!nb)
            return;
        for (size_t i = 0; i < blocks_cap; i++)
            if (blocks[i].start > 1) {
                size_t k = slot_of(blocks[i].start, cap);
                while (nb[k].start)
                    k = (k + 1) & (cap - 1);
                nb[k] = blocks[i];
            }
        free(blocks);
        blocks = nb;
        blocks_cap = cap;
        blocks_used = 0;
        for (size_t i = 0; i < cap; i++)
            blocks_used += nb[i].start > 1;
    }
    size_t k = slot_of(p, blocks_cap);
    while (blocks[k].start > 1 && blocks[k].start != p)
        k = (k + 1) & (blocks_cap - 1);
    if (blocks[k].start != p)
        blocks_used++;
    blocks[k].start = p;
    blocks[k].size = n;
}

static big_block *find(uintptr_t p)
{
    if (!blocks_cap || p <= 1)
        return NULL;
    for (size_t k = slot_of(p, blocks_cap); blocks[k].start; k = (k + 1) & (blocks_cap - 1))
        if (blocks[k].start == p)
            return &blocks[k];
    return NULL;
}

static void forget(uintptr_t p)
{
    big_block *b = find(p);
    if (b)
        b->start = 1;
}

size_t cell_block_size(const void *p)
{
    big_block *b = find((uintptr_t)p);
    return b ? b->size : 0;
}

static void *track(void *p, size_t n)
{
    if (p && n >= ADVISE_MIN) {
        advise_huge(p, n);
        remember((uintptr_t)p, n);
    }
    return p;
}

/* A NULL result is remembered in the report page: a crash on the NULL pointer that
 * follows is then reported as the failed allocation it is (report.c). */
static void *failed(size_t n)
{
    exec_report *r = crash_report();
    if (r)
        r->failed_alloc = n ? n : 1;
    return NULL;
}

void *cell_malloc(size_t n)
{
    void *p = malloc(n);
    return p ? track(p, n) : failed(n);
}

void *cell_calloc(size_t count, size_t size)
{
    void *p = calloc(count, size);
    if (!p)
        return count && size ? failed(count <= SIZE_MAX / size ? count * size : SIZE_MAX) : NULL;
    return size && count <= SIZE_MAX / size ? track(p, count * size) : p;
}

void *cell_realloc(void *old, size_t n)
{
    /* Forget the old block first (it is gone after a successful realloc); put it back
     * if realloc fails and the old block stays. */
    big_block *b = find((uintptr_t)old);
    uintptr_t was = b ? b->start : 0;
    size_t was_size = b ? b->size : 0;
    if (b)
        b->start = 1;
    void *p = realloc(old, n);
    if (!p && n != 0 && was)
        remember(was, was_size);
    if (!p && n != 0)
        return failed(n);
    return track(p, n);
}

void cell_free(void *p)
{
    forget((uintptr_t)p);
    free(p);
}
