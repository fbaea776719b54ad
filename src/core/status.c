// Status codes and the per-thread last-error message.
#include "core/core.h"
#include <string.h>

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
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g_msg, sizeof g_msg, fmt, ap);
    va_end(ap);
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
