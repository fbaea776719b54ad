// gaze_quant_linear_forward on the SmolLM2-135M shapes (Q4_1 blocks, Q8_0 tied embedding as
// output head) at T = 1 (generation: GB/s of weights streamed) and T = 512 (prompt: GFLOP/s),
// against a dequantize-then-f32 baseline (the same shapes with f32 weights) in the same run.
// Also composes the per-token cost of the 30 blocks + head into tokens/s equivalents.
//   build/bench/bench_quant [n_threads] [time_scale] [cpu]
#include "gaze.h"
#include "kernels/quant.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

// Wall clock by default; "cpu" as third argument times process CPU time instead, which on a
// shared, loaded machine gives a usable single-thread (n_threads = 1) figure.
static clockid_t g_clock = CLOCK_MONOTONIC;

static double now(void) {
    struct timespec ts;
    clock_gettime(g_clock, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_d(const void * a, const void * b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

// Median over 5 runs of the mean time of one call (each run lasts >= min_s). pk != NULL: the
// pre-packed entry point.
static double time_call(const struct gaze_quant_packed * pk, const void * w, enum gaze_type t,
                        int64_t n_out, int64_t n_in, const float * x, int64_t T, float * y, int nt,
                        double min_s) {
#define CALL() (pk ? gaze_quant_linear_forward_packed(pk, x, T, y, nt) \
                   : gaze_quant_linear_forward(w, t, n_out, n_in, x, T, y, nt))
    CALL();   // warm-up
    double runs[5];
    for (int k = 0; k < 5; k++) {
        int n = 0;
        const double t0 = now();
        double t1;
        do { CALL(); n++; } while ((t1 = now()) - t0 < min_s);
        runs[k] = (t1 - t0) / n;
    }
#undef CALL
    qsort(runs, 5, sizeof runs[0], cmp_d);
    return runs[2];
}

struct shape { const char * name; int64_t n_in, n_out; int per_layer; enum gaze_type t; };

int main(int argc, char ** argv) {
    const int nt = argc > 1 ? atoi(argv[1]) : gaze_default_threads();
    const double min_s = argc > 2 ? atof(argv[2]) * 0.05 : 0.05;
    if (argc > 3 && !strcmp(argv[3], "cpu")) g_clock = CLOCK_PROCESS_CPUTIME_ID;
    const struct shape shapes[] = {
        { "attn_q/attn_output 576->576", 576, 576, 2, GAZE_TYPE_Q4_1 },
        { "attn_k/attn_v 576->192", 576, 192, 2, GAZE_TYPE_Q4_1 },
        { "ffn_gate/ffn_up 576->1536", 576, 1536, 2, GAZE_TYPE_Q4_1 },
        { "ffn_down 1536->576", 1536, 576, 1, GAZE_TYPE_Q4_1 },
        { "output head 576->49152", 576, 49152, 0, GAZE_TYPE_Q8_0 },
    };
    const int64_t Ts[2] = { 1, 512 };
    printf("gaze bench_quant: isa %s (avx512 quant kernel %s), threads %d, %s time\n", gaze_isa_name(gaze_isa_active()),
           quant_avx512_usable() ? "on" : "off", nt, g_clock == CLOCK_MONOTONIC ? "wall" : "process CPU");
    printf("raw: gaze_quant_linear_forward on ggml blocks (T >= 3 repacks on the fly); packed: weights\n"
           "packed once (gaze_quant_pack_init); f32: the same product on dequantized f32 weights.\n\n");
    printf("%-28s %4s | %9s %7s %6s | %9s %7s %6s | %9s %7s %6s | %7s\n", "shape", "T", "raw us", "GFLOP/s", "GB/s",
           "packed us", "GFLOP/s", "GB/s", "f32 us", "GFLOP/s", "GB/s", "f32/pk");
    double layer[3][2] = { { 0 } }, head[3] = { 0 };
    uint64_t seed = 1;
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const struct shape * sh = &shapes[s];
        const size_t rb = gaze_type_row_bytes(sh->t, sh->n_in);
        uint8_t * wq = gaze_alloc_aligned(rb * (size_t)sh->n_out);
        float * wf = gaze_alloc_aligned((size_t)(sh->n_in * sh->n_out) * 4);
        float * row = malloc((size_t)sh->n_in * 4);
        for (int64_t r = 0; r < sh->n_out; r++) {
            for (int64_t i = 0; i < sh->n_in; i++) {
                seed = seed * 6364136223846793005ull + 1442695040888963407ull;
                row[i] = ((float)(seed >> 40) / 16777216.0f - 0.5f) * 0.1f;
            }
            gaze_quantize(sh->t, row, wq + (size_t)r * rb, sh->n_in);
        }
        gaze_dequantize(sh->t, wq, wf, sh->n_in * sh->n_out);   // the baseline's weights
        free(row);
        struct gaze_quant_packed pk;
        gaze_quant_pack_init(&pk, wq, sh->t, sh->n_out, sh->n_in);
        for (int k = 0; k < 2; k++) {
            const int64_t T = Ts[k];
            float * x = gaze_alloc_aligned((size_t)(T * sh->n_in) * 4);
            float * y = gaze_alloc_aligned((size_t)(T * sh->n_out) * 4);
            for (int64_t i = 0; i < T * sh->n_in; i++) x[i] = (float)((i * 7919) % 1000) / 500.0f - 1.0f;
            double tm[3];
            tm[0] = time_call(NULL, wq, sh->t, sh->n_out, sh->n_in, x, T, y, nt, min_s);
            tm[1] = time_call(&pk, wq, sh->t, sh->n_out, sh->n_in, x, T, y, nt, min_s);
            tm[2] = time_call(NULL, wf, GAZE_TYPE_F32, sh->n_out, sh->n_in, x, T, y, nt, min_s);
            const double flop = 2.0 * (double)sh->n_in * (double)sh->n_out * (double)T;
            const double bytes[3] = { (double)(rb * (size_t)sh->n_out), (double)(rb * (size_t)sh->n_out),
                                      (double)(sh->n_in * sh->n_out * 4) };
            printf("%-28s %4lld", sh->name, (long long)T);
            for (int m = 0; m < 3; m++)
                printf(" | %9.1f %7.1f %6.1f", tm[m] * 1e6, flop / tm[m] * 1e-9, bytes[m] / tm[m] * 1e-9);
            printf(" | %6.2fx\n", tm[2] / tm[1]);
            for (int m = 0; m < 3; m++) {
                if (sh->per_layer) layer[m][k] += sh->per_layer * tm[m];
                else if (T == 1) head[m] = tm[m];
            }
            gaze_free_aligned(x);
            gaze_free_aligned(y);
        }
        gaze_quant_pack_free(&pk);
        gaze_free_aligned(wq);
        gaze_free_aligned(wf);
    }
    // 30 blocks + head once per generated token; a 512-token prompt needs the head only for
    // its last token.
    static const char * const names[3] = { "raw", "packed", "f32 baseline" };
    printf("\nlinear layers only, SmolLM2-135M (30 blocks + tied head):\n");
    for (int m = 0; m < 3; m++) {
        const double gen = 30 * layer[m][0] + head[m], pp = 30 * layer[m][1] + head[m];
        printf("  %-13s generation (T=1) %7.1f tok/s   prompt (T=512) %7.1f tok/s\n", names[m], 1 / gen, 512 / pp);
    }
    return 0;
}
