// Fastest single call of gaze_attention_fused (1 head group, random Q/K/V as `gaze bench attention`):
// min over N calls of wall and of process CPU time, the steadiest yardsticks on a loaded machine
// (a call no other job interrupted or evicted). Issue 17 peer: bench/sdpa_cpu_min.py, same args.
//   gcc -O2 -Iinclude bench/attn_cpu_min.c build/libgaze.a -fopenmp -lm -ljansson -lutf8proc -o attn_cpu_min
//   ./attn_cpu_min H T d causal N [threads]
#include "gaze.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
static double now(clockid_t c) { struct timespec t; clock_gettime(c, &t); return t.tv_sec + 1e-9 * t.tv_nsec; }
int main(int argc, char ** argv) {
    int H = atoi(argv[1]), T = atoi(argv[2]), d = atoi(argv[3]), causal = atoi(argv[4]), N = atoi(argv[5]);
    int thr = argc > 6 ? atoi(argv[6]) : 1;
    struct gaze_attn_desc desc = gaze_attn_desc_make(1, H, H, T, T, d);
    desc.mask.causal = causal; desc.n_threads = thr;
    size_t n = (size_t)H * T * d;
    float * q = malloc(n * 4), * k = malloc(n * 4), * v = malloc(n * 4), * o = malloc(n * 4);
    uint64_t x = 42;
    for (size_t i = 0; i < n; i++) { x = x * 6364136223846793005ULL + 1; q[i] = (float)((x >> 40) & 0xFFFF) / 32768.0f - 1.0f; }
    for (size_t i = 0; i < n; i++) { x = x * 6364136223846793005ULL + 1; k[i] = (float)((x >> 40) & 0xFFFF) / 32768.0f - 1.0f; }
    for (size_t i = 0; i < n; i++) { x = x * 6364136223846793005ULL + 1; v[i] = (float)((x >> 40) & 0xFFFF) / 32768.0f - 1.0f; }
    struct gaze_view qv = { q, (int64_t)n, (int64_t)T * d, d }, kv = { k, (int64_t)n, (int64_t)T * d, d };
    struct gaze_view vv = { v, (int64_t)n, (int64_t)T * d, d }, ov = { o, (int64_t)n, (int64_t)T * d, d };
    gaze_attention_fused(&desc, &qv, &kv, &vv, &ov, NULL);
    double bw = 1e30, bc = 1e30;
    for (int r = 0; r < N; r++) {
        double w0 = now(CLOCK_MONOTONIC), c0 = now(CLOCK_PROCESS_CPUTIME_ID);
        gaze_attention_fused(&desc, &qv, &kv, &vv, &ov, NULL);
        double w = now(CLOCK_MONOTONIC) - w0, c = now(CLOCK_PROCESS_CPUTIME_ID) - c0;
        if (w < bw) bw = w;
        if (c < bc) bc = c;
    }
    double fl = 4.0 * H * (double)T * T * d / (causal ? 2 : 1);
    double cs = 0; for (size_t i = 0; i < n; i++) cs += o[i];
    printf("H%d T%d d%d c%d: min wall %.3f ms (%.1f GF/s) min cpu %.3f ms (%.1f GF/s) sum %.9g\n", H, T, d, causal, 1e3 * bw, fl / bw / 1e9, 1e3 * bc, fl / bc / 1e9, cs);
    return 0;
}
