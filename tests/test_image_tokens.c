// Image-run analysis with patch geometry (analysis/image_tokens.c): sink patches as "Vision
// Transformers Need Registers" (Darcet et al. 2024) describes them, on hand-made runs: a 3 x 3
// grid after [CLS], one patch drawing half of every row in layer 1 with a large hidden norm;
// another with a large norm but ordinary attention; each head's most attended key.
#include "check.h"
#include "gaze.h"
#include <stdlib.h>
#include <string.h>

#define T 10
#define E 4

static void make_run(struct gaze_run * run, bool hidden, float sink_norm) {
    gaze_run_init(run);
    const char * toks[T] = { "[CLS]", "(0,0)", "(0,1)", "(0,2)", "(1,0)", "(1,1)", "(1,2)", "(2,0)", "(2,1)", "(2,2)" };
    int32_t ids[T];
    for (int t = 0; t < T; t++) ids[t] = t;
    run->n_layers = 2; run->n_heads = run->n_kv_heads = 2; run->n_embd = E;
    CHECK(gaze_run_set_tokens(run, T, toks, NULL, ids, NULL) == GAZE_OK, "%s", gaze_last_error());
    CHECK(gaze_run_set_capture(run, NULL, 2, NULL, T) == GAZE_OK, "%s", gaze_last_error());
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
    run->patch_rc = malloc(2 * T * sizeof(int32_t));
    run->patch_rc[0] = run->patch_rc[1] = -1;
    for (int p = 0; p < 9; p++) { run->patch_rc[2 * (p + 1)] = p / 3; run->patch_rc[2 * (p + 1) + 1] = p % 3; }
    run->grid_rows = run->grid_cols = 3;
    run->patch_size = 16;
}

int main(void) {
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
