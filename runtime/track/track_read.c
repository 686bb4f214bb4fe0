/* track_read.c — reading an experiment back: the runs table (text/plain and text/html,
 * best first by a chosen metric, columns sortable by a click) and the metric histories
 * the comparison figures draw.
 *
 * Reads any MLflow file store, not only ours: a run folder without a readable meta.yaml
 * (corrupt, half-copied) is counted and skipped with a note, never fatal. A cairn run
 * still RUNNING whose watcher is gone is marked FAILED here (see track_watch.c). The
 * "last value" of a metric is the point with the largest step (the latest logged among
 * equal steps), which is what MLflow's UI shows. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "track_internal.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cairn/display.h"
#include "cairn/error.h"

const char *kv_get(const kv *a, int n, const char *key)
{
    for (int i = 0; i < n; i++)
        if (strcmp(a[i].key, key) == 0)
            return a[i].value;
    return NULL;
}

static void kv_add(kv **a, int *n, const char *key, const char *value)
{
    kv *g = realloc(*a, (size_t)(*n + 1) * sizeof *g);
    if (!g)
        return;
    *a = g;
    g[*n].key = strdup(key);
    g[*n].value = strdup(value);
    (*n)++;
}

/* Last point (largest step) of a metric file: its value as text. */
static int metric_last(const char *path, char *out, size_t size)
{
    char *text = store_read_all(path, NULL);
    if (!text)
        return 0;
    long long best_step = 0;
    int found = 0;
    for (char *line = text; *line;) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        long long ts, step = 0;
        char value[64];
        int k = sscanf(line, "%lld %63s %lld", &ts, value, &step);
        if (k >= 2 && (!found || step >= best_step)) {
            best_step = step;
            snprintf(out, size, "%s", value);
            found = 1;
        }
        if (!nl)
            break;
        line = nl + 1;
    }
    free(text);
    return found;
}

/* Every file under dir (keys with '/' are folders), as prefix/name. */
static void read_keys(const char *dir, const char *prefix, int metrics, kv **a, int *n)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.' || strstr(e->d_name, ".tmp"))
            continue;
        char path[TRACK_PATH * 2], key[600];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        snprintf(key, sizeof key, "%s%s%s", prefix, *prefix ? "/" : "", e->d_name);
        struct stat st;
        if (stat(path, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode)) {
            read_keys(path, key, metrics, a, n);
            continue;
        }
        char value[512];
        if (metrics) {
            if (metric_last(path, value, sizeof value))
                kv_add(a, n, key, value);
        } else {
            char *text = store_read_all(path, NULL);
            if (text) {
                kv_add(a, n, key, text);
                free(text);
            }
        }
    }
    closedir(d);
}

static int cmp_kv(const void *a, const void *b)
{
    return strcmp(((const kv *)a)->key, ((const kv *)b)->key);
}

static int read_run(const char *exp_dir, const char *id, run_row *row)
{
    char path[TRACK_PATH + 600], value[512];
    snprintf(path, sizeof path, "%s/%s/meta.yaml", exp_dir, id);
    char *meta = store_read_all(path, NULL);
    if (!meta)
        return -1;
    memset(row, 0, sizeof *row);
    int ok = yaml_get(meta, "status", value, sizeof value);
    row->status = ok ? atoi(value) : 0;
    char rid[64] = "";
    if (!yaml_get(meta, "run_id", rid, sizeof rid) && !yaml_get(meta, "run_uuid", rid, sizeof rid))
        ok = 0;
    if (!ok || row->status < 1 || row->status > 5) {
        free(meta);
        return -1;
    }
    snprintf(row->id, sizeof row->id, "%s", rid);
    if (yaml_get(meta, "start_time", value, sizeof value))
        row->start_time = atoll(value);
    if (yaml_get(meta, "end_time", value, sizeof value))
        row->end_time = atoll(value);
    if (!yaml_get(meta, "run_name", row->name, sizeof row->name))
        row->name[0] = '\0';
    free(meta);
    snprintf(path, sizeof path, "%s/%s/tags/mlflow.runName", exp_dir, id);
    char *name = store_read_all(path, NULL);
    if (name) {
        snprintf(row->name, sizeof row->name, "%s", name);
        free(name);
    }
    if (row->status == RUN_RUNNING) {
        snprintf(path, sizeof path, "%s/%s", exp_dir, id);
        if (watch_fix_stale(path))
            row->status = RUN_FAILED;
    }
    snprintf(path, sizeof path, "%s/%s/params", exp_dir, id);
    read_keys(path, "", 0, &row->params, &row->nparams);
    snprintf(path, sizeof path, "%s/%s/metrics", exp_dir, id);
    read_keys(path, "", 1, &row->metrics, &row->nmetrics);
    if (row->nparams > 1)
        qsort(row->params, (size_t)row->nparams, sizeof(kv), cmp_kv);
    if (row->nmetrics > 1)
        qsort(row->metrics, (size_t)row->nmetrics, sizeof(kv), cmp_kv);
    return 0;
}

static void row_free(run_row *r)
{
    for (int i = 0; i < r->nparams; i++) {
        free(r->params[i].key);
        free(r->params[i].value);
    }
    for (int i = 0; i < r->nmetrics; i++) {
        free(r->metrics[i].key);
        free(r->metrics[i].value);
    }
    free(r->params);
    free(r->metrics);
}

void runs_free(run_table *t)
{
    for (int i = 0; i < t->n; i++)
        row_free(&t->rows[i]);
    free(t->rows);
    memset(t, 0, sizeof *t);
}

int runs_read(const char *func, const char *experiment, run_table *t)
{
    memset(t, 0, sizeof *t);
    const char *root = store_root(func);
    if (!root)
        return -1;
    if (experiment && *experiment) {
        snprintf(t->exp_name, sizeof t->exp_name, "%s", experiment);
        if (store_experiment_id(func, experiment, 0, t->exp_id, sizeof t->exp_id) != 0)
            return -1;
    } else {
        const char *id = track_experiment_id();
        if (!id)
            return -1;
        snprintf(t->exp_id, sizeof t->exp_id, "%s", id);
    }
    snprintf(t->exp_dir, sizeof t->exp_dir, "%s/%s", root, t->exp_id);
    char path[TRACK_PATH + 320], value[256];
    snprintf(path, sizeof path, "%s/meta.yaml", t->exp_dir);
    char *meta = store_read_all(path, NULL);
    if (meta && yaml_get(meta, "name", value, sizeof value))
        snprintf(t->exp_name, sizeof t->exp_name, "%s", value);
    free(meta);
    DIR *d = opendir(t->exp_dir);
    if (!d) {
        cairn_error(func, "cannot read experiment folder %s: %s", t->exp_dir, strerror(errno));
        return -1;
    }
    struct dirent *e;
    int cap = 0;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.' || strcmp(e->d_name, "meta.yaml") == 0 || strcmp(e->d_name, "tags") == 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", t->exp_dir, e->d_name);
        struct stat st;
        if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
            continue;
        if (t->n == cap) {
            cap = cap ? cap * 2 : 16;
            run_row *g = realloc(t->rows, (size_t)cap * sizeof *g);
            if (!g)
                break;
            t->rows = g;
        }
        if (read_run(t->exp_dir, e->d_name, &t->rows[t->n]) == 0)
            t->n++;
        else
            t->skipped++;
    }
    closedir(d);
    return 0;
}

static int sort_desc;

static int cmp_rows(const void *pa, const void *pb)
{
    const run_row *a = pa, *b = pb;
    int na = isnan(a->sort_value), nb = isnan(b->sort_value);
    if (na != nb)
        return na - nb; /* runs without the metric go last */
    if (!na && a->sort_value != b->sort_value)
        return (a->sort_value < b->sort_value) == !sort_desc ? -1 : 1;
    /* newest first among equals */
    return a->start_time < b->start_time ? 1 : a->start_time > b->start_time ? -1 : strcmp(a->id, b->id);
}

void runs_sort(run_table *t, const char *order, char *metric, size_t msize, int *desc)
{
    metric[0] = '\0';
    *desc = 0;
    if (order && *order) {
        snprintf(metric, msize, "%s", order);
        size_t n = strlen(metric);
        while (n > 0 && metric[n - 1] == ' ')
            metric[--n] = '\0';
        char *sp = strrchr(metric, ' ');
        if (sp && (strcasecmp(sp + 1, "desc") == 0 || strcasecmp(sp + 1, "asc") == 0)) {
            *desc = strcasecmp(sp + 1, "desc") == 0;
            *sp = '\0';
        }
    }
    for (int i = 0; i < t->n; i++) {
        const char *v = metric[0] ? kv_get(t->rows[i].metrics, t->rows[i].nmetrics, metric) : NULL;
        t->rows[i].sort_value = v ? strtod(v, NULL) : NAN;
    }
    sort_desc = *desc;
    if (t->n > 1)
        qsort(t->rows, (size_t)t->n, sizeof *t->rows, cmp_rows);
}

/* Union of the keys of all rows (params or metrics), sorted. */
static int key_union(const run_table *t, int metrics, char ***out)
{
    char **keys = NULL;
    int n = 0;
    for (int i = 0; i < t->n; i++) {
        const kv *a = metrics ? t->rows[i].metrics : t->rows[i].params;
        int na = metrics ? t->rows[i].nmetrics : t->rows[i].nparams;
        for (int j = 0; j < na; j++) {
            int k = 0;
            while (k < n && strcmp(keys[k], a[j].key) != 0)
                k++;
            if (k < n)
                continue;
            char **g = realloc(keys, (size_t)(n + 1) * sizeof *g);
            if (!g)
                break;
            keys = g;
            keys[n++] = a[j].key;
        }
    }
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && strcmp(keys[j - 1], keys[j]) > 0; j--) {
            char *s = keys[j];
            keys[j] = keys[j - 1];
            keys[j - 1] = s;
        }
    *out = keys;
    return n;
}

/* Short form of a number's text for the table (6 significant digits). */
static void cell_text(const char *v, char *out, size_t size)
{
    char *end;
    double x = v ? strtod(v, &end) : 0;
    if (v && end != v && !*end)
        snprintf(out, size, "%.6g", x);
    else
        snprintf(out, size, "%.40s", v ? v : "");
}

static const char sort_js[] =
    "var t=this.closest('table'),b=t.tBodies[0],i=this.cellIndex,d=this.dataset.d=this.dataset.d==='1'?'0':'1';"
    "Array.from(b.rows).sort(function(x,y){var a=x.cells[i].textContent,c=y.cells[i].textContent,"
    "p=parseFloat(a),q=parseFloat(c),k=(!isNaN(p)&&!isNaN(q))?p-q:(isNaN(p)-isNaN(q))||a.localeCompare(c);"
    "return d==='1'?k:-k;}).forEach(function(r){b.appendChild(r);});";

/* Text and HTML of the table; returns 0 or -1. */
static int runs_render(const char *func, const char *experiment, const char *order, strbuf *text, strbuf *html)
{
    run_table t;
    if (runs_read(func, experiment, &t) != 0)
        return -1;
    char metric[256];
    int desc;
    runs_sort(&t, order, metric, sizeof metric, &desc);
    if (metric[0]) {
        int any = 0;
        for (int i = 0; i < t.n; i++)
            any |= kv_get(t.rows[i].metrics, t.rows[i].nmetrics, metric) != NULL;
        if (t.n && !any) {
            cairn_error(func, "no run of experiment '%s' has a metric '%s'", t.exp_name, metric);
            runs_free(&t);
            return -1;
        }
    }
    char **pk, **mk;
    int np = key_union(&t, 0, &pk), nm = key_union(&t, 1, &mk);
    /* The ranking metric first among the metrics. */
    for (int i = 0; i < nm; i++)
        if (strcmp(mk[i], metric) == 0) {
            char *s = mk[i];
            memmove(mk + 1, mk, (size_t)i * sizeof *mk);
            mk[0] = s;
        }
    strbuf_printf(text, "experiment '%s' (id %s): %d run%s", t.exp_name, t.exp_id, t.n, t.n == 1 ? "" : "s");
    if (metric[0])
        strbuf_printf(text, ", best first by %s (%s)", metric, desc ? "higher is better" : "lower is better");
    if (t.skipped)
        strbuf_printf(text, "; %d unreadable run folder%s skipped", t.skipped, t.skipped == 1 ? "" : "s");
    strbuf_printf(text, "\n");
    strbuf_printf(html, "<div class=\"cairn-runs\"><p><b>");
    strbuf_html(html, t.exp_name);
    strbuf_printf(html, "</b> (experiment %s): %d run%s", t.exp_id, t.n, t.n == 1 ? "" : "s");
    if (metric[0]) {
        strbuf_printf(html, ", best first by <code>");
        strbuf_html(html, metric);
        strbuf_printf(html, "</code> (%s)", desc ? "higher is better" : "lower is better");
    }
    if (t.skipped)
        strbuf_printf(html, "; %d unreadable run folder%s skipped", t.skipped, t.skipped == 1 ? "" : "s");
    strbuf_printf(html, " &mdash; click a column to sort</p>\n<table><thead><tr>");
    /* columns: #, run, status, metrics..., params... */
    int ncols = 3 + nm + np;
    char **heads = malloc((size_t)ncols * sizeof *heads);
    int *width = calloc((size_t)ncols, sizeof *width);
    char cell[64];
    if (!heads || !width) {
        free(heads);
        free(width);
        free(pk);
        free(mk);
        runs_free(&t);
        cairn_error(func, "out of memory");
        return -1;
    }
    heads[0] = "#";
    heads[1] = "run";
    heads[2] = "status";
    for (int i = 0; i < nm; i++)
        heads[3 + i] = mk[i];
    for (int i = 0; i < np; i++)
        heads[3 + nm + i] = pk[i];
    for (int c = 0; c < ncols; c++) {
        width[c] = (int)strlen(heads[c]) + (c >= 3 + nm ? 0 : 0);
        strbuf_printf(html, "<th style=\"cursor:pointer\" title=\"%s\" onclick=\"%s\">", c >= 3 + nm ? "param" : c >= 3 ? "metric" : "", sort_js);
        strbuf_html(html, heads[c]);
        strbuf_printf(html, "</th>");
    }
    strbuf_printf(html, "</tr></thead><tbody>\n");
    /* widths for the text table */
    for (int i = 0; i < t.n; i++) {
        run_row *r = &t.rows[i];
        int w1 = (int)strlen(r->name) > 32 ? 32 : (int)strlen(r->name);
        if (w1 > width[1])
            width[1] = w1;
        if (8 > width[2])
            width[2] = 8;
        for (int c = 3; c < ncols; c++) {
            const char *v = c < 3 + nm ? kv_get(r->metrics, r->nmetrics, heads[c]) : kv_get(r->params, r->nparams, heads[c]);
            cell_text(v, cell, sizeof cell);
            if ((int)strlen(cell) > width[c])
                width[c] = (int)strlen(cell);
        }
    }
    if (width[0] < 3)
        width[0] = 3;
    for (int c = 0; c < ncols; c++) { /* numbers are right-aligned, so are their heads */
        if (c < 3)
            strbuf_printf(text, "%s%-*s", c ? "  " : "", width[c], heads[c]);
        else
            strbuf_printf(text, "  %*s", width[c], heads[c]);
    }
    strbuf_printf(text, "\n");
    for (int i = 0; i < t.n; i++) {
        run_row *r = &t.rows[i];
        strbuf_printf(text, "%-*d  %-*.32s  %-*s", width[0], i + 1, width[1], r->name, width[2], store_status_name(r->status));
        strbuf_printf(html, "<tr><td>%d</td><td title=\"%s\">", i + 1, r->id);
        strbuf_html(html, r->name);
        strbuf_printf(html, "</td><td>%s</td>", store_status_name(r->status));
        for (int c = 3; c < ncols; c++) {
            const char *v = c < 3 + nm ? kv_get(r->metrics, r->nmetrics, heads[c]) : kv_get(r->params, r->nparams, heads[c]);
            cell_text(v, cell, sizeof cell);
            strbuf_printf(text, "  %*s", width[c], cell);
            strbuf_printf(html, "<td>");
            strbuf_html(html, cell);
            strbuf_printf(html, "</td>");
        }
        strbuf_printf(text, "\n");
        strbuf_printf(html, "</tr>\n");
    }
    strbuf_printf(html, "</tbody></table></div>");
    free(heads);
    free(width);
    free(pk);
    free(mk);
    runs_free(&t);
    return 0;
}

char *track_runs_text(const char *experiment, const char *order)
{
    strbuf text = {0}, html = {0};
    int rc = runs_render("track_runs_text", experiment, order, &text, &html);
    free(html.s);
    if (rc != 0) {
        free(text.s);
        return NULL;
    }
    return text.s;
}

int track_runs_show(const char *experiment, const char *order)
{
    strbuf text = {0}, html = {0};
    int rc = runs_render("track_runs_show", experiment, order, &text, &html);
    if (rc == 0 && text.s && html.s)
        display_html(html.s, text.s);
    free(text.s);
    free(html.s);
    return rc;
}

int track_runs_count(const char *experiment)
{
    run_table t;
    if (runs_read("track_runs_count", experiment, &t) != 0)
        return -1;
    int n = t.n;
    runs_free(&t);
    return n;
}

int runs_metric_history(const char *exp_dir, const char *run_id, const char *metric, double **steps, double **values)
{
    char path[TRACK_PATH + 600];
    snprintf(path, sizeof path, "%s/%s/metrics/%s", exp_dir, run_id, metric);
    char *text = store_read_all(path, NULL);
    *steps = *values = NULL;
    if (!text)
        return -1;
    int n = 0, cap = 0;
    for (char *line = text; *line;) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        long long ts, step = 0;
        char value[64];
        if (sscanf(line, "%lld %63s %lld", &ts, value, &step) >= 2) {
            if (n == cap) {
                cap = cap ? cap * 2 : 64;
                double *s = realloc(*steps, (size_t)cap * sizeof *s);
                double *v = s ? realloc(*values, (size_t)cap * sizeof *v) : NULL;
                if (s)
                    *steps = s;
                if (!s || !v)
                    break;
                *values = v;
            }
            (*steps)[n] = (double)step;
            (*values)[n] = strtod(value, NULL);
            n++;
        }
        if (!nl)
            break;
        line = nl + 1;
    }
    free(text);
    return n;
}
