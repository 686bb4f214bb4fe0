/* plot_internal.h — what the files of the plot module share: the figure/axes/series
 * structures, tick placement, colormaps, raster helpers and the PNG encoder.
 *
 * The model is deliberately flat: a figure owns an array of axes, an axes owns an
 * array of series, a series owns copies of its data. Rendering (render.c) reads this
 * model and never changes it, so one figure can be rendered many times (live updates)
 * and to several formats. Not seen by cells; the unit tests include it for the tick
 * algorithm and colour tables. */
#ifndef CAIRN_PLOT_INTERNAL_H
#define CAIRN_PLOT_INTERNAL_H

#include "cairn/plot.h"

#include <stdint.h>

enum series_kind { SERIES_LINE, SERIES_SCATTER, SERIES_IMAGE, SERIES_BARS };
enum line_style { LINE_NONE, LINE_SOLID, LINE_DASHED, LINE_DOTTED, LINE_DASHDOT };

/* Colormaps: indices into the tables of colormap.c. */
enum colormap_id { CMAP_VIRIDIS, CMAP_MAGMA, CMAP_GRAY, CMAP_COOLWARM, CMAP_BLUES, CMAP_COUNT };

typedef struct series {
    int kind;
    char *label;
    uint32_t color;   /* 0xRRGGBB */
    int color_set;    /* colour chosen by the user, else from the cycle at render time */
    char marker;      /* 0 none, or one of o s ^ + x . */
    int line;         /* enum line_style */
    /* lines, scatters, bars: points or bar centers/heights */
    double *x, *y;
    int n, cap;
    int *classes;     /* scatter colour classes (NULL: one colour) */
    int nclasses;
    double size;      /* scatter marker diameter / bar width in data units */
    char **bar_names; /* category labels for bars (NULL: numeric axis) */
    /* images */
    float *img;       /* rows x cols x channels (channels 1 or 3), possibly block-reduced */
    int rows, cols, channels;
    int data_rows, data_cols; /* shape before reduction (the axis extent) */
    int fy, fx;               /* block size of the reduction (1 when stored as is) */
    int hist;                 /* bars of a histogram (adjacent bins, numeric x axis) */
    int cmap, cmap_reversed;
    double dmin, dmax;        /* finite data range */
    int annotate;             /* confusion matrix: write the values in the cells */
    int square;               /* square pixels (imshow) rather than filling the axes */
    /* what could not be drawn: said in the description and on the axes */
    long nan_count, inf_count;
} series;

struct plot_axes {
    figure *fig;
    char *title, *xlabel, *ylabel;
    series *s;
    int ns, cap;
    double xlim[2], ylim[2]; /* NAN: automatic */
    double clim[2];
    int xlog, ylog, grid;
    int legend;   /* -1 automatic (when a series has a label) */
    int colorbar; /* -1 automatic (heatmaps yes, images no) */
    int axis_on;
    int image_axes; /* the axes shows an image: origin upper, exact extent, no margins */
    int empty_note; /* builders asked to draw empty data: say so on the axes */
    int retired;    /* dropped by a smaller plot_subplots grid: kept only so old pointers stay valid */
    double *xtick_pos; /* plot_xticks: named x ticks instead of numbers (nxticks of them) */
    char **xtick_text;
    int nxticks;
};

struct figure {
    int width, height;
    int grid_rows, grid_cols;
    plot_axes **axes;
    int naxes;
    plot_axes **retired; /* axes a cell may still point to, freed with the figure */
    int nretired;
    char *suptitle;
    char display_id[64];
    char *description;
};

/* ---- ticks.c ---- */
#define TICKS_MAX 64
typedef struct tick_set {
    double value[TICKS_MAX];
    char label[TICKS_MAX][32];
    int n;
    char note[48]; /* shared factor or offset shown at the axis end ("1e12", "+1e12"), or "" */
} tick_set;

/* Ticks at nice numbers (1, 2, 2.5, 5 x 10^k) inside [lo, hi], at most max_bins + 1 of them. */
int ticks_linear(double lo, double hi, int max_bins, tick_set *out);
/* Ticks for a log axis over [lo, hi] (both > 0): decades, or 1-2-5 steps inside one decade. */
int ticks_log(double lo, double hi, int max_bins, tick_set *out);
/* Make [*lo, *hi] usable for an axis: widen a zero-width or non-finite range. */
void ticks_nonsingular(double *lo, double *hi, int log);

/* ---- colormap.c ---- */
int colormap_find(const char *name, int *reversed);
const char *colormap_name(int id);
/* 256-entry lookup as 0xRRGGBB */
const uint32_t *colormap_table(int id, int reversed);
#define COLOR_BAD 0xFF00FFu /* NaN / Inf cells */
uint32_t color_cycle(int i);
int color_parse(const char *text, uint32_t *rgb);

/* ---- png.c ---- */
/* Encode a 32-bit xRGB image (cairo's RGB24/ARGB32 layout, opaque) as an RGB PNG. */
unsigned char *png_encode_rgb(const unsigned char *pixels, int width, int height, int stride,
                              double dpi, size_t *size);

/* ---- render.c ---- */
/* Render to a cairo surface; the cairo types stay out of this header so tests need no cairo. */
int render_to_png(figure *fig, double scale, unsigned char **png, size_t *size);
int render_to_svg(figure *fig, char **svg, size_t *size);

/* ---- figure.c ---- */
int series_finite_count(const series *s);

#endif
