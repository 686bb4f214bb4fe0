/* test_mat_tcc.c — the matrix API as a notebook cell sees it: code compiled by libtcc
 * 0.9.27 against runtime/include (MAT() compound literals, mat passed and returned by
 * value between tcc-compiled and gcc-compiled code, views, products, reductions,
 * display), exactly the path the executor uses for cells. */
#include "cairn.h"
#include "check.h"

#include <libtcc.h>

/* The kernel test target defines both; the fallbacks keep the test meaningful if built alone. */
#ifndef CAIRN_TCC_LIB_DIR
#define CAIRN_TCC_LIB_DIR "/usr/lib/x86_64-linux-gnu/tcc"
#endif
#ifndef CAIRN_RUNTIME_INCLUDE_DIR
#define CAIRN_RUNTIME_INCLUDE_DIR FIXTURES_DIR "/../../runtime/include"
#endif

static char tcc_errors[4096];

static void on_tcc_error(void *opaque, const char *msg)
{
    (void)opaque;
    size_t n = strlen(tcc_errors);
    snprintf(tcc_errors + n, sizeof tcc_errors - n, "%s\n", msg);
}

static const char *cell_source =
    "#include <cairn.h>\n"
    "int failures;\n"
    "char *text;\n"
    "static void expect(int ok, int line) { if (!ok) { failures++; printf(\"cell check failed at line %d\\n\", line); } }\n"
    "int run(void) {\n"
    "    mat A = MAT(2, 3, 1, 2, 3,\n"
    "                      4, 5, 6);\n"
    "    expect(A.rows == 2 && A.cols == 3 && mat_get(A, 1, 2) == 6, __LINE__);\n"
    "    mat B = mat_transpose(A);\n"
    "    mat C = mat_mul(A, B);\n"
    "    expect(C.rows == 2 && mat_get(C, 0, 0) == 14 && mat_get(C, 0, 1) == 32 && mat_get(C, 1, 1) == 77, __LINE__);\n"
    "    mat G = mat_gram(A);\n"
    "    expect(mat_get(G, 2, 0) == 27 && mat_get(G, 0, 2) == 27, __LINE__);\n"
    "    mat col = mat_col(A, 1);\n"
    "    mat_set(col, 1, 0, 50);\n"
    "    expect(*mat_ptr(A, 1, 1) == 50 && col.stride == 3, __LINE__);\n"
    "    mat s = mat_sum(A, 0);\n"
    "    expect(s.cols == 3 && s.data[1] == 52, __LINE__);\n"
    "    mat D = mat_sub(A, mat_mean(A, 0));\n"
    "    expect(fabs(mat_sum_all(D)) < 1e-12, __LINE__);\n"
    "    expect(mat_norm(MAT(1, 2, 3, 4), \"fro\") == 5, __LINE__);\n"
    "    rng_seed(42);\n"
    "    double u = rng_uniform();\n"
    "    expect(u == 0.08386297105988216, __LINE__);\n"
    "    mat bad = MAT(2, 2, 1, 2, 3);\n"
    "    expect(mat_is_empty(bad) && strstr(cairn_last_error(), \"needs 4 values, 3 were given\") != NULL, __LINE__);\n"
    "    text = mat_format_text(A);\n"
    "    mat_free(&B); mat_free(&C); mat_free(&G); mat_free(&s); mat_free(&D); mat_free(&A);\n"
    "    expect(mat_is_empty(A), __LINE__);\n"
    "    return failures;\n"
    "}\n";

/* Every runtime symbol the cell uses: the executor resolves them the same way. */
static const struct {
    const char *name;
    const void *addr;
} symbols[] = {
    {"mat_from_list", (const void *)mat_from_list}, {"mat_get", (const void *)mat_get},
    {"mat_set", (const void *)mat_set}, {"mat_transpose", (const void *)mat_transpose},
    {"mat_mul", (const void *)mat_mul}, {"mat_gram", (const void *)mat_gram},
    {"mat_col", (const void *)mat_col}, {"mat_sum", (const void *)mat_sum},
    {"mat_sub", (const void *)mat_sub}, {"mat_mean", (const void *)mat_mean},
    {"mat_sum_all", (const void *)mat_sum_all}, {"mat_norm", (const void *)mat_norm},
    {"rng_seed", (const void *)rng_seed}, {"rng_uniform", (const void *)rng_uniform},
    {"mat_is_empty", (const void *)mat_is_empty}, {"cairn_last_error", (const void *)cairn_last_error},
    {"mat_format_text", (const void *)mat_format_text}, {"mat_free", (const void *)mat_free},
};

int main(void)
{
    TCCState *s = tcc_new();
    CHECK(s != NULL);
    if (!s)
        return check_summary("mat_tcc");
    tcc_set_error_func(s, NULL, on_tcc_error);
    tcc_set_lib_path(s, CAIRN_TCC_LIB_DIR);
    tcc_add_include_path(s, CAIRN_RUNTIME_INCLUDE_DIR);
    tcc_set_output_type(s, TCC_OUTPUT_MEMORY);
    int compiled = tcc_compile_string(s, cell_source);
    CHECK(compiled == 0);
    for (size_t k = 0; k < sizeof symbols / sizeof symbols[0]; k++)
        tcc_add_symbol(s, symbols[k].name, symbols[k].addr);
    int relocated = compiled == 0 ? tcc_relocate(s, TCC_RELOCATE_AUTO) : -1;
    CHECK(relocated == 0);
    if (tcc_errors[0])
        fprintf(stderr, "tcc: %s", tcc_errors);
    if (compiled == 0 && relocated == 0) {
        int (*run)(void) = (int (*)(void))tcc_get_symbol(s, "run");
        CHECK(run != NULL);
        if (run) {
            CHECK(run() == 0);
            char **text = (char **)tcc_get_symbol(s, "text");
            CHECK(text && *text && strcmp(*text, "mat 2x3\n[[ 1.  2.  3.]\n [ 4. 50.  6.]]") == 0);
            if (text)
                free(*text);
        }
    }
    tcc_delete(s);
    return check_summary("mat_tcc");
}
