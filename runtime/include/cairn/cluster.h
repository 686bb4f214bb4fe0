/* cairn/cluster.h — clustering and classic machine learning: k-means (full and
 * mini-batch), nearest neighbours, train/test split, standardisation and the metrics
 * that judge them, with scikit-learn's definitions so results can be compared.
 *
 *     kmeans_options o = kmeans_defaults();        // sklearn's KMeans() settings
 *     o.n_init = 10; o.seed = 1;
 *     kmeans_result *km = kmeans_fit(X, 10, &o);    // X: one sample per row
 *     km->inertia, km->n_iter, km->centers, km->labels
 *     mat y = kmeans_predict(km, Xnew);
 *     kmeans_free(km);
 *
 * Labels are a `mat` vector (n x 1 or 1 x n) of integer values, as idx_read gives them;
 * results hand labels back as n x 1 columns. Inputs may be views with any stride and are
 * never modified. A failing call reports through cairn_error naming itself and the shapes
 * (empty input, k out of range, NaN/Inf with its first row and column, labels of the wrong
 * length) and returns NULL, an empty matrix, NAN or -1. Result structs (kmeans_result)
 * are one accounted block, so %whos reports the memory a result holds. Long fits show a
 * progress bar and stop cleanly at the end of an iteration when the cell is interrupted,
 * keeping the best result so far (`interrupted` is then 1). Seeded calls reseed the
 * session generator, so the same call gives the same numbers every time. */
#ifndef CAIRN_CLUSTER_H
#define CAIRN_CLUSTER_H

#include <stdint.h>
#include "cairn/mat.h"

struct figure;

/* ---- k-means ---- */

enum kmeans_algorithm {
    KMEANS_AUTO = 0,   /* Hamerly's bounds: the same iterations as Lloyd, most distances skipped */
    KMEANS_LLOYD = 1,  /* every distance every iteration (BLAS, row chunks) */
    KMEANS_HAMERLY = 2
};

/** Settings of kmeans_fit; kmeans_defaults() gives scikit-learn's KMeans() values. */
typedef struct kmeans_options {
    int n_init;        /* k-means++ restarts, the lowest inertia wins (0: 1) */
    int max_iter;      /* iterations per run (0: 300) */
    double tol;        /* sklearn's tol: stop when the squared centre shift <= tol * mean feature variance */
    uint64_t seed;     /* reseeds the session generator */
    int algorithm;     /* enum kmeans_algorithm */
    int progress;      /* 1: show a progress bar */
    mat init;          /* k x d initial centres (n_init becomes 1), or empty for k-means++ */
} kmeans_options;

/** A k-means fit: one accounted block (free with kmeans_free). */
typedef struct kmeans_result {
    mat centers;         /* k x d cluster centres (image shape of X's rows kept) */
    mat labels;          /* n x 1 cluster of every sample, 0..k-1 */
    mat inertia_history; /* 1 x n_iter: inertia of the best run at each iteration */
    double inertia;      /* sum of squared distances of the samples to their centres */
    int n_iter;          /* iterations of the best run */
    int k;
    int n_init_done;     /* runs completed (fewer than n_init when interrupted) */
    int interrupted;     /* 1 when the user stopped the fit: the result is the best so far */
} kmeans_result;

/** scikit-learn's KMeans() settings: n_init 10, max_iter 300, tol 1e-4, seed 0, progress bar on. */
kmeans_options kmeans_defaults(void);

/** Fit k-means to the rows of X (k-means++ init, Lloyd iterations with Hamerly's bounds); opt NULL = defaults. */
kmeans_result *kmeans_fit(mat X, int k, const kmeans_options *opt);

/** k-means with default settings and a seed: kmeans_fit(X, k, &{defaults, seed}). */
kmeans_result *kmeans(mat X, int k, uint64_t seed);

/** Nearest centre of every row of X (n x 1 labels). */
mat kmeans_predict(const kmeans_result *km, mat X);

/** Euclidean distance of every row of X to every centre (n x k), as sklearn's KMeans.transform. */
mat kmeans_transform(const kmeans_result *km, mat X);

/** Release a k-means result (NULL is ignored). */
void kmeans_free(kmeans_result *km);

/** k-means++ seeding as scikit-learn does it (greedy, 2 + ln k trials per centre): k x d initial centres. */
mat kmeans_plusplus(mat X, int k, uint64_t seed);

/** Sum of squared distances of the rows of X to the centres their labels name. */
double kmeans_inertia(mat X, mat centers, mat labels);

/* ---- mini-batch k-means ---- */

/** Settings of minibatch_kmeans_fit; minibatch_defaults() gives scikit-learn's MiniBatchKMeans() values. */
typedef struct minibatch_options {
    int batch_size;            /* rows per step (0: 1024) */
    int n_init;                /* k-means++ inits on random subsets, the best on a validation subset (0: 1) */
    int max_iter;              /* passes over the data (0: 100) */
    double tol;                /* > 0: stop when the squared centre shift <= tol * mean feature variance */
    int max_no_improvement;    /* stop after this many steps without a better smoothed inertia (0: never) */
    double reassignment_ratio; /* centres with fewer than this share of the largest count move to random samples */
    uint64_t seed;             /* reseeds the session generator */
    int progress;              /* 1: show a progress bar */
} minibatch_options;

/** scikit-learn's MiniBatchKMeans() settings: batch 1024, n_init 3, max_iter 100, tol 0, 10 steps, ratio 0.01. */
minibatch_options minibatch_defaults(void);

/** Mini-batch k-means (sklearn's update and reassignment rules); inertia_history holds the mean batch inertia per step. */
kmeans_result *minibatch_kmeans_fit(mat X, int k, const minibatch_options *opt);

/* ---- choosing k, and figures ---- */

/** Inertia of kmeans_fit for every k in k_min..k_max: an r x 2 table [k, inertia] (opt NULL = defaults). */
mat kmeans_elbow(mat X, int k_min, int k_max, const kmeans_options *opt);

/** The elbow curve (inertia against k) of a kmeans_elbow table. */
struct figure *kmeans_plot_elbow(mat elbow);

/** Samples on their first two principal axes coloured by labels, with the centres of km (may be NULL) as crosses. */
struct figure *kmeans_plot_clusters(mat X, mat labels, const kmeans_result *km);

/** The centres as an image grid (rows with an image shape; a heatmap otherwise), captioned with cluster sizes. */
struct figure *kmeans_plot_centers(const kmeans_result *km, int ncols);

/** The confusion matrix of two label vectors as a figure with counts, titled with the accuracy; names may be NULL. */
struct figure *metric_plot_confusion(mat y_true, mat y_pred, const char *const *names);

/* ---- metrics between labelings and of a clustering ---- */

/** Adjusted Rand index of two labelings (1 = identical up to renaming, ~0 = chance). */
double metric_adjusted_rand(mat labels_true, mat labels_pred);

/** Normalized mutual information of two labelings (arithmetic mean normalization, sklearn's default). */
double metric_nmi(mat labels_true, mat labels_pred);

/** Mean silhouette coefficient of a clustering (Euclidean, exact: O(n²) distances in BLAS chunks). */
double metric_silhouette(mat X, mat labels);

/** Silhouette coefficient of a seeded random subset of sample_size rows (sklearn's sample_size), for large n. */
double metric_silhouette_sampled(mat X, mat labels, int sample_size, uint64_t seed);

/** Silhouette coefficient of every sample (n x 1). */
mat metric_silhouette_samples(mat X, mat labels);

/** Davies–Bouldin index of a clustering (lower is better). */
double metric_davies_bouldin(mat X, mat labels);

/** Calinski–Harabasz index (variance ratio) of a clustering (higher is better). */
double metric_calinski_harabasz(mat X, mat labels);

/** Fraction of equal entries of two label vectors. */
double metric_accuracy(mat y_true, mat y_pred);

/** Confusion matrix C (c x c, rows = true class, columns = predicted) over the sorted classes of both vectors. */
mat metric_confusion(mat y_true, mat y_pred);

/** Per-class precision, recall, F1 and support (c x 4) over the sorted classes of both vectors (0 where undefined). */
mat metric_precision_recall_f1(mat y_true, mat y_pred);

/** scikit-learn's classification_report as text (names NULL or one per class; digits e.g. 2); free() it. */
char *classification_report_text(mat y_true, mat y_pred, const char *const *names, int digits);

/** The classification report as an HTML table; free() it. */
char *classification_report_html(mat y_true, mat y_pred, const char *const *names, int digits);

/** Show the classification report in the notebook (text/plain and text/html). */
void classification_report(mat y_true, mat y_pred, const char *const *names);

/* ---- k-nearest neighbours (brute force, Euclidean; the training data is used in place) ---- */

enum knn_weights {
    KNN_UNIFORM = 0,  /* every neighbour votes 1 */
    KNN_DISTANCE = 1  /* votes weigh 1 / distance (exact matches alone when there are some) */
};

/** Distances (q x k, ascending) and row indices (q x k) of the k nearest rows of X_train to each query row; 0 or -1. */
int knn_kneighbors(mat X_train, mat X_query, int k, mat *distances, mat *indices);

/** Class of each query row (q x 1) by a vote of its k nearest training rows (weights: KNN_UNIFORM or KNN_DISTANCE). */
mat knn_classify(mat X_train, mat y_train, mat X_query, int k, int weights);

/** Class probabilities (q x c, columns = sorted classes of y_train) from the k nearest training rows. */
mat knn_predict_proba(mat X_train, mat y_train, mat X_query, int k, int weights);

/** Mean (or 1/distance-weighted mean) target of the k nearest training rows of each query row (q x 1). */
mat knn_regress(mat X_train, mat y_train, mat X_query, int k, int weights);

/* ---- data preparation ---- */

/** Seeded shuffle split: ceil(test_size·n) test rows, the rest train; stratify keeps class shares (y needed); 0 or -1. */
int train_test_split(mat X, mat y, double test_size, uint64_t seed, int stratify, mat *X_train, mat *X_test,
                     mat *y_train, mat *y_test);

/** Column means and scales of a fitted standardisation (sklearn's StandardScaler). */
typedef struct scaler_model {
    mat mean;  /* 1 x d */
    mat scale; /* 1 x d population standard deviations (1 for constant columns) */
} scaler_model;

/** Fit a standardisation to the rows of X (fit on the train part only). */
scaler_model scaler_fit(mat X);

/** (X − mean) / scale with a fitted scaler (apply to train and test parts alike). */
mat scaler_transform(scaler_model s, mat X);

/** Z · scale + mean: back to the original units. */
mat scaler_inverse_transform(scaler_model s, mat Z);

/** Release the matrices of a scaler. */
void scaler_free(scaler_model *s);

#endif
