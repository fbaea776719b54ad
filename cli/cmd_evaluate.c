// gaze evaluate MODEL data.jsonl: faithfulness (comprehensiveness, sufficiency, deletion and
// insertion curves) and plausibility (token AUPRC, F1 at k, IOU-F1 against evidence spans) of
// attribution methods, one table row per method. Input: one JSON object a line,
// {"text": ..., "evidence": [[begin, end], ...] (byte offsets), "task": ..., "target": ...}.
// A run is split over machines with --shard i/n -o PART.json (per-item scores, saved after every
// item, --resume continues one) and joined by gaze merge, which recomputes the table from the
// union of the items: the one table of an unsharded run (cmd_evaluate_merge, report()).
#include "analysis_cli.h"
#include "progress.h"
#include "analysis/analysis.h"
#include <jansson.h>
#include <math.h>
#include <signal.h>
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
            "  -o, --out FILE   also save every item's scores of every method to FILE (JSON, \"gaze.evaluate\"), after\n"
            "                   each item (atomically: a kill loses the item under way at most), for gaze merge and\n"
            "                   --resume (default: not saved)\n"
            "  --shard i/n|auto evaluate only the items of steps i, i+n, i+2n, ... of the run's order (so a stopped\n"
            "                   shard still covers every task); needs -o; auto: GAZE_SHARD/GAZE_SHARDS or a Slurm\n"
            "                   job array, as gaze corpus (default: 0/1)\n"
            "  --resume         continue the -o FILE of an interrupted or stopped run (same model, data, options and\n"
            "                   shard, else refused naming the field); items done are not run again\n"
            "  -q, --quiet      no progress line (it is drawn only on a terminal anyway)\n"
            "  gaze merge PART.json... [--allow-partial] [--json] [-o FILE] joins the parts of every shard into the\n"
            "  table of one unsharded run (means and intervals from the union of the items, the same seed); it\n"
            "  refuses parts of other models, data or options, mixed shard counts, a shard twice, missing or\n"
            "  unfinished shards (--allow-partial: merge anyway, saying so), naming the files.\n"
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
};

// The metrics of one item, in table order (gaze_eval_metric_name); plausibility is NaN for items
// without evidence.
enum { M_COMP, M_SUFF, M_DEL, M_INS, M_AUPRC, M_F1, M_IOU, N_METRICS };
_Static_assert(N_METRICS == GAZE_EVAL_METRICS, "the part file's metrics are the table's");

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


// The table (or --json) of part p: the means and bootstrap intervals over its items, overall and
// per task. An unsharded run and the merge of its shards hold the same items and options, so
// they print the same (up to the seconds per item, which are measured). who: "evaluate"/"merge".
static int report(const struct gaze_eval_part * p, bool json, const char * who) {
    const int64_t n_eval = p->n_eval, n_ms = p->n_methods, n_tasks = p->n_tasks;
    int rc = 0;
    enum gaze_status s;
    uint8_t * skipped = malloc((size_t)n_eval + 1);
    int64_t * item_task = calloc((size_t)n_eval + 1, sizeof *item_task), * n_m = calloc((size_t)n_ms, sizeof *n_m);
    double * val = malloc(((size_t)n_eval + 1) * N_METRICS * (size_t)n_ms * sizeof *val);
    double * d = malloc(((size_t)n_eval + 1) * N_METRICS * sizeof *d), * secs = calloc((size_t)n_ms, sizeof *secs);
    if (!skipped || !item_task || !n_m || !val || !d || !secs) {
        rc = cli_fail(gaze_error(GAZE_ERR_NOMEM, "%s: out of memory", who));
        goto out;
    }
    // dense [e]: items not in p (other shards, not reached) count as left out
    memset(skipped, 1, (size_t)n_eval + 1);
    for (int64_t k = 0; k < (n_eval + 1) * N_METRICS * n_ms; k++) val[k] = NAN;
    int64_t n_correct = 0, n_with_target = 0, n_in = 0;
    for (int64_t i = 0; i < p->n; i++) {
        const struct gaze_eval_item * it = &p->items[i];
        item_task[it->e] = it->task;
        if (it->match >= 0) { n_with_target++; n_correct += it->match; }
        if (it->skipped) continue;
        skipped[it->e] = 0;
        n_in++;
        for (int64_t m = 0; m < n_ms; m++) {
            memcpy(val + (it->e * n_ms + m) * N_METRICS, it->val + m * N_METRICS, N_METRICS * sizeof *val);
            if (!isnan(it->secs[m])) { secs[m] += it->secs[m]; n_m[m]++; }
        }
    }
    int64_t asked = 0, n_held = 0;
    for (int64_t k = 0; k < p->n_shards; k++)
        if (p->shards[k]) { asked += gaze_eval_shard_items(n_eval, k, p->n_shards); n_held++; }
    const bool part_only = n_held < p->n_shards || !p->complete;   // the table covers part of the items asked
    json_t * jo = json ? json_object() : NULL, * jtasks = json ? json_array() : NULL;
    if (json) {
        json_object_set_new(jo, "model", json_string(p->model));
        json_object_set_new(jo, "data", json_string(p->data));
        json_object_set_new(jo, "items", json_integer(n_in));
        if (p->stopped) json_object_set_new(jo, "stopped_at_deadline", json_pack("{s:I, s:I}", "items_done", (json_int_t)p->n,
                                                                                "items_asked", (json_int_t)asked));
        if (part_only) json_object_set_new(jo, "partial", json_pack("{s:I, s:I, s:I, s:I}", "items_done", (json_int_t)p->n,
                                                                   "items_asked", (json_int_t)n_eval, "shards_held", (json_int_t)n_held,
                                                                   "n_shards", (json_int_t)p->n_shards));
        json_object_set_new(jo, "target", json_string(p->causal ? "log p(own next-token prediction)" : "embedding cosine"));
        if (n_with_target) json_object_set_new(jo, "prediction_matches_target", json_real((double)n_correct / (double)n_with_target));
        json_object_set_new(jo, "confidence", json_real(0.95));
        json_object_set_new(jo, "bootstrap", json_integer(p->n_boot));
        json_object_set_new(jo, "seed", json_integer((json_int_t)p->seed));
    } else {
        printf("%lld items of %s on %s; target: %s\n", (long long)n_in, cli_safe(p->data), cli_safe(p->model),
               p->causal ? "log p(the model's own next-token prediction)" : "cosine of the pooled embedding with the original's");
        if (p->stopped) printf("stopped at the deadline (--deadline) after %lld of %lld items\n", (long long)p->n, (long long)asked);
        if (part_only)
            printf("partial: %lld of the %lld items asked (%lld of %lld shards%s)\n", (long long)p->n, (long long)n_eval,
                   (long long)n_held, (long long)p->n_shards, p->complete ? "" : ", unfinished");
        if (n_with_target)
            printf("the model predicts the item's target on %lld of %lld items (%.1f %%)\n", (long long)n_correct,
                   (long long)n_with_target, 100.0 * (double)n_correct / (double)n_with_target);
        printf("faithful: comp and ins high, suff and del low; plausible: AUPRC, F1@k, IOU-F1 high\n"
               "each cell: mean over items, and under it the 95 %% bootstrap interval (%lld resamples of the items, seed %llu)\n",
               (long long)p->n_boot, (unsigned long long)p->seed);
    }
    // group -1: every item; then one group per task
    for (int64_t g = -1; g < n_tasks && !rc; g++) {
        if (g >= 0 && n_tasks == 1) break;   // one task: the overall table is the task's
        json_t * rows = json ? json_array() : NULL;
        int64_t n_group = 0;
        for (int64_t e = 0; e < n_eval; e++) n_group += (g < 0 || item_task[e] == g) && !skipped[e];
        if (!json) {
            if (g < 0) printf("\nall tasks (%lld items)\n", (long long)n_group);
            else printf("\ntask %s (%lld items)\n", cli_safe(p->tasks[g]), (long long)n_group);
            printf("%-16s %13s %13s %13s %13s | %11s %11s %11s | %8s\n", "method", "comp", "suff", "del", "ins", "AUPRC",
                   "F1@k", "IOU-F1", "s/item");
        }
        for (int64_t m = 0; m < n_ms && n_group; m++) {
            if (p->unsupported[m] || !n_m[m]) continue;
            const char * name = p->methods[m];
            int64_t N = 0;
            for (int64_t e = 0; e < n_eval; e++)
                if ((g < 0 || item_task[e] == g) && !skipped[e] && !isnan(val[(e * n_ms + m) * N_METRICS + M_COMP]))
                    memcpy(d + (N++) * N_METRICS, val + (e * n_ms + m) * N_METRICS, N_METRICS * sizeof *d);
            if (!N) continue;
            struct gaze_paired_stats st;
            // seeded per method and group, so a row does not depend on which other methods ran
            const uint64_t sd = p->seed ^ (uint64_t)(g + 2) * 0x9E3779B97F4A7C15ull ^ fnv1a(name);
            if ((s = gaze_paired_stats_compute(d, N, N_METRICS, p->n_boot, 0.05, sd, &st))) { rc = cli_fail(s); break; }
            if (json) {
                json_t * r = json_object();
                json_object_set_new(r, "method", json_string(name));
                json_object_set_new(r, "items", json_integer(N));
                for (int k = 0; k < N_METRICS; k++) {
                    char key[48];
                    json_object_set_new(r, gaze_eval_metric_name(k), st.n[k] ? json_real(st.mean[k]) : json_null());
                    snprintf(key, sizeof key, "%s_ci", gaze_eval_metric_name(k));
                    json_object_set_new(r, key, st.n[k] ? json_pack("[f, f]", st.lo[k], st.hi[k]) : json_null());
                }
                if (g < 0) json_object_set_new(r, "seconds_per_item", json_real(secs[m] / (double)n_m[m]));
                json_array_append_new(rows, r);
            } else {
                printf("%-16s", name);
                for (int k = 0; k < N_METRICS; k++) printf(k < M_AUPRC ? " %13.4f" : k == M_AUPRC ? " | %11.3f" : " %11.3f", st.mean[k]);
                if (g < 0) printf(" | %8.3f\n", secs[m] / (double)n_m[m]); else printf(" |\n");
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
            json_object_set_new(t, "task", json_string(p->tasks[g]));
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
out:
    free(skipped); free(item_task); free(n_m); free(val); free(d); free(secs);
    return rc;
}

static volatile sig_atomic_t interrupted = 0;
static void on_signal(int sig) { (void)sig; interrupted = 1; }

int cmd_evaluate(int argc, char ** argv) {
    struct acli_source src = { .cmd = "evaluate", .no_file = true };
    const char * data = NULL, * methods_s = NULL, * out = NULL, * shard_s = NULL;
    int64_t limit = 0, n_boot = 1000, deadline = 0, shard = 0, n_shards = 1;
    uint64_t seed = 0;
    bool json = false, resume = false, quiet = false;
    for (int i = 1; i < argc; i++) {
        const char * a = argv[i], * v = i + 1 < argc ? argv[i + 1] : NULL;
        int k = acli_source_flag(&src, argc, argv, &i);
        if (k == -2) return 2;
        if (k < 0) return usage(stderr);
        if (k > 0) continue;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) return usage(stdout);
        if (!strcmp(a, "--json")) json = true;
        else if (!strcmp(a, "--resume")) resume = true;
        else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) quiet = true;
        else if (!strcmp(a, "--methods")) { if (!v) return usage(stderr); methods_s = v; i++; }
        else if (!strcmp(a, "-o") || !strcmp(a, "--out")) { if (!v) return usage(stderr); out = v; i++; }
        else if (!strcmp(a, "--shard")) { if (!v) return usage(stderr); shard_s = v; i++; }
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
    char shard_from[32] = "";
    if (shard_s && cli_shard_parse("evaluate", shard_s, &shard, &n_shards, shard_from, sizeof shard_from)) return 2;
    if ((resume || shard_s) && (!out || gaze_output_is_stdout(out))) {
        // a shard's table alone is not the result, and a resume needs the file it continues
        fprintf(stderr, "gaze evaluate: %s needs -o FILE (the per-item scores that gaze merge joins)\n", resume ? "--resume" : "--shard");
        return 2;
    }
    if (out && gaze_output_is_stdout(out)) { fprintf(stderr, "gaze evaluate: -o: the scores go to a file (the table goes to standard output)\n"); return 2; }
    int rc = cli_output_check("evaluate", out);
    if (rc) return rc;
    struct gaze_evidence ev;
    if ((rc = read_items(data, &ev))) return rc;
    const int64_t n_items = ev.n;
    if (!n_items) { fprintf(stderr, "gaze evaluate: %s holds no item\n", cli_safe(data)); gaze_evidence_free(&ev); return 2; }
    int64_t in_size = -1;
    uint64_t in_hash = 0;
    // the data's identity goes into the part file (standard input, without -o, needs none)
    enum gaze_status s = out ? gaze_file_fingerprint(data, &in_size, &in_hash) : GAZE_OK;
    if (s) { gaze_evidence_free(&ev); return cli_fail(s); }
    struct gaze_model * model = NULL;
    if ((s = cli_model_load(&model, src.src, "evaluate", quiet))) { gaze_evidence_free(&ev); return cli_fail(s); }
    if (src.exact && (s = gaze_model_set_exact(model, true))) { rc = cli_fail(s); goto out_model; }
    const struct gaze_model_info * info = gaze_model_info(model);
    struct method * ms = NULL;
    int64_t n_ms = 0;
    struct gaze_value_cache * cache = NULL;
    struct analysis_tok tok = { 0 };
    struct gaze_eval_part part = { 0 };
    uint8_t * done = NULL;
    const char ** tasks = NULL;
    int64_t * item_task = NULL;
    if ((rc = parse_methods(methods_s, info, &ms, &n_ms))) goto out;
    if (n_ms > GAZE_EVAL_MAX_METHODS) { fprintf(stderr, "gaze evaluate: --methods: %lld methods, at most %d\n", (long long)n_ms, GAZE_EVAL_MAX_METHODS); rc = 2; goto out; }
    if ((s = gaze_value_cache_init(&cache)) || (info->causal && (s = analysis_tok_open(&tok, info)))) { rc = cli_fail(s); goto out; }
    const int64_t n_eval = limit > 0 && limit < n_items ? limit : n_items;
    // the items' tasks in order of first appearance ("-" when absent)
    tasks = calloc((size_t)n_eval + 1, sizeof *tasks);
    item_task = calloc((size_t)n_eval + 1, sizeof *item_task);
    done = calloc((size_t)n_eval + 1, 1);
    if (!tasks || !item_task || !done) { rc = cli_fail(gaze_error(GAZE_ERR_NOMEM, "evaluate: out of memory")); goto out; }
    int64_t n_tasks = 0;
    for (int64_t e = 0; e < n_eval; e++) {
        const char * tk = ev.items[n_eval == n_items ? e : e * n_items / n_eval].task;
        int64_t k = 0;
        while (k < n_tasks && strcmp(tasks[k], tk)) k++;
        if (k == n_tasks) tasks[n_tasks++] = tk;
        item_task[e] = k;
    }
    if ((s = gaze_eval_part_init(&part, n_ms, n_tasks, n_shards))) { rc = cli_fail(s); goto out; }
    part.model = strdup(src.src);
    part.data = strdup(data);
    for (int64_t m = 0; m < n_ms; m++) part.methods[m] = strdup(ms[m].name);
    for (int64_t t = 0; t < n_tasks; t++) part.tasks[t] = strdup(tasks[t]);
    bool nomem = !part.model || !part.data;
    for (int64_t m = 0; m < n_ms; m++) nomem |= !part.methods[m];
    for (int64_t t = 0; t < n_tasks; t++) nomem |= !part.tasks[t];
    if (nomem) { rc = cli_fail(gaze_error(GAZE_ERR_NOMEM, "evaluate: out of memory")); goto out; }
    part.input_size = in_size;
    part.input_hash = in_hash;
    part.causal = info->causal;
    part.exact = src.exact;
    part.n_items = n_items;
    part.n_eval = n_eval;
    part.n_boot = n_boot;
    part.seed = seed;
    part.shards[shard] = 1;
    snprintf(part.shard_from, sizeof part.shard_from, "%s", shard_from);
    const int64_t mine = gaze_eval_shard_items(n_eval, shard, n_shards);
    if (resume && access(out, F_OK) == 0) {
        struct gaze_eval_part old;
        if ((s = gaze_eval_part_load(&old, out))) { rc = cli_fail(s); goto out; }
        const char * why = gaze_eval_part_differs(&old, &part);
        int64_t held = 0;
        for (int64_t k = 0; k < old.n_shards && !why; k++) held += old.shards[k];
        if (!why && (held != 1 || !old.shards[shard])) why = "shard";
        if (why) {
            fprintf(stderr, "gaze evaluate: cannot resume %s: its field %s differs from this run's (resume with the same model, "
                            "data file contents, options and shard)\n", cli_safe(out), why);
            gaze_eval_part_free(&old);
            rc = 2;
            goto out;
        }
        snprintf(old.shard_from, sizeof old.shard_from, "%s", part.shard_from);
        gaze_eval_part_free(&part);
        part = old;
        part.stopped = false;
        for (int64_t i = 0; i < part.n; i++) done[part.items[i].e] = 1;
        if (!quiet) fprintf(stderr, "gaze evaluate: resuming %s: %lld of the %lld items of shard %lld/%lld done\n", cli_safe(out),
                            (long long)part.n, (long long)mine, (long long)shard, (long long)n_shards);
    }
    if (shard_s && !quiet)
        fprintf(stderr, "gaze evaluate: shard %lld/%lld (from %s): %lld of the %lld items\n", (long long)shard, (long long)n_shards,
                shard_from, (long long)mine, (long long)n_eval);
    if (!out && !quiet) fprintf(stderr, "gaze evaluate: table printed only; per-item scores not saved (-o FILE keeps them for gaze merge or --resume)\n");
    struct sigaction sa = { 0 };
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESETHAND;   // a second Ctrl-C stops at once (the file holds every finished item)
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    struct cli_progress bar;
    cli_progress_init(&bar, "gaze evaluate", quiet);
    const double t_all = cli_now();
    const int64_t n_before = part.n;
    double * val = malloc((size_t)n_ms * N_METRICS * sizeof *val), * secs = malloc((size_t)n_ms * sizeof *secs);
    if (!val || !secs) { free(val); free(secs); rc = cli_fail(gaze_error(GAZE_ERR_NOMEM, "evaluate: out of memory")); goto out; }
    // the items in an order whose every prefix is spread over the file (gaze_eval_order); shard
    // i of n takes the steps i, i+n, ...: each shard's prefix is spread over the file too
    bool stopped = false;
    for (int64_t step = shard; step < n_eval && !rc; step += n_shards) {
        const int64_t e = gaze_eval_order(n_eval, step);
        if (done[e]) continue;
        if (interrupted) break;
        if (deadline > 0 && cli_now() - t_all > (double)deadline) { stopped = true; break; }
        const int64_t idx = n_eval == n_items ? e : e * n_items / n_eval;   // spread over every task
        const struct gaze_evidence_item * it = &ev.items[idx];
        struct gaze_eval_item x = { .e = e, .line = it->line, .task = item_task[e], .match = -1, .val = val, .secs = secs };
        for (int64_t k = 0; k < n_ms * N_METRICS; k++) val[k] = NAN;
        for (int64_t m = 0; m < n_ms; m++) secs[m] = NAN;
        gaze_value_cache_clear(cache);
        struct gaze_target t;
        if ((s = gaze_target_init(model, it->text, src.n_threads, &t))) { rc = cli_fail(s); break; }
        if (t.decoder && it->target && tok.tok) {
            char * pred = NULL;
            size_t len = 0;
            if (!gaze_tokenizer_decode(tok.tok, &t.token, 1, false, &pred, &len)) x.match = !strcmp(pred, it->target);
            free(pred);
        }
        for (int64_t m = 0; m < n_ms && !rc; m++) {
            struct method * me = &ms[m];
            if (part.unsupported[m]) continue;
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
                cli_progress_clear(&bar);
                fprintf(stderr, "gaze evaluate: %s left out: %s\n", me->name, gaze_last_error());
                part.unsupported[m] = 1;
                continue;
            }
            if (s) { rc = cli_fail(s); break; }
            struct gaze_faith f;
            struct gaze_plaus pl;
            s = gaze_faithfulness(model, &run, scores, &t, cache, src.n_threads, &f);
            if (s == GAZE_ERR_INVALID_ARG) {   // too short an input: the item is left out, saying why
                cli_progress_clear(&bar);
                fprintf(stderr, "gaze evaluate: %s:%lld left out: %s\n", cli_safe(data), (long long)it->line, gaze_last_error());
                x.skipped = 1;
                for (int64_t k = 0; k < n_ms * N_METRICS; k++) val[k] = NAN;
                free(scores); gaze_run_free(&run);
                break;
            }
            if (!s) s = gaze_plausibility(&run, scores, it->spans, it->n_spans, &pl);
            free(scores);
            gaze_run_free(&run);
            if (s) { rc = cli_fail(s); break; }
            double * v = val + m * N_METRICS;
            v[M_COMP] = f.comp_aopc; v[M_SUFF] = f.suff_aopc; v[M_DEL] = f.deletion_auc; v[M_INS] = f.insertion_auc;
            if (!isnan(pl.auprc)) { v[M_AUPRC] = pl.auprc; v[M_F1] = pl.f1_at_k; v[M_IOU] = pl.iou_f1; }
            secs[m] = cli_now() - t0;
        }
        gaze_target_free(&t);
        if (rc) break;
        done[e] = 1;
        // saved after every item: a kill loses the item under way at most
        if ((s = gaze_eval_part_add(&part, &x)) || (out && (s = gaze_eval_part_save(&part, out)))) { rc = cli_fail(s); break; }
        snprintf(bar.note, sizeof bar.note, "%s", x.skipped ? "last item left out" : "");
        cli_progress_update(&bar, part.n, mine, "items");
    }
    free(val);
    free(secs);
    cli_progress_clear(&bar);
    if (rc) goto out;
    part.complete = part.n == mine;
    part.stopped = stopped;
    if (out && (s = gaze_eval_part_save(&part, out))) { rc = cli_fail(s); goto out; }
    if (stopped)   // the items not reached are left out of every mean, saying so
        fprintf(stderr, "gaze evaluate: stopped at the deadline (%lld s) after %lld of %lld items; the tables cover those%s\n",
                (long long)deadline, (long long)part.n, (long long)mine, out ? " (--resume continues)" : "");
    if (interrupted)
        fprintf(stderr, "gaze evaluate: interrupted after %lld of %lld items%s\n", (long long)part.n, (long long)mine,
                out ? "; the items done are saved (--resume continues)" : "");
    if ((rc = report(&part, json, "evaluate"))) goto out;
    int64_t n_left = 0;
    for (int64_t i = 0; i < part.n; i++) n_left += part.items[i].skipped;
    fprintf(stderr, "gaze evaluate: %lld items x %lld methods in %.1f s%s\n", (long long)(part.n - n_before), (long long)n_ms,
            cli_now() - t_all, n_left ? " (items left out: see above)" : "");
    if (out)
        fprintf(stderr, "gaze evaluate: wrote the per-item scores of %lld items to %s (shard %lld/%lld, %s)\n", (long long)part.n,
                cli_safe(out), (long long)shard, (long long)n_shards,
                part.complete ? (n_shards > 1 ? "complete: gaze merge joins the shards" : "complete") : "unfinished: --resume continues it");
    if (interrupted) rc = 130;
out:
    gaze_eval_part_free(&part);
    free(done); free(tasks); free(item_task);
    analysis_tok_close(&tok);
    gaze_value_cache_free(cache);
    free(ms);
out_model:
    gaze_model_free(model);
    gaze_evidence_free(&ev);
    return rc;
}

// gaze merge PART.json...: the parts of every shard (checked by cli_shard_check, as corpus files
// are), joined into one part whose table is the one an unsharded run prints.
int cmd_evaluate_merge(int argc, char ** argv) {
    const char * out = NULL;
    bool json = false, allow_partial = false;
    const char ** paths = calloc((size_t)argc, sizeof *paths);
    int n = 0, rc = 0;
    if (!paths) return 1;
    for (int i = 1; i < argc; i++) {
        const char * a = argv[i], * v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--json")) json = true;
        else if (!strcmp(a, "--allow-partial")) allow_partial = true;
        else if ((!strcmp(a, "-o") || !strcmp(a, "--out")) && v) { out = v; i++; }
        else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "gaze merge: '%s' does not apply to gaze evaluate parts (--allow-partial, --json, -o FILE do)\n", cli_safe(a));
            free(paths);
            return 2;
        }
        else paths[n++] = a;
    }
    if ((rc = cli_output_check("merge", out))) { free(paths); return rc; }
    struct gaze_eval_part * p = calloc((size_t)n, sizeof *p), acc = { 0 };
    struct cli_shard_file * files = calloc((size_t)n, sizeof *files);
    int loaded = 0;
    enum gaze_status s;
    if (!p || !files) { rc = 1; goto done; }
    for (; loaded < n; loaded++)
        if ((s = gaze_eval_part_load(&p[loaded], paths[loaded]))) {
            fprintf(stderr, "gaze merge: %s\n", gaze_last_error());
            rc = 1;
            goto done;
        }
    for (int i = 1; i < n; i++) {   // other models, data or options: named before the shard checks
        const char * why = gaze_eval_part_differs(&p[0], &p[i]);
        if (why && strcmp(why, "n_shards") && strncmp(why, "data", 4)) {
            fprintf(stderr, "gaze merge: %s and %s differ in %s (every shard must run the same model, data and options)\n",
                    cli_safe(paths[0]), cli_safe(paths[i]), why);
            rc = 1;
            goto done;
        }
    }
    for (int i = 0; i < n; i++)
        files[i] = (struct cli_shard_file){ paths[i], p[i].n_shards, p[i].shards, p[i].input_size, p[i].input_hash, p[i].complete };
    if ((rc = cli_shard_check(files, n, allow_partial, "gaze evaluate --resume", NULL))) goto done;
    acc = p[0];
    memset(&p[0], 0, sizeof p[0]);
    for (int i = 1; i < n; i++)
        if ((s = gaze_eval_part_merge(&acc, &p[i]))) {
            fprintf(stderr, "gaze merge: %s: %s\n", cli_safe(paths[i]), gaze_last_error());
            rc = 1;
            goto done;
        }
    acc.stopped = false;   // a merge covers what its parts hold; "partial" says the rest
    int64_t n_left = 0;
    for (int64_t i = 0; i < acc.n; i++) n_left += acc.items[i].skipped;
    if (n_left) fprintf(stderr, "gaze merge: %lld items left out (too short to delete tokens from)\n", (long long)n_left);
    if (out && (s = gaze_eval_part_save(&acc, out))) { rc = cli_fail(s); goto done; }
    if ((rc = report(&acc, json, "merge"))) goto done;
    fprintf(stderr, "gaze merge: joined %d parts of gaze evaluate (%lld items, %lld methods)%s%s\n", n, (long long)acc.n,
            (long long)acc.n_methods, out ? "; saved to " : "; printed only, not saved (-o FILE keeps them)", out ? cli_safe(out) : "");
done:
    for (int i = 0; i < loaded; i++) gaze_eval_part_free(&p[i]);
    gaze_eval_part_free(&acc);
    free(p); free(files); free(paths);
    return rc;
}
