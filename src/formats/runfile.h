// Internal entry points of the run format for the model layer (the public API is gaze.h).
#ifndef GAZE_FORMATS_RUNFILE_H
#define GAZE_FORMATS_RUNFILE_H
#include "core/core.h"

// gaze_run_add_layer without zeroing the arrays: the caller writes every element of every
// part it asked for before the run is used (or frees the run on failure).
enum gaze_status run_add_layer_unzeroed(struct gaze_run * run, int64_t index, unsigned parts,
                                        struct gaze_run_layer ** out);
#endif
