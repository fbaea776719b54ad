// gaze._core.Run: owns one struct gaze_run (from Model.run or load) and hands out its tensors as
// zero-copy Arrays, its metadata as Python values, and renders it (run file, viewer page, figures).
#include "ext.h"

PyObject * g_run_type;

PyObject * gz_run_wrap(const struct gaze_run * run, double c_seconds) {
    PyTypeObject * tp = (PyTypeObject *)g_run_type;
    allocfunc alloc = (allocfunc)PyType_GetSlot(tp, Py_tp_alloc);
    RunObject * r = (RunObject *)alloc(tp, 0);
    if (!r) {
        struct gaze_run tmp = *run;
        gaze_run_free(&tmp);
        return NULL;
    }
    r->run = *run;
    r->c_seconds = c_seconds;
    return (PyObject *)r;
}

static void run_dealloc(PyObject * self) {
    RunObject * r = (RunObject *)self;
    PyTypeObject * tp = Py_TYPE(self);
    gaze_run_free(&r->run);   // its arrays go to the recycle cache for the next run
    freefunc f = (freefunc)PyType_GetSlot(tp, Py_tp_free);
    f(self);
    Py_DECREF(tp);
}

static PyObject * str_or_none(const char * s) {
    if (!s) Py_RETURN_NONE;
    return PyUnicode_DecodeUTF8(s, (Py_ssize_t)strlen(s), "replace");
}

static PyObject * index_tuple(const int64_t * v, int64_t n) {
    PyObject * t = PyTuple_New((Py_ssize_t)n);
    for (int64_t i = 0; t && i < n; i++) PyTuple_SetItem(t, (Py_ssize_t)i, PyLong_FromLongLong(v[i]));
    return t;
}

#define RUN(self) (&((RunObject *)(self))->run)

static PyObject * get_model(PyObject * self, void * c) { return str_or_none(RUN(self)->model); }
static PyObject * get_arch(PyObject * self, void * c) { return str_or_none(RUN(self)->arch); }
static PyObject * get_text(PyObject * self, void * c) { return str_or_none(RUN(self)->text); }
static PyObject * get_pair(PyObject * self, void * c) { return str_or_none(RUN(self)->pair); }
static PyObject * get_causal(PyObject * self, void * c) { return PyBool_FromLong(RUN(self)->causal); }
static PyObject * get_c_seconds(PyObject * self, void * c) { return PyFloat_FromDouble(((RunObject *)self)->c_seconds); }

static PyObject * get_sizes(PyObject * self, void * c) {
    const struct gaze_run * r = RUN(self);
    return Py_BuildValue("{s:L,s:L,s:L,s:L,s:L,s:L,s:L,s:L,s:L}", "n_layers", (long long)r->n_layers,
                         "n_heads", (long long)r->n_heads, "n_kv_heads", (long long)r->n_kv_heads,
                         "d_head", (long long)r->d_head, "n_embd", (long long)r->n_embd, "T", (long long)r->T,
                         "Tq", (long long)r->Tq, "n_generated", (long long)r->n_generated,
                         "n_heads_cap", (long long)r->n_heads_cap);
}

static PyObject * get_tokens(PyObject * self, void * c) {
    const struct gaze_run * r = RUN(self);
    PyObject * l = PyList_New((Py_ssize_t)r->T);
    for (int64_t t = 0; l && t < r->T; t++) {
        PyObject * s = str_or_none(r->tokens[t]);
        if (!s) { Py_DECREF(l); return NULL; }
        PyList_SetItem(l, (Py_ssize_t)t, s);
    }
    return l;
}

static PyObject * get_layers(PyObject * self, void * c) {
    const struct gaze_run * r = RUN(self);
    PyObject * t = PyTuple_New((Py_ssize_t)r->n_cap_layers);
    for (int64_t i = 0; t && i < r->n_cap_layers; i++) PyTuple_SetItem(t, (Py_ssize_t)i, PyLong_FromLongLong(r->layers[i].index));
    return t;
}
static PyObject * get_heads(PyObject * self, void * c) { return index_tuple(RUN(self)->heads, RUN(self)->n_heads_cap); }

static PyObject * get_extra(PyObject * self, void * c) {
    const struct gaze_run * r = RUN(self);
    PyObject * d = PyDict_New();
    for (int64_t i = 0; d && i < r->n_extra; i++) {
        PyObject * v = str_or_none(r->extra_values[i]);
        if (!v || PyDict_SetItemString(d, r->extra_keys[i], v)) { Py_XDECREF(v); Py_DECREF(d); return NULL; }
        Py_DECREF(v);
    }
    return d;
}

// 1-D or 2-D metadata arrays as zero-copy Arrays (None when the run has none).
static PyObject * get_vec(PyObject * self, void * closure) {
    const struct gaze_run * r = RUN(self);
    const char * which = closure;
    int64_t shape[2] = { r->T, 2 };
    switch (which[0]) {
        case 'i': return gz_array_new(self, r->token_ids, "i", 4, 1, shape);
        case 't': if (!r->token_type_ids) Py_RETURN_NONE; return gz_array_new(self, r->token_type_ids, "i", 4, 1, shape);
        case 's': if (!r->sequence_ids) Py_RETURN_NONE; return gz_array_new(self, r->sequence_ids, "b", 1, 1, shape);
        case 'o': if (!r->offsets) Py_RETURN_NONE; return gz_array_new(self, r->offsets, "q", 8, 2, shape);
        case 'q': shape[0] = r->Tq; return gz_array_new(self, r->q_rows, "q", 8, 1, shape);
        case 'p': if (!r->patch_rc) Py_RETURN_NONE; return gz_array_new(self, r->patch_rc, "i", 4, 2, shape);
        case 'l': if (!r->logits) Py_RETURN_NONE; shape[0] = r->n_logits; return gz_array_new(self, r->logits, "f", 4, 1, shape);
        case 'I': {   // image runs: uint8 [h, w, 3]
            if (!r->image) Py_RETURN_NONE;
            const int64_t s3[3] = { r->image_h, r->image_w, 3 };
            return gz_array_new(self, r->image, "B", 1, 3, s3);
        }
        default:  if (!r->embedding) Py_RETURN_NONE; shape[0] = r->n_embd; return gz_array_new(self, r->embedding, "f", 4, 1, shape);
    }
}

// (rows, cols, patch side in pixels) of an image run's patch grid, or None
static PyObject * get_patch_grid(PyObject * self, void * c) {
    const struct gaze_run * r = RUN(self);
    if (!r->patch_rc || r->grid_rows < 1) Py_RETURN_NONE;
    return Py_BuildValue("(LLL)", (long long)r->grid_rows, (long long)r->grid_cols, (long long)r->patch_size);
}

static const char * const g_parts[] = { "attn", "scores", "q", "k", "hidden" };

static float * layer_part(const struct gaze_run_layer * l, int p) {
    switch (p) {
        case 0: return l->attn;
        case 1: return l->scores;
        case 2: return l->q;
        case 3: return l->k;
        default: return l->hidden;
    }
}

// _array(part, layer): the captured tensor of one layer (negative layers count from the model's
// last). Errors name what was captured.
static PyObject * run_array(PyObject * self, PyObject * args) {
    const char * part;
    long long layer;
    if (!PyArg_ParseTuple(args, "sL:_array", &part, &layer)) return NULL;
    const struct gaze_run * r = RUN(self);
    int p = -1;
    for (int i = 0; i < 5; i++) if (!strcmp(part, g_parts[i])) p = i;
    if (p < 0) return gz_raise_invalid("unknown part '%s' (attn, scores, q, k, hidden)", part);
    const long long asked = layer;
    if (layer < 0) layer += r->n_layers;
    const struct gaze_run_layer * l = gaze_run_find_layer(r, (int64_t)layer);
    if (!l) {
        char have[256] = "";
        size_t o = 0;
        for (int64_t i = 0; i < r->n_cap_layers && o + 24 < sizeof have; i++)
            o += (size_t)snprintf(have + o, sizeof have - o, "%s%lld", i ? ", " : "", (long long)r->layers[i].index);
        return gz_raise_invalid("layer %lld was not captured (the run has layers %s of %lld)", asked, o ? have : "none",
                                (long long)r->n_layers);
    }
    float * data = layer_part(l, p);
    if (!data)
        return gz_raise_invalid("%s of layer %lld was not captured (pass capture=(..., \"%s\") to Model.run)", part,
                                layer, part);
    int64_t shape[3];
    int nd = 3;
    switch (p) {
        case 0: case 1: shape[0] = r->n_heads_cap; shape[1] = r->Tq; shape[2] = r->T; break;
        case 2: shape[0] = r->n_heads_cap; shape[1] = r->Tq; shape[2] = r->d_head; break;
        case 3: shape[0] = r->n_heads_cap; shape[1] = r->T; shape[2] = r->d_head; break;
        default: shape[0] = r->T; shape[1] = r->n_embd; nd = 2; break;
    }
    return gz_array_new(self, data, "f", 4, nd, shape);
}

// _parts(layer) -> tuple of captured part names of that model layer (empty when not captured).
static PyObject * run_parts(PyObject * self, PyObject * args) {
    long long layer;
    if (!PyArg_ParseTuple(args, "L:_parts", &layer)) return NULL;
    const struct gaze_run * r = RUN(self);
    if (layer < 0) layer += r->n_layers;
    const struct gaze_run_layer * l = gaze_run_find_layer(r, (int64_t)layer);
    PyObject * list = PyList_New(0);
    for (int p = 0; l && list && p < 5; p++) {
        if (!layer_part(l, p)) continue;
        PyObject * s = PyUnicode_FromString(g_parts[p]);
        PyList_Append(list, s);
        Py_XDECREF(s);
    }
    PyObject * t = list ? PySequence_Tuple(list) : NULL;
    Py_XDECREF(list);
    return t;
}

static PyObject * run_save(PyObject * self, PyObject * args, PyObject * kw) {
    static char * kwlist[] = { "path", "f16", NULL };
    PyObject * path_obj;
    int f16 = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O&|p:save", kwlist, PyUnicode_FSConverter, &path_obj, &f16)) return NULL;
    const char * path = PyBytes_AsString(path_obj);
    enum gaze_status s;
    Py_BEGIN_ALLOW_THREADS
    s = gaze_run_save(RUN(self), path, f16 != 0);
    Py_END_ALLOW_THREADS
    Py_DECREF(path_obj);
    if (s) return gz_raise(s);
    Py_RETURN_NONE;
}

static bool precision_from_name(const char * s, enum gaze_html_precision * p) {
    if (!strcmp(s, "auto")) *p = GAZE_HTML_PRECISION_AUTO;
    else if (!strcmp(s, "f16")) *p = GAZE_HTML_PRECISION_F16;
    else if (!strcmp(s, "u8")) *p = GAZE_HTML_PRECISION_U8;
    else return false;
    return true;
}

// _html(max_bytes, precision, title, view, no_qk, no_rollout) -> (page str, info dict)
static PyObject * run_html(PyObject * self, PyObject * args, PyObject * kw) {
    static char * kwlist[] = { "max_bytes", "precision", "title", "view", "qk", "rollout", "threads", NULL };
    unsigned long long max_bytes = 0;
    const char * precision = "auto", * title = NULL, * view = NULL;
    int qk = 1, rollout = 1, threads = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|Kszzppi:_html", kwlist, &max_bytes, &precision, &title, &view, &qk,
                                     &rollout, &threads))
        return NULL;
    struct gaze_html_opts o = { 0 };
    o.max_bytes = (size_t)max_bytes;
    if (!precision_from_name(precision, &o.precision)) return gz_raise_invalid("precision '%s' (auto, f16, u8)", precision);
    o.title = title;
    o.view = view;
    o.no_qk = !qk;
    o.no_rollout = !rollout;
    o.n_threads = threads;
    char * page = NULL;
    size_t n = 0;
    struct gaze_html_info info;
    enum gaze_status s;
    Py_BEGIN_ALLOW_THREADS
    s = gaze_html_run(RUN(self), &o, &page, &n, &info);
    Py_END_ALLOW_THREADS
    if (s) { free(page); return gz_raise(s); }
    PyObject * str = PyUnicode_DecodeASCII(page, (Py_ssize_t)n, "strict");   // the page is pure ASCII
    free(page);
    if (!str) return NULL;
    PyObject * d = Py_BuildValue("{s:n,s:n,s:L,s:L,s:L,s:L,s:s,s:i,s:L}", "bytes", (Py_ssize_t)info.bytes,
                                 "payload_bytes", (Py_ssize_t)info.payload_bytes, "n_maps", (long long)info.n_maps,
                                 "n_exact", (long long)info.n_exact, "n_summary", (long long)info.n_summary,
                                 "n_qk", (long long)info.n_qk, "precision", gaze_html_precision_name(info.precision),
                                 "n_rollout_fusions", info.n_rollout_fusions, "n_flow", (long long)info.n_flow);
    if (!d) { Py_DECREF(str); return NULL; }
    return Py_BuildValue("(NN)", str, d);
}

static bool plot_heads_from(PyObject * head, struct gaze_plot_opts * po) {
    if (!head || head == Py_None) return true;
    if (PyLong_Check(head)) {
        po->head_mode = GAZE_PLOT_HEADS_ONE;
        po->head = PyLong_AsLongLong(head);
        return !PyErr_Occurred();
    }
    const char * s = PyUnicode_Check(head) ? PyUnicode_AsUTF8AndSize(head, NULL) : NULL;
    if (s && !strcmp(s, "mean")) po->head_mode = GAZE_PLOT_HEADS_MEAN;
    else if (s && !strcmp(s, "max")) po->head_mode = GAZE_PLOT_HEADS_MAX;
    else if (s && !strcmp(s, "each")) po->head_mode = GAZE_PLOT_HEADS_EACH;
    else { PyErr_Clear(); gz_raise_invalid("head: an int, \"mean\", \"max\" or \"each\""); return false; }
    return true;
}

// _plot(path=None, format="svg", kind="heatmap", layer=-1, head=None, heads=None, query=-1,
//       palette="viridis", log_scale=False, hide_special=False, words=False, vmax=0, title=None,
//       max_px=0, minus=None, values=None, values_name=None)
// -> bytes of the figure (path None) or None (written to path); plus the info dict.
static PyObject * run_plot(PyObject * self, PyObject * args, PyObject * kw) {
    static char * kwlist[] = { "path", "format", "kind", "layer", "head", "heads", "query", "palette", "log_scale",
                               "hide_special", "words", "vmax", "title", "max_px", "minus", "values", "values_name", NULL };
    PyObject * path_obj = NULL, * head = NULL, * heads_obj = NULL, * minus = NULL, * values = NULL;
    const char * format = NULL, * kind = "heatmap", * palette = "viridis", * title = NULL, * values_name = NULL;
    long long layer = -1, query = -1;
    int log_scale = 0, hide_special = 0, words = 0, max_px = 0;
    float vmax = 0;
    PyObject * path_arg = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|OzsLOOLspppfziOOz:_plot", kwlist, &path_arg,
                                     &format, &kind, &layer, &head, &heads_obj, &query, &palette, &log_scale,
                                     &hide_special, &words, &vmax, &title, &max_px, &minus, &values, &values_name))
        return NULL;
    if (path_arg != Py_None && !PyUnicode_FSConverter(path_arg, &path_obj)) return NULL;
    const struct gaze_run * r = RUN(self);
    struct gaze_plot_opts po = gaze_plot_opts_make();
    PyObject * result = NULL;
    int64_t * heads = NULL;
    Py_buffer vbuf = { 0 };
    if (!gaze_plot_kind_from_name(kind, &po.kind)) { gz_raise_invalid("kind '%s' (heatmap, model, head, bars; image runs: image, image-patch, image-rollout, distance)", kind); goto out; }
    if (!gaze_palette_from_name(palette, &po.palette)) { gz_raise_invalid("palette '%s' (viridis, cividis, magma, diverging)", palette); goto out; }
    const char * path = path_obj ? PyBytes_AsString(path_obj) : NULL;
    if (format) {
        if (!strcmp(format, "png")) po.format = GAZE_PLOT_FORMAT_PNG;
        else if (!strcmp(format, "svg")) po.format = GAZE_PLOT_FORMAT_SVG;
        else if (!strcmp(format, "pdf")) po.format = GAZE_PLOT_FORMAT_PDF;
        else { gz_raise_invalid("format '%s' (png, svg, pdf)", format); goto out; }
    } else if (path) {
        po.format = gaze_plot_format_from_path(path);
        if (po.format == GAZE_PLOT_FORMAT_AUTO) { gz_raise_invalid("%s: no figure format in the name (.png, .svg, .pdf)", path); goto out; }
    } else {
        po.format = GAZE_PLOT_FORMAT_SVG;
    }
    po.layer = layer < 0 && layer != -1 ? layer + r->n_layers : layer;
    if (!plot_heads_from(head, &po)) goto out;
    if (po.head_mode == GAZE_PLOT_HEADS_ONE && po.head < 0) po.head += r->n_heads;
    if (gz_index_list(heads_obj, r->n_heads, "heads", &heads, &po.n_heads)) goto out;
    po.heads = heads;
    po.query = query < 0 && query != -1 ? query + r->T : query;
    po.log_scale = log_scale;
    po.hide_special = hide_special;
    po.words = words;
    po.vmax = vmax;
    po.title = title;
    po.max_px = max_px;
    po.values_name = values_name;
    if (minus && minus != Py_None) {
        if (!PyObject_TypeCheck(minus, (PyTypeObject *)g_run_type)) { gz_raise_invalid("minus: expected a Run"); goto out; }
        po.minus = RUN(minus);
    }
    if (values && values != Py_None) {   // a float32 C-contiguous buffer of T values
        if (PyObject_GetBuffer(values, &vbuf, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT)) goto out;
        if (vbuf.itemsize != 4 || !vbuf.format || strcmp(vbuf.format, "f") || vbuf.len != (Py_ssize_t)(4 * r->T)) {
            gz_raise_invalid("values: expected %lld float32 values (one per token)", (long long)r->T);
            goto out;
        }
        po.values = vbuf.buf;
    }
    struct gaze_plot_info info;
    enum gaze_status s;
    unsigned char * buf = NULL;
    size_t n = 0;
    Py_BEGIN_ALLOW_THREADS
    s = path ? gaze_plot_run(r, path, &po, &info) : gaze_plot_run_buffer(r, &po, &buf, &n, &info);
    Py_END_ALLOW_THREADS
    if (s) { free(buf); gz_raise(s); goto out; }
    PyObject * data = path ? (Py_INCREF(Py_None), Py_None) : PyBytes_FromStringAndSize((const char *)buf, (Py_ssize_t)n);
    free(buf);
    if (!data) goto out;
    const char * fmt = po.format == GAZE_PLOT_FORMAT_PNG ? "png" : po.format == GAZE_PLOT_FORMAT_PDF ? "pdf" : "svg";
    result = Py_BuildValue("(N{s:s,s:i,s:i,s:L,s:L,s:L,s:L,s:O})", data, "format", fmt, "width", info.width,
                           "height", info.height, "rows", (long long)info.rows, "cols", (long long)info.cols,
                           "block_q", (long long)info.block_q, "block_k", (long long)info.block_k,
                           "embedded_image", info.embedded_image ? Py_True : Py_False);
out:
    if (vbuf.obj) PyBuffer_Release(&vbuf);
    free(heads);
    Py_XDECREF(path_obj);
    return result;
}

static PyMethodDef run_methods[] = {
    { "_array", run_array, METH_VARARGS, "_array(part, layer) -> Array (zero-copy) of a captured tensor." },
    { "_parts", run_parts, METH_VARARGS, "_parts(layer) -> captured part names of that layer." },
    { "save", (PyCFunction)(void (*)(void))run_save, METH_VARARGS | METH_KEYWORDS,
      "save(path, f16=False): writes the run file atomically (attention as F16 when f16)." },
    { "_html", (PyCFunction)(void (*)(void))run_html, METH_VARARGS | METH_KEYWORDS, "Viewer page and its info." },
    { "_plot", (PyCFunction)(void (*)(void))run_plot, METH_VARARGS | METH_KEYWORDS, "Figure bytes (or file) and info." },
    { NULL },
};

static PyGetSetDef run_getset[] = {
    { "model", get_model, NULL, "model name or path", NULL },
    { "arch", get_arch, NULL, "architecture (\"bert\", \"llama\")", NULL },
    { "text", get_text, NULL, "input text", NULL },
    { "pair", get_pair, NULL, "second sentence, or None", NULL },
    { "causal", get_causal, NULL, "decoder run", NULL },
    { "sizes", get_sizes, NULL, "dict of the run's sizes", NULL },
    { "tokens", get_tokens, NULL, "token strings", NULL },
    { "layers", get_layers, NULL, "captured model layers", NULL },
    { "heads", get_heads, NULL, "captured model heads", NULL },
    { "extra", get_extra, NULL, "extra metadata", NULL },
    { "c_seconds", get_c_seconds, NULL, "seconds spent in gaze_model_run (0 for a loaded run)", NULL },
    { "token_ids", get_vec, NULL, "token ids (Array)", "i" },
    { "token_type_ids", get_vec, NULL, "segment ids (Array) or None", "t" },
    { "sequence_ids", get_vec, NULL, "sequence ids (Array) or None", "s" },
    { "offsets", get_vec, NULL, "byte offsets [T, 2] (Array) or None", "o" },
    { "q_rows", get_vec, NULL, "captured query rows (Array)", "q" },
    { "embedding", get_vec, NULL, "pooled embedding (Array) or None", "e" },
    { "patch_rc", get_vec, NULL, "image runs: grid (row, col) of each token [T, 2] (Array) or None", "p" },
    { "logits", get_vec, NULL, "classifier logits (Array) or None", "l" },
    { "image", get_vec, NULL, "image runs: the RGB image the model saw [h, w, 3] (Array) or None", "I" },
    { "patch_grid", get_patch_grid, NULL, "image runs: (rows, cols, patch) or None", NULL },
    { NULL },
};

static PyType_Slot run_slots[] = {
    { Py_tp_doc, "One captured run (use gaze.Run)." },
    { Py_tp_dealloc, run_dealloc },
    { Py_tp_methods, run_methods },
    { Py_tp_getset, run_getset },
    { 0, NULL },
};
static PyType_Spec run_spec = { "gaze._core.Run", sizeof(RunObject), 0,
                                Py_TPFLAGS_DEFAULT | Py_TPFLAGS_DISALLOW_INSTANTIATION, run_slots };

int gz_run_type_init(PyObject * module) {
    g_run_type = PyType_FromSpec(&run_spec);
    if (!g_run_type) return -1;
    Py_INCREF(g_run_type);
    return PyModule_AddObject(module, "Run", g_run_type);
}

// run_from_arrays(tokens, ids, layers, attentions, model, arch, causal, n_layers, n_heads, n_kv_heads,
//                 text, pair, extra=None) -> Run: a run built from attention computed elsewhere
// (every head and query row of the given layers: attentions[i] is float32 [n_heads, T, T] of
// model layer layers[i]), checked by gaze_run_check like a loaded file, so every analysis and
// view accepts it. extra: str -> str metadata kept in the run (where the weights came from).
static PyObject * py_run_from_arrays(PyObject * self, PyObject * args, PyObject * kw) {
    static char * kwlist[] = { "tokens", "ids", "layers", "attentions", "model", "arch", "causal", "n_layers",
                               "n_heads", "n_kv_heads", "text", "pair", "extra", NULL };
    PyObject * tokens_obj, * ids_obj, * layers_obj, * attn_obj, * extra = Py_None;
    const char * model = "", * arch = "", * text = NULL, * pair = NULL;
    int causal = 0;
    long long n_layers = 0, n_heads = 0, n_kv_heads = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "OOOOsspLLLzz|O:run_from_arrays", kwlist, &tokens_obj, &ids_obj,
                                     &layers_obj, &attn_obj, &model, &arch, &causal, &n_layers, &n_heads,
                                     &n_kv_heads, &text, &pair, &extra))
        return NULL;
    PyObject * toks = PySequence_Tuple(tokens_obj), * atts = PySequence_Tuple(attn_obj);
    int64_t * layers = NULL, n_sel = 0;
    const char ** strs = NULL;
    Py_buffer ids = { 0 };
    struct gaze_run run;
    gaze_run_init(&run);
    PyObject * result = NULL;
    if (!toks || !atts || gz_index_list(layers_obj, n_layers, "layers", &layers, &n_sel)) goto out;
    const int64_t T = PyTuple_Size(toks);
    if (PyTuple_Size(atts) != n_sel) { gz_raise_invalid("%zd attention arrays for %lld layers", PyTuple_Size(atts), (long long)n_sel); goto out; }
    if (PyObject_GetBuffer(ids_obj, &ids, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT)) goto out;
    if (ids.itemsize != 4 || !ids.format || strcmp(ids.format, "i") || ids.len != 4 * (Py_ssize_t)T) {
        gz_raise_invalid("ids: expected %lld int32 values (one per token)", (long long)T);
        goto out;
    }
    if (!(strs = calloc((size_t)(T > 0 ? T : 1), sizeof *strs))) { PyErr_NoMemory(); goto out; }
    for (int64_t t = 0; t < T; t++) {
        PyObject * s = PyTuple_GetItem(toks, (Py_ssize_t)t);
        if (!PyUnicode_Check(s) || !(strs[t] = PyUnicode_AsUTF8AndSize(s, NULL))) {
            PyErr_Clear();
            gz_raise_invalid("tokens: item %lld is not a str", (long long)t);
            goto out;
        }
    }
    run.n_layers = n_layers;
    run.n_heads = n_heads;
    run.n_kv_heads = n_kv_heads;
    run.causal = causal;
    if (!(run.model = strdup(model)) || !(run.arch = strdup(arch)) || (text && !(run.text = strdup(text))) ||
        (pair && !(run.pair = strdup(pair)))) { PyErr_NoMemory(); goto out; }
    enum gaze_status s = gaze_run_set_tokens(&run, T, strs, NULL, ids.buf, NULL);
    if (!s) s = gaze_run_set_capture(&run, NULL, n_heads, NULL, T);
    if (s) { gz_raise(s); goto out; }
    if (extra != Py_None) {
        PyObject * key, * val;
        Py_ssize_t pos = 0;
        if (!PyDict_Check(extra)) { gz_raise_invalid("extra: expected a dict of str to str"); goto out; }
        while (PyDict_Next(extra, &pos, &key, &val)) {
            const char * k = PyUnicode_Check(key) ? PyUnicode_AsUTF8AndSize(key, NULL) : NULL;
            const char * v = PyUnicode_Check(val) ? PyUnicode_AsUTF8AndSize(val, NULL) : NULL;
            if (!k || !v) { PyErr_Clear(); gz_raise_invalid("extra: expected a dict of str to str"); goto out; }
            if ((s = gaze_run_set_extra(&run, k, v))) { gz_raise(s); goto out; }
        }
    }
    for (int64_t i = 0; i < n_sel; i++) {
        Py_buffer a;
        if (PyObject_GetBuffer(PyTuple_GetItem(atts, (Py_ssize_t)i), &a, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT)) goto out;
        const bool ok = a.itemsize == 4 && a.format && !strcmp(a.format, "f") && a.len == (Py_ssize_t)(4 * n_heads * T * T);
        struct gaze_run_layer * ly = NULL;
        if (ok && !(s = gaze_run_add_layer(&run, layers[i], GAZE_RUN_PART_ATTN, &ly))) memcpy(ly->attn, a.buf, (size_t)a.len);
        PyBuffer_Release(&a);
        if (!ok) { gz_raise_invalid("attentions[%lld]: expected float32 [%lld, %lld, %lld]", (long long)i, n_heads, (long long)T, (long long)T); goto out; }
        if (s) { gz_raise(s); goto out; }
    }
    Py_BEGIN_ALLOW_THREADS
    s = gaze_run_check(&run, "run_from_arrays");
    Py_END_ALLOW_THREADS
    if (s) { gz_raise(s); goto out; }
    result = gz_run_wrap(&run, 0.0);
    gaze_run_init(&run);   // owned by the Run now
out:
    gaze_run_free(&run);
    if (ids.obj) PyBuffer_Release(&ids);
    free(strs);
    free(layers);
    Py_XDECREF(toks);
    Py_XDECREF(atts);
    return result;
}

PyMethodDef gz_run_methods[] = {
    { "run_from_arrays", (PyCFunction)(void (*)(void))py_run_from_arrays, METH_VARARGS | METH_KEYWORDS,
      "A Run from attention arrays computed elsewhere (see gaze.Run.from_arrays)." },
    { NULL },
};
