/* test_plot.c — figures (runtime/plot): rendered PNGs decoded and inspected, SVG
 * parsed as XML, the display bundles that reach the sink (ids of live updates), NaN /
 * empty data handling, errors, and progress bars.
 *
 * PNGs are decoded with cairo's own PNG reader (libpng), so a bug in our encoder cannot
 * hide behind a matching bug in a decoder of ours. Colours are checked against the
 * colormap and palette tables, at places where the data must be drawn. */
#include "cairn.h"
#include "check.h"
#include "../../runtime/plot/plot_internal.h"

#include <cairo.h>
#include <time.h>
#include <unistd.h>

/* ---- a sink that keeps every bundle ---- */

#define MAX_BUNDLES 64
typedef struct bundle {
    int kind;
    char id[64];
    int nparts;
    char mime[4][32];
    unsigned char *data[4];
    size_t size[4];
} bundle;
static bundle got[MAX_BUNDLES];
static int ngot;

static void sink(int kind, const display_part *parts, int nparts, const char *display_id, int wait)
{
    (void)wait;
    if (ngot >= MAX_BUNDLES)
        return;
    bundle *b = &got[ngot++];
    b->kind = kind;
    snprintf(b->id, sizeof b->id, "%s", display_id ? display_id : "");
    b->nparts = nparts > 4 ? 4 : nparts;
    for (int i = 0; i < b->nparts; i++) {
        snprintf(b->mime[i], sizeof b->mime[i], "%s", parts[i].mime);
        b->data[i] = malloc(parts[i].size + 1);
        memcpy(b->data[i], parts[i].data, parts[i].size);
        b->data[i][parts[i].size] = 0;
        b->size[i] = parts[i].size;
    }
}

static void sink_clear(void)
{
    for (int i = 0; i < ngot; i++)
        for (int k = 0; k < got[i].nparts; k++)
            free(got[i].data[k]);
    ngot = 0;
}

static const bundle *part_of(const bundle *b, const char *mime, int *k)
{
    for (int i = 0; i < b->nparts; i++)
        if (strcmp(b->mime[i], mime) == 0) {
            *k = i;
            return b;
        }
    return NULL;
}

/* ---- PNG decoding through cairo ---- */

typedef struct reader {
    const unsigned char *p;
    size_t size, pos;
} reader;

static cairo_status_t read_bytes(void *closure, unsigned char *data, unsigned int length)
{
    reader *r = closure;
    if (r->pos + length > r->size)
        return CAIRO_STATUS_READ_ERROR;
    memcpy(data, r->p + r->pos, length);
    r->pos += length;
    return CAIRO_STATUS_SUCCESS;
}

typedef struct image {
    int w, h, stride;
    const uint32_t *px;
    cairo_surface_t *s;
} image;

static int decode(const unsigned char *png, size_t size, image *im)
{
    reader r = {png, size, 0};
    im->s = cairo_image_surface_create_from_png_stream(read_bytes, &r);
    if (cairo_surface_status(im->s) != CAIRO_STATUS_SUCCESS) {
        cairo_surface_destroy(im->s);
        im->s = NULL;
        return -1;
    }
    im->w = cairo_image_surface_get_width(im->s);
    im->h = cairo_image_surface_get_height(im->s);
    im->stride = cairo_image_surface_get_stride(im->s) / 4;
    im->px = (const uint32_t *)(const void *)cairo_image_surface_get_data(im->s);
    return 0;
}

static int render(figure *fig, image *im)
{
    size_t size = 0;
    unsigned char *png = plot_render_png(fig, &size);
    if (!png)
        return -1;
    int rc = decode(png, size, im);
    free(png);
    return rc;
}

static uint32_t rgb_at(const image *im, int x, int y) { return im->px[(size_t)y * im->stride + x] & 0xFFFFFF; }

static long count_color(const image *im, uint32_t rgb)
{
    long n = 0;
    for (int y = 0; y < im->h; y++)
        for (int x = 0; x < im->w; x++)
            n += rgb_at(im, x, y) == rgb;
    return n;
}

/* Centroid of the pixels of one exact colour. */
static void centroid(const image *im, uint32_t rgb, double *cx, double *cy)
{
    double sx = 0, sy = 0;
    long n = 0;
    for (int y = 0; y < im->h; y++)
        for (int x = 0; x < im->w; x++)
            if (rgb_at(im, x, y) == rgb) {
                sx += x;
                sy += y;
                n++;
            }
    *cx = n ? sx / n : -1;
    *cy = n ? sy / n : -1;
}

static int dark(uint32_t c) { return (c >> 16 & 255) < 80 && (c >> 8 & 255) < 80 && (c & 255) < 80; }

/* ---- tests ---- */

static void test_png_encoder(void)
{
    /* Every kind of row the encoder special-cases: repeated rows, runs, repeated pixels,
     * noise, and the 1-pixel-wide image. */
    int sizes[3][2] = {{97, 61}, {1, 5}, {2, 3}};
    for (int t = 0; t < 3; t++) {
        int w = sizes[t][0], h = sizes[t][1];
        uint32_t *px = malloc((size_t)w * h * 4);
        uint32_t seed = 12345;
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                seed = seed * 1103515245u + 12345u;
                uint32_t v;
                if (y < 10 && h > 20)
                    v = 0xFFFFFF; /* identical rows */
                else if (y % 7 == 0)
                    v = y % 2 ? (seed >> 8) : ((uint32_t)(x / 5) * 0x102030u); /* noise / runs of pixels */
                else
                    v = (uint32_t)(x * 37 + y * 11) * 0x010101u;
                px[(size_t)y * w + x] = 0xFF000000u | (v & 0xFFFFFF);
            }
        size_t size = 0;
        unsigned char *png = png_encode_rgb((const unsigned char *)px, w, h, w * 4, 96, &size);
        CHECK(png != NULL);
        image im;
        CHECK(png && decode(png, size, &im) == 0);
        if (png && im.s) {
            CHECK(im.w == w && im.h == h);
            long diff = 0;
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                    diff += rgb_at(&im, x, y) != (px[(size_t)y * w + x] & 0xFFFFFF);
            CHECK(diff == 0);
            cairo_surface_destroy(im.s);
        }
        free(png);
        free(px);
    }
}

static void test_line_axes(void)
{
    figure *fig = plot_figure(0, 0);
    CHECK(fig != NULL);
    plot_axes *ax = plot_subplot(fig, 0);
    double y[50];
    for (int i = 0; i < 50; i++)
        y[i] = i < 25 ? 1.0 : 2.0; /* flat runs: exact line colour inside the stroke */
    CHECK(plot_line_array(ax, NULL, y, 50, "steps") == 0);
    plot_title(ax, "title");
    plot_xlabel(ax, "x");
    plot_ylabel(ax, "y");
    CHECK(strcmp(plot_describe(fig), "<figure 640x480 \"title\": 1 axes, line>") == 0);
    image im;
    CHECK(render(fig, &im) == 0);
    if (im.s) {
        CHECK(im.w == 640 && im.h == 480);
        CHECK(rgb_at(&im, 0, 0) == 0xFFFFFF);         /* white background */
        CHECK(count_color(&im, 0x1f77b4) > 300);      /* the tab:blue line */
        /* the frame: a column and a row of dark pixels spanning most of the plot */
        int best_col = 0, best_row = 0;
        for (int x = 0; x < im.w; x++) {
            int n = 0;
            for (int yy = 0; yy < im.h; yy++)
                n += dark(rgb_at(&im, x, yy));
            best_col = n > best_col ? n : best_col;
        }
        for (int yy = 0; yy < im.h; yy++) {
            int n = 0;
            for (int x = 0; x < im.w; x++)
                n += dark(rgb_at(&im, x, yy));
            best_row = n > best_row ? n : best_row;
        }
        CHECK(best_col > 300);
        CHECK(best_row > 450);
        /* the title is drawn: dark glyph pixels in the top band, centred */
        int title_px = 0, title_min_x = im.w, title_max_x = 0;
        for (int yy = 0; yy < 30; yy++)
            for (int x = 0; x < im.w; x++)
                if (dark(rgb_at(&im, x, yy))) {
                    title_px++;
                    title_min_x = x < title_min_x ? x : title_min_x;
                    title_max_x = x > title_max_x ? x : title_max_x;
                }
        CHECK(title_px > 30);
        CHECK(title_max_x - title_min_x > 20 && title_max_x - title_min_x < 60); /* "title" at 12 pt */
        CHECK(abs((title_min_x + title_max_x) / 2 - 340) < 40);
        /* the upper run is above the lower one, and right of it */
        double cx, cy;
        centroid(&im, 0x1f77b4, &cx, &cy);
        CHECK(cx > 200 && cx < 450);
        cairo_surface_destroy(im.s);
    }
    /* A second series takes the second palette colour, and a legend appears. */
    double y2[3] = {1.5, 1.5, 1.5};
    CHECK(plot_line_array(ax, NULL, y2, 3, "flat") == 1);
    CHECK(render(fig, &im) == 0);
    if (im.s) {
        CHECK(count_color(&im, 0xff7f0e) > 30); /* a short flat segment and the legend handle */
        cairo_surface_destroy(im.s);
    }
    CHECK(strcmp(plot_describe(fig), "<figure 640x480 \"title\": 1 axes, line \xc3\x97" "2>") == 0);
    plot_free(fig);
}

/* Pixels within a small distance of an RGB colour (antialiased edges included). */
static unsigned char *color_mask(const image *im, uint32_t rgb)
{
    unsigned char *m = calloc((size_t)im->w * im->h, 1);
    for (int y = 0; y < im->h; y++)
        for (int x = 0; x < im->w; x++) {
            uint32_t c = rgb_at(im, x, y);
            int d = abs((int)(c >> 16 & 255) - (int)(rgb >> 16 & 255)) + abs((int)(c >> 8 & 255) - (int)(rgb >> 8 & 255)) +
                    abs((int)(c & 255) - (int)(rgb & 255));
            m[(size_t)y * im->w + x] = d < 60;
        }
    return m;
}

static void test_long_line_reduction(void)
{
    /* 400000 points are reduced to the min/max of each pixel column; the drawing must be
     * the one of a line with few enough points to be drawn as is. */
    double *x = malloc(400000 * sizeof(double)), *y = malloc(400000 * sizeof(double));
    image full, ref;
    int ok = 1;
    for (int pass = 0; pass < 2; pass++) {
        int n = pass ? 2000 : 400000;
        for (int i = 0; i < n; i++) {
            x[i] = i * 10.0 / n;
            y[i] = sin(x[i]) + 0.3 * sin(x[i] * 37);
        }
        figure *fig = plot_figure(0, 0);
        plot_line_array(plot_subplot(fig, 0), x, y, n, NULL);
        ok &= render(fig, pass ? &ref : &full) == 0;
        plot_free(fig);
    }
    CHECK(ok);
    if (ok) {
        unsigned char *a = color_mask(&full, 0x1f77b4), *b = color_mask(&ref, 0x1f77b4);
        /* Antialiased edges differ a little: a line pixel of one drawing counts as
         * matched when the other has a line pixel within one pixel of it. */
        long na = 0, nb = 0, unmatched = 0;
        int w = full.w, h = full.h;
        for (int yy = 1; yy < h - 1; yy++)
            for (int xx = 1; xx < w - 1; xx++) {
                long i = (long)yy * w + xx;
                na += a[i];
                nb += b[i];
                for (int side = 0; side < 2; side++) {
                    const unsigned char *p = side ? b : a, *q = side ? a : b;
                    if (!p[i])
                        continue;
                    int near = 0;
                    for (int dy = -1; dy <= 1 && !near; dy++)
                        for (int dx = -1; dx <= 1 && !near; dx++)
                            near = q[i + dy * w + dx];
                    unmatched += !near;
                }
            }
        if (unmatched >= nb / 50)
            fprintf(stderr, "line pixels: reduced %ld, reference %ld, unmatched %ld\n", na, nb, unmatched);
        CHECK(na > 10000 && nb > 10000);
        CHECK(labs(na - nb) < nb / 20);
        CHECK(unmatched < nb / 50);
        free(a);
        free(b);
        cairo_surface_destroy(full.s);
        cairo_surface_destroy(ref.s);
    }
    free(x);
    free(y);
}

static void test_heatmap_colours(void)
{
    /* 2 x 2 matrix: each value must fill its own quadrant with its colormap colour,
     * row 0 on top (origin upper). */
    figure *fig = plot_figure(400, 400);
    mat m = mat_zeros(2, 2);
    m.data[0] = 0;
    m.data[1] = 1;
    m.data[2] = 2;
    m.data[3] = 3;
    CHECK(plot_image(plot_subplot(fig, 0), m, "viridis") == 0);
    mat_free(&m); /* the figure holds its own copy */
    const uint32_t *lut = colormap_table(CMAP_VIRIDIS, 0);
    CHECK(lut[0] == 0x440154 && lut[255] == 0xfde725); /* matplotlib's viridis ends */
    uint32_t c[4] = {lut[0], lut[85], lut[170], lut[255]};
    image im;
    CHECK(render(fig, &im) == 0);
    if (im.s) {
        long n0 = count_color(&im, c[0]), n3 = count_color(&im, c[3]);
        CHECK(n0 > 10000);
        CHECK(labs(n0 - n3) < n0 / 20); /* equal quadrants */
        double x0, y0, x1, y1, x2, y2;
        centroid(&im, c[0], &x0, &y0);
        centroid(&im, c[1], &x1, &y1);
        centroid(&im, c[2], &x2, &y2);
        CHECK(x1 > x0 + 50 && fabs(y1 - y0) < 3); /* (0,1) right of (0,0) */
        CHECK(y2 > y0 + 50 && fabs(x2 - x0) < 3); /* (1,0) below (0,0) */
        cairo_surface_destroy(im.s);
    }
    plot_free(fig);

    /* The gray map, reversed, on a heatmap with a NaN: magenta cell, said in the text. */
    fig = plot_figure(0, 0);
    m = mat_zeros(3, 3);
    for (int i = 0; i < 9; i++)
        m.data[i] = i;
    m.data[4] = NAN;
    plot_heatmap(plot_subplot(fig, 0), m, "gray_r");
    CHECK(strstr(plot_describe(fig), "heatmap 3x3") != NULL);
    CHECK(strstr(plot_describe(fig), "1 NaN/Inf pixels shown in magenta") != NULL);
    CHECK(render(fig, &im) == 0);
    if (im.s) {
        long bad = count_color(&im, COLOR_BAD);
        CHECK(bad > 2000);
        CHECK(count_color(&im, 0x000000) > bad / 2); /* value 8 = black in gray_r */
        cairo_surface_destroy(im.s);
    }
    mat_free(&m);
    plot_free(fig);
}

static void test_big_heatmap(void)
{
    /* Wider than the stored limit: block means; left half 0, right half 1. */
    int rows = 300, cols = 3400;
    mat m = mat_zeros(rows, cols);
    for (int i = 0; i < rows; i++)
        for (int j = cols / 2; j < cols; j++)
            *mat_ptr(m, i, j) = 1;
    figure *fig = plot_figure(0, 0);
    plot_heatmap(plot_subplot(fig, 0), m, "magma");
    mat_free(&m);
    CHECK(strstr(plot_describe(fig), "3400 image drawn as 300x1134 block means") != NULL);
    image im;
    CHECK(render(fig, &im) == 0);
    if (im.s) {
        const uint32_t *lut = colormap_table(CMAP_MAGMA, 0);
        CHECK(count_color(&im, lut[0]) > 20000);
        CHECK(count_color(&im, lut[255]) > 20000);
        cairo_surface_destroy(im.s);
    }
    plot_free(fig);
}

static void test_scatter_labels(void)
{
    figure *fig = plot_figure(0, 0);
    int n = 90;
    mat p = mat_zeros(n, 2), lab = mat_zeros(n, 1);
    for (int i = 0; i < n; i++) {
        int c = i % 3;
        p.data[2 * i] = c * 10 + (i % 7);
        p.data[2 * i + 1] = (i * 13 % 17);
        lab.data[i] = c;
    }
    p.data[0] = NAN;
    CHECK(plot_scatter_points(plot_subplot(fig, 0), p, lab, 0) == 0);
    CHECK(strstr(plot_describe(fig), "scatter 90 points") != NULL);
    CHECK(strstr(plot_describe(fig), "1 NaN/Inf values not drawn") != NULL);
    image im;
    CHECK(render(fig, &im) == 0);
    if (im.s) {
        double bx, by, ox, oy, gx, gy;
        centroid(&im, color_cycle(0), &bx, &by);
        centroid(&im, color_cycle(1), &ox, &oy);
        centroid(&im, color_cycle(2), &gx, &gy);
        CHECK(bx > 0 && ox > bx + 100 && gx > ox + 100); /* classes at x 0.., 10.., 20.. */
        cairo_surface_destroy(im.s);
    }
    /* mismatched shapes are an error naming both */
    mat y3 = mat_zeros(3, 1);
    long errors = cairn_error_count();
    CHECK(plot_scatter(plot_subplot(fig, 0), lab, y3, mat_empty(), 0) == -1);
    CHECK(cairn_error_count() == errors + 1);
    CHECK(strstr(cairn_last_error(), "plot_scatter: x has 90 values (90 x 1) but y has 3 (3 x 1)") != NULL);
    mat_free(&y3);
    mat_free(&p);
    mat_free(&lab);
    plot_free(fig);

    /* a million points render (stamped, not stroked one by one) */
    fig = plot_figure(0, 0);
    mat big = mat_zeros(1000000, 2);
    size_t before = cairn_bytes_in_use();
    for (int i = 0; i < 1000000; i++) {
        big.data[2 * i] = sin(i * 0.001) * (i % 1000);
        big.data[2 * i + 1] = cos(i * 0.001) * (i % 1000);
    }
    CHECK(plot_scatter_points(plot_subplot(fig, 0), big, mat_empty(), 0) == 0);
    /* the copy is runtime memory, accounted like a matrix */
    CHECK(cairn_bytes_in_use() >= before + 2 * 1000000 * sizeof(double));
    mat_free(&big);
    CHECK(render(fig, &im) == 0);
    if (im.s) {
        CHECK(count_color(&im, 0x1f77b4) > 10000);
        cairo_surface_destroy(im.s);
    }
    plot_free(fig);
    CHECK(cairn_bytes_in_use() == before - 2 * 1000000 * sizeof(double)); /* figure and matrix gone */
}

static void test_empty_and_errors(void)
{
    figure *fig = plot_figure(0, 0);
    plot_axes *ax = plot_subplot(fig, 0);
    CHECK(plot_line(ax, mat_empty(), mat_empty(), "nothing") == 0);
    CHECK(strstr(plot_describe(fig), "1 series with no data") != NULL);
    image im;
    CHECK(render(fig, &im) == 0);
    if (im.s) {
        CHECK(count_color(&im, 0x808080) > 20); /* the grey "no data" note */
        cairo_surface_destroy(im.s);
    }
    /* all-NaN line: says so, draws nothing blue */
    double nan3[3] = {NAN, NAN, NAN};
    plot_line_array(ax, NULL, nan3, 3, "nan");
    CHECK(strstr(plot_describe(fig), "3 NaN/Inf values not drawn") != NULL);
    CHECK(render(fig, &im) == 0);
    if (im.s) {
        CHECK(count_color(&im, 0xff7f0e) < 60); /* only its legend handle */
        cairo_surface_destroy(im.s);
    }
    plot_free(fig);

    long errors = cairn_error_count();
    CHECK(plot_figure(5, 5) == NULL);
    CHECK(strstr(cairn_last_error(), "plot_figure: figure size 5 x 5") != NULL);
    fig = plot_figure(300, 200);
    CHECK(plot_subplot(fig, 3) == NULL);
    CHECK(strstr(cairn_last_error(), "axes 3 does not exist: the figure has 1") != NULL);
    mat a = mat_zeros(1, 3), b = mat_zeros(1, 4);
    CHECK(plot_line(plot_subplot(fig, 0), a, b, NULL) == -1);
    CHECK(strstr(cairn_last_error(), "plot_line: x has 3 values (1 x 3) but y has 4 (1 x 4)") != NULL);
    CHECK(plot_image(plot_subplot(fig, 0), a, "jet") == -1);
    CHECK(strstr(cairn_last_error(), "unknown colormap \"jet\"") != NULL);
    CHECK(plot_confusion(plot_subplot(fig, 0), b, NULL) == -1);
    CHECK(strstr(cairn_last_error(), "counts is 1 x 4") != NULL);
    CHECK(plot_save(fig, "/tmp/figure.jpeg") == -1);
    CHECK(strstr(cairn_last_error(), "end the path with .png or .svg") != NULL);
    CHECK(plot_save(fig, "/nonexistent-dir/x.png") == -1);
    CHECK(strstr(cairn_last_error(), "cannot open \"/nonexistent-dir/x.png\"") != NULL);
    CHECK(plot_set_format("gif") == -1);
    CHECK(plot_line(NULL, a, b, NULL) == -1);
    CHECK(cairn_error_count() == errors + 9);
    /* log axes with values <= 0 */
    double ys[4] = {-1, 0, 10, 100};
    plot_line_array(plot_subplot(fig, 0), NULL, ys, 4, NULL);
    plot_ylog(plot_subplot(fig, 0), 1);
    CHECK(strstr(plot_describe(fig), "2 values <= 0 not drawn on log axes") != NULL);
    CHECK(render(fig, &im) == 0);
    if (im.s)
        cairo_surface_destroy(im.s);
    mat_free(&a);
    mat_free(&b);
    plot_free(fig);
    plot_free(NULL);
}

static void test_grid_and_kinds(void)
{
    /* 6 images of 4 x 4 with captions: a 2 x 3 grid; RGB row drawn in colour. */
    mat imgs = mat_zeros(6, 16);
    for (int k = 0; k < 6; k++)
        for (int i = 0; i < 16; i++)
            imgs.data[k * 16 + i] = (i + k) % 5;
    imgs.channels = 1;
    imgs.height = 4;
    imgs.width = 4;
    const char *caps[6] = {"a", "b", "c", "d", "e", "f"};
    figure *fig = plot_figure(0, 0);
    CHECK(plot_image_grid(fig, imgs, 3, caps, "gray") == 0);
    CHECK(plot_axes_count(fig) == 6);
    CHECK(strcmp(plot_describe(fig), "<figure 640x480: 6 axes, image 4x4 \xc3\x97" "6>") == 0);
    image im;
    CHECK(render(fig, &im) == 0);
    if (im.s)
        cairo_surface_destroy(im.s);
    int pick[2] = {5, 0};
    CHECK(plot_image_grid_rows(fig, imgs, pick, 2, 0, NULL, NULL) == 0);
    CHECK(plot_axes_count(fig) == 2);
    int badpick[1] = {6};
    CHECK(plot_image_grid_rows(fig, imgs, badpick, 1, 0, NULL, NULL) == -1);
    plot_free(fig);
    mat_free(&imgs);

    /* the channels of one row: a feature-map stack, each channel its own colours */
    mat maps = mat_zeros(2, 5 * 3 * 3);
    maps.channels = 5;
    maps.height = 3;
    maps.width = 3;
    for (int c = 0; c < 5; c++)
        for (int i = 0; i < 9; i++)
            *mat_ptr(maps, 1, c * 9 + i) = c * 100 + (i == 4 ? 1 : 0); /* centre pixel brightest */
    fig = plot_figure(0, 0);
    CHECK(plot_channels(fig, maps, 1, 0, "gray") == 0);
    CHECK(plot_axes_count(fig) == 6); /* 5 channels in a 2 x 3 grid */
    CHECK(strcmp(plot_describe(fig), "<figure 640x480: 6 axes, image 3x3 \xc3\x97" "5>") == 0);
    CHECK(render(fig, &im) == 0);
    if (im.s) {
        /* per-channel colour limits: every channel shows a white centre on black */
        CHECK(count_color(&im, 0x000000) > 5 * 8 * 20);
        cairo_surface_destroy(im.s);
    }
    maps.channels = 4;
    CHECK(plot_channels(fig, maps, 0, 0, NULL) == -1);
    CHECK(strstr(cairn_last_error(), "plot_channels: rows of the 2 x 45 matrix have no image shape") != NULL);
    plot_free(fig);
    mat_free(&maps);

    mat rgb = mat_zeros(1, 3 * 8 * 8);
    for (int i = 0; i < 64; i++)
        rgb.data[i] = 1.0; /* red plane */
    rgb.channels = 3;
    rgb.height = 8;
    rgb.width = 8;
    fig = plot_figure(0, 0);
    CHECK(plot_image_row(plot_subplot(fig, 0), rgb, 0, NULL) == 0);
    CHECK(plot_image_row(plot_subplot(fig, 0), rgb, 1, NULL) == -1);
    CHECK(render(fig, &im) == 0);
    if (im.s) {
        CHECK(count_color(&im, 0xFF0000) > 20000);
        cairo_surface_destroy(im.s);
    }
    plot_free(fig);
    mat_free(&rgb);

    /* re-gridding keeps the axes a cell holds; axes dropped by a smaller grid refuse data */
    fig = plot_figure(0, 0);
    plot_axes *first = plot_subplot(fig, 0);
    plot_line_array(first, NULL, (double[]){1, 2}, 2, NULL);
    CHECK(plot_subplots(fig, 2, 2) == 0);
    CHECK(plot_subplot(fig, 0) == first && plot_axes_count(fig) == 4);
    CHECK(strcmp(plot_describe(fig), "<figure 640x480: 4 axes, line>") == 0);
    plot_axes *last = plot_subplot(fig, 3);
    CHECK(plot_subplots(fig, 1, 2) == 0);
    CHECK(plot_line_array(last, NULL, (double[]){1, 2}, 2, NULL) == -1);
    CHECK(strstr(cairn_last_error(), "plot_line_array: this axes is no longer in its figure") != NULL);
    CHECK(plot_line_array(first, NULL, (double[]){3, 4}, 2, NULL) == 1);
    plot_free(fig);

    /* subplots: histogram, bars, confusion counts */
    fig = plot_figure(800, 600);
    CHECK(plot_subplots(fig, 2, 2) == 0);
    mat v = mat_zeros(1, 100);
    for (int i = 0; i < 100; i++)
        v.data[i] = i % 10;
    CHECK(plot_hist(plot_subplot(fig, 0), v, 10) == 0);
    plot_label(plot_subplot(fig, 0), 0, "counts"); /* a legend patch appears */
    plot_label(plot_subplot(fig, 0), 1, "none");   /* no such series: an error */
    CHECK(strstr(cairn_last_error(), "plot_label: series 1 does not exist: the axes has 1") != NULL);
    mat h = mat_zeros(1, 3);
    h.data[0] = 1, h.data[1] = 3, h.data[2] = 2;
    const char *names[3] = {"x", "y", "z"};
    CHECK(plot_bar(plot_subplot(fig, 1), h, names) == 0);
    mat cm = mat_zeros(2, 2);
    cm.data[0] = 9, cm.data[1] = 1, cm.data[2] = 2, cm.data[3] = 8;
    CHECK(plot_confusion(plot_subplot(fig, 2), cm, names) == 0);
    plot_suptitle(fig, "kinds");
    CHECK(strcmp(plot_describe(fig), "<figure 800x600 \"kinds\": 4 axes, histogram, bars, confusion 2x2>") == 0);
    CHECK(render(fig, &im) == 0);
    if (im.s) {
        CHECK(count_color(&im, 0x1f77b4) > 5000); /* bars and histogram */
        const uint32_t *blues = colormap_table(CMAP_BLUES, 0);
        CHECK(count_color(&im, blues[255]) > 2000); /* the 9 cell */
        cairo_surface_destroy(im.s);
    }
    mat_free(&v);
    mat_free(&h);
    mat_free(&cm);
    plot_free(fig);
}

static void test_display_and_live(void)
{
    display_set_sink(sink);
    sink_clear();
    figure *fig = plot_figure(0, 0);
    plot_axes *ax = plot_subplot(fig, 0);
    int s = plot_line_array(ax, NULL, (double[]){1.0}, 1, "loss");
    show(fig);
    CHECK(ngot == 1 && got[0].kind == DISPLAY_DATA && got[0].id[0] != '\0');
    int k = -1;
    CHECK(part_of(&got[0], "image/png", &k) && got[0].size[k] > 1000);
    CHECK(k >= 0 && memcmp(got[0].data[k], "\x89PNG\r\n\x1a\n", 8) == 0);
    CHECK(part_of(&got[0], "text/plain", &k) && strcmp((char *)got[0].data[k], "<figure 640x480: 1 axes, line>") == 0);
    /* a curve growing epoch by epoch: updates of that same output */
    for (int e = 1; e < 4; e++) {
        plot_append(ax, s, e, 1.0 / (e + 1));
        plot_update(fig);
    }
    CHECK(ngot == 4);
    for (int i = 1; i < 4; i++) {
        CHECK(got[i].kind == DISPLAY_UPDATE);
        CHECK(strcmp(got[i].id, got[0].id) == 0);
    }
    /* the last update decodes to the figure */
    image im;
    CHECK(part_of(&got[3], "image/png", &k) && decode(got[3].data[k], got[3].size[k], &im) == 0);
    if (im.s) {
        CHECK(im.w == 640 && im.h == 480 && count_color(&im, 0x1f77b4) > 100);
        cairo_surface_destroy(im.s);
    }
    /* show again: a new output with a new id */
    show(fig);
    CHECK(ngot == 5 && got[4].kind == DISPLAY_DATA && strcmp(got[4].id, got[0].id) != 0);
    plot_display_result(fig);
    CHECK(ngot == 6 && got[5].kind == DISPLAY_RESULT);
    /* update before any show shows it first */
    figure *fresh = plot_figure(0, 0);
    plot_update(fresh);
    CHECK(ngot == 7 && got[6].kind == DISPLAY_DATA && got[6].id[0]);
    plot_free(fresh);

    /* HiDPI: twice the pixels */
    plot_set_scale(2.0);
    size_t size;
    unsigned char *png = plot_render_png(fig, &size);
    CHECK(png && decode(png, size, &im) == 0);
    if (png && im.s) {
        CHECK(im.w == 1280 && im.h == 960);
        cairo_surface_destroy(im.s);
    }
    free(png);
    /* shown at HiDPI: an <img> of the logical size carries the same PNG */
    sink_clear();
    show(fig);
    CHECK(ngot == 1 && got[0].nparts == 3);
    int kp = -1, kh = -1;
    if (ngot == 1 && part_of(&got[0], "image/png", &kp) && part_of(&got[0], "text/html", &kh)) {
        const char *html = (const char *)got[0].data[kh];
        CHECK(strncmp(html, "<img width=\"640\" height=\"480\" alt=\"&lt;figure 640x480: 1 axes, line&gt;\" src=\"data:image/png;base64,iVBORw0KGgo", 103) == 0);
        const char *b64 = strstr(html, "base64,");
        size_t b64len = b64 ? strlen(b64 + 7) - 2 : 0; /* without the closing quote and > */
        CHECK(b64len == (got[0].size[kp] + 2) / 3 * 4);
        image big;
        CHECK(decode(got[0].data[kp], got[0].size[kp], &big) == 0);
        if (big.s) {
            CHECK(big.w == 1280);
            cairo_surface_destroy(big.s);
        }
    }
    plot_set_scale(1.0);

    /* SVG on request: one image/svg+xml part that parses as XML */
    sink_clear();
    CHECK(plot_set_format("svg") == 0);
    show(fig);
    CHECK(ngot == 1 && part_of(&got[0], "image/svg+xml", &k));
    if (ngot == 1 && k >= 0) {
        const char *svg = (const char *)got[0].data[k];
        CHECK(strstr(svg, "<svg") != NULL && strstr(svg, "</svg>") != NULL);
        CHECK(strstr(svg, "width=\"640px\"") != NULL);
    }
    CHECK(plot_set_format("png") == 0);
    char dir[] = "/tmp/cairn-plot-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char svg_path[64], png_path[64], cmd[256];
    snprintf(svg_path, sizeof svg_path, "%s/f.svg", dir);
    snprintf(png_path, sizeof png_path, "%s/f.png", dir);
    CHECK(plot_save(fig, svg_path) == 0);
    CHECK(plot_save(fig, png_path) == 0);
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 -c \"import sys, xml.etree.ElementTree as E; r = E.parse(sys.argv[1]).getroot(); "
             "print(r.tag.split('}')[-1], r.get('width'), len(list(r.iter())))\" %s",
             svg_path);
    FILE *p = popen(cmd, "r");
    char line[128] = "";
    if (p) {
        if (!fgets(line, sizeof line, p))
            line[0] = 0;
        pclose(p);
    }
    char tag[16] = "", width[16] = "";
    int elements = 0;
    CHECK(sscanf(line, "%15s %15s %d", tag, width, &elements) == 3);
    CHECK(strcmp(tag, "svg") == 0 && strcmp(width, "640px") == 0);
    CHECK(elements > 20); /* glyphs, paths: the whole figure, not an empty document */
    FILE *fp = fopen(png_path, "rb");
    unsigned char head[8] = {0};
    CHECK(fp && fread(head, 1, 8, fp) == 8 && memcmp(head, "\x89PNG\r\n\x1a\n", 8) == 0);
    if (fp)
        fclose(fp);
    unlink(svg_path);
    unlink(png_path);
    rmdir(dir);
    plot_free(fig);
    sink_clear();
    display_set_sink(NULL);
}

static double seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void test_progress(void)
{
    display_set_sink(sink);
    sink_clear();
    double t0 = seconds();
    progress *p = progress_start(2000, "training");
    CHECK(ngot == 1 && got[0].kind == DISPLAY_DATA && got[0].id[0]);
    int k = -1;
    CHECK(part_of(&got[0], "text/plain", &k) && strstr((char *)got[0].data[k], "training   0% |") != NULL);
    CHECK(part_of(&got[0], "text/html", &k) && strstr((char *)got[0].data[k], "<progress value=\"0\" max=\"2000\"") != NULL);
    for (long i = 1; i <= 2000; i++) {
        progress_status(p, "loss %.3f", 1.0 / i);
        CHECK(progress_update(p, i) == 0);
    }
    double elapsed = seconds() - t0;
    /* throttled: at most one redraw per 100 ms (plus the first) */
    CHECK(ngot <= 2 + (int)(elapsed / 0.1));
    progress_finish(p);
    const bundle *last = &got[ngot - 1];
    CHECK(last->kind == DISPLAY_UPDATE && strcmp(last->id, got[0].id) == 0);
    CHECK(part_of(last, "text/plain", &k) && strstr((char *)last->data[k], "100% |") != NULL);
    CHECK(strstr((char *)last->data[k], "2000/2000") != NULL && strstr((char *)last->data[k], "loss 0.001") != NULL);
    CHECK(strstr((char *)last->data[k], "it/s]") != NULL);
    for (int i = 1; i < ngot; i++)
        CHECK(got[i].kind == DISPLAY_UPDATE && strcmp(got[i].id, got[0].id) == 0);

    /* interrupt: the loop is told to stop, and the final line says where */
    sink_clear();
    p = progress_start(100, "<k-means>");
    CHECK(part_of(&got[0], "text/html", &k) && strstr((char *)got[0].data[k], "&lt;k-means&gt;") != NULL);
    CHECK(progress_update(p, 10) == 0 && !progress_interrupted(p));
    cairn_set_interrupted(1);
    CHECK(progress_update(p, 11) == 1);
    CHECK(progress_interrupted(p));
    progress_finish(p);
    cairn_set_interrupted(0);
    last = &got[ngot - 1];
    CHECK(part_of(last, "text/plain", &k) && strstr((char *)last->data[k], "11/100") != NULL);
    CHECK(strstr((char *)last->data[k], "interrupted") != NULL);

    /* unknown total, and a live text line */
    sink_clear();
    p = progress_start(0, "reading");
    progress_update(p, 5);
    progress_finish(p);
    CHECK(part_of(&got[ngot - 1], "text/plain", &k) && strstr((char *)got[ngot - 1].data[k], "reading 5 it [") != NULL);
    sink_clear();
    progress *line = progress_line("epoch 1");
    progress_line_set(line, "epoch %d of %d", 2, 3);
    CHECK(ngot == 2 && got[1].kind == DISPLAY_UPDATE && strcmp(got[0].id, got[1].id) == 0);
    CHECK(strcmp(progress_text(line), "epoch 2 of 3") == 0);
    progress_finish(line);
    progress_finish(NULL);
    sink_clear();
    display_set_sink(NULL);
}

/* A title wider than the figure shrinks and ends with an ellipsis instead of running off
 * both edges (the parallel-coordinates figure's title did); named x ticks (plot_xticks). */
static void test_long_title_and_named_ticks(void)
{
    figure *fig = plot_figure(480, 320);
    plot_axes *ax = plot_subplot(fig, 0);
    double y[3] = {1, 3, 2};
    plot_line_array(ax, NULL, y, 3, NULL);
    char title[300];
    snprintf(title, sizeof title, "%s", "");
    for (int i = 0; i < 12; i++)
        strcat(title, "a long experiment name ");
    plot_title(ax, title);
    image im;
    CHECK(render(fig, &im) == 0);
    if (im.s) {
        /* the title band: above the plot frame, whose top edge is the first row that is dark
         * across the middle column's neighbourhood; text pixels near the figure's edges
         * would be an overflow */
        int band = 0, edge_dark = 0, text_dark = 0;
        for (int yy = 0; yy < im.h / 3 && !band; yy++) {
            int run = 0;
            for (int x = im.w / 3; x < 2 * im.w / 3; x++)
                run += dark(rgb_at(&im, x, yy));
            if (run > im.w / 3 - 2)
                band = yy;
        }
        CHECK(band > 5);
        for (int yy = 0; yy < band; yy++)
            for (int x = 0; x < im.w; x++) {
                int d = dark(rgb_at(&im, x, yy));
                text_dark += d;
                edge_dark += d && (x < 3 || x >= im.w - 3);
            }
        CHECK(text_dark > 100 && edge_dark == 0);
        cairo_surface_destroy(im.s);
    }
    /* named ticks: bad input is refused, good input renders, n = 0 gives numbers back */
    CHECK(plot_xticks(ax, NULL, NULL, -1) == -1);
    CHECK(plot_xticks(ax, (double[]){0}, NULL, 1) == -1);
    CHECK(plot_xticks(ax, (double[]){NAN}, (const char *[]){"x"}, 1) == -1);
    CHECK(plot_xticks(NULL, (double[]){0}, (const char *[]){"x"}, 1) == -1);
    CHECK(plot_xticks(ax, (double[]){0, 1, 2}, (const char *[]){"first", "second", "a much longer third name"}, 3) == 0);
    CHECK(render(fig, &im) == 0);
    if (im.s)
        cairo_surface_destroy(im.s);
    CHECK(plot_xticks(ax, NULL, NULL, 0) == 0);
    CHECK(render(fig, &im) == 0);
    if (im.s)
        cairo_surface_destroy(im.s);
    plot_free(fig);
}

int main(void)
{
    plot_init();
    test_png_encoder();
    test_line_axes();
    test_long_line_reduction();
    test_heatmap_colours();
    test_big_heatmap();
    test_scatter_labels();
    test_empty_and_errors();
    test_grid_and_kinds();
    test_display_and_live();
    test_progress();
    test_long_title_and_named_ticks();
    return check_summary("plot");
}
