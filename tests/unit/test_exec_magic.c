/* test_exec_magic.c — the executor's magic-line parser (kernel/exec/magic.c).
 * Magics are cut out of the cell and replaced by blanks, so the C code below keeps its
 * line and column numbers; malformed or misplaced magics become a UsageError text. */
#include <string.h>

#include "check.h"
#include "exec/exec_internal.h"

/* The code keeps every newline where it was. */
static int same_lines(const char *a, const char *b)
{
    if (strlen(a) != strlen(b))
        return 0;
    for (size_t i = 0; a[i]; i++)
        if ((a[i] == '\n') != (b[i] == '\n'))
            return 0;
    return 1;
}

int main(void)
{
    cell_magics m;

    CHECK(magics_parse("%undo", &m) == 0);
    CHECK(m.undo == 1 && !m.has_code && m.bad[0] == '\0');
    magics_free(&m);

    const char *timed = "%time\nint x = 1;\n";
    magics_parse(timed, &m);
    CHECK(m.time == 1 && m.timeit == 0 && m.has_code && !m.bad[0]);
    CHECK(same_lines(m.code, timed));
    CHECK(strncmp(m.code + 6, "int x = 1;", 10) == 0); /* line 2 untouched */
    CHECK(strspn(m.code, " ") == 5);                    /* line 1 blanked */
    magics_free(&m);

    magics_parse("%timeit\nf();", &m);
    CHECK(m.timeit == 1 && m.time == 0 && m.has_code);
    magics_free(&m);

    magics_parse("  %whos  \n\n", &m);
    CHECK(m.whos == 1 && m.who == 0 && !m.has_code && !m.bad[0]);
    magics_free(&m);

    magics_parse("%who", &m);
    CHECK(m.who == 1 && m.whos == 0);
    magics_free(&m);

    magics_parse("%seed 42\nrng_uniform()", &m);
    CHECK(m.seed_set && m.seed == 42 && m.has_code && !m.bad[0]);
    magics_free(&m);

    magics_parse("%seed 0x10", &m);
    CHECK(m.seed_set && m.seed == 16 && !m.bad[0]);
    magics_free(&m);

    magics_parse("%seed -1", &m);
    CHECK(strstr(m.bad, "%seed needs a non-negative integer") != NULL);
    magics_free(&m);

    magics_parse("%seed", &m);
    CHECK(m.bad[0] != '\0');
    magics_free(&m);

    magics_parse("%cflags -O2 -DN=3  ", &m);
    CHECK(m.cflags && strcmp(m.cflags, "-O2 -DN=3") == 0 && !m.cflags_show);
    magics_free(&m);

    magics_parse("%cflags", &m);
    CHECK(m.cflags == NULL && m.cflags_show);
    magics_free(&m);

    magics_parse("%frobnicate now", &m);
    CHECK(strstr(m.bad, "unknown magic %frobnicate") != NULL);
    magics_free(&m);

    /* %timer is not %time, %whosx is not %whos */
    magics_parse("%timer", &m);
    CHECK(m.time == 0 && strstr(m.bad, "%timer") != NULL);
    magics_free(&m);

    magics_parse("%undo\nint x;", &m);
    CHECK(strstr(m.bad, "%undo must be alone") != NULL);
    magics_free(&m);

    magics_parse("%time\n%timeit\nf();", &m);
    CHECK(strstr(m.bad, "not both") != NULL);
    magics_free(&m);

    /* After C code a % line is left to the C splitter (which reports it). */
    const char *late = "int x;\n%time";
    magics_parse(late, &m);
    CHECK(m.time == 0 && m.has_code && strcmp(m.code, late) == 0 && !m.bad[0]);
    magics_free(&m);

    /* Plain C: nothing changes. */
    const char *plain = "int y = 10 % 3;\n";
    magics_parse(plain, &m);
    CHECK(strcmp(m.code, plain) == 0 && m.has_code && !m.bad[0]);
    magics_free(&m);

    /* The magics that change the executor become actions, in the order written. */
    const char *settings = "%cd /tmp\n%env A=1\n%lib z\n%include ./inc\n%threads 2\n%plot svg\nint x;";
    magics_parse(settings, &m);
    CHECK(m.nactions == 6 && !m.bad[0] && m.has_code);
    CHECK(m.actions[0].kind == MAGIC_CD && strcmp(m.actions[0].arg, "/tmp") == 0);
    CHECK(m.actions[1].kind == MAGIC_ENV && strcmp(m.actions[1].arg, "A=1") == 0);
    CHECK(m.actions[2].kind == MAGIC_LIB && strcmp(m.actions[2].arg, "z") == 0);
    CHECK(m.actions[3].kind == MAGIC_INCLUDE && strcmp(m.actions[3].arg, "./inc") == 0);
    CHECK(m.actions[4].kind == MAGIC_THREADS && strcmp(m.actions[4].arg, "2") == 0);
    CHECK(m.actions[5].kind == MAGIC_PLOT && strcmp(m.actions[5].arg, "svg") == 0);
    CHECK(same_lines(m.code, settings) && strstr(m.code, "int x;") != NULL && !strchr(m.code, '%'));
    magics_free(&m);

    /* Quoted paths, as in a shell. */
    magics_parse("%cd \"my data\"", &m);
    CHECK(m.nactions == 1 && strcmp(m.actions[0].arg, "my data") == 0 && !m.bad[0]);
    magics_free(&m);
    magics_parse("%%file 'out file.txt'\nhi", &m);
    CHECK(m.file_path && strcmp(m.file_path, "out file.txt") == 0);
    magics_free(&m);

    magics_parse("%threads", &m);
    CHECK(m.nactions == 1 && m.actions[0].arg[0] == '\0');
    magics_free(&m);

    /* %timeit options */
    magics_parse("%timeit -n 10 -r 3\nf();", &m);
    CHECK(m.timeit && m.timeit_loops == 10 && m.timeit_runs == 3 && !m.bad[0]);
    magics_free(&m);
    magics_parse("%timeit -n zero\nf();", &m);
    CHECK(strstr(m.bad, "%timeit takes -n LOOPS") != NULL);
    magics_free(&m);

    /* IPython's forms: code on the magic's own line, and %%time / %%timeit cells. */
    magics_parse("%timeit -n 10 -r 3 f(x);", &m);
    CHECK(m.timeit && m.timeit_loops == 10 && m.timeit_runs == 3 && m.has_code && !m.bad[0]);
    CHECK(strcmp(m.code + strspn(m.code, " "), "f(x);") == 0);
    magics_free(&m);
    magics_parse("%timeit mat_mul(A, B);\ng();", &m);
    CHECK(m.timeit && m.timeit_loops == 0 && m.has_code && !m.bad[0]);
    CHECK(strcmp(m.code + strspn(m.code, " "), "mat_mul(A, B);\ng();") == 0);
    magics_free(&m);
    magics_parse("%time double q = 3;", &m);
    CHECK(m.time && !m.timeit && m.has_code && !m.bad[0] && strstr(m.code, "double q = 3;") && !strchr(m.code, '%'));
    magics_free(&m);
    magics_parse("%%time\nint a = 1;\n", &m);
    CHECK(m.time && m.has_code && !m.bad[0] && strstr(m.code, "int a = 1;") && !strchr(m.code, '%'));
    magics_free(&m);
    magics_parse("  %%timeit -n 4\nf();", &m);
    CHECK(m.timeit && m.timeit_loops == 4 && m.has_code && !m.bad[0] && !strchr(m.code, '%'));
    magics_free(&m);
    magics_parse("%%timer\nf();", &m);
    CHECK(strstr(m.bad, "unknown cell magic %%timer") != NULL);
    magics_free(&m);
    magics_parse("%timeit -q f();", &m);
    CHECK(strstr(m.bad, "%timeit takes -n LOOPS") != NULL);
    magics_free(&m);
    magics_parse("%timeit -n 3", &m);
    CHECK(strstr(m.bad, "%timeit needs C code to time") != NULL);
    magics_free(&m);
    magics_parse("%%time\n", &m);
    CHECK(strstr(m.bad, "%time needs C code to time") != NULL);
    magics_free(&m);
    magics_parse("%timeit x = a - b;", &m); /* a minus sign in the code is not an option */
    CHECK(m.timeit && m.has_code && !m.bad[0] && strstr(m.code, "x = a - b;"));
    magics_free(&m);

    /* %%file: the rest of the cell is the file's text and nothing runs. */
    magics_parse("%%file out/a.c\nint main(void) { return 10 % 3; }\n", &m);
    CHECK(m.file_path && strcmp(m.file_path, "out/a.c") == 0 && !m.file_append && !m.bad[0]);
    CHECK(m.file_body && strcmp(m.file_body, "int main(void) { return 10 % 3; }\n") == 0);
    CHECK(!m.has_code);
    magics_free(&m);
    magics_parse("\n%%file -a log.txt\nmore", &m);
    CHECK(m.file_path && strcmp(m.file_path, "log.txt") == 0 && m.file_append && strcmp(m.file_body, "more") == 0);
    magics_free(&m);
    magics_parse("%%file", &m);
    CHECK(strstr(m.bad, "%%file needs a path") != NULL);
    magics_free(&m);
    magics_parse("%%bash\nls", &m);
    CHECK(strstr(m.bad, "unknown cell magic %%bash") != NULL);
    magics_free(&m);
    magics_parse("%cd /tmp\n%%file x.txt\nhi", &m);
    CHECK(strstr(m.bad, "must be the first line") != NULL);
    magics_free(&m);

    /* An unknown magic lists the known ones. */
    magics_parse("%frobnicate", &m);
    CHECK(strstr(m.bad, "known magics:") && strstr(m.bad, "%lib") && strstr(m.bad, "%%file") && strstr(m.bad, "%timeit"));
    magics_free(&m);

    /* The front's magics are alone in their cell (the front only sees them first). */
    magics_parse("%cd /tmp\n%lsmagic", &m);
    CHECK(strstr(m.bad, "%lsmagic must be alone") != NULL);
    magics_free(&m);

    /* %undo cannot be mixed with settings either. */
    magics_parse("%undo\n%cd /tmp", &m);
    CHECK(strstr(m.bad, "%undo must be alone") != NULL);
    magics_free(&m);

    /* %runs becomes the call it stands for, on its own line (line numbers below kept) */
    const char *runs = "%runs\nint k = 1;";
    magics_parse(runs, &m);
    CHECK(m.has_code && !m.bad[0] && strstr(m.code, "track_runs_show(0, 0);") == m.code);
    CHECK(strchr(m.code, '\n') && strncmp(strchr(m.code, '\n'), "\nint k = 1;", 11) == 0);
    magics_free(&m);
    magics_parse("%runs \"my \\\"exp\" by acc desc", &m);
    CHECK(!m.bad[0] && strstr(m.code, "track_runs_show(\"my \\\\\\\"exp\", \"acc desc\");"));
    magics_free(&m);
    magics_parse("%runs by loss", &m);
    CHECK(!m.bad[0] && strstr(m.code, "track_runs_show(0, \"loss\");"));
    magics_free(&m);
    magics_parse("%runs sweeps by", &m);
    CHECK(strstr(m.bad, "'by' needs a metric") != NULL);
    magics_free(&m);

    /* %onnx lines become the calls they stand for, each on its own line, in order */
    magics_parse("%onnx info \"my dir/m.onnx\"\n%onnx load net m.onnx\nint k = 1;", &m);
    CHECK(!m.bad[0] && m.has_code && strncmp(m.code, "onnx_info(\"my dir/m.onnx\");", 27) == 0);
    {
        const char *l2 = strchr(m.code, '\n');
        const char *load = "onnx_meta net_meta; nn_model *net = onnx_import(\"m.onnx\", &net_meta);";
        CHECK(l2 && strncmp(l2 + 1, load, strlen(load)) == 0);
        CHECK(l2 && strchr(l2 + 1, '\n') && !strcmp(strchr(l2 + 1, '\n'), "\nint k = 1;"));
    }
    magics_free(&m);
    magics_parse("%onnx reload net v2.onnx\n%onnx export net 'out.onnx' version 3", &m);
    CHECK(!m.bad[0] && strstr(m.code, "onnx_reload(&net, &net_meta, \"v2.onnx\");") == m.code);
    CHECK(strstr(m.code, "onnx_magic_meta.version = 3;") && strstr(m.code, "onnx_export(net, \"out.onnx\", onnx_magic_meta)"));
    magics_free(&m);
    magics_parse("%onnx export net out.onnx", &m); /* version 1 by default */
    CHECK(!m.bad[0] && strstr(m.code, "onnx_magic_meta.version = 1;"));
    magics_free(&m);
    static const struct {
        const char *cell, *error;
    } bad_onnx[] = {{"%onnx", "%onnx info PATH | load NAME PATH"},
                    {"%onnx show m.onnx", "unknown action 'show'"},
                    {"%onnx load 2net m.onnx", "%onnx load needs the C name of the network first"},
                    {"%onnx load net", "%onnx load needs the path of an .onnx file"},
                    {"%onnx info a b.onnx", "unexpected 'b.onnx' at the end"},
                    {"%onnx export net o.onnx version 0", "only 'version N' (N >= 1)"},
                    {"%onnx export net o.onnx v 2", "only 'version N' (N >= 1)"}};
    for (size_t i = 0; i < sizeof bad_onnx / sizeof *bad_onnx; i++) {
        magics_parse(bad_onnx[i].cell, &m);
        CHECK(strstr(m.bad, bad_onnx[i].error) != NULL);
        if (!strstr(m.bad, bad_onnx[i].error))
            fprintf(stderr, "%s -> %s\n", bad_onnx[i].cell, m.bad);
        magics_free(&m);
    }

    return check_summary("exec_magic");
}
