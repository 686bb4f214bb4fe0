/* nn_loss.c — the three losses on a batch of outputs, their gradients, and the checks
 * that targets fit the loss before any training starts.
 *
 * Cross-entropy and binary cross-entropy take logits and are computed in the stable
 * log-sum-exp / softplus forms (as PyTorch's CrossEntropyLoss and BCEWithLogitsLoss);
 * a final softmax or sigmoid layer is folded into them (nn_loss_layers), so a network
 * written the Keras way trains the same. Class weights follow PyTorch: the loss is the
 * weighted mean sum(w_y * l) / sum(w_y). */
#include "nn_internal.h"

#include <math.h>

#include "cairn/error.h"

double nn_loss_eval(int loss, const nn_real *z, int batch, int k, const double *y, int ystride,
                    const double *cw, nn_real *grad, long *correct)
{
    double total = 0, wsum = 0;
    long right = 0;
    if (loss == NN_LOSS_CROSS_ENTROPY) {
        for (int r = 0; r < batch; r++)
            wsum += cw ? cw[(int)y[(size_t)r * ystride]] : 1;
        for (int r = 0; r < batch; r++) {
            const nn_real *zr = z + (size_t)r * k;
            int t = (int)y[(size_t)r * ystride], arg = 0;
            double mx = zr[0], s = 0, w = cw ? cw[t] : 1;
            for (int j = 1; j < k; j++)
                if (zr[j] > mx)
                    mx = zr[j], arg = j;
            for (int j = 0; j < k; j++)
                s += exp((double)zr[j] - mx);
            double lse = mx + log(s);
            total += w * (lse - zr[t]);
            right += arg == t;
            if (grad)
                for (int j = 0; j < k; j++)
                    grad[(size_t)r * k + j] = (nn_real)(w * (exp((double)zr[j] - lse) - (j == t)) / wsum);
        }
    } else {
        if (loss == NN_LOSS_BINARY_CROSS_ENTROPY && cw) {
            for (int r = 0; r < batch; r++)
                for (int j = 0; j < k; j++)
                    wsum += cw[y[(size_t)r * ystride + j] > 0.5];
        } else {
            wsum = (double)batch * k;
        }
        for (int r = 0; r < batch; r++)
            for (int j = 0; j < k; j++) {
                double zz = z[(size_t)r * k + j], t = y[(size_t)r * ystride + j], g;
                if (loss == NN_LOSS_BINARY_CROSS_ENTROPY) {
                    double w = cw ? cw[t > 0.5] : 1;
                    total += w * ((zz > 0 ? zz : 0) - zz * t + log1p(exp(-fabs(zz))));
                    double p = zz >= 0 ? 1 / (1 + exp(-zz)) : exp(zz) / (1 + exp(zz));
                    g = w * (p - t) / wsum;
                    right += (zz > 0) == (t > 0.5);
                } else {
                    total += (zz - t) * (zz - t);
                    g = 2 * (zz - t) / wsum;
                }
                if (grad)
                    grad[(size_t)r * k + j] = (nn_real)g;
            }
    }
    if (correct)
        *correct = right;
    return total / wsum;
}

int nn_check_input(const nn_model *m, mat X, const char *func)
{
    if (mat_is_empty(X)) {
        cairn_error(func, "the input matrix is empty (%d x %d)", X.rows, X.cols);
        return -1;
    }
    if ((size_t)X.cols != nn_in_size(m) ||
        (X.channels && (X.channels != m->in_c || X.height != m->in_h || X.width != m->in_w))) {
        cairn_error(func, "rows of X are %d values (image shape %d x %d x %d) but the network takes %d x %d x %d",
                    X.cols, X.channels, X.height, X.width, m->in_c, m->in_h, m->in_w);
        return -1;
    }
    for (int i = 0; i < X.rows; i++) {
        const double *r = mat_ptr(X, i, 0);
        for (int j = 0; j < X.cols; j++)
            if (!isfinite(r[j])) {
                cairn_error(func, "X has a non-finite value (%g) at row %d, column %d", r[j], i, j);
                return -1;
            }
    }
    return 0;
}

int nn_check_targets(const nn_model *m, mat y, int rows, const char *func)
{
    int k = (int)nn_out_size(m);
    if (m->loss == 0) {
        cairn_error(func, "the model has no loss yet: call nn_compile(net, NN_LOSS_..., nn_adam(1e-3)) first");
        return -1;
    }
    int want = m->loss == NN_LOSS_CROSS_ENTROPY ? 1 : k;
    if (mat_is_empty(y) || y.rows != rows || y.cols != want) {
        cairn_error(func, "y is %d x %d but %s needs %d x %d (%s)", y.rows, y.cols,
                    m->loss == NN_LOSS_CROSS_ENTROPY ? "cross-entropy" : m->loss == NN_LOSS_MSE ? "MSE" : "binary cross-entropy",
                    rows, want, m->loss == NN_LOSS_CROSS_ENTROPY ? "one class index per row" : "one target per output");
        return -1;
    }
    for (int i = 0; i < y.rows; i++)
        for (int j = 0; j < y.cols; j++) {
            double v = *mat_ptr(y, i, j);
            if (!isfinite(v)) {
                cairn_error(func, "y has a non-finite value at row %d", i);
                return -1;
            }
            if (m->loss == NN_LOSS_CROSS_ENTROPY && (v != floor(v) || v < 0 || v >= k)) {
                cairn_error(func, "label %g at row %d is not a class index in 0..%d (the network has %d outputs)", v, i,
                            k - 1, k);
                return -1;
            }
            if (m->loss == NN_LOSS_BINARY_CROSS_ENTROPY && (v < 0 || v > 1)) {
                cairn_error(func, "target %g at row %d is outside [0, 1] (binary cross-entropy)", v, i);
                return -1;
            }
        }
    return 0;
}
