/* cell_split.h — a cell's text as a list of top-level items.
 *
 * The splitter reads the tokens of a cell (c_lexer.h) and cuts them where a C compiler
 * would see the end of an external declaration or of a statement: preprocessor lines,
 * type definitions, function definitions, declarations (split per declarator, with the
 * initializer's tokens), statements (if/for/while/do/switch/compound/labels/expression
 * statements), and a trailing expression without `;`. Whether `a * b;` declares `b`
 * depends on whether `a` names a type: the caller answers that through is_type, and the
 * splitter adds the typedef names it meets in the cell itself, in order. The text of an
 * `#if 0` group is passed over (it is often not C at all: notes, half-written code). */
#ifndef CAIRN_CELL_SPLIT_H
#define CAIRN_CELL_SPLIT_H

#include <stddef.h>

#include "c_lexer.h"

enum cell_item_kind {
    CELL_ITEM_PREPROC,     /* one preprocessor line (#include, #define, #undef, #pragma, ...) */
    CELL_ITEM_TYPE,        /* typedef, or a struct/union/enum definition with no declarator */
    CELL_ITEM_FUNCTION,    /* a function definition */
    CELL_ITEM_DECLARATION, /* variables and/or prototypes (may define a tagged type too) */
    CELL_ITEM_STATEMENT,   /* a statement that runs in the cell function */
    CELL_ITEM_EXPRESSION   /* the trailing expression without `;`: shown as the result */
};

#define CELL_NONE ((size_t)-1)

typedef struct cell_declarator {
    size_t first, last;           /* tokens of the declarator, without initializer: [first, last) */
    size_t name;                  /* token of the declared name, or CELL_NONE */
    size_t init_first, init_last; /* initializer tokens after `=`; empty when equal */
    int is_function;              /* declares a function: the name is followed by `(` */
    int is_array;                 /* the name is followed by `[` */
} cell_declarator;

typedef struct cell_item {
    int kind;                     /* enum cell_item_kind */
    size_t first, last;           /* tokens [first, last), the closing `;` included */
    int line, column;             /* position of the first token */
    int missing_semicolon;        /* a statement/declaration ended by the end of the cell */
    /* Declarations, type definitions and functions: */
    size_t spec_first, spec_last; /* declaration specifiers */
    size_t aggregate;             /* the struct/union/enum keyword in the specifiers, or CELL_NONE */
    size_t tag;                   /* its tag identifier, or CELL_NONE */
    size_t body_first, body_last; /* its `{...}` body, braces included; CELL_NONE when absent */
    int is_typedef, is_extern, is_static, is_const;
    size_t body;                  /* function definitions: the `{` of the body */
    cell_declarator *decls;
    size_t ndecls;
} cell_item;

typedef struct cell_split_result {
    c_token *tokens;              /* every token of the cell (comments skipped) */
    size_t ntokens;
    unsigned char *skipped;       /* NULL, or per token: 1 inside an `#if 0` group (up to its
                                   * #else, #elif or #endif), which the compiler never reads:
                                   * such text need not be C, and makes no item */
    cell_item *items;
    size_t nitems;
    char *error;                  /* "line L, column C: message\n  <line>\n  ^" or NULL */
    int error_line, error_column;
} cell_split_result;

/* Answers whether name[0..n) names a type (builtin, runtime or earlier-cell typedef). */
typedef int (*cell_is_type_fn)(void *ctx, const char *name, size_t n);

/* Split code into items. Returns 0, or -1 with out->error set (out must still be freed). */
int cell_split(const char *code, cell_is_type_fn is_type, void *ctx, cell_split_result *out);

void cell_split_free(cell_split_result *r);

/* "line L, column C: message\n  <that line of code>\n  <caret under column C>" (malloc'ed). */
char *cell_format_error(const char *code, int line, int column, const char *message);

/* True for the keywords that may start declaration specifiers (types, storage, qualifiers). */
int cell_is_specifier_keyword(const char *name, size_t n);

#endif
