// Run-file loader on arbitrary bytes (gaze_run_load_buffer). A run that loads must pass
// gaze_run_check, survive a save/load round trip unchanged, and be safe for every consumer that
// trusts the loader: per-head metrics, rollout, word grouping, special tokens and the terminal
// heatmap all run on it.
#include "fuzz_common.h"

static FILE * g_null;
static char g_path[512];

static void cleanup(void) { if (g_path[0]) unlink(g_path); }

int LLVMFuzzerInitialize(int * argc, char *** argv) {
    fuzz_setup();
    g_null = fopen("/dev/null", "w");
    snprintf(g_path, sizeof g_path, "%s/run.safetensors", fuzz_scratch_dir("runfile"));
    atexit(cleanup);
    return 0;
}

static void consumers(const struct gaze_run * r) {
    // every captured layer with attention: metrics (bounded work: small runs only)
    bool all_attn = r->n_cap_layers > 0;
    for (int64_t l = 0; l < r->n_cap_layers; l++) all_attn &= r->layers[l].attn != NULL;
    const double work = (double)r->n_cap_layers * (double)r->n_heads_cap * (double)r->Tq * (double)r->T;
    if (all_attn && work <= 1e5) {
        struct gaze_head_metrics * m = calloc((size_t)(r->n_cap_layers * r->n_heads_cap), sizeof *m);
        enum gaze_status s = gaze_head_metrics_compute(r, NULL, NULL, m, 1);
        if (s) fuzz_check_failure(s, "metrics");
        free(m);
        if (r->Tq == r->T && r->T <= 64) {
            double * R = malloc((size_t)(r->T * r->T) * sizeof *R);
            s = gaze_rollout(r, NULL, R);
            if (s) fuzz_check_failure(s, "rollout");
            else for (int64_t i = 0; i < r->T * r->T; i++) FUZZ_REQUIRE(R[i] == R[i], "rollout NaN at %lld", (long long)i);
            free(R);
        }
    }
    uint8_t * special = malloc((size_t)(r->T ? r->T : 1));
    enum gaze_status s = gaze_run_special_tokens(r, special);
    if (s) fuzz_check_failure(s, "special tokens");
    free(special);
    struct gaze_words w;
    for (int style = 0; style < 4; style++) {
        s = gaze_words_from_run(&w, r, (enum gaze_word_style)style, style & 1);
        if (s == GAZE_OK) {
            FUZZ_REQUIRE(w.n_tokens == r->T && w.n_words >= 0 && w.n_words <= r->T, "words");
            gaze_words_free(&w);
        } else fuzz_check_failure(s, "words");
    }
    // terminal heatmap of the first captured layer's first head, token labels from the file
    if (r->n_cap_layers > 0 && r->layers[0].attn && r->Tq <= 128 && gaze_run_n_keys(r) <= 128) {
        const char ** rows = malloc((size_t)r->Tq * sizeof *rows);
        for (int64_t i = 0; i < r->Tq; i++) rows[i] = r->tokens[r->q_rows[i]];
        struct gaze_term_opts o = { .width = 80, .color = GAZE_TERM_COLOR_TRUE, .top_k = 3, .title = r->model };
        const char * const * cols = (const char * const *)(r->T_keys ? r->key_tokens : r->tokens);
        s = gaze_term_heatmap(g_null, r->layers[0].attn, r->Tq, gaze_run_n_keys(r), rows, cols, &o);
        if (s) fuzz_check_failure(s, "heatmap");
        free(rows);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t * data, size_t size) {
    uint8_t * buf = fuzz_dup(data, size);
    struct gaze_run r;
    memset(&r, 0xA5, sizeof r);   // load must initialise whatever it is given
    enum gaze_status s = gaze_run_load_buffer(&r, buf, size, "fuzz.run");
    if (s != GAZE_OK) {
        fuzz_check_failure(s, "run load");
        FUZZ_REQUIRE(r.tokens == NULL && r.layers == NULL && r.T == 0, "run not left empty on failure");
        free(buf);
        return 0;
    }
    s = gaze_run_check(&r, "fuzz.run");
    FUZZ_REQUIRE(s == GAZE_OK, "loaded run fails its own check: %s", gaze_last_error());
    for (int64_t t = 0; t < r.T; t++) {
        const size_t n = strlen(r.tokens[t]);
        FUZZ_REQUIRE(gaze_utf8_validate(r.tokens[t], n, "token") == GAZE_OK, "token %lld not UTF-8", (long long)t);
    }
    // every kind as an ordinary run (an enc-dec run's decoder and cross parts)
    for (int k = 0; k < 3; k++) {
        const struct gaze_run * v = (gaze_run_kinds(&r) >> k) & 1 ? gaze_run_select_kind(&r, (enum gaze_kind)k) : NULL;
        FUZZ_REQUIRE(v || !((gaze_run_kinds(&r) >> k) & 1), "kind %d listed but not selectable", k);
        if (v) consumers(v);
    }
    // round trip through a file
    s = gaze_run_save(&r, g_path, false);
    FUZZ_REQUIRE(s == GAZE_OK, "a loaded run does not save: %s", gaze_last_error());
    struct gaze_run r2;
    s = gaze_run_load(&r2, g_path);
    FUZZ_REQUIRE(s == GAZE_OK, "a saved run does not load: %s", gaze_last_error());
    FUZZ_REQUIRE(r2.T == r.T && r2.Tq == r.Tq && r2.n_cap_layers == r.n_cap_layers && r2.n_heads_cap == r.n_heads_cap &&
                 r2.n_layers == r.n_layers && r2.causal == r.causal, "round trip changed the shape");
    for (int64_t t = 0; t < r.T; t++)
        FUZZ_REQUIRE(!strcmp(r.tokens[t], r2.tokens[t]) && r.token_ids[t] == r2.token_ids[t], "round trip changed token %lld", (long long)t);
    FUZZ_REQUIRE(gaze_run_kinds(&r) == gaze_run_kinds(&r2), "round trip changed the kinds");
    const struct gaze_run * parts[3][2] = { { &r, &r2 }, { r.decoder, r2.decoder }, { r.cross, r2.cross } };
    for (int k = 0; k < 3; k++) {
        const struct gaze_run * a = parts[k][0], * b = parts[k][1];
        if (!a) continue;
        FUZZ_REQUIRE(b && a->T == b->T && a->Tq == b->Tq && a->T_keys == b->T_keys && a->n_cap_layers == b->n_cap_layers,
                     "round trip changed the shape of kind %d", k);
        for (int64_t l = 0; l < a->n_cap_layers; l++)
            if (a->layers[l].attn) {
                const size_t n = (size_t)(a->n_heads_cap * a->Tq * gaze_run_n_keys(a));
                FUZZ_REQUIRE(b->layers[l].attn && !memcmp(a->layers[l].attn, b->layers[l].attn, n * sizeof(float)),
                             "round trip changed attention of layer %lld (kind %d)", (long long)l, k);
            }
    }
    gaze_run_free(&r2);
    gaze_run_free(&r);
    free(buf);
    return 0;
}
