/* worker_io.c — each rank reads its own rows of a file: NumPy .npy (C order), IDX
 * (plain or gzip, as Fashion-MNIST ships) or CSV. For npy and IDX rank 0 reads the header
 * and broadcasts the shape; then every rank opens the file itself, seeks to its first row
 * (gzseek decompresses up to it) and converts only its rows, so the data never passes
 * through rank 0 or the driver. On a real cluster the path must be visible to every rank.
 *
 * A CSV row has no fixed size, so its rows are found in two passes, each rank over about
 * size / ranks bytes: first every rank counts the lines that start in its byte range
 * [size·r/P, size·(r+1)/P) (blank ones too, and the field counts of its first non-blank
 * lines); an all-gather of those counts gives the shape, the header's owner and the
 * data-row and line number where each range starts. Then each rank seeks to the range
 * that holds its first row, skips to it and parses its rows with csv_read's own rules
 * (io_internal.h). Errors are csv_read's, with its precedence: a row with the wrong number
 * of fields anywhere before a field that is not a number. */
#include "worker.h"

#include "../../io/io_internal.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

enum { T_U8, T_I8, T_I16, T_U16, T_I32, T_U32, T_I64, T_F32, T_F64 };

typedef struct layout {
    int ok;
    int64_t rows, cols;
    int type, size, big_endian;
    int64_t offset; /* first data byte */
} layout;

static int npy_header(const char *path, layout *L, char *err, size_t errsize)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errsize, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    unsigned char pre[12];
    if (fread(pre, 1, 10, f) != 10 || memcmp(pre, "\x93NUMPY", 6) != 0) {
        fclose(f);
        snprintf(err, errsize, "%s is not a .npy file", path);
        return -1;
    }
    uint32_t hlen;
    int64_t start;
    if (pre[6] == 1) {
        hlen = (uint32_t)pre[8] | (uint32_t)pre[9] << 8;
        start = 10;
    } else {
        if (fread(pre + 10, 1, 2, f) != 2) {
            fclose(f);
            snprintf(err, errsize, "%s: truncated header", path);
            return -1;
        }
        hlen = (uint32_t)pre[8] | (uint32_t)pre[9] << 8 | (uint32_t)pre[10] << 16 | (uint32_t)pre[11] << 24;
        start = 12;
    }
    char *h = calloc(1, (size_t)hlen + 1);
    if (!h || fread(h, 1, hlen, f) != hlen) {
        free(h);
        fclose(f);
        snprintf(err, errsize, "%s: truncated header", path);
        return -1;
    }
    fclose(f);
    L->offset = start + hlen;
    const char *d = strstr(h, "'descr'"), *fo = strstr(h, "'fortran_order'"), *sh = strstr(h, "'shape'");
    int rc = -1;
    if (!d || !fo || !sh) {
        snprintf(err, errsize, "%s: header without descr, fortran_order or shape", path);
        goto done;
    }
    d = strchr(d + 7, '\'');
    char descr[16] = "";
    if (d)
        sscanf(d + 1, "%15[^']", descr);
    if (strstr(fo, "True")) {
        snprintf(err, errsize, "%s is in Fortran order; save it in C order (np.ascontiguousarray)", path);
        goto done;
    }
    L->big_endian = descr[0] == '>';
    const char *t = descr + (descr[0] == '<' || descr[0] == '>' || descr[0] == '|' || descr[0] == '=');
    static const struct { const char *name; int type, size; } types[] = {
        {"u1", T_U8, 1}, {"i1", T_I8, 1}, {"b1", T_U8, 1}, {"i2", T_I16, 2}, {"u2", T_U16, 2},
        {"i4", T_I32, 4}, {"u4", T_U32, 4}, {"i8", T_I64, 8}, {"f4", T_F32, 4}, {"f8", T_F64, 8},
    };
    L->size = 0;
    for (size_t k = 0; k < sizeof types / sizeof types[0]; k++)
        if (strcmp(t, types[k].name) == 0) {
            L->type = types[k].type;
            L->size = types[k].size;
        }
    if (!L->size) {
        snprintf(err, errsize, "%s: dtype '%s' is not supported (numbers only)", path, descr);
        goto done;
    }
    const char *p = strchr(sh, '(');
    int64_t dims[8];
    int nd = 0;
    while (p && *p && *p != ')' && nd < 8) {
        p++;
        while (*p == ' ')
            p++;
        if (isdigit((unsigned char)*p)) {
            dims[nd++] = strtoll(p, (char **)&p, 10);
            while (*p == ' ')
                p++;
        }
        if (*p != ',')
            break;
    }
    if (nd == 0) {
        snprintf(err, errsize, "%s holds a scalar, not rows", path);
        goto done;
    }
    L->rows = dims[0];
    L->cols = 1;
    for (int k = 1; k < nd; k++)
        L->cols *= dims[k];
    rc = 0;
done:
    free(h);
    return rc;
}

static int idx_header(const char *path, layout *L, char *err, size_t errsize)
{
    gzFile g = gzopen(path, "rb");
    if (!g) {
        snprintf(err, errsize, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    unsigned char h[4];
    if (gzread(g, h, 4) != 4 || h[0] != 0 || h[1] != 0 || h[3] < 1 || h[3] > 8) {
        gzclose(g);
        snprintf(err, errsize, "%s is not an IDX file", path);
        return -1;
    }
    static const struct { int code, type, size; } types[] = {
        {0x08, T_U8, 1}, {0x09, T_I8, 1}, {0x0B, T_I16, 2}, {0x0C, T_I32, 4}, {0x0D, T_F32, 4}, {0x0E, T_F64, 8},
    };
    L->size = 0;
    for (size_t k = 0; k < sizeof types / sizeof types[0]; k++)
        if (types[k].code == h[2]) {
            L->type = types[k].type;
            L->size = types[k].size;
        }
    if (!L->size) {
        gzclose(g);
        snprintf(err, errsize, "%s: unknown IDX type 0x%02x", path, h[2]);
        return -1;
    }
    L->big_endian = 1;
    L->cols = 1;
    for (int k = 0; k < h[3]; k++) {
        unsigned char b[4];
        if (gzread(g, b, 4) != 4) {
            gzclose(g);
            snprintf(err, errsize, "%s: truncated header", path);
            return -1;
        }
        int64_t dim = (int64_t)b[0] << 24 | (int64_t)b[1] << 16 | (int64_t)b[2] << 8 | b[3];
        if (k == 0)
            L->rows = dim;
        else
            L->cols *= dim;
    }
    L->offset = 4 + 4 * (int64_t)h[3];
    gzclose(g);
    return 0;
}

static double convert(const unsigned char *p, int type, int size, int big)
{
    unsigned char b[8];
    for (int k = 0; k < size; k++)
        b[k] = big ? p[size - 1 - k] : p[k];
    union { uint8_t u8; int8_t i8; int16_t i16; uint16_t u16; int32_t i32; uint32_t u32; int64_t i64; float f32; double f64; } v;
    memcpy(&v, b, (size_t)size);
    switch (type) {
    case T_U8: return v.u8;
    case T_I8: return v.i8;
    case T_I16: return v.i16;
    case T_U16: return v.u16;
    case T_I32: return v.i32;
    case T_U32: return v.u32;
    case T_I64: return (double)v.i64;
    case T_F32: return v.f32;
    default: return v.f64;
    }
}

/* ---- CSV ---- */

/* What a rank found in its byte range: lines that start there. */
typedef struct csv_range {
    int64_t start;     /* offset of its first line (the range's end when none) */
    int64_t lines;     /* lines, blank ones included */
    int64_t nonblank;  /* non-blank lines */
    int64_t fields[2]; /* fields of the first two non-blank lines */
    int64_t at[2];     /* their line index within the range */
    int64_t nul;       /* a NUL byte was seen */
} csv_range;

/* One line from f (which stands at offset pos): [*line, *line + *len) without its '\n',
 * '\r' as a space and a leading byte order mark dropped at offset 0, as csv_read sees it.
 * Returns the bytes consumed (0 at the end of the file). */
static ssize_t csv_line(FILE *f, int64_t pos, char **buf, size_t *cap, char **line, size_t *len, int *nul)
{
    ssize_t n = getline(buf, cap, f);
    if (n <= 0)
        return 0;
    char *p = *buf;
    size_t m = (size_t)n;
    if (m && p[m - 1] == '\n')
        m--;
    if (memchr(p, '\0', m))
        *nul = 1;
    for (size_t k = 0; k < m; k++)
        if (p[k] == '\r')
            p[k] = ' ';
    if (pos == 0 && m >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0) {
        p += 3;
        m -= 3;
    }
    *line = p;
    *len = m;
    return n;
}

static FILE *csv_open(const char *path, int64_t *size)
{
    FILE *f = fopen(path, "rb");
    struct stat st;
    if (!f || fstat(fileno(f), &st) != 0) {
        w_fail("cannot open '%s': %s", path, strerror(errno));
        if (f)
            fclose(f);
        return NULL;
    }
    *size = (int64_t)st.st_size;
    return f;
}

/* Pass 1 over this rank's byte range [lo, hi). */
static void csv_count(FILE *f, int64_t lo, int64_t hi, char delim, csv_range *R)
{
    char *buf = NULL, *line;
    size_t cap = 0, len;
    int nul = 0;
    int64_t pos = lo;
    memset(R, 0, sizeof *R);
    if (lo > 0) { /* the line that starts before lo belongs to an earlier rank */
        if (fseeko(f, (off_t)(lo - 1), SEEK_SET) != 0) {
            w_fail("rank %d: cannot seek: %s", W.rank, strerror(errno));
            return;
        }
        ssize_t n = getline(&buf, &cap, f);
        pos = lo - 1 + (n > 0 ? n : 0);
    }
    R->start = pos < hi ? pos : hi;
    while (pos < hi) {
        ssize_t n = csv_line(f, pos, &buf, &cap, &line, &len, &nul);
        if (n == 0)
            break;
        pos += n;
        if (!io_csv_blank(line, line + len)) {
            if (R->nonblank < 2) {
                R->fields[R->nonblank] = io_csv_count_fields(line, line + len, delim);
                R->at[R->nonblank] = R->lines;
            }
            R->nonblank++;
        }
        R->lines++;
    }
    R->nul = nul;
    free(buf);
}

static int read_csv(const dmat_msg *req, dmat_msg *rep)
{
    const char *path = req->text;
    char delim = (char)req->h.i[1];
    int header = req->h.i[2] != 0, P = W.size;
    int64_t size = 0;
    FILE *f = csv_open(path, &size);
    csv_range mine, *all = malloc((size_t)P * sizeof(csv_range));
    if (!all)
        w_fail("rank %d: out of memory", W.rank);
    if (f && all)
        csv_count(f, size * W.rank / P, size * (W.rank + 1) / P, delim, &mine);
    if (w_agree()) {
        if (f)
            fclose(f);
        free(all);
        return -1;
    }
    MPI_Allgather(&mine, (int)sizeof mine, MPI_BYTE, all, (int)sizeof mine, MPI_BYTE, W.comm);
    /* the shape, the header's owner, where each range's data rows and lines start */
    int64_t rows = 0, cols = 0, line0 = 0, *row_at = calloc((size_t)P + 1, sizeof(int64_t)),
            *line_at = calloc((size_t)P + 1, sizeof(int64_t));
    int owner = -1, nul = 0;
    for (int r = 0; r < P && row_at && line_at; r++) {
        int64_t data = all[r].nonblank;
        int skip = header && owner < 0 && data > 0;
        if (skip)
            owner = r;
        if (rows == 0 && data - skip > 0) {
            cols = all[r].fields[skip];
            line0 = line_at[r] + all[r].at[skip] + 1;
        }
        data -= skip;
        row_at[r + 1] = row_at[r] + data;
        line_at[r + 1] = line_at[r] + all[r].lines;
        rows += data;
        nul |= all[r].nul != 0;
    }
    if (header && owner < 0)
        owner = P; /* no line at all: nothing to skip */
    dobj *o = NULL;
    if (!row_at || !line_at)
        w_fail("rank %d: out of memory", W.rank);
    else if (nul)
        w_fail("'%s' is not a text file (it contains NUL bytes)", path);
    else if (rows == 0)
        w_fail("'%s' has no data rows%s", path, header ? " after the header" : "");
    else if (rows > INT32_MAX || cols > INT32_MAX)
        w_fail("%s: shape %lld x %lld cannot be a dmat", path, (long long)rows, (long long)cols);
    else
        o = store_new((uint64_t)req->h.i[7], (int)rows, (int)cols);
    if (w_agree()) {
        store_free((uint64_t)req->h.i[7]);
        goto out;
    }
    /* Pass 2: from the start of the range that holds row o->first, parse o->count rows.
     * The first line with a wrong number of fields and the first field that is not a
     * number are both kept, by line; csv_read reports the former first. */
    int64_t bad_fields = INT64_MAX, bad_value = INT64_MAX;
    char why[DMAT_MAX_TEXT + 200] = "";
    if (o->count > 0) {
        int q = 0;
        while (q + 1 < P && row_at[q + 1] <= o->first)
            q++;
        int64_t row = row_at[q], line = line_at[q], pos = all[q].start;
        int skip_header = q == owner;
        char *buf = NULL, *text;
        size_t cap = 0, len;
        int dummy = 0;
        if (fseeko(f, (off_t)pos, SEEK_SET) != 0)
            w_fail("rank %d: cannot seek in %s: %s", W.rank, path, strerror(errno));
        for (int i = 0; i < o->count && !W.failed && bad_fields == INT64_MAX;) {
            ssize_t n = csv_line(f, pos, &buf, &cap, &text, &len, &dummy);
            if (n == 0) {
                w_fail("rank %d: %s ended before row %d (was it changed while being read?)", W.rank, path,
                       o->first + i);
                break;
            }
            pos += n;
            line++;
            const char *end = text + len;
            if (io_csv_blank(text, end))
                continue;
            if (skip_header) {
                skip_header = 0;
                continue;
            }
            if (row++ < o->first)
                continue;
            int nf = io_csv_count_fields(text, end, delim);
            if (nf != cols) {
                bad_fields = line;
                snprintf(why, sizeof why, "'%s' line %lld has %d fields but line %lld has %lld (delimiter '%c')", path,
                         (long long)line, nf, (long long)line0, (long long)cols, delim);
                break;
            }
            const char *p = text;
            for (int c = 0; c < cols && bad_value == INT64_MAX; c++) {
                const char *fe = p;
                while (fe < end && *fe != delim)
                    fe++;
                if (io_csv_parse_field(p, fe, o->data + (size_t)i * cols + c) < 0) {
                    int w = (int)(fe - p) < 40 ? (int)(fe - p) : 40;
                    bad_value = line;
                    snprintf(why, sizeof why, "'%s' line %lld column %d: '%.*s' is not a number", path,
                             (long long)line, c + 1, w, p);
                }
                p = fe + 1;
            }
            i++;
        }
        free(buf);
    }
    /* the lowest bad line of the kind csv_read reports first names the error */
    int64_t worst[2] = {bad_fields, bad_value}, first_bad[2];
    MPI_Allreduce(worst, first_bad, 2, MPI_INT64_T, MPI_MIN, W.comm);
    int64_t which = first_bad[0] != INT64_MAX ? first_bad[0] : first_bad[1];
    int mine_is_it = which != INT64_MAX && (first_bad[0] != INT64_MAX ? bad_fields : bad_value) == which;
    if (mine_is_it)
        w_fail("%s", why);
    if (w_agree()) {
        store_free(o->id);
        goto out;
    }
    w_created(rep, o);
out:
    fclose(f);
    free(all), free(row_at), free(line_at);
    return W.failed ? -1 : 0;
}

int op_read(const dmat_msg *req, dmat_msg *rep)
{
    if (req->h.i[0] == 2)
        return read_csv(req, rep);
    const char *path = req->text;
    int idx = req->h.i[0] == 1;
    layout L;
    memset(&L, 0, sizeof L);
    char err[2 * DMAT_MAX_TEXT + 256] = "";
    if (W.rank == 0)
        L.ok = (idx ? idx_header(path, &L, err, sizeof err) : npy_header(path, &L, err, sizeof err)) == 0;
    MPI_Bcast(&L, (int)sizeof L, MPI_BYTE, 0, W.comm);
    if (!L.ok) {
        if (W.rank == 0)
            w_fail("%s", err);
        w_agree();
        return -1;
    }
    if (L.rows < 1 || L.cols < 1 || L.rows > INT32_MAX || L.cols > INT32_MAX) {
        w_fail("%s: shape %lld x %lld cannot be a dmat", path, (long long)L.rows, (long long)L.cols);
        w_agree();
        return -1;
    }
    dobj *o = store_new((uint64_t)req->h.i[7], (int)L.rows, (int)L.cols);
    if (w_agree()) {
        store_free((uint64_t)req->h.i[7]);
        return -1;
    }
    size_t rowbytes = (size_t)L.cols * (size_t)L.size, chunk_rows = (1u << 22) / rowbytes + 1;
    unsigned char *buf = malloc(chunk_rows * rowbytes);
    int64_t at = L.offset + (int64_t)o->first * (int64_t)rowbytes;
    if (!buf) {
        w_fail("rank %d: out of memory", W.rank);
    } else if (idx) {
        gzFile g = gzopen(path, "rb");
        if (!g || gzbuffer(g, 1 << 17) != 0 || gzseek(g, (z_off_t)at, SEEK_SET) != (z_off_t)at) {
            w_fail("rank %d: cannot read %s from byte %lld", W.rank, path, (long long)at);
        } else {
            for (int i = 0; i < o->count && !W.failed;) {
                int n = (size_t)(o->count - i) < chunk_rows ? o->count - i : (int)chunk_rows;
                if (gzread(g, buf, (unsigned)((size_t)n * rowbytes)) != (int)((size_t)n * rowbytes)) {
                    w_fail("rank %d: %s ends before row %d", W.rank, path, o->first + i + n);
                    break;
                }
                for (size_t t = 0; t < (size_t)n * (size_t)L.cols; t++)
                    o->data[(size_t)i * L.cols + t] = convert(buf + t * L.size, L.type, L.size, 1);
                i += n;
            }
        }
        if (g)
            gzclose(g);
    } else {
        FILE *f = fopen(path, "rb");
        if (!f || fseeko(f, (off_t)at, SEEK_SET) != 0) {
            w_fail("rank %d: cannot read %s: %s", W.rank, path, strerror(errno));
        } else {
            for (int i = 0; i < o->count;) {
                int n = (size_t)(o->count - i) < chunk_rows ? o->count - i : (int)chunk_rows;
                if (fread(buf, rowbytes, (size_t)n, f) != (size_t)n) {
                    w_fail("rank %d: %s ends before row %d", W.rank, path, o->first + i + n);
                    break;
                }
                if (L.type == T_F64 && !L.big_endian)
                    memcpy(o->data + (size_t)i * L.cols, buf, (size_t)n * rowbytes);
                else
                    for (size_t t = 0; t < (size_t)n * (size_t)L.cols; t++)
                        o->data[(size_t)i * L.cols + t] = convert(buf + t * L.size, L.type, L.size, L.big_endian);
                i += n;
            }
        }
        if (f)
            fclose(f);
    }
    free(buf);
    if (w_agree()) {
        store_free(o->id);
        return -1;
    }
    w_created(rep, o);
    return 0;
}
