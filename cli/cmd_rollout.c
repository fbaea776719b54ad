// gaze rollout: attention rollout (Abnar & Zuidema) of a saved run or a live model: how much each
// input token contributes to an output token through all layers, as terminal bars (or JSON,
// CSV, a heatmap of every output with --all, a bar figure with --plot).
#include "analysis_cli.h"
#include "progress.h"
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static int usage(FILE * f) {
    fprintf(f,
            "usage: gaze rollout RUN.safetensors [flags]\n"
            "       gaze rollout MODEL \"text\" | MODEL -f FILE|- [--pair \"B\"] [--exact] [flags]\n"
            "       gaze rollout CLIP-MODEL IMAGE --text \"a photo of a cat\" [flags]\n"
            "  --text \"T\"       CLIP/SigLIP (both towers) with an image: ablation-weighted rollout of the image\n"
            "                   tower for text T. Each vision head is zeroed in turn (layers x heads extra\n"
            "                   forward passes); its weight is max(0, drop of the image-text logit); each layer\n"
            "                   fuses its heads by those weights (a layer with none: the identity), then the\n"
            "                   rollout as below. Forward only: not Chefer et al. (gradient x attention per\n"
            "                   entry): one scalar per head, showing where the heads that carry the match look\n"
            "  -f FILE          read the text from FILE ('-': standard input)\n"
            "  --pair \"B\"       encoders: the second sentence of a pair (default: none)\n"
            "  --exact          quantized models: f32-dequantized weights (default: quantized arithmetic)\n"
            "  --image-size WxH vision models given an image: resize it to W x H (multiples of the patch\n"
            "                   size) and interpolate the position embeddings, as gaze run\n"
            "  --token I        output token: an index, first (= cls) or last (default: token 0 for\n"
            "                   encoders ([CLS]), the last token for decoders)\n"
            "  --fusion mean|max|min  how heads are fused per layer (default: mean)\n"
            "  --discard R      zero the lowest fraction R of each layer's entries, R in [0, 1) (default: 0)\n"
            "  --all            every output token: a heatmap (or the full matrix with --json/--csv)\n"
            "  --json, --csv    machine-readable output (default: bars on the terminal)\n"
            "  --plot FILE      also draw the bars to FILE (.png, .svg or .pdf)\n"
            "  --ascii          bars drawn with '#' (default: Unicode blocks)\n"
            "  --threads N      worker threads (default: 0 = $GAZE_THREADS or one per core)\n"
            "  --kind K         encoder-decoder runs: encoder or decoder (default: encoder; cross: not defined)\n"
            "  --sink-aware     (or --exclude-sink) a display variant for decoders, whose rollout collapses\n"
            "                   onto token 0 (the attention sink, Xiao et al. 2024): each fused layer's column 0\n"
            "                   is left out of rows 1.. and those rows renormalised before the residual, so the\n"
            "                   bars rank the other tokens; shown beside the plain bars when the plain rollout\n"
            "                   puts %.0f %% or more on token 0 (default: off)\n"
            "  per layer: heads fused, the lowest R of the entries zeroed (never attention to token 0),\n"
            "  0.5·A + 0.5·I, rows divided by their sums; R = Â(L)···Â(1) over the captured layers. Needs\n"
            "  every query row of the run.\n", 100 * ACLI_SINK_COLLAPSE);
    return f == stdout ? 0 : 2;
}

// --text: the weights max(0, drop) of every vision head for text on the image src->text.
static int text_weights(const struct acli_source * src, const char * text, const struct gaze_run * run, double * w,
                        double * base, int * n_pos) {
    struct gaze_model * model = NULL;
    enum gaze_status s = cli_model_load(&model, src->src, "rollout", false);
    if (s) return cli_fail(s);
    struct gaze_image img = { 0 };
    struct gaze_run tr;
    gaze_run_init(&tr);
    const struct gaze_run_opts io = { .n_threads = src->n_threads, .image_w = src->image_w, .image_h = src->image_h };
    const struct gaze_run_opts to = { .no_capture = true, .n_threads = src->n_threads };
    const struct gaze_model_info * info = gaze_model_info(model);
    if (gaze_clip_dim(model) == 0 || info->n_layers != run->n_layers || info->n_heads != run->n_heads_cap) {
        fprintf(stderr, "gaze rollout: --text needs a whole CLIP or SigLIP model (both towers) given an image\n");
        gaze_model_free(model);
        return 2;
    }
    if (!(s = gaze_image_load(&img, src->text, 0)) && !(s = gaze_model_run(model, text, NULL, &to, &tr))) {
        fprintf(stderr, "gaze rollout: ablating each of the %lld x %lld vision heads against the text (%lld forward passes)\n",
                (long long)info->n_layers, (long long)info->n_heads, (long long)(info->n_layers * info->n_heads + 1));
        s = gaze_clip_head_drops(model, &img, &io, &tr, base, w);
    }
    *n_pos = 0;
    for (int64_t k = 0; !s && k < info->n_layers * info->n_heads; k++) {
        w[k] = w[k] > 0 ? w[k] : 0;
        *n_pos += w[k] > 0;
    }
    gaze_run_free(&tr);
    gaze_image_free(&img);
    gaze_model_free(model);
    return s ? cli_fail(s) : 0;
}

static void json_values(json_t * o, const char * key, const double * v, int64_t n) {
    json_t * a = json_array();
    for (int64_t i = 0; i < n; i++) json_array_append_new(a, json_real(v[i]));
    json_object_set_new(o, key, a);
}

int cmd_rollout(int argc, char ** argv) {
    struct acli_source src = { .cmd = "rollout", .images = true };
    struct gaze_rollout_opts ro = { 0 };
    const char * token_s = NULL, * plot = NULL, * cond = NULL;
    bool all = false, json = false, csv = false, ascii = false;
    for (int i = 1; i < argc; i++) {
        const char * a = argv[i], * v = i + 1 < argc ? argv[i + 1] : NULL;
        int k = acli_source_flag(&src, argc, argv, &i);
        if (k == -2) return 2;
        if (k < 0) return usage(stderr);
        if (k > 0) continue;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) return usage(stdout);
        if (!strcmp(a, "--all")) all = true;
        else if (!strcmp(a, "--json")) json = true;
        else if (!strcmp(a, "--csv")) csv = true;
        else if (!strcmp(a, "--ascii")) ascii = true;
        else if (!strcmp(a, "--sink-aware") || !strcmp(a, "--exclude-sink")) ro.sink_aware = true;
        else if (!strcmp(a, "--fusion")) { if (!v || !acli_parse_fusion(v, &ro.fusion)) return usage(stderr); i++; }
        else if (!strcmp(a, "--discard")) { if (cli_double("rollout", a, v, 0, 1, CLI_OPEN_HI, &ro.discard_ratio)) return 2; i++; }
        else if (!strcmp(a, "--token")) { if (!v) return usage(stderr); token_s = v; i++; }
        else if (!strcmp(a, "--text")) { if (!v) return usage(stderr); cond = v; i++; }
        else if (!strcmp(a, "--plot")) { if (!v) return usage(stderr); plot = v; i++; }
        else if (a[0] == '-' && a[1]) { fprintf(stderr, "gaze rollout: unknown flag '%s'\n", a); return usage(stderr); }
        else if (!src.src) src.src = a;
        else if (!src.text) src.text = a;
        else { fprintf(stderr, "gaze rollout: unexpected argument '%s'\n", a); return usage(stderr); }
    }
    if (!src.src) return usage(stderr);
    if (json && csv) { fprintf(stderr, "gaze rollout: --json and --csv are two formats: choose one\n"); return 2; }
    if (ascii && (json || csv || all)) { fprintf(stderr, "gaze rollout: --ascii draws the bars: it does not apply with --json, --csv or --all\n"); return 2; }
    ro.n_threads = src.n_threads;
    int rc = acli_source_text(&src);
    if (rc) return rc;
    if (cond && (!src.text || !cli_is_image_path(src.text) || ro.fusion != GAZE_HEAD_FUSION_MEAN)) {
        fprintf(stderr, "gaze rollout: --text %s\n", ro.fusion != GAZE_HEAD_FUSION_MEAN
                ? "weights the heads' mean: it does not go with --fusion max or min"
                : "is for a whole CLIP or SigLIP model given an image (MODEL IMAGE --text \"T\")");
        free(src.text_owned);
        return 2;
    }

    if ((rc = cli_figure_check("rollout", plot))) return rc;

    struct gaze_run run;
    rc = acli_load_run("rollout", &src, &run);
    free(src.text_owned);
    if (rc) return rc;
    if ((rc = acli_need_full_run("rollout", &run))) goto out;
    const int64_t T = run.T;
    int64_t tok;
    if ((rc = acli_parse_token("rollout", &run, token_s, &tok))) goto out;
    double * W = NULL, base = 0;
    int n_pos = 0;
    if (cond) {
        if (!(W = malloc((size_t)(run.n_layers * run.n_heads) * sizeof *W))) { rc = 1; goto out; }
        if ((rc = text_weights(&src, cond, &run, W, &base, &n_pos))) { free(W); goto out; }
        ro.head_weights = W;
        fprintf(stderr, "gaze rollout: logit %.4f; %d of %lld heads lower it when ablated and carry the rollout%s\n", base, n_pos,
                (long long)(run.n_layers * run.n_heads), n_pos ? "" : " (none: the rollout is the identity)");
    }
    double * R = malloc((size_t)(T * T) * sizeof *R), * sink = NULL;
    float * rf = NULL;
    if (!R) { fprintf(stderr, "gaze rollout: out of memory\n"); rc = 1; goto out; }
    enum gaze_status s = gaze_rollout(&run, &ro, R);
    if (s) { rc = cli_fail(s); goto done; }
    const double * row = R + tok * T;
    // a decoder's rollout piles onto token 0 (the attention sink): say so, and give the
    // sink-aware variant beside it so the other tokens are readable
    const double collapsed = ro.sink_aware ? 0 : acli_sink_collapse(row, T, tok);
    if (collapsed > 0) {
        struct gaze_rollout_opts so = ro;
        so.sink_aware = true;
        if (!(sink = malloc((size_t)(T * T) * sizeof *sink))) { rc = 1; goto done; }
        if ((s = gaze_rollout(&run, &so, sink))) { rc = cli_fail(s); goto done; }
        fprintf(stderr, "gaze rollout: rollout collapsed onto token 0 (attention sink): %.1f %% of the mass; %s\n", 100 * collapsed,
                json || csv || all ? "rerun with --sink-aware for the other tokens" : "showing --sink-aware too");
        // a deep causal product drifts to the earliest tokens: the sink-aware row may pile onto
        // token 1 in turn; say so rather than let it pass for an explanation
        const double * sr = sink + tok * T;
        int64_t top = 1;
        double ssum = 0;
        for (int64_t j = 0; j < T; j++) { ssum += sr[j]; if (j != tok && sr[j] > sr[top]) top = j; }
        if (top != tok && ssum > 0 && sr[top] / ssum >= 0.9)
            fprintf(stderr, "gaze rollout: the sink-aware rollout still puts %.1f %% on token %lld: over %lld layers the product "
                    "concentrates on the earliest tokens; read the ranking of the rest\n", 100 * sr[top] / ssum, (long long)top,
                    (long long)run.n_cap_layers);
    }
    if (plot) {
        rf = malloc((size_t)T * sizeof *rf);
        if (!rf) { rc = 1; goto done; }
        for (int64_t j = 0; j < T; j++) rf[j] = (float)row[j];
        struct gaze_plot_opts po = gaze_plot_opts_make();
        po.kind = GAZE_PLOT_KIND_BARS;
        po.values = rf;
        po.values_name = "rollout";
        po.query = tok;
        char title[256];
        snprintf(title, sizeof title, "%srollout to token %lld (%s fusion, discard %g%s)%s", cond ? "ablation-weighted " : "",
                 (long long)tok, acli_fusion_name(ro.fusion),
                 ro.discard_ratio, ro.sink_aware ? ", sink-aware: token 0 left out" : "",
                 collapsed > 0 ? " · collapsed onto token 0 (attention sink): see --sink-aware" : "");
        po.title = title;
        if ((s = gaze_plot_run(&run, plot, &po, NULL))) { rc = cli_fail(s); goto done; }
    }
    if (json) {
        json_t * o = json_object();
        json_object_set_new(o, "method", json_string(cond ? "ablation-weighted rollout" : "rollout"));
        if (cond) {
            json_object_set_new(o, "text", json_string(cond));
            json_object_set_new(o, "logit", json_real(base));
            json_values(o, "head_weights", W, run.n_layers * run.n_heads);
        }
        json_object_set_new(o, "model", json_string(run.model ? run.model : ""));
        json_object_set_new(o, "fusion", json_string(acli_fusion_name(ro.fusion)));
        json_object_set_new(o, "discard_ratio", json_real(ro.discard_ratio));
        json_object_set_new(o, "sink_aware", json_boolean(ro.sink_aware));
        json_object_set_new(o, "layers", json_integer(run.n_cap_layers));
        if (!all) json_object_set_new(o, "sink_collapsed", json_boolean(collapsed > 0));
        json_t * toks = json_array();
        for (int64_t j = 0; j < T; j++) json_array_append_new(toks, json_string(run.tokens[j]));
        json_object_set_new(o, "tokens", toks);
        if (all) json_values(o, "matrix", R, T * T);   // [T, T] row-major: row i = output token i
        else { json_object_set_new(o, "token", json_integer(tok)); json_values(o, "values", row, T); }
        json_dumpf(o, stdout, JSON_COMPACT | JSON_REAL_PRECISION(9) | JSON_ENSURE_ASCII);
        putchar('\n');
        json_decref(o);
    } else if (csv) {
        if (all) {
            for (int64_t i = 0; i < T; i++)
                for (int64_t j = 0; j < T; j++) printf("%s%.9g%s", j ? "," : "", R[i * T + j], j == T - 1 ? "\n" : "");
        } else {
            printf("index,value\n");
            for (int64_t j = 0; j < T; j++) printf("%lld,%.9g\n", (long long)j, row[j]);
        }
    } else if (all) {
        if (!(rf = malloc((size_t)(T * T) * sizeof *rf))) { rc = 1; goto done; }
        for (int64_t i = 0; i < T * T; i++) rf[i] = (float)R[i];
        char title[256];
        snprintf(title, sizeof title, "rollout over %lld layers (%s fusion, discard %g): row = output token", (long long)run.n_cap_layers,
                 acli_fusion_name(ro.fusion), ro.discard_ratio);
        struct gaze_term_opts to = { 0 };
        to.title = title;
        to.top_k = 3;
        if ((s = gaze_term_heatmap(stdout, rf, T, T, (const char * const *)run.tokens, (const char * const *)run.tokens, &to))) rc = cli_fail(s);
    } else {
        printf("%srollout to token %lld '", cond ? "ablation-weighted " : "", (long long)tok);
        acli_label(stdout, run.tokens[tok], -24);
        printf("' over %lld layers (%s fusion, discard %g, residual 0.5%s)\n", (long long)run.n_cap_layers,
               acli_fusion_name(ro.fusion), ro.discard_ratio, ro.sink_aware ? ", sink-aware: token 0 left out of each layer" : "");
        acli_bars(stdout, row, T, (const char * const *)run.tokens, tok, 40, ascii);
        if (collapsed > 0) {
            printf("sink-aware rollout (display variant: token 0 left out of each layer, rows renormalised):\n");
            acli_bars(stdout, sink + tok * T, T, (const char * const *)run.tokens, tok, 40, ascii);
        }
    }
done:
    free(W);
    free(R);
    free(sink);
    free(rf);
out:
    gaze_run_free(&run);
    return rc;
}
