/* cell_headers.c — which names the headers of a unit already declare.
 *
 * `double gamma = 0.9;`, `double y1 = 2;` or `int index;` are ordinary variable names
 * in a notebook, but the C library headers that cairn.h includes declare functions of
 * those names (gamma, y1 from math.h, index from string.h), and a cell's global of
 * the same name would be an "incompatible redefinition". The translator hides such a
 * declaration: `#define gamma cairn_hidden_gamma` around the #include, so the header
 * declares a function nobody uses and the cell's `gamma` is the only one in the unit
 * (and keeps its own symbol name, which the executor binds in later cells).
 *
 * To know the names, the headers are run through tcc's own preprocessor (so glibc's
 * macro-generated declarations such as math.h's __MATHCALL come out as plain C) and
 * the result goes through the cell splitter; every function or object declared at file
 * scope is recorded. This runs once per session for cairn.h and once for each new
 * system header a cell includes. */
#include "cell_internal.h"

#include <libtcc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef CAIRN_TCC_LIB_DIR
#define CAIRN_TCC_LIB_DIR "/usr/lib/x86_64-linux-gnu/tcc"
#endif
#ifndef CAIRN_RUNTIME_INCLUDE_DIR
#define CAIRN_RUNTIME_INCLUDE_DIR "runtime/include"
#endif

void (*cell_before_tcc)(void);

static void ignore_diagnostic(void *opaque, const char *msg)
{
    (void)opaque;
    (void)msg;
}

/* tcc -E of source into a malloc'ed string, or NULL. libtcc writes preprocessed text to
 * stdout only, so fd 1 points at a temporary file meanwhile (stdio flushed around it). */
static char *preprocess(const char *source)
{
    char path[] = "/tmp/cairn-cell-pp-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        return NULL;
    unlink(path);
    if (cell_before_tcc)
        cell_before_tcc();
    TCCState *t = tcc_new();
    if (!t) {
        close(fd);
        return NULL;
    }
    tcc_set_lib_path(t, CAIRN_TCC_LIB_DIR);
    tcc_add_include_path(t, CAIRN_RUNTIME_INCLUDE_DIR);
    tcc_set_error_func(t, NULL, ignore_diagnostic);
    tcc_set_output_type(t, TCC_OUTPUT_PREPROCESS);
    fflush(stdout);
    int saved = dup(1);
    int rc = -1;
    if (saved >= 0 && dup2(fd, 1) >= 0) {
        rc = tcc_compile_string(t, source);
        fflush(stdout);
        dup2(saved, 1);
    }
    if (saved >= 0)
        close(saved);
    tcc_delete(t);
    char *text = NULL;
    if (rc == 0) {
        off_t size = lseek(fd, 0, SEEK_END);
        if (size > 0 && size < (64 << 20) && (text = malloc((size_t)size + 1))) {
            ssize_t got = pread(fd, text, (size_t)size, 0);
            if (got != size) {
                free(text);
                text = NULL;
            } else {
                text[size] = 0;
            }
        }
    }
    close(fd);
    return text;
}

static int names_type(void *ctx, const char *name, size_t n) { return session_has_type(ctx, name, n); }

int cell_header_names(const cell_session *s, const char *include_lines, strmap *out)
{
    char *text = preprocess(include_lines);
    if (!text)
        return -1;
    cell_split_result r;
    int rc = cell_split(text, names_type, (void *)s, &r);
    if (rc == 0) {
        for (size_t i = 0; i < r.nitems; i++) {
            const cell_item *it = &r.items[i];
            if ((it->kind != CELL_ITEM_DECLARATION && it->kind != CELL_ITEM_FUNCTION) || it->is_typedef)
                continue;
            for (size_t d = 0; d < it->ndecls; d++)
                if (it->decls[d].name != CELL_NONE) {
                    const c_token *t = &r.tokens[it->decls[d].name];
                    strmap_put(out, text + t->start, t->end - t->start, 1);
                }
        }
    }
    cell_split_free(&r);
    free(text);
    return rc;
}
