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
            "  --width N      columns to fit, 0 = the terminal's (default: 0; else $COLUMNS, or 100)\n"
            "  --from I, --to J  only tokens I..J, rows and columns; weights stay those of the full rows\n"
            "                 (default: every token)\n"
            "  --hide-special leave out [CLS], [SEP], BOS, ...; rows renormalised over the keys shown\n"
            "                 (default: shown)\n"
            "  --scale linear|log|renorm  colours on w (linear), log(1 + 99 w/max) (log), or with the sink\n"
            "                 key (a column holding most of the weight, e.g. [CLS] or BOS) left out and\n"
            "                 rows renormalised over the other keys (renorm) (default: linear)\n"
            "  --rows N       query rows before rows are averaged in blocks (default: 64)\n"
            "  --kind K       encoder-decoder runs: encoder, decoder or cross attention (cross: target rows\n"
            "                 over source columns) (default: encoder)\n");
    return f == stdout ? 0 : 2;
}

// Keys and query rows inside --from/--to and not hidden, the sink note (or the sink left out
// under --scale renorm), then the heatmap with the tokens' own indices as labels.
static int show_map(const struct gaze_run * run, const float * w, const char * title, int64_t from, int64_t to,
                    bool hide_special, bool renorm, struct gaze_term_opts * topts) {
    // T keys (a cross run: the source tokens), rows over the run's own tokens (Tr)
    const int64_t T = gaze_run_n_keys(run), Tr = run->T, Tq = run->Tq, Tmax = T > Tr ? T : Tr;
    if (to < 0 || to >= Tmax) to = Tmax - 1;
    if (from > to) {
        fprintf(stderr, "gaze show: --from %lld --to %lld: no token in that window (the run has %lld tokens)\n",
                (long long)from, (long long)to, (long long)Tmax);
        return 2;
    }
    uint8_t * special = calloc((size_t)Tmax, 1), * kspecial = calloc((size_t)Tmax, 1);
    int64_t * kcol = malloc((size_t)T * sizeof *kcol), * krow = malloc((size_t)Tq * sizeof *krow);
    float * v = malloc((size_t)(Tq * T) * sizeof *v);
    const char ** rl = malloc((size_t)Tq * sizeof *rl), ** cl = malloc((size_t)T * sizeof *cl);
    char note[1024] = "";
    int rc = 0;
    enum gaze_status s;
    if (!special || !kspecial || !kcol || !krow || !v || !rl || !cl) { fprintf(stderr, "gaze show: out of memory\n"); rc = 1; goto done; }
    if (hide_special && (s = gaze_run_special_tokens(run, special))) { rc = cli_fail(s); goto done; }
    for (int64_t j = 0; j < T; j++)
        kspecial[j] = !hide_special ? 0 : run->T_keys ? gaze_token_is_special_text(run->key_tokens[j]) : special[j];
    int64_t nk = 0, nq = 0, n_hidden = 0;
    for (int64_t j = from; j <= to && j < T; j++) { if (kspecial[j]) n_hidden++; else kcol[nk++] = j; }
    for (int64_t i = 0; i < Tq; i++)
        if (run->q_rows[i] >= from && run->q_rows[i] <= to && !special[run->q_rows[i]]) krow[nq++] = i;
    if (nk < 1 || nq < 1) { fprintf(stderr, "gaze show: no token left to show (window %lld..%lld%s)\n", (long long)from, (long long)to, hide_special ? ", specials hidden" : ""); rc = 2; goto done; }
    for (int64_t r = 0; r < nq; r++)
        for (int64_t c = 0; c < nk; c++) v[r * nk + c] = w[krow[r] * T + kcol[c]];
    float share;
    int64_t sink = gaze_term_sink_column(v, nq, nk, &share);
    size_t o = 0;
    if (from > 0 || to < Tmax - 1)
        o += (size_t)snprintf(note + o, sizeof note - o, "tokens %lld..%lld of %lld%s\n", (long long)from, (long long)to, (long long)T,
                              n_hidden || renorm ? "" : " (weights are those of the full rows)");
    if (hide_special && n_hidden)
        o += (size_t)snprintf(note + o, sizeof note - o, "%lld special token%s hidden: rows renormalised over the keys shown\n",
                              (long long)n_hidden, n_hidden == 1 ? "" : "s");
    else if (hide_special)
        o += (size_t)snprintf(note + o, sizeof note - o, "no special token to hide\n");
    char tok[64];
    if (sink >= 0) gaze_token_display(tok, sizeof tok, gaze_run_key_token(run, kcol[sink]), 16);
    if (sink >= 0 && renorm) {
        o += (size_t)snprintf(note + o, sizeof note - o, "key %lld \"%s\" (the sink, %.0f%% of the weight shown) left out: rows renormalised over the other keys\n",
                              (long long)kcol[sink], tok, 100.0 * share);
        for (int64_t r = 0; r < nq; r++) {
            float * row = v + r * nk;
            memmove(row - r, row, (size_t)sink * sizeof *row);   // compact: rows of nk - 1
            memmove(row - r + sink, row + sink + 1, (size_t)(nk - sink - 1) * sizeof *row);
        }
        memmove(kcol + sink, kcol + sink + 1, (size_t)(nk - sink - 1) * sizeof *kcol);
        nk--;
    } else if (sink >= 0 && !topts->log_scale) {
        o += (size_t)snprintf(note + o, sizeof note - o, "note: key %lld \"%s\" takes %.0f%% of the weight shown (an attention sink) and flattens "
                              "the rest: --scale log or --scale renorm shows it\n", (long long)kcol[sink], tok, 100.0 * share);
    } else if (renorm) {
        o += (size_t)snprintf(note + o, sizeof note - o, "no sink key (no column holds 30%% of the weight): rows renormalised over the keys shown\n");
    }
    if (nk < 1) { fprintf(stderr, "gaze show: no key left after leaving out the sink\n"); rc = 2; goto done; }
    if (n_hidden || renorm)
        for (int64_t r = 0; r < nq; r++) {
            double sum = 0;
            for (int64_t c = 0; c < nk; c++) sum += v[r * nk + c];
            if (sum > 0) for (int64_t c = 0; c < nk; c++) v[r * nk + c] = (float)(v[r * nk + c] / sum);
        }
    if (o > 0 && note[o - 1] == '\n') note[o - 1] = 0;
    for (int64_t r = 0; r < nq; r++) { krow[r] = run->q_rows[krow[r]]; rl[r] = run->tokens[krow[r]]; }
    for (int64_t c = 0; c < nk; c++) cl[c] = gaze_run_key_token(run, kcol[c]);
    topts->title = title;
    topts->note = note[0] ? note : NULL;
    if (nk != T || nq != Tq || from > 0) { topts->row_index = krow; topts->col_index = kcol; }
    if ((s = gaze_term_heatmap(stdout, v, nq, nk, rl, cl, topts))) rc = cli_fail(s);
done:
    free(special); free(kspecial); free(kcol); free(krow); free(v); free(rl); free(cl);
    return rc;
}

// A layer's attention summaries: one row per head (means over the query rows), then the block
// pyramid as a heatmap (mean over heads, or one head), at the finest level that fits 64 blocks.
static int show_summary(const struct gaze_run * run, const struct gaze_run_layer * ly, int64_t slot,
                        struct gaze_term_opts * topts) {
    const struct gaze_attn_summary * sm = &ly->summary;
    const int64_t T = run->T, k = sm->top_k;
    printf("layer %lld: attention summaries (top-%d keys, local window %d, %dx%d blocks), means over %lld rows\n",
           (long long)ly->index, (int)k, (int)sm->window, (int)sm->block, (int)sm->block, (long long)T);
    printf("  head  entropy   max_w    sink   local  top-1 key (most rows)\n");
    int64_t * count = calloc((size_t)T, sizeof *count);
    if (!count) { fprintf(stderr, "gaze show: out of memory\n"); return 1; }
    for (int64_t h = 0; h < sm->n_heads; h++) {
        double e = 0, mw = 0, sk = 0, lc = 0;
        memset(count, 0, (size_t)T * sizeof *count);
        for (int64_t i = 0; i < T; i++) {
            const int64_t row = h * T + i;
            e += sm->entropy[row]; mw += sm->top_weights[row * k]; sk += sm->sink[row]; lc += sm->local[row];
            if (sm->top_keys[row * k] >= 0) count[sm->top_keys[row * k]]++;
        }
        int64_t best = 0;
        for (int64_t j = 1; j < T; j++) if (count[j] > count[best]) best = j;
        char tok[64];
        gaze_token_display(tok, sizeof tok, run->tokens[best], 16);
        printf("  %4lld  %7.3f  %6.3f  %6.3f  %6.3f  %lld \"%s\" (%lld rows)\n", (long long)run->heads[h], e / (double)T,
               mw / (double)T, sk / (double)T, lc / (double)T, (long long)best, tok, (long long)count[best]);
    }
    free(count);
    int level = 0;
    while (gaze_summary_grid_side(sm, level) > 64) level++;
    const int64_t side = gaze_summary_grid_side(sm, level), b = (int64_t)sm->block << level;
    float * v = malloc((size_t)(side * side) * sizeof *v);
    int64_t * idx = malloc((size_t)side * sizeof *idx);
    const char ** lab = malloc((size_t)side * sizeof *lab);
    int rc = 0;
    enum gaze_status s;
    if (!v || !idx || !lab) { fprintf(stderr, "gaze show: out of memory\n"); rc = 1; goto done; }
    if ((s = gaze_summary_block_map(sm, slot, level, false, v))) { rc = cli_fail(s); goto done; }
    for (int64_t r = 0; r < side; r++) { idx[r] = r * b; lab[r] = run->tokens[r * b]; }
    char title[256];
    snprintf(title, sizeof title, "summary  layer %lld, %s: mean weight of %lldx%lld-token blocks", (long long)ly->index,
             slot < 0 ? "mean over heads" : "one head", (long long)b, (long long)b);
    if (slot >= 0) snprintf(title, sizeof title, "summary  layer %lld, head %lld: mean weight of %lldx%lld-token blocks",
                            (long long)ly->index, (long long)run->heads[slot], (long long)b, (long long)b);
    topts->title = title;
    topts->note = "rows and columns are blocks, labelled by their first token";
    topts->row_index = idx;
    topts->col_index = idx;
    topts->top_k = 0;
    if ((s = gaze_term_heatmap(stdout, v, side, side, lab, lab, topts))) rc = cli_fail(s);
done:
    free(v); free(idx); free(lab);
    return rc;
}

int cmd_show(int argc, char ** argv) {
    const char * src = NULL, * text = NULL, * pair = NULL, * head_s = "mean", * file = NULL;
    int64_t layer = -1, from = 0, to = -1;
    bool hide_special = false, renorm = false;
    int kind = -1;
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
        else if (!strcmp(a, "--from")) { if (cli_int("show", a, v, 0, INT64_MAX, &from)) return 2; i++; }
        else if (!strcmp(a, "--to")) { if (cli_int("show", a, v, 0, INT64_MAX, &to)) return 2; i++; }
        else if (!strcmp(a, "--rows")) { if (cli_int32("show", a, v, 1, 1 << 20, &topts.max_rows)) return 2; i++; }
        else if (!strcmp(a, "--hide-special")) hide_special = true;
        else if (!strcmp(a, "--kind")) { if (cli_parse_kind("show", v, &kind)) return 2; i++; }
        else if (!strcmp(a, "--scale")) {
            if (!v) return usage(stderr);
            if (!strcmp(v, "log")) topts.log_scale = true;
            else if (!strcmp(v, "renorm")) renorm = true;
            else if (strcmp(v, "linear")) { fprintf(stderr, "gaze show: --scale: '%s' is not linear, log or renorm\n", cli_safe(v)); return 2; }
            i++;
        }
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
    int rc = cli_select_kind("show", &run, kind, false);
    if (rc) goto done;
    if (run.n_cap_layers < 1) { fprintf(stderr, "gaze show: the run holds no captured layers\n"); rc = 1; goto done; }
    const struct gaze_run_layer * ly = layer >= 0 ? gaze_run_find_layer(&run, layer) : &run.layers[run.n_cap_layers - 1];
    if (ly && !ly->attn && ly->summary.entropy) {   // summaries only (gaze run --summary)
        int64_t slot = -1;
        for (int64_t h = 0; head_one >= 0 && h < run.n_heads_cap; h++) if (run.heads[h] == head_one) slot = h;
        if (head_one >= 0 && slot < 0) { fprintf(stderr, "gaze show: head %s was not captured\n", head_s); rc = 2; goto done; }
        rc = show_summary(&run, ly, slot, &topts);
        goto done;
    }
    if (!ly || !ly->attn) {
        fprintf(stderr, "gaze show: layer %lld has no captured attention (captured:", (long long)layer);
        for (int64_t i = 0; i < run.n_cap_layers; i++) fprintf(stderr, " %lld", (long long)run.layers[i].index);
        fprintf(stderr, ")\n");
        rc = 2;
        goto done;
    }
    const int64_t Tq = run.Tq, T = gaze_run_n_keys(&run), Hc = run.n_heads_cap;
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
        snprintf(title, sizeof title, "%s  layer %lld, %s over %lld heads", run.model ? run.model : "run", (long long)ly->index, head_s, (long long)Hc);
    } else {
        int64_t head = head_one, idx = -1;
        for (int64_t h = 0; h < Hc; h++) if (run.heads[h] == head) idx = h;
        if (idx < 0) { fprintf(stderr, "gaze show: head %s was not captured\n", head_s); free(w); rc = 2; goto done; }
        memcpy(w, ly->attn + idx * Tq * T, (size_t)(Tq * T) * sizeof *w);
        snprintf(title, sizeof title, "%s  layer %lld, head %lld", run.model ? run.model : "run", (long long)ly->index, (long long)head);
    }
    if ((rc = show_map(&run, w, title, from, to, hide_special, renorm, &topts))) { free(w); goto done; }
    free(w);
    if (ly->summary.entropy) {   // captured with both: the summaries' rows too
        struct gaze_term_opts so = topts;
        so.row_index = so.col_index = NULL;
        rc = show_summary(&run, ly, -1, &so);
    }
    if (!rc && run.n_texts) cli_print_clip(&run);   // a CLIP/SigLIP run's texts: logits and probabilities
done:
    gaze_run_free(&run);
    return rc;
}
