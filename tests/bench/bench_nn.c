/* bench_nn.c — one epoch of the reference CNN on Fashion-MNIST, timed, for
 * bench_nn.py, which runs PyTorch on the same network in the same run.
 *
 *     bench_nn epoch REPS   prints  load S, epoch S and epoch_cpu S (one line per rep, a fresh seeded net each),
 *                                   infer S (10000 test images), acc A, peak_rss_mib M
 *     bench_nn profile ROWS one epoch of the reference network on the first ROWS (<= 10000) test
 *                           images only (nothing else loaded; for callgrind/perf: run it under
 *                           `valgrind --tool=callgrind --toggle-collect=nn_fit`)
 *     bench_nn accuracy EPOCHS [ROWS]
 *                           trains the batch-norm network below (on the first ROWS training
 *                           images, default all 60000) and prints one line per epoch
 *                           (epoch E test_acc A seconds S) and then test_acc, fit S, fit_cpu S
 *
 * Reference network (epoch): conv(1->16, 3x3)-relu-maxpool-conv(16->32, 3x3)-relu-maxpool-
 * dense(128)-relu-dense(10), Adam 1e-3, batch 64, shuffled, 60000 training images / 255.
 *
 * Accuracy network (issue 10's "2-conv network with batch norm and augmentation, >= 0.92 test
 * accuracy within 15 minutes"): conv(1->32, 3x3, pad 1)-bn-relu-maxpool-conv(32->64, 3x3,
 * pad 1)-bn-relu-maxpool-dense(128)-bn-relu-dropout(0.3)-dense(10), Adam 1e-3 with a cosine
 * schedule to 0, batch 64, augmentation: random shift by up to 1 pixel and horizontal flip.
 * The test set is passed as the validation set only to print its accuracy after every epoch
 * (nothing is selected or stopped on it). */
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

static nn_model *accuracy_net(uint64_t seed)
{
    nn_model *net = nn_model_new(1, 28, 28, seed);
    nn_conv2d(net, 32, 3, 1, 1, 0), nn_batchnorm(net), nn_relu(net), nn_maxpool(net, 2, 2);
    nn_conv2d(net, 64, 3, 1, 1, 0), nn_batchnorm(net), nn_relu(net), nn_maxpool(net, 2, 2);
    nn_flatten(net), nn_dense(net, 128), nn_batchnorm(net), nn_relu(net), nn_dropout(net, 0.3), nn_dense(net, 10);
    nn_compile(net, NN_LOSS_CROSS_ENTROPY, nn_adam(1e-3));
    return net;
}

static int accuracy(mat X, mat y, mat Xt, mat yt, int epochs, int rows)
{
    nn_model *net = accuracy_net(7);
    nn_fit_options o = nn_fit_defaults();
    o.epochs = epochs;
    o.batch_size = 64;
    o.schedule = NN_LR_COSINE;
    o.augment_shift = 1;
    o.augment_flip = 1;
    o.X_val = Xt;
    o.y_val = yt;
    o.verbose = 0;
    double t0 = now(), c0 = cpu_seconds(RUSAGE_SELF);
    nn_history h = nn_fit(net, mat_row_range(X, 0, rows), mat_row_range(y, 0, rows), o);
    double wall = now() - t0, cpu = cpu_seconds(RUSAGE_SELF) - c0;
    if (h.epochs_run == 0) {
        fprintf(stderr, "bench_nn: %s\n", cairn_last_error());
        return 1;
    }
    for (int e = 0; e < h.epochs_run; e++)
        printf("epoch %d test_acc %.4f train_loss %.4f\n", e + 1, h.val_acc.data[e], h.train_loss.data[e]);
    nn_eval ev = nn_evaluate(net, Xt, yt);
    printf("test_acc %.4f\nfit %.3f\nfit_cpu %.3f\n", ev.accuracy, wall, cpu);
    nn_eval_free(&ev);
    nn_history_free(&h);
    nn_model_free(net);
    return 0;
}

int main(int argc, char **argv)
{
    int reps = argc > 2 ? atoi(argv[2]) : 1;
    int acc_mode = argc > 1 && strcmp(argv[1], "accuracy") == 0;
    if (argc > 1 && strcmp(argv[1], "profile") == 0) {
        mat Xp = idx_read(FASHION "t10k-images-idx3-ubyte.gz"), yp = idx_read(FASHION "t10k-labels-idx1-ubyte.gz");
        if (mat_is_empty(Xp) || mat_is_empty(yp) || reps > Xp.rows) {
            fprintf(stderr, "bench_nn profile: %s\n", mat_is_empty(Xp) ? cairn_last_error() : "ROWS must be <= 10000");
            return 1;
        }
        mat_scale_inplace(Xp, 1.0 / 255);
        nn_fit_options o = nn_fit_defaults();
        o.epochs = 1, o.batch_size = 64, o.verbose = 0;
        nn_model *net = reference(1);
        nn_history h = nn_fit(net, mat_row_range(Xp, 0, reps), mat_row_range(yp, 0, reps), o);
        printf("loss %.6f\n", h.train_loss.data[0]);
        nn_history_free(&h);
        nn_model_free(net);
        return 0;
    }
    if (argc < 2 || (strcmp(argv[1], "epoch") != 0 && !acc_mode) || reps < 1) {
        fprintf(stderr, "usage: bench_nn epoch REPS | bench_nn profile ROWS | bench_nn accuracy EPOCHS [ROWS]\n");
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
    if (acc_mode) {
        int rows = argc > 3 ? atoi(argv[3]) : X.rows;
        return accuracy(X, y, Xt, yt, reps, rows > 0 && rows < X.rows ? rows : X.rows);
    }
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
