// Internal helpers shared by the analysis files (metrics, induction, rollout, flow).
#ifndef GAZE_ANALYSIS_H
#define GAZE_ANALYSIS_H
#include "core/core.h"

// Classes of a run's tokens, as the metrics see them.
enum analysis_token_class {
    ANALYSIS_TOK_SPECIAL = 1u << 0,   // as gaze_run_special_tokens: sequence_ids -1, or the spelling
    ANALYSIS_TOK_CLS     = 1u << 1,   // "[CLS]"
    ANALYSIS_TOK_SEP     = 1u << 2,   // "[SEP]"
    ANALYSIS_TOK_PUNCT   = 1u << 3,   // only Unicode P* code points after leading spaces / "##"
};

// cls [T]: enum analysis_token_class bits of every token of run.
void analysis_token_classes(const struct gaze_run * run, uint8_t * cls);
// The same over the keys when keys is set (cls [T_keys] of a cross run's key tokens).
void analysis_token_classes_of(const struct gaze_run * run, bool keys, uint8_t * cls);

// Checks that run has attention in every captured layer and all rows (Tq = T), as rollout,
// flow and the detectors need. what names the caller in messages.
enum gaze_status analysis_check_square(const struct gaze_run * run, const char * what);

// Max flow in a layered graph of L layers of n nodes below a top layer: cap [L, n, n] where
// cap[(l·n + i)·n + j] is the capacity of the edge from node (l+1, i) down to (l, j). From
// (L, src) to (0, dst). work: analysis_flow_work_bytes(L, n) bytes, 64-byte aligned.
size_t analysis_flow_work_bytes(int64_t L, int64_t n);
double analysis_layered_max_flow(const double * cap, int64_t L, int64_t n, int64_t src, int64_t dst,
                                 void * work);

// The model's tokenizer, reopened from its file (tokens.c) through gaze_tokenizer_open.
struct analysis_tok {
    struct gaze_tokenizer * tok;
};
enum gaze_status analysis_tok_open(struct analysis_tok * t, const struct gaze_model_info * info);
void analysis_tok_close(struct analysis_tok * t);
// *cut = bytes of text[0..n) that hold its first max_tokens tokens as the model tokenizes it
// (specials included); n when it has no more (or max_tokens <= 0). enc is scratch.
enum gaze_status analysis_tok_cut(const struct analysis_tok * t, const char * text, size_t n, int64_t max_tokens,
                                  struct gaze_encoding * enc, size_t * cut);
#endif
