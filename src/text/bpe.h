// Internal entry points of the byte-level BPE tokenizer (text/bpe.c) beyond gaze.h.
#ifndef GAZE_TEXT_BPE_H
#define GAZE_TEXT_BPE_H

#include "gaze.h"

struct tok_unigram;

// The pre-tokenization gaze_bpe_encode would merge: one entry per piece (after special-token
// partition and every regex of the pre-tokenizer), id -1 and offsets = the piece's byte range;
// special tokens keep their id; BOS as in encode. Lets tests check the regex splitting itself,
// which a vocabulary with few merges can hide from the ids.
enum gaze_status gaze_bpe_pretokenize(const struct gaze_bpe * bpe, const char * text, size_t n,
                                      const struct gaze_bpe_encode_opts * opts,
                                      struct gaze_encoding * enc);

// Hugging Face tokenizer.json semantics on the same engine (text/tokenizer_json.c fills it).
struct bpe_hf_added {                  // one added token (tokenizer.json added_tokens)
    int32_t id;
    bool    special, lstrip, rstrip;
    bool    normalized;                 // matched in the normalised text (with lowercase: ASCII
                                        // letters of the input compared lowercased)
};
struct bpe_hf {
    const char * const * regex;         // [n_regex] pre-tokenizer splits (Split Isolated, ByteLevel
    int          n_regex;               // use_regex), applied in order; PCRE2 syntax after \s widening
    bool         byte_level;            // ByteLevel: bytes -> GPT-2 characters before BPE; else
                                        // BPE starts from characters (SentencePiece-style)
    bool         ignore_merges;         // a piece that is itself a token is taken whole
    bool         byte_fallback;         // a character with no token -> its <0xXX> tokens
    int32_t      unk;                   // -1: none (a character with no token is dropped)
    bool         fuse_unk;              // consecutive unknown characters -> one unk
    bool         nfc;                   // normalizer NFC
    bool         prepend;               // normalizer Prepend("\u2581") on every fragment
    bool         replace_space;         // normalizer Replace(" ", "\u2581")
    int          metaspace;             // pre-tokenizer Metaspace: 0 none, 1 prepend always,
                                        // 2 prepend to the text's first fragment, 3 never
    const struct bpe_hf_added * added;  // [n_added] matched leftmost-longest before anything else
    int32_t      n_added;
    bool         trim_offsets;          // post-processor trim_offsets (RobertaProcessing, ByteLevel):
    bool         trim_prefix_space;     // offsets leave out a token's leading / trailing spaces
                                        // (but one added by add_prefix_space on the first token)
    struct tok_unigram * unigram;       // a Unigram model (text/unigram.c) segments the text between
                                        // added tokens instead of BPE; bpe_init_hf takes it, even on failure
    // CLIP: normalizer Replace(Regex "\s+", " ") and Lowercase (char-wise full lowercase, as
    // Rust's char::to_lowercase), Split behavior Removed + invert (only the matches are kept),
    // and BPE's end_of_word_suffix (on the last character of each pre-token; byte-level only)
    bool         collapse_ws;
    bool         lowercase;
    unsigned     keep_matches_only;      // bit i: regex i drops the text between its matches
    char         eow[16];                // end_of_word_suffix, "" none
};
// gaze_bpe_init with tokenizer.json semantics (hf NULL: llama.cpp's, as gaze_bpe_init).
enum gaze_status bpe_init_hf(struct gaze_bpe ** out, const struct gaze_bpe_vocab * vocab, const struct bpe_hf * hf);

// Whether encode appends the EOS (tokenizer.ggml.add_eos_token, tokenizer.json post-processor).
bool bpe_add_eos(const struct gaze_bpe * bpe);

#endif
