// Internal entry points of the run format for the model layer (the public API is gaze.h).
#ifndef GAZE_FORMATS_RUNFILE_H
#define GAZE_FORMATS_RUNFILE_H
#include "core/core.h"

// gaze_run_add_layer without zeroing the arrays: the caller writes every element of every
// part it asked for before the run is used (or frees the run on failure).
enum gaze_status run_add_layer_unzeroed(struct gaze_run * run, int64_t index, unsigned parts,
                                        struct gaze_run_layer ** out);

// gaze_run_add_layer over arrays the caller already filled: given[p] (attention, scores, q, k,
// hidden; NULL: allocated and zeroed here) was allocated with gaze_alloc_recycled in the part's
// shape and belongs to the run on success (the caller's on failure). Saves a model the copy of
// its capture buffers, which doubled the peak memory of a long run.
enum gaze_status run_add_layer_given(struct gaze_run * run, int64_t index, unsigned parts,
                                     float * const given[5], struct gaze_run_layer ** out);
#endif
