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

    return check_summary("exec_magic");
}
