// MarianTokenizer from an opus-mt folder (text/marian.c): source.spm + vocab.json on the shared
// BPE/Unigram engine, and decoding with target.spm.
#ifndef GAZE_TEXT_MARIAN_H
#define GAZE_TEXT_MARIAN_H

#include "gaze.h"
#include <jansson.h>

struct tok_marian_info { int32_t unk, eos, pad; };
// True when dir has source.spm and vocab.json (and so is read as Marian's).
bool             tok_marian_folder(const char * dir);
enum gaze_status tok_marian_load(const char * dir, struct gaze_bpe ** out, struct tok_marian_info * info);
// The same from a parsed source model and vocab.json document (labels: their files; names: the
// unk, eos and pad token texts): what tok_marian_load does after reading, and the fuzz target.
struct tok_spm_model;
enum gaze_status tok_marian_build(const struct tok_spm_model * m, const json_t * voc, const char * voc_path, const char * spm_path,
                                  const char * const names[3], struct gaze_bpe ** out, struct tok_marian_info * info);

struct tok_marian_dec;   // target.spm, for decoding
enum gaze_status tok_marian_decoder(const char * dir, struct tok_marian_dec ** out);
void             tok_marian_dec_free(struct tok_marian_dec * d);
// From a parsed target model (taken, even on failure).
enum gaze_status tok_marian_decoder_from(struct tok_spm_model * m, const char * label, struct tok_marian_dec ** out);
// MarianTokenizer.decode(ids, skip_special_tokens) (vocab: the tokenizer's token table).
enum gaze_status tok_marian_decode(const struct tok_marian_dec * d, const struct gaze_bpe * vocab, const int32_t * ids, int64_t n,
                                   bool skip_special, char ** out, size_t * out_len);

#endif
