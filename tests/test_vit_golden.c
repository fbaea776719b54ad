// Vision transformers against transformers (eager, output_attentions), on the committed tiny
// random models of tests/reference/gen_vit_fixtures.py: ViT (classifier), ViT with pooler,
// DeiT with its distillation token, DINOv2 with layer scale and interpolated positions, CLIP
// (vision tower: pre-layernorm, quick GELU, post-layernorm of [CLS]), SigLIP (patches only, tanh
// GELU, attention-pooling head).
// Every attention map <= 1e-5, every layer's hidden state, the logits and the embedding
// <= 1e-4 (relative to max(1, |x|)); pixel_values <= 1e-5; the run file keeps the image part.
#include "check.h"
#include "core/core.h"
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char * const IMAGES[] = { "rgb_37x29.png", "rgb_120x90.png", "exif6_40x24.jpg", "grey_27x35.jpg" };
#define N_IMAGES 4

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

static void test_model(const char * name, int64_t want_special, bool want_logits) {
    char folder[256], gpath[320];
    snprintf(folder, sizeof folder, "tests/fixtures/vit/%s", name);
    snprintf(gpath, sizeof gpath, "%s/golden.safetensors", folder);
    struct gaze_model * m = NULL;
    enum gaze_status s = gaze_model_load(&m, folder);
    CHECK(s == GAZE_OK, "%s: load: %s", name, gaze_last_error());
    struct gaze_safetensors * st = NULL;
    CHECK(gaze_safetensors_open(&st, gpath) == GAZE_OK, "%s", gaze_last_error());
    if (s || !st) { gaze_model_free(m); gaze_safetensors_free(st); return; }
    const struct gaze_model_info * info = gaze_model_info(m);
    CHECK(info->arch == GAZE_ARCH_VIT && info->vision && !info->causal, "%s: info", name);
    CHECK((info->n_labels > 0) == want_logits, "%s: n_labels %lld", name, (long long)info->n_labels);
    if (want_logits) CHECK(gaze_model_label(m, 0) && !strncmp(gaze_model_label(m, 0), "class 0", 7), "%s: label 0", name);
    // text in: refused by name
    struct gaze_run r0;
    // (the CLIP fixture is a whole CLIPModel without a tokenizer: its text tower says so)
    // (the SigLIP fixture's text tower is 16 wide against a 32-wide vision tower: it says so)
    const bool clip = !strcmp(name, "clip"), sig = !strcmp(name, "siglip");
    CHECK(gaze_model_run(m, "hello", NULL, NULL, &r0) == (clip || sig ? GAZE_ERR_UNSUPPORTED : GAZE_ERR_INVALID_ARG) &&
          strstr(gaze_last_error(), clip ? "no usable tokenizer" : sig ? "text head gives 16 values" : "vision model"),
          "%s: text refused: %s", name, gaze_last_error());
    struct gaze_image_proc proc;
    CHECK(gaze_image_proc_load(&proc, folder, info->image_size) == GAZE_OK, "%s", gaze_last_error());

    double worst_attn = 0, worst_hidden = 0, worst_out = 0, worst_pv = 0;
    for (int i = 0; i < N_IMAGES; i++) {
        char ip[256];
        snprintf(ip, sizeof ip, "tests/fixtures/images/%s", IMAGES[i]);
        struct gaze_image img;
        CHECK(gaze_image_load(&img, ip, 0) == GAZE_OK, "%s", gaze_last_error());
        // pixel_values
        float * pv = NULL;
        int64_t h, w;
        const struct gaze_st_tensor * tpv = golden(st, "pixel_values", i);
        if (gaze_image_preprocess(&proc, &img, &pv, &h, &w, NULL) == GAZE_OK && tpv && tpv->n_elements == 3 * h * w)
            worst_pv = fmax(worst_pv, rel_diff(pv, tpv->data, 3 * h * w));
        else CHECK(0, "%s %s: pixel_values", name, IMAGES[i]);
        free(pv);

        struct gaze_run_opts opts = { .parts = GAZE_RUN_PART_ATTN | GAZE_RUN_PART_HIDDEN, .n_threads = 2 };
        struct gaze_run run;
        s = gaze_model_run_image(m, &img, IMAGES[i], &opts, &run);
        CHECK(s == GAZE_OK, "%s %s: run: %s", name, IMAGES[i], gaze_last_error());
        gaze_image_free(&img);
        if (s) continue;
        const struct gaze_st_tensor * ta = golden(st, "attentions", i), * th = golden(st, "hidden", i);
        const int64_t L = info->n_layers, H = info->n_heads, C = info->n_embd, T = run.T;
        CHECK(ta && ta->n_dims == 4 && ta->shape[0] == L && ta->shape[1] == H && ta->shape[2] == T,
              "%s %s: T = %lld vs golden", name, IMAGES[i], (long long)T);
        CHECK(T == want_special + run.grid_rows * run.grid_cols, "%s: T = special + grid", name);
        if (want_special) CHECK(!strcmp(run.tokens[0], "[CLS]") && run.patch_rc[0] == -1 && run.sequence_ids[0] == -1, "%s: [CLS]", name);
        else CHECK(!strcmp(run.tokens[0], "(0,0)") && run.patch_rc[0] == 0 && run.sequence_ids[0] == 0, "%s: patches only", name);
        if (want_special == 2) CHECK(!strcmp(run.tokens[1], "[DIST]") && run.patch_rc[2] == -1, "%s: [DIST]", name);
        if (want_special == 5)   // DINOv2 with 4 registers: [CLS] [REG0] .. [REG3], then the patches
            CHECK(!strcmp(run.tokens[1], "[REG0]") && !strcmp(run.tokens[4], "[REG3]") && run.patch_rc[8] == -1 &&
                  run.sequence_ids[4] == -1 && run.patch_rc[10] == 0 && run.patch_rc[11] == 0, "%s: registers", name);
        CHECK(run.patch_rc[2 * (T - 1)] == run.grid_rows - 1 && run.patch_rc[2 * (T - 1) + 1] == run.grid_cols - 1,
              "%s: last patch cell", name);
        CHECK(run.image && run.image_h == run.grid_rows * run.patch_size && run.image_w == run.grid_cols * run.patch_size,
              "%s: stored image %lld x %lld", name, (long long)run.image_w, (long long)run.image_h);
        if (!ta || ta->n_dims != 4 || ta->shape[2] != T) { gaze_run_free(&run); continue; }
        for (int64_t l = 0; l < L; l++) {
            const struct gaze_run_layer * ly = gaze_run_find_layer(&run, l);
            const float * ref = (const float *)ta->data + l * H * T * T;
            double md = 0;
            for (int64_t k = 0; k < H * T * T; k++) md = fmax(md, fabs((double)ly->attn[k] - ref[k]));
            CHECK(md <= 1e-5, "%s %s: layer %lld attention differs by %g", name, IMAGES[i], (long long)l, md);
            worst_attn = fmax(worst_attn, md);
            const double hd = rel_diff(ly->hidden, (const float *)th->data + (l + 1) * T * C, T * C);
            CHECK(hd <= 1e-4, "%s %s: layer %lld hidden differs by %g", name, IMAGES[i], (long long)l, hd);
            worst_hidden = fmax(worst_hidden, hd);
        }
        const struct gaze_st_tensor * te = golden(st, "embedding", i), * tl = golden(st, "logits", i);
        const double ed = run.embedding && te ? rel_diff(run.embedding, te->data, C) : 1;
        CHECK(ed <= 1e-4, "%s %s: embedding differs by %g", name, IMAGES[i], ed);
        worst_out = fmax(worst_out, ed);
        CHECK((run.logits != NULL) == want_logits, "%s: logits present", name);
        if (want_logits && tl && run.logits) {
            CHECK(run.n_logits == tl->shape[0], "%s: %lld logits", name, (long long)run.n_logits);
            const double ld = rel_diff(run.logits, tl->data, run.n_logits);
            CHECK(ld <= 1e-4, "%s %s: logits differ by %g", name, IMAGES[i], ld);
            worst_out = fmax(worst_out, ld);
        }
        // the run file keeps the image part
        char tmp[64];
        snprintf(tmp, sizeof tmp, "/tmp/gaze_vit_%d_%s.safetensors", (int)getpid(), name);
        struct gaze_run back;
        CHECK(gaze_run_save(&run, tmp, false) == GAZE_OK, "save: %s", gaze_last_error());
        CHECK(gaze_run_load(&back, tmp) == GAZE_OK, "load: %s", gaze_last_error());
        CHECK(back.grid_rows == run.grid_rows && back.grid_cols == run.grid_cols && back.patch_size == run.patch_size &&
              back.patch_rc && !memcmp(back.patch_rc, run.patch_rc, (size_t)T * 2 * sizeof(int32_t)) &&
              back.image && back.image_h == run.image_h && !memcmp(back.image, run.image, (size_t)(run.image_h * run.image_w * 3)) &&
              back.n_logits == run.n_logits && (!run.logits || !memcmp(back.logits, run.logits, (size_t)run.n_logits * 4)),
              "%s: run file round trip of the image part", name);
        bool src = false;
        for (int64_t k = 0; k < back.n_extra; k++)
            src |= !strcmp(back.extra_keys[k], "gaze.image.source") && !strcmp(back.extra_values[k], IMAGES[i]);
        CHECK(src, "%s: gaze.image.source kept", name);
        gaze_run_free(&back);
        unlink(tmp);
        gaze_run_free(&run);
    }
    printf("  %-8s attention %.2g, hidden %.2g, logits/embedding %.2g, pixel_values %.2g (max differences)\n", name,
           worst_attn, worst_hidden, worst_out, worst_pv);
    CHECK(worst_pv <= 1e-5, "%s: pixel_values differ by %g", name, worst_pv);
    gaze_safetensors_free(st);
    gaze_model_free(m);
}

static char * slurp(const char * path) {
    FILE * f = fopen(path, "rb");
    if (!f) return NULL;
    char * b = calloc(1, 1 << 16);
    size_t n = b ? fread(b, 1, (1 << 16) - 1, f) : 0;
    (void)n;
    fclose(f);
    return b;
}

// A copy of fixture model `name` whose file `which` has `from` replaced by `to`: the loader
// must refuse it with status want and a message holding needle.
static void refused(const char * name, const char * which, const char * from, const char * to, enum gaze_status want,
                    const char * needle) {
    char dir[128], src[256], dst[256];
    snprintf(dir, sizeof dir, "/tmp/gaze_vit_err_%d", (int)getpid());
    mkdir(dir, 0700);
    static const char * const files[] = { "config.json", "preprocessor_config.json", "model.safetensors" };
    for (int i = 0; i < 3; i++) {
        snprintf(dst, sizeof dst, "%s/%s", dir, files[i]);
        unlink(dst);
        char cwd[1024];
        if (!getcwd(cwd, sizeof cwd)) return;
        char abs[1400];
        snprintf(abs, sizeof abs, "%s/tests/fixtures/vit/%s/%s", cwd, name, files[i]);
        if (i == 2) { CHECK(symlink(abs, dst) == 0, "symlink"); continue; }
        char * text = slurp(abs);
        CHECK(text != NULL, "read %s", abs);
        if (!text) return;
        char * at = strcmp(files[i], which) ? NULL : strstr(text, from);
        if (!strcmp(files[i], which)) CHECK(at != NULL, "%s holds %s", which, from);
        FILE * f = fopen(dst, "w");
        if (at) { fwrite(text, 1, (size_t)(at - text), f); fputs(to, f); fputs(at + strlen(from), f); }
        else fputs(text, f);
        fclose(f);
        free(text);
    }
    (void)src;
    struct gaze_model * m = NULL;
    enum gaze_status s = gaze_model_load(&m, dir);
    CHECK(s == want && m == NULL, "%s %s -> %s: %s, want %s (%s)", name, from, to, gaze_status_name(s), gaze_status_name(want),
          gaze_last_error());
    CHECK(strstr(gaze_last_error(), needle) != NULL, "message '%s' lacks '%s'", gaze_last_error(), needle);
    gaze_model_free(m);
    for (int i = 0; i < 3; i++) { snprintf(dst, sizeof dst, "%s/%s", dir, files[i]); unlink(dst); }
    rmdir(dir);
}

static void test_errors(void) {
    refused("vit", "config.json", "\"hidden_act\": \"gelu\"", "\"hidden_act\": \"relu\"", GAZE_ERR_UNSUPPORTED, "hidden_act \"relu\"");
    refused("vit", "config.json", "\"num_channels\": 3", "\"num_channels\": 1", GAZE_ERR_UNSUPPORTED, "num_channels 1");
    refused("vit", "config.json", "\"patch_size\": 8", "\"patch_size\": 16", GAZE_ERR_FORMAT, "position_embeddings has 17 positions");
    refused("dinov2", "config.json", "\"use_swiglu_ffn\": false", "\"use_swiglu_ffn\": true", GAZE_ERR_UNSUPPORTED, "use_swiglu_ffn");
    refused("vit", "preprocessor_config.json", "ViTImageProcessor", "ConvNextImageProcessor", GAZE_ERR_UNSUPPORTED,
            "image processor \"ConvNextImageProcessor\" is not supported");
    refused("vit", "preprocessor_config.json", "\"resample\": 2", "\"resample\": 0", GAZE_ERR_UNSUPPORTED, "resample 0");
    refused("vit", "preprocessor_config.json", "\"height\": 32,\n    \"width\": 32", "\"height\": 48,\n    \"width\": 48",
            GAZE_ERR_FORMAT, "makes 48 x 48 images but the model takes 32 x 32");
    refused("vit", "preprocessor_config.json", "\"image_std\": [\n    0.5", "\"image_std\": [\n    0", GAZE_ERR_FORMAT,
            "image_std[0] is 0");
}

// Mean attention distance on a hand-made 2 x 2 grid (patch 10 px): patch (0,0) looks at (1,1),
// the others at themselves, [CLS] is not a query that counts.
static void test_distance(void) {
    struct gaze_run run;
    gaze_run_init(&run);
    const char * toks[5] = { "[CLS]", "(0,0)", "(0,1)", "(1,0)", "(1,1)" };
    const int32_t ids[5] = { 0, 1, 2, 3, 4 };
    run.n_layers = 1; run.n_heads = run.n_kv_heads = 1;
    CHECK(gaze_run_set_tokens(&run, 5, toks, NULL, ids, NULL) == GAZE_OK, "%s", gaze_last_error());
    CHECK(gaze_run_set_capture(&run, NULL, 1, NULL, 5) == GAZE_OK, "%s", gaze_last_error());
    struct gaze_run_layer * ly;
    CHECK(gaze_run_add_layer(&run, 0, GAZE_RUN_PART_ATTN, &ly) == GAZE_OK, "%s", gaze_last_error());
    float * a = ly->attn;   // [1, 5, 5]
    for (int k = 0; k < 5; k++) a[k] = 0.2f;
    a[1 * 5 + 4] = 1;       // (0,0) -> (1,1): 10·√2 px
    a[2 * 5 + 2] = a[3 * 5 + 3] = a[4 * 5 + 4] = 1;
    double d = -1;
    CHECK(gaze_attention_distance(&run, &d) == GAZE_ERR_INVALID_ARG, "a text run is refused");
    run.patch_rc = malloc(10 * sizeof(int32_t));
    const int32_t rc[10] = { -1, -1, 0, 0, 0, 1, 1, 0, 1, 1 };
    memcpy(run.patch_rc, rc, sizeof rc);
    run.grid_rows = run.grid_cols = 2;
    run.patch_size = 10;
    CHECK(gaze_attention_distance(&run, &d) == GAZE_OK, "%s", gaze_last_error());
    CHECK(fabs(d - 10 * sqrt(2.0) / 4) < 1e-9, "mean distance %g, want %g", d, 10 * sqrt(2.0) / 4);
    // attention on [CLS] does not count: renormalised over patch keys
    a[1 * 5 + 4] = 0.5f; a[1 * 5 + 0] = 0.5f;
    CHECK(gaze_attention_distance(&run, &d) == GAZE_OK && fabs(d - 10 * sqrt(2.0) / 4) < 1e-9, "renormalised: %g", d);
    gaze_run_free(&run);
}

int main(void) {
    test_distance();
    test_errors();
    test_model("vit", 1, true);
    test_model("vit_pool", 1, false);
    test_model("deit", 2, true);
    test_model("dinov2", 1, true);
    test_model("dinov2_reg", 5, true);   // tests/reference/gen_vision2_fixtures.py (transformers 4.48.3)
    test_model("clip", 1, false);
    test_model("siglip", 0, false);
    return check_summary("test_vit_golden");
}
