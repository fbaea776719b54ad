// Gemma 3 270M (Q4_K_M GGUF) against transformers' GGUF loader and llama.cpp, from the fixtures
// of tests/reference/gen_gemma3_fixtures.py (tests/fixtures/gemma3): tests/golden_decoder.h with
// layers 0 (local), 5 (global), 6 (local), 17 (global, last), attention within 1e-4, BOS added
// (the file says add_bos_token = true), a prompt longer than the 512-token sliding window.
// The model is not in the repository: $GAZE_GEMMA3, else $GAZE_HOME/models/gemma3/ (default
// ~/.cache/gaze/models/gemma3/, `gaze fetch gemma3`, which scripts/fetch-test-models runs for
// make test). Absent, the test fails saying so: it is never skipped.
#include "golden_decoder.h"
#include <unistd.h>

int main(void) {
    char path[4200];
    const char * env = getenv("GAZE_GEMMA3");
    if (env && *env) {
        snprintf(path, sizeof path, "%s", env);
    } else {
        char models[4096];
        if (gaze_models_dir(models, sizeof models) != GAZE_OK) {
            CHECK(false, "models dir: %s", gaze_last_error());
            return check_summary("test_gemma3_golden");
        }
        snprintf(path, sizeof path, "%s/gemma3/gemma-3-270m-q4_k_m.gguf", models);
    }
    if (access(path, R_OK) != 0) {
        CHECK(false, "no Gemma 3 270M at %s: run `gaze fetch gemma3` (or set GAZE_GEMMA3 to the .gguf)", path);
        return check_summary("test_gemma3_golden");
    }
    static const int64_t layers[] = { 0, 5, 6, 17 };
    const struct golden_spec sp = { "test_gemma3_golden", path, "run `gaze fetch gemma3`", "gemma3", layers, 4,
                                    1e-4, 513, 90 };
    return golden_run(&sp);
}
