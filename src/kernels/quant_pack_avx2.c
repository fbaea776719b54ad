// AVX2 packed layout of the 32-block types (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0): the AVX2 counterpart
// of quant_avx512.c's 16-row groups, made at load by gaze_quant_pack_init on CPUs without
// AVX-512 VNNI (and on the fly for prompts on raw blocks).
//
// A 16-row group is stored per 32-input block as two 8-row halves. In a half, 32-bit lane r of
// a ymm holds row r's codes for 4 consecutive inputs, so one broadcast of 4 activation bytes
// feeds 8 rows: vpmaddubsw (u8 code × s8 activation, pairs summed into int16) then vpmaddwd
// with ones gives the 8 rows' integer dots in the 8 lanes, with no shuffles and no horizontal
// sums. Each lane then runs the scalar oracle's f32 arithmetic for its row, block after block
// (quant_q32_block_dot: (d_w·d_x)·Σu·q + m'_w·s_x, every product and sum rounded as there),
// so the outputs are bit-identical to quant_dot_row_ref.
//
// Layout of one half (rows 16g + 8h + r, r = 0..7) of one block:
//   Q4_0, Q4_1:  ymm j = 0..3 at 32j: lane r byte i = code(r, 8j+i) | code(r, 8j+4+i) << 4
//   Q5_0, Q5_1:  the same nibbles, then 32 bytes of fifth bits: byte 4r+i bit k = bit 4 of
//                code(r, 4k+i) (a shift and a mask give the 0x10s of any of the 8 vectors)
//   Q8_0:        ymm j = 0..7 at 32j: lane r byte i = q(r, 4j+i) (signed)
// followed by d [8] as f16 and, for Q4_1/Q5_1, m [8] as f16. A half is 8 x the raw block
// (144 / 160 / 176 / 192 / 272 bytes), so a group is exactly the bytes of its raw blocks, as in
// the AVX-512 layout (same quant_pack_blk_bytes): generation reads no more than the file holds.
//
// int16 headroom of vpmaddubsw: a pair is at most 2·15·127 = 3810 for 4-bit codes (8 pairs
// summed per lane: 30480) and 2·31·127 = 7874 for 5-bit codes (4 summed: 31496), below 32767.
// Q8_0 uses the sign trick (|q| × sign(x, q), at most 2·128·127 = 32512 a pair) and adds
// 128·Σx afterwards, so its integer equals the oracle's Σ(q + 128)·x exactly.
#include "kernels/quant.h"
#include <immintrin.h>

#define AI static inline __attribute__((always_inline))
// Keeps a rounded f32 product or sum as computed, so the compiler cannot fuse it into an FMA
// (the scalar oracle, built without FMA, rounds every operation).
#define NOFUSE(x) __asm__("" : "+x"(x))

// Bytes of one 8-row half, and where its scales start.
AI int half_bytes(enum gaze_type t) { return 8 * q32_blk_bytes(t); }
AI int scale_off(enum gaze_type t) { return t == GAZE_TYPE_Q8_0 ? 256 : q32_is_q5(t) ? 160 : 128; }

size_t quant_pack_avx2_blk_bytes(enum gaze_type t) {
    const bool q32 = t == GAZE_TYPE_Q4_0 || t == GAZE_TYPE_Q4_1 || t == GAZE_TYPE_Q5_0 || t == GAZE_TYPE_Q5_1 ||
                     t == GAZE_TYPE_Q8_0;
    return q32 ? 2 * (size_t)half_bytes(t) : 0;
}

static uint32_t rd32(const uint8_t * p) { uint32_t v; memcpy(&v, p, 4); return v; }
static void wr32(uint8_t * p, uint32_t v) { memcpy(p, &v, 4); }

// Group g (rows 16g .. 16g+15, zero past n_out) into dst [n_in/32 blocks × 2 halves]. Word-level
// nibble moves: ggml's qs[k] holds code k (low nibble) and k+16 (high nibble).
void quant_pack_group_avx2(const void * w, enum gaze_type t, int64_t n_out, int64_t n_in,
                           int64_t g, uint8_t * dst) {
    const int64_t nb = n_in / QK32;
    const int B = q32_blk_bytes(t), hb = half_bytes(t), so = scale_off(t);
    const size_t rb = (size_t)nb * (size_t)B, bb = 2 * (size_t)hb;
    const uint32_t lo = 0x0F0F0F0Fu, hi = 0xF0F0F0F0u;
    memset(dst, 0, bb * (size_t)nb);   // rows past n_out stay zero: d = 0, never stored anyway
    for (int r = 0; r < 16 && 16 * g + r < n_out; r++) {
        const uint8_t * row = (const uint8_t *)w + (size_t)(16 * g + r) * rb;
        const int rr = r & 7;
        for (int64_t b = 0; b < nb; b++) {
            const uint8_t * p = row + (size_t)b * B;
            uint8_t * o = dst + (size_t)b * bb + (size_t)(r >> 3) * (size_t)hb;
            memcpy(o + so + 2 * rr, p, 2);                                  // d
            if (q32_has_min(t)) memcpy(o + so + 16 + 2 * rr, p + 2, 2);         // m
            if (t == GAZE_TYPE_Q8_0) {
                for (int j = 0; j < 8; j++) wr32(o + 32 * j + 4 * rr, rd32(p + 2 + 4 * j));
                continue;
            }
            const uint8_t * qs = p + q32_qs_off(t);
            const uint32_t a = rd32(qs), bw = rd32(qs + 4), c = rd32(qs + 8), d = rd32(qs + 12);
            wr32(o + 4 * rr,      (a & lo) | (bw & lo) << 4);
            wr32(o + 32 + 4 * rr, (c & lo) | (d & lo) << 4);
            wr32(o + 64 + 4 * rr, ((a >> 4) & lo) | (bw & hi));
            wr32(o + 96 + 4 * rr, ((c >> 4) & lo) | (d & hi));
            if (q32_is_q5(t)) {
                const uint32_t h = rd32(p + (t == GAZE_TYPE_Q5_0 ? 2 : 4));
                for (int i = 0; i < 4; i++) {
                    uint8_t v = 0;
                    for (int k = 0; k < 8; k++) v |= (uint8_t)(((h >> (4 * k + i)) & 1) << k);
                    o[128 + 4 * rr + i] = v;
                }
            }
        }
    }
}

AI __m256i bcast4(const int8_t * p) { int32_t v; memcpy(&v, p, 4); return _mm256_set1_epi32(v); }

// 0x10 in the bytes whose code for inputs 4k..4k+3 (k = 0..7) has its fifth bit set.
AI __m256i fifth_bits(__m256i H, const int k) {
    const __m256i m = _mm256_set1_epi8(0x10);
    if (k < 4) return _mm256_and_si256(_mm256_slli_epi16(H, 4 - k), m);
    if (k == 4) return _mm256_and_si256(H, m);
    return _mm256_and_si256(_mm256_srli_epi16(H, k - 4), m);
}

// Σx of block b of every token of the tile, broadcast to all lanes (Q8_0's 128·Σx term).
AI __m256i block_xsum(const int8_t * xq) {
    const __m256i X = _mm256_loadu_si256((const __m256i *)xq);
    __m256i s = _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_set1_epi8(1), X), _mm256_set1_epi16(1));
    s = _mm256_add_epi32(s, _mm256_permute2x128_si256(s, s, 1));
    s = _mm256_add_epi32(s, _mm256_shuffle_epi32(s, 0x4E));
    return _mm256_add_epi32(s, _mm256_shuffle_epi32(s, 0xB1));
}

#define PF_BLOCKS 6   // prefetch distance of the generation tiles, in 32-input blocks

// The tiles' largest S and C: fixed array bounds, so that no array is a VLA (GCC kept [S][C]
// arrays on the stack, realigned and stored to every block, even with S and C constant after
// inlining; fixed bounds let them live in registers. SmolLM2 ffn_down, T = 1, 1 thread, loaded
// machine: Q5_0 1.0-1.2x, Q8_0 within the noise).
#define PT_SM 4
#define PT_CM 4

// S consecutive 8-row halves (hp[s]: half s of block 0; blocks bb bytes apart) × C tokens from
// t0; rows from row0 (a multiple of 8). y[t, row0 + 8s + lane] for rows below n_out.
AI void ptile(enum gaze_type t, const int S, const int C, const uint8_t * const * hp, size_t bb,
              const struct quant_act * a, int64_t t0, int64_t row0, int64_t n_out, float * y, int64_t ldy) {
    const int64_t nb = a->nb;
    const int so = scale_off(t);
    const __m256i lo4 = _mm256_set1_epi8(0x0F), one16 = _mm256_set1_epi16(1);
    __m256 acc[PT_SM][PT_CM];
    for (int s = 0; s < S; s++)
        for (int c = 0; c < C; c++) acc[s][c] = _mm256_setzero_ps();
    const int8_t * xq[PT_CM];
    const float * xd[PT_CM];
    const float * xs[PT_CM];
    for (int c = 0; c < C; c++) {
        xq[c] = a->qs + (t0 + c) * a->ld_qs;
        xd[c] = a->d + (t0 + c) * nb;
        xs[c] = a->s + (t0 + c) * nb;
    }
    for (int64_t b = 0; b < nb; b++) {
        __m256i X128[PT_CM];
        if (t == GAZE_TYPE_Q8_0)
            for (int c = 0; c < C; c++) X128[c] = _mm256_slli_epi32(block_xsum(xq[c] + 32 * b), 7);
        for (int s = 0; s < S; s++) {
            const uint8_t * o = hp[s] + (size_t)b * bb;
            // generation streams every weight once: ask for this half's block PF_BLOCKS ahead
            // (past the end it touches the next group or a line beyond: prefetches never fault)
            if (C == 1)
                for (int l = 0; l < half_bytes(t); l += 64)
                    _mm_prefetch((const char *)(o + PF_BLOCKS * bb + (size_t)l), _MM_HINT_T0);
            __m256i I[PT_CM];
            if (t == GAZE_TYPE_Q8_0) {
                for (int c = 0; c < C; c++) I[c] = X128[c];
                for (int j = 0; j < 8; j++) {
                    const __m256i wv = _mm256_loadu_si256((const __m256i *)(o + 32 * j));
                    const __m256i aw = _mm256_abs_epi8(wv);
                    for (int c = 0; c < C; c++) {
                        const __m256i p = _mm256_maddubs_epi16(aw, _mm256_sign_epi8(bcast4(xq[c] + 32 * b + 4 * j), wv));
                        I[c] = _mm256_add_epi32(I[c], _mm256_madd_epi16(p, one16));
                    }
                }
            } else {
                __m256i A[PT_CM];
                __m256i H = _mm256_setzero_si256();
                if (q32_is_q5(t)) H = _mm256_loadu_si256((const __m256i *)(o + 128));
                for (int c = 0; c < C; c++) A[c] = _mm256_setzero_si256();
                for (int j = 0; j < 4; j++) {
                    const __m256i v = _mm256_loadu_si256((const __m256i *)(o + 32 * j));
                    __m256i wl = _mm256_and_si256(v, lo4), wh = _mm256_and_si256(_mm256_srli_epi16(v, 4), lo4);
                    if (q32_is_q5(t)) {
                        wl = _mm256_or_si256(wl, fifth_bits(H, 2 * j));
                        wh = _mm256_or_si256(wh, fifth_bits(H, 2 * j + 1));
                    }
                    for (int c = 0; c < C; c++) {
                        const __m256i p0 = _mm256_maddubs_epi16(wl, bcast4(xq[c] + 32 * b + 8 * j));
                        const __m256i p1 = _mm256_maddubs_epi16(wh, bcast4(xq[c] + 32 * b + 8 * j + 4));
                        A[c] = _mm256_add_epi16(A[c], _mm256_add_epi16(p0, p1));
                    }
                    if (q32_is_q5(t) && j == 1)   // 5-bit codes: at most 4 pairs per int16 lane
                        for (int c = 0; c < C; c++) {
                            I[c] = _mm256_madd_epi16(A[c], one16);
                            A[c] = _mm256_setzero_si256();
                        }
                }
                for (int c = 0; c < C; c++)
                    I[c] = q32_is_q5(t) ? _mm256_add_epi32(I[c], _mm256_madd_epi16(A[c], one16))
                                    : _mm256_madd_epi16(A[c], one16);
            }
            // acc += (d_w·d_x)·I + m'_w·s_x, rounded step by step as quant_q32_block_dot
            const __m256 D = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(o + so)));
            const __m256 M = q32_has_min(t) ? _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(o + so + 16)))
                                        : _mm256_mul_ps(D, _mm256_set1_ps(q32_code_offset(t)));   // exact
            for (int c = 0; c < C; c++) {
                const __m256 If = _mm256_cvtepi32_ps(I[c]);
                __m256 a1 = _mm256_mul_ps(D, _mm256_set1_ps(xd[c][b]));
                NOFUSE(a1);
                __m256 t1 = _mm256_mul_ps(a1, If);
                NOFUSE(t1);
                __m256 t2 = _mm256_mul_ps(M, _mm256_set1_ps(xs[c][b]));
                NOFUSE(t2);
                __m256 v = _mm256_add_ps(t1, t2);
                NOFUSE(v);
                acc[s][c] = _mm256_add_ps(acc[s][c], v);
            }
        }
    }
    for (int s = 0; s < S; s++) {
        const int64_t r = row0 + 8 * s;
        if (r >= n_out) break;
        if (n_out - r >= 8) {
            for (int c = 0; c < C; c++) _mm256_storeu_ps(y + (t0 + c) * ldy + r, acc[s][c]);
        } else {
            const __m256i mk = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(n_out - r)),
                                                  _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
            for (int c = 0; c < C; c++) _mm256_maskstore_ps(y + (t0 + c) * ldy + r, mk, acc[s][c]);
        }
    }
}

// Token blocks for prompts: the block's activations stay in L2 while the thread's groups
// stream past, and each group's weights stay in L1 across the block's tokens.
#define TB 64

// Groups [g0, g1) of packed weights (pk points at group g0; group stride gbytes) against all
// tokens of a.
#define DEFINE_PROWS(NAME, TYPE)                                                                  \
    static void NAME(const uint8_t * pk, size_t gbytes, const struct quant_act * a, float * y,    \
                     int64_t ldy, int64_t g0, int64_t g1, int64_t n_out) {                        \
        const int64_t T = a->T;                                                                   \
        const size_t bb = 2 * (size_t)half_bytes(TYPE);                                           \
        if (T == 1) {                                                                             \
            int64_t g = g0;                                                                       \
            for (; g + 2 <= g1; g += 2) {                                                         \
                const uint8_t * p = pk + (size_t)(g - g0) * gbytes;                               \
                const uint8_t * hp[4] = { p, p + bb / 2, p + gbytes, p + gbytes + bb / 2 };       \
                ptile(TYPE, 4, 1, hp, bb, a, 0, 16 * g, n_out, y, ldy);                           \
            }                                                                                     \
            for (; g < g1; g++) {                                                                 \
                const uint8_t * p = pk + (size_t)(g - g0) * gbytes;                               \
                const uint8_t * hp[2] = { p, p + bb / 2 };                                        \
                ptile(TYPE, 2, 1, hp, bb, a, 0, 16 * g, n_out, y, ldy);                           \
            }                                                                                     \
            return;                                                                               \
        }                                                                                         \
        for (int64_t tb = 0; tb < T; tb += TB) {                                                  \
            const int64_t te = GAZE_MIN(T, tb + TB);                                              \
            for (int64_t g = g0; g < g1; g++)                                                     \
                for (int h = 0; h < 2 && 16 * g + 8 * h < n_out; h++) {                           \
                    const uint8_t * hp[1] = { pk + (size_t)(g - g0) * gbytes + (size_t)h * (bb / 2) }; \
                    const int64_t row = 16 * g + 8 * h;                                           \
                    int64_t t = tb;                                                               \
                    for (; t + 4 <= te; t += 4) ptile(TYPE, 1, 4, hp, bb, a, t, row, n_out, y, ldy); \
                    for (; t + 2 <= te; t += 2) ptile(TYPE, 1, 2, hp, bb, a, t, row, n_out, y, ldy); \
                    for (; t < te; t++) ptile(TYPE, 1, 1, hp, bb, a, t, row, n_out, y, ldy);      \
                }                                                                                 \
        }                                                                                         \
    }

DEFINE_PROWS(prows_q4_0, GAZE_TYPE_Q4_0)
DEFINE_PROWS(prows_q4_1, GAZE_TYPE_Q4_1)
DEFINE_PROWS(prows_q5_0, GAZE_TYPE_Q5_0)
DEFINE_PROWS(prows_q5_1, GAZE_TYPE_Q5_1)
DEFINE_PROWS(prows_q8_0, GAZE_TYPE_Q8_0)

void quant_packed_rows_avx2(const uint8_t * pk, size_t gbytes, enum gaze_type type,
                            const struct quant_act * act, float * y, int64_t ldy,
                            int64_t g0, int64_t g1, int64_t n_out) {
    switch (type) {
    case GAZE_TYPE_Q4_0: prows_q4_0(pk, gbytes, act, y, ldy, g0, g1, n_out); break;
    case GAZE_TYPE_Q4_1: prows_q4_1(pk, gbytes, act, y, ldy, g0, g1, n_out); break;
    case GAZE_TYPE_Q5_0: prows_q5_0(pk, gbytes, act, y, ldy, g0, g1, n_out); break;
    case GAZE_TYPE_Q5_1: prows_q5_1(pk, gbytes, act, y, ldy, g0, g1, n_out); break;
    case GAZE_TYPE_Q8_0: prows_q8_0(pk, gbytes, act, y, ldy, g0, g1, n_out); break;
    default: GAZE_ASSERT(0);
    }
}

// Activation quantization, bit-identical to quant_act_row_q8 (same amax: max is exact in any
// order; d = amax/127, id = 1/d, round-to-nearest-even of x·id under the default MXCSR as
// lrintf, exact integer sums). Prompts quantize T rows per product: a few % of their time in C.
void quant_act_row_q8_avx2(const float * x, int64_t n, int8_t * qs, float * d, float * s) {
    const __m256 absmask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7FFFFFFF));
    const __m256 inf = _mm256_set1_ps(__builtin_inff());
    for (int64_t b = 0; b < n / QK32; b++, x += QK32, qs += QK32) {
        __m256 v[4], m = _mm256_setzero_ps();
        int bad = 0;
        for (int k = 0; k < 4; k++) {
            v[k] = _mm256_loadu_ps(x + 8 * k);
            const __m256 a = _mm256_and_ps(v[k], absmask);
            bad |= _mm256_movemask_ps(_mm256_cmp_ps(a, inf, _CMP_NLT_UQ));   // Inf or NaN
            m = _mm256_max_ps(m, a);
        }
        if (bad) {   // NaN/Inf input: NaN output rather than a silently wrong finite value
            memset(qs, 0, QK32);
            d[b] = s[b] = __builtin_nanf("");
            continue;
        }
        __m128 h = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
        h = _mm_max_ps(h, _mm_movehl_ps(h, h));
        h = _mm_max_ss(h, _mm_movehdup_ps(h));
        const float amax = _mm_cvtss_f32(h);
        const float db = amax / 127.0f;
        const float id = db != 0.0f ? 1.0f / db : 0.0f;
        const __m256 vid = _mm256_set1_ps(id);
        __m256i q[4];
        for (int k = 0; k < 4; k++) q[k] = _mm256_cvtps_epi32(_mm256_mul_ps(v[k], vid));
        // |q| <= 127: the saturating packs are exact; packs interleave 128-bit lanes, the
        // permute puts the 32 codes back in order
        const __m256i p01 = _mm256_packs_epi32(q[0], q[1]), p23 = _mm256_packs_epi32(q[2], q[3]);
        const __m256i p = _mm256_permutevar8x32_epi32(_mm256_packs_epi16(p01, p23),
                                                      _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
        _mm256_storeu_si256((__m256i *)qs, p);
        __m256i sv = _mm256_add_epi32(_mm256_add_epi32(q[0], q[1]), _mm256_add_epi32(q[2], q[3]));
        __m128i s4 = _mm_add_epi32(_mm256_castsi256_si128(sv), _mm256_extracti128_si256(sv, 1));
        s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0x4E));
        s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0xB1));
        d[b] = db;
        s[b] = db * (float)_mm_cvtsi128_si32(s4);
    }
}
