/* cluster_plot.c — the figures of a clustering or a classifier, drawn with the plot
 * module: samples on their first two principal axes coloured by cluster (with the
 * centres projected the same way), the centres as an image grid, the elbow curve, and a
 * confusion matrix. Each returns a new figure (show it, or end the cell with it). */
#include "cairn/cluster.h"
#include "cairn/error.h"
#include "cairn/linalg.h"
#include "cairn/plot.h"
#include "cluster_internal.h"

#include <stdio.h>
#include <stdlib.h>

figure *kmeans_plot_clusters(mat X, mat labels, const kmeans_result *km)
{
    const char *func = "kmeans_plot_clusters";
    if (cl_check_data(func, X, "X") < 0)
        return NULL;
    if (X.cols < 2 || X.rows < 3) {
        cairn_error(func, "X is %d x %d: a 2-D projection needs at least 3 rows and 2 columns", X.rows, X.cols);
        return NULL;
    }
    if (!mat_is_empty(labels)) {
        int n = cl_vector_length(func, labels, "labels");
        if (n < 0)
            return NULL;
        if (n != X.rows) {
            cairn_error(func, "labels has %d entries (%d x %d) but X has %d rows", n, labels.rows, labels.cols,
                        X.rows);
            return NULL;
        }
    }
    if (km && km->centers.cols != X.cols) {
        cairn_error(func, "X is %d x %d but the centres have %d features", X.rows, X.cols, km->centers.cols);
        return NULL;
    }
    pca_model p = pca_fit(X, 2);
    if (mat_is_empty(p.components))
        return NULL;
    mat Z = pca_transform(p, X);
    mat Zc = km ? pca_transform(p, km->centers) : mat_empty();
    figure *fig = plot_figure(0, 0);
    plot_axes *ax = plot_subplot(fig, 0);
    int s = plot_scatter_points(ax, Z, labels, X.rows > 5000 ? 3 : 6);
    plot_label(ax, s, "samples");
    if (km) {
        int c = plot_scatter_points(ax, Zc, mat_empty(), 14);
        plot_style(ax, c, "x");
        plot_color(ax, c, "black");
        plot_label(ax, c, "centres");
    }
    char xl[64], yl[64];
    snprintf(xl, sizeof xl, "PC1 (%.1f %% of the variance)", 100 * p.explained_variance_ratio.data[0]);
    snprintf(yl, sizeof yl, "PC2 (%.1f %% of the variance)", 100 * p.explained_variance_ratio.data[1]);
    plot_xlabel(ax, xl);
    plot_ylabel(ax, yl);
    plot_title(ax, km ? "clusters on the first two principal axes" : "samples on the first two principal axes");
    mat_free(&Z);
    mat_free(&Zc);
    pca_free(&p);
    return fig;
}

figure *kmeans_plot_centers(const kmeans_result *km, int ncols)
{
    const char *func = "kmeans_plot_centers";
    if (!km || mat_is_empty(km->centers)) {
        cairn_error(func, "the k-means result is NULL or empty (did the fit fail?)");
        return NULL;
    }
    mat C = km->centers;
    figure *fig = plot_figure(0, 0);
    if (C.channels > 0 && (long)C.channels * C.height * C.width == C.cols) {
        char(*text)[32] = calloc((size_t)C.rows, sizeof *text);
        const char **captions = calloc((size_t)C.rows, sizeof *captions);
        int *count = calloc((size_t)C.rows, sizeof *count);
        if (!text || !captions || !count) {
            free(text);
            free(captions);
            free(count);
            plot_free(fig);
            cairn_error(func, "out of memory for %d captions", C.rows);
            return NULL;
        }
        for (int i = 0; i < km->labels.rows; i++)
            count[(int)km->labels.data[i]]++;
        for (int j = 0; j < C.rows; j++) {
            snprintf(text[j], sizeof text[j], "%d (n=%d)", j, count[j]);
            captions[j] = text[j];
        }
        int rc = plot_image_grid(fig, C, ncols > 0 ? ncols : 5, captions, "gray");
        free(text);
        free(captions);
        free(count);
        if (rc < 0) {
            plot_free(fig);
            return NULL;
        }
        plot_suptitle(fig, "k-means centres");
    } else {
        plot_axes *ax = plot_subplot(fig, 0);
        plot_heatmap(ax, C, NULL);
        plot_title(ax, "k-means centres (one per row)");
        plot_xlabel(ax, "feature");
        plot_ylabel(ax, "cluster");
    }
    return fig;
}

mat kmeans_elbow(mat X, int k_min, int k_max, const kmeans_options *opt)
{
    const char *func = "kmeans_elbow";
    if (cl_check_data(func, X, "X") < 0)
        return mat_empty();
    if (k_min < 1 || k_max < k_min || k_max > X.rows) {
        cairn_error(func, "k from %d to %d must satisfy 1 <= k_min <= k_max <= %d (the rows of X, %d x %d)", k_min,
                    k_max, X.rows, X.rows, X.cols);
        return mat_empty();
    }
    mat E = mat_alloc(k_max - k_min + 1, 2);
    for (int k = k_min; E.data && k <= k_max; k++) {
        kmeans_result *km = kmeans_fit(X, k, opt);
        if (!km) {
            mat_free(&E);
            return mat_empty();
        }
        *mat_ptr(E, k - k_min, 0) = k;
        *mat_ptr(E, k - k_min, 1) = km->inertia;
        int stop = km->interrupted;
        kmeans_free(km);
        if (stop) { /* keep the rows done so far */
            E.rows = k - k_min + 1;
            break;
        }
    }
    return E;
}

figure *kmeans_plot_elbow(mat elbow)
{
    const char *func = "kmeans_plot_elbow";
    if (mat_is_empty(elbow) || elbow.cols != 2) {
        cairn_error(func, "elbow must be the r x 2 table [k, inertia] of kmeans_elbow, it is %d x %d", elbow.rows,
                    elbow.cols);
        return NULL;
    }
    figure *fig = plot_figure(0, 0);
    plot_axes *ax = plot_subplot(fig, 0);
    int s = plot_line(ax, mat_col(elbow, 0), mat_col(elbow, 1), NULL);
    plot_style(ax, s, "o-");
    plot_xlabel(ax, "k (clusters)");
    plot_ylabel(ax, "inertia");
    plot_title(ax, "elbow: inertia against k");
    plot_grid(ax, 1);
    return fig;
}

figure *metric_plot_confusion(mat y_true, mat y_pred, const char *const *names)
{
    mat C = metric_confusion(y_true, y_pred);
    if (mat_is_empty(C))
        return NULL;
    figure *fig = plot_figure(0, 0);
    plot_axes *ax = plot_subplot(fig, 0);
    plot_confusion(ax, C, names);
    char title[64];
    snprintf(title, sizeof title, "confusion matrix (accuracy %.4f)", metric_accuracy(y_true, y_pred));
    plot_title(ax, title);
    mat_free(&C);
    return fig;
}
