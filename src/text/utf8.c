// Strict UTF-8 (RFC 3629): the byte-range table of Unicode §3.9, Table 3-7.
#include "text/utf8.h"
#include "core/core.h"

int gaze_utf8_decode(const uint8_t * s, size_t n, size_t i, uint32_t * cp) {
    uint8_t b0 = s[i];
    if (b0 < 0x80) { *cp = b0; return 1; }
    size_t left = n - i;
    if (b0 >= 0xC2 && b0 <= 0xDF) {
        if (left < 2 || (s[i + 1] & 0xC0) != 0x80) return 0;
        *cp = ((uint32_t)(b0 & 0x1F) << 6) | (s[i + 1] & 0x3F);
        return 2;
    }
    if (b0 >= 0xE0 && b0 <= 0xEF) {
        if (left < 3) return 0;
        uint8_t b1 = s[i + 1], b2 = s[i + 2];
        uint8_t lo = b0 == 0xE0 ? 0xA0 : 0x80;   // no overlong forms
        uint8_t hi = b0 == 0xED ? 0x9F : 0xBF;   // no surrogates
        if (b1 < lo || b1 > hi || (b2 & 0xC0) != 0x80) return 0;
        *cp = ((uint32_t)(b0 & 0x0F) << 12) | ((uint32_t)(b1 & 0x3F) << 6) | (b2 & 0x3F);
        return 3;
    }
    if (b0 >= 0xF0 && b0 <= 0xF4) {
        if (left < 4) return 0;
        uint8_t b1 = s[i + 1], b2 = s[i + 2], b3 = s[i + 3];
        uint8_t lo = b0 == 0xF0 ? 0x90 : 0x80;   // no overlong forms
        uint8_t hi = b0 == 0xF4 ? 0x8F : 0xBF;   // nothing above U+10FFFF
        if (b1 < lo || b1 > hi || (b2 & 0xC0) != 0x80 || (b3 & 0xC0) != 0x80) return 0;
        *cp = ((uint32_t)(b0 & 0x07) << 18) | ((uint32_t)(b1 & 0x3F) << 12) |
              ((uint32_t)(b2 & 0x3F) << 6) | (b3 & 0x3F);
        return 4;
    }
    return 0;   // continuation byte, C0/C1 (overlong), F5..FF
}

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
