// gaze diff: how differently two runs of the same shape attend, per head: the Jensen–Shannon
// divergence of their attention rows (two saved runs, two inputs of the same length on one
// model, or two models with the same layers and heads on one input).
#include "analysis_cli.h"
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int usage(FILE * f) {
    fprintf(f,
            "usage: gaze diff A.safetensors B.safetensors [flags]\n"
            "       gaze diff MODEL \"text a\" \"text b\" [flags]      (same token count)\n"
            "       gaze diff MODEL_A MODEL_B \"text\" [flags]         (same layers and heads)\n"
            "  per head: mean over query rows of JS(A_row, B_row) in bits (0 = identical, 1 = disjoint)\n"
            "  --json, --csv     machine-readable output (default: a layer x head table and the top heads)\n"
            "  --grid            the table as a terminal heatmap\n"
            "  --grid-plot FILE  also draw that grid to FILE (.png, .svg or .pdf)\n"
            "  --top K           how many of the most different heads to list, >= 0 (default: 10)\n"
            "  --plot FILE       diverging heatmap of A - B for one layer to FILE (.png, .svg or .pdf); drawn\n"
            "                    for every pair the table accepts (A's token labels; layers and heads paired\n"
            "                    by position when the runs captured different ones)\n"
            "  --layer L         with --plot: the layer drawn (default: the last captured layer)\n"
            "  --head H          with --plot: one head (default: the mean over heads)\n"
            "  --exact           quantized models: f32-dequantized weights (default: quantized arithmetic)\n"
            "  --image-size WxH  vision models given an image: resize it to W x H (multiples of the patch\n"
            "                    size) and interpolate the position embeddings, as gaze run\n"
            "  --threads N       worker threads (default: 0 = $GAZE_THREADS or one per core)\n"
            "  --kind K          encoder-decoder runs: encoder, decoder or cross attention of both (default: encoder)\n"
            "  (the texts are arguments: -f is not taken here, as diff needs two of them)\n");
    return f == stdout ? 0 : 2;
}

static bool is_model(const char * s) {
    char path[4096];
    struct stat sb;
    if (gaze_model_resolve(s, path, sizeof path) != GAZE_OK) { gaze_clear_error(); return false; }
    return stat(path, &sb) == 0;
}

int cmd_diff(int argc, char ** argv) {
    struct acli_source sa = { .cmd = "diff", .images = true, .no_file = true };
    const char * pos[3] = { NULL, NULL, NULL }, * plot = NULL;
    int n_pos = 0, top = 10;
    bool json = false, csv = false, grid = false;
    int64_t layer = -1, head = -1;
    for (int i = 1; i < argc; i++) {
        const char * a = argv[i], * v = i + 1 < argc ? argv[i + 1] : NULL;
        int k = acli_source_flag(&sa, argc, argv, &i);
        if (k == -2) return 2;
        if (k < 0) return usage(stderr);
        if (k > 0) continue;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) return usage(stdout);
        if (!strcmp(a, "--json")) json = true;
        else if (!strcmp(a, "--csv")) csv = true;
        else if (!strcmp(a, "--grid-plot") && v) { acli_set_grid_figure(v); i++; }
        else if (!strcmp(a, "--grid")) grid = true;
        else if (!strcmp(a, "--top")) { if (cli_int32("diff", a, v, 0, INT32_MAX, &top)) return 2; i++; }
        else if (!strcmp(a, "--plot")) { if (!v) return usage(stderr); plot = v; i++; }
        else if (!strcmp(a, "--layer")) { if (cli_int("diff", a, v, 0, GAZE_RUN_MAX_LAYERS - 1, &layer)) return 2; i++; }
        else if (!strcmp(a, "--head")) { if (cli_int("diff", a, v, 0, GAZE_RUN_MAX_HEADS - 1, &head)) return 2; i++; }
        else if (a[0] == '-' && a[1]) { fprintf(stderr, "gaze diff: unknown flag '%s'\n", a); return usage(stderr); }
        else if (n_pos < 3) pos[n_pos++] = a;
        else { fprintf(stderr, "gaze diff: unexpected argument '%s'\n", a); return usage(stderr); }
    }
    if (n_pos < 2) return usage(stderr);
    if (json && csv) { fprintf(stderr, "gaze diff: --json and --csv are two formats: choose one\n"); return 2; }
    if (acli_check_grid("diff", grid, json || csv)) return 2;
    if (sa.pair) { fprintf(stderr, "gaze diff: --pair is not supported here\n"); return 2; }
    if (!plot && (layer >= 0 || head >= 0)) { fprintf(stderr, "gaze diff: --layer and --head choose what --plot draws: give --plot FILE too\n"); return 2; }
    int frc = acli_check_grid_figure("diff");
    if (frc || (frc = cli_figure_check("diff", plot))) return frc;
    struct acli_source sb = sa;
    if (n_pos == 2) {              // two run files
        sa.src = pos[0];
        sb.src = pos[1];
    } else if (!cli_is_image_path(pos[1]) && is_model(pos[1])) { // two models, one text (an image is a file too)
        sa.src = pos[0]; sa.text = pos[2];
        sb.src = pos[1]; sb.text = pos[2];
    } else {                       // one model, two texts
        sa.src = sb.src = pos[0];
        sa.text = pos[1];
        sb.text = pos[2];
    }
    struct gaze_run ra, rb;
    int rc = acli_load_run("diff", &sa, &ra);
    if (rc) return rc;
    if ((rc = acli_load_run("diff", &sb, &rb))) { gaze_run_free(&ra); return rc; }
    if (plot && (layer >= 0 || head >= 0)) {   // what the figure needs, before any work
        bool in_a = false, in_b = false;
        for (int64_t h = 0; head >= 0 && h < ra.n_heads_cap; h++) in_a |= ra.heads[h] == head;
        for (int64_t h = 0; head >= 0 && h < rb.n_heads_cap; h++) in_b |= rb.heads[h] == head;
        if (layer >= 0 && !gaze_run_find_layer(&ra, layer)) {
            fprintf(stderr, "gaze diff: --plot needs --layer %lld captured in %s\n", (long long)layer, sa.text ? "the first run" : sa.src);
            rc = 2;
        } else if (head >= 0 && !(in_a && in_b)) {
            fprintf(stderr, "gaze diff: --plot needs --head %lld captured in both runs (%s)\n", (long long)head, in_a ? "not in the second" : "not in the first");
            rc = 2;
        }
        if (rc) { gaze_run_free(&ra); gaze_run_free(&rb); return rc; }
    }
    const int64_t L = ra.n_cap_layers, H = ra.n_heads_cap, n = L * H;
    double * d = malloc((size_t)(n ? n : 1) * sizeof *d);
    int64_t * order = malloc((size_t)(n ? n : 1) * sizeof *order);
    if (!d || !order) { fprintf(stderr, "gaze diff: out of memory\n"); rc = 1; goto done; }
    enum gaze_status s = gaze_head_jsd(&ra, &rb, d);
    if (s) { rc = cli_fail(s); goto done; }
    for (int64_t k = 0; k < n; k++) order[k] = k;
    for (int64_t a = 1; a < n; a++)   // insertion sort, descending: n is layers × heads
        for (int64_t b = a; b > 0 && d[order[b]] > d[order[b - 1]]; b--) { int64_t t = order[b]; order[b] = order[b - 1]; order[b - 1] = t; }
    if (json) {
        json_t * o = json_object(), * rows = json_array();
        json_object_set_new(o, "a", json_string(sa.text ? sa.text : sa.src));
        json_object_set_new(o, "b", json_string(sb.text ? sb.text : sb.src));
        json_object_set_new(o, "measure", json_string("Jensen-Shannon divergence, bits, mean over query rows"));
        for (int64_t k = 0; k < n; k++) {
            json_t * e = json_object();
            json_object_set_new(e, "layer", json_integer(ra.layers[k / H].index));
            json_object_set_new(e, "head", json_integer(ra.heads ? ra.heads[k % H] : k % H));
            json_object_set_new(e, "jsd", json_real(d[k]));
            json_array_append_new(rows, e);
        }
        json_object_set_new(o, "heads", rows);
        json_dumpf(o, stdout, JSON_INDENT(1) | JSON_REAL_PRECISION(9) | JSON_ENSURE_ASCII);
        putchar('\n');
        json_decref(o);
    } else if (csv) {
        printf("layer,head,jsd\n");
        for (int64_t k = 0; k < n; k++)
            printf("%lld,%lld,%.9g\n", (long long)ra.layers[k / H].index, (long long)(ra.heads ? ra.heads[k % H] : k % H), d[k]);
    } else if (grid) {
        int64_t * li = malloc((size_t)L * sizeof *li);
        if (!li) { rc = 1; goto done; }
        for (int64_t l = 0; l < L; l++) li[l] = ra.layers[l].index;
        rc = acli_grid(d, L, H, li, ra.heads, "Jensen-Shannon divergence per head, bits (rows: layers, columns: heads)");
        free(li);
    } else {
        printf("Jensen-Shannon divergence per head (bits; mean over %lld query rows of %lld tokens)\n", (long long)ra.Tq, (long long)ra.T);
        printf("layer");
        for (int64_t h = 0; h < H; h++) printf("  h%-4lld", (long long)(ra.heads ? ra.heads[h] : h));
        printf("\n");
        for (int64_t l = 0; l < L; l++) {
            printf("%5lld", (long long)ra.layers[l].index);
            for (int64_t h = 0; h < H; h++) printf(" %6.3f", d[l * H + h]);
            printf("\n");
        }
        printf("most different heads:");
        for (int64_t k = 0; k < n && k < top; k++)
            printf(" L%lld.h%lld %.3f", (long long)ra.layers[order[k] / H].index,
                   (long long)(ra.heads ? ra.heads[order[k] % H] : order[k] % H), d[order[k]]);
        printf("\n");
    }
    if (plot && !rc) {   // after the numbers: the figure needs the same tokens in both runs
        struct gaze_plot_opts po = gaze_plot_opts_make();
        po.kind = GAZE_PLOT_KIND_HEATMAP;
        po.layer = layer;
        if (head >= 0) { po.head_mode = GAZE_PLOT_HEADS_ONE; po.head = head; }
        po.minus = &rb;
        struct gaze_plot_info info;
        if ((s = gaze_plot_run(&ra, plot, &po, &info))) { rc = cli_fail(s); goto done; }
        fprintf(json || csv ? stderr : stdout, "wrote %s (A - B, layer %lld)\n", cli_safe(plot), (long long)(layer >= 0 ? layer : ra.layers[L - 1].index));
    }
done:
    free(d);
    free(order);
    gaze_run_free(&ra);
    gaze_run_free(&rb);
    return rc;
}
