/* nn_layers.c — forward and backward passes of every layer kind over a whole batch.
 *
 * Activations are NCHW, one sample after another, as the rows of a `mat` are.
 * Convolution is im2col + one GEMM for the whole mini-batch (darknet's idea, batched):
 * the batch's columns go into the shared workspace as a (C·k·k) x (B·P) matrix
 * (P = output pixels), one sgemm gives the F x (B·P) result in the shared scratch
 * buffer, which is then reordered to NCHW with the bias added. The backward pass
 * rebuilds the columns (cheaper than keeping them per layer), takes dW with one sgemm
 * and the column gradient with another, and folds it back with col2im. Dense layers are
 * one sgemm each way; W is stored out x in, as PyTorch stores it, so weights export as is.
 * Every kernel reads its own layer record; parameter gradients accumulate into the flat
 * gradient buffer at the layer's offsets. */
#include "nn_internal.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

/* a layer job for the two threads: each takes a range of the batch's images */
typedef struct layer_job {
    nn_model *m;
    const nn_layer *l;
    const nn_real *x, *dy;
    nn_real *y, *dx;
    int batch;
    int fused; /* conv at inference: pointwise layers after it done in its output pass */
} layer_job;

static void run_split(nn_job_fn fn, nn_model *m, const nn_layer *l, const nn_real *x, const nn_real *dy, nn_real *y,
                      nn_real *dx, int batch, size_t work)
{
    layer_job j = {m, l, x, dy, y, dx, batch, 0};
    nn_parallel(fn, &j, batch > 1 ? work : 0);
}

#define BATCH_RANGE(j, part, parts) \
    int b0 = (int)nn_split((size_t)(j)->batch, part, parts), b1 = (int)nn_split((size_t)(j)->batch, part + 1, parts)

/* elementwise kernels on non-aliasing arrays, so the compiler vectorises them */
static void relu_forward(size_t n, const nn_real *restrict x, nn_real *restrict y)
{
    for (size_t j = 0; j < n; j++)
        y[j] = x[j] > 0 ? x[j] : 0;
}

static void relu_backward(size_t n, const nn_real *restrict x, const nn_real *restrict dy, nn_real *restrict dx)
{
    for (size_t j = 0; j < n; j++) {
        nn_real g = dy[j]; /* loaded unconditionally: the select if-converts and vectorises */
        dx[j] = x[j] > 0 ? g : 0;
    }
}

/* One pointwise layer (relu, leaky relu, sigmoid, tanh, dropout at inference, batch norm
 * at inference) on n values of channel c, x -> y; x == y is allowed (no restrict here). */
static void pointwise(const nn_model *m, const nn_layer *l, int c, size_t n, const nn_real *x, nn_real *y)
{
    switch (l->kind) {
    case L_RELU:
        for (size_t j = 0; j < n; j++)
            y[j] = x[j] > 0 ? x[j] : 0;
        break;
    case L_LEAKY_RELU: {
        nn_real a = (nn_real)l->rate;
        for (size_t j = 0; j < n; j++)
            y[j] = x[j] * (x[j] > 0 ? (nn_real)1 : a);
        break;
    }
    case L_SIGMOID:
        for (size_t j = 0; j < n; j++)
            y[j] = (nn_real)(x[j] >= 0 ? 1 / (1 + exp(-x[j])) : exp(x[j]) / (1 + exp(x[j])));
        break;
    case L_TANH:
        nn_tanh_forward(n, x, y);
        break;
    case L_BATCHNORM: { /* the running statistics; the same arithmetic as batchnorm_forward's */
        const nn_real *rmean = m->state + l->state_off, *rvar = rmean + l->out_c;
        nn_real mu = rmean[c], inv = (nn_real)(1.0 / sqrt((double)rvar[c] + 1e-5)), g = m->params[l->w_off + c],
                bt = m->params[l->b_off + c];
        for (size_t j = 0; j < n; j++) {
            nn_real h = (x[j] - mu) * inv;
            y[j] = g * h + bt;
        }
        break;
    }
    default: /* dropout at inference */
        if (x != y)
            memcpy(y, x, n * sizeof(nn_real));
        break;
    }
}

/* can layer l run on a conv's output planes, in the conv's own pass (inference only)? */
static int is_pointwise(const nn_layer *l)
{
    return l->kind == L_RELU || l->kind == L_LEAKY_RELU || l->kind == L_SIGMOID || l->kind == L_TANH ||
           l->kind == L_BATCHNORM || l->kind == L_DROPOUT;
}

/* an activation layer over the whole batch, split in two ranges of values */
static void act_forward_part(void *ctx, int part, int parts)
{
    const layer_job *j = ctx;
    size_t n = (size_t)j->batch * nn_layer_out_size(j->l), lo = nn_split(n, part, parts), hi = nn_split(n, part + 1, parts);
    if (j->l->kind == L_RELU)
        relu_forward(hi - lo, j->x + lo, j->y + lo);
    else
        pointwise(j->m, j->l, 0, hi - lo, j->x + lo, j->y + lo);
}

/* batch norm at inference, split by (image, channel) planes */
static void bn_infer_part(void *ctx, int part, int parts)
{
    const layer_job *j = ctx;
    const nn_layer *l = j->l;
    size_t S = (size_t)l->out_h * l->out_w, planes = (size_t)j->batch * l->out_c;
    for (size_t bc = nn_split(planes, part, parts); bc < nn_split(planes, part + 1, parts); bc++)
        pointwise(j->m, l, (int)(bc % (size_t)l->out_c), S, j->x + bc * S, j->y + bc * S);
}

static void relu_backward_part(void *ctx, int part, int parts)
{
    const layer_job *j = ctx;
    size_t n = (size_t)j->batch * nn_layer_out_size(j->l), lo = nn_split(n, part, parts), hi = nn_split(n, part + 1, parts);
    relu_backward(hi - lo, j->x + lo, j->dy + lo, j->dx + lo);
}

static const nn_real *layer_output(const nn_model *m, int i) { return i >= 0 ? m->layers[i].out : m->input; }
static const nn_real *layer_input(const nn_model *m, int i) { return layer_output(m, m->layers[i].src); }

/* ---- merges: add (a residual connection) and channel concatenation ---- */

static void add_forward_part(void *ctx, int part, int parts)
{
    const layer_job *j = ctx;
    size_t n = (size_t)j->batch * nn_layer_out_size(j->l), lo = nn_split(n, part, parts), hi = nn_split(n, part + 1, parts);
    const nn_real *a = j->x, *b = j->dy; /* dy carries the second input here */
    for (size_t k = lo; k < hi; k++)
        j->y[k] = a[k] + b[k];
}

static void concat_forward(const nn_model *m, const nn_layer *l, const nn_real *a, int batch)
{
    const nn_real *b = layer_output(m, l->src2);
    size_t S = (size_t)l->out_h * l->out_w, na = (size_t)l->in_c * S, nb = (size_t)(l->out_c - l->in_c) * S;
    for (int r = 0; r < batch; r++) {
        memcpy(l->out + (size_t)r * (na + nb), a + (size_t)r * na, na * sizeof(nn_real));
        memcpy(l->out + (size_t)r * (na + nb) + na, b + (size_t)r * nb, nb * sizeof(nn_real));
    }
}

/* ---- convolution ---- */

/* The rows copied here are short (the output width, 5..30 values): a memcpy call per row cost
 * more than the copy, so GCC is told not to turn the copy loops into memcpy calls. */
#if defined(__GNUC__) && !defined(__clang__)
__attribute__((optimize("no-tree-loop-distribute-patterns")))
#endif
static void im2col_range(const nn_layer *l, const nn_real *x, int batch, int b0, int b1, nn_real *col)
{
    int k = l->k, s = l->stride, pad = l->pad, H = l->in_h, W = l->in_w, OH = l->out_h, OW = l->out_w;
    size_t P = (size_t)OH * OW, BP = (size_t)batch * P, plane = (size_t)H * W, sample = (size_t)l->in_c * plane;
    for (int c = 0; c < l->in_c; c++)
        for (int ki = 0; ki < k; ki++)
            for (int kj = 0; kj < k; kj++) {
                nn_real *row = col + ((size_t)(c * k + ki) * k + kj) * BP;
                for (int b = b0; b < b1; b++) {
                    const nn_real *xp = x + b * sample + c * plane;
                    nn_real *dst = row + b * P;
                    for (int oh = 0; oh < OH; oh++, dst += OW) {
                        int ih = oh * s - pad + ki;
                        if (ih < 0 || ih >= H) {
                            memset(dst, 0, (size_t)OW * sizeof(nn_real));
                            continue;
                        }
                        const nn_real *xr = xp + (size_t)ih * W;
                        if (s == 1) {
                            int lo = pad - kj, hi = W + pad - kj; /* ow with 0 <= ow - pad + kj < W */
                            lo = lo < 0 ? 0 : lo;
                            hi = hi > OW ? OW : hi;
                            const nn_real *xo = xr - pad + kj;
                            for (int ow = 0; ow < lo; ow++)
                                dst[ow] = 0;
                            for (int ow = lo; ow < hi; ow++)
                                dst[ow] = xo[ow];
                            for (int ow = hi > lo ? hi : lo; ow < OW; ow++)
                                dst[ow] = 0;
                        } else {
                            for (int ow = 0; ow < OW; ow++) {
                                int iw = ow * s - pad + kj;
                                dst[ow] = iw >= 0 && iw < W ? xr[iw] : 0;
                            }
                        }
                    }
                }
            }
}

static void col2im_range(const nn_layer *l, const nn_real *col, int batch, int b0, int b1, nn_real *dx)
{
    int k = l->k, s = l->stride, pad = l->pad, H = l->in_h, W = l->in_w, OH = l->out_h, OW = l->out_w;
    size_t P = (size_t)OH * OW, BP = (size_t)batch * P, plane = (size_t)H * W, sample = (size_t)l->in_c * plane;
    memset(dx + (size_t)b0 * sample, 0, (size_t)(b1 - b0) * sample * sizeof(nn_real));
    for (int c = 0; c < l->in_c; c++)
        for (int ki = 0; ki < k; ki++)
            for (int kj = 0; kj < k; kj++) {
                const nn_real *row = col + ((size_t)(c * k + ki) * k + kj) * BP;
                for (int b = b0; b < b1; b++) {
                    nn_real *xp = dx + b * sample + c * plane;
                    const nn_real *src = row + b * P;
                    for (int oh = 0; oh < OH; oh++, src += OW) {
                        int ih = oh * s - pad + ki;
                        if (ih < 0 || ih >= H)
                            continue;
                        nn_real *xr = xp + (size_t)ih * W;
                        if (s == 1) {
                            int lo = pad - kj, hi = W + pad - kj;
                            lo = lo < 0 ? 0 : lo;
                            hi = hi > OW ? OW : hi;
                            nn_real *xo = xr - pad + kj;
                            for (int ow = lo; ow < hi; ow++)
                                xo[ow] += src[ow];
                            continue;
                        }
                        for (int ow = 0; ow < OW; ow++) {
                            int iw = ow * s - pad + kj;
                            if (iw >= 0 && iw < W)
                                xr[iw] += src[ow];
                        }
                    }
                }
            }
}

static void im2col_part(void *ctx, int part, int parts)
{
    const layer_job *j = ctx;
    BATCH_RANGE(j, part, parts);
    im2col_range(j->l, j->x, j->batch, b0, b1, j->y);
}

static void col2im_part(void *ctx, int part, int parts)
{
    const layer_job *j = ctx;
    BATCH_RANGE(j, part, parts);
    col2im_range(j->l, j->dy, j->batch, b0, b1, j->dx);
}

static void im2col(const nn_layer *l, const nn_real *x, int batch, nn_real *col)
{
    run_split(im2col_part, NULL, l, x, NULL, col, NULL, batch, (size_t)batch * nn_layer_out_size(l) * l->k * l->k);
}

static void col2im(const nn_layer *l, const nn_real *col, int batch, nn_real *dx)
{
    run_split(col2im_part, NULL, l, NULL, col, NULL, dx, batch, (size_t)batch * nn_layer_out_size(l) * l->k * l->k);
}

/* scratch (F x B·P) -> NCHW output with the bias; at inference the pointwise layers that
 * follow (j->fused of them, from the conv's own index + 1) run on each plane while it is in
 * cache, and only the last one's output is written */
static void conv_out_part(void *ctx, int part, int parts)
{
    const layer_job *j = ctx;
    const nn_layer *l = j->l;
    BATCH_RANGE(j, part, parts);
    int F = l->out_c;
    size_t P = (size_t)l->out_h * l->out_w, BP = (size_t)j->batch * P;
    nn_real *out = j->fused ? l[j->fused].out : l->out;
    for (int b = b0; b < b1; b++)
        for (int f = 0; f < F; f++) {
            const nn_real *src = j->m->scratch + f * BP + b * P;
            nn_real *dst = out + ((size_t)b * F + f) * P, bias = l->bias ? j->m->params[l->b_off + f] : 0;
            for (size_t p = 0; p < P; p++)
                dst[p] = src[p] + bias;
            for (int k = 1; k <= j->fused; k++)
                pointwise(j->m, l + k, f, P, dst, dst);
        }
}

/* NCHW output gradient -> scratch (F x B·P) */
static void conv_grad_part(void *ctx, int part, int parts)
{
    const layer_job *j = ctx;
    const nn_layer *l = j->l;
    BATCH_RANGE(j, part, parts);
    int F = l->out_c;
    size_t P = (size_t)l->out_h * l->out_w, BP = (size_t)j->batch * P;
    for (int b = b0; b < b1; b++)
        for (int f = 0; f < F; f++)
            memcpy(j->m->scratch + f * BP + b * P, j->dy + ((size_t)b * F + f) * P, P * sizeof(nn_real));
}

static void conv_forward(nn_model *m, const nn_layer *l, const nn_real *x, int batch, int fused)
{
    int F = l->out_c, ckk = l->in_c * l->k * l->k;
    size_t P = (size_t)l->out_h * l->out_w, BP = (size_t)batch * P;
    const nn_real *Wt = m->params + l->w_off;
    im2col(l, x, batch, m->work);
    nn_gemm_nn(F, (int)BP, ckk, Wt, ckk, m->work, (int)BP, m->scratch, (int)BP);
    layer_job j = {m, l, NULL, NULL, NULL, NULL, batch, fused};
    nn_parallel(conv_out_part, &j, batch > 1 ? (size_t)F * BP * (size_t)(1 + fused) : 0);
}

/* the rest of a conv's backward once its output gradient is in scratch (F x B·P) and its
 * bias gradient is taken: dW, and dx (NULL for the first layer) */
static void conv_backward_scratch(nn_model *m, const nn_layer *l, const nn_real *x, int batch, nn_real *dx)
{
    int F = l->out_c, ckk = l->in_c * l->k * l->k;
    size_t P = (size_t)l->out_h * l->out_w, BP = (size_t)batch * P;
    im2col(l, x, batch, m->work);
    nn_gemm_nt_acc(F, ckk, (int)BP, m->scratch, (int)BP, m->work, (int)BP, m->grads + l->w_off, ckk);
    if (!dx)
        return;
    const nn_real *W = m->params + l->w_off;
    for (int f = 0; f < F; f++)
        for (int c = 0; c < ckk; c++)
            m->wt[(size_t)c * F + f] = W[(size_t)f * ckk + c];
    nn_gemm_nn(ckk, (int)BP, F, m->wt, F, m->scratch, (int)BP, m->work, (int)BP);
    col2im(l, m->work, batch, dx);
}

static void conv_backward(nn_model *m, const nn_layer *l, const nn_real *x, int batch, const nn_real *dout, nn_real *dx)
{
    int F = l->out_c;
    size_t BP = (size_t)batch * l->out_h * l->out_w;
    run_split(conv_grad_part, m, l, NULL, dout, NULL, NULL, batch, (size_t)F * BP);
    for (int f = 0; f < F && l->bias; f++) {
        const nn_real *row = m->scratch + f * BP;
        nn_real s = 0;
        for (size_t p = 0; p < BP; p++)
            s += row[p];
        m->grads[l->b_off + f] += s;
    }
    conv_backward_scratch(m, l, x, batch, dx);
}

/* ---- conv -> relu -> maxpool(2, 2), fused for training ----
 * The pattern of most small CNNs. Unfused, it takes five passes over the conv's full-size
 * output forward (reorder with bias, ReLU read and write, pool read) and five backward (pool
 * scatter into a zeroed buffer, ReLU mask, reorder into scratch). Since relu is monotone,
 * maxpool(relu(z)) = relu(maxpool(z)) with the same argmax wherever the gradient is not
 * zero, so in training one pass goes from the GEMM result (scratch, F x B·P) straight to
 * the pooled output and its argmax, and one pass scatters the pooled gradient straight into
 * scratch, masked where the pooled value is 0. The conv's and the relu's own outputs are not
 * written (nothing reads them in training; inference takes the plain path, so feature maps
 * are whole). */

static int fused_conv_relu_pool(const nn_model *m, int i, int upto)
{
    if (i < 0 || i + 2 >= upto || m->dag) /* a graph: other layers may read the conv's or relu's output */
        return 0;
    const nn_layer *c = &m->layers[i], *r = c + 1, *p = c + 2;
    return c->kind == L_CONV && r->kind == L_RELU && p->kind == L_MAXPOOL && p->k == 2 && p->stride == 2;
}

static void fused_forward_part(void *ctx, int part, int parts)
{
    const layer_job *j = ctx;
    const nn_layer *l = j->l, *pl = l + 2;
    BATCH_RANGE(j, part, parts);
    int F = l->out_c, W = l->out_w, OH = pl->out_h, OW = pl->out_w;
    size_t P = (size_t)l->out_h * W, BP = (size_t)j->batch * P, oplane = (size_t)OH * OW;
    for (int b = b0; b < b1; b++)
        for (int f = 0; f < F; f++) {
            const nn_real *xp = j->m->scratch + f * BP + b * P;
            nn_real bias = l->bias ? j->m->params[l->b_off + f] : 0;
            nn_real *op = pl->out + ((size_t)b * F + f) * oplane;
            int32_t *ap = (int32_t *)pl->aux + ((size_t)b * F + f) * oplane;
            for (int oh = 0; oh < OH; oh++) {
                const nn_real *r0 = xp + (size_t)(2 * oh) * W, *r1 = r0 + W;
                for (int ow = 0; ow < OW; ow++) {
                    int jj = 2 * ow, at = jj;
                    nn_real best = r0[jj] + bias, v;
                    if ((v = r0[jj + 1] + bias) > best)
                        best = v, at = jj + 1;
                    if ((v = r1[jj] + bias) > best)
                        best = v, at = W + jj;
                    if ((v = r1[jj + 1] + bias) > best)
                        best = v, at = W + jj + 1;
                    op[oh * OW + ow] = best > 0 ? best : 0;
                    ap[oh * OW + ow] = (int32_t)(2 * oh * W + at);
                }
            }
        }
}

static void fused_backward_part(void *ctx, int part, int parts)
{
    const layer_job *j = ctx;
    const nn_layer *l = j->l, *pl = l + 2;
    BATCH_RANGE(j, part, parts);
    int F = l->out_c;
    size_t P = (size_t)l->out_h * l->out_w, BP = (size_t)j->batch * P, oplane = (size_t)pl->out_h * pl->out_w;
    for (int b = b0; b < b1; b++)
        for (int f = 0; f < F; f++) {
            nn_real *dp = j->m->scratch + f * BP + b * P;
            size_t o0 = ((size_t)b * F + f) * oplane;
            const nn_real *py = pl->out + o0, *dy = j->dy + o0;
            const int32_t *ap = (const int32_t *)pl->aux + o0;
            nn_real part_sum[8] = {0, 0, 0, 0, 0, 0, 0, 0}; /* eight lanes: the sum vectorises, same order on any split */
            memset(dp, 0, P * sizeof(nn_real));
            for (size_t o = 0; o < oplane; o++) {
                nn_real g = py[o] > 0 ? dy[o] : 0;
                dp[ap[o]] = g;
                part_sum[o & 7] += g;
            }
            j->m->wt[(size_t)b * F + f] = ((part_sum[0] + part_sum[1]) + (part_sum[2] + part_sum[3])) +
                                          ((part_sum[4] + part_sum[5]) + (part_sum[6] + part_sum[7]));
        }
}

static void fused_forward(nn_model *m, int i, const nn_real *x, int batch)
{
    const nn_layer *l = &m->layers[i];
    int F = l->out_c, ckk = l->in_c * l->k * l->k;
    size_t BP = (size_t)batch * l->out_h * l->out_w;
    im2col(l, x, batch, m->work);
    nn_gemm_nn(F, (int)BP, ckk, m->params + l->w_off, ckk, m->work, (int)BP, m->scratch, (int)BP);
    run_split(fused_forward_part, m, l, NULL, NULL, NULL, NULL, batch, (size_t)F * BP);
}

/* dy: gradient of the pool's output; dx: of the conv's input (NULL for the first layer) */
static void fused_backward(nn_model *m, int i, int batch, const nn_real *dy, nn_real *dx)
{
    const nn_layer *l = &m->layers[i];
    int F = l->out_c;
    size_t BP = (size_t)batch * l->out_h * l->out_w;
    /* fused_backward_part leaves each image's and filter's bias gradient in wt (B x F; sized for
     * it in nn_reserve), used for the weights' transpose only afterwards */
    run_split(fused_backward_part, m, l, NULL, dy, NULL, NULL, batch, (size_t)F * BP);
    for (int f = 0; f < F && l->bias; f++) {
        nn_real s = 0;
        for (int b = 0; b < batch; b++)
            s += m->wt[(size_t)b * F + f];
        m->grads[l->b_off + f] += s;
    }
    conv_backward_scratch(m, l, layer_input(m, i), batch, dx);
}

/* ---- pooling ---- */

static void pool_forward_range(const nn_layer *l, const nn_real *x, size_t bc0, size_t bc1)
{
    int k = l->k, s = l->stride, H = l->in_h, W = l->in_w, OH = l->out_h, OW = l->out_w;
    size_t plane = (size_t)H * W, oplane = (size_t)OH * OW;
    int32_t *arg = (int32_t *)l->aux;
    nn_real inv = (nn_real)1 / (nn_real)(k * k);
    if (l->kind == L_MAXPOOL && k == 2 && s == 2) { /* the common case, without the window loops */
        for (size_t bc = bc0; bc < bc1; bc++) {
            const nn_real *xp = x + bc * plane;
            nn_real *op = l->out + bc * oplane;
            int32_t *ap = arg + bc * oplane;
            for (int oh = 0; oh < OH; oh++) {
                const nn_real *r0 = xp + (size_t)(2 * oh) * W, *r1 = r0 + W;
                for (int ow = 0; ow < OW; ow++) {
                    int j = 2 * ow, at = j;
                    nn_real best = r0[j];
                    if (r0[j + 1] > best)
                        best = r0[j + 1], at = j + 1;
                    if (r1[j] > best)
                        best = r1[j], at = W + j;
                    if (r1[j + 1] > best)
                        best = r1[j + 1], at = W + j + 1;
                    op[oh * OW + ow] = best;
                    ap[oh * OW + ow] = (int32_t)(2 * oh * W + at);
                }
            }
        }
        return;
    }
    if (l->kind == L_AVGPOOL && k == 2 && s == 2) { /* the same sums, in the same order, as below */
        for (size_t bc = bc0; bc < bc1; bc++) {
            const nn_real *xp = x + bc * plane;
            nn_real *op = l->out + bc * oplane;
            for (int oh = 0; oh < OH; oh++) {
                const nn_real *r0 = xp + (size_t)(2 * oh) * W, *r1 = r0 + W;
                for (int ow = 0; ow < OW; ow++)
                    op[oh * OW + ow] = (r0[2 * ow] + r0[2 * ow + 1] + r1[2 * ow] + r1[2 * ow + 1]) * inv;
            }
        }
        return;
    }
    for (size_t bc = bc0; bc < bc1; bc++) {
        const nn_real *xp = x + bc * plane;
        nn_real *op = l->out + bc * oplane;
        for (int oh = 0; oh < OH; oh++)
            for (int ow = 0; ow < OW; ow++) {
                const nn_real *w0 = xp + (size_t)(oh * s) * W + ow * s;
                if (l->kind == L_MAXPOOL) {
                    nn_real best = w0[0];
                    int at = 0;
                    for (int i = 0; i < k; i++)
                        for (int j = 0; j < k; j++)
                            if (w0[i * W + j] > best)
                                best = w0[i * W + j], at = i * W + j;
                    op[oh * OW + ow] = best;
                    arg[bc * oplane + (size_t)(oh * OW + ow)] = (int32_t)((oh * s) * W + ow * s + at);
                } else {
                    nn_real sum = 0;
                    for (int i = 0; i < k; i++)
                        for (int j = 0; j < k; j++)
                            sum += w0[i * W + j];
                    op[oh * OW + ow] = sum * inv;
                }
            }
    }
}

static void pool_backward_range(const nn_layer *l, const nn_real *dout, nn_real *dx, size_t bc0, size_t bc1)
{
    int k = l->k, s = l->stride, W = l->in_w, OH = l->out_h, OW = l->out_w;
    size_t plane = (size_t)l->in_h * W, oplane = (size_t)OH * OW;
    const int32_t *arg = (const int32_t *)l->aux;
    nn_real inv = (nn_real)1 / (nn_real)(k * k);
    memset(dx + bc0 * plane, 0, (bc1 - bc0) * plane * sizeof(nn_real));
    for (size_t bc = bc0; bc < bc1; bc++) {
        nn_real *xp = dx + bc * plane;
        const nn_real *dp = dout + bc * oplane;
        for (int oh = 0; oh < OH; oh++)
            for (int ow = 0; ow < OW; ow++) {
                size_t o = (size_t)(oh * OW + ow);
                if (l->kind == L_MAXPOOL) {
                    xp[arg[bc * oplane + o]] += dp[o];
                } else {
                    nn_real g = dp[o] * inv, *w0 = xp + (size_t)(oh * s) * W + ow * s;
                    for (int i = 0; i < k; i++)
                        for (int j = 0; j < k; j++)
                            w0[i * W + j] += g;
                }
            }
    }
}

static void pool_forward_part(void *ctx, int part, int parts)
{
    const layer_job *j = ctx;
    size_t n = (size_t)j->batch * j->l->in_c;
    pool_forward_range(j->l, j->x, nn_split(n, part, parts), nn_split(n, part + 1, parts));
}

static void pool_backward_part(void *ctx, int part, int parts)
{
    const layer_job *j = ctx;
    size_t n = (size_t)j->batch * j->l->in_c;
    pool_backward_range(j->l, j->dy, j->dx, nn_split(n, part, parts), nn_split(n, part + 1, parts));
}

static void pool_forward(const nn_layer *l, const nn_real *x, int batch)
{
    run_split(pool_forward_part, NULL, l, x, NULL, NULL, NULL, batch, (size_t)batch * nn_layer_in_size(l));
}

static void pool_backward(const nn_layer *l, int batch, const nn_real *dout, nn_real *dx)
{
    run_split(pool_backward_part, NULL, l, NULL, dout, NULL, dx, batch, (size_t)batch * nn_layer_in_size(l));
}

/* ---- batch normalisation: statistics per channel over batch and pixels ----
 * Channels are independent, so the two threads take halves of them; each channel's sums run
 * in the same order either way, so the split never changes a result. */

typedef struct bn_job {
    nn_model *m;
    const nn_layer *l;
    const nn_real *x, *dout;
    nn_real *dx;
    int batch, training;
} bn_job;

static void batchnorm_forward_part(void *ctx, int part, int parts)
{
    const bn_job *j = ctx;
    nn_model *m = j->m;
    const nn_layer *l = j->l;
    const nn_real *x = j->x;
    int C = l->out_c, batch = j->batch, training = j->training;
    int c0 = (int)nn_split((size_t)C, part, parts), c1 = (int)nn_split((size_t)C, part + 1, parts);
    size_t S = (size_t)l->out_h * l->out_w, n = (size_t)batch * S;
    const nn_real *gamma = m->params + l->w_off, *beta = m->params + l->b_off;
    nn_real *rmean = m->state + l->state_off, *rvar = rmean + C, *xhat = l->aux, *stat = l->aux2;
    for (int c = c0; c < c1; c++) {
        double mean, var;
        if (training) {
            double s = 0, s2 = 0;
            for (int b = 0; b < batch; b++) {
                const nn_real *xp = x + ((size_t)b * C + c) * S;
                for (size_t p = 0; p < S; p++)
                    s += xp[p];
            }
            mean = s / (double)n;
            for (int b = 0; b < batch; b++) {
                const nn_real *xp = x + ((size_t)b * C + c) * S;
                for (size_t p = 0; p < S; p++)
                    s2 += ((double)xp[p] - mean) * ((double)xp[p] - mean);
            }
            var = s2 / (double)n;
            if (training == 1) {
                rmean[c] = (nn_real)(0.9 * rmean[c] + 0.1 * mean);
                rvar[c] = (nn_real)(0.9 * rvar[c] + 0.1 * (n > 1 ? var * (double)n / (double)(n - 1) : var));
            }
        } else {
            mean = rmean[c];
            var = rvar[c];
        }
        nn_real mu = (nn_real)mean, inv = (nn_real)(1.0 / sqrt(var + 1e-5)), g = gamma[c], bt = beta[c];
        stat[c] = mu;
        stat[C + c] = inv;
        for (int b = 0; b < batch; b++) {
            size_t o = ((size_t)b * C + c) * S;
            for (size_t p = 0; p < S; p++) {
                nn_real h = (x[o + p] - mu) * inv;
                if (training)
                    xhat[o + p] = h;
                l->out[o + p] = g * h + bt;
            }
        }
    }
}

static void batchnorm_backward_part(void *ctx, int part, int parts)
{
    const bn_job *j = ctx;
    nn_model *m = j->m;
    const nn_layer *l = j->l;
    const nn_real *dout = j->dout;
    nn_real *dx = j->dx;
    int C = l->out_c, batch = j->batch;
    int c0 = (int)nn_split((size_t)C, part, parts), c1 = (int)nn_split((size_t)C, part + 1, parts);
    size_t S = (size_t)l->out_h * l->out_w;
    double n = (double)batch * (double)S;
    const nn_real *gamma = m->params + l->w_off, *xhat = l->aux, *stat = l->aux2;
    for (int c = c0; c < c1; c++) {
        double dg = 0, db = 0;
        for (int b = 0; b < batch; b++) {
            size_t o = ((size_t)b * C + c) * S;
            for (size_t p = 0; p < S; p++) {
                dg += (double)dout[o + p] * xhat[o + p];
                db += dout[o + p];
            }
        }
        m->grads[l->w_off + c] += (nn_real)dg;
        m->grads[l->b_off + c] += (nn_real)db;
        if (!dx)
            continue;
        nn_real scale = (nn_real)((double)gamma[c] * stat[C + c] / n), dgs = (nn_real)dg, dbs = (nn_real)db,
                nn_ = (nn_real)n;
        for (int b = 0; b < batch; b++) {
            size_t o = ((size_t)b * C + c) * S;
            for (size_t p = 0; p < S; p++)
                dx[o + p] = scale * (nn_ * dout[o + p] - dbs - xhat[o + p] * dgs);
        }
    }
}

static void batchnorm_forward(nn_model *m, const nn_layer *l, const nn_real *x, int batch, int training)
{
    bn_job j = {m, l, x, NULL, NULL, batch, training};
    nn_parallel(batchnorm_forward_part, &j, l->out_c > 1 ? (size_t)batch * nn_layer_out_size(l) : 0);
}

static void batchnorm_backward(nn_model *m, const nn_layer *l, int batch, const nn_real *dout, nn_real *dx)
{
    bn_job j = {m, l, NULL, dout, dx, batch, 0};
    nn_parallel(batchnorm_backward_part, &j, l->out_c > 1 ? (size_t)batch * nn_layer_out_size(l) : 0);
}

/* ---- dispatch ---- */

static void layer_forward(nn_model *m, int i, const nn_real *x, int batch, int training, uint64_t mask_seed, int fused)
{
    nn_layer *l = &m->layers[i];
    size_t n = (size_t)batch * nn_layer_out_size(l), fs = nn_layer_out_size(l);
    nn_real *y = l->out;
    switch (l->kind) {
    case L_CONV:
        conv_forward(m, l, x, batch, fused);
        break;
    case L_MAXPOOL:
    case L_AVGPOOL:
        pool_forward(l, x, batch);
        break;
    case L_GAP: {
        size_t S = (size_t)l->in_h * l->in_w;
        for (size_t bc = 0; bc < (size_t)batch * l->in_c; bc++) {
            nn_real s = 0;
            for (size_t p = 0; p < S; p++)
                s += x[bc * S + p];
            y[bc] = s / (nn_real)S;
        }
        break;
    }
    case L_FLATTEN:
        memcpy(y, x, n * sizeof(nn_real));
        break;
    case L_DENSE: { /* y = x·Wᵀ + b with the convolution's product (and its two threads), not BLAS:
                     * OpenBLAS's own threads would spin on the core nn_parallel's helper needs */
        int K = l->in_c, N = l->out_c;
        const nn_real *b = m->params + l->b_off, *W = m->params + l->w_off;
        for (int o = 0; o < N; o++)
            for (int c = 0; c < K; c++)
                m->wt[(size_t)c * N + o] = W[(size_t)o * K + c];
        nn_gemm_nn(batch, N, K, x, K, m->wt, N, y, N);
        for (int r = 0; r < batch; r++)
            for (int o = 0; o < N; o++)
                y[(size_t)r * N + o] += b[o];
        break;
    }
    case L_DROPOUT:
        if (training && l->rate > 0) {
            uint64_t s[4];
            nn_rng_seed(s, mask_seed ^ (0x9e3779b97f4a7c15ULL * (uint64_t)(i + 1)));
            nn_real keep = (nn_real)(1.0 / (1.0 - l->rate));
            uint32_t cut = (uint32_t)(l->rate * 4294967296.0);
            for (size_t j = 0; j < n; j++) {
                l->aux[j] = (uint32_t)(nn_rng_next_state(s) >> 32) >= cut ? keep : 0;
                y[j] = x[j] * l->aux[j];
            }
        } else {
            memcpy(y, x, n * sizeof(nn_real));
        }
        break;
    case L_BATCHNORM:
        if (training)
            batchnorm_forward(m, l, x, batch, training);
        else
            run_split(bn_infer_part, m, l, x, NULL, y, NULL, batch, n);
        break;
    case L_RELU:
    case L_LEAKY_RELU:
    case L_SIGMOID:
    case L_TANH:
        run_split(act_forward_part, m, l, x, NULL, y, NULL, batch, l->kind == L_RELU ? n : 8 * n);
        break;
    case L_ADD:
        run_split(add_forward_part, m, l, x, layer_output(m, l->src2), y, NULL, batch, n);
        break;
    case L_CONCAT:
        concat_forward(m, l, x, batch);
        break;
    case L_SOFTMAX:
        for (int r = 0; r < batch; r++) {
            const nn_real *xr = x + (size_t)r * fs;
            nn_real *yr = y + (size_t)r * fs, mx = xr[0];
            for (size_t j = 1; j < fs; j++)
                mx = xr[j] > mx ? xr[j] : mx;
            double s = 0;
            for (size_t j = 0; j < fs; j++)
                s += (yr[j] = (nn_real)exp(xr[j] - mx));
            for (size_t j = 0; j < fs; j++)
                yr[j] = (nn_real)(yr[j] / s);
        }
        break;
    }
}

static void layer_backward(nn_model *m, int i, int batch, const nn_real *dy, nn_real *dx)
{
    nn_layer *l = &m->layers[i];
    const nn_real *x = layer_input(m, i), *y = l->out;
    size_t n = (size_t)batch * nn_layer_out_size(l), fs = nn_layer_out_size(l);
    switch (l->kind) {
    case L_CONV:
        conv_backward(m, l, x, batch, dy, dx);
        return;
    case L_DENSE: {
        int K = l->in_c, N = l->out_c;
        nn_real *gb = m->grads + l->b_off;
        for (int r = 0; r < batch; r++)
            for (int j = 0; j < N; j++)
                gb[j] += dy[(size_t)r * N + j];
        NN_GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, N, K, batch, 1, dy, N, x, K, 1, m->grads + l->w_off, K);
        if (dx)
            NN_GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, batch, K, N, 1, dy, N, m->params + l->w_off, K, 0, dx, K);
        return;
    }
    case L_BATCHNORM:
        batchnorm_backward(m, l, batch, dy, dx);
        return;
    default:
        break;
    }
    if (!dx)
        return;
    switch (l->kind) {
    case L_MAXPOOL:
    case L_AVGPOOL:
        pool_backward(l, batch, dy, dx);
        break;
    case L_GAP: {
        size_t S = (size_t)l->in_h * l->in_w;
        for (size_t bc = 0; bc < (size_t)batch * l->in_c; bc++)
            for (size_t p = 0; p < S; p++)
                dx[bc * S + p] = dy[bc] / (nn_real)S;
        break;
    }
    case L_FLATTEN:
        memcpy(dx, dy, n * sizeof(nn_real));
        break;
    case L_DROPOUT:
        for (size_t j = 0; j < n; j++)
            dx[j] = l->rate > 0 ? dy[j] * l->aux[j] : dy[j];
        break;
    case L_RELU:
        run_split(relu_backward_part, m, l, x, dy, NULL, dx, batch, n);
        break;
    case L_LEAKY_RELU: {
        nn_real a = (nn_real)l->rate;
        for (size_t j = 0; j < n; j++)
            dx[j] = dy[j] * (x[j] > 0 ? (nn_real)1 : a);
        break;
    }
    case L_SIGMOID:
        for (size_t j = 0; j < n; j++)
            dx[j] = dy[j] * y[j] * (1 - y[j]);
        break;
    case L_TANH:
        for (size_t j = 0; j < n; j++)
            dx[j] = dy[j] * (1 - y[j] * y[j]);
        break;
    case L_SOFTMAX:
        for (int r = 0; r < batch; r++) {
            const nn_real *yr = y + (size_t)r * fs, *dr = dy + (size_t)r * fs;
            nn_real *xr = dx + (size_t)r * fs;
            double dot = 0;
            for (size_t j = 0; j < fs; j++)
                dot += (double)dr[j] * yr[j];
            for (size_t j = 0; j < fs; j++)
                xr[j] = yr[j] * (dr[j] - (nn_real)dot);
        }
        break;
    }
}

/* does any layer in (k + 1, upto) read layer k's output, or layer k + 1 as its second input? */
static int read_elsewhere(const nn_model *m, int k, int upto)
{
    if (!m->dag)
        return 0;
    if (m->layers[k + 1].src != k || m->layers[k + 1].src2 == k)
        return 1;
    for (int j = k + 2; j < upto; j++)
        if (m->layers[j].src == k || m->layers[j].src2 == k)
            return 1;
    return 0;
}

/* The layers in index order, which is a topological order: a layer reads only earlier ones,
 * and every layer's output stays in its own buffer until the pass is over. */
nn_real *nn_run_forward(nn_model *m, int batch, int upto, int training, uint64_t mask_seed)
{
    for (int i = 0; i < upto; i++) {
        if (training && fused_conv_relu_pool(m, i, upto)) {
            fused_forward(m, i, layer_input(m, i), batch);
            i += 2;
            continue;
        }
        int fused = 0; /* at inference a conv's pointwise successors run in its output pass (when
                        * nothing else reads the outputs that are then never written) */
        while (!training && m->layers[i].kind == L_CONV && i + fused + 1 < upto &&
               is_pointwise(&m->layers[i + fused + 1]) && !read_elsewhere(m, i + fused, upto))
            fused++;
        layer_forward(m, i, layer_input(m, i), batch, training, mask_seed, fused);
        i += fused;
    }
    return upto ? m->layers[upto - 1].out : m->input;
}

static void add_into(nn_real *restrict dst, const nn_real *restrict src, size_t n)
{
    for (size_t k = 0; k < n; k++)
        dst[k] += src[k];
}

/* backward through a graph: each layer's output gradient is the sum of what its readers send */
static void run_backward_dag(nn_model *m, int batch, int upto, const nn_real *dout)
{
    for (int i = 0; i < upto; i++)
        memset(m->grad_of[i], 0, (size_t)batch * nn_layer_out_size(&m->layers[i]) * sizeof(nn_real));
    memcpy(m->grad_of[upto - 1], dout, (size_t)batch * nn_layer_out_size(&m->layers[upto - 1]) * sizeof(nn_real));
    for (int i = upto - 1; i >= 0; i--) {
        const nn_layer *l = &m->layers[i];
        const nn_real *dy = m->grad_of[i];
        size_t n = (size_t)batch * nn_layer_out_size(l);
        if (l->kind == L_ADD) {
            if (l->src >= 0)
                add_into(m->grad_of[l->src], dy, n);
            if (l->src2 >= 0)
                add_into(m->grad_of[l->src2], dy, n);
            continue;
        }
        if (l->kind == L_CONCAT) {
            size_t S = (size_t)l->out_h * l->out_w, na = (size_t)l->in_c * S, nb = (size_t)(l->out_c - l->in_c) * S;
            for (int r = 0; r < batch; r++) {
                if (l->src >= 0)
                    add_into(m->grad_of[l->src] + (size_t)r * na, dy + (size_t)r * (na + nb), na);
                if (l->src2 >= 0)
                    add_into(m->grad_of[l->src2] + (size_t)r * nb, dy + (size_t)r * (na + nb) + na, nb);
            }
            continue;
        }
        nn_real *dx = l->src >= 0 ? m->dbuf[0] : NULL;
        layer_backward(m, i, batch, dy, dx);
        if (dx)
            add_into(m->grad_of[l->src], dx, (size_t)batch * nn_layer_in_size(l));
    }
}

/* whether layer i is the pool of a fused triple, found from the front as the forward pass does */
static int fused_pool_at(const nn_model *m, int i, int upto)
{
    for (int j = 0; j < upto; j++) {
        if (j == i - 2 && fused_conv_relu_pool(m, j, upto))
            return 1;
        if (j >= i - 2)
            return 0;
        if (fused_conv_relu_pool(m, j, upto))
            j += 2;
    }
    return 0;
}

void nn_run_backward(nn_model *m, int batch, int upto, const nn_real *dout)
{
    memset(m->grads, 0, m->nparams * sizeof(nn_real));
    if (m->dag) {
        run_backward_dag(m, batch, upto, dout);
        return;
    }
    const nn_real *dy = dout;
    for (int i = upto - 1; i >= 0; i--) {
        if (fused_pool_at(m, i, upto)) {
            i -= 2;
            nn_real *dx = i == 0 ? NULL : (dy == m->dbuf[0] ? m->dbuf[1] : m->dbuf[0]);
            fused_backward(m, i, batch, dy, dx);
            dy = dx;
            continue;
        }
        nn_real *dx = i == 0 ? NULL : (dy == m->dbuf[0] ? m->dbuf[1] : m->dbuf[0]);
        layer_backward(m, i, batch, dy, dx);
        dy = dx;
    }
}

int nn_loss_layers(const nn_model *m)
{
    if (m->nlayers == 0)
        return 0;
    int last = m->layers[m->nlayers - 1].kind;
    if ((m->loss == NN_LOSS_CROSS_ENTROPY && last == L_SOFTMAX) ||
        (m->loss == NN_LOSS_BINARY_CROSS_ENTROPY && last == L_SIGMOID))
        return m->nlayers - 1;
    return m->nlayers;
}
