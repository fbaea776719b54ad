// gaze flow: attention flow (Abnar & Zuidema): the maximum flow from an output token down the
// layer graph (capacities: the rollout matrices) to each input token, row-normalised, as
// terminal bars (or JSON, CSV, a bar figure), with the time it took.
#include "analysis_cli.h"
#include "progress.h"
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static int usage(FILE * f) {
    fprintf(f,
            "usage: gaze flow RUN.safetensors [flags]\n"
            "       gaze flow MODEL \"text\" | MODEL -f FILE|- [--pair \"B\"] [--exact] [flags]\n"
            "  -f FILE          read the text from FILE ('-': standard input)\n"
            "  --pair \"B\"       encoders: the second sentence of a pair (default: none)\n"
            "  --exact          quantized models: f32-dequantized weights (default: quantized arithmetic)\n"
            "  --image-size WxH vision models given an image: resize it to W x H (multiples of the patch\n"
            "                   size) and interpolate the position embeddings, as gaze run\n"
            "  --token I        output token: an index, first (= cls) or last (default: token 0 for\n"
            "                   encoders ([CLS]), the last token for decoders)\n"
            "  --fusion mean|max|min  how heads are fused per layer (default: mean)\n"
            "  --discard R      zero the lowest fraction R of each layer's entries, R in [0, 1) (default: 0)\n"
            "  --json, --csv    machine-readable output (default: bars on the terminal)\n"
            "  --plot FILE      also draw the bars to FILE (.png, .svg or .pdf)\n"
            "  --ascii          bars drawn with '#' (default: Unicode blocks)\n"
            "  --threads N      worker threads (default: 0 = $GAZE_THREADS or one per core)\n"
            "  --kind K         encoder-decoder runs: encoder or decoder (default: encoder; cross: not defined)\n"
            "  --sink-aware     (or --exclude-sink) capacities from the sink-aware rollout matrices (token 0\n"
            "                   left out of each layer, rows renormalised; a display variant, shown beside\n"
            "                   the plain flow when that puts %.0f %% or more on token 0) (default: off)\n"
            "  one max-flow (Dinic) per input token over (layers + 1) x tokens nodes; capacities are the\n"
            "  rollout matrices (see gaze rollout). Needs every query row of the run.\n", 100 * ACLI_SINK_COLLAPSE);
    return f == stdout ? 0 : 2;
}

int cmd_flow(int argc, char ** argv) {
    struct acli_source src = { .cmd = "flow", .images = true };
    struct gaze_rollout_opts ro = { 0 };
    const char * token_s = NULL, * plot = NULL;
    bool json = false, csv = false, ascii = false;
    for (int i = 1; i < argc; i++) {
        const char * a = argv[i], * v = i + 1 < argc ? argv[i + 1] : NULL;
        int k = acli_source_flag(&src, argc, argv, &i);
        if (k == -2) return 2;
        if (k < 0) return usage(stderr);
        if (k > 0) continue;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) return usage(stdout);
        if (!strcmp(a, "--json")) json = true;
        else if (!strcmp(a, "--csv")) csv = true;
        else if (!strcmp(a, "--ascii")) ascii = true;
        else if (!strcmp(a, "--sink-aware") || !strcmp(a, "--exclude-sink")) ro.sink_aware = true;
        else if (!strcmp(a, "--fusion")) { if (!v || !acli_parse_fusion(v, &ro.fusion)) return usage(stderr); i++; }
        else if (!strcmp(a, "--discard")) { if (cli_double("flow", a, v, 0, 1, CLI_OPEN_HI, &ro.discard_ratio)) return 2; i++; }
        else if (!strcmp(a, "--token")) { if (!v) return usage(stderr); token_s = v; i++; }
        else if (!strcmp(a, "--plot")) { if (!v) return usage(stderr); plot = v; i++; }
        else if (a[0] == '-' && a[1]) { fprintf(stderr, "gaze flow: unknown flag '%s'\n", a); return usage(stderr); }
        else if (!src.src) src.src = a;
        else if (!src.text) src.text = a;
        else { fprintf(stderr, "gaze flow: unexpected argument '%s'\n", a); return usage(stderr); }
    }
    if (!src.src) return usage(stderr);
    if (json && csv) { fprintf(stderr, "gaze flow: --json and --csv are two formats: choose one\n"); return 2; }
    if (ascii && (json || csv)) { fprintf(stderr, "gaze flow: --ascii draws the bars: it does not apply with --json or --csv\n"); return 2; }
    ro.n_threads = src.n_threads;
    int rc = acli_source_text(&src);
    if (rc) return rc;

    if ((rc = cli_figure_check("flow", plot))) return rc;

    struct gaze_run run;
    rc = acli_load_run("flow", &src, &run);
    free(src.text_owned);
    if (rc) return rc;
    const int64_t T = run.T;
    int64_t tok;
    double * F = NULL, * sink = NULL;
    float * ff = NULL;
    if ((rc = acli_need_full_run("flow", &run))) goto done;
    if ((rc = acli_parse_token("flow", &run, token_s, &tok))) goto done;
    if (!(F = malloc((size_t)T * sizeof *F))) { fprintf(stderr, "gaze flow: out of memory\n"); rc = 1; goto done; }
    struct cli_progress bar;
    cli_progress_init(&bar, "gaze flow", false);
    ro.progress = cli_progress_hook(&bar);
    const double t0 = cli_now();
    enum gaze_status s = gaze_attention_flow(&run, &ro, tok, F);
    const double ms = 1e3 * (cli_now() - t0);
    cli_progress_clear(&bar);
    if (s) { rc = cli_fail(s); goto done; }
    const double collapsed = ro.sink_aware ? 0 : acli_sink_collapse(F, T, tok);
    if (collapsed > 0) {
        struct gaze_rollout_opts so = ro;
        so.sink_aware = true;
        if (!(sink = malloc((size_t)T * sizeof *sink))) { rc = 1; goto done; }
        if ((s = gaze_attention_flow(&run, &so, tok, sink))) { rc = cli_fail(s); goto done; }
        fprintf(stderr, "gaze flow: flow collapsed onto token 0 (attention sink): %.1f %% of the mass; %s\n", 100 * collapsed,
                json || csv ? "rerun with --sink-aware for the other tokens" : "showing --sink-aware too");
    }
    if (plot) {
        if (!(ff = malloc((size_t)T * sizeof *ff))) { rc = 1; goto done; }
        for (int64_t j = 0; j < T; j++) ff[j] = (float)F[j];
        struct gaze_plot_opts po = gaze_plot_opts_make();
        po.kind = GAZE_PLOT_KIND_BARS;
        po.values = ff;
        po.values_name = "attention flow";
        po.query = tok;
        char title[256];
        snprintf(title, sizeof title, "attention flow to token %lld (%s fusion, discard %g%s)%s", (long long)tok,
                 acli_fusion_name(ro.fusion), ro.discard_ratio, ro.sink_aware ? ", sink-aware: token 0 left out" : "",
                 collapsed > 0 ? " · collapsed onto token 0 (attention sink): see --sink-aware" : "");
        po.title = title;
        if ((s = gaze_plot_run(&run, plot, &po, NULL))) { rc = cli_fail(s); goto done; }
    }
    if (json) {
        json_t * o = json_object(), * toks = json_array(), * vals = json_array();
        json_object_set_new(o, "method", json_string("flow"));
        json_object_set_new(o, "model", json_string(run.model ? run.model : ""));
        json_object_set_new(o, "fusion", json_string(acli_fusion_name(ro.fusion)));
        json_object_set_new(o, "discard_ratio", json_real(ro.discard_ratio));
        json_object_set_new(o, "sink_aware", json_boolean(ro.sink_aware));
        json_object_set_new(o, "sink_collapsed", json_boolean(collapsed > 0));
        json_object_set_new(o, "layers", json_integer(run.n_cap_layers));
        json_object_set_new(o, "token", json_integer(tok));
        json_object_set_new(o, "milliseconds", json_real(ms));
        for (int64_t j = 0; j < T; j++) {
            json_array_append_new(toks, json_string(run.tokens[j]));
            json_array_append_new(vals, json_real(F[j]));
        }
        json_object_set_new(o, "tokens", toks);
        json_object_set_new(o, "values", vals);
        json_dumpf(o, stdout, JSON_COMPACT | JSON_REAL_PRECISION(9) | JSON_ENSURE_ASCII);
        putchar('\n');
        json_decref(o);
    } else if (csv) {
        printf("index,value\n");
        for (int64_t j = 0; j < T; j++) printf("%lld,%.9g\n", (long long)j, F[j]);
    } else {
        printf("attention flow to token %lld '", (long long)tok);
        acli_label(stdout, run.tokens[tok], -24);
        printf("' over %lld layers (%s fusion, discard %g%s): %lld max-flows in %.1f ms\n", (long long)run.n_cap_layers,
               acli_fusion_name(ro.fusion), ro.discard_ratio, ro.sink_aware ? ", sink-aware: token 0 left out of each layer" : "", (long long)T, ms);
        acli_bars(stdout, F, T, (const char * const *)run.tokens, tok, 40, ascii);
        if (collapsed > 0) {
            printf("sink-aware flow (display variant: token 0 left out of each layer, rows renormalised):\n");
            acli_bars(stdout, sink, T, (const char * const *)run.tokens, tok, 40, ascii);
        }
    }
done:
    free(F);
    free(sink);
    free(ff);
    gaze_run_free(&run);
    return rc;
}
