/* mat_core.c — creating and releasing matrices: the few functions every module needs. */
#include "cairn/mat.h"
#include "cairn/alloc.h"
#include "cairn/error.h"

mat mat_empty(void)
{
    mat m = {0};
    return m;
}

int mat_is_empty(mat m) { return m.data == NULL || m.rows <= 0 || m.cols <= 0; }

static mat make(const char *func, int rows, int cols)
{
    if (rows < 0 || cols < 0) {
        cairn_error(func, "negative shape %d x %d", rows, cols);
        return mat_empty();
    }
    mat m = {0};
    m.rows = rows;
    m.cols = cols;
    m.stride = cols;
    size_t n = (size_t)rows * (size_t)cols;
    if (n == 0)
        return m;
    m.data = cairn_alloc(n * sizeof(double));
    if (!m.data) {
        cairn_error(func, "out of memory for a %d x %d matrix (%.1f MiB)", rows, cols,
                    (double)n * 8 / (1 << 20));
        return mat_empty();
    }
    m.flags = MAT_OWNS;
    return m;
}

mat mat_zeros(int rows, int cols) { return make("mat_zeros", rows, cols); }

/* cairn_alloc returns zeroed memory already (fresh mappings are zero, small blocks are
 * memset), so "unspecified contents" costs nothing extra here. */
mat mat_alloc(int rows, int cols) { return make("mat_alloc", rows, cols); }

void mat_free(mat *m)
{
    if (!m)
        return;
    if ((m->flags & MAT_OWNS) && m->data)
        cairn_free(m->data);
    *m = mat_empty();
}
