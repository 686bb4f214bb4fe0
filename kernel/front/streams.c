/* streams.c — the executor chain's stdout/stderr pipes become `stream` messages.
 *
 * Bytes are forwarded as they arrive, cut at the last newline of what was read, so a
 * cell that prints a line per second shows each line when it is printed. A tail without
 * newline (printf("x")) waits at most STREAM_FLUSH_SECONDS for the rest of its line,
 * then goes out cut at a UTF-8 boundary. Each read chunk is one message, so a flood of
 * small lines does not become a flood of messages. Per cell, output beyond
 * STREAM_CELL_CAP is read and dropped (the cell must not block on a full pipe) and a
 * notice says how much. */
#include "front.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define STREAM_READ_CHUNK 65536
#define STREAM_PARTIAL_MAX 65536

static void publish_bytes(front *f, stream_buf *sb, const char *data, size_t n)
{
    if (n == 0)
        return;
    size_t len;
    char *text = wire_utf8_sanitize(data, n, &len);
    if (!text)
        return;
    json_t *content = json_object();
    json_object_set_new(content, "name", json_string(sb->name));
    json_object_set_new(content, "text", json_stringn(text, len));
    free(text);
    const json_t *parent = f->running ? f->running->msg.header : f->last_parent;
    front_publish(f, "stream", parent, content);
}

/* Publish buf[0, n) and keep the rest. */
static void emit_prefix(front *f, stream_buf *sb, size_t n)
{
    if (n == 0)
        return;
    size_t room = sb->cell_bytes < STREAM_CELL_CAP ? STREAM_CELL_CAP - sb->cell_bytes : 0;
    size_t send = n < room ? n : room;
    if (send < n) {
        /* Cut the forwarded part at a UTF-8 boundary; the rest counts as dropped. */
        send = wire_utf8_complete_prefix(sb->buf, send);
        sb->dropped += n - send;
    }
    publish_bytes(f, sb, sb->buf, send);
    sb->cell_bytes += send;
    memmove(sb->buf, sb->buf + n, sb->len - n);
    sb->len -= n;
    sb->partial_since = sb->len ? front_now() : 0;
}

static void emit_lines(front *f, stream_buf *sb)
{
    size_t cut = sb->len;
    while (cut > 0 && sb->buf[cut - 1] != '\n')
        cut--;
    if (cut == 0 && sb->len > STREAM_PARTIAL_MAX)
        cut = wire_utf8_complete_prefix(sb->buf, sb->len);
    if (cut > 0)
        emit_prefix(f, sb, cut);
    if (sb->len && sb->partial_since == 0)
        sb->partial_since = front_now();
}

/* Room for `more` bytes after the buffered text. 0, or -1 when out of memory. */
static int stream_reserve(stream_buf *sb, size_t more)
{
    if (sb->cap - sb->len >= more)
        return 0;
    size_t cap = sb->cap ? sb->cap * 2 : 2 * STREAM_READ_CHUNK;
    while (cap - sb->len < more)
        cap *= 2;
    char *nb = realloc(sb->buf, cap);
    if (!nb)
        return -1;
    sb->buf = nb;
    sb->cap = cap;
    return 0;
}

int stream_pump(front *f, stream_buf *sb, int *fd, size_t budget, int ordered)
{
    size_t taken = 0;
    int rc = 0;
    if (!sb->chunk && !(sb->chunk = malloc(STREAM_READ_CHUNK)))
        return 0;
    while (*fd >= 0 && taken < budget) {
        double read_at = front_realtime();
        /* Unordered reads (draining before `done`, or when the chain died, possibly
         * while an ordered read holds its chunk) go straight into the buffer. */
        if (stream_reserve(sb, STREAM_READ_CHUNK) < 0)
            break;
        ssize_t n = read(*fd, ordered ? sb->chunk : sb->buf + sb->len, STREAM_READ_CHUNK);
        if (n > 0 && !ordered) {
            sb->len += (size_t)n;
            taken += (size_t)n;
            emit_lines(f, sb);
            continue;
        }
        if (n > 0) {
            /* Messages sent before this read began precede its bytes: the sender waited
             * until the pipes were empty before sending (protocol.md). */
            if (ordered)
                front_handle_executor_before(f, read_at);
            if (stream_reserve(sb, (size_t)n) < 0)
                break;
            memcpy(sb->buf + sb->len, sb->chunk, (size_t)n);
            sb->len += (size_t)n;
            taken += (size_t)n;
            emit_lines(f, sb);
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        /* EOF or a hard error: the chain's last writer is gone. */
        close(*fd);
        *fd = -1;
        rc = -1;
    }
    if (rc < 0 && sb->len)
        stream_flush(f, sb, 1);
    return rc;
}

void stream_flush(front *f, stream_buf *sb, int all)
{
    size_t n = all ? sb->len : wire_utf8_complete_prefix(sb->buf, sb->len);
    if (n)
        emit_prefix(f, sb, n);
    if (!sb->len)
        sb->partial_since = 0;
}

double stream_tick(front *f, stream_buf *sb, double now)
{
    if (!sb->len || sb->partial_since == 0)
        return 1e9;
    double due = sb->partial_since + STREAM_FLUSH_SECONDS;
    if (now >= due) {
        /* Keep an incomplete UTF-8 sequence for the next read. */
        size_t cut = wire_utf8_complete_prefix(sb->buf, sb->len);
        if (cut == 0) {
            /* Only the start of a UTF-8 sequence: wait for its other bytes (the end
             * of the cell flushes it in any case). */
            sb->partial_since = now;
            return STREAM_FLUSH_SECONDS;
        }
        emit_prefix(f, sb, cut);
        return sb->len ? STREAM_FLUSH_SECONDS : 1e9;
    }
    return due - now;
}

void stream_begin_cell(stream_buf *sb)
{
    sb->cell_bytes = 0;
    sb->dropped = 0;
}

void stream_end_cell(front *f, stream_buf *sb)
{
    stream_flush(f, sb, 1);
    if (sb->dropped) {
        char note[128];
        int n = snprintf(note, sizeof note, "\n[output truncated: %zu bytes dropped]\n", sb->dropped);
        publish_bytes(f, sb, note, (size_t)n);
        front_log("%s output of the cell capped: %zu bytes dropped", sb->name, sb->dropped);
    }
    sb->cell_bytes = 0;
    sb->dropped = 0;
}

void stream_free(stream_buf *sb)
{
    free(sb->buf);
    free(sb->chunk);
    sb->chunk = NULL;
    sb->buf = NULL;
    sb->len = sb->cap = 0;
}
