/* nn_fit.c — the training loop: seeded shuffling into mini-batches, augmentation,
 * forward/loss/backward/step, learning-rate schedules, validation, early stopping with
 * the best weights kept, and what the user watches meanwhile (a live loss curve that
 * is one figure redrawn in place, and a progress bar with epoch, step, loss, accuracy,
 * samples/s and time left).
 *
 * Nothing is allocated inside the batch loop: the buffers are sized before it. Two
 * ways out keep the model usable, since neither is an error that would roll the cell
 * back: an interrupt stops after the current batch, and a NaN/Inf loss stops with the
 * parameters that last gave a finite loss (copied before every step). Both say so
 * with the epoch and step. Errors (shapes, labels, NaN input, batch size 0) are
 * reported before training starts, so nothing has changed when they end the cell. */
#include "nn_internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cairn/display.h"
#include "cairn/error.h"
#include "cairn/plot.h"
#include "cairn/progress.h"
#include "../track/track_autolog.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

nn_fit_options nn_fit_defaults(void)
{
    nn_fit_options o;
    memset(&o, 0, sizeof o);
    o.epochs = 10;
    o.batch_size = 32;
    o.shuffle = 1;
    o.X_val = mat_empty();
    o.y_val = mat_empty();
    o.class_weights = mat_empty();
    o.step_size = 10;
    o.gamma = 0.1;
    o.verbose = 1;
    return o;
}

void nn_history_free(nn_history *h)
{
    if (!h)
        return;
    mat_free(&h->train_loss);
    mat_free(&h->train_acc);
    mat_free(&h->val_loss);
    mat_free(&h->val_acc);
    mat_free(&h->step_loss);
    mat_free(&h->lr);
}

static double schedule_lr(const nn_model *m, const nn_fit_options *o, int epoch)
{
    double lr = m->opt.lr;
    if (o->schedule == NN_LR_STEP)
        return lr * pow(o->gamma, (double)(epoch / (o->step_size > 0 ? o->step_size : 1)));
    if (o->schedule == NN_LR_COSINE)
        return o->lr_min + 0.5 * (lr - o->lr_min) * (1 + cos(M_PI * epoch / (double)o->epochs));
    return lr;
}

/* random shift by up to `shift` pixels (zero fill) and horizontal flip, per sample */
static void augment(nn_model *m, int n, int shift, int flip)
{
    int C = m->in_c, H = m->in_h, W = m->in_w;
    size_t plane = (size_t)H * W;
    nn_real *tmp = m->dbuf[0];
    for (int r = 0; r < n; r++) {
        int dy = shift ? (int)(nn_rng_next(m) % (uint64_t)(2 * shift + 1)) - shift : 0;
        int dx = shift ? (int)(nn_rng_next(m) % (uint64_t)(2 * shift + 1)) - shift : 0;
        int fl = flip ? (int)(nn_rng_next(m) >> 63) : 0;
        if (!dy && !dx && !fl)
            continue;
        for (int c = 0; c < C; c++) {
            nn_real *p = m->input + ((size_t)r * C + c) * plane;
            memcpy(tmp, p, plane * sizeof(nn_real));
            for (int i = 0; i < H; i++)
                for (int j = 0; j < W; j++) {
                    int si = i - dy, sj = (fl ? W - 1 - j : j) - dx;
                    p[i * W + j] = si >= 0 && si < H && sj >= 0 && sj < W ? tmp[si * W + sj] : 0;
                }
        }
    }
}

typedef struct live {
    figure *fig;
    progress *bar;
    double last_draw;
} live;

static void live_start(live *v, long total, int validation)
{
    v->fig = plot_figure(760, 300);
    plot_subplots(v->fig, 1, 2);
    plot_axes *a = plot_subplot(v->fig, 0), *b = plot_subplot(v->fig, 1);
    plot_line_array(a, NULL, NULL, 0, "step");
    plot_line_array(a, NULL, NULL, 0, "train");
    plot_line_array(a, NULL, NULL, 0, validation ? "validation" : NULL);
    plot_title(a, "loss");
    plot_xlabel(a, "epoch");
    plot_line_array(b, NULL, NULL, 0, "train");
    plot_line_array(b, NULL, NULL, 0, validation ? "validation" : NULL);
    plot_title(b, "accuracy");
    plot_xlabel(b, "epoch");
    show(v->fig);
    v->bar = progress_start(total, "fit");
    v->last_draw = now();
}

nn_history nn_fit(nn_model *m, mat X, mat y, nn_fit_options o)
{
    nn_history h;
    memset(&h, 0, sizeof h);
    h.best_epoch = -1;
    h.train_loss = h.train_acc = h.val_loss = h.val_acc = h.step_loss = h.lr = mat_empty();
    if (!m) {
        cairn_error("nn_fit", "the model is NULL");
        return h;
    }
    if (m->loss == 0) {
        cairn_error("nn_fit", "the model has no loss yet: call nn_compile(net, NN_LOSS_..., nn_adam(1e-3)) first");
        return h;
    }
    if (o.batch_size <= 0 || o.epochs <= 0) {
        cairn_error("nn_fit", "batch size %d and epochs %d must be positive", o.batch_size, o.epochs);
        return h;
    }
    if (!(o.validation_split >= 0 && o.validation_split < 1)) {
        cairn_error("nn_fit", "validation_split %g must be in [0, 1)", o.validation_split);
        return h;
    }
    if (nn_check_input(m, X, "nn_fit") || nn_check_targets(m, y, X.rows, "nn_fit"))
        return h;
    int n = X.rows, nval = (int)floor(n * o.validation_split), ntrain = n - nval;
    mat Xv = mat_empty(), yv = mat_empty();
    if (!mat_is_empty(o.X_val)) {
        if (nval) {
            cairn_error("nn_fit", "give either validation_split or X_val/y_val, not both");
            return h;
        }
        if (nn_check_input(m, o.X_val, "nn_fit") || nn_check_targets(m, o.y_val, o.X_val.rows, "nn_fit"))
            return h;
        Xv = o.X_val, yv = o.y_val;
    } else if (nval) {
        Xv = mat_row_range(X, ntrain, nval), yv = mat_row_range(y, ntrain, nval);
    }
    if (ntrain <= 0) {
        cairn_error("nn_fit", "no training rows left: %d rows, validation_split %g", n, o.validation_split);
        return h;
    }
    int upto = nn_loss_layers(m), k = (int)nn_layer_out_size(&m->layers[upto - 1]);
    int ncw = m->loss == NN_LOSS_CROSS_ENTROPY ? k : 2;
    double cw[1024];
    const double *cwp = NULL;
    if (!mat_is_empty(o.class_weights)) {
        if (m->loss == NN_LOSS_MSE || o.class_weights.rows * o.class_weights.cols != ncw || ncw > 1024) {
            cairn_error("nn_fit", "class_weights is %d x %d but the loss needs %d weights (one per class)",
                        o.class_weights.rows, o.class_weights.cols, m->loss == NN_LOSS_MSE ? 0 : ncw);
            return h;
        }
        for (int c = 0; c < ncw; c++) {
            cw[c] = o.class_weights.rows == 1 ? *mat_ptr(o.class_weights, 0, c) : *mat_ptr(o.class_weights, c, 0);
            if (!(cw[c] >= 0) || !isfinite(cw[c])) {
                cairn_error("nn_fit", "class weight %d is %g; weights must be finite and >= 0", c, cw[c]);
                return h;
            }
        }
        cwp = cw;
    }
    if (o.augment_shift < 0 || o.augment_shift >= (m->in_h > m->in_w ? m->in_h : m->in_w)) {
        cairn_error("nn_fit", "augment_shift %d must be in 0..%d for %d x %d images", o.augment_shift,
                    (m->in_h > m->in_w ? m->in_h : m->in_w) - 1, m->in_h, m->in_w);
        return h;
    }
    int batch = o.batch_size < ntrain ? o.batch_size : ntrain;
    int steps = (ntrain + batch - 1) / batch;
    if (nn_reserve(m, batch > 256 ? batch : 256, "nn_fit"))
        return h;
    int *idx = nn_alloc_zero((size_t)ntrain * sizeof(int));
    double *ybuf = nn_alloc_zero((size_t)batch * (size_t)y.cols * sizeof(double));
    nn_real *best = o.patience > 0 ? nn_alloc_zero((m->nparams + m->nstate + 1) * sizeof(nn_real)) : NULL;
    h.train_loss = mat_zeros(1, o.epochs);
    h.train_acc = mat_zeros(1, o.epochs);
    h.lr = mat_zeros(1, o.epochs);
    h.step_loss = mat_zeros(1, o.epochs * steps);
    if (!mat_is_empty(Xv)) {
        h.val_loss = mat_zeros(1, o.epochs);
        h.val_acc = mat_zeros(1, o.epochs);
    }
    if (!idx || !ybuf || (o.patience > 0 && !best) || mat_is_empty(h.step_loss)) {
        nn_release(idx);
        nn_release(ybuf);
        nn_release(best);
        nn_history_free(&h);
        cairn_error("nn_fit", "out of memory for %d rows", ntrain);
        return h;
    }
    for (int i = 0; i < ntrain; i++)
        idx[i] = i;

    track_autolog_nn_start(m, &o, ntrain, mat_is_empty(Xv) ? 0 : Xv.rows); /* to the active run, if any */
    live v = {NULL, NULL, 0};
    if (o.verbose)
        live_start(&v, (long)o.epochs * steps, !mat_is_empty(Xv));
    double t0 = now(), best_loss = INFINITY;
    long samples = 0;
    int stop = 0, epoch = 0;
    for (epoch = 0; epoch < o.epochs && !stop; epoch++) {
        double lr = schedule_lr(m, &o, epoch), eloss = 0;
        long ecorrect = 0, eseen = 0;
        *mat_ptr(h.lr, 0, epoch) = lr;
        if (o.shuffle)
            for (int i = ntrain - 1; i > 0; i--) {
                int j = (int)(nn_rng_next(m) % (uint64_t)(i + 1)), t = idx[i];
                idx[i] = idx[j], idx[j] = t;
            }
        for (int s = 0; s < steps; s++) {
            int nb = ntrain - s * batch < batch ? ntrain - s * batch : batch;
            nn_gather_rows(m, X, idx, s * batch, nb);
            if (o.augment_shift || o.augment_flip)
                augment(m, nb, o.augment_shift, o.augment_flip);
            const nn_real *z = nn_run_forward(m, nb, upto, 1, nn_rng_next(m));
            long correct = 0;
            for (int r = 0; r < nb; r++)
                memcpy(ybuf + (size_t)r * y.cols, mat_ptr(y, idx[s * batch + r], 0), (size_t)y.cols * sizeof(double));
            nn_real *g = m->dbuf[0];
            double loss = nn_loss_eval(m->loss, z, nb, k, ybuf, y.cols, cwp, g, &correct);
            if (!isfinite(loss)) {
                if (m->step > 0 || h.steps_run > 0)
                    memcpy(m->params, m->good, m->nparams * sizeof(nn_real));
                h.diverged = 1;
                snprintf(h.message, sizeof h.message,
                         "nn_fit: the loss became %s at epoch %d, step %d: stopped, the model keeps the last weights that gave a finite loss",
                         isnan(loss) ? "NaN" : "Inf", epoch + 1, s + 1);
                stop = 1;
                break;
            }
            memcpy(m->good, m->params, m->nparams * sizeof(nn_real));
            nn_run_backward(m, nb, upto, g);
            nn_optimizer_step(m, lr);
            *mat_ptr(h.step_loss, 0, h.steps_run) = loss;
            h.steps_run++;
            samples += nb;
            eloss += loss * nb;
            ecorrect += correct;
            eseen += nb;
            if (v.bar) {
                double el = now() - t0, acc = (double)ecorrect / ((double)eseen * (m->loss == NN_LOSS_BINARY_CROSS_ENTROPY ? k : 1));
                if (m->loss == NN_LOSS_MSE)
                    progress_status(v.bar, "epoch %d/%d step %d/%d loss %.4f %.0f samples/s", epoch + 1, o.epochs, s + 1,
                                    steps, eloss / eseen, samples / (el > 0 ? el : 1e-9));
                else
                    progress_status(v.bar, "epoch %d/%d step %d/%d loss %.4f acc %.3f %.0f samples/s", epoch + 1, o.epochs,
                                    s + 1, steps, eloss / eseen, acc, samples / (el > 0 ? el : 1e-9));
                progress_update(v.bar, h.steps_run);
                plot_append(plot_subplot(v.fig, 0), 0, (double)h.steps_run / steps, loss);
                if (now() - v.last_draw > 1.0) {
                    plot_update(v.fig);
                    v.last_draw = now();
                }
            }
            if (cairn_interrupted()) {
                h.interrupted = 1;
                snprintf(h.message, sizeof h.message,
                         "nn_fit: interrupted at epoch %d, step %d of %d: the model keeps what it learned so far",
                         epoch + 1, s + 1, steps);
                stop = 1;
                break;
            }
        }
        if (eseen == 0)
            break;
        double tl = eloss / eseen, ta = m->loss == NN_LOSS_MSE ? NAN : (double)ecorrect / ((double)eseen * (m->loss == NN_LOSS_BINARY_CROSS_ENTROPY ? k : 1));
        *mat_ptr(h.train_loss, 0, epoch) = tl;
        *mat_ptr(h.train_acc, 0, epoch) = ta;
        double vl = NAN, va = NAN;
        if (!mat_is_empty(Xv)) {
            /* An interrupted epoch is not validated: the user asked to stop, and a pass over
             * the validation set can outlast the kernel's interrupt grace period. */
            if (!h.interrupted)
                nn_eval_into(m, Xv, yv, cwp, &vl, &va, NULL);
            *mat_ptr(h.val_loss, 0, epoch) = vl;
            *mat_ptr(h.val_acc, 0, epoch) = va;
        }
        h.epochs_run = epoch + 1;
        track_autolog_nn_epoch(&h, epoch);
        if (v.fig) {
            double x = epoch + 1;
            plot_append(plot_subplot(v.fig, 0), 1, x, tl);
            plot_append(plot_subplot(v.fig, 1), 0, x, ta);
            if (!mat_is_empty(Xv) && !h.interrupted) {
                plot_append(plot_subplot(v.fig, 0), 2, x, vl);
                plot_append(plot_subplot(v.fig, 1), 1, x, va);
            }
            plot_update(v.fig);
            v.last_draw = now();
        }
        if (best && !stop && isfinite(vl)) {
            if (vl < best_loss) {
                best_loss = vl;
                h.best_epoch = epoch;
                memcpy(best, m->params, m->nparams * sizeof(nn_real));
                if (m->nstate)
                    memcpy(best + m->nparams, m->state, m->nstate * sizeof(nn_real));
            } else if (epoch - h.best_epoch >= o.patience) {
                snprintf(h.message, sizeof h.message,
                         "nn_fit: early stop after epoch %d: validation loss has not improved for %d epochs; weights of epoch %d restored",
                         epoch + 1, o.patience, h.best_epoch + 1);
                stop = 1;
            }
        }
    }
    if (best && h.best_epoch >= 0 && !h.diverged) {
        memcpy(m->params, best, m->nparams * sizeof(nn_real));
        if (m->nstate)
            memcpy(m->state, best + m->nparams, m->nstate * sizeof(nn_real));
    } else {
        h.best_epoch = -1;
    }
    h.seconds = now() - t0;
    if (!h.message[0])
        snprintf(h.message, sizeof h.message, "nn_fit: %d epochs, %d steps in %.1f s", h.epochs_run, h.steps_run, h.seconds);
    h.train_loss.cols = h.train_acc.cols = h.lr.cols = h.epochs_run;
    h.step_loss.cols = h.steps_run;
    if (!mat_is_empty(h.val_loss))
        h.val_loss.cols = h.val_acc.cols = h.epochs_run;
    if (v.fig) {
        plot_update(v.fig);
        plot_free(v.fig);
    }
    if (v.bar)
        progress_finish(v.bar);
    if (o.verbose || h.interrupted || h.diverged) {
        fprintf(h.diverged ? stderr : stdout, "%s\n", h.message);
        fflush(h.diverged ? stderr : stdout);
    }
    nn_release(idx);
    nn_release(ybuf);
    nn_release(best);
    return h;
}

figure *nn_plot_history(nn_history h)
{
    if (mat_is_empty(h.train_loss)) {
        cairn_error("nn_plot_history", "the history is empty (no epoch finished)");
        return NULL;
    }
    figure *f = plot_figure(760, 300);
    plot_subplots(f, 1, 2);
    plot_axes *a = plot_subplot(f, 0), *b = plot_subplot(f, 1);
    int steps = h.steps_run, epochs = h.epochs_run;
    if (steps > 0 && epochs > 0) {
        mat xs = mat_alloc(1, steps);
        for (int i = 0; i < steps; i++)
            xs.data[i] = (double)(i + 1) * epochs / steps;
        plot_line(a, xs, h.step_loss, "step");
        mat_free(&xs);
    }
    mat xe = mat_arange(1, epochs + 1, 1);
    plot_line(a, xe, h.train_loss, "train");
    if (!mat_is_empty(h.val_loss))
        plot_line(a, xe, h.val_loss, "validation");
    plot_line(b, xe, h.train_acc, "train");
    if (!mat_is_empty(h.val_acc))
        plot_line(b, xe, h.val_acc, "validation");
    mat_free(&xe);
    plot_title(a, "loss");
    plot_xlabel(a, "epoch");
    plot_title(b, "accuracy");
    plot_xlabel(b, "epoch");
    return f;
}
