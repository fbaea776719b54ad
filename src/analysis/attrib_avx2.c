// AVX2 body of attrib_row_sums (analysis.h): the per-pair sums of the attribution decomposition,
// eight floats a step, two independent accumulator sets (FMA latency), horizontal sums in double.
// Called only from attrib.c after gaze_isa_active() reported AVX2.
#include "analysis/attrib_row.h"
#include <immintrin.h>
#include <math.h>

static inline double hsum(__m256 v) {
    const __m256d lo = _mm256_cvtps_pd(_mm256_castps256_ps128(v)), hi = _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1));
    const __m256d s = _mm256_add_pd(lo, hi);
    const __m128d t = _mm_add_pd(_mm256_castpd256_pd128(s), _mm256_extractf128_pd(s, 1));
    return _mm_cvtsd_f64(_mm_add_sd(t, _mm_unpackhi_pd(t, t)));
}

void attrib_row_sums_avx2(const float * z, const float * q, float m, const float * y, const float * ya, int64_t C,
                          double out[3]) {
    const __m256 vm = _mm256_set1_ps(m), sign = _mm256_set1_ps(-0.0f);
    __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, t0 = s0, t1 = s0, t2 = s0;
    int64_t c = 0;
    for (; c + 16 <= C; c += 16) {
        const __m256 za = _mm256_loadu_ps(z + c), zb = _mm256_loadu_ps(z + c + 8);
        s0 = _mm256_fmadd_ps(za, za, s0);
        t0 = _mm256_fmadd_ps(zb, zb, t0);
        const __m256 ua = _mm256_mul_ps(_mm256_sub_ps(za, vm), _mm256_loadu_ps(q + c));
        const __m256 ub = _mm256_mul_ps(_mm256_sub_ps(zb, vm), _mm256_loadu_ps(q + c + 8));
        s1 = _mm256_fmadd_ps(ua, ua, s1);
        t1 = _mm256_fmadd_ps(ub, ub, t1);
        const __m256 da = _mm256_andnot_ps(sign, _mm256_sub_ps(_mm256_loadu_ps(y + c), ua));
        const __m256 db = _mm256_andnot_ps(sign, _mm256_sub_ps(_mm256_loadu_ps(y + c + 8), ub));
        s2 = _mm256_add_ps(s2, _mm256_sub_ps(_mm256_loadu_ps(ya + c), da));
        t2 = _mm256_add_ps(t2, _mm256_sub_ps(_mm256_loadu_ps(ya + c + 8), db));
    }
    double r0 = hsum(_mm256_add_ps(s0, t0)), r1 = hsum(_mm256_add_ps(s1, t1)), r2 = hsum(_mm256_add_ps(s2, t2));
    for (; c < C; c++) {
        const double u = ((double)z[c] - m) * q[c];
        r0 += (double)z[c] * z[c];
        r1 += u * u;
        r2 += (double)ya[c] - fabs((double)y[c] - u);
    }
    out[0] = r0; out[1] = r1; out[2] = r2;
}
