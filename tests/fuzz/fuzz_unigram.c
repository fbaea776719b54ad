// The Unigram tokenizer (text/unigram.c) and its normalizers (text/normalize.c) on arbitrary
// bytes. Input: flags [1], a precompiled_charsmap blob (length le32 [4], then the bytes), then a
// text. The harness wraps the blob in base64 inside a tokenizer.json whose normalizer chain,
// Metaspace scheme, byte fallback and unk come from the flags, over a fixed small vocabulary; a
// charsmap that loads must never make encode read outside it (the loader checked every offset),
// and every id and offset must be in range. An input starting with '{' is a whole tokenizer.json.
#include "fuzz_common.h"
#include "core/sha256.h"
#include "text/tokenizer.h"

int LLVMFuzzerInitialize(int * argc, char *** argv) {
    fuzz_setup();
    return 0;
}

static void exercise(const struct gaze_tokenizer * t, const char * text, size_t n) {
    const int32_t V = gaze_tokenizer_vocab_size(t);
    struct gaze_encoding e = { 0 };
    for (int mode = 0; mode < 2; mode++) {
        struct gaze_tokenizer_encode_opts o = { 0 };
        o.no_special = mode;
        o.replace_invalid = true;
        enum gaze_status s = gaze_tokenizer_encode(t, text, n, &o, &e);
        if (s) { fuzz_check_failure_ex(s, "unigram encode", false); continue; }
        for (int64_t i = 0; i < e.n_tokens; i++) {
            FUZZ_REQUIRE(e.ids[i] >= 0 && e.ids[i] < V, "id %d out of range (V %d)", e.ids[i], V);
            FUZZ_REQUIRE(e.offsets[2 * i] >= 0 && e.offsets[2 * i] <= e.offsets[2 * i + 1] && e.offsets[2 * i + 1] <= (int64_t)n,
                         "offsets [%lld, %lld) outside %zu bytes", (long long)e.offsets[2 * i], (long long)e.offsets[2 * i + 1], n);
        }
        char * d = NULL;
        size_t dl;
        FUZZ_REQUIRE(gaze_tokenizer_decode(t, e.ids, e.n_tokens, mode, &d, &dl) == GAZE_OK, "decode: %s", gaze_last_error());
        free(d);
    }
    gaze_encoding_free(&e);
}

static const char * const k_norm[] = {
    "", ", {\"type\": \"Strip\", \"strip_left\": true, \"strip_right\": true}",
    ", {\"type\": \"Replace\", \"pattern\": {\"Regex\": \" {2,}\"}, \"content\": \"\\u2581\"}",
    ", {\"type\": \"Replace\", \"pattern\": {\"String\": \"a\"}, \"content\": \"\\u00e9\\u00e9\"}, {\"type\": \"Prepend\", \"prepend\": \"\\u2581\"}",
};
static const char * const k_scheme[] = { "always", "first", "never", "always" };

int LLVMFuzzerTestOneInput(const uint8_t * data, size_t size) {
    struct gaze_tokenizer * t = (struct gaze_tokenizer *)0x1;
    if (size && data[0] == '{') {
        char * buf = (char *)fuzz_dup(data, size);
        enum gaze_status s = tok_from_json_buffer(buf, size, "fuzz/tokenizer.json", &t);
        if (s) { fuzz_check_failure(s, "tokenizer.json"); FUZZ_REQUIRE(t == NULL, "out not NULL on failure"); }
        else { exercise(t, "Hello  w\xC3\xB6rld \xEF\xBC\xA1 \xE2\x91\xA0", 20); gaze_tokenizer_free(t); }
        free(buf);
        return 0;
    }
    if (size < 5) return 0;
    uint8_t flags = data[0];
    size_t bl = (size_t)data[1] | (size_t)data[2] << 8 | (size_t)data[3] << 16 | (size_t)data[4] << 24;
    if (bl > size - 5) bl = size - 5;
    const uint8_t * blob = data + 5, * text = blob + bl;
    size_t tn = size - 5 - bl;
    char * b64 = malloc(4 * ((bl + 2) / 3) + 1);
    gaze_base64_encode(blob, bl, b64);
    b64[4 * ((bl + 2) / 3)] = 0;
    size_t cap = strlen(b64) + 16384;
    char * doc = malloc(cap), * p = doc;
    p += sprintf(p, "{\"normalizer\": {\"type\": \"Sequence\", \"normalizers\": [{\"type\": \"Precompiled\", \"precompiled_charsmap\": \"%s\"}%s]},",
                 b64, k_norm[flags & 3]);
    if (!(flags & 4)) p += sprintf(p, "\"pre_tokenizer\": {\"type\": \"Metaspace\", \"replacement\": \"\\u2581\", \"prepend_scheme\": \"%s\", \"split\": %s},",
                                   k_scheme[(flags >> 3) & 3], flags & 32 ? "false" : "true");
    p += sprintf(p, "\"added_tokens\": [{\"id\": 1, \"content\": \"<s>\", \"special\": true}, {\"id\": 2, \"content\": \"</s>\", \"special\": true, \"lstrip\": true}],");
    p += sprintf(p, "\"post_processor\": {\"type\": \"TemplateProcessing\", \"single\": [{\"SpecialToken\": {\"id\": \"<s>\"}}, {\"Sequence\": {\"id\": \"A\"}},"
                 " {\"SpecialToken\": {\"id\": \"</s>\"}}], \"special_tokens\": {\"<s>\": {\"ids\": [1]}, \"</s>\": {\"ids\": [2]}}},");
    p += sprintf(p, "\"model\": {\"type\": \"Unigram\", %s\"byte_fallback\": %s, \"vocab\": [[\"<unk>\", 0], [\"<s>\", 0], [\"</s>\", 0]",
                 flags & 64 ? "" : "\"unk_id\": 0, ", flags & 128 ? "true" : "false");
    static const char * const pieces[] = { "\\u2581", "a", "b", "c", "ab", "bc", "\\u2581a", "\\u2581ab", "abc", "\\u00e9", " ", "1", "\\u2581\\u2581" };
    for (size_t i = 0; i < sizeof pieces / sizeof *pieces; i++) p += sprintf(p, ", [\"%s\", %d.5]", pieces[i], -(int)(i % 5) - 1);
    if (flags & 128) for (int c = 0; c < 256; c++) p += sprintf(p, ", [\"<0x%02X>\", -20]", c);
    p += sprintf(p, "]}}");
    enum gaze_status s = tok_from_json_buffer(doc, (size_t)(p - doc), "fuzz/unigram.json", &t);
    if (s) {
        fuzz_check_failure(s, "unigram tokenizer.json");
        FUZZ_REQUIRE(t == NULL, "out not NULL on failure");
    } else {
        exercise(t, (const char *)text, tn < 4096 ? tn : 4096);
        gaze_tokenizer_free(t);
    }
    free(doc);
    free(b64);
    return 0;
}
