/* output.c — getting a figure out: inline display (display_data, live updates,
 * execute_result), files, and the global format/scale settings.
 *
 * A figure remembers the display id of the output it was last shown in, so
 * plot_update(fig) replaces that output (update_display_data) instead of adding a new
 * one — a loss curve redrawn each epoch stays one picture. Every bundle carries a
 * text/plain description next to the image, which is what a terminal, a diff of the
 * notebook, or a screen reader sees. */
#include "plot_internal.h"
#include "cairn/display.h"
#include "cairn/error.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int use_svg;
static double render_scale = 1.0;

int plot_set_format(const char *format)
{
    if (format && strcasecmp(format, "png") == 0) {
        use_svg = 0;
        return 0;
    }
    if (format && strcasecmp(format, "svg") == 0) {
        use_svg = 1;
        return 0;
    }
    cairn_error("plot_set_format", "unknown format \"%s\" (use \"png\" or \"svg\")", format ? format : "(null)");
    return -1;
}

void plot_set_scale(double scale)
{
    if (!(scale >= 0.25 && scale <= 8)) {
        cairn_error("plot_set_scale", "scale %g is out of range (0.25 .. 8)", scale);
        return;
    }
    render_scale = scale;
}

unsigned char *plot_render_png(figure *fig, size_t *size)
{
    if (!fig) {
        cairn_error("plot_render_png", "figure is NULL");
        return NULL;
    }
    unsigned char *png = NULL;
    size_t n = 0;
    if (render_to_png(fig, render_scale, &png, &n) < 0)
        return NULL;
    if (size)
        *size = n;
    return png;
}

char *plot_render_svg(figure *fig, size_t *size)
{
    if (!fig) {
        cairn_error("plot_render_svg", "figure is NULL");
        return NULL;
    }
    char *svg = NULL;
    size_t n = 0;
    if (render_to_svg(fig, &svg, &n) < 0)
        return NULL;
    if (size)
        *size = n;
    return svg;
}

/* Renders in the current format and hands the bundle to `send`. */
static void emit(const char *func, figure *fig, int kind)
{
    if (!fig) {
        cairn_error(func, "figure is NULL");
        return;
    }
    void *bytes;
    size_t size = 0;
    const char *mime;
    if (use_svg) {
        bytes = plot_render_svg(fig, &size);
        mime = "image/svg+xml";
    } else {
        bytes = plot_render_png(fig, &size);
        mime = "image/png";
    }
    if (!bytes)
        return;
    const char *text = plot_describe(fig);
    display_part parts[2] = {{mime, bytes, size}, {"text/plain", text, strlen(text)}};
    if (kind == DISPLAY_RESULT) {
        display_result_bundle(parts, 2);
    } else if (kind == DISPLAY_UPDATE) {
        display_update_bundle(parts, 2, fig->display_id);
    } else {
        snprintf(fig->display_id, sizeof fig->display_id, "%s", display_new_id());
        display_bundle(parts, 2, fig->display_id);
    }
    free(bytes);
}

void (show)(figure *fig) { emit("show", fig, DISPLAY_DATA); }

void plot_show(figure *fig) { emit("plot_show", fig, DISPLAY_DATA); }

void plot_update(figure *fig)
{
    if (fig && !fig->display_id[0])
        emit("plot_update", fig, DISPLAY_DATA);
    else
        emit("plot_update", fig, DISPLAY_UPDATE);
}

void plot_display_result(figure *fig) { emit("plot_display_result", fig, DISPLAY_RESULT); }

int plot_save(figure *fig, const char *path)
{
    if (!fig || !path) {
        cairn_error("plot_save", "needs a figure and a path (got %p, %s)", (void *)fig, path ? path : "NULL");
        return -1;
    }
    const char *dot = strrchr(path, '.');
    int svg;
    if (dot && strcasecmp(dot, ".svg") == 0) {
        svg = 1;
    } else if (dot && strcasecmp(dot, ".png") == 0) {
        svg = 0;
    } else {
        cairn_error("plot_save", "cannot tell the format of \"%s\": end the path with .png or .svg", path);
        return -1;
    }
    size_t size = 0;
    void *bytes = svg ? (void *)plot_render_svg(fig, &size) : (void *)plot_render_png(fig, &size);
    if (!bytes)
        return -1;
    FILE *fp = fopen(path, "wb");
    if (!fp) {
        cairn_error("plot_save", "cannot open \"%s\" for writing: %s", path, strerror(errno));
        free(bytes);
        return -1;
    }
    size_t wrote = fwrite(bytes, 1, size, fp);
    int closed = fclose(fp);
    free(bytes);
    if (wrote != size || closed != 0) {
        cairn_error("plot_save", "writing \"%s\" failed: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}
