// gaze merge: combines corpus statistics files of disjoint shards (gaze corpus --shard i/n -o
// part.json) into one, exactly (pairwise mean/variance update), and prints the summary. Every
// file is read first so that mixed shard counts, other inputs, duplicates and missing or
// unfinished shards are named before anything is merged.
#include "analysis_cli.h"
#include <stdlib.h>
#include <string.h>

static int usage(FILE * f) {
    fprintf(f,
            "usage: gaze merge PART.json... [flags]\n"
            "  combines gaze corpus -o files of disjoint shards (same model, corpus file, options and shard\n"
            "  count, each shard once) and prints the merged statistics. Refused (exit 1) when shards are\n"
            "  missing or unfinished, given twice, or of another input, model or shard count.\n"
            "  --allow-partial   merge anyway when shards are missing or unfinished, with a warning (default: refuse)\n"
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
    int * owner = NULL;
    enum gaze_status s = GAZE_OK;
    if (!st) { free(parts); return 1; }
    int loaded = 0;
    for (; loaded < n_parts; loaded++)
        if ((s = gaze_head_stats_load(&st[loaded], parts[loaded]))) { rc = cli_fail(s); goto done; }
    // Older files carry no input identity (and split by line index modulo n): merged as before.
    bool legacy = false;
    for (int i = 0; i < n_parts; i++)
        if (st[i].input_size < 0) {
            fprintf(stderr, "gaze merge: note: %s records no input identity (standard input or an older gaze): its corpus "
                            "contents and missing shards are not checked\n", cli_safe(parts[i]));
            legacy = true;
        }
    const int64_t n = st[0].n_shards;
    for (int i = 1; i < n_parts; i++) {
        if (st[i].n_shards != n) {
            fprintf(stderr, "gaze merge: mixed shard counts: %s is split into %lld shards, %s into %lld (run every shard "
                            "with the same n)\n", cli_safe(parts[0]), (long long)n, cli_safe(parts[i]), (long long)st[i].n_shards);
            rc = 1;
            goto done;
        }
        if (st[0].input_size >= 0 && st[i].input_size >= 0 &&
            (st[i].input_size != st[0].input_size || st[i].input_hash != st[0].input_hash)) {
            fprintf(stderr, "gaze merge: %s and %s were computed on different inputs (%s: %lld bytes, hash %016llx; %s: %lld "
                            "bytes, hash %016llx)\n", cli_safe(parts[0]), cli_safe(parts[i]), cli_safe(parts[0]), (long long)st[0].input_size,
                    (unsigned long long)st[0].input_hash, cli_safe(parts[i]), (long long)st[i].input_size,
                    (unsigned long long)st[i].input_hash);
            rc = 1;
            goto done;
        }
    }
    if (!(owner = malloc((size_t)n * sizeof *owner))) { rc = 1; goto done; }
    for (int64_t k = 0; k < n; k++) owner[k] = -1;
    for (int i = 0; i < n_parts; i++)
        for (int64_t k = 0; k < n; k++) {
            if (!st[i].shards[k]) continue;
            if (owner[k] >= 0) {
                fprintf(stderr, "gaze merge: shard %lld/%lld given twice: %s, %s (it would count twice)\n", (long long)k,
                        (long long)n, cli_safe(parts[owner[k]]), cli_safe(parts[i]));
                rc = 1;
                goto done;
            }
            owner[k] = i;
        }
    // missing and unfinished shards: the merge would cover part of the corpus
    int64_t missing = 0;
    for (int64_t k = 0; k < n; k++) missing += owner[k] < 0;
    bool partial = false;
    const char * what = allow_partial ? "warning" : "error";
    if (missing && !legacy) {
        fprintf(stderr, "gaze merge: %s: missing shard%s ", what, missing > 1 ? "s" : "");
        int64_t shown = 0;
        for (int64_t k = 0; k < n && shown < 20; k++)
            if (owner[k] < 0) fprintf(stderr, "%s%lld", shown++ ? ", " : "", (long long)k);
        fprintf(stderr, "%s of %lld\n", missing > shown ? ", ..." : "", (long long)n);
        partial = true;
    }
    for (int i = 0; i < n_parts && !legacy; i++)
        if (!st[i].complete) {
            fprintf(stderr, "gaze merge: %s: %s is unfinished (interrupted or --limit: gaze corpus --resume completes it)\n",
                    what, cli_safe(parts[i]));
            partial = true;
        }
    if (partial && !allow_partial) {
        fprintf(stderr, "gaze merge: refused: the statistics would cover part of the corpus (--allow-partial merges anyway)\n");
        rc = 1;
        goto done;
    }
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
    free(owner);
    free(parts);
    return rc;
}
