// Internal: plot.c's figure surface (PNG, SVG with real <text>, PDF with fixed metadata), for
// the other figure files of this layer (plot_image.c).
#ifndef GAZE_RENDER_PLOT_FIG_H
#define GAZE_RENDER_PLOT_FIG_H
#include "core/core.h"
#include <cairo.h>

struct plot_fig;
// A w x h figure (pixels or points), white, with the shared text state on *cr.
enum gaze_status plot_fig_open(struct plot_fig ** f, enum gaze_plot_format fmt, double w, double h, const char * title,
                               cairo_t ** cr);
// Finishes and frees f; *out [*n] is the file's bytes (malloc'd).
enum gaze_status plot_fig_close(struct plot_fig * f, unsigned char ** out, size_t * n);
void plot_fig_abort(struct plot_fig * f);

// Image runs (plot_image.c): the kinds GAZE_PLOT_KIND_IMAGE_*.
enum gaze_status plot_image_buffer(const struct gaze_run * run, const struct gaze_plot_opts * opts,
                                   unsigned char ** out, size_t * n, struct gaze_plot_info * info);
// Encoder-decoder runs (plot_align.c): GAZE_PLOT_KIND_ALIGNMENT, the cross-attention heatmap.
enum gaze_status plot_align_buffer(const struct gaze_run * run, const struct gaze_plot_opts * opts,
                                   unsigned char ** out, size_t * n, struct gaze_plot_info * info);
#endif
