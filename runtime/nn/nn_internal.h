/* nn_internal.h — the network's layout shared by the files of runtime/nn.
 *
 * A model is an array of small layer records (no god-struct: each kind reads only its
 * own fields) plus flat buffers: params/grads (every trainable value, layer by layer),
 * the optimizer's moment buffers of the same length, and `state` (batch-norm running
 * statistics, not trained). Per-layer activations live in buffers sized for the
 * largest batch seen (`batch_cap`), allocated outside the batch loop; one workspace
 * (im2col columns) and one scratch buffer are shared by every layer.
 *
 * nn_real is float for the runtime. The gradient-check test compiles these same files
 * with -DNN_DOUBLE, so central differences are taken in double on the very code that
 * trains. */
#ifndef CAIRN_NN_INTERNAL_H
#define CAIRN_NN_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "cairn/nn.h"

#ifdef NN_DOUBLE
typedef double nn_real;
#define NN_GEMM cblas_dgemm
#else
typedef float nn_real;
#define NN_GEMM cblas_sgemm
#endif

enum nn_kind {
    L_CONV = 1, L_MAXPOOL, L_AVGPOOL, L_GAP, L_FLATTEN, L_DENSE, L_DROPOUT, L_BATCHNORM,
    L_RELU, L_LEAKY_RELU, L_SIGMOID, L_TANH, L_SOFTMAX, L_ADD, L_CONCAT
};

#define NN_NO_INPUT (-2) /* src2 of a layer with one input; next_src when the next layer reads the last */

typedef struct nn_layer {
    int kind;
    int src, src2;           /* the layers it reads (-1: the network input; src2 of add/concat only) */
    int in_c, in_h, in_w;    /* input shape (flat vectors: n x 1 x 1) */
    int out_c, out_h, out_w; /* output shape */
    int k, stride, pad, bias; /* conv and pool */
    double rate;             /* dropout rate, leaky slope */
    size_t w_off, b_off;     /* conv/dense weight and bias, BN gamma and beta, in params */
    size_t nparams;
    size_t state_off;        /* BN running mean (C) then running var (C), in state */
    nn_real *out;            /* batch_cap x out_size activations */
    nn_real *aux;            /* maxpool argmax (as int), dropout mask, BN xhat */
    nn_real *aux2;           /* BN per-channel mean and inverse std (2C) */
} nn_layer;

struct nn_model {
    int in_c, in_h, in_w;
    int nlayers, cap;
    nn_layer *layers;
    size_t nparams, nstate;
    nn_real *params, *grads, *opt_m, *opt_v, *good;
    nn_real *state;
    int loss;                /* enum nn_loss, 0 before nn_compile */
    nn_optimizer opt;
    long step;               /* optimizer steps taken (Adam's t) */
    uint64_t seed;
    uint64_t rng[4];         /* xoshiro256** for init, shuffling, dropout, augmentation */
    int init_scheme;
    int skip_init;           /* nn_skip_init: layers start at zero (an importer overwrites them) */
    int next_src;            /* nn_branch: what the next layer reads (NN_NO_INPUT: the last layer) */
    int dag;                 /* some layer reads other than the one before it: backward keeps a gradient per layer */
    nn_real **grad_of;       /* dag: each layer's output gradient (batch_cap x its size) */
    int batch_cap;           /* rows the activation buffers hold */
    nn_real *input;          /* batch_cap x in_size */
    nn_real *dbuf[2];        /* gradient ping-pong, batch_cap x max layer size */
    nn_real *work;           /* shared im2col workspace */
    nn_real *scratch;        /* shared conv output/gradient reorder buffer */
    nn_real *wt;             /* a conv's weights transposed (C·k·k x F), for the column gradient;
                              * before that, a fused conv's bias sums per image (B x F) */
    size_t work_size, scratch_size;
    char *summary;
};

static inline size_t nn_layer_out_size(const nn_layer *l) { return (size_t)l->out_c * l->out_h * l->out_w; }
static inline size_t nn_layer_in_size(const nn_layer *l) { return (size_t)l->in_c * l->in_h * l->in_w; }
static inline size_t nn_in_size(const nn_model *m) { return (size_t)m->in_c * m->in_h * m->in_w; }
size_t nn_out_size(const nn_model *m);

/* the model's generator */
uint64_t nn_rng_next(nn_model *m);
double nn_rng_uniform(nn_model *m);
double nn_rng_normal(nn_model *m);
void nn_rng_seed(uint64_t s[4], uint64_t seed);
uint64_t nn_rng_next_state(uint64_t s[4]);

/* buffers: make sure activations hold `batch` rows; returns 0 or -1 (error reported as func) */
int nn_reserve(nn_model *m, int batch, const char *func);
void *nn_alloc_zero(size_t bytes);
void nn_release(void *p);

/* forward through layers [0, upto) with `batch` rows already in m->input; training != 0 uses
 * batch statistics and dropout (dropout masks from `mask_seed`). Returns the last output. */
nn_real *nn_run_forward(nn_model *m, int batch, int upto, int training, uint64_t mask_seed);

/* backward from dout (batch x out of layer upto-1) down to layer 0, accumulating into grads */
void nn_run_backward(nn_model *m, int batch, int upto, const nn_real *dout);

/* number of layers the loss sees: the last softmax/sigmoid is folded into CE/BCE */
int nn_loss_layers(const nn_model *m);

/* loss of a batch of outputs z (batch x k) against targets; grad (may be NULL) gets dL/dz.
 * y points at the batch's target rows (double, `ystride` apart); weights per class or NULL.
 * *correct gets the number of right predictions (classification losses). */
double nn_loss_eval(int loss, const nn_real *z, int batch, int k, const double *y, int ystride,
                    const double *class_weights, nn_real *grad, long *correct);

/* checks targets for the loss: labels in range, shapes; returns 0 or -1 after reporting as func */
int nn_check_targets(const nn_model *m, mat y, int rows, const char *func);
int nn_check_input(const nn_model *m, mat X, const char *func);

/* the convolution's products (nn_gemm.c): C = A·B, and C += A·Bᵀ (all row-major) */
void nn_gemm_nn(int M, int N, int K, const nn_real *A, int lda, const nn_real *B, int ldb, nn_real *C, int ldc);
void nn_gemm_nt_acc(int M, int K, int L, const nn_real *A, int lda, const nn_real *B, int ldb, nn_real *C, int ldc);
/* run fn(ctx, part, parts) on this thread and a helper thread (parts = 2), or alone
 * (parts = 1) when `work` is small or there is one core; returns when both are done */
typedef void (*nn_job_fn)(void *ctx, int part, int parts);
void nn_parallel(nn_job_fn fn, void *ctx, size_t work);
void nn_parallel_enable(int on); /* tests: 0 runs every job on the calling thread */
static inline size_t nn_split(size_t n, int part, int parts) { return n * (size_t)part / (size_t)parts; }

/* tests: 1 makes both use cblas only (to compare the two paths), 0 lets the CPU decide */
void nn_gemm_use_blas(int on);

/* y = tanh(x) for n values (nn_tanh.c: a float rational approximation, 3.4e-7 relative) */
void nn_tanh_forward(size_t n, const nn_real *x, nn_real *y);

/* optimizer step over the flat buffers with learning rate lr */
void nn_optimizer_step(nn_model *m, double lr);

/* copy rows idx[0..n) of X into m->input as nn_real (idx NULL: rows first..first+n-1) */
void nn_gather_rows(nn_model *m, mat X, const int *idx, int first, int n);

/* inference-mode loss and accuracy on (X, y) (checked already), confusion counts added when given */
int nn_eval_into(nn_model *m, mat X, mat y, const double *class_weights, double *loss, double *acc, mat *confusion);

const char *nn_kind_name(int kind);
void nn_summary_invalidate(nn_model *m);

#endif
