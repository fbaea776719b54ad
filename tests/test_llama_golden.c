// SmolLM2-135M-Instruct (Q4_1 GGUF) against transformers' GGUF loader and llama.cpp, from the
// fixtures of tests/reference/gen_llama_fixtures.py (tests/fixtures/llama): tests/golden_decoder.h
// with layers 0, 14, 29, attention within 1e-3, no BOS (the file says add_bos_token = false),
// quantized top-1 = HF on at least 90% of the prompts.
// Needs $GAZE_HOME/models/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf (scripts/fetch-test-models).
#include "golden_decoder.h"

int main(void) {
    char models[4096], path[4200];
    if (gaze_models_dir(models, sizeof models) != GAZE_OK) { CHECK(false, "models dir: %s", gaze_last_error()); return check_summary("test_llama_golden"); }
    snprintf(path, sizeof path, "%s/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf", models);
    static const int64_t layers[] = { 0, 14, 29 };
    const struct golden_spec sp = { "test_llama_golden", path, "run scripts/fetch-test-models", "llama", layers, 3,
                                    1e-3, 300, 90 };
    return golden_run(&sp);
}
