// RoPE: both layouts against the float64 formula; the rotation keeps norms and makes q·k
// depend only on the position difference; partial rotation leaves the tail untouched.
#include "check.h"
#include "gaze.h"
#include <stdlib.h>
#include <string.h>

static double ref_rot(const float * v, int64_t idx, int64_t pos, int64_t rope_dim, double base, int neox) {
    int64_t half = rope_dim / 2, i, partner;
    double sign;
    if (idx >= rope_dim) return v[idx];
    if (neox) { i = idx % half; partner = idx < half ? idx + half : idx - half; sign = idx < half ? -1 : 1; }
    else { i = idx / 2; partner = idx ^ 1; sign = (idx % 2 == 0) ? -1 : 1; }
    double theta = (double)pos / pow(base, (double)(2 * i) / (double)rope_dim);
    return v[idx] * cos(theta) + sign * v[partner] * sin(theta);
}

int main(void) {
    const int64_t T = 37, H = 3, d = 64;
    float * x = malloc(T * H * d * sizeof(float)), * y = malloc(T * H * d * sizeof(float));
    int64_t pos[37];
    for (int64_t t = 0; t < T; t++) pos[t] = 5 + 3 * t;
    uint32_t r = 12345;
    for (int64_t i = 0; i < T * H * d; i++) { r = r * 1664525u + 1013904223u; x[i] = (float)(r >> 8) / 8388608.0f - 1.0f; }
    const int layouts[2] = { GAZE_ROPE_INTERLEAVED, GAZE_ROPE_NEOX };
    const int64_t rds[2] = { 64, 32 };
    for (int li = 0; li < 2; li++)
        for (int ri = 0; ri < 2; ri++) {
            memcpy(y, x, T * H * d * sizeof(float));
            CHECK(gaze_rope_apply(y, T, H, d, H * d, pos, layouts[li], rds[ri], 10000.0f) == GAZE_OK, "%s", gaze_last_error());
            double worst = 0;
            for (int64_t t = 0; t < T; t++)
                for (int64_t h = 0; h < H; h++)
                    for (int64_t c = 0; c < d; c++) {
                        double want = ref_rot(x + (t * H + h) * d, c, pos[t], rds[ri], 10000.0, li == 1);
                        double e = fabs(want - y[(t * H + h) * d + c]);
                        if (!(e <= worst)) worst = isnan(e) ? INFINITY : e;
                    }
            CHECK(worst < 2e-4, "layout %d rope_dim %lld: max err %.3g", layouts[li], (long long)rds[ri], worst);
        }
    // relative property: <R(p)q, R(p+k)v> is the same for p = 0 and p = 100
    float q[64], k[64], q2[64], k2[64];
    for (int c = 0; c < 64; c++) { q[c] = x[c]; k[c] = x[64 + c]; }
    double dots[2];
    for (int n = 0; n < 2; n++) {
        memcpy(q2, q, sizeof q); memcpy(k2, k, sizeof k);
        int64_t pq = n * 100, pk = n * 100 + 7;
        gaze_rope_apply(q2, 1, 1, 64, 64, &pq, GAZE_ROPE_NEOX, 64, 10000.0f);
        gaze_rope_apply(k2, 1, 1, 64, 64, &pk, GAZE_ROPE_NEOX, 64, 10000.0f);
        dots[n] = 0;
        for (int c = 0; c < 64; c++) dots[n] += (double)q2[c] * k2[c];
    }
    CHECK(fabs(dots[0] - dots[1]) < 1e-4, "rope q·k depends on absolute position: %.6f vs %.6f", dots[0], dots[1]);
    CHECK(gaze_rope_apply(y, T, H, d, H * d, pos, GAZE_ROPE_NEOX, 63, 10000.0f) == GAZE_ERR_INVALID_ARG, "odd rope_dim accepted");
    CHECK(gaze_rope_apply(y, T, H, d, H * d, pos, GAZE_ROPE_NEOX, 64, -1.0f) == GAZE_ERR_INVALID_ARG, "negative base accepted");
    free(x); free(y);
    return check_summary("test_rope");
}
