// The UTF-8 decoders on arbitrary bytes. Two independent implementations (text/utf8.c for the
// tokenizers, formats/json.c for JSON and run files) must agree on every input; decoding then
// encoding gives the same bytes; sanitizing gives valid UTF-8 and leaves valid input unchanged.
#include "fuzz_common.h"
#include "formats/json.h"
#include "text/utf8.h"

int LLVMFuzzerInitialize(int * argc, char *** argv) {
    fuzz_setup();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t * data, size_t size) {
    uint8_t * s = fuzz_dup(data, size);
    const size_t first = gaze_utf8_first_invalid((const char *)s, size);
    size_t bad = (size_t)-1;
    const bool valid = gaze_json_utf8_valid((const char *)s, size, &bad);
    FUZZ_REQUIRE(valid == (first == size), "decoders disagree: text/utf8 first invalid %zu, json valid %d", first, valid);
    FUZZ_REQUIRE(valid || bad == first, "decoders disagree on the offset: %zu vs %zu", first, bad);
    enum gaze_status st = gaze_utf8_validate((const char *)s, size, "fuzz");
    FUZZ_REQUIRE((st == GAZE_OK) == valid, "validate");
    if (st) fuzz_check_failure(st, "validate");

    // decode the valid prefix code point by code point; encode each back
    size_t i = 0;
    while (i < first) {
        uint32_t cp = 0;
        int len = gaze_utf8_decode(s, size, i, &cp);
        FUZZ_REQUIRE(len >= 1 && len <= 4 && i + (size_t)len <= size, "decode length %d at %zu", len, i);
        FUZZ_REQUIRE(cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF), "decoded U+%X", cp);
        char enc[4];
        int el = gaze_utf8_encode(cp, enc);
        FUZZ_REQUIRE(el == len && !memcmp(enc, s + i, (size_t)len), "encode(decode) differs at %zu", i);
        i += (size_t)len;
    }
    FUZZ_REQUIRE(i == first, "prefix walk ended at %zu, not %zu", i, first);
    if (first < size) {
        uint32_t cp;
        FUZZ_REQUIRE(gaze_utf8_decode(s, size, first, &cp) == 0, "first invalid decodes");
    }

    size_t out_len = 0;
    char * clean = gaze_json_utf8_sanitize((const char *)s, size, &out_len);
    FUZZ_REQUIRE(clean != NULL, "sanitize failed");
    FUZZ_REQUIRE(clean[out_len] == 0 && out_len <= 3 * size, "sanitize length");
    FUZZ_REQUIRE(gaze_utf8_first_invalid(clean, out_len) == out_len, "sanitized output invalid");
    if (valid) FUZZ_REQUIRE(out_len == size && !memcmp(clean, s, size), "sanitize changed valid input");
    else FUZZ_REQUIRE(out_len >= 3, "invalid input sanitized to nothing");
    // idempotent
    size_t l2 = 0;
    char * again = gaze_json_utf8_sanitize(clean, out_len, &l2);
    FUZZ_REQUIRE(again && l2 == out_len && !memcmp(again, clean, l2), "sanitize not idempotent");
    free(again);
    free(clean);
    free(s);
    return 0;
}
