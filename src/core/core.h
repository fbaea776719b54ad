// Internal helpers shared by every layer: error reporting, checked arithmetic, aligned memory.
#ifndef GAZE_CORE_H
#define GAZE_CORE_H

#include "gaze.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

// Records a message for gaze_last_error() and returns s, so callers write
//   return gaze_error(GAZE_ERR_FORMAT, "%s: field %s at offset %zu: ...", path, ...);
enum gaze_status gaze_error(enum gaze_status s, const char * fmt, ...)
    __attribute__((format(printf, 2, 3)));

// Internal invariants (never input validation): stay on in release builds, like GGML_ASSERT.
#define GAZE_ASSERT(x) do { if (!(x)) { \
    fprintf(stderr, "gaze: internal error %s:%d: %s\n", __FILE__, __LINE__, #x); abort(); } } while (0)

// Strict UTF-8 (RFC 3629) decoding of the code point at s[i] (i < n): its byte length 1..4 and
// *cp, or 0 when the bytes at i do not start a valid sequence (core/escape.c; text/utf8.h too).
int gaze_utf8_decode(const uint8_t * s, size_t n, size_t i, uint32_t * cp);

// cp as gaze_term_escape writes it when it must not reach a terminal raw (\n, \x1b,
// \u202E): the escape's length, or 0 when cp is safe as it is.
int gaze_term_escape_cp(uint32_t cp, char out[12]);

#define GAZE_MIN(a, b) ((a) < (b) ? (a) : (b))
#define GAZE_MAX(a, b) ((a) > (b) ? (a) : (b))

// Checked arithmetic for sizes derived from files: true on overflow.
static inline bool gaze_mul_ovf(size_t a, size_t b, size_t * r) { return __builtin_mul_overflow(a, b, r); }
static inline bool gaze_add_ovf(size_t a, size_t b, size_t * r) { return __builtin_add_overflow(a, b, r); }
static inline bool gaze_mul_ovf_i64(int64_t a, int64_t b, int64_t * r) { return __builtin_mul_overflow(a, b, r); }

// struct gaze_progress: reports when the caller asked for it (p or p->fn NULL: nothing).
static inline void gaze_progress_report(const struct gaze_progress * p, int64_t done, int64_t total,
                                        const char * what) {
    if (p && p->fn) p->fn(p->user, done, total, what);
}

// 64-byte aligned allocations for SIMD buffers; free with gaze_free_aligned.
void * gaze_alloc_aligned(size_t n);   // NULL on failure (and records GAZE_ERR_NOMEM)
void   gaze_free_aligned(void * p);
// Long-lived buffers (prepacked weights): on huge pages when >= 2 MiB; free with gaze_free_aligned.
void * gaze_alloc_large(size_t n);
// The same for the big arrays of a run (captured tensors): freed blocks are kept and reused by
// later runs (core/recycle.c). Free only with gaze_free_recycled.
void * gaze_alloc_recycled(size_t n);  // NULL on failure (and records GAZE_ERR_NOMEM)
void   gaze_free_recycled(void * p);

#endif
