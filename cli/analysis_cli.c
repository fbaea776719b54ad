// Helpers of the analysis commands: the run to analyse, token labels, per-token bars.
#include "analysis_cli.h"
#include "progress.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>
#include <sys/stat.h>
#include <jansson.h>

int acli_source_flag(struct acli_source * s, int argc, char ** argv, int * i) {
    const char * a = argv[*i], * v = *i + 1 < argc ? argv[*i + 1] : NULL;
    if (!strcmp(a, "--exact")) { s->exact = true; return 1; }
    if (!strcmp(a, "--pair")) { if (!v) return -1; s->pair = v; (*i)++; return 1; }
    if (!strcmp(a, "--threads")) {
        if (cli_int32(s->cmd, a, v, 0, 4096, &s->n_threads)) return -2;
        (*i)++;
        return 1;
    }
    if (!strcmp(a, "--kind")) {
        if (cli_parse_kind(s->cmd, v, &s->kind)) return -2;
        s->kind_given = true;
        (*i)++;
        return 1;
    }
    if (!strcmp(a, "--image-size") && s->images) {
        if (cli_image_size(s->cmd, v, &s->image_w, &s->image_h)) return -2;
        (*i)++;
        return 1;
    }
    if (!strcmp(a, "-f") && !s->no_file) { if (!v) return -1; s->text_file = v; (*i)++; return 1; }
    return 0;
}

int acli_source_text(struct acli_source * s) {
    return cli_text_source(s->cmd, s->text_file, &s->text, &s->text_owned);
}

bool acli_is_run_file(const char * path) { return cli_is_run_file(path); }

int acli_no_kind(const struct acli_source * s, const char * why) {
    if (!s->kind_given) return 0;
    fprintf(stderr, "gaze %s: --kind %s does not apply: %s\n", s->cmd, gaze_kind_name((enum gaze_kind)s->kind), why);
    return 2;
}

int acli_load_run(const char * cmd, const struct acli_source * s, struct gaze_run * run) {
    enum gaze_status st;
    gaze_run_init(run);
    if (!s->text && (s->pair || s->exact)) {
        fprintf(stderr, "gaze %s: %s applies to a model run (MODEL \"text\"), not to a saved run\n", cmd,
                s->pair ? "--pair" : "--exact");
        return 2;
    }
    if (!s->text && cli_image_size_applies(cmd, s->image_w, false)) return 2;
    if (!s->text) {
        int rc = cli_need_run_file(cmd, s->src);
        if (rc) return rc;
        if ((st = gaze_run_load(run, s->src))) return cli_fail(st);
        return cli_select_kind(cmd, run, s->kind_given ? s->kind : -1, false);
    }
    struct gaze_model * model = NULL;
    if ((st = cli_model_load(&model, s->src, cmd, false))) return cli_fail(st);
    if (s->exact && (st = gaze_model_set_exact(model, true))) { gaze_model_free(model); return cli_fail(st); }
    struct gaze_run_opts opts = { 0 };
    opts.n_threads = s->n_threads;
    // vision models take an image file where text models take text (as gaze run)
    const bool vision = gaze_model_info(model)->vision, image = cli_is_image_path(s->text);
    if (cli_image_size_applies(cmd, s->image_w, image)) { gaze_model_free(model); return 2; }
    opts.image_w = s->image_w;
    opts.image_h = s->image_h;
    if (vision != image || (image && s->pair)) {
        fprintf(stderr, "gaze %s: %s\n", cmd, image && s->pair ? "--pair is for text; an image gives one token per patch"
                : vision ? "a vision model: give it a PNG or JPEG image file" : "this model takes text, not an image");
        gaze_model_free(model);
        return 2;
    }
    if (image) {
        // heads reports high-norm sink patches (Darcet et al. 2024): it needs the hidden states
        if (!strcmp(cmd, "heads")) opts.parts = GAZE_RUN_PART_ATTN | GAZE_RUN_PART_HIDDEN;
        st = cli_run_image(model, s->text, &opts, run, true);
    } else st = gaze_model_run(model, s->text, s->pair, &opts, run);
    gaze_model_free(model);
    if (st) return cli_fail(st);
    return cli_select_kind(cmd, run, s->kind_given ? s->kind : -1, false);
}

int acli_need_full_run(const char * cmd, const struct gaze_run * run) {
    if (run->n_cap_layers < 1 || run->n_heads_cap < 1) {
        fprintf(stderr, "gaze %s: the run holds no captured attention; make it with gaze run MODEL \"text\" -o FILE\n", cmd);
        return 2;
    }
    if (run->T_keys) {
        fprintf(stderr, "gaze %s: not defined over cross attention (--kind cross): its rows are target tokens and its "
                "keys source tokens, so attention does not chain from layer to layer; use --kind encoder or --kind "
                "decoder\n", cmd);
        return 2;
    }
    if (run->Tq != run->T) {
        fprintf(stderr, "gaze %s: needs the attention of every query row, and this run holds %lld of its %lld rows; "
                "run the model again capturing every row (or give MODEL \"text\")\n", cmd, (long long)run->Tq, (long long)run->T);
        return 2;
    }
    // Fewer layers is a rollout to an earlier depth (the viewer draws those too), or one that
    // skips layers: computed, but never silently.
    bool all = run->n_cap_layers == run->n_layers;
    for (int64_t l = 0; all && l < run->n_cap_layers; l++) all = run->layers[l].index == l;
    if (!all) {
        fprintf(stderr, "gaze %s: note: the run holds %lld of %lld layers (", cmd, (long long)run->n_cap_layers,
                (long long)run->n_layers);
        for (int64_t l = 0; l < run->n_cap_layers; l++) fprintf(stderr, "%s%lld", l ? " " : "", (long long)run->layers[l].index);
        fprintf(stderr, "): the result goes through those only; for every layer run the model again without --layers\n");
    }
    if (run->n_heads_cap < run->n_heads)
        fprintf(stderr, "gaze %s: note: the run holds %lld of %lld heads; heads are fused over those only\n", cmd,
                (long long)run->n_heads_cap, (long long)run->n_heads);
    return 0;
}

void acli_label(FILE * f, const char * s, int width) {
    const bool pad = width >= 0;
    if (!pad) width = -width;
    if (width == 0) return;
    char buf[256];
    int cols = gaze_token_display(buf, sizeof buf, s, width);
    fputs(buf, f);
    for (; pad && cols < width; cols++) fputc(' ', f);
}

void acli_bars(FILE * f, const double * v, int64_t T, const char * const * labels, int64_t mark,
               int width, bool ascii) {
    static const char * const eighth[8] = { "", "\xe2\x96\x8f", "\xe2\x96\x8e", "\xe2\x96\x8d",
                                            "\xe2\x96\x8c", "\xe2\x96\x8b", "\xe2\x96\x8a", "\xe2\x96\x89" };
    double mx = 0;
    for (int64_t t = 0; t < T; t++) if (v[t] > mx) mx = v[t];
    for (int64_t t = 0; t < T; t++) {
        fprintf(f, "%c%5lld ", t == mark ? '>' : ' ', (long long)t);
        acli_label(f, labels ? labels[t] : "", 14);
        fputc(' ', f);
        const long units = mx > 0 && v[t] > 0 ? lround(v[t] / mx * width * 8) : 0;
        int cols = 0;
        for (long u = 0; u + 8 <= units; u += 8, cols++) fputs(ascii ? "#" : "\xe2\x96\x88", f);
        if (units % 8) { fputs(ascii ? "+" : eighth[units % 8], f); cols++; }
        for (; cols < width; cols++) fputc(' ', f);
        fputc(' ', f);
        acli_value(f, v[t]);
        fputc('\n', f);
    }
}

void acli_value(FILE * f, double v) {
    if (v == 0) fputs("0", f);
    else if (fabs(v) < 1e-3) fprintf(f, "%.3e", v);
    else fprintf(f, "%.4f", v);
}

double acli_sink_collapse(const double * v, int64_t T, int64_t tok) {
    if (T < 2 || tok == 0) return 0;
    double sum = 0;
    for (int64_t j = 0; j < T; j++) sum += v[j];
    return sum > 0 && v[0] / sum >= ACLI_SINK_COLLAPSE ? v[0] / sum : 0;
}

void acli_num(FILE * f, double v, int prec, int width, const char * nan_text) {
    if (isnan(v)) fprintf(f, "%*s", width, nan_text);
    else fprintf(f, "%*.*f", width, prec, v);
}

bool acli_parse_fusion(const char * v, enum gaze_head_fusion * f) {
    if (!strcmp(v, "mean")) *f = GAZE_HEAD_FUSION_MEAN;
    else if (!strcmp(v, "max")) *f = GAZE_HEAD_FUSION_MAX;
    else if (!strcmp(v, "min")) *f = GAZE_HEAD_FUSION_MIN;
    else return false;
    return true;
}

const char * acli_fusion_name(enum gaze_head_fusion f) {
    return f == GAZE_HEAD_FUSION_MAX ? "max" : f == GAZE_HEAD_FUSION_MIN ? "min" : "mean";
}

int acli_parse_token(const char * cmd, const struct gaze_run * run, const char * s, int64_t * tok) {
    const int64_t T = run->T;
    *tok = run->causal ? T - 1 : 0;
    if (!s) return 0;
    if (!strcmp(s, "last")) { *tok = T - 1; return 0; }
    if (!strcmp(s, "first") || !strcmp(s, "cls")) { *tok = 0; return 0; }
    if (cli_int(cmd, "--token", s, 0, T - 1, tok)) {
        fprintf(stderr, "gaze %s: --token takes a token index of this run, first (= cls) or last\n", cmd);
        return 2;
    }
    return 0;
}

static const char * g_grid_figure;   // --grid-plot PATH: the grid also goes to a figure

void acli_set_grid_figure(const char * path) { g_grid_figure = path; }
int acli_check_grid_figure(const char * cmd) { return cli_figure_check(cmd, g_grid_figure); }

int acli_check_grid(const char * cmd, bool grid, bool machine) {
    if (g_grid_figure && !grid) {
        fprintf(stderr, "gaze %s: --grid-plot draws the --grid: give --grid too\n", cmd);
        return 2;
    }
    if (grid && machine) {
        fprintf(stderr, "gaze %s: --grid is a terminal heatmap, --json/--csv a table for scripts: choose one\n", cmd);
        return 2;
    }
    return 0;
}

int acli_grid(const double * v, int64_t L, int64_t H, const int64_t * layers, const int64_t * heads,
              const char * title) {
    float * g = malloc((size_t)(L * H) * sizeof *g);
    char (*lab)[16] = malloc((size_t)(L + H) * sizeof *lab);
    const char ** lp = malloc((size_t)(L + H) * sizeof *lp);
    int rc = 0;
    if (!g || !lab || !lp) { fprintf(stderr, "gaze: out of memory\n"); rc = 1; goto done; }
    for (int64_t k = 0; k < L * H; k++) g[k] = isnan(v[k]) ? 0.0f : (float)v[k];
    for (int64_t l = 0; l < L; l++) { snprintf(lab[l], 16, "L%lld", (long long)(layers ? layers[l] : l)); lp[l] = lab[l]; }
    for (int64_t h = 0; h < H; h++) { snprintf(lab[L + h], 16, "h%lld", (long long)(heads ? heads[h] : h)); lp[L + h] = lab[L + h]; }
    struct gaze_term_opts to = { 0 };
    to.title = title;
    to.max_rows = (int)(L > 64 ? 64 : L);
    enum gaze_status s = gaze_term_heatmap(stdout, g, L, H, lp, lp + L, &to);
    if (s) rc = cli_fail(s);
    if (!rc && g_grid_figure) {
        for (int64_t k = 0; k < L * H; k++) g[k] = (float)v[k];   // NaN (undefined) cells drawn grey
        if ((s = gaze_plot_grid(g, L, H, "layer", "head", title, GAZE_PALETTE_VIRIDIS, g_grid_figure))) rc = cli_fail(s);
        else printf("grid figure -> %s\n", cli_safe(g_grid_figure));
    }
done:
    free(g);
    free(lab);
    free(lp);
    return rc;
}

int acli_print_stats(const struct gaze_head_stats * st, enum acli_format fmt, int grid,
                     const struct gaze_head_thresholds * th) {
    const int64_t L = st->n_layers, H = st->n_heads;
    if (grid >= 0) {
        double * v = malloc((size_t)(L * H) * sizeof *v);
        if (!v) return 1;
        for (int64_t k = 0; k < L * H; k++) v[k] = gaze_head_stats_mean(st, k / H, k % H, (enum gaze_metric)grid);
        char title[160];
        snprintf(title, sizeof title, "mean %s over %lld documents (rows: layers, columns: heads)",
                 gaze_metric_name((enum gaze_metric)grid), (long long)st->n_docs);
        int rc = acli_grid(v, L, H, NULL, NULL, title);
        free(v);
        return rc;
    }
    const int64_t group = st->n_kv_heads > 0 && H % st->n_kv_heads == 0 ? H / st->n_kv_heads : 1;
    if (fmt == ACLI_FORMAT_CSV) {
        printf("layer,head,kv_head");
        for (int m = 0; m < GAZE_METRIC_COUNT; m++) printf(",%s,%s_std,%s_n", gaze_metric_name(m), gaze_metric_name(m), gaze_metric_name(m));
        printf("\n");
        for (int64_t k = 0; k < L * H; k++) {
            printf("%lld,%lld,%lld", (long long)(k / H), (long long)(k % H), (long long)(k % H / group));
            for (int m = 0; m < GAZE_METRIC_COUNT; m++) {
                putchar(','); acli_num(stdout, gaze_head_stats_mean(st, k / H, k % H, m), 9, 0, "");
                putchar(','); acli_num(stdout, gaze_head_stats_std(st, k / H, k % H, m), 9, 0, "");
                printf(",%lld", (long long)st->count[k * GAZE_METRIC_COUNT + m]);
            }
            printf("\n");
        }
        return 0;
    }
    if (fmt == ACLI_FORMAT_JSON) {
        json_t * o = json_object(), * heads = json_array();
        json_object_set_new(o, "model", json_string(st->model ? st->model : ""));
        json_object_set_new(o, "source", json_string(st->source ? st->source : ""));
        json_object_set_new(o, "n_docs", json_integer(st->n_docs));
        json_object_set_new(o, "n_tokens", json_integer(st->n_tokens));
        json_object_set_new(o, "complete", json_boolean(st->complete));
        for (int64_t k = 0; k < L * H; k++) {
            json_t * e = json_object(), * mean = json_object(), * sd = json_object();
            double v[GAZE_METRIC_COUNT];
            json_object_set_new(e, "layer", json_integer(k / H));
            json_object_set_new(e, "head", json_integer(k % H));
            json_object_set_new(e, "kv_head", json_integer(k % H / group));
            for (int m = 0; m < GAZE_METRIC_COUNT; m++) {
                v[m] = gaze_head_stats_mean(st, k / H, k % H, m);
                double s = gaze_head_stats_std(st, k / H, k % H, m);
                json_object_set_new(mean, gaze_metric_name(m), isnan(v[m]) ? json_null() : json_real(v[m]));
                json_object_set_new(sd, gaze_metric_name(m), isnan(s) ? json_null() : json_real(s));
            }
            json_object_set_new(e, "mean", mean);
            json_object_set_new(e, "std", sd);
            json_t * labels = json_array();
            unsigned lb = gaze_head_labels(v, th);
            for (int b = 0; b < GAZE_HEAD_LABEL_COUNT; b++)
                if (lb & (1u << b)) json_array_append_new(labels, json_string(gaze_head_label_name(1u << b)));
            json_object_set_new(e, "labels", labels);
            json_array_append_new(heads, e);
        }
        json_object_set_new(o, "heads", heads);
        json_dumpf(o, stdout, JSON_INDENT(1) | JSON_REAL_PRECISION(9) | JSON_ENSURE_ASCII);
        putchar('\n');
        json_decref(o);
        return 0;
    }
    static const enum gaze_metric shown[] = { GAZE_METRIC_ENTROPY, GAZE_METRIC_ENTROPY_NORM, GAZE_METRIC_MAX_WEIGHT,
                                              GAZE_METRIC_DISTANCE, GAZE_METRIC_PREV, GAZE_METRIC_SINK,
                                              GAZE_METRIC_PUNCT, GAZE_METRIC_DET_DUP, GAZE_METRIC_DET_IND };
    const int n_shown = (int)(sizeof shown / sizeof shown[0]);
    printf("%s: %lld documents, %lld tokens%s (mean ± std over documents; labels from the means)\n",
           st->model ? cli_safe(st->model) : "model", (long long)st->n_docs, (long long)st->n_tokens, st->complete ? "" : ", INCOMPLETE");
    printf("%5s %4s%s", "layer", "head", group > 1 ? "   kv" : "");
    for (int i = 0; i < n_shown; i++) printf(" %14s", gaze_metric_name(shown[i]));
    printf("  labels\n");
    for (int64_t k = 0; k < L * H; k++) {
        if (k > 0 && (k % H == 0 || (group > 1 && k % group == 0))) printf("\n");
        printf("%5lld %4lld", (long long)(k / H), (long long)(k % H));
        if (group > 1) printf(" %4lld", (long long)(k % H / group));
        double v[GAZE_METRIC_COUNT];
        for (int m = 0; m < GAZE_METRIC_COUNT; m++) v[m] = gaze_head_stats_mean(st, k / H, k % H, m);
        for (int i = 0; i < n_shown; i++) {
            double sd = gaze_head_stats_std(st, k / H, k % H, shown[i]);
            if (isnan(v[shown[i]])) printf(" %14s", "-");
            else if (isnan(sd)) printf(" %7.3f       ", v[shown[i]]);
            else printf(" %7.3f±%-6.3f", v[shown[i]], sd);
        }
        char lab[256];
        gaze_head_labels_format(gaze_head_labels(v, th), lab, sizeof lab);
        printf("  %s\n", lab);
    }
    return 0;
}
