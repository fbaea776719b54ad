// In-process encoder-decoder timing: loads a T5/BART/Marian folder once, then times greedy
// generation from given source ids with full capture (encoder, decoder and cross attention of
// every layer and head: s2s_generate). Used by bench/seq2seq.py; also runs on its own.
//
//   build/bench/bench_seq2seq MODEL_FOLDER [--src N] [--gen N] [--threads N] [--repeats N] [--no-capture]
//                             [--beams N] [--serve]
//
// Source ids are 2 + (i·2654435761 mod (V - 2)). Prints "generate_ms" (median), "decoder_tokens",
// "peak_rss_mib" (the process's, after the runs). --serve: bench/bert_vs_hf.py's worker protocol
// (one warm-up, "ready ...", then per "run" line on stdin "ms WALL cpu CPU", at "quit"
// "maxrss_kib N"), so bench/seq2seq.py can interleave it with transformers in one run.
#include "models/seq2seq.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
}

static int cmp_d(const void * a, const void * b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char ** argv) {
    if (argc < 2) { fprintf(stderr, "usage: bench_seq2seq MODEL_FOLDER [--src N] [--gen N] [--threads N] [--repeats N] [--no-capture]\n"); return 2; }
    int src_n = 128, gen = 32, threads = 2, repeats = 3;
    bool capture = true, serve = false;
    int beams = 1;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--src") && i + 1 < argc) src_n = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--gen") && i + 1 < argc) gen = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--repeats") && i + 1 < argc) repeats = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--no-capture")) capture = false;
        else if (!strcmp(argv[i], "--serve")) serve = true;
        else if (!strcmp(argv[i], "--beams") && i + 1 < argc) beams = atoi(argv[++i]);
        else { fprintf(stderr, "bench_seq2seq: unknown argument %s\n", argv[i]); return 2; }
    }
    if (src_n < 1 || src_n > 65536 || gen < 0 || gen > 65536 || repeats < 1 || repeats > 1000) return 2;
    struct s2s * m;
    if (s2s_load(argv[1], &m)) { fprintf(stderr, "bench_seq2seq: %s\n", gaze_last_error()); return 1; }
    int32_t * src = malloc((size_t)src_n * sizeof *src);
    for (int i = 0; i < src_n; i++) src[i] = 2 + (int32_t)(((uint64_t)i * 2654435761u) % (uint64_t)(m->cfg.V - 2));
    const struct s2s_gen g = { .beams = beams };
    struct rusage lr;
    getrusage(RUSAGE_SELF, &lr);
    const double load_peak_mib = lr.ru_maxrss / 1024.0;   // the load's own peak, before any run
    if (serve) {
        struct s2s_result res;
        if (s2s_generate_ex(m, src, src_n, gen, capture, threads, &g, &res)) { fprintf(stderr, "bench_seq2seq: %s\n", gaze_last_error()); return 1; }
        printf("ready T=%d Tt=%lld threads=%d beams=%d capture=%d load_peak_rss_mib=%.1f\n", src_n, (long long)res.Tt,
               threads, beams, capture, load_peak_mib);
        fflush(stdout);
        s2s_result_free(&res);
        char line[64];
        while (fgets(line, sizeof line, stdin) && strncmp(line, "quit", 4)) {
            struct rusage r0, r1;
            getrusage(RUSAGE_SELF, &r0);
            double t0 = now_ms();
            if (s2s_generate_ex(m, src, src_n, gen, capture, threads, &g, &res)) { fprintf(stderr, "bench_seq2seq: %s\n", gaze_last_error()); return 1; }
            double t1 = now_ms();
            getrusage(RUSAGE_SELF, &r1);
            s2s_result_free(&res);
            const double cpu = (r1.ru_utime.tv_sec - r0.ru_utime.tv_sec + r1.ru_stime.tv_sec - r0.ru_stime.tv_sec) * 1e3 +
                               (r1.ru_utime.tv_usec - r0.ru_utime.tv_usec + r1.ru_stime.tv_usec - r0.ru_stime.tv_usec) * 1e-3;
            printf("ms %.4f cpu %.4f\n", t1 - t0, cpu);
            fflush(stdout);
        }
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        printf("maxrss_kib %ld\n", ru.ru_maxrss);
        free(src);
        s2s_free(m);
        return 0;
    }
    double * t = calloc((size_t)repeats, sizeof *t);
    int64_t Tt = 0;
    for (int r = -1; r < repeats; r++) {
        struct s2s_result res;
        double t0 = now_ms();
        if (s2s_generate_ex(m, src, src_n, gen, capture, threads, &g, &res)) { fprintf(stderr, "bench_seq2seq: %s\n", gaze_last_error()); return 1; }
        double t1 = now_ms();
        Tt = res.Tt;
        s2s_result_free(&res);
        if (r >= 0) t[r] = t1 - t0;
    }
    qsort(t, (size_t)repeats, sizeof *t, cmp_d);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("decoder_tokens %lld\ngenerate_ms %.1f\nload_peak_rss_mib %.1f\npeak_rss_mib %.1f\n", (long long)Tt, t[repeats / 2],
           load_peak_mib, ru.ru_maxrss / 1024.0);
    free(t);
    free(src);
    s2s_free(m);
    return 0;
}
