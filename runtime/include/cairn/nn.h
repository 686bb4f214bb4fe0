/* cairn/nn.h — convolutional networks: build, train while watching, look inside, save.
 *
 * A network is a stack of layers built one call at a time on an input shape; each
 * builder checks at once that its layer fits the shape it receives and names the
 * layer and both shapes when it does not. Images are the rows of a `mat` with their
 * declared (channels, height, width), exactly what idx_read and mat_set_image_shape give.
 *
 *     nn_model *net = nn_model_new(1, 28, 28, 42);      // input shape, seed
 *     nn_conv2d(net, 16, 3, 1, 0, 1); nn_relu(net); nn_maxpool(net, 2, 2);
 *     nn_flatten(net); nn_dense(net, 10);
 *     nn_compile(net, NN_LOSS_CROSS_ENTROPY, nn_adam(1e-3));
 *     nn_fit_options o = nn_fit_defaults(); o.epochs = 3;
 *     nn_history h = nn_fit(net, X, y, o);               // live loss curve + progress bar
 *     nn_eval e = nn_evaluate(net, Xtest, ytest);        // loss, accuracy, confusion
 *
 * Training runs in float32 (im2col + SGEMM, one workspace shared by every layer,
 * nothing allocated per batch); parameters and gradients are two flat buffers, so
 * each optimizer is one loop. Randomness (initialisation, shuffling, dropout,
 * augmentation) comes from the model's own generator seeded at nn_model_new: the same
 * seed trains bit for bit the same network. Labels for cross-entropy are class
 * indices 0..K-1 in an n x 1 matrix; binary cross-entropy takes 0/1 targets shaped
 * like the output; mean squared error takes targets shaped like the output. */
#ifndef CAIRN_NN_H
#define CAIRN_NN_H

#include <stdint.h>
#include "cairn/mat.h"

struct figure;

typedef struct nn_model nn_model;

enum nn_loss {
    NN_LOSS_CROSS_ENTROPY = 1, /* softmax cross-entropy on logits (a final nn_softmax is folded in) */
    NN_LOSS_BINARY_CROSS_ENTROPY = 2, /* sigmoid + BCE on logits (a final nn_sigmoid is folded in) */
    NN_LOSS_MSE = 3 /* mean squared error */
};

enum nn_optimizer_kind { NN_OPT_SGD = 1, NN_OPT_RMSPROP = 2, NN_OPT_ADAM = 3 };

/* An optimizer and its hyperparameters (PyTorch's meaning and defaults). */
typedef struct nn_optimizer {
    int kind;            /* enum nn_optimizer_kind */
    double lr;           /* learning rate */
    double momentum;     /* SGD momentum */
    double alpha;        /* RMSprop smoothing (0.99) */
    double beta1, beta2; /* Adam (0.9, 0.999) */
    double eps;          /* RMSprop and Adam (1e-8) */
    double weight_decay; /* L2 penalty added to the gradient (0) */
} nn_optimizer;

enum nn_schedule { NN_LR_CONSTANT = 0, NN_LR_STEP = 1, NN_LR_COSINE = 2 };
enum nn_init { NN_INIT_HE = 0, NN_INIT_GLOROT = 1 };

/* How nn_fit trains; start from nn_fit_defaults() and change fields. */
typedef struct nn_fit_options {
    int epochs;              /* passes over the training rows (10) */
    int batch_size;          /* rows per step (32); 0 is an error */
    int shuffle;             /* seeded shuffle every epoch (1) */
    double validation_split; /* fraction of the last rows held out for validation (0) */
    mat X_val, y_val;        /* an explicit validation set (empty: none) */
    int schedule;            /* enum nn_schedule (NN_LR_CONSTANT) */
    int step_size;           /* NN_LR_STEP: epochs between decays (10) */
    double gamma;            /* NN_LR_STEP: decay factor (0.1) */
    double lr_min;           /* NN_LR_COSINE: final learning rate (0) */
    mat class_weights;       /* 1 x K weight per class (empty: all 1) */
    int augment_shift;       /* random shift by up to this many pixels (0: none) */
    int augment_flip;        /* random horizontal flip (0: none) */
    int patience;            /* early stopping: epochs without a better validation loss (0: off) */
    int verbose;             /* 1: live loss curve and progress bar; 0: silent (1) */
} nn_fit_options;

/* What nn_fit did. Release with nn_history_free. */
typedef struct nn_history {
    mat train_loss, train_acc; /* 1 x epochs_run */
    mat val_loss, val_acc;     /* 1 x epochs_run (empty without validation) */
    mat step_loss;             /* 1 x steps_run: the loss of every mini-batch */
    mat lr;                    /* 1 x epochs_run: learning rate used in each epoch */
    int epochs_run, steps_run;
    int best_epoch;            /* epoch (0-based) whose weights the model holds after early stopping, else -1 */
    int interrupted;           /* 1 when the user interrupted (the model keeps what it learned) */
    int diverged;              /* 1 when a loss became NaN/Inf (the model keeps the last good weights) */
    double seconds;            /* wall time of the fit */
    char message[160];         /* how the fit ended, in words */
} nn_history;

/* Loss, accuracy and confusion matrix of a model on a labelled set. Release with nn_eval_free. */
typedef struct nn_eval {
    double loss;
    double accuracy;           /* NaN for MSE */
    mat confusion;             /* K x K counts, rows = true class (empty for MSE) */
} nn_eval;

/* ---- building ---- */

/** New empty network taking images of channels x height x width (1 x n x 1 for flat vectors); seed drives all its randomness. */
nn_model *nn_model_new(int channels, int height, int width, uint64_t seed);

/** Release a network and everything it holds (NULL is fine). */
void nn_model_free(nn_model *net);

/** Add a 2-D convolution: `filters` kernels of kernel x kernel, stride, zero padding, bias (1) or none (0); returns the layer index or -1. */
int nn_conv2d(nn_model *net, int filters, int kernel, int stride, int padding, int bias);

/** Add max pooling over size x size windows moved by stride; returns the layer index or -1. */
int nn_maxpool(nn_model *net, int size, int stride);

/** Add average pooling over size x size windows moved by stride; returns the layer index or -1. */
int nn_avgpool(nn_model *net, int size, int stride);

/** Add global average pooling: each channel becomes its mean (C x H x W -> C); returns the layer index or -1. */
int nn_global_avgpool(nn_model *net);

/** Add a flatten layer (C x H x W -> C*H*W features); returns the layer index or -1. */
int nn_flatten(nn_model *net);

/** Add a fully connected layer with `units` outputs (needs flat input: nn_flatten first); returns the layer index or -1. */
int nn_dense(nn_model *net, int units);

/** Add dropout: in training each value is zeroed with probability rate (and the rest scaled by 1/(1-rate)). */
int nn_dropout(nn_model *net, double rate);

/** Add batch normalisation (per channel for images, per feature for vectors; momentum 0.1, eps 1e-5 as PyTorch). */
int nn_batchnorm(nn_model *net);

/** Add a ReLU activation; returns the layer index or -1. */
int nn_relu(nn_model *net);

/** Add a leaky ReLU activation with the given negative slope (0.01 in PyTorch). */
int nn_leaky_relu(nn_model *net, double slope);

/** Add a logistic sigmoid activation; returns the layer index or -1. */
int nn_sigmoid(nn_model *net);

/** Add a tanh activation; returns the layer index or -1. */
int nn_tanh(nn_model *net);

/** Add a softmax over the features of each sample; returns the layer index or -1. */
int nn_softmax(nn_model *net);

/** The next layer reads the output of `layer` (-1: the network input) instead of the last layer's: starts a branch; 0 or -1. */
int nn_branch(nn_model *net, int layer);

/** Add the elementwise sum of the current output and layer `layer`'s output (same shape): a residual connection; returns the layer index or -1. */
int nn_add(nn_model *net, int layer);

/** Add the concatenation of the current output's channels (features) and then layer `layer`'s (same height and width); returns the layer index or -1. */
int nn_concat(nn_model *net, int layer);

/** Layer i's inputs: *from (-1: the network input) and *from2 (the second input of add/concat, else -2); NULLs skipped; 0 or -1. */
int nn_layer_inputs(const nn_model *net, int layer, int *from, int *from2);

/** Choose the loss (enum nn_loss) and optimizer for training; returns 0 or -1. */
int nn_compile(nn_model *net, int loss, nn_optimizer optimizer);

/** on != 0: layers added from now on start at zero instead of random weights (for code that sets every parameter itself, e.g. an importer). */
void nn_skip_init(nn_model *net, int on);

/** Re-initialise every weight (He or Glorot normal, enum nn_init) from the model's seed; biases and BN shifts 0. */
int nn_init_weights(nn_model *net, int scheme);

/** SGD with momentum (0 for plain SGD). */
nn_optimizer nn_sgd(double lr, double momentum);

/** RMSprop with PyTorch's defaults (alpha 0.99, eps 1e-8). */
nn_optimizer nn_rmsprop(double lr);

/** Adam with PyTorch's defaults (betas 0.9, 0.999, eps 1e-8). */
nn_optimizer nn_adam(double lr);

/* ---- inspecting ---- */

/** Number of layers in the network. */
int nn_layer_count(const nn_model *net);

/** Number of trainable parameters. */
long nn_param_count(const nn_model *net);

/** Output shape of layer i (layer -1: the input) into *channels, *height, *width; returns the feature count or -1. */
int nn_layer_shape(const nn_model *net, int layer, int *channels, int *height, int *width);

/** Name of layer i's kind ("conv2d", "relu", ...), or NULL. */
const char *nn_layer_name(const nn_model *net, int layer);

/** The model summary (layers, output shapes, parameter counts, memory) as text; valid until the model changes. */
const char *nn_summary_text(nn_model *net);

/** Show the model summary in the notebook (text/plain and an HTML table). */
void nn_summary(nn_model *net);

/** All trainable parameters as one new 1 x P row (layer by layer: weights then bias, as PyTorch orders them). */
mat nn_params(const nn_model *net);

/** Overwrite all trainable parameters from a 1 x P (or P x 1) matrix; returns 0 or -1. */
int nn_set_params(nn_model *net, mat params);

/** Hyperparameters of layer i: kernel size, stride, padding, bias flag (conv/pool) and rate (dropout rate, leaky slope); NULLs skipped; 0 or -1. */
int nn_layer_config(const nn_model *net, int layer, int *kernel, int *stride, int *padding, int *bias, double *rate);

/** Batch-norm running statistics as one new 1 x S row (per batchnorm layer: C means then C variances); empty if none. */
mat nn_state(const nn_model *net);

/** Overwrite the batch-norm running statistics from a 1 x S (or S x 1) matrix laid out as nn_state; returns 0 or -1. */
int nn_set_state(nn_model *net, mat state);

/** The loss (enum nn_loss, 0 before nn_compile), optimizer, optimizer steps taken and seed; NULLs skipped; 0 or -1. */
int nn_training_config(const nn_model *net, int *loss, nn_optimizer *opt, long *steps, uint64_t *seed);

/** Training-mode loss on (X, y) without updating anything; *grad (if not NULL) receives the 1 x P gradient. NaN on error. */
double nn_loss_gradient(nn_model *net, mat X, mat y, mat *grad);

/* ---- training ---- */

/** Default fit options: 10 epochs, batch 32, shuffled, no validation, constant LR, live display on. */
nn_fit_options nn_fit_defaults(void);

/** Train on rows of X with labels/targets y; shows a live loss curve and progress bar; interrupt keeps the model so far. */
nn_history nn_fit(nn_model *net, mat X, mat y, nn_fit_options options);

/** Release the matrices of a history. */
void nn_history_free(nn_history *h);

/** Figure of a history: loss per step and per epoch (train, validation) and accuracy per epoch. */
struct figure *nn_plot_history(nn_history h);

/* ---- using ---- */

/** Network outputs for every row of X (logits for cross-entropy), n x K. */
mat nn_forward(nn_model *net, mat X);

/** Probabilities for every row of X (softmax for cross-entropy, sigmoid for BCE), n x K. */
mat nn_predict_proba(nn_model *net, mat X);

/** Predicted class of every row of X as an n x 1 matrix (outputs themselves for MSE). */
mat nn_predict(nn_model *net, mat X);

/** Loss, accuracy and confusion matrix on (X, y) in inference mode. */
nn_eval nn_evaluate(nn_model *net, mat X, mat y);

/** Release the confusion matrix of an evaluation. */
void nn_eval_free(nn_eval *e);

/** Output of layer `layer` for row `row` of X as a 1 x (C*H*W) matrix with image shape (C, H, W), ready for plot_channels. */
mat nn_feature_maps(nn_model *net, int layer, mat X, int row);

/** Figure of the feature maps of `layer` for row `row` of X, one panel per channel. */
struct figure *nn_plot_feature_maps(nn_model *net, int layer, mat X, int row);

/** Figure of the first convolution's filters, one image per input channel and filter. */
struct figure *nn_plot_filters(nn_model *net);

/** Grid of up to `max` misclassified rows of X captioned "true -> predicted" (class_names may be NULL). */
struct figure *nn_plot_misclassified(nn_model *net, mat X, mat y, int max, const char *const *class_names);

/* ---- saving ---- */

/** Save architecture, weights, batch-norm statistics and optimizer state to a versioned binary file; returns 0 or -1. */
int nn_save(nn_model *net, const char *path);

/** Load a network saved by nn_save (a newer format version or a damaged file is an error); NULL on failure. */
nn_model *nn_load(const char *path);

/** Write every layer's parameters as float32 .npy files in directory dir (PyTorch shapes); returns the file count or -1. */
int nn_export_npy(nn_model *net, const char *dir);

#endif
