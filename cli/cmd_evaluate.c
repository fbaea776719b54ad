// gaze evaluate MODEL data.jsonl: faithfulness (comprehensiveness, sufficiency, deletion and
// insertion curves) and plausibility (token AUPRC, F1 at k, IOU-F1 against evidence spans) of
// attribution methods, one table row per method. Input: one JSON object a line,
// {"text": ..., "evidence": [[begin, end], ...] (byte offsets), "task": ..., "target": ...}.
#include "analysis_cli.h"
#include "progress.h"
#include "analysis/analysis.h"
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int usage(FILE * f) {
    fprintf(f,
            "usage: gaze evaluate MODEL DATA.jsonl [flags]\n"
            "  DATA.jsonl       one object a line: {\"text\": \"...\", \"evidence\": [[begin, end], ...] (byte offsets\n"
            "                   into text), \"task\": \"...\" (optional), \"target\": \"...\" (optional: the expected next\n"
            "                   token of a decoder, to report how often the model predicts it)}; docs/explain.md\n"
            "  --methods LIST   comma-separated, from random|attention|attention:L|rollout|flow|value-norm|value-norm:L|\n"
            "                   residual-norm|residual-norm:L|alti|value-zeroing|occlusion|knockout|all (default: all:\n"
            "                   every method the model supports, attention of every layer for encoders and of the\n"
            "                   first, middle and last layers for decoders)\n"
            "  --limit N        evaluate N items spread evenly over the file (default: 0 = every item)\n"
            "  --exact          quantized models: f32-dequantized weights (default: quantized arithmetic)\n"
            "  --json           machine-readable output (default: a table)\n"
            "  --threads N      worker threads (default: 0 = $GAZE_THREADS or one per core)\n"
            "  faithfulness: target = decoders log p(the model's own next-token prediction), encoders cosine of the\n"
            "  pooled embedding with the original's; tokens are deleted from the text and the model re-run.\n"
            "  comp/suff: AOPC over 1, 5, 10, 20, 50 %% of the tokens (comp high, suff low = faithful); del/ins: area\n"
            "  under the deletion (low = faithful) and insertion (high = faithful) curves.\n");
    return f == stdout ? 0 : 2;
}

struct method {
    char name[48];
    bool random;
    struct gaze_explain_opts eo;
    bool unsupported;
    // sums over items (plausibility: over items with evidence)
    double comp, suff, del, ins, auprc, f1, iou, secs;
    int64_t n, n_pl, passes;
};

// The file, parsed by gaze_evidence_parse (errors name the file and line: exit 2).
static int read_items(const char * path, struct gaze_evidence * ev) {
    char * data = NULL;
    int rc = cli_read_text("evaluate", path, &data);
    if (rc) return rc;
    enum gaze_status s = gaze_evidence_parse(ev, data, strlen(data), cli_safe(path));
    free(data);
    if (s == GAZE_ERR_FORMAT) { fprintf(stderr, "gaze evaluate: %s\n", gaze_last_error()); return 2; }
    return s ? cli_fail(s) : 0;
}

static bool add_method(struct method ** ms, int64_t * n, const char * name, bool random, enum gaze_explain_method m,
                       int64_t layer) {
    struct method * g = realloc(*ms, (size_t)(*n + 1) * sizeof *g);
    if (!g) return false;
    *ms = g;
    struct method * x = &g[(*n)++];
    memset(x, 0, sizeof *x);
    snprintf(x->name, sizeof x->name, "%s", name);
    x->random = random;
    x->eo = (struct gaze_explain_opts){ .method = m, .layer = layer, .token = -1 };
    return true;
}

static int parse_methods(const char * list, const struct gaze_model_info * info, struct method ** ms, int64_t * n) {
    char * copy = strdup(list ? list : "all");
    if (!copy) return 1;
    int rc = 0;
    for (char * save = NULL, * tok = strtok_r(copy, ",", &save); tok && !rc; tok = strtok_r(NULL, ",", &save)) {
        char name[48];
        if (!strcmp(tok, "all")) {
            add_method(ms, n, "random", true, 0, -1);
            const int64_t L = info->n_layers;
            for (int64_t l = 0; l < L; l++) {
                if (info->causal && l != 0 && l != L / 2 && l != L - 1) continue;
                snprintf(name, sizeof name, "attention:%lld", (long long)l);
                add_method(ms, n, name, false, GAZE_EXPLAIN_ATTENTION, l);
            }
            for (int m = GAZE_EXPLAIN_ROLLOUT; m < GAZE_EXPLAIN_COUNT; m++) {
                // decoders: no value zeroing or knockout yet (docs/explain.md)
                if (info->causal && (m == GAZE_EXPLAIN_VZERO || m == GAZE_EXPLAIN_KNOCKOUT)) continue;
                add_method(ms, n, gaze_explain_method_name(m), false, m, -1);
            }
            continue;
        }
        if (!strcmp(tok, "random")) { add_method(ms, n, "random", true, 0, -1); continue; }
        char * colon = strchr(tok, ':');
        int64_t layer = -1;
        if (colon) {
            *colon = 0;
            if ((rc = cli_int("evaluate", "--methods", colon + 1, 0, info->n_layers - 1, &layer))) break;
        }
        enum gaze_explain_method m;
        if (!gaze_explain_method_parse(tok, &m)) {
            fprintf(stderr, "gaze evaluate: --methods: unknown method '%s'\n", cli_safe(tok));
            rc = 2;
            break;
        }
        if (colon) snprintf(name, sizeof name, "%s:%lld", tok, (long long)layer);
        else snprintf(name, sizeof name, "%s", tok);
        add_method(ms, n, name, false, m, layer);
    }
    free(copy);
    return rc;
}

// A fixed pseudo-random score per token (the baseline every method should beat).
static void random_scores(double * s, int64_t T, uint64_t seed) {
    uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
    for (int64_t j = 0; j < T; j++) {
        x ^= x >> 12; x ^= x << 25; x ^= x >> 27;
        s[j] = (double)((x * 0x2545F4914F6CDD1Dull) >> 11) / 9007199254740992.0;
    }
}

int cmd_evaluate(int argc, char ** argv) {
    struct acli_source src = { .cmd = "evaluate", .no_file = true };
    const char * data = NULL, * methods_s = NULL;
    int64_t limit = 0;
    bool json = false;
    for (int i = 1; i < argc; i++) {
        const char * a = argv[i], * v = i + 1 < argc ? argv[i + 1] : NULL;
        int k = acli_source_flag(&src, argc, argv, &i);
        if (k == -2) return 2;
        if (k < 0) return usage(stderr);
        if (k > 0) continue;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) return usage(stdout);
        if (!strcmp(a, "--json")) json = true;
        else if (!strcmp(a, "--methods")) { if (!v) return usage(stderr); methods_s = v; i++; }
        else if (!strcmp(a, "--limit")) { if (cli_int("evaluate", a, v, 0, INT64_MAX, &limit)) return 2; i++; }
        else if (a[0] == '-' && a[1]) { fprintf(stderr, "gaze evaluate: unknown flag '%s'\n", cli_safe(a)); return usage(stderr); }
        else if (!src.src) src.src = a;
        else if (!data) data = a;
        else { fprintf(stderr, "gaze evaluate: unexpected argument '%s'\n", cli_safe(a)); return usage(stderr); }
    }
    if (!src.src || !data) return usage(stderr);
    if (acli_no_kind(&src, "the methods score the model's output through its forward pass, every kind at once")) return 2;
    if (src.pair) { fprintf(stderr, "gaze evaluate: --pair does not apply (the items are single texts)\n"); return 2; }
    struct gaze_evidence ev;
    int rc = read_items(data, &ev);
    if (rc) return rc;
    const int64_t n_items = ev.n;
    struct gaze_model * model = NULL;
    enum gaze_status s = cli_model_load(&model, src.src, "evaluate", false);
    if (s) { gaze_evidence_free(&ev); return cli_fail(s); }
    if (src.exact && (s = gaze_model_set_exact(model, true))) { rc = cli_fail(s); goto out_model; }
    const struct gaze_model_info * info = gaze_model_info(model);
    struct method * ms = NULL;
    int64_t n_ms = 0;
    if ((rc = parse_methods(methods_s, info, &ms, &n_ms))) goto out_model;
    struct gaze_value_cache * cache = NULL;
    struct analysis_tok tok = { 0 };
    if ((s = gaze_value_cache_init(&cache)) || (info->causal && (s = analysis_tok_open(&tok, info)))) { rc = cli_fail(s); goto out; }
    const int64_t n_eval = limit > 0 && limit < n_items ? limit : n_items;
    int64_t n_correct = 0, n_with_target = 0, n_skipped = 0;
    const double t_all = cli_now();
    for (int64_t e = 0; e < n_eval && !rc; e++) {
        const int64_t idx = n_eval == n_items ? e : e * n_items / n_eval;   // spread over every task
        const struct gaze_evidence_item * it = &ev.items[idx];
        gaze_value_cache_clear(cache);
        struct gaze_target t;
        if ((s = gaze_target_init(model, it->text, src.n_threads, &t))) { rc = cli_fail(s); break; }
        if (t.decoder && it->target && tok.tok) {
            char * pred = NULL;
            size_t len = 0;
            if (!gaze_tokenizer_decode(tok.tok, &t.token, 1, false, &pred, &len)) {
                n_with_target++;
                n_correct += !strcmp(pred, it->target);
            }
            free(pred);
        }
        for (int64_t m = 0; m < n_ms && !rc; m++) {
            struct method * me = &ms[m];
            if (me->unsupported) continue;
            const double t0 = cli_now();
            struct gaze_run run;
            double * scores = NULL;
            me->eo.n_threads = src.n_threads;
            me->eo.target = &t;
            if (me->random) {
                struct gaze_run_opts no = { .no_capture = true, .n_threads = src.n_threads };
                if (!(s = gaze_model_run(model, it->text, NULL, &no, &run)) &&
                    !(scores = malloc((size_t)run.T * sizeof *scores))) s = gaze_error(GAZE_ERR_NOMEM, "evaluate: out of memory");
                if (!s) random_scores(scores, run.T, (uint64_t)idx);
            } else s = gaze_explain(model, it->text, &me->eo, &run, &scores);
            if (s == GAZE_ERR_UNSUPPORTED) {
                fprintf(stderr, "gaze evaluate: %s left out: %s\n", me->name, gaze_last_error());
                me->unsupported = true;
                continue;
            }
            if (s) { rc = cli_fail(s); break; }
            struct gaze_faith f;
            struct gaze_plaus p;
            s = gaze_faithfulness(model, &run, scores, &t, cache, src.n_threads, &f);
            if (s == GAZE_ERR_INVALID_ARG) {   // too short an input: the item is left out, saying why
                fprintf(stderr, "gaze evaluate: %s:%lld left out: %s\n", cli_safe(data), (long long)it->line, gaze_last_error());
                n_skipped++;
                free(scores); gaze_run_free(&run);
                break;
            }
            if (!s) s = gaze_plausibility(&run, scores, it->spans, it->n_spans, &p);
            free(scores);
            gaze_run_free(&run);
            if (s) { rc = cli_fail(s); break; }
            me->comp += f.comp_aopc; me->suff += f.suff_aopc; me->del += f.deletion_auc; me->ins += f.insertion_auc;
            me->passes += f.passes;
            me->n++;
            if (!isnan(p.auprc)) { me->auprc += p.auprc; me->f1 += p.f1_at_k; me->iou += p.iou_f1; me->n_pl++; }
            me->secs += cli_now() - t0;
        }
        gaze_target_free(&t);
        if (isatty(2)) fprintf(stderr, "\rgaze evaluate: %lld/%lld items", (long long)(e + 1), (long long)n_eval);
    }
    if (isatty(2)) fputc('\n', stderr);
    if (rc) goto out;
    if (json) {
        json_t * o = json_object(), * rows = json_array();
        json_object_set_new(o, "model", json_string(src.src));
        json_object_set_new(o, "data", json_string(data));
        json_object_set_new(o, "items", json_integer(n_eval - n_skipped));
        json_object_set_new(o, "target", json_string(info->causal ? "log p(own next-token prediction)" : "embedding cosine"));
        if (n_with_target) json_object_set_new(o, "prediction_matches_target", json_real((double)n_correct / (double)n_with_target));
        for (int64_t m = 0; m < n_ms; m++) {
            const struct method * me = &ms[m];
            if (me->unsupported || !me->n) continue;
            json_t * r = json_object();
            json_object_set_new(r, "method", json_string(me->name));
            json_object_set_new(r, "comprehensiveness_aopc", json_real(me->comp / me->n));
            json_object_set_new(r, "sufficiency_aopc", json_real(me->suff / me->n));
            json_object_set_new(r, "deletion_auc", json_real(me->del / me->n));
            json_object_set_new(r, "insertion_auc", json_real(me->ins / me->n));
            json_object_set_new(r, "auprc", me->n_pl ? json_real(me->auprc / me->n_pl) : json_null());
            json_object_set_new(r, "f1_at_k", me->n_pl ? json_real(me->f1 / me->n_pl) : json_null());
            json_object_set_new(r, "iou_f1", me->n_pl ? json_real(me->iou / me->n_pl) : json_null());
            json_object_set_new(r, "seconds_per_item", json_real(me->secs / me->n));
            json_array_append_new(rows, r);
        }
        json_object_set_new(o, "methods", rows);
        json_dumpf(o, stdout, JSON_INDENT(1) | JSON_REAL_PRECISION(6) | JSON_ENSURE_ASCII);
        putchar('\n');
        json_decref(o);
    } else {
        printf("%lld items of %s on %s; target: %s\n", (long long)(n_eval - n_skipped), cli_safe(data), cli_safe(src.src),
               info->causal ? "log p(the model's own next-token prediction)" : "cosine of the pooled embedding with the original's");
        if (n_with_target)
            printf("the model predicts the item's target on %lld of %lld items (%.1f %%)\n", (long long)n_correct,
                   (long long)n_with_target, 100.0 * (double)n_correct / (double)n_with_target);
        printf("faithful: comp and ins high, suff and del low; plausible: AUPRC, F1@k, IOU-F1 high\n");
        printf("%-16s %9s %9s %9s %9s | %7s %7s %7s | %8s\n", "method", "comp", "suff", "del", "ins", "AUPRC", "F1@k",
               "IOU-F1", "s/item");
        for (int64_t m = 0; m < n_ms; m++) {
            const struct method * me = &ms[m];
            if (me->unsupported || !me->n) continue;
            const double np = me->n_pl ? (double)me->n_pl : NAN;
            printf("%-16s %9.4f %9.4f %9.4f %9.4f | %7.3f %7.3f %7.3f | %8.3f\n", me->name, me->comp / me->n,
                   me->suff / me->n, me->del / me->n, me->ins / me->n, me->auprc / np, me->f1 / np, me->iou / np,
                   me->secs / me->n);
        }
    }
    fprintf(stderr, "gaze evaluate: %lld items x %lld methods in %.1f s%s\n", (long long)(n_eval - n_skipped), (long long)n_ms,
            cli_now() - t_all, n_skipped ? " (items left out: see above)" : "");
out:
    analysis_tok_close(&tok);
    gaze_value_cache_free(cache);
    free(ms);
out_model:
    gaze_model_free(model);
    gaze_evidence_free(&ev);
    return rc;
}
