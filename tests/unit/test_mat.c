/* test_mat.c — matrix creation, element access, views sharing data, reshapes and images,
 * copies, concatenation, memory accounting, and display (text compared with NumPy's
 * str() of the same values, from tests/fixtures/gen_mat_fixtures.py). */
#include "cairn.h"
#include "check.h"
#include "../fixtures/mat_fixtures.h"

/* Capture of the last display bundle sent through the sink. */
static int sink_calls, sink_kind, sink_nparts;
static char sink_mimes[4][32];
static char sink_text[8192];

static void capture_sink(int kind, const display_part *parts, int nparts, const char *display_id, int wait)
{
    (void)display_id;
    (void)wait;
    sink_calls++;
    sink_kind = kind;
    sink_nparts = nparts;
    for (int i = 0; i < nparts && i < 4; i++) {
        snprintf(sink_mimes[i], sizeof sink_mimes[i], "%s", parts[i].mime);
        if (strcmp(parts[i].mime, "text/plain") == 0)
            snprintf(sink_text, sizeof sink_text, "%.*s", (int)parts[i].size, (const char *)parts[i].data);
    }
}

static int has_error(const char *text) { return strstr(cairn_last_error(), text) != NULL; }

static void test_creation(void)
{
    mat z = mat_zeros(2, 3);
    CHECK(z.rows == 2 && z.cols == 3 && z.stride == 3 && (z.flags & MAT_OWNS));
    CHECK(mat_sum_all(z) == 0.0);
    mat o = mat_ones(2, 3);
    CHECK(mat_sum_all(o) == 6.0 && mat_min_all(o) == 1.0);
    mat f = mat_full(2, 2, -2.5);
    CHECK(mat_get(f, 1, 1) == -2.5 && mat_sum_all(f) == -10.0);
    mat e = mat_eye(4);
    int eye_ok = 1;
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++)
            eye_ok &= mat_get(e, i, j) == (i == j ? 1.0 : 0.0);
    CHECK(eye_ok);

    mat a = mat_from(FX_A_ROWS, FX_A_COLS, fx_a);
    CHECK(a.rows == 3 && a.cols == 4 && mat_get(a, 2, 1) == 6.0 && mat_get(a, 0, 2) == 3.25);
    mat lit = MAT(3, 4, 1.5, -2, 3.25, 0.5, 4, 0, -1, 2.5, -3.5, 6, 2, -0.75);
    CHECK(mat_allclose(lit, a, 0, 0));
    mat_free(&lit);

    /* A wrong count in a literal is an error naming both counts, not a read past the end. */
    long errs = cairn_error_count();
    mat bad = MAT(2, 2, 1, 2, 3);
    CHECK(mat_is_empty(bad) && cairn_error_count() == errs + 1);
    CHECK(has_error("MAT: a 2 x 2 matrix needs 4 values, 3 were given"));

    mat ls = mat_linspace(0, 1, 5);
    CHECK(ls.rows == 1 && ls.cols == 5);
    CHECK(mat_get(ls, 0, 1) == 0.25 && mat_get(ls, 0, 4) == 1.0);
    mat ls1 = mat_linspace(3, 7, 1);
    CHECK(ls1.cols == 1 && ls1.data[0] == 3.0);
    mat ar = mat_arange(0, 1, 0.25);
    CHECK(ar.cols == 4 && ar.data[3] == 0.75);
    mat ar2 = mat_arange(5, 0, -2);
    CHECK(ar2.cols == 3 && ar2.data[0] == 5 && ar2.data[2] == 1);
    mat ar3 = mat_arange(0, 1, 0);
    CHECK(mat_is_empty(ar3) && has_error("mat_arange"));
    mat ar4 = mat_arange(0, 0.3, 0.1); /* NumPy: [0, 0.1, 0.2] — ceil((0.3-0)/0.1) = 3 */
    CHECK(ar4.cols == 3);

    mat v = MAT(1, 3, 1, 2, 3);
    mat d = mat_diag(v);
    CHECK(d.rows == 3 && mat_get(d, 1, 1) == 2 && mat_get(d, 0, 1) == 0 && mat_sum_all(d) == 6);
    mat dd = mat_diag_of(a);
    CHECK(dd.rows == 3 && dd.cols == 1 && dd.data[0] == 1.5 && dd.data[1] == 0.0 && dd.data[2] == 2.0);
    mat dbad = mat_diag(a);
    CHECK(mat_is_empty(dbad) && has_error("mat_diag: needs a vector (1 x n or n x 1), got 3x4"));

    mat neg = mat_ones(-2, 3);
    CHECK(mat_is_empty(neg) && has_error("mat_ones: negative shape -2 x 3"));

    mat_free(&z); mat_free(&o); mat_free(&f); mat_free(&e); mat_free(&a); mat_free(&ls); mat_free(&ls1);
    mat_free(&ar); mat_free(&ar2); mat_free(&ar4); mat_free(&v); mat_free(&d); mat_free(&dd);
}

static void test_access(void)
{
    mat a = mat_from(FX_A_ROWS, FX_A_COLS, fx_a);
    CHECK(mat_set(a, 1, 2, 9.0) == 0 && a.data[1 * 4 + 2] == 9.0);
    CHECK(*mat_at(a, 1, 2) == 9.0);
    long errs = cairn_error_count();
    CHECK(isnan(mat_get(a, 3, 0)));
    CHECK(has_error("mat_get: index (3, 0) out of range for a 3x4 matrix"));
    CHECK(mat_set(a, 0, -1, 1.0) == -1 && has_error("mat_set: index (0, -1)"));
    CHECK(mat_at(a, 0, 4) == NULL && has_error("mat_at: index (0, 4)"));
    CHECK(cairn_error_count() == errs + 3);
    CHECK(mat_fill(mat_block(a, 0, 0, 2, 2), 7.0) == 0);
    CHECK(mat_get(a, 1, 1) == 7.0 && mat_get(a, 2, 2) == 2.0 && mat_get(a, 0, 2) == 3.25);
    mat_free(&a);
}

static void test_views(void)
{
    mat a = mat_from(FX_A_ROWS, FX_A_COLS, fx_a);
    size_t bytes_before = cairn_bytes_in_use();

    mat r = mat_row(a, 1);
    CHECK(r.rows == 1 && r.cols == 4 && r.data == a.data + 4 && !(r.flags & MAT_OWNS));
    mat c = mat_col(a, 2);
    CHECK(c.rows == 3 && c.cols == 1 && c.stride == 4 && c.data == a.data + 2);
    CHECK(mat_get(c, 2, 0) == 2.0);
    mat b = mat_block(a, 1, 1, 2, 3);
    CHECK(b.rows == 2 && b.cols == 3 && b.stride == 4 && mat_get(b, 1, 0) == 6.0);
    mat rr = mat_row_range(a, 1, 2);
    CHECK(rr.rows == 2 && rr.data == a.data + 4);
    CHECK(cairn_bytes_in_use() == bytes_before); /* views allocate nothing */
    CHECK(mat_bytes(r) == 0 && mat_bytes(a) == 12 * sizeof(double));

    /* Writing through a view changes the original: the data is shared. */
    mat_set(c, 0, 0, 100.0);
    CHECK(mat_get(a, 0, 2) == 100.0);
    mat_set(b, 0, 0, -7.0);
    CHECK(mat_get(a, 1, 1) == -7.0);
    CHECK(mat_scale_inplace(r, 2.0) == 0 && mat_get(a, 1, 0) == 8.0 && mat_get(a, 1, 3) == 5.0);

    /* Freeing a view releases nothing. */
    mat_free(&b);
    CHECK(mat_is_empty(b) && cairn_bytes_in_use() == bytes_before && mat_get(a, 2, 3) == -0.75);

    CHECK(mat_is_empty(mat_row(a, 3)) && has_error("mat_row: row 3 out of range for a 3x4 matrix"));
    CHECK(mat_is_empty(mat_col(a, -1)) && has_error("mat_col: column -1 out of range"));
    CHECK(mat_is_empty(mat_block(a, 2, 2, 2, 2)) &&
          has_error("mat_block: block at (2, 2) of size 2x2 does not fit in a 3x4 matrix"));
    CHECK(mat_is_empty(mat_row_range(a, 2, 2)) && has_error("mat_row_range"));
    CHECK(mat_is_empty(mat_row(mat_empty(), 0)) && has_error("mat_row: empty matrix (0x0)"));

    /* Views of views keep the original stride. */
    mat bc = mat_col(mat_block(a, 0, 1, 3, 3), 1);
    CHECK(bc.stride == 4 && bc.data == a.data + 2 && mat_get(bc, 1, 0) == mat_get(a, 1, 2));
    mat_free(&a);
}

static void test_reshape_images(void)
{
    mat x = mat_arange(0, 24, 1);
    mat r = mat_reshape(x, 4, 6);
    CHECK(r.rows == 4 && r.cols == 6 && r.data == x.data && mat_get(r, 2, 3) == 15);
    mat r2 = mat_reshape(x, -1, 8);
    CHECK(r2.rows == 3 && r2.cols == 8);
    CHECK(mat_is_empty(mat_reshape(x, 5, 5)) &&
          has_error("mat_reshape: cannot reshape a 1x24 matrix (24 elements) to 5 x 5"));
    mat blk = mat_block(r, 0, 0, 2, 3);
    CHECK(mat_is_empty(mat_reshape(blk, 3, 2)) && has_error("not contiguous"));

    /* Two images of 2 channels x 2 x 3 per row, the way a batch is stored. */
    mat batch = mat_reshape(x, 2, 12);
    CHECK(mat_set_image_shape(&batch, 2, 2, 3) == 0);
    CHECK(mat_set_image_shape(&batch, 2, 2, 2) == -1 &&
          has_error("mat_set_image_shape: image shape 2x2x2 (8 values) does not match a row of a 2x12 matrix"));
    mat img = mat_row_as_image(batch, 1);
    CHECK(img.rows == 4 && img.cols == 3 && img.channels == 2 && img.height == 2 && img.width == 3);
    CHECK(img.data == x.data + 12 && mat_get(img, 3, 2) == 23);
    mat back = mat_image_as_row(img);
    CHECK(back.rows == 1 && back.cols == 12 && back.data == img.data && back.channels == 2 && back.height == 2);
    mat row = mat_row(batch, 1);
    CHECK(row.channels == 2 && row.width == 3);
    CHECK(mat_is_empty(mat_row_as_image(r, 0)) && has_error("has no image shape"));
    mat copy = mat_copy(batch);
    CHECK(copy.channels == 2 && copy.data != batch.data && mat_allclose(copy, batch, 0, 0));
    mat_free(&copy);
    mat_free(&x);
}

static void test_copies(void)
{
    mat a = mat_from(FX_A_ROWS, FX_A_COLS, fx_a);
    mat blk = mat_block(a, 1, 1, 2, 2);
    mat c = mat_copy(blk);
    CHECK(c.stride == 2 && (c.flags & MAT_OWNS) && mat_get(c, 1, 1) == 2.0 && mat_get(c, 0, 0) == 0.0);
    CHECK(mat_bytes(c) == 4 * sizeof(double));
    mat_set(c, 0, 0, 42);
    CHECK(mat_get(a, 1, 1) == 0.0); /* a copy does not share */

    mat dst = mat_zeros(2, 2);
    CHECK(mat_copy_into(dst, blk) == 0 && mat_get(dst, 1, 0) == 6.0);
    CHECK(mat_copy_into(dst, a) == -1 && has_error("mat_copy_into: shapes differ: dst is 2x2, src is 3x4"));

    int idx[] = {2, 0, 2};
    mat ri = mat_rows_index(a, idx, 3);
    CHECK(ri.rows == 3 && ri.cols == 4 && mat_get(ri, 0, 0) == -3.5 && mat_get(ri, 1, 2) == 3.25 &&
          mat_get(ri, 2, 3) == -0.75);
    int bad_idx[] = {0, 3};
    CHECK(mat_is_empty(mat_rows_index(a, bad_idx, 2)) &&
          has_error("mat_rows_index: index 3 (position 1) out of range for a 3x4 matrix"));
    int cidx[] = {3, 1};
    mat ci = mat_cols_index(a, cidx, 2);
    CHECK(ci.rows == 3 && ci.cols == 2 && mat_get(ci, 1, 0) == 2.5 && mat_get(ci, 2, 1) == 6.0);

    mat mask = mat_gt_scalar(mat_col(a, 0), 0); /* rows whose first value is positive */
    mat pos = mat_rows_where(a, mask);
    CHECK(pos.rows == 2 && pos.cols == 4 && mat_get(pos, 0, 0) == 1.5 && mat_get(pos, 1, 0) == 4.0);
    mat none = mat_rows_where(a, mat_sub(mask, mask));
    CHECK(none.rows == 0 && none.cols == 4 && mat_is_empty(none));
    CHECK(mat_is_empty(mat_rows_where(a, mat_row(a, 0))) &&
          has_error("mat_rows_where: mask is 1x4 but needs one value per row of the 3x4 matrix"));
    mat_free(&mask);
    mat_free(&pos);

    mat h = mat_hcat(a, ci);
    CHECK(h.rows == 3 && h.cols == 6 && mat_get(h, 1, 4) == 2.5 && mat_get(h, 2, 3) == -0.75);
    mat v = mat_vcat(a, mat_row(a, 0));
    CHECK(v.rows == 4 && v.cols == 4 && mat_get(v, 3, 2) == 3.25 && mat_get(v, 2, 0) == -3.5);
    CHECK(mat_is_empty(mat_hcat(a, MAT(2, 1, 1, 2))) &&
          has_error("mat_hcat: row counts differ: a is 3x4, b is 2x1"));
    CHECK(mat_is_empty(mat_vcat(a, ci)) && has_error("mat_vcat: column counts differ: a is 3x4, b is 3x2"));

    mat t = mat_transpose(a);
    int t_ok = t.rows == 4 && t.cols == 3;
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 4; j++)
            t_ok &= mat_get(t, j, i) == mat_get(a, i, j);
    CHECK(t_ok);
    /* A transpose larger than one tile, of a view. */
    rng_seed(5);
    mat big = mat_rand(70, 90);
    mat bv = mat_block(big, 3, 4, 65, 77);
    mat bt = mat_transpose(bv);
    int bt_ok = bt.rows == 77 && bt.cols == 65;
    for (int i = 0; i < 65; i++)
        for (int j = 0; j < 77; j++)
            bt_ok &= mat_get(bt, j, i) == mat_get(bv, i, j);
    CHECK(bt_ok);

    mat_free(&a); mat_free(&c); mat_free(&dst); mat_free(&ri); mat_free(&ci); mat_free(&h); mat_free(&v);
    mat_free(&t); mat_free(&big); mat_free(&bt);
}

static void test_accounting(void)
{
    size_t before = cairn_bytes_in_use(), blocks = cairn_blocks_in_use();
    mat m = mat_zeros(100, 50);
    CHECK(mat_bytes(m) == 100 * 50 * sizeof(double));
    CHECK(cairn_bytes_in_use() == before + 40000 && cairn_blocks_in_use() == blocks + 1);
    CHECK(strcmp(mat_describe(m), "mat 100x50, 39.1 KiB") == 0);
    CHECK(strcmp(mat_describe(mat_row(m, 0)), "mat 1x50 view") == 0);
    mat s = MAT(1, 2, 1, 2);
    CHECK(strcmp(mat_describe(s), "mat 1x2, 16 B") == 0);
    mat_free(&s);
    mat_free(&m);
    CHECK(cairn_bytes_in_use() == before && cairn_blocks_in_use() == blocks);
    CHECK(strcmp(mat_describe(m), "mat 0x0, empty") == 0);
}

static void test_display(void)
{
    char expected[16384];
    for (size_t k = 0; k < sizeof fx_disp / sizeof fx_disp[0]; k++) {
        mat m = mat_from(fx_disp[k].rows, fx_disp[k].cols, fx_disp[k].values);
        char *text = mat_format_text(m);
        snprintf(expected, sizeof expected, "mat %dx%d\n%s", fx_disp[k].rows, fx_disp[k].cols, fx_disp[k].text);
        int same = text && strcmp(text, expected) == 0;
        CHECK(same);
        if (!same)
            fprintf(stderr, "display case %s:\n got: %s\nwant: %s\n", fx_disp[k].name, text, expected);
        free(text);
        mat_free(&m);
    }
    /* A view prints its own elements, not its parent's. */
    mat a = mat_from(FX_A_ROWS, FX_A_COLS, fx_a);
    char *t = mat_format_text(mat_col(a, 1));
    CHECK(strcmp(t, "mat 3x1\n[[-2.]\n [ 0.]\n [ 6.]]") == 0);
    free(t);
    t = mat_format_text(mat_empty());
    CHECK(strcmp(t, "mat 0x0 (empty)") == 0);
    free(t);

    char *html = mat_format_html(a);
    CHECK(strstr(html, "<table") && strstr(html, "<caption>mat 3x4</caption>"));
    CHECK(strstr(html, "<tr><th>2</th><td>-3.5</td><td>6.</td><td>2.</td><td>-0.75</td></tr>"));
    free(html);
    rng_seed(1);
    mat big = mat_rand(100, 20);
    html = mat_format_html(big);
    int cells = 0;
    for (const char *p = html; (p = strstr(p, "<td>")); p++)
        cells++;
    CHECK(cells == 7 * 7); /* 6 shown rows + the ⋮ row, 6 shown columns + the … column */
    CHECK(strstr(html, "<th>99</th>") && strstr(html, "<th>19</th>") && !strstr(html, "<th>50</th>"));
    CHECK(strstr(html, "\u22f1"));
    free(html);

    char *latex = mat_format_latex(MAT(2, 2, 1, 2.5, 3, -4));
    CHECK(latex && strcmp(latex, "$$\\begin{bmatrix}\n1 & 2.5 \\\\\n3 & -4\n\\end{bmatrix}$$") == 0);
    free(latex);
    CHECK(mat_format_latex(big) == NULL);

    display_set_sink(capture_sink);
    mat_display_result(a);
    CHECK(sink_calls == 1 && sink_kind == DISPLAY_RESULT && sink_nparts == 3);
    CHECK(strcmp(sink_mimes[0], "text/plain") == 0 && strcmp(sink_mimes[1], "text/html") == 0 &&
          strcmp(sink_mimes[2], "text/latex") == 0);
    CHECK(strncmp(sink_text, "mat 3x4\n[[ 1.5  -2. ", 20) == 0);
    mat_show(big);
    CHECK(sink_calls == 2 && sink_kind == DISPLAY_DATA && sink_nparts == 2); /* too big for LaTeX */
    display_set_sink(NULL);
    mat_free(&big);
    mat_free(&a);
}

int main(void)
{
    test_creation();
    test_access();
    test_views();
    test_reshape_images();
    test_copies();
    test_accounting();
    test_display();
    return check_summary("mat");
}
