// AVX2 + FMA instantiation of the fused attention kernel (see attention_fused_impl.h).
#include "kernels/attention.h"
#include <immintrin.h>

#define FN(name) name##_avx2
#define VL 8
typedef __m256 vf;
#define V_ZERO()       _mm256_setzero_ps()
#define V_SET1(x)      _mm256_set1_ps(x)
#define V_LOAD(p)      _mm256_loadu_ps(p)
#define V_STORE(p, x)  _mm256_storeu_ps(p, x)
#define V_FMA(a, b, c) _mm256_fmadd_ps(a, b, c)
#define V_MUL(a, b)    _mm256_mul_ps(a, b)
#define V_ADD(a, b)    _mm256_add_ps(a, b)
#define V_SUB(a, b)    _mm256_sub_ps(a, b)
#define V_MAX(a, b)    _mm256_max_ps(a, b)
#define V_MIN(a, b)    _mm256_min_ps(a, b)
#define V_DIV(a, b)    _mm256_div_ps(a, b)
#define V_REDUCE_ADD(v) hsum_avx2(v)
#define V_EXP2(x)      exp2_avx2(x)
#define V_GT_MASK(a, b) ((unsigned)_mm256_movemask_ps(_mm256_cmp_ps(a, b, _CMP_GT_OQ)))   // lane i > : bit i
#define S_NV     2   // 6 keys × 2 query vectors: 12 accumulators, 2 query vectors and a
#define S_MR     6   // broadcast key element fill the 16 ymm registers (v4; v3 had 4 × 2:
                     // 8 accumulators, only just the 2 FMA pipes × 4 cycles of latency)
#define O_NV_MAX 3   // v6: 4 rows × 3 d-vectors = 12 accumulators (v5: 4 × 2 = 8, the bare minimum for 2 FMA pipes × 4 cycles)

static inline float hsum_avx2(__m256 v) {
    __m128 x = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    x = _mm_add_ps(x, _mm_movehl_ps(x, x));
    x = _mm_add_ss(x, _mm_shuffle_ps(x, x, 1));
    return _mm_cvtss_f32(x);
}

// 2^x as in the AVX-512 version; 2^n is built in the exponent field (n >= -126 here).
static inline __m256 exp2_avx2(__m256 x) {
    const __m256 lo = _mm256_set1_ps(-126.0f);
    __m256 under = _mm256_cmp_ps(x, lo, _CMP_LT_OQ);
    x = _mm256_max_ps(lo, x);
    __m256 n = _mm256_round_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 f = _mm256_sub_ps(x, n);
    __m256 p = _mm256_set1_ps(1.525273380405984e-05f);
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(1.5403530393381606e-04f));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(1.3333558146428443e-03f));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(9.618129107628477e-03f));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(5.550410866482158e-02f));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(2.402265069591007e-01f));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(6.931471805599453e-01f));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(1.0f));
    __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    __m256 r = _mm256_mul_ps(p, _mm256_castsi256_ps(e));
    return _mm256_andnot_ps(under, r);
}

#include "kernels/attention_fused_impl.h"
