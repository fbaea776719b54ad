// Prompt-side quantized products (the "kernel lab" for the multi-row packed kernels): one
// SmolLM2-135M layer's seven products (q, k, v, o, gate, up, down; n_in 576 or 1536) packed as
// the model packs them (gaze_quant_pack_init) and run on T tokens (default 512), per weight type.
// Reports process CPU time per layer (best of reps; CPU time because the machine this was
// written on is shared: wall time measured the scheduler) and GMAC/s. Build the same file
// against another libgaze.a to compare two builds in one interleaved run.
//   build/bench/bench_quant_prompt [threads] [T] [reps] [types: Q8_0,Q6_K,...] [only: product 0-6]
#include "gaze.h"
#include "kernels/quant.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double cpu_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static enum gaze_type type_by_name(const char * s) {
    for (int c = 0; c < 64; c++) {
        const char * n = gaze_type_name((enum gaze_type)c);
        if (n && strcmp(n, s) == 0) return (enum gaze_type)c;
    }
    return (enum gaze_type)-1;
}

int main(int argc, char ** argv) {
    const int nt = argc > 1 ? atoi(argv[1]) : 1;
    const int64_t T = argc > 2 ? atoll(argv[2]) : 512;
    const int reps = argc > 3 ? atoi(argv[3]) : 3;
    char types[256] = "Q8_0,Q6_K";
    if (argc > 4) snprintf(types, sizeof types, "%s", argv[4]);
    const int only = argc > 5 ? atoi(argv[5]) : -1;   // time only product `only` (6: ffn_down)
    enum { NM = 7 };
    const int64_t shp[NM][2] = { { 576, 576 }, { 576, 192 }, { 576, 192 }, { 576, 576 },
                                 { 576, 1536 }, { 576, 1536 }, { 1536, 576 } };   // n_in, n_out
    float * x = gaze_alloc_aligned((size_t)(T * 1536) * 4), * y = gaze_alloc_aligned((size_t)(T * 1536) * 4);
    float * row = malloc(1536 * 4);
    for (int64_t i = 0; i < T * 1536; i++) x[i] = (float)((i * 7919) % 1000) / 500.0f - 1.0f;
    printf("threads %d, T %lld, best of %d, process CPU time per layer (7 products)\n", nt, (long long)T, reps);
    for (char * tok = strtok(types, ","); tok; tok = strtok(NULL, ",")) {
        const enum gaze_type t0 = type_by_name(tok);
        if ((int)t0 < 0 || !gaze_type_supported(t0)) { fprintf(stderr, "unknown type %s\n", tok); return 1; }
        struct gaze_quant_packed pk[NM];
        uint8_t * w[NM];
        uint64_t seed = 11;
        double macs = 0;
        for (int m = 0; m < NM; m++) {
            const int64_t n_in = shp[m][0], n_out = shp[m][1];
            // 256-blocks do not fit 576-wide rows: those fall back to Q8_0 as llama-quantize does for Q6_K
            const enum gaze_type t = n_in % gaze_type_block_size(t0) ? GAZE_TYPE_Q8_0 : t0;
            const size_t rb = gaze_type_row_bytes(t, n_in);
            w[m] = gaze_alloc_aligned(rb * (size_t)n_out);
            for (int64_t r = 0; r < n_out; r++) {
                for (int64_t i = 0; i < n_in; i++) {
                    seed = seed * 6364136223846793005ull + 1442695040888963407ull;
                    row[i] = ((float)(seed >> 40) / 16777216.0f - 0.5f) * 0.1f;
                }
                gaze_quantize(t, row, w[m] + (size_t)r * rb, n_in);
            }
            gaze_quant_pack_init(&pk[m], w[m], t, n_out, n_in);
            if (only < 0 || only == m) macs += (double)n_in * (double)n_out * (double)T;
        }
        double best = 1e30;
        for (int rep = 0; rep < reps; rep++) {
            const double c0 = cpu_now();
            for (int m = 0; m < NM; m++)
                if (only < 0 || only == m) gaze_quant_linear_forward_packed(&pk[m], x, T, y, nt);
            const double dt = cpu_now() - c0;
            if (dt < best) best = dt;
        }
        double chk = 0;
        for (int64_t i = 0; i < T * 576; i++) chk += y[i];
        printf("%-5s%s  %8.2f ms  %6.1f GMAC/s (CPU)  checksum %.6g\n", tok, only >= 0 ? " (one product)" : "", best * 1e3, macs / best * 1e-9, chk);
        fflush(stdout);
        for (int m = 0; m < NM; m++) { gaze_quant_pack_free(&pk[m]); gaze_free_aligned(w[m]); }
    }
    gaze_free_aligned(x);
    gaze_free_aligned(y);
    free(row);
    return 0;
}
