// --kind encoder|decoder|cross, shared by every command that reads a run: which attention of an
// encoder-decoder run it works on (docs/runfile.md "Encoder-decoder runs").
#include "cli.h"
#include <stdio.h>
#include <string.h>

int cli_parse_kind(const char * cmd, const char * v, int * kind) {
    enum gaze_kind k;
    if (!v) {
        fprintf(stderr, "gaze %s: --kind needs a value: encoder, decoder or cross\n", cmd);
        return 2;
    }
    if (!gaze_kind_parse(v, &k)) {
        fprintf(stderr, "gaze %s: --kind: '%s' is not a kind: encoder, decoder or cross\n", cmd, cli_safe(v));
        return 2;
    }
    *kind = (int)k;
    return 0;
}

int cli_select_kind(const char * cmd, struct gaze_run * run, int kind, bool quiet) {
    const bool encdec = run->decoder || run->cross;
    if (kind < 0) {
        if (!encdec) return 0;
        kind = GAZE_KIND_ENCODER;
    }
    if (!gaze_run_select_kind(run, (enum gaze_kind)kind)) {
        fprintf(stderr, "gaze %s: --kind %s: %s\n", cmd, gaze_kind_name((enum gaze_kind)kind), gaze_last_error());
        return 2;
    }
    if (encdec && !quiet) {
        const unsigned kinds = gaze_run_kinds(run);
        char others[48] = "";
        for (int k = 0, n = 0; k < 3; k++)
            if (k != kind && (kinds & (1u << k)))
                snprintf(others + strlen(others), sizeof others - strlen(others), "%s%s", n++ ? " and " : "",
                         gaze_kind_name((enum gaze_kind)k));
        fprintf(stderr, "gaze %s: encoder-decoder run: using its %s attention%s; it also holds %s attention (--kind)\n",
                cmd, gaze_kind_name((enum gaze_kind)kind),
                kind == GAZE_KIND_CROSS ? " (rows: target tokens, keys: source tokens)" : "", others);
    }
    enum gaze_status s = gaze_run_take_kind(run, (enum gaze_kind)kind);
    return s ? cli_fail(s) : 0;
}
