/* test_exec_prelude.c — the flattened, pruned prelude (kernel/exec/prelude.c).
 * A unit gets only the prototypes its text reaches (directly or through macro bodies:
 * MAT -> mat_from_list, isnan -> __isnan via `FUNC ## f`); every such unit must compile
 * without one diagnostic (an implicit declaration is a warning, and would make a
 * double-returning libc function return garbage), and libc calls must give their real
 * values. Units that the scan cannot vouch for (`##` in the unit, a header outside the
 * prelude) get the whole prelude. */
#include <libtcc.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "exec/exec_internal.h"

static int diagnostics;
static void on_diag(void *opaque, const char *msg)
{
    (void)opaque;
    fprintf(stderr, "  tcc: %s\n", msg);
    diagnostics++;
}

static void on_diag_first(void *opaque, const char *msg)
{
    char *first = opaque;
    if (!first[0])
        snprintf(first, 512, "%s", msg);
}

/* Compile `unit` (through prelude_rewrite) and call its `double f(void)`, or NAN. */
static double run_unit(const char *body, int *pruned)
{
    char unit[8192];
    snprintf(unit, sizeof unit, "#include \"cairn.h\"\n%s", body);
    char *src = prelude_rewrite(unit);
    *pruned = src && strstr(src, "\n#line 2\n") != NULL;
    TCCState *s = tcc_new();
    diagnostics = 0;
    tcc_set_lib_path(s, CAIRN_TCC_LIB_DIR);
    tcc_set_error_func(s, NULL, on_diag);
    tcc_set_output_type(s, TCC_OUTPUT_MEMORY);
    tcc_add_include_path(s, CAIRN_RUNTIME_INCLUDE_DIR);
    double v = NAN;
    if (tcc_compile_string(s, src ? src : unit) == 0 && diagnostics == 0 &&
        tcc_relocate(s, TCC_RELOCATE_AUTO) >= 0) {
        double (*f)(void) = (double (*)(void))tcc_get_symbol(s, "f");
        if (f)
            v = f();
    }
    tcc_delete(s);
    free(src);
    return v;
}

/* Compile only (runtime functions are not linked here); 1 if clean. */
static int compiles(const char *body, int *pruned)
{
    char unit[8192];
    snprintf(unit, sizeof unit, "#include \"cairn.h\"\n%s", body);
    char *src = prelude_rewrite(unit);
    *pruned = src && strstr(src, "\n#line 2\n") != NULL;
    TCCState *s = tcc_new();
    diagnostics = 0;
    tcc_set_lib_path(s, CAIRN_TCC_LIB_DIR);
    tcc_set_error_func(s, NULL, on_diag);
    tcc_set_output_type(s, TCC_OUTPUT_MEMORY);
    tcc_add_include_path(s, CAIRN_RUNTIME_INCLUDE_DIR);
    int ok = tcc_compile_string(s, src ? src : unit) == 0 && diagnostics == 0;
    tcc_delete(s);
    free(src);
    return ok;
}

int main(void)
{
    unsetenv("CAIRN_FLAT_PRELUDE");
    unsetenv("CAIRN_PRUNE_PRELUDE");
    prelude_start();
    prelude_prepare();
    int pruned = 0;

    /* A trivial unit: pruned, and none of libc's prototypes is in it. */
    char *t = prelude_rewrite("#include \"cairn.h\"\nint x = 1;\n");
    CHECK(t != NULL);
    CHECK(t && strstr(t, "\n#line 2\nint x = 1;\n") != NULL);
    CHECK(t && strstr(t, "printf") == NULL && strstr(t, "qsort") == NULL);
    CHECK(t && strlen(t) < 200);
    free(t);

    /* Only what the unit names: printf's prototype, not puts'. */
    t = prelude_rewrite("#include \"cairn.h\"\nvoid g(void) { printf(\"%d\", 1); }\n");
    CHECK(t && strstr(t, "printf") != NULL && strstr(t, " puts") == NULL);
    free(t);

    /* libc through plain calls and macros, with real values. */
    CHECK_NEAR(run_unit("double f(void) { return sqrt(16.0) + strtod(\"2.5\", NULL) + pow(2.0, 10); }", &pruned),
               4.0 + 2.5 + 1024.0, 0);
    CHECK(pruned);
    CHECK_NEAR(run_unit("double f(void) { return (isnan(NAN) != 0) + (isinf(INFINITY) != 0) + (isnan(1.0) != 0) + "
                        "floor(M_PI * 100) + fabs(-0.5) + (fpclassify(0.0) == FP_ZERO); }",
                        &pruned),
               1 + 1 + 0 + 314 + 0.5 + 1, 0);
    CHECK(pruned);
    CHECK_NEAR(run_unit("static int cmp(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }\n"
                        "double f(void) { int v[4] = {3, 1, 4, 2}; char s[8]; qsort(v, 4, sizeof v[0], cmp);\n"
                        "  memcpy(s, \"abc\", 4); srand(7); int r = rand(); (void)r;\n"
                        "  fprintf(stderr, \"%s\", \"\"); return v[0] * 1000 + v[3] * 100 + strlen(s) + atoi(\"20\"); }",
                        &pruned),
               1000 + 400 + 3 + 20, 0);
    CHECK(pruned);
    /* A user variadic function: va_list from stdarg.h (a header the prelude flattened). */
    CHECK_NEAR(run_unit("#include <stdarg.h>\n#include <stdio.h>\n"
                        "static double sum(int n, ...) { va_list ap; va_start(ap, n); double s = 0;\n"
                        "  for (int i = 0; i < n; i++) s += va_arg(ap, double); va_end(ap); return s; }\n"
                        "double f(void) { char b[32]; snprintf(b, sizeof b, \"%g\", sum(3, 1.0, 2.0, 4.5)); "
                        "return atof(b); }",
                        &pruned),
               7.5, 0);
    /* Headers outside the prelude (assert.h, errno.h, stddef.h's offsetof is inside). */
    CHECK_NEAR(run_unit("#include <assert.h>\n#include <errno.h>\n#include <stddef.h>\n"
                        "struct S { char c; double d; };\n"
                        "double f(void) { errno = 0; assert(errno == 0); strtod(\"1e999\", NULL); "
                        "return (errno == ERANGE) * 10 + offsetof(struct S, d); }",
                        &pruned),
               10 + 8, 0);
    CHECK(!pruned); /* assert.h is not in the prelude: whole prelude */
    /* `##` in the unit: names it pastes cannot be seen, so the whole prelude. */
    CHECK_NEAR(run_unit("#define CAT(a, b) a##b\ndouble f(void) { return CAT(sq, rt)(9.0); }", &pruned), 3.0, 0);
    CHECK(!pruned);
    /* glibc's __CONCAT pastes from the unit's own identifiers. */
    CHECK_NEAR(run_unit("double f(void) { return __CONCAT(sq, rt)(25.0); }", &pruned), 5.0, 0);
    CHECK(pruned);

    /* The runtime: macros (MAT -> mat_from_list), static inline bodies (mat_ptr). */
    CHECK(compiles("double f(void) { mat m = MAT(2, 2, 1.0, 2.0, 3.0, 4.0); mat z = mat_zeros(2, 3);\n"
                   "  return *mat_ptr(m, 1, 1) + z.cols + mat_is_contiguous(m); }",
                   &pruned));
    CHECK(pruned);

    /* Line numbers after the kept prototypes are the unit's own. */
    t = prelude_rewrite("#include \"cairn.h\"\nint g(void) { return abs(-1) + nosuch; }\n");
    TCCState *s = tcc_new();
    tcc_set_lib_path(s, CAIRN_TCC_LIB_DIR);
    static char first[512];
    first[0] = '\0';
    tcc_set_error_func(s, first, on_diag_first);
    tcc_set_output_type(s, TCC_OUTPUT_MEMORY);
    tcc_add_include_path(s, CAIRN_RUNTIME_INCLUDE_DIR);
    CHECK(t && tcc_compile_string(s, t) != 0);
    CHECK(strstr(first, ":2: error:") != NULL && strstr(first, "nosuch") != NULL);
    tcc_delete(s);
    free(t);
    return check_summary("exec_prelude");
}
