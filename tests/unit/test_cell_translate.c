/* test_cell_translate.c — cells translated by kernel/cell and really compiled by libtcc,
 * one TCCState per cell like the executor does: each unit is relocated into its own
 * mmap'ed memory, earlier cells' symbols are bound with tcc_add_symbol, the cell
 * function runs, and the unit is committed. Checks that definitions persist, that
 * initializers run in statement order, that redefinition works (the newest wins, a
 * changed type says so), that a trailing expression is shown, and that diagnostics
 * carry the cell's own line and column, that definitions inside conditional groups tcc
 * skipped never reach the session, and that a unit carries only the session types it
 * reaches. The show functions are captured by this test so
 * it can check the value that would reach the notebook. Ends with 500 cells in a row
 * and prints the time of cell 1 and cell 500 (no timing assertion). */
#include <libtcc.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "../../kernel/cell/cell.h"
#include "cairn.h"
#include "check.h"

/* ---- what the cell showed ---- */
static char shown[256];

static void show_int(const void *v, size_t size, const char *type)
{
    (void)type;
    long long x = size == 8 ? *(const long long *)v : size == 4 ? *(const int *)v : size == 2 ? *(const short *)v : *(const signed char *)v;
    snprintf(shown, sizeof shown, "int %lld", x);
}
static void show_uint(const void *v, size_t size, const char *type)
{
    (void)type;
    unsigned long long x = size == 8 ? *(const unsigned long long *)v : *(const unsigned *)v;
    snprintf(shown, sizeof shown, "uint %llu", x);
}
static void show_double(const void *v, size_t size, const char *type)
{
    (void)size;
    (void)type;
    snprintf(shown, sizeof shown, "double %.17g", *(const double *)v);
}
static void show_string(const void *v, size_t size, const char *type)
{
    (void)size;
    (void)type;
    snprintf(shown, sizeof shown, "string %s", *(const char *const *)v);
}
static void show_other(const void *v, size_t size, const char *type)
{
    (void)v;
    snprintf(shown, sizeof shown, "other %zu %s", size, type ? type : "?");
}
static void show_enum(long long value, const char *type, const char *const *names, const long long *values, int count)
{
    int k = 0;
    while (k < count && values[k] != value)
        k++;
    snprintf(shown, sizeof shown, "enum %s %lld %s of %d", type, value, k < count ? names[k] : "-", count);
}
static void show_mat(const void *v, size_t size, const char *type)
{
    (void)size;
    (void)type;
    const mat *m = v;
    snprintf(shown, sizeof shown, "mat %dx%d", m->rows, m->cols);
}

/* ---- a session run like the executor runs it ---- */
typedef struct runner {
    cell_session *s;
    int number;
    char diag[4096];   /* tcc messages of the last cell */
    char *explained;   /* cell_explain_diagnostic of the first error */
    int error_line, error_column;
    char *notes;
    void *maps[1024];
    size_t sizes[1024];
    size_t nmaps;
    double translate_ms, compile_ms;
} runner;

static void on_tcc_error(void *opaque, const char *msg)
{
    runner *r = opaque;
    size_t k = strlen(r->diag);
    snprintf(r->diag + k, sizeof r->diag - k, "%s\n", msg);
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static const char *current_code;

/* 0: ran and committed; 1: split error (r->explained = unit error); 2: compile error;
 * 3: compiled, but `auto` inferred a type no name fits (r->explained). */
static int run(runner *r, const char *code)
{
    r->diag[0] = 0;
    shown[0] = 0;
    free(r->explained);
    free(r->notes);
    r->explained = r->notes = NULL;
    r->error_line = r->error_column = 0;
    current_code = code;
    cell_unit u;
    double t0 = now_ms();
    int number = ++r->number;
    if (cell_translate(r->s, code, number, &u) != 0) {
        r->explained = u.error ? strdup(u.error) : NULL;
        r->error_line = u.error_line;
        r->error_column = u.error_column;
        cell_unit_free(&u);
        return 1;
    }
    double t1 = now_ms();
    r->notes = u.notes ? strdup(u.notes) : NULL;
    TCCState *st = tcc_new();
    tcc_set_lib_path(st, CAIRN_TCC_LIB_DIR);
    tcc_add_include_path(st, CAIRN_RUNTIME_INCLUDE_DIR);
    tcc_set_error_func(st, r, on_tcc_error);
    tcc_set_output_type(st, TCC_OUTPUT_MEMORY);
    if (getenv("CELL_TEST_VERBOSE"))
        fprintf(stderr, "---- cell %d\n%s", number, u.source);
    int rc = tcc_compile_string(st, u.source);
    /* Runtime functions the cells here call (the kernel binary exports them all). */
    tcc_add_symbol(st, "cairn_show_int", show_int);
    tcc_add_symbol(st, "cairn_show_char", show_int);
    tcc_add_symbol(st, "cairn_show_bool", show_int);
    tcc_add_symbol(st, "cairn_show_uint", show_uint);
    tcc_add_symbol(st, "cairn_show_double", show_double);
    tcc_add_symbol(st, "cairn_show_string", show_string);
    tcc_add_symbol(st, "cairn_show_other", show_other);
    tcc_add_symbol(st, "cairn_show_mat", show_mat);
    tcc_add_symbol(st, "cairn_show_enum", show_enum);
    tcc_add_symbol(st, "mat_zeros", mat_zeros);
    tcc_add_symbol(st, "mat_free", mat_free);
    for (size_t i = 0; i < u.nuses; i++) {
        const cell_symbol *y = cell_session_find(r->s, u.uses[i]);
        if (y && y->address)
            tcc_add_symbol(st, y->name, y->address);
        if (getenv("CELL_TEST_VERBOSE"))
            fprintf(stderr, "  bind %s to %p\n", u.uses[i], y ? y->address : NULL);
    }
    void *mem = NULL;
    int size = rc == 0 ? tcc_relocate(st, NULL) : -1;
    if (size > 0) {
        mem = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (mem == MAP_FAILED || tcc_relocate(st, mem) < 0)
            size = -1;
    }
    void (*entry)(void) = size > 0 ? (void (*)(void))tcc_get_symbol(st, u.entry) : NULL;
    if (!entry) {
        const char *first = strstr(r->diag, "error:");
        while (first && first > r->diag && first[-1] != '\n')
            first--;
        r->explained = first ? cell_explain_diagnostic(code, first, &r->error_line, &r->error_column) : NULL;
        if (!r->explained)
            fprintf(stderr, "  cell %d did not compile:\n%s\n%s", number, u.source, r->diag);
        tcc_delete(st);
        cell_unit_free(&u);
        return 2;
    }
    for (size_t i = 0; i < u.ndefined; i++)
        if (u.defined[i].kind == SYMBOL_VARIABLE || u.defined[i].kind == SYMBOL_FUNCTION) {
            u.defined[i].address = tcc_get_symbol(st, u.defined[i].name);
            if (getenv("CELL_TEST_VERBOSE"))
                fprintf(stderr, "  %s at %p (mem %p..+%d)\n", u.defined[i].name, u.defined[i].address, mem, size);
        }
    tcc_delete(st);
    /* As the executor does: name the types `auto` inferred, before the cell runs. */
    if (cell_unit_infer_types(r->s, &u) != 0) {
        r->explained = u.error ? strdup(u.error) : NULL;
        r->error_line = u.error_line;
        r->error_column = u.error_column;
        cell_unit_free(&u);
        return 3;
    }
    free(r->notes);
    r->notes = u.notes ? strdup(u.notes) : NULL;
    double t2 = now_ms();
    r->maps[r->nmaps] = mem;
    r->sizes[r->nmaps++] = (size_t)size;
    entry();
    cell_unit_drop_undefined(&u); /* as the executor does: groups tcc skipped define nothing */
    cell_session_commit(r->s, &u);
    cell_unit_free(&u);
    r->translate_ms = t1 - t0;
    r->compile_ms = t2 - t1;
    return 0;
}

static int run_ok(runner *r, const char *code)
{
    int rc = run(r, code);
    if (rc != 0)
        fprintf(stderr, "  cell failed (%d): %s\n%s%s\n", rc, code, r->diag, r->explained ? r->explained : "");
    return rc == 0;
}

static int shows(runner *r, const char *code, const char *want)
{
    if (!run_ok(r, code))
        return 0;
    if (strcmp(shown, want) != 0) {
        fprintf(stderr, "  [%s] showed [%s], want [%s]\n", code, shown, want);
        return 0;
    }
    return 1;
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median10(double *v)
{
    qsort(v, 10, sizeof *v, compare_doubles);
    return (v[4] + v[5]) / 2;
}

static void runner_free(runner *r)
{
    for (size_t i = 0; i < r->nmaps; i++)
        munmap(r->maps[i], r->sizes[i]);
    free(r->explained);
    free(r->notes);
    cell_session_free(r->s);
}

int main(void)
{
    runner r;
    memset(&r, 0, sizeof r);
    r.s = cell_session_new();
    CHECK(r.s != NULL);

    /* Variables persist; initializers run in statement order. */
    CHECK(run_ok(&r, "int x = 41;\nint twice = 2 * x;"));
    CHECK(run_ok(&r, "x++;"));
    CHECK(shows(&r, "x", "int 42"));
    CHECK(shows(&r, "twice", "int 82"));
    CHECK(shows(&r, "x = 5;\nx * 10", "int 50"));
    CHECK(shows(&r, "x = 7", "")); /* an assignment runs and shows nothing */
    CHECK(shows(&r, "x", "int 7"));

    /* Several declarators, arrays, pointers, a for loop whose variable stays local. */
    CHECK(run_ok(&r, "int a = 1, *pa = &a, c[3] = {10, 20, 30};\nint total = 0;\nfor (int i = 0; i < 3; i++) total += c[i];"));
    CHECK(shows(&r, "total + *pa", "int 61"));
    CHECK(run(&r, "i") == 2 && r.error_line == 1);

    /* Functions, static ones too, callable from later cells; a prototype is no definition. */
    CHECK(run_ok(&r, "static int sq(int v) { return v * v; }\nint cube(int v);\nint cube(int v) { return v * sq(v); }"));
    CHECK(shows(&r, "sq(9) + cube(2)", "int 89"));
    CHECK(run_ok(&r, "int calls = 0;\nvoid bump(void) { calls++; }"));
    CHECK(shows(&r, "bump()", "")); /* a void call is run, not shown */
    CHECK(shows(&r, "bump(); calls", "int 2"));

    /* Structs, typedefs, re-running the same cell, newest definition wins. */
    const char *point_cell = "struct P { int x; double y; };\ntypedef struct P P;\nP p = {1, 2.5};";
    CHECK(run_ok(&r, point_cell));
    CHECK(run_ok(&r, point_cell));
    CHECK(run_ok(&r, point_cell));
    CHECK(shows(&r, "p.y * p.x", "double 2.5"));
    CHECK(run_ok(&r, "P *pp = &p;\npp->y = 4;"));
    CHECK(shows(&r, "p.y", "double 4"));
    {
        size_t n = 0;
        const char *const *types = NULL;
        const char *const *m = cell_session_members(r.s, "P *", &n, &types);
        CHECK(n == 2 && m && strcmp(m[0], "x") == 0 && strcmp(m[1], "y") == 0 && strcmp(types[1], "double") == 0);
        const cell_symbol *y = cell_session_find(r.s, "pp");
        CHECK(y && y->kind == SYMBOL_VARIABLE && strcmp(y->type, "P *") == 0);
        m = cell_session_members(r.s, "mat", &n, NULL); /* learned from the runtime headers */
        int has_rows = 0;
        for (size_t i = 0; m && i < n; i++)
            has_rows |= strcmp(m[i], "rows") == 0;
        CHECK(has_rows);
    }
    /* A struct with a different layout: the new definition wins. */
    CHECK(run_ok(&r, "struct P { double w, x, y; };\nstruct P q = {0.5, 1, 2};"));
    CHECK(r.notes && strstr(r.notes, "struct P is redefined") && strstr(r.notes, "pp"));
    CHECK(shows(&r, "q.w + q.y", "double 2.5"));

    /* Non-constant brace initializers: compound literal / element copy at run time. */
    CHECK(run_ok(&r, "int k = 5;\nint w[2] = {k, k + 1};\nstruct P s2 = {k, 2 * k, 0};\ndouble v[] = {1, 2, 3};"));
    CHECK(shows(&r, "w[0] * w[1] + s2.x", "double 40"));
    CHECK(shows(&r, "sizeof v / sizeof v[0]", "uint 3"));
    CHECK(run_ok(&r, "char name[] = \"cairn\";"));
    CHECK(shows(&r, "sizeof name", "uint 6"));

    /* const globals keep their initializer; a run-time one still works. */
    CHECK(run_ok(&r, "const int M = 7;\nconst double root = sqrt(16.0);"));
    CHECK(shows(&r, "M * root", "double 28"));

    /* Changing a variable's type: it works, and a note says so. */
    CHECK(run_ok(&r, "double x = 1.5;"));
    CHECK(r.notes && strstr(r.notes, "x was int") && strstr(r.notes, "now double"));
    CHECK(shows(&r, "x * 2", "double 3"));
    CHECK(run_ok(&r, "int sq(int v) { return -v; }"));
    CHECK(shows(&r, "sq(3)", "int -3"));

    /* Macros persist, can be redefined and undefined; includes are deduplicated. */
    CHECK(run_ok(&r, "#define N 4\n#include <stdlib.h>\nint arr[N] = {0};"));
    CHECK(shows(&r, "N * (int)(sizeof arr / sizeof arr[0])", "int 16"));
    CHECK(run_ok(&r, "#define N 5\n#include <stdlib.h>"));
    CHECK(shows(&r, "N", "int 5"));
    CHECK(run_ok(&r, "#define SCALE(v) ((v) * k)"));
    CHECK(shows(&r, "SCALE(2)", "int 10")); /* the macro's body names k from an earlier cell */
    CHECK(run_ok(&r, "#undef N"));
    CHECK(run(&r, "N") == 2);
    CHECK(cell_session_find(r.s, "N") == NULL);
    CHECK(run_ok(&r, "#define TEMP 1\nint temp_seen = TEMP;\n#undef TEMP"));
    CHECK(cell_session_find(r.s, "TEMP") == NULL && cell_session_find(r.s, "SCALE") != NULL);
    CHECK(shows(&r, "temp_seen", "int 1"));
    /* Each statement sees the macros as they are at its place in the cell. */
    CHECK(run_ok(&r, "#define STEP 1\nint steps = STEP;"));
    CHECK(shows(&r, "int before = STEP;\n#undef STEP\n#define STEP 10\nint after = STEP;\nbefore * 100 + after", "int 110"));

    /* Declarations and types keep the macro values they were compiled with when the
     * macro changes or goes away later (the preprocessor expanded them). */
    CHECK(run_ok(&r, "#define SZ 8\nint arr8[SZ];"));
    CHECK(run_ok(&r, "#undef SZ\n#define SZ 16"));
    CHECK(shows(&r, "(int)(sizeof arr8 / sizeof arr8[0]) + SZ", "int 24"));
    CHECK(run_ok(&r, "#define TMP_N 3\nstruct tn { int v[TMP_N]; };\ntypedef double tn_row[TMP_N];\n#undef TMP_N"));
    CHECK(shows(&r, "(int)(sizeof(struct tn) + sizeof(tn_row))", "int 36"));
    CHECK(run_ok(&r, "struct mm { int later; };")); /* before the macro: untouched */
    CHECK(run_ok(&r, "#define later 5"));
    CHECK(run_ok(&r, "#undef later"));
    CHECK(shows(&r, "struct mm m0 = {4};\nm0.later", "int 4"));

    /* `return` at top level ends the cell. */
    CHECK(run_ok(&r, "int after = 1;\nif (after) return 5;\nafter = 2;"));
    CHECK(shows(&r, "after", "int 1"));

    /* Conditional compilation around definitions and statements alike. */
    CHECK(run_ok(&r, "#define USE_TWO 1\n#if USE_TWO\nint picked = 2;\npicked *= 10;\n#else\nint picked = 1;\npicked *= 100;\n#endif"));
    CHECK(shows(&r, "picked", "int 20"));

    /* Enums and typedef names the splitter must know in later cells. */
    CHECK(run_ok(&r, "enum color { RED, GREEN = 5, BLUE };\ntypedef double real;\nreal * rp = 0;"));
    CHECK(shows(&r, "real * rr = &x;\n*rr + BLUE", "double 7.5"));
    CHECK(run_ok(&r, "enum { LOW = 1, HIGH = 9 } level = HIGH, other = LOW;"));
    CHECK(shows(&r, "HIGH * 10 + LOW", "int 91"));  /* the constants without naming level */
    CHECK(shows(&r, "level + other", "int 10"));
    CHECK(shows(&r, "\"text\"", "string text"));
    CHECK(shows(&r, "q", "other 24 struct P"));

    /* Doubles of earlier cells as the second operand of a floating-point operation
     * (tcc 0.9.27 reads a PLT stub there unless the translator goes through a pointer),
     * struct members and parameters named like session variables, constant indices. */
    CHECK(run_ok(&r, "double lr = 0.5, g = 4;\ndouble hist[3] = {1, 2, 3};\nstruct Z { double lr; } z = {1.5};"));
    CHECK(shows(&r, "g * lr", "double 2"));
    CHECK(shows(&r, "(lr < g) + (g < lr)", "int 1"));
    CHECK(shows(&r, "hist[0] + hist[2] + z.lr + lr", "double 6"));
    CHECK(run_ok(&r, "double scale(double lr) { return lr * 2; }\ndouble both(void) { double g = 1; return g + lr; }"));
    CHECK(shows(&r, "scale(3) + both()", "double 7.5"));
    CHECK(run_ok(&r, "g = g * lr;\nfor (int j = 0; j < 3; j++) hist[j] = hist[j] * lr;"));
    CHECK(shows(&r, "g + hist[2]", "double 3.5"));

    /* A macro of an earlier cell that names such a variable is rewritten too; its
     * parameters are not. */
    CHECK(run_ok(&r, "#define DECAY(g) ((g) * lr)\n#define RATE lr"));
    CHECK(shows(&r, "DECAY(g) + 10 * RATE", "double 6")); /* g is 2, lr 0.5 */

    /* Typedef names of a header the cell includes: `point *pp;` declares. */
    char dir[] = "/tmp/cairn_cell_test_XXXXXX", path[256];
    {
        CHECK(mkdtemp(dir) != NULL);
        char code[512];
        snprintf(path, sizeof path, "%s/point.h", dir);
        FILE *f = fopen(path, "w");
        CHECK(f != NULL);
        if (f) {
            fputs("#ifndef POINT_H\n#define POINT_H\ntypedef struct { double x, y; } point;\n"
                  "static inline double point_norm2(point p) { return p.x * p.x + p.y * p.y; }\n#endif\n", f);
            fclose(f);
        }
        snprintf(code, sizeof code, "#include \"%s\"\npoint *pp = 0;\npoint q0 = {3, 4};", path);
        CHECK(run_ok(&r, code));
        CHECK(shows(&r, "pp = &q0;\npoint_norm2(*pp)", "double 25"));
        size_t n = 0;
        const char *const *m = cell_session_members(r.s, "point *", &n, NULL);
        CHECK(n == 2 && m && strcmp(m[1], "y") == 0);
        CHECK(cell_session_is_type(r.s, "point") && cell_session_is_type(r.s, "display_part") && !cell_session_is_type(r.s, "q0"));
    }

    /* What the rewrite touches, in the generated source itself. */
    {
        cell_unit u;
        CHECK(cell_translate(r.s, "double twice(double lr) { return 2 * lr; }\nstruct W { double lr; } w0;\n"
                                  "w0.lr = lr;\nstruct lr_tag { int a; };\n{ double g = 1; g += lr; }\ng *= 2;",
                             9999, &u) == 0);
        CHECK(u.source && strstr(u.source, "return 2 * lr;"));             /* the parameter */
        CHECK(u.source && strstr(u.source, "struct W { double lr; }"));    /* a member */
        CHECK(u.source && strstr(u.source, "w0.lr = (*cairn_ref_lr);"));   /* member, then the variable */
        CHECK(u.source && strstr(u.source, "g += (*cairn_ref_lr);"));      /* a local g shadows only g */
        CHECK(u.source && strstr(u.source, "(*cairn_ref_g) *= 2;"));       /* after the block, g is global again */
        CHECK(u.source && strstr(u.source, "static __typeof__(lr) *const cairn_ref_lr = &lr;"));
        cell_unit_free(&u);
        CHECK(cell_translate(r.s, "double scaled(double lr);\ng = g * lr;", 9997, &u) == 0);
        CHECK(u.source && strstr(u.source, "(*cairn_ref_g) = (*cairn_ref_g) * (*cairn_ref_lr);")); /* a prototype's parameter ends with it */
        cell_unit_free(&u);
        CHECK(cell_translate(r.s, "for (double lr = 0; lr < 1; lr += 0.5) g += lr;\ng += lr;", 9996, &u) == 0);
        CHECK(u.source && strstr(u.source, "lr += 0.5) (*cairn_ref_g) += lr;")); /* the loop's own lr */
        CHECK(u.source && strstr(u.source, "(*cairn_ref_g) += (*cairn_ref_lr);"));  /* after the loop: the global */
        cell_unit_free(&u);
        CHECK(cell_translate(r.s, "for (int lr = 0; lr < 2; lr++) {\n  g += lr;\n}\nif (g) for (int lr = 1; lr < 2; lr++) if (lr) g += lr;\ng *= lr;", 9995, &u) == 0);
        CHECK(u.source && strstr(u.source, "  (*cairn_ref_g) += lr;\n}") && strstr(u.source, "if (lr) (*cairn_ref_g) += lr;") &&
              strstr(u.source, "(*cairn_ref_g) *= (*cairn_ref_lr);"));
        cell_unit_free(&u);
        CHECK(cell_translate(r.s, "size_t off;\noff = offsetof(struct Z, lr);\ngoto lr;\nlr: g = lr;", 9998, &u) == 0);
        CHECK(u.source && strstr(u.source, "offsetof(struct Z, lr)") && strstr(u.source, "goto lr;") &&
              strstr(u.source, "lr: (*cairn_ref_g) = (*cairn_ref_lr);"));
        cell_unit_free(&u);
    }

    /* sizeof an earlier array stays a constant expression; addresses of earlier
     * variables in an array initializer. */
    CHECK(run_ok(&r, "int sized[sizeof hist / sizeof hist[0]];\ndouble *refs[] = {&lr, &g};"));
    CHECK(shows(&r, "(int)(sizeof sized / sizeof sized[0]) + *refs[0] + (refs[1] == &g)", "double 4.5")); /* 3 + lr + 1 */

    /* A designated initializer leaves the size to the compiler: later cells see `[]`. */
    CHECK(run_ok(&r, "int des[] = {[2] = 7};\ndouble dz[] = {[1] = 2.5};"));
    CHECK(shows(&r, "des[2] + dz[1] * lr", "double 8.25"));

    /* The type of a member chain, for completion after `a.b.`. */
    CHECK(run_ok(&r, "struct inner { double val; int tag; };\nstruct outer { struct inner in[2]; struct outer *next; } chain[3];"));
    {
        char *t1 = cell_session_expression_type(r.s, "chain[1].in[0]");
        char *t2 = cell_session_expression_type(r.s, "chain[0].next->next");
        char *t3 = cell_session_expression_type(r.s, "chain[2].in[1].val");
        char *t4 = cell_session_expression_type(r.s, "nosuch.x");
        CHECK(t1 && strcmp(t1, "struct inner") == 0);
        CHECK(t2 && strcmp(t2, "struct outer *") == 0);
        CHECK(t3 && strcmp(t3, "double") == 0);
        CHECK(t4 == NULL);
        free(t1);
        free(t2);
        free(t3);
    }

    /* Globals named like C library functions (math.h's gamma and y1, index): the
     * header's declaration is hidden, the cell's variable is the only one. */
    CHECK(run_ok(&r, "double gamma = 0.9, y1 = 2;\nint index = 3;"));
    CHECK(shows(&r, "gamma * y1 + index", "double 4.7999999999999998"));
    CHECK(run_ok(&r, "#include <time.h>\ndouble time = 5;\ndouble twice_time(void) { return 2 * time; }"));
    CHECK(shows(&r, "twice_time() + time + exp(0.0)", "double 16"));

    /* Runtime types: mat. */
    CHECK(run_ok(&r, "mat A = mat_zeros(2, 3);"));
    CHECK(shows(&r, "A", "mat 2x3"));
    CHECK(run_ok(&r, "mat_free(&A);"));

    /* Diagnostics: cell line and column, the quoted line; state unchanged. */
    CHECK(run(&r, "int fine = 1;\nint z = not_defined + 1;") == 2);
    CHECK(r.error_line == 2 && r.error_column == 9 && r.explained && strstr(r.explained, "not_defined") &&
          strstr(r.explained, "  int z = not_defined + 1;"));
    CHECK(run(&r, "fine") == 2); /* the failed cell defined nothing */
    CHECK(run(&r, "int y2 = 1;\n\ny2 = y2 +;\n") == 2 && r.error_line == 3);
    CHECK(run(&r, "x = 1;\nif (x) {\n  x = 2;\n") == 1 && r.error_line == 2 && r.explained && strstr(r.explained, "if (x) {"));
    CHECK(run(&r, "void takes(int *p) { (void)p; }\nstruct P sp;\n  takes(sp);") == 2 && r.error_line == 3 && r.error_column == 3);
    CHECK(run(&r, "x = 1\ny = 2;") == 1 && r.error_line == 2 && r.explained && strstr(r.explained, "end of line 1"));
    CHECK(run(&r, "for (int j = 0; j < 3; j++) {\n  printf(\"%d\\n\", j)\n}") == 2 && r.error_line == 2 && r.error_column == 20);
    CHECK(run(&r, "static guess = 3;") == 1 && r.explained && strstr(r.explained, "needs a type"));
    CHECK(shows(&r, "x", "double 1.5"));

    /* Array sizes not written in digits are measured (sizeof probes) and written into
     * the type: %whos, inspect and shown values know the shape; later cells keep the
     * declaration as written; a new size is noted. */
    {
        cell_unit u;
        CHECK(cell_translate(r.s, "#define ADIM 5\ndouble adims[ADIM][2 * ADIM];", 901, &u) == 0 && u.source &&
              strstr(u.source, "cairn_dims_adims[] = {sizeof adims, sizeof adims[0], sizeof adims[0][0]}"));
        cell_unit_free(&u);
        CHECK(run_ok(&r, "#define ADIM 5\ndouble adims[ADIM][2 * ADIM];\nint adigits[4];"));
        const cell_symbol *y = cell_session_find(r.s, "adims");
        CHECK(y && y->type && strcmp(y->type, "double [5][10]") == 0);
        CHECK(y && y->declaration && strstr(y->declaration, "[ADIM][2 * ADIM]"));
        y = cell_session_find(r.s, "adigits");
        CHECK(y && y->type && strcmp(y->type, "int [4]") == 0);
        CHECK(cell_session_find(r.s, "cairn_dims_adims") == NULL); /* the probe stays out of the session */
        CHECK(shows(&r, "sizeof adims / sizeof adims[0][0]", "uint 50"));
        CHECK(run_ok(&r, "#undef ADIM\n#define ADIM 3\ndouble adims[ADIM][2 * ADIM];") && r.notes &&
              strstr(r.notes, "adims was double [5][10]") && strstr(r.notes, "now double [3][6]"));
        CHECK(run_ok(&r, "double adims[ADIM][2 * ADIM];") && (!r.notes || !strstr(r.notes, "adims was"))); /* same shape: no note */
        /* In a group tcc skipped, the probe is skipped with the array. */
        CHECK(run_ok(&r, "#if 0\nint askipped[ADIM];\n#endif\n#ifdef ADIM\nint akept[ADIM + 1];\n#endif"));
        CHECK(cell_session_find(r.s, "askipped") == NULL);
        y = cell_session_find(r.s, "akept");
        CHECK(y && y->type && strcmp(y->type, "int [4]") == 0);
    }

    /* C23 auto: the type comes from the initializer and is named for later cells. */
    {
        cell_unit u;
        CHECK(cell_translate(r.s, "auto az = 3.5;", 900, &u) == 0 && u.source && strstr(u.source, "__typeof__(_Generic((0, 3.5)") &&
              strstr(u.source, "cairn_auto_type_az") && !strstr(u.source, "auto az"));
        CHECK(u.ndefined == 2 && u.defined[0].type && strcmp(u.defined[0].type, "auto") == 0);
        cell_unit_free(&u);
        CHECK(run_ok(&r, "auto az = 3.5;"));
        const cell_symbol *y = cell_session_find(r.s, "az");
        CHECK(y && y->type && strcmp(y->type, "double") == 0 && y->declaration && strcmp(y->declaration, "extern double az;") == 0);
        CHECK(cell_session_find(r.s, "cairn_auto_type_az") == NULL); /* the probe stays out of the session */
        CHECK(shows(&r, "az * 2", "double 7"));
        CHECK(run_ok(&r, "auto az = 1;") && r.notes && strstr(r.notes, "az was double") && strstr(r.notes, "now int"));
        CHECK(shows(&r, "az + 1", "int 2"));
        y = cell_session_find(r.s, "az");
        CHECK(y && y->type && strcmp(y->type, "int") == 0);
        /* Arrays and string literals decay, const stays on the variable, char stays char. */
        CHECK(run_ok(&r, "int aarr[3] = {4, 5, 6};\nauto ap = &aarr[1];\nauto adecay = aarr;\nauto astr = \"abc\";\nconst auto ak = 2;\nchar ach = 'q';\nauto ac = ach;"));
        y = cell_session_find(r.s, "ap");
        CHECK(y && y->type && strcmp(y->type, "int *") == 0);
        y = cell_session_find(r.s, "adecay");
        CHECK(y && y->type && strcmp(y->type, "int *") == 0);
        y = cell_session_find(r.s, "astr");
        CHECK(y && y->type && strcmp(y->type, "char *") == 0);
        y = cell_session_find(r.s, "ak");
        CHECK(y && y->type && strcmp(y->type, "const int") == 0);
        y = cell_session_find(r.s, "ac");
        CHECK(y && y->type && strcmp(y->type, "char") == 0);
        CHECK(shows(&r, "*ap + adecay[2] + ak", "int 13"));
        CHECK(shows(&r, "astr", "string abc"));
        y = cell_session_find(r.s, "ak"); /* const auto is const for later cells (tcc only warns on writes) */
        CHECK(y && y->declaration && strcmp(y->declaration, "extern const int ak;") == 0);
        /* Runtime and session types keep their names; a struct keeps its type. */
        CHECK(run_ok(&r, "auto am = mat_zeros(2, 3);"));
        y = cell_session_find(r.s, "am");
        CHECK(y && y->type && strcmp(y->type, "mat") == 0);
        CHECK(shows(&r, "am", "mat 2x3"));
        CHECK(run_ok(&r, "typedef struct apt { double x, y; } apt;\napt ap0 = {1, 2};\nauto ap1 = ap0;\nauto app = &ap1;"));
        y = cell_session_find(r.s, "ap1");
        CHECK(y && y->type && strcmp(y->type, "apt") == 0);
        y = cell_session_find(r.s, "app");
        CHECK(y && y->type && strcmp(y->type, "apt *") == 0);
        CHECK(run_ok(&r, "auto ap2 = ap1;")); /* apt comes from the session now */
        y = cell_session_find(r.s, "ap2");
        CHECK(y && y->type && strcmp(y->type, "apt") == 0);
        CHECK(shows(&r, "app->y + ap2.x", "double 3"));
        /* Inside functions and statements: a block-scope auto, a for loop, the old storage class. */
        CHECK(run_ok(&r, "double ahalf(int n) { auto h = n / 2.0; auto int k2 = 1; return h * k2; }"));
        CHECK(shows(&r, "ahalf(3)", "double 1.5"));
        CHECK(run_ok(&r, "double asum = 0;\nfor (auto t = 0.25; t < 1; t += 0.5) asum += t;"));
        CHECK(shows(&r, "asum", "double 1"));
        /* What auto cannot do says so. */
        CHECK(run(&r, "auto anone;") == 1 && r.explained && strstr(r.explained, "needs an initializer"));
        CHECK(run(&r, "auto a1 = 1, a2 = 2.0;") == 1 && r.explained && strstr(r.explained, "one variable at a time"));
        CHECK(run(&r, "void af(void) { auto b1 = 1, b2 = 2; }") == 1 && r.explained && strstr(r.explained, "one variable at a time"));
        CHECK(run(&r, "auto *aptr = &aarr[0];") == 1 && r.explained && strstr(r.explained, "plain name"));
        CHECK(run(&r, "double (*afp)(double) = 0;\nauto afn = afp;") == 3 && r.explained && strstr(r.explained, "afn") &&
              r.error_line == 2 && r.error_column == 6);
        CHECK(cell_session_find(r.s, "afn") == NULL && cell_session_find(r.s, "afp") == NULL); /* the cell did not run */
        /* Inside a conditional group tcc skips: nothing to name, nothing kept. */
        CHECK(run_ok(&r, "#if 0\nauto askip = 1;\n#endif\nauto akept = 2u;"));
        CHECK(cell_session_find(r.s, "askip") == NULL);
        y = cell_session_find(r.s, "akept");
        CHECK(y && y->type && strcmp(y->type, "unsigned int") == 0);
        CHECK(run_ok(&r, "#ifdef ANOPE\nauto acond = 2.5f;\n#else\nauto acond = 1;\n#endif"));
        y = cell_session_find(r.s, "acond");
        CHECK(y && y->type && strcmp(y->type, "int") == 0 && y->declaration && strcmp(y->declaration, "extern int acond;") == 0);
        CHECK(shows(&r, "acond + 1", "int 2"));
    }

    /* Enum values show by name: GREEN (1), or the number and the type. */
    CHECK(shows(&r, "enum ecolor {ERED, EGREEN, EBLUE};\nenum ecolor ec = EGREEN;\nec", "enum enum ecolor 1 EGREEN of 3"));
    CHECK(shows(&r, "ec", "enum enum ecolor 1 EGREEN of 3"));
    CHECK(shows(&r, "ec = 5;\nec", "enum enum ecolor 5 - of 3"));
    CHECK(shows(&r, "typedef enum { ELOW = -1, EMID, EHIGH = 10 } elevel;\nelevel el = EHIGH;\nel", "enum elevel 10 EHIGH of 3"));
    CHECK(shows(&r, "typedef enum ecolor ecolor_t;\necolor_t et = EBLUE;\net", "enum ecolor_t 2 EBLUE of 3"));
    CHECK(shows(&r, "const enum ecolor ecc = ERED;\necc", "enum const enum ecolor 0 ERED of 3"));
    CHECK(shows(&r, "ec + 1", "uint 6"));  /* an expression of an enum: a number as before */
    CHECK(shows(&r, "int eint = 4;\neint", "int 4"));
    /* A struct with an enum member is a struct. */
    CHECK(shows(&r, "typedef struct { enum ecolor c; int n; } estruct;\nestruct es = {EBLUE, 1};\nes", "other 8 estruct"));
    /* The same names for %whos and inspect (values known without the compiler only). */
    {
        int is_enum = 0;
        char *nm = cell_session_enum_name(r.s, "ecolor_t", 2, &is_enum);
        CHECK(is_enum && nm && strcmp(nm, "EBLUE") == 0);
        free(nm);
        nm = cell_session_enum_name(r.s, "const enum ecolor", 7, &is_enum);
        CHECK(is_enum && nm == NULL);
        nm = cell_session_enum_name(r.s, "elevel", -1, &is_enum);
        CHECK(is_enum && nm && strcmp(nm, "ELOW") == 0);
        free(nm);
        nm = cell_session_enum_name(r.s, "elevel", 0, &is_enum);
        CHECK(is_enum && nm && strcmp(nm, "EMID") == 0);
        free(nm);
        nm = cell_session_enum_name(r.s, "enum ecolor *", 0, &is_enum);
        CHECK(!is_enum && nm == NULL);
        nm = cell_session_enum_name(r.s, "int", 0, &is_enum);
        CHECK(!is_enum && nm == NULL);
        CHECK(run_ok(&r, "enum eflags { EF_A = 1, /* EF_NOT, */ EF_B = 'b', // EF_NOT2,\n EF_C = 0x10, EF_D };"));
        nm = cell_session_enum_name(r.s, "enum eflags", 17, &is_enum);
        CHECK(is_enum && nm && strcmp(nm, "EF_D") == 0);
        free(nm);
        nm = cell_session_enum_name(r.s, "enum eflags", 98, &is_enum);
        CHECK(is_enum && nm && strcmp(nm, "EF_B") == 0);
        free(nm);
        CHECK(run_ok(&r, "enum eshift { ES_A = 1 << 2, ES_B };"));
        nm = cell_session_enum_name(r.s, "enum eshift", 4, &is_enum);
        CHECK(!is_enum && nm == NULL); /* 1 << 2 needs the compiler */
        CHECK(shows(&r, "enum eshift esv = ES_B;\nesv", "enum enum eshift 5 ES_B of 2")); /* which the trailing value has */
    }

    /* Redefining the same names again and again does not grow the unit: the prelude
     * holds the newest definition of each name only. */
    {
        size_t sizes[3] = {0, 0, 0};
        int all_ran = 1;
        for (int i = 0; i < 300 && all_ran; i++) {
            char code[256];
            snprintf(code, sizeof code, "struct R { int a; int b%d; };\ndouble again = %d;\n#define AGAIN %d\nint twice_again(void) { return AGAIN; }", i % 3, i, i);
            all_ran = run_ok(&r, code);
        }
        CHECK(all_ran);
        for (int k = 0; k < 3; k++) {
            cell_unit u;
            CHECK(cell_translate(r.s, "again + AGAIN + twice_again() + sizeof(struct R)", 100000 + k, &u) == 0);
            sizes[k] = u.source ? strlen(u.source) : 0;
            cell_unit_free(&u);
            CHECK(run_ok(&r, "struct R { int a; int b2; };\ndouble again = 299;\n#define AGAIN 299"));
        }
        CHECK(sizes[0] > 0 && sizes[0] == sizes[1] && sizes[1] == sizes[2]);
        CHECK(shows(&r, "again + AGAIN + twice_again()", "double 897"));
    }

    /* Conditional groups: what tcc skipped defines nothing, for later cells either. */
    {
        runner c;
        memset(&c, 0, sizeof c);
        c.s = cell_session_new();
        CHECK(run_ok(&c, "#if 0\nint hidden = 3;\n#endif\nint shown = 4;"));
        CHECK(cell_session_find(c.s, "hidden") == NULL && cell_session_find(c.s, "shown") != NULL);
        CHECK(run(&c, "hidden") == 2 && c.explained && strstr(c.explained, "'hidden' undeclared"));
        CHECK(shows(&c, "shown", "int 4"));

        /* #ifdef / #else: the group tcc compiled gives the value and the type. */
        const char *pick = "#ifdef WANT_ONE\ndouble dual = 1.5;\nint pick = 1;\n#else\nint dual = 2;\nint pick = 2;\n#endif";
        CHECK(run_ok(&c, pick));
        CHECK(shows(&c, "pick", "int 2"));
        const cell_symbol *y = cell_session_find(c.s, "dual");
        CHECK(y && y->type && strcmp(y->type, "int") == 0);
        CHECK(run_ok(&c, "#define WANT_ONE"));
        CHECK(run_ok(&c, pick));
        CHECK(shows(&c, "pick * 10 + dual", "double 11.5"));
        y = cell_session_find(c.s, "dual");
        CHECK(y && y->type && strcmp(y->type, "double") == 0);

        /* A definition in a skipped group does not replace an older one: not a
         * variable, a macro, a type or a function. */
        CHECK(run_ok(&c, "int keep = 7;\n#define LEVEL 1\nstruct kept { int a; };\nint kf(void) { return 5; }"));
        int keep_cell = c.number;
        CHECK(run_ok(&c, "#if 0\ndouble keep = 1.5;\n#define LEVEL 5\nstruct kept { double x, y; };\nint kf(void) { return 6; }\n#endif\n"
                         "int level_here = LEVEL;"));
        CHECK(shows(&c, "level_here", "int 1")); /* the older macro, in the same cell */
        CHECK(shows(&c, "keep + LEVEL + kf() + (int)sizeof(struct kept)", "int 17"));
        y = cell_session_find(c.s, "keep");
        CHECK(y && y->type && strcmp(y->type, "int") == 0 && y->cell == keep_cell);
        /* ... and one in a compiled group does. */
        CHECK(run_ok(&c, "#if LEVEL == 1\n#define LEVEL 3\ndouble keep = 0.25;\n#endif"));
        CHECK(shows(&c, "keep * LEVEL", "double 0.75"));

        /* Macros, typedef names, struct members and void functions of a skipped group
         * stay unknown: `foo * bar` stays a product. */
        CHECK(run_ok(&c, "double foo = 6, bar = 7;"));
        CHECK(run_ok(&c, "#ifdef NOT_DEFINED\n#define HID 3\ntypedef int foo;\nstruct hid { int q; };\nvoid quiet(void) {}\n#endif"));
        CHECK(cell_session_find(c.s, "HID") == NULL && !cell_session_is_type(c.s, "foo") && cell_session_find(c.s, "quiet") == NULL);
        size_t nm = 9;
        CHECK(cell_session_members(c.s, "struct hid", &nm, NULL) == NULL && nm == 0);
        CHECK(shows(&c, "foo * bar", "double 42"));
        CHECK(run(&c, "HID") == 2);

        /* Nested groups, #elif chains, defined() with a macro of an earlier cell. */
        CHECK(run_ok(&c, "#define N 3"));
        CHECK(run_ok(&c, "#if defined(N) && N > 2\n#  ifdef NOT_DEFINED\nint depth = 1;\n#  elif N == 3\nint depth = 2;\n"
                         "typedef double real_t;\n#  else\nint depth = 3;\n#  endif\n#elif 1\nint depth = 4;\n#else\nint depth = 5;\n#endif"));
        CHECK(shows(&c, "depth", "int 2"));
        CHECK(cell_session_is_type(c.s, "real_t"));
        CHECK(shows(&c, "real_t * rt = 0;\nrt == 0", "int 1"));

        /* #undef in a skipped group leaves the macro; in a compiled one it removes it. */
        CHECK(run_ok(&c, "#define T2 2\n#ifdef NOT_DEFINED\n#undef T2\n#endif"));
        CHECK(cell_session_find(c.s, "T2") != NULL);
        CHECK(shows(&c, "T2", "int 2"));
        CHECK(run_ok(&c, "#define T3 3\n#if 1\n#undef T3\n#endif"));
        CHECK(cell_session_find(c.s, "T3") == NULL && run(&c, "T3") == 2);

        /* An include tcc skipped (the file does not exist) is not kept for later cells. */
        CHECK(run_ok(&c, "#if 0\n#include \"no_such_header_cond.h\"\n#include <no_such_system_header.h>\n#endif\nint after_inc = 1;"));
        CHECK(shows(&c, "after_inc", "int 1"));
        /* The same header in both groups: included whichever runs. */
        const char *both = "#ifdef NOT_DEFINED\n#include <ctype.h>\n#else\n#include <ctype.h>\n#endif\nint up = toupper('a');";
        {
            cell_unit u;
            CHECK(cell_translate(c.s, both, 60, &u) == 0);
            const char *first = u.source ? strstr(u.source, "#include <ctype.h>") : NULL;
            CHECK(first && strstr(first + 1, "#include <ctype.h>"));
            cell_unit_free(&u);
        }
        CHECK(run_ok(&c, both));
        CHECK(shows(&c, "up + toupper('b')", "int 131"));
        /* A default for a macro: a later definition wins, as in one C file. */
        const char *dflt = "#ifndef SIZE_D\n#define SIZE_D 8\n#endif\nint size_d = SIZE_D;";
        CHECK(run_ok(&c, dflt));
        CHECK(shows(&c, "size_d", "int 8"));
        CHECK(run_ok(&c, "#undef SIZE_D\n#define SIZE_D 16"));
        CHECK(run_ok(&c, dflt));
        CHECK(shows(&c, "size_d + SIZE_D", "int 32"));
        runner_free(&c);
    }

    /* Type pruning: a unit carries only the session types it reaches. */
    {
        runner t;
        memset(&t, 0, sizeof t);
        t.s = cell_session_new();
        CHECK(run_ok(&t, "int xv = 0;"));
        CHECK(run_ok(&t, "struct T1 { int a; };\nstruct T2 { double b; };\ntypedef struct T3 { struct T2 inner; } T3;"));
        CHECK(run_ok(&t, "T3 t3v;\nstruct T1 t1v;"));
        cell_unit u;
        CHECK(cell_translate(t.s, "xv = 1;", 50, &u) == 0);
        CHECK(u.source && !strstr(u.source, "struct T1") && !strstr(u.source, "struct T2") && !strstr(u.source, "T3"));
        cell_unit_free(&u);
        CHECK(cell_translate(t.s, "t3v.inner.b = 1;", 51, &u) == 0);
        CHECK(u.source && strstr(u.source, "struct T3 {") && strstr(u.source, "struct T2 {") && !strstr(u.source, "struct T1"));
        cell_unit_free(&u);
        CHECK(shows(&t, "t3v.inner.b = 2.5;\nt3v.inner.b", "double 2.5"));
        /* A quoted header of the session may use any cell type: all of them stay. */
        char hpath[300];
        snprintf(hpath, sizeof hpath, "%s/uses_t1.h", dir);
        FILE *f = fopen(hpath, "w");
        CHECK(f != NULL);
        if (f) {
            fputs("static inline int t1_get(struct T1 *p) { return p->a; }\n", f);
            fclose(f);
        }
        char code[400];
        snprintf(code, sizeof code, "#include \"%s\"", hpath);
        CHECK(run_ok(&t, code));
        CHECK(cell_translate(t.s, "xv = 1;", 52, &u) == 0);
        CHECK(u.source && strstr(u.source, "struct T1 {") && strstr(u.source, "struct T2 {") && strstr(u.source, "struct T3 {"));
        cell_unit_free(&u);
        CHECK(shows(&t, "t1v.a = 4;\nt1_get(&t1v)", "int 4"));
        runner_free(&t);
        remove(hpath);
    }

    /* 500 cells: each defines a variable and uses the previous one. */
    double early_translate[10], early_compile[10], late_translate[10], late_compile[10];
    int ok = 1;
    CHECK(run_ok(&r, "int v0 = 0;"));
    for (int i = 1; i <= 500 && ok; i++) {
        char code[256];
        snprintf(code, sizeof code, "int v%d = v%d + %d;\nstruct S%d { int a; };\n#define M%d %d\nint f%d(void) { return v%d; }", i,
                 i - 1, i, i % 7, i % 5, i, i, i);
        ok = run_ok(&r, code);
        if (i <= 10) {
            early_translate[i - 1] = r.translate_ms;
            early_compile[i - 1] = r.compile_ms;
        } else if (i > 490) {
            late_translate[i - 491] = r.translate_ms;
            late_compile[i - 491] = r.compile_ms;
        }
    }
    CHECK(ok);
    CHECK(shows(&r, "v500 + f500() - 2 * 125250", "int 0"));
    printf("cells 1-10: translate %.3f ms, compile %.3f ms (medians); cells 491-500: translate %.3f ms, compile %.3f ms\n",
           median10(early_translate), median10(early_compile), median10(late_translate), median10(late_compile));

    runner_free(&r);
    remove(path); /* the include stays in the session prelude until the end */
    rmdir(dir);
    return check_summary("cell_translate");
}
