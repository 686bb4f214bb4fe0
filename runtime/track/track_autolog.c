/* track_autolog.c — what the runtime's own fits log to the active run by themselves, as
 * MLflow's autologging does for scikit-learn and PyTorch Lightning: k-means its settings
 * and the inertia of every iteration of its best run; nn_fit its settings, then the loss,
 * accuracy and learning rate of every epoch as the epoch ends (so `mlflow ui` or %runs
 * shows a training curve while it grows).
 *
 * The hooks never fail their caller: a fit must not end with an error because its run's
 * folder became unwritable, and in the kernel an error ends the cell (in a sweep, the
 * trial). So nothing here calls cairn_error; what cannot be written is skipped. A param is
 * written only when the run has none of that name yet (MLflow params cannot change: a
 * second fit in the same run keeps the first fit's settings, and a sweep's own `k` wins
 * over k-means' `kmeans.k` only by name, never by error). Keys carry the module's prefix
 * (kmeans.inertia, nn.train_loss) so they never mix with curves the user logs. Steps are
 * 0-based: iteration i, epoch i. track_autolog(0) turns all of it off. */
#include "track_internal.h"
#include "track_autolog.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int autolog_on = 1;

void track_autolog(int on) { autolog_on = on != 0; }

static track_run_state *autolog_run(void) { return autolog_on ? track_active_run() : NULL; }

/* Write params/<key> unless the run has it already; errors are skipped, never reported. */
static void param_once(track_run_state *r, const char *key, const char *value)
{
    char path[TRACK_PATH + 300];
    snprintf(path, sizeof path, "%s/params/%s", r->dir, key);
    struct stat st;
    if (stat(path, &st) == 0)
        return;
    (void)store_write_atomic(path, value, strlen(value)); /* a failure only loses this param */
}

static void param_number(track_run_state *r, const char *key, double v)
{
    char text[64];
    track_format_number(v, text, sizeof text);
    param_once(r, key, text);
}

void track_autolog_kmeans(const kmeans_result *km, int k, const kmeans_options *o, int n_init, int max_iter)
{
    track_run_state *r = autolog_run();
    if (!r || !km || !o)
        return;
    static const char *const algorithms[] = {"auto", "lloyd", "hamerly"};
    param_number(r, "kmeans.k", k);
    param_number(r, "kmeans.n_init", n_init);
    param_number(r, "kmeans.max_iter", max_iter);
    param_number(r, "kmeans.tol", o->tol);
    char seed[24];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)o->seed);
    param_once(r, "kmeans.seed", seed);
    param_once(r, "kmeans.algorithm", o->algorithm >= 0 && o->algorithm <= 2 ? algorithms[o->algorithm] : "?");
    param_once(r, "kmeans.init", mat_is_empty(o->init) ? "k-means++" : "given");
    for (int i = 0; i < km->inertia_history.cols; i++)
        run_metric(NULL, r, "kmeans.inertia", km->inertia_history.data[i], i);
    run_metric(NULL, r, "kmeans.n_iter", km->n_iter, 0);
}

void track_autolog_nn_start(const nn_model *m, const nn_fit_options *o, int train_rows, int val_rows)
{
    track_run_state *r = autolog_run();
    if (!r || !m || !o)
        return;
    int loss = 0;
    nn_optimizer opt;
    memset(&opt, 0, sizeof opt);
    nn_training_config(m, &loss, &opt, NULL, NULL);
    static const char *const optimizers[] = {"?", "sgd", "rmsprop", "adam"};
    static const char *const losses[] = {"?", "cross_entropy", "binary_cross_entropy", "mse"};
    static const char *const schedules[] = {"constant", "step", "cosine"};
    param_number(r, "nn.epochs", o->epochs);
    param_number(r, "nn.batch_size", o->batch_size);
    param_once(r, "nn.optimizer", opt.kind >= 1 && opt.kind <= 3 ? optimizers[opt.kind] : "?");
    param_number(r, "nn.lr", opt.lr);
    if (opt.kind == NN_OPT_SGD)
        param_number(r, "nn.momentum", opt.momentum);
    if (opt.weight_decay != 0)
        param_number(r, "nn.weight_decay", opt.weight_decay);
    param_once(r, "nn.loss", loss >= 1 && loss <= 3 ? losses[loss] : "?");
    param_once(r, "nn.schedule", o->schedule >= 0 && o->schedule <= 2 ? schedules[o->schedule] : "?");
    param_number(r, "nn.params", (double)nn_param_count(m));
    param_number(r, "nn.train_rows", train_rows);
    if (val_rows > 0)
        param_number(r, "nn.val_rows", val_rows);
}

void track_autolog_nn_epoch(const nn_history *h, int epoch)
{
    track_run_state *r = autolog_run();
    if (!r || !h || epoch < 0)
        return;
    const mat *curves[] = {&h->train_loss, &h->train_acc, &h->val_loss, &h->val_acc, &h->lr};
    static const char *const keys[] = {"nn.train_loss", "nn.train_acc", "nn.val_loss", "nn.val_acc", "nn.lr"};
    for (int i = 0; i < 5; i++) {
        const mat *c = curves[i];
        if (mat_is_empty(*c) || epoch >= c->cols)
            continue;
        double v = c->data[epoch];
        /* no accuracy under MSE, no validation in an interrupted epoch: NaN means "none" */
        if (!isnan(v))
            run_metric(NULL, r, keys[i], v, epoch);
    }
}
