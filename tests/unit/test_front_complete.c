/* test_front_complete.c — completion and inspection without the executor
 * (kernel/front/complete.c): runtime API from the generated table, session names,
 * struct members of runtime types, magics, code-point cursor positions, the name under
 * or before the cursor (inside a call's arguments too). */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "front/front.h"

static int has(json_t *rep, const char *m)
{
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(rep, "matches"), i, v) if (strcmp(json_string_value(v), m) == 0) return 1;
    return 0;
}

static int geti(json_t *rep, const char *k)
{
    return (int)json_integer_value(json_object_get(rep, k));
}

int main(void)
{
    json_t *list = json_loads("[{\"name\":\"my_counter\",\"kind\":\"variable\",\"type\":\"int\"},"
                               "{\"name\":\"my_matrix\",\"kind\":\"variable\",\"type\":\"mat\"},"
                               "{\"name\":\"pm\",\"kind\":\"variable\",\"type\":\"const mat *\"},"
                               "{\"name\":\"twice\",\"kind\":\"function\",\"signature\":\"int twice(int v)\",\"doc\":\"\"}]",
                               0, NULL);
    CHECK(list != NULL);
    json_t *names = names_from_list(list);
    CHECK(names && json_object_size(names) == 4);

    json_t *r = complete_reply("x = my_", 7, names);
    CHECK(json_array_size(json_object_get(r, "matches")) == 2 && has(r, "my_counter") && has(r, "my_matrix"));
    CHECK(geti(r, "cursor_start") == 4 && geti(r, "cursor_end") == 7);
    json_decref(r);

    r = complete_reply("mat_zer", 7, names);
    CHECK(has(r, "mat_zeros"));
    json_decref(r);

    r = complete_reply("my_matrix.ro", 12, names);
    CHECK(json_array_size(json_object_get(r, "matches")) == 1 && has(r, "rows"));
    CHECK(geti(r, "cursor_start") == 10);
    json_decref(r);
    r = complete_reply("pm->co", 6, names);
    CHECK(has(r, "cols") && !has(r, "rows"));
    json_decref(r);
    r = complete_reply("my_counter.", 11, names); /* an int has no members */
    CHECK(json_array_size(json_object_get(r, "matches")) == 0);
    json_decref(r);

    r = complete_reply("%who", 4, names);
    CHECK(has(r, "%who") && has(r, "%whos") && geti(r, "cursor_start") == 0);
    json_decref(r);
    r = complete_reply("int x = 5 %wh", 13, names); /* modulo, not a magic */
    CHECK(!has(r, "%whos"));
    json_decref(r);

    /* "é" is 2 bytes but 1 code point */
    r = complete_reply("/* \xc3\xa9 */ twi", 11, names);
    CHECK(has(r, "twice") && geti(r, "cursor_start") == 8 && geti(r, "cursor_end") == 11);
    json_decref(r);

    r = complete_reply("whil", 4, names);
    CHECK(has(r, "while"));
    json_decref(r);
    r = complete_reply("", 0, names); /* nothing typed: no flood of every name */
    CHECK(json_array_size(json_object_get(r, "matches")) == 0);
    json_decref(r);

    char *n = complete_name_at("y = mat_ones(2, ", 16);
    CHECK(n && strcmp(n, "mat_ones") == 0);
    free(n);
    n = complete_name_at("twice(my_counter)", 8);
    CHECK(n && strcmp(n, "my_counter") == 0);
    free(n);
    n = complete_name_at("  42", 4);
    CHECK(n == NULL);

    r = inspect_reply("mat_zeros", 3, 0, names);
    CHECK(json_is_true(json_object_get(r, "found")));
    const char *text = json_string_value(json_object_get(json_object_get(r, "data"), "text/plain"));
    CHECK(text && strstr(text, "mat mat_zeros(int rows, int cols)") && strstr(text, "zeros"));
    json_decref(r);
    r = inspect_reply("twice(3)", 6, 0, names);
    text = json_string_value(json_object_get(json_object_get(r, "data"), "text/plain"));
    CHECK(text && strstr(text, "int twice(int v)"));
    json_decref(r);
    r = inspect_reply("nothing_known", 2, 0, names);
    CHECK(json_is_false(json_object_get(r, "found")));
    json_decref(r);

    /* Changes from a done applied to the front's copy: my_counter becomes a function,
     * pm is gone, fresh is new, the others stay once. */
    json_t *added = json_loads("[{\"name\":\"my_counter\",\"kind\":\"function\",\"signature\":\"int my_counter(void)\"},"
                               "{\"name\":\"fresh\",\"kind\":\"variable\",\"type\":\"double\"}]",
                               0, NULL);
    json_t *removed = json_loads("[\"pm\", \"never_there\"]", 0, NULL);
    names_apply(names, added, removed);
    CHECK(json_object_size(names) == 4);
    CHECK(json_object_get(names, "pm") == NULL && json_object_get(names, "fresh") != NULL &&
          json_object_get(names, "my_matrix") != NULL && json_object_get(names, "twice") != NULL);
    CHECK(strcmp(json_string_value(json_object_get(json_object_get(names, "my_counter"), "kind")), "function") == 0);
    r = complete_reply("my_c", 4, names);
    CHECK(json_array_size(json_object_get(r, "matches")) == 1 && has(r, "my_counter"));
    json_decref(r);
    r = complete_reply("pm->co", 6, names); /* pm is gone: no members to offer */
    CHECK(!has(r, "cols"));
    json_decref(r);
    r = inspect_reply("my_counter", 3, 0, names);
    CHECK(strstr(json_string_value(json_object_get(json_object_get(r, "data"), "text/plain")), "int my_counter(void)") != NULL);
    json_decref(r);
    json_t *before = json_deep_copy(names);
    names_apply(names, NULL, NULL); /* nothing changed */
    CHECK(json_equal(before, names));
    json_decref(before);
    json_decref(added);
    json_decref(removed);

    /* `?name` cells as in IPython. */
    char *target = NULL;
    int detail = -1;
    CHECK(help_request("?mat_zeros", &target, &detail) == 1 && strcmp(target, "mat_zeros") == 0 && detail == 0);
    free(target);
    CHECK(help_request("  my_matrix?? \n", &target, &detail) == 1 && strcmp(target, "my_matrix") == 0 && detail == 1);
    free(target);
    CHECK(help_request("??pts->next", &target, &detail) == 1 && strcmp(target, "pts->next") == 0 && detail == 1);
    free(target);
    CHECK(help_request("%timeit?", &target, &detail) == 1 && strcmp(target, "%timeit") == 0 && detail == 0);
    free(target);
    CHECK(help_request("? a.rows", &target, &detail) == 1 && strcmp(target, "a.rows") == 0);
    free(target);
    CHECK(help_request("x > 0 ? 1 : 2", &target, &detail) == 0);
    CHECK(help_request("?x?", &target, &detail) == 0);
    CHECK(help_request("???x", &target, &detail) == 0);
    CHECK(help_request("?", &target, &detail) == 0);
    CHECK(help_request("int x = 1; ?x", &target, &detail) == 0);
    CHECK(help_request("printf(\"?\")", &target, &detail) == 0);
    CHECK(help_request("a%b?", &target, &detail) == 0);

    json_decref(names);
    json_decref(list);
    return check_summary("front_complete");
}
