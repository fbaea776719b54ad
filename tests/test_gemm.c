// GEMM and linear layer against a float64 reference: odd shapes, strided views, bias,
// accumulation, NT and NN forms, every ISA path this CPU has, 1 and 2 threads.
#include "check.h"
#include "gaze.h"
#include "kernels/gemm.h"   // gemm_avx2_lab_version: the AVX2 kernel lab's versions
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static uint64_t g_rng;
static enum gaze_isa g_best_isa;
static float frand(void) {   // uniform in [-1, 1)
    g_rng ^= g_rng << 13; g_rng ^= g_rng >> 7; g_rng ^= g_rng << 17;
    return (float)((g_rng >> 40) * (1.0 / (1 << 23)) - 1.0);
}

// ‖got − ref‖_F / ‖ref‖_F over an [M, N] view; +inf if any value is not finite, so NaN
// can never pass a tolerance test.
static double rel_err(const float * got, int64_t ldg, const double * ref, int64_t M, int64_t N) {
    double num = 0, den = 0;
    for (int64_t i = 0; i < M; i++)
        for (int64_t j = 0; j < N; j++) {
            const double g = got[i * ldg + j], r = ref[i * N + j];
            if (!isfinite(g)) return INFINITY;
            num += (g - r) * (g - r);
            den += r * r;
        }
    return den > 0 ? sqrt(num / den) : sqrt(num);
}

struct gemm_case {
    int64_t M, N, K, lda, ldb, ldc;
    bool    nn, bias, acc;
};

// Runs one case on every ISA and thread count.
static void run_case(const struct gemm_case * t) {
    const int64_t b_rows = t->nn ? t->K : t->N;
    float * A = malloc(sizeof(float) * (size_t)(t->M * t->lda + 1));
    float * B = malloc(sizeof(float) * (size_t)(b_rows * t->ldb + 1));
    float * bias = malloc(sizeof(float) * (size_t)t->N);
    float * C0 = malloc(sizeof(float) * (size_t)(t->M * t->ldc));
    float * C = malloc(sizeof(float) * (size_t)(t->M * t->ldc));
    float * C1 = malloc(sizeof(float) * (size_t)(t->M * t->ldc));
    double * ref = malloc(sizeof(double) * (size_t)(t->M * t->N));
    for (int64_t i = 0; i < t->M * t->lda; i++) A[i] = frand();
    for (int64_t i = 0; i < b_rows * t->ldb; i++) B[i] = frand();
    for (int64_t j = 0; j < t->N; j++) bias[j] = frand();
    for (int64_t i = 0; i < t->M * t->ldc; i++) C0[i] = t->acc ? frand() : NAN;   // overwritten unread
    for (int64_t i = 0; i < t->M; i++)
        for (int64_t j = 0; j < t->N; j++) {
            double s = t->bias ? bias[j] : 0.0;
            if (t->acc) s += C0[i * t->ldc + j];
            for (int64_t k = 0; k < t->K; k++)
                s += (double)A[i * t->lda + k] *
                     (t->nn ? B[k * t->ldb + j] : B[j * t->ldb + k]);
            ref[i * t->N + j] = s;
        }
    const unsigned flags = (t->nn ? GAZE_GEMM_NN : 0) | (t->acc ? GAZE_GEMM_ACCUMULATE : 0);
    for (int isa = GAZE_ISA_SCALAR; isa <= GAZE_ISA_AVX512; isa++) {
        if (gaze_set_isa((enum gaze_isa)isa) != GAZE_OK) continue;
        for (int nt = 1; nt <= 2; nt++) {
            float * out = nt == 1 ? C : C1;
            memcpy(out, C0, sizeof(float) * (size_t)(t->M * t->ldc));
            const float pad = -12345.0f;   // the gap between rows must stay untouched
            for (int64_t i = 0; i < t->M; i++)
                for (int64_t j = t->N; j < t->ldc; j++) out[i * t->ldc + j] = pad;
            enum gaze_status st = gaze_gemm_f32(t->M, t->N, t->K, A, t->lda, B, t->ldb,
                                                t->bias ? bias : NULL, out, t->ldc, flags, nt);
            double err = rel_err(out, t->ldc, ref, t->M, t->N);
            bool pad_ok = true;
            for (int64_t i = 0; i < t->M; i++)
                for (int64_t j = t->N; j < t->ldc; j++) pad_ok &= out[i * t->ldc + j] == pad;
            CHECK(st == GAZE_OK && err <= 1e-5 && pad_ok,
                  "%s nt=%d M=%lld N=%lld K=%lld lda=%lld ldb=%lld ldc=%lld nn=%d bias=%d acc=%d: "
                  "status %s, rel err %.3g, padding %s", gaze_isa_name((enum gaze_isa)isa), nt,
                  (long long)t->M, (long long)t->N, (long long)t->K, (long long)t->lda,
                  (long long)t->ldb, (long long)t->ldc, t->nn, t->bias, t->acc,
                  gaze_status_name(st), err, pad_ok ? "intact" : "overwritten");
        }
        // The thread split never changes the summation order: 1 and 2 threads agree exactly.
        bool same = true;
        for (int64_t i = 0; i < t->M; i++)
            for (int64_t j = 0; j < t->N; j++) same &= C[i * t->ldc + j] == C1[i * t->ldc + j];
        CHECK(same, "%s M=%lld N=%lld K=%lld: 1 and 2 threads differ",
              gaze_isa_name((enum gaze_isa)isa), (long long)t->M, (long long)t->N, (long long)t->K);
    }
    gaze_set_isa(g_best_isa);
    free(A); free(B); free(bias); free(C0); free(C); free(C1); free(ref);
}

static void test_shapes(void) {
    static const int64_t dims[] = {1, 2, 7, 31, 33, 64, 65, 127};
    const int nd = sizeof dims / sizeof dims[0];
    int idx = 0;
    for (int a = 0; a < nd; a++)
        for (int b = 0; b < nd; b++)
            for (int c = 0; c < nd; c++, idx++) {
                // flags and strides rotate with the index so every combination is covered
                struct gemm_case t = {
                    .M = dims[a], .N = dims[b], .K = dims[c],
                    .nn = idx % 2, .bias = (idx / 2) % 2, .acc = (idx / 4) % 2,
                };
                const bool strided = (idx / 8) % 2;
                t.lda = dims[c] + (strided ? 3 : 0);
                t.ldb = (t.nn ? dims[b] : dims[c]) + (strided ? 5 : 0);
                t.ldc = dims[b] + (strided ? 2 : 0);
                run_case(&t);
            }
    // the large dimensions of the list, and model-like shapes, each in several forms
    static const int64_t big[][3] = {
        {384, 65, 33}, {33, 384, 577}, {577, 33, 384}, {127, 577, 65}, {65, 127, 577},
        {384, 384, 384}, {128, 577, 384}, {577, 64, 1536},
    };
    for (size_t i = 0; i < sizeof big / sizeof big[0]; i++)
        for (int v = 0; v < 3; v++) {
            struct gemm_case t = {
                .M = big[i][0], .N = big[i][1], .K = big[i][2],
                .nn = v == 1, .bias = v != 1, .acc = v == 2,
            };
            t.lda = t.K + (v == 2 ? 7 : 0);
            t.ldb = (t.nn ? t.N : t.K) + (v == 2 ? 1 : 0);
            t.ldc = t.N + (v == 2 ? 3 : 0);
            run_case(&t);
        }
}

static void test_nan_fails(void) {
    // the checker itself: one NaN makes the error infinite
    float got[4] = {1, 2, NAN, 4};
    double ref[4] = {1, 2, 3, 4};
    CHECK(!(rel_err(got, 2, ref, 2, 2) <= 1e-5), "NaN passed the tolerance check");
    // a NaN input propagates to its row instead of being hidden
    float A[2 * 3] = {1, 2, 3, 4, NAN, 6}, B[2 * 3] = {1, 0, 0, 0, 1, 0}, C[4];
    CHECK(gaze_gemm_f32(2, 2, 3, A, 3, B, 3, NULL, C, 2, 0, 1) == GAZE_OK, "status");
    CHECK(C[0] == 1 && C[1] == 2 && isnan(C[2]) && isnan(C[3]), "NaN row: %g %g %g %g",
          C[0], C[1], C[2], C[3]);
}

static void test_errors_and_edges(void) {
    float A[4] = {1, 2, 3, 4}, B[4] = {1, 2, 3, 4}, C[4] = {9, 9, 9, 9}, bias[2] = {0.5f, -1};
    CHECK(gaze_gemm_f32(-1, 2, 2, A, 2, B, 2, NULL, C, 2, 0, 1) == GAZE_ERR_INVALID_ARG, "negative M");
    CHECK(gaze_gemm_f32(2, 2, 2, A, 1, B, 2, NULL, C, 2, 0, 1) == GAZE_ERR_INVALID_ARG, "lda < K");
    CHECK(gaze_gemm_f32(2, 2, 2, A, 2, B, 1, NULL, C, 2, 0, 1) == GAZE_ERR_INVALID_ARG, "ldb < K");
    CHECK(gaze_gemm_f32(2, 2, 2, A, 2, B, 2, NULL, C, 1, 0, 1) == GAZE_ERR_INVALID_ARG, "ldc < N");
    CHECK(gaze_gemm_f32(2, 2, 2, A, 2, B, 2, NULL, C, 2, 1u << 7, 1) == GAZE_ERR_INVALID_ARG, "flags");
    CHECK(gaze_gemm_f32(2, 2, 2, NULL, 2, B, 2, NULL, C, 2, 0, 1) == GAZE_ERR_INVALID_ARG, "A NULL");
    CHECK(gaze_gemm_f32(INT64_MAX / 2, 2, 2, A, 4, B, 2, NULL, C, 2, 0, 1) == GAZE_ERR_INVALID_ARG,
          "overflowing extent");
    CHECK(gaze_gemm_f32(0, 2, 2, NULL, 2, NULL, 2, NULL, NULL, 2, 0, 1) == GAZE_OK, "M = 0 no-op");
    CHECK(gaze_gemm_f32(2, 2, 0, NULL, 0, NULL, 0, bias, C, 2, 0, 1) == GAZE_OK &&
          C[0] == 0.5f && C[1] == -1 && C[2] == 0.5f && C[3] == -1, "K = 0 gives the bias");
    CHECK(gaze_gemm_f32(2, 2, 0, NULL, 0, NULL, 0, bias, C, 2, GAZE_GEMM_ACCUMULATE, 1) == GAZE_OK &&
          C[0] == 1 && C[1] == -2, "K = 0 accumulates the bias");
}

static void test_linear(void) {
    enum { T = 37, NI = 70, NO = 45 };
    static float W[NO * NI], b[NO], x[T * NI], y[T * NO], y2[T * NO];
    for (int i = 0; i < NO * NI; i++) W[i] = frand();
    for (int i = 0; i < NO; i++) b[i] = frand();
    for (int i = 0; i < T * NI; i++) x[i] = frand();
    struct gaze_linear lin = { .type = GAZE_TYPE_F32, .n_out = NO, .n_in = NI, .weight = W, .bias = b };
    CHECK(gaze_linear_forward(&lin, x, T, y, 0) == GAZE_OK, "linear f32");
    CHECK(gaze_gemm_f32(T, NO, NI, x, NI, W, NI, b, y2, NO, GAZE_GEMM_NT, 0) == GAZE_OK, "gemm");
    CHECK(memcmp(y, y2, sizeof y) == 0, "linear forward differs from gemm NT");
    double maxd = 0;
    for (int t = 0; t < T; t++)
        for (int o = 0; o < NO; o++) {
            double s = b[o];
            for (int i = 0; i < NI; i++) s += (double)x[t * NI + i] * W[o * NI + i];
            maxd = fmax(maxd, fabs(s - y[t * NO + o]));
        }
    CHECK(maxd < 1e-4, "linear vs double: max diff %g", maxd);
    // quantized weights go to the quant kernels, with the bias added, raw and prepared alike
    {
        enum { QI = 64 };
        static float Wq[NO * QI], xq[T * QI], ref[T * NO], yq[T * NO], yp[T * NO];
        static unsigned char blocks[NO * (QI / 32) * 20];
        uint32_t r = 12345;   // its own generator: the shared one feeds the cases below
        for (int i = 0; i < NO * QI; i++) { r = r * 1664525u + 1013904223u; Wq[i] = (float)(r >> 8) / 8388608.0f - 1.0f; }
        for (int i = 0; i < T * QI; i++) { r = r * 1664525u + 1013904223u; xq[i] = (float)(r >> 8) / 8388608.0f - 1.0f; }
        CHECK(gaze_quantize(GAZE_TYPE_Q4_1, Wq, blocks, NO * QI) == GAZE_OK, "%s", gaze_last_error());
        CHECK(gaze_dequantize(GAZE_TYPE_Q4_1, blocks, Wq, NO * QI) == GAZE_OK, "%s", gaze_last_error());
        for (int t = 0; t < T; t++)
            for (int o = 0; o < NO; o++) {
                double sum = b[o];
                for (int i = 0; i < QI; i++) sum += (double)xq[t * QI + i] * Wq[o * QI + i];
                ref[t * NO + o] = (float)sum;
            }
        struct gaze_linear ql = { GAZE_TYPE_Q4_1, NO, QI, blocks, b, NULL };
        CHECK(gaze_linear_forward(&ql, xq, T, yq, 0) == GAZE_OK, "%s", gaze_last_error());
        CHECK(gaze_linear_prepare(&ql) == GAZE_OK, "%s", gaze_last_error());
        CHECK(gaze_linear_forward(&ql, xq, T, yp, 0) == GAZE_OK, "%s", gaze_last_error());
        gaze_linear_release(&ql);
        double num = 0, den = 0, dpp = 0;
        for (int i = 0; i < T * NO; i++) {
            num += (yq[i] - ref[i]) * (double)(yq[i] - ref[i]);
            den += (double)ref[i] * ref[i];
            dpp = fmax(dpp, fabs(yq[i] - yp[i]));
        }
        // activations are quantized to 8 bits (as llama.cpp): ~1e-2 relative at most
        CHECK(sqrt(num / den) < 0.02, "Q4_1 linear vs dequantized f32: rel err %g", sqrt(num / den));
        CHECK(dpp < 1e-4, "prepared Q4_1 weights differ from raw by %g", dpp);
    }
    lin.type = GAZE_TYPE_Q8_1;   // an activation-only type: not a weight format
    CHECK(gaze_linear_forward(&lin, x, T, y, 0) == GAZE_ERR_UNSUPPORTED, "Q8_1 weights accepted");
    lin.type = (enum gaze_type)99;
    CHECK(gaze_linear_forward(&lin, x, T, y, 0) == GAZE_ERR_INVALID_ARG, "unknown type");
    lin.type = GAZE_TYPE_F32; lin.weight = NULL;
    CHECK(gaze_linear_forward(&lin, x, T, y, 0) == GAZE_ERR_INVALID_ARG, "NULL weight");
}

// Max |a - b| over n, +inf when any value is not finite.
static double max_diff(const float * a, const float * b, int64_t n) {
    double m = 0;
    for (int64_t i = 0; i < n; i++) {
        if (!isfinite(a[i]) || !isfinite(b[i])) return INFINITY;
        m = fmax(m, fabs((double)a[i] - b[i]));
    }
    return m;
}

// F32 weights prepared once (packed panels, gaze_linear_prepare) against the unprepared GEMM
// and a float64 reference, on every ISA, with the GELU and ACCUMULATE epilogues, the shared
// schedule of gaze_linear_forward_many, and the fallback when another ISA is forced later.
// Shapes: M, N, K off the tiles (12×32 / 6×16 / 4×16), M = 1, K over one 256-deep slice,
// N over one 512-wide block.
static void test_prepared_f32(void) {
    static const int64_t shapes[][3] = {
        {1, 1, 1}, {1, 45, 70}, {1, 384, 384}, {3, 33, 17}, {13, 31, 65}, {37, 45, 70},
        {65, 100, 300}, {70, 600, 40}, {128, 384, 384}, {5, 17, 513}, {97, 129, 257},
    };
    for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
        const int64_t M = shapes[si][0], N = shapes[si][1], K = shapes[si][2];
        float * W = malloc(sizeof(float) * (size_t)(N * K)), * bias = malloc(sizeof(float) * (size_t)N);
        float * x = malloc(sizeof(float) * (size_t)(M * K)), * R = malloc(sizeof(float) * (size_t)(M * N));
        float * y0 = malloc(sizeof(float) * (size_t)(M * N)), * y1 = malloc(sizeof(float) * (size_t)(M * N));
        float * y2 = malloc(sizeof(float) * (size_t)(M * N));
        double * ref = malloc(sizeof(double) * (size_t)(M * N));
        for (int64_t i = 0; i < N * K; i++) W[i] = frand();
        for (int64_t i = 0; i < N; i++) bias[i] = frand();
        for (int64_t i = 0; i < M * K; i++) x[i] = frand();
        for (int64_t i = 0; i < M * N; i++) R[i] = frand();
        for (int64_t i = 0; i < M; i++)
            for (int64_t j = 0; j < N; j++) {
                double sum = bias[j];
                for (int64_t k = 0; k < K; k++) sum += (double)x[i * K + k] * W[j * K + k];
                ref[i * N + j] = sum;
            }
        for (int isa = GAZE_ISA_SCALAR; isa <= GAZE_ISA_AVX512; isa++) {
            if (gaze_set_isa((enum gaze_isa)isa) != GAZE_OK) continue;
            const char * in = gaze_isa_name((enum gaze_isa)isa);
            struct gaze_linear lin = { .type = GAZE_TYPE_F32, .n_out = N, .n_in = K, .weight = W, .bias = bias };
            CHECK(gaze_linear_forward(&lin, x, M, y0, 1) == GAZE_OK, "%s", gaze_last_error());
            CHECK(gaze_linear_prepare(&lin) == GAZE_OK && lin.prepared, "%s prepare: %s", in, gaze_last_error());
            CHECK(gaze_linear_prepare(&lin) == GAZE_OK, "prepare twice is a no-op");
            for (int nt = 1; nt <= 2; nt++) {
                float * out = nt == 1 ? y1 : y2;
                for (int64_t i = 0; i < M * N; i++) out[i] = NAN;   // overwritten unread
                CHECK(gaze_linear_forward(&lin, x, M, out, nt) == GAZE_OK, "%s", gaze_last_error());
                const double err = rel_err(out, N, ref, M, N);
                CHECK(err <= 1e-5, "%s prepared nt=%d M=%lld N=%lld K=%lld: rel err %.3g", in, nt,
                      (long long)M, (long long)N, (long long)K, err);
            }
            CHECK(memcmp(y1, y2, sizeof(float) * (size_t)(M * N)) == 0,
                  "%s prepared M=%lld N=%lld K=%lld: 1 and 2 threads differ", in, (long long)M, (long long)N, (long long)K);
            // the packed panels feed the same micro-kernel with the same K slices: bit for bit
            // the unprepared result wherever that one packs too (no few-row path)
            if (isa == GAZE_ISA_SCALAR || M > 64)
                CHECK(memcmp(y0, y1, sizeof(float) * (size_t)(M * N)) == 0,
                      "%s M=%lld N=%lld K=%lld: prepared differs from unprepared by %g", in, (long long)M,
                      (long long)N, (long long)K, max_diff(y0, y1, M * N));
            else
                CHECK(max_diff(y0, y1, M * N) < 1e-4, "%s: prepared vs unprepared %g", in, max_diff(y0, y1, M * N));
            // GELU epilogue: exactly gaze_gelu_erf of the plain result
            gaze_gelu_erf(y1, y0, M * N);
            CHECK(gaze_linear_forward_ex(&lin, x, M, y2, GAZE_GEMM_GELU, 2) == GAZE_OK, "%s", gaze_last_error());
            CHECK(memcmp(y0, y2, sizeof(float) * (size_t)(M * N)) == 0, "%s M=%lld N=%lld K=%lld: fused GELU "
                  "differs from gaze_gelu_erf by %g", in, (long long)M, (long long)N, (long long)K, max_diff(y0, y2, M * N));
            // ACCUMULATE onto a residual: R + x·Wᵀ + b
            memcpy(y2, R, sizeof(float) * (size_t)(M * N));
            CHECK(gaze_linear_forward_ex(&lin, x, M, y2, GAZE_GEMM_ACCUMULATE, 2) == GAZE_OK, "%s", gaze_last_error());
            for (int64_t i = 0; i < M * N; i++) y0[i] = y2[i] - R[i];
            CHECK(rel_err(y0, N, ref, M, N) <= 1e-5, "%s accumulate: rel err %.3g", in, rel_err(y0, N, ref, M, N));
            // several linears over one x in one team: equal to separate calls, prepared or not
            {
                struct gaze_linear plain = lin;
                plain.prepared = NULL;
                const struct gaze_linear * lins[3] = { &lin, &lin, &plain };
                float * ys[3] = { y0, y2, R };
                CHECK(gaze_linear_forward_many(2, lins, x, M, ys, 2) == GAZE_OK, "%s", gaze_last_error());
                CHECK(memcmp(y0, y1, sizeof(float) * (size_t)(M * N)) == 0 &&
                      memcmp(y2, y1, sizeof(float) * (size_t)(M * N)) == 0, "%s: linear many differs", in);
                CHECK(gaze_linear_forward_many(3, lins, x, M, ys, 2) == GAZE_OK, "%s", gaze_last_error());
                CHECK(memcmp(y0, y1, sizeof(float) * (size_t)(M * N)) == 0 && rel_err(R, N, ref, M, N) <= 1e-5,
                      "%s: linear many (mixed) differs", in);
            }
            // packed for this ISA, run under every other one: the original weight is used
            for (int other = GAZE_ISA_SCALAR; other <= GAZE_ISA_AVX512; other++) {
                if (other == isa || gaze_set_isa((enum gaze_isa)other) != GAZE_OK) continue;
                CHECK(gaze_linear_forward(&lin, x, M, y2, 2) == GAZE_OK && rel_err(y2, N, ref, M, N) <= 1e-5,
                      "packed for %s, run under %s: rel err %.3g", in, gaze_isa_name((enum gaze_isa)other),
                      rel_err(y2, N, ref, M, N));
            }
            gaze_set_isa((enum gaze_isa)isa);
            gaze_linear_release(&lin);
            CHECK(lin.prepared == NULL, "release clears prepared");
            gaze_linear_release(&lin);   // twice: no-op
        }
        gaze_set_isa(g_best_isa);
        free(W); free(bias); free(x); free(R); free(y0); free(y1); free(y2); free(ref);
    }
    // GELU on the plain GEMM (few-row and packed paths, K = 0) and flag checks
    {
        enum { M = 70, N = 33, K = 19 };
        static float A[M * K], B[N * K], b[N], c0[M * N], c1[M * N];
        for (int i = 0; i < M * K; i++) A[i] = 3 * frand();
        for (int i = 0; i < N * K; i++) B[i] = frand();
        for (int i = 0; i < N; i++) b[i] = frand();
        for (int m = 1; m <= M; m += M - 1)
            for (int k = 0; k <= K; k += K) {
                CHECK(gaze_gemm_f32(m, N, k, A, K, B, K, b, c0, N, 0, 2) == GAZE_OK, "%s", gaze_last_error());
                gaze_gelu_erf(c0, c0, m * N);
                CHECK(gaze_gemm_f32(m, N, k, A, K, B, K, b, c1, N, GAZE_GEMM_GELU, 2) == GAZE_OK, "%s", gaze_last_error());
                CHECK(memcmp(c0, c1, sizeof(float) * (size_t)(m * N)) == 0, "gemm GELU M=%d K=%d differs by %g",
                      m, k, max_diff(c0, c1, m * N));
            }
        struct gaze_linear l = { .type = GAZE_TYPE_F32, .n_out = N, .n_in = K, .weight = B, .bias = b };
        CHECK(gaze_linear_forward_ex(&l, A, M, c1, GAZE_GEMM_NN, 1) == GAZE_ERR_INVALID_ARG, "NN on a linear");
        CHECK(gaze_linear_forward_many(9, NULL, A, M, NULL, 1) == GAZE_ERR_INVALID_ARG, "too many linears");
        struct gaze_linear bad = l;
        bad.n_in = 0;
        CHECK(gaze_linear_prepare(&bad) == GAZE_ERR_INVALID_ARG && !bad.prepared, "prepare with n_in = 0");
    }
}

// The AVX2 lab's other versions (gemm.h: K slices of 512, A strips copied, B prefetch, packed
// A blocks) stay selectable for benchmarks, so they must stay exact too: odd and model-like
// shapes, strided, several K slices, more rows than one packed-A block (GEMM_MC_MAX = 192),
// against the float64 reference (run_case: every ISA, 1 and 2 threads).
static void test_avx2_lab_versions(void) {
    static const int64_t shapes[][3] = { {7, 33, 1100}, {128, 65, 577}, {13, 100, 513}, {65, 127, 31},
                                         {401, 50, 300}, {20, 47, 9} };
    for (int v = 1; v <= 8; v++) {
        gemm_avx2_lab_version(v);
        for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
            struct gemm_case t = { .M = shapes[i][0], .N = shapes[i][1], .K = shapes[i][2], .bias = true, .acc = i % 2 };
            t.lda = t.K + 3; t.ldb = t.K + 1; t.ldc = t.N + 2;
            run_case(&t);
        }
    }
    // the packed-A versions also on the prepared-weight path (bit for bit against the unprepared
    // product, the GELU epilogue per tile, linear_forward_many's shared schedule)
    for (int v = 5; v <= 8; v++) {
        gemm_avx2_lab_version(v);
        test_prepared_f32();
    }
    gemm_avx2_lab_version(GEMM_AVX2_LAB_DEFAULT);
    CHECK(gemm_avx2_lab == GEMM_AVX2_LAB_DEFAULT, "lab version restored to the default");
}

int main(void) {
    const char * s = getenv("GAZE_TEST_SEED");
    g_rng = s ? strtoull(s, NULL, 0) : 0x9E3779B97F4A7C15ull;
    if (!g_rng) g_rng = 1;
    g_best_isa = gaze_isa_active();
    printf("test_gemm: seed 0x%llx (set GAZE_TEST_SEED to change), best ISA %s\n",
           (unsigned long long)g_rng, gaze_isa_name(gaze_isa_active()));
    test_nan_fails();
    test_errors_and_edges();
    test_linear();
    test_prepared_f32();
    test_shapes();
    test_avx2_lab_versions();
    return check_summary("test_gemm");
}
