// AVX2 products of K-quant weights (Q4_K, Q5_K, Q6_K) with Q8_K activations, bit-identical to
// the scalar oracle (dot_q4k_q8k / dot_q5k_q8k / dot_q6k_q8k in quant.c): the AVX-512 scheme of quant_k_avx512.c
// on 32-input chunks, vpmaddubsw then vpmaddwd with the sub-block scales (exact int32), the
// min / code-offset term from Q8_K's 16-element sums, and the f32 epilogue in the oracle's
// operation order. Tiles: 2 rows × 2 tokens, 2 rows × 1 token. These serve unprepared weights;
// prepared ones (gaze_linear_prepare) use the 8-row group layout at the end of this file.
#include "kernels/quant.h"
#include <immintrin.h>

#define AI static inline __attribute__((always_inline))
// Stops the compiler from fusing a rounded product into an FMA (the scalar oracle rounds each).
#define NOFUSE(x) __asm__("" : "+x"(x))

AI float f16(uint16_t h) { return _cvtsh_ss(h); }

AI void reduce2(__m256i v, __m256i mterm, int32_t * sumi, int32_t * summ) {
    __m256i t = _mm256_hadd_epi32(v, mterm);
    t = _mm256_hadd_epi32(t, t);
    const __m128i r = _mm_add_epi32(_mm256_castsi256_si128(t), _mm256_extracti128_si256(t, 1));
    *sumi = _mm_cvtsi128_si32(r);
    *summ = _mm_extract_epi32(r, 1);
}

AI __m256i ld(const void * p) { return _mm256_loadu_si256((const __m256i *)p); }

// ---- Q4_K: qs[32c..32c+31] low nibbles = inputs 64c..64c+31, high nibbles = 64c+32..64c+63 -----
// Q5_K (t): the same, plus the fifth bit of input 64c+l in bit 2c of qh[l] (of 64c+32+l: 2c+1).
// Both share d, dmin and the 12 scale bytes at the same offsets.

AI const uint8_t * k45_qs(enum gaze_type t, const uint8_t * blk) {
    return t == GAZE_TYPE_Q5_K ? ((const struct block_q5_k *)blk)->qs : ((const struct block_q4_k *)blk)->qs;
}

AI void tile_q45k(enum gaze_type t, const int R, const int C, const uint8_t * w, size_t rb,
                  const struct quant_act * a, int64_t t0, int64_t r0, float * y, int64_t ldy) {
    const size_t bs = t == GAZE_TYPE_Q5_K ? sizeof(struct block_q5_k) : sizeof(struct block_q4_k);
    const __m256i one = _mm256_set1_epi8(1);
    const int64_t nbk = a->n_in / QK_K;
    const __m256i lo4 = _mm256_set1_epi8(0x0F);
    float sum[R][C];
    for (int r = 0; r < R; r++)
        for (int c = 0; c < C; c++) sum[r][c] = 0.0f;
    const struct block_q8_k * yk[C];
    for (int c = 0; c < C; c++) yk[c] = a->k + (t0 + c) * nbk;
    for (int64_t b = 0; b < nbk; b++) {
        const struct block_q4_k * xr[R];   // d, dmin, scales (the Q5_K block starts alike)
        uint8_t sm[R][16];
        __m256i acc[R][C];
        for (int r = 0; r < R; r++) {
            xr[r] = (const struct block_q4_k *)(w + (size_t)r * rb + (size_t)b * bs);
            quant_q4k_scales(xr[r]->scales, sm[r]);
            for (int c = 0; c < C; c++) acc[r][c] = _mm256_setzero_si256();
        }
        for (int j = 0; j < 4; j++)
            for (int r = 0; r < R; r++) {
                const __m256i q = ld(k45_qs(t, (const uint8_t *)xr[r]) + 32 * j);
                __m256i wl = _mm256_and_si256(q, lo4), wh = _mm256_and_si256(_mm256_srli_epi16(q, 4), lo4);
                if (t == GAZE_TYPE_Q5_K) {   // bit 2j / 2j+1 of each qh byte, moved to bit 4
                    const __m256i qh = ld(((const struct block_q5_k *)xr[r])->qh);
                    wl = _mm256_or_si256(wl, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2 * j), one), 4));
                    wh = _mm256_or_si256(wh, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2 * j + 1), one), 4));
                }
                const __m256i sl = _mm256_set1_epi16(sm[r][2 * j]), sh = _mm256_set1_epi16(sm[r][2 * j + 1]);
                for (int c = 0; c < C; c++) {
                    const __m256i pl = _mm256_maddubs_epi16(wl, ld(yk[c][b].qs + 64 * j));
                    const __m256i ph = _mm256_maddubs_epi16(wh, ld(yk[c][b].qs + 64 * j + 32));
                    acc[r][c] = _mm256_add_epi32(acc[r][c], _mm256_add_epi32(_mm256_madd_epi16(pl, sl), _mm256_madd_epi16(ph, sh)));
                }
            }
        for (int r = 0; r < R; r++) {
            const __m128i mb = _mm_loadl_epi64((const __m128i *)(sm[r] + 8));
            const __m256i mw = _mm256_cvtepu8_epi16(_mm_unpacklo_epi8(mb, mb));   // [m0 m0 m1 m1 ..]
            const float d = f16(xr[r]->d), dmin = f16(xr[r]->dmin);
            for (int c = 0; c < C; c++) {
                int32_t sumi, summ;
                reduce2(acc[r][c], _mm256_madd_epi16(mw, ld(yk[c][b].bsums)), &sumi, &summ);
                const float yd = yk[c][b].d;
                float a1 = d * yd;
                NOFUSE(a1);
                float t1 = a1 * (float)sumi;
                NOFUSE(t1);
                float a2 = dmin * yd;
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

// ---- Q6_K: per half h, ql[64h..] low nibbles = inputs 0..63, high = 64..127; two high bits
// from qh[32h + l] (bits 0-1, 2-3, 4-5, 6-7 for inputs l, l+32, l+64, l+96) ---------------------

AI void tile_q6k(const int R, const int C, const uint8_t * w, size_t rb, const struct quant_act * a,
                 int64_t t0, int64_t r0, float * y, int64_t ldy) {
    const int64_t nbk = a->n_in / QK_K;
    const __m256i lo4 = _mm256_set1_epi8(0x0F), m30 = _mm256_set1_epi8(0x30);
    float sum[R][C];
    for (int r = 0; r < R; r++)
        for (int c = 0; c < C; c++) sum[r][c] = 0.0f;
    const struct block_q8_k * yk[C];
    for (int c = 0; c < C; c++) yk[c] = a->k + (t0 + c) * nbk;
    for (int64_t b = 0; b < nbk; b++) {
        const struct block_q6_k * xr[R];
        __m256i acc[R][C];
        for (int r = 0; r < R; r++) {
            xr[r] = (const struct block_q6_k *)(w + (size_t)r * rb) + b;
            for (int c = 0; c < C; c++) acc[r][c] = _mm256_setzero_si256();
        }
        for (int h = 0; h < 2; h++)
            for (int r = 0; r < R; r++) {
                const __m256i l0 = ld(xr[r]->ql + 64 * h), l1 = ld(xr[r]->ql + 64 * h + 32);
                const __m256i qh = ld(xr[r]->qh + 32 * h);
                __m256i u[4];
                u[0] = _mm256_or_si256(_mm256_and_si256(l0, lo4), _mm256_and_si256(_mm256_slli_epi16(qh, 4), m30));
                u[1] = _mm256_or_si256(_mm256_and_si256(l1, lo4), _mm256_and_si256(_mm256_slli_epi16(qh, 2), m30));
                u[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), lo4), _mm256_and_si256(qh, m30));
                u[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), lo4),
                                       _mm256_and_si256(_mm256_srli_epi16(qh, 2), m30));
                const int8_t * sc = xr[r]->scales + 8 * h;
                for (int j = 0; j < 4; j++) {
                    // words 0..7: scale of inputs +0..15 of this chunk, 8..15: of +16..31
                    const __m256i S = _mm256_set_m128i(_mm_set1_epi16(sc[2 * j + 1]), _mm_set1_epi16(sc[2 * j]));
                    for (int c = 0; c < C; c++) {
                        const __m256i p = _mm256_maddubs_epi16(u[j], ld(yk[c][b].qs + 128 * h + 32 * j));
                        acc[r][c] = _mm256_add_epi32(acc[r][c], _mm256_madd_epi16(p, S));
                    }
                }
            }
        for (int r = 0; r < R; r++) {
            const __m256i sw = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)xr[r]->scales));
            const float d = f16(xr[r]->d);
            for (int c = 0; c < C; c++) {
                // Σ q·x = Σ u·x − 32·Σ scale·bsum
                const __m256i off = _mm256_slli_epi32(_mm256_madd_epi16(sw, ld(yk[c][b].bsums)), 5);
                int32_t sumi, soff;
                reduce2(acc[r][c], off, &sumi, &soff);
                sumi -= soff;
                float a1 = d * yk[c][b].d;
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

#define TB 64
#define DEFINE_KROWS(NAME, TILE)                                                                  \
    static void NAME(const uint8_t * w, size_t rb, const struct quant_act * a, float * y,        \
                     int64_t ldy, int64_t r0, int64_t r1) {                                      \
        const int64_t T = a->T;                                                                   \
        for (int64_t tb = 0; tb < T; tb += TB) {                                                  \
            const int64_t te = GAZE_MIN(T, tb + TB);                                              \
            int64_t r = r0;                                                                       \
            for (; r + 2 <= r1; r += 2) {                                                         \
                const uint8_t * wr = w + (size_t)r * rb;                                          \
                int64_t t = tb;                                                                   \
                for (; t + 2 <= te; t += 2) TILE(2, 2, wr, rb, a, t, r, y, ldy);                  \
                for (; t < te; t++) TILE(2, 1, wr, rb, a, t, r, y, ldy);                          \
            }                                                                                     \
            for (; r < r1; r++)                                                                   \
                for (int64_t t = tb; t < te; t++) TILE(1, 1, w + (size_t)r * rb, rb, a, t, r, y, ldy); \
        }                                                                                         \
    }

#define TILE_Q4K(...) tile_q45k(GAZE_TYPE_Q4_K, __VA_ARGS__)
#define TILE_Q5K(...) tile_q45k(GAZE_TYPE_Q5_K, __VA_ARGS__)
DEFINE_KROWS(rows_q4k, TILE_Q4K)
DEFINE_KROWS(rows_q5k, TILE_Q5K)
DEFINE_KROWS(rows_q6k, tile_q6k)

bool quant_k_rows_avx2(const void * w, enum gaze_type type, int64_t n_in,
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

// ---- 8-row groups packed at load (CPUs without AVX-512 VNNI) --------------------------------------
//
// gaze_quant_pack_init re-lays a K-quant weight into groups of 8 rows in which one ymm holds 4
// consecutive inputs of each of the 8 rows (lane r = row r). vpmaddubsw against a broadcast
// 4-byte activation word, a few i16 adds (bounded below), then one vpmaddwd with the rows'
// sub-block scales leave one row per i32 lane: a super-block ends without horizontal sums, and
// the f32 epilogue runs on 8 rows at once in the oracle's per-lane operation order, so the
// outputs stay bit-identical to it. Prompts tile 2 groups × 4 tokens (each weight ymm unpacked
// once for 4 tokens, each broadcast serving 16 rows); generation 2 groups × 1 token.
// One super-block of a group:
//   Q4_K: codes [32][8 rows][4] u8: ymm m, lane r byte i = code(r, 8m+i) | code(r, 8m+4+i) << 4;
//         sc [8][8] u8 (sub-block j, row r); mn [4][8][2] u8 (row r's mins of sub-blocks 2k,
//         2k+1); d [8] f16; dmin [8] f16                                   (1184 bytes, 1.03× raw)
//   Q5_K: Q4_K's nibbles; fifth bits [8][32] u8: ymm j (sub-block j = nibble ymms 4j..4j+3),
//         byte b bit 2s / 2s+1 = fifth bit of the low / high nibble at byte b of nibble ymm
//         4j+s; then sc, mn, d, dmin as Q4_K                               (1440 bytes, 1.02× raw)
//   Q6_K: codes [64][8][4] u8 (q + 32: no unpacking at all); sc [16][8] s8; d [8] f16; 16 bytes
//         of padding                                                       (2208 bytes, 1.31× raw)
// i16 bounds (|x| <= 127): a vpmaddubsw lane sums 2 products, at most 15·127, 31·127 or
// 63·127 each, so up to 16 (Q4_K), 8 (Q5_K) or 4 (Q6_K) products are summed in i16 exactly.
// Rows past n_out are zero (masked at the store).

AI size_t k8_codes(enum gaze_type t) { return t == GAZE_TYPE_Q4_K ? 1024 : t == GAZE_TYPE_Q5_K ? 1280 : 2048; }

size_t quant_k_pack8_sb_bytes(enum gaze_type t) {
    switch (t) {
    case GAZE_TYPE_Q4_K: return 1024 + 64 + 64 + 32;
    case GAZE_TYPE_Q5_K: return 1280 + 64 + 64 + 32;
    case GAZE_TYPE_Q6_K: return 2048 + 128 + 16 + 16;
    default:             return 0;
    }
}

// The 256 codes of super-block b of a row in input order (Q6_K: q + 32, 0..63).
static void k_codes(enum gaze_type t, const uint8_t * row, int64_t b, uint8_t u[QK_K]) {
    if (t == GAZE_TYPE_Q6_K) {
        const struct block_q6_k * x = (const struct block_q6_k *)row + b;
        for (int h = 0; h < 2; h++) {
            const uint8_t * ql = x->ql + 64 * h, * qh = x->qh + 32 * h;
            uint8_t * o = u + 128 * h;
            for (int l = 0; l < 32; l++) {
                o[l]      = (uint8_t)((ql[l] & 0x0F) | ((qh[l] >> 0) & 3) << 4);
                o[l + 32] = (uint8_t)((ql[l + 32] & 0x0F) | ((qh[l] >> 2) & 3) << 4);
                o[l + 64] = (uint8_t)((ql[l] >> 4) | ((qh[l] >> 4) & 3) << 4);
                o[l + 96] = (uint8_t)((ql[l + 32] >> 4) | ((qh[l] >> 6) & 3) << 4);
            }
        }
        return;
    }
    const uint8_t * qs = t == GAZE_TYPE_Q5_K ? ((const struct block_q5_k *)row + b)->qs : ((const struct block_q4_k *)row + b)->qs;
    const uint8_t * qh = t == GAZE_TYPE_Q5_K ? ((const struct block_q5_k *)row + b)->qh : NULL;
    for (int c = 0; c < 4; c++)
        for (int l = 0; l < 32; l++) {
            u[64 * c + l]      = (uint8_t)((qs[32 * c + l] & 0x0F) | (qh ? ((qh[l] >> (2 * c)) & 1) << 4 : 0));
            u[64 * c + 32 + l] = (uint8_t)((qs[32 * c + l] >> 4) | (qh ? ((qh[l] >> (2 * c + 1)) & 1) << 4 : 0));
        }
}

void quant_k_pack8_group_avx2(const void * w, enum gaze_type t, int64_t n_out, int64_t n_in,
                              int64_t g, uint8_t * dst) {
    const int64_t nbk = n_in / QK_K;
    const size_t sb = quant_k_pack8_sb_bytes(t), rb = gaze_type_row_bytes(t, n_in), cb = k8_codes(t);
    memset(dst, 0, sb * (size_t)nbk);
    for (int r = 0; r < 8 && 8 * g + r < n_out; r++) {
        const uint8_t * row = (const uint8_t *)w + (size_t)(8 * g + r) * rb;
        for (int64_t b = 0; b < nbk; b++) {
            uint8_t * o = dst + (size_t)b * sb;
            uint8_t u[QK_K];
            k_codes(t, row, b, u);
            if (t == GAZE_TYPE_Q6_K) {
                const struct block_q6_k * x = (const struct block_q6_k *)row + b;
                for (int j = 0; j < 64; j++) memcpy(o + 32 * j + 4 * r, u + 4 * j, 4);
                for (int j = 0; j < 16; j++) o[cb + 8 * j + r] = (uint8_t)x->scales[j];
                memcpy(o + cb + 128 + 2 * r, &x->d, 2);
                continue;
            }
            for (int m = 0; m < 32; m++)
                for (int i = 0; i < 4; i++) {
                    o[32 * m + 4 * r + i] = (uint8_t)((u[8 * m + i] & 0x0F) | (u[8 * m + 4 + i] & 0x0F) << 4);
                    if (t == GAZE_TYPE_Q5_K)
                        o[1024 + 32 * (m / 4) + 4 * r + i] |= (uint8_t)((u[8 * m + i] >> 4) << (2 * (m % 4)) |
                                                                        (u[8 * m + 4 + i] >> 4) << (2 * (m % 4) + 1));
                }
            const struct block_q4_k * x = (const struct block_q4_k *)(row + (size_t)b * gaze_type_block_bytes(t));
            uint8_t sm[16];
            quant_q4k_scales(x->scales, sm);
            for (int j = 0; j < 8; j++) o[cb + 8 * j + r] = sm[j];
            for (int k = 0; k < 4; k++) {
                o[cb + 64 + 16 * k + 2 * r]     = sm[8 + 2 * k];
                o[cb + 64 + 16 * k + 2 * r + 1] = sm[8 + 2 * k + 1];
            }
            memcpy(o + cb + 128 + 2 * r, &x->d, 2);
            memcpy(o + cb + 144 + 2 * r, &x->dmin, 2);
        }
    }
}

AI __m256i bc4(const int8_t * p) { int32_t v; memcpy(&v, p, 4); return _mm256_set1_epi32(v); }

// Row r's scale of one sub-block in both i16 halves of lane r, from 16 scale bytes (8 rows of
// sub-block j, then of j + 1) loaded into both 128-bit halves; `hi` picks j + 1. Unsigned
// (Q4_K/Q5_K: byte to the low half) or signed (Q6_K: byte to the high half, then >> 8).
AI __m256i k8_scale_u(__m256i s16, int hi) {
    const __m256i m = hi ? _mm256_setr_epi8(8, -1, 8, -1, 9, -1, 9, -1, 10, -1, 10, -1, 11, -1, 11, -1,
                                            12, -1, 12, -1, 13, -1, 13, -1, 14, -1, 14, -1, 15, -1, 15, -1)
                         : _mm256_setr_epi8(0, -1, 0, -1, 1, -1, 1, -1, 2, -1, 2, -1, 3, -1, 3, -1,
                                            4, -1, 4, -1, 5, -1, 5, -1, 6, -1, 6, -1, 7, -1, 7, -1);
    return _mm256_shuffle_epi8(s16, m);
}
AI __m256i k8_scale_s(__m256i s16, int hi) {
    const __m256i m = hi ? _mm256_setr_epi8(-1, 8, -1, 8, -1, 9, -1, 9, -1, 10, -1, 10, -1, 11, -1, 11,
                                            -1, 12, -1, 12, -1, 13, -1, 13, -1, 14, -1, 14, -1, 15, -1, 15)
                         : _mm256_setr_epi8(-1, 0, -1, 0, -1, 1, -1, 1, -1, 2, -1, 2, -1, 3, -1, 3,
                                            -1, 4, -1, 4, -1, 5, -1, 5, -1, 6, -1, 6, -1, 7, -1, 7);
    return _mm256_srai_epi16(_mm256_shuffle_epi8(s16, m), 8);
}
// Q6_K: row r's signed scales of sub-blocks j (low i16) and j + 1 (high i16) in lane r.
AI __m256i k8_scale_pair_s(__m256i s16) {
    const __m256i m = _mm256_setr_epi8(-1, 0, -1, 8, -1, 1, -1, 9, -1, 2, -1, 10, -1, 3, -1, 11,
                                       -1, 4, -1, 12, -1, 5, -1, 13, -1, 6, -1, 14, -1, 7, -1, 15);
    return _mm256_srai_epi16(_mm256_shuffle_epi8(s16, m), 8);
}
AI __m256i bcast16(const uint8_t * p) { return _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)p)); }

// Bit `p` of every byte of f moved to bit 4 (the fifth bit of a Q5_K code), other bits cleared.
AI __m256i k8_fifth(__m256i f, const int p) {
    const __m256i b4 = _mm256_set1_epi8(0x10);
    if (p < 4) return _mm256_and_si256(_mm256_slli_epi16(f, 4 - p), b4);
    if (p > 4) return _mm256_and_si256(_mm256_srli_epi16(f, p - 4), b4);
    return _mm256_and_si256(f, b4);
}

// Prefetch distance of the generation tiles, in super-blocks (1 and 2 measured alike, 4 slower).
#define K8_PF 1
// The tiles' largest G and C: fixed array bounds, so that no array is a VLA (GCC kept the
// [G][C] ones on the stack, resized each sub-block, even with G and C constant after inlining).
#define K8_GM 2
#define K8_CM 4

// Generation streams every weight once, and a tile's groups lie a group apart: super-block b +
// K8_PF of each group (past a group's end: the next group's start; prefetches never fault),
// a slice per sub-block step j of nj (all of it at once stalled on the line fill buffers).
AI void k8_prefetch(const uint8_t * o, size_t sb, int j, int nj) {
    const size_t per = (sb + 64 * (size_t)nj - 1) / (64 * (size_t)nj) * 64;
    for (size_t l = (size_t)j * per; l < (size_t)(j + 1) * per && l < sb; l += 64)
        _mm_prefetch((const char *)(o + K8_PF * sb + l), _MM_HINT_T0);
}

// G consecutive 8-row groups (pk: the first one's super-blocks, group stride gbytes) × C tokens
// from t0; rows row0 ...
AI void k8tile(enum gaze_type t, const int G, const int C, const uint8_t * pk, size_t gbytes,
               const struct quant_act * a, int64_t t0, int64_t row0, int64_t n_out, float * y, int64_t ldy) {
    const int64_t nbk = a->n_in / QK_K;
    const size_t sb = quant_k_pack8_sb_bytes(t), cb = k8_codes(t);
    const __m256i lo4 = _mm256_set1_epi8(0x0F);
    __m256 sum[K8_GM][K8_CM];
    for (int g = 0; g < G; g++)
        for (int c = 0; c < C; c++) sum[g][c] = _mm256_setzero_ps();
    for (int64_t b = 0; b < nbk; b++) {
        const uint8_t * o[K8_GM];
        for (int g = 0; g < G; g++) o[g] = pk + (size_t)g * gbytes + (size_t)b * sb;
        const struct block_q8_k * yk[K8_CM];
        for (int c = 0; c < C; c++) yk[c] = a->k + (t0 + c) * nbk + b;
        __m256i acc[K8_GM][K8_CM];
        for (int g = 0; g < G; g++)
            for (int c = 0; c < C; c++) acc[g][c] = _mm256_setzero_si256();
        if (t != GAZE_TYPE_Q6_K) {
            for (int j = 0; j < 8; j++) {   // sub-block j: inputs 32j .. 32j+31, nibble ymms 4j .. 4j+3
                if (C == 1) for (int g = 0; g < G; g++) k8_prefetch(o[g], sb, j, 8);
                __m256i SC[K8_GM], F[K8_GM], p[K8_GM][K8_CM];
                for (int g = 0; g < G; g++)   // set by each product's first step; zeroed for the compiler
                    for (int c = 0; c < C; c++) p[g][c] = _mm256_setzero_si256();
                for (int g = 0; g < G; g++) {
                    SC[g] = k8_scale_u(bcast16(o[g] + cb + 8 * (j & ~1)), j & 1);
                    if (t == GAZE_TYPE_Q5_K) F[g] = _mm256_loadu_si256((const __m256i *)(o[g] + 1024 + 32 * j));
                }
                for (int s = 0; s < 4; s++) {
                    const int m = 4 * j + s;
                    __m256i X0[K8_CM], X1[K8_CM];
                    for (int c = 0; c < C; c++) { X0[c] = bc4(yk[c]->qs + 8 * m); X1[c] = bc4(yk[c]->qs + 8 * m + 4); }
                    for (int g = 0; g < G; g++) {
                        const __m256i v = _mm256_loadu_si256((const __m256i *)(o[g] + 32 * m));
                        __m256i wl = _mm256_and_si256(v, lo4), wh = _mm256_and_si256(_mm256_srli_epi16(v, 4), lo4);
                        if (t == GAZE_TYPE_Q5_K) {
                            wl = _mm256_or_si256(wl, k8_fifth(F[g], 2 * s));
                            wh = _mm256_or_si256(wh, k8_fifth(F[g], 2 * s + 1));
                        }
                        for (int c = 0; c < C; c++) {
                            const __m256i q = _mm256_add_epi16(_mm256_maddubs_epi16(wl, X0[c]), _mm256_maddubs_epi16(wh, X1[c]));
                            // Q4_K: 16 products per i16 lane at most; Q5_K: 8 (flush every 2 ymm)
                            const bool first = t == GAZE_TYPE_Q5_K ? (s & 1) == 0 : s == 0;
                            p[g][c] = first ? q : _mm256_add_epi16(p[g][c], q);
                            if (t == GAZE_TYPE_Q4_K ? s == 3 : (s & 1) == 1)
                                acc[g][c] = _mm256_add_epi32(acc[g][c], _mm256_madd_epi16(p[g][c], SC[g]));
                        }
                    }
                }
            }
        } else {
            for (int j = 0; j < 16; j++) {   // sub-block j: inputs 16j .. 16j+15, code ymms 4j .. 4j+3
                if (C == 1) for (int g = 0; g < G; g++) k8_prefetch(o[g], sb, j, 16);
                __m256i SC[K8_GM], p[K8_GM][K8_CM];
                for (int g = 0; g < G; g++)
                    for (int c = 0; c < C; c++) p[g][c] = _mm256_setzero_si256();
                for (int g = 0; g < G; g++) SC[g] = k8_scale_s(bcast16(o[g] + cb + 8 * (j & ~1)), j & 1);
                for (int s = 0; s < 4; s++) {
                    const int m = 4 * j + s;
                    __m256i X[K8_CM];
                    for (int c = 0; c < C; c++) X[c] = bc4(yk[c]->qs + 4 * m);
                    for (int g = 0; g < G; g++) {
                        const __m256i v = _mm256_loadu_si256((const __m256i *)(o[g] + 32 * m));
                        for (int c = 0; c < C; c++) {
                            const __m256i q = _mm256_maddubs_epi16(v, X[c]);   // 4 products per i16 lane after 2
                            p[g][c] = (s & 1) == 0 ? q : _mm256_add_epi16(p[g][c], q);
                            if (s & 1) acc[g][c] = _mm256_add_epi32(acc[g][c], _mm256_madd_epi16(p[g][c], SC[g]));
                        }
                    }
                }
            }
        }
        for (int g = 0; g < G; g++) {
            const __m256 D = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(o[g] + cb + 128)));   // exact
            if (t != GAZE_TYPE_Q6_K) {
                const __m256 DM = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(o[g] + cb + 144)));
                for (int c = 0; c < C; c++) {
                    // Σ_j mn_j · (bsums of sub-block j), two sub-blocks per vpmaddwd
                    const int16_t * bs = yk[c]->bsums;
                    __m256i summ = _mm256_setzero_si256();
                    for (int k = 0; k < 4; k++) {
                        const __m256i MN = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(o[g] + cb + 64 + 16 * k)));
                        const int32_t s0 = bs[4 * k] + bs[4 * k + 1], s1 = bs[4 * k + 2] + bs[4 * k + 3];
                        const __m256i BS = _mm256_set1_epi32((int32_t)(((uint32_t)s1 << 16) | ((uint32_t)s0 & 0xFFFF)));
                        summ = _mm256_add_epi32(summ, _mm256_madd_epi16(MN, BS));
                    }
                    const __m256 yd = _mm256_set1_ps(yk[c]->d);
                    __m256 a1 = _mm256_mul_ps(D, yd);
                    NOFUSE(a1);
                    __m256 t1 = _mm256_mul_ps(a1, _mm256_cvtepi32_ps(acc[g][c]));
                    NOFUSE(t1);
                    __m256 a2 = _mm256_mul_ps(DM, yd);
                    NOFUSE(a2);
                    __m256 t2 = _mm256_mul_ps(a2, _mm256_cvtepi32_ps(summ));
                    NOFUSE(t2);
                    __m256 d12 = _mm256_sub_ps(t1, t2);
                    NOFUSE(d12);
                    sum[g][c] = _mm256_add_ps(sum[g][c], d12);
                }
            } else {
                for (int c = 0; c < C; c++) {
                    // Σ q·x = Σ u·x − 32·Σ_j sc_j · bsum_j
                    const int16_t * bs = yk[c]->bsums;
                    __m256i off = _mm256_setzero_si256();
                    for (int k = 0; k < 8; k++) {
                        const __m256i SP = k8_scale_pair_s(bcast16(o[g] + cb + 16 * k));
                        const __m256i BS = _mm256_set1_epi32((int32_t)(((uint32_t)(uint16_t)bs[2 * k + 1] << 16) | (uint16_t)bs[2 * k]));
                        off = _mm256_add_epi32(off, _mm256_madd_epi16(SP, BS));
                    }
                    const __m256i si = _mm256_sub_epi32(acc[g][c], _mm256_slli_epi32(off, 5));
                    __m256 a1 = _mm256_mul_ps(D, _mm256_set1_ps(yk[c]->d));
                    NOFUSE(a1);
                    __m256 t1 = _mm256_mul_ps(a1, _mm256_cvtepi32_ps(si));
                    NOFUSE(t1);
                    sum[g][c] = _mm256_add_ps(sum[g][c], t1);
                }
            }
        }
    }
    for (int g = 0; g < G; g++) {
        const int64_t r = row0 + 8 * g;
        for (int c = 0; c < C; c++) {
            float * dst = y + (t0 + c) * ldy + r;
            if (n_out - r >= 8) _mm256_storeu_ps(dst, sum[g][c]);
            else {
                float tmp[8];
                _mm256_storeu_ps(tmp, sum[g][c]);
                for (int64_t i = 0; i < n_out - r; i++) dst[i] = tmp[i];
            }
        }
    }
}

// Groups [g0, g1) (pk: group g0) for all tokens. Generation: 2 groups per tile (4 measured
// slower); prompts: 2 groups × 4 tokens, then 2 × 2 and 2 × 1 for the last tokens (2 × 4 is
// 1.1x (Q6_K, Q4_K) to 1.3x (Q5_K) over 2 × 2 on [1536 -> 576] × 128 tokens, CPU time, once the
// tile's arrays had fixed sizes); an odd last group: 1 group × 4 tokens. Tokens in blocks of 64
// so their Q8_K blocks stay in cache.
#define DEFINE_K8ROWS(NAME, TYPE)                                                                 \
    static void NAME(const uint8_t * pk, size_t gbytes, const struct quant_act * a, float * y,    \
                     int64_t ldy, int64_t g0, int64_t g1, int64_t n_out) {                        \
        int64_t g = g0;                                                                           \
        if (a->T == 1) {                                                                          \
            for (; g + 2 <= g1; g += 2) k8tile(TYPE, 2, 1, pk + (size_t)(g - g0) * gbytes, gbytes, a, 0, 8 * g, n_out, y, ldy); \
        }                                                                                         \
        for (int64_t tb = 0; tb < a->T; tb += TB) {                                               \
            const int64_t te = GAZE_MIN(a->T, tb + TB);                                           \
            int64_t gg = g;                                                                       \
            /* two groups share each broadcast activation word (1.2-1.25x over 1 group x 4 tokens) */ \
            for (; gg + 2 <= g1; gg += 2) {                                                   \
                    const uint8_t * p = pk + (size_t)(gg - g0) * gbytes;                          \
                    int64_t t = tb;                                                               \
                    for (; t + 4 <= te; t += 4) k8tile(TYPE, 2, 4, p, gbytes, a, t, 8 * gg, n_out, y, ldy); \
                    for (; t + 2 <= te; t += 2) k8tile(TYPE, 2, 2, p, gbytes, a, t, 8 * gg, n_out, y, ldy); \
                    for (; t < te; t++) k8tile(TYPE, 2, 1, p, gbytes, a, t, 8 * gg, n_out, y, ldy); \
                }                                                                                 \
            for (; gg < g1; gg++) {                                                               \
                const uint8_t * p = pk + (size_t)(gg - g0) * gbytes;                              \
                int64_t t = tb;                                                                   \
                for (; t + 4 <= te; t += 4) k8tile(TYPE, 1, 4, p, gbytes, a, t, 8 * gg, n_out, y, ldy); \
                for (; t + 2 <= te; t += 2) k8tile(TYPE, 1, 2, p, gbytes, a, t, 8 * gg, n_out, y, ldy); \
                for (; t < te; t++) k8tile(TYPE, 1, 1, p, gbytes, a, t, 8 * gg, n_out, y, ldy);    \
            }                                                                                     \
        }                                                                                         \
    }

DEFINE_K8ROWS(k8rows_q4k, GAZE_TYPE_Q4_K)
DEFINE_K8ROWS(k8rows_q5k, GAZE_TYPE_Q5_K)
DEFINE_K8ROWS(k8rows_q6k, GAZE_TYPE_Q6_K)

void quant_k_packed8_rows_avx2(const uint8_t * pk, size_t gbytes, enum gaze_type type,
                               const struct quant_act * act, float * y, int64_t ldy,
                               int64_t g0, int64_t g1, int64_t n_out) {
    if (type == GAZE_TYPE_Q4_K) k8rows_q4k(pk, gbytes, act, y, ldy, g0, g1, n_out);
    else if (type == GAZE_TYPE_Q5_K) k8rows_q5k(pk, gbytes, act, y, ldy, g0, g1, n_out);
    else k8rows_q6k(pk, gbytes, act, y, ldy, g0, g1, n_out);
}
