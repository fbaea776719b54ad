// gaze merge: combines corpus statistics files of disjoint shards (gaze corpus --shard i/n -o
// part.json) into one, exactly (pairwise mean/variance update), and prints the summary.
#include "analysis_cli.h"
#include <stdlib.h>
#include <string.h>

static int usage(FILE * f) {
    fprintf(f,
            "usage: gaze merge PART.json... [flags]\n"
            "  combines gaze corpus -o files of disjoint shards (same model, corpus file, options and shard\n"
            "  count, each shard once) and prints the merged statistics.\n"
            "  -o, --out FILE    also save the merged statistics to FILE (default: not saved)\n"
            "  --json, --csv     machine-readable statistics (default: a table)\n"
            "  --grid METRIC     the layer x head grid of one metric's mean as a heatmap\n"
            "  --grid-plot FILE  also draw that grid to FILE (.png, .svg or .pdf)\n");
    return f == stdout ? 0 : 2;
}

int cmd_merge(int argc, char ** argv) {
    const char * out = NULL, * grid_s = NULL;
    enum acli_format fmt = ACLI_FORMAT_TABLE;
    const char ** parts = calloc((size_t)argc, sizeof *parts);
    int n_parts = 0, rc = 0;
    if (!parts) return 1;
    for (int i = 1; i < argc; i++) {
        const char * a = argv[i], * v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { free(parts); return usage(stdout); }
        if (!strcmp(a, "--json")) fmt = ACLI_FORMAT_JSON;
        else if (!strcmp(a, "--csv")) fmt = ACLI_FORMAT_CSV;
        else if ((!strcmp(a, "-o") || !strcmp(a, "--out")) && v) { out = v; i++; }
        else if (!strcmp(a, "--grid-plot") && v) { acli_set_grid_figure(v); i++; }
        else if (!strcmp(a, "--grid") && v) { grid_s = v; i++; }
        else if (a[0] == '-' && a[1]) { fprintf(stderr, "gaze merge: unknown flag '%s' (or missing value)\n", a); free(parts); return usage(stderr); }
        else parts[n_parts++] = a;
    }
    enum gaze_metric grid_m = GAZE_METRIC_ENTROPY;
    if (!n_parts) { free(parts); return usage(stderr); }
    if (acli_check_grid("merge", grid_s != NULL, fmt != ACLI_FORMAT_TABLE)) { free(parts); return 2; }
    if (grid_s && !gaze_metric_from_name(grid_s, &grid_m)) { fprintf(stderr, "gaze merge: unknown metric '%s'\n", grid_s); free(parts); return 2; }
    if ((rc = cli_output_check("merge", out)) || (rc = acli_check_grid_figure("merge"))) { free(parts); return rc; }
    struct gaze_head_stats acc, part;
    enum gaze_status s = gaze_head_stats_load(&acc, parts[0]);
    if (s) { free(parts); return cli_fail(s); }
    for (int i = 1; i < n_parts && !rc; i++) {
        if ((s = gaze_head_stats_load(&part, parts[i]))) { rc = cli_fail(s); break; }
        if ((s = gaze_head_stats_merge(&acc, &part))) {
            fprintf(stderr, "gaze merge: %s: %s\n", cli_safe(parts[i]), gaze_last_error());
            rc = 1;
        }
        gaze_head_stats_free(&part);
    }
    if (!rc) {
        int64_t have = 0;
        for (int64_t i = 0; i < acc.n_shards; i++) have += acc.shards[i];
        if (have < acc.n_shards || !acc.complete)
            fprintf(stderr, "gaze merge: note: %lld of %lld shards present%s: the statistics cover part of the corpus\n",
                    (long long)have, (long long)acc.n_shards, acc.complete ? "" : ", some incomplete");
        if (out && (s = gaze_head_stats_save(&acc, out))) rc = cli_fail(s);
        if (!out) fprintf(stderr, "gaze merge: merged statistics printed only, not saved (give -o FILE to keep them)\n");
    }
    if (!rc) rc = acli_print_stats(&acc, fmt, grid_s ? (int)grid_m : -1, NULL);
    gaze_head_stats_free(&acc);
    free(parts);
    return rc;
}
