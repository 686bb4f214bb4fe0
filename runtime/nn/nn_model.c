/* nn_model.c — building a network: layers added one call at a time, each checked
 * against the shape it receives (the error names the layer and both shapes), its
 * parameters appended to the flat buffers and initialised at once from the model's
 * seeded generator, so the same seed and the same calls give the same network.
 * Also the model's generator (xoshiro256**, seeded through splitmix64), the buffers
 * sized for a batch, the optimizers' constructors and the parameter accessors. */
#include "nn_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/alloc.h"
#include "cairn/error.h"

/* ---- generator ---- */

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void nn_rng_seed(uint64_t s[4], uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++)
        s[i] = splitmix64(&x);
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t nn_rng_next_state(uint64_t s[4])
{
    uint64_t r = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return r;
}

uint64_t nn_rng_next(nn_model *m) { return nn_rng_next_state(m->rng); }

double nn_rng_uniform(nn_model *m) { return (double)(nn_rng_next(m) >> 11) * 0x1.0p-53; }

double nn_rng_normal(nn_model *m) /* Box-Muller: fixed IEEE arithmetic, same on every machine */
{
    double u = nn_rng_uniform(m), v = nn_rng_uniform(m);
    return sqrt(-2.0 * log(1.0 - u)) * cos(2.0 * M_PI * v);
}

/* ---- memory ---- */

void *nn_alloc_zero(size_t bytes) { return cairn_alloc(bytes ? bytes : 1); }
void nn_release(void *p) { cairn_free(p); }

size_t nn_out_size(const nn_model *m)
{
    return m->nlayers ? nn_layer_out_size(&m->layers[m->nlayers - 1]) : nn_in_size(m);
}

static void free_batch_buffers(nn_model *m)
{
    for (int i = 0; i < m->nlayers; i++) {
        nn_release(m->layers[i].out);
        nn_release(m->layers[i].aux);
        nn_release(m->layers[i].aux2);
        m->layers[i].out = m->layers[i].aux = m->layers[i].aux2 = NULL;
    }
    for (int i = 0; m->grad_of && i < m->nlayers; i++)
        nn_release(m->grad_of[i]);
    nn_release(m->grad_of);
    m->grad_of = NULL;
    nn_release(m->input);
    nn_release(m->dbuf[0]);
    nn_release(m->dbuf[1]);
    nn_release(m->work);
    nn_release(m->scratch);
    nn_release(m->wt);
    m->input = m->dbuf[0] = m->dbuf[1] = m->work = m->scratch = m->wt = NULL;
    m->batch_cap = 0;
}

int nn_reserve(nn_model *m, int batch, const char *func)
{
    if (batch <= m->batch_cap)
        return 0;
    free_batch_buffers(m);
    size_t b = (size_t)batch, maxsize = nn_in_size(m), work = 1, scratch = 1, wt = 1;
    int ok = (m->input = nn_alloc_zero(b * nn_in_size(m) * sizeof(nn_real))) != NULL;
    for (int i = 0; i < m->nlayers && ok; i++) {
        nn_layer *l = &m->layers[i];
        size_t out = nn_layer_out_size(l);
        maxsize = out > maxsize ? out : maxsize;
        ok = (l->out = nn_alloc_zero(b * out * sizeof(nn_real))) != NULL;
        if (ok && (l->kind == L_MAXPOOL || l->kind == L_DROPOUT || l->kind == L_BATCHNORM))
            ok = (l->aux = nn_alloc_zero(b * out * (sizeof(nn_real) > 4 ? sizeof(nn_real) : 4))) != NULL;
        if (ok && l->kind == L_BATCHNORM)
            ok = (l->aux2 = nn_alloc_zero(2 * (size_t)l->out_c * sizeof(nn_real))) != NULL;
        if (l->kind == L_DENSE) /* its weights transposed for the forward product */
            wt = (size_t)l->in_c * l->out_c > wt ? (size_t)l->in_c * l->out_c : wt;
        if (l->kind == L_CONV) {
            size_t p = (size_t)l->out_h * l->out_w;
            size_t w = (size_t)l->in_c * l->k * l->k * b * p, s = (size_t)l->out_c * b * p;
            work = w > work ? w : work;
            size_t t = (size_t)l->in_c * l->k * l->k * l->out_c, tb = b * (size_t)l->out_c; /* + fused bias sums */
            t = tb > t ? tb : t;
            wt = t > wt ? t : wt;
            scratch = s > scratch ? s : scratch;
        }
    }
    if (ok && m->dag) { /* a gradient buffer per layer: several layers may add into one */
        ok = (m->grad_of = nn_alloc_zero((size_t)m->nlayers * sizeof *m->grad_of)) != NULL;
        for (int i = 0; i < m->nlayers && ok; i++)
            ok = (m->grad_of[i] = nn_alloc_zero(b * nn_layer_out_size(&m->layers[i]) * sizeof(nn_real))) != NULL;
    }
    if (ok)
        ok = (m->dbuf[0] = nn_alloc_zero(b * maxsize * sizeof(nn_real))) != NULL &&
             (m->dbuf[1] = nn_alloc_zero(b * maxsize * sizeof(nn_real))) != NULL &&
             (m->work = nn_alloc_zero(work * sizeof(nn_real))) != NULL &&
             (m->scratch = nn_alloc_zero(scratch * sizeof(nn_real))) != NULL &&
             (m->wt = nn_alloc_zero(wt * sizeof(nn_real))) != NULL;
    if (!ok) {
        free_batch_buffers(m);
        cairn_error(func, "out of memory for the buffers of a batch of %d rows", batch);
        return -1;
    }
    m->work_size = work;
    m->scratch_size = scratch;
    m->batch_cap = batch;
    return 0;
}

/* ---- model ---- */

nn_model *nn_model_new(int channels, int height, int width, uint64_t seed)
{
    if (channels <= 0 || height <= 0 || width <= 0) {
        cairn_error("nn_model_new", "input shape %d x %d x %d must be positive (use n, 1, 1 for vectors of n features)",
                    channels, height, width);
        return NULL;
    }
    nn_model *m = nn_alloc_zero(sizeof *m);
    if (!m)
        return NULL;
    m->in_c = channels;
    m->in_h = height;
    m->in_w = width;
    m->seed = seed;
    nn_rng_seed(m->rng, seed);
    m->opt = nn_adam(1e-3);
    m->next_src = NN_NO_INPUT;
    return m;
}

void nn_model_free(nn_model *m)
{
    if (!m)
        return;
    free_batch_buffers(m);
    nn_release(m->layers);
    nn_release(m->params);
    nn_release(m->grads);
    nn_release(m->opt_m);
    nn_release(m->opt_v);
    nn_release(m->good);
    nn_release(m->state);
    free(m->summary); /* from strbuf (malloc) */
    nn_release(m);
}

void nn_summary_invalidate(nn_model *m)
{
    free(m->summary); /* from strbuf (malloc) */
    m->summary = NULL;
}

const char *nn_kind_name(int kind)
{
    static const char *names[] = {"?", "conv2d", "maxpool", "avgpool", "global_avgpool", "flatten", "dense",
                                  "dropout", "batchnorm", "relu", "leaky_relu", "sigmoid", "tanh", "softmax",
                                  "add", "concat"};
    return kind > 0 && kind <= L_CONCAT ? names[kind] : "?";
}

/* grow a flat buffer from n to n2 values, keeping its contents */
static int grow(nn_real **buf, size_t n, size_t n2)
{
    nn_real *b = nn_alloc_zero(n2 * sizeof(nn_real));
    if (!b)
        return -1;
    if (*buf && n)
        memcpy(b, *buf, n * sizeof(nn_real));
    nn_release(*buf);
    *buf = b;
    return 0;
}

static void init_layer(nn_model *m, nn_layer *l)
{
    if (m->skip_init)
        return;
    if (l->kind == L_CONV || l->kind == L_DENSE) {
        size_t fan_in = l->kind == L_CONV ? (size_t)l->in_c * l->k * l->k : nn_layer_in_size(l);
        size_t fan_out = l->kind == L_CONV ? (size_t)l->out_c * l->k * l->k : (size_t)l->out_c;
        double sd = m->init_scheme == NN_INIT_GLOROT ? sqrt(2.0 / (double)(fan_in + fan_out)) : sqrt(2.0 / (double)fan_in);
        size_t nw = fan_in * (size_t)l->out_c;
        for (size_t i = 0; i < nw; i++)
            m->params[l->w_off + i] = (nn_real)(sd * nn_rng_normal(m));
        if (l->bias)
            memset(m->params + l->b_off, 0, (size_t)l->out_c * sizeof(nn_real));
    } else if (l->kind == L_BATCHNORM) {
        for (int c = 0; c < l->out_c; c++) {
            m->params[l->w_off + c] = 1;
            m->params[l->b_off + c] = 0;
            m->state[l->state_off + c] = 0;
            m->state[l->state_off + l->out_c + c] = 1;
        }
    }
}

/* append layer l (shapes filled in) with nw weights + nb biases and ns state values */
static int add_layer(nn_model *m, const char *func, nn_layer l, size_t nw, size_t nb, size_t ns)
{
    if (!m) {
        cairn_error(func, "the model is NULL");
        return -1;
    }
    if (m->nlayers == m->cap) {
        int cap = m->cap ? 2 * m->cap : 8;
        nn_layer *ls = nn_alloc_zero((size_t)cap * sizeof *ls);
        if (!ls)
            return -1;
        if (m->layers)
            memcpy(ls, m->layers, (size_t)m->nlayers * sizeof *ls);
        nn_release(m->layers);
        m->layers = ls;
        m->cap = cap;
    }
    size_t np = m->nparams + nw + nb;
    if (nw + nb) {
        if (grow(&m->params, m->nparams, np) || grow(&m->grads, m->nparams, np) || grow(&m->opt_m, m->nparams, np) ||
            grow(&m->opt_v, m->nparams, np) || grow(&m->good, m->nparams, np))
            return -1;
    }
    if (ns && grow(&m->state, m->nstate, m->nstate + ns))
        return -1;
    l.w_off = m->nparams;
    l.b_off = m->nparams + nw;
    l.nparams = nw + nb;
    l.state_off = m->nstate;
    m->nparams = np;
    m->nstate += ns;
    free_batch_buffers(m); /* shapes changed: buffers are re-made for the next batch */
    if (l.src != m->nlayers - 1 || l.src2 != NN_NO_INPUT)
        m->dag = 1;
    m->next_src = NN_NO_INPUT;
    m->layers[m->nlayers] = l;
    init_layer(m, &m->layers[m->nlayers]);
    nn_summary_invalidate(m);
    return m->nlayers++;
}

/* a new layer record whose input is the current output (the last layer's, or nn_branch's) */
static nn_layer next_layer(const nn_model *m, int kind)
{
    nn_layer l;
    memset(&l, 0, sizeof l);
    l.kind = kind;
    l.src2 = NN_NO_INPUT;
    l.src = m ? (m->next_src != NN_NO_INPUT ? m->next_src : m->nlayers - 1) : -1;
    if (m && l.src >= 0) {
        const nn_layer *p = &m->layers[l.src];
        l.in_c = p->out_c, l.in_h = p->out_h, l.in_w = p->out_w;
    } else if (m) {
        l.in_c = m->in_c, l.in_h = m->in_h, l.in_w = m->in_w;
    }
    l.out_c = l.in_c, l.out_h = l.in_h, l.out_w = l.in_w;
    return l;
}

int nn_branch(nn_model *m, int layer)
{
    if (!m || layer < -1 || layer >= m->nlayers) {
        cairn_error("nn_branch", "layer %d is out of range (the network has %d layers; -1 is the input)", layer,
                    m ? m->nlayers : 0);
        return -1;
    }
    m->next_src = layer;
    return 0;
}

/* add/concat: the current output and layer `other`'s */
static int merge(nn_model *m, int kind, int other, const char *func)
{
    if (!m || other < -1 || other >= m->nlayers) {
        cairn_error(func, "layer %d is out of range (the network has %d layers; -1 is the input)", other,
                    m ? m->nlayers : 0);
        return -1;
    }
    nn_layer l = next_layer(m, kind);
    int c, h, w;
    nn_layer_shape(m, other, &c, &h, &w);
    l.src2 = other;
    if (kind == L_ADD && (c != l.in_c || h != l.in_h || w != l.in_w)) {
        cairn_error(func, "layer %d: the current output %d x %d x %d and layer %d's %d x %d x %d differ in shape",
                    m->nlayers, l.in_c, l.in_h, l.in_w, other, c, h, w);
        return -1;
    }
    if (kind == L_CONCAT && (h != l.in_h || w != l.in_w)) {
        cairn_error(func, "layer %d: the current output %d x %d x %d and layer %d's %d x %d x %d differ in height or width",
                    m->nlayers, l.in_c, l.in_h, l.in_w, other, c, h, w);
        return -1;
    }
    if (kind == L_CONCAT)
        l.out_c = l.in_c + c;
    return add_layer(m, func, l, 0, 0, 0);
}

int nn_add(nn_model *m, int layer) { return merge(m, L_ADD, layer, "nn_add"); }
int nn_concat(nn_model *m, int layer) { return merge(m, L_CONCAT, layer, "nn_concat"); }

int nn_layer_inputs(const nn_model *m, int i, int *from, int *from2)
{
    if (!m || i < 0 || i >= m->nlayers) {
        cairn_error("nn_layer_inputs", "layer %d is out of range (the network has %d layers)", i, m ? m->nlayers : 0);
        return -1;
    }
    if (from)
        *from = m->layers[i].src;
    if (from2)
        *from2 = m->layers[i].src2;
    return 0;
}

static int is_flat(const nn_layer *l) { return l->in_h == 1 && l->in_w == 1; }

int nn_conv2d(nn_model *m, int filters, int kernel, int stride, int padding, int bias)
{
    nn_layer l = next_layer(m, L_CONV);
    int idx = m ? m->nlayers : 0;
    if (!m) {
        cairn_error("nn_conv2d", "the model is NULL");
        return -1;
    }
    if (filters <= 0 || kernel <= 0 || stride <= 0 || padding < 0) {
        cairn_error("nn_conv2d", "layer %d: filters %d, kernel %d, stride %d must be positive and padding %d >= 0",
                    idx, filters, kernel, stride, padding);
        return -1;
    }
    int hp = l.in_h + 2 * padding, wp = l.in_w + 2 * padding;
    if (kernel > hp || kernel > wp) {
        cairn_error("nn_conv2d", "layer %d (conv2d %dx%d, padding %d) does not fit its input %d x %d x %d",
                    idx, kernel, kernel, padding, l.in_c, l.in_h, l.in_w);
        return -1;
    }
    l.k = kernel, l.stride = stride, l.pad = padding, l.bias = bias ? 1 : 0;
    l.out_c = filters;
    l.out_h = (hp - kernel) / stride + 1;
    l.out_w = (wp - kernel) / stride + 1;
    return add_layer(m, "nn_conv2d", l, (size_t)filters * l.in_c * kernel * kernel, l.bias ? (size_t)filters : 0, 0);
}

static int pool(nn_model *m, int kind, const char *func, int size, int stride)
{
    if (!m) {
        cairn_error(func, "the model is NULL");
        return -1;
    }
    nn_layer l = next_layer(m, kind);
    if (size <= 0 || stride <= 0) {
        cairn_error(func, "layer %d: size %d and stride %d must be positive", m->nlayers, size, stride);
        return -1;
    }
    if (size > l.in_h || size > l.in_w) {
        cairn_error(func, "layer %d (%s %dx%d) does not fit its input %d x %d x %d", m->nlayers, nn_kind_name(kind),
                    size, size, l.in_c, l.in_h, l.in_w);
        return -1;
    }
    l.k = size, l.stride = stride;
    l.out_h = (l.in_h - size) / stride + 1;
    l.out_w = (l.in_w - size) / stride + 1;
    return add_layer(m, func, l, 0, 0, 0);
}

int nn_maxpool(nn_model *m, int size, int stride) { return pool(m, L_MAXPOOL, "nn_maxpool", size, stride); }
int nn_avgpool(nn_model *m, int size, int stride) { return pool(m, L_AVGPOOL, "nn_avgpool", size, stride); }

int nn_global_avgpool(nn_model *m)
{
    nn_layer l = next_layer(m, L_GAP);
    l.out_h = l.out_w = 1;
    return add_layer(m, "nn_global_avgpool", l, 0, 0, 0);
}

int nn_flatten(nn_model *m)
{
    nn_layer l = next_layer(m, L_FLATTEN);
    l.out_c = l.in_c * l.in_h * l.in_w;
    l.out_h = l.out_w = 1;
    return add_layer(m, "nn_flatten", l, 0, 0, 0);
}

int nn_dense(nn_model *m, int units)
{
    if (!m) {
        cairn_error("nn_dense", "the model is NULL");
        return -1;
    }
    nn_layer l = next_layer(m, L_DENSE);
    if (units <= 0) {
        cairn_error("nn_dense", "layer %d: units %d must be positive", m->nlayers, units);
        return -1;
    }
    if (!is_flat(&l)) {
        cairn_error("nn_dense", "layer %d (dense %d) needs a flat input but receives %d x %d x %d: add nn_flatten first",
                    m->nlayers, units, l.in_c, l.in_h, l.in_w);
        return -1;
    }
    l.out_c = units;
    l.bias = 1;
    return add_layer(m, "nn_dense", l, (size_t)units * l.in_c, (size_t)units, 0);
}

int nn_dropout(nn_model *m, double rate)
{
    if (!(rate >= 0 && rate < 1)) {
        cairn_error("nn_dropout", "rate %g must be in [0, 1)", rate);
        return -1;
    }
    nn_layer l = next_layer(m, L_DROPOUT);
    l.rate = rate;
    return add_layer(m, "nn_dropout", l, 0, 0, 0);
}

int nn_batchnorm(nn_model *m)
{
    nn_layer l = next_layer(m, L_BATCHNORM);
    return add_layer(m, "nn_batchnorm", l, (size_t)l.out_c, (size_t)l.out_c, 2 * (size_t)l.out_c);
}

int nn_relu(nn_model *m) { return add_layer(m, "nn_relu", next_layer(m, L_RELU), 0, 0, 0); }
int nn_sigmoid(nn_model *m) { return add_layer(m, "nn_sigmoid", next_layer(m, L_SIGMOID), 0, 0, 0); }
int nn_tanh(nn_model *m) { return add_layer(m, "nn_tanh", next_layer(m, L_TANH), 0, 0, 0); }
int nn_softmax(nn_model *m) { return add_layer(m, "nn_softmax", next_layer(m, L_SOFTMAX), 0, 0, 0); }

int nn_leaky_relu(nn_model *m, double slope)
{
    nn_layer l = next_layer(m, L_LEAKY_RELU);
    l.rate = slope;
    return add_layer(m, "nn_leaky_relu", l, 0, 0, 0);
}

int nn_init_weights(nn_model *m, int scheme)
{
    if (!m || (scheme != NN_INIT_HE && scheme != NN_INIT_GLOROT)) {
        cairn_error("nn_init_weights", "needs a model and NN_INIT_HE or NN_INIT_GLOROT (got %d)", scheme);
        return -1;
    }
    m->init_scheme = scheme;
    m->skip_init = 0; /* asked for explicitly */
    nn_rng_seed(m->rng, m->seed);
    for (int i = 0; i < m->nlayers; i++)
        init_layer(m, &m->layers[i]);
    return 0;
}

/* ---- optimizers ---- */

nn_optimizer nn_sgd(double lr, double momentum)
{
    nn_optimizer o = {NN_OPT_SGD, lr, momentum, 0.99, 0.9, 0.999, 1e-8, 0};
    return o;
}

nn_optimizer nn_rmsprop(double lr)
{
    nn_optimizer o = {NN_OPT_RMSPROP, lr, 0, 0.99, 0.9, 0.999, 1e-8, 0};
    return o;
}

nn_optimizer nn_adam(double lr)
{
    nn_optimizer o = {NN_OPT_ADAM, lr, 0, 0.99, 0.9, 0.999, 1e-8, 0};
    return o;
}

int nn_compile(nn_model *m, int loss, nn_optimizer opt)
{
    if (!m) {
        cairn_error("nn_compile", "the model is NULL");
        return -1;
    }
    if (loss < NN_LOSS_CROSS_ENTROPY || loss > NN_LOSS_MSE) {
        cairn_error("nn_compile", "unknown loss %d (NN_LOSS_CROSS_ENTROPY, NN_LOSS_BINARY_CROSS_ENTROPY, NN_LOSS_MSE)", loss);
        return -1;
    }
    if (opt.kind < NN_OPT_SGD || opt.kind > NN_OPT_ADAM || !(opt.lr > 0) || opt.weight_decay < 0) {
        cairn_error("nn_compile", "optimizer kind %d with lr %g, weight decay %g: use nn_sgd/nn_rmsprop/nn_adam with lr > 0",
                    opt.kind, opt.lr, opt.weight_decay);
        return -1;
    }
    if (m->nlayers == 0) {
        cairn_error("nn_compile", "the network has no layers");
        return -1;
    }
    if (loss == NN_LOSS_CROSS_ENTROPY && nn_out_size(m) < 2) {
        cairn_error("nn_compile", "cross-entropy needs at least 2 outputs but the last layer gives %zu (use NN_LOSS_BINARY_CROSS_ENTROPY for one)",
                    nn_out_size(m));
        return -1;
    }
    if (m->loss != loss || m->opt.kind != opt.kind) { /* new optimizer: fresh moments */
        if (m->nparams) { /* a network without weights has no buffers (NULL) */
            memset(m->opt_m, 0, m->nparams * sizeof(nn_real));
            memset(m->opt_v, 0, m->nparams * sizeof(nn_real));
        }
        m->step = 0;
    }
    m->loss = loss;
    m->opt = opt;
    return 0;
}

/* ---- queries ---- */

int nn_layer_count(const nn_model *m) { return m ? m->nlayers : 0; }
long nn_param_count(const nn_model *m) { return m ? (long)m->nparams : 0; }

int nn_layer_shape(const nn_model *m, int i, int *c, int *h, int *w)
{
    if (!m || i < -1 || i >= m->nlayers) {
        cairn_error("nn_layer_shape", "layer %d is out of range (the network has %d layers)", i, m ? m->nlayers : 0);
        return -1;
    }
    int cc = i < 0 ? m->in_c : m->layers[i].out_c, hh = i < 0 ? m->in_h : m->layers[i].out_h,
        ww = i < 0 ? m->in_w : m->layers[i].out_w;
    if (c)
        *c = cc;
    if (h)
        *h = hh;
    if (w)
        *w = ww;
    return cc * hh * ww;
}

const char *nn_layer_name(const nn_model *m, int i)
{
    return m && i >= 0 && i < m->nlayers ? nn_kind_name(m->layers[i].kind) : NULL;
}

mat nn_params(const nn_model *m)
{
    if (!m || m->nparams == 0) {
        cairn_error("nn_params", "the model has no trainable parameters");
        return mat_empty();
    }
    mat p = mat_alloc(1, (int)m->nparams);
    if (mat_is_empty(p))
        return p;
    for (size_t i = 0; i < m->nparams; i++)
        p.data[i] = m->params[i];
    return p;
}

int nn_set_params(nn_model *m, mat p)
{
    if (!m || mat_is_empty(p) || (size_t)p.rows * p.cols != m->nparams || (p.rows != 1 && p.cols != 1)) {
        cairn_error("nn_set_params", "needs a 1 x %zu vector, got %d x %d", m ? m->nparams : 0, p.rows, p.cols);
        return -1;
    }
    for (size_t i = 0; i < m->nparams; i++)
        m->params[i] = (nn_real)(p.rows == 1 ? *mat_ptr(p, 0, (int)i) : *mat_ptr(p, (int)i, 0));
    return 0;
}

/* ---- configuration accessors (what an exporter needs to rewrite the network elsewhere) ---- */

int nn_layer_config(const nn_model *m, int i, int *kernel, int *stride, int *padding, int *bias, double *rate)
{
    if (!m || i < 0 || i >= m->nlayers) {
        cairn_error("nn_layer_config", "layer %d is out of range (the network has %d layers)", i, m ? m->nlayers : 0);
        return -1;
    }
    const nn_layer *l = &m->layers[i];
    if (kernel)
        *kernel = l->k;
    if (stride)
        *stride = l->stride;
    if (padding)
        *padding = l->pad;
    if (bias)
        *bias = l->bias;
    if (rate)
        *rate = l->rate;
    return 0;
}

mat nn_state(const nn_model *m)
{
    if (!m || m->nstate == 0)
        return mat_empty();
    mat s = mat_alloc(1, (int)m->nstate);
    if (mat_is_empty(s))
        return s;
    for (size_t i = 0; i < m->nstate; i++)
        s.data[i] = m->state[i];
    return s;
}

int nn_set_state(nn_model *m, mat s)
{
    if (!m || mat_is_empty(s) || (size_t)s.rows * s.cols != m->nstate || (s.rows != 1 && s.cols != 1)) {
        cairn_error("nn_set_state", "needs a 1 x %zu vector, got %d x %d", m ? m->nstate : 0, s.rows, s.cols);
        return -1;
    }
    for (size_t i = 0; i < m->nstate; i++)
        m->state[i] = (nn_real)(s.rows == 1 ? *mat_ptr(s, 0, (int)i) : *mat_ptr(s, (int)i, 0));
    return 0;
}

int nn_training_config(const nn_model *m, int *loss, nn_optimizer *opt, long *steps, uint64_t *seed)
{
    if (!m) {
        cairn_error("nn_training_config", "the model is NULL");
        return -1;
    }
    if (loss)
        *loss = m->loss;
    if (opt)
        *opt = m->opt;
    if (steps)
        *steps = m->step;
    if (seed)
        *seed = m->seed;
    return 0;
}

void nn_skip_init(nn_model *m, int on)
{
    if (m)
        m->skip_init = on != 0;
}
