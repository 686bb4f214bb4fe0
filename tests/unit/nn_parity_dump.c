/* nn_parity_dump.c — helper of test_nn_parity.py: trains two networks briefly on
 * Fashion-MNIST (the reference CNN, and one with padding, stride, batch norm,
 * leaky ReLU, average and global pooling), then writes into the directory argv[1]:
 * their weights (nn_export_npy, under ref/ and bn/), the 200 test images used (x.npy) and
 * cairn's logits on them (ref_logits.npy, bn_logits.npy). PyTorch then rebuilds both
 * networks from the .npy files and must give the same logits. */
#include "cairn.h"

#include <sys/stat.h>

#define FASHION "/usr/share/datasets/fashion-mnist/"

static int dump(nn_model *net, mat Xtr, mat ytr, mat Xte, const char *dir, const char *name)
{
    char path[1024];
    nn_fit_options o = nn_fit_defaults();
    o.epochs = 1;
    o.batch_size = 64;
    o.verbose = 0;
    nn_history h = nn_fit(net, Xtr, ytr, o);
    nn_history_free(&h);
    snprintf(path, sizeof path, "%s/%s", dir, name);
    mkdir(path, 0700);
    if (nn_export_npy(net, path) < 0)
        return -1;
    mat z = nn_forward(net, Xte);
    snprintf(path, sizeof path, "%s/%s_logits.npy", dir, name);
    int rc = npy_write(path, z);
    mat_free(&z);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: nn_parity_dump DIR\n");
        return 2;
    }
    mat X = idx_read(FASHION "t10k-images-idx3-ubyte.gz"), y = idx_read(FASHION "t10k-labels-idx1-ubyte.gz");
    if (mat_is_empty(X) || mat_is_empty(y)) {
        fprintf(stderr, "nn_parity_dump: %s\n", cairn_last_error());
        return 1;
    }
    mat_scale_inplace(X, 1.0 / 255);
    mat Xtr = mat_row_range(X, 0, 2048), ytr = mat_row_range(y, 0, 2048), Xte = mat_row_range(X, 9800, 200);
    char path[1024];
    snprintf(path, sizeof path, "%s/x.npy", argv[1]);
    mat xc = mat_copy(Xte);
    if (npy_write(path, xc))
        return 1;

    nn_model *ref = nn_model_new(1, 28, 28, 1);
    nn_conv2d(ref, 16, 3, 1, 0, 1), nn_relu(ref), nn_maxpool(ref, 2, 2);
    nn_conv2d(ref, 32, 3, 1, 0, 1), nn_relu(ref), nn_maxpool(ref, 2, 2);
    nn_flatten(ref), nn_dense(ref, 128), nn_relu(ref), nn_dense(ref, 10);
    nn_compile(ref, NN_LOSS_CROSS_ENTROPY, nn_adam(1e-3));

    nn_model *bn = nn_model_new(1, 28, 28, 2);
    nn_conv2d(bn, 8, 3, 1, 1, 0), nn_batchnorm(bn), nn_leaky_relu(bn, 0.1), nn_avgpool(bn, 2, 2);
    nn_conv2d(bn, 16, 3, 2, 1, 1), nn_tanh(bn), nn_global_avgpool(bn);
    nn_dense(bn, 10);
    nn_compile(bn, NN_LOSS_CROSS_ENTROPY, nn_sgd(0.05, 0.9));

    int rc = dump(ref, Xtr, ytr, Xte, argv[1], "ref") || dump(bn, Xtr, ytr, Xte, argv[1], "bn");
    if (rc)
        fprintf(stderr, "nn_parity_dump: %s\n", cairn_last_error());
    nn_model_free(ref), nn_model_free(bn);
    mat_free(&xc), mat_free(&X), mat_free(&y);
    return rc ? 1 : 0;
}
