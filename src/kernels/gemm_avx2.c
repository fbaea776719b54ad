// AVX2 GEMM pieces: B packing (8×8 in-register transposes for weights) and the 6×16
// broadcast-FMA micro-kernel (12 ymm accumulators, 2 B vectors, 1 broadcast: 15 of 16 ymm).
// Called only through gemm_isa_avx2 after gaze_isa_active() reported AVX2.
#include "kernels/gemm.h"
#include <immintrin.h>

#define MR 6
#define NR 16

static inline __m256i mask_first(int64_t n) {   // lanes 0 .. n-1 set (n clamped to [0, 8])
    const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const int m = (int)GAZE_MIN(GAZE_MAX(n, 0), 8);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(m), idx);
}

// In place: r[i] (row i, 8 columns) becomes column i (8 rows).
static inline void transpose8(__m256 r[8]) {
    __m256 t[8], s[8];
    for (int i = 0; i < 8; i += 2) {
        t[i]     = _mm256_unpacklo_ps(r[i], r[i + 1]);   // per 128-bit lane: a0 b0 a1 b1
        t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);   //                   a2 b2 a3 b3
    }
    for (int i = 0; i < 8; i += 4) {                     // lane L of s[i + j]: column 4L + j
        s[i]     = _mm256_shuffle_ps(t[i],     t[i + 2], 0x44);
        s[i + 1] = _mm256_shuffle_ps(t[i],     t[i + 2], 0xEE);
        s[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0x44);
        s[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0xEE);
    }
    for (int j = 0; j < 4; j++) {
        r[j]     = _mm256_permute2f128_ps(s[j], s[4 + j], 0x20);
        r[4 + j] = _mm256_permute2f128_ps(s[j], s[4 + j], 0x31);
    }
}

// b [N, K]: each panel is 16 rows of b, transposed 8×8 at a time.
static void pack_nt(const float * b, int64_t ldb, int64_t n0, int64_t nc, int64_t k0, int64_t kc,
                    float * bp) {
    for (int64_t p = 0; p * NR < nc; p++) {
        float * dst = bp + p * kc * NR;
        for (int h = 0; h < NR / 8; h++) {
            const int64_t r0 = p * NR + h * 8;
            const int64_t rows = GAZE_MIN(GAZE_MAX(nc - r0, 0), 8);
            for (int64_t k = 0; k < kc; k += 8) {
                const int64_t kk = GAZE_MIN(8, kc - k);
                const __m256i m = mask_first(kk);
                __m256 v[8];
                for (int r = 0; r < 8; r++)
                    v[r] = r < rows ? _mm256_maskload_ps(b + (n0 + r0 + r) * ldb + k0 + k, m)
                                    : _mm256_setzero_ps();
                transpose8(v);
                for (int64_t i = 0; i < kk; i++) _mm256_store_ps(dst + (k + i) * NR + h * 8, v[i]);
            }
        }
    }
}

// b [K, N]: copy 16-wide slices, zero past nc.
static void pack_nn(const float * b, int64_t ldb, int64_t n0, int64_t nc, int64_t k0, int64_t kc,
                    float * bp) {
    for (int64_t p = 0; p * NR < nc; p++) {
        float * dst = bp + p * kc * NR;
        const int64_t c0 = p * NR;
        const __m256i m0 = mask_first(nc - c0), m1 = mask_first(nc - c0 - 8);
        for (int64_t k = 0; k < kc; k++) {
            const float * src = b + (k0 + k) * ldb + n0 + c0;
            _mm256_store_ps(dst + k * NR,     _mm256_maskload_ps(src, m0));
            _mm256_store_ps(dst + k * NR + 8, _mm256_maskload_ps(src + 8, m1));
        }
    }
}

// v5: an A strip of mr rows packed k-major (ap[k·mr + r]) by pack_a, so the mr broadcasts
// of a step read one contiguous run of mr floats: the strip streams from L2 as one sequential
// stream (no row-stride set aliasing in L1) while the B panel stays in L1 across the strips.
// 8 steps at a time: the mr rows (zero rows below) transposed 8×8 in registers, step k's
// column stored as 8 floats at ap + k·mr, in ascending k, so each store's last 8 - mr floats
// are overwritten by the next; the last spills up to 8 - mr floats past the strip (the caller's
// buffer has that slack; the next strip, packed later, overwrites them).
static void pack_a(const float * a, int64_t lda, int mr, int64_t kc, float * restrict ap) {
    int64_t k = 0;
    for (; k + 8 <= kc; k += 8) {
        __m256 v[8];
        for (int r = 0; r < 8; r++) v[r] = r < mr ? _mm256_loadu_ps(a + r * lda + k) : _mm256_setzero_ps();
        transpose8(v);
        for (int i = 0; i < 8; i++) _mm256_storeu_ps(ap + (k + i) * mr, v[i]);
    }
    for (; k < kc; k++)
        for (int r = 0; r < mr; r++) ap[k * mr + r] = a[r * lda + k];
}

static inline __attribute__((always_inline))
void kernel_mr(const int mr, const bool pf, const bool pa, int64_t kc, const float * restrict a, int64_t lda,
               const float * restrict bp, float * restrict c, int64_t ldc, int nc,
               const float * bias, bool load_c) {
    __m256 acc0[MR], acc1[MR];
#pragma GCC unroll 6
    for (int r = 0; r < mr; r++) acc0[r] = acc1[r] = _mm256_setzero_ps();
#pragma GCC unroll 2
    for (int64_t k = 0; k < kc; k++) {
        // v4: prepacked weights stream from DRAM on a strip's first pass: one 64-byte line
        // per step, 32 steps (2 KiB) ahead, on into the next panel
        if (pf) _mm_prefetch((const char *)(bp + (k + 32) * NR), _MM_HINT_T0);
        const __m256 b0 = _mm256_load_ps(bp + k * NR);
        const __m256 b1 = _mm256_load_ps(bp + k * NR + 8);
#pragma GCC unroll 6
        for (int r = 0; r < mr; r++) {
            const __m256 ar = _mm256_broadcast_ss(pa ? a + k * mr + r : a + r * lda + k);
            acc0[r] = _mm256_fmadd_ps(ar, b0, acc0[r]);
            acc1[r] = _mm256_fmadd_ps(ar, b1, acc1[r]);
        }
    }
    const __m256i m0 = mask_first(nc), m1 = mask_first(nc - 8);
    if (bias) {
        const __m256 bias0 = _mm256_maskload_ps(bias, m0), bias1 = _mm256_maskload_ps(bias + 8, m1);
#pragma GCC unroll 6
        for (int r = 0; r < mr; r++) {
            acc0[r] = _mm256_add_ps(acc0[r], bias0);
            acc1[r] = _mm256_add_ps(acc1[r], bias1);
        }
    }
#pragma GCC unroll 6
    for (int r = 0; r < mr; r++) {
        float * cr = c + r * ldc;
        if (load_c) {
            acc0[r] = _mm256_add_ps(acc0[r], _mm256_maskload_ps(cr, m0));
            acc1[r] = _mm256_add_ps(acc1[r], _mm256_maskload_ps(cr + 8, m1));
        }
        _mm256_maskstore_ps(cr,     m0, acc0[r]);
        _mm256_maskstore_ps(cr + 8, m1, acc1[r]);
    }
}

static void kernel(int64_t kc, const float * a, int64_t lda, const float * bp, float * c,
                   int64_t ldc, int mr, int nc, const float * bias, bool load_c) {
    const bool pf = gemm_avx2_lab >= 4;
    switch (mr * 2 + pf) {
#define CASE(m) case 2 * m:     kernel_mr(m, false, false, kc, a, lda, bp, c, ldc, nc, bias, load_c); break; \
                case 2 * m + 1: kernel_mr(m, true,  false, kc, a, lda, bp, c, ldc, nc, bias, load_c); break;
        CASE(6) CASE(5) CASE(4) CASE(3) CASE(2) CASE(1)
#undef CASE
        default: GAZE_ASSERT(!"mr out of range");
    }
}

// a is a strip packed by pack_a (lda unused). v6: prefetch the B panel ahead, which the
// driver asks for on a panel's first strip only (the later strips find it in L1).
static void kernel_pa(int64_t kc, const float * a, int64_t lda, const float * bp, float * c,
                      int64_t ldc, int mr, int nc, const float * bias, bool load_c) {
    const bool pf = gemm_avx2_lab >= 6 && (mr & 16);
    switch ((mr & 15) * 2 + pf) {
#define CASE(m) case 2 * m:     kernel_mr(m, false, true, kc, a, lda, bp, c, ldc, nc, bias, load_c); break; \
                case 2 * m + 1: kernel_mr(m, true,  true, kc, a, lda, bp, c, ldc, nc, bias, load_c); break;
        CASE(6) CASE(5) CASE(4) CASE(3) CASE(2) CASE(1)
#undef CASE
        default: GAZE_ASSERT(!"mr out of range");
    }
}

// Sums each of a, b, c, d across its 8 lanes: returns {Σa, Σb, Σc, Σd}.
static inline __m128 reduce4(__m256 a, __m256 b, __m256 c, __m256 d) {
    const __m256 abcd = _mm256_hadd_ps(_mm256_hadd_ps(a, b), _mm256_hadd_ps(c, d));
    return _mm_add_ps(_mm256_castps256_ps128(abcd), _mm256_extractf128_ps(abcd, 1));
}

// Few rows of A: dot products straight from the weight rows, 4 rows of B × m <= 2 rows of
// A at a time (8 accumulators + 4 B + 2 A of the 16 ymm), so B is never packed.
static inline __attribute__((always_inline))
void small_nt_m(const int m, int64_t n, int64_t K, const float * restrict a, int64_t lda,
                const float * restrict b, int64_t ldb, float * restrict c, int64_t ldc,
                const float * bias, bool load_c) {
    const __m256i mk = mask_first(K % 8);
    for (int64_t j = 0; j < n; j += 4) {
        const int nb = (int)GAZE_MIN(4, n - j);
        const float * br[4];
        for (int q = 0; q < 4; q++) br[q] = b + (j + (q < nb ? q : 0)) * ldb;   // reuse row 0 past n
        __m256 acc[2][4];
#pragma GCC unroll 2
        for (int r = 0; r < m; r++)
            for (int q = 0; q < 4; q++) acc[r][q] = _mm256_setzero_ps();
        int64_t k = 0;
        for (; k + 8 <= K; k += 8) {
            const __m256 b0 = _mm256_loadu_ps(br[0] + k), b1 = _mm256_loadu_ps(br[1] + k);
            const __m256 b2 = _mm256_loadu_ps(br[2] + k), b3 = _mm256_loadu_ps(br[3] + k);
#pragma GCC unroll 2
            for (int r = 0; r < m; r++) {
                const __m256 av = _mm256_loadu_ps(a + r * lda + k);
                acc[r][0] = _mm256_fmadd_ps(av, b0, acc[r][0]);
                acc[r][1] = _mm256_fmadd_ps(av, b1, acc[r][1]);
                acc[r][2] = _mm256_fmadd_ps(av, b2, acc[r][2]);
                acc[r][3] = _mm256_fmadd_ps(av, b3, acc[r][3]);
            }
        }
        if (k < K) {
            const __m256 b0 = _mm256_maskload_ps(br[0] + k, mk), b1 = _mm256_maskload_ps(br[1] + k, mk);
            const __m256 b2 = _mm256_maskload_ps(br[2] + k, mk), b3 = _mm256_maskload_ps(br[3] + k, mk);
#pragma GCC unroll 2
            for (int r = 0; r < m; r++) {
                const __m256 av = _mm256_maskload_ps(a + r * lda + k, mk);
                acc[r][0] = _mm256_fmadd_ps(av, b0, acc[r][0]);
                acc[r][1] = _mm256_fmadd_ps(av, b1, acc[r][1]);
                acc[r][2] = _mm256_fmadd_ps(av, b2, acc[r][2]);
                acc[r][3] = _mm256_fmadd_ps(av, b3, acc[r][3]);
            }
        }
        const __m128i mn = _mm256_castsi256_si128(mask_first(nb));
        const __m128 vbias = bias ? _mm_maskload_ps(bias + j, mn) : _mm_setzero_ps();
#pragma GCC unroll 2
        for (int r = 0; r < m; r++) {
            __m128 v = _mm_add_ps(reduce4(acc[r][0], acc[r][1], acc[r][2], acc[r][3]), vbias);
            if (load_c) v = _mm_add_ps(v, _mm_maskload_ps(c + r * ldc + j, mn));
            _mm_maskstore_ps(c + r * ldc + j, mn, v);
        }
    }
}

static void small_nt(int m, int64_t n, int64_t K, const float * a, int64_t lda, const float * b,
                     int64_t ldb, float * c, int64_t ldc, const float * bias, bool load_c) {
    switch (m) {
        case 2: small_nt_m(2, n, K, a, lda, b, ldb, c, ldc, bias, load_c); break;
        case 1: small_nt_m(1, n, K, a, lda, b, ldb, c, ldc, bias, load_c); break;
        default: GAZE_ASSERT(!"small_nt: m out of range");
    }
}

const struct gemm_isa gemm_isa_avx2 = {
    .name = "avx2", .mr = MR, .nr = NR, .pack_nt = pack_nt, .pack_nn = pack_nn, .kernel = kernel,
    // copy_a applies from lab version 3 on, K slices of 256 from version 2, 384 from 8 (gemm.h)
    .small_nt = small_nt, .small_m = 2, .small_rows = 16, .kc_max = 256, .copy_a = true,
    .pack_a = pack_a, .kernel_pa = kernel_pa,   // lab version 5 on (gemm.h)
};
