/* minibatch.c — mini-batch k-means (Sculley, "Web-scale k-means clustering", WWW 2010)
 * with scikit-learn's MiniBatchKMeans rules, for data too big for full Lloyd passes.
 *
 * Each step draws a batch (with replacement, seeded), assigns it to the nearest centres
 * (one dgemm) and moves each centre towards the mean of its batch points with a
 * per-centre learning rate 1/count: c ← (c·count + Σx) / (count + m). Every 10·k samples
 * (or whenever a centre has never been chosen) centres whose count is below
 * reassignment_ratio × the largest are moved to random samples of the batch, and their
 * count is set to the smallest other count, as sklearn does. Initialisation: k-means++ on
 * a random subset of 3·batch_size rows, n_init times, keeping the centres with the lowest
 * inertia on a validation subset. Stopping: after max_iter passes over the data, when an
 * exponentially weighted average of the batch inertia has not improved for
 * max_no_improvement steps, or (tol > 0) when the squared centre shift is below tol times
 * the mean feature variance. The result's labels and inertia are over all of X.
 *
 * The batch buffer, distances and sums are allocated once; a step allocates nothing. A step
 * uses both cores (nn_parallel): the batch rows are gathered and labelled in two halves, and
 * the centres updated in two halves; sums are always taken in row order, so a seeded run
 * gives the same numbers on one thread or two. */
#include "cairn/cluster.h"
#include "cairn/alloc.h"
#include "cairn/display.h"
#include "cairn/error.h"
#include "cairn/progress.h"
#include "cairn/random.h"
#include "cluster_internal.h"
#include "kmeans_internal.h"
#include "../nn/nn_internal.h" /* nn_parallel: the runtime's second-core helper */

#include <math.h>
#include <string.h>

minibatch_options minibatch_defaults(void)
{
    minibatch_options o;
    memset(&o, 0, sizeof o);
    o.batch_size = 1024;
    o.n_init = 3;
    o.max_iter = 100;
    o.tol = 0;
    o.max_no_improvement = 10;
    o.reassignment_ratio = 0.01;
    o.seed = 0;
    o.progress = 1;
    return o;
}

typedef struct mb_work {
    int n, d, k, b;
    double *B, *bn;    /* batch rows (b x d) and their squared norms */
    int *bidx, *blab;  /* batch sample indices and labels */
    double *C, *cn;    /* centres and their squared norms */
    double *D;         /* b x k distances */
    double *sum, *cnt; /* k x d batch sums; per centre, its squared shift in the last step */
    double *counts;    /* k: samples each centre has absorbed (its inverse learning rate) */
    int *pick;         /* b scratch for reassignment draws */
    int *order;        /* k scratch */
} mb_work;

static void mb_free(mb_work *w)
{
    void *bufs[] = {w->B, w->bn, w->bidx, w->blab, w->C, w->cn, w->D, w->sum, w->cnt, w->counts, w->pick, w->order};
    for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++)
        cairn_free(bufs[i]);
    memset(w, 0, sizeof *w);
}

static int mb_init(const char *func, mb_work *w, int n, int d, int k, int b)
{
    memset(w, 0, sizeof *w);
    w->n = n;
    w->d = d;
    w->k = k;
    w->b = b;
    size_t bd = (size_t)b * d, kd = (size_t)k * d;
    w->B = cairn_alloc(bd * sizeof(double));
    w->bn = cairn_alloc((size_t)b * sizeof(double));
    w->bidx = cairn_alloc((size_t)b * sizeof(int));
    w->blab = cairn_alloc((size_t)b * sizeof(int));
    w->C = cairn_alloc(kd * sizeof(double));
    w->cn = cairn_alloc((size_t)k * sizeof(double));
    w->D = cairn_alloc((size_t)b * k * sizeof(double));
    w->sum = cairn_alloc(kd * sizeof(double));
    w->cnt = cairn_alloc((size_t)k * sizeof(double));
    w->counts = cairn_alloc((size_t)k * sizeof(double));
    w->pick = cairn_alloc((size_t)b * sizeof(int));
    w->order = cairn_alloc((size_t)k * sizeof(int));
    if (!w->B || !w->bn || !w->bidx || !w->blab || !w->C || !w->cn || !w->D || !w->sum || !w->cnt || !w->counts ||
        !w->pick || !w->order) {
        mb_free(w);
        cairn_error(func, "out of memory for mini-batches of %d rows of %d features", b, d);
        return -1;
    }
    return 0;
}

typedef struct mb_job {
    mb_work *w;
    mat X;
    int m;
} mb_job;

/* Rows [lo, hi) of the batch: gathered from X with their norms, their distances to the
 * centres and their labels. */
static void batch_part(void *ctx, int part, int parts)
{
    const mb_job *j = ctx;
    mb_work *w = j->w;
    int d = w->d, k = w->k;
    int lo = (int)nn_split((size_t)j->m, part, parts), hi = (int)nn_split((size_t)j->m, part + 1, parts);
    if (hi <= lo)
        return;
    for (int r = lo; r < hi; r++) {
        double *dst = w->B + (size_t)r * d;
        memcpy(dst, mat_ptr(j->X, w->bidx[r], 0), (size_t)d * sizeof(double));
        w->bn[r] = cl_dot(dst, dst, d);
    }
    cl_sq_distances_serial(w->B + (size_t)lo * d, d, hi - lo, d, w->bn + lo, w->C, k, w->cn, w->D + (size_t)lo * k);
    for (int r = lo; r < hi; r++) {
        const double *dr = w->D + (size_t)r * k;
        int best = 0;
        for (int c = 1; c < k; c++)
            if (dr[c] < dr[best])
                best = c;
        w->blab[r] = best;
    }
}

/* Gathers rows bidx[0..m) of X into the batch, labels them (both cores) and returns their
 * inertia (summed in row order: the same number on one thread or two). Centre norms must
 * be current. */
static double label_batch(mb_work *w, mat X, int m)
{
    mb_job j = {w, X, m};
    nn_parallel(batch_part, &j, (size_t)m * w->k * w->d / 8);
    double inertia = 0;
    for (int r = 0; r < m; r++)
        inertia += w->D[(size_t)r * w->k + w->blab[r]];
    return inertia;
}

/* Centres [lo, hi): each moves to (c·count + Σx) / (count + m) over its batch rows, the sums
 * taken in row order; shift[j] is how far (squared) it moved. */
static void update_part(void *ctx, int part, int parts)
{
    const mb_job *j = ctx;
    mb_work *w = j->w;
    int d = w->d, k = w->k;
    int lo = (int)nn_split((size_t)k, part, parts), hi = (int)nn_split((size_t)k, part + 1, parts);
    for (int c = lo; c < hi; c++) {
        double *sum = w->sum + (size_t)c * d, cnt = 0;
        memset(sum, 0, (size_t)d * sizeof(double));
        for (int r = 0; r < j->m; r++) {
            if (w->blab[r] != c)
                continue;
            const double *x = w->B + (size_t)r * d;
            for (int t = 0; t < d; t++)
                sum[t] += x[t];
            cnt += 1;
        }
        w->cnt[c] = 0;
        if (cnt == 0)
            continue;
        double *cc = w->C + (size_t)c * d, total = w->counts[c] + cnt, shift = 0;
        for (int t = 0; t < d; t++) {
            double v = (cc[t] * w->counts[c] + sum[t]) / total;
            shift += (v - cc[t]) * (v - cc[t]);
            cc[t] = v;
        }
        w->counts[c] = total;
        w->cnt[c] = shift;
    }
}

/* One step's centre update (both cores, split by centre); returns the squared shift. */
static double update_centres(mb_work *w, int m)
{
    mb_job j = {w, mat_empty(), m};
    nn_parallel(update_part, &j, (size_t)m * w->d);
    double shift = 0;
    for (int c = 0; c < w->k; c++)
        shift += w->cnt[c];
    return shift;
}

static void centre_norms(mb_work *w)
{
    for (int j = 0; j < w->k; j++) {
        const double *c = w->C + (size_t)j * w->d;
        double s = 0;
        for (int t = 0; t < w->d; t++)
            s += c[t] * c[t];
        w->cn[j] = s;
    }
}

/* Inertia of centres C over rows idx[0..m) of X, batch by batch (the validation set). */
static double inertia_of(mb_work *w, mat X, const int *idx, int m)
{
    double total = 0;
    for (int r0 = 0; r0 < m; r0 += w->b) {
        int mm = m - r0 < w->b ? m - r0 : w->b;
        memcpy(w->bidx, idx + r0, (size_t)mm * sizeof(int));
        total += label_batch(w, X, mm);
    }
    return total;
}

/* sklearn's _random_reassign part of a step: returns nothing, edits C and counts. */
static void reassign(mb_work *w, double ratio)
{
    int k = w->k, b = w->b;
    double maxc = 0;
    for (int j = 0; j < k; j++)
        maxc = w->counts[j] > maxc ? w->counts[j] : maxc;
    int n_re = 0;
    for (int j = 0; j < k; j++) {
        w->order[j] = w->counts[j] < ratio * maxc;
        n_re += w->order[j];
    }
    if (n_re > 0.5 * b) { /* keep only the int(0.5·b) smallest counts */
        int keep = (int)(0.5 * b);
        n_re = 0;
        for (int j = 0; j < k; j++) {
            int rank = 0; /* how many counts are smaller (ties by index) */
            for (int q = 0; q < k; q++)
                rank += w->counts[q] < w->counts[j] || (w->counts[q] == w->counts[j] && q < j);
            w->order[j] = rank < keep && w->order[j];
            n_re += w->order[j];
        }
    }
    if (!n_re)
        return;
    /* distinct random batch rows: a partial Fisher–Yates shuffle */
    for (int r = 0; r < b; r++)
        w->pick[r] = r;
    double min_other = INFINITY;
    for (int j = 0; j < k; j++)
        if (!w->order[j] && w->counts[j] < min_other)
            min_other = w->counts[j];
    int t = 0;
    for (int j = 0; j < k; j++) {
        if (!w->order[j])
            continue;
        int r = t + (int)rng_int(0, b - t), tmp = w->pick[t];
        w->pick[t] = w->pick[r];
        w->pick[r] = tmp;
        memcpy(w->C + (size_t)j * w->d, w->B + (size_t)w->pick[t] * w->d, (size_t)w->d * sizeof(double));
        w->counts[j] = min_other;
        t++;
    }
}

kmeans_result *minibatch_kmeans_fit(mat X, int k, const minibatch_options *opt)
{
    const char *func = "minibatch_kmeans_fit";
    minibatch_options o = opt ? *opt : minibatch_defaults();
    if (cl_check_data(func, X, "X") < 0 || km_check_k(func, X, k) < 0)
        return NULL;
    int n = X.rows, d = X.cols;
    int b = o.batch_size > 0 ? o.batch_size : 1024;
    b = b > n ? n : b;
    int n_init = o.n_init > 0 ? o.n_init : 1, max_iter = o.max_iter > 0 ? o.max_iter : 100;
    if (o.tol < 0 || o.tol != o.tol || o.reassignment_ratio < 0) {
        cairn_error(func, "tol = %g and reassignment_ratio = %g must be >= 0", o.tol, o.reassignment_ratio);
        return NULL;
    }
    int init_size = 3 * b < k ? 3 * k : 3 * b;
    init_size = init_size > n ? n : init_size;
    long n_steps = (long)max_iter * n / b;
    n_steps = n_steps < 1 ? 1 : n_steps;
    int hist_len = n_steps > 100000 ? 100000 : (int)n_steps;
    mb_work w;
    if (mb_init(func, &w, n, d, k, b) < 0)
        return NULL;
    kmeans_result *km = km_result_alloc(func, X, k, hist_len);
    int *valid = cairn_alloc((size_t)init_size * sizeof(int));
    int *sub_idx = cairn_alloc((size_t)init_size * sizeof(int));
    double *best_init = cairn_alloc((size_t)k * d * sizeof(double));
    if (!km || !valid || !sub_idx || !best_init) {
        if (km)
            cairn_error(func, "out of memory for the initialisation subsets of %d rows", init_size);
        kmeans_free(km);
        cairn_free(valid);
        cairn_free(sub_idx);
        cairn_free(best_init);
        mb_free(&w);
        return NULL;
    }
    double var_mean = 0; /* tol is relative to the mean feature variance, as for kmeans_fit */
    if (o.tol > 0) {
        for (int t = 0; t < d; t++) {
            double s = 0, s2 = 0;
            for (int i = 0; i < n; i++) {
                double v = *mat_ptr(X, i, t);
                s += v;
                s2 += v * v;
            }
            var_mean += (s2 / n - (s / n) * (s / n)) / d;
        }
    }
    double tol_abs = o.tol * var_mean;
    rng_seed(o.seed);
    for (int i = 0; i < init_size; i++)
        valid[i] = (int)rng_int(0, n);
    /* k-means++ on random subsets, the best on the validation subset */
    double best = INFINITY;
    int failed = 0;
    for (int r = 0; r < n_init && !failed; r++) {
        for (int i = 0; i < init_size; i++)
            sub_idx[i] = (int)rng_int(0, n);
        mat sub = mat_rows_index(X, sub_idx, init_size);
        km_work kw;
        km_kpp_work pw;
        if (mat_is_empty(sub) || km_work_init(func, &kw, sub, k, 1) < 0) {
            mat_free(&sub);
            failed = 1;
            break;
        }
        if (km_kpp_init(func, &pw, &kw, k) < 0) {
            km_work_free(&kw);
            mat_free(&sub);
            failed = 1;
            break;
        }
        km_kpp_seed(&pw, &kw, w.C);
        km_kpp_free(&pw);
        km_work_free(&kw);
        mat_free(&sub);
        centre_norms(&w);
        double inertia = inertia_of(&w, X, valid, init_size);
        if (inertia < best) {
            best = inertia;
            memcpy(best_init, w.C, (size_t)k * d * sizeof(double));
        }
    }
    if (failed) {
        kmeans_free(km);
        cairn_free(valid);
        cairn_free(sub_idx);
        cairn_free(best_init);
        mb_free(&w);
        return NULL;
    }
    memcpy(w.C, best_init, (size_t)k * d * sizeof(double));
    centre_norms(&w);
    progress *bar = o.progress ? progress_start(n_steps, "mini-batch k-means") : NULL;
    double ewa = 0, ewa_min = 0;
    int have_ewa = 0, have_min = 0, no_improvement = 0;
    long since_reassign = 0, step;
    double alpha = (double)b * 2.0 / (n + 1);
    alpha = alpha > 1 ? 1 : alpha;
    for (step = 0; step < n_steps; step++) {
        for (int r = 0; r < b; r++)
            w.bidx[r] = (int)rng_int(0, n);
        double batch_inertia = label_batch(&w, X, b);
        double shift = update_centres(&w, b);
        since_reassign += b;
        int any_zero = 0;
        for (int j = 0; j < k; j++)
            any_zero |= w.counts[j] == 0;
        if (any_zero || since_reassign >= 10L * k) {
            since_reassign = 0;
            if (o.reassignment_ratio > 0)
                reassign(&w, o.reassignment_ratio);
        }
        centre_norms(&w);
        batch_inertia /= b;
        if (step < hist_len)
            km->inertia_history.data[step] = batch_inertia;
        int stop = 0;
        if (step > 0) {
            ewa = have_ewa ? ewa * (1 - alpha) + batch_inertia * alpha : batch_inertia;
            have_ewa = 1;
            if (tol_abs > 0 && shift <= tol_abs)
                stop = 1;
            if (!have_min || ewa < ewa_min) {
                no_improvement = 0;
                ewa_min = ewa;
                have_min = 1;
            } else {
                no_improvement++;
            }
            if (o.max_no_improvement > 0 && no_improvement >= o.max_no_improvement)
                stop = 1;
        }
        int interrupted = 0;
        if (bar) {
            progress_status(bar, "mean batch inertia %.6g", batch_inertia);
            interrupted = progress_update(bar, step + 1);
        } else {
            interrupted = cairn_interrupted();
        }
        if (interrupted) {
            km->interrupted = 1;
            stop = 1;
        }
        if (stop) {
            step++;
            break;
        }
    }
    long steps_done = step > n_steps ? n_steps : step;
    km->inertia_history.cols = (int)(steps_done < hist_len ? steps_done : hist_len);
    km->n_iter = (int)ceil((double)steps_done * b / n);
    km->n_init_done = n_init;
    /* labels and inertia over all of X */
    double inertia = 0;
    for (int r0 = 0; r0 < n; r0 += b) {
        int m = n - r0 < b ? n - r0 : b;
        for (int r = 0; r < m; r++)
            w.bidx[r] = r0 + r;
        inertia += label_batch(&w, X, m);
        for (int r = 0; r < m; r++)
            km->labels.data[r0 + r] = w.blab[r];
    }
    km->inertia = inertia;
    memcpy(km->centers.data, w.C, (size_t)k * d * sizeof(double));
    if (bar) {
        progress_status(bar, "inertia %.6g after %ld steps%s", inertia, steps_done,
                        km->interrupted ? " (interrupted)" : "");
        progress_finish(bar);
    }
    cairn_free(valid);
    cairn_free(sub_idx);
    cairn_free(best_init);
    mb_free(&w);
    return km;
}
