// Strict UTF-8 (RFC 3629): the byte-range table of Unicode §3.9, Table 3-7.
#include "text/utf8.h"
#include "core/core.h"

// gaze_utf8_decode is in core/escape.c: error messages and terminal output need it below text/.

int gaze_utf8_encode(uint32_t cp, char out[4]) {
    if (cp < 0x80) { out[0] = (char)cp; return 1; }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

size_t gaze_utf8_first_invalid(const char * s, size_t n) {
    const uint8_t * u = (const uint8_t *)s;
    size_t i = 0;
    while (i < n) {
        if (u[i] < 0x80) { i++; continue; }   // ASCII fast path
        uint32_t cp;
        int len = gaze_utf8_decode(u, n, i, &cp);
        if (len == 0) return i;
        i += (size_t)len;
    }
    return n;
}

enum gaze_status gaze_utf8_validate(const char * s, size_t n, const char * what) {
    if (!s && n) return gaze_error(GAZE_ERR_INVALID_ARG, "%s: NULL text with length %zu", what ? what : "text", n);
    size_t bad = gaze_utf8_first_invalid(s, n);
    if (bad < n)
        return gaze_error(GAZE_ERR_FORMAT, "%s: invalid UTF-8 at byte offset %zu (byte 0x%02X)",
                          what ? what : "text", bad, (unsigned)(uint8_t)s[bad]);
    return GAZE_OK;
}
