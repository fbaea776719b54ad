// The generic decoder against transformers 4.51.3 on tiny random models of every family
// (tests/fixtures/decoders/<family>/, made by tests/reference/gen_decoder_fixtures.py): for
// each text, token ids identical, every layer's attention weights within 1e-5 of HF's eager
// attention (output_attentions), the last position's logits within 1e-4, the prompt loss
// within 1e-4, and the greedy continuation (8 tokens or to EOS) identical. Also: the fused
// path and the capture-free path generate the same tokens, and runs record each layer's
// sliding window.
#include "check.h"
#include "gaze.h"
#include "models/decoder.h"
#include "models/model.h"
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define ATTN_TOL 1e-5
#define LOGIT_TOL 1e-4

static const char * src_dir(void) {
    const char * d = getenv("GAZE_SOURCE_DIR");
    return d && *d ? d : ".";
}

static const struct gaze_st_tensor * get(const struct gaze_safetensors * st, const char * fmt, int i, int l) {
    char name[96];
    snprintf(name, sizeof name, fmt, i, l);
    return gaze_safetensors_find(st, name);
}

static double max_abs_f32(const float * a, const void * b_raw, int64_t n) {
    double m = 0;
    for (int64_t i = 0; i < n; i++) {
        float b;
        memcpy(&b, (const char *)b_raw + 4 * i, 4);
        double e = fabs((double)a[i] - (double)b);
        if (!(e <= m)) m = e;   // NaN wins
    }
    return m;
}

static void check_family(const char * family) {
    char folder[4096], gpath[4200];
    snprintf(folder, sizeof folder, "%s/tests/fixtures/decoders/%s", src_dir(), family);
    snprintf(gpath, sizeof gpath, "%s/golden.safetensors", folder);
    struct gaze_model * model = NULL;
    struct gaze_safetensors * st = NULL;
    enum gaze_status s = gaze_model_load(&model, folder);
    CHECK(s == GAZE_OK, "%s: load: %s", family, gaze_last_error());
    CHECK(gaze_safetensors_open(&st, gpath) == GAZE_OK, "%s: golden: %s", family, gaze_last_error());
    if (!model || !st) { gaze_model_free(model); gaze_safetensors_free(st); return; }
    const struct gaze_model_info * info = gaze_model_info(model);
    CHECK(!strcmp(info->arch_name, family) && info->causal, "%s: arch_name %s", family, info->arch_name);
    json_t * texts = json_loads(gaze_safetensors_metadata(st, "texts"), 0, NULL);
    CHECK(json_array_size(texts) >= 3, "%s: texts", family);
    double worst_attn = 0, worst_logit = 0;
    for (int i = 0; i < (int)json_array_size(texts); i++) {
        const char * text = json_string_value(json_array_get(texts, (size_t)i));
        const struct gaze_st_tensor * ids = get(st, "case%d.ids", i, 0), * logits = get(st, "case%d.logits", i, 0),
                                    * greedy = get(st, "case%d.greedy", i, 0);
        if (!ids || !logits || !greedy) { CHECK(false, "%s: case %d incomplete", family, i); continue; }
        const int64_t T = ids->n_elements;
        struct gaze_run_opts opts = { 0 };
        opts.parts = GAZE_RUN_PART_ATTN;
        double loss = 0;
        opts.loss = &loss;
        struct gaze_run run;
        s = gaze_model_run(model, text, NULL, &opts, &run);
        CHECK(s == GAZE_OK, "%s case %d: run: %s", family, i, gaze_last_error());
        if (s) continue;
        CHECK(run.T == T && !memcmp(run.token_ids, ids->data, (size_t)T * 4), "%s case %d: token ids differ (T %lld vs %lld)",
              family, i, (long long)run.T, (long long)T);
        if (run.T == T) {
            for (int64_t l = 0; l < info->n_layers; l++) {
                const struct gaze_st_tensor * a = get(st, "case%d.attn.%d", i, (int)l);
                const struct gaze_run_layer * ly = gaze_run_find_layer(&run, l);
                if (!a || !ly || !ly->attn) { CHECK(false, "%s case %d layer %lld missing", family, i, (long long)l); continue; }
                CHECK(a->n_elements == info->n_heads * T * T, "%s: attention shape", family);
                const double e = max_abs_f32(ly->attn, a->data, a->n_elements);
                worst_attn = e > worst_attn ? e : worst_attn;
                CHECK(e <= ATTN_TOL, "%s case %d layer %lld: attention max error %.3g", family, i, (long long)l, e);
            }
            float * z = malloc((size_t)info->n_vocab * sizeof *z);
            int32_t * idv = malloc((size_t)T * sizeof *idv);
            memcpy(idv, ids->data, (size_t)T * 4);
            CHECK(z && decoder_eval_ids(model, idv, T, z) == GAZE_OK, "%s: eval: %s", family, gaze_last_error());
            CHECK(logits->n_elements == info->n_vocab, "%s: logits size", family);
            const double e = max_abs_f32(z, logits->data, logits->n_elements);
            worst_logit = e > worst_logit ? e : worst_logit;
            CHECK(e <= LOGIT_TOL, "%s case %d: logits max error %.3g", family, i, e);
            free(z);
            free(idv);
            char key[32];
            snprintf(key, sizeof key, "loss.%d", i);
            const double hf_loss = atof(gaze_safetensors_metadata(st, key));
            CHECK(fabs(loss - hf_loss) <= LOGIT_TOL, "%s case %d: loss %.7f vs HF %.7f", family, i, loss, hf_loss);
        }
        gaze_run_free(&run);
        // greedy: with capture (a row per generated token) and without; same tokens as HF's
        for (int cap = 0; cap < 2; cap++) {
            struct gaze_run_opts g = { 0 };
            g.generate = 8;
            g.no_capture = cap == 0;
            s = gaze_model_run(model, text, NULL, &g, &run);
            CHECK(s == GAZE_OK, "%s case %d: generate: %s", family, i, gaze_last_error());
            if (s) continue;
            CHECK(run.T == greedy->n_elements && !memcmp(run.token_ids, greedy->data, (size_t)run.T * 4),
                  "%s case %d: greedy tokens differ from HF (capture %d, %lld vs %lld tokens)", family, i, cap,
                  (long long)run.T, (long long)greedy->n_elements);
            gaze_run_free(&run);
        }
    }
    printf("%-12s attention max error %.2g, logits max error %.2g\n", family, worst_attn, worst_logit);
    json_decref(texts);
    gaze_safetensors_free(st);
    gaze_model_free(model);
}

// Each layer's window in the run's metadata: Gemma 3 (window 4, every 6th layer global).
static void check_window_metadata(void) {
    char folder[4096];
    snprintf(folder, sizeof folder, "%s/tests/fixtures/decoders/gemma3_text", src_dir());
    struct gaze_model * model = NULL;
    if (gaze_model_load(&model, folder)) { CHECK(false, "gemma3_text: %s", gaze_last_error()); return; }
    struct gaze_run run;
    CHECK(gaze_model_run(model, "one two", NULL, NULL, &run) == GAZE_OK, "run: %s", gaze_last_error());
    const char * v = NULL;
    for (int64_t i = 0; i < run.n_extra; i++)
        if (!strcmp(run.extra_keys[i], "decoder.sliding_window")) v = run.extra_values[i];
    CHECK(v && !strcmp(v, "[4,4,4,4,4,0]"), "decoder.sliding_window = %s", v ? v : "(none)");
    CHECK(run.arch && !strcmp(run.arch, "gemma3_text"), "run arch %s", run.arch ? run.arch : "(null)");
    gaze_run_free(&run);
    gaze_model_free(model);
}

// Soft-capped layers (Gemma 2) go through mha.c's materialised path: a head subset captures
// exactly the rows of those heads in the all-heads run, and the captured scores are the capped
// ones (|s| < cap), -inf outside each layer's window.
static void check_softcap_subset(void) {
    char folder[4096];
    snprintf(folder, sizeof folder, "%s/tests/fixtures/decoders/gemma2", src_dir());
    struct gaze_model * model = NULL;
    if (gaze_model_load(&model, folder)) { CHECK(false, "gemma2: %s", gaze_last_error()); return; }
    const char * text = "Attention is all you need, said the paper.";
    struct gaze_run all, sub;
    struct gaze_run_opts o = { 0 };
    o.parts = GAZE_RUN_PART_ATTN | GAZE_RUN_PART_SCORES;
    CHECK(gaze_model_run(model, text, NULL, &o, &all) == GAZE_OK, "all heads: %s", gaze_last_error());
    const int64_t heads[2] = { 1, 3 };
    o.heads = heads;
    o.n_heads = 2;
    CHECK(gaze_model_run(model, text, NULL, &o, &sub) == GAZE_OK, "heads 1, 3: %s", gaze_last_error());
    const int64_t T = all.T;
    bool same = sub.T == T, capped = true, window = true;
    for (int64_t l = 0; same && l < 4; l++) {
        const struct gaze_run_layer * a = gaze_run_find_layer(&all, l), * b = gaze_run_find_layer(&sub, l);
        for (int64_t n = 0; n < 2; n++)
            same &= !memcmp(b->attn + n * T * T, a->attn + heads[n] * T * T, (size_t)(T * T) * sizeof(float)) &&
                    !memcmp(b->scores + n * T * T, a->scores + heads[n] * T * T, (size_t)(T * T) * sizeof(float));
        for (int64_t i = 0; i < 4 * T * T; i++) {
            const int64_t q = (i / T) % T, k = i % T;
            const bool allowed = k <= q && (l % 2 || q - k < 4);   // even layers: window 4
            capped &= !allowed || fabsf(a->scores[i]) < 5.0f;
            window &= allowed == (a->scores[i] != -INFINITY) && (allowed || a->attn[i] == 0.0f);
        }
    }
    CHECK(same, "gemma2: head subset differs from the all-heads capture");
    CHECK(capped, "gemma2: captured scores not within the soft-cap 5");
    CHECK(window, "gemma2: masked scores / weights do not follow the alternating windows");
    gaze_run_free(&all);
    gaze_run_free(&sub);
    gaze_model_free(model);
}

int main(void) {
    static const char * const families[] = { "gpt2", "gpt_neox", "llama", "mistral", "qwen2", "qwen3",
                                             "gemma", "gemma2", "gemma3_text", "phi3" };
    for (size_t i = 0; i < sizeof families / sizeof *families; i++) check_family(families[i]);
    check_window_metadata();
    check_softcap_subset();
    return check_summary("test_decoder_golden");
}
