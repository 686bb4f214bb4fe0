/* bench_linalg.c — timings of libcairn's SVDs and IDX loading on Fashion-MNIST, printed
 * for tests/bench/bench_linalg.py, which runs the NumPy / scikit-learn peer in the same
 * session and prints the ratios.
 *
 * usage: bench_linalg OP REPS   with OP one of
 *   svd_thin        thin SVD of the 10000 x 784 test images (scaled to [0, 1])
 *   svd_randomized  rank-50 randomized SVD of the 60000 x 784 training images
 *                   (oversample 10, 7 power iterations: scikit-learn's defaults here)
 *   idx_load        idx_read of the gzip-compressed training images
 * Each run does one untimed warm-up, then prints "OP seconds" per repeat; svd_randomized
 * also prints "error E", the relative Frobenius error ||A - U S Vt|| / ||A||. */
#include "cairn.h"
#include "bench_clock.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define FASHION "/usr/share/datasets/fashion-mnist/"

static mat load_scaled(const char *path)
{
    mat X = idx_read(path);
    for (size_t k = 0; k < (size_t)X.rows * (size_t)X.cols; k++)
        X.data[k] /= 255.0;
    return X;
}

static double relative_error(mat A, svd_result r)
{
    mat R = svd_reconstruct(r, 0);
    double num = 0, den = 0;
    for (size_t k = 0; k < (size_t)A.rows * (size_t)A.cols; k++) {
        double d = A.data[k] - R.data[k];
        num += d * d;
        den += A.data[k] * A.data[k];
    }
    mat_free(&R);
    return sqrt(num / den);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s svd_thin|svd_randomized|idx_load REPS\n", argv[0]);
        return 2;
    }
    const char *op = argv[1];
    int reps = atoi(argv[2]);
    mat A = mat_empty();
    if (strcmp(op, "svd_thin") == 0)
        A = load_scaled(FASHION "t10k-images-idx3-ubyte.gz");
    else if (strcmp(op, "svd_randomized") == 0)
        A = load_scaled(FASHION "train-images-idx3-ubyte.gz");
    else if (strcmp(op, "idx_load") != 0) {
        fprintf(stderr, "unknown op %s\n", op);
        return 2;
    }
    if (strcmp(op, "idx_load") != 0 && mat_is_empty(A)) {
        fprintf(stderr, "%s\n", cairn_last_error());
        return 1;
    }
    for (int rep = -1; rep < reps; rep++) {
        double t0 = now(), t;
        if (strcmp(op, "svd_thin") == 0) {
            svd_result r = svd_thin(A);
            t = now() - t0;
            if (mat_is_empty(r.S)) {
                fprintf(stderr, "%s\n", cairn_last_error());
                return 1;
            }
            if (rep == -1)
                fprintf(stderr, "S[0] %.12g S[783] %.6g\n", r.S.data[0], r.S.data[r.S.cols - 1]);
            svd_free(&r);
        } else if (strcmp(op, "svd_randomized") == 0) {
            svd_result r = svd_randomized(A, 50, 10, 7, 0);
            t = now() - t0;
            if (mat_is_empty(r.S)) {
                fprintf(stderr, "%s\n", cairn_last_error());
                return 1;
            }
            if (rep == -1)
                printf("error %.12g\n", relative_error(A, r));
            svd_free(&r);
        } else {
            mat X = idx_read(FASHION "train-images-idx3-ubyte.gz");
            t = now() - t0;
            if (mat_is_empty(X)) {
                fprintf(stderr, "%s\n", cairn_last_error());
                return 1;
            }
            mat_free(&X);
        }
        if (rep >= 0)
            printf("%s %.9f\n", op, t);
    }
    mat_free(&A);
    return 0;
}
