/* cairn/alloc.h — accounted memory for matrices and other runtime buffers.
 *
 * Every runtime buffer comes from cairn_alloc so the kernel can tell how many bytes a
 * name holds (%whos) and the whole runtime holds. Large buffers are 64-byte aligned
 * and mapped with transparent huge pages, which keeps fork() — one per cell — cheap
 * even when the session holds gigabytes. */
#ifndef CAIRN_ALLOC_H
#define CAIRN_ALLOC_H

#include <stddef.h>

/** Allocate `bytes` of zeroed, 64-byte aligned memory; reports an error and returns NULL on failure. */
void *cairn_alloc(size_t bytes);

/** Release memory from cairn_alloc (NULL is ignored). */
void cairn_free(void *ptr);

/** Size in bytes of a block from cairn_alloc, or 0 when ptr is not such a block's start. */
size_t cairn_alloc_size(const void *ptr);

/** Bytes currently held by all runtime allocations. */
size_t cairn_bytes_in_use(void);

/** Number of live runtime allocations. */
size_t cairn_blocks_in_use(void);

#endif
