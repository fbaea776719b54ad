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

// Attention summaries of a layer (runfile_summary.c): one gaze_alloc_aligned block (zeroed)
// for n rows and keys, owned through s->entropy; shrink closes it up in place to n' < n.
bool run_summary_params_ok(int64_t k, int64_t block, int64_t window);
enum gaze_status run_summary_alloc(struct gaze_attn_summary * s, int32_t k, int32_t block, int32_t window,
                                   int64_t n_heads, int64_t n);
void run_summary_free(struct gaze_attn_summary * s);
void run_summary_shrink(struct gaze_attn_summary * s, int64_t n);
size_t run_summary_bytes(int64_t k, int64_t block, int64_t n_heads, int64_t n);
// The run-file side: checks, the gaze.summary metadata and tensors, names, loading.
enum gaze_status run_summary_check(const struct gaze_run * run, const struct gaze_run_layer * l, const char * label);
enum gaze_status run_summary_save_meta(const struct gaze_run * run, struct gaze_st_writer * w);
enum gaze_status run_summary_save(const struct gaze_run * run, struct gaze_st_writer * w, bool floats);
bool run_summary_tensor(const char * name, int64_t * layer);
enum gaze_status run_summary_load(struct gaze_run * run, const struct gaze_safetensors * st, const char * path);
// CLIP's text runs beside an image run (runfile_clip.c): checks, gaze.clip.texts, text.J.*
// tensors and clip.logits_per_image; loading them back.
void run_clip_free(struct gaze_run * run);
enum gaze_status run_clip_check(const struct gaze_run * run, const char * label);
enum gaze_status run_clip_save(const struct gaze_run * run, struct gaze_st_writer * w, bool floats);
enum gaze_status run_clip_load(struct gaze_run * run, const struct gaze_safetensors * st, const char * path);
#endif
