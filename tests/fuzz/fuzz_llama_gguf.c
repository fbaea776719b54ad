// The Llama loader on arbitrary GGUF bytes (gaze_model_load on a .gguf file): hyperparameters,
// tokenizer metadata, tensor shapes and types. Seeds are tiny complete models (hidden 8 or 32,
// 1-2 layers, ~280-token vocab). A model that loads must run: a short prompt with capture and
// two generated tokens gives a run that passes gaze_run_check, and a prompt longer than the
// context is refused (GAZE_ERR_LIMIT) unless truncation is asked for.
#include "fuzz_common.h"

static char g_path[400];

static void cleanup(void) { if (g_path[0]) unlink(g_path); rmdir(fuzz_scratch_dir("llama")); }

int LLVMFuzzerInitialize(int * argc, char *** argv) {
    fuzz_setup();
    snprintf(g_path, sizeof g_path, "%s/model.gguf", fuzz_scratch_dir("llama"));
    atexit(cleanup);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t * data, size_t size) {
    fuzz_write_file(g_path, data, size);
    struct gaze_model * m = (struct gaze_model *)0x1;
    enum gaze_status s = gaze_model_load(&m, g_path);
    if (s != GAZE_OK) {
        fuzz_check_failure(s, "llama load");
        FUZZ_REQUIRE(m == NULL, "out not NULL on failure");
        return 0;
    }
    const struct gaze_model_info * info = gaze_model_info(m);
    // bound the work of one input: the forward pass costs ~ layers x (C^2 + C F) per token
    const double cost = (double)info->n_layers * (double)info->n_embd * (double)(info->n_embd + info->n_ff) *
                        (double)(info->n_vocab > 4096 ? 4096 : 1);
    if (cost > 5e7) { gaze_model_free(m); return 0; }
    for (int exact = 0; exact < 2; exact++) {
        s = gaze_model_set_exact(m, exact);
        FUZZ_REQUIRE(s == GAZE_OK, "set_exact: %s", gaze_last_error());
        struct gaze_run r;
        struct gaze_run_opts o = { .parts = GAZE_RUN_PART_ATTN | GAZE_RUN_PART_SCORES | GAZE_RUN_PART_Q | GAZE_RUN_PART_K,
                                   .generate = exact ? 0 : 2, .n_threads = 1 };
        s = gaze_model_run(m, "Hello world, it's me.", NULL, &o, &r);
        if (s == GAZE_OK) {
            FUZZ_REQUIRE(r.T >= 1 && r.T <= info->n_ctx, "T %lld, context %lld", (long long)r.T, (long long)info->n_ctx);
            // at any finite score magnitude (RESULTS.md F5/N6: the probe keeps row max and sum apart)
            FUZZ_REQUIRE(gaze_run_check(&r, "run") == GAZE_OK, "run check: %s", gaze_last_error());
            gaze_run_free(&r);
        } else fuzz_check_failure(s, "llama run");
    }
    if (info->n_ctx <= 64) {
        char text[1200] = "";
        for (int i = 0; i < 100; i++) strcat(text, " the cat");
        struct gaze_run r;
        struct gaze_run_opts o = { .n_threads = 1 };
        s = gaze_model_run(m, text, NULL, &o, &r);
        if (s == GAZE_OK) {
            FUZZ_REQUIRE(r.T <= info->n_ctx, "ran %lld tokens with a context of %lld", (long long)r.T, (long long)info->n_ctx);
            gaze_run_free(&r);
        } else fuzz_check_failure(s, "llama run (long)");
        o.truncate = true;
        s = gaze_model_run(m, text, NULL, &o, &r);
        if (s == GAZE_OK) {
            FUZZ_REQUIRE(r.T <= info->n_ctx, "truncated run has %lld tokens, context %lld", (long long)r.T, (long long)info->n_ctx);
            gaze_run_free(&r);
        } else fuzz_check_failure(s, "llama run (truncated)");
    }
    gaze_model_free(m);
    return 0;
}
