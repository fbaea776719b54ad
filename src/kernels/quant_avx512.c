// AVX-512 quantized products (VNNI vpdpbusd + VBMI byte permutes): weights read straight from
// ggml blocks, two 32-blocks (one zmm of 64 codes) at a time.
//
// Per block pair of a weight row: one masked load, vpermb spreads the packed nibbles (or the
// two Q8_0 halves) into 64 u8 codes in element order, vpermw + vcvtph2ps give the scale
// vector [d_b ×8, d_b+1 ×8]. Per (row, token, pair): vpdpbusd (u8 weight codes × s8
// activations, 16 partial sums, 8 per block), cvt, scale by d_w·d_x, fma. The per-block
// offset/min term m'_w·(d_x·Σq_x) is a short f32 dot over blocks after the pair loop.
// Micro-tiles: 4 rows × 4 tokens (prompt), 8 rows × 1 token (generation); every weight pair is
// unpacked once per tile and reused from registers.
#include "kernels/quant.h"
#include <immintrin.h>
#include <math.h>

// VNNI and VBMI on top of the file's AVX-512 flags, for every function here (callers check
// quant_avx512_usable() first).
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx512vnni,avx512vbmi,f16c,fma"))), apply_to = function)
#else
#pragma GCC target("avx512f,avx512bw,avx512dq,avx512vl,avx512vnni,avx512vbmi,f16c,fma")
#endif

#define AI static inline __attribute__((always_inline))
// Keeps a rounded f32 product or sum as computed, so the compiler cannot fuse it into an FMA
// (the scalar oracle, built without FMA, rounds every operation).
#define NOFUSE(x) __asm__("" : "+v"(x))
#define KC 256   // blocks per K chunk (bounds the stack buffer of per-block min terms)

bool quant_avx512_usable(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512vbmi");
}

// vpermb indices: 16 qs bytes of block 0 twice, then of block 1 twice (nibble types).
AI __m512i nib_idx(enum gaze_type t) {
    const int B = q32_blk_bytes(t), o = q32_qs_off(t);
    uint8_t idx[64];
    for (int i = 0; i < 64; i++) idx[i] = (uint8_t)((i < 32 ? o : B + o) + (i & 15));
    return _mm512_loadu_si512(idx);
}
// vpermw indices: words 0-7 = d of block 0, 8-15 = d of block 1, 16/17 = min (or d) of 0/1.
AI __m512i scale_idx(enum gaze_type t) {
    const int B2 = q32_blk_bytes(t) / 2, mo = q32_has_min(t) ? 1 : 0;
    uint16_t idx[32] = { 0 };
    for (int i = 0; i < 8; i++) { idx[i] = 0; idx[8 + i] = (uint16_t)B2; }
    idx[16] = (uint16_t)mo;
    idx[17] = (uint16_t)(B2 + mo);
    return _mm512_loadu_si512(idx);
}

struct consts {
    __m512i nib, scl, q8idx, shift, lo4, pair;
};

AI struct consts make_consts(enum gaze_type t) {
    struct consts k;
    k.nib = nib_idx(t);
    k.scl = scale_idx(t);
    uint8_t q8[64];
    for (int i = 0; i < 64; i++) q8[i] = (uint8_t)(i < 32 ? 2 + i : 64 + i);
    k.q8idx = _mm512_loadu_si512(q8);
    uint16_t sh[32];
    for (int i = 0; i < 32; i++) sh[i] = (uint16_t)(((i / 8) & 1) ? 4 : 0);
    k.shift = _mm512_loadu_si512(sh);
    k.lo4 = _mm512_set1_epi8(0x0F);
    int32_t pr[16];
    for (int i = 0; i < 16; i++) pr[i] = i < 8 ? 0 : 1;
    k.pair = _mm512_loadu_si512(pr);
    return k;
}

// Unpacks blocks b, b+1 at p: W = 64 u8 codes in element order, DW = [d_b ×8, d_b+1 ×8];
// stores m'_b, m'_b+1 at m[0..1].
AI void unpack_pair(enum gaze_type t, const struct consts * k, const uint8_t * p,
                    __m512i * W, __m512 * DW, float * m) {
    const int B = q32_blk_bytes(t);
    __m512i raw;
    if (t == GAZE_TYPE_Q8_0) {
        raw = _mm512_loadu_si512(p);
        const __m512i hi = _mm512_loadu_si512(p + 4);
        *W = _mm512_xor_si512(_mm512_permutex2var_epi8(raw, k->q8idx, hi), _mm512_set1_epi8((char)0x80));
    } else {
        raw = _mm512_maskz_loadu_epi8(((__mmask64)1 << (2 * B)) - 1, p);
        __m512i q = _mm512_permutexvar_epi8(k->nib, raw);
        q = _mm512_and_si512(_mm512_srlv_epi16(q, k->shift), k->lo4);
        if (t == GAZE_TYPE_Q5_0 || t == GAZE_TYPE_Q5_1) {
            const int ho = t == GAZE_TYPE_Q5_0 ? 2 : 4;
            uint32_t h0, h1;
            memcpy(&h0, p + ho, 4);
            memcpy(&h1, p + B + ho, 4);
            const __mmask64 hm = (__mmask64)h0 | (__mmask64)h1 << 32;
            q = _mm512_mask_add_epi8(q, hm, q, _mm512_set1_epi8(16));
        }
        *W = q;
    }
    const __m512i s = _mm512_permutexvar_epi16(k->scl, raw);
    *DW = _mm512_cvtph_ps(_mm512_castsi512_si256(s));
    __m128 mm = _mm_cvtph_ps(_mm512_extracti32x4_epi32(s, 2));
    if (!q32_has_min(t)) mm = _mm_mul_ps(mm, _mm_set1_ps(q32_code_offset(t)));
    _mm_storel_pi((__m64 *)m, mm);
}

AI __m512 pair_expand(const struct consts * k, const float * v) {
    uint64_t u;
    memcpy(&u, v, 8);   // two floats, 4-byte aligned only
    const __m128 two = _mm_castsi128_ps(_mm_cvtsi64_si128((long long)u));
    return _mm512_permutexvar_ps(k->pair, _mm512_castps128_ps512(two));
}

// Rows r0 .. r0+R-1 of w (row bytes rb) against tokens t0 .. t0+C-1: y[t, r].
AI void tile_q(enum gaze_type t, const int R, const int C, const struct consts * k,
               const uint8_t * w, size_t rb, const struct quant_act * a, int64_t t0,
               int64_t r0, float * y, int64_t ldy) {
    const int64_t nb = a->nb, nb2 = nb & ~(int64_t)1;
    const int B = q32_blk_bytes(t);
    __m512 acc[R][C];
    for (int r = 0; r < R; r++)
        for (int c = 0; c < C; c++) acc[r][c] = _mm512_setzero_ps();
    const int8_t * xq[C];
    const float * xd[C];
    const float * xs[C];
    for (int c = 0; c < C; c++) {
        xq[c] = a->qs + (t0 + c) * a->ld_qs;
        xd[c] = a->d + (t0 + c) * nb;
        xs[c] = a->s + (t0 + c) * nb;
    }
    float mbuf[R][KC];
    for (int64_t kb = 0; kb < nb2; kb += KC) {
        const int64_t ke = GAZE_MIN(nb2, kb + KC);
        for (int64_t b = kb; b < ke; b += 2) {
            __m512i W[R];
            __m512 DW[R];
            for (int r = 0; r < R; r++)
                unpack_pair(t, k, w + (size_t)r * rb + (size_t)b * B, &W[r], &DW[r], &mbuf[r][b - kb]);
            for (int c = 0; c < C; c++) {
                const __m512i X = _mm512_loadu_si512(xq[c] + 32 * b);
                const __m512 DX = pair_expand(k, xd[c] + b);
                for (int r = 0; r < R; r++) {
                    const __m512i I = _mm512_dpbusd_epi32(_mm512_setzero_si512(), W[r], X);
                    acc[r][c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(I), _mm512_mul_ps(DW[r], DX), acc[r][c]);
                }
            }
        }
        // min / offset terms of this chunk: Σ_b m'[r, b]·s[c, b] (lane order is irrelevant to a sum)
        const int64_t n = ke - kb;
        for (int64_t j = 0; j < n; j += 16) {
            const __mmask16 mk = n - j >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - j)) - 1);
            __m512 S[C];
            for (int c = 0; c < C; c++) S[c] = _mm512_maskz_loadu_ps(mk, xs[c] + kb + j);
            for (int r = 0; r < R; r++) {
                const __m512 M = _mm512_maskz_loadu_ps(mk, &mbuf[r][j]);
                for (int c = 0; c < C; c++) acc[r][c] = _mm512_fmadd_ps(M, S[c], acc[r][c]);
            }
        }
    }
    for (int r = 0; r < R; r++)
        for (int c = 0; c < C; c++) {
            float v = _mm512_reduce_add_ps(acc[r][c]);
            if (nb2 < nb)   // odd block count: the last block by the scalar reference
                v += quant_q32_block_dot(w + (size_t)r * rb, t, nb - 1, xq[c] + 32 * (nb - 1),
                                         xd[c][nb - 1], xs[c][nb - 1]);
            y[(t0 + c) * ldy + r0 + r] = v;
        }
}

// F32 / F16 / BF16 weights: convert 16 weights at a time, f32 FMAs against f32 activations.
AI __m512 load_wf(enum gaze_type t, const uint8_t * p, __mmask16 mk) {
    if (t == GAZE_TYPE_F32) return _mm512_maskz_loadu_ps(mk, p);
    const __m256i h = _mm256_maskz_loadu_epi16(mk, p);
    if (t == GAZE_TYPE_F16) return _mm512_cvtph_ps(h);
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

AI void tile_f(enum gaze_type t, const int R, const int C, const uint8_t * w, size_t rb,
               const struct quant_act * a, int64_t t0, int64_t r0, float * y, int64_t ldy) {
    const int64_t n = a->n_in;
    const int es = t == GAZE_TYPE_F32 ? 4 : 2;
    __m512 acc[R][C];
    for (int r = 0; r < R; r++)
        for (int c = 0; c < C; c++) acc[r][c] = _mm512_setzero_ps();
    for (int64_t i = 0; i < n; i += 16) {
        const __mmask16 mk = n - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - i)) - 1);
        __m512 W[R];
        for (int r = 0; r < R; r++) W[r] = load_wf(t, w + (size_t)r * rb + (size_t)i * es, mk);
        for (int c = 0; c < C; c++) {
            const __m512 X = _mm512_maskz_loadu_ps(mk, a->f + (t0 + c) * n + i);
            for (int r = 0; r < R; r++) acc[r][c] = _mm512_fmadd_ps(W[r], X, acc[r][c]);
        }
    }
    for (int r = 0; r < R; r++)
        for (int c = 0; c < C; c++) y[(t0 + c) * ldy + r0 + r] = _mm512_reduce_add_ps(acc[r][c]);
}

// The loop nest shared by every type: token blocks of TB (their activations stay in L2), row
// tiles of 4 (their weights stay in L1 across the block's tokens), token tiles of 4.
#define TB 64
#define DEFINE_ROWS(NAME, TILE, ...)                                                              \
    static void NAME(const uint8_t * w, size_t rb, const struct quant_act * a, float * y,        \
                     int64_t ldy, int64_t r0, int64_t r1) {                                      \
        const int64_t T = a->T;                                                                   \
        if (T == 1) {                                                                             \
            int64_t r = r0;                                                                       \
            for (; r + 8 <= r1; r += 8) TILE(__VA_ARGS__, 8, 1, w + (size_t)r * rb, rb, a, 0, r, y, ldy); \
            for (; r < r1; r++) TILE(__VA_ARGS__, 1, 1, w + (size_t)r * rb, rb, a, 0, r, y, ldy);     \
            return;                                                                               \
        }                                                                                         \
        for (int64_t tb = 0; tb < T; tb += TB) {                                                  \
            const int64_t te = GAZE_MIN(T, tb + TB);                                              \
            int64_t r = r0;                                                                       \
            for (; r + 4 <= r1; r += 4) {                                                         \
                const uint8_t * wr = w + (size_t)r * rb;                                          \
                int64_t t = tb;                                                                   \
                for (; t + 4 <= te; t += 4) TILE(__VA_ARGS__, 4, 4, wr, rb, a, t, r, y, ldy);     \
                for (; t + 2 <= te; t += 2) TILE(__VA_ARGS__, 4, 2, wr, rb, a, t, r, y, ldy);     \
                for (; t < te; t++) TILE(__VA_ARGS__, 4, 1, wr, rb, a, t, r, y, ldy);             \
            }                                                                                     \
            for (; r < r1; r++) {                                                                 \
                const uint8_t * wr = w + (size_t)r * rb;                                          \
                int64_t t = tb;                                                                   \
                for (; t + 4 <= te; t += 4) TILE(__VA_ARGS__, 1, 4, wr, rb, a, t, r, y, ldy);     \
                for (; t < te; t++) TILE(__VA_ARGS__, 1, 1, wr, rb, a, t, r, y, ldy);             \
            }                                                                                     \
        }                                                                                         \
    }

#define TILE_Q(TYPE, R, C, ...) do { const struct consts k_ = make_consts(TYPE); \
                                     tile_q(TYPE, R, C, &k_, __VA_ARGS__); } while (0)
#define TILE_F(TYPE, R, C, ...) tile_f(TYPE, R, C, __VA_ARGS__)

DEFINE_ROWS(rows_q4_0, TILE_Q, GAZE_TYPE_Q4_0)
DEFINE_ROWS(rows_q4_1, TILE_Q, GAZE_TYPE_Q4_1)
DEFINE_ROWS(rows_q5_0, TILE_Q, GAZE_TYPE_Q5_0)
DEFINE_ROWS(rows_q5_1, TILE_Q, GAZE_TYPE_Q5_1)
DEFINE_ROWS(rows_q8_0, TILE_Q, GAZE_TYPE_Q8_0)
DEFINE_ROWS(rows_f32,  TILE_F, GAZE_TYPE_F32)
DEFINE_ROWS(rows_f16,  TILE_F, GAZE_TYPE_F16)
DEFINE_ROWS(rows_bf16, TILE_F, GAZE_TYPE_BF16)

bool quant_rows_avx512(const void * w, enum gaze_type type, int64_t n_in,
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
    default: return quant_k_rows_avx512(w, type, n_in, act, y, ldy, r0, r1);   // K-quants
    }
}

// ---- packed layout: 16-row groups, one vpdpbusd = 16 rows × 4 inputs ---------------------------
//
// A block group is 16 rows × one 32-block. Codes sit so that 32-bit lane r of a zmm holds row
// r's codes for 4 (bytes) or 8 (nibbles) consecutive inputs; a broadcast of 4 activation bytes
// then feeds all 16 rows, and the 16 results land in 16 lanes: no unpacking shuffles, no
// horizontal sums, one scale FMA per block for 16 rows.
//   nibble types (Q4_0, Q4_1):  zmm j = 0..3 at 64j: lane r byte i = code(r, 8j+i) | code(r, 8j+4+i) << 4
//   Q5_0, Q5_1:                 the same nibbles, then 8 u64 masks of the fifth bits (mask 2j: inputs
//                               8j..8j+3, mask 2j+1: 8j+4..8j+7; bit 4r+i)
//   Q8_0:                       zmm j = 0..7 at 64j: lane r byte i = q(r, 4j+i) + 128
// followed by d [16] as f16, and for Q4_1/Q5_1 the block mins m [16] as f16. The symmetric
// types carry no m (their offset is -8d, -16d, -128d): 288 / 352 / 544 bytes per block group,
// exactly the raw blocks' 16 x 18 / 22 / 34, so generation reads no more bytes than the file
// holds (blocks then start at any 32-byte boundary: unaligned loads).

size_t quant_pack_blk_bytes(enum gaze_type t) {
    switch (t) {
    case GAZE_TYPE_Q4_0: return 256 + 32;
    case GAZE_TYPE_Q4_1: return 256 + 64;
    case GAZE_TYPE_Q5_0: return 256 + 64 + 32;
    case GAZE_TYPE_Q5_1: return 256 + 64 + 64;
    case GAZE_TYPE_Q8_0: return 512 + 32;
    case GAZE_TYPE_Q4_K: case GAZE_TYPE_Q5_K: case GAZE_TYPE_Q6_K: return quant_k_pack_sb_bytes(t) / 8;   // per 32 inputs
    default: return 0;
    }
}

static size_t codes_bytes(enum gaze_type t) {
    return t == GAZE_TYPE_Q8_0 ? 512 : (t == GAZE_TYPE_Q5_0 || t == GAZE_TYPE_Q5_1) ? 320 : 256;
}

static uint32_t rd32(const uint8_t * p) { uint32_t v; memcpy(&v, p, 4); return v; }
static void wr32(uint8_t * p, uint32_t v) { memcpy(p, &v, 4); }

// Word-level repacking (a few integer ops per 32 codes): lane r of packed zmm j gets row r's
// codes 8j..8j+3 (low nibbles) and 8j+4..8j+7 (high nibbles); ggml's qs[k] holds codes k
// (low nibble) and k+16 (high nibble).
void quant_pack_group_avx512(const void * w, enum gaze_type t, int64_t n_out, int64_t n_in,
                             int64_t g, uint8_t * dst) {
    if (t == GAZE_TYPE_Q4_K || t == GAZE_TYPE_Q5_K || t == GAZE_TYPE_Q6_K) {
        quant_k_pack_group_avx512(w, t, n_out, n_in, g, dst);
        return;
    }
    const int64_t nb = n_in / QK32;
    const int B = q32_blk_bytes(t);
    const size_t rb = (size_t)nb * (size_t)B, bb = quant_pack_blk_bytes(t), cb = codes_bytes(t);
    const bool q5 = t == GAZE_TYPE_Q5_0 || t == GAZE_TYPE_Q5_1;
    const uint32_t lo = 0x0F0F0F0Fu, hi = 0xF0F0F0F0u;
    memset(dst, 0, bb * (size_t)nb);   // rows past n_out stay zero: d = 0 contributes nothing
    for (int r = 0; r < 16 && 16 * g + r < n_out; r++) {
        const uint8_t * row = (const uint8_t *)w + (size_t)(16 * g + r) * rb;
        for (int64_t b = 0; b < nb; b++) {
            const uint8_t * p = row + (size_t)b * B;
            uint8_t * o = dst + (size_t)b * bb;
            memcpy(o + cb + 2 * r, p, 2);                                   // d
            if (q32_has_min(t)) memcpy(o + cb + 32 + 2 * r, p + 2, 2);          // m
            if (t == GAZE_TYPE_Q8_0) {
                for (int j = 0; j < 8; j++) wr32(o + 64 * j + 4 * r, rd32(p + 2 + 4 * j) ^ 0x80808080u);
                continue;
            }
            const uint8_t * qs = p + q32_qs_off(t);
            const uint32_t a = rd32(qs), bw = rd32(qs + 4), c = rd32(qs + 8), d = rd32(qs + 12);
            wr32(o + 4 * r,       (a & lo) | (bw & lo) << 4);
            wr32(o + 64 + 4 * r,  (c & lo) | (d & lo) << 4);
            wr32(o + 128 + 4 * r, ((a >> 4) & lo) | (bw & hi));
            wr32(o + 192 + 4 * r, ((c >> 4) & lo) | (d & hi));
            if (q5) {
                const uint32_t h = rd32(p + (t == GAZE_TYPE_Q5_0 ? 2 : 4));
                uint64_t * mk = (uint64_t *)(o + 256);
                for (int j = 0; j < 4; j++) {
                    mk[2 * j]     |= (uint64_t)((h >> (8 * j)) & 0xF) << (4 * r);
                    mk[2 * j + 1] |= (uint64_t)((h >> (8 * j + 4)) & 0xF) << (4 * r);
                }
            }
        }
    }
}

AI __m512i bcast4(const int8_t * p) { int32_t v; memcpy(&v, p, 4); return _mm512_set1_epi32(v); }

#define PF_BLOCKS 8   // prefetch distance of the generation tiles, in 32-input blocks

// G consecutive groups (16·G rows from `rows0`) × C tokens from t0. For each block: integer
// dots into two accumulators per (group, token) (two short dependency chains), then
// acc += cvt(I)·(d_w·d_x) + m'_w·(d_x·Σq_x).
AI void ptile(enum gaze_type t, const int G, const int C, const uint8_t * pk, size_t gbytes,
              const struct quant_act * a, int64_t t0, int64_t row0, int64_t n_out, float * y, int64_t ldy) {
    const int64_t nb = a->nb;
    const size_t bb = quant_pack_blk_bytes(t), cb = codes_bytes(t);
    const __m512i lo4 = _mm512_set1_epi8(0x0F);
    __m512 acc[G][C];
    for (int g = 0; g < G; g++)
        for (int c = 0; c < C; c++) acc[g][c] = _mm512_setzero_ps();
    const int8_t * xq[C];
    const float * xd[C];
    const float * xs[C];
    for (int c = 0; c < C; c++) {
        xq[c] = a->qs + (t0 + c) * a->ld_qs;
        xd[c] = a->d + (t0 + c) * nb;
        xs[c] = a->s + (t0 + c) * nb;
    }
    for (int64_t b = 0; b < nb; b++) {
        // Generation streams every weight once, from the last-level cache or DRAM: ask for each
        // group's block PF_BLOCKS ahead (~10-20 % more tokens/s in bench_quant decode). Past the
        // group's end it touches the next group or, at the very end, a line beyond the weights:
        // prefetches never fault.
        if (C == 1)
            for (int g = 0; g < G; g++)
                for (size_t l = 0; l < bb; l += 64)
                    _mm_prefetch((const char *)(pk + (size_t)g * gbytes + (size_t)(b + PF_BLOCKS) * bb + l), _MM_HINT_T0);
        __m512i I0[G][C], I1[G][C];
        for (int g = 0; g < G; g++)
            for (int c = 0; c < C; c++) { I0[g][c] = _mm512_setzero_si512(); I1[g][c] = _mm512_setzero_si512(); }
        for (int g = 0; g < G; g++) {
            const uint8_t * o = pk + (size_t)g * gbytes + (size_t)b * bb;
            if (t == GAZE_TYPE_Q8_0) {
                for (int j = 0; j < 8; j += 2) {
                    const __m512i w0 = _mm512_loadu_si512(o + 64 * j), w1 = _mm512_loadu_si512(o + 64 * j + 64);
                    for (int c = 0; c < C; c++) {
                        I0[g][c] = _mm512_dpbusd_epi32(I0[g][c], w0, bcast4(xq[c] + 32 * b + 4 * j));
                        I1[g][c] = _mm512_dpbusd_epi32(I1[g][c], w1, bcast4(xq[c] + 32 * b + 4 * j + 4));
                    }
                }
            } else {
                for (int j = 0; j < 4; j++) {
                    const __m512i v = _mm512_loadu_si512(o + 64 * j);
                    __m512i wl = _mm512_and_si512(v, lo4), wh = _mm512_and_si512(_mm512_srli_epi16(v, 4), lo4);
                    if (t == GAZE_TYPE_Q5_0 || t == GAZE_TYPE_Q5_1) {
                        __mmask64 ml, mh;
                        memcpy(&ml, o + 256 + 16 * j, 8);
                        memcpy(&mh, o + 256 + 16 * j + 8, 8);
                        wl = _mm512_mask_add_epi8(wl, ml, wl, _mm512_set1_epi8(16));
                        wh = _mm512_mask_add_epi8(wh, mh, wh, _mm512_set1_epi8(16));
                    }
                    for (int c = 0; c < C; c++) {
                        I0[g][c] = _mm512_dpbusd_epi32(I0[g][c], wl, bcast4(xq[c] + 32 * b + 8 * j));
                        I1[g][c] = _mm512_dpbusd_epi32(I1[g][c], wh, bcast4(xq[c] + 32 * b + 8 * j + 4));
                    }
                }
            }
        }
        // acc += (d_w·d_x)·I + m'_w·s_x, every product and sum rounded as the scalar oracle
        // (quant_q32_block_dot, blocks in order) rounds it: bit-identical outputs
        for (int g = 0; g < G; g++) {
            const uint8_t * o = pk + (size_t)g * gbytes + (size_t)b * bb + cb;
            const __m512 D = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)o));
            const __m512 M = q32_has_min(t) ? _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(o + 32)))
                                        : _mm512_mul_ps(D, _mm512_set1_ps(q32_code_offset(t)));   // exact
            for (int c = 0; c < C; c++) {
                const __m512 I = _mm512_cvtepi32_ps(_mm512_add_epi32(I0[g][c], I1[g][c]));
                __m512 a1 = _mm512_mul_ps(D, _mm512_set1_ps(xd[c][b]));
                NOFUSE(a1);
                __m512 t1 = _mm512_mul_ps(a1, I);
                NOFUSE(t1);
                __m512 t2 = _mm512_mul_ps(M, _mm512_set1_ps(xs[c][b]));
                NOFUSE(t2);
                __m512 v = _mm512_add_ps(t1, t2);
                NOFUSE(v);
                acc[g][c] = _mm512_add_ps(acc[g][c], v);
            }
        }
    }
    for (int g = 0; g < G; g++) {
        const int64_t r = row0 + 16 * g;
        const __mmask16 mk = n_out - r >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n_out - r)) - 1);
        for (int c = 0; c < C; c++) _mm512_mask_storeu_ps(y + (t0 + c) * ldy + r, mk, acc[g][c]);
    }
}

// Groups [g0, g1) of packed weights (pk points at group g0; group stride gbytes) against all
// tokens of a.
#define DEFINE_PROWS(NAME, TYPE)                                                                  \
    static void NAME(const uint8_t * pk, size_t gbytes, const struct quant_act * a, float * y,    \
                     int64_t ldy, int64_t g0, int64_t g1, int64_t n_out) {                        \
        const int64_t T = a->T;                                                                   \
        int64_t g = g0;                                                                           \
        if (T == 1) {                                                                             \
            for (; g + 2 <= g1; g += 2) ptile(TYPE, 2, 1, pk + (size_t)(g - g0) * gbytes, gbytes, a, 0, 16 * g, n_out, y, ldy); \
            for (; g < g1; g++) ptile(TYPE, 1, 1, pk + (size_t)(g - g0) * gbytes, gbytes, a, 0, 16 * g, n_out, y, ldy);        \
            return;                                                                               \
        }                                                                                         \
        for (; g < g1; g++) {                                                                     \
            const uint8_t * p = pk + (size_t)(g - g0) * gbytes;                                   \
            int64_t t = 0;                                                                        \
            for (; t + 8 <= T; t += 8) ptile(TYPE, 1, 8, p, gbytes, a, t, 16 * g, n_out, y, ldy); \
            for (; t + 4 <= T; t += 4) ptile(TYPE, 1, 4, p, gbytes, a, t, 16 * g, n_out, y, ldy); \
            for (; t < T; t++) ptile(TYPE, 1, 1, p, gbytes, a, t, 16 * g, n_out, y, ldy);         \
        }                                                                                         \
    }

DEFINE_PROWS(prows_q4_0, GAZE_TYPE_Q4_0)
DEFINE_PROWS(prows_q4_1, GAZE_TYPE_Q4_1)
DEFINE_PROWS(prows_q5_0, GAZE_TYPE_Q5_0)
DEFINE_PROWS(prows_q5_1, GAZE_TYPE_Q5_1)
DEFINE_PROWS(prows_q8_0, GAZE_TYPE_Q8_0)

void quant_packed_rows_avx512(const uint8_t * pk, size_t gbytes, enum gaze_type type,
                              const struct quant_act * act, float * y, int64_t ldy,
                              int64_t g0, int64_t g1, int64_t n_out) {
    switch (type) {
    case GAZE_TYPE_Q4_0: prows_q4_0(pk, gbytes, act, y, ldy, g0, g1, n_out); break;
    case GAZE_TYPE_Q4_1: prows_q4_1(pk, gbytes, act, y, ldy, g0, g1, n_out); break;
    case GAZE_TYPE_Q5_0: prows_q5_0(pk, gbytes, act, y, ldy, g0, g1, n_out); break;
    case GAZE_TYPE_Q5_1: prows_q5_1(pk, gbytes, act, y, ldy, g0, g1, n_out); break;
    case GAZE_TYPE_Q8_0: prows_q8_0(pk, gbytes, act, y, ldy, g0, g1, n_out); break;
    case GAZE_TYPE_Q4_K: case GAZE_TYPE_Q5_K: case GAZE_TYPE_Q6_K: quant_k_packed_rows_avx512(pk, gbytes, type, act, y, ldy, g0, g1, n_out); break;
    default: GAZE_ASSERT(0);
    }
}

// Activation quantization, bit-identical to quant_act_row_q8 (same amax, d = amax/127,
// id = 1/d, round-to-nearest-even of x·id under the default MXCSR, exact integer sums).
void quant_act_row_q8_avx512(const float * x, int64_t n, int8_t * qs, float * d, float * s) {
    const __m512 absmask = _mm512_castsi512_ps(_mm512_set1_epi32(0x7FFFFFFF));
    for (int64_t b = 0; b < n / QK32; b++, x += QK32, qs += QK32) {
        const __m512 x0 = _mm512_loadu_ps(x), x1 = _mm512_loadu_ps(x + 16);
        const __m512 a0 = _mm512_and_ps(x0, absmask), a1 = _mm512_and_ps(x1, absmask);
        // non-finite lanes: exponent all ones
        const __m512 inf = _mm512_set1_ps(INFINITY);
        if (_mm512_cmp_ps_mask(a0, inf, _CMP_NLT_UQ) | _mm512_cmp_ps_mask(a1, inf, _CMP_NLT_UQ)) {
            memset(qs, 0, QK32);
            d[b] = s[b] = NAN;
            continue;
        }
        const float amax = _mm512_reduce_max_ps(_mm512_max_ps(a0, a1));
        const float db = amax / 127.0f;
        const float id = db != 0.0f ? 1.0f / db : 0.0f;
        const __m512 vid = _mm512_set1_ps(id);
        const __m512i q0 = _mm512_cvtps_epi32(_mm512_mul_ps(x0, vid));
        const __m512i q1 = _mm512_cvtps_epi32(_mm512_mul_ps(x1, vid));
        _mm_storeu_si128((__m128i *)qs, _mm512_cvtepi32_epi8(q0));
        _mm_storeu_si128((__m128i *)(qs + 16), _mm512_cvtepi32_epi8(q1));
        d[b] = db;
        s[b] = db * (float)_mm512_reduce_add_epi32(_mm512_add_epi32(q0, q1));
    }
}

#if defined(__clang__)
#pragma clang attribute pop
#endif
