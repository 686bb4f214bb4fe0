/* test_front_history.c — history_request answers (kernel/front/history.c): tail, range,
 * search with glob/unique/n, output pairs, re-run lines replacing their entry. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "front/front.h"

static json_t *ask(const history *h, const char *json)
{
    json_t *req = json_loads(json, 0, NULL);
    json_t *rep = history_reply(h, req);
    json_decref(req);
    return json_object_get(rep, "history") ? rep : NULL;
}

static const char *input_at(json_t *rep, size_t i)
{
    json_t *e = json_array_get(json_object_get(rep, "history"), i);
    json_t *what = json_array_get(e, 2);
    return json_is_array(what) ? json_string_value(json_array_get(what, 0)) : json_string_value(what);
}

static int line_at(json_t *rep, size_t i)
{
    return (int)json_integer_value(json_array_get(json_array_get(json_object_get(rep, "history"), i), 1));
}

static size_t count(json_t *rep)
{
    return json_array_size(json_object_get(rep, "history"));
}

int main(void)
{
    history h = {0};
    history_add(&h, 1, "int a = 1;");
    history_add(&h, 2, "a + 1");
    history_set_output(&h, 2, "2");
    history_add(&h, 3, "int b = a;");
    history_add(&h, 4, "a + 1");
    history_set_output(&h, 4, "2");

    json_t *r = ask(&h, "{\"hist_access_type\":\"tail\",\"n\":2,\"output\":false}");
    CHECK(count(r) == 2 && line_at(r, 0) == 3 && strcmp(input_at(r, 1), "a + 1") == 0);
    CHECK(strcmp(json_string_value(json_object_get(r, "status")), "ok") == 0);
    json_decref(r);

    r = ask(&h, "{\"hist_access_type\":\"tail\",\"n\":1,\"output\":true}");
    json_t *pair = json_array_get(json_array_get(json_object_get(r, "history"), 0), 2);
    CHECK(json_array_size(pair) == 2 && strcmp(json_string_value(json_array_get(pair, 1)), "2") == 0);
    json_decref(r);

    r = ask(&h, "{\"hist_access_type\":\"range\",\"session\":0,\"start\":2,\"stop\":4}");
    CHECK(count(r) == 2 && line_at(r, 0) == 2 && line_at(r, 1) == 3);
    json_decref(r);
    r = ask(&h, "{\"hist_access_type\":\"range\",\"session\":7,\"start\":1}");
    CHECK(count(r) == 0); /* no such session */
    json_decref(r);

    r = ask(&h, "{\"hist_access_type\":\"search\",\"pattern\":\"a*\"}");
    CHECK(count(r) == 2 && line_at(r, 0) == 2 && line_at(r, 1) == 4);
    json_decref(r);
    r = ask(&h, "{\"hist_access_type\":\"search\",\"pattern\":\"*a*\",\"unique\":true}");
    CHECK(count(r) == 3 && line_at(r, 2) == 4); /* line 2 dropped: same input as 4 */
    json_decref(r);
    r = ask(&h, "{\"hist_access_type\":\"search\",\"pattern\":\"*\",\"n\":1}");
    CHECK(count(r) == 1 && line_at(r, 0) == 4);
    json_decref(r);

    /* a line re-added (re-run with the same count) replaces its entry and output */
    history_add(&h, 4, "a * 3");
    r = ask(&h, "{\"hist_access_type\":\"tail\",\"n\":1,\"output\":true}");
    pair = json_array_get(json_array_get(json_object_get(r, "history"), 0), 2);
    CHECK(strcmp(json_string_value(json_array_get(pair, 0)), "a * 3") == 0);
    CHECK(json_is_null(json_array_get(pair, 1)));
    json_decref(r);
    history_free(&h);

    /* The history file: earlier sessions are loaded, this one appends. */
    char path[] = "/tmp/cairn-history-test-XXXXXX";
    int fd = mkstemp(path);
    const char *earlier = "{\"s\":1,\"l\":1,\"i\":\"int old = 1;\"}\n"
                          "not json at all\n"
                          "{\"s\":2,\"l\":1,\"i\":\"old + 1\"}\n"
                          "{\"s\":2,\"l\":2,\"i\":\"old * 2\"}\n";
    CHECK(write(fd, earlier, strlen(earlier)) == (ssize_t)strlen(earlier));
    close(fd);
    history h2 = {0};
    history_open(&h2, path);
    CHECK(h2.session == 3 && h2.count == 3);
    history_add(&h2, 1, "int now = 2;");
    r = ask(&h2, "{\"hist_access_type\":\"tail\",\"n\":2}");
    CHECK(count(r) == 2 && strcmp(input_at(r, 0), "old * 2") == 0 && strcmp(input_at(r, 1), "int now = 2;") == 0);
    json_decref(r);
    r = ask(&h2, "{\"hist_access_type\":\"range\",\"session\":-1,\"start\":1}");
    CHECK(count(r) == 2 && strcmp(input_at(r, 0), "old + 1") == 0);
    json_decref(r);
    r = ask(&h2, "{\"hist_access_type\":\"range\",\"session\":-2,\"start\":1}");
    CHECK(count(r) == 1 && strcmp(input_at(r, 0), "int old = 1;") == 0);
    json_decref(r);
    r = ask(&h2, "{\"hist_access_type\":\"range\",\"session\":0,\"start\":1}");
    CHECK(count(r) == 1 && line_at(r, 0) == 1);
    json_decref(r);
    history_free(&h2);
    history h3 = {0};
    history_open(&h3, path); /* the next kernel sees what h2 wrote */
    CHECK(h3.session == 4 && h3.count == 4);
    r = ask(&h3, "{\"hist_access_type\":\"search\",\"pattern\":\"int now*\"}");
    CHECK(count(r) == 1);
    json_decref(r);
    history_free(&h3);
    unlink(path);
    return check_summary("front_history");
}
