/* dmat_ops.c — the dmat operations as cells call them: check the handles on the driver,
 * send one request to rank 0 (dmat_call), turn the reply into a dmat, a mat or a small
 * struct. The numerics are in worker/; this file never sees MPI. */
#include "dmat_internal.h"
#include "../io/io_internal.h"

#include "cairn/error.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static dmat dmat_none(void)
{
    dmat d = {0, 0, 0, 0};
    return d;
}

int dmat_is_empty(dmat A) { return A.id == 0; }

/* A request for op on A (i[0]) and B (i[1]; the empty dmat when there is none). */
static void request_on(dmat_msg *req, int op, dmat A, dmat B)
{
    dmat_msg_init(req, op);
    req->h.i[0] = (int64_t)A.id;
    req->h.i[1] = (int64_t)B.id;
}

/* Send req; the new dmat named by the reply (its other matrices are dropped). */
static dmat make(const char *func, dmat_msg *req)
{
    dmat_msg rep;
    if (dmat_call(func, req, &rep) < 0)
        return dmat_none();
    dmat d = dmat_handle_from(&rep);
    dmat_msg_free(&rep);
    return d;
}

/* Send req; the reply's first matrix. */
static mat fetch(const char *func, dmat_msg *req)
{
    dmat_msg rep;
    if (dmat_call(func, req, &rep) < 0)
        return mat_empty();
    mat m = rep.m[0];
    rep.m[0] = mat_empty();
    dmat_msg_free(&rep);
    return m;
}

static int check_mat(const char *func, mat X, const char *what)
{
    if (mat_is_empty(X)) {
        cairn_error(func, "%s is an empty matrix", what);
        return -1;
    }
    return 0;
}

dmat dmat_scatter(mat X)
{
    const char *F = "dmat_scatter";
    if (check_mat(F, X, "X") < 0)
        return dmat_none();
    dmat_msg req;
    dmat_msg_init(&req, DOP_SCATTER);
    req.h.nmats = 1;
    req.m[0] = X; /* a view: sent, not freed */
    return make(F, &req);
}

static dmat read_file(const char *func, const char *path, int kind, char delimiter, int has_header)
{
    if (!path || !*path) {
        cairn_error(func, "no path given");
        return dmat_none();
    }
    /* The ranks resolve relative paths against mpirun's directory, not the session's. */
    char full[PATH_MAX];
    if (path[0] != '/' && realpath(path, full))
        path = full;
    if (strlen(path) >= DMAT_MAX_TEXT) {
        cairn_error(func, "path too long (%zu bytes)", strlen(path));
        return dmat_none();
    }
    dmat_msg req;
    dmat_msg_init(&req, DOP_READ);
    req.h.i[0] = kind;
    req.h.i[1] = delimiter ? delimiter : ',';
    req.h.i[2] = has_header != 0;
    dmat_msg_text(&req, "%s", path);
    return make(func, &req);
}

dmat dmat_read_npy(const char *path) { return read_file("dmat_read_npy", path, 0, 0, 0); }

dmat dmat_read_idx(const char *path) { return read_file("dmat_read_idx", path, 1, 0, 0); }

dmat dmat_read_csv(const char *path, char delimiter, int has_header)
{
    return read_file("dmat_read_csv", path, 2, delimiter, has_header);
}

uint64_t dmat_random_block_seed(uint64_t seed, int block)
{
    /* splitmix64 of the seed advanced by the block: nearby blocks get unrelated streams */
    uint64_t z = seed + 0x9E3779B97F4A7C15ULL * ((uint64_t)block + 1);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

dmat dmat_randn(int rows, int cols, uint64_t seed)
{
    const char *F = "dmat_randn";
    if (rows < 1 || cols < 1) {
        cairn_error(F, "shape %d x %d must be positive", rows, cols);
        return dmat_none();
    }
    dmat_msg req;
    dmat_msg_init(&req, DOP_RANDN);
    req.h.i[0] = rows;
    req.h.i[1] = cols;
    req.h.i[4] = (int64_t)seed;
    return make(F, &req);
}

dmat dmat_volume_shepp_logan(int n_slices, int height, int width, double noise_sigma, uint64_t seed)
{
    const char *F = "dmat_volume_shepp_logan";
    if (volume_check_args(F, n_slices, height, width, noise_sigma) < 0)
        return dmat_none();
    dmat_msg req;
    dmat_msg_init(&req, DOP_PHANTOM);
    req.h.i[0] = n_slices;
    req.h.i[1] = height;
    req.h.i[2] = width;
    req.h.i[4] = (int64_t)seed;
    req.h.d[0] = noise_sigma;
    return make(F, &req);
}

static mat gather(const char *func, dmat A, int first, int count)
{
    if (dmat_check(func, A, "A") < 0)
        return mat_empty();
    if (first < 0 || count < 1 || first > A.rows - count) {
        cairn_error(func, "rows %d..%d are not inside the %d x %d dmat", first, first + count - 1, A.rows, A.cols);
        return mat_empty();
    }
    dmat_msg req;
    request_on(&req, DOP_GATHER, A, dmat_none());
    req.h.i[1] = first;
    req.h.i[2] = count;
    return fetch(func, &req);
}

mat dmat_gather_rows(dmat A, int first, int count) { return gather("dmat_gather_rows", A, first, count); }

mat dmat_gather(dmat A) { return gather("dmat_gather", A, 0, A.rows); }

void dmat_free(dmat *A)
{
    if (!A || A->id == 0)
        return;
    if (A->cluster == dmat_cluster_id()) {
        dmat_msg req, rep;
        dmat_msg_init(&req, DOP_FREE);
        req.h.i[0] = (int64_t)A->id;
        if (dmat_call("dmat_free", &req, &rep) == 0)
            dmat_msg_free(&rep);
    }
    *A = dmat_none();
}

/* Check A and make the request for op on it; -1 after an error naming func. */
static int unary(const char *func, dmat_msg *req, int op, dmat A)
{
    if (dmat_check(func, A, "A") < 0)
        return -1;
    request_on(req, op, A, dmat_none());
    return 0;
}

dmat dmat_scale(dmat A, double alpha, double beta)
{
    dmat_msg req;
    if (unary("dmat_scale", &req, DOP_AFFINE, A) < 0)
        return dmat_none();
    req.h.d[0] = alpha;
    req.h.d[1] = beta;
    return make("dmat_scale", &req);
}

dmat dmat_center(dmat A)
{
    dmat_msg req;
    return unary("dmat_center", &req, DOP_CENTER, A) < 0 ? dmat_none() : make("dmat_center", &req);
}

static mat reduce_one(const char *func, int op, dmat A)
{
    dmat_msg req;
    return unary(func, &req, op, A) < 0 ? mat_empty() : fetch(func, &req);
}

mat dmat_col_means(dmat A) { return reduce_one("dmat_col_means", DOP_COL_MEANS, A); }

mat dmat_gram(dmat A) { return reduce_one("dmat_gram", DOP_GRAM, A); }

mat dmat_mul_tn(dmat A, dmat B)
{
    const char *F = "dmat_mul_tn";
    if (dmat_check(F, A, "A") < 0 || dmat_check(F, B, "B") < 0)
        return mat_empty();
    if (A.rows != B.rows) {
        cairn_error(F, "A is %d x %d and B is %d x %d: AᵀB needs the same number of rows", A.rows, A.cols, B.rows,
                    B.cols);
        return mat_empty();
    }
    dmat_msg req;
    request_on(&req, DOP_MUL_TN, A, B);
    return fetch(F, &req);
}

dmat dmat_mul(dmat A, mat B)
{
    const char *F = "dmat_mul";
    if (dmat_check(F, A, "A") < 0 || check_mat(F, B, "B") < 0)
        return dmat_none();
    if (B.rows != A.cols) {
        cairn_error(F, "inner dimensions differ: A is %d x %d, B is %d x %d", A.rows, A.cols, B.rows, B.cols);
        return dmat_none();
    }
    dmat_msg req;
    request_on(&req, DOP_MUL, A, dmat_none());
    req.h.nmats = 1;
    req.m[0] = B;
    return make(F, &req);
}

static dmat mul_nt(const char *func, dmat A, mat B, mat shift)
{
    if (dmat_check(func, A, "A") < 0 || check_mat(func, B, "B") < 0)
        return dmat_none();
    if (B.cols != A.cols) {
        cairn_error(func, "A is %d x %d but B is %d x %d: A·Bᵀ needs as many columns in B as in A", A.rows, A.cols,
                    B.rows, B.cols);
        return dmat_none();
    }
    dmat_msg req;
    request_on(&req, DOP_MUL_NT, A, dmat_none());
    req.h.nmats = mat_is_empty(shift) ? 1 : 2;
    req.m[0] = B;
    req.m[1] = shift;
    return make(func, &req);
}

dmat dmat_mul_nt(dmat A, mat B) { return mul_nt("dmat_mul_nt", A, B, mat_empty()); }

dmat dmat_matmul(dmat A, dmat B)
{
    const char *F = "dmat_matmul";
    if (dmat_check(F, A, "A") < 0 || dmat_check(F, B, "B") < 0)
        return dmat_none();
    if (A.cols != B.rows) {
        cairn_error(F, "inner dimensions differ: A is %d x %d, B is %d x %d", A.rows, A.cols, B.rows, B.cols);
        return dmat_none();
    }
    dmat_msg req;
    request_on(&req, DOP_MATMUL, A, B);
    return make(F, &req);
}

static dsvd_result dsvd_none(void)
{
    dsvd_result r = {dmat_none(), mat_empty(), mat_empty()};
    return r;
}

static dsvd_result svd_from(const char *func, dmat_msg *req)
{
    dmat_msg rep;
    if (dmat_call(func, req, &rep) < 0)
        return dsvd_none();
    dsvd_result r = {dmat_handle_from(&rep), rep.m[0], rep.m[1]};
    rep.m[0] = rep.m[1] = mat_empty();
    dmat_msg_free(&rep);
    return r;
}

dsvd_result dmat_svd_thin(dmat A)
{
    const char *F = "dmat_svd_thin";
    if (dmat_check(F, A, "A") < 0)
        return dsvd_none();
    dmat_msg req;
    request_on(&req, DOP_SVD_THIN, A, dmat_none());
    return svd_from(F, &req);
}

dsvd_result dmat_svd_randomized(dmat A, int k, int oversample, int power_iters, uint64_t seed)
{
    const char *F = "dmat_svd_randomized";
    if (dmat_check(F, A, "A") < 0)
        return dsvd_none();
    if (A.rows < A.cols) {
        cairn_error(F, "A is %d x %d: the distributed SVD needs rows >= cols (distribute Aᵀ instead)", A.rows, A.cols);
        return dsvd_none();
    }
    if (k < 1 || k > A.cols) {
        cairn_error(F, "k = %d must be in 1..%d for a %d x %d matrix", k, A.cols, A.rows, A.cols);
        return dsvd_none();
    }
    if (oversample < 0 || power_iters < 0) {
        cairn_error(F, "oversample (%d) and power_iters (%d) must be >= 0", oversample, power_iters);
        return dsvd_none();
    }
    dmat_msg req;
    request_on(&req, DOP_SVD_RANDOMIZED, A, dmat_none());
    req.h.i[1] = k;
    req.h.i[2] = oversample;
    req.h.i[3] = power_iters;
    req.h.i[4] = (int64_t)seed;
    return svd_from(F, &req);
}

dmat dmat_svd_reconstruct(dsvd_result r, int k)
{
    const char *F = "dmat_svd_reconstruct";
    if (dmat_check(F, r.U, "U") < 0 || check_mat(F, r.S, "S") < 0 || check_mat(F, r.Vt, "Vt") < 0)
        return dmat_none();
    int kmax = r.S.rows * r.S.cols;
    if (k <= 0 || k > kmax)
        k = kmax;
    if (r.U.cols < k || r.Vt.rows < k) {
        cairn_error(F, "U is %d x %d and Vt %d x %d: fewer than k = %d components", r.U.rows, r.U.cols, r.Vt.rows,
                    r.Vt.cols, k);
        return dmat_none();
    }
    dmat_msg req;
    request_on(&req, DOP_RECONSTRUCT, r.U, dmat_none());
    req.h.i[1] = k;
    req.h.nmats = 2;
    req.m[0] = r.S;
    req.m[1] = r.Vt;
    return make(F, &req);
}

void dsvd_free(dsvd_result *r)
{
    if (!r)
        return;
    dmat_free(&r->U);
    mat_free(&r->S);
    mat_free(&r->Vt);
}

pca_model dmat_pca_fit_randomized(dmat X, int k, uint64_t seed)
{
    const char *F = "dmat_pca_fit_randomized";
    pca_model p;
    memset(&p, 0, sizeof p);
    if (dmat_check(F, X, "X") < 0)
        return p;
    if (X.rows < 2 || X.rows < X.cols) {
        cairn_error(F, "X is %d x %d: needs at least 2 rows and rows >= cols", X.rows, X.cols);
        return p;
    }
    if (k < 1 || k > X.cols) {
        cairn_error(F, "k = %d must be in 1..%d for X of %d x %d", k, X.cols, X.rows, X.cols);
        return p;
    }
    dmat_msg req, rep;
    request_on(&req, DOP_PCA_RANDOMIZED, X, dmat_none());
    req.h.i[1] = k;
    req.h.i[4] = (int64_t)seed;
    if (dmat_call(F, &req, &rep) < 0)
        return p;
    double total = rep.h.d[0];
    p.components = rep.m[0];
    p.mean = rep.m[1];
    p.singular_values = rep.m[2];
    rep.m[0] = rep.m[1] = rep.m[2] = mat_empty();
    dmat_msg_free(&rep);
    p.explained_variance = mat_alloc(1, k);
    p.explained_variance_ratio = mat_alloc(1, k);
    if (mat_is_empty(p.explained_variance) || mat_is_empty(p.explained_variance_ratio) ||
        mat_is_empty(p.singular_values)) {
        pca_free(&p);
        return p;
    }
    for (int j = 0; j < k; j++) {
        double sv = p.singular_values.data[j];
        double ev = sv * sv / (X.rows - 1);
        p.explained_variance.data[j] = ev;
        p.explained_variance_ratio.data[j] = total > 0 ? ev / total : 0.0;
    }
    p.n_samples = X.rows;
    p.n_features = X.cols;
    p.n_components = k;
    return p;
}

dmat dmat_pca_transform(pca_model model, dmat X)
{
    const char *F = "dmat_pca_transform";
    if (mat_is_empty(model.components) || mat_is_empty(model.mean)) {
        cairn_error(F, "the PCA model is empty (was the fit successful?)");
        return dmat_none();
    }
    if (dmat_check(F, X, "X") < 0)
        return dmat_none();
    if (X.cols != model.components.cols) {
        cairn_error(F, "X is %d x %d but the model was fit on %d features", X.rows, X.cols, model.components.cols);
        return dmat_none();
    }
    return mul_nt(F, X, model.components, model.mean);
}

dkmeans_result dmat_kmeans(dmat X, mat init_centers, int max_iter, double tol)
{
    const char *F = "dmat_kmeans";
    dkmeans_result r = {mat_empty(), dmat_none(), NAN, 0};
    if (dmat_check(F, X, "X") < 0 || check_mat(F, init_centers, "init_centers") < 0)
        return r;
    if (init_centers.cols != X.cols || init_centers.rows > X.rows) {
        cairn_error(F, "init_centers is %d x %d for X of %d x %d (need k <= rows and the same columns)",
                    init_centers.rows, init_centers.cols, X.rows, X.cols);
        return r;
    }
    if (max_iter < 1 || !(tol >= 0)) {
        cairn_error(F, "max_iter = %d must be >= 1 and tol = %g >= 0", max_iter, tol);
        return r;
    }
    dmat_msg req, rep;
    request_on(&req, DOP_KMEANS, X, dmat_none());
    req.h.i[1] = max_iter;
    req.h.d[0] = tol;
    req.h.nmats = 1;
    req.m[0] = init_centers;
    if (dmat_call(F, &req, &rep) < 0)
        return r;
    r.labels = dmat_handle_from(&rep);
    r.centers = rep.m[0];
    r.inertia = rep.h.d[0];
    r.iterations = (int)rep.h.i[1];
    rep.m[0] = mat_empty();
    dmat_msg_free(&rep);
    return r;
}

void dkmeans_free(dkmeans_result *r)
{
    if (!r)
        return;
    mat_free(&r->centers);
    dmat_free(&r->labels);
}
