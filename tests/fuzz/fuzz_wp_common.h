// What the WordPiece targets check on every successful encode (fuzz_tokenizer_json,
// fuzz_vocab_txt, fuzz_wordpiece_encode).
#ifndef GAZE_FUZZ_WP_COMMON_H
#define GAZE_FUZZ_WP_COMMON_H
#include "fuzz_common.h"

static inline void wp_check_encoding(const struct gaze_wordpiece * tok, const struct gaze_encoding * e,
                                     size_t n_text, size_t n_pair, bool has_pair, int64_t max_len) {
    const int32_t V = gaze_wordpiece_vocab_size(tok);
    FUZZ_REQUIRE(e->n_tokens >= 0 && e->n_tokens <= e->cap, "n_tokens %lld cap %lld", (long long)e->n_tokens, (long long)e->cap);
    if (max_len > 0) FUZZ_REQUIRE(e->n_tokens <= max_len, "%lld tokens over max_len %lld", (long long)e->n_tokens, (long long)max_len);
    for (int64_t t = 0; t < e->n_tokens; t++) {
        FUZZ_REQUIRE(e->ids[t] >= 0 && e->ids[t] < V, "id %d of %d", e->ids[t], V);
        FUZZ_REQUIRE(gaze_wordpiece_token(tok, e->ids[t]) != NULL, "token(%d)", e->ids[t]);
        const int8_t q = e->sequence_ids[t];
        FUZZ_REQUIRE(q == -1 || q == 0 || (q == 1 && has_pair), "sequence id %d", q);
        // (a TemplateProcessing may give any type id, as HF allows; BERT checks it against its table)
        FUZZ_REQUIRE(e->type_ids[t] >= 0, "type id %d", e->type_ids[t]);
        const int64_t b = e->offsets[2 * t], en = e->offsets[2 * t + 1];
        const int64_t lim = q == 1 ? (int64_t)n_pair : (int64_t)n_text;
        if (q == -1) FUZZ_REQUIRE(b == 0 && en == 0, "special token offsets (%lld, %lld)", (long long)b, (long long)en);
        else FUZZ_REQUIRE(b >= 0 && b <= en && en <= lim, "offsets (%lld, %lld) outside 0..%lld", (long long)b, (long long)en, (long long)lim);
    }
}

// A fixed set of texts every hostile vocab is driven with.
static const char * const k_wp_texts[] = {
    "", "Hello, world! The cat sat on the mat.", "[CLS] [SEP] [UNK] [PAD] [MASK] ##ing",
    "d\xc3\xa9j\xc3\xa0 vu \xe4\xb8\xad\xe6\x96\x87 caf\xc3\xa9 \xf0\x9f\x98\x80 na\xc3\xafve",
    "  \t\n\r\x01\x7f multiple   spaces\xe2\x80\x8b zero-width", "unaffable embeddings tokenization",
    "a\xcc\x81\xcc\x82\xcc\x83 combining", "x'y\"z<w>&v 12345.678 $%^&*()",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
};
#define WP_N_TEXTS (sizeof k_wp_texts / sizeof k_wp_texts[0])

// Drives a tokenizer through the fixed texts with and without a pair and truncation, plus the
// lookups; then the caller's own bytes as text.
static inline void wp_exercise(const struct gaze_wordpiece * tok, const uint8_t * extra, size_t n_extra) {
    const int32_t V = gaze_wordpiece_vocab_size(tok);
    FUZZ_REQUIRE(V >= 1, "vocab size %d", V);
    for (int32_t i = 0; i < V && i < 64; i++) {
        const char * s = gaze_wordpiece_token(tok, i);
        FUZZ_REQUIRE(s != NULL, "token %d", i);
        if (!*s) continue;   // an empty vocab.txt line keeps its id (as HF) but is never looked up
        int32_t id = gaze_wordpiece_token_id(tok, s, strlen(s));
        FUZZ_REQUIRE(id >= 0 && id < V && !strcmp(gaze_wordpiece_token(tok, id), s), "token_id(token(%d))", i);
    }
    FUZZ_REQUIRE(gaze_wordpiece_token(tok, V) == NULL && gaze_wordpiece_token(tok, -1) == NULL, "token out of range");
    struct gaze_wordpiece_specials sp = gaze_wordpiece_specials(tok);
    const int32_t ids[5] = { sp.cls, sp.sep, sp.unk, sp.pad, sp.mask };
    for (int i = 0; i < 5; i++) FUZZ_REQUIRE(ids[i] >= -1 && ids[i] < V, "special %d = %d", i, ids[i]);
    struct gaze_encoding e = { 0 };
    for (size_t k = 0; k < WP_N_TEXTS; k++) {
        const char * t = k_wp_texts[k], * p = k_wp_texts[(k + 3) % WP_N_TEXTS];
        for (int mode = 0; mode < 3; mode++) {
            struct gaze_encode_opts o = { 0 };
            if (mode == 1) o.no_special = true;
            if (mode == 2) { o.max_len = 6; o.truncation = GAZE_TRUNCATION_LONGEST_FIRST; }
            const bool pair = mode != 1;
            enum gaze_status s = gaze_wordpiece_encode(tok, t, strlen(t), pair ? p : NULL, pair ? strlen(p) : 0, &o, &e);
            if (s == GAZE_OK) wp_check_encoding(tok, &e, strlen(t), strlen(p), pair, o.max_len);
            else fuzz_check_failure(s, "wordpiece encode");
        }
    }
    if (n_extra) {
        enum gaze_status s = gaze_wordpiece_encode(tok, (const char *)extra, n_extra, NULL, 0, NULL, &e);
        if (s == GAZE_OK) wp_check_encoding(tok, &e, n_extra, 0, false, 0);
        else fuzz_check_failure(s, "wordpiece encode (input as text)");
    }
    gaze_encoding_free(&e);
}
#endif
