/* dmat_internal.h — what the client files of runtime/dmat share (not seen by cells). */
#ifndef CAIRN_DMAT_INTERNAL_H
#define CAIRN_DMAT_INTERNAL_H

#include "cairn/dmat.h"
#include "dmat_proto.h"

/** Run one operation on the workers: send req, show progress, wait for the reply (interrupt
 * reaches the workers). 0 with *rep filled (its matrices are the caller's), or -1 after
 * cairn_error(func, ...) naming what failed. req's matrices are not freed. */
int dmat_call(const char *func, dmat_msg *req, dmat_msg *rep);

/** 0 when A is a live dmat of the running cluster, else -1 after an error naming func and what. */
int dmat_check(const char *func, dmat A, const char *what);

/** The handle a reply describes (i[0] id, i[2] rows, i[3] cols). */
dmat dmat_handle_from(const dmat_msg *rep);

/** The running cluster's id (0 when none) and its number of ranks. */
uint32_t dmat_cluster_id(void);

/** Bytes as text with a binary unit ("3.2 MiB"), for %cluster and a dmat's display. */
void dmat_bytes_text(double bytes, char *out, size_t size);

#endif
