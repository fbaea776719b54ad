// AVX2 products of K-quant weights (Q4_K, Q5_K, Q6_K) with Q8_K activations, bit-identical to
// the scalar oracle (dot_q4k_q8k / dot_q5k_q8k / dot_q6k_q8k in quant.c): the AVX-512 scheme of quant_k_avx512.c
// on 32-input chunks, vpmaddubsw then vpmaddwd with the sub-block scales (exact int32), the
// min / code-offset term from Q8_K's 16-element sums, and the f32 epilogue in the oracle's
// operation order. Tiles: 2 rows × 2 tokens, 2 rows × 1 token.
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
