// gaze show: terminal heatmap of one head (or the mean/max over heads) of a saved run or a
// live model, with token labels and the top attended keys of each query.
#include "cli.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int usage(FILE * f) {
    fprintf(f,
            "usage: gaze show RUN.safetensors [flags]\n"
            "       gaze show MODEL \"text\" | MODEL -f FILE|- [--pair \"B\"] [flags]\n"
            "  -f FILE        read the text from FILE ('-': standard input)\n"
            "  --pair \"B\"     encoders: the second sentence of a pair (default: none)\n"
            "  --layer L      layer to draw, -1 = the last (default: -1, the last captured layer)\n"
            "  --head H       one head H, or mean or max over the heads (default: mean)\n"
            "  --top K        also list the K most attended keys of each query, 0..16 (default: 3)\n"
            "  --log          logarithmic colour scale (default: linear)\n"
            "  --color        24-bit colour; --no-color: none (default: from the terminal)\n"
            "  --width N      columns to fit, 0 = the terminal's (default: 0; else $COLUMNS, or 100)\n");
    return f == stdout ? 0 : 2;
}

int cmd_show(int argc, char ** argv) {
    const char * src = NULL, * text = NULL, * pair = NULL, * head_s = "mean", * file = NULL;
    int64_t layer = -1;
    struct gaze_term_opts topts = { 0 };
    topts.top_k = 3;
    for (int i = 1; i < argc; i++) {
        const char * a = argv[i], * v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) return usage(stdout);
        if (!strcmp(a, "--layer")) { if (cli_int("show", a, v, -1, GAZE_RUN_MAX_LAYERS - 1, &layer)) return 2; i++; }
        else if (!strcmp(a, "-f")) { if (!v) return usage(stderr); file = v; i++; }
        else if (!strcmp(a, "--head")) { if (!v) return usage(stderr); head_s = v; i++; }
        else if (!strcmp(a, "--pair")) { if (!v) return usage(stderr); pair = v; i++; }
        else if (!strcmp(a, "--top")) { if (cli_int32("show", a, v, 0, 16, &topts.top_k)) return 2; i++; }
        else if (!strcmp(a, "--width")) { if (cli_int32("show", a, v, 0, 100000, &topts.width)) return 2; i++; }
        else if (!strcmp(a, "--log")) topts.log_scale = true;
        else if (!strcmp(a, "--no-color")) topts.color = GAZE_TERM_COLOR_NONE;
        else if (!strcmp(a, "--color")) topts.color = GAZE_TERM_COLOR_TRUE;
        else if (a[0] == '-' && a[1]) { fprintf(stderr, "gaze show: unknown flag '%s'\n", a); return usage(stderr); }
        else if (!src) src = a;
        else if (!text) text = a;
        else return usage(stderr);
    }
    if (!src) return usage(stderr);
    int64_t head_one = -1;
    if (strcmp(head_s, "mean") && strcmp(head_s, "max")) {
        int64_t h;
        if (cli_int("show", "--head", head_s, 0, GAZE_RUN_MAX_HEADS - 1, &h)) {
            fprintf(stderr, "gaze show: --head takes one head number, mean or max\n");
            return 2;
        }
        head_one = h;
    }
    char * text_buf = NULL;
    if (cli_text_source("show", file, &text, &text_buf)) return 2;

    struct gaze_run run;
    enum gaze_status s;
    if (!text) {
        int rc0 = cli_need_run_file("show", src);
        if (rc0) return rc0;
        if (pair) { fprintf(stderr, "gaze show: --pair applies to a model run (MODEL \"text\"), not to a saved run\n"); return 2; }
        if ((s = gaze_run_load(&run, src))) return cli_fail(s);
    } else {
        struct gaze_model * model = NULL;
        if ((s = gaze_model_load(&model, src))) { free(text_buf); return cli_fail(s); }
        struct gaze_run_opts opts = { 0 };
        int64_t one = layer;
        if (layer >= 0) { opts.layers = &one; opts.n_layers = 1; }
        s = gaze_model_run(model, text, pair, &opts, &run);
        gaze_model_free(model);
        free(text_buf);
        if (s) return cli_fail(s);
    }
    int rc = 0;
    if (run.n_cap_layers < 1) { fprintf(stderr, "gaze show: the run holds no captured layers\n"); rc = 1; goto done; }
    const struct gaze_run_layer * ly = layer >= 0 ? gaze_run_find_layer(&run, layer) : &run.layers[run.n_cap_layers - 1];
    if (!ly || !ly->attn) {
        fprintf(stderr, "gaze show: layer %lld has no captured attention (captured:", (long long)layer);
        for (int64_t i = 0; i < run.n_cap_layers; i++) fprintf(stderr, " %lld", (long long)run.layers[i].index);
        fprintf(stderr, ")\n");
        rc = 2;
        goto done;
    }
    const int64_t Tq = run.Tq, T = run.T, Hc = run.n_heads_cap;
    float * w = calloc((size_t)(Tq * T), sizeof *w);
    if (!w) { rc = 1; goto done; }
    char title[256];
    if (!strcmp(head_s, "mean") || !strcmp(head_s, "max")) {
        bool mx = !strcmp(head_s, "max");
        for (int64_t h = 0; h < Hc; h++)
            for (int64_t i = 0; i < Tq * T; i++) {
                float x = ly->attn[h * Tq * T + i];
                w[i] = mx ? (h == 0 || x > w[i] ? x : w[i]) : w[i] + x / (float)Hc;
            }
        snprintf(title, sizeof title, "%s  layer %lld, %s over %lld heads", run.model, (long long)ly->index, head_s, (long long)Hc);
    } else {
        int64_t head = head_one, idx = -1;
        for (int64_t h = 0; h < Hc; h++) if (run.heads[h] == head) idx = h;
        if (idx < 0) { fprintf(stderr, "gaze show: head %s was not captured\n", head_s); free(w); rc = 2; goto done; }
        memcpy(w, ly->attn + idx * Tq * T, (size_t)(Tq * T) * sizeof *w);
        snprintf(title, sizeof title, "%s  layer %lld, head %lld", run.model, (long long)ly->index, (long long)head);
    }
    const char ** rows = malloc((size_t)Tq * sizeof *rows);
    if (rows) {
        for (int64_t i = 0; i < Tq; i++) rows[i] = run.tokens[run.q_rows[i]];
        topts.title = title;
        if ((s = gaze_term_heatmap(stdout, w, Tq, T, rows, (const char * const *)run.tokens, &topts))) rc = cli_fail(s);
    }
    free(rows);
    free(w);
done:
    gaze_run_free(&run);
    return rc;
}
