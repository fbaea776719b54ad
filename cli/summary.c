// Runs of attention summaries (gaze run --summary) in the views that draw attention maps:
// plot and view draw the summary's block pyramid as a run of blocks.
#include "cli.h"
#include <stdio.h>

int cli_summary_blocks(const char * cmd, struct gaze_run * run, int64_t max_side) {
    const struct gaze_attn_summary * sm = NULL;
    for (int64_t i = 0; i < run->n_cap_layers; i++) {
        if (run->layers[i].attn) return 0;   // full weights: drawn as always
        if (run->layers[i].summary.entropy && !sm) sm = &run->layers[i].summary;
    }
    if (!sm) return 0;
    int level = 0;
    while (gaze_summary_grid_side(sm, level) > max_side) level++;
    struct gaze_run blocks;
    enum gaze_status s = gaze_run_summary_blocks(run, level, &blocks);
    if (s) return cli_fail(s);
    const long long b = (long long)sm->block << level;
    // never silent: what is drawn is not token attention
    fprintf(stderr, "gaze %s: the run holds attention summaries, not full weights: drawing their block pyramid "
            "(%lldx%lld-token blocks; each row: its block's mean attention mass on each key block), labelled \"summary\"\n",
            cmd, b, b);
    gaze_run_free(run);
    *run = blocks;
    return 0;
}
