/* complete.c — completion and inspection that the front answers by itself.
 *
 * Sources: C keywords and common types, the runtime API (api_docs.c, generated from the
 * headers), the magics, and the session's names that the executor sends with every
 * `done` (a whole list, or the changes names_apply makes to the front's copy, kept as an
 * object by name so a change costs the same however long the session is). `x.` / `p->` complete the fields of runtime structs (mat, svd_result, ...) when
 * x is a session variable of that type. This works while a cell runs, since nothing here
 * needs the executor; when idle the front also asks the executor (live values) and
 * prefers its answer.
 *
 * Jupyter counts cursor positions in Unicode code points, so positions are converted to
 * byte offsets on the way in and back on the way out. */
#include "front.h"
#include "utf8_offsets.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "api_docs.h"

static const char *const c_keywords[] = {
    "auto", "break", "case", "char", "const", "continue", "default", "do", "double", "else",
    "enum", "extern", "float", "for", "goto", "if", "inline", "int", "long", "register",
    "restrict", "return", "short", "signed", "sizeof", "static", "struct", "switch",
    "typedef", "union", "unsigned", "void", "volatile", "while", "_Alignas", "_Alignof",
    "_Atomic", "_Bool", "_Generic", "_Noreturn", "_Static_assert", "_Thread_local",
    "bool", "true", "false", "NULL", "size_t", "int64_t", "uint64_t", "int32_t",
    "uint32_t", "uint8_t", "ptrdiff_t", "FILE", "printf", "fprintf", "puts", "putchar",
    "scanf", "fgets", "getchar", "malloc", "calloc", "realloc", "free", "memcpy", "memset",
    "strlen", "strcmp", "strcpy", "snprintf", "sqrt", "exp", "log", "pow", "fabs", "sin",
    "cos", "tan", "floor", "ceil", "round", "stdout", "stderr", "stdin",
};

typedef struct magic_doc {
    const char *name;
    const char *doc;
} magic_doc;

static const magic_doc magics[] = {
    {"%lsmagic", "List the magics."},
    {"%history", "Show the inputs of earlier cells (-n: with their numbers)."},
    {"%reset", "Start a fresh, empty session (restarts the executor)."},
    {"%undo", "Roll the session back to before the last cell."},
    {"%who", "List the session's names."},
    {"%whos", "List the session's names with their type, value and memory."},
    {"%seed", "Seed the runtime's random number generator: %seed N."},
    {"%time", "Time the C code on the magic's line and below it once (%%time: the whole cell)."},
    {"%timeit", "Time the C code on the magic's line and below it over repeated runs (%%timeit: the whole cell)."},
    {"%cflags", "Show or set extra compiler flags for later cells."},
    {"%onnx", "An ONNX file: %onnx info PATH | load NAME PATH | reload NAME PATH | export NAME PATH [version N]."},
};

static int ident_char(char c)
{
    return isalnum((unsigned char)c) || c == '_';
}

/* Start of the identifier that ends at byte b. */
static size_t ident_start(const char *s, size_t b)
{
    while (b > 0 && ident_char(s[b - 1]))
        b--;
    return b;
}

char *complete_name_at(const char *code, int cursor_pos)
{
    size_t len = strlen(code);
    size_t b = utf8_byte_offset(code, cursor_pos);
    size_t end = b;
    while (end < len && ident_char(code[end]))
        end++;
    size_t start = ident_start(code, b);
    if (start == end || isdigit((unsigned char)code[start])) {
        start = end = b;
        /* Inside a call's arguments: inspect the function whose '(' is still open. */
        int depth = 0;
        size_t i = b;
        while (i > 0) {
            char c = code[--i];
            if (c == ')')
                depth++;
            else if (c == '(') {
                if (depth == 0) {
                    end = i;
                    while (end > 0 && isspace((unsigned char)code[end - 1]))
                        end--;
                    start = ident_start(code, end);
                    break;
                }
                depth--;
            } else if (c == ';' || c == '{' || c == '}')
                break;
        }
        if (start == end)
            return NULL;
    }
    if (isdigit((unsigned char)code[start]))
        return NULL;
    return strndup(code + start, end - start);
}

/* A sorted, unique list of candidates with their type for the JupyterLab metadata. */
typedef struct cand {
    char *text;
    const char *type;
    const char *signature;
    size_t order; /* when added: of equal texts the first one added is kept */
} cand;

typedef struct cand_list {
    cand *items;
    size_t n, cap;
} cand_list;

/* Duplicates are dropped after sorting (cand_unique): a session of 10000 names gives a
 * thousand candidates for a short prefix, too many to compare each with all others. */
static void cand_add(cand_list *l, const char *text, size_t len, const char *type, const char *sig)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 64;
        cand *ni = realloc(l->items, cap * sizeof *ni);
        if (!ni)
            return;
        l->items = ni;
        l->cap = cap;
    }
    l->items[l->n].text = strndup(text, len);
    l->items[l->n].type = type;
    l->items[l->n].signature = sig;
    l->items[l->n].order = l->n;
    l->n++;
}

static int cand_cmp(const void *a, const void *b)
{
    const cand *x = a, *y = b;
    int c = strcmp(x->text, y->text);
    return c ? c : (x->order > y->order) - (x->order < y->order);
}

/* Sort by text and keep the first-added of each text. */
static void cand_unique(cand_list *l)
{
    if (l->n > 1)
        qsort(l->items, l->n, sizeof *l->items, cand_cmp);
    size_t out = 0;
    for (size_t i = 0; i < l->n; i++) {
        if (out > 0 && strcmp(l->items[out - 1].text, l->items[i].text) == 0) {
            free(l->items[i].text);
            continue;
        }
        l->items[out++] = l->items[i];
    }
    l->n = out;
}

static int starts_with(const char *s, const char *prefix, size_t plen)
{
    return strncmp(s, prefix, plen) == 0;
}

/* The type name of session variable `name` with qualifiers, '*' and "struct " removed. */
static char *variable_base_type(const json_t *names, const char *name, size_t nlen)
{
    const json_t *e = json_object_getn(names, name, nlen);
    const char *t = json_string_value(json_object_get(e, "type"));
    if (t) {
        char *buf = strdup(t);
        if (!buf)
            return NULL;
        char *out = buf, *p = buf;
        /* keep the last identifier that is not a qualifier or "struct" */
        char *best = NULL;
        size_t bestlen = 0;
        while (*p) {
            if (ident_char(*p)) {
                char *s = p;
                while (ident_char(*p))
                    p++;
                size_t l = (size_t)(p - s);
                if (!((l == 5 && !memcmp(s, "const", 5)) || (l == 6 && !memcmp(s, "struct", 6)) ||
                      (l == 8 && !memcmp(s, "volatile", 8)))) {
                    if (!best) {
                        best = s;
                        bestlen = l;
                    }
                }
            } else
                p++;
        }
        if (!best) {
            free(buf);
            return NULL;
        }
        memmove(out, best, bestlen);
        out[bestlen] = 0;
        return out;
    }
    return NULL;
}

json_t *complete_reply(const char *code, int cursor_pos, const json_t *names)
{
    size_t len = strlen(code);
    size_t b = utf8_byte_offset(code, cursor_pos);
    if (b > len)
        b = len;
    size_t start = ident_start(code, b);
    const char *prefix = code + start;
    size_t plen = b - start;
    cand_list l = {0};

    /* %magic at the start of a line */
    size_t ls = start;
    while (ls > 0 && code[ls - 1] != '\n')
        ls--;
    int only_space = 1;
    for (size_t i = ls; i + 1 < start; i++)
        if (!isspace((unsigned char)code[i]))
            only_space = 0;
    if (start > 0 && code[start - 1] == '%' && only_space) {
        start--;
        for (size_t i = 0; i < sizeof magics / sizeof *magics; i++)
            if (starts_with(magics[i].name + 1, prefix, plen))
                cand_add(&l, magics[i].name, strlen(magics[i].name), "magic", "");
        goto done;
    }

    /* x.field or p->field */
    size_t q = start;
    while (q > 0 && (code[q - 1] == ' ' || code[q - 1] == '\t'))
        q--;
    int member = 0;
    if (q > 0 && code[q - 1] == '.')
        member = 1, q--;
    else if (q > 1 && code[q - 1] == '>' && code[q - 2] == '-')
        member = 1, q -= 2;
    if (member) {
        while (q > 0 && (code[q - 1] == ' ' || code[q - 1] == '\t'))
            q--;
        size_t vs = ident_start(code, q);
        char *type = vs < q ? variable_base_type(names, code + vs, q - vs) : NULL;
        if (type) {
            for (size_t i = 0; i < api_fields_count; i++)
                if (strcmp(api_fields[i].type_name, type) == 0 &&
                    starts_with(api_fields[i].field, prefix, plen))
                    cand_add(&l, api_fields[i].field, strlen(api_fields[i].field), "field",
                             api_fields[i].decl);
            free(type);
        }
        goto done;
    }

    /* Nothing typed yet and not after '.': listing everything would be noise. */
    if (plen == 0 || isdigit((unsigned char)prefix[0]))
        goto done;
    /* The iterator itself, not json_object_foreach (which looks each key up again), and
     * the prefix first: a session can hold 10000 names. */
    for (void *it = json_object_iter((json_t *)names); it; it = json_object_iter_next((json_t *)names, it)) {
        const char *n = json_object_iter_key(it);
        if (!n || !starts_with(n, prefix, plen))
            continue;
        json_t *e = json_object_iter_value(it);
        const char *kind = json_string_value(json_object_get(e, "kind"));
        const char *sig = json_string_value(json_object_get(e, "signature"));
        if (!sig)
            sig = json_string_value(json_object_get(e, "type"));
        cand_add(&l, n, strlen(n), kind ? kind : "variable", sig ? sig : "");
    }
    for (size_t k = 0; k < api_docs_count; k++)
        if (starts_with(api_docs[k].name, prefix, plen))
            cand_add(&l, api_docs[k].name, strlen(api_docs[k].name), api_docs[k].kind,
                     api_docs[k].signature);
    for (size_t k = 0; k < sizeof c_keywords / sizeof *c_keywords; k++)
        if (starts_with(c_keywords[k], prefix, plen))
            cand_add(&l, c_keywords[k], strlen(c_keywords[k]), "keyword", "");

done:;
    cand_unique(&l);
    json_t *matches = json_array();
    json_t *types = json_array();
    int cs = utf8_code_points(code, start), ce = utf8_code_points(code, b);
    for (size_t k = 0; k < l.n; k++) {
        json_array_append_new(matches, json_string(l.items[k].text));
        json_array_append_new(types, json_pack("{s:i, s:i, s:s, s:s, s:s}", "start", cs, "end", ce,
                                               "text", l.items[k].text, "type", l.items[k].type,
                                               "signature", l.items[k].signature));
        free(l.items[k].text);
    }
    free(l.items);
    return json_pack("{s:s, s:o, s:i, s:i, s:{s:o}}", "status", "ok", "matches", matches,
                     "cursor_start", cs, "cursor_end", ce, "metadata",
                     "_jupyter_types_experimental", types);
}

static json_t *inspect_found(const char *plain, const char *markdown)
{
    return json_pack("{s:s, s:b, s:{s:s, s:s}, s:{}}", "status", "ok", "found", 1, "data",
                     "text/plain", plain, "text/markdown", markdown, "metadata");
}

json_t *inspect_reply(const char *code, int cursor_pos, int detail_level, const json_t *names)
{
    char *name = complete_name_at(code, cursor_pos);
    json_t *reply = NULL;
    char plain[4096], md[4096];
    if (name) {
        const json_t *e = json_object_get(names, name);
        if (e) {
            const char *kind = json_string_value(json_object_get(e, "kind"));
            const char *type = json_string_value(json_object_get(e, "type"));
            const char *sig = json_string_value(json_object_get(e, "signature"));
            const char *doc = json_string_value(json_object_get(e, "doc"));
            const char *decl = sig && *sig ? sig : type ? type : "";
            snprintf(plain, sizeof plain, "%s %s: %s%s%s", kind ? kind : "name", name, decl,
                     doc && *doc ? "\n\n" : "", doc ? doc : "");
            snprintf(md, sizeof md, "```c\n%s\n```\n%s", decl, doc ? doc : "");
            reply = inspect_found(plain, md);
        }
        for (size_t k = 0; !reply && k < api_docs_count; k++) {
            if (strcmp(api_docs[k].name, name) != 0)
                continue;
            snprintf(plain, sizeof plain, "%s\n\n%s%s%s", api_docs[k].signature, api_docs[k].doc,
                     detail_level > 0 ? "\n\nDeclared in " : "",
                     detail_level > 0 ? api_docs[k].header : "");
            snprintf(md, sizeof md, "```c\n%s\n```\n%s\n\n*%s*", api_docs[k].signature,
                     api_docs[k].doc, api_docs[k].header);
            reply = inspect_found(plain, md);
        }
        if (!reply && code[0] == '%') {
            for (size_t k = 0; k < sizeof magics / sizeof *magics; k++)
                if (strcmp(magics[k].name + 1, name) == 0) {
                    snprintf(plain, sizeof plain, "%s\n\n%s", magics[k].name, magics[k].doc);
                    snprintf(md, sizeof md, "`%s` %s", magics[k].name, magics[k].doc);
                    reply = inspect_found(plain, md);
                }
        }
        free(name);
    }
    if (!reply)
        reply = json_pack("{s:s, s:b, s:{}, s:{}}", "status", "ok", "found", 0, "data", "metadata");
    return reply;
}

json_t *names_from_list(const json_t *list)
{
    json_t *names = json_object();
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v) {
        const char *name = json_string_value(json_object_get(v, "name"));
        if (names && name && json_is_object(v))
            json_object_set(names, name, v);
    }
    return names;
}

void names_apply(json_t *names, const json_t *added, const json_t *removed)
{
    size_t i;
    json_t *v;
    json_array_foreach(removed, i, v) {
        if (json_is_string(v))
            json_object_del(names, json_string_value(v));
    }
    json_array_foreach(added, i, v) {
        const char *name = json_string_value(json_object_get(v, "name"));
        if (name && json_is_object(v))
            json_object_set(names, name, v);
    }
}

int help_request(const char *code, char **target, int *detail)
{
    const char *a = code, *b = code + strlen(code);
    while (a < b && strchr(" \t\r\n", *a))
        a++;
    while (b > a && strchr(" \t\r\n", b[-1]))
        b--;
    size_t lead = 0, trail = 0;
    while (a < b && *a == '?' && lead < 3)
        a++, lead++;
    while (b > a && b[-1] == '?' && trail < 3)
        b--, trail++;
    if ((lead == 0) == (trail == 0) || lead > 2 || trail > 2)
        return 0; /* a question mark on one side, one or two of them */
    while (a < b && (*a == ' ' || *a == '\t'))
        a++;
    while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
        b--;
    if (a == b)
        return 0;
    for (const char *p = a; p < b; p++) {
        int ok = ident_char(*p) || (unsigned char)*p >= 0x80 || *p == '.' ||
                 (*p == '-' && p + 1 < b && p[1] == '>') || (*p == '>' && p > a && p[-1] == '-') ||
                 (*p == '%' && p == a);
        if (!ok)
            return 0;
    }
    *target = strndup(a, (size_t)(b - a));
    *detail = (lead ? lead : trail) - 1;
    return *target != NULL;
}
