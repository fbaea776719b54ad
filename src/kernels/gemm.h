// Internal plumbing of the linear SECTION (GEMM and elementwise ops): the ISA-specific
// pieces behind one table or prototype each, so the blocking, threading and dispatch in
// gemm.c and ops.c are written once.
#ifndef GAZE_KERNELS_GEMM_H
#define GAZE_KERNELS_GEMM_H

#include "core/core.h"

// Packs the block B(k0 .. k0+kc, n0 .. n0+nc) of the logical [K, N] right operand into
// nr-wide column panels: bp[p·kc·nr + k·nr + c] = B(k0 + k, n0 + p·nr + c), zero past nc,
// so the micro-kernel reads nr consecutive floats per k. bp is 64-byte aligned.
//   NT: b is [N, K] (row n holds column n of the logical B; packing transposes)
//   NN: b is [K, N]
typedef void (*gemm_pack_fn)(const float * b, int64_t ldb, int64_t n0, int64_t nc,
                             int64_t k0, int64_t kc, float * bp);

// C[0:mr, 0:nc] (+)= a[mr, kc] · bp[kc, nr] (+ bias[0:nc]); 1 <= mr <= MR, 1 <= nc <= nr.
// a has row stride lda; bp is one packed panel; load_c adds the existing C (later K blocks
// and GAZE_GEMM_ACCUMULATE), otherwise C is overwritten without being read.
typedef void (*gemm_kernel_fn)(int64_t kc, const float * a, int64_t lda, const float * bp,
                               float * c, int64_t ldc, int mr, int nc, const float * bias,
                               bool load_c);

// NT form for few rows of A (1 <= m <= small_m), reading B [n, K] in place without packing:
// C[0:m, 0:n] (+)= A[0:m, 0:K] · B[0:n, 0:K]ᵀ (+ bias[0:n]); load_c adds the existing C.
typedef void (*gemm_small_fn)(int m, int64_t n, int64_t K, const float * a, int64_t lda,
                              const float * b, int64_t ldb, float * c, int64_t ldc,
                              const float * bias, bool load_c);

// Copies the strip a[0:mr, 0:kc] (row stride lda) k-major: ap[k·mr + r] = a[r·lda + k]; may
// write up to 8 floats past ap[kc·mr] (scratch the caller owns).
typedef void (*gemm_pack_a_fn)(const float * a, int64_t lda, int mr, int64_t kc, float * ap);

struct gemm_isa {
    const char *   name;
    int            mr, nr;       // micro-tile: mr rows of A × nr columns of B
    gemm_pack_fn   pack_nt;
    gemm_pack_fn   pack_nn;
    gemm_kernel_fn kernel;
    gemm_small_fn  small_nt;     // NULL: few-row products take the packed path too
    int            small_m;      // rows of A per small_nt call (its register tile)
    int64_t        small_rows;   // NT products with M <= small_rows use small_nt (measured
                                 // crossover against packing; bench/results/gemm.md)
    int            kc_max;       // deepest K slice (0: GEMM_KC_MAX of gemm.c); sized to the L1/L2
    bool           copy_a;       // copy each A strip (mr × kc) to a padded buffer first
    gemm_pack_a_fn pack_a;       // NULL: no packed-A path (gemm_block_pa in gemm.c)
    gemm_kernel_fn kernel_pa;    // the micro-kernel on a strip packed by pack_a (lda unused);
                                 // mr | 16 asks it to prefetch the B panel (a panel's first strip)
};

// Kernel lab switches of the AVX2 GEMM (bench/gemm.c --avx2-version; bench/results/gemm.md).
// Version 8 is the default (measured: gemm.c's header, bench/results/gemm.md); the others stay
// selectable so a run can interleave them:
//   v1  K slices of 512, A strips read in place, no software prefetch
//   v2  v1 with K slices of 256 (A strip + one B panel fit Zen 3's 32 KiB L1d)
//   v3  v2 + each A strip copied to a buffer of row stride kc + 16 (no L1 set aliasing)
//   v4  v3 + the micro-kernel prefetches the B panel 32 steps ahead (as the AVX-512 one)
//   v5  Goto/BLIS order: a block of up to GEMM_MC_MAX rows of A packed k-major per K slice
//       (in L2); each B panel (kc × 16, in L1) runs against every A strip of the block
//       before the next; strips of 5 or 6 rows, balanced (no 2-row remainder strip)
//   v6  v5 + the B panel prefetched 32 steps ahead on its first strip
//   v7  v6 + the next prepacked B panel prefetched to L2, a slice of it before each strip
//   v8  v7 with K slices of up to 384 (the B panel, 24 KiB, is all L1 must hold: the packed A
//       strip streams through); K = 768 in 2 slices, not 3
// Set only by benchmarks, before any GEMM runs; never by the library itself.
#define GEMM_AVX2_LAB_DEFAULT 8
void gemm_avx2_lab_version(int v);
extern int gemm_avx2_lab;   // the version in force (read by gemm.c and gemm_avx2.c)

extern const struct gemm_isa gemm_isa_avx512;   // 12 × 32, zmm
extern const struct gemm_isa gemm_isa_avx2;     //  6 × 16, ymm

// An F32 weight W [N, K] packed once by gaze_linear_prepare into the panels the micro-kernel
// reads, over the whole depth: data[(p·K + k)·nr + c] = W[p·nr + c, k], zero past N (what
// pack_nt writes for n0 = 0, nc = N, k0 = 0, kc = K). A K slice of panel p starts at
// data + p·K·nr + k0·nr. Only the ISA it was packed for reads it (its nr); under another
// ISA (gaze_set_isa) the linear layer multiplies the original weight.
struct gemm_packed {
    const struct gemm_isa * isa;
    int64_t n, k;                // N, K
    float * data;                // [ceil(N / nr), K, nr], 64-byte aligned
};

// AVX-512 bodies of the elementwise and row ops (ops_avx512.c); ops.c calls them after
// checking gaze_isa_active() and splits the work over threads. Same contracts as the public
// functions in gaze.h, on one chunk [n] or one row [C].
void ops_gelu_erf_avx512(const float * x, float * y, int64_t n);
void ops_gelu_erf_avx2(const float * x, float * y, int64_t n);   // ops_avx2.c: same values as avx512
// In place on x [n], on the calling thread, AVX-512, AVX2 or scalar: the GEMM's GELU epilogue. Same
// values as gaze_gelu_erf, element for element.
void ops_gelu_erf_span(float * x, int64_t n);
// RoPE of q [T, Hq, d] (row stride q_st) and k [T, Hk, d] (k_st; NULL: q only) with one cos/sin
// table per token (kernels/rope.c; gaze_rope_apply_freqs is it with k NULL). ops_rope_inv_freq:
// inv [rope_dim / 2] = 1 / base^(2i / rope_dim), gaze_rope_apply's frequencies.
enum gaze_status ops_rope_apply_qk(float * q, int64_t Hq, int64_t q_st, float * k, int64_t Hk, int64_t k_st,
                                   int64_t T, int64_t d, const int64_t * pos, enum gaze_rope_layout layout,
                                   int64_t rope_dim, const float * inv_freq, float mscale);
void ops_rope_inv_freq(float base, int64_t rope_dim, float * inv);
void ops_silu_avx512(const float * x, float * y, int64_t n);
void ops_gelu_tanh_avx512(const float * x, float * y, int64_t n);
void ops_geglu_tanh_avx512(const float * gate, const float * up, float * y, int64_t n);
void ops_swiglu_avx512(const float * gate, const float * up, float * y, int64_t n);
void ops_layer_norm_row_avx512(const float * x, float * y, int64_t C,
                               const float * weight, const float * bias, float eps);
bool ops_add_layer_norm_row_avx512(const float * x, const float * r, float * y, int64_t C,
                                   const float * weight, const float * bias, float eps);
void ops_rms_norm_row_avx512(const float * x, float * y, int64_t C, const float * weight, float eps);
void ops_softmax_row_avx512(const float * x, float * y, int64_t C);
void ops_l2_normalize_row_avx512(const float * x, float * y, int64_t C, float eps);

#endif
