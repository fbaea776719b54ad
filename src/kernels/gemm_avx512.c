// AVX-512 GEMM pieces: B packing (a 16×16 in-register transpose for weights) and the 12×32
// broadcast-FMA micro-kernel (24 zmm accumulators, 2 B vectors, 1 broadcast per row).
// Called only through gemm_isa_avx512 after gaze_isa_active() reported AVX-512.
#include "kernels/gemm.h"
#include <immintrin.h>

#define MR 12
#define NR 32

static inline __mmask16 mask_first(int64_t n) {   // lanes 0 .. n-1, n clamped to [0, 16]
    return n >= 16 ? (__mmask16)0xFFFF : n <= 0 ? (__mmask16)0 : (__mmask16)((1u << n) - 1);
}

// In place: r[i] (row i, 16 columns) becomes column i (16 rows).
static inline void transpose16(__m512 r[16]) {
    __m512 t[16];
    for (int i = 0; i < 16; i += 2) {
        t[i]     = _mm512_unpacklo_ps(r[i], r[i + 1]);   // per 128-bit lane: a0 b0 a1 b1
        t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);   //                   a2 b2 a3 b3
    }
    for (int i = 0; i < 16; i += 4) {                    // lane L of r[i + j]: column 4L + j
        r[i]     = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(t[i]),     _mm512_castps_pd(t[i + 2])));
        r[i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(t[i]),     _mm512_castps_pd(t[i + 2])));
        r[i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(t[i + 1]), _mm512_castps_pd(t[i + 3])));
        r[i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(t[i + 1]), _mm512_castps_pd(t[i + 3])));
    }
    for (int j = 0; j < 4; j++) {                        // gather lane L of r[j], r[4+j], r[8+j], r[12+j]
        t[j]      = _mm512_shuffle_f32x4(r[j],     r[4 + j],  0x88);   // lanes 0, 2
        t[4 + j]  = _mm512_shuffle_f32x4(r[j],     r[4 + j],  0xdd);   // lanes 1, 3
        t[8 + j]  = _mm512_shuffle_f32x4(r[8 + j], r[12 + j], 0x88);
        t[12 + j] = _mm512_shuffle_f32x4(r[8 + j], r[12 + j], 0xdd);
    }
    for (int j = 0; j < 4; j++) {
        r[j]      = _mm512_shuffle_f32x4(t[j],     t[8 + j],  0x88);   // column j
        r[8 + j]  = _mm512_shuffle_f32x4(t[j],     t[8 + j],  0xdd);   // column 8 + j
        r[4 + j]  = _mm512_shuffle_f32x4(t[4 + j], t[12 + j], 0x88);   // column 4 + j
        r[12 + j] = _mm512_shuffle_f32x4(t[4 + j], t[12 + j], 0xdd);   // column 12 + j
    }
}

// b [N, K]: each panel is 32 rows of b, transposed 16×16 at a time.
static void pack_nt(const float * b, int64_t ldb, int64_t n0, int64_t nc, int64_t k0, int64_t kc,
                    float * bp) {
    for (int64_t p = 0; p * NR < nc; p++) {
        float * dst = bp + p * kc * NR;
        for (int h = 0; h < NR / 16; h++) {
            const int64_t r0 = p * NR + h * 16;
            const int64_t rows = GAZE_MIN(GAZE_MAX(nc - r0, 0), 16);
            for (int64_t k = 0; k < kc; k += 16) {
                const int64_t kk = GAZE_MIN(16, kc - k);
                const __mmask16 m = mask_first(kk);
                __m512 v[16];
                for (int r = 0; r < 16; r++)
                    v[r] = r < rows ? _mm512_maskz_loadu_ps(m, b + (n0 + r0 + r) * ldb + k0 + k)
                                    : _mm512_setzero_ps();
                transpose16(v);
                for (int64_t i = 0; i < kk; i++) _mm512_store_ps(dst + (k + i) * NR + h * 16, v[i]);
            }
        }
    }
}

// b [K, N]: rows of b are already along N; copy 32-wide slices, zero past nc.
static void pack_nn(const float * b, int64_t ldb, int64_t n0, int64_t nc, int64_t k0, int64_t kc,
                    float * bp) {
    for (int64_t p = 0; p * NR < nc; p++) {
        float * dst = bp + p * kc * NR;
        const int64_t c0 = p * NR;
        const __mmask16 m0 = mask_first(nc - c0), m1 = mask_first(nc - c0 - 16);
        for (int64_t k = 0; k < kc; k++) {
            const float * src = b + (k0 + k) * ldb + n0 + c0;
            _mm512_store_ps(dst + k * NR,      _mm512_maskz_loadu_ps(m0, src));
            _mm512_store_ps(dst + k * NR + 16, _mm512_maskz_loadu_ps(m1, src + 16));
        }
    }
}

// mr is a compile-time constant at every call site (see kernel below), so the row loops
// unroll fully and acc[][] lives in registers.
static inline __attribute__((always_inline))
void kernel_mr(const int mr, int64_t kc, const float * restrict a, int64_t lda,
               const float * restrict bp, float * restrict c, int64_t ldc, int nc,
               const float * bias, bool load_c) {
    __m512 acc0[MR], acc1[MR];
#pragma GCC unroll 12
    for (int r = 0; r < mr; r++) acc0[r] = acc1[r] = _mm512_setzero_ps();
#pragma GCC unroll 2
    for (int64_t k = 0; k < kc; k++) {
        // B streams from DRAM on a strip's first pass (a model's weights outgrow L3): fetch
        // 32 steps (4 KiB) ahead, on into the next panel; +1-3 % on MiniLM's shapes
        _mm_prefetch((const char *)(bp + (k + 32) * NR), _MM_HINT_T0);
        _mm_prefetch((const char *)(bp + (k + 32) * NR + 16), _MM_HINT_T0);
        const __m512 b0 = _mm512_load_ps(bp + k * NR);
        const __m512 b1 = _mm512_load_ps(bp + k * NR + 16);
#pragma GCC unroll 12
        for (int r = 0; r < mr; r++) {
            const __m512 ar = _mm512_set1_ps(a[r * lda + k]);
            acc0[r] = _mm512_fmadd_ps(ar, b0, acc0[r]);
            acc1[r] = _mm512_fmadd_ps(ar, b1, acc1[r]);
        }
    }
    const __mmask16 m0 = mask_first(nc), m1 = mask_first(nc - 16);
    if (bias) {
        const __m512 bias0 = _mm512_maskz_loadu_ps(m0, bias), bias1 = _mm512_maskz_loadu_ps(m1, bias + 16);
#pragma GCC unroll 12
        for (int r = 0; r < mr; r++) {
            acc0[r] = _mm512_add_ps(acc0[r], bias0);
            acc1[r] = _mm512_add_ps(acc1[r], bias1);
        }
    }
#pragma GCC unroll 12
    for (int r = 0; r < mr; r++) {
        float * cr = c + r * ldc;
        if (load_c) {
            acc0[r] = _mm512_add_ps(acc0[r], _mm512_maskz_loadu_ps(m0, cr));
            acc1[r] = _mm512_add_ps(acc1[r], _mm512_maskz_loadu_ps(m1, cr + 16));
        }
        _mm512_mask_storeu_ps(cr,      m0, acc0[r]);
        _mm512_mask_storeu_ps(cr + 16, m1, acc1[r]);
    }
}

static void kernel(int64_t kc, const float * a, int64_t lda, const float * bp, float * c,
                   int64_t ldc, int mr, int nc, const float * bias, bool load_c) {
    switch (mr) {
#define CASE(m) case m: kernel_mr(m, kc, a, lda, bp, c, ldc, nc, bias, load_c); break;
        CASE(12) CASE(11) CASE(10) CASE(9) CASE(8) CASE(7)
        CASE(6)  CASE(5)  CASE(4)  CASE(3) CASE(2) CASE(1)
#undef CASE
        default: GAZE_ASSERT(!"mr out of range");
    }
}

// Sums each of a, b, c, d across its 16 lanes: returns {Σa, Σb, Σc, Σd}.
static inline __m128 reduce4(__m512 a, __m512 b, __m512 c, __m512 d) {
    const __m512 ab = _mm512_add_ps(_mm512_unpacklo_ps(a, b), _mm512_unpackhi_ps(a, b));
    const __m512 cd = _mm512_add_ps(_mm512_unpacklo_ps(c, d), _mm512_unpackhi_ps(c, d));
    const __m512 abcd = _mm512_add_ps(  // per 128-bit lane: partial Σa, Σb, Σc, Σd
        _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(ab), _mm512_castps_pd(cd))),
        _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(ab), _mm512_castps_pd(cd))));
    const __m256 h = _mm256_add_ps(_mm512_castps512_ps256(abcd), _mm512_extractf32x8_ps(abcd, 1));
    return _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
}

// Few rows of A (decode, short inputs): dot products straight from the weight rows, 4 rows
// of B × m rows of A at a time (4m accumulators), so B is read once and never packed.
static inline __attribute__((always_inline))
void small_nt_m(const int m, int64_t n, int64_t K, const float * restrict a, int64_t lda,
                const float * restrict b, int64_t ldb, float * restrict c, int64_t ldc,
                const float * bias, bool load_c) {
    const __mmask16 mk = (__mmask16)((1u << (K % 16)) - 1);
    for (int64_t j = 0; j < n; j += 4) {
        const int nb = (int)GAZE_MIN(4, n - j);
        const float * br[4];
        for (int q = 0; q < 4; q++) br[q] = b + (j + (q < nb ? q : 0)) * ldb;   // reuse row 0 past n
        __m512 acc[4][4];
#pragma GCC unroll 4
        for (int r = 0; r < m; r++)
            for (int q = 0; q < 4; q++) acc[r][q] = _mm512_setzero_ps();
        int64_t k = 0;
        for (; k + 16 <= K; k += 16) {
            const __m512 b0 = _mm512_loadu_ps(br[0] + k), b1 = _mm512_loadu_ps(br[1] + k);
            const __m512 b2 = _mm512_loadu_ps(br[2] + k), b3 = _mm512_loadu_ps(br[3] + k);
#pragma GCC unroll 4
            for (int r = 0; r < m; r++) {
                const __m512 av = _mm512_loadu_ps(a + r * lda + k);
                acc[r][0] = _mm512_fmadd_ps(av, b0, acc[r][0]);
                acc[r][1] = _mm512_fmadd_ps(av, b1, acc[r][1]);
                acc[r][2] = _mm512_fmadd_ps(av, b2, acc[r][2]);
                acc[r][3] = _mm512_fmadd_ps(av, b3, acc[r][3]);
            }
        }
        if (k < K) {
            const __m512 b0 = _mm512_maskz_loadu_ps(mk, br[0] + k), b1 = _mm512_maskz_loadu_ps(mk, br[1] + k);
            const __m512 b2 = _mm512_maskz_loadu_ps(mk, br[2] + k), b3 = _mm512_maskz_loadu_ps(mk, br[3] + k);
#pragma GCC unroll 4
            for (int r = 0; r < m; r++) {
                const __m512 av = _mm512_maskz_loadu_ps(mk, a + r * lda + k);
                acc[r][0] = _mm512_fmadd_ps(av, b0, acc[r][0]);
                acc[r][1] = _mm512_fmadd_ps(av, b1, acc[r][1]);
                acc[r][2] = _mm512_fmadd_ps(av, b2, acc[r][2]);
                acc[r][3] = _mm512_fmadd_ps(av, b3, acc[r][3]);
            }
        }
        const __mmask8 mn = (__mmask8)((1u << nb) - 1);
        const __m128 vbias = bias ? _mm_maskz_loadu_ps(mn, bias + j) : _mm_setzero_ps();
#pragma GCC unroll 4
        for (int r = 0; r < m; r++) {
            __m128 v = _mm_add_ps(reduce4(acc[r][0], acc[r][1], acc[r][2], acc[r][3]), vbias);
            if (load_c) v = _mm_add_ps(v, _mm_maskz_loadu_ps(mn, c + r * ldc + j));
            _mm_mask_storeu_ps(c + r * ldc + j, mn, v);
        }
    }
}

static void small_nt(int m, int64_t n, int64_t K, const float * a, int64_t lda, const float * b,
                     int64_t ldb, float * c, int64_t ldc, const float * bias, bool load_c) {
    switch (m) {
#define CASE(mm) case mm: small_nt_m(mm, n, K, a, lda, b, ldb, c, ldc, bias, load_c); break;
        CASE(4) CASE(3) CASE(2) CASE(1)
#undef CASE
        default: GAZE_ASSERT(!"small_nt: m out of range");
    }
}

const struct gemm_isa gemm_isa_avx512 = {
    .name = "avx512", .mr = MR, .nr = NR, .pack_nt = pack_nt, .pack_nn = pack_nn, .kernel = kernel,
    .small_nt = small_nt, .small_m = 4, .small_rows = 64,
};
