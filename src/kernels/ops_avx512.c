// AVX-512 bodies of the elementwise and row ops, with the vector exp and erf they need.
// Called only from ops.c after gaze_isa_active() reported AVX-512.
#include "kernels/gemm.h"
#include <immintrin.h>
#include <math.h>

static inline __mmask16 tail_mask(int64_t n) {   // lanes 0 .. n-1 for 0 < n < 16
    return (__mmask16)((1u << n) - 1);
}

// e^x: n = round(x·log2 e), r = x − n·ln2 (two-part ln2, exact with FMA) in [-0.35, 0.35],
// degree-7 Taylor polynomial (relative error < 6e-9), scaled by 2^n with vscalefps, which
// gives +inf above ~88.7 and 0 below ~-103.9. The clamp keeps r sane for huge |x|; its
// operand order keeps NaN (vmaxps/vminps return the second operand when either is NaN).
static inline __m512 exp_ps(__m512 x) {
    x = _mm512_min_ps(_mm512_set1_ps(88.8f), _mm512_max_ps(_mm512_set1_ps(-104.0f), x));
    const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                          _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693145751953125f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(1.428606765330187e-06f), r);
    __m512 p = _mm512_set1_ps(1.0f / 5040);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 720));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    return _mm512_scalef_ps(p, n);
}

// erf(x), max error about 1.5 ulp (2 ulp with exp_ps's error), NaN in → NaN out.
//   |x| < 1:  erf = x + x·P(x²), P of degree 7 (Chebyshev fit of erf(x)/x − 1 on [0, 1])
//   |x| >= 1: erf = ±(1 − e^Q(u)), u = (min(|x|, 4) − 2.5) / 1.5, Q of degree 9 (fit of
//             log erfc on [1, 4]; erfc(4) = 1.5e-8 already rounds 1 − erfc to 1 in f32)
// Coefficients from mpmath.chebyfit at 40 digits, rounded to f32; checked in f32 arithmetic
// against mpmath erf (max 0.81 ulp below 1, 1.54 ulp above).
static inline __m512 erf_ps(__m512 x) {
    const __m512 t = _mm512_abs_ps(x);
    const __m512 s = _mm512_mul_ps(x, x);
    __m512 p = _mm512_set1_ps(-9.667044651e-06f);
    p = _mm512_fmadd_ps(p, s, _mm512_set1_ps(1.126595889e-04f));
    p = _mm512_fmadd_ps(p, s, _mm512_set1_ps(-8.484080317e-04f));
    p = _mm512_fmadd_ps(p, s, _mm512_set1_ps(5.221031606e-03f));
    p = _mm512_fmadd_ps(p, s, _mm512_set1_ps(-2.686543018e-02f));
    p = _mm512_fmadd_ps(p, s, _mm512_set1_ps(1.128378212e-01f));
    p = _mm512_fmadd_ps(p, s, _mm512_set1_ps(-3.761263788e-01f));
    p = _mm512_fmadd_ps(p, s, _mm512_set1_ps(1.283791661e-01f));
    const __m512 small = _mm512_fmadd_ps(x, p, x);

    const __m512 tc = _mm512_min_ps(_mm512_set1_ps(4.0f), t);   // NaN stays NaN
    const __m512 u = _mm512_fmadd_ps(tc, _mm512_set1_ps(2.0f / 3), _mm512_set1_ps(-5.0f / 3));
    __m512 q = _mm512_set1_ps(-2.915037612e-06f);
    q = _mm512_fmadd_ps(q, u, _mm512_set1_ps(4.140557940e-05f));
    q = _mm512_fmadd_ps(q, u, _mm512_set1_ps(-2.208476362e-04f));
    q = _mm512_fmadd_ps(q, u, _mm512_set1_ps(8.814931498e-04f));
    q = _mm512_fmadd_ps(q, u, _mm512_set1_ps(-3.195386613e-03f));
    q = _mm512_fmadd_ps(q, u, _mm512_set1_ps(1.096117217e-02f));
    q = _mm512_fmadd_ps(q, u, _mm512_set1_ps(-3.664613143e-02f));
    q = _mm512_fmadd_ps(q, u, _mm512_set1_ps(-2.123760700e+00f));
    q = _mm512_fmadd_ps(q, u, _mm512_set1_ps(-8.029021263e+00f));
    q = _mm512_fmadd_ps(q, u, _mm512_set1_ps(-7.806815147e+00f));
    __m512 large = _mm512_sub_ps(_mm512_set1_ps(1.0f), exp_ps(q));
    const __m512 sign = _mm512_castsi512_ps(_mm512_set1_epi32((int)0x80000000u));
    large = _mm512_or_ps(large, _mm512_and_ps(x, sign));

    const __mmask16 is_small = _mm512_cmp_ps_mask(t, _mm512_set1_ps(1.0f), _CMP_LT_OQ);
    return _mm512_mask_blend_ps(is_small, large, small);
}

// torch's formula and order: (x · 0.5) · (1 + erf(x · M_SQRT1_2))
static inline __m512 gelu_ps(__m512 x) {
    const __m512 e = erf_ps(_mm512_mul_ps(x, _mm512_set1_ps(0.707106781186547524f)));
    return _mm512_mul_ps(_mm512_mul_ps(x, _mm512_set1_ps(0.5f)), _mm512_add_ps(_mm512_set1_ps(1.0f), e));
}

// x / (1 + e^-x): -inf and large negative x give -0, +inf gives +inf
static inline __m512 silu_ps(__m512 x) {
    const __m512 e = exp_ps(_mm512_sub_ps(_mm512_setzero_ps(), x));
    return _mm512_div_ps(x, _mm512_add_ps(_mm512_set1_ps(1.0f), e));
}

// tanh(u) = sign(u) · (1 − e) / (1 + e), e = e^(−2|u|) ≤ 1: no overflow for any u, NaN stays NaN.
// Absolute error a few 1e-8 (near u = 0 the quotient loses relative, not absolute, accuracy,
// which GELU multiplies by x/2).
static inline __m512 tanh_ps(__m512 u) {
    const __m512 sign = _mm512_castsi512_ps(_mm512_set1_epi32((int)0x80000000u));
    const __m512 a = _mm512_andnot_ps(sign, u);
    const __m512 e = exp_ps(_mm512_mul_ps(a, _mm512_set1_ps(-2.0f)));
    const __m512 t = _mm512_div_ps(_mm512_sub_ps(_mm512_set1_ps(1.0f), e), _mm512_add_ps(_mm512_set1_ps(1.0f), e));
    return _mm512_or_ps(t, _mm512_and_ps(u, sign));
}

// 0.5 · x · (1 + tanh(√(2/π) · (x + 0.044715 · x³))), torch's gelu(approximate="tanh")
static inline __m512 gelu_tanh_ps(__m512 x) {
    const __m512 x3 = _mm512_mul_ps(_mm512_mul_ps(x, x), x);
    const __m512 u = _mm512_mul_ps(_mm512_set1_ps(0.7978845608028654f),
                                   _mm512_fmadd_ps(x3, _mm512_set1_ps(0.044715f), x));
    return _mm512_mul_ps(_mm512_mul_ps(x, _mm512_set1_ps(0.5f)), _mm512_add_ps(_mm512_set1_ps(1.0f), tanh_ps(u)));
}

void ops_gelu_tanh_avx512(const float * x, float * y, int64_t n) {
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) _mm512_storeu_ps(y + i, gelu_tanh_ps(_mm512_loadu_ps(x + i)));
    if (i < n) {
        const __mmask16 m = tail_mask(n - i);
        _mm512_mask_storeu_ps(y + i, m, gelu_tanh_ps(_mm512_maskz_loadu_ps(m, x + i)));
    }
}

void ops_geglu_tanh_avx512(const float * gate, const float * up, float * y, int64_t n) {
    int64_t i = 0;
    for (; i + 16 <= n; i += 16)
        _mm512_storeu_ps(y + i, _mm512_mul_ps(gelu_tanh_ps(_mm512_loadu_ps(gate + i)), _mm512_loadu_ps(up + i)));
    if (i < n) {
        const __mmask16 m = tail_mask(n - i);
        _mm512_mask_storeu_ps(y + i, m, _mm512_mul_ps(gelu_tanh_ps(_mm512_maskz_loadu_ps(m, gate + i)),
                                                      _mm512_maskz_loadu_ps(m, up + i)));
    }
}

void ops_gelu_erf_avx512(const float * x, float * y, int64_t n) {
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) _mm512_storeu_ps(y + i, gelu_ps(_mm512_loadu_ps(x + i)));
    if (i < n) {
        const __mmask16 m = tail_mask(n - i);
        _mm512_mask_storeu_ps(y + i, m, gelu_ps(_mm512_maskz_loadu_ps(m, x + i)));
    }
}

void ops_silu_avx512(const float * x, float * y, int64_t n) {
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) _mm512_storeu_ps(y + i, silu_ps(_mm512_loadu_ps(x + i)));
    if (i < n) {
        const __mmask16 m = tail_mask(n - i);
        _mm512_mask_storeu_ps(y + i, m, silu_ps(_mm512_maskz_loadu_ps(m, x + i)));
    }
}

void ops_swiglu_avx512(const float * gate, const float * up, float * y, int64_t n) {
    int64_t i = 0;
    for (; i + 16 <= n; i += 16)
        _mm512_storeu_ps(y + i, _mm512_mul_ps(silu_ps(_mm512_loadu_ps(gate + i)), _mm512_loadu_ps(up + i)));
    if (i < n) {
        const __mmask16 m = tail_mask(n - i);
        _mm512_mask_storeu_ps(y + i, m, _mm512_mul_ps(silu_ps(_mm512_maskz_loadu_ps(m, gate + i)),
                                                      _mm512_maskz_loadu_ps(m, up + i)));
    }
}

// Σ x over a row, 16 lanes × 2 accumulators.
static float row_sum(const float * x, int64_t C) {
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 32 <= C; i += 32) {
        s0 = _mm512_add_ps(s0, _mm512_loadu_ps(x + i));
        s1 = _mm512_add_ps(s1, _mm512_loadu_ps(x + i + 16));
    }
    for (; i < C; i += 16) s0 = _mm512_add_ps(s0, _mm512_maskz_loadu_ps(C - i >= 16 ? 0xFFFF : tail_mask(C - i), x + i));
    return _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
}

// Σ (x − c) and Σ (x − c)² over a row.
static void row_moments_centered(const float * x, int64_t C, float c, float * sum, float * sumsq) {
    const __m512 vc = _mm512_set1_ps(c);
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
    __m512 q0 = _mm512_setzero_ps(), q1 = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 32 <= C; i += 32) {
        const __m512 d0 = _mm512_sub_ps(_mm512_loadu_ps(x + i), vc);
        const __m512 d1 = _mm512_sub_ps(_mm512_loadu_ps(x + i + 16), vc);
        s0 = _mm512_add_ps(s0, d0);
        s1 = _mm512_add_ps(s1, d1);
        q0 = _mm512_fmadd_ps(d0, d0, q0);
        q1 = _mm512_fmadd_ps(d1, d1, q1);
    }
    for (; i < C; i += 16) {
        const __mmask16 m = C - i >= 16 ? 0xFFFF : tail_mask(C - i);
        const __m512 d = _mm512_maskz_sub_ps(m, _mm512_maskz_loadu_ps(m, x + i), vc);
        s0 = _mm512_add_ps(s0, d);
        q0 = _mm512_fmadd_ps(d, d, q0);
    }
    *sum = _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
    *sumsq = _mm512_reduce_add_ps(_mm512_add_ps(q0, q1));
}

// y = ((x − mean) · rstd) · w + b; masked loads of weight/bias fall back to 1 and 0.
void ops_layer_norm_row_avx512(const float * x, float * y, int64_t C,
                               const float * weight, const float * bias, float eps) {
    // corrected two-pass: the second pass also fixes the rounding of the first mean
    const float mean0 = row_sum(x, C) / (float)C;
    float sd, sdd;
    row_moments_centered(x, C, mean0, &sd, &sdd);
    const float mean = mean0 + sd / (float)C;
    const float var = fmaxf(sdd / (float)C - (sd / (float)C) * (sd / (float)C), 0.0f);
    const __m512 vmean = _mm512_set1_ps(mean), vr = _mm512_set1_ps(1.0f / sqrtf(var + eps));
    for (int64_t i = 0; i < C; i += 16) {
        const __mmask16 m = C - i >= 16 ? 0xFFFF : tail_mask(C - i);
        __m512 v = _mm512_mul_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, x + i), vmean), vr);
        if (weight) v = _mm512_mul_ps(v, _mm512_maskz_loadu_ps(m, weight + i));
        if (bias) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, bias + i));
        _mm512_mask_storeu_ps(y + i, m, v);
    }
}

// y = LayerNorm(x + r) (r may be NULL): the sum goes through y with the same f32 adds as
// gaze_add, then the row above in place. False when y holds an Inf or NaN.
bool ops_add_layer_norm_row_avx512(const float * x, const float * r, float * y, int64_t C,
                                   const float * weight, const float * bias, float eps) {
    if (r) {
        for (int64_t i = 0; i < C; i += 16) {
            const __mmask16 m = C - i >= 16 ? 0xFFFF : tail_mask(C - i);
            _mm512_mask_storeu_ps(y + i, m, _mm512_add_ps(_mm512_maskz_loadu_ps(m, x + i), _mm512_maskz_loadu_ps(m, r + i)));
        }
        x = y;
    }
    ops_layer_norm_row_avx512(x, y, C, weight, bias, eps);
    __mmask16 bad = 0;   // fpclass 0x99: QNaN, SNaN, +Inf, -Inf
    for (int64_t i = 0; i < C; i += 16) {
        const __mmask16 m = C - i >= 16 ? 0xFFFF : tail_mask(C - i);
        bad |= _mm512_mask_fpclass_ps_mask(m, _mm512_maskz_loadu_ps(m, y + i), 0x99);
    }
    return !bad;
}

// y = (x · rsqrt(mean(x²) + eps)) · w, HF Llama's order.
void ops_rms_norm_row_avx512(const float * x, float * y, int64_t C, const float * weight, float eps) {
    float s, ss;
    row_moments_centered(x, C, 0.0f, &s, &ss);
    const float ms = ss / (float)C;
    const __m512 vr = _mm512_set1_ps(1.0f / sqrtf(ms + eps));
    for (int64_t i = 0; i < C; i += 16) {
        const __mmask16 m = C - i >= 16 ? 0xFFFF : tail_mask(C - i);
        __m512 v = _mm512_mul_ps(_mm512_maskz_loadu_ps(m, x + i), vr);
        if (weight) v = _mm512_mul_ps(v, _mm512_maskz_loadu_ps(m, weight + i));
        _mm512_mask_storeu_ps(y + i, m, v);
    }
}

void ops_softmax_row_avx512(const float * x, float * y, int64_t C) {
    __m512 vmax = _mm512_set1_ps(-INFINITY);
    __mmask16 any_nan = 0;
    for (int64_t i = 0; i < C; i += 16) {
        const __mmask16 m = C - i >= 16 ? 0xFFFF : tail_mask(C - i);
        const __m512 v = _mm512_mask_loadu_ps(_mm512_set1_ps(-INFINITY), m, x + i);
        any_nan |= _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
        vmax = _mm512_max_ps(vmax, v);
    }
    const float mx = any_nan ? NAN : _mm512_reduce_max_ps(vmax);
    if (mx == -INFINITY) {   // nothing allowed in this row: zeros, not 0/0
        for (int64_t i = 0; i < C; i++) y[i] = 0.0f;
        return;
    }
    const __m512 vm = _mm512_set1_ps(mx);
    __m512 vsum = _mm512_setzero_ps();
    for (int64_t i = 0; i < C; i += 16) {
        const __mmask16 m = C - i >= 16 ? 0xFFFF : tail_mask(C - i);
        const __m512 e = exp_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, x + i), vm));
        vsum = _mm512_mask_add_ps(vsum, m, vsum, e);
        _mm512_mask_storeu_ps(y + i, m, e);
    }
    const __m512 inv = _mm512_set1_ps(1.0f / _mm512_reduce_add_ps(vsum));
    for (int64_t i = 0; i < C; i += 16) {
        const __mmask16 m = C - i >= 16 ? 0xFFFF : tail_mask(C - i);
        _mm512_mask_storeu_ps(y + i, m, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, y + i), inv));
    }
}

void ops_l2_normalize_row_avx512(const float * x, float * y, int64_t C, float eps) {
    float s, ss;
    row_moments_centered(x, C, 0.0f, &s, &ss);
    const float norm = fmaxf(sqrtf(ss), eps);
    const __m512 vn = _mm512_set1_ps(norm);
    for (int64_t i = 0; i < C; i += 16) {
        const __mmask16 m = C - i >= 16 ? 0xFFFF : tail_mask(C - i);
        _mm512_mask_storeu_ps(y + i, m, _mm512_div_ps(_mm512_maskz_loadu_ps(m, x + i), vn));
    }
}
