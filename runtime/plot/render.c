/* render.c — draws a figure with cairo, to PNG bytes or an SVG document.
 *
 * The look follows matplotlib's defaults (its sizes in points at 100 dpi, tab10
 * colours, DejaVu Sans, outward ticks, 5% data margins, "best" legend placement),
 * with a tight layout computed from the measured tick labels so nothing is clipped.
 * Speed comes from not asking cairo to do per-element work that a loop does better:
 * images and heatmaps are written straight into a pixel buffer through a colormap
 * table (nearest neighbour when enlarging, block means when shrinking), big scatters
 * are stamped from a pre-rendered antialiased disc, long lines are reduced to the
 * min/max of each pixel column, and the PNG is encoded by png.c at zlib's fast level.
 * cairo draws the rest: axes, text, lines and small scatters (as vectors in SVG). */
#include "plot_internal.h"
#include "cairn/error.h"

#include <cairo.h>
#include <cairo-svg.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* matplotlib's default sizes, in points, converted at its 100 dpi. */
#define PT (100.0 / 72.0)
#define FONT_PT 10.0
#define TITLE_PT 12.0
#define SPINE_W (0.8 * PT)
#define TICK_LEN (3.5 * PT)
#define TICK_PAD (3.5 * PT)
#define LABEL_PAD (4.0 * PT)
#define TITLE_PAD (6.0 * PT)
#define LINE_W (1.5 * PT)
#define MARKER_D (6.0 * PT)
#define OUTER_PAD 8.0
#define CAP_HEIGHT 0.73 /* DejaVu Sans cap height / em */
#define DESCENT 0.24
#define VECTOR_SCATTER_MAX 5000

typedef struct ctx {
    cairo_t *cr;
    double scale;        /* device px per logical px of the target surface */
    double raster_scale; /* device px per logical px of pixel layers (images, big scatters) */
    double fs;           /* font scale of the axes being drawn */
} ctx;

typedef struct frame {
    double x, y, w, h;      /* plot rectangle, logical px */
    double x0, x1, y0, y1;  /* view limits: x0 at left, y0 at bottom */
    int xlog, ylog;
    tick_set xt, yt;
    int xcat, ycat;         /* category tick labels from bar or confusion names */
    int xrot;               /* x tick labels drawn vertically (long category names) */
    double xtick_h;         /* height taken by the x tick labels and the x factor note */
    const series *cat_series;
    double clo, chi;        /* colour limits of the axes' images */
    int cmap, cmap_rev, has_color_image;
    double cb_w, cb_pad, cb_label_w; /* colorbar geometry (0: none) */
    tick_set ct;
} frame;

static cairo_font_face_t *font_face;

static void font_ready(void)
{
    if (!font_face)
        font_face = cairo_toy_font_face_create("DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
}

void plot_init(void)
{
    font_ready();
    colormap_table(CMAP_VIRIDIS, 0);
    /* Render a figure using every glyph tick labels and titles commonly need, at the
     * usual sizes: fontconfig, the font file and the glyph caches are then loaded once
     * here (in the executor, before it forks) instead of in every cell. */
    static const char glyphs[] = " !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`"
                                 "abcdefghijklmnopqrstuvwxyz{|}~\xe2\x88\x92\xc3\x97";
    figure *fig = plot_figure(640, 480);
    if (!fig)
        return;
    plot_axes *ax = plot_subplot(fig, 0);
    double y[3] = {1e-3, 1, 1e3};
    plot_line_array(ax, NULL, y, 3, glyphs);
    plot_ylog(ax, 1);
    plot_title(ax, glyphs);
    plot_xlabel(ax, glyphs);
    unsigned char *png = NULL;
    size_t size = 0;
    if (render_to_png(fig, 1.0, &png, &size) == 0)
        free(png);
    /* small subplots use smaller fonts */
    if (plot_subplots(fig, 4, 8) == 0) {
        for (int i = 0; i < 32; i++)
            plot_title(fig->axes[i], glyphs + (i * 3) % 60);
        if (render_to_png(fig, 1.0, &png, &size) == 0)
            free(png);
    }
    plot_free(fig);
}

static void set_rgb(cairo_t *cr, uint32_t c)
{
    cairo_set_source_rgb(cr, ((c >> 16) & 255) / 255.0, ((c >> 8) & 255) / 255.0, (c & 255) / 255.0);
}

static void font_size(ctx *c, double pt) { cairo_set_font_size(c->cr, pt * PT * c->fs); }

/* The font size currently set (cairo keeps it in the font matrix). */
static double font_px(cairo_t *cr)
{
    cairo_matrix_t m;
    cairo_get_font_matrix(cr, &m);
    return m.xx;
}

static double text_width(ctx *c, const char *s)
{
    cairo_text_extents_t e;
    cairo_text_extents(c->cr, s, &e);
    return e.x_advance;
}

/* Draws s with its anchor at (x, y): ha 0 left .. 1 right; va 0 top of capitals, 0.5
 * their middle, 1 baseline; angle in radians (counter-clockwise). */
static void text_draw(ctx *c, const char *s, double x, double y, double ha, double va, double angle)
{
    cairo_t *cr = c->cr;
    double size = font_px(cr);
    double w = text_width(c, s);
    cairo_save(cr);
    cairo_translate(cr, x, y);
    if (angle != 0)
        cairo_rotate(cr, -angle);
    cairo_move_to(cr, -ha * w, (1 - va) * CAP_HEIGHT * size);
    cairo_show_text(cr, s);
    cairo_restore(cr);
}


/* Rounds a coordinate to the device pixel grid; `odd` puts it on a pixel centre so a
 * one-device-pixel line is crisp. */
static double snap(const ctx *c, double v, int odd)
{
    double d = floor(v * c->scale + 0.5);
    return (odd ? d + 0.5 : d) / c->scale;
}

static double line_width_snapped(const ctx *c, double w)
{
    double d = floor(w * c->scale + 0.5);
    return (d < 1 ? 1 : d) / c->scale;
}

/* ---- coordinates ---- */

static double fwd(double v, int log) { return log ? log10(v) : v; }

static double to_px(const frame *f, double x)
{
    return f->x + (fwd(x, f->xlog) - fwd(f->x0, f->xlog)) / (fwd(f->x1, f->xlog) - fwd(f->x0, f->xlog)) * f->w;
}

static double to_py(const frame *f, double y)
{
    return f->y + f->h - (fwd(y, f->ylog) - fwd(f->y0, f->ylog)) / (fwd(f->y1, f->ylog) - fwd(f->y0, f->ylog)) * f->h;
}

/* ---- limits ---- */

static int usable(double v, int log) { return isfinite(v) && (!log || v > 0); }

static void grow(double *lo, double *hi, double v)
{
    if (v < *lo)
        *lo = v;
    if (v > *hi)
        *hi = v;
}

/* Data limits of the axes and whether bars pin the y axis at zero. */
static void axes_limits(const plot_axes *ax, frame *f)
{
    double xl = INFINITY, xh = -INFINITY, yl = INFINITY, yh = -INFINITY;
    int sticky_y0 = 0, image = 0, bars = 0;
    for (int i = 0; i < ax->ns; i++) {
        const series *s = &ax->s[i];
        if (s->kind == SERIES_IMAGE) {
            if (s->data_rows > 0) {
                grow(&xl, &xh, -0.5);
                grow(&xl, &xh, s->data_cols - 0.5);
                grow(&yl, &yh, -0.5);
                grow(&yl, &yh, s->data_rows - 0.5);
                image = 1;
            }
            continue;
        }
        for (int k = 0; k < s->n; k++) {
            double x = s->x[k], y = s->y[k];
            if (s->kind == SERIES_BARS) {
                if (!usable(y, ax->ylog))
                    continue;
                double hw = s->size / 2;
                grow(&xl, &xh, x - hw);
                grow(&xl, &xh, x + hw);
                grow(&yl, &yh, y);
                if (!ax->ylog) {
                    grow(&yl, &yh, 0);
                    sticky_y0 = 1;
                }
                bars = 1;
                continue;
            }
            if (!usable(x, ax->xlog) || !usable(y, ax->ylog))
                continue;
            grow(&xl, &xh, x);
            grow(&yl, &yh, y);
        }
    }
    int have = xl <= xh;
    if (!have) {
        xl = ax->xlog ? 1 : 0;
        xh = ax->xlog ? 10 : 1;
        yl = ax->ylog ? 1 : 0;
        yh = ax->ylog ? 10 : 1;
    }
    if (!image) {
        ticks_nonsingular(&xl, &xh, ax->xlog);
        ticks_nonsingular(&yl, &yh, ax->ylog);
        if (have) {
            /* 5% margins in the axis' own (possibly log) scale, none below bars' zero. */
            double a = fwd(xl, ax->xlog), b = fwd(xh, ax->xlog), m = (b - a) * 0.05;
            xl = ax->xlog ? pow(10, a - m) : a - m;
            xh = ax->xlog ? pow(10, b + m) : b + m;
            a = fwd(yl, ax->ylog), b = fwd(yh, ax->ylog), m = (b - a) * 0.05;
            double nyl = ax->ylog ? pow(10, a - m) : a - m;
            if (!(sticky_y0 && yl == 0))
                yl = nyl;
            yh = ax->ylog ? pow(10, b + m) : b + m;
        }
    }
    (void)bars;
    if (!isnan(ax->xlim[0]))
        xl = ax->xlim[0];
    if (!isnan(ax->xlim[1]))
        xh = ax->xlim[1];
    if (!isnan(ax->ylim[0]))
        yl = ax->ylim[0];
    if (!isnan(ax->ylim[1]))
        yh = ax->ylim[1];
    if (ax->xlog && (xl <= 0 || xh <= 0))
        ticks_nonsingular(&xl, &xh, 1);
    if (ax->ylog && (yl <= 0 || yh <= 0))
        ticks_nonsingular(&yl, &yh, 1);
    if (xl == xh)
        ticks_nonsingular(&xl, &xh, ax->xlog);
    if (yl == yh)
        ticks_nonsingular(&yl, &yh, ax->ylog);
    f->x0 = xl;
    f->x1 = xh;
    f->y0 = yl;
    f->y1 = yh;
    if (image && isnan(ax->ylim[0]) && isnan(ax->ylim[1])) {
        /* origin upper: row 0 at the top */
        f->y0 = yh;
        f->y1 = yl;
    }
}

static void color_limits(const plot_axes *ax, frame *f)
{
    double lo = INFINITY, hi = -INFINITY;
    f->has_color_image = 0;
    for (int i = 0; i < ax->ns; i++) {
        const series *s = &ax->s[i];
        if (s->kind != SERIES_IMAGE || s->data_rows == 0 || s->channels != 1)
            continue;
        if (s->dmin <= s->dmax) {
            grow(&lo, &hi, s->dmin);
            grow(&lo, &hi, s->dmax);
        }
        if (!f->has_color_image) {
            f->cmap = s->cmap;
            f->cmap_rev = s->cmap_reversed;
        }
        f->has_color_image = 1;
    }
    if (!(lo <= hi)) {
        lo = 0;
        hi = 1;
    }
    if (f->has_color_image && f->cmap == CMAP_COOLWARM && lo < 0 && hi > 0) {
        /* A diverging map means "around zero": keep zero at its centre. */
        double m = fmax(-lo, hi);
        lo = -m;
        hi = m;
    }
    if (!isnan(ax->clim[0]))
        lo = ax->clim[0];
    if (!isnan(ax->clim[1]))
        hi = ax->clim[1];
    if (!(hi > lo))
        ticks_nonsingular(&lo, &hi, 0);
    f->clo = lo;
    f->chi = hi;
}

/* ---- ticks ---- */

static int max_bins(double length_px, double fs, int vertical)
{
    /* matplotlib: axis length in points over 3 (x) or 2 (y) label heights, at most 9. */
    double per = FONT_PT * fs * (vertical ? 2 : 3);
    int n = (int)floor(length_px / PT / per);
    return n < 1 ? 1 : n > 9 ? 9 : n;
}

static void category_ticks(tick_set *t, const series *s, double lo, double hi)
{
    t->n = 0;
    t->note[0] = '\0';
    double a = fmin(lo, hi), b = fmax(lo, hi);
    int count = s->kind == SERIES_IMAGE ? s->data_rows : s->n;
    for (int k = 0; k < count && t->n < TICKS_MAX; k++) {
        double v = s->kind == SERIES_IMAGE ? k : s->x[k];
        if (v < a || v > b)
            continue;
        t->value[t->n] = v;
        snprintf(t->label[t->n], sizeof t->label[0], "%s", s->bar_names[k]);
        t->n++;
    }
}

/* plot_xticks: the named ticks inside [lo, hi]. */
static void named_ticks(tick_set *t, const plot_axes *ax, double lo, double hi)
{
    t->n = 0;
    t->note[0] = '\0';
    double a = fmin(lo, hi), b = fmax(lo, hi);
    for (int k = 0; k < ax->nxticks && t->n < TICKS_MAX; k++) {
        if (ax->xtick_pos[k] < a || ax->xtick_pos[k] > b)
            continue;
        t->value[t->n] = ax->xtick_pos[k];
        snprintf(t->label[t->n], sizeof t->label[0], "%s", ax->xtick_text[k] ? ax->xtick_text[k] : "");
        t->n++;
    }
}

static void compute_ticks(const plot_axes *ax, frame *f, double fs)
{
    if (f->xcat && ax->nxticks > 0)
        named_ticks(&f->xt, ax, f->x0, f->x1);
    else if (f->xcat)
        category_ticks(&f->xt, f->cat_series, f->x0, f->x1);
    else if (ax->xlog)
        ticks_log(f->x0, f->x1, max_bins(f->w, fs, 0), &f->xt);
    else
        ticks_linear(f->x0, f->x1, max_bins(f->w, fs, 0), &f->xt);
    if (f->ycat)
        category_ticks(&f->yt, f->cat_series, f->y0, f->y1);
    else if (ax->ylog)
        ticks_log(fmin(f->y0, f->y1), fmax(f->y0, f->y1), max_bins(f->h, fs, 1), &f->yt);
    else
        ticks_linear(fmin(f->y0, f->y1), fmax(f->y0, f->y1), max_bins(f->h, fs, 1), &f->yt);
    /* Ticks just outside the view (rounding) are dropped. */
    tick_set *sets[2] = {&f->xt, &f->yt};
    double lo[2] = {fmin(f->x0, f->x1), fmin(f->y0, f->y1)}, hi[2] = {fmax(f->x0, f->x1), fmax(f->y0, f->y1)};
    for (int a = 0; a < 2; a++) {
        tick_set *t = sets[a];
        int k = 0;
        double eps = (hi[a] - lo[a]) * 1e-9;
        for (int i = 0; i < t->n; i++) {
            if (t->value[i] < lo[a] - eps || t->value[i] > hi[a] + eps)
                continue;
            t->value[k] = t->value[i];
            memmove(t->label[k], t->label[i], sizeof t->label[0]);
            k++;
        }
        t->n = k;
    }
    if (f->cb_w > 0)
        ticks_linear(f->clo, f->chi, max_bins(f->h, fs, 1), &f->ct);
}

/* ---- layout ---- */

static double max_label_width(ctx *c, const tick_set *t)
{
    double w = 0;
    for (int i = 0; i < t->n; i++)
        w = fmax(w, text_width(c, t->label[i]));
    return w;
}

/* Places the plot rectangle of ax inside the cell (cx, cy, cw, ch): room for the title,
 * tick labels, axis labels and colorbar, then square pixels for images. */
static void axes_layout(ctx *c, const plot_axes *ax, frame *f, double cx, double cy, double cw, double ch)
{
    double fs = c->fs;
    double font = FONT_PT * PT * fs;
    f->xlog = ax->xlog;
    f->ylog = ax->ylog;
    axes_limits(ax, f);
    color_limits(ax, f);
    f->xcat = ax->nxticks > 0; /* named ticks rotate like category names when they are long */
    f->ycat = 0;
    f->cat_series = NULL;
    for (int i = 0; i < ax->ns; i++) {
        const series *s = &ax->s[i];
        if (s->bar_names && s->kind == SERIES_BARS && !f->xcat && !ax->nxticks) {
            f->xcat = 1;
            f->cat_series = s;
        }
        if (s->bar_names && s->kind == SERIES_IMAGE) {
            f->xcat = f->ycat = 1;
            f->cat_series = s;
        }
    }
    int show_cb = f->has_color_image && ax->colorbar == 1;
    double top = OUTER_PAD * fs, bottom = OUTER_PAD * fs, left = OUTER_PAD * fs, right = OUTER_PAD * fs;
    if (ax->title)
        top += TITLE_PT * PT * fs * (CAP_HEIGHT + DESCENT) + TITLE_PAD * fs;
    if (ax->axis_on) {
        bottom += TICK_LEN + TICK_PAD * fs + font * (CAP_HEIGHT + DESCENT);
        if (ax->xlabel)
            bottom += LABEL_PAD * fs + font * (CAP_HEIGHT + DESCENT);
        left += TICK_LEN + TICK_PAD * fs;
        if (ax->ylabel)
            left += LABEL_PAD * fs + font * (CAP_HEIGHT + DESCENT);
        /* Room above for a y factor note ("1e12"), half a label of overhang for x. */
        top += font * 0.6;
        right += font * 1.2;
    }
    f->cb_w = 0;
    f->x = cx + left;
    f->y = cy + top;
    f->w = cw - left - right;
    f->h = ch - top - bottom;
    cairo_set_font_face(c->cr, font_face);
    font_size(c, FONT_PT);
    for (int pass = 0; pass < 2; pass++) {
        if (show_cb) {
            f->cb_pad = fmax(6, 0.04 * (cw - left - right));
            f->cb_w = fmax(6, fmin(20, f->h / 20));
        }
        compute_ticks(ax, f, fs);
        /* Long category names turn vertical; the x labels then need their length below. */
        f->xtick_h = font * (CAP_HEIGHT + DESCENT);
        f->xrot = 0;
        if (ax->axis_on && f->xcat && f->xt.n > 0) {
            double spacing = f->xt.n > 1 ? fabs(to_px(f, f->xt.value[1]) - to_px(f, f->xt.value[0])) : f->w;
            double lw = max_label_width(c, &f->xt);
            if (lw > spacing * 0.95) {
                f->xrot = 1;
                f->xtick_h = lw;
            }
        }
        if (ax->axis_on && f->xt.note[0])
            f->xtick_h += font * 1.2;
        double extra = ax->axis_on ? f->xtick_h - font * (CAP_HEIGHT + DESCENT) : 0;
        f->h = ch - top - bottom - extra;
        double ytw = ax->axis_on ? max_label_width(c, &f->yt) : 0;
        double cbw = show_cb ? f->cb_pad + f->cb_w + TICK_LEN + TICK_PAD * fs + max_label_width(c, &f->ct) : 0;
        f->cb_label_w = cbw;
        f->x = cx + left + ytw;
        f->w = cw - left - right - ytw - cbw;
        if (f->w < 4)
            f->w = 4;
        if (f->h < 4)
            f->h = 4;
    }
    /* Square pixels: shrink one side and centre the plot (matplotlib's aspect "equal"). */
    int square = 0;
    for (int i = 0; i < ax->ns; i++)
        if (ax->s[i].kind == SERIES_IMAGE && ax->s[i].square && ax->s[i].data_rows > 0)
            square = 1;
    if (square) {
        double dx = fabs(f->x1 - f->x0), dy = fabs(f->y1 - f->y0);
        double want = f->w * dy / dx;
        if (want <= f->h) {
            f->y += (f->h - want) / 2;
            f->h = want;
        } else {
            double ww = f->h * dx / dy;
            f->x += (f->w - ww) / 2;
            f->w = ww;
        }
        compute_ticks(ax, f, fs);
    }
    /* Pixel-exact edges keep the frame crisp and images aligned to it. */
    double x1 = snap(c, f->x + f->w, 0), y1 = snap(c, f->y + f->h, 0);
    f->x = snap(c, f->x, 0);
    f->y = snap(c, f->y, 0);
    f->w = x1 - f->x;
    f->h = y1 - f->y;
}

/* ---- pixel layers ---- */

typedef struct layer {
    cairo_surface_t *surface;
    uint32_t *px;
    int w, h, stride; /* stride in pixels */
} layer;

static int layer_new(layer *l, const ctx *c, const frame *f)
{
    l->w = (int)ceil(f->w * c->raster_scale);
    l->h = (int)ceil(f->h * c->raster_scale);
    if (l->w < 1)
        l->w = 1;
    if (l->h < 1)
        l->h = 1;
    l->surface = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, l->w, l->h);
    if (cairo_surface_status(l->surface) != CAIRO_STATUS_SUCCESS) {
        cairo_surface_destroy(l->surface);
        l->surface = NULL;
        return -1;
    }
    cairo_surface_flush(l->surface);
    l->px = (uint32_t *)(void *)cairo_image_surface_get_data(l->surface);
    l->stride = cairo_image_surface_get_stride(l->surface) / 4;
    memset(l->px, 0, (size_t)l->stride * 4 * (size_t)l->h);
    return 0;
}

static void layer_paint(layer *l, ctx *c, const frame *f)
{
    cairo_surface_mark_dirty(l->surface);
    cairo_t *cr = c->cr;
    cairo_save(cr);
    cairo_translate(cr, f->x, f->y);
    cairo_scale(cr, 1 / c->raster_scale, 1 / c->raster_scale);
    cairo_set_source_surface(cr, l->surface, 0, 0);
    cairo_pattern_set_filter(cairo_get_source(cr), CAIRO_FILTER_NEAREST);
    cairo_rectangle(cr, 0, 0, l->w, l->h);
    cairo_fill(cr);
    cairo_restore(cr);
    cairo_surface_destroy(l->surface);
    l->surface = NULL;
}

/* Source index range [a, b) covered by device pixel u of n along an axis running from
 * v0 to v1 in data units, for a stored image of `cells` blocks of `block` data cells
 * (data extent -0.5 .. cells*block - 0.5). Returns 0 when the pixel is outside. */
static int pixel_span(int u, int n, double v0, double v1, int block, int cells, int data_cells, int *a, int *b)
{
    double p0 = v0 + (v1 - v0) * u / n, p1 = v0 + (v1 - v0) * (u + 1) / n;
    double lo = fmin(p0, p1), hi = fmax(p0, p1), mid = (p0 + p1) / 2;
    if (mid < -0.5 || mid >= data_cells - 0.5)
        return 0;
    int i0 = (int)floor(lo + 0.5), i1 = (int)ceil(hi + 0.5);
    if (i1 <= i0 + 1) {
        /* At most one data cell per pixel: nearest neighbour. */
        int j = (int)floor(mid + 0.5) / block;
        *a = j;
        *b = j + 1;
        return 1;
    }
    if (i0 < 0)
        i0 = 0;
    if (i1 > data_cells)
        i1 = data_cells;
    *a = i0 / block;
    *b = (i1 + block - 1) / block;
    if (*b > cells)
        *b = cells;
    if (*b <= *a)
        *b = *a + 1;
    return 1;
}

static uint32_t map_value(const uint32_t *table, double v, double lo, double inv)
{
    if (isnan(v))
        return COLOR_BAD;
    double t = (v - lo) * inv;
    int i = t <= 0 ? 0 : t >= 1 ? 255 : (int)(t * 256);
    return table[i > 255 ? 255 : i];
}

static void draw_image(ctx *c, const frame *f, const series *s)
{
    if (s->data_rows == 0)
        return;
    layer l;
    if (layer_new(&l, c, f) < 0)
        return;
    int *ca = malloc((size_t)l.w * 2 * sizeof(int)), *ra = malloc((size_t)l.h * 2 * sizeof(int));
    uint32_t *rowc = malloc((size_t)s->cols * sizeof(uint32_t));
    if (!ca || !ra || !rowc) {
        free(ca);
        free(ra);
        free(rowc);
        cairo_surface_destroy(l.surface);
        return;
    }
    int box = 0;
    for (int u = 0; u < l.w; u++) {
        if (!pixel_span(u, l.w, f->x0, f->x1, s->fx, s->cols, s->data_cols, &ca[2 * u], &ca[2 * u + 1]))
            ca[2 * u] = -1;
        else if (ca[2 * u + 1] - ca[2 * u] > 1)
            box = 1;
    }
    /* Rows: pixel v counts from the top, which is y1 in data units. */
    for (int v = 0; v < l.h; v++) {
        if (!pixel_span(v, l.h, f->y1, f->y0, s->fy, s->rows, s->data_rows, &ra[2 * v], &ra[2 * v + 1]))
            ra[2 * v] = -1;
        else if (ra[2 * v + 1] - ra[2 * v] > 1)
            box = 1;
    }
    const uint32_t *table = colormap_table(s->cmap, s->cmap_reversed);
    double lo = f->clo, inv = 1 / (f->chi - f->clo);
    double rgb_div = s->dmax > 1 ? 255 : 1;
    int ch = s->channels;
    int prev_row = -2;
    for (int v = 0; v < l.h; v++) {
        uint32_t *out = l.px + (size_t)v * (size_t)l.stride;
        int r0 = ra[2 * v], r1 = ra[2 * v + 1];
        if (r0 < 0)
            continue;
        if (!box && r0 == prev_row) {
            memcpy(out, out - l.stride, (size_t)l.w * 4);
            continue;
        }
        if (!box) {
            /* Enlarging: colour each source cell of the row once, then spread it. */
            const float *src = s->img + (size_t)r0 * (size_t)s->cols * (size_t)ch;
            for (int j = 0; j < s->cols; j++) {
                if (ch == 1) {
                    rowc[j] = map_value(table, src[j], lo, inv);
                } else {
                    uint32_t p = 0;
                    int bad = 0;
                    for (int k = 0; k < 3; k++) {
                        double t = src[(size_t)j * 3 + (size_t)k] / rgb_div;
                        bad |= isnan(t);
                        int b = t <= 0 ? 0 : t >= 1 ? 255 : (int)(t * 255 + 0.5);
                        p = p << 8 | (uint32_t)b;
                    }
                    rowc[j] = bad ? COLOR_BAD : p;
                }
            }
            for (int u = 0; u < l.w; u++)
                out[u] = ca[2 * u] < 0 ? 0 : 0xFF000000u | rowc[ca[2 * u]];
            prev_row = r0;
            continue;
        }
        for (int u = 0; u < l.w; u++) {
            int c0 = ca[2 * u], c1 = ca[2 * u + 1];
            if (c0 < 0)
                continue;
            double acc[3] = {0, 0, 0};
            int n = 0;
            for (int r = r0; r < r1; r++) {
                const float *src = s->img + ((size_t)r * (size_t)s->cols) * (size_t)ch;
                for (int j = c0; j < c1; j++) {
                    const float *p = src + (size_t)j * (size_t)ch;
                    if (isnan(p[0]))
                        continue;
                    for (int k = 0; k < ch; k++)
                        acc[k] += p[k];
                    n++;
                }
            }
            uint32_t col;
            if (!n) {
                col = COLOR_BAD;
            } else if (ch == 1) {
                col = map_value(table, acc[0] / n, lo, inv);
            } else {
                col = 0;
                for (int k = 0; k < 3; k++) {
                    double t = acc[k] / n / rgb_div;
                    col = col << 8 | (uint32_t)(t <= 0 ? 0 : t >= 1 ? 255 : (int)(t * 255 + 0.5));
                }
            }
            out[u] = 0xFF000000u | col;
        }
    }
    free(ca);
    free(ra);
    free(rowc);
    layer_paint(&l, c, f);
}

typedef struct stamp_px {
    short dx, dy;
    unsigned char a;
} stamp_px;

/* x / 255 rounded, exact for the products of two bytes, without a division. */
static inline uint32_t div255(uint32_t x)
{
    x += 128;
    return (x + (x >> 8)) >> 8;
}

/* Stamps antialiased discs of diameter d (device px) into a layer: coverage is sampled
 * 4 x 4 per pixel once, then each point is a few multiply-adds per pixel. */
static void stamp_points(ctx *c, const frame *f, const series *s, double d, uint32_t base)
{
    layer l;
    if (layer_new(&l, c, f) < 0)
        return;
    double r = d / 2;
    int size = (int)ceil(d) + 2;
    unsigned char *mask = calloc((size_t)size * (size_t)size * 2, 1);
    if (!mask) {
        cairo_surface_destroy(l.surface);
        return;
    }
    /* Two masks: the centre at a pixel centre and at a pixel corner, chosen per point. */
    for (int m = 0; m < 2; m++) {
        double o = size / 2.0 + (m ? 0.0 : 0.5) - 0.5;
        for (int y = 0; y < size; y++)
            for (int x = 0; x < size; x++) {
                int hits = 0;
                for (int sy = 0; sy < 4; sy++)
                    for (int sx = 0; sx < 4; sx++) {
                        double px = x + (sx + 0.5) / 4 - 0.5 - o, py = y + (sy + 0.5) / 4 - 0.5 - o;
                        hits += px * px + py * py <= r * r;
                    }
                mask[(size_t)m * (size_t)size * (size_t)size + (size_t)(y * size + x)] = (unsigned char)(hits * 255 / 16);
            }
    }
    /* The covered pixels of each mask as a list, so stamping skips empty corners. */
    stamp_px *spans[2];
    int nspan[2] = {0, 0};
    spans[0] = malloc(sizeof(stamp_px) * (size_t)size * (size_t)size * 2);
    if (!spans[0]) {
        free(mask);
        cairo_surface_destroy(l.surface);
        return;
    }
    spans[1] = spans[0] + size * size;
    for (int m = 0; m < 2; m++)
        for (int y = 0; y < size; y++)
            for (int x = 0; x < size; x++) {
                unsigned char a = mask[(size_t)m * (size_t)size * (size_t)size + (size_t)(y * size + x)];
                if (a)
                    spans[m][nspan[m]++] = (stamp_px){(short)x, (short)y, a};
            }
    double sx = c->raster_scale * f->w / (fwd(f->x1, f->xlog) - fwd(f->x0, f->xlog));
    double sy = c->raster_scale * f->h / (fwd(f->y1, f->ylog) - fwd(f->y0, f->ylog));
    double ox = fwd(f->x0, f->xlog), oy = fwd(f->y0, f->ylog);
    for (int k = 0; k < s->n; k++) {
        double x = s->x[k], y = s->y[k];
        if (!usable(x, f->xlog) || !usable(y, f->ylog))
            continue;
        double px = (fwd(x, f->xlog) - ox) * sx, py = l.h - (fwd(y, f->ylog) - oy) * sy;
        if (px < -size || py < -size || px > l.w + size || py > l.h + size)
            continue;
        uint32_t col = base;
        if (s->classes)
            col = s->classes[k] < 0 ? 0x7f7f7f : color_cycle(s->classes[k]);
        uint32_t cr = col >> 16 & 255, cg = col >> 8 & 255, cb = col & 255;
        int m = (px - floor(px)) > 0.25 && (px - floor(px)) < 0.75 ? 0 : 1;
        int x0 = (int)floor(px) - size / 2, y0 = (int)floor(py) - size / 2;
        if (m) {
            x0 = (int)floor(px + 0.5) - size / 2;
            y0 = (int)floor(py + 0.5) - size / 2;
        }
        int inside = x0 >= 0 && y0 >= 0 && x0 + size <= l.w && y0 + size <= l.h;
        const stamp_px *sp = spans[m];
        uint32_t opaque = 0xFF000000u | col;
        for (int q = 0; q < nspan[m]; q++) {
            int tx = x0 + sp[q].dx, ty = y0 + sp[q].dy;
            if (!inside && (tx < 0 || ty < 0 || tx >= l.w || ty >= l.h))
                continue;
            uint32_t *d = l.px + (size_t)ty * (size_t)l.stride + (size_t)tx;
            uint32_t a = sp[q].a;
            if (a == 255) {
                *d = opaque;
                continue;
            }
            uint32_t dst = *d, ia = 255 - a;
            uint32_t da = a + div255((dst >> 24) * ia);
            uint32_t dr = div255(cr * a + (dst >> 16 & 255) * ia);
            uint32_t dg = div255(cg * a + (dst >> 8 & 255) * ia);
            uint32_t db = div255(cb * a + (dst & 255) * ia);
            *d = da << 24 | dr << 16 | dg << 8 | db;
        }
    }
    free(spans[0]);
    free(mask);
    layer_paint(&l, c, f);
}

/* ---- vector series ---- */

static void marker_path(cairo_t *cr, char m, double x, double y, double d)
{
    double r = d / 2;
    switch (m) {
    case 's':
        cairo_rectangle(cr, x - r, y - r, d, d);
        break;
    case '^':
    case 'v': {
        double k = m == '^' ? 1 : -1;
        cairo_move_to(cr, x, y - k * r);
        cairo_line_to(cr, x + r, y + k * r);
        cairo_line_to(cr, x - r, y + k * r);
        cairo_close_path(cr);
        break;
    }
    case 'D':
        cairo_move_to(cr, x, y - r);
        cairo_line_to(cr, x + r * 0.75, y);
        cairo_line_to(cr, x, y + r);
        cairo_line_to(cr, x - r * 0.75, y);
        cairo_close_path(cr);
        break;
    case '+':
        cairo_move_to(cr, x - r, y);
        cairo_line_to(cr, x + r, y);
        cairo_move_to(cr, x, y - r);
        cairo_line_to(cr, x, y + r);
        break;
    case 'x':
        cairo_move_to(cr, x - r * 0.7, y - r * 0.7);
        cairo_line_to(cr, x + r * 0.7, y + r * 0.7);
        cairo_move_to(cr, x - r * 0.7, y + r * 0.7);
        cairo_line_to(cr, x + r * 0.7, y - r * 0.7);
        break;
    case '.':
        cairo_new_sub_path(cr);
        cairo_arc(cr, x, y, r * 0.5, 0, 2 * M_PI);
        break;
    default:
        cairo_new_sub_path(cr);
        cairo_arc(cr, x, y, r, 0, 2 * M_PI);
    }
}

static void marker_finish(cairo_t *cr, char m)
{
    if (m == '+' || m == 'x') {
        cairo_set_line_width(cr, 1.0 * PT);
        cairo_stroke(cr);
    } else {
        cairo_fill(cr);
    }
}

static void set_dash(cairo_t *cr, int line, double lw)
{
    static const double dashed[2] = {3.7, 1.6}, dotted[2] = {1, 1.65}, dashdot[4] = {6.4, 1.6, 1, 1.6};
    double d[4];
    const double *src = NULL;
    int n = 0;
    if (line == LINE_DASHED)
        src = dashed, n = 2;
    else if (line == LINE_DOTTED)
        src = dotted, n = 2;
    else if (line == LINE_DASHDOT)
        src = dashdot, n = 4;
    for (int i = 0; i < n; i++)
        d[i] = src[i] * lw;
    cairo_set_dash(cr, d, n, 0);
}

static void draw_line(ctx *c, const frame *f, const series *s, uint32_t col)
{
    cairo_t *cr = c->cr;
    set_rgb(cr, col);
    if (s->line != LINE_NONE && s->n > 0) {
        /* Monotone x with many more points than pixels: keep first, min, max and last of
         * each device-pixel column; the drawn line is the same, the path is tiny. */
        int monotone = 1;
        for (int k = 1; k < s->n && monotone; k++)
            if (s->x[k] < s->x[k - 1])
                monotone = 0;
        int reduce = monotone && s->n > 4 * f->w * c->scale;
        cairo_new_path(cr);
        int pen = 0;
        long col_id = LONG_MIN;
        /* per column: first, lowest, highest and last point (x, y, index) */
        double fx = 0, fy = 0, lx = 0, ly = 0, nx = 0, ny = 0, mx = 0, my = 0;
        int kf = 0, kn = 0, km = 0, kl = 0;
        for (int k = 0; k <= s->n; k++) {
            int ok = k < s->n && usable(s->x[k], f->xlog) && usable(s->y[k], f->ylog);
            double px = ok ? to_px(f, s->x[k]) : 0, py = ok ? to_py(f, s->y[k]) : 0;
            if (!reduce) {
                if (!ok) {
                    pen = 0;
                    continue;
                }
                if (pen)
                    cairo_line_to(cr, px, py);
                else
                    cairo_move_to(cr, px, py);
                pen = 1;
                continue;
            }
            long id = ok ? (long)floor(px * c->scale) : LONG_MIN;
            if (id != col_id && col_id != LONG_MIN) {
                /* Flush the finished column: its extreme points in the order they came,
                 * so the path is the original one with the invisible wiggles removed. */
                double ex[4] = {fx, nx, mx, lx}, ey[4] = {fy, ny, my, ly};
                int ek[4] = {kf, kn, km, kl};
                if (kn > km) {
                    ex[1] = mx, ey[1] = my, ek[1] = km;
                    ex[2] = nx, ey[2] = ny, ek[2] = kn;
                }
                int last = -1;
                for (int e = 0; e < 4; e++) {
                    if (ek[e] == last)
                        continue;
                    if (pen)
                        cairo_line_to(cr, ex[e], ey[e]);
                    else
                        cairo_move_to(cr, ex[e], ey[e]);
                    pen = 1;
                    last = ek[e];
                }
            }
            if (!ok) {
                pen = 0;
                col_id = LONG_MIN;
                continue;
            }
            if (id != col_id) {
                col_id = id;
                fx = lx = nx = mx = px;
                fy = ly = ny = my = py;
                kf = kl = kn = km = k;
            } else {
                lx = px, ly = py, kl = k;
                if (py < ny)
                    nx = px, ny = py, kn = k;
                if (py > my)
                    mx = px, my = py, km = k;
            }
        }
        cairo_set_line_width(cr, LINE_W * c->fs);
        cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
        cairo_set_line_cap(cr, s->line == LINE_SOLID ? CAIRO_LINE_CAP_SQUARE : CAIRO_LINE_CAP_BUTT);
        set_dash(cr, s->line, LINE_W * c->fs);
        cairo_stroke(cr);
        cairo_set_dash(cr, NULL, 0, 0);
    }
    if (s->marker) {
        double d = MARKER_D * c->fs;
        if (s->n > VECTOR_SCATTER_MAX) {
            stamp_points(c, f, s, d * c->raster_scale, col);
            return;
        }
        cairo_new_path(cr);
        for (int k = 0; k < s->n; k++) {
            if (!usable(s->x[k], f->xlog) || !usable(s->y[k], f->ylog))
                continue;
            marker_path(cr, s->marker, to_px(f, s->x[k]), to_py(f, s->y[k]), d);
            if (s->marker == '+' || s->marker == 'x')
                continue;
        }
        marker_finish(cr, s->marker);
    }
}

static double scatter_diameter(const series *s, double fs)
{
    if (s->size > 0)
        return s->size;
    double d = MARKER_D * fs;
    if (s->n > 100000)
        d = 2.5;
    else if (s->n > 20000)
        d = 3.5;
    else if (s->n > 2000)
        d = 5;
    return d;
}

static void draw_scatter(ctx *c, const frame *f, const series *s, uint32_t col)
{
    double d = scatter_diameter(s, c->fs);
    if (s->n > VECTOR_SCATTER_MAX) {
        stamp_points(c, f, s, d * c->raster_scale, col);
        return;
    }
    cairo_t *cr = c->cr;
    /* One fill per colour, but in point order within it. */
    int ncol = s->classes ? s->nclasses + 1 : 1;
    for (int cls = -1; cls < ncol - 1; cls++) {
        uint32_t cc = !s->classes ? col : cls < 0 ? 0x7f7f7f : color_cycle(cls);
        cairo_new_path(cr);
        int any = 0;
        for (int k = 0; k < s->n; k++) {
            if (s->classes && s->classes[k] != cls)
                continue;
            if (!s->classes && cls != -1)
                continue;
            if (!usable(s->x[k], f->xlog) || !usable(s->y[k], f->ylog))
                continue;
            marker_path(cr, s->marker ? s->marker : 'o', to_px(f, s->x[k]), to_py(f, s->y[k]), d);
            any = 1;
        }
        if (any) {
            set_rgb(cr, cc);
            marker_finish(cr, s->marker ? s->marker : 'o');
        }
        if (!s->classes)
            break;
    }
}

static void draw_bars(ctx *c, const frame *f, const series *s, uint32_t col)
{
    cairo_t *cr = c->cr;
    set_rgb(cr, col);
    cairo_new_path(cr);
    for (int k = 0; k < s->n; k++) {
        double y = s->y[k];
        if (!usable(y, f->ylog))
            continue;
        double base = f->ylog ? fmin(f->y0, f->y1) : 0;
        double xa = to_px(f, s->x[k] - s->size / 2), xb = to_px(f, s->x[k] + s->size / 2);
        double ya = to_py(f, base), yb = to_py(f, y);
        cairo_rectangle(cr, xa, fmin(ya, yb), xb - xa, fabs(yb - ya));
    }
    cairo_fill(cr);
}

static void draw_annotations(ctx *c, const frame *f, const series *s)
{
    if (s->rows != s->data_rows || s->cols != s->data_cols || s->channels != 1)
        return;
    double cell = f->w / fabs(f->x1 - f->x0);
    cairo_t *cr = c->cr;
    double size = fmin(FONT_PT * PT * c->fs, cell * 0.45);
    if (size < 5)
        return;
    cairo_set_font_size(cr, size);
    for (int i = 0; i < s->rows; i++) {
        for (int j = 0; j < s->cols; j++) {
            double v = s->img[(size_t)i * (size_t)s->cols + (size_t)j];
            char buf[32];
            if (isnan(v))
                snprintf(buf, sizeof buf, "nan");
            else if (v == floor(v) && fabs(v) < 1e9)
                snprintf(buf, sizeof buf, "%.0f", v);
            else
                snprintf(buf, sizeof buf, "%.2g", v);
            if (text_width(c, buf) > cell * 0.95)
                continue;
            double t = (v - f->clo) / (f->chi - f->clo);
            set_rgb(cr, t > 0.5 ? 0xffffff : 0x000000);
            text_draw(c, buf, to_px(f, j), to_py(f, i), 0.5, 0.5, 0);
        }
    }
}

/* ---- axes furniture ---- */

static void draw_ticks(ctx *c, const plot_axes *ax, const frame *f)
{
    cairo_t *cr = c->cr;
    double lw = line_width_snapped(c, SPINE_W);
    int odd = (int)floor(lw * c->scale + 0.5) % 2;
    cairo_set_line_width(cr, lw);
    set_rgb(cr, 0x000000);
    cairo_new_path(cr);
    double bottom = f->y + f->h, left = f->x;
    for (int i = 0; i < f->xt.n; i++) {
        double x = snap(c, to_px(f, f->xt.value[i]), odd);
        cairo_move_to(cr, x, bottom);
        cairo_line_to(cr, x, bottom + TICK_LEN);
    }
    for (int i = 0; i < f->yt.n; i++) {
        double y = snap(c, to_py(f, f->yt.value[i]), odd);
        cairo_move_to(cr, left, y);
        cairo_line_to(cr, left - TICK_LEN, y);
    }
    cairo_stroke(cr);
    font_size(c, FONT_PT);
    double font = FONT_PT * PT * c->fs;
    int rotate = f->xrot;
    for (int i = 0; i < f->xt.n; i++) {
        double x = to_px(f, f->xt.value[i]);
        if (rotate)
            text_draw(c, f->xt.label[i], x, bottom + TICK_LEN + TICK_PAD * c->fs, 1, 0.5, M_PI / 2);
        else
            text_draw(c, f->xt.label[i], x, bottom + TICK_LEN + TICK_PAD * c->fs, 0.5, 0, 0);
    }
    for (int i = 0; i < f->yt.n; i++)
        text_draw(c, f->yt.label[i], left - TICK_LEN - TICK_PAD * c->fs, to_py(f, f->yt.value[i]), 1, 0.5, 0);
    if (f->xt.note[0])
        text_draw(c, f->xt.note, f->x + f->w, bottom + TICK_LEN + TICK_PAD * c->fs + f->xtick_h - font * 0.95, 1, 0,
                  0);
    if (f->yt.note[0])
        text_draw(c, f->yt.note, f->x, f->y - font * 0.35, 0, 1, 0);
    (void)ax;
}

static void draw_grid(ctx *c, const frame *f)
{
    cairo_t *cr = c->cr;
    double lw = line_width_snapped(c, SPINE_W);
    int odd = (int)floor(lw * c->scale + 0.5) % 2;
    cairo_set_line_width(cr, lw);
    set_rgb(cr, 0xb0b0b0);
    cairo_new_path(cr);
    for (int i = 0; i < f->xt.n; i++) {
        double x = snap(c, to_px(f, f->xt.value[i]), odd);
        cairo_move_to(cr, x, f->y);
        cairo_line_to(cr, x, f->y + f->h);
    }
    for (int i = 0; i < f->yt.n; i++) {
        double y = snap(c, to_py(f, f->yt.value[i]), odd);
        cairo_move_to(cr, f->x, y);
        cairo_line_to(cr, f->x + f->w, y);
    }
    cairo_stroke(cr);
}

static void draw_frame(ctx *c, double x, double y, double w, double h)
{
    cairo_t *cr = c->cr;
    double lw = line_width_snapped(c, SPINE_W);
    int odd = (int)floor(lw * c->scale + 0.5) % 2;
    double half = odd ? 0.5 / c->scale : 0;
    cairo_set_line_width(cr, lw);
    set_rgb(cr, 0x000000);
    /* The frame sits just outside the plot rectangle, so it never covers data pixels. */
    double x0 = snap(c, x, 0) - half, y0 = snap(c, y, 0) - half;
    double x1 = snap(c, x + w, 0) + half, y1 = snap(c, y + h, 0) + half;
    cairo_rectangle(cr, x0, y0, x1 - x0, y1 - y0);
    cairo_stroke(cr);
}

static void draw_colorbar(ctx *c, const frame *f)
{
    frame cb = *f;
    cb.x = snap(c, f->x + f->w + f->cb_pad, 0);
    cb.w = snap(c, f->cb_w, 0);
    cb.x0 = 0;
    cb.x1 = 1;
    cb.xlog = cb.ylog = 0;
    cb.y0 = f->clo;
    cb.y1 = f->chi;
    layer l;
    if (layer_new(&l, c, &cb) == 0) {
        const uint32_t *table = colormap_table(f->cmap, f->cmap_rev);
        for (int v = 0; v < l.h; v++) {
            int i = (int)((l.h - 1 - v + 0.5) * 256.0 / l.h);
            uint32_t col = 0xFF000000u | table[i > 255 ? 255 : i];
            for (int u = 0; u < l.w; u++)
                l.px[(size_t)v * (size_t)l.stride + (size_t)u] = col;
        }
        layer_paint(&l, c, &cb);
    }
    draw_frame(c, cb.x, cb.y, cb.w, cb.h);
    cairo_t *cr = c->cr;
    double lw = line_width_snapped(c, SPINE_W);
    int odd = (int)floor(lw * c->scale + 0.5) % 2;
    cairo_set_line_width(cr, lw);
    cairo_new_path(cr);
    font_size(c, FONT_PT);
    for (int i = 0; i < f->ct.n; i++) {
        double y = snap(c, to_py(&cb, f->ct.value[i]), odd);
        cairo_move_to(cr, cb.x + cb.w, y);
        cairo_line_to(cr, cb.x + cb.w + TICK_LEN, y);
    }
    cairo_stroke(cr);
    for (int i = 0; i < f->ct.n; i++)
        text_draw(c, f->ct.label[i], cb.x + cb.w + TICK_LEN + TICK_PAD * c->fs, to_py(&cb, f->ct.value[i]), 0, 0.5, 0);
    if (f->ct.note[0])
        text_draw(c, f->ct.note, cb.x, cb.y - FONT_PT * PT * c->fs * 0.35, 0, 1, 0);
}

/* ---- legend ---- */

typedef struct legend_entry {
    const char *text;
    char buf[24];
    uint32_t color;
    const series *s;
    int kind; /* 0 line, 1 marker, 2 patch */
} legend_entry;

static uint32_t series_color(const plot_axes *ax, int i)
{
    const series *s = &ax->s[i];
    if (s->color_set)
        return s->color;
    int k = 0;
    for (int j = 0; j < i; j++)
        k += ax->s[j].kind != SERIES_IMAGE && !ax->s[j].color_set;
    return color_cycle(k);
}

static int legend_entries(const plot_axes *ax, legend_entry *e, int cap)
{
    int n = 0;
    for (int i = 0; i < ax->ns && n < cap; i++) {
        const series *s = &ax->s[i];
        if (s->kind == SERIES_IMAGE)
            continue;
        if (s->label) {
            e[n].text = s->label;
            e[n].color = series_color(ax, i);
            e[n].s = s;
            e[n].kind = s->kind == SERIES_BARS ? 2 : s->kind == SERIES_SCATTER || s->line == LINE_NONE ? 1 : 0;
            n++;
        } else if (s->kind == SERIES_SCATTER && s->classes && ax->legend == 1 && s->nclasses <= 20) {
            for (int k = 0; k < s->nclasses && n < cap; k++) {
                snprintf(e[n].buf, sizeof e[n].buf, "%d", k);
                e[n].text = e[n].buf;
                e[n].color = color_cycle(k);
                e[n].s = s;
                e[n].kind = 1;
                n++;
            }
        }
    }
    return n;
}

/* Points of the axes inside the rectangle (sampled), to place the legend where it hides least. */
static long points_under(const plot_axes *ax, const frame *f, double x, double y, double w, double h)
{
    long hits = 0;
    for (int i = 0; i < ax->ns; i++) {
        const series *s = &ax->s[i];
        if (s->kind == SERIES_IMAGE)
            continue;
        int step = s->n > 4000 ? s->n / 4000 : 1;
        for (int k = 0; k < s->n; k += step) {
            if (!usable(s->x[k], f->xlog) || !usable(s->y[k], f->ylog))
                continue;
            double px = to_px(f, s->x[k]), py = to_py(f, s->y[k]);
            if (s->kind == SERIES_BARS) {
                double top = fmin(py, to_py(f, f->ylog ? fmin(f->y0, f->y1) : 0));
                hits += px >= x && px <= x + w && top <= y + h;
                continue;
            }
            hits += px >= x && px <= x + w && py >= y && py <= y + h;
        }
    }
    return hits;
}

static void draw_legend(ctx *c, const plot_axes *ax, const frame *f)
{
    legend_entry e[32];
    int n = legend_entries(ax, e, 32);
    if (n == 0)
        return;
    cairo_t *cr = c->cr;
    font_size(c, FONT_PT);
    double em = FONT_PT * PT * c->fs;
    double tw = 0;
    for (int i = 0; i < n; i++)
        tw = fmax(tw, text_width(c, e[i].text));
    double pad = 0.4 * em, handle = 2.0 * em, gap = 0.8 * em, row = em * 1.2, space = 0.5 * em * 0.6;
    double w = pad * 2 + handle + gap + tw, h = pad * 2 + n * row + (n - 1) * space;
    double inset = 0.5 * em;
    /* "best": the corner covering the fewest data points, upper right first on ties. */
    double cand[4][2] = {{f->x + f->w - inset - w, f->y + inset},
                         {f->x + inset, f->y + inset},
                         {f->x + inset, f->y + f->h - inset - h},
                         {f->x + f->w - inset - w, f->y + f->h - inset - h}};
    int best = 0;
    long least = -1;
    for (int k = 0; k < 4; k++) {
        long hits = points_under(ax, f, cand[k][0], cand[k][1], w, h);
        if (least < 0 || hits < least) {
            least = hits;
            best = k;
        }
    }
    double x = cand[best][0], y = cand[best][1], r = 0.2 * em;
    cairo_new_path(cr);
    cairo_arc(cr, x + w - r, y + r, r, -M_PI / 2, 0);
    cairo_arc(cr, x + w - r, y + h - r, r, 0, M_PI / 2);
    cairo_arc(cr, x + r, y + h - r, r, M_PI / 2, M_PI);
    cairo_arc(cr, x + r, y + r, r, M_PI, 1.5 * M_PI);
    cairo_close_path(cr);
    cairo_set_source_rgba(cr, 1, 1, 1, 0.8);
    cairo_fill_preserve(cr);
    cairo_set_source_rgb(cr, 0.8, 0.8, 0.8);
    cairo_set_line_width(cr, SPINE_W);
    cairo_stroke(cr);
    for (int i = 0; i < n; i++) {
        double cy = y + pad + i * (row + space) + row / 2;
        double hx = x + pad;
        set_rgb(cr, e[i].color);
        if (e[i].kind == 2) {
            cairo_rectangle(cr, hx, cy - 0.35 * em, handle, 0.7 * em);
            cairo_fill(cr);
        } else if (e[i].kind == 0) {
            cairo_new_path(cr);
            cairo_move_to(cr, hx, cy);
            cairo_line_to(cr, hx + handle, cy);
            cairo_set_line_width(cr, LINE_W * c->fs);
            set_dash(cr, e[i].s->line, LINE_W * c->fs);
            cairo_stroke(cr);
            cairo_set_dash(cr, NULL, 0, 0);
            if (e[i].s->marker) {
                marker_path(cr, e[i].s->marker, hx + handle / 2, cy, MARKER_D * c->fs);
                marker_finish(cr, e[i].s->marker);
            }
        } else {
            cairo_new_path(cr);
            char m = e[i].s->marker ? e[i].s->marker : 'o';
            marker_path(cr, m, hx + handle / 2, cy, MARKER_D * c->fs);
            marker_finish(cr, m);
        }
        set_rgb(cr, 0x000000);
        text_draw(c, e[i].text, hx + handle + gap, cy, 0, 0.5, 0);
    }
}

/* ---- one axes ---- */

/* What cannot be drawn, said on the axes: "no data", or how many values were not finite. */
static void draw_note(ctx *c, const plot_axes *ax, const frame *f)
{
    long drawable = 0, bad = 0;
    for (int i = 0; i < ax->ns; i++) {
        const series *s = &ax->s[i];
        if (s->kind == SERIES_IMAGE) {
            drawable += s->data_rows > 0 && (s->dmin <= s->dmax || s->channels != 1);
            bad += s->nan_count + s->inf_count;
            continue;
        }
        bad += s->nan_count + s->inf_count;
        for (int k = 0; k < s->n; k++) {
            int ok = s->kind == SERIES_BARS ? usable(s->y[k], f->ylog)
                                            : usable(s->x[k], f->xlog) && usable(s->y[k], f->ylog);
            drawable += ok;
            bad += !ok && s->kind != SERIES_BARS;
        }
    }
    if (drawable > 0 || (ax->ns == 0 && !ax->empty_note))
        return;
    char text[96];
    if (bad)
        snprintf(text, sizeof text, "no finite data (%ld NaN/Inf%s)", bad, ax->xlog || ax->ylog ? " or <= 0" : "");
    else
        snprintf(text, sizeof text, "no data");
    font_size(c, FONT_PT);
    set_rgb(c->cr, 0x808080);
    text_draw(c, text, f->x + f->w / 2, f->y + f->h / 2, 0.5, 0.5, 0);
}

static void draw_axes(ctx *c, const plot_axes *ax, double cx, double cy, double cw, double ch)
{
    frame f;
    memset(&f, 0, sizeof f);
    axes_layout(c, ax, &f, cx, cy, cw, ch);
    cairo_t *cr = c->cr;
    if (ax->grid && ax->axis_on)
        draw_grid(c, &f);
    cairo_save(cr);
    cairo_rectangle(cr, f.x, f.y, f.w, f.h);
    cairo_clip(cr);
    for (int i = 0; i < ax->ns; i++) {
        const series *s = &ax->s[i];
        uint32_t col = series_color(ax, i);
        switch (s->kind) {
        case SERIES_IMAGE:
            draw_image(c, &f, s);
            if (s->annotate)
                draw_annotations(c, &f, s);
            break;
        case SERIES_LINE:
            draw_line(c, &f, s, col);
            break;
        case SERIES_SCATTER:
            draw_scatter(c, &f, s, col);
            break;
        case SERIES_BARS:
            draw_bars(c, &f, s, col);
            break;
        }
    }
    cairo_restore(cr);
    if (ax->axis_on) {
        draw_frame(c, f.x, f.y, f.w, f.h);
        draw_ticks(c, ax, &f);
    }
    if (f.cb_w > 0)
        draw_colorbar(c, &f);
    draw_note(c, ax, &f);
    set_rgb(cr, 0x000000);
    double font = FONT_PT * PT * c->fs;
    if (ax->title) {
        /* A title wider than the plot shrinks to fit (down to the tick labels' size), then
         * loses its end to an ellipsis: it must not run off the figure. */
        font_size(c, TITLE_PT);
        double w = text_width(c, ax->title), room = f.w + 2 * OUTER_PAD * c->fs;
        if (w > room)
            font_size(c, fmax(FONT_PT, TITLE_PT * room / w));
        char fit[520];
        snprintf(fit, sizeof fit, "%s", ax->title);
        if (text_width(c, fit) > room) {
            char whole[512];
            snprintf(whole, sizeof whole, "%s", ax->title);
            size_t keep = strlen(whole);
            do { /* drop the last UTF-8 character, then try with an ellipsis (U+2026) */
                keep--;
                while (keep > 0 && ((unsigned char)whole[keep] & 0xC0) == 0x80)
                    keep--;
                snprintf(fit, sizeof fit, "%.*s\xE2\x80\xA6", (int)keep, whole);
            } while (keep > 0 && text_width(c, fit) > room);
        }
        text_draw(c, fit, f.x + f.w / 2, f.y - TITLE_PAD * c->fs, 0.5, 1, 0);
    }
    font_size(c, FONT_PT);
    if (ax->xlabel && ax->axis_on)
        text_draw(c, ax->xlabel, f.x + f.w / 2, f.y + f.h + TICK_LEN + TICK_PAD * c->fs + f.xtick_h + LABEL_PAD * c->fs,
                  0.5, 0, 0);
    if (ax->ylabel && ax->axis_on) {
        double ytw = max_label_width(c, &f.yt);
        double x = f.x - TICK_LEN - TICK_PAD * c->fs - ytw - LABEL_PAD * c->fs - font * DESCENT;
        text_draw(c, ax->ylabel, x, f.y + f.h / 2, 0.5, 1, M_PI / 2);
    }
    if (ax->legend != 0 && ax->axis_on)
        draw_legend(c, ax, &f);
}

static void draw_figure(ctx *c, figure *fig)
{
    cairo_t *cr = c->cr;
    font_ready();
    cairo_set_font_face(cr, font_face);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    double top = 0;
    double fs_fig = fmin(1.0, fmax(0.6, fmin(fig->width / 640.0, fig->height / 480.0) * 1.4));
    if (fig->suptitle) {
        c->fs = fs_fig;
        font_size(c, TITLE_PT);
        set_rgb(cr, 0x000000);
        text_draw(c, fig->suptitle, fig->width / 2.0, OUTER_PAD * fs_fig, 0.5, 0, 0);
        top = OUTER_PAD * fs_fig + TITLE_PT * PT * fs_fig * (CAP_HEIGHT + DESCENT);
    }
    double cw = (double)fig->width / fig->grid_cols, ch = (fig->height - top) / fig->grid_rows;
    c->fs = fmin(1.0, fmax(0.6, fmin(cw / 300.0, ch / 220.0)));
    for (int i = 0; i < fig->naxes; i++) {
        int r = i / fig->grid_cols, col = i % fig->grid_cols;
        const plot_axes *ax = fig->axes[i];
        if (!ax->axis_on && ax->ns == 0 && !ax->empty_note && !ax->title)
            continue; /* spare cell of an image grid */
        draw_axes(c, ax, col * cw, top + r * ch, cw, ch);
    }
}

static cairo_status_t stream_append(void *closure, const unsigned char *data, unsigned int length)
{
    struct {
        char *p;
        size_t len, cap;
    } *b = closure;
    if (b->len + length + 1 > b->cap) {
        size_t cap = (b->len + length + 1) * 2;
        char *p = realloc(b->p, cap);
        if (!p)
            return CAIRO_STATUS_NO_MEMORY;
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, data, length);
    b->len += length;
    b->p[b->len] = '\0';
    return CAIRO_STATUS_SUCCESS;
}

int render_to_png(figure *fig, double scale, unsigned char **png, size_t *size)
{
    int w = (int)ceil(fig->width * scale), h = (int)ceil(fig->height * scale);
    cairo_surface_t *surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h);
    if (cairo_surface_status(surface) != CAIRO_STATUS_SUCCESS) {
        cairo_surface_destroy(surface);
        cairn_error("plot_render_png", "cannot create a %d x %d image", w, h);
        return -1;
    }
    cairo_t *cr = cairo_create(surface);
    cairo_scale(cr, scale, scale);
    ctx c = {cr, scale, scale, 1};
    draw_figure(&c, fig);
    cairo_status_t st = cairo_status(cr);
    cairo_destroy(cr);
    cairo_surface_flush(surface);
    if (st != CAIRO_STATUS_SUCCESS) {
        cairo_surface_destroy(surface);
        cairn_error("plot_render_png", "cairo failed: %s", cairo_status_to_string(st));
        return -1;
    }
    *png = png_encode_rgb(cairo_image_surface_get_data(surface), w, h, cairo_image_surface_get_stride(surface),
                          96.0 * scale, size);
    cairo_surface_destroy(surface);
    if (!*png) {
        cairn_error("plot_render_png", "out of memory encoding a %d x %d PNG", w, h);
        return -1;
    }
    return 0;
}

int render_to_svg(figure *fig, char **svg, size_t *size)
{
    struct {
        char *p;
        size_t len, cap;
    } b = {0};
    cairo_surface_t *surface = cairo_svg_surface_create_for_stream(stream_append, &b, fig->width, fig->height);
    /* Pixels, not cairo's default points: the notebook then shows it at 640 px, like the PNG. */
    cairo_svg_surface_set_document_unit(surface, CAIRO_SVG_UNIT_PX);
    cairo_t *cr = cairo_create(surface);
    ctx c = {cr, 1, 2, 1};
    draw_figure(&c, fig);
    cairo_status_t st = cairo_status(cr);
    cairo_destroy(cr);
    cairo_surface_finish(surface);
    if (st == CAIRO_STATUS_SUCCESS)
        st = cairo_surface_status(surface);
    cairo_surface_destroy(surface);
    if (st != CAIRO_STATUS_SUCCESS || !b.p) {
        free(b.p);
        cairn_error("plot_render_svg", "cairo failed: %s", cairo_status_to_string(st));
        return -1;
    }
    *svg = b.p;
    *size = b.len;
    return 0;
}
