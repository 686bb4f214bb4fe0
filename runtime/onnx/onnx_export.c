/* onnx_export.c — a cairn network written as an ONNX model.
 *
 * Each layer becomes the ONNX node of the same meaning (conv2d -> Conv, dense -> Gemm with
 * transB = 1 since cairn keeps dense weights out x in as PyTorch does, batchnorm ->
 * BatchNormalization with its running statistics, dropout -> nothing, as in inference).
 * The data flows through one chain of tensors: "input" -> t0 -> t1 ... -> "output"; the
 * input and output carry a symbolic "batch" dimension. Weights are float32 initializers
 * named after their layer ("conv0.weight"). The message is built from protobuf-c structs
 * whose memory comes from a small arena freed in one go, then packed by protobuf-c. */
#include "cairn/onnx.h"
#include "onnx_internal.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/alloc.h"
#include "cairn/error.h"

#define FN "onnx_export"

/* ---- arena: every allocation of the message, released together ---- */

typedef struct arena {
    void **blocks;
    size_t n, cap;
    int failed;
} arena;

static void *ar_alloc(arena *a, size_t bytes)
{
    if (a->failed)
        return NULL;
    if (a->n == a->cap) {
        size_t cap = a->cap ? 2 * a->cap : 256;
        void **b = realloc(a->blocks, cap * sizeof *b);
        if (!b) {
            a->failed = 1;
            return NULL;
        }
        a->blocks = b;
        a->cap = cap;
    }
    void *p = calloc(1, bytes ? bytes : 1);
    if (!p) {
        a->failed = 1;
        return NULL;
    }
    a->blocks[a->n++] = p;
    return p;
}

static void ar_free(arena *a)
{
    for (size_t i = 0; i < a->n; i++)
        free(a->blocks[i]);
    free(a->blocks);
}

static char *ar_str(arena *a, const char *s)
{
    size_t n = strlen(s);
    char *p = ar_alloc(a, n + 1);
    if (p)
        memcpy(p, s, n + 1);
    return p;
}

/* ---- message builders ---- */

typedef struct graph_b {
    arena *a;
    Onnx__NodeProto **nodes;
    size_t nnodes, capnodes;
    Onnx__TensorProto **inits;
    size_t ninits, capinits;
} graph_b;

static int push(arena *a, void ***arr, size_t *n, size_t *cap, void *item)
{
    if (!item)
        return -1;
    if (*n == *cap) {
        size_t c = *cap ? 2 * *cap : 32;
        void **b = ar_alloc(a, c * sizeof *b);
        if (!b)
            return -1;
        if (*n)
            memcpy(b, *arr, *n * sizeof *b);
        *arr = b;
        *cap = c;
    }
    (*arr)[(*n)++] = item;
    return 0;
}

static Onnx__NodeProto *node(graph_b *g, const char *op, const char *name, const char *in, const char *out,
                             const char *w, const char *b)
{
    Onnx__NodeProto *n = ar_alloc(g->a, sizeof *n);
    char **ins = ar_alloc(g->a, 3 * sizeof(char *)), **outs = ar_alloc(g->a, sizeof(char *));
    if (!n || !ins || !outs)
        return NULL;
    onnx__node_proto__init(n);
    n->op_type = ar_str(g->a, op);
    n->name = ar_str(g->a, name);
    ins[0] = ar_str(g->a, in);
    n->n_input = 1;
    if (w)
        ins[n->n_input++] = ar_str(g->a, w);
    if (b)
        ins[n->n_input++] = ar_str(g->a, b);
    outs[0] = ar_str(g->a, out);
    n->input = ins;
    n->output = outs;
    n->n_output = 1;
    if (push(g->a, (void ***)&g->nodes, &g->nnodes, &g->capnodes, n))
        return NULL;
    return n;
}

static Onnx__AttributeProto *attr(graph_b *g, Onnx__NodeProto *n, const char *name, int type)
{
    if (!n)
        return NULL;
    Onnx__AttributeProto *at = ar_alloc(g->a, sizeof *at);
    Onnx__AttributeProto **list = ar_alloc(g->a, (n->n_attribute + 1) * sizeof *list);
    if (!at || !list)
        return NULL;
    onnx__attribute_proto__init(at);
    at->name = ar_str(g->a, name);
    at->has_type = 1;
    at->type = type;
    if (n->n_attribute)
        memcpy(list, n->attribute, n->n_attribute * sizeof *list);
    list[n->n_attribute++] = at;
    n->attribute = list;
    return at;
}

static void attr_int(graph_b *g, Onnx__NodeProto *n, const char *name, int64_t v)
{
    Onnx__AttributeProto *at = attr(g, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
    if (at)
        at->has_i = 1, at->i = v;
}

static void attr_float(graph_b *g, Onnx__NodeProto *n, const char *name, float v)
{
    Onnx__AttributeProto *at = attr(g, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);
    if (at)
        at->has_f = 1, at->f = v;
}

static void attr_ints(graph_b *g, Onnx__NodeProto *n, const char *name, int64_t v, int count)
{
    Onnx__AttributeProto *at = attr(g, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
    int64_t *vals = ar_alloc(g->a, (size_t)count * sizeof *vals);
    if (!at || !vals)
        return;
    for (int i = 0; i < count; i++)
        vals[i] = v;
    at->ints = vals;
    at->n_ints = (size_t)count;
}

/* a float32 initializer over `data` (owned by the caller until packing) */
static int initializer(graph_b *g, const char *name, const float *data, const int64_t *dims, int ndims)
{
    Onnx__TensorProto *t = ar_alloc(g->a, sizeof *t);
    int64_t *d = ar_alloc(g->a, (size_t)ndims * sizeof *d);
    if (!t || !d)
        return -1;
    onnx__tensor_proto__init(t);
    size_t count = 1;
    for (int i = 0; i < ndims; i++)
        d[i] = dims[i], count *= (size_t)dims[i];
    t->dims = d;
    t->n_dims = (size_t)ndims;
    t->has_data_type = 1;
    t->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    t->name = ar_str(g->a, name);
    t->has_raw_data = 1;
    t->raw_data.data = (uint8_t *)data; /* little-endian float32, as ONNX stores raw_data */
    t->raw_data.len = count * sizeof(float);
    return push(g->a, (void ***)&g->inits, &g->ninits, &g->capinits, t);
}

/* a float tensor value_info with a symbolic batch dimension then dims[0..n) */
static Onnx__ValueInfoProto *value_info(arena *a, const char *name, const int *dims, int n)
{
    Onnx__ValueInfoProto *v = ar_alloc(a, sizeof *v);
    Onnx__TypeProto *tp = ar_alloc(a, sizeof *tp);
    Onnx__TypeProto__Tensor *tt = ar_alloc(a, sizeof *tt);
    Onnx__TensorShapeProto *sh = ar_alloc(a, sizeof *sh);
    Onnx__TensorShapeProto__Dimension **ds = ar_alloc(a, (size_t)(n + 1) * sizeof *ds);
    if (!v || !tp || !tt || !sh || !ds)
        return NULL;
    onnx__value_info_proto__init(v);
    onnx__type_proto__init(tp);
    onnx__type_proto__tensor__init(tt);
    onnx__tensor_shape_proto__init(sh);
    for (int i = 0; i <= n; i++) {
        ds[i] = ar_alloc(a, sizeof **ds);
        if (!ds[i])
            return NULL;
        onnx__tensor_shape_proto__dimension__init(ds[i]);
        if (i == 0) {
            ds[i]->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
            ds[i]->dim_param = ar_str(a, "batch");
        } else {
            ds[i]->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
            ds[i]->dim_value = dims[i - 1];
        }
    }
    sh->dim = ds;
    sh->n_dim = (size_t)n + 1;
    tt->has_elem_type = 1;
    tt->elem_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    tt->shape = sh;
    tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    tp->tensor_type = tt;
    v->name = ar_str(a, name);
    v->type = tp;
    return v;
}

static Onnx__StringStringEntryProto *prop(arena *a, const char *k, const char *v)
{
    Onnx__StringStringEntryProto *e = ar_alloc(a, sizeof *e);
    if (!e)
        return NULL;
    onnx__string_string_entry_proto__init(e);
    e->key = ar_str(a, k);
    e->value = ar_str(a, v);
    return e;
}

/* ---- public ---- */

onnx_meta onnx_meta_defaults(void)
{
    onnx_meta m;
    memset(&m, 0, sizeof m);
    m.version = 1;
    snprintf(m.name, sizeof m.name, "cairn-model");
    snprintf(m.producer, sizeof m.producer, "cairn");
#ifdef CAIRN_VERSION
    snprintf(m.producer_version, sizeof m.producer_version, "%s", CAIRN_VERSION);
#endif
    m.opset = 13;
    return m;
}

static void append(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(dst);
    if (n + 1 < cap)
        snprintf(dst + n, cap - n, "%s", src);
}

void onnx_meta_add_fit(onnx_meta *meta, nn_fit_options o, nn_history h)
{
    if (!meta)
        return;
    char buf[512];
    int last = h.epochs_run - 1;
    double tl = last >= 0 && h.train_loss.data ? h.train_loss.data[last] : NAN;
    double ta = last >= 0 && h.train_acc.data ? h.train_acc.data[last] : NAN;
    double vl = last >= 0 && h.val_loss.data ? h.val_loss.data[last] : NAN;
    double va = last >= 0 && h.val_acc.data ? h.val_acc.data[last] : NAN;
    snprintf(buf, sizeof buf,
             "%sfit: epochs %d (of %d), batch size %d, shuffle %d, validation split %g, schedule %d, "
             "augment shift %d flip %d, patience %d; train loss %.6g accuracy %.4f; validation loss %.6g "
             "accuracy %.4f; %.1f s; %s",
             meta->doc[0] ? "\n" : "", h.epochs_run, o.epochs, o.batch_size, o.shuffle, o.validation_split,
             o.schedule, o.augment_shift, o.augment_flip, o.patience, tl, ta, vl, va, h.seconds, h.message);
    append(meta->doc, sizeof meta->doc, buf);
}

static const char *loss_name(int loss)
{
    return loss == NN_LOSS_CROSS_ENTROPY ? "cross_entropy"
         : loss == NN_LOSS_BINARY_CROSS_ENTROPY ? "binary_cross_entropy"
         : loss == NN_LOSS_MSE ? "mse" : "none";
}

static const char *opt_name(int kind)
{
    return kind == NN_OPT_SGD ? "sgd" : kind == NN_OPT_RMSPROP ? "rmsprop" : kind == NN_OPT_ADAM ? "adam" : "?";
}

/* the model message for net; weights/state in floats (kept alive by the caller) */
static int build(arena *a, Onnx__ModelProto *model, nn_model *net, const onnx_meta *meta, float *w, float *st)
{
    graph_b g = {a, NULL, 0, 0, NULL, 0, 0};
    int nl = nn_layer_count(net), c0, h0, w0;
    nn_layer_shape(net, -1, &c0, &h0, &w0);
    int spatial = 0; /* does any layer need the N x C x H x W layout? */
    for (int i = 0; i < nl; i++) {
        const char *k = nn_layer_name(net, i);
        spatial |= !strcmp(k, "conv2d") || !strcmp(k, "maxpool") || !strcmp(k, "avgpool") || !strcmp(k, "global_avgpool");
    }
    int in_dims[3] = {c0, h0, w0};
    /* each layer's output tensor and whether it is N x C x H x W (else N x F); a layer that
     * exports as nothing (dropout, a flatten of what is flat) passes on its input's */
    char (*tname)[64] = ar_alloc(a, (size_t)(nl ? nl : 1) * sizeof *tname);
    int *trank4 = ar_alloc(a, (size_t)(nl ? nl : 1) * sizeof *trank4);
    if (!tname || !trank4)
        return -1;
    char cur[64], next[64], name[96], second[64];
    size_t poff = 0, soff = 0;
    for (int i = 0; i < nl; i++) {
        const char *k = nn_layer_name(net, i);
        if (!k)
            return -1;
        int ic, ih, iw, oc, oh, ow, ks, stride, pad, bias, src, src2;
        double rate;
        nn_layer_inputs(net, i, &src, &src2);
        nn_layer_shape(net, src, &ic, &ih, &iw);
        nn_layer_shape(net, i, &oc, &oh, &ow);
        nn_layer_config(net, i, &ks, &stride, &pad, &bias, &rate);
        int rank4 = src < 0 ? spatial || h0 > 1 || w0 > 1 : trank4[src];
        snprintf(cur, sizeof cur, "%s", src < 0 ? "input" : tname[src]);
        snprintf(tname[i], sizeof tname[i], "%s", cur);
        trank4[i] = rank4;
        if (!strcmp(k, "dropout"))
            continue; /* inference: identity */
        int flatten_first = !strcmp(k, "dense") && rank4; /* Gemm needs 2-D input: flatten N x C x 1 x 1 first */
        if (src2 != -2) { /* add/concat: both inputs of one rank (flatten an N x C x 1 x 1 one) */
            int rank4b = src2 < 0 ? spatial || h0 > 1 || w0 > 1 : trank4[src2];
            snprintf(second, sizeof second, "%s", src2 < 0 ? "input" : tname[src2]);
            if (rank4b && !rank4) {
                snprintf(next, sizeof next, "t%d_flat2", i);
                snprintf(name, sizeof name, "flatten_before_%s_%d", k, i);
                Onnx__NodeProto *n = node(&g, "Flatten", name, second, next, NULL, NULL);
                attr_int(&g, n, "axis", 1);
                snprintf(second, sizeof second, "%s", next);
            }
            flatten_first = rank4 && !rank4b;
        }
        if (flatten_first) {
            snprintf(next, sizeof next, "t%d_flat", i);
            snprintf(name, sizeof name, "flatten_before_%s_%d", k, i);
            Onnx__NodeProto *n = node(&g, "Flatten", name, cur, next, NULL, NULL);
            attr_int(&g, n, "axis", 1);
            snprintf(cur, sizeof cur, "%s", next);
            rank4 = 0;
        }
        if (!strcmp(k, "flatten") && !rank4) {
            snprintf(tname[i], sizeof tname[i], "%s", cur);
            trank4[i] = 0;
            continue; /* already flat */
        }
        snprintf(next, sizeof next, "t%d", i);
        snprintf(name, sizeof name, "%s_%d", k, i);
        Onnx__NodeProto *n = NULL;
        if (!strcmp(k, "add")) {
            n = node(&g, "Add", name, cur, next, second, NULL);
        } else if (!strcmp(k, "concat")) {
            n = node(&g, "Concat", name, cur, next, second, NULL);
            attr_int(&g, n, "axis", 1);
        } else if (!strcmp(k, "conv2d")) {
            char wn[64], bn[64];
            snprintf(wn, sizeof wn, "conv%d.weight", i);
            snprintf(bn, sizeof bn, "conv%d.bias", i);
            int64_t wd[4] = {oc, ic, ks, ks}, bd[1] = {oc};
            size_t nw = (size_t)oc * ic * ks * ks;
            if (initializer(&g, wn, w + poff, wd, 4))
                return -1;
            poff += nw;
            if (bias) {
                if (initializer(&g, bn, w + poff, bd, 1))
                    return -1;
                poff += (size_t)oc;
            }
            n = node(&g, "Conv", name, cur, next, wn, bias ? bn : NULL);
            attr_ints(&g, n, "kernel_shape", ks, 2);
            attr_ints(&g, n, "strides", stride, 2);
            attr_ints(&g, n, "pads", pad, 4);
            attr_ints(&g, n, "dilations", 1, 2);
            attr_int(&g, n, "group", 1);
        } else if (!strcmp(k, "maxpool") || !strcmp(k, "avgpool")) {
            n = node(&g, k[0] == 'm' ? "MaxPool" : "AveragePool", name, cur, next, NULL, NULL);
            attr_ints(&g, n, "kernel_shape", ks, 2);
            attr_ints(&g, n, "strides", stride, 2);
            attr_ints(&g, n, "pads", 0, 4);
        } else if (!strcmp(k, "global_avgpool")) {
            n = node(&g, "GlobalAveragePool", name, cur, next, NULL, NULL);
        } else if (!strcmp(k, "flatten")) {
            n = node(&g, "Flatten", name, cur, next, NULL, NULL);
            attr_int(&g, n, "axis", 1);
            rank4 = 0;
        } else if (!strcmp(k, "dense")) {
            char wn[64], bn[64];
            snprintf(wn, sizeof wn, "dense%d.weight", i);
            snprintf(bn, sizeof bn, "dense%d.bias", i);
            int in = ic * ih * iw;
            int64_t wd[2] = {oc, in}, bd[1] = {oc};
            if (initializer(&g, wn, w + poff, wd, 2))
                return -1;
            poff += (size_t)oc * in;
            if (initializer(&g, bn, w + poff, bd, 1))
                return -1;
            poff += (size_t)oc;
            n = node(&g, "Gemm", name, cur, next, wn, bn);
            attr_float(&g, n, "alpha", 1.0f);
            attr_float(&g, n, "beta", 1.0f);
            attr_int(&g, n, "transB", 1);
        } else if (!strcmp(k, "batchnorm")) {
            char sn[64], bn[64], mn[64], vn[64];
            snprintf(sn, sizeof sn, "bn%d.weight", i);
            snprintf(bn, sizeof bn, "bn%d.bias", i);
            snprintf(mn, sizeof mn, "bn%d.running_mean", i);
            snprintf(vn, sizeof vn, "bn%d.running_var", i);
            int64_t d[1] = {oc};
            if (initializer(&g, sn, w + poff, d, 1) || initializer(&g, bn, w + poff + oc, d, 1) ||
                initializer(&g, mn, st + soff, d, 1) || initializer(&g, vn, st + soff + oc, d, 1))
                return -1;
            poff += 2 * (size_t)oc;
            soff += 2 * (size_t)oc;
            n = node(&g, "BatchNormalization", name, cur, next, sn, bn);
            if (n) { /* five inputs: X, scale, B, mean, var */
                char **ins = ar_alloc(a, 5 * sizeof(char *));
                if (!ins)
                    return -1;
                memcpy(ins, n->input, 3 * sizeof(char *));
                ins[3] = ar_str(a, mn);
                ins[4] = ar_str(a, vn);
                n->input = ins;
                n->n_input = 5;
            }
            attr_float(&g, n, "epsilon", 1e-5f);
            attr_float(&g, n, "momentum", 0.9f);
        } else if (!strcmp(k, "relu")) {
            n = node(&g, "Relu", name, cur, next, NULL, NULL);
        } else if (!strcmp(k, "leaky_relu")) {
            n = node(&g, "LeakyRelu", name, cur, next, NULL, NULL);
            attr_float(&g, n, "alpha", (float)rate);
        } else if (!strcmp(k, "sigmoid")) {
            n = node(&g, "Sigmoid", name, cur, next, NULL, NULL);
        } else if (!strcmp(k, "tanh")) {
            n = node(&g, "Tanh", name, cur, next, NULL, NULL);
        } else if (!strcmp(k, "softmax")) {
            n = node(&g, "Softmax", name, cur, next, NULL, NULL);
            attr_int(&g, n, "axis", 1);
        } else {
            cairn_error(FN, "layer %d (%s) has no ONNX counterpart", i, k);
            return -1;
        }
        if (!n)
            return -1;
        snprintf(tname[i], sizeof tname[i], "%s", next);
        trank4[i] = rank4 && strcmp(k, "flatten") && strcmp(k, "dense");
    }
    const char *last = nl ? tname[nl - 1] : "input";
    if (g.nnodes == 0 || strcmp(g.nodes[g.nnodes - 1]->output[0], last)) {
        /* no node at all (only dropout), or the output is an earlier tensor that others read:
         * an Identity gives it the output's name */
        if (!node(&g, "Identity", "identity", last, "output", NULL, NULL))
            return -1;
    }
    g.nodes[g.nnodes - 1]->output[0] = ar_str(a, "output"); /* the last node writes the graph output */
    int oc, oh, ow;
    nn_layer_shape(net, nl - 1, &oc, &oh, &ow);
    int out_dims[3] = {oc, oh, ow};

    Onnx__GraphProto *gr = ar_alloc(a, sizeof *gr);
    Onnx__ValueInfoProto **ins = ar_alloc(a, sizeof *ins), **outs = ar_alloc(a, sizeof *outs);
    Onnx__OperatorSetIdProto *ops = ar_alloc(a, sizeof *ops), **opl = ar_alloc(a, sizeof *opl);
    Onnx__StringStringEntryProto **props = ar_alloc(a, 8 * sizeof *props);
    if (!gr || !ins || !outs || !ops || !opl || !props || a->failed)
        return -1;
    onnx__graph_proto__init(gr);
    int in_rank4 = spatial || h0 > 1 || w0 > 1;
    ins[0] = value_info(a, "input", in_dims, in_rank4 ? 3 : 1);
    outs[0] = value_info(a, "output", out_dims, (nl ? trank4[nl - 1] : spatial || h0 > 1 || w0 > 1) ? 3 : 1);
    if (!ins[0] || !outs[0])
        return -1;
    gr->name = ar_str(a, meta->name[0] ? meta->name : "cairn-model");
    gr->node = g.nodes, gr->n_node = g.nnodes;
    gr->initializer = g.inits, gr->n_initializer = g.ninits;
    gr->input = ins, gr->n_input = 1;
    gr->output = outs, gr->n_output = 1;

    onnx__operator_set_id_proto__init(ops);
    ops->domain = ar_str(a, "");
    ops->has_version = 1;
    ops->version = meta->opset;
    opl[0] = ops;

    onnx__model_proto__init(model);
    model->has_ir_version = 1;
    model->ir_version = 8;
    model->opset_import = opl, model->n_opset_import = 1;
    model->producer_name = ar_str(a, meta->producer[0] ? meta->producer : "cairn");
    model->producer_version = ar_str(a, meta->producer_version);
    model->domain = ar_str(a, "cairn");
    model->has_model_version = 1;
    model->model_version = meta->version;
    model->graph = gr;

    int loss = 0;
    long steps = 0;
    uint64_t seed = 0;
    nn_optimizer o;
    memset(&o, 0, sizeof o);
    nn_training_config(net, &loss, &o, &steps, &seed);
    char doc[sizeof meta->doc + 512];
    snprintf(doc, sizeof doc,
             "%s%scairn network: %d layers, %ld parameters; loss %s; optimizer %s (lr %g, momentum %g, betas %g/%g, "
             "weight decay %g); %ld optimizer steps; seed %llu",
             meta->doc, meta->doc[0] ? "\n" : "", nl, nn_param_count(net), loss_name(loss), opt_name(o.kind), o.lr,
             o.momentum, o.beta1, o.beta2, o.weight_decay, steps, (unsigned long long)seed);
    model->doc_string = ar_str(a, doc);

    char shape[64];
    snprintf(shape, sizeof shape, "%d,%d,%d", c0, h0, w0);
    size_t np = 0;
    props[np++] = prop(a, "input_shape", shape);
    props[np++] = prop(a, "loss", loss_name(loss));
    if (meta->classes[0])
        props[np++] = prop(a, "classes", meta->classes);
    if (meta->normalisation[0])
        props[np++] = prop(a, "normalisation", meta->normalisation);
    model->metadata_props = props;
    model->n_metadata_props = np;
    return a->failed ? -1 : 0;
}

int onnx_export(nn_model *net, const char *path, onnx_meta meta)
{
    if (!net || !path) {
        cairn_error(FN, "needs a model and a path");
        return -1;
    }
    if (nn_layer_count(net) == 0) {
        cairn_error(FN, "the network has no layers");
        return -1;
    }
    if (meta.opset < 13 || meta.opset > ONNX_MAX_OPSET) {
        cairn_error(FN, "opset %d is not supported for export (13..%d)", meta.opset, ONNX_MAX_OPSET);
        return -1;
    }
    if (meta.version < 1) {
        cairn_error(FN, "model version %lld must be >= 1", (long long)meta.version);
        return -1;
    }
    meta.name[sizeof meta.name - 1] = meta.producer[sizeof meta.producer - 1] = 0;
    meta.producer_version[sizeof meta.producer_version - 1] = meta.classes[sizeof meta.classes - 1] = 0;
    meta.normalisation[sizeof meta.normalisation - 1] = meta.doc[sizeof meta.doc - 1] = 0;

    long np = nn_param_count(net);
    mat p = np ? nn_params(net) : mat_empty(), s = nn_state(net);
    size_t ns = mat_is_empty(s) ? 0 : (size_t)s.cols;
    float *w = cairn_alloc((size_t)(np ? np : 1) * sizeof(float)), *st = cairn_alloc((ns ? ns : 1) * sizeof(float));
    int rc = -1;
    arena a = {NULL, 0, 0, 0};
    uint8_t *buf = NULL;
    if (!w || !st || (np && mat_is_empty(p))) {
        cairn_error(FN, "out of memory for %ld parameters", np);
        goto done;
    }
    for (long i = 0; i < np; i++)
        w[i] = (float)p.data[i];
    for (size_t i = 0; i < ns; i++)
        st[i] = (float)s.data[i];
    Onnx__ModelProto model;
    if (build(&a, &model, net, &meta, w, st)) {
        if (a.failed)
            cairn_error(FN, "out of memory building the ONNX message");
        goto done;
    }
    size_t len = onnx__model_proto__get_packed_size(&model);
    buf = cairn_alloc(len ? len : 1);
    if (!buf) {
        cairn_error(FN, "out of memory for the %zu-byte ONNX file", len);
        goto done;
    }
    onnx__model_proto__pack(&model, buf);
    FILE *f = fopen(path, "wb");
    if (!f) {
        cairn_error(FN, "cannot create %s: %s", path, strerror(errno));
        goto done;
    }
    size_t put = fwrite(buf, 1, len, f);
    if (fclose(f) != 0 || put != len) {
        cairn_error(FN, "cannot write %s (%zu of %zu bytes): %s", path, put, len, strerror(errno));
        goto done;
    }
    rc = 0;
done:
    ar_free(&a);
    cairn_free(buf);
    cairn_free(w);
    cairn_free(st);
    mat_free(&p);
    mat_free(&s);
    return rc;
}
