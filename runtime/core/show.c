/* show.c — text of a trailing expression's value, sent as the cell's execute_result.
 *
 * The targets of cairn_show_value (cairn/show.h). Values arrive as (address, size) of a
 * temporary whose small integer types were promoted to int, so they read by size.
 * Numbers print as a C programmer would write them; a double uses the fewest digits
 * that read back to the same value (0.1 shows as 0.1, not 0.10000000000000001) and keeps
 * a ".0" when whole, so a double never looks like an int. */
#include "cairn/show.h"

#include <ctype.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/alloc.h"
#include "cairn/display.h"
#include "cairn/mat.h"

/* plot may be absent from a build that only needs the numeric runtime. */
void plot_display_result(struct figure *fig) __attribute__((weak));

static void show_text(const char *text)
{
    display_part p = {"text/plain", text, strlen(text)};
    display_result_bundle(&p, 1);
}

static long long read_signed(const void *v, size_t size)
{
    switch (size) {
    case 1: return *(const signed char *)v;
    case 2: return *(const short *)v;
    case 4: return *(const int *)v;
    default: return *(const long long *)v;
    }
}

static unsigned long long read_unsigned(const void *v, size_t size)
{
    switch (size) {
    case 1: return *(const unsigned char *)v;
    case 2: return *(const unsigned short *)v;
    case 4: return *(const unsigned int *)v;
    default: return *(const unsigned long long *)v;
    }
}

void cairn_show_bool(const void *value, size_t size, const char *type)
{
    (void)type;
    show_text(read_unsigned(value, size) ? "true" : "false");
}

/* The C escape of character c (without quotes) into buf. */
static void escape_char(int c, int quote, char *buf, size_t size)
{
    switch (c) {
    case '\n': snprintf(buf, size, "\\n"); return;
    case '\t': snprintf(buf, size, "\\t"); return;
    case '\r': snprintf(buf, size, "\\r"); return;
    case '\0': snprintf(buf, size, "\\0"); return;
    case '\\': snprintf(buf, size, "\\\\"); return;
    case '\a': snprintf(buf, size, "\\a"); return;
    case '\b': snprintf(buf, size, "\\b"); return;
    case '\f': snprintf(buf, size, "\\f"); return;
    case '\v': snprintf(buf, size, "\\v"); return;
    default: break;
    }
    if (c == quote)
        snprintf(buf, size, "\\%c", c);
    else if ((unsigned char)c < 0x20 || c == 0x7f)
        snprintf(buf, size, "\\x%02x", (unsigned char)c);
    else
        snprintf(buf, size, "%c", c); /* UTF-8 bytes pass through unchanged */
}

void cairn_show_char(const void *value, size_t size, const char *type)
{
    (void)type;
    char c = (char)read_signed(value, size);
    char esc[8], text[32];
    escape_char(c, '\'', esc, sizeof esc);
    snprintf(text, sizeof text, "'%s' (%d)", esc, (int)c);
    show_text(text);
}

void cairn_show_int(const void *value, size_t size, const char *type)
{
    (void)type;
    char text[32];
    snprintf(text, sizeof text, "%lld", read_signed(value, size));
    show_text(text);
}

void cairn_show_enum(long long value, const char *type, const char *const *names, const long long *values, int count)
{
    /* The first enumerator of that value: enum {A, B, FIRST = 0} shows 0 as A. */
    char text[256];
    for (int i = 0; names && values && i < count; i++)
        if (values[i] == value && names[i]) {
            snprintf(text, sizeof text, "%s (%lld)", names[i], value);
            show_text(text);
            return;
        }
    snprintf(text, sizeof text, "%lld (%s)", value, type ? type : "enum");
    show_text(text);
}

void cairn_show_uint(const void *value, size_t size, const char *type)
{
    (void)type;
    char text[32];
    snprintf(text, sizeof text, "%llu", read_unsigned(value, size));
    show_text(text);
}

char *cairn_format_double(double v, char *buf, size_t size)
{
    if (isnan(v)) {
        snprintf(buf, size, "%snan", signbit(v) ? "-" : "");
        return buf;
    }
    if (isinf(v)) {
        snprintf(buf, size, "%sinf", v < 0 ? "-" : "");
        return buf;
    }
    /* Shortest significant digits that round-trip, then Python's layout: plain decimals
     * for exponents -4..15, scientific notation outside. */
    char sci[64];
    int digits;
    for (digits = 1; digits < 17; digits++) {
        snprintf(sci, sizeof sci, "%.*e", digits - 1, v);
        if (strtod(sci, NULL) == v)
            break;
    }
    snprintf(sci, sizeof sci, "%.*e", digits - 1, v);
    int exponent = atoi(strchr(sci, 'e') + 1);
    if (exponent >= -4 && exponent < 16) {
        int decimals = digits - 1 - exponent;
        snprintf(buf, size, "%.*f", decimals > 0 ? decimals : 0, v);
        if (!strchr(buf, '.') && strlen(buf) + 2 < size)
            strcat(buf, ".0");
    } else {
        snprintf(buf, size, "%s", sci);
    }
    return buf;
}

void cairn_show_float(const void *value, size_t size, const char *type)
{
    (void)type;
    char text[64];
    if (size == sizeof(double)) { /* a float promoted to double by the caller */
        cairn_show_double(value, size, type);
        return;
    }
    float f = *(const float *)value;
    if (isnan(f) || isinf(f)) {
        cairn_format_double((double)f, text, sizeof text);
    } else {
        for (int digits = 1; digits <= 9; digits++) {
            snprintf(text, sizeof text, "%.*g", digits, (double)f);
            if (strtof(text, NULL) == f)
                break;
        }
        if (!strpbrk(text, ".eE"))
            strcat(text, ".0");
    }
    strcat(text, "f");
    show_text(text);
}

void cairn_show_double(const void *value, size_t size, const char *type)
{
    (void)size;
    (void)type;
    char text[64];
    show_text(cairn_format_double(*(const double *)value, text, sizeof text));
}

void cairn_show_long_double(const void *value, size_t size, const char *type)
{
    (void)type;
    char text[64];
    if (size == sizeof(long double))
        snprintf(text, sizeof text, "%.21Lg", *(const long double *)value);
    else
        cairn_format_double(*(const double *)value, text, sizeof text);
    show_text(text);
}

#define STRING_SHOW_MAX (1u << 20)

void cairn_show_string(const void *value, size_t size, const char *type)
{
    (void)size;
    (void)type;
    const char *s = *(const char *const *)value;
    if (!s) {
        show_text("NULL");
        return;
    }
    size_t len = strnlen(s, STRING_SHOW_MAX);
    /* worst case: every byte becomes \xNN */
    char *text = malloc(len * 4 + 32);
    if (!text) {
        show_text("(string too large to show)");
        return;
    }
    size_t n = 0;
    text[n++] = '"';
    for (size_t i = 0; i < len; i++) {
        char esc[8];
        escape_char(s[i], '"', esc, sizeof esc);
        size_t e = strlen(esc);
        memcpy(text + n, esc, e);
        n += e;
    }
    text[n++] = '"';
    text[n] = '\0';
    if (len == STRING_SHOW_MAX)
        strcat(text, " (cut at 1 MiB)");
    show_text(text);
    free(text);
}

static cairn_show_formatter other_formatter;

static void show_address(const void *value, const char *type_text)
{
    /* A typed array (`int a[3]` shown by name) arrives as a pointer: the formatter can
     * show its elements. */
    if (other_formatter && strchr(type_text, '[')) {
        char *formatted = malloc(8192);
        if (formatted && other_formatter(value, sizeof(void *), type_text, formatted, 8192)) {
            show_text(formatted);
            free(formatted);
            return;
        }
        free(formatted);
    }
    const void *p = *(const void *const *)value;
    char text[160];
    if (!p) {
        snprintf(text, sizeof text, "NULL");
    } else {
        size_t block = cairn_alloc_size(p);
        if (block)
            snprintf(text, sizeof text, "(%s) %p (runtime block of %zu bytes)", type_text, p, block);
        else
            snprintf(text, sizeof text, "(%s) %p", type_text, p);
    }
    show_text(text);
}

void cairn_show_pointer(const void *value, size_t size, const char *type)
{
    (void)size;
    show_address(value, type ? type : "void *");
}

void cairn_show_double_pointer(const void *value, size_t size, const char *type)
{
    (void)size;
    show_address(value, type ? type : "double *");
}

void cairn_show_float_pointer(const void *value, size_t size, const char *type)
{
    (void)size;
    show_address(value, type ? type : "float *");
}

void cairn_show_int_pointer(const void *value, size_t size, const char *type)
{
    (void)size;
    show_address(value, type ? type : "int *");
}

void cairn_show_mat(const void *value, size_t size, const char *type)
{
    (void)size;
    (void)type;
    mat_display_result(*(const mat *)value);
}

void cairn_show_mat_pointer(const void *value, size_t size, const char *type)
{
    (void)size;
    (void)type;
    const mat *m = *(const mat *const *)value;
    if (!m)
        show_text("NULL");
    else
        mat_display_result(*m);
}

void cairn_show_figure(const void *value, size_t size, const char *type)
{
    (void)size;
    (void)type;
    struct figure *fig = *(struct figure *const *)value;
    if (!fig)
        show_text("NULL");
    else if (plot_display_result)
        plot_display_result(fig);
    else
        show_text("(figure: plotting is not built into this runtime)");
}

void cairn_show_set_formatter(cairn_show_formatter formatter) { other_formatter = formatter; }

void cairn_show_other(const void *value, size_t size, const char *type)
{
    if (other_formatter && type) {
        char *formatted = malloc(8192);
        if (formatted && other_formatter(value, size, type, formatted, 8192)) {
            show_text(formatted);
            free(formatted);
            return;
        }
        free(formatted);
    }
    char text[256];
    size_t tlen = type ? strlen(type) : 0;
    while (tlen && isspace((unsigned char)type[tlen - 1]))
        tlen--;
    if (type && tlen && type[tlen - 1] == '*' && size == sizeof(void *)) {
        char name[128];
        snprintf(name, sizeof name, "%.*s", (int)tlen, type);
        show_address(value, name);
        return;
    }
    if (type && tlen)
        snprintf(text, sizeof text, "<%.*s: %zu bytes>", (int)tlen, type, size);
    else
        snprintf(text, sizeof text, "<value of %zu bytes>", size);
    show_text(text);
}
