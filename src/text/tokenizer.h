// Internal interface between the tokenizer object (text/tokenizer.c) and the tokenizer.json
// BPE loader (text/tokenizer_json.c).
#ifndef GAZE_TEXT_TOKENIZER_H
#define GAZE_TEXT_TOKENIZER_H

#include "gaze.h"
#include <jansson.h>

struct tok_config {          // from tokenizer_config.json; -1 / "": not said
    int32_t add_bos, add_eos;
    char    bos[128], eos[128];  // bos_token / eos_token texts
};

struct tok_json_info {       // what the loader found beyond the engine
    bool    spm;             // SentencePiece-style (U+2581 text, byte fallback), not byte-level
    int32_t unk, pad;        // -1 when absent
};

// A tokenizer.json whose model.type is "BPE" (root: the parsed document; label: its path).
enum gaze_status tok_json_bpe(const json_t * root, const char * label, const struct tok_config * cfg,
                              struct gaze_bpe ** out, struct tok_json_info * info);

// A tokenizer.json whose model.type is "Unigram", on the same engine (text/unigram.c segments).
enum gaze_status tok_json_unigram(const json_t * root, const char * label, const struct tok_config * cfg,
                                  struct gaze_bpe ** out, struct tok_json_info * info);

// A tokenizer.json document in memory (WordPiece or BPE; no tokenizer_config.json): fuzzing.
enum gaze_status tok_from_json_buffer(const char * buf, size_t n, const char * label, struct gaze_tokenizer ** out);

// tokenizers' TruncationStrategy::LongestFirst for a pair within budget tokens: *na, *nb (the
// lengths of text and pair) become the kept lengths (text/wordpiece.c; the BPE encoders' pairs).
void tok_truncate_longest_first(int64_t budget, int64_t * na, int64_t * nb);

#endif
