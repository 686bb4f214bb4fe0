/* bench_mat.c — timings of libcairn matrix operations, one operation per run.
 *
 * Usage: bench_mat OP REPS   (OP: dgemm, dgemm_into, gram, add, add_into, colsum, colstd,
 * rowsum, colmax, scale, transpose). Sets up the inputs, runs the operation once untimed
 * (warms caches, page tables and OpenBLAS threads), then REPS timed runs, and prints
 * one line per run: "OP seconds". tests/bench/bench_mat.py runs this program and the
 * NumPy equivalent alternately and compares medians; run that, not this, for figures. */
#include "cairn.h"
#include "bench_clock.h"

#include <time.h>

/* Shapes shared with bench_mat.py. */
enum { GEMM_N = 2000, EW_ROWS = 5000, EW_COLS = 1000, GRAM_ROWS = 4000, GRAM_COLS = 1000 };

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s OP REPS\n", argv[0]);
        return 2;
    }
    const char *op = argv[1];
    int reps = atoi(argv[2]);
    rng_seed(1);
    mat a = mat_empty(), b = mat_empty(), c = mat_empty();
    int kind;
    if (!strcmp(op, "dgemm") || !strcmp(op, "dgemm_into")) {
        a = mat_randn(GEMM_N, GEMM_N);
        b = mat_randn(GEMM_N, GEMM_N);
        c = mat_zeros(GEMM_N, GEMM_N);
        kind = !strcmp(op, "dgemm") ? 0 : 1;
    } else if (!strcmp(op, "gram")) {
        a = mat_randn(GRAM_ROWS, GRAM_COLS);
        kind = 2;
    } else {
        a = mat_randn(EW_ROWS, EW_COLS);
        b = mat_randn(EW_ROWS, EW_COLS);
        c = mat_zeros(EW_ROWS, EW_COLS);
        const char *names[] = {"add", "add_into", "colsum", "colstd", "rowsum", "colmax", "scale", "transpose"};
        kind = -1;
        for (int k = 0; k < 8; k++)
            if (!strcmp(op, names[k]))
                kind = 3 + k;
        if (kind < 0) {
            fprintf(stderr, "unknown op %s\n", op);
            return 2;
        }
    }
    double checksum = 0;
    for (int r = -1; r < reps; r++) {
        double t0 = now();
        mat out = mat_empty();
        switch (kind) {
        case 0: out = mat_mul(a, b); break;
        case 1: mat_mul_into(c, a, b); break;
        case 2: out = mat_gram(a); break;
        case 3: out = mat_add(a, b); break;
        case 4: mat_add_into(c, a, b); break;
        case 5: out = mat_sum(a, 0); break;
        case 6: out = mat_std(a, 0); break;
        case 7: out = mat_sum(a, 1); break;
        case 8: out = mat_max(a, 0); break;
        case 9: out = mat_scale(a, 2.5); break;
        case 10: out = mat_transpose(a); break;
        }
        double t = now() - t0;
        /* Touch the result so nothing is optimized away, and free it inside the loop
         * like NumPy's temporaries are. */
        checksum += out.data ? out.data[0] : c.data[0];
        mat_free(&out);
        if (r >= 0)
            printf("%s %.9f\n", op, t);
    }
    fprintf(stderr, "checksum %g\n", checksum);
    mat_free(&a);
    mat_free(&b);
    mat_free(&c);
    return 0;
}
