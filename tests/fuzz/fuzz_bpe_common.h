// Shared by the byte-level BPE targets: the SmolLM2 vocabulary fixture as a gaze_bpe_vocab,
// the GPT-2 byte alphabet, and the checks every successful encode must pass.
#ifndef GAZE_FUZZ_BPE_COMMON_H
#define GAZE_FUZZ_BPE_COMMON_H
#include "fuzz_common.h"
#include <jansson.h>

// GPT-2's byte -> code point map (printable bytes map to themselves, the rest to 256 + k).
static inline int bpe_byte_char(int b, char out[3]) {
    int cp = b;
    if (!((b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255))) {
        int k = 0;
        for (int x = 0; x < b; x++)
            if (!((x >= 33 && x <= 126) || (x >= 161 && x <= 172) || (x >= 174 && x <= 255))) k++;
        cp = 256 + k;
    }
    if (cp < 0x80) { out[0] = (char)cp; return 1; }
    out[0] = (char)(0xC0 | (cp >> 6));
    out[1] = (char)(0x80 | (cp & 0x3F));
    return 2;
}

// Every id in range, offsets inside the text and in order, max_len respected.
static inline void bpe_check_encoding(const struct gaze_bpe * b, const struct gaze_encoding * e, size_t n,
                                      int64_t max_len) {
    const int32_t V = gaze_bpe_vocab_size(b);
    FUZZ_REQUIRE(e->n_tokens >= 0 && e->n_tokens <= e->cap, "n_tokens");
    if (max_len > 0) FUZZ_REQUIRE(e->n_tokens <= max_len, "%lld tokens over max_len %lld", (long long)e->n_tokens, (long long)max_len);
    int64_t prev_end = 0;
    for (int64_t t = 0; t < e->n_tokens; t++) {
        FUZZ_REQUIRE(e->ids[t] >= 0 && e->ids[t] < V, "id %d of %d", e->ids[t], V);
        const int64_t bg = e->offsets[2 * t], en = e->offsets[2 * t + 1];
        if (e->sequence_ids[t] == -1) { FUZZ_REQUIRE(bg == 0 && en == 0, "BOS offsets"); continue; }
        FUZZ_REQUIRE(e->sequence_ids[t] == 0 && e->type_ids[t] == 0, "sequence/type id");
        FUZZ_REQUIRE(bg >= prev_end && bg <= en && en <= (int64_t)n, "token %lld offsets (%lld, %lld), previous end %lld, n %zu",
                     (long long)t, (long long)bg, (long long)en, (long long)prev_end, n);
        prev_end = bg;   // pieces of one byte run may share a character's bytes, never go back
    }
}

struct bpe_fixture {
    json_t * doc;
    const char ** tokens; size_t * lens; int32_t * types;
    const char ** merges; size_t * mlens;
    struct gaze_bpe_vocab v;
};

// tests/fixtures/bpe/smollm2_vocab.json (committed): tokens, merges, types, specials.
static inline void bpe_fixture_load(struct bpe_fixture * f) {
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/fixtures/bpe/smollm2_vocab.json", fuzz_source_dir());
    json_error_t err;
    memset(f, 0, sizeof *f);
    f->doc = json_load_file(path, JSON_REJECT_DUPLICATES, &err);
    if (!f->doc) { fprintf(stderr, "fuzz: %s: %s\n", path, err.text); abort(); }
    json_t * toks = json_object_get(f->doc, "tokens"), * merges = json_object_get(f->doc, "merges");
    const char * types = json_string_value(json_object_get(f->doc, "token_types"));
    const size_t V = json_array_size(toks), M = json_array_size(merges);
    if (!V || !types || strlen(types) != V) { fprintf(stderr, "fuzz: %s: bad fixture\n", path); abort(); }
    f->tokens = malloc(V * sizeof *f->tokens); f->lens = malloc(V * sizeof *f->lens); f->types = malloc(V * sizeof *f->types);
    f->merges = malloc(M * sizeof *f->merges); f->mlens = malloc(M * sizeof *f->mlens);
    for (size_t i = 0; i < V; i++) {
        json_t * t = json_array_get(toks, i);
        f->tokens[i] = json_string_value(t); f->lens[i] = json_string_length(t); f->types[i] = types[i] - '0';
    }
    for (size_t i = 0; i < M; i++) {
        json_t * t = json_array_get(merges, i);
        f->merges[i] = json_string_value(t); f->mlens[i] = json_string_length(t);
    }
    json_t * add_bos = json_object_get(f->doc, "add_bos");
    f->v = (struct gaze_bpe_vocab){
        .n_tokens = (int64_t)V, .tokens = f->tokens, .token_lens = f->lens, .token_types = f->types,
        .n_merges = (int64_t)M, .merges = f->merges, .merge_lens = f->mlens,
        .pre = json_string_value(json_object_get(f->doc, "pre")),
        .bos_id = (int32_t)json_integer_value(json_object_get(f->doc, "bos_id")),
        .eos_id = (int32_t)json_integer_value(json_object_get(f->doc, "eos_id")),
        .add_bos = json_is_boolean(add_bos) ? json_is_true(add_bos) : -1,
    };
}
#endif
