/* progress.c — progress bars and live text lines (see cairn/progress.h).
 *
 * Each bar owns a display id: the first draw is display_data, every later one is
 * update_display_data with the same id, so the notebook shows one line that changes.
 * Redraws are throttled to one per 100 ms because each is a message through the
 * front to the browser; the final draw in progress_finish is never skipped, so the
 * notebook keeps the true end state. The rate is an average since the start (steps of
 * long loops are usually alike), and the time left is the remaining steps at that rate. */
#include "cairn/progress.h"
#include "cairn/display.h"
#include "cairn/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define REDRAW_SECONDS 0.1
#define BAR_CELLS 25

struct progress {
    char id[64];
    char label[96];
    char status[160];
    char plain[512];
    char html[1536];
    long total, done;
    double start, last_draw;
    int is_line;
    int interrupted;
    int shown;
};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void format_time(char *buf, size_t cap, double s)
{
    if (s < 0 || s != s || s > 1e8) {
        snprintf(buf, cap, "?");
        return;
    }
    long t = (long)(s + 0.5);
    if (t >= 3600)
        snprintf(buf, cap, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else
        snprintf(buf, cap, "%02ld:%02ld", t / 60, t % 60);
}

/* Appends s to out with HTML's special characters escaped. */
static size_t html_escape(char *out, size_t cap, const char *s)
{
    size_t n = 0;
    for (; *s && n + 7 < cap; s++) {
        const char *rep = *s == '<' ? "&lt;" : *s == '>' ? "&gt;" : *s == '&' ? "&amp;" : *s == '"' ? "&quot;" : NULL;
        if (rep) {
            size_t l = strlen(rep);
            memcpy(out + n, rep, l);
            n += l;
        } else {
            out[n++] = *s;
        }
    }
    out[n] = '\0';
    return n;
}

static void compose(progress *p, int final)
{
    if (p->is_line) {
        snprintf(p->plain, sizeof p->plain, "%s", p->status);
        char esc[600];
        html_escape(esc, sizeof esc, p->status);
        snprintf(p->html, sizeof p->html, "<pre style=\"margin:0\">%s</pre>", esc);
        return;
    }
    double elapsed = now() - p->start;
    double rate = elapsed > 0 ? p->done / elapsed : 0;
    char el[32], left[32], rate_text[48];
    format_time(el, sizeof el, elapsed);
    if (rate >= 1 || rate == 0)
        snprintf(rate_text, sizeof rate_text, "%.1f it/s", rate);
    else
        snprintf(rate_text, sizeof rate_text, "%.2f s/it", 1 / rate);
    const char *state = p->interrupted ? " interrupted" : "";
    char label[100];
    snprintf(label, sizeof label, "%s%s", p->label, p->label[0] ? " " : "");
    if (p->total > 0) {
        double frac = (double)p->done / p->total;
        if (frac > 1)
            frac = 1;
        if (frac < 0)
            frac = 0;
        /* Eighth blocks make the bar move smoothly in a monospace font. */
        static const char *part[8] = {"", "\xe2\x96\x8f", "\xe2\x96\x8e", "\xe2\x96\x8d",
                                      "\xe2\x96\x8c", "\xe2\x96\x8b", "\xe2\x96\x8a", "\xe2\x96\x89"};
        char bar[BAR_CELLS * 3 + 8] = "";
        int eighths = (int)(frac * BAR_CELLS * 8), full = eighths / 8, cells = 0;
        size_t pos = 0;
        for (int i = 0; i < full; i++, cells++) {
            memcpy(bar + pos, "\xe2\x96\x88", 3);
            pos += 3;
        }
        if (full < BAR_CELLS && eighths % 8) {
            size_t l = strlen(part[eighths % 8]);
            memcpy(bar + pos, part[eighths % 8], l);
            pos += l;
            cells++;
        }
        for (; cells < BAR_CELLS; cells++)
            bar[pos++] = ' ';
        bar[pos] = '\0';
        if (final && !p->interrupted)
            snprintf(left, sizeof left, "%s", el);
        else
            format_time(left, sizeof left, rate > 0 ? (p->total - p->done) / rate : -1);
        snprintf(p->plain, sizeof p->plain, "%s%3.0f%% |%s| %ld/%ld [%s<%s, %s]%s%s%s", label, frac * 100, bar,
                 p->done, p->total, el, final && !p->interrupted ? "00:00" : left, rate_text, state,
                 p->status[0] ? " " : "", p->status);
        char esc_label[200], esc_status[400];
        html_escape(esc_label, sizeof esc_label, p->label);
        html_escape(esc_status, sizeof esc_status, p->status);
        snprintf(p->html, sizeof p->html,
                 "<div style=\"font-family:monospace;white-space:pre\">%s%s<progress value=\"%ld\" max=\"%ld\" "
                 "style=\"width:20em;vertical-align:middle\"></progress> %3.0f%% %ld/%ld [%s&lt;%s, %s]%s%s%s</div>",
                 esc_label, p->label[0] ? " " : "", p->done, p->total, frac * 100, p->done, p->total, el,
                 final && !p->interrupted ? "00:00" : left, rate_text, state, p->status[0] ? " " : "", esc_status);
    } else {
        snprintf(p->plain, sizeof p->plain, "%s%ld it [%s, %s]%s%s%s", label, p->done, el, rate_text, state,
                 p->status[0] ? " " : "", p->status);
        char esc[sizeof p->plain * 2];
        html_escape(esc, sizeof esc, p->plain);
        snprintf(p->html, sizeof p->html, "<div style=\"font-family:monospace;white-space:pre\">%s</div>", esc);
    }
}

static void draw(progress *p, int final)
{
    compose(p, final);
    display_part parts[2] = {{"text/plain", p->plain, strlen(p->plain)}, {"text/html", p->html, strlen(p->html)}};
    if (!p->shown) {
        snprintf(p->id, sizeof p->id, "%s", display_new_id());
        display_bundle(parts, 2, p->id);
        p->shown = 1;
    } else {
        display_update_bundle(parts, 2, p->id);
    }
    p->last_draw = now();
}

progress *progress_start(long total, const char *label)
{
    progress *p = calloc(1, sizeof *p);
    if (!p) {
        cairn_error("progress_start", "out of memory");
        return NULL;
    }
    p->total = total > 0 ? total : 0;
    snprintf(p->label, sizeof p->label, "%s", label ? label : "");
    p->start = now();
    draw(p, 0);
    return p;
}

int progress_update(progress *p, long done)
{
    if (!p)
        return cairn_interrupted() ? 1 : 0;
    p->done = done;
    if (cairn_interrupted()) {
        if (!p->interrupted) {
            p->interrupted = 1;
            draw(p, 0);
        }
        return 1;
    }
    if (now() - p->last_draw >= REDRAW_SECONDS)
        draw(p, 0);
    return 0;
}

void progress_status(progress *p, const char *fmt, ...)
{
    if (!p || !fmt)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->status, sizeof p->status, fmt, ap);
    va_end(ap);
}

int progress_interrupted(const progress *p)
{
    return (p && p->interrupted) || cairn_interrupted();
}

void progress_finish(progress *p)
{
    if (!p)
        return;
    if (cairn_interrupted())
        p->interrupted = 1;
    draw(p, 1);
    free(p);
}

progress *progress_line(const char *text)
{
    progress *p = calloc(1, sizeof *p);
    if (!p) {
        cairn_error("progress_line", "out of memory");
        return NULL;
    }
    p->is_line = 1;
    snprintf(p->status, sizeof p->status, "%s", text ? text : "");
    p->start = now();
    draw(p, 0);
    return p;
}

void progress_line_set(progress *p, const char *fmt, ...)
{
    if (!p || !fmt)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->status, sizeof p->status, fmt, ap);
    va_end(ap);
    draw(p, 0);
}

const char *progress_text(const progress *p) { return p ? p->plain : ""; }
