// Elementwise and row ops of the BERT and Llama forward passes: portable scalar versions
// (libm erff/expf, double accumulation), AVX-512 dispatch (ops_avx512.c), and the split of
// large inputs over threads. Contracts are in gaze.h (SECTION linear).
#include "kernels/gemm.h"
#include <math.h>
#include <omp.h>

// Elementwise ops are cut into chunks of this many elements (a multiple of 16, so only the
// last chunk has a vector tail); a thread is worth its fork/join cost above ~32k elements of
// an exp/erf op (~30 µs of work).
#define OPS_CHUNK (1 << 14)
#define OPS_MIN_PER_THREAD (1 << 15)

static bool use_avx512(void) { return gaze_isa_active() == GAZE_ISA_AVX512; }
static bool use_avx2(void) { return gaze_isa_active() == GAZE_ISA_AVX2; }


// Threads for `work` elements (or row elements): 1 when small or already inside a team.
static int ops_threads(int64_t work) {
    if (omp_in_parallel()) return 1;
    const int64_t by_work = work / OPS_MIN_PER_THREAD;
    const int nt = gaze_default_threads();
    return (int)GAZE_MAX(1, GAZE_MIN((int64_t)nt, by_work));
}

/* ---- scalar bodies ---- */

static float gelu_erf_1(float x) { return x * 0.5f * (1.0f + erff(x * 0.707106781186547524f)); }
static float silu_1(float x) { return x / (1.0f + expf(-x)); }
static float gelu_tanh_1(float x) {
    return 0.5f * x * (1.0f + tanhf(0.7978845608028654f * (x + 0.044715f * x * x * x)));
}

static void gelu_erf_scalar(const float * x, float * y, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = gelu_erf_1(x[i]);
}
static void silu_scalar(const float * x, float * y, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = silu_1(x[i]);
}
static void gelu_tanh_scalar(const float * x, float * y, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = gelu_tanh_1(x[i]);
}

static void geglu_tanh_scalar(const float * gate, const float * up, float * y, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = gelu_tanh_1(gate[i]) * up[i];
}

static void swiglu_scalar(const float * gate, const float * up, float * y, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = silu_1(gate[i]) * up[i];
}

static void layer_norm_row_scalar(const float * x, float * y, int64_t C, const float * w,
                                  const float * b, float eps) {
    double s = 0, ss = 0;
    for (int64_t i = 0; i < C; i++) s += x[i];
    const float mean = (float)(s / C);
    for (int64_t i = 0; i < C; i++) ss += ((double)x[i] - mean) * ((double)x[i] - mean);
    const float rstd = 1.0f / sqrtf((float)(ss / C) + eps);
    for (int64_t i = 0; i < C; i++) {
        float v = (x[i] - mean) * rstd;
        if (w) v *= w[i];
        if (b) v += b[i];
        y[i] = v;
    }
}

static void rms_norm_row_scalar(const float * x, float * y, int64_t C, const float * w, float eps) {
    // All in double, one rounding per output: with |x| ~ 1e5 (Gemma 3's massive activations)
    // the f32 steps of 1 / sqrt(mean + eps) and x·r·w each add an ulp the float64 run has not
    // (issue 13; tests/test_decoder_f64.c). Scalar and per row: the cost is nil beside the GEMMs.
    double ss = 0;
    for (int64_t i = 0; i < C; i++) ss += (double)x[i] * x[i];
    const double r = 1.0 / sqrt(ss / (double)C + (double)eps);
    for (int64_t i = 0; i < C; i++) y[i] = w ? (float)((double)x[i] * r * (double)w[i]) : (float)((double)x[i] * r);
}

static void softmax_row_scalar(const float * x, float * y, int64_t C) {
    float mx = -INFINITY;
    bool nan = false;
    for (int64_t i = 0; i < C; i++) {
        nan |= isnan(x[i]);
        mx = fmaxf(mx, x[i]);
    }
    if (nan) mx = NAN;
    if (mx == -INFINITY) {   // nothing allowed in this row: zeros, not 0/0
        for (int64_t i = 0; i < C; i++) y[i] = 0.0f;
        return;
    }
    double sum = 0;
    for (int64_t i = 0; i < C; i++) sum += (y[i] = expf(x[i] - mx));
    const float inv = (float)(1.0 / sum);
    for (int64_t i = 0; i < C; i++) y[i] *= inv;
}

static void l2_normalize_row_scalar(const float * x, float * y, int64_t C, float eps) {
    double ss = 0;
    for (int64_t i = 0; i < C; i++) ss += (double)x[i] * x[i];
    const float norm = fmaxf((float)sqrt(ss), eps);
    for (int64_t i = 0; i < C; i++) y[i] = x[i] / norm;
}

/* ---- public entry points: pick the body, split over threads ---- */

// The GELU body for the active ISA: AVX-512, AVX2 (the same arithmetic 8 lanes wide, so the
// two vector paths agree value for value) or libm's erff.
static void (*gelu_erf_body(void))(const float *, float *, int64_t) {
    return use_avx512() ? ops_gelu_erf_avx512 : use_avx2() ? ops_gelu_erf_avx2 : gelu_erf_scalar;
}

void ops_gelu_erf_span(float * x, int64_t n) {
    if (n <= 0) return;
    gelu_erf_body()(x, x, n);
}

void gaze_gelu_erf(const float * x, float * y, int64_t n) {
    if (n <= 0) return;
    void (*f)(const float *, float *, int64_t) = gelu_erf_body();
    const int64_t chunks = (n + OPS_CHUNK - 1) / OPS_CHUNK;
    const int nt = ops_threads(n);
    #pragma omp parallel for num_threads(nt) if (nt > 1) schedule(static)
    for (int64_t c = 0; c < chunks; c++)
        f(x + c * OPS_CHUNK, y + c * OPS_CHUNK, GAZE_MIN(OPS_CHUNK, n - c * OPS_CHUNK));
}

void gaze_silu(const float * x, float * y, int64_t n) {
    if (n <= 0) return;
    void (*f)(const float *, float *, int64_t) = use_avx512() ? ops_silu_avx512 : silu_scalar;
    const int64_t chunks = (n + OPS_CHUNK - 1) / OPS_CHUNK;
    const int nt = ops_threads(n);
    #pragma omp parallel for num_threads(nt) if (nt > 1) schedule(static)
    for (int64_t c = 0; c < chunks; c++)
        f(x + c * OPS_CHUNK, y + c * OPS_CHUNK, GAZE_MIN(OPS_CHUNK, n - c * OPS_CHUNK));
}

void gaze_gelu_tanh(const float * x, float * y, int64_t n) {
    if (n <= 0) return;
    void (*f)(const float *, float *, int64_t) = use_avx512() ? ops_gelu_tanh_avx512 : gelu_tanh_scalar;
    const int64_t chunks = (n + OPS_CHUNK - 1) / OPS_CHUNK;
    const int nt = ops_threads(n);
    #pragma omp parallel for num_threads(nt) if (nt > 1) schedule(static)
    for (int64_t c = 0; c < chunks; c++)
        f(x + c * OPS_CHUNK, y + c * OPS_CHUNK, GAZE_MIN(OPS_CHUNK, n - c * OPS_CHUNK));
}

void gaze_geglu_tanh(const float * gate, const float * up, float * y, int64_t n) {
    if (n <= 0) return;
    void (*f)(const float *, const float *, float *, int64_t) =
        use_avx512() ? ops_geglu_tanh_avx512 : geglu_tanh_scalar;
    const int64_t chunks = (n + OPS_CHUNK - 1) / OPS_CHUNK;
    const int nt = ops_threads(n);
    #pragma omp parallel for num_threads(nt) if (nt > 1) schedule(static)
    for (int64_t c = 0; c < chunks; c++) {
        const int64_t o = c * OPS_CHUNK;
        f(gate + o, up + o, y + o, GAZE_MIN(OPS_CHUNK, n - o));
    }
}

void gaze_swiglu(const float * gate, const float * up, float * y, int64_t n) {
    if (n <= 0) return;
    void (*f)(const float *, const float *, float *, int64_t) =
        use_avx512() ? ops_swiglu_avx512 : swiglu_scalar;
    const int64_t chunks = (n + OPS_CHUNK - 1) / OPS_CHUNK;
    const int nt = ops_threads(n);
    #pragma omp parallel for num_threads(nt) if (nt > 1) schedule(static)
    for (int64_t c = 0; c < chunks; c++)
        f(gate + c * OPS_CHUNK, up + c * OPS_CHUNK, y + c * OPS_CHUNK,
          GAZE_MIN(OPS_CHUNK, n - c * OPS_CHUNK));
}

// Memory-bound: the compiler's SSE loop runs at load/store speed; threads only for big sizes.
void gaze_add(const float * a, const float * b, float * y, int64_t n) {
    if (n <= 0) return;
    const int nt = ops_threads(n / 8);
    #pragma omp parallel for num_threads(nt) if (nt > 1) schedule(static)
    for (int64_t i = 0; i < n; i++) y[i] = a[i] + b[i];
}

// Rows are independent: split them over the caller's threads once a row block is worth a
// fork (~1 µs with the team spinning) — BERT's 128 × 384 LayerNorms were serial under
// ops_threads' element threshold, with the other core idle.
#define LN_MIN_PER_THREAD (1 << 13)
int64_t gaze_add_layer_norm(const float * x, const float * r, float * y, int64_t T, int64_t C,
                            const float * weight, const float * bias, float eps, int n_threads) {
    if (T <= 0 || C <= 0) return 0;
    const bool v = use_avx512();
    int nt = n_threads > 0 ? n_threads : gaze_default_threads();
    if (omp_in_parallel()) nt = 1;
    nt = (int)GAZE_MAX(1, GAZE_MIN((int64_t)nt, T * C / LN_MIN_PER_THREAD));
    int64_t bad = 0;
    #pragma omp parallel for num_threads(nt) if (nt > 1) schedule(static) reduction(+ : bad)
    for (int64_t t = 0; t < T; t++) {
        const float * xt = x + t * C;
        float * yt = y + t * C;
        if (v) {
            bad += !ops_add_layer_norm_row_avx512(xt, r ? r + t * C : NULL, yt, C, weight, bias, eps);
            continue;
        }
        if (r) {   // the sum goes through y (the same f32 adds as gaze_add), then in place
            const float * rt = r + t * C;
            for (int64_t c = 0; c < C; c++) yt[c] = xt[c] + rt[c];
            xt = yt;
        }
        layer_norm_row_scalar(xt, yt, C, weight, bias, eps);
        bool finite = true;
        for (int64_t c = 0; c < C; c++) finite &= isfinite(yt[c]);
        bad += !finite;
    }
    return bad;
}

void gaze_layer_norm(const float * x, float * y, int64_t T, int64_t C,
                     const float * weight, const float * bias, float eps) {
    (void)gaze_add_layer_norm(x, NULL, y, T, C, weight, bias, eps, 0);
}

void gaze_rms_norm(const float * x, float * y, int64_t T, int64_t C, const float * weight, float eps) {
    if (T <= 0 || C <= 0) return;
    const bool v = use_avx512();
    const int nt = ops_threads(T * C / 4);
    #pragma omp parallel for num_threads(nt) if (nt > 1) schedule(static)
    for (int64_t t = 0; t < T; t++) {
        if (v) ops_rms_norm_row_avx512(x + t * C, y + t * C, C, weight, eps);
        else   rms_norm_row_scalar(x + t * C, y + t * C, C, weight, eps);
    }
}

void gaze_softmax_rows(const float * x, float * y, int64_t T, int64_t C) {
    if (T <= 0 || C <= 0) return;
    const bool v = use_avx512();
    const int nt = ops_threads(T * C);
    #pragma omp parallel for num_threads(nt) if (nt > 1) schedule(static)
    for (int64_t t = 0; t < T; t++) {
        if (v) ops_softmax_row_avx512(x + t * C, y + t * C, C);
        else   softmax_row_scalar(x + t * C, y + t * C, C);
    }
}

void gaze_l2_normalize(const float * x, float * y, int64_t T, int64_t C, float eps) {
    if (T <= 0 || C <= 0) return;
    const bool v = use_avx512();
    const int nt = ops_threads(T * C / 4);
    #pragma omp parallel for num_threads(nt) if (nt > 1) schedule(static)
    for (int64_t t = 0; t < T; t++) {
        if (v) ops_l2_normalize_row_avx512(x + t * C, y + t * C, C, eps);
        else   l2_normalize_row_scalar(x + t * C, y + t * C, C, eps);
    }
}

// Once per sequence and O(T·C): scalar, summed in double, 64 columns at a time so x is
// read row by row without a heap buffer.
void gaze_mean_pool(const float * x, const uint8_t * mask, int64_t T, int64_t C, float * y) {
    if (C <= 0) return;
    double count = 0;
    for (int64_t t = 0; t < T; t++) count += !mask || mask[t];
    const double inv = 1.0 / fmax(count, 1e-9);
    for (int64_t c0 = 0; c0 < C; c0 += 64) {
        const int64_t w = GAZE_MIN(64, C - c0);
        double s[64] = {0};
        for (int64_t t = 0; t < T; t++)
            if (!mask || mask[t])
                for (int64_t c = 0; c < w; c++) s[c] += x[t * C + c0 + c];
        for (int64_t c = 0; c < w; c++) y[c0 + c] = (float)(s[c] * inv);
    }
}
