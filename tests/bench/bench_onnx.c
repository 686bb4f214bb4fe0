/* bench_onnx.c — the C side of bench_onnx.py.
 *   bench_onnx infer MODEL.onnx REPS : import MODEL, then REPS times nn_forward on the 10000
 *                                      Fashion-MNIST test images / 255 ("import S", "infer S")
 *   bench_onnx io DIR REPS           : a 1.0 M-parameter MLP (784-1024-192-10) exported to and
 *                                      imported from DIR/bench_1m.onnx ("export S", "import S")
 * Prints `NAME SECONDS` lines: wall time, and for export/import also the process CPU time
 * (*_cpu), which a loaded machine inflates less than wall time. */
#include "cairn.h"
#include "bench_clock.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static double clock_s(clockid_t id)
{
    struct timespec t;
    clock_gettime(id, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static double cpu(void) { return clock_s(CLOCK_PROCESS_CPUTIME_ID); }

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: bench_onnx infer MODEL REPS | io DIR REPS\n");
        return 2;
    }
    int reps = atoi(argv[3]);
    if (!strcmp(argv[1], "infer")) {
        mat X = idx_read("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz");
        mat_scale_inplace(X, 1.0 / 255);
        double t0 = now();
        nn_model *net = onnx_import(argv[2], NULL);
        printf("import %.6f\n", now() - t0);
        if (!net) {
            fprintf(stderr, "%s\n", cairn_last_error());
            return 1;
        }
        for (int r = 0; r < reps; r++) {
            t0 = now();
            mat z = nn_forward(net, X);
            printf("infer %.6f\n", now() - t0);
            if (r == reps - 1) {
                double s = 0;
                for (int i = 0; i < z.rows; i++)
                    s += *mat_ptr(z, i, 0);
                printf("checksum %.6f\n", s);
            }
            mat_free(&z);
        }
        nn_model_free(net);
        mat_free(&X);
        return 0;
    }
    char path[1024];
    snprintf(path, sizeof path, "%s/bench_1m.onnx", argv[2]);
    nn_model *net = nn_model_new(1, 28, 28, 1);
    nn_flatten(net);
    nn_dense(net, 1024);
    nn_relu(net);
    nn_dense(net, 192);
    nn_relu(net);
    nn_dense(net, 10);
    nn_compile(net, NN_LOSS_CROSS_ENTROPY, nn_adam(1e-3));
    printf("params %ld\n", nn_param_count(net));
    for (int r = 0; r < reps; r++) {
        double t0 = now(), c0 = cpu();
        if (onnx_export(net, path, onnx_meta_defaults()))
            return 1;
        printf("export %.6f\nexport_cpu %.6f\n", now() - t0, cpu() - c0);
        t0 = now(), c0 = cpu();
        nn_model *back = onnx_import(path, NULL);
        printf("import %.6f\nimport_cpu %.6f\n", now() - t0, cpu() - c0);
        if (!back)
            return 1;
        nn_model_free(back);
    }
    FILE *f = fopen(path, "rb");
    if (f) {
        fseek(f, 0, SEEK_END);
        printf("bytes %ld\n", ftell(f));
        fclose(f);
    }
    nn_model_free(net);
    return 0;
}
