/* compile.c — one cell, one libtcc state, code kept in memory the executor owns.
 *
 * The translation unit is compiled in memory, bound to earlier cells' globals and
 * functions with tcc_add_symbol (runtime and libc functions resolve through dlsym, the
 * kernel binary exports them), then relocated into an mmap'ed region that we keep for
 * the rest of the session: the TCCState is deleted right away, which is what keeps a
 * long session from growing by a compiler state per cell.
 *
 * Diagnostics come back as "cell:L: error: msg" (the unit maps the cell's own lines
 * with `#line L "cell"`); they become traceback lines that quote the line and name the
 * cell, which is what the notebook shows under the cell. The column, which tcc does not
 * print, comes from where tcc's lexer stood in the unit when it reported (see "where tcc
 * was in the unit" below); a few warnings GCC 14 makes errors are errors here too. */
#include "exec_internal.h"
#include "strmap.h"
#include "cell/c_lexer.h"

#include <dlfcn.h>
#include <libtcc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* ---- where cells' code lives ----
 * One big private RWX reservation made by the first executor, filled from the bottom:
 * every generation inherits it through fork, so a session's code is ONE mapping. With an
 * mmap per cell, a 500-cell session had 500+ mappings that could not merge (each was
 * made in another process of the chain), and fork, which copies every mapping, took
 * ~3 ms instead of ~0.7 ms. Pages are only used when written (MAP_NORESERVE). A cell
 * process that fails is discarded with its copy of `arena_next`, so nothing leaks. */
#define ARENA_SIZE ((size_t)512 << 20)
static unsigned char *arena_base, *arena_next;

void compile_reserve_arena(void)
{
    if (arena_base)
        return;
    void *p = mmap(NULL, ARENA_SIZE, PROT_READ | PROT_WRITE | PROT_EXEC,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p != MAP_FAILED)
        arena_base = arena_next = p;
}

static void *arena_take(size_t size)
{
    if (arena_base && (size_t)(arena_base + ARENA_SIZE - arena_next) >= size + 64) {
        void *p = arena_next;
        arena_next = (unsigned char *)(((uintptr_t)arena_next + size + 63) & ~(uintptr_t)63);
        return p;
    }
    /* Arena full (or never reserved): a mapping of its own. */
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

static void arena_give_back(void *mem, size_t size)
{
    unsigned char *p = mem;
    if (arena_base && p >= arena_base && p < arena_base + ARENA_SIZE) {
        if (arena_next == (unsigned char *)(((uintptr_t)p + size + 63) & ~(uintptr_t)63))
            arena_next = p; /* the last one taken: reuse its space */
    } else {
        munmap(mem, size);
    }
}

typedef struct diag_ctx {
    const char *code;
    int number;
    json_t *lines;
    char *first_error;
    int errors;
    const char *unit;      /* the text given to tcc_compile_string, while it runs; else NULL */
    size_t unit_len;
    size_t promoted_at;    /* unit position of the last warning made an error (+1), 0: none */
    char *first_raw;       /* tcc's own text of the first error */
    int unplaced;          /* errors in the cell given without a position */
    int collect_undefined; /* relocate_size's first pass: hold "undefined symbol" back */
    char **undefined;      /* the messages held back */
    size_t nundefined;
    int other_errors;      /* errors besides those while collecting */
} diag_ctx;

/* Line `line` (1-based) of `code`, into buf. Returns 0 when there is no such line. */
static int code_line(const char *code, int line, char *buf, size_t size)
{
    size_t n;
    const char *p = code && line >= 1 ? cell_line_span(code, line, &n) : NULL;
    if (!p)
        return 0;
    if (n >= size)
        n = size - 1;
    memcpy(buf, p, n);
    buf[n] = '\0';
    return 1;
}

static int ident_char(int c)
{
    return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* tcc 0.9.27 gives no columns; cell_explain_diagnostic finds one from the message (the
 * quoted name, the token tcc "got", the call, the member access, the value after '=')
 * or falls back to the first character of the line. Only the found ones are shown: a
 * caret under the wrong token is worse than none. A column past the line's first
 * character was found; at the first character it was found only if the message names
 * what stands there. */
static int column_is_known(const char *line, int column, const char *msg)
{
    if (column < 1)
        return 0;
    int first = 1;
    const char *p = line;
    while (*p == ' ' || *p == '\t') {
        p++;
        first++;
    }
    if (column != first)
        return 1;
    /* p is at the column (leading blanks are ASCII) */
    const char *q = strchr(msg, '\'');
    const char *qe = q ? strchr(q + 1, '\'') : NULL;
    if (q && qe && qe > q + 1) {
        size_t n = (size_t)(qe - q - 1);
        if (strncmp(p, q + 1, n) == 0 && !ident_char((unsigned char)p[n]))
            return 1;
    }
    const char *got = strstr(msg, "(got \"");
    if (got) {
        got += 6;
        size_t n = strcspn(got, "\"");
        if (n > 0 && strncmp(p, got, n) == 0)
            return 1;
    }
    size_t id = 0;
    while (ident_char((unsigned char)p[id]))
        id++;
    const char *after = p + id;
    while (*after == ' ' || *after == '\t')
        after++;
    if (id > 0 && strstr(msg, "arguments to function") && *after == '(')
        return 1;
    if (id > 0 && (strstr(msg, "struct or union expected") || strstr(msg, "pointer expected")) &&
        (*after == '.' || *after == '[' || strncmp(after, "->", 2) == 0))
        return 1;
    return 0;
}

/* ---- where tcc was in the unit when it reported ----
 * tcc 0.9.27 prints "cell:L: msg" without a column. Its lexer's input is the global
 * `file` of libtcc.a, a `struct BufferedFile *` whose first two members are, in every tcc
 * release, `uint8_t *buf_ptr, *buf_end`: the next byte to read and the end of the buffer.
 * tcc_compile_string copies the unit into the top-level buffer, so while tcc reads the
 * unit's own text, buf_end - strlen(unit) is the unit's first byte and buf_ptr is just
 * past the token tcc is at. Only those two leading members are declared here, and they
 * are trusted only as far as each diagnostic checks them:
 *  - `file` is read only inside the error callback while tcc_compile_string runs (tcc
 *    calls it synchronously; `file` is then a live buffer or NULL);
 *  - the bytes before buf_end must be our unit, byte for byte, and lie after the
 *    struct's head (the buffer is the struct's last member, so nothing outside the
 *    allocation is read): a header's buffer is never taken for the unit;
 *  - `macro_ptr` (also a libtcc.a global) must be NULL: while a macro expands, buf_ptr is
 *    past the whole invocation, not at the token;
 *  - the cell line that position maps to (through the unit's `#line N "cell"`) must be
 *    the line tcc printed.
 * Anything else falls back to finding the column from the message's words. */
struct tcc_buffered_file_head {
    unsigned char *buf_ptr;
    unsigned char *buf_end;
};
extern struct tcc_buffered_file_head *tcc_lexer_file __asm__("file");
extern const int *tcc_lexer_macro_ptr __asm__("macro_ptr");

/* Byte offset in d->unit just past the token tcc is at, or 0 when it cannot be known. */
static size_t tcc_unit_position(const diag_ctx *d)
{
    const struct tcc_buffered_file_head *f = tcc_lexer_file;
    if (!d->unit || !f || !f->buf_ptr || !f->buf_end)
        return 0;
    if ((size_t)(f->buf_end - (const unsigned char *)f) < sizeof *f + d->unit_len)
        return 0;
    const unsigned char *start = f->buf_end - d->unit_len;
    if (f->buf_ptr < start || f->buf_ptr > f->buf_end || memcmp(start, d->unit, d->unit_len) != 0)
        return 0;
    size_t pos = (size_t)(f->buf_ptr - start);
    if (tcc_lexer_macro_ptr) {
        /* A token string is being read. When it is used up (*macro_ptr is its 0 end) and
         * it was the one-token string tcc makes to put a token back (after a string
         * literal, to look for another one), the token came from the file just before
         * buf_ptr. The show macro of a trailing expression ends there too: its
         * invocation is the whole line, so that line is refused. */
        if (*tcc_lexer_macro_ptr != 0)
            return 0;
        size_t ls = pos;
        while (ls > 0 && d->unit[ls - 1] != '\n')
            ls--;
        if (strncmp(d->unit + ls, "cairn_show_value", 16) == 0)
            return 0;
    }
    return pos;
}

/* The cell line of unit byte pos as tcc counts it (`#line N "cell"` and `#line N` make the
 * next line N), or 0 when pos is not in the cell's text; *line_start gets the offset of
 * pos's line. */
static int unit_cell_line(const char *unit, size_t pos, size_t *line_start)
{
    int line = 1, in_cell = 0;
    const char *p = unit;
    for (;;) {
        const char *eol = strchr(p, '\n');
        if (!eol || (size_t)(eol - unit) >= pos) {
            *line_start = (size_t)(p - unit);
            return in_cell ? line : 0;
        }
        const char *q = p;
        while (*q == ' ' || *q == '\t')
            q++;
        if (*q == '#') {
            q++;
            while (*q == ' ' || *q == '\t')
                q++;
            if (strncmp(q, "line", 4) == 0)
                q += 4;
            while (*q == ' ' || *q == '\t')
                q++;
            if (*q >= '0' && *q <= '9') {
                char *e;
                long n = strtol(q, &e, 10);
                while (*e == ' ' || *e == '\t')
                    e++;
                if (*e == '"')
                    in_cell = strncmp(e, "\"cell\"", 6) == 0;
                line = (int)n;
                p = eol + 1;
                continue;
            }
        }
        line++;
        p = eol + 1;
    }
}

static int token_same(const char *a, const c_token *ta, const char *b, const c_token *tb)
{
    return ta->end - ta->start == tb->end - tb->start && memcmp(a + ta->start, b + tb->start, ta->end - ta->start) == 0;
}

/* The cell line's token that stands for unit token u. The translator rewrites some lines
 * (`int q = 1 +* ;` becomes `q = 1 +*;`, a trailing expression gets wrapped), so tokens
 * are matched, not bytes: the cell token with the same text and the longest run of equal
 * neighbours around it. Returns its index, or (size_t)-1. */
static size_t align_token(const char *ut, const c_token *U, size_t nu, size_t u, const char *ct, const c_token *C,
                          size_t nc)
{
    size_t best = (size_t)-1, best_run = 0;
    for (size_t j = 0; j < nc; j++) {
        if (!token_same(ut, &U[u], ct, &C[j]))
            continue;
        size_t run = 1;
        for (size_t k = 1; k <= u && k <= j && token_same(ut, &U[u - k], ct, &C[j - k]); k++)
            run++;
        for (size_t k = 1; u + k < nu && j + k < nc && token_same(ut, &U[u + k], ct, &C[j + k]); k++)
            run++;
        if (run > best_run) {
            best_run = run;
            best = j;
        }
    }
    return best;
}

/* Index of the unmatched '(' before token at (the call or parenthesis `at` is inside),
 * or (size_t)-1. */
static size_t open_paren_before(const char *s, const c_token *t, size_t at)
{
    int depth = 0;
    for (size_t k = at; k-- > 0;) {
        if (c_token_is(s, &t[k], ")") || c_token_is(s, &t[k], "]") || c_token_is(s, &t[k], "}"))
            depth++;
        else if (c_token_is(s, &t[k], "(") || c_token_is(s, &t[k], "[") || c_token_is(s, &t[k], "{")) {
            if (depth == 0)
                return c_token_is(s, &t[k], "(") ? k : (size_t)-1;
            depth--;
        } else if (depth == 0 && c_token_is(s, &t[k], ";"))
            return (size_t)-1;
    }
    return (size_t)-1;
}

/* The call whose argument list token `at` is in: *fn = the function name's token, *arg =
 * 1-based argument index, *arg_start = that argument's first token. 0 when not in a call. */
static int call_around(const char *s, const c_token *t, size_t at, size_t *fn, int *arg, size_t *arg_start)
{
    size_t open = open_paren_before(s, t, at);
    if (open == (size_t)-1 || open == 0 || t[open - 1].kind != C_TOKEN_IDENTIFIER)
        return 0;
    int commas = 0, depth = 0;
    size_t start = open + 1;
    for (size_t k = open + 1; k < at; k++) {
        if (c_token_is(s, &t[k], "(") || c_token_is(s, &t[k], "[") || c_token_is(s, &t[k], "{"))
            depth++;
        else if (c_token_is(s, &t[k], ")") || c_token_is(s, &t[k], "]") || c_token_is(s, &t[k], "}"))
            depth--;
        else if (depth == 0 && c_token_is(s, &t[k], ",")) {
            commas++;
            start = k + 1;
        }
    }
    *fn = open - 1;
    *arg = commas + 1;
    *arg_start = start;
    return 1;
}

/* tcc's warnings that GCC 14 makes errors (-Wint-conversion, -Wincompatible-pointer-types,
 * -Wimplicit-function-declaration): the cell would run with a pointer taken for a size
 * (mat_zeros(2, "x") allocating 31 GB) or call a function through a guessed prototype. */
static int warning_is_error(const char *what)
{
    return strstr(what, "makes integer from pointer without a cast") ||
           strstr(what, "makes pointer from integer without a cast") ||
           strstr(what, "from incompatible pointer type") || strncmp(what, "implicit declaration of function", 32) == 0;
}

/* Messages about a value being converted: the column is the value, not what follows it. */
static int is_conversion(const char *what)
{
    return strstr(what, "without a cast") || strstr(what, "incompatible pointer type") ||
           strncmp(what, "cannot convert", 14) == 0 || strstr(what, "discards qualifiers") ||
           strstr(what, "cast between pointer and integer");
}

typedef struct diag_place {
    int line, column; /* cell line and column (UTF-8 characters) */
    char message[1024];  /* rewritten message, or "" for tcc's own */
    size_t unit_pos;  /* where tcc was in the unit */
} diag_place;

/* The cell line and token (index into that line's tokens *C) of unit bytes [s, e). */
typedef struct cell_tok {
    int line;
    const char *cl; /* the cell line */
    size_t clen;
    c_token *C;     /* its tokens */
    size_t nc;
    size_t at;      /* the token standing for the unit's */
} cell_tok;

static int cell_token_of(const diag_ctx *d, size_t s, size_t e, cell_tok *out)
{
    memset(out, 0, sizeof *out);
    size_t ls;
    const char *unit = d->unit;
    out->line = unit_cell_line(unit, s, &ls);
    if (out->line < 1 || !(out->cl = cell_line_span(d->code, out->line, &out->clen)))
        return 0;
    size_t ulen = strcspn(unit + ls, "\n");
    size_t nu = 0, u = (size_t)-1;
    c_token *U = c_lex_all(unit + ls, ulen, &nu);
    out->C = c_lex_all(out->cl, out->clen, &out->nc);
    if (U && out->C)
        for (size_t k = 0; k < nu; k++)
            if (U[k].start == s - ls && U[k].end == e - ls)
                u = k;
    out->at = (size_t)-1;
    if (u != (size_t)-1)
        out->at = ulen == out->clen && memcmp(unit + ls, out->cl, ulen) == 0
                      ? u
                      : align_token(unit + ls, U, nu, u, out->cl, out->C, out->nc);
    free(U);
    if (out->at == (size_t)-1 || out->at >= out->nc) {
        free(out->C);
        out->C = NULL;
        return 0;
    }
    return 1;
}

/* Where in the cell a diagnostic points, from where tcc was in the unit. Returns 0 when
 * that cannot be known (the caller then uses cell_explain_diagnostic's reading). */
static int diag_locate(const diag_ctx *d, const char *what, int printed_line, diag_place *out)
{
    memset(out, 0, sizeof *out);
    size_t pos = tcc_unit_position(d);
    const char *unit = d->unit;
    if (pos == 0 || !d->code)
        return 0;
    out->unit_pos = pos;
    /* The last two tokens tcc read: t1 is the one it is at, t0 the one before (tcc often
     * reads on before it checks: `+ ;` is "identifier expected" with tcc past the ';').
     * Lexed from a few lines back; directive lines are single tokens, skipped. */
    size_t from = pos;
    for (int nl = 0; from > 0 && nl < 6; from--)
        if (unit[from - 1] == '\n')
            nl++;
    while (from > 0 && unit[from - 1] != '\n')
        from--;
    size_t n = 0;
    c_token *T = c_lex_all(unit + from, pos - from, &n);
    if (!T)
        return 0;
    size_t t1 = (size_t)-1, t0 = (size_t)-1;
    for (size_t k = 0; k < n; k++)
        if (T[k].kind != C_TOKEN_PREPROC) {
            t0 = t1;
            t1 = k;
        }
    /* The check: tcc's position is in the cell's text, on the line tcc printed. */
    size_t ls;
    cell_tok c1 = {0}, c0 = {0};
    int ok = t1 != (size_t)-1 && unit_cell_line(unit, from + T[t1].start, &ls) == printed_line;
    if (ok) {
        cell_token_of(d, from + T[t1].start, from + T[t1].end, &c1);
        if (t0 != (size_t)-1)
            cell_token_of(d, from + T[t0].start, from + T[t0].end, &c0);
    }
    free(T);
    if (!ok || (!c1.C && !c0.C)) {
        free(c1.C);
        free(c0.C);
        return 0;
    }
    if (!c1.C) {
        /* tcc is past the cell's text (at the `}` the unit closes the cell with): only
         * what it read last can be pointed at. */
        c1 = c0;
        c0.C = NULL;
    }
    /* Which token the message is about. */
    const cell_tok *c = &c1;
    size_t point = c1.at;
    const char *q = strchr(what, '\'');
    const char *qe = q ? strchr(q + 1, '\'') : NULL;
    size_t fn, arg_start;
    int arg;
    int closes = c_token_is(c1.cl, &c1.C[c1.at], ";") || c_token_is(c1.cl, &c1.C[c1.at], ")") ||
                 c_token_is(c1.cl, &c1.C[c1.at], "]") || c_token_is(c1.cl, &c1.C[c1.at], ",") ||
                 c_token_is(c1.cl, &c1.C[c1.at], "}");
    if (strstr(what, "(got \"")) {
        /* tcc is at the token it got. When that starts a line, what is missing is at the
         * end of the line before: cell_explain_diagnostic says so. */
        if ((c1.C[c1.at].flags & C_TOKEN_LINE_START) && c1.line > 1)
            ok = 0;
    } else if (strcmp(what, "identifier expected") == 0) {
        /* tcc read on past the token that is not a name (`1 +* ;`), or stopped at it. */
        if (c0.C && c0.C[c0.at].kind != C_TOKEN_IDENTIFIER) {
            c = &c0;
            point = c0.at;
        }
    } else if (strstr(what, "arguments to function")) {
        if (call_around(c1.cl, c1.C, c1.at, &fn, &arg, &arg_start)) {
            int few = strstr(what, "too few") != NULL;
            const char *name = c1.cl + c1.C[fn].start;
            int nlen = (int)(c1.C[fn].end - c1.C[fn].start);
            if (few && arg_start == c1.at && arg == 1)
                arg = 0; /* f() */
            point = few ? fn : arg_start;
            if (few)
                snprintf(out->message, sizeof out->message, "too few arguments to function '%.*s' (%d given)", nlen,
                         name, arg);
            else
                snprintf(out->message, sizeof out->message, "too many arguments to function '%.*s' (it takes %d)",
                         nlen, name, arg - 1);
        }
    } else if (is_conversion(what)) {
        int in_args = (c_token_is(c1.cl, &c1.C[c1.at], ",") || c_token_is(c1.cl, &c1.C[c1.at], ")"));
        if (in_args && call_around(c1.cl, c1.C, c1.at, &fn, &arg, &arg_start) && arg_start < c1.at) {
            /* tcc says "assignment" for an argument too: GCC's words for it. */
            const char *name = c1.cl + c1.C[fn].start;
            int nlen = (int)(c1.C[fn].end - c1.C[fn].start);
            if (strncmp(what, "assignment ", 11) == 0)
                snprintf(out->message, sizeof out->message, "passing argument %d of '%.*s' %s", arg, nlen, name,
                         what + 11);
            else
                snprintf(out->message, sizeof out->message, "passing argument %d of '%.*s': %s", arg, nlen, name,
                         what);
            point = arg_start;
        } else {
            /* The value after the '=' (or `return`) of the statement tcc was in. */
            for (size_t k = c1.at; k-- > 0;) {
                if (c_token_is(c1.cl, &c1.C[k], ";") || c_token_is(c1.cl, &c1.C[k], "{") ||
                    c_token_is(c1.cl, &c1.C[k], "}"))
                    break;
                if ((c_token_is(c1.cl, &c1.C[k], "=") || c_token_is(c1.cl, &c1.C[k], "return")) && k + 1 < c1.at) {
                    point = k + 1;
                    if (c_token_is(c1.cl, &c1.C[k], "return") && strncmp(what, "assignment ", 11) == 0)
                        snprintf(out->message, sizeof out->message, "return %s", what + 11);
                    break;
                }
            }
        }
    } else if (q && qe && qe > q + 1 && (q[1] == '_' || (q[1] >= 'a' && q[1] <= 'z') || (q[1] >= 'A' && q[1] <= 'Z'))) {
        /* 'x' undeclared: the name, the last time it stands before where tcc was. */
        size_t len = (size_t)(qe - q - 1), found = (size_t)-1;
        for (size_t k = 0; k < c1.nc && (k <= c1.at || found == (size_t)-1); k++)
            if (c1.C[k].end - c1.C[k].start == len && memcmp(c1.cl + c1.C[k].start, q + 1, len) == 0)
                found = k;
        if (found != (size_t)-1)
            point = found;
        else if (c0.C && c0.C[c0.at].end - c0.C[c0.at].start == len && memcmp(c0.cl + c0.C[c0.at].start, q + 1, len) == 0) {
            c = &c0;
            point = c0.at;
        }
    } else if (strstr(what, "struct or union expected") && c1.at >= 2 && c1.C[c1.at - 2].kind == C_TOKEN_IDENTIFIER &&
               (c_token_is(c1.cl, &c1.C[c1.at - 1], ".") || c_token_is(c1.cl, &c1.C[c1.at - 1], "->"))) {
        point = c1.at - 2; /* `d.x` on a double: the name before the member access */
    } else if (closes && c0.C) {
        /* About what was just read (`pointer expected`): tcc is at the token after it. */
        c = &c0;
        point = c0.at;
    }
    if (ok) {
        out->line = c->line;
        out->column = c->C[point].column;
    }
    free(c1.C);
    free(c0.C);
    return ok;
}

/* tcc reports "file:line: kind: message" or "tcc: error: message". */
static void on_diagnostic(void *opaque, const char *msg)
{
    diag_ctx *d = opaque;
    if (d->collect_undefined) {
        const char *u = strstr(msg, "undefined symbol '");
        char **more = u ? realloc(d->undefined, (d->nundefined + 1) * sizeof *more) : NULL;
        if (more) {
            d->undefined = more;
            if ((more[d->nundefined] = strdup(msg)) != NULL) {
                d->nundefined++;
                return;
            }
        }
        d->other_errors++;
    }
    /* "In file included from cell:3:\n<header>:12: error: ...": the diagnostic is the last
     * line; the cell line that included the header is what the user can point at. */
    int included_at = 0;
    if (strncmp(msg, "In file included from ", 22) == 0) {
        const char *from = strstr(msg, "from cell:");
        if (from)
            included_at = atoi(from + 10);
        const char *nl = strrchr(msg, '\n');
        if (nl)
            msg = nl + 1;
        if (strncmp(msg, "cell:", 5) == 0)
            included_at = 0; /* the error is on the cell's own line (a missing header) */
    }
    if (included_at > 0 && d->code) {
        int is_error = strstr(msg, ": error: ") != NULL;
        char text[2048], src[512];
        snprintf(text, sizeof text, "cell [%d], line %d: in a header it includes: %s", d->number, included_at, msg);
        json_array_append_new(d->lines, json_string(text));
        if (code_line(d->code, included_at, src, sizeof src)) {
            snprintf(text, sizeof text, "    %s", src);
            json_array_append_new(d->lines, json_string(text));
        }
        if (is_error) {
            if (!d->first_error) {
                snprintf(text, sizeof text, "line %d: in an included header: %s", included_at, msg);
                d->first_error = strdup(text);
            }
            d->errors++;
        }
        return;
    }
    const char *kind_pos = strstr(msg, ": error: ");
    const char *warn_pos = strstr(msg, ": warning: ");
    int is_error = kind_pos && (!warn_pos || kind_pos < warn_pos);
    const char *sep = is_error ? kind_pos : warn_pos;
    char text[2048];
    if (!sep) {
        json_array_append_new(d->lines, json_string(msg));
        return;
    }
    const char *what = sep + (is_error ? 9 : 11);
    /* file:line before sep */
    const char *colon = NULL;
    for (const char *p = sep - 1; p >= msg; p--)
        if (*p == ':') {
            colon = p;
            break;
        }
    int line = colon ? atoi(colon + 1) : 0;
    size_t flen = colon ? (size_t)(colon - msg) : 0;
    int in_cell = flen >= 4 && strncmp(msg, "cell", 4) == 0 && d->code;
    diag_place place;
    int placed = in_cell && diag_locate(d, what, line, &place);
    if (!in_cell)
        place.unit_pos = 0;
    size_t promoted_before = d->promoted_at;
    d->promoted_at = 0;
    if (!is_error && in_cell && warning_is_error(what)) {
        /* Only in the cell's own text: a header's warnings were there when it was
         * included, and every later unit sees them again. */
        is_error = 1;
        d->promoted_at = place.unit_pos + 1;
    } else if (!is_error && promoted_before == place.unit_pos + 1 && strstr(what, "cast between pointer and integer")) {
        return; /* tcc's second word on the conversion just made an error */
    }
    if (!in_cell) {
        json_array_append_new(d->lines, json_string(msg));
        if (is_error && !d->first_error) {
            /* "tcc: error: undefined symbol 'foo'" — no line; name the cause. */
            if (strncmp(msg, "tcc:", 4) == 0 && strstr(what, "undefined symbol"))
                snprintf(text, sizeof text, "%s (declared but never defined, or a typo)", what);
            else
                snprintf(text, sizeof text, "%s", what);
            d->first_error = strdup(text);
        }
        if (is_error)
            d->errors++;
        return;
    }
    /* The message in the user's words: tcc calls the type of a cell's global
     * "extern int *" where the user wrote "int *". */
    char bare[1024];
    const char *from = placed && place.message[0] ? place.message : what;
    size_t k = 0;
    for (const char *w = from; *w && k < sizeof bare - 1;) {
        if (strncmp(w, "'extern ", 8) == 0) {
            bare[k++] = '\'';
            w += 8;
        } else {
            bare[k++] = *w++;
        }
    }
    bare[k] = '\0';
    if (strncmp(what, "implicit declaration of function", 32) == 0)
        snprintf(bare + k, sizeof bare - k, " (a typo, or a missing #include?)");
    int eline = line, ecol = 0, known = 0;
    if (placed) {
        eline = place.line;
        ecol = place.column;
        known = 1;
    } else {
        char *explained = cell_explain_diagnostic(d->code, msg, &eline, &ecol);
        free(explained);
        if (!explained) {
            int last = cell_line_count(d->code);
            eline = line > last ? last : line;
        }
    }
    char src[512];
    int have_src = code_line(d->code, eline, src, sizeof src);
    if (!placed)
        known = have_src && ecol > 0 && column_is_known(src, ecol, bare);
    const char *kind = is_error ? "error" : "warning";
    if (known)
        snprintf(text, sizeof text, "cell [%d], line %d, column %d: %s: %s", d->number, eline, ecol, kind, bare);
    else
        snprintf(text, sizeof text, "cell [%d], line %d: %s: %s", d->number, eline, kind, bare);
    /* A trailing expression is expanded several times by the show macro: say it once. */
    for (size_t i = 0; i < json_array_size(d->lines); i++)
        if (strcmp(json_string_value(json_array_get(d->lines, i)), text) == 0)
            return;
    json_array_append_new(d->lines, json_string(text));
    if (have_src) {
        snprintf(text, sizeof text, "    %s", src);
        json_array_append_new(d->lines, json_string(text));
        if (known) {
            /* The caret under the column; tabs stay tabs so it lines up. */
            char caret[600];
            size_t c = 4;
            int col = 1;
            memcpy(caret, "    ", 4);
            for (const char *q = src; *q && col < ecol && c < sizeof caret - 2; q++) {
                if (((unsigned char)*q & 0xC0) == 0x80)
                    continue;
                caret[c++] = *q == '\t' ? '\t' : ' ';
                col++;
            }
            caret[c++] = '^';
            caret[c] = '\0';
            json_array_append_new(d->lines, json_string(caret));
        }
    }
    if (is_error) {
        if (!placed)
            d->unplaced++;
        if (!d->first_raw)
            d->first_raw = strdup(what);
        if (!d->first_error) {
            if (known)
                snprintf(text, sizeof text, "line %d, column %d: %s", eline, ecol, bare);
            else
                snprintf(text, sizeof text, "line %d: %s", eline, bare);
            d->first_error = strdup(text);
        }
        d->errors++;
    }
}

typedef struct list_ctx {
    uintptr_t start, text_end;
    int number;
    const char *entry;
} list_ctx;

static void on_symbol(void *opaque, const char *name, const void *val)
{
    list_ctx *l = opaque;
    uintptr_t a = (uintptr_t)val;
    if (a < l->start || a >= l->text_end || strchr(name, '@') || name[0] == '_')
        return;
    code_add_function(a, name, l->number, strcmp(name, l->entry) == 0);
}

/* The identifiers of a unit's text, as a set (open addressing on FNV-1a). Comments and
 * string literals are scanned too: a name found there is bound for nothing, harmless. */
typedef struct ident_set {
    const char **keys; /* into the text */
    unsigned *lens;
    size_t cap;
} ident_set;

static int is_ident_start(int c)
{
    return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int ident_set_build(ident_set *set, const char *text)
{
    size_t words = 0;
    for (const char *p = text; *p; p++)
        if (is_ident_start((unsigned char)*p) && (p == text || !ident_char((unsigned char)p[-1])))
            words++;
    set->cap = 64;
    while (set->cap < words * 2)
        set->cap *= 2;
    set->keys = calloc(set->cap, sizeof *set->keys);
    set->lens = calloc(set->cap, sizeof *set->lens);
    if (!set->keys || !set->lens) {
        free(set->keys);
        free(set->lens);
        return -1;
    }
    for (const char *p = text; *p;) {
        if (!is_ident_start((unsigned char)*p) || (p > text && ident_char((unsigned char)p[-1]))) {
            p++;
            continue;
        }
        const char *e = p;
        while (ident_char((unsigned char)*e))
            e++;
        size_t n = (size_t)(e - p);
        for (size_t i = strmap_hash(p, n) & (set->cap - 1);; i = (i + 1) & (set->cap - 1)) {
            if (!set->keys[i]) {
                set->keys[i] = p;
                set->lens[i] = (unsigned)n;
                break;
            }
            if (set->lens[i] == n && memcmp(set->keys[i], p, n) == 0)
                break;
        }
        p = e;
    }
    return 0;
}

static void ident_set_free(ident_set *set)
{
    free(set->keys);
    free(set->lens);
}

/* A header of the user's (`#include "mine.h"`, or anything found through %include) may
 * name earlier cells' globals in its macros, which the unit's text does not show: such
 * units get every symbol bound. */
static int uses_own_headers(const char *source)
{
    if (exec_g.ninclude > 0)
        return 1;
    for (const char *p = strstr(source, "#include \""); p; p = strstr(p + 1, "#include \""))
        if (strncmp(p, "#include \"cairn.h\"", 18) != 0)
            return 1;
    return 0;
}

static int is_redefined(const cell_unit *unit, const char *name)
{
    if (!unit)
        return 0;
    for (size_t i = 0; i < unit->ndefined; i++)
        if (unit->defined[i].name && strcmp(unit->defined[i].name, name) == 0)
            return 1;
    return 0;
}

/* ---- libc without libc.so ----
 * By default tcc adds libc at relocation: it opens libc.so, reads the GNU ld script in it
 * one byte per read() (~350 system calls a cell), dlopens libc.so.6, which is loaded
 * already, and scans libc_nonshared.a and libtcc1.a. In memory output every libc and
 * runtime function resolves through dlsym on this process anyway, so units are compiled
 * with -nostdlib and only the two archives are added: libc_nonshared.a (atexit,
 * pthread_atfork, ...) and libtcc1.a (va_arg, alloca, long double conversions). Archives
 * are read lazily by tcc: only members that define a symbol still undefined are loaded,
 * so they are added after the compile. Where either is missing, tcc does it its way. */
static const char *const runtime_archives[] = {CAIRN_TCC_LIB_DIR "/../libc_nonshared.a", CAIRN_TCC_LIB_DIR "/libtcc1.a"};

static int runtime_archives_found(void)
{
    static int found = -1;
    if (found < 0) {
        found = 1;
        for (size_t i = 0; i < sizeof runtime_archives / sizeof runtime_archives[0]; i++)
            if (access(runtime_archives[i], R_OK) != 0)
                found = 0;
    }
    return found;
}

static int add_runtime_archives(TCCState *s)
{
    if (!runtime_archives_found())
        return 0;
    for (size_t i = 0; i < sizeof runtime_archives / sizeof runtime_archives[0]; i++)
        if (tcc_add_file(s, runtime_archives[i]) < 0)
            return -1;
    return 0;
}

/* The size of the unit's code, as tcc_relocate(s, NULL). With -nostdlib tcc leaves libc's
 * and the runtime's functions undefined (it looks them up itself only when it also loaded
 * libc): the names it reports are looked up in this process with dlsym, as tcc would, and
 * bound; then the size is asked again. A name nobody defines is reported as tcc says it. */
static int relocate_size(TCCState *s, diag_ctx *d)
{
    if (!runtime_archives_found())
        return tcc_relocate(s, NULL);
    d->collect_undefined = 1;
    d->other_errors = 0;
    int size = tcc_relocate(s, NULL);
    d->collect_undefined = 0;
    if (size < 0 && d->nundefined > 0 && d->other_errors == 0) {
        int all = 1;
        for (size_t i = 0; i < d->nundefined; i++) {
            const char *name = strstr(d->undefined[i], "undefined symbol '") + 18;
            char buf[256];
            size_t n = strcspn(name, "'");
            void *address = NULL;
            if (n < sizeof buf) {
                memcpy(buf, name, n);
                buf[n] = '\0';
                address = dlsym(RTLD_DEFAULT, buf);
            }
            if (address)
                tcc_add_symbol(s, buf, address);
            else
                all = 0;
        }
        if (all) {
            for (size_t i = 0; i < d->nundefined; i++)
                free(d->undefined[i]);
            d->nundefined = 0;
            size = tcc_relocate(s, NULL);
        }
    }
    for (size_t i = 0; i < d->nundefined; i++) {
        on_diagnostic(d, d->undefined[i]);
        free(d->undefined[i]);
    }
    free(d->undefined);
    d->undefined = NULL;
    d->nundefined = 0;
    return size;
}

static TCCState *new_state(diag_ctx *d)
{
    warm_forget(); /* tcc_new resets the globals a waiting state's parse lives in */
    TCCState *s = tcc_new();
    if (!s)
        return NULL;
    tcc_set_error_func(s, d, on_diagnostic);
    compile_setup_state(s);
    return s;
}

void compile_setup_state(TCCState *s)
{
    tcc_set_lib_path(s, CAIRN_TCC_LIB_DIR);
    tcc_set_output_type(s, TCC_OUTPUT_MEMORY);
    tcc_add_include_path(s, CAIRN_RUNTIME_INCLUDE_DIR);
    for (size_t i = 0; i < exec_g.ninclude; i++) /* %include */
        tcc_add_include_path(s, exec_g.include_dirs[i]);
    if (runtime_archives_found())
        tcc_set_options(s, "-nostdlib");
    if (exec_g.cflags)
        tcc_set_options(s, exec_g.cflags);
}

/* A trailing expression is compiled inside the show macro, where tcc's position is the
 * end of the macro's invocation: its errors come without a column. The same unit with
 * the macro's name blanked out (`cairn_show_value((e));` read as `(void)((e));`, every
 * byte in place) is compiled once more, only to find where; when it fails with the same
 * first error, its diagnostics are the ones shown. */
static void locate_in_show_lines(diag_ctx *d, const char *unit)
{
    if (!d->first_raw || d->unplaced == 0 || !strstr(unit, "\ncairn_show_value"))
        return;
    char *probe = strdup(unit);
    if (!probe)
        return;
    static const char *const names[] = {"cairn_show_value_typed((", "cairn_show_value(("};
    for (size_t i = 0; i < 2; i++) {
        size_t n = strlen(names[i]) - 2;
        for (char *p = strstr(probe, names[i]); p; p = strstr(p + 1, names[i]))
            if (p > probe && p[-1] == '\n') {
                memset(p, ' ', n - 6);
                memcpy(p + n - 6, "(void)", 6);
            }
    }
    diag_ctx again = {d->code, d->number, json_array(), NULL, 0, probe, strlen(probe), 0, NULL, 0, 0, NULL, 0, 0};
    TCCState *s = new_state(&again);
    if (s) {
        tcc_compile_string(s, probe);
        tcc_delete(s);
    }
    if (again.errors > 0 && again.unplaced == 0 && again.first_raw && strcmp(again.first_raw, d->first_raw) == 0) {
        json_decref(d->lines);
        d->lines = again.lines;
        again.lines = NULL;
        free(d->first_error);
        d->first_error = again.first_error;
        again.first_error = NULL;
    }
    json_decref(again.lines);
    free(again.first_error);
    free(again.first_raw);
    free(probe);
}

int compile_cell(const char *source, const char *code, const char *entry_name, int number,
                 cell_unit *unit, compiled_cell *out)
{
    memset(out, 0, sizeof *out);
    diag_ctx d = {code, number, json_array(), NULL, 0, NULL, 0, 0, NULL, 0, 0, NULL, 0, 0};
    out->diagnostics = d.lines;

    /* A warm state (warm.c) has parsed the prelude already: it reads only the unit's
     * text after its `#include "cairn.h"` line. Otherwise a state of our own parses
     * the unit with the (pruned) flattened prelude. */
    static const char plain[] = "#include \"cairn.h\"\n";
    TCCState *s = NULL;
    char *flat = NULL, *tail = NULL;
    int rc = -1;
    if (strncmp(source, plain, sizeof plain - 1) == 0 && !exec_g.cflags && exec_g.ninclude == 0 && warm_live() &&
        (tail = prelude_warm_tail(source)) != NULL) {
        d.unit = tail;
        d.unit_len = strlen(tail);
        s = warm_finish(tail, on_diagnostic, &d, &rc);
        if (s)
            flat = prelude_rewrite_whole(source); /* the unit as one text, for lines and locating */
    }
    if (!s) {
        free(tail);
        tail = NULL;
        s = new_state(&d);
        if (!s) {
            out->first_error = strdup("cannot create a compiler state (out of memory?)");
            return -1;
        }
        flat = prelude_rewrite(source);
        d.unit = flat ? flat : source;
        d.unit_len = strlen(d.unit);
        rc = tcc_compile_string(s, d.unit);
    }
    free(tail);
    d.unit = NULL; /* tcc's lexer state is gone: later diagnostics (linking) have no position */
    if (rc == 0 && d.errors > 0)
        rc = -1; /* a warning made an error (warning_is_error) */
    if (rc != 0) {
        locate_in_show_lines(&d, flat ? flat : source);
        out->diagnostics = d.lines;
    }
    if (rc == 0) {
        /* Only the names the unit mentions: binding all of a long session's symbols
         * (1600 after 500 cells) cost ~1.5 ms per cell in tcc's symbol table. */
        ident_set used;
        int filter = !uses_own_headers(source) && ident_set_build(&used, source) == 0;
        if (filter) {
            /* Walk the unit's words, not the session: cell 500 binds as fast as cell 1. */
            for (size_t i = 0; i < used.cap; i++) {
                if (!used.keys[i])
                    continue;
                char small[128];
                char *name = used.lens[i] < sizeof small ? small : malloc(used.lens[i] + 1);
                if (!name)
                    continue;
                memcpy(name, used.keys[i], used.lens[i]);
                name[used.lens[i]] = 0;
                const cell_symbol *y = cell_session_find(exec_g.session, name);
                void *wrapper = !y ? guard_wrapper_for(name) : NULL;
                if (wrapper && !is_redefined(unit, name))
                    tcc_add_symbol(s, name, wrapper); /* guard.c: close, fclose, exec*, ... */
                if (y && (y->kind == SYMBOL_VARIABLE || y->kind == SYMBOL_FUNCTION) && y->address &&
                    !is_redefined(unit, name))
                    tcc_add_symbol(s, name, y->address);
                if (name != small)
                    free(name);
            }
        } else {
            size_t n = 0;
            const cell_symbol *syms = cell_session_symbols(exec_g.session, &n);
            for (size_t i = 0; i < n; i++)
                if ((syms[i].kind == SYMBOL_VARIABLE || syms[i].kind == SYMBOL_FUNCTION) && syms[i].address &&
                    !is_redefined(unit, syms[i].name))
                    tcc_add_symbol(s, syms[i].name, syms[i].address);
            size_t nw = 0;
            const guard_wrapper *w = guard_wrappers(&nw);
            for (size_t i = 0; i < nw; i++)
                if (!is_redefined(unit, w[i].name) && !cell_session_find(exec_g.session, w[i].name))
                    tcc_add_symbol(s, w[i].name, w[i].fn);
        }
        if (filter)
            ident_set_free(&used);
    }
    if (rc == 0) {
        /* Large blocks that cells malloc go on huge pages (cell_malloc.c). */
        static const struct { const char *name; void *fn; } wrappers[] = {
            {"malloc", (void *)cell_malloc}, {"calloc", (void *)cell_calloc}, {"realloc", (void *)cell_realloc},
            {"free", (void *)cell_free}};
        for (size_t i = 0; i < sizeof wrappers / sizeof wrappers[0]; i++)
            if (!is_redefined(unit, wrappers[i].name))
                tcc_add_symbol(s, wrappers[i].name, wrappers[i].fn);
    }
    if (rc == 0 && add_runtime_archives(s) < 0)
        rc = -1;
    void *mem = NULL;
    int size = 0;
    if (rc == 0) {
        size = relocate_size(s, &d);
        if (size < 0)
            rc = -1;
    }
    if (rc == 0) {
        mem = arena_take((size_t)size);
        if (!mem) {
            rc = -1;
            if (!d.first_error)
                d.first_error = strdup("cannot map memory for the cell's code");
        } else if (tcc_relocate(s, mem) < 0) {
            rc = -1;
        }
    }
    if (rc == 0) {
        out->entry = (void (*)(void))tcc_get_symbol(s, entry_name);
        if (!out->entry) {
            rc = -1;
            if (!d.first_error)
                d.first_error = strdup("the cell's entry function is missing (translator bug)");
        }
    }
    if (rc == 0 && unit) {
        for (size_t i = 0; i < unit->ndefined; i++) {
            cell_symbol *sym = &unit->defined[i];
            if (sym->kind == SYMBOL_VARIABLE || sym->kind == SYMBOL_FUNCTION)
                sym->address = tcc_get_symbol(s, sym->name);
        }
    }
    if (rc == 0) {
        uintptr_t start = (uintptr_t)mem;
        void *etext = tcc_get_symbol(s, "_etext");
        uintptr_t text_end = etext ? (uintptr_t)etext : start + (uintptr_t)size;
        code_add_region(start, text_end, number, flat ? flat : source, code);
        list_ctx l = {start, text_end, number, entry_name};
        tcc_list_symbols(s, &l, on_symbol);
    }
    free(flat);
    tcc_delete(s);
    if (rc != 0 && mem)
        arena_give_back(mem, (size_t)size);
    if (rc != 0 && !d.first_error)
        d.first_error = strdup("compilation failed");
    out->first_error = d.first_error;
    free(d.first_raw);
    out->ok = rc == 0;
    return rc;
}

void compiled_cell_free(compiled_cell *c)
{
    if (c->diagnostics)
        json_decref(c->diagnostics);
    free(c->first_error);
    memset(c, 0, sizeof *c);
}
