// Internal: the model object every architecture fills in (models/bert.c, models/llama.c).
#ifndef GAZE_MODELS_MODEL_H
#define GAZE_MODELS_MODEL_H
#include "core/core.h"

struct gaze_model {
    struct gaze_model_info info;
    char * path;
    void * impl;                        // architecture state
    void (*free_impl)(void * impl);
    enum gaze_status (*run)(struct gaze_model * model, const char * text, const char * pair,
                            const struct gaze_run_opts * opts, struct gaze_run * run);
    enum gaze_status (*set_exact)(struct gaze_model * model, bool exact);   // NULL: f32 already
    const struct gaze_progress * load_progress;   // while the loader runs; NULL: none
};

// Architecture loaders: fill model->info, impl, free_impl and run.
enum gaze_status bert_load(struct gaze_model * model, const char * folder);
enum gaze_status llama_load(struct gaze_model * model, const char * gguf_path);

// Layer / head selection helpers shared by the architectures.
bool model_layer_wanted(const struct gaze_run_opts * opts, int64_t layer);
enum gaze_status model_check_selection(const struct gaze_run_opts * opts, int64_t n_layers, int64_t n_heads);
#endif
