// The terminal sanitiser (gaze_term_escape / gaze_term_fputs), the token display shared by
// every output (gaze_token_display), gaze_error's escaping, and the terminal heatmap's layout
// at 120 tokens (numbered columns, legend, block labels, width) and its sink detection.
#include "gaze.h"
#include "core/core.h"
#include "check.h"
#include <stdlib.h>
#include <string.h>

// Text that would drive a terminal: ESC (CSI 2J, OSC 52), BEL, the C1 CSI and OSC as UTF-8,
// bidi overrides and isolates, marks, line separators, an invalid byte.
static const char * const k_hostile =
    "a\x1b[2J" "b\x1b]52;c;aGk=\x07" "c\xc2\x9b" "31m" "d\xc2\x9d" "0;t\x07" "e\xe2\x80\xae" "f\xe2\x81\xa6"
    "g\xe2\x80\x8f" "h\xd8\x9c" "i\xe2\x80\xa8" "j\xef\xbb\xbf" "k\xff" "l\x7f";

// Nothing a terminal acts on: no C0 but none, no DEL, no C1, no bidi control, valid UTF-8.
static bool terminal_safe(const char * s) {
    const unsigned char * u = (const unsigned char *)s;
    size_t n = strlen(s);
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        int len = gaze_utf8_decode(u, n, i, &cp);
        if (len == 0) return false;
        if (cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp < 0xA0) || cp == 0x061C || cp == 0x200E || cp == 0x200F ||
            (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069) || cp == 0x2028 || cp == 0x2029 || cp == 0xFEFF)
            return false;
        i += (size_t)len;
    }
    return true;
}

static void test_escape(void) {
    char out[512];
    size_t n = gaze_term_escape(out, sizeof out, k_hostile, GAZE_TERM_NUL);
    CHECK(n == strlen(out), "length %zu vs %zu", n, strlen(out));
    CHECK(terminal_safe(out), "escaped text still unsafe: %s", out);
    CHECK(!strcmp(out, "a\\x1b[2Jb\\x1b]52;c;aGk=\\x07c\\u009B31md\\u009D0;t\\x07e\\u202Ef\\u2066g\\u200Fh\\u061Ci\\u2028j\\uFEFFk\\xffl\\x7f"),
          "escaped: %s", out);
    // ordinary text, accents, CJK, emoji and newlines-as-escapes
    gaze_term_escape(out, sizeof out, "caf\xc3\xa9 \xe4\xb8\xad \xf0\x9f\x98\x80\n\t", GAZE_TERM_NUL);
    CHECK(!strcmp(out, "caf\xc3\xa9 \xe4\xb8\xad \xf0\x9f\x98\x80\\n\\t"), "plain text changed: %s", out);
    // truncation: never half an escape, always terminated, returns the full length
    char small[6], small7[7];
    n = gaze_term_escape(small, sizeof small, "ab\x1b" "cdef", GAZE_TERM_NUL);
    CHECK(n == 10 && !strcmp(small, "ab"), "cut: '%s' (%zu)", small, n);
    n = gaze_term_escape(small7, sizeof small7, "abc\xe4\xb8\xad\xe4\xb8\xad", GAZE_TERM_NUL);
    CHECK(!strcmp(small7, "abc\xe4\xb8\xad") && n == 9, "cut inside a character: '%s'", small7);
    CHECK(gaze_term_escape(NULL, 0, "x\x1b", 2) == 5, "length query");
    // explicit length: NUL bytes escaped
    gaze_term_escape(out, sizeof out, "a\0b", 3);
    CHECK(!strcmp(out, "a\\x00b"), "NUL: %s", out);
    // overlong and surrogate encodings are invalid bytes, not characters
    gaze_term_escape(out, sizeof out, "\xc1\x9b\xed\xa0\x80", GAZE_TERM_NUL);
    CHECK(!strcmp(out, "\\xc1\\x9b\\xed\\xa0\\x80"), "overlong/surrogate: %s", out);

    // the FILE* writer says the same
    char * buf = NULL;
    size_t len = 0;
    FILE * f = open_memstream(&buf, &len);
    gaze_term_fputs(f, k_hostile);
    fclose(f);
    gaze_term_escape(out, sizeof out, k_hostile, GAZE_TERM_NUL);
    CHECK(buf && !strcmp(buf, out), "fputs '%s' vs escape '%s'", buf ? buf : "", out);
    free(buf);

    // error messages quoting file content are escaped the same way (C1 and bidi too)
    gaze_error(GAZE_ERR_FORMAT, "token '%s'", k_hostile);
    CHECK(terminal_safe(gaze_last_error()), "gaze_error kept a control: %s", gaze_last_error());
    CHECK(strstr(gaze_last_error(), "\\u009B") && strstr(gaze_last_error(), "\\u202E"), "%s", gaze_last_error());
}

static void test_display(void) {
    char out[256];
    struct { const char * in; int max; const char * want; int cols; } cases[] = {
        { " the", 0, "\xe2\x90\xa3the", 4 },                       // ␣the
        { "  x y", 0, "\xe2\x90\xa3\xe2\x90\xa3x y", 5 },           // leading spaces only
        { "\n", 0, "\xe2\x86\xb5", 1 },                             // ↵
        { "\t", 0, "\xe2\x87\xa5", 1 },                             // ⇥
        { "a\nb", 0, "a\xe2\x86\xb5" "b", 3 },
        { "\xe2\x96\x81word", 0, "\xe2\x90\xa3word", 5 },           // SentencePiece ▁
        { "\xc4\xa0ur", 0, "\xc4\xa0ur", 3 },                       // Ġ is a letter in decoded text
        { "", 0, "\xe2\x88\x85", 1 },                               // ∅
        { "\x1b[31m", 0, "\\x1b[31m", 8 },
        { "x\xc2\x9b", 0, "x\\u009B", 7 },
        { "\xe2\x80\xae" "evil", 0, "\\u202Eevil", 10 },
        { "\xff", 0, "\xef\xbf\xbd", 1 },                           // U+FFFD, as run files store it
        { "internationalisation", 8, "interna\xe2\x80\xa6", 8 },    // cut with …
        { "\xe4\xb8\xad\xe6\x96\x87\xe5\xad\x97", 4, "\xe4\xb8\xad\xe2\x80\xa6", 3 },   // wide: 2 columns each
        { "abc", 3, "abc", 3 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int cols = gaze_token_display(out, sizeof out, cases[i].in, cases[i].max);
        CHECK(!strcmp(out, cases[i].want) && cols == cases[i].cols, "case %zu: '%s' (%d columns), want '%s' (%d)", i, out,
              cols, cases[i].want, cases[i].cols);
        CHECK(terminal_safe(out), "case %zu unsafe", i);
    }
    gaze_token_display(out, sizeof out, k_hostile, 0);
    CHECK(terminal_safe(out), "hostile token displayed raw: %s", out);
    CHECK(gaze_text_columns("\xe4\xb8\xad" "a") == 3, "columns of CJK");
}

// Display width of one output line (the heatmap writes no escape codes with COLOR_NONE).
static int line_columns(const char * s, size_t n) {
    char * l = strndup(s, n);
    int c = gaze_text_columns(l);
    free(l);
    return c;
}

static void test_heatmap_120(void) {
    enum { T = 120 };
    static float w[T * T];
    static char names[T][16];
    const char * tok[T];
    for (int i = 0; i < T; i++) {
        snprintf(names[i], sizeof names[i], i == 0 ? "[CLS]" : i % 7 == 3 ? "##ing%d" : "word%d", i);
        tok[i] = names[i];
        for (int j = 0; j < T; j++) w[i * T + j] = j == 0 ? 0.6f : 0.4f / (T - 1);
    }
    float share = 0;
    CHECK(gaze_term_sink_column(w, T, T, &share) == 0 && share > 0.59f, "sink column not found (%g)", share);
    char * buf = NULL;
    size_t len = 0;
    FILE * f = open_memstream(&buf, &len);
    struct gaze_term_opts o = { 0 };
    o.width = 160;
    o.color = GAZE_TERM_COLOR_NONE;
    o.top_k = 2;
    o.title = "hostile \x1b]0;title\x07 \xe2\x80\xae";
    CHECK(gaze_term_heatmap(f, w, T, T, tok, tok, &o) == GAZE_OK, "heatmap");
    fclose(f);
    int widest = 0;
    for (const char * p = buf; *p;) {
        const char * e = strchr(p, '\n');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        int c = line_columns(p, n);
        if (c > widest) widest = c;
        p += n + (e ? 1 : 0);
    }
    CHECK(widest <= 160, "a line is %d columns wide", widest);
    CHECK(terminal_safe(strstr(buf, "hostile")) || !strchr(buf, 0x1b), "title escaped");
    CHECK(!strchr(buf, 0x1b), "escape byte in --no-color output");
    CHECK(strstr(buf, "columns:") && strstr(buf, "  0 [CLS]") && strstr(buf, "  119 word119"), "legend maps numbers to tokens");
    CHECK(strstr(buf, "\n    0-1 \"[CLS] word1\""), "block label names its range and tokens");
    CHECK(strstr(buf, "\n    2-3 \"word2ing3\""), "WordPiece pieces joined in block labels");
    CHECK(strstr(buf, "\n  5 word5 ") && strstr(buf, "\n119 word119 "), "top-k rows: index right-aligned, token");
    CHECK(strstr(buf, "'@' 1 of"), "ASCII ramp explained");
    free(buf);

    for (int i = 0; i < T * T; i++) w[i] = 1.0f / T;
    CHECK(gaze_term_sink_column(w, T, T, NULL) == -1, "uniform attention has no sink");
}

// Random byte strings (biased to the bytes that start controls and multi-byte sequences): the
// escaped and displayed forms are always terminal-safe, the writer and the buffer agree, and
// a short buffer holds a prefix of the full escape.
static void test_random(void) {
    static const unsigned char pick[] = { 0x1b, 0x07, 0x0a, 0x7f, 0x9b, 0xc2, 0xe2, 0x80, 0x81, 0xae, 0xa6, 0xf0,
                                          0x9f, 0xed, 0xa0, 0xff, 'a', ' ', '[', 0xd8, 0x9c, 0xef, 0xbb, 0xbf };
    uint32_t x = 12345;
    int unsafe = 0, mismatch = 0, badprefix = 0;
    for (int it = 0; it < 20000; it++) {
        char in[48], full[512], cut[9], disp[512];
        size_t n = 0;
        x = x * 1664525u + 1013904223u;
        const size_t len = (x >> 24) % 40;
        for (; n < len; n++) {
            x = x * 1664525u + 1013904223u;
            unsigned char c = (x >> 28) < 12 ? pick[(x >> 16) % sizeof pick] : (unsigned char)(x >> 8);
            in[n] = (char)(c ? c : 'z');
        }
        in[n] = 0;
        size_t need = gaze_term_escape(full, sizeof full, in, GAZE_TERM_NUL);
        unsafe += !terminal_safe(full);
        gaze_token_display(disp, sizeof disp, in, 1 + (int)(x % 30));
        unsafe += !terminal_safe(disp);
        char * buf = NULL;
        size_t bl = 0;
        FILE * f = open_memstream(&buf, &bl);
        gaze_term_fputs(f, in);
        fclose(f);
        mismatch += need != strlen(full) || !buf || strcmp(buf, full);
        free(buf);
        gaze_term_escape(cut, sizeof cut, in, GAZE_TERM_NUL);
        badprefix += strncmp(cut, full, strlen(cut)) != 0 || !terminal_safe(cut);
    }
    CHECK(unsafe == 0, "%d unsafe outputs", unsafe);
    CHECK(mismatch == 0, "%d writer/buffer mismatches", mismatch);
    CHECK(badprefix == 0, "%d cut outputs not a safe prefix", badprefix);
}

int main(void) {
    test_escape();
    test_random();
    test_display();
    test_heatmap_120();
    return check_summary("test_term");
}
