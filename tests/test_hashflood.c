// Hash flooding: names crafted to collide under the old unkeyed FNV-1a tables (all in one
// probe chain: quadratic loading) load as fast as random names now that every table uses the
// keyed hash of core/hash.c. Checked two ways: table probes per name (an internal counter),
// and the CPU time of the crafted load relative to a random one of the same size (best of 3, a
// generous 4x: the old code took 30-100x). Also the hash itself: streaming equals one-shot,
// and the key is per process (two processes disagree).
#include "check.h"
#include "gaze.h"
#include "core/hash.h"
#include "../bench/hashflood_craft.h"
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#define N_NAMES 8192

// CPU time, not wall time: on a shared machine a preempted load would look slow.
static double cpu_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

// Best of 3 CPU seconds to open the GGUF image; *probes: table probes of the last open.
static double time_gguf(const uint8_t * img, size_t size, uint64_t * probes) {
    double best = 1e9;
    for (int r = 0; r < 3; r++) {
        struct gaze_gguf * g = NULL;
        const uint64_t p0 = gaze_hash_probes;
        const double t0 = cpu_now();
        enum gaze_status s = gaze_gguf_open_buffer(img, size, "flood.gguf", &g);
        const double t = cpu_now() - t0;
        *probes = gaze_hash_probes - p0;
        CHECK(s == GAZE_OK, "gguf: %s", gaze_last_error());
        if (s == GAZE_OK) CHECK(gaze_gguf_n_kv(g) == N_NAMES, "n_kv %lld", (long long)gaze_gguf_n_kv(g));
        gaze_gguf_free(g);
        if (t < best) best = t;
    }
    return best;
}

static double time_vocab(const char * text, size_t size, uint64_t * probes) {
    double best = 1e9;
    for (int r = 0; r < 3; r++) {
        struct gaze_wordpiece * t = NULL;
        const uint64_t p0 = gaze_hash_probes;
        const double t0 = cpu_now();
        enum gaze_status s = gaze_wordpiece_init_vocab(&t, text, size, true, "flood vocab.txt");
        const double dt = cpu_now() - t0;
        *probes = gaze_hash_probes - p0;
        CHECK(s == GAZE_OK, "vocab: %s", gaze_last_error());
        if (s == GAZE_OK) CHECK(gaze_wordpiece_vocab_size(t) == N_NAMES + 5, "vocab size %d", gaze_wordpiece_vocab_size(t));
        gaze_wordpiece_free(t);
        if (dt < best) best = dt;
    }
    return best;
}

// A minimal run with n metadata keys sharing a long prefix, saved to path.
static void write_run(const char * path, int64_t n) {
    static const char fmt[] = "user.a-long-shared-prefix-of-metadata-keys.%08lld";
    const size_t len = sizeof fmt - 1 - 6 + 8;   // "%08lld" (6 bytes) prints 8 digits for n < 10^8
    char * keys = malloc((size_t)n * (len + 1));
    CHECK(keys != NULL, "out of memory");
    if (!keys) return;
    for (int64_t i = 0; i < n; i++) snprintf(keys + i * (int64_t)(len + 1), len + 1, fmt, (long long)i);
    CHECK(flood_save_run(path, keys, n, len) == GAZE_OK, "run: %s", gaze_last_error());
    free(keys);
}

// Best of 3 CPU seconds to load path (which holds n extras).
static double time_run(const char * path, int64_t n) {
    double best = 1e9;
    for (int rep = 0; rep < 3; rep++) {
        struct gaze_run r;
        const double t0 = cpu_now();
        enum gaze_status s = gaze_run_load(&r, path);
        const double t = cpu_now() - t0;
        CHECK(s == GAZE_OK && r.n_extra == n, "load %s: %s", path, gaze_last_error());
        if (s == GAZE_OK) gaze_run_free(&r);
        if (t < best) best = t;
    }
    return best;
}

int main(void) {
    if (getenv("GAZE_TEST_HASH_CHILD")) { printf("%016llx\n", (unsigned long long)gaze_hash("gaze", 4)); return 0; }
    // the crafted names really collide under the old hashes (else this test proves nothing)
    size_t len, rlen;
    char * gg = flood_names(FNV_BASIS_GGUF_OLD, "k.", N_NAMES, &len);
    char * wp = flood_names(FNV_BASIS_OLD, "", N_NAMES, &len);
    char * rnd = flood_random_names(N_NAMES, len, 12345);
    rlen = len;
    CHECK(gg && wp && rnd, "crafting failed");
    if (!gg || !wp || !rnd) return check_summary("test_hashflood");
    const uint64_t mask = ((uint64_t)1 << FLOOD_BITS) - 1;
    const uint64_t g0 = flood_fnv(FNV_BASIS_GGUF_OLD, "k.", 2), w0 = FNV_BASIS_OLD;
    bool same = true;
    for (int64_t x = 1; x < N_NAMES; x++) {
        same &= (flood_fnv(g0, gg + x * (len + 1), len) & mask) == (flood_fnv(g0, gg, len) & mask);
        same &= (flood_fnv(w0, wp + x * (len + 1), len) & mask) == (flood_fnv(w0, wp, len) & mask);
    }
    CHECK(same, "crafted names do not share their old FNV-1a slot");

    size_t n_gc, n_gr, n_vc, n_vr;
    uint8_t * gc = flood_gguf(gg, N_NAMES, len, &n_gc), * gr = flood_gguf(rnd, N_NAMES, rlen, &n_gr);
    char * vc = flood_vocab(wp, N_NAMES, len, &n_vc), * vr = flood_vocab(rnd, N_NAMES, rlen, &n_vr);
    uint64_t pc, pr;
    double tc = time_gguf(gc, n_gc, &pc), tr = time_gguf(gr, n_gr, &pr);
    printf("gguf %d keys: crafted %.2f ms (%llu probes), random %.2f ms (%llu probes)\n", N_NAMES, tc * 1e3,
           (unsigned long long)pc, tr * 1e3, (unsigned long long)pr);
    CHECK(pc <= 4 * N_NAMES, "gguf: %llu probes for %d crafted keys (quadratic?)", (unsigned long long)pc, N_NAMES);
    CHECK(tc <= 4 * tr + 2e-3, "gguf: crafted keys load %.1fx slower than random ones", tc / tr);
    tc = time_vocab(vc, n_vc, &pc);
    tr = time_vocab(vr, n_vr, &pr);
    printf("vocab %d tokens: crafted %.2f ms (%llu probes), random %.2f ms (%llu probes)\n", N_NAMES, tc * 1e3,
           (unsigned long long)pc, tr * 1e3, (unsigned long long)pr);
    CHECK(pc <= 4 * N_NAMES, "vocab: %llu probes for %d crafted tokens (quadratic?)", (unsigned long long)pc, N_NAMES);
    CHECK(tc <= 4 * tr + 2e-3, "vocab: crafted tokens load %.1fx slower than random ones", tc / tr);

    // run-file metadata loads in linear time: 4x the keys, about 4x the time (the old loader
    // scanned every earlier key per key and grew its arrays one at a time: 16x)
    char p1[64], p4[64];
    snprintf(p1, sizeof p1, "/tmp/gaze-test-hashflood-%d-1.safetensors", (int)getpid());
    snprintf(p4, sizeof p4, "/tmp/gaze-test-hashflood-%d-4.safetensors", (int)getpid());
    write_run(p1, 10000);
    write_run(p4, 40000);
    const double t1 = time_run(p1, 10000), t4 = time_run(p4, 40000);
    printf("run file: 10,000 keys %.1f ms, 40,000 keys %.1f ms (CPU): x%.1f\n", t1 * 1e3, t4 * 1e3, t4 / t1);
    CHECK(t4 <= 8 * t1 + 5e-3, "run file metadata: 4x the keys took %.1fx the time (quadratic?)", t4 / t1);
    unlink(p1);
    unlink(p4);

    // the streaming hash equals the one-shot one at every length (WordPiece hashes prefixes so)
    const char * msg = "the quick brown fox jumps over the lazy dog, 0123456789";
    struct gaze_hash_state st;
    gaze_hash_begin(&st);
    bool stream_ok = gaze_hash_final(&st) == gaze_hash("", 0);
    for (size_t i = 0; msg[i]; i++) {
        gaze_hash_update(&st, msg + i, 1);
        stream_ok &= gaze_hash_final(&st) == gaze_hash(msg, i + 1);
    }
    CHECK(stream_ok, "streaming hash differs from the one-shot hash");
    uint64_t words[16][4];
    const size_t mlen = strlen(msg);
    gaze_hash_words(msg, mlen, words);
    bool prefix_ok = true;
    for (size_t i = 0; i <= mlen; i++) prefix_ok &= gaze_hash_prefix(words, msg, i) == gaze_hash(msg, i);
    CHECK(prefix_ok, "gaze_hash_prefix differs from the one-shot hash");
    // integer keys crafted for the old BPE merge hash ((k * φ) ^ (k >> 31)): keys equal in their
    // low 13 bits and zero in bits 31..43 shared the low 13 bits, hence a slot of a 8192 table
    {
        enum { N = 4096 };
        uint64_t first = 0, slots[64] = { 0 };
        bool old_same = true;
        for (uint64_t i = 0; i < N; i++) {
            const uint64_t key = i << 44 | 7;
            const uint64_t old = (key * 0x9E3779B97F4A7C15ULL) ^ (key >> 31);
            if (i == 0) first = old & 0x1fff;
            old_same &= (old & 0x1fff) == first;
            slots[gaze_hash_u64(key) & 63]++;
        }
        uint64_t worst = 0;
        for (int i = 0; i < 64; i++) worst = slots[i] > worst ? slots[i] : worst;
        printf("merge keys: old hash put all %d in one slot of 8192: %s; keyed: fullest of 64 slots %llu (mean %d)\n",
               N, old_same ? "yes" : "no", (unsigned long long)worst, N / 64);
        CHECK(old_same, "the crafted merge keys did not collide under the old hash");
        CHECK(worst < 3 * N / 64, "keyed integer hash: %llu of %d keys in one of 64 slots", (unsigned long long)worst, N);
    }
    // keyed per process: a child process hashes the same string differently
    char self[4096], cmd[4200];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    self[n > 0 ? n : 0] = 0;
    snprintf(cmd, sizeof cmd, "GAZE_TEST_HASH_CHILD=1 '%s'", self);
    FILE * p = popen(cmd, "r");
    unsigned long long other = 0;
    if (p) { if (fscanf(p, "%llx", &other) != 1) other = 0; pclose(p); }
    CHECK(other != 0 && other != (unsigned long long)gaze_hash("gaze", 4), "the hash key is not per process (%llx)", other);
    free(gg); free(wp); free(rnd); free(gc); free(gr); free(vc); free(vr);
    return check_summary("test_hashflood");
}
