/* linalg_util.c — layout conversion, input checks and sign normalization shared by the
 * linalg sources. The transposing copies are cache-blocked: a naive transpose of a
 * 10000 x 784 matrix costs as much as a tenth of its SVD. */
#include "linalg_internal.h"
#include "cairn/alloc.h"
#include "cairn/error.h"

#include <lapacke.h>
#include <math.h>
#include <string.h>

int la_all_finite(mat A)
{
    for (int i = 0; i < A.rows; i++) {
        const double *row = mat_ptr(A, i, 0);
        /* Summing x - x is NaN exactly when some x is Inf or NaN; it vectorizes, unlike isfinite. */
        double acc = 0;
        for (int j = 0; j < A.cols; j++)
            acc += row[j] - row[j];
        if (acc != 0 || acc != acc)
            return 0;
    }
    return 1;
}

int la_check_input(const char *func, mat A, const char *name)
{
    if (mat_is_empty(A)) {
        cairn_error(func, "%s is empty (%d x %d)", name, A.rows, A.cols);
        return -1;
    }
    if (!la_all_finite(A)) {
        cairn_error(func, "%s (%d x %d) contains NaN or Inf", name, A.rows, A.cols);
        return -1;
    }
    return 0;
}

mat la_copy(const char *func, mat A)
{
    mat C = mat_alloc(A.rows, A.cols);
    if (mat_is_empty(C)) {
        cairn_error(func, "out of memory copying a %d x %d matrix", A.rows, A.cols);
        return C;
    }
    for (int i = 0; i < A.rows; i++)
        memcpy(mat_ptr(C, i, 0), mat_ptr(A, i, 0), (size_t)A.cols * sizeof(double));
    return C;
}

#define TILE 32

void la_transpose(double *dst, int ldd, const double *src, int lds, int rows, int cols)
{
    for (int i0 = 0; i0 < rows; i0 += TILE) {
        int i1 = i0 + TILE < rows ? i0 + TILE : rows;
        for (int j0 = 0; j0 < cols; j0 += TILE) {
            int j1 = j0 + TILE < cols ? j0 + TILE : cols;
            for (int i = i0; i < i1; i++)
                for (int j = j0; j < j1; j++)
                    dst[(size_t)i * (size_t)ldd + (size_t)j] = src[(size_t)j * (size_t)lds + (size_t)i];
        }
    }
}

double *la_to_colmajor(const char *func, mat A)
{
    double *buf = cairn_alloc((size_t)A.rows * (size_t)A.cols * sizeof(double));
    if (!buf) {
        cairn_error(func, "out of memory for a %d x %d work copy", A.rows, A.cols);
        return NULL;
    }
    /* Column j of A becomes row j of the buffer: a transpose of the cols x rows result. */
    la_transpose(buf, A.rows, A.data, A.stride, A.cols, A.rows);
    return buf;
}

mat la_from_colmajor(const char *func, const double *buf, int rows, int cols, int ld)
{
    mat M = mat_alloc(rows, cols);
    if (mat_is_empty(M) && rows > 0 && cols > 0) {
        cairn_error(func, "out of memory for a %d x %d result", rows, cols);
        return M;
    }
    la_transpose(M.data, M.stride, buf, ld, rows, cols);
    return M;
}

void la_svd_flip(mat U, mat Vt)
{
    int nu = U.cols, nv = Vt.rows;
    int npair = nu < nv ? nu : nv;
    if (nu > 0 && U.rows > 0) {
        /* One pass over U row by row (cache friendly), tracking each column's largest entry. */
        double *best = cairn_alloc((size_t)nu * sizeof(double));
        if (!best)
            return;
        for (int i = 0; i < U.rows; i++) {
            const double *row = mat_ptr(U, i, 0);
            for (int j = 0; j < nu; j++)
                if (fabs(row[j]) > fabs(best[j]))
                    best[j] = row[j];
        }
        for (int j = 0; j < nu; j++) {
            if (best[j] >= 0)
                continue;
            for (int i = 0; i < U.rows; i++)
                *mat_ptr(U, i, j) = -*mat_ptr(U, i, j);
            if (j < npair)
                for (int c = 0; c < Vt.cols; c++)
                    *mat_ptr(Vt, j, c) = -*mat_ptr(Vt, j, c);
        }
        cairn_free(best);
    }
    for (int j = npair; j < nv; j++) {
        double b = 0;
        for (int c = 0; c < Vt.cols; c++)
            if (fabs(*mat_ptr(Vt, j, c)) > fabs(b))
                b = *mat_ptr(Vt, j, c);
        if (b < 0)
            for (int c = 0; c < Vt.cols; c++)
                *mat_ptr(Vt, j, c) = -*mat_ptr(Vt, j, c);
    }
}

/* A row-major m x n matrix is the column-major n x m matrix Aᵀ. LAPACK's gesdd is
 * fastest on tall matrices (QR first), so a tall A is transposed into column-major
 * storage, while a wide A is already a tall Aᵀ: Aᵀ = U' S V'ᵀ gives A = V' S U'ᵀ, and
 * LAPACK's column-major U' and V'ᵀ are, read row-major, exactly our Vt and U. */
int la_gesdd(const char *func, mat A, char jobz, mat *U, mat *S, mat *Vt)
{
    int m = A.rows, n = A.cols, r = m < n ? m : n;
    mat u = mat_empty(), s = mat_empty(), vt = mat_empty();
    double *work = NULL;
    lapack_int info;
    s = mat_alloc(1, r);
    if (mat_is_empty(s))
        goto fail;
    if (m >= n) {
        int ucols = jobz == 'A' ? m : r;
        work = la_to_colmajor(func, A);
        if (!work)
            goto fail;
        double *ubuf = NULL, *vbuf = NULL;
        if (jobz != 'N') {
            ubuf = cairn_alloc((size_t)m * (size_t)ucols * sizeof(double));
            vbuf = cairn_alloc((size_t)n * (size_t)n * sizeof(double));
            if (!ubuf || !vbuf) {
                cairn_free(ubuf);
                cairn_free(vbuf);
                cairn_error(func, "out of memory for the SVD of a %d x %d matrix", m, n);
                goto fail;
            }
        }
        info = LAPACKE_dgesdd(LAPACK_COL_MAJOR, jobz, m, n, work, m, s.data, ubuf, m, vbuf, n);
        if (info == 0 && jobz != 'N') {
            u = la_from_colmajor(func, ubuf, m, ucols, m);
            vt = la_from_colmajor(func, vbuf, n, n, n);
        }
        cairn_free(ubuf);
        cairn_free(vbuf);
    } else {
        int vrows = jobz == 'A' ? n : r;
        mat copy = la_copy(func, A);
        if (mat_is_empty(copy))
            goto fail;
        work = copy.data; /* ownership moves to `work` */
        if (jobz != 'N') {
            vt = mat_alloc(vrows, n);
            u = mat_alloc(m, m);
            if (mat_is_empty(vt) || mat_is_empty(u)) {
                cairn_error(func, "out of memory for the SVD of a %d x %d matrix", m, n);
                goto fail;
            }
        }
        info = LAPACKE_dgesdd(LAPACK_COL_MAJOR, jobz, n, m, work, n, s.data, jobz == 'N' ? NULL : vt.data, n,
                              jobz == 'N' ? NULL : u.data, m);
    }
    cairn_free(work);
    work = NULL;
    if (info > 0) {
        cairn_error(func, "SVD of the %d x %d matrix did not converge (LAPACK dgesdd info=%d)", m, n, (int)info);
        goto fail;
    }
    if (info < 0) {
        cairn_error(func, "LAPACK dgesdd rejected argument %d for a %d x %d matrix", (int)-info, m, n);
        goto fail;
    }
    if (jobz != 'N' && (mat_is_empty(u) || mat_is_empty(vt)))
        goto fail;
    if (U)
        *U = u;
    else
        mat_free(&u);
    if (Vt)
        *Vt = vt;
    else
        mat_free(&vt);
    *S = s;
    return 0;
fail:
    cairn_free(work);
    mat_free(&u);
    mat_free(&s);
    mat_free(&vt);
    return -1;
}
