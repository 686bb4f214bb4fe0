/* test_onnx.c — ONNX import and export. PyTorch models exported by torch.onnx.export
 * (tests/fixtures/gen_onnx_fixtures.py: a CNN with batch norm and the Shape/Gather/Concat/
 * Reshape flatten ladder, an MLP ending in Softmax, x @ W + b as MatMul+Add, a logistic
 * regression) give PyTorch's own outputs on Fashion-MNIST test images within 1e-4 and work
 * with predict/evaluate/summary/feature maps; cairn networks of every layer kind exported
 * and imported back predict identically and keep version and metadata; onnx_reload swaps
 * only a newer, shape-compatible model; unsupported operators, opsets, data types and
 * branches are errors naming them; every truncation and thousands of random byte flips of
 * a model file give an error or a working model, never a crash (run under ASan/UBSan by
 * tests/run.sh). */
#include "cairn.h"
#include "check.h"

#include <math.h>
#include <string.h>
#include <unistd.h>

#define FASHION "/usr/share/datasets/fashion-mnist/"
#define NREF 500

static char tmpdir[256];

static const char *tmp(const char *name)
{
    static char path[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(path[k], sizeof path[k], "%s/%s", tmpdir, name);
    return path[k];
}

static int has(const char *text) { return strstr(cairn_last_error(), text) != NULL; }

static double max_rel_diff(mat a, mat b)
{
    if (a.rows != b.rows || a.cols != b.cols)
        return INFINITY;
    double d = 0;
    for (int i = 0; i < a.rows; i++)
        for (int j = 0; j < a.cols; j++) {
            double r = *mat_ptr(b, i, j);
            d = fmax(d, fabs(*mat_ptr(a, i, j) - r) / fmax(1.0, fabs(r)));
        }
    return d;
}

static mat test_images(void)
{
    mat all = idx_read(FASHION "t10k-images-idx3-ubyte.gz");
    mat X = mat_copy(mat_row_range(all, 0, NREF));
    mat_free(&all);
    mat_scale_inplace(X, 1.0 / 255);
    return X;
}

static mat test_labels(void)
{
    mat all = idx_read(FASHION "t10k-labels-idx1-ubyte.gz");
    mat y = mat_copy(mat_row_range(all, 0, NREF));
    mat_free(&all);
    return y;
}

static int argmax_row(mat a, int i)
{
    int best = 0;
    for (int j = 1; j < a.cols; j++)
        if (*mat_ptr(a, i, j) > *mat_ptr(a, i, best))
            best = j;
    return best;
}

static void test_torch_cnn(mat X, mat y)
{
    onnx_meta meta;
    nn_model *net = onnx_import(FIXTURES_DIR "/onnx_torch_cnn.onnx", &meta);
    CHECK(net != NULL);
    if (!net) {
        fprintf(stderr, "import failed: %s\n", cairn_last_error());
        return;
    }
    CHECK(!strcmp(meta.producer, "pytorch"));
    CHECK(meta.opset == 13);
    CHECK(meta.channels == 1 && meta.height == 28 && meta.width == 28);
    /* conv relu bn maxpool conv tanh avgpool flatten dense bn leaky dense */
    static const char *kinds[] = {"conv2d", "relu", "batchnorm", "maxpool", "conv2d", "tanh", "avgpool",
                                  "flatten", "dense", "batchnorm", "leaky_relu", "dense"};
    CHECK(nn_layer_count(net) == 12);
    for (int i = 0; i < 12 && i < nn_layer_count(net); i++)
        CHECK(!strcmp(nn_layer_name(net, i), kinds[i]));
    CHECK(nn_param_count(net) == 8 * 9 + 8 + 16 + 16 * 8 * 9 + 16 + 576 * 64 + 64 + 128 + 64 * 10 + 10);
    mat ref = npy_read(FIXTURES_DIR "/onnx_torch_cnn_logits.npy");
    mat z = nn_forward(net, X);
    double d = max_rel_diff(z, ref);
    printf("torch CNN: max |cairn - torch| / max(1, |torch|) = %.3g over %d x %d logits\n", d, z.rows, z.cols);
    CHECK(d <= 1e-4);
    /* predict, evaluate, summary and feature maps accept the imported network */
    mat p = nn_predict(net, X);
    int same = 0;
    for (int i = 0; i < NREF; i++)
        same += (int)*mat_ptr(p, i, 0) == argmax_row(ref, i);
    CHECK(same == NREF);
    nn_eval e = nn_evaluate(net, X, y);
    int right = 0;
    for (int i = 0; i < NREF; i++)
        right += argmax_row(ref, i) == (int)*mat_ptr(y, i, 0);
    CHECK_NEAR(e.accuracy, (double)right / NREF, 1e-12);
    const char *s = nn_summary_text(net);
    CHECK(s && strstr(s, "conv2d") && strstr(s, "batchnorm"));
    mat fm = nn_feature_maps(net, 3, X, 0);
    CHECK(fm.rows == 1 && fm.cols == 8 * 14 * 14 && fm.channels == 8 && fm.height == 14);
    nn_eval_free(&e);
    mat_free(&fm);
    mat_free(&p);
    mat_free(&z);
    mat_free(&ref);
    nn_model_free(net);
}

static void test_torch_small(mat X)
{
    struct {
        const char *file, *ref;
        int layers;
    } cases[] = {{"onnx_torch_mlp.onnx", "onnx_torch_mlp_proba.npy", 5},
                 {"onnx_torch_matmul.onnx", "onnx_torch_matmul_logits.npy", 2},
                 {"onnx_torch_logreg.onnx", "onnx_torch_logreg_proba.npy", 2}};
    for (int c = 0; c < 3; c++) {
        char path[512], rpath[512];
        snprintf(path, sizeof path, "%s/%s", FIXTURES_DIR, cases[c].file);
        snprintf(rpath, sizeof rpath, "%s/%s", FIXTURES_DIR, cases[c].ref);
        nn_model *net = onnx_import(path, NULL);
        CHECK(net != NULL);
        if (!net) {
            fprintf(stderr, "%s: %s\n", cases[c].file, cairn_last_error());
            continue;
        }
        CHECK(nn_layer_count(net) == cases[c].layers);
        mat in = mat_copy(X);
        if (c == 2) /* the logistic regression takes flat rows of 784 */
            mat_set_image_shape(&in, 784, 1, 1);
        mat ref = npy_read(rpath), z = nn_forward(net, in);
        double d = max_rel_diff(z, ref);
        printf("%s: max relative difference to torch %.3g\n", cases[c].file, d);
        CHECK(d <= 1e-4);
        if (c == 2) { /* one sigmoid output: binary cross-entropy, predict thresholds at 0.5 */
            mat p = nn_predict(net, in);
            int agree = 0;
            for (int i = 0; i < NREF; i++)
                agree += (*mat_ptr(p, i, 0) > 0.5) == (*mat_ptr(ref, i, 0) > 0.5);
            CHECK(agree == NREF);
            mat_free(&p);
        }
        mat_free(&z);
        mat_free(&ref);
        mat_free(&in);
        nn_model_free(net);
    }
}

static mat images(int n, int c, int h, int w, uint64_t seed)
{
    rng_seed(seed);
    mat X = mat_rand(n, c * h * w);
    mat_set_image_shape(&X, c, h, w);
    return X;
}

/* a trained network with every layer kind cairn exports */
static nn_model *every_layer_net(mat X, mat y, nn_history *h, nn_fit_options *o)
{
    nn_model *net = nn_model_new(2, 12, 12, 7);
    nn_conv2d(net, 4, 3, 1, 1, 1);
    nn_batchnorm(net);
    nn_relu(net);
    nn_maxpool(net, 2, 2);
    nn_conv2d(net, 6, 3, 2, 1, 0);
    nn_leaky_relu(net, 0.05);
    nn_avgpool(net, 2, 1);
    nn_dropout(net, 0.25);
    nn_flatten(net);
    nn_dense(net, 16);
    nn_batchnorm(net);
    nn_tanh(net);
    nn_dense(net, 8);
    nn_sigmoid(net);
    nn_dense(net, 3);
    nn_softmax(net);
    nn_compile(net, NN_LOSS_CROSS_ENTROPY, nn_adam(1e-2));
    *o = nn_fit_defaults();
    o->epochs = 2;
    o->batch_size = 16;
    o->verbose = 0;
    *h = nn_fit(net, X, y, *o);
    return net;
}

/* a display sink that keeps the last text/html and text/plain of onnx_info */
static char shown_html[8192], shown_text[8192];

static void keep(char *dst, size_t cap, const display_part *p)
{
    size_t n = p->size < cap - 1 ? p->size : cap - 1;
    memcpy(dst, p->data, n);
    dst[n] = 0;
}

static void sink(int kind, const display_part *parts, int nparts, const char *id, int wait)
{
    (void)kind, (void)id, (void)wait;
    for (int i = 0; i < nparts; i++) {
        if (!strcmp(parts[i].mime, "text/html"))
            keep(shown_html, sizeof shown_html, &parts[i]);
        else if (!strcmp(parts[i].mime, "text/plain"))
            keep(shown_text, sizeof shown_text, &parts[i]);
    }
}

static void test_roundtrip(void)
{
    mat X = images(64, 2, 12, 12, 3), y = mat_alloc(64, 1);
    for (int i = 0; i < 64; i++)
        *mat_ptr(y, i, 0) = i % 3;
    nn_history h;
    nn_fit_options o;
    nn_model *net = every_layer_net(X, y, &h, &o);
    onnx_meta m = onnx_meta_defaults();
    m.version = 3;
    snprintf(m.name, sizeof m.name, "shapes");
    snprintf(m.classes, sizeof m.classes, "circle,square,triangle");
    snprintf(m.normalisation, sizeof m.normalisation, "uniform [0, 1)");
    onnx_meta_add_fit(&m, o, h);
    CHECK(strstr(m.doc, "epochs 2 (of 2), batch size 16") != NULL);
    CHECK(onnx_export(net, tmp("every.onnx"), m) == 0);
    onnx_meta back;
    nn_model *net2 = onnx_import(tmp("every.onnx"), &back);
    CHECK(net2 != NULL);
    if (net2) {
        CHECK(nn_layer_count(net2) == nn_layer_count(net) - 1); /* dropout left out */
        for (int i = 0, j = 0; i < nn_layer_count(net); i++) {
            if (!strcmp(nn_layer_name(net, i), "dropout"))
                continue;
            CHECK(!strcmp(nn_layer_name(net, i), nn_layer_name(net2, j)));
            j++;
        }
        CHECK(nn_param_count(net2) == nn_param_count(net));
        mat a = nn_forward(net, X), b = nn_forward(net2, X), pa = nn_predict(net, X), pb = nn_predict(net2, X);
        CHECK(max_rel_diff(a, b) == 0); /* same float32 weights, same kernels: identical */
        CHECK(max_rel_diff(pa, pb) == 0);
        mat s1 = nn_state(net), s2 = nn_state(net2);
        CHECK(max_rel_diff(s1, s2) <= 1e-7);
        CHECK(back.version == 3);
        CHECK(!strcmp(back.name, "shapes") && !strcmp(back.producer, "cairn"));
        CHECK(!strcmp(back.classes, "circle,square,triangle"));
        CHECK(!strcmp(back.normalisation, "uniform [0, 1)"));
        CHECK(strstr(back.doc, "batch size 16") && strstr(back.doc, "optimizer adam (lr 0.01"));
        CHECK(back.channels == 2 && back.height == 12 && back.width == 12 && back.opset == 13);
        mat_free(&a), mat_free(&b), mat_free(&pa), mat_free(&pb), mat_free(&s1), mat_free(&s2);
    }
    /* export -> import -> export gives the same file */
    if (net2) {
        onnx_meta again = back;
        CHECK(onnx_export(net2, tmp("every2.onnx"), again) == 0);
        nn_model *net3 = onnx_import(tmp("every2.onnx"), NULL);
        mat a = nn_forward(net, X), c = nn_forward(net3, X);
        CHECK(max_rel_diff(a, c) == 0);
        mat_free(&a), mat_free(&c);
        nn_model_free(net3);
    }
    const char *info = onnx_info_text(tmp("every.onnx"));
    CHECK(info != NULL);
    if (info) {
        CHECK(strstr(info, "input: input FLOAT [batch, 2, 12, 12]") != NULL);
        CHECK(strstr(info, "output: output FLOAT [batch, 3]") != NULL);
        CHECK(strstr(info, "Conv x2") && strstr(info, "BatchNormalization x2") && strstr(info, "Gemm x3"));
        CHECK(strstr(info, "Dropout") == NULL);
        char want[64];
        snprintf(want, sizeof want, "parameters: %ld in", nn_param_count(net) + 2 * (4 + 16)); /* + BN statistics */
        CHECK(strstr(info, want) != NULL);
        CHECK(strstr(info, "model version 3") && strstr(info, "metadata classes: circle,square,triangle"));
    }
    display_set_sink(sink); /* in a notebook: an HTML table with a text/plain fallback */
    onnx_info(tmp("every.onnx"));
    display_set_sink(NULL);
    CHECK(strstr(shown_html, "<table>") && strstr(shown_html, "Conv &times;2") &&
          strstr(shown_html, "<code>input</code> FLOAT [batch, 2, 12, 12]"));
    CHECK(strstr(shown_html, "circle,square,triangle") && strstr(shown_html, "<th style=\"text-align:left\">parameters</th>"));
    CHECK(strstr(shown_text, "operators (15 nodes)") != NULL);
    nn_history_free(&h);
    nn_model_free(net);
    nn_model_free(net2);
    mat_free(&X);
    mat_free(&y);
}

static void test_roundtrip_shapes(void)
{
    /* global average pooling then dense (a Flatten is inserted), and a flat BCE network */
    mat X = images(10, 3, 8, 8, 4);
    nn_model *g = nn_model_new(3, 8, 8, 1);
    nn_conv2d(g, 5, 3, 1, 0, 1);
    nn_relu(g);
    nn_global_avgpool(g);
    nn_dense(g, 4);
    nn_compile(g, NN_LOSS_CROSS_ENTROPY, nn_sgd(0.1, 0));
    CHECK(onnx_export(g, tmp("gap.onnx"), onnx_meta_defaults()) == 0);
    nn_model *g2 = onnx_import(tmp("gap.onnx"), NULL);
    CHECK(g2 != NULL);
    if (g2) {
        mat a = nn_forward(g, X), b = nn_forward(g2, X);
        CHECK(max_rel_diff(a, b) == 0);
        mat_free(&a), mat_free(&b);
    }
    mat F = mat_rand(10, 20);
    nn_model *f = nn_model_new(20, 1, 1, 2);
    nn_dense(f, 6);
    nn_relu(f);
    nn_dense(f, 1);
    nn_sigmoid(f);
    nn_compile(f, NN_LOSS_BINARY_CROSS_ENTROPY, nn_sgd(0.1, 0));
    onnx_meta m = onnx_meta_defaults();
    m.opset = 17;
    CHECK(onnx_export(f, tmp("flat.onnx"), m) == 0);
    onnx_meta back;
    nn_model *f2 = onnx_import(tmp("flat.onnx"), &back);
    CHECK(f2 != NULL && back.opset == 17 && back.channels == 20 && back.height == 1);
    if (f2) {
        mat a = nn_predict(f, F), b = nn_predict(f2, F), pa = nn_forward(f, F), pb = nn_forward(f2, F);
        CHECK(max_rel_diff(a, b) == 0 && max_rel_diff(pa, pb) == 0);
        mat_free(&a), mat_free(&b), mat_free(&pa), mat_free(&pb);
    }
    const char *info = onnx_info_text(tmp("flat.onnx"));
    CHECK(info && strstr(info, "input: input FLOAT [batch, 20]"));
    /* export errors */
    m.opset = 12;
    CHECK(onnx_export(f, tmp("x.onnx"), m) == -1 && has("opset 12"));
    m = onnx_meta_defaults();
    m.version = 0;
    CHECK(onnx_export(f, tmp("x.onnx"), m) == -1 && has("version"));
    CHECK(onnx_export(f, "/nonexistent-dir/x.onnx", onnx_meta_defaults()) == -1 && has("cannot create"));
    nn_model *empty = nn_model_new(1, 2, 2, 1);
    CHECK(onnx_export(empty, tmp("x.onnx"), onnx_meta_defaults()) == -1 && has("no layers"));
    nn_model_free(empty);
    nn_model_free(g), nn_model_free(g2), nn_model_free(f), nn_model_free(f2);
    mat_free(&X), mat_free(&F);
}

static void test_reload(void)
{
    mat X = images(20, 1, 6, 6, 9);
    nn_model *a = nn_model_new(1, 6, 6, 1), *b = nn_model_new(1, 6, 6, 2), *c = nn_model_new(1, 5, 5, 3);
    nn_model *nets[3] = {a, b, c};
    for (int i = 0; i < 3; i++) {
        nn_flatten(nets[i]);
        nn_dense(nets[i], 4);
        nn_compile(nets[i], NN_LOSS_CROSS_ENTROPY, nn_sgd(0.1, 0));
    }
    onnx_meta m = onnx_meta_defaults();
    snprintf(m.name, sizeof m.name, "served");
    m.version = 1;
    onnx_export(a, tmp("v1.onnx"), m);
    m.version = 2;
    onnx_export(b, tmp("v2.onnx"), m);
    onnx_export(c, tmp("v3_other_shape.onnx"), (m.version = 3, m));
    onnx_meta live;
    nn_model *served = onnx_import(tmp("v1.onnx"), &live);
    CHECK(served && live.version == 1);
    nn_model *before = served;
    CHECK(onnx_reload(&served, &live, tmp("v2.onnx")) == 1);
    CHECK(live.version == 2 && served != before);
    mat pb = nn_forward(b, X), ps = nn_forward(served, X);
    CHECK(max_rel_diff(pb, ps) == 0); /* version 2's weights are live */
    before = served;
    CHECK(onnx_reload(&served, &live, tmp("v1.onnx")) == 0); /* older: kept */
    CHECK(live.version == 2 && served == before);
    CHECK(onnx_reload(&served, &live, tmp("v3_other_shape.onnx")) == -1 && has("not replaced"));
    CHECK(live.version == 2 && served == before);
    CHECK(onnx_reload(&served, &live, tmp("missing.onnx")) == -1 && has("version 2 stays live"));
    mat ps2 = nn_forward(served, X);
    CHECK(max_rel_diff(pb, ps2) == 0);
    mat_free(&pb), mat_free(&ps), mat_free(&ps2), mat_free(&X);
    nn_model_free(a), nn_model_free(b), nn_model_free(c), nn_model_free(served);
}

/* graphs: PyTorch's residual network (skip connection, concat of a side branch) against
 * PyTorch's logits; relu(x) + x built by hand; a cairn graph exported and imported back */
static void test_graph(mat X, mat y)
{
    nn_model *net = onnx_import(FIXTURES_DIR "/onnx_torch_graph.onnx", NULL);
    CHECK(net != NULL);
    if (!net) {
        fprintf(stderr, "import failed: %s\n", cairn_last_error());
        return;
    }
    /* conv relu maxpool | conv relu conv | add(maxpool, conv) relu | conv(1x1) tanh | concat avgpool flatten dense */
    static const char *kinds[] = {"conv2d", "relu", "maxpool", "conv2d", "relu", "conv2d", "add", "relu",
                                  "conv2d", "tanh", "concat", "avgpool", "flatten", "dense"};
    CHECK(nn_layer_count(net) == 14);
    for (int i = 0; i < 14 && i < nn_layer_count(net); i++)
        CHECK(!strcmp(nn_layer_name(net, i), kinds[i]));
    int from, from2, c, h, w;
    CHECK(nn_layer_inputs(net, 6, &from, &from2) == 0 && from == 2 && from2 == 5);  /* maxpool + res2 */
    CHECK(nn_layer_inputs(net, 8, &from, &from2) == 0 && from == 7 && from2 == -2); /* side conv on the trunk */
    CHECK(nn_layer_inputs(net, 10, &from, &from2) == 0 && from == 7 && from2 == 9); /* concat(trunk, tanh) */
    CHECK(nn_layer_shape(net, 10, &c, &h, &w) == 12 * 14 * 14 && c == 12);
    mat ref = npy_read(FIXTURES_DIR "/onnx_torch_graph_logits.npy"), z = nn_forward(net, X);
    double d = max_rel_diff(z, ref);
    printf("torch graph (skip connection, concat): max |cairn - torch| / max(1, |torch|) = %.3g over %d x %d logits\n",
           d, z.rows, z.cols);
    CHECK(d <= 1e-4);
    mat p = nn_predict(net, X);
    int same = 0;
    for (int i = 0; i < NREF; i++)
        same += (int)*mat_ptr(p, i, 0) == argmax_row(ref, i);
    CHECK(same == NREF);
    nn_eval e = nn_evaluate(net, X, y);
    CHECK(e.accuracy > 0.6);
    const char *s = nn_summary_text(net);
    int shows = s && strstr(s, "add (2 + 5)") && strstr(s, "concat (7, 9)") && !strstr(s, "from");
    CHECK(shows);
    if (!shows)
        fprintf(stderr, "%s\n", s ? s : "(no summary)");
    /* exported by cairn and imported again: the same graph, the same logits */
    CHECK(onnx_export(net, tmp("graph.onnx"), onnx_meta_defaults()) == 0);
    nn_model *back = onnx_import(tmp("graph.onnx"), NULL);
    CHECK(back && nn_layer_count(back) == 14);
    if (back) {
        CHECK(nn_layer_inputs(back, 10, &from, &from2) == 0 && from == 7 && from2 == 9);
        mat z2 = nn_forward(back, X);
        CHECK(max_rel_diff(z, z2) == 0);
        mat_free(&z2);
    }
    nn_eval_free(&e);
    mat_free(&p), mat_free(&z), mat_free(&ref);
    nn_model_free(net), nn_model_free(back);

    /* relu(x) + x, the skip connection once refused */
    nn_model *skip = onnx_import(FIXTURES_DIR "/onnx_bad_branch.onnx", NULL);
    CHECK(skip && nn_layer_count(skip) == 2);
    if (skip) {
        mat few = mat_row_range(X, 0, 3), o = nn_forward(skip, few);
        double worst = 0;
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 784; j++) {
                double x = *mat_ptr(few, i, j);
                worst = fmax(worst, fabs(*mat_ptr(o, i, j) - (fmax(x, 0) + x)));
            }
        CHECK(o.rows == 3 && o.cols == 784 && worst < 1e-6);
        mat shifted = mat_copy(few); /* negative values too */
        for (int k = 0; k < shifted.rows * shifted.cols; k++)
            shifted.data[k] -= 0.5;
        mat o2 = nn_forward(skip, shifted);
        worst = 0;
        for (int k = 0; k < shifted.rows * shifted.cols; k++)
            worst = fmax(worst, fabs(o2.data[k] - (fmax(shifted.data[k], 0) + shifted.data[k])));
        CHECK(worst < 1e-6);
        mat_free(&o), mat_free(&o2), mat_free(&shifted);
    }
    nn_model_free(skip);
}

static void test_errors(void)
{
    CHECK(onnx_import(FIXTURES_DIR "/onnx_bad_op.onnx", NULL) == NULL && has("operator LRN") && has("'lrn'"));
    CHECK(onnx_import(FIXTURES_DIR "/onnx_bad_opset.onnx", NULL) == NULL && has("opset 99") && has("7..17"));
    CHECK(onnx_import(FIXTURES_DIR "/onnx_bad_dtype.onnx", NULL) == NULL && has("INT8"));
    CHECK(onnx_import(FIXTURES_DIR "/onnx_bad_concat.onnx", NULL) == NULL && has("cat_h") && has("axis 1"));
    CHECK(onnx_import(tmp("nothing-here.onnx"), NULL) == NULL && has("cannot open"));
    FILE *f = fopen(tmp("empty.onnx"), "wb");
    fclose(f);
    CHECK(onnx_import(tmp("empty.onnx"), NULL) == NULL && has("0 bytes"));
    f = fopen(tmp("text.onnx"), "wb");
    fputs("this is not a protobuf message at all\n", f);
    fclose(f);
    CHECK(onnx_import(tmp("text.onnx"), NULL) == NULL && has("not a valid ONNX model"));
    CHECK(onnx_info_text(tmp("text.onnx")) == NULL);
    /* onnx_info lists files the importer refuses */
    const char *info = onnx_info_text(FIXTURES_DIR "/onnx_bad_op.onnx");
    CHECK(info && strstr(info, "LRN x1") && strstr(info, "parameters: 36 in 1"));
}

static unsigned char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc((size_t)size);
    *n = fread(b, 1, (size_t)size, f);
    fclose(f);
    return b;
}

static void spit(const char *path, const unsigned char *b, size_t n)
{
    FILE *f = fopen(path, "wb");
    fwrite(b, 1, n, f);
    fclose(f);
}

/* an import that succeeds must give a network that runs */
static int try_import(const char *path, mat X)
{
    nn_model *net = onnx_import(path, NULL);
    if (!net)
        return 0;
    if (X.cols == nn_layer_shape(net, -1, NULL, NULL, NULL)) {
        mat z = nn_forward(net, X);
        mat_free(&z);
    }
    nn_model_free(net);
    return 1;
}

static void test_fuzz(void)
{
    const char *files[2] = {tmp("every.onnx"), FIXTURES_DIR "/onnx_torch_cnn.onnx"};
    mat Xs[2] = {images(3, 2, 12, 12, 5), images(3, 1, 28, 28, 6)};
    for (int fi = 0; fi < 2; fi++) {
        size_t n = 0;
        unsigned char *orig = slurp(files[fi], &n), *b = malloc(n);
        CHECK(orig && n > 100);
        if (!orig)
            continue;
        const char *path = tmp("fuzz.onnx");
        int ok = 0, tries = 0;
        size_t step = n / 1000 + 1;
        for (size_t len = 0; len < n; len += step, tries++) { /* every truncation (or 1000 of them) */
            spit(path, orig, len);
            ok += try_import(path, Xs[fi]);
        }
        printf("%s: %d truncations, %d imported anyway (cut after the last weights), none crashed\n", files[fi], tries,
               ok);
        CHECK(ok < tries / 10 + 2);
        rng_seed(1234 + (uint64_t)fi);
        int flipped_ok = 0, rounds = fi ? 400 : 1600;
        for (int r = 0; r < rounds; r++) { /* 1-8 random bytes replaced by random values */
            memcpy(b, orig, n);
            int k = 1 + (int)(rng_uniform() * 8);
            for (int j = 0; j < k; j++)
                b[(size_t)(rng_uniform() * (double)n) % n] = (unsigned char)(rng_uniform() * 256);
            spit(path, b, n);
            flipped_ok += try_import(path, Xs[fi]);
        }
        printf("%s: %d random corruptions, %d still imported (flips inside weights), none crashed\n", files[fi], rounds,
               flipped_ok);
        free(orig);
        free(b);
    }
    mat_free(&Xs[0]), mat_free(&Xs[1]);
}

int main(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/cairn_test_onnx_XXXXXX");
    if (!mkdtemp(tmpdir))
        return 1;
    char cmd[300];
    mat X = test_images(), y = test_labels();
    test_torch_cnn(X, y);
    test_torch_small(X);
    test_graph(X, y);
    test_roundtrip();
    test_roundtrip_shapes();
    test_reload();
    test_errors();
    test_fuzz();
    mat_free(&X), mat_free(&y);
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    if (system(cmd) != 0)
        return 1;
    return check_summary("test_onnx");
}
