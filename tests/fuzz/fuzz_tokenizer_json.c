// tokenizer.json parser on arbitrary bytes (gaze_wordpiece_init_json). A tokenizer that loads
// must tokenize fixed texts (with pairs, truncation, no specials) and the input itself with
// every id in range and every offset inside its text.
#include "fuzz_wp_common.h"

int LLVMFuzzerInitialize(int * argc, char *** argv) {
    fuzz_setup();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t * data, size_t size) {
    char * buf = (char *)fuzz_dup(data, size);
    struct gaze_wordpiece * tok = (struct gaze_wordpiece *)0x1;
    enum gaze_status s = gaze_wordpiece_init_json(&tok, buf, size, "fuzz/tokenizer.json");
    if (s != GAZE_OK) {
        fuzz_check_failure(s, "tokenizer.json init");
        FUZZ_REQUIRE(tok == NULL, "out not NULL on failure");
    } else {
        wp_exercise(tok, data, size < 4096 ? size : 4096);
        gaze_wordpiece_free(tok);
    }
    free(buf);
    return 0;
}
