/* csv.c — numeric CSV files.
 *
 * The reader loads the file, counts rows and the columns of the first data row, then
 * parses every field with strtod. Blank lines and '\r' are ignored, surrounding spaces
 * and double quotes around a field are allowed; an empty field, "nan" or "NA" is NAN
 * (missing value, as numpy.genfromtxt). Anything else that is not a number, or a row
 * with a different number of fields, is an error naming the path, line and column. */
#include "cairn/io.h"
#include "cairn/error.h"
#include "io_internal.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *RFUNC = "csv_read";

/* Fields in the line [p, end) split by delim. */
int io_csv_count_fields(const char *p, const char *end, char delim)
{
    int n = 1;
    for (; p < end; p++)
        if (*p == delim)
            n++;
    return n;
}

int io_csv_blank(const char *p, const char *end)
{
    for (; p < end; p++)
        if (!isspace((unsigned char)*p))
            return 0;
    return 1;
}

/* Parse one field [p, end) into *v; -1 when it is not a number. */
int io_csv_parse_field(const char *p, const char *end, double *v)
{
    while (p < end && isspace((unsigned char)*p))
        p++;
    while (end > p && isspace((unsigned char)end[-1]))
        end--;
    if (end - p >= 2 && *p == '"' && end[-1] == '"') {
        p++;
        end--;
    }
    if (p == end) {
        *v = NAN;
        return 0;
    }
    char buf[128];
    size_t n = (size_t)(end - p);
    if (n >= sizeof buf)
        return -1;
    memcpy(buf, p, n);
    buf[n] = '\0';
    if (strcasecmp(buf, "na") == 0) {
        *v = NAN;
        return 0;
    }
    char *stop;
    *v = strtod(buf, &stop);
    return *stop == '\0' ? 0 : -1;
}

mat csv_read(const char *path, char delimiter, int has_header)
{
    char delim = delimiter ? delimiter : ',';
    FILE *f = io_open_read(RFUNC, path);
    if (!f)
        return mat_empty();
    long long size = io_file_size(f);
    char *text = size >= 0 ? malloc((size_t)size + 1) : NULL;
    if (!text) {
        cairn_error(RFUNC, "cannot read '%s' (%lld bytes)", path, size);
        fclose(f);
        return mat_empty();
    }
    if (io_read_exact(RFUNC, path, f, text, (size_t)size, "text") < 0) {
        free(text);
        fclose(f);
        return mat_empty();
    }
    fclose(f);
    text[size] = '\0';
    for (long long i = 0; i < size; i++)
        if (text[i] == '\r')
            text[i] = ' ';
    if (memchr(text, '\0', (size_t)size)) {
        cairn_error(RFUNC, "'%s' is not a text file (it contains NUL bytes)", path);
        free(text);
        return mat_empty();
    }

    /* Spreadsheets often start UTF-8 files with a byte order mark; it is not data. */
    char *start = size >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0 ? text + 3 : text;

    /* Pass 1: shape. */
    int rows = 0, cols = 0, skipped_header = !has_header;
    int first_line = 0, line = 0;
    for (char *p = start; *p;) {
        char *e = strchr(p, '\n');
        if (!e)
            e = p + strlen(p);
        line++;
        if (!io_csv_blank(p, e)) {
            if (!skipped_header) {
                skipped_header = 1;
            } else {
                int n = io_csv_count_fields(p, e, delim);
                if (rows == 0) {
                    cols = n;
                    first_line = line;
                } else if (n != cols) {
                    cairn_error(RFUNC, "'%s' line %d has %d fields but line %d has %d (delimiter '%c')", path, line,
                                n, first_line, cols, delim);
                    free(text);
                    return mat_empty();
                }
                rows++;
            }
        }
        p = *e ? e + 1 : e;
    }
    if (rows == 0) {
        cairn_error(RFUNC, "'%s' has no data rows%s", path, has_header ? " after the header" : "");
        free(text);
        return mat_empty();
    }
    mat out = mat_alloc(rows, cols);
    if (mat_is_empty(out)) {
        free(text);
        return out;
    }
    /* Pass 2: values. */
    int r = 0;
    line = 0;
    skipped_header = !has_header;
    for (char *p = start; *p;) {
        char *e = strchr(p, '\n');
        if (!e)
            e = p + strlen(p);
        line++;
        if (!io_csv_blank(p, e)) {
            if (!skipped_header) {
                skipped_header = 1;
            } else {
                char *q = p;
                for (int c = 0; c < cols; c++) {
                    char *fe = q;
                    while (fe < e && *fe != delim)
                        fe++;
                    if (io_csv_parse_field(q, fe, mat_ptr(out, r, c)) < 0) {
                        int n = (int)(fe - q) < 40 ? (int)(fe - q) : 40;
                        cairn_error(RFUNC, "'%s' line %d column %d: '%.*s' is not a number", path, line, c + 1, n,
                                    q);
                        mat_free(&out);
                        free(text);
                        return out;
                    }
                    q = fe + 1;
                }
                r++;
            }
        }
        p = *e ? e + 1 : e;
    }
    free(text);
    return out;
}

int csv_write(const char *path, mat A, char delimiter, const char *header)
{
    const char *func = "csv_write";
    char delim = delimiter ? delimiter : ',';
    if (!path) {
        cairn_error(func, "path is NULL");
        return -1;
    }
    if (A.rows < 0 || A.cols < 0 || (A.rows * (long long)A.cols > 0 && !A.data)) {
        cairn_error(func, "cannot write an invalid %d x %d matrix to '%s'", A.rows, A.cols, path);
        return -1;
    }
    FILE *f = fopen(path, "w");
    if (!f) {
        cairn_error(func, "cannot open '%s' for writing: %s", path, strerror(errno));
        return -1;
    }
    if (header)
        fprintf(f, "%s\n", header);
    for (int i = 0; i < A.rows; i++) {
        for (int j = 0; j < A.cols; j++) {
            if (j)
                fputc(delim, f);
            fprintf(f, "%.17g", *mat_ptr(A, i, j));
        }
        fputc('\n', f);
    }
    return io_close_write(func, path, f);
}
