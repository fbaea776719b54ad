// Internal header of the Python extension gaze._core: the objects the files of python/ext/ share.
// The extension is written against CPython's limited API of 3.11 (one abi3 wheel for every
// later CPython); 3.11 is the first version whose limited API has the buffer protocol
// (bf_getbuffer slots), which the zero-copy arrays need.
#ifndef GAZE_PY_EXT_H
#define GAZE_PY_EXT_H
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdlib.h>
#include <string.h>
#include "gaze.h"

// Model: owns a struct gaze_model. n_running counts runs in flight (changed with the GIL held),
// so the exact switch, which re-lays out weights, is refused while another thread runs it.
typedef struct {
    PyObject_HEAD
    struct gaze_model * model;
    int     exact;
    int64_t n_running;
} ModelObject;

// Run: owns a struct gaze_run; every array handed out keeps this object alive.
typedef struct {
    PyObject_HEAD
    struct gaze_run run;
    double  c_seconds;             // wall time of the gaze_model_run call that made it (0: loaded)
} RunObject;

// Array: a read-only buffer exporter over memory owned by `owner` (a Run, or a bytearray).
#define ARRAY_MAX_DIMS 4
typedef struct {
    PyObject_HEAD
    PyObject *  owner;
    void *      data;
    int         ndim;
    Py_ssize_t  itemsize;
    const char * format;           // struct-module code: "f", "d", "i", "b", "q"
    Py_ssize_t  shape[ARRAY_MAX_DIMS];
    Py_ssize_t  strides[ARRAY_MAX_DIMS];
} ArrayObject;

extern PyObject * g_model_type;
extern PyObject * g_run_type;
extern PyObject * g_array_type;

// module.c: raises the GazeError subclass of status s with gaze_last_error() (read on this
// thread, so call it after Py_END_ALLOW_THREADS of the failing call). Returns NULL.
PyObject * gz_raise(enum gaze_status s);
// Raises InvalidArgumentError (a GazeError) with a formatted message. Returns NULL.
PyObject * gz_raise_invalid(const char * fmt, ...);
// Int or sequence of ints (or None) -> malloc'd int64 array [*n], negative indices counted back
// from `limit` (Python style); the library checks ranges. None -> *out = NULL. 0 on success.
int gz_index_list(PyObject * seq, int64_t limit, const char * what, int64_t ** out, int64_t * n);
double gz_now(void);               // monotonic seconds

// array.c
PyObject * gz_array_new(PyObject * owner, void * data, const char * format, Py_ssize_t itemsize,
                        int ndim, const int64_t * shape);
// A zeroed bytearray of n bytes and its storage (filled while the GIL is released: nothing else
// can see it yet), exported as an Array of the given shape by the caller.
PyObject * gz_bytearray(Py_ssize_t n, void ** data);

// model.c / run.c / analysis.c
int  gz_model_type_init(PyObject * module);
int  gz_run_type_init(PyObject * module);
int  gz_array_type_init(PyObject * module);
int  gz_corpus_type_init(PyObject * module);
int  gz_stats_type_init(PyObject * module);
// stats.c: a new Stats holding a copy of st; the (counts, mean, std, count) tuple of _stats().
PyObject * gz_stats_copy(const struct gaze_head_stats * st);
PyObject * gz_stats_arrays(const struct gaze_head_stats * st);
extern PyMethodDef gz_stats_methods[];
PyObject * gz_run_wrap(const struct gaze_run * run, double c_seconds);   // steals run's contents
extern PyMethodDef gz_analysis_methods[];
extern PyMethodDef gz_run_methods[];
#endif
