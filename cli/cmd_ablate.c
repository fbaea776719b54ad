// gaze ablate MODEL "text": causal head importance. Each head in turn is ablated (zero, or its
// mean over the tokens) through the real forward pass; the change in next-token loss (decoders)
// or in the pooled embedding (encoders) ranks the heads.
#include "analysis_cli.h"
#include "progress.h"
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static int usage(FILE * f) {
    fprintf(f,
            "usage: gaze ablate MODEL \"text\" [flags]\n"
            "       gaze ablate MODEL -f FILE|- [flags]\n"
            "  decoders: effect = next-token loss over the input with the head ablated - unablated loss (nats)\n"
            "  encoders: effect = 1 - cosine(pooled embedding with the head ablated, unablated embedding)\n"
            "  -f FILE           read the text from FILE ('-': standard input)\n"
            "  --pair \"B\"        encoders: the second sentence of a pair (default: none)\n"
            "  --mean            replace the head's output by its mean over the tokens (default: by zeros)\n"
            "  --layers 0,2-4    ablate the heads of these layers only (default: every layer)\n"
            "  --top K           heads listed in the table, >= 0 (default: 20)\n"
            "  --json, --csv     every head, machine-readable (default: a table of the top K)\n"
            "  --grid            the effects as a layer x head heatmap\n"
            "  --grid-plot FILE  also draw that grid to FILE (.png, .svg or .pdf)\n"
            "  --exact           quantized models: f32-dequantized weights (default: quantized arithmetic)\n"
            "  --threads N       worker threads (default: 0 = $GAZE_THREADS or one per core)\n");
    return f == stdout ? 0 : 2;
}

static const double * sort_v;
static int cmp_desc(const void * a, const void * b) {
    const double x = sort_v[*(const int64_t *)a], y = sort_v[*(const int64_t *)b];
    if (x != y) return x > y ? -1 : 1;
    return (*(const int64_t *)a > *(const int64_t *)b) - (*(const int64_t *)a < *(const int64_t *)b);
}

int cmd_ablate(int argc, char ** argv) {
    struct acli_source src = { .cmd = "ablate" };
    struct gaze_ablate_opts ao = { 0 };
    int top = 20;
    const char * layers_s = NULL;
    bool json = false, csv = false, grid = false;
    for (int i = 1; i < argc; i++) {
        const char * a = argv[i], * v = i + 1 < argc ? argv[i + 1] : NULL;
        int k = acli_source_flag(&src, argc, argv, &i);
        if (k == -2) return 2;
        if (k < 0) return usage(stderr);
        if (k > 0) continue;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) return usage(stdout);
        if (!strcmp(a, "--json")) json = true;
        else if (!strcmp(a, "--csv")) csv = true;
        else if (!strcmp(a, "--grid-plot") && v) { acli_set_grid_figure(v); i++; }
        else if (!strcmp(a, "--grid")) grid = true;
        else if (!strcmp(a, "--mean")) ao.mean = true;
        else if (!strcmp(a, "--layers")) { if (!v) return usage(stderr); layers_s = v; i++; }
        else if (!strcmp(a, "--top")) { if (cli_int32("ablate", a, v, 0, INT32_MAX, &top)) return 2; i++; }
        else if (a[0] == '-' && a[1]) { fprintf(stderr, "gaze ablate: unknown flag '%s'\n", a); return usage(stderr); }
        else if (!src.src) src.src = a;
        else if (!src.text) src.text = a;
        else { fprintf(stderr, "gaze ablate: unexpected argument '%s'\n", a); return usage(stderr); }
    }
    if (!src.src || (!src.text && !src.text_file)) return usage(stderr);
    if (acli_check_grid("ablate", grid, json || csv)) return 2;
    if (json && csv) { fprintf(stderr, "gaze ablate: --json and --csv are two formats: choose one\n"); return 2; }
    if (acli_no_kind(&src, "ablation masks heads in the model's forward pass and scores its output, every kind at once")) return 2;
    if (acli_source_text(&src)) return 2;
    int frc = acli_check_grid_figure("ablate");
    if (frc) return frc;
    ao.n_threads = src.n_threads;
    struct cli_progress bar;
    cli_progress_init(&bar, "gaze ablate", false);
    ao.progress = cli_progress_hook(&bar);

    struct gaze_model * model = NULL;
    enum gaze_status s = cli_model_load(&model, src.src, "ablate", false);
    if (s) { free(src.text_owned); return cli_fail(s); }
    int rc = 0;
    if (src.exact && (s = gaze_model_set_exact(model, true))) { rc = cli_fail(s); gaze_model_free(model); free(src.text_owned); return rc; }
    const struct gaze_model_info * info = gaze_model_info(model);
    const int64_t L = info->n_layers, H = info->n_heads, n = L * H;
    const int64_t group = info->n_kv_heads > 0 && H % info->n_kv_heads == 0 ? H / info->n_kv_heads : 1;
    double * eff = malloc((size_t)n * sizeof *eff), base = 0;
    int64_t * order = malloc((size_t)n * sizeof *order), * layers = NULL;
    if (!eff || !order) { fprintf(stderr, "gaze ablate: out of memory\n"); rc = 1; goto done; }
    if (layers_s && (rc = cli_parse_index_list("--layers", layers_s, L, &layers, &ao.n_layers))) goto done;
    ao.layers = layers;
    s = gaze_ablate_heads(model, src.text, src.pair, &ao, &base, eff);
    cli_progress_clear(&bar);
    if (s) { rc = cli_fail(s); goto done; }
    int64_t n_done = 0;   // ablated heads first, by effect; heads outside --layers are left out
    for (int64_t k = 0; k < n; k++) if (!isnan(eff[k])) order[n_done++] = k;
    sort_v = eff;
    qsort(order, (size_t)n_done, sizeof *order, cmp_desc);
    const char * what = info->causal ? "next-token loss change (nats)" : "1 - cosine of the pooled embedding";
    if (json) {
        json_t * o = json_object(), * heads = json_array();
        json_object_set_new(o, "model", json_string(info->path));
        json_object_set_new(o, "ablation", json_string(ao.mean ? "mean" : "zero"));
        json_object_set_new(o, "measure", json_string(what));
        if (info->causal) json_object_set_new(o, "baseline_loss", json_real(base));
        for (int64_t r = 0; r < n_done; r++) {
            const int64_t k = order[r];
            json_t * e = json_object();
            json_object_set_new(e, "rank", json_integer(r + 1));
            json_object_set_new(e, "layer", json_integer(k / H));
            json_object_set_new(e, "head", json_integer(k % H));
            json_object_set_new(e, "kv_head", json_integer(k % H / group));
            json_object_set_new(e, "effect", json_real(eff[k]));
            json_array_append_new(heads, e);
        }
        json_object_set_new(o, "heads", heads);
        json_dumpf(o, stdout, JSON_INDENT(1) | JSON_REAL_PRECISION(9) | JSON_ENSURE_ASCII);
        putchar('\n');
        json_decref(o);
    } else if (csv) {
        printf("rank,layer,head,kv_head,effect\n");
        for (int64_t r = 0; r < n_done; r++)
            printf("%lld,%lld,%lld,%lld,%.9g\n", (long long)(r + 1), (long long)(order[r] / H), (long long)(order[r] % H),
                   (long long)(order[r] % H / group), eff[order[r]]);
    } else if (grid) {
        char title[160];
        snprintf(title, sizeof title, "%s ablation: %s (rows: layers, columns: heads)", ao.mean ? "mean" : "zero", what);
        rc = acli_grid(eff, L, H, NULL, NULL, title);
    } else {
        printf("%s: %s ablation of each of %lld heads; effect = %s", cli_safe(info->path), ao.mean ? "mean" : "zero", (long long)n_done, what);
        if (info->causal) printf("; unablated loss %.4f nats", base);
        printf("\n%5s %5s %4s%s %12s\n", "rank", "layer", "head", group > 1 ? "   kv" : "", "effect");
        for (int64_t r = 0; r < n_done && r < top; r++) {
            printf("%5lld %5lld %4lld", (long long)(r + 1), (long long)(order[r] / H), (long long)(order[r] % H));
            if (group > 1) printf(" %4lld", (long long)(order[r] % H / group));
            printf(" %12.6f\n", eff[order[r]]);
        }
        if (n_done > top) printf("(%lld more; --top N, --csv for all)\n", (long long)(n_done - top));
    }
done:
    free(eff);
    free(order);
    free(layers);
    free(src.text_owned);
    gaze_model_free(model);
    return rc;
}
