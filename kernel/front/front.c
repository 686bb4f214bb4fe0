/* front.c — the kernel's front process: sockets, the main loop, request dispatch.
 *
 * One thread polls everything (see front.h); handlers never block on the executor, so
 * interrupt_request, shutdown_request and the quick shell requests are answered while a
 * cell runs. Requests that need the executor wait in a FIFO (`queue_head`) until it is
 * idle; `running` is the one in flight. The executor's stdout/stderr pipes are drained
 * before each of its messages is handled, so text printed before a display stays before
 * it in the notebook.
 *
 * Every incoming message goes through wire_decode, which checks the HMAC before parsing
 * anything: a message with a bad or missing signature is logged (never the key) and
 * dropped. Malformed requests get an error reply when the protocol has a reply for them. */
#include "front.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "cell/cell.h"

#ifndef CAIRN_VERSION
#define CAIRN_VERSION "0"
#endif

#define MAX_FRAMES 64
#define MAX_CODE_BYTES ((size_t)16 << 20)
#define FORWARD_DEADLINE_SECONDS 1.0
#define SHUTDOWN_GRACE_SECONDS 0.3

static const char *const channel_names[] = {"shell", "control", "stdin"};

void front_log(const char *fmt, ...)
{
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(stderr, "cairn: %s\n", line);
    fflush(stderr);
}

double front_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int debug_enabled(void)
{
    static int v = -1;
    if (v < 0) {
        const char *e = getenv("CAIRN_DEBUG");
        v = e && *e && strcmp(e, "0") != 0;
    }
    return v;
}

/* ---------------------------------------------------------------- sending */

static void send_frames(void *sock, wire_out *out)
{
    for (size_t i = 0; i < out->nframes; i++) {
        int more = i + 1 < out->nframes ? ZMQ_SNDMORE : 0;
        if (zmq_send(sock, out->frames[i].data, out->frames[i].size, more) < 0) {
            /* ROUTER to a vanished peer drops silently; this is a real failure. */
            front_log("send failed: %s", zmq_strerror(zmq_errno()));
            break;
        }
    }
}

/* Send msg_type with content (stolen) to `ids` on sock, parent = request header. */
static void front_send(front *f, void *sock, const wire_blob *ids, int nids, const char *msg_type,
                       const json_t *parent, json_t *content)
{
    json_t *header = wire_header_new(msg_type, f->session);
    json_t *meta = json_object();
    wire_out out;
    if (wire_encode(&f->key, ids, nids, header, parent, meta, content, &out) == 0) {
        send_frames(sock, &out);
        wire_out_free(&out);
    } else {
        front_log("cannot encode a %s message", msg_type);
    }
    json_decref(header);
    json_decref(meta);
    json_decref(content);
}

void front_publish(front *f, const char *msg_type, const json_t *parent, json_t *content)
{
    /* IOPub topic: the message type, as ipykernel does ("kernel.<id>.<type>" is optional). */
    wire_blob topic = {(char *)msg_type, strlen(msg_type)};
    front_send(f, f->iopub, &topic, 1, msg_type, parent, content);
}

/* Every request gets busy/idle with itself as parent (JupyterLab resolves a request
 * only once it has both its reply and its idle). But clients such as JupyterLab and
 * jupyter_server take any status as the kernel's state, so after answering something
 * while a cell runs, busy is said again for that cell: the kernel never looks idle
 * while it is not (which would also expose a busy kernel to idle culling). */
static void publish_status(front *f, const json_t *parent, const char *state)
{
    front_publish(f, "status", parent, json_pack("{s:s}", "execution_state", state));
    if (strcmp(state, "idle") == 0 && f->running && parent != f->running->msg.header)
        front_publish(f, "status", f->running->msg.header, json_pack("{s:s}", "execution_state", "busy"));
}

static void reply(front *f, pending *p, const char *msg_type, json_t *content)
{
    front_send(f, f->sockets[p->channel], p->msg.ids, p->msg.nids, msg_type, p->msg.header,
               content);
}

/* "<x>_request" -> "<x>_reply" (any other name gets "_reply" appended). */
static void reply_type_for(const char *msg_type, char *out, size_t size)
{
    size_t n = strlen(msg_type);
    if (n > 8 && strcmp(msg_type + n - 8, "_request") == 0)
        snprintf(out, size, "%.*s_reply", (int)(n - 8), msg_type);
    else
        snprintf(out, size, "%s_reply", msg_type);
}

static json_t *error_content(const char *ename, const char *evalue)
{
    char line[1024];
    snprintf(line, sizeof line, "%s: %s", ename, evalue);
    return json_pack("{s:s, s:s, s:s, s:[s]}", "status", "error", "ename", ename, "evalue",
                     evalue, "traceback", line);
}

static void reply_error(front *f, pending *p, const char *ename, const char *evalue)
{
    char rt[128];
    reply_type_for(p->msg.msg_type, rt, sizeof rt);
    json_t *c = error_content(ename, evalue);
    if (strcmp(p->msg.msg_type, "execute_request") == 0)
        json_object_set_new(c, "execution_count", json_integer(f->execution_count));
    front_log("%s on %s: %s: %s", p->msg.msg_type, channel_names[p->channel], ename, evalue);
    publish_status(f, p->msg.header, "busy");
    reply(f, p, rt, c);
    publish_status(f, p->msg.header, "idle");
}

static void pending_free(pending *p)
{
    if (!p)
        return;
    wire_msg_free(&p->msg);
    free(p);
}

/* ---------------------------------------------------------------- executor side */

/* Read the pipes to the end of what they hold and publish everything (before `done`). */
static void drain_output(front *f)
{
    if (f->sup.out_fd >= 0)
        stream_pump(f, &f->out, &f->sup.out_fd, (size_t)-1, 0);
    if (f->sup.err_fd >= 0)
        stream_pump(f, &f->err, &f->sup.err_fd, (size_t)-1, 0);
    stream_flush(f, &f->out, 1);
    stream_flush(f, &f->err, 1);
}

/* Publish what was already read, without reading more: bytes still in the pipes were
 * written after the message being handled (protocol.md, ordering). */
static void publish_read_output(front *f)
{
    stream_flush(f, &f->out, 0);
    stream_flush(f, &f->err, 0);
}

static const json_t *running_header(front *f)
{
    return f->running ? f->running->msg.header : f->last_parent;
}

static void set_last_parent(front *f, const json_t *header)
{
    if (f->last_parent)
        json_decref(f->last_parent);
    f->last_parent = header ? json_deep_copy(header) : NULL;
}

static int content_bool(const json_t *content, const char *key, int dflt)
{
    json_t *v = json_object_get(content, key);
    return json_is_boolean(v) ? json_is_true(v) : dflt;
}

static void receive_one(front *f, int channel);

/* Take every message waiting on the shell socket into the queue (or answer it). */
static void drain_shell(front *f)
{
    for (int k = 0; k < 256; k++) {
        int ev = 0;
        size_t sz = sizeof ev;
        if (zmq_getsockopt(f->sockets[CHANNEL_SHELL], ZMQ_EVENTS, &ev, &sz) < 0 || !(ev & ZMQ_POLLIN))
            break;
        receive_one(f, CHANNEL_SHELL);
    }
}

/* execute_requests already queued when a cell failed are answered "aborted". */
static void abort_queued_executes(front *f)
{
    pending **pp = &f->queue_head;
    f->queue_tail = NULL;
    while (*pp) {
        pending *p = *pp;
        if (strcmp(p->msg.msg_type, "execute_request") == 0) {
            *pp = p->next;
            publish_status(f, p->msg.header, "busy");
            reply(f, p, "execute_reply",
                  json_pack("{s:s, s:i, s:{}, s:[]}", "status", "aborted", "execution_count",
                            f->execution_count, "user_expressions", "payload"));
            publish_status(f, p->msg.header, "idle");
            front_log("aborted queued execute %s after an error", p->msg.msg_id);
            pending_free(p);
        } else {
            f->queue_tail = p;
            pp = &p->next;
        }
    }
}

/* The end of an execute: error output, reply, idle. `done` may be NULL (chain died). */
static void finish_execute(front *f, const char *status, const char *ename, const char *evalue,
                           json_t *traceback, json_t *user_expressions)
{
    pending *p = f->running;
    const json_t *content = p->msg.content;
    int failed = strcmp(status, "ok") != 0;
    /* As ipykernel: a silent execute never aborts the queue. */
    int stop = content_bool(content, "stop_on_error", 1) && !content_bool(content, "silent", 0);
    /* Requests that reached the socket before this reply count as queued: take them in
     * now, before the reply goes out. Draining after it would also catch requests a
     * fast client sent in answer to the reply, and abort them wrongly. */
    if (failed && stop)
        drain_shell(f);
    stream_end_cell(f, &f->out);
    stream_end_cell(f, &f->err);
    json_t *rc;
    if (strcmp(status, "error") == 0) {
        json_t *tb = traceback && json_is_array(traceback) ? json_incref(traceback) : NULL;
        if (!tb) {
            char line[1024];
            snprintf(line, sizeof line, "%s: %s", ename, evalue);
            tb = json_pack("[s]", line);
        }
        front_publish(f, "error", p->msg.header,
                      json_pack("{s:s, s:s, s:O}", "ename", ename, "evalue", evalue, "traceback", tb));
        rc = json_pack("{s:s, s:i, s:s, s:s, s:o, s:{}, s:[]}", "status", "error", "execution_count",
                       f->execution_count, "ename", ename, "evalue", evalue, "traceback", tb,
                       "user_expressions", "payload");
    } else {
        json_t *ue = user_expressions && json_is_object(user_expressions) ? json_incref(user_expressions)
                                                                           : json_object();
        rc = json_pack("{s:s, s:i, s:o, s:[]}", "status", status, "execution_count",
                       f->execution_count, "user_expressions", ue, "payload");
        if (f->reply_payload)
            json_array_append(json_object_get(rc, "payload"), f->reply_payload);
    }
    json_decref(f->reply_payload);
    f->reply_payload = NULL;
    reply(f, p, "execute_reply", rc);
    publish_status(f, p->msg.header, "idle");
    set_last_parent(f, p->msg.header);
    f->running = NULL;
    f->waiting_input = 0;
    pending_free(p);
    if (failed && stop)
        abort_queued_executes(f);
}

static void publish_stdout(front *f, const json_t *parent, const char *text);

/* The end of a `?name` cell: the inspect text goes to the pager (a "page" payload, as
 * IPython does), from the executor's live answer when it has one, else from the runtime
 * docs and the names the front knows. */
static void finish_help(front *f, json_t *exec_reply)
{
    pending *p = f->running;
    char *target = NULL;
    int detail = 0;
    f->running_is_inspect = 0;
    if (!help_request(json_string_value(json_object_get(p->msg.content, "code")), &target, &detail)) {
        finish_execute(f, "error", "UsageError", "not a help request", NULL, NULL);
        return;
    }
    json_t *answer = inspect_reply(target, (int)strlen(target), detail, f->names);
    if (exec_reply && json_is_true(json_object_get(exec_reply, "found"))) {
        json_decref(answer);
        answer = json_incref(exec_reply);
    }
    json_t *data = json_object_get(answer, "data");
    if (json_is_true(json_object_get(answer, "found")) && json_is_object(data)) {
        f->reply_payload = json_pack("{s:s, s:O, s:i}", "source", "page", "data", data, "start", 0);
    } else {
        char text[512];
        snprintf(text, sizeof text, "Object `%.400s` not found.\n", target);
        publish_stdout(f, p->msg.header, text);
    }
    json_decref(answer);
    free(target);
    finish_execute(f, "ok", NULL, NULL, NULL, NULL);
}

/* Answer a forwarded inspect/complete: the executor's reply if usable, else our own. */
static void finish_forward(front *f, json_t *exec_reply)
{
    pending *p = f->running;
    if (strcmp(p->msg.msg_type, "execute_request") == 0) {
        finish_help(f, exec_reply);
        return;
    }
    const json_t *c = p->msg.content;
    const char *code = json_string_value(json_object_get(c, "code"));
    json_t *cp = json_object_get(c, "cursor_pos");
    int cursor = json_is_integer(cp) ? (int)json_integer_value(cp) : (int)strlen(code);
    int is_inspect = strcmp(p->msg.msg_type, "inspect_request") == 0;
    json_t *local;
    if (is_inspect) {
        local = inspect_reply(code, cursor, (int)json_integer_value(json_object_get(c, "detail_level")), f->names);
        if (exec_reply && json_is_true(json_object_get(exec_reply, "found"))) {
            json_decref(local);
            local = json_incref(exec_reply);
        }
    } else {
        local = complete_reply(code, cursor, f->names);
        json_t *em = exec_reply ? json_object_get(exec_reply, "matches") : NULL;
        if (json_is_array(em) && json_array_size(em) > 0) {
            json_t *lm = json_object_get(local, "matches");
            int same_start = json_integer_value(json_object_get(exec_reply, "cursor_start")) ==
                             json_integer_value(json_object_get(local, "cursor_start"));
            if (json_array_size(lm) == 0) {
                json_decref(local);
                local = json_incref(exec_reply);
            } else if (same_start) {
                /* Both know something: add the executor's names that extend what was typed
                 * and are not there yet (a set by name: 10000 names in a session can give
                 * a thousand matches on each side). */
                char *typed = complete_name_at(code, cursor);
                size_t tl = typed ? strlen(typed) : 0;
                size_t i;
                json_t *m, *seen = json_object();
                json_array_foreach(lm, i, m) if (json_is_string(m)) json_object_set_new(seen, json_string_value(m), json_true());
                json_array_foreach(em, i, m) {
                    const char *ms = json_string_value(m);
                    if (!ms || tl == 0 || strncmp(ms, typed, tl) != 0 || json_object_get(seen, ms))
                        continue;
                    json_array_append(lm, m);
                    json_object_set_new(seen, ms, json_true());
                }
                json_decref(seen);
                free(typed);
            }
        }
        if (!json_object_get(local, "status"))
            json_object_set_new(local, "status", json_string("ok"));
    }
    reply(f, p, is_inspect ? "inspect_reply" : "complete_reply", local);
    publish_status(f, p->msg.header, "idle");
    f->running = NULL;
    f->running_is_inspect = 0;
    pending_free(p);
}

static json_t *display_data_from(ipc_msg *m)
{
    json_t *data = json_object_get(m->header, "data");
    json_t *out = json_object();
    const char *mime;
    json_t *v;
    json_object_foreach(data, mime, v) {
        json_t *bi = json_is_object(v) ? json_object_get(v, "buffer") : NULL;
        if (json_is_integer(bi)) {
            json_int_t i = json_integer_value(bi);
            if (i < 0 || i >= m->nbuffers) {
                front_log("display: %s refers to missing buffer %lld", mime, (long long)i);
                continue;
            }
            size_t n = m->buffers[i].size;
            size_t b64len = sodium_base64_encoded_len(n, sodium_base64_VARIANT_ORIGINAL);
            char *b64 = malloc(b64len);
            if (!b64)
                continue;
            sodium_bin2base64(b64, b64len, m->buffers[i].data, n, sodium_base64_VARIANT_ORIGINAL);
            json_object_set_new(out, mime, json_string(b64));
            free(b64);
        } else {
            json_object_set(out, mime, v);
        }
    }
    return out;
}

static void on_display(front *f, ipc_msg *m)
{
    const char *kind = json_string_value(json_object_get(m->header, "kind"));
    const json_t *parent = running_header(f);
    if (!kind)
        return;
    if (strcmp(kind, "clear_output") == 0) {
        front_publish(f, "clear_output", parent,
                      json_pack("{s:b}", "wait", json_is_true(json_object_get(m->header, "wait"))));
        return;
    }
    json_t *meta = json_object_get(m->header, "metadata");
    json_t *content = json_pack("{s:o, s:o}", "data", display_data_from(m), "metadata",
                                json_is_object(meta) ? json_incref(meta) : json_object());
    if (strcmp(kind, "execute_result") == 0) {
        if (f->running && content_bool(f->running->msg.content, "silent", 0)) {
            json_decref(content);
            return;
        }
        json_object_set_new(content, "execution_count", json_integer(f->execution_count));
        const char *plain = json_string_value(json_object_get(json_object_get(content, "data"), "text/plain"));
        if (plain)
            history_set_output(&f->hist, f->execution_count, plain);
        front_publish(f, "execute_result", parent, content);
        return;
    }
    json_t *id = json_object_get(m->header, "display_id");
    json_object_set_new(content, "transient",
                        json_is_string(id) ? json_pack("{s:O}", "display_id", id) : json_object());
    if (strcmp(kind, "update_display_data") == 0 && !json_is_string(id)) {
        front_log("update_display_data without a display_id dropped");
        json_decref(content);
        return;
    }
    front_publish(f, strcmp(kind, "update_display_data") == 0 ? "update_display_data" : "display_data",
                  parent, content);
}

static void send_input_eof(front *f)
{
    json_t *op = json_pack("{s:s, s:b}", "op", "input_reply", "eof", 1);
    supervisor_send(&f->sup, op);
    json_decref(op);
}

static void on_input_request(front *f, ipc_msg *m)
{
    pending *p = f->running;
    if (!p || f->running_is_inspect || !content_bool(p->msg.content, "allow_stdin", 1)) {
        /* No frontend can answer: the cell reads end of file. */
        send_input_eof(f);
        return;
    }
    const char *prompt = json_string_value(json_object_get(m->header, "prompt"));
    int password = json_is_true(json_object_get(m->header, "password"));
    f->waiting_input = 1;
    front_send(f, f->sockets[CHANNEL_STDIN], p->msg.ids, p->msg.nids, "input_request", p->msg.header,
               json_pack("{s:s, s:b}", "prompt", prompt ? prompt : "", "password", password));
}

static void on_done(front *f, ipc_msg *m)
{
    json_t *h = m->header;
    json_t *pid = json_object_get(h, "pid");
    if (json_is_integer(pid))
        f->sup.current_pid = (pid_t)json_integer_value(pid);
    f->sup.started_pid = 0;
    f->sup.sigkill_at = f->sup.give_up_at = 0;
    f->sup.ready = 1;
    json_t *names = json_object_get(h, "names");
    if (json_is_array(names)) {
        json_t *copy = names_from_list(names);
        if (copy) {
            json_decref(f->names);
            f->names = copy;
        }
        if (debug_enabled())
            front_log("names: the whole list, %zu", json_array_size(names));
    } else if (json_is_array(json_object_get(h, "names_added")) || json_is_array(json_object_get(h, "names_removed"))) {
        names_apply(f->names, json_object_get(h, "names_added"), json_object_get(h, "names_removed"));
        if (debug_enabled())
            front_log("names: %zu added or changed, %zu removed, %zu now",
                      json_array_size(json_object_get(h, "names_added")),
                      json_array_size(json_object_get(h, "names_removed")), json_object_size(f->names));
    }
    if (!f->running || f->running_is_inspect) {
        front_log("executor sent done with no execute running");
        return;
    }
    if (debug_enabled())
        front_log("execute took %.2f ms in the executor", 1e3 * (front_now() - f->execute_sent_at));
    const char *status = json_string_value(json_object_get(h, "status"));
    if (!status)
        status = "error";
    const char *ename = json_string_value(json_object_get(h, "ename"));
    const char *evalue = json_string_value(json_object_get(h, "evalue"));
    int killed = f->sup.interrupt_killed;
    f->sup.interrupt_killed = 0;
    if (killed && ename && strcmp(ename, "SIGKILL") == 0) {
        /* The executor saw a SIGKILL; we sent it because the cell ignored the interrupt
         * (its SIGINT ignored, blocked or handled without stopping). */
        static const char ev[] = "interrupted: the cell did not stop within 0.4 s of SIGINT (does it ignore or "
                                 "block SIGINT?), so its process was killed";
        json_t *tb = json_pack("[s, s]", "KeyboardInterrupt: interrupted",
                               "The cell process was killed; the session is as it was before the cell "
                               "(earlier variables are intact).");
        finish_execute(f, "error", "KeyboardInterrupt", ev, tb, json_object_get(h, "user_expressions"));
        json_decref(tb);
        return;
    }
    finish_execute(f, status, ename ? ename : "Error", evalue ? evalue : "", json_object_get(h, "traceback"),
                   json_object_get(h, "user_expressions"));
}

static void on_exec_message(front *f, ipc_msg *m)
{
    const char *type = json_string_value(json_object_get(m->header, "type"));
    if (!type) {
        front_log("executor message without a type ignored");
        return;
    }
    if (debug_enabled())
        front_log("executor -> %s", type);
    if (strcmp(type, "ready") == 0) {
        json_t *pid = json_object_get(m->header, "pid");
        if (json_is_integer(pid))
            f->sup.current_pid = (pid_t)json_integer_value(pid);
        if (!f->running)
            f->sup.ready = 1;
        f->sup.ever_ready = 1;
    } else if (strcmp(type, "started") == 0) {
        json_t *pid = json_object_get(m->header, "pid");
        f->sup.started_pid = json_is_integer(pid) ? (pid_t)json_integer_value(pid) : 0;
        if (f->sup.sigkill_at < 0) { /* an interrupt arrived before the cell started */
            f->sup.sigkill_at = 0;
            supervisor_interrupt(&f->sup);
        }
    } else if (strcmp(type, "display") == 0) {
        on_display(f, m);
    } else if (strcmp(type, "input_request") == 0) {
        on_input_request(f, m);
    } else if (strcmp(type, "done") == 0) {
        on_done(f, m);
    } else if (strcmp(type, "reply") == 0) {
        if (f->running && f->running_is_inspect) {
            f->sup.ready = 1;
            json_t *content = json_object_get(m->header, "content");
            finish_forward(f, json_is_object(content) ? content : m->header);
        } else if (f->running_is_inspect < 0) {
            f->running_is_inspect = 0; /* late answer to a request we already answered */
            if (!f->running)
                f->sup.ready = 1;
        }
    } else if (strcmp(type, "log") == 0) {
        const char *text = json_string_value(json_object_get(m->header, "text"));
        front_log("executor: %s", text ? text : "");
    } else {
        front_log("unknown executor message type '%s' ignored", type);
    }
}

/* The executor chain is gone (EOF): report, clean up, start a fresh one. */
static void on_chain_gone(front *f)
{
    drain_output(f);
    front_log("the executor chain ended (generation %d)%s", f->sup.generation,
              f->running ? " while a request was running" : "");
    int was_ready = f->sup.ever_ready;
    pid_t group = f->sup.first_pid;
    if (group > 0)
        kill(-group, SIGKILL);
    supervisor_reap(&f->sup);
    close(f->sup.fd);
    f->sup.fd = -1;
    if (f->sup.out_fd >= 0)
        close(f->sup.out_fd);
    if (f->sup.err_fd >= 0)
        close(f->sup.err_fd);
    f->sup.out_fd = f->sup.err_fd = -1;
    json_decref(f->names);
    f->names = json_object();
    if (f->running) {
        if (f->running_is_inspect)
            finish_forward(f, NULL);
        else
            finish_execute(f, "error", "ExecutorDied",
                           "the executor process ended unexpectedly; a fresh session was started "
                           "and the names defined so far are lost",
                           NULL, NULL);
    }
    f->running_is_inspect = 0;
    static int quick_deaths;
    quick_deaths = was_ready ? 0 : quick_deaths + 1;
    if (quick_deaths >= 3) {
        front_log("the executor died %d times before becoming ready; not restarting it", quick_deaths);
        return;
    }
    supervisor_start(&f->sup);
}

/* Handle executor messages in order, those sent before `limit` only (CLOCK_REALTIME; use
 * INFINITY for all). A message sent after a pipe read began is held back until the bytes
 * of that read are buffered, since they were written before it (streams.c). */
static void service_executor(front *f, double limit)
{
    for (int i = 0; i < 64 && f->sup.fd >= 0; i++) {
        if (!f->has_held) {
            int rc = supervisor_recv(&f->sup, &f->held, &f->held_sent_at);
            if (rc == 0)
                return;
            if (rc == -1) {
                on_chain_gone(f);
                return;
            }
            if (rc < 0) {
                front_log("malformed message from the executor dropped");
                continue;
            }
            f->has_held = 1;
        }
        const char *held_type = json_string_value(json_object_get(f->held.header, "type"));
        int held_done = held_type && strcmp(held_type, "done") == 0;
        /* `done` comes without the pipes-empty wait: bytes read after it may still be the
         * cell's last output, so it waits for the pipes to be drained (below), never
         * in the middle of a pipe read. */
        if (f->held_sent_at >= limit || (held_done && !isinf(limit)))
            return;
        ipc_msg m = f->held;
        f->has_held = 0;
        memset(&f->held, 0, sizeof f->held);
        /* Stream text printed before this message goes out before it. */
        if (held_done)
            drain_output(f);
        else
            publish_read_output(f);
        on_exec_message(f, &m);
        ipc_msg_free(&m);
    }
}

void front_handle_executor_before(front *f, double t)
{
    /* Re-entry (a message handler reading the pipes) must not recurse. */
    static int depth;
    if (depth)
        return;
    depth++;
    service_executor(f, t);
    depth--;
}

/* ---------------------------------------------------------------- requests */

static json_t *kernel_info_content(void)
{
    return json_pack(
        "{s:s, s:s, s:s, s:s, s:{s:s, s:s, s:s, s:s, s:s, s:s}, s:s, s:[{s:s, s:s}, {s:s, s:s}], s:b}",
        "status", "ok", "protocol_version", WIRE_PROTOCOL_VERSION, "implementation", "cairn",
        "implementation_version", CAIRN_VERSION, "language_info", "name", "c", "version", "C11",
        "mimetype", "text/x-csrc", "file_extension", ".c", "pygments_lexer", "c",
        "codemirror_mode", "text/x-csrc", "banner",
        "cairn " CAIRN_VERSION " - interactive C11 for linear algebra\n"
        "Each cell is compiled in memory (libtcc) and runs in a forked process: a crash\n"
        "rolls back to before the cell. Top-level names persist; a trailing expression is\n"
        "shown. Runtime: mat, linalg, clustering, nn, plot (see %lsmagic, Shift-Tab).",
        "help_links", "text", "C reference", "url", "https://en.cppreference.com/w/c", "text",
        "LAPACK reference", "url", "https://netlib.org/lapack/explore-html/", "debugger", 0);
}

static const char *content_string(const json_t *c, const char *key)
{
    return json_string_value(json_object_get(c, key));
}

static void publish_stdout(front *f, const json_t *parent, const char *text)
{
    front_publish(f, "stream", parent, json_pack("{s:s, s:s}", "name", "stdout", "text", text));
}

/* Magics the front runs itself (protocol.md): %lsmagic, %history [-n], %reset. They must
 * be alone in their cell. Returns 1 when the cell was one of them (and is finished). */
static int run_front_magic(front *f, pending *p, const char *code)
{
    while (*code == ' ' || *code == '\t' || *code == '\n' || *code == '\r')
        code++;
    const char *names[] = {"%lsmagic", "%history", "%reset"};
    int which = -1;
    size_t len = 0;
    for (int i = 0; i < 3; i++) {
        len = strlen(names[i]);
        if (strncmp(code, names[i], len) == 0 && (code[len] == 0 || strchr(" \t\r\n", code[len]))) {
            which = i;
            break;
        }
    }
    if (which < 0)
        return 0;
    const char *args = code + len;
    const char *eol = strchr(args, '\n');
    for (const char *q = eol ? eol : args + strlen(args); *q; q++)
        if (!strchr(" \t\r\n", *q)) {
            char why[128];
            snprintf(why, sizeof why, "%s must be alone in its cell", names[which]);
            finish_execute(f, "error", "UsageError", why, NULL, NULL);
            return 1;
        }
    const json_t *parent = p->msg.header;
    if (which == 0) {
        publish_stdout(f, parent,
                       "Available magics (a line starting with % before any C code):\n"
                       "  %lsmagic          this list\n"
                       "  %history [-n]     the inputs of earlier cells (-n: with their numbers)\n"
                       "  %reset            a fresh, empty session (the executor is restarted)\n"
                       "  %undo             back to the session as it was before the last cell\n"
                       "  %who, %whos       the session's names (%whos: types, values, memory)\n"
                       "  %seed N           seed the runtime's random generator\n"
                       "  %time, %timeit    time the C code on the magic's line and below (%%time, %%timeit: the cell)\n"
                       "  %cflags [flags]   show or set extra compiler flags for later cells\n"
                       "  %lib NAME|PATH    load a shared library so later cells can call it\n"
                       "  %include DIR      add an include directory for later cells\n"
                       "  %threads [N]      show or set the number of BLAS threads\n"
                       "  %env [NAME[=V]]   list, read or set environment variables\n"
                       "  %cd [DIR]         show or change the working directory\n"
                       "  %plot [png|svg] [scale S]  format and pixel scale of inline figures\n"
                       "  %runs [EXP] [by METRIC]  the runs of an experiment, best first\n"
                       "  %cluster [start N|stop]  the session's MPI job for dmat operations\n"
                       "  %onnx info PATH | load NAME PATH | reload NAME PATH | export NAME PATH [version N]\n"
                       "                    list an .onnx file, import it as NAME, swap in a newer one, export NAME\n"
                       "  %%file [-a] PATH  (first line) write the rest of the cell to PATH\n"
                       "  %magic            what each magic does, in more detail\n");
    } else if (which == 1) {
        int numbers = strstr(args, "-n") && (!eol || strstr(args, "-n") < eol);
        size_t cap = 256, n = 0;
        char *text = malloc(cap);
        for (size_t i = 0; text && i < f->hist.count; i++) {
            const history_entry *e = &f->hist.items[i];
            if (e->session != f->hist.session || e->line == f->execution_count)
                continue; /* earlier sessions, and this %history cell itself */
            size_t need = strlen(e->input) + 32;
            if (n + need + 1 > cap) {
                while (n + need + 1 > cap)
                    cap *= 2;
                char *nt = realloc(text, cap);
                if (!nt)
                    break;
                text = nt;
            }
            if (numbers)
                n += (size_t)snprintf(text + n, cap - n, "%3d: %s\n", e->line, e->input);
            else
                n += (size_t)snprintf(text + n, cap - n, "%s\n", e->input);
        }
        if (text) {
            if (n)
                publish_stdout(f, parent, text);
            free(text);
        }
    } else {
        front_log("%%reset: restarting the executor chain");
        supervisor_stop(&f->sup, 0.1);
        json_decref(f->names);
        f->names = json_object();
        supervisor_start(&f->sup);
        publish_stdout(f, parent, "reset: a fresh, empty session\n");
    }
    finish_execute(f, "ok", NULL, NULL, NULL, NULL);
    return 1;
}

static int send_execute_op(front *f, const json_t *c, int silent, int store)
{
    json_t *ue = json_object_get(c, "user_expressions");
    json_t *op = json_pack("{s:s, s:s, s:b, s:b, s:b, s:i, s:o}", "op", "execute", "code",
                           content_string(c, "code"), "silent", silent, "store_history", store,
                           "allow_stdin", content_bool(c, "allow_stdin", 1), "execution_count",
                           f->execution_count, "user_expressions",
                           json_is_object(ue) ? json_incref(ue) : json_object());
    f->sup.ready = 0;
    int rc = supervisor_send(&f->sup, op);
    json_decref(op);
    return rc;
}

static void start_execute(front *f, pending *p)
{
    const json_t *c = p->msg.content;
    const char *code = content_string(c, "code");
    int silent = content_bool(c, "silent", 0);
    int blank = code[strspn(code, " \t\r\n\f\v")] == 0;
    /* As IPython: a blank cell neither counts nor enters the history. */
    int store = silent || blank ? 0 : content_bool(c, "store_history", 1);
    if (store)
        f->execution_count++;
    f->running = p;
    f->running_is_inspect = 0;
    f->execute_sent_at = front_now();
    stream_begin_cell(&f->out);
    stream_begin_cell(&f->err);
    int front_magic = strchr(code, '%') != NULL;
    int sent = -1;
    if (blank) {
        publish_status(f, p->msg.header, "busy");
        if (!silent)
            front_publish(f, "execute_input", p->msg.header,
                          json_pack("{s:s, s:i}", "code", code, "execution_count", f->execution_count));
        finish_execute(f, "ok", NULL, NULL, NULL, NULL);
        return;
    }
    char *help_target = NULL;
    int help_detail = 0;
    int help = help_request(code, &help_target, &help_detail);
    if (!front_magic && !help) {
        /* The executor starts first; the busy/execute_input messages go out while the
         * cell compiles. Its output is only handled after this function returns. */
        sent = send_execute_op(f, c, silent, store);
    }
    publish_status(f, p->msg.header, "busy");
    if (!silent)
        front_publish(f, "execute_input", p->msg.header,
                      json_pack("{s:s, s:i}", "code", code, "execution_count", f->execution_count));
    if (store)
        history_add(&f->hist, f->execution_count, code);
    if (help) {
        /* `?name`: the executor says what it knows of live values, as for an inspect. */
        json_t *op = json_pack("{s:s, s:s, s:i, s:i}", "op", "inspect", "code", help_target, "cursor_pos",
                               (int)strlen(help_target), "detail_level", help_detail);
        free(help_target);
        f->running_is_inspect = 1;
        f->inspect_deadline = front_now() + FORWARD_DEADLINE_SECONDS;
        f->sup.ready = 0;
        if (!op || supervisor_send(&f->sup, op) < 0) {
            f->sup.ready = 1;
            finish_help(f, NULL);
        }
        json_decref(op);
        return;
    }
    if (front_magic && run_front_magic(f, p, code))
        return;
    if (front_magic) /* a '%' that is not a front magic: modulo, a format, an executor magic */
        sent = send_execute_op(f, c, silent, store);
    if (sent < 0)
        finish_execute(f, "error", "ExecutorUnavailable", "the executor is not running", NULL, NULL);
}

static void start_forward(front *f, pending *p)
{
    publish_status(f, p->msg.header, "busy");
    const json_t *c = p->msg.content;
    int inspect = strcmp(p->msg.msg_type, "inspect_request") == 0;
    json_t *op = json_pack("{s:s, s:O, s:O}", "op", inspect ? "inspect" : "complete", "code",
                           json_object_get(c, "code"), "cursor_pos", json_object_get(c, "cursor_pos"));
    if (inspect)
        json_object_set(op, "detail_level", json_object_get(c, "detail_level"));
    f->running = p;
    f->running_is_inspect = 1;
    f->inspect_deadline = front_now() + FORWARD_DEADLINE_SECONDS;
    f->sup.ready = 0;
    if (supervisor_send(&f->sup, op) < 0) {
        f->sup.ready = 1;
        finish_forward(f, NULL);
    }
    json_decref(op);
}

static void dispatch_queue(front *f)
{
    /* With no executor at all (it kept dying at start), requests are still answered:
     * the send fails and they end with an error instead of waiting forever. */
    while (!f->running && (f->sup.ready || f->sup.fd < 0) && f->queue_head) {
        pending *p = f->queue_head;
        f->queue_head = p->next;
        if (!f->queue_head)
            f->queue_tail = NULL;
        p->next = NULL;
        if (strcmp(p->msg.msg_type, "execute_request") == 0)
            start_execute(f, p);
        else
            start_forward(f, p);
    }
}

static void enqueue(front *f, pending *p)
{
    p->next = NULL;
    if (f->queue_tail)
        f->queue_tail->next = p;
    else
        f->queue_head = p;
    f->queue_tail = p;
}

/* Answer inspect/complete from the cache right away (used while the executor is busy). */
static void answer_locally(front *f, pending *p)
{
    publish_status(f, p->msg.header, "busy");
    pending *saved = f->running;
    int saved_kind = f->running_is_inspect;
    f->running = p;
    f->running_is_inspect = 1;
    finish_forward(f, NULL); /* frees p, publishes idle */
    f->running = saved;
    f->running_is_inspect = saved_kind;
    if (saved) /* still busy with the running cell (see publish_status) */
        front_publish(f, "status", saved->msg.header, json_pack("{s:s}", "execution_state", "busy"));
}

static void handle_shutdown(front *f, pending *p)
{
    int restart = content_bool(p->msg.content, "restart", 0);
    publish_status(f, p->msg.header, "busy");
    json_t *c = json_pack("{s:s, s:b}", "status", "ok", "restart", restart);
    /* Also on iopub, so every client learns that the kernel goes away. */
    front_publish(f, "shutdown_reply", p->msg.header, json_incref(c));
    reply(f, p, "shutdown_reply", c);
    publish_status(f, p->msg.header, "idle");
    front_log("shutdown requested%s", restart ? " (restart)" : "");
    f->quit = 1;
}

static void request_interrupt(front *f)
{
    if (f->running && !f->running_is_inspect) {
        if (f->sup.started_pid > 0)
            supervisor_interrupt(&f->sup);
        else
            f->sup.sigkill_at = -1; /* deliver when the cell process has started */
    } else if (debug_enabled()) {
        front_log("interrupt: nothing is running");
    }
}

/* Requests answered by the front alone (also while a cell runs). Returns 1 if handled. */
static int handle_immediate(front *f, pending *p)
{
    const char *t = p->msg.msg_type;
    const json_t *c = p->msg.content;
    if (strcmp(t, "kernel_info_request") == 0) {
        publish_status(f, p->msg.header, "busy");
        reply(f, p, "kernel_info_reply", kernel_info_content());
        publish_status(f, p->msg.header, "idle");
    } else if (strcmp(t, "is_complete_request") == 0) {
        const char *code = content_string(c, "code");
        if (!code) {
            reply_error(f, p, "BadRequest", "is_complete_request: content has no string 'code'");
            return 1;
        }
        const char *indent = "";
        const char *status = cell_is_complete(code, &indent);
        json_t *rc = json_pack("{s:s}", "status", status ? status : "unknown");
        if (status && strcmp(status, "incomplete") == 0)
            json_object_set_new(rc, "indent", json_string(indent ? indent : ""));
        publish_status(f, p->msg.header, "busy");
        reply(f, p, "is_complete_reply", rc);
        publish_status(f, p->msg.header, "idle");
    } else if (strcmp(t, "history_request") == 0) {
        publish_status(f, p->msg.header, "busy");
        reply(f, p, "history_reply", history_reply(&f->hist, c));
        publish_status(f, p->msg.header, "idle");
    } else if (strcmp(t, "comm_info_request") == 0) {
        publish_status(f, p->msg.header, "busy");
        reply(f, p, "comm_info_reply", json_pack("{s:s, s:{}}", "status", "ok", "comms"));
        publish_status(f, p->msg.header, "idle");
    } else if (strcmp(t, "comm_open") == 0) {
        /* No comm targets exist in this kernel: close it at once, as ipykernel does. */
        const char *id = content_string(c, "comm_id");
        front_log("comm_open for target '%s' refused (no comm targets)",
                  content_string(c, "target_name") ? content_string(c, "target_name") : "?");
        if (id)
            front_publish(f, "comm_close", p->msg.header, json_pack("{s:s, s:{}}", "comm_id", id, "data"));
    } else if (strcmp(t, "comm_msg") == 0 || strcmp(t, "comm_close") == 0) {
        /* No comm is ever open; nothing to do. */
    } else if (strcmp(t, "shutdown_request") == 0) {
        handle_shutdown(f, p);
    } else if (strcmp(t, "interrupt_request") == 0) {
        publish_status(f, p->msg.header, "busy");
        request_interrupt(f);
        reply(f, p, "interrupt_reply", json_pack("{s:s}", "status", "ok"));
        publish_status(f, p->msg.header, "idle");
    } else {
        return 0;
    }
    return 1;
}

/* Returns 1 if p was kept (queued or running), else the caller frees it. */
static int handle_request(front *f, pending *p)
{
    const char *t = p->msg.msg_type;
    const json_t *c = p->msg.content;
    if (debug_enabled())
        front_log("%s <- %s", channel_names[p->channel], t);
    if (p->channel == CHANNEL_STDIN) {
        if (strcmp(t, "input_reply") == 0 && f->waiting_input) {
            f->waiting_input = 0;
            const char *value = content_string(c, "value");
            json_t *op = value ? json_pack("{s:s, s:s}", "op", "input_reply", "value", value)
                               : json_pack("{s:s, s:b}", "op", "input_reply", "eof", 1);
            supervisor_send(&f->sup, op);
            json_decref(op);
        } else {
            front_log("unexpected %s on stdin ignored", t);
        }
        return 0;
    }
    if (handle_immediate(f, p))
        return 0;
    if (strcmp(t, "execute_request") == 0) {
        const char *code = content_string(c, "code");
        if (!code) {
            reply_error(f, p, "BadRequest", "execute_request: content has no string 'code'");
            return 0;
        }
        if (strlen(code) > MAX_CODE_BYTES) {
            char why[128];
            snprintf(why, sizeof why, "execute_request: code of %zu bytes exceeds the %zu MiB limit",
                     strlen(code), MAX_CODE_BYTES >> 20);
            reply_error(f, p, "BadRequest", why);
            return 0;
        }
        enqueue(f, p);
        return 1;
    }
    if (strcmp(t, "complete_request") == 0 || strcmp(t, "inspect_request") == 0) {
        const char *code = content_string(c, "code");
        json_t *cp = json_object_get(c, "cursor_pos");
        if (!code || (cp && !json_is_integer(cp))) {
            char why[128];
            snprintf(why, sizeof why, "%s: content needs a string 'code' and an integer 'cursor_pos'", t);
            reply_error(f, p, "BadRequest", why);
            return 0;
        }
        if (!cp)
            json_object_set_new((json_t *)c, "cursor_pos", json_integer((json_int_t)strlen(code)));
        /* The executor knows live values, but only an idle one may answer. */
        if (!f->running && f->sup.ready && !f->queue_head && f->sup.fd >= 0) {
            enqueue(f, p);
            return 1;
        }
        answer_locally(f, p);
        return 1; /* freed by answer_locally */
    }
    if (p->channel == CHANNEL_CONTROL && strcmp(t, "debug_request") == 0) {
        reply_error(f, p, "NotSupported", "this kernel has no debugger (kernel_info: debugger false)");
        return 0;
    }
    size_t n = strlen(t);
    if (n > 8 && strcmp(t + n - 8, "_request") == 0) {
        char why[256];
        snprintf(why, sizeof why, "unknown message type '%.100s'", t);
        reply_error(f, p, "UnknownMessageType", why);
    } else {
        front_log("unknown message type '%.100s' on %s ignored", t, channel_names[p->channel]);
    }
    return 0;
}

static void receive_one(front *f, int channel)
{
    void *sock = f->sockets[channel];
    zmq_msg_t parts[MAX_FRAMES];
    wire_frame frames[MAX_FRAMES];
    size_t n = 0;
    int more = 1, overflow = 0;
    while (more) {
        zmq_msg_t tmp;
        zmq_msg_t *msg = n < MAX_FRAMES ? &parts[n] : &tmp;
        zmq_msg_init(msg);
        if (zmq_msg_recv(msg, sock, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(msg);
            if (n == 0)
                return; /* nothing after all */
            break;
        }
        more = zmq_msg_more(msg);
        if (n < MAX_FRAMES) {
            frames[n].data = zmq_msg_data(msg);
            frames[n].size = zmq_msg_size(msg);
            n++;
        } else {
            overflow = 1;
            zmq_msg_close(msg);
        }
    }
    if (overflow) {
        /* Only binary buffers can make a message this long: they are not used here. */
        front_log("%s message with more than %d frames: extra frames ignored", channel_names[channel], MAX_FRAMES);
    }
    pending *p = calloc(1, sizeof *p);
    char why[256];
    int st = p ? wire_decode(&f->key, frames, n, &p->msg, why, sizeof why) : -1;
    for (size_t i = 0; i < n; i++)
        zmq_msg_close(&parts[i]);
    if (!p)
        return;
    p->channel = channel;
    if (st == WIRE_OK) {
        if (!handle_request(f, p))
            pending_free(p);
        return;
    }
    if (st == WIRE_BAD_SIGNATURE || st == WIRE_NO_DELIMITER || st == WIRE_BAD_HEADER) {
        front_log("dropped a %s message: %s", channel_names[channel], why);
        pending_free(p);
        return;
    }
    /* Signed, so it comes from our client, but malformed: tell it what is wrong. */
    size_t tl = strlen(p->msg.msg_type);
    if (tl > 8 && strcmp(p->msg.msg_type + tl - 8, "_request") == 0 && channel != CHANNEL_STDIN) {
        reply_error(f, p, "BadRequest", why);
    } else {
        front_log("dropped a malformed %s message (%s): %s", channel_names[channel],
                  *p->msg.msg_type ? p->msg.msg_type : "no msg_type", why);
    }
    pending_free(p);
}

/* ---------------------------------------------------------------- sockets */

static void *heartbeat_main(void *arg)
{
    front *f = arg;
    for (;;) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, f->hb, 0) < 0) {
            zmq_msg_close(&m);
            if (zmq_errno() == EINTR)
                continue;
            break; /* ETERM: the context is shutting down */
        }
        if (zmq_msg_send(&m, f->hb, 0) < 0)
            zmq_msg_close(&m);
    }
    zmq_close(f->hb);
    f->hb = NULL;
    return NULL;
}

/* Listening sockets the launcher opened (launcher.c), in the order shell, control,
 * stdin, heartbeat, IOPub; -1 where the socket binds itself. */
static int listen_fds[5] = {-1, -1, -1, -1, -1};

int front_use_listen_fds(const char *list)
{
    int fds[5];
    if (sscanf(list, "%d,%d,%d,%d,%d", &fds[0], &fds[1], &fds[2], &fds[3], &fds[4]) != 5)
        return -1;
    for (int i = 0; i < 5; i++) {
        if (fds[i] < 3 || fcntl(fds[i], F_SETFD, FD_CLOEXEC) != 0)
            return -1;
        listen_fds[i] = fds[i];
    }
    return 0;
}

static void *bind_socket(front *f, int type, const char *transport, const char *ip, int port,
                         const char *what, int listen_fd)
{
    void *s = zmq_socket(f->zctx, type);
    if (!s)
        return NULL;
    /* ZeroMQ listens on the launcher's socket (already accepting connections into its
     * backlog) instead of making one; the endpoint below must name the same address. */
    if (listen_fd >= 0 && strcmp(transport, "tcp") == 0)
        zmq_setsockopt(s, ZMQ_USE_FD, &listen_fd, sizeof listen_fd);
    int linger = 1000;
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
    if (type == ZMQ_ROUTER) {
        /* A client reconnecting with the same identity takes over its old route. */
        int on = 1;
        zmq_setsockopt(s, ZMQ_ROUTER_HANDOVER, &on, sizeof on);
        /* A peer sending a single frame above this is disconnected by ZeroMQ before
         * the front allocates it: no client can exhaust the kernel's memory. */
        int64_t max = (int64_t)512 << 20;
        zmq_setsockopt(s, ZMQ_MAXMSGSIZE, &max, sizeof max);
    }
    char ep[512];
    if (strcmp(transport, "ipc") == 0)
        snprintf(ep, sizeof ep, "ipc://%s-%d", ip, port);
    else
        snprintf(ep, sizeof ep, "%s://%s:%d", transport, ip, port);
    if (zmq_bind(s, ep) < 0) {
        front_log("cannot bind the %s socket to %s: %s", what, ep, zmq_strerror(zmq_errno()));
        zmq_close(s);
        return NULL;
    }
    return s;
}

static int read_connection(front *f, const char *path, json_t **out)
{
    json_error_t err;
    json_t *c = json_load_file(path, 0, &err);
    if (!c || !json_is_object(c)) {
        front_log("cannot read the connection file %s: %s (line %d)", path, c ? "not an object" : err.text,
                  err.line);
        if (c)
            json_decref(c);
        return -1;
    }
    const char *scheme = json_string_value(json_object_get(c, "signature_scheme"));
    if (scheme && strcmp(scheme, "hmac-sha256") != 0) {
        front_log("unsupported signature_scheme '%s' (only hmac-sha256)", scheme);
        json_decref(c);
        return -1;
    }
    const char *key = json_string_value(json_object_get(c, "key"));
    if (wire_key_set(&f->key, key ? key : "") < 0) {
        json_decref(c);
        return -1;
    }
    if (!key || !*key)
        front_log("the connection file has an empty key: messages are not signed");
    *out = c;
    return 0;
}

static int open_sockets(front *f, json_t *conn)
{
    const char *transport = json_string_value(json_object_get(conn, "transport"));
    const char *ip = json_string_value(json_object_get(conn, "ip"));
    if (!transport)
        transport = "tcp";
    if (!ip)
        ip = "127.0.0.1";
    static const char *port_keys[] = {"shell_port", "control_port", "stdin_port"};
    f->zctx = zmq_ctx_new();
    if (!f->zctx)
        return -1;
    for (int i = 0; i < 3; i++) {
        int port = (int)json_integer_value(json_object_get(conn, port_keys[i]));
        f->sockets[i] = bind_socket(f, ZMQ_ROUTER, transport, ip, port, channel_names[i], listen_fds[i]);
        if (!f->sockets[i])
            return -1;
    }
    /* XPUB, not PUB: a client's subscription reaches the front, which answers it with an
     * iopub_welcome (JEP 65), so a client knows its IOPub is live. jupyter_client's
     * wait_for_ready (start_new_kernel, nbconvert) takes the kernel as ready only when an
     * IOPub message follows the kernel_info_reply within 0.2 s; without the welcome the
     * status messages of its first kernel_info_request go out before the subscription
     * arrived, are dropped, and the client starts over after 0.2 s + a second round. */
    f->iopub = bind_socket(f, ZMQ_XPUB, transport, ip,
                           (int)json_integer_value(json_object_get(conn, "iopub_port")), "iopub", listen_fds[4]);
    /* PUB drops messages beyond the high-water mark: allow a long burst of output
     * (a slow client) before anything is lost. */
    int hwm = 100000, verbose = 1;
    if (f->iopub) {
        zmq_setsockopt(f->iopub, ZMQ_SNDHWM, &hwm, sizeof hwm);
        zmq_setsockopt(f->iopub, ZMQ_XPUB_VERBOSE, &verbose, sizeof verbose); /* every subscriber is welcomed */
    }
    f->hb = bind_socket(f, ZMQ_REP, transport, ip,
                        (int)json_integer_value(json_object_get(conn, "hb_port")), "heartbeat", listen_fds[3]);
    if (!f->iopub || !f->hb)
        return -1;
    if (pthread_create(&f->hb_thread, NULL, heartbeat_main, f) != 0) {
        front_log("cannot start the heartbeat thread");
        return -1;
    }
    f->hb_running = 1;
    return 0;
}

static void close_sockets(front *f)
{
    for (int i = 0; i < 3; i++)
        if (f->sockets[i])
            zmq_close(f->sockets[i]);
    if (f->iopub)
        zmq_close(f->iopub);
    if (f->zctx) {
        zmq_ctx_shutdown(f->zctx); /* wakes the heartbeat thread with ETERM */
        if (f->hb_running)
            pthread_join(f->hb_thread, NULL);
        else if (f->hb)
            zmq_close(f->hb);
        zmq_ctx_term(f->zctx);
    }
}

/* ---------------------------------------------------------------- main loop */

/* Subscriptions on the XPUB IOPub socket: welcome each one (JEP 65). */
static void handle_subscriptions(front *f)
{
    for (int k = 0; k < 64; k++) {
        char buf[256];
        int n = zmq_recv(f->iopub, buf, sizeof buf, ZMQ_DONTWAIT);
        if (n < 0)
            break;
        if (n >= 1 && buf[0] == 1) {
            size_t len = (size_t)n - 1 < sizeof buf - 1 ? (size_t)n - 1 : sizeof buf - 1;
            json_t *content = json_pack("{s:s%}", "subscription", buf + 1, len);
            if (content)
                front_publish(f, "iopub_welcome", NULL, content);
        }
    }
}

static void handle_signals(front *f)
{
    struct signalfd_siginfo si;
    while (read(f->sigfd, &si, sizeof si) == (ssize_t)sizeof si) {
        switch (si.ssi_signo) {
        case SIGCHLD:
            supervisor_reap(&f->sup);
            break;
        case SIGINT:
            /* interrupt_mode "signal" clients (and Ctrl-C in a terminal) */
            request_interrupt(f);
            break;
        case SIGTERM:
        case SIGHUP:
            front_log("signal %d: shutting down", (int)si.ssi_signo);
            f->quit = 1;
            break;
        default:
            break;
        }
    }
}

static double run_timers(front *f)
{
    double now = front_now();
    double wait = 1.0;
    double w = stream_tick(f, &f->out, now);
    if (w < wait)
        wait = w;
    w = stream_tick(f, &f->err, now);
    if (w < wait)
        wait = w;
    supervisor *s = &f->sup;
    if (s->sigkill_at > 0) {
        if (now >= s->sigkill_at) {
            s->sigkill_at = 0;
            if (s->started_pid > 0 && f->running) {
                front_log("interrupt: cell process %d did not stop, SIGKILL", (int)s->started_pid);
                kill(s->started_pid, SIGKILL);
                s->interrupt_killed = 1;
                s->give_up_at = now + 3.0;
            }
        } else if (s->sigkill_at - now < wait)
            wait = s->sigkill_at - now;
    }
    if (s->give_up_at > 0) {
        if (now >= s->give_up_at) {
            s->give_up_at = 0;
            front_log("the executor did not report the killed cell; restarting it");
            if (s->first_pid > 0)
                kill(-s->first_pid, SIGKILL);
            /* EOF on the socket follows and restarts the chain. */
        } else if (s->give_up_at - now < wait)
            wait = s->give_up_at - now;
    }
    if (f->running && f->running_is_inspect) {
        if (now >= f->inspect_deadline) {
            front_log("the executor did not answer %s in time; answered from the cache",
                      f->running->msg.msg_type);
            finish_forward(f, NULL);
            f->running_is_inspect = -1; /* its late reply will be dropped */
        } else if (f->inspect_deadline - now < wait)
            wait = f->inspect_deadline - now;
    }
    return wait < 0 ? 0 : wait;
}

static int parent_gone(pid_t parent)
{
    return parent > 1 && getppid() != parent;
}

static int run_loop(front *f)
{
    const char *pp = getenv("JPY_PARENT_PID");
    pid_t parent = pp ? (pid_t)atoi(pp) : 0;
    double next_parent_check = front_now() + 1.0;
    while (!f->quit) {
        double wait = run_timers(f);
        dispatch_queue(f);
        zmq_pollitem_t items[8];
        int n = 0;
        for (int i = 0; i < 3; i++)
            items[n++] = (zmq_pollitem_t){f->sockets[i], 0, ZMQ_POLLIN, 0};
        items[n++] = (zmq_pollitem_t){NULL, f->sigfd, ZMQ_POLLIN, 0};
        int exec_i = -1, out_i = -1, err_i = -1, iopub_i = n;
        items[n++] = (zmq_pollitem_t){f->iopub, 0, ZMQ_POLLIN, 0};
        if (f->sup.fd >= 0) {
            exec_i = n;
            items[n++] = (zmq_pollitem_t){NULL, f->sup.fd, ZMQ_POLLIN, 0};
        }
        if (f->sup.out_fd >= 0) {
            out_i = n;
            items[n++] = (zmq_pollitem_t){NULL, f->sup.out_fd, ZMQ_POLLIN, 0};
        }
        if (f->sup.err_fd >= 0) {
            err_i = n;
            items[n++] = (zmq_pollitem_t){NULL, f->sup.err_fd, ZMQ_POLLIN, 0};
        }
        long ms = (long)(wait * 1000.0 + 0.999);
        if (ms > 1000)
            ms = 1000;
        if (f->has_held)
            ms = 0; /* a message waits for the pipe bytes read before it: handle it now */
        int rc = zmq_poll(items, n, ms);
        if (rc < 0) {
            if (zmq_errno() == EINTR)
                continue;
            front_log("poll failed: %s", zmq_strerror(zmq_errno()));
            return 1;
        }
        if (items[3].revents)
            handle_signals(f);
        if (items[iopub_i].revents & ZMQ_POLLIN)
            handle_subscriptions(f);
        /* Control first: interrupt and shutdown must not wait behind shell traffic. */
        if (items[1].revents & ZMQ_POLLIN)
            for (int k = 0; k < 64; k++) {
                int ev = 0;
                size_t sz = sizeof ev;
                zmq_getsockopt(f->sockets[1], ZMQ_EVENTS, &ev, &sz);
                if (!(ev & ZMQ_POLLIN))
                    break;
                receive_one(f, CHANNEL_CONTROL);
            }
        /* Executor messages before the pipes: whatever the pipes hold now was written
         * after those messages were sent (protocol.md). Output is bounded per round so
         * a flood cannot starve the sockets. */
        if ((exec_i >= 0 && items[exec_i].revents) || f->has_held)
            service_executor(f, INFINITY);
        if (out_i >= 0 && items[out_i].revents && f->sup.out_fd >= 0)
            stream_pump(f, &f->out, &f->sup.out_fd, (size_t)1 << 20, 1);
        if (err_i >= 0 && items[err_i].revents && f->sup.err_fd >= 0)
            stream_pump(f, &f->err, &f->sup.err_fd, (size_t)1 << 20, 1);
        for (int ch = 0; ch < 3; ch += 2) {
            if (!(items[ch].revents & ZMQ_POLLIN))
                continue;
            for (int k = 0; k < 64; k++) {
                int ev = 0;
                size_t sz = sizeof ev;
                zmq_getsockopt(f->sockets[ch], ZMQ_EVENTS, &ev, &sz);
                if (!(ev & ZMQ_POLLIN))
                    break;
                receive_one(f, ch);
            }
        }
        if (parent && front_now() >= next_parent_check) {
            next_parent_check = front_now() + 1.0;
            if (parent_gone(parent)) {
                front_log("the parent process %d is gone: shutting down", (int)parent);
                f->quit = 1;
            }
        }
    }
    return 0;
}

/* The history file: $CAIRN_HISTORY_FILE ("" turns it off), else cairn-history.jsonl
 * next to the connection file (Jupyter's runtime directory). */
static void open_history(front *f, const char *connection_file)
{
    const char *env = getenv("CAIRN_HISTORY_FILE");
    if (env) {
        history_open(&f->hist, env);
        return;
    }
    const char *slash = strrchr(connection_file, '/');
    char path[4096];
    if (slash)
        snprintf(path, sizeof path, "%.*s/cairn-history.jsonl", (int)(slash - connection_file), connection_file);
    else
        snprintf(path, sizeof path, "cairn-history.jsonl");
    history_open(&f->hist, path);
}

int front_main(const char *connection_file)
{
    if (sodium_init() < 0) {
        front_log("libsodium failed to initialize");
        return 1;
    }
    front *f = calloc(1, sizeof *f);
    if (!f)
        return 1;
    f->sup.fd = f->sup.out_fd = f->sup.err_fd = f->sup.guard_fd = -1;
    f->out.name = "stdout";
    f->err.name = "stderr";
    f->names = json_object();
    f->started_at = front_now();
    wire_new_id(f->session);
    json_t *conn = NULL;
    int status = 1;
    if (read_connection(f, connection_file, &conn) < 0)
        goto out;
    open_history(f, connection_file);

    /* Signals become readable events; the executor unblocks them after fork. Blocked
     * before any thread starts, so ZeroMQ's threads never take them. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    sigprocmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    f->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (f->sigfd < 0) {
        front_log("signalfd: %s", strerror(errno));
        goto out;
    }
    supervisor_init_process();
    /* Fork the first executor before ZeroMQ starts its threads: the child begins from a
     * single-threaded copy. */
    if (supervisor_start(&f->sup) < 0)
        goto out;
    if (open_sockets(f, conn) < 0)
        goto out;
    front_log("kernel ready (protocol %s, pid %d)", WIRE_PROTOCOL_VERSION, (int)getpid());
    status = run_loop(f);
out:
    /* Requests still waiting get no reply: the client sees the kernel die, as it asked. */
    while (f->queue_head) {
        pending *p = f->queue_head;
        f->queue_head = p->next;
        pending_free(p);
    }
    if (f->running)
        pending_free(f->running);
    f->running = NULL;
    supervisor_stop(&f->sup, SHUTDOWN_GRACE_SECONDS);
    close_sockets(f);
    if (f->sigfd > 0)
        close(f->sigfd);
    if (conn)
        json_decref(conn);
    wire_key_free(&f->key);
    stream_free(&f->out);
    stream_free(&f->err);
    history_free(&f->hist);
    json_decref(f->names);
    if (f->last_parent)
        json_decref(f->last_parent);
    free(f);
    return status;
}
