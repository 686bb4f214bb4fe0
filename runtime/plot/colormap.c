/* colormap.c — colour tables: colormaps for images and the qualitative cycle for series.
 *
 * Each colormap is a 256-entry table (matplotlib's, sampled once into colormap_data.h),
 * packed to 0xRRGGBB on first use so drawing an image is one table lookup per pixel.
 * The series colours are matplotlib's "tab10" cycle, which is also the qualitative
 * palette that colours scatter points by label. */
#include "plot_internal.h"
#include "colormap_data.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char *const names[CMAP_COUNT] = {"viridis", "magma", "gray", "coolwarm", "blues"};
static uint32_t tables[CMAP_COUNT][2][256];
static int tables_ready;

static uint32_t pack(const unsigned char c[3]) { return (uint32_t)c[0] << 16 | (uint32_t)c[1] << 8 | c[2]; }

static void tables_build(void)
{
    const unsigned char (*src[CMAP_COUNT])[3] = {cmap_viridis, cmap_magma, NULL, cmap_coolwarm, cmap_blues};
    for (int m = 0; m < CMAP_COUNT; m++) {
        for (int i = 0; i < 256; i++) {
            uint32_t c;
            if (src[m]) {
                c = pack(src[m][i]);
            } else {
                c = (uint32_t)i * 0x010101u;
            }
            tables[m][0][i] = c;
            tables[m][1][255 - i] = c;
        }
    }
    tables_ready = 1;
}

int colormap_find(const char *name, int *reversed)
{
    *reversed = 0;
    if (!name || !*name)
        return CMAP_VIRIDIS;
    char buf[32];
    snprintf(buf, sizeof buf, "%s", name);
    size_t len = strlen(buf);
    if (len > 2 && strcmp(buf + len - 2, "_r") == 0) {
        *reversed = 1;
        buf[len - 2] = '\0';
    }
    for (int i = 0; i < CMAP_COUNT; i++)
        if (strcasecmp(buf, names[i]) == 0)
            return i;
    if (strcasecmp(buf, "grey") == 0 || strcasecmp(buf, "greys") == 0) {
        if (strcasecmp(buf, "greys") == 0)
            *reversed = !*reversed; /* matplotlib's Greys runs white to black */
        return CMAP_GRAY;
    }
    if (strcasecmp(buf, "diverging") == 0 || strcasecmp(buf, "rdbu_r") == 0 || strcasecmp(buf, "bwr") == 0)
        return CMAP_COOLWARM;
    return -1;
}

const char *colormap_name(int id) { return id >= 0 && id < CMAP_COUNT ? names[id] : "?"; }

const uint32_t *colormap_table(int id, int reversed)
{
    if (!tables_ready)
        tables_build();
    if (id < 0 || id >= CMAP_COUNT)
        id = CMAP_VIRIDIS;
    return tables[id][reversed ? 1 : 0];
}

static const uint32_t cycle[10] = {0x1f77b4, 0xff7f0e, 0x2ca02c, 0xd62728, 0x9467bd,
                                   0x8c564b, 0xe377c2, 0x7f7f7f, 0xbcbd22, 0x17becf};

uint32_t color_cycle(int i) { return cycle[((i % 10) + 10) % 10]; }

int color_parse(const char *text, uint32_t *rgb)
{
    static const struct {
        const char *name;
        uint32_t rgb;
    } named[] = {{"blue", 0x1f77b4},  {"orange", 0xff7f0e}, {"green", 0x2ca02c}, {"red", 0xd62728},
                 {"purple", 0x9467bd}, {"brown", 0x8c564b}, {"pink", 0xe377c2},  {"gray", 0x7f7f7f},
                 {"grey", 0x7f7f7f},   {"olive", 0xbcbd22}, {"cyan", 0x17becf},  {"black", 0x000000},
                 {"white", 0xffffff}};
    if (!text)
        return -1;
    if (text[0] == '#') {
        size_t len = strlen(text + 1);
        for (size_t i = 0; i < len; i++)
            if (!isxdigit((unsigned char)text[1 + i]))
                return -1;
        unsigned v = 0;
        if (len == 6 && sscanf(text + 1, "%x", &v) == 1) {
            *rgb = v;
            return 0;
        }
        if (len == 3 && sscanf(text + 1, "%x", &v) == 1) {
            *rgb = ((v >> 8) & 15) * 0x110000u + ((v >> 4) & 15) * 0x1100u + (v & 15) * 0x11u;
            return 0;
        }
        return -1;
    }
    for (size_t i = 0; i < sizeof named / sizeof named[0]; i++) {
        if (strcasecmp(text, named[i].name) == 0) {
            *rgb = named[i].rgb;
            return 0;
        }
    }
    return -1;
}
