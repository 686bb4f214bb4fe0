/* cell_session.c — what earlier cells left for later ones.
 *
 * The session is an ordered list of prelude entries plus the newest symbol of each
 * name. An entry carries keys ("struct P", "P", "#N", a variable's name); committing a
 * cell kills every live entry that shares a key with one of the cell's new entries and
 * appends the new one, so re-running a cell that defines `struct P` leaves exactly one
 * definition of it. Dead entries are compacted away when they outnumber live ones, so
 * walking the prelude costs O(live names), never O(cells run). A cell macro that dies
 * is expanded first in the declarations and types committed after it, which were
 * compiled with its value.
 *
 * At creation the session reads the runtime headers (cairn.h, cairn/ *.h) with the same
 * splitter the cells go through, to learn their typedef names (mat, figure, ...), the
 * members of their structs (for `A.` completion), which functions return void and which
 * names are macros or enumerators. */
#include "cell_internal.h"

#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef CAIRN_RUNTIME_INCLUDE_DIR
#define CAIRN_RUNTIME_INCLUDE_DIR "runtime/include"
#endif

/* ---- strbuf ---- */

void sb_putn(strbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->s, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->s = p;
        b->cap = cap;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = 0;
}

void sb_puts(strbuf *b, const char *s) { sb_putn(b, s, strlen(s)); }

void sb_printf(strbuf *b, const char *fmt, ...)
{
    char small[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof small) {
        sb_putn(b, small, (size_t)n);
        return;
    }
    char *big = malloc((size_t)n + 1);
    if (!big) {
        b->oom = 1;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    sb_putn(b, big, (size_t)n);
    free(big);
}

char *sb_take(strbuf *b)
{
    char *s = b->oom ? NULL : b->s;
    if (!s && !b->oom)
        s = calloc(1, 1);
    if (b->oom)
        free(b->s);
    b->s = NULL;
    b->len = b->cap = 0;
    b->oom = 0;
    return s;
}

void sb_tokens(strbuf *b, const char *code, const c_token *t, size_t first, size_t last)
{
    for (size_t i = first; i < last; i++) {
        if (i > first && t[i].start > t[i - 1].end)
            sb_putn(b, " ", 1);
        sb_putn(b, code + t[i].start, t[i].end - t[i].start);
    }
}

char *tokens_text(const char *code, const c_token *t, size_t first, size_t last)
{
    strbuf b = {0};
    sb_tokens(&b, code, t, first, last);
    return sb_take(&b);
}

/* ---- type names every session knows ---- */

static const char *const standard_types[] = {
    "size_t", "ssize_t", "ptrdiff_t", "intptr_t", "uintptr_t", "intmax_t", "uintmax_t",
    "int8_t", "int16_t", "int32_t", "int64_t", "uint8_t", "uint16_t", "uint32_t", "uint64_t",
    "int_least8_t", "int_least16_t", "int_least32_t", "int_least64_t", "uint_least8_t",
    "uint_least16_t", "uint_least32_t", "uint_least64_t", "int_fast8_t", "int_fast16_t",
    "int_fast32_t", "int_fast64_t", "uint_fast8_t", "uint_fast16_t", "uint_fast32_t",
    "uint_fast64_t", "bool", "FILE", "fpos_t", "va_list", "__builtin_va_list", "wchar_t",
    "wint_t", "char16_t", "char32_t", "time_t", "clock_t", "clockid_t", "timer_t",
    "suseconds_t", "useconds_t", "off_t", "pid_t", "uid_t", "gid_t", "mode_t", "dev_t",
    "ino_t", "nlink_t", "blksize_t", "blkcnt_t", "socklen_t", "div_t", "ldiv_t", "lldiv_t",
    "jmp_buf", "sigjmp_buf", "sig_atomic_t", "sigset_t", "max_align_t", "mbstate_t",
    "float_t", "double_t", "locale_t", "pthread_t", "pthread_mutex_t", "pthread_cond_t",
    "pthread_attr_t", "DIR", "regex_t", "regmatch_t", "u_char", "u_int", "u_long", NULL};

int session_has_type(const cell_session *s, const char *name, size_t n) { return strmap_get(&s->types, name, n, NULL); }
int session_is_void_function(const cell_session *s, const char *name, size_t n) { return strmap_get(&s->void_functions, name, n, NULL); }
int session_is_constant(const cell_session *s, const char *name, size_t n) { return strmap_get(&s->constants, name, n, NULL); }

int cell_session_is_type(const cell_session *s, const char *name) { return session_has_type(s, name, strlen(name)); }

static int split_is_type(void *ctx, const char *name, size_t n) { return session_has_type(ctx, name, n); }

/* ---- enum types ---- */

static int ident_char(char c) { return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }

const char *enum_definition(const char *type, const char *(*lookup)(void *ctx, const char *key), void *ctx)
{
    char key[256];
    while (*type == ' ' || !strncmp(type, "const ", 6) || !strncmp(type, "volatile ", 9))
        type += *type == ' ' ? 1 : type[0] == 'c' ? 6 : 9;
    snprintf(key, sizeof key, "%s", type);
    for (int depth = 0; depth < 3; depth++) {
        size_t n = strlen(key);
        while (n && key[n - 1] == ' ')
            key[--n] = 0;
        for (size_t i = 0; i < n; i++)
            if (!ident_char(key[i]) && !(i == 4 && key[i] == ' ' && !strncmp(key, "enum ", 5)))
                return NULL; /* a pointer, an array, a qualifier after the name: not an enum value */
        const char *text = n ? lookup(ctx, key) : NULL;
        /* The entry must define the enum itself ("enum color {", "typedef enum ..."), not
         * a struct with an enum member. */
        const char *en = text;
        while (en && (*en == ' ' || *en == '\t' || *en == '\n'))
            en++;
        if (en && !strncmp(en, "typedef", 7) && !ident_char(en[7]))
            for (en += 7; *en == ' ' || *en == '\t' || *en == '\n';)
                en++;
        if (!en || strncmp(en, "enum", 4) != 0 || ident_char(en[4]))
            return NULL;
        const char *p = en + 4;
        while (*p == ' ' || *p == '\t' || *p == '\n')
            p++;
        const char *tag = p;
        while (ident_char(*p))
            p++;
        const char *after = p;
        while (*after == ' ' || *after == '\t' || *after == '\n')
            after++;
        if (*after == '{')
            return text;
        if (p == tag || depth == 2) /* `typedef enum color color_t;`: the tag has the body */
            return NULL;
        snprintf(key, sizeof key, "enum %.*s", (int)(p - tag), tag);
    }
    return NULL;
}

size_t enum_items(const char *text, enum_item *items, size_t max)
{
    const char *p = strchr(text, '{');
    if (!p)
        return 0;
    size_t count = 0;
    int depth = 0, expect = 1;
    enum_item *cur = NULL;
    for (p++; *p && !(depth == 0 && *p == '}'); p++) {
        if (p[0] == '/' && p[1] == '*') {
            const char *end = strstr(p + 2, "*/");
            p = end ? end + 1 : p + strlen(p) - 1;
            continue;
        }
        if (p[0] == '/' && p[1] == '/') {
            while (p[1] && p[1] != '\n')
                p++;
            continue;
        }
        if (*p == '\'' || *p == '"') { /* a character constant in a value */
            char q = *p;
            for (p++; *p && *p != q; p++)
                if (*p == '\\' && p[1])
                    p++;
            if (!*p)
                break;
            if (cur && cur->init)
                cur->ilen = (size_t)(p - cur->init + 1);
            continue;
        }
        if (*p == '(' || *p == '[' || *p == '{')
            depth++;
        else if (*p == ')' || *p == ']' || *p == '}')
            depth--;
        else if (depth == 0 && *p == ',') {
            expect = 1;
            cur = NULL;
        } else if (depth == 0 && *p == '=' && cur && !cur->init) {
            const char *v = p + 1;
            while (*v == ' ' || *v == '\t' || *v == '\n')
                v++;
            cur->init = v;
        } else if (expect && ident_char(*p) && !(*p >= '0' && *p <= '9')) {
            const char *w = p;
            while (ident_char(p[1]))
                p++;
            expect = 0;
            cur = count < max ? &items[count] : NULL;
            if (cur) {
                cur->name = w;
                cur->nlen = (size_t)(p - w + 1);
                cur->init = NULL;
                cur->ilen = 0;
            }
            count++;
            continue;
        }
        if (cur && cur->init && p >= cur->init && !(depth == 0 && *p == ',') && *p != ' ' && *p != '\t' && *p != '\n')
            cur->ilen = (size_t)(p - cur->init + 1);
    }
    return count;
}

static const char *session_type_text(void *ctx, const char *key)
{
    const cell_session *s = ctx;
    size_t at;
    if (strmap_get(&s->entry_by_key, key, strlen(key), &at) && s->entries[at].live && s->entries[at].kind == PRELUDE_TYPE)
        return s->entries[at].text;
    return NULL;
}

/* The value of an enumerator's initializer when it is an integer literal or a plain
 * character constant ('p', '\\n'); returns 0 when it needs the compiler. */
static int enum_literal(const enum_item *it, long long *value)
{
    char num[64], *end;
    size_t k = 0; /* entry texts may space tokens apart: "- 1" */
    for (size_t j = 0; j < it->ilen && k + 1 < sizeof num; j++)
        if (it->init[j] != ' ')
            num[k++] = it->init[j];
    num[k] = 0;
    if (!k || k + 1 >= sizeof num)
        return 0;
    if (num[0] == '\'') {
        static const char esc[] = "n\nt\tr\r0\0\\\\\'\'";
        if (k == 3 && num[2] == '\'' && num[1] != '\\') {
            *value = (unsigned char)num[1];
            return 1;
        }
        for (size_t e = 0; k == 4 && num[1] == '\\' && num[3] == '\'' && esc[e]; e += 2)
            if (esc[e] == num[2]) {
                *value = (unsigned char)esc[e + 1];
                return 1;
            }
        return 0;
    }
    *value = strtoll(num, &end, 0);
    while (*end == 'u' || *end == 'U' || *end == 'l' || *end == 'L')
        end++;
    return end != num && !*end;
}

char *cell_session_enum_name(const cell_session *s, const char *type, long long value, int *is_enum)
{
    *is_enum = 0;
    const char *text = s && type ? enum_definition(type, session_type_text, (void *)s) : NULL;
    enum_item items[256];
    size_t n = text ? enum_items(text, items, 256) : 0;
    if (!n || n > 256)
        return NULL;
    long long next = 0;
    size_t match = n;
    for (size_t i = 0; i < n; i++) { /* every value must be known, or none is shown */
        if (items[i].init && !enum_literal(&items[i], &next))
            return NULL;
        if (next == value && match == n)
            match = i;
        next++;
    }
    *is_enum = 1;
    if (match == n)
        return NULL; /* an enum, no enumerator of that value */
    char *name = malloc(items[match].nlen + 1);
    if (name) {
        memcpy(name, items[match].name, items[match].nlen);
        name[items[match].nlen] = 0;
    }
    return name;
}

/* ---- members ---- */

void members_from_body(const cell_session *s, const char *code, const c_token *t, size_t body_first,
                       size_t body_last, member_list *list)
{
    if (body_last < body_first + 2)
        return;
    size_t from = t[body_first].end, to = t[body_last - 1].start;
    char *text = malloc(to - from + 1);
    if (!text)
        return;
    memcpy(text, code + from, to - from);
    text[to - from] = 0;
    cell_split_result r;
    if (cell_split(text, split_is_type, (void *)s, &r) == 0) {
        for (size_t i = 0; i < r.nitems; i++) {
            const cell_item *it = &r.items[i];
            if (it->kind != CELL_ITEM_DECLARATION)
                continue;
            for (size_t d = 0; d < it->ndecls; d++) {
                const cell_declarator *dc = &it->decls[d];
                char **names = realloc(list->names, (list->n + 1) * sizeof *names);
                if (!names)
                    break;
                list->names = names;
                char **types = realloc(list->types, (list->n + 1) * sizeof *types);
                if (!types)
                    break;
                list->types = types;
                strbuf b = {0};
                sb_tokens(&b, text, r.tokens, it->spec_first, it->spec_last);
                strbuf rest = {0};
                sb_tokens(&rest, text, r.tokens, dc->first, dc->name);
                sb_tokens(&rest, text, r.tokens, dc->name + 1, dc->last);
                if (rest.len) {
                    sb_puts(&b, " ");
                    sb_putn(&b, rest.s, rest.len);
                }
                free(sb_take(&rest));
                list->names[list->n] = tokens_text(text, r.tokens, dc->name, dc->name + 1);
                list->types[list->n] = sb_take(&b);
                list->n++;
            }
        }
    }
    cell_split_free(&r);
    free(text);
}

static void member_list_free(member_list *m)
{
    for (size_t i = 0; i < m->n; i++) {
        free(m->names[i]);
        free(m->types[i]);
    }
    free(m->names);
    free(m->types);
    free(m->type);
    memset(m, 0, sizeof *m);
}

/* Move a member list into the session (replacing the older list of that type). */
static void session_put_members(cell_session *s, member_list *m)
{
    size_t idx;
    if (strmap_get(&s->member_by_type, m->type, strlen(m->type), &idx)) {
        member_list_free(&s->members[idx]);
        s->members[idx] = *m;
        memset(m, 0, sizeof *m);
        return;
    }
    if (s->nmembers == s->capmembers) {
        size_t cap = s->capmembers ? s->capmembers * 2 : 32;
        member_list *v = realloc(s->members, cap * sizeof *v);
        if (!v)
            return;
        s->members = v;
        s->capmembers = cap;
    }
    s->members[s->nmembers] = *m;
    strmap_put(&s->member_by_type, m->type, strlen(m->type), s->nmembers);
    s->nmembers++;
    memset(m, 0, sizeof *m);
}

/* "const struct point *" -> "struct point"; "mat" -> "mat". */
static char *base_type_name(const char *type)
{
    strbuf b = {0};
    c_lexer lx;
    c_token t;
    c_lexer_init(&lx, type, strlen(type), 0);
    int aggregate = 0;
    while (c_lexer_next(&lx, &t) != C_TOKEN_EOF) {
        const char *p = type + t.start;
        size_t n = t.end - t.start;
        if (t.kind == C_TOKEN_KEYWORD && ((n == 6 && (!memcmp(p, "struct", 6))) || (n == 5 && !memcmp(p, "union", 5)))) {
            sb_putn(&b, p, n);
            sb_puts(&b, " ");
            aggregate = 1;
            continue;
        }
        if (t.kind == C_TOKEN_IDENTIFIER) {
            sb_putn(&b, p, n);
            break;
        }
        if (t.kind == C_TOKEN_PUNCT && aggregate)
            break;
    }
    return sb_take(&b);
}

const char *const *cell_session_members(const cell_session *s, const char *type, size_t *count,
                                        const char *const **types)
{
    *count = 0;
    if (types)
        *types = NULL;
    if (!s || !type)
        return NULL;
    char *base = base_type_name(type);
    if (!base)
        return NULL;
    size_t idx;
    const char *const *names = NULL;
    if (strmap_get(&s->member_by_type, base, strlen(base), &idx)) {
        *count = s->members[idx].n;
        names = (const char *const *)s->members[idx].names;
        if (types)
            *types = (const char *const *)s->members[idx].types;
    }
    free(base);
    return names;
}

/* One level less of a type text: "double [3]" -> "double", "P *" -> "P",
 * "int [2][3]" -> "int [3]". Returns 0 when the type is neither array nor pointer. */
static int strip_level(char *type)
{
    char *bracket = strchr(type, '[');
    if (bracket) {
        char *close = strchr(bracket, ']');
        if (!close)
            return 0;
        memmove(bracket, close + 1, strlen(close + 1) + 1);
    } else {
        char *star = strrchr(type, '*');
        if (!star)
            return 0;
        *star = 0;
    }
    size_t n = strlen(type);
    while (n && type[n - 1] == ' ')
        type[--n] = 0;
    return 1;
}

char *cell_session_expression_type(const cell_session *s, const char *expr)
{
    if (!s || !expr)
        return NULL;
    size_t count = 0;
    c_token *t = c_lex_all(expr, strlen(expr), &count);
    if (!t)
        return NULL;
    char *type = NULL;
    if (count && t[0].kind == C_TOKEN_IDENTIFIER) {
        char name[256];
        size_t n = t[0].end - t[0].start;
        if (n < sizeof name) {
            memcpy(name, expr + t[0].start, n);
            name[n] = 0;
            const cell_symbol *y = cell_session_find(s, name);
            if (y && y->kind == SYMBOL_VARIABLE && y->type)
                type = strdup(y->type);
        }
    }
    for (size_t i = 1; type && i < count; i++) {
        if (c_token_is(expr, &t[i], "[")) {
            int depth = 0;
            for (; i < count; i++) {
                if (c_token_is(expr, &t[i], "["))
                    depth++;
                else if (c_token_is(expr, &t[i], "]") && --depth == 0)
                    break;
            }
            if (i == count || !strip_level(type)) {
                free(type);
                type = NULL;
            }
            continue;
        }
        int arrow = c_token_is(expr, &t[i], "->");
        if ((arrow || c_token_is(expr, &t[i], ".")) && i + 1 < count && t[i + 1].kind == C_TOKEN_IDENTIFIER) {
            if (arrow && !strip_level(type)) {
                free(type);
                type = NULL;
                break;
            }
            size_t nm = 0;
            const char *const *types = NULL;
            const char *const *names = cell_session_members(s, type, &nm, &types);
            const char *member = expr + t[i + 1].start;
            size_t ml = t[i + 1].end - t[i + 1].start;
            char *next = NULL;
            for (size_t k = 0; names && k < nm && !next; k++)
                if (strlen(names[k]) == ml && memcmp(names[k], member, ml) == 0)
                    next = strdup(types[k]);
            free(type);
            type = next;
            i++;
            continue;
        }
        free(type); /* calls, casts, operators: not followed */
        type = NULL;
    }
    free(t);
    return type;
}

/* ---- pending ---- */

static void free_strings(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

void cell_pending_free(cell_pending *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->nentries; i++) {
        free(p->entries[i].text);
        free_strings(p->entries[i].keys, p->entries[i].nkeys);
    }
    free(p->entries);
    fact_list *lists[] = {&p->types, &p->void_functions, &p->constants, &p->header_names};
    for (size_t k = 0; k < sizeof lists / sizeof *lists; k++) {
        free_strings(lists[k]->names, lists[k]->n);
        free(lists[k]->branch);
    }
    for (size_t i = 0; i < p->nmembers; i++)
        member_list_free(&p->members[i]);
    free(p->members);
    free(p->defined_branch);
    free(p->defined_seq);
    for (size_t i = 0; i < p->nautos; i++) {
        free(p->autos[i].name);
        free(p->autos[i].error);
    }
    free(p->autos);
    for (size_t i = 0; i < p->narrays; i++)
        free(p->arrays[i].name);
    free(p->arrays);
    free(p);
}

void fact_push(fact_list *f, char *name, unsigned branch)
{
    if (!name)
        return;
    char **v = realloc(f->names, (f->n + 1) * sizeof *v);
    if (v)
        f->names = v;
    unsigned *b = v ? realloc(f->branch, (f->n + 1) * sizeof *b) : NULL;
    if (!b) {
        free(name);
        return;
    }
    f->branch = b;
    f->names[f->n] = name;
    f->branch[f->n++] = branch;
}

/* Facts (type names, void functions, constants, members) of a pending go into s. */
static void apply_facts(cell_session *s, cell_pending *p)
{
    const fact_list *lists[] = {&p->types, &p->void_functions, &p->constants, &p->header_names};
    strmap *maps[] = {&s->types, &s->void_functions, &s->constants, &s->header_names};
    for (size_t k = 0; k < sizeof lists / sizeof *lists; k++)
        for (size_t i = 0; i < lists[k]->n; i++)
            strmap_put(maps[k], lists[k]->names[i], strlen(lists[k]->names[i]), 1);
    for (size_t i = 0; i < p->nmembers; i++)
        session_put_members(s, &p->members[i]);
}

/* ---- session ---- */

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    strbuf b = {0};
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        sb_putn(&b, buf, n);
    fclose(f);
    return sb_take(&b);
}

static void learn_header(cell_session *s, const char *path)
{
    char *text = read_file(path);
    if (!text)
        return;
    cell_split_result r;
    /* A header the splitter cannot follow teaches nothing; cells still compile. */
    if (cell_split(text, split_is_type, s, &r) == 0) {
        cell_pending *p = calloc(1, sizeof *p);
        if (p) {
            cell_collect_facts(s, text, &r, NULL, 0, p);
            apply_facts(s, p);
            cell_pending_free(p);
        }
    }
    cell_split_free(&r);
    free(text);
}

static int compare_names(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

cell_session *cell_session_new(void)
{
    cell_session *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    for (const char *const *t = standard_types; *t; t++)
        strmap_put(&s->types, *t, strlen(*t), 1);
    static const char *const constants[] = {"NULL", "true", "false", "EOF", "M_PI", "M_E", "INFINITY", "NAN", NULL};
    for (const char *const *c = constants; *c; c++)
        strmap_put(&s->constants, *c, strlen(*c), 1);
    learn_header(s, CAIRN_RUNTIME_INCLUDE_DIR "/cairn.h");
    /* Headers in name order, after cairn.h, so runs are reproducible; a header that
     * uses a type from another one it includes may be read first, so read twice. */
    DIR *d = opendir(CAIRN_RUNTIME_INCLUDE_DIR "/cairn");
    if (d) {
        char **names = NULL;
        size_t n = 0;
        struct dirent *e;
        while ((e = readdir(d))) {
            size_t len = strlen(e->d_name);
            if (len < 3 || strcmp(e->d_name + len - 2, ".h") != 0)
                continue;
            char **v = realloc(names, (n + 1) * sizeof *v);
            if (!v)
                break;
            names = v;
            names[n++] = strdup(e->d_name);
        }
        closedir(d);
        if (n)
            qsort(names, n, sizeof *names, compare_names);
        for (int pass = 0; pass < 2; pass++)
            for (size_t i = 0; i < n; i++) {
                if (!names[i])
                    continue;
                char path[4096];
                snprintf(path, sizeof path, "%s/cairn/%s", CAIRN_RUNTIME_INCLUDE_DIR, names[i]);
                learn_header(s, path);
            }
        free_strings(names, n);
    }
    /* What cairn.h and the C library headers under it declare, for hiding them from a
     * cell global of the same name (cell_headers.c). */
    cell_header_names(s, "#include \"cairn.h\"\n", &s->header_names);
    return s;
}

static void symbol_free(cell_symbol *y)
{
    free(y->name);
    free(y->declaration);
    free(y->type);
}

void cell_session_free(cell_session *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->nentries; i++) {
        free(s->entries[i].text);
        free_strings(s->entries[i].keys, s->entries[i].nkeys);
        cell_entry_unindex(&s->entries[i]);
    }
    free(s->entries);
    strmap_free(&s->entry_by_key);
    for (size_t i = 0; i < s->nsymbols; i++)
        symbol_free(&s->symbols[i]);
    free(s->symbols);
    strmap_free(&s->symbol_by_name);
    strmap_free(&s->types);
    strmap_free(&s->void_functions);
    strmap_free(&s->constants);
    for (size_t i = 0; i < s->nmembers; i++)
        member_list_free(&s->members[i]);
    free(s->members);
    strmap_free(&s->member_by_type);
    strmap_free(&s->header_names);
    free(s);
}

const cell_symbol *cell_session_symbols(const cell_session *s, size_t *count)
{
    *count = s ? s->nsymbols : 0;
    return s ? s->symbols : NULL;
}

const cell_symbol *cell_session_find(const cell_session *s, const char *name)
{
    size_t idx;
    if (!s || !name || !strmap_get(&s->symbol_by_name, name, strlen(name), &idx))
        return NULL;
    return &s->symbols[idx];
}

/* Whether a live entry names identifier name (through its cached identifiers). */
static int entry_names(const prelude_entry *e, const char *name)
{
    if (!e->idents)
        return strstr(e->text, name) != NULL; /* not indexed: assume it may */
    for (size_t j = 0; j < e->nidents; j++)
        if (strcmp(e->idents[j], name) == 0)
            return 1;
    return 0;
}

/* The object-like macro entry idx is about to die (redefined or #undef'd). The
 * declarations and types committed after it were compiled with its value: `int a[N];`
 * meant `int a[8]`, and must keep meaning that (and not name an N that is gone, or
 * defined only further down the prelude). Such entries get the body in place of the
 * name, as the preprocessor did. Only entries after the macro can have used it, so a
 * macro redefined cell after cell looks at a few entries. Function-like macros are left
 * alone. */
static void expand_dying_macro(cell_session *s, size_t idx)
{
    const prelude_entry *m = &s->entries[idx];
    const char *text = m->text;
    c_lexer lx;
    c_token t, name = {0};
    c_lexer_init(&lx, text + 1, strlen(text + 1), 0);
    if (c_lexer_next(&lx, &t) != C_TOKEN_IDENTIFIER || c_lexer_next(&lx, &name) != C_TOKEN_IDENTIFIER)
        return;
    const char *body = text + 1 + name.end, *end = text + strlen(text);
    if (*body == '(')
        return; /* function-like */
    char nm[256];
    if (name.end - name.start >= sizeof nm)
        return;
    memcpy(nm, text + 1 + name.start, name.end - name.start);
    nm[name.end - name.start] = 0;
    strbuf value = {0}; /* the body on one line, continuations joined */
    for (const char *p = body; p < end; p++) {
        if (*p == '\\' && p + 1 < end && p[1] == '\n') {
            p++;
            sb_putn(&value, " ", 1);
        } else if (*p != '\n' && *p != '\r') {
            sb_putn(&value, p, 1);
        }
    }
    char *v = sb_take(&value);
    if (!v)
        return;
    const char *vb = v;
    while (*vb == ' ' || *vb == '\t')
        vb++;
    for (size_t i = idx + 1; i < s->nentries; i++) {
        prelude_entry *e = &s->entries[i];
        if (!e->live || (e->kind != PRELUDE_DECL && e->kind != PRELUDE_TYPE) || !entry_names(e, nm))
            continue;
        strbuf out = {0};
        size_t from = 0;
        c_lexer el;
        c_token et;
        c_lexer_init(&el, e->text, strlen(e->text), 1);
        while (c_lexer_next(&el, &et) != C_TOKEN_EOF) {
            if (et.kind != C_TOKEN_IDENTIFIER || et.end - et.start != strlen(nm) ||
                memcmp(e->text + et.start, nm, et.end - et.start) != 0)
                continue;
            sb_putn(&out, e->text + from, et.start - from);
            sb_puts(&out, vb);
            from = et.end;
        }
        sb_puts(&out, e->text + from);
        char *expanded = sb_take(&out);
        if (!expanded)
            continue;
        free(e->text);
        e->text = expanded;
        cell_entry_unindex(e);
        cell_entry_index(e);
    }
    free(v);
}

static void kill_entry(cell_session *s, size_t idx)
{
    prelude_entry *e = &s->entries[idx];
    if (!e->live)
        return;
    for (size_t k = 0; k < e->nkeys; k++) {
        size_t at;
        if (strmap_get(&s->entry_by_key, e->keys[k], strlen(e->keys[k]), &at) && at == idx)
            strmap_del(&s->entry_by_key, e->keys[k], strlen(e->keys[k]));
    }
    e->live = 0;
    s->nlive--;
}

static void remove_symbol(cell_session *s, const char *name)
{
    size_t idx;
    if (!strmap_get(&s->symbol_by_name, name, strlen(name), &idx))
        return;
    strmap_del(&s->symbol_by_name, name, strlen(name));
    symbol_free(&s->symbols[idx]);
    size_t last = s->nsymbols - 1;
    if (idx != last) {
        s->symbols[idx] = s->symbols[last];
        strmap_put(&s->symbol_by_name, s->symbols[idx].name, strlen(s->symbols[idx].name), idx);
    }
    s->nsymbols--;
}

static char *dup_or_null(const char *p) { return p ? strdup(p) : NULL; }

static void put_symbol(cell_session *s, const cell_symbol *y)
{
    if (!y->name)
        return;
    cell_symbol c = {dup_or_null(y->name), y->kind, dup_or_null(y->declaration), dup_or_null(y->type), y->address, y->cell};
    size_t idx;
    if (strmap_get(&s->symbol_by_name, y->name, strlen(y->name), &idx)) {
        symbol_free(&s->symbols[idx]);
        s->symbols[idx] = c;
        return;
    }
    if (s->nsymbols == s->capsymbols) {
        size_t cap = s->capsymbols ? s->capsymbols * 2 : 64;
        cell_symbol *v = realloc(s->symbols, cap * sizeof *v);
        if (!v) {
            symbol_free(&c);
            return;
        }
        s->symbols = v;
        s->capsymbols = cap;
    }
    s->symbols[s->nsymbols] = c;
    strmap_put(&s->symbol_by_name, c.name, strlen(c.name), s->nsymbols);
    s->nsymbols++;
}

/* Drop dead entries so walking the prelude stays O(live). */
static void compact_entries(cell_session *s)
{
    size_t j = 0;
    strmap_free(&s->entry_by_key);
    for (size_t i = 0; i < s->nentries; i++) {
        prelude_entry *e = &s->entries[i];
        if (!e->live) {
            free(e->text);
            free_strings(e->keys, e->nkeys);
            cell_entry_unindex(e);
            continue;
        }
        s->entries[j] = *e;
        for (size_t k = 0; k < e->nkeys; k++)
            strmap_put(&s->entry_by_key, e->keys[k], strlen(e->keys[k]), j);
        j++;
    }
    s->nentries = j;
}

static void append_entry(cell_session *s, pending_entry *pe)
{
    if (s->nentries == s->capentries) {
        size_t cap = s->capentries ? s->capentries * 2 : 64;
        prelude_entry *v = realloc(s->entries, cap * sizeof *v);
        if (!v)
            return;
        s->entries = v;
        s->capentries = cap;
    }
    prelude_entry *e = &s->entries[s->nentries];
    e->kind = pe->kind;
    e->text = pe->text;
    e->keys = pe->keys;
    e->nkeys = pe->nkeys;
    e->live = 1;
    cell_entry_index(e);
    pe->text = NULL;
    pe->keys = NULL;
    pe->nkeys = 0;
    for (size_t k = 0; k < e->nkeys; k++)
        strmap_put(&s->entry_by_key, e->keys[k], strlen(e->keys[k]), s->nentries);
    s->nentries++;
    s->nlive++;
}

void cell_session_commit(cell_session *s, const cell_unit *u)
{
    if (!s || !u || u->error)
        return;
    cell_pending *p = u->pending;
    /* Branch markers still there (cell_unit_drop_undefined was not called) are no names. */
    size_t ndefined = u->ndefined;
    if (p && p->nbranches && p->nbranches <= ndefined)
        ndefined -= p->nbranches;
    /* Names defined as variables or functions stop being type names or void functions;
     * the facts of this cell then say what they are now. */
    for (size_t i = 0; i < ndefined; i++) {
        const cell_symbol *y = &u->defined[i];
        if (y->kind == SYMBOL_VARIABLE || y->kind == SYMBOL_FUNCTION) {
            strmap_del(&s->types, y->name, strlen(y->name));
            strmap_del(&s->void_functions, y->name, strlen(y->name));
        }
    }
    if (p) {
        for (size_t i = 0; i < p->nentries; i++) {
            pending_entry *pe = &p->entries[i];
            /* Same text under the same key: keep the older entry where it is, so
             * definitions that depend on it still come after it. */
            size_t at;
            if (pe->nkeys && strmap_get(&s->entry_by_key, pe->keys[0], strlen(pe->keys[0]), &at) &&
                s->entries[at].live && s->entries[at].nkeys == pe->nkeys && strcmp(s->entries[at].text, pe->text) == 0)
                continue;
            int killed_macro = 0;
            for (size_t k = 0; k < pe->nkeys; k++)
                if (strmap_get(&s->entry_by_key, pe->keys[k], strlen(pe->keys[k]), &at)) {
                    killed_macro |= s->entries[at].kind == PRELUDE_MACRO;
                    if (s->entries[at].kind == PRELUDE_MACRO)
                        expand_dying_macro(s, at);
                    kill_entry(s, at);
                }
            if (pe->kind == PRELUDE_UNDEF) {
                if (pe->nkeys)
                    remove_symbol(s, pe->keys[0] + 1);
                if (killed_macro)
                    continue; /* the name is simply gone, as before any cell defined it */
            }
            append_entry(s, pe);
        }
        apply_facts(s, p);
    }
    for (size_t i = 0; i < ndefined; i++)
        put_symbol(s, &u->defined[i]);
    if (s->nentries > 64 && s->nlive * 2 < s->nentries)
        compact_entries(s);
}
