/* dmat_proto.h — the messages between a cell (the client in libcairn) and rank 0 of the
 * workers, and from rank 0 to the other ranks.
 *
 * One message = a fixed header (operation, status, 8 integers, 4 doubles, how many
 * matrices follow, text length) + the text + each matrix as rows, cols and its doubles in
 * row-major order. The same layout goes over the Unix socket (dmat_wire_send/recv) and is
 * broadcast over MPI by rank 0, so every rank runs the same operation with the same
 * arguments. Replies use it too: status OK, ERROR (text says why) or PROGRESS (i[0] of
 * i[1] steps done, text names them), several PROGRESS before the final reply. */
#ifndef CAIRN_DMAT_PROTO_H
#define CAIRN_DMAT_PROTO_H

#include <stdint.h>

#include "cairn/mat.h"

#define DMAT_MAGIC 0x54414d44u /* "DMAT" */
#define DMAT_MAX_MATS 4
#define DMAT_MAX_TEXT 2048
#define DMAT_RANDOM_BLOCK 1024 /* rows per seeded block of dmat_randn */

enum dmat_op {
    DOP_HELLO = 1,   /* i[0] pid, i[1..7] ancestor pids → i[0] cluster id, i[1] ranks, text "host pid\n" per rank */
    DOP_INFO,        /* → m[0] 4 x ranks: bytes held, resident set size, pid, MPI bytes moved so far */
    DOP_SHUTDOWN,    /* stop the job */
    DOP_FREE,        /* i[0] id */
    DOP_INTERRUPT,   /* client → rank 0 while an operation runs */
    DOP_SCATTER,     /* m[0] the matrix → new id */
    DOP_GATHER,      /* i[0] id, i[1] first row, i[2] count → m[0] */
    DOP_AFFINE,      /* i[0] id, d[0] alpha, d[1] beta → new id */
    DOP_CENTER,      /* i[0] id → new id, m[0] means */
    DOP_COL_MEANS,   /* i[0] id → m[0] */
    DOP_GRAM,        /* i[0] id → m[0] */
    DOP_MUL_TN,      /* i[0] A, i[1] B → m[0] = AᵀB */
    DOP_MUL,         /* i[0] id, m[0] B → new id A·B */
    DOP_MUL_NT,      /* i[0] id, m[0] B, m[1] optional row subtracted first → new id (A - 1·m1)·Bᵀ */
    DOP_MATMUL,      /* i[0] A, i[1] B → new id (PDGEMM) */
    DOP_SVD_THIN,    /* i[0] id → new id U, m[0] S, m[1] Vt (PDGESVD) */
    DOP_SVD_RANDOMIZED, /* i[0] id, i[1] k, i[2] oversample, i[3] power iterations, i[4] seed → new id U, m[0] S, m[1] Vt */
    DOP_RECONSTRUCT, /* i[0] U, i[1] k, m[0] S, m[1] Vt → new id */
    DOP_PCA_RANDOMIZED, /* i[0] id, i[1] k, i[4] seed → m[0] components, m[1] mean, m[2] S; d[0] total variance */
    DOP_KMEANS,      /* i[0] id, i[1] max_iter, d[0] tol, m[0] centers → new id labels, m[0] centers, d[0] inertia, i[1] iterations */
    DOP_READ,        /* i[0] kind (0 npy, 1 idx, 2 csv: i[1] delimiter, i[2] header), text path → new id */
    DOP_RANDN,       /* i[0] rows, i[1] cols, i[4] seed → new id */
    DOP_FREE_NOW,    /* rank 0 → ranks only: free object i[0] now */
    DOP_PHANTOM      /* i[0] slices, i[1] height, i[2] width, d[0] noise sigma, i[4] seed → new id */
};

enum { DMAT_OK = 0, DMAT_ERROR = 1, DMAT_PROGRESS = 2 };

typedef struct dmat_head {
    uint32_t magic;
    uint32_t op;
    int32_t status;
    uint32_t nmats;
    int64_t i[8];
    double d[4];
    uint32_t textlen;
    uint32_t pad;
} dmat_head;

typedef struct dmat_msg {
    dmat_head h;
    char text[DMAT_MAX_TEXT]; /* NUL-terminated, textlen bytes of it travel */
    mat m[DMAT_MAX_MATS];     /* h.nmats of them; owned by the message */
} dmat_msg;

/** A message with operation op and nothing else set. */
void dmat_msg_init(dmat_msg *m, int op);

/** Set the text of a message (cut at DMAT_MAX_TEXT - 1 bytes). */
void dmat_msg_text(dmat_msg *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/** Free the matrices a message owns. */
void dmat_msg_free(dmat_msg *m);

/** Send a message on a stream socket; 0 or -1 (errno). Matrices are not freed. */
int dmat_wire_send(int fd, const dmat_msg *m);

/** Receive one message (matrices allocated); 1 done, 0 end of stream, -1 error. */
int dmat_wire_recv(int fd, dmat_msg *m);

/** A TCP socket for "HOST:PORT": connected to it (passive 0, no Nagle delay) or listening
 * on it (passive 1; an empty HOST is every interface); -1 with errno. */
int dmat_tcp_open(const char *hostport, int passive);

/** Row partition of an m-row matrix over p ranks: rank r holds rows [first, first+count). */
void dmat_partition(int rows, int ranks, int rank, int *first, int *count);

#endif
