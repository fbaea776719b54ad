// gaze evaluate part files (gaze evaluate --shard i/n -o PART.json, the inputs of gaze merge and
// --resume; gaze_eval_part_parse) on arbitrary bytes. A file that parses must hold items in
// range, sorted and each once, inside the shards it holds; it must survive a save/load round
// trip with the same identity and scores (NaN stays NaN), and a merge with itself must be
// refused (every shard twice) with a message, leaving it unchanged.
#include "fuzz_common.h"
#include <math.h>

static char g_out[512];

static void cleanup(void) { if (g_out[0]) unlink(g_out); }

int LLVMFuzzerInitialize(int * argc, char *** argv) {
    fuzz_setup();
    snprintf(g_out, sizeof g_out, "%s/part.json", fuzz_scratch_dir("evalpart"));
    atexit(cleanup);
    return 0;
}

static bool same_double(double a, double b) { return (isnan(a) && isnan(b)) || a == b; }

int LLVMFuzzerTestOneInput(const uint8_t * data, size_t size) {
    if (size > (1u << 20)) return 0;
    struct gaze_eval_part p, back, copy;
    enum gaze_status s = gaze_eval_part_parse(&p, (const char *)data, size, "part.json");
    if (s) { fuzz_check_failure(s, "part parse"); return 0; }
    FUZZ_REQUIRE(p.n_methods >= 1 && p.n_eval >= 1 && p.n_eval <= p.n_items && p.n_shards >= 1, "shape");
    int64_t expect = 0;
    for (int64_t k = 0; k < p.n_shards; k++) if (p.shards[k]) expect += gaze_eval_shard_items(p.n_eval, k, p.n_shards);
    FUZZ_REQUIRE(p.n <= expect && (!p.complete || p.n == expect), "%lld items, shards hold %lld", (long long)p.n, (long long)expect);
    for (int64_t i = 0; i < p.n; i++) {
        const struct gaze_eval_item * it = &p.items[i];
        FUZZ_REQUIRE(it->e >= 0 && it->e < p.n_eval && (i == 0 || it->e > p.items[i - 1].e), "item %lld e %lld", (long long)i,
                     (long long)it->e);
        FUZZ_REQUIRE(gaze_eval_order(p.n_eval, gaze_eval_step_of(p.n_eval, it->e)) == it->e, "order inverse at %lld", (long long)it->e);
        FUZZ_REQUIRE(p.shards[gaze_eval_step_of(p.n_eval, it->e) % p.n_shards], "item %lld outside the shards held", (long long)it->e);
        FUZZ_REQUIRE(it->task >= 0 && it->task < p.n_tasks, "task %lld", (long long)it->task);
    }
    s = gaze_eval_part_save(&p, g_out);
    if (s) fuzz_check_failure(s, "part save");
    else {
        s = gaze_eval_part_load(&back, g_out);
        FUZZ_REQUIRE(s == GAZE_OK, "a saved part does not load: %s", gaze_last_error());
        FUZZ_REQUIRE(!gaze_eval_part_differs(&p, &back) && back.n == p.n && back.complete == p.complete, "round trip changed %s",
                     gaze_eval_part_differs(&p, &back) ? gaze_eval_part_differs(&p, &back) : "the items");
        for (int64_t i = 0; i < p.n; i++) {
            FUZZ_REQUIRE(back.items[i].e == p.items[i].e && back.items[i].skipped == p.items[i].skipped &&
                         back.items[i].match == p.items[i].match, "round trip changed item %lld", (long long)i);
            for (int64_t k = 0; k < p.n_methods * GAZE_EVAL_METRICS; k++)
                FUZZ_REQUIRE(same_double(back.items[i].val[k], p.items[i].val[k]) || !isfinite(p.items[i].val[k]),
                             "round trip changed score %lld of item %lld", (long long)k, (long long)i);
        }
        gaze_eval_part_free(&back);
        // a part merged with a copy of itself: every shard twice, refused, nothing added
        if (gaze_eval_part_load(&copy, g_out) == GAZE_OK) {
            const int64_t n0 = p.n;
            s = gaze_eval_part_merge(&p, &copy);
            FUZZ_REQUIRE(s != GAZE_OK, "a part merged with itself");
            fuzz_check_failure(s, "part merge");
            FUZZ_REQUIRE(p.n == n0, "a refused merge added items");
            gaze_eval_part_free(&copy);
        }
    }
    gaze_eval_part_free(&p);
    return 0;
}
