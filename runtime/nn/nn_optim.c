/* nn_optim.c — one optimizer step over the flat parameter buffer (kann's idea: with
 * every parameter and gradient in one array, each optimizer is a single loop).
 * The update rules are PyTorch's, weight decay included (added to the gradient, as
 * torch.optim.SGD/RMSprop/Adam do), so a network copied there follows the same path. */
#include "nn_internal.h"

#include <math.h>

void nn_optimizer_step(nn_model *m, double lr)
{
    const nn_optimizer o = m->opt;
    nn_real *p = m->params, *g = m->grads, *mm = m->opt_m, *vv = m->opt_v;
    nn_real wd = (nn_real)o.weight_decay, rate = (nn_real)lr;
    size_t n = m->nparams;
    m->step++;
    if (o.kind == NN_OPT_SGD) {
        nn_real mu = (nn_real)o.momentum;
        for (size_t i = 0; i < n; i++) {
            nn_real d = g[i] + wd * p[i];
            if (mu != 0)
                d = mm[i] = mu * mm[i] + d;
            p[i] -= rate * d;
        }
    } else if (o.kind == NN_OPT_RMSPROP) {
        nn_real a = (nn_real)o.alpha, eps = (nn_real)o.eps;
        for (size_t i = 0; i < n; i++) {
            nn_real d = g[i] + wd * p[i];
            vv[i] = a * vv[i] + (1 - a) * d * d;
            p[i] -= rate * d / ((nn_real)sqrt(vv[i]) + eps);
        }
    } else {
        nn_real b1 = (nn_real)o.beta1, b2 = (nn_real)o.beta2, eps = (nn_real)o.eps;
        double bc1 = 1 - pow(o.beta1, (double)m->step), bc2 = 1 - pow(o.beta2, (double)m->step);
        nn_real step = (nn_real)(lr / bc1), sbc2 = (nn_real)sqrt(bc2);
        for (size_t i = 0; i < n; i++) {
            nn_real d = g[i] + wd * p[i];
            mm[i] = b1 * mm[i] + (1 - b1) * d;
            vv[i] = b2 * vv[i] + (1 - b2) * d * d;
            p[i] -= step * mm[i] / ((nn_real)sqrt(vv[i]) / sbc2 + eps);
        }
    }
}
