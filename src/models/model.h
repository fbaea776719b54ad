// Internal: the model object every architecture fills in (models/bert.c, models/decoder*.c).
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
    // logits [T, V] of hidden [T, C] through the final norm and output (logit lens); NULL: none
    enum gaze_status (*unembed)(struct gaze_model * model, const float * hidden, int64_t T, float * logits);
    // Runs (any number at once) hold it for reading; gaze_model_set_exact, which swaps the
    // weights under them, for writing: it waits for the runs in flight.
    pthread_rwlock_t lock;
    const struct gaze_progress * load_progress;   // while the loader runs; NULL: none
};

// Architecture loaders: fill model->info, impl, free_impl and run.
enum gaze_status bert_load(struct gaze_model * model, const char * folder);   // bert, roberta, distilbert, electra
bool bert_model_type(const char * model_type);
const char * bert_model_types(void);   // "\"bert\", \"roberta\", ..." for messages
// Decoders (models/decoder.h): decoder_gguf_load, decoder_hf_load.
enum gaze_status vit_load(struct gaze_model * model, const char * folder);   // vit, deit, dinov2
bool vit_model_type(const char * model_type);
enum gaze_status modernbert_load(struct gaze_model * model, const char * folder);   // model_type "modernbert"
const char * vit_label(const struct gaze_model * model, int64_t i);

// Layer / head selection helpers shared by the architectures.
bool model_layer_wanted(const struct gaze_run_opts * opts, int64_t layer);
// The run's tokens from a tokenizer: each id's text piece (an id without one gives ""), with
// ids [n] and byte offsets [n, 2] (may be NULL), through gaze_run_set_tokens.
struct gaze_tokenizer;
enum gaze_status model_run_set_tokens(const char * arch, const struct gaze_tokenizer * tok, struct gaze_run * run,
                                      int64_t n, const int32_t * ids, const int64_t * offsets);
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
// Summaries with the run options' top-k, block and window (0: defaults), n rows and keys;
// model_summary_layer redoes a layer's (added with GAZE_RUN_PART_SUMMARY) with them.
enum gaze_status model_summary_alloc(const struct gaze_run_opts * opts, struct gaze_attn_summary * s, int64_t Hc, int64_t n);
enum gaze_status model_summary_layer(const struct gaze_run_opts * opts, struct gaze_run * run, struct gaze_run_layer * l);
// opts, or copy made to capture summaries instead of weights and scores when those of T
// tokens would exceed opts->summary_above bytes.
const struct gaze_run_opts * model_auto_summary(const struct gaze_run_opts * opts, int64_t L, int64_t Hc, int64_t T,
                                                int64_t d, int64_t C, struct gaze_run_opts * copy);
// Bytes of the [L, T, T] attribution matrices asked by want (GAZE_ATTRIB_* bits).
double model_attrib_bytes(unsigned want, int64_t L, int64_t H, int64_t T);
// Decoders: the attributions of gaze_run_opts.attrib (value-norm, residual norm, ALTI) from the
// forward pass's own attention. model_attrib_decoder_begin, before the layers: on the prompt
// pass (n_past 0; otherwise w stays empty and nothing is computed) allocates attrib's arrays
// (value zeroing's too; the decoder fills it) and w, one layer's inputs: the layer's forward
// fills alpha [H, T, T] (every head's weights), vo [H, T, C] (gaze_mha_extra.vo) and out [T, C]
// (the attention output before any post-norm), and x_in [T, C] holds the residual stream
// entering the block. model_attrib_decoder_layer then decomposes layer l (alpha: w->alpha or
// the run's own capture of every head; bias: W_O's; post_w: Gemma 2/3's post-attention
// RMSNorm weight, or NULL).
struct model_attrib_bufs { float * alpha, * vo, * out, * x_in; };
enum gaze_status model_attrib_decoder_begin(const struct gaze_run_opts * opts, int64_t L, int64_t H, int64_t T,
                                            int64_t C, int64_t n_past, struct model_attrib_bufs * w);
enum gaze_status model_attrib_decoder_layer(const struct gaze_run_opts * opts, const struct model_attrib_bufs * w,
                                            const float * alpha, const float * bias, const float * post_w,
                                            float post_eps, int64_t l, int64_t C);
void model_attrib_bufs_free(struct model_attrib_bufs * w);
// "1.5 GiB", "640 MiB"
const char * model_format_bytes(double bytes, char * buf, size_t n);
#endif
