/* magic.c — the `%` lines at the top of a cell that the executor handles.
 *
 * Magics come before any C code (the cell splitter refuses them later). They are cut out
 * of the code and replaced by blanks, so the C below keeps its line and column numbers
 * in diagnostics. What they do (see protocol.md and `%magic`): %undo, %who, %whos,
 * %seed N, %time, %timeit, %cflags, %lib, %include, %threads, %env, %cd, %plot, %magic,
 * %cluster, %runs, %onnx, and the cell magic %%file. %runs and %onnx are C in disguise: the
 * line becomes the calls it stands for (track_runs_show(), onnx_info/onnx_import/onnx_reload/
 * onnx_export) in the cell, on the same line, so `%onnx load net f.onnx` defines a session
 * variable `net` as any top-level declaration does.
 *
 * Parsing is pure (unit-tested); the magics that change the executor (%lib, %include,
 * %threads, %env, %cd, %plot, %%file) run in the executor itself, in the order written,
 * before the cell process is forked: the next cell forks from that state, so what they
 * set persists without being replayed. %undo returns to the executor kept from before
 * the last cell that ran code: settings made before that cell stay, those made after
 * it go with it (the whole process state is what a snapshot is). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* dlinfo */
#endif
#include "exec_internal.h"

#include <ctype.h>
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cairn/dmat.h"
#include "cairn/error.h"
#include "cairn/plot.h"

extern char **environ;

/* %cluster runs in the executor, so the session's link to the MPI job belongs to a
 * process that outlives every cell (runtime/dmat/README.md). */
#define MAGIC_CLUSTER (MAGIC_HELP + 1)

/* Every magic with its usage and what it does: %magic prints this, an unknown magic
 * lists the names. The front handles %lsmagic, %history and %reset itself. */
static const struct magic_help {
    const char *name, *usage, *help;
} magic_table[] = {
    {"cd", "%cd [DIR]", "change the working directory of the session (no DIR: print it); relative paths in later cells start there"},
    {"cluster", "%cluster [start N [mpirun options] | stop]", "start or stop the session's MPI job of N worker ranks for dmat operations; no argument: ranks, hosts, memory per rank"},
    {"cflags", "%cflags [FLAGS|none]", "show or set extra compiler options for later cells, e.g. %cflags -DN=3 -Wall"},
    {"env", "%env [NAME[=VALUE]]", "list the environment, print NAME, or set NAME=VALUE (also %env NAME VALUE) for later cells"},
    {"history", "%history [-n]", "the inputs of earlier cells (-n: with their numbers)"},
    {"include", "%include [DIR]", "add DIR to the include path of later cells (no DIR: list the added ones)"},
    {"lib", "%lib [NAME|PATH]", "load a shared library (%lib z, %lib sqlite3, %lib /path/libfoo.so) so later cells can call it; no NAME: list"},
    {"lsmagic", "%lsmagic", "the list of magics"},
    {"magic", "%magic", "this help"},
    {"onnx", "%onnx info PATH | load NAME PATH | reload NAME PATH | export NAME PATH [version N]", "an ONNX file: list its inputs, outputs, operators and parameters; load it as the network NAME (and its metadata NAME_meta); swap in a newer version of it; or write the network NAME to PATH"},
    {"plot", "%plot [png|svg] [scale S]", "inline figure format (png default) and pixel scale (2 for HiDPI); no argument: show them; also %config InlineBackend.figure_format = 'svg'"},
    {"reset", "%reset", "a fresh, empty session (the executor is restarted)"},
    {"runs", "%runs [EXPERIMENT] [by METRIC [desc]]", "the runs of an experiment (default: the current one) as a table, best first by METRIC (desc: higher is better)"},
    {"seed", "%seed N", "seed the runtime's random generator (same seed, same numbers)"},
    {"threads", "%threads [N]", "number of BLAS (OpenBLAS) threads for later cells; no N: show it"},
    {"time", "%time [code]", "run the C code on its line and below once and print wall, cpu and compile time (%%time: the whole cell)"},
    {"timeit", "%timeit [-n LOOPS] [-r RUNS] [code]", "time the C code on its line and below: mean ± std. dev. per loop over RUNS runs of LOOPS loops (auto); what it defines is not kept (%%timeit: the whole cell)"},
    {"undo", "%undo", "back to the session as it was before the last cell (one level)"},
    {"who", "%who", "the session's variables and functions"},
    {"whos", "%whos", "the session's names with type, size, bytes and value"},
    {"%file", "%%file [-a] PATH", "(first line of a cell) write the rest of the cell to PATH instead of running it; -a appends"},
};
enum { NMAGICS = sizeof magic_table / sizeof magic_table[0] };

static const char *skip_space(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

/* Does the magic line `line` (after '%') name `word`? *args receives what follows. */
static int magic_is(const char *line, size_t len, const char *word, const char **args, size_t *arglen)
{
    size_t n = strlen(word);
    if (len < n || strncmp(line, word, n) != 0 || (len > n && !isspace((unsigned char)line[n])))
        return 0;
    const char *a = skip_space(line + n);
    const char *end = line + len;
    while (end > a && isspace((unsigned char)end[-1]))
        end--;
    *args = a;
    *arglen = (size_t)(end - a);
    return 1;
}

static void bad_magic(cell_magics *m, const char *fmt, const char *name, size_t len)
{
    if (!m->bad[0])
        snprintf(m->bad, sizeof m->bad, fmt, (int)len, name);
}

static void add_action(cell_magics *m, int kind, const char *args, size_t alen)
{
    if (m->nactions >= MAGIC_ACTIONS_MAX) {
        bad_magic(m, "too many magic lines in one cell%.*s", "", 0);
        return;
    }
    /* A path may be quoted, as in a shell: %cd "my data" */
    if ((kind == MAGIC_CD || kind == MAGIC_INCLUDE || kind == MAGIC_LIB) && alen >= 2 &&
        (args[0] == '"' || args[0] == '\'') && args[alen - 1] == args[0]) {
        args++;
        alen -= 2;
    }
    m->actions[m->nactions].kind = kind;
    m->actions[m->nactions].arg = strndup(args, alen);
    m->nactions++;
}

static void unknown_magic(cell_magics *m, const char *line, size_t llen)
{
    size_t w = 0;
    while (w < llen && !isspace((unsigned char)line[w]))
        w++;
    char known[320];
    size_t k = 0;
    for (int i = 0; i < NMAGICS && k + 24 < sizeof known; i++)
        k += (size_t)snprintf(known + k, sizeof known - k, "%s%%%s", i ? " " : "", magic_table[i].name);
    if (!m->bad[0])
        snprintf(m->bad, sizeof m->bad, "unknown magic %%%.*s; known magics: %s (%%magic explains them)",
                 (int)(w < 64 ? w : 64), line, known);
}

/* `%timeit [-n LOOPS] [-r RUNS] [code]`: the options, and the length of args they take
 * (what follows is code on the magic's own line, as in IPython's `%timeit f(x)`). */
static size_t parse_timeit(cell_magics *m, const char *args, size_t alen)
{
    size_t i = 0;
    while (i < alen && args[i] == '-' && i + 1 < alen && (args[i + 1] == 'n' || args[i + 1] == 'r') &&
           (i + 2 == alen || isspace((unsigned char)args[i + 2]))) {
        int *dst = args[i + 1] == 'n' ? &m->timeit_loops : &m->timeit_runs;
        i += 2;
        while (i < alen && isspace((unsigned char)args[i]))
            i++;
        char num[24];
        size_t k = 0;
        while (i < alen && isdigit((unsigned char)args[i]) && k + 1 < sizeof num)
            num[k++] = args[i++];
        num[k] = 0;
        long v = k ? strtol(num, NULL, 10) : 0;
        if (!k || (i < alen && !isspace((unsigned char)args[i])) || v < 1 || v > 100000000) {
            bad_magic(m, "%%timeit takes -n LOOPS and -r RUNS (positive integers), got '%.*s'", args, alen);
            return alen;
        }
        *dst = (int)v;
        while (i < alen && isspace((unsigned char)args[i]))
            i++;
    }
    if (i < alen && args[i] == '-' && i + 1 < alen && isalpha((unsigned char)args[i + 1]) &&
        (i + 2 == alen || isspace((unsigned char)args[i + 2])))
        bad_magic(m, "%%timeit takes -n LOOPS and -r RUNS (positive integers), got '%.*s'", args, alen);
    return i;
}

/* `%%file [-a] PATH` on the first line: the rest of the cell is the file's text. */
static int parse_file_magic(const char *code, cell_magics *m)
{
    const char *s = code;
    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
        s++;
    if (strncmp(s, "%%", 2) != 0)
        return 0;
    const char *eol = strchr(s, '\n');
    size_t len = eol ? (size_t)(eol - s) : strlen(s);
    const char *args;
    size_t alen;
    if (!magic_is(s + 2, len - 2, "file", &args, &alen) && !magic_is(s + 2, len - 2, "writefile", &args, &alen)) {
        size_t w = 0;
        while (w + 2 < len && !isspace((unsigned char)s[2 + w]))
            w++;
        snprintf(m->bad, sizeof m->bad, "unknown cell magic %%%%%.*s; the kernel knows %%%%file (and the line magics %%magic lists)",
                 (int)(w < 64 ? w : 64), s + 2);
        return 1;
    }
    if (alen >= 2 && strncmp(args, "-a", 2) == 0 && (alen == 2 || isspace((unsigned char)args[2]))) {
        m->file_append = 1;
        args = skip_space(args + 2);
        alen = len - (size_t)(args - s);
        while (alen > 0 && isspace((unsigned char)args[alen - 1]))
            alen--;
    }
    if (alen == 0) {
        snprintf(m->bad, sizeof m->bad, "%%%%file needs a path: %%%%file [-a] PATH, then the text on the next lines");
        return 1;
    }
    if (alen >= 2 && (args[0] == '"' || args[0] == '\'') && args[alen - 1] == args[0]) {
        args++;
        alen -= 2;
    }
    m->file_path = strndup(args, alen);
    m->file_body = strdup(eol ? eol + 1 : "");
    return 1;
}

/* src as a C string literal (quotes and backslashes escaped) into out; "0" when empty and
 * null_if_empty. */
static void c_literal(const char *src, int null_if_empty, char *out, size_t size)
{
    size_t o = 0;
    if (!src[0] && null_if_empty) {
        snprintf(out, size, "0");
        return;
    }
    out[o++] = '"';
    for (const char *c = src; *c && o + 4 < size; c++) {
        if (*c == '"' || *c == '\\')
            out[o++] = '\\';
        out[o++] = *c;
    }
    out[o++] = '"';
    out[o] = '\0';
}

/* the next word of [*p, end) into out (a quoted one may hold spaces); 0 when none is left */
static int next_word(const char **p, const char *end, char *out, size_t size)
{
    const char *s = *p;
    while (s < end && (*s == ' ' || *s == '\t'))
        s++;
    if (s == end)
        return 0;
    const char *w = s, *e;
    if ((*s == '"' || *s == '\'') && (e = memchr(s + 1, *s, (size_t)(end - s - 1))) != NULL) {
        w = s + 1;
        *p = e + 1;
    } else {
        e = s;
        while (e < end && *e != ' ' && *e != '\t')
            e++;
        *p = e;
    }
    snprintf(out, size, "%.*s", (int)(e - w), w);
    return 1;
}

static int is_identifier(const char *s)
{
    if (!(isalpha((unsigned char)s[0]) || s[0] == '_') || strlen(s) > 100)
        return 0;
    for (const char *c = s; *c; c++)
        if (!isalnum((unsigned char)*c) && *c != '_')
            return 0;
    return 1;
}

/* `%onnx info PATH | load NAME PATH | reload NAME PATH | export NAME PATH [version N]` as the
 * C it stands for: load declares NAME (nn_model *) and NAME_meta (onnx_meta) at top level, so
 * both are session variables; reload and export use them. */
static void onnx_call(cell_magics *m, const char *args, size_t alen, char *out, size_t size)
{
    static const char *usage = "%%onnx info PATH | load NAME PATH | reload NAME PATH | export NAME PATH [version N]%.*s";
    const char *p = args, *end = args + alen;
    char verb[16] = "", name[128] = "", path[600] = "", word[64] = "", num[32] = "", lit[1300];
    if (!next_word(&p, end, verb, sizeof verb)) {
        bad_magic(m, usage, "", 0);
        return;
    }
    int info = !strcmp(verb, "info"), load = !strcmp(verb, "load"), reload = !strcmp(verb, "reload"),
        export = !strcmp(verb, "export");
    if (!info && !load && !reload && !export) {
        bad_magic(m, "%%onnx: unknown action '%.*s'; use info PATH, load NAME PATH, reload NAME PATH or export NAME PATH [version N]",
                  verb, strlen(verb));
        return;
    }
    if (!info && (!next_word(&p, end, name, sizeof name) || !is_identifier(name))) {
        bad_magic(m, "%%onnx %.*s needs the C name of the network first, e.g. %%onnx load net model.onnx", verb, strlen(verb));
        return;
    }
    if (!next_word(&p, end, path, sizeof path)) {
        bad_magic(m, "%%onnx %.*s needs the path of an .onnx file", verb, strlen(verb));
        return;
    }
    long long version = 1;
    if (export && next_word(&p, end, word, sizeof word)) {
        char *e;
        if (strcmp(word, "version") || !next_word(&p, end, num, sizeof num) || (version = strtoll(num, &e, 10)) < 1 || *e) {
            bad_magic(m, "%%onnx export: after the path only 'version N' (N >= 1) may follow%.*s", "", 0);
            return;
        }
    }
    if (next_word(&p, end, word, sizeof word)) {
        bad_magic(m, "%%onnx: unexpected '%.*s' at the end (quote a path that holds spaces)", word, strlen(word));
        return;
    }
    c_literal(path, 0, lit, sizeof lit);
    if (info)
        snprintf(out, size, "onnx_info(%s);", lit);
    else if (load)
        snprintf(out, size,
                 "onnx_meta %s_meta; nn_model *%s = onnx_import(%s, &%s_meta); "
                 "printf(\"%%s: %%s, model version %%lld, %%d layers, %%ld parameters\\n\", \"%s\", %s, "
                 "(long long)%s_meta.version, nn_layer_count(%s), nn_param_count(%s));",
                 name, name, lit, name, name, lit, name, name, name);
    else if (reload)
        snprintf(out, size, "onnx_reload(&%s, &%s_meta, %s);", name, name, lit);
    else
        snprintf(out, size,
                 "{ onnx_meta onnx_magic_meta = onnx_meta_defaults(); onnx_magic_meta.version = %lld; "
                 "snprintf(onnx_magic_meta.name, sizeof onnx_magic_meta.name, \"%s\"); "
                 "if (!onnx_export(%s, %s, onnx_magic_meta)) printf(\"%s written to %%s (model version %lld)\\n\", %s); }",
                 version, name, name, lit, name, version, lit);
}

/* `%runs [EXPERIMENT] [by METRIC [desc|asc]]` as the C statement it stands for. */
static void runs_call(cell_magics *m, const char *args, size_t alen, char *out, size_t size)
{
    char exp[256] = "", order[256] = "";
    const char *by = NULL;
    for (size_t i = 0; i + 2 <= alen; i++)
        if ((i == 0 || args[i - 1] == ' ') && strncmp(args + i, "by", 2) == 0 && (i + 2 == alen || args[i + 2] == ' ')) {
            by = args + i;
            break;
        }
    size_t elen = by ? (size_t)(by - args) : alen;
    while (elen > 0 && args[elen - 1] == ' ')
        elen--;
    if (elen >= 2 && (args[0] == '"' || args[0] == '\'') && args[elen - 1] == args[0]) {
        args++;
        elen -= 2;
    }
    snprintf(exp, sizeof exp, "%.*s", (int)elen, args);
    if (by)
        snprintf(order, sizeof order, "%.*s", (int)(alen - (size_t)(by + 2 - args)), skip_space(by + 2));
    if (by && !order[0]) {
        bad_magic(m, "%%runs: 'by' needs a metric, e.g. %%runs by loss or %%runs my-exp by acc desc%.*s", "", 0);
        return;
    }
    char lit[2][600];
    c_literal(exp, 1, lit[0], sizeof lit[0]);
    c_literal(order, 1, lit[1], sizeof lit[1]);
    snprintf(out, size, "track_runs_show(%s, %s);", lit[0], lit[1]);
}

int magics_parse(const char *code, cell_magics *m)
{
    struct { /* magic lines that stand for C: the text goes where the line was */
        size_t at;
        char text[2600];
    } *cl = NULL;
    int ncl = 0, nruns = 0;
    memset(m, 0, sizeof *m);
    size_t total = strlen(code);
    m->code = malloc(total + 1);
    if (!m->code)
        return -1;
    memcpy(m->code, code, total + 1);
    /* `%%time` / `%%timeit [-n N] [-r R]` on the first line: the line magic over the
     * rest of the cell (which is what the line forms time here too). */
    char *first = m->code + strspn(m->code, " \t\r\n");
    if (strncmp(first, "%%time", 6) == 0 &&
        (isspace((unsigned char)first[6]) || !first[6] ||
         (strncmp(first + 6, "it", 2) == 0 && (isspace((unsigned char)first[8]) || !first[8])))) {
        *first = ' ';
        code = m->code;
    }
    if (parse_file_magic(code, m)) {
        memset(m->code, ' ', total); /* nothing of a %%file cell runs */
        return 0;
    }
    char *p = m->code;
    int in_magics = 1;
    while (*p) {
        char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        const char *s = skip_space(p);
        size_t slen = len - (size_t)(s - p);
        if (in_magics && slen > 0 && *s == '%') {
            const char *line = s + 1, *args;
            size_t llen = slen - 1, alen;
            if (llen > 0 && line[0] == '%')
                bad_magic(m, "a cell magic (%%%.*s) must be the first line of its cell", line, strcspn(line, " \t\r"));
            else if (magic_is(line, llen, "undo", &args, &alen) && alen == 0)
                m->undo = 1;
            else if (magic_is(line, llen, "whos", &args, &alen) && alen == 0)
                m->whos = 1;
            else if (magic_is(line, llen, "who", &args, &alen) && alen == 0)
                m->who = 1;
            else if (magic_is(line, llen, "timeit", &args, &alen) || magic_is(line, llen, "time", &args, &alen)) {
                int timeit = line[4] == 'i';
                size_t opts = timeit ? parse_timeit(m, args, alen) : 0;
                *(timeit ? &m->timeit : &m->time) = 1;
                if (opts < alen) {
                    /* `%time stmt;` / `%timeit -n 10 f(x);`: the rest of the line is code,
                     * timed with the lines below it. */
                    memset(p, ' ', (size_t)(args + opts - p));
                    in_magics = 0;
                    m->has_code = 1;
                    if (!eol)
                        break;
                    p = eol + 1;
                    continue;
                }
            } else if (magic_is(line, llen, "seed", &args, &alen)) {
                char num[32];
                char *end;
                snprintf(num, sizeof num, "%.*s", (int)(alen < 31 ? alen : 31), args);
                errno = 0;
                unsigned long long v = strtoull(num, &end, 0);
                if (alen == 0 || *end || errno || num[0] == '-')
                    bad_magic(m, "%%seed needs a non-negative integer, e.g. %%seed 42 (got '%.*s')", args, alen);
                m->seed_set = 1;
                m->seed = v;
            } else if (magic_is(line, llen, "cflags", &args, &alen)) {
                if (alen == 0) {
                    m->cflags_show = 1;
                } else {
                    free(m->cflags);
                    m->cflags = strndup(args, alen);
                }
            } else if (magic_is(line, llen, "lib", &args, &alen))
                add_action(m, MAGIC_LIB, args, alen);
            else if (magic_is(line, llen, "include", &args, &alen))
                add_action(m, MAGIC_INCLUDE, args, alen);
            else if (magic_is(line, llen, "threads", &args, &alen))
                add_action(m, MAGIC_THREADS, args, alen);
            else if (magic_is(line, llen, "env", &args, &alen) || magic_is(line, llen, "set_env", &args, &alen))
                add_action(m, MAGIC_ENV, args, alen);
            else if (magic_is(line, llen, "cd", &args, &alen))
                add_action(m, MAGIC_CD, args, alen);
            else if (magic_is(line, llen, "plot", &args, &alen) || magic_is(line, llen, "config", &args, &alen))
                add_action(m, MAGIC_PLOT, args, alen);
            else if (magic_is(line, llen, "cluster", &args, &alen))
                add_action(m, MAGIC_CLUSTER, args, alen);
            else if (magic_is(line, llen, "magic", &args, &alen))
                add_action(m, MAGIC_HELP, args, alen);
            else if (magic_is(line, llen, "runs", &args, &alen) || magic_is(line, llen, "onnx", &args, &alen)) {
                int runs = line[0] == 'r';
                void *grown = ncl < MAGIC_ACTIONS_MAX ? realloc(cl, (size_t)(ncl + 1) * sizeof *cl) : NULL;
                if (runs && nruns++)
                    bad_magic(m, "one %%runs per cell%.*s", "", 0);
                else if (!grown)
                    bad_magic(m, "too many magic lines in one cell%.*s", "", 0);
                else {
                    cl = grown;
                    cl[ncl].at = (size_t)(p - m->code);
                    cl[ncl].text[0] = '\0';
                    (runs ? runs_call : onnx_call)(m, args, alen, cl[ncl].text, sizeof cl[ncl].text);
                    ncl++;
                }
            }
            else if (magic_is(line, llen, "lsmagic", &args, &alen) || magic_is(line, llen, "history", &args, &alen) ||
                     magic_is(line, llen, "reset", &args, &alen))
                bad_magic(m, "%%%.*s must be alone in its cell", line, strcspn(line, " \t\r"));
            else
                unknown_magic(m, line, llen);
            memset(p, ' ', len); /* keep the line, drop the magic */
        } else if (slen > 0 && !(slen == 1 && *s == '\r')) {
            in_magics = 0;
            m->has_code = 1;
        }
        if (!eol)
            break;
        p = eol + 1;
    }
    for (int i = ncl - 1; i >= 0 && !m->bad[0]; i--) { /* the line (now blanks) holds its C: same line numbers below */
        size_t rl = strlen(cl[i].text), total_now = strlen(m->code), at = cl[i].at;
        char *grown = malloc(total_now + rl + 1);
        if (!grown) {
            free(cl);
            return -1;
        }
        memcpy(grown, m->code, at);
        memcpy(grown + at, cl[i].text, rl);
        memcpy(grown + at + rl, m->code + at, total_now - at + 1);
        free(m->code);
        m->code = grown;
        m->has_code = 1;
    }
    free(cl);
    if (m->undo && (m->has_code || m->who || m->whos || m->time || m->timeit || m->seed_set || m->nactions))
        bad_magic(m, "%%undo must be alone in its cell%.*s", "", 0);
    if (m->time && m->timeit)
        bad_magic(m, "use %%time or %%timeit, not both%.*s", "", 0);
    if ((m->time || m->timeit) && !m->has_code)
        bad_magic(m, "%%%.*s needs C code to time, on its line or below it", m->timeit ? "timeit" : "time",
                  m->timeit ? 6 : 4);
    return 0;
}

void magics_free(cell_magics *m)
{
    free(m->code);
    free(m->cflags);
    free(m->file_path);
    free(m->file_body);
    for (int i = 0; i < m->nactions; i++)
        free(m->actions[i].arg);
    memset(m, 0, sizeof *m);
}

/* ---- the magics that change the executor ---- */

static int list_add(char ***items, size_t *n, const char *s)
{
    char **grown = realloc(*items, (*n + 1) * sizeof **items);
    if (!grown)
        return -1;
    *items = grown;
    grown[*n] = strdup(s);
    if (!grown[*n])
        return -1;
    (*n)++;
    return 0;
}

/* The file a dlopen handle came from (the path the loader resolved). */
static void handle_path(void *h, char *buf, size_t size)
{
    struct link_map *lm = NULL;
    if (dlinfo(h, RTLD_DI_LINKMAP, &lm) == 0 && lm && lm->l_name && lm->l_name[0])
        snprintf(buf, size, "%s", lm->l_name);
    else
        snprintf(buf, size, "(unknown path)");
}

/* libNAME.so.N in dir: the shortest such name is the soname link (libzstd.so.1). */
static int find_versioned(const char *dir, const char *base, char *out, size_t size)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    size_t blen = strlen(base);
    size_t best = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len > blen + 1 && strncmp(e->d_name, base, blen) == 0 && e->d_name[blen] == '.' &&
            isdigit((unsigned char)e->d_name[blen + 1]) && (!best || len < best)) {
            best = len;
            snprintf(out, size, "%s/%s", dir, e->d_name);
        }
    }
    closedir(d);
    return best > 0;
}

static int magic_lib(const char *arg, char *err, size_t errsize)
{
    if (!*arg) {
        if (!exec_g.nlibs)
            printf("lib: no libraries loaded with %%lib\n");
        for (size_t i = 0; i < exec_g.nlibs; i++)
            printf("lib: %s\n", exec_g.libs[i]);
        return 0;
    }
    char tried[1536] = "";
    size_t tl = 0;
    void *h = NULL;
    char path[PATH_MAX];
    if (strchr(arg, '/')) {
        h = dlopen(arg, RTLD_NOW | RTLD_GLOBAL);
        if (!h) {
            snprintf(err, errsize, "%%lib %s: %s", arg, dlerror());
            return -1;
        }
    } else {
        char base[256];
        if (strncmp(arg, "lib", 3) == 0 && strstr(arg, ".so"))
            snprintf(base, sizeof base, "%s", arg);
        else
            snprintf(base, sizeof base, "lib%s.so", arg);
        /* The loader's own search: LD_LIBRARY_PATH, the ld.so cache, the default dirs. */
        h = dlopen(base, RTLD_NOW | RTLD_GLOBAL);
        tl += (size_t)snprintf(tried + tl, sizeof tried - tl, "%s (LD_LIBRARY_PATH, ld.so.cache, /lib, /usr/lib)", base);
        if (!h && !strstr(base, ".so.")) {
            /* Without the -dev package there is no libNAME.so link, only libNAME.so.N. */
            const char *dirs[16];
            int nd = 0;
            char ldpath[1024];
            snprintf(ldpath, sizeof ldpath, "%s", getenv("LD_LIBRARY_PATH") ? getenv("LD_LIBRARY_PATH") : "");
            char *save = NULL;
            for (char *d = strtok_r(ldpath, ":", &save); d && nd < 8; d = strtok_r(NULL, ":", &save))
                dirs[nd++] = d;
            static const char *const std_dirs[] = {"/usr/local/lib", "/usr/local/lib/x86_64-linux-gnu",
                                                   "/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu",
                                                   "/usr/lib", "/lib", "/usr/lib64", "/lib64"};
            for (size_t i = 0; i < sizeof std_dirs / sizeof std_dirs[0]; i++)
                dirs[nd++] = std_dirs[i];
            for (int i = 0; i < nd && !h; i++) {
                if (tl < sizeof tried)
                    tl += (size_t)snprintf(tried + tl, sizeof tried - tl, ", %s/%s.N", dirs[i], base);
                if (find_versioned(dirs[i], base, path, sizeof path))
                    h = dlopen(path, RTLD_NOW | RTLD_GLOBAL);
            }
        }
        if (!h) {
            snprintf(err, errsize, "%%lib %s: library not found; tried %s", arg, tried);
            return -1;
        }
    }
    handle_path(h, path, sizeof path);
    /* Loaded twice is loaded once (dlopen counts references); list it once. */
    for (size_t i = 0; i < exec_g.nlibs; i++)
        if (strcmp(exec_g.libs[i], path) == 0) {
            printf("lib: %s (already loaded)\n", path);
            return 0;
        }
    list_add(&exec_g.libs, &exec_g.nlibs, path);
    printf("lib: loaded %s\n", path);
    return 0;
}

static int magic_include(const char *arg, char *err, size_t errsize)
{
    if (!*arg) {
        if (!exec_g.ninclude)
            printf("include: no directories added with %%include\n");
        for (size_t i = 0; i < exec_g.ninclude; i++)
            printf("include: %s\n", exec_g.include_dirs[i]);
        return 0;
    }
    char full[PATH_MAX];
    struct stat st;
    if (!realpath(arg, full) || stat(full, &st) != 0 || !S_ISDIR(st.st_mode)) {
        snprintf(err, errsize, "%%include %s: not a directory (%s)", arg, errno ? strerror(errno) : "not a directory");
        return -1;
    }
    for (size_t i = 0; i < exec_g.ninclude; i++)
        if (strcmp(exec_g.include_dirs[i], full) == 0) {
            printf("include: %s (already on the path)\n", full);
            return 0;
        }
    list_add(&exec_g.include_dirs, &exec_g.ninclude, full);
    printf("include: %s\n", full);
    return 0;
}

static int magic_threads(const char *arg, char *err, size_t errsize)
{
    /* Through dlsym, so no OpenBLAS header is needed here (and a BLAS without these
     * functions gives a clear message instead of a link error). */
    int (*get)(void) = (int (*)(void))dlsym(RTLD_DEFAULT, "openblas_get_num_threads");
    void (*set)(int) = (void (*)(int))dlsym(RTLD_DEFAULT, "openblas_set_num_threads");
    if (!get || !set) {
        snprintf(err, errsize, "%%threads: the BLAS library has no openblas_set_num_threads (not OpenBLAS?)");
        return -1;
    }
    if (*arg) {
        char *end;
        long n = strtol(arg, &end, 10);
        if (*end || n < 1 || n > 1024) {
            snprintf(err, errsize, "%%threads needs a thread count from 1 to 1024, e.g. %%threads 2 (got '%s')", arg);
            return -2;
        }
        set((int)n);
    }
    printf("threads: %d (BLAS)\n", get());
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int magic_env(const char *arg, char *err, size_t errsize)
{
    if (!*arg) {
        size_t n = 0;
        while (environ[n])
            n++;
        char **sorted = malloc((n ? n : 1) * sizeof *sorted);
        if (!sorted)
            return -1;
        memcpy(sorted, environ, n * sizeof *sorted);
        qsort(sorted, n, sizeof *sorted, cmp_str);
        for (size_t i = 0; i < n; i++)
            printf("%s\n", sorted[i]);
        free(sorted);
        return 0;
    }
    size_t nl = strcspn(arg, "= \t");
    char name[256];
    if (nl == 0 || nl >= sizeof name) {
        snprintf(err, errsize, "%%env: bad variable name in '%s' (use %%env NAME=VALUE)", arg);
        return -2;
    }
    memcpy(name, arg, nl);
    name[nl] = '\0';
    const char *rest = arg + nl;
    if (*rest == '\0') {
        const char *v = getenv(name);
        if (!v) {
            snprintf(err, errsize, "%%env: %s is not set", name);
            return -3;
        }
        printf("%s\n", v);
        return 0;
    }
    const char *value = *rest == '=' ? rest + 1 : skip_space(rest);
    if (setenv(name, value, 1) != 0) {
        snprintf(err, errsize, "%%env: cannot set %s: %s", name, strerror(errno));
        return -1;
    }
    printf("env: %s=%s\n", name, value);
    return 0;
}

static int magic_cd(const char *arg, char *err, size_t errsize)
{
    char dir[PATH_MAX];
    if (!*arg) {
        if (getcwd(dir, sizeof dir))
            printf("%s\n", dir);
        return 0;
    }
    const char *target = arg;
    char expanded[PATH_MAX];
    if (arg[0] == '~' && (arg[1] == '\0' || arg[1] == '/') && getenv("HOME")) {
        snprintf(expanded, sizeof expanded, "%s%s", getenv("HOME"), arg + 1);
        target = expanded;
    }
    if (chdir(target) != 0) {
        snprintf(err, errsize, "%%cd %s: %s", arg, strerror(errno));
        return -1;
    }
    if (getcwd(dir, sizeof dir))
        printf("%s\n", dir);
    return 0;
}

static int magic_plot(const char *arg, char *err, size_t errsize)
{
    char buf[128];
    /* IPython's spelling: %config InlineBackend.figure_format = 'svg' */
    const char *ff = strstr(arg, "figure_format");
    if (ff) {
        ff += strlen("figure_format");
        ff += strspn(ff, " \t=\"'");
        arg = strncmp(ff, "svg", 3) == 0 ? "svg" : strncmp(ff, "png", 3) == 0 ? "png" : ff;
    }
    snprintf(buf, sizeof buf, "%s", arg);
    char *save = NULL;
    for (char *tok = strtok_r(buf, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
        if (strcmp(tok, "png") == 0 || strcmp(tok, "svg") == 0) {
            plot_set_format(tok);
            snprintf(exec_g.plot_format, sizeof exec_g.plot_format, "%s", tok);
        } else if (strcmp(tok, "scale") == 0) {
            char *val = strtok_r(NULL, " \t", &save), *end = NULL;
            double s = val ? strtod(val, &end) : 0;
            if (!val || *end || !(s >= 0.25 && s <= 8)) {
                snprintf(err, errsize, "%%plot scale needs a number from 0.25 to 8, e.g. %%plot scale 2");
                return -2;
            }
            plot_set_scale(s);
            exec_g.plot_scale = s;
        } else {
            snprintf(err, errsize, "%%plot takes png, svg and/or scale S (got '%s')", tok);
            return -2;
        }
    }
    printf("plot: format %s, scale %g\n", exec_g.plot_format[0] ? exec_g.plot_format : "png",
           exec_g.plot_scale > 0 ? exec_g.plot_scale : 1.0);
    return 0;
}

static int magic_cluster(const char *arg, char *err, size_t errsize)
{
    int rc = 0;
    if (!*arg) {
        dmat_cluster_show();
        return 0;
    }
    if (strcmp(arg, "stop") == 0) {
        rc = dmat_cluster_stop();
        if (rc == 0)
            printf("cluster stopped\n");
    } else if (strncmp(arg, "start", 5) == 0 && (arg[5] == ' ' || arg[5] == '\t')) {
        char *end;
        long n = strtol(arg + 6, &end, 10);
        if (end == arg + 6 || n < 1 || n > 4096 || (*end && !isspace((unsigned char)*end))) {
            snprintf(err, errsize, "%%cluster start needs a number of ranks, e.g. %%cluster start 4");
            return -2;
        }
        cairn_clear_error();
        rc = dmat_cluster_start_with((int)n, *end ? end : NULL);
        if (rc == 0)
            dmat_cluster_show();
    } else {
        snprintf(err, errsize, "%%cluster takes start N [mpirun options], stop, or nothing (got '%s')", arg);
        return -2;
    }
    if (rc < 0) {
        snprintf(err, errsize, "%s", cairn_last_error());
        return -1;
    }
    return 0;
}

static void magic_help(void)
{
    printf("Magics: lines starting with %% at the top of a cell, before any C code.\n\n");
    for (int i = 0; i < NMAGICS; i++)
        printf("  %-30s %s\n", magic_table[i].usage, magic_table[i].help);
    printf("\nThe settings (%%cd, %%env, %%lib, %%include, %%threads, %%plot, %%cflags) last for the rest of\n"
           "the session. %%undo returns to the state before the last cell that ran code, so settings\n"
           "made after that cell are undone with it.\n");
}

int magics_run_action(const magic_action *a, char *err, size_t errsize)
{
    switch (a->kind) {
    case MAGIC_LIB: return magic_lib(a->arg, err, errsize);
    case MAGIC_INCLUDE: return magic_include(a->arg, err, errsize);
    case MAGIC_THREADS: return magic_threads(a->arg, err, errsize);
    case MAGIC_ENV: return magic_env(a->arg, err, errsize);
    case MAGIC_CD: return magic_cd(a->arg, err, errsize);
    case MAGIC_PLOT: return magic_plot(a->arg, err, errsize);
    case MAGIC_HELP: magic_help(); return 0;
    case MAGIC_CLUSTER: return magic_cluster(a->arg, err, errsize);
    default: snprintf(err, errsize, "unknown magic action %d", a->kind); return -2;
    }
}

int magics_write_file(const cell_magics *m, char *err, size_t errsize)
{
    struct stat st;
    int existed = stat(m->file_path, &st) == 0;
    FILE *f = fopen(m->file_path, m->file_append ? "a" : "w");
    if (!f) {
        snprintf(err, errsize, "%%%%file %s: %s", m->file_path, strerror(errno));
        return -1;
    }
    size_t n = strlen(m->file_body);
    int ok = fwrite(m->file_body, 1, n, f) == n;
    /* A cell's last line has no newline; the file should end with one, as an editor's. */
    if (ok && n > 0 && m->file_body[n - 1] != '\n')
        ok = fputc('\n', f) != EOF;
    if (fclose(f) != 0)
        ok = 0;
    if (!ok) {
        snprintf(err, errsize, "%%%%file %s: write failed: %s", m->file_path, strerror(errno));
        return -1;
    }
    printf("%s %s\n", m->file_append ? "Appending to" : existed ? "Overwriting" : "Writing", m->file_path);
    return 0;
}
