// gaze demo: the attention kernels on a synthetic sentence, no model needed. Two heads with
// planted patterns (a previous-token head and a first-token "sink" head) are computed with the
// fused kernel, their exact weights recovered with the probe and drawn as heatmaps.
#include "cli.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cmd_demo(int argc, char ** argv) {
    struct gaze_term_opts topts = { 0 };
    topts.top_k = 2;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--no-color")) topts.color = GAZE_TERM_COLOR_NONE;
        else {
            const bool help = !strcmp(argv[i], "-h") || !strcmp(argv[i], "--help");
            fprintf(help ? stdout : stderr, "usage: gaze demo [--no-color]\n"
                    "  attention of a synthetic sentence (two planted heads), no model needed\n"
                    "  --no-color   no colour escapes (default: colour when the terminal has it)\n");
            return help ? 0 : 2;
        }
    }
    static const char * tokens[] = { "<s>", "the", "cat", "sat", "on", "the", "mat", "because", "it", "was", "tired", "." };
    enum { T = 12, H = 2, D = 16 };
    float q[H * T * D], k[H * T * D], v[H * T * D], o[H * T * D], lse[H * T], p[H * T * T], bias[H * T * T];
    uint32_t r = 7;
    for (int i = 0; i < H * T * D; i++) {
        r = r * 1664525u + 1013904223u; q[i] = 0.3f * ((float)(r >> 8) / 8388608.0f - 1.0f);
        r = r * 1664525u + 1013904223u; k[i] = 0.3f * ((float)(r >> 8) / 8388608.0f - 1.0f);
        v[i] = (float)(i % 7) / 7.0f;
    }
    for (int h = 0; h < H; h++)
        for (int i = 0; i < T; i++)
            for (int j = 0; j < T; j++)
                bias[(h * T + i) * T + j] = h == 0 ? (j == i - 1 ? 4.0f : 0.0f) : (j == 0 ? 3.0f : j == i ? 1.0f : 0.0f);
    struct gaze_attn_desc desc = gaze_attn_desc_make(1, H, H, T, T, D);
    desc.mask.causal = true;
    desc.mask.bias = bias;
    desc.mask.bias_sh = T * T;
    desc.mask.bias_st = T;
    struct gaze_view vq = { q, H * T * D, T * D, D }, vk = { k, H * T * D, T * D, D };
    struct gaze_view vv = { v, H * T * D, T * D, D }, vo = { o, H * T * D, T * D, D };
    enum gaze_status s = gaze_attention_fused(&desc, &vq, &vk, &vv, &vo, lse);
    if (!s) s = gaze_attention_probe(&desc, &vq, &vk, lse, NULL, 0, NULL, 0, p);
    if (s) return cli_fail(s);
    printf("gaze demo: causal attention over a synthetic sentence (fused kernel, %s; weights from the probe)\n\n",
           gaze_isa_name(gaze_isa_active()));
    const char * titles[H] = { "head 0: planted previous-token pattern", "head 1: planted first-token sink" };
    for (int h = 0; h < H; h++) {
        topts.title = titles[h];
        if ((s = gaze_term_heatmap(stdout, p + h * T * T, T, T, tokens, tokens, &topts))) return cli_fail(s);
        printf("\n");
    }
    printf("Real models: make demo (MiniLM), or gaze show MODEL \"text\".\n");
    return 0;
}
