/* png.c — a small, fast PNG encoder for rendered figures.
 *
 * cairo's own PNG writer goes through libpng at zlib's default level, which costs
 * several milliseconds for a 640 x 480 figure — most of a render; even zlib's fastest
 * level takes over a millisecond. Figures are mostly flat colour, so a fixed "Up"
 * filter (a row minus the row above: zero almost everywhere) followed by the tiny
 * run-length deflate below gives files of similar size far faster. The image is opaque
 * RGB (a figure has a white background), so the alpha byte of cairo's pixels is
 * dropped. zlib is still used for the checksums. */
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

/* ---- a run-length deflate with the fixed Huffman codes ----
 * After the Up filter a figure is mostly zero bytes, and what is not zero mostly
 * repeats the pixel to its left (flat colour, runs of a heatmap cell). So the only
 * matches worth finding are at distance 1 (a byte repeated) and 3 (a pixel repeated);
 * with the fixed codes of RFC 1951 there are no tables to build or send. This is about
 * ten times faster than zlib's fastest level on figures, at a similar size. */

typedef struct bits {
    unsigned char *out;
    size_t pos;
    uint64_t acc;
    int n;
} bits;

static inline void bits_put(bits *b, uint32_t v, int n)
{
    b->acc |= (uint64_t)v << b->n;
    b->n += n;
    if (b->n >= 32) {
        uint32_t w = (uint32_t)b->acc;
        memcpy(b->out + b->pos, &w, 4); /* little-endian: the deflate bit order */
        b->pos += 4;
        b->acc >>= 32;
        b->n -= 32;
    }
}

static void bits_flush(bits *b)
{
    while (b->n > 0) {
        b->out[b->pos++] = (unsigned char)b->acc;
        b->acc >>= 8;
        b->n -= 8;
    }
    b->n = 0;
}

static uint16_t lit_code[288];
static unsigned char lit_len[288];
static uint16_t len_sym_bits[259]; /* for match length L: reversed code of its symbol */
static unsigned char len_sym_n[259];
static uint16_t len_extra[259];
static unsigned char len_extra_n[259];
static int codes_ready;

static uint32_t reverse_bits(uint32_t v, int n)
{
    uint32_t r = 0;
    for (int i = 0; i < n; i++)
        r |= ((v >> i) & 1u) << (n - 1 - i);
    return r;
}

static void codes_build(void)
{
    for (int v = 0; v < 288; v++) {
        uint32_t code;
        int n;
        if (v < 144)
            code = 0x30 + (uint32_t)v, n = 8;
        else if (v < 256)
            code = 0x190 + (uint32_t)(v - 144), n = 9;
        else if (v < 280)
            code = (uint32_t)(v - 256), n = 7;
        else
            code = 0xC0 + (uint32_t)(v - 280), n = 8;
        lit_code[v] = (uint16_t)reverse_bits(code, n);
        lit_len[v] = (unsigned char)n;
    }
    static const int base[29] = {3,  4,  5,  6,  7,  8,  9,  10, 11,  13,  15,  17,  19,  23, 27,
                                 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258};
    static const int extra[29] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
    for (int L = 3; L <= 258; L++) {
        int k = 28;
        while (base[k] > L)
            k--;
        if (L == 258)
            k = 28;
        len_sym_bits[L] = lit_code[257 + k];
        len_sym_n[L] = lit_len[257 + k];
        len_extra[L] = (uint16_t)(L - base[k]);
        len_extra_n[L] = (unsigned char)extra[k];
    }
    codes_ready = 1;
}

/* Emits a match of `len` bytes at distance code dcode (0: distance 1, 2: distance 3). */
static inline void put_match(bits *b, int len, uint32_t dcode)
{
    while (len >= 3) {
        int l = len > 258 ? 258 : len;
        if (len - l > 0 && len - l < 3)
            l = len - 3; /* leave a tail long enough to be a match */
        bits_put(b, len_sym_bits[l], len_sym_n[l]);
        if (len_extra_n[l])
            bits_put(b, len_extra[l], len_extra_n[l]);
        bits_put(b, dcode, 5);
        len -= l;
    }
}

/* Deflates one filtered row (its filter byte first). */
static void deflate_row(bits *b, const unsigned char *row, size_t n)
{
    size_t i = 0;
    while (i < n) {
        if (i >= 1) {
            unsigned char v = row[i - 1];
            size_t j = i;
            while (j < n && row[j] == v)
                j++;
            if (j - i >= 3) {
                put_match(b, (int)(j - i), 0); /* distance 1: code 0, reversed is 0 */
                i = j;
                continue;
            }
        }
        if (i >= 3) {
            size_t j = i;
            while (j < n && row[j] == row[j - 3])
                j++;
            if (j - i >= 3) {
                put_match(b, (int)(j - i), 0x8); /* distance 3: code 2, 5 bits reversed = 01000 */
                i = j;
                continue;
            }
        }
        bits_put(b, lit_code[row[i]], lit_len[row[i]]);
        i++;
    }
}

unsigned char *png_encode_rgb(const unsigned char *pixels, int width, int height, int stride,
                              double dpi, size_t *size)
{
    if (!codes_ready)
        codes_build();
    size_t row_bytes = 1 + (size_t)width * 3;
    /* Worst case: 9 bits per literal, plus headers. */
    size_t cap = 128 + (row_bytes * (size_t)height * 9) / 8 + (size_t)height * 4 + 64;
    unsigned char *out = malloc(cap);
    unsigned char *rows = malloc(row_bytes * 2 + 16);
    if (!out || !rows) {
        free(out);
        free(rows);
        return NULL;
    }
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
    size_t idat = pos;
    bits b = {out + idat + 8, 0, 0, 0};
    b.out[b.pos++] = 0x78; /* zlib header: deflate, 32 KiB window, fastest */
    b.out[b.pos++] = 0x01;
    bits_put(&b, 1, 1); /* final block */
    bits_put(&b, 1, 2); /* fixed Huffman codes */
    uLong adler = adler32(0L, Z_NULL, 0);
    unsigned char *cur = rows;
    memset(cur, 0, row_bytes);
    cur[0] = 2;
    uLong zero_adler = adler32(adler32(0L, Z_NULL, 0), cur, (uInt)row_bytes);
    for (int y = 0; y < height; y++) {
        const uint32_t *src = (const uint32_t *)(const void *)(pixels + (size_t)y * (size_t)stride);
        const uint32_t *above = y ? (const uint32_t *)(const void *)(pixels + (size_t)(y - 1) * (size_t)stride) : NULL;
        if (above && width >= 2 && memcmp(src, above, (size_t)width * 4) == 0) {
            /* Same as the row above (most of a figure's background): all zeros after the
             * filter; its checksum is combined without touching the bytes. */
            adler = adler32_combine(adler, zero_adler, (z_off_t)row_bytes);
            bits_put(&b, lit_code[2], lit_len[2]);
            bits_put(&b, lit_code[0], lit_len[0]);
            put_match(&b, (int)row_bytes - 2, 0);
            continue;
        }
        cur[0] = 2; /* filter: Up */
        unsigned char *d = cur + 1;
        for (int x = 0; x < width; x++) {
            uint32_t p = src[x], q = above ? above[x] : 0;
            d[3 * x] = (unsigned char)((p >> 16) - (q >> 16));
            d[3 * x + 1] = (unsigned char)((p >> 8) - (q >> 8));
            d[3 * x + 2] = (unsigned char)(p - q);
        }
        adler = adler32(adler, cur, (uInt)row_bytes);
        deflate_row(&b, cur, row_bytes);
    }
    bits_put(&b, lit_code[256], lit_len[256]); /* end of block */
    bits_flush(&b);
    unsigned char a[4];
    put32(a, (uint32_t)adler);
    memcpy(b.out + b.pos, a, 4);
    b.pos += 4;
    free(rows);
    pos += put_chunk(out + idat, "IDAT", out + idat + 8, b.pos);
    pos += put_chunk(out + pos, "IEND", NULL, 0);
    *size = pos;
    return out;
}
