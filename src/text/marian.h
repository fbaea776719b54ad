// MarianTokenizer from an opus-mt folder (text/marian.c): source.spm + vocab.json on the shared
// BPE/Unigram engine, and decoding with target.spm.
#ifndef GAZE_TEXT_MARIAN_H
#define GAZE_TEXT_MARIAN_H

#include "gaze.h"

struct tok_marian_info { int32_t unk, eos, pad; };
// True when dir has source.spm and vocab.json (and so is read as Marian's).
bool             tok_marian_folder(const char * dir);
enum gaze_status tok_marian_load(const char * dir, struct gaze_bpe ** out, struct tok_marian_info * info);

struct tok_marian_dec;   // target.spm, for decoding
enum gaze_status tok_marian_decoder(const char * dir, struct tok_marian_dec ** out);
void             tok_marian_dec_free(struct tok_marian_dec * d);
// MarianTokenizer.decode(ids, skip_special_tokens) (vocab: the tokenizer's token table).
enum gaze_status tok_marian_decode(const struct tok_marian_dec * d, const struct gaze_bpe * vocab, const int32_t * ids, int64_t n,
                                   bool skip_special, char ** out, size_t * out_len);

#endif
