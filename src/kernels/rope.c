// Rotary position embedding (Su et al., RoFormer). Two layouts exist in the wild and mixing
// them up silently breaks a model: interleaved pairs (x[2i], x[2i+1]) as in GPT-J and the
// original paper, and NeoX halves (x[i], x[i + n/2]) as in GPT-NeoX and HF Llama. GGUF Llama
// files store Q/K permuted so that llama.cpp applies the interleaved form.
#include "core/core.h"
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

enum gaze_status gaze_rope_apply_freqs(float * x, int64_t T, int64_t H, int64_t d, int64_t x_st,
                                       const int64_t * pos, enum gaze_rope_layout layout,
                                       int64_t rope_dim, const float * inv_freq, float mscale) {
    if (layout == GAZE_ROPE_NONE) return GAZE_OK;
    if (rope_dim <= 0) rope_dim = d;
    enum gaze_status st = rope_check(x, H, d, x_st, pos, layout, rope_dim);
    if (st) return st;
    if (!inv_freq || !isfinite(mscale)) return gaze_error(GAZE_ERR_INVALID_ARG, "rope: inv_freq is required, mscale finite");
    const int64_t half = rope_dim / 2;

    #pragma omp parallel for schedule(static) if (T * H * d > 32768)
    for (int64_t t = 0; t < T; t++) {
        float c[128], s[128];
        for (int64_t i = 0; i < half; i++) {
            float theta = (float)pos[t] * inv_freq[i];
            c[i] = cosf(theta) * mscale;
            s[i] = sinf(theta) * mscale;
        }
        for (int64_t h = 0; h < H; h++) {
            float * v = x + t * x_st + h * d;
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
    }
    return GAZE_OK;
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
    const int64_t half = rope_dim / 2;
    float inv_freq[128];   // rope_dim <= d <= 256
    // As HF: inv_freq_i = 1 / base^(2i / rope_dim), in float32.
    for (int64_t i = 0; i < half; i++) inv_freq[i] = (float)(1.0 / pow((double)base, (double)(2 * i) / (double)rope_dim));
    // cos·1 and sin·1 are exact: the same results as before mscale existed
    return gaze_rope_apply_freqs(x, T, H, d, x_st, pos, layout, rope_dim, inv_freq, 1.0f);
}
