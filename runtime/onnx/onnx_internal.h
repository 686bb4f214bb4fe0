/* onnx_internal.h — what the files of runtime/onnx share: the protobuf-c types generated
 * at build time from ONNX's onnx.proto, reading and decoding a model file with every
 * failure turned into a cairn_error, and reading tensors (raw_data or typed fields,
 * float/double/int32/int64) with their sizes checked against their dims. Never included
 * by cells: cairn/onnx.h is the public side. */
#ifndef CAIRN_ONNX_INTERNAL_H
#define CAIRN_ONNX_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "onnx.pb-c.h"

/* newest ai.onnx opset the importer knows (Debian's onnx 1.12 defines up to 17) */
#define ONNX_MAX_OPSET 17
#define ONNX_MIN_OPSET 7

/* read and decode path; NULL after cairn_error(func, ...) on a missing, empty, truncated or
 * corrupt file. Release with onnx__model_proto__free_unpacked(m, NULL). */
Onnx__ModelProto *onnx_read_model(const char *path, const char *func);

/* version of the default (ai.onnx) operator set the model imports, or -1 */
int64_t onnx_model_opset(const Onnx__ModelProto *m);

/* the name of an ONNX data type ("FLOAT", "INT64", ...) */
const char *onnx_dtype_name(int dtype);

/* element count of a tensor from its dims; -1 for negative dims or an absurd size */
int64_t onnx_tensor_count(const Onnx__TensorProto *t);

/* values of a FLOAT or DOUBLE tensor as doubles into a new buffer (cairn_free it); NULL after
 * cairn_error(func, ...) for another data type, external data or a size that does not match dims */
double *onnx_tensor_reals(const Onnx__TensorProto *t, int64_t *count, const char *func);

/* values of an INT64 or INT32 tensor (at most cap of them) into out; -1 after cairn_error */
int onnx_tensor_ints(const Onnx__TensorProto *t, int64_t *out, int cap, const char *func);

#endif
