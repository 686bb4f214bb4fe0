/* cairn/show.h — how the value of a cell's trailing expression is shown.
 *
 * A cell that ends with an expression without `;` (`x`, `A`, `fig`, `"abc"`, `n * 2`)
 * shows its value as the cell's execute_result. The cell translator wraps the expression
 * in cairn_show_value(x), a _Generic dispatch on its type: numbers, characters, booleans
 * and strings the way a C programmer writes them (42, 3.14, 'a' (97), true, "abc"),
 * pointers as addresses, a `mat` as a matrix, a `figure *` as its picture, and anything
 * else as its type and size. The translator shows a lone enum variable through
 * cairn_show_enum instead, with its enumerators (GREEN (1)).
 *
 * Every target takes the address and size of a temporary holding the value, so the
 * default branch compiles for any struct. The temporary is declared with the type of
 * `1 ? (x) : (x)`, which turns arrays (a string literal, `int a[3]`) into pointers; that
 * also promotes char, short and _Bool to int, so the small-type targets read the value
 * by its size. The controlling expression of _Generic keeps the original type. */
#ifndef CAIRN_SHOW_H
#define CAIRN_SHOW_H

#include <stddef.h>

#include "cairn/mat.h"
#include "cairn/dmat.h"

struct figure;
struct nn_model;

/** Show the value of expression x as the cell's result (what a trailing expression becomes). */
#define cairn_show_value(x) cairn_show_value_typed(x, (const char *)0)

/** Like cairn_show_value, naming the type of x (text) for values the dispatch does not know. */
#define cairn_show_value_typed(x, type_text)                                                        \
    do {                                                                                            \
        __typeof__(1 ? (x) : (x)) cairn_show_tmp_ = (x);                                            \
        _Generic((x),                                                                               \
            _Bool: cairn_show_bool,                                                                 \
            char: cairn_show_char,                                                                  \
            signed char: cairn_show_int,                                                            \
            unsigned char: cairn_show_uint,                                                         \
            short: cairn_show_int,                                                                  \
            unsigned short: cairn_show_uint,                                                        \
            int: cairn_show_int,                                                                    \
            unsigned int: cairn_show_uint,                                                          \
            long: cairn_show_int,                                                                   \
            unsigned long: cairn_show_uint,                                                         \
            long long: cairn_show_int,                                                              \
            unsigned long long: cairn_show_uint,                                                    \
            float: cairn_show_float,                                                                \
            double: cairn_show_double,                                                              \
            long double: cairn_show_long_double,                                                    \
            char *: cairn_show_string,                                                              \
            const char *: cairn_show_string,                                                        \
            void *: cairn_show_pointer,                                                             \
            const void *: cairn_show_pointer,                                                       \
            double *: cairn_show_double_pointer,                                                    \
            const double *: cairn_show_double_pointer,                                              \
            float *: cairn_show_float_pointer,                                                      \
            int *: cairn_show_int_pointer,                                                          \
            const int *: cairn_show_int_pointer,                                                    \
            mat: cairn_show_mat,                                                                    \
            mat *: cairn_show_mat_pointer,                                                          \
            dmat: cairn_show_dmat,                                                                  \
            struct figure *: cairn_show_figure,                                                     \
            struct nn_model *: cairn_show_nn_model,                                                 \
            default: cairn_show_other)(&cairn_show_tmp_, sizeof cairn_show_tmp_, (type_text));      \
    } while (0)

/** Show a boolean stored in `size` bytes as true/false. */
void cairn_show_bool(const void *value, size_t size, const char *type);
/** Show a char as a C character literal and its code: 'a' (97). */
void cairn_show_char(const void *value, size_t size, const char *type);
/** Show a signed integer of `size` bytes in decimal. */
void cairn_show_int(const void *value, size_t size, const char *type);
/** Show an unsigned integer of `size` bytes in decimal. */
void cairn_show_uint(const void *value, size_t size, const char *type);
/** Show a float with the fewest digits that read back to the same float. */
void cairn_show_float(const void *value, size_t size, const char *type);
/** Show a double with the fewest digits that read back to the same double (3.14, 1e-300). */
void cairn_show_double(const void *value, size_t size, const char *type);
/** Show a long double. */
void cairn_show_long_double(const void *value, size_t size, const char *type);
/** Show a C string as a quoted, escaped string literal ("a\tb"), or NULL. */
void cairn_show_string(const void *value, size_t size, const char *type);
/** Show a pointer as (void *) 0x... or NULL. */
void cairn_show_pointer(const void *value, size_t size, const char *type);
/** Show a double pointer as its address (and the runtime block size when it is one). */
void cairn_show_double_pointer(const void *value, size_t size, const char *type);
/** Show a float pointer as its address. */
void cairn_show_float_pointer(const void *value, size_t size, const char *type);
/** Show an int pointer as its address. */
void cairn_show_int_pointer(const void *value, size_t size, const char *type);
/** Show a mat as the cell's result (text, HTML, LaTeX). */
void cairn_show_mat(const void *value, size_t size, const char *type);
/** Show the mat a pointer points to (or NULL). */
void cairn_show_mat_pointer(const void *value, size_t size, const char *type);
/** Show a figure as the cell's result (its picture). */
void cairn_show_figure(const void *value, size_t size, const char *type);
/** Show a network (`nn_model *`) as its summary: layers, output shapes, parameters (text and HTML). */
void cairn_show_nn_model(const void *value, size_t size, const char *type);
/** Show an enum value by its enumerator, GREEN (1), or as 5 (enum color) when none has that value. */
void cairn_show_enum(long long value, const char *type, const char *const *names, const long long *values, int count);
/** Show a value of another type by its type name and size. */
void cairn_show_other(const void *value, size_t size, const char *type);

/** Formatter for values of types the runtime does not know: writes text to buf and returns 1, or returns 0. */
typedef int (*cairn_show_formatter)(const void *value, size_t size, const char *type, char *buf, size_t bufsize);

/** Install the formatter cairn_show_other tries first (the kernel's knows the session's structs); NULL removes it. */
void cairn_show_set_formatter(cairn_show_formatter formatter);

/** Format a double the way cairn shows it (shortest round-trip digits) into buf; returns buf. */
char *cairn_format_double(double v, char *buf, size_t size);

#endif
