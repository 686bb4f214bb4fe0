/* idx.c — IDX files, the format of MNIST and Fashion-MNIST, plain or gzip-compressed.
 *
 * Layout: two zero bytes, a type byte (0x08 u8, 0x09 i8, 0x0B i16, 0x0C i32, 0x0D f32,
 * 0x0E f64), the number of dimensions, each dimension as a big-endian u32, then the
 * elements, big-endian, row-major. zlib's gz* functions read gzip and plain files alike;
 * the data is inflated in 1 MiB chunks and converted to doubles as it arrives, so the
 * whole uint8 image set never sits in memory next to the matrix. */
#include "cairn/io.h"
#include "cairn/display.h"
#include "cairn/error.h"
#include "io_internal.h"

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define CHUNK (1u << 20)

static const char *FUNC = "idx_read";

/* Read up to n bytes through zlib: the count read (short only at end of file), or -1
 * with the reason for corrupt compressed data in err. */
static long long gz_some(gzFile g, const char *path, void *buf, size_t n, char *err, size_t errlen)
{
    size_t got = 0;
    while (got < n) {
        unsigned ask = n - got > (1u << 30) ? (1u << 30) : (unsigned)(n - got);
        int r = gzread(g, (char *)buf + got, ask);
        if (r < 0) {
            int errnum;
            const char *msg = gzerror(g, &errnum);
            snprintf(err, errlen, "'%s': corrupt data: %s", path, errnum == Z_ERRNO ? strerror(errno) : msg);
            return -1;
        }
        if (r == 0)
            break;
        got += (size_t)r;
    }
    return (long long)got;
}

/* Read exactly n header bytes; reports truncation naming what was being read. */
static int gz_exact(gzFile g, const char *path, void *buf, size_t n, const char *what)
{
    char err[600];
    long long got = gz_some(g, path, buf, n, err, sizeof err);
    if (got < 0) {
        cairn_error(FUNC, "%s", err);
        return -1;
    }
    if ((size_t)got < n) {
        cairn_error(FUNC, "'%s' is truncated: expected %zu bytes of %s, got %lld", path, n, what, got);
        return -1;
    }
    return 0;
}

/* Inflating and converting to doubles each take about half the time of a big file, so
 * they overlap: this thread inflates chunk i+1 while a helper converts chunk i. The
 * slots form a ring; n[s] == 0 means slot s is free. */
#define NSLOT 4

typedef struct converter {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    unsigned char *buf[NSLOT];
    size_t n[NSLOT];
    double *dst[NSLOT];
    io_dtype dt;
    int stop;
} converter;

static void *convert_worker(void *arg)
{
    converter *c = arg;
    for (int s = 0;; s = (s + 1) % NSLOT) {
        pthread_mutex_lock(&c->lock);
        while (c->n[s] == 0 && !c->stop)
            pthread_cond_wait(&c->cond, &c->lock);
        size_t n = c->n[s];
        pthread_mutex_unlock(&c->lock);
        if (n == 0) /* stopped, and slots are consumed in fill order: nothing left */
            return NULL;
        io_convert(c->buf[s], c->dt, n, c->dst[s]);
        pthread_mutex_lock(&c->lock);
        c->n[s] = 0;
        pthread_cond_broadcast(&c->cond);
        pthread_mutex_unlock(&c->lock);
    }
}

/* Read rows x cols elements of type dt into out; 0, or -1 after reporting. Errors are
 * reported only once the helper has been joined: the kernel's error handler leaves the
 * cell with a longjmp, which must not strand a thread waiting on this stack frame. */
static int read_data(gzFile g, const char *path, const char *kind, io_dtype dt, long long rows, long long cols,
                     double *out)
{
    size_t count = (size_t)rows * (size_t)cols, esize = (size_t)dt.size;
    size_t per_chunk = CHUNK / esize;
    converter c;
    memset(&c, 0, sizeof c);
    c.dt = dt;
    int nslot = count * esize > 2 * CHUNK ? NSLOT : 1;
    int rc = 0;
    for (int s = 0; s < nslot; s++)
        if (!(c.buf[s] = malloc(CHUNK)))
            rc = -1;
    pthread_t worker;
    int threaded = 0;
    if (rc == 0 && nslot > 1) {
        pthread_mutex_init(&c.lock, NULL);
        pthread_cond_init(&c.cond, NULL);
        threaded = pthread_create(&worker, NULL, convert_worker, &c) == 0;
        if (!threaded) {
            pthread_mutex_destroy(&c.lock);
            pthread_cond_destroy(&c.cond);
        }
    }
    char err[600] = "";
    if (rc < 0)
        snprintf(err, sizeof err, "out of memory reading '%s'", path);
    size_t done_elems = 0, got_bytes = 0;
    for (int i = 0; rc == 0 && done_elems < count; i++) {
        if (cairn_interrupted()) {
            snprintf(err, sizeof err, "interrupted while reading '%s'", path);
            rc = -1;
            break;
        }
        int s = threaded ? i % NSLOT : 0;
        if (threaded) {
            pthread_mutex_lock(&c.lock);
            while (c.n[s] != 0)
                pthread_cond_wait(&c.cond, &c.lock);
            pthread_mutex_unlock(&c.lock);
        }
        size_t n = count - done_elems < per_chunk ? count - done_elems : per_chunk;
        long long got = gz_some(g, path, c.buf[s], n * esize, err, sizeof err);
        if (got < 0) {
            rc = -1;
            break;
        }
        got_bytes += (size_t)got;
        if ((size_t)got < n * esize) {
            snprintf(err, sizeof err, "'%s' (%s) is truncated: %lld x %lld elements need %zu bytes of data, got %zu",
                     path, kind, rows, cols, count * esize, got_bytes);
            rc = -1;
            break;
        }
        if (threaded) {
            pthread_mutex_lock(&c.lock);
            c.dst[s] = out + done_elems;
            c.n[s] = n;
            pthread_cond_broadcast(&c.cond);
            pthread_mutex_unlock(&c.lock);
        } else {
            io_convert(c.buf[s], dt, n, out + done_elems);
        }
        done_elems += n;
    }
    if (threaded) {
        pthread_mutex_lock(&c.lock);
        c.stop = 1;
        pthread_cond_broadcast(&c.cond);
        pthread_mutex_unlock(&c.lock);
        pthread_join(worker, NULL);
        pthread_mutex_destroy(&c.lock);
        pthread_cond_destroy(&c.cond);
    }
    for (int s = 0; s < nslot; s++)
        free(c.buf[s]);
    if (rc < 0)
        cairn_error(FUNC, "%s", err);
    return rc;
}

/* The parsed start of an IDX file. */
typedef struct idx_header {
    io_dtype dt;
    int ndim;
    long long dims[4];
    long long rows, cols;
} idx_header;

/* Check the 4 magic bytes; reports and returns -1 when they are not IDX. */
static int parse_magic(const char *path, const unsigned char head[4], idx_header *h)
{
    if (head[0] != 0 || head[1] != 0) {
        cairn_error(FUNC, "'%s' is not an IDX file: bad magic %02x %02x %02x %02x (expected 00 00 <type> <ndim>)",
                    path, head[0], head[1], head[2], head[3]);
        return -1;
    }
    io_dtype dt = {0, 0, 1};
    switch (head[2]) {
    case 0x08: dt.kind = 'u'; dt.size = 1; break;
    case 0x09: dt.kind = 'i'; dt.size = 1; break;
    case 0x0B: dt.kind = 'i'; dt.size = 2; break;
    case 0x0C: dt.kind = 'i'; dt.size = 4; break;
    case 0x0D: dt.kind = 'f'; dt.size = 4; break;
    case 0x0E: dt.kind = 'f'; dt.size = 8; break;
    default:
        cairn_error(FUNC, "'%s': unknown IDX element type 0x%02x (magic %02x %02x %02x %02x)", path, head[2],
                    head[0], head[1], head[2], head[3]);
        return -1;
    }
    h->dt = dt;
    h->ndim = head[3];
    if (h->ndim < 1 || h->ndim > 4) {
        cairn_error(FUNC, "'%s': IDX file with %d dimensions (1 to 4 are supported)", path, h->ndim);
        return -1;
    }
    return 0;
}

/* Decode the big-endian dimensions (4 * ndim bytes) and check the size; -1 after reporting. */
static int parse_dims(const char *path, const unsigned char *dbytes, idx_header *h)
{
    h->cols = 1;
    for (int d = 0; d < h->ndim; d++) {
        const unsigned char *p = dbytes + 4 * d;
        h->dims[d] = (long long)p[0] << 24 | (long long)p[1] << 16 | (long long)p[2] << 8 | (long long)p[3];
        if (d > 0)
            h->cols *= h->dims[d];
    }
    h->rows = h->dims[0];
    if (h->rows > INT_MAX || h->cols > INT_MAX || h->rows * h->cols > (1LL << 40)) {
        cairn_error(FUNC, "'%s': IDX array of %lld x %lld elements is too large", path, h->rows, h->cols);
        return -1;
    }
    if (h->rows == 0 || h->cols == 0) {
        cairn_error(FUNC, "'%s': IDX array is empty (%lld x %lld)", path, h->rows, h->cols);
        return -1;
    }
    return 0;
}

static mat alloc_for(const char *path, const idx_header *h)
{
    mat out = mat_alloc((int)h->rows, (int)h->cols);
    if (mat_is_empty(out))
        cairn_error(FUNC, "out of memory reading '%s' (%lld x %lld)", path, h->rows, h->cols);
    return out;
}

static void set_image_shape(mat *out, const idx_header *h)
{
    if (mat_is_empty(*out))
        return;
    if (h->ndim == 3) {
        out->channels = 1;
        out->height = (int)h->dims[1];
        out->width = (int)h->dims[2];
    } else if (h->ndim == 4) {
        out->channels = (int)h->dims[1];
        out->height = (int)h->dims[2];
        out->width = (int)h->dims[3];
    }
}

/* Fast path for gzip files: libdeflate (Debian package libdeflate0) inflates whole
 * buffers about twice as fast as zlib. It is looked up with dlopen, so it is neither a
 * build nor a run dependency (CAIRN_NO_LIBDEFLATE=1 turns it off): without it, or for anything unusual (multi-member gzip,
 * corrupt or truncated data, an implausible size in the gzip trailer), the zlib path
 * below runs and produces the diagnostics. */
typedef void *(*ld_alloc_fn)(void);
typedef int (*ld_gzip_fn)(void *, const void *, size_t, void *, size_t, size_t *, size_t *);
typedef void (*ld_free_fn)(void *);
static struct {
    int tried;
    ld_alloc_fn alloc;
    ld_gzip_fn gzip_ex;
    ld_free_fn free;
} libdeflate;

static int libdeflate_available(void)
{
    if (getenv("CAIRN_NO_LIBDEFLATE")) /* lets tests and benchmarks compare the zlib path */
        return 0;
    if (!libdeflate.tried) {
        libdeflate.tried = 1;
        void *h = dlopen("libdeflate.so.0", RTLD_NOW | RTLD_LOCAL);
        if (h) {
            libdeflate.alloc = (ld_alloc_fn)dlsym(h, "libdeflate_alloc_decompressor");
            libdeflate.gzip_ex = (ld_gzip_fn)dlsym(h, "libdeflate_gzip_decompress_ex");
            libdeflate.free = (ld_free_fn)dlsym(h, "libdeflate_free_decompressor");
        }
    }
    return libdeflate.alloc && libdeflate.gzip_ex && libdeflate.free;
}

typedef struct convert_job {
    const unsigned char *src;
    io_dtype dt;
    size_t count;
    double *dst;
} convert_job;

static void *convert_job_run(void *arg)
{
    convert_job *j = arg;
    io_convert(j->src, j->dt, j->count, j->dst);
    return NULL;
}

/* 1: handled (out set, or an error reported and out empty); 0: use the zlib path. */
static int read_with_libdeflate(const char *path, mat *out)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    long long size = io_file_size(f);
    unsigned char *in = size > 18 ? malloc((size_t)size) : NULL;
    int ok = in && fread(in, 1, (size_t)size, f) == (size_t)size;
    fclose(f);
    size_t isize = ok ? (size_t)in[size - 4] | (size_t)in[size - 3] << 8 | (size_t)in[size - 2] << 16 |
                            (size_t)in[size - 1] << 24
                      : 0;
    /* Deflate cannot expand more than 1032:1; anything else is not a single clean member. */
    unsigned char *raw = ok && isize >= 8 && isize <= (size_t)size * 1032 ? malloc(isize) : NULL;
    size_t in_used = 0, out_len = 0;
    int rc = -1;
    if (raw) {
        void *d = libdeflate.alloc();
        if (d) {
            rc = libdeflate.gzip_ex(d, in, (size_t)size, raw, isize, &in_used, &out_len);
            libdeflate.free(d);
        }
    }
    free(in);
    if (rc != 0 || in_used != (size_t)size || out_len != isize) {
        free(raw);
        return 0;
    }
    idx_header h;
    if (cairn_interrupted()) {
        free(raw);
        cairn_error(FUNC, "interrupted while reading '%s'", path);
        return 1;
    }
    if (parse_magic(path, raw, &h) < 0) {
        free(raw);
        return 1;
    }
    if (out_len < 4 + 4 * (size_t)h.ndim) { /* a short header: the zlib path words the error */
        free(raw);
        return 0;
    }
    if (parse_dims(path, raw + 4, &h) < 0) {
        free(raw);
        return 1;
    }
    size_t start = 4 + 4 * (size_t)h.ndim;
    size_t count = (size_t)h.rows * (size_t)h.cols, need = count * (size_t)h.dt.size;
    if (out_len - start < need) {
        cairn_error(FUNC, "'%s' (gzip-compressed IDX) is truncated: %lld x %lld elements need %zu bytes of data, got %zu",
                    path, h.rows, h.cols, need, out_len - start);
        free(raw);
        return 1;
    }
    *out = alloc_for(path, &h);
    if (mat_is_empty(*out)) {
        free(raw);
        return 1;
    }
    /* Convert the two halves at once. */
    size_t half = count / 2;
    convert_job jobs[2] = {{raw + start, h.dt, half, out->data},
                           {raw + start + half * (size_t)h.dt.size, h.dt, count - half, out->data + half}};
    pthread_t t;
    int threaded = count > CHUNK && pthread_create(&t, NULL, convert_job_run, &jobs[1]) == 0;
    convert_job_run(&jobs[0]);
    if (threaded)
        pthread_join(t, NULL);
    else
        convert_job_run(&jobs[1]);
    free(raw);
    set_image_shape(out, &h);
    return 1;
}

mat idx_read(const char *path)
{
    FILE *probe = io_open_read(FUNC, path); /* for a strerror message naming the path */
    if (!probe)
        return mat_empty();
    unsigned char magic2[2] = {0, 0};
    size_t nmagic = fread(magic2, 1, 2, probe);
    fclose(probe);
    int gz = nmagic == 2 && magic2[0] == 0x1f && magic2[1] == 0x8b;
    const char *kind = gz ? "gzip-compressed IDX" : "IDX";
    mat out = mat_empty();
    if (gz && libdeflate_available() && read_with_libdeflate(path, &out))
        return out;

    gzFile g = gzopen(path, "rb");
    if (!g) {
        cairn_error(FUNC, "cannot open '%s': %s", path, strerror(errno));
        return mat_empty();
    }
    gzbuffer(g, CHUNK);
    unsigned char head[4], dbytes[16];
    idx_header h;
    if (gz_exact(g, path, head, 4, "the IDX magic number") < 0 || parse_magic(path, head, &h) < 0 ||
        gz_exact(g, path, dbytes, 4 * (size_t)h.ndim, "the IDX dimensions") < 0 || parse_dims(path, dbytes, &h) < 0)
        goto done;
    out = alloc_for(path, &h);
    if (mat_is_empty(out))
        goto done;
    if (read_data(g, path, kind, h.dt, h.rows, h.cols, out.data) < 0)
        mat_free(&out);
    set_image_shape(&out, &h);
done:
    gzclose(g);
    return out;
}
