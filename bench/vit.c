// In-process ViT timing: loads a vision model once, then times separately the image decode
// (gaze_image_load), the preprocessing (gaze_image_preprocess, as the model's HF processor) and
// the forward pass with capture (gaze_model_run_image: preprocessing again + forward + every
// layer's attention, all heads and rows). Used by bench/vit_vs_hf.py; also runs on its own.
//
//   build/bench/bench_vit MODEL_FOLDER IMAGE [--threads N] [--repeats N] [--warmup N] [--no-capture]
//
// Prints "decode_ms", "preprocess_ms", "run_ms" (medians) and "tokens T".
#include "gaze.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

static double median(double * v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_d);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char ** argv) {
    if (argc < 3) { fprintf(stderr, "usage: bench_vit MODEL_FOLDER IMAGE [--threads N] [--repeats N] [--warmup N] [--no-capture]\n"); return 2; }
    const char * folder = argv[1], * image = argv[2];
    int threads = 2, repeats = 5, warmup = 1;
    bool capture = true;
    for (int i = 3; i < argc; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--repeats") && i + 1 < argc) repeats = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--warmup") && i + 1 < argc) warmup = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--no-capture")) capture = false;
        else { fprintf(stderr, "bench_vit: unknown argument %s\n", argv[i]); return 2; }
    }
    if (repeats < 1 || repeats > 1000) repeats = 5;
    struct gaze_model * m;
    if (gaze_model_load(&m, folder)) { fprintf(stderr, "bench_vit: %s\n", gaze_last_error()); return 1; }
    struct gaze_image_proc proc;
    if (gaze_image_proc_load(&proc, folder, gaze_model_info(m)->image_size)) { fprintf(stderr, "bench_vit: %s\n", gaze_last_error()); return 1; }
    double * dec = calloc((size_t)repeats, sizeof *dec), * pre = calloc((size_t)repeats, sizeof *pre),
           * fwd = calloc((size_t)repeats, sizeof *fwd);
    struct gaze_run_opts o = { .n_threads = threads, .no_capture = !capture };
    int64_t T = 0;
    for (int r = -warmup; r < repeats; r++) {
        struct gaze_image img;
        double t0 = now_ms();
        if (gaze_image_load(&img, image, 0)) { fprintf(stderr, "bench_vit: %s\n", gaze_last_error()); return 1; }
        double t1 = now_ms();
        float * pv;
        int64_t h, w;
        if (gaze_image_preprocess(&proc, &img, &pv, &h, &w, NULL)) { fprintf(stderr, "bench_vit: %s\n", gaze_last_error()); return 1; }
        double t2 = now_ms();
        free(pv);
        struct gaze_run run;
        double t3 = now_ms();
        if (gaze_model_run_image(m, &img, image, &o, &run)) { fprintf(stderr, "bench_vit: %s\n", gaze_last_error()); return 1; }
        double t4 = now_ms();
        T = run.T;
        gaze_run_free(&run);
        gaze_image_free(&img);
        if (r >= 0) { dec[r] = t1 - t0; pre[r] = t2 - t1; fwd[r] = t4 - t3; }
    }
    printf("tokens %lld\ndecode_ms %.3f\npreprocess_ms %.3f\nrun_ms %.1f\n", (long long)T, median(dec, repeats),
           median(pre, repeats), median(fwd, repeats));
    free(dec); free(pre); free(fwd);
    gaze_model_free(m);
    return 0;
}
