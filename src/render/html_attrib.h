// The attributions part of a `gaze view` page (gaze view --attrib; render/html_attrib.c): the
// per-layer token-to-token matrices of gaze_html_opts.attrib (value-norm, residual-norm, ALTI,
// value zeroing) and the rollouts of ALTI and value zeroing as f32, and the decoders' logit lens
// (gaze_html_opts.lens) as metadata; read by the viewer's attribution tab (viewer/attrib.js).
#ifndef GAZE_RENDER_HTML_ATTRIB_H
#define GAZE_RENDER_HTML_ATTRIB_H
#include "gaze.h"
#include <stddef.h>
#include <stdint.h>

struct html_attrib {
    char     why[200];    // why the matrices are left out ("" when they are in or none were given)
    int      n;           // matrices kept: names[k], layers[k] (L, or 1 for a rollout)
    const char * names[6];
    int64_t  layers[6];
    size_t   cells;       // stored values per [T, T] matrix (causal runs: the lower triangle)
    size_t   bytes;       // payload bytes (a multiple of 4)
    uint8_t * data;       // [bytes]: the matrices in order, f32 little-endian
    size_t   meta_max;    // upper bound of the metadata's length
};

// Builds the part for run (o->attrib and o->lens; either may be NULL). share: the most page
// bytes (base64) the matrices may take; beyond it methods are dropped from the end, and the
// page says which. Errors: a matrix of another shape than the run's tokens, out of memory.
enum gaze_status gaze_html_attrib_make(const struct gaze_run * run, const struct gaze_html_opts * o, size_t share,
                                       struct html_attrib * a);
// ,"attrib":{...} naming payload offset off (malloc'd, NUL-terminated; "" without attributions
// or lens); NULL when out of memory.
char * gaze_html_attrib_meta(const struct gaze_run * run, const struct gaze_html_opts * o, const struct html_attrib * a,
                             size_t off);
void gaze_html_attrib_free(struct html_attrib * a);

#endif
