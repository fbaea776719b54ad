// GEMM benchmark: GFLOP/s (2·M·N·K per call) of gaze_gemm_f32 in the linear-layer form
// C[M, N] = A[M, K] · W[N, K]ᵀ for the projection shapes of the default models, against a
// naive triple loop and (if installed) the system OpenBLAS, all measured in the same run with
// interleaved repetitions; the median of the timed repetitions is reported.
//
// OpenBLAS is loaded with dlopen (no build dependency). Its kernel is chosen when the library
// loads, from the CPU or OPENBLAS_CORETYPE; to measure the default choice and forced core
// types side by side, each extra core type loads a private copy of the library (copied to
// /tmp, so the dynamic loader treats it as a different object) after setting the variable.
//
// "packed" is the same product through a gaze_linear prepared once (gaze_linear_prepare), as the
// models run their F32 weights: no per-call packing of W.
//
// --cpu times each call in CPU seconds of the process (all its threads: getrusage-like
// CLOCK_PROCESS_CPUTIME_ID) instead of wall seconds, so GFLOP/s is work per CPU-second: the
// fair yardstick on a shared machine where a thread waits for a core (2T columns then count
// both threads' time, spinning included). The FMA peak is measured the same way.
//
//   build/bench/bench_gemm [--reps N] [--naive-reps N] [--shapes MxNxK,...] [--no-blas]
//                          [--blas-core NAME]... [--cpu]  (default cores: the CPU's choice and SKYLAKEX)
//   build/bench/bench_gemm --avx2-versions 1,...,8 [--cpu] [--best] [--cold] [--reps N] [--shapes ...]   (AVX2 lab)
#define _GNU_SOURCE
#include "core/core.h"   // gaze.h + gaze_alloc_aligned
#include "kernels/gemm.h" // gemm_avx2_lab_version (the AVX2 kernel lab)
#include <dlfcn.h>
#include <fcntl.h>
#include <immintrin.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_SHAPES 32
#define MAX_BLAS   4

static bool g_cpu_time;   // --cpu: process CPU time instead of wall time
static bool g_best;       // --best (AVX2 lab): best repetition instead of the median
static bool g_cold;       // --cold (AVX2 lab): prepared weights rotated through >= 96 MiB

static double now_s(void) {
    struct timespec ts;
    clock_gettime(g_cpu_time ? CLOCK_PROCESS_CPUTIME_ID : CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cmp_double(const void * a, const void * b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double * v, int n) {
    qsort(v, (size_t)n, sizeof(double), cmp_double);
    return n == 0 ? NAN : (n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]));
}

/* ---- measured FMA peak: 24 independent zmm FMA chains per thread ---- */

__attribute__((target("avx512f,fma"), noinline))
static double fma_peak_thread(long iters) {
    const __m512 b = _mm512_set1_ps(1.0000001f), c = _mm512_set1_ps(1e-7f);
    // 24 named accumulators (an array would be kept in memory at -O2)
#define X(i) __m512 a##i = _mm512_set1_ps((float)i);
    X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)
    X(12) X(13) X(14) X(15) X(16) X(17) X(18) X(19) X(20) X(21) X(22) X(23)
#undef X
    for (long it = 0; it < iters; it++) {
#define X(i) a##i = _mm512_fmadd_ps(a##i, b, c);
        X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)
        X(12) X(13) X(14) X(15) X(16) X(17) X(18) X(19) X(20) X(21) X(22) X(23)
#undef X
    }
    __m512 s = _mm512_setzero_ps();
#define X(i) s = _mm512_add_ps(s, a##i);
    X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)
    X(12) X(13) X(14) X(15) X(16) X(17) X(18) X(19) X(20) X(21) X(22) X(23)
#undef X
    return _mm512_reduce_add_ps(s);
}

static double fma_peak(int threads) {
    const long iters = 4000000;   // 3 GFLOP per thread: ~50 ms at 60 GFLOP/s
    double best = 0, sink = 0;
    for (int rep = 0; rep < 5; rep++) {
        const double t0 = now_s();
        #pragma omp parallel num_threads(threads) reduction(+ : sink)
        sink += fma_peak_thread(iters);
        const double g = threads * (double)iters * 24 * 32 / (now_s() - t0) / 1e9;
        if (g > best) best = g;
    }
    if (sink == 1234.5) printf(" ");
    return best;
}

// AVX2 + FMA: 12 independent ymm chains (2 FMA pipes × 4 cycles of latency need 8)
__attribute__((target("avx2,fma"), noinline))
static double fma_peak_thread_avx2(long iters) {
    const __m256 b = _mm256_set1_ps(1.0000001f), c = _mm256_set1_ps(1e-7f);
#define X(i) __m256 a##i = _mm256_set1_ps((float)i);
    X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)
#undef X
    for (long it = 0; it < iters; it++) {
#define X(i) a##i = _mm256_fmadd_ps(a##i, b, c);
        X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)
#undef X
    }
    __m256 s = _mm256_setzero_ps();
#define X(i) s = _mm256_add_ps(s, a##i);
    X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)
#undef X
    float v[8];
    _mm256_storeu_ps(v, s);
    return v[0] + v[7];
}

static double fma_peak_avx2(int threads) {
    const long iters = 4000000;
    double best = 0, sink = 0;
    for (int rep = 0; rep < 5; rep++) {
        const double t0 = now_s();
        #pragma omp parallel num_threads(threads) reduction(+ : sink)
        sink += fma_peak_thread_avx2(iters);
        const double g = threads * (double)iters * 12 * 16 / (now_s() - t0) / 1e9;
        if (g > best) best = g;
    }
    if (sink == 1234.5) printf(" ");
    return best;
}

/* ---- OpenBLAS through dlopen ---- */

typedef void (*sgemm_fn)(int order, int ta, int tb, int M, int N, int K, float alpha,
                         const float * A, int lda, const float * B, int ldb, float beta,
                         float * C, int ldc);
enum { CBLAS_ROW_MAJOR = 101, CBLAS_NO_TRANS = 111, CBLAS_TRANS = 112 };

struct blas {
    char       label[64];
    sgemm_fn   sgemm;
    void     (*set_threads)(int);
    char *   (*corename)(void);
};

// Loads libopenblas.so.0 (core == NULL: as is) or a private copy with OPENBLAS_CORETYPE=core.
static bool blas_load(struct blas * b, const char * core) {
    void * h = NULL;
    if (!core) {
        unsetenv("OPENBLAS_CORETYPE");
        h = dlopen("libopenblas.so.0", RTLD_NOW | RTLD_LOCAL);
    } else {
        void * probe = dlopen("libopenblas.so.0", RTLD_NOW | RTLD_LOCAL);
        if (!probe) return false;
        char src[4096];
        if (dlinfo(probe, RTLD_DI_ORIGIN, src) != 0) return false;
        strncat(src, "/libopenblas.so.0", sizeof src - strlen(src) - 1);
        char dst[] = "/tmp/bench_gemm_openblas_XXXXXX";
        int out = mkstemp(dst), in = open(src, O_RDONLY);
        if (out < 0 || in < 0) return false;
        char buf[1 << 16];
        ssize_t n;
        while ((n = read(in, buf, sizeof buf)) > 0)
            if (write(out, buf, (size_t)n) != n) { n = -1; break; }
        close(in); close(out);
        setenv("OPENBLAS_CORETYPE", core, 1);
        if (n == 0) h = dlopen(dst, RTLD_NOW | RTLD_LOCAL);
        unsetenv("OPENBLAS_CORETYPE");
        unlink(dst);
    }
    if (!h) return false;
    b->sgemm = (sgemm_fn)dlsym(h, "cblas_sgemm");
    b->set_threads = (void (*)(int))dlsym(h, "openblas_set_num_threads");
    b->corename = (char * (*)(void))dlsym(h, "openblas_get_corename");
    if (!b->sgemm || !b->set_threads) return false;
    snprintf(b->label, sizeof b->label, "openblas %s%s (core %s)", core ? "CORETYPE=" : "default",
             core ? core : "", b->corename ? b->corename() : "?");
    return true;
}

/* ---- contenders ---- */

struct shape { int M, N, K; const char * what; };

static void naive_nt(int M, int N, int K, const float * A, const float * W, float * C) {
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            float s = 0;
            for (int k = 0; k < K; k++) s += A[(size_t)i * K + k] * W[(size_t)j * K + k];
            C[(size_t)i * N + j] = s;
        }
}

// gaze packed: the weight prepared once (gaze_linear_prepare, AVX-512 panels), as models run it
enum { C_GAZE512_1, C_GAZE512_2, C_PACK512_1, C_PACK512_2, C_GAZE2_1, C_GAZE2_2, C_PACK2_1, C_PACK2_2,
       C_NAIVE, C_BLAS0 };

static double run_one(int c, const struct shape * s, const float * A, const float * W, float * C,
                      struct blas * blas, const struct gaze_linear * packed, const struct gaze_linear * packed2) {
    const double t0 = now_s();
    switch (c) {
        case C_PACK2_1: case C_PACK2_2:   // weights packed for the AVX2 kernel, as models run them
            gaze_set_isa(GAZE_ISA_AVX2);
            if (gaze_linear_forward(packed2, A, s->M, C, c == C_PACK2_1 ? 1 : 2))
                fprintf(stderr, "linear failed: %s\n", gaze_last_error());
            break;
        case C_PACK512_1: case C_PACK512_2:
            gaze_set_isa(GAZE_ISA_AVX512);
            if (gaze_linear_forward(packed, A, s->M, C, c == C_PACK512_1 ? 1 : 2))
                fprintf(stderr, "linear failed: %s\n", gaze_last_error());
            break;
        case C_GAZE512_1: case C_GAZE512_2: case C_GAZE2_1: case C_GAZE2_2: {
            gaze_set_isa(c <= C_GAZE512_2 ? GAZE_ISA_AVX512 : GAZE_ISA_AVX2);
            const int nt = (c == C_GAZE512_1 || c == C_GAZE2_1) ? 1 : 2;
            if (gaze_gemm_f32(s->M, s->N, s->K, A, s->K, W, s->K, NULL, C, s->N, GAZE_GEMM_NT, nt))
                fprintf(stderr, "gemm failed: %s\n", gaze_last_error());
            break;
        }
        case C_NAIVE: naive_nt(s->M, s->N, s->K, A, W, C); break;
        default: {
            struct blas * b = &blas[(c - C_BLAS0) / 2];
            b->set_threads((c - C_BLAS0) % 2 + 1);
            b->sgemm(CBLAS_ROW_MAJOR, CBLAS_NO_TRANS, CBLAS_TRANS, s->M, s->N, s->K, 1.0f,
                     A, s->K, W, s->K, 0.0f, C, s->N);
        }
    }
    return now_s() - t0;
}

// --avx2-versions 1,...,8: the AVX2 kernel lab (gemm.h, gemm_avx2_lab_version) alone. Every
// version runs the packed (prepared weight, as the models) and the plain product on 1 and 2
// threads, interleaved within each repetition; GFLOP/s medians, wall or CPU time as chosen.
static int lab_avx2(const struct shape * shapes, int n_shapes, const int * vers, int n_vers, int reps) {
    printf("\n| M×N×K | what |");
    for (int v = 0; v < n_vers; v++)
        printf(" v%d packed 1T | v%d plain 1T | v%d packed 2T |", vers[v], vers[v], vers[v]);
    printf("\n|---|---|");
    for (int v = 0; v < n_vers; v++) printf("---:|---:|---:|");
    printf("\n");
    const int nc = 3 * n_vers;
    double * samples = malloc(sizeof(double) * (size_t)nc * (size_t)reps);
    for (int si = 0; si < n_shapes; si++) {
        const struct shape * s = &shapes[si];
        float * A = gaze_alloc_aligned(sizeof(float) * (size_t)s->M * s->K);
        float * W = gaze_alloc_aligned(sizeof(float) * (size_t)s->N * s->K);
        float * C = gaze_alloc_aligned(sizeof(float) * (size_t)s->M * s->N);
        if (!A || !W || !C) { fprintf(stderr, "out of memory\n"); return 1; }
        for (size_t i = 0; i < (size_t)s->M * s->K; i++) A[i] = (float)((i * 2654435761u) % 1000) / 1000 - 0.5f;
        for (size_t i = 0; i < (size_t)s->N * s->K; i++) W[i] = (float)((i * 40503u) % 1000) / 1000 - 0.5f;
        // --cold: several prepared copies of the weight (>= 96 MiB in all, past any L3 here),
        // one per call in turn, so the packed panels stream from DRAM as in a model's forward
        const size_t wbytes = sizeof(float) * (size_t)s->N * s->K;
        const int n_lin = g_cold ? (int)GAZE_MIN(64, (96u << 20) / wbytes + 1) : 1;
        struct gaze_linear lins[64];
        gaze_set_isa(GAZE_ISA_AVX2);
        for (int l = 0; l < n_lin; l++) {
            lins[l] = (struct gaze_linear){ .type = GAZE_TYPE_F32, .n_out = s->N, .n_in = s->K, .weight = W };
            if (gaze_linear_prepare(&lins[l])) { fprintf(stderr, "prepare: %s\n", gaze_last_error()); return 1; }
        }
        int next_lin = 0;
        for (int rep = 0; rep <= reps; rep++)          // rep 0 is the warm-up
            for (int c0 = 0; c0 < nc; c0++) {
                const int c = (c0 + rep) % nc;          // rotate the order
                gemm_avx2_lab_version(vers[c / 3]);
                double best = INFINITY;
                for (int twice = 0; twice < 2; twice++) {   // first call untimed-ish: keep the faster
                    const double t0 = now_s();
                    enum gaze_status st = c % 3 == 1
                        ? gaze_gemm_f32(s->M, s->N, s->K, A, s->K, W, s->K, NULL, C, s->N, GAZE_GEMM_NT, 1)
                        : gaze_linear_forward(&lins[next_lin++ % n_lin], A, s->M, C, c % 3 == 0 ? 1 : 2);
                    if (st) { fprintf(stderr, "gemm: %s\n", gaze_last_error()); return 1; }
                    best = fmin(best, now_s() - t0);
                }
                if (rep > 0) samples[c * reps + rep - 1] = best;
            }
        const double flop = 2.0 * s->M * s->N * s->K;
        printf("| %d×%d×%d | %s |", s->M, s->N, s->K, s->what);
        for (int c = 0; c < nc; c++) {
            double t = median(samples + c * reps, reps);
            if (g_best)   // --best: the fastest repetition (least disturbed by other processes)
                for (int r = 0; r < reps; r++) t = fmin(t, samples[c * reps + r]);
            printf(" %.1f |", flop / t / 1e9);
        }
        printf("\n");
        fflush(stdout);
        for (int l = 0; l < n_lin; l++) gaze_linear_release(&lins[l]);
        gaze_free_aligned(A); gaze_free_aligned(W); gaze_free_aligned(C);
    }
    free(samples);
    gemm_avx2_lab_version(GEMM_AVX2_LAB_DEFAULT);
    return 0;
}

int main(int argc, char ** argv) {
    int reps = 21, naive_reps = 3;
    bool use_blas = true;
    const char * cores[MAX_BLAS] = {NULL, "SKYLAKEX"};
    int n_cores = 2, n_user_cores = 0;
    struct shape shapes[MAX_SHAPES] = {
        {128,  384, 1536, "issue: MiniLM FFN down"},
        {512,  576, 1536, "issue: SmolLM2 FFN down"},
        {128,  384,  384, "MiniLM Q/K/V/O"},
        {128, 1536,  384, "MiniLM FFN up"},
        {512,  576,  576, "SmolLM2 Q/O"},
        {512,  192,  576, "SmolLM2 K/V"},
        {512, 1536,  576, "SmolLM2 gate/up"},
        { 16,  384,  384, "MiniLM short input"},
        {  1, 1536,  576, "one-token decode"},
    };
    int n_shapes = 9;
    int vers[8], n_vers = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--reps") && i + 1 < argc) reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--naive-reps") && i + 1 < argc) naive_reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--no-blas")) use_blas = false;
        else if (!strcmp(argv[i], "--cpu")) g_cpu_time = true;
        else if (!strcmp(argv[i], "--best")) g_best = true;
        else if (!strcmp(argv[i], "--cold")) g_cold = true;
        else if (!strcmp(argv[i], "--avx2-versions") && i + 1 < argc) {
            n_vers = 0;
            for (char * tok = strtok(argv[++i], ","); tok && n_vers < 8; tok = strtok(NULL, ","))
                if (atoi(tok) >= 1 && atoi(tok) <= 8) vers[n_vers++] = atoi(tok);
        }
        else if (!strcmp(argv[i], "--blas-core") && i + 1 < argc && n_user_cores + 1 < MAX_BLAS) {
            if (!n_user_cores) n_cores = 1;   // keep the default, replace SKYLAKEX
            cores[n_cores++] = argv[++i];
            n_user_cores++;
        } else if (!strcmp(argv[i], "--shapes") && i + 1 < argc) {
            n_shapes = 0;
            for (char * tok = strtok(argv[++i], ","); tok && n_shapes < MAX_SHAPES; tok = strtok(NULL, ",")) {
                struct shape s = {0, 0, 0, "custom"};
                if (sscanf(tok, "%dx%dx%d", &s.M, &s.N, &s.K) == 3 && s.M > 0 && s.N > 0 && s.K > 0)
                    shapes[n_shapes++] = s;
            }
        } else {
            fprintf(stderr, "usage: %s [--reps N] [--naive-reps N] [--shapes MxNxK,...] [--no-blas] "
                    "[--blas-core NAME]... [--cpu] [--avx2-versions 1,...,8 [--best] [--cold]]\n", argv[0]);
            return 2;
        }
    }
    if (reps < 1) reps = 1;
    if (n_vers > 0) {
        if (gaze_isa_active() < GAZE_ISA_AVX2) { fprintf(stderr, "--avx2-versions: this CPU has no AVX2\n"); return 2; }
        printf("# AVX2 GEMM lab: GFLOP/s = 2MNK/t (t in %s seconds, best of 2 back-to-back calls%s), %s of "
               "%d reps, versions interleaved; FMA peak (12 ymm chains) %.1f GFLOP/s 1T, %.1f 2T\n",
               g_cpu_time ? "process CPU" : "wall", g_cold ? ", each on another copy of the prepared weight" : "",
               g_best ? "best" : "median", reps, fma_peak_avx2(1), fma_peak_avx2(2));
        return lab_avx2(shapes, n_shapes, vers, n_vers, reps);
    }
    if (naive_reps < 0) naive_reps = 0;
    setenv("OPENBLAS_THREAD_TIMEOUT", "4", 0);   // OpenBLAS workers sleep instead of spinning

    struct blas blas[MAX_BLAS];
    int n_blas = 0;
    if (use_blas)
        for (int i = 0; i < n_cores; i++) {
            if (blas_load(&blas[n_blas], cores[i])) n_blas++;
            else {
                const char * why = dlerror();
                printf("# OpenBLAS %s: not available (%s)\n", cores[i] ? cores[i] : "default", why ? why : "?");
            }
        }
    const int n_cont = C_BLAS0 + 2 * n_blas;
    const bool have512 = gaze_isa_active() == GAZE_ISA_AVX512;

    const bool have2 = gaze_isa_active() >= GAZE_ISA_AVX2;
    printf("# gemm bench: C[M,N] = A[M,K]·W[N,K]^T, f32; GFLOP/s = 2MNK/t (t in %s seconds), median of %d "
           "timed reps (naive: %d) after 1 warm-up, contenders interleaved\n",
           g_cpu_time ? "process CPU" : "wall", reps, naive_reps);
    printf("# CPU best ISA %s; measured FMA peak (24 zmm chains): %.1f GFLOP/s on 1 thread, %.1f on 2; "
           "(12 ymm chains): %.1f on 1 thread, %.1f on 2\n", gaze_isa_name(gaze_isa_active()),
           have512 ? fma_peak(1) : NAN, have512 ? fma_peak(2) : NAN,
           have2 ? fma_peak_avx2(1) : NAN, have2 ? fma_peak_avx2(2) : NAN);
    for (int b = 0; b < n_blas; b++) printf("# blas %d: %s\n", b, blas[b].label);
    printf("\n| M×N×K | what | gaze avx512 1T | gaze avx512 2T | packed avx512 1T | packed avx512 2T | "
           "gaze avx2 1T | gaze avx2 2T | packed avx2 1T | packed avx2 2T | naive 1T |");
    for (int b = 0; b < n_blas; b++) printf(" blas%d 1T | blas%d 2T |", b, b);
    printf("\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (int b = 0; b < n_blas; b++) printf("---:|---:|");
    printf("\n");

    double * samples = malloc(sizeof(double) * (size_t)n_cont * (size_t)(reps + 1));
    for (int si = 0; si < n_shapes; si++) {
        const struct shape * s = &shapes[si];
        float * A = gaze_alloc_aligned(sizeof(float) * (size_t)s->M * s->K);
        float * W = gaze_alloc_aligned(sizeof(float) * (size_t)s->N * s->K);
        float * C = gaze_alloc_aligned(sizeof(float) * (size_t)s->M * s->N);
        if (!A || !W || !C) { fprintf(stderr, "out of memory\n"); return 1; }
        for (size_t i = 0; i < (size_t)s->M * s->K; i++) A[i] = (float)((i * 2654435761u) % 1000) / 1000 - 0.5f;
        for (size_t i = 0; i < (size_t)s->N * s->K; i++) W[i] = (float)((i * 40503u) % 1000) / 1000 - 0.5f;
        struct gaze_linear lin = { .type = GAZE_TYPE_F32, .n_out = s->N, .n_in = s->K, .weight = W };
        struct gaze_linear lin2 = lin;
        if (have512) {
            gaze_set_isa(GAZE_ISA_AVX512);
            if (gaze_linear_prepare(&lin)) { fprintf(stderr, "prepare: %s\n", gaze_last_error()); return 1; }
        }
        if (have2) {
            gaze_set_isa(GAZE_ISA_AVX2);
            if (gaze_linear_prepare(&lin2)) { fprintf(stderr, "prepare: %s\n", gaze_last_error()); return 1; }
        }
        int n_samples[16] = {0};
        for (int rep = 0; rep <= reps; rep++)          // rep 0 is the warm-up
            for (int c = 0; c < n_cont; c++) {
                if (c == C_NAIVE && rep > naive_reps) continue;
                if (c >= C_GAZE512_1 && c <= C_PACK512_2 && !have512) continue;
                if (c >= C_GAZE2_1 && c <= C_PACK2_2 && !have2) continue;
                if (c != C_NAIVE) run_one(c, s, A, W, C, blas, &lin, &lin2);   // untimed: wakes threads, warms caches
                const double t = run_one(c, s, A, W, C, blas, &lin, &lin2);
                if (rep > 0) samples[c * (reps + 1) + n_samples[c]++] = t;
            }
        const double flop = 2.0 * s->M * s->N * s->K;
        printf("| %d×%d×%d | %s |", s->M, s->N, s->K, s->what);
        for (int c = 0; c < n_cont; c++) {
            if (!n_samples[c]) { printf(" – |"); continue; }
            printf(" %.1f |", flop / median(samples + c * (reps + 1), n_samples[c]) / 1e9);
        }
        printf("\n");
        fflush(stdout);
        gaze_linear_release(&lin);
        gaze_linear_release(&lin2);
        gaze_free_aligned(A); gaze_free_aligned(W); gaze_free_aligned(C);
        gaze_set_isa(have512 ? GAZE_ISA_AVX512 : GAZE_ISA_AVX2);
    }
    free(samples);
    return 0;
}
