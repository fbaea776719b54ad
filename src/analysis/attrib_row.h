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
#endif
