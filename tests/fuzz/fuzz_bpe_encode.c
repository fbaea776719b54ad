// Byte-level BPE encode on arbitrary bytes with the SmolLM2 vocabulary (committed fixture),
// under each pre-tokenizer. Input: byte 0 = options (bits 0..2 pre-tokenizer, bit 3 no BOS,
// bit 4 special tokens as plain text, bit 5 replace invalid UTF-8, bits 6..7 max_len 0/1/8/64),
// the rest = text. Ids in range, offsets in order inside the text, and for valid UTF-8
// decode(encode(x)) == x minus the bytes the vocabulary has no token for.
#include "fuzz_bpe_common.h"
#include "text/bpe.h"

static const char * const k_pres[] = { "smollm", "llama3", "gpt-2", "qwen2", "default" };
#define N_PRES 5
static struct gaze_bpe * g_tok[N_PRES];
static bool g_tokenless[256];

int LLVMFuzzerInitialize(int * argc, char *** argv) {
    fuzz_setup();
    struct bpe_fixture f;
    bpe_fixture_load(&f);
    for (int p = 0; p < N_PRES; p++) {
        f.v.pre = k_pres[p];
        f.v.pre_len = 0;
        if (gaze_bpe_init(&g_tok[p], &f.v) != GAZE_OK) { fprintf(stderr, "fuzz: bpe init %s: %s\n", k_pres[p], gaze_last_error()); abort(); }
    }
    for (int c = 0; c < 256; c++) {
        char u[3];
        int n = bpe_byte_char(c, u);
        g_tokenless[c] = gaze_bpe_token_id(g_tok[0], u, (size_t)n) < 0;
    }
    // the fixture's strings are copied by init
    json_decref(f.doc);
    free(f.tokens); free(f.lens); free(f.types); free(f.merges); free(f.mlens);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t * data, size_t size) {
    if (size < 1) return 0;
    const uint8_t flags = data[0];
    const struct gaze_bpe * tok = g_tok[(flags & 7) % N_PRES];
    static const int64_t k_max[4] = { 0, 1, 8, 64 };
    struct gaze_bpe_encode_opts o = { 0 };
    o.no_special = flags & 8;
    o.no_parse_special = flags & 16;
    o.replace_invalid = flags & 32;
    o.max_len = k_max[flags >> 6];
    const size_t n = size - 1;
    char * text = (char *)fuzz_dup(data + 1, n);
    const bool valid = gaze_utf8_validate(text, n, "t") == GAZE_OK;
    struct gaze_encoding e = { 0 };
    enum gaze_status s = gaze_bpe_encode(tok, text, n, &o, &e);
    if (s != GAZE_OK) {
        fuzz_check_failure(s, "bpe encode");
        FUZZ_REQUIRE(s == GAZE_ERR_LIMIT || (s == GAZE_ERR_FORMAT && !valid && !o.replace_invalid),
                     "bpe encode failed: %s", gaze_last_error());
    } else {
        FUZZ_REQUIRE(valid || o.replace_invalid, "invalid UTF-8 accepted");
        bpe_check_encoding(tok, &e, n, o.max_len);
        char * dec = NULL;
        size_t dl = 0;
        s = gaze_bpe_decode(tok, e.ids, e.n_tokens, false, &dec, &dl);
        FUZZ_REQUIRE(s == GAZE_OK, "decode: %s", gaze_last_error());
        if (valid && o.no_special) {
            char * want = malloc(n + 1);
            size_t wl = 0;
            for (size_t i = 0; i < n; i++) if (!g_tokenless[(uint8_t)text[i]]) want[wl++] = text[i];
            FUZZ_REQUIRE(dl == wl && !memcmp(dec, want, wl), "decode(encode(x)) != x (%zu vs %zu bytes)", dl, wl);
            free(want);
        }
        free(dec);
        char * skip = NULL;
        s = gaze_bpe_decode(tok, e.ids, e.n_tokens, true, &skip, NULL);
        FUZZ_REQUIRE(s == GAZE_OK, "decode skip_special: %s", gaze_last_error());
        free(skip);
        // the pre-tokenization alone: pieces in order inside the text
        struct gaze_encoding pt = { 0 };
        struct gaze_bpe_encode_opts po = o;
        po.max_len = 0;   // a piece of tokenless bytes counts here but gives no token
        s = gaze_bpe_pretokenize(tok, text, n, &po, &pt);
        FUZZ_REQUIRE(s == GAZE_OK, "pretokenize failed where encode worked: %s", gaze_last_error());
        int64_t prev = 0;
        for (int64_t t = 0; t < pt.n_tokens; t++) {
            if (pt.sequence_ids[t] == -1) continue;
            const int64_t bg = pt.offsets[2 * t], en = pt.offsets[2 * t + 1];
            FUZZ_REQUIRE(bg >= prev && bg <= en && en <= (int64_t)n, "piece %lld (%lld, %lld)", (long long)t, (long long)bg, (long long)en);
            prev = en;
        }
        gaze_encoding_free(&pt);
    }
    gaze_encoding_free(&e);
    free(text);
    return 0;
}
