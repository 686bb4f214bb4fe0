/* prelude.c — cairn.h preprocessed once per session instead of once per cell.
 *
 * Every cell's unit starts with `#include "cairn.h"`, which pulls in stdio.h, stdlib.h,
 * math.h and the runtime headers: about 8 ms of tcc preprocessing, most of a trivial
 * cell's latency. The same text preprocessed once with `tcc -E -dD` (declarations
 * expanded, every #define and #undef kept, so user code still sees M_PI, EOF, the
 * include guards and the runtime's macros) parses in about 1 ms.
 *
 * The first executor runs the tcc driver in the background at start, writing into a
 * memfd; before the first fork it waits for it, drops tcc's predefined macros from the
 * output (they would be "redefined"), repairs what tcc 0.9.27 prints wrongly in -dD
 * output (`##` comes out as byte 0xa6, a `...` parameter as `__VA_ARGS__`; a named
 * variadic parameter `args...` loses its dots, so headers that use one disable the
 * whole thing), and checks that a unit using the runtime compiles against it without a
 * single diagnostic. Units then include
 * /proc/self/fd/N instead of cairn.h. Anything unexpected — no tcc driver, a failed
 * check, %cflags that could change what the headers declare — keeps the plain include.
 * CAIRN_FLAT_PRELUDE=0 turns it off.
 *
 * On top of that each unit gets only the function prototypes it can reach (see
 * "Pruning" below): a trivial cell compiles in ~0.5 ms instead of ~1.2 ms.
 * CAIRN_PRUNE_PRELUDE=0 keeps the whole flattened text; CAIRN_PRELUDE_DEBUG=1 prints
 * what the preparation found. */
#include "exec_internal.h"
#include "strmap.h"

#include <errno.h>
#include <fcntl.h>
#include <libtcc.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* Bytes of the base text between two places where a warm parse may pause. */
#define WARM_STEP_BYTES 4096

static int raw_fd = -1;     /* tcc -E output */
static pid_t helper = 0;    /* the tcc driver, while it runs */
static int flat_fd = -1;    /* the checked, flattened prelude */
static char include_line[64];

void prelude_start(void)
{
    const char *env = getenv("CAIRN_FLAT_PRELUDE");
    if (env && strcmp(env, "0") == 0)
        return;
    const char *driver = "/usr/bin/tcc";
    if (access(driver, X_OK) != 0)
        return;
    raw_fd = memfd_create("cairn-prelude-raw", MFD_CLOEXEC);
    if (raw_fd < 0)
        return;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, raw_fd, 1);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    char *argv[] = {(char *)"tcc", (char *)"-E", (char *)"-dD", (char *)"-B", (char *)CAIRN_TCC_LIB_DIR,
                    (char *)"-I", (char *)CAIRN_RUNTIME_INCLUDE_DIR, (char *)"-xc",
                    (char *)CAIRN_RUNTIME_INCLUDE_DIR "/cairn.h", NULL};
    if (posix_spawn(&helper, driver, &fa, NULL, argv, environ) != 0) {
        helper = 0;
        close(raw_fd);
        raw_fd = -1;
    }
    posix_spawn_file_actions_destroy(&fa);
}

static char *read_all(int fd, size_t *len)
{
    struct stat st;
    if (fstat(fd, &st) != 0 || st.st_size <= 0)
        return NULL;
    char *buf = malloc((size_t)st.st_size + 1);
    if (!buf)
        return NULL;
    ssize_t n = pread(fd, buf, (size_t)st.st_size, 0);
    if (n != st.st_size) {
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    *len = (size_t)n;
    return buf;
}

static int diagnostics_seen;
static void count_diagnostic(void *opaque, const char *msg)
{
    (void)opaque;
    (void)msg;
    diagnostics_seen++;
}

/* Compile a unit that uses the runtime and libc through the flattened prelude. */
static int flat_prelude_works(void)
{
    TCCState *s = tcc_new();
    if (!s)
        return 0;
    diagnostics_seen = 0;
    tcc_set_lib_path(s, CAIRN_TCC_LIB_DIR);
    tcc_set_error_func(s, NULL, count_diagnostic);
    tcc_set_output_type(s, TCC_OUTPUT_MEMORY);
    tcc_add_include_path(s, CAIRN_RUNTIME_INCLUDE_DIR);
    char src[1024];
    snprintf(src, sizeof src,
             "%s\n#include <stdio.h>\n#include <math.h>\n#include \"cairn/mat.h\"\n"
             "#ifndef CAIRN_H\n#error no guard\n#endif\n"
             "#define CAIRN_PASTE(a, b) a##b\n"
             "double cairn_prelude_check(void) { mat m = mat_zeros(1, 1); mat v = MAT(1, 2, 3.0, 4.0); "
             "int CAIRN_PASTE(x, 1) = EOF; printf(\"%%d\\n\", x1); "
             "return M_PI + NAN + isnan(1.0) + m.rows + v.cols + (double)sizeof(FILE); }\n",
             include_line);
    int ok = tcc_compile_string(s, src) == 0 && diagnostics_seen == 0;
    tcc_delete(s);
    return ok;
}

typedef struct outbuf {
    char *p;
    size_t len, cap;
} outbuf;

static int out_put(outbuf *o, const char *data, size_t n)
{
    if (o->len + n + 1 > o->cap) {
        size_t cap = o->cap ? o->cap * 2 : 1 << 18;
        while (cap < o->len + n + 1)
            cap *= 2;
        char *p = realloc(o->p, cap);
        if (!p)
            return -1;
        o->p = p;
        o->cap = cap;
    }
    memcpy(o->p + o->len, data, n);
    o->len += n;
    o->p[o->len] = '\0';
    return 0;
}

static int is_ident(int c) { return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }

/* One "#define" line of tcc's -dD output, repaired, appended to o. */
static int repair_define(outbuf *o, const char *line, size_t len)
{
    size_t i = 8; /* after "#define " */
    while (i < len && is_ident((unsigned char)line[i]))
        i++;
    if (out_put(o, line, i) < 0)
        return -1;
    if (i < len && line[i] == '(') {
        size_t close = i;
        while (close < len && line[close] != ')')
            close++;
        const char *params = line + i, *va = "__VA_ARGS__";
        for (size_t k = 0; i + k <= close;) {
            if (close - (i + k) >= 11 && strncmp(params + k, va, 11) == 0) {
                if (out_put(o, "...", 3) < 0)
                    return -1;
                k += 11;
            } else {
                if (out_put(o, params + k, 1) < 0)
                    return -1;
                k++;
            }
        }
        i = close + 1;
    }
    for (; i < len; i++) {
        unsigned char c = (unsigned char)line[i], prev = (unsigned char)line[i - 1];
        if (c == '<' && len - i >= 4 && strncmp(line + i, "<a6>", 4) == 0) {
            /* some builds print the byte as text: `x<a6>y` (glibc's __CONCAT, __MATH_TG) */
            if (out_put(o, "##", 2) < 0)
                return -1;
            i += 3;
            continue;
        }
        int rc = (c == 0xa6 && prev < 0xc2) ? out_put(o, "##", 2) : out_put(o, line + i, 1);
        if (rc < 0)
            return -1;
    }
    return 0;
}

/* Does some header of the flattened text define a macro with a named variadic
 * parameter (`args...`)? tcc prints those without the dots, so they cannot be repaired. */
static int uses_named_variadics(const char *raw)
{
    enum { MAX_HEADERS = 512 };
    char(*seen)[256] = malloc(MAX_HEADERS * sizeof *seen);
    int nseen = 0, result = 0;
    if (!seen)
        return 1;
    for (const char *m = strstr(raw, "# "); m; m = strstr(m + 1, "\n# ")) {
        const char *q = strchr(m, '"');
        const char *e = q ? strchr(q + 1, '"') : NULL;
        const char *eol = strchr(m + 1, '\n');
        if (!q || !e || (eol && e > eol) || e - q - 1 >= 255 || q[1] == '<')
            continue;
        char path[256];
        snprintf(path, sizeof path, "%.*s", (int)(e - q - 1), q + 1);
        int known = 0;
        for (int k = 0; k < nseen && !known; k++)
            known = strcmp(seen[k], path) == 0;
        if (known)
            continue;
        if (nseen == MAX_HEADERS) {
            result = 1; /* more headers than we track: do not guess */
            break;
        }
        snprintf(seen[nseen++], sizeof seen[0], "%s", path);
        FILE *f = fopen(path, "r");
        if (!f) {
            result = 1;
            break;
        }
        char line[4096];
        int found = 0;
        while (!found && fgets(line, sizeof line, f)) {
            const char *l = line;
            while (*l == ' ' || *l == '\t')
                l++;
            if (*l != '#' || !strstr(l, "define"))
                continue;
            for (const char *d = strstr(l, "..."); d && !found; d = strstr(d + 3, "...")) {
                const char *b = d;
                while (b > l && (b[-1] == ' ' || b[-1] == '\t'))
                    b--;
                found = b > l && is_ident((unsigned char)b[-1]);
            }
        }
        fclose(f);
        if (found) {
            result = 1;
            break;
        }
    }
    free(seen);
    return result;
}

/* ---- Pruning: a unit gets only the prototypes it can call ----
 *
 * Even flattened, a unit spends about 2 ms of tcc's time parsing the ~1000
 * prototypes of stdio/stdlib/string/math and the runtime that a cell mostly does not
 * call. At preparation the flattened text is cut into file-scope items; a function
 * prototype is "prunable" when nothing else in the text needs it (no static inline
 * body, typedef, variable or other item mentions its name, directly or through the
 * body of a macro they mention) and moving it to the end of the text changes nothing
 * (none of its identifiers is #defined or #undefined after it). The base text — every
 * directive, type, variable, inline body and every other prototype, in order — goes
 * in a second memfd. A unit includes the base, then, inline, the prunable prototypes
 * whose names its own text reaches (identifiers, closed over the prelude's macro
 * bodies: MAT -> mat_from_list), then `#line 2` and its text. The unit stays
 * self-contained: the parent recompiling it for line numbers reads the same base
 * (inherited fd). Anything the scan cannot vouch for — `##` or an include of a
 * header outside the prelude, %include directories — uses the whole prelude. */

typedef struct pname {
    const char *s; /* into names_text */
    size_t len;
    int macro;        /* #defined somewhere */
    int pastes;       /* some definition's body uses ## */
    int last_event;   /* sequence number of the last #define/#undef of it */
    int *body;        /* identifiers of its macro bodies (indices) */
    size_t nbody, capbody;
} pname;

typedef struct proto {
    int name;
    char *text;
} proto;

static struct {
    int ready;
    char *names_text; /* the flattened text the names point into */
    pname *names;
    size_t nnames, capnames;
    int *slots; /* hash table of name indices + 1, size nslots */
    size_t nslots;
    proto *protos;
    size_t nprotos, capprotos;
    char **headers; /* paths of the headers flattened (line markers) */
    size_t nheaders, capheaders;
    char include_line[64];
    int fd; /* the base text's memfd, while ready */
} pr;

static int name_find(const char *s, size_t n)
{
    if (!pr.nslots)
        return -1;
    for (size_t h = strmap_hash(s, n) & (pr.nslots - 1);; h = (h + 1) & (pr.nslots - 1)) {
        int k = pr.slots[h] - 1;
        if (k < 0)
            return -1;
        if (pr.names[k].len == n && memcmp(pr.names[k].s, s, n) == 0)
            return k;
    }
}

static int grow(void **p, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return 0;
    size_t c = *cap ? *cap * 2 : 64;
    while (c < need)
        c *= 2;
    void *q = realloc(*p, c * size);
    if (!q)
        return -1;
    *p = q;
    *cap = c;
    return 0;
}

static int name_add(const char *s, size_t n)
{
    int k = name_find(s, n);
    if (k >= 0)
        return k;
    if ((pr.nnames + 1) * 2 > pr.nslots) {
        size_t ns = pr.nslots ? pr.nslots * 2 : 4096;
        int *sl = calloc(ns, sizeof *sl);
        if (!sl)
            return -1;
        for (size_t i = 0; i < pr.nnames; i++) {
            size_t h = strmap_hash(pr.names[i].s, pr.names[i].len) & (ns - 1);
            while (sl[h])
                h = (h + 1) & (ns - 1);
            sl[h] = (int)i + 1;
        }
        free(pr.slots);
        pr.slots = sl;
        pr.nslots = ns;
    }
    if (grow((void **)&pr.names, &pr.capnames, pr.nnames + 1, sizeof *pr.names) < 0)
        return -1;
    pname *e = &pr.names[pr.nnames];
    memset(e, 0, sizeof *e);
    e->s = s;
    e->len = n;
    e->last_event = -1;
    size_t h = strmap_hash(s, n) & (pr.nslots - 1);
    while (pr.slots[h])
        h = (h + 1) & (pr.nslots - 1);
    pr.slots[h] = (int)pr.nnames + 1;
    return (int)pr.nnames++;
}

static int is_ident_start(int c) { return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

/* Token kinds of the item scanner. */
enum { T_IDENT, T_PUNCT, T_OTHER };
typedef struct tok {
    int kind;
    char c;          /* the punctuator */
    const char *s;   /* identifier */
    size_t len;
} tok;

/* Next token of C text at *p (not directives; no newline handling needed beyond
 * whitespace). Returns 0 at the end of text or at a newline followed by '#'. */
static const char *skip_literal(const char *p)
{
    char q = *p++;
    while (*p && *p != q) {
        if (*p == '\\' && p[1])
            p++;
        p++;
    }
    return *p ? p + 1 : p;
}

static const char *const not_names[] = {
    "__attribute__", "__attribute", "__asm__", "__asm", "asm", "extern", "static", "inline", "__inline",
    "__inline__", "_Noreturn", "__extension__", "const", "__const", "volatile", "__volatile__", "restrict",
    "__restrict", "__restrict__", "int", "char", "short", "long", "float", "double", "void", "signed",
    "unsigned", "__signed__", "_Bool", "struct", "union", "enum", "typedef", "sizeof", "_Static_assert",
    "_Alignas", "__typeof__", "typeof", "__typeof", "register", "auto", "_Thread_local", "__thread", NULL};

static int tok_is(const tok *t, const char *w) { return t->kind == T_IDENT && strlen(w) == t->len && memcmp(t->s, w, t->len) == 0; }

static int tok_is_keyword(const tok *t)
{
    for (int i = 0; not_names[i]; i++)
        if (tok_is(t, not_names[i]))
            return 1;
    return 0;
}

static int tok_is_gnu_group(const tok *t)
{
    return tok_is(t, "__attribute__") || tok_is(t, "__attribute") || tok_is(t, "__asm__") || tok_is(t, "__asm") ||
           tok_is(t, "asm");
}

/* Index after the parenthesised group starting at toks[i] ('('), or -1. */
static int group_end(const tok *toks, int n, int i)
{
    int depth = 0;
    for (; i < n; i++) {
        if (toks[i].kind != T_PUNCT)
            continue;
        if (toks[i].c == '(')
            depth++;
        else if (toks[i].c == ')' && --depth == 0)
            return i + 1;
    }
    return -1;
}

/* The name of a plain function prototype `spec... [*...] name (params) [attr|asm]... ;`
 * (or `(name) (params)`), else -1. Anything else is kept where it is. */
static int prototype_name(const tok *toks, int n)
{
    if (n < 4 || toks[n - 1].kind != T_PUNCT || toks[n - 1].c != ';' || tok_is(&toks[0], "typedef"))
        return -1;
    int depth = 0;
    for (int i = 0; i < n; i++) {
        if (toks[i].kind == T_PUNCT) {
            char c = toks[i].c;
            if (c == '{' || c == '}' || c == '=' || c == '[' || c == ':')
                return -1;
            if (c == '(')
                depth++;
            else if (c == ')')
                depth--;
            else if (c == ',' && depth == 0)
                return -1;
        } else if (toks[i].kind == T_IDENT && (tok_is(&toks[i], "typeof") || tok_is(&toks[i], "__typeof__") ||
                                                tok_is(&toks[i], "__typeof") || tok_is(&toks[i], "_Static_assert"))) {
            return -1;
        } else if (toks[i].kind == T_OTHER && depth == 0) {
            return -1;
        }
    }
    int k = -1;
    for (int i = 0; i < n; i++) {
        if (tok_is_gnu_group(&toks[i]) && i + 1 < n && toks[i + 1].kind == T_PUNCT && toks[i + 1].c == '(') {
            i = group_end(toks, n, i + 1);
            if (i < 0)
                return -1;
            i--;
            continue;
        }
        if (toks[i].kind == T_PUNCT && toks[i].c == '(') {
            k = i;
            break;
        }
    }
    if (k < 1)
        return -1;
    int name_at, params;
    if (toks[k - 1].kind == T_IDENT && !tok_is_keyword(&toks[k - 1])) {
        name_at = k - 1;
        params = k;
    } else if (k + 3 < n && toks[k + 1].kind == T_IDENT && !tok_is_keyword(&toks[k + 1]) &&
               toks[k + 2].kind == T_PUNCT && toks[k + 2].c == ')' && toks[k + 3].kind == T_PUNCT &&
               toks[k + 3].c == '(') {
        name_at = k + 1;
        params = k + 3;
    } else {
        return -1;
    }
    int typed = 0;
    for (int i = 0; i < (name_at == k - 1 ? name_at : k); i++) {
        if (tok_is_gnu_group(&toks[i])) {
            i = group_end(toks, n, i + 1) - 1;
            if (i < 0)
                return -1;
            continue;
        }
        if (toks[i].kind == T_PUNCT && toks[i].c == '*')
            typed = 1;
        else if (toks[i].kind == T_IDENT &&
                 (!tok_is_keyword(&toks[i]) || tok_is(&toks[i], "int") || tok_is(&toks[i], "char") ||
                  tok_is(&toks[i], "short") || tok_is(&toks[i], "long") || tok_is(&toks[i], "float") ||
                  tok_is(&toks[i], "double") || tok_is(&toks[i], "void") || tok_is(&toks[i], "signed") ||
                  tok_is(&toks[i], "unsigned") || tok_is(&toks[i], "_Bool") || tok_is(&toks[i], "struct") ||
                  tok_is(&toks[i], "union") || tok_is(&toks[i], "enum")))
            typed = 1;
        else if (toks[i].kind == T_PUNCT)
            return -1;
    }
    if (!typed)
        return -1;
    int i = group_end(toks, n, params);
    while (i >= 0 && i < n - 1) {
        if (!tok_is_gnu_group(&toks[i]) || toks[i + 1].kind != T_PUNCT || toks[i + 1].c != '(')
            return -1;
        i = group_end(toks, n, i + 1);
    }
    return i == n - 1 ? name_at : -1;
}

static void prune_reset(void)
{
    if (pr.ready) {
        guard_forget_fd(pr.fd);
        close(pr.fd);
    }
    for (size_t i = 0; i < pr.nnames; i++)
        free(pr.names[i].body);
    for (size_t i = 0; i < pr.nprotos; i++)
        free(pr.protos[i].text);
    for (size_t i = 0; i < pr.nheaders; i++)
        free(pr.headers[i]);
    free(pr.names);
    free(pr.slots);
    free(pr.protos);
    free(pr.headers);
    free(pr.names_text);
    memset(&pr, 0, sizeof pr);
}

/* One directive line [p, e): record macros and the headers of line markers. */
static int scan_directive(const char *p, const char *e, int event)
{
    const char *q = p + 1;
    while (q < e && (*q == ' ' || *q == '\t'))
        q++;
    int def = e - q > 7 && strncmp(q, "define ", 7) == 0, undef = e - q > 6 && strncmp(q, "undef ", 6) == 0;
    if (!def && !undef) {
        const char *a = memchr(q, '"', (size_t)(e - q));
        const char *b = a ? memchr(a + 1, '"', (size_t)(e - a - 1)) : NULL;
        if (b && b > a + 1 && a[1] != '<') {
            if (grow((void **)&pr.headers, &pr.capheaders, pr.nheaders + 1, sizeof *pr.headers) < 0)
                return -1;
            char *h = strndup(a + 1, (size_t)(b - a - 1));
            if (!h)
                return -1;
            int known = 0;
            for (size_t i = 0; i < pr.nheaders && !known; i++)
                known = strcmp(pr.headers[i], h) == 0;
            if (known)
                free(h);
            else
                pr.headers[pr.nheaders++] = h;
        }
        return 0;
    }
    q += def ? 7 : 6;
    while (q < e && *q == ' ')
        q++;
    const char *s = q;
    while (q < e && is_ident((unsigned char)*q))
        q++;
    if (q == s)
        return -1;
    int k = name_add(s, (size_t)(q - s));
    if (k < 0)
        return -1;
    pr.names[k].last_event = event;
    if (!def)
        return 0;
    pr.names[k].macro = 1;
    for (; q < e; q++) {
        if (*q == '"' || *q == '\'') {
            q = skip_literal(q) - 1;
            if (q >= e)
                break;
            continue;
        }
        if (*q == '#' && q + 1 < e && q[1] == '#')
            pr.names[k].pastes = 1;
        if (is_ident_start((unsigned char)*q) && !is_ident((unsigned char)q[-1])) {
            const char *b = q;
            while (q < e && is_ident((unsigned char)*q))
                q++;
            int id = name_add(b, (size_t)(q - b));
            if (id < 0 || grow((void **)&pr.names[k].body, &pr.names[k].capbody, pr.names[k].nbody + 1, sizeof(int)) < 0)
                return -1;
            pr.names[k].body[pr.names[k].nbody++] = id;
            q--;
        } else if (*q >= '0' && *q <= '9' && !is_ident((unsigned char)q[-1])) {
            while (q + 1 < e && (is_ident((unsigned char)q[1]) || q[1] == '.'))
                q++;
        }
    }
    return 0;
}

/* Mark name k and, through macro bodies, all it reaches. */
static void reach(unsigned char *mark, int k, int *stack)
{
    size_t sp = 0;
    if (mark[k])
        return;
    mark[k] = 1;
    stack[sp++] = k;
    while (sp) {
        pname *e = &pr.names[stack[--sp]];
        for (size_t i = 0; i < e->nbody; i++)
            if (!mark[e->body[i]]) {
                mark[e->body[i]] = 1;
                stack[sp++] = e->body[i];
            }
    }
}

/* Cut the flattened text into items; write the base text to a memfd. */
static int prune_prepare(const char *flat, size_t flen)
{
    pr.names_text = malloc(flen + 1);
    if (!pr.names_text)
        return -1;
    memcpy(pr.names_text, flat, flen + 1);
    const char *t = pr.names_text;
    outbuf base = {0};
    tok *toks = NULL;
    size_t ntoks = 0, captoks = 0;
    /* Items: [start, end) of text, is it a prototype (name index), its event number. */
    typedef struct item { size_t start, end; int name, event, directive; size_t ids, nids; } item;
    item *items = NULL;
    size_t nitems = 0, capitems = 0;
    int *roots = NULL;
    size_t nroots = 0, caproots = 0;
    int rc = 0, event = 0, braces = 0, parens = 0, funcdef = 0, first_brace_seen = 0, had_directive = 0;
    size_t item_start = 0;
    int in_item = 0;
    const char *p = t;
    int line_start = 1;
    while (*p && rc == 0) {
        if (line_start) {
            const char *q = p;
            while (*q == ' ' || *q == '\t')
                q++;
            if (*q == '#') {
                const char *e = strchr(q, '\n');
                if (!e)
                    e = q + strlen(q);
                if (in_item)
                    had_directive = 1;
                if (grow((void **)&items, &capitems, nitems + 1, sizeof *items) < 0 || scan_directive(q, e, ++event) < 0) {
                    rc = -1;
                    break;
                }
                if (!in_item)
                    items[nitems++] = (item){(size_t)(p - t), (size_t)(e - t) + (*e ? 1 : 0), -1, event, 1, 0, 0};
                p = *e ? e + 1 : e;
                continue;
            }
        }
        char c = *p;
        line_start = c == '\n';
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
            p++;
            continue;
        }
        if (!in_item) {
            in_item = 1;
            item_start = (size_t)(p - t);
            ntoks = 0;
            braces = parens = funcdef = first_brace_seen = had_directive = 0;
        }
        if (grow((void **)&toks, &captoks, ntoks + 1, sizeof *toks) < 0) {
            rc = -1;
            break;
        }
        tok *tk = &toks[ntoks++];
        if (is_ident_start((unsigned char)c)) {
            const char *b = p;
            while (is_ident((unsigned char)*p))
                p++;
            *tk = (tok){T_IDENT, 0, b, (size_t)(p - b)};
            continue;
        }
        if ((c >= '0' && c <= '9') || (c == '.' && p[1] >= '0' && p[1] <= '9')) {
            while (is_ident((unsigned char)*p) || *p == '.' ||
                   ((*p == '+' || *p == '-') && (p[-1] == 'e' || p[-1] == 'E' || p[-1] == 'p' || p[-1] == 'P')))
                p++;
            *tk = (tok){T_OTHER, 0, NULL, 0};
            continue;
        }
        if (c == '"' || c == '\'') {
            p = skip_literal(p);
            *tk = (tok){T_OTHER, 0, NULL, 0};
            continue;
        }
        *tk = (tok){T_PUNCT, c, NULL, 0};
        p++;
        int end = 0;
        if (c == '(')
            parens++;
        else if (c == ')')
            parens--;
        else if (c == '{') {
            if (braces == 0 && parens == 0 && !first_brace_seen) {
                first_brace_seen = 1;
                funcdef = ntoks >= 2 && toks[ntoks - 2].kind == T_PUNCT && toks[ntoks - 2].c == ')';
            }
            braces++;
        } else if (c == '}') {
            braces--;
            end = braces == 0 && parens == 0 && funcdef;
        } else if (c == ';') {
            end = braces == 0 && parens == 0;
        }
        if (braces < 0 || parens < 0) {
            rc = -1;
            break;
        }
        if (!end)
            continue;
        /* The item is complete: prototype or kept text. */
        int at = had_directive ? -1 : prototype_name(toks, (int)ntoks);
        int name = at >= 0 ? name_add(toks[at].s, toks[at].len) : -1;
        if (grow((void **)&items, &capitems, nitems + 1, sizeof *items) < 0) {
            rc = -1;
            break;
        }
        items[nitems++] = (item){item_start, (size_t)(p - t), name, event, 0, nroots, 0};
        for (size_t i = 0; i < ntoks && rc == 0; i++) {
            if (toks[i].kind != T_IDENT)
                continue;
            int id = name_add(toks[i].s, toks[i].len);
            if (id < 0 || grow((void **)&roots, &caproots, nroots + 1, sizeof *roots) < 0)
                rc = -1;
            else
                roots[nroots++] = id;
        }
        items[nitems - 1].nids = nroots - items[nitems - 1].ids;
        in_item = 0;
    }
    if (rc == 0 && in_item)
        rc = -1; /* text ends inside a declaration: do not guess */
    unsigned char *mark = NULL;
    int *stack = NULL;
    if (rc == 0) {
        mark = calloc(pr.nnames, 1);
        stack = malloc(pr.nnames * sizeof *stack);
        if (!mark || !stack)
            rc = -1;
    }
    if (rc == 0) {
        /* Everything but prototypes is kept: what it mentions is needed. */
        for (size_t i = 0; i < nitems; i++)
            if (items[i].name < 0)
                for (size_t j = 0; j < items[i].nids; j++)
                    reach(mark, roots[items[i].ids + j], stack);
        /* A prototype stays in the base when something needs it or a later #define
         * or #undef could change how its text reads at the end. */
        for (size_t i = 0; i < nitems; i++) {
            item *it = &items[i];
            if (it->name < 0)
                continue;
            int stay = mark[it->name];
            for (size_t j = 0; j < it->nids && !stay; j++)
                stay = pr.names[roots[it->ids + j]].last_event > it->event;
            if (stay)
                it->name = -1;
        }
    }
    size_t since_step = 0;
    for (size_t i = 0; rc == 0 && i < nitems; i++) {
        item *it = &items[i];
        if (it->name < 0 && since_step >= WARM_STEP_BYTES) {
            /* Where a warm state's parse may pause (warm.c); skipped by other units. */
            static const char step[] = "#ifdef CAIRN_WARM_STEP\n#warning cairn-warm-step\n#endif\n";
            rc = out_put(&base, step, sizeof step - 1);
            since_step = 0;
        }
        if (it->name < 0) {
            since_step += it->end - it->start;
            /* Line markers (`# 12 "/usr/include/stdio.h"`) cost tcc ~0.2 ms a unit and
             * only name files in diagnostics, which the prelude has none of. */
            const char *d = t + it->start;
            while (it->directive && (*d == ' ' || *d == '\t'))
                d++;
            if (it->directive && d[0] == '#' && d[1] == ' ' && d[2] >= '0' && d[2] <= '9')
                continue;
            rc = out_put(&base, t + it->start, it->end - it->start);
            if (rc == 0 && !it->directive)
                rc = out_put(&base, "\n", 1);
            continue;
        }
        if (grow((void **)&pr.protos, &pr.capprotos, pr.nprotos + 1, sizeof *pr.protos) < 0) {
            rc = -1;
            break;
        }
        char *text = malloc(it->end - it->start + 2);
        if (!text) {
            rc = -1;
            break;
        }
        memcpy(text, t + it->start, it->end - it->start);
        /* one line: newlines inside a prototype become spaces */
        for (size_t k = 0; k < it->end - it->start; k++)
            if (text[k] == '\n')
                text[k] = ' ';
        text[it->end - it->start] = '\n';
        text[it->end - it->start + 1] = '\0';
        pr.protos[pr.nprotos++] = (proto){it->name, text};
    }
    free(mark);
    free(stack);
    free(roots);
    free(items);
    free(toks);
    int fd = -1;
    if (rc == 0 && pr.nprotos > 0) {
        fd = memfd_create("cairn-prelude-base", 0); /* inherited by every cell process */
        if (fd < 0 || write(fd, base.p, base.len) != (ssize_t)base.len)
            rc = -1;
    }
    if (getenv("CAIRN_PRELUDE_DEBUG"))
        fprintf(stderr, "prelude: %zu names, %zu prunable prototypes, base %zu bytes (rc %d)\n", pr.nnames,
                pr.nprotos, base.len, rc);
    free(base.p);
    if (rc != 0 || pr.nprotos == 0) {
        if (fd >= 0)
            close(fd);
        prune_reset();
        return -1;
    }
    fd = guard_keep_fd(fd, "the prelude's memfd"); /* out of reach of cells' close() */
    snprintf(pr.include_line, sizeof pr.include_line, "#include \"/proc/self/fd/%d\"\n", fd);
    pr.fd = fd;
    pr.ready = 1;
    return 0;
}

/* Is the header a unit includes one of those flattened (so its guard makes it empty)? */
static int header_flattened(const char *name, size_t n)
{
    if (exec_g.ninclude > 0)
        return 0; /* %include directories could hold another header of that name */
    for (size_t i = 0; i < pr.nheaders; i++) {
        size_t hl = strlen(pr.headers[i]);
        if (hl == n ? memcmp(pr.headers[i], name, n) == 0
                    : hl > n && pr.headers[i][hl - n - 1] == '/' && memcmp(pr.headers[i] + hl - n, name, n) == 0)
            return 1;
    }
    return 0;
}

/* The unit for `rest` (a unit's text after its include line) with only the
 * prototypes it reaches, or NULL when the scan cannot vouch for it. */
static char *prune_rewrite(const char *rest, int with_base)
{
    unsigned char *mark = calloc(pr.nnames, 1);
    int *stack = malloc(pr.nnames * sizeof *stack);
    int ok = mark && stack;
    tok *ids = NULL; /* the unit's identifiers the prelude does not know */
    size_t nids = 0, capids = 0;
    int line_start = 1;
    for (const char *p = rest; ok && *p;) {
        char c = *p;
        if (c == '\n') {
            line_start = 1;
            p++;
            continue;
        }
        if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
            p++;
            continue;
        }
        if (c == '/' && p[1] == '/') {
            while (*p && *p != '\n')
                p += (*p == '\\' && p[1]) ? 2 : 1;
            continue;
        }
        if (c == '/' && p[1] == '*') {
            const char *e = strstr(p + 2, "*/");
            p = e ? e + 2 : p + strlen(p);
            continue;
        }
        int at_line_start = line_start;
        line_start = 0;
        if (c == '#' && at_line_start) {
            const char *q = p + 1;
            while (*q == ' ' || *q == '\t')
                q++;
            if (strncmp(q, "include", 7) == 0 || strncmp(q, "import", 6) == 0) {
                q += strncmp(q, "include_next", 12) == 0 ? 12 : 7;
                while (*q == ' ' || *q == '\t')
                    q++;
                char close = *q == '<' ? '>' : *q == '"' ? '"' : 0;
                const char *e = close ? strchr(q + 1, close) : NULL;
                const char *eol = strchr(q, '\n');
                ok = e && (!eol || e < eol) && strncmp(p + 1, "import", 6) != 0 &&
                     header_flattened(q + 1, (size_t)(e - q - 1));
                if (ok)
                    p = e + 1;
                continue;
            }
            p++;
            continue;
        }
        if ((c == '#' && p[1] == '#') || (c == '%' && p[1] == ':') || (c == '\\' && p[1] == '\n' && p > rest && is_ident((unsigned char)p[-1]))) {
            ok = 0; /* pasted or spliced names cannot be seen */
            break;
        }
        if (c == '"' || c == '\'') {
            p = skip_literal(p);
            continue;
        }
        if ((c >= '0' && c <= '9') || (c == '.' && p[1] >= '0' && p[1] <= '9')) {
            p++;
            while (is_ident((unsigned char)*p) || *p == '.' ||
                   ((*p == '+' || *p == '-') && (p[-1] == 'e' || p[-1] == 'E' || p[-1] == 'p' || p[-1] == 'P')))
                p++;
            continue;
        }
        if (is_ident_start((unsigned char)c)) {
            const char *b = p;
            while (is_ident((unsigned char)*p))
                p++;
            int k = name_find(b, (size_t)(p - b));
            if (k >= 0)
                reach(mark, k, stack);
            else if (grow((void **)&ids, &capids, nids + 1, sizeof *ids) < 0)
                ok = 0;
            else
                ids[nids++] = (tok){T_IDENT, 0, b, (size_t)(p - b)};
            continue;
        }
        p++;
    }
    outbuf o = {0};
    int pastes = 0;
    for (size_t i = 0; ok && i < pr.nnames && !pastes; i++)
        pastes = mark[i] && pr.names[i].pastes;
    /* A macro that pastes (`FUNC ## f` in isnan, __CONCAT(a, b)) makes names out of
     * identifiers the unit reaches: the first piece is one of them, so keep every
     * prototype whose name starts with an identifier reached or written in the unit. */
    size_t nset = 16;
    while (pastes && nset < 2 * nids)
        nset *= 2;
    int *set = ok && pastes ? calloc(nset, sizeof *set) : NULL;
    if (ok && pastes && !set)
        ok = 0;
    for (size_t i = 0; set && i < nids; i++) {
        size_t h = strmap_hash(ids[i].s, ids[i].len) & (nset - 1);
        while (set[h])
            h = (h + 1) & (nset - 1);
        set[h] = (int)i + 1;
    }
    if (ok && with_base)
        ok = out_put(&o, pr.include_line, strlen(pr.include_line)) == 0;
    for (size_t i = 0; ok && i < pr.nprotos; i++) {
        const pname *n = &pr.names[pr.protos[i].name];
        int keep = mark[pr.protos[i].name];
        for (size_t l = 1; set && !keep && l < n->len; l++) {
            int k = name_find(n->s, l);
            keep = k >= 0 && mark[k];
            for (size_t h = strmap_hash(n->s, l) & (nset - 1); !keep && set[h]; h = (h + 1) & (nset - 1))
                keep = ids[set[h] - 1].len == l && memcmp(ids[set[h] - 1].s, n->s, l) == 0;
        }
        if (keep)
            ok = out_put(&o, pr.protos[i].text, strlen(pr.protos[i].text)) == 0;
    }
    free(set);
    free(ids);
    if (ok)
        ok = out_put(&o, "#line 2\n", 8) == 0 && out_put(&o, rest, strlen(rest)) == 0;
    free(mark);
    free(stack);
    if (!ok) {
        free(o.p);
        return NULL;
    }
    return o.p;
}

/* The probe of flat_prelude_works() again, through pruning, plus a cell's worth of libc
 * and runtime calls reached only through macros. */
static int pruned_prelude_works(void)
{
    static const char unit[] =
        "#include \"cairn.h\"\n#include <stdio.h>\n#include <math.h>\n#include \"cairn/mat.h\"\n"
        "#ifndef CAIRN_H\n#error no guard\n#endif\n"
        "double cairn_prelude_check(void) { mat m = mat_zeros(1, 1); mat v = MAT(1, 2, 3.0, 4.0); "
        "int x1 = EOF; printf(\"%d\\n\", x1); fprintf(stderr, \"%g\", sqrt(2.0)); "
        "return M_PI + NAN + isnan(1.0) + m.rows + v.cols + (double)sizeof(FILE) + strtod(\"1\", NULL); }\n";
    char *src = prune_rewrite(unit + sizeof "#include \"cairn.h\"\n" - 1, 1);
    if (!src)
        return 0;
    TCCState *s = tcc_new();
    int ok = s != NULL;
    if (ok) {
        diagnostics_seen = 0;
        tcc_set_lib_path(s, CAIRN_TCC_LIB_DIR);
        tcc_set_error_func(s, NULL, count_diagnostic);
        tcc_set_output_type(s, TCC_OUTPUT_MEMORY);
        tcc_add_include_path(s, CAIRN_RUNTIME_INCLUDE_DIR);
        ok = tcc_compile_string(s, src) == 0 && diagnostics_seen == 0;
        tcc_delete(s);
    }
    free(src);
    return ok;
}

/* Called by an executor before it forks: finish the preparation once. */
void prelude_prepare(void)
{
    if (helper <= 0)
        return;
    int status = 0;
    pid_t w;
    while ((w = waitpid(helper, &status, 0)) < 0 && errno == EINTR)
        ;
    helper = 0;
    size_t len = 0;
    char *raw = (w > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0) ? read_all(raw_fd, &len) : NULL;
    close(raw_fd);
    raw_fd = -1;
    if (!raw)
        return;
    /* Drop the predefined macros: from the "<command line>" marker to the next marker. */
    char *cmd = strstr(raw, "\n# 1 \"<command line>\"");
    char *body = cmd ? strstr(cmd + 1, "\n# ") : NULL;
    if (!cmd || !body) {
        free(raw);
        return;
    }
    if (uses_named_variadics(raw)) {
        free(raw);
        return;
    }
    /* Everything before the command-line section, then the body with defines repaired. */
    outbuf o = {0};
    int ok = out_put(&o, raw, (size_t)(cmd - raw) + 1) == 0;
    for (const char *line = body + 1; ok && *line;) {
        const char *eol = strchr(line, '\n');
        size_t n = eol ? (size_t)(eol - line) + 1 : strlen(line);
        ok = (strncmp(line, "#define ", 8) == 0 ? repair_define(&o, line, n) : out_put(&o, line, n)) == 0;
        line += n;
    }
    free(raw);
    (void)len;
    int fd = ok ? memfd_create("cairn-prelude", 0) : -1; /* inherited by every cell process */
    if (fd < 0) {
        free(o.p);
        return;
    }
    ok = write(fd, o.p, o.len) == (ssize_t)o.len;
    if (ok)
        fd = guard_keep_fd(fd, "the prelude's memfd"); /* out of reach of cells' close() */
    snprintf(include_line, sizeof include_line, "#include \"/proc/self/fd/%d\"", fd);
    if (!ok || !flat_prelude_works()) {
        free(o.p);
        guard_forget_fd(fd);
        close(fd);
        include_line[0] = '\0';
        return;
    }
    flat_fd = fd;
    const char *env = getenv("CAIRN_PRUNE_PRELUDE");
    if (!(env && strcmp(env, "0") == 0) && prune_prepare(o.p, o.len) == 0 && !pruned_prelude_works()) {
        if (getenv("CAIRN_PRELUDE_DEBUG"))
            fprintf(stderr, "prelude: the pruned probe failed, pruning is off\n");
        prune_reset();
    }
    free(o.p);
}

static char *rewrite(const char *source, int prune)
{
    static const char plain[] = "#include \"cairn.h\"\n";
    if (flat_fd < 0 || exec_g.cflags || strncmp(source, plain, sizeof plain - 1) != 0)
        return NULL;
    if (pr.ready && prune) {
        char *pruned = prune_rewrite(source + sizeof plain - 1, 1);
        if (pruned)
            return pruned;
    }
    size_t il = strlen(include_line), sl = strlen(source);
    char *out = malloc(il + 1 + sl - (sizeof plain - 1) + 1);
    if (!out)
        return NULL;
    memcpy(out, include_line, il);
    out[il] = '\n';
    memcpy(out + il + 1, source + sizeof plain - 1, sl - (sizeof plain - 1) + 1);
    return out;
}

char *prelude_rewrite(const char *source)
{
    return rewrite(source, 1);
}

char *prelude_rewrite_whole(const char *source)
{
    return rewrite(source, 0);
}

/* What a compiler state that parses ahead of the cell (warm.c) reads first: the base
 * text (every directive and type, no prototype) when units are pruned, else the whole
 * flattened text (malloc'ed; NULL when units include cairn.h itself). The text itself,
 * not an #include of it: a parse paused in the middle of an included file would share
 * the file's read offset with every cell process that goes on with it. */
char *prelude_warm_text(void)
{
    if (flat_fd < 0)
        return NULL;
    size_t len = 0;
    char *text = read_all(pr.ready ? pr.fd : flat_fd, &len);
    static const char head[] = "#define CAIRN_WARM_STEP\n", foot[] = "\n#undef CAIRN_WARM_STEP\n";
    char *out = text ? malloc(sizeof head - 1 + len + sizeof foot) : NULL;
    if (out) {
        memcpy(out, head, sizeof head - 1);
        memcpy(out + sizeof head - 1, text, len);
        memcpy(out + sizeof head - 1 + len, foot, sizeof foot);
    }
    free(text);
    return out;
}

/* The rest of the unit `source` for a state that read prelude_warm_text(): the prototypes
 * it reaches (all of them when the scan cannot tell) and its text after the include line,
 * numbered from line 2. NULL when the unit does not start with the plain include. */
char *prelude_warm_tail(const char *source)
{
    static const char plain[] = "#include \"cairn.h\"\n";
    if (flat_fd < 0 || exec_g.cflags || strncmp(source, plain, sizeof plain - 1) != 0)
        return NULL;
    const char *rest = source + sizeof plain - 1;
    char *pruned = pr.ready ? prune_rewrite(rest, 0) : NULL;
    if (pruned)
        return pruned;
    outbuf o = {0};
    int ok = 1;
    for (size_t i = 0; ok && pr.ready && i < pr.nprotos; i++)
        ok = out_put(&o, pr.protos[i].text, strlen(pr.protos[i].text)) == 0;
    ok = ok && out_put(&o, "#line 2\n", 8) == 0 && out_put(&o, rest, strlen(rest) + 1) == 0;
    if (!ok) {
        free(o.p);
        return NULL;
    }
    return o.p;
}
