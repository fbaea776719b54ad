// A whole CLIPModel against transformers, on the tiny random model and CLIP-format tokenizer of
// tests/reference/gen_clip_fixtures.py: tokenizer ids identical on every case (NFC, whitespace
// collapse, lowercase, CLIP's split regex with the text between matches dropped, "</w>" word
// ends, <|startoftext|> ... <|endoftext|>); the text tower's attention (causal) <= 1e-5; the
// projected text and image embeddings and logits_per_image <= 1e-4 (relative to max(1, |x|)).
#include "clip_golden.h"
#include <unistd.h>

#define DIR "tests/fixtures/clip_full"

static void test_model(struct gaze_safetensors * st) {
    struct gaze_model * m = NULL;
    enum gaze_status s = gaze_model_load(&m, DIR);
    CHECK(s == GAZE_OK, "load: %s", gaze_last_error());
    if (s) return;
    const int64_t P = gaze_clip_dim(m);
    CHECK(P == 16, "projection dim %lld", (long long)P);
    json_t * texts = json_loads(gaze_safetensors_metadata(st, "texts"), 0, NULL);
    json_t * images = json_loads(gaze_safetensors_metadata(st, "images"), 0, NULL);
    const size_t NT = json_array_size(texts), NI = json_array_size(images);
    CHECK(NT == 3 && NI == 3, "golden lists");
    struct gaze_run truns[3];
    const struct gaze_run * tp[3];
    struct golden_worst w = { 0, 0, 0 };
    struct gaze_run_opts opts = { .parts = GAZE_RUN_PART_ATTN, .n_threads = 2 };
    for (size_t j = 0; j < NT && j < 3; j++) {
        s = gaze_model_run(m, json_string_value(json_array_get(texts, j)), NULL, &opts, &truns[j]);
        CHECK(s == GAZE_OK, "text %zu: %s", j, gaze_last_error());
        tp[j] = &truns[j];
        if (s) { gaze_run_init(&truns[j]); continue; }
        const struct gaze_st_tensor * ta = golden(st, "text.attentions", j);
        const int64_t T = truns[j].T, L = truns[j].n_layers, H = truns[j].n_heads;
        CHECK(ta && ta->shape[0] == L && ta->shape[1] == H && ta->shape[2] == T, "text %zu: shape vs golden", j);
        CHECK(truns[j].causal && !strcmp(truns[j].tokens[0], "<|startoftext|>"), "text %zu: causal, BOS first", j);
        for (int64_t l = 0; ta && ta->shape[2] == T && l < L; l++) {
            const struct gaze_run_layer * ly = gaze_run_find_layer(&truns[j], l);
            const double md = golden_attn_diff(&truns[j], ta, l);
            CHECK(md <= 1e-5, "text %zu layer %lld: attention differs by %g", j, (long long)l, md);
            w.attn = fmax(w.attn, md);
            // causal: no weight above the diagonal
            bool upper0 = true;
            for (int64_t h = 0; h < H; h++)
                for (int64_t q = 0; q < T; q++)
                    for (int64_t k = q + 1; k < T; k++) upper0 &= ly->attn[(h * T + q) * T + k] == 0;
            CHECK(upper0, "text %zu layer %lld: attention above the diagonal", j, (long long)l);
        }
    }
    float logits[3];
    for (size_t i = 0; i < NI; i++) {
        struct gaze_run ir;
        s = golden_image(m, st, i, tp, (int64_t)NT, &opts, &w, &ir, logits);
        if (s) continue;
        // the run file keeps the texts beside the image run (moved in, saved, read back)
        if (i == 0 && !s) {
            struct gaze_run back;
            char tmp[64];
            snprintf(tmp, sizeof tmp, "/tmp/gaze_clip_%d.safetensors", (int)getpid());
            ir.texts = calloc(NT, sizeof *ir.texts);
            ir.clip_logits = malloc(NT * sizeof(float));
            for (size_t j = 0; ir.texts && ir.clip_logits && j < NT; j++) { ir.texts[j] = truns[j]; ir.clip_logits[j] = logits[j]; }
            ir.n_texts = (int64_t)NT;
            CHECK(gaze_run_save(&ir, tmp, false) == GAZE_OK, "save with texts: %s", gaze_last_error());
            CHECK(gaze_run_load(&back, tmp) == GAZE_OK, "load with texts: %s", gaze_last_error());
            bool same = back.n_texts == (int64_t)NT && !memcmp(back.clip_logits, logits, NT * sizeof(float));
            for (size_t j = 0; same && j < NT; j++) {
                const struct gaze_run * a = &truns[j], * b = &back.texts[j];
                same = a->T == b->T && !strcmp(a->text, b->text) && !memcmp(a->token_ids, b->token_ids, (size_t)a->T * 4) &&
                       b->causal && b->n_cap_layers == a->n_cap_layers && !strcmp(b->tokens[a->T - 1], "<|endoftext|>");
                for (int64_t l = 0; same && l < a->n_cap_layers; l++)
                    same = !memcmp(a->layers[l].attn, b->layers[l].attn, (size_t)(a->n_heads * a->T * a->T) * sizeof(float));
            }
            CHECK(same, "run file round trip of the CLIP texts");
            CHECK(back.clip_head_drops == NULL, "a run saved without head drops reads back without them");
            gaze_run_free(&back);
            // with each text's head drops [NT, L, H] (clip.head_drops), any sign; a NaN is refused
            const int64_t LH = ir.n_layers * ir.n_heads;
            ir.clip_head_drops = malloc((size_t)((int64_t)NT * LH) * sizeof(float));
            for (int64_t k = 0; ir.clip_head_drops && k < (int64_t)NT * LH; k++) ir.clip_head_drops[k] = 0.25f * (float)(k % 7) - 0.5f;
            CHECK(gaze_run_save(&ir, tmp, false) == GAZE_OK, "save with head drops: %s", gaze_last_error());
            CHECK(gaze_run_load(&back, tmp) == GAZE_OK, "load with head drops: %s", gaze_last_error());
            CHECK(back.clip_head_drops && ir.clip_head_drops &&
                  !memcmp(back.clip_head_drops, ir.clip_head_drops, (size_t)((int64_t)NT * LH) * sizeof(float)),
                  "run file round trip of the head drops");
            gaze_run_free(&back);
            if (ir.clip_head_drops) ir.clip_head_drops[LH + 3] = NAN;
            CHECK(gaze_run_save(&ir, tmp, false) == GAZE_ERR_FORMAT && strstr(gaze_last_error(), "clip.head_drops [text 1, layer 0, head 3]"),
                  "a NaN head drop is refused: %s", gaze_last_error());
            free(ir.clip_head_drops);
            ir.clip_head_drops = NULL;
            unlink(tmp);
            for (size_t j = 0; j < NT; j++) gaze_run_init(&ir.texts[j]);   // (truns keep their arrays)
            free(ir.texts);
            free(ir.clip_logits);
            ir.texts = NULL;
            ir.clip_logits = NULL;
            ir.n_texts = 0;
        }
        // a text run where the image goes is refused
        CHECK(gaze_clip_similarity(m, tp[0], tp, 1, logits, NULL, NULL) == GAZE_ERR_INVALID_ARG, "text as image refused");
        gaze_run_free(&ir);
    }
    golden_bounds(&w, "clip");
    // a text longer than max_position_embeddings (24) is refused as transformers fails on it
    struct gaze_run r;
    CHECK(gaze_model_run(m, "a a a a a a a a a a a a a a a a a a a a a a a a a a a a", NULL, &opts, &r) == GAZE_ERR_LIMIT &&
          strstr(gaze_last_error(), "max_position_embeddings"), "long text: %s", gaze_last_error());
    for (size_t j = 0; j < NT && j < 3; j++) gaze_run_free(&truns[j]);
    json_decref(texts);
    json_decref(images);
    gaze_model_free(m);
}

// interpolate_pos_encoding=True: ViT, DeiT and CLIP vision at 48 x 40 (a 6 x 5 grid from 4 x 4).
static void test_interp(void) {
    struct gaze_safetensors * st = NULL;
    CHECK(gaze_safetensors_open(&st, DIR "/interp_golden.safetensors") == GAZE_OK, "%s", gaze_last_error());
    if (!st) return;
    static const char * const names[] = { "vit", "deit", "clip" };
    double worst_attn = 0, worst_out = 0;
    for (int m_i = 0; m_i < 3; m_i++) {
        char folder[128], key[64];
        snprintf(folder, sizeof folder, "tests/fixtures/vit/%s", names[m_i]);
        struct gaze_model * m = NULL;
        struct gaze_image img;
        CHECK(gaze_model_load(&m, folder) == GAZE_OK, "%s: %s", folder, gaze_last_error());
        CHECK(gaze_image_load(&img, "tests/fixtures/images/rgb_120x90.png", 0) == GAZE_OK, "%s", gaze_last_error());
        if (!m) continue;
        struct gaze_run_opts opts = { .parts = GAZE_RUN_PART_ATTN, .n_threads = 2, .image_w = 48, .image_h = 40 };
        struct gaze_run r;
        enum gaze_status s = gaze_model_run_image(m, &img, "x", &opts, &r);
        CHECK(s == GAZE_OK, "%s at 48 x 40: %s", names[m_i], gaze_last_error());
        if (!s) {
            CHECK(r.grid_rows == 5 && r.grid_cols == 6, "%s: grid %lld x %lld", names[m_i], (long long)r.grid_rows, (long long)r.grid_cols);
            snprintf(key, sizeof key, "%s.attentions", names[m_i]);
            const struct gaze_st_tensor * ta = gaze_safetensors_find(st, key);
            const int64_t T = r.T, H = r.n_heads;
            CHECK(ta && ta->shape[0] == r.n_layers && ta->shape[2] == T, "%s: T %lld vs golden", names[m_i], (long long)T);
            for (int64_t l = 0; ta && ta->shape[2] == T && l < r.n_layers; l++) {
                const struct gaze_run_layer * ly = gaze_run_find_layer(&r, l);
                for (int64_t k = 0; k < H * T * T; k++)
                    worst_attn = fmax(worst_attn, fabs((double)ly->attn[k] - ((const float *)ta->data)[l * H * T * T + k]));
            }
            snprintf(key, sizeof key, "%s.%s", names[m_i], m_i == 2 ? "embedding" : "logits");
            const struct gaze_st_tensor * to = gaze_safetensors_find(st, key);
            const float * got = m_i == 2 ? r.embedding : r.logits;
            worst_out = fmax(worst_out, to && got ? rel_diff(got, to->data, to->n_elements) : 1);
            gaze_run_free(&r);
        }
        // transformers' conv would drop the pixels past the last whole patch: gaze asks for multiples
        opts.image_w = 44;
        CHECK(gaze_model_run_image(m, &img, "x", &opts, &r) == GAZE_ERR_INVALID_ARG && strstr(gaze_last_error(), "multiple of the patch"),
              "%s: 44 x 40 refused: %s", names[m_i], gaze_last_error());
        gaze_image_free(&img);
        gaze_model_free(m);
    }
    CHECK(worst_attn <= 1e-5, "interpolated: attention differs by %g", worst_attn);
    CHECK(worst_out <= 1e-4, "interpolated: logits / embedding differ by %g", worst_out);
    printf("interpolate_pos_encoding (ViT, DeiT, CLIP at 48 x 40): worst attention %.2g, logits/embedding %.2g\n", worst_attn, worst_out);
    gaze_safetensors_free(st);
}

int main(void) {
    struct gaze_safetensors * st = NULL;
    CHECK(gaze_safetensors_open(&st, DIR "/golden.safetensors") == GAZE_OK, "%s", gaze_last_error());
    if (st) {
        golden_tokenizer(st, DIR, 20, "clip tokenizer vs tokenizers 0.20.3");
        test_model(st);
    }
    test_interp();
    gaze_safetensors_free(st);
    return check_summary("test_clip_golden");
}
