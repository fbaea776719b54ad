// Elementwise and row ops against float64 references, on every ISA path this CPU has and
// with 1 and 2 threads: GELU (erf), SiLU, SwiGLU, add, layer norm, RMS norm, row softmax,
// L2 normalisation, masked mean pooling. Special values: ±0, ±inf, NaN, huge magnitudes.
#include "check.h"
#include "gaze.h"
#include <float.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static uint64_t g_rng;
static double urand(void) {   // uniform in [0, 1)
    g_rng ^= g_rng << 13; g_rng ^= g_rng >> 7; g_rng ^= g_rng << 17;
    return (g_rng >> 11) * (1.0 / 9007199254740992.0);
}

static double ulp(double v) {   // f32 ulp at |v|
    v = fabs(v);
    if (v < FLT_MIN) return 1.4e-45;
    int e;
    frexp(v, &e);
    return ldexp(1.0, e - 24);
}

// Fills x[n]: mostly uniform in [-lim, lim], a sprinkle of special values at fixed places.
static void fill(float * x, int64_t n, double lim, bool specials) {
    for (int64_t i = 0; i < n; i++) x[i] = (float)((2 * urand() - 1) * lim);
    if (!specials || n < 64) return;
    const float sp[] = {0.0f, -0.0f, INFINITY, -INFINITY, 1e-30f, -1e-30f, 3.9f, -3.9f, 4.0f,
                        -4.0f, 0.999999f, 1.0f, -1.0f, 1.000001f, 30.0f, -30.0f, 100.0f, -100.0f,
                        88.0f, -88.0f, 1e20f, -1e20f};
    for (size_t i = 0; i < sizeof sp / sizeof sp[0]; i++) x[i * 3 + 1] = sp[i];
}

static double gelu_ref(double x) { return 0.5 * x * (1.0 + erf(x / sqrt(2.0))); }
static double silu_ref(double x) { return x / (1.0 + exp(-x)); }
static double gelu_tanh_ref(double x) {
    return 0.5 * x * (1.0 + tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)));
}

// y matches ref within tol_ulp ulps + abs_tol·|x|; NaN/inf must match the reference class.
static bool close_to(float y, double ref, double tol_ulp, double abs_tol) {
    if (isnan(ref)) return isnan(y);
    if (isinf(ref)) return y == ref;
    if (!isfinite(y)) return false;
    return fabs(y - ref) <= tol_ulp * ulp(ref) + abs_tol;
}

enum { N_ELEM = 100003 };   // > 2 chunks per thread: exercises the threaded split and tails

static void test_elementwise(const char * isa) {
    float * x = malloc(sizeof(float) * N_ELEM), * u = malloc(sizeof(float) * N_ELEM);
    float * y = malloc(sizeof(float) * N_ELEM), * y1 = malloc(sizeof(float) * N_ELEM);
    fill(x, N_ELEM, 8.0, true);
    fill(u, N_ELEM, 3.0, false);
    for (int nt = 1; nt <= 2; nt++) {
        gaze_set_default_threads(nt);
        float * out = nt == 1 ? y1 : y;

        // GELU: torch's formula in f32 cancels in 1 + erf for x << 0, so the error bound
        // grows with |x| there (torch has the same); 1e-7 absolute per unit of |x|.
        gaze_gelu_erf(x, out, N_ELEM);
        int bad = 0;
        double worst = 0;
        for (int64_t i = 0; i < N_ELEM; i++) {
            const double r = gelu_ref(x[i]);
            if (!close_to(out[i], r, 2.0, 1e-7 * fmin(fabs(x[i]), 8.0) + 1e-30)) {
                if (bad++ < 5) fprintf(stderr, "  gelu(%.9g) = %.9g, ref %.9g\n", x[i], out[i], r);
            } else if (isfinite(r)) worst = fmax(worst, fabs(out[i] - r));
        }
        CHECK(bad == 0, "%s nt=%d gelu: %d of %d out of tolerance", isa, nt, bad, N_ELEM);
        if (nt == 1) printf("  %s gelu: max abs error %.3g\n", isa, worst);
        CHECK(out[1] == 0 && isinf(out[7]) && out[7] > 0, "%s gelu(0)=%g gelu(inf)=%g", isa, out[1], out[7]);

        // GELU, tanh form (Gemma, GPT-2): the same cancellation for x << 0 as above
        gaze_gelu_tanh(x, out, N_ELEM);
        bad = 0;
        worst = 0;
        for (int64_t i = 0; i < N_ELEM; i++) {
            const double r = gelu_tanh_ref(x[i]);
            if (!close_to(out[i], r, 4.0, 1.2e-7 * fmin(fabs(x[i]), 8.0) + 1e-30)) {
                if (bad++ < 5) fprintf(stderr, "  gelu_tanh(%.9g) = %.9g, ref %.9g\n", x[i], out[i], r);
            } else if (isfinite(r)) worst = fmax(worst, fabs(out[i] - r));
        }
        CHECK(bad == 0, "%s nt=%d gelu_tanh: %d of %d out of tolerance", isa, nt, bad, N_ELEM);
        if (nt == 1) printf("  %s gelu_tanh: max abs error %.3g\n", isa, worst);
        CHECK(out[1] == 0 && isinf(out[7]) && out[7] > 0, "%s gelu_tanh(0)=%g gelu_tanh(inf)=%g", isa, out[1], out[7]);

        gaze_geglu_tanh(x, u, out, N_ELEM);
        bad = 0;
        for (int64_t i = 0; i < N_ELEM; i++) {
            const double r = gelu_tanh_ref(x[i]) * u[i];
            if (isfinite(x[i]) && !close_to(out[i], r, 6.0, 1.2e-7 * fmin(fabs(x[i]), 8.0) * fabs(u[i]) + 1e-30))
                if (bad++ < 5) fprintf(stderr, "  geglu_tanh(%.9g, %.9g) = %.9g, ref %.9g\n", x[i], u[i], out[i], r);
        }
        CHECK(bad == 0, "%s nt=%d geglu_tanh: %d of %d out of tolerance", isa, nt, bad, N_ELEM);

        gaze_silu(x, out, N_ELEM);
        bad = 0;
        for (int64_t i = 0; i < N_ELEM; i++)
            if (!close_to(out[i], silu_ref(x[i]), 4.0, 1e-37) && !(isinf(x[i]) && x[i] < 0 && out[i] == 0)) {
                if (bad++ < 5) fprintf(stderr, "  silu(%.9g) = %.9g, ref %.9g\n", x[i], out[i], silu_ref(x[i]));
            }
        CHECK(bad == 0, "%s nt=%d silu: %d of %d out of tolerance", isa, nt, bad, N_ELEM);

        gaze_swiglu(x, u, out, N_ELEM);
        bad = 0;
        for (int64_t i = 0; i < N_ELEM; i++) {
            const double r = silu_ref(x[i]) * u[i];
            if (isfinite(x[i]) && !close_to(out[i], r, 6.0, 1e-37))
                if (bad++ < 5) fprintf(stderr, "  swiglu(%.9g, %.9g) = %.9g, ref %.9g\n", x[i], u[i], out[i], r);
        }
        CHECK(bad == 0, "%s nt=%d swiglu: %d of %d out of tolerance", isa, nt, bad, N_ELEM);

        gaze_add(x, u, out, N_ELEM);
        bad = 0;
        for (int64_t i = 0; i < N_ELEM; i++) bad += !(out[i] == x[i] + u[i] || (isnan(out[i]) && isnan(x[i] + u[i])));
        CHECK(bad == 0, "%s nt=%d add: %d wrong", isa, nt, bad);
    }
    // in place, and 1 vs 2 threads identical (elementwise: same code per element)
    gaze_set_default_threads(1);
    gaze_gelu_erf(x, y1, N_ELEM);
    memcpy(y, x, sizeof(float) * N_ELEM);
    gaze_set_default_threads(2);
    gaze_gelu_erf(y, y, N_ELEM);
    CHECK(memcmp(y, y1, sizeof(float) * N_ELEM) == 0, "%s gelu in place / 2 threads differs", isa);
    free(x); free(u); free(y); free(y1);
}

static void test_norms(const char * isa) {
    static const int64_t Cs[] = {1, 5, 16, 17, 33, 384, 577};
    enum { T = 9 };
    for (size_t ci = 0; ci < sizeof Cs / sizeof Cs[0]; ci++) {
        const int64_t C = Cs[ci];
        float * x = malloc(sizeof(float) * T * C), * y = malloc(sizeof(float) * T * C);
        float * w = malloc(sizeof(float) * C), * b = malloc(sizeof(float) * C);
        fill(x, T * C, 3.0, false);
        for (int64_t i = 0; i < C; i++) { w[i] = (float)(0.5 + urand()); b[i] = (float)(urand() - 0.5); }
        for (int64_t i = 0; i < C; i++) x[2 * C + i] += 100.0f;   // large mean: needs two passes
        for (int variant = 0; variant < 2; variant++) {
            const float * wv = variant ? NULL : w, * bv = variant ? NULL : b;
            // layer norm
            gaze_layer_norm(x, y, T, C, wv, bv, 1e-12f);
            double maxe = 0;
            for (int64_t t = 0; t < T; t++) {
                double m = 0, v = 0;
                for (int64_t i = 0; i < C; i++) m += x[t * C + i];
                m /= C;
                for (int64_t i = 0; i < C; i++) v += (x[t * C + i] - m) * (x[t * C + i] - m);
                v /= C;
                for (int64_t i = 0; i < C; i++) {
                    double r = (x[t * C + i] - m) / sqrt(v + 1e-12);
                    if (wv) r = r * wv[i] + bv[i];
                    maxe = fmax(maxe, fabs(y[t * C + i] - r) / (1 + fabs(r)));
                    if (isnan(y[t * C + i])) maxe = INFINITY;
                }
            }
            // (a float mean of ~100 is off by up to half an ulp: ~2e-6 of a unit deviation)
            CHECK(maxe <= 5e-6, "%s layer norm C=%lld w=%d: max error %.3g", isa, (long long)C, !variant, maxe);
            // rms norm
            gaze_rms_norm(x, y, T, C, wv, 1e-6f);
            maxe = 0;
            for (int64_t t = 0; t < T; t++) {
                double ss = 0;
                for (int64_t i = 0; i < C; i++) ss += (double)x[t * C + i] * x[t * C + i];
                const double r0 = 1 / sqrt(ss / C + 1e-6);
                for (int64_t i = 0; i < C; i++) {
                    const double r = x[t * C + i] * r0 * (wv ? wv[i] : 1.0);
                    maxe = fmax(maxe, fabs(y[t * C + i] - r) / (1 + fabs(r)));
                    if (isnan(y[t * C + i])) maxe = INFINITY;
                }
            }
            CHECK(maxe <= 5e-6, "%s rms norm C=%lld w=%d: max error %.3g", isa, (long long)C, !variant, maxe);
        }
        // in place equals out of place
        float * z = malloc(sizeof(float) * T * C);
        memcpy(z, x, sizeof(float) * T * C);
        gaze_layer_norm(x, y, T, C, w, b, 1e-5f);
        gaze_layer_norm(z, z, T, C, w, b, 1e-5f);
        CHECK(memcmp(y, z, sizeof(float) * T * C) == 0, "%s layer norm in place differs", isa);
        // residual add + layer norm: bit for bit gaze_add then gaze_layer_norm, any threads,
        // aliased or not; counts the rows that hold Inf/NaN
        {
            float * r = malloc(sizeof(float) * T * C), * want = malloc(sizeof(float) * T * C);
            float * got = malloc(sizeof(float) * T * C), * sum = malloc(sizeof(float) * T * C);
            for (int64_t i = 0; i < T * C; i++) r[i] = (float)(4.0 * urand() - 2.0);
            gaze_add(x, r, sum, T * C);
            gaze_layer_norm(sum, want, T, C, w, b, 1e-12f);
            for (int nt = 1; nt <= 2; nt++) {
                memset(got, 0xff, sizeof(float) * T * C);
                int64_t bad = gaze_add_layer_norm(x, r, got, T, C, w, b, 1e-12f, nt);
                CHECK(bad == 0 && !memcmp(got, want, sizeof(float) * T * C),
                      "%s add+layer norm C=%lld threads=%d: differs from add then norm (bad rows %lld)", isa,
                      (long long)C, nt, (long long)bad);
                memcpy(got, r, sizeof(float) * T * C);   // y aliases r
                gaze_add_layer_norm(x, got, got, T, C, w, b, 1e-12f, nt);
                CHECK(!memcmp(got, want, sizeof(float) * T * C), "%s add+layer norm into r differs", isa);
                memcpy(got, sum, sizeof(float) * T * C);  // no residual, in place
                gaze_add_layer_norm(got, NULL, got, T, C, w, b, 1e-12f, nt);
                CHECK(!memcmp(got, want, sizeof(float) * T * C), "%s layer norm (r = NULL) differs", isa);
            }
            if (T >= 4) {
                memcpy(got, sum, sizeof(float) * T * C);
                got[1 * C] = INFINITY;                  // row 1: Inf in, NaN out
                got[3 * C + C - 1] = NAN;               // row 3
                int64_t bad = gaze_add_layer_norm(got, NULL, got, T, C, w, b, 1e-12f, 2);
                CHECK(bad == 2, "%s add+layer norm: %lld non-finite rows reported, expected 2", isa, (long long)bad);
                float big[2] = { 3e38f, 3e38f }, out[2];   // the add itself overflows
                CHECK(gaze_add_layer_norm(big, big, out, 1, 2, NULL, NULL, 1e-5f, 1) == 1,
                      "%s add+layer norm: overflowing sum not reported", isa);
            }
            free(r); free(want); free(got); free(sum);
        }
        // l2 normalise: unit norm, zero row stays zero
        for (int64_t i = 0; i < C; i++) x[4 * C + i] = 0.0f;
        gaze_l2_normalize(x, y, T, C, 1e-12f);
        double worst = 0;
        bool zero_ok = true;
        for (int64_t t = 0; t < T; t++) {
            double ss = 0, xs = 0;
            for (int64_t i = 0; i < C; i++) { ss += (double)y[t * C + i] * y[t * C + i]; xs += (double)x[t * C + i] * x[t * C + i]; }
            if (t == 4) { zero_ok = ss == 0; continue; }
            worst = fmax(worst, fabs(sqrt(ss) - 1));
            for (int64_t i = 0; i < C; i++)
                worst = fmax(worst, fabs(y[t * C + i] - x[t * C + i] / sqrt(xs)));
        }
        CHECK(worst <= 1e-6 && zero_ok, "%s l2 normalize C=%lld: error %.3g, zero row %s", isa,
              (long long)C, worst, zero_ok ? "ok" : "not zero");
        free(x); free(y); free(w); free(b); free(z);
    }
}

// Big enough to split over 2 threads (the small shapes above stay on one).
static void test_add_layer_norm_threads(const char * isa) {
    const int64_t T = 130, C = 384;
    float * x = malloc(sizeof(float) * T * C), * r = malloc(sizeof(float) * T * C), * w = malloc(sizeof(float) * C);
    float * want = malloc(sizeof(float) * T * C), * got = malloc(sizeof(float) * T * C);
    fill(x, T * C, 3.0, false);
    fill(r, T * C, 1.0, false);
    for (int64_t i = 0; i < C; i++) w[i] = (float)(0.5 + urand());
    gaze_add(x, r, want, T * C);
    gaze_layer_norm(want, want, T, C, w, NULL, 1e-12f);
    for (int nt = 1; nt <= 2; nt++) {
        memcpy(got, x, sizeof(float) * T * C);
        got[(T - 1) * C + 7] = INFINITY;   // last row: the second thread's
        int64_t bad = gaze_add_layer_norm(got, r, got, T, C, w, NULL, 1e-12f, nt);
        CHECK(bad == 1 && !memcmp(got, want, sizeof(float) * (T - 1) * C),
              "%s add+layer norm T=%lld threads=%d: %lld bad rows (1 expected) or values differ", isa,
              (long long)T, nt, (long long)bad);
    }
    free(x); free(r); free(w); free(want); free(got);
}

static void test_softmax(const char * isa) {
    static const int64_t Cs[] = {1, 3, 16, 31, 100, 1000};
    for (size_t ci = 0; ci < sizeof Cs / sizeof Cs[0]; ci++) {
        const int64_t C = Cs[ci], T = 6;
        float * x = malloc(sizeof(float) * T * C), * y = malloc(sizeof(float) * T * C);
        fill(x, T * C, 10.0, false);
        for (int64_t i = 0; i < C; i++) {
            x[1 * C + i] = -INFINITY;                           // row 1: fully masked
            x[2 * C + i] = (float)((2 * urand() - 1) * 1e4);    // row 2: huge magnitudes
        }
        x[3 * C] = -INFINITY;                                   // row 3: one masked entry
        if (C > 1) x[4 * C + C / 2] = NAN;                      // row 4: NaN
        gaze_softmax_rows(x, y, T, C);
        for (int64_t t = 0; t < T; t++) {
            const float * xr = x + t * C, * yr = y + t * C;
            if (t == 1 || (t == 3 && C == 1)) {
                bool zeros = true;
                for (int64_t i = 0; i < C; i++) zeros &= yr[i] == 0.0f;
                CHECK(zeros, "%s softmax C=%lld row %lld: all -inf must give zeros", isa, (long long)C, (long long)t);
                continue;
            }
            if (t == 4 && C > 1) {
                bool nan = true;
                for (int64_t i = 0; i < C; i++) nan &= isnan(yr[i]);
                CHECK(nan, "%s softmax C=%lld: NaN row must be NaN", isa, (long long)C);
                continue;
            }
            double mx = -INFINITY, sum = 0, ysum = 0, maxe = 0;
            for (int64_t i = 0; i < C; i++) mx = fmax(mx, xr[i]);
            // the f32 difference x - max is the input every f32 softmax exponentiates
            for (int64_t i = 0; i < C; i++) sum += exp((double)(xr[i] - (float)mx));
            for (int64_t i = 0; i < C; i++) {
                const double r = exp((double)(xr[i] - (float)mx)) / sum;
                ysum += yr[i];
                maxe = fmax(maxe, isfinite(yr[i]) ? fabs(yr[i] - r) / (r + 1e-30) * (r > 1e-30) : INFINITY);
            }
            CHECK(fabs(ysum - 1) <= 1e-6 && maxe <= 1e-6, "%s softmax C=%lld row %lld: sum %.9g, max rel error %.3g",
                  isa, (long long)C, (long long)t, ysum, maxe);
        }
        free(x); free(y);
    }
}

static void test_mean_pool(void) {
    enum { T = 7, C = 130 };
    static float x[T * C], y[C];
    const uint8_t mask[T] = {1, 1, 0, 1, 0, 0, 1};
    const uint8_t none[T] = {0};
    fill(x, T * C, 2.0, false);
    gaze_mean_pool(x, mask, T, C, y);
    double maxe = 0;
    for (int c = 0; c < C; c++) {
        const double r = ((double)x[0 * C + c] + x[1 * C + c] + x[3 * C + c] + x[6 * C + c]) / 4;
        maxe = fmax(maxe, fabs(y[c] - r));
    }
    CHECK(maxe <= 1e-7, "mean pool with mask: max error %.3g", maxe);
    gaze_mean_pool(x, NULL, T, C, y);
    maxe = 0;
    for (int c = 0; c < C; c++) {
        double r = 0;
        for (int t = 0; t < T; t++) r += x[t * C + c];
        maxe = fmax(maxe, fabs(y[c] - r / T));
    }
    CHECK(maxe <= 1e-7, "mean pool without mask: max error %.3g", maxe);
    gaze_mean_pool(x, none, T, C, y);
    bool zeros = true;
    for (int c = 0; c < C; c++) zeros &= y[c] == 0.0f;
    CHECK(zeros, "mean pool with no real token must give zeros");
}

int main(void) {
    const char * s = getenv("GAZE_TEST_SEED");
    g_rng = s ? strtoull(s, NULL, 0) : 0x2545F4914F6CDD1Dull;
    if (!g_rng) g_rng = 1;
    printf("test_ops: seed 0x%llx (set GAZE_TEST_SEED to change)\n", (unsigned long long)g_rng);
    const enum gaze_isa best = gaze_isa_active();
    for (int isa = GAZE_ISA_SCALAR; isa <= GAZE_ISA_AVX512; isa++) {
        if (gaze_set_isa((enum gaze_isa)isa) != GAZE_OK) continue;
        const char * name = gaze_isa_name((enum gaze_isa)isa);
        test_elementwise(name);
        test_add_layer_norm_threads(name);
        for (int nt = 1; nt <= 2; nt++) {
            gaze_set_default_threads(nt);
            test_norms(name);
            test_softmax(name);
        }
    }
    gaze_set_isa(best);
    gaze_set_default_threads(0);
    test_mean_pool();
    return check_summary("test_ops");
}
