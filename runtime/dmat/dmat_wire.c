/* dmat_wire.c — framing of dmat messages on a stream socket (see dmat_proto.h), shared
 * by the client in libcairn and the worker's rank 0. Reads and writes retry on EINTR
 * and short transfers; a matrix that is a view goes out row by row. Also the TCP socket
 * both sides open when rank 0 serves on TCP (dmat_tcp_open). */
#include "dmat_proto.h"

#include "cairn/error.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

void dmat_msg_init(dmat_msg *m, int op)
{
    memset(&m->h, 0, sizeof m->h);
    m->h.magic = DMAT_MAGIC;
    m->h.op = (uint32_t)op;
    m->text[0] = 0;
    for (int k = 0; k < DMAT_MAX_MATS; k++)
        m->m[k] = mat_empty();
}

void dmat_msg_text(dmat_msg *m, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(m->text, sizeof m->text, fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    m->h.textlen = (uint32_t)(n < DMAT_MAX_TEXT ? n : DMAT_MAX_TEXT - 1);
}

void dmat_msg_free(dmat_msg *m)
{
    for (int k = 0; k < DMAT_MAX_MATS; k++)
        mat_free(&m->m[k]);
    m->h.nmats = 0;
}

static int write_all(int fd, const void *buf, size_t n)
{
    const char *p = buf;
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* 1 when all n bytes came, 0 at end of stream before the first byte, -1 otherwise. */
static int read_all(int fd, void *buf, size_t n)
{
    char *p = buf;
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, p + got, n - got);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (r == 0) {
            if (got == 0)
                return 0;
            errno = EPIPE;
            return -1;
        }
        got += (size_t)r;
    }
    return 1;
}

int dmat_wire_send(int fd, const dmat_msg *m)
{
    dmat_head h = m->h;
    h.magic = DMAT_MAGIC;
    if (h.textlen >= DMAT_MAX_TEXT)
        h.textlen = DMAT_MAX_TEXT - 1;
    if (write_all(fd, &h, sizeof h) < 0 || write_all(fd, m->text, h.textlen) < 0)
        return -1;
    for (uint32_t k = 0; k < h.nmats && k < DMAT_MAX_MATS; k++) {
        mat a = m->m[k];
        int64_t shape[2] = {a.rows, a.cols};
        if (mat_is_empty(a))
            shape[0] = shape[1] = 0;
        if (write_all(fd, shape, sizeof shape) < 0)
            return -1;
        if (shape[0] == 0)
            continue;
        if (mat_is_contiguous(a)) {
            if (write_all(fd, a.data, (size_t)a.rows * (size_t)a.cols * sizeof(double)) < 0)
                return -1;
        } else {
            for (int i = 0; i < a.rows; i++)
                if (write_all(fd, mat_ptr(a, i, 0), (size_t)a.cols * sizeof(double)) < 0)
                    return -1;
        }
    }
    return 0;
}

int dmat_wire_recv(int fd, dmat_msg *m)
{
    dmat_msg_init(m, 0);
    int rc = read_all(fd, &m->h, sizeof m->h);
    if (rc <= 0)
        return rc;
    if (m->h.magic != DMAT_MAGIC || m->h.textlen >= DMAT_MAX_TEXT || m->h.nmats > DMAT_MAX_MATS) {
        errno = EPROTO;
        return -1;
    }
    if (m->h.textlen && read_all(fd, m->text, m->h.textlen) != 1)
        return -1;
    m->text[m->h.textlen] = 0;
    for (uint32_t k = 0; k < m->h.nmats; k++) {
        int64_t shape[2];
        if (read_all(fd, shape, sizeof shape) != 1)
            goto fail;
        if (shape[0] == 0 || shape[1] == 0)
            continue;
        if (shape[0] < 0 || shape[1] < 0 || shape[0] > INT32_MAX || shape[1] > INT32_MAX) {
            errno = EPROTO;
            goto fail;
        }
        m->m[k] = mat_alloc((int)shape[0], (int)shape[1]);
        if (mat_is_empty(m->m[k])) {
            errno = ENOMEM;
            goto fail;
        }
        if (read_all(fd, m->m[k].data, (size_t)shape[0] * (size_t)shape[1] * sizeof(double)) != 1)
            goto fail;
    }
    return 1;
fail:
    dmat_msg_free(m);
    return -1;
}

void dmat_partition(int rows, int ranks, int rank, int *first, int *count)
{
    /* Blocks of ceil(rows / ranks): exactly ScaLAPACK's block distribution over a
     * 1-D grid, so the workers hand their rows to PDGEMR2D without a copy. */
    long mb = ranks > 0 ? ((long)rows + ranks - 1) / ranks : rows;
    long f = mb * rank, e = mb * (rank + 1);
    if (f > rows)
        f = rows;
    if (e > rows)
        e = rows;
    *first = (int)f;
    *count = (int)(e - f);
}

int dmat_tcp_open(const char *hostport, int passive)
{
    char host[256];
    const char *colon = strrchr(hostport, ':');
    if (!colon || (size_t)(colon - hostport) >= sizeof host || (!passive && colon == hostport)) {
        errno = EINVAL;
        return -1;
    }
    memcpy(host, hostport, (size_t)(colon - hostport));
    host[colon - hostport] = 0;
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = passive ? AI_PASSIVE : 0;
    if (getaddrinfo(host[0] ? host : NULL, colon + 1, &hints, &res) != 0) {
        errno = EHOSTUNREACH;
        return -1;
    }
    int fd = -1, one = 1;
    for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0)
            continue;
        int ok = passive ? setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == 0 &&
                               bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 64) == 0
                         : connect(fd, ai->ai_addr, ai->ai_addrlen) == 0;
        if (!ok) {
            int e = errno;
            close(fd);
            fd = -1;
            errno = e;
        }
    }
    freeaddrinfo(res);
    if (fd >= 0 && !passive) /* requests and replies are small and alternate */
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}
