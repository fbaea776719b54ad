// SHA-256 (FIPS 180-4) and base64: the CSP hashes of the viewer's inline script and style, and
// the base64 text of its data block; the check of a model assembled from chunks.
#include "core/sha256.h"
#include <string.h>

static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static uint32_t ror(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

static void block(uint32_t h[8], const uint8_t * p) {   // one 64-byte block
    uint32_t w[64];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    for (int i = 16; i < 64; i++) {
        const uint32_t s0 = ror(w[i - 15], 7) ^ ror(w[i - 15], 18) ^ (w[i - 15] >> 3);
        const uint32_t s1 = ror(w[i - 2], 17) ^ ror(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], k = h[7];
    for (int i = 0; i < 64; i++) {
        const uint32_t t1 = k + (ror(e, 6) ^ ror(e, 11) ^ ror(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i];
        const uint32_t t2 = (ror(a, 2) ^ ror(a, 13) ^ ror(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        k = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
    }
    h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += k;
}

void gaze_sha256_init(struct gaze_sha256_ctx * c) {
    static const uint32_t h0[8] = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                    0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 };
    memcpy(c->h, h0, sizeof h0);
    c->nbuf = 0;
    c->total = 0;
}

void gaze_sha256_update(struct gaze_sha256_ctx * c, const void * data, size_t n) {
    const uint8_t * p = data;
    c->total += n;
    if (c->nbuf) {
        const size_t take = n < 64 - c->nbuf ? n : 64 - c->nbuf;
        memcpy(c->buf + c->nbuf, p, take);
        c->nbuf += take; p += take; n -= take;
        if (c->nbuf < 64) return;
        block(c->h, c->buf);
        c->nbuf = 0;
    }
    for (; n >= 64; n -= 64, p += 64) block(c->h, p);
    memcpy(c->buf, p, n);
    c->nbuf = n;
}

void gaze_sha256_final(struct gaze_sha256_ctx * c, uint8_t out[32]) {
    // padding: 0x80, zeros, then the bit length big-endian in the last 8 bytes
    uint8_t tail[128] = { 0 };
    const size_t left = c->nbuf;
    memcpy(tail, c->buf, left);
    tail[left] = 0x80;
    const size_t len = left + 1 + 8 <= 64 ? 64 : 128;
    const uint64_t bits = c->total * 8;
    for (int i = 0; i < 8; i++) tail[len - 1 - i] = (uint8_t)(bits >> (8 * i));
    block(c->h, tail);
    if (len == 128) block(c->h, tail + 64);
    for (int i = 0; i < 8; i++) {
        out[4 * i] = (uint8_t)(c->h[i] >> 24);
        out[4 * i + 1] = (uint8_t)(c->h[i] >> 16);
        out[4 * i + 2] = (uint8_t)(c->h[i] >> 8);
        out[4 * i + 3] = (uint8_t)c->h[i];
    }
}

void gaze_sha256(const void * data, size_t n, uint8_t out[32]) {
    struct gaze_sha256_ctx c;
    gaze_sha256_init(&c);
    gaze_sha256_update(&c, data, n);
    gaze_sha256_final(&c, out);
}

void gaze_base64_encode(const uint8_t * src, size_t n, char * dst) {
    static const char A[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t i = 0, o = 0;
    for (; i + 3 <= n; i += 3) {
        const uint32_t v = (uint32_t)src[i] << 16 | (uint32_t)src[i + 1] << 8 | src[i + 2];
        dst[o++] = A[v >> 18];
        dst[o++] = A[(v >> 12) & 63];
        dst[o++] = A[(v >> 6) & 63];
        dst[o++] = A[v & 63];
    }
    if (n - i == 1) {
        const uint32_t v = (uint32_t)src[i] << 16;
        dst[o++] = A[v >> 18];
        dst[o++] = A[(v >> 12) & 63];
        dst[o++] = '=';
        dst[o++] = '=';
    } else if (n - i == 2) {
        const uint32_t v = (uint32_t)src[i] << 16 | (uint32_t)src[i + 1] << 8;
        dst[o++] = A[v >> 18];
        dst[o++] = A[(v >> 12) & 63];
        dst[o++] = A[(v >> 6) & 63];
        dst[o++] = '=';
    }
}

void gaze_sha256_base64(const void * data, size_t n, char out[45]) {
    uint8_t d[32];
    gaze_sha256(data, n, d);
    gaze_base64_encode(d, 32, out);
    out[44] = '\0';
}
