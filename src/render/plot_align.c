// The alignment figure of an encoder-decoder run's cross-attention: target words (rows) ×
// source words (columns) of one layer, the mean over heads or one head, with both token lists
// as labelled axes and a colour bar: the figure drawn for translation models.
#include "render/plot_fig.h"
#include "render/plot_text.h"
#include <math.h>
#include <stdio.h>
#include <string.h>

#define PAD 14.0
#define TITLE_H 28.0
#define AXIS_H 16.0      // "source" / "target" axis titles
#define CBAR_W 12.0

static void text(cairo_t * cr, double x, double y, const char * s, double size, bool bold, enum gaze_plot_align a) {
    gaze_plot_text_font(cr, size, bold);
    cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
    gaze_plot_text_draw(cr, x, y, s, a);
}

// A label as shown: the SentencePiece / byte-BPE word marks dropped, control characters
// escaped, long words cut (gaze_token_display).
static void label_of(const char * s, char * out, size_t cap) {
    if (!strncmp(s, "\xe2\x96\x81", 3)) s += 3;        // "▁"
    else if (!strncmp(s, "\xc4\xa0", 2)) s += 2;       // "Ġ"
    gaze_token_display(out, cap, s, 18);
}

// Longest label, measured with the text state of a scratch surface.
static double widest(char ** labels, int64_t n, double size) {
    cairo_surface_t * ms = cairo_image_surface_create(CAIRO_FORMAT_RGB24, 1, 1);
    cairo_t * cr = cairo_create(ms);
    double w = 0;
    if (!cairo_status(cr) && gaze_plot_text_attach(cr, NULL)) {
        gaze_plot_text_font(cr, size, false);
        char buf[128];
        for (int64_t i = 0; i < n; i++) { label_of(labels[i], buf, sizeof buf); w = fmax(w, gaze_plot_text_width(cr, buf)); }
    }
    cairo_destroy(cr);
    cairo_surface_destroy(ms);
    return w;
}

enum gaze_status plot_align_buffer(const struct gaze_run * run, const struct gaze_plot_opts * o, unsigned char ** out,
                                   size_t * n, struct gaze_plot_info * info) {
    if (!run->T_keys)
        return gaze_error(GAZE_ERR_INVALID_ARG, "plot: the alignment figure draws cross-attention (an encoder-decoder "
                          "run's cross kind); this run has none");
    if (run->n_cap_layers < 1) return gaze_error(GAZE_ERR_INVALID_ARG, "plot: the run holds no cross-attention layer");
    if (o->head_mode == GAZE_PLOT_HEADS_MAX || o->heads || o->minus)
        return gaze_error(GAZE_ERR_INVALID_ARG, "plot: the alignment figure takes --head H or the mean over heads "
                          "(not max, --heads or --diff)");
    const int64_t layer = o->layer >= 0 ? o->layer : run->layers[run->n_cap_layers - 1].index;
    const int64_t head = o->head_mode == GAZE_PLOT_HEADS_ONE ? o->head : -1;
    struct gaze_alignment al;
    enum gaze_status s = gaze_cross_alignment(run, layer, head, o->words, &al);
    if (s) return s;
    double vmax = o->vmax > 0 ? o->vmax : 0;
    if (!(vmax > 0))
        for (int64_t k = 0; k < al.n_rows * al.n_cols; k++) vmax = fmax(vmax, al.m[k]);
    if (!(vmax > 0)) vmax = 1;
    const double fs = 10, cell = fmax(10.0, fmin(28.0, 560.0 / (double)GAZE_MAX(al.n_rows, al.n_cols)));
    const double rw = widest(al.row_labels, al.n_rows, fs) + 6, cw = widest(al.col_labels, al.n_cols, fs) + 6;
    const double x0 = PAD + AXIS_H + rw, y0 = TITLE_H + PAD;
    const double gw = cell * (double)al.n_cols, gh = cell * (double)al.n_rows;
    char title[400], model[96];
    label_of(run->model ? run->model : "model", model, sizeof model);
    if (o->title) snprintf(title, sizeof title, "%s", o->title);
    else if (head >= 0) snprintf(title, sizeof title, "%s \xc2\xb7 cross-attention \xc2\xb7 layer %lld \xc2\xb7 head %lld",
                                 model, (long long)layer, (long long)head);
    else snprintf(title, sizeof title, "%s \xc2\xb7 cross-attention \xc2\xb7 layer %lld \xc2\xb7 mean of %lld heads", model,
                  (long long)layer, (long long)run->n_heads_cap);
    const double W = fmax(x0 + gw + PAD + CBAR_W + 40 + PAD, PAD * 2 + 7.0 * (double)strlen(title));
    const double H = y0 + gh + cw + AXIS_H + PAD;
    struct plot_fig * f;
    cairo_t * cr;
    if ((s = plot_fig_open(&f, o->format, W, H, title, &cr))) { gaze_alignment_free(&al); return s; }
    text(cr, PAD, TITLE_H - 10, title, 12, true, GAZE_PLOT_ALIGN_LEFT);
    for (int64_t r = 0; r < al.n_rows; r++)
        for (int64_t c = 0; c < al.n_cols; c++) {
            double t = fmin(1.0, al.m[r * al.n_cols + c] / vmax);
            if (o->log_scale) t = log1p(99 * t) / log(100.0);
            unsigned char rgb[3];
            gaze_palette_rgb(o->palette, (float)t, rgb);
            cairo_set_source_rgb(cr, rgb[0] / 255.0, rgb[1] / 255.0, rgb[2] / 255.0);
            cairo_rectangle(cr, x0 + c * cell, y0 + r * cell, cell + 0.5, cell + 0.5);
            cairo_fill(cr);
        }
    char buf[128];
    for (int64_t r = 0; r < al.n_rows; r++) {   // target labels, right-aligned left of the grid
        label_of(al.row_labels[r], buf, sizeof buf);
        text(cr, x0 - 4, y0 + (r + 0.5) * cell + 3.5, buf, fs, false, GAZE_PLOT_ALIGN_RIGHT);
    }
    for (int64_t c = 0; c < al.n_cols; c++) {   // source labels below, reading downwards
        label_of(al.col_labels[c], buf, sizeof buf);
        cairo_save(cr);
        cairo_translate(cr, x0 + (c + 0.5) * cell + 3.5, y0 + gh + 4);
        cairo_rotate(cr, M_PI / 2);
        text(cr, 0, 0, buf, fs, false, GAZE_PLOT_ALIGN_LEFT);
        cairo_restore(cr);
    }
    text(cr, x0 + gw / 2, H - PAD + 2, "source", 11, true, GAZE_PLOT_ALIGN_CENTER);
    cairo_save(cr);
    cairo_translate(cr, PAD + 10, y0 + gh / 2);
    cairo_rotate(cr, -M_PI / 2);
    text(cr, 0, 0, "target", 11, true, GAZE_PLOT_ALIGN_CENTER);
    cairo_restore(cr);
    // colour bar: 0 .. vmax
    const double bx = x0 + gw + PAD, bh = fmax(gh, 60);
    for (int i = 0; i < 64; i++) {
        unsigned char rgb[3];
        gaze_palette_rgb(o->palette, (float)(1.0 - (i + 0.5) / 64.0), rgb);
        cairo_set_source_rgb(cr, rgb[0] / 255.0, rgb[1] / 255.0, rgb[2] / 255.0);
        cairo_rectangle(cr, bx, y0 + bh * i / 64.0, CBAR_W, bh / 64.0 + 0.5);
        cairo_fill(cr);
    }
    snprintf(buf, sizeof buf, "%.3g", vmax);
    text(cr, bx + CBAR_W + 3, y0 + 8, buf, 9, false, GAZE_PLOT_ALIGN_LEFT);
    text(cr, bx + CBAR_W + 3, y0 + bh, "0", 9, false, GAZE_PLOT_ALIGN_LEFT);
    gaze_alignment_free(&al);
    if (cairo_status(cr)) {
        const cairo_status_t cs = cairo_status(cr);
        plot_fig_abort(f);
        return gaze_error(GAZE_ERR_NOMEM, "plot: cairo: %s", cairo_status_to_string(cs));
    }
    if (info) {
        info->width = (int)ceil(W);
        info->height = (int)ceil(H);
        info->scale = 1;
        snprintf(info->note, sizeof info->note, "cross-attention of layer %lld: rows are target %s, columns source %s",
                 (long long)layer, o->words ? "words" : "tokens", o->words ? "words" : "tokens");
    }
    return plot_fig_close(f, out, n);
}
