// Algorithmic-complexity (hash flooding) benchmark: the worst inputs against gaze's former
// tables, timed against random inputs of the same count and length in the same process.
//   GGUF keys     crafted to share their slot under gguf.c's old FNV-1a (bench/hashflood_craft.h)
//   vocab.txt     tokens crafted the same way against WordPiece's old FNV-1a
//   run file      N metadata keys sharing all but their last 8 bytes (the old loader compared
//                 each new key with every earlier one: quadratic in N, longest with long prefixes)
// Each load is the best of 3. The bar: worst <= 2x random. Figures: bench/results/hashflood.md.
// usage: bench_hashflood [names (32768)] [run-file keys (100000)]
#include "gaze.h"
#include "hashflood_craft.h"
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);   // CPU time: a preempted load on a shared machine is not slow
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double load_gguf(const uint8_t * img, size_t n) {
    double best = 1e30;
    for (int r = 0; r < 3; r++) {
        struct gaze_gguf * g = NULL;
        const double t0 = now();
        enum gaze_status s = gaze_gguf_open_buffer(img, n, "flood.gguf", &g);
        const double t = now() - t0;
        if (s) { fprintf(stderr, "gguf: %s\n", gaze_last_error()); exit(1); }
        gaze_gguf_free(g);
        if (t < best) best = t;
    }
    return best;
}

static double load_vocab(const char * text, size_t n) {
    double best = 1e30;
    for (int r = 0; r < 3; r++) {
        struct gaze_wordpiece * t = NULL;
        const double t0 = now();
        enum gaze_status s = gaze_wordpiece_init_vocab(&t, text, n, true, "flood vocab.txt");
        const double dt = now() - t0;
        if (s) { fprintf(stderr, "vocab: %s\n", gaze_last_error()); exit(1); }
        gaze_wordpiece_free(t);
        if (dt < best) best = dt;
    }
    return best;
}

// flood_save_run, or exit: the benchmark has nothing to measure without its inputs.
static void write_run(const char * path, const char * keys, int64_t n, size_t len) {
    if (flood_save_run(path, keys, n, len)) { fprintf(stderr, "run %s: %s\n", path, gaze_last_error()); exit(1); }
}

static double load_run(const char * path, int64_t n) {
    double best = 1e30;
    for (int rep = 0; rep < 3; rep++) {
        struct gaze_run r;
        const double t0 = now();
        enum gaze_status s = gaze_run_load(&r, path);
        const double t = now() - t0;
        if (s) { fprintf(stderr, "load %s: %s\n", path, gaze_last_error()); exit(1); }
        if (r.n_extra != n) { fprintf(stderr, "load %s: %lld extras, wrote %lld\n", path, (long long)r.n_extra, (long long)n); exit(1); }
        gaze_run_free(&r);
        if (t < best) best = t;
    }
    return best;
}

static int report(const char * what, double worst, double random) {
    const double ratio = worst / random;
    printf("%-34s worst %9.2f ms   random %9.2f ms   worst/random %5.2f  %s\n", what, worst * 1e3, random * 1e3,
           ratio, ratio <= 2 ? "ok" : "ABOVE 2x");
    return ratio <= 2 ? 0 : 1;
}

int main(int argc, char ** argv) {
    const int64_t n = argc > 1 ? atoll(argv[1]) : 32768, nk = argc > 2 ? atoll(argv[2]) : 100000;
    if (n < 16 || n > (1 << 19) || nk < 1 || nk > 10000000) {
        fprintf(stderr, "usage: bench_hashflood [names 16..524288] [run-file keys]\n");
        return 2;
    }
    int bad = 0;
    size_t len;
    char * gg = flood_names(FNV_BASIS_GGUF_OLD, "k.", n, &len);
    char * wp = flood_names(FNV_BASIS_OLD, "", n, &len);
    char * rnd = flood_random_names(n, len, 0x9E3779B97F4A7C15ULL);
    if (!gg || !wp || !rnd) { fprintf(stderr, "out of memory\n"); return 1; }
    size_t ng, nr;
    uint8_t * ig = flood_gguf(gg, n, len, &ng), * ir = flood_gguf(rnd, n, len, &nr);
    char label[96];
    snprintf(label, sizeof label, "GGUF, %lld keys (%.1f MB)", (long long)n, (double)ng / 1e6);
    bad |= report(label, load_gguf(ig, ng), load_gguf(ir, nr));
    char * vg = flood_vocab(wp, n, len, &ng), * vr = flood_vocab(rnd, n, len, &nr);
    snprintf(label, sizeof label, "vocab.txt, %lld tokens (%.1f MB)", (long long)n, (double)ng / 1e6);
    bad |= report(label, load_vocab(vg, ng), load_vocab(vr, nr));

    // run file: shared 56-byte prefix + 8 distinct bytes, against 64 random bytes
    const size_t klen = 64;
    char * kw = malloc((size_t)nk * (klen + 1)), * kr = flood_random_names(nk, klen, 42);
    for (int64_t i = 0; i < nk; i++) {
        char * s = kw + i * (int64_t)(klen + 1);
        memset(s, 'p', klen - 8);
        snprintf(s + klen - 8, 9, "%08llx", (unsigned long long)i);
    }
    char pw[64], pr[64];
    snprintf(pw, sizeof pw, "/tmp/gaze-hashflood-%d-w.safetensors", (int)getpid());
    snprintf(pr, sizeof pr, "/tmp/gaze-hashflood-%d-r.safetensors", (int)getpid());
    write_run(pw, kw, nk, klen);
    write_run(pr, kr, nk, klen);
    FILE * f = fopen(pw, "rb");
    long fsz = 0;
    if (f) { fseek(f, 0, SEEK_END); fsz = ftell(f); fclose(f); }
    snprintf(label, sizeof label, "run file, %lld metadata keys (%.1f MB)", (long long)nk, (double)fsz / 1e6);
    bad |= report(label, load_run(pw, nk), load_run(pr, nk));
    unlink(pw);
    unlink(pr);
    free(gg); free(wp); free(rnd); free(ig); free(ir); free(vg); free(vr); free(kw); free(kr);
    return bad;
}
