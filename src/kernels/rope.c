// Rotary position embedding (Su et al., RoFormer). Two layouts exist in the wild and mixing
// them up silently breaks a model: interleaved pairs (x[2i], x[2i+1]) as in GPT-J and the
// original paper, and NeoX halves (x[i], x[i + n/2]) as in GPT-NeoX and HF Llama. GGUF Llama
// files store Q/K permuted so that llama.cpp applies the interleaved form.
#include "core/core.h"
#include "kernels/gemm.h"
#include <math.h>

static enum gaze_status rope_check(float * x, int64_t H, int64_t d, int64_t x_st, const int64_t * pos,
                                   enum gaze_rope_layout layout, int64_t rope_dim) {
    if (!x || !pos) return gaze_error(GAZE_ERR_INVALID_ARG, "rope: x and pos are required");
    if (layout != GAZE_ROPE_INTERLEAVED && layout != GAZE_ROPE_NEOX)
        return gaze_error(GAZE_ERR_INVALID_ARG, "rope: unknown layout %d", (int)layout);
    if (rope_dim > d || rope_dim % 2 != 0)
        return gaze_error(GAZE_ERR_INVALID_ARG, "rope: rope_dim %lld must be even and <= head dim %lld",
                          (long long)rope_dim, (long long)d);
    if (x_st < H * d) return gaze_error(GAZE_ERR_INVALID_ARG, "rope: row stride smaller than H*d");
    if (rope_dim / 2 > 128) return gaze_error(GAZE_ERR_INVALID_ARG, "rope: rope_dim above 256");
    return GAZE_OK;
}

static void rope_rotate(float * v, int64_t half, enum gaze_rope_layout layout, const float * c, const float * s) {
    if (layout == GAZE_ROPE_NEOX) {
        for (int64_t i = 0; i < half; i++) {
            float a = v[i], b = v[i + half];
            v[i] = a * c[i] - b * s[i];
            v[i + half] = a * s[i] + b * c[i];
        }
    } else {
        for (int64_t i = 0; i < half; i++) {
            float a = v[2 * i], b = v[2 * i + 1];
            v[2 * i] = a * c[i] - b * s[i];
            v[2 * i + 1] = a * s[i] + b * c[i];
        }
    }
}

enum gaze_status ops_rope_apply_qk(float * q, int64_t Hq, int64_t q_st, float * k, int64_t Hk, int64_t k_st,
                                   int64_t T, int64_t d, const int64_t * pos, enum gaze_rope_layout layout,
                                   int64_t rope_dim, const float * inv_freq, float mscale) {
    if (layout == GAZE_ROPE_NONE) return GAZE_OK;
    if (rope_dim <= 0) rope_dim = d;
    enum gaze_status st = rope_check(q, Hq, d, q_st, pos, layout, rope_dim);
    if (!st && k) st = rope_check(k, Hk, d, k_st, pos, layout, rope_dim);
    if (st) return st;
    if (!inv_freq || !isfinite(mscale)) return gaze_error(GAZE_ERR_INVALID_ARG, "rope: inv_freq is required, mscale finite");
    const int64_t half = rope_dim / 2;

    #pragma omp parallel for schedule(static) if (T * (Hq + Hk) * d > 32768)
    for (int64_t t = 0; t < T; t++) {
        float c[128], s[128];
        // The angle pos·inv_freq in double: in f32 (transformers' way) it is off by up to half
        // an ulp of pos·inv_freq (2.4e-7 rad at angle 5, 1e-4 at position 2000), which rotates
        // q and k by that much; the float64 run has no such error (issue 13). cos and sin are
        // computed once for q and k (double trig costs twice float's).
        for (int64_t i = 0; i < half; i++) {
            const double theta = (double)pos[t] * (double)inv_freq[i];
            c[i] = (float)(cos(theta) * (double)mscale);
            s[i] = (float)(sin(theta) * (double)mscale);
        }
        for (int64_t h = 0; h < Hq; h++) rope_rotate(q + t * q_st + h * d, half, layout, c, s);
        for (int64_t h = 0; k && h < Hk; h++) rope_rotate(k + t * k_st + h * d, half, layout, c, s);
    }
    return GAZE_OK;
}

enum gaze_status gaze_rope_apply_freqs(float * x, int64_t T, int64_t H, int64_t d, int64_t x_st,
                                       const int64_t * pos, enum gaze_rope_layout layout,
                                       int64_t rope_dim, const float * inv_freq, float mscale) {
    return ops_rope_apply_qk(x, H, x_st, NULL, 0, 0, T, d, pos, layout, rope_dim, inv_freq, mscale);
}

enum gaze_status gaze_rope_apply(float * x, int64_t T, int64_t H, int64_t d, int64_t x_st,
                                 const int64_t * pos, enum gaze_rope_layout layout,
                                 int64_t rope_dim, float base) {
    if (layout == GAZE_ROPE_NONE) return GAZE_OK;
    if (rope_dim <= 0) rope_dim = d;
    enum gaze_status s = rope_check(x, H, d, x_st, pos, layout, rope_dim);
    if (s) return s;
    if (!(base > 0.0f) || !isfinite(base))
        return gaze_error(GAZE_ERR_INVALID_ARG, "rope: base must be a positive number");
    float inv_freq[128];   // rope_dim <= d <= 256
    ops_rope_inv_freq(base, rope_dim, inv_freq);
    // cos·1 and sin·1 are exact: the same results as before mscale existed
    return gaze_rope_apply_freqs(x, T, H, d, x_st, pos, layout, rope_dim, inv_freq, 1.0f);
}

void ops_rope_inv_freq(float base, int64_t rope_dim, float * inv) {
    // As HF: inv_freq_i = 1 / base^(2i / rope_dim), in float32.
    for (int64_t i = 0; i < rope_dim / 2; i++) inv[i] = (float)(1.0 / pow((double)base, (double)(2 * i) / (double)rope_dim));
}
