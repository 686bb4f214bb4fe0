/* ticks.c — where ticks go and what they say.
 *
 * Linear axes use the "nice numbers" rule of matplotlib's MaxNLocator: the step is
 * the smallest of 1, 2, 2.5, 5, 10 x 10^k not below (range / bins), the bins the axis
 * length allows, and ticks are the multiples of the step inside the range.
 * Labels get just enough decimals to tell every tick apart; very large or very small
 * values share a factor ("1e12") and narrow ranges far from zero share an offset
 * ("+1e12"), as matplotlib's ScalarFormatter does, so labels stay short.
 * Log axes put ticks on decades (every k-th decade when there are many), or on
 * 1-2-5 multiples when the range is within about one decade. */
#include "plot_internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

void ticks_nonsingular(double *lo, double *hi, int log)
{
    double a = *lo, b = *hi;
    if (!isfinite(a) || !isfinite(b) || (log && (a <= 0 || b <= 0))) {
        if (log) {
            a = 1;
            b = 10;
        } else {
            a = 0;
            b = 1;
        }
    }
    if (a > b) {
        double t = a;
        a = b;
        b = t;
    }
    if (log) {
        if (b / a < 1 + 1e-9) {
            a /= 2;
            b *= 2;
        }
    } else {
        double m = fmax(fabs(a), fabs(b));
        /* Widths below ~1e-12 of the magnitude are rounding noise: treat as one value. */
        if (b - a <= m * 1e-12 || b - a < 1e-300) {
            double half = m > 0 ? m * 0.05 : 1;
            if (m < 1e-290)
                half = 1;
            a -= half;
            b += half;
        }
    }
    *lo = a;
    *hi = b;
}

/* Decimals needed to print every value of v exactly enough at the step size. */
static int decimals_for(const double *v, int n, double step)
{
    for (int d = 0; d <= 15; d++) {
        double p = pow(10, d);
        int ok = 1;
        for (int i = 0; i < n && ok; i++) {
            double s = v[i] * p;
            if (fabs(s - nearbyint(s)) > 1e-6 * fmax(1, fabs(step * p)))
                ok = 0;
        }
        if (ok)
            return d;
    }
    return 15;
}

/* Formats v with d decimals, using U+2212 for the minus sign like matplotlib. */
static void format_number(char *buf, size_t cap, double v, int d)
{
    char tmp[28];
    if (fabs(v) < 0.5 * pow(10, -d))
        v = 0; /* no "-0" */
    if (snprintf(tmp, sizeof tmp, "%.*f", d, v) >= (int)sizeof tmp)
        snprintf(tmp, sizeof tmp, "%.6g", v);
    if (tmp[0] == '-')
        snprintf(buf, cap, "\xe2\x88\x92%s", tmp + 1);
    else
        snprintf(buf, cap, "%s", tmp);
}

static void label_linear(tick_set *t, double step)
{
    t->note[0] = '\0';
    if (t->n == 0)
        return;
    double lo = t->value[0], hi = t->value[t->n - 1];
    double m = fmax(fabs(lo), fabs(hi));
    double shown[TICKS_MAX];
    double offset = 0, factor = 1;
    if (hi - lo > 0 && (hi - lo) < 1e-4 * m) {
        /* Narrow range far from zero: share an offset, a round number below the ticks. */
        double p = pow(10, ceil(log10(hi - lo)));
        offset = floor(lo / p) * p;
    }
    double span = fmax(fabs(lo - offset), fabs(hi - offset));
    if (span >= 1e5 || (span > 0 && span < 1e-3)) {
        int e = (int)floor(log10(span));
        factor = pow(10, e);
        char off[40] = "";
        if (offset != 0)
            snprintf(off, sizeof off, "%s%.10g", offset > 0 ? "+" : "\xe2\x88\x92", fabs(offset));
        snprintf(t->note, sizeof t->note, "1e%d%s", e, off);
    } else if (offset != 0) {
        snprintf(t->note, sizeof t->note, "%s%.12g", offset > 0 ? "+" : "\xe2\x88\x92", fabs(offset));
    }
    /* "1e+12" reads better as "1e12", as matplotlib writes it */
    char *e = strstr(t->note, "e+");
    if (e)
        memmove(e + 1, e + 2, strlen(e + 2) + 1);
    /* The note puts the factor first ("1e-12", then the offset): labels are (v - offset) / factor. */
    for (int i = 0; i < t->n; i++)
        shown[i] = (t->value[i] - offset) / factor;
    int d = decimals_for(shown, t->n, step / factor);
    for (int i = 0; i < t->n; i++)
        format_number(t->label[i], sizeof t->label[i], shown[i], d);
}

int ticks_linear(double lo, double hi, int max_bins, tick_set *out)
{
    out->n = 0;
    out->note[0] = '\0';
    if (!isfinite(lo) || !isfinite(hi))
        return 0;
    if (lo > hi) {
        double t = lo;
        lo = hi;
        hi = t;
    }
    if (max_bins < 1)
        max_bins = 1;
    if (max_bins > TICKS_MAX - 2)
        max_bins = TICKS_MAX - 2;
    if (hi - lo <= fmax(fabs(lo), fabs(hi)) * 1e-12 || hi - lo < 1e-300) {
        /* A single value: one tick on it. */
        out->value[0] = lo;
        out->n = 1;
        label_linear(out, fabs(lo) > 0 ? fabs(lo) : 1);
        return 1;
    }
    /* matplotlib's rule: the smallest nice step at least (hi - lo) / max_bins, or a
     * smaller one when that leaves fewer than two ticks inside the range. */
    static const double steps[] = {1, 2, 2.5, 5, 10};
    double raw = (hi - lo) / max_bins;
    double mag = pow(10, floor(log10(raw)));
    double cand[10];
    int nc = 0;
    for (int k = -1; k <= 0; k++)
        for (int i = 0; i < 5; i++)
            cand[nc++] = steps[i] * mag * pow(10, k);
    int pick = 0;
    while (pick < nc - 1 && cand[pick] < raw * (1 - 1e-12))
        pick++;
    double step = cand[pick];
    for (; pick >= 0; pick--) {
        step = cand[pick];
        double first = ceil(lo / step - 1e-9), last = floor(hi / step + 1e-9);
        if (last - first + 1 >= 2)
            break;
    }
    double first = ceil(lo / step - 1e-9), last = floor(hi / step + 1e-9);
    if (last < first) {
        out->value[0] = lo;
        out->value[1] = hi;
        out->n = 2;
        label_linear(out, hi - lo);
        return 2;
    }
    for (double k = first; k <= last && out->n < TICKS_MAX; k++) {
        double v = k * step;
        if (fabs(v) < step * 1e-9)
            v = 0;
        out->value[out->n++] = v;
    }
    label_linear(out, step);
    return out->n;
}

/* "10" followed by the exponent in Unicode superscript digits (DejaVu has them). */
static void format_power(char *buf, size_t cap, int e)
{
    static const char *sup[10] = {"\xe2\x81\xb0", "\xc2\xb9", "\xc2\xb2", "\xc2\xb3", "\xe2\x81\xb4",
                                  "\xe2\x81\xb5", "\xe2\x81\xb6", "\xe2\x81\xb7", "\xe2\x81\xb8", "\xe2\x81\xb9"};
    char digits[16];
    snprintf(digits, sizeof digits, "%d", e < 0 ? -e : e);
    size_t len = (size_t)snprintf(buf, cap, "10%s", e < 0 ? "\xe2\x81\xbb" : "");
    for (char *p = digits; *p && len + 4 < cap; p++) {
        size_t l = strlen(sup[*p - '0']);
        memcpy(buf + len, sup[*p - '0'], l);
        len += l;
        buf[len] = '\0';
    }
}

int ticks_log(double lo, double hi, int max_bins, tick_set *out)
{
    out->n = 0;
    out->note[0] = '\0';
    if (!(lo > 0) || !(hi > 0) || !isfinite(lo) || !isfinite(hi))
        return 0;
    if (lo > hi) {
        double t = lo;
        lo = hi;
        hi = t;
    }
    if (max_bins < 1)
        max_bins = 1;
    int e0 = (int)ceil(log10(lo) - 1e-9), e1 = (int)floor(log10(hi) + 1e-9);
    int ndec = e1 - e0 + 1;
    if (ndec >= 2) {
        int stride = (ndec + max_bins) / (max_bins + 1);
        if (stride < 1)
            stride = 1;
        /* Keep the ticks on multiples of the stride so they do not jump while zooming. */
        int start = e0 + ((stride - (e0 % stride)) % stride);
        for (int e = start; e <= e1 && out->n < TICKS_MAX; e += stride) {
            out->value[out->n] = pow(10, e);
            format_power(out->label[out->n], sizeof out->label[0], e);
            out->n++;
        }
        if (out->n >= 2)
            return out->n;
        out->n = 0;
    }
    /* Within about a decade: 1, 2, 5 multiples, labelled plainly. */
    static const double mult[3] = {1, 2, 5};
    for (int e = (int)floor(log10(lo)); e <= (int)ceil(log10(hi)) && out->n < TICKS_MAX; e++) {
        for (int i = 0; i < 3 && out->n < TICKS_MAX; i++) {
            double v = mult[i] * pow(10, e);
            if (v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9)) {
                out->value[out->n] = v;
                snprintf(out->label[out->n], sizeof out->label[0], "%g", v);
                out->n++;
            }
        }
    }
    if (out->n >= 2 && out->n <= max_bins + 1)
        return out->n;
    return ticks_linear(lo, hi, max_bins, out);
}
