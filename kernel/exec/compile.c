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
 * cell, which is what the notebook shows under the cell. */
#include "exec_internal.h"

#include <libtcc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

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
} diag_ctx;

/* Line `line` (1-based) of `code`, into buf. Returns 0 when there is no such line. */
static int code_line(const char *code, int line, char *buf, size_t size)
{
    if (!code || line < 1)
        return 0;
    const char *p = code;
    for (int l = 1; l < line; l++) {
        p = strchr(p, '\n');
        if (!p)
            return 0;
        p++;
    }
    size_t n = strcspn(p, "\n");
    if (n >= size)
        n = size - 1;
    memcpy(buf, p, n);
    buf[n] = '\0';
    return 1;
}

static int count_lines(const char *code)
{
    int n = 1;
    for (const char *p = code; *p; p++)
        if (*p == '\n' && p[1])
            n++;
    return n;
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

/* tcc reports "file:line: kind: message" or "tcc: error: message". */
static void on_diagnostic(void *opaque, const char *msg)
{
    diag_ctx *d = opaque;
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
    if (sep) {
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
        int in_cell = flen >= 4 && strncmp(msg, "cell", 4) == 0;
        int eline = 0, ecol = 0;
        char *explained = in_cell && d->code ? cell_explain_diagnostic(d->code, msg, &eline, &ecol) : NULL;
        if (explained) {
            /* explained: "line L, column C: error: msg\n  <the line>\n  ^"; keep the
             * cleaned message, and the column only where tcc's message pins it down. */
            size_t first = strcspn(explained, "\n");
            const char *m = strstr(explained, ": ");
            m = m && (size_t)(m - explained) < first ? m + 2 : what;
            size_t mlen = m >= explained && m < explained + first ? first - (size_t)(m - explained) : strlen(m);
            const char *kind_msg = m; /* "error: msg" */
            size_t klen = mlen;
            const char *bare = strncmp(m, "error: ", 7) == 0 ? m + 7 : strncmp(m, "warning: ", 9) == 0 ? m + 9 : m;
            size_t blen = mlen - (size_t)(bare - m);
            char src[512];
            int have_src = code_line(d->code, eline, src, sizeof src);
            int known = have_src && column_is_known(src, ecol, bare);
            if (known)
                snprintf(text, sizeof text, "cell [%d], line %d, column %d: %.*s", d->number, eline, ecol, (int)klen, kind_msg);
            else
                snprintf(text, sizeof text, "cell [%d], line %d: %.*s", d->number, eline, (int)klen, kind_msg);
            json_array_append_new(d->lines, json_string(text));
            if (have_src) {
                snprintf(text, sizeof text, "    %s", src);
                json_array_append_new(d->lines, json_string(text));
                if (known) {
                    /* The caret under the column; tabs stay tabs so it lines up. */
                    char caret[600];
                    size_t k = 0;
                    int col = 1;
                    memcpy(caret, "    ", 4);
                    k = 4;
                    for (const char *q = src; *q && col < ecol && k < sizeof caret - 2; q++) {
                        if (((unsigned char)*q & 0xC0) == 0x80)
                            continue;
                        caret[k++] = *q == '\t' ? '\t' : ' ';
                        col++;
                    }
                    caret[k++] = '^';
                    caret[k] = '\0';
                    json_array_append_new(d->lines, json_string(caret));
                }
            }
            if (is_error && !d->first_error) {
                if (known)
                    snprintf(text, sizeof text, "line %d, column %d: %.*s", eline, ecol, (int)blen, bare);
                else
                    snprintf(text, sizeof text, "line %d: %.*s", eline, (int)blen, bare);
                d->first_error = strdup(text);
            }
            free(explained);
        } else if (in_cell && d->code) {
            int last = count_lines(d->code);
            if (line > last)
                line = last;
            char src[512];
            snprintf(text, sizeof text, "cell [%d], line %d: %s: %s", d->number, line,
                     is_error ? "error" : "warning", what);
            json_array_append_new(d->lines, json_string(text));
            if (code_line(d->code, line, src, sizeof src)) {
                snprintf(text, sizeof text, "    %s", src);
                json_array_append_new(d->lines, json_string(text));
            }
            if (is_error && !d->first_error) {
                snprintf(text, sizeof text, "line %d: %s", line, what);
                d->first_error = strdup(text);
            }
        } else {
            json_array_append_new(d->lines, json_string(msg));
            if (is_error && !d->first_error) {
                /* "tcc: error: undefined symbol 'foo'" — no line; name the cause. */
                if (strncmp(msg, "tcc:", 4) == 0 && strstr(what, "undefined symbol"))
                    snprintf(text, sizeof text, "%s (declared but never defined, or a typo)", what);
                else
                    snprintf(text, sizeof text, "%s", what);
                d->first_error = strdup(text);
            }
        }
        if (is_error)
            d->errors++;
    } else {
        json_array_append_new(d->lines, json_string(msg));
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

static uint64_t ident_hash(const char *p, size_t n)
{
    uint64_t h = 14695981039346656037ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)p[i]) * 1099511628211ull;
    return h;
}

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
        for (size_t i = ident_hash(p, n) & (set->cap - 1);; i = (i + 1) & (set->cap - 1)) {
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

int compile_cell(const char *source, const char *code, const char *entry_name, int number,
                 cell_unit *unit, compiled_cell *out)
{
    memset(out, 0, sizeof *out);
    diag_ctx d = {code, number, json_array(), NULL, 0};
    out->diagnostics = d.lines;

    TCCState *s = tcc_new();
    if (!s) {
        out->first_error = strdup("cannot create a compiler state (out of memory?)");
        return -1;
    }
    tcc_set_lib_path(s, CAIRN_TCC_LIB_DIR);
    tcc_set_error_func(s, &d, on_diagnostic);
    tcc_set_output_type(s, TCC_OUTPUT_MEMORY);
    tcc_add_include_path(s, CAIRN_RUNTIME_INCLUDE_DIR);
    for (size_t i = 0; i < exec_g.ninclude; i++) /* %include */
        tcc_add_include_path(s, exec_g.include_dirs[i]);
    if (exec_g.cflags)
        tcc_set_options(s, exec_g.cflags);
    char *flat = prelude_rewrite(source);
    int rc = tcc_compile_string(s, flat ? flat : source);
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
    void *mem = NULL;
    int size = 0;
    if (rc == 0) {
        size = tcc_relocate(s, NULL);
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
