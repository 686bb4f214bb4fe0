/* test_cell_split.c — cutting cells into top-level items (kernel/cell/cell_split.c):
 * kinds and ranges on many samples, declarators and initializers, the typedef-name
 * problem (`mat * p;` declares, `a * b;` multiplies), and errors with line and column. */
#include <stdlib.h>
#include <string.h>

#include "../../kernel/cell/cell.h"
#include "../../kernel/cell/cell_split.h"
#include "check.h"

static int known_type(void *ctx, const char *name, size_t n)
{
    (void)ctx;
    static const char *const types[] = {"mat", "size_t", "figure", NULL};
    for (const char *const *t = types; *t; t++)
        if (strlen(*t) == n && memcmp(*t, name, n) == 0)
            return 1;
    return 0;
}

/* Kinds of the items of code as letters: p(reproc) t(ype) f(unction) d(eclaration)
 * s(tatement) e(xpression); "!" when splitting failed. */
static const char *kinds(const char *code, char *buf)
{
    cell_split_result r;
    int rc = cell_split(code, known_type, NULL, &r);
    size_t k = 0;
    if (rc == 0)
        for (size_t i = 0; i < r.nitems; i++)
            buf[k++] = "ptfdse"[r.items[i].kind];
    else
        buf[k++] = '!';
    buf[k] = 0;
    cell_split_free(&r);
    return buf;
}

/* Text of an item's tokens [first, last). */
static char *item_text(const char *code, const cell_split_result *r, size_t first, size_t last)
{
    if (first >= last)
        return strdup("");
    size_t a = r->tokens[first].start, b = r->tokens[last - 1].end;
    char *s = malloc(b - a + 1);
    memcpy(s, code + a, b - a);
    s[b - a] = 0;
    return s;
}

static int text_is(const char *code, const cell_split_result *r, size_t first, size_t last, const char *want)
{
    char *s = item_text(code, r, first, last);
    int ok = strcmp(s, want) == 0;
    if (!ok)
        fprintf(stderr, "  got [%s], want [%s]\n", s, want);
    free(s);
    return ok;
}

int main(void)
{
    char buf[64];

    /* Kinds. */
    CHECK(strcmp(kinds("#include <stdio.h>\nint x;\nx = 3;\nx", buf), "pdse") == 0);
    CHECK(strcmp(kinds("struct P { int x; };\ntypedef struct P P;\nenum E { A, B };", buf), "ttt") == 0);
    CHECK(strcmp(kinds("int f(int a) { return a; }\nint g(int);\nf(1);", buf), "fds") == 0);
    CHECK(strcmp(kinds("static inline double sq(double v) { return v * v; }", buf), "f") == 0);
    CHECK(strcmp(kinds("mat * p;\na * b;", buf), "ds") == 0);
    CHECK(strcmp(kinds("size_t n = 3;\nunknown_t u;\nunsigned long k;", buf), "ddd") == 0);
    CHECK(strcmp(kinds("typedef double real;\nreal * r;\nreal(w);", buf), "tdd") == 0);
    CHECK(strcmp(kinds("if (x) { y(); } else z();\nwhile (0) ;\ndo { } while (0);\nfor (;;) break;", buf), "ssss") == 0);
    CHECK(strcmp(kinds("switch (x) { case 1: y(); }\nlabel: x++;\ngoto label;\n{ int local = 1; }", buf), "ssss") == 0);
    CHECK(strcmp(kinds("x = 3", buf), "s") == 0);           /* an assignment is run, not shown */
    CHECK(strcmp(kinds("x == 3", buf), "e") == 0);
    CHECK(strcmp(kinds("sizeof(mat)", buf), "e") == 0);
    CHECK(strcmp(kinds("puts(\"a;}\") ; 'x'", buf), "se") == 0);
    CHECK(strcmp(kinds("struct P { int x; } p = {1}, *q;", buf), "d") == 0);
    CHECK(strcmp(kinds("struct P mk(void) { struct P p = {0}; return p; }", buf), "f") == 0);
    CHECK(strcmp(kinds("int (*fp)(int) = 0;\nvoid (*signal_like(int, void (*)(int)))(int);", buf), "dd") == 0);
    CHECK(strcmp(kinds("mat A = mat_rand(3, 3)", buf), "d") == 0); /* `;` forgotten on the last line */
    CHECK(strcmp(kinds("int x = ({ int t = 1; t; });", buf), "d") == 0);
    CHECK(strcmp(kinds(";;\n;", buf), "") == 0);
    CHECK(strcmp(kinds("_Static_assert(1, \"ok\");", buf), "s") == 0);

    /* Declarators, names, initializers. */
    {
        const char *code = "int a = 1, *b, c[3] = {1, 2, 3}, (*f)(int);";
        cell_split_result r;
        CHECK(cell_split(code, known_type, NULL, &r) == 0 && r.nitems == 1);
        const cell_item *it = &r.items[0];
        CHECK(it->kind == CELL_ITEM_DECLARATION && it->ndecls == 4);
        CHECK(text_is(code, &r, it->spec_first, it->spec_last, "int"));
        CHECK(text_is(code, &r, it->decls[0].name, it->decls[0].name + 1, "a"));
        CHECK(text_is(code, &r, it->decls[0].init_first, it->decls[0].init_last, "1"));
        CHECK(text_is(code, &r, it->decls[1].first, it->decls[1].last, "*b"));
        CHECK(it->decls[1].init_first == it->decls[1].init_last);
        CHECK(it->decls[2].is_array && text_is(code, &r, it->decls[2].init_first, it->decls[2].init_last, "{1, 2, 3}"));
        CHECK(text_is(code, &r, it->decls[3].name, it->decls[3].name + 1, "f") && !it->decls[3].is_function);
        cell_split_free(&r);
    }
    {
        const char *code = "static const struct P { int x; } p = {f(1)};";
        cell_split_result r;
        CHECK(cell_split(code, known_type, NULL, &r) == 0 && r.nitems == 1);
        const cell_item *it = &r.items[0];
        CHECK(it->is_static && it->is_const && it->tag != CELL_NONE && it->body_first != CELL_NONE);
        CHECK(text_is(code, &r, it->body_first, it->body_last, "{ int x; }"));
        CHECK(text_is(code, &r, it->decls[0].init_first, it->decls[0].init_last, "{f(1)}"));
        cell_split_free(&r);
    }
    {
        /* Item ranges, lines and columns. */
        const char *code = "int x;\n  for (int i = 0; i < 2; i++) {\n    x += i;\n  }\nx";
        cell_split_result r;
        CHECK(cell_split(code, known_type, NULL, &r) == 0 && r.nitems == 3);
        CHECK(r.items[1].kind == CELL_ITEM_STATEMENT && r.items[1].line == 2 && r.items[1].column == 3);
        CHECK(text_is(code, &r, r.items[1].first, r.items[1].last, "for (int i = 0; i < 2; i++) {\n    x += i;\n  }"));
        CHECK(r.items[2].kind == CELL_ITEM_EXPRESSION && r.items[2].line == 5);
        cell_split_free(&r);
    }
    {
        /* A typedef in the cell makes its name a type for the rest of the cell. */
        const char *code = "typedef struct { double re, im; } cplx;\ncplx * z;\nz * w;";
        CHECK(strcmp(kinds(code, buf), "tds") == 0);
    }

    /* Errors: where, and the quoted line. */
    {
        cell_split_result r;
        CHECK(cell_split("int x = 1;\nif (x) {\n  x++;\n", known_type, NULL, &r) == -1);
        CHECK(r.error_line == 2 && r.error_column == 8 && strstr(r.error, "never closed") && strstr(r.error, "  if (x) {"));
        cell_split_free(&r);
        CHECK(cell_split("x = 1;\n}\n", known_type, NULL, &r) == -1);
        CHECK(r.error_line == 2 && r.error_column == 1 && strstr(r.error, "unexpected '}'"));
        cell_split_free(&r);
        CHECK(cell_split("f(a, [b)];", known_type, NULL, &r) == -1 && r.error_column == 8);
        cell_split_free(&r);
        CHECK(cell_split("int y;\n%timeit f()", known_type, NULL, &r) == -1 && r.error_line == 2 && strstr(r.error, "magic"));
        cell_split_free(&r);
        CHECK(cell_split("/* never\n closed", known_type, NULL, &r) == -1 && r.error_line == 1 && strstr(r.error, "comment"));
        cell_split_free(&r);
        CHECK(cell_split("else x();", known_type, NULL, &r) == -1 && strstr(r.error, "else"));
        cell_split_free(&r);
        CHECK(cell_split("x = 1; #define A 2", known_type, NULL, &r) == -1 && r.error_column == 8);
        cell_split_free(&r);
        CHECK(cell_split("int a[2] = {1, 2}\nint b;", known_type, NULL, &r) == -1 && r.error_line == 2);
        cell_split_free(&r);
        CHECK(cell_split("k++\nk", known_type, NULL, &r) == -1 && r.error_line == 2 && strstr(r.error, "end of line 1"));
        cell_split_free(&r);
        CHECK(cell_split("f(x)\ny = 2;", known_type, NULL, &r) == -1 && r.error_line == 2);
        cell_split_free(&r);
        CHECK(cell_split("y = (size_t)\n  x;\nz = a[1]\n  + b;", known_type, NULL, &r) == 0); /* a cast, an operator */
        cell_split_free(&r);
    }
    /* Mutated cells (a fixed-seed fuzz): splitting and translating never crash, an
     * error always has a position inside the cell, a unit always has its entry. */
    {
        static const char *const corpus[] = {
            "mat A = mat_rand(3,3);\nint a = 1, *b, c[3] = {1,2,3};\nstruct P { int x; double y; };\n"
            "static int sq(int x) { return x*x; }\nfor (int i = 0; i < 3; i++) a += sq(i);\na * b;\nmat * p;\na",
            "typedef struct Q { int q; } Q;\nQ qq = {1};\ndouble v[] = {1, 2, a};\n#define N 3\nconst int K = N * 2;\nprintf(\"%d\\n\", K)",
            "enum E { A, B = 3 } e = B;\nif (e) { puts(\"}\"); } else { e = A; }\ndo { e++; } while (e < 10);\n"
            "switch (e) { case 1: break; default: ; }\nchar s[] = \"a\\\"b;{\";\n/* c { */ // }\nint x = ({ int t = 2; t; });\nx",
        };
        cell_session *session = cell_session_new();
        unsigned seed = 12345;
        int ok = 1;
        char cell[1024];
        const char alphabet[] = "{}()[];,=*#\"'/\\\n %.-><&x1";
        for (int it = 0; it < 3000 && ok; it++) {
            const char *base = corpus[it % 3];
            size_t n = strlen(base);
            memcpy(cell, base, n + 1);
            for (int m = 0; m < 1 + it % 4; m++) {
                seed = seed * 1103515245u + 12345u;
                size_t pos = (seed >> 8) % n;
                char c = alphabet[(seed >> 20) % (sizeof alphabet - 1)];
                if (m % 2 == 0)
                    cell[pos] = c;
                else if (n + 2 < sizeof cell) {
                    memmove(cell + pos + 1, cell + pos, n - pos + 1);
                    cell[pos] = c;
                    n++;
                }
            }
            cell_unit u;
            int rc = cell_translate(session, cell, it + 1, &u);
            if (rc == 0)
                ok = u.source && strstr(u.source, u.entry) != NULL;
            else
                ok = u.error && u.error_line >= 1 && u.error_column >= 1;
            if (rc == 0 && it % 5 == 0) {
                for (size_t k = 0; k < u.ndefined; k++) /* any address: nothing runs here; an */
                    u.defined[k].address = strncmp(u.defined[k].name, "cairn_dims_", 11) ? (void *)&seed : NULL;
                /* array-shape probe is read as an array of sizes, so it counts as not compiled */
                cell_unit_drop_undefined(&u);
                cell_session_commit(session, &u);
            }
            cell_unit_free(&u);
            const char *indent;
            cell_is_complete(cell, &indent);
            cell_cursor_token tok;
            cell_token_at(cell, (seed >> 4) % (n + 1), &tok);
            if (!ok)
                fprintf(stderr, "  mutated cell %d broke an invariant:\n%s\n", it, cell);
        }
        CHECK(ok);
        cell_session_free(session);
    }
    /* The text of an `#if 0` group is never compiled: it need not be C and makes no item;
     * its #else part is split as usual. Other conditions are for tcc to decide. */
    {
        char buf[64];
        CHECK(strcmp(kinds("#if 0\nthis isn't C (\n#endif\nint z = 1;", buf), "ppd") == 0);
        CHECK(strcmp(kinds("#if 0\nint a = 1; }\n#  if 1\nx;\n#  endif\n#else\nint b = 2;\n#endif\nb", buf), "ppdpe") == 0);
        CHECK(strcmp(kinds("#if 0\nint a;\n#elif 1\nint b;\n#endif", buf), "ppdp") == 0);
        CHECK(strcmp(kinds("#if 0 || X\nint a;\n#endif", buf), "pdp") == 0);
        CHECK(strcmp(kinds("#if 1\nint a = (;\n#endif", buf), "!") == 0);
        CHECK(strcmp(kinds("void f(void) {\n#if 0\n  junk (\n#endif\n}\nf()", buf), "fe") == 0);
        CHECK(strcmp(kinds("#if 0\n/* never closed\n#endif", buf), "!") == 0); /* the comment swallows #endif */
        cell_split_result r;
        CHECK(cell_split("#if 0\nx y z\n#endif\nint w;", known_type, NULL, &r) == 0 && r.skipped && r.nitems == 3 &&
              r.skipped[1] && r.skipped[3] && !r.skipped[4] && r.items[2].kind == CELL_ITEM_DECLARATION);
        cell_split_free(&r);
        CHECK(cell_split("int w;", known_type, NULL, &r) == 0 && r.skipped == NULL);
        cell_split_free(&r);
    }
    {
        char *e = cell_format_error("a\n\tbad here\n", 2, 6, "msg");
        CHECK(e && strcmp(e, "line 2, column 6: msg\n  \tbad here\n  \t    ^") == 0);
        free(e);
    }
    return check_summary("cell_split");
}
