// Figures of image runs, drawn over the image the model saw (stored in the run): the [CLS]
// (or any token's) attention of each head laid over the patches, attention rollout over the
// image, the mean attention distance of each head against depth (ViT paper, fig. 7), and
// CLIP's (or SigLIP's) image and texts side by side with the similarity and each text's rollout.
#include "render/plot_fig.h"
#include "render/plot_text.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PANEL 168.0      // units: the longer side of a small-multiple image panel
#define BIG 336.0        // units: the longer side of a single panel
#define PAD 14.0
#define TITLE_H 26.0
#define LABEL_H 16.0
#define ALPHA0 0.22      // opacity of the heat over the image: ALPHA0 at 0, ALPHA0 + ALPHA1 at
#define ALPHA1 0.6       // the maximum, so the image shows through where attention is low

static void text(cairo_t * cr, double x, double y, const char * s, double size, bool bold, enum gaze_plot_align a) {
    gaze_plot_text_font(cr, size, bold);
    cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
    gaze_plot_text_draw(cr, x, y, s, a);
}

// The run's image as a cairo surface (RGB24).
static cairo_surface_t * image_surface(const struct gaze_run * run) {
    cairo_surface_t * s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, (int)run->image_w, (int)run->image_h);
    if (cairo_surface_status(s)) return s;
    cairo_surface_flush(s);
    unsigned char * d = cairo_image_surface_get_data(s);
    const int stride = cairo_image_surface_get_stride(s);
    for (int64_t y = 0; y < run->image_h; y++)
        for (int64_t x = 0; x < run->image_w; x++) {
            const uint8_t * p = run->image + (y * run->image_w + x) * 3;
            uint32_t * o = (uint32_t *)(d + y * stride) + x;
            *o = (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
        }
    cairo_surface_mark_dirty(s);
    return s;
}

// One panel at (x, y), w x h units: the image, then v [rows·cols] (one value a patch, scaled
// to vmax) as translucent palette colours; mark >= 0 outlines that patch.
static void panel(cairo_t * cr, cairo_surface_t * img, const struct gaze_run * run, const double * v, double vmax,
                  enum gaze_palette pal, double x, double y, double w, double h, int64_t mark) {
    cairo_save(cr);
    cairo_translate(cr, x, y);
    cairo_save(cr);
    cairo_scale(cr, w / (double)run->image_w, h / (double)run->image_h);
    cairo_set_source_surface(cr, img, 0, 0);
    cairo_pattern_set_filter(cairo_get_source(cr), CAIRO_FILTER_GOOD);
    cairo_paint(cr);
    cairo_restore(cr);
    const double cw = w / (double)run->grid_cols, ch = h / (double)run->grid_rows;
    for (int64_t r = 0; r < run->grid_rows; r++)
        for (int64_t c = 0; c < run->grid_cols; c++) {
            unsigned char rgb[3];
            const double t = vmax > 0 ? fmin(1.0, v[r * run->grid_cols + c] / vmax) : 0;
            gaze_palette_rgb(pal, (float)t, rgb);
            cairo_set_source_rgba(cr, rgb[0] / 255.0, rgb[1] / 255.0, rgb[2] / 255.0, ALPHA0 + ALPHA1 * t);
            cairo_rectangle(cr, c * cw, r * ch, cw, ch);
            cairo_fill(cr);
        }
    if (mark >= 0) {
        cairo_set_source_rgb(cr, 1, 0.1, 0.1);
        cairo_set_line_width(cr, 2);
        cairo_rectangle(cr, (mark % run->grid_cols) * cw + 1, (mark / run->grid_cols) * ch + 1, cw - 2, ch - 2);
        cairo_stroke(cr);
    }
    cairo_set_source_rgb(cr, 0.3, 0.3, 0.3);
    cairo_set_line_width(cr, 1);
    cairo_rectangle(cr, 0.5, 0.5, w - 1, h - 1);
    cairo_stroke(cr);
    cairo_restore(cr);
}

// Width of a title line (bold, 11 units), measured on a scratch surface with the shared text state.
static double title_width(const char * t) {
    cairo_surface_t * ms = cairo_image_surface_create(CAIRO_FORMAT_RGB24, 1, 1);
    cairo_t * cr = cairo_create(ms);
    double w = 0;
    if (!cairo_status(cr) && gaze_plot_text_attach(cr, NULL)) {
        gaze_plot_text_font(cr, 11, true);
        w = gaze_plot_text_width(cr, t);
    }
    cairo_destroy(cr);
    cairo_surface_destroy(ms);
    return w;
}

static int64_t row_of(const struct gaze_run * run, int64_t token) {
    for (int64_t i = 0; i < run->Tq; i++)
        if ((run->q_rows ? run->q_rows[i] : i) == token) return i;
    return -1;
}

static int64_t head_index(const struct gaze_run * run, int64_t model_head) {
    for (int64_t i = 0; i < run->n_heads_cap; i++)
        if ((run->heads ? run->heads[i] : i) == model_head) return i;
    return -1;
}

// Values of captured row qi's attention over the patch cells, for captured head hi of layer ly;
// qi < 0: the mean of every captured row (models without [CLS], such as SigLIP).
static void patch_values(const struct gaze_run * run, const struct gaze_run_layer * ly, int64_t hi, int64_t qi,
                         double * v) {
    const int64_t T = run->T, r0 = qi < 0 ? 0 : qi, r1 = qi < 0 ? run->Tq : qi + 1;
    memset(v, 0, (size_t)(run->grid_rows * run->grid_cols) * sizeof *v);
    for (int64_t r = r0; r < r1; r++) {
        const float * row = ly->attn + (hi * run->Tq + r) * T;
        for (int64_t k = 0; k < T; k++)
            if (run->patch_rc[2 * k] >= 0)
                v[run->patch_rc[2 * k] * run->grid_cols + run->patch_rc[2 * k + 1]] += row[k] / (double)(r1 - r0);
    }
}

static double vmax_of(const double * v, int64_t n) {
    double m = 0;
    for (int64_t i = 0; i < n; i++) m = fmax(m, v[i]);
    return m;
}

static enum gaze_status finish(struct plot_fig * f, cairo_t * cr, unsigned char ** out, size_t * n,
                               struct gaze_plot_info * info, double w, double h) {
    if (cairo_status(cr)) {
        const cairo_status_t cs = cairo_status(cr);
        plot_fig_abort(f);
        return gaze_error(GAZE_ERR_NOMEM, "plot: cairo: %s", cairo_status_to_string(cs));
    }
    if (info) { info->width = (int)ceil(w); info->height = (int)ceil(h); info->scale = 1; }
    return plot_fig_close(f, out, n);
}

// [CLS] / query attention per head (or one head / the mean), and rollout: image panels.
static enum gaze_status plot_panels(const struct gaze_run * run, const struct gaze_plot_opts * o, unsigned char ** out,
                                    size_t * n, struct gaze_plot_info * info) {
    const int64_t cells = run->grid_rows * run->grid_cols;
    const bool rollout = o->kind == GAZE_PLOT_KIND_IMAGE_ROLLOUT;
    int64_t query = o->query >= 0 ? o->query : 0;
    // no [CLS] (SigLIP): the image kind shows the mean over every query, unless one is chosen
    const bool all_queries = o->kind == GAZE_PLOT_KIND_IMAGE && o->query < 0 && run->patch_rc[0] >= 0;
    if (o->kind == GAZE_PLOT_KIND_IMAGE_PATCH && o->query < 0)   // the centre patch
        for (int64_t t = 0; t < run->T; t++)
            if (run->patch_rc[2 * t] == run->grid_rows / 2 && run->patch_rc[2 * t + 1] == run->grid_cols / 2) query = t;
    if (query >= run->T)
        return gaze_error(GAZE_ERR_INVALID_ARG, "plot: query %lld out of range (the run has %lld tokens)",
                          (long long)query, (long long)run->T);
    const int64_t qi = all_queries ? -1 : row_of(run, query);
    if (qi < 0 && !all_queries) return gaze_error(GAZE_ERR_INVALID_ARG, "plot: token %lld's attention row was not captured", (long long)query);
    // which layer and heads
    const struct gaze_run_layer * ly = NULL;
    if (!rollout) {
        if (o->layer >= 0 && !(ly = gaze_run_find_layer(run, o->layer)))
            return gaze_error(GAZE_ERR_INVALID_ARG, "plot: layer %lld was not captured", (long long)o->layer);
        if (!ly) ly = &run->layers[run->n_cap_layers - 1];
        if (!ly->attn) return gaze_error(GAZE_ERR_INVALID_ARG, "plot: layer %lld has no attention captured", (long long)ly->index);
    }
    int64_t sel[1024], n_sel = 0;
    bool mean = false;
    if (rollout) n_sel = 1;
    else if (o->head_mode == GAZE_PLOT_HEADS_ONE) {
        if ((sel[0] = head_index(run, o->head)) < 0)
            return gaze_error(GAZE_ERR_INVALID_ARG, "plot: head %lld was not captured", (long long)o->head);
        n_sel = 1;
    } else {
        for (int64_t i = 0; i < (o->heads ? o->n_heads : run->n_heads_cap) && n_sel < 1024; i++) {
            const int64_t hi = o->heads ? head_index(run, o->heads[i]) : i;
            if (hi < 0) return gaze_error(GAZE_ERR_INVALID_ARG, "plot: head %lld was not captured", (long long)o->heads[i]);
            sel[n_sel++] = hi;
        }
        mean = o->head_mode == GAZE_PLOT_HEADS_MEAN || o->head_mode == GAZE_PLOT_HEADS_MAX;
    }
    const int64_t n_panels = mean ? 1 : n_sel;
    double * vals = calloc((size_t)(n_panels * cells), sizeof *vals), * tmp = malloc((size_t)cells * sizeof *tmp);
    double * R = rollout ? malloc((size_t)(run->T * run->T) * sizeof *R) : NULL;
    enum gaze_status s = GAZE_OK;
    if (!vals || !tmp || (rollout && !R)) s = gaze_error(GAZE_ERR_NOMEM, "plot: out of memory");
    if (!s && rollout) {
        struct gaze_rollout_opts ro = { 0 };
        if (!(s = gaze_rollout(run, &ro, R)))
            for (int64_t k = 0; k < run->T; k++)
                if (run->patch_rc[2 * k] >= 0) vals[run->patch_rc[2 * k] * run->grid_cols + run->patch_rc[2 * k + 1]] += R[query * run->T + k];
    }
    for (int64_t p = 0; !s && !rollout && p < n_sel; p++) {
        patch_values(run, ly, sel[p], qi, tmp);
        double * dst = vals + (mean ? 0 : p) * cells;
        for (int64_t c = 0; c < cells; c++)
            dst[c] = !mean ? tmp[c] : o->head_mode == GAZE_PLOT_HEADS_MAX ? fmax(dst[c], tmp[c]) : dst[c] + tmp[c] / (double)n_sel;
    }
    free(R);
    free(tmp);
    if (s) { free(vals); return s; }

    // layout: small multiples in up to 6 columns, or one big panel
    const double big = n_panels == 1 ? BIG : PANEL;
    const double asp = (double)run->image_w / (double)run->image_h;
    const double pw = asp >= 1 ? big : big * asp, ph = asp >= 1 ? big / asp : big;
    const int64_t ncol = n_panels <= 4 ? n_panels : n_panels <= 6 ? 3 : n_panels <= 16 ? 4 : 6;
    const int64_t nrow = (n_panels + ncol - 1) / ncol;
    const double W0 = PAD + ncol * (pw + PAD), H = TITLE_H + PAD + nrow * (ph + LABEL_H + PAD);
    char title[400], qname[64];
    const char * tok = run->tokens[query];
    if (all_queries) snprintf(qname, sizeof qname, "every query (mean)");
    else if (run->patch_rc[2 * query] >= 0) snprintf(qname, sizeof qname, "patch %s", tok);
    else snprintf(qname, sizeof qname, "%s", tok);
    if (o->title) snprintf(title, sizeof title, "%s", o->title);
    else if (rollout)
        snprintf(title, sizeof title, "%s · rollout from %s over %lld layers", run->model, qname, (long long)run->n_cap_layers);
    else
        snprintf(title, sizeof title, "%s · layer %lld · attention of %s%s", run->model, (long long)ly->index, qname,
                 n_panels > 1 ? " · each panel scaled to its maximum" :
                 mean ? (o->head_mode == GAZE_PLOT_HEADS_MAX ? " · max over heads" : " · mean over heads") : "");
    const double W = fmax(W0, title_width(title) + 2 * PAD);
    struct plot_fig * f;
    cairo_t * cr;
    if ((s = plot_fig_open(&f, o->format, W, H, title, &cr))) { free(vals); return s; }
    cairo_surface_t * img = image_surface(run);
    text(cr, PAD, 18, title, 11, true, GAZE_PLOT_ALIGN_LEFT);
    const int64_t mark = !all_queries && run->patch_rc[2 * query] >= 0 ? run->patch_rc[2 * query] * run->grid_cols + run->patch_rc[2 * query + 1] : -1;
    for (int64_t p = 0; p < n_panels && !cairo_surface_status(img); p++) {
        const double x = PAD + (p % ncol) * (pw + PAD), y = TITLE_H + PAD + (p / ncol) * (ph + LABEL_H + PAD);
        const double * v = vals + p * cells;
        panel(cr, img, run, v, vmax_of(v, cells), o->palette, x, y + LABEL_H, pw, ph, mark);
        char lab[64];
        if (rollout) snprintf(lab, sizeof lab, "max %.3g", vmax_of(v, cells));
        else if (mean) snprintf(lab, sizeof lab, "%lld heads · max %.3g", (long long)n_sel, vmax_of(v, cells));
        else snprintf(lab, sizeof lab, "head %lld · max %.3g", (long long)(run->heads ? run->heads[sel[p]] : sel[p]), vmax_of(v, cells));
        text(cr, x, y + LABEL_H - 4, lab, 9, false, GAZE_PLOT_ALIGN_LEFT);
    }
    const cairo_status_t is = cairo_surface_status(img);
    cairo_surface_destroy(img);
    free(vals);
    if (is) { plot_fig_abort(f); return gaze_error(GAZE_ERR_NOMEM, "plot: cairo: %s", cairo_status_to_string(is)); }
    if (info) { info->rows = nrow; info->cols = ncol; info->cell_w = pw; info->cell_h = ph; info->grid_x = PAD; info->grid_y = TITLE_H + PAD + LABEL_H; }
    return finish(f, cr, out, n, info, W, H);
}

// Mean attention distance of each head (points, one colour a head) against the layer.
static enum gaze_status plot_distance(const struct gaze_run * run, const struct gaze_plot_opts * o, unsigned char ** out,
                                      size_t * n, struct gaze_plot_info * info) {
    const int64_t Lc = run->n_cap_layers, Hc = run->n_heads_cap;
    double * d = malloc((size_t)(Lc * Hc) * sizeof *d);
    if (!d) return gaze_error(GAZE_ERR_NOMEM, "plot: out of memory");
    enum gaze_status s = gaze_attention_distance(run, d);
    if (s) { free(d); return s; }
    // y range: up to the image diagonal in model-input pixels
    const double ymax_data = vmax_of(d, Lc * Hc);
    const double diag = hypot((double)run->grid_rows, (double)run->grid_cols) * (double)run->patch_size;
    double ymax = fmax(ymax_data * 1.1, 1e-9);
    ymax = fmin(ymax, diag);
    const double step_raw = ymax / 5, mag = pow(10, floor(log10(step_raw)));
    const double step = step_raw / mag < 2 ? 2 * mag : step_raw / mag < 5 ? 5 * mag : 10 * mag;
    ymax = ceil(ymax / step) * step;
    const double plot_w = fmax(240, 34.0 * (double)run->n_layers), plot_h = 240, left = 56, top = TITLE_H + 12;
    char title[300];
    if (o->title) snprintf(title, sizeof title, "%s", o->title);
    else snprintf(title, sizeof title, "%s · mean attention distance per head", run->model);
    const double W = fmax(left + plot_w + PAD + 90, title_width(title) + 2 * PAD), H = top + plot_h + 44;
    struct plot_fig * f;
    cairo_t * cr;
    if ((s = plot_fig_open(&f, o->format, W, H, title, &cr))) { free(d); return s; }
    text(cr, PAD, 18, title, 11, true, GAZE_PLOT_ALIGN_LEFT);
    // axes, ticks, grid
    cairo_set_line_width(cr, 1);
    const double L = (double)run->n_layers;
    for (double y = 0; y <= ymax + step / 2; y += step) {
        const double py = top + plot_h - y / ymax * plot_h;
        cairo_set_source_rgb(cr, 0.88, 0.88, 0.88);
        cairo_move_to(cr, left, py);
        cairo_line_to(cr, left + plot_w, py);
        cairo_stroke(cr);
        char lab[32];
        snprintf(lab, sizeof lab, "%g", y);
        text(cr, left - 6, py + 4, lab, 9, false, GAZE_PLOT_ALIGN_RIGHT);
    }
    for (int64_t l = 0; l < run->n_layers; l++) {
        const double px = left + (l + 0.5) / L * plot_w;
        if (run->n_layers > 24 && l % 4) continue;
        char lab[32];
        snprintf(lab, sizeof lab, "%lld", (long long)l);
        text(cr, px, top + plot_h + 14, lab, 9, false, GAZE_PLOT_ALIGN_CENTER);
    }
    cairo_set_source_rgb(cr, 0.3, 0.3, 0.3);
    cairo_rectangle(cr, left + 0.5, top + 0.5, plot_w - 1, plot_h - 1);
    cairo_stroke(cr);
    text(cr, left + plot_w / 2, top + plot_h + 32, "layer (depth)", 10, false, GAZE_PLOT_ALIGN_CENTER);
    cairo_save(cr);
    cairo_translate(cr, 14, top + plot_h / 2);
    cairo_rotate(cr, -M_PI / 2);
    text(cr, 0, 0, "mean attention distance (pixels)", 10, false, GAZE_PLOT_ALIGN_CENTER);
    cairo_restore(cr);
    for (int64_t li = 0; li < Lc; li++)
        for (int64_t h = 0; h < Hc; h++) {
            unsigned char rgb[3];
            const int64_t mh = run->heads ? run->heads[h] : h;
            gaze_head_rgb(mh, rgb);
            const double jitter = Hc > 1 ? ((double)h / (double)(Hc - 1) - 0.5) * 0.5 : 0;
            const double px = left + ((double)run->layers[li].index + 0.5 + jitter) / L * plot_w;
            const double py = top + plot_h - d[li * Hc + h] / ymax * plot_h;
            cairo_set_source_rgb(cr, rgb[0] / 255.0, rgb[1] / 255.0, rgb[2] / 255.0);
            cairo_arc(cr, px, py, 3.2, 0, 2 * M_PI);
            cairo_fill(cr);
        }
    // legend: one entry a head (up to 16)
    for (int64_t h = 0; h < Hc && h < 16; h++) {
        unsigned char rgb[3];
        const int64_t mh = run->heads ? run->heads[h] : h;
        gaze_head_rgb(mh, rgb);
        const double y = top + 8 + h * 14;
        cairo_set_source_rgb(cr, rgb[0] / 255.0, rgb[1] / 255.0, rgb[2] / 255.0);
        cairo_arc(cr, left + plot_w + PAD + 6, y, 3.2, 0, 2 * M_PI);
        cairo_fill(cr);
        char lab[32];
        snprintf(lab, sizeof lab, "head %lld", (long long)mh);
        text(cr, left + plot_w + PAD + 14, y + 4, lab, 9, false, GAZE_PLOT_ALIGN_LEFT);
    }
    free(d);
    if (info) { info->rows = Lc; info->cols = Hc; }
    return finish(f, cr, out, n, info, W, H);
}

// Rollout over the patch cells (v [cells], zeroed here) from token q's row, or the mean of every
// row when q < 0 (SigLIP has no [CLS]: its attention-pooling head reads every token); w: head
// weights [L, H] (the ablation-weighted rollout) or NULL (plain). R: scratch [T, T].
static enum gaze_status rollout_cells(const struct gaze_run * run, const double * w, int64_t q, double * R, double * v) {
    struct gaze_rollout_opts ro = { 0 };
    ro.head_weights = w;
    const int64_t T = run->T, r0 = q < 0 ? 0 : q, r1 = q < 0 ? T : q + 1;
    memset(v, 0, (size_t)(run->grid_rows * run->grid_cols) * sizeof *v);
    enum gaze_status s = gaze_rollout(run, &ro, R);
    for (int64_t i = r0; !s && i < r1; i++)
        for (int64_t k = 0; k < T; k++)
            if (run->patch_rc[2 * k] >= 0)
                v[run->patch_rc[2 * k] * run->grid_cols + run->patch_rc[2 * k + 1]] += R[i * T + k] / (double)(r1 - r0);
    return s;
}

// CLIP and SigLIP: the image with its tower's [CLS] attention (SigLIP, without [CLS]: the mean
// of every query; mean of the heads, one layer) and the image tower's plain rollout (the same
// for every text), then one row a text: the rollout of the image tower for that text, each
// layer's heads weighted by max(0, drop of this text's logit when the head is zeroed) (the
// run's clip.head_drops, as gaze rollout CLIP IMAGE --text: forward only, not Chefer et al.'s
// gradients), its logits_per_image with CLIP's softmax over the texts or SigLIP's sigmoid of
// each, and its tokens coloured by the pooled token's attention (mean of the heads, same layer
// rule). Runs saved without head drops get the rows without the rollout, and a note says why.
static enum gaze_status plot_clip(const struct gaze_run * run, const struct gaze_plot_opts * o, unsigned char ** out,
                                  size_t * n, struct gaze_plot_info * info) {
    if (!run->n_texts)
        return gaze_error(GAZE_ERR_INVALID_ARG, "plot: --kind clip draws a CLIP run with texts: make it with "
                          "gaze run CLIP-MODEL IMAGE --text \"...\" -o RUN");
    const int64_t cells = run->grid_rows * run->grid_cols, T = run->T, LH = run->n_layers * run->n_heads;
    const bool cls = run->patch_rc[0] < 0, sig = gaze_clip_run_sigmoid(run);   // token 0 is [CLS] unless SigLIP
    const int64_t q = cls ? row_of(run, 0) : -1;
    const struct gaze_run_layer * ly = o->layer >= 0 ? gaze_run_find_layer(run, o->layer) : &run->layers[run->n_cap_layers - 1];
    if (!ly || !ly->attn) return gaze_error(GAZE_ERR_INVALID_ARG, "plot: layer %lld of the image tower was not captured", (long long)o->layer);
    if (cls && q < 0) return gaze_error(GAZE_ERR_INVALID_ARG, "plot: --kind clip needs the image's [CLS] row");
    const bool has_rollout = run->n_cap_layers == run->n_layers && run->Tq == T;
    const bool cond = has_rollout && run->n_heads_cap == run->n_heads && run->clip_head_drops;
    const int64_t nv = 2 + (cond ? run->n_texts : 0);
    double * v = calloc((size_t)(cells * nv), sizeof *v), * tmp = malloc((size_t)cells * sizeof *tmp);
    double * R = malloc((size_t)(T * T) * sizeof *R), * w = malloc((size_t)LH * sizeof *w);
    int * n_pos = calloc((size_t)run->n_texts, sizeof *n_pos);
    enum gaze_status s = v && tmp && R && w && n_pos ? GAZE_OK : gaze_error(GAZE_ERR_NOMEM, "plot: out of memory");
    for (int64_t h = 0; !s && h < run->n_heads_cap; h++) {
        patch_values(run, ly, h, q, tmp);
        for (int64_t c = 0; c < cells; c++) v[c] += tmp[c] / (double)run->n_heads_cap;
    }
    if (!s && has_rollout) s = rollout_cells(run, NULL, q, R, v + cells);
    for (int64_t j = 0; !s && cond && j < run->n_texts; j++) {
        for (int64_t k = 0; k < LH; k++) {
            const double d = run->clip_head_drops[j * LH + k];
            w[k] = d > 0 ? d : 0;
            n_pos[j] += d > 0;
        }
        s = rollout_cells(run, w, q, R, v + (2 + j) * cells);
    }
    free(tmp);
    free(R);
    free(w);
    if (s) { free(v); free(n_pos); return s; }
    // layout: two image panels, then one row a text: [its rollout thumbnail] numbers tokens
    const double asp = (double)run->image_w / (double)run->image_h;
    const double pw = asp >= 1 ? PANEL : PANEL * asp, ph = asp >= 1 ? PANEL / asp : PANEL;
    const double tw = cond ? pw * 0.5 : 0, th = cond ? ph * 0.5 : 0;   // a text's rollout thumbnail
    const double row_h = cond ? fmax(34, th + 10) : 34, text_top = TITLE_H + PAD + LABEL_H + ph + PAD + 34;
    const double x_num = PAD + (cond ? tw + 10 : 0), x_tok = x_num + 150;
    const char * about = cond
        ? "each text: rollout of the image tower for that text (heads weighted by max(0, logit drop when the head is zeroed))"
        : run->clip_head_drops ? "each text (its rollout needs every layer, head and row of the image tower captured)"
                               : "each text (this run has no head drops, so no rollout per text: see the note)";
    char hdr[200];
    snprintf(hdr, sizeof hdr, "logit   %s   text: pooled token -> tokens (mean of heads)", sig ? "sigmoid" : "softmax");
    // the two panels' labels; the second panel starts past the first label when that is wider
    char lab_a[160], lab_b[160];
    snprintf(lab_a, sizeof lab_a, "%s · max %.3g", cls ? "[CLS] attention" : "every query's attention (mean)", vmax_of(v, cells));
    if (has_rollout)
        snprintf(lab_b, sizeof lab_b, "plain rollout %s, no text · max %.3g", cls ? "from [CLS]" : "(mean of rows)",
                 vmax_of(v + cells, cells));
    else snprintf(lab_b, sizeof lab_b, "rollout: needs every layer and row");
    double x_b = 2 * PAD + pw, W = PAD + 2 * (pw + PAD);
    // the widest text row (tokens in 10-unit type with 4 units between them)
    cairo_surface_t * ms = cairo_image_surface_create(CAIRO_FORMAT_RGB24, 1, 1);
    cairo_t * mcr = cairo_create(ms);
    if (!cairo_status(mcr) && gaze_plot_text_attach(mcr, NULL)) {
        gaze_plot_text_font(mcr, 10, false);
        for (int64_t j = 0; j < run->n_texts; j++) {
            double x = x_tok;
            for (int64_t t = 0; t < run->texts[j].T; t++) x += gaze_plot_text_width(mcr, run->texts[j].tokens[t]) + 10;
            W = fmax(W, x + PAD + 24);   // (the pooled token is drawn bold)
        }
        gaze_plot_text_font(mcr, 9, true);
        W = fmax(W, fmax(PAD + gaze_plot_text_width(mcr, about), x_num + gaze_plot_text_width(mcr, hdr)) + PAD);
        gaze_plot_text_font(mcr, 9, false);
        x_b = fmax(x_b, PAD + gaze_plot_text_width(mcr, lab_a) + 2 * PAD);
        W = fmax(W, x_b + fmax(pw, gaze_plot_text_width(mcr, lab_b)) + PAD);
    }
    cairo_destroy(mcr);
    cairo_surface_destroy(ms);
    char title[400];
    if (o->title) snprintf(title, sizeof title, "%s", o->title);
    else snprintf(title, sizeof title, "%s · image-text similarity (%s) · image layer %lld, text layer %s", run->model,
                  sig ? "sigmoid of each text, SigLIP" : "softmax over the texts", (long long)ly->index,
                  o->layer >= 0 ? "the same" : "last");
    W = fmin(fmax(W, title_width(title) + 2 * PAD), GAZE_PLOT_MAX_PX);
    const double H = text_top + (double)run->n_texts * row_h + PAD;
    struct plot_fig * f;
    cairo_t * cr;
    if ((s = plot_fig_open(&f, o->format, W, H, title, &cr))) { free(v); free(n_pos); return s; }
    cairo_surface_t * img = image_surface(run);
    text(cr, PAD, 18, title, 11, true, GAZE_PLOT_ALIGN_LEFT);
    char lab[200];
    const double y0 = TITLE_H + PAD;
    panel(cr, img, run, v, vmax_of(v, cells), o->palette, PAD, y0 + LABEL_H, pw, ph, -1);
    text(cr, PAD, y0 + LABEL_H - 4, lab_a, 9, false, GAZE_PLOT_ALIGN_LEFT);
    if (has_rollout) panel(cr, img, run, v + cells, vmax_of(v + cells, cells), o->palette, x_b, y0 + LABEL_H, pw, ph, -1);
    text(cr, x_b, y0 + LABEL_H - 4, lab_b, 9, false, GAZE_PLOT_ALIGN_LEFT);
    text(cr, PAD, text_top - 22, about, 9, true, GAZE_PLOT_ALIGN_LEFT);
    text(cr, x_num, text_top - 8, hdr, 9, true, GAZE_PLOT_ALIGN_LEFT);
    for (int64_t j = 0; j < run->n_texts && !cairo_surface_status(img); j++) {
        const struct gaze_run * t = &run->texts[j];
        const double y = text_top + (double)j * row_h;
        if (cond) {
            const double * vj = v + (2 + j) * cells;
            panel(cr, img, run, vj, vmax_of(vj, cells), o->palette, PAD, y + 2, tw, th, -1);
            snprintf(lab, sizeof lab, "%d of %lld heads · max %.2g", n_pos[j], (long long)LH, vmax_of(vj, cells));
            text(cr, x_num, y + 32, lab, 8, false, GAZE_PLOT_ALIGN_LEFT);
        }
        snprintf(lab, sizeof lab, "%7.3f   %5.3f", (double)run->clip_logits[j], gaze_clip_probability(run, j));
        text(cr, x_num, y + 16, lab, 10, false, GAZE_PLOT_ALIGN_LEFT);
        // the pooled token's row of the text layer: the same index as the image's when asked, else the last
        int64_t pool = t->T - 1;
        for (int64_t i = 0; i < t->n_extra; i++)
            if (!strcmp(t->extra_keys[i], "gaze.clip.pool_token")) pool = strtoll(t->extra_values[i], NULL, 10);
        const struct gaze_run_layer * tl = o->layer >= 0 ? gaze_run_find_layer(t, o->layer) : &t->layers[t->n_cap_layers - 1];
        double * tw_k = malloc((size_t)t->T * sizeof *tw_k), wmax = 0;
        for (int64_t k = 0; tw_k && k < t->T; k++) {
            tw_k[k] = 0;
            for (int64_t h = 0; tl && pool >= 0 && pool < t->T && h < t->n_heads; h++) tw_k[k] += tl->attn[(h * t->T + pool) * t->T + k] / (double)t->n_heads;
            wmax = fmax(wmax, tw_k[k]);
        }
        double x = x_tok;
        for (int64_t k = 0; tw_k && k < t->T; k++) {
            gaze_plot_text_font(cr, 10, k == pool);   // the pooled token bold, measured bold
            const double bw = gaze_plot_text_width(cr, t->tokens[k]) + 6;
            unsigned char rgb[3];
            gaze_palette_rgb(o->palette, wmax > 0 ? (float)(tw_k[k] / wmax) : 0, rgb);
            cairo_set_source_rgb(cr, rgb[0] / 255.0, rgb[1] / 255.0, rgb[2] / 255.0);
            cairo_rectangle(cr, x, y + 2, bw, 20);
            cairo_fill(cr);
            const double lum = 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2];
            gaze_plot_text_font(cr, 10, k == pool);
            cairo_set_source_rgb(cr, lum < 128 ? 1 : 0.05, lum < 128 ? 1 : 0.05, lum < 128 ? 1 : 0.05);
            gaze_plot_text_draw(cr, x + 3, y + 16, t->tokens[k], GAZE_PLOT_ALIGN_LEFT);
            x += bw + 4;
        }
        free(tw_k);
        if (!tl) { snprintf(lab, sizeof lab, "(layer %lld not in this text's run)", (long long)o->layer); text(cr, x, y + 16, lab, 9, false, GAZE_PLOT_ALIGN_LEFT); }
    }
    const cairo_status_t is = cairo_surface_status(img);
    cairo_surface_destroy(img);
    free(v);
    free(n_pos);
    if (is) { plot_fig_abort(f); return gaze_error(GAZE_ERR_NOMEM, "plot: cairo: %s", cairo_status_to_string(is)); }
    if (info) { info->rows = run->n_texts; info->cols = 2; info->cell_w = pw; info->cell_h = ph; info->grid_x = PAD; info->grid_y = y0 + LABEL_H; }
    const enum gaze_status fs = finish(f, cr, out, n, info, W, H);
    if (!fs && info && !cond)
        snprintf(info->note, sizeof info->note, "%s",
                 !run->clip_head_drops ? "no rollout per text: the run has no head drops (saved before gaze kept them, or with "
                                         "--no-head-drops); gaze run MODEL IMAGE --text ... -o RUN measures them"
                                       : "no rollout per text: it needs every layer, head and row of the image tower captured");
    return fs;
}

enum gaze_status plot_image_buffer(const struct gaze_run * run, const struct gaze_plot_opts * o, unsigned char ** out,
                                   size_t * n, struct gaze_plot_info * info) {
    if (!run) return gaze_error(GAZE_ERR_INVALID_ARG, "plot: NULL run");
    if (!run->patch_rc || run->grid_rows < 1)
        return gaze_error(GAZE_ERR_INVALID_ARG, "plot: this kind draws image runs (a vision model's run), and this "
                          "run holds text");
    if (run->n_cap_layers < 1) return gaze_error(GAZE_ERR_INVALID_ARG, "plot: the run captured no layer");
    if (o->kind == GAZE_PLOT_KIND_DISTANCE) return plot_distance(run, o, out, n, info);
    if (!run->image) return gaze_error(GAZE_ERR_INVALID_ARG, "plot: the run file holds no image to draw on");
    if (o->kind == GAZE_PLOT_KIND_CLIP) return plot_clip(run, o, out, n, info);
    return plot_panels(run, o, out, n, info);
}
