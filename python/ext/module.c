// gaze._core: the module, its exceptions (one GazeError subclass per enum gaze_status, carrying
// the library's message) and the small library-wide functions (threads, ISA, model registry).
#include "ext.h"
#include <stdarg.h>
#include <time.h>

// Exception classes, indexed by enum gaze_status (0 = the base GazeError).
#define N_STATUS (GAZE_ERR_NUMERIC + 1)
static PyObject * g_errors[N_STATUS];

static const struct { const char * name; const char * doc; PyObject ** extra_base; } g_error_spec[N_STATUS] = {
    { "GazeError", "Base class of every error gaze raises: .status names the enum gaze_status "
                   "(\"GAZE_ERR_FORMAT\", ...), .code is its value, str() the library's message.", NULL },
    { "InvalidArgumentError", "The caller passed something impossible (GAZE_ERR_INVALID_ARG).", &PyExc_ValueError },
    { "GazeIOError", "Opening, reading, writing or mapping a file failed (GAZE_ERR_IO).", &PyExc_OSError },
    { "FormatError", "A file is malformed; the message names the file, field and offset (GAZE_ERR_FORMAT).", &PyExc_ValueError },
    { "UnsupportedError", "Well-formed but not supported: architecture, dtype, ... (GAZE_ERR_UNSUPPORTED).", NULL },
    { "OutOfMemoryError", "An allocation failed (GAZE_ERR_NOMEM).", &PyExc_MemoryError },
    { "LimitError", "A configured limit was exceeded: positions, sizes, depth (GAZE_ERR_LIMIT).", &PyExc_ValueError },
    { "NetworkError", "Fetching a model failed (GAZE_ERR_NETWORK).", &PyExc_ConnectionError },
    { "NumericError", "NaN or Inf where a finite value is required (GAZE_ERR_NUMERIC).", &PyExc_ArithmeticError },
};

static PyObject * raise_with(enum gaze_status s, const char * msg) {
    int i = (int)s > 0 && (int)s < N_STATUS ? (int)s : 0;
    PyObject * type = g_errors[i];
    PyObject * text = PyUnicode_DecodeUTF8(msg, (Py_ssize_t)strlen(msg), "replace");
    if (!text) return NULL;
    PyObject * exc = PyObject_CallFunctionObjArgs(type, text, NULL);
    Py_DECREF(text);
    if (!exc) return NULL;
    PyObject * name = PyUnicode_FromString(gaze_status_name(s));
    PyObject * code = PyLong_FromLong((long)s);
    if (!name || !code || PyObject_SetAttrString(exc, "status", name) || PyObject_SetAttrString(exc, "code", code)) {
        Py_XDECREF(name); Py_XDECREF(code); Py_DECREF(exc);
        return NULL;
    }
    Py_DECREF(name);
    Py_DECREF(code);
    PyErr_SetObject(type, exc);
    Py_DECREF(exc);
    return NULL;
}

PyObject * gz_raise(enum gaze_status s) {
    const char * msg = gaze_last_error();
    if (!msg || !*msg) msg = gaze_status_name(s);
    return raise_with(s, msg);
}

PyObject * gz_raise_invalid(const char * fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return raise_with(GAZE_ERR_INVALID_ARG, msg);
}

double gz_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int gz_index_list(PyObject * seq, int64_t limit, const char * what, int64_t ** out, int64_t * n) {
    *out = NULL;
    *n = 0;
    if (!seq || seq == Py_None) return 0;
    // ints and anything with __index__ (numpy integers), alone or in a sequence (numpy arrays too)
    const bool one = PyLong_Check(seq) || (PyIndex_Check(seq) && !PySequence_Check(seq));   // ndarrays have __index__
    PyObject * list = one ? PyTuple_Pack(1, seq) : PySequence_Tuple(seq);
    if (!list) {
        PyErr_Clear();
        gz_raise_invalid("%s: expected an int or a sequence of ints", what);
        return -1;
    }
    Py_ssize_t k = PyTuple_Size(list);
    int64_t * v = malloc((size_t)(k > 0 ? k : 1) * sizeof *v);
    if (!v) { Py_DECREF(list); PyErr_NoMemory(); return -1; }
    for (Py_ssize_t i = 0; i < k; i++) {
        PyObject * item = PyNumber_Index(PyTuple_GetItem(list, i));
        long long x = item ? PyLong_AsLongLong(item) : -1;
        Py_XDECREF(item);
        if (!item || (x == -1 && PyErr_Occurred())) {
            PyErr_Clear();
            Py_DECREF(list); free(v);
            gz_raise_invalid("%s: item %zd is not an int", what, i);
            return -1;
        }
        if (x < 0) x += limit;   // Python-style; the library checks the range and says so
        v[i] = x;
    }
    Py_DECREF(list);
    *out = v;
    *n = k;
    return 0;
}

static PyObject * py_load(PyObject * self, PyObject * args) {
    PyObject * path_obj;
    if (!PyArg_ParseTuple(args, "O&:load", PyUnicode_FSConverter, &path_obj)) return NULL;
    const char * path = PyBytes_AsString(path_obj);
    struct gaze_run run;
    enum gaze_status s;
    Py_BEGIN_ALLOW_THREADS
    s = gaze_run_load(&run, path);
    Py_END_ALLOW_THREADS
    Py_DECREF(path_obj);
    if (s) return gz_raise(s);
    return gz_run_wrap(&run, 0.0);
}

static PyObject * py_default_threads(PyObject * self, PyObject * noargs) {
    return PyLong_FromLong(gaze_default_threads());
}

static PyObject * py_set_default_threads(PyObject * self, PyObject * args) {
    int n;
    if (!PyArg_ParseTuple(args, "i:set_threads", &n)) return NULL;
    gaze_set_default_threads(n);
    Py_RETURN_NONE;
}

static PyObject * py_isa(PyObject * self, PyObject * noargs) {
    return PyUnicode_FromString(gaze_isa_name(gaze_isa_active()));
}

static PyObject * py_release_memory(PyObject * self, PyObject * noargs) {
    gaze_release_memory();
    Py_RETURN_NONE;
}

static PyObject * py_registry(PyObject * self, PyObject * noargs) {
    size_t n = 0;
    const struct gaze_model_entry * e = gaze_model_registry(&n);
    PyObject * list = PyList_New(0);
    for (size_t i = 0; list && i < n; i++) {
        PyObject * d = Py_BuildValue("{s:s,s:s,s:s,s:s}", "name", e[i].name, "package", e[i].package,
                                     "version", e[i].version, "description", e[i].description);
        if (!d || PyList_Append(list, d)) { Py_XDECREF(d); Py_DECREF(list); return NULL; }
        Py_DECREF(d);
    }
    return list;
}

static PyObject * py_resolve(PyObject * self, PyObject * args) {
    const char * name;
    if (!PyArg_ParseTuple(args, "s:resolve", &name)) return NULL;
    char out[4096];
    if (gaze_model_resolve(name, out, sizeof out)) return gz_raise(GAZE_ERR_IO);
    return PyUnicode_DecodeFSDefault(out);
}

static PyObject * py_fetch(PyObject * self, PyObject * args) {
    const char * name;
    int verbose = 0;
    if (!PyArg_ParseTuple(args, "s|p:fetch", &name, &verbose)) return NULL;
    char out[4096];
    enum gaze_status s;
    Py_BEGIN_ALLOW_THREADS
    s = gaze_model_fetch(name, verbose != 0, out, sizeof out);
    Py_END_ALLOW_THREADS
    if (s) return gz_raise(s);
    return PyUnicode_DecodeFSDefault(out);
}

static PyObject * py_metric_names(PyObject * self, PyObject * noargs) {
    PyObject * t = PyTuple_New(GAZE_METRIC_COUNT);
    for (int k = 0; t && k < GAZE_METRIC_COUNT; k++) PyTuple_SetItem(t, k, PyUnicode_FromString(gaze_metric_name(k)));
    return t;
}

static PyMethodDef module_methods[] = {
    { "load", py_load, METH_VARARGS, "load(path) -> Run: reads and validates a run file." },
    { "default_threads", py_default_threads, METH_NOARGS, "Threads the kernels use by default." },
    { "set_threads", py_set_default_threads, METH_VARARGS, "set_threads(n): default thread count (<= 0: physical cores)." },
    { "isa", py_isa, METH_NOARGS, "The instruction set the kernels run on (\"avx512\", \"avx2\", \"scalar\")." },
    { "release_memory", py_release_memory, METH_NOARGS, "Hands the recycled run arrays back to the system." },
    { "registry", py_registry, METH_NOARGS, "Models gaze knows by name." },
    { "resolve", py_resolve, METH_VARARGS, "resolve(name_or_path) -> path of a fetched model." },
    { "fetch", py_fetch, METH_VARARGS, "fetch(name, verbose=False) -> path: downloads a registered model." },
    { "metric_names", py_metric_names, METH_NOARGS, "Names of the per-head metrics, in column order." },
    { NULL },
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "gaze._core", "C binding of libgaze (see the gaze package).", -1,
    NULL, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__core(void) {
    PyObject * m = PyModule_Create(&module_def);
    if (!m) return NULL;
    if (PyModule_AddFunctions(m, module_methods) || PyModule_AddFunctions(m, gz_analysis_methods) ||
        PyModule_AddFunctions(m, gz_run_methods) || PyModule_AddFunctions(m, gz_stats_methods)) goto fail;
    for (int i = 0; i < N_STATUS; i++) {
        char qual[96];
        snprintf(qual, sizeof qual, "gaze.%s", g_error_spec[i].name);
        PyObject * bases = i == 0 ? NULL
                         : g_error_spec[i].extra_base ? PyTuple_Pack(2, g_errors[0], *g_error_spec[i].extra_base)
                                                      : PyTuple_Pack(1, g_errors[0]);
        if (i > 0 && !bases) goto fail;
        g_errors[i] = PyErr_NewExceptionWithDoc(qual, g_error_spec[i].doc, bases, NULL);
        Py_XDECREF(bases);
        if (!g_errors[i]) goto fail;
        Py_INCREF(g_errors[i]);
        if (PyModule_AddObject(m, g_error_spec[i].name, g_errors[i])) goto fail;
    }
    PyObject * st = PyDict_New();   // status name -> exception class
    for (int i = 1; st && i < N_STATUS; i++) PyDict_SetItemString(st, gaze_status_name(i), g_errors[i]);
    if (!st || PyModule_AddObject(m, "errors_by_status", st)) goto fail;
    if (gz_array_type_init(m) || gz_run_type_init(m) || gz_model_type_init(m) || gz_corpus_type_init(m) ||
        gz_stats_type_init(m)) goto fail;
    if (PyModule_AddIntConstant(m, "RUN_FORMAT_VERSION", GAZE_RUN_FORMAT_VERSION)) goto fail;
    return m;
fail:
    Py_DECREF(m);
    return NULL;
}
