/* c_lexer.c — the C tokenizer behind the cell splitter and is_complete.
 *
 * It follows the translation phases only as far as the cell model needs: pp-numbers
 * (so 0x1p-3, 1e+5f and 10ULL are one token), string and character literals with
 * escapes and prefixes, both comment forms, preprocessor lines with continuations, and
 * longest-match punctuators. Bytes >= 0x80 pass through inside literals and comments;
 * outside them they are part of identifiers (tcc accepts UTF-8 identifiers too). */
#include "c_lexer.h"

#include <stdlib.h>
#include <string.h>

/* Keywords with their lengths: identifiers are looked up on every token of every cell,
 * so the length and first byte are compared before any memcmp. */
#define KW(s) {s, sizeof(s) - 1}
static const struct {
    const char *s;
    size_t n;
} c_keywords[] = {
    KW("auto"), KW("break"), KW("case"), KW("char"), KW("const"), KW("continue"), KW("default"), KW("do"),
    KW("double"), KW("else"), KW("enum"), KW("extern"), KW("float"), KW("for"), KW("goto"), KW("if"),
    KW("inline"), KW("int"), KW("long"), KW("register"), KW("restrict"), KW("return"), KW("short"),
    KW("signed"), KW("sizeof"), KW("static"), KW("struct"), KW("switch"), KW("typedef"), KW("union"),
    KW("unsigned"), KW("void"), KW("volatile"), KW("while"), KW("_Alignas"), KW("_Alignof"), KW("_Atomic"),
    KW("_Bool"), KW("_Complex"), KW("_Generic"), KW("_Imaginary"), KW("_Noreturn"), KW("_Static_assert"),
    KW("_Thread_local"), KW("__attribute__"), KW("__attribute"), KW("typeof"), KW("__typeof__"),
    KW("__typeof"), KW("asm"), KW("__asm__"), KW("__asm"), KW("__inline"), KW("__inline__"),
    KW("__restrict"), KW("__restrict__"), KW("__const"), KW("__volatile__"), KW("__signed__"),
    KW("__extension__"), KW("__alignof__"), KW("__label__")};
#undef KW

int c_is_keyword(const char *name, size_t n)
{
    if (n < 2 || n > 14 || !((name[0] >= 'a' && name[0] <= 'w') || name[0] == '_'))
        return 0;
    for (size_t k = 0; k < sizeof c_keywords / sizeof *c_keywords; k++)
        if (c_keywords[k].n == n && c_keywords[k].s[0] == name[0] && memcmp(c_keywords[k].s, name, n) == 0)
            return 1;
    return 0;
}

int c_token_is(const char *text, const c_token *t, const char *s)
{
    if (t->end == t->start || text[t->start] != s[0])
        return t->end == t->start && s[0] == 0; /* most calls end here, before strlen */
    size_t n = strlen(s);
    return t->end - t->start == n && memcmp(text + t->start, s, n) == 0;
}

void c_lexer_init(c_lexer *lx, const char *text, size_t length, int keep_comments)
{
    lx->text = text;
    lx->length = length;
    lx->pos = 0;
    lx->line = 1;
    lx->column = 1;
    lx->keep_comments = keep_comments;
    lx->at_line_start = 1;
}

static int peek(const c_lexer *lx, size_t ahead)
{
    return lx->pos + ahead < lx->length ? (unsigned char)lx->text[lx->pos + ahead] : -1;
}

/* Consume one byte, keeping line and column (UTF-8 continuation bytes take no column). */
static void advance(c_lexer *lx)
{
    unsigned char c = (unsigned char)lx->text[lx->pos++];
    if (c == '\n') {
        lx->line++;
        lx->column = 1;
        lx->at_line_start = 1;
    } else if ((c & 0xC0) != 0x80) {
        lx->column++;
    }
}

static int is_ident_start(int c) { return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80; }
static int is_digit(int c) { return c >= '0' && c <= '9'; }
static int is_ident_char(int c) { return is_ident_start(c) || is_digit(c); }

/* Skip a comment starting at pos (a line or a block comment); returns 0 when it is left open. */
static int skip_comment(c_lexer *lx)
{
    if (peek(lx, 1) == '/') {
        /* A line comment ends at a newline that is not escaped by a backslash. */
        while (lx->pos < lx->length && lx->text[lx->pos] != '\n') {
            if (lx->text[lx->pos] == '\\' && peek(lx, 1) == '\n')
                advance(lx);
            advance(lx);
        }
        return 1;
    }
    advance(lx);
    advance(lx);
    while (lx->pos < lx->length) {
        if (lx->text[lx->pos] == '*' && peek(lx, 1) == '/') {
            advance(lx);
            advance(lx);
            return 1;
        }
        advance(lx);
    }
    return 0;
}

/* Skip a quoted literal whose opening quote is at pos; returns 0 when left open. A raw
 * newline ends it (C literals cannot span lines) unless escaped by a backslash. */
static int skip_quoted(c_lexer *lx)
{
    int quote = lx->text[lx->pos];
    advance(lx);
    while (lx->pos < lx->length) {
        int c = (unsigned char)lx->text[lx->pos];
        if (c == '\\') {
            advance(lx);
            if (lx->pos < lx->length)
                advance(lx);
            continue;
        }
        if (c == '\n')
            return 0;
        advance(lx);
        if (c == quote)
            return 1;
    }
    return 0;
}

/* Digraphs are left out on purpose: nobody writes them in a notebook, and `<:` must not
 * turn into a bracket the splitter would try to match. */
static const char *const c_punctuators[] = {
    "...", "<<=", ">>=", "->", "++", "--", "<<", ">>", "<=", ">=", "==", "!=",
    "&&", "||", "*=", "/=", "%=", "+=", "-=", "&=", "^=", "|=", "##", NULL};

int c_lexer_next(c_lexer *lx, c_token *t)
{
    int line_start;
    for (;;) {
        while (lx->pos < lx->length) {
            int c = (unsigned char)lx->text[lx->pos];
            if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v')
                advance(lx);
            else if (c == '\\' && peek(lx, 1) == '\n') /* line splice between tokens */
                advance(lx), advance(lx);
            else if (c == '\\' && peek(lx, 1) == '\r' && peek(lx, 2) == '\n')
                advance(lx), advance(lx), advance(lx);
            else
                break;
        }
        memset(t, 0, sizeof *t);
        t->start = lx->pos;
        t->line = lx->line;
        t->column = lx->column;
        line_start = lx->at_line_start;
        if (line_start)
            t->flags |= C_TOKEN_LINE_START;
        if (lx->pos >= lx->length) {
            t->kind = C_TOKEN_EOF;
            t->end = lx->pos;
            return t->kind;
        }
        int c = (unsigned char)lx->text[lx->pos];
        if (c == '/' && (peek(lx, 1) == '/' || peek(lx, 1) == '*')) {
            int closed = skip_comment(lx);
            if (!lx->keep_comments && closed) {
                /* A comment does not end the "first on its line" state. */
                lx->at_line_start = line_start || lx->at_line_start;
                continue;
            }
            t->kind = C_TOKEN_COMMENT;
            if (!closed)
                t->flags |= C_TOKEN_UNTERMINATED;
            t->end = lx->pos;
            /* An open comment is reported even when comments are skipped. */
            return t->kind;
        }
        break;
    }
    lx->at_line_start = 0;
    int c = (unsigned char)lx->text[lx->pos];

    if (c == '#' && line_start) {
        /* A directive runs to the first newline not preceded by a backslash; comments
         * and literals inside it may hide a newline or a quote. */
        t->kind = C_TOKEN_PREPROC;
        while (lx->pos < lx->length) {
            int d = (unsigned char)lx->text[lx->pos];
            if (d == '\n')
                break;
            if (d == '\\' && (peek(lx, 1) == '\n' || (peek(lx, 1) == '\r' && peek(lx, 2) == '\n'))) {
                advance(lx);
                if (lx->text[lx->pos] == '\r')
                    advance(lx);
                advance(lx);
                lx->at_line_start = 0;
                if (lx->pos >= lx->length)
                    t->flags |= C_TOKEN_UNTERMINATED;
                continue;
            }
            if (d == '\\' && lx->pos + 1 == lx->length) {
                advance(lx);
                t->flags |= C_TOKEN_UNTERMINATED;
                continue;
            }
            if (d == '/' && (peek(lx, 1) == '*' || peek(lx, 1) == '/')) {
                if (peek(lx, 1) == '/') {
                    while (lx->pos < lx->length && lx->text[lx->pos] != '\n')
                        advance(lx);
                    break;
                }
                if (!skip_comment(lx))
                    t->flags |= C_TOKEN_UNTERMINATED;
                lx->at_line_start = 0;
                continue;
            }
            if (d == '"' || d == '\'') {
                /* `#error don't` has an apostrophe that opens nothing: tolerate it. */
                if (!skip_quoted(lx) && d == '"' && lx->pos >= lx->length)
                    t->flags |= C_TOKEN_UNTERMINATED;
                continue;
            }
            advance(lx);
        }
        t->end = lx->pos;
        /* Trailing carriage return and spaces are not part of the directive. */
        while (t->end > t->start && (lx->text[t->end - 1] == '\r' || lx->text[t->end - 1] == ' ' || lx->text[t->end - 1] == '\t'))
            t->end--;
        return t->kind;
    }

    if (is_ident_start(c)) {
        while (lx->pos < lx->length && is_ident_char((unsigned char)lx->text[lx->pos]))
            advance(lx);
        size_t n = lx->pos - t->start;
        const char *s = lx->text + t->start;
        int q = peek(lx, 0);
        /* Encoding prefixes glue onto the literal that follows: u8"", L'x', U"". */
        if ((q == '"' || q == '\'') &&
            ((n == 1 && (s[0] == 'L' || s[0] == 'u' || s[0] == 'U')) || (n == 2 && s[0] == 'u' && s[1] == '8' && q == '"'))) {
            t->kind = q == '"' ? C_TOKEN_STRING : C_TOKEN_CHAR;
            if (!skip_quoted(lx))
                t->flags |= C_TOKEN_UNTERMINATED;
            t->end = lx->pos;
            return t->kind;
        }
        t->kind = c_is_keyword(s, n) ? C_TOKEN_KEYWORD : C_TOKEN_IDENTIFIER;
        t->end = lx->pos;
        return t->kind;
    }

    if (is_digit(c) || (c == '.' && is_digit(peek(lx, 1)))) {
        /* pp-number: digits, letters, '.', '_' and signs right after an exponent letter. */
        t->kind = C_TOKEN_NUMBER;
        advance(lx);
        while (lx->pos < lx->length) {
            int d = (unsigned char)lx->text[lx->pos];
            if ((d == '+' || d == '-')) {
                int e = (unsigned char)lx->text[lx->pos - 1];
                if (e == 'e' || e == 'E' || e == 'p' || e == 'P') {
                    advance(lx);
                    continue;
                }
                break;
            }
            if (is_ident_char(d) || d == '.')
                advance(lx);
            else
                break;
        }
        t->end = lx->pos;
        return t->kind;
    }

    if (c == '"' || c == '\'') {
        t->kind = c == '"' ? C_TOKEN_STRING : C_TOKEN_CHAR;
        if (!skip_quoted(lx))
            t->flags |= C_TOKEN_UNTERMINATED;
        t->end = lx->pos;
        return t->kind;
    }

    if (strchr("[](){}.&*+-~!/%<>^|?:;=,#", c)) {
        t->kind = C_TOKEN_PUNCT;
        for (const char *const *p = c_punctuators; *p; p++) {
            if ((*p)[0] != c)
                continue; /* most punctuators are one byte: no strlen, no memcmp */
            size_t n = strlen(*p);
            if (lx->pos + n <= lx->length && memcmp(lx->text + lx->pos, *p, n) == 0) {
                for (size_t i = 0; i < n; i++)
                    advance(lx);
                t->end = lx->pos;
                return t->kind;
            }
        }
        advance(lx);
        t->end = lx->pos;
        return t->kind;
    }

    t->kind = C_TOKEN_OTHER;
    advance(lx);
    t->end = lx->pos;
    return t->kind;
}

c_token *c_lex_all(const char *text, size_t length, size_t *count)
{
    size_t cap = 64, n = 0;
    c_token *v = malloc(cap * sizeof *v);
    if (!v)
        return NULL;
    c_lexer lx;
    c_lexer_init(&lx, text, length, 0);
    for (;;) {
        if (n == cap) {
            cap *= 2;
            c_token *w = realloc(v, cap * sizeof *v);
            if (!w) {
                free(v);
                return NULL;
            }
            v = w;
        }
        int k = c_lexer_next(&lx, &v[n]);
        if (k == C_TOKEN_EOF)
            break;
        n++;
    }
    *count = n;
    return v;
}
