// gaze bias MODEL pairs.jsonl: per-head attention (or value-norm) mass on a marked span, compared
// between each text and its counterfactual (one word swapped), with bootstrap intervals over the
// pairs, sign-flip permutation p-values and Benjamini-Hochberg q-values across the heads.
#include "analysis_cli.h"
#include "progress.h"
#include "core/core.h"
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static int usage(FILE * f) {
    fprintf(f,
            "usage: gaze bias MODEL PAIRS.jsonl [flags]\n"
            "  PAIRS.jsonl      one pair a line: {\"text\": \"...\", \"evidence\": [[begin, end]], \"counterfactual\":\n"
            "                   {\"text\": \"...\", \"evidence\": [[begin, end]]}} (byte spans of the swapped words);\n"
            "                   data/bias/occupation_pronouns.jsonl is an example; docs/bias.md\n"
            "  --method attention|value-norm  per-head mass on the span: attention weights, or each row's share\n"
            "                   of ‖α f(x)‖ (default: attention)\n"
            "  --bootstrap B    resamples of the pairs for the intervals and sign flips for the p-values,\n"
            "                   100..1000000 (default: 2000)\n"
            "  --alpha A        1 - A intervals and the false discovery rate A, in (0, 0.5] (default: 0.05)\n"
            "  --seed S         random stream (default: 1)\n"
            "  --top N          heads listed, by |mean difference| (default: 10; 0 = every head)\n"
            "  --grid           a layer x head terminal grid of |mean difference|\n"
            "  --grid-plot FILE also draw the grid (signed mean difference) to FILE (.png, .svg or .pdf)\n"
            "  --exact          quantized models: f32-dequantized weights (default: quantized arithmetic)\n"
            "  --json           machine-readable output (default: a table)\n"
            "  --threads N      worker threads (default: 0 = $GAZE_THREADS or one per core)\n"
            "  mass: decoders the last token's row, encoders the mean over rows, summed over the span's tokens;\n"
            "  difference = text - counterfactual, per pair.\n");
    return f == stdout ? 0 : 2;
}

// mass [L·H] of text on the tokens overlapping spans
static enum gaze_status span_mass(struct gaze_model * model, const char * text, const int64_t * spans, int64_t n_spans,
                                  bool vnorm, int n_threads, double * mass) {
    const struct gaze_model_info * info = gaze_model_info(model);
    const int64_t L = info->n_layers, H = info->n_heads;
    struct gaze_attrib a = { .want = vnorm ? GAZE_ATTRIB_VNORM : 0 };
    struct gaze_run_opts o = { .n_threads = n_threads, .no_capture = vnorm, .attrib = vnorm ? &a : NULL };
    struct gaze_run run;
    enum gaze_status s = gaze_model_run(model, text, NULL, &o, &run);
    if (s) { gaze_attrib_free(&a); return s; }
    const int64_t T = run.T;
    uint8_t * in = calloc((size_t)T, 1);
    if (!in) s = gaze_error(GAZE_ERR_NOMEM, "bias: out of memory");
    int64_t n_in = 0;
    for (int64_t j = 0; !s && j < T; j++) {
        const int64_t b = run.offsets[2 * j], e = run.offsets[2 * j + 1];
        for (int64_t q = 0; e > b && q < n_spans && !in[j]; q++) in[j] = b < spans[2 * q + 1] && spans[2 * q] < e;
        n_in += in[j];
    }
    if (!s && n_in == 0) s = gaze_error(GAZE_ERR_INVALID_ARG, "bias: no token of \"%s\" lies in its evidence span", text);
    if (!s && vnorm && !a.vnorm_heads) s = gaze_error(GAZE_ERR_UNSUPPORTED, "bias: the model gave no value-norm");
    const int64_t r0 = info->causal ? T - 1 : 0, r1 = T;   // rows: the last (decoders) or all
    for (int64_t l = 0; !s && l < L; l++)
        for (int64_t h = 0; h < H; h++) {
            const float * w = vnorm ? a.vnorm_heads + (l * H + h) * T * T : gaze_run_find_layer(&run, l)->attn + h * T * T;
            double acc = 0;
            for (int64_t i = r0; i < r1; i++) {
                double row = 0, on = 0;
                for (int64_t j = 0; j < T; j++) { row += w[i * T + j]; on += in[j] ? w[i * T + j] : 0; }
                acc += row > 0 ? on / row : 0;   // attention rows sum to 1; value-norm rows become shares
            }
            mass[l * H + h] = acc / (double)(r1 - r0);
        }
    free(in);
    gaze_attrib_free(&a);
    gaze_run_free(&run);
    return s;
}

struct ranked { double v; int64_t k; };
static int cmp_ranked(const void * a, const void * b) {
    const struct ranked * x = a, * y = b;
    if (x->v != y->v) return x->v > y->v ? -1 : 1;
    return (x->k > y->k) - (x->k < y->k);
}

int cmd_bias(int argc, char ** argv) {
    struct acli_source src = { .cmd = "bias", .no_file = true };
    const char * data = NULL, * grid_plot = NULL;
    bool json = false, grid = false, vnorm = false;
    int64_t B = 2000, top = 10, seed = 1;
    double alpha = 0.05;
    for (int i = 1; i < argc; i++) {
        const char * a = argv[i], * v = i + 1 < argc ? argv[i + 1] : NULL;
        int k = acli_source_flag(&src, argc, argv, &i);
        if (k == -2) return 2;
        if (k < 0) return usage(stderr);
        if (k > 0) continue;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) return usage(stdout);
        if (!strcmp(a, "--json")) json = true;
        else if (!strcmp(a, "--grid")) grid = true;
        else if (!strcmp(a, "--grid-plot")) { if (!v) return usage(stderr); grid_plot = v; i++; }
        else if (!strcmp(a, "--method")) {
            if (!v || (strcmp(v, "attention") && strcmp(v, "value-norm"))) {
                fprintf(stderr, "gaze bias: --method: '%s' is not attention or value-norm\n", v ? cli_safe(v) : "");
                return 2;
            }
            vnorm = !strcmp(v, "value-norm");
            i++;
        }
        else if (!strcmp(a, "--bootstrap")) { if (cli_int("bias", a, v, 100, 1000000, &B)) return 2; i++; }
        else if (!strcmp(a, "--top")) { if (cli_int("bias", a, v, 0, INT64_MAX, &top)) return 2; i++; }
        else if (!strcmp(a, "--seed")) { if (cli_int("bias", a, v, 0, INT64_MAX, &seed)) return 2; i++; }
        else if (!strcmp(a, "--alpha")) { if (cli_double("bias", a, v, 0, 0.5, CLI_OPEN_LO, &alpha)) return 2; i++; }
        else if (a[0] == '-' && a[1]) { fprintf(stderr, "gaze bias: unknown flag '%s'\n", cli_safe(a)); return usage(stderr); }
        else if (!src.src) src.src = a;
        else if (!data) data = a;
        else { fprintf(stderr, "gaze bias: unexpected argument '%s'\n", cli_safe(a)); return usage(stderr); }
    }
    if (acli_no_kind(&src, "gaze bias reads no run file: it runs the model on the pairs of its data file")) return 2;
    if (!src.src || !data) return usage(stderr);
    if (src.pair) { fprintf(stderr, "gaze bias: --pair does not apply (the pairs come from the file)\n"); return 2; }
    acli_set_grid_figure(grid_plot);
    int rc = acli_check_grid("bias", grid, json);
    if (rc || (rc = acli_check_grid_figure("bias"))) return rc;
    char * text = NULL;
    if ((rc = cli_read_text("bias", data, &text))) return rc;
    struct gaze_evidence ev;
    enum gaze_status s = gaze_evidence_parse(&ev, text, strlen(text), cli_safe(data));
    free(text);
    if (s == GAZE_ERR_FORMAT) { fprintf(stderr, "gaze bias: %s\n", gaze_last_error()); return 2; }
    if (s) return cli_fail(s);
    for (int64_t i = 0; i < ev.n; i++)
        if (!ev.items[i].cf_text || !ev.items[i].n_spans || !ev.items[i].n_cf_spans) {
            fprintf(stderr, "gaze bias: %s:%lld: a pair needs \"evidence\" and a \"counterfactual\" with its own \"evidence\"\n",
                    cli_safe(data), (long long)ev.items[i].line);
            gaze_evidence_free(&ev);
            return 2;
        }
    struct gaze_model * model = NULL;
    if ((s = cli_model_load(&model, src.src, "bias", false))) { gaze_evidence_free(&ev); return cli_fail(s); }
    if (src.exact && (s = gaze_model_set_exact(model, true))) { rc = cli_fail(s); goto out_model; }
    const struct gaze_model_info * info = gaze_model_info(model);
    const int64_t L = info->n_layers, H = info->n_heads, K = L * H, N = ev.n;
    double * d = malloc((size_t)(N * K) * sizeof *d), * mb = malloc((size_t)K * sizeof *mb);
    struct gaze_paired_stats st = { 0 };
    if (!d || !mb) { fprintf(stderr, "gaze bias: out of memory\n"); rc = 1; goto out; }
    const double t0 = cli_now();
    for (int64_t i = 0; i < N && !s; i++) {
        const struct gaze_evidence_item * it = &ev.items[i];
        s = span_mass(model, it->text, it->spans, it->n_spans, vnorm, src.n_threads, d + i * K);
        if (!s) s = span_mass(model, it->cf_text, it->cf_spans, it->n_cf_spans, vnorm, src.n_threads, mb);
        for (int64_t k = 0; !s && k < K; k++) d[i * K + k] -= mb[k];
    }
    if (s == GAZE_ERR_UNSUPPORTED || s == GAZE_ERR_INVALID_ARG) { rc = cli_fail_cmd("bias", 2); goto out; }
    if (s || (s = gaze_paired_stats_compute(d, N, K, B, alpha, (uint64_t)seed, &st))) { rc = cli_fail(s); goto out; }
    struct ranked * r = malloc((size_t)K * sizeof *r);
    if (!r) { rc = 1; goto out; }
    int64_t n_sig = 0;
    for (int64_t k = 0; k < K; k++) { r[k] = (struct ranked){ fabs(st.mean[k]), k }; n_sig += st.q[k] <= alpha; }
    qsort(r, (size_t)K, sizeof *r, cmp_ranked);
    const int64_t shown = top == 0 || top > K ? K : top;
    const char * what = vnorm ? "value-norm share" : "attention mass";
    if (json) {
        json_t * o = json_object(), * heads = json_array();
        json_object_set_new(o, "model", json_string(src.src));
        json_object_set_new(o, "pairs", json_integer(N));
        json_object_set_new(o, "method", json_string(vnorm ? "value-norm" : "attention"));
        json_object_set_new(o, "bootstrap", json_integer(B));
        json_object_set_new(o, "alpha", json_real(alpha));
        json_object_set_new(o, "significant", json_integer(n_sig));
        for (int64_t k = 0; k < K; k++) {
            json_t * h = json_object();
            json_object_set_new(h, "layer", json_integer(k / H));
            json_object_set_new(h, "head", json_integer(k % H));
            json_object_set_new(h, "mean", json_real(st.mean[k]));
            json_object_set_new(h, "lo", json_real(st.lo[k]));
            json_object_set_new(h, "hi", json_real(st.hi[k]));
            json_object_set_new(h, "p", json_real(st.p[k]));
            json_object_set_new(h, "q", json_real(st.q[k]));
            json_array_append_new(heads, h);
        }
        json_object_set_new(o, "heads", heads);
        json_dumpf(o, stdout, JSON_COMPACT | JSON_REAL_PRECISION(9) | JSON_ENSURE_ASCII);
        putchar('\n');
        json_decref(o);
    } else {
        printf("%lld pairs of %s on %s: %s on the swapped span, text - counterfactual, per head\n", (long long)N,
               cli_safe(data), cli_safe(src.src), what);
        printf("%lld of %lld heads differ at false discovery rate %g (Benjamini-Hochberg over sign-flip p-values, %lld flips)\n",
               (long long)n_sig, (long long)K, alpha, (long long)B);
        printf("layer  head      mean   %2.0f %% bootstrap interval       p        q\n", 100 * (1 - alpha));
        for (int64_t x = 0; x < shown; x++) {
            const int64_t k = r[x].k;
            printf("%5lld %5lld %+9.5f   [%+9.5f, %+9.5f]   %7.4f  %7.4f%s\n", (long long)(k / H), (long long)(k % H), st.mean[k],
                   st.lo[k], st.hi[k], st.p[k], st.q[k], st.q[k] <= alpha ? "  *" : "");
        }
        if (grid) {
            double * g = malloc((size_t)K * sizeof *g);
            if (!g) { free(r); rc = 1; goto out; }
            for (int64_t k = 0; k < K; k++) g[k] = grid_plot ? st.mean[k] : fabs(st.mean[k]);
            char title[200];
            snprintf(title, sizeof title, "%s %s difference, text - counterfactual (rows: layers, columns: heads)",
                     grid_plot ? "mean" : "|mean|", what);
            rc = acli_grid(g, L, H, NULL, NULL, title);
            free(g);
        }
    }
    free(r);
    fprintf(stderr, "gaze bias: %lld pairs x %lld heads in %.1f s\n", (long long)N, (long long)K, cli_now() - t0);
out:
    gaze_paired_stats_free(&st);
    free(d);
    free(mb);
out_model:
    gaze_model_free(model);
    gaze_evidence_free(&ev);
    return rc;
}
