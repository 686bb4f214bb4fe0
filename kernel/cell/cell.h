/* cell.h — the C cell model: from a cell's text to one translation unit.
 *
 * A cell is split into top-level items (cell_split.h). Includes, macros, types and
 * extern declarations of everything defined by earlier cells form the session prelude;
 * the cell becomes prelude + its own definitions + a generated `void cairn_cell_N(void)`
 * that runs its statements (and top-level initializers) in order, and shows a trailing
 * expression through cairn_show_value (runtime/include/cairn/show.h).
 * `#line` directives map diagnostics back to the cell's own lines.
 *
 * The session lives in executor memory, so fork() snapshots it: a cell process commits
 * into its copy only after the cell compiled and ran, and a crash leaves the parent's
 * copy untouched. */
#ifndef CAIRN_CELL_H
#define CAIRN_CELL_H

#include <stddef.h>

enum cell_symbol_kind { SYMBOL_VARIABLE, SYMBOL_FUNCTION, SYMBOL_TYPE, SYMBOL_MACRO };

typedef struct cell_symbol {
    char *name;
    int kind;          /* enum cell_symbol_kind */
    char *declaration; /* what later cells see: "extern mat A;", "int f(int x);", a struct definition, "#define N 3" */
    char *type;        /* variables: the declared type text ("mat", "int[3]"); functions: the signature */
    void *address;     /* variables and functions: where the object lives (set by the executor) */
    int cell;          /* execution count of the defining cell */
} cell_symbol;

typedef struct cell_session cell_session;

/* A new empty session (prelude = the runtime header). */
cell_session *cell_session_new(void);

/* Names visible to later cells, newest definition of each name only. */
const cell_symbol *cell_session_symbols(const cell_session *s, size_t *count);

/* Find a visible symbol by name, or NULL. */
const cell_symbol *cell_session_find(const cell_session *s, const char *name);

typedef struct cell_unit {
    char *source;        /* the whole translation unit for tcc */
    char entry[64];      /* name of the generated function that runs the cell */
    int has_result;      /* the cell ends with an expression shown as execute_result */
    cell_symbol *defined;/* symbols this cell defines (address unset until relocation) */
    size_t ndefined;
    char *error;         /* non-NULL when the cell could not be split: "line L, column C: message\n  <the line>" */
    int error_line;
    int error_column;
} cell_unit;

/* Translate `code` (the cell text, magics already removed) as cell number `number`. */
int cell_translate(const cell_session *s, const char *code, int number, cell_unit *out);

/* Make a unit's definitions visible to later cells (after it compiled and ran). */
void cell_session_commit(cell_session *s, const cell_unit *u);

/* Free what cell_translate allocated. */
void cell_unit_free(cell_unit *u);

/* is_complete for the protocol: returns "complete", "incomplete" or "invalid"; for
 * incomplete code *indent receives the suggested indent (static string). */
const char *cell_is_complete(const char *code, const char **indent);

#endif
