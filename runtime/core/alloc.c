/* alloc.c — accounted, aligned allocation for runtime buffers.
 *
 * Each block carries a 64-byte header in front of the data holding its size and a magic
 * word, so cairn_alloc_size() can answer for any pointer the runtime handed out and the
 * kernel can report memory per name. Blocks of 2 MiB and more are mmap'ed and advised to
 * use transparent huge pages: fork() then copies one page-table entry per 2 MiB instead
 * of 512, which is what keeps the per-cell snapshot of a large session cheap. */
#include "cairn/alloc.h"
#include "cairn/error.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define HEADER_BYTES 64u
#define BLOCK_MAGIC 0xCA1B0B10C5EEDULL
#define HUGE_THRESHOLD (2u << 20)
#define HUGE_PAGE (2u << 20)

typedef struct block_header {
    uint64_t magic;
    uint64_t bytes;   /* bytes the caller asked for */
    uint64_t mapped;  /* total mapping length when mmap'ed, 0 when from malloc */
    uint64_t offset;  /* distance from mapping start to this header */
} block_header;

static size_t bytes_in_use;
static size_t blocks_in_use;

/* Set of live block starts (open addressing, linear probing) so cairn_alloc_size can
 * answer for any pointer — a view into the middle of a block included — without
 * reading memory in front of it. */
#define SLOT_EMPTY ((uintptr_t)0)
#define SLOT_GONE ((uintptr_t)1)
static uintptr_t *live_slots;
static size_t live_capacity; /* power of two */
static size_t live_used;     /* live + tombstones */

static size_t slot_hash(uintptr_t p) { return (size_t)((p >> 6) * 0x9E3779B97F4A7C15ULL); }

static int live_grow(void)
{
    size_t cap = live_capacity ? live_capacity * 2 : 1024;
    uintptr_t *slots = calloc(cap, sizeof *slots);
    if (!slots)
        return -1;
    for (size_t i = 0; i < live_capacity; i++) {
        uintptr_t p = live_slots[i];
        if (p > SLOT_GONE) {
            size_t k = slot_hash(p) & (cap - 1);
            while (slots[k])
                k = (k + 1) & (cap - 1);
            slots[k] = p;
        }
    }
    free(live_slots);
    live_slots = slots;
    live_capacity = cap;
    live_used = blocks_in_use;
    return 0;
}

static int live_insert(uintptr_t p)
{
    if ((live_used + 1) * 2 > live_capacity && live_grow() < 0)
        return -1;
    size_t k = slot_hash(p) & (live_capacity - 1);
    while (live_slots[k] > SLOT_GONE)
        k = (k + 1) & (live_capacity - 1);
    if (live_slots[k] == SLOT_EMPTY)
        live_used++;
    live_slots[k] = p;
    return 0;
}

static size_t live_find(uintptr_t p)
{
    if (!live_capacity)
        return (size_t)-1;
    size_t k = slot_hash(p) & (live_capacity - 1);
    while (live_slots[k] != SLOT_EMPTY) {
        if (live_slots[k] == p)
            return k;
        k = (k + 1) & (live_capacity - 1);
    }
    return (size_t)-1;
}

static block_header *header_of(const void *ptr)
{
    return (block_header *)((char *)ptr - HEADER_BYTES);
}

void *cairn_alloc(size_t bytes)
{
    if (bytes > SIZE_MAX - HUGE_PAGE * 2) {
        cairn_error("cairn_alloc", "cannot allocate %zu bytes", bytes);
        return NULL;
    }
    char *base;
    block_header *h;
    if (bytes + HEADER_BYTES >= HUGE_THRESHOLD) {
        /* Map one extra huge page so the data start can sit on a 2 MiB boundary. */
        size_t len = bytes + HEADER_BYTES + HUGE_PAGE;
        void *map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (map == MAP_FAILED) {
            cairn_error("cairn_alloc", "out of memory allocating %zu bytes (%.1f MiB)", bytes,
                        (double)bytes / (1 << 20));
            return NULL;
        }
        uintptr_t start = ((uintptr_t)map + HEADER_BYTES + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1);
        madvise((void *)(start & ~(uintptr_t)(HUGE_PAGE - 1)), len - (start - (uintptr_t)map),
                MADV_HUGEPAGE);
        base = (char *)start - HEADER_BYTES;
        h = (block_header *)base;
        h->mapped = len;
        h->offset = (uint64_t)(base - (char *)map);
    } else {
        base = aligned_alloc(64, (bytes + HEADER_BYTES + 63) & ~(size_t)63);
        if (!base) {
            cairn_error("cairn_alloc", "out of memory allocating %zu bytes", bytes);
            return NULL;
        }
        memset(base, 0, bytes + HEADER_BYTES);
        h = (block_header *)base;
        h->mapped = 0;
        h->offset = 0;
    }
    h->magic = BLOCK_MAGIC;
    h->bytes = bytes;
    if (live_insert((uintptr_t)(base + HEADER_BYTES)) < 0) {
        if (h->mapped)
            munmap(base - h->offset, h->mapped);
        else
            free(base);
        cairn_error("cairn_alloc", "out of memory for the allocation table");
        return NULL;
    }
    bytes_in_use += bytes;
    blocks_in_use++;
    return base + HEADER_BYTES;
}

void cairn_free(void *ptr)
{
    if (!ptr)
        return;
    size_t k = live_find((uintptr_t)ptr);
    if (k == (size_t)-1) {
        cairn_error("cairn_free", "pointer %p was not allocated by the runtime (or was freed twice)", ptr);
        return;
    }
    live_slots[k] = SLOT_GONE;
    block_header *h = header_of(ptr);
    h->magic = 0;
    bytes_in_use -= h->bytes;
    blocks_in_use--;
    if (h->mapped)
        munmap((char *)h - h->offset, h->mapped);
    else
        free(h);
}

size_t cairn_alloc_size(const void *ptr)
{
    if (!ptr || live_find((uintptr_t)ptr) == (size_t)-1)
        return 0;
    return header_of(ptr)->bytes;
}

size_t cairn_bytes_in_use(void) { return bytes_in_use; }

size_t cairn_blocks_in_use(void) { return blocks_in_use; }
