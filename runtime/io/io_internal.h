/* io_internal.h — helpers shared by the file readers and writers (not seen by cells). */
#ifndef CAIRN_IO_INTERNAL_H
#define CAIRN_IO_INTERNAL_H

#include <stddef.h>
#include <stdio.h>
#include "cairn/mat.h"

/* An element type of a binary file: kind 'f' (float), 'i' (signed), 'u' (unsigned) or
 * 'b' (bool), its size in bytes and its byte order. */
typedef struct io_dtype {
    char kind;
    int size;
    int big_endian;
} io_dtype;

/* Parse NumPy-style type strings: "<f8", ">i2", "|u1", "=f4", "f8", "b1", "?", "u1". 0 or -1. */
int io_parse_dtype(const char *s, io_dtype *dt);

/* Convert count elements of type dt at src to doubles at dst. */
void io_convert(const void *src, io_dtype dt, size_t count, double *dst);

/* fopen for reading that reports "func: cannot open 'path': strerror" and returns NULL. */
FILE *io_open_read(const char *func, const char *path);

/* Size of an open file in bytes, or -1. */
long long io_file_size(FILE *f);

/* Read exactly n bytes; on a short read reports a truncation error naming what was
 * expected and what the file held, and returns -1. */
int io_read_exact(const char *func, const char *path, FILE *f, void *buf, size_t n, const char *what);

/* Check a writer's stream at the end (fflush/ferror/fclose) and report a failure with the path. */
int io_close_write(const char *func, const char *path, FILE *f);

/* CSV lines as csv_read sees them (the dmat workers read their rows with the same rules):
 * a line [p, end) of only spaces is blank; fields are split by delim; a field is a number,
 * or empty / "nan" / "NA" (NAN), after trimming spaces and one pair of double quotes.
 * io_csv_parse_field returns 0, or -1 when the field is not a number. */
int io_csv_blank(const char *p, const char *end);
int io_csv_count_fields(const char *p, const char *end, char delim);
int io_csv_parse_field(const char *p, const char *end, double *v);

/* Slices first .. first+count-1 of volume_shepp_logan's clean phantom (no noise) added
 * into out (count x height*width, row-major): the dmat workers make their own slices. */
void volume_shepp_logan_add(double *out, int first, int count, int n_slices, int height, int width);

/* 0 when the phantom's shape and noise are valid, else -1 after an error naming func. */
int volume_check_args(const char *func, int n_slices, int height, int width, double noise_sigma);

#endif
