// The ablation-weighted ("text-conditioned") rollout of CLIP's image tower against the
// independent torch/numpy implementation of tests/reference/gen_vision2_fixtures.py: per image
// and text, the drop of logits_per_image when each vision head's output is zeroed (there by a
// hook before out_proj, here by gaze's head mask) <= 1e-4 relative, and the [CLS] row of the
// rollout with heads fused by max(drop, 0) <= 1e-5. Also: all-zero weights give the identity,
// negative weights are refused.
#include "check.h"
#include "core/core.h"
#include <jansson.h>
#include <string.h>

#define DIR "tests/fixtures/clip_full"

int main(void) {
    struct gaze_safetensors * st = NULL;
    struct gaze_model * m = NULL;
    CHECK(gaze_safetensors_open(&st, DIR "/text_rollout_golden.safetensors") == GAZE_OK, "%s", gaze_last_error());
    CHECK(gaze_model_load(&m, DIR) == GAZE_OK, "load: %s", gaze_last_error());
    if (!st || !m) return check_summary("test_clip_text_rollout");
    json_t * texts = json_loads(gaze_safetensors_metadata(st, "texts"), 0, NULL);
    json_t * images = json_loads(gaze_safetensors_metadata(st, "images"), 0, NULL);
    CHECK(json_array_size(texts) == 3 && json_array_size(images) == 2, "golden lists");
    const struct gaze_run_opts opts = { .parts = GAZE_RUN_PART_ATTN, .n_threads = 2 };
    double worst_drop = 0, worst_roll = 0;
    int n_pairs = 0;
    for (size_t i = 0; i < json_array_size(images); i++) {
        char ip[256];
        snprintf(ip, sizeof ip, "tests/fixtures/images/%s", json_string_value(json_array_get(images, i)));
        struct gaze_image img;
        struct gaze_run ir;
        CHECK(gaze_image_load(&img, ip, 0) == GAZE_OK, "%s", gaze_last_error());
        enum gaze_status s = gaze_model_run_image(m, &img, ip, &opts, &ir);
        CHECK(s == GAZE_OK, "image %zu: %s", i, gaze_last_error());
        const int64_t L = ir.n_layers, H = ir.n_heads, T = ir.T;
        for (size_t j = 0; !s && j < json_array_size(texts); j++) {
            struct gaze_run tr;
            if (gaze_model_run(m, json_string_value(json_array_get(texts, j)), NULL, &opts, &tr)) { CHECK(0, "text: %s", gaze_last_error()); continue; }
            double drops[64], w[64], base = 0, * R = malloc((size_t)(T * T) * sizeof *R);
            char key[64];
            CHECK(gaze_clip_head_drops(m, &img, &opts, &tr, &base, drops) == GAZE_OK, "drops: %s", gaze_last_error());
            snprintf(key, sizeof key, "drop.%zu.%zu", i, j);
            const struct gaze_st_tensor * gd = gaze_safetensors_find(st, key);
            snprintf(key, sizeof key, "rollout.%zu.%zu", i, j);
            const struct gaze_st_tensor * gr = gaze_safetensors_find(st, key);
            CHECK(gd && gd->n_elements == L * H && gr && gr->n_elements == T, "golden %s", key);
            int n_pos = 0;
            for (int64_t k = 0; gd && k < L * H; k++) {
                const double g = ((const float *)gd->data)[k];
                worst_drop = fmax(worst_drop, fabs(drops[k] - g) / fmax(1.0, fabs(g)));
                w[k] = drops[k] > 0 ? drops[k] : 0;
                n_pos += drops[k] > 0;
            }
            CHECK(n_pos > 0 && n_pos < L * H, "some heads but not all support the match (%d of %lld)", n_pos, (long long)(L * H));
            struct gaze_rollout_opts ro = { 0 };
            ro.head_weights = w;
            CHECK(R && gaze_rollout(&ir, &ro, R) == GAZE_OK, "rollout: %s", gaze_last_error());
            for (int64_t k = 0; R && gr && k < T; k++) worst_roll = fmax(worst_roll, fabs(R[k] - ((const float *)gr->data)[k]));
            // the plain rollout differs from the weighted one (the weights matter)
            struct gaze_rollout_opts plain = { 0 };
            double * P = malloc((size_t)(T * T) * sizeof *P), dp = 0;
            CHECK(P && gaze_rollout(&ir, &plain, P) == GAZE_OK, "plain rollout");
            for (int64_t k = 0; P && R && k < T; k++) dp = fmax(dp, fabs(P[k] - R[k]));
            CHECK(dp > 1e-3, "weighted rollout equals the plain one (%g)", dp);
            free(P);
            free(R);
            gaze_run_free(&tr);
            n_pairs++;
        }
        // the three texts at once (gaze run's path: one image pass per head for all the texts)
        struct gaze_run tr3[3];
        const struct gaze_run * tp3[3];
        int n_tr = 0;
        for (int j = 0; !s && j < 3; j++)
            if (!gaze_model_run(m, json_string_value(json_array_get(texts, (size_t)j)), NULL, &opts, &tr3[j])) tp3[n_tr++] = &tr3[j];
        double drops3[3 * 64], base3[3], worst3 = 0;
        CHECK(n_tr == 3 && L * H <= 64 && gaze_clip_head_drops_n(m, &img, &opts, tp3, 3, base3, drops3) == GAZE_OK,
              "drops of 3 texts: %s", gaze_last_error());
        for (int j = 0; n_tr == 3 && j < 3; j++) {
            char key[64];
            snprintf(key, sizeof key, "drop.%zu.%d", i, j);
            const struct gaze_st_tensor * gd = gaze_safetensors_find(st, key);
            snprintf(key, sizeof key, "baseline.%zu.%d", i, j);
            const struct gaze_st_tensor * gb = gaze_safetensors_find(st, key);
            for (int64_t k = 0; gd && gd->n_elements == L * H && k < L * H; k++) {
                const double g = ((const float *)gd->data)[k];
                worst3 = fmax(worst3, fabs(drops3[j * L * H + k] - g) / fmax(1.0, fabs(g)));
            }
            if (gb) worst3 = fmax(worst3, fabs(base3[j] - ((const float *)gb->data)[0]) / fmax(1.0, fabs(((const float *)gb->data)[0])));
            CHECK(gd && gb, "golden %s", key);
        }
        CHECK(worst3 <= 1e-4, "image %zu: drops of the 3 texts at once differ from the golden by %g", i, worst3);
        for (int j = 0; j < n_tr; j++) gaze_run_free((struct gaze_run *)tp3[j]);
        if (!s && i == 0) {   // all-zero weights: identity; a negative weight: refused
            double zero[64] = { 0 }, * R = malloc((size_t)(T * T) * sizeof *R);
            struct gaze_rollout_opts ro = { 0 };
            ro.head_weights = zero;
            CHECK(R && gaze_rollout(&ir, &ro, R) == GAZE_OK && R[0] == 1 && R[1] == 0 && R[T + 1] == 1, "zero weights: identity");
            zero[3] = -1;
            CHECK(gaze_rollout(&ir, &ro, R) == GAZE_ERR_INVALID_ARG && strstr(gaze_last_error(), "head weight"), "negative weight refused");
            free(R);
        }
        gaze_image_free(&img);
        if (!s) gaze_run_free(&ir);
    }
    CHECK(n_pairs == 6, "pairs %d", n_pairs);
    CHECK(worst_drop <= 1e-4, "head drops differ by %g", worst_drop);
    CHECK(worst_roll <= 1e-5, "weighted rollout differs by %g", worst_roll);
    printf("clip text rollout: %d pairs, worst drop %.2g (relative), rollout %.2g\n", n_pairs, worst_drop, worst_roll);
    json_decref(texts);
    json_decref(images);
    gaze_model_free(m);
    gaze_safetensors_free(st);
    return check_summary("test_clip_text_rollout");
}
