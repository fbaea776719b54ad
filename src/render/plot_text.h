// Text of figures (plot.c), the one path every label, title and tick takes. Measured and drawn
// with pango: per-glyph font fallback through fontconfig (CJK and other scripts get real
// glyphs, not boxes) and, in PDF, real text a reader can select and search. SVG figures record
// their text instead of drawing it (cairo's SVG surface would write glyph outlines) and the
// record is spliced into the document as <text> elements, escaped.
#ifndef GAZE_RENDER_PLOT_TEXT_H
#define GAZE_RENDER_PLOT_TEXT_H

#include <cairo.h>
#include <stdbool.h>
#include <stddef.h>

enum gaze_plot_align { GAZE_PLOT_ALIGN_LEFT, GAZE_PLOT_ALIGN_CENTER, GAZE_PLOT_ALIGN_RIGHT };

// <text> elements of one SVG figure, in drawing order (XML, already escaped).
struct gaze_plot_svg_text {
    char * p;                 // [n] bytes, not NUL-terminated
    size_t n, cap;
    bool oom;
};

// Gives cr a text state (fixed font options, unhinted metrics, so every surface measures text
// alike). rec: text drawn on cr is recorded there instead of drawn (SVG). false: out of memory.
bool gaze_plot_text_attach(cairo_t * cr, struct gaze_plot_svg_text * rec);
void gaze_plot_text_font(cairo_t * cr, double size, bool bold);
// Advance width of s in the current font, user units.
double gaze_plot_text_width(cairo_t * cr, const char * s);
// The primary font's ascent and descent (a line's extent regardless of fallback glyphs).
void gaze_plot_text_extents(cairo_t * cr, double * ascent, double * descent);
// s with its baseline at y and x at its left end, centre or right end; in the source colour.
void gaze_plot_text_draw(cairo_t * cr, double x, double y, const char * s, enum gaze_plot_align a);

// Inserts the recorded text before the document's last "</svg>"; *doc [*n] is reallocated.
// false: out of memory or no "</svg>" (the document is then unchanged).
bool gaze_plot_svg_text_splice(const struct gaze_plot_svg_text * rec, unsigned char ** doc, size_t * n);
void gaze_plot_svg_text_free(struct gaze_plot_svg_text * rec);

#endif
