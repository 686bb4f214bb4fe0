/* worker_scalapack.c — the operations that need a 2-D block-cyclic layout: the product
 * of two dmats (PDGEMM) and the exact thin SVD (PDGESVD).
 *
 * PDGESVD takes any shape: a wide A (rows < cols) gives a rows x rows U, which stays
 * distributed like A, and a rows x cols Vt gathered on rank 0 (as svd_thin of a wide
 * mat returns it; signs by the same rule, on U).
 *
 * A dmat's rows are split in blocks of mb = ceil(rows / ranks) (dmat_partition), which
 * is ScaLAPACK's block distribution over a ranks x 1 process grid with row block mb.
 * ScaLAPACK stores local blocks column-major, a dmat row-major, so each rank transposes
 * its own block (local, no communication); PDGEMR2D then moves the matrix to a
 * pr x pc grid with 64 x 64 blocks (pr·pc = ranks, as square as it divides), where
 * PDGEMM / PDGESVD run; results come back the same way. */
#include "worker.h"

#include "cairn/alloc.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ScaLAPACK / BLACS (Fortran and C interfaces; Debian's libscalapack-openmpi has no header) */
void Cblacs_get(int context, int request, int *value);
void Cblacs_gridinit(int *context, const char *order, int nprow, int npcol);
void Cblacs_gridinfo(int context, int *nprow, int *npcol, int *myrow, int *mycol);
void Cblacs_gridexit(int context);
int numroc_(const int *n, const int *nb, const int *iproc, const int *isrcproc, const int *nprocs);
void descinit_(int *desc, const int *m, const int *n, const int *mb, const int *nb, const int *irsrc, const int *icsrc,
               const int *ictxt, const int *lld, int *info);
void pdgemr2d_(const int *m, const int *n, const double *a, const int *ia, const int *ja, const int *desca, double *b,
               const int *ib, const int *jb, const int *descb, const int *ictxt);
void pdgemm_(const char *transa, const char *transb, const int *m, const int *n, const int *k, const double *alpha,
             const double *a, const int *ia, const int *ja, const int *desca, const double *b, const int *ib,
             const int *jb, const int *descb, const double *beta, double *c, const int *ic, const int *jc,
             const int *descc);
void pdgesvd_(const char *jobu, const char *jobvt, const int *m, const int *n, double *a, const int *ia, const int *ja,
              const int *desca, double *s, double *u, const int *iu, const int *ju, const int *descu, double *vt,
              const int *ivt, const int *jvt, const int *descvt, double *work, const int *lwork, int *info);

#define BLOCK 64

static const int ONE = 1, ZERO = 0;

typedef struct grid {
    int ctxt, nprow, npcol, myrow, mycol;
} grid;

static grid grid_make(int nprow, int npcol)
{
    grid g;
    Cblacs_get(-1, 0, &g.ctxt);
    Cblacs_gridinit(&g.ctxt, "Row", nprow, npcol);
    Cblacs_gridinfo(g.ctxt, &g.nprow, &g.npcol, &g.myrow, &g.mycol);
    return g;
}

/* The pr x pc grid for the numerics: pr the largest divisor of ranks <= sqrt(ranks). */
static grid grid_2d(void)
{
    int pr = 1;
    for (int d = 1; d * d <= W.size; d++)
        if (W.size % d == 0)
            pr = d;
    return grid_make(pr, W.size / pr);
}

/* A distributed m x n matrix on grid g with mb x nb blocks: its descriptor and local
 * column-major storage (allocated; at least one element). */
typedef struct dist {
    int desc[9];
    int lrows, lcols;
    double *a;
} dist;

static int dist_make(dist *d, grid g, int m, int n, int mb, int nb)
{
    d->lrows = numroc_(&m, &mb, &g.myrow, &ZERO, &g.nprow);
    d->lcols = numroc_(&n, &nb, &g.mycol, &ZERO, &g.npcol);
    int lld = d->lrows > 1 ? d->lrows : 1, info = 0;
    descinit_(d->desc, &m, &n, &mb, &nb, &ZERO, &ZERO, &g.ctxt, &lld, &info);
    d->a = cairn_alloc(((size_t)lld * (size_t)(d->lcols > 0 ? d->lcols : 1)) * sizeof(double));
    if (!d->a || info != 0) {
        w_fail("rank %d: cannot lay out a %d x %d block-cyclic matrix (info %d)", W.rank, m, n, info);
        return -1;
    }
    return 0;
}

static void dist_free(dist *d)
{
    cairn_free(d->a);
    d->a = NULL;
}

/* The object's rows as a ranks x 1 block distribution (local block transposed to column-major). */
static int dist_from_rows(dist *d, grid g1, const dobj *A)
{
    int mb = A->rows > 0 ? (A->rows + W.size - 1) / W.size : 1;
    if (dist_make(d, g1, A->rows, A->cols, mb, A->cols) < 0)
        return -1;
    int lld = d->lrows > 1 ? d->lrows : 1;
    for (int i = 0; i < A->count; i++)
        for (int j = 0; j < A->cols; j++)
            d->a[(size_t)j * lld + i] = A->data[(size_t)i * A->cols + j];
    return 0;
}

/* The local rows of a ranks x 1 distribution back into a row-major object. */
static void dist_to_rows(const dist *d, dobj *C)
{
    int lld = d->lrows > 1 ? d->lrows : 1;
    for (int i = 0; i < C->count; i++)
        for (int j = 0; j < C->cols; j++)
            C->data[(size_t)i * C->cols + j] = d->a[(size_t)j * lld + i];
}

static void redistribute(const dist *from, dist *to, int m, int n, int ctxt_all)
{
    pdgemr2d_(&m, &n, from->a, &ONE, &ONE, from->desc, to->a, &ONE, &ONE, to->desc, &ctxt_all);
}

int op_matmul(const dmat_msg *req, dmat_msg *rep)
{
    dobj *A = w_object((uint64_t)req->h.i[0], "A");
    dobj *B = w_object((uint64_t)req->h.i[1], "B");
    if (w_agree())
        return -1;
    int M = A->rows, K = A->cols, N = B->cols;
    grid g1 = grid_make(W.size, 1), g2 = grid_2d();
    dist a1 = {0}, b1 = {0}, c1 = {0}, a2 = {0}, b2 = {0}, c2 = {0};
    int mbC = M > 0 ? (M + W.size - 1) / W.size : 1;
    if (dist_from_rows(&a1, g1, A) == 0 && dist_from_rows(&b1, g1, B) == 0 &&
        dist_make(&a2, g2, M, K, BLOCK, BLOCK) == 0 && dist_make(&b2, g2, K, N, BLOCK, BLOCK) == 0 &&
        dist_make(&c2, g2, M, N, BLOCK, BLOCK) == 0)
        dist_make(&c1, g1, M, N, mbC, N);
    dobj *C = NULL;
    if (!W.failed)
        C = store_new((uint64_t)req->h.i[7], M, N);
    if (w_agree()) {
        store_free((uint64_t)req->h.i[7]);
        goto out;
    }
    redistribute(&a1, &a2, M, K, g1.ctxt);
    redistribute(&b1, &b2, K, N, g1.ctxt);
    double one = 1.0, zero = 0.0;
    pdgemm_("N", "N", &M, &N, &K, &one, a2.a, &ONE, &ONE, a2.desc, b2.a, &ONE, &ONE, b2.desc, &zero, c2.a, &ONE, &ONE,
            c2.desc);
    redistribute(&c2, &c1, M, N, g1.ctxt);
    dist_to_rows(&c1, C);
    w_created(rep, C);
out:
    dist_free(&a1), dist_free(&b1), dist_free(&c1), dist_free(&a2), dist_free(&b2), dist_free(&c2);
    Cblacs_gridexit(g2.ctxt);
    Cblacs_gridexit(g1.ctxt);
    return W.failed ? -1 : 0;
}

int op_svd_thin(const dmat_msg *req, dmat_msg *rep)
{
    dobj *A = w_object((uint64_t)req->h.i[0], "A");
    if (w_agree())
        return -1;
    int M = A->rows, N = A->cols, K = M < N ? M : N; /* a wide A has M x M U and M x N Vt */
    grid g1 = grid_make(W.size, 1), g2 = grid_2d(), g0 = grid_make(1, 1);
    dist a1 = {0}, a2 = {0}, u2 = {0}, vt2 = {0}, u1 = {0}, vt0 = {0};
    double *S = malloc((size_t)K * sizeof(double)), *work = NULL;
    int mb = M > 0 ? (M + W.size - 1) / W.size : 1;
    if (!S)
        w_fail("rank %d: out of memory", W.rank);
    else if (dist_from_rows(&a1, g1, A) == 0 && dist_make(&a2, g2, M, N, BLOCK, BLOCK) == 0 &&
             dist_make(&u2, g2, M, K, BLOCK, BLOCK) == 0 && dist_make(&vt2, g2, K, N, BLOCK, BLOCK) == 0 &&
             dist_make(&u1, g1, M, K, mb, K) == 0) {
        /* Vt gathered on rank 0 alone (a 1 x 1 grid); the others only describe it */
        if (W.rank == 0) {
            dist_make(&vt0, g0, K, N, K, N);
        } else {
            memset(vt0.desc, 0, sizeof vt0.desc);
            vt0.desc[1] = -1;
        }
    }
    if (w_agree())
        goto out;
    redistribute(&a1, &a2, M, N, g1.ctxt);
    int info = 0, lwork = -1;
    double wq = 0;
    pdgesvd_("V", "V", &M, &N, a2.a, &ONE, &ONE, a2.desc, S, u2.a, &ONE, &ONE, u2.desc, vt2.a, &ONE, &ONE, vt2.desc,
             &wq, &lwork, &info);
    lwork = (int)wq + 1;
    work = malloc((size_t)lwork * sizeof(double));
    if (!work)
        w_fail("rank %d: out of memory for PDGESVD's workspace (%d doubles)", W.rank, lwork);
    if (w_agree())
        goto out;
    if (w_checkpoint("PDGESVD", 0, 0))
        goto out;
    pdgesvd_("V", "V", &M, &N, a2.a, &ONE, &ONE, a2.desc, S, u2.a, &ONE, &ONE, u2.desc, vt2.a, &ONE, &ONE, vt2.desc,
             work, &lwork, &info);
    if (info != 0)
        w_fail("rank %d: PDGESVD of the %d x %d matrix failed (info %d)", W.rank, M, N, info);
    if (w_agree())
        goto out;
    redistribute(&u2, &u1, M, K, g1.ctxt);
    redistribute(&vt2, &vt0, K, N, g1.ctxt);
    dobj *U = store_new((uint64_t)req->h.i[7], M, K);
    mat Vt = mat_empty(), Sm = mat_empty();
    if (W.rank == 0) {
        Vt = mat_alloc(K, N);
        Sm = mat_alloc(1, K);
        if (!Vt.data || !Sm.data)
            w_fail("rank 0: out of memory");
    }
    if (w_agree()) {
        store_free((uint64_t)req->h.i[7]);
        mat_free(&Vt), mat_free(&Sm);
        goto out;
    }
    dist_to_rows(&u1, U);
    if (W.rank == 0) {
        for (int i = 0; i < K; i++)
            for (int j = 0; j < N; j++)
                *mat_ptr(Vt, i, j) = vt0.a[(size_t)j * K + i];
        memcpy(Sm.data, S, (size_t)K * sizeof(double));
    }
    w_svd_flip(U->data, U->count, K, Vt);
    w_created(rep, U);
    if (W.rank == 0) {
        rep->m[0] = Sm;
        rep->m[1] = Vt;
        rep->h.nmats = 2;
    }
out:
    free(S);
    free(work);
    dist_free(&a1), dist_free(&a2), dist_free(&u2), dist_free(&vt2), dist_free(&u1), dist_free(&vt0);
    if (W.rank == 0)
        Cblacs_gridexit(g0.ctxt);
    Cblacs_gridexit(g2.ctxt);
    Cblacs_gridexit(g1.ctxt);
    return W.failed ? -1 : 0;
}
