/* cairn/onnx.h — networks that leave the notebook (and come back) as ONNX models.
 *
 * onnx_export writes a trained nn_model as an ONNX file (opset 13+, input "input" with a
 * dynamic batch dimension, weights as initializers, version, doc string and metadata);
 * onnx_import reads a model of the same operator set — what torch.onnx.export writes for
 * a small CNN, MLP or logistic regression, also with skip connections (Add) and
 * concatenated branches (Concat) — into an nn_model that nn_predict, nn_evaluate,
 * nn_summary and nn_feature_maps accept. onnx_reload swaps a newer file into a running
 * session; onnx_info lists what an .onnx file holds.
 *
 *     onnx_meta m = onnx_meta_defaults();
 *     m.version = 2; snprintf(m.classes, sizeof m.classes, "T-shirt,Trouser,...");
 *     onnx_export(net, "fashion.onnx", m);
 *     onnx_meta live; nn_model *served = onnx_import("fashion.onnx", &live);
 *     onnx_reload(&served, &live, "fashion-v3.onnx");   // "version 3 is now live"
 *     onnx_info("fashion.onnx");                         // inputs, outputs, operators, parameters
 *
 * The protobuf encoding (protobuf-c over ONNX's own onnx.proto) stays inside the runtime:
 * this header is all a cell sees. */
#ifndef CAIRN_ONNX_H
#define CAIRN_ONNX_H

#include <stdint.h>
#include "cairn/nn.h"

/* What travels with a model besides its weights (strings are truncated to fit). */
typedef struct onnx_meta {
    int64_t version;              /* model_version (export: >= 1; import: 0 when the file has none) */
    char name[128];               /* graph name */
    char producer[64];            /* producer_name ("cairn", "pytorch", ...) */
    char producer_version[32];    /* producer_version */
    char classes[1024];           /* class names, comma-separated ("" when unknown) */
    char normalisation[256];      /* how inputs are scaled before the network, e.g. "x / 255" */
    char doc[2048];               /* doc string: the training run's parameters */
    int channels, height, width;  /* input shape of one sample (import fills it) */
    int opset;                    /* ai.onnx opset (export: 13..17, default 13) */
} onnx_meta;

/** Export defaults: version 1, name "cairn-model", producer "cairn", no classes/normalisation/doc, opset 13. */
onnx_meta onnx_meta_defaults(void);

/** Append a training run (epochs, batch size, optimizer steps, final losses/accuracies, seconds) to meta->doc. */
void onnx_meta_add_fit(onnx_meta *meta, nn_fit_options options, nn_history history);

/** Write net as an ONNX model (input "input" [batch, C, H, W] or [batch, n], output "output"); dropout is left out; 0 or -1. */
int onnx_export(nn_model *net, const char *path, onnx_meta meta);

/** Load an ONNX model into a new network (compiled: softmax/logits -> cross-entropy, 1 sigmoid -> BCE); meta may be NULL; NULL on error. */
nn_model *onnx_import(const char *path, onnx_meta *meta);

/** Replace *net (whose metadata is *live) by the model in path if its version is newer and shapes match; prints the live version; 1 replaced, 0 kept, -1 error. */
int onnx_reload(nn_model **net, onnx_meta *live, const char *path);

/** Inputs, outputs, opset, operators, parameter count and metadata of an .onnx file as text (valid until the next call), or NULL. */
const char *onnx_info_text(const char *path);

/** Show what an .onnx file holds (inputs, outputs, operators, parameters, metadata) as text and an HTML table. */
void onnx_info(const char *path);

#endif
