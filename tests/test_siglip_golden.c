// A whole SiglipModel against transformers 4.48.3, on the tiny random model and Unigram
// tokenizer of tests/reference/gen_vision2_fixtures.py: tokenizer ids identical to `tokenizers`
// on every case; text runs padded to max_position_embeddings as padding="max_length" does;
// the text tower's attention (not causal) <= 1e-5; the text head's output, the image tower's
// attention-pooled embedding and logits_per_image (exp(logit_scale) · cos + logit_bias) <= 1e-4
// (relative to max(1, |x|)).
#include "check.h"
#include "core/core.h"
#include <jansson.h>
#include <string.h>

#define DIR "tests/fixtures/siglip_full"

static double rel_diff(const float * a, const float * b, int64_t n) {
    double m = 0;
    for (int64_t k = 0; k < n; k++) m = fmax(m, fabs((double)a[k] - b[k]) / fmax(1.0, fabs((double)b[k])));
    return m;
}

static const struct gaze_st_tensor * golden(struct gaze_safetensors * st, const char * what, size_t i) {
    char name[64];
    snprintf(name, sizeof name, "%s.%zu", what, i);
    return gaze_safetensors_find(st, name);
}

static void test_tokenizer(struct gaze_safetensors * st) {
    struct gaze_tokenizer * tok = NULL;
    CHECK(gaze_tokenizer_from_folder(DIR, &tok) == GAZE_OK, "tokenizer: %s", gaze_last_error());
    json_t * cases = json_loads(gaze_safetensors_metadata(st, "cases"), 0, NULL);
    CHECK(json_is_array(cases) && json_array_size(cases) >= 10, "golden cases");
    size_t i;
    json_t * c;
    int same = 0;
    json_array_foreach(cases, i, c) {
        const struct gaze_st_tensor * want = golden(st, "ids", i);
        struct gaze_encoding enc = { 0 };
        const struct gaze_tokenizer_encode_opts eo = { 0 };
        enum gaze_status s = tok ? gaze_tokenizer_encode(tok, json_string_value(c), json_string_length(c), &eo, &enc) : GAZE_ERR_INVALID_ARG;
        const bool ok = !s && want && want->n_elements == enc.n_tokens &&
                        !memcmp(want->data, enc.ids, (size_t)enc.n_tokens * sizeof(int32_t));
        CHECK(ok, "ids of case %zu \"%s\" differ (%lld tokens, golden %lld): %s", i, json_string_value(c),
              (long long)enc.n_tokens, want ? (long long)want->n_elements : -1LL, s ? gaze_last_error() : "");
        same += ok;
        gaze_encoding_free(&enc);
    }
    printf("siglip tokenizer: %d of %zu cases identical to tokenizers 0.21.0\n", same, json_array_size(cases));
    json_decref(cases);
    gaze_tokenizer_free(tok);
}

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
    double worst_attn = 0, worst_emb = 0, worst_logit = 0;
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
            double md = 0;
            for (int64_t k = 0; k < H * T * T; k++) {
                md = fmax(md, fabs((double)ly->attn[k] - ((const float *)ta->data)[l * H * T * T + k]));
                upper |= (k % T) > ((k / T) % T) && ly->attn[k] > 0;   // weight above the diagonal
            }
            worst_attn = fmax(worst_attn, md);
            CHECK(md <= 1e-5, "text %zu layer %lld: attention differs by %g", j, (long long)l, md);
        }
        CHECK(upper, "text %zu: no weight above the diagonal (a causal mask?)", j);
    }
    float logits[3], ie[32], te[3 * 32];
    for (size_t i = 0; i < NI; i++) {
        char ip[256];
        snprintf(ip, sizeof ip, "tests/fixtures/images/%s", json_string_value(json_array_get(images, i)));
        struct gaze_image img;
        struct gaze_run ir;
        CHECK(gaze_image_load(&img, ip, 0) == GAZE_OK, "%s", gaze_last_error());
        s = gaze_model_run_image(m, &img, ip, &opts, &ir);
        gaze_image_free(&img);
        CHECK(s == GAZE_OK, "image %zu: %s", i, gaze_last_error());
        if (s) continue;
        s = gaze_clip_similarity(m, &ir, tp, 3, logits, ie, te);
        CHECK(s == GAZE_OK, "similarity: %s", gaze_last_error());
        const struct gaze_st_tensor * gi = golden(st, "image.embeds", i), * gl = golden(st, "logits_per_image", i);
        const struct gaze_st_tensor * gia = golden(st, "image.attentions", i);
        CHECK(gi && gl && gia, "goldens of image %zu", i);
        if (!s && gi && gl) {
            worst_emb = fmax(worst_emb, rel_diff(ie, gi->data, P));
            worst_logit = fmax(worst_logit, rel_diff(logits, gl->data, 3));
            for (size_t j = 0; i == 0 && j < 3; j++) {
                const struct gaze_st_tensor * gt = golden(st, "text.embeds", j);
                worst_emb = fmax(worst_emb, gt ? rel_diff(te + j * P, gt->data, P) : 1);
            }
        }
        const int64_t T = ir.T, H = ir.n_heads;
        for (int64_t l = 0; gia && gia->shape[2] == T && l < ir.n_layers; l++) {
            const struct gaze_run_layer * ly = gaze_run_find_layer(&ir, l);
            double md = 0;
            for (int64_t k = 0; k < H * T * T; k++)
                md = fmax(md, fabs((double)ly->attn[k] - ((const float *)gia->data)[l * H * T * T + k]));
            CHECK(md <= 1e-5, "image %zu layer %lld: attention differs by %g", i, (long long)l, md);
            worst_attn = fmax(worst_attn, md);
        }
        gaze_run_free(&ir);
    }
    CHECK(worst_attn <= 1e-5, "attention differs by %g", worst_attn);
    CHECK(worst_emb <= 1e-4, "embeddings differ by %g", worst_emb);
    CHECK(worst_logit <= 1e-4, "logits_per_image differ by %g", worst_logit);
    printf("siglip: worst attention %.2g, embeddings %.2g, logits_per_image %.2g\n", worst_attn, worst_emb, worst_logit);
    for (size_t j = 0; j < 3; j++) gaze_run_free(&truns[j]);
    json_decref(texts);
    json_decref(images);
    gaze_model_free(m);
}

int main(void) {
    struct gaze_safetensors * st = NULL;
    CHECK(gaze_safetensors_open(&st, DIR "/golden.safetensors") == GAZE_OK, "%s", gaze_last_error());
    if (st) {
        test_tokenizer(st);
        test_model(st);
        gaze_safetensors_free(st);
    }
    return check_summary("test_siglip_golden");
}
