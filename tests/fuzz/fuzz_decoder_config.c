// config.json through the Hugging Face decoder loader (gaze_model_load on a folder whose
// model_type names a decoder family). The folder holds the tiny Gemma 3 fixture's weights and
// tokenizer (tests/fixtures/decoders/gemma3_text: QK-norm, post-norms, sliding windows, two RoPE
// bases) copied at start-up; each input becomes its config.json. Configs that do not match the
// weights must fail with a message; one that loads must run: a short prompt with capture and two
// generated tokens gives a run that passes gaze_run_check.
#include "fuzz_common.h"

static char g_dir[300], g_cfg[400];
static const char * const k_files[] = { "model.safetensors", "tokenizer.json", "tokenizer_config.json" };

static void cleanup(void) {
    char p[512];
    snprintf(p, sizeof p, "%s/config.json", g_dir);
    unlink(p);
    for (int i = 0; i < 3; i++) { snprintf(p, sizeof p, "%s/%s", g_dir, k_files[i]); unlink(p); }
    rmdir(g_dir);
}

int LLVMFuzzerInitialize(int * argc, char *** argv) {
    fuzz_setup();
    snprintf(g_dir, sizeof g_dir, "%s", fuzz_scratch_dir("decoder"));
    snprintf(g_cfg, sizeof g_cfg, "%s/config.json", g_dir);
    atexit(cleanup);
    for (int i = 0; i < 3; i++) {
        char src[600], dst[512];
        size_t n;
        snprintf(src, sizeof src, "%s/tests/fixtures/decoders/gemma3_text/%s", fuzz_source_dir(), k_files[i]);
        snprintf(dst, sizeof dst, "%s/%s", g_dir, k_files[i]);
        char * buf = fuzz_read_file(src, &n);
        fuzz_write_file(dst, buf, n);
        free(buf);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t * data, size_t size) {
    fuzz_write_file(g_cfg, data, size);
    struct gaze_model * m = (struct gaze_model *)0x1;
    enum gaze_status s = gaze_model_load(&m, g_dir);
    if (s != GAZE_OK) {
        fuzz_check_failure(s, "decoder load");
        FUZZ_REQUIRE(m == NULL, "out not NULL on failure");
        return 0;
    }
    const struct gaze_model_info * info = gaze_model_info(m);
    struct gaze_run r;
    struct gaze_run_opts o = { .parts = GAZE_RUN_PART_ATTN | GAZE_RUN_PART_SCORES | GAZE_RUN_PART_Q | GAZE_RUN_PART_K,
                               .generate = 2, .n_threads = 1 };
    s = gaze_model_run(m, "one two three", NULL, &o, &r);
    if (s == GAZE_OK) {
        FUZZ_REQUIRE(r.T >= 1 && r.T <= info->n_ctx, "T %lld, context %lld", (long long)r.T, (long long)info->n_ctx);
        FUZZ_REQUIRE(gaze_run_check(&r, "run") == GAZE_OK, "run check: %s", gaze_last_error());
        gaze_run_free(&r);
    } else fuzz_check_failure(s, "decoder run");
    gaze_model_free(m);
    return 0;
}
