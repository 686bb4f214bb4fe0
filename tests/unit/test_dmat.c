/* test_dmat.c — distributed matrices on 1, 2, 3 and 4 MPI ranks (mpirun --oversubscribe)
 * against the single-process runtime on the same data: scatter/gather, elementwise,
 * column means, AᵀA, AᵀB, A·B, A·Bᵀ, PDGEMM, PDGESVD, randomized SVD (both power-iteration
 * paths), reconstruction, PCA, k-means (labels and inertia of scikit-learn's Lloyd run,
 * tests/fixtures/gen_dmat_fixtures.py; empty clusters relocated as runtime/cluster does),
 * wide SVD, npy/IDX/CSV reads (CSV: values and errors as csv_read's), seeded generation and
 * the phantom volume. Row counts never
 * divide evenly by the ranks. Then the transaction rules (objects of a process that ends
 * are freed; a free by a process that never proved it committed is forgotten, one that
 * did is applied), an interrupt that stops the workers within 1 s, a rank killed with
 * SIGKILL mid-operation (a clear error naming the rank; a new cluster starts), rank 0
 * serving on TCP (and closing connections without the cluster's token), and the errors
 * that name their function. */
#include "check.h"

#include "cairn.h"
#include "../../runtime/dmat/dmat_proto.h"

#include <netdb.h>
#include <sys/socket.h>

#include <signal.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double max_abs_diff(mat a, mat b)
{
    if (a.rows != b.rows || a.cols != b.cols || mat_is_empty(a) || mat_is_empty(b))
        return INFINITY;
    double m = 0;
    for (int i = 0; i < a.rows; i++)
        for (int j = 0; j < a.cols; j++) {
            double d = fabs(*mat_ptr(a, i, j) - *mat_ptr(b, i, j));
            if (!(d <= m))
                m = d;
        }
    return m;
}

static double max_rel_diff(mat a, mat b)
{
    if (a.rows * a.cols != b.rows * b.cols || mat_is_empty(a))
        return INFINITY;
    double m = 0;
    for (int k = 0; k < a.rows * a.cols; k++) {
        double d = fabs(a.data[k] - b.data[k]) / fabs(b.data[k]);
        if (!(d <= m))
            m = d;
    }
    return m;
}

static double total_bytes(void)
{
    mat m = dmat_cluster_memory();
    double s = 0;
    for (int k = 0; k < m.cols; k++)
        s += m.data[k];
    mat_free(&m);
    return mat_is_empty(m) && dmat_cluster_ranks() == 0 ? -1 : s;
}

/* Low rank plus noise: a decaying spectrum, as randomized SVD expects. */
static mat low_rank(int m, int n, int r, uint64_t seed)
{
    rng_seed(seed);
    mat L = mat_randn(m, r), R = mat_randn(r, n);
    for (int j = 0; j < r; j++)
        for (int c = 0; c < n; c++)
            *mat_ptr(R, j, c) *= pow(0.6, j) * 10;
    mat A = mat_mul(L, R), E = mat_randn(m, n);
    for (int k = 0; k < m * n; k++)
        A.data[k] += 0.01 * E.data[k];
    mat_free(&L), mat_free(&R), mat_free(&E);
    return A;
}

static void test_products(void)
{
    rng_seed(3);
    mat A = mat_randn(103, 17), B = mat_randn(17, 5), Bt = mat_randn(6, 17), C = mat_randn(103, 4),
        K = mat_randn(17, 9);
    dmat dA = dmat_scatter(A);
    CHECK(dA.rows == 103 && dA.cols == 17 && !dmat_is_empty(dA));
    mat back = dmat_gather(dA);
    CHECK(max_abs_diff(back, A) == 0);
    mat part = dmat_gather_rows(dA, 20, 60), ref_part = mat_row_range(A, 20, 60);
    CHECK(max_abs_diff(part, ref_part) == 0);

    mat mu = dmat_col_means(dA), ref_mu = mat_zeros(1, 17);
    for (int i = 0; i < 103; i++)
        for (int j = 0; j < 17; j++)
            ref_mu.data[j] += *mat_ptr(A, i, j) / 103;
    CHECK(max_abs_diff(mu, ref_mu) < 1e-14);

    dmat dS = dmat_scale(dA, 2.0, 1.0);
    mat S = dmat_gather(dS);
    double worst = 0;
    for (int k = 0; k < 103 * 17; k++)
        worst = fmax(worst, fabs(S.data[k] - (2.0 * A.data[k] + 1.0)));
    CHECK(worst == 0);
    dmat dC = dmat_center(dA);
    mat Cm = dmat_gather(dC), mu2 = dmat_col_means(dC);
    CHECK(fabs(*mat_ptr(Cm, 7, 3) - (*mat_ptr(A, 7, 3) - ref_mu.data[3])) < 1e-14);
    CHECK(max_abs_diff(mu2, mat_zeros(1, 17)) < 1e-14);

    /* AᵀA moves one reduction of 17 x 17 doubles per rank beyond the first (and a few
     * bytes of request and agreement) */
    mat t0 = dmat_cluster_traffic();
    mat G = dmat_gram(dA), ref_G = mat_gram(A);
    mat t1 = dmat_cluster_traffic();
    double moved = 0;
    for (int r = 0; r < t1.cols && t0.cols == t1.cols; r++)
        moved += t1.data[r] - t0.data[r];
    int P = dmat_cluster_ranks();
    CHECK(t1.cols == P && moved >= (P - 1) * 17 * 17 * 8.0 && moved <= (P - 1) * (17 * 17 * 8.0 + 4096));
    mat_free(&t0), mat_free(&t1);
    CHECK(max_abs_diff(G, ref_G) < 1e-12 * 103);
    dmat dCC = dmat_scatter(C);
    mat TN = dmat_mul_tn(dA, dCC), ref_TN = mat_mul_tn(A, C);
    CHECK(max_abs_diff(TN, ref_TN) < 1e-11);
    dmat dAB = dmat_mul(dA, B);
    mat AB = dmat_gather(dAB), ref_AB = mat_mul(A, B);
    CHECK(dAB.rows == 103 && dAB.cols == 5 && max_abs_diff(AB, ref_AB) < 1e-12);
    dmat dABt = dmat_mul_nt(dA, Bt);
    mat ABt = dmat_gather(dABt), ref_ABt = mat_mul_nt(A, Bt);
    CHECK(max_abs_diff(ABt, ref_ABt) < 1e-12);
    dmat dK = dmat_scatter(K);
    dmat dAK = dmat_matmul(dA, dK);
    mat AK = dmat_gather(dAK), ref_AK = mat_mul(A, K);
    CHECK(dAK.rows == 103 && dAK.cols == 9 && max_abs_diff(AK, ref_AK) < 1e-12);

    /* errors name the function and the shapes, and return empty results */
    cairn_clear_error();
    dmat bad = dmat_matmul(dA, dA);
    CHECK(dmat_is_empty(bad) && strstr(cairn_last_error(), "dmat_matmul") &&
          strstr(cairn_last_error(), "103 x 17"));
    mat bad2 = dmat_mul_tn(dA, dK);
    CHECK(mat_is_empty(bad2) && strstr(cairn_last_error(), "dmat_mul_tn"));

    dmat_free(&dA), dmat_free(&dS), dmat_free(&dC), dmat_free(&dCC), dmat_free(&dAB), dmat_free(&dABt);
    dmat_free(&dK), dmat_free(&dAK);
    CHECK(dA.id == 0);
    cairn_clear_error();
    mat gone = dmat_gather(dA);
    CHECK(mat_is_empty(gone) && strstr(cairn_last_error(), "empty dmat"));
    mat_free(&A), mat_free(&B), mat_free(&Bt), mat_free(&C), mat_free(&K), mat_free(&back), mat_free(&part);
    mat_free(&mu), mat_free(&ref_mu), mat_free(&S), mat_free(&Cm), mat_free(&mu2), mat_free(&G), mat_free(&ref_G);
    mat_free(&TN), mat_free(&ref_TN), mat_free(&AB), mat_free(&ref_AB), mat_free(&ABt), mat_free(&ref_ABt);
    mat_free(&AK), mat_free(&ref_AK);
}

static void compare_svd(dsvd_result d, svd_result s, int k, double vtol)
{
    CHECK(!dmat_is_empty(d.U) && d.S.cols == k && d.Vt.rows == k);
    mat sk = mat_copy(mat_block(s.S, 0, 0, 1, k));
    CHECK(max_rel_diff(d.S, sk) < 1e-10);
    mat vt = mat_copy(mat_block(s.Vt, 0, 0, k, s.Vt.cols));
    CHECK(max_abs_diff(d.Vt, vt) < vtol);
    mat U = dmat_gather(d.U), u = mat_copy(mat_block(s.U, 0, 0, s.U.rows, k));
    CHECK(max_abs_diff(U, u) < vtol);
    mat_free(&sk), mat_free(&vt), mat_free(&U), mat_free(&u);
}

static void test_svd(void)
{
    /* exact thin SVD with PDGESVD against svd_thin */
    rng_seed(5);
    mat A = mat_randn(131, 23);
    dmat dA = dmat_scatter(A);
    dsvd_result d = dmat_svd_thin(dA);
    svd_result s = svd_thin(A);
    compare_svd(d, s, 23, 1e-9);
    dsvd_free(&d), svd_free(&s);

    /* a wide A (PDGESVD of rows < cols): U rows x rows stays distributed, Vt rows x cols;
     * 3 x 40 leaves a rank without rows on 4 ranks */
    int wide_shape[2][2] = {{23, 131}, {3, 40}};
    for (int t = 0; t < 2; t++) {
        mat Aw = mat_randn(wide_shape[t][0], wide_shape[t][1]);
        dmat dAw = dmat_scatter(Aw);
        d = dmat_svd_thin(dAw);
        s = svd_thin(Aw);
        CHECK(d.U.rows == Aw.rows && d.U.cols == Aw.rows && d.Vt.rows == Aw.rows && d.Vt.cols == Aw.cols);
        compare_svd(d, s, Aw.rows, 1e-9);
        dmat Rw = dmat_svd_reconstruct(d, 0);
        mat Rwm = dmat_gather(Rw);
        CHECK(max_abs_diff(Rwm, Aw) < 1e-12 * Aw.cols);
        dsvd_free(&d), svd_free(&s), dmat_free(&Rw), dmat_free(&dAw), mat_free(&Rwm), mat_free(&Aw);
    }

    /* randomized, Gram path (N < 4·q·l) */
    mat L = low_rank(157, 30, 6, 11);
    dmat dL = dmat_scatter(L);
    d = dmat_svd_randomized(dL, 5, 5, 3, 2026);
    s = svd_randomized(L, 5, 5, 3, 2026);
    compare_svd(d, s, 5, 1e-8);
    dmat R = dmat_svd_reconstruct(d, 3);
    mat Rm = dmat_gather(R), ref_R = svd_reconstruct(s, 3);
    CHECK(max_abs_diff(Rm, ref_R) < 1e-8);
    dsvd_free(&d), svd_free(&s), dmat_free(&R), mat_free(&Rm), mat_free(&ref_R);

    /* randomized, direct path (N >= 4·q·l) and without power iterations */
    mat W = low_rank(151, 64, 4, 12);
    dmat dW = dmat_scatter(W);
    d = dmat_svd_randomized(dW, 3, 2, 1, 99);
    s = svd_randomized(W, 3, 2, 1, 99);
    compare_svd(d, s, 3, 1e-8);
    dsvd_free(&d), svd_free(&s);
    d = dmat_svd_randomized(dW, 4, 3, 0, 5);
    s = svd_randomized(W, 4, 3, 0, 5);
    compare_svd(d, s, 4, 1e-8);
    dsvd_free(&d), svd_free(&s);

    /* PCA as pca_fit_randomized */
    mat X = low_rank(149, 20, 5, 13);
    for (int i = 0; i < X.rows; i++)
        for (int j = 0; j < X.cols; j++)
            *mat_ptr(X, i, j) += 3.0 + j;
    dmat dX = dmat_scatter(X);
    pca_model p = dmat_pca_fit_randomized(dX, 4, 8), q = pca_fit_randomized(X, 4, 8);
    CHECK(p.n_components == 4 && p.n_samples == 149 && p.n_features == 20);
    CHECK(max_abs_diff(p.components, q.components) < 1e-8);
    CHECK(max_abs_diff(p.mean, q.mean) < 1e-13);
    CHECK(max_rel_diff(p.singular_values, q.singular_values) < 1e-10);
    CHECK(max_rel_diff(p.explained_variance_ratio, q.explained_variance_ratio) < 1e-10);
    dmat dZ = dmat_pca_transform(p, dX);
    mat Z = dmat_gather(dZ), ref_Z = pca_transform(q, X);
    CHECK(dZ.cols == 4 && max_abs_diff(Z, ref_Z) < 1e-8);

    cairn_clear_error();
    dmat dwide = dmat_scatter(mat_block(A, 0, 0, 10, 23));
    dsvd_result wide = dmat_svd_randomized(dwide, 2, 1, 1, 1);
    CHECK(dmat_is_empty(wide.U) && strstr(cairn_last_error(), "rows >= cols"));
    dmat_free(&dwide);

    dmat_free(&dA), dmat_free(&dL), dmat_free(&dW), dmat_free(&dX), dmat_free(&dZ);
    mat_free(&A), mat_free(&L), mat_free(&W), mat_free(&X), mat_free(&Z), mat_free(&ref_Z);
    pca_free(&p), pca_free(&q);
}

static void test_kmeans(void)
{
    mat X = npy_read(FIXTURES_DIR "/dmat_kmeans_X.npy"), C0 = npy_read(FIXTURES_DIR "/dmat_kmeans_init.npy");
    mat labels = npy_read(FIXTURES_DIR "/dmat_kmeans_labels.npy"), C = npy_read(FIXTURES_DIR "/dmat_kmeans_centers.npy");
    mat info = npy_read(FIXTURES_DIR "/dmat_kmeans_info.npy"); /* inertia, n_iter */
    dmat dX = dmat_scatter(X);
    dkmeans_result r = dmat_kmeans(dX, C0, 300, 1e-4);
    mat L = dmat_gather(r.labels);
    CHECK(max_abs_diff(L, labels) == 0);
    CHECK(max_abs_diff(r.centers, C) < 1e-10);
    CHECK_NEAR(r.inertia, info.data[0], 1e-10);
    CHECK(r.iterations == (int)info.data[1]);
    /* and the single-process module (runtime/cluster) from the same initial centers */
    kmeans_options o = kmeans_defaults();
    o.init = C0;
    o.algorithm = KMEANS_LLOYD;
    o.progress = 0;
    kmeans_result *km = kmeans_fit(X, C0.rows, &o);
    CHECK(km && max_abs_diff(L, km->labels) == 0);
    CHECK(km && max_abs_diff(r.centers, km->centers) < 1e-10);
    CHECK(km && fabs(r.inertia - km->inertia) <= 1e-10 * km->inertia);
    CHECK(km && r.iterations == km->n_iter);
    kmeans_free(km);
    dkmeans_free(&r);

    /* Two initial centers far from every sample: both clusters are empty after the first
     * assignment and take the farthest samples, as runtime/cluster relocates them. */
    mat C6 = mat_alloc(6, X.cols);
    for (int j = 0; j < 6; j++)
        for (int c = 0; c < X.cols; c++)
            *mat_ptr(C6, j, c) = j < 4 ? *mat_ptr(C0, j, c) : 1000.0 * (j - 3) + c;
    dkmeans_result e = dmat_kmeans(dX, C6, 300, 1e-4);
    o.init = C6;
    km = kmeans_fit(X, 6, &o);
    mat Le = dmat_gather(e.labels);
    int used[6] = {0}, nused = 0;
    for (int i = 0; i < Le.rows && !mat_is_empty(Le); i++)
        used[(int)Le.data[i]] = 1;
    for (int j = 0; j < 6; j++)
        nused += used[j];
    CHECK(nused == 6); /* without relocation the two far centers keep no sample */
    CHECK(km && max_abs_diff(Le, km->labels) == 0);
    CHECK(km && max_abs_diff(e.centers, km->centers) < 1e-10);
    CHECK(km && fabs(e.inertia - km->inertia) <= 1e-10 * km->inertia);
    CHECK(km && e.iterations == km->n_iter);
    kmeans_free(km);
    dkmeans_free(&e), mat_free(&C6), mat_free(&Le), dmat_free(&dX);
    mat_free(&X), mat_free(&C0), mat_free(&labels), mat_free(&C), mat_free(&info), mat_free(&L);
}

static void test_files_and_random(void)
{
    dmat n = dmat_read_npy(FIXTURES_DIR "/dmat_kmeans_X.npy");
    mat ref = npy_read(FIXTURES_DIR "/dmat_kmeans_X.npy"), got = dmat_gather(n);
    CHECK(max_abs_diff(got, ref) == 0);
    dmat_free(&n), mat_free(&ref), mat_free(&got);
    dmat i = dmat_read_idx(FIXTURES_DIR "/io_tiny_images.idx.gz");
    ref = idx_read(FIXTURES_DIR "/io_tiny_images.idx.gz");
    got = dmat_gather(i);
    CHECK(i.rows == ref.rows && max_abs_diff(got, ref) == 0);
    dmat_free(&i), mat_free(&ref), mat_free(&got);
    cairn_clear_error();
    dmat none = dmat_read_npy("/nonexistent/x.npy");
    CHECK(dmat_is_empty(none) && strstr(cairn_last_error(), "dmat_read_npy") &&
          strstr(cairn_last_error(), "/nonexistent/x.npy"));

    /* dmat_randn: blocks of 1024 rows, each mat_randn after its own seed */
    dmat R = dmat_randn(2500, 3, 77);
    got = dmat_gather(R);
    double worst = 0;
    for (int b = 0; b * 1024 < 2500; b++) {
        int rows = 2500 - b * 1024 < 1024 ? 2500 - b * 1024 : 1024;
        rng_seed(dmat_random_block_seed(77, b));
        mat blk = mat_randn(rows, 3);
        worst = fmax(worst, max_abs_diff(mat_row_range(got, b * 1024, rows), blk));
        mat_free(&blk);
    }
    CHECK(worst == 0);
    dmat_free(&R), mat_free(&got);
}

/* Equal values, NaN equal to NaN (missing CSV fields). */
static int same_values(mat a, mat b)
{
    if (a.rows != b.rows || a.cols != b.cols || mat_is_empty(a))
        return 0;
    for (int i = 0; i < a.rows; i++)
        for (int j = 0; j < a.cols; j++) {
            double x = *mat_ptr(a, i, j), y = *mat_ptr(b, i, j);
            if (!(x == y || (isnan(x) && isnan(y))))
                return 0;
        }
    return 1;
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

/* dmat_read_csv against csv_read on the same file: the values, or the same error text
 * (after the function's name). */
static void check_csv(const char *path, char delim, int header)
{
    cairn_clear_error();
    mat ref = csv_read(path, delim, header);
    char ref_err[1024];
    snprintf(ref_err, sizeof ref_err, "%s", mat_is_empty(ref) ? strchr(cairn_last_error(), ':') + 2 : "");
    cairn_clear_error();
    dmat d = dmat_read_csv(path, delim, header);
    if (mat_is_empty(ref)) {
        CHECK(dmat_is_empty(d) && strstr(cairn_last_error(), "dmat_read_csv: ") &&
              strstr(cairn_last_error(), ref_err));
        if (!strstr(cairn_last_error(), ref_err))
            printf("csv_read: %s\ndmat_read_csv: %s\n", ref_err, cairn_last_error());
    } else {
        mat got = dmat_gather(d);
        CHECK(d.rows == ref.rows && d.cols == ref.cols && same_values(got, ref));
        mat_free(&got);
    }
    dmat_free(&d), mat_free(&ref);
}

static void test_csv(void)
{
    char path[] = "/tmp/cairn-dmat-csv-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    /* 103 x 7 through csv_write (uneven over every rank count), with a header */
    rng_seed(21);
    mat A = mat_randn(103, 7);
    *mat_ptr(A, 50, 3) = NAN;
    CHECK(csv_write(path, A, ';', "a;b;c;d;e;f;g") == 0);
    check_csv(path, ';', 1);
    dmat d = dmat_read_csv(path, ';', 1);
    mat got = dmat_gather(d);
    CHECK(same_values(got, A));
    dmat_free(&d), mat_free(&got), mat_free(&A);
    /* a byte order mark, CRLF, blank lines, quotes, NA and empty fields, spaces */
    write_text(path, "\xEF\xBB\xBFx,y,z\r\n\r\n1,2,3\r\n  \n\"4\", 5 ,NA\r\n7,,9\n\n10,11,12e3\n13,-14,0x10");
    check_csv(path, ',', 1);
    check_csv(path, ',', 0); /* the header is then a row that is not numbers: an error */
    /* tiny files: fewer bytes than ranks can split evenly, one long row */
    write_text(path, "1\n2\n");
    check_csv(path, 0, 0);
    write_text(path, "h\n\n\n5");
    check_csv(path, 0, 1);
    char wide[4000] = "";
    for (int j = 0; j < 500; j++)
        snprintf(wide + strlen(wide), sizeof wide - strlen(wide), "%s%d", j ? "," : "", j);
    write_text(path, wide);
    check_csv(path, 0, 0);
    /* errors, with csv_read's precedence: a wrong field count anywhere comes first */
    write_text(path, "1,2\n3,x\n5,6\n7,8\n9,10\n11,12\n13,14\n15\n");
    check_csv(path, 0, 0);
    write_text(path, "1,2\n3,4\n5,6\n7,8\n9,10\n11,12\n13,oops\n15,16\n");
    check_csv(path, 0, 0);
    write_text(path, "h1,h2\n\n  \n");
    check_csv(path, 0, 1);
    FILE *f = fopen(path, "wb");
    if (f) {
        fwrite("1,2\n3,\0\n", 1, 8, f);
        fclose(f);
    }
    check_csv(path, 0, 0);
    unlink(path);
    check_csv("/nonexistent/x.csv", 0, 0);
}

/* The phantom volume made on the ranks: the clean part equals volume_shepp_logan; slice
 * s's noise is mat_randn after its own seed. */
static void test_phantom(void)
{
    mat ref = volume_shepp_logan(37, 12, 10, 0.0, 0);
    dmat V = dmat_volume_shepp_logan(37, 12, 10, 0.0, 0);
    mat got = dmat_gather(V);
    CHECK(V.rows == 37 && V.cols == 120 && max_abs_diff(got, ref) == 0 && mat_max_all(ref) > 0.9);
    dmat_free(&V), mat_free(&got);
    V = dmat_volume_shepp_logan(37, 12, 10, 0.25, 9);
    got = dmat_gather(V);
    double worst = mat_is_empty(got) ? INFINITY : 0;
    for (int sl = 0; sl < 37 && !mat_is_empty(got); sl++) {
        rng_seed(dmat_random_block_seed(9, sl));
        mat noise = mat_randn(1, 120);
        for (int j = 0; j < 120; j++)
            worst = fmax(worst, fabs(*mat_ptr(got, sl, j) - (*mat_ptr(ref, sl, j) + 0.25 * noise.data[j])));
        mat_free(&noise);
    }
    CHECK(worst == 0);
    cairn_clear_error();
    dmat bad = dmat_volume_shepp_logan(0, 12, 10, 0.0, 0);
    CHECK(dmat_is_empty(bad) && strstr(cairn_last_error(), "dmat_volume_shepp_logan"));
    dmat_free(&V), mat_free(&got), mat_free(&ref);
}

static void test_on(int ranks)
{
    double t0 = now_s();
    CHECK(dmat_cluster_start(ranks) == 0);
    CHECK(dmat_cluster_ranks() == ranks);
    if (dmat_cluster_ranks() != ranks) {
        fprintf(stderr, "cluster of %d did not start: %s\n", ranks, cairn_last_error());
        return;
    }
    double base = total_bytes();
    CHECK(base == 0);
    test_products();
    test_svd();
    test_kmeans();
    test_files_and_random();
    test_csv();
    test_phantom();
    CHECK(total_bytes() == base); /* every dmat above was freed */
    CHECK(dmat_cluster_stop() == 0);
    printf("%d rank%s: %.2f s\n", ranks, ranks == 1 ? "" : "s", now_s() - t0);
}

/* The transaction rules, with forked processes standing for cells. */
static void test_generations(void)
{
    CHECK(dmat_cluster_start(2) == 0);
    mat A = mat_ones(1000, 10);
    dmat keep = dmat_scatter(A);
    double base = total_bytes();
    CHECK(base == 1000 * 10 * 8);

    /* a "cell" that makes a dmat and dies: its objects go */
    pid_t c = fork();
    if (c == 0) {
        dmat t = dmat_scatter(A);
        _exit(dmat_is_empty(t) ? 1 : 0);
    }
    int st;
    waitpid(c, &st, 0);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    double t = now_s(), b = -1;
    while (now_s() - t < 3 && (b = total_bytes()) != base)
        usleep(20000);
    CHECK(b == base);

    /* a "cell" that frees an older dmat and fails: the free is forgotten */
    c = fork();
    if (c == 0) {
        dmat k = keep;
        dmat_free(&k);
        _exit(0);
    }
    waitpid(c, &st, 0);
    usleep(100000);
    CHECK(total_bytes() == base);
    mat g = dmat_gather(keep);
    CHECK(max_abs_diff(g, A) == 0);
    mat_free(&g);

    /* one that frees it and then has a child that connects (it committed): applied */
    c = fork();
    if (c == 0) {
        dmat k = keep;
        dmat_free(&k);
        pid_t gc = fork();
        if (gc == 0) {
            _exit(dmat_cluster_ranks() == 2 && total_bytes() >= 0 ? 0 : 1);
        }
        int s2;
        waitpid(gc, &s2, 0);
        _exit(WIFEXITED(s2) ? WEXITSTATUS(s2) : 2);
    }
    waitpid(c, &st, 0);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    CHECK(total_bytes() == 0);
    mat_free(&A);
    CHECK(dmat_cluster_stop() == 0);
}

static void on_alarm(int sig)
{
    (void)sig;
    cairn_set_interrupted(1);
}

static double interrupted_at;

static void test_interrupt_and_kill(void)
{
    CHECK(dmat_cluster_start(3) == 0);
    mat A = mat_ones(300, 8);
    *mat_ptr(A, 0, 0) = 2;
    dmat dA = dmat_scatter(A);
    /* Gram path with a million power iterations: minutes unless interrupted */
    signal(SIGALRM, on_alarm);
    struct itimerval it = {{0, 0}, {0, 300000}};
    setitimer(ITIMER_REAL, &it, NULL);
    double t0 = now_s();
    cairn_clear_error();
    dsvd_result r = dmat_svd_randomized(dA, 2, 1, 1000000, 1);
    double took = now_s() - t0;
    CHECK(dmat_is_empty(r.U) && strstr(cairn_last_error(), "interrupted"));
    CHECK(took < 0.3 + 1.0);
    printf("interrupt: stopped %.3f s after the interrupt\n", took - 0.3);
    cairn_set_interrupted(0);
    (void)interrupted_at;
    /* the cluster is still usable */
    mat g = dmat_gather(dA);
    CHECK(max_abs_diff(g, A) == 0);
    mat_free(&g);

    /* SIGKILL rank 1 in the middle of an operation */
    mat pids = dmat_cluster_pids();
    CHECK(pids.cols == 3);
    pid_t victim = pids.cols == 3 ? (pid_t)pids.data[1] : 0;
    pid_t killer = fork();
    if (killer == 0) {
        usleep(300000);
        kill(victim, SIGKILL);
        _exit(0);
    }
    cairn_clear_error();
    r = dmat_svd_randomized(dA, 2, 1, 1000000, 1);
    waitpid(killer, NULL, 0);
    const char *e = cairn_last_error();
    printf("after SIGKILL: %s\n", e);
    CHECK(dmat_is_empty(r.U) && strstr(e, "dmat_svd_randomized") && strstr(e, "rank 1") &&
          strstr(e, "signal 9") && strstr(e, "randomized SVD"));
    CHECK(dmat_cluster_ranks() == 0);
    /* a handle of the dead cluster says so; a new cluster starts */
    cairn_clear_error();
    CHECK(dmat_cluster_start(2) == 0);
    mat stale = dmat_gather(dA);
    CHECK(mat_is_empty(stale) && strstr(cairn_last_error(), "no longer running"));
    dmat again = dmat_scatter(A);
    g = dmat_gather(again);
    CHECK(max_abs_diff(g, A) == 0);
    mat_free(&g), mat_free(&A), mat_free(&pids);
    CHECK(dmat_cluster_stop() == 0);
}

/* Connect to "tcp://HOST:PORT" and send one message op with text; 1 when rank 0 then
 * closes the connection without a reply. */
static int tcp_rejected(const char *address, int op, const char *text)
{
    char host[64] = "";
    int port = 0;
    if (sscanf(address, "tcp://%63[^:]:%d", host, &port) != 2)
        return 0;
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    char ps[16];
    snprintf(ps, sizeof ps, "%d", port);
    if (getaddrinfo(host, ps, &hints, &res) != 0)
        return 0;
    int fd = socket(res->ai_family, res->ai_socktype, 0), closed = 0;
    if (fd >= 0 && connect(fd, res->ai_addr, res->ai_addrlen) == 0) {
        dmat_msg m, r;
        dmat_msg_init(&m, op);
        dmat_msg_text(&m, "%s", text);
        if (dmat_wire_send(fd, &m) == 0) {
            int rc = dmat_wire_recv(fd, &r);
            if (rc == 1)
                dmat_msg_free(&r);
            closed = rc == 0;
        }
    }
    if (fd >= 0)
        close(fd);
    freeaddrinfo(res);
    return closed;
}

/* Rank 0 on TCP (`--listen 127.0.0.1:0`, the multi-host link): the operations, a forked
 * "cell" whose objects are freed when it ends, and strangers without the token shut out. */
static void test_tcp(void)
{
    CHECK(dmat_cluster_start_with(2, "--listen 127.0.0.1:0") == 0);
    const char *a = dmat_cluster_address();
    printf("tcp: rank 0 at %s\n", a);
    CHECK(strncmp(a, "tcp://127.0.0.1:", 16) == 0 && atoi(a + 16) > 0);
    if (dmat_cluster_ranks() != 2)
        return;
    CHECK(tcp_rejected(a, DOP_HELLO, "not the token"));
    CHECK(tcp_rejected(a, DOP_INFO, ""));
    test_products();
    test_kmeans();
    mat A = mat_ones(50, 4);
    pid_t c = fork();
    if (c == 0)
        _exit(dmat_is_empty(dmat_scatter(A)) ? 1 : 0);
    int st;
    waitpid(c, &st, 0);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    double t = now_s(), b = -1;
    while (now_s() - t < 3 && (b = total_bytes()) != 0)
        usleep(20000);
    CHECK(b == 0);
    mat_free(&A);
    CHECK(dmat_cluster_stop() == 0);
    CHECK(strcmp(dmat_cluster_address(), "") == 0);
}

/* `test_dmat --two-hosts OPTIONS`: run by test_dmat_netns.py with the ranks in two network
 * namespaces (OPTIONS: the mpirun options of that set-up). */
static void test_two_hosts(const char *options)
{
    CHECK(dmat_cluster_start_with(2, options) == 0);
    if (dmat_cluster_ranks() != 2) {
        fprintf(stderr, "the two-namespace cluster did not start: %s\n", cairn_last_error());
        return;
    }
    dmat_cluster_show();
    /* the ranks really are in different network namespaces */
    mat pids = dmat_cluster_pids();
    char a[64] = "", b[64] = "", path[64];
    if (pids.cols == 2) {
        snprintf(path, sizeof path, "/proc/%d/ns/net", (int)pids.data[0]);
        CHECK(readlink(path, a, sizeof a - 1) > 0);
        snprintf(path, sizeof path, "/proc/%d/ns/net", (int)pids.data[1]);
        CHECK(readlink(path, b, sizeof b - 1) > 0);
    }
    printf("rank 0 in %s, rank 1 in %s\n", a, b);
    CHECK(a[0] && b[0] && strcmp(a, b) != 0);
    mat_free(&pids);
    test_products();
    test_svd();
    test_kmeans();
    CHECK(total_bytes() == 0);
    CHECK(dmat_cluster_stop() == 0);
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc == 3 && strcmp(argv[1], "--two-hosts") == 0) {
        test_two_hosts(argv[2]);
        return check_summary("dmat on two network namespaces");
    }
    for (int ranks = 1; ranks <= 4; ranks++)
        test_on(ranks);
    test_generations();
    test_tcp();
    test_interrupt_and_kill();
    cairn_clear_error();
    mat none = dmat_gather((dmat){1, 1, 2, 2});
    CHECK(mat_is_empty(none) && strstr(cairn_last_error(), "no longer running"));
    return check_summary("dmat");
}
