// Shared by test_clip_golden.c and test_siglip_golden.c: the goldens of a whole CLIPModel or
// SiglipModel written by tests/reference (golden.safetensors: "cases" with ids.I, "texts" with
// text.attentions.J and text.embeds.J, "images" with image.attentions.I, image.embeds.I and
// logits_per_image.I), read and compared the same way for both families.
#ifndef GAZE_TESTS_CLIP_GOLDEN_H
#define GAZE_TESTS_CLIP_GOLDEN_H
#include "check.h"
#include "core/core.h"
#include <jansson.h>
#include <string.h>

// Worst |a - b| / max(1, |b|) over n values.
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

// Worst |difference| of layer l of run r's attention from the golden [L, H, T, T].
static double golden_attn_diff(const struct gaze_run * r, const struct gaze_st_tensor * ga, int64_t l) {
    const struct gaze_run_layer * ly = gaze_run_find_layer(r, l);
    const int64_t HTT = r->n_heads * r->T * r->T;
    if (!ly || !ly->attn || !ga || ga->n_elements != r->n_layers * HTT) return INFINITY;
    double md = 0;
    for (int64_t k = 0; k < HTT; k++) md = fmax(md, fabs((double)ly->attn[k] - ((const float *)ga->data)[l * HTT + k]));
    return md;
}

// The tokenizer of dir against ids.I of every golden case (at least min_cases of them).
static void golden_tokenizer(struct gaze_safetensors * st, const char * dir, size_t min_cases, const char * label) {
    struct gaze_tokenizer * tok = NULL;
    CHECK(gaze_tokenizer_from_folder(dir, &tok) == GAZE_OK, "tokenizer: %s", gaze_last_error());
    json_t * cases = json_loads(gaze_safetensors_metadata(st, "cases"), 0, NULL);
    CHECK(json_is_array(cases) && json_array_size(cases) >= min_cases, "golden cases");
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
    printf("%s: %d of %zu cases identical\n", label, same, json_array_size(cases));
    json_decref(cases);
    gaze_tokenizer_free(tok);
}

struct golden_worst { double attn, emb, logit; };

// Image i of the golden ("images" metadata, under tests/fixtures/images) through model m and its
// similarity to the NT text runs tp: image attention, image (and, for image 0, text) embeddings
// and logits_per_image folded into *w. On success *ir holds the image run (the caller frees it)
// and logits [NT] the logits.
static enum gaze_status golden_image(struct gaze_model * m, struct gaze_safetensors * st, size_t i,
                                     const struct gaze_run * const * tp, int64_t NT, const struct gaze_run_opts * opts,
                                     struct golden_worst * w, struct gaze_run * ir, float * logits) {
    const int64_t P = gaze_clip_dim(m);
    json_t * images = json_loads(gaze_safetensors_metadata(st, "images"), 0, NULL);
    char ip[256];
    snprintf(ip, sizeof ip, "tests/fixtures/images/%s", json_string_value(json_array_get(images, i)));
    json_decref(images);
    float * ie = malloc((size_t)(P * (1 + NT)) * sizeof *ie), * te = ie ? ie + P : NULL;
    struct gaze_image img;
    enum gaze_status s = ie ? gaze_image_load(&img, ip, 0) : GAZE_ERR_NOMEM;
    CHECK(s == GAZE_OK, "%s: %s", ip, gaze_last_error());
    if (s) { free(ie); return s; }
    s = gaze_model_run_image(m, &img, ip, opts, ir);
    gaze_image_free(&img);
    CHECK(s == GAZE_OK, "image %zu: %s", i, gaze_last_error());
    if (s) { free(ie); return s; }
    s = gaze_clip_similarity(m, ir, tp, NT, logits, ie, te);
    CHECK(s == GAZE_OK, "similarity: %s", gaze_last_error());
    const struct gaze_st_tensor * gi = golden(st, "image.embeds", i), * gl = golden(st, "logits_per_image", i);
    const struct gaze_st_tensor * gia = golden(st, "image.attentions", i);
    CHECK(gi && gl && gia, "goldens of image %zu", i);
    if (!s && gi && gl) {
        w->emb = fmax(w->emb, rel_diff(ie, gi->data, P));
        w->logit = fmax(w->logit, rel_diff(logits, gl->data, NT));
        for (int64_t j = 0; i == 0 && j < NT; j++) {
            const struct gaze_st_tensor * gt = golden(st, "text.embeds", (size_t)j);
            w->emb = fmax(w->emb, gt ? rel_diff(te + j * P, gt->data, P) : 1);
        }
    }
    for (int64_t l = 0; l < ir->n_layers; l++) {
        const double md = golden_attn_diff(ir, gia, l);
        CHECK(md <= 1e-5, "image %zu layer %lld: attention differs by %g", i, (long long)l, md);
        w->attn = fmax(w->attn, md);
    }
    free(ie);
    if (s) gaze_run_free(ir);
    return s;
}

// The final bounds: attention <= 1e-5, embeddings and logits_per_image <= 1e-4.
static void golden_bounds(const struct golden_worst * w, const char * label) {
    CHECK(w->attn <= 1e-5, "attention differs by %g", w->attn);
    CHECK(w->emb <= 1e-4, "embeddings differ by %g", w->emb);
    CHECK(w->logit <= 1e-4, "logits_per_image differ by %g", w->logit);
    printf("%s: worst attention %.2g, embeddings %.2g, logits_per_image %.2g\n", label, w->attn, w->emb, w->logit);
}
#endif
