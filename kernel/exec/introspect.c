/* introspect.c — what the executor can say about the session's names.
 *
 * `names` (sent with every done) lets the front complete and inspect without asking us.
 * `inspect` and `complete` reach the executor only when the front wants live values: the
 * value of a variable (an int, a string, a mat's shape, memory and first entries) and
 * the members of a struct variable. The executor reads its own memory: it holds the
 * session, and it is idle when it answers. */
#include "exec_internal.h"
#include "strmap.h"
#include "utf8_offsets.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cairn/alloc.h"
#include "cairn/mat.h"


static const char *kind_name(int kind)
{
    switch (kind) {
    case SYMBOL_VARIABLE: return "variable";
    case SYMBOL_FUNCTION: return "function";
    case SYMBOL_TYPE: return "type";
    case SYMBOL_MACRO: return "macro";
    default: return "name";
    }
}

/* A symbol's content as 64 bits: its name, kind, type, declaration and cell. Read 8
 * bytes at a time: 1600 symbols cost ~20 us, and a redefinition that reuses freed
 * memory (same addresses) still changes it. */
static uint64_t mix_text(uint64_t h, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    for (size_t i = 0; i < n; i += 8) {
        uint64_t w = 0;
        memcpy(&w, s + i, n - i < 8 ? n - i : 8);
        h = (h ^ w) * 0x100000001B3ull;
        h ^= h >> 32;
    }
    return (h ^ n) * 0x9E3779B97F4A7C15ull;
}

static uint64_t symbol_fingerprint(const cell_symbol *s)
{
    uint64_t h = 0xcbf29ce484222325ull ^ ((uint64_t)(unsigned)s->cell << 8 | (unsigned)s->kind);
    h = mix_text(h, s->name);
    h = mix_text(h, s->type);
    return mix_text(h, s->declaration);
}

/* This process's record of the session's names: name -> fingerprint, with the hash of
 * the set, and the names changed since the record was last sent to the front. It is
 * inherited by the cell process that becomes the next executor, which updates only the
 * names its cell touched: nothing here walks (or writes to) all 1600 names of a long
 * session for a cell that adds three. */
_Static_assert(sizeof(size_t) == sizeof(uint64_t), "fingerprints are kept as strmap values");
typedef struct name_record {
    strmap fps;   /* name -> symbol_fingerprint */
    uint64_t sum; /* sum of mix_fingerprint over the names */
    char **changed, **removed;
    size_t nchanged, capchanged, nremoved, capremoved;
} name_record;
static name_record rec;

static uint64_t mix_fingerprint(uint64_t x)
{
    x = (x ^ (x >> 31)) * 0xBF58476D1CE4E5B9ull;
    return x ^ (x >> 29);
}

static uint64_t record_hash(void)
{
    /* Order-independent: the front merges changes into its list, so the same set of
     * names may sit there in another order. Never 0, the front's "no names yet". */
    return ((rec.sum ^ rec.fps.live) * 0x9E3779B97F4A7C15ull) | 1;
}

static void push_name(char ***v, size_t *n, size_t *cap, const char *name)
{
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 16;
        char **p = realloc(*v, c * sizeof *p);
        if (!p)
            return;
        *v = p;
        *cap = c;
    }
    char *copy = strdup(name);
    if (copy)
        (*v)[(*n)++] = copy;
}

static void clear_changes(void)
{
    for (size_t i = 0; i < rec.nchanged; i++)
        free(rec.changed[i]);
    for (size_t i = 0; i < rec.nremoved; i++)
        free(rec.removed[i]);
    rec.nchanged = rec.nremoved = 0;
}

static json_t *pack_name(const cell_symbol *s)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:i}", "name", s->name ? s->name : "", "kind", kind_name(s->kind),
                     "type", s->kind == SYMBOL_VARIABLE && s->type ? s->type : "", "signature",
                     s->kind == SYMBOL_FUNCTION && s->type ? s->type : "", "doc",
                     s->declaration ? s->declaration : "", "cell", s->cell);
}

uint64_t introspect_names_update(int cell)
{
    size_t n = 0;
    const cell_symbol *syms = exec_g.session ? cell_session_symbols(exec_g.session, &n) : NULL;
    for (size_t i = 0; i < n; i++) {
        const cell_symbol *y = &syms[i];
        if ((cell >= 0 && y->cell != cell) || !y->name)
            continue; /* a symbol keeps the number of the cell that last defined it */
        uint64_t fp = symbol_fingerprint(y);
        size_t len = strlen(y->name), old;
        int found = strmap_get(&rec.fps, y->name, len, &old);
        if (found && old == fp)
            continue;
        if (strmap_put(&rec.fps, y->name, len, (size_t)fp) < 0)
            break;
        if (found)
            rec.sum -= mix_fingerprint(old);
        rec.sum += mix_fingerprint(fp);
        push_name(&rec.changed, &rec.nchanged, &rec.capchanged, y->name);
    }
    /* Every name of the session is recorded now; more recorded than there are means
     * some went (#undef): find them. */
    if (rec.fps.live > n)
        for (size_t i = 0; i < rec.fps.cap; i++) {
            const char *name = rec.fps.slots[i].key;
            if (!name || name == strmap_tombstone || cell_session_find(exec_g.session, name))
                continue;
            push_name(&rec.removed, &rec.nremoved, &rec.capremoved, name);
            rec.sum -= mix_fingerprint(rec.fps.slots[i].value);
            strmap_del(&rec.fps, name, strlen(name));
        }
    return record_hash();
}

void introspect_names_into(json_t *done, int as_delta)
{
    size_t n = 0;
    const cell_symbol *syms = exec_g.session ? cell_session_symbols(exec_g.session, &n) : NULL;
    if (as_delta) {
        json_t *added = json_array(), *removed = json_array(), *seen = json_object();
        for (size_t i = 0; i < rec.nchanged; i++) {
            const cell_symbol *y = cell_session_find(exec_g.session, rec.changed[i]);
            if (y && !json_object_get(seen, y->name)) {
                json_object_set_new(seen, y->name, json_true());
                json_array_append_new(added, pack_name(y));
            }
        }
        for (size_t i = 0; i < rec.nremoved; i++)
            if (!cell_session_find(exec_g.session, rec.removed[i]))
                json_array_append_new(removed, json_string(rec.removed[i]));
        json_decref(seen);
        json_object_set_new(done, "names_added", added);
        json_object_set_new(done, "names_removed", removed);
    } else if (done) {
        json_t *all = json_array();
        for (size_t i = 0; i < n; i++)
            if (syms[i].name)
                json_array_append_new(all, pack_name(&syms[i]));
        json_object_set_new(done, "names", all);
    }
    clear_changes();
}

static int type_is(const char *type, const char *want)
{
    while (isspace((unsigned char)*type))
        type++;
    size_t n = strlen(want);
    if (strncmp(type, want, n) != 0)
        return 0;
    type += n;
    while (isspace((unsigned char)*type))
        type++;
    return *type == '\0';
}

/* A short description of the value at addr of the declared type (text). */
static void describe_value(const char *type, const void *addr, char *buf, size_t size)
{
    if (!addr || !type) {
        snprintf(buf, size, "(no value)");
        return;
    }
    if (type_is(type, "int") || type_is(type, "signed") || type_is(type, "signed int"))
        snprintf(buf, size, "%d", *(const int *)addr);
    else if (type_is(type, "unsigned") || type_is(type, "unsigned int"))
        snprintf(buf, size, "%u", *(const unsigned *)addr);
    else if (type_is(type, "long") || type_is(type, "long int") || type_is(type, "long long") ||
             type_is(type, "int64_t") || type_is(type, "ptrdiff_t") || type_is(type, "ssize_t"))
        snprintf(buf, size, "%ld", *(const long *)addr);
    else if (type_is(type, "unsigned long") || type_is(type, "size_t") || type_is(type, "uint64_t") ||
             type_is(type, "unsigned long long"))
        snprintf(buf, size, "%lu", *(const unsigned long *)addr);
    else if (type_is(type, "short"))
        snprintf(buf, size, "%d", *(const short *)addr);
    else if (type_is(type, "double"))
        snprintf(buf, size, "%.17g", *(const double *)addr);
    else if (type_is(type, "float"))
        snprintf(buf, size, "%.9g", (double)*(const float *)addr);
    else if (type_is(type, "char"))
        snprintf(buf, size, "'%c' (%d)", isprint(*(const unsigned char *)addr) ? *(const char *)addr : '?',
                 *(const char *)addr);
    else if (type_is(type, "bool") || type_is(type, "_Bool"))
        snprintf(buf, size, "%s", *(const _Bool *)addr ? "true" : "false");
    else if (type_is(type, "char *") || type_is(type, "const char *") || type_is(type, "char*") ||
             type_is(type, "const char*")) {
        const char *s = *(const char *const *)addr;
        if (s)
            snprintf(buf, size, "\"%.200s\"%s", s, strlen(s) > 200 ? "..." : "");
        else
            snprintf(buf, size, "NULL");
    } else if (type_is(type, "mat")) {
        const mat *m = addr;
        size_t bytes = m->data ? cairn_alloc_size(m->data) : 0;
        int n = snprintf(buf, size, "mat %d x %d%s, %zu bytes", m->rows, m->cols,
                         (m->flags & MAT_OWNS) ? "" : " (view)",
                         bytes ? bytes : (size_t)m->rows * (size_t)m->cols * sizeof(double));
        if (m->data && m->rows > 0 && m->cols > 0 && n > 0 && (size_t)n < size) {
            size_t off = (size_t)n;
            off += (size_t)snprintf(buf + off, size - off, "; first row: [");
            int shown = m->cols < 6 ? m->cols : 6;
            for (int j = 0; j < shown && off < size; j++)
                off += (size_t)snprintf(buf + off, size - off, "%s%g", j ? ", " : "", m->data[j]);
            if (off < size)
                snprintf(buf + off, size - off, "%s]", m->cols > shown ? ", ..." : "");
        }
    } else if (strchr(type, '*'))
        snprintf(buf, size, "%p", *(void *const *)addr);
    else if (!value_format(addr, 0, type, buf, size))
        snprintf(buf, size, "(a value of type %s)", type);
}

/* The text of a variable's value: what reads memory the user's code controls. */
static void compute_value(const cell_symbol *s, int full, char *out, size_t size)
{
    out[0] = '\0';
    if (s->address && s->type && type_is(s->type, "mat")) {
        mat m = *(const mat *)s->address;
        int n = snprintf(out, size, "%s", mat_describe(m));
        if (full && n > 0 && (size_t)n + 1 < size && !mat_is_empty(m)) {
            char *body = mat_format_text(m);
            if (body) {
                snprintf(out + n, size - (size_t)n, "\n%s", body);
                free(body);
            }
        }
    } else {
        describe_value(s->type, s->address, out, size);
    }
}

#if defined(__SANITIZE_ADDRESS__)
/* Sanitizer builds: reading a freed block in the child below is an AddressSanitizer
 * error, whose report (symbolized: > 1 s on a loaded machine) nobody reads, since the
 * child's stderr is /dev/null. This hook runs before the report is made: the child ends
 * at once, as it would on the SIGSEGV of a normal build. */
static volatile int reading_values;
void __asan_on_error(void);
void __asan_on_error(void)
{
    if (reading_values)
        _exit(1);
}
#endif

/* Values of `n` variables computed in a forked child, `slot` bytes each (malloc'ed,
 * n * slot). A session variable can hold anything — a dangling pointer, a mat whose
 * data was freed — and the executor must never crash reading it: a child that dies on
 * variable i leaves "(unreadable)" for it, and a new child goes on from i + 1. */
static char *values_isolated(const cell_symbol *const *vars, size_t n, int full, size_t slot)
{
    char *texts = calloc(n ? n : 1, slot);
    if (!texts || n == 0)
        return texts;
    size_t bytes = 64 + n * slot;
    char *page = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (page == MAP_FAILED) {
        for (size_t i = 0; i < n; i++)
            snprintf(texts + i * slot, slot, "(not shown: out of memory)");
        return texts;
    }
    volatile size_t *done = (volatile size_t *)(void *)page;
    char *shared = page + 64;
    size_t next = 0;
    while (next < n) {
        *done = next;
        fflush(NULL);
        pid_t pid = fork();
        if (pid == 0) {
            /* Sanitizer reports about the user's memory must not reach the notebook. */
            int devnull = open("/dev/null", O_WRONLY);
            if (devnull >= 0)
                dup2(devnull, 2);
#if defined(__SANITIZE_ADDRESS__)
            reading_values = 1;
#endif
            for (size_t i = next; i < n; i++) {
                compute_value(vars[i], full, shared + i * slot, slot);
                *done = i + 1;
            }
            _exit(0);
        }
        int status = 0;
        if (pid > 0)
            while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
        if (pid < 0) {
            for (size_t i = next; i < n; i++)
                snprintf(shared + i * slot, slot, "(not shown: cannot fork)");
            break;
        }
        if (*done >= n)
            break;
        snprintf(shared + *done * slot, slot, "(unreadable: it points to memory that is gone)");
        next = *done + 1;
    }
    memcpy(texts, shared, n * slot);
    for (size_t i = 0; i < n; i++)
        texts[i * slot + slot - 1] = '\0';
    munmap(page, bytes);
    return texts;
}

static json_t *not_found(void)
{
    return json_pack("{s:s, s:b, s:{}, s:{}}", "status", "ok", "found", 0, "data", "metadata");
}

/* The session variable named by code[a..b) (an identifier, possibly followed by [..]). */
static const cell_symbol *variable_at(const char *code, size_t a, size_t b)
{
    while (a < b && isspace((unsigned char)code[a]))
        a++;
    size_t e = a;
    while (e < b && (isalnum((unsigned char)code[e]) || code[e] == '_'))
        e++;
    if (e == a || e - a >= 256)
        return NULL;
    char name[256];
    memcpy(name, code + a, e - a);
    name[e - a] = '\0';
    return cell_session_find(exec_g.session, name);
}

json_t *introspect_inspect(const char *code, int cursor_pos, int detail_level)
{
    if (!exec_g.session)
        return not_found();
    cell_cursor_token tok;
    if (cell_token_at(code, utf8_byte_offset(code, cursor_pos), &tok) != 0)
        return not_found();
    const cell_symbol *s = NULL;
    if (tok.end > tok.start && tok.end - tok.start < 256) {
        char name[256];
        memcpy(name, code + tok.start, tok.end - tok.start);
        name[tok.end - tok.start] = '\0';
        s = (tok.kind == '.' || tok.kind == '>') ? NULL : cell_session_find(exec_g.session, name);
    }
    if (!s && (tok.kind == '.' || tok.kind == '>'))
        s = variable_at(code, tok.base_start, tok.base_end); /* a.b: say what a is */
    if (!s)
        return not_found();
    size_t cap = 1 << 16;
    char *text = malloc(cap);
    if (!text)
        return not_found();
    if (s->kind == SYMBOL_VARIABLE) {
        char *value = values_isolated(&s, 1, 1, 32768);
        snprintf(text, cap, "%s %s  (defined in cell [%d])\nvalue: %s\n", s->type ? s->type : "?", s->name,
                 s->cell, value ? value : "(not shown)");
        free(value);
        if (detail_level > 0 && s->declaration) {
            size_t len = strlen(text);
            snprintf(text + len, cap - len, "declaration: %s\n", s->declaration);
        }
    } else {
        snprintf(text, cap, "%s\n(defined in cell [%d])\n", s->declaration ? s->declaration : s->name, s->cell);
    }
    json_t *out = json_pack("{s:s, s:b, s:{s:s}, s:{}}", "status", "ok", "found", 1, "data", "text/plain", text,
                            "metadata");
    free(text);
    return out;
}

static void add_match(json_t *matches, const char *name, const char *prefix, size_t plen)
{
    if (name && strncmp(name, prefix, plen) == 0)
        json_array_append_new(matches, json_string(name));
}

json_t *introspect_complete(const char *code, int cursor_pos)
{
    size_t cursor = utf8_byte_offset(code, cursor_pos);
    json_t *matches = json_array();
    cell_cursor_token tok;
    size_t start = cursor, end = cursor;
    if (exec_g.session && cell_token_at(code, cursor, &tok) == 0) {
        start = tok.start;
        end = tok.end;
        size_t plen = cursor > tok.start ? cursor - tok.start : 0;
        const char *prefix = code + tok.start;
        if (tok.kind == '.' || tok.kind == '>') {
            /* Members of the base variable's type (an element's for a[i].). */
            const cell_symbol *v = variable_at(code, tok.base_start, tok.base_end);
            if (v && v->kind == SYMBOL_VARIABLE && v->type) {
                char type[256];
                snprintf(type, sizeof type, "%s", v->type);
                char *bracket = strchr(type, '[');
                if (bracket)
                    *bracket = '\0';
                size_t n = 0;
                const char *const *names = cell_session_members(exec_g.session, type, &n, NULL);
                for (size_t i = 0; i < n; i++)
                    add_match(matches, names[i], prefix, plen);
            }
        } else if (tok.kind == 0) {
            size_t count = 0;
            const cell_symbol *syms = cell_session_symbols(exec_g.session, &count);
            for (size_t i = 0; i < count; i++)
                add_match(matches, syms[i].name, prefix, plen);
        }
    }
    return json_pack("{s:s, s:o, s:i, s:i, s:{}}", "status", "ok", "matches", matches, "cursor_start",
                     utf8_code_points(code, start), "cursor_end", utf8_code_points(code, end), "metadata");
}

/* Bytes a variable of this declared type holds itself, 0 when unknown. */
static size_t type_size(const char *type)
{
    static const struct { const char *name; size_t size; } known[] = {
        {"char", 1}, {"signed char", 1}, {"unsigned char", 1}, {"bool", 1}, {"_Bool", 1},
        {"short", 2}, {"unsigned short", 2}, {"int", 4}, {"unsigned", 4}, {"unsigned int", 4},
        {"float", 4}, {"long", 8}, {"unsigned long", 8}, {"long long", 8}, {"size_t", 8},
        {"int64_t", 8}, {"uint64_t", 8}, {"int32_t", 4}, {"uint32_t", 4}, {"uint8_t", 1},
        {"double", 8}, {"mat", sizeof(mat)},
    };
    if (!type)
        return 0;
    if (strchr(type, '*') && !strchr(type, '['))
        return sizeof(void *);
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (type_is(type, known[i].name))
            return known[i].size;
    return value_type_size(type); /* arrays, the session's structs */
}

static void human_bytes(size_t n, char *buf, size_t size)
{
    if (n < 1024)
        snprintf(buf, size, "%zu B", n);
    else if (n < (size_t)1 << 20)
        snprintf(buf, size, "%.1f KiB", (double)n / 1024);
    else if (n < (size_t)1 << 30)
        snprintf(buf, size, "%.1f MiB", (double)n / (1 << 20));
    else
        snprintf(buf, size, "%.2f GiB", (double)n / (1 << 30));
}

void introspect_whos(int detailed)
{
    size_t n = 0;
    const cell_symbol *syms = exec_g.session
                                  ? cell_session_symbols(exec_g.session, &n)
                                  : NULL;
    size_t shown = 0;
    if (!detailed) {
        for (size_t i = 0; i < n; i++)
            if (syms[i].kind == SYMBOL_VARIABLE || syms[i].kind == SYMBOL_FUNCTION)
                printf("%s%s", shown++ ? "  " : "", syms[i].name);
        printf(shown ? "\n" : "Interactive namespace is empty.\n");
        return;
    }
    int wname = 8, wtype = 8;
    for (size_t i = 0; i < n; i++) {
        if (syms[i].kind != SYMBOL_VARIABLE && syms[i].kind != SYMBOL_FUNCTION)
            continue;
        int ln = (int)strlen(syms[i].name);
        int lt = syms[i].kind == SYMBOL_VARIABLE && syms[i].type ? (int)strlen(syms[i].type) : 8;
        wname = ln > wname ? (ln < 30 ? ln : 30) : wname;
        wtype = lt > wtype ? (lt < 24 ? lt : 24) : wtype;
    }
    enum { SLOT = 512 };
    const cell_symbol **vars = calloc(n ? n : 1, sizeof *vars);
    size_t nvars = 0;
    for (size_t i = 0; vars && i < n; i++)
        if (syms[i].kind == SYMBOL_VARIABLE)
            vars[nvars++] = &syms[i];
    char *values = vars ? values_isolated(vars, nvars, 0, SLOT) : NULL;
    size_t vi = 0;
    for (size_t i = 0; i < n; i++) {
        const cell_symbol *s = &syms[i];
        if (s->kind != SYMBOL_VARIABLE && s->kind != SYMBOL_FUNCTION)
            continue;
        if (!shown++)
            printf("%-*s  %-*s  %-5s  %10s  %s\n%s\n", wname, "Name", wtype, "Type", "Cell", "Memory",
                   "Value", "--------------------------------------------------------------------------");
        char value[2048], mem[32] = "";
        if (s->kind == SYMBOL_FUNCTION) {
            snprintf(value, sizeof value, "%s", s->type ? s->type : "");
            printf("%-*s  %-*s  %-5d  %10s  %.80s\n", wname, s->name, wtype, "function", s->cell, "", value);
            continue;
        }
        size_t bytes = type_size(s->type);
        if (s->address && s->type && type_is(s->type, "mat"))
            bytes += mat_bytes(*(const mat *)s->address);
        else if (s->address && bytes == sizeof(void *) && strchr(s->type, '*')) {
            const void *target = *(void *const *)s->address;
            size_t held = cairn_alloc_size(target);
            bytes += held ? held : cell_block_size(target);
        }
        if (bytes)
            human_bytes(bytes, mem, sizeof mem);
        snprintf(value, sizeof value, "%s", values ? values + (vi++) * SLOT : "(not shown)");
        for (char *c = value; *c; c++)
            if (*c == '\n')
                *c = ' ';
        printf("%-*s  %-*s  %-5d  %10s  %.80s%s\n", wname, s->name, wtype, s->type ? s->type : "?", s->cell,
               mem, value, strlen(value) > 80 ? "..." : "");
    }
    free(values);
    free(vars);
    if (!shown)
        printf("Interactive namespace is empty.\n");
    char total[32];
    human_bytes(cairn_bytes_in_use(), total, sizeof total);
    printf("runtime memory in use: %s in %zu blocks\n", total, cairn_blocks_in_use());
}
