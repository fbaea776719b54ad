// gaze_quant_linear_forward on the SmolLM2-135M shapes (Q4_1 blocks, Q8_0 tied embedding as
// output head) at T = 1 (generation: GB/s of weights streamed) and T = 512 (prompt: GFLOP/s),
// against a dequantize-then-f32 baseline (the same shapes with f32 weights) in the same run.
// Also composes the per-token cost of the 30 blocks + head into tokens/s equivalents.
// Second part ("types"): every weight type with a product (F32 .. Q6_K) on one [1536, 1536]
// product at T = 1 (GB/s of weights) and T = 64 (GFLOP/s) on each ISA path (gaze_set_isa),
// the scalar kernel as the baseline of the same run.
// Third part ("decode", only when asked): the linear part of one generated token over 30 layers'
// own weights per format (bench_decode).
//   build/bench/bench_quant [n_threads] [time_scale] [cpu|wall] [all|smollm2|types|decode]
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

// Per-type kernel comparison: scalar vs AVX2 vs AVX-512 on the raw-block product.
static void bench_types(int nt, double min_s) {
    const enum gaze_type types[] = { GAZE_TYPE_F32, GAZE_TYPE_F16, GAZE_TYPE_BF16, GAZE_TYPE_Q8_0,
                                     GAZE_TYPE_Q4_0, GAZE_TYPE_Q4_1, GAZE_TYPE_Q5_0, GAZE_TYPE_Q5_1,
                                     GAZE_TYPE_Q4_K, GAZE_TYPE_Q5_K, GAZE_TYPE_Q6_K };
    const int64_t n_in = 1536, n_out = 1536, Ts[2] = { 1, 64 };
    const enum gaze_isa best = gaze_isa_active();
    enum gaze_isa isas[3];
    int ni = 0;
    isas[ni++] = GAZE_ISA_SCALAR;
    if (best >= GAZE_ISA_AVX2) isas[ni++] = GAZE_ISA_AVX2;
    if (best >= GAZE_ISA_AVX512) isas[ni++] = GAZE_ISA_AVX512;
    printf("\nper type: [%lld, %lld] weights, raw blocks (gaze_quant_linear_forward), threads %d;\n"
           "T=1: GB/s of (raw) weights streamed, T=%lld: GFLOP/s; xN = speed-up over scalar in this run;\n"
           "packed: gaze_quant_pack_init layout (raw blocks where the type has none)\n\n",
           (long long)n_out, (long long)n_in, nt, (long long)Ts[1]);
    printf("%-5s %3s", "type", "T");
    for (int i = 0; i < ni; i++) printf(" | %8s us %9s", gaze_isa_name(isas[i]), "rate");
    printf(" | %8s us %9s\n", "packed", "rate");
    float * row = malloc((size_t)n_in * 4);
    uint64_t seed = 7;
    for (size_t k = 0; k < sizeof types / sizeof types[0]; k++) {
        const enum gaze_type t = types[k];
        const size_t rb = gaze_type_row_bytes(t, n_in);
        uint8_t * w = gaze_alloc_aligned(rb * (size_t)n_out);
        for (int64_t r = 0; r < n_out; r++) {
            for (int64_t i = 0; i < n_in; i++) {
                seed = seed * 6364136223846793005ull + 1442695040888963407ull;
                row[i] = ((float)(seed >> 40) / 16777216.0f - 0.5f) * 0.1f;
            }
            gaze_quantize(t, row, w + (size_t)r * rb, n_in);
        }
        for (int j = 0; j < 2; j++) {
            const int64_t T = Ts[j];
            float * x = gaze_alloc_aligned((size_t)(T * n_in) * 4);
            float * y = gaze_alloc_aligned((size_t)(T * n_out) * 4);
            for (int64_t i = 0; i < T * n_in; i++) x[i] = (float)((i * 7919) % 1000) / 500.0f - 1.0f;
            printf("%-5s %3lld", gaze_type_name(t), (long long)T);
            double base = 0;
            for (int i = 0; i < ni; i++) {
                gaze_set_isa(isas[i]);
                // the scalar kernel is slow: one timed window per run is enough
                const double tm = time_call(NULL, w, t, n_out, n_in, x, T, y, nt, i == 0 ? min_s * 0.2 : min_s);
                if (i == 0) base = tm;
                const double rate = T == 1 ? (double)(rb * (size_t)n_out) / tm * 1e-9 : 2.0 * n_in * n_out * T / tm * 1e-9;
                printf(" | %11.1f %5.1f", tm * 1e6, rate);
                if (i > 0) printf(" x%-5.1f", base / tm); else printf("       ");
            }
            gaze_set_isa(best);
            // pre-packed weights (gaze_quant_pack_init, the model's path) on the best ISA
            struct gaze_quant_packed pk;
            gaze_quant_pack_init(&pk, w, t, n_out, n_in);
            const double tp = time_call(&pk, w, t, n_out, n_in, x, T, y, nt, min_s);
            gaze_quant_pack_free(&pk);
            printf(" | %11.1f %5.1f x%-5.1f\n", tp * 1e6,
                   T == 1 ? (double)(rb * (size_t)n_out) / tp * 1e-9 : 2.0 * n_in * n_out * T / tp * 1e-9, base / tp);
            fflush(stdout);
            gaze_free_aligned(x);
            gaze_free_aligned(y);
        }
        gaze_free_aligned(w);
    }
    free(row);
}

// "decode": the linear part of one generated token as the model runs it: 30 layers' own packed
// weights (distinct memory, so they stream from the last-level cache or DRAM as in a model run,
// not from L2) + the Q8_0 tied head, T = 1, for each weight format. Types follow llama-quantize
// on SmolLM2 (576-wide rows cannot hold 256-blocks: Q4_K -> Q5_0, Q5_K -> Q5_1, Q6_K -> Q8_0
// there). MB/tok: the file's bytes of these weights; GB/s = MB/tok x tok/s.
static void bench_decode(int nt, double min_s) {
    const enum gaze_type types[] = { GAZE_TYPE_Q4_0, GAZE_TYPE_Q4_1, GAZE_TYPE_Q5_0, GAZE_TYPE_Q5_1,
                                     GAZE_TYPE_Q8_0, GAZE_TYPE_Q4_K, GAZE_TYPE_Q5_K, GAZE_TYPE_Q6_K };
    enum { L = 30, NM = 7 };
    const int64_t shp[NM][2] = { { 576, 576 }, { 576, 192 }, { 576, 192 }, { 576, 576 },
                                 { 576, 1536 }, { 576, 1536 }, { 1536, 576 } };   // n_in, n_out
    printf("\ndecode: 30 layers x 7 products + Q8_0 head [49152, 576], T = 1, packed, threads %d\n", nt);
    printf("%-5s | %9s %8s %8s\n", "type", "tok/s", "MB/tok", "GB/s");
    uint64_t seed = 3;
    float * row = malloc(1536 * 4);
    float * x = gaze_alloc_aligned(1536 * 4), * y = gaze_alloc_aligned(49152 * 4);
    for (int64_t i = 0; i < 1536; i++) x[i] = (float)((i * 7919) % 1000) / 500.0f - 1.0f;
    struct gaze_quant_packed head;
    const size_t hrb = gaze_type_row_bytes(GAZE_TYPE_Q8_0, 576);
    uint8_t * hw = gaze_alloc_aligned(hrb * 49152);
    for (int64_t r = 0; r < 49152; r++) {
        for (int64_t i = 0; i < 576; i++) {
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            row[i] = ((float)(seed >> 40) / 16777216.0f - 0.5f) * 0.1f;
        }
        gaze_quantize(GAZE_TYPE_Q8_0, row, hw + (size_t)r * hrb, 576);
    }
    gaze_quant_pack_init(&head, hw, GAZE_TYPE_Q8_0, 49152, 576);
    for (size_t k = 0; k < sizeof types / sizeof types[0]; k++) {
        struct gaze_quant_packed * pk = calloc(L * NM, sizeof *pk);
        uint8_t * w[NM];
        double bytes = (double)(hrb * 49152);
        for (int m = 0; m < NM; m++) {
            enum gaze_type t = types[k];
            if (shp[m][0] % 256 && t == GAZE_TYPE_Q4_K) t = GAZE_TYPE_Q5_0;
            if (shp[m][0] % 256 && t == GAZE_TYPE_Q5_K) t = GAZE_TYPE_Q5_1;
            if (shp[m][0] % 256 && t == GAZE_TYPE_Q6_K) t = GAZE_TYPE_Q8_0;
            const size_t rb = gaze_type_row_bytes(t, shp[m][0]), mb = rb * (size_t)shp[m][1];
            w[m] = gaze_alloc_aligned(mb * L);
            for (int64_t r = 0; r < shp[m][1]; r++) {
                for (int64_t i = 0; i < shp[m][0]; i++) {
                    seed = seed * 6364136223846793005ull + 1442695040888963407ull;
                    row[i] = ((float)(seed >> 40) / 16777216.0f - 0.5f) * 0.1f;
                }
                gaze_quantize(t, row, w[m] + (size_t)r * rb, shp[m][0]);
            }
            for (int l = 0; l < L; l++) {
                if (l) memcpy(w[m] + (size_t)l * mb, w[m], mb);
                gaze_quant_pack_init(&pk[l * NM + m], w[m] + (size_t)l * mb, t, shp[m][1], shp[m][0]);
            }
            bytes += (double)mb * L;
        }
        double runs[5];
        for (int rep = 0; rep < 5; rep++) {
            int n = 0;
            const double t0 = now();
            double t1;
            do {
                for (int i = 0; i < L * NM; i++) gaze_quant_linear_forward_packed(&pk[i], x, 1, y, nt);
                gaze_quant_linear_forward_packed(&head, x, 1, y, nt);
                n++;
            } while ((t1 = now()) - t0 < min_s);
            runs[rep] = (t1 - t0) / n;
        }
        qsort(runs, 5, sizeof runs[0], cmp_d);
        printf("%-5s | %9.1f %8.1f %8.1f\n", gaze_type_name(types[k]), 1 / runs[2], bytes / 1e6, bytes / runs[2] * 1e-9);
        fflush(stdout);
        for (int i = 0; i < L * NM; i++) gaze_quant_pack_free(&pk[i]);
        for (int m = 0; m < NM; m++) gaze_free_aligned(w[m]);
        free(pk);
    }
    gaze_quant_pack_free(&head);
    gaze_free_aligned(hw);
    gaze_free_aligned(x);
    gaze_free_aligned(y);
    free(row);
}

int main(int argc, char ** argv) {
    const int nt = argc > 1 ? atoi(argv[1]) : gaze_default_threads();
    const double min_s = argc > 2 ? atof(argv[2]) * 0.05 : 0.05;
    if (argc > 3 && !strcmp(argv[3], "cpu")) g_clock = CLOCK_PROCESS_CPUTIME_ID;
    const char * what = argc > 4 ? argv[4] : "all";
    if (!strcmp(what, "decode")) {
        printf("gaze bench_quant: isa %s (avx512 quant kernel %s), %s time\n", gaze_isa_name(gaze_isa_active()),
               quant_avx512_usable() ? "on" : "off", g_clock == CLOCK_MONOTONIC ? "wall" : "process CPU");
        bench_decode(nt, min_s);
        return 0;
    }
    if (!strcmp(what, "types")) {
        printf("gaze bench_quant: isa %s (avx512 quant kernel %s), %s time\n", gaze_isa_name(gaze_isa_active()),
               quant_avx512_usable() ? "on" : "off", g_clock == CLOCK_MONOTONIC ? "wall" : "process CPU");
        bench_types(nt, min_s);
        return 0;
    }
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
    if (!strcmp(what, "all")) bench_types(nt, min_s);
    return 0;
}
