// A whole CLIPModel against transformers, on the tiny random model and CLIP-format tokenizer of
// tests/reference/gen_clip_fixtures.py: tokenizer ids identical on every case (NFC, whitespace
// collapse, lowercase, CLIP's split regex with the text between matches dropped, "</w>" word
// ends, <|startoftext|> ... <|endoftext|>); the text tower's attention (causal) <= 1e-5; the
// projected text and image embeddings and logits_per_image <= 1e-4 (relative to max(1, |x|)).
#include "check.h"
#include "core/core.h"
#include <jansson.h>
#include <string.h>
#include <unistd.h>

#define DIR "tests/fixtures/clip_full"

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
    CHECK(json_is_array(cases) && json_array_size(cases) >= 20, "golden cases");
    size_t i;
    json_t * c;
    int same = 0;
    json_array_foreach(cases, i, c) {
        const struct gaze_st_tensor * want = golden(st, "ids", i);
        struct gaze_encoding enc = { 0 };
        const struct gaze_tokenizer_encode_opts eo = { 0 };
        enum gaze_status s = tok ? gaze_tokenizer_encode(tok, json_string_value(c), json_string_length(c), &eo, &enc) : GAZE_ERR_INVALID_ARG;
        bool ok = !s && want && want->n_elements == enc.n_tokens &&
                  !memcmp(want->data, enc.ids, (size_t)enc.n_tokens * sizeof(int32_t));
        CHECK(ok, "ids of case %zu \"%s\" differ (%lld tokens, golden %lld)", i, json_string_value(c),
              (long long)enc.n_tokens, want ? (long long)want->n_elements : -1LL);
        same += ok;
        gaze_encoding_free(&enc);
    }
    printf("clip tokenizer: %d of %zu cases identical to tokenizers 0.20.3\n", same, json_array_size(cases));
    json_decref(cases);
    gaze_tokenizer_free(tok);
}

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
    double worst_attn = 0, worst_emb = 0, worst_logit = 0;
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
            double md = 0;
            for (int64_t k = 0; k < H * T * T; k++) md = fmax(md, fabs((double)ly->attn[k] - ((const float *)ta->data)[l * H * T * T + k]));
            CHECK(md <= 1e-5, "text %zu layer %lld: attention differs by %g", j, (long long)l, md);
            worst_attn = fmax(worst_attn, md);
            // causal: no weight above the diagonal
            bool upper0 = true;
            for (int64_t h = 0; h < H; h++)
                for (int64_t q = 0; q < T; q++)
                    for (int64_t k = q + 1; k < T; k++) upper0 &= ly->attn[(h * T + q) * T + k] == 0;
            CHECK(upper0, "text %zu layer %lld: attention above the diagonal", j, (long long)l);
        }
    }
    float logits[3], ie[16], te[3 * 16];
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
        s = gaze_clip_similarity(m, &ir, tp, (int64_t)NT, logits, ie, te);
        CHECK(s == GAZE_OK, "similarity: %s", gaze_last_error());
        const struct gaze_st_tensor * gi = golden(st, "image.embeds", i), * gl = golden(st, "logits_per_image", i);
        const struct gaze_st_tensor * gia = golden(st, "image.attentions", i);
        if (!s && gi && gl) {
            worst_emb = fmax(worst_emb, rel_diff(ie, gi->data, P));
            worst_logit = fmax(worst_logit, rel_diff(logits, gl->data, (int64_t)NT));
            for (size_t j = 0; i == 0 && j < NT; j++) {
                const struct gaze_st_tensor * gt = golden(st, "text.embeds", j);
                worst_emb = fmax(worst_emb, gt ? rel_diff(te + j * P, gt->data, P) : 1);
            }
        }
        const int64_t T = ir.T, H = ir.n_heads;
        for (int64_t l = 0; gia && gia->shape[2] == T && l < ir.n_layers; l++) {
            const struct gaze_run_layer * ly = gaze_run_find_layer(&ir, l);
            double md = 0;
            for (int64_t k = 0; k < H * T * T; k++) md = fmax(md, fabs((double)ly->attn[k] - ((const float *)gia->data)[l * H * T * T + k]));
            worst_attn = fmax(worst_attn, md);
        }
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
            gaze_run_free(&back);
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
    CHECK(worst_attn <= 1e-5, "attention differs by %g", worst_attn);
    CHECK(worst_emb <= 1e-4, "embeddings differ by %g", worst_emb);
    CHECK(worst_logit <= 1e-4, "logits_per_image differ by %g", worst_logit);
    printf("clip: worst attention %.2g, embeddings %.2g, logits_per_image %.2g\n", worst_attn, worst_emb, worst_logit);
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
        test_tokenizer(st);
        test_model(st);
    }
    test_interp();
    gaze_safetensors_free(st);
    return check_summary("test_clip_golden");
}
