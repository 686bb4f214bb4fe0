/* dmat_show.c — a dmat as a cell's trailing expression: shape, how its rows are spread
 * over the ranks and the memory each rank holds for it (computed on the driver from the
 * handle: showing a dmat costs no round trip to the workers). */
#include "dmat_internal.h"

#include "cairn/display.h"

#include <stdio.h>
#include <string.h>

void dmat_bytes_text(double b, char *out, size_t size)
{
    const char *unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    while (b >= 1024 && u < 4) {
        b /= 1024;
        u++;
    }
    snprintf(out, size, u ? "%.1f %s" : "%.0f %s", b, unit[u]);
}

void cairn_show_dmat(const void *value, size_t size, const char *type)
{
    (void)size;
    (void)type;
    dmat A = *(const dmat *)value;
    char text[4096];
    size_t o = 0;
    int ranks = dmat_cluster_ranks();
    if (A.id == 0) {
        snprintf(text, sizeof text, "dmat (empty)");
    } else if (A.cluster != dmat_cluster_id() || ranks == 0) {
        snprintf(text, sizeof text, "dmat %d x %d (its cluster is no longer running)", A.rows, A.cols);
    } else {
        char total[32];
        dmat_bytes_text((double)A.rows * A.cols * sizeof(double), total, sizeof total);
        o += (size_t)snprintf(text + o, sizeof text - o, "dmat %d x %d of double, %s, rows over %d rank%s:", A.rows,
                              A.cols, total, ranks, ranks == 1 ? "" : "s");
        for (int r = 0; r < ranks && o < sizeof text - 200; r++) {
            int first, count;
            dmat_partition(A.rows, ranks, r, &first, &count);
            char b[32];
            dmat_bytes_text((double)count * A.cols * sizeof(double), b, sizeof b);
            if (r == 8 && ranks > 10) {
                o += (size_t)snprintf(text + o, sizeof text - o, "\n  ... %d more ranks", ranks - 9);
                r = ranks - 2;
                continue;
            }
            if (count > 0)
                o += (size_t)snprintf(text + o, sizeof text - o, "\n  rank %d: rows %d..%d (%d rows, %s)", r, first,
                                      first + count - 1, count, b);
            else
                o += (size_t)snprintf(text + o, sizeof text - o, "\n  rank %d: no rows", r);
        }
    }
    display_part p = {"text/plain", text, strlen(text)};
    display_result_bundle(&p, 1);
}
