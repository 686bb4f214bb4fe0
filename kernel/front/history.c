/* history.c — the inputs (and text results) of this kernel's cells, for history_request.
 *
 * Kept in memory by the front, which outlives executor restarts, so history survives a
 * crashed chain. Entries are [session, line, input] or, with output=true,
 * [session, line, [input, output]] as IPython answers. The session number is 1 (the
 * current session); requests for session 0 or a negative (relative) session of 0 also
 * mean the current one. search takes a glob pattern (fnmatch: * and ? also match
 * newlines); unique keeps the newest entry of each distinct input. */
#include "front.h"

#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

static history_entry *find_line(history *h, int line)
{
    for (size_t i = h->count; i-- > 0;)
        if (h->items[i].line == line)
            return &h->items[i];
    return NULL;
}

void history_add(history *h, int line, const char *input)
{
    if (h->session == 0)
        h->session = 1;
    history_entry *e = find_line(h, line);
    if (!e) {
        if (h->count == h->cap) {
            size_t cap = h->cap ? 2 * h->cap : 64;
            history_entry *ni = realloc(h->items, cap * sizeof *ni);
            if (!ni)
                return;
            h->items = ni;
            h->cap = cap;
        }
        e = &h->items[h->count++];
        memset(e, 0, sizeof *e);
        e->line = line;
    }
    free(e->input);
    free(e->output);
    e->input = strdup(input);
    e->output = NULL;
}

void history_set_output(history *h, int line, const char *output)
{
    history_entry *e = find_line(h, line);
    if (!e)
        return;
    free(e->output);
    e->output = output ? strdup(output) : NULL;
}

static json_t *entry_json(const history *h, const history_entry *e, int output)
{
    json_t *what = output ? json_pack("[s, o]", e->input,
                                      e->output ? json_string(e->output) : json_null())
                          : json_string(e->input);
    return json_pack("[i, i, o]", h->session ? h->session : 1, e->line, what);
}

static int get_int(const json_t *req, const char *key, int dflt)
{
    json_t *v = json_object_get(req, key);
    return json_is_integer(v) ? (int)json_integer_value(v) : dflt;
}

json_t *history_reply(const history *h, const json_t *req)
{
    const char *type = json_string_value(json_object_get(req, "hist_access_type"));
    int output = json_is_true(json_object_get(req, "output"));
    json_t *list = json_array();
    if (!type)
        type = "tail";
    if (strcmp(type, "tail") == 0) {
        int n = get_int(req, "n", 10);
        size_t start = n >= 0 && (size_t)n < h->count ? h->count - (size_t)n : 0;
        for (size_t i = start; i < h->count; i++)
            json_array_append_new(list, entry_json(h, &h->items[i], output));
    } else if (strcmp(type, "range") == 0) {
        int session = get_int(req, "session", 0);
        int start = get_int(req, "start", 0);
        int stop = get_int(req, "stop", 0);
        int current = h->session ? h->session : 1;
        /* IPython: session <= 0 counts back from the current one (0 = current). */
        if (session == 0 || session == current) {
            for (size_t i = 0; i < h->count; i++) {
                int line = h->items[i].line;
                if (line >= start && (stop <= 0 || line < stop))
                    json_array_append_new(list, entry_json(h, &h->items[i], output));
            }
        }
    } else if (strcmp(type, "search") == 0) {
        const char *pattern = json_string_value(json_object_get(req, "pattern"));
        int n = get_int(req, "n", 0);
        int unique = json_is_true(json_object_get(req, "unique"));
        if (!pattern)
            pattern = "*";
        /* Walk newest first so n and unique keep the newest matches, then reverse. */
        json_t *rev = json_array();
        for (size_t i = h->count; i-- > 0 && (n <= 0 || json_array_size(rev) < (size_t)n);) {
            const history_entry *e = &h->items[i];
            if (fnmatch(pattern, e->input, 0) != 0)
                continue;
            if (unique) {
                int seen = 0;
                for (size_t j = i + 1; j < h->count && !seen; j++)
                    seen = fnmatch(pattern, h->items[j].input, 0) == 0 &&
                           strcmp(h->items[j].input, e->input) == 0;
                if (seen)
                    continue;
            }
            json_array_append_new(rev, entry_json(h, e, output));
        }
        for (size_t i = json_array_size(rev); i-- > 0;)
            json_array_append(list, json_array_get(rev, i));
        json_decref(rev);
    }
    return json_pack("{s:s, s:o}", "status", "ok", "history", list);
}

void history_free(history *h)
{
    for (size_t i = 0; i < h->count; i++) {
        free(h->items[i].input);
        free(h->items[i].output);
    }
    free(h->items);
    memset(h, 0, sizeof *h);
}
