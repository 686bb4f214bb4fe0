/* bench_nn.c — one epoch of the reference CNN on Fashion-MNIST, timed, for
 * bench_nn.py, which runs PyTorch on the same network in the same run.
 *
 *     bench_nn epoch REPS   prints  load S, epoch S and epoch_cpu S (one line per rep, a fresh seeded net each),
 *                                   infer S (10000 test images), acc A, peak_rss_mib M
 *
 * Network: conv(1->16, 3x3)-relu-maxpool-conv(16->32, 3x3)-relu-maxpool-dense(128)-relu-
 * dense(10), Adam 1e-3, batch 64, shuffled, 60000 training images / 255. */
#include "cairn.h"
#include "bench_clock.h"

#include <string.h>
#include <sys/resource.h>
#include <time.h>

#define FASHION "/usr/share/datasets/fashion-mnist/"

static nn_model *reference(uint64_t seed)
{
    nn_model *net = nn_model_new(1, 28, 28, seed);
    nn_conv2d(net, 16, 3, 1, 0, 1), nn_relu(net), nn_maxpool(net, 2, 2);
    nn_conv2d(net, 32, 3, 1, 0, 1), nn_relu(net), nn_maxpool(net, 2, 2);
    nn_flatten(net), nn_dense(net, 128), nn_relu(net), nn_dense(net, 10);
    nn_compile(net, NN_LOSS_CROSS_ENTROPY, nn_adam(1e-3));
    return net;
}

int main(int argc, char **argv)
{
    int reps = argc > 2 ? atoi(argv[2]) : 1;
    if (argc < 2 || strcmp(argv[1], "epoch") != 0 || reps < 1) {
        fprintf(stderr, "usage: bench_nn epoch REPS\n");
        return 2;
    }
    double t0 = now();
    mat X = idx_read(FASHION "train-images-idx3-ubyte.gz"), y = idx_read(FASHION "train-labels-idx1-ubyte.gz");
    mat Xt = idx_read(FASHION "t10k-images-idx3-ubyte.gz"), yt = idx_read(FASHION "t10k-labels-idx1-ubyte.gz");
    if (mat_is_empty(X) || mat_is_empty(Xt)) {
        fprintf(stderr, "bench_nn: %s\n", cairn_last_error());
        return 1;
    }
    mat_scale_inplace(X, 1.0 / 255);
    mat_scale_inplace(Xt, 1.0 / 255);
    printf("load %.6f\n", now() - t0);
    nn_fit_options o = nn_fit_defaults();
    o.epochs = 1;
    o.batch_size = 64;
    o.verbose = 0;
    for (int r = 0; r < reps; r++) {
        nn_model *net = reference(1 + (uint64_t)r);
        t0 = now();
        double c0 = cpu_seconds(RUSAGE_SELF);
        nn_history h = nn_fit(net, X, y, o);
        printf("epoch %.6f\n", now() - t0);
        printf("epoch_cpu %.6f\n", cpu_seconds(RUSAGE_SELF) - c0);
        fflush(stdout);
        t0 = now();
        mat p = nn_predict(net, Xt);
        printf("infer %.6f\n", now() - t0);
        int right = 0;
        for (int i = 0; i < p.rows; i++)
            right += p.data[i] == yt.data[i];
        printf("acc %.4f\n", (double)right / p.rows);
        mat_free(&p);
        nn_history_free(&h);
        nn_model_free(net);
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("peak_rss_mib %.1f\n", ru.ru_maxrss / 1024.0);
    return 0;
}
