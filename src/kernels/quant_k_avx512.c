// AVX-512 VNNI products of K-quant weights (Q4_K, Q5_K, Q6_K) with Q8_K activations, bit-identical
// to the scalar oracle (dot_q4k_q8k / dot_q6k_q8k in quant.c).
//
// Per super-block (256 inputs) of a (row, token) pair the integer sums are exact: vpmaddubsw
// (u8 weight codes × s8 activations, pair sums far below int16 saturation) then vpdpwssd with
// the sub-block scales as int16 words accumulates Σ scale·Σ u·q into 16 int32 lanes. Q4_K's
// min term Σ min·bsum and Q6_K's code offset (codes are u = q + 32, so Σ q·x = Σ u·x − 32·bsum)
// come from one vpmaddwd of the scales with Q8_K's 16-element sums. The pair's sumi (and
// summ) are then reduced and combined in f32 with the scalar oracle's exact operation order,
// so every output has the scalar path's bits.
// Tiles: 4 rows × 4 tokens (prompt), 4 rows × 1 token (generation); a row's unpacked codes and
// scale words are built once per tile and reused across its tokens.
#include "kernels/quant.h"
#include <immintrin.h>

#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx512vnni,f16c,fma"))), apply_to = function)
#else
#pragma GCC target("avx512f,avx512bw,avx512dq,avx512vl,avx512vnni,f16c,fma")
#endif

#define AI static inline __attribute__((always_inline))
// Keeps a rounded f32 product as computed, so the compiler cannot fuse it into an FMA (the
// scalar oracle, built without FMA, rounds every product).
#define NOFUSE(x) __asm__("" : "+v"(x))

AI float f16(uint16_t h) { return _cvtsh_ss(h); }

// Integer sums (sumi, summ) of one pair from its accumulator and its min/offset term.
AI void reduce2(__m512i acc, __m256i mterm, int32_t * sumi, int32_t * summ) {
    const __m256i v = _mm256_add_epi32(_mm512_castsi512_si256(acc), _mm512_extracti64x4_epi64(acc, 1));
    __m256i t = _mm256_hadd_epi32(v, mterm);   // [v01 v23 m01 m23 | v45 v67 m45 m67]
    t = _mm256_hadd_epi32(t, t);               // [v0123 m0123 . . | v4567 m4567 . .]
    const __m128i r = _mm_add_epi32(_mm256_castsi256_si128(t), _mm256_extracti128_si256(t, 1));
    *sumi = _mm_cvtsi128_si32(r);
    *summ = _mm_extract_epi32(r, 1);
}

// ---- Q4_K --------------------------------------------------------------------------------------
//
// Weights: zmm of qs[0..63] holds, as low nibbles, inputs 0..31 | 64..95 and as high nibbles
// 32..63 | 96..127 (qs[64..127] likewise for 128..255). The activation vectors are gathered in
// the same order (two 32-byte halves), once per token and reused by every row of the tile.

struct q4k_row {
    __m512i sw;       // words 0..7: sub-block scales, 8..15: mins (u16)
    __m256i mw;       // [min0, min0, min1, min1, ..., min7, min7] (u16), pairs with bsums
    float d, dmin;
};

AI void q4k_row_prep(const struct block_q4_k * x, struct q4k_row * p) {
    uint8_t sm[16];
    quant_q4k_scales(x->scales, sm);
    const __m128i b = _mm_loadu_si128((const __m128i *)sm);
    p->sw = _mm512_zextsi256_si512(_mm256_cvtepu8_epi16(b));
    p->mw = _mm256_cvtepu8_epi16(_mm_unpackhi_epi8(b, b));
    p->d = f16(x->d);
    p->dmin = f16(x->dmin);
}

// chunk k: 0 = lo nibbles of qs[0..63], 1 = hi of qs[0..63], 2 / 3 the same of qs[64..127]
AI __m512i q4k_codes(const struct block_q4_k * x, int k) {
    const __m512i q = _mm512_loadu_si512(x->qs + 64 * (k >> 1));
    const __m512i v = (k & 1) ? _mm512_srli_epi16(q, 4) : q;
    return _mm512_and_si512(v, _mm512_set1_epi8(0x0F));
}

// Q5_K chunk k: the Q4_K codes of its qs plus the fifth bits, inputs in the same order: bit
// 2c of qh[l] for input 64c + l, 2c + 1 for 64c + 32 + l (chunk k holds c = 2(k >> 1) and
// c + 1 in its two 256-bit halves, low nibbles for even k).
AI __m512i q5k_chunk(const struct block_q5_k * x, int k) {
    const __m512i q = _mm512_loadu_si512(x->qs + 64 * (k >> 1));
    const __m512i v = (k & 1) ? _mm512_srli_epi16(q, 4) : q;
    const __m256i qh = _mm256_loadu_si256((const __m256i *)x->qh);
    const __m512i H = _mm512_inserti64x4(_mm512_castsi256_si512(qh), qh, 1);
    const int s0 = 4 * (k >> 1) + (k & 1);
    const __m512i sh = _mm512_inserti64x4(_mm512_set1_epi16((short)s0), _mm256_set1_epi16((short)(s0 + 2)), 1);
    const __m512i hb = _mm512_and_si512(_mm512_srlv_epi16(H, sh), _mm512_set1_epi8(1));
    return _mm512_or_si512(_mm512_and_si512(v, _mm512_set1_epi8(0x0F)), _mm512_slli_epi16(hb, 4));
}

AI __m512i q4k_act(const int8_t * q, int k) {   // inputs of chunk k, in the codes' order
    const int o = 128 * (k >> 1) + 32 * (k & 1);
    return _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)(q + o))),
                              _mm256_loadu_si256((const __m256i *)(q + o + 64)), 1);
}

AI __m512i q4k_scale_idx(int k) {   // words 0..15: scale of sub-block a, 16..31: of b
    static const int sub[4][2] = { { 0, 2 }, { 1, 3 }, { 4, 6 }, { 5, 7 } };
    return _mm512_mask_blend_epi16(0xFFFF0000u, _mm512_set1_epi16((short)sub[k][0]), _mm512_set1_epi16((short)sub[k][1]));
}

// Q4_K, or Q5_K (t): the blocks share d, dmin and the scale bytes at the same offsets.
AI void tile_q45k(enum gaze_type t, const int R, const int C, const uint8_t * w, size_t rb,
                  const struct quant_act * a, int64_t t0, int64_t r0, float * y, int64_t ldy) {
    const int64_t nbk = a->n_in / QK_K;
    const size_t bsz = t == GAZE_TYPE_Q5_K ? sizeof(struct block_q5_k) : sizeof(struct block_q4_k);
    float sum[R][C];
    for (int r = 0; r < R; r++)
        for (int c = 0; c < C; c++) sum[r][c] = 0.0f;
    const struct block_q8_k * yk[C];
    for (int c = 0; c < C; c++) yk[c] = a->k + (t0 + c) * nbk;
    for (int64_t b = 0; b < nbk; b++) {
        struct q4k_row p[R];
        const struct block_q4_k * xr[R];
        for (int r = 0; r < R; r++) {
            xr[r] = (const struct block_q4_k *)(w + (size_t)r * rb + (size_t)b * bsz);
            q4k_row_prep(xr[r], &p[r]);
        }
        __m512i acc[R][C];
        for (int r = 0; r < R; r++)
            for (int c = 0; c < C; c++) acc[r][c] = _mm512_setzero_si512();
        for (int k = 0; k < 4; k++) {
            __m512i X[C];
            for (int c = 0; c < C; c++) X[c] = q4k_act(yk[c][b].qs, k);
            const __m512i idx = q4k_scale_idx(k);
            for (int r = 0; r < R; r++) {
                const __m512i W = t == GAZE_TYPE_Q5_K ? q5k_chunk((const struct block_q5_k *)xr[r], k) : q4k_codes(xr[r], k);
                const __m512i S = _mm512_permutexvar_epi16(idx, p[r].sw);
                for (int c = 0; c < C; c++)
                    acc[r][c] = _mm512_dpwssd_epi32(acc[r][c], _mm512_maddubs_epi16(W, X[c]), S);
            }
        }
        for (int c = 0; c < C; c++) {
            const __m256i bs = _mm256_loadu_si256((const __m256i *)yk[c][b].bsums);
            const float yd = yk[c][b].d;
            for (int r = 0; r < R; r++) {
                int32_t sumi, summ;
                reduce2(acc[r][c], _mm256_madd_epi16(p[r].mw, bs), &sumi, &summ);
                // sum += d·yd·sumi − dmin·yd·summ, rounded as the scalar oracle does
                float a1 = p[r].d * yd;
                NOFUSE(a1);
                float t1 = a1 * (float)sumi;
                NOFUSE(t1);
                float a2 = p[r].dmin * yd;
                NOFUSE(a2);
                float t2 = a2 * (float)summ;
                NOFUSE(t2);
                sum[r][c] += t1 - t2;
            }
        }
    }
    for (int r = 0; r < R; r++)
        for (int c = 0; c < C; c++) y[(t0 + c) * ldy + r0 + r] = sum[r][c];
}

// ---- Q6_K --------------------------------------------------------------------------------------
//
// Half h (inputs 128h .. 128h+127): zmm of ql[64h..64h+63] gives inputs 0..63 as low nibbles and
// 64..127 as high nibbles, in input order; the two high bits come from qh[32h..32h+31] (bits
// 0-1, 2-3 for inputs 0..31, 32..63; bits 4-5, 6-7 for 64..95, 96..127).

struct q6k_row {
    __m512i sw;   // words 0..15: the 16 sub-block scales (s16)
    float d;
};

AI void q6k_row_prep(const struct block_q6_k * x, struct q6k_row * p) {
    p->sw = _mm512_zextsi256_si512(_mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)x->scales)));
    p->d = f16(x->d);
}

// chunk k (inputs 64k .. 64k+63): u = q + 32 in 0..63
AI __m512i q6k_codes(const struct block_q6_k * x, int k) {
    const int h = k >> 1;
    const __m512i L = _mm512_loadu_si512(x->ql + 64 * h);
    const __m256i qh = _mm256_loadu_si256((const __m256i *)(x->qh + 32 * h));
    const __m512i H = _mm512_inserti64x4(_mm512_castsi256_si512(qh), _mm256_srli_epi16(qh, 2), 1);
    const __m512i m30 = _mm512_set1_epi8(0x30), lo4 = _mm512_set1_epi8(0x0F);
    if (k & 1)
        return _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(L, 4), lo4), _mm512_and_si512(H, m30));
    return _mm512_or_si512(_mm512_and_si512(L, lo4), _mm512_and_si512(_mm512_slli_epi16(H, 4), m30));
}

AI __m512i q6k_scale_idx(int k) {   // words 8g..8g+7: scale 4k + g
    const __m512i w = _mm512_set_epi16(31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17, 16,
                                       15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
    return _mm512_add_epi16(_mm512_srli_epi16(w, 3), _mm512_set1_epi16((short)(4 * k)));
}

AI void tile_q6k(const int R, const int C, const uint8_t * w, size_t rb, const struct quant_act * a,
                 int64_t t0, int64_t r0, float * y, int64_t ldy) {
    const int64_t nbk = a->n_in / QK_K;
    float sum[R][C];
    for (int r = 0; r < R; r++)
        for (int c = 0; c < C; c++) sum[r][c] = 0.0f;
    const struct block_q8_k * yk[C];
    for (int c = 0; c < C; c++) yk[c] = a->k + (t0 + c) * nbk;
    for (int64_t b = 0; b < nbk; b++) {
        struct q6k_row p[R];
        const struct block_q6_k * xr[R];
        for (int r = 0; r < R; r++) {
            xr[r] = (const struct block_q6_k *)(w + (size_t)r * rb) + b;
            q6k_row_prep(xr[r], &p[r]);
        }
        __m512i acc[R][C];
        for (int r = 0; r < R; r++)
            for (int c = 0; c < C; c++) acc[r][c] = _mm512_setzero_si512();
        for (int k = 0; k < 4; k++) {
            __m512i X[C];
            for (int c = 0; c < C; c++) X[c] = _mm512_loadu_si512(yk[c][b].qs + 64 * k);
            const __m512i idx = q6k_scale_idx(k);
            for (int r = 0; r < R; r++) {
                const __m512i W = q6k_codes(xr[r], k);
                const __m512i S = _mm512_permutexvar_epi16(idx, p[r].sw);
                for (int c = 0; c < C; c++)
                    acc[r][c] = _mm512_dpwssd_epi32(acc[r][c], _mm512_maddubs_epi16(W, X[c]), S);
            }
        }
        for (int c = 0; c < C; c++) {
            const __m256i bs = _mm256_loadu_si256((const __m256i *)yk[c][b].bsums);
            const float yd = yk[c][b].d;
            for (int r = 0; r < R; r++) {
                // Σ q·x = Σ u·x − 32·Σ scale·bsum
                const __m256i off = _mm256_slli_epi32(_mm256_madd_epi16(_mm512_castsi512_si256(p[r].sw), bs), 5);
                int32_t sumi, soff;
                reduce2(acc[r][c], off, &sumi, &soff);
                sumi -= soff;
                // sum += d·yd·sumi, rounded as the scalar oracle does
                float a1 = p[r].d * yd;
                NOFUSE(a1);
                float t1 = a1 * (float)sumi;
                NOFUSE(t1);
                sum[r][c] += t1;
            }
        }
    }
    for (int r = 0; r < R; r++)
        for (int c = 0; c < C; c++) y[(t0 + c) * ldy + r0 + r] = sum[r][c];
}

// ---- loop nest ---------------------------------------------------------------------------------

#define TB 64   // tokens per block: their Q8_K activations stay in L2 across the row tiles
#define DEFINE_KROWS(NAME, TILE)                                                                  \
    static void NAME(const uint8_t * w, size_t rb, const struct quant_act * a, float * y,        \
                     int64_t ldy, int64_t r0, int64_t r1) {                                      \
        const int64_t T = a->T;                                                                   \
        for (int64_t tb = 0; tb < T; tb += TB) {                                                  \
            const int64_t te = GAZE_MIN(T, tb + TB);                                              \
            int64_t r = r0;                                                                       \
            for (; r + 4 <= r1; r += 4) {                                                         \
                const uint8_t * wr = w + (size_t)r * rb;                                          \
                int64_t t = tb;                                                                   \
                for (; t + 4 <= te; t += 4) TILE(4, 4, wr, rb, a, t, r, y, ldy);                  \
                for (; t < te; t++) TILE(4, 1, wr, rb, a, t, r, y, ldy);                          \
            }                                                                                     \
            for (; r < r1; r++) {                                                                 \
                const uint8_t * wr = w + (size_t)r * rb;                                          \
                int64_t t = tb;                                                                   \
                for (; t + 4 <= te; t += 4) TILE(1, 4, wr, rb, a, t, r, y, ldy);                  \
                for (; t < te; t++) TILE(1, 1, wr, rb, a, t, r, y, ldy);                          \
            }                                                                                     \
        }                                                                                         \
    }

#define TILE_Q4K(...) tile_q45k(GAZE_TYPE_Q4_K, __VA_ARGS__)
#define TILE_Q5K(...) tile_q45k(GAZE_TYPE_Q5_K, __VA_ARGS__)
DEFINE_KROWS(rows_q4k, TILE_Q4K)
DEFINE_KROWS(rows_q5k, TILE_Q5K)
DEFINE_KROWS(rows_q6k, tile_q6k)

bool quant_k_rows_avx512(const void * w, enum gaze_type type, int64_t n_in,
                         const struct quant_act * act, float * y, int64_t ldy,
                         int64_t r0, int64_t r1) {
    const size_t rb = gaze_type_row_bytes(type, n_in);
    switch (type) {
    case GAZE_TYPE_Q4_K: rows_q4k(w, rb, act, y, ldy, r0, r1); return true;
    case GAZE_TYPE_Q5_K: rows_q5k(w, rb, act, y, ldy, r0, r1); return true;
    case GAZE_TYPE_Q6_K: rows_q6k(w, rb, act, y, ldy, r0, r1); return true;
    default: return false;
    }
}

// ---- 16-row groups repacked on the fly (prompts) ------------------------------------------------
//
// For T >= 3 the driver repacks each 16-row group (quant_pack_group_avx512) so that one
// vpdpbusd serves 16 rows × 4 inputs and the per-super-block sums land one row per lane: no
// horizontal reductions, and the f32 epilogue runs on 16 rows at once (same per-lane operation
// order as the oracle, so still bit-identical). Layout of one super-block of a group:
//   Q4_K: codes [32][16 rows][4] u8: zmm m, lane r byte i = code(r, 8m+i) | code(r, 8m+4+i) << 4;
//         sc [8][16] u8, mn [8][16] u8, d [16] f16, dmin [16] f16        (2368 bytes, 1.03× raw)
//   Q6_K: codes [64][16 rows][4] u8: zmm j, lane r = row r's q + 32 of inputs 4j .. 4j+3;
//         sc [16][16] s8, d [16] f16, 32 bytes of padding                 (4416 bytes, 1.31× raw)
// Scales as bytes and d as f16 (widened in the kernel, exactly) keep the bytes a generated token
// streams close to the file's: generation is bound by them.
// Rows past n_out are zero (d = 0, masked at the store). gaze_quant_pack_init keeps this layout
// for generation too (fewer instructions per weight byte than the raw-block kernel above).
//   Q5_K: the Q4_K layout of the low four bits, then 32 pairs of u64 masks of the fifth bits
//         (pair m: inputs 8m..8m+3, then 8m+4..8m+7; bit 4r+i), then Q4_K's sc, mn, d, dmin
//                                                                         (2880 bytes, 1.02× raw)
// "codes" below covers the nibbles and, for Q5_K, the masks.
AI size_t kp_codes(enum gaze_type t) { return t == GAZE_TYPE_Q4_K ? 2048 : t == GAZE_TYPE_Q5_K ? 2560 : 4096; }

size_t quant_k_pack_sb_bytes(enum gaze_type t) {
    switch (t) {
    case GAZE_TYPE_Q4_K: return 2048 + 128 + 128 + 64;
    case GAZE_TYPE_Q5_K: return 2560 + 128 + 128 + 64;
    case GAZE_TYPE_Q6_K: return 4096 + 256 + 32 + 32;   // padded to 64-byte super-blocks
    default:             return 0;
    }
}

// The 256 codes u (0..31) of a Q5_K super-block in input order, its scales and mins.
AI void q5k_codes(const struct block_q5_k * x, uint8_t u[QK_K]) {
    for (int c = 0; c < 4; c++)
        for (int l = 0; l < 32; l++) {
            u[64 * c + l]      = (uint8_t)((x->qs[32 * c + l] & 0x0F) | ((x->qh[l] >> (2 * c)) & 1) << 4);
            u[64 * c + 32 + l] = (uint8_t)((x->qs[32 * c + l] >> 4) | ((x->qh[l] >> (2 * c + 1)) & 1) << 4);
        }
}

void quant_k_pack_group_avx512(const void * w, enum gaze_type t, int64_t n_out, int64_t n_in,
                               int64_t g, uint8_t * dst) {
    const int64_t nbk = n_in / QK_K;
    const size_t sb = quant_k_pack_sb_bytes(t), rb = gaze_type_row_bytes(t, n_in);
    memset(dst, 0, sb * (size_t)nbk);
    for (int r = 0; r < 16 && 16 * g + r < n_out; r++) {
        const uint8_t * row = (const uint8_t *)w + (size_t)(16 * g + r) * rb;
        for (int64_t b = 0; b < nbk; b++) {
            uint8_t * o = dst + (size_t)b * sb;
            _Alignas(64) uint8_t u[QK_K];
            const size_t cb = kp_codes(t);
            uint8_t * sc = o + cb;
            uint16_t * dv = (uint16_t *)(o + cb + 256);   // after the scale bytes
            if (t == GAZE_TYPE_Q4_K || t == GAZE_TYPE_Q5_K) {
                const uint8_t * scales;
                uint16_t d16, dm16;
                if (t == GAZE_TYPE_Q4_K) {
                    const struct block_q4_k * x = (const struct block_q4_k *)row + b;
                    for (int c = 0; c < 4; c++) {
                        const __m256i q = _mm256_loadu_si256((const __m256i *)(x->qs + 32 * c));
                        const __m256i lo4 = _mm256_set1_epi8(0x0F);
                        _mm256_store_si256((__m256i *)(u + 64 * c), _mm256_and_si256(q, lo4));
                        _mm256_store_si256((__m256i *)(u + 64 * c + 32), _mm256_and_si256(_mm256_srli_epi16(q, 4), lo4));
                    }
                    scales = x->scales; d16 = x->d; dm16 = x->dmin;
                } else {
                    const struct block_q5_k * x = (const struct block_q5_k *)row + b;
                    q5k_codes(x, u);
                    scales = x->scales; d16 = x->d; dm16 = x->dmin;
                    uint64_t * mk = (uint64_t *)(o + 2048);
                    for (int m = 0; m < 32; m++)
                        for (int i = 0; i < 4; i++) {
                            mk[2 * m]     |= (uint64_t)(u[8 * m + i] >> 4) << (4 * r + i);
                            mk[2 * m + 1] |= (uint64_t)(u[8 * m + 4 + i] >> 4) << (4 * r + i);
                        }
                }
                uint8_t sm[16];
                quant_q4k_scales(scales, sm);
                for (int j = 0; j < 8; j++) { sc[16 * j + r] = sm[j]; sc[128 + 16 * j + r] = sm[8 + j]; }
                dv[r] = d16;
                dv[16 + r] = dm16;
                for (int m = 0; m < 32; m++) {
                    uint32_t lo, hi;
                    memcpy(&lo, u + 8 * m, 4);
                    memcpy(&hi, u + 8 * m + 4, 4);
                    lo = (lo & 0x0F0F0F0Fu) | (hi & 0x0F0F0F0Fu) << 4;
                    memcpy(o + 64 * m + 4 * r, &lo, 4);
                }
                continue;
            } else {
                const struct block_q6_k * x = (const struct block_q6_k *)row + b;
                for (int k = 0; k < 4; k++) _mm512_store_si512(u + 64 * k, q6k_codes(x, k));
                for (int j = 0; j < 16; j++) sc[16 * j + r] = (uint8_t)x->scales[j];
                dv[r] = x->d;
            }
            for (int j = 0; j < 64; j++) memcpy(o + 64 * j + 4 * r, u + 4 * j, 4);   // Q6_K
        }
    }
}

AI __m512i bcast4(const int8_t * p) { int32_t v; memcpy(&v, p, 4); return _mm512_set1_epi32(v); }

// G consecutive 16-row groups (pk: the first one's packed super-blocks, group stride gbytes)
// × C tokens from t0. Per scale group: integer dots in two chains, × the s32 scales; then the
// f32 epilogue per lane in the oracle's operation order.
AI void ktile(enum gaze_type t, const int G, const int C, const uint8_t * pk, size_t gbytes,
              const struct quant_act * a, int64_t t0, int64_t row0, int64_t n_out, float * y, int64_t ldy) {
    const int64_t nbk = a->n_in / QK_K;
    const size_t sb = quant_k_pack_sb_bytes(t), cb = kp_codes(t);
    const __m512i lo4 = _mm512_set1_epi8(0x0F);
    const bool nib = t != GAZE_TYPE_Q6_K;                    // Q4_K, Q5_K: nibble codes and mins
    const int ng = nib ? 8 : 16, zg = 4;                      // scale groups, zmm per scale group
    __m512 sum[G][C];
    for (int g = 0; g < G; g++)
        for (int c = 0; c < C; c++) sum[g][c] = _mm512_setzero_ps();
    for (int64_t b = 0; b < nbk; b++) {
        const uint8_t * o[G];
        for (int g = 0; g < G; g++) o[g] = pk + (size_t)g * gbytes + (size_t)b * sb;
        if (C == 1)   // generation: the next super-block of each group (see quant_avx512.c's ptile)
            for (int g = 0; g < G; g++)
                for (size_t l = 0; l < sb; l += 64) _mm_prefetch((const char *)(o[g] + sb + l), _MM_HINT_T0);
        const struct block_q8_k * yk[C];
        for (int c = 0; c < C; c++) yk[c] = a->k + (t0 + c) * nbk + b;
        __m512i acc[G][C];
        for (int g = 0; g < G; g++)
            for (int c = 0; c < C; c++) acc[g][c] = _mm512_setzero_si512();
        for (int j = 0; j < ng; j++) {
            __m512i s0[G][C], s1[G][C];
            for (int g = 0; g < G; g++)
                for (int c = 0; c < C; c++) { s0[g][c] = _mm512_setzero_si512(); s1[g][c] = _mm512_setzero_si512(); }
            if (nib) {   // nibbles: zmm m gives inputs 8m..8m+3 and 8m+4..8m+7
                for (int i = 0; i < zg; i++) {
                    __m512i X0[C], X1[C];
                    for (int c = 0; c < C; c++) {
                        X0[c] = bcast4(yk[c]->qs + 8 * (zg * j + i));
                        X1[c] = bcast4(yk[c]->qs + 8 * (zg * j + i) + 4);
                    }
                    for (int g = 0; g < G; g++) {
                        const __m512i v = _mm512_load_si512(o[g] + 64 * (zg * j + i));
                        __m512i wl = _mm512_and_si512(v, lo4), wh = _mm512_and_si512(_mm512_srli_epi16(v, 4), lo4);
                        if (t == GAZE_TYPE_Q5_K) {   // + 16 where the fifth bit is set
                            __mmask64 ml, mh;
                            memcpy(&ml, o[g] + 2048 + 16 * (zg * j + i), 8);
                            memcpy(&mh, o[g] + 2048 + 16 * (zg * j + i) + 8, 8);
                            wl = _mm512_mask_add_epi8(wl, ml, wl, _mm512_set1_epi8(16));
                            wh = _mm512_mask_add_epi8(wh, mh, wh, _mm512_set1_epi8(16));
                        }
                        for (int c = 0; c < C; c++) {
                            s0[g][c] = _mm512_dpbusd_epi32(s0[g][c], wl, X0[c]);
                            s1[g][c] = _mm512_dpbusd_epi32(s1[g][c], wh, X1[c]);
                        }
                    }
                }
            } else {
                for (int i = 0; i < zg; i += 2) {
                    __m512i X0[C], X1[C];
                    for (int c = 0; c < C; c++) {
                        X0[c] = bcast4(yk[c]->qs + 4 * (zg * j + i));
                        X1[c] = bcast4(yk[c]->qs + 4 * (zg * j + i + 1));
                    }
                    for (int g = 0; g < G; g++) {
                        const __m512i w0 = _mm512_load_si512(o[g] + 64 * (zg * j + i));
                        const __m512i w1 = _mm512_load_si512(o[g] + 64 * (zg * j + i + 1));
                        for (int c = 0; c < C; c++) {
                            s0[g][c] = _mm512_dpbusd_epi32(s0[g][c], w0, X0[c]);
                            s1[g][c] = _mm512_dpbusd_epi32(s1[g][c], w1, X1[c]);
                        }
                    }
                }
            }
            for (int g = 0; g < G; g++) {
                const __m128i sc8 = _mm_load_si128((const __m128i *)(o[g] + cb + 16 * j));
                const __m512i SC = nib ? _mm512_cvtepu8_epi32(sc8) : _mm512_cvtepi8_epi32(sc8);
                for (int c = 0; c < C; c++) {
                    __m512i v = _mm512_add_epi32(s0[g][c], s1[g][c]);
                    if (t == GAZE_TYPE_Q6_K)   // Σ q·x = Σ u·x − 32·bsum
                        v = _mm512_sub_epi32(v, _mm512_set1_epi32(32 * yk[c]->bsums[j]));
                    acc[g][c] = _mm512_add_epi32(acc[g][c], _mm512_mullo_epi32(v, SC));
                }
            }
        }
        for (int g = 0; g < G; g++) {
            const __m512 D = _mm512_cvtph_ps(_mm256_load_si256((const __m256i *)(o[g] + cb + 256)));   // exact
            if (nib) {
                const __m512 DM = _mm512_cvtph_ps(_mm256_load_si256((const __m256i *)(o[g] + cb + 256 + 32)));
                __m512i summ[C];
                for (int c = 0; c < C; c++) summ[c] = _mm512_setzero_si512();
                for (int j = 0; j < 8; j++) {
                    const __m512i MN = _mm512_cvtepu8_epi32(_mm_load_si128((const __m128i *)(o[g] + cb + 128 + 16 * j)));
                    for (int c = 0; c < C; c++)
                        summ[c] = _mm512_add_epi32(summ[c], _mm512_mullo_epi32(MN,
                                      _mm512_set1_epi32(yk[c]->bsums[2 * j] + yk[c]->bsums[2 * j + 1])));
                }
                for (int c = 0; c < C; c++) {
                    const __m512 yd = _mm512_set1_ps(yk[c]->d);
                    __m512 a1 = _mm512_mul_ps(D, yd);
                    NOFUSE(a1);
                    __m512 t1 = _mm512_mul_ps(a1, _mm512_cvtepi32_ps(acc[g][c]));
                    NOFUSE(t1);
                    __m512 a2 = _mm512_mul_ps(DM, yd);
                    NOFUSE(a2);
                    __m512 t2 = _mm512_mul_ps(a2, _mm512_cvtepi32_ps(summ[c]));
                    NOFUSE(t2);
                    __m512 d12 = _mm512_sub_ps(t1, t2);
                    NOFUSE(d12);
                    sum[g][c] = _mm512_add_ps(sum[g][c], d12);
                }
            } else {
                for (int c = 0; c < C; c++) {
                    __m512 a1 = _mm512_mul_ps(D, _mm512_set1_ps(yk[c]->d));
                    NOFUSE(a1);
                    __m512 t1 = _mm512_mul_ps(a1, _mm512_cvtepi32_ps(acc[g][c]));
                    NOFUSE(t1);
                    sum[g][c] = _mm512_add_ps(sum[g][c], t1);
                }
            }
        }
    }
    for (int g = 0; g < G; g++) {
        const int64_t r = row0 + 16 * g;
        const __mmask16 mk = n_out - r >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n_out - r)) - 1);
        for (int c = 0; c < C; c++) _mm512_mask_storeu_ps(y + (t0 + c) * ldy + r, mk, sum[g][c]);
    }
}

// Generation (T = 1): two groups per tile; prompts: one group × 4 tokens.
#define DEFINE_KPROWS(NAME, TYPE)                                                                 \
    static void NAME(const uint8_t * pk, size_t gbytes, const struct quant_act * a, float * y,    \
                     int64_t ldy, int64_t g0, int64_t g1, int64_t n_out) {                        \
        int64_t g = g0;                                                                           \
        if (a->T == 1) {   /* two groups share each broadcast activation word */                \
            for (; g + 2 <= g1; g += 2) ktile(TYPE, 2, 1, pk + (size_t)(g - g0) * gbytes, gbytes, a, 0, 16 * g, n_out, y, ldy); \
        }                                                                                         \
        for (; g < g1; g++) {                                                                     \
            const uint8_t * p = pk + (size_t)(g - g0) * gbytes;                                  \
            int64_t t = 0;                                                                        \
            for (; t + 4 <= a->T; t += 4) ktile(TYPE, 1, 4, p, gbytes, a, t, 16 * g, n_out, y, ldy); \
            for (; t < a->T; t++) ktile(TYPE, 1, 1, p, gbytes, a, t, 16 * g, n_out, y, ldy);      \
        }                                                                                         \
    }

DEFINE_KPROWS(kprows_q4k, GAZE_TYPE_Q4_K)
DEFINE_KPROWS(kprows_q5k, GAZE_TYPE_Q5_K)
DEFINE_KPROWS(kprows_q6k, GAZE_TYPE_Q6_K)

void quant_k_packed_rows_avx512(const uint8_t * pk, size_t gbytes, enum gaze_type type,
                                const struct quant_act * act, float * y, int64_t ldy,
                                int64_t g0, int64_t g1, int64_t n_out) {
    if (type == GAZE_TYPE_Q4_K) kprows_q4k(pk, gbytes, act, y, ldy, g0, g1, n_out);
    else if (type == GAZE_TYPE_Q5_K) kprows_q5k(pk, gbytes, act, y, ldy, g0, g1, n_out);
    else kprows_q6k(pk, gbytes, act, y, ldy, g0, g1, n_out);
}

#if defined(__clang__)
#pragma clang attribute pop
#endif
