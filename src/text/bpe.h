// Internal entry points of the byte-level BPE tokenizer (text/bpe.c) beyond gaze.h.
#ifndef GAZE_TEXT_BPE_H
#define GAZE_TEXT_BPE_H

#include "gaze.h"

// The pre-tokenization gaze_bpe_encode would merge: one entry per piece (after special-token
// partition and every regex of the pre-tokenizer), id -1 and offsets = the piece's byte range;
// special tokens keep their id; BOS as in encode. Lets tests check the regex splitting itself,
// which a vocabulary with few merges can hide from the ids.
enum gaze_status gaze_bpe_pretokenize(const struct gaze_bpe * bpe, const char * text, size_t n,
                                      const struct gaze_bpe_encode_opts * opts,
                                      struct gaze_encoding * enc);

// Whether encode appends the EOS (tokenizer.ggml.add_eos_token, tokenizer.json post-processor).
bool bpe_add_eos(const struct gaze_bpe * bpe);

#endif
