/* kmeans_internal.h — the k-means workspace shared by kmeans.c, kmeans_init.c,
 * minibatch.c and elbow.c (not seen by cells). One workspace is allocated per fit and
 * reused by every restart and iteration, so the hot loops allocate nothing. */
#ifndef CAIRN_KMEANS_INTERNAL_H
#define CAIRN_KMEANS_INTERNAL_H

#include "cairn/cluster.h"
#include "cairn/progress.h"

typedef struct km_work {
    mat X;
    int n, d, k;
    double *mu;       /* d: column mean of X (distances are evaluated about it) */
    double *xn;       /* n: ‖x_i − μ‖² */
    double xn_total;  /* Σ ‖x_i − μ‖² = n · d · mean variance */
    int *labels;      /* n: current cluster, -1 before the first assignment */
    double *u, *l;    /* n: Hamerly's upper and lower bounds */
    double *S, *cnt;  /* k x d cluster sums and k counts for the current labels */
    double *C, *Cnew; /* k x d centres */
    double *Cc, *cn;  /* centres − μ and ‖c − μ‖² + 2 μ·(c − μ), for cl_sq_distances */
    double *shift;    /* k: how far each centre moved */
    double *half;     /* k: half the distance to the nearest other centre */
    double *D;        /* CL_CHUNK x k distance block */
    double *G;        /* CL_CHUNK x d gathered rows */
    double *gxn;      /* CL_CHUNK norms of the gathered rows */
    int *gidx;        /* CL_CHUNK sample indices of the gathered rows */
    double *history;  /* max_iter inertias of the current run */
} km_work;

typedef struct km_run_result {
    double inertia;
    int n_iter;
    int interrupted;
} km_run_result;

/* k-means++ scratch: candidate distances to every sample and their running minimum. */
typedef struct km_kpp_work {
    int trials;
    int *cand;        /* trials sample indices */
    double *candC;    /* trials x d candidate rows */
    double *candCc;   /* trials x d, centered */
    double *candn;    /* trials */
    double *dist;     /* trials x n squared distances */
    double *closest;  /* n: squared distance to the nearest chosen centre */
    double *cumsum;   /* n */
    double *block;    /* CL_CHUNK x trials */
} km_kpp_work;

int km_work_init(const char *func, km_work *w, mat X, int k, int max_iter);
void km_work_free(km_work *w);
/* Cc = C − μ (kc rows) and cn = ‖C − μ‖² + 2 μ·(C − μ), so cl_sq_distances with the
 * centered row norms gives ‖x − c‖² evaluated about μ. */
void km_set_centres(const km_work *w, const double *C, int kc, double *Cc, double *cn);
int km_check_k(const char *func, mat X, int k);
/* One k-means run from centres init (k x d): Lloyd or Hamerly, sklearn's stopping rules. */
int km_run(km_work *w, const double *init, int max_iter, double tol_abs, int algorithm, progress *bar,
           long *bar_done, km_run_result *out);
kmeans_result *km_result_alloc(const char *func, mat X, int k, int history_len);

int km_kpp_init(const char *func, km_kpp_work *kw, const km_work *w, int k);
void km_kpp_free(km_kpp_work *kw);
/* Greedy k-means++ centres (k x d into C) from the session generator's current stream. */
void km_kpp_seed(km_kpp_work *kw, const km_work *w, double *C);

#endif
