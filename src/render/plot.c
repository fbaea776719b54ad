// Figures of a run through cairo: heatmap (one head or mean/max, labelled axes, colour bar),
// model view (layers × heads thumbnails), bertviz-style head view (lines query -> key, one
// colour per head) and a bar strip of one query's attention; PNG, SVG or PDF.
//
// Layout is computed first on a 1×1 measuring surface with the same font options (unhinted
// metrics, so every format measures text alike), then drawn once on the real surface. Long
// inputs are drawn in blocks so each side stays under GAZE_PLOT_MAX_PX and labels readable;
// the figure says so. Output is deterministic: fixed fonts and options, a fixed PDF date, and
// SVG ids (which cairo numbers from process-wide counters) renumbered in document order.
// All text goes through render/plot_text.c: pango with font fallback (CJK labels get real
// glyphs, PDF text is selectable), and in SVG <text> elements rather than glyph outlines.
#include "core/core.h"
#include "render/plot_text.h"
#include "render/plot_fig.h"
#include <cairo.h>
#include <cairo-pdf.h>
#include <cairo-svg.h>
#include <math.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define MARGIN      16.0
#define LABEL_CHARS 18        // longest token label, in characters, before "…"
#define RECT_BUDGET 30000     // SVG/PDF: more cells than this are embedded as an image
#define MIN_CELL    10        // heatmap cell side (px) below which tokens are blocked
#define HEAD_VIEW_MAX 6       // heads a head view shows unless told which

/* ---------------------------------------------------------------------------------------------
 * Output buffer, labels, text
 * ------------------------------------------------------------------------------------------- */

struct buf { unsigned char * p; size_t n, cap; bool oom; };

static cairo_status_t buf_write(void * closure, const unsigned char * data, unsigned int n) {
    struct buf * b = closure;
    if (b->oom) return CAIRO_STATUS_NO_MEMORY;
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 1 << 16;
        while (cap < b->n + n) cap *= 2;
        unsigned char * p = realloc(b->p, cap);
        if (!p) { b->oom = true; return CAIRO_STATUS_NO_MEMORY; }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, data, n);
    b->n += n;
    return CAIRO_STATUS_SUCCESS;
}

static size_t put(char * out, size_t o, size_t cap, const char * s) {
    size_t n = strlen(s);
    if (o + n < cap) { memcpy(out + o, s, n); o += n; }
    out[o < cap ? o : cap - 1] = 0;
    return o;
}

// Token text as a label, as every output shows tokens (gaze_token_display: ␣ ↵ ⇥ for
// whitespace, controls, line separators and bidi overrides escaped, bad bytes -> U+FFFD, "" -> ∅),
// max_chars columns and then "…". Cairo refuses invalid UTF-8, and an escape is more useful on
// a figure than an invisible or reordering character.
static void label_text(const char * s, char * out, size_t cap, int max_chars) {
    gaze_token_display(out, cap, s, max_chars + 1);
}

// Labels for a list of strings, each sanitised; block > 1: the first of each block + "…".
static char ** make_labels(const char * const * src, int64_t n, int64_t block) {
    const int64_t nb = (n + block - 1) / block;
    char ** lab = calloc((size_t)nb, sizeof *lab);
    if (!lab) return NULL;
    for (int64_t b = 0; b < nb; b++) {
        char tmp[LABEL_CHARS * 8 + 16];
        label_text(src[b * block], tmp, sizeof tmp - 4, LABEL_CHARS);
        if (block > 1 && b * block + 1 < n && !strstr(tmp, "…")) strcat(tmp, "…");
        if (!(lab[b] = strdup(tmp))) {
            for (int64_t k = 0; k < b; k++) free(lab[k]);
            free(lab);
            return NULL;
        }
    }
    return lab;
}

static void free_labels(char ** lab, int64_t n) {
    if (lab) for (int64_t i = 0; i < n; i++) free(lab[i]);
    free(lab);
}

// Every piece of text goes through render/plot_text.c (pango; recorded as <text> in SVG).
static bool setup_cr(cairo_t * cr, struct gaze_plot_svg_text * rec) { return gaze_plot_text_attach(cr, rec); }

static void font(cairo_t * cr, double size, bool bold) { gaze_plot_text_font(cr, size, bold); }

static double text_w(cairo_t * cr, const char * s) { return gaze_plot_text_width(cr, s); }

static double max_text_w(cairo_t * cr, char * const * s, int64_t n) {
    double m = 0;
    for (int64_t i = 0; i < n; i++) m = GAZE_MAX(m, text_w(cr, s[i]));
    return m;
}

// Text with its baseline at y, x at its left, centre or right end.
static void text_at(cairo_t * cr, double x, double y, const char * s, enum gaze_plot_align a) {
    gaze_plot_text_draw(cr, x, y, s, a);
}

// Text centred vertically on y (single line, from the primary font's ascent/descent).
static void text_mid(cairo_t * cr, double x, double y, const char * s, enum gaze_plot_align a) {
    double asc, desc;
    gaze_plot_text_extents(cr, &asc, &desc);
    text_at(cr, x, y + (asc - desc) / 2, s, a);
}

static void rgb_of(const unsigned char c[3], double * r, double * g, double * b) {
    *r = c[0] / 255.0; *g = c[1] / 255.0; *b = c[2] / 255.0;
}

/* ---------------------------------------------------------------------------------------------
 * Data: the maps a figure shows, after head selection, hiding, words and differences
 * ------------------------------------------------------------------------------------------- */

struct maps {
    int64_t S, nq, nk;        // S series (heads, or 1 when reduced) of nq rows × nk columns
    float * m;                // [S, nq, nk]
    int64_t * rword;          // [nq] word (index into the words) of each row
};

static void maps_free(struct maps * m) { free(m->m); free(m->rword); memset(m, 0, sizeof *m); }

// Maps of one layer: hsel [nsel] are indices into the captured heads; reduce: MEAN/MAX fold
// the series into one, else one series per head. Hiding and words go through the group rule
// per head first, so each head's rows are renormalised before heads are combined.
static enum gaze_status layer_maps(const struct gaze_run * run, const struct gaze_run_layer * ly,
                                   const struct gaze_words * wd, const int64_t * hsel, int64_t nsel,
                                   enum gaze_plot_heads reduce, struct maps * out) {
    memset(out, 0, sizeof *out);
    const int64_t Tq = run->Tq, T = run->T, W = wd->n_words;
    int64_t * rowmap = malloc((size_t)GAZE_MAX(W, 1) * sizeof *rowmap);
    int64_t * rg = malloc((size_t)Tq * sizeof *rg);
    out->rword = malloc((size_t)GAZE_MAX(W, 1) * sizeof *out->rword);
    if (!rowmap || !rg || !out->rword) { free(rowmap); free(rg); maps_free(out); return gaze_error(GAZE_ERR_NOMEM, "plot: out of memory"); }
    for (int64_t w = 0; w < W; w++) rowmap[w] = -1;
    int64_t nq = 0;
    for (int64_t i = 0; i < Tq; i++) {
        const int64_t w = wd->token_word[run->q_rows[i]];
        if (w >= 0 && rowmap[w] < 0) { rowmap[w] = nq; out->rword[nq++] = w; }
        rg[i] = w >= 0 ? rowmap[w] : -1;
    }
    free(rowmap);
    bool hidden = false;
    for (int64_t j = 0; j < T; j++) hidden |= wd->token_word[j] < 0;
    if (nq < 1 || W < 1) {
        free(rg);
        maps_free(out);
        return gaze_error(GAZE_ERR_INVALID_ARG, "plot: nothing left to draw (every query or key token is hidden)");
    }
    const int64_t cells = nq * W;
    float * g = malloc((size_t)(nsel * cells) * sizeof *g);
    if (!g) { free(rg); maps_free(out); return gaze_error(GAZE_ERR_NOMEM, "plot: out of memory for %lld maps", (long long)nsel); }
    enum gaze_status s = GAZE_OK;
    for (int64_t k = 0; k < nsel && !s; k++)
        s = gaze_attn_group(ly->attn + hsel[k] * Tq * T, 1, Tq, T, rg, nq, wd->token_word, W, hidden, g + k * cells);
    free(rg);
    if (s) { free(g); maps_free(out); return s; }
    out->nq = nq;
    out->nk = W;
    if (reduce == GAZE_PLOT_HEADS_MEAN || reduce == GAZE_PLOT_HEADS_MAX) {
        float * r = malloc((size_t)cells * sizeof *r);
        if (!r) { free(g); maps_free(out); return gaze_error(GAZE_ERR_NOMEM, "plot: out of memory"); }
        s = gaze_attn_reduce_heads(g, nsel, nq, W, NULL, 0,
                                   reduce == GAZE_PLOT_HEADS_MAX ? GAZE_HEAD_REDUCE_MAX : GAZE_HEAD_REDUCE_MEAN, r);
        free(g);
        if (s) { free(r); maps_free(out); return s; }
        out->m = r;
        out->S = 1;
    } else {
        out->m = g;
        out->S = nsel;
    }
    return GAZE_OK;
}

// Everything the options resolve to, checked once.
struct plan {
    const struct gaze_run * run;
    struct gaze_plot_opts o;
    enum gaze_plot_heads mode;
    int64_t * hsel;            // [nsel] indices into the captured heads
    int64_t * hsel_minus;      // [nsel] the same heads in opts.minus
    const struct gaze_run_layer ** minus_layers;   // [n_layers] the layers of opts.minus subtracted
    bool minus_heads_by_pos, minus_layers_by_pos, minus_other_tokens;   // how the runs were paired
    int64_t nsel;
    const struct gaze_run_layer ** layers;   // [n_layers] layers drawn
    int64_t n_layers;
    struct gaze_words wd;      // tokens -> words (or one word a token), hidden specials -1
    uint8_t * special;         // [T]
    char model[64];            // short model name for titles
    struct { int64_t tok; const char * label; } marks[2];   // boundaries: first generated token,
    int n_marks;                                          // first token of sentence B
    int64_t heads_of;          // head view cut to the strongest heads: of how many; 0: not cut
    char note[240];            // for gaze_plot_info.note
    int cap;                   // max side
};

static void plan_free(struct plan * p) {
    free(p->hsel);
    free(p->hsel_minus);
    free(p->minus_layers);
    free(p->layers);
    free(p->special);
    gaze_words_free(&p->wd);
}

static void short_model(const char * path, char * out, size_t cap) {
    const char * s = path && *path ? path : "model";
    size_t n = strlen(s);
    while (n > 1 && s[n - 1] == '/') n--;
    size_t b = n;
    while (b > 0 && s[b - 1] != '/') b--;
    char tmp[256];
    size_t len = GAZE_MIN(n - b, sizeof tmp - 1);
    memcpy(tmp, s + b, len);
    tmp[len] = 0;
    if (len > 5 && !strcasecmp(tmp + len - 5, ".gguf")) tmp[len - 5] = 0;
    label_text(tmp, out, cap, 40);
}

static int64_t head_index(const struct gaze_run * run, int64_t head) {
    for (int64_t h = 0; h < run->n_heads_cap; h++) if (run->heads[h] == head) return h;
    return -1;
}

static void list_captured(const struct gaze_run * run, bool layers, char * out, size_t cap) {
    size_t o = 0;
    out[0] = 0;
    const int64_t n = layers ? run->n_cap_layers : run->n_heads_cap;
    for (int64_t i = 0; i < n && o + 24 < cap; i++)
        o += (size_t)snprintf(out + o, cap - o, "%s%lld", i ? " " : "", (long long)(layers ? run->layers[i].index : run->heads[i]));
}

static enum gaze_status plan_init(struct plan * p, const struct gaze_run * run, const struct gaze_plot_opts * opts) {
    memset(p, 0, sizeof *p);
    p->run = run;
    p->o = *opts;
    const struct gaze_plot_opts * o = &p->o;
    if (!run || run->T < 1 || !run->tokens || run->Tq < 1 || !run->q_rows || run->n_heads_cap < 1 || !run->heads)
        return gaze_error(GAZE_ERR_INVALID_ARG, "plot: the run has no tokens or no captured heads");
    if ((int)o->kind < 0 || o->kind > GAZE_PLOT_KIND_BARS)
        return gaze_error(GAZE_ERR_INVALID_ARG, "plot: unknown kind %d", (int)o->kind);
    if ((int)o->palette < 0 || o->palette >= GAZE_PALETTE_COUNT)
        return gaze_error(GAZE_ERR_INVALID_ARG, "plot: unknown palette %d", (int)o->palette);
    if ((int)o->head_mode < 0 || o->head_mode > GAZE_PLOT_HEADS_EACH)
        return gaze_error(GAZE_ERR_INVALID_ARG, "plot: unknown head mode %d", (int)o->head_mode);
    if (!(o->vmax >= 0 || o->vmax < 0) || isinf(o->vmax))
        return gaze_error(GAZE_ERR_INVALID_ARG, "plot: vmax must be finite");
    p->cap = o->max_px > 0 && o->max_px < GAZE_PLOT_MAX_PX ? o->max_px : GAZE_PLOT_MAX_PX;
    if (p->cap < 200) return gaze_error(GAZE_ERR_INVALID_ARG, "plot: max_px %d is below 200", o->max_px);
    for (int64_t i = 0; i < run->Tq; i++)
        if (run->q_rows[i] < 0 || run->q_rows[i] >= run->T)
            return gaze_error(GAZE_ERR_INVALID_ARG, "plot: q_rows[%lld] outside the tokens", (long long)i);
    short_model(run->model, p->model, sizeof p->model);

    // heads
    p->mode = o->head_mode;
    if (p->mode == GAZE_PLOT_HEADS_DEFAULT)
        p->mode = o->kind == GAZE_PLOT_KIND_MODEL || o->kind == GAZE_PLOT_KIND_HEAD ? GAZE_PLOT_HEADS_EACH : GAZE_PLOT_HEADS_MEAN;
    if (p->mode == GAZE_PLOT_HEADS_EACH && (o->kind == GAZE_PLOT_KIND_HEATMAP || o->kind == GAZE_PLOT_KIND_BARS))
        return gaze_error(GAZE_ERR_INVALID_ARG, "plot: a %s shows one map: choose one head, mean or max",
                          o->kind == GAZE_PLOT_KIND_HEATMAP ? "heatmap" : "bar strip");
    char cap_list[512];
    const int64_t * want = o->heads;
    int64_t n_want = o->heads ? o->n_heads : run->n_heads_cap;
    if (p->mode == GAZE_PLOT_HEADS_ONE) { want = &o->head; n_want = 1; }
    if (n_want < 1) return gaze_error(GAZE_ERR_INVALID_ARG, "plot: no head selected");
    p->hsel = malloc((size_t)n_want * sizeof *p->hsel);
    p->hsel_minus = malloc((size_t)n_want * sizeof *p->hsel_minus);
    if (!p->hsel || !p->hsel_minus) return gaze_error(GAZE_ERR_NOMEM, "plot: out of memory");
    for (int64_t k = 0; k < n_want; k++) {
        const int64_t head = want ? want[k] : run->heads[k];
        p->hsel[k] = head_index(run, head);
        if (p->hsel[k] < 0) {
            list_captured(run, false, cap_list, sizeof cap_list);
            return gaze_error(GAZE_ERR_INVALID_ARG, "plot: head %lld was not captured (captured: %s)", (long long)head, cap_list);
        }
        if (o->minus && (p->hsel_minus[k] = o->minus->heads ? head_index(o->minus, head) : -1) < 0) {
            // every captured head, as gaze diff's table compares them: by position when the two
            // runs captured different heads of the same count
            if (!want && o->minus->n_heads_cap == run->n_heads_cap) { p->hsel_minus[k] = k; p->minus_heads_by_pos = true; }
            else {
                list_captured(o->minus, false, cap_list, sizeof cap_list);
                return gaze_error(GAZE_ERR_INVALID_ARG, "plot: head %lld was not captured in the run subtracted (captured there: %s)",
                                  (long long)head, cap_list);
            }
        }
    }
    p->nsel = n_want;

    // layers
    p->layers = malloc((size_t)GAZE_MAX(run->n_cap_layers, 1) * sizeof *p->layers);
    if (!p->layers) return gaze_error(GAZE_ERR_NOMEM, "plot: out of memory");
    if (run->n_cap_layers < 1 || !run->layers) return gaze_error(GAZE_ERR_INVALID_ARG, "plot: the run holds no captured layers");
    if (o->kind == GAZE_PLOT_KIND_MODEL && o->layer < 0) {
        for (int64_t l = 0; l < run->n_cap_layers; l++)
            if (run->layers[l].attn) p->layers[p->n_layers++] = &run->layers[l];
    } else {
        const struct gaze_run_layer * ly = o->layer >= 0 ? gaze_run_find_layer(run, o->layer) : &run->layers[run->n_cap_layers - 1];
        if (!ly || !ly->attn) {
            list_captured(run, true, cap_list, sizeof cap_list);
            return gaze_error(GAZE_ERR_INVALID_ARG, "plot: layer %lld has no captured attention (captured: %s)",
                              (long long)o->layer, cap_list);
        }
        p->layers[p->n_layers++] = ly;
    }
    if (p->n_layers < 1) return gaze_error(GAZE_ERR_INVALID_ARG, "plot: the run holds no captured attention");

    // the run subtracted: what gaze diff's table accepts (the same token count and captured
    // rows, as many heads and layers); other token ids are drawn with this run's labels, other
    // captured layers and heads paired by position, as the table pairs them
    if (o->minus) {
        const struct gaze_run * m = o->minus;
        if (o->kind != GAZE_PLOT_KIND_HEATMAP && o->kind != GAZE_PLOT_KIND_MODEL)
            return gaze_error(GAZE_ERR_INVALID_ARG, "plot: differences are drawn as a heatmap or a model view");
        bool same = m->T == run->T && m->Tq == run->Tq && m->q_rows;
        for (int64_t i = 0; same && i < run->Tq; i++) same = m->q_rows[i] == run->q_rows[i];
        if (!same)
            return gaze_error(GAZE_ERR_INVALID_ARG, "plot: a difference needs the same token count and captured query rows in both runs "
                              "(this run: %lld tokens, %lld rows; the run subtracted: %lld tokens, %lld rows)",
                              (long long)run->T, (long long)run->Tq, (long long)m->T, (long long)m->Tq);
        for (int64_t i = 0; i < run->T; i++) p->minus_other_tokens |= !m->token_ids || m->token_ids[i] != run->token_ids[i];
        if (!(p->minus_layers = malloc((size_t)p->n_layers * sizeof *p->minus_layers))) return gaze_error(GAZE_ERR_NOMEM, "plot: out of memory");
        for (int64_t l = 0; l < p->n_layers; l++) {
            const struct gaze_run_layer * ml = gaze_run_find_layer(m, p->layers[l]->index);
            if ((!ml || !ml->attn) && m->n_cap_layers == run->n_cap_layers) {
                ml = &m->layers[p->layers[l] - run->layers];
                p->minus_layers_by_pos = true;
            }
            if (!ml || !ml->attn) {
                list_captured(m, true, cap_list, sizeof cap_list);
                return gaze_error(GAZE_ERR_INVALID_ARG, "plot: layer %lld is not captured in the run subtracted (captured there: %s)",
                                  (long long)p->layers[l]->index, cap_list);
            }
            p->minus_layers[l] = ml;
        }
    }
    if (o->values) {
        if (o->kind != GAZE_PLOT_KIND_BARS) return gaze_error(GAZE_ERR_INVALID_ARG, "plot: values are drawn as bars");
        for (int64_t i = 0; i < run->T; i++)
            if (!isfinite(o->values[i])) return gaze_error(GAZE_ERR_NUMERIC, "plot: values[%lld] is not finite", (long long)i);
    }
    if (o->query < -1 || o->query >= run->T)
        return gaze_error(GAZE_ERR_INVALID_ARG, "plot: query %lld outside the %lld tokens", (long long)o->query, (long long)run->T);

    // a head view of many heads is a tangle of colours: by default it keeps the HEAD_VIEW_MAX
    // heads with the most attention off the first token (the attention sink of decoders) from
    // the query token (every captured row when none), and says which
    if (o->kind == GAZE_PLOT_KIND_HEAD && p->mode == GAZE_PLOT_HEADS_EACH && !o->heads && p->nsel > HEAD_VIEW_MAX) {
        const struct gaze_run_layer * ly = p->layers[0];
        double * score = calloc((size_t)p->nsel, sizeof *score);
        if (!score) return gaze_error(GAZE_ERR_NOMEM, "plot: out of memory");
        for (int64_t k = 0; k < p->nsel; k++)
            for (int64_t i = 0; i < run->Tq; i++) {
                if (o->query >= 0 && run->q_rows[i] != o->query) continue;
                const float * row = ly->attn + (p->hsel[k] * run->Tq + i) * run->T;
                for (int64_t j = 1; j < run->T; j++) score[k] += row[j];
            }
        // selection sort of the top HEAD_VIEW_MAX (ties: lower head first), then back in head order
        for (int64_t a = 0; a < HEAD_VIEW_MAX; a++) {
            int64_t best = a;
            for (int64_t k = a + 1; k < p->nsel; k++) if (score[k] > score[best]) best = k;
            const double ts = score[a]; score[a] = score[best]; score[best] = ts;
            const int64_t th = p->hsel[a]; p->hsel[a] = p->hsel[best]; p->hsel[best] = th;
        }
        free(score);
        for (int64_t a = 1; a < HEAD_VIEW_MAX; a++)
            for (int64_t k = a; k > 0 && p->hsel[k - 1] > p->hsel[k]; k--) { const int64_t t = p->hsel[k]; p->hsel[k] = p->hsel[k - 1]; p->hsel[k - 1] = t; }
        p->heads_of = p->nsel;
        p->nsel = HEAD_VIEW_MAX;
        size_t at = (size_t)snprintf(p->note, sizeof p->note, "head view: heads ");
        for (int64_t k = 0; k < p->nsel && at + 24 < sizeof p->note; k++)
            at += (size_t)snprintf(p->note + at, sizeof p->note - at, "%s%lld", k ? "," : "", (long long)run->heads[p->hsel[k]]);
        if (o->query >= 0)
            snprintf(p->note + at, sizeof p->note - at, " of %lld: most attention off token 0 from token %lld (--heads to choose)",
                     (long long)p->heads_of, (long long)o->query);
        else
            snprintf(p->note + at, sizeof p->note - at, " of %lld: most attention off token 0 (--heads to choose)", (long long)p->heads_of);
    }

    // boundaries worth a line: prompt | generation (--generate), sentence A | B (--pair)
    if (run->n_generated > 0 && run->n_generated < run->T) {
        p->marks[p->n_marks].tok = run->T - run->n_generated;
        p->marks[p->n_marks++].label = "generated";
    }
    if (run->pair && run->sequence_ids)
        for (int64_t t = 1; t < run->T; t++)
            if (run->sequence_ids[t] == 1) { p->marks[p->n_marks].tok = t; p->marks[p->n_marks++].label = "sentence B"; break; }

    // tokens -> words (one word a token unless aggregating), specials hidden on request
    if (!(p->special = malloc((size_t)run->T))) return gaze_error(GAZE_ERR_NOMEM, "plot: out of memory");
    enum gaze_status s = gaze_run_special_tokens(run, p->special);
    if (s) return s;
    s = o->words ? gaze_words_from_run(&p->wd, run, GAZE_WORD_STYLE_AUTO, o->hide_special)
                 : gaze_words_init(&p->wd, (const char * const *)run->tokens, run->T, p->special, GAZE_WORD_STYLE_NONE, o->hide_special);
    if (s) return s;
    if (o->query >= 0) {
        if (p->wd.token_word[o->query] < 0)
            return gaze_error(GAZE_ERR_INVALID_ARG, "plot: query token %lld is a hidden special token", (long long)o->query);
        bool captured = false;
        for (int64_t i = 0; i < run->Tq; i++) captured |= p->wd.token_word[run->q_rows[i]] == p->wd.token_word[o->query];
        if (!captured) return gaze_error(GAZE_ERR_INVALID_ARG, "plot: query token %lld has no captured attention row", (long long)o->query);
    }
    return GAZE_OK;
}

// Maps of layer l for the plan, minus the subtracted run's when asked (*absmax then set).
static enum gaze_status plan_maps(const struct plan * p, int64_t l, struct maps * out) {
    enum gaze_status s = layer_maps(p->run, p->layers[l], &p->wd, p->hsel, p->nsel, p->mode, out);
    if (s || !p->o.minus) return s;
    struct maps b;
    const struct gaze_run_layer * ml = p->minus_layers[l];
    if ((s = layer_maps(p->o.minus, ml, &p->wd, p->hsel_minus, p->nsel, p->mode, &b))) { maps_free(out); return s; }
    if (b.nq != out->nq || b.nk != out->nk || b.S != out->S) s = gaze_error(GAZE_ERR_INVALID_ARG, "plot: the runs differ in shape");
    else s = gaze_attn_diff(out->m, b.m, out->S * out->nq * out->nk, out->m, NULL);
    maps_free(&b);
    if (s) maps_free(out);
    return s;
}

// Causal mask of maps mp drawn in blocks of bq rows × bk columns: out [nr, nc] (malloc'd), 1
// where every key of the block comes after every query of it (the viewer's rule: a word's
// first token after the row word's last token). NULL with *err false when the run is not
// causal; *err true when out of memory.
static uint8_t * causal_mask(const struct plan * p, const struct maps * mp, int64_t bq, int64_t bk, bool * err) {
    *err = false;
    if (!p->run->causal) return NULL;
    const int64_t nr = (mp->nq + bq - 1) / bq, nc = (mp->nk + bk - 1) / bk;
    uint8_t * m = malloc((size_t)(nr * nc));
    if (!m) { *err = true; return NULL; }
    for (int64_t r = 0; r < nr; r++) {
        const int64_t w = mp->rword[GAZE_MIN(mp->nq, (r + 1) * bq) - 1];
        const int64_t last = p->wd.first[w] + p->wd.count[w] - 1;
        for (int64_t c = 0; c < nc; c++) m[r * nc + c] = p->wd.first[c * bk] > last;
    }
    return m;
}

#define MASK_LEGEND "grey, hatched: masked (key after the query)"

// Where boundary token tok falls among n units (words, or rows: rword [n] words) whose first
// tokens increase: the index of the first unit at or after it; -1 when at the start or past
// the end (nothing to separate).
static int64_t mark_index(const struct plan * p, int64_t tok, const int64_t * rword, int64_t n) {
    for (int64_t u = 0; u < n; u++)
        if (p->wd.first[rword ? rword[u] : u] >= tok) return u > 0 ? u : -1;
    return -1;
}

#define MARK_RGB 0.835, 0.369, 0.0   // Okabe–Ito vermillion: boundary lines and their labels
#define MARK_H   12.0               // room above a grid for the boundary labels

// A boundary line from (x0, y0) to (x1, y1), 2 units wide, and its label at (lx, ly).
static void draw_mark(cairo_t * cr, double x0, double y0, double x1, double y1, const char * label, double lx, double ly,
                      enum gaze_plot_align a, double ts) {
    cairo_save(cr);
    cairo_set_source_rgb(cr, MARK_RGB);
    cairo_set_line_width(cr, 2);
    cairo_move_to(cr, x0, y0);
    cairo_line_to(cr, x1, y1);
    cairo_stroke(cr);
    if (label) {
        font(cr, ts > 1 ? 9 * ts : 8, true);
        text_at(cr, lx, ly, label, a);
    }
    cairo_restore(cr);
}

/* ---------------------------------------------------------------------------------------------
 * Colour scale, cells, colour bar
 * ------------------------------------------------------------------------------------------- */

struct scale {
    enum gaze_palette pal;
    float vmax;
    bool  log, diverging;
};

static float scale_t(const struct scale * sc, float v) {
    float x = v / sc->vmax;
    if (!(x == x)) x = 0;
    if (sc->diverging) {
        x = GAZE_MAX(-1.0f, GAZE_MIN(1.0f, x));
        if (sc->log) x = copysignf(log1pf(99.0f * fabsf(x)) / logf(100.0f), x);
        return 0.5f + 0.5f * x;
    }
    x = GAZE_MAX(0.0f, GAZE_MIN(1.0f, x));
    return sc->log ? log1pf(99.0f * x) / logf(100.0f) : x;
}

static void scale_rgb(const struct scale * sc, float v, unsigned char rgb[3]) { gaze_palette_rgb(sc->pal, scale_t(sc, v), rgb); }

static struct scale make_scale(const struct plan * p, const float * v, int64_t n) {
    struct scale sc = { p->o.palette, p->o.vmax, p->o.log_scale, p->o.minus != NULL || p->o.palette == GAZE_PALETTE_DIVERGING };
    if (p->o.minus && p->o.palette != GAZE_PALETTE_DIVERGING) sc.pal = GAZE_PALETTE_DIVERGING;
    if (!(sc.vmax > 0)) {
        float m = 0;
        for (int64_t i = 0; i < n; i++) m = GAZE_MAX(m, sc.diverging ? fabsf(v[i]) : v[i]);
        sc.vmax = m > 0 ? m : 1;
    }
    return sc;
}

// Masked cells (a causal run's keys after the query) are drawn as the viewer draws them: a
// neutral grey outside every colour map, here hatched as well, so they never read as weight 0.
static const unsigned char MASK_RGB[3] = { 236, 238, 241 }, HATCH_RGB[3] = { 178, 184, 192 };

static void cell_rgb(const struct scale * sc, const float * vals, const uint8_t * mask, int64_t i, unsigned char rgb[3]) {
    if (mask && mask[i]) memcpy(rgb, MASK_RGB, 3);
    else scale_rgb(sc, vals[i], rgb);
}

// One image holding a cell grid vals [nr, nc], f × f pixels a cell.
static cairo_surface_t * cells_image(const float * vals, const uint8_t * mask, int64_t nr, int64_t nc, int f, const struct scale * sc) {
    cairo_surface_t * img = cairo_image_surface_create(CAIRO_FORMAT_RGB24, (int)(nc * f), (int)(nr * f));
    if (cairo_surface_status(img)) return img;
    cairo_surface_flush(img);
    unsigned char * d = cairo_image_surface_get_data(img);
    const int stride = cairo_image_surface_get_stride(img);
    for (int64_t r = 0; r < nr; r++) {
        uint32_t * row = (uint32_t *)(d + (size_t)(r * f) * (size_t)stride);
        for (int64_t c = 0; c < nc; c++) {
            unsigned char rgb[3];
            cell_rgb(sc, vals, mask, r * nc + c, rgb);
            const uint32_t px = (uint32_t)rgb[0] << 16 | (uint32_t)rgb[1] << 8 | rgb[2];
            for (int k = 0; k < f; k++) row[c * f + k] = px;
        }
        for (int k = 1; k < f; k++) memcpy(d + (size_t)(r * f + k) * (size_t)stride, row, (size_t)(nc * f) * 4);
    }
    cairo_surface_mark_dirty(img);
    return img;
}

// Diagonal hatching over the masked cells of a grid (the grey under it is drawn with the cells).
static void hatch_masked(cairo_t * cr, const uint8_t * mask, int64_t nr, int64_t nc, double x, double y, double cw, double ch) {
    bool any = false;
    cairo_save(cr);
    cairo_new_path(cr);
    for (int64_t r = 0; r < nr; r++)
        for (int64_t c = 0; c < nc;) {
            if (!mask[r * nc + c]) { c++; continue; }
            int64_t e = c + 1;
            while (e < nc && mask[r * nc + e]) e++;
            cairo_rectangle(cr, x + c * cw, y + r * ch, (e - c) * cw, ch);
            any = true;
            c = e;
        }
    if (any) {
        cairo_clip(cr);
        double rr, gg, bb;
        rgb_of(HATCH_RGB, &rr, &gg, &bb);
        cairo_set_source_rgb(cr, rr, gg, bb);
        cairo_set_line_width(cr, 1);
        const double w = nc * cw, h = nr * ch, step = 5;
        for (double d = -h; d < w; d += step) {
            cairo_move_to(cr, x + d, y + h);
            cairo_line_to(cr, x + d + h, y);
        }
        cairo_stroke(cr);
    }
    cairo_restore(cr);
}

// Draws a grid of nr × nc cells of cw × ch at (x, y); mask [nr, nc] (or NULL) marks masked
// cells (grey, hatched). Raster output: one image scaled with nearest-neighbour filtering
// (exact cell colours). Vector output: rectangles (runs of equal colour merged) unless
// as_image, then one embedded image upsampled to whole pixels a cell so viewers that smooth
// images keep the cells sharp. Each rectangle reaches half a unit into its right and lower
// neighbours, which are drawn after it and cover the overlap: browsers anti-alias the shared
// edge of two abutting shapes at fractional zoom into a pale hairline, an overlapped edge
// never shows.
static enum gaze_status draw_cells(cairo_t * cr, bool vector, bool as_image, const float * vals, const uint8_t * mask,
                                   int64_t nr, int64_t nc, double x, double y, double cw, double ch, const struct scale * sc) {
    if (vector && !as_image) {
        for (int64_t r = 0; r < nr; r++) {
            for (int64_t c = 0; c < nc;) {
                unsigned char rgb[3], next[3];
                cell_rgb(sc, vals, mask, r * nc + c, rgb);
                int64_t e = c + 1;
                while (e < nc) {
                    cell_rgb(sc, vals, mask, r * nc + e, next);
                    if (memcmp(rgb, next, 3) || (mask && mask[r * nc + e] != mask[r * nc + c])) break;
                    e++;
                }
                double rr, gg, bb;
                rgb_of(rgb, &rr, &gg, &bb);
                cairo_set_source_rgb(cr, rr, gg, bb);
                const double ox = e < nc ? 0.5 : 0, oy = r + 1 < nr ? 0.5 : 0;
                cairo_rectangle(cr, x + c * cw, y + r * ch, (e - c) * cw + ox, ch + oy);
                cairo_fill(cr);
                c = e;
            }
        }
        if (mask) hatch_masked(cr, mask, nr, nc, x, y, cw, ch);
        return GAZE_OK;
    }
    int f = 1;
    if (vector) {
        f = (int)GAZE_MAX(1.0, floor(GAZE_MIN(cw, ch)));
        while (f > 1 && (nr * f > 4096 || nc * f > 4096)) f--;
    }
    cairo_surface_t * img = cells_image(vals, mask, nr, nc, f, sc);
    if (cairo_surface_status(img)) {
        cairo_surface_destroy(img);
        return gaze_error(GAZE_ERR_NOMEM, "plot: cannot make a %lld x %lld image", (long long)nc, (long long)nr);
    }
    cairo_save(cr);
    cairo_translate(cr, x, y);
    cairo_scale(cr, cw / f, ch / f);
    cairo_set_source_surface(cr, img, 0, 0);
    cairo_pattern_set_filter(cairo_get_source(cr), CAIRO_FILTER_NEAREST);
    cairo_rectangle(cr, 0, 0, (double)(nc * f), (double)(nr * f));
    cairo_fill(cr);
    cairo_restore(cr);
    cairo_surface_destroy(img);
    if (mask && !vector) hatch_masked(cr, mask, nr, nc, x, y, cw, ch);
    return GAZE_OK;
}

// Round colour-bar ticks into ticks [cap]: linear scales get the multiples of a step of 1, 2,
// 2.5 or 5 × 10^k in [0, vmax] (at most 7; mirrored when diverging), *decimals set for the
// step; log scales get the decades 10^k in [vmax / 300, vmax] (with their 2× and 5× when
// fewer than 3 fit), never 0, which a log axis does not have (*decimals = -1: "1e-3" style).
static int nice_ticks(const struct scale * sc, float * ticks, int cap, int * decimals) {
    const double vmax = sc->vmax;
    int n = 0;
    if (sc->log) {
        *decimals = -1;
        const double lo = vmax / 300;
        for (int pass = 0; pass < 2 && n < 3; pass++) {
            n = 0;
            static const double mult[3] = { 1, 2, 5 };
            for (int e = (int)floor(log10(vmax)); e >= (int)floor(log10(lo)) - 1; e--)
                for (int m = 2; m >= 0; m--) {
                    if (!pass && m) continue;
                    const double v = mult[m] * pow(10, e);
                    if (v > vmax * (1 + 1e-6) || v < lo || n + 2 > cap) continue;
                    ticks[n++] = (float)v;
                    if (sc->diverging) ticks[n++] = (float)-v;
                }
        }
        return n;
    }
    const double mag = pow(10, floor(log10(vmax / 4)));
    static const double mult[5] = { 1, 2, 2.5, 5, 10 };
    double step = 10 * mag;
    int mi = 4;
    for (int m = 0; m < 5; m++) if (vmax / (mult[m] * mag) < 6 + 1e-9) { step = mult[m] * mag; mi = m; break; }
    *decimals = GAZE_MAX(0, (int)-floor(log10(step) + 1e-9) + (mi == 2 ? 1 : 0));
    for (int k = 0; k * step <= vmax * (1 + 1e-6) && n + 2 <= cap; k++) {
        ticks[n++] = (float)(k * step);
        if (sc->diverging && k) ticks[n++] = (float)(-k * step);
    }
    return n;
}

static void tick_label(float v, int decimals, char * out, size_t cap) {
    if (v == 0) { snprintf(out, cap, "0"); return; }
    if (decimals >= 0) { snprintf(out, cap, "%.*f", decimals, v); return; }
    const double a = fabs(v);   // ticks are floats: 0.01f is 0.0099999998
    if (a >= 0.01 * (1 - 1e-6) && a < 1e4) { snprintf(out, cap, "%g", v); return; }
    const int e = (int)floor(log10(a) + 1e-6);
    snprintf(out, cap, "%s%ge%d", v < 0 ? "−" : "", round(a / pow(10, e)), e);
}

#define CBAR_W      14.0
#define CBAR_TICK_W 54.0     // room for tick labels right of the bar

// Vertical colour bar at (x, y), h tall, bottom = low; ticks linear or at decades (log).
static void draw_colorbar(cairo_t * cr, const struct scale * sc, double x, double y, double h, double ts) {
    cairo_pattern_t * grad = cairo_pattern_create_linear(0, y + h, 0, y);
    for (int k = 0; k < 64; k++) {
        unsigned char rgb[3];
        const double t = k / 63.0;
        gaze_palette_rgb(sc->pal, (float)t, rgb);
        double r, g, b;
        rgb_of(rgb, &r, &g, &b);
        cairo_pattern_add_color_stop_rgb(grad, t, r, g, b);
    }
    cairo_rectangle(cr, x, y, CBAR_W, h);
    cairo_set_source(cr, grad);
    cairo_fill(cr);
    cairo_pattern_destroy(grad);
    cairo_set_source_rgb(cr, 0.3, 0.3, 0.3);
    cairo_set_line_width(cr, 1);
    cairo_rectangle(cr, x + 0.5, y + 0.5, CBAR_W - 1, h - 1);
    cairo_stroke(cr);
    float ticks[24];
    int decimals;
    const int n = nice_ticks(sc, ticks, 24, &decimals);
    font(cr, 9 * ts, false);
    for (int k = 0; k < n; k++) {
        const double ty = y + h - scale_t(sc, ticks[k]) * h;
        cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
        cairo_move_to(cr, x + CBAR_W, ty);
        cairo_line_to(cr, x + CBAR_W + 4, ty);
        cairo_stroke(cr);
        char lab[32];
        tick_label(ticks[k], decimals, lab, sizeof lab);
        text_mid(cr, x + CBAR_W + 6, ty, lab, GAZE_PLOT_ALIGN_LEFT);
    }
}

/* ---------------------------------------------------------------------------------------------
 * Figure: surface creation, titles
 * ------------------------------------------------------------------------------------------- */

struct fig {
    cairo_surface_t * surf;
    cairo_t * cr;
    enum gaze_plot_format fmt;
    bool vector;
    struct buf out;
    struct gaze_plot_svg_text text;   // SVG: the figure's text, spliced in at the end
    int w, h;
};

static void fig_discard(struct fig * f);

// A figure of w × h units drawn at scale output pixels (PNG) or points a unit.
static enum gaze_status fig_begin_scaled(struct fig * f, enum gaze_plot_format fmt, double w, double h, int cap, const char * title,
                                         double scale) {
    memset(f, 0, sizeof *f);
    f->fmt = fmt;
    f->vector = fmt != GAZE_PLOT_FORMAT_PNG;
    f->w = (int)ceil(w * scale - 1e-6);
    f->h = (int)ceil(h * scale - 1e-6);
    if (f->w > cap || f->h > cap)
        return gaze_error(GAZE_ERR_LIMIT, "plot: figure of %d x %d exceeds the %d limit", f->w, f->h, cap);
    if (fmt == GAZE_PLOT_FORMAT_PNG) f->surf = cairo_image_surface_create(CAIRO_FORMAT_RGB24, f->w, f->h);
    else if (fmt == GAZE_PLOT_FORMAT_SVG) {
        f->surf = cairo_svg_surface_create_for_stream(buf_write, &f->out, f->w, f->h);
        cairo_svg_surface_restrict_to_version(f->surf, CAIRO_SVG_VERSION_1_1);
    } else {
        f->surf = cairo_pdf_surface_create_for_stream(buf_write, &f->out, f->w, f->h);
        // a fixed date: cairo stamps the current time otherwise, and the same figure must give
        // the same bytes
        cairo_pdf_surface_set_metadata(f->surf, CAIRO_PDF_METADATA_CREATE_DATE, "2000-01-01T00:00:00Z");
        cairo_pdf_surface_set_metadata(f->surf, CAIRO_PDF_METADATA_CREATOR, "gaze");
        if (title) cairo_pdf_surface_set_metadata(f->surf, CAIRO_PDF_METADATA_TITLE, title);
    }
    if (cairo_surface_status(f->surf)) {
        cairo_surface_destroy(f->surf);
        f->surf = NULL;
        return gaze_error(GAZE_ERR_NOMEM, "plot: cannot create a %d x %d surface", f->w, f->h);
    }
    f->cr = cairo_create(f->surf);
    if (cairo_status(f->cr) || !setup_cr(f->cr, fmt == GAZE_PLOT_FORMAT_SVG ? &f->text : NULL)) {
        fig_discard(f);
        return gaze_error(GAZE_ERR_NOMEM, "plot: out of memory for the figure's text");
    }
    cairo_set_source_rgb(f->cr, 1, 1, 1);
    cairo_paint(f->cr);
    if (scale != 1) cairo_scale(f->cr, scale, scale);
    return GAZE_OK;
}

static enum gaze_status fig_begin(struct fig * f, enum gaze_plot_format fmt, double w, double h, int cap, const char * title) {
    return fig_begin_scaled(f, fmt, w, h, cap, title, 1);
}

static void fig_discard(struct fig * f) {
    if (f->cr) cairo_destroy(f->cr);
    if (f->surf) cairo_surface_destroy(f->surf);
    free(f->out.p);
    gaze_plot_svg_text_free(&f->text);
    memset(f, 0, sizeof *f);
}

// SVG: cairo names surfaces, images and patterns from counters shared by the whole process,
// so a second figure drawn in one process would differ from the first. Renumbers
// "<prefix><digits>" ids (and their references) in order of first appearance.
static bool svg_renumber(struct buf * b) {
    static const char * const prefixes[] = { "surface", "image", "pattern", "source", "clip", "mask", "linear", "radial", "filter" };
    enum { NP = sizeof prefixes / sizeof prefixes[0] };
    struct { long long from; long long to; } * map = NULL;
    size_t n_map = 0, cap_map = 0;
    long long next[NP] = { 0 };
    int * map_prefix = NULL;
    struct buf o = { 0 };
    bool ok = true;
    for (size_t i = 0; i < b->n && ok;) {
        bool done = false;
        const unsigned char prev = i ? b->p[i - 1] : 0;
        if (prev == '"' || prev == '#') {
            for (int k = 0; k < NP && !done; k++) {
                const size_t pl = strlen(prefixes[k]);
                if (i + pl >= b->n || memcmp(b->p + i, prefixes[k], pl) || b->p[i + pl] < '0' || b->p[i + pl] > '9') continue;
                size_t e = i + pl;
                long long num = 0;
                while (e < b->n && b->p[e] >= '0' && b->p[e] <= '9' && num < (1LL << 50)) num = num * 10 + (b->p[e++] - '0');
                if (e < b->n && (b->p[e] == '"' || b->p[e] == ')')) {
                    long long to = -1;
                    for (size_t m = 0; m < n_map; m++) if (map_prefix[m] == k && map[m].from == num) to = map[m].to;
                    if (to < 0) {
                        if (n_map == cap_map) {
                            cap_map = cap_map ? 2 * cap_map : 64;
                            void * nm = realloc(map, cap_map * sizeof *map), * np = realloc(map_prefix, cap_map * sizeof *map_prefix);
                            if (nm) map = nm;
                            if (np) map_prefix = np;
                            if (!nm || !np) { ok = false; break; }
                        }
                        to = ++next[k];
                        map[n_map].from = num;
                        map[n_map].to = to;
                        map_prefix[n_map++] = k;
                    }
                    char tmp[64];
                    int len = snprintf(tmp, sizeof tmp, "%s%lld", prefixes[k], to);
                    ok = buf_write(&o, (const unsigned char *)tmp, (unsigned)len) == CAIRO_STATUS_SUCCESS;
                    i = e;
                    done = true;
                }
            }
        }
        if (!done && ok) ok = buf_write(&o, b->p + i++, 1) == CAIRO_STATUS_SUCCESS;
    }
    free(map);
    free(map_prefix);
    if (!ok) { free(o.p); return false; }
    free(b->p);
    *b = o;
    return true;
}

// plot_fig.h: the figure surface for the other figure files of this layer
enum gaze_status plot_fig_open(struct plot_fig ** pf, enum gaze_plot_format fmt, double w, double h, const char * title,
                               cairo_t ** cr) {
    struct fig * f = malloc(sizeof *f);
    if (!f) return gaze_error(GAZE_ERR_NOMEM, "plot: out of memory");
    enum gaze_status s = fig_begin(f, fmt, w, h, GAZE_PLOT_MAX_PX, title);
    if (s) { free(f); return s; }
    *pf = (struct plot_fig *)f;
    *cr = f->cr;
    return GAZE_OK;
}
static enum gaze_status fig_end(struct fig * f, unsigned char ** out, size_t * n);
enum gaze_status plot_fig_close(struct plot_fig * pf, unsigned char ** out, size_t * n) {
    enum gaze_status s = fig_end((struct fig *)pf, out, n);
    free(pf);
    return s;
}
void plot_fig_abort(struct plot_fig * pf) {
    if (!pf) return;
    fig_discard((struct fig *)pf);
    free(pf);
}

static enum gaze_status fig_end(struct fig * f, unsigned char ** out, size_t * n) {
    cairo_status_t cs = cairo_status(f->cr);
    cairo_destroy(f->cr);
    f->cr = NULL;
    if (cs == CAIRO_STATUS_SUCCESS && f->fmt == GAZE_PLOT_FORMAT_PNG)
        cs = cairo_surface_write_to_png_stream(f->surf, buf_write, &f->out);
    cairo_surface_finish(f->surf);
    if (cs == CAIRO_STATUS_SUCCESS) cs = cairo_surface_status(f->surf);
    cairo_surface_destroy(f->surf);
    f->surf = NULL;
    if (cs != CAIRO_STATUS_SUCCESS || f->out.oom) {
        fig_discard(f);
        return gaze_error(cs == CAIRO_STATUS_NO_MEMORY || cs == CAIRO_STATUS_SUCCESS ? GAZE_ERR_NOMEM : GAZE_ERR_IO,
                          "plot: cairo: %s", cairo_status_to_string(cs));
    }
    // text goes in after renumbering, so a token that looks like an id is never rewritten
    if (f->fmt == GAZE_PLOT_FORMAT_SVG &&
        (!svg_renumber(&f->out) || !gaze_plot_svg_text_splice(&f->text, &f->out.p, &f->out.n))) {
        fig_discard(f);
        return gaze_error(GAZE_ERR_NOMEM, "plot: out of memory");
    }
    f->out.cap = f->out.n;
    gaze_plot_svg_text_free(&f->text);
    *out = f->out.p;
    *n = f->out.n;
    f->out.p = NULL;
    return GAZE_OK;
}

static double draw_titles(cairo_t * cr, const char * title, char lines[][200], int n_lines, double x);

// Size for print (opts.width_pt, opts.dpi): s_pt points a layout unit, out output pixels or
// points a unit, text (fonts and the room they take) × ts so the smallest (9 units, the tick
// labels) stays at GAZE_PLOT_MIN_FONT_PT, titles wrapped within maxw (0: not wrapped).
struct sizing { double s_pt, out, ts, maxw; };

static struct sizing sizing_for(const struct plan * p, double W) {
    struct sizing z = { 1, 1, 1, 0 };
    if (p->o.width_pt > 0) {
        z.s_pt = p->o.width_pt / W;
        z.ts = GAZE_MAX(1.0, GAZE_PLOT_MIN_FONT_PT / (9.0 * z.s_pt));
        z.maxw = W - 2 * MARGIN;
    }
    const double dpi = p->o.dpi > 0 ? p->o.dpi : p->o.width_pt > 0 ? 300 : 72;
    z.out = z.s_pt * (p->o.format == GAZE_PLOT_FORMAT_PNG ? dpi / 72 : 1);
    return z;
}

// s split at its " · " separators into lines of at most maxw at the current font of m.
static int wrap_text(cairo_t * m, const char * s, double maxw, char out[][256], int cap) {
    static const char sep[] = " \xC2\xB7 ";
    int n = 0;
    out[0][0] = 0;
    for (const char * p = s; *p && n < cap;) {
        const char * e = strstr(p, sep);
        const size_t len = e ? (size_t)(e - p) : strlen(p);
        char cand[512];
        if (out[n][0]) snprintf(cand, sizeof cand, "%s%s%.*s", out[n], sep, (int)len, p);
        else snprintf(cand, sizeof cand, "%.*s", (int)len, p);
        if (out[n][0] && text_w(m, cand) > maxw && n + 1 < cap) {
            n++;
            snprintf(out[n], 256, "%.*s", (int)len, p);
        } else {
            const size_t cl = GAZE_MIN(strlen(cand), (size_t)255);
            memcpy(out[n], cand, cl);
            out[n][cl] = 0;
        }
        p += len;
        if (e) p += strlen(sep);
    }
    return out[0][0] ? n + 1 : 0;
}

// Title and the lines under it, fonts × ts, each wrapped within maxw when maxw > 0 (measured
// on m); draws when cr is not NULL; returns the y where the figure's body starts.
static double draw_titles_ex(cairo_t * cr, cairo_t * m, const char * title, char lines[][200], int n_lines, double x,
                             double ts, double maxw) {
    if (ts == 1 && maxw <= 0) return draw_titles(cr, title, lines, n_lines, x);
    double y = MARGIN;
    char wrapped[8][256];
    for (int i = -1; i < n_lines; i++) {
        const char * t = i < 0 ? title : lines[i];
        if (!t[0]) continue;
        const double size = i < 0 ? 14 : 10.5, step = i < 0 ? 22 : 15;
        font(m, size * ts, i < 0);
        const int nw = maxw > 0 ? wrap_text(m, t, maxw, wrapped, 8) : 1;
        if (maxw <= 0) snprintf(wrapped[0], sizeof wrapped[0], "%s", t);
        for (int k = 0; k < nw; k++) {
            if (cr) {
                if (i < 0) cairo_set_source_rgb(cr, 0, 0, 0);
                else cairo_set_source_rgb(cr, 0.35, 0.35, 0.35);
                font(cr, size * ts, i < 0);
                text_at(cr, x, y + (i < 0 ? 14 : 11) * ts, wrapped[k], GAZE_PLOT_ALIGN_LEFT);
            }
            y += step * ts;
        }
    }
    return y + 8 * ts;
}

static double draw_titles(cairo_t * cr, const char * title, char lines[][200], int n_lines, double x) {
    double y = MARGIN;
    if (cr) {
        cairo_set_source_rgb(cr, 0, 0, 0);
        font(cr, 14, true);
        text_at(cr, x, y + 14, title, GAZE_PLOT_ALIGN_LEFT);
    }
    y += 22;
    for (int i = 0; i < n_lines; i++) {
        if (!lines[i][0]) continue;
        if (cr) {
            cairo_set_source_rgb(cr, 0.35, 0.35, 0.35);
            font(cr, 10.5, false);
            text_at(cr, x, y + 11, lines[i], GAZE_PLOT_ALIGN_LEFT);
        }
        y += 15;
    }
    return y + 8;
}

static double titles_width(cairo_t * cr, const char * title, char lines[][200], int n_lines) {
    font(cr, 14, true);
    double w = text_w(cr, title);
    font(cr, 10.5, false);
    for (int i = 0; i < n_lines; i++) w = GAZE_MAX(w, text_w(cr, lines[i]));
    return w;
}

static const char * heads_desc(const struct plan * p, char * out, size_t cap) {
    if (p->mode == GAZE_PLOT_HEADS_ONE) snprintf(out, cap, "head %lld", (long long)p->run->heads[p->hsel[0]]);
    else if (p->mode == GAZE_PLOT_HEADS_MEAN || p->mode == GAZE_PLOT_HEADS_MAX) {
        const char * what = p->mode == GAZE_PLOT_HEADS_MEAN ? "mean" : "max";
        if (p->nsel == 1) snprintf(out, cap, "head %lld", (long long)p->run->heads[p->hsel[0]]);
        else if (!p->o.heads) snprintf(out, cap, "%s of %lld heads", what, (long long)p->nsel);
        else {
            size_t o = (size_t)snprintf(out, cap, "%s of heads ", what);
            for (int64_t k = 0; k < p->nsel && o + 24 < cap; k++)
                o += (size_t)snprintf(out + o, cap - o, "%s%lld", k ? "," : "", (long long)p->run->heads[p->hsel[k]]);
        }
    } else if (p->heads_of) snprintf(out, cap, "%lld of %lld heads (most attention off token 0)", (long long)p->nsel, (long long)p->heads_of);
    else snprintf(out, cap, "%lld head%s", (long long)p->nsel, p->nsel > 1 ? "s" : "");
    return out;
}

// "words · special tokens hidden · log scale", or "".
static void transforms_desc(const struct plan * p, const struct scale * sc, char * out, size_t cap) {
    out[0] = 0;
    size_t o = 0;
    const char * parts[8];
    int n = 0;
    if (p->o.words) parts[n++] = "sub-words merged into words (to: sum, from: mean)";
    if (p->o.hide_special) parts[n++] = "special tokens hidden, rows renormalised";
    if (sc && sc->log) parts[n++] = "log colour scale";
    if (p->o.minus) parts[n++] = "difference: this run − the subtracted run";
    if (p->minus_other_tokens) parts[n++] = "tokens differ: this run's shown";
    if (p->minus_layers_by_pos || p->minus_heads_by_pos) parts[n++] = "layers/heads paired by position";
    for (int i = 0; i < n; i++) o = put(out, o, cap, i ? " · " : ""), o = put(out, o, cap, parts[i]);
}

/* ---------------------------------------------------------------------------------------------
 * Heatmap
 * ------------------------------------------------------------------------------------------- */

static enum gaze_status plot_heatmap(const struct plan * p, cairo_t * mcr, unsigned char ** out, size_t * n,
                                     struct gaze_plot_info * info) {
    struct maps mp;
    enum gaze_status s = plan_maps(p, 0, &mp);
    if (s) return s;
    const int64_t nq = mp.nq, nk = mp.nk;
    const char ** rsrc = malloc((size_t)nq * sizeof *rsrc);
    if (!rsrc) { maps_free(&mp); return gaze_error(GAZE_ERR_NOMEM, "plot: out of memory"); }
    for (int64_t i = 0; i < nq; i++) rsrc[i] = p->wd.text[mp.rword[i]];

    // Cells of MIN_CELL px or more and at most cap px a side: the room left by the labels
    // (measured at their largest font, with the "…" a block label may get) sets the blocks.
    char title[256], hd[128], lines[3][200];
    if (p->o.title) label_text(p->o.title, title, sizeof title, 120);
    else snprintf(title, sizeof title, "%s · layer %lld · %s", p->model, (long long)p->layers[0]->index, heads_desc(p, hd, sizeof hd));
    const double axis = 16;   // "queries" / "keys" axis titles
    const double top_max = MARGIN + 22 + 3 * 15 + 8;   // the titles with all 3 lines under them
    double rl_max = 0, cl_max = 0;
    font(mcr, 11, false);
    {
        char tmp[LABEL_CHARS * 8 + 16];
        for (int64_t i = 0; i < nq; i++) { label_text(rsrc[i], tmp, sizeof tmp - 4, LABEL_CHARS); strcat(tmp, "…"); rl_max = GAZE_MAX(rl_max, text_w(mcr, tmp)); }
        for (int64_t j = 0; j < nk; j++) { label_text(p->wd.text[j], tmp, sizeof tmp - 4, LABEL_CHARS); strcat(tmp, "…"); cl_max = GAZE_MAX(cl_max, text_w(mcr, tmp)); }
    }
    const double fixed_w = MARGIN + axis + rl_max + 8 + 16 + CBAR_W + CBAR_TICK_W + MARGIN;
    const double fixed_h = top_max + cl_max + 8 + axis + MARGIN;
    const int64_t room_w = (int64_t)((p->cap - fixed_w) / MIN_CELL), room_h = (int64_t)((p->cap - fixed_h) / MIN_CELL);
    if (room_w < 1 || room_h < 1) {
        free(rsrc); maps_free(&mp);
        return gaze_error(GAZE_ERR_LIMIT, "plot: a heatmap does not fit in %d px", p->cap);
    }
    const int64_t bq = (nq + room_h - 1) / room_h, bk = (nk + room_w - 1) / room_w;
    const int64_t nr = (nq + bq - 1) / bq, nc = (nk + bk - 1) / bk;
    float * vals = mp.m;
    float * blocked = NULL;
    if (bq > 1 || bk > 1) {
        if (!(blocked = malloc((size_t)(nr * nc) * sizeof *blocked)) ||
            (s = gaze_attn_block_mean(mp.m, nq, nk, bq, bk, blocked))) {
            free(blocked); free(rsrc); maps_free(&mp);
            return s ? s : gaze_error(GAZE_ERR_NOMEM, "plot: out of memory");
        }
        vals = blocked;
    }
    int cs = (int)GAZE_MAX(MIN_CELL, GAZE_MIN(28, 720 / GAZE_MAX(nr, nc)));
    cs = (int)GAZE_MIN(cs, GAZE_MIN((p->cap - fixed_w) / nc, (p->cap - fixed_h) / nr));
    char ** rl = make_labels(rsrc, nq, bq), ** cl = make_labels((const char * const *)p->wd.text, nk, bk);
    free(rsrc);
    bool mask_err;
    uint8_t * mask = causal_mask(p, &mp, bq, bk, &mask_err);
    struct scale sc = make_scale(p, vals, nr * nc);
    transforms_desc(p, &sc, lines[0], sizeof lines[0]);
    lines[1][0] = 0;
    if (bq > 1 || bk > 1)
        snprintf(lines[1], sizeof lines[1], "%lld × %lld %s shown as %lld × %lld blocks: each cell is the mean of up to %lld × %lld weights",
                 (long long)nq, (long long)nk, p->o.words ? "words" : "tokens", (long long)nr, (long long)nc, (long long)bq, (long long)bk);
    snprintf(lines[2], sizeof lines[2], "rows: queries · columns: keys · %s%s", gaze_palette_name(sc.pal),
             mask ? " · " MASK_LEGEND : "");
    if (!rl || !cl || mask_err) { s = gaze_error(GAZE_ERR_NOMEM, "plot: out of memory"); goto done; }

    // layout. Sized for print, the figure is scaled to the width asked: the token labels keep
    // GAZE_PLOT_MIN_FONT_PT (every k-th drawn when they would overlap), the other text is
    // enlarged by z.ts and the titles wrapped; the widths depend on the scale and the scale on
    // the widths, so a few rounds settle them.
    const double gw = (double)(nc * cs), gh = (double)(nr * cs);
    double lab_font = GAZE_MIN(11.0, cs - 2.0), rlw = 0, clh = 0, W = 0;
    int64_t every = 1;
    struct sizing z = sizing_for(p, 1);
    for (int round_ = 0; round_ < (p->o.width_pt > 0 ? 6 : 1); round_++) {
        if (p->o.width_pt > 0) {
            lab_font = GAZE_MAX(GAZE_MIN(11.0, cs - 2.0), GAZE_PLOT_MIN_FONT_PT / z.s_pt);
            every = (int64_t)ceil(lab_font * 1.15 / cs - 1e-9);
        }
        font(mcr, lab_font, false);
        rlw = clh = 0;
        for (int64_t r = 0; r < nr; r += every) rlw = GAZE_MAX(rlw, text_w(mcr, rl[r]));
        for (int64_t c = 0; c < nc; c += every) clh = GAZE_MAX(clh, text_w(mcr, cl[c]));
        rlw += 8;
        clh += 8;
        W = round(MARGIN + axis * z.ts + rlw) + gw + 16 + CBAR_W + CBAR_TICK_W * z.ts + MARGIN;
        if (p->o.width_pt > 0) z = sizing_for(p, W);
    }
    const double top = draw_titles_ex(NULL, mcr, title, lines, 3, 0, z.ts, z.maxw);
    const double gx = round(MARGIN + axis * z.ts + rlw), gy = round(top + (p->n_marks ? MARK_H * z.ts : 0));
    const double cb_h = GAZE_MIN(gh, 480);
    if (p->o.width_pt <= 0) W = GAZE_MIN(GAZE_MAX(W, MARGIN + titles_width(mcr, title, lines, 3) + MARGIN), p->cap);   // a long title is cut
    const double H = gy + gh + clh + axis * z.ts + MARGIN;
    struct fig f;
    if ((s = fig_begin_scaled(&f, p->o.format, W, H, p->cap, title, z.out))) goto done;
    cairo_t * cr = f.cr;
    draw_titles_ex(cr, mcr, title, lines, 3, MARGIN, z.ts, z.maxw);
    const bool as_image = f.vector && nr * nc > RECT_BUDGET;
    if ((s = draw_cells(cr, f.vector, as_image, vals, mask, nr, nc, gx, gy, cs, cs, &sc))) { fig_discard(&f); goto done; }
    cairo_set_source_rgb(cr, 0.3, 0.3, 0.3);
    cairo_set_line_width(cr, 1);
    cairo_rectangle(cr, gx - 0.5, gy - 0.5, gw + 1, gh + 1);
    cairo_stroke(cr);
    for (int m = 0; m < p->n_marks; m++) {   // a line between the cells at each boundary
        const int64_t c = mark_index(p, p->marks[m].tok, NULL, nk), r = mark_index(p, p->marks[m].tok, mp.rword, nq);
        if (c > 0) {
            const double x = gx + (double)c / (double)bk * cs;
            draw_mark(cr, x, gy - 3, x, gy + gh, p->marks[m].label, x + 2, gy - 3, GAZE_PLOT_ALIGN_LEFT, z.ts);
        }
        if (r > 0) draw_mark(cr, gx, gy + (double)r / (double)bq * cs, gx + gw, gy + (double)r / (double)bq * cs, NULL, 0, 0, GAZE_PLOT_ALIGN_LEFT, 1);
    }
    // row labels (right-aligned), column labels (rotated, reading upwards to the grid)
    cairo_set_source_rgb(cr, 0, 0, 0);
    font(cr, lab_font, false);
    for (int64_t r = 0; r < nr; r += every) text_mid(cr, gx - 4, gy + (r + 0.5) * cs, rl[r], GAZE_PLOT_ALIGN_RIGHT);
    for (int64_t c = 0; c < nc; c += every) {
        cairo_save(cr);
        cairo_translate(cr, gx + (c + 0.5) * cs, gy + gh + 4);
        cairo_rotate(cr, -M_PI / 2);
        text_mid(cr, 0, 0, cl[c], GAZE_PLOT_ALIGN_RIGHT);
        cairo_restore(cr);
    }
    font(cr, 11 * z.ts, true);
    cairo_set_source_rgb(cr, 0.25, 0.25, 0.25);
    text_at(cr, gx + gw / 2, gy + gh + clh + axis * z.ts, "keys", GAZE_PLOT_ALIGN_CENTER);
    cairo_save(cr);
    cairo_translate(cr, MARGIN + 12 * z.ts, gy + gh / 2);
    cairo_rotate(cr, -M_PI / 2);
    text_at(cr, 0, 0, "queries", GAZE_PLOT_ALIGN_CENTER);
    cairo_restore(cr);
    draw_colorbar(cr, &sc, gx + gw + 16, gy, cb_h, z.ts);
    if (info) {
        info->width = f.w; info->height = f.h;
        info->grid_x = gx; info->grid_y = gy; info->cell_w = cs; info->cell_h = cs;
        info->rows = nr; info->cols = nc; info->block_q = bq; info->block_k = bk;
        info->embedded_image = as_image;
        info->scale = z.out;
        info->label_every = every;
    }
    s = fig_end(&f, out, n);
done:
    free_labels(rl, nr);
    free_labels(cl, nc);
    free(mask);
    free(blocked);
    maps_free(&mp);
    return s;
}

/* ---------------------------------------------------------------------------------------------
 * Model view: layers × heads thumbnails on one colour scale
 * ------------------------------------------------------------------------------------------- */

static enum gaze_status plot_model(const struct plan * p, cairo_t * mcr, unsigned char ** out, size_t * n,
                                   struct gaze_plot_info * info) {
    const int64_t L = p->n_layers;
    const int64_t S = p->mode == GAZE_PLOT_HEADS_EACH ? p->nsel : 1;
    const double gap = 6, lab_w = 40, head_h = 18;
    const double top_guess = MARGIN + 22 + 3 * 15 + 8;
    // thumbnail side: 100 px, up to 160 so inputs of that many tokens get a pixel each; less
    // when the grid would pass the cap
    double th = (double)GAZE_MIN(160, GAZE_MAX(100, p->wd.n_words));
    th = GAZE_MIN(th, (p->cap - top_guess - head_h - MARGIN) / (double)L - gap);
    th = GAZE_MIN(th, (p->cap - 2 * MARGIN - lab_w - 16 - CBAR_W - CBAR_TICK_W) / (double)S - gap);
    th = floor(th);
    if (th < 8) return gaze_error(GAZE_ERR_LIMIT, "plot: %lld layers x %lld heads do not fit in %d px", (long long)L, (long long)S, p->cap);
    float * all = NULL;
    uint8_t * mask = NULL;
    int64_t nq = 0, nk = 0, bq = 1, bk = 1, nr = 0, nc = 0;
    enum gaze_status s = GAZE_OK;
    for (int64_t l = 0; l < L; l++) {
        struct maps mp;
        if ((s = plan_maps(p, l, &mp))) { free(all); return s; }
        if (l == 0) {
            nq = mp.nq; nk = mp.nk;
            // whole pixels a cell when the map is small, else blocks of tokens a pixel
            bq = (nq + (int64_t)th - 1) / (int64_t)th;
            bk = (nk + (int64_t)th - 1) / (int64_t)th;
            bq = bk = GAZE_MAX(bq, bk);
            nr = (nq + bq - 1) / bq; nc = (nk + bk - 1) / bk;
            all = malloc((size_t)(L * S * nr * nc) * sizeof *all);
            bool mask_err;
            mask = causal_mask(p, &mp, bq, bk, &mask_err);
            if (!all || mask_err) { free(all); free(mask); maps_free(&mp); return gaze_error(GAZE_ERR_NOMEM, "plot: out of memory for the model view"); }
        }
        for (int64_t h = 0; h < S && !s; h++) {
            float * dst = all + ((l * S + h) * nr) * nc;
            if (bq == 1) memcpy(dst, mp.m + h * nq * nk, (size_t)(nq * nk) * sizeof *dst);
            else s = gaze_attn_block_mean(mp.m + h * nq * nk, nq, nk, bq, bk, dst);
        }
        maps_free(&mp);
        if (s) { free(all); free(mask); return s; }
    }
    const int64_t cpx = GAZE_MAX(1, (int64_t)th / GAZE_MAX(nr, nc));   // pixels per cell
    const double tw = (double)(nc * cpx), tht = (double)(nr * cpx);
    struct scale sc = make_scale(p, all, L * S * nr * nc);
    char title[256], hd[128], lines[3][200];
    if (p->o.title) label_text(p->o.title, title, sizeof title, 120);
    else snprintf(title, sizeof title, "%s · %lld layer%s × %s", p->model, (long long)L, L > 1 ? "s" : "", heads_desc(p, hd, sizeof hd));
    transforms_desc(p, &sc, lines[0], sizeof lines[0]);
    lines[1][0] = 0;
    if (bq > 1)
        snprintf(lines[1], sizeof lines[1], "each thumbnail: %lld × %lld %s as %lld × %lld blocks (block means)",
                 (long long)nq, (long long)nk, p->o.words ? "words" : "tokens", (long long)nr, (long long)nc);
    snprintf(lines[2], sizeof lines[2], "rows: layers · columns: heads · one colour scale (%s)%s", gaze_palette_name(sc.pal),
             mask ? " · " MASK_LEGEND : "");
    const double gw = S * (tw + gap) - gap, gh = L * (tht + gap) - gap;
    double W = MARGIN + lab_w + gw + 16 + CBAR_W + CBAR_TICK_W + MARGIN;
    struct sizing z = sizing_for(p, W);
    if (p->o.width_pt > 0)   // sized for print: text × z.ts (labels, ticks), titles wrapped
        for (int round_ = 0; round_ < 4; round_++) {
            W = MARGIN + lab_w * z.ts + gw + 16 + CBAR_W + CBAR_TICK_W * z.ts + MARGIN;
            z = sizing_for(p, W);
        }
    else W = GAZE_MIN(GAZE_MAX(W, MARGIN + titles_width(mcr, title, lines, 3) + MARGIN), p->cap);
    const double top = draw_titles_ex(NULL, mcr, title, lines, 3, 0, z.ts, z.maxw);
    const double gx = MARGIN + lab_w * z.ts, gy = round(top + head_h * z.ts);
    const double H = gy + gh + MARGIN;
    struct fig f;
    if ((s = fig_begin_scaled(&f, p->o.format, W, H, p->cap, title, z.out))) { free(all); free(mask); return s; }
    cairo_t * cr = f.cr;
    draw_titles_ex(cr, mcr, title, lines, 3, MARGIN, z.ts, z.maxw);
    const bool as_image = f.vector && L * S * nr * nc > RECT_BUDGET;
    font(cr, 10 * z.ts, false);
    for (int64_t h = 0; h < S; h++) {
        char lab[64];
        if (p->mode == GAZE_PLOT_HEADS_EACH || p->mode == GAZE_PLOT_HEADS_ONE) snprintf(lab, sizeof lab, "H%lld", (long long)p->run->heads[p->hsel[h]]);
        else snprintf(lab, sizeof lab, "%s", p->mode == GAZE_PLOT_HEADS_MAX ? "max" : "mean");
        cairo_set_source_rgb(cr, 0, 0, 0);
        text_at(cr, gx + h * (tw + gap) + tw / 2, gy - 6, lab, GAZE_PLOT_ALIGN_CENTER);
    }
    for (int64_t l = 0; l < L && !s; l++) {
        char lab[32];
        snprintf(lab, sizeof lab, "L%lld", (long long)p->layers[l]->index);
        cairo_set_source_rgb(cr, 0, 0, 0);
        font(cr, 10 * z.ts, false);
        text_mid(cr, gx - 6, gy + l * (tht + gap) + tht / 2, lab, GAZE_PLOT_ALIGN_RIGHT);
        for (int64_t h = 0; h < S && !s; h++)
            s = draw_cells(cr, f.vector, as_image, all + ((l * S + h) * nr) * nc, mask, nr, nc,
                           gx + h * (tw + gap), gy + l * (tht + gap), (double)cpx, (double)cpx, &sc);
    }
    free(all);
    free(mask);
    if (s) { fig_discard(&f); return s; }
    draw_colorbar(cr, &sc, gx + gw + 16, gy, GAZE_MIN(gh, 320), z.ts);
    if (info) {
        info->width = f.w; info->height = f.h;
        info->grid_x = gx; info->grid_y = gy; info->cell_w = (double)cpx; info->cell_h = (double)cpx;
        info->rows = L; info->cols = S; info->block_q = bq; info->block_k = bk;
        info->embedded_image = as_image;
        info->scale = z.out;
        info->label_every = 1;
    }
    return fig_end(&f, out, n);
}

/* ---------------------------------------------------------------------------------------------
 * Head view (bertviz): queries left, keys right, a line per weight, one colour per head
 * ------------------------------------------------------------------------------------------- */

// Row of the maps holding token tok (its word), or -1.
static int64_t row_of_token(const struct plan * p, const struct maps * mp, int64_t tok) {
    const int64_t w = p->wd.token_word[tok];
    for (int64_t r = 0; r < mp->nq; r++) if (mp->rword[r] == w) return r;
    return -1;
}

// Long inputs: groups of b rows/cols by the group rule (to a block: sum, from a block: mean),
// so rows still sum to 1; labels are each block's first.
static enum gaze_status block_maps(struct maps * mp, int64_t b) {
    const int64_t nr = (mp->nq + b - 1) / b, nc = (mp->nk + b - 1) / b;
    int64_t * rg = malloc((size_t)mp->nq * sizeof *rg), * cg = malloc((size_t)mp->nk * sizeof *cg);
    float * m = malloc((size_t)(mp->S * nr * nc) * sizeof *m);
    enum gaze_status s = !rg || !cg || !m ? gaze_error(GAZE_ERR_NOMEM, "plot: out of memory") : GAZE_OK;
    if (!s) {
        for (int64_t i = 0; i < mp->nq; i++) rg[i] = i / b;
        for (int64_t j = 0; j < mp->nk; j++) cg[j] = j / b;
        s = gaze_attn_group(mp->m, mp->S, mp->nq, mp->nk, rg, nr, cg, nc, false, m);
    }
    free(rg);
    free(cg);
    if (s) { free(m); return s; }
    free(mp->m);
    mp->m = m;
    for (int64_t r = 0; r < nr; r++) mp->rword[r] = mp->rword[r * b];
    mp->nq = nr;
    mp->nk = nc;
    return GAZE_OK;
}

static enum gaze_status plot_head(const struct plan * p, cairo_t * mcr, unsigned char ** out, size_t * n,
                                  struct gaze_plot_info * info) {
    struct maps mp;
    enum gaze_status s = plan_maps(p, 0, &mp);
    if (s) return s;
    double row_h = 16, lab_font = 11;
    const double gap = 240;
    const double header_guess = MARGIN + 22 + 3 * 15 + 8 + 24 * 2 + 20;
    const int64_t max_rows = GAZE_MAX(4, (int64_t)((p->cap - header_guess - MARGIN) / row_h));
    const int64_t nq0 = mp.nq, nk0 = mp.nk;
    const int64_t b = (GAZE_MAX(mp.nq, mp.nk) + max_rows - 1) / max_rows;
    const int64_t q_row = p->o.query >= 0 ? row_of_token(p, &mp, p->o.query) : -1;
    const char ** rsrc = malloc((size_t)mp.nq * sizeof *rsrc);
    if (!rsrc) { maps_free(&mp); return gaze_error(GAZE_ERR_NOMEM, "plot: out of memory"); }
    for (int64_t i = 0; i < mp.nq; i++) rsrc[i] = p->wd.text[mp.rword[i]];
    char ** rl = make_labels(rsrc, mp.nq, b), ** cl = make_labels((const char * const *)p->wd.text, mp.nk, b);
    free(rsrc);
    if (!rl || !cl || (b > 1 && (s = block_maps(&mp, b)))) {
        free_labels(rl, (nq0 + b - 1) / b); free_labels(cl, (nk0 + b - 1) / b); maps_free(&mp);
        return s ? s : gaze_error(GAZE_ERR_NOMEM, "plot: out of memory");
    }
    const int64_t nr = mp.nq, nc = mp.nk, S = mp.S, qr = q_row >= 0 ? q_row / b : -1;
    char title[256], hd[128], lines[3][200];
    heads_desc(p, hd, sizeof hd);
    if (p->o.title) label_text(p->o.title, title, sizeof title, 120);
    else snprintf(title, sizeof title, "%s · layer %lld · %s", p->model, (long long)p->layers[0]->index, hd);
    transforms_desc(p, NULL, lines[0], sizeof lines[0]);
    lines[1][0] = 0;
    if (b > 1)
        snprintf(lines[1], sizeof lines[1], "%lld %s shown as %lld blocks of up to %lld (to a block: sum, from a block: mean)",
                 (long long)GAZE_MAX(nq0, nk0), p->o.words ? "words" : "tokens", (long long)GAZE_MAX(nr, nc), (long long)b);
    if (qr >= 0) snprintf(lines[2], sizeof lines[2], "left: query %s · right: keys · opacity = weight%s", rl[qr], S > 1 ? " / heads" : "");
    else snprintf(lines[2], sizeof lines[2], "left: queries · right: keys · opacity = weight%s", S > 1 ? " / heads shown" : "");

    // layout: titles, legend (wrapped), then the two token columns
    // sized for print: token labels at GAZE_PLOT_MIN_FONT_PT or more, rows as tall as they
    // need, the legend × z.ts, titles wrapped (a few rounds: the scale depends on the widths)
    double rlw = 0, clw = 0, xl = 0, xr = 0, W = 0;
    struct sizing z = sizing_for(p, 1);
    for (int round_ = 0; round_ < (p->o.width_pt > 0 ? 6 : 1); round_++) {
        if (p->o.width_pt > 0) {
            lab_font = GAZE_MAX(11.0, GAZE_PLOT_MIN_FONT_PT / z.s_pt);
            row_h = GAZE_MAX(16.0, ceil(lab_font * 1.35));
        }
        font(mcr, lab_font, false);
        rlw = max_text_w(mcr, rl, nr);
        clw = max_text_w(mcr, cl, nc);
        xl = round(MARGIN + rlw + 6);
        xr = xl + gap;
        W = GAZE_MAX(xr + 6 + clw + MARGIN, 420);
        if (p->o.width_pt > 0) z = sizing_for(p, W);   // titles wrap instead of widening
    }
    if (p->o.width_pt <= 0) {
        W = GAZE_MAX(xr + 6 + clw + MARGIN, MARGIN + titles_width(mcr, title, lines, 3) + MARGIN);
        W = GAZE_MIN(GAZE_MAX(W, 420), GAZE_MAX(p->cap, xr + 6 + clw + MARGIN));
    }
    const double top = draw_titles_ex(NULL, mcr, title, lines, 3, 0, z.ts, z.maxw);
    const double lg = z.ts;   // legend scale
    // legend entries: a swatch and "head h", laid in rows of the figure width
    font(mcr, 10 * lg, false);
    double lx = MARGIN, ly = top;
    for (int64_t h = 0; h < S; h++) {
        char lab[160];
        if (p->mode == GAZE_PLOT_HEADS_MEAN || p->mode == GAZE_PLOT_HEADS_MAX) snprintf(lab, sizeof lab, "%s", hd);
        else snprintf(lab, sizeof lab, "head %lld", (long long)p->run->heads[p->hsel[h]]);
        const double ew = 16 * lg + text_w(mcr, lab) + 14 * lg;
        if (lx + ew > W - MARGIN && lx > MARGIN) { lx = MARGIN; ly += 18 * lg; }
        lx += ew;
    }
    const double body = round(ly + 18 * lg + 10);
    const double H = body + GAZE_MAX(nr, nc) * row_h + MARGIN;
    struct fig f;
    if ((s = fig_begin_scaled(&f, p->o.format, W, H, p->cap, title, z.out))) goto done;
    cairo_t * cr = f.cr;
    draw_titles_ex(cr, mcr, title, lines, 3, MARGIN, z.ts, z.maxw);
    font(cr, 10 * lg, false);
    lx = MARGIN; ly = top;
    for (int64_t h = 0; h < S; h++) {
        char lab[160];
        unsigned char rgb[3] = { 0x33, 0x33, 0x33 };
        if (p->mode == GAZE_PLOT_HEADS_MEAN || p->mode == GAZE_PLOT_HEADS_MAX) snprintf(lab, sizeof lab, "%s", hd);
        else { snprintf(lab, sizeof lab, "head %lld", (long long)p->run->heads[p->hsel[h]]); gaze_head_rgb(p->hsel[h], rgb); }
        const double ew = 16 * lg + text_w(cr, lab) + 14 * lg;
        if (lx + ew > W - MARGIN && lx > MARGIN) { lx = MARGIN; ly += 18 * lg; }
        double r, g, bb;
        rgb_of(rgb, &r, &g, &bb);
        cairo_set_source_rgb(cr, r, g, bb);
        cairo_rectangle(cr, lx, ly + 2, 12 * lg, 12 * lg);
        cairo_fill(cr);
        cairo_set_source_rgb(cr, 0, 0, 0);
        text_mid(cr, lx + 16 * lg, ly + 8 * lg, lab, GAZE_PLOT_ALIGN_LEFT);
        lx += ew;
    }
    // lines first, labels over them; alpha = weight / heads (bertviz: overlaps add to the mean)
    cairo_set_line_width(cr, 2);
    cairo_set_line_cap(cr, CAIRO_LINE_CAP_ROUND);
    const double min_alpha = 1.5 / 255;   // fainter lines are invisible: leave them out
    for (int64_t h = 0; h < S; h++) {
        unsigned char rgb[3] = { 0x33, 0x33, 0x33 };
        if (p->mode != GAZE_PLOT_HEADS_MEAN && p->mode != GAZE_PLOT_HEADS_MAX) gaze_head_rgb(p->hsel[h], rgb);
        double r, g, bb;
        rgb_of(rgb, &r, &g, &bb);
        for (int64_t i = 0; i < nr; i++) {
            if (qr >= 0 && i != qr) continue;
            for (int64_t j = 0; j < nc; j++) {
                const double a = GAZE_MIN(1.0, mp.m[(h * nr + i) * nc + j] / (double)S);
                if (!(a >= min_alpha)) continue;
                cairo_set_source_rgba(cr, r, g, bb, a);
                cairo_move_to(cr, xl + 4, body + (i + 0.5) * row_h);
                cairo_line_to(cr, xr - 4, body + (j + 0.5) * row_h);
                cairo_stroke(cr);
            }
        }
    }
    font(cr, lab_font, false);
    for (int64_t i = 0; i < nr; i++) {
        if (i == qr) {
            cairo_set_source_rgb(cr, 1.0, 0.93, 0.6);
            cairo_rectangle(cr, MARGIN, body + i * row_h, xl - MARGIN, row_h);
            cairo_fill(cr);
        }
        cairo_set_source_rgb(cr, qr >= 0 && i != qr ? 0.55 : 0, qr >= 0 && i != qr ? 0.55 : 0, qr >= 0 && i != qr ? 0.55 : 0);
        text_mid(cr, xl, body + (i + 0.5) * row_h, rl[i], GAZE_PLOT_ALIGN_RIGHT);
    }
    cairo_set_source_rgb(cr, 0, 0, 0);
    for (int64_t j = 0; j < nc; j++) text_mid(cr, xr, body + (j + 0.5) * row_h, cl[j], GAZE_PLOT_ALIGN_LEFT);
    for (int m = 0; m < p->n_marks; m++) {   // boundaries: a line under each column of labels
        // rows: mp.rword holds each block's first word now
        const int64_t r = mark_index(p, p->marks[m].tok, mp.rword, nr), c = mark_index(p, p->marks[m].tok, NULL, nk0);
        if (r > 0) draw_mark(cr, MARGIN, body + r * row_h, xl, body + r * row_h, NULL, 0, 0, GAZE_PLOT_ALIGN_LEFT, 1);
        if (c > 0) {
            const double y = body + (double)c / (double)b * row_h;
            draw_mark(cr, xr, y, W - MARGIN, y, p->marks[m].label, W - MARGIN, y - 2, GAZE_PLOT_ALIGN_RIGHT, z.ts);
        }
    }
    if (info) {
        info->width = f.w; info->height = f.h;
        info->grid_x = xl; info->grid_y = body; info->cell_w = gap; info->cell_h = row_h;
        info->rows = nr; info->cols = nc; info->block_q = b; info->block_k = b;
        info->embedded_image = false;
        info->scale = z.out;
        info->label_every = 1;
    }
    s = fig_end(&f, out, n);
done:
    free_labels(rl, nr);
    free_labels(cl, nc);
    maps_free(&mp);
    return s;
}

/* ---------------------------------------------------------------------------------------------
 * Bars: one value per key token (a query's attention, or given values such as rollout)
 * ------------------------------------------------------------------------------------------- */

static enum gaze_status plot_bars(const struct plan * p, cairo_t * mcr, unsigned char ** out, size_t * n,
                                  struct gaze_plot_info * info) {
    enum gaze_status s = GAZE_OK;
    struct maps mp = { 0 };
    const int64_t T = p->run->T, W = p->wd.n_words;
    float * v = malloc((size_t)GAZE_MAX(W, 1) * sizeof *v);
    if (!v) return gaze_error(GAZE_ERR_NOMEM, "plot: out of memory");
    char what[256];
    int64_t q_word = -1;
    if (p->o.values) {
        // values per token -> per word by the group rule as one row: sum over a word's pieces
        bool nonneg = true, hidden = false;
        for (int64_t j = 0; j < T; j++) { nonneg &= p->o.values[j] >= 0; hidden |= p->wd.token_word[j] < 0; }
        const int64_t zero = 0;
        s = gaze_attn_group(p->o.values, 1, 1, T, &zero, 1, p->wd.token_word, W, hidden && nonneg, v);
        char name[64];
        label_text(p->o.values_name ? p->o.values_name : "values", name, sizeof name, 40);
        snprintf(what, sizeof what, "%s · %s", p->model, name);
        if (p->o.query >= 0) q_word = p->wd.token_word[p->o.query];
    } else {
        if ((s = plan_maps(p, 0, &mp))) { free(v); return s; }
        int64_t r = -1;
        if (p->o.query >= 0) r = row_of_token(p, &mp, p->o.query);
        else
            for (int64_t i = mp.nq - 1; i >= 0 && r < 0; i--)
                if (!p->special[p->wd.first[mp.rword[i]]]) r = i;
        if (r < 0) r = mp.nq - 1;
        memcpy(v, mp.m + r * mp.nk, (size_t)mp.nk * sizeof *v);
        q_word = mp.rword[r];
        char hd[128], ql[LABEL_CHARS * 8 + 8];
        label_text(p->wd.text[q_word], ql, sizeof ql, LABEL_CHARS);
        snprintf(what, sizeof what, "%s · layer %lld · %s · from “%s” (token %lld)", p->model,
                 (long long)p->layers[0]->index, heads_desc(p, hd, sizeof hd), ql, (long long)p->wd.first[q_word]);
    }
    maps_free(&mp);
    if (s) { free(v); return s; }
    // long inputs: blocks of b words, summed
    const double row_h = 16, bar_w = 360;
    const double header_guess = MARGIN + 22 + 3 * 15 + 8;
    const int64_t max_rows = GAZE_MAX(4, (int64_t)((p->cap - header_guess - MARGIN) / row_h));
    const int64_t b = (W + max_rows - 1) / max_rows, nr = (W + b - 1) / b;
    if (b > 1) {
        for (int64_t r = 0; r < nr; r++) {
            float acc = 0;
            for (int64_t k = r * b; k < GAZE_MIN(W, (r + 1) * b); k++) acc += v[k];
            v[r] = acc;
        }
    }
    char ** lab = make_labels((const char * const *)p->wd.text, W, b);
    if (!lab) { free(v); return gaze_error(GAZE_ERR_NOMEM, "plot: out of memory"); }
    bool neg = false;
    for (int64_t r = 0; r < nr; r++) neg |= v[r] < 0;
    struct plan pp = *p;
    if (neg) pp.o.palette = GAZE_PALETTE_DIVERGING;
    struct scale sc = make_scale(&pp, v, nr);
    if (neg) sc.diverging = true;
    char title[256], lines[3][200];
    if (p->o.title) label_text(p->o.title, title, sizeof title, 120);
    else snprintf(title, sizeof title, "%s", what);
    transforms_desc(p, &sc, lines[0], sizeof lines[0]);
    lines[1][0] = 0;
    if (b > 1) snprintf(lines[1], sizeof lines[1], "%lld %s shown as %lld blocks of up to %lld (sums)",
                        (long long)W, p->o.words ? "words" : "tokens", (long long)nr, (long long)b);
    snprintf(lines[2], sizeof lines[2], "bar length and colour (%s): value, scale 0 .. %.3g", gaze_palette_name(sc.pal), sc.vmax);
    // sized for print: labels at GAZE_PLOT_MIN_FONT_PT or more, rows as tall as they need
    double lab_font = 11, lw = 0, x0 = 0, Wd = 0, rh = row_h;
    struct sizing z = sizing_for(p, 1);
    for (int round_ = 0; round_ < (p->o.width_pt > 0 ? 6 : 1); round_++) {
        if (p->o.width_pt > 0) {
            lab_font = GAZE_MAX(11.0, GAZE_PLOT_MIN_FONT_PT / z.s_pt);
            rh = GAZE_MAX(row_h, ceil(lab_font * 1.35));
        }
        font(mcr, lab_font, false);
        lw = max_text_w(mcr, lab, nr);
        x0 = round(MARGIN + lw + 8);
        Wd = x0 + bar_w + 60 * z.ts + MARGIN;
        font(mcr, z.ts > 1 ? 9 * z.ts : 8, true);   // boundary labels go right of the values
        for (int m = 0; m < p->n_marks; m++) Wd = GAZE_MAX(Wd, x0 + bar_w + 60 * z.ts + text_w(mcr, p->marks[m].label) + MARGIN);
        if (p->o.width_pt > 0) z = sizing_for(p, Wd);
    }
    if (p->o.width_pt <= 0)
        Wd = GAZE_MIN(GAZE_MAX(Wd, MARGIN + titles_width(mcr, title, lines, 3) + MARGIN), GAZE_MAX(p->cap, x0 + bar_w + 60 + MARGIN));
    const double top = round(draw_titles_ex(NULL, mcr, title, lines, 3, 0, z.ts, z.maxw));
    const double H = top + nr * rh + MARGIN;
    struct fig f;
    if ((s = fig_begin_scaled(&f, p->o.format, Wd, H, p->cap, title, z.out))) { free(v); free_labels(lab, nr); return s; }
    cairo_t * cr = f.cr;
    draw_titles_ex(cr, mcr, title, lines, 3, MARGIN, z.ts, z.maxw);
    const double zero_x = sc.diverging ? x0 + bar_w / 2 : x0;
    const double span = sc.diverging ? bar_w / 2 : bar_w;
    const int64_t q_row = q_word >= 0 ? q_word / b : -1;
    for (int64_t r = 0; r < nr; r++) {
        const double y = top + r * rh;
        if (r == q_row) {
            cairo_set_source_rgb(cr, 1.0, 0.93, 0.6);
            cairo_rectangle(cr, MARGIN, y, x0 - MARGIN - 2, rh);
            cairo_fill(cr);
        }
        unsigned char rgb[3];
        scale_rgb(&sc, v[r], rgb);
        double rr, gg, bb;
        rgb_of(rgb, &rr, &gg, &bb);
        const double len = GAZE_MIN(1.0, fabs(v[r]) / sc.vmax) * span;
        cairo_set_source_rgb(cr, rr, gg, bb);
        cairo_rectangle(cr, v[r] < 0 ? zero_x - len : zero_x, y + 2, len, rh - 4);
        cairo_fill(cr);
        cairo_set_source_rgb(cr, 0, 0, 0);
        font(cr, lab_font, r == q_row);
        text_mid(cr, x0 - 6, y + rh / 2, lab[r], GAZE_PLOT_ALIGN_RIGHT);
        char val[32];
        // small values (a decoder's rollout: 1e-7 ..) in scientific notation, not "0.000"
        if (v[r] != 0 && fabsf(v[r]) < 1e-3f) snprintf(val, sizeof val, "%.2e", v[r]);
        else snprintf(val, sizeof val, "%.3f", v[r]);
        font(cr, 9 * z.ts, false);
        cairo_set_source_rgb(cr, 0.3, 0.3, 0.3);
        text_mid(cr, x0 + bar_w + 6, y + rh / 2, val, GAZE_PLOT_ALIGN_LEFT);
    }
    cairo_set_source_rgb(cr, 0.4, 0.4, 0.4);
    cairo_set_line_width(cr, 1);
    cairo_move_to(cr, round(zero_x) + 0.5, top);
    cairo_line_to(cr, round(zero_x) + 0.5, top + nr * rh);
    cairo_stroke(cr);
    for (int m = 0; m < p->n_marks; m++) {
        const int64_t r = mark_index(p, p->marks[m].tok, NULL, W);
        if (r <= 0) continue;
        const double y = top + (double)r / (double)b * rh;
        draw_mark(cr, MARGIN, y, x0 + bar_w, y, p->marks[m].label, x0 + bar_w + 60 * z.ts, y + 3 * z.ts, GAZE_PLOT_ALIGN_LEFT, z.ts);
    }
    if (info) {
        info->width = f.w; info->height = f.h;
        info->grid_x = zero_x; info->grid_y = top; info->cell_w = span; info->cell_h = rh;
        info->rows = nr; info->cols = 1; info->block_q = 1; info->block_k = b;
        info->embedded_image = false;
        info->scale = z.out;
        info->label_every = 1;
    }
    free(v);
    free_labels(lab, nr);
    return fig_end(&f, out, n);
}

/* ---------------------------------------------------------------------------------------------
 * Entry points
 * ------------------------------------------------------------------------------------------- */

struct gaze_plot_opts gaze_plot_opts_make(void) {
    struct gaze_plot_opts o;
    memset(&o, 0, sizeof o);
    o.layer = -1;
    o.head = -1;
    o.query = -1;
    return o;
}

bool gaze_plot_kind_from_name(const char * name, enum gaze_plot_kind * out) {
    static const char * const names[] = { "heatmap", "model", "head", "bars", "image", "image-patch",
                                          "image-rollout", "distance", "alignment", "clip" };
    for (int k = 0; name && k < (int)(sizeof names / sizeof names[0]); k++)
        if (!strcmp(name, names[k])) { *out = (enum gaze_plot_kind)k; return true; }
    return false;
}

enum gaze_plot_format gaze_plot_format_from_path(const char * path) {
    const char * dot = path ? strrchr(path, '.') : NULL;
    if (!dot || strchr(dot, '/')) return GAZE_PLOT_FORMAT_AUTO;
    if (!strcasecmp(dot, ".png")) return GAZE_PLOT_FORMAT_PNG;
    if (!strcasecmp(dot, ".svg")) return GAZE_PLOT_FORMAT_SVG;
    if (!strcasecmp(dot, ".pdf")) return GAZE_PLOT_FORMAT_PDF;
    return GAZE_PLOT_FORMAT_AUTO;
}

enum gaze_status gaze_plot_run_buffer(const struct gaze_run * run, const struct gaze_plot_opts * opts,
                                      unsigned char ** out, size_t * n, struct gaze_plot_info * info) {
    if (!out || !n || !opts) return gaze_error(GAZE_ERR_INVALID_ARG, "plot: NULL argument");
    *out = NULL;
    *n = 0;
    if (info) memset(info, 0, sizeof *info);
    if (opts->format < GAZE_PLOT_FORMAT_PNG || opts->format > GAZE_PLOT_FORMAT_PDF)
        return gaze_error(GAZE_ERR_INVALID_ARG, "plot: choose an output format (png, svg, pdf)");
    // cross-attention (rows: target tokens, keys: source tokens) has one figure, the alignment
    if (opts->kind == GAZE_PLOT_KIND_ALIGNMENT || (run && run->T_keys && opts->kind == GAZE_PLOT_KIND_HEATMAP))
        return plot_align_buffer(run, opts, out, n, info);
    if (run && run->T_keys)
        return gaze_error(GAZE_ERR_INVALID_ARG, "plot: cross-attention is drawn as the alignment heatmap (target rows "
                          "over source columns): --kind alignment or heatmap, not this figure");
    if (opts->kind >= GAZE_PLOT_KIND_IMAGE) return plot_image_buffer(run, opts, out, n, info);
    struct plan p;
    enum gaze_status s = plan_init(&p, run, opts);
    if (s) { plan_free(&p); return s; }
    cairo_surface_t * ms = cairo_image_surface_create(CAIRO_FORMAT_RGB24, 1, 1);
    cairo_t * mcr = cairo_create(ms);
    if (cairo_status(mcr) || !setup_cr(mcr, NULL)) s = gaze_error(GAZE_ERR_NOMEM, "plot: out of memory for text");
    else switch (p.o.kind) {
    case GAZE_PLOT_KIND_HEATMAP: s = plot_heatmap(&p, mcr, out, n, info); break;
    case GAZE_PLOT_KIND_MODEL:   s = plot_model(&p, mcr, out, n, info); break;
    case GAZE_PLOT_KIND_HEAD:    s = plot_head(&p, mcr, out, n, info); break;
    case GAZE_PLOT_KIND_BARS:    s = plot_bars(&p, mcr, out, n, info); break;
    default: break;   // image kinds: plot_image_buffer above
    }
    if (!s && info) snprintf(info->note, sizeof info->note, "%s", p.note);
    if (!s && cairo_status(mcr)) s = gaze_error(GAZE_ERR_NOMEM, "plot: cairo: %s", cairo_status_to_string(cairo_status(mcr)));
    cairo_destroy(mcr);
    cairo_surface_destroy(ms);
    plan_free(&p);
    if (s) { free(*out); *out = NULL; *n = 0; }
    return s;
}

// Writes buf [n] (freed here) through the shared output helper (core/output.h): atomic for a
// regular file, so a failure never leaves a partial figure; streamed to stdout or a device.
static enum gaze_status write_atomic(const char * path, unsigned char * buf, size_t n) {
    enum gaze_status s = gaze_output_write_file(path, buf, n);
    free(buf);
    return s;
}

enum gaze_status gaze_plot_run(const struct gaze_run * run, const char * path,
                               const struct gaze_plot_opts * opts, struct gaze_plot_info * info) {
    if (!path || !opts) return gaze_error(GAZE_ERR_INVALID_ARG, "plot: NULL argument");
    struct gaze_plot_opts o = *opts;
    if (o.format == GAZE_PLOT_FORMAT_AUTO) o.format = gaze_plot_format_from_path(path);
    if (o.format == GAZE_PLOT_FORMAT_AUTO)
        return gaze_error(GAZE_ERR_INVALID_ARG, "plot: %s: unknown output format (use .png, .svg or .pdf)", path);
    unsigned char * buf;
    size_t n;
    enum gaze_status s = gaze_plot_run_buffer(run, &o, &buf, &n, info);
    if (s) return s;
    return write_atomic(path, buf, n);
}

enum gaze_status gaze_plot_grid(const float * v, int64_t rows, int64_t cols, const char * row_name,
                                const char * col_name, const char * title, enum gaze_palette palette,
                                const char * path) {
    if (!v || rows < 1 || cols < 1 || !path || !title)
        return gaze_error(GAZE_ERR_INVALID_ARG, "plot grid: empty grid or NULL argument");
    enum gaze_plot_format fmt = gaze_plot_format_from_path(path);
    if (fmt == GAZE_PLOT_FORMAT_AUTO)
        return gaze_error(GAZE_ERR_INVALID_ARG, "plot: %s: unknown output format (use .png, .svg or .pdf)", path);
    // colour range: [0, max] for sequential palettes, [-max|v|, max|v|] for the diverging one;
    // NaN cells (undefined metrics) are drawn grey
    struct scale sc = { palette, 0, false, palette == GAZE_PALETTE_DIVERGING };
    for (int64_t i = 0; i < rows * cols; i++)
        if (v[i] == v[i]) sc.vmax = GAZE_MAX(sc.vmax, sc.diverging ? fabsf(v[i]) : v[i]);
    if (!(sc.vmax > 0)) sc.vmax = 1;
    const double cell = GAZE_MAX(8.0, GAZE_MIN(28.0, 560.0 / (double)GAZE_MAX(rows, cols)));
    const double x0 = MARGIN + 56, y0 = MARGIN + 40 + 18;
    const double w = GAZE_MAX(x0 + cols * cell + 24 + CBAR_W + CBAR_TICK_W + MARGIN, 2 * MARGIN + 8.5 * (double)strlen(title));
    const double h = y0 + rows * cell + MARGIN + 24;
    struct fig f;
    enum gaze_status s = fig_begin(&f, fmt, w, h, GAZE_PLOT_MAX_PX, title);
    if (s) return s;
    cairo_t * cr = f.cr;
    cairo_set_source_rgb(cr, 0, 0, 0);
    font(cr, 14, true);
    text_at(cr, MARGIN, MARGIN + 14, title, GAZE_PLOT_ALIGN_LEFT);
    font(cr, 10, false);
    char lab[64];
    for (int64_t c = 0; c < cols; c++) {
        if (cell < 14 && c % 2) continue;
        snprintf(lab, sizeof lab, "%lld", (long long)c);
        cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
        text_at(cr, x0 + (c + 0.5) * cell, y0 - 6, lab, GAZE_PLOT_ALIGN_CENTER);
    }
    text_at(cr, x0 + cols * cell / 2, y0 - 22, col_name ? col_name : "", GAZE_PLOT_ALIGN_CENTER);
    for (int64_t r = 0; r < rows; r++) {
        if (cell < 14 && r % 2) continue;
        snprintf(lab, sizeof lab, "%lld", (long long)r);
        text_mid(cr, x0 - 6, y0 + (r + 0.5) * cell, lab, GAZE_PLOT_ALIGN_RIGHT);
    }
    text_mid(cr, MARGIN, y0 - 6, row_name ? row_name : "", GAZE_PLOT_ALIGN_LEFT);
    for (int64_t r = 0; r < rows; r++)
        for (int64_t c = 0; c < cols; c++) {
            const float x = v[r * cols + c];
            unsigned char rgb[3] = { 200, 200, 200 };
            if (x == x) scale_rgb(&sc, x, rgb);
            double cr_, cg, cb;
            rgb_of(rgb, &cr_, &cg, &cb);
            cairo_set_source_rgb(cr, cr_, cg, cb);
            cairo_rectangle(cr, x0 + c * cell, y0 + r * cell, cell, cell);
            cairo_fill(cr);
        }
    draw_colorbar(cr, &sc, x0 + cols * cell + 24, y0, rows * cell, 1);
    unsigned char * buf;
    size_t n;
    if ((s = fig_end(&f, &buf, &n))) return s;
    return write_atomic(path, buf, n);
}
