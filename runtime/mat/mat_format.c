/* mat_format.c — how a matrix looks in the notebook: text like NumPy, an HTML table,
 * LaTeX for small ones, and the display calls that send them.
 *
 * The number format follows NumPy's default print options, so users read the same
 * thing they would in Python: up to 8 digits after the point, each value printed with
 * the fewest digits that identify it (1.5, not 1.50000000), decimal points aligned;
 * scientific notation when the largest magnitude is >= 1e8, or the smallest nonzero
 * is < 1e-4, or their ratio exceeds 1000. Matrices with more than 1000 elements show
 * only their first and last 3 rows and columns, with "..." between, and the format is
 * chosen from the shown values only (as NumPy does). Unlike NumPy, long rows are not
 * wrapped at 75 columns: a matrix row stays one line, which reads better in a notebook.
 * Returned strings come from malloc: the caller releases them with free(). */
#include "cairn/mat.h"
#include "cairn/display.h"
#include "cairn/error.h"
#include "../core/strbuf.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { EDGE = 3, THRESHOLD = 1000, MAX_DIGITS = 8, LATEX_MAX = 12 };

/* ---- a growing string ---- */

static char *sb_finish(strbuf *b)
{
    if (b->failed) {
        free(b->s);
        cairn_error("mat_format", "out of memory formatting a matrix");
        return NULL;
    }
    return b->s;
}

/* ---- which elements are shown ---- */

typedef struct shown {
    int idx[2 * EDGE];
    int n;       /* how many indices are shown */
    int skipped; /* nonzero when "..." goes after the first EDGE of them */
} shown;

static shown shown_indices(int count, int summarize)
{
    shown s = {{0}, 0, 0};
    if (summarize && count > 2 * EDGE) {
        for (int k = 0; k < EDGE; k++) {
            s.idx[k] = k;
            s.idx[EDGE + k] = count - EDGE + k;
        }
        s.n = 2 * EDGE;
        s.skipped = 1;
    } else {
        s.n = count;
    }
    return s;
}

static int shown_at(const shown *s, int k) { return s->skipped ? s->idx[k] : k; }

/* ---- number format ---- */

typedef struct numfmt {
    int exp_mode;
    int precision; /* exp mode: digits after the point of every mantissa */
    int pad_left;  /* characters before the point (sign included) */
    int pad_right; /* fixed: max digits after the point; exp: those plus the exponent */
    int exp_digits;
    int width;     /* total field width */
} numfmt;

/* Fewest digits after the point (0..MAX_DIGITS) that print x so it reads back exactly;
 * MAX_DIGITS when none do (then the value is rounded at MAX_DIGITS). */
static int unique_digits(double x, int exp_mode)
{
    char tmp[64];
    for (int d = 0; d < MAX_DIGITS; d++) {
        snprintf(tmp, sizeof tmp, exp_mode ? "%.*e" : "%.*f", d, x);
        if (strtod(tmp, NULL) == x)
            return d;
    }
    return MAX_DIGITS;
}

/* Positional text of x with trailing zeros dropped, point kept: "1.", "-0.25". */
static void fixed_text(double x, char *out, size_t size)
{
    int d = unique_digits(x, 0);
    snprintf(out, size, "%.*f", d, x);
    char *dot = strchr(out, '.');
    if (!dot) {
        strncat(out, ".", size - strlen(out) - 1);
        return;
    }
    char *end = out + strlen(out) - 1;
    while (end > dot && *end == '0')
        *end-- = '\0';
}

/* Mantissa digits after the point that x needs in scientific form (trailing zeros dropped). */
static int exp_digits_needed(double x)
{
    int d = unique_digits(x, 1);
    if (d == MAX_DIGITS) {
        char tmp[64];
        snprintf(tmp, sizeof tmp, "%.*e", d, x);
        char *e = strchr(tmp, 'e');
        while (d > 0 && e[-1] == '0') {
            e--;
            d--;
        }
    }
    return d;
}

static numfmt choose_format(mat m, const shown *rs, const shown *cs)
{
    numfmt f = {0, 0, 0, 0, 2, 0};
    double maxv = 0, minv = INFINITY;
    int any_finite = 0, nonfinite_width = 0;
    for (int a = 0; a < rs->n; a++) {
        for (int b = 0; b < cs->n; b++) {
            double x = *mat_ptr(m, shown_at(rs, a), shown_at(cs, b));
            if (!isfinite(x)) {
                int w = isnan(x) ? 3 : x > 0 ? 3 : 4;
                nonfinite_width = w > nonfinite_width ? w : nonfinite_width;
                continue;
            }
            any_finite = 1;
            double ax = fabs(x);
            if (ax > 0) {
                maxv = ax > maxv ? ax : maxv;
                minv = ax < minv ? ax : minv;
            }
        }
    }
    if (maxv > 0)
        f.exp_mode = maxv >= 1e8 || minv < 1e-4 || maxv / minv > 1e3;
    for (int a = 0; a < rs->n && any_finite; a++) {
        for (int b = 0; b < cs->n; b++) {
            double x = *mat_ptr(m, shown_at(rs, a), shown_at(cs, b));
            if (!isfinite(x))
                continue;
            char tmp[400];
            if (f.exp_mode) {
                int d = exp_digits_needed(x);
                f.precision = d > f.precision ? d : f.precision;
                snprintf(tmp, sizeof tmp, "%.0e", x);
                int left = (int)(strchr(tmp, 'e') - tmp);
                f.pad_left = left > f.pad_left ? left : f.pad_left;
                int e = (int)strlen(strchr(tmp, 'e') + 2);
                f.exp_digits = e > f.exp_digits ? e : f.exp_digits;
            } else {
                fixed_text(x, tmp, sizeof tmp);
                char *dot = strchr(tmp, '.');
                int left = (int)(dot - tmp), right = (int)strlen(dot + 1);
                f.pad_left = left > f.pad_left ? left : f.pad_left;
                f.pad_right = right > f.pad_right ? right : f.pad_right;
            }
        }
    }
    if (f.exp_mode)
        f.pad_right = f.precision + 2 + f.exp_digits;
    f.width = any_finite ? f.pad_left + 1 + f.pad_right : 0;
    if (nonfinite_width > f.width)
        f.width = nonfinite_width;
    return f;
}

/* x as text under format f; padded to the common width when `pad`, else trimmed. */
static void format_number(const numfmt *f, double x, int pad, char *out, size_t size)
{
    char tmp[400];
    int left, right_used = 0;
    if (!isfinite(x)) {
        snprintf(out, size, "%*s", pad ? f->width : 0, isnan(x) ? "nan" : x > 0 ? "inf" : "-inf");
        return;
    }
    if (f->exp_mode) {
        snprintf(tmp, sizeof tmp, "%.*e", f->precision, x);
        char *e = strchr(tmp, 'e');
        char mant[64];
        snprintf(mant, sizeof mant, "%.*s", (int)(e - tmp), tmp);
        if (!strchr(mant, '.'))
            strcat(mant, ".");
        char sign = e[1];
        int expv = atoi(e + 2);
        char body[128];
        snprintf(body, sizeof body, "%se%c%0*d", mant, sign, f->exp_digits, expv);
        left = (int)(strchr(mant, '.') - mant);
        snprintf(out, size, "%*s%s", pad ? f->pad_left - left : 0, "", body);
        return;
    }
    fixed_text(x, tmp, sizeof tmp);
    char *dot = strchr(tmp, '.');
    left = (int)(dot - tmp);
    right_used = (int)strlen(dot + 1);
    if (pad)
        snprintf(out, size, "%*s%s%*s", f->pad_left - left, "", tmp, f->pad_right - right_used, "");
    else
        snprintf(out, size, "%s", tmp);
}

static void describe_shape(strbuf *b, mat m)
{
    strbuf_printf(b, "mat %dx%d", m.rows, m.cols);
    if (m.channels)
        strbuf_printf(b, ", images %dx%dx%d", m.channels, m.height, m.width);
}

char *mat_format_text(mat m)
{
    strbuf b = {0};
    describe_shape(&b, m);
    if (mat_is_empty(m)) {
        strbuf_puts(&b, " (empty)");
        return sb_finish(&b);
    }
    int summarize = (size_t)m.rows * (size_t)m.cols > THRESHOLD;
    shown rs = shown_indices(m.rows, summarize), cs = shown_indices(m.cols, summarize);
    numfmt f = choose_format(m, &rs, &cs);
    strbuf_puts(&b, "\n[");
    char num[512];
    for (int a = 0; a < rs.n; a++) {
        if (a > 0)
            strbuf_puts(&b, "\n ");
        if (rs.skipped && a == EDGE)
            strbuf_puts(&b, "...\n ");
        strbuf_puts(&b, "[");
        for (int c = 0; c < cs.n; c++) {
            if (c > 0)
                strbuf_puts(&b, " ");
            if (cs.skipped && c == EDGE)
                strbuf_puts(&b, "... ");
            format_number(&f, *mat_ptr(m, shown_at(&rs, a), shown_at(&cs, c)), 1, num, sizeof num);
            strbuf_puts(&b, num);
        }
        strbuf_puts(&b, "]");
    }
    strbuf_puts(&b, "]");
    return sb_finish(&b);
}

char *mat_format_html(mat m)
{
    strbuf b = {0};
    strbuf_puts(&b, "<table class=\"cairn-mat\" style=\"font-family: monospace; text-align: right\">\n<caption>");
    describe_shape(&b, m);
    if (mat_is_empty(m)) {
        strbuf_puts(&b, " (empty)</caption>\n</table>");
        return sb_finish(&b);
    }
    strbuf_puts(&b, "</caption>\n");
    int summarize = (size_t)m.rows * (size_t)m.cols > THRESHOLD;
    shown rs = shown_indices(m.rows, summarize), cs = shown_indices(m.cols, summarize);
    numfmt f = choose_format(m, &rs, &cs);
    /* Index header and index column make a large matrix's truncation readable. */
    strbuf_puts(&b, "<thead><tr><th></th>");
    for (int c = 0; c < cs.n; c++) {
        if (cs.skipped && c == EDGE)
            strbuf_puts(&b, "<th>\u2026</th>");
        strbuf_printf(&b, "<th>%d</th>", shown_at(&cs, c));
    }
    strbuf_puts(&b, "</tr></thead>\n<tbody>\n");
    char num[512];
    for (int a = 0; a < rs.n; a++) {
        if (rs.skipped && a == EDGE) {
            strbuf_puts(&b, "<tr><th>\u22ee</th>");
            for (int c = 0; c < cs.n; c++) {
                if (cs.skipped && c == EDGE)
                    strbuf_puts(&b, "<td>\u22f1</td>");
                strbuf_puts(&b, "<td>\u22ee</td>");
            }
            strbuf_puts(&b, "</tr>\n");
        }
        strbuf_printf(&b, "<tr><th>%d</th>", shown_at(&rs, a));
        for (int c = 0; c < cs.n; c++) {
            if (cs.skipped && c == EDGE)
                strbuf_puts(&b, "<td>\u2026</td>");
            format_number(&f, *mat_ptr(m, shown_at(&rs, a), shown_at(&cs, c)), 0, num, sizeof num);
            strbuf_printf(&b, "<td>%s</td>", num);
        }
        strbuf_puts(&b, "</tr>\n");
    }
    strbuf_puts(&b, "</tbody>\n</table>");
    return sb_finish(&b);
}

/* A number as LaTeX: "1" rather than "1.", "1.5 \times 10^{-5}" rather than "1.5e-05". */
static void latex_number(const numfmt *f, double x, strbuf *b)
{
    char num[512];
    if (isnan(x)) {
        strbuf_puts(b, "\\mathrm{NaN}");
        return;
    }
    if (isinf(x)) {
        strbuf_puts(b, x > 0 ? "\\infty" : "-\\infty");
        return;
    }
    format_number(f, x, 0, num, sizeof num);
    char *e = strchr(num, 'e');
    if (e)
        *e = '\0';
    size_t n = strlen(num);
    if (n && num[n - 1] == '.')
        num[n - 1] = '\0';
    strbuf_puts(b, num);
    if (e)
        strbuf_printf(b, " \\times 10^{%d}", atoi(e + 1));
}

char *mat_format_latex(mat m)
{
    if (mat_is_empty(m) || m.rows > LATEX_MAX || m.cols > LATEX_MAX)
        return NULL;
    shown rs = shown_indices(m.rows, 0), cs = shown_indices(m.cols, 0);
    numfmt f = choose_format(m, &rs, &cs);
    strbuf b = {0};
    strbuf_puts(&b, "$$\\begin{bmatrix}\n");
    for (int i = 0; i < m.rows; i++) {
        for (int j = 0; j < m.cols; j++) {
            if (j > 0)
                strbuf_puts(&b, " & ");
            latex_number(&f, *mat_ptr(m, i, j), &b);
        }
        strbuf_puts(&b, i + 1 < m.rows ? " \\\\\n" : "\n");
    }
    strbuf_puts(&b, "\\end{bmatrix}$$");
    return sb_finish(&b);
}

/* Build the bundle (text, HTML, LaTeX when small) and hand it to `send`. */
static void send_bundle(mat m, int as_result)
{
    char *text = mat_format_text(m);
    char *html = mat_format_html(m);
    char *latex = mat_format_latex(m);
    display_part parts[3];
    int n = 0;
    if (text)
        parts[n++] = (display_part){"text/plain", text, strlen(text)};
    if (html)
        parts[n++] = (display_part){"text/html", html, strlen(html)};
    if (latex)
        parts[n++] = (display_part){"text/latex", latex, strlen(latex)};
    if (n) {
        if (as_result)
            display_result_bundle(parts, n);
        else
            display_bundle(parts, n, NULL);
    }
    free(text);
    free(html);
    free(latex);
}

void mat_show(mat m) { send_bundle(m, 0); }

void mat_display_result(mat m) { send_bundle(m, 1); }
