// Internal: the model object every architecture fills in (models/bert.c, models/llama.c).
#ifndef GAZE_MODELS_MODEL_H
#define GAZE_MODELS_MODEL_H
#include "core/core.h"
#include <pthread.h>

struct gaze_model {
    struct gaze_model_info info;
    char * path;
    void * impl;                        // architecture state
    void (*free_impl)(void * impl);
    enum gaze_status (*run)(struct gaze_model * model, const char * text, const char * pair,
                            const struct gaze_run_opts * opts, struct gaze_run * run);
    enum gaze_status (*run_image)(struct gaze_model * model, const struct gaze_image * img, const char * name,
                                  const struct gaze_run_opts * opts, struct gaze_run * run);   // NULL: text only
    enum gaze_status (*set_exact)(struct gaze_model * model, bool exact);   // NULL: f32 already
    // Runs (any number at once) hold it for reading; gaze_model_set_exact, which swaps the
    // weights under them, for writing: it waits for the runs in flight.
    pthread_rwlock_t lock;
    const struct gaze_progress * load_progress;   // while the loader runs; NULL: none
};

// Architecture loaders: fill model->info, impl, free_impl and run.
enum gaze_status bert_load(struct gaze_model * model, const char * folder);
enum gaze_status llama_load(struct gaze_model * model, const char * gguf_path);
enum gaze_status vit_load(struct gaze_model * model, const char * folder);   // vit, deit, dinov2
bool vit_model_type(const char * model_type);
const char * vit_label(const struct gaze_model * model, int64_t i);

// Layer / head selection helpers shared by the architectures.
bool model_layer_wanted(const struct gaze_run_opts * opts, int64_t layer);
enum gaze_status model_check_selection(const struct gaze_run_opts * opts, int64_t n_layers, int64_t n_heads);

// Memory budget of a run: opts->max_memory, or (0) half of the machine's memory, the smaller
// of physical RAM and the cgroup limit (a container's 3 GiB, not the host's 64); < 0: none.
int64_t model_memory_budget(const struct gaze_run_opts * opts, int64_t * machine);
// GAZE_ERR_LIMIT naming the estimate (need bytes, what: its breakdown) and the ways out when
// need exceeds the budget; checked before anything big is allocated.
enum gaze_status model_check_memory(const char * arch, const struct gaze_run_opts * opts, double need,
                                    const char * what);
// Bytes of the arrays a run of T tokens captures (layers and parts of opts, Hc heads each).
double model_capture_bytes(const struct gaze_run_opts * opts, int64_t L, int64_t Hc, int64_t T, int64_t d,
                           int64_t C);
// "1.5 GiB", "640 MiB"
const char * model_format_bytes(double bytes, char * buf, size_t n);
#endif
