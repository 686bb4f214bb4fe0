/* metrics_class.c — how good a classifier is: accuracy, the confusion matrix, per-class
 * precision / recall / F1 and scikit-learn's classification_report (the same text, and an
 * HTML table for the notebook), over the sorted classes found in either label vector
 * (sklearn's convention). Undefined ratios (a class never predicted) count as 0, sklearn's
 * zero_division=0, without a warning. */
#include "cairn/cluster.h"
#include "cairn/alloc.h"
#include "cairn/error.h"
#include "cairn/display.h"
#include "cluster_internal.h"
#include "../core/strbuf.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

double metric_accuracy(mat y_true, mat y_pred)
{
    const char *func = "metric_accuracy";
    int n = cl_vector_length(func, y_true, "y_true");
    int m = n < 0 ? -1 : cl_vector_length(func, y_pred, "y_pred");
    if (m < 0)
        return NAN;
    if (m != n) {
        cairn_error(func, "y_true has %d entries (%d x %d), y_pred %d (%d x %d)", n, y_true.rows, y_true.cols, m,
                    y_pred.rows, y_pred.cols);
        return NAN;
    }
    long same = 0;
    for (int i = 0; i < n; i++)
        same += cl_vec_get(y_true, i) == cl_vec_get(y_pred, i);
    return (double)same / n;
}

mat metric_confusion(mat y_true, mat y_pred)
{
    const char *func = "metric_confusion";
    int *a, *b;
    int c = cl_encode_pair(func, y_true, y_pred, &a, &b, NULL);
    if (c < 0)
        return mat_empty();
    int n = cl_vector_length(func, y_true, "y_true");
    mat C = mat_zeros(c, c);
    for (int i = 0; C.data && i < n; i++)
        *mat_ptr(C, a[i], b[i]) += 1;
    cairn_free(a);
    cairn_free(b);
    return C;
}

/* ---- per-class precision, recall, F1 and the classification report ---- */

/* Counts per class: tp, predicted (tp + fp) and true (tp + fn) of the c classes. */
typedef struct class_counts {
    int c, n;
    double *classes;
    double *tp, *pred, *truth;
} class_counts;

static void counts_free(class_counts *k)
{
    cairn_free(k->classes);
    cairn_free(k->tp);
    cairn_free(k->pred);
    cairn_free(k->truth);
}

static int counts_of(const char *func, mat y_true, mat y_pred, class_counts *k)
{
    memset(k, 0, sizeof *k);
    int *a, *b;
    k->c = cl_encode_pair(func, y_true, y_pred, &a, &b, &k->classes);
    if (k->c < 0)
        return -1;
    k->n = cl_vector_length(func, y_true, "y_true");
    k->tp = cairn_alloc((size_t)k->c * sizeof(double));
    k->pred = cairn_alloc((size_t)k->c * sizeof(double));
    k->truth = cairn_alloc((size_t)k->c * sizeof(double));
    if (!k->tp || !k->pred || !k->truth) {
        cairn_free(a);
        cairn_free(b);
        counts_free(k);
        cairn_error(func, "out of memory for %d classes", k->c);
        return -1;
    }
    for (int i = 0; i < k->n; i++) {
        k->tp[a[i]] += a[i] == b[i];
        k->pred[b[i]] += 1;
        k->truth[a[i]] += 1;
    }
    cairn_free(a);
    cairn_free(b);
    return 0;
}

/* precision, recall, f1 of class j (0 where undefined: sklearn's zero_division=0) */
static void prf(const class_counts *k, int j, double *p, double *r, double *f)
{
    *p = k->pred[j] > 0 ? k->tp[j] / k->pred[j] : 0;
    *r = k->truth[j] > 0 ? k->tp[j] / k->truth[j] : 0;
    *f = *p + *r > 0 ? 2 * *p * *r / (*p + *r) : 0;
}

mat metric_precision_recall_f1(mat y_true, mat y_pred)
{
    class_counts k;
    if (counts_of("metric_precision_recall_f1", y_true, y_pred, &k) < 0)
        return mat_empty();
    mat R = mat_alloc(k.c, 4);
    for (int j = 0; R.data && j < k.c; j++) {
        double *row = mat_ptr(R, j, 0);
        prf(&k, j, &row[0], &row[1], &row[2]);
        row[3] = k.truth[j];
    }
    counts_free(&k);
    return R;
}

/* The report as text (html = 0, sklearn's layout) or an HTML table. */
static char *report(mat y_true, mat y_pred, const char *const *names, int digits, int html)
{
    const char *func = html ? "classification_report_html" : "classification_report_text";
    class_counts k;
    if (counts_of(func, y_true, y_pred, &k) < 0)
        return NULL;
    if (digits < 0 || digits > 15)
        digits = 2;
    char(*label)[64] = calloc((size_t)k.c, sizeof *label);
    strbuf b = {0};
    if (!label) {
        counts_free(&k);
        cairn_error(func, "out of memory for the report of %d classes", k.c);
        return NULL;
    }
    int width = (int)strlen("weighted avg");
    for (int j = 0; j < k.c; j++) {
        if (names)
            snprintf(label[j], sizeof label[j], "%s", names[j] ? names[j] : "");
        else
            snprintf(label[j], sizeof label[j], "%.17g", k.classes[j]);
        int l = (int)strlen(label[j]);
        width = l > width ? l : width;
    }
    width = digits > width ? digits : width;
    double macro[3] = {0, 0, 0}, weighted[3] = {0, 0, 0}, correct = 0;
    if (html)
        strbuf_printf(&b, "<table class=\"cairn-report\">\n<thead><tr><th></th><th>precision</th><th>recall</th>"
                      "<th>f1-score</th><th>support</th></tr></thead>\n<tbody>\n");
    else
        strbuf_printf(&b, "%*s  %9s %9s %9s %9s\n\n", width, "", "precision", "recall", "f1-score", "support");
    for (int j = 0; j < k.c; j++) {
        double p, r, f;
        prf(&k, j, &p, &r, &f);
        macro[0] += p / k.c;
        macro[1] += r / k.c;
        macro[2] += f / k.c;
        weighted[0] += p * k.truth[j] / k.n;
        weighted[1] += r * k.truth[j] / k.n;
        weighted[2] += f * k.truth[j] / k.n;
        correct += k.tp[j];
        if (html) {
            strbuf_printf(&b, "<tr><th>");
            strbuf_html(&b, label[j]);
            strbuf_printf(&b, "</th><td>%.*f</td><td>%.*f</td><td>%.*f</td><td>%.0f</td></tr>\n", digits, p, digits, r,
                      digits, f, k.truth[j]);
        } else {
            strbuf_printf(&b, "%*s  %9.*f %9.*f %9.*f %9.0f\n", width, label[j], digits, p, digits, r, digits, f,
                      k.truth[j]);
        }
    }
    double acc = correct / k.n;
    if (html) {
        strbuf_printf(&b, "<tr><th>accuracy</th><td></td><td></td><td>%.*f</td><td>%d</td></tr>\n", digits, acc, k.n);
        strbuf_printf(&b, "<tr><th>macro avg</th><td>%.*f</td><td>%.*f</td><td>%.*f</td><td>%d</td></tr>\n", digits,
                  macro[0], digits, macro[1], digits, macro[2], k.n);
        strbuf_printf(&b, "<tr><th>weighted avg</th><td>%.*f</td><td>%.*f</td><td>%.*f</td><td>%d</td></tr>\n", digits,
                  weighted[0], digits, weighted[1], digits, weighted[2], k.n);
        strbuf_printf(&b, "</tbody>\n</table>\n");
    } else {
        strbuf_printf(&b, "\n%*s  %9s %9s %9.*f %9d\n", width, "accuracy", "", "", digits, acc, k.n);
        strbuf_printf(&b, "%*s  %9.*f %9.*f %9.*f %9d\n", width, "macro avg", digits, macro[0], digits, macro[1], digits,
                  macro[2], k.n);
        strbuf_printf(&b, "%*s  %9.*f %9.*f %9.*f %9d\n", width, "weighted avg", digits, weighted[0], digits, weighted[1],
                  digits, weighted[2], k.n);
    }
    free(label);
    counts_free(&k);
    if (!b.s)
        cairn_error(func, "out of memory for the report");
    return b.s;
}

char *classification_report_text(mat y_true, mat y_pred, const char *const *names, int digits)
{
    return report(y_true, y_pred, names, digits, 0);
}

char *classification_report_html(mat y_true, mat y_pred, const char *const *names, int digits)
{
    return report(y_true, y_pred, names, digits, 1);
}

void classification_report(mat y_true, mat y_pred, const char *const *names)
{
    char *text = classification_report_text(y_true, y_pred, names, 2);
    char *html = text ? classification_report_html(y_true, y_pred, names, 2) : NULL;
    if (text && html) {
        display_part parts[2] = {{"text/plain", text, strlen(text)}, {"text/html", html, strlen(html)}};
        display_bundle(parts, 2, NULL);
    }
    free(text);
    free(html);
}
