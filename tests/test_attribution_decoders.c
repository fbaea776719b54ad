// Decoder attributions against an independent HF/numpy implementation on the tiny decoders of
// tests/fixtures/decoders (tests/fixtures/attribution/decoder_*.safetensors, made by
// tests/reference/gen_attribution_decoder_fixtures.py): value-norm, residual norm and ALTI on a
// plain pre-norm (Llama), post-norm (Gemma 2, Gemma 3: the post-attention RMSNorm linearised
// per token) and parallel-residual (GPT-NeoX) block; value zeroing and attention knockout in
// the decoder's forward. No downloaded model needed.
#include "check.h"
#include "core/core.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define TOL 1e-5   // issue 18: ≤ 1e-5 (max abs; relative to the largest value for the norms)

static const char * src_dir(void) {
    const char * s = getenv("GAZE_SOURCE_DIR");
    return s && *s ? s : ".";
}

static float * fx(const struct gaze_safetensors * st, const char * name, int64_t want) {
    const struct gaze_st_tensor * t = gaze_safetensors_find(st, name);
    CHECK(t && t->n_elements == want, "fixture tensor %s missing or not %lld elements", name, (long long)want);
    if (!t || t->n_elements != want) return NULL;
    float * out = malloc((size_t)want * sizeof *out);
    if (out && gaze_st_tensor_to_f32(t, out, want)) { free(out); return NULL; }
    return out;
}

// max |got - want| against tol · max(1, max |want|) (rel) or tol (abs)
static void compare(const char * fam, const char * what, const float * got, const struct gaze_safetensors * st,
                    const char * name, int64_t n, bool rel) {
    float * want = fx(st, name, n);
    if (!want) return;
    double e = got ? 0 : INFINITY, scale = 0;
    for (int64_t i = 0; got && i < n; i++) {
        const double d = fabs((double)got[i] - (double)want[i]);
        if (!(d <= e)) e = d;   // NaN sticks
        scale = fmax(scale, fabs(want[i]));
    }
    const double tol = rel ? TOL * fmax(1, scale) : TOL;
    printf("  %-10s %-16s max abs error %.3g (values up to %.3g)\n", fam, what, e, scale);
    CHECK(e <= tol, "%s %s: max abs error %g > %g", fam, what, e, tol);
    free(want);
}

static void family_case(const char * fam, const char * text, json_t * edges) {
    char dir[4096], fix[4096];
    snprintf(dir, sizeof dir, "%s/tests/fixtures/decoders/%s", src_dir(), fam);
    snprintf(fix, sizeof fix, "%s/tests/fixtures/attribution/decoder_%s.safetensors", src_dir(), fam);
    struct gaze_model * m = NULL;
    struct gaze_safetensors * st = NULL;
    if (gaze_model_load(&m, dir)) { CHECK(0, "cannot load %s: %s", dir, gaze_last_error()); return; }
    if (gaze_safetensors_open(&st, fix)) { CHECK(0, "cannot open %s: %s", fix, gaze_last_error()); gaze_model_free(m); return; }
    struct gaze_attrib a = { .want = GAZE_ATTRIB_VNORM | GAZE_ATTRIB_RESLN | GAZE_ATTRIB_ALTI | GAZE_ATTRIB_VZERO };
    struct gaze_run_opts o = { .no_capture = true, .attrib = &a, .n_threads = 1 };
    struct gaze_run run;
    enum gaze_status s = gaze_model_run(m, text, NULL, &o, &run);
    CHECK(s == GAZE_OK, "%s: attributions: %s", fam, gaze_last_error());
    if (!s) {
        const int64_t L = a.n_layers, T = a.T;
        const struct gaze_st_tensor * ids = gaze_safetensors_find(st, "ids");
        CHECK(ids && ids->n_elements == T && run.T == T, "%s: token count %lld differs from the fixture", fam, (long long)T);
        compare(fam, "value-norm", a.vnorm, st, "vnorm", L * T * T, true);
        compare(fam, "residual norm", a.resln, st, "resln", L * T * T, true);
        compare(fam, "ALTI", a.alti, st, "alti", L * T * T, false);
        compare(fam, "value zeroing", a.vzero, st, "vzero", L * T * T, false);
        gaze_run_free(&run);
        // knockout: every layer's weights with the fixture's edges blocked
        const size_t n = json_array_size(edges);
        struct gaze_knockout ko[8];
        for (size_t k = 0; k < n && k < 8; k++) {
            json_t * e = json_array_get(edges, k);
            ko[k] = (struct gaze_knockout){ json_integer_value(json_array_get(e, 0)), json_integer_value(json_array_get(e, 1)),
                                            json_integer_value(json_array_get(e, 2)) };
        }
        struct gaze_run_opts ok = { .knockout = ko, .n_knockout = (int64_t)n, .n_threads = 1 };
        s = gaze_model_run(m, text, NULL, &ok, &run);
        CHECK(s == GAZE_OK, "%s: knockout: %s", fam, gaze_last_error());
        if (!s) {
            const int64_t H = run.n_heads_cap, TT = T * T;
            float * got = malloc((size_t)(L * H * TT) * sizeof *got);
            bool have = got && run.n_cap_layers == L && run.T == T;
            for (int64_t l = 0; have && l < L; l++) {
                have = run.layers[l].attn != NULL;
                if (have) memcpy(got + l * H * TT, run.layers[l].attn, (size_t)(H * TT) * sizeof *got);
            }
            CHECK(have, "%s: knockout run captured no attention", fam);
            compare(fam, "knockout attn", have ? got : NULL, st, "knockout_attn", L * H * TT, false);
            // the blocked edges really are 0 (layer 0: key 2 for every query)
            CHECK(have && got[(0 * TT) + 3 * T + 2] == 0.0f, "%s: knocked-out edge not zero", fam);
            free(got);
            gaze_run_free(&run);
        }
        // an edge outside the tokens is refused, naming it
        const struct gaze_knockout bad = { 0, -1, T + 3 };
        struct gaze_run_opts ob = { .no_capture = true, .knockout = &bad, .n_knockout = 1, .n_threads = 1 };
        CHECK(gaze_model_run(m, text, NULL, &ob, &run) == GAZE_ERR_INVALID_ARG && strstr(gaze_last_error(), "knockout edge"),
              "%s: bad knockout edge: %s", fam, gaze_last_error());
    }
    gaze_attrib_free(&a);
    gaze_safetensors_free(st);
    gaze_model_free(m);
}

int main(void) {
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/fixtures/attribution/decoders.json", src_dir());
    json_error_t err;
    json_t * cases = json_load_file(path, 0, &err);
    CHECK(cases != NULL, "cannot read %s", path);
    if (!cases) return check_summary("test_attribution_decoders");
    const char * text = json_string_value(json_object_get(cases, "text"));
    json_t * fams = json_object_get(cases, "families");
    CHECK(json_array_size(fams) == 4, "four families in the fixture");
    for (size_t i = 0; i < json_array_size(fams); i++)
        family_case(json_string_value(json_array_get(fams, i)), text, json_object_get(cases, "knockout"));
    json_decref(cases);
    return check_summary("test_attribution_decoders");
}
