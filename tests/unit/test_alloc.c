/* test_alloc.c — accounting and alignment of runtime allocations, matrix create/free. */
#include "cairn.h"
#include "check.h"

#include <stdint.h>

int main(void)
{
    size_t before = cairn_bytes_in_use();
    double *small = cairn_alloc(100 * sizeof(double));
    CHECK(small != NULL);
    CHECK(((uintptr_t)small & 63u) == 0);
    CHECK(small[0] == 0.0 && small[99] == 0.0);
    CHECK(cairn_alloc_size(small) == 800);
    CHECK(cairn_alloc_size(small + 8) == 0); /* a pointer into the middle is not a block */
    CHECK(cairn_bytes_in_use() == before + 800);

    size_t big_bytes = (size_t)8 << 20;
    double *big = cairn_alloc(big_bytes);
    CHECK(big != NULL);
    CHECK(((uintptr_t)big & ((2u << 20) - 1)) == 0); /* huge-page aligned */
    big[big_bytes / sizeof(double) - 1] = 1.5;
    CHECK(cairn_alloc_size(big) == big_bytes);
    CHECK(cairn_blocks_in_use() >= 2);

    cairn_free(small);
    cairn_free(big);
    CHECK(cairn_bytes_in_use() == before);

    long errors = cairn_error_count();
    cairn_free(small); /* double free is reported, not a crash */
    CHECK(cairn_error_count() == errors + 1);
    CHECK(strstr(cairn_last_error(), "cairn_free") != NULL);

    mat m = mat_zeros(3, 4);
    CHECK(!mat_is_empty(m) && m.rows == 3 && m.cols == 4 && m.stride == 4);
    CHECK(cairn_alloc_size(m.data) == 3 * 4 * sizeof(double));
    mat_free(&m);
    CHECK(mat_is_empty(m));
    mat bad = mat_zeros(-1, 2);
    CHECK(mat_is_empty(bad));
    CHECK(strstr(cairn_last_error(), "mat_zeros: negative shape -1 x 2") != NULL);
    return check_summary("alloc");
}
