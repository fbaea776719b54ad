// Analysis functions of gaze._core over runs: per-head metrics and labels, rollout, attention
// flow, Jensen-Shannon divergence between runs, and the corpus accumulator. Results are computed
// with the GIL released into bytearrays, handed out as zero-copy Arrays.
#include "ext.h"
#include <math.h>

#define IS_RUN(o) PyObject_TypeCheck((o), (PyTypeObject *)g_run_type)
#define RUN(o) (&((RunObject *)(o))->run)

static bool fusion_from_name(const char * s, enum gaze_head_fusion * f) {
    if (!strcmp(s, "mean")) *f = GAZE_HEAD_FUSION_MEAN;
    else if (!strcmp(s, "max")) *f = GAZE_HEAD_FUSION_MAX;
    else if (!strcmp(s, "min")) *f = GAZE_HEAD_FUSION_MIN;
    else return false;
    return true;
}

static PyObject * export(PyObject * buf, void * data, const char * fmt, Py_ssize_t item, int nd, const int64_t * shape) {
    PyObject * a = gz_array_new(buf, data, fmt, item, nd, shape);
    Py_DECREF(buf);
    return a;
}

static int parse_detector(const char * error, int exclude_bos, int exclude_current, struct gaze_detector_opts * det) {
    memset(det, 0, sizeof *det);
    if (!strcmp(error, "mul")) det->error = GAZE_DETECTOR_ERROR_MUL;
    else if (!strcmp(error, "abs")) det->error = GAZE_DETECTOR_ERROR_ABS;
    else { gz_raise_invalid("detector error '%s' (mul, abs)", error); return -1; }
    det->exclude_bos = exclude_bos;
    det->exclude_current_token = exclude_current;
    return 0;
}

// heads(run, error="mul", exclude_bos=False, exclude_current=False, broad=, positional=, special=,
//       sink=, detector=, threads=0) -> (ids Array [n, 3] int64: layer, head, kv_head;
//       values Array [n, n_metrics] float64; labels list of "a,b" strings)
static PyObject * py_heads(PyObject * self, PyObject * args, PyObject * kw) {
    static char * kwlist[] = { "run", "error", "exclude_bos", "exclude_current", "broad", "positional", "special",
                               "sink", "detector", "threads", NULL };
    PyObject * run;
    const char * error = "mul";
    int exclude_bos = 0, exclude_current = 0, threads = 0;
    struct gaze_head_thresholds th = gaze_head_thresholds_default();
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O|sppdddddi:heads", kwlist, &run, &error, &exclude_bos, &exclude_current,
                                     &th.broad, &th.positional, &th.special, &th.sink, &th.detector, &threads))
        return NULL;
    if (!IS_RUN(run)) return gz_raise_invalid("heads: expected a Run");
    struct gaze_detector_opts det;
    if (parse_detector(error, exclude_bos, exclude_current, &det)) return NULL;
    const struct gaze_run * r = RUN(run);
    const int64_t n = r->n_cap_layers * r->n_heads_cap;
    struct gaze_head_metrics * m = calloc((size_t)(n > 0 ? n : 1), sizeof *m);
    if (!m) return PyErr_NoMemory();
    enum gaze_status s;
    Py_BEGIN_ALLOW_THREADS
    s = gaze_head_metrics_compute(r, &det, &th, m, threads);
    Py_END_ALLOW_THREADS
    if (s) { free(m); return gz_raise(s); }
    void * idd, * vd;
    PyObject * ids = gz_bytearray((Py_ssize_t)(n * 3 * 8), &idd), * vals = gz_bytearray((Py_ssize_t)(n * GAZE_METRIC_COUNT * 8), &vd);
    PyObject * labels = PyList_New((Py_ssize_t)n);
    if (!ids || !vals || !labels) { free(m); Py_XDECREF(ids); Py_XDECREF(vals); Py_XDECREF(labels); return NULL; }
    for (int64_t i = 0; i < n; i++) {
        int64_t * id = (int64_t *)idd + 3 * i;
        id[0] = m[i].layer; id[1] = m[i].head; id[2] = m[i].kv_head;
        memcpy((double *)vd + GAZE_METRIC_COUNT * i, m[i].v, sizeof m[i].v);
        char buf[256];
        gaze_head_labels_format(m[i].labels, buf, sizeof buf);
        PyList_SetItem(labels, (Py_ssize_t)i, PyUnicode_FromString(buf));
    }
    free(m);
    int64_t s_ids[2] = { n, 3 }, s_vals[2] = { n, GAZE_METRIC_COUNT };
    return Py_BuildValue("(NNN)", export(ids, idd, "q", 8, 2, s_ids), export(vals, vd, "d", 8, 2, s_vals), labels);
}

static int rollout_opts(const char * fusion, double discard, int threads, struct gaze_rollout_opts * ro) {
    memset(ro, 0, sizeof *ro);
    if (!fusion_from_name(fusion, &ro->fusion)) { gz_raise_invalid("fusion '%s' (mean, max, min)", fusion); return -1; }
    ro->discard_ratio = discard;
    ro->n_threads = threads;
    return 0;
}

// rollout(run, fusion="mean", discard=0.0, layer=None, threads=0) -> Array [T, T] float64
// (layer given: that captured layer's residual-augmented matrix alone).
static PyObject * py_rollout(PyObject * self, PyObject * args, PyObject * kw) {
    static char * kwlist[] = { "run", "fusion", "discard", "layer", "threads", NULL };
    PyObject * run, * layer_obj = Py_None;
    const char * fusion = "mean";
    double discard = 0;
    int threads = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O|sdOi:rollout", kwlist, &run, &fusion, &discard, &layer_obj, &threads)) return NULL;
    if (!IS_RUN(run)) return gz_raise_invalid("rollout: expected a Run");
    struct gaze_rollout_opts ro;
    if (rollout_opts(fusion, discard, threads, &ro)) return NULL;
    const struct gaze_run * r = RUN(run);
    int64_t li = -1;
    if (layer_obj != Py_None) {   // model layer -> captured layer index
        long long L = PyLong_AsLongLong(layer_obj);
        if (L == -1 && PyErr_Occurred()) return NULL;
        if (L < 0) L += r->n_layers;
        for (int64_t i = 0; i < r->n_cap_layers; i++) if (r->layers[i].index == L) li = i;
        if (li < 0) return gz_raise_invalid("rollout: layer %lld was not captured", L);
    }
    void * d;
    PyObject * buf = gz_bytearray((Py_ssize_t)(r->T * r->T * 8), &d);
    if (!buf) return NULL;
    enum gaze_status s;
    Py_BEGIN_ALLOW_THREADS
    s = li >= 0 ? gaze_rollout_layer(r, li, &ro, d) : gaze_rollout(r, &ro, d);
    Py_END_ALLOW_THREADS
    if (s) { Py_DECREF(buf); return gz_raise(s); }
    int64_t shape[2] = { r->T, r->T };
    return export(buf, d, "d", 8, 2, shape);
}

// flow(run, token, fusion="mean", discard=0.0, threads=0) -> Array [T] float64
static PyObject * py_flow(PyObject * self, PyObject * args, PyObject * kw) {
    static char * kwlist[] = { "run", "token", "fusion", "discard", "threads", NULL };
    PyObject * run;
    long long token;
    const char * fusion = "mean";
    double discard = 0;
    int threads = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "OL|sdi:flow", kwlist, &run, &token, &fusion, &discard, &threads)) return NULL;
    if (!IS_RUN(run)) return gz_raise_invalid("flow: expected a Run");
    struct gaze_rollout_opts ro;
    if (rollout_opts(fusion, discard, threads, &ro)) return NULL;
    const struct gaze_run * r = RUN(run);
    if (token < 0) token += r->T;
    void * d;
    PyObject * buf = gz_bytearray((Py_ssize_t)(r->T * 8), &d);
    if (!buf) return NULL;
    enum gaze_status s;
    Py_BEGIN_ALLOW_THREADS
    s = gaze_attention_flow(r, &ro, (int64_t)token, d);
    Py_END_ALLOW_THREADS
    if (s) { Py_DECREF(buf); return gz_raise(s); }
    int64_t shape[1] = { r->T };
    return export(buf, d, "d", 8, 1, shape);
}

// diff(a, b) -> Array [n_cap_layers, n_heads_cap] float64: Jensen-Shannon divergence in bits
static PyObject * py_diff(PyObject * self, PyObject * args) {
    PyObject * a, * b;
    if (!PyArg_ParseTuple(args, "OO:diff", &a, &b)) return NULL;
    if (!IS_RUN(a) || !IS_RUN(b)) return gz_raise_invalid("diff: expected two Runs");
    const struct gaze_run * ra = RUN(a), * rb = RUN(b);
    void * d;
    PyObject * buf = gz_bytearray((Py_ssize_t)(ra->n_cap_layers * ra->n_heads_cap * 8), &d);
    if (!buf) return NULL;
    enum gaze_status s;
    Py_BEGIN_ALLOW_THREADS
    s = gaze_head_jsd(ra, rb, d);
    Py_END_ALLOW_THREADS
    if (s) { Py_DECREF(buf); return gz_raise(s); }
    int64_t shape[2] = { ra->n_cap_layers, ra->n_heads_cap };
    return export(buf, d, "d", 8, 2, shape);
}

/* ---- corpus: per-head statistics over many documents, memory flat in the corpus size ---- */

typedef struct {
    PyObject_HEAD
    PyObject * model;              // keeps the Model alive
    struct gaze_corpus * corpus;
    int busy;                      // an add is in flight (GIL released)
} CorpusObject;

static PyObject * g_corpus_type;

static PyObject * corpus_new(PyTypeObject * tp, PyObject * args, PyObject * kw) {
    static char * kwlist[] = { "model", "max_len", "error", "exclude_bos", "exclude_current", "threads", NULL };
    PyObject * model;
    long long max_len = 0;
    const char * error = "mul";
    int exclude_bos = 0, exclude_current = 0, threads = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O|Lsppi:Corpus", kwlist, &model, &max_len, &error, &exclude_bos,
                                     &exclude_current, &threads))
        return NULL;
    if (!PyObject_TypeCheck(model, (PyTypeObject *)g_model_type)) return gz_raise_invalid("Corpus: expected a Model");
    struct gaze_detector_opts det;
    if (parse_detector(error, exclude_bos, exclude_current, &det)) return NULL;
    struct gaze_corpus * c = NULL;
    enum gaze_status s = gaze_corpus_init(&c, ((ModelObject *)model)->model, &det, max_len, 1, threads);
    if (s) return gz_raise(s);
    allocfunc alloc = (allocfunc)PyType_GetSlot(tp, Py_tp_alloc);
    CorpusObject * o = (CorpusObject *)alloc(tp, 0);
    if (!o) { gaze_corpus_free(c); return NULL; }
    Py_INCREF(model);
    o->model = model;
    o->corpus = c;
    return (PyObject *)o;
}

static void corpus_dealloc(PyObject * self) {
    CorpusObject * o = (CorpusObject *)self;
    PyTypeObject * tp = Py_TYPE(self);
    gaze_corpus_free(o->corpus);
    Py_CLEAR(o->model);
    freefunc f = (freefunc)PyType_GetSlot(tp, Py_tp_free);
    f(self);
    Py_DECREF(tp);
}

// add(text): runs the model on one document and adds its per-head metrics.
static PyObject * corpus_add(PyObject * self, PyObject * arg) {
    CorpusObject * o = (CorpusObject *)self;
    Py_ssize_t n;
    const char * text = PyUnicode_Check(arg) ? PyUnicode_AsUTF8AndSize(arg, &n) : NULL;
    if (!text) { PyErr_Clear(); return gz_raise_invalid("Corpus.add: expected a str"); }
    if (o->busy) return gz_raise_invalid("Corpus.add: another thread is adding to this corpus");
    ModelObject * m = (ModelObject *)o->model;
    enum gaze_status s;
    o->busy = 1;
    m->n_running++;
    Py_BEGIN_ALLOW_THREADS
    s = gaze_corpus_add(o->corpus, text, (size_t)n);
    Py_END_ALLOW_THREADS
    m->n_running--;
    o->busy = 0;
    if (s) return gz_raise(s);
    Py_RETURN_NONE;
}

// _stats() -> (dict of counts, mean Array [L, H, M], std Array [L, H, M], count Array [L, H, M])
static PyObject * corpus_stats(PyObject * self, PyObject * noargs) {
    return gz_stats_arrays(gaze_corpus_stats(((CorpusObject *)self)->corpus));
}

// stats() -> Stats: a copy of the statistics so far, to merge with others or send elsewhere.
static PyObject * corpus_stats_copy(PyObject * self, PyObject * noargs) {
    return gz_stats_copy(gaze_corpus_stats(((CorpusObject *)self)->corpus));
}

// save(path): the statistics as a gaze.corpus JSON file (what `gaze merge` and `gaze corpus` read).
static PyObject * corpus_save(PyObject * self, PyObject * args) {
    PyObject * path_obj;
    if (!PyArg_ParseTuple(args, "O&:save", PyUnicode_FSConverter, &path_obj)) return NULL;
    struct gaze_head_stats * st = gaze_corpus_stats(((CorpusObject *)self)->corpus);
    enum gaze_status s = gaze_head_stats_save(st, PyBytes_AsString(path_obj));
    Py_DECREF(path_obj);
    if (s) return gz_raise(s);
    Py_RETURN_NONE;
}

static PyMethodDef corpus_methods[] = {
    { "add", corpus_add, METH_O, "add(text): runs the model on one document and adds its per-head metrics." },
    { "_stats", corpus_stats, METH_NOARGS, "Counts, and mean/std/count arrays [L, H, metrics]." },
    { "stats", corpus_stats_copy, METH_NOARGS, "stats() -> Stats: a copy of the statistics so far." },
    { "save", corpus_save, METH_VARARGS, "save(path): writes the statistics (gaze.corpus JSON)." },
    { NULL },
};
static PyType_Slot corpus_slots[] = {
    { Py_tp_doc, "Corpus(model, max_len=0, ...): per-head statistics over documents (use gaze.Corpus)." },
    { Py_tp_new, corpus_new },
    { Py_tp_dealloc, corpus_dealloc },
    { Py_tp_methods, corpus_methods },
    { 0, NULL },
};
static PyType_Spec corpus_spec = { "gaze._core.Corpus", sizeof(CorpusObject), 0, Py_TPFLAGS_DEFAULT, corpus_slots };

int gz_corpus_type_init(PyObject * module) {
    g_corpus_type = PyType_FromSpec(&corpus_spec);
    if (!g_corpus_type) return -1;
    Py_INCREF(g_corpus_type);
    return PyModule_AddObject(module, "Corpus", g_corpus_type);
}

PyMethodDef gz_analysis_methods[] = {
    { "heads", (PyCFunction)(void (*)(void))py_heads, METH_VARARGS | METH_KEYWORDS, "Per-head metrics of a run." },
    { "rollout", (PyCFunction)(void (*)(void))py_rollout, METH_VARARGS | METH_KEYWORDS, "Attention rollout [T, T]." },
    { "flow", (PyCFunction)(void (*)(void))py_flow, METH_VARARGS | METH_KEYWORDS, "Attention flow to one token [T]." },
    { "diff", py_diff, METH_VARARGS, "Per-head Jensen-Shannon divergence (bits) of two runs." },
    { NULL },
};
