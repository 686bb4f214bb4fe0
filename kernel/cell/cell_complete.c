/* cell_complete.c — questions the front asks about cell text without running it:
 * is_complete (may the console send this, or does the user need another line?), what
 * identifier sits at the cursor (complete/inspect), and a readable form of a tcc
 * diagnostic (line, column, the quoted line, a caret).
 *
 * All three lex the text with the same tokenizer the splitter uses, so a brace inside a
 * string never counts and an open comment is seen as open. */
#include "cell_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Copy of code with magic lines (first non-blank character `%`) blanked: they are not C,
 * and `%timeit f(` must not count as an open parenthesis... of C. */
static char *blank_magics(const char *code)
{
    char *s = strdup(code);
    if (!s)
        return NULL;
    char *line = s;
    while (*line) {
        char *p = line;
        while (*p == ' ' || *p == '\t')
            p++;
        char *eol = strchr(line, '\n');
        if (!eol)
            eol = line + strlen(line);
        if (*p == '%')
            memset(p, ' ', (size_t)(eol - p));
        line = *eol ? eol + 1 : eol;
    }
    return s;
}

static const char spaces[] = "                                ";

/* The directive of a preprocessor token ("if", "endif", ...) as [*word, *word + *n), and
 * whether it is exactly `#if 0` (a group the console must not read as C). */
static void directive_word(const char *text, const c_token *t, const char **word, size_t *n, int *if0)
{
    const char *p = text + t->start + 1, *end = text + t->end;
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    const char *w = p;
    while (p < end && ((*p >= 'a' && *p <= 'z') || *p == '_'))
        p++;
    *word = w;
    *n = (size_t)(p - w);
    *if0 = 0;
    if (*n == 2 && memcmp(w, "if", 2) == 0) {
        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        if (p < end && *p == '0') {
            p++;
            while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
                p++;
            *if0 = p == end || (p + 1 < end && p[0] == '/' && (p[1] == '/' || p[1] == '*'));
        }
    }
}

const char *cell_is_complete(const char *code, const char **indent)
{
    static const char *const complete = "complete", *const incomplete = "incomplete", *const invalid = "invalid";
    if (indent)
        *indent = "";
    if (!code)
        return complete;
    char *text = blank_magics(code);
    if (!text)
        return invalid;
    size_t len = strlen(text);
    c_lexer lx;
    c_token t;
    c_lexer_init(&lx, text, len, 1);
    char stack[256];
    unsigned char control[256]; /* the '(' follows if/for/while/switch */
    size_t depth = 0, braces = 0;
    const char *verdict = complete;
    /* `if (x)`, `for (...)`, `else`, `do` at the very end still wait for their body. */
    int awaiting_body = 0, after_control = 0;
    /* Open #if/#ifdef/#ifndef groups wait for their #endif; inside an `#if 0` group
     * (up to its #else/#elif/#endif) the text is not read as C at all. */
    size_t conditionals = 0, skipping = 0;
    while (c_lexer_next(&lx, &t) != C_TOKEN_EOF) {
        if (t.kind == C_TOKEN_PREPROC) {
            const char *w;
            size_t n;
            int if0;
            directive_word(text, &t, &w, &n, &if0);
            if ((n == 2 && !memcmp(w, "if", 2)) || (n == 5 && !memcmp(w, "ifdef", 5)) ||
                (n == 6 && !memcmp(w, "ifndef", 6))) {
                conditionals++;
                if (if0 && !skipping)
                    skipping = conditionals;
            } else if ((n == 4 && !memcmp(w, "else", 4)) || (n == 4 && !memcmp(w, "elif", 4)) ||
                       (n == 5 && !memcmp(w, "endif", 5))) {
                if (!conditionals) {
                    verdict = invalid; /* an #endif or #else without its #if */
                    break;
                }
                if (skipping == conditionals)
                    skipping = 0;
                conditionals -= n == 5;
            }
        } else if (skipping) {
            continue; /* notes in an #if 0 group: an apostrophe or a bracket means nothing */
        }
        if (t.flags & C_TOKEN_UNTERMINATED) {
            /* A literal cut by a line break (not by the end) cannot be continued. */
            verdict = (t.kind == C_TOKEN_STRING || t.kind == C_TOKEN_CHAR) && t.end < len ? invalid : incomplete;
            break;
        }
        if (t.kind == C_TOKEN_COMMENT)
            continue;
        int was_control = after_control;
        after_control = t.kind == C_TOKEN_KEYWORD && (c_token_is(text, &t, "if") || c_token_is(text, &t, "for") ||
                                                     c_token_is(text, &t, "while") || c_token_is(text, &t, "switch"));
        awaiting_body = t.kind == C_TOKEN_KEYWORD && (c_token_is(text, &t, "else") || c_token_is(text, &t, "do"));
        if (t.kind != C_TOKEN_PUNCT || t.end - t.start != 1)
            continue;
        char c = text[t.start];
        if (c == '(' || c == '[' || c == '{') {
            if (depth == sizeof stack) {
                verdict = invalid;
                break;
            }
            control[depth] = c == '(' && was_control;
            stack[depth++] = c;
            braces += c == '{';
        } else if (c == ')' || c == ']' || c == '}') {
            char want = c == ')' ? '(' : c == ']' ? '[' : '{';
            if (!depth || stack[depth - 1] != want) {
                verdict = invalid;
                break;
            }
            braces -= stack[--depth] == '{';
            /* `while (x)` after a do-body's `}` ends with ';', so it never waits here. */
            awaiting_body = c == ')' && control[depth];
        }
    }
    if (verdict == complete && (depth || awaiting_body || conditionals))
        verdict = incomplete;
    if (verdict == incomplete && indent) {
        /* Four spaces per open brace; inside only parentheses (or before the body of
         * an if/for/while/else), one more level. */
        size_t level = braces + ((depth > braces || awaiting_body) ? 1 : 0);
        if (level > 8)
            level = 8;
        *indent = spaces + sizeof spaces - 1 - 4 * level;
    }
    free(text);
    return verdict;
}

static int is_ident_char(int c) { return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80; }

int cell_token_at(const char *code, size_t cursor, cell_cursor_token *out)
{
    memset(out, 0, sizeof *out);
    size_t len = strlen(code);
    if (cursor > len)
        cursor = len;
    out->start = out->end = out->base_start = out->base_end = cursor;

    /* Tokens up to the cursor; the last one tells whether we are in a comment or literal. */
    size_t cap = 64, n = 0;
    c_token *tok = malloc(cap * sizeof *tok);
    if (!tok)
        return -1;
    c_lexer lx;
    c_lexer_init(&lx, code, cursor, 1);
    for (;;) {
        if (n == cap) {
            c_token *v = realloc(tok, 2 * cap * sizeof *v);
            if (!v) {
                free(tok);
                return -1;
            }
            tok = v;
            cap *= 2;
        }
        if (c_lexer_next(&lx, &tok[n]) == C_TOKEN_EOF)
            break;
        if (tok[n].kind == C_TOKEN_COMMENT) {
            if ((tok[n].flags & C_TOKEN_UNTERMINATED) || (code[tok[n].start + 1] == '/' && tok[n].end == cursor)) {
                free(tok);
                return -1;
            }
            continue;
        }
        n++;
    }
    int rc = 0;
    out->call_start = out->call_end = cursor;
    {
        /* The innermost '(' still open before the cursor, right after a name. */
        int depth = 0;
        for (size_t k = n; k-- > 0;) {
            if (tok[k].kind != C_TOKEN_PUNCT || tok[k].end - tok[k].start != 1)
                continue;
            char c = code[tok[k].start];
            if (c == ')' || c == ']' || c == '}')
                depth++;
            else if (c == '(' || c == '[' || c == '{') {
                if (depth > 0) {
                    depth--;
                    continue;
                }
                if (c == '(' && k > 0 && tok[k - 1].kind == C_TOKEN_IDENTIFIER) {
                    out->call_start = tok[k - 1].start;
                    out->call_end = tok[k - 1].end;
                }
                if (c != '(' || (k > 0 && tok[k - 1].kind == C_TOKEN_IDENTIFIER) || c == '{')
                    break;
            }
        }
    }
    size_t e = cursor;
    while (e < len && is_ident_char((unsigned char)code[e]))
        e++;
    out->end = e;
    const c_token *last = n ? &tok[n - 1] : NULL;
    if (last && (last->kind == C_TOKEN_STRING || last->kind == C_TOKEN_CHAR) && (last->flags & C_TOKEN_UNTERMINATED)) {
        rc = -1;
        goto done;
    }
    if (last && last->kind == C_TOKEN_PREPROC) {
        /* `#incl|` completes a directive, `#include <st|` a header path, `#define X Y|` a name. */
        const char *p = code + last->start + 1;
        while (p < code + cursor && (*p == ' ' || *p == '\t'))
            p++;
        const char *w = p;
        while (p < code + cursor && *p >= 'a' && *p <= 'z')
            p++;
        if (p == code + cursor) {
            out->kind = '#';
            out->start = (size_t)(w - code);
            goto done;
        }
        if (p - w == 7 && !memcmp(w, "include", 7)) {
            const char *q = strpbrk(p, "<\"");
            if (q && q < code + cursor) {
                out->kind = '"';
                out->start = (size_t)(q + 1 - code);
                while (out->end < len && code[out->end] != '>' && code[out->end] != '"' && code[out->end] != '\n')
                    out->end++;
                goto done;
            }
        }
        size_t s = cursor;
        while (s > last->start && is_ident_char((unsigned char)code[s - 1]))
            s--;
        out->start = s;
        goto done;
    }
    size_t k = n; /* index of the first token that is not part of the prefix */
    if (last && (last->kind == C_TOKEN_IDENTIFIER || last->kind == C_TOKEN_KEYWORD) && last->end == cursor) {
        out->start = last->start;
        k = n - 1;
    }
    if (k == 0)
        goto done;
    const c_token *op = &tok[k - 1];
    if (c_token_is(code, op, "%") && ((op->flags & C_TOKEN_LINE_START) || (k >= 2 && c_token_is(code, &tok[k - 2], "%") && (tok[k - 2].flags & C_TOKEN_LINE_START)))) {
        out->kind = '%';
        goto done;
    }
    if (!c_token_is(code, op, ".") && !c_token_is(code, op, "->"))
        goto done;
    out->kind = c_token_is(code, op, ".") ? '.' : '>';
    /* The postfix expression before the operator: names, calls, subscripts, members. */
    size_t j = k - 1, base = op->start;
    while (j > 0) {
        const c_token *b = &tok[j - 1];
        if (c_token_is(code, b, "]") || c_token_is(code, b, ")")) {
            char open = code[b->start] == ']' ? '[' : '(', close = code[b->start];
            int depth = 0;
            size_t m = j - 1;
            for (;;) {
                if (c_token_is(code, &tok[m], (char[]){close, 0}))
                    depth++;
                else if (c_token_is(code, &tok[m], (char[]){open, 0}) && --depth == 0)
                    break;
                if (m == 0)
                    goto base_done;
                m--;
            }
            base = tok[m].start;
            j = m;
            continue;
        }
        if (b->kind == C_TOKEN_IDENTIFIER) {
            base = b->start;
            j--;
            if (j > 0 && (c_token_is(code, &tok[j - 1], ".") || c_token_is(code, &tok[j - 1], "->"))) {
                j--;
                continue;
            }
            break;
        }
        break;
    }
base_done:
    out->base_start = base;
    out->base_end = op->start;
    while (out->base_end > base && (code[out->base_end - 1] == ' ' || code[out->base_end - 1] == '\t' || code[out->base_end - 1] == '\n'))
        out->base_end--;
done:
    free(tok);
    return rc;
}

int cell_line_count(const char *code)
{
    int n = 1;
    for (const char *p = code; *p; p++)
        if (*p == '\n' && p[1])
            n++;
    return n;
}

const char *cell_line_span(const char *code, int line, size_t *len)
{
    const char *p = code;
    for (int l = 1; l < line; l++) {
        p = strchr(p, '\n');
        if (!p)
            return NULL;
        p++;
    }
    *len = strcspn(p, "\n");
    return p;
}

/* Start of line `line` (1-based) in code and its length; past the last line, the end. */
static const char *line_at(const char *code, int line, size_t *len)
{
    const char *p = cell_line_span(code, line, len);
    if (!p) {
        p = code + strlen(code);
        *len = 0;
    }
    return p;
}

static int is_blank(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r')
            return 0;
    return 1;
}

char *cell_explain_diagnostic(const char *code, const char *msg, int *line_out, int *column_out)
{
    if (!code || !msg || strncmp(msg, "cell:", 5) != 0)
        return NULL;
    char *endp;
    long l = strtol(msg + 5, &endp, 10);
    if (endp == msg + 5 || *endp != ':')
        return NULL;
    const char *what = endp + 1;
    while (*what == ' ')
        what++;
    int line = (int)l, nlines = cell_line_count(code);
    if (line < 1)
        line = 1;
    /* tcc reports a syntax error found at the end of a line on the next line (it has
     * read past the newline): go back to the last line that has code. */
    int syntax = strstr(what, "expected") != NULL;
    size_t len;
    const char *p;
    if (line > nlines)
        line = nlines;
    if (syntax)
        while (line > 1 && (p = line_at(code, line, &len), is_blank(p, len)))
            line--;
    p = line_at(code, line, &len);
    int column = 1;
    /* "';' expected (got "}")" on a line that starts with that "}": what is missing is
     * at the end of the line before, which is where the user should look. */
    const char *got = syntax ? strstr(what, "(got \"") : NULL;
    if (got && line > 1) {
        got += 6;
        const char *ge = strchr(got, '"');
        size_t skip = 0;
        while (skip < len && (p[skip] == ' ' || p[skip] == '\t'))
            skip++;
        if (ge && ge > got && (size_t)(ge - got) <= len - skip && !memcmp(p + skip, got, (size_t)(ge - got))) {
            int prev = line - 1;
            size_t plen;
            const char *pp;
            while (prev > 1 && (pp = line_at(code, prev, &plen), is_blank(pp, plen)))
                prev--;
            pp = line_at(code, prev, &plen);
            while (plen > 0 && (pp[plen - 1] == ' ' || pp[plen - 1] == '\t' || pp[plen - 1] == '\r'))
                plen--;
            if (plen > 0) {
                for (size_t i = 0; i < plen; i++)
                    if (((unsigned char)pp[i] & 0xC0) != 0x80)
                        column++;
                if (line_out)
                    *line_out = prev;
                if (column_out)
                    *column_out = column;
                return cell_format_error(code, prev, column, what);
            }
        }
    }
    const char *q = strchr(what, '\'');
    const char *qe = q ? strchr(q + 1, '\'') : NULL;
    size_t at = (size_t)-1;
    if (q && qe && qe > q + 1 && is_ident_char((unsigned char)q[1])) {
        /* The quoted name as a whole word on that line. */
        size_t nl = (size_t)(qe - q - 1);
        for (size_t i = 0; i + nl <= len; i++)
            if (!memcmp(p + i, q + 1, nl) && (i == 0 || !is_ident_char((unsigned char)p[i - 1])) &&
                (i + nl == len || !is_ident_char((unsigned char)p[i + nl]))) {
                at = i;
                break;
            }
    }
    if (at == (size_t)-1 && got && strchr(got, '"')) {
        /* "(got "}")": point at that token on the line. */
        const char *g = strstr(got, "(got \"");
        g = g ? g + 6 : got;
        const char *ge = strchr(g, '"');
        size_t gl = ge ? (size_t)(ge - g) : 0;
        for (size_t i = 0; gl && i + gl <= len; i++)
            if (!memcmp(p + i, g, gl)) {
                at = i;
                break;
            }
    }
    if (at == (size_t)-1 && strstr(what, "arguments to function")) {
        /* "too few arguments to function": the first call on the line. */
        for (size_t i = 0; i < len && at == (size_t)-1; i++) {
            if (!is_ident_char((unsigned char)p[i]) || (i > 0 && is_ident_char((unsigned char)p[i - 1])))
                continue;
            size_t e = i;
            while (e < len && is_ident_char((unsigned char)p[e]))
                e++;
            size_t k = e;
            while (k < len && (p[k] == ' ' || p[k] == '\t'))
                k++;
            static const char *const not_calls[] = {"if", "for", "while", "switch", "return", "sizeof", NULL};
            int keyword = 0;
            for (const char *const *w = not_calls; *w; w++)
                keyword |= strlen(*w) == e - i && !memcmp(*w, p + i, e - i);
            if (k < len && p[k] == '(' && !keyword && !(p[i] >= '0' && p[i] <= '9'))
                at = i;
            i = e;
        }
    }
    if (at == (size_t)-1 && (strstr(what, "struct or union expected") || strstr(what, "pointer expected"))) {
        /* `d.x` on a double: the member access (the name before the operator). */
        for (size_t i = 1; i < len && at == (size_t)-1; i++)
            if ((p[i] == '.' && is_ident_char((unsigned char)p[i - 1]) && !(p[i - 1] >= '0' && p[i - 1] <= '9')) ||
                (p[i] == '>' && p[i - 1] == '-')) {
                size_t k = p[i] == '>' ? i - 1 : i;
                while (k > 0 && (is_ident_char((unsigned char)p[k - 1]) || p[k - 1] == ']' || p[k - 1] == '['))
                    k--;
                at = k;
            }
    }
    if (at == (size_t)-1 && (strstr(what, "cannot convert") || strstr(what, "assignment"))) {
        /* A conversion in an initializer or assignment: the value after '='. */
        for (size_t i = 0; i < len; i++)
            if (p[i] == '=' && (i + 1 >= len || p[i + 1] != '=') && (i == 0 || !strchr("=!<>", p[i - 1]))) {
                size_t k = i + 1;
                while (k < len && (p[k] == ' ' || p[k] == '\t'))
                    k++;
                if (k < len)
                    at = k;
                break;
            }
    }
    if (at == (size_t)-1) {
        at = 0;
        while (at < len && (p[at] == ' ' || p[at] == '\t'))
            at++;
    }
    for (size_t i = 0; i < at; i++)
        if (((unsigned char)p[i] & 0xC0) != 0x80)
            column++;
    if (line_out)
        *line_out = line;
    if (column_out)
        *column_out = column;
    /* tcc calls the type of a cell's global "extern int *": the user wrote "int *". */
    strbuf clean = {0};
    for (const char *w = what; *w;) {
        if (!strncmp(w, "'extern ", 8)) {
            sb_putn(&clean, "'", 1);
            w += 8;
        } else {
            sb_putn(&clean, w, 1);
            w++;
        }
    }
    char *text = sb_take(&clean);
    char *out = cell_format_error(code, line, column, text ? text : what);
    free(text);
    return out;
}
