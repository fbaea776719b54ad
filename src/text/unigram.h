// The Unigram model of Hugging Face `tokenizers` (text/unigram.c): the normalizer chain
// (text/normalize.c), the Metaspace pre-tokenizer and Viterbi segmentation by piece scores, with
// unknown characters fused into one <unk> or spelled as <0xXX> byte tokens. The token table,
// added tokens, specials, decoding and display are the shared engine's (text/bpe.c), which calls
// tok_unigram_fragment for each stretch of text between added tokens.
#ifndef GAZE_TEXT_UNIGRAM_H
#define GAZE_TEXT_UNIGRAM_H

#include "text/normalize.h"

struct tok_unigram_vocab {
    int32_t              n;
    const char * const * piece;       // [n] UTF-8 texts
    const size_t *       len;         // [n]
    const double *       score;       // [n] log-probabilities
    int32_t              unk;         // -1: none (an uncovered character is an error)
    bool                 byte_fallback;
};

struct tok_unigram;
struct tok_uni_token { int32_t id; size_t b, e; };   // an id and its original byte range
struct tok_uni_scratch {
    struct tok_nstr ns;                // the caller puts the fragment here, with its offsets
    struct tok_norm_scratch norm;
    double *  best;                    // Viterbi over one pre-token: [len + 1]
    int64_t * from;                    // start of the best last token ending here, -1 none
    int32_t * bid;                     // its id
    size_t    cap;
    struct tok_uni_token * out;        // the fragment's tokens
    size_t    n_out, out_cap;
    struct tok_uni_token * seg;        // one pre-token's best path, last first
    size_t    n_seg, seg_cap;
};

// metaspace: 0 no pre-tokenizer, 1 Metaspace prepend "always", 2 "first", 3 "never"; split:
// Metaspace's split. norm (may be NULL) is taken, even on failure.
enum gaze_status tok_unigram_init(struct tok_unigram ** out, const struct tok_unigram_vocab * v, struct tok_norm * norm,
                                  int metaspace, bool split, const char * label);
void             tok_unigram_free(struct tok_unigram * u);
// s->ns holds one fragment (its bytes and their input ranges). Tokens go to s->out [s->n_out].
enum gaze_status tok_unigram_fragment(const struct tok_unigram * u, struct tok_uni_scratch * s);
void             tok_uni_scratch_free(struct tok_uni_scratch * s);
// The id of a piece by text (the last of equal texts), -1 when none.
int32_t          tok_unigram_lookup(const struct tok_unigram * u, const char * t, size_t n);
// sentencepiece mode (Marian, text/marian.c): u's norm is tok_norm_from_charsmap's and is
// applied as sentencepiece does (spec), the whole fragment is one Viterbi (no pre-tokenizer),
// and every token gets the id of its text in outer (the piece's text, or a fused unknown's
// normalized surface), else outer_unk. lang_codes: MarianTokenizer's ">>xx<<" rule first.
// outer is taken.
void             tok_unigram_set_spm(struct tok_unigram * u, const struct tok_spm_norm_spec * spec, struct tok_unigram * outer,
                                     int32_t outer_unk, bool lang_codes);

#endif
