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

/* Standard base64 of n bytes into a new NUL-terminated string. */
static char *base64_encode(const unsigned char *in, size_t n)
{
    static const char table[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *out = malloc((n + 2) / 3 * 4 + 1), *o = out;
    if (!out)
        return NULL;
    size_t i = 0;
    for (; i + 2 < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        *o++ = table[v >> 18];
        *o++ = table[v >> 12 & 63];
        *o++ = table[v >> 6 & 63];
        *o++ = table[v & 63];
    }
    if (i < n) {
        uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0);
        *o++ = table[v >> 18];
        *o++ = table[v >> 12 & 63];
        *o++ = i + 1 < n ? table[v >> 6 & 63] : '=';
        *o++ = '=';
    }
    *o = '\0';
    return out;
}

/* A HiDPI PNG shown at its logical size. Display bundles carry no metadata (where
 * Jupyter would take width/height), so an <img> with explicit size does it; front ends
 * prefer text/html over image/png, and image/png stays for everything else. */
static char *hidpi_html(const figure *fig, const unsigned char *png, size_t size, const char *alt)
{
    char *b64 = base64_encode(png, size);
    if (!b64)
        return NULL;
    size_t cap = strlen(b64) + strlen(alt) * 6 + 160;
    char *html = malloc(cap);
    if (html) {
        int n = snprintf(html, cap, "<img width=\"%d\" height=\"%d\" alt=\"", fig->width, fig->height);
        for (const char *p = alt; *p && (size_t)n + 8 < cap; p++) {
            const char *rep = *p == '<' ? "&lt;" : *p == '>' ? "&gt;" : *p == '&' ? "&amp;" : *p == '"' ? "&quot;" : NULL;
            if (rep)
                n += snprintf(html + n, cap - (size_t)n, "%s", rep);
            else
                html[n++] = *p;
        }
        snprintf(html + n, cap - (size_t)n, "\" src=\"data:image/png;base64,%s\">", b64);
    }
    free(b64);
    return html;
}

/* Renders in the current format and hands the bundle to the display sink. */
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
    display_part parts[3] = {{mime, bytes, size}, {"text/plain", text, strlen(text)}, {NULL, NULL, 0}};
    int nparts = 2;
    char *html = NULL;
    if (!use_svg && render_scale != 1.0 && (html = hidpi_html(fig, bytes, size, text)) != NULL)
        parts[nparts++] = (display_part){"text/html", html, strlen(html)};
    if (kind == DISPLAY_RESULT) {
        display_result_bundle(parts, nparts);
    } else if (kind == DISPLAY_UPDATE) {
        display_update_bundle(parts, nparts, fig->display_id);
    } else {
        snprintf(fig->display_id, sizeof fig->display_id, "%s", display_new_id());
        display_bundle(parts, nparts, fig->display_id);
    }
    free(html);
    free(bytes);
}

void show(figure *fig) { emit("show", fig, DISPLAY_DATA); }

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
