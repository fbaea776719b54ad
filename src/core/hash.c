// The one hash behind every table keyed by file contents (GGUF keys and tensor names,
// WordPiece and BPE vocabularies, BPE merges, run-file metadata): SipHash-1-3 (Aumasson and
// Bernstein; the variant Rust's HashMap and CPython's str hash use) under a key drawn once
// per process from getrandom(2). With an unkeyed hash (FNV-1a before) a file can hold names
// that all land in one probe chain, which made loading quadratic (a 2.5 MB GGUF took 18 s);
// without the key nobody can choose such names.
#include "core/core.h"
#include "core/hash.h"
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

static uint64_t       g_key[2];
static unsigned __int128 g_mul, g_add;   // gaze_hash_u64's a and b
static pthread_once_t g_key_once = PTHREAD_ONCE_INIT;
_Thread_local uint64_t gaze_hash_probes;

static void key_init(void) {
    uint8_t k[48];
    size_t got = 0;
    while (got < sizeof k) {   // getrandom never returns short for <= 256 bytes once seeded
        ssize_t r = getrandom(k + got, sizeof k - got, 0);
        if (r <= 0) break;
        got += (size_t)r;
    }
    if (got < sizeof k) {      // no getrandom (old kernel, seccomp): a weaker but unknown key
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        uint64_t x = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32) ^ ((uint64_t)getpid() << 16) ^ (uintptr_t)&ts;
        for (size_t i = got; i < sizeof k; i++) { x ^= x >> 12; x ^= x << 25; x ^= x >> 27; k[i] = (uint8_t)((x * 2685821657736338717ULL) >> 56); }
    }
    memcpy(g_key, k, 16);
    memcpy(&g_mul, k + 16, 16);
    memcpy(&g_add, k + 32, 16);
}

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND(v0, v1, v2, v3) do { \
    v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32); \
    v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2; \
    v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0; \
    v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32); } while (0)

void gaze_hash_begin(struct gaze_hash_state * st) {
    pthread_once(&g_key_once, key_init);
    st->v[0] = g_key[0] ^ 0x736f6d6570736575ULL;
    st->v[1] = g_key[1] ^ 0x646f72616e646f6dULL;
    st->v[2] = g_key[0] ^ 0x6c7967656e657261ULL;
    st->v[3] = g_key[1] ^ 0x7465646279746573ULL;
    st->tail = 0;
    st->len = 0;
}

static inline void compress(uint64_t v[4], uint64_t m) {
    uint64_t v0 = v[0], v1 = v[1], v2 = v[2], v3 = v[3];
    v3 ^= m;
    SIPROUND(v0, v1, v2, v3);
    v0 ^= m;
    v[0] = v0; v[1] = v1; v[2] = v2; v[3] = v3;
}

void gaze_hash_update(struct gaze_hash_state * st, const void * data, size_t n) {
    const uint8_t * p = data;
    for (size_t i = 0; i < n; i++) {
        st->tail |= (uint64_t)p[i] << (8 * (st->len & 7));
        if ((++st->len & 7) == 0) { compress(st->v, st->tail); st->tail = 0; }
    }
}

uint64_t gaze_hash_final(const struct gaze_hash_state * st) {
    uint64_t v[4] = { st->v[0], st->v[1], st->v[2], st->v[3] };
    compress(v, st->tail | (uint64_t)(st->len & 0xff) << 56);
    uint64_t v0 = v[0], v1 = v[1], v2 = v[2] ^ 0xff, v3 = v[3];
    SIPROUND(v0, v1, v2, v3);
    SIPROUND(v0, v1, v2, v3);
    SIPROUND(v0, v1, v2, v3);
    return v0 ^ v1 ^ v2 ^ v3;
}

uint64_t gaze_hash(const void * data, size_t n) {
    struct gaze_hash_state st;
    gaze_hash_begin(&st);
    const uint8_t * p = data;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {   // whole words at once; the tail through update
        uint64_t m;
        memcpy(&m, p + i, 8);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
        m = __builtin_bswap64(m);
#endif
        compress(st.v, m);
    }
    st.len = i;
    gaze_hash_update(&st, p + i, n - i);
    return gaze_hash_final(&st);
}

static inline uint64_t load_le(const uint8_t * p) {
    uint64_t m;
    memcpy(&m, p, 8);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    m = __builtin_bswap64(m);
#endif
    return m;
}

void gaze_hash_words(const void * data, size_t n, uint64_t (*v)[4]) {
    struct gaze_hash_state st;
    gaze_hash_begin(&st);
    memcpy(v[0], st.v, sizeof st.v);
    const uint8_t * p = data;
    for (size_t k = 0; 8 * (k + 1) <= n; k++) {
        memcpy(v[k + 1], v[k], sizeof v[k]);
        compress(v[k + 1], load_le(p + 8 * k));
    }
}

uint64_t gaze_hash_prefix(const uint64_t (*v)[4], const void * data, size_t len) {
    struct gaze_hash_state st;
    memcpy(st.v, v[len / 8], sizeof st.v);
    const uint8_t * p = (const uint8_t *)data + (len & ~(size_t)7);
    st.tail = 0;
    for (size_t i = 0; i < (len & 7); i++) st.tail |= (uint64_t)p[i] << (8 * i);
    st.len = len;
    return gaze_hash_final(&st);
}

// Integer keys (BPE merge pairs, looked up for every merge while encoding) take a cheaper
// keyed hash with a proof instead of SipHash's ~5 rounds: multiply-add-shift (Dietzfelbinger
// 1996), h(x) = ((a·x + b) mod 2^(64+l)) >> 64 with a, b random, is strongly universal for any
// l <= 64 output bits, i.e. the low l bits of the high word of a·x + b: two distinct keys share
// a table slot with probability 2^-l whatever keys a file chose.
uint64_t gaze_hash_u64(uint64_t x) {
    pthread_once(&g_key_once, key_init);
    return (uint64_t)((g_mul * x + g_add) >> 64);
}
