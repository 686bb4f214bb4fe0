/* split.c — a seeded train/test split, plain or stratified, as scikit-learn's
 * train_test_split (ShuffleSplit / StratifiedShuffleSplit) does it: the test part has
 * ceil(test_size · n) rows, the train part the rest. Stratified, each class gives the
 * train and test parts its share, rounded like sklearn's _approximate_mode (floors, then
 * the largest remainders; equal remainders drawn at random). The permutations come from
 * the session generator (seed reseeds it), so the same call gives the same split. */
#include "cairn/cluster.h"
#include "cairn/alloc.h"
#include "cairn/error.h"
#include "cairn/random.h"
#include "cluster_internal.h"

#include <math.h>
#include <string.h>

/* sklearn's _approximate_mode: draws[c] summing to n_draws, proportional to counts. */
static void approximate_mode(const int *counts, int c, int total, int n_draws, int *draws, double *rem, int *order)
{
    int assigned = 0;
    for (int j = 0; j < c; j++) {
        double exact = (double)counts[j] * n_draws / total;
        draws[j] = (int)floor(exact);
        rem[j] = exact - draws[j];
        assigned += draws[j];
        order[j] = j;
    }
    /* classes by decreasing remainder; ties in random order */
    for (int j = c - 1; j > 0; j--) { /* shuffle first so equal remainders are ordered at random */
        int r = (int)rng_int(0, j + 1), t = order[j];
        order[j] = order[r];
        order[r] = t;
    }
    for (int a = 1; a < c; a++) { /* stable insertion sort by remainder, descending */
        int v = order[a], b = a;
        while (b > 0 && rem[order[b - 1]] < rem[v]) {
            order[b] = order[b - 1];
            b--;
        }
        order[b] = v;
    }
    for (int t = 0; assigned < n_draws && t < c; t++) {
        int j = order[t];
        if (draws[j] < counts[j]) {
            draws[j]++;
            assigned++;
        }
    }
}

int train_test_split(mat X, mat y, double test_size, uint64_t seed, int stratify, mat *X_train, mat *X_test,
                     mat *y_train, mat *y_test)
{
    const char *func = "train_test_split";
    mat *outs[] = {X_train, X_test, y_train, y_test};
    for (int t = 0; t < 4; t++)
        if (outs[t])
            *outs[t] = mat_empty();
    if (cl_check_data(func, X, "X") < 0)
        return -1;
    int n = X.rows, have_y = !mat_is_empty(y);
    if (!(test_size > 0 && test_size < 1)) {
        cairn_error(func, "test_size = %g must be a fraction in (0, 1)", test_size);
        return -1;
    }
    int n_test = (int)ceil(test_size * n), n_train = n - n_test;
    if (n_test < 1 || n_train < 1) {
        cairn_error(func, "test_size = %g leaves %d train and %d test rows of X (%d x %d)", test_size, n_train,
                    n_test, X.rows, X.cols);
        return -1;
    }
    int *code = NULL, c = 0;
    if (have_y || stratify) {
        if (!have_y) {
            cairn_error(func, "stratify needs the labels y, which are empty");
            return -1;
        }
        c = cl_encode_labels(func, y, "y", n, &code, NULL);
        if (c < 0)
            return -1;
    }
    int *perm = cairn_alloc((size_t)n * sizeof(int)), *take = cairn_alloc((size_t)n * sizeof(int));
    int *counts = cairn_alloc((size_t)(c + 1) * 4 * sizeof(int));
    double *rem = cairn_alloc((size_t)(c + 1) * sizeof(double));
    int *order = cairn_alloc((size_t)(c + 1) * sizeof(int));
    if (!perm || !take || !counts || !rem || !order) {
        cairn_error(func, "out of memory for %d rows", n);
        cairn_free(perm);
        cairn_free(take);
        cairn_free(counts);
        cairn_free(rem);
        cairn_free(order);
        cairn_free(code);
        return -1;
    }
    rng_seed(seed);
    int *test_idx = take, *train_idx = take + n_test;
    if (!stratify) {
        rng_permutation(perm, n);
        memcpy(take, perm, (size_t)n * sizeof(int));
    } else {
        int *cnt = counts, *ntr = counts + c, *nte = counts + 2 * c, *left = counts + 3 * c;
        for (int i = 0; i < n; i++)
            cnt[code[i]]++;
        if (n_train < c || n_test < c) {
            cairn_error(func, "a stratified split of %d rows into %d train and %d test rows cannot hold all %d classes",
                        n, n_train, n_test, c);
            n = -1;
        } else {
            approximate_mode(cnt, c, n, n_train, ntr, rem, order);
            for (int j = 0; j < c; j++)
                left[j] = cnt[j] - ntr[j];
            approximate_mode(left, c, n - n_train, n_test, nte, rem, order);
            /* rows of each class in random order: the first ntr[j] train, the next nte[j] test */
            rng_permutation(perm, n);
            int pt = 0, pe = 0;
            memset(left, 0, (size_t)c * sizeof(int));
            for (int t = 0; t < n; t++) {
                int i = perm[t], j = code[i];
                if (left[j] < ntr[j])
                    train_idx[pt++] = i;
                else if (left[j] < ntr[j] + nte[j])
                    test_idx[pe++] = i;
                left[j]++;
            }
        }
    }
    int rc = -1;
    if (n > 0) {
        mat xtr = mat_rows_index(X, train_idx, n_train), xte = mat_rows_index(X, test_idx, n_test);
        mat ytr = mat_empty(), yte = mat_empty();
        if (have_y) {
            ytr = mat_alloc(n_train, 1);
            yte = mat_alloc(n_test, 1);
            for (int i = 0; ytr.data && i < n_train; i++)
                ytr.data[i] = cl_vec_get(y, train_idx[i]);
            for (int i = 0; yte.data && i < n_test; i++)
                yte.data[i] = cl_vec_get(y, test_idx[i]);
        }
        if (mat_is_empty(xtr) || mat_is_empty(xte) || (have_y && (mat_is_empty(ytr) || mat_is_empty(yte)))) {
            mat_free(&xtr);
            mat_free(&xte);
            mat_free(&ytr);
            mat_free(&yte);
        } else {
            mat got[] = {xtr, xte, ytr, yte};
            for (int t = 0; t < 4; t++) {
                if (outs[t])
                    *outs[t] = got[t];
                else
                    mat_free(&got[t]);
            }
            rc = 0;
        }
    }
    cairn_free(perm);
    cairn_free(take);
    cairn_free(counts);
    cairn_free(rem);
    cairn_free(order);
    cairn_free(code);
    return rc;
}
