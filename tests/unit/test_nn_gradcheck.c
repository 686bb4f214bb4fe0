/* test_nn_gradcheck.c — analytic gradients of every layer, activation and loss against
 * central differences. This test compiles runtime/nn's own sources with -DNN_DOUBLE
 * (see tests/unit/meson.build), so the very code that trains in float32 runs here in
 * double and the finite differences are accurate to ~1e-8. Each network puts the layer
 * under test after one with parameters, so the parameter gradients flow through it. */
#include "cairn.h"
#include "check.h"

#include <math.h>

/* max relative error between the analytic gradient and central differences over all parameters */
static double grad_error(nn_model *net, mat X, mat y)
{
    mat g;
    double loss = nn_loss_gradient(net, X, y, &g);
    if (!isfinite(loss) || mat_is_empty(g))
        return INFINITY;
    mat p = nn_params(net);
    double worst = 0, h = 1e-6;
    for (int i = 0; i < p.cols; i++) {
        double keep = p.data[i];
        p.data[i] = keep + h;
        nn_set_params(net, p);
        double lp = nn_loss_gradient(net, X, y, NULL);
        p.data[i] = keep - h;
        nn_set_params(net, p);
        double lm = nn_loss_gradient(net, X, y, NULL);
        p.data[i] = keep;
        double num = (lp - lm) / (2 * h), an = g.data[i];
        double err = fabs(num - an) / fmax(1e-4, fabs(num) + fabs(an));
        if (err > worst)
            worst = err;
    }
    nn_set_params(net, p);
    mat_free(&p);
    mat_free(&g);
    return worst;
}

static mat images(int n, int c, int h, int w, uint64_t seed)
{
    rng_seed(seed);
    mat X = mat_randn(n, c * h * w);
    mat_set_image_shape(&X, c, h, w);
    return X;
}

static mat labels(int n, int k)
{
    mat y = mat_alloc(n, 1);
    for (int i = 0; i < n; i++)
        y.data[i] = i % k;
    return y;
}

static void check_net(const char *what, nn_model *net, mat X, mat y, int loss)
{
    CHECK(nn_compile(net, loss, nn_sgd(0.1, 0)) == 0);
    double e = grad_error(net, X, y);
    if (getenv("NN_VERBOSE") || !(e < 1e-6))
        fprintf(stderr, "gradient check %s: relative error %g\n", what, e);
    CHECK(e < 1e-6);
    nn_model_free(net);
}

int main(void)
{
    mat X = images(4, 2, 6, 6, 1), y3 = labels(4, 3);

    /* conv (stride 1, padding, bias) -> leaky relu -> maxpool -> flatten -> dense -> CE */
    nn_model *a = nn_model_new(2, 6, 6, 7);
    nn_conv2d(a, 3, 3, 1, 1, 1);
    nn_leaky_relu(a, 0.1);
    nn_maxpool(a, 2, 2);
    nn_flatten(a);
    nn_dense(a, 3);
    check_net("conv/leaky_relu/maxpool/dense/CE", a, X, y3, NN_LOSS_CROSS_ENTROPY);

    /* conv -> relu -> maxpool(2, 2), which training runs fused (one pass from the GEMM result
     * to the pooled output and one back): two triples in a row (10 -> 5 -> 4 -> 2, the second
     * with a column gradient), then an odd conv output (7 -> 5 -> 2: last row and column unused) */
    mat X10 = images(4, 2, 10, 10, 4);
    nn_model *a2 = nn_model_new(2, 10, 10, 17);
    nn_conv2d(a2, 3, 3, 1, 1, 1);
    nn_relu(a2);
    nn_maxpool(a2, 2, 2);
    nn_conv2d(a2, 4, 2, 1, 0, 1);
    nn_relu(a2);
    nn_maxpool(a2, 2, 2);
    nn_flatten(a2);
    nn_dense(a2, 3);
    check_net("fused conv/relu/maxpool x2/dense/CE", a2, X10, y3, NN_LOSS_CROSS_ENTROPY);
    mat X7 = images(4, 2, 7, 7, 5);
    nn_model *a3 = nn_model_new(2, 7, 7, 19);
    nn_conv2d(a3, 3, 3, 1, 0, 0);
    nn_relu(a3);
    nn_maxpool(a3, 2, 2);
    nn_flatten(a3);
    nn_dense(a3, 3);
    check_net("fused conv (no bias, odd output)/relu/maxpool/dense/CE", a3, X7, y3, NN_LOSS_CROSS_ENTROPY);
    mat_free(&X10), mat_free(&X7);

    /* conv (stride 2, no bias) -> tanh -> avgpool (overlapping) -> batchnorm (channels) -> GAP -> dense -> softmax folded into CE */
    nn_model *b = nn_model_new(2, 6, 6, 8);
    nn_conv2d(b, 4, 3, 2, 1, 0);
    nn_tanh(b);
    nn_avgpool(b, 2, 1);
    nn_batchnorm(b);
    nn_global_avgpool(b);
    nn_dense(b, 3);
    nn_softmax(b);
    check_net("conv stride 2/tanh/avgpool/batchnorm2d/gap/dense/softmax+CE", b, X, y3, NN_LOSS_CROSS_ENTROPY);

    /* conv -> relu -> batchnorm -> flatten -> dropout -> dense -> CE */
    nn_model *c = nn_model_new(2, 6, 6, 9);
    nn_conv2d(c, 3, 2, 1, 0, 1);
    nn_relu(c);
    nn_batchnorm(c);
    nn_flatten(c);
    nn_dropout(c, 0.3);
    nn_dense(c, 3);
    check_net("conv/relu/batchnorm/dropout/dense/CE", c, X, y3, NN_LOSS_CROSS_ENTROPY);

    /* flat vectors: dense -> sigmoid -> batchnorm (features) -> dense -> softmax -> MSE (softmax not folded) */
    mat V = images(5, 6, 1, 1, 2);
    rng_seed(3);
    mat T = mat_rand(5, 3);
    nn_model *d = nn_model_new(6, 1, 1, 10);
    nn_dense(d, 5);
    nn_sigmoid(d);
    nn_batchnorm(d);
    nn_dense(d, 3);
    nn_softmax(d);
    check_net("dense/sigmoid/batchnorm1d/dense/softmax/MSE", d, V, T, NN_LOSS_MSE);

    /* a graph: conv -> relu -> [conv -> relu] + skip (a residual add), then the input's own
     * conv branch concatenated, the input itself concatenated, -> GAP -> dense -> CE; the
     * relu's output feeds three layers, so its gradient is the sum of three */
    nn_model *gr = nn_model_new(2, 6, 6, 12);
    int r1 = (nn_conv2d(gr, 3, 3, 1, 1, 1), nn_relu(gr));
    nn_conv2d(gr, 3, 3, 1, 1, 0);
    nn_tanh(gr);
    int sum = nn_add(gr, r1);
    nn_branch(gr, -1);
    nn_conv2d(gr, 2, 3, 1, 1, 1);
    nn_concat(gr, sum);
    nn_concat(gr, -1);
    int twice = nn_add(gr, nn_layer_count(gr) - 1); /* x + x */
    nn_branch(gr, r1);
    nn_relu(gr); /* a dead branch: not on the way to the output, no gradient */
    nn_branch(gr, twice);
    nn_global_avgpool(gr);
    nn_dense(gr, 3);
    int gc, gh, gw;
    nn_layer_shape(gr, twice, &gc, &gh, &gw);
    CHECK(nn_layer_count(gr) == 12 && gc == 2 + 3 + 2 && gh == 6 && gw == 6);
    check_net("graph: residual add, concat of branches and the input, dead branch, GAP/dense/CE", gr, X, y3,
              NN_LOSS_CROSS_ENTROPY);

    /* dense -> tanh -> dense 1 -> BCE on logits */
    mat yb = mat_alloc(5, 1);
    for (int i = 0; i < 5; i++)
        yb.data[i] = i % 2;
    nn_model *e = nn_model_new(6, 1, 1, 11);
    nn_dense(e, 4);
    nn_tanh(e);
    nn_dense(e, 1);
    check_net("dense/tanh/dense/BCE", e, V, yb, NN_LOSS_BINARY_CROSS_ENTROPY);

    /* multi-label BCE with a final sigmoid folded in */
    mat Tb = mat_alloc(5, 3);
    for (int i = 0; i < 15; i++)
        Tb.data[i] = T.data[i] > 0.5;
    nn_model *f = nn_model_new(6, 1, 1, 12);
    nn_dense(f, 4);
    nn_relu(f);
    nn_dense(f, 3);
    nn_sigmoid(f);
    check_net("dense/relu/dense/sigmoid+BCE multi-label", f, V, Tb, NN_LOSS_BINARY_CROSS_ENTROPY);

    /* sigmoid not folded (MSE) and plain MSE regression */
    nn_model *g = nn_model_new(6, 1, 1, 13);
    nn_dense(g, 3);
    nn_sigmoid(g);
    check_net("dense/sigmoid/MSE", g, V, T, NN_LOSS_MSE);

    /* the folded softmax gives the same loss as CE on logits of the same weights */
    nn_model *h1 = nn_model_new(6, 1, 1, 14), *h2 = nn_model_new(6, 1, 1, 14);
    nn_dense(h1, 3);
    nn_dense(h2, 3);
    nn_softmax(h2);
    nn_compile(h1, NN_LOSS_CROSS_ENTROPY, nn_sgd(0.1, 0));
    nn_compile(h2, NN_LOSS_CROSS_ENTROPY, nn_sgd(0.1, 0));
    mat y3v = labels(5, 3);
    CHECK_NEAR(nn_loss_gradient(h1, V, y3v, NULL), nn_loss_gradient(h2, V, y3v, NULL), 1e-15);
    /* and CE of uniform logits is log(K) */
    mat zero = mat_zeros(1, (int)nn_param_count(h1));
    nn_set_params(h1, zero);
    CHECK_NEAR(nn_loss_gradient(h1, V, y3v, NULL), log(3.0), 1e-15);
    nn_model_free(h1);
    nn_model_free(h2);
    mat_free(&zero);

    mat_free(&X), mat_free(&y3), mat_free(&V), mat_free(&T), mat_free(&yb), mat_free(&Tb), mat_free(&y3v);
    CHECK(cairn_blocks_in_use() == 0);
    return check_summary("nn_gradcheck");
}
