// Llama capture through the real model: captured scores, q and k are consistent with the
// captured weights (softmax of q·k/√d over visible keys), every row sums to 1, future keys
// are masked, and the generation timeline rows agree with a prompt-only run of the same text.
#include "check.h"
#include "gaze.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

int main(void) {
    struct gaze_model * m;
    if (gaze_model_load(&m, "smollm2")) {
        CHECK(0, "load smollm2: %s (run scripts/fetch-test-models)", gaze_last_error());
        return check_summary("test_llama_capture");
    }
    const int64_t layers[3] = { 0, 14, 29 };
    struct gaze_run_opts o = { 0 };
    o.layers = layers;
    o.n_layers = 3;
    o.parts = GAZE_RUN_PART_ATTN | GAZE_RUN_PART_SCORES | GAZE_RUN_PART_Q | GAZE_RUN_PART_K | GAZE_RUN_PART_HIDDEN;
    o.generate = 6;
    struct gaze_run run;
    CHECK(gaze_model_run(m, "Once upon a time, in a small village,", NULL, &o, &run) == GAZE_OK, "%s", gaze_last_error());
    CHECK(gaze_run_check(&run, "capture") == GAZE_OK, "%s", gaze_last_error());
    const int64_t T = run.T, H = run.n_heads_cap, d = run.d_head;
    double worst_sm = 0, worst_dot = 0, worst_sum = 0;
    bool masked = true;
    for (int64_t li = 0; li < run.n_cap_layers; li++) {
        const struct gaze_run_layer * ly = &run.layers[li];
        CHECK(ly->attn && ly->scores && ly->q && ly->k && ly->hidden, "layer %lld lacks a captured part", (long long)ly->index);
        if (!(ly->attn && ly->scores && ly->q && ly->k)) continue;
        for (int64_t h = 0; h < H; h++)
            for (int64_t i = 0; i < T; i++) {
                const float * a = ly->attn + (h * T + i) * T, * sc = ly->scores + (h * T + i) * T;
                double mx = -INFINITY, z = 0, sum = 0;
                for (int64_t j = 0; j <= i; j++) mx = fmax(mx, sc[j]);
                for (int64_t j = 0; j <= i; j++) z += exp(sc[j] - mx);
                for (int64_t j = 0; j < T; j++) {
                    sum += a[j];
                    if (j > i) { masked &= a[j] == 0.0f && sc[j] == -INFINITY; continue; }
                    double e = fabs(exp(sc[j] - mx) / z - a[j]);
                    if (!(e <= worst_sm)) worst_sm = isnan(e) ? INFINITY : e;
                    double dot = 0;
                    for (int64_t c = 0; c < d; c++) dot += (double)ly->q[(h * T + i) * d + c] * ly->k[(h * T + j) * d + c];
                    e = fabs(dot / sqrt((double)d) - sc[j]) / (1 + fabs(sc[j]));
                    if (!(e <= worst_dot)) worst_dot = isnan(e) ? INFINITY : e;
                }
                if (!(fabs(sum - 1) <= worst_sum)) worst_sum = isnan(sum) ? INFINITY : fabs(sum - 1);
            }
    }
    printf("softmax(scores) vs weights %.3g, q.k/sqrt(d) vs scores %.3g, row sums %.3g\n", worst_sm, worst_dot, worst_sum);
    CHECK(worst_sm < 1e-5, "weights are not softmax(scores): %.3g", worst_sm);
    CHECK(worst_dot < 1e-4, "scores are not q.k/sqrt(d): %.3g", worst_dot);
    CHECK(worst_sum < 1e-5, "rows do not sum to 1: %.3g", worst_sum);
    CHECK(masked, "future keys are not masked (weight 0, score -inf)");
    CHECK(run.n_generated == 6, "generated %lld tokens, asked 6", (long long)run.n_generated);

    // the prompt's rows are the same in a prompt-only run
    struct gaze_run p;
    o.generate = 0;
    o.parts = 0;
    CHECK(gaze_model_run(m, "Once upon a time, in a small village,", NULL, &o, &p) == GAZE_OK, "%s", gaze_last_error());
    double worst_p = 0;
    const int64_t Tp = p.T;
    CHECK(Tp == T - 6, "prompt-only run has %lld tokens, expected %lld", (long long)Tp, (long long)(T - 6));
    for (int64_t li = 0; li < 3 && Tp == T - 6; li++)
        for (int64_t h = 0; h < H; h++)
            for (int64_t i = 0; i < Tp; i++)
                for (int64_t j = 0; j < Tp; j++) {
                    double e = fabs(p.layers[li].attn[(h * Tp + i) * Tp + j] - run.layers[li].attn[(h * T + i) * T + j]);
                    if (!(e <= worst_p)) worst_p = isnan(e) ? INFINITY : e;
                }
    CHECK(worst_p < 1e-6, "prompt rows differ between runs with and without generation: %.3g", worst_p);
    gaze_run_free(&p);
    gaze_run_free(&run);
    gaze_model_free(m);
    return check_summary("test_llama_capture");
}
