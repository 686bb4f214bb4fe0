/* value_format.c — the text of a value whose type only the session knows.
 *
 * A trailing `pt` of type `point`, or Shift-Tab on it, should show
 * `point {x = 1.0, y = -2.0}`, not "8 bytes". The runtime's show code cannot know the
 * types that cells declare; the cell model can (cell_session_members gives member names
 * and type texts). From those, this file recomputes the C layout (x86-64 SysV: each
 * member at the next multiple of its alignment, size rounded up to the largest
 * alignment) and formats each member. It only prints when the layout it computed has
 * exactly the size of the value; anything it is not sure about (bit-fields, unknown
 * types, unions behind a typedef) falls back to the runtime's "<type: N bytes>". A
 * session enum (4 bytes) shows its enumerator, GREEN (1), when its values are literals. */
#include "exec_internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/show.h"

typedef struct sbuf {
    char *p;
    size_t len, cap;
    int overflow;
} sbuf;

static void sb_add(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_add(sbuf *b, const char *fmt, ...)
{
    if (b->len + 1 >= b->cap) {
        b->overflow = 1;
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= b->cap - b->len) {
        b->len = b->cap - 1;
        b->overflow = 1;
    } else {
        b->len += (size_t)n;
    }
}

static void expand_array_alias(const char *type, char *out, size_t size);

/* Type text without qualifiers and surrounding blanks, typedef'd arrays written out. */
static void plain_type(const char *type, char *out, size_t size)
{
    char tmp[256];
    snprintf(tmp, sizeof tmp, "%s", type);
    static const char *const quals[] = {"const ", "volatile ", "restrict ", "static "};
    for (size_t q = 0; q < sizeof quals / sizeof quals[0]; q++) {
        char *at;
        while ((at = strstr(tmp, quals[q])) != NULL)
            memmove(at, at + strlen(quals[q]), strlen(at + strlen(quals[q])) + 1);
    }
    char *s = tmp;
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    expand_array_alias(s, out, size);
}

/* Whether type is an array type: a [ outside braces and parentheses ("int [3]", not
 * "struct { int z[2]; }" nor "double (*)[3]"). */
static int is_array_type(const char *type)
{
    int depth = 0;
    for (const char *c = type; *c; c++) {
        if (*c == '[' && !depth)
            return 1;
        depth += (*c == '(' || *c == '{') - (*c == ')' || *c == '}');
    }
    return 0;
}

/* A typedef'd array written out: "row" -> "int [4]", "row [2]" -> "int [2][4]" for
 * `typedef int row[4];` (a few levels of typedefs). Else type is copied as it is. */
static void expand_array_alias(const char *type, char *out, size_t size)
{
    char cur[256];
    snprintf(cur, sizeof cur, "%s", type);
    for (int level = 0; level < 4; level++) {
        size_t n = 0;
        while (isalnum((unsigned char)cur[n]) || cur[n] == '_')
            n++;
        const char *rest = cur + n;
        while (*rest == ' ')
            rest++;
        if (!n || (*rest && *rest != '['))
            break;
        char name[128];
        snprintf(name, sizeof name, "%.*s", (int)(n < 127 ? n : 127), cur);
        const cell_symbol *y = exec_g.session ? cell_session_find(exec_g.session, name) : NULL;
        if (!y || y->kind != SYMBOL_TYPE || !y->type || !is_array_type(y->type) || strchr(y->type, '('))
            break;
        const char *inner = strchr(y->type, '[');
        size_t head = (size_t)(inner - y->type), lr = strlen(rest), li = strlen(inner);
        char next[sizeof cur];
        if (head + lr + li >= sizeof next)
            break;
        memcpy(next, y->type, head);
        memcpy(next + head, rest, lr);
        memcpy(next + head + lr, inner, li + 1);
        memcpy(cur, next, sizeof cur);
    }
    snprintf(out, size, "%s", cur);
}

/* "T [2][3]" -> base "T" and dims {2, 3}: the number of dims, 0 when type is not an
 * array, -1 when a dimension is not written in digits or the type has parentheses
 * (a pointer to an array, an array of function pointers). */
static int array_dims(const char *type, char *base, size_t bsize, long *dims, int max)
{
    const char *open = strchr(type, '[');
    if (!open)
        return 0;
    if (strchr(type, '('))
        return -1;
    size_t blen = (size_t)(open - type);
    while (blen && isspace((unsigned char)type[blen - 1]))
        blen--;
    snprintf(base, bsize, "%.*s", (int)blen, type);
    int n = 0;
    for (const char *p = open; *p == '[' && n < max;) {
        char *end;
        long d = strtol(p + 1, &end, 10);
        while (isspace((unsigned char)*end))
            end++;
        if (end == p + 1 || *end != ']' || d <= 0)
            return -1;
        dims[n++] = d;
        p = end + 1;
        while (isspace((unsigned char)*p))
            p++;
        if (*p && *p != '[')
            return -1;
    }
    return n;
}

enum scalar { S_NONE, S_INT, S_UINT, S_FLOAT, S_DOUBLE, S_BOOL, S_CHAR, S_PTR, S_STRING, S_MAT };

typedef struct scalar_type {
    const char *name;
    size_t size;
    int kind;
} scalar_type;

static const scalar_type scalars[] = {
    {"char", 1, S_CHAR}, {"signed char", 1, S_INT}, {"unsigned char", 1, S_UINT},
    {"_Bool", 1, S_BOOL}, {"bool", 1, S_BOOL}, {"short", 2, S_INT}, {"short int", 2, S_INT},
    {"unsigned short", 2, S_UINT}, {"int", 4, S_INT}, {"signed", 4, S_INT}, {"signed int", 4, S_INT},
    {"unsigned", 4, S_UINT}, {"unsigned int", 4, S_UINT}, {"long", 8, S_INT}, {"long int", 8, S_INT},
    {"unsigned long", 8, S_UINT}, {"long long", 8, S_INT}, {"unsigned long long", 8, S_UINT},
    {"float", 4, S_FLOAT}, {"double", 8, S_DOUBLE}, {"int8_t", 1, S_INT}, {"uint8_t", 1, S_UINT},
    {"int16_t", 2, S_INT}, {"uint16_t", 2, S_UINT}, {"int32_t", 4, S_INT}, {"uint32_t", 4, S_UINT},
    {"int64_t", 8, S_INT}, {"uint64_t", 8, S_UINT}, {"size_t", 8, S_UINT}, {"ssize_t", 8, S_INT},
    {"ptrdiff_t", 8, S_INT}, {"intptr_t", 8, S_INT}, {"uintptr_t", 8, S_UINT},
    {"mat", sizeof(mat), S_MAT},
};

typedef struct layout {
    size_t size, align;
} layout;

static int type_layout(const char *type, layout *out, int depth);

/* An enum value (tcc stores enums in 4 bytes): GREEN (1), or 5 (enum color) when no
 * enumerator has it. Returns 0 when type is not a session enum whose values are known. */
static int format_enum(sbuf *b, const char *type, const unsigned char *p)
{
    int is_enum = 0;
    int v = *(const int *)(const void *)p;
    char *name = cell_session_enum_name(exec_g.session, type, v, &is_enum);
    if (!is_enum)
        return 0;
    if (name)
        sb_add(b, "%s (%d)", name, v);
    else
        sb_add(b, "%d (%s)", v, type);
    free(name);
    return 1;
}

static int is_enum_type(const char *type)
{
    int is_enum = 0;
    free(cell_session_enum_name(exec_g.session, type, 0, &is_enum));
    return is_enum;
}

/* Members of an aggregate type and their offsets; returns count or -1. */
static int aggregate_layout(const char *type, size_t *offsets, size_t max, layout *out, int depth)
{
    size_t n = 0;
    const char *const *types = NULL;
    const char *const *names = cell_session_members(exec_g.session, type, &n, &types);
    if (!names || !types || n == 0 || n > max)
        return -1;
    int is_union = strncmp(type, "union ", 6) == 0;
    size_t off = 0, align = 1, size = 0;
    for (size_t i = 0; i < n; i++) {
        layout m;
        if (type_layout(types[i], &m, depth + 1) != 0)
            return -1;
        if (m.align > align)
            align = m.align;
        if (is_union) {
            offsets[i] = 0;
            if (m.size > size)
                size = m.size;
        } else {
            off = (off + m.align - 1) / m.align * m.align;
            offsets[i] = off;
            off += m.size;
            size = off;
        }
    }
    out->size = (size + align - 1) / align * align;
    out->align = align;
    return (int)n;
}

/* An array type's element type (base), dimensions and element layout: the number of
 * dimensions, or -1 when any of them is unknown. */
static int array_layout(const char *type, char *base, size_t bsize, long *dims, layout *elem, int depth)
{
    int nd = array_dims(type, base, bsize, dims, 8);
    return nd <= 0 || type_layout(base, elem, depth + 1) != 0 ? -1 : nd;
}

static int type_layout(const char *type_text, layout *out, int depth)
{
    if (depth > 8)
        return -1;
    char type[256];
    plain_type(type_text, type, sizeof type);
    if (is_array_type(type)) {
        char base[256];
        long dims[8];
        layout e;
        int nd = array_layout(type, base, sizeof base, dims, &e, depth);
        if (nd < 0)
            return -1;
        size_t count = 1;
        for (int i = 0; i < nd; i++)
            count *= (size_t)dims[i];
        out->size = e.size * count;
        out->align = e.align;
        return 0;
    }
    if (strchr(type, '*') || strchr(type, '(')) {
        out->size = out->align = sizeof(void *);
        return 0;
    }
    if (is_enum_type(type)) {
        out->size = out->align = sizeof(int);
        return 0;
    }
    for (size_t i = 0; i < sizeof scalars / sizeof scalars[0]; i++)
        if (strcmp(type, scalars[i].name) == 0) {
            out->size = scalars[i].size;
            out->align = scalars[i].kind == S_MAT ? sizeof(void *) : scalars[i].size;
            return 0;
        }
    size_t offsets[64];
    return aggregate_layout(type, offsets, 64, out, depth) > 0 ? 0 : -1;
}

static void format_typed(sbuf *b, const char *type_text, const unsigned char *p, int depth, int top);

static void format_scalar(sbuf *b, int kind, size_t size, const unsigned char *p)
{
    long long sv = 0;
    unsigned long long uv = 0;
    switch (size) {
    case 1: sv = *(const signed char *)p; uv = *p; break;
    case 2: sv = *(const short *)(const void *)p; uv = *(const unsigned short *)(const void *)p; break;
    case 4: sv = *(const int *)(const void *)p; uv = *(const unsigned *)(const void *)p; break;
    default: sv = *(const long long *)(const void *)p; uv = *(const unsigned long long *)(const void *)p; break;
    }
    char num[64];
    switch (kind) {
    case S_INT: sb_add(b, "%lld", sv); break;
    case S_UINT: sb_add(b, "%llu", uv); break;
    case S_BOOL: sb_add(b, "%s", uv ? "true" : "false"); break;
    case S_CHAR:
        if (isprint((int)(unsigned char)sv))
            sb_add(b, "'%c'", (char)sv);
        else
            sb_add(b, "%lld", sv);
        break;
    case S_FLOAT: sb_add(b, "%sf", cairn_format_double((double)*(const float *)(const void *)p, num, sizeof num)); break;
    case S_DOUBLE: sb_add(b, "%s", cairn_format_double(*(const double *)(const void *)p, num, sizeof num)); break;
    default: break;
    }
}

/* Characters of a char array as a string literal, up to its first NUL. */
static void format_char_array(sbuf *b, const unsigned char *p, long n)
{
    long len = 0;
    while (len < n && p[len])
        len++;
    sb_add(b, "\"");
    for (long i = 0; i < len && i < 60 && !b->overflow; i++) {
        unsigned char c = p[i];
        if (c == '"' || c == '\\')
            sb_add(b, "\\%c", c);
        else if (c == '\n')
            sb_add(b, "\\n");
        else if (c == '\t')
            sb_add(b, "\\t");
        else if (c < 0x20 || c == 0x7f)
            sb_add(b, "\\x%02x", c);
        else
            sb_add(b, "%c", c); /* UTF-8 bytes pass as they are */
    }
    sb_add(b, "\"%s", len > 60 ? "..." : "");
}

/* An array of base elements (e bytes each) with dims[0..nd): nested braces, at most 8
 * elements per level as NumPy summarizes; char arrays as strings. */
static void format_array(sbuf *b, const char *base, size_t e, const long *dims, int nd, const unsigned char *p,
                         int depth)
{
    if (nd == 1 && (strcmp(base, "char") == 0 || strcmp(base, "signed char") == 0)) {
        format_char_array(b, p, dims[0]);
        return;
    }
    size_t stride = e;
    for (int i = 1; i < nd; i++)
        stride *= (size_t)dims[i];
    long shown = dims[0] <= 8 ? dims[0] : 6;
    sb_add(b, "{");
    for (long i = 0; i < shown && !b->overflow; i++) {
        if (i)
            sb_add(b, ", ");
        if (nd > 1)
            format_array(b, base, e, dims + 1, nd - 1, p + (size_t)i * stride, depth + 1);
        else
            format_typed(b, base, p + (size_t)i * stride, depth + 1, 0);
    }
    if (dims[0] > shown) {
        sb_add(b, ", ..., ");
        if (nd > 1)
            format_array(b, base, e, dims + 1, nd - 1, p + (size_t)(dims[0] - 1) * stride, depth + 1);
        else
            format_typed(b, base, p + (size_t)(dims[0] - 1) * stride, depth + 1, 0);
    }
    sb_add(b, "}");
}

static void format_typed(sbuf *b, const char *type_text, const unsigned char *p, int depth, int top)
{
    char type[256];
    plain_type(type_text, type, sizeof type);
    if (is_array_type(type)) {
        char base[256];
        long dims[8];
        layout e;
        int nd = depth > 6 ? -1 : array_layout(type, base, sizeof base, dims, &e, depth);
        if (nd < 0) {
            sb_add(b, "{...}");
            return;
        }
        format_array(b, base, e.size, dims, nd, p, depth);
        return;
    }
    if (strcmp(type, "char *") == 0 || strcmp(type, "char*") == 0) {
        const char *s = *(const char *const *)(const void *)p;
        if (!s)
            sb_add(b, "NULL");
        else
            sb_add(b, "\"%.40s%s\"", s, strnlen(s, 41) > 40 ? "..." : "");
        return;
    }
    if (strchr(type, '*') || strchr(type, '(')) {
        const void *v = *(const void *const *)(const void *)p;
        if (v)
            sb_add(b, "%p", v);
        else
            sb_add(b, "NULL");
        return;
    }
    if (format_enum(b, type, p))
        return;
    for (size_t i = 0; i < sizeof scalars / sizeof scalars[0]; i++)
        if (strcmp(type, scalars[i].name) == 0) {
            if (scalars[i].kind == S_MAT)
                sb_add(b, "%s", mat_describe(*(const mat *)(const void *)p));
            else
                format_scalar(b, scalars[i].kind, scalars[i].size, p);
            return;
        }
    size_t offsets[64];
    layout l;
    int n = depth > 4 ? -1 : aggregate_layout(type, offsets, 64, &l, depth);
    if (n <= 0) {
        sb_add(b, "{...}");
        return;
    }
    size_t count = 0;
    const char *const *types = NULL;
    const char *const *names = cell_session_members(exec_g.session, type, &count, &types);
    sb_add(b, top ? "%s {" : "{", type);
    for (int i = 0; i < n && !b->overflow; i++) {
        sb_add(b, "%s%s = ", i ? ", " : "", names[i]);
        format_typed(b, types[i], p + offsets[i], depth + 1, 0);
    }
    sb_add(b, "}");
}

int value_format(const void *value, size_t size, const char *type, char *buf, size_t bufsize)
{
    if (!exec_g.session || !type || !value || bufsize < 16)
        return 0;
    char plain[256];
    plain_type(type, plain, sizeof plain);
    if (is_array_type(plain) && (size == 0 || size == sizeof(void *))) {
        /* An array: at value itself (size 0: %whos, inspect), or decayed, as a trailing
         * name arrives (a pointer to its first element, shown with its type). */
        const void *data = size ? *(const void *const *)value : value;
        layout l;
        if (data && size && type_layout(plain, &l, 0) != 0) {
            /* Its dimensions are not known in digits yet (`int m[2 * K]` shown in the cell
             * that defines it): where it is, not a pointer's "8 bytes". */
            snprintf(buf, bufsize, "%s at %p", plain, data);
            return 1;
        }
        if (!data || type_layout(plain, &l, 0) != 0)
            return 0;
        sbuf b = {buf, 0, bufsize, 0};
        buf[0] = '\0';
        if (size)
            sb_add(&b, "%s ", plain);
        format_typed(&b, plain, data, 0, 0);
        if (b.overflow && bufsize > 4)
            strcpy(buf + bufsize - 4, "...");
        return 1;
    }
    if (strchr(plain, '*') || strchr(plain, '['))
        return 0; /* pointers: the runtime's own text (an address) is right */
    layout l;
    if (type_layout(plain, &l, 0) != 0 || (size && l.size != size))
        return 0;
    sbuf b = {buf, 0, bufsize, 0};
    buf[0] = '\0';
    format_typed(&b, plain, value, 0, 1);
    if (b.overflow && bufsize > 4)
        strcpy(buf + bufsize - 4, "...");
    return 1;
}

size_t value_type_size(const char *type)
{
    if (!exec_g.session || !type)
        return 0;
    char plain[256];
    plain_type(type, plain, sizeof plain);
    layout l;
    return type_layout(plain, &l, 0) == 0 ? l.size : 0;
}
