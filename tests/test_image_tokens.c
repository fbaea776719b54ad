// Image-run analysis with patch geometry (analysis/image_tokens.c): sink patches as "Vision
// Transformers Need Registers" (Darcet et al. 2024) describes them, on hand-made runs: a 3 x 3
// grid after [CLS], one patch drawing half of every row in layer 1 with a large hidden norm;
// another with a large norm but ordinary attention; each head's most attended key. Register
// tokens (DINOv2 with registers: [CLS], [REG0], [REG1], then the patches): a register that draws
// the mass with a large norm is flagged and counted apart from the sink patches; registers with
// ordinary attention, or the mass without the norm, are not; [CLS] is never judged.
#include "check.h"
#include "gaze.h"
#include <stdlib.h>
#include <string.h>

#define T 10
#define E 4

// A 2-layer, 2-head run of n tokens: n_special special tokens, then a 3 x 3 patch grid.
static void start_run(struct gaze_run * run, int n, const char * const * toks, int n_special) {
    gaze_run_init(run);
    int32_t ids[16];
    for (int t = 0; t < n; t++) ids[t] = t;
    run->n_layers = 2; run->n_heads = run->n_kv_heads = 2; run->n_embd = E;
    CHECK(gaze_run_set_tokens(run, n, toks, NULL, ids, NULL) == GAZE_OK, "%s", gaze_last_error());
    CHECK(gaze_run_set_capture(run, NULL, 2, NULL, n) == GAZE_OK, "%s", gaze_last_error());
    run->patch_rc = malloc(2 * (size_t)n * sizeof(int32_t));
    for (int t = 0; t < n_special; t++) run->patch_rc[2 * t] = run->patch_rc[2 * t + 1] = -1;
    for (int p = 0; p < 9; p++) { run->patch_rc[2 * (p + n_special)] = p / 3; run->patch_rc[2 * (p + n_special) + 1] = p % 3; }
    run->grid_rows = run->grid_cols = 3;
    run->patch_size = 16;
}

static void make_run(struct gaze_run * run, bool hidden, float sink_norm) {
    const char * toks[T] = { "[CLS]", "(0,0)", "(0,1)", "(0,2)", "(1,0)", "(1,1)", "(1,2)", "(2,0)", "(2,1)", "(2,2)" };
    start_run(run, T, toks, 1);
    for (int l = 0; l < 2; l++) {
        struct gaze_run_layer * ly;
        CHECK(gaze_run_add_layer(run, l, GAZE_RUN_PART_ATTN | (hidden ? GAZE_RUN_PART_HIDDEN : 0), &ly) == GAZE_OK, "%s",
              gaze_last_error());
        for (int h = 0; h < 2; h++)
            for (int i = 0; i < T; i++)
                for (int k = 0; k < T; k++) {
                    float w = 1.0f / T;                                          // layer 0: uniform
                    if (l == 1) w = k == 6 ? 0.5f + 0.5f / 9 : (k == 0 ? 0 : 0.5f / 9);   // layer 1: patch (1,2)
                    ly->attn[(h * T + i) * T + k] = w;
                }
        if (hidden)
            for (int t = 0; t < T; t++)
                for (int e = 0; e < E; e++) ly->hidden[t * E + e] = e ? 0 : (t == 6 ? sink_norm : t == 3 ? 5.0f : 1.0f);
    }
}

// [CLS], [REG0], [REG1], then a 3 x 3 grid; layer 1 sends `mass` of every row to token `to`
// (the rest spread evenly over the others, [CLS] included), layer 0 is uniform. Hidden norms: 1,
// except token `to` (to_norm) and patch (2,2) (patch_norm), so a patch can be a sink beside it.
#define TR 12
static void make_reg_run(struct gaze_run * run, int to, float mass, float to_norm, int patch_sink) {
    const char * toks[TR] = { "[CLS]", "[REG0]", "[REG1]", "(0,0)", "(0,1)", "(0,2)", "(1,0)", "(1,1)", "(1,2)",
                              "(2,0)", "(2,1)", "(2,2)" };
    start_run(run, TR, toks, 3);
    for (int l = 0; l < 2; l++) {
        struct gaze_run_layer * ly;
        CHECK(gaze_run_add_layer(run, l, GAZE_RUN_PART_ATTN | GAZE_RUN_PART_HIDDEN, &ly) == GAZE_OK, "%s", gaze_last_error());
        for (int h = 0; h < 2; h++)
            for (int i = 0; i < TR; i++)
                for (int k = 0; k < TR; k++) {
                    float w = 1.0f / TR;
                    if (l == 1 && patch_sink) w = k == to ? mass : k == 11 ? 0.35f : (1 - mass - 0.35f) / (TR - 2);
                    else if (l == 1) w = k == to ? mass : (1 - mass) / (TR - 1);
                    ly->attn[(h * TR + i) * TR + k] = w;
                }
        for (int t = 0; t < TR; t++)
            for (int e = 0; e < E; e++)
                ly->hidden[t * E + e] = e ? 0 : t == to ? to_norm : t == 11 && patch_sink ? 6.0f : 1.0f;
    }
}

static void check_registers(void) {
    struct gaze_run run;
    struct gaze_image_token tok[TR];
    struct gaze_image_token_summary sum;
    // [REG1] takes 60 % of every row in layer 1 with 8x the norm: the sink moved to a register
    make_reg_run(&run, 2, 0.6f, 8.0f, 0);
    CHECK(gaze_image_tokens(&run, NULL, tok, &sum) == GAZE_OK, "%s", gaze_last_error());
    CHECK(tok[2].row == -1 && tok[2].sink && !tok[1].sink && !tok[0].sink, "[REG1] flagged alone: cls %d reg0 %d reg1 %d",
          tok[0].sink, tok[1].sink, tok[2].sink);
    CHECK(fabs(tok[2].received - 0.6) < 1e-6 && tok[2].layer == 1, "[REG1] receives %g in layer %lld", tok[2].received,
          (long long)tok[2].layer);
    CHECK(sum.n_register_sinks == 1 && sum.n_sinks == 0 && sum.n_patches == 9,
          "counted apart: %lld register sinks, %lld sink patches, %lld patches", (long long)sum.n_register_sinks,
          (long long)sum.n_sinks, (long long)sum.n_patches);
    gaze_run_free(&run);
    // a register sink and a sink patch together: one in each count, never both in one
    make_reg_run(&run, 1, 0.4f, 8.0f, 1);
    CHECK(gaze_image_tokens(&run, NULL, tok, &sum) == GAZE_OK, "%s", gaze_last_error());
    CHECK(tok[1].sink && !tok[2].sink && tok[11].sink && sum.n_register_sinks == 1 && sum.n_sinks == 1,
          "[REG0] + (2,2): reg0 %d reg1 %d patch %d, counts %lld %lld", tok[1].sink, tok[2].sink, tok[11].sink,
          (long long)sum.n_register_sinks, (long long)sum.n_sinks);
    gaze_run_free(&run);
    // the same mass on [CLS]: [CLS] is not a register (nor a patch): no sink anywhere
    make_reg_run(&run, 0, 0.6f, 8.0f, 0);
    CHECK(gaze_image_tokens(&run, NULL, tok, &sum) == GAZE_OK && !tok[0].sink && sum.n_register_sinks == 0 && sum.n_sinks == 0,
          "mass on [CLS]: cls %d, counts %lld %lld", tok[0].sink, (long long)sum.n_register_sinks, (long long)sum.n_sinks);
    gaze_run_free(&run);
    // registers with ordinary attention (uniform rows) and norms: not sinks
    make_reg_run(&run, 2, 1.0f / TR, 1.0f, 0);
    CHECK(gaze_image_tokens(&run, NULL, tok, &sum) == GAZE_OK && !tok[1].sink && !tok[2].sink && sum.n_register_sinks == 0,
          "uniform: reg0 %d reg1 %d, %lld register sinks", tok[1].sink, tok[2].sink, (long long)sum.n_register_sinks);
    gaze_run_free(&run);
    // the mass without the norm (a register drawing attention with an ordinary hidden state): no
    make_reg_run(&run, 2, 0.6f, 1.0f, 0);
    CHECK(gaze_image_tokens(&run, NULL, tok, &sum) == GAZE_OK && !tok[2].sink && sum.n_register_sinks == 0,
          "mass, norm 1: reg1 %d, %lld register sinks", tok[2].sink, (long long)sum.n_register_sinks);
    gaze_run_free(&run);
}

int main(void) {
    check_registers();
    struct gaze_run run;
    struct gaze_image_token tok[T];
    struct gaze_image_token_summary sum;

    // attention and hidden norm: (1,2) is the one sink; (0,2) has the norm but not the attention
    make_run(&run, true, 5.0f);
    CHECK(gaze_image_tokens(&run, NULL, tok, &sum) == GAZE_OK, "%s", gaze_last_error());
    CHECK(tok[0].row == -1 && tok[0].col == -1 && !tok[0].sink, "[CLS] is no patch: %d %d", tok[0].row, tok[0].col);
    CHECK(tok[6].row == 1 && tok[6].col == 2 && tok[6].layer == 1, "(1,2): %d %d layer %lld", tok[6].row, tok[6].col,
          (long long)tok[6].layer);
    CHECK(fabs(tok[6].received - (0.5 + 0.5 / 9)) < 1e-6, "received %g", tok[6].received);
    CHECK(fabs(tok[6].norm - 5) < 1e-6 && fabs(tok[3].norm - 5) < 1e-6 && fabs(tok[1].norm - 1) < 1e-6, "norms %g %g %g",
          tok[6].norm, tok[3].norm, tok[1].norm);
    CHECK(tok[6].sink, "(1,2) draws half the attention with 5x the norm: a sink");
    int n = 0;
    for (int t = 0; t < T; t++) n += tok[t].sink;
    CHECK(n == 1 && sum.n_sinks == 1 && !tok[3].sink, "%d sinks, (0,2) %d", n, tok[3].sink);
    CHECK(sum.n_patches == 9 && fabs(sum.median_received - 0.1) < 1e-6 && fabs(sum.median_norm - 1) < 1e-6 &&
          sum.norm_layer == 1, "summary %lld %g %g %lld", (long long)sum.n_patches, sum.median_received, sum.median_norm,
          (long long)sum.norm_layer);
    CHECK(sum.sink_factor == GAZE_IMAGE_SINK_FACTOR && sum.norm_factor == GAZE_IMAGE_NORM_FACTOR, "defaults");
    // a stricter factor: no sink
    struct gaze_image_token_opts o = { .sink_factor = 10 };
    CHECK(gaze_image_tokens(&run, &o, tok, &sum) == GAZE_OK && !tok[6].sink && sum.n_sinks == 0, "factor 10: %d", tok[6].sink);
    // each head's most attended key: (1,2) in layer 1, [CLS] (the first of equals) in layer 0
    int64_t top[4];
    double w[4];
    CHECK(gaze_image_head_top_keys(&run, top, w) == GAZE_OK, "%s", gaze_last_error());
    CHECK(top[0] == 0 && fabs(w[0] - 0.1) < 1e-6 && top[2] == 6 && top[3] == 6 && fabs(w[3] - (0.5 + 0.5 / 9)) < 1e-6,
          "top keys %lld %lld %lld %lld", (long long)top[0], (long long)top[1], (long long)top[2], (long long)top[3]);
    gaze_run_free(&run);

    // the attention alone, but an ordinary norm: not a high-norm token, so no sink
    make_run(&run, true, 1.0f);
    CHECK(gaze_image_tokens(&run, NULL, tok, &sum) == GAZE_OK && !tok[6].sink && sum.n_sinks == 0, "norm 1: %d", tok[6].sink);
    gaze_run_free(&run);

    // no hidden captured: attention decides; norms are NaN
    make_run(&run, false, 0);
    CHECK(gaze_image_tokens(&run, NULL, tok, &sum) == GAZE_OK && tok[6].sink && isnan(tok[6].norm) && sum.norm_layer == -1,
          "attention only: sink %d norm %g", tok[6].sink, tok[6].norm);
    // a text run (no patch grid) is refused by name
    free(run.patch_rc);
    run.patch_rc = NULL;
    CHECK(gaze_image_tokens(&run, NULL, tok, &sum) == GAZE_ERR_INVALID_ARG && strstr(gaze_last_error(), "no patch grid"),
          "%s", gaze_last_error());
    gaze_run_free(&run);
    return check_summary("test_image_tokens");
}
