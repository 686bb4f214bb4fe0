/* kmeans.c — k-means as scikit-learn's KMeans computes it, with Hamerly's bounds.
 *
 * Iterations are Lloyd's (Lloyd 1982): assign every sample to its nearest centre, move
 * each centre to the mean of its samples. scikit-learn's semantics are kept exactly:
 * iteration i assigns with centres C_i and computes C_{i+1}; the run stops when no label
 * changed (strict convergence) or when the squared centre shift Σ‖C_{i+1} − C_i‖² is at
 * most tol × (mean variance of the features); otherwise after max_iter, followed by one
 * more assignment so the labels match the returned centres. A cluster left empty takes
 * the sample farthest from its centre, as sklearn's _relocate_empty_clusters does.
 *
 * Speed. Plain Lloyd reads all of X every iteration; that is memory-bound (60000 x 784
 * doubles are 376 MB). Hamerly's algorithm (G. Hamerly, "Making k-means even faster",
 * SDM 2010) keeps per sample an upper bound u on the distance to its centre and a lower
 * bound l on the distance to every other centre; after the centres move by δ, u += δ[a]
 * and l -= max δ. A sample whose u <= max(l, half the distance from its centre to the
 * nearest other centre) cannot change cluster and is not touched at all; after the first
 * few iterations that is almost every sample, so an iteration costs a pass over two
 * arrays of n doubles instead of over X. The result is the same as Lloyd's (the bounds
 * only skip distances that cannot win); the tests run both. Samples that need their
 * distances are gathered 256 at a time and go through one dgemm
 * (‖x‖² − 2x·c + ‖c‖²). Cluster sums are updated only for samples that change cluster.
 *
 * Accuracy. The distance formula cancels badly for data far from the origin, so it is
 * evaluated about the column mean μ without copying X: (x−μ)·(c−μ) = x·(c−μ) − μ·(c−μ),
 * which is what scikit-learn gets by centering a copy of X. Inertia per iteration comes
 * from the cluster sums (Σ‖x−μ‖² − 2Σ_j S_j·(c_j−μ) + Σ_j n_j‖c_j−μ‖², S_j centered),
 * the final inertia from a direct pass.
 *
 * Nothing is allocated inside the iterations: one workspace per fit. */
#include "cairn/cluster.h"
#include "cairn/alloc.h"
#include "cairn/display.h"
#include "cairn/error.h"
#include "cairn/progress.h"
#include "cairn/random.h"
#include "cluster_internal.h"
#include "kmeans_internal.h"
#include "../track/track_autolog.h"

#include <math.h>
#include <string.h>

kmeans_options kmeans_defaults(void)
{
    kmeans_options o;
    memset(&o, 0, sizeof o);
    o.n_init = 10;
    o.max_iter = 300;
    o.tol = 1e-4;
    o.seed = 0;
    o.algorithm = KMEANS_AUTO;
    o.progress = 1;
    o.init = mat_empty();
    return o;
}

/* ---- workspace ---- */

void km_work_free(km_work *w)
{
    void **bufs[] = {(void **)&w->mu, (void **)&w->xn, (void **)&w->labels, (void **)&w->u, (void **)&w->l,
                     (void **)&w->S, (void **)&w->cnt, (void **)&w->C, (void **)&w->Cnew, (void **)&w->Cc,
                     (void **)&w->cn, (void **)&w->shift, (void **)&w->half, (void **)&w->D, (void **)&w->G,
                     (void **)&w->gxn, (void **)&w->gidx, (void **)&w->history};
    for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++) {
        cairn_free(*bufs[i]);
        *bufs[i] = NULL;
    }
}

int km_work_init(const char *func, km_work *w, mat X, int k, int max_iter)
{
    memset(w, 0, sizeof *w);
    w->X = X;
    w->n = X.rows;
    w->d = X.cols;
    w->k = k;
    size_t n = (size_t)X.rows, d = (size_t)X.cols, kk = (size_t)k;
    w->mu = cairn_alloc(d * sizeof(double));
    w->xn = cairn_alloc(n * sizeof(double));
    w->labels = cairn_alloc(n * sizeof(int));
    w->u = cairn_alloc(n * sizeof(double));
    w->l = cairn_alloc(n * sizeof(double));
    w->S = cairn_alloc(kk * d * sizeof(double));
    w->cnt = cairn_alloc(kk * sizeof(double));
    w->C = cairn_alloc(kk * d * sizeof(double));
    w->Cnew = cairn_alloc(kk * d * sizeof(double));
    w->Cc = cairn_alloc(kk * d * sizeof(double));
    w->cn = cairn_alloc(kk * sizeof(double));
    w->shift = cairn_alloc(kk * sizeof(double));
    w->half = cairn_alloc(kk * sizeof(double));
    w->D = cairn_alloc((size_t)CL_CHUNK * kk * sizeof(double));
    w->G = cairn_alloc((size_t)CL_CHUNK * d * sizeof(double));
    w->gxn = cairn_alloc((size_t)CL_CHUNK * sizeof(double));
    w->gidx = cairn_alloc((size_t)CL_CHUNK * sizeof(int));
    w->history = cairn_alloc((size_t)(max_iter > 0 ? max_iter : 1) * sizeof(double));
    if (!w->mu || !w->xn || !w->labels || !w->u || !w->l || !w->S || !w->cnt || !w->C || !w->Cnew || !w->Cc ||
        !w->cn || !w->shift || !w->half || !w->D || !w->G || !w->gxn || !w->gidx || !w->history) {
        km_work_free(w);
        cairn_error(func, "out of memory for the workspace of k = %d on X of %d x %d", k, X.rows, X.cols);
        return -1;
    }
    /* column mean, then squared norms of the centered rows */
    for (int i = 0; i < X.rows; i++) {
        const double *row = mat_ptr(X, i, 0);
        for (int j = 0; j < X.cols; j++)
            w->mu[j] += row[j];
    }
    for (int j = 0; j < X.cols; j++)
        w->mu[j] /= X.rows;
    double total = 0;
    for (int i = 0; i < X.rows; i++) {
        const double *row = mat_ptr(X, i, 0);
        double s = 0;
        for (int j = 0; j < X.cols; j++) {
            double t = row[j] - w->mu[j];
            s += t * t;
        }
        w->xn[i] = s;
        total += s;
    }
    w->xn_total = total;
    return 0;
}

void km_set_centres(const km_work *w, const double *C, int kc, double *Cc, double *cn)
{
    int d = w->d;
    for (int j = 0; j < kc; j++) {
        const double *c = C + (size_t)j * d;
        double *cc = Cc + (size_t)j * d;
        double nrm = 0, mdot = 0;
        for (int t = 0; t < d; t++) {
            cc[t] = c[t] - w->mu[t];
            nrm += cc[t] * cc[t];
            mdot += w->mu[t] * cc[t];
        }
        cn[j] = nrm + 2 * mdot;
    }
}

/* ---- assignment ---- */

/* Assign m rows (x, row stride ldx, centered squared norms xn) to their nearest centre;
 * row r is sample idx[r] (or first + r when idx is NULL). Updates labels, bounds, sums
 * and counts; returns how many labels changed. */
static long assign_block(km_work *w, const double *x, int ldx, int m, const double *xn, const int *idx, int first)
{
    int k = w->k, d = w->d;
    cl_sq_distances(x, ldx, m, d, xn, w->Cc, k, w->cn, w->D);
    long changed = 0;
    for (int r = 0; r < m; r++) {
        const double *dr = w->D + (size_t)r * k;
        int b = 0;
        double best = dr[0], second = INFINITY;
        for (int j = 1; j < k; j++) {
            if (dr[j] < best) {
                second = best;
                best = dr[j];
                b = j;
            } else if (dr[j] < second) {
                second = dr[j];
            }
        }
        int i = idx ? idx[r] : first + r;
        w->u[i] = sqrt(best);
        w->l[i] = sqrt(second);
        int old = w->labels[i];
        if (old != b) {
            const double *xr = x + (size_t)r * ldx;
            if (old >= 0) {
                double *so = w->S + (size_t)old * d;
                for (int t = 0; t < d; t++)
                    so[t] -= xr[t];
                w->cnt[old] -= 1;
            }
            double *sb = w->S + (size_t)b * d;
            for (int t = 0; t < d; t++)
                sb[t] += xr[t];
            w->cnt[b] += 1;
            w->labels[i] = b;
            changed++;
        }
    }
    return changed;
}

/* Every sample against every centre (Lloyd's pass), in row chunks. */
static long assign_all(km_work *w)
{
    long changed = 0;
    mat X = w->X;
    for (int r0 = 0; r0 < w->n; r0 += CL_CHUNK) {
        int m = w->n - r0 < CL_CHUNK ? w->n - r0 : CL_CHUNK;
        changed += assign_block(w, mat_ptr(X, r0, 0), X.stride, m, w->xn + r0, NULL, r0);
    }
    return changed;
}

static double sq_dist(const double *a, const double *b, int d)
{
    double s = 0;
    for (int t = 0; t < d; t++) {
        double e = a[t] - b[t];
        s += e * e;
    }
    return s;
}

/* Hamerly's pass: only samples whose bounds allow another centre get distances. */
static long assign_bounded(km_work *w)
{
    long changed = 0;
    int d = w->d, pending = 0;
    mat X = w->X;
    for (int i = 0; i < w->n; i++) {
        int a = w->labels[i];
        double m = w->half[a] > w->l[i] ? w->half[a] : w->l[i];
        if (w->u[i] <= m)
            continue;
        const double *x = mat_ptr(X, i, 0);
        w->u[i] = sqrt(sq_dist(x, w->C + (size_t)a * d, d));
        if (w->u[i] <= m)
            continue;
        memcpy(w->G + (size_t)pending * d, x, (size_t)d * sizeof(double));
        w->gxn[pending] = w->xn[i];
        w->gidx[pending++] = i;
        if (pending == CL_CHUNK) {
            changed += assign_block(w, w->G, d, pending, w->gxn, w->gidx, 0);
            pending = 0;
        }
    }
    if (pending)
        changed += assign_block(w, w->G, d, pending, w->gxn, w->gidx, 0);
    return changed;
}

/* Sums and counts recomputed from the labels (after a relocation broke them). */
static void rebuild_sums(km_work *w)
{
    int d = w->d;
    memset(w->S, 0, (size_t)w->k * d * sizeof(double));
    memset(w->cnt, 0, (size_t)w->k * sizeof(double));
    for (int i = 0; i < w->n; i++) {
        const double *x = mat_ptr(w->X, i, 0);
        double *s = w->S + (size_t)w->labels[i] * d;
        for (int t = 0; t < d; t++)
            s[t] += x[t];
        w->cnt[w->labels[i]] += 1;
    }
}

/* Inertia of centres C with the current labels, from the cluster sums. */
static double inertia_from_sums(const km_work *w)
{
    int d = w->d;
    double total = w->xn_total;
    for (int j = 0; j < w->k; j++) {
        const double *s = w->S + (size_t)j * d, *c = w->C + (size_t)j * d;
        double cross = 0, cc = 0;
        for (int t = 0; t < d; t++) {
            double cj = c[t] - w->mu[t];
            cross += (s[t] - w->cnt[j] * w->mu[t]) * cj;
            cc += cj * cj;
        }
        total += -2 * cross + w->cnt[j] * cc;
    }
    return total > 0 ? total : 0;
}

/* sklearn's relocation: each empty cluster takes the sample farthest from its own
 * centre (farthest first); the labels stay, the sums move. Returns 1 if any moved. */
static int relocate_empty(km_work *w)
{
    int k = w->k, d = w->d, n_empty = 0;
    for (int j = 0; j < k; j++)
        n_empty += w->cnt[j] == 0;
    if (!n_empty)
        return 0;
    /* the n_empty largest distances, by repeated selection (n_empty is small) */
    double *dist = w->u; /* bounds are rebuilt after a relocation */
    for (int i = 0; i < w->n; i++)
        dist[i] = sq_dist(mat_ptr(w->X, i, 0), w->C + (size_t)w->labels[i] * d, d);
    for (int j = 0; j < k; j++) {
        if (w->cnt[j] != 0)
            continue;
        int far = 0;
        for (int i = 1; i < w->n; i++)
            if (dist[i] > dist[far])
                far = i;
        dist[far] = -1;
        int old = w->labels[far];
        const double *x = mat_ptr(w->X, far, 0);
        double *so = w->S + (size_t)old * d, *sj = w->S + (size_t)j * d;
        for (int t = 0; t < d; t++) {
            so[t] -= x[t];
            sj[t] = x[t];
        }
        w->cnt[old] -= 1;
        w->cnt[j] = 1;
    }
    return 1;
}

/* After the centres moved: half the distance to the nearest other centre, and the bounds. */
static void update_bounds(km_work *w, int full_next)
{
    int k = w->k, d = w->d;
    for (int j = 0; j < k; j++) {
        double best = INFINITY;
        for (int q = 0; q < k; q++)
            if (q != j) {
                double s = sq_dist(w->C + (size_t)j * d, w->C + (size_t)q * d, d);
                best = s < best ? s : best;
            }
        w->half[j] = 0.5 * sqrt(best);
    }
    if (full_next)
        return;
    int a1 = 0;
    double m1 = -1, m2 = -1;
    for (int j = 0; j < k; j++) {
        if (w->shift[j] > m1) {
            m2 = m1;
            m1 = w->shift[j];
            a1 = j;
        } else if (w->shift[j] > m2) {
            m2 = w->shift[j];
        }
    }
    if (m2 < 0)
        m2 = 0;
    for (int i = 0; i < w->n; i++) {
        int a = w->labels[i];
        w->u[i] += w->shift[a];
        w->l[i] -= a == a1 ? m2 : m1;
    }
}

/* Direct Σ‖x − c_label‖² (sklearn's _inertia). */
static double inertia_direct(mat X, const double *C, const int *labels)
{
    double total = 0;
    for (int i = 0; i < X.rows; i++)
        total += sq_dist(mat_ptr(X, i, 0), C + (size_t)labels[i] * X.cols, X.cols);
    return total;
}

int km_run(km_work *w, const double *init, int max_iter, double tol_abs, int algorithm, progress *bar,
           long *bar_done, km_run_result *out)
{
    int k = w->k, d = w->d;
    size_t kd = (size_t)k * d;
    memcpy(w->C, init, kd * sizeof(double));
    km_set_centres(w, w->C, k, w->Cc, w->cn);
    for (int i = 0; i < w->n; i++)
        w->labels[i] = -1;
    memset(w->S, 0, kd * sizeof(double));
    memset(w->cnt, 0, (size_t)k * sizeof(double));
    for (int j = 0; j < k; j++)
        w->half[j] = 0;
    int full = 1, strict = 0, it = 0, stopped = 0;
    for (it = 0; it < max_iter; it++) {
        long changed = full || algorithm == KMEANS_LLOYD ? assign_all(w) : assign_bounded(w);
        w->history[it] = inertia_from_sums(w);
        int relocated = relocate_empty(w);
        double shift_tot = 0;
        for (int j = 0; j < k; j++) {
            double *cnew = w->Cnew + (size_t)j * d;
            const double *s = w->S + (size_t)j * d, *c = w->C + (size_t)j * d;
            if (w->cnt[j] > 0)
                for (int t = 0; t < d; t++)
                    cnew[t] = s[t] / w->cnt[j];
            else
                memcpy(cnew, c, (size_t)d * sizeof(double));
            double sh = sq_dist(cnew, c, d);
            w->shift[j] = sqrt(sh);
            shift_tot += sh;
        }
        memcpy(w->C, w->Cnew, kd * sizeof(double));
        km_set_centres(w, w->C, k, w->Cc, w->cn);
        if (relocated)
            rebuild_sums(w);
        full = relocated;
        update_bounds(w, full);
        if (bar) {
            progress_status(bar, "iteration %d, inertia %.6g, %ld changed", it + 1, w->history[it], changed);
            ++*bar_done;
            stopped = progress_update(bar, *bar_done);
        } else {
            stopped = cairn_interrupted();
        }
        if (changed == 0) {
            strict = 1;
            break;
        }
        if (shift_tot <= tol_abs || stopped)
            break;
    }
    int n_iter = it < max_iter ? it + 1 : max_iter;
    if (!strict) {
        if (full || algorithm == KMEANS_LLOYD)
            assign_all(w);
        else
            assign_bounded(w);
    }
    out->inertia = inertia_direct(w->X, w->C, w->labels);
    out->n_iter = n_iter;
    out->interrupted = stopped;
    return 0;
}

/* ---- the result block ---- */

static size_t round64(size_t b) { return (b + 63) & ~(size_t)63; }

kmeans_result *km_result_alloc(const char *func, mat X, int k, int history_len)
{
    int n = X.rows, d = X.cols;
    size_t head = round64(sizeof(kmeans_result));
    size_t cbytes = round64((size_t)k * d * sizeof(double));
    size_t lbytes = round64((size_t)n * sizeof(double));
    size_t hbytes = round64((size_t)(history_len > 0 ? history_len : 1) * sizeof(double));
    char *block = cairn_alloc(head + cbytes + lbytes + hbytes);
    if (!block) {
        cairn_error(func, "out of memory for the result of k = %d on X of %d x %d", k, n, d);
        return NULL;
    }
    kmeans_result *km = (kmeans_result *)block;
    mat c = {(double *)(block + head), k, d, d, 0, 0, 0, 0};
    if (X.channels * X.height * X.width == d) {
        c.channels = X.channels;
        c.height = X.height;
        c.width = X.width;
    }
    mat l = {(double *)(block + head + cbytes), n, 1, 1, 0, 0, 0, 0};
    mat h = {(double *)(block + head + cbytes + lbytes), 1, 0, history_len > 0 ? history_len : 1, 0, 0, 0, 0};
    km->centers = c;
    km->labels = l;
    km->inertia_history = h;
    km->k = k;
    return km;
}

void kmeans_free(kmeans_result *km) { cairn_free(km); }

/* ---- fit ---- */

int km_check_k(const char *func, mat X, int k)
{
    if (k < 1 || k > X.rows) {
        cairn_error(func, "k = %d must be in 1..%d (the number of rows of X, %d x %d)", k, X.rows, X.rows,
                    X.cols);
        return -1;
    }
    return 0;
}

kmeans_result *kmeans_fit(mat X, int k, const kmeans_options *opt)
{
    const char *func = "kmeans_fit";
    kmeans_options o = opt ? *opt : kmeans_defaults();
    if (cl_check_data(func, X, "X") < 0 || km_check_k(func, X, k) < 0)
        return NULL;
    int n_init = o.n_init > 0 ? o.n_init : 1;
    int max_iter = o.max_iter > 0 ? o.max_iter : 300;
    if (o.tol < 0 || o.tol != o.tol) {
        cairn_error(func, "tol = %g must be >= 0", o.tol);
        return NULL;
    }
    int have_init = !mat_is_empty(o.init);
    if (have_init) {
        if (o.init.rows != k || o.init.cols != X.cols) {
            cairn_error(func, "init is %d x %d but k = %d centres of %d features (X is %d x %d) are needed",
                        o.init.rows, o.init.cols, k, X.cols, X.rows, X.cols);
            return NULL;
        }
        if (cl_check_data(func, o.init, "init") < 0)
            return NULL;
        n_init = 1;
    }
    km_work w;
    if (km_work_init(func, &w, X, k, max_iter) < 0)
        return NULL;
    kmeans_result *km = km_result_alloc(func, X, k, max_iter);
    double *init = cairn_alloc((size_t)k * X.cols * sizeof(double));
    km_kpp_work kw;
    memset(&kw, 0, sizeof kw);
    if (!km || !init || (!have_init && km_kpp_init(func, &kw, &w, k) < 0)) {
        if (km && !init)
            cairn_error(func, "out of memory for k = %d centres", k);
        kmeans_free(km);
        cairn_free(init);
        km_work_free(&w);
        return NULL;
    }
    double tol_abs = o.tol * w.xn_total / ((double)X.rows * X.cols);
    rng_seed(o.seed);
    progress *bar = o.progress ? progress_start((long)n_init * max_iter, "k-means") : NULL;
    long bar_done = 0;
    km->inertia = INFINITY;
    int d = X.cols;
    for (int r = 0; r < n_init; r++) {
        /* an interrupt between runs stops before the next seeding (the kernel allows 0.4 s) */
        if (r > 0 && (bar ? progress_interrupted(bar) : cairn_interrupted())) {
            km->interrupted = 1;
            break;
        }
        if (have_init) {
            for (int j = 0; j < k; j++)
                memcpy(init + (size_t)j * d, mat_ptr(o.init, j, 0), (size_t)d * sizeof(double));
        } else {
            km_kpp_seed(&kw, &w, init);
        }
        km_run_result rr;
        km_run(&w, init, max_iter, tol_abs, o.algorithm, bar, &bar_done, &rr);
        if (rr.inertia < km->inertia) {
            km->inertia = rr.inertia;
            km->n_iter = rr.n_iter;
            memcpy(km->centers.data, w.C, (size_t)k * d * sizeof(double));
            for (int i = 0; i < X.rows; i++)
                km->labels.data[i] = w.labels[i];
            memcpy(km->inertia_history.data, w.history, (size_t)rr.n_iter * sizeof(double));
            km->inertia_history.cols = rr.n_iter;
        }
        km->n_init_done = r + 1;
        if (rr.interrupted) {
            km->interrupted = 1;
            break;
        }
        if (bar) {
            bar_done = (long)(r + 1) * max_iter;
            progress_update(bar, bar_done);
        }
    }
    if (bar) {
        progress_status(bar, "inertia %.6g after %d iterations%s", km->inertia, km->n_iter,
                        km->interrupted ? " (interrupted: best so far)" : "");
        progress_finish(bar);
    }
    track_autolog_kmeans(km, k, &o, n_init, max_iter); /* to the active run, if any */
    km_kpp_free(&kw);
    cairn_free(init);
    km_work_free(&w);
    return km;
}

kmeans_result *kmeans(mat X, int k, uint64_t seed)
{
    kmeans_options o = kmeans_defaults();
    o.seed = seed;
    return kmeans_fit(X, k, &o);
}

/* ---- using a fit ---- */

static int check_model(const char *func, const kmeans_result *km, mat X)
{
    if (!km || mat_is_empty(km->centers)) {
        cairn_error(func, "the k-means result is NULL or empty (did the fit fail?)");
        return -1;
    }
    if (cl_check_data(func, X, "X") < 0)
        return -1;
    if (X.cols != km->centers.cols) {
        cairn_error(func, "X is %d x %d but the centres have %d features (%d x %d)", X.rows, X.cols,
                    km->centers.cols, km->centers.rows, km->centers.cols);
        return -1;
    }
    return 0;
}

/* Squared distances of all rows of X to the centres, chunk by chunk, handed to `each`. */
static int for_distances(const char *func, const kmeans_result *km, mat X, mat out, int as_labels)
{
    int k = km->k, d = X.cols;
    double *cn = cairn_alloc((size_t)k * sizeof(double));
    double *xn = cairn_alloc((size_t)CL_CHUNK * sizeof(double));
    double *D = cairn_alloc((size_t)CL_CHUNK * k * sizeof(double));
    if (!cn || !xn || !D) {
        cairn_free(cn);
        cairn_free(xn);
        cairn_free(D);
        cairn_error(func, "out of memory for X of %d x %d", X.rows, X.cols);
        return -1;
    }
    mat C = km->centers;
    cl_row_norms(C, cn);
    for (int r0 = 0; r0 < X.rows; r0 += CL_CHUNK) {
        int m = X.rows - r0 < CL_CHUNK ? X.rows - r0 : CL_CHUNK;
        cl_row_norms(mat_row_range(X, r0, m), xn);
        cl_sq_distances(mat_ptr(X, r0, 0), X.stride, m, d, xn, C.data, k, cn, D);
        for (int r = 0; r < m; r++) {
            const double *dr = D + (size_t)r * k;
            if (as_labels) {
                int b = 0;
                for (int j = 1; j < k; j++)
                    if (dr[j] < dr[b])
                        b = j;
                out.data[r0 + r] = b;
            } else {
                double *o = mat_ptr(out, r0 + r, 0);
                for (int j = 0; j < k; j++)
                    o[j] = sqrt(dr[j]);
            }
        }
    }
    cairn_free(cn);
    cairn_free(xn);
    cairn_free(D);
    return 0;
}

mat kmeans_predict(const kmeans_result *km, mat X)
{
    if (check_model("kmeans_predict", km, X) < 0)
        return mat_empty();
    mat L = mat_alloc(X.rows, 1);
    if (mat_is_empty(L) || for_distances("kmeans_predict", km, X, L, 1) < 0) {
        mat_free(&L);
        return mat_empty();
    }
    return L;
}

mat kmeans_transform(const kmeans_result *km, mat X)
{
    if (check_model("kmeans_transform", km, X) < 0)
        return mat_empty();
    mat T = mat_alloc(X.rows, km->k);
    if (mat_is_empty(T) || for_distances("kmeans_transform", km, X, T, 0) < 0) {
        mat_free(&T);
        return mat_empty();
    }
    return T;
}

double kmeans_inertia(mat X, mat centers, mat labels)
{
    const char *func = "kmeans_inertia";
    if (cl_check_data(func, X, "X") < 0 || cl_check_data(func, centers, "centers") < 0)
        return NAN;
    if (centers.cols != X.cols) {
        cairn_error(func, "X is %d x %d but centers is %d x %d", X.rows, X.cols, centers.rows, centers.cols);
        return NAN;
    }
    int n = cl_vector_length(func, labels, "labels");
    if (n < 0)
        return NAN;
    if (n != X.rows) {
        cairn_error(func, "labels has %d entries (%d x %d) but X has %d rows", n, labels.rows, labels.cols, X.rows);
        return NAN;
    }
    double total = 0;
    for (int i = 0; i < n; i++) {
        double v = cl_vec_get(labels, i);
        if (v != floor(v) || v < 0 || v >= centers.rows) {
            cairn_error(func, "labels[%d] = %g is not a centre index in 0..%d", i, v, centers.rows - 1);
            return NAN;
        }
        const double *x = mat_ptr(X, i, 0), *c = mat_ptr(centers, (int)v, 0);
        total += sq_dist(x, c, X.cols);
    }
    return total;
}
