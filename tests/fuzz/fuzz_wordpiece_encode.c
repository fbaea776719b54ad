// WordPiece encode on arbitrary bytes with the real MiniLM tokenizer.json
// ($GAZE_HOME/models/minilm/tokenizer.json). Input: byte 0 = options (bit 0 pair, bit 1 no
// special tokens, bit 2 truncation, bits 3..7 max_len 0..31), byte 1 = where the pair starts,
// the rest = text then pair. Ids in range, offsets inside their text, max_len respected,
// invalid UTF-8 refused with its offset, and the same result from a second call (no state).
#include "fuzz_wp_common.h"

static struct gaze_wordpiece * g_tok;

int LLVMFuzzerInitialize(int * argc, char *** argv) {
    fuzz_setup();
    char path[4096];
    fuzz_model_path(path, sizeof path, "minilm/tokenizer.json");
    size_t n;
    char * json = fuzz_read_file(path, &n);
    if (gaze_wordpiece_init_json(&g_tok, json, n, path) != GAZE_OK) {
        fprintf(stderr, "fuzz_wordpiece_encode: %s\n", gaze_last_error());
        abort();
    }
    free(json);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t * data, size_t size) {
    if (size < 2) return 0;
    const uint8_t flags = data[0];
    const size_t body = size - 2, split = (size_t)data[1] * body / 255;
    const bool has_pair = flags & 1;
    char * text = (char *)fuzz_dup(data + 2, has_pair ? split : body);
    char * pair = has_pair ? (char *)fuzz_dup(data + 2 + split, body - split) : NULL;
    const size_t n_text = has_pair ? split : body, n_pair = has_pair ? body - split : 0;
    struct gaze_encode_opts o = { 0 };
    o.no_special = flags & 2;
    o.truncation = (flags & 4) ? GAZE_TRUNCATION_LONGEST_FIRST : GAZE_TRUNCATION_NONE;
    o.max_len = flags >> 3;
    struct gaze_encoding e = { 0 }, e2 = { 0 };
    enum gaze_status s = gaze_wordpiece_encode(g_tok, text, n_text, pair, n_pair, &o, &e);
    const bool valid = gaze_utf8_validate(text, n_text, "t") == GAZE_OK &&
                       (!has_pair || gaze_utf8_validate(pair, n_pair, "p") == GAZE_OK);
    if (s == GAZE_OK) {
        FUZZ_REQUIRE(valid, "invalid UTF-8 accepted");
        wp_check_encoding(g_tok, &e, n_text, n_pair, has_pair, o.max_len);
        enum gaze_status s2 = gaze_wordpiece_encode(g_tok, text, n_text, pair, n_pair, &o, &e2);
        FUZZ_REQUIRE(s2 == GAZE_OK && e2.n_tokens == e.n_tokens &&
                     (e.n_tokens == 0 || (!memcmp(e.ids, e2.ids, (size_t)e.n_tokens * sizeof *e.ids) &&
                                          !memcmp(e.offsets, e2.offsets, (size_t)e.n_tokens * 2 * sizeof *e.offsets))),
                     "encode not deterministic");
        if (!o.no_special && e.n_tokens >= 2) {
            struct gaze_wordpiece_specials sp = gaze_wordpiece_specials(g_tok);
            FUZZ_REQUIRE(e.ids[0] == sp.cls && e.ids[e.n_tokens - 1] == sp.sep, "no [CLS] ... [SEP]");
        }
    } else {
        fuzz_check_failure(s, "wordpiece encode");
        FUZZ_REQUIRE(valid || s == GAZE_ERR_FORMAT, "invalid UTF-8 gave %s", gaze_status_name(s));
        FUZZ_REQUIRE(!valid || s == GAZE_ERR_LIMIT || s == GAZE_ERR_INVALID_ARG, "valid text failed: %s", gaze_last_error());
    }
    gaze_encoding_free(&e);
    gaze_encoding_free(&e2);
    free(text);
    free(pair);
    return 0;
}
