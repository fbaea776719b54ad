// ModernBERT (and, once its RoBERTa base is in, XLM-RoBERTa) against transformers 4.52.4 (eager,
// output_attentions) on the committed tiny random folders of
// tests/reference/gen_encoder2_fixtures.py: ids identical, every attention map <= 1e-5, the last
// hidden state (after final_norm) <= 1e-4, on texts including one of 188 tokens, past the
// 128-token local window, so local layers really mask (checked: their weights are 0 beyond +-64).
// Plus the config and weight errors a loader must name: unsupported activation, rope scaling,
// vocab size against the embedding rows and the tokenizer, a missing tensor.
#include "check.h"
#include "core/core.h"
#include <jansson.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const struct gaze_st_tensor * golden(struct gaze_safetensors * st, const char * what, int i) {
    char name[64];
    snprintf(name, sizeof name, "%s.%d", what, i);
    return gaze_safetensors_find(st, name);
}

static double rel_diff(const float * a, const float * b, int64_t n) {
    double m = 0;
    for (int64_t k = 0; k < n; k++) m = fmax(m, fabs((double)a[k] - b[k]) / fmax(1.0, fabs((double)b[k])));
    return m;
}

static void test_family(const char * name, int64_t every, int64_t window) {
    char folder[256], path[320];
    snprintf(folder, sizeof folder, "tests/fixtures/encoders/%s", name);
    struct gaze_model * m = NULL;
    enum gaze_status s = gaze_model_load(&m, folder);
    CHECK(s == GAZE_OK, "%s: load: %s", name, gaze_last_error());
    struct gaze_safetensors * st = NULL;
    snprintf(path, sizeof path, "%s/golden.safetensors", folder);
    CHECK(gaze_safetensors_open(&st, path) == GAZE_OK, "%s", gaze_last_error());
    snprintf(path, sizeof path, "%s/cases.json", folder);
    json_error_t err;
    json_t * cases = json_load_file(path, 0, &err);
    CHECK(cases != NULL, "%s: %s", path, err.text);
    if (s || !st || !cases) { gaze_model_free(m); gaze_safetensors_free(st); json_decref(cases); return; }
    const struct gaze_model_info * info = gaze_model_info(m);
    const int64_t L = info->n_layers, H = info->n_heads, C = info->n_embd;
    CHECK(!info->causal && info->layer_window && info->layer_rope_base, "%s: info", name);
    for (int64_t l = 0; info->layer_window && l < L; l++)
        CHECK(info->layer_window[l] == (l % every ? window : 0), "%s: layer %lld window %lld", name, (long long)l,
              (long long)info->layer_window[l]);
    double worst_attn = 0, worst_hidden = 0;
    bool masked_somewhere = false;
    size_t i;
    json_t * c;
    json_array_foreach(cases, i, c) {
        const char * text = json_string_value(json_object_get(c, "text"));
        struct gaze_run_opts opts = { .parts = GAZE_RUN_PART_ATTN | GAZE_RUN_PART_HIDDEN, .n_threads = 2 };
        struct gaze_run run;
        s = gaze_model_run(m, text, NULL, &opts, &run);
        CHECK(s == GAZE_OK, "%s case %zu: run: %s", name, i, gaze_last_error());
        if (s) continue;
        const struct gaze_st_tensor * ti = golden(st, "ids", (int)i), * ta = golden(st, "attentions", (int)i),
                                    * th = golden(st, "hidden", (int)i);
        const int64_t T = run.T;
        bool ids_ok = ti && ti->n_elements == T;
        for (int64_t t = 0; ids_ok && t < T; t++) ids_ok = ((const int32_t *)ti->data)[t] == run.token_ids[t];
        CHECK(ids_ok, "%s case %zu: ids differ from transformers' (T %lld)", name, i, (long long)T);
        if (!ids_ok || !ta || !th) { gaze_run_free(&run); continue; }
        for (int64_t l = 0; l < L; l++) {
            const struct gaze_run_layer * ly = gaze_run_find_layer(&run, l);
            const float * ref = (const float *)ta->data + l * H * T * T;
            double md = 0;
            for (int64_t k = 0; k < H * T * T; k++) md = fmax(md, fabs((double)ly->attn[k] - ref[k]));
            CHECK(md <= 1e-5, "%s case %zu: layer %lld attention differs by %g", name, i, (long long)l, md);
            worst_attn = fmax(worst_attn, md);
            if (l % every && T > window / 2 + 1) {   // a local layer: nothing beyond the window
                double out = 0;
                for (int64_t h = 0; h < H; h++)
                    for (int64_t q = 0; q < T; q++)
                        for (int64_t k = 0; k < T; k++)
                            if (llabs(q - k) > window / 2) out = fmax(out, ly->attn[(h * T + q) * T + k]);
                CHECK(out == 0, "%s case %zu: local layer %lld attends beyond the window (%g)", name, i, (long long)l, out);
                masked_somewhere = true;
            }
        }
        const double hd = rel_diff(gaze_run_find_layer(&run, L - 1)->hidden, th->data, T * C);
        CHECK(hd <= 1e-4, "%s case %zu: last hidden state differs by %g", name, i, hd);
        worst_hidden = fmax(worst_hidden, hd);
        // the run records each layer's window
        bool rec = false;
        for (int64_t k = 0; k < run.n_extra; k++) rec |= !strcmp(run.extra_keys[k], "encoder.sliding_window") && run.extra_values[k][0] == '[';
        CHECK(rec, "%s: encoder.sliding_window recorded", name);
        gaze_run_free(&run);
    }
    CHECK(masked_somewhere, "%s: no case was longer than the local window", name);
    printf("%s: %zu cases, attention max err %.3g, hidden max rel err %.3g\n", name, json_array_size(cases), worst_attn, worst_hidden);
    json_decref(cases);
    gaze_safetensors_free(st);
    gaze_model_free(m);
}

/* ---- refusals ------------------------------------------------------------------------------- */

static void copy_file(const char * from, const char * to) {
    FILE * a = fopen(from, "rb"), * b = fopen(to, "wb");
    char buf[65536];
    size_t n;
    while (a && b && (n = fread(buf, 1, sizeof buf, a)) > 0) fwrite(buf, 1, n, b);
    if (a) fclose(a);
    if (b) fclose(b);
}

// A copy of the modernbert fixture with config.json edited (key = value as JSON).
static enum gaze_status load_edited(const char * dir, const char * key, const char * value) {
    static const char * const files[] = { "model.safetensors", "tokenizer.json", "tokenizer_config.json" };
    char a[512], b[512];
    mkdir(dir, 0755);
    for (int k = 0; k < 3; k++) {
        snprintf(a, sizeof a, "tests/fixtures/encoders/modernbert/%s", files[k]);
        snprintf(b, sizeof b, "%s/%s", dir, files[k]);
        copy_file(a, b);
    }
    json_t * cfg = json_load_file("tests/fixtures/encoders/modernbert/config.json", 0, NULL);
    json_object_set_new(cfg, key, json_loads(value, JSON_DECODE_ANY, NULL));
    snprintf(b, sizeof b, "%s/config.json", dir);
    json_dump_file(cfg, b, 0);
    json_decref(cfg);
    struct gaze_model * m = NULL;
    enum gaze_status s = gaze_model_load(&m, dir);
    gaze_model_free(m);
    return s;
}

static void test_refusals(void) {
    char dir[128];
    snprintf(dir, sizeof dir, "/tmp/gaze_mb_%d", (int)getpid());
    static const struct { const char * key, * value, * want; } bad[] = {
        { "hidden_activation", "\"silu\"", "hidden_activation \"silu\"" },
        { "rope_scaling", "{\"rope_type\": \"linear\", \"factor\": 2}", "rope_scaling" },
        { "vocab_size", "401", "tok_embeddings.weight has shape [400, 32], expected [401, 32]" },
        { "vocab_size", "100", "vocab_size is 100" },
        { "global_attn_every_n_layers", "0", "global_attn_every_n_layers" },
        { "attention_bias", "true", "Wqkv.bias is missing" },
        { "norm_bias", "true", "embeddings.norm.bias is missing" },
        { "num_attention_heads", "5", "not a multiple" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        enum gaze_status s = load_edited(dir, bad[i].key, bad[i].value);
        CHECK(s != GAZE_OK && strstr(gaze_last_error(), bad[i].want), "%s = %s: status %d, \"%s\"", bad[i].key, bad[i].value, s,
              gaze_last_error());
    }
    // pairs are refused by name rather than run as one text
    struct gaze_model * m = NULL;
    if (gaze_model_load(&m, "tests/fixtures/encoders/modernbert") == GAZE_OK) {
        struct gaze_run run;
        enum gaze_status s = gaze_model_run(m, "a", "b", NULL, &run);
        CHECK(s == GAZE_ERR_UNSUPPORTED && strstr(gaze_last_error(), "pairs"), "pair: %d %s", s, gaze_last_error());
    }
    gaze_model_free(m);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
}

int main(void) {
    if (getenv("GAZE_SOURCE_DIR") && chdir(getenv("GAZE_SOURCE_DIR")) != 0) return 1;
    test_family("modernbert", 3, 128);
    test_family("modernbert_bias", 2, 128);
    test_refusals();
    return check_summary("test_encoder2_golden");
}
