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

#endif
