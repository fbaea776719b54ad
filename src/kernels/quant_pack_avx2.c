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

// acc += (D·xd)·If + M·xs, each product and sum rounded on its own (no FMA contraction), in the
// order of quant_q32_block_dot: the tiles' results are bit for bit the scalar path's. Macros, not
// functions, so that the tiles' register arrays never have their address taken.
#define Q32_ACC(acc, D, If, M, xd, xs) do {                                   \
        __m256 a1_ = _mm256_mul_ps((D), _mm256_set1_ps(xd)); NOFUSE(a1_);   \
        __m256 t1_ = _mm256_mul_ps(a1_, (If));                NOFUSE(t1_);   \
        __m256 t2_ = _mm256_mul_ps((M), _mm256_set1_ps(xs)); NOFUSE(t2_);   \
        __m256 v_  = _mm256_add_ps(t1_, t2_);                 NOFUSE(v_);    \
        (acc) = _mm256_add_ps((acc), v_);                                     \
    } while (0)

// y[t0 + c, row0 + 8s + lane] = acc[s][c] for s < S, c < C, rows below n_out (masked tail).
#define TILE_STORE(acc, S, C, y, ldy, t0, row0, n_out) do {                                         \
        for (int s_ = 0; s_ < (S); s_++) {                                                          \
            const int64_t r_ = (row0) + 8 * s_;                                                     \
            if (r_ >= (n_out)) break;                                                               \
            if ((n_out) - r_ >= 8) {                                                                \
                for (int c_ = 0; c_ < (C); c_++) _mm256_storeu_ps((y) + ((t0) + c_) * (ldy) + r_, acc[s_][c_]); \
            } else {                                                                                \
                const __m256i mk_ = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)((n_out) - r_)),      \
                                                       _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));  \
                for (int c_ = 0; c_ < (C); c_++)                                                    \
                    _mm256_maskstore_ps((y) + ((t0) + c_) * (ldy) + r_, mk_, acc[s_][c_]);          \
            }                                                                                       \
        }                                                                                           \
    } while (0)

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
                Q32_ACC(acc[s][c], D, If, M, xd[c][b], xs[c][b]);
            }
        }
    }
    TILE_STORE(acc, S, C, y, ldy, t0, row0, n_out);
}

// ---- Q8_0 prompts --------------------------------------------------------------------------------
// Q8_0 prompts get their own tile: ptile's Q8_0 branch spends 4 vector ops per 32 products
// (sign, vpmaddubsw, vpmaddwd, add: its codes are signed, so no int16 accumulation) and on top
// recomputed each token's 128·Σx for every 8-row half, and its arrays sized by the tile's
// runtime-shaped parameters were kept in memory by GCC (spills around every vpmaddwd). Here
// 128·Σx comes precomputed per (token, block) (q8_xsum128, once per token block), the arrays
// have fixed sizes (registers after unrolling), and an empty asm keeps each row's int32 sum a
// chain of adds (GCC's reassociation otherwise builds trees of spilled partial sums). Same
// integers and the same per-lane f32 steps as ptile, so the same bits as the scalar oracle.

// xs[t·nb + b] = 128·Σ_i xq[t, 32b + i] for tokens [t0, t0 + n) (exact: |Σ| <= 32·127).
static void q8_xsum128(const struct quant_act * a, int64_t t0, int64_t n, int32_t * xs) {
    const int64_t nb = a->nb;
    for (int64_t t = 0; t < n; t++) {
        const int8_t * q = a->qs + (t0 + t) * a->ld_qs;
        for (int64_t b = 0; b < nb; b++) {
            const __m256i X = _mm256_loadu_si256((const __m256i *)(q + 32 * b));
            const __m256i s = _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_set1_epi8(1), X), _mm256_set1_epi16(1));
            __m128i h = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
            h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0x4E));
            h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0xB1));
            xs[t * nb + b] = _mm_cvtsi128_si32(h) * 128;
        }
    }
}

#define Q8_S 2   // most 8-row halves per Q8_0 prompt tile
#define Q8_C 4   // most tokens per Q8_0 prompt tile

// S consecutive 8-row halves (hp[s]) × C tokens from t0 (their 128·Σx at xs + c·nb, one int per
// block); as ptile for Q8_0.
AI void q8tile(const int S, const int C, const uint8_t * const * hp, size_t bb, const struct quant_act * a,
               const int32_t * xs, int64_t t0, int64_t row0, int64_t n_out, float * y, int64_t ldy) {
    const int64_t nb = a->nb;
    const __m256i one16 = _mm256_set1_epi16(1);
    __m256 acc[Q8_S][Q8_C];
    for (int s = 0; s < S; s++)
        for (int c = 0; c < C; c++) acc[s][c] = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
        __m256i I[Q8_S][Q8_C];
        for (int c = 0; c < C; c++) {
            const __m256i x128 = _mm256_set1_epi32(xs[c * nb + b]);
            for (int s = 0; s < S; s++) I[s][c] = x128;
        }
        for (int j = 0; j < 8; j++) {
            __m256i X[Q8_C];
            for (int c = 0; c < C; c++) X[c] = bcast4(a->qs + (t0 + c) * a->ld_qs + 32 * b + 4 * j);
            for (int s = 0; s < S; s++) {
                const __m256i wv = _mm256_loadu_si256((const __m256i *)(hp[s] + (size_t)b * bb + 32 * j));
                const __m256i aw = _mm256_abs_epi8(wv);
                for (int c = 0; c < C; c++) {
                    const __m256i p = _mm256_maddubs_epi16(aw, _mm256_sign_epi8(X[c], wv));
                    I[s][c] = _mm256_add_epi32(I[s][c], _mm256_madd_epi16(p, one16));
                    NOFUSE(I[s][c]);   // one chain of adds per row: GCC's reassociation into trees of partial sums spilled them
                }
            }
        }
        for (int s = 0; s < S; s++) {
            const uint8_t * o = hp[s] + (size_t)b * bb;
            const __m256 D = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(o + 256)));
            const __m256 M = _mm256_mul_ps(D, _mm256_set1_ps(-128.0f));   // exact
            for (int c = 0; c < C; c++) {
                const __m256 If = _mm256_cvtepi32_ps(I[s][c]);
                Q32_ACC(acc[s][c], D, If, M, a->d[(t0 + c) * nb + b], a->s[(t0 + c) * nb + b]);
            }
        }
    }
    TILE_STORE(acc, S, C, y, ldy, t0, row0, n_out);
}

// 128·Σx of a token block lives on the stack: at most Q8_XS ints, so long rows get shorter
// token blocks (rows over 32·Q8_XS/4 inputs: ptile, which computes it in the tile).
#define Q8_XS 4096

// Groups [g0, g1) of packed Q8_0 weights against T >= 2 tokens; false (nothing done) when rows
// are too long for the stack buffer. Tiles: both halves of a group × 4 tokens (each broadcast
// activation word serves 16 rows; 1.05x over one half × 4 tokens, CPU time, [1536, 576] × 128
// tokens), then the last tokens and a partial group half by half.
static bool q8_prompt_rows(const uint8_t * pk, size_t gbytes, const struct quant_act * a, float * y,
                           int64_t ldy, int64_t g0, int64_t g1, int64_t n_out) {
    const int64_t T = a->T, nb = a->nb;
    const size_t bb = 2 * (size_t)half_bytes(GAZE_TYPE_Q8_0);
    const int64_t tbn = GAZE_MIN(64, Q8_XS / nb) & ~(int64_t)3;   // tokens per block
    if (tbn < 4) return false;
    int32_t xs[Q8_XS];
    for (int64_t tb = 0; tb < T; tb += tbn) {
        const int64_t te = GAZE_MIN(T, tb + tbn);
        q8_xsum128(a, tb, te - tb, xs);
        for (int64_t g = g0; g < g1; g++) {
            const uint8_t * p = pk + (size_t)(g - g0) * gbytes;
            const int64_t row = 16 * g;
            const uint8_t * hp2[2] = { p, p + bb / 2 };
            int64_t t = tb;
            if (row + 8 < n_out)   // both halves hold rows
                for (; t + 4 <= te; t += 4) q8tile(2, 4, hp2, bb, a, xs + (t - tb) * nb, t, row, n_out, y, ldy);
            for (int h = 0; h < 2 && row + 8 * h < n_out; h++) {
                const uint8_t * hp[1] = { hp2[h] };
                int64_t u = t;
                for (; u + 4 <= te; u += 4) q8tile(1, 4, hp, bb, a, xs + (u - tb) * nb, u, row + 8 * h, n_out, y, ldy);
                for (; u + 2 <= te; u += 2) q8tile(1, 2, hp, bb, a, xs + (u - tb) * nb, u, row + 8 * h, n_out, y, ldy);
                for (; u < te; u++) q8tile(1, 1, hp, bb, a, xs + (u - tb) * nb, u, row + 8 * h, n_out, y, ldy);
            }
        }
    }
    return true;
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
        if (TYPE == GAZE_TYPE_Q8_0 && q8_prompt_rows(pk, gbytes, a, y, ldy, g0, g1, n_out)) return;   \
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
