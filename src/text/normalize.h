// Hugging Face normalizers with their alignments (text/normalize.c): a NormalizedString (the
// normalized bytes, each with the range of the original text it came from) and the chain a
// Unigram tokenizer.json names (Precompiled, Replace, Strip, Prepend, Sequence), applied exactly
// as `tokenizers` 0.20 applies them, offsets included.
#ifndef GAZE_TEXT_NORMALIZE_H
#define GAZE_TEXT_NORMALIZE_H

#include "gaze.h"
#include <jansson.h>

struct tok_nstr {               // HF NormalizedString: s [n] and, per byte, its original range
    char *   s;
    size_t * ab, * ae;          // [n] original start / end of the character the byte belongs to
    size_t   n, cap;
};
struct tok_tf { uint32_t cp; int32_t change; };   // one transformation (HF transform_range)

struct tok_norm_scratch {       // per-call memory, grown once, reused
    struct tok_nstr tmp;
    struct tok_tf * tf;
    size_t tf_cap;
};

bool tok_nstr_reserve(struct tok_nstr * ns, size_t n);
void tok_nstr_free(struct tok_nstr * ns);
void tok_norm_scratch_free(struct tok_norm_scratch * s);

// HF NormalizedString::transform over the whole string: tf [n_tf], the first initial_chars
// characters removed. The result replaces ns (s->tmp is the work area).
enum gaze_status tok_nstr_transform(struct tok_nstr * ns, struct tok_norm_scratch * s, const struct tok_tf * tf,
                                    size_t n_tf, size_t initial_chars);
// HF NormalizedString::replace(pattern string, content) and prepend(s) (Metaspace needs both).
enum gaze_status tok_nstr_replace_str(struct tok_nstr * ns, struct tok_norm_scratch * s, const char * pat, size_t pn,
                                      const char * content, size_t cn);
enum gaze_status tok_nstr_prepend(struct tok_nstr * ns, struct tok_norm_scratch * s, const char * p, size_t pn);

struct tok_norm;   // a compiled normalizer chain
// normalizer: the tokenizer.json "normalizer" value (NULL / null: none). Anything else than
// Sequence, Precompiled, Replace, Strip and Prepend is refused by name; a precompiled_charsmap
// is checked completely (every trie offset and every normalized-string index) here.
enum gaze_status tok_norm_parse(const json_t * normalizer, const char * label, struct tok_norm ** out);
void             tok_norm_free(struct tok_norm * n);
enum gaze_status tok_norm_apply(const struct tok_norm * n, struct tok_nstr * ns, struct tok_norm_scratch * s);

// sentencepiece's Normalizer::Normalize (normalizer.cc) for .spm model files (Marian), which the
// HF chain above only approximates: the longest charsmap rule at each position (HF: the
// shortest, per grapheme), heading / repeated / trailing spaces removed by remove_extra_ws, the
// dummy prefix, spaces escaped to U+2581. The original ranges follow every byte.
struct tok_spm_norm_spec { bool add_dummy_prefix, remove_extra_ws, escape_ws, ws_as_suffix; };
// A chain of the one Precompiled rule of a raw charsmap blob [n] (0: identity), checked fully.
enum gaze_status tok_norm_from_charsmap(const uint8_t * blob, size_t n, const char * label, struct tok_norm ** out);
enum gaze_status tok_spm_normalize(const struct tok_norm * charsmap, const struct tok_spm_norm_spec * spec,
                                   struct tok_nstr * ns, struct tok_norm_scratch * s);

// Unicode White_Space at s[i] (Rust char::is_whitespace): its byte length, 0 when not.
size_t tok_ws_len(const char * s, size_t n, size_t i);

#endif
