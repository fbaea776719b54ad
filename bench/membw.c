// Memory bandwidth of this machine, the yardstick for generation (a token reads every weight
// once): read (AVX-512 or scalar sums over the buffer) and copy (memcpy, read + write bytes
// counted) of a buffer much larger than the last-level cache, on 1..N threads (pthreads,
// each thread its own contiguous slice). Best of `reps` passes.
//   build/bench/bench_membw [MiB=1024] [max_threads=2] [reps=5] [--json]
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

struct job { const uint64_t * src; uint64_t * dst; size_t n; int copy; uint64_t sink; };

#if defined(__x86_64__)
#include <immintrin.h>
// 64-byte loads, four independent sums (what a mat-vec kernel's weight stream looks like)
__attribute__((target("avx512f"))) static uint64_t read_avx512(const uint64_t * p, size_t n) {
    __m512i s0 = _mm512_setzero_si512(), s1 = s0, s2 = s0, s3 = s0;
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        s0 = _mm512_add_epi64(s0, _mm512_load_si512(p + i));
        s1 = _mm512_add_epi64(s1, _mm512_load_si512(p + i + 8));
        s2 = _mm512_add_epi64(s2, _mm512_load_si512(p + i + 16));
        s3 = _mm512_add_epi64(s3, _mm512_load_si512(p + i + 24));
    }
    uint64_t r = (uint64_t)_mm512_reduce_add_epi64(_mm512_add_epi64(_mm512_add_epi64(s0, s1), _mm512_add_epi64(s2, s3)));
    for (; i < n; i++) r += p[i];
    return r;
}
#endif

static void * worker(void * arg) {
    struct job * j = arg;
    if (j->copy) {
        memcpy(j->dst, j->src, j->n * 8);
    } else {
#if defined(__x86_64__)
        if (__builtin_cpu_supports("avx512f") && ((uintptr_t)j->src & 63) == 0) {
            j->sink = read_avx512(j->src, j->n);
            return NULL;
        }
#endif
        // eight independent sums: the compiler vectorises, loads stay the bottleneck
        uint64_t s[8] = { 0 };
        for (size_t i = 0; i + 8 <= j->n; i += 8)
            for (int k = 0; k < 8; k++) s[k] += j->src[i + k];
        for (int k = 0; k < 8; k++) j->sink += s[k];
    }
    return NULL;
}

// GB/s of one pass over n words with nt threads (copy: read + write bytes).
static double pass(const uint64_t * src, uint64_t * dst, size_t n, int nt, int copy) {
    pthread_t th[64];
    struct job jobs[64];
    const double t0 = now_s();
    for (int i = 0; i < nt; i++) {
        const size_t a = n / 8 * (size_t)i / (size_t)nt * 8, b = n / 8 * (size_t)(i + 1) / (size_t)nt * 8;   // 64-byte aligned slices
        jobs[i] = (struct job){ src + a, dst + a, b - a, copy, 0 };
        pthread_create(&th[i], NULL, worker, &jobs[i]);
    }
    uint64_t sink = 0;
    for (int i = 0; i < nt; i++) { pthread_join(th[i], NULL); sink += jobs[i].sink; }
    const double t = now_s() - t0;
    if (sink == 42) fprintf(stderr, ".");   // keeps the sums alive
    return (double)n * 8 * (copy ? 2 : 1) / t / 1e9;
}

int main(int argc, char ** argv) {
    size_t mib = 1024;
    int max_threads = 2, reps = 5, json = 0, pos = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json")) { json = 1; continue; }
        const long v = atol(argv[i]);
        if (v <= 0) { fprintf(stderr, "usage: %s [MiB] [max_threads] [reps] [--json]\n", argv[0]); return 2; }
        if (pos == 0) mib = (size_t)v;
        else if (pos == 1) max_threads = (int)(v > 64 ? 64 : v);
        else reps = (int)v;
        pos++;
    }
    const size_t n = mib * 1024 * 1024 / 8;
    uint64_t * a = aligned_alloc(64, n * 8), * b = aligned_alloc(64, n * 8);
    if (!a || !b) { fprintf(stderr, "bench_membw: cannot allocate 2 x %zu MiB\n", mib); return 1; }
    for (size_t i = 0; i < n; i++) { a[i] = i; b[i] = 0; }   // fault every page in
    if (json) printf("{\"mib\": %zu, \"reps\": %d, \"threads\": [", mib, reps);
    else printf("bench_membw: %zu MiB buffers, best of %d passes\n", mib, reps);
    for (int nt = 1; nt <= max_threads; nt++) {
        double rd = 0, cp = 0;
        for (int r = 0; r < reps; r++) {
            const double x = pass(a, b, n, nt, 0), y = pass(a, b, n, nt, 1);
            if (x > rd) rd = x;
            if (y > cp) cp = y;
        }
        if (json) printf("%s{\"n\": %d, \"read_gbs\": %.2f, \"copy_gbs\": %.2f}", nt > 1 ? ", " : "", nt, rd, cp);
        else printf("  %d thread%s: read %.1f GB/s, copy %.1f GB/s (read + write)\n", nt, nt > 1 ? "s" : "", rd, cp);
    }
    if (json) printf("]}\n");
    free(a);
    free(b);
    return 0;
}
