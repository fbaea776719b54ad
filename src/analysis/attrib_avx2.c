// AVX2 body of attrib_row_sums (analysis.h): the per-pair sums of the attribution decomposition,
// eight floats a step, two independent accumulator sets (FMA latency), horizontal sums in double;
// and the block's smaller loops (attrib_summand_avx2, attrib_sums4_avx2, attrib_scale_avx2,
// attrib_mrow_avx2), each bit-identical to the scalar loop it replaces (same operations in the
// same order per element: no FMA where the scalar code rounds a product, lanes across rows or
// channels only). Called only from attrib.c after gaze_isa_active() reported AVX2.
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

// Fused form for a block of query rows that read key j: the summands are made 2 rows × 16
// channels at a time in registers (Σ_h α_rh F[h]) and go straight into the row sums, so Z is
// never stored, reloaded or packed (at depth H the GEMM spends much of its time on that).
// A [rows, H]; F row h at F + h·ldf; q, y, ya rows at r·C; m [rows]; out [rows, 3].
static inline void row_tail(const float * a, int64_t H, const float * F, int64_t ldf, int64_t c0, int64_t C,
                            const float * q, float m, const float * y, const float * ya, double * o) {
    for (int64_t c = c0; c < C; c++) {
        float z = 0;
        for (int64_t h = 0; h < H; h++) z += a[h] * F[h * ldf + c];
        const double u = ((double)z - m) * q[c];
        o[0] += (double)z * z;
        o[1] += u * u;
        o[2] += (double)ya[c] - fabs((double)y[c] - u);
    }
}

void attrib_pairs_avx2(const float * A, int64_t H, const float * F, int64_t ldf, int64_t C, const float * q,
                       const float * y, const float * ya, const float * m, int64_t rows, double * out) {
    const __m256 sign = _mm256_set1_ps(-0.0f);
    const int64_t C16 = C / 16 * 16;
    int64_t r = 0;
    for (; r + 2 <= rows; r += 2) {
        const float * a0 = A + r * H, * a1 = a0 + H;
        const __m256 m0 = _mm256_set1_ps(m[r]), m1 = _mm256_set1_ps(m[r + 1]);
        __m256 s00 = _mm256_setzero_ps(), s01 = s00, s02 = s00, s10 = s00, s11 = s00, s12 = s00;
        for (int64_t c = 0; c < C16; c += 16) {
            __m256 z00 = _mm256_setzero_ps(), z01 = z00, z10 = z00, z11 = z00;
            for (int64_t h = 0; h < H; h++) {
                const __m256 f0 = _mm256_loadu_ps(F + h * ldf + c), f1 = _mm256_loadu_ps(F + h * ldf + c + 8);
                const __m256 b0 = _mm256_broadcast_ss(a0 + h), b1 = _mm256_broadcast_ss(a1 + h);
                z00 = _mm256_fmadd_ps(b0, f0, z00);
                z01 = _mm256_fmadd_ps(b0, f1, z01);
                z10 = _mm256_fmadd_ps(b1, f0, z10);
                z11 = _mm256_fmadd_ps(b1, f1, z11);
            }
#define ROW_SUMS(z, k, mm, off, s0, s1, s2)                                                                      \
            {                                                                                                    \
                const float * qq = q + (r + k) * C + c + off, * yy = y + (r + k) * C + c + off,                  \
                            * aa = ya + (r + k) * C + c + off;                                                   \
                s0 = _mm256_fmadd_ps(z, z, s0);                                                                  \
                const __m256 u = _mm256_mul_ps(_mm256_sub_ps(z, mm), _mm256_loadu_ps(qq));                      \
                s1 = _mm256_fmadd_ps(u, u, s1);                                                                  \
                s2 = _mm256_add_ps(s2, _mm256_sub_ps(_mm256_loadu_ps(aa),                                        \
                                                     _mm256_andnot_ps(sign, _mm256_sub_ps(_mm256_loadu_ps(yy), u)))); \
            }
            ROW_SUMS(z00, 0, m0, 0, s00, s01, s02)
            ROW_SUMS(z01, 0, m0, 8, s00, s01, s02)
            ROW_SUMS(z10, 1, m1, 0, s10, s11, s12)
            ROW_SUMS(z11, 1, m1, 8, s10, s11, s12)
#undef ROW_SUMS
        }
        double * o0 = out + r * 3, * o1 = o0 + 3;
        o0[0] = hsum(s00); o0[1] = hsum(s01); o0[2] = hsum(s02);
        o1[0] = hsum(s10); o1[1] = hsum(s11); o1[2] = hsum(s12);
        row_tail(a0, H, F, ldf, C16, C, q + r * C, m[r], y + r * C, ya + r * C, o0);
        row_tail(a1, H, F, ldf, C16, C, q + (r + 1) * C, m[r + 1], y + (r + 1) * C, ya + (r + 1) * C, o1);
    }
    for (; r < rows; r++) {
        double * o = out + r * 3;
        o[0] = o[1] = o[2] = 0;
        row_tail(A + r * H, H, F, ldf, 0, C, q + r * C, m[r], y + r * C, ya + r * C, o);
    }
}

void attrib_summand_avx2(const float * a, int64_t H, const float * F, int64_t ldf, int64_t C, float * z) {
    int64_t c = 0;
    for (; c + 32 <= C; c += 32) {   // four independent chains: the h loop's mul-add latency overlaps
        __m256 z0 = _mm256_setzero_ps(), z1 = z0, z2 = z0, z3 = z0;
        for (int64_t h = 0; h < H; h++) {
            const __m256 b = _mm256_broadcast_ss(a + h);
            const float * f = F + h * ldf + c;
            z0 = _mm256_add_ps(z0, _mm256_mul_ps(b, _mm256_loadu_ps(f)));
            z1 = _mm256_add_ps(z1, _mm256_mul_ps(b, _mm256_loadu_ps(f + 8)));
            z2 = _mm256_add_ps(z2, _mm256_mul_ps(b, _mm256_loadu_ps(f + 16)));
            z3 = _mm256_add_ps(z3, _mm256_mul_ps(b, _mm256_loadu_ps(f + 24)));
        }
        _mm256_storeu_ps(z + c, z0);
        _mm256_storeu_ps(z + c + 8, z1);
        _mm256_storeu_ps(z + c + 16, z2);
        _mm256_storeu_ps(z + c + 24, z3);
    }
    for (; c + 8 <= C; c += 8) {
        __m256 z0 = _mm256_setzero_ps();
        for (int64_t h = 0; h < H; h++) z0 = _mm256_add_ps(z0, _mm256_mul_ps(_mm256_broadcast_ss(a + h), _mm256_loadu_ps(F + h * ldf + c)));
        _mm256_storeu_ps(z + c, z0);
    }
    for (; c < C; c++) {
        float acc = 0;
        for (int64_t h = 0; h < H; h++) acc += a[h] * F[h * ldf + c];
        z[c] = acc;
    }
}

// one row as sums4: lane k holds the scalar code's a[k], q[k] (products of floats are exact in
// double); rows go two at a time, so four independent chains hide the adds' latency
static inline void sums4_tail(const float * v, int64_t c, int64_t n, __m256d a, __m256d q, double * sum, double * sq) {
    double al[4], ql[4];
    _mm256_storeu_pd(al, a);
    _mm256_storeu_pd(ql, q);
    for (; c < n; c++) { al[0] += v[c]; ql[0] += (double)v[c] * v[c]; }
    *sum = (al[0] + al[1]) + (al[2] + al[3]);
    *sq = (ql[0] + ql[1]) + (ql[2] + ql[3]);
}

void attrib_sums4_avx2(const float * v, int64_t rows, int64_t n, double * sum, double * sq) {
    const int64_t n4 = n / 4 * 4;
    int64_t r = 0;
    for (; r + 2 <= rows; r += 2) {
        const float * v0 = v + r * n, * v1 = v0 + n;
        __m256d a0 = _mm256_setzero_pd(), q0 = a0, a1 = a0, q1 = a0;
        for (int64_t c = 0; c < n4; c += 4) {
            const __m256d x0 = _mm256_cvtps_pd(_mm_loadu_ps(v0 + c)), x1 = _mm256_cvtps_pd(_mm_loadu_ps(v1 + c));
            a0 = _mm256_add_pd(a0, x0);
            q0 = _mm256_add_pd(q0, _mm256_mul_pd(x0, x0));
            a1 = _mm256_add_pd(a1, x1);
            q1 = _mm256_add_pd(q1, _mm256_mul_pd(x1, x1));
        }
        sums4_tail(v0, n4, n, a0, q0, sum + r, sq + r);
        sums4_tail(v1, n4, n, a1, q1, sum + r + 1, sq + r + 1);
    }
    for (; r < rows; r++) {
        const float * v0 = v + r * n;
        __m256d a0 = _mm256_setzero_pd(), q0 = a0;
        for (int64_t c = 0; c < n4; c += 4) {
            const __m256d x0 = _mm256_cvtps_pd(_mm_loadu_ps(v0 + c));
            a0 = _mm256_add_pd(a0, x0);
            q0 = _mm256_add_pd(q0, _mm256_mul_pd(x0, x0));
        }
        sums4_tail(v0, n4, n, a0, q0, sum + r, sq + r);
    }
}

void attrib_scale_avx2(const float * a, const double * f, int64_t n, float * out) {
    int64_t j = 0;
    for (; j + 4 <= n; j += 4)
        _mm_storeu_ps(out + j, _mm256_cvtpd_ps(_mm256_mul_pd(_mm256_cvtps_pd(_mm_loadu_ps(a + j)), _mm256_loadu_pd(f + j))));
    for (; j < n; j++) out[j] = (float)(a[j] * f[j]);
}

void attrib_mrow_avx2(const float * A, int64_t H, const double * mu, int64_t mu_stride, int64_t rows, float * m) {
    int64_t r = 0;
    for (; r + 4 <= rows; r += 4) {   // four rows in the lanes, each summed over h in order
        __m256d acc = _mm256_setzero_pd();
        for (int64_t h = 0; h < H; h++) {
            const __m256d x = _mm256_cvtps_pd(_mm_set_ps(A[(r + 3) * H + h], A[(r + 2) * H + h], A[(r + 1) * H + h], A[r * H + h]));
            acc = _mm256_add_pd(acc, _mm256_mul_pd(x, _mm256_set1_pd(mu[h * mu_stride])));
        }
        _mm_storeu_ps(m + r, _mm256_cvtpd_ps(acc));
    }
    for (; r < rows; r++) {
        double acc = 0;
        for (int64_t h = 0; h < H; h++) acc += (double)A[r * H + h] * mu[h * mu_stride];
        m[r] = (float)acc;
    }
}
