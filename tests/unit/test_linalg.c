/* test_linalg.c — SVD (thin, full, randomized), PCA, eig, QR, Cholesky, solve, lstsq,
 * inverse, det, rank, cond: identities (U·S·Vt = A, QᵀQ = I, A·x = b, ...) and values
 * against NumPy / scikit-learn references made by tests/fixtures/gen_linalg_fixtures.py;
 * error paths (singular, non-finite, shape mismatch) report the function and shapes and
 * return empty results; no runtime block is leaked. */
#include "cairn.h"
#include "check.h"

#include <math.h>
#include <string.h>

static mat load(const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", FIXTURES_DIR, name);
    mat m = npy_read(path);
    if (mat_is_empty(m))
        fprintf(stderr, "cannot load fixture %s: %s\n", path, cairn_last_error());
    return m;
}

/* Largest |a - b| over all elements (shapes must agree, else +inf). */
static double max_diff(mat a, mat b)
{
    if (a.rows * a.cols != b.rows * b.cols || mat_is_empty(a))
        return INFINITY;
    double d = 0;
    int cols = a.cols;
    for (int k = 0; k < a.rows * a.cols; k++) {
        double x = *mat_ptr(a, k / cols, k % cols);
        double y = *mat_ptr(b, k / b.cols, k % b.cols);
        if (fabs(x - y) > d || x != x || y != y)
            d = x != x || y != y ? INFINITY : fabs(x - y);
    }
    return d;
}

/* Naive product with optional transposes, independent of the BLAS under test. */
static mat mul(mat a, int ta, mat b, int tb)
{
    int m = ta ? a.cols : a.rows, k = ta ? a.rows : a.cols;
    int n = tb ? b.rows : b.cols;
    mat c = mat_zeros(m, n);
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            double s = 0;
            for (int t = 0; t < k; t++)
                s += (ta ? *mat_ptr(a, t, i) : *mat_ptr(a, i, t)) * (tb ? *mat_ptr(b, j, t) : *mat_ptr(b, t, j));
            *mat_ptr(c, i, j) = s;
        }
    return c;
}

static double orth_error(mat Q, int columns) /* max |QᵀQ - I| (columns) or |QQᵀ - I| (rows) */
{
    mat G = columns ? mul(Q, 1, Q, 0) : mul(Q, 0, Q, 1);
    double d = 0;
    for (int i = 0; i < G.rows; i++)
        for (int j = 0; j < G.cols; j++)
            d = fmax(d, fabs(*mat_ptr(G, i, j) - (i == j)));
    mat_free(&G);
    return d;
}

static double frob_diff(mat a, mat b)
{
    double s = 0;
    for (int i = 0; i < a.rows; i++)
        for (int j = 0; j < a.cols; j++) {
            double d = *mat_ptr(a, i, j) - *mat_ptr(b, i, j);
            s += d * d;
        }
    return sqrt(s);
}

static mat usv(svd_result r)
{
    int k = r.S.cols;
    mat US = mat_zeros(r.U.rows, k);
    for (int i = 0; i < r.U.rows; i++)
        for (int j = 0; j < k; j++)
            *mat_ptr(US, i, j) = *mat_ptr(r.U, i, j) * r.S.data[j];
    mat Vk = r.Vt;
    Vk.rows = k;
    mat out = mul(US, 0, Vk, 0);
    mat_free(&US);
    return out;
}

static int error_mentions(const char *a, const char *b)
{
    const char *e = cairn_last_error();
    int ok = strstr(e, a) != NULL && (!b || strstr(e, b) != NULL);
    if (!ok)
        fprintf(stderr, "  last error was: %s\n", e);
    return ok;
}

static void test_svd_exact(const char *tag)
{
    char name[64];
    snprintf(name, sizeof name, "linalg_%s.npy", tag);
    mat A = load(name);
    snprintf(name, sizeof name, "linalg_%s_S.npy", tag);
    mat S = load(name);
    snprintf(name, sizeof name, "linalg_%s_U.npy", tag);
    mat U = load(name);
    snprintf(name, sizeof name, "linalg_%s_Vt.npy", tag);
    mat Vt = load(name);
    int r = A.rows < A.cols ? A.rows : A.cols;

    svd_result t = svd_thin(A);
    CHECK(t.U.rows == A.rows && t.U.cols == r && t.S.rows == 1 && t.S.cols == r && t.Vt.rows == r &&
          t.Vt.cols == A.cols);
    CHECK(max_diff(t.S, S) < 1e-12);
    CHECK(max_diff(t.U, U) < 1e-10); /* same signs as sklearn's svd_flip */
    CHECK(max_diff(t.Vt, Vt) < 1e-10);
    mat R = usv(t);
    CHECK(max_diff(R, A) < 1e-12);
    CHECK(orth_error(t.U, 1) < 1e-12);
    CHECK(orth_error(t.Vt, 0) < 1e-12);
    mat_free(&R);
    mat rec = svd_reconstruct(t, 0);
    CHECK(max_diff(rec, A) < 1e-12);
    mat_free(&rec);

    svd_result f = svd_full(A);
    CHECK(f.U.rows == A.rows && f.U.cols == A.rows && f.Vt.rows == A.cols && f.Vt.cols == A.cols);
    CHECK(orth_error(f.U, 1) < 1e-12);
    CHECK(orth_error(f.Vt, 1) < 1e-12);
    CHECK(max_diff(f.S, S) < 1e-12);
    rec = svd_reconstruct(f, 0);
    CHECK(max_diff(rec, A) < 1e-12);
    mat_free(&rec);
    /* the leading r singular vectors of the full SVD are the thin ones */
    double d = 0;
    for (int i = 0; i < A.rows; i++)
        for (int j = 0; j < r; j++)
            d = fmax(d, fabs(*mat_ptr(f.U, i, j) - *mat_ptr(U, i, j)));
    CHECK(d < 1e-10);

    mat vals = svd_values(A);
    CHECK(max_diff(vals, S) < 1e-12);

    /* rank-2 reconstruction equals U[:, :2] diag(S[:2]) Vt[:2] computed naively */
    rec = svd_reconstruct(t, 2);
    double e = 0;
    for (int i = 0; i < A.rows; i++)
        for (int j = 0; j < A.cols; j++) {
            double s = 0;
            for (int c = 0; c < 2; c++)
                s += *mat_ptr(U, i, c) * S.data[c] * *mat_ptr(Vt, c, j);
            e = fmax(e, fabs(*mat_ptr(rec, i, j) - s));
        }
    CHECK(rec.rows == A.rows && rec.cols == A.cols && e < 1e-12);
    mat_free(&rec);
    rec = svd_reconstruct(t, r + 1);
    CHECK(mat_is_empty(rec) && error_mentions("svd_reconstruct", "k = "));

    svd_free(&t);
    svd_free(&f);
    CHECK(mat_is_empty(t.U) && mat_is_empty(t.S) && mat_is_empty(t.Vt));
    mat_free(&vals);
    mat_free(&A);
    mat_free(&S);
    mat_free(&U);
    mat_free(&Vt);
}

static void test_svd_view(void)
{
    /* A strided view (a block of a bigger matrix) gives the same SVD as its copy. */
    mat A = load("linalg_A.npy");
    mat big = mat_zeros(20, 11);
    for (int i = 0; i < 20; i++)
        for (int j = 0; j < 11; j++)
            *mat_ptr(big, i, j) = 100 + i * 11 + j;
    for (int i = 0; i < A.rows; i++)
        for (int j = 0; j < A.cols; j++)
            *mat_ptr(big, 3 + i, 2 + j) = *mat_ptr(A, i, j);
    mat v = big;
    v.data = mat_ptr(big, 3, 2);
    v.rows = A.rows;
    v.cols = A.cols;
    v.flags = 0;
    svd_result a = svd_thin(A), b = svd_thin(v);
    CHECK(max_diff(a.S, b.S) < 1e-13 && max_diff(a.U, b.U) < 1e-12 && max_diff(a.Vt, b.Vt) < 1e-12);
    svd_free(&a);
    svd_free(&b);
    mat_free(&big);
    mat_free(&A);
}

static mat transpose(mat a)
{
    mat t = mat_alloc(a.cols, a.rows);
    for (int i = 0; i < a.rows; i++)
        for (int j = 0; j < a.cols; j++)
            *mat_ptr(t, j, i) = *mat_ptr(a, i, j);
    return t;
}

/* Tall and wide inputs take the CholeskyQR2 path when well conditioned and fall back to
 * gesdd when not; both must agree with the plain gesdd of svd_full. */
static void test_svd_tall(void)
{
    mat A = load("linalg_lowrank.npy"); /* 200 x 80, full rank (signal + noise) */
    mat At = transpose(A);
    mat D = mat_alloc(200, 80); /* rank deficient: column 5 repeats column 3 */
    memcpy(D.data, A.data, 200 * 80 * sizeof(double));
    for (int i = 0; i < 200; i++)
        *mat_ptr(D, i, 5) = *mat_ptr(D, i, 3);
    mat cases[3] = {A, At, D};
    for (int c = 0; c < 3; c++) {
        mat M = cases[c];
        svd_result t = svd_thin(M), f = svd_full(M);
        int r = M.rows < M.cols ? M.rows : M.cols;
        CHECK(t.U.rows == M.rows && t.U.cols == r && t.Vt.rows == r && t.Vt.cols == M.cols);
        double ds = 0, du = 0, dv = 0;
        for (int j = 0; j < r; j++)
            ds = fmax(ds, fabs(t.S.data[j] - f.S.data[j]));
        for (int i = 0; i < M.rows; i++)
            for (int j = 0; j < r - 1; j++) /* the last pair of D is a null direction, sign-free */
                du = fmax(du, fabs(*mat_ptr(t.U, i, j) - *mat_ptr(f.U, i, j)));
        for (int i = 0; i < r - 1; i++)
            for (int j = 0; j < M.cols; j++)
                dv = fmax(dv, fabs(*mat_ptr(t.Vt, i, j) - *mat_ptr(f.Vt, i, j)));
        CHECK(ds < 1e-11 * f.S.data[0]);
        CHECK(du < 1e-9 && dv < 1e-9);
        CHECK(orth_error(t.U, 1) < 1e-13);
        CHECK(orth_error(t.Vt, 0) < 1e-13);
        mat R = svd_reconstruct(t, 0);
        CHECK(max_diff(R, M) < 1e-12 * f.S.data[0]);
        mat v = svd_values(M);
        CHECK(max_diff(v, f.S) < 1e-11 * f.S.data[0]);
        if (c == 2)
            CHECK(t.S.data[r - 1] < 1e-12 * t.S.data[0] && mat_rank(M, -1) == 79);
        mat_free(&v);
        mat_free(&R);
        svd_free(&t);
        svd_free(&f);
    }
    mat S10 = load("linalg_lowrank_S.npy");
    svd_result t = svd_thin(A);
    double d = 0;
    for (int j = 0; j < 10; j++)
        d = fmax(d, fabs(t.S.data[j] - S10.data[j]));
    CHECK(d < 1e-12 * S10.data[0]); /* NumPy's singular values */
    svd_free(&t);
    mat_free(&S10);
    mat_free(&D);
    mat_free(&At);
    mat_free(&A);
}

/* Identities over many shapes: vectors, squares, tall and wide on both SVD paths, views. */
static void test_shapes(void)
{
    int dims[][2] = {{1, 1}, {1, 6}, {6, 1}, {2, 3}, {7, 7}, {40, 16}, {16, 40}, {90, 17}, {17, 90}, {33, 64}};
    int bad = 0;
    rng_seed(3);
    for (size_t c = 0; c < sizeof dims / sizeof *dims; c++) {
        int m = dims[c][0], n = dims[c][1], r = m < n ? m : n;
        mat A = mat_randn(m, n);
        svd_result t = svd_thin(A), f = svd_full(A);
        mat R = svd_reconstruct(t, 0), Rf = svd_reconstruct(f, 0);
        int ok = t.U.cols == r && f.U.cols == m && f.Vt.rows == n && max_diff(R, A) < 1e-12 &&
                 max_diff(Rf, A) < 1e-12 && orth_error(t.U, 1) < 1e-13 && orth_error(f.U, 1) < 1e-13 &&
                 orth_error(f.Vt, 1) < 1e-13 && max_diff(t.S, f.S) < 1e-12;
        qr_result q = qr_thin(A);
        mat QR = mul(q.Q, 0, q.R, 0);
        ok &= max_diff(QR, A) < 1e-12 && orth_error(q.Q, 1) < 1e-13;
        mat b = mat_randn(m, 2);
        mat x = mat_lstsq(A, b);
        ok &= x.rows == n && x.cols == 2;
        if (m >= n) { /* residual orthogonal to the columns of A */
            mat Ax = mul(A, 0, x, 0);
            for (int i = 0; i < m * 2; i++)
                Ax.data[i] -= b.data[i];
            mat g = mul(A, 1, Ax, 0);
            double gm = 0;
            for (int i = 0; i < n * 2; i++)
                gm = fmax(gm, fabs(g.data[i]));
            ok &= gm < 1e-11;
            mat_free(&Ax);
            mat_free(&g);
        } else { /* underdetermined: solved exactly */
            mat Ax = mul(A, 0, x, 0);
            ok &= max_diff(Ax, b) < 1e-11;
            mat_free(&Ax);
        }
        int k = r > 2 ? r - 1 : 1;
        svd_result z = svd_randomized(A, k, 5, 2, 1);
        ok &= z.U.rows == m && z.U.cols == k && z.Vt.cols == n && orth_error(z.U, 1) < 1e-12;
        for (int j = 0; j < k; j++) /* a rank-k approximation of a random matrix: S close to exact */
            ok &= z.S.data[j] <= t.S.data[j] * (1 + 1e-12);
        if (!ok) {
            bad++;
            fprintf(stderr, "  shape %d x %d failed: %s\n", m, n, cairn_last_error());
        }
        svd_free(&t);
        svd_free(&f);
        svd_free(&z);
        qr_free(&q);
        mat *all[] = {&A, &R, &Rf, &QR, &b, &x};
        for (size_t i = 0; i < sizeof all / sizeof *all; i++)
            mat_free(all[i]);
    }
    CHECK(bad == 0);
}

static void test_svd_randomized(void)
{
    mat A = load("linalg_lowrank.npy");
    mat S10 = load("linalg_lowrank_S.npy");
    mat err = load("linalg_lowrank_err.npy"); /* [exact rank-10 error, sklearn randomized error] */
    double exact = err.data[0], skl = err.data[1];
    mat At = transpose(A);
    /* power_iters 4 takes the Gram path (80 < 4*4*20), 1 the direct LU-normalized path;
     * the transposed input exercises the wide case of both. */
    int iters[2] = {4, 1};
    for (int w = 0; w < 2; w++) {
        for (int t = 0; t < 2; t++) {
            mat M = t ? At : A;
            svd_result r = svd_randomized(M, 10, 10, iters[w], 7);
            CHECK(r.U.rows == M.rows && r.U.cols == 10 && r.S.cols == 10 && r.Vt.rows == 10 && r.Vt.cols == M.cols);
            CHECK(orth_error(r.U, 1) < 1e-12);
            CHECK(orth_error(r.Vt, 0) < 1e-12);
            double smax = 0;
            for (int j = 0; j < 10; j++)
                smax = fmax(smax, fabs(r.S.data[j] - S10.data[j]) / S10.data[j]);
            CHECK(smax < 1e-3);
            mat rec = svd_reconstruct(r, 0);
            double e = frob_diff(rec, M);
            CHECK(e <= exact * 1.01 && e >= exact * (1 - 1e-12));
            CHECK(e <= skl * 1.01);
            mat_free(&rec);
            /* same seed, same result */
            svd_result r2 = svd_randomized(M, 10, 10, iters[w], 7);
            CHECK(max_diff(r.U, r2.U) == 0 && max_diff(r.S, r2.S) == 0);
            svd_free(&r2);
            /* signs follow svd_flip: each column's largest entry is positive */
            int ok = 1;
            for (int j = 0; j < 10; j++) {
                double b = 0;
                for (int i = 0; i < r.U.rows; i++)
                    if (fabs(*mat_ptr(r.U, i, j)) > fabs(b))
                        b = *mat_ptr(r.U, i, j);
                ok &= b > 0;
            }
            CHECK(ok);
            svd_free(&r);
        }
    }
    /* entries near 1e160: AᵀA would overflow, so the Gram and CholeskyQR paths step aside */
    mat H = mat_alloc(200, 80);
    for (int i = 0; i < 200 * 80; i++)
        H.data[i] = A.data[i] * 1e160;
    svd_result h = svd_randomized(H, 10, 10, 4, 7), ht = svd_thin(H);
    double hs = 0, ts = 0;
    for (int j = 0; j < 10; j++) {
        hs = fmax(hs, fabs(h.S.data[j] / 1e160 - S10.data[j]) / S10.data[j]);
        ts = fmax(ts, fabs(ht.S.data[j] / 1e160 - S10.data[j]) / S10.data[j]);
    }
    CHECK(!mat_is_empty(h.S) && hs < 1e-3);
    CHECK(!mat_is_empty(ht.S) && ts < 1e-12);
    svd_free(&h);
    svd_free(&ht);
    mat_free(&H);
    svd_result bad = svd_randomized(A, 81, 10, 2, 0);
    CHECK(mat_is_empty(bad.U) && error_mentions("svd_randomized", "200 x 80"));
    cairn_set_interrupted(1);
    bad = svd_randomized(A, 10, 10, 4, 0);
    CHECK(mat_is_empty(bad.U) && error_mentions("svd_randomized", "interrupted"));
    bad = svd_randomized(A, 10, 10, 1, 0);
    CHECK(mat_is_empty(bad.U) && error_mentions("svd_randomized", "interrupted"));
    cairn_set_interrupted(0);
    mat_free(&At);
    mat_free(&A);
    mat_free(&S10);
    mat_free(&err);
}

static void test_pca(void)
{
    mat X = load("linalg_pca_X.npy");
    mat ratio = load("linalg_pca_ratio.npy"), var = load("linalg_pca_variance.npy");
    mat comp = load("linalg_pca_components.npy"), mean = load("linalg_pca_mean.npy");
    mat Zref = load("linalg_pca_Z.npy");
    pca_model p = pca_fit(X, 3);
    CHECK(p.n_components == 3 && p.n_features == 6 && p.n_samples == 60);
    CHECK(p.components.rows == 3 && p.components.cols == 6 && p.mean.cols == 6);
    CHECK(max_diff(p.explained_variance_ratio, ratio) < 1e-12);
    CHECK(max_diff(p.explained_variance, var) < 1e-10);
    CHECK(max_diff(p.components, comp) < 1e-10);
    CHECK(max_diff(p.mean, mean) < 1e-12);
    mat Z = pca_transform(p, X);
    CHECK(Z.rows == 60 && Z.cols == 3 && max_diff(Z, Zref) < 1e-10);
    /* inverse_transform(transform(X)) is the projection onto the 3 axes: applying it
     * twice changes nothing, and its residual is orthogonal to the components. */
    mat Xr = pca_inverse_transform(p, Z);
    mat Z2 = pca_transform(p, Xr);
    CHECK(max_diff(Z2, Z) < 1e-10);
    double worst = 0;
    for (int i = 0; i < 60; i++)
        for (int c = 0; c < 3; c++) {
            double s = 0;
            for (int j = 0; j < 6; j++)
                s += (*mat_ptr(X, i, j) - *mat_ptr(Xr, i, j)) * *mat_ptr(p.components, c, j);
            worst = fmax(worst, fabs(s));
        }
    CHECK(worst < 1e-10);
    /* all components: exact reconstruction, ratios sum to 1 */
    pca_model full = pca_fit(X, 6);
    mat Zf = pca_transform(full, X);
    mat Xf = pca_inverse_transform(full, Zf);
    CHECK(max_diff(Xf, X) < 1e-10);
    double sum = 0;
    for (int j = 0; j < 6; j++)
        sum += full.explained_variance_ratio.data[j];
    CHECK_NEAR(sum, 1.0, 1e-12);
    /* randomized PCA agrees with the exact one on this well-separated spectrum */
    pca_model pr = pca_fit_randomized(X, 3, 1);
    CHECK(max_diff(pr.explained_variance_ratio, ratio) < 1e-8);
    CHECK(max_diff(pr.components, comp) < 1e-6);
    /* errors */
    mat wrong = mat_zeros(2, 5);
    mat bad = pca_transform(p, wrong);
    CHECK(mat_is_empty(bad) && error_mentions("pca_transform", "2 x 5"));
    pca_model none = pca_fit(X, 7);
    CHECK(mat_is_empty(none.components) && error_mentions("pca_fit", "k = 7"));
    mat_free(&wrong);
    pca_free(&p);
    pca_free(&full);
    pca_free(&pr);
    CHECK(mat_is_empty(p.components) && p.n_components == 0);
    mat *all[] = {&X, &ratio, &var, &comp, &mean, &Zref, &Z, &Xr, &Z2, &Zf, &Xf};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        mat_free(all[i]);
}

static void test_eig(void)
{
    mat G = load("linalg_sym.npy"), w = load("linalg_sym_w.npy");
    eig_result e = eig_symmetric(G);
    CHECK(e.values.rows == 1 && e.values.cols == 6 && e.vectors.rows == 6 && e.vectors.cols == 6);
    CHECK(max_diff(e.values, w) < 1e-12);
    mat GV = mul(G, 0, e.vectors, 0);
    double d = 0;
    for (int i = 0; i < 6; i++)
        for (int j = 0; j < 6; j++)
            d = fmax(d, fabs(*mat_ptr(GV, i, j) - e.values.data[j] * *mat_ptr(e.vectors, i, j)));
    CHECK(d < 1e-12); /* A v = λ v */
    CHECK(orth_error(e.vectors, 1) < 1e-12);
    for (int i = 1; i < 6; i++)
        CHECK(e.values.data[i - 1] <= e.values.data[i]);
    mat_free(&GV);
    eig_free(&e);
    *mat_ptr(G, 0, 3) += 1e-3;
    e = eig_symmetric(G);
    CHECK(mat_is_empty(e.values) && error_mentions("eig_symmetric", "not symmetric"));
    mat_free(&G);
    mat_free(&w);
}

static void test_qr_chol(void)
{
    const char *names[2] = {"linalg_A.npy", "linalg_W.npy"};
    for (int t = 0; t < 2; t++) {
        mat A = load(names[t]);
        int r = A.rows < A.cols ? A.rows : A.cols;
        qr_result q = qr_thin(A);
        CHECK(q.Q.rows == A.rows && q.Q.cols == r && q.R.rows == r && q.R.cols == A.cols);
        mat QR = mul(q.Q, 0, q.R, 0);
        CHECK(max_diff(QR, A) < 1e-12);
        CHECK(orth_error(q.Q, 1) < 1e-12);
        int upper = 1, diag = 1;
        for (int i = 0; i < r; i++) {
            diag &= *mat_ptr(q.R, i, i) >= 0;
            for (int j = 0; j < i; j++)
                upper &= *mat_ptr(q.R, i, j) == 0;
        }
        CHECK(upper && diag);
        mat_free(&QR);
        qr_free(&q);
        mat_free(&A);
    }
    mat A = load("linalg_A.npy");
    mat S = mul(A, 1, A, 0); /* AᵀA: 5 x 5 positive definite */
    mat L = mat_cholesky(S);
    mat LLt = mul(L, 0, L, 1);
    CHECK(max_diff(LLt, S) < 1e-12);
    int lower = 1;
    for (int i = 0; i < 5; i++)
        for (int j = i + 1; j < 5; j++)
            lower &= *mat_ptr(L, i, j) == 0;
    CHECK(lower && *mat_ptr(L, 0, 0) > 0);
    mat_free(&LLt);
    mat_free(&L);
    *mat_ptr(S, 4, 4) = -1;
    L = mat_cholesky(S);
    CHECK(mat_is_empty(L) && error_mentions("mat_cholesky", "not positive definite"));
    mat_free(&S);
    mat_free(&A);
}

static void test_solve(void)
{
    mat A = load("linalg_sq.npy"), B = load("linalg_sq_b.npy"), Xref = load("linalg_sq_x.npy");
    mat inv_ref = load("linalg_sq_inv.npy"), det = load("linalg_sq_det.npy"), cond = load("linalg_sq_cond.npy");
    mat X = mat_solve(A, B);
    CHECK(X.rows == 5 && X.cols == 2 && max_diff(X, Xref) < 1e-12);
    mat AX = mul(A, 0, X, 0);
    CHECK(max_diff(AX, B) < 1e-12);
    mat inv = mat_inverse(A);
    CHECK(max_diff(inv, inv_ref) < 1e-12);
    mat I = mul(A, 0, inv, 0);
    double d = 0;
    for (int i = 0; i < 5; i++)
        for (int j = 0; j < 5; j++)
            d = fmax(d, fabs(*mat_ptr(I, i, j) - (i == j)));
    CHECK(d < 1e-12); /* A A⁻¹ = I */
    CHECK_NEAR(mat_det(A), det.data[0], 1e-12);
    CHECK_NEAR(mat_cond(A), cond.data[0], 1e-10);
    CHECK(mat_rank(A, -1) == 5);
    mat_free(&AX);
    mat_free(&X);
    mat_free(&inv);
    mat_free(&I);

    /* a singular matrix: exact zero pivot, and singular to working precision */
    mat Z = mat_zeros(3, 3);
    double vals[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    memcpy(Z.data, vals, sizeof vals);
    mat b = mat_zeros(3, 1);
    long errs = cairn_error_count();
    X = mat_solve(Z, b);
    CHECK(mat_is_empty(X) && error_mentions("mat_solve", "3 x 3") && error_mentions("singular", NULL));
    CHECK(cairn_error_count() == errs + 1);
    X = mat_inverse(Z);
    CHECK(mat_is_empty(X) && error_mentions("mat_inverse", "singular"));
    CHECK(fabs(mat_det(Z)) < 1e-12);
    CHECK(mat_rank(Z, -1) == 2);
    CHECK(mat_cond(Z) > 1e15);
    mat zero = mat_zeros(3, 3);
    X = mat_solve(zero, b);
    CHECK(mat_is_empty(X) && error_mentions("mat_solve", "exactly zero"));
    CHECK(mat_det(zero) == 0.0);
    CHECK(isinf(mat_cond(zero)));
    CHECK(mat_rank(zero, -1) == 0);
    /* shape mismatch and non-finite input */
    X = mat_solve(A, b);
    CHECK(mat_is_empty(X) && error_mentions("mat_solve", "A is 5 x 5, B is 3 x 1"));
    mat rect = mat_zeros(2, 3);
    CHECK(isnan(mat_det(rect)) && error_mentions("mat_det", "square, got 2 x 3"));
    *mat_ptr(A, 2, 2) = NAN;
    X = mat_inverse(A);
    CHECK(mat_is_empty(X) && error_mentions("mat_inverse", "NaN or Inf"));
    svd_result s = svd_thin(A);
    CHECK(mat_is_empty(s.U) && error_mentions("svd_thin", "5 x 5"));
    *mat_ptr(A, 2, 2) = INFINITY;
    CHECK(mat_rank(A, -1) == -1 && error_mentions("svd_values", "NaN or Inf"));
    mat empty = mat_empty();
    s = svd_thin(empty);
    CHECK(mat_is_empty(s.S) && error_mentions("svd_thin", "empty"));
    mat *all[] = {&A, &B, &Xref, &inv_ref, &det, &cond, &Z, &b, &zero, &rect};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        mat_free(all[i]);
}

static void test_lstsq(void)
{
    mat A = load("linalg_ls_A.npy"), b = load("linalg_ls_b.npy"), xref = load("linalg_ls_x.npy");
    mat x = mat_lstsq(A, b);
    CHECK(x.rows == 4 && x.cols == 1 && max_diff(x, xref) < 1e-12);
    /* normal equations: Aᵀ (A x - b) = 0 */
    mat Ax = mul(A, 0, x, 0);
    for (int i = 0; i < 12; i++)
        *mat_ptr(Ax, i, 0) -= *mat_ptr(b, i, 0);
    mat g = mul(A, 1, Ax, 0);
    double gm = 0;
    for (int i = 0; i < 4; i++)
        gm = fmax(gm, fabs(g.data[i]));
    CHECK(gm < 1e-12);
    mat_free(&x);
    mat_free(&Ax);
    mat_free(&g);
    mat L = load("linalg_lsr_A.npy"), c = load("linalg_lsr_b.npy"), lref = load("linalg_lsr_x.npy");
    mat rank = load("linalg_lsr_rank.npy");
    x = mat_lstsq(L, c);
    CHECK(max_diff(x, lref) < 1e-10); /* minimum-norm solution of a rank-2 problem */
    CHECK(mat_rank(L, -1) == (int)rank.data[0] && rank.data[0] == 2);
    mat_free(&x);
    /* pseudo-inverse of the rank-2 matrix: NumPy's value, and L L⁺ L = L */
    mat pref = load("linalg_lsr_pinv.npy");
    mat P = mat_pinv(L);
    CHECK(P.rows == 4 && P.cols == 6 && max_diff(P, pref) < 1e-12);
    mat LP = mul(L, 0, P, 0);
    mat LPL = mul(LP, 0, L, 0);
    CHECK(max_diff(LPL, L) < 1e-12);
    mat_free(&pref);
    mat_free(&P);
    mat_free(&LP);
    mat_free(&LPL);
    x = mat_lstsq(A, c);
    CHECK(mat_is_empty(x) && error_mentions("mat_lstsq", "A is 12 x 4, B is 6 x 1"));
    mat *all[] = {&A, &b, &xref, &L, &c, &lref, &rank};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        mat_free(all[i]);
}

int main(void)
{
    size_t blocks = cairn_blocks_in_use();
    test_svd_exact("A");
    test_svd_exact("W");
    test_svd_view();
    test_svd_tall();
    test_shapes();
    test_svd_randomized();
    test_pca();
    test_eig();
    test_qr_chol();
    test_solve();
    test_lstsq();
    CHECK(cairn_blocks_in_use() == blocks); /* nothing leaked, error paths included */
    return check_summary("linalg");
}
