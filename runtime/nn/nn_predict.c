/* nn_predict.c — using a network: outputs, probabilities, classes, evaluation, one
 * layer's feature maps, and the training-mode loss and gradient that the gradient
 * checks (and curious users) call. Inference runs in chunks of the buffers' batch
 * capacity, so predicting on 10000 images allocates nothing per chunk. */
#include "nn_internal.h"

#include <math.h>
#include <string.h>

#include "cairn/error.h"

#define NN_EVAL_BATCH 256

void nn_gather_rows(nn_model *m, mat X, const int *idx, int first, int n)
{
    size_t in = nn_in_size(m);
    for (int r = 0; r < n; r++) {
        const double *src = mat_ptr(X, idx ? idx[first + r] : first + r, 0);
        nn_real *dst = m->input + (size_t)r * in;
        for (size_t j = 0; j < in; j++)
            dst[j] = (nn_real)src[j];
    }
}

static int ready(nn_model *m, mat X, const char *func)
{
    if (!m) {
        cairn_error(func, "the model is NULL");
        return -1;
    }
    if (m->nlayers == 0) {
        cairn_error(func, "the network has no layers");
        return -1;
    }
    if (nn_check_input(m, X, func))
        return -1;
    return nn_reserve(m, NN_EVAL_BATCH, func);
}

/* run the network on all rows of X; probabilities when proba (softmax/sigmoid added) */
static mat outputs(nn_model *m, mat X, int proba, const char *func)
{
    if (ready(m, X, func))
        return mat_empty();
    int k = (int)nn_out_size(m), upto = nn_loss_layers(m);
    size_t kk = nn_layer_out_size(&m->layers[upto - 1 < 0 ? 0 : upto - 1]);
    mat out = mat_alloc(X.rows, (int)kk);
    if (mat_is_empty(out))
        return out;
    (void)k;
    for (int first = 0; first < X.rows; first += m->batch_cap) {
        int n = X.rows - first < m->batch_cap ? X.rows - first : m->batch_cap;
        nn_gather_rows(m, X, NULL, first, n);
        const nn_real *z = upto ? nn_run_forward(m, n, upto, 0, 0) : m->input;
        for (int r = 0; r < n; r++) {
            double *o = mat_ptr(out, first + r, 0);
            const nn_real *zr = z + (size_t)r * kk;
            if (proba && m->loss == NN_LOSS_CROSS_ENTROPY) {
                double mx = zr[0], s = 0;
                for (size_t j = 1; j < kk; j++)
                    mx = zr[j] > mx ? zr[j] : mx;
                for (size_t j = 0; j < kk; j++)
                    s += (o[j] = exp((double)zr[j] - mx));
                for (size_t j = 0; j < kk; j++)
                    o[j] /= s;
            } else if (proba && m->loss == NN_LOSS_BINARY_CROSS_ENTROPY) {
                for (size_t j = 0; j < kk; j++)
                    o[j] = 1 / (1 + exp(-(double)zr[j]));
            } else {
                for (size_t j = 0; j < kk; j++)
                    o[j] = zr[j];
            }
        }
    }
    const nn_layer *last = &m->layers[upto ? upto - 1 : 0];
    if (last->out_h > 1 || last->out_w > 1)
        mat_set_image_shape(&out, last->out_c, last->out_h, last->out_w);
    return out;
}

mat nn_forward(nn_model *m, mat X)
{
    if (m && m->loss && nn_loss_layers(m) < m->nlayers) {
        /* the folded final layer is part of the network's output here */
        mat z = outputs(m, X, 1, "nn_forward");
        return z;
    }
    return outputs(m, X, 0, "nn_forward");
}

mat nn_predict_proba(nn_model *m, mat X)
{
    if (m && m->loss != NN_LOSS_CROSS_ENTROPY && m->loss != NN_LOSS_BINARY_CROSS_ENTROPY) {
        cairn_error("nn_predict_proba", "needs a classification loss (cross-entropy or BCE), the model has %s",
                    m->loss ? "MSE" : "none (call nn_compile)");
        return mat_empty();
    }
    return outputs(m, X, 1, "nn_predict_proba");
}

mat nn_predict(nn_model *m, mat X)
{
    if (m && m->loss == 0) {
        cairn_error("nn_predict", "the model has no loss yet, so no notion of class: call nn_compile first");
        return mat_empty();
    }
    mat z = outputs(m, X, 0, "nn_predict");
    if (mat_is_empty(z) || m->loss == NN_LOSS_MSE)
        return z;
    if (m->loss == NN_LOSS_BINARY_CROSS_ENTROPY) {
        for (int i = 0; i < z.rows; i++)
            for (int j = 0; j < z.cols; j++)
                *mat_ptr(z, i, j) = *mat_ptr(z, i, j) > 0;
        return z;
    }
    mat c = mat_alloc(z.rows, 1);
    for (int i = 0; i < z.rows && !mat_is_empty(c); i++) {
        const double *r = mat_ptr(z, i, 0);
        int a = 0;
        for (int j = 1; j < z.cols; j++)
            a = r[j] > r[a] ? j : a;
        *mat_ptr(c, i, 0) = a;
    }
    mat_free(&z);
    return c;
}

/* loss/accuracy/confusion in inference mode; used by nn_evaluate and the validation of nn_fit */
int nn_eval_into(nn_model *m, mat X, mat y, const double *cw, double *loss, double *acc, mat *confusion)
{
    int upto = nn_loss_layers(m), k = (int)nn_layer_out_size(&m->layers[upto - 1]);
    double total = 0;
    long right = 0;
    for (int first = 0; first < X.rows; first += m->batch_cap) {
        int n = X.rows - first < m->batch_cap ? X.rows - first : m->batch_cap;
        nn_gather_rows(m, X, NULL, first, n);
        const nn_real *z = nn_run_forward(m, n, upto, 0, 0);
        long c = 0;
        total += nn_loss_eval(m->loss, z, n, k, mat_ptr(y, first, 0), y.stride, cw, NULL, &c) * n;
        right += c;
        if (confusion && !mat_is_empty(*confusion)) {
            for (int r = 0; r < n; r++) {
                const nn_real *zr = z + (size_t)r * k;
                int t, p;
                if (m->loss == NN_LOSS_CROSS_ENTROPY) {
                    t = (int)*mat_ptr(y, first + r, 0), p = 0;
                    for (int j = 1; j < k; j++)
                        p = zr[j] > zr[p] ? j : p;
                } else {
                    t = *mat_ptr(y, first + r, 0) > 0.5, p = zr[0] > 0;
                }
                *mat_ptr(*confusion, t, p) += 1;
            }
        }
    }
    *loss = total / X.rows;
    *acc = m->loss == NN_LOSS_MSE ? NAN
         : (double)right / ((double)X.rows * (m->loss == NN_LOSS_BINARY_CROSS_ENTROPY ? k : 1));
    return 0;
}

nn_eval nn_evaluate(nn_model *m, mat X, mat y)
{
    nn_eval e = {NAN, NAN, mat_empty()};
    if (ready(m, X, "nn_evaluate") || nn_check_targets(m, y, X.rows, "nn_evaluate"))
        return e;
    int k = (int)nn_out_size(m);
    if (m->loss == NN_LOSS_CROSS_ENTROPY)
        e.confusion = mat_zeros(k, k);
    else if (m->loss == NN_LOSS_BINARY_CROSS_ENTROPY && k == 1)
        e.confusion = mat_zeros(2, 2);
    nn_eval_into(m, X, y, NULL, &e.loss, &e.accuracy, &e.confusion);
    return e;
}

void nn_eval_free(nn_eval *e)
{
    if (e)
        mat_free(&e->confusion);
}

double nn_loss_gradient(nn_model *m, mat X, mat y, mat *grad)
{
    if (grad)
        *grad = mat_empty();
    if (ready(m, X, "nn_loss_gradient") || nn_check_targets(m, y, X.rows, "nn_loss_gradient") ||
        nn_reserve(m, X.rows, "nn_loss_gradient"))
        return NAN;
    int upto = nn_loss_layers(m), k = (int)nn_layer_out_size(&m->layers[upto - 1]);
    nn_gather_rows(m, X, NULL, 0, X.rows);
    /* training mode without touching the running statistics; dropout masks fixed by the seed */
    const nn_real *z = nn_run_forward(m, X.rows, upto, 2, m->seed);
    double loss = nn_loss_eval(m->loss, z, X.rows, k, mat_ptr(y, 0, 0), y.stride, NULL, m->dbuf[0], NULL);
    if (grad) {
        nn_run_backward(m, X.rows, upto, m->dbuf[0]);
        *grad = mat_alloc(1, (int)m->nparams);
        for (size_t i = 0; i < m->nparams && !mat_is_empty(*grad); i++)
            grad->data[i] = m->grads[i];
    }
    return loss;
}

mat nn_feature_maps(nn_model *m, int layer, mat X, int row)
{
    if (!m || layer < 0 || layer >= m->nlayers) {
        cairn_error("nn_feature_maps", "layer %d is out of range (the network has %d layers)", layer, m ? m->nlayers : 0);
        return mat_empty();
    }
    if (row < 0 || row >= X.rows) {
        cairn_error("nn_feature_maps", "row %d is out of range for X with %d rows", row, X.rows);
        return mat_empty();
    }
    mat one = mat_row_range(X, row, 1);
    if (ready(m, one, "nn_feature_maps"))
        return mat_empty();
    nn_gather_rows(m, one, NULL, 0, 1);
    const nn_real *z = nn_run_forward(m, 1, layer + 1, 0, 0);
    const nn_layer *l = &m->layers[layer];
    mat out = mat_alloc(1, (int)nn_layer_out_size(l));
    if (mat_is_empty(out))
        return out;
    for (int j = 0; j < out.cols; j++)
        out.data[j] = z[j];
    mat_set_image_shape(&out, l->out_c, l->out_h, l->out_w);
    return out;
}
