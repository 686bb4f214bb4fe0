/* cairn/display.h — rich output from runtime code to the notebook.
 *
 * The runtime does not know about ZeroMQ or Jupyter messages. It builds a bundle of
 * representations (mime type + bytes) and hands it to a sink. Inside the kernel the
 * cell process installs a sink that frames the bundle to the front, which turns it into
 * display_data / update_display_data / execute_result / clear_output. Binary mime types
 * (image/png) travel as raw bytes and are base64-encoded once, in the front.
 * Without a sink (plain programs, unit tests) text/plain goes to stdout. */
#ifndef CAIRN_DISPLAY_H
#define CAIRN_DISPLAY_H

#include <stddef.h>

typedef struct display_part {
    const char *mime; /* "text/plain", "text/html", "image/png", "image/svg+xml", ... */
    const void *data; /* bytes of this representation (text is UTF-8, not NUL-terminated necessarily) */
    size_t size;      /* number of bytes in data */
} display_part;

enum display_kind {
    DISPLAY_DATA = 0,   /* display_data */
    DISPLAY_UPDATE = 1, /* update_display_data (needs a display_id) */
    DISPLAY_RESULT = 2, /* execute_result of the cell's trailing expression */
    DISPLAY_CLEAR = 3   /* clear_output; parts unused, `wait` says whether to wait for new output */
};

/** Receiver of every bundle (kernel side or test side). */
typedef void (*display_sink_fn)(int kind, const display_part *parts, int nparts,
                                const char *display_id, int wait);

/** Install the sink that receives every display bundle (NULL restores the stdout default). */
void display_set_sink(display_sink_fn sink);

/** Show a bundle as display_data; display_id (may be NULL) lets later updates replace it. */
void display_bundle(const display_part *parts, int nparts, const char *display_id);

/** Replace the output shown earlier under display_id with a new bundle (update_display_data). */
void display_update_bundle(const display_part *parts, int nparts, const char *display_id);

/** Send a bundle as the cell's execute_result (the value of a trailing expression). */
void display_result_bundle(const display_part *parts, int nparts);

/** Clear the cell's output; wait != 0 clears only when the next output arrives (no flicker). */
void display_clear_output(int wait);

/** Show plain text as display_data (a convenience over display_bundle). */
void display_text(const char *text);

/** Show an HTML fragment (with a plain-text fallback) as display_data. */
void display_html(const char *html, const char *plain);

/** A fresh display id, unique within the session, for live updates (static storage, copy it). */
const char *display_new_id(void);

/** Nonzero once the user asked to interrupt: long runtime loops stop cleanly when they see it. */
int cairn_interrupted(void);

/** Set or clear the interrupt flag (the kernel's SIGINT handler sets it). */
void cairn_set_interrupted(int on);

#endif
