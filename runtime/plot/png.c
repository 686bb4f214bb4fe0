/* png.c — a small, fast PNG encoder for rendered figures.
 *
 * cairo's own PNG writer goes through libpng at zlib's default level, which costs
 * several milliseconds for a 640 x 480 figure — most of a render. Figures are mostly
 * flat colour, so a fixed "Up" filter (a row minus the row above: zero almost
 * everywhere) followed by zlib at its fastest level with the run-length strategy gives
 * files about as small, several times faster. The image is opaque RGB (a figure has a
 * white background), so the alpha byte of cairo's pixels is dropped. */
#include "plot_internal.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static void put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

/* Writes one chunk (length, type, data, CRC over type + data) at out; returns its size. */
static size_t put_chunk(unsigned char *out, const char type[4], const unsigned char *data, size_t len)
{
    put32(out, (uint32_t)len);
    memcpy(out + 4, type, 4);
    if (len && data != out + 8)
        memmove(out + 8, data, len);
    uLong crc = crc32(0L, out + 4, (uInt)(len + 4));
    put32(out + 8 + len, (uint32_t)crc);
    return len + 12;
}

unsigned char *png_encode_rgb(const unsigned char *pixels, int width, int height, int stride,
                              double dpi, size_t *size)
{
    size_t row_bytes = 1 + (size_t)width * 3;
    size_t raw_size = row_bytes * (size_t)height;
    unsigned char *raw = malloc(raw_size);
    unsigned char *prev = calloc((size_t)width * 3, 1);
    unsigned char *cur = malloc((size_t)width * 3);
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (!raw || !prev || !cur || deflateInit2(&zs, 1, Z_DEFLATED, 15, 8, Z_RLE) != Z_OK) {
        free(raw);
        free(prev);
        free(cur);
        return NULL;
    }
    uLong bound = deflateBound(&zs, (uLong)raw_size);
    unsigned char *out = malloc(bound + 128);
    if (!out) {
        deflateEnd(&zs);
        free(raw);
        free(prev);
        free(cur);
        return NULL;
    }
    for (int y = 0; y < height; y++) {
        const uint32_t *src = (const uint32_t *)(const void *)(pixels + (size_t)y * (size_t)stride);
        unsigned char *dst = raw + (size_t)y * row_bytes;
        for (int x = 0; x < width; x++) {
            uint32_t p = src[x];
            cur[3 * x] = (unsigned char)(p >> 16);
            cur[3 * x + 1] = (unsigned char)(p >> 8);
            cur[3 * x + 2] = (unsigned char)p;
        }
        dst[0] = 2; /* filter: Up */
        for (size_t i = 0; i < (size_t)width * 3; i++)
            dst[1 + i] = (unsigned char)(cur[i] - prev[i]);
        unsigned char *t = prev;
        prev = cur;
        cur = t;
    }
    free(prev);
    free(cur);

    static const unsigned char signature[8] = {137, 80, 78, 71, 13, 10, 26, 10};
    size_t pos = 0;
    memcpy(out, signature, 8);
    pos += 8;
    unsigned char ihdr[13];
    put32(ihdr, (uint32_t)width);
    put32(ihdr + 4, (uint32_t)height);
    ihdr[8] = 8;  /* bit depth */
    ihdr[9] = 2;  /* colour type RGB */
    ihdr[10] = 0; /* deflate */
    ihdr[11] = 0; /* adaptive filtering */
    ihdr[12] = 0; /* no interlace */
    pos += put_chunk(out + pos, "IHDR", ihdr, 13);
    if (dpi > 0) {
        unsigned char phys[9];
        uint32_t ppm = (uint32_t)(dpi / 0.0254 + 0.5);
        put32(phys, ppm);
        put32(phys + 4, ppm);
        phys[8] = 1; /* metre */
        pos += put_chunk(out + pos, "pHYs", phys, 9);
    }

    zs.next_in = raw;
    zs.avail_in = (uInt)raw_size;
    zs.next_out = out + pos + 8;
    zs.avail_out = (uInt)bound;
    int rc = deflate(&zs, Z_FINISH);
    size_t zlen = zs.total_out;
    deflateEnd(&zs);
    free(raw);
    if (rc != Z_STREAM_END) {
        free(out);
        return NULL;
    }
    pos += put_chunk(out + pos, "IDAT", out + pos + 8, zlen);
    pos += put_chunk(out + pos, "IEND", NULL, 0);
    *size = pos;
    return out;
}
