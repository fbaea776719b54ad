// tokenizer.json on arbitrary bytes through the one tokenizer object (tok_from_json_buffer:
// WordPiece, byte-level BPE, SentencePiece-style BPE with normalizers, pre-tokenizer regexes
// from the file, added tokens, post-processors). A tokenizer that loads must encode fixed
// texts and the input itself with every id in range and every offset inside its text, and
// decode and stream what it encoded.
#include "fuzz_common.h"
#include "text/tokenizer.h"

int LLVMFuzzerInitialize(int * argc, char *** argv) {
    fuzz_setup();
    return 0;
}

static void exercise(const struct gaze_tokenizer * t, const char * text, size_t n) {
    const int32_t V = gaze_tokenizer_vocab_size(t);
    struct gaze_encoding e = { 0 };
    for (int mode = 0; mode < 4; mode++) {
        struct gaze_tokenizer_encode_opts o = { 0 };
        o.no_special = mode & 1;
        o.no_parse_special = mode & 2;
        o.replace_invalid = true;
        o.max_len = mode == 3 ? 4 : 0;
        enum gaze_status s = gaze_tokenizer_encode(t, text, n, &o, &e);
        if (s) { fuzz_check_failure_ex(s, "tokenizer encode", false); continue; }
        for (int64_t i = 0; i < e.n_tokens; i++) {
            FUZZ_REQUIRE(e.ids[i] >= 0 && e.ids[i] < V, "id %d out of range (V %d)", e.ids[i], V);
            FUZZ_REQUIRE(e.offsets[2 * i] >= 0 && e.offsets[2 * i] <= e.offsets[2 * i + 1] &&
                         e.offsets[2 * i + 1] <= (int64_t)n, "offsets [%lld, %lld) outside %zu bytes",
                         (long long)e.offsets[2 * i], (long long)e.offsets[2 * i + 1], n);
        }
        char * d = NULL;
        size_t dl;
        s = gaze_tokenizer_decode(t, e.ids, e.n_tokens, mode & 1, &d, &dl);
        FUZZ_REQUIRE(s == GAZE_OK, "decode of encoded ids: %s", gaze_last_error());
        free(d);
        struct gaze_tokenizer_stream * st = NULL;
        FUZZ_REQUIRE(gaze_tokenizer_stream_init(&st, t) == GAZE_OK, "stream init");
        for (int64_t i = 0; i < e.n_tokens; i++) {
            const char * p; size_t l;
            FUZZ_REQUIRE(gaze_tokenizer_stream_push(st, e.ids[i], &p, &l) == GAZE_OK, "stream push");
            FUZZ_REQUIRE(gaze_utf8_validate(p, l, "chunk") == GAZE_OK, "stream chunk not UTF-8");
        }
        gaze_tokenizer_stream_free(st);
    }
    gaze_encoding_free(&e);
}

int LLVMFuzzerTestOneInput(const uint8_t * data, size_t size) {
    char * buf = (char *)fuzz_dup(data, size);
    struct gaze_tokenizer * t = (struct gaze_tokenizer *)0x1;
    enum gaze_status s = tok_from_json_buffer(buf, size, "fuzz/tokenizer.json", &t);
    if (s != GAZE_OK) {
        fuzz_check_failure(s, "tokenizer.json");
        FUZZ_REQUIRE(t == NULL, "out not NULL on failure");
    } else {
        static const char * const texts[] = { "", "Hello, world!", " a  b\t\n", "<s>x</s><|endoftext|>", "caf\xC3\xA9 e\xCC\x81 \xF0\x9F\x98\x80",
                                              ("\xE2\x96\x81" "a"), "\xFF\xFE bad" };
        for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) exercise(t, texts[i], strlen(texts[i]));
        exercise(t, buf, size < 2048 ? size : 2048);
        gaze_tokenizer_free(t);
    }
    free(buf);
    return 0;
}
