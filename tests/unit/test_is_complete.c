/* test_is_complete.c — cell_is_complete (kernel/cell/cell_complete.c), what the console
 * asks before sending a cell, and cell_token_at, what complete/inspect ask. */
#include <stdlib.h>
#include <string.h>

#include "../../kernel/cell/cell.h"
#include "check.h"

static const char *verdict(const char *code, const char **indent) { return cell_is_complete(code, indent); }

int main(void)
{
    const char *indent = NULL;

    CHECK(strcmp(verdict("", &indent), "complete") == 0);
    CHECK(strcmp(verdict("int x = 3;", &indent), "complete") == 0 && strcmp(indent, "") == 0);
    CHECK(strcmp(verdict("x + 1", &indent), "complete") == 0);
    CHECK(strcmp(verdict("for (int i = 0; i < 3; i++) {", &indent), "incomplete") == 0 && strcmp(indent, "    ") == 0);
    CHECK(strcmp(verdict("void f(void) {\n  if (x) {\n", &indent), "incomplete") == 0 && strcmp(indent, "        ") == 0);
    CHECK(strcmp(verdict("printf(\"%d\",\n", &indent), "incomplete") == 0 && strcmp(indent, "    ") == 0);
    CHECK(strcmp(verdict("int a[] = {1, 2,", &indent), "incomplete") == 0);
    CHECK(strcmp(verdict("x = a[3", &indent), "incomplete") == 0);
    CHECK(strcmp(verdict("/* a comment", &indent), "incomplete") == 0);
    CHECK(strcmp(verdict("puts(\"abc", &indent), "incomplete") == 0);
    CHECK(strcmp(verdict("#define LONG(x) \\", &indent), "incomplete") == 0);
    CHECK(strcmp(verdict("#define LONG(x) \\\n  (x)", &indent), "complete") == 0);

    /* Conditional groups wait for their #endif; a stray one is invalid; the notes in an
     * `#if 0` group are not C (an apostrophe, an open bracket). */
    CHECK(strcmp(verdict("#if 0\nint a;", &indent), "incomplete") == 0);
    CHECK(strcmp(verdict("#ifdef FAST\nint a;\n#else\nint b;", &indent), "incomplete") == 0);
    CHECK(strcmp(verdict("#ifndef N\n#define N 3\n#endif", &indent), "complete") == 0);
    CHECK(strcmp(verdict("#if 0\ndon't run this (yet\n#endif\nint x = 1;", &indent), "complete") == 0);
    CHECK(strcmp(verdict("#if 0\nold notes\n#else\nint f(void) {", &indent), "incomplete") == 0 && strcmp(indent, "    ") == 0);
    CHECK(strcmp(verdict("#if 1\n#if 0\nx'\n#endif\n#endif", &indent), "complete") == 0);
    CHECK(strcmp(verdict("int x = 1;\n#endif", &indent), "invalid") == 0);
    CHECK(strcmp(verdict("#else", &indent), "invalid") == 0);
    CHECK(strcmp(verdict("#if 0 // off\nint (\n#endif", &indent), "complete") == 0);
    CHECK(strcmp(verdict("#if 0x10 > 3\nint (\n#endif", &indent), "incomplete") == 0); /* not #if 0: read as C */

    /* A control statement whose body has not started yet. */
    CHECK(strcmp(verdict("for (int i = 0; i < 3; i++)", &indent), "incomplete") == 0 && strcmp(indent, "    ") == 0);
    CHECK(strcmp(verdict("if (x) y();\nelse", &indent), "incomplete") == 0);
    CHECK(strcmp(verdict("do", &indent), "incomplete") == 0);
    CHECK(strcmp(verdict("if (x) y();", &indent), "complete") == 0);
    CHECK(strcmp(verdict("do { x++; } while (x < 3);", &indent), "complete") == 0);
    CHECK(strcmp(verdict("f(g(x))", &indent), "complete") == 0);

    /* Braces inside strings, characters and comments do not count. */
    CHECK(strcmp(verdict("puts(\"{\"); char c = '}'; // {", &indent), "complete") == 0);
    CHECK(strcmp(verdict("/* } */ int x;", &indent), "complete") == 0);

    /* A stray or mismatched closer can never be completed. */
    CHECK(strcmp(verdict("}", &indent), "invalid") == 0);
    CHECK(strcmp(verdict("f(a]", &indent), "invalid") == 0);
    CHECK(strcmp(verdict("x = 1; )", &indent), "invalid") == 0);
    CHECK(strcmp(verdict("puts(\"ab\n\");", &indent), "invalid") == 0); /* a literal cut by a newline */

    /* Magic lines are not C. */
    CHECK(strcmp(verdict("%timeit f(\nint x;", &indent), "complete") == 0);

    /* cell_token_at: plain names, members, arrows, magics, comments. */
    cell_cursor_token t;
    const char *code = "int total = 0;\ntot";
    CHECK(cell_token_at(code, strlen(code), &t) == 0 && t.kind == 0 && t.start == 15 && t.end == 18);
    code = "A.ro";
    CHECK(cell_token_at(code, 4, &t) == 0 && t.kind == '.' && t.start == 2 && t.base_start == 0 && t.base_end == 1);
    code = "pts[i + 1]->";
    CHECK(cell_token_at(code, strlen(code), &t) == 0 && t.kind == '>' && t.start == strlen(code) && t.base_start == 0 &&
          t.base_end == 10);
    code = "x = s.inner.va + 1";
    CHECK(cell_token_at(code, 14, &t) == 0 && t.kind == '.' && t.start == 12 && t.end == 14 && t.base_start == 4 &&
          t.base_end == 11);
    code = "mat_ze(3)";
    CHECK(cell_token_at(code, 3, &t) == 0 && t.kind == 0 && t.start == 0 && t.end == 6); /* whole name for inspect */
    code = "%tim";
    CHECK(cell_token_at(code, 4, &t) == 0 && t.kind == '%' && t.start == 1);
    code = "// a comment A.";
    CHECK(cell_token_at(code, strlen(code), &t) == -1);
    code = "puts(\"A.";
    CHECK(cell_token_at(code, strlen(code), &t) == -1);
    code = "#include <std";
    CHECK(cell_token_at(code, strlen(code), &t) == 0 && t.kind == '"' && t.start == 10);
    code = "#incl";
    CHECK(cell_token_at(code, strlen(code), &t) == 0 && t.kind == '#' && t.start == 1);
    code = "A = mat_zeros(3, f(x), ";
    CHECK(cell_token_at(code, strlen(code), &t) == 0 && t.call_start == 4 && t.call_end == 13);
    code = "g(h(1) + (2";
    CHECK(cell_token_at(code, strlen(code), &t) == 0 && t.call_start == 0 && t.call_end == 1);
    code = "x = 1;";
    CHECK(cell_token_at(code, strlen(code), &t) == 0 && t.call_start == t.call_end);
    code = "f(a).";
    CHECK(cell_token_at(code, strlen(code), &t) == 0 && t.kind == '.' && t.base_start == 0 && t.base_end == 4);
    /* cell_explain_diagnostic: the quoted name gives the column; read-ahead is undone. */
    {
        int line = 0, column = 0;
        char *e = cell_explain_diagnostic("int a;\nint b = zz + 1;\n", "cell:2: error: 'zz' undeclared", &line, &column);
        CHECK(e && line == 2 && column == 9 && strcmp(e, "line 2, column 9: error: 'zz' undeclared\n  int b = zz + 1;\n          ^") == 0);
        free(e);
        e = cell_explain_diagnostic("x = 1 +\n\n", "cell:3: error: identifier expected", &line, &column);
        CHECK(e && line == 1 && column == 1);
        free(e);
        e = cell_explain_diagnostic("if (x) {\n  f(x)\n}", "cell:3: error: ';' expected (got \"}\")", &line, &column);
        CHECK(e && line == 2 && column == 7);
        free(e);
        e = cell_explain_diagnostic("for (;;) { f(x) }", "cell:1: error: ';' expected (got \"}\")", &line, &column);
        CHECK(e && line == 1 && column == 17);
        free(e);
        e = cell_explain_diagnostic("int r = 1 + add(1);", "cell:1: error: too few arguments to function", &line, &column);
        CHECK(e && column == 13);
        free(e);
        e = cell_explain_diagnostic("int *ip = 3.5;", "cell:1: error: cannot convert 'double' to 'extern int *'", &line, &column);
        CHECK(e && column == 11 && strstr(e, "to 'int *'") && !strstr(e, "extern"));
        free(e);
        e = cell_explain_diagnostic("y = 1.5 + d.x;", "cell:1: error: struct or union expected", &line, &column);
        CHECK(e && column == 11);
        free(e);
        CHECK(cell_explain_diagnostic("x", "<string>:3: error: bad", NULL, NULL) == NULL);
    }
    return check_summary("is_complete");
}
