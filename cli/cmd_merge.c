// gaze merge: combines gaze evaluate part files (gaze evaluate --shard i/n -o part.json: handed to
// cmd_evaluate_merge, which shares the shard checks below through cli_shard_check) and
// corpus statistics files of disjoint shards (gaze corpus --shard i/n -o
// part.json) into one, exactly (pairwise mean/variance update), and prints the summary. Every
// file is read first so that mixed shard counts, other inputs, duplicates and missing or
// unfinished shards are named before anything is merged.
#include "analysis_cli.h"
#include "formats/json.h"
#include <stdlib.h>
#include <string.h>

static int usage(FILE * f) {
    fprintf(f,
            "usage: gaze merge PART.json... [flags]\n"
            "  combines gaze corpus -o files of disjoint shards (same model, corpus file, options and shard\n"
            "  count, each shard once) and prints the merged statistics. Refused (exit 1) when shards are\n"
            "  missing or unfinished, given twice, or of another input, model or shard count.\n"
            "  also joins gaze evaluate parts (gaze evaluate --shard i/n -o PART.json; told apart by their\n"
            "  \"format\") into the table of one unsharded run, with the same checks; for them only\n"
            "  --allow-partial, --json and -o apply (gaze evaluate --help).\n"
            "  --allow-partial   merge anyway when shards are missing or unfinished, with a warning (default: refuse)\n"
            "  -o, --out FILE    also save the merged statistics to FILE (default: not saved)\n"
            "  --json, --csv     machine-readable statistics (default: a table)\n"
            "  --grid METRIC     the layer x head grid of one metric's mean as a heatmap\n"
            "  --grid-plot FILE  also draw that grid to FILE (.png, .svg or .pdf)\n");
    return f == stdout ? 0 : 2;
}

// The "format" of a shard file: "gaze.evaluate" parts go to gaze evaluate's merge. A file that
// does not load is left to the corpus loader, whose errors name the file and the field.
static bool is_evaluate_part(const char * path) {
    json_t * o = NULL;
    if (gaze_json_load_file(&o, path, 0, 0)) return false;
    const json_t * f = json_object_get(o, "format");
    const bool yes = json_is_string(f) && !strcmp(json_string_value(f), "gaze.evaluate");
    json_decref(o);
    return yes;
}

int cmd_merge(int argc, char ** argv) {
    for (int i = 1; i < argc; i++) {   // the first file named says what is merged
        if (argv[i][0] == '-' && argv[i][1]) {
            if (!strcmp(argv[i], "-o") || !strcmp(argv[i], "--out") || !strcmp(argv[i], "--grid") || !strcmp(argv[i], "--grid-plot")) i++;
            continue;
        }
        if (is_evaluate_part(argv[i])) return cmd_evaluate_merge(argc, argv);
        break;
    }
    const char * out = NULL, * grid_s = NULL;
    enum acli_format fmt = ACLI_FORMAT_TABLE;
    const char ** parts = calloc((size_t)argc, sizeof *parts);
    int n_parts = 0, rc = 0;
    bool allow_partial = false;
    if (!parts) return 1;
    for (int i = 1; i < argc; i++) {
        const char * a = argv[i], * v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { free(parts); return usage(stdout); }
        if (!strcmp(a, "--json")) fmt = ACLI_FORMAT_JSON;
        else if (!strcmp(a, "--csv")) fmt = ACLI_FORMAT_CSV;
        else if (!strcmp(a, "--allow-partial")) allow_partial = true;
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
    struct gaze_head_stats acc, * st = calloc((size_t)n_parts, sizeof *st);
    enum gaze_status s = GAZE_OK;
    if (!st) { free(parts); return 1; }
    int loaded = 0;
    for (; loaded < n_parts; loaded++)
        if ((s = gaze_head_stats_load(&st[loaded], parts[loaded]))) { rc = cli_fail(s); goto done; }
    struct cli_shard_file * files = calloc((size_t)n_parts, sizeof *files);
    if (!files) { rc = 1; goto done; }
    for (int i = 0; i < n_parts; i++)
        files[i] = (struct cli_shard_file){ parts[i], st[i].n_shards, st[i].shards, st[i].input_size, st[i].input_hash,
                                            st[i].complete };
    rc = cli_shard_check(files, n_parts, allow_partial, "gaze corpus --resume", NULL);
    free(files);
    if (rc) goto done;
    acc = st[0];
    memset(&st[0], 0, sizeof st[0]);
    for (int i = 1; i < n_parts && !rc; i++)
        if ((s = gaze_head_stats_merge(&acc, &st[i]))) {
            fprintf(stderr, "gaze merge: %s: %s\n", cli_safe(parts[i]), gaze_last_error());
            rc = 1;
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
done:
    for (int i = 0; i < loaded; i++) gaze_head_stats_free(&st[i]);
    free(st);
    free(parts);
    return rc;
}
