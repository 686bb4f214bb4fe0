/* cell_split.c — cut a cell into top-level items (see cell_split.h).
 *
 * This is not a C parser: it recognises just enough structure to know where each item
 * ends and what it declares. Brackets are matched across all three kinds so a `;`
 * inside a compound literal or a statement expression does not end anything; statement
 * keywords are followed through their sub-statements (`if (c) x(); else y();` is one
 * item); a declaration is cut into its specifiers and declarators, each with its own
 * initializer. Errors name the line and column and quote the line, so the user sees
 * an unbalanced brace where it is rather than a tcc message about generated code. */
#include "cell_split.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct splitter {
    const char *code;
    c_token *t;
    size_t n;
    cell_is_type_fn is_type;
    void *ctx;
    /* typedef names met in this cell so far */
    char **local_types;
    size_t nlocal, caplocal;
    cell_split_result *out;
    size_t capitems;
    int failed;
    const unsigned char *skipped; /* out->skipped */
} splitter;

static const char *const specifier_keywords[] = {
    "typedef", "extern", "static", "auto", "register", "inline", "__inline", "__inline__",
    "_Noreturn", "_Thread_local", "const", "volatile", "restrict", "__restrict",
    "__restrict__", "__const", "__volatile__", "__extension__", "_Atomic", "void", "char",
    "short", "int", "long", "float", "double", "signed", "unsigned", "_Bool", "_Complex",
    "_Imaginary", "__signed__", "struct", "union", "enum", "typeof", "__typeof__",
    "__typeof", "__attribute__", "__attribute", "_Alignas", NULL};

static const char *const type_keywords[] = {
    "void", "char", "short", "int", "long", "float", "double", "signed", "unsigned",
    "_Bool", "_Complex", "_Imaginary", "__signed__", NULL};

static int in_list(const char *const *list, const char *s, size_t n)
{
    for (; *list; list++)
        if (strlen(*list) == n && memcmp(*list, s, n) == 0)
            return 1;
    return 0;
}

int cell_is_specifier_keyword(const char *name, size_t n) { return in_list(specifier_keywords, name, n); }

char *cell_format_error(const char *code, int line, int column, const char *message)
{
    const char *p = code;
    for (int l = 1; l < line && *p; p++)
        if (*p == '\n')
            l++;
    const char *e = p;
    while (*e && *e != '\n')
        e++;
    int len = (int)(e - p);
    if (len > 0 && p[len - 1] == '\r')
        len--;
    /* The caret line repeats the tabs of the quoted line so it lines up in a terminal. */
    size_t cap = strlen(message) + (size_t)len * 2 + (size_t)(column > 0 ? column : 1) + 64;
    char *s = malloc(cap);
    if (!s)
        return NULL;
    int k = snprintf(s, cap, "line %d, column %d: %s\n  %.*s\n  ", line, column, message, len, p);
    int col = 1;
    for (const char *q = p; q < p + len && col < column; q++) {
        if (((unsigned char)*q & 0xC0) == 0x80)
            continue;
        s[k++] = *q == '\t' ? '\t' : ' ';
        col++;
    }
    s[k++] = '^';
    s[k] = 0;
    return s;
}

static void fail_at(splitter *sp, size_t tok, const char *fmt, ...)
{
    if (sp->failed)
        return;
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    int line, column;
    if (tok < sp->n) {
        line = sp->t[tok].line;
        column = sp->t[tok].column;
    } else {
        /* At the end of the cell: point just past the last token. */
        line = sp->n ? sp->t[sp->n - 1].line : 1;
        column = sp->n ? sp->t[sp->n - 1].column + (int)(sp->t[sp->n - 1].end - sp->t[sp->n - 1].start) : 1;
        if (sp->n && memchr(sp->code + sp->t[sp->n - 1].start, '\n', sp->t[sp->n - 1].end - sp->t[sp->n - 1].start)) {
            line = sp->t[sp->n - 1].line;
            column = sp->t[sp->n - 1].column;
        }
    }
    sp->failed = 1;
    sp->out->error = cell_format_error(sp->code, line, column, msg);
    sp->out->error_line = line;
    sp->out->error_column = column;
}

static int is(const splitter *sp, size_t i, const char *s)
{
    return i < sp->n && !(sp->skipped && sp->skipped[i]) && (sp->t[i].kind == C_TOKEN_PUNCT || sp->t[i].kind == C_TOKEN_KEYWORD ||
                         sp->t[i].kind == C_TOKEN_IDENTIFIER) &&
           c_token_is(sp->code, &sp->t[i], s);
}

static int is_ident(const splitter *sp, size_t i)
{
    return i < sp->n && sp->t[i].kind == C_TOKEN_IDENTIFIER && !(sp->skipped && sp->skipped[i]);
}

/* The directive word of preprocessor token i ("if", "endif") and what follows it. */
static size_t directive_word(const splitter *sp, size_t i, const char **word, const char **rest)
{
    const char *p = sp->code + sp->t[i].start + 1, *e = sp->code + sp->t[i].end;
    while (p < e && (*p == ' ' || *p == '\t'))
        p++;
    *word = p;
    while (p < e && *p >= 'a' && *p <= 'z')
        p++;
    size_t n = (size_t)(p - *word);
    while (p < e && (*p == ' ' || *p == '\t'))
        p++;
    *rest = p;
    return n;
}

/* Mark the tokens of every `#if 0` group (to its #else, #elif or #endif); sp->skipped
 * stays NULL when there is none. */
static void mark_if0_groups(splitter *sp)
{
    unsigned char *skipped = NULL;
    for (size_t i = 0; i < sp->n; i++) {
        if (sp->t[i].kind != C_TOKEN_PREPROC || (skipped && skipped[i]))
            continue;
        const char *w, *rest, *e = sp->code + sp->t[i].end;
        if (directive_word(sp, i, &w, &rest) != 2 || memcmp(w, "if", 2) != 0 || rest >= e || *rest != '0')
            continue;
        for (rest++; rest < e && (*rest == ' ' || *rest == '\t' || *rest == '\r'); rest++)
            ;
        if (rest != e)
            continue; /* `#if 0 || X`, `#if 0x1`: for tcc to decide */
        if (!skipped && !(skipped = calloc(sp->n, 1)))
            return;
        int depth = 0;
        for (size_t j = i + 1; j < sp->n; j++) {
            if (sp->t[j].kind == C_TOKEN_PREPROC) {
                size_t n = directive_word(sp, j, &w, &rest);
                if ((n == 2 && !memcmp(w, "if", 2)) || (n == 5 && !memcmp(w, "ifdef", 5)) || (n == 6 && !memcmp(w, "ifndef", 6)))
                    depth++;
                else if (n == 5 && !memcmp(w, "endif", 5) && depth-- == 0)
                    break;
                else if (n == 4 && (!memcmp(w, "else", 4) || !memcmp(w, "elif", 4)) && depth == 0)
                    break;
            }
            skipped[j] = 1;
        }
    }
    sp->skipped = sp->out->skipped = skipped;
}

static int names_type(splitter *sp, size_t i)
{
    if (!is_ident(sp, i))
        return 0;
    const char *s = sp->code + sp->t[i].start;
    size_t len = sp->t[i].end - sp->t[i].start;
    for (size_t k = 0; k < sp->nlocal; k++)
        if (strlen(sp->local_types[k]) == len && memcmp(sp->local_types[k], s, len) == 0)
            return 1;
    return sp->is_type ? sp->is_type(sp->ctx, s, len) : 0;
}

static void add_local_type(splitter *sp, size_t i)
{
    if (sp->nlocal == sp->caplocal) {
        size_t cap = sp->caplocal ? sp->caplocal * 2 : 8;
        char **v = realloc(sp->local_types, cap * sizeof *v);
        if (!v)
            return;
        sp->local_types = v;
        sp->caplocal = cap;
    }
    size_t len = sp->t[i].end - sp->t[i].start;
    char *s = malloc(len + 1);
    if (!s)
        return;
    memcpy(s, sp->code + sp->t[i].start, len);
    s[len] = 0;
    sp->local_types[sp->nlocal++] = s;
}

static int is_opener(const splitter *sp, size_t i) { return is(sp, i, "(") || is(sp, i, "[") || is(sp, i, "{"); }
static int is_closer(const splitter *sp, size_t i) { return is(sp, i, ")") || is(sp, i, "]") || is(sp, i, "}"); }

/* Index of the closer matching the opener at i; on a mismatch or the end, fails. */
static size_t match(splitter *sp, size_t i)
{
    size_t stack[256];
    size_t depth = 0;
    for (size_t j = i; j < sp->n; j++) {
        if (is_opener(sp, j)) {
            if (depth == sizeof stack / sizeof stack[0]) {
                fail_at(sp, j, "brackets nested too deeply");
                return sp->n;
            }
            stack[depth++] = j;
        } else if (is_closer(sp, j)) {
            char want = sp->code[sp->t[stack[depth - 1]].start] == '(' ? ')' : sp->code[sp->t[stack[depth - 1]].start] == '[' ? ']' : '}';
            char got = sp->code[sp->t[j].start];
            if (got != want) {
                fail_at(sp, j, "'%c' does not match the '%c' opened at line %d, column %d", got,
                        sp->code[sp->t[stack[depth - 1]].start], sp->t[stack[depth - 1]].line, sp->t[stack[depth - 1]].column);
                return sp->n;
            }
            if (--depth == 0)
                return j;
        }
    }
    size_t open = stack[depth - 1];
    fail_at(sp, open, "'%c' is never closed", sp->code[sp->t[open].start]);
    return sp->n;
}

/* Two operands in a row at the top level of an expression mean a missing `;`:
 * `x = 3 <newline> int y;` or `a = 1 <newline> b = 2;`. A string followed by a name
 * stays legal ("%" PRId64), and so does a cast `(mat) x`. */
static int missing_semicolon_between(splitter *sp, size_t prev, size_t cur)
{
    if (prev == CELL_NONE || cur >= sp->n)
        return 0;
    int pk = sp->t[prev].kind, ck = sp->t[cur].kind;
    int spec = ck == C_TOKEN_KEYWORD && in_list(specifier_keywords, sp->code + sp->t[cur].start, sp->t[cur].end - sp->t[cur].start);
    if (spec && (pk == C_TOKEN_IDENTIFIER || pk == C_TOKEN_NUMBER || pk == C_TOKEN_CHAR || pk == C_TOKEN_STRING ||
                 is(sp, prev, ")") || is(sp, prev, "]") || is(sp, prev, "}")))
        return 1;
    if ((pk == C_TOKEN_IDENTIFIER || pk == C_TOKEN_NUMBER || pk == C_TOKEN_CHAR) &&
        (ck == C_TOKEN_IDENTIFIER || ck == C_TOKEN_NUMBER))
        return 1;
    /* Across a line break only (where a forgotten ';' is the likely story):
     * `k++ <newline> k`, `a[i] <newline> b`, `f(x) <newline> y`, but not a cast. */
    if ((ck != C_TOKEN_IDENTIFIER && ck != C_TOKEN_NUMBER) || sp->t[cur].line <= sp->t[prev].line)
        return 0;
    if (is(sp, prev, "++") || is(sp, prev, "--"))
        return prev > 0 && (sp->t[prev - 1].kind == C_TOKEN_IDENTIFIER || is(sp, prev - 1, ")") || is(sp, prev - 1, "]"));
    if (is(sp, prev, "]") || is(sp, prev, "}"))
        return 1;
    if (is(sp, prev, ")")) {
        int depth = 0;
        size_t o = prev;
        for (;; o--) {
            if (is(sp, o, ")"))
                depth++;
            else if (is(sp, o, "(") && --depth == 0)
                break;
            if (o == 0)
                return 0;
        }
        const c_token *first = &sp->t[o + 1];
        int cast = (first->kind == C_TOKEN_KEYWORD && in_list(specifier_keywords, sp->code + first->start, first->end - first->start)) ||
                   names_type(sp, o + 1);
        return !cast;
    }
    return pk == C_TOKEN_STRING && ck == C_TOKEN_NUMBER;
}

static void fail_missing_semicolon(splitter *sp, size_t prev, size_t cur)
{
    if (sp->t[prev].line != sp->t[cur].line)
        fail_at(sp, cur, "expected ';' before '%.*s' (missing ';' at the end of line %d?)",
                (int)(sp->t[cur].end - sp->t[cur].start), sp->code + sp->t[cur].start, sp->t[prev].line);
    else
        fail_at(sp, cur, "expected ';' or an operator before '%.*s'", (int)(sp->t[cur].end - sp->t[cur].start),
                sp->code + sp->t[cur].start);
}

/* Scan from i to the `;` that ends an expression (or the `,` too when at_comma: an
 * initializer), brackets skipped; returns its index, or sp->n when the cell ends first.
 * Two operands in a row, a stray closer or a preprocessor line (preproc_message) fail. */
static size_t scan_expression(splitter *sp, size_t i, int at_comma, const char *preproc_message)
{
    size_t prev = CELL_NONE;
    while (i < sp->n && !sp->failed) {
        if (is(sp, i, ";") || (at_comma && is(sp, i, ",")))
            return i;
        if (missing_semicolon_between(sp, prev, i)) {
            fail_missing_semicolon(sp, prev, i);
            return sp->n;
        }
        if (is_opener(sp, i)) {
            size_t m = match(sp, i);
            prev = m;
            i = m + 1;
            continue;
        }
        prev = i;
        if (is_closer(sp, i)) {
            fail_at(sp, i, "unexpected '%c' (no matching opener)", sp->code[sp->t[i].start]);
            return sp->n;
        }
        if (sp->t[i].kind == C_TOKEN_PREPROC) {
            fail_at(sp, i, "%s", preproc_message);
            return sp->n;
        }
        i++;
    }
    return sp->n;
}

static int starts_declaration(splitter *sp, size_t i);

/* End (one past the last token) of the statement starting at i. */
static size_t parse_statement(splitter *sp, size_t i, int *missing_semicolon)
{
    if (sp->failed || i >= sp->n) {
        if (!sp->failed)
            fail_at(sp, i, "a statement is missing at the end of the cell");
        return sp->n;
    }
    if (is(sp, i, "{"))
        return match(sp, i) + 1;
    if (is(sp, i, "if") || is(sp, i, "for") || is(sp, i, "while") || is(sp, i, "switch")) {
        if (!is(sp, i + 1, "(")) {
            fail_at(sp, i + 1, "expected '(' after '%.*s'", (int)(sp->t[i].end - sp->t[i].start), sp->code + sp->t[i].start);
            return sp->n;
        }
        size_t j = parse_statement(sp, match(sp, i + 1) + 1, missing_semicolon);
        if (is(sp, i, "if") && is(sp, j, "else"))
            j = parse_statement(sp, j + 1, missing_semicolon);
        return j;
    }
    if (is(sp, i, "do")) {
        size_t j = parse_statement(sp, i + 1, missing_semicolon);
        if (sp->failed)
            return sp->n;
        if (!is(sp, j, "while") || !is(sp, j + 1, "(")) {
            fail_at(sp, j, "expected 'while (...)' after the body of 'do'");
            return sp->n;
        }
        j = match(sp, j + 1) + 1;
        if (sp->failed)
            return sp->n;
        if (j >= sp->n) {
            *missing_semicolon = 1;
            return j;
        }
        if (!is(sp, j, ";")) {
            fail_at(sp, j, "expected ';' after 'do ... while (...)'");
            return sp->n;
        }
        return j + 1;
    }
    if (is(sp, i, "else")) {
        fail_at(sp, i, "'else' without an 'if' before it");
        return sp->n;
    }
    if (is(sp, i, "case") || is(sp, i, "default") || (is_ident(sp, i) && is(sp, i + 1, ":"))) {
        size_t j = i + 1;
        while (j < sp->n && !is(sp, j, ":")) {
            if (is_opener(sp, j))
                j = match(sp, j);
            j++;
        }
        return parse_statement(sp, j + 1, missing_semicolon);
    }
    if (starts_declaration(sp, i)) {
        fail_at(sp, i, "a declaration cannot be the body of a statement here; put it in braces");
        return sp->n;
    }
    size_t j = scan_expression(sp, i, 0,
                               "a preprocessor line cannot sit inside a statement or declaration here; end it with ';' first");
    if (j >= sp->n) {
        if (!sp->failed)
            *missing_semicolon = 1;
        return sp->n;
    }
    return j + 1;
}

/* Skip `__attribute__((...))`, `_Alignas(...)`, `asm(...)` at i; returns the next index. */
static size_t skip_paren_group(splitter *sp, size_t i)
{
    if (is(sp, i + 1, "("))
        return match(sp, i + 1) + 1;
    return i + 1;
}

/* Parse declaration specifiers from i; fills the specifier fields of it. */
static size_t parse_specifiers(splitter *sp, size_t i, cell_item *it)
{
    int seen_type = 0;
    it->spec_first = i;
    while (i < sp->n && !sp->failed) {
        const char *s = sp->code + sp->t[i].start;
        size_t len = sp->t[i].end - sp->t[i].start;
        if (sp->t[i].kind == C_TOKEN_KEYWORD) {
            if (is(sp, i, "struct") || is(sp, i, "union") || is(sp, i, "enum")) {
                it->aggregate = i;
                seen_type = 1;
                i++;
                while (is(sp, i, "__attribute__") || is(sp, i, "__attribute"))
                    i = skip_paren_group(sp, i);
                if (is_ident(sp, i))
                    it->tag = i++;
                while (is(sp, i, "__attribute__") || is(sp, i, "__attribute"))
                    i = skip_paren_group(sp, i);
                if (is(sp, i, "{")) {
                    it->body_first = i;
                    i = match(sp, i);
                    it->body_last = i + 1;
                    i++;
                } else if (it->tag == CELL_NONE) {
                    fail_at(sp, i, "expected a tag name or '{' after '%.*s'", (int)len, s);
                    return sp->n;
                }
                continue;
            }
            if (is(sp, i, "__attribute__") || is(sp, i, "__attribute") || is(sp, i, "_Alignas")) {
                i = skip_paren_group(sp, i);
                continue;
            }
            if (is(sp, i, "typeof") || is(sp, i, "__typeof__") || is(sp, i, "__typeof") ||
                (is(sp, i, "_Atomic") && is(sp, i + 1, "("))) {
                seen_type = 1;
                i = skip_paren_group(sp, i);
                continue;
            }
            if (!in_list(specifier_keywords, s, len))
                break;
            if (in_list(type_keywords, s, len))
                seen_type = 1;
            if (is(sp, i, "typedef"))
                it->is_typedef = 1;
            else if (is(sp, i, "extern"))
                it->is_extern = 1;
            else if (is(sp, i, "static"))
                it->is_static = 1;
            else if (is(sp, i, "const") || is(sp, i, "__const"))
                it->is_const = 1;
            i++;
            continue;
        }
        if (is_ident(sp, i) && !seen_type && (names_type(sp, i) || is_ident(sp, i + 1))) {
            seen_type = 1;
            i++;
            continue;
        }
        break;
    }
    it->spec_last = i;
    return i;
}

static int starts_declaration(splitter *sp, size_t i)
{
    if (i >= sp->n)
        return 0;
    const c_token *t = &sp->t[i];
    if (t->kind == C_TOKEN_KEYWORD)
        return in_list(specifier_keywords, sp->code + t->start, t->end - t->start);
    if (t->kind != C_TOKEN_IDENTIFIER)
        return 0;
    /* `T x`, `T *x`, `T (*f)(...)` with a known type T; `foo bar` for a type we do not
     * know (an identifier followed by an identifier is never an expression). */
    if (names_type(sp, i))
        return is_ident(sp, i + 1) || is(sp, i + 1, "*") || is(sp, i + 1, "(") ||
               (i + 1 < sp->n && sp->t[i + 1].kind == C_TOKEN_KEYWORD);
    return is_ident(sp, i + 1);
}

static int push_decl(cell_item *it, const cell_declarator *d)
{
    cell_declarator *v = realloc(it->decls, (it->ndecls + 1) * sizeof *v);
    if (!v)
        return -1;
    it->decls = v;
    it->decls[it->ndecls++] = *d;
    return 0;
}

/* Parse a declaration or function definition at i; returns one past its end. */
static size_t parse_declaration(splitter *sp, size_t i, cell_item *it)
{
    i = parse_specifiers(sp, i, it);
    if (sp->failed)
        return sp->n;
    it->kind = it->is_typedef ? CELL_ITEM_TYPE : CELL_ITEM_DECLARATION;
    if (is(sp, i, ";")) {
        it->kind = CELL_ITEM_TYPE; /* `struct P {...};`, `enum E;` */
        return i + 1;
    }
    for (;;) {
        cell_declarator d;
        memset(&d, 0, sizeof d);
        d.first = i;
        d.name = CELL_NONE;
        /* The declarator runs to `=`, `,`, `;` or a function body at bracket depth 0. */
        while (i < sp->n && !sp->failed) {
            if (is(sp, i, "=") || is(sp, i, ",") || is(sp, i, ";") || is(sp, i, "{"))
                break;
            if (is_ident(sp, i) && d.name == CELL_NONE) {
                d.name = i;
                d.is_function = is(sp, i + 1, "(");
                d.is_array = is(sp, i + 1, "[");
            }
            if (is(sp, i, "__attribute__") || is(sp, i, "__attribute") || is(sp, i, "asm") ||
                is(sp, i, "__asm__") || is(sp, i, "__asm")) {
                i = skip_paren_group(sp, i);
                continue;
            }
            if (is(sp, i, "(") || is(sp, i, "[")) {
                /* The name sits in the first parentheses at most: `(*f)(int x)`, but
                 * parameter lists and array sizes after it name nothing here. */
                if (d.name != CELL_NONE) {
                    i = match(sp, i) + 1;
                    continue;
                }
                i++;
                continue;
            }
            if (is_closer(sp, i)) {
                i++;
                continue;
            }
            if (sp->t[i].kind == C_TOKEN_PREPROC) {
                fail_at(sp, i, "expected ';' before this preprocessor line");
                return sp->n;
            }
            i++;
        }
        if (sp->failed)
            return sp->n;
        d.last = i;
        if (d.name == CELL_NONE) {
            fail_at(sp, d.first < sp->n ? d.first : sp->n, "expected a name in this declaration");
            return sp->n;
        }
        if (i >= sp->n) {
            it->missing_semicolon = 1;
            push_decl(it, &d);
            return sp->n;
        }
        if (is(sp, i, "{")) {
            if (it->ndecls > 0 || !d.is_function || it->is_typedef) {
                fail_at(sp, i, "unexpected '{' in a declaration (missing '=' or ';'?)");
                return sp->n;
            }
            it->kind = CELL_ITEM_FUNCTION;
            it->body = i;
            push_decl(it, &d);
            return match(sp, i) + 1;
        }
        if (is(sp, i, "=")) {
            i++;
            d.init_first = i;
            i = scan_expression(sp, i, 1, "expected ';' before this preprocessor line");
            if (sp->failed)
                return sp->n;
            d.init_last = i;
            if (d.init_first == d.init_last) {
                fail_at(sp, i, "expected an initializer after '='");
                return sp->n;
            }
        }
        push_decl(it, &d);
        if (i >= sp->n) {
            it->missing_semicolon = 1;
            return sp->n;
        }
        if (it->is_typedef)
            add_local_type(sp, d.name);
        if (is(sp, i, ";"))
            return i + 1;
        i++; /* `,` */
    }
}

static cell_item *new_item(splitter *sp, size_t first)
{
    cell_split_result *out = sp->out;
    if (out->nitems == sp->capitems) {
        size_t cap = sp->capitems ? sp->capitems * 2 : 16;
        cell_item *v = realloc(out->items, cap * sizeof *v);
        if (!v)
            return NULL;
        out->items = v;
        sp->capitems = cap;
    }
    cell_item *it = &out->items[out->nitems++];
    memset(it, 0, sizeof *it);
    it->first = first;
    it->line = sp->t[first].line;
    it->column = sp->t[first].column;
    it->aggregate = it->tag = it->body_first = it->body_last = it->body = CELL_NONE;
    return it;
}

/* The trailing expression `x = 3` is an assignment: run it, do not show it. */
static int is_assignment(const splitter *sp, size_t first, size_t last)
{
    static const char *const ops[] = {"=", "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "<<=", ">>=", NULL};
    int depth = 0;
    for (size_t i = first; i < last; i++) {
        if (is_opener(sp, i))
            depth++;
        else if (is_closer(sp, i))
            depth--;
        else if (depth == 0 && sp->t[i].kind == C_TOKEN_PUNCT)
            for (const char *const *o = ops; *o; o++)
                if (c_token_is(sp->code, &sp->t[i], *o))
                    return 1;
    }
    return 0;
}

int cell_split(const char *code, cell_is_type_fn is_type, void *ctx, cell_split_result *out)
{
    memset(out, 0, sizeof *out);
    splitter sp;
    memset(&sp, 0, sizeof sp);
    sp.code = code;
    sp.is_type = is_type;
    sp.ctx = ctx;
    sp.out = out;
    out->tokens = c_lex_all(code, strlen(code), &out->ntokens);
    if (!out->tokens) {
        out->error = strdup("out of memory while reading the cell");
        return -1;
    }
    sp.t = out->tokens;
    sp.n = out->ntokens;
    if (strchr(code, '#'))
        mark_if0_groups(&sp);

    /* An open comment or literal is reported before anything else: it swallows the rest. */
    for (size_t i = 0; i < sp.n; i++) {
        if (sp.skipped && sp.skipped[i] && sp.t[i].kind != C_TOKEN_COMMENT)
            continue; /* an apostrophe in the notes of an `#if 0` group ends at its line */
        if (sp.t[i].flags & C_TOKEN_UNTERMINATED) {
            const char *what = sp.t[i].kind == C_TOKEN_COMMENT ? "this comment is never closed ('*/' missing)"
                               : sp.t[i].kind == C_TOKEN_STRING ? "this string is never closed ('\"' missing on this line)"
                               : sp.t[i].kind == C_TOKEN_CHAR   ? "this character constant is never closed"
                                                                : "this preprocessor line ends with a continuation '\\'";
            fail_at(&sp, i, "%s", what);
            goto done;
        }
        if (sp.t[i].kind == C_TOKEN_OTHER) {
            fail_at(&sp, i, "stray '%.*s' in the cell", (int)(sp.t[i].end - sp.t[i].start), code + sp.t[i].start);
            goto done;
        }
    }

    size_t i = 0;
    while (i < sp.n && !sp.failed) {
        if (sp.skipped && sp.skipped[i]) {
            i++;
            continue;
        }
        if (is(&sp, i, ";")) { /* an empty statement at top level does nothing */
            i++;
            continue;
        }
        if ((sp.t[i].flags & C_TOKEN_LINE_START) && (is(&sp, i, "%") || is(&sp, i, "%="))) {
            fail_at(&sp, i, "'%%' starts a magic, and magics must come before any C code in the cell");
            break;
        }
        cell_item *it = new_item(&sp, i);
        if (!it) {
            fail_at(&sp, i, "out of memory");
            break;
        }
        size_t end;
        if (sp.t[i].kind == C_TOKEN_PREPROC) {
            it->kind = CELL_ITEM_PREPROC;
            end = i + 1;
        } else if (is(&sp, i, "#") || is(&sp, i, "##")) {
            fail_at(&sp, i, "a preprocessor directive must start its own line");
            break;
        } else if (is_closer(&sp, i)) {
            fail_at(&sp, i, "unexpected '%c' (no matching opener)", code[sp.t[i].start]);
            break;
        } else if (is(&sp, i, "_Static_assert")) {
            it->kind = CELL_ITEM_STATEMENT;
            end = parse_statement(&sp, i + 1, &it->missing_semicolon);
        } else if (starts_declaration(&sp, i)) {
            /* Re-fetch: parse_declaration may grow nothing, but keep it obvious. */
            end = parse_declaration(&sp, i, it);
        } else {
            it->kind = CELL_ITEM_STATEMENT;
            static const char *const statement_keywords[] = {
                "if", "for", "while", "do", "switch", "return", "goto", "break", "continue",
                "case", "default", "else", "asm", "__asm__", NULL};
            int keyword = (sp.t[i].kind == C_TOKEN_KEYWORD &&
                           in_list(statement_keywords, code + sp.t[i].start, sp.t[i].end - sp.t[i].start)) ||
                          is(&sp, i, "{") || (is_ident(&sp, i) && is(&sp, i + 1, ":"));
            end = parse_statement(&sp, i, &it->missing_semicolon);
            if (!sp.failed && it->missing_semicolon && !keyword && !is_assignment(&sp, i, end)) {
                it->kind = CELL_ITEM_EXPRESSION;
                it->missing_semicolon = 0;
            }
        }
        if (sp.failed)
            break;
        it = &out->items[out->nitems - 1]; /* parsing never adds items, but stay safe */
        it->last = end;
        i = end;
    }
done:
    for (size_t k = 0; k < sp.nlocal; k++)
        free(sp.local_types[k]);
    free(sp.local_types);
    return sp.failed ? -1 : 0;
}

void cell_split_free(cell_split_result *r)
{
    for (size_t i = 0; i < r->nitems; i++)
        free(r->items[i].decls);
    free(r->items);
    free(r->tokens);
    free(r->skipped);
    free(r->error);
    memset(r, 0, sizeof *r);
}
