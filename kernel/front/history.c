/* history.c — the inputs (and text results) of the cells, for history_request.
 *
 * Kept by the front, which outlives executor restarts, so history survives a crashed
 * chain. Entries are [session, line, input] or, with output=true,
 * [session, line, [input, output]] as IPython answers.
 *
 * Optionally (history_open) every stored input is also appended to a file, one JSON
 * object per line {"s": session, "l": line, "i": input}, by default next to the
 * connection file (Jupyter's runtime directory). At start the tail of that file gives
 * the earlier sessions, so a console's up-arrow and %history reach across restarts, and
 * this kernel's session number is one more than the newest seen. Each line is written
 * with one append write, so kernels sharing the file do not interleave lines.
 *
 * Requests: tail (newest n over all sessions), range (session > 0 absolute, <= 0
 * relative to the current one: 0 = current, -1 = the one before), search (glob pattern
 * with fnmatch, so * and ? also match newlines; n keeps the newest matches; unique keeps
 * the newest entry of each distinct input). */
#include "front.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define HISTORY_LOAD_BYTES (512 * 1024)
#define HISTORY_LOAD_ENTRIES 2000

static history_entry *find_line(history *h, int line)
{
    for (size_t i = h->count; i-- > 0;)
        if (h->items[i].session == h->session && h->items[i].line == line)
            return &h->items[i];
    return NULL;
}

static history_entry *append_entry(history *h, int session, int line)
{
    if (h->count == h->cap) {
        size_t cap = h->cap ? 2 * h->cap : 64;
        history_entry *ni = realloc(h->items, cap * sizeof *ni);
        if (!ni)
            return NULL;
        h->items = ni;
        h->cap = cap;
    }
    history_entry *e = &h->items[h->count++];
    memset(e, 0, sizeof *e);
    e->session = session;
    e->line = line;
    return e;
}

void history_open(history *h, const char *path)
{
    h->fd = -1;
    if (!path || !*path)
        return;
    int fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) {
        front_log("history file %s not used: %s", path, strerror(errno));
        return;
    }
    struct stat st;
    off_t from = 0;
    if (fstat(fd, &st) == 0 && st.st_size > HISTORY_LOAD_BYTES)
        from = st.st_size - HISTORY_LOAD_BYTES;
    size_t size = fstat(fd, &st) == 0 ? (size_t)(st.st_size - from) : 0;
    char *buf = malloc(size + 1);
    ssize_t got = buf ? pread(fd, buf, size, from) : -1;
    int newest = 0;
    if (got > 0) {
        buf[got] = 0;
        char *line = buf;
        if (from > 0) { /* the first line is probably cut: skip it */
            char *nl = strchr(line, '\n');
            line = nl ? nl + 1 : buf + got;
        }
        while (*line) {
            char *nl = strchr(line, '\n');
            if (nl)
                *nl = 0;
            json_t *o = json_loads(line, 0, NULL);
            json_t *s = json_object_get(o, "s"), *l = json_object_get(o, "l"), *in = json_object_get(o, "i");
            if (json_is_integer(s) && json_is_integer(l) && json_is_string(in)) {
                history_entry *e = append_entry(h, (int)json_integer_value(s), (int)json_integer_value(l));
                if (e)
                    e->input = strdup(json_string_value(in));
                if (e && e->session > newest)
                    newest = e->session;
            }
            if (o)
                json_decref(o);
            if (!nl)
                break;
            line = nl + 1;
        }
    }
    free(buf);
    /* Keep the newest entries only. */
    if (h->count > HISTORY_LOAD_ENTRIES) {
        size_t drop = h->count - HISTORY_LOAD_ENTRIES;
        for (size_t i = 0; i < drop; i++)
            free(h->items[i].input);
        memmove(h->items, h->items + drop, (h->count - drop) * sizeof *h->items);
        h->count -= drop;
    }
    h->session = newest + 1;
    h->fd = fd;
}

void history_add(history *h, int line, const char *input)
{
    if (h->session == 0)
        h->session = 1;
    history_entry *e = find_line(h, line);
    if (!e)
        e = append_entry(h, h->session, line);
    if (!e)
        return;
    free(e->input);
    free(e->output);
    e->input = strdup(input);
    e->output = NULL;
    if (h->fd > 0) {
        json_t *o = json_pack("{s:i, s:i, s:s}", "s", h->session, "l", line, "i", input);
        char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
        if (text) {
            size_t n = strlen(text);
            text[n] = '\n'; /* replaces the NUL: one write of the whole line */
            if (write(h->fd, text, n + 1) != (ssize_t)(n + 1))
                front_log("history file: write failed: %s", strerror(errno));
            free(text);
        }
        if (o)
            json_decref(o);
    }
}

void history_set_output(history *h, int line, const char *output)
{
    history_entry *e = find_line(h, line);
    if (!e)
        return;
    free(e->output);
    e->output = output ? strdup(output) : NULL;
}

static json_t *entry_json(const history_entry *e, int output)
{
    json_t *what = output ? json_pack("[s, o]", e->input,
                                      e->output ? json_string(e->output) : json_null())
                          : json_string(e->input);
    return json_pack("[i, i, o]", e->session, e->line, what);
}

static int get_int(const json_t *req, const char *key, int dflt)
{
    json_t *v = json_object_get(req, key);
    return json_is_integer(v) ? (int)json_integer_value(v) : dflt;
}

/* Session number `want` (<= 0: relative) as an absolute one, or 0 if there is none. */
static int resolve_session(const history *h, int want)
{
    int current = h->session ? h->session : 1;
    if (want > 0)
        return want;
    if (want == 0)
        return current;
    /* -1 = the newest earlier session present, -2 the one before, ... */
    int found = current, steps = -want;
    while (steps-- > 0) {
        int best = 0;
        for (size_t i = 0; i < h->count; i++)
            if (h->items[i].session < found && h->items[i].session > best)
                best = h->items[i].session;
        if (!best)
            return 0;
        found = best;
    }
    return found;
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
            json_array_append_new(list, entry_json(&h->items[i], output));
    } else if (strcmp(type, "range") == 0) {
        int session = resolve_session(h, get_int(req, "session", 0));
        int start = get_int(req, "start", 0);
        int stop = get_int(req, "stop", 0);
        for (size_t i = 0; session && i < h->count; i++) {
            const history_entry *e = &h->items[i];
            if (e->session == session && e->line >= start && (stop <= 0 || e->line < stop))
                json_array_append_new(list, entry_json(e, output));
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
            json_array_append_new(rev, entry_json(e, output));
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
    if (h->fd > 0)
        close(h->fd);
    memset(h, 0, sizeof *h);
    h->fd = -1;
}
