// gaze diff: how differently two runs of the same shape attend, per head: the Jensen–Shannon
// divergence of their attention rows (two saved runs, two inputs of the same length on one
// model, or two models with the same layers and heads on one input).
#include "analysis_cli.h"
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int usage(void) {
    fprintf(stderr,
            "usage: gaze diff A.safetensors B.safetensors [flags]\n"
            "       gaze diff MODEL \"text a\" \"text b\" [flags]      (same token count)\n"
            "       gaze diff MODEL_A MODEL_B \"text\" [flags]         (same layers and heads)\n"
            "flags: [--json|--csv] [--grid [--grid-plot out.png|svg|pdf]] [--top K] [--plot out.png --layer L [--head H]] [--exact] [--threads N]\n"
            "  per head: mean over query rows of JS(A_row, B_row) in bits (0 = identical, 1 = disjoint)\n"
            "  --plot: diverging heatmap of A - B for one layer (mean over heads unless --head)\n");
    return 2;
}

static bool is_model(const char * s) {
    char path[4096];
    struct stat sb;
    if (gaze_model_resolve(s, path, sizeof path) != GAZE_OK) { gaze_clear_error(); return false; }
    return stat(path, &sb) == 0;
}

int cmd_diff(int argc, char ** argv) {
    struct acli_source sa = { 0 };
    const char * pos[3] = { NULL, NULL, NULL }, * plot = NULL;
    int n_pos = 0, top = 10;
    bool json = false, csv = false, grid = false;
    int64_t layer = -1, head = -1;
    for (int i = 1; i < argc; i++) {
        const char * a = argv[i], * v = i + 1 < argc ? argv[i + 1] : NULL;
        int k = acli_source_flag(&sa, argc, argv, &i);
        if (k < 0) return usage();
        if (k > 0) continue;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) return usage();
        if (!strcmp(a, "--json")) json = true;
        else if (!strcmp(a, "--csv")) csv = true;
        else if (!strcmp(a, "--grid-plot") && v) { acli_set_grid_figure(v); i++; }
        else if (!strcmp(a, "--grid")) grid = true;
        else if (!strcmp(a, "--top")) { if (!v) return usage(); top = atoi(v); i++; }
        else if (!strcmp(a, "--plot")) { if (!v) return usage(); plot = v; i++; }
        else if (!strcmp(a, "--layer")) { if (!v) return usage(); layer = atoll(v); i++; }
        else if (!strcmp(a, "--head")) { if (!v) return usage(); head = atoll(v); i++; }
        else if (a[0] == '-' && a[1]) { fprintf(stderr, "gaze diff: unknown flag '%s'\n", a); return usage(); }
        else if (n_pos < 3) pos[n_pos++] = a;
        else { fprintf(stderr, "gaze diff: unexpected argument '%s'\n", a); return usage(); }
    }
    if (n_pos < 2) return usage();
    if (sa.pair) { fprintf(stderr, "gaze diff: --pair is not supported here\n"); return 2; }
    struct acli_source sb = sa;
    if (n_pos == 2) {              // two run files
        sa.src = pos[0];
        sb.src = pos[1];
    } else if (is_model(pos[1])) { // two models, one text
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
        if ((s = gaze_plot_run(&ra, plot, &po, NULL))) { rc = cli_fail(s); goto done; }
    }
done:
    free(d);
    free(order);
    gaze_run_free(&ra);
    gaze_run_free(&rb);
    return rc;
}
