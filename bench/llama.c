// Llama benchmark driver: loads a GGUF model once and times, in-process, prompt processing and
// greedy generation through gaze_model_run, with capture off and with full capture (every
// layer and head: the prompt's attention and each generated token's row).
//
//   prompt time      = run(prompt, generate 0)
//   generation time  = run(prompt, generate G) - run(prompt, generate 0), per generated token
// (the same split llama.cpp's perf counters make: prompt eval, then single-token decodes over
// the growing context). Each repetition runs the four configurations back to back; the best
// (minimum) time of each is reported, as the machine may be shared. Tokenization and run
// allocation are inside the timings (a few ms).
//
// --output-share also times the output projection alone (output.weight, else the tied
// token_embd.weight, [V, C]) on one token's hidden state, prepared as the model prepares it,
// and prints its share of a generated token's time: for Gemma 3's 262144-row vocabulary the
// largest single matrix of a decoding step.
//
//   build/bench/bench_llama MODEL.gguf PROMPT_FILE [--gen 128] [--reps 3] [--threads 2] [--exact] [--json]
//                           [--no-capture]   (capture-off runs only; the capture columns are then 0)
//                           [--output-share]
#include "gaze.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static char * read_file(const char * path) {
    FILE * f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char * s = malloc((size_t)n + 1);
    if (s && fread(s, 1, (size_t)n, f) != (size_t)n) { free(s); s = NULL; }
    if (s) s[n] = 0;
    fclose(f);
    return s;
}

// This process's CPU time (user + system: page faults and the kernel's zeroing of fresh pages
// count), the fairer yardstick at one thread on a loaded machine, where wall time measures the
// scheduler (bench/results/llama.md).
static double cpu_s(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + 1e-6 * (double)ru.ru_utime.tv_usec +
           (double)ru.ru_stime.tv_sec + 1e-6 * (double)ru.ru_stime.tv_usec;
}

struct timing { double t, cpu; int64_t T, n_gen; };

// Best-of-reps seconds of one output projection (T = 1), or -1 when the file has none.
static double time_output(const char * path, int reps, int threads) {
    struct gaze_gguf * g = NULL;
    if (gaze_gguf_open(path, &g) != GAZE_OK) return -1;
    const struct gaze_gguf_tensor * t = gaze_gguf_find_tensor(g, "output.weight");
    if (!t) t = gaze_gguf_find_tensor(g, "token_embd.weight");
    double best = -1;
    if (t) {
        struct gaze_linear lin = { .type = t->type, .n_out = t->ne[1], .n_in = t->ne[0], .weight = t->data };
        float * x = calloc((size_t)lin.n_in, sizeof *x), * y = malloc((size_t)lin.n_out * sizeof *y);
        for (int64_t i = 0; x && i < lin.n_in; i++) x[i] = (float)((i * 7919) % 13) / 13.0f - 0.5f;
        if (x && y && gaze_linear_prepare(&lin) == GAZE_OK) {
            for (int r = 0; r < 4 * reps + 2; r++) {   // the first two page the weight in
                double t0 = now_s();
                if (gaze_linear_forward(&lin, x, 1, y, threads) != GAZE_OK) { best = -1; break; }
                double dt = now_s() - t0;
                if (r >= 2 && (best < 0 || dt < best)) best = dt;
            }
            gaze_linear_release(&lin);
        }
        free(x);
        free(y);
    }
    gaze_gguf_free(g);
    return best;
}

static int timed_run(struct gaze_model * m, const char * text, int64_t gen, bool capture, int threads,
                     struct timing * out) {
    struct gaze_run_opts o = { 0 };
    o.generate = gen;
    o.no_capture = !capture;
    o.n_threads = threads;
    struct gaze_run run;
    double t0 = now_s(), c0 = cpu_s();
    enum gaze_status s = gaze_model_run(m, text, NULL, &o, &run);
    double t = now_s() - t0, c = cpu_s() - c0;
    if (s) { fprintf(stderr, "bench_llama: run: %s\n", gaze_last_error()); return 1; }
    if (!out->t || t < out->t) out->t = t;
    if (!out->cpu || c < out->cpu) out->cpu = c;
    out->T = run.T - run.n_generated;
    out->n_gen = run.n_generated;
    gaze_run_free(&run);
    return 0;
}

int main(int argc, char ** argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s MODEL.gguf PROMPT_FILE [--gen N] [--reps N] [--threads N] [--exact] [--json] [--no-capture]\n", argv[0]);
        return 2;
    }
    int64_t gen = 128;
    int reps = 3, threads = 2;
    bool exact = false, json = false, with_capture = true, out_share = false;
    for (int i = 3; i < argc; i++) {
        const char * a = argv[i], * v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--gen") && v) { gen = atoll(v); i++; }
        else if (!strcmp(a, "--reps") && v) { reps = atoi(v); i++; }
        else if (!strcmp(a, "--threads") && v) { threads = atoi(v); i++; }
        else if (!strcmp(a, "--exact")) exact = true;
        else if (!strcmp(a, "--json")) json = true;
        else if (!strcmp(a, "--no-capture")) with_capture = false;
        else if (!strcmp(a, "--output-share")) out_share = true;
        else { fprintf(stderr, "bench_llama: unknown argument %s\n", a); return 2; }
    }
    // every part of gaze on `threads` threads, also the calls that take no thread count
    // (elementwise ops, packing at load), so "1 thread" means one, as for llama-bench -t 1
    gaze_set_default_threads(threads);
    char * text = read_file(argv[2]);
    if (!text) { fprintf(stderr, "bench_llama: cannot read %s\n", argv[2]); return 2; }
    struct gaze_model * m = NULL;
    double t0 = now_s();
    if (gaze_model_load(&m, argv[1]) != GAZE_OK) { fprintf(stderr, "bench_llama: %s\n", gaze_last_error()); return 1; }
    if (exact && gaze_model_set_exact(m, true) != GAZE_OK) { fprintf(stderr, "bench_llama: %s\n", gaze_last_error()); return 1; }
    const double t_load = now_s() - t0;

    // warm-up: page in the weights, let the CPU clock settle
    struct timing warm = { 0 };
    if (timed_run(m, "The quick brown fox jumps over the lazy dog.", 4, false, threads, &warm)) return 1;
    struct timing pp_off = { 0 }, all_off = { 0 }, pp_cap = { 0 }, all_cap = { 0 };
    for (int r = 0; r < reps; r++) {
        if (timed_run(m, text, 0, false, threads, &pp_off) || timed_run(m, text, gen, false, threads, &all_off))
            return 1;
        if (with_capture && (timed_run(m, text, 0, true, threads, &pp_cap) || timed_run(m, text, gen, true, threads, &all_cap)))
            return 1;
    }
    const double tg_off = all_off.t - pp_off.t, tg_cap = all_cap.t - pp_cap.t;
    const int64_t T = pp_off.T, G = all_off.n_gen;
    if (G != gen || (with_capture && all_cap.n_gen != gen))
        fprintf(stderr, "bench_llama: warning: EOS after %lld of %lld generated tokens\n", (long long)G, (long long)gen);
    const char * mode = exact ? "exact (f32 weights)" : "default (quantized)";
    const double t_out = out_share && !exact ? time_output(argv[1], reps, threads) : -1;
    if (json) {
        printf("{\"mode\": \"%s\", \"isa\": \"%s\", \"threads\": %d, \"reps\": %d, \"load_s\": %.4f, \"prompt_tokens\": %lld, "
               "\"gen_tokens\": %lld, \"pp_off_s\": %.6f, \"pp_cap_s\": %.6f, \"tg_off_s\": %.6f, \"tg_cap_s\": %.6f, "
               "\"output_proj_s\": %.6f, \"pp_off_cpu_s\": %.6f, \"pp_cap_cpu_s\": %.6f, \"tg_off_cpu_s\": %.6f, "
               "\"tg_cap_cpu_s\": %.6f}\n",
               exact ? "exact" : "quantized", gaze_isa_name(gaze_isa_active()), threads, reps, t_load, (long long)T,
               (long long)G, pp_off.t, pp_cap.t, tg_off, tg_cap, t_out, pp_off.cpu, pp_cap.cpu,
               all_off.cpu - pp_off.cpu, all_cap.cpu - pp_cap.cpu);
    } else if (!with_capture) {
        printf("gaze %s, %s, %d threads, best of %d; load %.2f s\n", mode, gaze_isa_name(gaze_isa_active()), threads, reps, t_load);
        printf("  prompt %lld tokens:     %8.3f s %8.1f tok/s\n", (long long)T, pp_off.t, (double)T / pp_off.t);
        printf("  generation %lld tokens: %8.3f s %8.1f tok/s\n", (long long)G, tg_off, (double)G / tg_off);
    } else {
        printf("gaze %s, %s, %d threads, best of %d; load %.2f s\n", mode, gaze_isa_name(gaze_isa_active()), threads, reps, t_load);
        printf("  prompt %lld tokens:     capture off %8.3f s %8.1f tok/s | full capture %8.3f s %8.1f tok/s (x%.2f)\n",
               (long long)T, pp_off.t, (double)T / pp_off.t, pp_cap.t, (double)T / pp_cap.t, pp_cap.t / pp_off.t);
        printf("  generation %lld tokens: capture off %8.3f s %8.1f tok/s | full capture %8.3f s %8.1f tok/s (x%.2f)\n",
               (long long)G, tg_off, (double)G / tg_off, tg_cap, (double)G / tg_cap, tg_cap / tg_off);
        if (t_out > 0)
            printf("  output projection alone (1 token): %.3f ms = %.1f%% of a generated token's %.3f ms (capture off)\n",
                   1e3 * t_out, 100.0 * t_out * (double)G / tg_off, 1e3 * tg_off / (double)G);
    }
    gaze_model_free(m);
    free(text);
    return 0;
}
