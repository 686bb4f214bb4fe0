/* svd.c — exact singular value decompositions (LAPACK gesdd) and low-rank reconstruction.
 *
 * gesdd (divide and conquer) is what NumPy's np.linalg.svd calls; the layout work is in
 * la_gesdd (linalg_util.c). Clearly tall or wide matrices first try CholeskyQR2
 * (svd_cholqr.c), which is faster and falls back to gesdd when the input is too
 * ill-conditioned for it. Signs follow scikit-learn's svd_flip so a notebook shows the
 * same U and Vt on every run and the same as sklearn. */
#include "cairn/linalg.h"
#include "cairn/error.h"
#include "linalg_internal.h"

#include <cblas.h>
#include <string.h>

static svd_result svd_empty(void)
{
    svd_result r = {mat_empty(), mat_empty(), mat_empty()};
    return r;
}

/* CholeskyQR2 pays off for clearly tall or wide matrices that are not tiny (thin SVD only). */
static int use_cholqr(mat A, char jobz)
{
    int lo = A.rows < A.cols ? A.rows : A.cols, hi = A.rows < A.cols ? A.cols : A.rows;
    return jobz != 'A' && lo >= 16 && hi >= 2 * lo;
}

static svd_result svd_exact(const char *func, mat A, char jobz)
{
    svd_result r = svd_empty();
    if (la_check_input(func, A, "A") < 0)
        return r;
    int c = use_cholqr(A, jobz) ? la_svd_cholqr(func, A, jobz, &r.U, &r.S, &r.Vt) : 1;
    if (c < 0 || (c == 1 && la_gesdd(func, A, jobz, &r.U, &r.S, &r.Vt) < 0))
        return svd_empty();
    la_svd_flip(r.U, r.Vt);
    return r;
}

svd_result svd_thin(mat A) { return svd_exact("svd_thin", A, 'S'); }

svd_result svd_full(mat A) { return svd_exact("svd_full", A, 'A'); }

mat svd_values(mat A)
{
    mat S = mat_empty();
    if (la_check_input("svd_values", A, "A") < 0)
        return S;
    int c = use_cholqr(A, 'N') ? la_svd_cholqr("svd_values", A, 'N', NULL, &S, NULL) : 1;
    if (c < 0 || (c == 1 && la_gesdd("svd_values", A, 'N', NULL, &S, NULL) < 0))
        return mat_empty();
    return S;
}

mat svd_reconstruct(svd_result r, int k)
{
    int avail = r.S.rows * r.S.cols;
    if (mat_is_empty(r.U) || mat_is_empty(r.S) || mat_is_empty(r.Vt)) {
        cairn_error("svd_reconstruct", "empty SVD result (U %d x %d, S %d x %d, Vt %d x %d)", r.U.rows, r.U.cols,
                    r.S.rows, r.S.cols, r.Vt.rows, r.Vt.cols);
        return mat_empty();
    }
    if (r.U.cols < avail)
        avail = r.U.cols;
    if (r.Vt.rows < avail)
        avail = r.Vt.rows;
    if (k <= 0)
        k = avail;
    if (k > avail) {
        cairn_error("svd_reconstruct", "k = %d but the SVD has only %d components (U %d x %d, Vt %d x %d)", k,
                    avail, r.U.rows, r.U.cols, r.Vt.rows, r.Vt.cols);
        return mat_empty();
    }
    int m = r.U.rows, n = r.Vt.cols;
    const double *s = r.S.data; /* S is a row or a column: either way contiguous enough below */
    mat US = mat_alloc(m, k);
    mat out = mat_alloc(m, n);
    if (mat_is_empty(US) || mat_is_empty(out)) {
        mat_free(&US);
        mat_free(&out);
        return mat_empty();
    }
    for (int i = 0; i < m; i++) {
        const double *u = mat_ptr(r.U, i, 0);
        double *d = mat_ptr(US, i, 0);
        for (int j = 0; j < k; j++)
            d[j] = u[j] * (r.S.rows == 1 ? s[j] : s[(size_t)j * (size_t)r.S.stride]);
    }
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0, US.data, US.stride, r.Vt.data,
                r.Vt.stride, 0.0, out.data, out.stride);
    mat_free(&US);
    return out;
}

void svd_free(svd_result *r)
{
    if (!r)
        return;
    mat_free(&r->U);
    mat_free(&r->S);
    mat_free(&r->Vt);
}
