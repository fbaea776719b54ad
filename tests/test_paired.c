// gaze_paired_stats_compute (gaze bias): a constant shift is significant with a degenerate
// interval, a symmetric zero-mean sample is not (p = 1), NaN pairs are left out per statistic,
// Benjamini-Hochberg q-values are >= p and keep the p-values' order, the interval brackets the
// mean, and a seed gives the same numbers twice.
#include "check.h"
#include "gaze.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

int main(void) {
    enum { N = 24, K = 4, B = 2000 };
    double d[N * K];
    for (int i = 0; i < N; i++) {
        d[i * K + 0] = 0.1;                                 // constant shift
        d[i * K + 1] = i % 2 ? 1.0 : -1.0;                  // symmetric, mean 0
        d[i * K + 2] = 0.05 + 0.2 * ((i * 7) % 5 - 2) / 2;  // noisy, mean 0.05
        d[i * K + 3] = i < 4 ? NAN : 0.02 * (i % 3);        // 4 pairs missing
    }
    struct gaze_paired_stats a, b;
    CHECK(gaze_paired_stats_compute(d, N, K, B, 0.05, 7, &a) == GAZE_OK, "compute: %s", gaze_last_error());
    CHECK(fabs(a.mean[0] - 0.1) < 1e-12 && fabs(a.lo[0] - 0.1) < 1e-12 && fabs(a.hi[0] - 0.1) < 1e-12,
          "constant: mean %g [%g, %g]", a.mean[0], a.lo[0], a.hi[0]);
    CHECK(a.p[0] < 0.002, "constant shift significant: p %g", a.p[0]);
    CHECK(a.mean[1] == 0 && a.p[1] == 1.0, "symmetric: mean %g p %g", a.mean[1], a.p[1]);
    CHECK(a.lo[2] <= a.mean[2] && a.mean[2] <= a.hi[2] && a.lo[2] < a.hi[2], "interval brackets the mean");
    CHECK(a.n[3] == N - 4 && a.n[0] == N, "NaN pairs left out: n %lld", (long long)a.n[3]);
    for (int k = 0; k < K; k++) CHECK(a.q[k] >= a.p[k] - 1e-15 && a.q[k] <= 1, "q[%d] %g >= p %g", k, a.q[k], a.p[k]);
    for (int j = 0; j < K; j++)
        for (int k = 0; k < K; k++)
            if (a.p[j] < a.p[k]) CHECK(a.q[j] <= a.q[k], "BH keeps the order: q %g > %g", a.q[j], a.q[k]);
    CHECK(gaze_paired_stats_compute(d, N, K, B, 0.05, 7, &b) == GAZE_OK, "second compute");
    CHECK(memcmp(a.lo, b.lo, sizeof(double) * K) == 0 && memcmp(a.p, b.p, sizeof(double) * K) == 0, "same seed, same numbers");
    gaze_paired_stats_free(&a);
    gaze_paired_stats_free(&b);
    CHECK(gaze_paired_stats_compute(d, N, K, 5, 0.05, 7, &a) == GAZE_ERR_INVALID_ARG, "B < 10 refused");
    return check_summary("test_paired");
}
