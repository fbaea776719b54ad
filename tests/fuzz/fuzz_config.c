// config.json through the BERT-like encoders' loader (gaze_model_load on a folder: bert, roberta,
// electra, distilbert by model_type). The folder holds a tiny
// BERT (hidden 4, 2 heads, 1 layer, FFN 8, 16 positions, 2 types, 32-token vocab.txt) written
// at start-up; each input becomes its config.json. Configs that do not match the weights must
// fail with a message; one that loads must run: a short text gives finite attention and a
// finite embedding, and a text longer than the position table is refused (GAZE_ERR_LIMIT)
// unless truncation is asked for.
#include "fuzz_common.h"
#include <math.h>

enum { C = 4, H = 2, L = 1, F = 8, NPOS = 16, NTYPES = 2 };
static const char * const k_vocab[] = {
    "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "cat", "sat", "on", "mat", "hello", "world",
    "a", "b", "c", "d", "e", "##s", "##ing", ",", ".", "!", "?", "'", "x", "y", "z", "1", "2", "3", "\xe4\xb8\xad", "##a",
};
#define NV ((int)(sizeof k_vocab / sizeof k_vocab[0]))
static char g_dir[300], g_cfg[400];

static void cleanup(void) {
    char p[512];
    const char * files[] = { "config.json", "model.safetensors", "vocab.txt" };
    for (int i = 0; i < 3; i++) { snprintf(p, sizeof p, "%s/%s", g_dir, files[i]); unlink(p); }
    rmdir(g_dir);
}

static void add(struct gaze_st_writer * w, const char * name, int64_t d0, int64_t d1, float base) {
    const int64_t n = d1 ? d0 * d1 : d0;
    float * f = malloc((size_t)n * sizeof *f);
    for (int64_t i = 0; i < n; i++) f[i] = base + 0.01f * (float)((i * 7) % 13) - 0.05f;
    const int64_t shape[2] = { d0, d1 };
    if (gaze_st_writer_add_f32(w, name, GAZE_DTYPE_F32, d1 ? 2 : 1, shape, f)) { fprintf(stderr, "%s\n", gaze_last_error()); abort(); }
    free(f);
}

int LLVMFuzzerInitialize(int * argc, char *** argv) {
    fuzz_setup();
    snprintf(g_dir, sizeof g_dir, "%s", fuzz_scratch_dir("config"));
    snprintf(g_cfg, sizeof g_cfg, "%s/config.json", g_dir);
    atexit(cleanup);
    char p[512];
    snprintf(p, sizeof p, "%s/vocab.txt", g_dir);
    FILE * f = fopen(p, "w");
    for (int i = 0; i < NV; i++) fprintf(f, "%s\n", k_vocab[i]);
    fclose(f);
    snprintf(p, sizeof p, "%s/model.safetensors", g_dir);
    struct gaze_st_writer * w;
    if (gaze_st_writer_init(&w, p)) abort();
    add(w, "embeddings.word_embeddings.weight", NV, C, 0.0f);
    add(w, "embeddings.position_embeddings.weight", NPOS, C, 0.0f);
    add(w, "embeddings.token_type_embeddings.weight", NTYPES, C, 0.0f);
    add(w, "embeddings.LayerNorm.weight", C, 0, 1.0f);
    add(w, "embeddings.LayerNorm.bias", C, 0, 0.0f);
    const char * lin[6] = { "attention.self.query", "attention.self.key", "attention.self.value",
                            "attention.output.dense", "intermediate.dense", "output.dense" };
    for (int l = 0; l < L; l++) {
        char name[256];
        for (int k = 0; k < 6; k++) {
            const int64_t no = k == 4 ? F : C, ni = k == 5 ? F : C;
            snprintf(name, sizeof name, "encoder.layer.%d.%s.weight", l, lin[k]); add(w, name, no, ni, 0.1f);
            snprintf(name, sizeof name, "encoder.layer.%d.%s.bias", l, lin[k]); add(w, name, no, 0, 0.0f);
        }
        const char * ln[2] = { "attention.output.LayerNorm", "output.LayerNorm" };
        for (int k = 0; k < 2; k++) {
            snprintf(name, sizeof name, "encoder.layer.%d.%s.weight", l, ln[k]); add(w, name, C, 0, 1.0f);
            snprintf(name, sizeof name, "encoder.layer.%d.%s.bias", l, ln[k]); add(w, name, C, 0, 0.0f);
        }
    }
    if (gaze_st_writer_finish(w)) { fprintf(stderr, "%s\n", gaze_last_error()); abort(); }
    gaze_st_writer_free(w);
    return 0;
}

static void check_run(const struct gaze_run * r, const struct gaze_model_info * info) {
    FUZZ_REQUIRE(r->T >= 1 && r->T <= info->n_ctx, "T %lld, positions %lld", (long long)r->T, (long long)info->n_ctx);
    FUZZ_REQUIRE(gaze_run_check(r, "run") == GAZE_OK, "run check: %s", gaze_last_error());
    for (int64_t c = 0; r->embedding && c < r->n_embd; c++)
        FUZZ_REQUIRE(isfinite(r->embedding[c]), "embedding[%lld] = %g (silent NaN/Inf)", (long long)c, r->embedding[c]);
}

int LLVMFuzzerTestOneInput(const uint8_t * data, size_t size) {
    fuzz_write_file(g_cfg, data, size);
    struct gaze_model * m = (struct gaze_model *)0x1;
    enum gaze_status s = gaze_model_load(&m, g_dir);
    if (s != GAZE_OK) {
        fuzz_check_failure(s, "bert load");
        FUZZ_REQUIRE(m == NULL, "out not NULL on failure");
        return 0;
    }
    const struct gaze_model_info * info = gaze_model_info(m);
    // (the head count is free: hidden 4 splits into 1, 2 or 4 heads over the same weights)
    // (RoBERTa's positions start after its pad_token_id: fewer usable than the table's rows)
    FUZZ_REQUIRE(info->n_embd == C && info->n_layers == L && info->n_ctx >= 1 && info->n_ctx <= NPOS &&
                 C % info->n_heads == 0, "loaded a config that does not match the weights");
    struct gaze_run r;
    struct gaze_run_opts o = { .parts = GAZE_RUN_PART_ATTN | GAZE_RUN_PART_SCORES, .n_threads = 1 };
    s = gaze_model_run(m, "hello world, the cat sat!", NULL, &o, &r);
    if (s == GAZE_OK) { check_run(&r, info); gaze_run_free(&r); }
    else fuzz_check_failure(s, "bert run");
    const char * long_text = "a b c d e a b c d e a b c d e a b c d e a b c d e";   // 25 words > 16 positions
    s = gaze_model_run(m, long_text, "x y z", &o, &r);
    FUZZ_REQUIRE(s != GAZE_OK, "ran past the position table");
    FUZZ_REQUIRE(s == GAZE_ERR_LIMIT, "over-long input: %s, expected GAZE_ERR_LIMIT: %s", gaze_status_name(s), gaze_last_error());
    o.truncate = true;
    s = gaze_model_run(m, long_text, "x y z", &o, &r);
    if (s == GAZE_OK) { check_run(&r, info); gaze_run_free(&r); }
    else fuzz_check_failure(s, "bert run truncated");
    gaze_model_free(m);
    return 0;
}
