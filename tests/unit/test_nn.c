/* test_nn.c — the float32 network runtime: convolution forward against a direct
 * convolution, first optimizer steps against their closed forms (SGD, momentum, weight
 * decay, RMSprop, Adam), a tiny network overfitting a small batch to 100 %, seeded
 * training reproducible bit for bit, schedules, early stopping restoring the best
 * epoch, interrupt and NaN stops keeping a usable model, save/load round trip and its
 * errors, .npy export, feature maps, predictions and evaluation identities, and the
 * build-time and fit-time errors naming layers and shapes. */
#include "cairn.h"
#include "check.h"

#include <math.h>
#include <string.h>
#include <unistd.h>

static mat images(int n, int c, int h, int w, uint64_t seed)
{
    rng_seed(seed);
    mat X = mat_rand(n, c * h * w);
    mat_set_image_shape(&X, c, h, w);
    return X;
}

static nn_fit_options quiet(int epochs, int batch)
{
    nn_fit_options o = nn_fit_defaults();
    o.epochs = epochs;
    o.batch_size = batch;
    o.verbose = 0;
    return o;
}

static int has(const char *text) { return strstr(cairn_last_error(), text) != NULL; }

static double max_abs_diff(mat a, mat b)
{
    if (a.rows != b.rows || a.cols != b.cols)
        return INFINITY;
    double d = 0;
    for (int i = 0; i < a.rows; i++)
        for (int j = 0; j < a.cols; j++)
            d = fmax(d, fabs(*mat_ptr(a, i, j) - *mat_ptr(b, i, j)));
    return d;
}

void nn_gemm_use_blas(int on);   /* runtime/nn internals: compare the conv kernels with cblas_sgemm, */
void nn_parallel_enable(int on); /* and the two-thread split with one thread */

/* a batch big enough for the two-thread split gives bit for bit the serial result */
static void test_parallel_identical(void)
{
    mat X = images(64, 1, 28, 28, 13), y = mat_alloc(64, 1);
    for (int i = 0; i < 64; i++)
        y.data[i] = i % 10;
    nn_model *net = nn_model_new(1, 28, 28, 3);
    nn_conv2d(net, 16, 3, 1, 0, 1), nn_relu(net), nn_maxpool(net, 2, 2);
    nn_conv2d(net, 32, 3, 1, 1, 1), nn_relu(net), nn_avgpool(net, 2, 2);
    nn_flatten(net), nn_dense(net, 10);
    nn_compile(net, NN_LOSS_CROSS_ENTROPY, nn_adam(1e-3));
    mat g1, g2;
    double l1 = nn_loss_gradient(net, X, y, &g1);
    nn_parallel_enable(0);
    double l2 = nn_loss_gradient(net, X, y, &g2);
    nn_parallel_enable(1);
    CHECK(l1 == l2 && g1.cols == g2.cols && memcmp(g1.data, g2.data, sizeof(double) * (size_t)g1.cols) == 0);
    mat_free(&g1), mat_free(&g2), mat_free(&X), mat_free(&y);
    nn_model_free(net);
}

/* the AVX2 convolution products give the gradient cblas_sgemm gives (shapes with remainders) */
/* conv -> relu -> maxpool(2, 2) trains fused; leaky relu with slope 0 is the same function and
 * takes the layer-by-layer path: same loss and gradient (summation order aside) */
static void test_fused_conv_relu_pool(void)
{
    mat X = images(6, 2, 11, 11, 21), y = mat_alloc(6, 1);
    for (int i = 0; i < 6; i++)
        y.data[i] = i % 4;
    nn_model *a = nn_model_new(2, 11, 11, 9), *b = nn_model_new(2, 11, 11, 9);
    nn_conv2d(a, 5, 3, 1, 1, 1), nn_relu(a), nn_maxpool(a, 2, 2);
    nn_conv2d(a, 6, 2, 1, 0, 1), nn_relu(a), nn_maxpool(a, 2, 2);
    nn_conv2d(b, 5, 3, 1, 1, 1), nn_leaky_relu(b, 0), nn_maxpool(b, 2, 2);
    nn_conv2d(b, 6, 2, 1, 0, 1), nn_leaky_relu(b, 0), nn_maxpool(b, 2, 2);
    nn_flatten(a), nn_dense(a, 4), nn_flatten(b), nn_dense(b, 4);
    nn_compile(a, NN_LOSS_CROSS_ENTROPY, nn_sgd(0.1, 0));
    nn_compile(b, NN_LOSS_CROSS_ENTROPY, nn_sgd(0.1, 0));
    mat p = nn_params(a);
    nn_set_params(b, p);
    mat ga, gb;
    double la = nn_loss_gradient(a, X, y, &ga), lb = nn_loss_gradient(b, X, y, &gb);
    double worst = 0, scale = 0;
    for (int i = 0; i < ga.cols && ga.cols == gb.cols; i++)
        worst = fmax(worst, fabs(ga.data[i] - gb.data[i])), scale = fmax(scale, fabs(gb.data[i]));
    CHECK(la == lb);
    CHECK(ga.cols == gb.cols && scale > 0 && worst <= 1e-6 * scale);
    /* the training-mode forward (fused) and the inference forward give the same logits: the
     * loss of inference logits equals the training loss */
    nn_eval e = nn_evaluate(a, X, y);
    CHECK_NEAR(e.loss, la, 1e-6);
    /* inference still fills the conv's and relu's own outputs: feature maps of the relu = max(conv, 0) */
    mat fc = nn_feature_maps(a, 0, X, 2), fr = nn_feature_maps(a, 1, X, 2);
    double bad = 0;
    for (int j = 0; j < fc.cols; j++)
        bad = fmax(bad, fabs(fmax(fc.data[j], 0) - fr.data[j]));
    CHECK(fc.cols == 5 * 11 * 11 && bad == 0 && mat_max_all(fr) > 0);
    nn_eval_free(&e);
    mat_free(&fc), mat_free(&fr), mat_free(&ga), mat_free(&gb), mat_free(&p), mat_free(&X), mat_free(&y);
    nn_model_free(a), nn_model_free(b);
}

static void test_conv_kernels(void)
{
    mat X = images(3, 3, 9, 7, 12), y = mat_alloc(3, 1);
    for (int i = 0; i < 3; i++)
        y.data[i] = i % 2;
    nn_model *net = nn_model_new(3, 9, 7, 5);
    nn_conv2d(net, 7, 3, 1, 1, 1); /* M = 7 rows, K = 27, N = 3 * 63 = 189 */
    nn_relu(net);
    nn_conv2d(net, 5, 2, 2, 0, 0);
    nn_flatten(net);
    nn_dense(net, 2);
    nn_compile(net, NN_LOSS_CROSS_ENTROPY, nn_sgd(0.1, 0));
    mat g1, g2;
    double l1 = nn_loss_gradient(net, X, y, &g1);
    nn_gemm_use_blas(1);
    double l2 = nn_loss_gradient(net, X, y, &g2);
    nn_gemm_use_blas(0);
    double worst = 0, scale = 0;
    for (int i = 0; i < g1.cols; i++)
        worst = fmax(worst, fabs(g1.data[i] - g2.data[i])), scale = fmax(scale, fabs(g2.data[i]));
    CHECK_NEAR(l1, l2, 1e-5);
    CHECK(scale > 0 && worst < 1e-5 * scale);
    mat_free(&g1), mat_free(&g2), mat_free(&X), mat_free(&y);
    nn_model_free(net);
}

static void test_conv_forward(void)
{
    /* conv 2->3, 3x3, stride 2, padding 1, bias, on 2 images of 2 x 7 x 6 vs a direct loop */
    mat X = images(2, 2, 7, 6, 5);
    nn_model *net = nn_model_new(2, 7, 6, 3);
    nn_conv2d(net, 3, 3, 2, 1, 1);
    int c, h, w;
    CHECK(nn_layer_shape(net, 0, &c, &h, &w) == 3 * 4 * 3 && c == 3 && h == 4 && w == 3);
    mat p = nn_params(net);
    for (int i = 54; i < 57; i++)
        p.data[i] = 0.1 * (i - 54) - 0.05; /* nonzero biases */
    nn_set_params(net, p);
    mat out = nn_forward(net, X);
    double worst = 0;
    for (int b = 0; b < 2; b++)
        for (int f = 0; f < 3; f++)
            for (int oh = 0; oh < 4; oh++)
                for (int ow = 0; ow < 3; ow++) {
                    double s = p.data[54 + f];
                    for (int ch = 0; ch < 2; ch++)
                        for (int ki = 0; ki < 3; ki++)
                            for (int kj = 0; kj < 3; kj++) {
                                int ih = oh * 2 - 1 + ki, iw = ow * 2 - 1 + kj;
                                if (ih >= 0 && ih < 7 && iw >= 0 && iw < 6)
                                    s += p.data[((f * 2 + ch) * 3 + ki) * 3 + kj] * *mat_ptr(X, b, (ch * 7 + ih) * 6 + iw);
                            }
                    worst = fmax(worst, fabs(s - *mat_ptr(out, b, (f * 4 + oh) * 3 + ow)));
                }
    CHECK(worst < 1e-5);
    CHECK(out.channels == 3 && out.height == 4 && out.width == 3);
    /* feature maps of one row = that row of the batched forward */
    mat fm = nn_feature_maps(net, 0, X, 1);
    CHECK(fm.rows == 1 && fm.cols == 36 && fm.channels == 3 && fm.height == 4);
    mat r1 = mat_row(out, 1);
    CHECK(max_abs_diff(fm, r1) < 1e-6);
    mat_free(&fm), mat_free(&out), mat_free(&p), mat_free(&X);
    nn_model_free(net);
}

/* one full-batch step from p0 with gradient g gives p1; compare with the closed form */
static void test_first_steps(void)
{
    rng_seed(9);
    mat X = mat_randn(8, 5), y = mat_alloc(8, 1);
    mat_set_image_shape(&X, 5, 1, 1);
    for (int i = 0; i < 8; i++)
        y.data[i] = i % 3;
    for (int kind = 0; kind < 5; kind++) {
        nn_model *net = nn_model_new(5, 1, 1, 4);
        nn_dense(net, 3);
        nn_optimizer o = kind == 0 ? nn_sgd(0.1, 0) : kind == 1 ? nn_sgd(0.1, 0.9) : kind == 2 ? nn_rmsprop(0.01)
                       : nn_adam(0.01);
        if (kind == 4)
            o = nn_sgd(0.1, 0), o.weight_decay = 0.5;
        nn_compile(net, NN_LOSS_CROSS_ENTROPY, o);
        mat p0 = nn_params(net), g;
        nn_loss_gradient(net, X, y, &g);
        nn_history h = nn_fit(net, X, y, quiet(1, 8));
        mat p1 = nn_params(net);
        double worst = 0;
        for (int i = 0; i < p0.cols; i++) {
            double gi = g.data[i], want;
            if (kind <= 1)
                want = p0.data[i] - 0.1 * gi;
            else if (kind == 2)
                want = p0.data[i] - 0.01 * gi / (sqrt(0.01 * gi * gi) + 1e-8);
            else if (kind == 3)
                want = p0.data[i] - 0.01 * gi / (fabs(gi) + 1e-8);
            else
                want = p0.data[i] - 0.1 * (gi + 0.5 * p0.data[i]);
            worst = fmax(worst, fabs(p1.data[i] - want));
        }
        if (worst >= 1e-5)
            fprintf(stderr, "optimizer %d first step off by %g\n", kind, worst);
        CHECK(worst < 1e-5);
        CHECK(h.steps_run == 1 && h.epochs_run == 1);
        nn_history_free(&h);
        mat_free(&p0), mat_free(&p1), mat_free(&g);
        nn_model_free(net);
    }
    mat_free(&X), mat_free(&y);
}

static nn_model *small_cnn(uint64_t seed)
{
    nn_model *net = nn_model_new(1, 8, 8, seed);
    nn_conv2d(net, 4, 3, 1, 1, 1);
    nn_batchnorm(net);
    nn_relu(net);
    nn_maxpool(net, 2, 2);
    nn_flatten(net);
    nn_dropout(net, 0.1);
    nn_dense(net, 16);
    nn_relu(net);
    nn_dense(net, 4);
    nn_compile(net, NN_LOSS_CROSS_ENTROPY, nn_adam(0.01));
    return net;
}

static void test_overfit_and_reproducible(void)
{
    mat X = images(24, 1, 8, 8, 11), y = mat_alloc(24, 1);
    for (int i = 0; i < 24; i++)
        y.data[i] = (i * 7) % 4;
    nn_model *a = small_cnn(1), *b = small_cnn(1), *c = small_cnn(2);
    nn_fit_options o = quiet(60, 8);
    o.augment_flip = 1; /* exercised, and part of what must reproduce */
    o.augment_shift = 1;
    nn_history ha = nn_fit(a, X, y, o), hb = nn_fit(b, X, y, o), hc = nn_fit(c, X, y, o);
    mat pa = nn_params(a), pb = nn_params(b), pc = nn_params(c);
    CHECK(pa.cols == pb.cols && memcmp(pa.data, pb.data, sizeof(double) * (size_t)pa.cols) == 0);
    CHECK(memcmp(ha.step_loss.data, hb.step_loss.data, sizeof(double) * (size_t)ha.steps_run) == 0);
    CHECK(max_abs_diff(pa, pc) > 1e-3); /* another seed, another network */
    CHECK(ha.epochs_run == 60 && ha.steps_run == 180 && ha.step_loss.cols == 180);
    /* without augmentation it memorises the 24 images */
    nn_model *d = small_cnn(3);
    nn_history hd = nn_fit(d, X, y, quiet(80, 8));
    nn_eval e = nn_evaluate(d, X, y);
    CHECK(e.accuracy == 1.0);
    CHECK(hd.train_loss.data[hd.epochs_run - 1] < 0.2 * hd.train_loss.data[0]);
    /* evaluation identities: confusion sums to n, its trace / n is the accuracy */
    double sum = 0, trace = 0;
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++)
            sum += *mat_ptr(e.confusion, i, j), trace += i == j ? *mat_ptr(e.confusion, i, j) : 0;
    CHECK(sum == 24 && trace / 24 == e.accuracy);
    /* probabilities sum to 1 and their argmax is the prediction */
    mat pr = nn_predict_proba(d, X), cl = nn_predict(d, X);
    double worst = 0;
    int agree = 1;
    for (int i = 0; i < 24; i++) {
        double s = 0;
        int arg = 0;
        for (int j = 0; j < 4; j++)
            s += *mat_ptr(pr, i, j), arg = *mat_ptr(pr, i, j) > *mat_ptr(pr, i, arg) ? j : arg;
        worst = fmax(worst, fabs(s - 1));
        agree &= arg == (int)cl.data[i];
    }
    CHECK(worst < 1e-12 && agree);
    /* the summary names the layers and the parameter count (4*9+4 + 8 + 64*16+16 + 16*4+4) */
    const char *s = nn_summary_text(d);
    CHECK(strstr(s, "conv2d 1->4 3x3") && strstr(s, "batchnorm") && strstr(s, "1156 trainable parameters"));
    CHECK(nn_param_count(d) == 1156);

    /* save -> load -> identical outputs, and the loaded model trains on identically */
    char path[] = "/tmp/cairn_nn_test_XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    CHECK(nn_save(d, path) == 0);
    nn_model *l = nn_load(path);
    CHECK(l != NULL);
    mat o1 = nn_forward(d, X), o2 = nn_forward(l, X);
    CHECK(o1.rows == 24 && memcmp(o1.data, o2.data, sizeof(double) * 24 * 4) == 0);
    nn_history h1 = nn_fit(d, X, y, quiet(2, 8)), h2 = nn_fit(l, X, y, quiet(2, 8));
    mat q1 = nn_params(d), q2 = nn_params(l);
    CHECK(memcmp(q1.data, q2.data, sizeof(double) * (size_t)q1.cols) == 0);
    /* damaged files: a flipped byte, a newer version, not a model at all */
    FILE *f = fopen(path, "r+b");
    fseek(f, 200, SEEK_SET);
    int ch = fgetc(f);
    fseek(f, 200, SEEK_SET);
    fputc(ch ^ 0x40, f);
    fclose(f);
    CHECK(nn_load(path) == NULL && has("corrupt"));
    f = fopen(path, "r+b");
    fseek(f, 8, SEEK_SET);
    fputc(7, f);
    fclose(f);
    CHECK(nn_load(path) == NULL && has("version 7") && has("update cairn"));
    CHECK(nn_load(FIXTURES_DIR "/io_small.csv") == NULL && has("not a cairn model file"));
    CHECK(nn_load("/nonexistent/model.bin") == NULL && has("cannot open"));
    unlink(path);

    /* .npy export: PyTorch shapes, values as in the parameter vector */
    char dir[] = "/tmp/cairn_nn_npy_XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    CHECK(nn_export_npy(d, dir) == 10); /* conv w,b; bn w,b,mean,var; dense w,b x2 */
    char file[256];
    snprintf(file, sizeof file, "%s/layer6_dense_weight.npy", dir);
    mat w = npy_read(file);
    mat pd = nn_params(d);
    CHECK(w.rows == 16 && w.cols == 64 && fabs(w.data[5] - pd.data[48 + 5]) < 1e-7);
    snprintf(file, sizeof file, "%s/layer0_conv2d_weight.npy", dir);
    mat cw = npy_read(file);
    CHECK(cw.rows == 4 && cw.cols == 9 && cw.data[10] == (double)(float)pd.data[10]);
    static const char *names[] = {"layer0_conv2d_weight", "layer0_conv2d_bias", "layer1_batchnorm_weight",
                                  "layer1_batchnorm_bias", "layer1_batchnorm_running_mean",
                                  "layer1_batchnorm_running_var", "layer6_dense_weight", "layer6_dense_bias",
                                  "layer8_dense_weight", "layer8_dense_bias"};
    for (int i = 0; i < 10; i++) {
        snprintf(file, sizeof file, "%s/%s.npy", dir, names[i]);
        CHECK(unlink(file) == 0);
    }
    rmdir(dir);

    nn_history_free(&ha), nn_history_free(&hb), nn_history_free(&hc), nn_history_free(&hd);
    nn_history_free(&h1), nn_history_free(&h2);
    nn_eval_free(&e);
    mat_free(&pa), mat_free(&pb), mat_free(&pc), mat_free(&pr), mat_free(&cl), mat_free(&o1), mat_free(&o2);
    mat_free(&q1), mat_free(&q2), mat_free(&w), mat_free(&cw), mat_free(&pd), mat_free(&X), mat_free(&y);
    nn_model_free(a), nn_model_free(b), nn_model_free(c), nn_model_free(d), nn_model_free(l);
}

static void test_schedules_and_stops(void)
{
    mat X = images(40, 1, 8, 8, 21), y = mat_alloc(40, 1);
    for (int i = 0; i < 40; i++)
        y.data[i] = i % 4;
    /* step and cosine schedules */
    nn_model *net = small_cnn(5);
    nn_fit_options o = quiet(5, 10);
    o.schedule = NN_LR_STEP, o.step_size = 2, o.gamma = 0.5;
    nn_history h = nn_fit(net, X, y, o);
    CHECK(h.lr.cols == 5 && h.lr.data[0] == 0.01 && h.lr.data[1] == 0.01 && h.lr.data[2] == 0.005 && h.lr.data[4] == 0.0025);
    nn_history_free(&h);
    o.schedule = NN_LR_COSINE, o.lr_min = 0.001;
    h = nn_fit(net, X, y, o);
    CHECK_NEAR(h.lr.data[0], 0.01, 1e-15);
    CHECK_NEAR(h.lr.data[2], 0.001 + 0.5 * 0.009 * (1 + cos(M_PI * 2 / 5)), 1e-15);
    nn_history_free(&h);

    /* early stopping on a validation split: the model ends with the best epoch's weights */
    nn_model *es = small_cnn(6);
    nn_fit_options oe = quiet(40, 8);
    oe.validation_split = 0.25, oe.patience = 3;
    h = nn_fit(es, X, y, oe); /* random labels: validation loss soon stops improving */
    CHECK(h.best_epoch >= 0 && h.epochs_run < 40 && h.val_loss.cols == h.epochs_run);
    double best = INFINITY;
    for (int i = 0; i < h.epochs_run; i++)
        best = fmin(best, h.val_loss.data[i]);
    CHECK(best == h.val_loss.data[h.best_epoch]);
    mat Xv = mat_row_range(X, 30, 10), yv = mat_row_range(y, 30, 10);
    nn_eval e = nn_evaluate(es, Xv, yv);
    CHECK_NEAR(e.loss, best, 1e-6);
    CHECK(strstr(h.message, "early stop"));
    nn_history_free(&h);
    nn_eval_free(&e);

    /* interrupt: stops after the current batch, the model is kept and usable */
    mat before = nn_params(net);
    cairn_set_interrupted(1);
    h = nn_fit(net, X, y, quiet(5, 10));
    cairn_set_interrupted(0);
    mat after = nn_params(net);
    CHECK(h.interrupted == 1 && h.steps_run == 1 && h.epochs_run == 1 && strstr(h.message, "interrupted at epoch 1, step 1"));
    CHECK(max_abs_diff(before, after) > 0); /* that one batch was learned */
    nn_history_free(&h);

    /* a loss that overflows: stop naming epoch and step, keep finite (last good) weights */
    rng_seed(3);
    mat V = mat_randn(16, 4), T = mat_randn(16, 2);
    mat_set_image_shape(&V, 4, 1, 1);
    nn_model *r = nn_model_new(4, 1, 1, 8);
    nn_dense(r, 8);
    nn_dense(r, 2);
    nn_compile(r, NN_LOSS_MSE, nn_sgd(1e6, 0));
    h = nn_fit(r, V, T, quiet(20, 4));
    mat pr = nn_params(r);
    int finite = 1;
    for (int i = 0; i < pr.cols; i++)
        finite &= isfinite(pr.data[i]);
    CHECK(h.diverged == 1 && finite && strstr(h.message, "at epoch") && strstr(h.message, "step"));
    mat out = nn_forward(r, V);
    CHECK(!mat_is_empty(out));
    nn_history_free(&h);

    mat_free(&before), mat_free(&after), mat_free(&V), mat_free(&T), mat_free(&pr), mat_free(&out);
    mat_free(&X), mat_free(&y);
    nn_model_free(net), nn_model_free(es), nn_model_free(r);
}

/* figures: one panel per filter / channel / misclassified image, history curves */
static void test_figures(void)
{
    mat X = images(30, 1, 8, 8, 31), y = mat_alloc(30, 1);
    for (int i = 0; i < 30; i++)
        y.data[i] = i % 4;
    nn_model *net = small_cnn(9);
    nn_history h = nn_fit(net, X, y, quiet(2, 10));
    figure *f = nn_plot_filters(net);
    CHECK(f && plot_axes_count(f) == 4); /* 4 filters of one channel, 4 per line */
    plot_free(f);
    f = nn_plot_feature_maps(net, 2, X, 0); /* after batchnorm+relu: 4 x 8 x 8 */
    CHECK(f && plot_axes_count(f) == 4 && strstr(plot_describe(f), "image"));
    plot_free(f);
    mat p = nn_predict(net, X);
    int wrong = 0;
    for (int i = 0; i < 30; i++)
        wrong += p.data[i] != y.data[i];
    f = nn_plot_misclassified(net, X, y, 6, NULL);
    CHECK(f && wrong > 0 && plot_axes_count(f) == (wrong < 6 ? wrong : 6));
    plot_free(f);
    f = nn_plot_history(h);
    CHECK(f && plot_axes_count(f) == 2 && strstr(plot_describe(f), "line"));
    plot_free(f);
    nn_model *flat = nn_model_new(3, 1, 1, 1);
    CHECK(nn_plot_filters(flat) == NULL && has("no conv2d layer"));
    nn_model_free(flat);
    nn_history_free(&h);
    mat_free(&p), mat_free(&X), mat_free(&y);
    nn_model_free(net);
}

static void test_errors(void)
{
    nn_model *net = nn_model_new(1, 8, 8, 1);
    nn_conv2d(net, 4, 3, 1, 0, 1);
    long errs = cairn_error_count();
    CHECK(nn_dense(net, 10) == -1 && has("nn_dense") && has("layer 1") && has("4 x 6 x 6") && has("nn_flatten"));
    CHECK(nn_conv2d(net, 4, 7, 1, 0, 1) == -1 && has("layer 1 (conv2d 7x7") && has("4 x 6 x 6"));
    CHECK(nn_maxpool(net, 9, 9) == -1 && has("maxpool 9x9"));
    CHECK(nn_layer_count(net) == 1 && cairn_error_count() == errs + 3);
    nn_flatten(net);
    nn_dense(net, 3);
    mat X = images(6, 1, 8, 8, 2), y = mat_alloc(6, 1);
    for (int i = 0; i < 6; i++)
        y.data[i] = i % 3;
    nn_history h = nn_fit(net, X, y, quiet(1, 2));
    CHECK(h.epochs_run == 0 && has("nn_compile"));
    nn_compile(net, NN_LOSS_CROSS_ENTROPY, nn_adam(1e-3));
    mat p0 = nn_params(net);
    h = nn_fit(net, X, y, quiet(1, 0));
    CHECK(h.epochs_run == 0 && has("batch size 0"));
    y.data[4] = 3;
    h = nn_fit(net, X, y, quiet(1, 2));
    CHECK(h.epochs_run == 0 && has("label 3 at row 4") && has("0..2"));
    y.data[4] = 1;
    X.data[7] = NAN;
    h = nn_fit(net, X, y, quiet(1, 2));
    CHECK(h.epochs_run == 0 && has("non-finite") && has("row 0, column 7"));
    X.data[7] = 0.5;
    mat Xw = images(6, 1, 7, 9, 2);
    h = nn_fit(net, Xw, y, quiet(1, 2));
    CHECK(h.epochs_run == 0 && has("1 x 7 x 9") && has("1 x 8 x 8"));
    mat p1 = nn_params(net);
    CHECK(max_abs_diff(p0, p1) == 0); /* no failed call touched the model */
    CHECK(nn_feature_maps(net, 5, X, 0).data == NULL && has("layer 5 is out of range"));
    mat_free(&X), mat_free(&y), mat_free(&Xw), mat_free(&p0), mat_free(&p1);
    nn_model_free(net);
}

/* inference runs a conv's pointwise successors (relu, batch norm, tanh, leaky relu, dropout,
 * sigmoid) in the conv's own output pass, and pointwise layers elsewhere in two threads; every
 * layer's maps must still be what that layer computes on the previous one's, in double */
static double pointwise_ref(const char *kind, double v, int c, const double *bn)
{
    if (!strcmp(kind, "relu"))
        return v > 0 ? v : 0;
    if (!strcmp(kind, "batchnorm")) /* gamma, beta, mean, var of 4 channels */
        return bn[c] * (v - bn[8 + c]) / sqrt(bn[12 + c] + 1e-5) + bn[4 + c];
    if (!strcmp(kind, "tanh"))
        return tanh(v);
    if (!strcmp(kind, "leaky_relu"))
        return v > 0 ? v : 0.2 * v;
    if (!strcmp(kind, "sigmoid"))
        return 1 / (1 + exp(-v));
    return v; /* dropout */
}

static void test_inference_pointwise(void)
{
    mat X = images(40, 2, 9, 9, 21);
    for (int i = 0; i < X.rows * X.cols; i++)
        X.data[i] = 6 * X.data[i] - 3;
    nn_model *net = nn_model_new(2, 9, 9, 4);
    nn_conv2d(net, 4, 3, 1, 1, 1), nn_relu(net), nn_batchnorm(net), nn_tanh(net), nn_leaky_relu(net, 0.2);
    nn_dropout(net, 0.5), nn_sigmoid(net), nn_maxpool(net, 2, 2), nn_batchnorm(net), nn_tanh(net);
    nn_flatten(net), nn_dense(net, 3);
    nn_compile(net, NN_LOSS_MSE, nn_adam(1e-3));
    /* batch norms with scales of both signs and real statistics; the conv's weights scaled up so
     * that tanh sees inputs out to about ±10 */
    double bn[2][16];
    mat p = nn_params(net), st = nn_state(net);
    size_t conv_n = 4 * 2 * 9 + 4;
    for (size_t i = 0; i < conv_n; i++)
        p.data[i] *= 4;
    for (int b = 0; b < 2; b++)
        for (int c = 0; c < 4; c++) {
            bn[b][c] = (c % 2 ? -1.5 : 0.7) + 0.1 * b, bn[b][4 + c] = 0.3 * c - 0.4;
            bn[b][8 + c] = 0.2 * c - 0.1 * b, bn[b][12 + c] = 0.5 + c;
            size_t po = conv_n + (size_t)(8 * b);
            p.data[po + (size_t)c] = bn[b][c], p.data[po + 4 + (size_t)c] = bn[b][4 + c];
            st.data[8 * b + c] = bn[b][8 + c], st.data[8 * b + 4 + c] = bn[b][12 + c];
        }
    CHECK(nn_set_params(net, p) == 0 && nn_set_state(net, st) == 0);
    double worst = 0, tanh_in = 0;
    for (int row = 0; row < 40; row += 13) {
        mat prev = nn_feature_maps(net, 0, X, row);
        for (int L = 1; L <= 9; L++) {
            mat fm = nn_feature_maps(net, L, X, row);
            const char *kind = nn_layer_name(net, L);
            if (strcmp(kind, "maxpool")) {
                int c, h, w;
                nn_layer_shape(net, L, &c, &h, &w);
                for (int j = 0; j < fm.cols; j++) {
                    double v = prev.data[j];
                    if (!strcmp(kind, "tanh"))
                        tanh_in = fmax(tanh_in, fabs(v));
                    double ref = pointwise_ref(kind, v, j / (h * w), bn[L > 7]);
                    worst = fmax(worst, fabs(fm.data[j] - ref) / fmax(1, fabs(ref)));
                }
            }
            mat_free(&prev);
            prev = fm;
        }
        mat_free(&prev);
    }
    printf("pointwise layers at inference: max |cairn - double| / max(1, |double|) = %.3g (tanh inputs up to %.1f)\n", worst, tanh_in);
    CHECK(worst < 1e-6);
    CHECK(tanh_in > 8);
    /* the two-thread split gives the one-thread result bit for bit */
    mat a = nn_forward(net, X);
    nn_parallel_enable(0);
    mat b = nn_forward(net, X);
    nn_parallel_enable(1);
    CHECK(a.rows == 40 && memcmp(a.data, b.data, sizeof(double) * 40 * 3) == 0);
    mat_free(&a), mat_free(&b), mat_free(&p), mat_free(&st), mat_free(&X);
    nn_model_free(net);
}

/* a graph of layers: add and concat give the sums and the stacked channels of the layers they
 * read, survive nn_save/nn_load, show in the summary, and refuse shapes that do not fit */
static void test_graph(void)
{
    mat X = images(6, 2, 8, 8, 31);
    nn_model *net = nn_model_new(2, 8, 8, 5);
    int a = (nn_conv2d(net, 3, 3, 1, 1, 1), nn_relu(net));
    CHECK(nn_branch(net, -1) == 0);
    int b = nn_conv2d(net, 3, 3, 1, 1, 1);
    int sum = nn_add(net, a);
    int cat = nn_concat(net, -1);
    nn_flatten(net), nn_dense(net, 4);
    nn_compile(net, NN_LOSS_CROSS_ENTROPY, nn_adam(1e-2));
    int from, from2, c, h, w;
    CHECK(nn_layer_inputs(net, b, &from, &from2) == 0 && from == -1 && from2 == -2);
    CHECK(nn_layer_inputs(net, sum, &from, &from2) == 0 && from == b && from2 == a);
    CHECK(nn_layer_shape(net, cat, &c, &h, &w) == 5 * 64 && c == 5 && h == 8);
    for (int row = 0; row < 6; row += 5) {
        mat fa = nn_feature_maps(net, a, X, row), fb = nn_feature_maps(net, b, X, row),
            fs = nn_feature_maps(net, sum, X, row), fc = nn_feature_maps(net, cat, X, row);
        double worst = 0;
        for (int j = 0; j < 3 * 64; j++)
            worst = fmax(worst, fabs(fs.data[j] - (fa.data[j] + fb.data[j])) + fabs(fc.data[j] - fs.data[j]));
        for (int j = 0; j < 2 * 64; j++)
            worst = fmax(worst, fabs(fc.data[3 * 64 + j] - *mat_ptr(X, row, j)));
        CHECK(worst < 1e-6);
        mat_free(&fa), mat_free(&fb), mat_free(&fs), mat_free(&fc);
    }
    const char *text = nn_summary_text(net);
    CHECK(text && strstr(text, "conv2d 2->3 3x3 /1 pad 1 (from -1)") && strstr(text, "add (2 + 1)") &&
          strstr(text, "concat (3, -1)"));
    /* it trains (the gradient reaches both branches) and saves */
    mat y = mat_alloc(6, 1);
    for (int i = 0; i < 6; i++)
        y.data[i] = i % 4;
    nn_history hist = nn_fit(net, X, y, quiet(30, 6));
    CHECK(hist.train_loss.cols == 30 && hist.train_loss.data[29] < 0.5 * hist.train_loss.data[0]);
    char path[64];
    snprintf(path, sizeof path, "/tmp/cairn_graph_%d.nn", (int)getpid());
    CHECK(nn_save(net, path) == 0);
    nn_model *back = nn_load(path);
    CHECK(back && nn_layer_count(back) == nn_layer_count(net));
    if (back) {
        CHECK(nn_layer_inputs(back, sum, &from, &from2) == 0 && from == b && from2 == a);
        mat z1 = nn_forward(net, X), z2 = nn_forward(back, X);
        CHECK(max_abs_diff(z1, z2) == 0);
        mat_free(&z1), mat_free(&z2);
    }
    unlink(path);
    /* errors name the layers and shapes */
    nn_model *bad = nn_model_new(2, 8, 8, 1);
    nn_conv2d(bad, 3, 3, 1, 0, 1);
    CHECK(nn_add(bad, -1) == -1 && has("nn_add") && has("3 x 6 x 6") && has("2 x 8 x 8"));
    CHECK(nn_concat(bad, -1) == -1 && has("differ in height or width"));
    CHECK(nn_branch(bad, 4) == -1 && has("layer 4 is out of range"));
    nn_model_free(bad), nn_model_free(back), nn_model_free(net);
    nn_history_free(&hist);
    mat_free(&y), mat_free(&X);
}

int main(void)
{
    test_conv_forward();
    test_graph();
    test_inference_pointwise();
    test_conv_kernels();
    test_fused_conv_relu_pool();
    test_parallel_identical();
    test_first_steps();
    test_overfit_and_reproducible();
    test_schedules_and_stops();
    test_figures();
    test_errors();
    CHECK(cairn_blocks_in_use() == 0);
    return check_summary("nn");
}
