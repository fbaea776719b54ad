// The cost of the norm-based attributions against plain capture (issue 18's speed bar: value-norm
// and ALTI for every head of MiniLM at 128 tokens within 2× the plain capture time). Loads the
// model once; per repeat, alternately, one run capturing every layer's attention (the default)
// and one run computing value-norm (per head and summed) and ALTI (gaze_run_opts.attrib, every
// head and layer, no other capture); medians of wall and CPU time (CPU time: less sensitive to
// other load on a shared machine).
//
//   build/bench/bench_attrib [--model DIR] [--tokens 128] [--words N] [--threads 1] [--repeats 9]
// The text is --words words (default 2 × --tokens), truncated to --tokens by encoders; decoders
// run it whole (SmolLM2: one token a word, so --words 128 gives T = 128).
#include "gaze.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double clock_ms(clockid_t id) {
    struct timespec ts;
    clock_gettime(id, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
}

static int cmp_d(const void * a, const void * b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double * v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_d);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// One run; wall and CPU milliseconds into *wall, *cpu; the token count into *T. Nonzero: failed.
static int one(struct gaze_model * m, const char * text, const struct gaze_run_opts * o, double * wall, double * cpu,
               int64_t * T) {
    struct gaze_run run;
    const double c0 = clock_ms(CLOCK_PROCESS_CPUTIME_ID), t0 = clock_ms(CLOCK_MONOTONIC);
    const enum gaze_status s = gaze_model_run(m, text, NULL, o, &run);
    *wall = clock_ms(CLOCK_MONOTONIC) - t0;
    *cpu = clock_ms(CLOCK_PROCESS_CPUTIME_ID) - c0;
    if (s) { fprintf(stderr, "bench_attrib: %s\n", gaze_last_error()); return 1; }
    *T = run.T;
    gaze_run_free(&run);
    return 0;
}

int main(int argc, char ** argv) {
    char model[4096];
    const char * home = getenv("HOME");
    snprintf(model, sizeof model, "%s/.cache/gaze/models/minilm", home ? home : ".");
    int tokens = 128, threads = 1, repeats = 9, words_n = 0;
    for (int i = 1; i < argc; i++) {
        const char * v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(argv[i], "--model") && v) { snprintf(model, sizeof model, "%s", v); i++; }
        else if (!strcmp(argv[i], "--tokens") && v) { tokens = atoi(v); i++; }
        else if (!strcmp(argv[i], "--threads") && v) { threads = atoi(v); i++; }
        else if (!strcmp(argv[i], "--words") && v) { words_n = atoi(v); i++; }
        else if (!strcmp(argv[i], "--repeats") && v) { repeats = atoi(v); i++; }
        else {
            fprintf(stderr, "usage: bench_attrib [--model DIR] [--tokens N] [--words N] [--threads N] [--repeats N]\n");
            return 2;
        }
    }
    if (words_n <= 0) words_n = tokens * 2;
    if (tokens < 4 || repeats < 1 || repeats > 1000 || words_n > 100000) {
        fprintf(stderr, "bench_attrib: bad --tokens, --words or --repeats\n");
        return 2;
    }
    struct gaze_model * m = NULL;
    if (gaze_model_load(&m, model)) { fprintf(stderr, "bench_attrib: %s\n", gaze_last_error()); return 1; }
    // a text longer than needed, truncated to exactly `tokens` by the tokenizer
    const char * words[] = { "the", "keys", "to", "the", "cabinet", "are", "on", "a", "table", "near", "window" };
    char * text = malloc((size_t)words_n * 8 + 1);
    if (!text) return 1;
    text[0] = 0;
    size_t len = 0;
    for (int i = 0; i < words_n; i++) len += (size_t)sprintf(text + len, "%s%s", i ? " " : "", words[i % 11]);
    struct gaze_run_opts plain = { .n_threads = threads, .max_len = tokens, .truncate = true };
    struct gaze_attrib a = { .want = GAZE_ATTRIB_VNORM | GAZE_ATTRIB_ALTI };
    struct gaze_run_opts attrib = { .n_threads = threads, .max_len = tokens, .truncate = true, .no_capture = true,
                                    .attrib = &a };
    double * w = malloc(4 * (size_t)repeats * sizeof *w);
    if (!w) return 1;
    double * c = w + repeats, * wa = c + repeats, * ca = wa + repeats;
    int64_t T = 0, Ta = 0;
    double dw, dc;
    if (one(m, text, &plain, &dw, &dc, &T) || one(m, text, &attrib, &dw, &dc, &Ta)) return 1;   // warm-up
    for (int r = 0; r < repeats; r++)
        if (one(m, text, &plain, &w[r], &c[r], &T) || one(m, text, &attrib, &wa[r], &ca[r], &Ta)) return 1;
    const double mw = median(w, repeats), mc = median(c, repeats), mwa = median(wa, repeats), mca = median(ca, repeats);
    printf("model %s, T = %lld, %d threads, %d repeats (medians)\n", model, (long long)T, threads, repeats);
    printf("plain capture (every layer's attention): wall %.1f ms, CPU %.1f ms\n", mw, mc);
    printf("value-norm + ALTI (every head and layer): wall %.1f ms, CPU %.1f ms\n", mwa, mca);
    printf("ratio: wall %.2f, CPU %.2f (bar: <= 2)\n", mwa / mw, mca / mc);
    gaze_attrib_free(&a);
    free(w);
    free(text);
    gaze_model_free(m);
    return Ta == T ? 0 : 1;
}
