/* cell_translate.c — one cell becomes one translation unit.
 *
 * Layout of the unit:
 *     #include "cairn.h"
 *     <prelude: includes, macros, types of earlier cells in definition order, and the
 *      extern declarations / prototypes of earlier variables and functions this cell
 *      names — only those, so the unit of cell 500 is as small as that of cell 1>
 *     #line L "cell"   <each definition of this cell at file scope, in order>
 *     void cairn_cell_N(void) {
 *     #line L "cell"   <each statement, and each initializer as an assignment, in order>
 *     }
 * A top-level `mat A = f();` is a global `mat A;` plus `A = f();` at its place among the
 * statements, so initializers run in statement order and may call anything. Arrays and
 * aggregates with constant brace initializers, and const objects, keep the initializer
 * on the definition; a non-constant brace initializer becomes a compound-literal
 * assignment. `static` is dropped so later cells can bind to everything. Prelude entries
 * that this cell redefines are left out, so a new definition never collides with an
 * older one: the newest wins. What the cell defines inside conditional groups carries
 * the group's number, and the unit defines a marker variable per group, so that after
 * compiling cell_unit_drop_undefined keeps only what tcc compiled.
 * Two rewrites work around the environment: uses of earlier cells' variables go through
 * unit-local pointers `(*cairn_ref_x)` (tcc 0.9.27 miscompiles floating-point operands
 * that are symbols bound with tcc_add_symbol; see mark_references), and a header's
 * declaration of a name the cell uses as a global is hidden around the #include lines
 * (cell_headers.c). C23 `auto` becomes the initializer's type (auto_type); a top-level
 * one gets a _Generic probe naming its type, read by cell_unit_infer_types after compiling.
 * A trailing enum variable is shown by its enumerator (enum_enumerators).
 * kernel/cell/README.md tells the whole story. */
#include "cell_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct translator {
    const cell_session *s;
    const char *code;
    const c_token *t;
    size_t n;
    cell_pending *p;
    strbuf defs, body, notes;
    cell_symbol *defined;
    size_t ndefined, capdefined;
    strmap keys;        /* keys this cell defines: older prelude entries with them are left out */
    strmap idents;      /* identifiers the cell (and the macros it may expand) names */
    strmap cell_consts; /* macros and enumerators defined in this cell */
    strmap cell_void;   /* functions of this cell that return void */
    unsigned char *mark; /* per token: MARK_REF rewrite as (*cairn_ref_NAME), MARK_BLANK drop */
    strmap refs;         /* names of earlier cells' variables rewritten in this unit */
    strmap own;          /* names this cell defines at top level */
    strmap header_names; /* declared by system headers this cell includes for the first time */
    strmap hide;         /* header declarations hidden from this cell's globals (cell_headers.c) */
    strmap touched_macros; /* names this cell #defines or #undefs */
    strmap uncond_includes; /* includes of this cell outside any conditional */
    /* Conditional branches (see pending_entry in cell_internal.h): the branch of the
     * item being translated, the one its directive opens, and per defined symbol its
     * branch and the number of pending entries when it was made. */
    unsigned branch, opens;
    unsigned *defined_branch;
    size_t *defined_seq;
    size_t *auto_end;   /* per token, for MARK_AUTO: the end of the initializer after `auto x =` */
    int has_auto;       /* a top-level `auto` variable: the unit defines cairn_auto_more */
    char *error;
    int error_line, error_column;
} translator;

/* MARK_AUTO: `auto` of `auto x = init` in a function body or statement, written as
 * the type of init (auto_type; tcc 0.9.27 has no __auto_type). */
enum { MARK_KEEP = 0, MARK_REF = 1, MARK_BLANK = 2, MARK_AUTO = 3 };

/* ---- conditional groups ---- */

unsigned cond_current(const cond_walk *w) { return w->depth ? w->stack[w->depth - 1] : 0; }

unsigned cond_feed(cond_walk *w, const char *text, size_t n)
{
    const char *p = text + 1, *e = text + n;
    while (p < e && (*p == ' ' || *p == '\t'))
        p++;
    const char *word = p;
    while (p < e && *p >= 'a' && *p <= 'z')
        p++;
    size_t wn = (size_t)(p - word);
    int opens = (wn == 2 && !memcmp(word, "if", 2)) || (wn == 5 && !memcmp(word, "ifdef", 5)) ||
                (wn == 6 && !memcmp(word, "ifndef", 6));
    int next = (wn == 4 && (!memcmp(word, "elif", 4) || !memcmp(word, "else", 4)));
    if (opens) {
        if (w->depth == sizeof w->stack / sizeof w->stack[0]) {
            w->overflow++; /* deeper groups count as the deepest one tracked */
            return 0;
        }
        w->stack[w->depth++] = ++w->next;
        return w->next;
    }
    if (next && !w->overflow && w->depth) {
        w->stack[w->depth - 1] = ++w->next;
        return w->next;
    }
    if (wn == 5 && !memcmp(word, "endif", 5)) {
        if (w->overflow)
            w->overflow--;
        else if (w->depth)
            w->depth--;
    }
    return 0;
}

static int tok_is(const translator *tr, size_t i, const char *s)
{
    return i < tr->n && c_token_is(tr->code, &tr->t[i], s);
}

static int tok_kind(const translator *tr, size_t i) { return i < tr->n ? tr->t[i].kind : C_TOKEN_EOF; }

static void line_directive(strbuf *b, int line) { sb_printf(b, "#line %d \"cell\"\n", line); }

static void verbatim(translator *tr, strbuf *b, size_t first, size_t last);

/* The type C23 `auto` gives a variable initialized with tokens [first, last): the
 * initializer's type after lvalue conversion — arrays and functions decay to pointers,
 * qualifiers go, structs stay. tcc 0.9.27 has no __auto_type, and its comma operator does
 * not decay arrays, so: `1 ? (x) : (x)` decays but promotes char, short and _Bool to int,
 * which the _Generic (whose controlling expression tcc does not evaluate either) keeps. */
static void auto_type(translator *tr, strbuf *b, size_t first, size_t last)
{
    sb_puts(b, "__typeof__(_Generic((0, ");
    verbatim(tr, b, first, last);
    sb_puts(b, "), char: (char)0, signed char: (signed char)0, unsigned char: (unsigned char)0, short: (short)0, "
               "unsigned short: (unsigned short)0, _Bool: (_Bool)0, default: 1 ? (");
    verbatim(tr, b, first, last);
    sb_puts(b, ") : (");
    verbatim(tr, b, first, last);
    sb_puts(b, ")))");
}

/* The source text of tokens [first, last), comments and line breaks as written. */
static void verbatim(translator *tr, strbuf *b, size_t first, size_t last)
{
    if (first >= last)
        return;
    size_t from = tr->t[first].start;
    for (size_t i = first; i < last; i++) {
        if (!tr->mark || tr->mark[i] == MARK_KEEP)
            continue;
        sb_putn(b, tr->code + from, tr->t[i].start - from);
        if (tr->mark[i] == MARK_REF) {
            sb_puts(b, "(*cairn_ref_");
            sb_putn(b, tr->code + tr->t[i].start, tr->t[i].end - tr->t[i].start);
            sb_puts(b, ")");
        } else if (tr->mark[i] == MARK_AUTO && tr->auto_end) {
            auto_type(tr, b, i + 3, tr->auto_end[i]);
        } else {
            /* Spaces of the same width keep the columns of what follows. */
            for (size_t k = tr->t[i].start; k < tr->t[i].end; k++)
                sb_puts(b, " ");
        }
        from = tr->t[i].end;
    }
    sb_putn(b, tr->code + from, tr->t[last - 1].end - from);
}

static char *str_ndup(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = 0;
    }
    return d;
}

static char *tok_str(const translator *tr, size_t i) { return str_ndup(tr->code + tr->t[i].start, tr->t[i].end - tr->t[i].start); }

static void push_string(char ***v, size_t *n, char *s)
{
    if (!s)
        return;
    char **w = realloc(*v, (*n + 1) * sizeof *w);
    if (!w) {
        free(s);
        return;
    }
    *v = w;
    w[(*n)++] = s;
}

/* A new pending prelude entry; keys are added with entry_key. */
static pending_entry *new_entry(translator *tr, int kind, char *text)
{
    cell_pending *p = tr->p;
    if (!text)
        return NULL;
    if (p->nentries == p->capentries) {
        size_t cap = p->capentries ? p->capentries * 2 : 16;
        pending_entry *v = realloc(p->entries, cap * sizeof *v);
        if (!v) {
            free(text);
            return NULL;
        }
        p->entries = v;
        p->capentries = cap;
    }
    pending_entry *e = &p->entries[p->nentries++];
    memset(e, 0, sizeof *e);
    e->kind = kind;
    e->text = text;
    e->branch = tr->branch;
    return e;
}

/* Whether word occurs in text as a whole word ("struct P" in "struct P *"). */
static int has_word(const char *text, const char *word)
{
    size_t n = strlen(word);
    for (const char *p = strstr(text, word); p; p = strstr(p + 1, word)) {
        int before = p == text || !(p[-1] == '_' || (p[-1] >= 'a' && p[-1] <= 'z') || (p[-1] >= 'A' && p[-1] <= 'Z') || (p[-1] >= '0' && p[-1] <= '9'));
        char c = p[n];
        int after = !(c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'));
        if (before && after)
            return 1;
    }
    return 0;
}

/* A type that changes under existing variables: say which ones keep the old layout. */
static void note_type_change(translator *tr, const pending_entry *e, const char *key)
{
    size_t at;
    /* Inside a conditional the definition may be skipped: no note about what it changes. */
    if (tr->branch || e->kind != PRELUDE_TYPE || !strmap_get(&tr->s->entry_by_key, key, strlen(key), &at))
        return;
    const prelude_entry *old = &tr->s->entries[at];
    if (!old->live || old->kind != PRELUDE_TYPE || strcmp(old->text, e->text) == 0)
        return;
    strbuf names = {0};
    size_t count = 0;
    /* Typedef names of that type count too: `typedef struct P P; P p;`. */
    const char *aliases[8];
    size_t naliases = 0;
    for (size_t i = 0; i < tr->s->nsymbols && naliases < 8; i++) {
        const cell_symbol *y = &tr->s->symbols[i];
        if (y->kind == SYMBOL_TYPE && y->type && strcmp(y->type, key) == 0 && strcmp(y->name, key) != 0)
            aliases[naliases++] = y->name;
    }
    for (size_t i = 0; i < tr->s->nsymbols; i++) {
        const cell_symbol *y = &tr->s->symbols[i];
        int uses = y->kind == SYMBOL_VARIABLE && y->type && has_word(y->type, key);
        for (size_t a = 0; a < naliases && !uses && y->kind == SYMBOL_VARIABLE && y->type; a++)
            uses = has_word(y->type, aliases[a]);
        if (uses) {
            if (count < 8)
                sb_printf(&names, "%s%s", count ? ", " : "", y->name);
            count++;
        }
    }
    if (count)
        sb_printf(&tr->notes, "note: %s is redefined; %s%s declared with the old definition keep%s its layout\n", key,
                  names.s, count > 8 ? ", ..." : "", count == 1 ? "s" : "");
    free(sb_take(&names));
}

static void entry_key(translator *tr, pending_entry *e, const char *key)
{
    if (!e || !key)
        return;
    note_type_change(tr, e, key);
    push_string(&e->keys, &e->nkeys, strdup(key));
    /* A macro defined or undefined inside a conditional leaves the older definition in
     * the unit: the group may be skipped, and if not, it #undefs the name first. */
    if (!(tr->branch && (e->kind == PRELUDE_MACRO || e->kind == PRELUDE_UNDEF)))
        strmap_put(&tr->keys, key, strlen(key), 1);
}

/* Remove tr->defined[i] (and its branch and sequence). */
static void remove_defined(translator *tr, size_t i)
{
    free(tr->defined[i].name);
    free(tr->defined[i].declaration);
    free(tr->defined[i].type);
    size_t rest = tr->ndefined - i - 1;
    memmove(&tr->defined[i], &tr->defined[i + 1], rest * sizeof *tr->defined);
    memmove(&tr->defined_branch[i], &tr->defined_branch[i + 1], rest * sizeof *tr->defined_branch);
    memmove(&tr->defined_seq[i], &tr->defined_seq[i + 1], rest * sizeof *tr->defined_seq);
    tr->ndefined--;
}

static void add_symbol(translator *tr, int kind, char *name, char *declaration, char *type)
{
    if (!name) {
        free(declaration);
        free(type);
        return;
    }
    /* A name defined twice in one cell: the later definition is the one that counts.
     * In different conditional groups both stay until it is known which ones tcc
     * compiled (cell_unit_drop_undefined keeps the last of those). */
    for (size_t i = 0; i < tr->ndefined; i++)
        if (strcmp(tr->defined[i].name, name) == 0 && tr->defined_branch[i] == tr->branch) {
            remove_defined(tr, i);
            break;
        }
    if (tr->ndefined == tr->capdefined) {
        size_t cap = tr->capdefined ? tr->capdefined * 2 : 8;
        cell_symbol *v = realloc(tr->defined, cap * sizeof *v);
        unsigned *vb = v ? realloc(tr->defined_branch, cap * sizeof *vb) : NULL;
        if (v)
            tr->defined = v;
        if (vb)
            tr->defined_branch = vb;
        size_t *vs = vb ? realloc(tr->defined_seq, cap * sizeof *vs) : NULL;
        if (!vs) {
            free(name);
            free(declaration);
            free(type);
            return;
        }
        tr->defined_seq = vs;
        tr->capdefined = cap;
    }
    tr->defined_branch[tr->ndefined] = tr->branch;
    tr->defined_seq[tr->ndefined] = tr->p->nentries;
    cell_symbol *y = &tr->defined[tr->ndefined++];
    memset(y, 0, sizeof *y);
    y->name = name;
    y->kind = kind;
    y->declaration = declaration;
    y->type = type;
}

static int is_storage_keyword(const translator *tr, size_t i)
{
    static const char *const storage[] = {"static", "extern", "auto", "register", "typedef", "inline",
                                          "__inline", "__inline__", NULL};
    if (tok_kind(tr, i) != C_TOKEN_KEYWORD)
        return 0;
    for (const char *const *k = storage; *k; k++)
        if (tok_is(tr, i, *k))
            return 1;
    return 0;
}

/* The specifiers of it as text without storage classes; the struct body is left out
 * when drop_body (its definition lives in its own entry), const when drop_const. */
static void spec_text(translator *tr, strbuf *b, const cell_item *it, int drop_body, int drop_const)
{
    size_t before = b->len;
    for (size_t i = it->spec_first; i < it->spec_last; i++) {
        if (drop_body && it->body_first != CELL_NONE && i >= it->body_first && i < it->body_last)
            continue;
        if (is_storage_keyword(tr, i) || (drop_const && (tok_is(tr, i, "const") || tok_is(tr, i, "__const"))))
            continue;
        if (b->len > before)
            sb_puts(b, " ");
        if (drop_body && i == it->aggregate && it->tag == CELL_NONE && tok_is(tr, i, "enum")) {
            sb_puts(b, "int"); /* the anonymous enum's constants live in their own entry */
            continue;
        }
        sb_putn(b, tr->code + tr->t[i].start, tr->t[i].end - tr->t[i].start);
    }
}

/* Number of elements of a brace initializer at [first, last), or 0 if unknown
 * (designators, empty braces). */
static size_t count_elements(const translator *tr, size_t first, size_t last)
{
    if (!tok_is(tr, first, "{") || !tok_is(tr, last - 1, "}"))
        return 0;
    size_t count = 0;
    int depth = 0, element_open = 0;
    for (size_t i = first + 1; i + 1 < last; i++) {
        int opener = tok_is(tr, i, "(") || tok_is(tr, i, "[") || tok_is(tr, i, "{");
        int closer = tok_is(tr, i, ")") || tok_is(tr, i, "]") || tok_is(tr, i, "}");
        if (depth == 0 && !element_open && (tok_is(tr, i, "[") || tok_is(tr, i, ".")))
            return 0;
        if (depth == 0 && tok_is(tr, i, ",")) {
            element_open = 0;
            continue;
        }
        if (depth == 0 && !element_open) {
            element_open = 1;
            count++;
        }
        if (opener)
            depth++;
        else if (closer)
            depth--;
    }
    return count;
}

/* Characters of adjacent string literals [first, last) plus the terminating NUL, or 0. */
static size_t string_length(const translator *tr, size_t first, size_t last)
{
    size_t n = 0;
    for (size_t i = first; i < last; i++) {
        if (tok_kind(tr, i) != C_TOKEN_STRING)
            return 0;
        const char *p = tr->code + tr->t[i].start, *e = tr->code + tr->t[i].end;
        while (p < e && *p != '"')
            p++;
        for (p++; p < e - 1; p++) {
            n++;
            if (*p != '\\')
                continue;
            p++;
            if (p < e - 1 && *p >= '0' && *p <= '7') {
                for (int k = 0; k < 2 && p + 1 < e - 1 && p[1] >= '0' && p[1] <= '7'; k++)
                    p++;
            } else if (p < e - 1 && *p == 'x') {
                while (p + 1 < e - 1 && strchr("0123456789abcdefABCDEF", p[1]))
                    p++;
            }
        }
    }
    return n + 1;
}

/* The declarator of d as text (name included when with_name), with an empty first
 * array bound filled with `count` when known. */
static void declarator_text(translator *tr, strbuf *b, const cell_declarator *d, int with_name, size_t count)
{
    size_t before = b->len;
    for (size_t i = d->first; i < d->last; i++) {
        if (i == d->name && !with_name)
            continue;
        if (b->len > before && tr->t[i].start > tr->t[i - 1].end)
            sb_puts(b, " ");
        sb_putn(b, tr->code + tr->t[i].start, tr->t[i].end - tr->t[i].start);
        if (i == d->name + 1 && d->is_array && count && tok_is(tr, i, "[") && tok_is(tr, i + 1, "]"))
            sb_printf(b, "%zu", count);
    }
}

/* Whether an initializer can stay on a file-scope definition: only literals,
 * operators, casts/sizeof, macros and enumerators (identifiers in capitals are taken
 * for macros such as M_PI or INT_MAX). */
static int is_constant(translator *tr, size_t first, size_t last)
{
    int braces = 0;
    for (size_t i = first; i < last; i++) {
        int k = tok_kind(tr, i);
        if (k == C_TOKEN_NUMBER || k == C_TOKEN_STRING || k == C_TOKEN_CHAR)
            continue;
        if (k == C_TOKEN_PUNCT) {
            braces += tok_is(tr, i, "{") - tok_is(tr, i, "}");
            /* `=` only as in a designator: {[2] = 7}, {.x = 1} */
            if (tok_is(tr, i, "++") || tok_is(tr, i, "--") || (tok_is(tr, i, "=") && braces == 0) || tok_is(tr, i, "&"))
                return 0;
            continue;
        }
        if (k == C_TOKEN_IDENTIFIER && i > first && tok_is(tr, i - 1, ".") && braces > 0)
            continue; /* a member designator */
        if (k == C_TOKEN_KEYWORD)
            continue;
        if (k != C_TOKEN_IDENTIFIER)
            return 0;
        const char *p = tr->code + tr->t[i].start;
        size_t n = tr->t[i].end - tr->t[i].start;
        if (session_is_constant(tr->s, p, n) || strmap_get(&tr->cell_consts, p, n, NULL) || session_has_type(tr->s, p, n))
            continue;
        int upper = 1;
        for (size_t j = 0; j < n; j++)
            if (p[j] >= 'a' && p[j] <= 'z')
                upper = 0;
        if (upper && !tok_is(tr, i + 1, "("))
            continue;
        return 0;
    }
    return 1;
}

static void tag_key(translator *tr, strbuf *b, const cell_item *it)
{
    sb_putn(b, tr->code + tr->t[it->aggregate].start, tr->t[it->aggregate].end - tr->t[it->aggregate].start);
    sb_puts(b, " ");
    sb_putn(b, tr->code + tr->t[it->tag].start, tr->t[it->tag].end - tr->t[it->tag].start);
}

/* Enumerators of an enum body: identifiers right after `{` or `,` at its top level. */
static void enumerators(translator *tr, const cell_item *it, pending_entry *e)
{
    int depth = 0;
    for (size_t i = it->body_first + 1; i + 1 < it->body_last; i++) {
        if (tok_is(tr, i, "(") || tok_is(tr, i, "[") || tok_is(tr, i, "{"))
            depth++;
        else if (tok_is(tr, i, ")") || tok_is(tr, i, "]") || tok_is(tr, i, "}"))
            depth--;
        else if (depth == 0 && tok_kind(tr, i) == C_TOKEN_IDENTIFIER &&
                 (tok_is(tr, i - 1, "{") || tok_is(tr, i - 1, ","))) {
            char *name = tok_str(tr, i);
            if (!name)
                continue;
            if (e)
                entry_key(tr, e, name);
            strmap_put(&tr->cell_consts, name, strlen(name), 1);
            fact_push(&tr->p->constants, name, tr->branch);
        }
    }
}

static int is_enum(const translator *tr, const cell_item *it) { return it->aggregate != CELL_NONE && tok_is(tr, it->aggregate, "enum"); }

/* A tagged struct/union/enum body in the specifiers becomes its own prelude entry;
 * returns 1 when it did. The definition is also emitted in this cell's file scope. */
static int emit_tag_definition(translator *tr, const cell_item *it)
{
    if (it->aggregate == CELL_NONE || it->tag == CELL_NONE || it->body_first == CELL_NONE)
        return 0;
    strbuf text = {0}, key = {0};
    /* From the keyword through the closing brace, as written (attributes included). */
    verbatim(tr, &text, it->aggregate, it->body_last);
    sb_puts(&text, ";\n");
    line_directive(&tr->defs, tr->t[it->aggregate].line);
    sb_putn(&tr->defs, text.s ? text.s : "", text.len);
    tag_key(tr, &key, it);
    char *k = sb_take(&key);
    pending_entry *e = new_entry(tr, PRELUDE_TYPE, sb_take(&text));
    entry_key(tr, e, k);
    if (is_enum(tr, it))
        enumerators(tr, it, e);
    if (e)
        add_symbol(tr, SYMBOL_TYPE, strdup(k), strdup(e->text), strdup(k));
    free(k);
    return 1;
}

static int returns_void(const translator *tr, const cell_item *it, const cell_declarator *d)
{
    if (d->first != d->name)
        return 0; /* `void *f(...)`, `void (*f(...))(int)` */
    int has_void = 0;
    for (size_t i = it->spec_first; i < it->spec_last; i++)
        if (tok_is(tr, i, "void"))
            has_void = 1;
        else if (tok_kind(tr, i) == C_TOKEN_IDENTIFIER)
            return 0;
    return has_void;
}

static void note_redefinition(translator *tr, const char *name, int kind, const char *type)
{
    const cell_symbol *old = cell_session_find(tr->s, name);
    if (tr->branch || !old || !old->type || !type)
        return; /* inside a conditional: the group may be skipped */
    if (old->kind == kind && strcmp(old->type, type) == 0)
        return;
    if (old->kind == SYMBOL_VARIABLE && kind == SYMBOL_VARIABLE)
        sb_printf(&tr->notes, "note: %s was %s (cell [%d]), now %s; functions defined before this cell keep using the old %s\n", name,
                  old->type, old->cell, type, name);
    else if (old->kind == SYMBOL_FUNCTION && kind == SYMBOL_FUNCTION)
        sb_printf(&tr->notes, "note: %s was `%s`, now `%s`\n", name, old->type, type);
    else if (old->kind == SYMBOL_VARIABLE || old->kind == SYMBOL_FUNCTION)
        sb_printf(&tr->notes, "note: %s was a %s (%s), now a %s (%s)\n", name,
                  old->kind == SYMBOL_VARIABLE ? "variable" : "function", old->type,
                  kind == SYMBOL_VARIABLE ? "variable" : kind == SYMBOL_FUNCTION ? "function" : "type", type);
}

/* Prototype or extern declaration: emitted here and kept for later cells. */
static void emit_declaration_only(translator *tr, const cell_item *it, const cell_declarator *d, int drop_body)
{
    strbuf text = {0};
    if (it->is_extern && !d->is_function)
        sb_puts(&text, "extern ");
    spec_text(tr, &text, it, drop_body, 0);
    sb_puts(&text, " ");
    declarator_text(tr, &text, d, 1, 0);
    sb_puts(&text, ";\n");
    line_directive(&tr->defs, tr->t[d->name].line);
    sb_putn(&tr->defs, text.s ? text.s : "", text.len);
    char *name = tok_str(tr, d->name);
    pending_entry *e = new_entry(tr, PRELUDE_DECL, sb_take(&text));
    entry_key(tr, e, name);
    if (d->is_function && returns_void(tr, it, d)) {
        strmap_put(&tr->cell_void, name, strlen(name), 1);
        fact_push(&tr->p->void_functions, strdup(name), tr->branch);
    }
    free(name);
}

static void set_error(translator *tr, size_t tok, const char *msg)
{
    if (tr->error)
        return;
    tr->error = cell_format_error(tr->code, tr->t[tok].line, tr->t[tok].column, msg);
    tr->error_line = tr->t[tok].line;
    tr->error_column = tr->t[tok].column;
}

/* Types a top-level `auto` variable is tried against first, in this order (names as a C
 * programmer writes them; _Generic picks the unqualified type of the variable). Then come
 * the cell's own types, the runtime's (auto_runtime_types) and the session types the
 * unit carries (cairn_auto_more). */
static const char *const auto_builtin_types[] = {
    "int", "unsigned int", "long", "unsigned long", "long long", "unsigned long long", "double", "float",
    "long double", "char", "signed char", "unsigned char", "short", "unsigned short", "_Bool",
    "char *", "const char *", "void *", "const void *", "double *", "const double *", "float *",
    "const float *", "int *", "const int *", "long *", "unsigned int *", "unsigned long *",
    "unsigned char *", "char **", "double **", "int **", NULL};
static const char *const auto_runtime_types[] = {"mat", "mat *", "svd_result", "pca_model", "eig_result",
                                                  "qr_result", "figure *", "plot_axes *", "progress *", "FILE *", NULL};

/* The array a typedef name stands for, written out with the dimensions outside it:
 * "row" -> "int [4]", "row [2]" -> "int [2][4]" for `typedef int row[4];` (the cell's own
 * typedefs first, then the session's). NULL when type does not start with one. */
static char *typedef_array_text(const translator *tr, const char *type)
{
    size_t n = 0;
    while (type[n] == '_' || (type[n] >= 'a' && type[n] <= 'z') || (type[n] >= 'A' && type[n] <= 'Z') ||
           (type[n] >= '0' && type[n] <= '9'))
        n++;
    const char *rest = type + n;
    while (*rest == ' ')
        rest++;
    if (!n || (*rest && *rest != '['))
        return NULL;
    const char *alias = NULL;
    for (size_t k = 0; k < tr->ndefined && !alias; k++)
        if (tr->defined[k].kind == SYMBOL_TYPE && strlen(tr->defined[k].name) == n &&
            !strncmp(tr->defined[k].name, type, n))
            alias = tr->defined[k].type;
    if (!alias) {
        char name[128];
        snprintf(name, sizeof name, "%.*s", (int)(n < 127 ? n : 127), type);
        const cell_symbol *y = cell_session_find(tr->s, name);
        alias = y && y->kind == SYMBOL_TYPE ? y->type : NULL;
    }
    const char *inner = alias ? strchr(alias, '[') : NULL;
    if (!inner || strchr(alias, '(') || strchr(alias, '{'))
        return NULL;
    strbuf b = {0};
    sb_printf(&b, "%.*s%s%s", (int)(inner - alias), alias, rest, inner);
    return sb_take(&b);
}

/* s as a C string literal: quotes and backslashes escaped. */
static void sb_c_string(strbuf *b, const char *s)
{
    sb_puts(b, "\"");
    for (const char *c = s; *c; c++)
        if (*c == '"' || *c == '\\')
            sb_printf(b, "\\%c", *c);
        else
            sb_putn(b, c, 1);
    sb_puts(b, "\"");
}

/* `_Generic(v, T: "T", default: ` for each type text (closed later with one `)` each). */
static size_t generic_chain(strbuf *b, const char *v, const char *type)
{
    sb_printf(b, "_Generic(%s, %s: \"%s\", default: ", v, type, type);
    return 1;
}

/* A type key of a prelude entry worth naming: "struct P", "union U" or a typedef name
 * (enum types are unsigned int to tcc, and that name comes first). */
static int is_named_type_key(const char *k, int is_typedef)
{
    if (!strncmp(k, "struct ", 7) || !strncmp(k, "union ", 6))
        return 1;
    return is_typedef && !strchr(k, ' ') && !strchr(k, ':') && k[0] != '#';
}

/* `auto z = expr;` at top level (C23): z is defined with the type auto_type writes —
 * arrays and string literals decay to pointers, qualifiers go and a struct keeps its
 * type, as C23 auto does — and initialized in statement order.
 * Right after it the probe `const char *const cairn_auto_type_z` points to the name of
 * z's type (a _Generic over the types above; NULL when none fits), which
 * cell_unit_infer_types reads after compiling to make `extern double z;` for later cells. */
static void emit_auto_variable(translator *tr, const cell_item *it, const cell_declarator *d, char *name)
{
    char msg[320];
    if (it->ndecls > 1) {
        snprintf(msg, sizeof msg, "`auto` declares one variable at a time (C23): write `auto %s = ...;` on its own", name);
        set_error(tr, d->name, msg);
    } else if (d->first != d->name || d->last != d->name + 1) {
        snprintf(msg, sizeof msg, "`auto` infers the whole type of a plain name: write `auto %s = ...;` (no *, [] or ())", name);
        set_error(tr, d->name, msg);
    } else if (d->init_first >= d->init_last) {
        snprintf(msg, sizeof msg, "'%s' needs an initializer for `auto` to infer its type from (or write the type: `double %s;`)",
                 name, name);
        set_error(tr, d->name, msg);
    } else if (tok_is(tr, d->init_first, "{")) {
        snprintf(msg, sizeof msg, "`auto` cannot infer a type from a {...} initializer: write the type of '%s'", name);
        set_error(tr, d->init_first, msg);
    }
    if (tr->error) {
        free(name);
        return;
    }
    int keep = it->is_const && is_constant(tr, d->init_first, d->init_last);
    line_directive(&tr->defs, tr->t[d->name].line);
    sb_puts(&tr->defs, keep ? "const " : "");
    auto_type(tr, &tr->defs, d->init_first, d->init_last);
    sb_printf(&tr->defs, " %s", name);
    if (keep) {
        sb_puts(&tr->defs, " = ");
        verbatim(tr, &tr->defs, d->init_first, d->init_last);
    }
    sb_puts(&tr->defs, ";\n");
    /* The probe: builtins in one _Generic, then a chain over the cell's own types so far
     * (a type defined later in the cell is not declared here yet), then the rest. */
    sb_printf(&tr->defs, "const char *const cairn_auto_type_%s = _Generic(%s", name, name);
    for (const char *const *t = auto_builtin_types; *t; t++)
        sb_printf(&tr->defs, ", %s: \"%s\"", *t, *t);
    sb_puts(&tr->defs, ", default: ");
    size_t open = 0;
    for (size_t pass = 0, e = 0; pass < 2; e = 0, pass++) /* typedef names first: P, not struct P */
    for (; e < tr->p->nentries; e++) {
        const pending_entry *pe = &tr->p->entries[e];
        if (pe->kind != PRELUDE_TYPE || (pe->branch && pe->branch != tr->branch))
            continue;
        int is_typedef = !strncmp(pe->text, "typedef", 7);
        for (size_t k = 0; k < pe->nkeys; k++) {
            const char *key = pe->keys[k];
            if (!is_named_type_key(key, is_typedef) || strmap_get(&tr->cell_consts, key, strlen(key), NULL) ||
                (strchr(key, ' ') != NULL) != (pass == 1))
                continue;
            open += generic_chain(&tr->defs, name, key);
            char ptr[300];
            snprintf(ptr, sizeof ptr, "%s *", key);
            open += generic_chain(&tr->defs, name, ptr);
        }
    }
    sb_printf(&tr->defs, "cairn_auto_more(%s)", name);
    for (size_t k = 0; k < open; k++)
        sb_puts(&tr->defs, ")");
    sb_puts(&tr->defs, ");\n");
    tr->has_auto = 1;

    /* The initializer runs in statement order. */
    if (!keep) {
        line_directive(&tr->body, tr->t[d->init_first].line);
        sb_printf(&tr->body, "%s = ", name);
        verbatim(tr, &tr->body, d->init_first, d->init_last);
        sb_puts(&tr->body, ";\n");
    }

    /* Later cells see `extern <type> z;` once cell_unit_infer_types named the type; the
     * symbol's type is "auto" until then. No type-change note yet: it comes with the type. */
    strbuf decl = {0};
    sb_printf(&decl, "extern __typeof__(%s) %s;\n", name, name);
    pending_entry *e = new_entry(tr, PRELUDE_DECL, sb_take(&decl));
    size_t entry = tr->p->nentries - 1;
    entry_key(tr, e, name);
    auto_variable *v = e ? realloc(tr->p->autos, (tr->p->nautos + 1) * sizeof *v) : NULL;
    if (v) {
        tr->p->autos = v;
        v += tr->p->nautos;
        v->name = strdup(name);
        v->entry = entry;
        v->is_const = it->is_const;
        v->branch = tr->branch;
        v->line = tr->t[d->name].line;
        v->column = tr->t[d->name].column;
        /* Made now, while the cell's text is at hand; used when no type name fits. */
        snprintf(msg, sizeof msg,
                 "cannot name the type `auto` infers for '%s' here (a function or array pointer, a type the session "
                 "does not carry?): write its type",
                 name);
        v->error = cell_format_error(tr->code, v->line, v->column, msg);
        if (v->name)
            tr->p->nautos++;
    }
    char probe[300];
    snprintf(probe, sizeof probe, "cairn_auto_type_%s", name);
    add_symbol(tr, SYMBOL_VARIABLE, strdup(name), NULL, strdup("auto"));
    add_symbol(tr, SYMBOL_VARIABLE, strdup(probe), NULL, NULL);
    free(name);
}

/* The number of [] groups of an array's type text when one of them is not plain digits
 * ("double [N]", "int [2*K][3]"), else 0 ("int [3]", and types with parentheses, which
 * the shape code leaves alone). */
/* The next top-level [...] of a type text from q: *open at its '[', *close at its ']'
 * (a dimension may itself hold brackets: `int [sizeof h / sizeof h[0]]`). 0 when none. */
static int next_dimension(const char *q, const char **open, const char **close)
{
    const char *o = strchr(q, '[');
    if (!o)
        return 0;
    int depth = 0;
    for (const char *c = o; *c; c++) {
        depth += *c == '[';
        depth -= *c == ']';
        if (!depth) {
            *open = o;
            *close = c;
            return 1;
        }
    }
    return 0;
}

static int symbolic_dimensions(const char *type)
{
    if (!type)
        return 0;
    int depth = 0; /* parentheses outside [...]: a pointer to an array, function pointers */
    for (const char *c = type; *c; c++) {
        depth += (*c == '[') - (*c == ']');
        if (!depth && (*c == '(' || *c == '{'))
            return 0;
    }
    int levels = 0, symbolic = 0;
    const char *open, *close;
    for (const char *p = type; next_dimension(p, &open, &close); p = close + 1) {
        levels++;
        const char *q = open + 1;
        while (*q == ' ')
            q++;
        const char *digits = q;
        while (*q >= '0' && *q <= '9')
            q++;
        while (*q == ' ')
            q++;
        symbolic |= q == digits || q != close;
    }
    return symbolic && levels <= 8 ? levels : 0;
}

static void emit_variable(translator *tr, const cell_item *it, const cell_declarator *d, int drop_body)
{
    char *name = tok_str(tr, d->name);
    if (!name)
        return;
    int has_init = d->init_first < d->init_last;
    int typed = it->aggregate != CELL_NONE;
    for (size_t i = it->spec_first; i < it->spec_last && !typed; i++)
        typed = tr->t[i].kind == C_TOKEN_IDENTIFIER || tok_is(tr, i, "typeof") || tok_is(tr, i, "__typeof__") ||
                tok_is(tr, i, "__typeof") || tok_is(tr, i, "void") || tok_is(tr, i, "char") || tok_is(tr, i, "short") ||
                tok_is(tr, i, "int") || tok_is(tr, i, "long") || tok_is(tr, i, "float") || tok_is(tr, i, "double") ||
                tok_is(tr, i, "signed") || tok_is(tr, i, "unsigned") || tok_is(tr, i, "_Bool") || tok_is(tr, i, "_Complex") ||
                tok_is(tr, i, "_Atomic");
    int has_auto = 0;
    for (size_t i = it->spec_first; i < it->spec_last; i++)
        has_auto |= tok_is(tr, i, "auto");
    if (!typed && has_auto) {
        emit_auto_variable(tr, it, d, name);
        return;
    }
    if (!typed) {
        if (!tr->error) {
            char msg[256];
            snprintf(msg, sizeof msg, "'%s' needs a type: C infers none here (write e.g. `double %s = ...;`)", name, name);
            tr->error = cell_format_error(tr->code, tr->t[d->name].line, tr->t[d->name].column, msg);
            tr->error_line = tr->t[d->name].line;
            tr->error_column = tr->t[d->name].column;
        }
        free(name);
        return;
    }
    int brace = has_init && tok_is(tr, d->init_first, "{");
    int string = has_init && tok_kind(tr, d->init_first) == C_TOKEN_STRING;
    int constant = has_init && is_constant(tr, d->init_first, d->init_last);
    size_t count = 0;
    if (d->is_array && has_init)
        count = brace ? count_elements(tr, d->init_first, d->init_last) : string ? string_length(tr, d->init_first, d->init_last) : 0;

    if (d->is_array && has_init && !brace && !string) {
        if (!tr->error) {
            char msg[256];
            snprintf(msg, sizeof msg, "the array '%s' can only be initialized with {...} or a string literal", name);
            tr->error = cell_format_error(tr->code, tr->t[d->init_first].line, tr->t[d->init_first].column, msg);
            tr->error_line = tr->t[d->init_first].line;
            tr->error_column = tr->t[d->init_first].column;
        }
        free(name);
        return;
    }
    int unsized = d->is_array && tok_is(tr, d->name + 1, "[") && tok_is(tr, d->name + 2, "]");
    if (unsized && has_init && !count && !constant) {
        if (!tr->error) {
            char msg[256];
            snprintf(msg, sizeof msg, "give '%s' a size: its initializer is not constant, so the cell runs it as an assignment", name);
            tr->error = cell_format_error(tr->code, tr->t[d->name].line, tr->t[d->name].column, msg);
            tr->error_line = tr->t[d->name].line;
            tr->error_column = tr->t[d->name].column;
        }
        free(name);
        return;
    }
    /* Arrays, aggregates and const objects keep a constant initializer on the definition. */
    int keep = has_init && constant && (d->is_array || brace || it->is_const);

    /* Definition at file scope. */
    line_directive(&tr->defs, tr->t[d->name].line);
    spec_text(tr, &tr->defs, it, drop_body, it->is_const && has_init && !keep);
    sb_puts(&tr->defs, " ");
    if (keep && unsized && !count)
        declarator_text(tr, &tr->defs, d, 1, 0); /* the initializer sizes it */
    else
        declarator_text(tr, &tr->defs, d, 1, count);
    if (keep) {
        sb_puts(&tr->defs, " = ");
        verbatim(tr, &tr->defs, d->init_first, d->init_last);
    }
    sb_puts(&tr->defs, ";\n");

    /* The initializer runs in statement order. */
    if (has_init && !keep) {
        line_directive(&tr->body, tr->t[d->init_first].line);
        strbuf type = {0};
        spec_text(tr, &type, it, drop_body, 0);
        sb_puts(&type, " ");
        declarator_text(tr, &type, d, 0, count);
        if (d->is_array) {
            sb_printf(&tr->body, "memcpy(%s, (%s)", name, type.s ? type.s : "");
            verbatim(tr, &tr->body, d->init_first, d->init_last);
            sb_printf(&tr->body, ", sizeof %s);\n", name);
        } else if (brace) {
            sb_printf(&tr->body, "%s = (%s)", name, type.s ? type.s : "");
            verbatim(tr, &tr->body, d->init_first, d->init_last);
            sb_puts(&tr->body, ";\n");
        } else {
            /* A const object with a run-time initializer is defined without const in
             * this unit (later cells still see it const), so this is allowed. */
            sb_printf(&tr->body, "%s = ", name);
            verbatim(tr, &tr->body, d->init_first, d->init_last);
            sb_puts(&tr->body, ";\n");
        }
        free(sb_take(&type));
    }

    /* What later cells see. */
    strbuf decl = {0}, type = {0};
    sb_puts(&decl, "extern ");
    spec_text(tr, &decl, it, drop_body, 0);
    sb_puts(&decl, " ");
    declarator_text(tr, &decl, d, 1, count);
    sb_puts(&decl, ";\n");
    spec_text(tr, &type, it, drop_body, 0);
    size_t mark = type.len;
    sb_puts(&type, " ");
    declarator_text(tr, &type, d, 0, count);
    if (type.len == mark + 1) { /* no declarator left: "int", not "int " */
        type.len = mark;
        type.s[mark] = 0;
    }
    char *type_text = sb_take(&type);
    char *decl_text = sb_take(&decl);
    int levels = d->is_array ? symbolic_dimensions(type_text) : 0;
    if (levels > 0) {
        /* sizeof the array, of name[0], name[0][0], ...: the dimensions in digits. */
        sb_printf(&tr->defs, "const unsigned long cairn_dims_%s[] = {sizeof %s", name, name);
        for (int l = 1; l <= levels; l++) {
            sb_printf(&tr->defs, ", sizeof %s", name);
            for (int k = 0; k < l; k++)
                sb_puts(&tr->defs, "[0]");
        }
        sb_puts(&tr->defs, "};\n");
        sized_array *v = realloc(tr->p->arrays, (tr->p->narrays + 1) * sizeof *v);
        if (v) {
            tr->p->arrays = v;
            v[tr->p->narrays] = (sized_array){strdup(name), tr->branch, levels};
            if (v[tr->p->narrays].name)
                tr->p->narrays++;
        }
        char probe[300];
        snprintf(probe, sizeof probe, "cairn_dims_%s", name);
        add_symbol(tr, SYMBOL_VARIABLE, strdup(probe), NULL, NULL);
    } else {
        note_redefinition(tr, name, SYMBOL_VARIABLE, type_text); /* else once the digits are known */
    }
    pending_entry *e = new_entry(tr, PRELUDE_DECL, decl_text ? strdup(decl_text) : NULL);
    entry_key(tr, e, name);
    if (decl_text) /* the symbol's declaration without its newline */
        decl_text[strlen(decl_text) - 1] = 0;
    add_symbol(tr, SYMBOL_VARIABLE, name, decl_text, type_text);
}

static void emit_function(translator *tr, const cell_item *it)
{
    const cell_declarator *d = &it->decls[0];
    /* The definition as written, minus `static`/`inline` so later cells can call it:
     * the removed words become spaces, so lines and columns stay where they were. */
    line_directive(&tr->defs, it->line);
    for (size_t i = it->spec_first; i < it->spec_last; i++)
        if (tr->mark && (tok_is(tr, i, "static") || tok_is(tr, i, "inline") || tok_is(tr, i, "__inline") || tok_is(tr, i, "__inline__")))
            tr->mark[i] = MARK_BLANK;
    verbatim(tr, &tr->defs, it->first, it->last);
    sb_puts(&tr->defs, "\n");

    strbuf proto = {0};
    spec_text(tr, &proto, it, 1, 0);
    sb_puts(&proto, " ");
    declarator_text(tr, &proto, d, 1, 0);
    char *signature = sb_take(&proto);
    char *name = tok_str(tr, d->name);
    if (!signature || !name) {
        free(signature);
        free(name);
        return;
    }
    strbuf text = {0};
    sb_puts(&text, signature);
    sb_puts(&text, ";\n");
    pending_entry *e = new_entry(tr, PRELUDE_DECL, sb_take(&text));
    entry_key(tr, e, name);
    if (returns_void(tr, it, d)) {
        strmap_put(&tr->cell_void, name, strlen(name), 1);
        fact_push(&tr->p->void_functions, strdup(name), tr->branch);
    }
    note_redefinition(tr, name, SYMBOL_FUNCTION, signature);
    strbuf declaration = {0};
    sb_puts(&declaration, signature);
    sb_puts(&declaration, ";");
    add_symbol(tr, SYMBOL_FUNCTION, name, sb_take(&declaration), signature);
}

static void emit_typedef(translator *tr, const cell_item *it)
{
    int tagged = emit_tag_definition(tr, it);
    strbuf text = {0};
    sb_puts(&text, "typedef ");
    spec_text(tr, &text, it, tagged, 0);
    for (size_t d = 0; d < it->ndecls; d++) {
        sb_puts(&text, d ? ", " : " ");
        declarator_text(tr, &text, &it->decls[d], 1, 0);
    }
    sb_puts(&text, ";\n");
    line_directive(&tr->defs, it->decls[0].name != CELL_NONE ? tr->t[it->decls[0].name].line : it->line);
    if (tagged)
        sb_putn(&tr->defs, text.s ? text.s : "", text.len);
    else {
        /* Untagged: as written, so an error inside the body shows its own line. */
        verbatim(tr, &tr->defs, it->first, it->last);
        sb_puts(&tr->defs, it->missing_semicolon ? ";\n" : "\n");
    }
    char *t = sb_take(&text);
    pending_entry *e = new_entry(tr, PRELUDE_TYPE, t ? strdup(t) : NULL);
    for (size_t d = 0; d < it->ndecls; d++) {
        char *name = tok_str(tr, it->decls[d].name);
        if (!name)
            continue;
        entry_key(tr, e, name);
        fact_push(&tr->p->types, strdup(name), tr->branch);
        strbuf aliased = {0}; /* what the name stands for: "int [4]" for `typedef int row[4];` */
        spec_text(tr, &aliased, it, tagged, 0);
        size_t mark = aliased.len;
        sb_puts(&aliased, " ");
        declarator_text(tr, &aliased, &it->decls[d], 0, 0);
        if (aliased.len == mark + 1 && aliased.s) {
            aliased.len = mark;
            aliased.s[mark] = 0;
        }
        add_symbol(tr, SYMBOL_TYPE, name, t ? strdup(t) : NULL, sb_take(&aliased));
    }
    if (!tagged && is_enum(tr, it) && it->body_first != CELL_NONE)
        enumerators(tr, it, e);
    free(t);
}

/* `#define gamma cairn_hidden_gamma` (or the #undef) for every name in hide: wrapped
 * around an #include, the header declares a function of another name, and a cell's
 * global `gamma` is the only `gamma` of the unit. */
static void hide_names(strbuf *b, const strmap *hide, int define)
{
    for (size_t i = 0; i < hide->cap; i++) {
        const char *k = hide->slots[i].key;
        if (!k || k == strmap_tombstone)
            continue;
        if (define)
            sb_printf(b, "#define %s cairn_hidden_%s\n", k, k);
        else
            sb_printf(b, "#undef %s\n", k);
    }
}

static int is_header_name(const translator *tr, const char *name, size_t n)
{
    return strmap_get(&tr->s->header_names, name, n, NULL) || strmap_get(&tr->header_names, name, n, NULL);
}

/* Item kinds -> unit text, pending entries and symbols. */
static void translate_item(translator *tr, const cell_item *it)
{
    switch (it->kind) {
    case CELL_ITEM_PREPROC: {
        const c_token *pt = &tr->t[it->first];
        const char *p = tr->code + pt->start + 1, *e = tr->code + pt->end;
        while (p < e && (*p == ' ' || *p == '\t'))
            p++;
        const char *w = p;
        while (p < e && ((*p >= 'a' && *p <= 'z') || *p == '_'))
            p++;
        size_t wn = (size_t)(p - w);
        while (p < e && (*p == ' ' || *p == '\t'))
            p++;
        const char *nm = p;
        while (p < e && ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_'))
            p++;
        char *name = str_ndup(nm, (size_t)(p - nm));
        char *text = str_ndup(tr->code + pt->start, pt->end - pt->start);
        if (!name || !text) {
            free(name);
            free(text);
            return;
        }
        if (wn == 7 && !memcmp(w, "include", 7)) {
            /* Already in the prelude: including it again could redefine what a
             * header without include guards defines. */
            strbuf key = {0};
            sb_puts(&key, "include:");
            sb_puts(&key, text);
            char *k = sb_take(&key);
            size_t at;
            if (k && !(strmap_get(&tr->s->entry_by_key, k, strlen(k), &at) && tr->s->entries[at].live) &&
                !strmap_get(&tr->uncond_includes, k, strlen(k), NULL)) {
                if (!tr->branch)
                    strmap_put(&tr->uncond_includes, k, strlen(k), 1);
                hide_names(&tr->defs, &tr->hide, 1);
                line_directive(&tr->defs, pt->line);
                sb_puts(&tr->defs, text);
                sb_puts(&tr->defs, "\n");
                hide_names(&tr->defs, &tr->hide, 0);
                strbuf t2 = {0};
                sb_puts(&t2, text);
                sb_puts(&t2, "\n");
                pending_entry *pe = new_entry(tr, PRELUDE_INCLUDE, sb_take(&t2));
                entry_key(tr, pe, k);
            }
            free(k);
        } else {
            int define = wn == 6 && !memcmp(w, "define", 6), undef = wn == 5 && !memcmp(w, "undef", 5);
            if (define && *name && tr->branch)
                sb_printf(&tr->defs, "#undef %s\n", name); /* the older one stays in the unit */
            line_directive(&tr->defs, pt->line);
            sb_puts(&tr->defs, text);
            sb_puts(&tr->defs, "\n");
            /* Tells after compiling whether tcc compiled this group (cell_unit_drop_undefined). */
            if (tr->opens)
                sb_printf(&tr->defs, "char cairn_branch_%u;\n", tr->opens);
            /* A conditional goes to both halves of the unit, so the definitions and the
             * statements between #if and #endif are each still inside it. */
            static const char *const conditionals[] = {"if", "ifdef", "ifndef", "elif", "else", "endif", NULL};
            for (const char *const *c = conditionals; *c; c++)
                if (strlen(*c) == wn && !memcmp(*c, w, wn)) {
                    line_directive(&tr->body, pt->line);
                    sb_puts(&tr->body, text);
                    sb_puts(&tr->body, "\n");
                }
            if ((define || undef) && *name) {
                /* Replayed among the statements too, so each statement sees the macros
                 * as they are at its place in the cell (the file-scope copy serves the
                 * definitions). */
                line_directive(&tr->body, pt->line);
                sb_printf(&tr->body, "#undef %s\n", name);
                if (define) {
                    line_directive(&tr->body, pt->line);
                    sb_puts(&tr->body, text);
                    sb_puts(&tr->body, "\n");
                }
                strmap_put(&tr->touched_macros, name, strlen(name), 1);
                strbuf t2 = {0}, key = {0};
                sb_puts(&t2, text);
                sb_puts(&t2, "\n");
                sb_printf(&key, "#%s", name);
                char *k = sb_take(&key);
                pending_entry *pe = new_entry(tr, define ? PRELUDE_MACRO : PRELUDE_UNDEF, sb_take(&t2));
                entry_key(tr, pe, k);
                free(k);
                if (define) {
                    strmap_put(&tr->cell_consts, name, strlen(name), 1);
                    fact_push(&tr->p->constants, strdup(name), tr->branch);
                    add_symbol(tr, SYMBOL_MACRO, strdup(name), strdup(text), NULL);
                } else {
                    strmap_del(&tr->cell_consts, name, strlen(name));
                    /* Defined and undefined in this cell, in the same group; across
                     * groups cell_unit_drop_undefined decides. */
                    for (size_t k = 0; k < tr->ndefined; k++)
                        if (tr->defined[k].kind == SYMBOL_MACRO && strcmp(tr->defined[k].name, name) == 0 &&
                            tr->defined_branch[k] == tr->branch) {
                            remove_defined(tr, k);
                            break;
                        }
                }
            }
        }
        free(name);
        free(text);
        return;
    }
    case CELL_ITEM_TYPE:
        if (it->is_typedef && it->ndecls) {
            emit_typedef(tr, it);
        } else if (!emit_tag_definition(tr, it)) {
            /* `struct P;`, an anonymous `enum {A, B};`: as written. */
            line_directive(&tr->defs, it->line);
            verbatim(tr, &tr->defs, it->first, it->last);
            sb_puts(&tr->defs, it->missing_semicolon ? ";\n" : "\n");
            strbuf text = {0};
            verbatim(tr, &text, it->first, it->last);
            sb_puts(&text, it->missing_semicolon ? ";\n" : "\n");
            pending_entry *e = new_entry(tr, PRELUDE_TYPE, sb_take(&text));
            if (it->tag != CELL_NONE) {
                strbuf key = {0};
                tag_key(tr, &key, it);
                char *k = sb_take(&key);
                entry_key(tr, e, k);
                free(k);
            }
            if (is_enum(tr, it) && it->body_first != CELL_NONE)
                enumerators(tr, it, e);
            if (e && !e->nkeys) { /* keyed by its own text so re-running it is harmless */
                strbuf key = {0};
                sb_puts(&key, "type:");
                sb_puts(&key, e->text);
                char *k = sb_take(&key);
                entry_key(tr, e, k);
                free(k);
            }
        }
        return;
    case CELL_ITEM_DECLARATION: {
        int tagged = emit_tag_definition(tr, it);
        if (!tagged && is_enum(tr, it) && it->tag == CELL_NONE && it->body_first != CELL_NONE) {
            /* `enum { RED, GREEN } color;`: the constants become a type entry of their
             * own (later cells see RED without naming color); color is an int. */
            strbuf text = {0};
            verbatim(tr, &text, it->aggregate, it->body_last);
            sb_puts(&text, ";\n");
            line_directive(&tr->defs, tr->t[it->aggregate].line);
            sb_putn(&tr->defs, text.s ? text.s : "", text.len);
            pending_entry *e = new_entry(tr, PRELUDE_TYPE, sb_take(&text));
            enumerators(tr, it, e);
            tagged = 1;
        }
        for (size_t d = 0; d < it->ndecls; d++) {
            const cell_declarator *dc = &it->decls[d];
            if (dc->is_function || it->is_extern)
                emit_declaration_only(tr, it, dc, tagged);
            else
                emit_variable(tr, it, dc, tagged);
        }
        return;
    }
    case CELL_ITEM_FUNCTION:
        emit_function(tr, it);
        return;
    case CELL_ITEM_STATEMENT:
        line_directive(&tr->body, it->line);
        if (tok_is(tr, it->first, "return") && it->last > it->first + 1 && !tok_is(tr, it->first + 1, ";")) {
            /* `return x;` at top level ends the cell; the cell function returns void. */
            size_t end = tok_is(tr, it->last - 1, ";") ? it->last - 1 : it->last;
            sb_puts(&tr->body, "{ (void)(");
            verbatim(tr, &tr->body, it->first + 1, end);
            sb_puts(&tr->body, "); return; }\n");
            return;
        }
        verbatim(tr, &tr->body, it->first, it->last);
        sb_puts(&tr->body, it->missing_semicolon ? ";\n" : "\n");
        return;
    default:
        return;
    }
}

/* `f(...)` where f is known to return void: run it, there is nothing to show. */
static int is_void_call(const translator *tr, const cell_item *it)
{
    if (tok_kind(tr, it->first) != C_TOKEN_IDENTIFIER || !tok_is(tr, it->first + 1, "("))
        return 0;
    int depth = 0;
    for (size_t i = it->first + 1; i < it->last; i++) {
        if (tok_is(tr, i, "(") || tok_is(tr, i, "[") || tok_is(tr, i, "{"))
            depth++;
        else if (tok_is(tr, i, ")") || tok_is(tr, i, "]") || tok_is(tr, i, "}"))
            if (--depth == 0 && i + 1 != it->last)
                return 0;
    }
    const char *p = tr->code + tr->t[it->first].start;
    size_t n = tr->t[it->first].end - tr->t[it->first].start;
    return strmap_get(&tr->cell_void, p, n, NULL) || session_is_void_function(tr->s, p, n);
}

static void collect_identifiers(strmap *set, const char *text, size_t len)
{
    c_lexer lx;
    c_token t;
    c_lexer_init(&lx, text, len, 0);
    while (c_lexer_next(&lx, &t) != C_TOKEN_EOF)
        if (t.kind == C_TOKEN_IDENTIFIER)
            strmap_put(set, text + t.start, t.end - t.start, 1);
        else if (t.kind == C_TOKEN_PREPROC && t.end - t.start > 1)
            collect_identifiers(set, text + t.start + 1, t.end - t.start - 1);
}

/* Whether a committed macro names a session variable it must reach through
 * cairn_ref_ (else its text goes into the unit as it is, without lexing it again). */
static int is_session_variable(const translator *tr, const char *p, size_t n);
static int macro_needs_rewrite(const translator *tr, const prelude_entry *e)
{
    if (!e->idents)
        return 1;
    for (size_t j = 0; j < e->nmacro_names; j++)
        if (is_session_variable(tr, e->macro_names[j], strlen(e->macro_names[j])))
            return 1;
    return 0;
}

/* A type entry kept whatever the cell names: keyed by its own text ("type:...") or
 * not keyed at all (an anonymous struct definition). */
static int type_always_kept(const prelude_entry *e)
{
    if (!e->nkeys)
        return 1;
    for (size_t k = 0; k < e->nkeys; k++)
        if (!strncmp(e->keys[k], "type:", 5))
            return 1;
    return 0;
}

/* Which session entries this cell redefines (one of their keys is among the cell's):
 * looked up through entry_by_key, which maps every key of a live entry to it, so a
 * cell that defines nothing costs nothing however long the session is. */
static unsigned char *redefined_entries(const translator *tr)
{
    const cell_session *s = tr->s;
    unsigned char *redef = s->nentries ? calloc(s->nentries, 1) : NULL;
    for (size_t i = 0; redef && i < tr->keys.cap; i++) {
        const char *k = tr->keys.slots[i].key;
        size_t at;
        if (k && k != strmap_tombstone && strmap_get(&s->entry_by_key, k, strlen(k), &at) && at < s->nentries)
            redef[at] = 1;
    }
    return redef;
}

/* The identifiers reached so far, and those not yet followed to the entries they name. */
typedef struct reach_queue {
    char **names;
    size_t n, cap;
} reach_queue;

static void queue_push(reach_queue *q, const char *name, size_t n)
{
    if (q->n == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 64;
        char **v = realloc(q->names, cap * sizeof *v);
        if (!v)
            return;
        q->names = v;
        q->cap = cap;
    }
    char *c = strndup(name, n);
    if (c)
        q->names[q->n++] = c;
}

static void reach_name(translator *tr, reach_queue *q, const char *name, size_t n)
{
    if (strmap_get(&tr->idents, name, n, NULL))
        return;
    strmap_put(&tr->idents, name, n, 1);
    queue_push(q, name, n);
}

/* Keep entry e (index i) in the unit and reach every identifier of its text. */
static void reach_entry(translator *tr, reach_queue *q, unsigned char *keep, size_t i)
{
    const prelude_entry *e = &tr->s->entries[i];
    keep[i] = 1;
    if (e->idents) {
        for (size_t j = 0; j < e->nidents; j++)
            reach_name(tr, q, e->idents[j], strlen(e->idents[j]));
        return;
    }
    strmap found = {0}; /* not indexed (out of memory at commit): lex the text now */
    collect_identifiers(&found, e->text, strlen(e->text));
    for (size_t j = 0; j < found.cap; j++)
        if (found.slots[j].key && found.slots[j].key != strmap_tombstone)
            reach_name(tr, q, found.slots[j].key, strlen(found.slots[j].key));
    strmap_free(&found);
}

/* The session entries a unit needs: declarations of the names it reaches and the types
 * it reaches (by tag, typedef name or enumerator), following what each kept entry names
 * in turn, from the identifiers already in tr->idents. All types when prune is 0. Each
 * name is followed once through entry_by_key, so the work grows with what the cell
 * reaches, not with the session. */
static void reach_entries(translator *tr, unsigned char *keep, const unsigned char *redef, int prune)
{
    const cell_session *s = tr->s;
    reach_queue q = {0};
    for (size_t i = 0; i < tr->idents.cap; i++) {
        const char *k = tr->idents.slots[i].key;
        if (k && k != strmap_tombstone)
            queue_push(&q, k, strlen(k));
    }
    for (size_t i = 0; i < s->nentries; i++) {
        const prelude_entry *e = &s->entries[i];
        if (e->live && !redef[i] && !keep[i] && e->kind == PRELUDE_TYPE && (!prune || type_always_kept(e)))
            reach_entry(tr, &q, keep, i);
    }
    static const char *const tags[] = {"", "struct ", "union ", "enum "};
    while (q.n) {
        char *name = q.names[--q.n];
        for (size_t t = 0; t < sizeof tags / sizeof *tags; t++) {
            strbuf key = {0};
            sb_puts(&key, tags[t]);
            sb_puts(&key, name);
            size_t at;
            if (key.s && strmap_get(&s->entry_by_key, key.s, key.len, &at) && at < s->nentries && s->entries[at].live &&
                !redef[at] && !keep[at]) {
                const prelude_entry *e = &s->entries[at];
                if ((e->kind == PRELUDE_DECL && t == 0 && e->nkeys && strcmp(e->keys[0], name) == 0) ||
                    e->kind == PRELUDE_TYPE)
                    reach_entry(tr, &q, keep, at);
            }
            free(sb_take(&key));
        }
        free(name);
    }
    free(q.names);
}

/* Type facts of a split text: typedef names, void functions, constants and members.
 * Used for the runtime headers (cell_session.c) and, through the translator, for cells. */
int cell_collect_facts(const cell_session *s, const char *code, const cell_split_result *r, const unsigned *item_branch,
                       unsigned branch, cell_pending *p)
{
    const c_token *t = r->tokens;
    for (size_t i = 0; i < r->nitems; i++) {
        const cell_item *it = &r->items[i];
        unsigned b = item_branch ? item_branch[i] : branch;
        if (it->kind == CELL_ITEM_PREPROC) {
            const char *q = code + t[it->first].start + 1;
            while (*q == ' ' || *q == '\t')
                q++;
            if (strncmp(q, "define", 6) == 0 && (q[6] == ' ' || q[6] == '\t')) {
                q += 6;
                while (*q == ' ' || *q == '\t')
                    q++;
                const char *e = q;
                while ((*e >= 'a' && *e <= 'z') || (*e >= 'A' && *e <= 'Z') || (*e >= '0' && *e <= '9') || *e == '_')
                    e++;
                if (e > q)
                    fact_push(&p->constants, str_ndup(q, (size_t)(e - q)), b);
            }
            continue;
        }
        if (it->kind != CELL_ITEM_TYPE && it->kind != CELL_ITEM_DECLARATION && it->kind != CELL_ITEM_FUNCTION)
            continue;
        int is_enum_body = it->aggregate != CELL_NONE && c_token_is(code, &t[it->aggregate], "enum");
        if (it->body_first != CELL_NONE && is_enum_body) {
            int depth = 0;
            for (size_t k = it->body_first + 1; k + 1 < it->body_last; k++) {
                if (c_token_is(code, &t[k], "(") || c_token_is(code, &t[k], "{") || c_token_is(code, &t[k], "["))
                    depth++;
                else if (c_token_is(code, &t[k], ")") || c_token_is(code, &t[k], "}") || c_token_is(code, &t[k], "]"))
                    depth--;
                else if (!depth && t[k].kind == C_TOKEN_IDENTIFIER && (c_token_is(code, &t[k - 1], "{") || c_token_is(code, &t[k - 1], ",")))
                    fact_push(&p->constants, str_ndup(code + t[k].start, t[k].end - t[k].start), b);
            }
        }
        /* Members of a struct/union body, under its tag and under each plain typedef name. */
        member_list body = {0};
        int has_body = it->body_first != CELL_NONE && !is_enum_body;
        if (has_body)
            members_from_body(s, code, t, it->body_first, it->body_last, &body);
        char *alias = NULL; /* `typedef struct P Q;` or `typedef mat matrix;`: Q gets P's members */
        if (!has_body && it->is_typedef) {
            if (it->aggregate != CELL_NONE && it->tag != CELL_NONE)
                alias = tokens_text(code, t, it->aggregate, it->tag + 1);
            else
                for (size_t k = it->spec_first; k < it->spec_last; k++)
                    if (t[k].kind == C_TOKEN_IDENTIFIER)
                        alias = str_ndup(code + t[k].start, t[k].end - t[k].start);
        }
        char *target_names[16];
        size_t ntargets = 0;
        if (has_body && it->tag != CELL_NONE)
            target_names[ntargets++] = tokens_text(code, t, it->aggregate, it->tag + 1);
        for (size_t d = 0; d < it->ndecls; d++) {
            const cell_declarator *dc = &it->decls[d];
            if (dc->name == CELL_NONE)
                continue;
            char *name = str_ndup(code + t[dc->name].start, t[dc->name].end - t[dc->name].start);
            if (!name)
                continue;
            if (it->is_typedef) {
                fact_push(&p->types, strdup(name), b);
                if ((has_body || alias) && dc->first == dc->name && dc->last == dc->name + 1 && ntargets < 16) {
                    target_names[ntargets++] = name;
                    continue;
                }
            } else if (dc->is_function && dc->first == dc->name) {
                int has_void = 0, other = 0;
                for (size_t k = it->spec_first; k < it->spec_last; k++)
                    if (c_token_is(code, &t[k], "void"))
                        has_void = 1;
                    else if (t[k].kind == C_TOKEN_IDENTIFIER)
                        other = 1;
                if (has_void && !other) {
                    fact_push(&p->void_functions, name, b);
                    continue;
                }
            }
            free(name);
        }
        for (size_t k = 0; k < ntargets; k++) {
            if (!target_names[k])
                continue;
            member_list m = {0};
            const member_list *src = &body;
            size_t idx;
            if (alias && !has_body) {
                /* Members known already (from the session or this same text). */
                if (strmap_get(&s->member_by_type, alias, strlen(alias), &idx))
                    src = &s->members[idx];
                else {
                    src = NULL;
                    for (size_t j = 0; j < p->nmembers; j++)
                        if (strcmp(p->members[j].type, alias) == 0)
                            src = &p->members[j];
                }
            }
            if (!src || !src->n) {
                free(target_names[k]);
                continue;
            }
            m.type = target_names[k];
            m.branch = b;
            m.names = calloc(src->n, sizeof *m.names);
            m.types = calloc(src->n, sizeof *m.types);
            if (!m.names || !m.types) {
                free(m.names);
                free(m.types);
                free(m.type);
                continue;
            }
            for (size_t j = 0; j < src->n; j++) {
                m.names[j] = strdup(src->names[j]);
                m.types[j] = strdup(src->types[j]);
            }
            m.n = src->n;
            member_list *v = realloc(p->members, (p->nmembers + 1) * sizeof *v);
            if (!v) {
                for (size_t j = 0; j < m.n; j++) {
                    free(m.names[j]);
                    free(m.types[j]);
                }
                free(m.names);
                free(m.types);
                free(m.type);
                continue;
            }
            p->members = v;
            p->members[p->nmembers++] = m;
        }
        for (size_t j = 0; j < body.n; j++) {
            free(body.names[j]);
            free(body.types[j]);
        }
        free(body.names);
        free(body.types);
        free(alias);
    }
    return 0;
}

/* Type names the splitter knows: the session's, and those of headers this cell includes. */
typedef struct type_context {
    const cell_session *s;
    strmap *extra;
} type_context;

static int split_is_type(void *ctx, const char *name, size_t n)
{
    const type_context *tc = ctx;
    return session_has_type(tc->s, name, n) || (tc->extra && strmap_get(tc->extra, name, n, NULL));
}

/* `#include "mine.h"` in a cell: learn the header's typedef names (so `point *p;` is a
 * declaration), struct members and void functions, like the runtime headers. Found
 * relative to the working directory, then in the runtime include directory; system
 * headers (<...>) are covered by the standard type names. */
static void learn_includes(const cell_session *s, const char *code, strmap *extra, strmap *names, cell_pending *p)
{
#ifndef CAIRN_RUNTIME_INCLUDE_DIR
#define CAIRN_RUNTIME_INCLUDE_DIR "runtime/include"
#endif
    c_lexer lx;
    c_token t;
    c_lexer_init(&lx, code, strlen(code), 0);
    cond_walk cw = {0}; /* numbers branches as cell_translate does: what a header of a
                         * skipped group declares is dropped with it */
    while (c_lexer_next(&lx, &t) != C_TOKEN_EOF) {
        if (t.kind != C_TOKEN_PREPROC)
            continue;
        unsigned branch = cond_current(&cw);
        cond_feed(&cw, code + t.start, t.end - t.start);
        const char *q = code + t.start + 1, *e = code + t.end;
        while (q < e && (*q == ' ' || *q == '\t'))
            q++;
        if (e - q < 8 || memcmp(q, "include", 7) != 0)
            continue;
        q += 7;
        while (q < e && (*q == ' ' || *q == '\t'))
            q++;
        if (q < e && *q == '<') {
            /* A system header new to the session: what it declares, for hiding. */
            strbuf key = {0}, line = {0};
            sb_puts(&key, "include:");
            sb_putn(&key, code + t.start, t.end - t.start);
            char *k = sb_take(&key);
            size_t at;
            if (k && !(strmap_get(&s->entry_by_key, k, strlen(k), &at) && s->entries[at].live)) {
                sb_putn(&line, code + t.start, t.end - t.start);
                sb_puts(&line, "\n");
                char *l = sb_take(&line);
                strmap found = {0};
                if (l && cell_header_names(s, l, &found) == 0)
                    for (size_t i = 0; i < found.cap; i++) {
                        const char *nm = found.slots[i].key;
                        if (!nm || nm == strmap_tombstone || strmap_get(&s->header_names, nm, strlen(nm), NULL))
                            continue;
                        strmap_put(names, nm, strlen(nm), 1);
                        fact_push(&p->header_names, strdup(nm), branch);
                    }
                strmap_free(&found);
                free(l);
            }
            free(k);
            continue;
        }
        if (q >= e || *q != '"')
            continue;
        const char *end = memchr(q + 1, '"', (size_t)(e - q - 1));
        if (!end || end - q - 1 >= 1024)
            continue;
        char name[1024], path[4096];
        memcpy(name, q + 1, (size_t)(end - q - 1));
        name[end - q - 1] = 0;
        FILE *f = fopen(name, "rb");
        if (!f) {
            snprintf(path, sizeof path, "%s/%s", CAIRN_RUNTIME_INCLUDE_DIR, name);
            f = fopen(path, "rb");
        }
        if (!f)
            continue; /* tcc will say it cannot find it */
        strbuf b = {0};
        char buf[4096];
        size_t n;
        while ((n = fread(buf, 1, sizeof buf, f)) > 0 && b.len < (8u << 20))
            sb_putn(&b, buf, n);
        fclose(f);
        char *text = sb_take(&b);
        if (!text)
            continue;
        type_context tc = {s, extra};
        cell_split_result r;
        size_t before = p->types.n;
        if (cell_split(text, split_is_type, &tc, &r) == 0)
            cell_collect_facts(s, text, &r, NULL, branch, p);
        cell_split_free(&r);
        free(text);
        for (size_t i = before; i < p->types.n; i++)
            strmap_put(extra, p->types.names[i], strlen(p->types.names[i]), 1);
    }
}

/* Whether identifier i starts a declarator: `double lr`, `mat *lr`, `double (*lr)[3]`,
 * `double a, lr` (in a statement that starts with a type). */
static int declares(const translator *tr, size_t i, size_t stmt_start, const strmap *local_types)
{
    size_t j = i;
    while (j > 0 && (tok_is(tr, j - 1, "*") || tok_is(tr, j - 1, "(") || tok_is(tr, j - 1, "const") ||
                     tok_is(tr, j - 1, "volatile") || tok_is(tr, j - 1, "restrict")))
        j--;
    if (j == 0)
        return 0;
    size_t k = j - 1;
    const char *p = tr->code + tr->t[k].start;
    size_t n = tr->t[k].end - tr->t[k].start;
    if (tr->t[k].kind == C_TOKEN_KEYWORD)
        return cell_is_specifier_keyword(p, n);
    if (tr->t[k].kind == C_TOKEN_IDENTIFIER)
        return session_has_type(tr->s, p, n) || strmap_get(local_types, p, n, NULL) ||
               (k > 0 && (tok_is(tr, k - 1, "struct") || tok_is(tr, k - 1, "union") || tok_is(tr, k - 1, "enum")));
    if (tok_is(tr, k, ",") && stmt_start < k) {
        const char *q = tr->code + tr->t[stmt_start].start;
        size_t m = tr->t[stmt_start].end - tr->t[stmt_start].start;
        return (tr->t[stmt_start].kind == C_TOKEN_KEYWORD && cell_is_specifier_keyword(q, m)) ||
               (tr->t[stmt_start].kind == C_TOKEN_IDENTIFIER && (session_has_type(tr->s, q, m) || strmap_get(local_types, q, m, NULL)));
    }
    return 0;
}

/* Why uses of earlier cells' variables are rewritten: tcc 0.9.27 on x86_64 folds a
 * floating-point operand that is an extern variable into the instruction as a
 * PC-relative memory operand (`addsd db(%rip)`), and for a symbol bound with
 * tcc_add_symbol (an absolute symbol) its linker points that reference at a PLT stub:
 * `x * lr` reads garbage. A load through a pointer that lives in the unit itself is
 * compiled correctly, so every use of an earlier cell's variable becomes
 * `(*cairn_ref_NAME)` with `static __typeof__(NAME) *const cairn_ref_NAME = &NAME;` in
 * the prelude. Uses that are not that variable are left alone: member names after `.`
 * and `->`, struct bodies, labels, and names shadowed by a local declaration or a
 * parameter (until the end of the enclosing block — erring towards the plain name,
 * which is always correct C). */
/* NAME[0..n) is a variable of an earlier cell that this unit reaches through its
 * cairn_ref_ pointer: a live extern declaration of it is in the session. */
static int is_session_variable(const translator *tr, const char *p, size_t n)
{
    size_t idx, at;
    if (!strmap_get(&tr->s->symbol_by_name, p, n, &idx) || tr->s->symbols[idx].kind != SYMBOL_VARIABLE)
        return 0;
    if (strmap_get(&tr->own, p, n, NULL))
        return 0;
    return strmap_get(&tr->s->entry_by_key, p, n, &at) && tr->s->entries[at].live && tr->s->entries[at].kind == PRELUDE_DECL;
}

/* A live macro of an earlier cell, with the session variables its body names
 * rewritten like the cell's own uses (parameters and members left alone). When out is
 * NULL, only records the names in tr->refs. */
static void rewrite_macro_into(translator *tr, const char *text, strbuf *out, strmap *names);
static void rewrite_macro(translator *tr, const char *text, strbuf *out)
{
    rewrite_macro_into(tr, text, out, NULL);
}

/* Also the scan cell_entry_index caches: with names set (and tr NULL) every body
 * identifier that could be rewritten goes into names. */
static void rewrite_macro_into(translator *tr, const char *text, strbuf *out, strmap *names)
{
    size_t len = strlen(text);
    c_lexer lx;
    c_token t, prev = {0};
    /* Lex after the '#': "define NAME(params) body". */
    c_lexer_init(&lx, text + 1, len - 1, 1);
    int state = 0; /* 0 "define", 1 NAME, 2 params or body, 3 in params, 4 body */
    const char *params[64];
    size_t param_len[64], nparams = 0;
    size_t from = 0;
    while (c_lexer_next(&lx, &t) != C_TOKEN_EOF) {
        const char *p = text + 1 + t.start;
        size_t n = t.end - t.start;
        if (state == 0) {
            state = 1;
        } else if (state == 1) {
            state = 2;
        } else if (state == 2) {
            /* A function-like macro has '(' right after its name, no space. */
            state = (t.kind == C_TOKEN_PUNCT && *p == '(' && t.start == prev.end) ? 3 : 4;
            if (state == 3) {
                prev = t;
                continue;
            }
        } else if (state == 3) {
            if (t.kind == C_TOKEN_IDENTIFIER && nparams < 64) {
                params[nparams] = p;
                param_len[nparams++] = n;
            } else if (t.kind == C_TOKEN_PUNCT && *p == ')') {
                state = 4;
            }
            prev = t;
            continue;
        }
        if (state == 4 && t.kind == C_TOKEN_IDENTIFIER) {
            int skip = prev.kind == C_TOKEN_PUNCT && ((prev.end - prev.start == 1 && text[1 + prev.start] == '.') ||
                                                     (prev.end - prev.start == 2 && !memcmp(text + 1 + prev.start, "->", 2)));
            for (size_t k = 0; k < nparams && !skip; k++)
                skip = param_len[k] == n && !memcmp(params[k], p, n);
            if (!skip && names)
                strmap_put(names, p, n, 1);
            else if (!skip && tr && is_session_variable(tr, p, n)) {
                strmap_put(&tr->refs, p, n, 1);
                if (out) {
                    sb_putn(out, text + from, (size_t)(p - text) - from);
                    sb_puts(out, "(*cairn_ref_");
                    sb_putn(out, p, n);
                    sb_puts(out, ")");
                    from = (size_t)(p - text) + n;
                }
            }
        }
        prev = t;
    }
    if (out)
        sb_puts(out, text + from);
}

/* Index of the bracket matching the opener at i, or CELL_NONE. */
static size_t match_bracket(const translator *tr, size_t i)
{
    int d = 0;
    for (; i < tr->n; i++)
        if (tok_is(tr, i, "(") || tok_is(tr, i, "[") || tok_is(tr, i, "{"))
            d++;
        else if ((tok_is(tr, i, ")") || tok_is(tr, i, "]") || tok_is(tr, i, "}")) && --d == 0)
            return i;
    return CELL_NONE;
}

/* Last token of the statement that starts at i (CELL_NONE when the cell ends first). */
static size_t statement_end(const translator *tr, size_t i, int nesting)
{
    if (i >= tr->n || nesting > 64)
        return CELL_NONE;
    if (tok_is(tr, i, "{"))
        return match_bracket(tr, i);
    if (tok_is(tr, i, "if") || tok_is(tr, i, "for") || tok_is(tr, i, "while") || tok_is(tr, i, "switch")) {
        size_t close = tok_is(tr, i + 1, "(") ? match_bracket(tr, i + 1) : CELL_NONE;
        size_t end = close == CELL_NONE ? CELL_NONE : statement_end(tr, close + 1, nesting + 1);
        if (end != CELL_NONE && tok_is(tr, i, "if") && tok_is(tr, end + 1, "else"))
            end = statement_end(tr, end + 2, nesting + 1);
        return end;
    }
    if (tok_is(tr, i, "do")) {
        size_t end = statement_end(tr, i + 1, nesting + 1);
        if (end == CELL_NONE || !tok_is(tr, end + 1, "while") || !tok_is(tr, end + 2, "("))
            return CELL_NONE;
        size_t close = match_bracket(tr, end + 2);
        return close != CELL_NONE && tok_is(tr, close + 1, ";") ? close + 1 : CELL_NONE;
    }
    for (; i < tr->n; i++) {
        if (tok_is(tr, i, ";"))
            return i;
        if (tok_is(tr, i, "(") || tok_is(tr, i, "[") || tok_is(tr, i, "{")) {
            i = match_bracket(tr, i);
            if (i == CELL_NONE)
                return CELL_NONE;
        } else if (tok_is(tr, i, ")") || tok_is(tr, i, "]") || tok_is(tr, i, "}")) {
            return CELL_NONE;
        }
    }
    return CELL_NONE;
}

/* Last token of the for statement whose '(' is at open; CELL_NONE when open is not a
 * for loop's (the variable then stays shadowed until the enclosing block ends: the
 * plain name is always correct C). */
static size_t for_scope_end(const translator *tr, size_t open)
{
    if (open == 0 || !tok_is(tr, open - 1, "for") || !tok_is(tr, open, "("))
        return CELL_NONE;
    return statement_end(tr, open - 1, 0);
}

static void mark_references(translator *tr, const cell_split_result *r)
{
    strmap *ownp = &tr->own, local_types = {0};
#define own (*ownp)
    for (size_t i = 0; i < r->nitems; i++) {
        const cell_item *it = &r->items[i];
        for (size_t d = 0; d < it->ndecls; d++)
            if (it->decls[d].name != CELL_NONE) {
                const c_token *t = &tr->t[it->decls[d].name];
                strmap_put(&own, tr->code + t->start, t->end - t->start, 1);
                if (it->is_typedef)
                    strmap_put(&local_types, tr->code + t->start, t->end - t->start, 1);
            }
    }
    tr->mark = calloc(tr->n ? tr->n : 1, 1);
    if (!tr->mark) {
        strmap_free(&local_types);
        return;
    }
    typedef struct shadow {
        size_t tok, depth;
        int paren; /* > 0: a parameter, declared inside that many parentheses */
        size_t until; /* last token of its scope when known early (a for loop), else CELL_NONE */
    } shadow;
    shadow *shadows = NULL;
    size_t nshadows = 0, depth = 0, stmt_start = 0;
    size_t opened[64]; /* the '(' at each parenthesis depth */
    int paren = 0;
    for (size_t i = 0; i < tr->n; i++) {
        const c_token *t = &tr->t[i];
        if (r->skipped && r->skipped[i])
            continue; /* inside `#if 0`: not C, and never compiled */
        if (t->kind == C_TOKEN_PREPROC) {
            stmt_start = i + 1;
            continue;
        }
        if (tok_is(tr, i, "{")) {
            if (i > 0 && (tok_is(tr, i - 1, "struct") || tok_is(tr, i - 1, "union") || tok_is(tr, i - 1, "enum") ||
                          (i > 1 && tr->t[i - 1].kind == C_TOKEN_IDENTIFIER &&
                           (tok_is(tr, i - 2, "struct") || tok_is(tr, i - 2, "union") || tok_is(tr, i - 2, "enum"))))) {
                int d = 0; /* a struct body declares members, not variables */
                for (; i < tr->n; i++)
                    if (tok_is(tr, i, "{"))
                        d++;
                    else if (tok_is(tr, i, "}") && --d == 0)
                        break;
                continue;
            }
            depth++;
            paren = 0;
            stmt_start = i + 1;
            continue;
        }
        if (tok_is(tr, i, "}")) {
            while (nshadows && shadows[nshadows - 1].depth >= depth)
                nshadows--;
            for (size_t k = 0; k < nshadows; k++)
                shadows[k].paren = 0; /* parameters now belong to a finished body */
            if (depth)
                depth--;
            paren = 0;
            stmt_start = i + 1;
            continue;
        }
        if (tok_is(tr, i, ";")) {
            stmt_start = i + 1;
            continue;
        }
        if (tok_is(tr, i, "(")) {
            if (paren < (int)(sizeof opened / sizeof opened[0]))
                opened[paren] = i;
            paren++;
        } else if (tok_is(tr, i, ")") && paren > 0) {
            paren--;
            /* Parameters of a prototype (`f(double lr);`, `(*fp)(double lr) = ...`) end
             * with its list. Those of a definition live on in its body, and a `for (...)`
             * variable in the statement after it: they stay until the block ends. */
            size_t o = paren < (int)(sizeof opened / sizeof opened[0]) ? opened[paren] : 0;
            int declarator = o > 0 && (tr->t[o - 1].kind == C_TOKEN_IDENTIFIER || tok_is(tr, o - 1, ")"));
            if (declarator && (tok_is(tr, i + 1, ";") || tok_is(tr, i + 1, ",") || tok_is(tr, i + 1, "=")))
                while (nshadows && shadows[nshadows - 1].paren > paren)
                    nshadows--;
        }
        if (t->kind != C_TOKEN_IDENTIFIER)
            continue;
        const char *p = tr->code + t->start;
        size_t n = t->end - t->start;
        if ((tok_is(tr, i, "offsetof") || tok_is(tr, i, "__builtin_offsetof")) && tok_is(tr, i + 1, "(")) {
            /* offsetof(type, member): names in there are members, not variables. */
            int d = 0;
            for (i++; i < tr->n; i++)
                if (tok_is(tr, i, "("))
                    d++;
                else if (tok_is(tr, i, ")") && --d == 0)
                    break;
            continue;
        }
        if (!is_session_variable(tr, p, n))
            continue;
        if (i > 0 && tok_is(tr, i - 1, "goto"))
            continue; /* a label */
        if (i > 0 && (tok_is(tr, i - 1, ".") || tok_is(tr, i - 1, "->") || tok_is(tr, i - 1, "struct") ||
                      tok_is(tr, i - 1, "union") || tok_is(tr, i - 1, "enum")))
            continue; /* a member or a tag, not the variable */
        int shadowed = 0;
        for (size_t k = 0; k < nshadows && !shadowed; k++)
            shadowed = (shadows[k].until == CELL_NONE || i <= shadows[k].until) &&
                       tr->t[shadows[k].tok].end - tr->t[shadows[k].tok].start == n &&
                       memcmp(tr->code + tr->t[shadows[k].tok].start, p, n) == 0;
        if (shadowed)
            continue;
        if (declares(tr, i, stmt_start, &local_types)) {
            shadow *v = realloc(shadows, (nshadows + 1) * sizeof *v);
            if (v) {
                shadows = v;
                shadows[nshadows].tok = i;
                shadows[nshadows].depth = paren > 0 ? depth + 1 : depth;
                shadows[nshadows].paren = paren;
                shadows[nshadows].until = paren > 0 ? for_scope_end(tr, opened[paren - 1 < 63 ? paren - 1 : 63]) : CELL_NONE;
                nshadows++;
            }
            continue;
        }
        if (tok_is(tr, i + 1, ":") && (i == 0 || tok_is(tr, i - 1, ";") || tok_is(tr, i - 1, "{") || tok_is(tr, i - 1, "}")))
            continue; /* a label */
        tr->mark[i] = MARK_REF;
        strmap_put(&tr->refs, p, n, 1);
    }
    free(shadows);
    strmap_free(&local_types);
#undef own
}

/* The text of the type entry keyed key: this cell's newest, else the session's. */
static const char *type_entry_text(void *ctx, const char *key)
{
    const translator *tr = ctx;
    for (size_t e = tr->p->nentries; e-- > 0;) {
        const pending_entry *pe = &tr->p->entries[e];
        if (pe->kind == PRELUDE_TYPE && (!pe->branch || pe->branch == tr->branch))
            for (size_t k = 0; k < pe->nkeys; k++)
                if (strcmp(pe->keys[k], key) == 0)
                    return pe->text;
    }
    size_t at;
    if (strmap_get(&tr->s->entry_by_key, key, strlen(key), &at) && tr->s->entries[at].live &&
        tr->s->entries[at].kind == PRELUDE_TYPE)
        return tr->s->entries[at].text;
    return NULL;
}

/* The enumerators of a variable's type text ("enum color", "color_t", "const shade"),
 * as `"RED", "GREEN"` into names and `RED, GREEN` into values (tcc computes them);
 * returns how many, 0 when the type is not an enum this cell or the session defines
 * with a body. Only the type entries of that name are read. */
static int enum_enumerators(translator *tr, const char *type, strbuf *names, strbuf *values)
{
    const char *text = enum_definition(type, type_entry_text, tr);
    enum_item items[256];
    size_t n = text ? enum_items(text, items, 256) : 0;
    if (n > 256)
        return 0;
    for (size_t i = 0; i < n; i++) {
        sb_printf(names, "%s\"%.*s\"", i ? ", " : "", (int)items[i].nlen, items[i].name);
        sb_printf(values, "%s%.*s", i ? ", " : "", (int)items[i].nlen, items[i].name);
    }
    return (int)n;
}

/* `auto x = init` inside function bodies and statements (`for (auto i = 0; ...)`):
 * the `auto` becomes the type of init (MARK_AUTO, auto_type), as at top level; tcc would
 * otherwise take the old storage class with an implicit int. `auto int x` and
 * top-level declarations (emit_auto_variable) are left alone. */
static void mark_block_autos(translator *tr, const cell_split_result *r)
{
    if (!tr->mark || !strstr(tr->code, "auto"))
        return;
    size_t item = 0;
    for (size_t i = 0; i + 3 < tr->n && !tr->error; i++) {
        while (item < r->nitems && r->items[item].last <= i)
            item++;
        if (!tok_is(tr, i, "auto") || tok_kind(tr, i + 1) != C_TOKEN_IDENTIFIER || !tok_is(tr, i + 2, "="))
            continue;
        if (item < r->nitems && r->items[item].kind == CELL_ITEM_DECLARATION && i < r->items[item].spec_last)
            continue; /* a top-level declaration: emit_auto_variable */
        size_t j = i + 3;
        int depth = 0;
        for (; j < tr->n; j++) {
            if (tok_is(tr, j, "(") || tok_is(tr, j, "[") || tok_is(tr, j, "{"))
                depth++;
            else if (tok_is(tr, j, ")") || tok_is(tr, j, "]") || tok_is(tr, j, "}"))
                depth--;
            if (depth < 0 || (depth == 0 && (tok_is(tr, j, ",") || tok_is(tr, j, ";"))))
                break;
        }
        if (j == i + 3)
            continue;
        if (tok_is(tr, j, ",")) {
            char *name = tok_str(tr, i + 1);
            char msg[300];
            snprintf(msg, sizeof msg, "`auto` declares one variable at a time (C23): write `auto %s = ...;` on its own",
                     name ? name : "x");
            free(name);
            set_error(tr, i + 1, msg);
            return;
        }
        if (!tr->auto_end && !(tr->auto_end = calloc(tr->n, sizeof *tr->auto_end)))
            return;
        tr->auto_end[i] = j;
        tr->mark[i] = MARK_AUTO;
    }
}

int cell_translate(const cell_session *s, const char *code, int number, cell_unit *out)
{
    static const cell_session empty;
    memset(out, 0, sizeof *out);
    if (!s)
        s = &empty;
    if (!code)
        code = "";
    /* A name tcc accepts for any number (a silent execute may have none of its own). */
    if (number >= 0)
        snprintf(out->entry, sizeof out->entry, "cairn_cell_%d", number);
    else
        snprintf(out->entry, sizeof out->entry, "cairn_cell_n%u", 0u - (unsigned)number);
    translator tr;
    memset(&tr, 0, sizeof tr);
    tr.s = s;
    tr.code = code;
    tr.p = calloc(1, sizeof *tr.p);
    out->pending = tr.p;
    if (!tr.p) {
        out->error = strdup("out of memory");
        return -1;
    }

    strmap header_types = {0};
    learn_includes(s, code, &header_types, &tr.header_names, tr.p);
    type_context tc = {s, &header_types};
    cell_split_result r;
    int split_rc = cell_split(code, split_is_type, &tc, &r);
    strmap_free(&header_types);
    if (split_rc < 0) {
        out->error = r.error;
        out->error_line = r.error_line;
        out->error_column = r.error_column;
        r.error = NULL;
        cell_split_free(&r);
        strmap_free(&tr.header_names);
        return -1;
    }
    tr.t = r.tokens;
    tr.n = r.ntokens;

    mark_references(&tr, &r);
    mark_block_autos(&tr, &r);
    /* Globals of this cell, and earlier ones it names, that a header declares too. */
    for (size_t i = 0; i < r.ntokens; i++) {
        if (r.tokens[i].kind != C_TOKEN_IDENTIFIER)
            continue;
        const char *p = code + r.tokens[i].start;
        size_t n = r.tokens[i].end - r.tokens[i].start;
        size_t idx;
        if (!is_header_name(&tr, p, n))
            continue;
        if (strmap_get(&tr.own, p, n, NULL) ||
            (strmap_get(&s->symbol_by_name, p, n, &idx) &&
             (s->symbols[idx].kind == SYMBOL_VARIABLE || s->symbols[idx].kind == SYMBOL_FUNCTION)))
            strmap_put(&tr.hide, p, n, 1);
    }
    /* The conditional group each item is in, and the one each directive opens (all
     * preprocessor lines count, those inside function bodies too, as in learn_includes). */
    unsigned *item_branch = r.nitems ? calloc(r.nitems, 2 * sizeof *item_branch) : NULL;
    unsigned nbranches = 0;
    if (item_branch && strchr(code, '#')) {
        cond_walk cw = {0};
        for (size_t i = 0, k = 0; i < r.ntokens; i++) {
            int first = k < r.nitems && r.items[k].first == i;
            if (first)
                item_branch[k] = cond_current(&cw);
            if (r.tokens[i].kind == C_TOKEN_PREPROC) {
                unsigned opens = cond_feed(&cw, code + r.tokens[i].start, r.tokens[i].end - r.tokens[i].start);
                if (first)
                    item_branch[r.nitems + k] = opens;
            }
            k += first;
        }
        nbranches = cw.next;
    } else if (r.nitems && !item_branch) {
        tr.error = strdup("out of memory while translating the cell");
    }
    int shows = 0;
    for (size_t i = 0; i < r.nitems && !tr.error; i++) {
        const cell_item *it = &r.items[i];
        tr.branch = item_branch[i];
        tr.opens = item_branch[r.nitems + i];
        if (it->kind == CELL_ITEM_EXPRESSION) {
            line_directive(&tr.body, it->line);
            if (is_void_call(&tr, it)) {
                verbatim(&tr, &tr.body, it->first, it->last);
                sb_puts(&tr.body, ";\n");
            } else {
                /* A lone variable: its declared type names what the dispatch does not
                 * know ("struct point", "P"). */
                const char *type = NULL;
                if (it->last == it->first + 1 && tok_kind(&tr, it->first) == C_TOKEN_IDENTIFIER) {
                    char *name = tok_str(&tr, it->first);
                    int in_cell = 0; /* defined here, maybe in several groups: which one counts is tcc's */
                    for (size_t k = 0; name && k < tr.ndefined; k++)
                        if (tr.defined[k].kind == SYMBOL_VARIABLE && strcmp(tr.defined[k].name, name) == 0)
                            type = in_cell++ ? NULL : tr.defined[k].type;
                    const cell_symbol *y = name && !in_cell ? cell_session_find(s, name) : NULL;
                    if (y && y->kind == SYMBOL_VARIABLE)
                        type = y->type;
                    free(name);
                    if (type && strcmp(type, "auto") == 0)
                        type = NULL; /* named after compiling: the dispatch knows the common types */
                }
                /* A typedef'd array (`row r;` with `typedef int row[4];`) arrives decayed:
                 * name the array so the formatter shows its elements, not an address. */
                char *array_type = type ? typedef_array_text(&tr, type) : NULL;
                if (array_type)
                    type = array_type;
                strbuf names = {0}, values = {0};
                int nenum = type ? enum_enumerators(&tr, type, &names, &values) : 0;
                if (nenum > 0) {
                    /* An enum variable shows its enumerator: GREEN (1), or 5 (enum color). */
                    sb_printf(&tr.body, "{ static const char *const cairn_enum_names_[] = {%s};\n", names.s ? names.s : "");
                    sb_printf(&tr.body, "static const long long cairn_enum_values_[] = {%s};\n", values.s ? values.s : "");
                    line_directive(&tr.body, it->line);
                    sb_puts(&tr.body, "cairn_show_enum((long long)(");
                    verbatim(&tr, &tr.body, it->first, it->last);
                    sb_puts(&tr.body, "), ");
                    sb_c_string(&tr.body, type);
                    sb_printf(&tr.body, ", cairn_enum_names_, cairn_enum_values_, %d); }\n", nenum);
                } else if (type) {
                    sb_puts(&tr.body, "cairn_show_value_typed((");
                    verbatim(&tr, &tr.body, it->first, it->last);
                    sb_puts(&tr.body, "), ");
                    sb_c_string(&tr.body, type);
                    sb_puts(&tr.body, ");\n");
                } else {
                    sb_puts(&tr.body, "cairn_show_value((");
                    verbatim(&tr, &tr.body, it->first, it->last);
                    sb_puts(&tr.body, "));\n");
                }
                free(sb_take(&names));
                free(sb_take(&values));
                free(array_type);
                shows = 1;
            }
            continue;
        }
        translate_item(&tr, it);
    }
    tr.branch = tr.opens = 0;
    cell_collect_facts(s, code, &r, item_branch, 0, tr.p);
    free(item_branch);
    /* One marker per branch, last among the defined symbols: the executor sets their
     * addresses like any other's (cell_unit_drop_undefined reads them). */
    for (unsigned b = 1; b <= nbranches && !tr.error; b++) {
        char name[48];
        snprintf(name, sizeof name, "cairn_branch_%u", b);
        size_t before = tr.ndefined;
        add_symbol(&tr, SYMBOL_VARIABLE, strdup(name), NULL, NULL);
        if (tr.ndefined == before)
            tr.error = strdup("out of memory while translating the cell");
    }
    if (nbranches && !tr.error) {
        tr.p->nbranches = nbranches;
        tr.p->defined_branch = tr.defined_branch;
        tr.p->defined_seq = tr.defined_seq;
        tr.p->ndefined_info = tr.ndefined;
        tr.defined_branch = NULL;
        tr.defined_seq = NULL;
    }

    if (tr.error) {
        out->error = tr.error;
        out->error_line = tr.error_line;
        out->error_column = tr.error_column;
    } else {
        /* Identifiers the unit may need declared: the cell's own, and those of every
         * live macro (a macro body may name a variable of an earlier cell). */
        for (size_t i = 0; i < r.ntokens; i++)
            if (r.tokens[i].kind == C_TOKEN_IDENTIFIER)
                strmap_put(&tr.idents, code + r.tokens[i].start, r.tokens[i].end - r.tokens[i].start, 1);
            else if (r.tokens[i].kind == C_TOKEN_PREPROC)
                collect_identifiers(&tr.idents, code + r.tokens[i].start + 1, r.tokens[i].end - r.tokens[i].start - 1);
        unsigned char *redef = redefined_entries(&tr);
        unsigned char *keep = s->nentries ? calloc(s->nentries, 1) : NULL;
        if (s->nentries && (!redef || !keep)) {
            free(redef);
            free(keep);
            out->error = strdup("out of memory while translating the cell");
            goto done;
        }
        for (size_t i = 0; i < s->nentries; i++)
            if (s->entries[i].live && s->entries[i].kind == PRELUDE_MACRO && !redef[i]) {
                const prelude_entry *e = &s->entries[i];
                if (!e->idents) {
                    collect_identifiers(&tr.idents, e->text, strlen(e->text));
                    rewrite_macro(&tr, e->text, NULL);
                    continue;
                }
                for (size_t j = 0; j < e->nidents; j++)
                    strmap_put(&tr.idents, e->idents[j], strlen(e->idents[j]), 1);
                for (size_t j = 0; j < e->nmacro_names; j++)
                    if (is_session_variable(&tr, e->macro_names[j], strlen(e->macro_names[j])))
                        strmap_put(&tr.refs, e->macro_names[j], strlen(e->macro_names[j]), 1);
            }

        /* Types enter the unit only when reached (by the cell, a live macro, a declared
         * name or a kept type), and so do declarations (`extern int b[sizeof a];` names
         * a). A quoted header of the session may use cell types we cannot see: then
         * keep them all. */
        int prune = 1;
        for (size_t i = 0; i < s->nentries && prune; i++)
            if (s->entries[i].live && s->entries[i].kind == PRELUDE_INCLUDE && strchr(s->entries[i].text, '"'))
                prune = 0;
        if (s->nentries)
            reach_entries(&tr, keep, redef, prune);

        /* Earlier globals that only a macro names need hiding too. */
        for (size_t i = 0; i < tr.idents.cap; i++) {
            const char *k = tr.idents.slots[i].key;
            size_t idx, n;
            if (!k || k == strmap_tombstone || !is_header_name(&tr, k, n = strlen(k)))
                continue;
            if (strmap_get(&s->symbol_by_name, k, n, &idx) &&
                (s->symbols[idx].kind == SYMBOL_VARIABLE || s->symbols[idx].kind == SYMBOL_FUNCTION))
                strmap_put(&tr.hide, k, n, 1);
        }

        strbuf src = {0};
        hide_names(&src, &tr.hide, 1);
        sb_puts(&src, "#include \"cairn.h\"\n");
        hide_names(&src, &tr.hide, 0);
        for (size_t i = 0; i < s->nentries; i++) {
            const prelude_entry *e = &s->entries[i];
            if (!e->live || redef[i])
                continue;
            if (e->kind == PRELUDE_INCLUDE) {
                hide_names(&src, &tr.hide, 1);
                sb_puts(&src, e->text);
                hide_names(&src, &tr.hide, 0);
                continue;
            }
            if ((e->kind == PRELUDE_TYPE || e->kind == PRELUDE_DECL) && !keep[i])
                continue;
            if (e->kind == PRELUDE_DECL) {
                push_string(&out->uses, &out->nuses, strdup(e->keys[0]));
            }
            if (e->kind == PRELUDE_MACRO && !macro_needs_rewrite(&tr, e))
                sb_puts(&src, e->text);
            else if (e->kind == PRELUDE_MACRO)
                rewrite_macro(&tr, e->text, &src);
            else
                sb_puts(&src, e->text);
            if (e->kind == PRELUDE_DECL && strmap_get(&tr.refs, e->keys[0], strlen(e->keys[0]), NULL))
                sb_printf(&src, "static __typeof__(%s) *const cairn_ref_%s = &%s;\n", e->keys[0], e->keys[0], e->keys[0]);
        }
        if (tr.has_auto) {
            /* The type names an `auto` probe tries after the builtins and the cell's own
             * types: the runtime's, then the session types this unit carries. */
            sb_puts(&src, "#define cairn_auto_more(v) ");
            size_t open = 0;
            for (const char *const *t = auto_runtime_types; *t; t++) {
                size_t n = strcspn(*t, " ");
                if (session_has_type(s, *t, n))
                    open += generic_chain(&src, "v", *t);
            }
            for (size_t pass = 0, i = 0; pass < 2; i = 0, pass++) /* typedef names first */
            for (; i < s->nentries; i++) {
                const prelude_entry *e = &s->entries[i];
                if (!e->live || redef[i] || !keep[i] || e->kind != PRELUDE_TYPE)
                    continue;
                int is_typedef = !strncmp(e->text, "typedef", 7);
                for (size_t k = 0; k < e->nkeys; k++) {
                    const char *key = e->keys[k];
                    if (!is_named_type_key(key, is_typedef) || (strchr(key, ' ') != NULL) != (pass == 1) ||
                        (!strchr(key, ' ') && !session_has_type(s, key, strlen(key))))
                        continue;
                    open += generic_chain(&src, "v", key);
                    char ptr[300];
                    snprintf(ptr, sizeof ptr, "%s *", key);
                    open += generic_chain(&src, "v", ptr);
                }
            }
            sb_puts(&src, "(const char *)0");
            for (size_t k = 0; k < open; k++)
                sb_puts(&src, ")");
            sb_puts(&src, "\n");
        }
        free(keep);
        free(redef);
        sb_putn(&src, tr.defs.s ? tr.defs.s : "", tr.defs.len);
        sb_printf(&src, "void %s(void)\n{\n", out->entry);
        /* The statements start from the macros as the cell found them. */
        for (size_t i = 0; i < tr.touched_macros.cap; i++) {
            const char *k = tr.touched_macros.slots[i].key;
            if (!k || k == strmap_tombstone)
                continue;
            sb_printf(&src, "#undef %s\n", k);
            strbuf key = {0};
            sb_printf(&key, "#%s", k);
            size_t at;
            if (key.s && strmap_get(&s->entry_by_key, key.s, key.len, &at) && s->entries[at].live &&
                s->entries[at].kind == PRELUDE_MACRO)
                rewrite_macro(&tr, s->entries[at].text, &src);
            free(sb_take(&key));
        }
        sb_putn(&src, tr.body.s ? tr.body.s : "", tr.body.len);
        sb_puts(&src, "}\n");
        out->source = sb_take(&src);
        if (!out->source)
            out->error = strdup("out of memory");
        out->has_result = shows;
        out->notes = tr.notes.len ? sb_take(&tr.notes) : NULL;
        for (size_t i = 0; i < tr.ndefined; i++)
            tr.defined[i].cell = number;
        out->defined = tr.defined;
        out->ndefined = tr.ndefined;
        tr.defined = NULL;
        tr.ndefined = 0;
    }
done:
    for (size_t i = 0; i < tr.ndefined; i++) {
        free(tr.defined[i].name);
        free(tr.defined[i].declaration);
        free(tr.defined[i].type);
    }
    free(tr.defined);
    free(sb_take(&tr.defs));
    free(sb_take(&tr.body));
    free(sb_take(&tr.notes));
    strmap_free(&tr.keys);
    strmap_free(&tr.idents);
    strmap_free(&tr.cell_consts);
    strmap_free(&tr.cell_void);
    strmap_free(&tr.refs);
    strmap_free(&tr.own);
    strmap_free(&tr.header_names);
    strmap_free(&tr.hide);
    strmap_free(&tr.touched_macros);
    strmap_free(&tr.uncond_includes);
    free(tr.defined_branch);
    free(tr.defined_seq);
    free(tr.mark);
    free(tr.auto_end);
    cell_split_free(&r);
    return out->error ? -1 : 0;
}

void cell_unit_free(cell_unit *u)
{
    if (!u)
        return;
    free(u->source);
    for (size_t i = 0; i < u->ndefined; i++) {
        free(u->defined[i].name);
        free(u->defined[i].declaration);
        free(u->defined[i].type);
    }
    free(u->defined);
    free(u->error);
    free(u->notes);
    for (size_t i = 0; i < u->nuses; i++)
        free(u->uses[i]);
    free(u->uses);
    cell_pending_free(u->pending);
    memset(u, 0, sizeof *u);
}

static void fact_list_keep(fact_list *f, const unsigned char *live)
{
    size_t j = 0;
    for (size_t i = 0; i < f->n; i++) {
        if (!live[f->branch[i]]) {
            free(f->names[i]);
            continue;
        }
        f->names[j] = f->names[i];
        f->branch[j++] = f->branch[i];
    }
    f->n = j;
}

static void symbol_clear(cell_symbol *y)
{
    free(y->name);
    free(y->declaration);
    free(y->type);
}

/* Remove u->defined[i] (and its branch and sequence while those are kept). */
static void unit_remove_defined(cell_unit *u, size_t i)
{
    cell_pending *p = u->pending;
    symbol_clear(&u->defined[i]);
    size_t rest = u->ndefined - i - 1;
    memmove(&u->defined[i], &u->defined[i + 1], rest * sizeof *u->defined);
    if (p && p->ndefined_info == u->ndefined && p->defined_branch && p->defined_seq) {
        memmove(&p->defined_branch[i], &p->defined_branch[i + 1], rest * sizeof *p->defined_branch);
        memmove(&p->defined_seq[i], &p->defined_seq[i + 1], rest * sizeof *p->defined_seq);
        p->ndefined_info--;
    }
    u->ndefined--;
}

/* Write the dimensions the cairn_dims_ probes measured into the array types ("double [N]"
 * -> "double [10]"); the declaration later cells see keeps the text as written. */
static void fix_array_types(const cell_session *s, cell_unit *u, strbuf *notes)
{
    const cell_pending *p = u->pending;
    for (size_t a = 0; p && a < p->narrays; a++) {
        const sized_array *v = &p->arrays[a];
        char probe[300];
        snprintf(probe, sizeof probe, "cairn_dims_%s", v->name);
        const unsigned long *sizes = NULL;
        for (size_t i = 0; i < u->ndefined; i++)
            if (u->defined[i].name && strcmp(u->defined[i].name, probe) == 0 && u->defined[i].address)
                sizes = u->defined[i].address;
        if (!sizes)
            continue; /* in a group tcc skipped */
        for (size_t i = 0; i < u->ndefined; i++) {
            cell_symbol *y = &u->defined[i];
            if (y->kind != SYMBOL_VARIABLE || !y->name || strcmp(y->name, v->name) != 0 || !y->type)
                continue;
            strbuf t = {0};
            const char *q = y->type;
            int ok = 1;
            for (int l = 0; l < v->levels && ok; l++) {
                const char *open = NULL, *close = NULL;
                ok = next_dimension(q, &open, &close) && sizes[l + 1] && sizes[l] % sizes[l + 1] == 0;
                if (!ok)
                    break;
                sb_putn(&t, q, (size_t)(open - q));
                sb_printf(&t, "[%lu]", sizes[l] / sizes[l + 1]);
                q = close + 1;
            }
            if (!ok) {
                free(sb_take(&t));
                continue;
            }
            sb_puts(&t, q);
            char *type = sb_take(&t);
            if (!type)
                continue;
            free(y->type);
            y->type = type;
            const cell_symbol *old = s && !v->branch ? cell_session_find(s, v->name) : NULL;
            if (old && old->type && old->kind == SYMBOL_VARIABLE && strcmp(old->type, type) != 0)
                sb_printf(notes, "note: %s was %s (cell [%d]), now %s; functions defined before this cell keep using the old %s\n",
                          v->name, old->type, old->cell, type, v->name);
            else if (old && old->type && old->kind == SYMBOL_FUNCTION)
                sb_printf(notes, "note: %s was a function (%s), now a variable (%s)\n", v->name, old->type, type);
        }
    }
}

int cell_unit_infer_types(const cell_session *s, cell_unit *u)
{
    cell_pending *p = u ? u->pending : NULL;
    if (!p || p->autos_inferred)
        return u && u->error ? -1 : 0;
    p->autos_inferred = 1;
    strbuf notes = {0};
    for (size_t a = 0; a < p->nautos; a++) {
        const auto_variable *v = &p->autos[a];
        char probe[300];
        snprintf(probe, sizeof probe, "cairn_auto_type_%s", v->name);
        const char *type = NULL;
        int compiled = 0;
        for (size_t i = 0; i < u->ndefined; i++)
            if (u->defined[i].name && strcmp(u->defined[i].name, probe) == 0 && u->defined[i].address) {
                compiled = 1;
                type = *(const char *const *)u->defined[i].address;
            }
        if (!compiled)
            continue; /* in a group tcc skipped: cell_unit_drop_undefined drops it */
        if (!type) {
            if (!u->error) {
                u->error = v->error ? strdup(v->error) : strdup("cannot name the type `auto` inferred: write it");
                u->error_line = v->line;
                u->error_column = v->column;
            }
            continue;
        }
        strbuf t = {0}, decl = {0};
        sb_printf(&t, "%s%s", v->is_const ? "const " : "", type);
        char *type_text = sb_take(&t);
        if (!type_text)
            continue;
        sb_printf(&decl, "extern %s %s;", type_text, v->name);
        char *decl_text = sb_take(&decl);
        if (!decl_text) {
            free(type_text);
            continue;
        }
        if (v->entry < p->nentries) {
            pending_entry *pe = &p->entries[v->entry];
            char *text = malloc(strlen(decl_text) + 2);
            if (text) {
                sprintf(text, "%s\n", decl_text);
                free(pe->text);
                pe->text = text;
            }
        }
        for (size_t i = 0; i < u->ndefined; i++) {
            cell_symbol *y = &u->defined[i];
            if (y->kind != SYMBOL_VARIABLE || !y->name || strcmp(y->name, v->name) != 0 || !y->type ||
                strcmp(y->type, "auto") != 0)
                continue;
            free(y->type);
            free(y->declaration);
            y->type = strdup(type_text);
            y->declaration = strdup(decl_text);
        }
        /* As for typed variables: no note inside a group, which tcc may have skipped
         * (a name defined in two groups has one probe address, that of the compiled one). */
        const cell_symbol *old = s && !v->branch ? cell_session_find(s, v->name) : NULL;
        if (old && old->type && old->kind == SYMBOL_VARIABLE && strcmp(old->type, type_text) != 0)
            sb_printf(&notes, "note: %s was %s (cell [%d]), now %s; functions defined before this cell keep using the old %s\n",
                      v->name, old->type, old->cell, type_text, v->name);
        else if (old && old->type && old->kind == SYMBOL_FUNCTION)
            sb_printf(&notes, "note: %s was a function (%s), now a variable (%s)\n", v->name, old->type, type_text);
        free(type_text);
        free(decl_text);
    }
    fix_array_types(s, u, &notes);
    /* The probes are not the cell's: they never enter the session. */
    for (size_t i = u->ndefined; i-- > 0;)
        if (u->defined[i].name &&
            (!strncmp(u->defined[i].name, "cairn_auto_type_", 16) || !strncmp(u->defined[i].name, "cairn_dims_", 11)))
            unit_remove_defined(u, i);
    if (notes.len) {
        strbuf all = {0};
        sb_puts(&all, u->notes ? u->notes : "");
        sb_putn(&all, notes.s, notes.len);
        char *text = sb_take(&all);
        if (text) {
            free(u->notes);
            u->notes = text;
        }
    }
    free(sb_take(&notes));
    return u->error ? -1 : 0;
}

void cell_unit_drop_undefined(cell_unit *u)
{
    cell_pending *p = u ? u->pending : NULL;
    if (p && !p->autos_inferred)
        cell_unit_infer_types(NULL, u);
    if (!p || !p->nbranches || p->nbranches > u->ndefined || p->ndefined_info != u->ndefined)
        return;
    unsigned nb = p->nbranches;
    size_t nsym = u->ndefined - nb;
    unsigned char *live = calloc(nb + 1, 1);
    unsigned char *keep = calloc(nsym + 1, 1);
    if (!live || !keep) { /* commit then skips the markers and keeps everything */
        free(live);
        free(keep);
        return;
    }
    live[0] = 1;
    for (unsigned b = 1; b <= nb; b++)
        live[b] = u->defined[nsym + b - 1].address != NULL;
    for (size_t i = 0; i < nsym; i++)
        keep[i] = live[p->defined_branch[i]];
    /* An #undef tcc compiled removes this cell's macro of that name made before it. */
    for (size_t e = 0; e < p->nentries; e++) {
        const pending_entry *pe = &p->entries[e];
        if (pe->kind != PRELUDE_UNDEF || !live[pe->branch] || !pe->nkeys)
            continue;
        for (size_t i = 0; i < nsym; i++)
            if (keep[i] && u->defined[i].kind == SYMBOL_MACRO && p->defined_seq[i] <= e &&
                strcmp(u->defined[i].name, pe->keys[0] + 1) == 0)
                keep[i] = 0;
    }
    /* Of a name defined in several compiled places, the last one counts. */
    for (size_t i = 0; i < nsym; i++)
        for (size_t j = i + 1; j < nsym && keep[i]; j++)
            if (keep[j] && strcmp(u->defined[i].name, u->defined[j].name) == 0)
                keep[i] = 0;
    size_t j = 0;
    for (size_t i = 0; i < u->ndefined; i++) {
        if (i < nsym && keep[i])
            u->defined[j++] = u->defined[i];
        else
            symbol_clear(&u->defined[i]);
    }
    u->ndefined = j;
    j = 0;
    for (size_t e = 0; e < p->nentries; e++) {
        pending_entry *pe = &p->entries[e];
        if (live[pe->branch]) {
            p->entries[j++] = *pe;
            continue;
        }
        free(pe->text);
        for (size_t k = 0; k < pe->nkeys; k++)
            free(pe->keys[k]);
        free(pe->keys);
    }
    p->nentries = j;
    fact_list_keep(&p->types, live);
    fact_list_keep(&p->void_functions, live);
    fact_list_keep(&p->constants, live);
    fact_list_keep(&p->header_names, live);
    j = 0;
    for (size_t m = 0; m < p->nmembers; m++) {
        member_list *ml = &p->members[m];
        if (live[ml->branch]) {
            p->members[j++] = *ml;
            continue;
        }
        for (size_t k = 0; k < ml->n; k++) {
            free(ml->names[k]);
            free(ml->types[k]);
        }
        free(ml->names);
        free(ml->types);
        free(ml->type);
    }
    p->nmembers = j;
    p->nbranches = 0;
    free(p->defined_branch);
    free(p->defined_seq);
    p->defined_branch = NULL;
    p->defined_seq = NULL;
    p->ndefined_info = 0;
    free(live);
    free(keep);
}

/* The keys of m as a fresh array (NULL and *n = 0 when out of memory). */
static char **strmap_keys(const strmap *m, size_t *n)
{
    *n = 0;
    char **v = malloc((m->live ? m->live : 1) * sizeof *v);
    if (!v)
        return NULL;
    for (size_t i = 0; i < m->cap; i++) {
        const char *k = m->slots[i].key;
        if (!k || k == strmap_tombstone)
            continue;
        if (!(v[*n] = strdup(k))) {
            for (size_t j = 0; j < *n; j++)
                free(v[j]);
            free(v);
            *n = 0;
            return NULL;
        }
        (*n)++;
    }
    return v;
}

void cell_entry_index(prelude_entry *e)
{
    e->idents = e->macro_names = NULL;
    e->nidents = e->nmacro_names = 0;
    strmap set = {0}, names = {0};
    collect_identifiers(&set, e->text, strlen(e->text));
    if (e->kind == PRELUDE_MACRO)
        rewrite_macro_into(NULL, e->text, NULL, &names);
    char **mn = e->kind == PRELUDE_MACRO ? strmap_keys(&names, &e->nmacro_names) : NULL;
    if (e->kind != PRELUDE_MACRO || mn) {
        e->macro_names = mn;
        e->idents = strmap_keys(&set, &e->nidents);
    }
    if (!e->idents) {
        for (size_t j = 0; j < e->nmacro_names; j++)
            free(e->macro_names[j]);
        free(e->macro_names);
        e->macro_names = NULL;
        e->nmacro_names = 0;
    }
    strmap_free(&set);
    strmap_free(&names);
}

void cell_entry_unindex(prelude_entry *e)
{
    for (size_t j = 0; j < e->nidents; j++)
        free(e->idents[j]);
    for (size_t j = 0; j < e->nmacro_names; j++)
        free(e->macro_names[j]);
    free(e->idents);
    free(e->macro_names);
    e->idents = e->macro_names = NULL;
    e->nidents = e->nmacro_names = 0;
}
