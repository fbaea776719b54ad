// Hash flooding: names crafted to collide under the old unkeyed FNV-1a tables (all in one
// probe chain: quadratic loading) load as fast as random names now that every table uses the
// keyed hash of core/hash.c. Checked two ways: table probes per name (an internal counter),
// and the time of the crafted load relative to a random one of the same size (best of 3, a
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

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

// Best of 3 seconds to open the GGUF image; *probes: table probes of the last open.
static double time_gguf(const uint8_t * img, size_t size, uint64_t * probes) {
    double best = 1e9;
    for (int r = 0; r < 3; r++) {
        struct gaze_gguf * g = NULL;
        const uint64_t p0 = gaze_hash_probes;
        const double t0 = now();
        enum gaze_status s = gaze_gguf_open_buffer(img, size, "flood.gguf", &g);
        const double t = now() - t0;
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
        const double t0 = now();
        enum gaze_status s = gaze_wordpiece_init_vocab(&t, text, size, true, "flood vocab.txt");
        const double dt = now() - t0;
        *probes = gaze_hash_probes - p0;
        CHECK(s == GAZE_OK, "vocab: %s", gaze_last_error());
        if (s == GAZE_OK) CHECK(gaze_wordpiece_vocab_size(t) == N_NAMES + 5, "vocab size %d", gaze_wordpiece_vocab_size(t));
        gaze_wordpiece_free(t);
        if (dt < best) best = dt;
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
    uint8_t le[8] = { 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11 };
    CHECK(gaze_hash_u64(0x1122334455667788ULL) == gaze_hash(le, 8), "gaze_hash_u64 is not the hash of its 8 bytes");
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
