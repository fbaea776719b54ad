// gaze._core.Model: owns one loaded struct gaze_model; run() tokenizes, runs and captures with
// the GIL released (other Python threads go on; several threads may run one model where the
// architecture allows it), and ablate() ranks heads through the real forward pass.
#include "ext.h"

PyObject * g_model_type;

static PyObject * model_new(PyTypeObject * tp, PyObject * args, PyObject * kw) {
    static char * kwlist[] = { "path", "exact", NULL };
    PyObject * path_obj;
    int exact = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O&|p:Model", kwlist, PyUnicode_FSConverter, &path_obj, &exact)) return NULL;
    const char * path = PyBytes_AsString(path_obj);
    struct gaze_model * model = NULL;
    enum gaze_status s;
    Py_BEGIN_ALLOW_THREADS
    s = gaze_model_load(&model, path);
    if (!s && exact) s = gaze_model_set_exact(model, true);
    if (s) { gaze_model_free(model); model = NULL; }
    Py_END_ALLOW_THREADS
    Py_DECREF(path_obj);
    if (s) return gz_raise(s);
    allocfunc alloc = (allocfunc)PyType_GetSlot(tp, Py_tp_alloc);
    ModelObject * m = (ModelObject *)alloc(tp, 0);
    if (!m) { gaze_model_free(model); return NULL; }
    m->model = model;
    m->exact = exact;
    return (PyObject *)m;
}

static void model_dealloc(PyObject * self) {
    ModelObject * m = (ModelObject *)self;
    PyTypeObject * tp = Py_TYPE(self);
    gaze_model_free(m->model);
    freefunc f = (freefunc)PyType_GetSlot(tp, Py_tp_free);
    f(self);
    Py_DECREF(tp);
}

static PyObject * model_info(PyObject * self, void * c) {
    const struct gaze_model_info * i = gaze_model_info(((ModelObject *)self)->model);
    return Py_BuildValue("{s:s,s:s,s:L,s:L,s:L,s:L,s:L,s:L,s:L,s:L,s:O}", "arch", i->arch_name, "path", i->path,
                         "n_vocab", (long long)i->n_vocab, "n_embd", (long long)i->n_embd,
                         "n_layers", (long long)i->n_layers, "n_heads", (long long)i->n_heads,
                         "n_kv_heads", (long long)i->n_kv_heads, "head_dim", (long long)i->head_dim,
                         "n_ff", (long long)i->n_ff, "n_ctx", (long long)i->n_ctx,
                         "causal", i->causal ? Py_True : Py_False);
}

static PyObject * model_exact(PyObject * self, void * c) { return PyBool_FromLong(((ModelObject *)self)->exact); }

// Switches f32-dequantized weights on or off; refused while another thread runs this model.
static int set_exact(ModelObject * m, int exact) {
    if (exact == m->exact) return 0;
    if (m->n_running > 0) {
        gz_raise_invalid("exact=%s: the model is running in another thread; switch exact between runs",
                         exact ? "True" : "False");
        return -1;
    }
    enum gaze_status s;
    m->n_running++;   // holds off other threads' switches while the GIL is released
    Py_BEGIN_ALLOW_THREADS
    s = gaze_model_set_exact(m->model, exact != 0);
    Py_END_ALLOW_THREADS
    m->n_running--;
    if (s) { gz_raise(s); return -1; }
    m->exact = exact;
    return 0;
}

static int parse_parts(PyObject * capture, unsigned * parts, bool * none) {
    *parts = 0;
    *none = false;
    if (capture == Py_None) { *none = true; return 0; }
    PyObject * t = PyUnicode_Check(capture) ? PyTuple_Pack(1, capture) : PySequence_Tuple(capture);
    if (!t) { PyErr_Clear(); gz_raise_invalid("capture: a part name or a sequence of them (attn, scores, q, k, hidden, all)"); return -1; }
    for (Py_ssize_t i = 0; i < PyTuple_Size(t); i++) {
        PyObject * item = PyTuple_GetItem(t, i);
        const char * s = PyUnicode_Check(item) ? PyUnicode_AsUTF8AndSize(item, NULL) : NULL;
        if (!s) { PyErr_Clear(); Py_DECREF(t); gz_raise_invalid("capture: item %zd is not a string", i); return -1; }
        if (!strcmp(s, "attn") || !strcmp(s, "attention")) *parts |= GAZE_RUN_PART_ATTN;
        else if (!strcmp(s, "scores")) *parts |= GAZE_RUN_PART_SCORES;
        else if (!strcmp(s, "q")) *parts |= GAZE_RUN_PART_Q;
        else if (!strcmp(s, "k")) *parts |= GAZE_RUN_PART_K;
        else if (!strcmp(s, "hidden")) *parts |= GAZE_RUN_PART_HIDDEN;
        else if (!strcmp(s, "all")) *parts |= GAZE_RUN_PART_ATTN | GAZE_RUN_PART_SCORES | GAZE_RUN_PART_Q | GAZE_RUN_PART_K | GAZE_RUN_PART_HIDDEN;
        else { Py_DECREF(t); gz_raise_invalid("capture: unknown part '%s' (attn, scores, q, k, hidden, all)", s); return -1; }
    }
    Py_DECREF(t);
    *none = *parts == 0;   // an empty capture keeps nothing (the library's 0 would mean attention)
    return 0;
}

static PyObject * model_run(PyObject * self, PyObject * args, PyObject * kw) {
    static char * kwlist[] = { "text", "pair", "generate", "layers", "heads", "capture", "exact", "max_len", "truncate",
                               "temperature", "top_p", "seed", "threads", NULL };
    ModelObject * m = (ModelObject *)self;
    const char * text, * pair = NULL;
    long long generate = 0, max_len = 0;
    unsigned long long seed = 0;
    PyObject * layers_obj = Py_None, * heads_obj = Py_None, * capture = NULL, * exact_obj = Py_None;
    int truncate = 0, threads = 0;
    float temperature = 0, top_p = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "s|zLOOOOLpffKi:run", kwlist, &text, &pair, &generate, &layers_obj,
                                     &heads_obj, &capture, &exact_obj, &max_len, &truncate, &temperature, &top_p,
                                     &seed, &threads))
        return NULL;
    if (generate < 0) return gz_raise_invalid("generate must be >= 0 (got %lld)", generate);
    if (temperature < 0 || !(top_p >= 0 && top_p <= 1))
        return gz_raise_invalid("temperature must be >= 0 and top_p in [0, 1]");
    struct gaze_run_opts o = { 0 };
    if (capture) {
        bool none;
        if (parse_parts(capture, &o.parts, &none)) return NULL;
        o.no_capture = none;
    }
    if (exact_obj != Py_None) {
        int e = PyObject_IsTrue(exact_obj);
        if (e < 0 || set_exact(m, e)) return NULL;
    }
    const struct gaze_model_info * info = gaze_model_info(m->model);
    int64_t * layers = NULL, * heads = NULL;
    if (gz_index_list(layers_obj, info->n_layers, "layers", &layers, &o.n_layers)) return NULL;
    if (gz_index_list(heads_obj, info->n_heads, "heads", &heads, &o.n_heads)) { free(layers); return NULL; }
    o.layers = layers;
    o.heads = heads;
    o.generate = generate;
    o.max_len = max_len;
    o.truncate = truncate;
    o.temperature = temperature;
    o.top_p = top_p;
    o.seed = seed;
    o.n_threads = threads;
    struct gaze_run run;
    enum gaze_status s;
    double t0, t1;
    m->n_running++;
    Py_BEGIN_ALLOW_THREADS
    t0 = gz_now();
    s = gaze_model_run(m->model, text, pair, &o, &run);
    t1 = gz_now();
    Py_END_ALLOW_THREADS
    m->n_running--;
    free(layers);
    free(heads);
    if (s) return gz_raise(s);
    return gz_run_wrap(&run, t1 - t0);
}

// run_image(image, layers=None, heads=None, capture=None, threads=0): vision models. image is
// a PNG/JPEG path (str) or a C-contiguous uint8 buffer [h, w, 3] (RGB, as PIL's
// convert("RGB")); either way preprocessed by the model's Hugging Face image processor.
static PyObject * model_run_image(PyObject * self, PyObject * args, PyObject * kw) {
    static char * kwlist[] = { "image", "layers", "heads", "capture", "threads", NULL };
    ModelObject * m = (ModelObject *)self;
    PyObject * image, * layers_obj = Py_None, * heads_obj = Py_None, * capture = NULL;
    int threads = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O|OOOi:run_image", kwlist, &image, &layers_obj, &heads_obj, &capture, &threads))
        return NULL;
    struct gaze_run_opts o = { 0 };
    if (capture) {
        bool none;
        if (parse_parts(capture, &o.parts, &none)) return NULL;
        o.no_capture = none;
    }
    struct gaze_image img = { 0 };
    const char * name = NULL;
    Py_buffer view = { 0 };
    enum gaze_status s;
    if (PyUnicode_Check(image)) {
        const char * path = PyUnicode_AsUTF8AndSize(image, NULL);
        if (!path) return NULL;
        Py_BEGIN_ALLOW_THREADS
        s = gaze_image_load(&img, path, 0);
        Py_END_ALLOW_THREADS
        if (s) return gz_raise(s);
        const char * slash = strrchr(path, '/');
        name = slash ? slash + 1 : path;
    } else {
        if (PyObject_GetBuffer(image, &view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | PyBUF_ND)) return NULL;
        const bool u8 = view.itemsize == 1 && (!view.format || !strcmp(view.format, "B") || !strcmp(view.format, "<B") ||
                                               !strcmp(view.format, "=B") || !strcmp(view.format, "|B"));
        if (!u8 || view.ndim != 3 || view.shape[2] != 3 || view.shape[0] < 1 || view.shape[1] < 1) {
            PyBuffer_Release(&view);
            return gz_raise_invalid("image: want a PNG/JPEG path or a uint8 array [h, w, 3] (RGB), got format '%s' of rank %d",
                                    view.format ? view.format : "B", view.ndim);
        }
        img.height = view.shape[0];
        img.width = view.shape[1];
        img.rgb = view.buf;   // borrowed: gaze_model_run_image only reads it
        name = "array";
    }
    const struct gaze_model_info * info = gaze_model_info(m->model);
    int64_t * layers = NULL, * heads = NULL;
    if (gz_index_list(layers_obj, info->n_layers, "layers", &layers, &o.n_layers) ||
        gz_index_list(heads_obj, info->n_heads, "heads", &heads, &o.n_heads)) {
        free(layers);
        if (view.obj) PyBuffer_Release(&view); else gaze_image_free(&img);
        return NULL;
    }
    o.layers = layers;
    o.heads = heads;
    o.n_threads = threads;
    struct gaze_run run;
    double t0, t1;
    m->n_running++;
    Py_BEGIN_ALLOW_THREADS
    t0 = gz_now();
    s = gaze_model_run_image(m->model, &img, name, &o, &run);
    t1 = gz_now();
    Py_END_ALLOW_THREADS
    m->n_running--;
    free(layers);
    free(heads);
    if (view.obj) PyBuffer_Release(&view); else gaze_image_free(&img);
    if (s) return gz_raise(s);
    return gz_run_wrap(&run, t1 - t0);
}

// ablate(text, pair=None, mean=False, layers=None, threads=0) -> (baseline, effect Array [L, H])
static PyObject * model_ablate(PyObject * self, PyObject * args, PyObject * kw) {
    static char * kwlist[] = { "text", "pair", "mean", "layers", "threads", NULL };
    ModelObject * m = (ModelObject *)self;
    const char * text, * pair = NULL;
    int mean = 0, threads = 0;
    PyObject * layers_obj = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "s|zpOi:ablate", kwlist, &text, &pair, &mean, &layers_obj, &threads)) return NULL;
    const struct gaze_model_info * info = gaze_model_info(m->model);
    struct gaze_ablate_opts ao = { 0 };
    int64_t * layers = NULL;
    if (gz_index_list(layers_obj, info->n_layers, "layers", &layers, &ao.n_layers)) return NULL;
    ao.layers = layers;
    ao.mean = mean;
    ao.n_threads = threads;
    void * data;
    PyObject * buf = gz_bytearray((Py_ssize_t)(info->n_layers * info->n_heads * 8), &data);
    if (!buf) { free(layers); return NULL; }
    double base = 0;
    enum gaze_status s;
    m->n_running++;
    Py_BEGIN_ALLOW_THREADS
    s = gaze_ablate_heads(m->model, text, pair, &ao, &base, data);
    Py_END_ALLOW_THREADS
    m->n_running--;
    free(layers);
    if (s) { Py_DECREF(buf); return gz_raise(s); }
    int64_t shape[2] = { info->n_layers, info->n_heads };
    PyObject * arr = gz_array_new(buf, data, "d", 8, 2, shape);
    Py_DECREF(buf);
    if (!arr) return NULL;
    return Py_BuildValue("(dN)", base, arr);
}

// induction(seq_len=50, batch=4, seed=1, threads=0) -> scores Array [L, H]
static PyObject * model_induction(PyObject * self, PyObject * args, PyObject * kw) {
    static char * kwlist[] = { "seq_len", "batch", "seed", "threads", NULL };
    ModelObject * m = (ModelObject *)self;
    struct gaze_induction_opts io = { 50, 4, 1, 0 };
    long long S = 50, B = 4;
    unsigned long long seed = 1;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|LLKi:induction", kwlist, &S, &B, &seed, &io.n_threads)) return NULL;
    io.seq_len = S;
    io.batch = B;
    io.seed = seed;
    const struct gaze_model_info * info = gaze_model_info(m->model);
    void * data;
    PyObject * buf = gz_bytearray((Py_ssize_t)(info->n_layers * info->n_heads * 8), &data);
    if (!buf) return NULL;
    enum gaze_status s;
    m->n_running++;
    Py_BEGIN_ALLOW_THREADS
    s = gaze_induction_scores_model(m->model, &io, data, NULL);
    Py_END_ALLOW_THREADS
    m->n_running--;
    if (s) { Py_DECREF(buf); return gz_raise(s); }
    int64_t shape[2] = { info->n_layers, info->n_heads };
    PyObject * arr = gz_array_new(buf, data, "d", 8, 2, shape);
    Py_DECREF(buf);
    return arr;
}

static PyMethodDef model_methods[] = {
    { "run", (PyCFunction)(void (*)(void))model_run, METH_VARARGS | METH_KEYWORDS, "Runs the model (see gaze.Model.run)." },
    { "run_image", (PyCFunction)(void (*)(void))model_run_image, METH_VARARGS | METH_KEYWORDS,
      "Runs a vision model on an image (see gaze.Model.run)." },
    { "ablate", (PyCFunction)(void (*)(void))model_ablate, METH_VARARGS | METH_KEYWORDS, "Head ablation (see gaze.ablate)." },
    { "induction", (PyCFunction)(void (*)(void))model_induction, METH_VARARGS | METH_KEYWORDS, "Induction protocol scores." },
    { NULL },
};
static PyGetSetDef model_getset[] = {
    { "info", model_info, NULL, "dict: architecture and sizes", NULL },
    { "exact", model_exact, NULL, "f32-dequantized weights in use", NULL },
    { NULL },
};
static PyType_Slot model_slots[] = {
    { Py_tp_doc, "Model(path, exact=False): a loaded model (use gaze.Model)." },
    { Py_tp_new, model_new },
    { Py_tp_dealloc, model_dealloc },
    { Py_tp_methods, model_methods },
    { Py_tp_getset, model_getset },
    { 0, NULL },
};
static PyType_Spec model_spec = { "gaze._core.Model", sizeof(ModelObject), 0, Py_TPFLAGS_DEFAULT, model_slots };

int gz_model_type_init(PyObject * module) {
    g_model_type = PyType_FromSpec(&model_spec);
    if (!g_model_type) return -1;
    Py_INCREF(g_model_type);
    return PyModule_AddObject(module, "Model", g_model_type);
}
