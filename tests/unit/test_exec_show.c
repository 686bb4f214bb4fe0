/* test_exec_show.c — cairn_show_value: the text a trailing expression shows.
 * The same macro is compiled by tcc in cells (tests/protocol/test_exec_show.py checks
 * that path through the kernel); here gcc compiles it, which checks the dispatch and the
 * formatting against what a C programmer would write. */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "cairn.h"
#include "check.h"

static char last_text[4096];
static int last_kind = -1;
static int bundles;

static void capture(int kind, const display_part *parts, int nparts, const char *display_id, int wait)
{
    (void)display_id;
    (void)wait;
    bundles++;
    last_kind = kind;
    last_text[0] = '\0';
    for (int i = 0; i < nparts; i++)
        if (strcmp(parts[i].mime, "text/plain") == 0) {
            size_t n = parts[i].size < sizeof last_text - 1 ? parts[i].size : sizeof last_text - 1;
            memcpy(last_text, parts[i].data, n);
            last_text[n] = '\0';
        }
}

#define SHOWS(expr, want)                                                                          \
    do {                                                                                           \
        last_text[0] = '\0';                                                                       \
        cairn_show_value(expr);                                                                    \
        CHECK(strcmp(last_text, want) == 0);                                                       \
        if (strcmp(last_text, want) != 0)                                                          \
            fprintf(stderr, "  %s: got [%s], want [%s]\n", #expr, last_text, want);               \
    } while (0)

struct point {
    int x, y;
};

int main(void)
{
    display_set_sink(capture);

    SHOWS(42, "42");
    SHOWS(-7, "-7");
    SHOWS(6 * 7L, "42");
    SHOWS(UINT64_MAX, "18446744073709551615");
    SHOWS((short)-3, "-3");
    SHOWS((unsigned char)200, "200");
    SHOWS((int8_t)-100, "-100");
    SHOWS(3.14, "3.14");
    SHOWS(0.1 + 0.2, "0.30000000000000004");
    SHOWS(2.0, "2.0");
    SHOWS(1e-300, "1e-300");
    SHOWS(-1.0 / 0.0, "-inf");
    SHOWS(2.5f, "2.5f");
    SHOWS(0.1f, "0.1f");
    SHOWS((_Bool)1, "true");
    SHOWS(1 == 2, "0"); /* C comparisons are ints */
    SHOWS((bool)(1 == 1), "true");
    SHOWS('a', "97");    /* a character constant is an int in C */
    SHOWS((char)'a', "'a' (97)");
    SHOWS((char)'\n', "'\\n' (10)");
    SHOWS("abc", "\"abc\"");
    SHOWS("tab\there \"q\"\n", "\"tab\\there \\\"q\\\"\\n\"");
    const char *none = NULL;
    SHOWS(none, "NULL");
    char buf[8] = "xy";
    SHOWS(buf, "\"xy\"");
    void *nil = NULL;
    SHOWS(nil, "NULL");

    int arr[3] = {1, 2, 3};
    cairn_show_value(arr);
    char want[64];
    snprintf(want, sizeof want, "(int *) %p", (void *)arr);
    CHECK(strcmp(last_text, want) == 0);

    struct point p = {1, 2};
    SHOWS(p, "<value of 8 bytes>");
    last_text[0] = '\0';
    cairn_show_value_typed(p, "struct point");
    CHECK(strcmp(last_text, "<struct point: 8 bytes>") == 0);
    struct point *pp = &p;
    cairn_show_value_typed(pp, "struct point *");
    snprintf(want, sizeof want, "(struct point *) %p", (void *)pp);
    CHECK(strcmp(last_text, want) == 0);

    /* A mat goes through mat_display_result: an execute_result naming its shape. */
    mat m = mat_zeros(2, 3);
    bundles = 0;
    cairn_show_value(m);
    CHECK(bundles == 1);
    CHECK(last_kind == DISPLAY_RESULT);
    CHECK(strstr(last_text, "2") != NULL && strstr(last_text, "3") != NULL);
    mat_free(&m);

    /* Every value is shown as the cell's result, once. */
    bundles = 0;
    cairn_show_value(1.5);
    CHECK(bundles == 1 && last_kind == DISPLAY_RESULT);

    char fmt[64];
    CHECK(strcmp(cairn_format_double(DBL_MAX, fmt, sizeof fmt), "1.7976931348623157e+308") == 0);
    CHECK(strcmp(cairn_format_double(-0.0, fmt, sizeof fmt), "-0.0") == 0);
    CHECK(strcmp(cairn_format_double(100.0, fmt, sizeof fmt), "100.0") == 0);
    return check_summary("exec_show");
}
