// A whole SiglipModel against transformers 4.48.3, on the tiny random model and Unigram
// tokenizer of tests/reference/gen_vision2_fixtures.py: tokenizer ids identical to `tokenizers`
// on every case; text runs padded to max_position_embeddings as padding="max_length" does;
// the text tower's attention (not causal) <= 1e-5; the text head's output, the image tower's
// attention-pooled embedding and logits_per_image (exp(logit_scale) · cos + logit_bias) <= 1e-4
// (relative to max(1, |x|)).
#include "clip_golden.h"

#define DIR "tests/fixtures/siglip_full"

static void test_model(struct gaze_safetensors * st) {
    struct gaze_model * m = NULL;
    enum gaze_status s = gaze_model_load(&m, DIR);
    CHECK(s == GAZE_OK, "load: %s", gaze_last_error());
    if (s) return;
    const int64_t P = gaze_clip_dim(m);
    CHECK(P == 32 && gaze_clip_sigmoid(m), "SigLIP: head width %lld, sigmoid", (long long)P);
    json_t * texts = json_loads(gaze_safetensors_metadata(st, "texts"), 0, NULL);
    json_t * images = json_loads(gaze_safetensors_metadata(st, "images"), 0, NULL);
    const size_t NT = json_array_size(texts), NI = json_array_size(images);
    CHECK(NT == 3 && NI == 4, "golden lists");
    struct gaze_run truns[3];
    const struct gaze_run * tp[3];
    double worst_attn = 0;
    const struct gaze_run_opts opts = { .parts = GAZE_RUN_PART_ATTN, .n_threads = 2 };
    for (size_t j = 0; j < 3; j++) {
        s = gaze_model_run(m, json_string_value(json_array_get(texts, j)), NULL, &opts, &truns[j]);
        CHECK(s == GAZE_OK, "text %zu: %s", j, gaze_last_error());
        tp[j] = &truns[j];
        if (s) { gaze_run_init(&truns[j]); continue; }
        const struct gaze_st_tensor * ta = golden(st, "text.attentions", j), * pad = golden(st, "padded", j);
        const int64_t T = truns[j].T, L = truns[j].n_layers, H = truns[j].n_heads;
        CHECK(pad && pad->n_elements == T && !memcmp(pad->data, truns[j].token_ids, (size_t)T * 4),
              "text %zu: padded ids (%lld tokens)", j, (long long)T);
        CHECK(!truns[j].causal && !strcmp(truns[j].arch, "siglip") && !strcmp(truns[j].tokens[T - 1], "<pad>"),
              "text %zu: not causal, padded", j);
        CHECK(ta && ta->shape[0] == L && ta->shape[1] == H && ta->shape[2] == T, "text %zu: shape vs golden", j);
        bool upper = false;
        for (int64_t l = 0; ta && ta->shape[2] == T && l < L; l++) {
            const struct gaze_run_layer * ly = gaze_run_find_layer(&truns[j], l);
            const double md = golden_attn_diff(&truns[j], ta, l);
            for (int64_t k = 0; k < H * T * T; k++) upper |= (k % T) > ((k / T) % T) && ly->attn[k] > 0;   // above the diagonal
            worst_attn = fmax(worst_attn, md);
            CHECK(md <= 1e-5, "text %zu layer %lld: attention differs by %g", j, (long long)l, md);
        }
        CHECK(upper, "text %zu: no weight above the diagonal (a causal mask?)", j);
    }
    struct golden_worst w = { worst_attn, 0, 0 };
    float logits[3];
    for (size_t i = 0; i < NI; i++) {
        struct gaze_run ir;
        if (golden_image(m, st, i, tp, 3, &opts, &w, &ir, logits)) continue;
        // the probability shown with each logit: sigmoid of that logit alone (transformers'
        // torch.sigmoid(logits_per_image)), not a softmax over the texts; a CLIP run's sums to 1
        const struct gaze_st_tensor * gl = golden(st, "logits_per_image", i);
        ir.clip_logits = logits;
        ir.n_texts = 3;
        double sum = 0, worst = 0;
        for (int64_t j = 0; gl && j < 3; j++) {
            const double p = gaze_clip_probability(&ir, j);
            worst = fmax(worst, fabs(p - 1 / (1 + exp(-(double)((const float *)gl->data)[j]))));
            sum += p;
        }
        CHECK(gl && gaze_clip_run_sigmoid(&ir) && worst <= 1e-5 && fabs(sum - 1) > 1e-3 && isnan(gaze_clip_probability(&ir, 3)),
              "image %zu: SigLIP probabilities: worst %g from the golden's sigmoid, sum %g", i, worst, sum);
        char * arch = ir.arch, clip_arch[] = "clip";
        ir.arch = clip_arch;
        sum = 0;
        for (int64_t j = 0; j < 3; j++) sum += gaze_clip_probability(&ir, j);
        CHECK(!gaze_clip_run_sigmoid(&ir) && fabs(sum - 1) < 1e-9, "CLIP's softmax sums to %g", sum);
        ir.arch = arch;
        ir.clip_logits = NULL;
        ir.n_texts = 0;
        gaze_run_free(&ir);
    }
    golden_bounds(&w, "siglip");
    for (size_t j = 0; j < 3; j++) gaze_run_free(&truns[j]);
    json_decref(texts);
    json_decref(images);
    gaze_model_free(m);
}

int main(void) {
    struct gaze_safetensors * st = NULL;
    CHECK(gaze_safetensors_open(&st, DIR "/golden.safetensors") == GAZE_OK, "%s", gaze_last_error());
    if (st) {
        golden_tokenizer(st, DIR, 10, "siglip tokenizer vs tokenizers 0.21.0");
        test_model(st);
        gaze_safetensors_free(st);
    }
    return check_summary("test_siglip_golden");
}
