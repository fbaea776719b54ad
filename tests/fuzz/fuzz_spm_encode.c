// SentencePiece encode (GGUF "llama" semantics) on arbitrary bytes with an in-memory vocab: all
// 256 byte-fallback tokens, pieces with scores, a control and a user-defined token. Input:
// byte 0 = options (bit 0 no BOS, bit 1 special texts as plain, bit 2 replace invalid UTF-8,
// bit 3 no space prefix, bits 4..5 max_len 0/1/8/64), the rest = text. Ids in range, offsets
// in order inside the text, and for valid UTF-8 without special tokens decode(encode(x)) is x
// (after the space prefix, when one is added; U+2581 in x comes back as a space).
#define _GNU_SOURCE   // memmem
#include "fuzz_common.h"

static struct gaze_bpe * g_spm[2];   // [0] add_space_prefix, [1] without

int LLVMFuzzerInitialize(int * argc, char *** argv) {
    fuzz_setup();
    static const char * const pieces[] = { "<unk>", "<s>", "</s>", "<ctl>", "<ud>", "\xE2\x96\x81", "\xE2\x96\x81\xE2\x96\x81", "a", "b",
                                           "ab", "ba", "aba", "\xE2\x96\x81" "a", "\xE2\x96\x81" "ab", "\xC3\xA9", "\xE4\xBD\xA0", "\n", "\n\n", "t", "th", "the",
                                           "\xE2\x96\x81" "the" };
    enum { NP = sizeof pieces / sizeof *pieces, V = NP + 256 };
    static char bytes[256][7];
    const char * toks[V];
    int32_t types[V];
    float scores[V];
    for (int i = 0; i < NP; i++) {
        toks[i] = pieces[i];
        types[i] = i == 0 ? 2 : i <= 3 ? 3 : i == 4 ? 4 : 1;
        scores[i] = -(float)(i % 7) - 0.25f * (float)(i % 3);
    }
    for (int c = 0; c < 256; c++) {
        snprintf(bytes[c], sizeof bytes[c], "<0x%02X>", c);
        toks[NP + c] = bytes[c];
        types[NP + c] = 6;
        scores[NP + c] = 0;
    }
    for (int k = 0; k < 2; k++) {
        struct gaze_bpe_vocab v = { 0 };
        v.n_tokens = V; v.tokens = toks; v.token_types = types; v.scores = scores; v.model = "llama";
        v.bos_id = 1; v.eos_id = 2; v.add_bos = -1; v.add_space_prefix = k ? 0 : 1;
        if (gaze_bpe_init(&g_spm[k], &v) != GAZE_OK) { fprintf(stderr, "fuzz: spm init: %s\n", gaze_last_error()); abort(); }
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t * data, size_t size) {
    if (size < 1) return 0;
    const uint8_t flags = data[0];
    static const int64_t k_max[4] = { 0, 1, 8, 64 };
    const struct gaze_bpe * b = g_spm[(flags >> 3) & 1];
    struct gaze_bpe_encode_opts o = { 0 };
    o.no_special = flags & 1;
    o.no_parse_special = flags & 2;
    o.replace_invalid = flags & 4;
    o.max_len = k_max[(flags >> 4) & 3];
    const size_t n = size - 1;
    char * text = (char *)fuzz_dup(data + 1, n);
    struct gaze_encoding e = { 0 };
    enum gaze_status s = gaze_bpe_encode(b, text, n, &o, &e);
    if (s) {
        fuzz_check_failure_ex(s, "spm encode", false);
    } else {
        const int32_t V = gaze_bpe_vocab_size(b);
        int64_t last = 0;
        for (int64_t i = 0; i < e.n_tokens; i++) {
            FUZZ_REQUIRE(e.ids[i] >= 0 && e.ids[i] < V, "id %d out of range", e.ids[i]);
            int64_t tb = e.offsets[2 * i], te = e.offsets[2 * i + 1];
            FUZZ_REQUIRE(tb >= 0 && tb <= te && te <= (int64_t)n, "offsets [%lld, %lld) outside %zu", (long long)tb, (long long)te, n);
            if (e.sequence_ids[i] >= 0) { FUZZ_REQUIRE(tb >= last, "offsets go back"); last = tb; }
        }
        bool plain = gaze_utf8_validate(text, n, "t") == GAZE_OK && !memmem(text, n, "<ud>", 4) &&
                     (o.no_parse_special || (!memmem(text, n, "<s>", 3) && !memmem(text, n, "</s>", 4) && !memmem(text, n, "<ctl>", 5) &&
                                            !memmem(text, n, "<unk>", 5)));
        if (plain && !o.max_len) {
            char * d = NULL;
            size_t dl;
            FUZZ_REQUIRE(gaze_bpe_decode(b, e.ids, e.n_tokens, true, &d, &dl) == GAZE_OK, "decode");
            // U+2581 in the input is SentencePiece's space: it decodes as " ", as in llama.cpp
            char * want = (char *)fuzz_dup((const uint8_t *)text, n);
            size_t wl = 0;
            for (size_t i = 0; i < n; i++) {
                if (n - i >= 3 && !memcmp(text + i, "\xE2\x96\x81", 3)) { want[wl++] = ' '; i += 2; }
                else want[wl++] = text[i];
            }
            size_t pre = (n && !((flags >> 3) & 1)) ? 1 : 0;
            FUZZ_REQUIRE(dl == wl + pre && (!pre || d[0] == ' ') && !memcmp(d + pre, want, wl), "decode(encode(x)) != x");
            free(want);
            free(d);
        }
    }
    gaze_encoding_free(&e);
    free(text);
    return 0;
}
