/* c_lexer.h — a C tokenizer for cell text.
 *
 * The cell model needs to see a cell the way a C compiler does before it can split it
 * into top-level items: a `;` or `{` inside a string, a comment or a character literal
 * is not structure. This lexer is small and forgiving: it never fails, it marks what it
 * could not finish (an open comment or string) so is_complete can say "incomplete",
 * and it keeps positions (byte offset, 1-based line and column, columns counted in
 * UTF-8 characters) so diagnostics can point into the cell. Preprocessor lines are one
 * token each (with their backslash continuations), because the cell model moves them
 * as a whole. */
#ifndef CAIRN_C_LEXER_H
#define CAIRN_C_LEXER_H

#include <stddef.h>

enum c_token_kind {
    C_TOKEN_EOF = 0,
    C_TOKEN_IDENTIFIER,
    C_TOKEN_KEYWORD,
    C_TOKEN_NUMBER,
    C_TOKEN_STRING,  /* "..." with optional u8/u/U/L prefix */
    C_TOKEN_CHAR,    /* '...' with optional u/U/L prefix */
    C_TOKEN_PUNCT,   /* operators and separators, longest match */
    C_TOKEN_PREPROC, /* a whole preprocessor line, continuations included */
    C_TOKEN_COMMENT, /* only returned when the lexer keeps comments */
    C_TOKEN_OTHER    /* a byte that starts no C token (`@`, `$`, stray `\`) */
};

/* Set on a token that ends before it should: an open comment, string or character
 * literal, or a preprocessor line whose last character is a continuation backslash. */
#define C_TOKEN_UNTERMINATED 1u
/* The token is the first one on its line (only whitespace or comments before it). */
#define C_TOKEN_LINE_START 2u

typedef struct c_token {
    int kind;        /* enum c_token_kind */
    unsigned flags;  /* C_TOKEN_UNTERMINATED, C_TOKEN_LINE_START */
    size_t start;    /* byte offset of the first character */
    size_t end;      /* byte offset just past the last character */
    int line;        /* 1-based line of the first character */
    int column;      /* 1-based column (UTF-8 characters) of the first character */
} c_token;

typedef struct c_lexer {
    const char *text;
    size_t length;
    size_t pos;
    int line;
    int column;
    int keep_comments;
    int at_line_start;
} c_lexer;

/* Start lexing text[0..length). Comments are skipped unless keep_comments is set. */
void c_lexer_init(c_lexer *lx, const char *text, size_t length, int keep_comments);

/* Read the next token into *t; returns its kind (C_TOKEN_EOF at the end, repeatedly). */
int c_lexer_next(c_lexer *lx, c_token *t);

/* All tokens of text (comments skipped), terminated by one C_TOKEN_EOF token.
 * Returns a malloc'ed array and its length without the EOF token, or NULL on OOM. */
c_token *c_lex_all(const char *text, size_t length, size_t *count);

/* True when the token's text equals s exactly. */
int c_token_is(const char *text, const c_token *t, const char *s);

/* True when name (length n) is a C11 keyword or a GNU keyword tcc understands. */
int c_is_keyword(const char *name, size_t n);

#endif
