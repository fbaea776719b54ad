// Text of figures through pango (see plot_text.h). The state lives on the cairo_t as user data,
// so plot.c keeps passing one cairo_t around; a figure's text is measured on the same font
// options whatever the surface, and an SVG's text is written as <text> elements that reuse the
// pango layout's anchor rules (start / middle / end) so a reader's font placing differs little.
#include "render/plot_text.h"
#include <math.h>
#include <pango/pangocairo.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// DejaVu Sans first (the figures' look, and its metrics set the layout); WenQuanYi Micro Hei
// for CJK (Han, kana, hangul); then whatever fontconfig finds for other scripts.
#define FONT_FAMILIES "DejaVu Sans,WenQuanYi Micro Hei"
#define SVG_FONT_FAMILY "'DejaVu Sans', 'WenQuanYi Micro Hei', 'Noto Sans CJK SC', sans-serif"

struct text_state {
    PangoLayout * layout;
    PangoFontDescription * desc;
    double size;
    bool bold;
    double ascent, descent;   // of the primary font at size; < 0: not yet known
    struct gaze_plot_svg_text * rec;
};

static const cairo_user_data_key_t state_key;

static void state_free(void * p) {
    struct text_state * t = p;
    if (!t) return;
    if (t->layout) g_object_unref(t->layout);
    if (t->desc) pango_font_description_free(t->desc);
    free(t);
}

static struct text_state * state(cairo_t * cr) { return cairo_get_user_data(cr, &state_key); }

bool gaze_plot_text_attach(cairo_t * cr, struct gaze_plot_svg_text * rec) {
    struct text_state * t = calloc(1, sizeof *t);
    if (!t) return false;
    t->rec = rec;
    t->ascent = t->descent = -1;
    t->layout = pango_cairo_create_layout(cr);
    t->desc = pango_font_description_from_string(FONT_FAMILIES " 10px");
    if (!t->layout || !t->desc) { state_free(t); return false; }
    PangoContext * ctx = pango_layout_get_context(t->layout);
    // unhinted, unrounded metrics: the 1×1 measuring surface, PNG, PDF and SVG agree
    cairo_font_options_t * fo = cairo_font_options_create();
    cairo_font_options_set_antialias(fo, CAIRO_ANTIALIAS_GRAY);
    cairo_font_options_set_hint_style(fo, CAIRO_HINT_STYLE_NONE);
    cairo_font_options_set_hint_metrics(fo, CAIRO_HINT_METRICS_OFF);
    pango_cairo_context_set_font_options(ctx, fo);
    cairo_font_options_destroy(fo);
    pango_context_set_round_glyph_positions(ctx, FALSE);
    pango_layout_context_changed(t->layout);
    pango_layout_set_single_paragraph_mode(t->layout, TRUE);
    if (cairo_set_user_data(cr, &state_key, t, state_free) != CAIRO_STATUS_SUCCESS) { state_free(t); return false; }
    gaze_plot_text_font(cr, 10, false);
    return true;
}

void gaze_plot_text_font(cairo_t * cr, double size, bool bold) {
    struct text_state * t = state(cr);
    if (!t || (t->size == size && t->bold == bold)) return;
    t->size = size;
    t->bold = bold;
    t->ascent = t->descent = -1;
    pango_font_description_set_absolute_size(t->desc, size * PANGO_SCALE);
    pango_font_description_set_weight(t->desc, bold ? PANGO_WEIGHT_BOLD : PANGO_WEIGHT_NORMAL);
    pango_layout_set_font_description(t->layout, t->desc);
}

// s as valid UTF-8 on one line: invalid bytes, C0/C1 controls, DEL, U+FFFE/U+FFFF (which
// XML forbids) and the line/paragraph separators U+2028/U+2029 (pango would break the line)
// become U+FFFD. Returns buf when it fits (cap), else a malloc'd copy
// (NULL when out of memory).
static char * clean(const char * s, char * buf, size_t cap) {
    const size_t n = strlen(s);
    char * out = n * 3 + 1 <= cap ? buf : malloc(n * 3 + 1);
    if (!out) return NULL;
    const unsigned char * u = (const unsigned char *)s;
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        const unsigned char c = u[i];
        uint32_t cp = 0xFFFD;
        size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        bool ok = len > 0 && i + len <= n;
        for (size_t k = 1; ok && k < len; k++) ok = (u[i + k] >> 6) == 2;
        if (ok) {
            cp = len == 1 ? c : len == 2 ? c & 0x1F : len == 3 ? c & 0x0F : c & 0x07;
            for (size_t k = 1; k < len; k++) cp = cp << 6 | (u[i + k] & 0x3F);
            if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
                (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
                ok = false;
        }
        if (!ok) len = 1;
        if (!ok || cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp < 0xA0) || cp == 0xFFFE || cp == 0xFFFF ||
            cp == 0x2028 || cp == 0x2029) {
            memcpy(out + o, "\xEF\xBF\xBD", 3);
            o += 3;
        } else {
            memcpy(out + o, s + i, len);
            o += len;
        }
        i += len;
    }
    out[o] = 0;
    return out;
}

static void set_text(struct text_state * t, cairo_t * cr, const char * s) {
    pango_cairo_update_layout(cr, t->layout);
    pango_layout_set_text(t->layout, s, -1);
}

double gaze_plot_text_width(cairo_t * cr, const char * s) {
    struct text_state * t = state(cr);
    if (!t || !s || !*s) return 0;
    char buf[512];
    char * c = clean(s, buf, sizeof buf);
    if (!c) return 0;
    set_text(t, cr, c);
    PangoRectangle logical;
    pango_layout_get_extents(t->layout, NULL, &logical);
    if (c != buf) free(c);
    return (double)logical.width / PANGO_SCALE;
}

void gaze_plot_text_extents(cairo_t * cr, double * ascent, double * descent) {
    struct text_state * t = state(cr);
    *ascent = *descent = 0;
    if (!t) return;
    if (t->ascent < 0) {
        // the first family alone: a fallback font's taller lines must not move the labels
        PangoFontDescription * d = pango_font_description_copy(t->desc);
        PangoContext * ctx = pango_layout_get_context(t->layout);
        PangoFont * f = NULL;
        if (d) {
            pango_font_description_set_family(d, "DejaVu Sans");
            f = pango_context_load_font(ctx, d);
        }
        PangoFontMetrics * m = f ? pango_font_get_metrics(f, NULL) : NULL;
        t->ascent = m ? (double)pango_font_metrics_get_ascent(m) / PANGO_SCALE : 0.8 * t->size;
        t->descent = m ? (double)pango_font_metrics_get_descent(m) / PANGO_SCALE : 0.2 * t->size;
        if (m) pango_font_metrics_unref(m);
        if (f) g_object_unref(f);
        if (d) pango_font_description_free(d);
    }
    *ascent = t->ascent;
    *descent = t->descent;
}

/* ---------------------------------------------------------------------------------------------
 * SVG record
 * ------------------------------------------------------------------------------------------- */

static void rec_put(struct gaze_plot_svg_text * r, const char * s, size_t n) {
    if (r->oom) return;
    if (r->n + n > r->cap) {
        size_t cap = r->cap ? r->cap : 4096;
        while (cap < r->n + n) cap *= 2;
        char * p = realloc(r->p, cap);
        if (!p) { r->oom = true; return; }
        r->p = p;
        r->cap = cap;
    }
    memcpy(r->p + r->n, s, n);
    r->n += n;
}

static void rec_str(struct gaze_plot_svg_text * r, const char * s) { rec_put(r, s, strlen(s)); }

// A coordinate with at most `digits` decimals, trailing zeros dropped, never "-0": the same
// number always prints the same way.
static void rec_num(struct gaze_plot_svg_text * r, double v, int digits) {
    char tmp[48];
    if (!isfinite(v)) v = 0;
    snprintf(tmp, sizeof tmp, "%.*f", digits, v);
    char * dot = strchr(tmp, '.');
    if (dot) {
        char * e = tmp + strlen(tmp);
        while (e > dot + 1 && e[-1] == '0') *--e = 0;
        if (e == dot + 1) *dot = 0;
    }
    rec_str(r, strcmp(tmp, "-0") ? tmp : "0");
}

// Clean UTF-8 -> XML character data: & < > " ' escaped (">" too, so "]]>" cannot appear).
static void rec_escaped(struct gaze_plot_svg_text * r, const char * s) {
    for (const char * p = s; *p;) {
        const size_t run = strcspn(p, "&<>\"'");
        rec_put(r, p, run);
        p += run;
        if (!*p) break;
        rec_str(r, *p == '&' ? "&amp;" : *p == '<' ? "&lt;" : *p == '>' ? "&gt;" : *p == '"' ? "&quot;" : "&apos;");
        p++;
    }
}

static void record(struct text_state * t, cairo_t * cr, double x, double y, const char * s, enum gaze_plot_align a) {
    struct gaze_plot_svg_text * r = t->rec;
    cairo_matrix_t m;
    cairo_get_matrix(cr, &m);
    const bool plain = m.xx == 1 && m.yx == 0 && m.xy == 0 && m.yy == 1;
    if (plain) { x += m.x0; y += m.y0; }
    double cr_ = 0, cg = 0, cb = 0, ca = 1;
    cairo_pattern_get_rgba(cairo_get_source(cr), &cr_, &cg, &cb, &ca);   // non-solid: stays black
    char col[16];
    snprintf(col, sizeof col, "#%02x%02x%02x", (int)lround(cr_ * 255), (int)lround(cg * 255), (int)lround(cb * 255));
    rec_str(r, "<text x=\"");
    rec_num(r, x, 2);
    rec_str(r, "\" y=\"");
    rec_num(r, y, 2);
    rec_str(r, "\" font-size=\"");
    rec_num(r, t->size, 2);
    rec_str(r, "\"");
    if (t->bold) rec_str(r, " font-weight=\"bold\"");
    if (a != GAZE_PLOT_ALIGN_LEFT) rec_str(r, a == GAZE_PLOT_ALIGN_RIGHT ? " text-anchor=\"end\"" : " text-anchor=\"middle\"");
    if (strcmp(col, "#000000")) { rec_str(r, " fill=\""); rec_str(r, col); rec_str(r, "\""); }
    if (ca < 1) { rec_str(r, " fill-opacity=\""); rec_num(r, ca, 3); rec_str(r, "\""); }
    if (!plain) {
        const double v[6] = { m.xx, m.yx, m.xy, m.yy, m.x0, m.y0 };
        rec_str(r, " transform=\"matrix(");
        for (int k = 0; k < 6; k++) { if (k) rec_str(r, " "); rec_num(r, v[k], k < 4 ? 6 : 2); }
        rec_str(r, ")\"");
    }
    rec_str(r, ">");
    rec_escaped(r, s);
    rec_str(r, "</text>\n");
}

void gaze_plot_text_draw(cairo_t * cr, double x, double y, const char * s, enum gaze_plot_align a) {
    struct text_state * t = state(cr);
    if (!t || !s || !*s) return;
    char buf[512];
    char * c = clean(s, buf, sizeof buf);
    if (!c) return;
    if (t->rec) record(t, cr, x, y, c, a);
    else {
        set_text(t, cr, c);
        PangoRectangle logical;
        pango_layout_get_extents(t->layout, NULL, &logical);
        const double w = (double)logical.width / PANGO_SCALE;
        const double base = (double)pango_layout_get_baseline(t->layout) / PANGO_SCALE;
        cairo_move_to(cr, a == GAZE_PLOT_ALIGN_RIGHT ? x - w : a == GAZE_PLOT_ALIGN_CENTER ? x - w / 2 : x, y - base);
        pango_cairo_show_layout(cr, t->layout);
        cairo_new_path(cr);
    }
    if (c != buf) free(c);
}

bool gaze_plot_svg_text_splice(const struct gaze_plot_svg_text * rec, unsigned char ** doc, size_t * n) {
    if (rec->oom) return false;
    if (!rec->n) return true;
    static const char close[] = "</svg>";
    const size_t cl = sizeof close - 1;
    size_t at = *n + 1;
    for (size_t i = *n >= cl ? *n - cl + 1 : 0; i-- > 0;)
        if (!memcmp(*doc + i, close, cl)) { at = i; break; }
    if (at > *n) return false;
    static const char open[] = "<g font-family=\"" SVG_FONT_FAMILY "\" xml:space=\"preserve\" style=\"white-space:pre\">\n";
    static const char end[] = "</g>\n";
    const size_t extra = sizeof open - 1 + rec->n + sizeof end - 1;
    unsigned char * p = malloc(*n + extra);
    if (!p) return false;
    size_t o = 0;
    memcpy(p, *doc, at); o += at;
    memcpy(p + o, open, sizeof open - 1); o += sizeof open - 1;
    memcpy(p + o, rec->p, rec->n); o += rec->n;
    memcpy(p + o, end, sizeof end - 1); o += sizeof end - 1;
    memcpy(p + o, *doc + at, *n - at); o += *n - at;
    free(*doc);
    *doc = p;
    *n = o;
    return true;
}

void gaze_plot_svg_text_free(struct gaze_plot_svg_text * rec) {
    free(rec->p);
    memset(rec, 0, sizeof *rec);
}
