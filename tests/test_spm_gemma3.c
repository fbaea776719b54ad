// SentencePiece on the real thing: Gemma 3 270M's GGUF vocab (262144 tokens), ids identical to
// llama.cpp on tests/fixtures/spm/gemma3_cases.json (tests/reference/gen_spm_fixtures.py).
// The model is not in the repository: $GAZE_GEMMA3, else ~/.cache/gaze/models/gemma3/*.gguf
// (`gaze fetch gemma3`). Without it the test exits 77, which ctest reports as Skipped, unless
// GAZE_REQUIRE_GEMMA3=1 (CI that promises the model), where absence is a failure.
#include "check.h"
#include "gaze.h"
#include "spm_cases.h"
#include <dirent.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

static bool find_gguf(char * path, size_t cap) {
    const char * env = getenv("GAZE_GEMMA3");
    if (env && *env) { snprintf(path, cap, "%s", env); return access(path, R_OK) == 0; }
    const char * home = getenv("GAZE_HOME");
    char dir[3072];
    if (home && *home) snprintf(dir, sizeof dir, "%s/models/gemma3", home);
    else snprintf(dir, sizeof dir, "%s/.cache/gaze/models/gemma3", getenv("HOME") ? getenv("HOME") : ".");
    DIR * d = opendir(dir);
    snprintf(path, cap, "%s/*.gguf", dir);
    if (!d) return false;
    struct dirent * e;
    bool found = false;
    while (!found && (e = readdir(d))) {
        size_t n = strlen(e->d_name);
        if (n > 5 && !strcmp(e->d_name + n - 5, ".gguf")) { snprintf(path, cap, "%s/%s", dir, e->d_name); found = true; }
    }
    closedir(d);
    return found;
}

int main(void) {
    char path[4096];
    if (!find_gguf(path, sizeof path)) {
        const char * req = getenv("GAZE_REQUIRE_GEMMA3");
        if (req && !strcmp(req, "1")) {
            fprintf(stderr, "FAIL: GAZE_REQUIRE_GEMMA3=1 but no Gemma 3 GGUF at %s (run `gaze fetch gemma3` or set GAZE_GEMMA3)\n", path);
            return 1;
        }
        printf("SKIP test_spm_gemma3: no Gemma 3 GGUF at %s (set GAZE_GEMMA3 or run `gaze fetch gemma3`)\n", path);
        return 77;
    }
    const char * dir = getenv("GAZE_SOURCE_DIR");
    char fx[4096];
    snprintf(fx, sizeof fx, "%s/tests/fixtures/spm/gemma3_cases.json", dir && *dir ? dir : ".");
    json_error_t err;
    json_t * doc = json_load_file(fx, 0, &err);
    CHECK(doc != NULL, "%s: %s", fx, err.text);
    struct gaze_tokenizer * t = NULL;
    enum gaze_status s = gaze_tokenizer_open(path, &t);
    CHECK(s == GAZE_OK, "%s: %s", path, gaze_last_error());
    if (doc && t) {
        CHECK(gaze_tokenizer_kind(t) == GAZE_TOKENIZER_SPM && gaze_tokenizer_vocab_size(t) == 262144,
              "%s: kind %d, %d tokens", path, gaze_tokenizer_kind(t), gaze_tokenizer_vocab_size(t));
        struct gaze_tokenizer_specials sp = gaze_tokenizer_specials(t);
        CHECK(sp.bos == 2 && sp.eos == 1 && sp.add_bos, "specials: bos %d eos %d", sp.bos, sp.eos);
        // generation stops at <end_of_turn> (106) as at <eos>, not at <start_of_turn> (105)
        CHECK(gaze_tokenizer_is_eog(t, 106) && gaze_tokenizer_is_eog(t, 1) && !gaze_tokenizer_is_eog(t, 105),
              "end of generation: <end_of_turn> %d <eos> %d <start_of_turn> %d", gaze_tokenizer_is_eog(t, 106),
              gaze_tokenizer_is_eog(t, 1), gaze_tokenizer_is_eog(t, 105));
        int n = spm_run_cases(t, json_object_get(doc, "cases"), NULL);
        CHECK(n >= 60, "only %d cases", n);
        printf("gemma3: %d cases against llama.cpp\n", n);
    }
    gaze_tokenizer_free(t);
    json_decref(doc);
    return check_summary("test_spm_gemma3");
}
