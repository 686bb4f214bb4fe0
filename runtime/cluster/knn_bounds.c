/* knn_bounds.c — exact k nearest neighbours that skip most distances, by lower bounds
 * from a projection on the training data's leading principal directions.
 *
 * For an orthonormal basis V (d x p) and the residual r(x) = ‖x − μ − V·Vᵀ(x − μ)‖,
 * Pythagoras gives for every pair
 *     ‖q − x‖² = ‖z(q) − z(x)‖² + ‖res(q) − res(x)‖² ≥ ‖z(q) − z(x)‖² + (r(q) − r(x))²
 * with z(x) = Vᵀ(x − μ) in p dimensions: a lower bound whatever V is, tight when V holds
 * the directions the data vary most in. On Fashion-MNIST, p = 64 of 784 dimensions leave
 * about 0.7 % of the training rows whose bound is below a query's 5th nearest distance;
 * only those get a full 784-dimensional distance. The bounds of a block of queries
 * against all training rows are one sgemm in p dimensions (p/d of the brute flops, at
 * single precision's speed; the slack below covers its rounding).
 *
 * Per query: the s = 2k + 8 rows with the smallest bounds get exact distances first, which
 * sets τ, the current k-th distance; then every row whose bound is ≤ τ (+ a slack that
 * covers rounding in both the bound and the distances) gets its exact distance, in
 * training order with the next row prefetched (the rows are scattered over X: this part
 * waits on memory more than it computes), and τ shrinks as better rows come in. A row that is skipped has a bound above τ, so its exact
 * distance is too: the result is the brute-force one (equal distances keep the earlier
 * training row). Exact distances are ‖q‖² + ‖x‖² − 2q·x as in the dgemm path and in
 * scikit-learn. The basis is that of the covariance of ≤ 2048 evenly spaced training rows
 * (LAPACK dsyevr, the p leading eigenvectors); any orthonormal V would give correct
 * results, a better one only skips more. Queries of a block are split between the two
 * cores (nn_parallel). Memory: n x p float projections, one block of bounds (≤ 32 MB) and
 * two n-entry candidate lists. */
#include "cairn/alloc.h"
#include "cairn/display.h"
#include "cairn/error.h"
#include "cluster_internal.h"
#include "../core/gemm_nt_avx2.h"
#include "../nn/nn_internal.h" /* nn_parallel: the runtime's second-core helper */

#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <string.h>

#define KB_MAX_K 64         /* beyond this many neighbours the bounds prune little */
#define KB_SAMPLE 2048      /* training rows that estimate the covariance */
#define KB_BOUND_BYTES (32u << 20)

static int force_brute;

void cl_knn_use_brute(int on) { force_brute = on; }

/* Projection dimension for d features (0: do not prune). */
static int projection_dim(int n, int d, int k)
{
    if (force_brute || d < 32 || n < 1024 || k > KB_MAX_K || 2 * k + 8 > n)
        return 0;
    return d >= 256 ? 64 : d / 4;
}

static int use_avx2 = -1; /* set by cl_knn_bounded before any thread starts */

/* The first j in [j0, n) whose bound qz + tzn[j] + b[j] + (qr − tr[j])² is below limit,
 * or n: the scans that run over every training row for every query, 4 rows at a time. */
static int scan_below_plain(const float *b, const double *tzn, const double *tr, double qz, double qr, double limit,
                            int j0, int n)
{
    for (int j = j0; j < n; j++) {
        double e = qr - tr[j];
        if (qz + tzn[j] + b[j] + e * e < limit)
            return j;
    }
    return n;
}

#ifdef CAIRN_HAVE_AVX2_KERNELS
__attribute__((target("avx2,fma"))) static int scan_below_avx2(const float *b, const double *tzn, const double *tr,
                                                               double qz, double qr, double limit, int j0, int n)
{
    __m256d vqz = _mm256_set1_pd(qz), vqr = _mm256_set1_pd(qr), vlim = _mm256_set1_pd(limit);
    int j = j0;
    for (; j + 4 <= n; j += 4) {
        __m256d e = _mm256_sub_pd(vqr, _mm256_loadu_pd(tr + j));
        __m256d v = _mm256_add_pd(_mm256_add_pd(vqz, _mm256_loadu_pd(tzn + j)), _mm256_cvtps_pd(_mm_loadu_ps(b + j)));
        v = _mm256_fmadd_pd(e, e, v);
        int mask = _mm256_movemask_pd(_mm256_cmp_pd(v, vlim, _CMP_LT_OQ));
        if (mask)
            return j + __builtin_ctz((unsigned)mask);
    }
    return scan_below_plain(b, tzn, tr, qz, qr, limit, j, n);
}
#endif

static inline int scan_below(const float *b, const double *tzn, const double *tr, double qz, double qr, double limit,
                             int j0, int n)
{
#ifdef CAIRN_HAVE_AVX2_KERNELS
    if (use_avx2 > 0)
        return scan_below_avx2(b, tzn, tr, qz, qr, limit, j0, n);
#endif
    return scan_below_plain(b, tzn, tr, qz, qr, limit, j0, n);
}

typedef struct kb_side {
    float *z;    /* rows x p projections (float: the bounds' dgemm becomes an sgemm, twice as fast) */
    double *zn;  /* their squared norms */
    double *r;   /* residual norms */
    double *xn;  /* squared norms of the raw rows */
    double *cn;  /* squared norms of the centred rows */
} kb_side;

typedef struct kb_work {
    mat Xtr, Xq;
    int n, d, p, k, s;
    double *mu, *V; /* column means (d), basis (d x p, row-major) */
    double *buf;    /* CL_CHUNK x d centred rows */
    double *zbuf;   /* CL_CHUNK x p projections */
    kb_side tr, q;
    float *B;       /* qb x n: −2 z(q)·z(x), then the bounds' input */
    int *cand[2];   /* per thread: rows that passed the bound */
    double *cval[2];
    int qb, q0, m;  /* queries per block, the current block */
    double tn_max, tc_max;
    double *dist;
    int *idx;
} kb_work;

static void side_free(kb_side *s)
{
    cairn_free(s->z);
    cairn_free(s->zn);
    cairn_free(s->r);
    cairn_free(s->xn);
    cairn_free(s->cn);
}

static int side_alloc(kb_side *s, int rows, int p)
{
    s->z = cairn_alloc((size_t)rows * p * sizeof(float));
    s->zn = cairn_alloc((size_t)rows * sizeof(double));
    s->r = cairn_alloc((size_t)rows * sizeof(double));
    s->xn = cairn_alloc((size_t)rows * sizeof(double));
    s->cn = cairn_alloc((size_t)rows * sizeof(double));
    return s->z && s->zn && s->r && s->xn && s->cn ? 0 : -1;
}

/* Projections, residuals and norms of the rows of X, CL_CHUNK rows at a time. */
static void project(kb_work *w, mat X, kb_side *s)
{
    int d = w->d, p = w->p;
    for (int r0 = 0; r0 < X.rows; r0 += CL_CHUNK) {
        int m = X.rows - r0 < CL_CHUNK ? X.rows - r0 : CL_CHUNK;
        for (int r = 0; r < m; r++) {
            const double *x = mat_ptr(X, r0 + r, 0);
            double *c = w->buf + (size_t)r * d, raw = 0, cen = 0;
            for (int t = 0; t < d; t++) {
                c[t] = x[t] - w->mu[t];
                raw += x[t] * x[t];
                cen += c[t] * c[t];
            }
            s->xn[r0 + r] = raw;
            s->cn[r0 + r] = cen;
        }
        double *z = w->zbuf;
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, p, d, 1.0, w->buf, d, w->V, p, 0.0, z, p);
        for (int r = 0; r < m; r++) {
            double zz = 0;
            for (int c = 0; c < p; c++) {
                zz += z[(size_t)r * p + c] * z[(size_t)r * p + c];
                s->z[(size_t)(r0 + r) * p + c] = (float)z[(size_t)r * p + c];
            }
            double res = s->cn[r0 + r] - zz;
            s->zn[r0 + r] = zz;
            s->r[r0 + r] = res > 0 ? sqrt(res) : 0;
        }
    }
}

/* μ and the p leading eigenvectors of the covariance of a sample of the training rows. */
static int basis(const char *func, kb_work *w)
{
    int n = w->n, d = w->d, p = w->p;
    for (int i = 0; i < n; i++) {
        const double *x = mat_ptr(w->Xtr, i, 0);
        for (int t = 0; t < d; t++)
            w->mu[t] += x[t];
    }
    for (int t = 0; t < d; t++)
        w->mu[t] /= n;
    int ns = n < KB_SAMPLE ? n : KB_SAMPLE;
    double *S = cairn_alloc((size_t)ns * d * sizeof(double)), *cov = cairn_alloc((size_t)d * d * sizeof(double));
    double *ev = cairn_alloc((size_t)d * sizeof(double));
    lapack_int *support = cairn_alloc((size_t)2 * d * sizeof(lapack_int));
    if (!S || !cov || !ev || !support) {
        cairn_free(S);
        cairn_free(cov);
        cairn_free(ev);
        cairn_free(support);
        cairn_error(func, "out of memory for the covariance of %d x %d", ns, d);
        return -1;
    }
    for (int i = 0; i < ns; i++) {
        const double *x = mat_ptr(w->Xtr, (int)((long)i * n / ns), 0);
        for (int t = 0; t < d; t++)
            S[(size_t)i * d + t] = x[t] - w->mu[t];
    }
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, d, ns, 1.0, S, d, 0.0, cov, d);
    lapack_int found = 0;
    lapack_int info = LAPACKE_dsyevr(LAPACK_ROW_MAJOR, 'V', 'I', 'U', d, cov, d, 0, 0, d - p + 1, d, 0, &found, ev,
                                     w->V, p, support);
    cairn_free(S);
    cairn_free(cov);
    cairn_free(ev);
    cairn_free(support);
    if (info != 0 || found != p) {
        cairn_error(func, "the eigenvectors of the %d x %d training covariance did not converge (LAPACK info %d)", d,
                    d, (int)info);
        return -1;
    }
    return 0;
}

/* (v, j) comes before (w, i): smaller distance, then the earlier training row */
static inline int before(double v, int j, double u, int i) { return v < u || (v == u && j < i); }

/* Inserts (v, j) into the sorted k best (bd, bi) when it belongs there. */
static inline void insert(double *bd, int *bi, int k, double v, int j)
{
    if (!before(v, j, bd[k - 1], bi[k - 1]))
        return;
    int p = k - 1;
    while (p > 0 && before(v, j, bd[p - 1], bi[p - 1])) {
        bd[p] = bd[p - 1];
        bi[p] = bi[p - 1];
        p--;
    }
    bd[p] = v;
    bi[p] = j;
}

/* One query: row b of −2 z(q)·z(x) (n floats, used up), result rows bd, bi; cand and cval
 * are n-entry scratch. */
static void query_one(const kb_work *w, int qi, float *b, double *bd, int *bi, int *cand, double *cval)
{
    int n = w->n, k = w->k, s = w->s, d = w->d;
    const double *q = mat_ptr(w->Xq, qi, 0);
    const double *tzn = w->tr.zn, *tr = w->tr.r;
    double qn = w->q.xn[qi], qz = w->q.zn[qi], qr = w->q.r[qi];
    double sd[2 * KB_MAX_K + 8];
    int si[2 * KB_MAX_K + 8];
    for (int t = 0; t < s; t++) {
        sd[t] = INFINITY;
        si[t] = n;
    }
    for (int j0 = 0; j0 < n;) { /* the s smallest bounds */
        int j1 = scan_below(b, tzn, tr, qz, qr, sd[s - 1], j0, n);
        if (j1 < n) {
            double e = qr - tr[j1];
            insert(sd, si, s, qz + tzn[j1] + b[j1] + e * e, j1);
        }
        j0 = j1 + 1;
    }
    for (int t = 0; t < k; t++) {
        bd[t] = INFINITY;
        bi[t] = n;
    }
    for (int t = 0; t < s; t++) {
        int j = si[t];
        double v = qn + w->tr.xn[j] - 2 * cl_dot(q, mat_ptr(w->Xtr, j, 0), d);
        insert(bd, bi, k, v > 0 ? v : 0, j);
        b[j] = INFINITY; /* done: the scan below skips it */
    }
    /* Slack for rounding: the float product −2 z(q)·z(x) is within 2(γ_p + 2u)‖z(q)‖‖z(x)‖
     * (u = 2⁻²⁴, γ_p ≈ p·u) ≤ (p + 4)·1.2e-7·(‖q − μ‖² + ‖x − μ‖²) of the exact one; the
     * double parts and the distances stay below 1e-9 of the norms involved. */
    double slack = (w->p + 4) * 1.2e-7 * (w->q.cn[qi] + w->tc_max) + 1e-9 * (qn + w->tn_max + w->q.cn[qi] + w->tc_max);
    double limit = nextafter(bd[k - 1] + slack, INFINITY); /* the scan keeps bounds < limit */
    int nc = 0;
    for (int j = scan_below(b, tzn, tr, qz, qr, limit, 0, n); j < n; j = scan_below(b, tzn, tr, qz, qr, limit, j + 1, n)) {
        double e = qr - tr[j];
        cand[nc] = j;
        cval[nc++] = qz + tzn[j] + b[j] + e * e;
    }
    /* exact distances of the candidates, the next row fetched while this one is summed */
    for (int c = 0; c < nc; c++) {
        if (cval[c] > bd[k - 1] + slack)
            continue;
        const double *x = mat_ptr(w->Xtr, cand[c], 0);
        if (c + 2 < nc) { /* the start of a row two ahead: the hardware streams the rest */
            const char *next = (const char *)mat_ptr(w->Xtr, cand[c + 2], 0);
            for (int off = 0; off < 512; off += 64)
                __builtin_prefetch(next + off);
        }
        double v = qn + w->tr.xn[cand[c]] - 2 * cl_dot(q, x, d);
        insert(bd, bi, k, v > 0 ? v : 0, cand[c]);
    }
}

static void block_part(void *ctx, int part, int parts)
{
    kb_work *w = ctx;
    int lo = (int)nn_split((size_t)w->m, part, parts), hi = (int)nn_split((size_t)w->m, part + 1, parts);
    for (int r = lo; r < hi; r++) {
        int qi = w->q0 + r;
        query_one(w, qi, w->B + (size_t)r * w->n, w->dist + (size_t)qi * w->k, w->idx + (size_t)qi * w->k,
                  w->cand[part], w->cval[part]);
    }
}

static void work_free(kb_work *w)
{
    cairn_free(w->mu);
    cairn_free(w->V);
    cairn_free(w->buf);
    cairn_free(w->zbuf);
    cairn_free(w->B);
    for (int t = 0; t < 2; t++) {
        cairn_free(w->cand[t]);
        cairn_free(w->cval[t]);
    }
    side_free(&w->tr);
    side_free(&w->q);
}

int cl_knn_bounded(const char *func, mat Xtr, mat Xq, int k, double *dist, int *idx)
{
    int n = Xtr.rows, d = Xtr.cols, q = Xq.rows, p = projection_dim(n, d, k);
    if (p == 0)
        return 1;
#ifdef CAIRN_HAVE_AVX2_KERNELS
    if (use_avx2 < 0) {
        __builtin_cpu_init();
        use_avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    }
#endif
    kb_work w;
    memset(&w, 0, sizeof w);
    w.Xtr = Xtr;
    w.Xq = Xq;
    w.n = n;
    w.d = d;
    w.p = p;
    w.k = k;
    w.s = 2 * k + 8;
    w.dist = dist;
    w.idx = idx;
    w.qb = (int)(KB_BOUND_BYTES / sizeof(float) / (size_t)n);
    w.qb = w.qb < 1 ? 1 : w.qb > 128 ? 128 : w.qb;
    w.mu = cairn_alloc((size_t)d * sizeof(double));
    w.V = cairn_alloc((size_t)d * p * sizeof(double));
    w.buf = cairn_alloc((size_t)CL_CHUNK * d * sizeof(double));
    w.zbuf = cairn_alloc((size_t)CL_CHUNK * p * sizeof(double));
    w.B = cairn_alloc((size_t)w.qb * n * sizeof(float));
    for (int t = 0; t < 2; t++) {
        w.cand[t] = cairn_alloc((size_t)n * sizeof(int));
        w.cval[t] = cairn_alloc((size_t)n * sizeof(double));
    }
    if (!w.mu || !w.V || !w.buf || !w.zbuf || !w.B || !w.cand[0] || !w.cand[1] || !w.cval[0] || !w.cval[1] || side_alloc(&w.tr, n, p) < 0 || side_alloc(&w.q, q, p) < 0) {
        work_free(&w);
        cairn_error(func, "out of memory for the neighbour bounds of %d queries against %d x %d", q, n, d);
        return -1;
    }
    if (basis(func, &w) < 0) {
        work_free(&w);
        return -1;
    }
    project(&w, Xtr, &w.tr);
    project(&w, Xq, &w.q);
    for (int j = 0; j < n; j++) {
        w.tn_max = w.tr.xn[j] > w.tn_max ? w.tr.xn[j] : w.tn_max;
        w.tc_max = w.tr.cn[j] > w.tc_max ? w.tr.cn[j] : w.tc_max;
    }
    for (w.q0 = 0; w.q0 < q; w.q0 += w.qb) {
        w.m = q - w.q0 < w.qb ? q - w.q0 : w.qb;
        /* −2 z(q)·z(x) for the block; query_one adds the norms and the residual term */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, w.m, n, p, -2.0f, w.q.z + (size_t)w.q0 * p, p, w.tr.z, p,
                    0.0f, w.B, n);
        nn_parallel(block_part, &w, (size_t)w.m * n * 16);
        if (cairn_interrupted()) {
            work_free(&w);
            cairn_error(func, "interrupted after %d of %d queries", w.q0 + w.m, q);
            return -1;
        }
    }
    work_free(&w);
    return 0;
}
