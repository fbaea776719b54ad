// Corpus-statistics files (gaze corpus -o / gaze merge inputs, gaze_head_stats_load) on arbitrary
// bytes. A file that loads must survive a save/load round trip, merge with itself only when its
// shards allow it, and give finite or NaN means for every metric, never a crash.
#include "fuzz_common.h"

static char g_in[512], g_out[512];

static void cleanup(void) {
    if (g_in[0]) unlink(g_in);
    if (g_out[0]) unlink(g_out);
}

int LLVMFuzzerInitialize(int * argc, char *** argv) {
    fuzz_setup();
    const char * dir = fuzz_scratch_dir("stats");
    snprintf(g_in, sizeof g_in, "%s/in.json", dir);
    snprintf(g_out, sizeof g_out, "%s/out.json", dir);
    atexit(cleanup);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t * data, size_t size) {
    if (size > (1u << 20)) return 0;
    FILE * f = fopen(g_in, "wb");
    if (!f) return 0;
    fwrite(data, 1, size, f);
    fclose(f);
    struct gaze_head_stats st, back, other;
    enum gaze_status s = gaze_head_stats_load(&st, g_in);
    if (s) { fuzz_check_failure(s, "stats load"); return 0; }
    FUZZ_REQUIRE(st.n_layers >= 0 && st.n_heads >= 0 && st.n_docs >= 0, "negative counts");
    for (int64_t l = 0; l < st.n_layers && l < 4; l++)
        for (int64_t h = 0; h < st.n_heads && h < 4; h++)
            for (int m = 0; m < GAZE_METRIC_COUNT; m++) {
                const double v = gaze_head_stats_std(&st, l, h, (enum gaze_metric)m);
                FUZZ_REQUIRE(!(v < 0), "negative std %g", v);
                (void)gaze_head_stats_mean(&st, l, h, (enum gaze_metric)m);
            }
    s = gaze_head_stats_save(&st, g_out);
    if (s) fuzz_check_failure(s, "stats save");
    else {
        s = gaze_head_stats_load(&back, g_out);
        FUZZ_REQUIRE(s == GAZE_OK, "a saved file does not load: %s", gaze_last_error());
        FUZZ_REQUIRE(back.n_layers == st.n_layers && back.n_heads == st.n_heads && back.n_docs == st.n_docs &&
                     back.n_shards == st.n_shards, "round trip changed the shape");
        gaze_head_stats_free(&back);
    }
    // merging a file with a copy of itself: refused (same shard twice) or counted twice
    if (gaze_head_stats_load(&other, g_in) == GAZE_OK) {
        const int64_t docs = st.n_docs;
        s = gaze_head_stats_merge(&st, &other);
        if (s) fuzz_check_failure(s, "stats merge");
        else FUZZ_REQUIRE(st.n_docs == 2 * docs, "merge counted %lld docs of 2 x %lld", (long long)st.n_docs,
                          (long long)docs);
        gaze_head_stats_free(&other);
    }
    gaze_head_stats_free(&st);
    return 0;
}
