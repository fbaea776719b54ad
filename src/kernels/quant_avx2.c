// AVX2 quantized products: one 32-block (one ymm of codes) at a time, vpmaddubsw + vpmaddwd
// for the u8 × s8 block dot (llama.cpp's AVX2 scheme). Q8_0 uses the sign trick
// (|w| × sign(x, w)) because (w + 128) · x pairs would saturate int16; the nibble types stay
// far below it (31 · 127 · 2 < 32767). Min/offset terms are summed after the block loop.
// Used for raw 32-block weights at T <= 2 and for F32/F16/BF16: prepared weights and prompts
// (T >= 3) of the 32-block types go through the packed layout of quant_pack_avx2.c.
#include "kernels/quant.h"
#include <immintrin.h>
#include <math.h>

#define AI static inline __attribute__((always_inline))
#define KC 256


AI float f16(const uint8_t * p) { uint16_t h; memcpy(&h, p, 2); return _cvtsh_ss(h); }

// 32 bytes: 0xFF where bit j of h is set, element order.
AI __m256i bits_to_bytes(uint32_t h) {
    const __m256i shuf = _mm256_set_epi64x(0x0303030303030303ll, 0x0202020202020202ll,
                                           0x0101010101010101ll, 0x0000000000000000ll);
    __m256i v = _mm256_shuffle_epi8(_mm256_set1_epi32((int)h), shuf);
    const __m256i bm = _mm256_set1_epi64x((long long)0x7fbfdfeff7fbfdfeull);   // ~(1 << j) per byte
    v = _mm256_or_si256(v, bm);
    return _mm256_cmpeq_epi8(v, _mm256_set1_epi8(-1));
}

// Block b of a row at w: u8 codes W (element order), scale d, m' (offset or min).
// Q8_0 returns the signed codes in W (sign trick applied by the caller) and m' = 0.
AI void unpack_block(enum gaze_type t, const uint8_t * p, __m256i * W, float * d, float * m) {
    *d = f16(p);
    if (t == GAZE_TYPE_Q8_0) {
        *W = _mm256_loadu_si256((const __m256i *)(p + 2));
        *m = 0.0f;
        return;
    }
    const int qo = t == GAZE_TYPE_Q4_0 ? 2 : t == GAZE_TYPE_Q4_1 ? 4 : t == GAZE_TYPE_Q5_0 ? 6 : 8;
    const __m128i q = _mm_loadu_si128((const __m128i *)(p + qo));
    __m256i v = _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(q, 4), q), _mm256_set1_epi8(0x0F));
    if (t == GAZE_TYPE_Q5_0 || t == GAZE_TYPE_Q5_1) {
        uint32_t h;
        memcpy(&h, p + (t == GAZE_TYPE_Q5_0 ? 2 : 4), 4);
        v = _mm256_or_si256(v, _mm256_and_si256(bits_to_bytes(h), _mm256_set1_epi8(0x10)));
    }
    *W = v;
    switch (t) {
    case GAZE_TYPE_Q4_0: *m = -8.0f * *d; break;
    case GAZE_TYPE_Q5_0: *m = -16.0f * *d; break;
    default:             *m = f16(p + 2); break;   // Q4_1, Q5_1
    }
}

AI __m256 block_dot(enum gaze_type t, __m256i W, __m256i X) {
    __m256i p16;
    if (t == GAZE_TYPE_Q8_0) p16 = _mm256_maddubs_epi16(_mm256_sign_epi8(W, W), _mm256_sign_epi8(X, W));
    else p16 = _mm256_maddubs_epi16(W, X);
    return _mm256_cvtepi32_ps(_mm256_madd_epi16(p16, _mm256_set1_epi16(1)));
}

AI float hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

AI void tile_q(enum gaze_type t, const int R, const int C, const uint8_t * w, size_t rb,
               const struct quant_act * a, int64_t t0, int64_t r0, float * y, int64_t ldy) {
    const int64_t nb = a->nb;
    const int B = q32_blk_bytes(t);
    __m256 acc[R][C];
    for (int r = 0; r < R; r++)
        for (int c = 0; c < C; c++) acc[r][c] = _mm256_setzero_ps();
    const int8_t * xq[C];
    const float * xd[C];
    const float * xs[C];
    for (int c = 0; c < C; c++) {
        xq[c] = a->qs + (t0 + c) * a->ld_qs;
        xd[c] = a->d + (t0 + c) * nb;
        xs[c] = a->s + (t0 + c) * nb;
    }
    float mbuf[R][KC];
    for (int64_t kb = 0; kb < nb; kb += KC) {
        const int64_t ke = GAZE_MIN(nb, kb + KC);
        for (int64_t b = kb; b < ke; b++) {
            __m256i W[R];
            float dw[R];
            for (int r = 0; r < R; r++) unpack_block(t, w + (size_t)r * rb + (size_t)b * B, &W[r], &dw[r], &mbuf[r][b - kb]);
            for (int c = 0; c < C; c++) {
                const __m256i X = _mm256_loadu_si256((const __m256i *)(xq[c] + 32 * b));
                for (int r = 0; r < R; r++)
                    acc[r][c] = _mm256_fmadd_ps(block_dot(t, W[r], X), _mm256_set1_ps(dw[r] * xd[c][b]), acc[r][c]);
            }
        }
        if (t == GAZE_TYPE_Q8_0) continue;   // sign trick: no offset term
        const int64_t n = ke - kb;
        int64_t j = 0;
        for (; j + 8 <= n; j += 8)
            for (int r = 0; r < R; r++) {
                const __m256 M = _mm256_loadu_ps(&mbuf[r][j]);
                for (int c = 0; c < C; c++) acc[r][c] = _mm256_fmadd_ps(M, _mm256_loadu_ps(xs[c] + kb + j), acc[r][c]);
            }
        for (; j < n; j++)
            for (int r = 0; r < R; r++)
                for (int c = 0; c < C; c++)
                    acc[r][c] = _mm256_add_ps(acc[r][c], _mm256_setr_ps(mbuf[r][j] * xs[c][kb + j], 0, 0, 0, 0, 0, 0, 0));
    }
    for (int r = 0; r < R; r++)
        for (int c = 0; c < C; c++) y[(t0 + c) * ldy + r0 + r] = hsum(acc[r][c]);
}

AI float wf1(enum gaze_type t, const uint8_t * p) {
    if (t == GAZE_TYPE_F32) { float f; memcpy(&f, p, 4); return f; }
    uint16_t h;
    memcpy(&h, p, 2);
    return t == GAZE_TYPE_F16 ? _cvtsh_ss(h) : quant_bf16_to_f32(h);
}

AI __m256 load_wf(enum gaze_type t, const uint8_t * p) {
    if (t == GAZE_TYPE_F32) return _mm256_loadu_ps((const float *)p);
    const __m128i h = _mm_loadu_si128((const __m128i *)p);
    if (t == GAZE_TYPE_F16) return _mm256_cvtph_ps(h);
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

AI void tile_f(enum gaze_type t, const int R, const int C, const uint8_t * w, size_t rb,
               const struct quant_act * a, int64_t t0, int64_t r0, float * y, int64_t ldy) {
    const int64_t n = a->n_in, n8 = n & ~(int64_t)7;
    const int es = t == GAZE_TYPE_F32 ? 4 : 2;
    __m256 acc[R][C];
    for (int r = 0; r < R; r++)
        for (int c = 0; c < C; c++) acc[r][c] = _mm256_setzero_ps();
    for (int64_t i = 0; i < n8; i += 8) {
        __m256 W[R];
        for (int r = 0; r < R; r++) W[r] = load_wf(t, w + (size_t)r * rb + (size_t)i * es);
        for (int c = 0; c < C; c++) {
            const __m256 X = _mm256_loadu_ps(a->f + (t0 + c) * n + i);
            for (int r = 0; r < R; r++) acc[r][c] = _mm256_fmadd_ps(W[r], X, acc[r][c]);
        }
    }
    for (int r = 0; r < R; r++)
        for (int c = 0; c < C; c++) {
            float v = hsum(acc[r][c]);
            for (int64_t i = n8; i < n; i++) v += wf1(t, w + (size_t)r * rb + (size_t)i * es) * a->f[(t0 + c) * n + i];
            y[(t0 + c) * ldy + r0 + r] = v;
        }
}

#define TB 64
#define DEFINE_ROWS(NAME, TILE, TYPE)                                                             \
    static void NAME(const uint8_t * w, size_t rb, const struct quant_act * a, float * y,        \
                     int64_t ldy, int64_t r0, int64_t r1) {                                      \
        const int64_t T = a->T;                                                                   \
        for (int64_t tb = 0; tb < T; tb += TB) {                                                  \
            const int64_t te = GAZE_MIN(T, tb + TB);                                              \
            int64_t r = r0;                                                                       \
            if (T == 1)                                                                           \
                for (; r + 4 <= r1; r += 4) TILE(TYPE, 4, 1, w + (size_t)r * rb, rb, a, 0, r, y, ldy); \
            for (; r + 2 <= r1; r += 2) {                                                         \
                const uint8_t * wr = w + (size_t)r * rb;                                          \
                int64_t t = tb;                                                                   \
                for (; t + 2 <= te; t += 2) TILE(TYPE, 2, 2, wr, rb, a, t, r, y, ldy);            \
                for (; t < te; t++) TILE(TYPE, 2, 1, wr, rb, a, t, r, y, ldy);                    \
            }                                                                                     \
            for (; r < r1; r++)                                                                   \
                for (int64_t t = tb; t < te; t++) TILE(TYPE, 1, 1, w + (size_t)r * rb, rb, a, t, r, y, ldy); \
        }                                                                                         \
    }

DEFINE_ROWS(rows_q4_0, tile_q, GAZE_TYPE_Q4_0)
DEFINE_ROWS(rows_q4_1, tile_q, GAZE_TYPE_Q4_1)
DEFINE_ROWS(rows_q5_0, tile_q, GAZE_TYPE_Q5_0)
DEFINE_ROWS(rows_q5_1, tile_q, GAZE_TYPE_Q5_1)
DEFINE_ROWS(rows_q8_0, tile_q, GAZE_TYPE_Q8_0)
DEFINE_ROWS(rows_f32,  tile_f, GAZE_TYPE_F32)
DEFINE_ROWS(rows_f16,  tile_f, GAZE_TYPE_F16)
DEFINE_ROWS(rows_bf16, tile_f, GAZE_TYPE_BF16)

bool quant_rows_avx2(const void * w, enum gaze_type type, int64_t n_in,
                     const struct quant_act * act, float * y, int64_t ldy,
                     int64_t r0, int64_t r1) {
    const size_t rb = gaze_type_row_bytes(type, n_in);
    const uint8_t * wb = w;
    switch (type) {
    case GAZE_TYPE_Q4_0: rows_q4_0(wb, rb, act, y, ldy, r0, r1); return true;
    case GAZE_TYPE_Q4_1: rows_q4_1(wb, rb, act, y, ldy, r0, r1); return true;
    case GAZE_TYPE_Q5_0: rows_q5_0(wb, rb, act, y, ldy, r0, r1); return true;
    case GAZE_TYPE_Q5_1: rows_q5_1(wb, rb, act, y, ldy, r0, r1); return true;
    case GAZE_TYPE_Q8_0: rows_q8_0(wb, rb, act, y, ldy, r0, r1); return true;
    case GAZE_TYPE_F32:  rows_f32(wb, rb, act, y, ldy, r0, r1); return true;
    case GAZE_TYPE_F16:  rows_f16(wb, rb, act, y, ldy, r0, r1); return true;
    case GAZE_TYPE_BF16: rows_bf16(wb, rb, act, y, ldy, r0, r1); return true;
    default: return quant_k_rows_avx2(w, type, n_in, act, y, ldy, r0, r1);   // K-quants
    }
}

// Q8_K activations (K-quant weights), bit-identical to quant_act_row_q8k: the same max (the
// first element of largest |x|, found by a scan for amax after a vector max), iscale = -127/max,
// round-to-nearest-even of iscale·x under the default MXCSR as lrintf, clamped to ±127, and
// exact 16-element sums. The scalar loop cost a few µs per 1536-wide row (5 % of a generated
// token's ffn_down on SmolLM2 Q4_K_M) and T rows per prompt product.
void quant_act_row_q8k_avx2(const float * x, int64_t n, struct block_q8_k * y) {
    const __m256 absmask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7FFFFFFF));
    const __m256 inf = _mm256_set1_ps(__builtin_inff());
    const __m256i lim = _mm256_set1_epi32(127), nlim = _mm256_set1_epi32(-127);
    const __m256i ones8 = _mm256_set1_epi8(1), ones16 = _mm256_set1_epi16(1);
    const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    for (int64_t b = 0; b < n / QK_K; b++, x += QK_K) {
        __m256 m = _mm256_setzero_ps();
        int bad = 0;
        for (int k = 0; k < QK_K / 8; k++) {
            const __m256 a = _mm256_and_ps(_mm256_loadu_ps(x + 8 * k), absmask);
            bad |= _mm256_movemask_ps(_mm256_cmp_ps(a, inf, _CMP_NLT_UQ));   // Inf or NaN
            m = _mm256_max_ps(m, a);
        }
        __m128 h = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
        h = _mm_max_ps(h, _mm_movehl_ps(h, h));
        h = _mm_max_ss(h, _mm_movehdup_ps(h));
        const float amax = _mm_cvtss_f32(h);
        if (bad || amax == 0.0f) {
            y[b].d = bad ? __builtin_nanf("") : 0.0f;
            memset(y[b].qs, 0, QK_K);
            memset(y[b].bsums, 0, sizeof y[b].bsums);
            continue;
        }
        float max = 0.0f;
        for (int j = 0; j < QK_K; j++)
            if (fabsf(x[j]) == amax) { max = x[j]; break; }
        const float iscale = -127.0f / max;
        const __m256 vs = _mm256_set1_ps(iscale);
        for (int k = 0; k < QK_K / 32; k++) {
            __m256i q[4];
            for (int i = 0; i < 4; i++) {
                q[i] = _mm256_cvtps_epi32(_mm256_mul_ps(vs, _mm256_loadu_ps(x + 32 * k + 8 * i)));
                q[i] = _mm256_max_epi32(nlim, _mm256_min_epi32(lim, q[i]));
            }
            const __m256i p01 = _mm256_packs_epi32(q[0], q[1]), p23 = _mm256_packs_epi32(q[2], q[3]);
            _mm256_storeu_si256((__m256i *)(y[b].qs + 32 * k),
                                _mm256_permutevar8x32_epi32(_mm256_packs_epi16(p01, p23), order));
        }
        // bsums: per 32 codes, 8 int32 sums of 4 (low 128 bits: sub-block 2k, high: 2k + 1)
        __m256i v[8];
        for (int k = 0; k < 8; k++)
            v[k] = _mm256_madd_epi16(_mm256_maddubs_epi16(ones8, _mm256_loadu_si256((const __m256i *)(y[b].qs + 32 * k))), ones16);
        for (int half = 0; half < 2; half++) {
            const __m256i * w = v + 4 * half;
            // lanes [s0 s2 s4 s6 | s1 s3 s5 s7] of this half's 8 sub-blocks, then in order
            const __m256i s = _mm256_permutevar8x32_epi32(
                _mm256_hadd_epi32(_mm256_hadd_epi32(w[0], w[1]), _mm256_hadd_epi32(w[2], w[3])), order);
            _mm_storeu_si128((__m128i *)(y[b].bsums + 8 * half),
                             _mm_packs_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1)));
        }
        y[b].d = 1.0f / iscale;
    }
}
