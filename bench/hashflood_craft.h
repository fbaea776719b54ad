// Hash-flooding inputs against the tables gaze used before its keyed hash (core/hash.c):
// FNV-1a 64 with linear probing, slot = hash & (size - 1). The low k bits of FNV-1a depend
// only on the low k bits of the state and of the bytes, so two 3-byte blocks that take one
// state to the same low bits can be found by a birthday search; m such pairs chained give
// 2^m names (Joux multicollision) that all start in one slot of any table of <= 2^k slots.
// Shared by bench/hashflood.c and tests/test_hashflood.c.
#ifndef GAZE_BENCH_HASHFLOOD_CRAFT_H
#define GAZE_BENCH_HASHFLOOD_CRAFT_H
#include "gaze.h"
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FLOOD_BITS  20                        // tables up to 2^20 slots (500k names)
#define FLOOD_BLOCK 3
#define FNV_PRIME_OLD 0x100000001b3ULL
#define FNV_BASIS_OLD 0xcbf29ce484222325ULL   // WordPiece (and BPE, which then mixed h >> 29)
#define FNV_BASIS_GGUF_OLD 1469598103934665603ULL   // gguf.c's copy: one digit short

static const char flood_alpha[] = "abcdefghijklmnopqrstuvwxyz0123456789";

static inline uint64_t flood_fnv(uint64_t h, const char * s, size_t n) {
    for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)s[i]) * FNV_PRIME_OLD;
    return h;
}

// count (<= 2^m) distinct names of m * FLOOD_BLOCK bytes in names[count][len + 1] (NUL
// terminated), all equal in the low FLOOD_BITS bits of flood_fnv(basis, prefix || name).
// Returns the malloc'd block (free it) or NULL.
static inline char * flood_names(uint64_t basis, const char * prefix, int64_t count, size_t * len) {
    int m = 0;
    while (((int64_t)1 << m) < count) m++;
    const uint64_t mask = ((uint64_t)1 << FLOOD_BITS) - 1;
    char (*pair)[2][FLOOD_BLOCK] = malloc((size_t)(m ? m : 1) * sizeof *pair);
    int32_t * seen = malloc(((size_t)1 << FLOOD_BITS) * sizeof *seen);
    if (!pair || !seen) { free(pair); free(seen); return NULL; }
    uint64_t h = flood_fnv(basis, prefix, strlen(prefix));
    const int A = (int)sizeof flood_alpha - 1, nb = A * A * A;
    for (int i = 0; i < m; i++) {
        memset(seen, 0xff, ((size_t)1 << FLOOD_BITS) * sizeof *seen);
        bool found = false;
        for (int b = 0; b < nb && !found; b++) {
            char blk[3] = { flood_alpha[b % A], flood_alpha[b / A % A], flood_alpha[b / A / A] };
            const uint64_t low = flood_fnv(h, blk, 3) & mask;
            if (seen[low] >= 0) {
                const int o = seen[low];
                char ob[3] = { flood_alpha[o % A], flood_alpha[o / A % A], flood_alpha[o / A / A] };
                memcpy(pair[i][0], ob, 3);
                memcpy(pair[i][1], blk, 3);
                h = flood_fnv(h, blk, 3);   // either block leaves the same low bits
                found = true;
            } else {
                seen[low] = b;
            }
        }
        if (!found) { free(pair); free(seen); return NULL; }
    }
    free(seen);
    *len = (size_t)m * FLOOD_BLOCK;
    char * out = malloc((size_t)count * (*len + 1));
    if (!out) { free(pair); return NULL; }
    for (int64_t x = 0; x < count; x++) {
        char * s = out + x * (int64_t)(*len + 1);
        for (int i = 0; i < m; i++) memcpy(s + i * FLOOD_BLOCK, pair[i][(x >> i) & 1], FLOOD_BLOCK);
        s[*len] = 0;
    }
    free(pair);
    return out;
}

// count random names of len bytes (same alphabet), distinct with overwhelming probability
// (len >= 12); xorshift from seed.
static inline char * flood_random_names(int64_t count, size_t len, uint64_t seed) {
    char * out = malloc((size_t)count * (len + 1));
    if (!out) return NULL;
    for (int64_t x = 0; x < count; x++) {
        char * s = out + x * (int64_t)(len + 1);
        for (size_t i = 0; i < len; i++) {
            seed ^= seed >> 12; seed ^= seed << 25; seed ^= seed >> 27;
            s[i] = flood_alpha[(seed * 2685821657736338717ULL >> 33) % (sizeof flood_alpha - 1)];
        }
        s[len] = 0;
    }
    return out;
}

// A GGUF v3 image with no tensors and one UINT32 key per name ("k." prefix). malloc'd.
static inline uint8_t * flood_gguf(const char * names, int64_t count, size_t len, size_t * size) {
    const size_t per = 8 + 2 + len + 4 + 4;
    uint8_t * p = malloc(24 + (size_t)count * per), * q = p;
    if (!p) return NULL;
    const uint32_t version = 3, type_u32 = 4;
    const uint64_t n_tensors = 0, n_kv = (uint64_t)count;
    memcpy(q, "GGUF", 4); q += 4;
    memcpy(q, &version, 4); q += 4;
    memcpy(q, &n_tensors, 8); q += 8;
    memcpy(q, &n_kv, 8); q += 8;
    for (int64_t x = 0; x < count; x++) {
        const uint64_t klen = 2 + len;
        const uint32_t v = (uint32_t)x;
        memcpy(q, &klen, 8); q += 8;
        memcpy(q, "k.", 2); q += 2;
        memcpy(q, names + x * (int64_t)(len + 1), len); q += len;
        memcpy(q, &type_u32, 4); q += 4;
        memcpy(q, &v, 4); q += 4;
    }
    *size = (size_t)(q - p);
    return p;
}

// vocab.txt contents: the BERT specials, then one token per name. malloc'd, NUL-terminated.
static inline char * flood_vocab(const char * names, int64_t count, size_t len, size_t * size) {
    static const char head[] = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n";
    char * p = malloc(sizeof head + (size_t)count * (len + 1)), * q = p;
    if (!p) return NULL;
    memcpy(q, head, sizeof head - 1); q += sizeof head - 1;
    for (int64_t x = 0; x < count; x++) {
        memcpy(q, names + x * (int64_t)(len + 1), len); q += len;
        *q++ = '\n';
    }
    *q = 0;
    *size = (size_t)(q - p);
    return p;
}
// A minimal valid run file (2 tokens, one layer, one head) at path whose metadata holds the
// count keys of names[count][len + 1] (value "1" each). The keys are set directly, not through
// gaze_run_set_extra (which checks each key against the earlier ones): what is measured is the
// load. GAZE_OK, or the failing call's status (gaze_last_error says why).
static inline enum gaze_status flood_save_run(const char * path, const char * names, int64_t count, size_t len) {
    struct gaze_run r;
    gaze_run_init(&r);
    r.model = strdup("flood");
    r.arch = strdup("bert");
    r.text = strdup("a b");
    r.n_layers = r.n_heads = r.n_kv_heads = r.d_head = r.n_embd = 1;
    const char * toks[2] = { "a", "b" };
    int32_t ids[2] = { 1, 2 };
    int64_t offs[4] = { 0, 1, 2, 3 };
    struct gaze_run_layer * l;
    enum gaze_status s = gaze_run_set_tokens(&r, 2, toks, NULL, ids, offs);
    if (!s) s = gaze_run_add_layer(&r, 0, GAZE_RUN_PART_ATTN, &l);
    if (!s) {
        l->attn[0] = l->attn[1] = l->attn[2] = l->attn[3] = 0.5f;
        r.extra_keys = calloc((size_t)count, sizeof *r.extra_keys);
        r.extra_values = calloc((size_t)count, sizeof *r.extra_values);
        if (!r.extra_keys || !r.extra_values) s = GAZE_ERR_NOMEM;
        for (int64_t i = 0; !s && i < count; i++) {
            r.extra_keys[i] = strndup(names + i * (int64_t)(len + 1), len);
            r.extra_values[i] = strdup("1");
            r.n_extra = i + 1;
            if (!r.extra_keys[i] || !r.extra_values[i]) s = GAZE_ERR_NOMEM;
        }
    }
    if (!s) s = gaze_run_save(&r, path, false);
    gaze_run_free(&r);
    return s;
}
#endif
