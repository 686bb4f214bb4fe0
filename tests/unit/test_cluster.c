/* test_cluster.c — k-means (Lloyd and Hamerly, k-means++, relocation of empty clusters,
 * predict/transform), mini-batch k-means, the elbow table and the figures, KNN,
 * train/test split, the scaler, clustering and classification metrics and the report, against scikit-learn
 * references made by tests/fixtures/gen_cluster_fixtures.py; identities (inertia equals
 * the brute-force sum, seeded runs are bit-identical, strided views give the same
 * result); every error names the function and the shapes and returns an empty result;
 * no runtime block is leaked. */
#include "cairn.h"
#include "check.h"
#include "../../runtime/cluster/cluster_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void nn_parallel_enable(int on); /* runtime/nn: 0 runs every job on the calling thread */

static mat load(const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/cluster_%s.npy", FIXTURES_DIR, name);
    mat m = npy_read(path);
    if (mat_is_empty(m))
        fprintf(stderr, "cannot load fixture %s: %s\n", path, cairn_last_error());
    return m;
}

static double scalar(const char *name)
{
    mat m = load(name);
    double v = mat_is_empty(m) ? NAN : m.data[0];
    mat_free(&m);
    return v;
}

/* Largest |a - b| over all elements, read in row-major order (any vector orientation). */
static double max_diff(mat a, mat b)
{
    if ((long)a.rows * a.cols != (long)b.rows * b.cols || mat_is_empty(a))
        return INFINITY;
    double d = 0;
    for (int k = 0; k < a.rows * a.cols; k++) {
        double x = *mat_ptr(a, k / a.cols, k % a.cols), y = *mat_ptr(b, k / b.cols, k % b.cols);
        if (!(fabs(x - y) <= d))
            d = x != x || y != y ? INFINITY : fabs(x - y);
    }
    return d;
}

static int error_mentions(const char *a, const char *b)
{
    const char *e = cairn_last_error();
    int ok = strstr(e, a) != NULL && (!b || strstr(e, b) != NULL);
    if (!ok)
        fprintf(stderr, "  last error was: %s\n", e);
    return ok;
}

static double brute_inertia(mat X, mat C, mat labels)
{
    double s = 0;
    for (int i = 0; i < X.rows; i++) {
        int a = (int)labels.data[i];
        for (int j = 0; j < X.cols; j++) {
            double e = *mat_ptr(X, i, j) - *mat_ptr(C, a, j);
            s += e * e;
        }
    }
    return s;
}

static kmeans_options quiet(void)
{
    kmeans_options o = kmeans_defaults();
    o.progress = 0;
    return o;
}

static void test_blobs(void)
{
    mat X = load("blobs_X"), y = load("blobs_y");
    double ref = scalar("blobs_inertia");
    kmeans_options o = quiet();
    o.seed = 5;
    kmeans_result *km = kmeans_fit(X, 4, &o);
    CHECK(km && km->k == 4 && km->centers.rows == 4 && km->centers.cols == 5 && km->labels.rows == 300);
    CHECK(km && km->n_init_done == 10 && !km->interrupted);
    CHECK(km && metric_adjusted_rand(y, km->labels) == 1.0);
    CHECK(km && metric_nmi(y, km->labels) == 1.0);
    CHECK_NEAR(km ? km->inertia : NAN, ref, 1e-10);
    CHECK_NEAR(km ? brute_inertia(X, km->centers, km->labels) : NAN, km ? km->inertia : NAN, 1e-12);
    CHECK_NEAR(km ? kmeans_inertia(X, km->centers, km->labels) : NAN, km ? km->inertia : NAN, 1e-12);
    /* the history ends at the final inertia and never increases */
    int mono = km && km->inertia_history.cols == km->n_iter;
    for (int i = 1; km && i < km->inertia_history.cols; i++)
        mono &= km->inertia_history.data[i] <= km->inertia_history.data[i - 1] * (1 + 1e-12);
    CHECK(mono);
    /* %whos: the whole result is one accounted block */
    CHECK(km && cairn_alloc_size(km) >= sizeof *km + (4 * 5 + 300) * sizeof(double));
    /* seeded runs are bit-identical, Lloyd and Hamerly agree */
    kmeans_result *again = kmeans_fit(X, 4, &o);
    o.algorithm = KMEANS_LLOYD;
    kmeans_result *lloyd = kmeans_fit(X, 4, &o);
    CHECK(km && again && again->inertia == km->inertia && max_diff(again->centers, km->centers) == 0 &&
          max_diff(again->labels, km->labels) == 0);
    CHECK(km && lloyd && max_diff(lloyd->labels, km->labels) == 0 && max_diff(lloyd->centers, km->centers) < 1e-12);
    /* the convenience call is the default fit */
    kmeans_result *conv = kmeans(X, 4, 5);
    CHECK(conv && km && conv->inertia == km->inertia);
    kmeans_free(km);
    kmeans_free(again);
    kmeans_free(lloyd);
    kmeans_free(conv);
    mat_free(&X);
    mat_free(&y);
}

/* Lloyd from fixed centres: every iteration as scikit-learn's, for both algorithms. */
static void test_lloyd(const char *tag, double tol, int max_iter)
{
    char name[64];
    mat X = load("lloyd_X"), init = load("lloyd_init");
#define REF(what) (snprintf(name, sizeof name, "lloyd_%s_%s", tag, what), load(name))
    mat C = REF("centers"), L = REF("labels"), It = REF("inertia"), N = REF("n_iter"), H = REF("history");
#undef REF
    for (int alg = KMEANS_LLOYD; alg <= KMEANS_HAMERLY; alg++) {
        kmeans_options o = quiet();
        o.init = init;
        o.tol = tol;
        o.max_iter = max_iter;
        o.algorithm = alg;
        o.n_init = 7; /* ignored with init */
        kmeans_result *km = kmeans_fit(X, 6, &o);
        CHECK(km != NULL);
        if (!km)
            continue;
        CHECK(km->n_init_done == 1);
        CHECK(max_diff(km->labels, L) == 0);
        CHECK(max_diff(km->centers, C) < 1e-9);
        CHECK_NEAR(km->inertia, It.data[0], 1e-11);
        CHECK(km->n_iter == (int)N.data[0]);
        CHECK(km->inertia_history.cols == H.cols * H.rows && max_diff(km->inertia_history, H) < 1e-9 * H.data[0]);
        kmeans_free(km);
    }
    mat *all[] = {&X, &init, &C, &L, &It, &N, &H};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        mat_free(all[i]);
}

static void test_predict_transform(void)
{
    mat X = load("lloyd_X"), init = load("lloyd_init"), Q = load("lloyd_new");
    mat P = load("lloyd_predict"), T = load("lloyd_transform");
    kmeans_options o = quiet();
    o.init = init;
    o.tol = 0;
    kmeans_result *km = kmeans_fit(X, 6, &o);
    mat p = kmeans_predict(km, Q), t = kmeans_transform(km, Q);
    CHECK(p.rows == 40 && p.cols == 1 && max_diff(p, P) == 0);
    CHECK(t.rows == 40 && t.cols == 6 && max_diff(t, T) < 1e-9);
    /* predicting the training rows gives the fitted labels */
    mat self = kmeans_predict(km, X);
    CHECK(max_diff(self, km->labels) == 0);
    /* a strided view gives the same answer as a contiguous copy */
    mat wide = mat_hcat(Q, Q);
    mat view = mat_block(wide, 0, 3, 40, 3);
    mat pv = kmeans_predict(km, view);
    CHECK(view.stride == 6 && max_diff(pv, P) == 0);
    /* errors */
    mat bad = kmeans_predict(km, mat_block(wide, 0, 0, 40, 4));
    CHECK(mat_is_empty(bad) && error_mentions("kmeans_predict", "X is 40 x 4 but the centres have 3 features"));
    bad = kmeans_transform(NULL, Q);
    CHECK(mat_is_empty(bad) && error_mentions("kmeans_transform", "NULL"));
    kmeans_free(km);
    mat *all[] = {&X, &init, &Q, &P, &T, &p, &t, &self, &wide, &pv};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        mat_free(all[i]);
}

static void test_empty_cluster(void)
{
    mat X = load("empty_X"), init = load("empty_init"), C = load("empty_centers"), L = load("empty_labels");
    double inertia = scalar("empty_inertia");
    for (int alg = KMEANS_LLOYD; alg <= KMEANS_HAMERLY; alg++) {
        kmeans_options o = quiet();
        o.init = init;
        o.tol = 0;
        o.algorithm = alg;
        kmeans_result *km = kmeans_fit(X, 3, &o);
        CHECK(km && max_diff(km->labels, L) == 0 && max_diff(km->centers, C) < 1e-12);
        CHECK_NEAR(km ? km->inertia : NAN, inertia, 1e-12);
        kmeans_free(km);
    }
    mat_free(&X);
    mat_free(&init);
    mat_free(&C);
    mat_free(&L);
}

/* k-means++ potentials fall in scikit-learn's distribution over seeds. */
static void test_plusplus(void)
{
    mat X = load("lloyd_X"), pots = load("kpp_potentials");
    int np = pots.rows * pots.cols;
    double lo = pots.data[0], hi = pots.data[np - 1], ref_mean = 0;
    for (int i = 0; i < np; i++)
        ref_mean += pots.data[i];
    ref_mean /= np;
    double mean = 0;
    int inside = 1, runs = 60;
    for (int s = 0; s < runs; s++) {
        mat C = kmeans_plusplus(X, 6, (uint64_t)s);
        mat lab = mat_zeros(X.rows, 1);
        for (int i = 0; i < X.rows; i++) { /* nearest chosen centre, brute force */
            double best = INFINITY;
            for (int j = 0; j < 6; j++) {
                double d = 0;
                for (int t = 0; t < 3; t++)
                    d += pow(*mat_ptr(X, i, t) - *mat_ptr(C, j, t), 2);
                if (d < best) {
                    best = d;
                    lab.data[i] = j;
                }
            }
        }
        double p = brute_inertia(X, C, lab);
        inside &= p >= 0.9 * lo && p <= 1.1 * hi;
        mean += p / runs;
        if (s == 0) { /* seeded: the same centres again, and they are rows of X */
            mat C2 = kmeans_plusplus(X, 6, 0);
            CHECK(max_diff(C, C2) == 0);
            int rows_of_x = 1;
            for (int j = 0; j < 6; j++) {
                int found = 0;
                for (int i = 0; i < X.rows && !found; i++)
                    found = memcmp(mat_ptr(X, i, 0), mat_ptr(C, j, 0), 3 * sizeof(double)) == 0;
                rows_of_x &= found;
            }
            CHECK(rows_of_x);
            mat_free(&C2);
        }
        mat_free(&C);
        mat_free(&lab);
    }
    CHECK(inside);
    CHECK(fabs(mean - ref_mean) < 0.1 * ref_mean);
    mat_free(&X);
    mat_free(&pots);
}

static void test_kmeans_errors(void)
{
    mat X = load("blobs_X");
    kmeans_options o = quiet();
    CHECK(kmeans_fit(X, 0, &o) == NULL && error_mentions("kmeans_fit", "k = 0 must be in 1..300"));
    CHECK(kmeans_fit(X, 301, &o) == NULL && error_mentions("kmeans_fit", "X, 300 x 5"));
    CHECK(kmeans_fit(mat_empty(), 3, &o) == NULL && error_mentions("kmeans_fit", "X is empty (0 x 0)"));
    mat bad = mat_copy(X);
    *mat_ptr(bad, 17, 3) = NAN;
    CHECK(kmeans_fit(bad, 3, &o) == NULL && error_mentions("kmeans_fit", "NaN at row 17, column 3"));
    *mat_ptr(bad, 17, 3) = 1;
    *mat_ptr(bad, 250, 0) = -INFINITY;
    CHECK(kmeans_fit(bad, 3, &o) == NULL && error_mentions("kmeans_fit", "Inf at row 250, column 0"));
    mat_free(&bad);
    o.init = mat_zeros(3, 4);
    CHECK(kmeans_fit(X, 3, &o) == NULL && error_mentions("kmeans_fit", "init is 3 x 4"));
    mat_free(&o.init);
    o.init = mat_empty();
    o.tol = -1;
    CHECK(kmeans_fit(X, 3, &o) == NULL && error_mentions("kmeans_fit", "tol = -1"));
    CHECK(mat_is_empty(kmeans_plusplus(X, 0, 1)) && error_mentions("kmeans_plusplus", "k = 0"));
    mat lab = mat_zeros(299, 1);
    CHECK(isnan(kmeans_inertia(X, mat_block(X, 0, 0, 2, 5), lab)) && error_mentions("kmeans_inertia", "299"));
    mat_free(&lab);
    /* k = 1 and k = n are valid */
    o.tol = 1e-4;
    kmeans_result *one = kmeans_fit(X, 1, &o);
    mat mean = mat_mean(X, 0);
    CHECK(one && max_diff(one->centers, mean) < 1e-12);
    mat small = mat_row_range(X, 0, 5);
    kmeans_result *all = kmeans_fit(small, 5, &o);
    CHECK(all && all->inertia == 0);
    kmeans_free(one);
    kmeans_free(all);
    mat_free(&mean);
    mat_free(&X);
}

static void test_metrics(void)
{
    mat a = load("lab_a"), b = load("lab_b"), c = load("lab_c");
    CHECK_NEAR(metric_adjusted_rand(a, b), scalar("ari"), 1e-12);
    CHECK_NEAR(metric_nmi(a, b), scalar("nmi"), 1e-12);
    CHECK_NEAR(metric_accuracy(a, c), scalar("accuracy"), 1e-15);
    mat C = metric_confusion(a, c), Cref = load("confusion");
    CHECK(C.rows == 5 && C.cols == 5 && max_diff(C, Cref) == 0);
    mat Cab = metric_confusion(a, b), Cabref = load("confusion_ab");
    CHECK(Cab.rows == Cabref.rows && max_diff(Cab, Cabref) == 0);
    /* identities: a labeling against itself, renamed */
    mat renamed = mat_scale(a, -7);
    CHECK(metric_adjusted_rand(a, renamed) == 1.0 && fabs(metric_nmi(a, renamed) - 1) < 1e-15);
    /* a row vector works like a column */
    mat at = mat_transpose(a);
    CHECK_NEAR(metric_adjusted_rand(at, b), scalar("ari"), 1e-12);
    /* sklearn's edge cases: one cluster each → NMI 1; one vs many → 0 */
    mat ones = mat_ones(10, 1), seq = mat_arange(0, 10, 1);
    CHECK(metric_nmi(ones, ones) == 1.0 && metric_nmi(ones, seq) == 0.0 && metric_adjusted_rand(ones, ones) == 1.0);
    /* errors */
    mat short_b = mat_row_range(b, 0, 150);
    CHECK(isnan(metric_adjusted_rand(a, short_b)) && error_mentions("metric_adjusted_rand", "labels_pred has 150 entries"));
    mat half = mat_full(200, 1, 0.5);
    CHECK(isnan(metric_nmi(a, half)) && error_mentions("metric_nmi", "labels_pred[0] = 0.5"));
    CHECK(isnan(metric_accuracy(a, short_b)) && error_mentions("metric_accuracy", "y_pred 150"));
    CHECK(mat_is_empty(metric_confusion(a, mat_empty())) && error_mentions("metric_confusion", "empty"));
    mat *all[] = {&a, &b, &c, &C, &Cref, &Cab, &Cabref, &renamed, &at, &ones, &seq, &half};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        mat_free(all[i]);
}

static void test_silhouette(void)
{
    mat X = load("lloyd_X"), L = load("lloyd_tol0_labels"), S = load("silhouette_samples");
    CHECK_NEAR(metric_silhouette(X, L), scalar("silhouette"), 1e-9);
    mat s = metric_silhouette_samples(X, L);
    CHECK(s.rows == 500 && max_diff(s, S) < 1e-9);
    mat L2 = mat_copy(L);
    L2.data[0] = 9;
    CHECK_NEAR(metric_silhouette(X, L2), scalar("silhouette_single"), 1e-9);
    /* sampled: all rows is the exact value; a subset is seeded and close */
    CHECK_NEAR(metric_silhouette_sampled(X, L, 500, 3), scalar("silhouette"), 1e-9);
    double s1 = metric_silhouette_sampled(X, L, 200, 3), s2 = metric_silhouette_sampled(X, L, 200, 3);
    CHECK(s1 == s2 && fabs(s1 - scalar("silhouette")) < 0.05);
    /* very many clusters take the row-block path: the brute-force definition */
    mat big = load("mb_X");
    mat Xb = mat_row_range(big, 0, 5000), lb = mat_alloc(5000, 1);
    for (int i = 0; i < 5000; i++)
        lb.data[i] = i % 4000; /* 1000 pairs and 3000 singletons */
    double brute = 0;
    for (int i = 0; i < 1000; i++) { /* singletons score 0; a pair (i, i + 4000) has a = d(i, j) */
        for (int side = 0; side < 2; side++) {
            int me = side ? i + 4000 : i, mate = side ? i : i + 4000;
            double a = 0, b = INFINITY;
            for (int t = 0; t < 8; t++)
                a += pow(*mat_ptr(Xb, me, t) - *mat_ptr(Xb, mate, t), 2);
            a = sqrt(a);
            double sum[4000] = {0};
            static double size_of[4000];
            for (int j = 0; j < 4000; j++)
                size_of[j] = j < 1000 ? 2 : 1;
            for (int j = 0; j < 5000; j++) {
                double d = 0;
                for (int t = 0; t < 8; t++)
                    d += pow(*mat_ptr(Xb, me, t) - *mat_ptr(Xb, j, t), 2);
                sum[j % 4000] += sqrt(d);
            }
            for (int q = 0; q < 4000; q++)
                if (q != i && sum[q] / size_of[q] < b)
                    b = sum[q] / size_of[q];
            brute += (b - a) / fmax(a, b);
        }
    }
    CHECK_NEAR(metric_silhouette(Xb, lb), brute / 5000, 1e-9);
    mat_free(&big);
    mat_free(&lb);
    /* errors */
    mat one = mat_zeros(500, 1);
    CHECK(isnan(metric_silhouette(X, one)) && error_mentions("metric_silhouette", "1 clusters for 500 samples"));
    CHECK(isnan(metric_silhouette_sampled(X, L, 1, 0)) && error_mentions("metric_silhouette_sampled", "sample_size = 1"));
    mat_free(&one);
    mat_free(&X);
    mat_free(&L);
    mat_free(&L2);
    mat_free(&S);
    mat_free(&s);
}

/* ---- neighbours, split, scaler, report ---- */

static mat fashion(const char *file, int rows)
{
    char path[512];
    snprintf(path, sizeof path, "/usr/share/datasets/fashion-mnist/%s", file);
    mat all = idx_read(path);
    if (mat_is_empty(all))
        return all;
    mat part = mat_copy(mat_row_range(all, 0, rows));
    if (part.cols > 1)
        mat_scale_inplace(part, 1.0 / 255);
    mat_free(&all);
    return part;
}

static void test_knn(void)
{
    mat Xtr = fashion("train-images-idx3-ubyte.gz", 3000), ytr = fashion("train-labels-idx1-ubyte.gz", 3000);
    mat Xte = fashion("t10k-images-idx3-ubyte.gz", 500), yte = fashion("t10k-labels-idx1-ubyte.gz", 500);
    const char *w_names[] = {"uniform", "distance"};
    for (int w = KNN_UNIFORM; w <= KNN_DISTANCE; w++) {
        char name[64];
        snprintf(name, sizeof name, "knn_%s_pred", w_names[w]);
        mat ref = load(name);
        snprintf(name, sizeof name, "knn_%s_proba", w_names[w]);
        mat pref = load(name);
        snprintf(name, sizeof name, "knn_%s_accuracy", w_names[w]);
        double acc_ref = scalar(name);
        mat pred = knn_classify(Xtr, ytr, Xte, 5, w);
        mat proba = knn_predict_proba(Xtr, ytr, Xte, 5, w);
        CHECK(pred.rows == 500 && max_diff(pred, ref) == 0);
        CHECK(proba.rows == 500 && proba.cols == 10 && max_diff(proba, pref) < 1e-9);
        CHECK_NEAR(metric_accuracy(yte, pred), acc_ref, 1e-15);
        mat_free(&ref);
        mat_free(&pref);
        mat_free(&pred);
        mat_free(&proba);
    }
    mat D, I, Dref = load("knn_dist"), Iref = load("knn_ind");
    CHECK(knn_kneighbors(Xtr, mat_row_range(Xte, 0, 20), 5, &D, &I) == 0);
    CHECK(D.rows == 20 && D.cols == 5 && max_diff(D, Dref) < 1e-9 && max_diff(I, Iref) == 0);
    /* a training row is its own nearest neighbour at distance 0 */
    mat D0, I0;
    CHECK(knn_kneighbors(Xtr, mat_row_range(Xtr, 7, 1), 1, &D0, &I0) == 0 && I0.data[0] == 7 && D0.data[0] == 0);
    /* errors */
    mat bad = knn_classify(Xtr, ytr, mat_block(Xte, 0, 0, 10, 700), 5, KNN_UNIFORM);
    CHECK(mat_is_empty(bad) && error_mentions("knn_classify", "X_query is 10 x 700"));
    bad = knn_classify(Xtr, mat_row_range(ytr, 0, 100), Xte, 5, KNN_UNIFORM);
    CHECK(mat_is_empty(bad) && error_mentions("knn_classify", "y_train has 100 entries"));
    bad = knn_classify(Xtr, ytr, Xte, 0, KNN_UNIFORM);
    CHECK(mat_is_empty(bad) && error_mentions("knn_classify", "k = 0 must be in 1..3000"));
    bad = knn_predict_proba(Xtr, ytr, Xte, 5, 7);
    CHECK(mat_is_empty(bad) && error_mentions("knn_predict_proba", "weights = 7"));
    mat_free(&D0);
    CHECK(knn_kneighbors(mat_empty(), Xte, 5, &D0, NULL) == -1 && mat_is_empty(D0) &&
          error_mentions("knn_kneighbors", "X_train is empty"));
    mat *all[] = {&Xtr, &ytr, &Xte, &yte, &D, &I, &Dref, &Iref, &D0, &I0};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        mat_free(all[i]);

    mat X = load("reg_X"), y = load("reg_y"), Q = load("reg_Q"), ru = load("reg_uniform"), rd = load("reg_distance");
    mat pu = knn_regress(X, y, Q, 4, KNN_UNIFORM), pd = knn_regress(X, y, Q, 4, KNN_DISTANCE);
    CHECK(pu.rows == 30 && max_diff(pu, ru) < 1e-12);
    CHECK(pd.rows == 30 && max_diff(pd, rd) < 1e-12);
    mat *r[] = {&X, &y, &Q, &ru, &rd, &pu, &pd};
    for (size_t i = 0; i < sizeof r / sizeof *r; i++)
        mat_free(r[i]);
}

static void test_split(void)
{
    mat X = load("mb_X"); /* 6000 x 8 */
    mat y = mat_alloc(6000, 1);
    for (int i = 0; i < 6000; i++)
        y.data[i] = i < 600 ? 0 : i < 2400 ? 1 : 2; /* shares 10 %, 30 %, 60 % */
    mat a, b, ya, yb;
    CHECK(train_test_split(X, y, 0.25, 3, 0, &a, &b, &ya, &yb) == 0);
    CHECK(a.rows == 4500 && b.rows == 1500 && a.cols == 8 && ya.rows == 4500 && yb.rows == 1500);
    /* every row lands in exactly one part, with its label */
    double sum = 0, sum_ref = 0;
    for (int i = 0; i < 6000; i++)
        sum_ref += *mat_ptr(X, i, 0) * (1 + y.data[i]);
    for (int i = 0; i < a.rows; i++)
        sum += *mat_ptr(a, i, 0) * (1 + ya.data[i]);
    for (int i = 0; i < b.rows; i++)
        sum += *mat_ptr(b, i, 0) * (1 + yb.data[i]);
    CHECK(fabs(sum - sum_ref) < 1e-9 * fabs(sum_ref));
    /* seeded: the same split again */
    mat a2, b2;
    CHECK(train_test_split(X, y, 0.25, 3, 0, &a2, &b2, NULL, NULL) == 0 && max_diff(a, a2) == 0 && max_diff(b, b2) == 0);
    mat_free(&a2);
    mat_free(&b2);
    mat_free(&a);
    mat_free(&b);
    mat_free(&ya);
    mat_free(&yb);
    /* stratified: the test part keeps the class shares exactly (150, 450, 900 of 1500) */
    CHECK(train_test_split(X, y, 0.25, 4, 1, &a, &b, &ya, &yb) == 0);
    int cnt[3] = {0, 0, 0};
    for (int i = 0; i < yb.rows; i++)
        cnt[(int)yb.data[i]]++;
    CHECK(cnt[0] == 150 && cnt[1] == 450 && cnt[2] == 900);
    /* ceil like sklearn: 0.1 of 6000 rows would be 600, 0.10001 gives 601 */
    mat_free(&a);
    mat_free(&b);
    mat_free(&ya);
    mat_free(&yb);
    CHECK(train_test_split(X, mat_empty(), 0.10001, 1, 0, &a, &b, &ya, &yb) == 0 && b.rows == 601 && a.rows == 5399 &&
          mat_is_empty(ya));
    mat_free(&a);
    mat_free(&b);
    /* errors */
    CHECK(train_test_split(X, y, 1.5, 1, 0, &a, &b, &ya, &yb) == -1 && mat_is_empty(a) &&
          error_mentions("train_test_split", "test_size = 1.5"));
    CHECK(train_test_split(X, mat_row_range(y, 0, 10), 0.2, 1, 0, &a, &b, &ya, &yb) == -1 &&
          error_mentions("train_test_split", "y has 10 entries"));
    CHECK(train_test_split(X, mat_empty(), 0.2, 1, 1, &a, &b, &ya, &yb) == -1 &&
          error_mentions("train_test_split", "stratify needs the labels"));
    mat_free(&X);
    mat_free(&y);
}

static void test_scaler(void)
{
    mat S = load("scale_X"), T = load("scale_T"), M = load("scale_mean"), Sc = load("scale_scale"), R = load("scale_T_out");
    scaler_model s = scaler_fit(S);
    CHECK(max_diff(s.mean, M) < 1e-12 && max_diff(s.scale, Sc) < 1e-12);
    CHECK(s.scale.data[3] == 1.0); /* the constant column is only centered */
    mat Z = scaler_transform(s, T);
    CHECK(max_diff(Z, R) < 1e-12);
    mat back = scaler_inverse_transform(s, Z);
    CHECK(max_diff(back, T) < 1e-12);
    mat bad = scaler_transform(s, mat_block(S, 0, 0, 5, 3));
    CHECK(mat_is_empty(bad) && error_mentions("scaler_transform", "X is 5 x 3 but the scaler was fitted on 4 columns"));
    scaler_free(&s);
    mat *all[] = {&S, &T, &M, &Sc, &R, &Z, &back};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        mat_free(all[i]);
}

static char *read_text(const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/cluster_%s", FIXTURES_DIR, name);
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    static char buf[8192];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static void test_report(void)
{
    mat a = load("lab_a"), c = load("lab_c"), P = load("prfs");
    mat prfs = metric_precision_recall_f1(a, c);
    CHECK(prfs.rows == 5 && prfs.cols == 4 && max_diff(prfs, P) < 1e-12);
    const char *names[] = {"T-shirt", "trouser", "pullover", "dress", "coat"};
    char *text = classification_report_text(a, c, names, 2);
    const char *ref = read_text("report.txt");
    CHECK(text && ref && strcmp(text, ref) == 0);
    if (text && ref && strcmp(text, ref) != 0)
        fprintf(stderr, "got:\n%s\nexpected:\n%s\n", text, ref);
    free(text);
    text = classification_report_text(a, c, NULL, 4);
    ref = read_text("report4.txt");
    CHECK(text && ref && strcmp(text, ref) == 0);
    if (text && ref && strcmp(text, ref) != 0)
        fprintf(stderr, "got:\n%s\nexpected:\n%s\n", text, ref);
    free(text);
    char *html = classification_report_html(a, c, names, 2);
    CHECK(html && strstr(html, "<th>pullover</th><td>0.72</td>") && strstr(html, "<th>accuracy</th>"));
    free(html);
    CHECK(classification_report_text(a, mat_empty(), NULL, 2) == NULL &&
          error_mentions("classification_report_text", "empty"));
    mat_free(&a);
    mat_free(&c);
    mat_free(&P);
    mat_free(&prfs);
}

/* ---- mini-batch, elbow, indices, figures ---- */

static void test_indices(void)
{
    mat X = load("lloyd_X"), L = load("lloyd_tol0_labels");
    CHECK_NEAR(metric_davies_bouldin(X, L), scalar("davies_bouldin"), 1e-9);
    CHECK_NEAR(metric_calinski_harabasz(X, L), scalar("calinski_harabasz"), 1e-9);
    mat one = mat_zeros(500, 1);
    CHECK(isnan(metric_davies_bouldin(X, one)) && error_mentions("metric_davies_bouldin", "1 clusters for 500"));
    CHECK(isnan(metric_calinski_harabasz(X, mat_row_range(L, 0, 9))) &&
          error_mentions("metric_calinski_harabasz", "labels has 9 entries"));
    mat_free(&one);
    mat_free(&X);
    mat_free(&L);
}

static void test_minibatch(void)
{
    mat X = load("mb_X"), ref = load("mb_inertias");
    double lo = INFINITY, hi = 0, full = scalar("mb_full_inertia");
    for (int i = 0; i < ref.rows * ref.cols; i++) {
        lo = fmin(lo, ref.data[i]);
        hi = fmax(hi, ref.data[i]);
    }
    minibatch_options o = minibatch_defaults();
    o.progress = 0;
    int inside = 1;
    for (int s = 0; s < 5; s++) {
        o.seed = (uint64_t)s;
        kmeans_result *km = minibatch_kmeans_fit(X, 10, &o);
        CHECK(km != NULL);
        if (!km)
            continue;
        inside &= km->inertia >= 0.99 * lo && km->inertia <= 1.01 * hi && km->inertia >= full * (1 - 1e-9);
        if (!(km->inertia >= 0.99 * lo && km->inertia <= 1.01 * hi))
            fprintf(stderr, "  mini-batch inertia %.6f outside sklearn's [%.6f, %.6f]\n", km->inertia, lo, hi);
        /* labels are the nearest final centres; the inertia is theirs */
        mat p = kmeans_predict(km, X);
        CHECK(max_diff(p, km->labels) == 0);
        CHECK_NEAR(kmeans_inertia(X, km->centers, km->labels), km->inertia, 1e-12);
        CHECK(km->n_iter >= 1 && km->n_iter <= 100 && km->inertia_history.cols >= 1);
        if (s == 0) {
            kmeans_result *again = minibatch_kmeans_fit(X, 10, &o);
            CHECK(again && again->inertia == km->inertia && max_diff(again->centers, km->centers) == 0);
            kmeans_free(again);
        }
        mat_free(&p);
        kmeans_free(km);
    }
    CHECK(inside);
    o.batch_size = 100;
    o.max_no_improvement = 0;
    o.max_iter = 2;
    kmeans_result *km = minibatch_kmeans_fit(X, 10, &o); /* runs all 2 * 6000 / 100 steps */
    CHECK(km && km->inertia_history.cols == 120 && km->n_iter == 2);
    kmeans_free(km);
    /* steps big enough for two threads (1024 rows x 64 features x 10 centres) give the same
     * numbers as one thread: sums are taken in row order either way */
    rng_seed(12);
    mat Y = mat_randn(5000, 64);
    minibatch_options o2 = minibatch_defaults();
    o2.progress = 0;
    o2.max_no_improvement = 0;
    o2.max_iter = 3;
    nn_parallel_enable(0);
    kmeans_result *one = minibatch_kmeans_fit(Y, 10, &o2);
    nn_parallel_enable(1);
    kmeans_result *two = minibatch_kmeans_fit(Y, 10, &o2);
    CHECK(one && two && one->inertia == two->inertia && max_diff(one->centers, two->centers) == 0 &&
          max_diff(one->labels, two->labels) == 0 && one->inertia_history.cols == 14);
    kmeans_free(one);
    kmeans_free(two);
    mat_free(&Y);
    CHECK(minibatch_kmeans_fit(X, 6001, &o) == NULL && error_mentions("minibatch_kmeans_fit", "k = 6001"));
    o.tol = -1;
    CHECK(minibatch_kmeans_fit(X, 3, &o) == NULL && error_mentions("minibatch_kmeans_fit", "tol = -1"));
    mat_free(&X);
    mat_free(&ref);
}

static void test_elbow_and_figures(void)
{
    mat X = load("blobs_X"), y = load("blobs_y");
    kmeans_options o = quiet();
    o.n_init = 3;
    o.seed = 2;
    mat E = kmeans_elbow(X, 1, 6, &o);
    CHECK(E.rows == 6 && E.cols == 2 && E.data[0] == 1 && *mat_ptr(E, 5, 0) == 6);
    int down = 1;
    for (int i = 1; i < E.rows; i++)
        down &= *mat_ptr(E, i, 1) < *mat_ptr(E, i - 1, 1);
    CHECK(down);
    kmeans_result *km = kmeans_fit(X, 4, &o);
    CHECK(km && *mat_ptr(E, 3, 1) == km->inertia);
    CHECK(mat_is_empty(kmeans_elbow(X, 3, 2, &o)) && error_mentions("kmeans_elbow", "k from 3 to 2"));

    figure *f = kmeans_plot_elbow(E);
    CHECK(f && strstr(plot_describe(f), "line"));
    plot_free(f);
    f = kmeans_plot_clusters(X, km->labels, km);
    CHECK(f && strstr(plot_describe(f), "scatter"));
    size_t png = 0;
    unsigned char *bytes = f ? plot_render_png(f, &png) : NULL;
    CHECK(bytes && png > 1000);
    free(bytes);
    plot_free(f);
    f = kmeans_plot_centers(km, 0); /* no image shape: a heatmap */
    CHECK(f && strstr(plot_describe(f), "heatmap"));
    plot_free(f);
    f = metric_plot_confusion(y, km->labels, NULL);
    CHECK(f != NULL);
    plot_free(f);
    CHECK(kmeans_plot_clusters(X, mat_row_range(y, 0, 5), km) == NULL &&
          error_mentions("kmeans_plot_clusters", "labels has 5 entries"));
    CHECK(kmeans_plot_centers(NULL, 3) == NULL && error_mentions("kmeans_plot_centers", "NULL"));
    CHECK(kmeans_plot_elbow(X) == NULL && error_mentions("kmeans_plot_elbow", "300 x 5"));
    kmeans_free(km);

    /* image rows: the centres keep the image shape and draw as a grid */
    mat imgs = fashion("t10k-images-idx3-ubyte.gz", 300);
    mat_set_image_shape(&imgs, 1, 28, 28);
    km = kmeans_fit(imgs, 4, &o);
    CHECK(km && km->centers.height == 28 && km->centers.width == 28);
    f = kmeans_plot_centers(km, 2);
    CHECK(f && plot_axes_count(f) == 4);
    plot_free(f);
    kmeans_free(km);
    mat_free(&imgs);
    mat_free(&E);
    mat_free(&X);
    mat_free(&y);
}

/* The AVX2 and AVX-512 distance kernels against the dgemm path, on sizes with every tail:
 * rows not a multiple of 4, centres not a multiple of 2, features not a multiple of 4 or 8
 * or longer than a chunk of 1024, a row stride wider than the row; one and two threads. */
static void test_distance_kernel(void)
{
    static const int shapes[][3] = {{1, 1, 1}, {3, 1, 3}, {5, 3, 7}, {7, 2, 4}, {9, 5, 33},
                                    {257, 10, 784}, {66, 31, 1031}, {130, 32, 2053}};
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
        int m = shapes[s][0], k = shapes[s][1], d = shapes[s][2], ldx = d + 3;
        rng_seed(40 + s);
        mat X = mat_randn(m, ldx), C = mat_randn(k, d);
        mat_scale_inplace(X, 3);
        mat xv = mat_block(X, 0, 0, m, d);
        double *xn = malloc(sizeof(double) * m), *cn = malloc(sizeof(double) * k);
        double *ref = malloc(sizeof(double) * m * k), *got = malloc(sizeof(double) * m * k);
        cl_row_norms(xv, xn);
        cl_row_norms(C, cn);
        cl_distance_mode(CL_DIST_BLAS);
        cl_sq_distances(X.data, ldx, m, d, xn, C.data, k, cn, ref);
        double worst = 0, scale = 0, brute = 0;
        for (int run = 0; run < 4; run++) { /* AVX2, AVX-512 (when the CPU has them) x 1, 2 threads */
            if (cl_distance_mode(run < 2 ? CL_DIST_AVX2 : CL_DIST_AVX512) < 0)
                continue;
            nn_parallel_enable(run % 2);
            memset(got, 0xff, sizeof(double) * m * k); /* NaN everywhere: every entry must be written */
            cl_sq_distances(X.data, ldx, m, d, xn, C.data, k, cn, got);
            for (int t = 0; t < m * k; t++) {
                worst = fmax(worst, fabs(got[t] - ref[t]));
                worst = got[t] == got[t] ? worst : INFINITY;
                scale = fmax(scale, ref[t]);
            }
        }
        nn_parallel_enable(1);
        cl_distance_mode(-1);
        /* and the reference itself against the definition, for the last pair */
        for (int t = 0; t < d; t++) {
            double e = *mat_ptr(X, m - 1, t) - *mat_ptr(C, k - 1, t);
            brute += e * e;
        }
        CHECK(worst <= 1e-12 * scale);
        CHECK(fabs(ref[(size_t)m * k - 1] - brute) <= 1e-12 * scale);
        free(xn);
        free(cn);
        free(ref);
        free(got);
        mat_free(&X);
        mat_free(&C);
    }
}

/* The neighbours from projection bounds (knn_bounds.c) against brute force. The data are
 * integers far from the origin: every distance is exact in both paths (products and sums of
 * integers below 2^53), so the results must agree to the last bit, many distances tie
 * (ties keep the earlier row), rows 100..199 repeat rows 0..99, and the bounds, whose
 * projections are not integers, see rounding at 1000 from the origin. X is a strided view;
 * k goes up to the bounded path's limit and past it (where both are brute force). */
static void test_knn_bounds(void)
{
    int n = 3000, d = 40, q = 150;
    rng_seed(77);
    mat W = mat_randn(n, d + 5), Q = mat_randn(q, d);
    for (int i = 0; i < n; i++)
        for (int t = 0; t < d + 5; t++)
            *mat_ptr(W, i, t) = 1000 + round((t < 6 ? 4 : 1) * *mat_ptr(W, i, t)); /* a few strong directions */
    for (int i = 100; i < 200; i++)
        memcpy(mat_ptr(W, i, 0), mat_ptr(W, i - 100, 0), sizeof(double) * (d + 5));
    mat X = mat_block(W, 0, 0, n, d);
    for (int i = 0; i < q; i++)
        for (int t = 0; t < d; t++)
            *mat_ptr(Q, i, t) = i < 20 ? *mat_ptr(X, 5 * i, t) : 1000 + round((t < 6 ? 4 : 1) * *mat_ptr(Q, i, t));
    static const int ks[] = {1, 5, 17, 64, 65};
    for (size_t c = 0; c < sizeof ks / sizeof *ks; c++) {
        mat Db, Ib, D, I;
        cl_knn_use_brute(1);
        int rb = knn_kneighbors(X, Q, ks[c], &Db, &Ib);
        cl_knn_use_brute(0);
        int r = knn_kneighbors(X, Q, ks[c], &D, &I);
        CHECK(rb == 0 && r == 0 && max_diff(I, Ib) == 0 && max_diff(D, Db) == 0);
        if (c == 0) /* a query that is a training row finds it (the first of a duplicate pair) at 0 */
            CHECK(r == 0 && I.data[1] == 5 && D.data[1] == 0 && I.data[19] == 95);
        mat *all[] = {&Db, &Ib, &D, &I};
        for (size_t t = 0; t < 4; t++)
            mat_free(all[t]);
    }
    mat_free(&W);
    mat_free(&Q);
}

int main(void)
{
    size_t blocks = cairn_blocks_in_use();
    test_distance_kernel();
    test_blobs();
    test_lloyd("tol0", 0, 300);
    test_lloyd("tol", 1e-2, 300);
    test_lloyd("iter3", 0, 3);
    test_predict_transform();
    test_empty_cluster();
    test_plusplus();
    test_kmeans_errors();
    test_metrics();
    test_silhouette();
    test_knn();
    test_knn_bounds();
    test_split();
    test_scaler();
    test_report();
    test_indices();
    test_minibatch();
    test_elbow_and_figures();
    CHECK(cairn_blocks_in_use() == blocks); /* nothing leaked, error paths included */
    return check_summary("cluster");
}
