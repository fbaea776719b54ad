// Quantized tensor types: the type-traits table, exact dequantization (ggml-quants.c formulas,
// operation order kept so results are bit-identical to ggml and the gguf Python package),
// reference quantizers for round-trip tests, activation quantization, the scalar integer dot
// products that every SIMD kernel is checked against, and the threaded driver of
// gaze_quant_linear_forward.
#include "kernels/quant.h"
#include <math.h>
#include <omp.h>
#include <pthread.h>

// ---- half / bfloat16 ---------------------------------------------------------------------------

float quant_f16_to_f32(uint16_t h) {
    const uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    const uint32_t exp = (h >> 10) & 0x1F, man = h & 0x3FF;
    uint32_t u;
    if (exp == 0) {
        // zero or subnormal: man · 2^-24 is exact in f32
        float f = (float)man * 0x1p-24f;
        memcpy(&u, &f, 4);
        u |= sign;
    } else if (exp == 31) {
        u = sign | 0x7F800000u | (man << 13);   // Inf, NaN (payload kept)
    } else {
        u = sign | ((exp + 112) << 23) | (man << 13);
    }
    float f;
    memcpy(&f, &u, 4);
    return f;
}

uint16_t quant_f32_to_f16(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    const uint16_t sign = (uint16_t)((x >> 16) & 0x8000);
    const uint32_t ax = x & 0x7FFFFFFFu;
    if (ax > 0x7F800000u) return sign | 0x7E00;                 // NaN -> quiet NaN
    if (ax >= 0x47800000u) return sign | 0x7C00;                // >= 65536 (and Inf) -> Inf
    if (ax < 0x38800000u) {                                     // below 2^-14: subnormal half
        float v;
        memcpy(&v, &ax, 4);
        return sign | (uint16_t)lrintf(v * 0x1p24f);            // RNE; 1024 encodes 2^-14
    }
    uint32_t h = ((ax >> 23) - 112) << 10 | ((ax >> 13) & 0x3FF);
    const uint32_t rem = ax & 0x1FFF;
    if (rem > 0x1000 || (rem == 0x1000 && (h & 1))) h++;        // carry may reach Inf: correct
    return sign | (uint16_t)h;
}

uint16_t quant_f32_to_bf16(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    if ((x & 0x7FFFFFFFu) > 0x7F800000u) return (uint16_t)((x >> 16) | 64);   // quiet NaN
    return (uint16_t)((x + (0x7FFF + ((x >> 16) & 1))) >> 16);
}

#define H2F(h) quant_f16_to_f32(h)

// ---- dequantization ----------------------------------------------------------------------------

static void deq_f32(const void * vx, float * y, int64_t n) { memcpy(y, vx, (size_t)n * 4); }

static void deq_f16(const void * vx, float * y, int64_t n) {
    const uint8_t * x = vx;
    for (int64_t i = 0; i < n; i++) { uint16_t h; memcpy(&h, x + 2 * i, 2); y[i] = H2F(h); }
}

static void deq_bf16(const void * vx, float * y, int64_t n) {
    const uint8_t * x = vx;
    for (int64_t i = 0; i < n; i++) { uint16_t h; memcpy(&h, x + 2 * i, 2); y[i] = quant_bf16_to_f32(h); }
}

static void deq_q4_0(const void * vx, float * y, int64_t n) {
    const struct block_q4_0 * x = vx;
    for (int64_t b = 0; b < n / QK32; b++, y += QK32) {
        const float d = H2F(x[b].d);
        for (int j = 0; j < 16; j++) {
            y[j]      = d * (float)((x[b].qs[j] & 0x0F) - 8);
            y[j + 16] = d * (float)((x[b].qs[j] >> 4) - 8);
        }
    }
}

static void deq_q4_1(const void * vx, float * y, int64_t n) {
    const struct block_q4_1 * x = vx;
    for (int64_t b = 0; b < n / QK32; b++, y += QK32) {
        const float d = H2F(x[b].d), m = H2F(x[b].m);
        for (int j = 0; j < 16; j++) {
            y[j]      = d * (float)(x[b].qs[j] & 0x0F) + m;
            y[j + 16] = d * (float)(x[b].qs[j] >> 4) + m;
        }
    }
}

static uint32_t le32(const uint8_t * p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }

static void deq_q5_0(const void * vx, float * y, int64_t n) {
    const struct block_q5_0 * x = vx;
    for (int64_t b = 0; b < n / QK32; b++, y += QK32) {
        const float d = H2F(x[b].d);
        const uint32_t h = le32(x[b].qh);
        for (int j = 0; j < 16; j++) {
            const int q0 = (x[b].qs[j] & 0x0F) | (int)((h >> j) & 1) << 4;
            const int q1 = (x[b].qs[j] >> 4) | (int)((h >> (j + 16)) & 1) << 4;
            y[j]      = d * (float)(q0 - 16);
            y[j + 16] = d * (float)(q1 - 16);
        }
    }
}

static void deq_q5_1(const void * vx, float * y, int64_t n) {
    const struct block_q5_1 * x = vx;
    for (int64_t b = 0; b < n / QK32; b++, y += QK32) {
        const float d = H2F(x[b].d), m = H2F(x[b].m);
        const uint32_t h = le32(x[b].qh);
        for (int j = 0; j < 16; j++) {
            const int q0 = (x[b].qs[j] & 0x0F) | (int)((h >> j) & 1) << 4;
            const int q1 = (x[b].qs[j] >> 4) | (int)((h >> (j + 16)) & 1) << 4;
            y[j]      = d * (float)q0 + m;
            y[j + 16] = d * (float)q1 + m;
        }
    }
}

static void deq_q8_0(const void * vx, float * y, int64_t n) {
    const struct block_q8_0 * x = vx;
    for (int64_t b = 0; b < n / QK32; b++, y += QK32) {
        const float d = H2F(x[b].d);
        for (int j = 0; j < QK32; j++) y[j] = d * (float)x[b].qs[j];
    }
}

static void deq_q8_1(const void * vx, float * y, int64_t n) {
    const struct block_q8_1 * x = vx;
    for (int64_t b = 0; b < n / QK32; b++, y += QK32) {
        const float d = H2F(x[b].d);
        for (int j = 0; j < QK32; j++) y[j] = d * (float)x[b].qs[j];
    }
}

// 6-bit scale and min of sub-block k (0..7) of a Q4_K super-block.
static inline void q4k_scale_min(int k, const uint8_t * s, int * sc, int * mn) {
    if (k < 4) {
        *sc = s[k] & 63;
        *mn = s[k + 4] & 63;
    } else {
        *sc = (s[k + 4] & 0x0F) | ((s[k - 4] >> 6) << 4);
        *mn = (s[k + 4] >> 4) | ((s[k] >> 6) << 4);
    }
}

static void deq_q4_k(const void * vx, float * y, int64_t n) {
    const struct block_q4_k * x = vx;
    for (int64_t b = 0; b < n / QK_K; b++) {
        const float d = H2F(x[b].d), dmin = H2F(x[b].dmin);
        const uint8_t * q = x[b].qs;
        for (int c = 0; c < 4; c++, q += 32) {
            int sc1, mn1, sc2, mn2;
            q4k_scale_min(2 * c, x[b].scales, &sc1, &mn1);
            q4k_scale_min(2 * c + 1, x[b].scales, &sc2, &mn2);
            const float d1 = d * (float)sc1, m1 = dmin * (float)mn1;
            const float d2 = d * (float)sc2, m2 = dmin * (float)mn2;
            for (int l = 0; l < 32; l++) *y++ = d1 * (float)(q[l] & 0x0F) - m1;
            for (int l = 0; l < 32; l++) *y++ = d2 * (float)(q[l] >> 4) - m2;
        }
    }
}

// Q5_K: Q4_K plus a fifth bit per code in qh (bit 2c of qh[l] for element 64c + l, bit 2c + 1
// for 64c + 32 + l).
static void deq_q5_k(const void * vx, float * y, int64_t n) {
    const struct block_q5_k * x = vx;
    for (int64_t b = 0; b < n / QK_K; b++) {
        const float d = H2F(x[b].d), dmin = H2F(x[b].dmin);
        const uint8_t * q = x[b].qs;
        const uint8_t * qh = x[b].qh;
        for (int c = 0; c < 4; c++, q += 32) {
            int sc1, mn1, sc2, mn2;
            q4k_scale_min(2 * c, x[b].scales, &sc1, &mn1);
            q4k_scale_min(2 * c + 1, x[b].scales, &sc2, &mn2);
            const float d1 = d * (float)sc1, m1 = dmin * (float)mn1;
            const float d2 = d * (float)sc2, m2 = dmin * (float)mn2;
            for (int l = 0; l < 32; l++) *y++ = d1 * (float)((q[l] & 0x0F) + ((qh[l] >> (2 * c)) & 1) * 16) - m1;
            for (int l = 0; l < 32; l++) *y++ = d2 * (float)((q[l] >> 4) + ((qh[l] >> (2 * c + 1)) & 1) * 16) - m2;
        }
    }
}

static void deq_q6_k(const void * vx, float * y, int64_t n) {
    const struct block_q6_k * x = vx;
    for (int64_t b = 0; b < n / QK_K; b++) {
        const float d = H2F(x[b].d);
        const uint8_t * ql = x[b].ql;
        const uint8_t * qh = x[b].qh;
        const int8_t * sc = x[b].scales;
        for (int half = 0; half < 2; half++, y += 128, ql += 64, qh += 32, sc += 8) {
            for (int l = 0; l < 32; l++) {
                const int is = l / 16;
                const int q1 = (int)((ql[l] & 0x0F) | (((qh[l] >> 0) & 3) << 4)) - 32;
                const int q2 = (int)((ql[l + 32] & 0x0F) | (((qh[l] >> 2) & 3) << 4)) - 32;
                const int q3 = (int)((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                const int q4 = (int)((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
                y[l]      = d * (float)sc[is + 0] * (float)q1;
                y[l + 32] = d * (float)sc[is + 2] * (float)q2;
                y[l + 64] = d * (float)sc[is + 4] * (float)q3;
                y[l + 96] = d * (float)sc[is + 6] * (float)q4;
            }
        }
    }
}

static void deq_q8_k(const void * vx, float * y, int64_t n) {
    const struct block_q8_k * x = vx;
    for (int64_t b = 0; b < n / QK_K; b++, y += QK_K)
        for (int j = 0; j < QK_K; j++) y[j] = x[b].d * (float)x[b].qs[j];
}

// ---- reference quantizers (ggml's *_ref semantics for the 32-block types) -------------------------

static void qnt_f32(const float * x, void * y, int64_t n) { memcpy(y, x, (size_t)n * 4); }
static void qnt_f16(const float * x, void * vy, int64_t n) {
    uint8_t * y = vy;
    for (int64_t i = 0; i < n; i++) { uint16_t h = quant_f32_to_f16(x[i]); memcpy(y + 2 * i, &h, 2); }
}
static void qnt_bf16(const float * x, void * vy, int64_t n) {
    uint8_t * y = vy;
    for (int64_t i = 0; i < n; i++) { uint16_t h = quant_f32_to_bf16(x[i]); memcpy(y + 2 * i, &h, 2); }
}

// signed value of largest magnitude (first one on ties), as ggml's Q4_0/Q5_0 use
static float signed_absmax(const float * x, int n) {
    float amax = 0.0f, max = 0.0f;
    for (int j = 0; j < n; j++)
        if (fabsf(x[j]) > amax) { amax = fabsf(x[j]); max = x[j]; }
    return max;
}

static void qnt_q4_0(const float * x, void * vy, int64_t n) {
    struct block_q4_0 * y = vy;
    for (int64_t b = 0; b < n / QK32; b++, x += QK32) {
        const float d = signed_absmax(x, QK32) / -8.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[b].d = quant_f32_to_f16(d);
        for (int j = 0; j < 16; j++) {
            const int q0 = GAZE_MIN(15, (int)(int8_t)(x[j] * id + 8.5f));
            const int q1 = GAZE_MIN(15, (int)(int8_t)(x[j + 16] * id + 8.5f));
            y[b].qs[j] = (uint8_t)(q0 | q1 << 4);
        }
    }
}

static void qnt_q4_1(const float * x, void * vy, int64_t n) {
    struct block_q4_1 * y = vy;
    for (int64_t b = 0; b < n / QK32; b++, x += QK32) {
        float mn = INFINITY, mx = -INFINITY;
        for (int j = 0; j < QK32; j++) { mn = fminf(mn, x[j]); mx = fmaxf(mx, x[j]); }
        const float d = (mx - mn) / 15.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[b].d = quant_f32_to_f16(d);
        y[b].m = quant_f32_to_f16(mn);
        for (int j = 0; j < 16; j++) {
            const int q0 = GAZE_MIN(15, (int)(int8_t)((x[j] - mn) * id + 0.5f));
            const int q1 = GAZE_MIN(15, (int)(int8_t)((x[j + 16] - mn) * id + 0.5f));
            y[b].qs[j] = (uint8_t)(q0 | q1 << 4);
        }
    }
}

static void qnt_q5_0(const float * x, void * vy, int64_t n) {
    struct block_q5_0 * y = vy;
    for (int64_t b = 0; b < n / QK32; b++, x += QK32) {
        const float d = signed_absmax(x, QK32) / -16.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[b].d = quant_f32_to_f16(d);
        uint32_t h = 0;
        for (int j = 0; j < 16; j++) {
            const int q0 = GAZE_MIN(31, (int)(int8_t)(x[j] * id + 16.5f));
            const int q1 = GAZE_MIN(31, (int)(int8_t)(x[j + 16] * id + 16.5f));
            y[b].qs[j] = (uint8_t)((q0 & 0x0F) | (q1 & 0x0F) << 4);
            h |= (uint32_t)((q0 >> 4) & 1) << j | (uint32_t)((q1 >> 4) & 1) << (j + 16);
        }
        for (int k = 0; k < 4; k++) y[b].qh[k] = (uint8_t)(h >> (8 * k));
    }
}

static void qnt_q5_1(const float * x, void * vy, int64_t n) {
    struct block_q5_1 * y = vy;
    for (int64_t b = 0; b < n / QK32; b++, x += QK32) {
        float mn = INFINITY, mx = -INFINITY;
        for (int j = 0; j < QK32; j++) { mn = fminf(mn, x[j]); mx = fmaxf(mx, x[j]); }
        const float d = (mx - mn) / 31.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[b].d = quant_f32_to_f16(d);
        y[b].m = quant_f32_to_f16(mn);
        uint32_t h = 0;
        for (int j = 0; j < 16; j++) {
            const int q0 = GAZE_MIN(31, (int)(uint8_t)((x[j] - mn) * id + 0.5f));
            const int q1 = GAZE_MIN(31, (int)(uint8_t)((x[j + 16] - mn) * id + 0.5f));
            y[b].qs[j] = (uint8_t)((q0 & 0x0F) | (q1 & 0x0F) << 4);
            h |= (uint32_t)((q0 >> 4) & 1) << j | (uint32_t)((q1 >> 4) & 1) << (j + 16);
        }
        for (int k = 0; k < 4; k++) y[b].qh[k] = (uint8_t)(h >> (8 * k));
    }
}

static void qnt_q8_0(const float * x, void * vy, int64_t n) {
    struct block_q8_0 * y = vy;
    for (int64_t b = 0; b < n / QK32; b++, x += QK32) {
        float amax = 0.0f;
        for (int j = 0; j < QK32; j++) amax = fmaxf(amax, fabsf(x[j]));
        const float d = amax / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[b].d = quant_f32_to_f16(d);
        for (int j = 0; j < QK32; j++) y[b].qs[j] = (int8_t)roundf(x[j] * id);
    }
}

static void qnt_q8_1(const float * x, void * vy, int64_t n) {
    struct block_q8_1 * y = vy;
    for (int64_t b = 0; b < n / QK32; b++, x += QK32) {
        float amax = 0.0f;
        for (int j = 0; j < QK32; j++) amax = fmaxf(amax, fabsf(x[j]));
        const float d = amax / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        int sum = 0;
        y[b].d = quant_f32_to_f16(d);
        for (int j = 0; j < QK32; j++) { y[b].qs[j] = (int8_t)roundf(x[j] * id); sum += y[b].qs[j]; }
        y[b].s = quant_f32_to_f16((float)sum * d);
    }
}

// Q4_K / Q5_K: per 32-element sub-block an affine range [min(0, lo), hi] on nmax steps (15 or
// 31); the sub-block scales and mins are themselves quantized to 6 bits against the
// super-block's d and dmin. Simpler than ggml's iterative search, same format; used for
// round-trip tests only. Fills d, dmin, the 12 scale bytes and the codes L[256].
static void qnt_k_affine(const float * x, int nmax, uint16_t * dd, uint16_t * dm, uint8_t scales[12],
                         uint8_t L[QK_K]) {
    float scale[8], mins[8], max_scale = 0.0f, max_min = 0.0f;
    for (int j = 0; j < 8; j++) {
        float lo = 0.0f, hi = -INFINITY;
        for (int l = 0; l < 32; l++) { lo = fminf(lo, x[32 * j + l]); hi = fmaxf(hi, x[32 * j + l]); }
        scale[j] = (hi - lo) / (float)nmax;
        mins[j] = -lo;
        max_scale = fmaxf(max_scale, scale[j]);
        max_min = fmaxf(max_min, mins[j]);
    }
    const float d = max_scale / 63.0f, dmin = max_min / 63.0f;
    *dd = quant_f32_to_f16(d);
    *dm = quant_f32_to_f16(dmin);
    const float dq = H2F(*dd), dmq = H2F(*dm);
    uint8_t ls[8], lm[8];
    for (int j = 0; j < 8; j++) {
        ls[j] = (uint8_t)GAZE_MIN(63, dq > 0 ? (int)lrintf(scale[j] / dq) : 0);
        lm[j] = (uint8_t)GAZE_MIN(63, dmq > 0 ? (int)lrintf(mins[j] / dmq) : 0);
    }
    memset(scales, 0, 12);
    for (int j = 0; j < 8; j++) {   // inverse of q4k_scale_min
        if (j < 4) {
            scales[j] |= ls[j];
            scales[j + 4] |= lm[j];
        } else {
            scales[j + 4] = (uint8_t)((ls[j] & 0x0F) | (lm[j] & 0x0F) << 4);
            scales[j - 4] |= (uint8_t)((ls[j] >> 4) << 6);
            scales[j] |= (uint8_t)((lm[j] >> 4) << 6);
        }
    }
    for (int j = 0; j < 8; j++) {
        const float sd = dq * (float)ls[j], sm = dmq * (float)lm[j];
        for (int l = 0; l < 32; l++) {
            int q = sd > 0 ? (int)lrintf((x[32 * j + l] + sm) / sd) : 0;
            L[32 * j + l] = (uint8_t)GAZE_MAX(0, GAZE_MIN(nmax, q));
        }
    }
}

static void qnt_q4_k(const float * x, void * vy, int64_t n) {
    struct block_q4_k * y = vy;
    for (int64_t b = 0; b < n / QK_K; b++, x += QK_K) {
        uint8_t L[QK_K];
        qnt_k_affine(x, 15, &y[b].d, &y[b].dmin, y[b].scales, L);
        for (int c = 0; c < 4; c++)
            for (int l = 0; l < 32; l++)
                y[b].qs[32 * c + l] = (uint8_t)(L[64 * c + l] | L[64 * c + 32 + l] << 4);
    }
}

static void qnt_q5_k(const float * x, void * vy, int64_t n) {
    struct block_q5_k * y = vy;
    for (int64_t b = 0; b < n / QK_K; b++, x += QK_K) {
        uint8_t L[QK_K];
        qnt_k_affine(x, 31, &y[b].d, &y[b].dmin, y[b].scales, L);
        memset(y[b].qh, 0, sizeof y[b].qh);
        for (int c = 0; c < 4; c++)
            for (int l = 0; l < 32; l++) {
                const int q0 = L[64 * c + l], q1 = L[64 * c + 32 + l];
                y[b].qs[32 * c + l] = (uint8_t)((q0 & 0x0F) | (q1 & 0x0F) << 4);
                y[b].qh[l] |= (uint8_t)((q0 >> 4) << (2 * c) | (q1 >> 4) << (2 * c + 1));
            }
    }
}

// Q6_K: per 16-element sub-block a symmetric scale on codes -32..31 (signed absmax / -32, as
// Q4_0), scales quantized to int8 against d. Inverse of deq_q6_k's bit layout.
static void qnt_q6_k(const float * x, void * vy, int64_t n) {
    struct block_q6_k * y = vy;
    for (int64_t b = 0; b < n / QK_K; b++, x += QK_K) {
        float scale[16], amax = 0.0f, smax = 0.0f;
        for (int j = 0; j < 16; j++) {
            scale[j] = signed_absmax(x + 16 * j, 16) / -32.0f;
            if (fabsf(scale[j]) > amax) { amax = fabsf(scale[j]); smax = scale[j]; }
        }
        const float d = smax / -128.0f;
        y[b].d = quant_f32_to_f16(d);
        const float dq = H2F(y[b].d);
        int8_t L[QK_K];
        for (int j = 0; j < 16; j++) {
            int s = dq != 0 ? (int)lrintf(scale[j] / dq) : 0;
            s = GAZE_MAX(-128, GAZE_MIN(127, s));
            y[b].scales[j] = (int8_t)s;
            const float sd = dq * (float)s;
            for (int l = 0; l < 16; l++) {
                int q = sd != 0 ? (int)lrintf(x[16 * j + l] / sd) : 0;
                L[16 * j + l] = (int8_t)GAZE_MAX(-32, GAZE_MIN(31, q));
            }
        }
        uint8_t * ql = y[b].ql;
        uint8_t * qh = y[b].qh;
        for (int half = 0; half < 2; half++, ql += 64, qh += 32) {
            const int8_t * Lh = L + 128 * half;
            for (int l = 0; l < 32; l++) {
                const int q1 = Lh[l] + 32, q2 = Lh[l + 32] + 32, q3 = Lh[l + 64] + 32, q4 = Lh[l + 96] + 32;
                ql[l]      = (uint8_t)((q1 & 0x0F) | (q3 & 0x0F) << 4);
                ql[l + 32] = (uint8_t)((q2 & 0x0F) | (q4 & 0x0F) << 4);
                qh[l] = (uint8_t)((q1 >> 4) | (q2 >> 4) << 2 | (q3 >> 4) << 4 | (q4 >> 4) << 6);
            }
        }
    }
}

static void qnt_q8_k(const float * x, void * vy, int64_t n) { quant_act_row_q8k(x, n, vy); }

// ---- the table ----------------------------------------------------------------------------------

#define T_(code, nm, bl, sz, sup, tf, ff) [code] = { nm, bl, sz, sup, tf, ff }
static const struct quant_traits g_traits[QUANT_TYPE_CODES] = {
    T_(0,  "F32",     1,   4,   true,  deq_f32,  qnt_f32),
    T_(1,  "F16",     1,   2,   true,  deq_f16,  qnt_f16),
    T_(2,  "Q4_0",    32,  18,  true,  deq_q4_0, qnt_q4_0),
    T_(3,  "Q4_1",    32,  20,  true,  deq_q4_1, qnt_q4_1),
    T_(6,  "Q5_0",    32,  22,  true,  deq_q5_0, qnt_q5_0),
    T_(7,  "Q5_1",    32,  24,  true,  deq_q5_1, qnt_q5_1),
    T_(8,  "Q8_0",    32,  34,  true,  deq_q8_0, qnt_q8_0),
    T_(9,  "Q8_1",    32,  36,  true,  deq_q8_1, qnt_q8_1),
    T_(10, "Q2_K",    256, 84,  false, NULL, NULL),
    T_(11, "Q3_K",    256, 110, false, NULL, NULL),
    T_(12, "Q4_K",    256, 144, true,  deq_q4_k, qnt_q4_k),
    T_(13, "Q5_K",    256, 176, true,  deq_q5_k, qnt_q5_k),
    T_(14, "Q6_K",    256, 210, true,  deq_q6_k, qnt_q6_k),
    T_(15, "Q8_K",    256, 292, true,  deq_q8_k, qnt_q8_k),
    T_(16, "IQ2_XXS", 256, 66,  false, NULL, NULL),
    T_(17, "IQ2_XS",  256, 74,  false, NULL, NULL),
    T_(18, "IQ3_XXS", 256, 98,  false, NULL, NULL),
    T_(19, "IQ1_S",   256, 50,  false, NULL, NULL),
    T_(20, "IQ4_NL",  32,  18,  false, NULL, NULL),
    T_(21, "IQ3_S",   256, 110, false, NULL, NULL),
    T_(22, "IQ2_S",   256, 82,  false, NULL, NULL),
    T_(23, "IQ4_XS",  256, 136, false, NULL, NULL),
    T_(24, "I8",      1,   1,   false, NULL, NULL),
    T_(25, "I16",     1,   2,   false, NULL, NULL),
    T_(26, "I32",     1,   4,   false, NULL, NULL),
    T_(27, "I64",     1,   8,   false, NULL, NULL),
    T_(28, "F64",     1,   8,   false, NULL, NULL),
    T_(29, "IQ1_M",   256, 56,  false, NULL, NULL),
    T_(30, "BF16",    1,   2,   true,  deq_bf16, qnt_bf16),
    T_(34, "TQ1_0",   256, 54,  false, NULL, NULL),
    T_(35, "TQ2_0",   256, 66,  false, NULL, NULL),
    T_(39, "MXFP4",   32,  17,  false, NULL, NULL),
    T_(40, "NVFP4",   64,  36,  false, NULL, NULL),
    T_(41, "Q1_0",    128, 18,  false, NULL, NULL),
};
#undef T_

const struct quant_traits * quant_traits_get(int64_t code) {
    if (code < 0 || code >= QUANT_TYPE_CODES || !g_traits[code].name) return NULL;
    return &g_traits[code];
}

// ---- public type helpers --------------------------------------------------------------------------

const char * gaze_type_name(enum gaze_type type) {
    const struct quant_traits * t = quant_traits_get((int64_t)type);
    return t ? t->name : "unknown";
}

int64_t gaze_type_block_size(enum gaze_type type) {
    const struct quant_traits * t = quant_traits_get((int64_t)type);
    return t ? t->blck : 0;
}

size_t gaze_type_block_bytes(enum gaze_type type) {
    const struct quant_traits * t = quant_traits_get((int64_t)type);
    return t ? t->size : 0;
}

bool gaze_type_supported(enum gaze_type type) {
    const struct quant_traits * t = quant_traits_get((int64_t)type);
    return t && t->supported;
}

size_t gaze_type_row_bytes(enum gaze_type type, int64_t n) {
    const struct quant_traits * t = quant_traits_get((int64_t)type);
    size_t r;
    if (!t || n < 0 || n % t->blck != 0 || gaze_mul_ovf((size_t)(n / t->blck), t->size, &r)) return 0;
    return r;
}

static enum gaze_status check_conv(enum gaze_type type, int64_t n, bool to_float,
                                   const struct quant_traits ** out) {
    const struct quant_traits * t = quant_traits_get((int64_t)type);
    if (!t) return gaze_error(GAZE_ERR_INVALID_ARG, "unknown tensor type %d", (int)type);
    if (!t->supported || !(to_float ? (void *)t->to_float : (void *)t->from_float))
        return gaze_error(GAZE_ERR_UNSUPPORTED, "tensor type %s is not supported", t->name);
    if (n < 0 || n % t->blck != 0)
        return gaze_error(GAZE_ERR_INVALID_ARG, "%s: element count %lld is not a multiple of the block size %lld",
                          t->name, (long long)n, (long long)t->blck);
    *out = t;
    return GAZE_OK;
}

enum gaze_status gaze_dequantize(enum gaze_type type, const void * src, float * dst, int64_t n) {
    const struct quant_traits * t;
    enum gaze_status st = check_conv(type, n, true, &t);
    if (st) return st;
    if (n > 0 && (!src || !dst)) return gaze_error(GAZE_ERR_INVALID_ARG, "gaze_dequantize: NULL buffer");
    if (n > 0) t->to_float(src, dst, n);
    return GAZE_OK;
}

enum gaze_status gaze_quantize(enum gaze_type type, const float * src, void * dst, int64_t n) {
    const struct quant_traits * t;
    enum gaze_status st = check_conv(type, n, false, &t);
    if (st) return st;
    if (n > 0 && (!src || !dst)) return gaze_error(GAZE_ERR_INVALID_ARG, "gaze_quantize: NULL buffer");
    if (n > 0) t->from_float(src, dst, n);
    return GAZE_OK;
}

// ---- activation quantization -------------------------------------------------------------------

void quant_act_row_q8(const float * x, int64_t n, int8_t * qs, float * d, float * s) {
    for (int64_t b = 0; b < n / QK32; b++, x += QK32, qs += QK32) {
        float amax = 0.0f;
        bool finite = true;
        for (int j = 0; j < QK32; j++) {
            finite &= isfinite(x[j]) != 0;
            amax = fmaxf(amax, fabsf(x[j]));
        }
        if (!finite) {   // NaN/Inf input: NaN output rather than a silently wrong finite value
            memset(qs, 0, QK32);
            d[b] = s[b] = NAN;
            continue;
        }
        const float db = amax / 127.0f;
        const float id = db != 0.0f ? 1.0f / db : 0.0f;
        int sum = 0;
        for (int j = 0; j < QK32; j++) {
            const int q = (int)lrintf(x[j] * id);
            qs[j] = (int8_t)q;
            sum += q;
        }
        d[b] = db;
        s[b] = db * (float)sum;
    }
}

void quant_act_row_q8k(const float * x, int64_t n, struct block_q8_k * y) {
    for (int64_t b = 0; b < n / QK_K; b++, x += QK_K) {
        float amax = 0.0f, max = 0.0f;
        bool finite = true;
        for (int j = 0; j < QK_K; j++) {
            finite &= isfinite(x[j]) != 0;
            if (fabsf(x[j]) > amax) { amax = fabsf(x[j]); max = x[j]; }
        }
        if (!finite || amax == 0.0f) {
            y[b].d = finite ? 0.0f : NAN;
            memset(y[b].qs, 0, QK_K);
            memset(y[b].bsums, 0, sizeof y[b].bsums);
            continue;
        }
        const float iscale = -127.0f / max;   // the signed extreme maps to ∓127 exactly
        for (int j = 0; j < QK_K; j++) {
            const int v = (int)lrintf(iscale * x[j]);
            y[b].qs[j] = (int8_t)GAZE_MAX(-127, GAZE_MIN(127, v));
        }
        for (int j = 0; j < QK_K / 16; j++) {
            int sum = 0;
            for (int l = 0; l < 16; l++) sum += y[b].qs[16 * j + l];
            y[b].bsums[j] = (int16_t)sum;
        }
        y[b].d = 1.0f / iscale;
    }
}

static bool is_k_type(enum gaze_type t) {
    return t == GAZE_TYPE_Q4_K || t == GAZE_TYPE_Q5_K || t == GAZE_TYPE_Q6_K;
}
static bool is_float_type(enum gaze_type t) {
    return t == GAZE_TYPE_F32 || t == GAZE_TYPE_F16 || t == GAZE_TYPE_BF16;
}
static bool is_q32_type(enum gaze_type t) {
    return t == GAZE_TYPE_Q4_0 || t == GAZE_TYPE_Q4_1 || t == GAZE_TYPE_Q5_0 ||
           t == GAZE_TYPE_Q5_1 || t == GAZE_TYPE_Q8_0;
}

static size_t round64(size_t n) { return (n + 63) & ~(size_t)63; }

size_t quant_act_bytes(enum gaze_type type, int64_t T, int64_t n_in) {
    if (T <= 0 || n_in <= 0) return 0;
    if (is_float_type(type)) return 0;
    if (is_k_type(type)) return round64((size_t)T * (size_t)(n_in / QK_K) * sizeof(struct block_q8_k));
    const size_t ld = round64((size_t)n_in), nb = (size_t)(n_in / QK32);
    return round64((size_t)T * ld) + 2 * round64((size_t)T * nb * sizeof(float));
}

bool quant_act_init(struct quant_act * act, enum gaze_type type, const float * x,
                    int64_t T, int64_t n_in, void * mem, int n_threads) {
    memset(act, 0, sizeof *act);
    act->T = T;
    act->n_in = n_in;
    act->nb = n_in / QK32;
    if (is_float_type(type)) { act->f = (float *)x; return true; }
    uint8_t * p = mem;
    if (is_k_type(type)) {
        act->k = (struct block_q8_k *)p;
        const int64_t nbk = n_in / QK_K;
        void (*kfn)(const float *, int64_t, struct block_q8_k *) =
            gaze_isa_active() >= GAZE_ISA_AVX2 ? quant_act_row_q8k_avx2 : quant_act_row_q8k;
        #pragma omp parallel for num_threads(n_threads) if (T >= 16) schedule(static)
        for (int64_t t = 0; t < T; t++) kfn(x + t * n_in, n_in, act->k + t * nbk);
        return true;
    }
    if (!is_q32_type(type)) return false;
    act->ld_qs = (int64_t)round64((size_t)n_in);
    act->qs = (int8_t *)p;
    p += round64((size_t)T * (size_t)act->ld_qs);
    act->d = (float *)p;
    p += round64((size_t)T * (size_t)act->nb * sizeof(float));
    act->s = (float *)p;
    void (*row_fn)(const float *, int64_t, int8_t *, float *, float *) = quant_act_row_q8;
    if (gaze_isa_active() >= GAZE_ISA_AVX512 && quant_avx512_usable()) row_fn = quant_act_row_q8_avx512;
    else if (gaze_isa_active() >= GAZE_ISA_AVX2) row_fn = quant_act_row_q8_avx2;
    #pragma omp parallel for num_threads(n_threads) if (T >= 16) schedule(static)
    for (int64_t t = 0; t < T; t++)
        row_fn(x + t * n_in, n_in, act->qs + t * act->ld_qs, act->d + t * act->nb, act->s + t * act->nb);
    return true;
}

// ---- scalar reference dots -----------------------------------------------------------------------

// Unsigned codes u[32] of one 32-block in element order and its (d, m') pair so that
// w[j] = d·u[j] + m'  (m' folds the type's offset: -8d, -16d, -128d or the block min).
static void q32_block_codes(const void * w, enum gaze_type type, int64_t b, uint8_t u[32],
                            float * d, float * m) {
    switch (type) {
    case GAZE_TYPE_Q4_0: {
        const struct block_q4_0 * x = (const struct block_q4_0 *)w + b;
        for (int j = 0; j < 16; j++) { u[j] = x->qs[j] & 0x0F; u[j + 16] = x->qs[j] >> 4; }
        *d = H2F(x->d); *m = -8.0f * *d;
        break;
    }
    case GAZE_TYPE_Q4_1: {
        const struct block_q4_1 * x = (const struct block_q4_1 *)w + b;
        for (int j = 0; j < 16; j++) { u[j] = x->qs[j] & 0x0F; u[j + 16] = x->qs[j] >> 4; }
        *d = H2F(x->d); *m = H2F(x->m);
        break;
    }
    case GAZE_TYPE_Q5_0: {
        const struct block_q5_0 * x = (const struct block_q5_0 *)w + b;
        const uint32_t h = le32(x->qh);
        for (int j = 0; j < 16; j++) {
            u[j]      = (uint8_t)((x->qs[j] & 0x0F) | ((h >> j) & 1) << 4);
            u[j + 16] = (uint8_t)((x->qs[j] >> 4) | ((h >> (j + 16)) & 1) << 4);
        }
        *d = H2F(x->d); *m = -16.0f * *d;
        break;
    }
    case GAZE_TYPE_Q5_1: {
        const struct block_q5_1 * x = (const struct block_q5_1 *)w + b;
        const uint32_t h = le32(x->qh);
        for (int j = 0; j < 16; j++) {
            u[j]      = (uint8_t)((x->qs[j] & 0x0F) | ((h >> j) & 1) << 4);
            u[j + 16] = (uint8_t)((x->qs[j] >> 4) | ((h >> (j + 16)) & 1) << 4);
        }
        *d = H2F(x->d); *m = H2F(x->m);
        break;
    }
    case GAZE_TYPE_Q8_0: {
        const struct block_q8_0 * x = (const struct block_q8_0 *)w + b;
        for (int j = 0; j < 32; j++) u[j] = (uint8_t)(x->qs[j] + 128);
        *d = H2F(x->d); *m = -128.0f * *d;
        break;
    }
    default:
        GAZE_ASSERT(0);
    }
}

static float dot_q4k_q8k(const struct block_q4_k * x, const struct block_q8_k * y, int64_t nb) {
    float sum = 0.0f;
    for (int64_t b = 0; b < nb; b++) {
        int32_t sumi = 0, summ = 0;
        for (int c = 0; c < 4; c++) {
            int sc1, mn1, sc2, mn2;
            q4k_scale_min(2 * c, x[b].scales, &sc1, &mn1);
            q4k_scale_min(2 * c + 1, x[b].scales, &sc2, &mn2);
            int32_t i1 = 0, i2 = 0;
            for (int l = 0; l < 32; l++) {
                i1 += (x[b].qs[32 * c + l] & 0x0F) * y[b].qs[64 * c + l];
                i2 += (x[b].qs[32 * c + l] >> 4) * y[b].qs[64 * c + 32 + l];
            }
            sumi += sc1 * i1 + sc2 * i2;
            summ += mn1 * (y[b].bsums[4 * c] + y[b].bsums[4 * c + 1]) +
                    mn2 * (y[b].bsums[4 * c + 2] + y[b].bsums[4 * c + 3]);
        }
        sum += H2F(x[b].d) * y[b].d * (float)sumi - H2F(x[b].dmin) * y[b].d * (float)summ;
    }
    return sum;
}

// Q5_K: dot_q4k_q8k with 5-bit codes (the same sums, the same operation order).
static float dot_q5k_q8k(const struct block_q5_k * x, const struct block_q8_k * y, int64_t nb) {
    float sum = 0.0f;
    for (int64_t b = 0; b < nb; b++) {
        int32_t sumi = 0, summ = 0;
        for (int c = 0; c < 4; c++) {
            int sc1, mn1, sc2, mn2;
            q4k_scale_min(2 * c, x[b].scales, &sc1, &mn1);
            q4k_scale_min(2 * c + 1, x[b].scales, &sc2, &mn2);
            int32_t i1 = 0, i2 = 0;
            for (int l = 0; l < 32; l++) {
                const int u1 = (x[b].qs[32 * c + l] & 0x0F) | ((x[b].qh[l] >> (2 * c)) & 1) << 4;
                const int u2 = (x[b].qs[32 * c + l] >> 4) | ((x[b].qh[l] >> (2 * c + 1)) & 1) << 4;
                i1 += u1 * y[b].qs[64 * c + l];
                i2 += u2 * y[b].qs[64 * c + 32 + l];
            }
            sumi += sc1 * i1 + sc2 * i2;
            summ += mn1 * (y[b].bsums[4 * c] + y[b].bsums[4 * c + 1]) +
                    mn2 * (y[b].bsums[4 * c + 2] + y[b].bsums[4 * c + 3]);
        }
        sum += H2F(x[b].d) * y[b].d * (float)sumi - H2F(x[b].dmin) * y[b].d * (float)summ;
    }
    return sum;
}

static float dot_q6k_q8k(const struct block_q6_k * x, const struct block_q8_k * y, int64_t nb) {
    float sum = 0.0f;
    for (int64_t b = 0; b < nb; b++) {
        int8_t q[QK_K];
        const uint8_t * ql = x[b].ql;
        const uint8_t * qh = x[b].qh;
        for (int half = 0; half < 2; half++, ql += 64, qh += 32) {
            int8_t * o = q + 128 * half;
            for (int l = 0; l < 32; l++) {
                o[l]      = (int8_t)(((ql[l] & 0x0F) | ((qh[l] >> 0) & 3) << 4) - 32);
                o[l + 32] = (int8_t)(((ql[l + 32] & 0x0F) | ((qh[l] >> 2) & 3) << 4) - 32);
                o[l + 64] = (int8_t)(((ql[l] >> 4) | ((qh[l] >> 4) & 3) << 4) - 32);
                o[l + 96] = (int8_t)(((ql[l + 32] >> 4) | ((qh[l] >> 6) & 3) << 4) - 32);
            }
        }
        int32_t sumi = 0;
        for (int g = 0; g < 16; g++) {
            int32_t s = 0;
            for (int l = 0; l < 16; l++) s += q[16 * g + l] * y[b].qs[16 * g + l];
            sumi += x[b].scales[g] * s;
        }
        sum += H2F(x[b].d) * y[b].d * (float)sumi;
    }
    return sum;
}

float quant_q32_block_dot(const void * w, enum gaze_type type, int64_t b, const int8_t * xq,
                          float xd, float xs) {
    uint8_t u[32];
    float d, m;
    q32_block_codes(w, type, b, u, &d, &m);
    int32_t isum = 0;
    for (int j = 0; j < 32; j++) isum += u[j] * xq[j];
    return d * xd * (float)isum + m * xs;
}

float quant_dot_row_ref(const void * w, enum gaze_type type, const struct quant_act * act,
                        int64_t t) {
    const int64_t n_in = act->n_in;
    if (is_float_type(type)) {
        const float * x = act->f + t * n_in;
        float sum = 0.0f;
        if (type == GAZE_TYPE_F32) {
            const float * wf = w;
            for (int64_t i = 0; i < n_in; i++) sum += wf[i] * x[i];
        } else {
            const uint8_t * wb = w;
            for (int64_t i = 0; i < n_in; i++) {
                uint16_t h;
                memcpy(&h, wb + 2 * i, 2);
                sum += (type == GAZE_TYPE_F16 ? H2F(h) : quant_bf16_to_f32(h)) * x[i];
            }
        }
        return sum;
    }
    if (type == GAZE_TYPE_Q4_K) return dot_q4k_q8k(w, act->k + t * (n_in / QK_K), n_in / QK_K);
    if (type == GAZE_TYPE_Q5_K) return dot_q5k_q8k(w, act->k + t * (n_in / QK_K), n_in / QK_K);
    if (type == GAZE_TYPE_Q6_K) return dot_q6k_q8k(w, act->k + t * (n_in / QK_K), n_in / QK_K);
    const int8_t * xq = act->qs + t * act->ld_qs;
    const float * xd = act->d + t * act->nb;
    const float * xs = act->s + t * act->nb;
    float sum = 0.0f;
    for (int64_t b = 0; b < act->nb; b++) sum += quant_q32_block_dot(w, type, b, xq + 32 * b, xd[b], xs[b]);
    return sum;
}

bool quant_rows_scalar(const void * w, enum gaze_type type, int64_t n_in,
                       const struct quant_act * act, float * y, int64_t ldy,
                       int64_t r0, int64_t r1) {
    const size_t row_bytes = gaze_type_row_bytes(type, n_in);
    for (int64_t r = r0; r < r1; r++) {
        const void * wr = (const uint8_t *)w + (size_t)r * row_bytes;
        for (int64_t t = 0; t < act->T; t++) y[t * ldy + r] = quant_dot_row_ref(wr, type, act, t);
    }
    return true;
}

// ---- driver ---------------------------------------------------------------------------------------

// Grow-only per-thread scratch (slot 0: quantized activations, slot 1: a packed weight group):
// no allocation once warmed up.
// Freed when its thread exits (a pthread key's destructor), as gemm.c's: a model run from
// many short-lived threads would otherwise leak one scratch per thread.
static _Thread_local void * g_scratch[2];
static _Thread_local size_t g_scratch_size[2];
static pthread_key_t  g_scratch_key;
static bool           g_scratch_key_ok;
static pthread_once_t g_scratch_once = PTHREAD_ONCE_INIT;

static void scratch_release(void * unused) {
    (void)unused;
    for (int i = 0; i < 2; i++) { gaze_free_aligned(g_scratch[i]); g_scratch[i] = NULL; g_scratch_size[i] = 0; }
}

static void scratch_key_init(void) { g_scratch_key_ok = pthread_key_create(&g_scratch_key, scratch_release) == 0; }

static void * scratch_get(int slot, size_t n) {
    if (n <= g_scratch_size[slot]) return g_scratch[slot];
    void * p = gaze_alloc_aligned(n);
    if (!p) return NULL;
    gaze_free_aligned(g_scratch[slot]);
    g_scratch[slot] = p;
    g_scratch_size[slot] = n;
    pthread_once(&g_scratch_once, scratch_key_init);
    if (g_scratch_key_ok) pthread_setspecific(g_scratch_key, g_scratch);   // any non-NULL value: the destructor runs
    return p;
}

typedef bool (*rows_fn)(const void *, enum gaze_type, int64_t, const struct quant_act *,
                        float *, int64_t, int64_t, int64_t);

static bool packed_kernel_active(void) {
    return gaze_isa_active() >= GAZE_ISA_AVX512 && quant_avx512_usable();
}

// The packed layout the active ISA uses (AVX-512 VNNI, else AVX2), and per kind: the bytes of
// a 16-row × 32-input block group of `type` (0: not packed by this kind), the packing of one
// group and the kernel over groups.
static int pack_kind(void) {
    if (packed_kernel_active()) return QUANT_PACK_AVX512;
    return gaze_isa_active() >= GAZE_ISA_AVX2 ? QUANT_PACK_AVX2 : QUANT_PACK_NONE;
}

static size_t kind_blk_bytes(int kind, enum gaze_type type) {
    if (kind == QUANT_PACK_AVX512) return quant_pack_blk_bytes(type);
    if (kind == QUANT_PACK_AVX2) return quant_pack_avx2_blk_bytes(type);
    return 0;
}

static void kind_pack_group(int kind, const void * w, enum gaze_type t, int64_t n_out, int64_t n_in,
                            int64_t g, uint8_t * dst) {
    if (kind == QUANT_PACK_AVX512) quant_pack_group_avx512(w, t, n_out, n_in, g, dst);
    else quant_pack_group_avx2(w, t, n_out, n_in, g, dst);
}

static void kind_packed_rows(int kind, const uint8_t * pk, size_t gbytes, enum gaze_type type,
                             const struct quant_act * act, float * y, int64_t ldy, int64_t g0, int64_t g1,
                             int64_t n_out) {
    if (kind == QUANT_PACK_AVX512) quant_packed_rows_avx512(pk, gbytes, type, act, y, ldy, g0, g1, n_out);
    else quant_packed_rows_avx2(pk, gbytes, type, act, y, ldy, g0, g1, n_out);
}

// Prompts repack each 16-row group on the fly (the packed kernel needs far fewer instructions
// per product) once there are enough tokens to amortise the packing.
#define ONTHEFLY_MIN_T 3

static enum gaze_status check_linear(enum gaze_type type, int64_t n_out, int64_t n_in, int64_t T,
                                     const struct quant_traits ** out) {
    const struct quant_traits * tr = quant_traits_get((int64_t)type);
    if (!tr) return gaze_error(GAZE_ERR_INVALID_ARG, "quant linear: unknown weight type %d", (int)type);
    if (!tr->supported || type == GAZE_TYPE_Q8_1 || type == GAZE_TYPE_Q8_K)
        return gaze_error(GAZE_ERR_UNSUPPORTED, "quant linear: weight type %s has no product", tr->name);
    if (n_out < 0 || n_in < 0 || T < 0)
        return gaze_error(GAZE_ERR_INVALID_ARG, "quant linear: negative shape n_out=%lld n_in=%lld T=%lld",
                          (long long)n_out, (long long)n_in, (long long)T);
    if (n_in % tr->blck != 0)
        return gaze_error(GAZE_ERR_INVALID_ARG, "quant linear: n_in %lld is not a multiple of the %s block size %lld",
                          (long long)n_in, tr->name, (long long)tr->blck);
    size_t chk;
    if (gaze_mul_ovf((size_t)T, (size_t)n_in, &chk) || gaze_mul_ovf((size_t)T, (size_t)n_out, &chk) ||
        gaze_mul_ovf((size_t)n_out, gaze_type_row_bytes(type, n_in), &chk) || chk > ((size_t)1 << 50))
        return gaze_error(GAZE_ERR_INVALID_ARG, "quant linear: shape too large");
    *out = tr;
    return GAZE_OK;
}

// ---- K-quants on AVX2 CPUs: 8-row groups packed at load (quant_k_avx2.c) ------------------------
// Chosen by gaze_quant_pack_init where the AVX-512 layout is not (no AVX-512 VNNI/VBMI, or the
// ISA lowered to AVX2); p->kind records it, so packed data is only read by its own kernel.

static bool k8_layout_wanted(enum gaze_type type) {
    return is_k_type(type) && !packed_kernel_active() && gaze_isa_active() >= GAZE_ISA_AVX2;
}

static enum gaze_status k8_pack_init(struct gaze_quant_packed * p) {
    const int64_t groups = (p->n_out + 7) / 8;
    size_t total;
    if (gaze_mul_ovf(quant_k_pack8_sb_bytes(p->type), (size_t)(p->n_in / QK_K), &p->group_bytes) ||
        gaze_mul_ovf(p->group_bytes, (size_t)groups, &total))
        return gaze_error(GAZE_ERR_INVALID_ARG, "quant pack: shape too large");
    p->data = gaze_alloc_large(total);
    if (!p->data) return GAZE_ERR_NOMEM;
    p->kind = QUANT_PACK_AVX2_K8;
    #pragma omp parallel for schedule(static) if (groups >= 8)
    for (int64_t g = 0; g < groups; g++)
        quant_k_pack8_group_avx2(p->raw, p->type, p->n_out, p->n_in, g, p->data + (size_t)g * p->group_bytes);
    return GAZE_OK;
}

// As linear_run on the 8-row groups: threads split rows in whole 16-row units as there.
static enum gaze_status k8_linear_run(const struct gaze_quant_packed * p, const float * x, int64_t T,
                                      float * y, int n_threads) {
    const int64_t n_out = p->n_out, n_in = p->n_in;
    if (n_threads <= 0) n_threads = gaze_default_threads();
    const double work = (double)n_out * (double)n_in * (double)T;
    int nt = work < 1.5e5 ? 1 : n_threads;
    if (nt > (n_out + 15) / 16) nt = (int)GAZE_MAX(1, (n_out + 15) / 16);
    struct quant_act act;
    void * mem = scratch_get(0, quant_act_bytes(p->type, T, n_in));
    if (!mem) return GAZE_ERR_NOMEM;
    quant_act_init(&act, p->type, x, T, n_in, mem, nt);
    #pragma omp parallel num_threads(nt) if (nt > 1)
    {
        const int tid = omp_get_thread_num(), ntt = omp_get_num_threads();
        const int64_t groups = (n_out + 15) / 16;
        const int64_t g0 = 2 * (groups * tid / ntt), g1 = GAZE_MIN((n_out + 7) / 8, 2 * (groups * (tid + 1) / ntt));
        if (g1 > g0)
            quant_k_packed8_rows_avx2(p->data + (size_t)g0 * p->group_bytes, p->group_bytes, p->type, &act, y, n_out,
                                      g0, g1, n_out);
    }
    return GAZE_OK;
}

// The product on raw blocks (raw) or pre-packed groups (packed, group stride gbytes).
static enum gaze_status linear_run(const void * raw, const uint8_t * packed, size_t gbytes,
                                   enum gaze_type type, int64_t n_out, int64_t n_in,
                                   const float * x, int64_t T, float * y, int n_threads) {
    if (n_in == 0) {
        for (int64_t i = 0; i < T * n_out; i++) y[i] = 0.0f;
        return GAZE_OK;
    }
    if (n_threads <= 0) n_threads = gaze_default_threads();
    // Small products do not pay for a parallel region.
    const double work = (double)n_out * (double)n_in * (double)T;
    int nt = work < 1.5e5 ? 1 : n_threads;
    if (nt > (n_out + 15) / 16) nt = (int)GAZE_MAX(1, (n_out + 15) / 16);

    struct quant_act act;
    void * mem = NULL;
    const size_t need = quant_act_bytes(type, T, n_in);
    if (need > 0 && !(mem = scratch_get(0, need))) return GAZE_ERR_NOMEM;
    quant_act_init(&act, type, x, T, n_in, mem, nt);

    const int kind = pack_kind();
    const bool pk_ok = kind_blk_bytes(kind, type) > 0;
    const bool use_packed = pk_ok && packed;
    const bool on_the_fly = pk_ok && !packed && T >= ONTHEFLY_MIN_T;
    const size_t fly_bytes = kind_blk_bytes(kind, type) * (size_t)(n_in / QK32);
    const enum gaze_isa isa = gaze_isa_active();
    rows_fn fns[3];
    int nf = 0;
    if (isa >= GAZE_ISA_AVX512 && quant_avx512_usable()) fns[nf++] = quant_rows_avx512;
    if (isa >= GAZE_ISA_AVX2) fns[nf++] = quant_rows_avx2;
    fns[nf++] = quant_rows_scalar;

    #pragma omp parallel num_threads(nt) if (nt > 1)
    {
        const int tid = omp_get_thread_num(), ntt = omp_get_num_threads();
        // split rows in whole 16-row groups
        const int64_t groups = (n_out + 15) / 16;
        const int64_t g0 = groups * tid / ntt, g1 = groups * (tid + 1) / ntt;
        const int64_t r0 = GAZE_MIN(n_out, g0 * 16), r1 = GAZE_MIN(n_out, g1 * 16);
        uint8_t * buf = on_the_fly ? scratch_get(1, fly_bytes) : NULL;
        if (r1 > r0) {
            if (use_packed) {
                kind_packed_rows(kind, packed + (size_t)g0 * gbytes, gbytes, type, &act, y, n_out, g0, g1, n_out);
            } else if (buf) {
                for (int64_t g = g0; g < g1; g++) {
                    kind_pack_group(kind, raw, type, n_out, n_in, g, buf);
                    kind_packed_rows(kind, buf, fly_bytes, type, &act, y, n_out, g, g + 1, n_out);
                }
            } else {
                for (int f = 0; f < nf; f++)
                    if (fns[f](raw, type, n_in, &act, y, n_out, r0, r1)) break;
            }
        }
    }
    return GAZE_OK;
}

enum gaze_status gaze_quant_linear_forward(const void * w, enum gaze_type type,
                                           int64_t n_out, int64_t n_in,
                                           const float * x, int64_t T,
                                           float * y, int n_threads) {
    const struct quant_traits * tr;
    enum gaze_status st = check_linear(type, n_out, n_in, T, &tr);
    if (st) return st;
    if (T == 0 || n_out == 0) return GAZE_OK;
    if (!w || !x || !y) return gaze_error(GAZE_ERR_INVALID_ARG, "quant linear: NULL pointer");
    return linear_run(w, NULL, 0, type, n_out, n_in, x, T, y, n_threads);
}

enum gaze_status gaze_quant_pack_init(struct gaze_quant_packed * p, const void * w,
                                      enum gaze_type type, int64_t n_out, int64_t n_in) {
    if (!p) return gaze_error(GAZE_ERR_INVALID_ARG, "quant pack: NULL");
    memset(p, 0, sizeof *p);
    const struct quant_traits * tr;
    enum gaze_status st = check_linear(type, n_out, n_in, 1, &tr);
    if (st) return st;
    if (!w && n_out > 0 && n_in > 0) return gaze_error(GAZE_ERR_INVALID_ARG, "quant pack: NULL weights");
    p->type = type;
    p->n_out = n_out;
    p->n_in = n_in;
    p->raw = w;
    if (k8_layout_wanted(type) && n_out > 0 && n_in > 0) return k8_pack_init(p);
    const int kind = pack_kind();
    const size_t bb = kind_blk_bytes(kind, type);
    if (bb == 0 || n_out == 0 || n_in == 0) return GAZE_OK;   // raw path
    const int64_t groups = (n_out + 15) / 16;
    size_t total;
    if (gaze_mul_ovf(bb, (size_t)(n_in / QK32), &p->group_bytes) ||
        gaze_mul_ovf(p->group_bytes, (size_t)groups, &total))
        return gaze_error(GAZE_ERR_INVALID_ARG, "quant pack: shape too large");
    p->data = gaze_alloc_large(total);
    if (!p->data) return GAZE_ERR_NOMEM;
    p->kind = kind;
    #pragma omp parallel for schedule(static) if (groups >= 8)
    for (int64_t g = 0; g < groups; g++)
        kind_pack_group(kind, w, type, n_out, n_in, g, p->data + (size_t)g * p->group_bytes);
    return GAZE_OK;
}

void gaze_quant_pack_free(struct gaze_quant_packed * p) {
    if (!p) return;
    gaze_free_aligned(p->data);
    memset(p, 0, sizeof *p);
}

enum gaze_status gaze_quant_linear_forward_packed(const struct gaze_quant_packed * p,
                                                  const float * x, int64_t T, float * y,
                                                  int n_threads) {
    if (!p) return gaze_error(GAZE_ERR_INVALID_ARG, "quant linear: NULL packed weights");
    const struct quant_traits * tr;
    enum gaze_status st = check_linear(p->type, p->n_out, p->n_in, T, &tr);
    if (st) return st;
    if (T == 0 || p->n_out == 0) return GAZE_OK;
    if (!x || !y) return gaze_error(GAZE_ERR_INVALID_ARG, "quant linear: NULL pointer");
    if (p->data && p->kind == QUANT_PACK_AVX2_K8 && gaze_isa_active() >= GAZE_ISA_AVX2)
        return k8_linear_run(p, x, T, y, n_threads);
    // the packed data is only valid for the kernel that made it (ISA lowered since: raw path)
    const uint8_t * pk = p->kind == pack_kind() ? p->data : NULL;
    return linear_run(p->raw, pk, p->group_bytes, p->type, p->n_out, p->n_in, x, T, y, n_threads);
}

// Several packed products of one x in one parallel region: x is quantized once per activation
// kind (Q8 32-blocks, Q8_K), and the threads split the products' 16-row groups between them,
// weighted by bytes, so a thread that finishes one product's groups goes on with the next
// without a barrier in between (q, k and v of a generated token: one fork/join instead of
// three, one activation quantization instead of three). Same per-output kernels, so the same
// bits as one call per product. K-quants in the AVX2 8-row layout join too (8-row groups, their
// own kernel on the Q8_K activations), so a K-quant q/k/v or gate/up pays one fork, not one each.
bool quant_linear_forward_packed_many(int n, const struct gaze_quant_packed * const * ps, const float * x,
                                      int64_t T, float * const * ys, int n_threads) {
    enum { MAXP = 8 };
    const int kind = pack_kind();
    if (n <= 0 || n > MAXP || T <= 0 || kind == QUANT_PACK_NONE) return false;
    const int64_t n_in = ps[0]->n_in;
    double work = 0, wsum = 0;
    double wcum[MAXP + 1] = { 0 };
    int64_t groups[MAXP];
    enum gaze_type act_type[2] = { GAZE_TYPE_F32, GAZE_TYPE_F32 };   // [0]: a 32-block type, [1]: a K type
    bool k8[MAXP];   // K-quants in the AVX2 8-row layout: their groups are 8 rows
    for (int i = 0; i < n; i++) {
        const struct gaze_quant_packed * p = ps[i];
        k8[i] = p->kind == QUANT_PACK_AVX2_K8 && gaze_isa_active() >= GAZE_ISA_AVX2;
        if (!p->data || p->n_in != n_in || p->n_out <= 0 ||
            (!k8[i] && (p->kind != kind || kind_blk_bytes(kind, p->type) == 0)))
            return false;
        act_type[is_k_type(p->type)] = p->type;
        groups[i] = k8[i] ? (p->n_out + 7) / 8 : (p->n_out + 15) / 16;
        wsum += (double)groups[i] * (double)p->group_bytes;
        wcum[i + 1] = wsum;
        work += (double)p->n_out * (double)n_in * (double)T;
    }
    if (n_threads <= 0) n_threads = gaze_default_threads();
    int nt = work < 1.5e5 ? 1 : n_threads;
    // the activations of both kinds in one scratch slot
    struct quant_act act[2];
    size_t need[2] = { 0, 0 };
    for (int k = 0; k < 2; k++)
        if (act_type[k] != GAZE_TYPE_F32) need[k] = quant_act_bytes(act_type[k], T, n_in);
    uint8_t * mem = scratch_get(0, need[0] + need[1] + 64);
    if (!mem) return false;
    for (int k = 0; k < 2; k++)
        if (need[k]) quant_act_init(&act[k], act_type[k], x, T, n_in, mem + (k ? need[0] : 0), nt);
    #pragma omp parallel num_threads(nt) if (nt > 1)
    {
        const int tid = omp_get_thread_num(), ntt = omp_get_num_threads();
        const double lo = wsum * tid / ntt, hi = wsum * (tid + 1) / ntt;
        for (int i = 0; i < n; i++) {
            if (wcum[i + 1] <= lo || wcum[i] >= hi) continue;
            const struct gaze_quant_packed * p = ps[i];
            // this thread's groups of product i: those whose start lies in [lo, hi)
            const double gb = (double)p->group_bytes;
            int64_t g0 = (int64_t)ceil((lo - wcum[i]) / gb), g1 = (int64_t)ceil((hi - wcum[i]) / gb);
            g0 = GAZE_MAX(0, GAZE_MIN(groups[i], g0));
            g1 = GAZE_MAX(0, GAZE_MIN(groups[i], g1));
            if (tid == ntt - 1) g1 = groups[i];
            if (g1 > g0 && k8[i])
                quant_k_packed8_rows_avx2(p->data + (size_t)g0 * p->group_bytes, p->group_bytes, p->type,
                                          &act[1], ys[i], p->n_out, g0, g1, p->n_out);
            else if (g1 > g0)
                kind_packed_rows(kind, p->data + (size_t)g0 * p->group_bytes, p->group_bytes, p->type,
                                 &act[is_k_type(p->type)], ys[i], p->n_out, g0, g1, p->n_out);
        }
    }
    return true;
}
