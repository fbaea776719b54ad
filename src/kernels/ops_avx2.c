// AVX2 + FMA body of the exact GELU (erf form), the BERT / RoBERTa FFN activation that the
// GEMM applies as its epilogue. Called only from ops.c after gaze_isa_active() reported AVX2.
//
// Why: on an AVX2-only CPU (AMD Zen 3 here) the scalar path called libm's erff once per
// element, 4.7 M calls per RoBERTa-base forward of 128 tokens. This is the AVX-512 version's
// arithmetic (ops_avx512.c: the same polynomials, the same operations in the same order), 8
// lanes wide, so both vector paths give the same values; 2^n is built in the exponent field
// instead of vscalefps (AVX2 has none).
#include "kernels/gemm.h"
#include <immintrin.h>

static inline __m256i tail_mask(int64_t n) {   // lanes 0 .. n-1 for 0 < n < 8
    const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)n), idx);
}

// 2^n for integral n in [-150, 128] as two factors 2^(n>>1) · 2^(n - (n>>1)), each a normal
// float (exponents in [-75, 64]): p · f1 · f2 rounds once, as vscalefps does (the first
// product is exact), down to subnormal results, and gives +inf for n = 128 and p >= 1.
static inline __m256 scale2(__m256 p, __m256 n) {
    const __m256i ni = _mm256_cvtps_epi32(n);
    const __m256i n1 = _mm256_srai_epi32(ni, 1), n2 = _mm256_sub_epi32(ni, n1);
    const __m256i bias = _mm256_set1_epi32(127);
    const __m256 f1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n1, bias), 23));
    const __m256 f2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n2, bias), 23));
    return _mm256_mul_ps(_mm256_mul_ps(p, f1), f2);
}

// e^x exactly as exp_ps of ops_avx512.c (same clamp, reduction and polynomial).
static inline __m256 exp_ps(__m256 x) {
    x = _mm256_min_ps(_mm256_set1_ps(88.8f), _mm256_max_ps(_mm256_set1_ps(-104.0f), x));
    const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693145751953125f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(1.428606765330187e-06f), r);
    __m256 p = _mm256_set1_ps(1.0f / 5040);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 720));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    return scale2(p, n);
}

// erf(x) exactly as erf_ps of ops_avx512.c (coefficients and error bounds there).
static inline __m256 erf_ps(__m256 x) {
    const __m256 sign = _mm256_castsi256_ps(_mm256_set1_epi32((int)0x80000000u));
    const __m256 t = _mm256_andnot_ps(sign, x);
    const __m256 s = _mm256_mul_ps(x, x);
    __m256 p = _mm256_set1_ps(-9.667044651e-06f);
    p = _mm256_fmadd_ps(p, s, _mm256_set1_ps(1.126595889e-04f));
    p = _mm256_fmadd_ps(p, s, _mm256_set1_ps(-8.484080317e-04f));
    p = _mm256_fmadd_ps(p, s, _mm256_set1_ps(5.221031606e-03f));
    p = _mm256_fmadd_ps(p, s, _mm256_set1_ps(-2.686543018e-02f));
    p = _mm256_fmadd_ps(p, s, _mm256_set1_ps(1.128378212e-01f));
    p = _mm256_fmadd_ps(p, s, _mm256_set1_ps(-3.761263788e-01f));
    p = _mm256_fmadd_ps(p, s, _mm256_set1_ps(1.283791661e-01f));
    const __m256 small = _mm256_fmadd_ps(x, p, x);

    const __m256 tc = _mm256_min_ps(_mm256_set1_ps(4.0f), t);   // NaN stays NaN
    const __m256 u = _mm256_fmadd_ps(tc, _mm256_set1_ps(2.0f / 3), _mm256_set1_ps(-5.0f / 3));
    __m256 q = _mm256_set1_ps(-2.915037612e-06f);
    q = _mm256_fmadd_ps(q, u, _mm256_set1_ps(4.140557940e-05f));
    q = _mm256_fmadd_ps(q, u, _mm256_set1_ps(-2.208476362e-04f));
    q = _mm256_fmadd_ps(q, u, _mm256_set1_ps(8.814931498e-04f));
    q = _mm256_fmadd_ps(q, u, _mm256_set1_ps(-3.195386613e-03f));
    q = _mm256_fmadd_ps(q, u, _mm256_set1_ps(1.096117217e-02f));
    q = _mm256_fmadd_ps(q, u, _mm256_set1_ps(-3.664613143e-02f));
    q = _mm256_fmadd_ps(q, u, _mm256_set1_ps(-2.123760700e+00f));
    q = _mm256_fmadd_ps(q, u, _mm256_set1_ps(-8.029021263e+00f));
    q = _mm256_fmadd_ps(q, u, _mm256_set1_ps(-7.806815147e+00f));
    __m256 large = _mm256_sub_ps(_mm256_set1_ps(1.0f), exp_ps(q));
    large = _mm256_or_ps(large, _mm256_and_ps(x, sign));

    const __m256 is_small = _mm256_cmp_ps(t, _mm256_set1_ps(1.0f), _CMP_LT_OQ);
    return _mm256_blendv_ps(large, small, is_small);
}

// torch's formula and order: (x · 0.5) · (1 + erf(x · M_SQRT1_2))
static inline __m256 gelu_ps(__m256 x) {
    const __m256 e = erf_ps(_mm256_mul_ps(x, _mm256_set1_ps(0.707106781186547524f)));
    return _mm256_mul_ps(_mm256_mul_ps(x, _mm256_set1_ps(0.5f)), _mm256_add_ps(_mm256_set1_ps(1.0f), e));
}

void ops_gelu_erf_avx2(const float * x, float * y, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, gelu_ps(_mm256_loadu_ps(x + i)));
    if (i < n) {
        const __m256i m = tail_mask(n - i);
        _mm256_maskstore_ps(y + i, m, gelu_ps(_mm256_maskload_ps(x + i, m)));
    }
}
