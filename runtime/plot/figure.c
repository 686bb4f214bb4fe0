/* figure.c — the figure model: creating figures and axes, copying data into series,
 * decorations, and the one-line text description every shown figure carries.
 *
 * Builders copy what they are given (cells free their matrices) and check shapes up
 * front, reporting mismatches through cairn_error with both shapes. Empty data is not
 * an error: the series is kept, the axes says "no data" and so does the description.
 * Images are reduced while they are copied when they are larger than any screen
 * (block means), so a 10000 x 10000 matrix costs one pass over its data and a few MiB,
 * not a second copy of 800 MB. */
#include "plot_internal.h"
#include "cairn/alloc.h"
#include "cairn/error.h"
#include "../core/strbuf.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_WIDTH 640
#define DEFAULT_HEIGHT 480
#define MAX_SIDE 16384
#define IMAGE_MAX_DIM 1600 /* images larger than this per side are stored as block means */
#define GRID_MAX_IMAGES 400

static char *text_copy(const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s);
    char *d = malloc(n + 1);
    if (d)
        memcpy(d, s, n + 1);
    return d;
}

static void invalidate(figure *fig)
{
    if (fig && fig->description) {
        free(fig->description);
        fig->description = NULL;
    }
}

/* A fresh axes of fig in ax: limits automatic, no legend or colorbar, axis drawn. */
static void xticks_release(plot_axes *ax)
{
    for (int i = 0; i < ax->nxticks; i++)
        free(ax->xtick_text[i]);
    free(ax->xtick_text);
    free(ax->xtick_pos);
    ax->xtick_text = NULL;
    ax->xtick_pos = NULL;
    ax->nxticks = 0;
}

static void axes_init(plot_axes *ax, figure *fig)
{
    memset(ax, 0, sizeof *ax);
    ax->fig = fig;
    ax->xlim[0] = ax->xlim[1] = NAN;
    ax->ylim[0] = ax->ylim[1] = NAN;
    ax->clim[0] = ax->clim[1] = NAN;
    ax->legend = -1;
    ax->colorbar = -1;
    ax->axis_on = 1;
}

static plot_axes *axes_new(figure *fig)
{
    plot_axes *ax = malloc(sizeof *ax);
    if (ax)
        axes_init(ax, fig);
    return ax;
}

static void series_release(series *s)
{
    free(s->label);
    cairn_free(s->x);
    cairn_free(s->y);
    cairn_free(s->classes);
    cairn_free(s->img);
    if (s->bar_names) {
        for (int i = 0; i < s->n; i++)
            free(s->bar_names[i]);
        free(s->bar_names);
    }
}

static void axes_free(plot_axes *ax)
{
    if (!ax)
        return;
    for (int i = 0; i < ax->ns; i++)
        series_release(&ax->s[i]);
    free(ax->s);
    free(ax->title);
    free(ax->xlabel);
    free(ax->ylabel);
    xticks_release(ax);
    free(ax);
}

figure *plot_figure(int width, int height)
{
    if (width == 0 && height == 0) {
        width = DEFAULT_WIDTH;
        height = DEFAULT_HEIGHT;
    }
    if (width < 16 || height < 16 || width > MAX_SIDE || height > MAX_SIDE) {
        cairn_error("plot_figure", "figure size %d x %d is out of range (16 .. %d px per side; 0, 0 for 640 x 480)",
                    width, height, MAX_SIDE);
        return NULL;
    }
    figure *fig = calloc(1, sizeof *fig);
    if (!fig) {
        cairn_error("plot_figure", "out of memory");
        return NULL;
    }
    fig->width = width;
    fig->height = height;
    if (plot_subplots(fig, 1, 1) < 0) {
        free(fig);
        return NULL;
    }
    return fig;
}

void plot_free(figure *fig)
{
    if (!fig)
        return;
    for (int i = 0; i < fig->naxes; i++)
        axes_free(fig->axes[i]);
    for (int i = 0; i < fig->nretired; i++)
        axes_free(fig->retired[i]);
    free(fig->axes);
    free(fig->retired);
    free(fig->suptitle);
    free(fig->description);
    free(fig);
}

/* Empties an axes back to a fresh one (same address, so pointers to it stay valid). */
static void axes_clear(plot_axes *ax)
{
    figure *fig = ax->fig;
    for (int i = 0; i < ax->ns; i++)
        series_release(&ax->s[i]);
    free(ax->s);
    free(ax->title);
    free(ax->xlabel);
    free(ax->ylabel);
    xticks_release(ax);
    axes_init(ax, fig);
}

int plot_subplots(figure *fig, int rows, int cols)
{
    if (!fig) {
        cairn_error("plot_subplots", "figure is NULL");
        return -1;
    }
    if (rows < 1 || cols < 1 || rows * cols > 1024) {
        cairn_error("plot_subplots", "a %d x %d grid of axes is out of range (1 .. 1024 axes)", rows, cols);
        return -1;
    }
    int n = rows * cols;
    int drop = fig->naxes > n ? fig->naxes - n : 0;
    if (drop) {
        plot_axes **retired = realloc(fig->retired, (size_t)(fig->nretired + drop) * sizeof *retired);
        if (!retired) {
            cairn_error("plot_subplots", "out of memory");
            return -1;
        }
        fig->retired = retired;
    }
    plot_axes **axes = calloc((size_t)n, sizeof *axes);
    if (!axes) {
        cairn_error("plot_subplots", "out of memory");
        return -1;
    }
    /* Existing axes keep their index and content, so a cell's `ax` pointers stay valid. */
    for (int i = 0; i < n; i++) {
        axes[i] = i < fig->naxes ? fig->axes[i] : axes_new(fig);
        if (!axes[i]) {
            for (int j = fig->naxes; j < i; j++)
                axes_free(axes[j]);
            free(axes);
            cairn_error("plot_subplots", "out of memory");
            return -1;
        }
    }
    for (int i = n; i < fig->naxes; i++) {
        axes_clear(fig->axes[i]);
        fig->axes[i]->retired = 1;
        fig->retired[fig->nretired++] = fig->axes[i];
    }
    free(fig->axes);
    fig->axes = axes;
    fig->naxes = n;
    fig->grid_rows = rows;
    fig->grid_cols = cols;
    invalidate(fig);
    return 0;
}

/* A grid of empty axes for the image-grid builders. */
static int subplots_fresh(figure *fig, int rows, int cols)
{
    if (plot_subplots(fig, rows, cols) < 0)
        return -1;
    for (int i = 0; i < fig->naxes; i++)
        axes_clear(fig->axes[i]);
    invalidate(fig);
    return 0;
}

/* A fresh grid for n pictures: *ncols as asked (<= 0: about square, never more than n),
 * enough rows for all. Returns the number of rows, or -1. */
static int grid_fresh(figure *fig, int n, int *ncols)
{
    if (*ncols <= 0)
        *ncols = (int)ceil(sqrt((double)n));
    if (*ncols > n)
        *ncols = n;
    int nrows = (n + *ncols - 1) / *ncols;
    return subplots_fresh(fig, nrows, *ncols) < 0 ? -1 : nrows;
}

plot_axes *plot_subplot(figure *fig, int i)
{
    if (!fig) {
        cairn_error("plot_subplot", "figure is NULL");
        return NULL;
    }
    if (i < 0 || i >= fig->naxes) {
        cairn_error("plot_subplot", "axes %d does not exist: the figure has %d (a %d x %d grid)", i, fig->naxes,
                    fig->grid_rows, fig->grid_cols);
        return NULL;
    }
    return fig->axes[i];
}

int plot_axes_count(const figure *fig) { return fig ? fig->naxes : 0; }

void plot_suptitle(figure *fig, const char *title)
{
    if (!fig)
        return;
    free(fig->suptitle);
    fig->suptitle = text_copy(title);
    invalidate(fig);
}

/* ---- series ---- */

static series *series_add(plot_axes *ax, int kind, const char *label)
{
    if (ax->ns == ax->cap) {
        int cap = ax->cap ? ax->cap * 2 : 4;
        series *s = realloc(ax->s, (size_t)cap * sizeof *s);
        if (!s)
            return NULL;
        ax->s = s;
        ax->cap = cap;
    }
    series *s = &ax->s[ax->ns++];
    memset(s, 0, sizeof *s);
    s->kind = kind;
    s->label = text_copy(label);
    s->line = kind == SERIES_LINE ? LINE_SOLID : LINE_NONE;
    s->marker = kind == SERIES_SCATTER ? 'o' : 0;
    invalidate(ax->fig);
    return s;
}

static long vec_len(mat m) { return mat_is_empty(m) ? 0 : (long)m.rows * m.cols; }

/* Element k of m read row by row: a row vector, a column vector or a whole matrix. */
static double vec_at(mat m, long k) { return *mat_ptr(m, (int)(k / m.cols), (int)(k % m.cols)); }

static int points_reserve(series *s, int n)
{
    if (n <= s->cap)
        return 0;
    int cap = s->cap ? s->cap : 16;
    while (cap < n)
        cap = cap > (1 << 29) ? n : cap * 2;
    /* Point data is runtime memory (cairn_alloc), so the session's accounting sees it. */
    double *x = cairn_alloc((size_t)cap * sizeof *x), *y = cairn_alloc((size_t)cap * sizeof *y);
    if (!x || !y) {
        cairn_free(x);
        cairn_free(y);
        return -1;
    }
    if (s->n) {
        memcpy(x, s->x, (size_t)s->n * sizeof *x);
        memcpy(y, s->y, (size_t)s->n * sizeof *y);
    }
    cairn_free(s->x);
    cairn_free(s->y);
    s->x = x;
    s->y = y;
    s->cap = cap;
    return 0;
}

static int check_axes(const char *func, plot_axes *ax)
{
    if (!ax) {
        cairn_error(func, "axes is NULL (get one with plot_subplot(fig, i))");
        return -1;
    }
    if (ax->retired) {
        cairn_error(func, "this axes is no longer in its figure: plot_subplots made a smaller grid (get one with "
                          "plot_subplot(fig, i))");
        return -1;
    }
    return 0;
}

int plot_line(plot_axes *ax, mat x, mat y, const char *label)
{
    if (check_axes("plot_line", ax) < 0)
        return -1;
    long n = vec_len(y), nx = vec_len(x);
    if (nx && nx != n) {
        cairn_error("plot_line", "x has %ld values (%d x %d) but y has %ld (%d x %d)", nx, x.rows, x.cols, n, y.rows,
                    y.cols);
        return -1;
    }
    if (n > (1L << 30)) {
        cairn_error("plot_line", "%ld points are too many for one line", n);
        return -1;
    }
    series *s = series_add(ax, SERIES_LINE, label);
    if (!s || points_reserve(s, (int)n) < 0) {
        if (s)
            ax->ns--, series_release(s);
        cairn_error("plot_line", "out of memory copying %ld points", n);
        return -1;
    }
    for (long k = 0; k < n; k++) {
        s->x[k] = nx ? vec_at(x, k) : (double)k;
        s->y[k] = vec_at(y, k);
    }
    s->n = (int)n;
    return ax->ns - 1;
}

int plot_line_array(plot_axes *ax, const double *x, const double *y, int n, const char *label)
{
    if (check_axes("plot_line_array", ax) < 0)
        return -1;
    if (n < 0 || (n > 0 && !y)) {
        cairn_error("plot_line_array", "needs y values (got y = %p, n = %d)", (const void *)y, n);
        return -1;
    }
    series *s = series_add(ax, SERIES_LINE, label);
    if (!s || points_reserve(s, n) < 0) {
        if (s)
            ax->ns--, series_release(s);
        cairn_error("plot_line_array", "out of memory copying %d points", n);
        return -1;
    }
    for (int k = 0; k < n; k++) {
        s->x[k] = x ? x[k] : (double)k;
        s->y[k] = y[k];
    }
    s->n = n;
    return ax->ns - 1;
}

static series *series_get(const char *func, plot_axes *ax, int i)
{
    if (check_axes(func, ax) < 0)
        return NULL;
    if (i < 0 || i >= ax->ns) {
        cairn_error(func, "series %d does not exist: the axes has %d", i, ax->ns);
        return NULL;
    }
    return &ax->s[i];
}

int plot_append(plot_axes *ax, int series_index, double x, double y)
{
    series *s = series_get("plot_append", ax, series_index);
    if (!s)
        return -1;
    if (s->kind != SERIES_LINE && s->kind != SERIES_SCATTER) {
        cairn_error("plot_append", "series %d is not a line or scatter", series_index);
        return -1;
    }
    if (s->kind == SERIES_SCATTER && s->classes) {
        cairn_error("plot_append", "series %d is a scatter coloured by labels; points cannot be appended", series_index);
        return -1;
    }
    if (points_reserve(s, s->n + 1) < 0) {
        cairn_error("plot_append", "out of memory");
        return -1;
    }
    s->x[s->n] = x;
    s->y[s->n] = y;
    s->n++;
    invalidate(ax->fig);
    return 0;
}

void plot_style(plot_axes *ax, int series_index, const char *style)
{
    series *s = series_get("plot_style", ax, series_index);
    if (!s || !style)
        return;
    char marker = 0;
    int line = LINE_NONE;
    for (const char *p = style; *p; p++) {
        if (strchr("os^+x.v*D", *p))
            marker = *p;
        else if (p[0] == '-' && p[1] == '-')
            line = LINE_DASHED, p++;
        else if (p[0] == '-' && p[1] == '.')
            line = LINE_DASHDOT, p++;
        else if (*p == '-')
            line = LINE_SOLID;
        else if (*p == ':')
            line = LINE_DOTTED;
        else if (*p != ' ') {
            cairn_error("plot_style", "unknown style character '%c' in \"%s\" (markers: o s ^ v + x . * D; lines: - -- : -.)",
                        *p, style);
            return;
        }
    }
    s->marker = marker;
    s->line = line;
    invalidate(ax->fig);
}

void plot_color(plot_axes *ax, int series_index, const char *color)
{
    series *s = series_get("plot_color", ax, series_index);
    if (!s)
        return;
    uint32_t rgb;
    if (color_parse(color, &rgb) < 0) {
        cairn_error("plot_color", "unknown colour \"%s\" (use \"#rrggbb\" or blue, orange, green, red, purple, brown, "
                                  "pink, gray, olive, cyan, black)", color ? color : "(null)");
        return;
    }
    s->color = rgb;
    s->color_set = 1;
    invalidate(ax->fig);
}

void plot_label(plot_axes *ax, int series_index, const char *label)
{
    series *s = series_get("plot_label", ax, series_index);
    if (!s)
        return;
    free(s->label);
    s->label = text_copy(label);
    invalidate(ax->fig);
}

int plot_scatter(plot_axes *ax, mat x, mat y, mat labels, double size)
{
    if (check_axes("plot_scatter", ax) < 0)
        return -1;
    long n = vec_len(y), nx = vec_len(x), nl = vec_len(labels);
    if (nx != n) {
        cairn_error("plot_scatter", "x has %ld values (%d x %d) but y has %ld (%d x %d)", nx, x.rows, x.cols, n, y.rows,
                    y.cols);
        return -1;
    }
    if (nl && nl != n) {
        cairn_error("plot_scatter", "labels has %ld values (%d x %d) but there are %ld points", nl, labels.rows,
                    labels.cols, n);
        return -1;
    }
    if (n > (1L << 30)) {
        cairn_error("plot_scatter", "%ld points are too many", n);
        return -1;
    }
    series *s = series_add(ax, SERIES_SCATTER, NULL);
    if (!s || points_reserve(s, (int)n) < 0 || (nl && !(s->classes = cairn_alloc((size_t)n * sizeof(int))))) {
        if (s)
            ax->ns--, series_release(s);
        cairn_error("plot_scatter", "out of memory copying %ld points", n);
        return -1;
    }
    int maxc = -1;
    for (long k = 0; k < n; k++) {
        s->x[k] = vec_at(x, k);
        s->y[k] = vec_at(y, k);
        if (nl) {
            double c = vec_at(labels, k);
            int ci = isfinite(c) && c >= 0 && c < 1e6 ? (int)c : -1;
            s->classes[k] = ci;
            if (ci > maxc)
                maxc = ci;
        }
    }
    s->n = (int)n;
    s->nclasses = maxc + 1;
    s->size = size > 0 ? size : 0;
    return ax->ns - 1;
}

int plot_scatter_points(plot_axes *ax, mat points, mat labels, double size)
{
    if (check_axes("plot_scatter_points", ax) < 0)
        return -1;
    if (!mat_is_empty(points) && points.cols < 2) {
        cairn_error("plot_scatter_points", "points is %d x %d; it needs at least 2 columns (x, y)", points.rows,
                    points.cols);
        return -1;
    }
    mat x = points, y = points;
    if (!mat_is_empty(points)) {
        /* Column views: one column each, stepping one row at a time. */
        x.cols = 1;
        y.data = points.data + 1;
        y.cols = 1;
    }
    return plot_scatter(ax, x, y, labels, size);
}

/* Copies an image (channels x height x width, channel planes `plane` apart, pixel rows
 * `row_stride` apart) into s, reduced to block means when a side exceeds IMAGE_MAX_DIM,
 * counting NaN/Inf and the finite range on the way. */
static int image_copy(series *s, const double *base, int height, int width, int channels, size_t row_stride,
                      size_t plane)
{
    int fy = (height + IMAGE_MAX_DIM - 1) / IMAGE_MAX_DIM, fx = (width + IMAGE_MAX_DIM - 1) / IMAGE_MAX_DIM;
    int rh = (height + fy - 1) / fy, rw = (width + fx - 1) / fx;
    s->img = cairn_alloc((size_t)rh * (size_t)rw * (size_t)channels * sizeof(float));
    double *sum = calloc((size_t)rw, sizeof *sum);
    int *cnt = calloc((size_t)rw, sizeof *cnt);
    if (!s->img || !sum || !cnt) {
        free(sum);
        free(cnt);
        return -1;
    }
    s->rows = rh;
    s->cols = rw;
    s->channels = channels;
    s->data_rows = height;
    s->data_cols = width;
    s->fy = fy;
    s->fx = fx;
    double lo = INFINITY, hi = -INFINITY;
    long nan = 0, inf = 0;
    for (int c = 0; c < channels; c++) {
        for (int by = 0; by < rh; by++) {
            int y0 = by * fy, y1 = y0 + fy < height ? y0 + fy : height;
            memset(sum, 0, (size_t)rw * sizeof *sum);
            memset(cnt, 0, (size_t)rw * sizeof *cnt);
            for (int y = y0; y < y1; y++) {
                const double *row = base + (size_t)c * plane + (size_t)y * row_stride;
                for (int bx = 0; bx < rw; bx++) {
                    int x0 = bx * fx, x1 = x0 + fx < width ? x0 + fx : width;
                    double acc = 0;
                    int k = 0;
                    for (int xx = x0; xx < x1; xx++) {
                        double v = row[xx];
                        if (isfinite(v)) {
                            acc += v;
                            k++;
                            if (v < lo)
                                lo = v;
                            if (v > hi)
                                hi = v;
                        } else if (isnan(v)) {
                            nan++;
                        } else {
                            inf++;
                        }
                    }
                    sum[bx] += acc;
                    cnt[bx] += k;
                }
            }
            float *out = s->img + ((size_t)by * (size_t)rw) * (size_t)channels + (size_t)c;
            for (int bx = 0; bx < rw; bx++)
                out[(size_t)bx * (size_t)channels] = cnt[bx] ? (float)(sum[bx] / cnt[bx]) : NAN;
        }
    }
    free(sum);
    free(cnt);
    s->dmin = lo;
    s->dmax = hi;
    s->nan_count = nan;
    s->inf_count = inf;
    return 0;
}

static int image_add(const char *func, plot_axes *ax, const double *base, int height, int width, int channels,
                     size_t row_stride, size_t plane, const char *cmap, int square)
{
    int reversed = 0, id = colormap_find(cmap, &reversed);
    if (id < 0) {
        cairn_error(func, "unknown colormap \"%s\" (viridis, magma, gray, coolwarm, blues; add _r to reverse)", cmap);
        return -1;
    }
    series *s = series_add(ax, SERIES_IMAGE, NULL);
    if (!s) {
        cairn_error(func, "out of memory");
        return -1;
    }
    s->cmap = id;
    s->cmap_reversed = reversed;
    s->square = square;
    if (height > 0 && width > 0 && image_copy(s, base, height, width, channels, row_stride, plane) < 0) {
        ax->ns--;
        series_release(s);
        cairn_error(func, "out of memory copying a %d x %d image", height, width);
        return -1;
    }
    if (height <= 0 || width <= 0)
        ax->empty_note = 1;
    ax->image_axes = 1;
    return ax->ns - 1;
}

int plot_heatmap(plot_axes *ax, mat m, const char *cmap)
{
    if (check_axes("plot_heatmap", ax) < 0)
        return -1;
    int e = mat_is_empty(m);
    int i = image_add("plot_heatmap", ax, m.data, e ? 0 : m.rows, e ? 0 : m.cols, 1, (size_t)m.stride, 0, cmap, 0);
    if (i >= 0 && ax->colorbar < 0)
        ax->colorbar = 1;
    return i;
}

int plot_image(plot_axes *ax, mat m, const char *cmap)
{
    if (check_axes("plot_image", ax) < 0)
        return -1;
    int e = mat_is_empty(m);
    return image_add("plot_image", ax, m.data, e ? 0 : m.rows, e ? 0 : m.cols, 1, (size_t)m.stride, 0, cmap, 1);
}

/* The (channels, height, width) of one row of m: its declared image shape, else a square
 * single-channel image when cols is a perfect square, else a 1-pixel-high strip. */
static void row_shape(mat m, int *c, int *h, int *w)
{
    if (m.channels > 0 && m.height > 0 && m.width > 0 && (long)m.channels * m.height * m.width == m.cols) {
        *c = m.channels;
        *h = m.height;
        *w = m.width;
        return;
    }
    int side = (int)lround(sqrt((double)m.cols));
    *c = 1;
    if (side * side == m.cols) {
        *h = side;
        *w = side;
    } else {
        *h = 1;
        *w = m.cols;
    }
}

int plot_image_row(plot_axes *ax, mat m, int row, const char *cmap)
{
    if (check_axes("plot_image_row", ax) < 0)
        return -1;
    if (mat_is_empty(m))
        return image_add("plot_image_row", ax, NULL, 0, 0, 1, 0, 0, cmap, 1);
    if (row < 0 || row >= m.rows) {
        cairn_error("plot_image_row", "row %d is out of range for a %d x %d matrix", row, m.rows, m.cols);
        return -1;
    }
    int c, h, w;
    row_shape(m, &c, &h, &w);
    if (c != 1 && c != 3) {
        /* Feature maps with many channels: show the first one, as a grid would per channel. */
        c = 1;
    }
    return image_add("plot_image_row", ax, mat_ptr(m, row, 0), h, w, c, (size_t)w, (size_t)h * (size_t)w, cmap, 1);
}

int plot_image_grid_rows(figure *fig, mat images, const int *rows, int count, int ncols,
                         const char *const *captions, const char *cmap)
{
    if (!fig) {
        cairn_error("plot_image_grid", "figure is NULL");
        return -1;
    }
    int n = rows ? count : images.rows;
    if (mat_is_empty(images) || n <= 0) {
        if (subplots_fresh(fig, 1, 1) < 0)
            return -1;
        fig->axes[0]->empty_note = 1;
        fig->axes[0]->axis_on = 0;
        return 0;
    }
    for (int i = 0; rows && i < n; i++) {
        if (rows[i] < 0 || rows[i] >= images.rows) {
            cairn_error("plot_image_grid", "row index rows[%d] = %d is out of range for a %d x %d matrix", i, rows[i],
                        images.rows, images.cols);
            return -1;
        }
    }
    int shown = n > GRID_MAX_IMAGES ? GRID_MAX_IMAGES : n;
    int nrows = grid_fresh(fig, shown, &ncols);
    if (nrows < 0)
        return -1;
    for (int i = 0; i < nrows * ncols; i++) {
        plot_axes *ax = fig->axes[i];
        ax->axis_on = 0;
        if (i >= shown)
            continue;
        if (plot_image_row(ax, images, rows ? rows[i] : i, cmap) < 0)
            return -1;
        if (captions && captions[i])
            ax->title = text_copy(captions[i]);
    }
    if (shown < n) {
        char note[96];
        snprintf(note, sizeof note, "first %d of %d images", shown, n);
        plot_suptitle(fig, note);
    }
    return 0;
}

int plot_image_grid(figure *fig, mat images, int ncols, const char *const *captions, const char *cmap)
{
    return plot_image_grid_rows(fig, images, NULL, 0, ncols, captions, cmap);
}

int plot_channels(figure *fig, mat m, int row, int ncols, const char *cmap)
{
    if (!fig) {
        cairn_error("plot_channels", "figure is NULL");
        return -1;
    }
    if (mat_is_empty(m) || row < 0 || row >= m.rows) {
        cairn_error("plot_channels", "row %d is out of range for a %d x %d matrix", row, m.rows, m.cols);
        return -1;
    }
    if (!(m.channels > 0 && m.height > 0 && m.width > 0 && (long)m.channels * m.height * m.width == m.cols)) {
        cairn_error("plot_channels", "rows of the %d x %d matrix have no image shape (channels %d, height %d, width %d)",
                    m.rows, m.cols, m.channels, m.height, m.width);
        return -1;
    }
    int n = m.channels > GRID_MAX_IMAGES ? GRID_MAX_IMAGES : m.channels;
    int nrows = grid_fresh(fig, n, &ncols);
    if (nrows < 0)
        return -1;
    size_t plane = (size_t)m.height * (size_t)m.width;
    for (int i = 0; i < nrows * ncols; i++) {
        plot_axes *ax = fig->axes[i];
        ax->axis_on = 0;
        if (i >= n)
            continue;
        if (image_add("plot_channels", ax, mat_ptr(m, row, 0) + plane * (size_t)i, m.height, m.width, 1,
                      (size_t)m.width, plane, cmap, 1) < 0)
            return -1;
        char caption[16];
        snprintf(caption, sizeof caption, "%d", i);
        ax->title = text_copy(caption);
    }
    if (n < m.channels) {
        char note[96];
        snprintf(note, sizeof note, "first %d of %d channels", n, m.channels);
        plot_suptitle(fig, note);
    }
    return 0;
}

static int bars_add(const char *func, plot_axes *ax, int n, const char *const *names)
{
    series *s = series_add(ax, SERIES_BARS, NULL);
    if (!s || points_reserve(s, n) < 0) {
        if (s)
            ax->ns--, series_release(s);
        cairn_error(func, "out of memory");
        return -1;
    }
    s->n = n;
    if (names && n > 0) {
        s->bar_names = calloc((size_t)n, sizeof(char *));
        for (int i = 0; s->bar_names && i < n; i++)
            s->bar_names[i] = text_copy(names[i] ? names[i] : "");
    }
    return ax->ns - 1;
}

int plot_hist(plot_axes *ax, mat values, int bins)
{
    if (check_axes("plot_hist", ax) < 0)
        return -1;
    if (bins == 0)
        bins = 10;
    if (bins < 1 || bins > 100000) {
        cairn_error("plot_hist", "%d bins is out of range (1 .. 100000)", bins);
        return -1;
    }
    long n = vec_len(values), nan = 0, inf = 0;
    double lo = INFINITY, hi = -INFINITY;
    for (long k = 0; k < n; k++) {
        double v = vec_at(values, k);
        if (isfinite(v)) {
            lo = v < lo ? v : lo;
            hi = v > hi ? v : hi;
        } else if (isnan(v)) {
            nan++;
        } else {
            inf++;
        }
    }
    int finite = lo <= hi;
    int i = bars_add("plot_hist", ax, finite ? bins : 0, NULL);
    if (i < 0)
        return -1;
    series *s = &ax->s[i];
    s->nan_count = nan;
    s->inf_count = inf;
    if (!finite) {
        ax->empty_note = 1;
        return i;
    }
    if (hi == lo) {
        lo -= 0.5;
        hi += 0.5;
    }
    double w = (hi - lo) / bins;
    for (int b = 0; b < bins; b++) {
        s->x[b] = lo + (b + 0.5) * w;
        s->y[b] = 0;
    }
    for (long k = 0; k < n; k++) {
        double v = vec_at(values, k);
        if (!isfinite(v))
            continue;
        int b = (int)((v - lo) / w);
        if (b >= bins)
            b = bins - 1; /* the last bin is closed, as in numpy */
        if (b < 0)
            b = 0;
        s->y[b] += 1;
    }
    s->size = w;
    s->hist = 1;
    return i;
}

int plot_bar(plot_axes *ax, mat heights, const char *const *labels)
{
    if (check_axes("plot_bar", ax) < 0)
        return -1;
    long n = vec_len(heights);
    if (n > 100000) {
        cairn_error("plot_bar", "%ld bars are too many (at most 100000)", n);
        return -1;
    }
    int i = bars_add("plot_bar", ax, (int)n, labels);
    if (i < 0)
        return -1;
    series *s = &ax->s[i];
    for (long k = 0; k < n; k++) {
        s->x[k] = (double)k;
        s->y[k] = vec_at(heights, k);
        if (isnan(s->y[k]))
            s->nan_count++;
        else if (isinf(s->y[k]))
            s->inf_count++;
    }
    s->size = 0.8;
    if (n == 0)
        ax->empty_note = 1;
    return i;
}

int plot_confusion(plot_axes *ax, mat counts, const char *const *class_names)
{
    if (check_axes("plot_confusion", ax) < 0)
        return -1;
    if (!mat_is_empty(counts) && counts.rows != counts.cols) {
        cairn_error("plot_confusion", "counts is %d x %d; a confusion matrix is square (k x k)", counts.rows,
                    counts.cols);
        return -1;
    }
    int e = mat_is_empty(counts);
    int i = image_add("plot_confusion", ax, counts.data, e ? 0 : counts.rows, e ? 0 : counts.cols, 1,
                      (size_t)counts.stride, 0, "blues", 1);
    if (i < 0)
        return -1;
    series *s = &ax->s[i];
    s->annotate = 1;
    if (class_names && !e) {
        s->n = counts.rows;
        s->bar_names = calloc((size_t)s->n, sizeof(char *));
        for (int k = 0; s->bar_names && k < s->n; k++)
            s->bar_names[k] = text_copy(class_names[k] ? class_names[k] : "");
    }
    if (ax->colorbar < 0)
        ax->colorbar = 1;
    if (!ax->xlabel)
        ax->xlabel = text_copy("Predicted label");
    if (!ax->ylabel)
        ax->ylabel = text_copy("True label");
    return i;
}

/* ---- decorations ---- */

static void set_text(plot_axes *ax, char **slot, const char *text)
{
    if (!ax)
        return;
    free(*slot);
    *slot = text_copy(text);
    invalidate(ax->fig);
}

void plot_title(plot_axes *ax, const char *title)
{
    if (ax)
        set_text(ax, &ax->title, title);
}

int plot_xticks(plot_axes *ax, const double *positions, const char *const *labels, int n)
{
    if (check_axes("plot_xticks", ax) < 0)
        return -1;
    if (n < 0 || n > 64 || (n > 0 && (!positions || !labels))) {
        cairn_error("plot_xticks", "needs 0..64 positions and as many labels (got n = %d, positions %s, labels %s)", n,
                    positions ? "given" : "NULL", labels ? "given" : "NULL");
        return -1;
    }
    for (int i = 0; i < n; i++)
        if (!isfinite(positions[i])) {
            cairn_error("plot_xticks", "position %d is %g", i, positions[i]);
            return -1;
        }
    xticks_release(ax);
    if (n > 0) {
        ax->xtick_pos = malloc((size_t)n * sizeof *ax->xtick_pos);
        ax->xtick_text = calloc((size_t)n, sizeof *ax->xtick_text);
        if (!ax->xtick_pos || !ax->xtick_text) {
            xticks_release(ax);
            cairn_error("plot_xticks", "out of memory for %d ticks", n);
            return -1;
        }
        ax->nxticks = n;
        for (int i = 0; i < n; i++) {
            ax->xtick_pos[i] = positions[i];
            ax->xtick_text[i] = text_copy(labels[i] ? labels[i] : "");
        }
    }
    invalidate(ax->fig);
    return 0;
}

void plot_xlabel(plot_axes *ax, const char *label)
{
    if (ax)
        set_text(ax, &ax->xlabel, label);
}

void plot_ylabel(plot_axes *ax, const char *label)
{
    if (ax)
        set_text(ax, &ax->ylabel, label);
}

#define SETTER(name, field)                  \
    void name(plot_axes *ax, int on)         \
    {                                        \
        if (!ax)                             \
            return;                          \
        ax->field = on ? 1 : 0;              \
        invalidate(ax->fig);                 \
    }
SETTER(plot_legend, legend)
SETTER(plot_xlog, xlog)
SETTER(plot_ylog, ylog)
SETTER(plot_grid, grid)
SETTER(plot_colorbar, colorbar)
SETTER(plot_axis, axis_on)

static void set_range(const char *func, plot_axes *ax, double *slot, double lo, double hi)
{
    if (!ax)
        return;
    if (isinf(lo) || isinf(hi) || (!isnan(lo) && !isnan(hi) && lo == hi)) {
        cairn_error(func, "range [%g, %g] is not usable (finite, lo != hi; NAN = automatic)", lo, hi);
        return;
    }
    slot[0] = lo;
    slot[1] = hi;
    invalidate(ax->fig);
}

void plot_xlim(plot_axes *ax, double lo, double hi) { set_range("plot_xlim", ax, ax ? ax->xlim : NULL, lo, hi); }

void plot_ylim(plot_axes *ax, double lo, double hi) { set_range("plot_ylim", ax, ax ? ax->ylim : NULL, lo, hi); }

void plot_clim(plot_axes *ax, double lo, double hi) { set_range("plot_clim", ax, ax ? ax->clim : NULL, lo, hi); }

/* ---- description ---- */

int series_finite_count(const series *s)
{
    int k = 0;
    for (int i = 0; i < s->n; i++)
        k += isfinite(s->x[i]) && isfinite(s->y[i]);
    return k;
}

/* The short name of a series for the description ("line", "heatmap 28x28", ...). */
static void series_token(const plot_axes *ax, const series *s, char *buf, size_t cap)
{
    switch (s->kind) {
    case SERIES_LINE:
        snprintf(buf, cap, "line");
        break;
    case SERIES_SCATTER:
        snprintf(buf, cap, "scatter %d points", s->n);
        break;
    case SERIES_BARS:
        snprintf(buf, cap, "%s", s->hist ? "histogram" : "bars");
        break;
    default:
        snprintf(buf, cap, "%s %dx%d", s->annotate ? "confusion" : (s->square ? "image" : "heatmap"), s->data_rows,
                 s->data_cols);
    }
    (void)ax;
}

const char *plot_describe(figure *fig)
{
    if (!fig)
        return "<figure NULL>";
    if (fig->description)
        return fig->description;
    enum { MAXTOK = 32 };
    char tok[MAXTOK][64];
    int count[MAXTOK], ntok = 0, more = 0;
    long skipped = 0, bad_pixels = 0, nonpos = 0, empty = 0, reduced = 0;
    char reduced_text[96] = "";
    for (int a = 0; a < fig->naxes; a++) {
        const plot_axes *ax = fig->axes[a];
        for (int i = 0; i < ax->ns; i++) {
            const series *s = &ax->s[i];
            char t[64];
            series_token(ax, s, t, sizeof t);
            int j = 0;
            while (j < ntok && strcmp(tok[j], t) != 0)
                j++;
            if (j == ntok) {
                if (ntok < MAXTOK) {
                    snprintf(tok[ntok], sizeof tok[0], "%s", t);
                    count[ntok++] = 0;
                } else {
                    more++;
                    continue;
                }
            }
            count[j]++;
            if (s->kind == SERIES_IMAGE) {
                bad_pixels += s->nan_count + s->inf_count;
                if (s->rows != s->data_rows || s->cols != s->data_cols) {
                    reduced++;
                    snprintf(reduced_text, sizeof reduced_text, "%dx%d image drawn as %dx%d block means", s->data_rows,
                             s->data_cols, s->rows, s->cols);
                }
                if (s->data_rows == 0)
                    empty++;
                continue;
            }
            skipped += s->nan_count + s->inf_count;
            int drawable = 0;
            for (int k = 0; k < s->n; k++) {
                double x = s->x[k], y = s->y[k];
                if (s->kind != SERIES_BARS && (!isfinite(x) || !isfinite(y))) {
                    skipped++;
                    continue;
                }
                if (s->kind == SERIES_BARS && !isfinite(y))
                    continue; /* counted above */
                if ((ax->xlog && s->kind != SERIES_BARS && x <= 0) || (ax->ylog && y <= 0)) {
                    nonpos++;
                    continue;
                }
                drawable++;
            }
            if (drawable == 0)
                empty++;
        }
    }
    strbuf b = {0};
    strbuf_printf(&b, "<figure %dx%d", fig->width, fig->height);
    /* The title, when there is one, is what a reader of the text alone needs most. */
    const char *title = fig->suptitle;
    if (!title && fig->naxes == 1)
        title = fig->axes[0]->title;
    if (title)
        strbuf_printf(&b, " \"%.80s\"", title);
    strbuf_printf(&b, ": %d axes", fig->naxes);
    if (ntok == 0)
        strbuf_printf(&b, ", empty");
    for (int j = 0; j < ntok; j++) {
        if (count[j] > 1)
            strbuf_printf(&b, ", %s \xc3\x97%d", tok[j], count[j]);
        else
            strbuf_printf(&b, ", %s", tok[j]);
    }
    if (more)
        strbuf_printf(&b, ", %d more", more);
    if (skipped)
        strbuf_printf(&b, "; %ld NaN/Inf values not drawn", skipped);
    if (bad_pixels)
        strbuf_printf(&b, "; %ld NaN/Inf pixels shown in magenta", bad_pixels);
    if (nonpos)
        strbuf_printf(&b, "; %ld values <= 0 not drawn on log axes", nonpos);
    if (empty)
        strbuf_printf(&b, "; %ld series with no data", empty);
    if (reduced == 1)
        strbuf_printf(&b, "; %s", reduced_text);
    else if (reduced > 1)
        strbuf_printf(&b, "; %ld images drawn from block means", reduced);
    strbuf_printf(&b, ">");
    fig->description = b.s;
    return b.s ? b.s : "<figure>";
}
