// gaze explain METHOD: one token attribution of an input by any method (attention, rollout, flow,
// value-norm, residual-norm, ALTI, value zeroing, occlusion, knockout) as terminal bars, JSON or a
// bar figure; or the logit lens of a decoder (top tokens after every layer).
#include "analysis_cli.h"
#include "progress.h"
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static int usage(FILE * f) {
    fprintf(f,
            "usage: gaze explain METHOD RUN.safetensors [flags]            (attention, rollout, flow)\n"
            "       gaze explain METHOD MODEL \"text\" | MODEL -f FILE|- [--exact] [flags]\n"
            "  METHOD, or --method attention|rollout|flow|value-norm|residual-norm|alti|value-zeroing|occlusion|knockout|logit-lens\n"
            "    attention      raw attention of one layer, heads averaged\n"
            "    rollout, flow  Abnar & Zuidema 2020 (mean fusion, residual 0.5)\n"
            "    value-norm     ‖Σ_h α_ij f_h(x_j)‖ of one layer (Kobayashi et al. 2020)\n"
            "    residual-norm  the same with the residual, through the LayerNorm (Kobayashi et al. 2021)\n"
            "    alti           ALTI contributions rolled out over the layers (Ferrando et al. 2022)\n"
            "    value-zeroing  cosine distance when token j's values are zeroed, rolled out (Mohebbi et al. 2023)\n"
            "    occlusion      target(text) - target(text without token j), one forward pass per token\n"
            "    knockout       encoders: 1 - cos of the embedding when every edge to j is blocked (Geva et al. 2023)\n"
            "    logit-lens     decoders: top tokens after each layer, and the final prediction's probability\n"
            "  the target: decoders log p(next token = the model's prediction); encoders the pooled embedding\n"
            "  -f FILE          read the text from FILE ('-': standard input)\n"
            "  --exact          quantized models: f32-dequantized weights (default: quantized arithmetic)\n"
            "  --layer L        the layer of attention, value-norm, residual-norm (default: the last); alti,\n"
            "                   value-zeroing, knockout: that layer alone (default: every layer)\n"
            "  --token I        output token: an index, first (= cls) or last (default: decoders the last\n"
            "                   token; encoders the mean over every output row, as the pooled embedding)\n"
            "  --top K          logit-lens: tokens shown per layer, 1..50 (default: 5)\n"
            "  --json           machine-readable output (default: bars on the terminal)\n"
            "  --plot FILE      also draw the bars to FILE (.png, .svg or .pdf)\n"
            "  --ascii          bars drawn with '#' (default: Unicode blocks)\n"
            "  --threads N      worker threads (default: 0 = $GAZE_THREADS or one per core)\n"
            "  --kind K         encoder-decoder runs: encoder or decoder (default: encoder; cross: not defined)\n"
            "  formulas and caveats: docs/explain.md\n");
    return f == stdout ? 0 : 2;
}

static int lens(struct gaze_model * model, const char * text, int64_t k, int n_threads, bool json) {
    struct gaze_lens ln;
    enum gaze_status s = gaze_logit_lens(model, text, k, n_threads, &ln);
    if (s) return cli_fail(s);
    const int64_t L = ln.n_layers;
    if (json) {
        json_t * o = json_object(), * layers = json_array();
        json_object_set_new(o, "method", json_string("logit-lens"));
        json_object_set_new(o, "final_token", json_integer(ln.final_token));
        json_object_set_new(o, "final_text", json_string(ln.text[L * k]));
        for (int64_t l = 0; l < L; l++) {
            json_t * e = json_object(), * top = json_array();
            json_object_set_new(e, "layer", json_integer(l));
            json_object_set_new(e, "p_final", json_real(ln.final_p[l]));
            for (int64_t r = 0; r < k; r++) {
                json_t * t = json_object();
                json_object_set_new(t, "id", json_integer(ln.top[l * k + r]));
                json_object_set_new(t, "text", json_string(ln.text[l * k + r]));
                json_object_set_new(t, "p", json_real(ln.top_p[l * k + r]));
                json_array_append_new(top, t);
            }
            json_object_set_new(e, "top", top);
            json_array_append_new(layers, e);
        }
        json_object_set_new(o, "layers", layers);
        json_dumpf(o, stdout, JSON_COMPACT | JSON_REAL_PRECISION(9) | JSON_ENSURE_ASCII);
        putchar('\n');
        json_decref(o);
    } else {
        char d[128];
        gaze_token_display(d, sizeof d, ln.text[L * k], 24);
        printf("logit lens: the last token's residual stream after each layer through the final norm and unembedding\n"
               "final prediction '%s' (id %d)\nlayer  p(final)  top %lld\n", d, ln.final_token, (long long)k);
        for (int64_t l = 0; l < L; l++) {
            printf("%5lld  %8.4f ", (long long)l, ln.final_p[l]);
            for (int64_t r = 0; r < k; r++) {
                gaze_token_display(d, sizeof d, ln.text[l * k + r], 16);
                printf(" %s (%.3f)", d, ln.top_p[l * k + r]);
            }
            putchar('\n');
        }
    }
    gaze_lens_free(&ln);
    return 0;
}

int cmd_explain(int argc, char ** argv) {
    struct acli_source src = { .cmd = "explain" };
    struct gaze_explain_opts eo = { .layer = -1, .token = -1 };
    const char * method_s = NULL, * token_s = NULL, * plot = NULL;
    bool json = false, ascii = false;
    int64_t top_k = 5;
    const char * pos[3];
    int n_pos = 0;
    for (int i = 1; i < argc; i++) {
        const char * a = argv[i], * v = i + 1 < argc ? argv[i + 1] : NULL;
        int k = acli_source_flag(&src, argc, argv, &i);
        if (k == -2) return 2;
        if (k < 0) return usage(stderr);
        if (k > 0) continue;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) return usage(stdout);
        if (!strcmp(a, "--json")) json = true;
        else if (!strcmp(a, "--ascii")) ascii = true;
        else if (!strcmp(a, "--layer")) { if (cli_int("explain", a, v, 0, 4095, &eo.layer)) return 2; i++; }
        else if (!strcmp(a, "--top")) { if (cli_int("explain", a, v, 1, 50, &top_k)) return 2; i++; }
        else if (!strcmp(a, "--token")) { if (!v) return usage(stderr); token_s = v; i++; }
        else if (!strcmp(a, "--plot")) { if (!v) return usage(stderr); plot = v; i++; }
        else if (!strcmp(a, "--method")) {
            if (!v) return usage(stderr);
            if (method_s) { fprintf(stderr, "gaze explain: the method is given twice\n"); return 2; }
            method_s = v;
            i++;
        }
        else if (a[0] == '-' && a[1]) { fprintf(stderr, "gaze explain: unknown flag '%s'\n", cli_safe(a)); return usage(stderr); }
        else if (n_pos < 3) pos[n_pos++] = a;
        else { fprintf(stderr, "gaze explain: unexpected argument '%s'\n", cli_safe(a)); return usage(stderr); }
    }
    // METHOD first, unless --method gave it
    int p0 = 0;
    if (!method_s && n_pos > 0) method_s = pos[p0++];
    if (p0 < n_pos) src.src = pos[p0++];
    if (p0 < n_pos) src.text = pos[p0++];
    if (p0 < n_pos) { fprintf(stderr, "gaze explain: unexpected argument '%s'\n", cli_safe(pos[p0])); return usage(stderr); }
    if (!method_s || !src.src) return usage(stderr);
    const bool is_lens = !strcmp(method_s, "logit-lens");
    if (!is_lens && !gaze_explain_method_parse(method_s, &eo.method)) {
        fprintf(stderr, "gaze explain: unknown method '%s' (attention, rollout, flow, value-norm, residual-norm, alti, "
                "value-zeroing, occlusion, knockout, logit-lens)\n", cli_safe(method_s));
        return 2;
    }
    if (ascii && json) { fprintf(stderr, "gaze explain: --ascii draws the bars: it does not apply with --json\n"); return 2; }
    if (is_lens && (plot || token_s || eo.layer >= 0)) {
        fprintf(stderr, "gaze explain: logit-lens takes no --plot, --token or --layer\n");
        return 2;
    }
    eo.n_threads = src.n_threads;
    int rc = acli_source_text(&src);
    if (rc) return rc;
    if ((rc = cli_figure_check("explain", plot))) { free(src.text_owned); return rc; }

    struct gaze_run run;
    gaze_run_init(&run);
    double * scores = NULL;
    const double t0 = cli_now();
    enum gaze_status s = GAZE_OK;
    if (!src.text) {   // a saved run: attention methods only
        if (is_lens || gaze_explain_method_needs_model(eo.method)) {
            fprintf(stderr, "gaze explain: %s needs the model: give MODEL \"text\" (a saved run holds attention only)\n",
                    method_s);
            free(src.text_owned);
            return 2;
        }
        if ((rc = acli_load_run("explain", &src, &run))) { free(src.text_owned); return rc; }
        if ((rc = acli_need_full_run("explain", &run))) goto out;
        if ((rc = acli_parse_token("explain", &run, token_s, &eo.token))) goto out;
        if (!token_s) eo.token = -1;
        if (!(scores = malloc((size_t)run.T * sizeof *scores))) { rc = 1; goto out; }
        if ((s = gaze_explain_run(&run, &eo, scores))) { rc = cli_fail(s); goto out; }
    } else {
        struct gaze_model * model = NULL;
        if ((s = cli_model_load(&model, src.src, "explain", false))) { free(src.text_owned); return cli_fail(s); }
        if (src.exact && (s = gaze_model_set_exact(model, true))) { gaze_model_free(model); free(src.text_owned); return cli_fail(s); }
        if (is_lens) {
            rc = lens(model, src.text, top_k, src.n_threads, json);
            gaze_model_free(model);
            free(src.text_owned);
            if (!rc) fprintf(stderr, "gaze explain: logit lens in %.2f s\n", cli_now() - t0);
            return rc;
        }
        if (token_s) {   // the token index needs the tokens: a first run gives them
            struct gaze_run_opts no = { .no_capture = true, .n_threads = src.n_threads };
            if (!(s = gaze_model_run(model, src.text, NULL, &no, &run))) {
                rc = acli_parse_token("explain", &run, token_s, &eo.token);
                gaze_run_free(&run);
            }
        }
        if (!s && !rc) s = gaze_explain(model, src.text, &eo, &run, &scores);
        gaze_model_free(model);
        if (rc) goto out;
        if (s) { rc = cli_fail(s); goto out; }
    }
    const int64_t T = run.T;
    const int64_t mark = eo.token >= 0 ? eo.token : run.causal ? T - 1 : -1;
    char what[160];
    const char * per_layer = eo.method == GAZE_EXPLAIN_ATTENTION || eo.method == GAZE_EXPLAIN_VNORM ||
                             eo.method == GAZE_EXPLAIN_RESLN ? "layer" : NULL;
    if (per_layer)
        snprintf(what, sizeof what, "%s, layer %lld", gaze_explain_method_name(eo.method),
                 (long long)(eo.layer >= 0 ? eo.layer : run.n_layers - 1));
    else if (eo.layer >= 0) snprintf(what, sizeof what, "%s, layer %lld only", gaze_explain_method_name(eo.method), (long long)eo.layer);
    else snprintf(what, sizeof what, "%s", gaze_explain_method_name(eo.method));
    char row[96];
    if (mark >= 0) snprintf(row, sizeof row, "output token %lld", (long long)mark);
    else snprintf(row, sizeof row, "mean over the %lld output tokens (pooled embedding)", (long long)T);
    if (plot) {
        float * rf = malloc((size_t)T * sizeof *rf);
        if (!rf) { rc = 1; goto out; }
        for (int64_t j = 0; j < T; j++) rf[j] = (float)(scores[j] > 0 ? scores[j] : 0);
        struct gaze_plot_opts po = gaze_plot_opts_make();
        po.kind = GAZE_PLOT_KIND_BARS;
        po.values = rf;
        po.values_name = gaze_explain_method_name(eo.method);
        po.query = mark >= 0 ? mark : 0;
        char title[320];
        snprintf(title, sizeof title, "%s · %s", what, row);
        po.title = title;
        s = gaze_plot_run(&run, plot, &po, NULL);
        free(rf);
        if (s) { rc = cli_fail(s); goto out; }
        fprintf(stderr, "gaze explain: bars written to %s\n", cli_safe(plot));
    }
    if (json) {
        json_t * o = json_object(), * toks = json_array(), * vals = json_array();
        json_object_set_new(o, "method", json_string(gaze_explain_method_name(eo.method)));
        json_object_set_new(o, "model", json_string(run.model ? run.model : ""));
        json_object_set_new(o, "layer", eo.layer >= 0 ? json_integer(eo.layer) : json_null());
        json_object_set_new(o, "token", mark >= 0 ? json_integer(mark) : json_null());
        for (int64_t j = 0; j < T; j++) {
            json_array_append_new(toks, json_string(run.tokens[j]));
            json_array_append_new(vals, json_real(scores[j]));
        }
        json_object_set_new(o, "tokens", toks);
        json_object_set_new(o, "values", vals);
        json_dumpf(o, stdout, JSON_COMPACT | JSON_REAL_PRECISION(9) | JSON_ENSURE_ASCII);
        putchar('\n');
        json_decref(o);
    } else {
        printf("%s to %s\n", what, row);
        acli_bars(stdout, scores, T, (const char * const *)run.tokens, mark, 40, ascii);
    }
    fprintf(stderr, "gaze explain: %s over %lld tokens in %.2f s\n", gaze_explain_method_name(eo.method), (long long)T,
            cli_now() - t0);
out:
    free(scores);
    free(src.text_owned);
    gaze_run_free(&run);
    return rc;
}
