// gaze rollout: attention rollout (Abnar & Zuidema) of a saved run or a live model: how much each
// input token contributes to an output token through all layers, as terminal bars (or JSON,
// CSV, a heatmap of every output with --all, a bar figure with --plot).
#include "analysis_cli.h"
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static int usage(void) {
    fprintf(stderr,
            "usage: gaze rollout RUN.safetensors [flags]\n"
            "       gaze rollout MODEL \"text\" [--pair \"B\"] [--exact] [flags]\n"
            "flags: [--fusion mean|max|min] [--discard R] [--token I|first|last] [--all] [--json|--csv]\n"
            "       [--plot out.png|svg|pdf] [--ascii] [--threads N]\n"
            "  per layer: heads fused, the lowest R of the entries zeroed (never attention to token 0),\n"
            "  0.5·A + 0.5·I, rows divided by their sums; R = Â(L)···Â(1). Default output token: token 0 for\n"
            "  encoders ([CLS]), the last token for decoders.\n");
    return 2;
}

static void json_values(json_t * o, const char * key, const double * v, int64_t n) {
    json_t * a = json_array();
    for (int64_t i = 0; i < n; i++) json_array_append_new(a, json_real(v[i]));
    json_object_set_new(o, key, a);
}

int cmd_rollout(int argc, char ** argv) {
    struct acli_source src = { 0 };
    struct gaze_rollout_opts ro = { 0 };
    const char * token_s = NULL, * plot = NULL;
    bool all = false, json = false, csv = false, ascii = false;
    for (int i = 1; i < argc; i++) {
        const char * a = argv[i], * v = i + 1 < argc ? argv[i + 1] : NULL;
        int k = acli_source_flag(&src, argc, argv, &i);
        if (k < 0) return usage();
        if (k > 0) continue;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) return usage();
        if (!strcmp(a, "--all")) all = true;
        else if (!strcmp(a, "--json")) json = true;
        else if (!strcmp(a, "--csv")) csv = true;
        else if (!strcmp(a, "--ascii")) ascii = true;
        else if (!strcmp(a, "--fusion")) { if (!v || !acli_parse_fusion(v, &ro.fusion)) return usage(); i++; }
        else if (!strcmp(a, "--discard")) { if (!v) return usage(); ro.discard_ratio = atof(v); i++; }
        else if (!strcmp(a, "--token")) { if (!v) return usage(); token_s = v; i++; }
        else if (!strcmp(a, "--plot")) { if (!v) return usage(); plot = v; i++; }
        else if (a[0] == '-' && a[1]) { fprintf(stderr, "gaze rollout: unknown flag '%s'\n", a); return usage(); }
        else if (!src.src) src.src = a;
        else if (!src.text) src.text = a;
        else { fprintf(stderr, "gaze rollout: unexpected argument '%s'\n", a); return usage(); }
    }
    if (!src.src) return usage();
    if (!(ro.discard_ratio >= 0 && ro.discard_ratio < 1)) { fprintf(stderr, "gaze rollout: --discard must be in [0, 1)\n"); return 2; }
    ro.n_threads = src.n_threads;

    struct gaze_run run;
    int rc = acli_load_run("rollout", &src, &run);
    if (rc) return rc;
    const int64_t T = run.T;
    int64_t tok;
    if ((rc = acli_parse_token("rollout", &run, token_s, &tok))) goto out;
    double * R = malloc((size_t)(T * T) * sizeof *R);
    float * rf = NULL;
    if (!R) { fprintf(stderr, "gaze rollout: out of memory\n"); rc = 1; goto out; }
    enum gaze_status s = gaze_rollout(&run, &ro, R);
    if (s) { rc = cli_fail(s); goto done; }
    const double * row = R + tok * T;
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
        snprintf(title, sizeof title, "rollout to token %lld (%s fusion, discard %g)", (long long)tok, acli_fusion_name(ro.fusion), ro.discard_ratio);
        po.title = title;
        if ((s = gaze_plot_run(&run, plot, &po, NULL))) { rc = cli_fail(s); goto done; }
    }
    if (json) {
        json_t * o = json_object();
        json_object_set_new(o, "method", json_string("rollout"));
        json_object_set_new(o, "model", json_string(run.model ? run.model : ""));
        json_object_set_new(o, "fusion", json_string(acli_fusion_name(ro.fusion)));
        json_object_set_new(o, "discard_ratio", json_real(ro.discard_ratio));
        json_object_set_new(o, "layers", json_integer(run.n_cap_layers));
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
        printf("rollout to token %lld '", (long long)tok);
        acli_label(stdout, run.tokens[tok], -24);
        printf("' over %lld layers (%s fusion, discard %g, residual 0.5)\n", (long long)run.n_cap_layers,
               acli_fusion_name(ro.fusion), ro.discard_ratio);
        acli_bars(stdout, row, T, (const char * const *)run.tokens, tok, 40, ascii);
    }
done:
    free(R);
    free(rf);
out:
    gaze_run_free(&run);
    return rc;
}
