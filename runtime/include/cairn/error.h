/* cairn/error.h — how runtime functions fail.
 *
 * No runtime function aborts or exits. A function that cannot do its job calls
 * cairn_error() with its own name and a message naming the shapes, values or paths
 * involved, then returns an empty result (mat_is_empty() is true) or -1.
 * Inside the kernel the installed handler ends the running cell with that message
 * (the session rolls back to before the cell); in plain programs and unit tests the
 * default handler only records the message, so callers can check cairn_last_error(). */
#ifndef CAIRN_ERROR_H
#define CAIRN_ERROR_H

/** Report a failure of function `func`: formats the message, records it and calls the handler. */
void cairn_error(const char *func, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/** The last error message recorded ("" when none since cairn_clear_error()). */
const char *cairn_last_error(void);

/** Forget the last error message. */
void cairn_clear_error(void);

/** Number of errors reported since the process started (tests use it to see that one happened). */
long cairn_error_count(void);

/** Signature of an error handler: receives the full message "func: text". */
typedef void (*cairn_error_handler)(const char *message);

/** Install the handler called on every error (NULL restores the recording-only default). */
void cairn_set_error_handler(cairn_error_handler handler);

#endif
