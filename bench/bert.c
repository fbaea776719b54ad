// In-process BERT timing: loads a model once and times gaze_model_run (tokenize + forward +
// capture of every layer's attention, all heads and rows, + pooled embedding) on one text,
// without process start-up or file output. Used by bench/bert_vs_hf.py, which interleaves it
// with HF transformers; also runs on its own.
//
//   build/bench/bench_bert [--model minilm] [--text-file F | --text "..."] [--threads N]
//                          [--repeats N] [--warmup N] [--no-capture] [--serve]
//                          [--avx2-versions 2,5]
//
// --avx2-versions: the AVX2 GEMM lab (src/kernels/gemm.h) on the whole forward: each repeat
// runs every listed version once (in rotating order, same process, same loaded model) and the
// medians and minimums of wall and CPU time are printed per version (AVX2 CPUs only).
//
// --serve: after loading and warm-up prints "ready T=<tokens>", then for every line "run" on
// stdin times one run and prints "ms <milliseconds>"; "quit" (or EOF) exits. Otherwise prints
// the median of --repeats runs. Always ends with "maxrss_kib <peak RSS>" (VmHWM: this process only).
#include "gaze.h"
#include "kernels/gemm.h"   // gemm_avx2_lab_version (--avx2-versions)
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double clock_ms(clockid_t id) {
    struct timespec ts;
    clock_gettime(id, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
}
static double now_ms(void) { return clock_ms(CLOCK_MONOTONIC); }
// CPU time of all threads of the process: less sensitive than wall time to other load on a
// shared machine (but it counts OpenMP threads spinning at barriers).
static double cpu_ms(void) { return clock_ms(CLOCK_PROCESS_CPUTIME_ID); }

static int cmp_d(const void * a, const void * b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static char * read_text(const char * path) {
    FILE * f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char * s = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (s && fread(s, 1, (size_t)n, f) != (size_t)n) { free(s); s = NULL; }
    if (s) s[n] = 0;
    fclose(f);
    return s;
}

// One timed run; returns wall milliseconds (or -1 on failure, message printed); *cpu: CPU ms.
static double one_run(struct gaze_model * m, const char * text, const struct gaze_run_opts * o, int64_t * T,
                      double * cpu) {
    struct gaze_run run;
    double c0 = cpu_ms(), t0 = now_ms();
    enum gaze_status s = gaze_model_run(m, text, NULL, o, &run);
    double ms = now_ms() - t0;
    *cpu = cpu_ms() - c0;
    if (s) { fprintf(stderr, "bench_bert: %s\n", gaze_last_error()); return -1; }
    *T = run.T;
    gaze_run_free(&run);
    return ms;
}

int main(int argc, char ** argv) {
    const char * model_path = "minilm", * text_file = NULL, * text_arg = NULL;
    int repeats = 20, warmup = 3;
    bool serve = false;
    int vers[8], n_vers = 0;
    struct gaze_run_opts opts = { 0 };   // zero = capture every layer and head (attention)
    for (int i = 1; i < argc; i++) {
        const char * a = argv[i], * v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--model") && v) { model_path = v; i++; }
        else if (!strcmp(a, "--text-file") && v) { text_file = v; i++; }
        else if (!strcmp(a, "--text") && v) { text_arg = v; i++; }
        else if (!strcmp(a, "--threads") && v) { opts.n_threads = atoi(v); i++; }
        else if (!strcmp(a, "--repeats") && v) { repeats = atoi(v); i++; }
        else if (!strcmp(a, "--warmup") && v) { warmup = atoi(v); i++; }
        else if (!strcmp(a, "--no-capture")) opts.no_capture = true;
        else if (!strcmp(a, "--serve")) serve = true;
        else if (!strcmp(a, "--avx2-versions") && v) {
            char * dup = strdup(v);
            for (char * tok = strtok(dup, ","); tok && n_vers < 8; tok = strtok(NULL, ","))
                if (atoi(tok) >= 1 && atoi(tok) <= 8) vers[n_vers++] = atoi(tok);
            free(dup);
            i++;
        }
        else {
            fprintf(stderr, "usage: bench_bert [--model minilm] [--text-file F | --text S] [--threads N] "
                            "[--repeats N] [--warmup N] [--no-capture] [--serve] [--avx2-versions 2,5]\n");
            return 2;
        }
    }
    char * text = text_file ? read_text(text_file) : strdup(text_arg ? text_arg :
        "Attention lets every token of a sentence look at every other token, and the weights say how much.");
    if (!text) { fprintf(stderr, "bench_bert: cannot read %s\n", text_file); return 1; }
    if (repeats < 1) repeats = 1;

    struct gaze_model * m = NULL;
    double t0 = now_ms();
    if (gaze_model_load(&m, model_path)) { fprintf(stderr, "bench_bert: %s\n", gaze_last_error()); return 1; }
    double load_ms = now_ms() - t0;
    int64_t T = 0;
    double cpu;
    for (int i = 0; i < warmup; i++)
        if (one_run(m, text, &opts, &T, &cpu) < 0) return 1;
    if (n_vers > 0 && !serve) {
        if (gaze_isa_active() != GAZE_ISA_AVX2) { fprintf(stderr, "bench_bert: --avx2-versions needs the AVX2 ISA active\n"); return 2; }
        double * ms = malloc(sizeof(double) * (size_t)(repeats * n_vers)), * cms = malloc(sizeof(double) * (size_t)(repeats * n_vers));
        for (int w = 0; w < n_vers; w++) {   // one warm-up run of each
            gemm_avx2_lab_version(vers[w]);
            if (one_run(m, text, &opts, &T, &cpu) < 0) return 1;
        }
        for (int r = 0; r < repeats; r++)
            for (int j = 0; j < n_vers; j++) {
                const int w = (j + r) % n_vers;
                gemm_avx2_lab_version(vers[w]);
                if ((ms[w * repeats + r] = one_run(m, text, &opts, &T, &cms[w * repeats + r])) < 0) return 1;
            }
        printf("model %s: T=%lld, %s capture, %d threads, %d interleaved repeats\n", model_path, (long long)T,
               opts.no_capture ? "no" : "full", opts.n_threads > 0 ? opts.n_threads : gaze_default_threads(), repeats);
        for (int w = 0; w < n_vers; w++) {
            qsort(ms + w * repeats, (size_t)repeats, sizeof *ms, cmp_d);
            qsort(cms + w * repeats, (size_t)repeats, sizeof *cms, cmp_d);
            printf("  avx2 v%d: wall median %.3f ms (min %.3f); CPU median %.3f ms (min %.3f)\n", vers[w],
                   ms[w * repeats + repeats / 2], ms[w * repeats], cms[w * repeats + repeats / 2], cms[w * repeats]);
        }
        free(ms);
        free(cms);
    } else if (serve) {
        printf("ready T=%lld load_ms=%.3f isa=%s threads=%d\n", (long long)T, load_ms, gaze_isa_name(gaze_isa_active()),
               opts.n_threads > 0 ? opts.n_threads : gaze_default_threads());
        fflush(stdout);
        char line[64];
        while (fgets(line, sizeof line, stdin) && strncmp(line, "quit", 4)) {
            double ms = one_run(m, text, &opts, &T, &cpu);
            if (ms < 0) return 1;
            printf("ms %.4f cpu %.4f\n", ms, cpu);
            fflush(stdout);
        }
    } else {
        double * ms = malloc((size_t)repeats * sizeof *ms), * cms = malloc((size_t)repeats * sizeof *cms);
        for (int i = 0; i < repeats; i++)
            if ((ms[i] = one_run(m, text, &opts, &T, &cms[i])) < 0) return 1;
        qsort(ms, (size_t)repeats, sizeof *ms, cmp_d);
        qsort(cms, (size_t)repeats, sizeof *cms, cmp_d);
        double med = ms[repeats / 2];
        printf("model %s: T=%lld, %s capture, %d threads, ISA %s: load %.1f ms; run median %.3f ms "
               "(min %.3f, max %.3f, %d repeats) = %.0f tokens/s; CPU time median %.3f ms\n", model_path,
               (long long)T, opts.no_capture ? "no" : "full", opts.n_threads > 0 ? opts.n_threads : gaze_default_threads(),
               gaze_isa_name(gaze_isa_active()), load_ms, med, ms[0], ms[repeats - 1], repeats, T / (med * 1e-3),
               cms[repeats / 2]);
        free(ms);
        free(cms);
    }
    gaze_model_free(m);
    free(text);
    printf("maxrss_kib %ld\n", (long)gaze_peak_rss_kib());
    return 0;
}
