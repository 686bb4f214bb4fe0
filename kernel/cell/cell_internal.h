/* cell_internal.h — what the cell model's files share and nobody else sees.
 *
 * cell_session.c owns the session: the ordered prelude entries (includes, macros,
 * types, declarations of live variables and functions), the newest symbol per name,
 * the type names the splitter must know, and struct members for completion.
 * cell_translate.c reads it (const) to build one translation unit and leaves what the
 * cell adds in a cell_pending, which cell_session_commit applies after the cell ran.
 * Lookups go through hash maps so cell 500 costs what cell 1 costs. */
#ifndef CAIRN_CELL_INTERNAL_H
#define CAIRN_CELL_INTERNAL_H

#include <stddef.h>

#include "cell.h"
#include "cell_split.h"
#include "strmap.h"

/* ---- a growable text buffer ---- */
typedef struct strbuf {
    char *s;
    size_t len, cap;
    int oom;
} strbuf;

void sb_putn(strbuf *b, const char *s, size_t n);
void sb_puts(strbuf *b, const char *s);
void sb_printf(strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Take the text (never NULL unless out of memory); the buffer is left empty. */
char *sb_take(strbuf *b);


/* ---- prelude entries ---- */
enum prelude_kind {
    PRELUDE_INCLUDE, /* an #include line, deduplicated by its text */
    PRELUDE_MACRO,   /* #define NAME ... (key "#NAME") */
    PRELUDE_UNDEF,   /* #undef NAME of a name no cell defined (key "#NAME") */
    PRELUDE_TYPE,    /* struct/union/enum definition or typedef (keys: "struct P", "P", enumerators) */
    PRELUDE_DECL     /* extern declaration or prototype (key: the name); emitted only when the cell uses it */
};

typedef struct prelude_entry {
    int kind;
    char *text;   /* ends with '\n' */
    char **keys;
    size_t nkeys;
    int live;
    /* Lexed once when the entry is committed (cell_entry_index) so that a cell does not
     * re-lex the whole session: every identifier of text (directives included), and for
     * a macro the body identifiers that may name a session variable (not parameters,
     * not members after . or ->). */
    char **idents;
    size_t nidents;
    char **macro_names;
    size_t nmacro_names;
} prelude_entry;

typedef struct member_list {
    char *type;   /* "struct P" or a typedef name */
    char **names;
    char **types;
    size_t n;
    unsigned branch; /* pending only: the cell's conditional branch it came from (0: none) */
} member_list;

struct cell_session {
    prelude_entry *entries;
    size_t nentries, capentries, nlive;
    strmap entry_by_key;   /* key -> index of the live entry holding it */

    cell_symbol *symbols;  /* newest per name; removed ones are compacted away */
    size_t nsymbols, capsymbols;
    strmap symbol_by_name;

    strmap types;          /* typedef names */
    strmap void_functions; /* functions known to return void */
    strmap constants;      /* macro names and enumerators (constant initializers) */
    member_list *members;
    size_t nmembers, capmembers;
    strmap member_by_type;
    strmap header_names;   /* functions/objects the included headers declare (cell_headers.c) */
};

/* What a translated cell adds to the session (owned by cell_unit.pending).
 *
 * Branches: every group of a conditional directive in the cell (`#if`, `#ifdef`,
 * `#ifndef`, `#elif`, `#else`) is numbered 1, 2, ... in text order; what the cell
 * defines inside one carries the number of the innermost group around it (0: outside
 * any conditional). The unit defines a marker `char cairn_branch_K;` right after each
 * top-level conditional directive, so after compiling, a marker with an address means
 * tcc compiled that group; cell_unit_drop_undefined then drops whatever came from a
 * group tcc skipped, so it neither enters the session nor replaces an older definition. */
typedef struct pending_entry {
    int kind;
    char *text;
    char **keys;
    size_t nkeys;
    unsigned branch;
} pending_entry;

/* Names learned from a cell (typedef names, void functions, ...), each with its branch. */
typedef struct fact_list {
    char **names;
    unsigned *branch;
    size_t n;
} fact_list;

/* Append name (taken over; NULL is ignored) with its branch. */
void fact_push(fact_list *f, char *name, unsigned branch);

/* A top-level `auto z = expr;` of the cell: its type is named only after compiling, by
 * the string the probe `cairn_auto_type_z` (a _Generic over known types) points to. */
typedef struct auto_variable {
    char *name;
    size_t entry;     /* its PRELUDE_DECL pending entry (text set by cell_unit_infer_types) */
    int is_const;     /* `const auto`: the type text gets "const " */
    unsigned branch;  /* its conditional group (pending_entry): no type-change note inside one */
    int line, column; /* of the name, for the error when no type name fits */
    char *error;      /* that error, formatted with the cell's line (cell_format_error) */
} auto_variable;

/* An array variable whose declared size the type text does not spell in digits
 * (`double xs[N]`, `int m[2 * K][3]`): the probe `cairn_dims_xs`, sizeof the array and of
 * each subscript level, gives the numbers after compiling (cell_unit_infer_types), so
 * %whos, inspect and the shown value know its shape. */
typedef struct sized_array {
    char *name;
    unsigned branch; /* its conditional group: no type-change note inside one */
    int levels;      /* number of [] in its type */
} sized_array;

typedef struct cell_pending {
    auto_variable *autos;
    size_t nautos;
    sized_array *arrays;
    size_t narrays;
    int autos_inferred; /* cell_unit_infer_types ran */
    pending_entry *entries;
    size_t nentries, capentries;
    fact_list types, void_functions, constants, header_names;
    member_list *members;
    size_t nmembers;
    /* Set by cell_translate when the cell has conditionals: the unit's defined symbols
     * end with nbranches markers (cairn_branch_1 .. cairn_branch_N), and for each other
     * defined symbol its branch and how many pending entries existed when it was made
     * (an #undef entry after it removes a macro symbol made before it). */
    unsigned nbranches;
    unsigned *defined_branch;
    size_t *defined_seq;
    size_t ndefined_info;
} cell_pending;

void cell_pending_free(cell_pending *p);

/* Fill e->idents and e->macro_names from e->text (cell_translate.c); on out of
 * memory they stay empty and e->idents is NULL, and the translator lexes e->text. */
void cell_entry_index(prelude_entry *e);
/* Free what cell_entry_index allocated. */
void cell_entry_unindex(prelude_entry *e);

/* Type facts of split text (typedef names, void functions, macros and enumerators,
 * struct members) appended to p: for cells, included headers and the runtime headers.
 * Each fact gets item_branch[i] of the item it comes from, or branch when item_branch
 * is NULL. */
int cell_collect_facts(const cell_session *s, const char *code, const cell_split_result *r, const unsigned *item_branch,
                       unsigned branch, cell_pending *p);

/* Conditional directives followed through a text, for numbering its branches (see
 * pending_entry): feed every preprocessor line in order. */
typedef struct cond_walk {
    unsigned stack[128];
    size_t depth, overflow;
    unsigned next; /* branches numbered so far */
} cond_walk;
/* The branch the lines after the last fed one are in (0: none). */
unsigned cond_current(const cond_walk *w);
/* Feed a preprocessor line (text[0..n), starting with '#'); returns the branch it opens
 * (#if, #ifdef, #ifndef, #elif, #else), else 0. */
unsigned cond_feed(cond_walk *w, const char *text, size_t n);

/* Names of the functions and objects declared at file scope by the headers that
 * include_lines ("#include <time.h>\n") bring in, added to *out. 0, or -1 when tcc
 * could not preprocess them. */
int cell_header_names(const cell_session *s, const char *include_lines, strmap *out);

/* Session helpers the translator uses. */
int session_has_type(const cell_session *s, const char *name, size_t n);
int session_is_void_function(const cell_session *s, const char *name, size_t n);
int session_is_constant(const cell_session *s, const char *name, size_t n);

/* ---- enum types (shown by enumerator: GREEN (1)) ---- */
typedef struct enum_item {
    const char *name, *init; /* spans in the definition text; init is NULL without `= ...` */
    size_t nlen, ilen;
} enum_item;
/* The definition text ("enum color { RED, GREEN };\n", "typedef enum { A, B } ab;\n") of the
 * enum a type text names ("enum color", "const color_t", a typedef of a tagged enum is
 * followed to the tag), asking lookup for the type entry text of a key; NULL when the
 * type is not an enum with a body (pointers, arrays, other types). */
const char *enum_definition(const char *type, const char *(*lookup)(void *ctx, const char *key), void *ctx);
/* The enumerators of the first enum body in text, comments skipped: at most max into
 * items; returns how many there are. */
size_t enum_items(const char *text, enum_item *items, size_t max);

/* Token text helpers shared by the translator and the session. */
/* Tokens [first, last) as text: one space where the source had any whitespace. Tokens
 * listed in skip (may be NULL, nskip entries, token indices) are left out. */
void sb_tokens(strbuf *b, const char *code, const c_token *t, size_t first, size_t last);
char *tokens_text(const char *code, const c_token *t, size_t first, size_t last);

/* Record the members of the struct/union body tokens [body_first+1, body_last-1) of a
 * split cell under type name `type` into *list (appends). */
void members_from_body(const cell_session *s, const char *code, const c_token *t, size_t body_first,
                       size_t body_last, member_list *list);

#endif
