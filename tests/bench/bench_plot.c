/* bench_plot.c — timings of figure rendering to PNG bytes, one case per run.
 *
 * Usage: bench_plot CASE REPS   (CASE: line, imshow, grid, heatmap_10k, scatter_1e6).
 * Each timed repeat builds the figure from the data, renders it to PNG bytes in memory
 * and frees it — what a notebook cell showing a figure costs — after one untimed
 * warm-up (fonts loaded, caches warm, as in a long session). Prints one line per repeat:
 * "CASE seconds". tests/bench/bench_plot.py runs this program and matplotlib's Agg
 * backend on the same data alternately and compares medians; run that for figures. */
#include "cairn.h"
#include "bench_clock.h"

#include <time.h>

/* Shapes shared with bench_plot.py. */
enum { LINE_N = 1000, IMG = 28, GRID_ROWS = 4, GRID_COLS = 8, MAP = 12 };

static size_t run(const char *op, mat a, mat b)
{
    figure *fig;
    size_t size = 0;
    if (!strcmp(op, "line")) {
        fig = plot_figure(600, 400);
        plot_line(plot_subplot(fig, 0), a, b, NULL);
    } else if (!strcmp(op, "imshow")) {
        fig = plot_figure(640, 480);
        plot_image(plot_subplot(fig, 0), a, "viridis");
    } else if (!strcmp(op, "grid")) {
        fig = plot_figure(640, 480);
        char text[GRID_ROWS * GRID_COLS][16];
        const char *caps[GRID_ROWS * GRID_COLS];
        for (int i = 0; i < GRID_ROWS * GRID_COLS; i++) {
            snprintf(text[i], sizeof text[i], "map %d", i);
            caps[i] = text[i];
        }
        plot_image_grid(fig, a, GRID_COLS, caps, "viridis");
    } else if (!strcmp(op, "heatmap_10k")) {
        fig = plot_figure(640, 480);
        plot_heatmap(plot_subplot(fig, 0), a, "viridis");
    } else {
        fig = plot_figure(640, 480);
        plot_scatter(plot_subplot(fig, 0), a, b, mat_empty(), 0);
    }
    unsigned char *png = plot_render_png(fig, &size);
    free(png);
    plot_free(fig);
    return size;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s CASE REPS\n", argv[0]);
        return 2;
    }
    const char *op = argv[1];
    int reps = atoi(argv[2]);
    rng_seed(1);
    mat a = mat_empty(), b = mat_empty();
    if (!strcmp(op, "line")) {
        a = mat_zeros(1, LINE_N);
        b = mat_zeros(1, LINE_N);
        for (int i = 0; i < LINE_N; i++) {
            a.data[i] = i * 10.0 / LINE_N;
            b.data[i] = sin(a.data[i]);
        }
    } else if (!strcmp(op, "imshow")) {
        a = mat_rand(IMG, IMG);
    } else if (!strcmp(op, "grid")) {
        a = mat_rand(GRID_ROWS * GRID_COLS, MAP * MAP);
        a.channels = 1;
        a.height = MAP;
        a.width = MAP;
    } else if (!strcmp(op, "heatmap_10k")) {
        a = mat_rand(10000, 10000);
    } else if (!strcmp(op, "scatter_1e6")) {
        a = mat_randn(1000000, 1);
        b = mat_randn(1000000, 1);
    } else {
        fprintf(stderr, "unknown case %s\n", op);
        return 2;
    }
    plot_init();
    size_t size = run(op, a, b);
    for (int r = 0; r < reps; r++) {
        double t0 = now();
        size = run(op, a, b);
        printf("%s %.9f\n", op, now() - t0);
    }
    fprintf(stderr, "png bytes %zu\n", size);
    mat_free(&a);
    mat_free(&b);
    return 0;
}
