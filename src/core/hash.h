// Keyed hashes for every table built from file contents (core/hash.c): SipHash-1-3 for
// strings, multiply-add-shift for 64-bit integers, under one per-process random key, so no
// file can pick names or ids that collide.
#ifndef GAZE_CORE_HASH_H
#define GAZE_CORE_HASH_H
#include <stddef.h>
#include <stdint.h>

uint64_t gaze_hash(const void * data, size_t n);
// 64-bit integer keys: a keyed strongly universal hash (multiply-add-shift), much cheaper.
uint64_t gaze_hash_u64(uint64_t x);

// Streaming form, for the hashes of every prefix of a string (WordPiece's longest match):
// update with a few bytes, gaze_hash_final (which leaves the state as it was), update again.
// gaze_hash_final after update(s[0..n)) equals gaze_hash(s, n).
struct gaze_hash_state {
    uint64_t v[4];
    uint64_t tail;                    // the bytes past the last whole 8-byte word
    size_t   len;
};
void     gaze_hash_begin(struct gaze_hash_state * st);
void     gaze_hash_update(struct gaze_hash_state * st, const void * data, size_t n);
uint64_t gaze_hash_final(const struct gaze_hash_state * st);

// Hashes of many prefixes of one string s[0..n) (WordPiece's longest match, which tries
// several lengths from one start): gaze_hash_words fills v[k], k = 0..n/8, with the state
// after the first k 8-byte words; gaze_hash_prefix(v, s, len) for len <= n then equals
// gaze_hash(s, len) at the cost of one word and the finalisation.
void     gaze_hash_words(const void * s, size_t n, uint64_t (*v)[4]);
uint64_t gaze_hash_prefix(const uint64_t (*v)[4], const void * s, size_t len);

// Probes made while building tables, on this thread: tests check loads stay linear with it.
extern _Thread_local uint64_t gaze_hash_probes;
#endif
