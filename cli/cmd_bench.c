// gaze bench attention: times the fused kernel and, in the same run, the float64 reference
// (the baseline), and prints GFLOP/s, time and memory. --json prints one object for scripts.
#include "cli.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static double current_rss_mib(void) {
    FILE * f = fopen("/proc/self/statm", "r");
    long pages = 0, resident = 0;
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
        fclose(f);
    }
    return (double)resident * 4096.0 / (1024.0 * 1024.0);
}

static int cmp_double(const void * a, const void * b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

struct bench_opts {
    int64_t B, H, Hkv, T, Tk, d, window, repeat;
    int threads;
    bool causal, json, compare_dense, no_ref, summary;
};

static int usage_attention(FILE * f) {
    fprintf(f,
            "usage: gaze bench attention [flags]\n"
            "  times the fused attention kernel on random Q/K/V (median of --repeat runs after a warm-up)\n"
            "  and, once, the float64 reference, and prints time, GFLOP/s and memory\n"
            "  (--json adds min_ms, the fastest run: steadier on a shared machine).\n"
            "  --batch B        batch size, >= 1 (default: 1)\n"
            "  --heads H        query heads, >= 1 (default: 12)\n"
            "  --kv-heads Hkv   key/value heads, dividing H (default: 0 = H)\n"
            "  --seq T          query tokens, >= 1 (default: 2048)\n"
            "  --kv-seq Tk      key tokens (default: 0 = T)\n"
            "  --dim d          head dimension, >= 1 (default: 64)\n"
            "  --causal         causal mask (default: none)\n"
            "  --window L       each query sees L keys ending at itself (causal) or L-1 on each side\n"
            "                   (default: 0 = no window)\n"
            "  --threads N      worker threads (default: 0 = $GAZE_THREADS or one per core)\n"
            "  --repeat N       timed runs, >= 1 (default: 10)\n"
            "  --compare-dense  also time the same problem without the window (dense causal) and print the ratio\n"
            "  --no-ref         skip the float64 reference baseline (default: run when <= 40 GFLOP)\n"
            "  --summary        also time the fused pass with attention summaries of every head (top-8,\n"
            "                   64x64 blocks, window 16; batch 1) and print its cost against the plain pass\n"
            "  --json           one JSON object for scripts (default: text)\n");
    return f == stdout ? 0 : 2;
}

// Times the fused kernel on desc: median of `repeat` runs after one warm-up; *min_out (or NULL)
// gets the fastest run, the steadier figure on a shared machine (a run that no other job
// interrupted), as reported by --json's "min_ms".
static double time_fused_min(const struct gaze_attn_desc * desc, struct gaze_view * q, struct gaze_view * k,
                             struct gaze_view * v, struct gaze_view * o, int64_t repeat, enum gaze_status * st,
                             double * min_out) {
    double * t = malloc((size_t)repeat * sizeof *t);
    *st = gaze_attention_fused(desc, q, k, v, o, NULL);
    for (int64_t r = 0; r < repeat && *st == GAZE_OK; r++) {
        double t0 = cli_now();
        *st = gaze_attention_fused(desc, q, k, v, o, NULL);
        t[r] = cli_now() - t0;
    }
    qsort(t, (size_t)repeat, sizeof *t, cmp_double);
    double med = t[repeat / 2];
    if (min_out) *min_out = t[0];
    free(t);
    return med;
}

static double time_fused(const struct gaze_attn_desc * desc, struct gaze_view * q, struct gaze_view * k,
                         struct gaze_view * v, struct gaze_view * o, int64_t repeat, enum gaze_status * st) {
    return time_fused_min(desc, q, k, v, o, repeat, st, NULL);
}

static int bench_attention(int argc, char ** argv) {
    struct bench_opts o = { .B = 1, .H = 12, .Hkv = 0, .T = 2048, .Tk = 0, .d = 64, .window = 0,
                            .repeat = 10, .threads = 0 };
    for (int i = 1; i < argc; i++) {
        const char * a = argv[i];
        const char * val = i + 1 < argc ? argv[i + 1] : NULL;
#define INTARG(flag, field, lo, hi) \
        if (!strcmp(a, flag)) { if (cli_int("bench attention", flag, val, lo, hi, &o.field)) return 2; i++; continue; }
        INTARG("--batch", B, 1, 1 << 20) INTARG("--heads", H, 1, 1 << 16) INTARG("--kv-heads", Hkv, 0, 1 << 16)
        INTARG("--seq", T, 1, 1 << 24) INTARG("--kv-seq", Tk, 0, 1 << 24) INTARG("--dim", d, 1, 1 << 16)
        INTARG("--window", window, 0, 1 << 24) INTARG("--repeat", repeat, 1, 1 << 20)
#undef INTARG
        if (!strcmp(a, "--threads")) { if (cli_int32("bench attention", a, val, 0, 4096, &o.threads)) return 2; i++; continue; }
        if (!strcmp(a, "--causal")) { o.causal = true; continue; }
        if (!strcmp(a, "--json")) { o.json = true; continue; }
        if (!strcmp(a, "--compare-dense")) { o.compare_dense = true; continue; }
        if (!strcmp(a, "--no-ref")) { o.no_ref = true; continue; }
        if (!strcmp(a, "--summary")) { o.summary = true; continue; }
        fprintf(stderr, "gaze bench attention: unknown flag '%s'\n", a);
        return usage_attention(stderr);
    }
    gaze_peak_rss_reset();
    if (o.Hkv <= 0) o.Hkv = o.H;
    if (o.Tk <= 0) o.Tk = o.T;
    struct gaze_attn_desc desc = gaze_attn_desc_make(o.B, o.H, o.Hkv, o.T, o.Tk, o.d);
    desc.mask.causal = o.causal;
    desc.mask.q_offset = o.Tk - o.T > 0 ? o.Tk - o.T : 0;
    desc.n_threads = o.threads;
    if (o.window > 0) {
        desc.mask.window_left = o.window - 1;
        if (!o.causal) desc.mask.window_right = o.window - 1;
    }
    enum gaze_status st = gaze_attn_check(&desc, &(struct gaze_view){ (float *)1, o.H * o.T * o.d, o.T * o.d, o.d },
                                          &(struct gaze_view){ (float *)1, o.Hkv * o.Tk * o.d, o.Tk * o.d, o.d },
                                          NULL, NULL);
    if (st) return cli_fail(st);

    size_t nq = (size_t)(o.B * o.H * o.T * o.d), nk = (size_t)(o.B * o.Hkv * o.Tk * o.d);
    float * qb = malloc(nq * sizeof(float)), * kb = malloc(nk * sizeof(float));
    float * vb = malloc(nk * sizeof(float)), * ob = malloc(nq * sizeof(float));
    if (!qb || !kb || !vb || !ob) { fprintf(stderr, "gaze bench: out of memory for Q/K/V/O\n"); return 1; }
    uint64_t x = 42;
    for (size_t i = 0; i < nq; i++) { x = x * 6364136223846793005ULL + 1; qb[i] = (float)((x >> 40) & 0xFFFF) / 32768.0f - 1.0f; }
    for (size_t i = 0; i < nk; i++) { x = x * 6364136223846793005ULL + 1; kb[i] = (float)((x >> 40) & 0xFFFF) / 32768.0f - 1.0f; }
    for (size_t i = 0; i < nk; i++) { x = x * 6364136223846793005ULL + 1; vb[i] = (float)((x >> 40) & 0xFFFF) / 32768.0f - 1.0f; }
    memset(ob, 0, nq * sizeof(float));
    struct gaze_view q = { qb, o.H * o.T * o.d, o.T * o.d, o.d }, k = { kb, o.Hkv * o.Tk * o.d, o.Tk * o.d, o.d };
    struct gaze_view v = { vb, o.Hkv * o.Tk * o.d, o.Tk * o.d, o.d }, out = { ob, o.H * o.T * o.d, o.T * o.d, o.d };

    const double rss_inputs = current_rss_mib();
    double min_s = 0;
    double ms = 1e3 * time_fused_min(&desc, &q, &k, &v, &out, o.repeat, &st, &min_s);
    if (st) return cli_fail(st);
    const double peak = (double)gaze_peak_rss_kib() / 1024.0;
    const double extra = peak - rss_inputs > 0 ? peak - rss_inputs : 0;

    const bool sparse = o.window > 0;
    const double flops = sparse ? gaze_attn_useful_flops(&desc) : gaze_attn_flops(&desc);
    const double gflops = flops / (ms * 1e-3) / 1e9;

    double dense_ms = -1;
    if (o.compare_dense && o.window > 0) {
        struct gaze_attn_desc dense = desc;
        dense.mask.window_left = dense.mask.window_right = -1;
        dense_ms = 1e3 * time_fused(&dense, &q, &k, &v, &out, o.repeat, &st);
        if (st) return cli_fail(st);
    }

    // Summaries of every head in the same pass: median of as many runs, after a warm-up.
    double sum_ms = -1, sum_mib = 0;
    if (o.summary) {
        if (o.B != 1) { fprintf(stderr, "gaze bench attention: --summary needs --batch 1\n"); return 2; }
        struct gaze_attn_summary sm = { .top_k = GAZE_SUMMARY_TOP_K, .block = GAZE_SUMMARY_BLOCK, .window = GAZE_SUMMARY_WINDOW,
                                        .n_heads = o.H, .n_rows = desc.mask.q_offset + o.T, .n_keys = o.Tk };
        const int64_t nbr = (sm.n_rows + sm.block - 1) / sm.block, nbc = (sm.n_keys + sm.block - 1) / sm.block;
        const size_t rows = (size_t)(o.H * sm.n_rows), blocks = (size_t)(o.H * nbr * nbc);
        sm.entropy = calloc(rows, 4); sm.sink = calloc(rows, 4); sm.local = calloc(rows, 4);
        sm.top_keys = calloc(rows * (size_t)sm.top_k, 4); sm.top_weights = calloc(rows * (size_t)sm.top_k, 4);
        sm.block_sum = calloc(blocks, 4); sm.block_max = calloc(blocks, 4);
        sum_mib = (double)(rows * (3 + 2 * (size_t)sm.top_k) + 2 * blocks) * 4 / 1048576.0;
        double * t = malloc((size_t)o.repeat * sizeof *t);
        if (!sm.entropy || !sm.sink || !sm.local || !sm.top_keys || !sm.top_weights || !sm.block_sum || !sm.block_max || !t) {
            fprintf(stderr, "gaze bench: out of memory for summaries\n");
            return 1;
        }
        st = gaze_attention_fused_summary(&desc, &q, &k, &v, &out, NULL, NULL, NULL, o.H, &sm);
        for (int64_t r = 0; r < o.repeat && !st; r++) {
            double t0 = cli_now();
            st = gaze_attention_fused_summary(&desc, &q, &k, &v, &out, NULL, NULL, NULL, o.H, &sm);
            t[r] = cli_now() - t0;
        }
        if (st) return cli_fail(st);
        qsort(t, (size_t)o.repeat, sizeof *t, cmp_double);
        sum_ms = 1e3 * t[o.repeat / 2];
        free(t);
        free(sm.entropy); free(sm.sink); free(sm.local); free(sm.top_keys); free(sm.top_weights);
        free(sm.block_sum); free(sm.block_max);
    }

    // The float64 reference costs ~100x the fused kernel: run it once, and only where it
    // finishes in reasonable time (<= 40 GFLOP of work).
    double ref_ms = -1, ref_gflops = -1;
    if (!o.no_ref && flops <= 40e9) {
        float * rb = malloc(nq * sizeof(float));
        if (rb) {
            struct gaze_view ro = { rb, o.H * o.T * o.d, o.T * o.d, o.d };
            double t0 = cli_now();
            st = gaze_attention_reference(&desc, &q, &k, &v, &ro, NULL);
            ref_ms = 1e3 * (cli_now() - t0);
            if (st) return cli_fail(st);
            ref_gflops = flops / (ref_ms * 1e-3) / 1e9;
            free(rb);
        }
    }

    const int nt = o.threads > 0 ? o.threads : gaze_default_threads();
    const char * counted = sparse ? "useful (allowed pairs only)" : (o.causal ? "dense, halved for causal" : "dense");
    if (o.json) {
        printf("{\"kernel\":\"fused\",\"isa\":\"%s\",\"threads\":%d,\"B\":%lld,\"H\":%lld,\"Hkv\":%lld,"
               "\"T\":%lld,\"Tk\":%lld,\"d\":%lld,\"causal\":%s,\"window\":%lld,\"flops_counted\":\"%s\","
               "\"gflop\":%.4f,\"ms\":%.4f,\"gflops\":%.2f,\"peak_mib\":%.1f,\"extra_mib\":%.1f,",
               gaze_isa_name(gaze_isa_active()), nt, (long long)o.B, (long long)o.H, (long long)o.Hkv,
               (long long)o.T, (long long)o.Tk, (long long)o.d, o.causal ? "true" : "false",
               (long long)o.window, counted, flops / 1e9, ms, gflops, peak, extra);
        if (ref_ms >= 0) printf("\"ref_ms\":%.3f,\"ref_gflops\":%.3f,\"speedup_vs_ref\":%.1f", ref_ms, ref_gflops, ref_ms / ms);
        else printf("\"ref_ms\":null,\"ref_gflops\":null,\"speedup_vs_ref\":null");
        if (dense_ms >= 0) printf(",\"dense_ms\":%.4f,\"speedup_vs_dense\":%.2f", dense_ms, dense_ms / ms);
        if (sum_ms >= 0) printf(",\"summary_ms\":%.4f,\"summary_ratio\":%.3f,\"summary_mib\":%.2f", sum_ms, sum_ms / ms, sum_mib);
        printf(",\"min_ms\":%.4f}\n", 1e3 * min_s);
    } else {
        printf("attention fused  isa=%s threads=%d  B=%lld H=%lld Hkv=%lld T=%lld Tk=%lld d=%lld%s",
               gaze_isa_name(gaze_isa_active()), nt, (long long)o.B, (long long)o.H, (long long)o.Hkv,
               (long long)o.T, (long long)o.Tk, (long long)o.d, o.causal ? " causal" : "");
        if (o.window > 0) printf(" window=%lld", (long long)o.window);
        printf("\n  fused      %10.3f ms  %8.2f GFLOP/s  (%s FLOPs: %.3f GFLOP)\n", ms, gflops, counted, flops / 1e9);
        printf("  memory     peak RSS %.1f MiB, %.1f MiB beyond Q/K/V/O\n", peak, extra);
        if (dense_ms >= 0) printf("  dense      %10.3f ms  (same T without the window): window is %.1fx faster\n", dense_ms, dense_ms / ms);
        if (sum_ms >= 0) printf("  summaries  %10.3f ms  (every head, same pass): %.2fx the plain pass, %.2f MiB of summaries\n",
                                sum_ms, sum_ms / ms, sum_mib);
        if (ref_ms >= 0) printf("  reference  %10.3f ms  %8.3f GFLOP/s  (float64 oracle; fused is %.0fx faster)\n", ref_ms, ref_gflops, ref_ms / ms);
        else printf("  reference  skipped (%s)\n", o.no_ref ? "--no-ref" : "over 40 GFLOP");
    }
    free(qb); free(kb); free(vb); free(ob);
    return 0;
}

int cmd_bench(int argc, char ** argv) {
    if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        printf("usage: gaze bench attention [flags]   benchmarks of the attention kernel\n\n");
        return usage_attention(stdout);
    }
    if (argc < 2) {
        fprintf(stderr, "usage: gaze bench attention [flags]   (see gaze bench attention --help)\n");
        return 2;
    }
    if (!strcmp(argv[1], "attention")) {
        for (int i = 2; i < argc; i++) if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return usage_attention(stdout);
        return bench_attention(argc - 1, argv + 1);
    }
    fprintf(stderr, "gaze bench: unknown benchmark '%s' (have: attention)\n", argv[1]);
    return 2;
}
