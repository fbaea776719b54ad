// Terminal heatmaps: truecolor (or 256-colour, or plain characters) cells, token labels on
// both axes, fitted to the terminal width (cells of two columns, then one, then blocks of
// tokens averaged), and a list of the most attended keys per query. Long inputs get numbered
// labels and a legend of what each number holds. Works over SSH; honours NO_COLOR. Every
// label goes through gaze_token_display, so a token cannot drive the terminal.
#include "core/core.h"
#include <math.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

// Colours come from gaze_colormap_viridis (render/palette.c, shared with the figures).

int gaze_term_width(void) {
    struct winsize ws;
    if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
    const char * cols = getenv("COLUMNS");
    int n = cols ? atoi(cols) : 0;
    return n > 20 ? n : 100;
}

enum gaze_term_color gaze_term_color_auto(void) {
    const char * no = getenv("NO_COLOR");
    if (no && *no) return GAZE_TERM_COLOR_NONE;
    if (!isatty(STDOUT_FILENO)) return GAZE_TERM_COLOR_NONE;   // pipes and logs get plain text
    const char * ct = getenv("COLORTERM");
    if (ct && (strstr(ct, "truecolor") || strstr(ct, "24bit"))) return GAZE_TERM_COLOR_TRUE;
    const char * term = getenv("TERM");
    if (term && !strcmp(term, "dumb")) return GAZE_TERM_COLOR_NONE;
    return GAZE_TERM_COLOR_256;
}

// Nearest xterm-256 colour cube entry.
static int rgb_to_256(const unsigned char rgb[3]) {
    int q[3];
    for (int c = 0; c < 3; c++) q[c] = rgb[c] < 48 ? 0 : rgb[c] < 115 ? 1 : (rgb[c] - 35) / 40;
    return 16 + 36 * q[0] + 6 * q[1] + q[2];
}

static const char * const k_ramp = " .:-=+*#@";   // --no-color: t rounded to eighths

// One cell; *last (-1 at the start of a row) is the colour already set, so a run of equal
// cells costs one escape sequence.
static void cell(FILE * f, float t, enum gaze_term_color color, int cw, long * last) {
    if (color == GAZE_TERM_COLOR_NONE) {
        int i = (int)lrintf((t < 0 ? 0 : t > 1 ? 1 : t) * 8.0f);
        for (int k = 0; k < cw; k++) fputc(k_ramp[i], f);
        return;
    }
    unsigned char rgb[3];
    gaze_colormap_viridis(t, rgb);
    const long code = color == GAZE_TERM_COLOR_TRUE ? (long)rgb[0] << 16 | rgb[1] << 8 | rgb[2] : rgb_to_256(rgb);
    if (code != *last) {
        if (color == GAZE_TERM_COLOR_TRUE) fprintf(f, "\x1b[48;2;%d;%d;%dm", rgb[0], rgb[1], rgb[2]);
        else fprintf(f, "\x1b[48;5;%dm", (int)code);
        *last = code;
    }
    fputs(cw == 2 ? "  " : " ", f);
}

// s as a label of exactly width display columns (cut with "…"), right- or left-aligned.
static void put_label(FILE * f, const char * s, int width, bool right) {
    char out[512];
    int cols = gaze_token_display(out, sizeof out, s, width);
    if (right) fprintf(f, "%*s%s", width - cols, "", out);
    else fprintf(f, "%s%*s", out, width - cols, "");
}

static int digits(int64_t v) {
    int d = 1;
    for (; v >= 10; v /= 10) d++;
    return d;
}

// The tokens [a, b) of labels as one text: WordPiece pieces joined with spaces ("##" glued
// on), byte-level BPE pieces (which carry their own spaces) concatenated.
static void join_tokens(char * out, size_t cap, const char * const * labels, int64_t a, int64_t b, bool wordpiece) {
    size_t o = 0;
    for (int64_t i = a; i < b && o + 1 < cap; i++) {
        const char * t = labels[i] ? labels[i] : "";
        const bool cont = wordpiece && !strncmp(t, "##", 2);
        if (cont) t += 2;
        else if (wordpiece && i > a) out[o++] = ' ';
        for (; *t && o + 1 < cap; t++) out[o++] = *t;
    }
    out[o] = 0;   // (a character cut at cap shows as U+FFFD, past the label's width anyway)
}

// "12 cat" (one token) or "12-19 "the cat sat…"" (a block): the token indices idx[a..b)
// (right-aligned in idx_w columns) and their labels, in at most text_cols columns of text.
// Returns the display columns written.
static int block_label(char * out, size_t cap, const char * const * labels, const int64_t * idx, int64_t a, int64_t b,
                       bool wordpiece, int idx_w, int text_cols) {
    char joined[1024], shown[512], range[48];
    long long first = idx ? idx[a] : a, last = idx ? idx[b - 1] : b - 1;
    int c;
    if (b - a == 1) {
        snprintf(range, sizeof range, "%lld", first);
        c = gaze_token_display(shown, sizeof shown, labels ? labels[a] : "", text_cols);
    } else {
        snprintf(range, sizeof range, "%lld-%lld", first, last);
        join_tokens(joined, sizeof joined, labels, a, b, wordpiece);
        c = labels ? gaze_token_display(shown, sizeof shown, joined, text_cols - 2) : 0;
    }
    const int rw = GAZE_MAX(idx_w, (int)strlen(range));
    if (b - a == 1) snprintf(out, cap, "%*s %s", rw, range, shown);
    else if (labels) { snprintf(out, cap, "%*s \"%s\"", rw, range, shown); c += 2; }
    else { snprintf(out, cap, "%*s", rw, range); c = -1; }
    return rw + 1 + c;
}

int64_t gaze_term_sink_column(const float * w, int64_t Tq, int64_t Tk, float * share) {
    if (share) *share = 0;
    if (!w || Tq < 1 || Tk < 2) return -1;
    int64_t best = -1;
    double top = 0, second = 0;
    for (int64_t j = 0; j < Tk; j++) {
        double m = 0;
        for (int64_t i = 0; i < Tq; i++) m += w[i * Tk + j];
        m /= (double)Tq;
        if (m > top) { second = top; top = m; best = j; }
        else if (m > second) second = m;
    }
    if (best < 0 || top < 0.3 || top < 3 * second) return -1;
    if (share) *share = (float)top;
    return best;
}

enum gaze_status gaze_term_heatmap(FILE * f, const float * w, int64_t Tq, int64_t Tk,
                                   const char * const * row_labels, const char * const * col_labels,
                                   const struct gaze_term_opts * opts) {
    if (!f || !w || Tq < 1 || Tk < 1) return gaze_error(GAZE_ERR_INVALID_ARG, "heatmap: empty matrix");
    struct gaze_term_opts o = opts ? *opts : (struct gaze_term_opts){ 0 };
    if (o.width <= 0) o.width = gaze_term_width();
    if (o.color == GAZE_TERM_COLOR_AUTO) o.color = gaze_term_color_auto();
    const int64_t max_rows = o.max_rows > 0 ? o.max_rows : 64;
    const int64_t bq = (Tq + max_rows - 1) / max_rows, nr = (Tq + bq - 1) / bq;
    const bool numbered = Tk > 24 || bq > 1 || o.row_index || o.col_index;
    bool wordpiece = false;
    for (int64_t j = 0; col_labels && j < Tk && !wordpiece; j++) wordpiece = col_labels[j] && !strncmp(col_labels[j], "##", 2);
    // Row labels: the token (12 columns), or in numbered mode its index and then the token or
    // the block's tokens ("12-19 "the cat sat…"").
    const int64_t last_row = o.row_index ? o.row_index[Tq - 1] : Tq - 1, last_col = o.col_index ? o.col_index[Tk - 1] : Tk - 1;
    int64_t max_idx = 0;
    for (int64_t i = 0; i < Tq; i++) max_idx = GAZE_MAX(max_idx, o.row_index ? o.row_index[i] : i);
    const int dr = digits(GAZE_MAX(max_idx, last_row));
    const int text_w = bq > 1 ? 18 : 14;
    const int label_w = !numbered ? 12 : bq > 1 ? 2 * dr + 2 + text_w : dr + 1 + text_w;
    // Two columns a cell while they fit, then one, then blocks of keys averaged.
    const int64_t avail = GAZE_MAX(4, o.width - label_w - 2);
    int cw = 2;
    int64_t bk = 1;
    if (2 * Tk > avail) { cw = 1; if (Tk > avail) bk = (Tk + avail - 1) / avail; }
    if (!numbered) { cw = 2; bk = (Tk + avail / 2 - 1) / (avail / 2); }
    const int64_t nc = (Tk + bk - 1) / bk;
    float vmax = o.vmax;
    if (!(vmax > 0)) {
        vmax = 0;
        for (int64_t i = 0; i < Tq * Tk; i++) if (w[i] > vmax) vmax = w[i];
        if (!(vmax > 0)) vmax = 1;
    }
    if (o.title && *o.title) {
        char t[1024];
        gaze_token_display(t, sizeof t, o.title, o.width);
        fprintf(f, "%s\n", t);
    }
    for (const char * n = o.note; n && *n;) {
        const char * e = strchr(n, '\n');
        size_t len = e ? (size_t)(e - n) : strlen(n);
        char line[1024];
        gaze_term_escape(line, sizeof line, n, len);
        fprintf(f, "%s\n", line);
        n += len + (e ? 1 : 0);
    }
    if (bk > 1 || bq > 1)
        fprintf(f, "(%lld queries x %lld keys in %lld x %lld cells: each the mean of up to %lld x %lld weights)\n",
                (long long)Tq, (long long)Tk, (long long)nr, (long long)nc, (long long)bq, (long long)bk);
    if (col_labels && !numbered) {
        // few columns: each token's first 6 characters, written downwards
        char lab[512];
        for (int line = 0; line < 6; line++) {
            fprintf(f, "%*s  ", label_w, "");
            bool any = false;
            for (int64_t c = 0; c < nc; c++) {
                gaze_token_display(lab, sizeof lab, col_labels[c * bk], 0);
                // skip to character `line` (a character is one cell: wide ones are rare here)
                const unsigned char * u = (const unsigned char *)lab;
                int k = 0;
                size_t i = 0;
                while (u[i] && k < line) { i++; while ((u[i] & 0xC0) == 0x80) i++; k++; }
                size_t e = i;
                if (u[e]) { e++; while ((u[e] & 0xC0) == 0x80) e++; }
                if (e > i) {
                    char ch[8] = { 0 };
                    memcpy(ch, lab + i, GAZE_MIN(e - i, sizeof ch - 1));
                    fputs(gaze_text_columns(ch) == 1 ? ch : "\xE2\x80\xA6", f);   // a wide character: "…"
                    fputc(' ', f);
                    any = true;
                } else fputs("  ", f);
            }
            fputc('\n', f);
            if (!any) break;
        }
    } else if (numbered) {
        // column numbers: the index of each column's (first) token, digits stacked downwards
        const int dc = digits(GAZE_MAX(last_col, (int64_t)0));
        int64_t mx = 0;
        for (int64_t j = 0; j < Tk; j++) mx = GAZE_MAX(mx, o.col_index ? o.col_index[j] : j);
        const int d = GAZE_MAX(dc, digits(mx));
        for (int line = 0; line < d; line++) {
            fprintf(f, "%*s  ", label_w, "");
            for (int64_t c = 0; c < nc; c++) {
                char num[24];
                snprintf(num, sizeof num, "%*lld", d, (long long)(o.col_index ? o.col_index[c * bk] : c * bk));
                fputc(num[line], f);
                if (cw == 2) fputc(' ', f);
            }
            fputc('\n', f);
        }
    }
    for (int64_t r = 0; r < nr; r++) {
        const int64_t a = r * bq, b = GAZE_MIN(Tq, a + bq);
        if (!numbered) put_label(f, row_labels ? row_labels[a] : "", label_w, true);
        else {
            char lab[1200];
            int cols = block_label(lab, sizeof lab, row_labels, o.row_index, a, b, wordpiece, bq > 1 ? 2 * dr + 1 : dr, text_w);
            fprintf(f, "%s%*s", lab, GAZE_MAX(0, label_w - cols), "");
        }
        fputs("  ", f);
        long last = -1;
        for (int64_t c = 0; c < nc; c++) {
            double sum = 0;
            int64_t n = 0;
            for (int64_t i = a; i < b; i++)
                for (int64_t j = c * bk; j < GAZE_MIN(Tk, (c + 1) * bk); j++) { sum += w[i * Tk + j]; n++; }
            float val = (float)(sum / (double)n) / vmax;
            if (o.log_scale) val = log1pf(99.0f * GAZE_MAX(val, 0.0f)) / logf(100.0f);
            cell(f, val, o.color, cw, &last);
        }
        if (o.color != GAZE_TERM_COLOR_NONE) fputs("\x1b[0m", f);
        fputc('\n', f);
    }
    if (o.color == GAZE_TERM_COLOR_NONE) {
        fprintf(f, "scale: ' ' 0, '.' 1/8, ':' 2/8, '-' 3/8, '=' 4/8, '+' 5/8, '*' 6/8, '#' 7/8, '@' 1 of %.3g%s\n",
                vmax, o.log_scale ? " (log: log(1 + 99 w/max) / log 100)" : " (nearest eighth)");
    } else {
        fprintf(f, "colour scale: 0 .. %.3g%s (viridis, dark = low)\n", vmax, o.log_scale ? ", log" : "");
    }
    if (numbered && col_labels) {
        // legend: what each column number holds, wrapped to the width
        fputs("columns:", f);
        int at = 8;
        for (int64_t c = 0; c < nc; c++) {
            char lab[1200];
            const int64_t a = c * bk, b = GAZE_MIN(Tk, a + bk);
            int cols = block_label(lab, sizeof lab, col_labels, o.col_index, a, b, wordpiece, 0, bk > 1 ? 24 : 16);
            if (at + 2 + cols > o.width) { fputs("\n", f); at = 0; }
            fprintf(f, "  %s", lab);
            at += 2 + cols;
        }
        fputc('\n', f);
    }
    if (o.top_k > 0) {
        fprintf(f, "\ntop attended keys per query:\n");
        int64_t chosen[16];
        const int top = (int)GAZE_MIN(GAZE_MIN(o.top_k, 16), Tk);
        for (int64_t i = 0; i < Tq; i++) {
            if (numbered) {
                char lab[1200];
                int cols = block_label(lab, sizeof lab, row_labels, o.row_index, i, i + 1, wordpiece, dr, 14);
                fprintf(f, "%s%*s", lab, GAZE_MAX(0, dr + 15 - cols), "");
            } else put_label(f, row_labels ? row_labels[i] : "", label_w, true);
            fputs(" ->", f);
            for (int k = 0; k < top; k++) {
                int64_t best = -1;
                for (int64_t j = 0; j < Tk; j++) {
                    bool taken = false;
                    for (int m = 0; m < k; m++) taken |= chosen[m] == j;
                    if (!taken && (best < 0 || w[i * Tk + j] > w[i * Tk + best])) best = j;
                }
                chosen[k] = best;
                char lab[512];
                gaze_token_display(lab, sizeof lab, col_labels ? col_labels[best] : "", 12);
                if (numbered) fprintf(f, " %lld", (long long)(o.col_index ? o.col_index[best] : best));
                fprintf(f, " %s %.2f", lab, w[i * Tk + best]);
            }
            fputc('\n', f);
        }
    }
    return GAZE_OK;
}
