/* track_plot.c — comparison figures of an experiment's runs, drawn by the plot module:
 * a metric against step for several runs on one axes, a parameter against a metric
 * (scatter), and parallel coordinates (each numeric parameter and the metric on its own
 * vertical axis, scaled to [0, 1], one polyline per run coloured by the metric).
 * The plot module has no per-tick text labels, so the parallel-coordinates figure names
 * its axes and their ranges in the x label. A parameter spanning two decades or more
 * (all positive) is put on a log scale, as learning rates should be. */
#include "track_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/error.h"

figure *track_plot_metric(const char *experiment, const char *metric, int max_runs)
{
    if (!metric || !*metric) {
        cairn_error("track_plot_metric", "needs a metric name");
        return NULL;
    }
    run_table t;
    if (runs_read("track_plot_metric", experiment, &t) != 0)
        return NULL;
    char name[256];
    int desc;
    runs_sort(&t, metric, name, sizeof name, &desc);
    figure *fig = plot_figure(0, 0);
    plot_axes *ax = plot_subplot(fig, 0);
    int drawn = 0;
    for (int i = 0; i < t.n && drawn < (max_runs > 0 ? max_runs : 10); i++) {
        if (!kv_get(t.rows[i].metrics, t.rows[i].nmetrics, name))
            continue;
        double *steps, *values;
        int n = runs_metric_history(t.exp_dir, t.rows[i].id, name, &steps, &values);
        if (n > 0) {
            plot_line_array(ax, steps, values, n, t.rows[i].name);
            drawn++;
        }
        free(steps);
        free(values);
    }
    if (!drawn) {
        cairn_error("track_plot_metric", "no run of experiment '%s' logged metric '%s'", t.exp_name, name);
        plot_free(fig);
        runs_free(&t);
        return NULL;
    }
    char title[600];
    snprintf(title, sizeof title, "%s — %s (%d run%s)", t.exp_name, name, drawn, drawn == 1 ? "" : "s");
    plot_title(ax, title);
    plot_xlabel(ax, "step");
    plot_ylabel(ax, name);
    plot_grid(ax, 1);
    runs_free(&t);
    return fig;
}

/* Numeric value of a param or metric of a row (NAN when missing or not a number). */
static double row_number(const run_row *r, const char *key, int metric)
{
    const char *v = metric ? kv_get(r->metrics, r->nmetrics, key) : kv_get(r->params, r->nparams, key);
    if (!v)
        return NAN;
    char *end;
    double x = strtod(v, &end);
    return end != v && !*end ? x : NAN;
}

figure *track_plot_param(const char *experiment, const char *param, const char *metric)
{
    if (!param || !metric) {
        cairn_error("track_plot_param", "needs a parameter and a metric name");
        return NULL;
    }
    run_table t;
    if (runs_read("track_plot_param", experiment, &t) != 0)
        return NULL;
    mat x = mat_zeros(t.n ? t.n : 1, 1), y = mat_zeros(t.n ? t.n : 1, 1);
    int n = 0;
    double lo = INFINITY, hi = -INFINITY;
    for (int i = 0; i < t.n; i++) {
        double a = row_number(&t.rows[i], param, 0), b = row_number(&t.rows[i], metric, 1);
        if (isnan(a) || isnan(b))
            continue;
        x.data[n] = a;
        y.data[n] = b;
        lo = fmin(lo, a);
        hi = fmax(hi, a);
        n++;
    }
    figure *fig = NULL;
    if (!n) {
        cairn_error("track_plot_param", "no run of experiment '%s' has both param '%s' and metric '%s'", t.exp_name,
                    param, metric);
    } else {
        fig = plot_figure(0, 0);
        plot_axes *ax = plot_subplot(fig, 0);
        plot_scatter(ax, mat_row_range(x, 0, n), mat_row_range(y, 0, n), mat_empty(), 8);
        if (lo > 0 && hi / lo >= 100)
            plot_xlog(ax, 1);
        char title[600];
        snprintf(title, sizeof title, "%s: %s vs %s (%d runs)", t.exp_name, metric, param, n);
        plot_title(ax, title);
        plot_xlabel(ax, param);
        plot_ylabel(ax, metric);
        plot_grid(ax, 1);
    }
    mat_free(&x);
    mat_free(&y);
    runs_free(&t);
    return fig;
}

/* viridis at 5 stops, interpolated: a colour for t in [0, 1]. */
static void color_of(double t, char *out, size_t size)
{
    static const double stops[5][3] = {{68, 1, 84}, {59, 82, 139}, {33, 145, 140}, {94, 201, 98}, {253, 231, 37}};
    if (!(t >= 0))
        t = 0;
    if (t > 1)
        t = 1;
    double p = t * 4;
    int i = (int)p < 4 ? (int)p : 3;
    double f = p - i;
    int c[3];
    for (int k = 0; k < 3; k++)
        c[k] = (int)lround(stops[i][k] + f * (stops[i + 1][k] - stops[i][k]));
    snprintf(out, size, "#%02x%02x%02x", c[0], c[1], c[2]);
}

figure *track_plot_parallel(const char *experiment, const char *metric)
{
    if (!metric) {
        cairn_error("track_plot_parallel", "needs a metric name");
        return NULL;
    }
    run_table t;
    if (runs_read("track_plot_parallel", experiment, &t) != 0)
        return NULL;
    /* numeric params present in every run that has the metric */
    const char *keys[32];
    int nk = 0;
    for (int i = 0; i < t.n && !nk; i++) {
        if (isnan(row_number(&t.rows[i], metric, 1)))
            continue;
        for (int j = 0; j < t.rows[i].nparams && nk < 31; j++) {
            const char *k = t.rows[i].params[j].key;
            int everywhere = 1;
            for (int r = 0; r < t.n && everywhere; r++)
                if (!isnan(row_number(&t.rows[r], metric, 1)) && isnan(row_number(&t.rows[r], k, 0)))
                    everywhere = 0;
            if (everywhere)
                keys[nk++] = k;
        }
    }
    /* A parameter with one value in every run (a batch size never varied, a notebook
     * parameter, a fit's autologged setting) says nothing here: it is named in the x label
     * instead of getting an axis. */
    double lo[32], hi[32];
    int logs[32];
    const char *fixed[32];
    double fixed_value[32];
    int nfixed = 0, nvary = 0;
    for (int a = 0; a <= nk; a++) {
        lo[a] = INFINITY;
        hi[a] = -INFINITY;
        for (int r = 0; r < t.n; r++) {
            double m = row_number(&t.rows[r], metric, 1);
            double v = a < nk ? row_number(&t.rows[r], keys[a], 0) : m;
            if (isnan(m) || isnan(v))
                continue;
            lo[a] = fmin(lo[a], v);
            hi[a] = fmax(hi[a], v);
        }
        if (a < nk && lo[a] == hi[a]) {
            fixed[nfixed] = keys[a];
            fixed_value[nfixed++] = lo[a];
            continue;
        }
        keys[nvary] = a < nk ? keys[a] : metric;
        lo[nvary] = lo[a];
        hi[nvary] = hi[a];
        logs[nvary] = a < nk && lo[a] > 0 && hi[a] / lo[a] >= 100;
        nvary++;
    }
    int naxes = nvary;
    nk = nvary - 1;
    if (!(lo[nk] <= hi[nk])) {
        cairn_error("track_plot_parallel", "no run of experiment '%s' has metric '%s'", t.exp_name, metric);
        runs_free(&t);
        return NULL;
    }
    figure *fig = plot_figure(720, 480);
    plot_axes *ax = plot_subplot(fig, 0);
    double xs[33], ys[33];
    int drawn = 0;
    for (int r = 0; r < t.n; r++) {
        double m = row_number(&t.rows[r], metric, 1);
        if (isnan(m))
            continue;
        for (int a = 0; a < naxes; a++) {
            double v = a < nk ? row_number(&t.rows[r], keys[a], 0) : m;
            double l = lo[a], h = hi[a];
            if (logs[a]) {
                v = log10(v);
                l = log10(l);
                h = log10(h);
            }
            xs[a] = a;
            ys[a] = h > l ? (v - l) / (h - l) : 0.5;
        }
        int s = plot_line_array(ax, xs, ys, naxes, NULL);
        char col[16];
        color_of(hi[nk] > lo[nk] ? (m - lo[nk]) / (hi[nk] - lo[nk]) : 0.5, col, sizeof col);
        if (s >= 0) {
            plot_color(ax, s, col);
            plot_style(ax, s, "o-");
        }
        drawn++;
    }
    /* Each axis is named by its tick (long names turn vertical); the x label gives the
     * ranges the axes span and the parameters that did not vary, as far as they fit. */
    double pos[32];
    char names[32][40];
    const char *tick[32];
    for (int a = 0; a < naxes; a++) {
        pos[a] = a;
        snprintf(names[a], sizeof names[a], "%.28s%s", keys[a], logs[a] ? " (log)" : "");
        tick[a] = names[a];
    }
    plot_xticks(ax, pos, tick, naxes);
    strbuf label = {0};
    char part[200];
    int cut = 0;
    for (int a = 0; a < naxes + nfixed && !cut; a++) {
        if (a < naxes)
            snprintf(part, sizeof part, "%s%s %.3g..%.3g", a ? ", " : "", keys[a], lo[a], hi[a]);
        else
            snprintf(part, sizeof part, "%s%s = %.3g", a == naxes ? "; same in every run: " : ", ", fixed[a - naxes],
                     fixed_value[a - naxes]);
        if (label.len + strlen(part) > 100) {
            strbuf_puts(&label, ", ...");
            cut = 1;
        } else {
            strbuf_puts(&label, part);
        }
    }
    char title[600];
    snprintf(title, sizeof title, "%s by parameters: %d runs of %s (yellow = high)", metric, drawn, t.exp_name);
    plot_title(ax, title);
    plot_xlabel(ax, label.s ? label.s : "");
    plot_ylabel(ax, "scaled to [0, 1]");
    plot_xlim(ax, -0.1, naxes - 0.9);
    plot_ylim(ax, -0.05, 1.05);
    plot_grid(ax, 1);
    free(label.s);
    runs_free(&t);
    return fig;
}
