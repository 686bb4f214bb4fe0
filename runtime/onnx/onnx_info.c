/* onnx_info.c — what an .onnx file holds, and swapping a newer model into a session.
 *
 * onnx_info_text/onnx_info list a file's IR version, operator sets, producer, model version,
 * inputs and outputs with their types and shapes, the operators with their counts, the
 * number of weights and the metadata — for any ONNX file, including ones onnx_import would
 * refuse. onnx_reload imports a file and, when its model_version is newer than the live one
 * and its input/output shapes match, replaces the caller's network and metadata in place,
 * saying which version is now live; on any failure the live model stays. */
#include "cairn/onnx.h"
#include "onnx_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/display.h"
#include "cairn/error.h"
#include "../core/strbuf.h"

static const char *str(const char *s) { return s ? s : ""; }

/* "float [batch, 1, 28, 28]" */
static void describe_value(strbuf *b, const Onnx__ValueInfoProto *v)
{
    const Onnx__TypeProto *tp = v->type;
    if (!tp || tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !tp->tensor_type) {
        strbuf_printf(b, "(not a tensor)");
        return;
    }
    const Onnx__TypeProto__Tensor *tt = tp->tensor_type;
    strbuf_printf(b, "%s", onnx_dtype_name(tt->has_elem_type ? tt->elem_type : 0));
    if (!tt->shape) {
        strbuf_printf(b, " (shape unknown)");
        return;
    }
    strbuf_printf(b, " [");
    for (size_t i = 0; i < tt->shape->n_dim; i++) {
        const Onnx__TensorShapeProto__Dimension *d = tt->shape->dim[i];
        const char *sep = i ? ", " : "";
        if (d && d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE)
            strbuf_printf(b, "%s%lld", sep, (long long)d->dim_value);
        else if (d && d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM)
            strbuf_printf(b, "%s%s", sep, str(d->dim_param));
        else
            strbuf_printf(b, "%s?", sep);
    }
    strbuf_printf(b, "]");
}

typedef struct opcount {
    const char *op;
    int n;
} opcount;

typedef struct summary {
    opcount *ops;
    int nops;
    long long params;
    size_t ninit;
} summary;

static int summarize(const Onnx__GraphProto *g, summary *s)
{
    memset(s, 0, sizeof *s);
    s->ops = calloc(g->n_node + 1, sizeof *s->ops);
    if (!s->ops)
        return -1;
    for (size_t i = 0; i < g->n_node; i++) {
        const char *op = g->node[i] && g->node[i]->op_type ? g->node[i]->op_type : "?";
        int j = 0;
        while (j < s->nops && strcmp(s->ops[j].op, op))
            j++;
        if (j == s->nops)
            s->ops[s->nops++].op = op;
        s->ops[j].n++;
    }
    for (size_t i = 0; i < g->n_initializer; i++) {
        const Onnx__TensorProto *t = g->initializer[i];
        if (!t)
            continue;
        int dt = t->has_data_type ? t->data_type : 0;
        int64_t n = onnx_tensor_count(t);
        if (n > 0 && (dt == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT || dt == ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE ||
                      dt == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16 || dt == ONNX__TENSOR_PROTO__DATA_TYPE__BFLOAT16))
            s->params += n, s->ninit++;
    }
    return 0;
}

static int is_init(const Onnx__GraphProto *g, const char *name)
{
    for (size_t i = 0; i < g->n_initializer; i++)
        if (g->initializer[i] && g->initializer[i]->name && name && !strcmp(g->initializer[i]->name, name))
            return 1;
    return 0;
}

static char *last_text, *last_html;

/* text and HTML descriptions of path into last_text/last_html; 0 or -1 */
static int describe(const char *path, const char *func)
{
    Onnx__ModelProto *m = onnx_read_model(path, func);
    if (!m)
        return -1;
    const Onnx__GraphProto *g = m->graph;
    summary s;
    if (summarize(g, &s)) {
        onnx__model_proto__free_unpacked(m, NULL);
        cairn_error(func, "out of memory");
        return -1;
    }
    strbuf t = {0}, h = {0};
    strbuf_printf(&t, "%s: ONNX IR %lld, opset", path, (long long)m->ir_version);
    strbuf_printf(&h, "<table><caption style=\"text-align:left\"><b>");
    strbuf_html(&h, path);
    strbuf_printf(&h, "</b></caption>\n<tr><th style=\"text-align:left\">format</th><td>ONNX IR %lld, opset",
              (long long)m->ir_version);
    for (size_t i = 0; i < m->n_opset_import; i++) {
        const Onnx__OperatorSetIdProto *o = m->opset_import[i];
        if (!o)
            continue;
        const char *d = o->domain && o->domain[0] ? o->domain : "ai.onnx";
        strbuf_printf(&t, "%s %s %lld", i ? "," : "", d, (long long)o->version);
        strbuf_printf(&h, "%s ", i ? "," : "");
        strbuf_html(&h, d);
        strbuf_printf(&h, " %lld", (long long)o->version);
    }
    strbuf_printf(&t, "\nproducer: %s %s; model version %lld; graph '%s'\n", str(m->producer_name),
              str(m->producer_version), (long long)m->model_version, str(g->name));
    strbuf_printf(&h, "</td></tr>\n<tr><th style=\"text-align:left\">producer</th><td>");
    strbuf_html(&h, str(m->producer_name));
    strbuf_printf(&h, " ");
    strbuf_html(&h, str(m->producer_version));
    strbuf_printf(&h, "</td></tr>\n<tr><th style=\"text-align:left\">model version</th><td>%lld</td></tr>\n"
                  "<tr><th style=\"text-align:left\">graph</th><td>", (long long)m->model_version);
    strbuf_html(&h, str(g->name));
    strbuf_printf(&h, "</td></tr>\n");
    for (int pass = 0; pass < 2; pass++) {
        size_t nv = pass ? g->n_output : g->n_input;
        Onnx__ValueInfoProto **vs = pass ? g->output : g->input;
        const char *label = pass ? "output" : "input";
        for (size_t i = 0; i < nv; i++) {
            if (!vs[i] || (!pass && is_init(g, vs[i]->name)))
                continue;
            strbuf d = {0};
            describe_value(&d, vs[i]);
            strbuf_printf(&t, "%s: %s %s\n", label, str(vs[i]->name), d.s ? d.s : "");
            strbuf_printf(&h, "<tr><th style=\"text-align:left\">%s</th><td><code>", label);
            strbuf_html(&h, str(vs[i]->name));
            strbuf_printf(&h, "</code> ");
            strbuf_html(&h, d.s ? d.s : "");
            strbuf_printf(&h, "</td></tr>\n");
            free(d.s);
        }
    }
    strbuf_printf(&t, "operators (%zu nodes):", g->n_node);
    strbuf_printf(&h, "<tr><th style=\"text-align:left\">operators</th><td>%zu nodes:", g->n_node);
    for (int i = 0; i < s.nops; i++) {
        strbuf_printf(&t, "%s %s x%d", i ? "," : "", s.ops[i].op, s.ops[i].n);
        strbuf_printf(&h, "%s ", i ? "," : "");
        strbuf_html(&h, s.ops[i].op);
        strbuf_printf(&h, " &times;%d", s.ops[i].n);
    }
    strbuf_printf(&t, "\nparameters: %lld in %zu initializers\n", s.params, s.ninit);
    strbuf_printf(&h, "</td></tr>\n<tr><th style=\"text-align:left\">parameters</th><td>%lld in %zu initializers</td></tr>\n",
              s.params, s.ninit);
    for (size_t i = 0; i < m->n_metadata_props; i++) {
        const Onnx__StringStringEntryProto *e = m->metadata_props[i];
        if (!e)
            continue;
        strbuf_printf(&t, "metadata %s: %s\n", str(e->key), str(e->value));
        strbuf_printf(&h, "<tr><th style=\"text-align:left\">");
        strbuf_html(&h, str(e->key));
        strbuf_printf(&h, "</th><td>");
        strbuf_html(&h, str(e->value));
        strbuf_printf(&h, "</td></tr>\n");
    }
    if (m->doc_string && m->doc_string[0]) {
        strbuf_printf(&t, "doc: %s\n", m->doc_string);
        strbuf_printf(&h, "<tr><th style=\"text-align:left\">doc</th><td style=\"white-space:pre-wrap\">");
        strbuf_html(&h, m->doc_string);
        strbuf_printf(&h, "</td></tr>\n");
    }
    strbuf_printf(&h, "</table>\n");
    free(s.ops);
    onnx__model_proto__free_unpacked(m, NULL);
    if (!t.s || !h.s) {
        free(t.s);
        free(h.s);
        cairn_error(func, "out of memory");
        return -1;
    }
    free(last_text);
    free(last_html);
    last_text = t.s;
    last_html = h.s;
    return 0;
}

const char *onnx_info_text(const char *path)
{
    return describe(path, "onnx_info_text") ? NULL : last_text;
}

void onnx_info(const char *path)
{
    if (describe(path, "onnx_info") == 0)
        display_html(last_html, last_text);
}

int onnx_reload(nn_model **net, onnx_meta *live, const char *path)
{
    if (!net || !*net || !live) {
        cairn_error("onnx_reload", "needs the live model, its metadata and a path");
        return -1;
    }
    onnx_meta m;
    nn_model *fresh = onnx_import(path, &m);
    if (!fresh) {
        cairn_error("onnx_reload", "%s could not be loaded: version %lld stays live", path ? path : "(null)",
                    (long long)live->version);
        return -1;
    }
    int c, h, w, c2, h2, w2;
    nn_layer_shape(*net, -1, &c, &h, &w);
    nn_layer_shape(fresh, -1, &c2, &h2, &w2);
    int k = nn_layer_shape(*net, nn_layer_count(*net) - 1, NULL, NULL, NULL);
    int k2 = nn_layer_shape(fresh, nn_layer_count(fresh) - 1, NULL, NULL, NULL);
    if (c != c2 || h != h2 || w != w2 || k != k2) {
        cairn_error("onnx_reload", "%s takes %d x %d x %d and gives %d outputs, the live model %d x %d x %d and %d: "
                    "not replaced, version %lld stays live", path, c2, h2, w2, k2, c, h, w, k, (long long)live->version);
        nn_model_free(fresh);
        return -1;
    }
    char msg[512];
    if (m.version <= live->version) {
        snprintf(msg, sizeof msg, "%s has version %lld, not newer than the live version %lld: model '%s' version %lld stays live\n",
                 path, (long long)m.version, (long long)live->version, live->name, (long long)live->version);
        display_text(msg);
        nn_model_free(fresh);
        return 0;
    }
    snprintf(msg, sizeof msg, "model '%s' version %lld is now live (was version %lld), from %s\n", m.name,
             (long long)m.version, (long long)live->version, path);
    nn_model_free(*net);
    *net = fresh;
    *live = m;
    display_text(msg);
    return 1;
}
