/* worker.h — what the files of cairn-dmat-worker share.
 *
 * Every rank runs the same loop: rank 0 reads a request from a client socket and
 * broadcasts it; all ranks run the operation (op_* functions) in the same order, so the
 * object table (ids → local rows) is the same everywhere. Operations never fail on one
 * rank alone: a rank that cannot go on records why (w_fail) and the next w_agree tells
 * every rank, which then all return -1 together; rank 0 replies with that message. */
#ifndef CAIRN_DMAT_WORKER_H
#define CAIRN_DMAT_WORKER_H

#include <mpi.h>
#include <stddef.h>
#include <stdint.h>

#include "../dmat_proto.h"

/* One distributed matrix: this rank's rows [first, first + count) of rows x cols, row-major. */
typedef struct dobj {
    uint64_t id;
    int rows, cols;
    int first, count;
    double *data;
    uint64_t owner;   /* rank 0: the connection that made it */
    uint64_t pending; /* rank 0: a connection asked to free it, applied when that one commits */
} dobj;

typedef struct wstate {
    int rank, size;
    MPI_Comm comm;
    int client_fd;   /* rank 0, during an operation: the requesting connection (-1 otherwise) */
    int client_gone; /* rank 0: that connection ended during the operation */
    double started, last_progress;
    int failed;
    char err[DMAT_MAX_TEXT];
} wstate;

extern wstate W;

/* ---- object table (worker_store.c) ---- */
dobj *store_new(uint64_t id, int rows, int cols); /* NULL after w_fail (out of memory) */
dobj *store_get(uint64_t id);
void store_free(uint64_t id);
size_t store_bytes(void);
int store_count(void);
dobj *store_at(int i);

/* ---- collective helpers (worker_main.c) ---- */
void w_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/** Collective: 0 when no rank failed, else -1 on every rank (rank 0 gets the first failing rank's message). */
int w_agree(void);
/** Collective: 1 on every rank when the client interrupted (or went away); sends progress. */
int w_checkpoint(const char *what, long done, long total);
/** Broadcast a matrix from rank root (allocated on the others). */
void w_bcast_mat(mat *m, int root);
/** The object for an id, or NULL after w_fail naming the argument. */
dobj *w_object(uint64_t id, const char *what);
/** Reply fields of a newly made object. */
void w_created(dmat_msg *rep, const dobj *o);
/** Chunked point-to-point transfer of n doubles (n may exceed INT_MAX). */
void w_send(const double *p, size_t n, int to);
void w_recv(double *p, size_t n, int from);

/** Bytes this rank's own MPI calls moved since start (worker_traffic.c). */
double w_traffic(void);

/* ---- operations: every rank calls them with the broadcast request; rank 0 fills rep ---- */
typedef int (*op_fn)(const dmat_msg *req, dmat_msg *rep);
int op_info(const dmat_msg *req, dmat_msg *rep);
int op_scatter(const dmat_msg *req, dmat_msg *rep);
int op_gather(const dmat_msg *req, dmat_msg *rep);
int op_affine(const dmat_msg *req, dmat_msg *rep);
int op_center(const dmat_msg *req, dmat_msg *rep);
int op_col_means(const dmat_msg *req, dmat_msg *rep);
int op_gram(const dmat_msg *req, dmat_msg *rep);
int op_mul_tn(const dmat_msg *req, dmat_msg *rep);
int op_mul(const dmat_msg *req, dmat_msg *rep);
int op_mul_nt(const dmat_msg *req, dmat_msg *rep);
int op_reconstruct(const dmat_msg *req, dmat_msg *rep);
int op_randn(const dmat_msg *req, dmat_msg *rep);
int op_phantom(const dmat_msg *req, dmat_msg *rep);
int op_read(const dmat_msg *req, dmat_msg *rep);
int op_svd_randomized(const dmat_msg *req, dmat_msg *rep);
int op_pca_randomized(const dmat_msg *req, dmat_msg *rep);
int op_svd_thin(const dmat_msg *req, dmat_msg *rep);
int op_matmul(const dmat_msg *req, dmat_msg *rep);
int op_kmeans(const dmat_msg *req, dmat_msg *rep);

/* ---- shared numerics (worker_svd.c) ---- */
/** Column means of an object, on every rank (1 x cols). */
mat w_col_means(const dobj *A);
/** svd_flip over a distributed U (its local rows u, count x k) and the local Vt: the largest |U| entry of each column positive. */
void w_svd_flip(double *u, int count, int k, mat Vt);

#endif
