// The per-pair kernel of the attribution decomposition (attrib.c), portable and AVX2.
#ifndef GAZE_ATTRIB_ROW_H
#define GAZE_ATTRIB_ROW_H
#include "core/core.h"

// One (query i, key j) pair over a row of C: with u = (z − m) ⊙ q (the summand z_ij through the
// linear part of the block's norm),
//   out[0] = Σ z²,  out[1] = Σ u²,  out[2] = Σ (|y| − |y − u|) = ‖y‖₁ − ‖y − u‖₁
// (y the block output, ya = |y| precomputed: ALTI's difference is summed per element, so the
// float rounding scales with u, not with ‖y‖₁). Portable: double sums; AVX2: float lanes.
void attrib_row_sums(const float * z, const float * q, float m, const float * y, const float * ya, int64_t C,
                     double out[3]);
void attrib_row_sums_avx2(const float * z, const float * q, float m, const float * y, const float * ya, int64_t C,
                          double out[3]);
// AVX2 only, fused: for rows r of queries that read key j, z_r = Σ_h A[r, h] F[h] (A [rows, H],
// F row h at F + h·ldf) made in registers and summed as attrib_row_sums does, with q, y, ya of
// row r at r·C and m [rows]; out [rows, 3]. The portable path is gaze_gemm_f32 + attrib_row_sums.
void attrib_pairs_avx2(const float * A, int64_t H, const float * F, int64_t ldf, int64_t C, const float * q,
                       const float * y, const float * ya, const float * m, int64_t rows, double * out);
// AVX2 only, bit-identical to attrib.c's scalar loops: z [C] = Σ_h a[h] F[h] (F row h at
// F + h·ldf, summed in h order, product then add); Σ v and Σ v² of each row of v [rows, n] as
// sums4 (four double lanes);
// out [n] = (float)(a · f) with f in double; m [rows] = (float)Σ_h (double)A[r, h] mu[h·mu_stride].
void attrib_summand_avx2(const float * a, int64_t H, const float * F, int64_t ldf, int64_t C, float * z);
void attrib_sums4_avx2(const float * v, int64_t rows, int64_t n, double * sum, double * sq);
void attrib_scale_avx2(const float * a, const double * f, int64_t n, float * out);
void attrib_mrow_avx2(const float * A, int64_t H, const double * mu, int64_t mu_stride, int64_t rows, float * m);
#endif
