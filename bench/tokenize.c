// Byte-level BPE worst cases and throughput (reliability.md R13): one pre-token of 10^4, 10^5,
// 10^6 repeated or random characters must stay O(n log n) (each < 1 s at 10^6), plus ordinary
// text for MB/s. Uses SmolLM2's vocab from tests/fixtures/bpe/smollm2_vocab.json. The ids hash
// (FNV-1a over the ids) lets other tokenizers' outputs be compared on the same inputs.
//   build/bench/bench_tokenize [vocab.json] [pre ...]     (default pre: smollm llama3)
#include "gaze.h"
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
}

// CPU time of this process: on a shared, oversubscribed machine it is steadier than wall time.
static double cpu_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
}

static uint64_t rng = 88172645463325252ULL;
static uint32_t rnd32(void) { rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17; return (uint32_t)rng; }

static size_t put_utf8(char * o, uint32_t cp) {
    if (cp < 0x80) { o[0] = (char)cp; return 1; }
    if (cp < 0x800) { o[0] = (char)(0xC0 | cp >> 6); o[1] = (char)(0x80 | (cp & 63)); return 2; }
    o[0] = (char)(0xE0 | cp >> 12); o[1] = (char)(0x80 | ((cp >> 6) & 63)); o[2] = (char)(0x80 | (cp & 63));
    return 3;
}

// n characters of one kind into buf; returns the byte length
static size_t make(const char * kind, size_t n, char * buf) {
    size_t o = 0;
    if (!strcmp(kind, "cjk_random")) { for (size_t i = 0; i < n; i++) o += put_utf8(buf + o, 0x4E00 + rnd32() % (0x9FFF - 0x4E00 + 1)); return o; }
    if (!strcmp(kind, "english")) {
        static const char * words[] = { "the", "model", "reads", "a", "prompt", "and", "splits", "it", "into",
                                        "tokens,", "then", "predicts", "next", "one.", "Attention", "weights", "show", "which" };
        while (o < n) {
            const char * w = words[rnd32() % (sizeof words / sizeof *words)];
            size_t l = strlen(w);
            if (o + l + 1 > n) break;
            if (o) buf[o++] = ' ';
            memcpy(buf + o, w, l);
            o += l;
        }
        while (o < n) buf[o++] = '.';
        return o;
    }
    char c = !strcmp(kind, "a") ? 'a' : !strcmp(kind, "underscore") ? '_' : !strcmp(kind, "space") ? ' ' :
             !strcmp(kind, "newline") ? '\n' : !strcmp(kind, "digit") ? '7' : '?';
    memset(buf, c, n);
    return n;
}

int main(int argc, char ** argv) {
    const char * path = argc > 1 ? argv[1] : "tests/fixtures/bpe/smollm2_vocab.json";
    json_error_t err;
    json_t * doc = json_load_file(path, JSON_REJECT_DUPLICATES, &err);
    if (!doc) { fprintf(stderr, "%s: %s (run from the repository root or pass the path)\n", path, err.text); return 1; }
    json_t * toks = json_object_get(doc, "tokens"), * merges = json_object_get(doc, "merges");
    const char * types = json_string_value(json_object_get(doc, "token_types"));
    size_t V = json_array_size(toks), M = json_array_size(merges);
    const char ** t = malloc(V * sizeof *t), ** m = malloc(M * sizeof *m);
    size_t * tl = malloc(V * sizeof *tl), * ml = malloc(M * sizeof *ml);
    int32_t * ty = malloc(V * sizeof *ty);
    for (size_t i = 0; i < V; i++) {
        t[i] = json_string_value(json_array_get(toks, i));
        tl[i] = json_string_length(json_array_get(toks, i));
        ty[i] = types[i] - '0';
    }
    for (size_t i = 0; i < M; i++) {
        m[i] = json_string_value(json_array_get(merges, i));
        ml[i] = json_string_length(json_array_get(merges, i));
    }
    const char * pres_default[] = { "smollm", "llama3" };
    const char ** pres = argc > 2 ? (const char **)argv + 2 : pres_default;
    int n_pres = argc > 2 ? argc - 2 : 2;
    const char * kinds[] = { "a", "underscore", "cjk_random", "space", "newline", "digit", "english" };
    const size_t sizes[] = { 10000, 100000, 1000000 };
    char * buf = malloc(3 * 1000000 + 16);
    struct gaze_encoding enc = { 0 };
    int rc = 0;
    for (int p = 0; p < n_pres; p++) {
        struct gaze_bpe_vocab v = { (int64_t)V, t, tl, ty, (int64_t)M, m, ml, pres[p], 0, 1, 2, 0, NULL, NULL, 0, 0 };
        struct gaze_bpe * bpe = NULL;
        double t0 = now_ms();
        if (gaze_bpe_init(&bpe, &v)) { fprintf(stderr, "init: %s\n", gaze_last_error()); return 1; }
        printf("pre=%s  init %.1f ms  (pcre2 jit: %s)\n", pres[p], now_ms() - t0, gaze_bpe_jit(bpe) ? "yes" : "no");
        printf("%-11s %9s %9s %9s %10s %10s %9s  %s\n", "input", "chars", "bytes", "tokens", "wall ms", "cpu ms", "ns/byte", "ids hash");
        for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++) {
            for (size_t s = 0; s < 3; s++) {
                rng = 88172645463325252ULL;
                size_t n = make(kinds[k], sizes[s], buf);
                double best = 1e30, best_cpu = 1e30;   // best of a few runs (single-threaded: cpu <= wall)
                int reps = sizes[s] >= 1000000 ? 3 : 5;
                for (int r = 0; r < reps; r++) {
                    double a = now_ms(), ac = cpu_ms();
                    if (gaze_bpe_encode(bpe, buf, n, NULL, &enc)) { fprintf(stderr, "encode: %s\n", gaze_last_error()); return 1; }
                    double d = now_ms() - a, dc = cpu_ms() - ac;
                    if (d < best) best = d;
                    if (dc < best_cpu) best_cpu = dc;
                }
                uint64_t h = 0xcbf29ce484222325ULL;   // FNV-1a over the ids, to compare with other tokenizers
                for (int64_t i = 0; i < enc.n_tokens; i++) { h ^= (uint32_t)enc.ids[i]; h *= 0x100000001b3ULL; }
                printf("%-11s %9zu %9zu %9lld %10.2f %10.2f %9.1f  %016llx\n", kinds[k], sizes[s], n, (long long)enc.n_tokens,
                       best, best_cpu, best_cpu * 1e6 / (double)n, (unsigned long long)h);
                if (sizes[s] == 1000000 && best_cpu >= 1000.0 && strcmp(kinds[k], "english")) rc = 2;   // the R13 bar
            }
        }
        printf("\n");
        gaze_bpe_free(bpe);
    }
    gaze_encoding_free(&enc);
    free(buf); free(t); free(m); free(tl); free(ml); free(ty);
    json_decref(doc);
    if (rc) printf("FAIL: a 10^6-character worst case took >= 1 s\n");
    return rc;
}
