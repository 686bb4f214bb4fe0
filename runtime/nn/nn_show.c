/* nn_show.c — looking inside a network: the summary (layers, output shapes, parameter
 * counts, activation memory) as text and as an HTML table, and figures made with the
 * plot module: one layer's feature maps for an input, the first convolution's
 * filters, and a grid of misclassified examples captioned "true -> predicted". */
#include "nn_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/display.h"
#include "cairn/error.h"
#include "cairn/plot.h"
#include "../core/strbuf.h"

static void describe(const nn_layer *l, char *buf, size_t size)
{
    switch (l->kind) {
    case L_CONV:
        snprintf(buf, size, "conv2d %d->%d %dx%d /%d pad %d%s", l->in_c, l->out_c, l->k, l->k, l->stride, l->pad,
                 l->bias ? "" : " no bias");
        break;
    case L_MAXPOOL:
    case L_AVGPOOL:
        snprintf(buf, size, "%s %dx%d /%d", nn_kind_name(l->kind), l->k, l->k, l->stride);
        break;
    case L_DENSE:
        snprintf(buf, size, "dense %d->%d", l->in_c, l->out_c);
        break;
    case L_DROPOUT:
        snprintf(buf, size, "dropout %.2g", l->rate);
        break;
    case L_LEAKY_RELU:
        snprintf(buf, size, "leaky_relu %.3g", l->rate);
        break;
    default:
        snprintf(buf, size, "%s", nn_kind_name(l->kind));
    }
}

static void shape_text(int c, int h, int w, char *buf, size_t size)
{
    if (h == 1 && w == 1)
        snprintf(buf, size, "%d", c);
    else
        snprintf(buf, size, "%d x %d x %d", c, h, w);
}

static const char *loss_name(int loss)
{
    return loss == NN_LOSS_CROSS_ENTROPY ? "cross-entropy" : loss == NN_LOSS_BINARY_CROSS_ENTROPY ? "binary cross-entropy"
         : loss == NN_LOSS_MSE ? "MSE" : "none (nn_compile not called)";
}

static const char *opt_name(int kind)
{
    return kind == NN_OPT_SGD ? "SGD" : kind == NN_OPT_RMSPROP ? "RMSprop" : "Adam";
}

static void build_summary(nn_model *m, strbuf *b, int html)
{
    char d[96], sh[64];
    size_t act = nn_in_size(m);
    if (html)
        strbuf_printf(b, "<table><thead><tr><th>#</th><th>layer</th><th>output shape</th><th>parameters</th></tr></thead><tbody>"
                     "<tr><td></td><td>input</td><td>%d &times; %d &times; %d</td><td></td></tr>", m->in_c, m->in_h, m->in_w);
    else
        strbuf_printf(b, "%-3s %-32s %-16s %10s\n%-3s %-32s %d x %d x %d\n", "#", "layer", "output shape", "parameters", "",
                  "input", m->in_c, m->in_h, m->in_w);
    for (int i = 0; i < m->nlayers; i++) {
        const nn_layer *l = &m->layers[i];
        describe(l, d, sizeof d);
        size_t dl = strlen(d); /* a graph: where the inputs come from, when not from the layer before */
        if (l->src2 != NN_NO_INPUT)
            snprintf(d + dl, sizeof d - dl, " (%d%s%d)", l->src, l->kind == L_ADD ? " + " : ", ", l->src2);
        else if (l->src != i - 1)
            snprintf(d + dl, sizeof d - dl, " (from %d)", l->src);
        shape_text(l->out_c, l->out_h, l->out_w, sh, sizeof sh);
        act += nn_layer_out_size(l);
        if (html)
            strbuf_printf(b, "<tr><td>%d</td><td>%s</td><td>%s</td><td style=\"text-align:right\">%zu</td></tr>", i, d, sh,
                      l->nparams);
        else
            strbuf_printf(b, "%-3d %-32s %-16s %10zu\n", i, d, sh, l->nparams);
    }
    double pmb = (double)m->nparams * sizeof(nn_real) / 1048576.0, amb = (double)act * sizeof(nn_real) / 1024.0;
    if (html)
        strbuf_printf(b, "</tbody></table><p>%zu trainable parameters (%.2f MiB float32, optimizer state %.2f MiB); activations %.1f KiB per image; "
                     "loss: %s; optimizer: %s lr %g; %ld steps taken</p>",
                  m->nparams, pmb, 2 * pmb, amb, loss_name(m->loss), opt_name(m->opt.kind), m->opt.lr, m->step);
    else
        strbuf_printf(b, "%zu trainable parameters (%.2f MiB float32, optimizer state %.2f MiB); activations %.1f KiB per image\n"
                     "loss: %s; optimizer: %s lr %g; %ld steps taken\n",
                  m->nparams, pmb, 2 * pmb, amb, loss_name(m->loss), opt_name(m->opt.kind), m->opt.lr, m->step);
}

const char *nn_summary_text(nn_model *m)
{
    if (!m) {
        cairn_error("nn_summary_text", "the model is NULL");
        return "";
    }
    nn_summary_invalidate(m); /* loss, optimizer and step count change without a layer change */
    strbuf b = {0};
    build_summary(m, &b, 0);
    m->summary = b.s;
    return m->summary ? m->summary : "";
}

void nn_summary(nn_model *m)
{
    if (!m) {
        cairn_error("nn_summary", "the model is NULL");
        return;
    }
    const char *text = nn_summary_text(m);
    strbuf b = {0};
    build_summary(m, &b, 1);
    display_part parts[2] = {{"text/plain", text, strlen(text)}, {"text/html", b.s ? b.s : "", b.s ? b.len : 0}};
    display_bundle(parts, 2, NULL);
    free(b.s);
}

void cairn_show_nn_model(const void *value, size_t size, const char *type)
{
    (void)size;
    (void)type;
    nn_model *m = *(nn_model *const *)value;
    if (!m) {
        display_part p = {"text/plain", "NULL", 4};
        display_result_bundle(&p, 1);
        return;
    }
    const char *text = nn_summary_text(m);
    strbuf b = {0};
    build_summary(m, &b, 1);
    display_part parts[2] = {{"text/plain", text, strlen(text)}, {"text/html", b.s ? b.s : "", b.s ? b.len : 0}};
    display_result_bundle(parts, 2);
    free(b.s);
}

figure *nn_plot_feature_maps(nn_model *m, int layer, mat X, int row)
{
    mat f = nn_feature_maps(m, layer, X, row);
    if (mat_is_empty(f))
        return NULL;
    figure *fig = plot_figure(0, 0);
    int ncols = f.channels <= 4 ? f.channels : f.channels <= 16 ? 4 : 8;
    plot_channels(fig, f, 0, ncols, "viridis");
    char title[128];
    snprintf(title, sizeof title, "layer %d (%s): %d x %d x %d", layer, nn_kind_name(m->layers[layer].kind), f.channels,
             f.height, f.width);
    plot_suptitle(fig, title);
    mat_free(&f);
    return fig;
}

figure *nn_plot_filters(nn_model *m)
{
    int li = -1;
    for (int i = 0; m && i < m->nlayers && li < 0; i++)
        if (m->layers[i].kind == L_CONV)
            li = i;
    if (li < 0) {
        cairn_error("nn_plot_filters", "the network has no conv2d layer");
        return NULL;
    }
    const nn_layer *l = &m->layers[li];
    int n = l->out_c * l->in_c, kk = l->k * l->k;
    mat w = mat_alloc(n, kk);
    if (mat_is_empty(w))
        return NULL;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < kk; j++)
            *mat_ptr(w, i, j) = m->params[l->w_off + (size_t)i * kk + j];
    mat_set_image_shape(&w, 1, l->k, l->k);
    figure *fig = plot_figure(0, 0);
    plot_image_grid(fig, w, l->in_c > 1 ? l->in_c : (n <= 16 ? 4 : 8), NULL, "gray");
    plot_suptitle(fig, l->in_c > 1 ? "conv2d filters (one row per filter, one column per input channel)" : "conv2d filters");
    mat_free(&w);
    return fig;
}

figure *nn_plot_misclassified(nn_model *m, mat X, mat y, int max, const char *const *names)
{
    if (m && m->loss != NN_LOSS_CROSS_ENTROPY && m->loss != NN_LOSS_BINARY_CROSS_ENTROPY) {
        cairn_error("nn_plot_misclassified", "needs a classification model (cross-entropy or BCE)");
        return NULL;
    }
    if (max <= 0)
        max = 16;
    mat p = nn_predict(m, X);
    if (mat_is_empty(p))
        return NULL;
    if (nn_check_targets(m, y, X.rows, "nn_plot_misclassified") || p.cols != 1) {
        if (p.cols != 1)
            cairn_error("nn_plot_misclassified", "needs one label per row (the model has %d outputs)", p.cols);
        mat_free(&p);
        return NULL;
    }
    int *rows = nn_alloc_zero((size_t)max * sizeof(int)), count = 0;
    char (*cap)[64] = nn_alloc_zero((size_t)max * 64);
    const char **caps = nn_alloc_zero((size_t)max * sizeof(char *));
    for (int i = 0; i < X.rows && count < max && rows && cap && caps; i++) {
        int t = (int)*mat_ptr(y, i, 0), q = (int)*mat_ptr(p, i, 0);
        if (t == q)
            continue;
        if (names)
            snprintf(cap[count], 64, "%s -> %s", names[t], names[q]);
        else
            snprintf(cap[count], 64, "%d -> %d", t, q);
        caps[count] = cap[count];
        rows[count++] = i;
    }
    figure *fig = plot_figure(0, 0);
    mat img = X;
    if (!img.channels)
        mat_set_image_shape(&img, m->in_c, m->in_h, m->in_w);
    if (count > 0)
        plot_image_grid_rows(fig, img, rows, count, count < 8 ? count : 8, caps, "gray");
    char title[96];
    snprintf(title, sizeof title, "%d misclassified shown (true -> predicted)", count);
    plot_suptitle(fig, title);
    nn_release(rows);
    nn_release(cap);
    nn_release(caps);
    mat_free(&p);
    return fig;
}
