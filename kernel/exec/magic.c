/* magic.c — the `%` lines at the top of a cell that the executor handles.
 *
 * Magics come before any C code (the cell splitter refuses them later). They are cut out
 * of the code and replaced by empty lines, so the C below keeps its line numbers in
 * diagnostics. What they do (see protocol.md): %undo, %who, %whos, %seed N, %time,
 * %timeit, %cflags [flags]. */
#include "exec_internal.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int magics_parse(const char *code, cell_magics *m)
{
    memset(m, 0, sizeof *m);
    size_t total = strlen(code);
    m->code = malloc(total + 1);
    if (!m->code)
        return -1;
    memcpy(m->code, code, total + 1);
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
            if (magic_is(line, llen, "undo", &args, &alen) && alen == 0)
                m->undo = 1;
            else if (magic_is(line, llen, "whos", &args, &alen) && alen == 0)
                m->whos = 1;
            else if (magic_is(line, llen, "who", &args, &alen) && alen == 0)
                m->who = 1;
            else if (magic_is(line, llen, "timeit", &args, &alen) && alen == 0)
                m->timeit = 1;
            else if (magic_is(line, llen, "time", &args, &alen) && alen == 0)
                m->time = 1;
            else if (magic_is(line, llen, "seed", &args, &alen)) {
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
            } else {
                size_t w = 0;
                while (w < llen && !isspace((unsigned char)line[w]))
                    w++;
                bad_magic(m, "unknown magic %%%.*s (the kernel knows %%undo %%who %%whos %%seed %%time %%timeit "
                             "%%cflags %%lsmagic %%history %%reset)", line, w);
            }
            memset(p, ' ', len); /* keep the line, drop the magic */
        } else if (slen > 0) {
            in_magics = 0;
            m->has_code = 1;
        }
        if (!eol)
            break;
        p = eol + 1;
    }
    if (m->undo && (m->has_code || m->who || m->whos || m->time || m->timeit || m->seed_set))
        bad_magic(m, "%%undo must be alone in its cell%.*s", "", 0);
    if (m->time && m->timeit)
        bad_magic(m, "use %%time or %%timeit, not both%.*s", "", 0);
    return 0;
}

void magics_free(cell_magics *m)
{
    free(m->code);
    free(m->cflags);
    memset(m, 0, sizeof *m);
}
