/* cairn/plot.h — figures drawn with cairo and shown inline in the notebook.
 *
 * A `figure` is an opaque handle holding one or more axes (a grid of subplots); every
 * builder COPIES its data into the figure, so a cell may free its matrices right after.
 * Builders take a `plot_axes *` (plot_subplot(fig, i)); a new figure has one axes.
 *
 *     figure *f = plot_figure(0, 0);              // 640 x 480, one axes
 *     plot_axes *ax = plot_subplot(f, 0);
 *     plot_line(ax, mat_empty(), loss, "train");  // x = 0, 1, 2, ...
 *     plot_title(ax, "loss"); plot_ylog(ax, 1);
 *     f                                           // trailing expression: shown inline
 *
 * Output is PNG (or SVG after plot_set_format("svg")); show(fig) displays a figure and
 * plot_update(fig) redraws that same output in place (a loss curve growing per epoch).
 * NaN and Inf are never drawn as numbers: lines and scatters skip them, images paint
 * them magenta, and the figure's text description says how many there were.
 * Huge data is reduced before drawing (block means for images, min/max per pixel column
 * for long lines), so a 10000 x 10000 heatmap or a million points render in well under
 * a second. */
#ifndef CAIRN_PLOT_H
#define CAIRN_PLOT_H

#include <stddef.h>
#include "cairn/mat.h"

typedef struct figure figure;
typedef struct plot_axes plot_axes;

/* ---- figures and axes ---- */

/** New figure of width x height pixels (0, 0 for the default 640 x 480) with one axes. */
figure *plot_figure(int width, int height);

/** Release a figure and all the data copied into it (NULL is ignored). */
void plot_free(figure *fig);

/** Arrange the figure as a rows x cols grid of axes; existing axes keep their index and content; returns 0 or -1. */
int plot_subplots(figure *fig, int rows, int cols);

/** The i-th axes of the figure (row-major over the subplot grid), or NULL with an error. */
plot_axes *plot_subplot(figure *fig, int i);

/** Number of axes in the figure. */
int plot_axes_count(const figure *fig);

/** A title over the whole figure, above all subplots. */
void plot_suptitle(figure *fig, const char *title);

/* ---- series ---- */

/** Line of y against x (x = mat_empty() for 0, 1, 2, ...); any vector shape; returns the series index or -1. */
int plot_line(plot_axes *ax, mat x, mat y, const char *label);

/** Line from plain arrays (x may be NULL for 0..n-1); returns the series index or -1. */
int plot_line_array(plot_axes *ax, const double *x, const double *y, int n, const char *label);

/** Append the point (x, y) to a line series, for curves that grow while a model trains; returns 0 or -1. */
int plot_append(plot_axes *ax, int series, double x, double y);

/** Style of a series, matplotlib-like: marker "o" "s" "^" "+" "x" "." and line "-" "--" ":" (e.g. "o--", "o"). */
void plot_style(plot_axes *ax, int series, const char *style);

/** Colour of a series as "#rrggbb" or a name (blue, orange, green, red, purple, brown, pink, gray, olive, cyan, black). */
void plot_color(plot_axes *ax, int series, const char *color);

/** Name a series in the legend (any kind: a scatter, a histogram, a line added without a label). */
void plot_label(plot_axes *ax, int series, const char *label);

/** Scatter of points (x[i], y[i]) coloured by integer labels (mat_empty() for one colour); size = marker diameter in px (0: default). */
int plot_scatter(plot_axes *ax, mat x, mat y, mat labels, double size);

/** Scatter of the first two columns of an n x 2 (or wider) matrix, coloured by labels (may be empty). */
int plot_scatter_points(plot_axes *ax, mat points, mat labels, double size);

/** Matrix as a heatmap filling the axes, origin upper (row 0 on top), with a colorbar; cmap NULL = viridis. */
int plot_heatmap(plot_axes *ax, mat m, const char *cmap);

/** Matrix as an image with square pixels (imshow), origin upper; cmap: viridis, magma, gray, coolwarm, blues, name_r. */
int plot_image(plot_axes *ax, mat m, const char *cmap);

/** Row `row` of m viewed as an image through its shape (channels, height, width); 3 channels draw as RGB. */
int plot_image_row(plot_axes *ax, mat m, int row, const char *cmap);

/** Grid of images, one per row of `images` (their image shape), ncols per line, optional captions (NULL or n strings). */
int plot_image_grid(figure *fig, mat images, int ncols, const char *const *captions, const char *cmap);

/** Image grid of the chosen rows only (count of them, e.g. misclassified examples), with optional captions. */
int plot_image_grid_rows(figure *fig, mat images, const int *rows, int count, int ncols,
                         const char *const *captions, const char *cmap);

/** Grid of the channels of one row (a CNN feature map stack, channels x height x width), captioned "0", "1", ... */
int plot_channels(figure *fig, mat m, int row, int ncols, const char *cmap);

/** Histogram of all values of m in `bins` equal bins (0: 10 bins); returns the series index or -1. */
int plot_hist(plot_axes *ax, mat values, int bins);

/** Bar chart of the values of `heights` with optional category labels (NULL or one string per bar). */
int plot_bar(plot_axes *ax, mat heights, const char *const *labels);

/** Confusion matrix (k x k counts, rows = true class) with the counts written in the cells; names may be NULL. */
int plot_confusion(plot_axes *ax, mat counts, const char *const *class_names);

/* ---- decorations ---- */

/** Title of the axes. */
void plot_title(plot_axes *ax, const char *title);

/** Named x ticks: labels at these x positions instead of numbers (long ones turn vertical; n = 0 restores numbers); 0 or -1. */
int plot_xticks(plot_axes *ax, const double *positions, const char *const *labels, int n);

/** Label of the x axis. */
void plot_xlabel(plot_axes *ax, const char *label);

/** Label of the y axis. */
void plot_ylabel(plot_axes *ax, const char *label);

/** Show (1) or hide (0) the legend of labelled series (shown by default when a series has a label). */
void plot_legend(plot_axes *ax, int on);

/** Fix the x axis range to [lo, hi] (NAN for either end keeps it automatic). */
void plot_xlim(plot_axes *ax, double lo, double hi);

/** Fix the y axis range to [lo, hi] (NAN for either end keeps it automatic). */
void plot_ylim(plot_axes *ax, double lo, double hi);

/** Logarithmic x axis (1) or linear (0); values <= 0 are not drawn and are counted in the description. */
void plot_xlog(plot_axes *ax, int on);

/** Logarithmic y axis (1) or linear (0); values <= 0 are not drawn and are counted in the description. */
void plot_ylog(plot_axes *ax, int on);

/** Grid lines at the ticks (1) or none (0, the default). */
void plot_grid(plot_axes *ax, int on);

/** Colorbar beside an image or heatmap (1) or none (0). */
void plot_colorbar(plot_axes *ax, int on);

/** Value range mapped onto the colormap (NAN, NAN: data min and max). */
void plot_clim(plot_axes *ax, double lo, double hi);

/** Hide (0) or show (1) the frame, ticks and tick labels of the axes (images in grids hide them). */
void plot_axis(plot_axes *ax, int on);

/* ---- output ---- */

/** Show the figure now as display_data (PNG or SVG plus a text description); later plot_update calls replace it. */
void show(figure *fig);

/** Same as show(fig). */
void plot_show(figure *fig);

/** Redraw the figure in the output where it was shown (update_display_data); shows it first if it never was. */
void plot_update(figure *fig);

/** Send the figure as the cell's result (what a trailing `fig` expression does). */
void plot_display_result(figure *fig);

/** Write the figure to a file, PNG or SVG by the path's extension (.png, .svg); returns 0 or -1. */
int plot_save(figure *fig, const char *path);

/** Render to PNG bytes in memory (release with free()); *size receives the byte count; NULL on failure. */
unsigned char *plot_render_png(figure *fig, size_t *size);

/** Render to an SVG document in memory (NUL-terminated, release with free()); *size gets the length; NULL on failure. */
char *plot_render_svg(figure *fig, size_t *size);

/** Text description of the figure, e.g. "<figure 640x480: 1 axes, line ×2>" (valid until the figure changes). */
const char *plot_describe(figure *fig);

/** Inline format of shown figures: "png" (default) or "svg"; returns 0, or -1 for an unknown format. */
int plot_set_format(const char *format);

/** Pixel scale of rendered figures (2.0 for HiDPI screens; 1.0 default); sizes in the API stay in logical px. */
void plot_set_scale(double scale);

/** Load fonts and colour tables ahead of time so the first figure renders fast (the executor calls it before forking). */
void plot_init(void);

#endif
