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
            "  --deadline S     stop after S seconds of wall time (after the item under way) and report the items\n"
            "                   done, saying so (default 0: none); items run in an order spread over the file, so\n"
            "                   a stopped run still covers every task\n"
            "  --bootstrap B    resamples of the items for the 95 %% confidence intervals (default 1000, >= 10)\n"
            "  --seed S         seed of the bootstrap (default 0; the same seed gives the same intervals)\n"
            "  --threads N      worker threads (default: 0 = $GAZE_THREADS or one per core)\n"
            "  faithfulness: target = decoders log p(the model's own next-token prediction), encoders cosine of the\n"
            "  pooled embedding with the original's; tokens are deleted from the text and the model re-run.\n"
            "  comp/suff: AOPC over 1, 5, 10, 20, 50 %% of the tokens (comp high, suff low = faithful); del/ins: area\n"
            "  under the deletion (low = faithful) and insertion (high = faithful) curves.\n"
            "  Every number: the mean over items and a percentile-bootstrap 95 %% interval (items resampled), overall\n"
            "  and per task (the items' \"task\").\n");
    return f == stdout ? 0 : 2;
}

struct method {
    char name[48];
    bool random;
    struct gaze_explain_opts eo;
    bool unsupported;
    double * val;                        // [n_eval, N_METRICS] per item; NaN: not measured
    double secs;
    int64_t n, passes;
};

// The metrics of one item, in table order; plausibility is NaN for items without evidence.
enum { M_COMP, M_SUFF, M_DEL, M_INS, M_AUPRC, M_F1, M_IOU, N_METRICS };
static const char * const metric_keys[N_METRICS] = {
    "comprehensiveness_aopc", "sufficiency_aopc", "deletion_auc", "insertion_auc", "auprc", "f1_at_k", "iou_f1",
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
            for (int m = GAZE_EXPLAIN_ROLLOUT; m < GAZE_EXPLAIN_COUNT; m++)
                add_method(ms, n, gaze_explain_method_name(m), false, m, -1);
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

static int64_t gcd64(int64_t a, int64_t b) {
    while (b) { const int64_t t = a % b; a = b; b = t; }
    return a;
}

static uint64_t fnv1a(const char * s) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 0x100000001b3ull;
    return h;
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
    int64_t limit = 0, n_boot = 1000, deadline = 0;
    uint64_t seed = 0;
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
        else if (!strcmp(a, "--deadline")) { if (cli_int("evaluate", a, v, 0, INT64_MAX, &deadline)) return 2; i++; }
        else if (!strcmp(a, "--bootstrap")) { if (cli_int("evaluate", a, v, 10, 1000000, &n_boot)) return 2; i++; }
        else if (!strcmp(a, "--seed")) { if (cli_u64("evaluate", a, v, &seed)) return 2; i++; }
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
    uint8_t * skipped = NULL;
    if ((s = gaze_value_cache_init(&cache)) || (info->causal && (s = analysis_tok_open(&tok, info)))) { rc = cli_fail(s); goto out; }
    const int64_t n_eval = limit > 0 && limit < n_items ? limit : n_items;
    int64_t n_correct = 0, n_with_target = 0, n_skipped = 0;
    if (!(skipped = calloc((size_t)n_eval + 1, 1))) { rc = cli_fail(gaze_error(GAZE_ERR_NOMEM, "evaluate: out of memory")); goto out; }
    for (int64_t m = 0; m < n_ms; m++) {
        if (!(ms[m].val = malloc(((size_t)n_eval + 1) * N_METRICS * sizeof(double)))) {
            rc = cli_fail(gaze_error(GAZE_ERR_NOMEM, "evaluate: out of memory"));
            goto out;
        }
        for (int64_t k = 0; k < (n_eval + 1) * N_METRICS; k++) ms[m].val[k] = NAN;
    }
    const double t_all = cli_now();
    // the items in an order whose every prefix is spread over the file (stride ~ n/φ, coprime
    // to n): a run stopped at its deadline still samples every task
    int64_t stride = n_eval > 2 ? (int64_t)((double)n_eval * 0.6180339887) : 1, n_done = 0;
    while (stride > 1 && gcd64(stride, n_eval) != 1) stride--;
    bool stopped = false;
    for (int64_t step = 0; step < n_eval && !rc; step++) {
        if (deadline > 0 && cli_now() - t_all > (double)deadline) { stopped = true; break; }
        const int64_t e = step * stride % n_eval;
        n_done++;
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
                skipped[e] = 1;
                free(scores); gaze_run_free(&run);
                break;
            }
            if (!s) s = gaze_plausibility(&run, scores, it->spans, it->n_spans, &p);
            free(scores);
            gaze_run_free(&run);
            if (s) { rc = cli_fail(s); break; }
            double * v = me->val + e * N_METRICS;
            v[M_COMP] = f.comp_aopc; v[M_SUFF] = f.suff_aopc; v[M_DEL] = f.deletion_auc; v[M_INS] = f.insertion_auc;
            if (!isnan(p.auprc)) { v[M_AUPRC] = p.auprc; v[M_F1] = p.f1_at_k; v[M_IOU] = p.iou_f1; }
            me->passes += f.passes;
            me->n++;
            me->secs += cli_now() - t0;
        }
        gaze_target_free(&t);
        if (isatty(2)) fprintf(stderr, "\rgaze evaluate: %lld/%lld items", (long long)(step + 1), (long long)n_eval);
    }
    if (isatty(2)) fputc('\n', stderr);
    if (rc) goto out;
    if (stopped) {   // the items not reached are left out of every mean, saying so
        for (int64_t step = n_done; step < n_eval; step++) skipped[step * stride % n_eval] = 1;
        fprintf(stderr, "gaze evaluate: stopped at the deadline (%lld s) after %lld of %lld items; the tables cover those\n",
                (long long)deadline, (long long)n_done, (long long)n_eval);
        n_skipped += n_eval - n_done;
    }
    // per task: the items' task names in order of first appearance ("-" when absent)
    const char ** tasks = calloc((size_t)n_eval + 1, sizeof *tasks);
    int64_t * item_task = calloc((size_t)n_eval + 1, sizeof *item_task), n_tasks = 0;
    double * d = malloc(((size_t)n_eval + 1) * N_METRICS * sizeof *d);
    if (!tasks || !item_task || !d) { free(tasks); free(item_task); free(d); rc = cli_fail(gaze_error(GAZE_ERR_NOMEM, "evaluate: out of memory")); goto out; }
    for (int64_t e = 0; e < n_eval; e++) {
        const char * tk = ev.items[n_eval == n_items ? e : e * n_items / n_eval].task;
        int64_t k = 0;
        while (k < n_tasks && strcmp(tasks[k], tk)) k++;
        if (k == n_tasks) tasks[n_tasks++] = tk;
        item_task[e] = k;
    }
    json_t * jo = json ? json_object() : NULL, * jtasks = json ? json_array() : NULL;
    if (json) {
        json_object_set_new(jo, "model", json_string(src.src));
        json_object_set_new(jo, "data", json_string(data));
        json_object_set_new(jo, "items", json_integer(n_eval - n_skipped));
        if (stopped) json_object_set_new(jo, "stopped_at_deadline", json_pack("{s:I, s:I}", "items_done", (json_int_t)n_done,
                                                                             "items_asked", (json_int_t)n_eval));
        json_object_set_new(jo, "target", json_string(info->causal ? "log p(own next-token prediction)" : "embedding cosine"));
        if (n_with_target) json_object_set_new(jo, "prediction_matches_target", json_real((double)n_correct / (double)n_with_target));
        json_object_set_new(jo, "confidence", json_real(0.95));
        json_object_set_new(jo, "bootstrap", json_integer(n_boot));
        json_object_set_new(jo, "seed", json_integer((json_int_t)seed));
    } else {
        printf("%lld items of %s on %s; target: %s\n", (long long)(n_eval - n_skipped), cli_safe(data), cli_safe(src.src),
               info->causal ? "log p(the model's own next-token prediction)" : "cosine of the pooled embedding with the original's");
        if (stopped)
            printf("stopped at the deadline (--deadline %lld s) after %lld of %lld items\n", (long long)deadline,
                   (long long)n_done, (long long)n_eval);
        if (n_with_target)
            printf("the model predicts the item's target on %lld of %lld items (%.1f %%)\n", (long long)n_correct,
                   (long long)n_with_target, 100.0 * (double)n_correct / (double)n_with_target);
        printf("faithful: comp and ins high, suff and del low; plausible: AUPRC, F1@k, IOU-F1 high\n"
               "each cell: mean over items, and under it the 95 %% bootstrap interval (%lld resamples of the items, seed %llu)\n",
               (long long)n_boot, (unsigned long long)seed);
    }
    // group -1: every item; then one group per task
    for (int64_t g = -1; g < n_tasks && !rc; g++) {
        if (g >= 0 && n_tasks == 1) break;   // one task: the overall table is the task's
        json_t * rows = json ? json_array() : NULL;
        int64_t n_group = 0;
        for (int64_t e = 0; e < n_eval; e++) n_group += (g < 0 || item_task[e] == g) && !skipped[e];
        if (!json) {
            if (g < 0) printf("\nall tasks (%lld items)\n", (long long)n_group);
            else printf("\ntask %s (%lld items)\n", cli_safe(tasks[g]), (long long)n_group);
            printf("%-16s %13s %13s %13s %13s | %11s %11s %11s | %8s\n", "method", "comp", "suff", "del", "ins", "AUPRC",
                   "F1@k", "IOU-F1", "s/item");
        }
        for (int64_t m = 0; m < n_ms && n_group; m++) {
            const struct method * me = &ms[m];
            if (me->unsupported || !me->n) continue;
            int64_t N = 0;
            for (int64_t e = 0; e < n_eval; e++)
                if ((g < 0 || item_task[e] == g) && !skipped[e] && !isnan(me->val[e * N_METRICS + M_COMP]))
                    memcpy(d + (N++) * N_METRICS, me->val + e * N_METRICS, N_METRICS * sizeof *d);
            if (!N) continue;
            struct gaze_paired_stats st;
            // seeded per method and group, so a row does not depend on which other methods ran
            const uint64_t sd = seed ^ (uint64_t)(g + 2) * 0x9E3779B97F4A7C15ull ^ fnv1a(me->name);
            if ((s = gaze_paired_stats_compute(d, N, N_METRICS, n_boot, 0.05, sd, &st))) { rc = cli_fail(s); break; }
            if (json) {
                json_t * r = json_object();
                json_object_set_new(r, "method", json_string(me->name));
                json_object_set_new(r, "items", json_integer(N));
                for (int k = 0; k < N_METRICS; k++) {
                    char key[48];
                    json_object_set_new(r, metric_keys[k], st.n[k] ? json_real(st.mean[k]) : json_null());
                    snprintf(key, sizeof key, "%s_ci", metric_keys[k]);
                    json_object_set_new(r, key, st.n[k] ? json_pack("[f, f]", st.lo[k], st.hi[k]) : json_null());
                }
                if (g < 0) json_object_set_new(r, "seconds_per_item", json_real(me->secs / (double)me->n));
                json_array_append_new(rows, r);
            } else {
                printf("%-16s", me->name);
                for (int k = 0; k < N_METRICS; k++) printf(k < M_AUPRC ? " %13.4f" : k == M_AUPRC ? " | %11.3f" : " %11.3f", st.mean[k]);
                if (g < 0) printf(" | %8.3f\n", me->secs / (double)me->n); else printf(" |\n");
                printf("%-16s", "");
                for (int k = 0; k < N_METRICS; k++) {
                    char cell[40];
                    if (!st.n[k]) snprintf(cell, sizeof cell, "-");
                    else if (k < M_AUPRC) snprintf(cell, sizeof cell, "%.3f..%.3f", st.lo[k], st.hi[k]);
                    else snprintf(cell, sizeof cell, "%.2f..%.2f", st.lo[k], st.hi[k]);
                    printf(k < M_AUPRC ? " %13s" : k == M_AUPRC ? " | %11s" : " %11s", cell);
                }
                printf(" |\n");
            }
            gaze_paired_stats_free(&st);
        }
        if (json && g < 0) json_object_set_new(jo, "methods", rows);
        else if (json) {
            json_t * t = json_object();
            json_object_set_new(t, "task", json_string(tasks[g]));
            json_object_set_new(t, "items", json_integer(n_group));
            json_object_set_new(t, "methods", rows);
            json_array_append_new(jtasks, t);
        }
    }
    if (json) {
        json_object_set_new(jo, "tasks", jtasks);
        if (!rc) {
            json_dumpf(jo, stdout, JSON_INDENT(1) | JSON_REAL_PRECISION(6) | JSON_ENSURE_ASCII);
            putchar('\n');
        }
        json_decref(jo);
    }
    free(tasks); free(item_task); free(d);
    if (rc) goto out;
    fprintf(stderr, "gaze evaluate: %lld items x %lld methods in %.1f s%s\n", (long long)(n_eval - n_skipped), (long long)n_ms,
            cli_now() - t_all, n_skipped ? " (items left out: see above)" : "");
out:
    for (int64_t m = 0; m < n_ms; m++) free(ms[m].val);
    free(skipped);
    analysis_tok_close(&tok);
    gaze_value_cache_free(cache);
    free(ms);
out_model:
    gaze_model_free(model);
    gaze_evidence_free(&ev);
    return rc;
}
