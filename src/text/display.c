// How a token looks in every output (terminal heatmaps, figures, gaze info; the viewer's
// disp() in render/viewer/viewer.js mirrors it): whitespace made visible with one set of
// glyphs, terminal controls escaped as gaze_term_escape does, cut to a number of columns.
#include "core/core.h"
#include <string.h>
#include <utf8proc.h>

static int cp_columns(uint32_t cp) {
    int w = utf8proc_charwidth((utf8proc_int32_t)cp);
    return w < 0 ? 1 : w;   // (unassigned code points: one column, as most terminals draw them)
}

int gaze_text_columns(const char * s) {
    const uint8_t * u = (const uint8_t *)(s ? s : "");
    const size_t n = strlen((const char *)u);
    int cols = 0;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        int len = gaze_utf8_decode(u, n, i, &cp);
        if (len == 0) { cols++; i++; continue; }
        cols += cp_columns(cp);
        i += (size_t)len;
    }
    return cols;
}

int gaze_token_display(char * out, size_t cap, const char * tok, int max_cols) {
    if (!out || !cap) return 0;
    out[0] = 0;
    const uint8_t * u = (const uint8_t *)(tok ? tok : "");
    const size_t n = strlen((const char *)u);
    if (n == 0) { if (cap > 3) memcpy(out, "\xE2\x88\x85", 4); return 1; }   // ∅
    if (max_cols <= 0) max_cols = 1 << 30;
    size_t o = 0;
    int cols = 0;
    bool lead = true;   // still in the token's leading whitespace
    for (size_t i = 0; i < n;) {
        uint32_t cp = 0xFFFD;
        int len = gaze_utf8_decode(u, n, i, &cp);
        if (len == 0) { cp = 0xFFFD; len = 1; }   // invalid byte: U+FFFD, as run files store it
        char piece[12];
        const char * p = piece;
        int k, w;
        // (Runs hold decoded text, so GPT-2's byte spellings "Ġ" "Ċ" are real letters there,
        // Maltese ones, and stay; SentencePiece's "▁" word mark is no letter.)
        if (cp == '\n') { p = "\xE2\x86\xB5"; k = 3; w = 1; }                                  // ↵
        else if (cp == '\t') { p = "\xE2\x87\xA5"; k = 3; w = 1; }                             // ⇥
        else if (lead && (cp == ' ' || cp == 0x2581)) { p = "\xE2\x90\xA3"; k = 3; w = 1; }    // ␣
        else if ((k = gaze_term_escape_cp(cp, piece)) > 0) w = k;
        else if (cp == 0xFFFD && len == 1) { p = "\xEF\xBF\xBD"; k = 3; w = 1; }
        else { p = (const char *)u + i; k = len; w = cp_columns(cp); }
        if (cp != ' ' && cp != 0x2581) lead = false;
        // room for "…" unless this is the last character
        const bool last = i + (size_t)len >= n;
        if (cols + w > max_cols - (last ? 0 : 1) || o + (size_t)k + 4 > cap) {
            if (cols + 1 <= max_cols && o + 4 <= cap) { memcpy(out + o, "\xE2\x80\xA6", 3); o += 3; cols++; }
            break;
        }
        memcpy(out + o, p, (size_t)k);
        o += (size_t)k;
        cols += w;
        i += (size_t)len;
    }
    out[o] = 0;
    return cols;
}
