/* worker_main.c — cairn-dmat-worker: the MPI program that holds a session's dmats.
 *
 *     mpirun -np N cairn-dmat-worker --socket PATH
 *     mpirun -np N cairn-dmat-worker --listen HOST:PORT     (TCP, for a driver on another host)
 *
 * Rank 0 listens on the Unix socket PATH, or on TCP (port 0: any free one; it prints
 * "listening on tcp://HOST:PORT" on stdout, which mpirun forwards to the driver's log),
 * runtime/dmat/dmat_client.c starts the job and connects, and rank 0 serves one request
 * at a time. When CAIRN_DMAT_TOKEN is set, a connection must first say HELLO with it or
 * it is closed (a TCP port is open to other users and hosts, a private socket is not): it broadcasts the request to all ranks,
 * every rank runs the operation, rank 0 replies. Between operations rank 0 also keeps the
 * books of which connection owns which object (see dmat_client.c for why that is the
 * transaction rule) and frees objects collectively. When the last connection closes
 * (the kernel is gone) the job ends by itself. A rank that dies takes the job down
 * (MPI's default error handler); mpirun reports which one to its log, which the client
 * quotes. */
#include "worker.h"

#include "cairn/error.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

wstate W;

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void w_fail(const char *fmt, ...)
{
    if (W.failed)
        return;
    W.failed = 1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(W.err, sizeof W.err, fmt, ap);
    va_end(ap);
}

int w_agree(void)
{
    int mine = W.failed ? W.rank : W.size, first;
    MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, W.comm);
    if (first == W.size)
        return 0;
    if (first != 0) {
        /* the message of the first failing rank goes to rank 0 */
        if (W.rank == first)
            MPI_Send(W.err, DMAT_MAX_TEXT, MPI_CHAR, 0, 7, W.comm);
        else if (W.rank == 0)
            MPI_Recv(W.err, DMAT_MAX_TEXT, MPI_CHAR, first, 7, W.comm, MPI_STATUS_IGNORE);
    }
    W.failed = 1;
    return -1;
}

int w_checkpoint(const char *what, long done, long total)
{
    int flag = 0;
    if (W.rank == 0 && W.client_fd >= 0) {
        struct pollfd p = {W.client_fd, POLLIN, 0};
        if (poll(&p, 1, 0) > 0) {
            dmat_msg m;
            int rc = dmat_wire_recv(W.client_fd, &m);
            if (rc <= 0) {
                flag = 2;
                W.client_gone = 1;
            } else {
                if (m.h.op == DOP_INTERRUPT)
                    flag = 1;
                dmat_msg_free(&m);
            }
        }
        double t = now_seconds();
        if (!flag && total > 0 && t - W.started > 0.5 && t - W.last_progress > 0.25) {
            dmat_msg pr;
            dmat_msg_init(&pr, 0);
            pr.h.status = DMAT_PROGRESS;
            pr.h.i[0] = done;
            pr.h.i[1] = total;
            dmat_msg_text(&pr, "%s", what);
            dmat_wire_send(W.client_fd, &pr);
            W.last_progress = t;
        }
    }
    MPI_Bcast(&flag, 1, MPI_INT, 0, W.comm);
    if (flag) {
        W.failed = 1;
        snprintf(W.err, sizeof W.err, "interrupted while %s (after %ld of %ld steps); the workers stopped there",
                 what, done, total);
    }
    return flag != 0;
}

void w_bcast_mat(mat *m, int root)
{
    int64_t shape[2] = {m->rows, m->cols};
    if (W.rank == root && mat_is_empty(*m))
        shape[0] = shape[1] = 0;
    MPI_Bcast(shape, 2, MPI_INT64_T, root, W.comm);
    if (W.rank != root) {
        *m = shape[0] ? mat_alloc((int)shape[0], (int)shape[1]) : mat_empty();
    } else if (shape[0] && !mat_is_contiguous(*m)) {
        mat c = mat_copy(*m);
        *m = c; /* the broadcast copy replaces a view (rank 0's request owns its matrices) */
    }
    size_t n = (size_t)shape[0] * (size_t)shape[1];
    if (n == 0)
        return;
    double *dst = m->data;
    double scratch;
    if (!dst) /* out of memory here: still take part in the broadcast, fail afterwards */
        dst = &scratch;
    for (size_t off = 0; off < n; off += (size_t)1 << 28) {
        size_t c = n - off < ((size_t)1 << 28) ? n - off : ((size_t)1 << 28);
        if (dst == &scratch) {
            double *tmp = malloc(c * sizeof(double));
            MPI_Bcast(tmp, (int)c, MPI_DOUBLE, root, W.comm);
            free(tmp);
        } else {
            MPI_Bcast(dst + off, (int)c, MPI_DOUBLE, root, W.comm);
        }
    }
    if (dst == &scratch)
        w_fail("rank %d: out of memory for a %lld x %lld matrix", W.rank, (long long)shape[0], (long long)shape[1]);
}

void w_send(const double *p, size_t n, int to)
{
    for (size_t off = 0; off < n; off += (size_t)1 << 28) {
        size_t c = n - off < ((size_t)1 << 28) ? n - off : ((size_t)1 << 28);
        MPI_Send(p + off, (int)c, MPI_DOUBLE, to, 11, W.comm);
    }
}

void w_recv(double *p, size_t n, int from)
{
    for (size_t off = 0; off < n; off += (size_t)1 << 28) {
        size_t c = n - off < ((size_t)1 << 28) ? n - off : ((size_t)1 << 28);
        MPI_Recv(p + off, (int)c, MPI_DOUBLE, from, 11, W.comm, MPI_STATUS_IGNORE);
    }
}

dobj *w_object(uint64_t id, const char *what)
{
    dobj *o = store_get(id);
    if (!o)
        w_fail("%s is not on the workers (freed, or made by a cell that was rolled back)", what);
    return o;
}

void w_created(dmat_msg *rep, const dobj *o)
{
    rep->h.i[0] = (int64_t)o->id;
    rep->h.i[2] = o->rows;
    rep->h.i[3] = o->cols;
}

/* ---- broadcasting requests ---- */

static void bcast_request(dmat_msg *m)
{
    MPI_Bcast(&m->h, (int)sizeof m->h, MPI_BYTE, 0, W.comm);
    MPI_Bcast(m->text, (int)m->h.textlen + 1, MPI_CHAR, 0, W.comm);
    for (uint32_t k = 0; k < m->h.nmats; k++) {
        if (m->h.op == DOP_SCATTER && k == 0)
            continue; /* scattered by the operation itself */
        w_bcast_mat(&m->m[k], 0);
    }
}

static op_fn operation(int op)
{
    switch (op) {
    case DOP_INFO: return op_info;
    case DOP_SCATTER: return op_scatter;
    case DOP_GATHER: return op_gather;
    case DOP_AFFINE: return op_affine;
    case DOP_CENTER: return op_center;
    case DOP_COL_MEANS: return op_col_means;
    case DOP_GRAM: return op_gram;
    case DOP_MUL_TN: return op_mul_tn;
    case DOP_MUL: return op_mul;
    case DOP_MUL_NT: return op_mul_nt;
    case DOP_RECONSTRUCT: return op_reconstruct;
    case DOP_RANDN: return op_randn;
    case DOP_PHANTOM: return op_phantom;
    case DOP_READ: return op_read;
    case DOP_SVD_RANDOMIZED: return op_svd_randomized;
    case DOP_PCA_RANDOMIZED: return op_pca_randomized;
    case DOP_SVD_THIN: return op_svd_thin;
    case DOP_MATMUL: return op_matmul;
    case DOP_KMEANS: return op_kmeans;
    default: return NULL;
    }
}

/* Every rank: run the broadcast request m. */
static int run_operation(const dmat_msg *m, dmat_msg *rep)
{
    W.failed = 0;
    W.err[0] = 0;
    W.started = W.last_progress = now_seconds();
    op_fn f = operation((int)m->h.op);
    if (!f) {
        w_fail("unknown operation %u", m->h.op);
        return -1;
    }
    cairn_clear_error();
    int rc = f(m, rep);
    if (rc == 0 && W.failed)
        rc = -1;
    return rc;
}

/* ---- ranks other than 0 ---- */

static void follow(void)
{
    for (;;) {
        dmat_msg m, rep;
        dmat_msg_init(&m, 0);
        bcast_request(&m);
        if (m.h.op == DOP_SHUTDOWN)
            break;
        if (m.h.op == DOP_FREE_NOW) {
            store_free((uint64_t)m.h.i[0]);
        } else {
            dmat_msg_init(&rep, 0);
            run_operation(&m, &rep);
            dmat_msg_free(&rep);
        }
        dmat_msg_free(&m);
    }
}

/* ---- rank 0: the connections ---- */

#define MAX_CONNS 256

typedef struct conn {
    int fd;
    uint64_t serial;
    int64_t pid;
    int authed; /* said HELLO with the token (always, when there is none) */
} conn;

static conn conns[MAX_CONNS];
static int nconns;
static uint64_t next_serial = 1, next_id = 1;
static uint32_t cluster_id;
static char hosts[DMAT_MAX_TEXT];
static const char *token; /* CAIRN_DMAT_TOKEN, or NULL */
static int ever;          /* a client has said HELLO */

/* Same length and bytes, in time that does not depend on where they differ. */
static int token_ok(const char *given)
{
    size_t n = strlen(token), m = strnlen(given, DMAT_MAX_TEXT);
    unsigned char diff = n != m;
    for (size_t k = 0; k < n && k < m; k++)
        diff |= (unsigned char)(token[k] ^ given[k]);
    return diff == 0;
}

static void free_now(uint64_t id)
{
    dmat_msg m;
    dmat_msg_init(&m, DOP_FREE_NOW);
    m.h.i[0] = (int64_t)id;
    bcast_request(&m);
    store_free(id);
}

/* The connection ended: nobody alive can hold what it made; what it freed stays. */
static void conn_closed(int c)
{
    uint64_t serial = conns[c].serial;
    close(conns[c].fd);
    conns[c] = conns[--nconns];
    for (int i = 0; i < store_count();) {
        dobj *o = store_at(i);
        if (o->owner == serial) {
            free_now(o->id);
            continue; /* the table moved the last object here */
        }
        if (o->pending == serial)
            o->pending = 0;
        i++;
    }
}

/* The connection `serial` is known to have committed: its frees apply now. */
static void conn_committed(uint64_t serial)
{
    for (int i = 0; i < store_count();) {
        dobj *o = store_at(i);
        if (o->pending == serial) {
            free_now(o->id);
            continue;
        }
        i++;
    }
}

static void reply(int fd, dmat_msg *rep, int ok)
{
    rep->h.status = ok ? DMAT_OK : DMAT_ERROR;
    if (!ok) {
        for (int k = 0; k < DMAT_MAX_MATS; k++)
            mat_free(&rep->m[k]);
        rep->h.nmats = 0;
        dmat_msg_text(rep, "%s", W.err[0] ? W.err : "the operation failed on the workers");
    }
    dmat_wire_send(fd, rep);
    dmat_msg_free(rep);
}

/* Handle one request on connection c; returns 1 to stop serving. */
static int handle(int c, dmat_msg *m)
{
    dmat_msg rep;
    dmat_msg_init(&rep, (int)m->h.op);
    int fd = conns[c].fd;
    switch (m->h.op) {
    case DOP_HELLO:
        ever = 1;
        conns[c].pid = m->h.i[0];
        for (int k = 1; k < 8; k++)
            for (int d = 0; d < nconns; d++)
                if (d != c && m->h.i[k] > 0 && conns[d].pid == m->h.i[k])
                    conn_committed(conns[d].serial);
        rep.h.i[0] = cluster_id;
        rep.h.i[1] = W.size;
        dmat_msg_text(&rep, "%s", hosts);
        reply(fd, &rep, 1);
        return 0;
    case DOP_INTERRUPT: /* arrived after its operation ended */
        return 0;
    case DOP_SHUTDOWN:
        bcast_request(m);
        return 1;
    case DOP_FREE: {
        dobj *o = store_get((uint64_t)m->h.i[0]);
        if (o && o->owner == conns[c].serial)
            free_now(o->id);
        else if (o)
            o->pending = conns[c].serial;
        reply(fd, &rep, 1);
        return 0;
    }
    default:
        break;
    }
    m->h.i[7] = (int64_t)next_id++; /* the id of whatever the operation makes */
    if (m->h.op == DOP_SCATTER) { /* the others learn the shape from the header */
        m->h.i[2] = m->m[0].rows;
        m->h.i[3] = m->m[0].cols;
    }
    bcast_request(m);
    W.client_fd = fd;
    W.client_gone = 0;
    int rc = run_operation(m, &rep);
    W.client_fd = -1;
    dobj *made = store_get((uint64_t)m->h.i[7]);
    if (made)
        made->owner = conns[c].serial;
    if (W.client_gone) {
        dmat_msg_free(&rep);
        conn_closed(c);
        return 0;
    }
    reply(fd, &rep, rc == 0);
    return 0;
}

/* A TCP listener on "HOST:PORT" (an optional tcp:// before it); prints where it listens. */
static int listen_tcp(const char *addr, const char *myhost)
{
    if (strncmp(addr, "tcp://", 6) == 0)
        addr += 6;
    char host[256] = "";
    const char *colon = strrchr(addr, ':');
    if (colon && (size_t)(colon - addr) < sizeof host) {
        memcpy(host, addr, (size_t)(colon - addr));
        host[colon - addr] = 0;
    }
    int fd = dmat_tcp_open(addr, 1);
    struct sockaddr_storage sa;
    socklen_t len = sizeof sa;
    if (fd < 0 || getsockname(fd, (struct sockaddr *)&sa, &len) != 0) {
        fprintf(stderr, "cairn-dmat-worker: cannot listen on tcp://%s: %s\n", addr, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    int port = sa.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&sa)->sin6_port)
                                        : ntohs(((struct sockaddr_in *)&sa)->sin_port);
    /* a wildcard address is reached through this host's name */
    int any = !host[0] || strcmp(host, "0.0.0.0") == 0 || strcmp(host, "::") == 0;
    printf("cairn-dmat-worker: listening on tcp://%s:%d\n", any ? myhost : host, port);
    fflush(stdout);
    return fd;
}

static int listen_on(const char *path)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un a;
    memset(&a, 0, sizeof a);
    a.sun_family = AF_UNIX;
    snprintf(a.sun_path, sizeof a.sun_path, "%s", path);
    unlink(path);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 64) != 0) {
        fprintf(stderr, "cairn-dmat-worker: cannot listen on %s: %s\n", path, strerror(errno));
        return -1;
    }
    return fd;
}

static void serve(int lfd)
{
    for (;;) {
        struct pollfd p[MAX_CONNS + 1];
        p[0].fd = lfd;
        p[0].events = POLLIN;
        for (int c = 0; c < nconns; c++) {
            p[c + 1].fd = conns[c].fd;
            p[c + 1].events = POLLIN;
        }
        int polled = nconns;
        int n = poll(p, (nfds_t)polled + 1, 1000);
        if (n < 0 && errno != EINTR)
            break;
        if (n > 0 && (p[0].revents & POLLIN)) {
            int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
            if (fd >= 0 && nconns < MAX_CONNS) {
                int one = 1;
                setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one); /* fails harmlessly on Unix sockets */
                conns[nconns].fd = fd;
                conns[nconns].serial = next_serial++;
                conns[nconns].pid = 0;
                conns[nconns].authed = !token;
                nconns++;
            } else if (fd >= 0) {
                close(fd);
            }
        }
        /* Walk the polled connections by fd: handling one may close others. */
        for (int k = 1; n > 0 && k <= polled; k++) {
            if (!(p[k].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            int c = -1;
            for (int d = 0; d < nconns; d++)
                if (conns[d].fd == p[k].fd)
                    c = d;
            if (c < 0)
                continue;
            dmat_msg m;
            int rc = dmat_wire_recv(conns[c].fd, &m);
            if (rc <= 0) {
                conn_closed(c);
                continue;
            }
            if (!conns[c].authed) {
                conns[c].authed = m.h.op == DOP_HELLO && token_ok(m.text);
                if (!conns[c].authed) {
                    dmat_msg_free(&m);
                    conn_closed(c);
                    continue;
                }
            }
            int stop = handle(c, &m);
            dmat_msg_free(&m);
            if (stop)
                return;
        }
        if (ever && nconns == 0) {
            /* every process of the session is gone: end the job */
            dmat_msg m;
            dmat_msg_init(&m, DOP_SHUTDOWN);
            bcast_request(&m);
            return;
        }
    }
}

int main(int argc, char **argv)
{
    const char *socket_path = NULL, *listen_addr = NULL;
    for (int i = 1; i + 1 < argc; i++) {
        if (strcmp(argv[i], "--socket") == 0)
            socket_path = argv[i + 1];
        if (strcmp(argv[i], "--listen") == 0)
            listen_addr = argv[i + 1];
    }
    token = getenv("CAIRN_DMAT_TOKEN");
    if (token && !*token)
        token = NULL;
    signal(SIGPIPE, SIG_IGN);
    MPI_Init(&argc, &argv);
    W.comm = MPI_COMM_WORLD;
    MPI_Comm_rank(W.comm, &W.rank);
    MPI_Comm_size(W.comm, &W.size);
    W.client_fd = -1;

    /* "host pid" of every rank, for the client's reports */
    char me[128], name[MPI_MAX_PROCESSOR_NAME];
    int len = 0;
    MPI_Get_processor_name(name, &len);
    snprintf(me, sizeof me, "%.100s %d\n", name, (int)getpid());
    char *all = W.rank == 0 ? calloc((size_t)W.size, sizeof me) : NULL;
    MPI_Gather(me, (int)sizeof me, MPI_CHAR, all, (int)sizeof me, MPI_CHAR, 0, W.comm);

    int lfd = -1, ok = 1;
    if (W.rank == 0) {
        size_t o = 0;
        for (int r = 0; r < W.size && all; r++) {
            int w = snprintf(hosts + o, sizeof hosts - o, "%s", all + (size_t)r * sizeof me);
            if (w < 0 || (size_t)w >= sizeof hosts - o)
                break;
            o += (size_t)w;
        }
        free(all);
        cluster_id = (uint32_t)((uint64_t)time(NULL) * 2654435761u ^ (uint64_t)getpid() * 40503u);
        if (!cluster_id)
            cluster_id = 1;
        name[len < MPI_MAX_PROCESSOR_NAME ? len : MPI_MAX_PROCESSOR_NAME - 1] = 0;
        lfd = listen_addr ? listen_tcp(listen_addr, name) : socket_path ? listen_on(socket_path) : -1;
        ok = lfd >= 0;
        if (!socket_path && !listen_addr)
            fprintf(stderr, "usage: mpirun -np N cairn-dmat-worker --socket PATH | --listen HOST:PORT\n");
    }
    MPI_Bcast(&ok, 1, MPI_INT, 0, W.comm);
    if (ok) {
        if (W.rank == 0)
            serve(lfd);
        else
            follow();
    }
    if (lfd >= 0) {
        close(lfd);
        if (!listen_addr)
            unlink(socket_path);
    }
    MPI_Finalize();
    return ok ? 0 : 1;
}
