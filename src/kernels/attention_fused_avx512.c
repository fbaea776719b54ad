// AVX-512 instantiation of the fused attention kernel (see attention_fused_impl.h).
#include "kernels/attention.h"
#include <immintrin.h>

#define FN(name) name##_avx512
#define VL 16
typedef __m512 vf;
#define V_ZERO()       _mm512_setzero_ps()
#define V_SET1(x)      _mm512_set1_ps(x)
#define V_LOAD(p)      _mm512_loadu_ps(p)
#define V_STORE(p, x)  _mm512_storeu_ps(p, x)
#define V_FMA(a, b, c) _mm512_fmadd_ps(a, b, c)
#define V_MUL(a, b)    _mm512_mul_ps(a, b)
#define V_ADD(a, b)    _mm512_add_ps(a, b)
#define V_SUB(a, b)    _mm512_sub_ps(a, b)
#define V_MAX(a, b)    _mm512_max_ps(a, b)
#define V_MIN(a, b)    _mm512_min_ps(a, b)
#define V_DIV(a, b)    _mm512_div_ps(a, b)
#define V_REDUCE_ADD(v) _mm512_reduce_add_ps(v)
#define V_EXP2(x)      exp2_avx512(x)
#define V_GT_MASK(a, b) ((unsigned)_mm512_cmp_ps_mask(a, b, _CMP_GT_OQ))   // lane i > : bit i
#define S_NV     4   // 4 keys × 4 query vectors: 16 accumulators
#define O_NV_MAX 6   // 4 rows × 6 d-vectors: 24 accumulators + 6 V + 1 broadcast

// 2^x: round to n, 2^f on f in [-0.5, 0.5] by the degree-7 Taylor polynomial of e^(f·ln2)
// (relative error < 1e-8, below f32 rounding), then scalef by n. x < -126 (and -inf) gives 0;
// max(-126, x) keeps NaN (vmaxps returns its second operand when either is NaN).
static inline __m512 exp2_avx512(__m512 x) {
    const __m512 lo = _mm512_set1_ps(-126.0f);
    __mmask16 under = _mm512_cmp_ps_mask(x, lo, _CMP_LT_OQ);
    x = _mm512_max_ps(lo, x);
    __m512 n = _mm512_roundscale_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 f = _mm512_sub_ps(x, n);
    __m512 p = _mm512_set1_ps(1.525273380405984e-05f);
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.5403530393381606e-04f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.3333558146428443e-03f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(9.618129107628477e-03f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(5.550410866482158e-02f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(2.402265069591007e-01f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(6.931471805599453e-01f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.0f));
    return _mm512_maskz_mov_ps((__mmask16)~under, _mm512_scalef_ps(p, n));
}

#include "kernels/attention_fused_impl.h"
