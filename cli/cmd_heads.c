// gaze heads: a layer × head table of per-head metrics (entropy, surface statistics, sink score,
// TransformerLens detectors) with labels, of a saved run or a live model; GQA heads grouped by
// their KV head. `gaze heads --induction MODEL` runs the repeated-random-tokens protocol.
#include "analysis_cli.h"
#include "progress.h"
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static int usage(FILE * f) {
    fprintf(f,
            "usage: gaze heads RUN.safetensors [flags]\n"
            "       gaze heads MODEL \"text\" | MODEL -f FILE|- [--pair \"B\"] [--exact] [flags]\n"
            "       gaze heads --induction MODEL [--seq-len S] [--batch B] [--seed N] [--exact] [--json|--csv]\n"
            "  -f FILE           read the text from FILE ('-': standard input)\n"
            "  --pair \"B\"        encoders: the second sentence of a pair (default: none)\n"
            "  --exact           quantized models: f32-dequantized weights (default: quantized arithmetic)\n"
            "  --image-size WxH  vision models given an image: resize it to W x H (multiples of the patch\n"
            "                    size) and interpolate the position embeddings, as gaze run\n"
            "  --threads N       worker threads (default: 0 = $GAZE_THREADS or one per core)\n"
            "  --kind K          encoder-decoder runs: encoder, decoder or cross attention (default: encoder)\n"
            "  --json, --csv     machine-readable output (default: a table)\n"
            "  --layer L         only layer L (default: every captured layer)\n"
            "  --sort METRIC     order by METRIC, highest first (default: by layer and head)\n"
            "  --grid METRIC     the layer x head grid of one metric as a heatmap instead of the table\n"
            "  --grid-plot FILE  also draw that grid to FILE (.png, .svg or .pdf)\n"
            "  detectors (TransformerLens):\n"
            "  --error mul|abs   detector score: mass on the pattern (mul) or 1 - mean |A - D| (abs) (default: mul)\n"
            "  --exclude-bos     leave attention to the first token out of the detector scores (default: kept)\n"
            "  --exclude-current leave the diagonal out of the detector scores (default: kept)\n"
            "  label thresholds, each a fraction in [0, 1]:\n"
            "  --broad X         'broad' when entropy_norm > X (default: 0.78)\n"
            "  --positional X    'prev'/'next'/'self' when that mean attention > X (default: 0.5)\n"
            "  --special X       'cls'/'sep'/'punct' when that mean attention > X (default: 0.6)\n"
            "  --sink X          'sink' when the attention to token 0 > X (default: 0.3)\n"
            "  --detector X      'duplicate-token'/'induction' when that detector score > X (default: 0.4)\n"
            "  image runs (ViT, DeiT, DINOv2, CLIP/SigLIP vision): also each head's mean attention distance in\n"
            "  pixels and most attended token with its patch cell, and the sink patches (Darcet et al. 2024):\n"
            "  --patch-sink F    a patch receiving >= F x the median patch's attention (default: 4)\n"
            "  --patch-norm F    ... and, with hidden captured, a hidden-state norm >= F x the median (default: 2)\n"
            "  --induction: BOS + S random tokens twice, B sequences (default: S 50, B 4, seed 1)\n"
            "metrics: entropy (nats, Clark smoothing) entropy_norm (/ ln of the visible keys) max_weight distance\n"
            "         self prev next cls sep bos punct sink (Gu alpha_0) det_prev det_dup det_ind (TransformerLens)\n"
            "causal runs: row i sees keys 0..i; entropy_norm divides by ln(i + 1), rows with one key left out\n");
    return f == stdout ? 0 : 2;
}

enum out_format { OUT_TABLE, OUT_JSON, OUT_CSV };

static const char * const short_names[GAZE_METRIC_COUNT] = {
    "entropy", "ent/ln", "maxw", "dist", "self", "prev", "next", "cls", "sep", "bos", "punct",
    "sink", "d.prev", "d.dup", "d.ind",
};

static json_t * jnum(double v) { return isnan(v) ? json_null() : json_real(v); }

// Cross runs: each head's alignment entropy (mean over target rows, nats; ln Ts = uniform) and
// the source token it covers most (attention received, summed over the target rows).
static void print_cross(const struct gaze_run * run, const double * ent, const double * cov, const int64_t * order,
                        int64_t cnt) {
    const int64_t Ts = run->T_keys, Hc = run->n_heads_cap;
    printf("cross-attention: %lld target rows over %lld source tokens; alignment entropy in nats (0 = one source "
           "token, %.3f = uniform), coverage = attention a source token receives summed over the rows\n",
           (long long)run->Tq, (long long)Ts, log((double)Ts));
    printf("layer head  align_ent  most covered source token (coverage)   least covered (coverage)\n");
    for (int64_t r = 0; r < cnt; r++) {
        const int64_t k = order[r];
        const double * c = cov + k * Ts;
        int64_t hi = 0, lo = 0;
        for (int64_t j = 1; j < Ts; j++) { if (c[j] > c[hi]) hi = j; if (c[j] < c[lo]) lo = j; }
        printf("%5lld %4lld  ", (long long)run->layers[k / Hc].index, (long long)run->heads[k % Hc]);
        acli_num(stdout, ent[k], 3, 9, "-");
        printf("  %5lld ", (long long)hi);
        acli_label(stdout, run->key_tokens[hi], 14);
        printf(" (%.3f)         %5lld ", c[hi], (long long)lo);
        acli_label(stdout, run->key_tokens[lo], 14);
        printf(" (%.3f)\n", c[lo]);
    }
}

static json_t * jlabels(unsigned labels) {
    json_t * a = json_array();
    for (int b = 0; b < GAZE_HEAD_LABEL_COUNT; b++)
        if (labels & (1u << b)) json_array_append_new(a, json_string(gaze_head_label_name(1u << b)));
    return a;
}

static const struct gaze_head_metrics * sort_base;
static enum gaze_metric sort_metric;
static int cmp_metric(const void * a, const void * b) {
    double x = sort_base[*(const int64_t *)a].v[sort_metric], y = sort_base[*(const int64_t *)b].v[sort_metric];
    if (isnan(x) != isnan(y)) return isnan(x) ? 1 : -1;   // undefined last
    if (x != y) return x > y ? -1 : 1;                    // descending
    return (*(const int64_t *)a > *(const int64_t *)b) - (*(const int64_t *)a < *(const int64_t *)b);
}

// Table order: by layer, then KV group, then head (the run's order already is, for all heads).
static int cmp_group(const void * a, const void * b) {
    const struct gaze_head_metrics * x = &sort_base[*(const int64_t *)a], * y = &sort_base[*(const int64_t *)b];
    if (x->layer != y->layer) return x->layer < y->layer ? -1 : 1;
    if (x->kv_head != y->kv_head) return x->kv_head < y->kv_head ? -1 : 1;
    return (x->head > y->head) - (x->head < y->head);
}

static void print_table(const struct gaze_run * run, const struct gaze_head_metrics * m, const int64_t * order,
                        int64_t n, bool gqa, bool sorted) {
    printf("%5s %4s%s", "layer", "head", gqa ? "   kv" : "");
    for (int k = 0; k < GAZE_METRIC_COUNT; k++) printf(" %7s", short_names[k]);
    printf("  labels\n");
    int64_t prev_layer = -1, prev_kv = -1;
    for (int64_t r = 0; r < n; r++) {
        const struct gaze_head_metrics * h = &m[order[r]];
        if (!sorted && r > 0 && (h->layer != prev_layer || (gqa && h->kv_head != prev_kv))) printf("\n");
        prev_layer = h->layer;
        prev_kv = h->kv_head;
        printf("%5lld %4lld", (long long)h->layer, (long long)h->head);
        if (gqa) printf(" %4lld", (long long)h->kv_head);
        for (int k = 0; k < GAZE_METRIC_COUNT; k++) { putchar(' '); acli_num(stdout, h->v[k], k <= GAZE_METRIC_ENTROPY || k == GAZE_METRIC_DISTANCE ? 2 : 3, 7, "-"); }
        char lab[256];
        gaze_head_labels_format(h->labels, lab, sizeof lab);
        printf("  %s\n", lab);
    }
    (void)run;
}

static int run_induction(const char * model_path, struct gaze_induction_opts * io, bool exact, enum out_format fmt) {
    struct gaze_model * model = NULL;
    enum gaze_status s = cli_model_load(&model, model_path, "heads", false);
    if (s) return cli_fail(s);
    if (exact && (s = gaze_model_set_exact(model, true))) { gaze_model_free(model); return cli_fail(s); }
    const struct gaze_model_info * info = gaze_model_info(model);
    const int64_t L = info->n_layers, H = info->n_heads, LH = L * H;
    struct cli_progress bar;
    cli_progress_init(&bar, "gaze heads --induction", false);
    io->progress = cli_progress_hook(&bar);
    const int64_t S = io->seq_len > 0 ? io->seq_len : 50, B = io->batch > 0 ? io->batch : 4;
    const uint64_t seed = io->seed ? io->seed : 1;
    double * sc = malloc((size_t)LH * sizeof *sc);
    int32_t * ids = malloc((size_t)(2 * S + 2) * sizeof *ids);
    if (!sc || !ids) { free(sc); free(ids); gaze_model_free(model); fprintf(stderr, "gaze heads: out of memory\n"); return 1; }
    s = gaze_induction_scores_model(model, io, sc, ids);
    cli_progress_clear(&bar);
    int rc = s ? cli_fail(s) : 0;
    const int64_t group = info->n_kv_heads > 0 && H % info->n_kv_heads == 0 ? H / info->n_kv_heads : 1;
    if (!rc) {
        double mx = -1, mean = 0;
        int64_t arg = 0, n5 = 0;
        for (int64_t k = 0; k < LH; k++) { mean += sc[k] / (double)LH; if (sc[k] > mx) { mx = sc[k]; arg = k; } n5 += sc[k] >= 0.5; }
        if (fmt == OUT_JSON) {
            json_t * o = json_object();
            json_object_set_new(o, "model", json_string(info->path));
            json_object_set_new(o, "protocol", json_string("BOS + S random tokens repeated twice; mean of the attention diagonal at offset 1 - S (TransformerLens)"));
            json_object_set_new(o, "seq_len", json_integer(S));
            json_object_set_new(o, "batch", json_integer(B));
            json_object_set_new(o, "seed", json_integer((json_int_t)seed));
            json_object_set_new(o, "n_layers", json_integer(L));
            json_object_set_new(o, "n_heads", json_integer(H));
            json_object_set_new(o, "n_kv_heads", json_integer(info->n_kv_heads));
            json_object_set_new(o, "max", json_real(mx));
            json_object_set_new(o, "max_layer", json_integer(arg / H));
            json_object_set_new(o, "max_head", json_integer(arg % H));
            json_t * g = json_array();
            for (int64_t l = 0; l < L; l++) {
                json_t * row = json_array();
                for (int64_t h = 0; h < H; h++) json_array_append_new(row, json_real(sc[l * H + h]));
                json_array_append_new(g, row);
            }
            json_object_set_new(o, "scores", g);
            json_dumpf(o, stdout, JSON_INDENT(1) | JSON_REAL_PRECISION(6) | JSON_ENSURE_ASCII);
            putchar('\n');
            json_decref(o);
        } else if (fmt == OUT_CSV) {
            printf("layer,head,kv_head,induction\n");
            for (int64_t k = 0; k < LH; k++) printf("%lld,%lld,%lld,%.6f\n", (long long)(k / H), (long long)(k % H), (long long)(k % H / group), sc[k]);
        } else {
            printf("induction scores of %s: BOS + %lld random tokens twice, %lld sequences, seed %llu\n"
                   "(mean attention from each repeated token to the token after its first copy; '*' >= 0.5)\n",
                   cli_safe(info->path), (long long)S, (long long)B, (unsigned long long)seed);
            printf("layer");
            for (int64_t h = 0; h < H; h++) printf("%s  h%-4lld", group > 1 && h > 0 && h % group == 0 ? " |" : "", (long long)h);
            printf("\n");
            for (int64_t l = 0; l < L; l++) {
                printf("%5lld", (long long)l);
                for (int64_t h = 0; h < H; h++) printf("%s %5.3f%c", group > 1 && h > 0 && h % group == 0 ? " |" : "", sc[l * H + h], sc[l * H + h] >= 0.5 ? '*' : ' ');
                printf("\n");
            }
            if (group > 1) printf("(columns grouped by shared KV head, %lld query heads each)\n", (long long)group);
            printf("max %.4f at layer %lld head %lld; mean %.4f; %lld of %lld heads >= 0.5\n", mx,
                   (long long)(arg / H), (long long)(arg % H), mean, (long long)n5, (long long)LH);
        }
    }
    free(sc);
    free(ids);
    gaze_model_free(model);
    return rc;
}

/* ---- image runs: patch geometry ------------------------------------------------------------ */

struct image_report {
    double * dist;                   // [n] mean attention distance (pixels) of each head
    int64_t * top;                   // [n] each head's most attended token
    double * top_w;                  // [n] its mean weight
    struct gaze_image_token * tok;   // [T]
    struct gaze_image_token_summary sum;
};

static void image_report_free(struct image_report * r) {
    free(r->dist); free(r->top); free(r->top_w); free(r->tok);
    memset(r, 0, sizeof *r);
}

// 0, or 1 after saying why
static int image_report_make(const struct gaze_run * run, const struct gaze_image_token_opts * o, struct image_report * r) {
    const int64_t n = run->n_cap_layers * run->n_heads_cap;
    r->dist = malloc((size_t)n * sizeof *r->dist);
    r->top = malloc((size_t)n * sizeof *r->top);
    r->top_w = malloc((size_t)n * sizeof *r->top_w);
    r->tok = malloc((size_t)run->T * sizeof *r->tok);
    if (!r->dist || !r->top || !r->top_w || !r->tok) { fprintf(stderr, "gaze heads: out of memory\n"); return 1; }
    enum gaze_status s = gaze_attention_distance(run, r->dist);
    if (!s) s = gaze_image_head_top_keys(run, r->top, r->top_w);
    if (!s) s = gaze_image_tokens(run, o, r->tok, &r->sum);
    return s ? cli_fail(s) : 0;
}

// "(r,c)" for a patch, the token's name ("[CLS]") otherwise
static const char * token_place(const struct gaze_run * run, int64_t t, char * buf, size_t n) {
    if (t < 0 || t >= run->T) return "-";
    if (run->patch_rc[2 * t] >= 0) snprintf(buf, n, "(%d,%d)", (int)run->patch_rc[2 * t], (int)run->patch_rc[2 * t + 1]);
    else snprintf(buf, n, "%s", cli_safe(run->tokens[t] ? run->tokens[t] : "?"));
    return buf;
}

static json_t * jtoken(const struct gaze_run * run, int64_t t) {
    json_t * e = json_object();
    json_object_set_new(e, "token", json_integer(t));
    json_object_set_new(e, "name", json_string(run->tokens[t] ? run->tokens[t] : ""));
    json_object_set_new(e, "row", json_integer(run->patch_rc[2 * t] >= 0 ? run->patch_rc[2 * t] : -1));
    json_object_set_new(e, "col", json_integer(run->patch_rc[2 * t] >= 0 ? run->patch_rc[2 * t + 1] : -1));
    return e;
}

static json_t * image_json(const struct gaze_run * run, const struct image_report * r) {
    json_t * o = json_object(), * sp = json_array(), * sinks = json_array();
    json_t * g = json_array();
    json_array_append_new(g, json_integer(run->grid_rows));
    json_array_append_new(g, json_integer(run->grid_cols));
    json_array_append_new(g, json_integer(run->patch_size));
    json_object_set_new(o, "grid", g);
    for (int64_t t = 0; t < run->T; t++) {
        const struct gaze_image_token * k = &r->tok[t];
        if (k->row < 0) {   // [CLS], [DIST], registers: named, with what they receive
            json_t * e = jtoken(run, t);
            json_object_set_new(e, "received", jnum(k->received));
            json_object_set_new(e, "received_layer", json_integer(k->layer));
            json_object_set_new(e, "norm", jnum(k->norm));
            if (!strncmp(run->tokens[t], "[REG", 4)) json_object_set_new(e, "sink", json_boolean(k->sink));
            json_array_append_new(sp, e);
        } else if (k->sink) {
            json_t * e = jtoken(run, t);
            json_object_set_new(e, "received", jnum(k->received));
            json_object_set_new(e, "received_layer", json_integer(k->layer));
            json_object_set_new(e, "norm", jnum(k->norm));
            json_array_append_new(sinks, e);
        }
    }
    json_object_set_new(o, "special_tokens", sp);
    json_object_set_new(o, "patches", json_integer(r->sum.n_patches));
    json_object_set_new(o, "median_patch_received", jnum(r->sum.median_received));
    json_object_set_new(o, "median_patch_norm", jnum(r->sum.median_norm));
    json_object_set_new(o, "norm_layer", r->sum.norm_layer >= 0 ? json_integer(r->sum.norm_layer) : json_null());
    json_object_set_new(o, "sink_factor", json_real(r->sum.sink_factor));
    json_object_set_new(o, "norm_factor", json_real(r->sum.norm_factor));
    json_object_set_new(o, "sink_patches", sinks);
    // registers passing the same tests, counted apart (each [REGi] above carries its "sink" flag)
    json_object_set_new(o, "register_sinks", json_integer(r->sum.n_register_sinks));
    return o;
}

static void image_table(const struct gaze_run * run, const struct image_report * r) {
    char b[96];
    printf("image: %lld x %lld patches of %lld px;", (long long)run->grid_rows, (long long)run->grid_cols, (long long)run->patch_size);
    int n_sp = 0;
    for (int64_t t = 0; t < run->T; t++)
        if (r->tok[t].row < 0) printf("%s %s #%lld receives %.3f (layer %lld)", n_sp++ ? "," : " special tokens:",
                                      token_place(run, t, b, sizeof b), (long long)t, r->tok[t].received, (long long)r->tok[t].layer);
    if (!n_sp) printf(" no special tokens");
    printf("\nmean attention distance (px) per layer, mean of heads [min-max]:\n");
    const int64_t Hc = run->n_heads_cap;
    for (int64_t li = 0; li < run->n_cap_layers; li++) {
        double mn = INFINITY, mx = -INFINITY, mean = 0;
        for (int64_t h = 0; h < Hc; h++) { const double d = r->dist[li * Hc + h]; mean += d / (double)Hc; mn = fmin(mn, d); mx = fmax(mx, d); }
        printf("  layer %3lld  %7.2f  [%.2f-%.2f]\n", (long long)run->layers[li].index, mean, mn, mx);
    }
    printf("sink patches (receive >= %.3g x the median patch's %.4f", r->sum.sink_factor, r->sum.median_received);
    if (r->sum.norm_layer >= 0) printf(", hidden norm >= %.3g x the median %.3g at layer %lld", r->sum.norm_factor, r->sum.median_norm,
                                       (long long)r->sum.norm_layer);
    else printf("; no hidden captured: attention only, gaze run --capture attn,hidden adds norms");
    printf("):");
    if (!r->sum.n_sinks) printf(" none");
    for (int64_t t = 0; t < run->T; t++) {
        const struct gaze_image_token * k = &r->tok[t];
        if (!k->sink || k->row < 0) continue;
        printf("\n  %s #%lld receives %.4f (layer %lld)", token_place(run, t, b, sizeof b), (long long)t, k->received, (long long)k->layer);
        if (!isnan(k->norm)) printf(", norm %.3g", k->norm);
    }
    // registers (Darcet et al.): the tokens meant to take the sink role, by the same tests
    int64_t n_reg = 0;
    for (int64_t t = 0; t < run->T; t++) n_reg += r->tok[t].row < 0 && !strncmp(run->tokens[t], "[REG", 4);
    if (n_reg) {
        printf("\nregister tokens acting as sinks (same tests): %lld of %lld", (long long)r->sum.n_register_sinks, (long long)n_reg);
        for (int64_t t = 0; t < run->T; t++)
            if (r->tok[t].sink && r->tok[t].row < 0) printf(" %s", token_place(run, t, b, sizeof b));
    }
    printf("\n");
}

// The layer × head grid of one metric as a terminal heatmap.
static int print_grid(const struct gaze_run * run, const struct gaze_head_metrics * m, enum gaze_metric metric) {
    const int64_t L = run->n_cap_layers, H = run->n_heads_cap;
    double * v = malloc((size_t)(L * H) * sizeof *v);
    int64_t * li = malloc((size_t)L * sizeof *li);
    int rc = 1;
    if (v && li) {
        for (int64_t k = 0; k < L * H; k++) v[k] = m[k].v[metric];
        for (int64_t l = 0; l < L; l++) li[l] = run->layers[l].index;
        char title[128];
        snprintf(title, sizeof title, "%s per head (rows: layers, columns: heads)", gaze_metric_name(metric));
        rc = acli_grid(v, L, H, li, run->heads, title);
    }
    free(v);
    free(li);
    return rc;
}

int cmd_heads(int argc, char ** argv) {
    struct acli_source src = { .cmd = "heads", .images = true };
    struct gaze_detector_opts det = { 0 };
    struct gaze_head_thresholds th = gaze_head_thresholds_default();
    struct gaze_induction_opts io = { 0 };
    struct gaze_image_token_opts img_opts = { 0 };
    struct image_report img;
    memset(&img, 0, sizeof img);
    enum out_format fmt = OUT_TABLE;
    const char * sort_s = NULL, * grid_s = NULL;
    int64_t layer = -1;
    bool induction = false;
    const char * induction_flag = NULL;   // an --induction-only flag given
    for (int i = 1; i < argc; i++) {
        const char * a = argv[i], * v = i + 1 < argc ? argv[i + 1] : NULL;
        int k = acli_source_flag(&src, argc, argv, &i);
        if (k == -2) return 2;
        if (k < 0) return usage(stderr);
        if (k > 0) continue;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) return usage(stdout);
        if (!strcmp(a, "--json")) fmt = OUT_JSON;
        else if (!strcmp(a, "--csv")) fmt = OUT_CSV;
        else if (!strcmp(a, "--induction")) induction = true;
        else if (!strcmp(a, "--exclude-bos")) det.exclude_bos = true;
        else if (!strcmp(a, "--exclude-current")) det.exclude_current_token = true;
        else if (!v && a[0] == '-' && a[1] == '-') { fprintf(stderr, "gaze heads: %s needs a value or is unknown\n", a); return usage(stderr); }
        else if (!strcmp(a, "--error")) {
            if (!strcmp(v, "mul")) det.error = GAZE_DETECTOR_ERROR_MUL;
            else if (!strcmp(v, "abs")) det.error = GAZE_DETECTOR_ERROR_ABS;
            else { fprintf(stderr, "gaze heads: --error is mul or abs\n"); return 2; }
            i++;
        }
        else if (!strcmp(a, "--layer")) { if (cli_int("heads", a, v, 0, GAZE_RUN_MAX_LAYERS - 1, &layer)) return 2; i++; }
        else if (!strcmp(a, "--sort")) { sort_s = v; i++; }
        else if (!strcmp(a, "--grid-plot") && v) { acli_set_grid_figure(v); i++; }
        else if (!strcmp(a, "--grid")) { grid_s = v; i++; }
        else if (!strcmp(a, "--seq-len")) { if (cli_int("heads", a, v, 1, 1 << 20, &io.seq_len)) return 2; induction_flag = a; i++; }
        else if (!strcmp(a, "--batch")) { if (cli_int("heads", a, v, 1, 1 << 20, &io.batch)) return 2; induction_flag = a; i++; }
        else if (!strcmp(a, "--seed")) { if (cli_u64("heads", a, v, &io.seed)) return 2; induction_flag = a; i++; }
        else if (!strcmp(a, "--broad")) { if (cli_double("heads", a, v, 0, 1, 0, &th.broad)) return 2; i++; }
        else if (!strcmp(a, "--positional")) { if (cli_double("heads", a, v, 0, 1, 0, &th.positional)) return 2; i++; }
        else if (!strcmp(a, "--special")) { if (cli_double("heads", a, v, 0, 1, 0, &th.special)) return 2; i++; }
        else if (!strcmp(a, "--sink")) { if (cli_double("heads", a, v, 0, 1, 0, &th.sink)) return 2; i++; }
        else if (!strcmp(a, "--detector")) { if (cli_double("heads", a, v, 0, 1, 0, &th.detector)) return 2; i++; }
        else if (!strcmp(a, "--patch-sink")) { if (cli_double("heads", a, v, 1, 1e6, 0, &img_opts.sink_factor)) return 2; i++; }
        else if (!strcmp(a, "--patch-norm")) { if (cli_double("heads", a, v, 1, 1e6, 0, &img_opts.norm_factor)) return 2; i++; }
        else if (a[0] == '-' && a[1]) { fprintf(stderr, "gaze heads: unknown flag '%s'\n", a); return usage(stderr); }
        else if (!src.src) src.src = a;
        else if (!src.text) src.text = a;
        else { fprintf(stderr, "gaze heads: unexpected argument '%s'\n", a); return usage(stderr); }
    }
    if (!src.src) return usage(stderr);
    if (acli_check_grid("heads", grid_s != NULL, fmt != OUT_TABLE)) return 2;
    int frc = acli_check_grid_figure("heads");
    if (frc) return frc;
    io.n_threads = src.n_threads;
    if (induction) {
        if (src.text || src.text_file) { fprintf(stderr, "gaze heads --induction: takes a model, not text (the prompt is random tokens)\n"); return 2; }
        return run_induction(src.src, &io, src.exact, fmt);
    }
    if (induction_flag) { fprintf(stderr, "gaze heads: %s applies to --induction only\n", induction_flag); return 2; }
    enum gaze_metric sort_m = GAZE_METRIC_ENTROPY, grid_m = GAZE_METRIC_ENTROPY;
    if (sort_s && !gaze_metric_from_name(sort_s, &sort_m)) { fprintf(stderr, "gaze heads: unknown metric '%s'\n", sort_s); return usage(stderr); }
    if (grid_s && !gaze_metric_from_name(grid_s, &grid_m)) { fprintf(stderr, "gaze heads: unknown metric '%s'\n", grid_s); return usage(stderr); }
    int rc = acli_source_text(&src);
    if (rc) return rc;

    struct gaze_run run;
    rc = acli_load_run("heads", &src, &run);
    free(src.text_owned);
    if (rc) return rc;
    const int64_t n = run.n_cap_layers * run.n_heads_cap;
    double * xent = NULL, * xrow = NULL, * xcov = NULL;   // cross runs
    struct gaze_head_metrics * m = calloc((size_t)(n ? n : 1), sizeof *m);
    int64_t * order = malloc((size_t)(n ? n : 1) * sizeof *order);
    if (!m || !order) { fprintf(stderr, "gaze heads: out of memory\n"); rc = 1; goto done; }
    // a run of summaries only (gaze run --summary): the metrics they settle, and a note of the rest
    bool from_summary = run.n_cap_layers > 0;
    for (int64_t k = 0; k < run.n_cap_layers; k++) from_summary &= !run.layers[k].attn && run.layers[k].summary.entropy;
    enum gaze_status s = from_summary ? gaze_head_metrics_from_summary(&run, &th, m)
                                      : gaze_head_metrics_compute(&run, &det, &th, m, src.n_threads);
    if (s) { rc = cli_fail(s); goto done; }
    if (from_summary)
        fprintf(stderr, "gaze heads: %s holds attention summaries, not full weights: entropy (exact, unsmoothed), "
                "entropy_norm, max_weight, sink and bos come from them, self and prev from the top-k keys where "
                "those settle them; distance, next, cls, sep, punct and the detectors need full weights "
                "(gaze run without --summary): shown as -\n", cli_safe(src.src));
    // cross-attention: alignment entropy of each target row and head, coverage of each source token
    const int64_t Ts = run.T_keys;
    if (Ts) {
        xent = malloc((size_t)n * sizeof *xent);
        xrow = malloc((size_t)(n * run.Tq) * sizeof *xrow);
        xcov = malloc((size_t)(n * Ts) * sizeof *xcov);
        if (!xent || !xrow || !xcov) { fprintf(stderr, "gaze heads: out of memory\n"); rc = 1; goto done; }
        if ((s = gaze_cross_entropy(&run, xrow, xent)) || (s = gaze_cross_coverage(&run, xcov))) { rc = cli_fail(s); goto done; }
    }
    if (grid_s) { rc = print_grid(&run, m, grid_m); goto done; }
    const bool image = run.patch_rc && run.grid_rows > 0 && !from_summary;   // patch geometry
    if (image && (rc = image_report_make(&run, &img_opts, &img))) goto done;
    int64_t cnt = 0;
    for (int64_t k = 0; k < n; k++) if (layer < 0 || m[k].layer == layer) order[cnt++] = k;
    if (layer >= 0 && !cnt) { fprintf(stderr, "gaze heads: layer %lld is not in the run\n", (long long)layer); rc = 2; goto done; }
    sort_base = m;
    sort_metric = sort_m;
    qsort(order, (size_t)cnt, sizeof *order, sort_s ? cmp_metric : cmp_group);
    const bool gqa = run.n_kv_heads > 0 && run.n_kv_heads < run.n_heads;
    int64_t n_sink = 0;
    for (int64_t k = 0; k < n; k++) n_sink += (m[k].labels & GAZE_HEAD_LABEL_SINK) != 0;
    const double sink_pct = 100.0 * (double)n_sink / (double)n;   // Gu et al. Sink_0 (this input)

    if (fmt == OUT_JSON) {
        json_t * o = json_object(), * heads = json_array();
        json_object_set_new(o, "model", json_string(run.model ? run.model : ""));
        json_object_set_new(o, "arch", json_string(run.arch ? run.arch : ""));
        json_object_set_new(o, "causal", json_boolean(run.causal));
        json_object_set_new(o, "kind", json_string(Ts ? "cross" : run.causal ? "decoder" : "encoder"));
        if (Ts) {   // cross: the two token lists (rows are target tokens, keys source tokens)
            json_t * st = json_array(), * tt = json_array(), * qr = json_array();
            for (int64_t j = 0; j < Ts; j++) json_array_append_new(st, json_string(run.key_tokens[j]));
            for (int64_t i = 0; i < run.T; i++) json_array_append_new(tt, json_string(run.tokens[i]));
            for (int64_t i = 0; i < run.Tq; i++) json_array_append_new(qr, json_integer(run.q_rows[i]));
            json_object_set_new(o, "source_tokens", st);
            json_object_set_new(o, "target_tokens", tt);
            json_object_set_new(o, "target_rows", qr);
        }
        json_object_set_new(o, "tokens", json_integer(run.T));
        json_object_set_new(o, "n_layers", json_integer(run.n_layers));
        json_object_set_new(o, "n_heads", json_integer(run.n_heads));
        json_object_set_new(o, "n_kv_heads", json_integer(run.n_kv_heads));
        json_t * d = json_object();
        json_object_set_new(d, "error", json_string(det.error == GAZE_DETECTOR_ERROR_ABS ? "abs" : "mul"));
        json_object_set_new(d, "exclude_bos", json_boolean(det.exclude_bos));
        json_object_set_new(d, "exclude_current_token", json_boolean(det.exclude_current_token));
        json_object_set_new(o, "detectors", d);
        json_t * t = json_object();
        json_object_set_new(t, "broad", json_real(th.broad));
        json_object_set_new(t, "positional", json_real(th.positional));
        json_object_set_new(t, "special", json_real(th.special));
        json_object_set_new(t, "sink", json_real(th.sink));
        json_object_set_new(t, "detector", json_real(th.detector));
        json_object_set_new(o, "thresholds", t);
        json_object_set_new(o, "sink_percent", json_real(sink_pct));
        for (int64_t r = 0; r < cnt; r++) {
            const struct gaze_head_metrics * h = &m[order[r]];
            json_t * e = json_object();
            json_object_set_new(e, "layer", json_integer(h->layer));
            json_object_set_new(e, "head", json_integer(h->head));
            json_object_set_new(e, "kv_head", json_integer(h->kv_head));
            for (int k = 0; k < GAZE_METRIC_COUNT; k++) json_object_set_new(e, gaze_metric_name(k), jnum(h->v[k]));
            json_object_set_new(e, "labels", jlabels(h->labels));
            if (image) {
                const int64_t k = order[r];
                json_object_set_new(e, "attention_distance_px", jnum(img.dist[k]));
                if (img.top[k] >= 0) {
                    json_t * tk = jtoken(&run, img.top[k]);
                    json_object_set_new(tk, "weight", jnum(img.top_w[k]));
                    json_object_set_new(e, "top_key", tk);
                }
            }
            if (Ts) {
                const int64_t k = order[r];
                json_t * re = json_array(), * cv = json_array();
                for (int64_t i = 0; i < run.Tq; i++) json_array_append_new(re, jnum(xrow[k * run.Tq + i]));
                for (int64_t j = 0; j < Ts; j++) json_array_append_new(cv, json_real(xcov[k * Ts + j]));
                json_object_set_new(e, "alignment_entropy", jnum(xent[k]));
                json_object_set_new(e, "target_entropy", re);
                json_object_set_new(e, "source_coverage", cv);
            }
            json_array_append_new(heads, e);
        }
        json_object_set_new(o, "heads", heads);
        if (image) json_object_set_new(o, "image", image_json(&run, &img));
        json_dumpf(o, stdout, JSON_INDENT(1) | JSON_REAL_PRECISION(9) | JSON_ENSURE_ASCII);
        putchar('\n');
        json_decref(o);
    } else if (fmt == OUT_CSV) {
        printf("layer,head,kv_head");
        for (int k = 0; k < GAZE_METRIC_COUNT; k++) printf(",%s", gaze_metric_name(k));
        printf(",labels%s\n", image ? ",attention_distance_px,top_key,top_key_row,top_key_col,top_key_weight" : "");
        for (int64_t r = 0; r < cnt; r++) {
            const struct gaze_head_metrics * h = &m[order[r]];
            printf("%lld,%lld,%lld", (long long)h->layer, (long long)h->head, (long long)h->kv_head);
            for (int k = 0; k < GAZE_METRIC_COUNT; k++) { putchar(','); acli_num(stdout, h->v[k], 9, 0, ""); }
            char lab[256];
            gaze_head_labels_format(h->labels, lab, sizeof lab);
            for (char * c = lab; *c; c++) if (*c == ',') *c = ';';
            printf(",%s", lab);
            if (image) {
                const int64_t k = order[r], t = img.top[k];
                printf(",%.9g,%lld,%d,%d,%.9g", img.dist[k], (long long)t, t >= 0 ? (int)run.patch_rc[2 * t] : -1,
                       t >= 0 ? (int)run.patch_rc[2 * t + 1] : -1, img.top_w[k]);
            }
            printf("\n");
        }
    } else {
        printf("%s: %lld tokens, %lld layers x %lld heads%s", run.model ? cli_safe(run.model) : "run", (long long)run.T,
               (long long)run.n_cap_layers, (long long)run.n_heads_cap, run.causal ? ", causal" : "");
        if (gqa) printf(", %lld KV heads (groups of %lld)", (long long)run.n_kv_heads, (long long)(run.n_heads / run.n_kv_heads));
        printf("\ndetectors: %s%s%s\n", det.error == GAZE_DETECTOR_ERROR_ABS ? "abs" : "mul",
               det.exclude_bos ? ", BOS excluded" : "", det.exclude_current_token ? ", current token excluded" : "");
        print_table(&run, m, order, cnt, gqa, sort_s != NULL);
        printf("sink heads (alpha_0 > %.2f): %lld of %lld = %.1f%%\n", th.sink, (long long)n_sink, (long long)n, sink_pct);
        if (image) image_table(&run, &img);
        if (Ts) print_cross(&run, xent, xcov, order, cnt);
    }
done:
    image_report_free(&img);
    free(m);
    free(order);
    free(xent);
    free(xrow);
    free(xcov);
    gaze_run_free(&run);
    return rc;
}
