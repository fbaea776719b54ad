// Terminal heatmaps: truecolor (or 256-colour, or plain characters) cells, token labels on
// both axes, fitted to the terminal width by averaging blocks of tokens, and a list of the
// most attended keys per query. Works over SSH; honours NO_COLOR.
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

static void cell(FILE * f, float t, enum gaze_term_color color) {
    if (color == GAZE_TERM_COLOR_NONE) {
        static const char * ramp[] = { "  ", "..", "::", "--", "==", "++", "**", "##", "@@" };
        int i = (int)lrintf((t < 0 ? 0 : t > 1 ? 1 : t) * 8.0f);
        fputs(ramp[i], f);
        return;
    }
    unsigned char rgb[3];
    gaze_colormap_viridis(t, rgb);
    if (color == GAZE_TERM_COLOR_TRUE) fprintf(f, "\x1b[48;2;%d;%d;%dm  ", rgb[0], rgb[1], rgb[2]);
    else fprintf(f, "\x1b[48;5;%dm  ", rgb_to_256(rgb));
}

// Prints at most `width` display columns of s (UTF-8 aware, control characters shown as '?'),
// padded with spaces to width.
static void put_label(FILE * f, const char * s, int width, bool right) {
    char out[256];
    int cols = 0;
    size_t o = 0;
    for (size_t i = 0; s && s[i] && cols < width && o + 5 < sizeof out;) {
        unsigned char c = (unsigned char)s[i];
        size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1;
        bool ok = true;
        for (size_t k = 1; k < len; k++) ok &= s[i + k] && ((unsigned char)s[i + k] >> 6) == 2;
        if (!ok || c < 0x20 || c == 0x7f) { out[o++] = '?'; i += ok ? len : 1; }
        else { memcpy(out + o, s + i, len); o += len; i += len; }
        cols++;
    }
    out[o] = 0;
    if (right) fprintf(f, "%*s%s", width - cols, "", out);
    else fprintf(f, "%s%*s", out, width - cols, "");
}

enum gaze_status gaze_term_heatmap(FILE * f, const float * w, int64_t Tq, int64_t Tk,
                                   const char * const * row_labels, const char * const * col_labels,
                                   const struct gaze_term_opts * opts) {
    if (!f || !w || Tq < 1 || Tk < 1) return gaze_error(GAZE_ERR_INVALID_ARG, "heatmap: empty matrix");
    struct gaze_term_opts o = opts ? *opts : (struct gaze_term_opts){ 0 };
    if (o.width <= 0) o.width = gaze_term_width();
    if (o.color == GAZE_TERM_COLOR_AUTO) o.color = gaze_term_color_auto();
    const int label_w = 12;
    // Two characters per cell; rows capped so the map fits a screen; blocks average tokens.
    int64_t max_cols = GAZE_MAX(4, (o.width - label_w - 2) / 2);
    int64_t max_rows = o.max_rows > 0 ? o.max_rows : 64;
    int64_t bk = (Tk + max_cols - 1) / max_cols, bq = (Tq + max_rows - 1) / max_rows;
    int64_t nc = (Tk + bk - 1) / bk, nr = (Tq + bq - 1) / bq;
    float vmax = o.vmax;
    if (!(vmax > 0)) {
        vmax = 0;
        for (int64_t i = 0; i < Tq * Tk; i++) if (w[i] > vmax) vmax = w[i];
        if (!(vmax > 0)) vmax = 1;
    }
    if (o.title) fprintf(f, "%s\n", o.title);
    if (bk > 1 || bq > 1)
        fprintf(f, "(%lld queries x %lld keys shown as %lld x %lld blocks: each cell is the mean of up to %lld x %lld weights)\n",
                (long long)Tq, (long long)Tk, (long long)nr, (long long)nc, (long long)bq, (long long)bk);
    // column labels: vertical, first 6 characters of each block's first token
    if (col_labels) {
        for (int line = 0; line < 6; line++) {
            fprintf(f, "%*s  ", label_w, "");
            bool any = false;
            for (int64_t c = 0; c < nc; c++) {
                const char * s = col_labels[c * bk];
                // skip to character `line` (ASCII-safe; multi-byte shown as one cell)
                int k = 0;
                size_t i = 0;
                while (s && s[i] && k < line) {
                    unsigned char ch = (unsigned char)s[i];
                    i += ch < 0x80 ? 1 : (ch >> 5) == 6 ? 2 : (ch >> 4) == 14 ? 3 : (ch >> 3) == 30 ? 4 : 1;
                    k++;
                }
                if (s && s[i]) { put_label(f, s + i, 1, false); fputc(' ', f); any = true; }
                else fputs("  ", f);
            }
            fputc('\n', f);
            if (!any) break;
        }
    }
    for (int64_t r = 0; r < nr; r++) {
        put_label(f, row_labels ? row_labels[r * bq] : "", label_w, true);
        fputs("  ", f);
        for (int64_t c = 0; c < nc; c++) {
            double sum = 0;
            int64_t n = 0;
            for (int64_t i = r * bq; i < GAZE_MIN(Tq, (r + 1) * bq); i++)
                for (int64_t j = c * bk; j < GAZE_MIN(Tk, (c + 1) * bk); j++) { sum += w[i * Tk + j]; n++; }
            float val = (float)(sum / (double)n) / vmax;
            if (o.log_scale) val = log1pf(99.0f * GAZE_MAX(val, 0.0f)) / logf(100.0f);
            cell(f, val, o.color);
        }
        if (o.color != GAZE_TERM_COLOR_NONE) fputs("\x1b[0m", f);
        fputc('\n', f);
    }
    fprintf(f, "%*s  colour scale: 0 .. %.3g%s (viridis, dark = low)\n", label_w, "", vmax, o.log_scale ? ", log" : "");
    if (o.top_k > 0) {
        fprintf(f, "\ntop attended keys per query:\n");
        int64_t chosen[16];
        const int top = (int)GAZE_MIN(GAZE_MIN(o.top_k, 16), Tk);
        for (int64_t i = 0; i < Tq; i++) {
            put_label(f, row_labels ? row_labels[i] : "", label_w, true);
            fputs(" ->", f);
            for (int k = 0; k < top; k++) {
                int64_t best = -1;
                for (int64_t j = 0; j < Tk; j++) {
                    bool taken = false;
                    for (int m = 0; m < k; m++) taken |= chosen[m] == j;
                    if (!taken && (best < 0 || w[i * Tk + j] > w[i * Tk + best])) best = j;
                }
                chosen[k] = best;
                const char * lab = col_labels ? col_labels[best] : "";
                fputc(' ', f);
                put_label(f, lab, (int)GAZE_MIN(12, (int64_t)strlen(lab)), false);
                fprintf(f, " %.2f", w[i * Tk + best]);
            }
            fputc('\n', f);
        }
    }
    return GAZE_OK;
}
