/* onnx_read.c — an .onnx file into protobuf-c's ModelProto, and tensors out of it.
 *
 * The whole file is read, then decoded by protobuf-c (onnx__model_proto__unpack), which
 * checks the wire format and fails on truncated or corrupt data. Tensor readers then check
 * what protobuf cannot: the data type, that the element count from dims matches the bytes
 * or values stored, and that dims are not negative. Every failure is a cairn_error naming
 * the file or tensor; nothing here aborts. */
#include "onnx_internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cairn/alloc.h"
#include "cairn/error.h"

#define ONNX_MAX_FILE ((long)1 << 31)

Onnx__ModelProto *onnx_read_model(const char *path, const char *func)
{
    if (!path) {
        cairn_error(func, "needs a path to an .onnx file");
        return NULL;
    }
    FILE *f = fopen(path, "rb");
    if (!f) {
        cairn_error(func, "cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    long size = -1;
    if (fseek(f, 0, SEEK_END) == 0)
        size = ftell(f);
    if (size < 0 || fseek(f, 0, SEEK_SET) != 0) {
        cairn_error(func, "cannot read %s: %s", path, strerror(errno));
        fclose(f);
        return NULL;
    }
    if (size == 0 || size > ONNX_MAX_FILE) {
        cairn_error(func, "%s is %ld bytes: not an ONNX model", path, size);
        fclose(f);
        return NULL;
    }
    uint8_t *buf = cairn_alloc((size_t)size);
    if (!buf) {
        cairn_error(func, "out of memory reading %s (%ld bytes)", path, size);
        fclose(f);
        return NULL;
    }
    size_t got = fread(buf, 1, (size_t)size, f);
    fclose(f);
    if (got != (size_t)size) {
        cairn_error(func, "cannot read %s: got %zu of %ld bytes", path, got, size);
        cairn_free(buf);
        return NULL;
    }
    Onnx__ModelProto *m = onnx__model_proto__unpack(NULL, (size_t)size, buf);
    cairn_free(buf);
    if (!m) {
        cairn_error(func, "%s is not a valid ONNX model: the protobuf data is truncated or corrupt (%ld bytes)", path, size);
        return NULL;
    }
    if (!m->graph) {
        cairn_error(func, "%s holds no graph: not an ONNX model (truncated or corrupt?)", path);
        onnx__model_proto__free_unpacked(m, NULL);
        return NULL;
    }
    return m;
}

int64_t onnx_model_opset(const Onnx__ModelProto *m)
{
    for (size_t i = 0; i < m->n_opset_import; i++) {
        const Onnx__OperatorSetIdProto *o = m->opset_import[i];
        if (o && (!o->domain || !o->domain[0] || !strcmp(o->domain, "ai.onnx")))
            return o->has_version ? o->version : -1;
    }
    return -1;
}

const char *onnx_dtype_name(int t)
{
    static const char *names[] = {"UNDEFINED", "FLOAT", "UINT8", "INT8", "UINT16", "INT16", "INT32", "INT64", "STRING",
                                  "BOOL", "FLOAT16", "DOUBLE", "UINT32", "UINT64", "COMPLEX64", "COMPLEX128", "BFLOAT16"};
    return t >= 0 && t <= 16 ? names[t] : "unknown data type";
}

int64_t onnx_tensor_count(const Onnx__TensorProto *t)
{
    int64_t n = 1;
    for (size_t i = 0; i < t->n_dims; i++) {
        if (t->dims[i] < 0 || (t->dims[i] > 0 && n > ((int64_t)1 << 40) / t->dims[i]))
            return -1;
        n *= t->dims[i];
    }
    return n;
}

static const char *tname(const Onnx__TensorProto *t) { return t->name && t->name[0] ? t->name : "(unnamed)"; }

static int check_location(const Onnx__TensorProto *t, const char *func)
{
    if (t->has_data_location && t->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL) {
        cairn_error(func, "tensor %s keeps its data in an external file, which is not supported", tname(t));
        return -1;
    }
    if (t->segment) {
        cairn_error(func, "tensor %s is segmented, which is not supported", tname(t));
        return -1;
    }
    return 0;
}

double *onnx_tensor_reals(const Onnx__TensorProto *t, int64_t *count, const char *func)
{
    int64_t n = onnx_tensor_count(t);
    if (n < 0) {
        cairn_error(func, "tensor %s has invalid dims", tname(t));
        return NULL;
    }
    if (check_location(t, func))
        return NULL;
    int dt = t->has_data_type ? t->data_type : 0;
    if (dt != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT && dt != ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE) {
        cairn_error(func, "tensor %s has data type %s (%d): only FLOAT (and DOUBLE) weights are supported", tname(t),
                    onnx_dtype_name(dt), dt);
        return NULL;
    }
    size_t es = dt == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT ? 4 : 8;
    size_t have = t->has_raw_data ? t->raw_data.len / es
                : dt == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT ? t->n_float_data : t->n_double_data;
    if ((t->has_raw_data && t->raw_data.len % es) || have != (size_t)n) {
        cairn_error(func, "tensor %s: dims give %lld values but the file holds %zu (truncated or corrupt)", tname(t),
                    (long long)n, have);
        return NULL;
    }
    double *v = cairn_alloc((size_t)(n ? n : 1) * sizeof(double));
    if (!v) {
        cairn_error(func, "out of memory for tensor %s (%lld values)", tname(t), (long long)n);
        return NULL;
    }
    for (int64_t i = 0; i < n; i++) {
        if (t->has_raw_data && es == 4) {
            float f;
            memcpy(&f, t->raw_data.data + 4 * i, 4);
            v[i] = f;
        } else if (t->has_raw_data) {
            memcpy(&v[i], t->raw_data.data + 8 * i, 8);
        } else {
            v[i] = es == 4 ? (double)t->float_data[i] : t->double_data[i];
        }
    }
    *count = n;
    return v;
}

int onnx_tensor_ints(const Onnx__TensorProto *t, int64_t *out, int cap, const char *func)
{
    int64_t n = onnx_tensor_count(t);
    if (n < 0 || n > cap) {
        cairn_error(func, "tensor %s has %lld values where a short integer list (<= %d) is expected", tname(t),
                    (long long)n, cap);
        return -1;
    }
    if (check_location(t, func))
        return -1;
    int dt = t->has_data_type ? t->data_type : 0;
    if (dt != ONNX__TENSOR_PROTO__DATA_TYPE__INT64 && dt != ONNX__TENSOR_PROTO__DATA_TYPE__INT32) {
        cairn_error(func, "tensor %s has data type %s where INT64 is expected", tname(t), onnx_dtype_name(dt));
        return -1;
    }
    size_t es = dt == ONNX__TENSOR_PROTO__DATA_TYPE__INT64 ? 8 : 4;
    size_t have = t->has_raw_data ? t->raw_data.len / es
                : es == 8 ? t->n_int64_data : t->n_int32_data;
    if ((t->has_raw_data && t->raw_data.len % es) || have != (size_t)n) {
        cairn_error(func, "tensor %s: dims give %lld values but the file holds %zu (truncated or corrupt)", tname(t),
                    (long long)n, have);
        return -1;
    }
    for (int64_t i = 0; i < n; i++) {
        if (t->has_raw_data && es == 8) {
            memcpy(&out[i], t->raw_data.data + 8 * i, 8);
        } else if (t->has_raw_data) {
            int32_t v;
            memcpy(&v, t->raw_data.data + 4 * i, 4);
            out[i] = v;
        } else {
            out[i] = es == 8 ? t->int64_data[i] : t->int32_data[i];
        }
    }
    return (int)n;
}
