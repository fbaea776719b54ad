// A SentencePiece model file (.model / Marian's source.spm, target.spm: a serialized
// sentencepiece ModelProto, protobuf proto2) read by a small validated wire reader
// (text/spm_model.c): the pieces with score and type, the normalizer spec and the few trainer
// settings encoding depends on. Only what tokenization needs is kept; everything is checked.
#ifndef GAZE_TEXT_SPM_MODEL_H
#define GAZE_TEXT_SPM_MODEL_H

#include "gaze.h"

enum tok_spm_type {           // sentencepiece_model.proto SentencePiece.Type
    TOK_SPM_NORMAL = 1, TOK_SPM_UNKNOWN = 2, TOK_SPM_CONTROL = 3, TOK_SPM_USER_DEFINED = 4,
    TOK_SPM_UNUSED = 5, TOK_SPM_BYTE = 6,
};

struct tok_spm_piece {
    const char * text;        // into the model's buffer (not NUL-terminated)
    size_t       len;
    float        score;
    int          type;        // enum tok_spm_type
};

struct tok_spm_model {
    uint8_t *  buf;           // the file (pieces and the charsmap point into it)
    struct tok_spm_piece * pieces;
    int32_t    n;
    int32_t    unk;           // the one UNKNOWN piece
    int        model_type;    // TrainerSpec.ModelType: 1 UNIGRAM, 2 BPE, 3 WORD, 4 CHAR
    bool       byte_fallback, treat_ws_as_suffix;
    char       unk_surface[32];   // TrainerSpec.unk_surface (decoding an unknown piece)
    const uint8_t * charsmap; // NormalizerSpec.precompiled_charsmap, NULL / 0: identity
    size_t     charsmap_len;
    bool       add_dummy_prefix, remove_extra_ws, escape_ws;
    bool       denormalizes;  // a denormalizer_spec with rules (decoding would apply them)
};

// Parses a ModelProto from buf [n] (label: the file, for errors). The model copies buf.
enum gaze_status tok_spm_model_parse(const uint8_t * buf, size_t n, const char * label, struct tok_spm_model ** out);
enum gaze_status tok_spm_model_load(const char * path, struct tok_spm_model ** out);
void             tok_spm_model_free(struct tok_spm_model * m);

#endif
