/* worker_store.c — the table of distributed matrices on one rank: id → local rows.
 * Every rank holds the same ids (operations run in the same order everywhere). */
#include "worker.h"

#include "cairn/alloc.h"

#include <stdlib.h>
#include <string.h>

/* pointers, so a dobj * stays valid while other objects are made */
static dobj **objs;
static int nobjs, capobjs;

dobj *store_new(uint64_t id, int rows, int cols)
{
    if (nobjs == capobjs) {
        int cap = capobjs ? 2 * capobjs : 64;
        dobj **grown = realloc(objs, (size_t)cap * sizeof *objs);
        if (!grown) {
            w_fail("rank %d: out of memory for the object table", W.rank);
            return NULL;
        }
        objs = grown;
        capobjs = cap;
    }
    dobj *po = calloc(1, sizeof *po);
    if (!po) {
        w_fail("rank %d: out of memory for the object table", W.rank);
        return NULL;
    }
    dobj o = *po;
    o.id = id;
    o.rows = rows;
    o.cols = cols;
    dmat_partition(rows, W.size, W.rank, &o.first, &o.count);
    size_t n = (size_t)o.count * (size_t)cols;
    /* cairn_alloc: huge pages and the runtime's accounting of what a rank holds */
    o.data = cairn_alloc((n ? n : 1) * sizeof(double));
    if (!o.data) {
        w_fail("rank %d: out of memory for %d x %d rows of a %d x %d dmat (%.1f MiB)", W.rank, o.count, cols, rows,
               cols, (double)n * 8 / 1048576.0);
        free(po);
        return NULL;
    }
    *po = o;
    objs[nobjs++] = po;
    return po;
}

dobj *store_get(uint64_t id)
{
    for (int i = 0; i < nobjs; i++)
        if (objs[i]->id == id)
            return objs[i];
    return NULL;
}

void store_free(uint64_t id)
{
    for (int i = 0; i < nobjs; i++)
        if (objs[i]->id == id) {
            cairn_free(objs[i]->data);
            free(objs[i]);
            objs[i] = objs[--nobjs];
            return;
        }
}

size_t store_bytes(void)
{
    size_t b = 0;
    for (int i = 0; i < nobjs; i++)
        b += (size_t)objs[i]->count * (size_t)objs[i]->cols * sizeof(double);
    return b;
}

int store_count(void) { return nobjs; }

dobj *store_at(int i) { return i >= 0 && i < nobjs ? objs[i] : NULL; }
