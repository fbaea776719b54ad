// Status codes and the per-thread last-error message.
#include "core/core.h"
#include <string.h>
#include <sys/mman.h>

static _Thread_local char g_msg[1024];

const char * gaze_status_name(enum gaze_status s) {
    switch (s) {
        case GAZE_OK:              return "GAZE_OK";
        case GAZE_ERR_INVALID_ARG: return "GAZE_ERR_INVALID_ARG";
        case GAZE_ERR_IO:          return "GAZE_ERR_IO";
        case GAZE_ERR_FORMAT:      return "GAZE_ERR_FORMAT";
        case GAZE_ERR_UNSUPPORTED: return "GAZE_ERR_UNSUPPORTED";
        case GAZE_ERR_NOMEM:       return "GAZE_ERR_NOMEM";
        case GAZE_ERR_LIMIT:       return "GAZE_ERR_LIMIT";
        case GAZE_ERR_NETWORK:     return "GAZE_ERR_NETWORK";
        case GAZE_ERR_NUMERIC:     return "GAZE_ERR_NUMERIC";
    }
    return "GAZE_ERR_UNKNOWN";
}

enum gaze_status gaze_error(enum gaze_status s, const char * fmt, ...) {
    // Formatted apart from g_msg (an argument may be gaze_last_error() itself), then copied
    // through gaze_term_escape (core/escape.c): messages quote file content (tokens, keys, JSON
    // near an error), and a crafted file must not put terminal controls on the user's screen.
    char buf[sizeof g_msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    gaze_term_escape(g_msg, sizeof g_msg, buf, GAZE_TERM_NUL);
    return s;
}

const char * gaze_last_error(void) { return g_msg; }
void gaze_clear_error(void) { g_msg[0] = 0; }

void * gaze_alloc_aligned(size_t n) {
    void * p = NULL;
    size_t rounded = (n + 63) & ~(size_t)63;
    if (n == 0) rounded = 64;
    if (rounded < n || posix_memalign(&p, 64, rounded) != 0) {
        gaze_error(GAZE_ERR_NOMEM, "out of memory allocating %zu bytes", n);
        return NULL;
    }
    return p;
}

void gaze_free_aligned(void * p) { free(p); }

// Long-lived buffers of 2 MiB or more (prepacked weights) on transparent huge pages where the
// kernel allows it (THP "madvise" mode): ~500 fewer page faults per 2 MiB when first written
// and fewer TLB misses when a GEMM streams them (MiniLM: load -8 ms, run -2 %). Only whole
// 2 MiB pages inside the buffer are advised, so no page beyond its end is ever made resident.
void * gaze_alloc_large(size_t n) {
    const size_t huge = (size_t)2 << 20;
    if (n < huge) return gaze_alloc_aligned(n);
    void * p = NULL;
    if (posix_memalign(&p, huge, n) != 0) {
        gaze_error(GAZE_ERR_NOMEM, "out of memory allocating %zu bytes", n);
        return NULL;
    }
    (void)madvise(p, n & ~(huge - 1), MADV_HUGEPAGE);   // advisory: failure is harmless
    return p;
}
