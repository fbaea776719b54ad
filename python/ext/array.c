// gaze._core.Array: a read-only buffer exporter over memory another object owns (a Run's captured
// arrays, a bytearray of results). numpy.asarray(Array) is a view, never a copy, and its base
// chain (memoryview -> Array -> owner) keeps the owner alive as long as any view exists.
#include "ext.h"
#include <structmember.h>

PyObject * g_array_type;

PyObject * gz_array_new(PyObject * owner, void * data, const char * format, Py_ssize_t itemsize,
                        int ndim, const int64_t * shape) {
    if (ndim < 0 || ndim > ARRAY_MAX_DIMS) return gz_raise_invalid("array of rank %d", ndim);
    PyTypeObject * tp = (PyTypeObject *)g_array_type;
    allocfunc alloc = (allocfunc)PyType_GetSlot(tp, Py_tp_alloc);
    ArrayObject * a = (ArrayObject *)alloc(tp, 0);
    if (!a) return NULL;
    Py_INCREF(owner);
    a->owner = owner;
    a->data = data;
    a->format = format;
    a->itemsize = itemsize;
    a->ndim = ndim;
    Py_ssize_t stride = itemsize;
    for (int i = ndim - 1; i >= 0; i--) {   // C order
        a->shape[i] = (Py_ssize_t)shape[i];
        a->strides[i] = stride;
        stride *= a->shape[i];
    }
    return (PyObject *)a;
}

PyObject * gz_bytearray(Py_ssize_t n, void ** data) {
    PyObject * b = PyByteArray_FromStringAndSize(NULL, n);
    if (!b) return NULL;
    *data = PyByteArray_AsString(b);
    if (n) memset(*data, 0, (size_t)n);
    return b;
}

static int array_getbuffer(PyObject * self, Py_buffer * view, int flags) {
    ArrayObject * a = (ArrayObject *)self;
    if (flags & PyBUF_WRITABLE) {
        PyErr_SetString(PyExc_BufferError, "gaze arrays are read-only views of a run (copy them to modify)");
        view->obj = NULL;
        return -1;
    }
    Py_ssize_t len = a->itemsize;
    for (int i = 0; i < a->ndim; i++) len *= a->shape[i];
    Py_INCREF(self);
    view->obj = self;
    // numpy accepts any pointer for an empty array, but Py_buffer wants a valid one
    view->buf = a->data ? a->data : (void *)&a->data;
    view->len = len;
    view->readonly = 1;
    view->itemsize = a->itemsize;
    view->format = (flags & PyBUF_FORMAT) ? (char *)a->format : NULL;
    view->ndim = a->ndim;
    view->shape = (flags & PyBUF_ND) == PyBUF_ND ? a->shape : NULL;
    view->strides = (flags & PyBUF_STRIDES) == PyBUF_STRIDES ? a->strides : NULL;
    view->suboffsets = NULL;
    view->internal = NULL;
    return 0;
}

static void array_releasebuffer(PyObject * self, Py_buffer * view) { (void)self; (void)view; }

static void array_dealloc(PyObject * self) {
    ArrayObject * a = (ArrayObject *)self;
    PyTypeObject * tp = Py_TYPE(self);
    Py_CLEAR(a->owner);
    freefunc f = (freefunc)PyType_GetSlot(tp, Py_tp_free);
    f(self);
    Py_DECREF(tp);
}

static PyObject * array_get_shape(PyObject * self, void * closure) {
    ArrayObject * a = (ArrayObject *)self;
    PyObject * t = PyTuple_New(a->ndim);
    for (int i = 0; t && i < a->ndim; i++) PyTuple_SetItem(t, i, PyLong_FromSsize_t(a->shape[i]));
    return t;
}

static PyMemberDef array_members[] = {
    { "owner", T_OBJECT, offsetof(ArrayObject, owner), READONLY, "the object that owns the memory" },
    { NULL },
};
static PyGetSetDef array_getset[] = {
    { "shape", array_get_shape, NULL, "shape of the view", NULL },
    { NULL },
};

static PyType_Slot array_slots[] = {
    { Py_tp_doc, "Read-only buffer over memory owned by a gaze object (numpy.asarray makes a view)." },
    { Py_tp_dealloc, array_dealloc },
    { Py_tp_members, array_members },
    { Py_tp_getset, array_getset },
    { Py_bf_getbuffer, array_getbuffer },
    { Py_bf_releasebuffer, array_releasebuffer },
    { 0, NULL },
};
static PyType_Spec array_spec = {
    "gaze._core.Array", sizeof(ArrayObject), 0, Py_TPFLAGS_DEFAULT | Py_TPFLAGS_DISALLOW_INSTANTIATION, array_slots,
};

int gz_array_type_init(PyObject * module) {
    g_array_type = PyType_FromSpec(&array_spec);
    if (!g_array_type) return -1;
    Py_INCREF(g_array_type);
    return PyModule_AddObject(module, "Array", g_array_type);
}
