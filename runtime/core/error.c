/* error.c — the runtime's one way to fail: record a message naming the function and
 * hand it to the installed handler. Never aborts; see cairn/error.h for the contract. */
#include "cairn/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static char last_error[2048];
static long error_count;
static cairn_error_handler current_handler;

void cairn_error(const char *func, const char *fmt, ...)
{
    int n = snprintf(last_error, sizeof last_error, "%s: ", func ? func : "cairn");
    if (n < 0 || (size_t)n >= sizeof last_error)
        n = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error + n, sizeof last_error - (size_t)n, fmt, ap);
    va_end(ap);
    error_count++;
    if (current_handler)
        current_handler(last_error);
}

const char *cairn_last_error(void) { return last_error; }

void cairn_clear_error(void) { last_error[0] = '\0'; }

long cairn_error_count(void) { return error_count; }

void cairn_set_error_handler(cairn_error_handler handler) { current_handler = handler; }
