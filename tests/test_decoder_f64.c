// f32 accuracy at least PyTorch's (issue 13): gaze's exact mode (weights dequantised to f32) on
// real models, against a float64 run of the same model (tests/reference/gen_f64_fixtures.py:
// transformers' GGUF loader, eager attention, everything float64, fixtures in tests/fixtures/f64),
// compared with transformers' own float32 run of it. The first token of these models carries
// massive activations (|h| ~2.2e4 on SmolLM2): every later row attends to it, so the weights on
// that token (the "sink" column) are summed on their own.
// Measured (AVX-512, 2026-12-07, against the Intel fixture of that day): summed over the 6
// prompts x 30 layers, gaze's max / mean error is 0.94 / 0.98 of transformers' f32 error;
// per layer the ratio scatters 0.5-1.9 either way (rounding noise at 1e-7). The bar: summed over every case and layer, each of max, mean,
// sink max and sink mean at most F64_SUM_SLACK x transformers' (a systematic loss, such as the
// 2x once reported, fails it; another ISA's rounding does not), and no layer above
// F64_LAYER_SLACK x.
// Needs $GAZE_HOME/models/smollm2 (scripts/fetch-test-models) and Gemma 3 ($GAZE_GEMMA3, else
// $GAZE_HOME/models/gemma3, `gaze fetch gemma3`); either absent fails, as test_gemma3_golden.
#include "check.h"
#include "gaze.h"
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define F64_SUM_SLACK 1.25
#define F64_LAYER_SLACK 3.0
// PyTorch's own f32 error depends on the machine's ISA (its f32 kernels differ): the SmolLM2
// fixture made on Intel AVX-512 recorded 19-27 % less of it (summed) than the same script on
// AMD EPYC Zen 3 (AVX2), where gaze's AVX2 path was at 1.07-1.14x of that Intel figure.
// So a fixture names its machine ("machine": {"isa"}; tests/fixtures/f64/README.md) and,
// when gaze runs the same ISA, the bar holds as written: summed error at most
// transformers' (1.0x). Measured with the AVX2 fixture (2026-12-07): max 0.89, mean 0.91,
// sink max 0.86, sink mean 0.95. Against a fixture of another (or unnamed) ISA the summed
// slack F64_SUM_SLACK stays, for that ISA's rounding.
#define F64_SAME_ISA_SUM_BAR 1.0
// Gemma 3 270M (head_dim 256, |h| ~1e5 from layer 4 on), measured on AMD EPYC Zen 3 (AVX2),
// 2026-12-07: summed over 6 prompts x 18 layers gaze's max / mean / sink max / sink mean error
// is 0.85 / 0.87 / 0.84 / 0.88 of transformers'; per layer summed over the prompts at most
// 1.10 (max) / 0.97 (mean); per prompt and layer up to 3.2x (T = 6..19: a max over a few
// hundred weights, rounding luck). Before (one running f32 sum over the 256 dims of each
// score in the fused kernel, RoPE angles and RMSNorm in f32 steps) it was 1.59 / 1.52 / 1.54 /
// 1.50 summed and up to 2.04x per layer: both bars below fail it. The per-layer bar 1.5 leaves
// room for another ISA's rounding (the scatter per layer is ~0.3 either way) and still fails
// a systematic loss of half again PyTorch's error.
#define F64_GEMMA3_LAYER_BAR 1.5
#define F64_GEMMA3_CASE_LAYER_SLACK 4.0

static const char * src_dir(void) {
    const char * d = getenv("GAZE_SOURCE_DIR");
    return d && *d ? d : ".";
}

// sum_bar: summed over every case and layer; case_layer_bar: each case's layer; layer_bar > 0:
// also, for every layer, max and mean summed over the cases at most layer_bar x transformers'
// (summed over cases so that one short prompt's rounding luck at 1e-7 does not decide it).
static void check_model(const char * model_name, const char * path, const char * fetch, double sum_bar,
                        double case_layer_bar, double layer_bar) {
    char fx[4400];
    snprintf(fx, sizeof fx, "%s/tests/fixtures/f64/%s/f64.json", src_dir(), model_name);
    json_error_t jerr;
    json_t * doc = json_load_file(fx, JSON_REJECT_DUPLICATES, &jerr);
    CHECK(doc != NULL, "%s: %s", fx, jerr.text);
    if (access(path, R_OK) != 0) {   // never skipped: make test fetches the models
        CHECK(false, "no %s at %s: %s", model_name, path, fetch);
        json_decref(doc);
        return;
    }
    struct gaze_model * model = NULL;
    enum gaze_status s = gaze_model_load(&model, path);
    CHECK(s == GAZE_OK, "load %s: %s (%s)", path, gaze_last_error(), fetch);
    if (!doc || s) { json_decref(doc); gaze_model_free(model); return; }
    CHECK(gaze_model_set_exact(model, true) == GAZE_OK, "set_exact: %s", gaze_last_error());
    // transformers' f32 error was measured on a machine of this ISA: the bar as the issue has it
    const char * isa = gaze_isa_name(gaze_isa_active());
    const char * fx_isa = json_string_value(json_object_get(json_object_get(doc, "machine"), "isa"));
    const bool same_isa = fx_isa && strcmp(fx_isa, isa) == 0;
    if (same_isa && sum_bar > F64_SAME_ISA_SUM_BAR) sum_bar = F64_SAME_ISA_SUM_BAR;
    printf("%s: fixture's transformers f32 run on %s, gaze on %s: summed bar %.2fx\n", model_name,
           fx_isa ? fx_isa : "an unnamed machine", isa, sum_bar);
    const char * th = getenv("GAZE_THREADS");
    json_t * cases = json_object_get(doc, "cases");
    double tot_t[4] = { 0 }, tot_g[4] = { 0 };   // summed over every case and layer
    enum { MAXL = 64 };
    double lay_t[MAXL][2] = { { 0 } }, lay_g[MAXL][2] = { { 0 } };   // per layer, summed over cases
    int64_t n_layers = 0;
    size_t ci;
    json_t * c;
    printf("%s (%s), exact mode, %s: attention error against float64\n", model_name, path, gaze_isa_name(gaze_isa_active()));
    printf("  %-12s %4s %5s %9s %9s %9s %9s %9s %9s %9s %9s %8s\n", "case", "T", "layer", "torch max", "gaze max",
           "torch mean", "gaze mean", "sink max", "gaze", "sink mean", "gaze", "max |h|");
    json_array_foreach(cases, ci, c) {
        const char * name = json_string_value(json_object_get(c, "name"));
        const char * text = json_string_value(json_object_get(c, "text"));
        const char * afile = json_string_value(json_object_get(c, "file"));
        json_t * ids = json_object_get(c, "ids"), * layers = json_object_get(c, "layers");
        const int64_t T = (int64_t)json_array_size(ids), L = (int64_t)json_array_size(layers);
        struct gaze_run_opts o = { 0 };
        o.n_threads = th ? atoi(th) : 0;
        struct gaze_run run;
        s = gaze_model_run(model, text, NULL, &o, &run);
        CHECK(s == GAZE_OK, "%s: run: %s", name, gaze_last_error());
        if (s) continue;
        bool same = run.T == T && run.n_layers == L;
        for (int64_t t = 0; same && t < T; t++) same = run.token_ids[t] == json_integer_value(json_array_get(ids, (size_t)t));
        CHECK(same, "%s: tokens differ from the fixture's (T %lld vs %lld)", name, (long long)run.T, (long long)T);
        char ap[4400];
        snprintf(ap, sizeof ap, "%s/tests/fixtures/f64/%s/%s", src_dir(), model_name, afile);
        struct gaze_safetensors * st = NULL;
        CHECK(gaze_safetensors_open(&st, ap) == GAZE_OK, "%s: %s", ap, gaze_last_error());
        const struct gaze_st_tensor * at = st ? gaze_safetensors_find(st, "attention") : NULL;
        const int64_t P = T * (T + 1) / 2, H = run.n_heads;
        CHECK(at && at->dtype == GAZE_DTYPE_F64 && at->n_dims == 3 && at->shape[0] == L && at->shape[1] == H &&
              at->shape[2] == P, "%s: attention tensor missing or of the wrong shape", ap);
        if (!same || !at || !(at->dtype == GAZE_DTYPE_F64 && at->shape[0] == L && at->shape[1] == H && at->shape[2] == P)) {
            gaze_safetensors_free(st);
            gaze_run_free(&run);
            continue;
        }
        double * ref = malloc((size_t)at->n_bytes);
        memcpy(ref, at->data, at->n_bytes);   // the mapping may be unaligned
        const int64_t big = json_integer_value(json_object_get(c, "massive_token"));
        // [0..3]: max, mean, sink max, sink mean; torch (t) and gaze (g), summed over layers
        double tsum[4] = { 0 }, gsum_all[4] = { 0 };
        for (int64_t l = 0; l < L; l++) {
            json_t * lj = json_array_get(layers, (size_t)l);
            const double tv[4] = { json_number_value(json_object_get(lj, "max")), json_number_value(json_object_get(lj, "mean")),
                                   json_number_value(json_object_get(lj, "sink_max")),
                                   json_number_value(json_object_get(lj, "sink_mean")) };
            const struct gaze_run_layer * ly = gaze_run_find_layer(&run, l);
            CHECK(ly && ly->attn, "%s: layer %lld not captured", name, (long long)l);
            if (!ly || !ly->attn) continue;
            double gmax = 0, gsum = 0, smax = 0, ssum = 0;
            for (int64_t h = 0; h < H; h++)
                for (int64_t i = 0, p = 0; i < T; i++)
                    for (int64_t j = 0; j <= i; j++, p++) {
                        const double e = fabs((double)ly->attn[(h * T + i) * T + j] - ref[(l * H + h) * P + p]);
                        gmax = e > gmax ? e : gmax;
                        gsum += e;
                        if (j == big) { smax = e > smax ? e : smax; ssum += e; }
                    }
            const double gv[4] = { gmax, gsum / (double)(H * P), smax, ssum / (double)(H * (T - big)) };
            for (int k = 0; k < 4; k++) { tsum[k] += tv[k]; gsum_all[k] += gv[k]; }
            if (l < MAXL) {
                for (int k = 0; k < 2; k++) { lay_t[l][k] += tv[k]; lay_g[l][k] += gv[k]; }
                n_layers = l + 1 > n_layers ? l + 1 : n_layers;
            }
            const bool ok = gv[0] <= tv[0] * case_layer_bar && gv[1] <= tv[1] * case_layer_bar;   // per layer
            if (!ok || getenv("GAZE_F64_VERBOSE"))
                printf("  %-12s %4lld %5lld %9.3g %9.3g %9.3g %9.3g %9.3g %9.3g %9.3g %9.3g %8.0f%s\n", name, (long long)T,
                       (long long)l, tv[0], gv[0], tv[1], gv[1], tv[2], gv[2], tv[3], gv[3],
                       json_number_value(json_object_get(lj, "max_abs_h")), ok ? "" : "  <- above torch");
            CHECK(ok, "%s layer %lld: gaze max %.3g / mean %.3g vs transformers f32 %.3g / %.3g (float64 reference)", name,
                  (long long)l, gv[0], gv[1], tv[0], tv[1]);
        }
        printf("  %-12s %4lld %5s %9.3g %9.3g %9.3g %9.3g %9.3g %9.3g %9.3g %9.3g %8.0f  (sums over layers; sink: token %lld)\n",
               name, (long long)T, "all", tsum[0], gsum_all[0], tsum[1], gsum_all[1], tsum[2], gsum_all[2], tsum[3],
               gsum_all[3], json_number_value(json_object_get(c, "max_abs_h")), (long long)big);
        for (int k = 0; k < 4; k++) { tot_t[k] += tsum[k]; tot_g[k] += gsum_all[k]; }
        free(ref);
        gaze_safetensors_free(st);
        gaze_run_free(&run);
    }
    static const char * const what[4] = { "max", "mean", "sink max", "sink mean" };
    if (layer_bar > 0) {
        double worst[2] = { 0 };
        int64_t worst_l[2] = { 0 };
        for (int64_t l = 0; l < n_layers; l++)
            for (int k = 0; k < 2; k++) {
                const double r = lay_t[l][k] > 0 ? lay_g[l][k] / lay_t[l][k] : INFINITY;
                if (r > worst[k]) { worst[k] = r; worst_l[k] = l; }
                if (getenv("GAZE_F64_VERBOSE") && k == 0)
                    printf("  layer %2lld summed over cases: max gaze/torch %.3f, mean %.3f\n", (long long)l, r,
                           lay_t[l][1] > 0 ? lay_g[l][1] / lay_t[l][1] : INFINITY);
                CHECK(r <= layer_bar, "%s layer %lld: %s error summed over the cases, gaze %.3g vs transformers f32 %.3g "
                      "(%.2fx, bar %.2fx)", model_name, (long long)l, what[k], lay_g[l][k], lay_t[l][k], r, layer_bar);
            }
        printf("%s: per layer (summed over cases), worst gaze / transformers f32: max %.3f (layer %lld), mean %.3f "
               "(layer %lld) (bar %.2f)\n", model_name, worst[0], (long long)worst_l[0], worst[1], (long long)worst_l[1],
               layer_bar);
    }
    printf("%s: summed over %zu cases and every layer, gaze / transformers f32 error: max %.3f, mean %.3f, sink max "
           "%.3f, sink mean %.3f (bar %.2f)\n", model_name, json_array_size(cases), tot_g[0] / tot_t[0], tot_g[1] / tot_t[1],
           tot_g[2] / tot_t[2], tot_g[3] / tot_t[3], sum_bar);
    for (int k = 0; k < 4; k++)
        CHECK(tot_t[k] > 0 && tot_g[k] <= sum_bar * tot_t[k], "%s: summed %s error gaze %.3g vs transformers f32 %.3g",
              model_name, what[k], tot_g[k], tot_t[k]);
    json_decref(doc);
    gaze_model_free(model);
}

int main(void) {
    char models[4096], path[4400];
    if (gaze_models_dir(models, sizeof models) != GAZE_OK) {
        CHECK(false, "models dir: %s", gaze_last_error());
        return check_summary("test_decoder_f64");
    }
    snprintf(path, sizeof path, "%s/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf", models);
    check_model("smollm2", path, "run scripts/fetch-test-models", F64_SUM_SLACK, F64_LAYER_SLACK, 0);
    // Gemma 3 as test_gemma3_golden finds it: $GAZE_GEMMA3, else $GAZE_HOME/models/gemma3
    const char * g3 = getenv("GAZE_GEMMA3");
    if (g3 && *g3) snprintf(path, sizeof path, "%s", g3);
    else snprintf(path, sizeof path, "%s/gemma3/gemma-3-270m-q4_k_m.gguf", models);
    check_model("gemma3", path, "run `gaze fetch gemma3` (or set GAZE_GEMMA3 to the .gguf)", F64_SUM_SLACK,
                F64_GEMMA3_CASE_LAYER_SLACK, F64_GEMMA3_LAYER_BAR);
    return check_summary("test_decoder_f64");
}
