/* cell.h — the C cell model: from a cell's text to one translation unit.
 *
 * A cell is split into top-level items (cell_split.h). Includes, macros, types and
 * extern declarations of everything defined by earlier cells form the session prelude;
 * the cell becomes prelude + its own definitions + a generated `void cairn_cell_N(void)`
 * that runs its statements (and top-level initializers) in order, and shows a trailing
 * expression through cairn_show_value (runtime/include/cairn/show.h).
 * `#line` directives map diagnostics back to the cell's own lines. Earlier cells'
 * variables are reached through unit-local pointers (`(*cairn_ref_x)`), because tcc
 * 0.9.27 miscompiles floating-point operands that are symbols bound with
 * tcc_add_symbol (see kernel/cell/README.md).
 *
 * The session lives in executor memory, so fork() snapshots it: a cell process commits
 * into its copy only after the cell compiled and ran, and a crash leaves the parent's
 * copy untouched. */
#ifndef CAIRN_CELL_H
#define CAIRN_CELL_H

#include <stddef.h>

enum cell_symbol_kind { SYMBOL_VARIABLE, SYMBOL_FUNCTION, SYMBOL_TYPE, SYMBOL_MACRO };

typedef struct cell_symbol {
    char *name;        /* "A", "f", "N"; struct/union/enum tags as "struct P" */
    int kind;          /* enum cell_symbol_kind */
    char *declaration; /* what later cells see: "extern mat A;", "int f(int x);", a struct definition, "#define N 3" */
    char *type;        /* variables: the declared type text ("mat", "int [3]", "P *"); functions: the
                        * signature ("int f(int x)"); typedefs: the aliased type; macros: NULL */
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
    cell_symbol *defined;/* symbols this cell defines (address unset until relocation); until
                          * cell_unit_drop_undefined, those of every conditional group and,
                          * last, one marker variable per group (cairn_branch_K) */
    size_t ndefined;
    char *error;         /* non-NULL when the cell could not be split: "line L, column C: message\n  <the line>\n  ^" */
    int error_line;
    int error_column;
    char *notes;         /* NULL, or lines the executor prints before running: "note: x was int, now double\n" */
    char **uses;         /* names of earlier cells' variables/functions this unit declares extern
                          * (binding just these is enough; binding every session symbol that
                          * this unit does not define itself also works) */
    size_t nuses;
    void *pending;       /* private: what cell_session_commit adds to the session */
} cell_unit;

/* Called (when set) before the cell module runs tcc itself (the preprocessor over headers
 * a cell includes): the executor finishes a compiler state waiting in the process. */
extern void (*cell_before_tcc)(void);

/* Translate `code` (the cell text, magics already removed) as cell number `number`.
 * Returns 0, or -1 with out->error set (out must be freed with cell_unit_free either way).
 * The source's #line directives name the file "cell", so tcc reports "cell:L: error: ...";
 * the entry function is `void cairn_cell_<number>(void)`. Symbols listed in out->defined
 * are defined by this unit: never tcc_add_symbol an older address for those names. */
int cell_translate(const cell_session *s, const char *code, int number, cell_unit *out);

/* After the unit compiled (defined[i].address set), before it runs: name the types of
 * its top-level `auto z = expr;` variables (each unit defines a probe
 * `cairn_auto_type_z` pointing at the name), so later cells see `extern double z;`.
 * Adds type-change notes to u->notes. Returns 0, or -1 with u->error set ("line L,
 * column C: ...") when no type name fits: then do not run the cell. Runs once (later
 * calls return what the first did); cell_unit_drop_undefined calls it if needed. */
int cell_unit_infer_types(const cell_session *s, cell_unit *u);

/* After the unit compiled (defined[i].address set for variables and functions): drop
 * what the cell defines inside conditional groups tcc skipped (`#if 0`, the `#else` of a
 * true `#if`, ...) — definitions, macros, types, declarations, includes — so they do not
 * enter the session and do not replace older definitions. The unit's defined list ends
 * with markers (cairn_branch_K) until this is called. Call before cell_session_commit. */
void cell_unit_drop_undefined(cell_unit *u);

/* Make a unit's definitions visible to later cells (after it compiled and ran; the
 * executor has set defined[i].address for variables and functions first). Commit a
 * unit once: it hands its pending prelude entries over to the session. */
void cell_session_commit(cell_session *s, const cell_unit *u);

/* Free a session and everything in it. */
void cell_session_free(cell_session *s);

/* Members of a struct/union type for completion: type is a variable's type text as in
 * cell_symbol.type ("mat", "struct point *", "P") — pointers and qualifiers are
 * stripped, typedefs followed. Returns the member names (count in *count) or NULL.
 * If types is not NULL it receives each member's type text ("double *"). */
const char *const *cell_session_members(const cell_session *s, const char *type, size_t *count,
                                        const char *const **types);

/* The type of a simple postfix expression over the session's variables, for completion
 * after `.`/`->` and for inspect: "p" -> "P", "pts[2].inner" -> "struct inner",
 * "node->next" -> "struct node *", "A.data" -> "double *". Returns malloc'ed text, or
 * NULL when the expression is not of that form or a name is unknown. */
char *cell_session_expression_type(const cell_session *s, const char *expr);

/* For a value of type text `type` ("enum color", a typedef of an enum): sets *is_enum
 * when the type is an enum of the session whose enumerator values are integer literals
 * (or counted from them), and returns the malloc'ed name of the first enumerator equal
 * to value, or NULL (none: show the number). *is_enum stays 0 for other types. */
char *cell_session_enum_name(const cell_session *s, const char *type, long long value, int *is_enum);

/* Whether name is a type name (builtin, standard, runtime or earlier-cell typedef). */
int cell_session_is_type(const cell_session *s, const char *name);

/* A tcc diagnostic ("cell:L: error: msg") made readable for the user: "line L, column C:
 * msg\n  <the line>\n  ^" with the column of the quoted name when the message quotes one
 * ('x' undeclared) and the line corrected when tcc read ahead past a line end. Returns a
 * malloc'ed string, or NULL when msg does not point into the cell. */
char *cell_explain_diagnostic(const char *code, const char *msg, int *line, int *column);

/* The number of lines of code (a final newline does not start another). */
int cell_line_count(const char *code);
/* Line `line` (1-based) of code: its start and length, or NULL when there is no such line. */
const char *cell_line_span(const char *code, int line, size_t *len);

/* What sits before the cursor, for complete/inspect. cursor is a BYTE offset into code. */
typedef struct cell_cursor_token {
    size_t start, end;    /* the identifier under/before the cursor: code[start..end) (may be empty: start == end == cursor) */
    char kind;            /* 0 plain name, '.' after ".", '>' after "->", '%' a magic name, '#' a preprocessor word, '"' inside an #include path */
    size_t base_start, base_end; /* '.' and '>': the expression before the operator ("pts[2]", "p"), else empty */
    size_t call_start, call_end; /* the function of the innermost call the cursor is in: "mat_zeros" in
                                  * "mat_zeros(3, |", for inspect (Shift-Tab); empty when none */
} cell_cursor_token;

/* Fill *out for cursor; returns 0, or -1 when the cursor is inside a comment or string
 * literal (nothing to complete). */
int cell_token_at(const char *code, size_t cursor, cell_cursor_token *out);

/* Free what cell_translate allocated. */
void cell_unit_free(cell_unit *u);

/* is_complete for the protocol: returns "complete", "incomplete" or "invalid"; for
 * incomplete code *indent receives the suggested indent (static string). */
const char *cell_is_complete(const char *code, const char **indent);

#endif
