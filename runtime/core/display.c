/* display.c — hands display bundles to the installed sink (the kernel's, or a test's).
 * Without a sink, text/plain is printed to stdout so plain programs still show something. */
#include "cairn/display.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static display_sink_fn current_sink;
static volatile sig_atomic_t interrupt_flag;
static unsigned long next_display_id;

void display_set_sink(display_sink_fn sink) { current_sink = sink; }

static void emit(int kind, const display_part *parts, int nparts, const char *display_id, int wait)
{
    if (current_sink) {
        current_sink(kind, parts, nparts, display_id, wait);
        return;
    }
    for (int i = 0; i < nparts; i++) {
        if (parts[i].mime && strcmp(parts[i].mime, "text/plain") == 0) {
            fwrite(parts[i].data, 1, parts[i].size, stdout);
            fputc('\n', stdout);
            return;
        }
    }
}

void display_bundle(const display_part *parts, int nparts, const char *display_id)
{
    emit(DISPLAY_DATA, parts, nparts, display_id, 0);
}

void display_update_bundle(const display_part *parts, int nparts, const char *display_id)
{
    emit(DISPLAY_UPDATE, parts, nparts, display_id, 0);
}

void display_result_bundle(const display_part *parts, int nparts)
{
    emit(DISPLAY_RESULT, parts, nparts, NULL, 0);
}

void display_clear_output(int wait) { emit(DISPLAY_CLEAR, NULL, 0, NULL, wait); }

void display_text(const char *text)
{
    display_part p = {"text/plain", text, strlen(text)};
    display_bundle(&p, 1, NULL);
}

void display_html(const char *html, const char *plain)
{
    display_part p[2] = {{"text/html", html, strlen(html)},
                         {"text/plain", plain ? plain : "", plain ? strlen(plain) : 0}};
    display_bundle(p, 2, NULL);
}

const char *display_new_id(void)
{
    static char id[64];
    /* The pid makes ids from different cell processes of one session distinct. */
    snprintf(id, sizeof id, "cairn-%d-%lu", getpid(), ++next_display_id);
    return id;
}

int cairn_interrupted(void) { return interrupt_flag != 0; }

void cairn_set_interrupted(int on) { interrupt_flag = on ? 1 : 0; }
