/* ipc.c — packet framing of JSON+buffers messages over a SOCK_SEQPACKET socketpair.
 * Serialized message: u32 header_len, u32 nbuffers, u64 size[nbuffers], header bytes,
 * buffer bytes. See ipc.h for why packets carry a "last" flag. */
#include "ipc.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <unistd.h>

int ipc_pair(int fds[2])
{
    return socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds);
}

static int send_packet(int fd, int last, const char *data, size_t len)
{
    char flag = (char)(last ? 1 : 0);
    struct iovec iov[2] = {{&flag, 1}, {(void *)data, len}};
    struct msghdr mh = {0};
    mh.msg_iov = iov;
    mh.msg_iovlen = 2;
    for (;;) {
        ssize_t n = sendmsg(fd, &mh, MSG_NOSIGNAL);
        if (n >= 0)
            return 0;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            /* Non-blocking writer and a full queue: wait for room. */
            fd_set w;
            FD_ZERO(&w);
            FD_SET(fd, &w);
            select(fd + 1, NULL, &w, NULL, NULL);
            continue;
        }
        return -1;
    }
}

int ipc_send(int fd, const json_t *header, const ipc_buffer *buffers, int nbuffers)
{
    if (nbuffers < 0 || nbuffers > IPC_MAX_BUFFERS)
        return -1;
    char *text = json_dumps(header, JSON_COMPACT);
    if (!text)
        return -1;
    size_t hlen = strlen(text);
    size_t total = 8 + 8 * (size_t)nbuffers + hlen;
    for (int i = 0; i < nbuffers; i++)
        total += buffers[i].size;
    char *msg = malloc(total);
    if (!msg) {
        free(text);
        return -1;
    }
    uint32_t h32 = (uint32_t)hlen, n32 = (uint32_t)nbuffers;
    memcpy(msg, &h32, 4);
    memcpy(msg + 4, &n32, 4);
    size_t off = 8;
    for (int i = 0; i < nbuffers; i++) {
        uint64_t s = buffers[i].size;
        memcpy(msg + off, &s, 8);
        off += 8;
    }
    memcpy(msg + off, text, hlen);
    off += hlen;
    free(text);
    for (int i = 0; i < nbuffers; i++) {
        if (buffers[i].size)
            memcpy(msg + off, buffers[i].data, buffers[i].size);
        off += buffers[i].size;
    }
    const size_t chunk = IPC_PACKET_MAX - 1;
    int rc = 0;
    for (size_t pos = 0; pos < total || total == 0; pos += chunk) {
        size_t len = total - pos < chunk ? total - pos : chunk;
        if (send_packet(fd, pos + len >= total, msg + pos, len) < 0) {
            rc = -1;
            break;
        }
        if (total == 0)
            break;
    }
    free(msg);
    return rc;
}

void ipc_reader_reset(ipc_reader *reader) { reader->len = 0; }

int ipc_reader_reserve(ipc_reader *r)
{
    if (r->cap - r->len >= IPC_PACKET_MAX)
        return 0;
    size_t cap = r->cap ? r->cap * 2 : 2 * IPC_PACKET_MAX;
    while (cap - r->len < IPC_PACKET_MAX)
        cap *= 2;
    char *nb = realloc(r->buf, cap);
    if (!nb)
        return -1;
    r->buf = nb;
    r->cap = cap;
    return 0;
}

void ipc_reader_free(ipc_reader *reader)
{
    free(reader->buf);
    reader->buf = NULL;
    reader->len = reader->cap = 0;
}

void ipc_msg_free(ipc_msg *msg)
{
    if (msg->header)
        json_decref(msg->header);
    free(msg->storage);
    memset(msg, 0, sizeof *msg);
}

static int decode(ipc_reader *r, ipc_msg *out)
{
    memset(out, 0, sizeof *out);
    if (r->len < 8)
        return -1;
    uint32_t hlen, nbuf;
    memcpy(&hlen, r->buf, 4);
    memcpy(&nbuf, r->buf + 4, 4);
    if (nbuf > IPC_MAX_BUFFERS || 8 + 8 * (size_t)nbuf + hlen > r->len)
        return -1;
    size_t off = 8 + 8 * (size_t)nbuf;
    size_t data_total = 0;
    for (uint32_t i = 0; i < nbuf; i++) {
        uint64_t s;
        memcpy(&s, r->buf + 8 + 8 * (size_t)i, 8);
        if (s > r->len)
            return -1;
        out->buffers[i].size = (size_t)s;
        data_total += (size_t)s;
    }
    if (off + hlen + data_total != r->len)
        return -1;
    json_error_t err;
    out->header = json_loadb(r->buf + off, hlen, 0, &err);
    if (!out->header || !json_is_object(out->header)) {
        if (out->header)
            json_decref(out->header);
        out->header = NULL;
        return -1;
    }
    off += hlen;
    /* Hand the reader's buffer to the message; the buffers point into it. */
    out->storage = r->buf;
    out->nbuffers = (int)nbuf;
    for (uint32_t i = 0; i < nbuf; i++) {
        out->buffers[i].data = r->buf + off;
        off += out->buffers[i].size;
    }
    r->buf = NULL;
    r->len = r->cap = 0;
    return 1;
}

int ipc_recv(int fd, ipc_reader *r, ipc_msg *out)
{
    for (;;) {
        if (ipc_reader_reserve(r) < 0)
            return -1;
        char flag;
        struct iovec iov[2] = {{&flag, 1}, {r->buf + r->len, IPC_PACKET_MAX - 1}};
        struct msghdr mh = {0};
        mh.msg_iov = iov;
        mh.msg_iovlen = 2;
        ssize_t n = recvmsg(fd, &mh, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return 0;
            return -1;
        }
        if (n == 0)
            return -1; /* peer closed */
        r->len += (size_t)n - 1;
        if (r->len > IPC_MESSAGE_MAX) {
            ipc_reader_reset(r);
            return -1;
        }
        if (flag == 1) {
            int rc = decode(r, out);
            if (rc < 0)
                ipc_reader_reset(r);
            return rc;
        }
    }
}
