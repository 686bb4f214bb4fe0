/* cell_io.c — a cell process's two channels besides stdout/stderr: stdin and rich output.
 *
 * stdin: the executor's fd 0 is /dev/null. In the cell process `stdin` is replaced by a
 * fopencookie stream whose read asks the front for a line (`input_request`) and blocks
 * on exec_fd for the `input_reply` — the parent executor does not read exec_fd while its
 * cell process runs, so the reply can only reach us. scanf, fgets and getchar in cells
 * then work unchanged. Without allow_stdin the stream is at EOF and says why on stderr.
 *
 * display: the runtime's display sink frames each bundle as a `display` message. Text
 * mime types travel as JSON strings, everything else (image/png) as raw buffers that the
 * front base64-encodes once. Before any message but `done`, stdout/stderr are flushed
 * and we wait until the front has read the pipes (protocol.md, ordering), so text and
 * pictures reach the notebook in the order the cell made them. */
#include "exec_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdio_ext.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "cairn/display.h"

static int stdin_allowed;
static int stdin_closed; /* the cell fclose'd stdin: EOF until it ends */
static FILE *cookie_stream;
static int stdin_warned;
static int display_silent;

/* Under %time the execute_result waits until the time line is printed, as IPython's
 * `%%time` shows the time before Out. Its buffers are copied: the runtime frees them. */
static int defer_results;
static json_t *deferred;
static ipc_buffer deferred_bufs[IPC_MAX_BUFFERS];
static int deferred_nb;

/* Flush stdio and wait until the front has read both pipes (protocol.md, ordering): a
 * message must not overtake text printed before it. Bounded: a front that stopped
 * reading costs at most a second, never a hang. */
static void flush_and_wait_read(void)
{
    fflush(stdout);
    fflush(stderr);
    struct timespec pause = {0, 20000};
    for (int i = 0; i < 50000; i++) {
        int out = 0, err = 0;
        /* the pipes themselves, whatever the cell made of descriptors 1 and 2 */
        if (ioctl(guard_output_fd(1), FIONREAD, &out) != 0)
            out = 0;
        if (ioctl(guard_output_fd(2), FIONREAD, &err) != 0)
            err = 0;
        if (out == 0 && err == 0)
            return;
        nanosleep(&pause, NULL);
    }
}

int exec_send(json_t *msg)
{
    const char *type = json_string_value(json_object_get(msg, "type"));
    if (type && strcmp(type, "done") == 0) {
        /* the front drains the pipes itself before it handles done */
        fflush(stdout);
        fflush(stderr);
    } else {
        flush_and_wait_read();
    }
    return ipc_send(exec_g.fd, msg, NULL, 0);
}

static ssize_t stdin_read(void *cookie, char *buf, size_t size)
{
    (void)cookie;
    if (stdin_closed)
        return 0;
    if (!stdin_allowed) {
        if (!stdin_warned) {
            fputs("stdin is not available: the client does not allow input\n", stderr);
            fflush(stderr);
            stdin_warned = 1;
        }
        return 0;
    }
    /* The unfinished line the cell printed before reading (`printf("n? ")`) is the
     * question: it becomes the prompt next to the input box, as input("n? ") does in
     * Python, instead of a stray stream fragment. It is taken out of stdout's buffer
     * (line-buffered, so the buffer holds exactly that unfinished line). */
    char prompt[1024] = "";
    size_t pending = stdout->_IO_write_ptr && stdout->_IO_write_base
                         ? (size_t)(stdout->_IO_write_ptr - stdout->_IO_write_base)
                         : 0;
    if (pending > 0 && pending < sizeof prompt && !memchr(stdout->_IO_write_base, '\n', pending)) {
        memcpy(prompt, stdout->_IO_write_base, pending);
        prompt[pending] = '\0';
        stdout->_IO_write_ptr = stdout->_IO_write_base;
    }
    json_t *req = json_pack("{s:s, s:s, s:b}", "type", "input_request", "prompt", prompt, "password", 0);
    int rc = exec_send(req);
    json_decref(req);
    if (rc < 0)
        return -1;
    for (;;) {
        ipc_msg m;
        int r = ipc_recv(exec_g.fd, &exec_g.reader, &m);
        if (r < 0)
            return 0; /* front gone: EOF */
        if (r == 0)
            continue;
        const char *op = json_string_value(json_object_get(m.header, "op"));
        if (op && strcmp(op, "input_reply") == 0) {
            ssize_t n = 0;
            if (!json_is_true(json_object_get(m.header, "eof"))) {
                const char *v = json_string_value(json_object_get(m.header, "value"));
                size_t len = v ? strlen(v) : 0;
                /* A reply is one line; glibc calls us with its buffer size, so a longer
                 * answer is cut (rare: the buffer is BUFSIZ). */
                if (len + 1 > size)
                    len = size - 1;
                memcpy(buf, v ? v : "", len);
                buf[len] = '\n';
                n = (ssize_t)len + 1;
            }
            ipc_msg_free(&m);
            return n;
        }
        /* Anything else while a cell runs is unexpected: tell the log, keep waiting. */
        ipc_msg_free(&m);
    }
}

void cell_io_install_stdin(int allow_stdin)
{
    stdin_allowed = allow_stdin;
    stdin_warned = 0;
    stdin_closed = 0;
    if (!cookie_stream) {
        cookie_io_functions_t io = {stdin_read, NULL, NULL, NULL};
        cookie_stream = fopencookie(NULL, "r", io);
        if (!cookie_stream)
            return;
    }
    stdin = cookie_stream; /* also when an earlier cell assigned stdin */
    /* Each cell's input is its own: an EOF or an unread rest of a line that an earlier
     * cell left in the buffer must not leak into this one. */
    __fpurge(cookie_stream);
    clearerr(cookie_stream);
}

FILE *cell_io_stdin(void)
{
    return cookie_stream;
}

void cell_io_close_stdin(void)
{
    stdin_closed = 1;
}

static int is_text_mime(const char *mime)
{
    return strncmp(mime, "text/", 5) == 0 || strcmp(mime, "image/svg+xml") == 0 ||
           strstr(mime, "json") != NULL || strstr(mime, "javascript") != NULL;
}

static void sink(int kind, const display_part *parts, int nparts, const char *display_id, int wait)
{
    static const char *kinds[] = {"display_data", "update_display_data", "execute_result", "clear_output"};
    if (kind < 0 || kind > 3)
        return;
    if (display_silent && kind == DISPLAY_RESULT)
        return;
    json_t *data = json_object();
    ipc_buffer bufs[IPC_MAX_BUFFERS];
    int nb = 0;
    for (int i = 0; i < nparts; i++) {
        if (!parts[i].mime)
            continue;
        if (is_text_mime(parts[i].mime)) {
            json_t *s = json_stringn_nocheck(parts[i].data ? parts[i].data : "", parts[i].size);
            json_object_set_new(data, parts[i].mime, s);
        } else if (nb < IPC_MAX_BUFFERS) {
            bufs[nb].data = parts[i].data;
            bufs[nb].size = parts[i].size;
            json_object_set_new(data, parts[i].mime, json_pack("{s:i}", "buffer", nb));
            nb++;
        }
    }
    json_t *msg = json_pack("{s:s, s:s, s:o, s:{}, s:b}", "type", "display", "kind", kinds[kind],
                            "data", data, "metadata", "wait", wait ? 1 : 0);
    json_object_set_new(msg, "display_id", display_id ? json_string(display_id) : json_null());
    if (defer_results && kind == DISPLAY_RESULT) {
        cell_io_release_result(0);
        int copied = 0;
        for (; copied < nb; copied++) {
            void *c = malloc(bufs[copied].size ? bufs[copied].size : 1);
            if (!c)
                break;
            memcpy(c, bufs[copied].data, bufs[copied].size);
            deferred_bufs[copied].data = c;
            deferred_bufs[copied].size = bufs[copied].size;
        }
        if (copied == nb) {
            deferred = msg;
            deferred_nb = nb;
            return;
        }
        for (int i = 0; i < copied; i++)
            free((void *)deferred_bufs[i].data);
        /* out of memory: send it now, out of order rather than not at all */
    }
    flush_and_wait_read();
    ipc_send(exec_g.fd, msg, bufs, nb);
    json_decref(msg);
}

void cell_io_defer_result(int on)
{
    defer_results = on;
}

void cell_io_release_result(int send)
{
    if (!deferred)
        return;
    if (send) {
        flush_and_wait_read();
        ipc_send(exec_g.fd, deferred, deferred_bufs, deferred_nb);
    }
    json_decref(deferred);
    deferred = NULL;
    for (int i = 0; i < deferred_nb; i++)
        free((void *)deferred_bufs[i].data);
    deferred_nb = 0;
}

void cell_io_install_display(int silent)
{
    display_silent = silent;
    display_set_sink(sink);
}
