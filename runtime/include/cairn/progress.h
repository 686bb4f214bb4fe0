/* cairn/progress.h — progress bars and live text lines for long loops.
 *
 * A progress bar is one output in the notebook that is redrawn in place (a display id
 * and update_display_data), at most ten times a second however often it is updated,
 * with count, percent, rate, elapsed time and time left, as text/plain and text/html.
 * Under nbconvert the final state is what the saved notebook keeps.
 *
 *     progress *p = progress_start(epochs, "training");
 *     for (int e = 0; e < epochs; e++) {
 *         ... one epoch ...
 *         progress_status(p, "loss %.4f", loss);
 *         if (progress_update(p, e + 1)) break;   // interrupted: stop, keep what is done
 *     }
 *     progress_finish(p);
 *
 * Runtime loops (training, k-means, ...) use the same bar, so an interrupt stops them
 * cleanly at the next update. */
#ifndef CAIRN_PROGRESS_H
#define CAIRN_PROGRESS_H

typedef struct progress progress;

/** Start and show a progress bar for `total` steps (0 when unknown) named `label`; NULL label is fine. */
progress *progress_start(long total, const char *label);

/** Record that `done` steps are finished (redraws at most 10 times a second); returns 1 once interrupted, else 0. */
int progress_update(progress *p, long done);

/** Short status text shown after the bar, printf-style (e.g. "loss %.4f"); shown with the next redraw. */
void progress_status(progress *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/** Nonzero when the user interrupted the cell: the loop should stop now, keeping what it did. */
int progress_interrupted(const progress *p);

/** Draw the final state (steps, total time, rate, or where it was interrupted) and release the bar (NULL ok). */
void progress_finish(progress *p);

/** Show a line of text that progress_line_set can replace in place later (a live status line). */
progress *progress_line(const char *text);

/** Replace the text of a live line (printf-style); redrawn at once. */
void progress_line_set(progress *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/** The text/plain form of the bar as last drawn (for logs and tests); valid until the next update. */
const char *progress_text(const progress *p);

#endif
