/* worker_traffic.c — how many bytes the worker's own MPI calls move, for the benchmark's
 * "bytes moved per operation" (dmat_cluster_traffic). The MPI functions the worker calls
 * are defined here and forward to their PMPI_ names (MPI's profiling interface); each
 * rank adds what it receives or sends up a tree, so that the sum over the ranks is the
 * traffic of a tree algorithm: a broadcast or reduction of n bytes counts (ranks-1)·n, an
 * allreduce twice that, a gather or scatter each non-root part once. ScaLAPACK's own
 * messages (PDGEMM, PDGESVD, PDGEMR2D) go straight to libmpi and are not counted. */
#include "worker.h"

static double traffic;

double w_traffic(void) { return traffic; }

static double bytes_of(int count, MPI_Datatype t)
{
    int size = 0;
    PMPI_Type_size(t, &size);
    return (double)count * size;
}

static int rank_in(MPI_Comm c)
{
    int r = 0;
    PMPI_Comm_rank(c, &r);
    return r;
}

static int size_of(MPI_Comm c)
{
    int s = 1;
    PMPI_Comm_size(c, &s);
    return s;
}

int MPI_Bcast(void *buf, int count, MPI_Datatype t, int root, MPI_Comm c)
{
    if (rank_in(c) != root)
        traffic += bytes_of(count, t);
    return PMPI_Bcast(buf, count, t, root, c);
}

int MPI_Reduce(const void *s, void *r, int count, MPI_Datatype t, MPI_Op op, int root, MPI_Comm c)
{
    if (rank_in(c) != root)
        traffic += bytes_of(count, t);
    return PMPI_Reduce(s, r, count, t, op, root, c);
}

int MPI_Allreduce(const void *s, void *r, int count, MPI_Datatype t, MPI_Op op, MPI_Comm c)
{
    if (rank_in(c) != 0)
        traffic += 2 * bytes_of(count, t);
    return PMPI_Allreduce(s, r, count, t, op, c);
}

int MPI_Gather(const void *s, int scount, MPI_Datatype st, void *r, int rcount, MPI_Datatype rt, int root, MPI_Comm c)
{
    if (rank_in(c) != root)
        traffic += bytes_of(scount, st);
    return PMPI_Gather(s, scount, st, r, rcount, rt, root, c);
}

int MPI_Gatherv(const void *s, int scount, MPI_Datatype st, void *r, const int rcounts[], const int displs[],
                MPI_Datatype rt, int root, MPI_Comm c)
{
    if (rank_in(c) != root)
        traffic += bytes_of(scount, st);
    return PMPI_Gatherv(s, scount, st, r, rcounts, displs, rt, root, c);
}

int MPI_Scatterv(const void *s, const int scounts[], const int displs[], MPI_Datatype st, void *r, int rcount,
                 MPI_Datatype rt, int root, MPI_Comm c)
{
    if (rank_in(c) != root)
        traffic += bytes_of(rcount, rt);
    return PMPI_Scatterv(s, scounts, displs, st, r, rcount, rt, root, c);
}

int MPI_Allgather(const void *s, int scount, MPI_Datatype st, void *r, int rcount, MPI_Datatype rt, MPI_Comm c)
{
    traffic += (size_of(c) - 1) * bytes_of(scount, st);
    return PMPI_Allgather(s, scount, st, r, rcount, rt, c);
}

int MPI_Recv(void *buf, int count, MPI_Datatype t, int from, int tag, MPI_Comm c, MPI_Status *st)
{
    traffic += bytes_of(count, t);
    return PMPI_Recv(buf, count, t, from, tag, c, st);
}
