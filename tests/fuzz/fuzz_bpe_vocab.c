// The GGUF tokenizer metadata path on arbitrary bytes: the file is opened with
// gaze_gguf_open_buffer, the tokenizer.ggml.* arrays are handed to gaze_bpe_init as the Llama
// loader does (models/llama.c: llama_tokenizer), and a vocabulary that loads is driven through
// encode, decode and every lookup. Seeds: small GGUFs holding tokenizer metadata only.
#include "fuzz_bpe_common.h"

int LLVMFuzzerInitialize(int * argc, char *** argv) {
    fuzz_setup();
    return 0;
}

static const char * const k_texts[] = {
    "", "Hello world, it's 2024! I'm here.", "<|im_start|>user\nhi<|im_end|>", "<|endoftext|><tool>x",
    "caf\xc3\xa9 \xe4\xb8\xad\xe6\x96\x87 \xf0\x9f\x98\x80", "   \t\n\n  spaces", "1234567890 3.14",
    "\xff\xfe invalid \xc3", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
};

static void drive(const struct gaze_bpe * tok, const uint8_t * extra, size_t n_extra) {
    const int32_t V = gaze_bpe_vocab_size(tok);
    FUZZ_REQUIRE(V >= 1, "vocab size %d", V);
    struct gaze_bpe_specials sp = gaze_bpe_specials(tok);
    FUZZ_REQUIRE(sp.bos >= -1 && sp.bos < V && sp.eos >= -1 && sp.eos < V, "specials %d %d", sp.bos, sp.eos);
    FUZZ_REQUIRE(gaze_bpe_pre(tok) != NULL, "pre");
    const int32_t nq = V < 2048 ? V : 2048;
    int32_t * ids = malloc((size_t)nq * sizeof *ids);
    for (int32_t i = 0; i < nq; i++) {
        size_t l = 0, pl = 0;
        const char * t = gaze_bpe_token(tok, i, &l);
        FUZZ_REQUIRE(t && t[l] == 0, "token %d", i);
        int32_t id = gaze_bpe_token_id(tok, t, l);
        FUZZ_REQUIRE(l == 0 || id == i, "token_id(token(%d)) = %d (duplicates accepted?)", i, id);
        FUZZ_REQUIRE(gaze_bpe_token_piece(tok, i, &pl) != NULL || pl == 0, "piece %d", i);
        FUZZ_REQUIRE((int)gaze_bpe_token_type(tok, i) >= 0 && (int)gaze_bpe_token_type(tok, i) <= 6, "type");
        ids[i] = i;
    }
    FUZZ_REQUIRE(gaze_bpe_token(tok, V, NULL) == NULL && gaze_bpe_token_piece(tok, -1, NULL) == NULL, "out of range");
    char * dec = NULL;
    enum gaze_status s = gaze_bpe_decode(tok, ids, nq, false, &dec, NULL);
    FUZZ_REQUIRE(s == GAZE_OK, "decode all ids: %s", gaze_last_error());
    free(dec);
    free(ids);
    struct gaze_encoding e = { 0 };
    for (size_t k = 0; k < sizeof k_texts / sizeof k_texts[0]; k++) {
        for (int mode = 0; mode < 3; mode++) {
            struct gaze_bpe_encode_opts o = { .replace_invalid = mode != 1, .no_parse_special = mode == 2,
                                              .no_special = mode == 2 };
            s = gaze_bpe_encode(tok, k_texts[k], strlen(k_texts[k]), &o, &e);
            if (s == GAZE_OK) bpe_check_encoding(tok, &e, strlen(k_texts[k]), 0);
            else fuzz_check_failure(s, "bpe encode");
        }
    }
    if (n_extra) {
        struct gaze_bpe_encode_opts o = { .replace_invalid = true };
        s = gaze_bpe_encode(tok, (const char *)extra, n_extra, &o, &e);
        if (s == GAZE_OK) bpe_check_encoding(tok, &e, n_extra, 0);
        else fuzz_check_failure(s, "bpe encode (input as text)");
    }
    gaze_encoding_free(&e);
}

int LLVMFuzzerTestOneInput(const uint8_t * data, size_t size) {
    uint8_t * buf = fuzz_dup(data, size);
    struct gaze_gguf * g = NULL;
    if (gaze_gguf_open_buffer(buf, size, "fuzz.gguf", &g) != GAZE_OK) { free(buf); return 0; }
    const char * pre = NULL;
    size_t pre_len = 0;
    const struct gaze_gguf_str * toks = NULL, * merges = NULL;
    int64_t n_tok = 0, n_merges = 0;
    const char ** tp = NULL, ** mp = NULL;
    size_t * tl = NULL, * ml = NULL;
    int32_t * types = NULL;
    if (gaze_gguf_get_str(g, "tokenizer.ggml.pre", &pre, &pre_len) ||
        gaze_gguf_get_arr_str(g, "tokenizer.ggml.tokens", &toks, &n_tok)) goto done;
    if (gaze_gguf_find_key(g, "tokenizer.ggml.merges") >= 0 &&
        gaze_gguf_get_arr_str(g, "tokenizer.ggml.merges", &merges, &n_merges)) goto done;
    tp = malloc((size_t)(n_tok + 1) * sizeof *tp); tl = malloc((size_t)(n_tok + 1) * sizeof *tl);
    mp = malloc((size_t)(n_merges + 1) * sizeof *mp); ml = malloc((size_t)(n_merges + 1) * sizeof *ml);
    types = malloc((size_t)(n_tok + 1) * sizeof *types);
    for (int64_t i = 0; i < n_tok; i++) { tp[i] = toks[i].s; tl[i] = toks[i].len; }
    for (int64_t i = 0; i < n_merges; i++) { mp[i] = merges[i].s; ml[i] = merges[i].len; }
    const bool has_types = gaze_gguf_find_key(g, "tokenizer.ggml.token_type") >= 0;
    if (has_types && gaze_gguf_get_arr_i32(g, "tokenizer.ggml.token_type", types, n_tok)) goto done;
    struct gaze_bpe_vocab v = { .n_tokens = n_tok, .tokens = tp, .token_lens = tl, .token_types = has_types ? types : NULL,
                                .n_merges = n_merges, .merges = mp, .merge_lens = ml, .pre = pre, .pre_len = pre_len,
                                .bos_id = -1, .eos_id = -1, .add_bos = -1 };
    int32_t id;
    bool flag;
    if (gaze_gguf_get_i32(g, "tokenizer.ggml.bos_token_id", &id) == GAZE_OK) v.bos_id = id;
    if (gaze_gguf_get_i32(g, "tokenizer.ggml.eos_token_id", &id) == GAZE_OK) v.eos_id = id;
    if (gaze_gguf_get_bool(g, "tokenizer.ggml.add_bos_token", &flag) == GAZE_OK) v.add_bos = flag;
    struct gaze_bpe * tok = (struct gaze_bpe *)0x1;
    enum gaze_status s = gaze_bpe_init(&tok, &v);
    if (s != GAZE_OK) {
        fuzz_check_failure(s, "bpe init");
        FUZZ_REQUIRE(tok == NULL, "out not NULL on failure");
    } else {
        drive(tok, data, size < 2048 ? size : 2048);
        gaze_bpe_free(tok);
    }
done:
    free(tp); free(tl); free(mp); free(ml); free(types);
    gaze_gguf_free(g);
    free(buf);
    return 0;
}
