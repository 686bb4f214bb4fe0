/* nn_save.c — a network to and from a file, and its weights as NumPy .npy files.
 *
 * The model file (little-endian, version 2; see runtime/nn/README.md) holds the
 * architecture as the builder calls that made it (nn_branch/nn_add/nn_concat included), then the flat float32 buffers:
 * parameters, the optimizer's two moment buffers, batch-norm running statistics,
 * and a CRC-32 of everything before it. Loading replays the builder calls (so the
 * same shape checks run), then copies the buffers; a file from a newer version, a
 * wrong magic, a short file or a CRC mismatch is a clear error, never a half-loaded
 * model. The .npy export writes each layer's tensors with PyTorch's shapes and names
 * (layer3_conv2d_weight.npy is F x C x k x k), which numpy.load and torch read. */
#include "nn_internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>

#include "cairn/error.h"

#define NN_MAGIC "CAIRN-NN"
#define NN_VERSION 2u /* 2: each layer also records the layers it reads */

typedef struct wbuf {
    unsigned char *p;
    size_t n, cap;
    int failed;
} wbuf;

static void put(wbuf *b, const void *src, size_t size)
{
    if (b->failed)
        return;
    if (b->n + size > b->cap) {
        size_t cap = (b->cap ? b->cap * 2 : 4096) + size;
        unsigned char *p = nn_alloc_zero(cap);
        if (!p) {
            b->failed = 1;
            return;
        }
        if (b->p)
            memcpy(p, b->p, b->n);
        nn_release(b->p);
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, src, size);
    b->n += size;
}

static void put_i32(wbuf *b, int32_t v) { put(b, &v, 4); }
static void put_u64(wbuf *b, uint64_t v) { put(b, &v, 8); }
static void put_f64(wbuf *b, double v) { put(b, &v, 8); }

static void put_reals(wbuf *b, const nn_real *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        float f = (float)v[i];
        put(b, &f, 4);
    }
}

int nn_save(nn_model *m, const char *path)
{
    if (!m || !path) {
        cairn_error("nn_save", "needs a model and a path");
        return -1;
    }
    wbuf b = {NULL, 0, 0, 0};
    put(&b, NN_MAGIC, 8);
    put_i32(&b, NN_VERSION);
    put_i32(&b, m->in_c), put_i32(&b, m->in_h), put_i32(&b, m->in_w);
    put_i32(&b, m->nlayers), put_i32(&b, m->loss), put_i32(&b, m->init_scheme);
    put_u64(&b, m->seed), put_u64(&b, (uint64_t)m->step);
    for (int i = 0; i < 4; i++)
        put_u64(&b, m->rng[i]);
    const nn_optimizer *o = &m->opt;
    put_i32(&b, o->kind);
    put_f64(&b, o->lr), put_f64(&b, o->momentum), put_f64(&b, o->alpha), put_f64(&b, o->beta1);
    put_f64(&b, o->beta2), put_f64(&b, o->eps), put_f64(&b, o->weight_decay);
    for (int i = 0; i < m->nlayers; i++) {
        const nn_layer *l = &m->layers[i];
        put_i32(&b, l->kind), put_i32(&b, l->out_c), put_i32(&b, l->k), put_i32(&b, l->stride);
        put_i32(&b, l->pad), put_i32(&b, l->bias), put_f64(&b, l->rate);
        put_i32(&b, l->src), put_i32(&b, l->src2); /* format 2 */
    }
    put_u64(&b, m->nparams), put_u64(&b, m->nstate);
    put_reals(&b, m->params, m->nparams);
    put_reals(&b, m->opt_m, m->nparams);
    put_reals(&b, m->opt_v, m->nparams);
    put_reals(&b, m->state, m->nstate);
    uint32_t crc = (uint32_t)crc32(0L, b.p, (uInt)b.n);
    put(&b, &crc, 4);
    if (b.failed) {
        nn_release(b.p);
        cairn_error("nn_save", "out of memory serialising the model for %s", path);
        return -1;
    }
    FILE *f = fopen(path, "wb");
    int ok = f && fwrite(b.p, 1, b.n, f) == b.n;
    if (f && fclose(f) != 0)
        ok = 0;
    nn_release(b.p);
    if (!ok) {
        cairn_error("nn_save", "cannot write %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

typedef struct rbuf {
    const unsigned char *p;
    size_t n, at;
    int short_read;
} rbuf;

static void get(rbuf *r, void *dst, size_t size)
{
    if (r->at + size > r->n) {
        r->short_read = 1;
        memset(dst, 0, size);
        return;
    }
    memcpy(dst, r->p + r->at, size);
    r->at += size;
}

static int32_t get_i32(rbuf *r) { int32_t v; get(r, &v, 4); return v; }
static uint64_t get_u64(rbuf *r) { uint64_t v; get(r, &v, 8); return v; }
static double get_f64(rbuf *r) { double v; get(r, &v, 8); return v; }

static void get_reals(rbuf *r, nn_real *dst, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        float f;
        get(r, &f, 4);
        dst[i] = f;
    }
}

static unsigned char *read_all(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        cairn_error("nn_load", "cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 1 << 16, n = 0;
    unsigned char *p = nn_alloc_zero(cap);
    while (p) {
        size_t got = fread(p + n, 1, cap - n, f);
        n += got;
        if (n < cap)
            break;
        unsigned char *q = nn_alloc_zero(cap * 2);
        if (q)
            memcpy(q, p, n);
        nn_release(p);
        p = q;
        cap *= 2;
    }
    fclose(f);
    *size = n;
    return p;
}

nn_model *nn_load(const char *path)
{
    if (!path) {
        cairn_error("nn_load", "path is NULL");
        return NULL;
    }
    size_t size = 0;
    unsigned char *data = read_all(path, &size);
    if (!data)
        return NULL;
    rbuf r = {data, size, 0, 0};
    char magic[8];
    get(&r, magic, 8);
    if (r.short_read || memcmp(magic, NN_MAGIC, 8) != 0) {
        nn_release(data);
        cairn_error("nn_load", "%s is not a cairn model file (no CAIRN-NN magic)", path);
        return NULL;
    }
    uint32_t version = (uint32_t)get_i32(&r);
    if (version > NN_VERSION || version == 0) {
        nn_release(data);
        cairn_error("nn_load", "%s has format version %u; this cairn reads version %u and older: update cairn to load it",
                    path, version, NN_VERSION);
        return NULL;
    }
    uint32_t crc_file = 0;
    if (size < 12 + 4 || (memcpy(&crc_file, data + size - 4, 4), crc_file != (uint32_t)crc32(0L, data, (uInt)(size - 4)))) {
        nn_release(data);
        cairn_error("nn_load", "%s is corrupt or truncated (checksum mismatch, %zu bytes)", path, size);
        return NULL;
    }
    r.n = size - 4;
    int c = get_i32(&r), h = get_i32(&r), w = get_i32(&r), nl = get_i32(&r), loss = get_i32(&r), init = get_i32(&r);
    uint64_t seed = get_u64(&r), step = get_u64(&r), rng[4];
    for (int i = 0; i < 4; i++)
        rng[i] = get_u64(&r);
    nn_optimizer o;
    o.kind = get_i32(&r);
    o.lr = get_f64(&r), o.momentum = get_f64(&r), o.alpha = get_f64(&r), o.beta1 = get_f64(&r);
    o.beta2 = get_f64(&r), o.eps = get_f64(&r), o.weight_decay = get_f64(&r);
    nn_model *m = r.short_read || nl < 0 || nl > 100000 ? NULL : nn_model_new(c, h, w, seed);
    int bad = m == NULL;
    for (int i = 0; i < nl && !bad; i++) {
        int kind = get_i32(&r), oc = get_i32(&r), k = get_i32(&r), s = get_i32(&r), pad = get_i32(&r), bias = get_i32(&r);
        double rate = get_f64(&r);
        int src = i - 1, src2 = NN_NO_INPUT, got = -1;
        if (version >= 2)
            src = get_i32(&r), src2 = get_i32(&r);
        if (src != i - 1 && nn_branch(m, src)) {
            bad = 1;
            break;
        }
        switch (kind) {
        case L_CONV: got = nn_conv2d(m, oc, k, s, pad, bias); break;
        case L_MAXPOOL: got = nn_maxpool(m, k, s); break;
        case L_AVGPOOL: got = nn_avgpool(m, k, s); break;
        case L_GAP: got = nn_global_avgpool(m); break;
        case L_FLATTEN: got = nn_flatten(m); break;
        case L_DENSE: got = nn_dense(m, oc); break;
        case L_DROPOUT: got = nn_dropout(m, rate); break;
        case L_BATCHNORM: got = nn_batchnorm(m); break;
        case L_RELU: got = nn_relu(m); break;
        case L_LEAKY_RELU: got = nn_leaky_relu(m, rate); break;
        case L_SIGMOID: got = nn_sigmoid(m); break;
        case L_TANH: got = nn_tanh(m); break;
        case L_SOFTMAX: got = nn_softmax(m); break;
        case L_ADD: got = nn_add(m, src2); break;
        case L_CONCAT: got = nn_concat(m, src2); break;
        default: break;
        }
        bad = got < 0 || r.short_read;
    }
    uint64_t np = get_u64(&r), ns = get_u64(&r);
    if (bad || r.short_read || np != m->nparams || ns != m->nstate || r.at + (3 * np + ns) * 4 != r.n) {
        nn_model_free(m);
        nn_release(data);
        cairn_error("nn_load", "%s is corrupt: its layers and buffers do not agree", path);
        return NULL;
    }
    if (loss && nn_compile(m, loss, o)) {
        nn_model_free(m);
        nn_release(data);
        return NULL;
    }
    get_reals(&r, m->params, np);
    get_reals(&r, m->opt_m, np);
    get_reals(&r, m->opt_v, np);
    get_reals(&r, m->state, ns);
    m->init_scheme = init;
    m->step = (long)step;
    memcpy(m->rng, rng, sizeof rng);
    nn_release(data);
    return m;
}

/* one float32 .npy file of an n-dimensional C-order array */
static int write_npy(const char *path, const nn_real *v, const int *shape, int ndim)
{
    char dict[256], shp[96] = "";
    size_t count = 1, at = 0;
    for (int i = 0; i < ndim; i++) {
        at += (size_t)snprintf(shp + at, sizeof shp - at, "%d%s", shape[i], ndim == 1 ? "," : i + 1 < ndim ? ", " : "");
        count *= (size_t)shape[i];
    }
    int len = snprintf(dict, sizeof dict, "{'descr': '<f4', 'fortran_order': False, 'shape': (%s), }", shp);
    int total = 10 + len + 1, pad = (64 - total % 64) % 64;
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    unsigned char head[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, 0, 0};
    uint16_t hl = (uint16_t)(len + pad + 1);
    memcpy(head + 8, &hl, 2);
    int ok = fwrite(head, 1, 10, f) == 10 && fwrite(dict, 1, (size_t)len, f) == (size_t)len;
    for (int i = 0; i < pad && ok; i++)
        ok = fputc(' ', f) != EOF;
    ok = ok && fputc('\n', f) != EOF;
    for (size_t i = 0; i < count && ok; i++) {
        float x = (float)v[i];
        ok = fwrite(&x, 4, 1, f) == 1;
    }
    if (fclose(f) != 0)
        ok = 0;
    return ok ? 0 : -1;
}

typedef struct npy_tensor {
    const char *name;
    const nn_real *v;
    int shape[4], ndim;
} npy_tensor;

int nn_export_npy(nn_model *m, const char *dir)
{
    if (!m || !dir) {
        cairn_error("nn_export_npy", "needs a model and a directory");
        return -1;
    }
    int files = 0;
    char path[1024];
    for (int i = 0; i < m->nlayers; i++) {
        const nn_layer *l = &m->layers[i];
        const char *kind = nn_kind_name(l->kind);
        npy_tensor t[4];
        int nt = 0;
        if (l->kind == L_CONV) {
            t[nt++] = (npy_tensor){"weight", m->params + l->w_off, {l->out_c, l->in_c, l->k, l->k}, 4};
            if (l->bias)
                t[nt++] = (npy_tensor){"bias", m->params + l->b_off, {l->out_c, 0, 0, 0}, 1};
        } else if (l->kind == L_DENSE) {
            t[nt++] = (npy_tensor){"weight", m->params + l->w_off, {l->out_c, l->in_c, 0, 0}, 2};
            t[nt++] = (npy_tensor){"bias", m->params + l->b_off, {l->out_c, 0, 0, 0}, 1};
        } else if (l->kind == L_BATCHNORM) {
            t[nt++] = (npy_tensor){"weight", m->params + l->w_off, {l->out_c, 0, 0, 0}, 1};
            t[nt++] = (npy_tensor){"bias", m->params + l->b_off, {l->out_c, 0, 0, 0}, 1};
            t[nt++] = (npy_tensor){"running_mean", m->state + l->state_off, {l->out_c, 0, 0, 0}, 1};
            t[nt++] = (npy_tensor){"running_var", m->state + l->state_off + l->out_c, {l->out_c, 0, 0, 0}, 1};
        }
        for (int j = 0; j < nt; j++) {
            snprintf(path, sizeof path, "%s/layer%d_%s_%s.npy", dir, i, kind, t[j].name);
            if (write_npy(path, t[j].v, t[j].shape, t[j].ndim)) {
                cairn_error("nn_export_npy", "cannot write %s: %s", path, strerror(errno));
                return -1;
            }
            files++;
        }
    }
    return files;
}
