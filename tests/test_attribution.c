// Attribution methods against an independent HF/numpy implementation (tests/fixtures/attribution,
// made by tests/reference/gen_attribution_fixtures.py): value-norm per head and summed, the
// residual + LayerNorm norm, ALTI and its rollout, value zeroing and attention knockout on
// MiniLM, and the logit lens (gaze_model_unembed) on SmolLM2 in exact mode. Needs the fetched
// models ($GAZE_HOME/models/{minilm,smollm2}).
#include "check.h"
#include "core/core.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define TOL 1e-5   // max abs error, every method (issue 18)

static const char * src_dir(void) {
    const char * s = getenv("GAZE_SOURCE_DIR");
    return s && *s ? s : ".";
}

static void model_path(char * out, size_t n, const char * rel) {
    const char * home = getenv("GAZE_HOME");
    if (home && *home) snprintf(out, n, "%s/models/%s", home, rel);
    else snprintf(out, n, "%s/.cache/gaze/models/%s", getenv("HOME") ? getenv("HOME") : ".", rel);
}

static float * fx(const struct gaze_safetensors * st, const char * name, int64_t want) {
    const struct gaze_st_tensor * t = gaze_safetensors_find(st, name);
    CHECK(t && t->n_elements == want, "fixture tensor %s missing or not %lld elements", name, (long long)want);
    if (!t || t->n_elements != want) return NULL;
    float * out = malloc((size_t)want * sizeof *out);
    if (out && gaze_st_tensor_to_f32(t, out, want)) { free(out); return NULL; }
    return out;
}

static double max_abs_f(const float * a, const float * b, int64_t n) {
    double m = 0;
    for (int64_t i = 0; i < n; i++) {
        const double d = fabs((double)a[i] - (double)b[i]);
        if (!(d <= m)) m = d;   // NaN sticks
    }
    return m;
}

static void compare(const char * what, const float * got, const struct gaze_safetensors * st, const char * name,
                    int64_t n, double tol) {
    float * want = fx(st, name, n);
    if (!want) return;
    const double e = got ? max_abs_f(got, want, n) : INFINITY;
    printf("  %-22s max abs error %.3g\n", what, e);
    CHECK(e <= tol, "%s: max abs error %g > %g", what, e, tol);
    free(want);
}

static void minilm_case(struct gaze_model * m, const char * text, const char * fixture, json_t * knockout) {
    struct gaze_safetensors * st = NULL;
    if (gaze_safetensors_open(&st, fixture)) { CHECK(0, "cannot open %s: %s", fixture, gaze_last_error()); return; }
    struct gaze_attrib a = { .want = GAZE_ATTRIB_VNORM | GAZE_ATTRIB_RESLN | GAZE_ATTRIB_ALTI | GAZE_ATTRIB_VZERO };
    struct gaze_run_opts o = { .no_capture = true, .attrib = &a, .n_threads = 1 };
    struct gaze_run run;
    enum gaze_status s = gaze_model_run(m, text, NULL, &o, &run);
    CHECK(s == GAZE_OK, "run: %s", gaze_last_error());
    if (s) { gaze_safetensors_free(st); return; }
    const int64_t L = a.n_layers, H = a.n_heads, T = a.T;
    printf("%s (T = %lld)\n", text, (long long)T);
    const struct gaze_st_tensor * ids = gaze_safetensors_find(st, "ids");
    CHECK(ids && ids->n_elements == T && run.T == T, "token count %lld differs from the fixture", (long long)T);
    if (ids && ids->n_elements == T) {
        int32_t * want = malloc((size_t)T * sizeof *want);
        memcpy(want, ids->data, (size_t)T * sizeof *want);
        CHECK(memcmp(want, run.token_ids, (size_t)T * sizeof *want) == 0, "token ids differ from the fixture");
        free(want);
    }
    compare("value-norm per head", a.vnorm_heads, st, "vnorm_heads", L * H * T * T, TOL);
    compare("value-norm", a.vnorm, st, "vnorm", L * T * T, TOL);
    compare("residual + LayerNorm", a.resln, st, "resln", L * T * T, TOL);
    compare("ALTI", a.alti, st, "alti", L * T * T, TOL);
    compare("value zeroing", a.vzero, st, "vzero", L * T * T, TOL);
    double * roll = malloc((size_t)(T * T) * sizeof *roll);
    float * rollf = malloc((size_t)(T * T) * sizeof *rollf);
    CHECK(gaze_attrib_rollout(a.alti, L, T, roll) == GAZE_OK, "ALTI rollout");
    for (int64_t i = 0; i < T * T; i++) rollf[i] = (float)roll[i];
    compare("ALTI rollout", rollf, st, "alti_rollout", T * T, TOL);
    // rows of ALTI and value zeroing sum to 1
    double worst = 0;
    for (int64_t r = 0; r < L * T; r++) {
        double sa = 0, sz = 0;
        for (int64_t j = 0; j < T; j++) { sa += a.alti[r * T + j]; sz += a.vzero[r * T + j]; }
        worst = fmax(worst, fmax(fabs(sa - 1), fabs(sz - 1)));
    }
    CHECK(worst < 1e-5, "ALTI / value-zeroing rows sum to 1 within %g", worst);
    free(roll); free(rollf);
    gaze_attrib_free(&a);
    gaze_run_free(&run);

    // knockout through the additive mask: embedding and layer-1 attention
    struct gaze_knockout ko[8];
    const int64_t n_ko = (int64_t)json_array_size(knockout);
    for (int64_t k = 0; k < n_ko && k < 8; k++) {
        json_t * e = json_array_get(knockout, (size_t)k);
        ko[k] = (struct gaze_knockout){ json_integer_value(json_array_get(e, 0)), json_integer_value(json_array_get(e, 1)),
                                        json_integer_value(json_array_get(e, 2)) };
    }
    const int64_t layer1 = 1;
    struct gaze_run_opts ok = { .layers = &layer1, .n_layers = 1, .knockout = ko, .n_knockout = n_ko, .n_threads = 1 };
    s = gaze_model_run(m, text, NULL, &ok, &run);
    CHECK(s == GAZE_OK, "knockout run: %s", gaze_last_error());
    if (!s) {
        compare("knockout embedding", run.embedding, st, "knockout_embedding", run.n_embd, TOL);
        compare("knockout attention L1", run.layers[0].attn, st, "knockout_attn1", H * T * T, TOL);
        // blocked edges really are zero
        CHECK(run.layers[0].attn[0 * T * T + 3 * T + 2] == 0.0f, "edge 3 <- 2 of layer 1 is blocked");
        gaze_run_free(&run);
    }
    // an edge outside the input is refused by name
    struct gaze_knockout bad = { 0, 0, T + 5 };
    struct gaze_run_opts ob = { .no_capture = true, .knockout = &bad, .n_knockout = 1 };
    s = gaze_model_run(m, text, NULL, &ob, &run);
    CHECK(s == GAZE_ERR_INVALID_ARG && strstr(gaze_last_error(), "knockout"), "bad knockout edge refused: %s",
          gaze_last_error());
    gaze_safetensors_free(st);
}

// error relative to the largest expected value (a decoder's residual stream spans 1e-2 .. 1e2)
static void compare_rel(const char * what, const float * got, const struct gaze_safetensors * st, const char * name,
                        int64_t n, double tol) {
    float * want = fx(st, name, n);
    if (!want) return;
    double scale = 0;
    for (int64_t i = 0; i < n; i++) scale = fmax(scale, fabs(want[i]));
    const double e = got ? max_abs_f(got, want, n) : INFINITY;
    printf("  %-22s max abs error %.3g (values up to %.3g)\n", what, e, scale);
    CHECK(e <= tol * fmax(1, scale), "%s: max abs error %g > %g", what, e, tol * fmax(1, scale));
    free(want);
}

// Pre-LN decoder attributions (model_attrib_decoder_layer) on SmolLM2 in exact mode.
static void decoder_attrib_case(struct gaze_model * m, const char * dir, const char * prompt) {
    char fix[4200];
    snprintf(fix, sizeof fix, "%s/smollm2_attrib.safetensors", dir);
    struct gaze_safetensors * st = NULL;
    if (gaze_safetensors_open(&st, fix)) { CHECK(0, "cannot open %s", fix); return; }
    struct gaze_attrib a = { .want = GAZE_ATTRIB_VNORM | GAZE_ATTRIB_RESLN | GAZE_ATTRIB_ALTI };
    struct gaze_run_opts o = { .no_capture = true, .attrib = &a, .n_threads = 1 };
    struct gaze_run run;
    enum gaze_status s = gaze_model_run(m, prompt, NULL, &o, &run);
    CHECK(s == GAZE_OK, "decoder run: %s", gaze_last_error());
    if (!s) {
        const int64_t L = a.n_layers, H = a.n_heads, T = a.T;
        const struct gaze_st_tensor * ids = gaze_safetensors_find(st, "ids");
        CHECK(ids && ids->n_elements == T, "SmolLM2 token count %lld differs from the fixture", (long long)T);
        printf("%s (SmolLM2, exact, T = %lld)\n", prompt, (long long)T);
        compare_rel("value-norm per head", a.vnorm_heads, st, "vnorm_heads", L * H * T * T, TOL);
        compare_rel("value-norm", a.vnorm, st, "vnorm", L * T * T, TOL);
        compare_rel("residual norm", a.resln, st, "resln", L * T * T, TOL);
        compare("ALTI", a.alti, st, "alti", L * T * T, TOL);
        CHECK(a.vzero == NULL, "value zeroing is not computed for decoders");
        gaze_run_free(&run);
    }
    // value zeroing and knockout run in the decoder's forward too (checked against HF on the tiny
    // decoders by test_attribution_decoders): rows of value zeroing sum to 1
    struct gaze_attrib z = { .want = GAZE_ATTRIB_VZERO };
    struct gaze_run_opts oz = { .no_capture = true, .attrib = &z };
    s = gaze_model_run(m, prompt, NULL, &oz, &run);
    CHECK(s == GAZE_OK && z.vzero, "value zeroing on SmolLM2: %s", gaze_last_error());
    if (!s) {
        double row = 0;
        for (int64_t j = 0; z.vzero && j < z.T; j++) row += z.vzero[(z.n_layers - 1) * z.T * z.T + (z.T - 1) * z.T + j];
        CHECK(fabs(row - 1) < 1e-5, "value zeroing row sums to %g", row);
        gaze_run_free(&run);
    }
    gaze_attrib_free(&z);
    gaze_attrib_free(&a);
    gaze_safetensors_free(st);
}

static void lens_case(const char * dir) {
    char path[4096], fix[4200];
    model_path(path, sizeof path, "smollm2/SmolLM2-135M-Instruct.Q4_1.gguf");
    snprintf(fix, sizeof fix, "%s/smollm2_lens.safetensors", dir);
    struct gaze_model * m = NULL;
    if (gaze_model_load(&m, path)) { CHECK(0, "cannot load %s: %s", path, gaze_last_error()); return; }
    CHECK(gaze_model_set_exact(m, true) == GAZE_OK, "exact mode");
    struct gaze_safetensors * st = NULL;
    if (gaze_safetensors_open(&st, fix)) { CHECK(0, "cannot open %s", fix); gaze_model_free(m); return; }
    const int64_t C = gaze_model_info(m)->n_embd, V = gaze_model_info(m)->n_vocab;
    float * hid = fx(st, "hidden", 2 * C), * want = fx(st, "logits", 2 * 64);
    const struct gaze_st_tensor * sel = gaze_safetensors_find(st, "logit_ids");
    float * logits = malloc((size_t)(2 * V) * sizeof *logits), got[128];
    if (hid && want && sel && logits) {
        CHECK(gaze_model_unembed(m, hid, 2, logits) == GAZE_OK, "unembed: %s", gaze_last_error());
        int32_t idx[64];
        memcpy(idx, sel->data, sizeof idx);
        double scale = 0;
        for (int r = 0; r < 2; r++)
            for (int k = 0; k < 64; k++) { got[r * 64 + k] = logits[r * V + idx[k]]; scale = fmax(scale, fabs(want[r * 64 + k])); }
        const double e = max_abs_f(got, want, 128);
        printf("logit lens (SmolLM2, exact): max abs error %.3g over logits up to %.3g\n", e, scale);
        CHECK(e <= TOL * fmax(1, scale), "logit lens: max abs error %g > %g", e, TOL * fmax(1, scale));
    }
    free(hid); free(want); free(logits);
    gaze_safetensors_free(st);
    decoder_attrib_case(m, dir, "The keys to the cabinet");
    gaze_model_free(m);
}

int main(void) {
    char dir[2048], path[4096], minilm[4096];
    snprintf(dir, sizeof dir, "%s/tests/fixtures/attribution", src_dir());
    snprintf(path, sizeof path, "%s/cases.json", dir);
    json_error_t err;
    json_t * cases = json_load_file(path, 0, &err);
    CHECK(cases != NULL, "cannot read %s", path);
    if (!cases) return check_summary("test_attribution");
    model_path(minilm, sizeof minilm, "minilm");
    struct gaze_model * m = NULL;
    if (gaze_model_load(&m, minilm)) {
        CHECK(0, "cannot load %s: %s", minilm, gaze_last_error());
        json_decref(cases);
        return check_summary("test_attribution");
    }
    json_t * sents = json_object_get(cases, "sentences");
    for (size_t i = 0; i < json_array_size(sents); i++) {
        snprintf(path, sizeof path, "%s/minilm_%zu.safetensors", dir, i);
        minilm_case(m, json_string_value(json_array_get(sents, i)), path, json_object_get(cases, "knockout"));
    }
    // the attribution matrices count against the memory budget (16 [6, T, T] arrays here: 15 MiB
    // at T = 200, far above the run's own 2 MiB of work buffers)
    {
        char longtext[2048] = "";
        for (int i = 0; i < 190; i++) strcat(longtext, "word ");
        struct gaze_attrib a = { .want = GAZE_ATTRIB_VNORM | GAZE_ATTRIB_RESLN | GAZE_ATTRIB_ALTI | GAZE_ATTRIB_VZERO };
        struct gaze_run_opts o = { .no_capture = true, .attrib = &a, .max_memory = 8 << 20 };
        struct gaze_run run;
        enum gaze_status s = gaze_model_run(m, longtext, NULL, &o, &run);
        CHECK(s == GAZE_ERR_LIMIT && strstr(gaze_last_error(), "attribution matrices"), "budget: %s", gaze_last_error());
        if (!s) gaze_run_free(&run);
        gaze_attrib_free(&a);
    }
    // encoders have no logit lens: refused by name
    float h[384], lg[8];
    memset(h, 0, sizeof h);
    CHECK(gaze_model_unembed(m, h, 1, lg) == GAZE_ERR_UNSUPPORTED && strstr(gaze_last_error(), "decoder"),
          "unembed on an encoder refused: %s", gaze_last_error());
    gaze_model_free(m);
    lens_case(dir);
    json_decref(cases);
    return check_summary("test_attribution");
}
