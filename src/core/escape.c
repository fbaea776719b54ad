// Terminal-safe text. Everything gaze prints that came from a file (token strings, model names,
// metadata, shard names, error messages quoting them) passes through gaze_term_escape, so a
// crafted tokenizer or run file cannot move the cursor, clear the screen, set the window title,
// write the clipboard (OSC 52) or reorder what the user reads. Stopping at C0 and DEL is not
// enough: xterm and others act on the C1 controls U+0080..U+009F (U+009B is CSI, U+009D OSC)
// when they arrive UTF-8 encoded, and bidi overrides make "abc" display as "cba".
// The strict UTF-8 decoder lives here (not in text/) because error messages in core need it.
#include "core/core.h"
#include <string.h>

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

int gaze_term_escape_cp(uint32_t cp, char out[12]) {
    if (cp == '\n') { memcpy(out, "\\n", 3); return 2; }
    if (cp == '\t') { memcpy(out, "\\t", 3); return 2; }
    if (cp == '\r') { memcpy(out, "\\r", 3); return 2; }
    if (cp < 0x20 || cp == 0x7F) return snprintf(out, 12, "\\x%02x", (unsigned)cp);
    if ((cp >= 0x80 && cp < 0xA0) ||                   // C1 controls (CSI, OSC, DCS, ST, ...)
        cp == 0x061C || cp == 0x200E || cp == 0x200F || // bidi marks (ALM, LRM, RLM)
        (cp >= 0x202A && cp <= 0x202E) ||               // bidi embeddings and overrides
        (cp >= 0x2066 && cp <= 0x2069) ||               // bidi isolates
        cp == 0x2028 || cp == 0x2029 ||                 // line and paragraph separators
        cp == 0xFEFF || (cp >= 0xFFF9 && cp <= 0xFFFB)) // BOM / zero-width no-break, annotations
        return snprintf(out, 12, "\\u%04X", (unsigned)cp);
    return 0;
}

size_t gaze_term_escape(char * out, size_t cap, const char * s, size_t n) {
    const uint8_t * u = (const uint8_t *)(s ? s : "");
    if (!s) n = 0;
    else if (n == GAZE_TERM_NUL) n = strlen(s);
    size_t o = 0;   // length needed so far; bytes land in out while they fit
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        char esc[12];
        int len = gaze_utf8_decode(u, n, i, &cp), k;
        const char * piece = esc;
        if (len == 0) { k = snprintf(esc, sizeof esc, "\\x%02x", u[i]); len = 1; }   // invalid byte: visible
        else if (!(k = gaze_term_escape_cp(cp, esc))) { piece = s + i; k = len; }
        if (cap && o + (size_t)k < cap) memcpy(out + o, piece, (size_t)k);
        else if (cap && o < cap) cap = o + 1;   // never a partial escape or character
        o += (size_t)k;
        i += (size_t)len;
    }
    if (cap) out[o < cap ? o : cap - 1] = 0;
    return o;
}

void gaze_term_fputs(FILE * f, const char * s) {
    if (!f || !s) return;
    const uint8_t * u = (const uint8_t *)s;
    const size_t n = strlen(s);
    size_t run = 0;   // start of the bytes that go out unchanged
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        char esc[12];
        int len = gaze_utf8_decode(u, n, i, &cp), k = 0;
        if (len == 0) { k = snprintf(esc, sizeof esc, "\\x%02x", u[i]); len = 1; }
        else k = gaze_term_escape_cp(cp, esc);
        if (k) {
            fwrite(s + run, 1, i - run, f);
            fwrite(esc, 1, (size_t)k, f);
            run = i + (size_t)len;
        }
        i += (size_t)len;
    }
    fwrite(s + run, 1, n - run, f);
}
