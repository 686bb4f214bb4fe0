/* onnx_import.c — an ONNX model read into a cairn network.
 *
 * The importer walks the graph node by node in the file's order, which ONNX requires to be
 * topological. Every data tensor (computed from the graph input) is known as the cairn layer
 * whose output it is (-1: the input) and its rank. A node reading a data tensor becomes a
 * layer (Conv -> nn_conv2d, Gemm or MatMul+Add -> nn_dense, ...) that reads that tensor's
 * layer (nn_branch), its weights read from initializers or Constant nodes and appended in
 * cairn's parameter order; an Add of two data tensors becomes nn_add (a skip connection), a
 * Concat of data tensors along the channels nn_concat. So the network is a graph of layers
 * in topological order whose outputs all stay in their buffers: a tensor lives until its
 * last reader ran. Nodes that only compute shapes — the Shape/Gather/Unsqueeze/Concat/
 * Constant ladder torch writes for x.view(x.size(0), -1) — are evaluated on small integer
 * lists (the batch size stays symbolic) so that the Reshape they feed can be checked to be a
 * flatten. Anything else — another operator, an attribute cairn has no layer for, a data
 * type other than float — is an error that names the node, the operator and what is wrong;
 * the network is built only when every node was understood. */
#include "cairn/onnx.h"
#include "onnx_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/alloc.h"
#include "cairn/error.h"

#define FN "onnx_import"
#define BATCH INT64_MIN /* the symbolic batch size in shape computations */
#define MAXI 8

typedef struct ival {
    const char *name;
    int64_t v[MAXI];
    int n;
} ival;

typedef struct dval { /* a data tensor: the layer whose output it is (-1: the graph input) */
    const char *name;
    int layer, rank;
} dval;

typedef struct cst {
    const char *name;
    const Onnx__TensorProto *t;
} cst;

typedef struct imp {
    const Onnx__GraphProto *g;
    int64_t opset;
    nn_model *net;
    double *p, *s;                  /* parameters and batch-norm state, in cairn's order */
    size_t np, caps_p, ns, caps_s;
    ival *iv;                       /* integer tensors of shape computations */
    size_t niv, capiv;
    cst *ct;                        /* tensors of Constant nodes */
    size_t nct, capct;
    dval *dv;                       /* the data tensors seen so far */
    size_t ndv, capdv;
    int src;                        /* the layer the node being read takes as input (-1: the graph input) */
    int rank;                       /* its rank: 2 (N x F) or 4 (N x C x H x W); a layer node updates it */
    const char *bias_for;           /* output of the last MatMul, whose Add gives its bias */
    size_t bias_off;
    int bias_units;
    int last_kind;                  /* 1 softmax, 2 sigmoid, 0 other: the last layer */
} imp;

static const char *SUPPORTED =
    "Conv, Relu, LeakyRelu, Sigmoid, Tanh, Softmax, MaxPool, AveragePool, GlobalAveragePool, Gemm, MatMul, Add "
    "(MatMul's bias, or of two tensors: a skip connection), Concat (of channels), Flatten, Reshape (flatten), "
    "BatchNormalization, Dropout, Identity, Pad (of zeros), and Constant, Shape, Gather, Unsqueeze, Squeeze, Concat, "
    "Cast for shape computations";

static const char *nname(const Onnx__NodeProto *n) { return n->name && n->name[0] ? n->name : "(unnamed)"; }
static const char *op(const Onnx__NodeProto *n) { return n->op_type ? n->op_type : ""; }
static int is(const Onnx__NodeProto *n, const char *o) { return !strcmp(op(n), o); }
static const char *in(const Onnx__NodeProto *n, size_t i) { return i < n->n_input && n->input[i] ? n->input[i] : ""; }
static const char *out0(const Onnx__NodeProto *n) { return n->n_output && n->output[0] ? n->output[0] : ""; }

/* ---- growing buffers ---- */

static int grow(void **buf, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t c = *cap ? *cap : 64;
    while (c < need)
        c *= 2;
    void *b = realloc(*buf, c * elem);
    if (!b) {
        cairn_error(FN, "out of memory");
        return -1;
    }
    *buf = b;
    *cap = c;
    return 0;
}

static int push_p(imp *im, double v)
{
    if (grow((void **)&im->p, &im->caps_p, im->np + 1, sizeof(double)))
        return -1;
    im->p[im->np++] = v;
    return 0;
}

static int push_s(imp *im, double v)
{
    if (grow((void **)&im->s, &im->caps_s, im->ns + 1, sizeof(double)))
        return -1;
    im->s[im->ns++] = v;
    return 0;
}

/* ---- attributes ---- */

static const Onnx__AttributeProto *attr(const Onnx__NodeProto *n, const char *name)
{
    for (size_t i = 0; i < n->n_attribute; i++)
        if (n->attribute[i] && n->attribute[i]->name && !strcmp(n->attribute[i]->name, name))
            return n->attribute[i];
    return NULL;
}

static int64_t attr_i(const Onnx__NodeProto *n, const char *name, int64_t def)
{
    const Onnx__AttributeProto *a = attr(n, name);
    return a && a->has_i ? a->i : def;
}

static double attr_f(const Onnx__NodeProto *n, const char *name, double def)
{
    const Onnx__AttributeProto *a = attr(n, name);
    return a && a->has_f ? a->f : def;
}

/* ints attribute into out (at most cap); count, or -1 when absent */
static int attr_is(const Onnx__NodeProto *n, const char *name, int64_t *out, int cap)
{
    const Onnx__AttributeProto *a = attr(n, name);
    if (!a)
        return -1;
    int k = a->n_ints < (size_t)cap ? (int)a->n_ints : cap;
    for (int i = 0; i < k; i++)
        out[i] = a->ints[i];
    return (int)a->n_ints;
}

static int attr_s_is(const Onnx__NodeProto *n, const char *name, const char *val)
{
    const Onnx__AttributeProto *a = attr(n, name);
    if (!a || !a->has_s)
        return -1;
    size_t l = strlen(val);
    return a->s.len == l && !memcmp(a->s.data, val, l);
}

/* ---- tensors: initializers and Constant nodes ---- */

static const Onnx__TensorProto *tensor(const imp *im, const char *name)
{
    if (!name || !name[0])
        return NULL;
    for (size_t i = 0; i < im->g->n_initializer; i++)
        if (im->g->initializer[i] && im->g->initializer[i]->name && !strcmp(im->g->initializer[i]->name, name))
            return im->g->initializer[i];
    for (size_t i = 0; i < im->nct; i++)
        if (!strcmp(im->ct[i].name, name))
            return im->ct[i].t;
    return NULL;
}

static ival *find_iv(imp *im, const char *name)
{
    for (size_t i = 0; i < im->niv; i++)
        if (!strcmp(im->iv[i].name, name))
            return &im->iv[i];
    return NULL;
}

/* integer values of a shape-computation input: computed earlier, or a constant */
static int ints_of(imp *im, const Onnx__NodeProto *n, const char *name, int64_t *out)
{
    ival *v = find_iv(im, name);
    if (v) {
        memcpy(out, v->v, (size_t)v->n * sizeof *out);
        return v->n;
    }
    const Onnx__TensorProto *t = tensor(im, name);
    if (!t) {
        cairn_error(FN, "node '%s' (%s): input '%s' is neither a constant nor a shape computed from the input", nname(n),
                    op(n), name);
        return -1;
    }
    return onnx_tensor_ints(t, out, MAXI, FN);
}

static int set_iv(imp *im, const char *name, const int64_t *v, int n)
{
    if (grow((void **)&im->iv, &im->capiv, im->niv + 1, sizeof(ival)))
        return -1;
    ival *x = &im->iv[im->niv++];
    x->name = name;
    x->n = n;
    memcpy(x->v, v, (size_t)n * sizeof *v);
    return 0;
}

/* weights: a constant tensor with exactly `count` values (or broadcast from 1 when allowed) */
static double *weights(imp *im, const Onnx__NodeProto *n, size_t idx, int64_t count, const char *what)
{
    const Onnx__TensorProto *t = tensor(im, in(n, idx));
    if (!t) {
        cairn_error(FN, "node '%s' (%s): %s '%s' must be a constant (initializer) tensor", nname(n), op(n), what,
                    in(n, idx));
        return NULL;
    }
    int64_t got = 0;
    double *v = onnx_tensor_reals(t, &got, FN);
    if (v && got != count) {
        cairn_error(FN, "node '%s' (%s): %s '%s' has %lld values, expected %lld", nname(n), op(n), what, in(n, idx),
                    (long long)got, (long long)count);
        cairn_free(v);
        return NULL;
    }
    return v;
}

/* ---- layers ---- */

/* the shape of the node's input (im->src; the last layer once the node added one) */
static int cur_shape(const imp *im, int *c, int *h, int *w)
{
    return nn_layer_shape(im->net, im->src, c, h, w);
}

static dval *find_dv(imp *im, const char *name)
{
    for (size_t i = 0; name && name[0] && i < im->ndv; i++)
        if (!strcmp(im->dv[i].name, name))
            return &im->dv[i];
    return NULL;
}

static int set_dv(imp *im, const char *name, int layer, int rank)
{
    if (grow((void **)&im->dv, &im->capdv, im->ndv + 1, sizeof *im->dv))
        return -1;
    im->dv[im->ndv++] = (dval){name, layer, rank};
    return 0;
}

static int bad(const Onnx__NodeProto *n, const char *what)
{
    cairn_error(FN, "node '%s' (%s): %s", nname(n), op(n), what);
    return -1;
}

/* square kernel, equal strides, symmetric padding, no dilation; pads may be NULL (must be 0) */
static int window(const Onnx__NodeProto *n, int64_t kdef, int *k, int *s, int *p)
{
    int64_t ks[4] = {kdef, kdef}, st[4] = {1, 1}, pd[8] = {0, 0, 0, 0}, dl[4] = {1, 1};
    int nk = attr_is(n, "kernel_shape", ks, 4), ns = attr_is(n, "strides", st, 4), np = attr_is(n, "pads", pd, 8),
        nd = attr_is(n, "dilations", dl, 4);
    if (nk == -1 && kdef <= 0)
        return bad(n, "has no kernel_shape");
    if ((nk != -1 && nk != 2) || (ns != -1 && ns != 2) || (np != -1 && np != 4) || (nd != -1 && nd != 2))
        return bad(n, "only 2-D windows (kernel_shape, strides of 2 values, pads of 4) are supported");
    if (ks[0] != ks[1])
        return bad(n, "only square kernels are supported");
    if (st[0] != st[1])
        return bad(n, "only equal strides along height and width are supported");
    if (pd[0] != pd[1] || pd[0] != pd[2] || pd[0] != pd[3])
        return bad(n, "only the same padding on every side is supported");
    if (dl[0] != 1 || dl[1] != 1)
        return bad(n, "dilations other than 1 are not supported");
    int ap = attr_s_is(n, "auto_pad", "NOTSET"), valid = attr_s_is(n, "auto_pad", "VALID");
    if (ap == 0 && valid == 0)
        return bad(n, "auto_pad SAME_UPPER/SAME_LOWER is not supported (use explicit pads)");
    if (ks[0] <= 0 || ks[0] > 4096 || st[0] <= 0 || st[0] > 4096 || pd[0] < 0 || pd[0] > 4096)
        return bad(n, "kernel, stride or padding out of range");
    *k = (int)ks[0], *s = (int)st[0], *p = (int)pd[0];
    return 0;
}

static int conv(imp *im, const Onnx__NodeProto *n)
{
    int c, h, w, k, s, p;
    cur_shape(im, &c, &h, &w);
    if (im->rank != 4)
        return bad(n, "needs an N x C x H x W input");
    if (attr_i(n, "group", 1) != 1)
        return bad(n, "grouped or depthwise convolution (group != 1) is not supported");
    const Onnx__TensorProto *wt = tensor(im, in(n, 1));
    if (!wt || wt->n_dims != 4)
        return bad(n, "the weight must be a constant F x C x k x k tensor");
    if (wt->dims[1] != c || wt->dims[2] != wt->dims[3] || wt->dims[0] <= 0 || wt->dims[0] > (1 << 20)) {
        char msg[160];
        snprintf(msg, sizeof msg, "weight %lld x %lld x %lld x %lld does not fit a %d-channel input with a square kernel",
                 (long long)wt->dims[0], (long long)wt->dims[1], (long long)wt->dims[2], (long long)wt->dims[3], c);
        return bad(n, msg);
    }
    if (window(n, wt->dims[2], &k, &s, &p))
        return -1;
    if (k != wt->dims[2])
        return bad(n, "kernel_shape differs from the weight's shape");
    int F = (int)wt->dims[0], hasb = in(n, 2)[0] != 0;
    int64_t nw = (int64_t)F * c * k * k;
    double *W = weights(im, n, 1, nw, "weight"), *B = hasb ? weights(im, n, 2, F, "bias") : NULL;
    int rc = -1;
    if (W && (B || !hasb) && nn_conv2d(im->net, F, k, s, p, hasb) >= 0) {
        rc = 0;
        for (int64_t i = 0; i < nw && !rc; i++)
            rc = push_p(im, W[i]);
        for (int i = 0; hasb && i < F && !rc; i++)
            rc = push_p(im, B[i]);
    }
    cairn_free(W);
    cairn_free(B);
    return rc;
}

static int pool(imp *im, const Onnx__NodeProto *n, int maxp)
{
    int c, h, w, k, s, p;
    cur_shape(im, &c, &h, &w);
    if (im->rank != 4)
        return bad(n, "needs an N x C x H x W input");
    if (window(n, 0, &k, &s, &p))
        return -1;
    if (p != 0)
        return bad(n, "padded pooling is not supported");
    if (n->n_output > 1 && n->output[1] && n->output[1][0])
        return bad(n, "the Indices output is not supported");
    if (attr_i(n, "ceil_mode", 0) && (k > h || k > w || (h - k) % s || (w - k) % s))
        return bad(n, "ceil_mode = 1 with windows that do not tile the input is not supported");
    return (maxp ? nn_maxpool(im->net, k, s) : nn_avgpool(im->net, k, s)) < 0 ? -1 : 0;
}

static int dense_from(imp *im, const Onnx__NodeProto *n, const Onnx__TensorProto *wt, int transposed, double alpha)
{
    int c, h, w;
    int feats = cur_shape(im, &c, &h, &w);
    if (im->rank != 2)
        return bad(n, "needs a flat N x F input (a Flatten before it)");
    if (!wt || wt->n_dims != 2)
        return bad(n, "the weight must be a constant 2-D tensor");
    int64_t din = transposed ? wt->dims[1] : wt->dims[0], dout = transposed ? wt->dims[0] : wt->dims[1];
    if (din != feats || dout <= 0 || dout > (1 << 24)) {
        char msg[160];
        snprintf(msg, sizeof msg, "weight %lld x %lld does not fit %d input features", (long long)wt->dims[0],
                 (long long)wt->dims[1], feats);
        return bad(n, msg);
    }
    double *W = weights(im, n, 1, din * dout, "weight");
    if (!W)
        return -1;
    int rc = nn_dense(im->net, (int)dout) < 0 ? -1 : 0;
    for (int64_t o = 0; o < dout && !rc; o++) /* cairn keeps out x in */
        for (int64_t i = 0; i < din && !rc; i++)
            rc = push_p(im, alpha * (transposed ? W[o * din + i] : W[i * dout + o]));
    cairn_free(W);
    im->bias_off = im->np;
    im->bias_units = (int)dout;
    for (int64_t o = 0; o < dout && !rc; o++)
        rc = push_p(im, 0);
    return rc;
}

static int fill_bias(imp *im, const Onnx__NodeProto *n, size_t idx, double beta)
{
    const Onnx__TensorProto *t = tensor(im, in(n, idx));
    if (!t)
        return bad(n, "the bias must be a constant tensor");
    int64_t cnt = onnx_tensor_count(t);
    if (cnt != im->bias_units && cnt != 1)
        return bad(n, "the bias does not have one value per output (nor a single one)");
    double *b = weights(im, n, idx, cnt, "bias");
    if (!b)
        return -1;
    for (int o = 0; o < im->bias_units; o++)
        im->p[im->bias_off + (size_t)o] = beta * b[cnt == 1 ? 0 : o];
    cairn_free(b);
    return 0;
}

static int gemm(imp *im, const Onnx__NodeProto *n)
{
    if (attr_i(n, "transA", 0))
        return bad(n, "transA = 1 is not supported");
    if (dense_from(im, n, tensor(im, in(n, 1)), attr_i(n, "transB", 0) != 0, attr_f(n, "alpha", 1.0)))
        return -1;
    return in(n, 2)[0] ? fill_bias(im, n, 2, attr_f(n, "beta", 1.0)) : 0;
}

static int batchnorm(imp *im, const Onnx__NodeProto *n)
{
    int c, h, w;
    int feats = cur_shape(im, &c, &h, &w);
    int C = im->rank == 4 ? c : feats;
    if (attr_i(n, "training_mode", 0))
        return bad(n, "training_mode = 1 is not supported (export the model in eval mode)");
    if (n->n_input < 5)
        return bad(n, "needs scale, B, mean and var inputs");
    double eps = attr_f(n, "epsilon", 1e-5);
    double *v[4] = {NULL, NULL, NULL, NULL};
    static const char *what[4] = {"scale", "B", "mean", "var"};
    int rc = 0;
    for (int i = 0; i < 4 && !rc; i++)
        rc = (v[i] = weights(im, n, (size_t)i + 1, C, what[i])) ? 0 : -1;
    if (!rc)
        rc = nn_batchnorm(im->net) < 0 ? -1 : 0;
    for (int i = 0; i < C && !rc; i++)
        rc = push_p(im, v[0][i]);
    for (int i = 0; i < C && !rc; i++)
        rc = push_p(im, v[1][i]);
    for (int i = 0; i < C && !rc; i++)
        rc = push_s(im, v[2][i]);
    for (int i = 0; i < C && !rc; i++) { /* cairn's epsilon is 1e-5: fold the file's into the variance */
        double var = v[3][i] + eps - 1e-5;
        rc = push_s(im, var > 0 ? var : 0);
    }
    for (int i = 0; i < 4; i++)
        cairn_free(v[i]);
    return rc;
}

static int softmax(imp *im, const Onnx__NodeProto *n)
{
    int c, h, w;
    cur_shape(im, &c, &h, &w);
    int64_t axis = attr_i(n, "axis", im->opset >= 13 ? -1 : 1);
    int ok = im->rank == 2 ? (axis == 1 || axis == -1) : (h == 1 && w == 1 && axis == 1);
    if (!ok) {
        char msg[128];
        snprintf(msg, sizeof msg, "softmax over axis %lld of a rank-%d tensor is not supported (only over the features)",
                 (long long)axis, im->rank);
        return bad(n, msg);
    }
    return nn_softmax(im->net) < 0 ? -1 : 0;
}

/* Reshape of the chain: accepted when it flattens N x C x H x W to N x (C*H*W) or changes nothing */
static int reshape(imp *im, const Onnx__NodeProto *n)
{
    int c, h, w;
    int feats = cur_shape(im, &c, &h, &w);
    int64_t t[MAXI];
    int k = ints_of(im, n, in(n, 1), t);
    if (k < 0)
        return -1;
    int64_t dims[4] = {BATCH, c, h, w};
    if (im->rank == 2)
        dims[1] = feats;
    for (int i = 0; i < k; i++)
        if (t[i] == 0 && i < im->rank && !attr_i(n, "allowzero", 0))
            t[i] = dims[i];
    int batch_ok = k >= 1 && (t[0] == BATCH || t[0] == -1);
    if (k == 2 && batch_ok && (t[1] == -1 || t[1] == feats) && !(t[0] == -1 && t[1] == -1)) {
        if (im->rank == 4 && nn_flatten(im->net) < 0)
            return -1;
        im->rank = 2;
        return 0;
    }
    if (k == im->rank && batch_ok) {
        int same = 1;
        for (int i = 1; i < k; i++)
            same &= t[i] == dims[i];
        if (same)
            return 0;
    }
    char msg[200];
    int o = snprintf(msg, sizeof msg, "reshape to [");
    for (int i = 0; i < k && o < 150; i++)
        o += t[i] == BATCH ? snprintf(msg + o, sizeof msg - (size_t)o, "%sbatch", i ? ", " : "")
                           : snprintf(msg + o, sizeof msg - (size_t)o, "%s%lld", i ? ", " : "", (long long)t[i]);
    snprintf(msg + o, sizeof msg - (size_t)o, "] is not a flatten of the %d-feature input: not supported", feats);
    return bad(n, msg);
}

/* ---- shape computations off the chain ---- */

static int shape_node(imp *im, const Onnx__NodeProto *n)
{
    int64_t a[MAXI], b[MAXI], r[MAXI];
    int na, nr = 0;
    const char *o = out0(n);
    if (is(n, "Constant")) {
        const Onnx__AttributeProto *v = attr(n, "value");
        if (!v || !v->t)
            return bad(n, "only Constant nodes with a tensor 'value' are supported");
        if (grow((void **)&im->ct, &im->capct, im->nct + 1, sizeof *im->ct))
            return -1;
        im->ct[im->nct].name = o;
        im->ct[im->nct++].t = v->t;
        return 0;
    }
    if (is(n, "Shape")) {
        int c, h, w;
        int feats = cur_shape(im, &c, &h, &w);
        int64_t d[4] = {BATCH, c, h, w};
        if (im->rank == 2)
            d[1] = feats;
        int64_t st = attr_i(n, "start", 0), en = attr_i(n, "end", im->rank);
        st = st < 0 ? st + im->rank : st;
        en = en < 0 ? en + im->rank : en;
        st = st < 0 ? 0 : st > im->rank ? im->rank : st;
        en = en < 0 ? 0 : en > im->rank ? im->rank : en;
        for (int64_t i = st; i < en; i++)
            r[nr++] = d[i];
        return set_iv(im, o, r, nr);
    }
    if ((na = ints_of(im, n, in(n, 0), a)) < 0)
        return -1;
    if (is(n, "Gather")) {
        int nb = ints_of(im, n, in(n, 1), b);
        if (nb < 0)
            return -1;
        if (attr_i(n, "axis", 0) != 0)
            return bad(n, "only Gather along axis 0 is supported in shape computations");
        for (int i = 0; i < nb; i++) {
            int64_t j = b[i] < 0 ? b[i] + na : b[i];
            if (j < 0 || j >= na)
                return bad(n, "index out of range");
            r[nr++] = a[j];
        }
        return set_iv(im, o, r, nr);
    }
    if (is(n, "Concat")) {
        for (size_t k = 0; k < n->n_input; k++) {
            int nb = ints_of(im, n, in(n, k), b);
            if (nb < 0)
                return -1;
            if (nr + nb > MAXI)
                return bad(n, "shape too long");
            memcpy(r + nr, b, (size_t)nb * sizeof *b);
            nr += nb;
        }
        return set_iv(im, o, r, nr);
    }
    /* Unsqueeze, Squeeze, Cast, Identity: the values do not change */
    return set_iv(im, o, a, na);
}

/* ---- the walk ---- */

static int is_shape_op(const Onnx__NodeProto *n)
{
    static const char *ops[] = {"Constant", "Shape", "Gather", "Unsqueeze", "Squeeze", "Concat", "Cast"};
    for (size_t i = 0; i < sizeof ops / sizeof *ops; i++)
        if (is(n, ops[i]))
            return 1;
    return 0;
}

/* Add: MatMul's bias (one input the MatMul's output, the other a constant), or the sum of two
 * data tensors of one shape (a skip connection: nn_add) */
static int add(imp *im, const Onnx__NodeProto *n)
{
    dval *a = find_dv(im, in(n, 0)), *b = find_dv(im, in(n, 1));
    if (a && b) {
        int ca, ha, wa, cb, hb, wb;
        nn_layer_shape(im->net, a->layer, &ca, &ha, &wa);
        nn_layer_shape(im->net, b->layer, &cb, &hb, &wb);
        if (a->rank != b->rank || ca != cb || ha != hb || wa != wb) {
            char msg[200];
            snprintf(msg, sizeof msg, "adds '%s' (%d x %d x %d) and '%s' (%d x %d x %d): only tensors of one shape "
                     "are supported (no broadcasting)", in(n, 0), ca, ha, wa, in(n, 1), cb, hb, wb);
            return bad(n, msg);
        }
        return nn_add(im->net, b->layer) < 0 ? -1 : 0;
    }
    dval *d = a ? a : b;
    if (!im->bias_for || !d || strcmp(im->bias_for, in(n, a ? 0 : 1)))
        return bad(n, "Add of a constant is supported only as the bias right after a MatMul");
    return fill_bias(im, n, a ? 1 : 0, 1.0);
}

/* Concat of data tensors along the channels (features for rank 2): a chain of nn_concat */
static int concat(imp *im, const Onnx__NodeProto *n)
{
    int64_t axis = attr_i(n, "axis", 1);
    if (axis != 1 && axis != 1 - im->rank)
        return bad(n, "only Concat along the channels (axis 1) is supported for data tensors");
    if (n->n_input < 2)
        return 0; /* one input: the same tensor */
    int c0, h0, w0;
    cur_shape(im, &c0, &h0, &w0);
    for (size_t k = 1; k < n->n_input; k++) {
        dval *d = find_dv(im, in(n, k));
        if (!d) {
            char msg[200];
            snprintf(msg, sizeof msg, "input '%s' is not a tensor computed from the graph input (constants cannot be "
                     "concatenated to data)", in(n, k));
            return bad(n, msg);
        }
        int c, h, w;
        nn_layer_shape(im->net, d->layer, &c, &h, &w);
        if (d->rank != im->rank || h != h0 || w != w0) {
            char msg[200];
            snprintf(msg, sizeof msg, "'%s' (%d x %d x %d) and '%s' (%d x %d x %d) differ in rank, height or width",
                     in(n, 0), c0, h0, w0, in(n, k), c, h, w);
            return bad(n, msg);
        }
        if (nn_concat(im->net, d->layer) < 0)
            return -1;
    }
    return 0;
}

static int layer_node(imp *im, const Onnx__NodeProto *n)
{
    int rc;
    im->last_kind = 0;
    if (is(n, "Conv"))
        rc = conv(im, n);
    else if (is(n, "Relu"))
        rc = nn_relu(im->net) < 0 ? -1 : 0;
    else if (is(n, "LeakyRelu"))
        rc = nn_leaky_relu(im->net, attr_f(n, "alpha", 0.01)) < 0 ? -1 : 0;
    else if (is(n, "Sigmoid"))
        rc = nn_sigmoid(im->net) < 0 ? -1 : 0, im->last_kind = 2;
    else if (is(n, "Tanh"))
        rc = nn_tanh(im->net) < 0 ? -1 : 0;
    else if (is(n, "Softmax"))
        rc = softmax(im, n), im->last_kind = 1;
    else if (is(n, "MaxPool"))
        rc = pool(im, n, 1);
    else if (is(n, "AveragePool"))
        rc = pool(im, n, 0);
    else if (is(n, "GlobalAveragePool"))
        rc = im->rank != 4 ? bad(n, "needs an N x C x H x W input") : nn_global_avgpool(im->net) < 0 ? -1 : 0;
    else if (is(n, "Flatten")) {
        int64_t axis = attr_i(n, "axis", 1);
        if (axis != 1)
            return bad(n, "only Flatten with axis 1 (keep the batch dimension) is supported");
        rc = im->rank == 4 && nn_flatten(im->net) < 0 ? -1 : 0;
        im->rank = 2;
    } else if (is(n, "Reshape"))
        rc = reshape(im, n);
    else if (is(n, "Gemm"))
        rc = gemm(im, n);
    else if (is(n, "MatMul")) {
        rc = dense_from(im, n, tensor(im, in(n, 1)), 0, 1.0);
        im->bias_for = out0(n);
    } else if (is(n, "Add"))
        rc = add(im, n);
    else if (is(n, "Concat"))
        rc = concat(im, n);
    else if (is(n, "BatchNormalization"))
        rc = batchnorm(im, n);
    else if (is(n, "Dropout") || is(n, "Identity"))
        rc = 0;
    else if (is(n, "Pad")) { /* torch writes a Pad of zeros before AveragePool: accepted when it pads nothing */
        int64_t pads[MAXI];
        int k = in(n, 1)[0] ? ints_of(im, n, in(n, 1), pads) : attr_is(n, "pads", pads, MAXI); /* opset < 11: attribute */
        if (k > MAXI)
            return bad(n, "too many pads");
        if (k < 0)
            return -1;
        for (int i = 0; i < k; i++)
            if (pads[i] != 0)
                return bad(n, "only a Pad that adds nothing is supported (use the padding of Conv)");
        rc = 0;
    }
    else {
        cairn_error(FN, "operator %s (node '%s') is not supported; supported: %s", op(n), nname(n), SUPPORTED);
        return -1;
    }
    if (!is(n, "MatMul"))
        im->bias_for = NULL;
    return rc;
}

/* is a shape-computation operator reading shape values (not data tensors)? */
static int reads_data(imp *im, const Onnx__NodeProto *n)
{
    for (size_t k = 0; k < n->n_input; k++)
        if (find_dv(im, n->input[k]))
            return 1;
    return 0;
}

static int known_op(const Onnx__NodeProto *n)
{
    static const char *ops[] = {"Conv", "Gemm", "Relu", "MatMul", "Add", "Concat", "Flatten", "Reshape", "MaxPool",
                                "AveragePool", "GlobalAveragePool", "BatchNormalization", "Sigmoid", "Tanh",
                                "LeakyRelu", "Softmax", "Dropout", "Identity", "Pad"};
    for (size_t i = 0; i < sizeof ops / sizeof *ops; i++)
        if (is(n, ops[i]))
            return 1;
    return is_shape_op(n);
}

static int walk(imp *im)
{
    const Onnx__GraphProto *g = im->g;
    for (size_t i = 0; i < g->n_node; i++) {
        const Onnx__NodeProto *n = g->node[i];
        if (!n || !n->op_type)
            return cairn_error(FN, "node %zu has no operator (corrupt file?)", i), -1;
        if (n->domain && n->domain[0] && strcmp(n->domain, "ai.onnx")) {
            cairn_error(FN, "operator %s from domain '%s' (node '%s') is not supported: only the default ai.onnx domain",
                        op(n), n->domain, nname(n));
            return -1;
        }
        if (!out0(n)[0])
            return bad(n, "has no output");
        if (!known_op(n)) {
            cairn_error(FN, "operator %s (node '%s') is not supported; supported: %s", op(n), nname(n), SUPPORTED);
            return -1;
        }
        int data = reads_data(im, n);
        if (is_shape_op(n) && !is(n, "Shape") && !(is(n, "Concat") && data)) {
            if (data)
                return bad(n, "is supported only in shape computations, not on data tensors");
            if (shape_node(im, n))
                return -1;
            continue;
        }
        /* a data node: its input is the first data tensor it reads (Add: either one) */
        dval *src = find_dv(im, in(n, 0));
        if (!src && is(n, "Add"))
            src = find_dv(im, in(n, 1));
        if (!src) {
            char msg[200];
            snprintf(msg, sizeof msg, "reads '%s', which is neither the graph input nor computed from it", in(n, 0));
            return bad(n, msg);
        }
        if (find_dv(im, out0(n)))
            return bad(n, "writes a tensor that an earlier node wrote (not a valid ONNX graph)");
        im->src = src->layer;
        im->rank = src->rank;
        if (is(n, "Shape")) {
            if (shape_node(im, n))
                return -1;
            continue;
        }
        int before = nn_layer_count(im->net);
        if (nn_branch(im->net, im->src) || layer_node(im, n))
            return -1;
        int after = nn_layer_count(im->net); /* no new layer (Dropout, a bias Add, ...): the same tensor */
        if (set_dv(im, out0(n), after > before ? after - 1 : im->src, im->rank))
            return -1;
    }
    return 0;
}

/* ---- the model ---- */

static int is_initializer(const Onnx__GraphProto *g, const char *name)
{
    for (size_t i = 0; i < g->n_initializer; i++)
        if (g->initializer[i] && g->initializer[i]->name && name && !strcmp(g->initializer[i]->name, name))
            return 1;
    return 0;
}

static const char *prop(const Onnx__ModelProto *m, const char *key)
{
    for (size_t i = 0; i < m->n_metadata_props; i++)
        if (m->metadata_props[i] && m->metadata_props[i]->key && !strcmp(m->metadata_props[i]->key, key))
            return m->metadata_props[i]->value ? m->metadata_props[i]->value : "";
    return NULL;
}

static void copy(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src ? src : "");
}

/* input shape from the graph input (batch dimension first) or the input_shape metadata */
static int input_shape(const Onnx__ModelProto *m, const Onnx__ValueInfoProto *v, int shape[3], int *rank)
{
    const Onnx__TypeProto *tp = v->type;
    if (!tp || tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !tp->tensor_type) {
        cairn_error(FN, "input '%s' is not a tensor", v->name ? v->name : "");
        return -1;
    }
    const Onnx__TypeProto__Tensor *tt = tp->tensor_type;
    int et = tt->has_elem_type ? tt->elem_type : 0;
    if (et != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT) {
        cairn_error(FN, "input '%s' has data type %s: only FLOAT inputs are supported", v->name ? v->name : "",
                    onnx_dtype_name(et));
        return -1;
    }
    const Onnx__TensorShapeProto *sh = tt->shape;
    int r = sh ? (int)sh->n_dim : 0;
    if (r != 2 && r != 4) {
        cairn_error(FN, "input '%s' has rank %d: only N x F (rank 2) and N x C x H x W (rank 4) inputs are supported",
                    v->name ? v->name : "", r);
        return -1;
    }
    int d[3] = {1, 1, 1}, known = 1;
    for (int i = 1; i < r; i++) {
        const Onnx__TensorShapeProto__Dimension *dm = sh->dim[i];
        if (dm && dm->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE && dm->dim_value > 0 &&
            dm->dim_value < (1 << 24))
            d[i - 1] = (int)dm->dim_value;
        else
            known = 0;
    }
    const char *meta = prop(m, "input_shape");
    if (!known && meta && sscanf(meta, "%d,%d,%d", &d[0], &d[1], &d[2]) == 3 && d[0] > 0 && d[1] > 0 && d[2] > 0)
        known = 1;
    if (!known) {
        cairn_error(FN, "input '%s' has symbolic sizes besides the batch dimension: its shape is unknown",
                    v->name ? v->name : "");
        return -1;
    }
    shape[0] = d[0], shape[1] = d[1], shape[2] = d[2];
    *rank = r;
    return 0;
}

static int choose_loss(const imp *im, const char *meta_loss)
{
    if (meta_loss && !strcmp(meta_loss, "cross_entropy"))
        return NN_LOSS_CROSS_ENTROPY;
    if (meta_loss && !strcmp(meta_loss, "binary_cross_entropy"))
        return NN_LOSS_BINARY_CROSS_ENTROPY;
    if (meta_loss && !strcmp(meta_loss, "mse"))
        return NN_LOSS_MSE;
    int k = nn_layer_shape(im->net, nn_layer_count(im->net) - 1, NULL, NULL, NULL);
    if (im->last_kind == 2 && k == 1)
        return NN_LOSS_BINARY_CROSS_ENTROPY;
    if (im->last_kind == 1 || k >= 2)
        return NN_LOSS_CROSS_ENTROPY;
    return NN_LOSS_MSE;
}

static nn_model *build(const Onnx__ModelProto *m, const char *path, onnx_meta *meta)
{
    const Onnx__GraphProto *g = m->graph;
    int64_t opset = onnx_model_opset(m);
    if (opset < ONNX_MIN_OPSET || opset > ONNX_MAX_OPSET) {
        if (opset < 0)
            cairn_error(FN, "%s imports no ai.onnx operator set", path);
        else
            cairn_error(FN, "%s uses ai.onnx opset %lld; supported opsets are %d..%d", path, (long long)opset,
                        ONNX_MIN_OPSET, ONNX_MAX_OPSET);
        return NULL;
    }
    const Onnx__ValueInfoProto *input = NULL;
    for (size_t i = 0; i < g->n_input; i++) {
        if (!g->input[i] || is_initializer(g, g->input[i]->name))
            continue;
        if (input) {
            cairn_error(FN, "%s has several inputs ('%s', '%s'): only single-input models are supported", path,
                        input->name ? input->name : "", g->input[i]->name ? g->input[i]->name : "");
            return NULL;
        }
        input = g->input[i];
    }
    if (!input || !input->name) {
        cairn_error(FN, "%s has no graph input", path);
        return NULL;
    }
    if (g->n_output != 1 || !g->output[0] || !g->output[0]->name) {
        cairn_error(FN, "%s has %zu outputs: only single-output models are supported", path, g->n_output);
        return NULL;
    }
    int shape[3], rank;
    if (input_shape(m, input, shape, &rank))
        return NULL;
    imp im;
    memset(&im, 0, sizeof im);
    im.g = g;
    im.opset = opset;
    im.net = nn_model_new(shape[0], shape[1], shape[2], 42);
    if (!im.net)
        return NULL;
    if (set_dv(&im, input->name, -1, rank)) {
        nn_model_free(im.net);
        return NULL;
    }
    size_t total = 0; /* room for every weight at once */
    for (size_t i = 0; i < g->n_initializer; i++) {
        int64_t c = g->initializer[i] ? onnx_tensor_count(g->initializer[i]) : 0;
        total += c > 0 && c < ((int64_t)1 << 32) ? (size_t)c : 0;
    }
    if (total && grow((void **)&im.p, &im.caps_p, total, sizeof(double))) {
        nn_model_free(im.net);
        return NULL;
    }
    nn_skip_init(im.net, 1); /* every weight comes from the file: no random draws for 1 M parameters */
    int rc = walk(&im);
    nn_skip_init(im.net, 0);
    dval *out = rc ? NULL : find_dv(&im, g->output[0]->name);
    if (!rc && (!out || out->layer != nn_layer_count(im.net) - 1)) {
        if (!out)
            cairn_error(FN, "%s: the graph output '%s' is not computed from the input by the nodes cairn read", path,
                        g->output[0]->name);
        else if (out->layer < 0)
            cairn_error(FN, "%s has no layers cairn can run", path);
        else
            cairn_error(FN, "%s: the graph output '%s' is layer %d's output, but layers after it feed nothing the "
                        "output needs", path, g->output[0]->name, out->layer);
        rc = -1;
    }
    if (!rc && nn_layer_count(im.net) == 0) {
        cairn_error(FN, "%s has no layers cairn can run", path);
        rc = -1;
    }
    if (!rc && ((long)im.np != nn_param_count(im.net))) {
        cairn_error(FN, "%s: read %zu parameters but the network has %ld", path, im.np, nn_param_count(im.net));
        rc = -1;
    }
    if (!rc && im.np) {
        mat p = {im.p, 1, (int)im.np, (int)im.np, 0, 0, 0, 0};
        rc = nn_set_params(im.net, p);
    }
    if (!rc && im.ns) {
        mat s = {im.s, 1, (int)im.ns, (int)im.ns, 0, 0, 0, 0};
        rc = nn_set_state(im.net, s);
    }
    if (!rc) { /* the loss cairn exported with, else what the last layer says */
        int loss = choose_loss(&im, prop(m, "loss"));
        rc = nn_compile(im.net, loss, nn_adam(1e-3));
        if (rc && loss != NN_LOSS_MSE)
            rc = nn_compile(im.net, NN_LOSS_MSE, nn_adam(1e-3));
    }
    if (!rc && meta) {
        memset(meta, 0, sizeof *meta);
        meta->version = m->has_model_version ? m->model_version : 0;
        copy(meta->name, sizeof meta->name, g->name);
        copy(meta->producer, sizeof meta->producer, m->producer_name);
        copy(meta->producer_version, sizeof meta->producer_version, m->producer_version);
        copy(meta->classes, sizeof meta->classes, prop(m, "classes"));
        copy(meta->normalisation, sizeof meta->normalisation, prop(m, "normalisation"));
        copy(meta->doc, sizeof meta->doc, m->doc_string);
        meta->channels = shape[0], meta->height = shape[1], meta->width = shape[2];
        meta->opset = (int)opset;
    }
    free(im.p);
    free(im.s);
    free(im.iv);
    free(im.ct);
    free(im.dv);
    if (rc) {
        nn_model_free(im.net);
        return NULL;
    }
    return im.net;
}

nn_model *onnx_import(const char *path, onnx_meta *meta)
{
    Onnx__ModelProto *m = onnx_read_model(path, FN);
    if (!m)
        return NULL;
    nn_model *net = build(m, path, meta);
    onnx__model_proto__free_unpacked(m, NULL);
    return net;
}
