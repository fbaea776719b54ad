// One progress line for every long command (ablate, heads --induction, flow, view, corpus, model
// load), so they all look alike on a terminal and say nothing at all when stderr is not one:
//   gaze ablate: [#######             ] 96/270 heads  31.9 heads/s  ETA 5s
// redrawn in place with \r at most 10 times a second, cleared when the job ends.
#ifndef GAZE_CLI_PROGRESS_H
#define GAZE_CLI_PROGRESS_H
#include "gaze.h"

struct cli_progress {
    const char * label;      // "gaze ablate"
    bool    on;              // stderr is a terminal and not --quiet
    bool    started;         // t0 / done0 set by the first update
    double  t0, last;        // first update, last draw (monotonic seconds)
    int64_t done0;           // items done at the first update (a resumed job counts from there)
    int64_t shown;           // done of the line on screen
    int     width;           // columns of the line drawn last (0: none on screen)
    char    note[64];        // appended after the counts ("12 docs"); "" for none
};

void cli_progress_init(struct cli_progress * p, const char * label, bool quiet);
// done of total items (total < 0: unknown, no bar or ETA); what names them ("heads").
void cli_progress_update(struct cli_progress * p, int64_t done, int64_t total, const char * what);
// Erases the line, if one is on screen (before other output, and at the end of the job).
void cli_progress_clear(struct cli_progress * p);
// The library's progress hook drawing into p ({ NULL } when p is off).
struct gaze_progress cli_progress_hook(struct cli_progress * p);

// gaze_model_load with a progress line (MiB checked and prepared) for command cmd ("ablate").
enum gaze_status cli_model_load(struct gaze_model ** model, const char * path, const char * cmd, bool quiet);
#endif
