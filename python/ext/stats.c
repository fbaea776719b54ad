// gaze._core.Stats: corpus statistics without a model (a struct gaze_head_stats), so that the
// partial statistics of separate processes (Ray workers, Slurm shards) can travel as plain data
// (state(): a dict of ints, strings and bytes, picklable) and be merged by the library's exact
// merge (gaze_head_stats_merge) in the process that collects them.
#include "ext.h"
#include <math.h>

typedef struct {
    PyObject_HEAD
    struct gaze_head_stats st;
} StatsObject;

static PyObject * g_stats_type;

static PyObject * export(PyObject * buf, void * data, const char * fmt, int nd, const int64_t * shape) {
    PyObject * a = gz_array_new(buf, data, fmt, 8, nd, shape);
    Py_DECREF(buf);
    return a;
}

PyObject * gz_stats_arrays(const struct gaze_head_stats * st) {
    const int64_t L = st->n_layers, H = st->n_heads, M = GAZE_METRIC_COUNT, n = L * H * M;
    void * md, * sd, * cd;
    PyObject * mean = gz_bytearray((Py_ssize_t)(n * 8), &md), * std = gz_bytearray((Py_ssize_t)(n * 8), &sd),
             * count = gz_bytearray((Py_ssize_t)(n * 8), &cd);
    if (!mean || !std || !count) { Py_XDECREF(mean); Py_XDECREF(std); Py_XDECREF(count); return NULL; }
    for (int64_t l = 0; l < L; l++)
        for (int64_t h = 0; h < H; h++)
            for (int64_t k = 0; k < M; k++) {
                const int64_t i = (l * H + h) * M + k;
                ((double *)md)[i] = gaze_head_stats_mean(st, l, h, (enum gaze_metric)k);
                ((double *)sd)[i] = gaze_head_stats_std(st, l, h, (enum gaze_metric)k);
                ((int64_t *)cd)[i] = st->count[i];
            }
    int64_t shape[3] = { L, H, M };
    return Py_BuildValue("({s:L,s:L,s:L}NNN)", "n_docs", (long long)st->n_docs, "n_tokens", (long long)st->n_tokens,
                         "n_kv_heads", (long long)st->n_kv_heads, export(mean, md, "d", 3, shape),
                         export(std, sd, "d", 3, shape), export(count, cd, "q", 3, shape));
}

static PyObject * stats_alloc(PyTypeObject * tp) {
    allocfunc alloc = (allocfunc)PyType_GetSlot(tp, Py_tp_alloc);
    StatsObject * o = (StatsObject *)alloc(tp, 0);
    if (o) memset(&o->st, 0, sizeof o->st);
    return (PyObject *)o;
}

static char * dup_or_null(const char * s, bool * oom) {
    if (!s) return NULL;
    char * d = strdup(s);
    if (!d) *oom = true;
    return d;
}

PyObject * gz_stats_copy(const struct gaze_head_stats * src) {
    StatsObject * o = (StatsObject *)stats_alloc((PyTypeObject *)g_stats_type);
    if (!o) return NULL;
    struct gaze_head_stats * st = &o->st;
    enum gaze_status s = gaze_head_stats_init(st, src->n_layers, src->n_heads, src->n_shards);
    if (s) { Py_DECREF(o); return gz_raise(s); }
    // the scalars and fixed fields, then the owned arrays and strings replaced by copies
    int64_t * count = st->count;
    double * mean = st->mean, * m2 = st->m2;
    uint8_t * shards = st->shards;
    *st = *src;
    st->count = count, st->mean = mean, st->m2 = m2, st->shards = shards;
    st->model = st->source = NULL;   // never src's: copies below
    const size_t n = (size_t)(src->n_layers * src->n_heads * GAZE_METRIC_COUNT);
    memcpy(count, src->count, n * sizeof *count);
    memcpy(mean, src->mean, n * sizeof *mean);
    memcpy(m2, src->m2, n * sizeof *m2);
    memcpy(shards, src->shards, (size_t)src->n_shards);
    bool oom = false;
    st->model = dup_or_null(src->model, &oom);
    st->source = dup_or_null(src->source, &oom);
    if (oom) { Py_DECREF(o); return PyErr_NoMemory(); }
    return (PyObject *)o;
}

/* ---- state: the statistics as a dict of plain values ---- */

static int get_int(PyObject * d, const char * key, long long lo, long long hi, long long * out) {
    PyObject * v = PyDict_GetItemString(d, key);   // borrowed
    if (!v || !PyLong_Check(v)) { gz_raise_invalid("Stats state: field %s: expected an int", key); return -1; }
    *out = PyLong_AsLongLong(v);
    if (*out == -1 && PyErr_Occurred()) { PyErr_Clear(); *out = lo - 1; }
    if (*out < lo || *out > hi) { gz_raise_invalid("Stats state: field %s: %lld outside %lld..%lld", key, *out, lo, hi); return -1; }
    return 0;
}

static int get_bool(PyObject * d, const char * key, bool * out) {
    PyObject * v = PyDict_GetItemString(d, key);
    if (!v || !PyBool_Check(v)) { gz_raise_invalid("Stats state: field %s: expected a bool", key); return -1; }
    *out = v == Py_True;
    return 0;
}

// Optional string (None or absent: NULL), copied.
static int get_str(PyObject * d, const char * key, char ** out) {
    PyObject * v = PyDict_GetItemString(d, key);
    *out = NULL;
    if (!v || v == Py_None) return 0;
    const char * s = PyUnicode_Check(v) ? PyUnicode_AsUTF8AndSize(v, NULL) : NULL;
    if (!s) { PyErr_Clear(); gz_raise_invalid("Stats state: field %s: expected a str or None", key); return -1; }
    if (!(*out = strdup(s))) { PyErr_NoMemory(); return -1; }
    return 0;
}

static int get_bytes(PyObject * d, const char * key, size_t n, void * out) {
    PyObject * v = PyDict_GetItemString(d, key);
    char * p;
    Py_ssize_t len;
    if (!v || !PyBytes_Check(v) || PyBytes_AsStringAndSize(v, &p, &len)) {
        PyErr_Clear();
        gz_raise_invalid("Stats state: field %s: expected bytes", key);
        return -1;
    }
    if ((size_t)len != n) { gz_raise_invalid("Stats state: field %s: %zd bytes, expected %zu", key, len, n); return -1; }
    memcpy(out, p, n);
    return 0;
}

// Stats(state): statistics from a dict made by state() (checked as gaze_head_stats_load checks a file).
static PyObject * stats_new(PyTypeObject * tp, PyObject * args, PyObject * kw) {
    static char * kwlist[] = { "state", NULL };
    PyObject * d;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O!:Stats", kwlist, &PyDict_Type, &d)) return NULL;
    long long L, H, n_shards, v;
    if (get_int(d, "n_layers", 1, GAZE_RUN_MAX_LAYERS, &L) || get_int(d, "n_heads", 1, GAZE_RUN_MAX_HEADS, &H) ||
        get_int(d, "n_shards", 1, 1000000, &n_shards))
        return NULL;
    StatsObject * o = (StatsObject *)stats_alloc(tp);
    if (!o) return NULL;
    struct gaze_head_stats * st = &o->st;
    enum gaze_status s = gaze_head_stats_init(st, L, H, n_shards);
    if (s) { Py_DECREF(o); return gz_raise(s); }
    const size_t n = (size_t)(L * H * GAZE_METRIC_COUNT);
    PyObject * err = PyDict_GetItemString(d, "error");
    const char * es = err && PyUnicode_Check(err) ? PyUnicode_AsUTF8AndSize(err, NULL) : NULL;
    if (!es || (strcmp(es, "mul") && strcmp(es, "abs"))) { PyErr_Clear(); gz_raise_invalid("Stats state: field error: expected \"mul\" or \"abs\""); goto fail; }
    st->det.error = strcmp(es, "abs") ? GAZE_DETECTOR_ERROR_MUL : GAZE_DETECTOR_ERROR_ABS;
    bool b;
    if (get_bool(d, "exclude_bos", &b)) goto fail;
    st->det.exclude_bos = b;
    if (get_bool(d, "exclude_current", &b)) goto fail;
    st->det.exclude_current_token = b;
    if (get_bool(d, "complete", &st->complete)) goto fail;
    if (get_int(d, "n_kv_heads", 0, GAZE_RUN_MAX_HEADS, &v)) goto fail;
    st->n_kv_heads = v;
    if (get_int(d, "n_docs", 0, INT64_MAX, &v)) goto fail;
    st->n_docs = v;
    if (get_int(d, "n_tokens", 0, INT64_MAX, &v)) goto fail;
    st->n_tokens = v;
    if (get_int(d, "n_lines", 0, INT64_MAX, &v)) goto fail;
    st->n_lines = v;
    if (get_int(d, "max_len", 0, INT64_MAX, &v)) goto fail;
    st->max_len = v;
    st->next_line = -1;   // not resumable line by line: it did not come from one file's shard
    if (get_str(d, "model", &st->model) || get_str(d, "source", &st->source) ||
        get_bytes(d, "shards", (size_t)n_shards, st->shards) || get_bytes(d, "count", n * 8, st->count) ||
        get_bytes(d, "mean", n * 8, st->mean) || get_bytes(d, "m2", n * 8, st->m2))
        goto fail;
    for (long long i = 0; i < n_shards; i++)
        if (st->shards[i] > 1) { gz_raise_invalid("Stats state: field shards[%lld]: %d, expected 0 or 1", i, st->shards[i]); goto fail; }
    for (size_t c = 0; c < n; c++)
        if (st->count[c] < 0 || st->count[c] > st->n_docs || !isfinite(st->mean[c]) || !isfinite(st->m2[c]) || st->m2[c] < 0) {
            gz_raise_invalid("Stats state: cell %zu: count %lld outside 0..n_docs %lld, or mean/m2 not finite, or m2 < 0", c,
                             (long long)st->count[c], (long long)st->n_docs);
            goto fail;
        }
    return (PyObject *)o;
fail:
    Py_DECREF(o);
    return NULL;
}

static void stats_dealloc(PyObject * self) {
    PyTypeObject * tp = Py_TYPE(self);
    gaze_head_stats_free(&((StatsObject *)self)->st);
    freefunc f = (freefunc)PyType_GetSlot(tp, Py_tp_free);
    f(self);
    Py_DECREF(tp);
}

static PyObject * str_or_none(const char * s) {
    if (!s) Py_RETURN_NONE;
    return PyUnicode_DecodeUTF8(s, (Py_ssize_t)strlen(s), "replace");
}

// state() -> dict: everything Stats(state) needs, as ints, bools, strings and bytes.
static PyObject * stats_state(PyObject * self, PyObject * noargs) {
    const struct gaze_head_stats * st = &((StatsObject *)self)->st;
    const Py_ssize_t n = (Py_ssize_t)(st->n_layers * st->n_heads * GAZE_METRIC_COUNT) * 8;
    return Py_BuildValue("{s:L,s:L,s:L,s:L,s:L,s:L,s:L,s:s,s:O,s:O,s:O,s:N,s:N,s:L,s:y#,s:y#,s:y#,s:y#}",
                         "n_layers", (long long)st->n_layers, "n_heads", (long long)st->n_heads,
                         "n_kv_heads", (long long)st->n_kv_heads, "n_docs", (long long)st->n_docs,
                         "n_tokens", (long long)st->n_tokens, "n_lines", (long long)st->n_lines,
                         "max_len", (long long)st->max_len, "error", st->det.error == GAZE_DETECTOR_ERROR_ABS ? "abs" : "mul",
                         "exclude_bos", st->det.exclude_bos ? Py_True : Py_False,
                         "exclude_current", st->det.exclude_current_token ? Py_True : Py_False,
                         "complete", st->complete ? Py_True : Py_False, "model", str_or_none(st->model),
                         "source", str_or_none(st->source), "n_shards", (long long)st->n_shards,
                         "shards", (const char *)st->shards, (Py_ssize_t)st->n_shards,
                         "count", (const char *)st->count, n, "mean", (const char *)st->mean, n,
                         "m2", (const char *)st->m2, n);
}

// merge(other): self += other, by the library's exact pairwise merge (refused, naming why, when
// the model, corpus, options or shape differ, or a shard is in both).
static PyObject * stats_merge(PyObject * self, PyObject * other) {
    if (!PyObject_TypeCheck(other, (PyTypeObject *)g_stats_type)) return gz_raise_invalid("Stats.merge: expected a Stats");
    if (self == other) return gz_raise_invalid("Stats.merge: a Stats merged with itself would count twice");
    enum gaze_status s = gaze_head_stats_merge(&((StatsObject *)self)->st, &((StatsObject *)other)->st);
    if (s) return gz_raise(s);
    Py_RETURN_NONE;
}

static PyObject * stats_arrays(PyObject * self, PyObject * noargs) { return gz_stats_arrays(&((StatsObject *)self)->st); }

// save(path): the gaze.corpus JSON file that gaze merge reads.
static PyObject * stats_save(PyObject * self, PyObject * args) {
    PyObject * path_obj;
    if (!PyArg_ParseTuple(args, "O&:save", PyUnicode_FSConverter, &path_obj)) return NULL;
    enum gaze_status s;
    const char * path = PyBytes_AsString(path_obj);
    Py_BEGIN_ALLOW_THREADS
    s = gaze_head_stats_save(&((StatsObject *)self)->st, path);
    Py_END_ALLOW_THREADS
    Py_DECREF(path_obj);
    if (s) return gz_raise(s);
    Py_RETURN_NONE;
}

// stats_load(path) -> Stats: a gaze.corpus JSON file (gaze corpus -o, gaze merge -o), validated.
static PyObject * py_stats_load(PyObject * mod, PyObject * args) {
    PyObject * path_obj;
    if (!PyArg_ParseTuple(args, "O&:stats_load", PyUnicode_FSConverter, &path_obj)) return NULL;
    StatsObject * o = (StatsObject *)stats_alloc((PyTypeObject *)g_stats_type);
    if (!o) { Py_DECREF(path_obj); return NULL; }
    enum gaze_status s;
    const char * path = PyBytes_AsString(path_obj);
    Py_BEGIN_ALLOW_THREADS
    s = gaze_head_stats_load(&o->st, path);
    Py_END_ALLOW_THREADS
    Py_DECREF(path_obj);
    if (s) { Py_DECREF(o); return gz_raise(s); }
    return (PyObject *)o;
}

static PyMethodDef stats_methods[] = {
    { "state", stats_state, METH_NOARGS, "state() -> dict of plain values; Stats(state) rebuilds it." },
    { "merge", stats_merge, METH_O, "merge(other): adds other's statistics, exactly (gaze_head_stats_merge)." },
    { "_stats", stats_arrays, METH_NOARGS, "Counts, and mean/std/count arrays [L, H, metrics]." },
    { "save", stats_save, METH_VARARGS, "save(path): writes the statistics (gaze.corpus JSON)." },
    { NULL },
};
static PyType_Slot stats_slots[] = {
    { Py_tp_doc, "Stats(state): corpus statistics without a model, to merge and move between processes." },
    { Py_tp_new, stats_new },
    { Py_tp_dealloc, stats_dealloc },
    { Py_tp_methods, stats_methods },
    { 0, NULL },
};
static PyType_Spec stats_spec = { "gaze._core.Stats", sizeof(StatsObject), 0, Py_TPFLAGS_DEFAULT, stats_slots };

PyMethodDef gz_stats_methods[] = {
    { "stats_load", py_stats_load, METH_VARARGS, "stats_load(path) -> Stats: reads a gaze.corpus JSON file." },
    { NULL },
};

int gz_stats_type_init(PyObject * module) {
    g_stats_type = PyType_FromSpec(&stats_spec);
    if (!g_stats_type) return -1;
    Py_INCREF(g_stats_type);
    return PyModule_AddObject(module, "Stats", g_stats_type);
}
