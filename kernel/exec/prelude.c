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
 * CAIRN_FLAT_PRELUDE=0 turns it off. */
#include "exec_internal.h"

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
             "return M_PI + NAN + m.rows + v.cols + (double)sizeof(FILE); }\n",
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
    free(o.p);
    snprintf(include_line, sizeof include_line, "#include \"/proc/self/fd/%d\"", fd);
    if (!ok || !flat_prelude_works()) {
        close(fd);
        include_line[0] = '\0';
        return;
    }
    flat_fd = fd;
}

char *prelude_rewrite(const char *source)
{
    static const char plain[] = "#include \"cairn.h\"\n";
    if (flat_fd < 0 || exec_g.cflags || strncmp(source, plain, sizeof plain - 1) != 0)
        return NULL;
    size_t il = strlen(include_line), sl = strlen(source);
    char *out = malloc(il + 1 + sl - (sizeof plain - 1) + 1);
    if (!out)
        return NULL;
    memcpy(out, include_line, il);
    out[il] = '\n';
    memcpy(out + il + 1, source + sizeof plain - 1, sl - (sizeof plain - 1) + 1);
    return out;
}
